"""Console pass images: every bad upload is a field error with nothing stored; a good one is
scaled to Apple's three sizes, audited, shown in the preview, and goes into new .pkpass files."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from werkzeug.test import TestResponse

from gateway.models import OutboxEvent, PassRefresh, ProgramImage, WalletPass
from gateway.runtime import runtime
from gateway.services.issue.apple_passes import build_pass_file
from tests.console_helpers import audits, csrf_of, signed_in_client
from tests.factories import demo_program, enroll_member

SLUG = "demo"
PAGE = f"/console/programs/{SLUG}/branding"


def _png(width: int, height: int, color: tuple[int, int, int, int] = (200, 30, 30, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 10, 10)).save(out, format="JPEG")
    return out.getvalue()


def _bomb(width: int, height: int) -> bytes:
    """A PNG of a few KB that decodes to width x height 1-bit pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def _images(app: Flask) -> dict[str, bytes]:
    with runtime(app).sessions() as session:
        return {image.name: image.content for image in session.scalars(select(ProgramImage))}


def _upload(client: FlaskClient, **files: bytes) -> TestResponse:
    """Post the form as a browser does (the body built here: Werkzeug's test builder would spool
    a large one to a temporary file that it never closes)."""
    boundary = "----branding-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'.encode()
        + csrf_of(client, PAGE).encode()
        + b"\r\n"
    ]
    for kind, content in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{kind}"; '
            f'filename="{kind}.png"\r\nContent-Type: image/png\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return client.post(PAGE, data=body, content_type=f"multipart/form-data; boundary={boundary}")


@pytest.fixture
def marketer(app: Flask) -> FlaskClient:
    demo_program(app)
    return signed_in_client(app, "marketer")


def test_the_page_shows_the_preview_built_from_the_program(app: Flask, marketer: FlaskClient):
    page = marketer.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    program = demo_program(app)
    assert 'id="pass-preview"' in html
    assert program.organization in html and program.name in html
    # The Apple colors as pass.json writes them, the Google one as the class carries it.
    red, green, blue = (int(program.background_color[i : i + 2], 16) for i in (1, 3, 5))
    assert f"--pp-bg: rgb({red}, {green}, {blue})" in html
    assert f"--pp-gbg: {program.background_color.lower()}" in html
    assert f"/console/programs/{SLUG}/images/logo@3x.png?v=" in html


@pytest.mark.parametrize(
    ("kind", "content", "message"),
    [
        ("logo", b"GIF89a" + b"\x00" * 200, "not a PNG"),
        ("icon", _jpeg(300, 300), "not a PNG"),
        ("logo", _png(600, 200)[:-40], "damaged"),
        ("icon", _png(60, 60), "too small"),
        ("strip", _png(1125, 1125), "wrong shape"),
        ("logo", _png(150, 600), "wrong shape"),
        ("strip", _bomb(30_000, 10_000), "too many pixels"),
        ("logo", _bomb(12_000, 4_000), "too many pixels"),
    ],
    ids=[
        "gif",
        "jpeg-named-png",
        "truncated",
        "icon-too-small",
        "strip-square",
        "logo-tall",
        "bomb",
        "big-pixels",
    ],
)
def test_a_bad_image_is_a_field_error_and_nothing_is_stored(
    app: Flask, marketer: FlaskClient, kind: str, content: bytes, message: str
):
    before = _images(app)
    answer = _upload(marketer, **{kind: content})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert f'id="error-{kind}"' in html and message in html
    assert "Nothing was saved" in html
    assert _images(app) == before
    assert audits(app, "program.images_replaced") == []


def test_a_twenty_megabyte_upload_is_a_field_error_not_a_bare_413(
    app: Flask, marketer: FlaskClient
):
    before = _images(app)
    answer = _upload(marketer, logo=b"\x89PNG\r\n\x1a\n" + b"\x00" * (20 * 1024 * 1024))
    assert answer.status_code == 422
    assert "larger than 2 MB" in answer.get_data(as_text=True)
    assert answer.mimetype == "text/html"
    assert _images(app) == before


def test_one_bad_file_keeps_the_good_one_out_too(app: Flask, marketer: FlaskClient):
    before = _images(app)
    answer = _upload(marketer, logo=_png(600, 150), icon=_png(20, 20))
    assert answer.status_code == 422
    assert _images(app) == before


def test_a_good_logo_is_stored_at_three_scales_and_goes_into_new_passes(
    app: Flask, marketer: FlaskClient
):
    member = enroll_member(app)
    answer = _upload(marketer, logo=_png(900, 300, (10, 120, 200, 255)))
    assert answer.status_code == 302
    assert "/refreshes/" in answer.headers["Location"]

    images = _images(app)
    sizes = {name: Image.open(io.BytesIO(images[name])).size for name in images if "logo" in name}
    # 3:1 fits the 160 x 50 pt slot at 150 x 50 pt.
    assert sizes == {"logo.png": (150, 50), "logo@2x.png": (300, 100), "logo@3x.png": (450, 150)}
    assert Image.open(io.BytesIO(images["logo@3x.png"])).getpixel((10, 10)) == (10, 120, 200, 255)

    [row] = audits(app, "program.images_replaced")
    assert row.subject == f"program:{SLUG}" and row.actor.startswith("operator:")
    assert set(row.details["after"]) == {"logo.png", "logo@2x.png", "logo@3x.png"}
    assert row.details["before"].keys() == row.details["after"].keys()

    rt = runtime(app)
    with rt.sessions() as session:
        wallet_pass = session.scalar(select(WalletPass).where(WalletPass.wallet == "apple"))
        assert wallet_pass is not None
        with app.app_context():
            built = build_pass_file(session, rt, wallet_pass)
        refresh = session.scalar(select(PassRefresh))
        assert refresh is not None and refresh.total == 2  # the member's Apple and Google pass
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.kind == "pass.restyled")
        ).all()
        assert {event.payload["refresh_id"] for event in events} == {refresh.id}
    archive = zipfile.ZipFile(io.BytesIO(built.content))
    for name in ("logo.png", "logo@2x.png", "logo@3x.png"):
        assert archive.read(name) == images[name]
    assert member.card_number

    preview = marketer.get(PAGE).get_data(as_text=True)
    image_url = preview.split('id="pp-apple-logo" src="')[1].split('"')[0]
    served = marketer.get(image_url)
    assert served.status_code == 200 and served.data == images["logo@3x.png"]


def test_icon_and_strip_are_cropped_to_their_slots(app: Flask, marketer: FlaskClient):
    answer = _upload(marketer, icon=_png(100, 96), strip=_png(1300, 400))
    assert answer.status_code == 302
    images = _images(app)
    size = lambda name: Image.open(io.BytesIO(images[name])).size  # noqa: E731
    assert [size(f"icon{s}.png") for s in ("", "@2x", "@3x")] == [(29, 29), (58, 58), (87, 87)]
    assert [size(f"strip{s}.png") for s in ("", "@2x", "@3x")] == [
        (375, 123),
        (750, 246),
        (1125, 369),
    ]


def test_support_may_not_upload(app: Flask):
    demo_program(app)
    support = signed_in_client(app, "support")
    before = _images(app)
    assert support.get(PAGE).status_code == 403
    token = csrf_of(support, "/console/account/2fa")
    answer = support.post(
        PAGE,
        data={"csrf_token": token, "logo": (io.BytesIO(_png(600, 200)), "logo.png")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 403
    assert _images(app) == before
    assert [row.subject for row in audits(app, "console.forbidden")] == [
        f"GET {PAGE}",
        f"POST {PAGE}",
    ]


def test_an_upload_without_the_csrf_token_changes_nothing(app: Flask, marketer: FlaskClient):
    before = _images(app)
    answer = marketer.post(
        PAGE,
        data={"logo": (io.BytesIO(_png(600, 200)), "logo.png")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400
    assert _images(app) == before


def test_progress_json_and_page(app: Flask, marketer: FlaskClient):
    enroll_member(app)
    location = _upload(marketer, logo=_png(600, 200)).headers["Location"]
    page = marketer.get(location)
    assert page.status_code == 200
    assert 'id="refresh-bar"' in page.get_data(as_text=True)
    progress = marketer.get(location.rstrip("/") + "/progress.json")
    body = progress.get_json()
    assert body == {
        "refresh_id": int(location.rstrip("/").rsplit("/", 1)[1]),
        "total": 2,
        "done": 0,
        "failed": 0,
        "percent": 0,
        "finished": False,
    }
    other = marketer.get(f"/console/programs/{SLUG}/refreshes/999999/progress.json")
    assert other.status_code == 404


def test_images_are_served_to_signed_in_operators_only(app: Flask, marketer: FlaskClient):
    path = f"/console/programs/{SLUG}/images/icon.png"
    assert marketer.get(path).status_code == 200
    assert marketer.get(f"/console/programs/{SLUG}/images/pass.json").status_code == 404
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["Location"]

"""Errors no console page handles itself are console pages, never the APIs' JSON."""

from __future__ import annotations

from tests.console_helpers import csrf_of, signed_in_client
from tests.factories import demo_program


def test_an_upload_over_the_cap_is_a_page_and_changes_nothing(app):
    program = demo_program(app)
    marketer = signed_in_client(app, "marketer")
    path = f"/console/programs/{program.slug}/branding"
    boundary = "----too-large"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{csrf_of(marketer, path)}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f'name="logo"; filename="logo.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        + b"\0" * (25 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    # Built here: Werkzeug's test builder would spool it to a file it never closes.
    answer = marketer.post(
        path, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert answer.status_code == 413
    assert answer.mimetype == "text/html"
    assert "File too large" in answer.get_data(as_text=True)


def test_an_unknown_program_is_a_not_found_page(app):
    marketer = signed_in_client(app, "marketer")
    answer = marketer.get("/console/programs/no-such-program/branding")
    assert answer.status_code == 404
    assert answer.mimetype == "text/html"

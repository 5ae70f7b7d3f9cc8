"""Request bodies are capped app-wide (64 KiB, 16 KiB on /pos/v1), chunked ones included."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from tests.integration.conftest import new_till

POS_LIMIT = 16 * 1024
APP_LIMIT = 64 * 1024


class _Endless(io.RawIOBase):
    """A generator-backed body that never ends by itself (what a chunked upload looks like)."""

    def __init__(self, total: int) -> None:
        self._chunks: Iterator[bytes] = iter([b'{"x": "'] + [b"a" * 4096] * (total // 4096))
        self._buffer = b""
        self.sent = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target):  # type: ignore[no-untyped-def]
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        self.sent += size
        return size


def _assert_too_large(response) -> None:
    assert response.status_code == 413, response.data
    assert response.json["error"]["code"] == "payload_too_large"


def _post_chunked(app, path: str, total: int, headers: dict[str, str]):
    body = _Endless(total)
    environ = EnvironBuilder(
        path=path,
        method="POST",
        headers={**headers, "Content-Type": "application/json"},
        base_url="https://gateway.test",
    ).get_environ()
    # No Content-Length: the server reads until the stream ends, as gunicorn does for a
    # `Transfer-Encoding: chunked` upload (it sets wsgi.input_terminated).
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BufferedReader(body)
    environ["wsgi.input_terminated"] = True
    return Response.from_app(app, environ), body


def test_large_enrollment_body_with_content_length_is_refused(client):
    _assert_too_large(
        client.post(
            "/api/v1/enrollments",
            data=b'{"program": "' + b"a" * APP_LIMIT + b'"}',
            content_type="application/json",
        )
    )


def test_large_chunked_enrollment_body_is_refused_without_reading_it_all(app):
    response, body = _post_chunked(app, "/api/v1/enrollments", 64 * 1024 * 1024, {})
    _assert_too_large(response)
    assert body.sent < 1024 * 1024


def test_enrollment_body_under_the_limit_is_read(client):
    response = client.post(
        "/api/v1/enrollments",
        data=b'{"program": "demo", "pad": "' + b"a" * (APP_LIMIT - 1000) + b'"}',
        content_type="application/json",
    )
    assert response.status_code != 413


@pytest.mark.parametrize("chunked", [False, True])
def test_pos_bodies_are_capped_at_16_kib(app, chunked):
    till = new_till(app)
    if chunked:
        response, body = _post_chunked(
            app, "/pos/v1/accruals", 64 * 1024 * 1024, till.headers()
        )
        assert body.sent < 1024 * 1024
    else:
        response = till.post("/accruals", data=b"{" + b" " * POS_LIMIT + b"}")
    _assert_too_large(response)


def test_pos_chunked_body_under_the_cap_is_read(app):
    till = new_till(app)
    response, _ = _post_chunked(app, "/pos/v1/accruals", 8 * 1024, till.headers())
    # Read and parsed (a truncated JSON string), not refused for its size.
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"

"""Garbage in, a coded JSON error out: never a 500 on any POS endpoint."""

import pytest

from tests.factories import enroll_member

BODIES = [
    b"",
    b"not json",
    b"[]",
    b"null",
    b"123",
    b'"string"',
    b'{"checkout": 5}',
    b'{"checkout": null, "points": "300"}',
    b'{"checkout": "co_x", "points": "300"}',
    b'{"checkout": "co_x", "points": 1e400}',
    b'{"checkout": "co_x", "points": 100000000000000000000000000000}',
    b'{"checkout": "co_x", "points": -5}',
    b'{"checkout": "co_x", "points": 0}',
    b'{"checkout": "co_x", "points": 1.5}',
    b'{"checkout": "co_x", "points": true}',
    b'{"checkout": "co_x", "points": NaN}',
    b'{"checkout": "co_x", "reward_id": ["coffee"]}',
    b'{"checkout": "co_x", "reward_id": "coffee", "points": 5}',
    b'{"checkout": "co_x", "points": 5, "capture": "no"}',
    b'{"checkout": "co_x", "points": 5, "order": []}',
    b'{"checkout": "co_x", "points": 5, "order": {"id": {"x": 1}}}',
    b'{"order": {"id": "1", "total": {"x": 1}, "currency": "EUR"}, "card_number": 7}',
    b'{"order": {"id": "1", "refund_total": "1,50"}}',
    b'{"scan": {"nested": true}}',
    '{"scan": "\u0000\u0001"}'.encode(),
    b"\xff\xfe\x00garbage",
]
PATHS = ["/identify", "/redemptions", "/accruals", "/refunds",
         "/redemptions/rdm_x/capture", "/redemptions/rdm_x/void"]


@pytest.mark.parametrize("path", PATHS)
def test_garbage_bodies_get_coded_errors(app, till, path):
    member = enroll_member(app, balance=1000)
    checkout = till.checkout(member.google_scan())
    for body in [*BODIES, body_with(checkout)]:
        response = till.post(path, data=body)
        assert 400 <= response.status_code < 500, (path, body, response.status_code)
        error = response.json["error"]
        assert isinstance(error["code"], str)
        assert isinstance(error["message"], str)


def body_with(checkout: str) -> bytes:
    return f'{{"checkout": "{checkout}", "points": 99999999999}}'.encode()


def test_card_lookup_with_odd_numbers(app, till):
    member = enroll_member(app, balance=10)
    assert till.get(f"/cards/{member.card_number}").json["balance"] == {"points": 10, "held": 0}
    for number in ("abc", "7000000000000002", "%00", "9" * 300):
        response = till.get(f"/cards/{number}")
        assert response.status_code in (400, 404)
        assert response.json["error"]["code"] in ("malformed_scan", "unknown_card", "not_found")


def test_huge_body_is_refused(app, till):
    response = till.post("/identify", data=b'{"scan": "' + b"1" * 100_000 + b'"}')
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"

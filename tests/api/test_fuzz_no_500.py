"""Random JSON at every public endpoint: always a JSON error with a code, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import enroll_member
from tests.integration.conftest import assert_ledger_consistent, new_till

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "scan",
    "checkout",
    "reward_id",
    "points",
    "order",
    "capture",
    "card_number",
    "id",
    "total",
    "currency",
    "refund_total",
    "refund_id",
    "program",
    "email",
    "phone",
    "name",
    "locale",
    "consents",
    "terms",
    "marketing",
    "code",
]
bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5),
    st.fixed_dictionaries(
        {"order": st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4)},
        optional={"checkout": json_values, "card_number": json_values},
    ),
)
# What an HTTP header can carry: printable ASCII.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300)
POS_PATHS = [
    "/pos/v1/identify",
    "/pos/v1/redemptions",
    "/pos/v1/accruals",
    "/pos/v1/refunds",
    "/pos/v1/redemptions/rdm_x/capture",
    "/pos/v1/redemptions/rdm_x/void",
]
PUBLIC_PATHS = ["/api/v1/enrollments", "/api/v1/enrollments/enr_x/verify"]


def _check(response: Any) -> None:
    assert response.status_code < 500 or response.status_code == 503, response.data
    if response.status_code >= 400:
        assert isinstance(response.json["error"]["code"], str)
        assert isinstance(response.json["error"]["message"], str)


@pytest.fixture
def till(app):
    till = new_till(app)
    till.member = enroll_member(app, balance=1000)
    return till


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(path=st.sampled_from(POS_PATHS), body=bodies, key=st.one_of(st.none(), header_text))
def test_pos_endpoints_never_answer_500(app, till, path, body, key):
    headers = till.headers(None)
    if key is not None:
        headers["Idempotency-Key"] = key
    _check(till.client.post(path, json=body, headers=headers))


@settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(path=st.sampled_from(PUBLIC_PATHS), body=bodies)
def test_enrollment_endpoints_never_answer_500(app, till, path, body):
    _check(till.client.post(path, json=body))


def test_fuzzing_left_the_ledger_consistent(app, till):
    # A valid checkout plus junk around it must not corrupt balances either.
    checkout = till.checkout(till.member.google_scan())
    for body in (
        {"checkout": checkout, "points": 10**30},
        {"checkout": checkout, "points": -5},
        {"checkout": checkout, "points": 1.5},
        {"checkout": checkout, "points": "7"},
    ):
        _check(till.redeem(body.pop("checkout"), **body))
    assert_ledger_consistent(app)


NUL = "\u0000"
EDGE_BODIES = [
    {"program": f"de{NUL}mo", "email": f"a{NUL}@example.com", "consents": {"terms": True}},
    {"scan": f"7000000000000013{NUL}12345678", "checkout": NUL, "reward_id": NUL},
    {"order": {"id": NUL, "total": "1.00", "currency": "EUR", "refund_total": "1"}},
    {"order": {"id": "A-1", "total": "10000000.00", "currency": "EUR"}, "card_number": NUL},
    {"points": 2**63, "order": {"id": "A-2", "total": 2**64, "currency": "EUR"}},
    {f"key{NUL}": {"nested": [NUL]}},
]
EDGE_RAW = [b"[" * 8000 + b"]" * 8000, b'{"a":' * 5000 + b"1" + b"}" * 5000]
EDGE_PATH_SEGMENTS = [f"rdm{NUL}x", "%00", "9" * 500]


@pytest.mark.parametrize("path", POS_PATHS + PUBLIC_PATHS)
def test_edge_shapes_never_answer_500(app, till, path):
    headers = till.headers()
    for body in EDGE_BODIES:
        _check(till.client.post(path, json=body, headers=headers))
    for raw in EDGE_RAW:
        _check(
            till.client.post(path, data=raw, content_type="application/json", headers=headers)
        )
    for segment in EDGE_PATH_SEGMENTS:
        _check(till.client.post(path.replace("rdm_x", segment).replace("enr_x", segment),
                                json={}, headers=headers))
    assert_ledger_consistent(app)


@pytest.mark.parametrize(
    "url",
    [
        "/enroll/%00",
        "/enroll/demo%00/qr.svg",
        "/api/v1/programs/demo/images/%00",
        "/pos/v1/cards/%00",
        "/wallet/apple/v1/devices/d/registrations/p?passesUpdatedSince=" + "9" * 20,
        "/wallet/apple/v1/devices/d/registrations/p?passesUpdatedSince=" + str(2**64),
        "/wallet/apple/v1/passes/p/%00",
    ],
)
def test_edge_urls_never_answer_500(app, till, url):
    _check(till.client.get(url, headers=till.headers(None)))

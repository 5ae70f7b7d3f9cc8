"""Enrollment rate limits hold under parallel requests, across address variants and programs,
per client address, for SMS in all, and across workers sharing Redis."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from gateway.runtime import runtime
from gateway.services.issue.programs import ProgramSpec, create_program
from gateway.services.issue.rate_limits import contact_key
from tests.factories import demo_program

REDIS_URL = "redis://127.0.0.1:6379/15"



def _body(**contact: str) -> dict[str, object]:
    return {"program": "demo", "consents": {"terms": True}, **contact}


def test_address_variants_of_one_mailbox_share_one_key() -> None:
    keys = {
        contact_key("email", address)
        for address in ("ben.smith@gmail.com", "bensmith+promo@gmail.com",
                        "b.e.n.smith@googlemail.com", "BenSmith@Gmail.com")
    }
    assert keys == {"email:bensmith@gmail.com"}
    assert contact_key("email", "ben+x@example.com") == "email:ben@example.com"
    assert contact_key("email", "b.en@example.com") != contact_key("email", "ben@example.com")


def test_parallel_requests_for_one_mailbox_send_at_most_the_limit(make_app, smtp) -> None:
    app = make_app(
        NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port, CODES_PER_CONTACT_PER_HOUR=5
    )
    demo_program(app)
    variants = [f"ben+{n}@example.com" for n in range(40)]

    def ask(email: str) -> int:
        with app.test_client() as client:
            return client.post("/api/v1/enrollments", json=_body(email=email)).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(ask, variants))
    assert statuses.count(202) == 5
    assert statuses.count(429) == 35
    assert len(smtp.messages) == 5


def test_the_per_contact_budget_spans_programs(make_app, smtp) -> None:
    app = make_app(
        NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port, CODES_PER_CONTACT_PER_HOUR=2,
        ENROLLMENT_TTL_SECONDS=-1,
    )
    demo = demo_program(app)
    with app.app_context(), runtime(app).sessions() as session:
        create_program(session, ProgramSpec(
            slug="other", name="Other", organization="Other Co",
            apple_pass_type_id=demo.apple_pass_type_id, apple_team_id=demo.apple_team_id,
            google_issuer_id="1",
        ))
        session.commit()
    client = app.test_client()
    first = client.post("/api/v1/enrollments", json=_body(email="ana@example.com"))
    assert first.status_code == 202
    other = {**_body(email="Ana+b@example.com"), "program": "other"}
    assert client.post("/api/v1/enrollments", json=other).status_code == 202
    refused = client.post("/api/v1/enrollments", json=_body(email="ana+c@example.com"))
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert len(smtp.messages) == 2


def test_requests_are_limited_per_client_address(make_app) -> None:
    app = make_app(ENROLLMENTS_PER_ADDRESS_PER_HOUR=3)
    demo_program(app)
    one = app.test_client()
    one.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    for n in range(3):
        assert one.post("/api/v1/enrollments", json=_body(email=f"a{n}@example.com")).status_code \
            == 202
    assert one.post("/api/v1/enrollments", json=_body(email="a9@example.com")).status_code == 429
    assert other.post("/api/v1/enrollments", json=_body(email="b@example.com")).status_code == 202


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(make_app) -> None:
    trusted = make_app(ENROLLMENTS_PER_ADDRESS_PER_HOUR=1, PROXY_COUNT=1)
    demo_program(trusted)
    client = trusted.test_client()
    for n in range(3):
        response = client.post(
            "/api/v1/enrollments",
            json=_body(email=f"p{n}@example.com"),
            headers={"X-Forwarded-For": f"192.0.2.{n + 1}"},
        )
        assert response.status_code == 202  # three clients behind the proxy
    direct = make_app(ENROLLMENTS_PER_ADDRESS_PER_HOUR=1)
    client = direct.test_client()
    statuses = [
        client.post(
            "/api/v1/enrollments",
            json=_body(email=f"q{n}@example.com"),
            headers={"X-Forwarded-For": f"192.0.2.{n + 1}"},
        ).status_code
        for n in range(2)
    ]
    assert statuses == [202, 429]  # a forged header is not a new address


def test_sms_codes_have_a_global_hourly_budget(make_app) -> None:
    app = make_app(SMS_PER_HOUR=3)
    demo_program(app)
    statuses = []
    for n in range(5):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        statuses.append(
            client.post("/api/v1/enrollments", json=_body(phone=f"+1555000{n:04d}")).status_code
        )
    assert statuses == [202, 202, 202, 429, 429]


def test_workers_sharing_redis_share_the_budgets(make_app) -> None:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379 (CI starts it)")
    workers = [
        make_app(RATE_LIMIT_STORAGE=REDIS_URL, ENROLLMENTS_PER_ADDRESS_PER_HOUR=4)
        for _ in range(2)
    ]
    runtime(workers[0]).enrollment_limiter.reset()
    demo_program(workers[0])
    address = f"203.0.113.{uuid.uuid4().int % 200 + 1}"
    statuses = []
    for n in range(8):
        client = workers[n % 2].test_client()
        client.environ_base["REMOTE_ADDR"] = address
        statuses.append(
            client.post("/api/v1/enrollments", json=_body(email=f"w{n}@example.com")).status_code
        )
    assert statuses == [202] * 4 + [429] * 4


def test_a_storage_that_is_not_one_stops_start_up(make_app) -> None:
    with pytest.raises(Exception, match="GATEWAY_RATE_LIMIT_STORAGE"):
        make_app(RATE_LIMIT_STORAGE="nonsense://x")

"""Racing enrollments of one contact end with one member, one card, two passes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from gateway.models import Card, CrmMember, Member, WalletPass
from gateway.runtime import runtime
from tests.api.enrollment_helpers import start
from tests.factories import demo_program
from tests.fakes.smtp_server import FakeSmtpServer


@pytest.fixture
def smtp():
    with FakeSmtpServer() as server:
        yield server


@pytest.mark.parametrize("email", ["ana@example.com", "brand.new@example.com"])
def test_concurrent_verifications_of_one_contact_create_one_card(make_app, smtp, email):
    app = make_app(NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port)
    demo_program(app)
    client = app.test_client()
    pending = []
    for _ in range(4):
        enrollment_id = start(client, email=email)
        pending.append((enrollment_id, smtp.last_code_for(email)))

    def verify(item: tuple[str, str]) -> tuple[int, dict]:
        enrollment_id, code = item
        response = app.test_client().post(
            f"/api/v1/enrollments/{enrollment_id}/verify", json={"code": code}
        )
        return response.status_code, response.json

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(verify, pending))

    assert [status for status, _ in answers] == [200] * 4
    assert len({body["member"]["card_number"] for _, body in answers}) == 1
    with runtime(app).sessions() as session:
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert (count(Member), count(Card), count(WalletPass)) == (1, 1, 2)
        crm_rows = session.scalar(
            select(func.count()).select_from(CrmMember).where(CrmMember.email == email)
        )
        assert crm_rows == 1

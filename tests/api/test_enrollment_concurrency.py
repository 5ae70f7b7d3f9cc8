"""Racing enrollments of one contact end with one member, one card, two passes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gateway.models import Card, CrmMember, Enrollment, Member, Program, WalletPass
from gateway.models.base import utcnow
from gateway.runtime import runtime
from gateway.services.issue.enrollment import code_hash
from tests.factories import demo_program


@pytest.mark.parametrize("email", ["ana@example.com", "brand.new@example.com"])
def test_concurrent_verifications_of_one_contact_create_one_card(make_app, smtp, email):
    app = make_app(NOTIFIER="smtp", SMTP_HOST=smtp.host, SMTP_PORT=smtp.port)
    demo_program(app)
    # A new request for a contact with a pending enrollment resends that one's code, so the API
    # never opens four at once: the four pending enrollments (say, from four devices before the
    # resend rule) are written directly.
    rt = runtime(app)
    pending = []
    with rt.sessions() as session:
        program = session.scalars(select(Program).where(Program.slug == "demo")).one()
        for n in range(4):
            enrollment_id, code = f"enr_race{n}", f"{n:06d}"
            session.add(
                Enrollment(
                    id=enrollment_id,
                    program_id=program.id,
                    contact_kind="email",
                    contact=email,
                    consents={"terms": True, "marketing": False},
                    code_hash=code_hash(rt.settings.secret_key, enrollment_id, code),
                    expires_at=utcnow() + timedelta(minutes=15),
                )
            )
            pending.append((enrollment_id, code))
        session.commit()

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

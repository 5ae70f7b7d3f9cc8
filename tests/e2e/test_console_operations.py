"""In Chromium: an admin sees a dead letter on the operations page, retries it, and once the CRM
is back the worker delivers it (screenshots at 1280 and 390 px in the test's tmp folder)."""

from __future__ import annotations

from sqlalchemy import select, update

from gateway.models.base import utcnow
from gateway.models.outbox import OutboxEvent
from gateway.runtime import runtime
from gateway.services.chores.worker import Worker
from gateway.services.keep_live.outbox import add_event
from tests.browser import chromium_page, served
from tests.console_helpers import PASSWORD, make_operator
from tests.fakes.crm_server import FakeCrm
from tests.fakes.smtp_server import free_port


def test_an_admin_retries_a_dead_letter_and_it_is_delivered(make_app, tmp_path):
    port = free_port()
    with FakeCrm() as crm:
        app = make_app(
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            CRM="http",
            CRM_BASE_URL=crm.base_url,
            CRM_WEBHOOK_SECRET=crm.secret,
            CRM_TIMEOUT_SECONDS=2,
            OUTBOX_MAX_ATTEMPTS=2,
        )
        rt = runtime(app)
        make_operator(app, "ops@example.com", "admin")
        with rt.sessions() as session:
            event_id = add_event(session, "consent.withdrawn", {"member_crm_id": "c-7"})
            session.commit()
        crm.down = True
        worker = Worker(rt, chores_every=3600)
        for _ in range(2):
            with rt.sessions() as session:
                session.execute(update(OutboxEvent).values(next_attempt_at=utcnow()))
                session.commit()
            worker.round()

        with served(app, port) as base, chromium_page() as page:
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(f"{base}/console/login")
            page.fill("#email", "ops@example.com")
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_selector("#welcome")
            page.click("#console-nav >> text=Operations")
            row = page.locator(f'#dead-letters tr[data-event="{event_id}"]')
            assert "consent.withdrawn" in row.inner_text()
            assert "CrmUnavailable" in row.inner_text()
            assert (
                page.text_content('#kinds tr[data-kind="consent.withdrawn"] td:nth-child(4)') == "1"
            )
            page.screenshot(path=str(tmp_path / "operations-1280.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(tmp_path / "operations-390.png"), full_page=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390 + 1, f"the page scrolls sideways at 390 px ({width} px)"

            crm.down = False
            row.locator("button.retry").click()
            page.wait_for_selector("#notice")
            assert page.is_visible("#no-dead-letters")
            worker.round()
            page.reload()
            assert (
                page.text_content('#kinds tr[data-kind="consent.withdrawn"] td:nth-child(6)') == "1"
            )

    assert event_id in crm.events
    with rt.sessions() as session:
        event = session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == event_id))
        assert event is not None and event.delivered_at is not None

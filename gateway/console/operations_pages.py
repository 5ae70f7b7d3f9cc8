"""Console page: operations health for admins (outbox, dead letters, latency, worker, audit)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from gateway.console.auth import current_operator, require_role
from gateway.console.views import bp
from gateway.domain.errors import GatewayError
from gateway.runtime import request_session, runtime
from gateway.services.keep_live.dead_letters import discard_dead_letter, retry_dead_letter
from gateway.services.operate.operations import operations_view


def _actor() -> str:
    operator = current_operator()
    assert operator is not None  # require_role ran first
    return f"operator:{operator.id}"


@bp.get("/operations")
@require_role("admin")
def operations() -> ResponseReturnValue:
    """The outbox by kind, dead letters with retry/discard, worker heartbeats, recent audit."""
    return render_template(
        "console/operations.html",
        operator=current_operator(),
        view=operations_view(request_session()),
        ready_seconds=runtime().settings.ready_worker_seconds,
        notice=request.args.get("notice"),
    )


@bp.post("/operations/dead-letters/<event_id>/<action>")
@require_role("admin")
def dead_letter_action(event_id: str, action: str) -> ResponseReturnValue:
    """Retry or discard one dead letter (audited by the service)."""
    session = request_session()
    try:
        if action == "retry":
            retry_dead_letter(session, _actor(), event_id)
            notice = "retried"
        elif action == "discard":
            discard_dead_letter(session, _actor(), event_id)
            notice = "discarded"
        else:
            raise GatewayError("not_found", "no such action", 404)
    except GatewayError as error:
        return render_template(
            "console/message.html",
            title="Nothing to do",
            message="That event is no longer a dead letter (someone retried or discarded it "
            "already).",
            operator=current_operator(),
        ), error.status
    return redirect(url_for("console.operations", notice=notice))

"""POS protocol v1 at /pos/v1: thin handlers over the POS services (see pos-api.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from gateway.api.json_body import json_object
from gateway.domain import pos_requests
from gateway.domain.errors import GatewayError
from gateway.runtime import request_session, runtime
from gateway.services import accruals, card_status, identify, redemptions, refunds
from gateway.services.checkout import checkout_signer
from gateway.services.idempotency import (
    KeyConflict,
    PosAnswer,
    StoredAnswer,
    begin,
    check_key,
    encode,
    fingerprint,
    replay_after_conflict,
    run,
)
from gateway.services.pos_settings import pos_settings
from pos_adapter.auth import (
    JOINED_AUTH_ENDPOINTS,
    current_terminal,
    key_hash,
    remember_terminal,
    require_terminal,
)

bp = Blueprint("pos", __name__, url_prefix="/pos/v1")
bp.before_request(require_terminal)

Work = Callable[[], PosAnswer]


def _response(answer: StoredAnswer, *, replayed: bool = False) -> Response:
    response = Response(answer.body, status=answer.status, mimetype="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _keyed(work: Work, *, key_required: bool = True) -> Response:
    """Run a mutating call under its Idempotency-Key (optional for identify)."""
    session = request_session()
    header = request.headers.get("Idempotency-Key")
    ticket = None
    if key_required or header is not None:
        key = check_key(header)
        outcome = begin(
            session,
            current_terminal().terminal_id,
            key,
            fingerprint(request.method, request.path, request.get_data()),
            pos_settings(runtime()).idempotency_stale,
        )
        if isinstance(outcome, StoredAnswer):
            return _response(outcome, replayed=True)
        ticket = outcome
    return _response(run(session, ticket, work))


def _body() -> dict[str, Any]:
    return json_object()


def _authenticated_first(parse: Callable[[], Any]) -> Any:
    """Parse the body of a joined-auth endpoint; a bad key still answers 401 before a bad body."""
    try:
        return parse()
    except GatewayError:
        current_terminal()
        raise


@bp.post("/identify")
def identify_card() -> Response:
    """Scan -> checkout, member, balance and rewards (the terminal is checked in the same query)."""
    scan = _authenticated_first(lambda: pos_requests.scan_text(_body()))
    session = request_session()
    work = lambda: identify.identify(session, runtime(), key_hash(), scan)  # noqa: E731
    if request.headers.get("Idempotency-Key") is None:
        return _response(run(session, None, work))
    return _keyed(work, key_required=False)


JOINED_AUTH_ENDPOINTS.add("pos.identify_card")


@bp.post("/redemptions")
def create_redemption() -> Response:
    """Spend a reward or points (or hold them with capture: false): the key is claimed, the
    terminal checked and the effect made with its stored answer in one transaction."""
    key, parsed = _authenticated_first(
        lambda: (
            check_key(request.headers.get("Idempotency-Key")),
            pos_requests.redemption_request(_body()),
        )
    )
    session = request_session()
    request_hash = fingerprint(request.method, request.path, request.get_data())
    try:
        outcome = redemptions.redeem_keyed(
            session,
            runtime(),
            key_hash(),
            key,
            request_hash,
            parsed,
            pos_settings(runtime()).idempotency_stale,
            commit=True,
        )
        if isinstance(outcome, StoredAnswer):
            session.rollback()
            return _response(outcome, replayed=True)
        answer, terminal = outcome
        remember_terminal(terminal)
        session.commit()
    except KeyConflict:
        session.rollback()
        return _response(
            replay_after_conflict(session, current_terminal().terminal_id, key, request_hash),
            replayed=True,
        )
    except BaseException:
        session.rollback()
        raise
    return _response(StoredAnswer(answer.status, encode(answer)))


JOINED_AUTH_ENDPOINTS.add("pos.create_redemption")


@bp.post("/redemptions/<redemption_id>/capture")
def capture_redemption(redemption_id: str) -> Response:
    """Held -> captured."""
    return _keyed(
        lambda: redemptions.capture(request_session(), current_terminal(), redemption_id)
    )


@bp.post("/redemptions/<redemption_id>/void")
def void_redemption(redemption_id: str) -> Response:
    """Held or captured -> voided; points return once."""
    return _keyed(lambda: redemptions.void(request_session(), current_terminal(), redemption_id))


@bp.post("/accruals")
def create_accrual() -> Response:
    """Earn points for an order."""
    check_key(request.headers.get("Idempotency-Key"))
    parsed = pos_requests.accrual_request(_body())
    signer = checkout_signer(runtime())
    return _keyed(
        lambda: accruals.accrue(request_session(), signer, current_terminal(), parsed)
    )


@bp.post("/refunds")
def create_refund() -> Response:
    """Refund (part of) an order."""
    check_key(request.headers.get("Idempotency-Key"))
    parsed = pos_requests.refund_request(_body())
    return _keyed(lambda: refunds.refund(request_session(), current_terminal(), parsed))


@bp.get("/cards/<number>")
def get_card(number: str) -> Response:
    """Card status, tier and balance."""
    session = request_session()
    return _response(
        run(session, None, lambda: card_status.card_status(session, current_terminal(), number))
    )

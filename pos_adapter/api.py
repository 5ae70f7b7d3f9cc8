"""POS protocol v1 at /pos/v1: HTTP in, one POS use case, HTTP out (see pos-api.md).

Each handler parses the request, names the till and the Idempotency-Key, and calls one use case
of `gateway.pos`, which opens, commits or rolls back its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, request

from gateway.api.json_body import json_object
from gateway.domain import pos_requests
from gateway.domain.errors import GatewayError
from gateway.pos import accruals, card_status, identify, redemptions, refunds
from gateway.pos.idempotency import IdempotentCall, StoredAnswer, check_key, fingerprint
from gateway.runtime import runtime
from pos_adapter.auth import JOINED_AUTH_ENDPOINTS, current_terminal, key_hash, require_terminal

bp = Blueprint("pos", __name__, url_prefix="/pos/v1")
bp.before_request(require_terminal)

T = TypeVar("T")


def _response(answer: StoredAnswer) -> Response:
    response = Response(answer.body, status=answer.status, mimetype="application/json")
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _call(key: str) -> IdempotentCall:
    """The keyed request as the use cases take it."""
    return IdempotentCall(
        key_hash=key_hash(),
        key=key,
        request_hash=fingerprint(request.method, request.path, request.get_data()),
        stale_after=runtime().pos_settings.idempotency_stale,
    )


def _keyed_call() -> IdempotentCall:
    """The keyed request of this call (400 without an Idempotency-Key)."""
    return _call(check_key(request.headers.get("Idempotency-Key")))


def _authenticated_first(parse: Callable[[], T]) -> T:
    """Parse the body of a joined-auth endpoint; a bad key still answers 401 before a bad body."""
    try:
        return parse()
    except GatewayError:
        current_terminal()
        raise


def _body() -> dict[str, Any]:
    return json_object()


@bp.post("/identify")
def identify_card() -> Response:
    """Scan -> checkout, member, balance and rewards (the terminal is checked in the same query)."""
    scan = _authenticated_first(lambda: pos_requests.scan_text(_body()))
    header = request.headers.get("Idempotency-Key")
    keyed = None
    if header is not None:
        keyed = (_call(check_key(header)), current_terminal().terminal_id)
    return _response(identify.identify(runtime(), key_hash(), scan, keyed))


JOINED_AUTH_ENDPOINTS.add("pos.identify_card")


@bp.post("/redemptions")
def create_redemption() -> Response:
    """Spend a reward or points (or hold them with capture: false)."""
    key, parsed = _authenticated_first(
        lambda: (
            check_key(request.headers.get("Idempotency-Key")),
            pos_requests.redemption_request(_body()),
        )
    )
    call = _call(key)
    return _response(redemptions.create_redemption(runtime(), key_hash(), call, parsed))


JOINED_AUTH_ENDPOINTS.add("pos.create_redemption")


@bp.post("/redemptions/<redemption_id>/capture")
def capture_redemption(redemption_id: str) -> Response:
    """Held -> captured."""
    return _response(
        redemptions.capture_redemption(
            runtime(), _keyed_call(), current_terminal(), redemption_id
        )
    )


@bp.post("/redemptions/<redemption_id>/void")
def void_redemption(redemption_id: str) -> Response:
    """Held or captured -> voided; points return once."""
    return _response(
        redemptions.void_redemption(runtime(), _keyed_call(), current_terminal(), redemption_id)
    )


@bp.post("/accruals")
def create_accrual() -> Response:
    """Earn points for an order."""
    call = _keyed_call()
    parsed = pos_requests.accrual_request(_body())
    return _response(accruals.create_accrual(runtime(), call, current_terminal(), parsed))


@bp.post("/refunds")
def create_refund() -> Response:
    """Refund (part of) an order."""
    call = _keyed_call()
    parsed = pos_requests.refund_request(_body())
    return _response(refunds.create_refund(runtime(), call, current_terminal(), parsed))


@bp.get("/cards/<number>")
def get_card(number: str) -> Response:
    """Card status, tier and balance (`?checkout=<token>` where the program requires one)."""
    checkout = request.args.get("checkout")
    return _response(card_status.read_card(runtime(), current_terminal(), number, checkout))

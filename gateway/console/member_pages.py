"""Console pages: find a member, see their card page, and the support actions (adjust points,
unlock, revoke, replace, close the membership). Admins and support staff; every action is a
POST with a CSRF token, and the services audit it."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from gateway.console.auth import current_operator, require_role
from gateway.console.views import bp
from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.card import Card
from gateway.models.operator import Operator
from gateway.runtime import Runtime, request_session, runtime
from gateway.services.issue.card_admin import card_by_number, replace_card, revoke_card, unlock_card
from gateway.services.operate.field_errors import FieldErrors
from gateway.services.operate.member_erasure import erase_member
from gateway.services.operate.members import (
    card_in_program,
    list_programs,
    member_view,
    search_members,
)
from gateway.services.operate.point_adjustments import adjust_points, new_request_id

ROLES = ("admin", "support")

# The destructive actions: what the confirmation page says before the operator goes ahead.
CONFIRM = {
    "revoke": (
        "Revoke this card?",
        "Both wallet passes stop working at once: the till refuses the card, the Apple pass "
        "can no longer update and the Google pass turns inactive. Replace the card later to give "
        "the member new passes.",
        "Revoke card",
    ),
    "replace": (
        "Replace this card?",
        "For a lost or stolen phone. The member keeps their number and points; new passes are "
        "made and the links are sent to their verified e-mail or phone. The old passes, their "
        "codes and their download links stop working.",
        "Replace card",
    ),
    "erase": (
        "Close this membership and erase personal data?",
        "This cannot be undone. E-mail, phone and name are erased, the card is revoked and the "
        "CRM is told. Points history, consent records and the audit trail are kept without "
        "personal data.",
        "Close membership and erase",
    ),
}


def _me() -> Operator:
    operator = current_operator()
    assert operator is not None  # require_role ran first
    return operator


def _actor() -> str:
    return f"operator:{_me().id}"


def _failed(error: GatewayError) -> ResponseReturnValue:
    titles = {404: "Not found", 409: "Not possible now"}
    page = render_template(
        "console/message.html",
        title=titles.get(error.status, "Not possible"),
        message=error.message,
        operator=_me(),
    )
    return page, error.status


@bp.get("/members", endpoint="members")
@require_role(*ROLES)
def members_search() -> ResponseReturnValue:
    """Search a program's members by e-mail, phone, card number or legacy number."""
    session = request_session()
    programs = list_programs(session)
    wanted = request.args.get("program", "")
    program = next((p for p in programs if p.slug == wanted), programs[0] if programs else None)
    query = request.args.get("q", "")
    hits, error, status = [], None, 200
    if program is not None and query:
        try:
            hits = search_members(session, program, query)
        except FieldErrors as failure:
            error, status = failure.fields.get("q", failure.message), failure.status
    page = render_template(
        "console/members.html",
        operator=_me(),
        programs=programs,
        program=program,
        query=query,
        hits=hits,
        searched=bool(query) and error is None,
        error=error,
    )
    return page, status


def _member_page(
    slug: str,
    number: str,
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    session = request_session()
    before = request.args.get("before", "")
    try:
        view = member_view(
            session,
            card_in_program(session, slug, number),
            before=int(before) if before.isdigit() and len(before) < 19 else None,
        )
    except GatewayError as error:
        return _failed(error)
    page = render_template(
        "console/member.html",
        operator=_me(),
        view=view,
        now=utcnow(),
        typed=typed or {"points": "", "reason": "", "request_id": new_request_id()},
        errors=errors or {},
        problem=problem,
    )
    return page, status


@bp.get("/members/<slug>/<number>")
@require_role(*ROLES)
def members_card(slug: str, number: str) -> ResponseReturnValue:
    """The member's page: contact, balance, passes, consents, ledger, audit, actions."""
    return _member_page(slug, number)


def _back(slug: str, number: str) -> ResponseReturnValue:
    return redirect(url_for("console.members_card", slug=slug, number=number))


@bp.post("/members/<slug>/<number>/points")
@require_role(*ROLES)
def members_points(slug: str, number: str) -> ResponseReturnValue:
    """Adjust points; the form's request id makes a double submit count once."""
    typed = {name: request.form.get(name, "") for name in ("points", "reason", "request_id")}
    session = request_session()
    try:
        card = card_by_number(session, number, slug)
        result = adjust_points(
            session, card, typed["points"], typed["reason"], typed["request_id"], _actor()
        )
    except FieldErrors as failure:
        return _member_page(slug, number, typed=typed, errors=failure.fields, status=422)
    except GatewayError as error:
        if error.status == 404:
            return _failed(error)
        return _member_page(slug, number, typed=typed, problem=error.message, status=error.status)
    if result.repeated:
        flash("This adjustment was already saved; it was not applied twice.")
    else:
        flash(f"{result.points:+,} points saved. The balance is now {result.balance:,}.")
    return _back(slug, number)


@bp.post("/members/<slug>/<number>/unlock")
@require_role(*ROLES)
def members_unlock(slug: str, number: str) -> ResponseReturnValue:
    """Lift the card's scan lock."""
    session = request_session()
    try:
        lifted = unlock_card(session, card_by_number(session, number, slug), _actor())
    except GatewayError as error:
        return _failed(error)
    flash("The card is unlocked." if lifted else "The card was not locked: nothing changed.")
    return _back(slug, number)


def _confirm_page(slug: str, number: str, action: str) -> ResponseReturnValue:
    title, text, button = CONFIRM[action]
    session = request_session()
    try:
        view = member_view(session, card_in_program(session, slug, number))
    except GatewayError as error:
        return _failed(error)
    return render_template(
        "console/member_confirm.html",
        operator=_me(),
        view=view,
        action=action,
        title=title,
        text=text,
        button=button,
        target=url_for(f"console.members_{action}", slug=slug, number=number),
    )


def _destructive(slug: str, number: str, action: str) -> ResponseReturnValue:
    if request.method == "GET":
        return _confirm_page(slug, number, action)
    session, rt = request_session(), runtime()
    try:
        card = card_by_number(session, number, slug)
        message = _run(action, session, rt, card)
    except GatewayError as error:
        return _failed(error)
    flash(message)
    return _back(slug, number)


def _run(action: str, session: Session, rt: Runtime, card: Card) -> str:
    if action == "revoke":
        if revoke_card(session, rt, card, _actor()):
            return "The card is revoked. Both passes stopped working."
        return "The card was already revoked: nothing changed."
    if action == "replace":
        replace_card(session, rt, card, _actor())
        return "The card is replaced. New pass links are on their way to the member."
    result = erase_member(session, rt, card, _actor())
    if result.already:
        return "This membership was already closed: nothing changed."
    return "The membership is closed and the personal data erased."


@bp.route("/members/<slug>/<number>/revoke", methods=["GET", "POST"])
@require_role(*ROLES)
def members_revoke(slug: str, number: str) -> ResponseReturnValue:
    """Confirm, then revoke the card."""
    return _destructive(slug, number, "revoke")


@bp.route("/members/<slug>/<number>/replace", methods=["GET", "POST"])
@require_role(*ROLES)
def members_replace(slug: str, number: str) -> ResponseReturnValue:
    """Confirm, then replace the card."""
    return _destructive(slug, number, "replace")


@bp.route("/members/<slug>/<number>/erase", methods=["GET", "POST"])
@require_role(*ROLES)
def members_erase(slug: str, number: str) -> ResponseReturnValue:
    """Confirm, then close the membership and erase personal data."""
    return _destructive(slug, number, "erase")

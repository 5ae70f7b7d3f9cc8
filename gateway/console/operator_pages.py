"""Console pages: operators (admins create them, change roles, issue set-password links, turn
off a lost second factor) and an operator turning off their own second factor."""

from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from gateway.console.auth import current_operator, require_role, signed_in
from gateway.console.views import bp
from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.operator import ROLES, Operator
from gateway.runtime import request_session, runtime
from gateway.services.console import account, operators
from gateway.services.console.operators import PasswordLink

# Shown on the list after a change (the list is reloaded with ?done=...&of=ID).
_DONE = {
    "role": "The role of {email} is now {role}.",
    "second_factor": "Two-step sign-in of {email} is off. They can sign in with the password "
    "alone and turn it on again from their home page.",
}


def _me() -> Operator:
    operator = current_operator()
    assert operator is not None  # the guards ran first
    return operator


def _actor() -> str:
    return f"operator:{_me().id}"


def _list_page(
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    problem: str | None = None,
    notice: str | None = None,
) -> ResponseReturnValue:
    session = request_session()
    return render_template(
        "console/operators.html",
        operator=_me(),
        operators=operators.list_operators(session),
        now=utcnow(),
        roles=ROLES,
        errors=errors or {},
        typed=typed or {"email": "", "role": "support"},
        problem=problem,
        notice=notice,
    ), status


def _link_page(subject: Operator, link: PasswordLink, created: bool) -> ResponseReturnValue:
    url = runtime().settings.public_base_url.rstrip("/") + operators.set_password_path(link.token)
    response = make_response(
        render_template(
            "console/operator_link.html",
            operator=_me(),
            subject=subject,
            url=url,
            expires_at=link.expires_at,
            created=created,
        )
    )
    response.headers["Cache-Control"] = "no-store"  # the link is a credential
    return response


@bp.get("/operators")
@require_role("admin")
def operator_list() -> ResponseReturnValue:
    """Every operator with role, second factor and state, and the forms to change them."""
    notice = None
    template = _DONE.get(request.args.get("done", ""))
    of = request.args.get("of", "")
    if template and of.isdigit():
        subject = request_session().get(Operator, int(of))
        if subject is not None:
            notice = template.format(email=subject.email, role=subject.role)
    return _list_page(notice=notice)


@bp.post("/operators")
@require_role("admin")
def operator_create() -> ResponseReturnValue:
    """Create an operator and show the one-time set-password link."""
    typed = {"email": request.form.get("email", ""), "role": request.form.get("role", "")}
    try:
        created, link = operators.create_operator(
            request_session(), typed["email"], typed["role"], _actor()
        )
    except GatewayError as error:
        field = error.field or "email"
        return _list_page(status=error.status, errors={field: error.message}, typed=typed)
    return _link_page(created, link, created=True)


@bp.post("/operators/<int:operator_id>/role")
@require_role("admin")
def operator_role(operator_id: int) -> ResponseReturnValue:
    """Give an operator another role (never leaving no administrator)."""
    me = _me()
    try:
        changed = operators.change_role(
            request_session(), operator_id, request.form.get("role", ""), _actor()
        )
    except GatewayError as error:
        return _list_page(status=error.status, problem=error.message)
    if changed.id == me.id and changed.role != "admin":
        return redirect(url_for("console.home"))  # no longer allowed on this page
    return redirect(url_for("console.operator_list", done="role", of=changed.id))


@bp.post("/operators/<int:operator_id>/password-link")
@require_role("admin")
def operator_password_link(operator_id: int) -> ResponseReturnValue:
    """A new one-time set-password link (a forgotten password); the previous link stops."""
    try:
        subject, link = operators.issue_password_link_for(request_session(), operator_id, _actor())
    except GatewayError as error:
        return _list_page(status=error.status, problem=error.message)
    return _link_page(subject, link, created=False)


@bp.post("/operators/<int:operator_id>/second-factor/reset")
@require_role("admin")
def operator_second_factor_reset(operator_id: int) -> ResponseReturnValue:
    """Turn off another operator's two-step sign-in (a lost phone)."""
    try:
        subject = operators.reset_second_factor(request_session(), operator_id, _actor())
    except GatewayError as error:
        return _list_page(status=error.status, problem=error.message)
    return redirect(url_for("console.operator_list", done="second_factor", of=subject.id))


@bp.route("/account/2fa/off", methods=["GET", "POST"])
@signed_in
def two_factor_off() -> ResponseReturnValue:
    """Turn off one's own two-step sign-in with a current code."""
    me = _me()
    if me.totp_secret is None:
        return redirect(url_for("console.two_factor"))
    if request.method == "GET":
        return render_template("console/two_factor_off.html", operator=me)
    try:
        account.turn_off_second_factor(
            runtime(),
            request_session(),
            me.id,
            request.form.get("code", ""),
            request.remote_addr or "unknown",
        )
    except GatewayError as error:
        page = render_template("console/two_factor_off.html", operator=me, error=error.message)
        return page, error.status
    return render_template("console/two_factor_off.html", operator=me, done=True)

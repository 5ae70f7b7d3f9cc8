"""Console pages: translate HTTP into service calls and render the answer."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask import session as cookie
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError

from gateway.console import csrf
from gateway.console.auth import SESSION_KEY, current_operator, signed_in
from gateway.domain.errors import GatewayError
from gateway.runtime import request_session, runtime
from gateway.services.console import operators, second_factor, signin

bp = Blueprint("console", __name__, url_prefix="/console")

# The console's sections: title, endpoint, roles that may open it.
SECTIONS = (
    ("Programs and branding", "console.programs", ("admin", "marketer")),
    ("Rewards and kill switches", "console.rewards", ("admin", "marketer")),
    ("Stores and tills", "console.stores", ("admin", "marketer", "support")),
    ("Members and cards", "console.members", ("admin", "support")),
    ("Reports", "console.reports", ("admin", "marketer")),
    ("Operators", "console.operator_list", ("admin",)),
    ("Admin API keys", "console.api_keys", ("admin",)),
    ("Operations", "console.operations", ("admin",)),
)


@bp.app_context_processor
def _sections() -> dict[str, object]:
    """`console_sections`: the sections the signed-in operator's role may open."""

    def console_sections() -> list[tuple[str, str]]:
        operator = current_operator() if request.blueprint == "console" else None
        if operator is None:
            return []
        return [
            (title, endpoint)
            for title, endpoint, roles in SECTIONS
            if operator.role in roles and endpoint in current_app.view_functions
        ]

    return {"console_sections": console_sections}


@bp.before_request
def _check_csrf() -> None:
    csrf.protect()


@bp.errorhandler(CSRFError)
def _csrf_failed(_error: CSRFError) -> ResponseReturnValue:
    return _message(
        "Form expired",
        "This form was out of date or not sent from the console. Nothing was changed: go back, "
        "reload the page and try again.",
        400,
    )


@bp.errorhandler(GatewayError)
def _refused(error: GatewayError) -> ResponseReturnValue:
    """An error no page handled itself (a too-large upload, an unknown id): a console page, not
    the JSON the APIs answer."""
    if error.code == "payload_too_large":
        return _message(
            "File too large",
            "What you sent is larger than the console accepts. Nothing was changed: choose a "
            "smaller file and try again.",
            413,
        )
    titles = {404: "Not found", 409: "Changed meanwhile", 403: "Not allowed"}
    return _message(titles.get(error.status, "Could not do that"), error.message, error.status)


def _message(title: str, message: str, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "console/message.html", title=title, message=message, operator=current_operator()
    ), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """E-mail, password and (when turned on) the authenticator code."""
    if request.method == "GET":
        if current_operator() is not None:
            return redirect(url_for("console.home"))
        return render_template("console/login.html", ended=request.args.get("ended"), email="")
    email = request.form.get("email", "")
    try:
        token = signin.sign_in(
            runtime(),
            request_session(),
            email,
            request.form.get("password", ""),
            request.form.get("code", ""),
            request.remote_addr or "unknown",
        )
    except GatewayError as error:
        page = render_template("console/login.html", error=error.message, email=email)
        return page, error.status
    cookie.clear()  # a new session (and CSRF token) on every sign-in
    cookie[SESSION_KEY] = token
    return redirect(url_for("console.home"))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End this browser's session."""
    token = cookie.get(SESSION_KEY)
    if isinstance(token, str):
        signin.sign_out(request_session(), token)
    cookie.clear()
    return redirect(url_for("console.login", ended="signed_out"))


@bp.get("")
@signed_in
def home() -> ResponseReturnValue:
    """Who is signed in, and the sections of the console."""
    return render_template("console/home.html", operator=current_operator())


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str) -> ResponseReturnValue:
    """The one-time link printed by `gateway operators create`."""
    session = request_session()
    operator = operators.operator_for_link(session, token)
    if operator is None:
        return _message(
            "Link not valid",
            "This link has already been used or has expired. Ask an administrator for a new one.",
            404,
        )
    if request.method == "GET":
        return render_template("console/set_password.html", email=operator.email)
    try:
        operators.set_password(
            session, token, request.form.get("password", ""), request.form.get("confirm", "")
        )
    except GatewayError as error:
        if error.code == "link_invalid":
            return _message("Link not valid", error.message, 404)
        page = render_template(
            "console/set_password.html",
            email=operator.email,
            error=error.message,
            field=error.field,
        )
        return page, error.status
    return render_template("console/password_set.html", email=operator.email)


@bp.route("/account/2fa", methods=["GET", "POST"])
@signed_in
def two_factor() -> ResponseReturnValue:
    """Turn on two-step sign-in: scan the QR code, confirm one code."""
    operator = current_operator()
    assert operator is not None
    rt, session = runtime(), request_session()
    error, status = None, 200
    if operator.totp_secret is None and request.method == "POST":
        try:
            second_factor.confirm_enrolment(rt, session, operator, request.form.get("code", ""))
        except GatewayError as failure:
            error, status = failure.message, failure.status
    if operator.totp_secret is not None:
        return render_template("console/two_factor.html", operator=operator, enabled=True)
    enrolment = second_factor.pending_enrolment(rt, session, operator)
    page = render_template(
        "console/two_factor.html",
        operator=operator,
        enabled=False,
        enrolment=enrolment,
        error=error,
    )
    return page, status

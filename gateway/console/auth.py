"""Who is signed in to the console, and the `signed_in` / `require_role` view guards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import ParamSpec

from flask import g, redirect, render_template, request, url_for
from flask import session as cookie
from flask.typing import ResponseReturnValue

from gateway.models.operator import Operator
from gateway.runtime import request_session, runtime
from gateway.services.console.signin import record_forbidden, session_operator

P = ParamSpec("P")
SESSION_KEY = "sid"


def current_operator() -> Operator | None:
    """The signed-in operator of this request (None when signed out or idle too long)."""
    if "operator" in g:
        operator: Operator | None = g.operator
        return operator
    token = cookie.get(SESSION_KEY)
    operator, expired = None, False
    if isinstance(token, str):
        idle = timedelta(minutes=runtime().settings.console_idle_minutes)
        operator, expired = session_operator(request_session(), token, idle)
        if operator is None:
            cookie.pop(SESSION_KEY, None)
    g.operator, g.session_expired = operator, expired
    return operator


def signed_in(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Send visitors who are not signed in to the sign-in page."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        if current_operator() is None:
            ended = "idle" if g.get("session_expired") else None
            return redirect(url_for("console.login", ended=ended))
        return view(*args, **kwargs)

    return guarded


def require_role(
    *roles: str,
) -> Callable[[Callable[P, ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Allow only operators with one of `roles`; anyone else gets a 403 page, audited."""

    def decorate(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
        @signed_in
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            operator = current_operator()
            assert operator is not None  # signed_in ran first
            if operator.role not in roles:
                record_forbidden(
                    request_session(), operator, f"{request.method} {request.path}", roles
                )
                return render_template(
                    "console/message.html",
                    title="Not allowed",
                    message="Your role does not allow this page. Ask an administrator if you "
                    "need it.",
                    operator=operator,
                ), 403
            return view(*args, **kwargs)

        return guarded

    return decorate

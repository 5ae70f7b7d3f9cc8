"""Console pages: admin API keys (admins): list, create (the key shown once), revoke."""

from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from gateway.console.auth import current_operator, require_role
from gateway.console.views import bp
from gateway.domain.errors import GatewayError
from gateway.models.api_key import ApiKey
from gateway.models.operator import ROLES, Operator
from gateway.runtime import request_session
from gateway.services.operate import api_keys
from gateway.services.operate.field_errors import FieldErrors


def _me() -> Operator:
    operator = current_operator()
    assert operator is not None  # require_role ran first
    return operator


def _page(
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    problem: str | None = None,
    revoked: ApiKey | None = None,
) -> ResponseReturnValue:
    return render_template(
        "console/api_keys.html",
        operator=_me(),
        keys=api_keys.list_api_keys(request_session()),
        roles=ROLES,
        errors=errors or {},
        typed=typed or {"name": "", "scope": "support"},
        problem=problem,
        revoked=revoked,
    ), status


@bp.get("/api-keys", endpoint="api_keys")
@require_role("admin")
def api_keys_list() -> ResponseReturnValue:
    """Every key: name, scope, prefix, who made it and when, last use, revoked."""
    revoked = None
    of = request.args.get("revoked", "")
    if of.isdigit():
        revoked = request_session().get(ApiKey, int(of))
    return _page(revoked=revoked)


@bp.post("/api-keys")
@require_role("admin")
def api_key_create() -> ResponseReturnValue:
    """Create a key and show it once."""
    typed = {"name": request.form.get("name", ""), "scope": request.form.get("scope", "")}
    try:
        created = api_keys.create_api_key(
            request_session(), f"operator:{_me().id}", typed["name"], typed["scope"]
        )
    except FieldErrors as error:
        return _page(status=error.status, errors=error.fields, typed=typed)
    response = make_response(
        render_template(
            "console/api_key_created.html",
            operator=_me(),
            key=created.key,
            secret=created.secret,
        )
    )
    response.headers["Cache-Control"] = "no-store"  # the page holds the secret
    return response


@bp.post("/api-keys/<int:key_id>/revoke")
@require_role("admin")
def api_key_revoke(key_id: int) -> ResponseReturnValue:
    """Stop a key at once."""
    try:
        key = api_keys.revoke_api_key(request_session(), f"operator:{_me().id}", key_id)
    except GatewayError as error:  # only 404: an unknown id
        return _page(status=error.status, problem="There is no such API key.")
    return redirect(url_for("console.api_keys", revoked=key.id))

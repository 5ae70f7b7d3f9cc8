"""Console pages: stores (create, edit) and their tills (create with the key shown once and a QR
code for the cashier page, revoke, unlock, last seen). Admins and marketers manage; support
sees stores and tills read-only. The operate services do the work."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import available_timezones

from flask import flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from gateway.console.auth import current_operator, require_role
from gateway.console.views import bp
from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.models.operator import Operator
from gateway.models.pos import Store
from gateway.runtime import request_session, runtime
from gateway.services.operate import stores
from gateway.services.operate.field_errors import FieldErrors

MANAGE = ("admin", "marketer")
READ = ("admin", "marketer", "support")


def _me() -> Operator:
    operator = current_operator()
    assert operator is not None  # require_role ran first
    return operator


def _actor() -> str:
    return f"operator:{_me().id}"


def _can_manage() -> bool:
    return _me().role in MANAGE


def _failed(error: GatewayError) -> ResponseReturnValue:
    titles = {404: "Not found", 409: "Not possible now"}
    return render_template(
        "console/message.html",
        title=titles.get(error.status, "Not possible"),
        message=error.message,
        operator=_me(),
    ), error.status


@cache
def _timezones() -> list[str]:
    """IANA names for the form's suggestions (the service checks what is typed)."""
    return sorted(name for name in available_timezones() if "/" in name or name == "UTC")


def seen(value: datetime | None) -> str:
    """A till's last-seen time for people: `never`, or the UTC minute."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


@bp.get("/stores", endpoint="stores")
@require_role(*READ)
def stores_list() -> ResponseReturnValue:
    """Every store with its program, time zone and live tills."""
    return render_template(
        "console/stores.html",
        operator=_me(),
        rows=stores.list_stores(request_session()),
        can_manage=_can_manage(),
    )


def _form_values(store: Store | None, program_slug: str = "") -> dict[str, str]:
    if store is None:
        typed = {name: "" for name in stores.FIELDS}
        typed.update(timezone="UTC", program=program_slug)
        return typed
    typed = {
        name: "" if getattr(store, name, None) is None else str(getattr(store, name))
        for name in stores.EDITABLE
    }
    typed.update(code=store.code, program=program_slug)
    return typed


def _typed() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in stores.FIELDS}


def _form(
    *,
    store: Store | None,
    typed: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    return render_template(
        "console/store_form.html",
        operator=_me(),
        store=store,
        typed=typed,
        errors=errors or {},
        programs=stores.program_choices(request_session()),
        timezones=_timezones(),
    ), status


@bp.route("/stores/new", methods=["GET", "POST"])
@require_role(*MANAGE)
def stores_new() -> ResponseReturnValue:
    """A new store."""
    session = request_session()
    if request.method == "GET":
        choices = stores.program_choices(session)
        first = choices[0][0] if len(choices) == 1 else ""
        return _form(store=None, typed=_form_values(None, first))
    typed = _typed()
    try:
        store = stores.create_store(session, _actor(), typed)
    except FieldErrors as error:
        return _form(store=None, typed=typed, errors=error.fields, status=error.status)
    flash(f"Store {store.name} was created. Add its tills below.")
    return redirect(url_for("console.stores_tills", code=store.code))


@bp.route("/stores/<code>/edit", methods=["GET", "POST"])
@require_role(*MANAGE)
def stores_edit(code: str) -> ResponseReturnValue:
    """Edit a store's name, address, time zone and location."""
    session = request_session()
    try:
        row = stores.store_row(session, code)
    except GatewayError as error:
        return _failed(error)
    if request.method == "GET":
        return _form(store=row.store, typed=_form_values(row.store, row.program_slug))
    typed = _typed()
    typed.update(code=row.store.code, program=row.program_slug)
    changes = {name: typed[name] for name in stores.EDITABLE}
    try:
        store = stores.edit_store(session, _actor(), code, changes)
    except FieldErrors as error:
        return _form(store=row.store, typed=typed, errors=error.fields, status=error.status)
    flash(f"Store {store.name} was saved.")
    return redirect(url_for("console.stores_tills", code=store.code))


def _store_page(
    code: str,
    *,
    till_name: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    session = request_session()
    try:
        row = stores.store_row(session, code)
        tills = stores.list_tills(session, code)
    except GatewayError as error:
        return _failed(error)
    now = utcnow()
    return render_template(
        "console/store.html",
        operator=_me(),
        row=row,
        tills=[(till, stores.till_state(till.terminal, now)) for till in tills],
        seen=seen,
        can_manage=_can_manage(),
        till_name=till_name,
        errors=errors or {},
    ), status


@bp.get("/stores/<code>/tills")
@require_role(*READ)
def stores_tills(code: str) -> ResponseReturnValue:
    """A store and its tills: state, key prefix, last seen; the actions for managers."""
    return _store_page(code)


@bp.post("/stores/<code>/tills")
@require_role(*MANAGE)
def stores_till_create(code: str) -> ResponseReturnValue:
    """Create a till and show its key once, with the QR code that opens the cashier page."""
    name = request.form.get("name", "")
    try:
        created = stores.create_till(request_session(), _actor(), code, name)
    except FieldErrors as error:
        return _store_page(code, till_name=name, errors=error.fields, status=error.status)
    except GatewayError as error:
        return _failed(error)
    link = stores.cashier_link(runtime().settings.public_base_url, created.key)
    response = make_response(
        render_template(
            "console/till_created.html",
            operator=_me(),
            store_code=code,
            terminal=created.terminal,
            key=created.key,
            link=link,
            qr=stores.cashier_qr(link),
        )
    )
    response.headers["Cache-Control"] = "no-store"  # the page holds the key
    return response


def _till_of(code: str, till_id: int) -> stores.TillRow:
    """The till, if it belongs to this store (404 otherwise: the URL names both)."""
    row = stores.find_till(request_session(), till_id)
    if row.store_code != code:
        raise GatewayError("not_found", "This store has no such till.", 404)
    return row


@bp.post("/stores/<code>/tills/<int:till_id>/revoke")
@require_role(*MANAGE)
def stores_till_revoke(code: str, till_id: int) -> ResponseReturnValue:
    """Revoke a till: its key stops working at once."""
    try:
        _till_of(code, till_id)
        terminal = stores.revoke_till(request_session(), _actor(), till_id)
    except GatewayError as error:
        return _failed(error)
    flash(f"Till {terminal.name or terminal.id} was revoked: its key no longer works.")
    return redirect(url_for("console.stores_tills", code=code))


@bp.post("/stores/<code>/tills/<int:till_id>/unlock")
@require_role(*MANAGE)
def stores_till_unlock(code: str, till_id: int) -> ResponseReturnValue:
    """Lift a till's scan lock (too many wrong codes)."""
    try:
        _till_of(code, till_id)
        unlock = stores.unlock_till(request_session(), _actor(), till_id, utcnow())
    except GatewayError as error:
        return _failed(error)
    name = unlock.terminal.name or unlock.terminal.id
    if unlock.lifted_lock is None:
        flash(f"Till {name} was not locked: nothing to do.")
    else:
        flash(f"Till {name} was unlocked: it can scan cards again.")
    return redirect(url_for("console.stores_tills", code=code))

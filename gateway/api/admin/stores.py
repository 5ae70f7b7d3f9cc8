"""Admin API: stores (list, create, edit) and their tills (list, create with the key shown
once, revoke, unlock). Admin and marketer keys change them; support keys may read."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from gateway.api.admin.blueprint import (
    api_actor,
    body_fields,
    bp,
    page_answer,
    page_params,
    scoped,
)
from gateway.api.admin.openapi import (
    PAGE_PARAMETERS,
    describe,
    errors,
    json_answer,
    json_request,
    page_of,
)
from gateway.models.base import utcnow
from gateway.runtime import request_session, runtime
from gateway.services.operate import stores

MANAGE = ("admin", "marketer")
READ = ("admin", "marketer", "support")
_COORDINATE = (float, type(None))
_EDITABLE: dict[str, Any] = {
    "name": str,
    "address": str,
    "timezone": str,
    "latitude": _COORDINATE,
    "longitude": _COORDINATE,
}


def _store(code: str) -> dict[str, Any]:
    return {"store": stores.store_view(stores.store_row(request_session(), code))}


def _till(till_id: int) -> dict[str, Any]:
    return stores.till_view(stores.find_till(request_session(), till_id), utcnow())


@bp.get("/stores")
@scoped(*READ)
def list_stores() -> ResponseReturnValue:
    """Every store, by code."""
    page = page_params()
    rows = stores.list_stores(request_session())
    chosen = rows[page.offset : page.offset + page.limit]
    return jsonify(page_answer([stores.store_view(row) for row in chosen], page, len(rows)))


@bp.post("/stores")
@scoped(*MANAGE)
def create_store() -> ResponseReturnValue:
    """A new store of a program."""
    body = body_fields({"code": str, "program": str}, _EDITABLE)
    store = stores.create_store(request_session(), api_actor(), body)
    return jsonify(_store(store.code)), 201


@bp.get("/stores/<code>")
@scoped(*READ)
def get_store(code: str) -> ResponseReturnValue:
    """One store."""
    return jsonify(_store(code))


@bp.patch("/stores/<code>")
@scoped(*MANAGE)
def edit_store(code: str) -> ResponseReturnValue:
    """Change some of a store's settings (the fields sent)."""
    body = body_fields({}, {"code": str, "program": str, **_EDITABLE})
    store = stores.edit_store(request_session(), api_actor(), code, body)
    return jsonify(_store(store.code))


@bp.get("/stores/<code>/tills")
@scoped(*READ)
def list_tills(code: str) -> ResponseReturnValue:
    """The store's tills, oldest first, with their last-seen time."""
    page = page_params()
    rows = stores.list_tills(request_session(), code)
    now = utcnow()
    chosen = rows[page.offset : page.offset + page.limit]
    return jsonify(page_answer([stores.till_view(row, now) for row in chosen], page, len(rows)))


@bp.post("/stores/<code>/tills")
@scoped(*MANAGE)
def create_till(code: str) -> ResponseReturnValue:
    """A new till; the answer holds its key, which is never shown again."""
    body = body_fields({}, {"name": str}) if request.get_data() else {}
    created = stores.create_till(request_session(), api_actor(), code, body.get("name", ""))
    link = stores.cashier_link(runtime().settings.public_base_url, created.key)
    response = jsonify(
        {"till": _till(created.terminal.id), "key": created.key, "cashier_url": link}
    )
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.post("/tills/<int:till_id>/revoke")
@scoped(*MANAGE)
def revoke_till(till_id: int) -> ResponseReturnValue:
    """Stop a till's key at once (again: no change)."""
    stores.revoke_till(request_session(), api_actor(), till_id)
    return jsonify({"till": _till(till_id)})


@bp.post("/tills/<int:till_id>/unlock")
@scoped(*MANAGE)
def unlock_till(till_id: int) -> ResponseReturnValue:
    """Lift a till's scan lock (too many wrong codes); `lifted_lock` is null when it was not
    locked."""
    unlock = stores.unlock_till(request_session(), api_actor(), till_id, utcnow())
    lifted = unlock.lifted_lock.isoformat() if unlock.lifted_lock is not None else None
    return jsonify({"till": _till(till_id), "lifted_lock": lifted})


_WHEN = {"type": ["string", "null"], "format": "date-time"}
_LATITUDE = {"type": ["number", "null"], "minimum": -90, "maximum": 90}
_LONGITUDE = {"type": ["number", "null"], "minimum": -180, "maximum": 180}
_CODE_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9-]*$", "maxLength": 32}
_TIMEZONE = {"type": "string", "description": "IANA name, e.g. Europe/Berlin (default UTC)."}
_STORE = {
    "type": "object",
    "required": ["code", "name", "program", "address", "timezone", "live_tills", "created_at"],
    "properties": {
        "code": _CODE_SCHEMA,
        "name": {"type": "string"},
        "program": {"type": "string", "description": "The program's slug."},
        "address": {"type": "string"},
        "timezone": _TIMEZONE,
        "latitude": _LATITUDE,
        "longitude": _LONGITUDE,
        "live_tills": {"type": "integer", "description": "Tills not revoked."},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
_TILL = {
    "type": "object",
    "required": ["id", "store", "name", "key_prefix", "state", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "store": {"type": "string", "description": "The store's code."},
        "name": {"type": "string"},
        "key_prefix": {"type": "string", "description": "The key's first characters."},
        "state": {"type": "string", "enum": ["active", "locked", "revoked"]},
        "locked_until": {**_WHEN, "description": "Set while locked by too many wrong codes."},
        "last_seen_at": {**_WHEN, "description": "Written at most once a minute by its calls."},
        "created_at": {"type": "string", "format": "date-time"},
        "revoked_at": _WHEN,
    },
}
_EDIT_PROPERTIES = {
    "name": {"type": "string", "maxLength": 120, "description": "Default: the code."},
    "address": {"type": "string", "maxLength": 300},
    "timezone": _TIMEZONE,
    "latitude": {**_LATITUDE, "description": "With longitude, or neither."},
    "longitude": {**_LONGITUDE, "description": "With latitude, or neither."},
}
_ONE_STORE = {"type": "object", "required": ["store"], "properties": {"store": _STORE}}
_ONE_TILL = {"type": "object", "required": ["till"], "properties": {"till": _TILL}}
_CODE = {"name": "code", "in": "path", "required": True, "schema": _CODE_SCHEMA}
_TILL_ID = {"name": "till_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_TAGS = ["stores and tills"]

describe(
    "/stores",
    "get",
    {
        "summary": "List stores",
        "operationId": "listStores",
        "tags": _TAGS,
        "description": "Scope: admin, marketer or support. By code.",
        "parameters": PAGE_PARAMETERS,
        "responses": {"200": json_answer("A page of stores.", page_of(_STORE)), **errors(422)},
    },
)
describe(
    "/stores",
    "post",
    {
        "summary": "Create a store",
        "operationId": "createStore",
        "tags": _TAGS,
        "description": "Scope: admin or marketer. Audited (`store.created`).",
        "requestBody": json_request(
            {
                "type": "object",
                "required": ["code", "program"],
                "additionalProperties": False,
                "properties": {
                    "code": _CODE_SCHEMA,
                    "program": {"type": "string", "description": "The program's slug."},
                    **_EDIT_PROPERTIES,
                },
            }
        ),
        "responses": {"201": json_answer("The new store.", _ONE_STORE), **errors(400, 422)},
    },
)
describe(
    "/stores/{code}",
    "get",
    {
        "summary": "Get a store",
        "operationId": "getStore",
        "tags": _TAGS,
        "description": "Scope: admin, marketer or support.",
        "parameters": [_CODE],
        "responses": {"200": json_answer("The store.", _ONE_STORE), **errors(404)},
    },
)
describe(
    "/stores/{code}",
    "patch",
    {
        "summary": "Edit a store",
        "operationId": "editStore",
        "tags": _TAGS,
        "description": "Scope: admin or marketer. Fields not sent keep their value; the code and "
        "the program cannot change (422). Audited (`store.edited`, before and after).",
        "parameters": [_CODE],
        "requestBody": json_request(
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "code": {**_CODE_SCHEMA, "description": "Only the current code."},
                    "program": {"type": "string", "description": "Only the current program."},
                    **_EDIT_PROPERTIES,
                },
            }
        ),
        "responses": {"200": json_answer("The store.", _ONE_STORE), **errors(400, 404, 422)},
    },
)
describe(
    "/stores/{code}/tills",
    "get",
    {
        "summary": "List a store's tills",
        "operationId": "listTills",
        "tags": _TAGS,
        "description": "Scope: admin, marketer or support. Oldest first; keys are never shown.",
        "parameters": [_CODE, *PAGE_PARAMETERS],
        "responses": {"200": json_answer("A page of tills.", page_of(_TILL)), **errors(404, 422)},
    },
)
describe(
    "/stores/{code}/tills",
    "post",
    {
        "summary": "Create a till",
        "operationId": "createTill",
        "tags": _TAGS,
        "description": "Scope: admin or marketer. The answer holds the till's key once (only its "
        "hash is kept) and the cashier page's link with the key in the URL fragment. The body "
        "may be omitted. Audited (`terminal.created`).",
        "parameters": [_CODE],
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"name": {"type": "string", "maxLength": 120}},
                    }
                }
            },
        },
        "responses": {
            "201": json_answer(
                "The till, its key (send it as `Authorization: Bearer <key>` to /pos/v1) and the "
                "cashier page's link.",
                {
                    "type": "object",
                    "required": ["till", "key", "cashier_url"],
                    "properties": {
                        "till": _TILL,
                        "key": {"type": "string"},
                        "cashier_url": {"type": "string", "format": "uri"},
                    },
                },
            ),
            **errors(400, 404, 422),
        },
    },
)
describe(
    "/tills/{till_id}/revoke",
    "post",
    {
        "summary": "Revoke a till",
        "operationId": "revokeTill",
        "tags": _TAGS,
        "description": "Scope: admin or marketer. The key stops working at once; revoking a "
        "revoked till changes nothing. Audited (`terminal.revoked`).",
        "parameters": [_TILL_ID],
        "responses": {"200": json_answer("The till.", _ONE_TILL), **errors(404)},
    },
)
describe(
    "/tills/{till_id}/unlock",
    "post",
    {
        "summary": "Unlock a till",
        "operationId": "unlockTill",
        "tags": _TAGS,
        "description": "Scope: admin or marketer. Lifts the scan lock set by too many wrong "
        "codes; the wrong codes before it are not counted again. Audited (`terminal.unlocked`) "
        "when a lock was lifted.",
        "parameters": [_TILL_ID],
        "responses": {
            "200": json_answer(
                "The till and the lock end lifted (null: it was not locked).",
                {
                    "type": "object",
                    "required": ["till", "lifted_lock"],
                    "properties": {"till": _TILL, "lifted_lock": _WHEN},
                },
            ),
            **errors(404),
        },
    },
)

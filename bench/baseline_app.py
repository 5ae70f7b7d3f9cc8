"""The baselines of `bench.pos_http`, served by the same gunicorn settings as the gateway.

- POST /json: parse a JSON body and answer a small JSON object, no database. The gateway's
  figures are printed as ratios of it.
- POST /reference/one-trip and /reference/two-trips: the leanest hand-written endpoints that
  touch the database the way identify must: an indexed SELECT of a card by number and an INSERT
  of a row, autocommitted, on a bare psycopg connection per thread (no pool, no ORM, no
  checks), either as one statement (one round trip) or as a SELECT then an INSERT (two). They
  show what this machine allows for a request with one or two database round trips.
"""

from __future__ import annotations

import os
import secrets
import threading
from typing import Any

import psycopg
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

REFERENCE_TABLE = "bench_reference_writes"
REFERENCE_DSN_ENV = "BENCH_REFERENCE_DSN"

app = Flask(__name__)
_connections = threading.local()

_ONE_TRIP = (
    "WITH card AS (SELECT id FROM cards WHERE program_id = %(program)s AND number = %(number)s) "
    f"INSERT INTO {REFERENCE_TABLE} (card_id, token) SELECT id, %(token)s FROM card RETURNING id"
)
_READ = "SELECT id, status FROM cards WHERE program_id = %(program)s AND number = %(number)s"
_WRITE = f"INSERT INTO {REFERENCE_TABLE} (card_id, token) VALUES (%(card_id)s, %(token)s) RETURNING id"  # noqa: E501


def _connection() -> Any:
    conn = getattr(_connections, "conn", None)
    if conn is None:
        conn = psycopg.connect(os.environ[REFERENCE_DSN_ENV], autocommit=True)
        _connections.conn = conn
    return conn


def _card() -> dict[str, Any]:
    """The program and card number of a body {"program": id, "scan": "<number>-<code>"}."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    number = str(body.get("scan", "")).partition("-")[0]
    return {"program": int(body.get("program", 0)), "number": number}


@app.post("/json")
def json_endpoint() -> ResponseReturnValue:
    """Parse a JSON body and answer a small JSON object."""
    body = request.get_json(silent=True)
    return jsonify({"ok": True, "fields": len(body) if isinstance(body, dict) else 0})


@app.post("/reference/one-trip")
def one_trip() -> ResponseReturnValue:
    """The card SELECT and the INSERT in one statement."""
    with _connection().cursor() as cursor:
        cursor.execute(
            _ONE_TRIP, {**_card(), "token": secrets.token_hex(16)}, prepare=True
        )
        written = cursor.fetchall()
    return jsonify({"ok": bool(written)}), 200 if written else 404


@app.post("/reference/two-trips")
def two_trips() -> ResponseReturnValue:
    """The card SELECT, then the INSERT: two round trips."""
    with _connection().cursor() as cursor:
        cursor.execute(_READ, _card(), prepare=True)
        card = cursor.fetchone()
        if card is None:
            return jsonify({"ok": False}), 404
        cursor.execute(
            _WRITE, {"card_id": card[0], "token": secrets.token_hex(16)}, prepare=True
        )
        cursor.fetchall()
    return jsonify({"ok": True, "status": card[1]})


@app.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Readiness probe for the benchmark."""
    return jsonify({"status": "ok"})

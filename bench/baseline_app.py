"""The baseline of `bench.pos_http`: a bare Flask JSON endpoint with no database, served by the
same gunicorn settings as the gateway, so the gateway's figures can be read as ratios of it."""

from __future__ import annotations

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

app = Flask(__name__)


@app.post("/json")
def json_endpoint() -> ResponseReturnValue:
    """Parse a JSON body and answer a small JSON object."""
    body = request.get_json(silent=True)
    return jsonify({"ok": True, "fields": len(body) if isinstance(body, dict) else 0})


@app.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Readiness probe for the benchmark."""
    return jsonify({"status": "ok"})

"""Builds the runtime once at start-up: database, key ring, credentials, adapters."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

import gateway.services.delivery  # noqa: F401  (registers outbox handlers)
from gateway.adapters.registry import build_crm, build_notifier
from gateway.credentials import load_credentials
from gateway.db import make_engine, make_session_factory
from gateway.runtime import Runtime
from gateway.secret_box import SecretBox, load_or_create_dev_ring, parse_key_ring


def database_url(app: Flask) -> str:
    """The configured database, or SQLite in the instance folder."""
    url = str(app.config["DATABASE_URL"])
    return url or f"sqlite:///{Path(app.instance_path) / 'gateway.sqlite3'}"


def _secret_key(app: Flask) -> str:
    if app.config.get("SECRET_KEY"):
        return str(app.config["SECRET_KEY"])
    path = Path(app.instance_path) / "flask-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def build_runtime(app: Flask) -> Runtime:
    """Load everything that must be loaded once; fail start-up with a clear message otherwise."""
    app.config["SECRET_KEY"] = _secret_key(app)
    app.config["INSTANCE_PATH"] = app.instance_path
    ring_spec = str(app.config["SECRET_KEYS"]) or load_or_create_dev_ring(
        Path(app.instance_path) / "secret-keys"
    )
    engine = make_engine(database_url(app))
    sessions = make_session_factory(engine)
    config = dict(app.config)
    return Runtime(
        engine=engine,
        sessions=sessions,
        secret_box=SecretBox(parse_key_ring(ring_spec)),
        credentials=load_credentials(config, Path(app.instance_path)),
        crm=build_crm(config, sessions),
        notifier=build_notifier(config),
        config=config,
    )

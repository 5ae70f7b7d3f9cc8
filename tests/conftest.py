"""Shared fixtures: one database per run (SQLite, or PostgreSQL via GATEWAY_TEST_DATABASE_URL),
a throwaway certificate chain, and app factories; tables are emptied after every test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from gateway import create_app
from gateway.db import make_engine
from gateway.devcerts import generate_dev_chain
from gateway.migrate import upgrade_to_head
from gateway.models import Base
from gateway.runtime import Runtime, runtime
from gateway.secret_box import new_key_entry

AppFactory = Callable[..., Flask]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test database, migrated to head once per run."""
    url = os.environ.get("GATEWAY_TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    )
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade_to_head(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance folder with a dev certificate chain, shared by every app of the run."""
    path = tmp_path_factory.mktemp("instance")
    generate_dev_chain(path / "certs")
    return path


@pytest.fixture(scope="session")
def key_ring() -> str:
    """A secret-at-rest key ring for the run."""
    return new_key_entry("t1")


@pytest.fixture
def make_app(database_url: str, instance_dir: Path, key_ring: str) -> Iterator[AppFactory]:
    """Build apps with config overrides; their tables are emptied after the test."""
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        config: dict[str, Any] = {
            "TESTING": True,
            "INSTANCE_PATH": str(instance_dir),
            "DATABASE_URL": database_url,
            "SECRET_KEYS": key_ring,
            "SECRET_KEY": "test-secret",
            "PUBLIC_BASE_URL": "https://gateway.test",
        }
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield factory
    if apps:
        _empty_tables(runtime(apps[0]))
    for app in apps:
        runtime(app).close()


def _empty_tables(rt: Runtime) -> None:
    names = [table.name for table in Base.metadata.sorted_tables]
    with rt.engine.begin() as conn:
        if rt.engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(names):
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    """The gateway on the embedded defaults (built-in CRM, console notifier, no Google API)."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of `app`."""
    return app.test_client()

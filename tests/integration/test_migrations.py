"""The Alembic revisions build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from gateway.db import make_engine
from gateway.migrate import upgrade_to_head
from gateway.models import Base
from gateway.runtime import runtime


def test_migrated_schema_matches_the_models(app):
    with runtime(app).engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_a_database_url_with_percent_escapes_migrates(tmp_path):
    # A socket path or a password is percent-escaped in a URL; Alembic's config must not
    # read it as interpolation syntax.
    folder = tmp_path / "50%off"
    folder.mkdir()
    engine = make_engine(f"sqlite:///{folder / 'gateway.db'}")
    try:
        assert "%" in engine.url.render_as_string(hide_password=False)
        upgrade_to_head(engine)
        assert "programs" in inspect(engine).get_table_names()
    finally:
        engine.dispose()

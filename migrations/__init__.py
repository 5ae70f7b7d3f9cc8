"""Alembic revisions of the gateway schema."""

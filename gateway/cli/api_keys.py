"""`gateway api-keys ...`: admin API keys."""

from __future__ import annotations

from flask.cli import AppGroup

api_keys_group = AppGroup("api-keys", help="Admin API keys.")

"""`gateway programs ...`: programs from a JSON file, and the program kill switch."""

from __future__ import annotations

from flask.cli import AppGroup

programs_group = AppGroup("programs", help="Loyalty programs.")

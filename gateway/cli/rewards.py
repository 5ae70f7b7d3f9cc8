"""`gateway rewards ...`: the catalogue and its kill switches."""

from __future__ import annotations

from flask.cli import AppGroup

rewards_group = AppGroup("rewards", help="Rewards of a program.")

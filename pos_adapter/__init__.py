"""The till-facing side: POS protocol v1 blueprint, client SDK, vendor translation."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Plug the POS protocol into the gateway app."""

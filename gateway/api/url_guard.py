"""Refuse URLs with control characters before any handler reaches a query.

A NUL in a path segment or query value (a program slug, an enrollment or redemption id, an
image name) cannot be stored or even compared in PostgreSQL text. No identifier of ours contains
control characters, so such a path names nothing: 404 `not_found` (a code every contract already
lists, the POS card lookup included); such a query value is 400 `invalid_url`.
"""

from __future__ import annotations

import re

from flask import Flask, request

from gateway.domain.errors import GatewayError, not_found

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def install(app: Flask) -> None:
    """Check every request's path and query values first."""
    app.before_request(_check_url)


def _check_url() -> None:
    if _CONTROL.search(request.path):
        raise not_found("resource")
    if any(_CONTROL.search(value) for value in [*request.args.keys(), *request.args.values()]):
        raise GatewayError("invalid_url", "the query contains control characters", 400)

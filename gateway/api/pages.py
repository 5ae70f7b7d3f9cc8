"""Browser pages: the customers' enrollment page and the cashiers' till page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from gateway.domain.errors import GatewayError
from gateway.runtime import request_session, runtime
from gateway.services.issue.programs import find_program

bp = Blueprint("pages", __name__)


@bp.get("/enroll/<slug>")
def enroll_page(slug: str) -> ResponseReturnValue:
    """Contact + consents -> code -> "Add to Apple Wallet" / "Save to Google Wallet"."""
    program = find_program(request_session(), slug)
    if program is None:
        raise GatewayError("unknown_program", f"no program {slug!r}", 404)
    return render_template(
        "enroll.html", program=program, terms_version=runtime().settings.terms_version
    )


@bp.get("/cashier")
def cashier_page() -> ResponseReturnValue:
    """Scan -> customer, balance and rewards -> redeem or accrue, through the POS API.

    The till's key is typed in, or comes in the URL fragment (`/cashier#key=...`, the link of
    the QR code the console shows when it creates a till): the page keeps it and removes it
    from the address bar; a fragment never reaches the server."""
    return render_template("cashier.html")

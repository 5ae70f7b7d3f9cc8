"""The one error type every layer raises: a machine code, a human message, an HTTP status."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """An error a user can cause; rendered as {"error": {"code", "message", ...}}."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status
        self.field = field
        self.headers = headers or {}
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the error answer."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        error.update(self.details)
        return {"error": error}


def validation_error(field: str, message: str) -> GatewayError:
    """A 422 naming the offending field."""
    return GatewayError("validation_error", message, 422, field=field)


def not_found(what: str) -> GatewayError:
    """A 404 for an unknown resource."""
    return GatewayError("not_found", f"{what} not found", 404)


class UpstreamUnavailable(GatewayError):
    """A dependency outside the gateway (CRM, Google, APNs) did not answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, 503)

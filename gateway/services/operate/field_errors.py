"""Every invalid field of a form or admin API body at once, as one coded 422."""

from __future__ import annotations

from gateway.domain.errors import GatewayError


class FieldErrors(GatewayError):
    """422 `validation_error` with `fields`: {field name: message for operators}."""

    def __init__(self, fields: dict[str, str]) -> None:
        first = next(iter(fields))
        super().__init__(
            "validation_error",
            fields[first] if len(fields) == 1 else "Some fields need attention.",
            422,
            field=first,
            details={"fields": dict(fields)},
        )
        self.fields = dict(fields)


class Collector:
    """Collects field errors while a form is checked; `raise_if_any` at the end."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        """Keep the first message per field."""
        self.fields.setdefault(field, message)

    def raise_if_any(self) -> None:
        """Raise FieldErrors when anything was added."""
        if self.fields:
            raise FieldErrors(self.fields)

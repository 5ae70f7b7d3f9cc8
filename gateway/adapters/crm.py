"""The CRM port: what the gateway asks of, and tells, the retailer's member system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from gateway.domain.errors import UpstreamUnavailable


class CrmUnavailable(UpstreamUnavailable):
    """The CRM did not answer (or answered nonsense); nothing was created."""

    def __init__(self, message: str = "the CRM is not reachable; please try again shortly") -> None:
        super().__init__("crm_unavailable", message)


@dataclass(frozen=True, slots=True)
class CrmMemberRecord:
    """A member as the CRM holds it."""

    crm_id: str
    email: str | None
    phone: str | None
    name: str
    card_number: str | None
    balance: int
    tier: str
    discount_percent: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CrmMemberRecord:
        """Parse the HTTP CRM's member JSON; raises KeyError/ValueError on a malformed record."""
        return cls(
            crm_id=str(data["id"]),
            email=data.get("email"),
            phone=data.get("phone"),
            name=str(data.get("name") or ""),
            card_number=data.get("card_number"),
            balance=max(0, int(data.get("balance") or 0)),
            tier=str(data.get("tier") or ""),
            discount_percent=int(data.get("discount_percent") or 0),
        )


@dataclass(frozen=True, slots=True)
class NewMemberProfile:
    """What the gateway sends to create a member."""

    program: str
    email: str | None
    phone: str | None
    name: str
    locale: str


class CrmPort(Protocol):
    """Look up, create, and inform; every method raises CrmUnavailable when the CRM is down."""

    def find_member(
        self,
        program: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        card_number: str | None = None,
    ) -> CrmMemberRecord | None: ...

    def create_member(
        self, profile: NewMemberProfile, consents: dict[str, Any]
    ) -> CrmMemberRecord: ...

    def deliver_event(self, event_id: str, kind: str, payload: dict[str, Any]) -> None:
        """card.linked, card.unlinked, balance.changed; receivers dedupe by event id."""
        ...

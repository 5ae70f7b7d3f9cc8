"""The built-in CRM: member tables in the gateway's own database (the embedded default)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gateway.adapters.crm import CrmMemberRecord, CrmUnavailable, NewMemberProfile
from gateway.models.crm_builtin import CrmCardEvent, CrmMember
from passes.codes import new_card_number


def _record(row: CrmMember) -> CrmMemberRecord:
    return CrmMemberRecord(
        crm_id=str(row.id),
        email=row.email,
        phone=row.phone,
        name=row.name,
        card_number=row.card_number,
        balance=row.balance,
        tier=row.tier,
        discount_percent=row.discount_percent,
    )


class BuiltinCrm:
    """Behaves like a separate system: its own short transactions, never the caller's."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def find_member(
        self,
        program: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        card_number: str | None = None,
    ) -> CrmMemberRecord | None:
        """The member matching any of the given keys."""
        keys = []
        if email:
            keys.append(CrmMember.email == email)
        if phone:
            keys.append(CrmMember.phone == phone)
        if card_number:
            keys.append(CrmMember.card_number == card_number)
        if not keys:
            return None
        try:
            with self._sessions() as session:
                row = session.scalars(
                    select(CrmMember)
                    .where(CrmMember.program_slug == program, or_(*keys))
                    .order_by(CrmMember.id)
                    .limit(1)
                ).first()
                return _record(row) if row else None
        except OperationalError as exc:
            raise CrmUnavailable() from exc

    def create_member(self, profile: NewMemberProfile, consents: dict[str, Any]) -> CrmMemberRecord:
        """Create the member (a new card number); a concurrent twin returns the existing one."""
        try:
            with self._sessions() as session:
                row = CrmMember(
                    program_slug=profile.program,
                    email=profile.email,
                    phone=profile.phone,
                    name=profile.name,
                    card_number=new_card_number(),
                    consents=consents,
                )
                session.add(row)
                session.commit()
                return _record(row)
        except IntegrityError:
            found = self.find_member(profile.program, email=profile.email, phone=profile.phone)
            if found is None:
                raise
            return found
        except OperationalError as exc:
            raise CrmUnavailable() from exc

    def deliver_event(self, event_id: str, kind: str, payload: dict[str, Any]) -> None:
        """Record the event once (dedupe by event id) and keep the CRM record in step."""
        try:
            with self._sessions() as session:
                if session.scalar(select(CrmCardEvent.id).where(CrmCardEvent.event_id == event_id)):
                    return
                crm_id = payload.get("crm_member_id")
                member_id = int(crm_id) if crm_id and str(crm_id).isdigit() else None
                session.add(
                    CrmCardEvent(
                        event_id=event_id, crm_member_id=member_id, kind=kind, payload=payload
                    )
                )
                if member_id is not None and kind == "balance.changed":
                    row = session.get(CrmMember, member_id)
                    if row is not None:
                        row.balance = int(payload.get("balance", row.balance))
                        row.tier = str(payload.get("tier", row.tier))
                if member_id is not None and kind == "member.closed":
                    # The member asked to be forgotten: this CRM erases its contact data too.
                    row = session.get(CrmMember, member_id)
                    if row is not None:
                        row.email, row.phone, row.name = None, None, ""
                session.commit()
        except IntegrityError:
            return  # a concurrent delivery of the same event id won
        except OperationalError as exc:
            raise CrmUnavailable() from exc

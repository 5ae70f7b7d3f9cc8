"""The figures of "now" for a program: members, passes on phones, outstanding and soon-expiring
points, budget spent per reward. Each needs every member, pass or open bucket of the program,
so the rollup chore recomputes them from the raw rows into report_snapshots and the page reads
that (or computes them itself when no snapshot exists yet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gateway.models.apple_device import AppleRegistration
from gateway.models.card import Card, WalletPass
from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account, Member
from gateway.models.pos import Redemption
from gateway.models.program import Program, Reward
from gateway.models.report import ReportSnapshot

EXPIRING_WITHIN = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class ProgramState:
    """A program's figures at `taken_at` (`snapshot`: read from report_snapshots)."""

    taken_at: datetime
    members: int
    members_with_pass: int
    apple_active: int
    google_active: int
    outstanding_points: int
    expiring_points: int
    reward_spent: dict[int, int]
    snapshot: bool = False


def _count(session: Session, query: object) -> int:
    return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def compute_state(session: Session, program_id: int, now: datetime) -> ProgramState:
    """Every figure from the raw rows."""
    live_members = (Member.program_id == program_id, Member.erased_at.is_(None))
    members = _count(session, select(func.count()).where(*live_members))
    on_phone = or_(
        WalletPass.google_state == "saved",
        WalletPass.id.in_(select(AppleRegistration.pass_id)),
    )
    with_pass = _count(
        session,
        select(func.count(func.distinct(Member.id)))
        .join(Card, Card.member_id == Member.id)
        .join(WalletPass, WalletPass.card_id == Card.id)
        .where(*live_members, on_phone),
    )
    apple = _count(
        session,
        select(func.count(func.distinct(AppleRegistration.pass_id)))
        .join(WalletPass, WalletPass.id == AppleRegistration.pass_id)
        .join(Card, Card.id == WalletPass.card_id)
        .where(Card.program_id == program_id),
    )
    google = _count(
        session,
        select(func.count())
        .select_from(WalletPass)
        .join(Card, Card.id == WalletPass.card_id)
        .where(Card.program_id == program_id, WalletPass.google_state == "saved"),
    )
    outstanding = _count(
        session,
        select(func.coalesce(func.sum(Account.balance), 0))
        .join(Member, Member.id == Account.member_id)
        .where(Member.program_id == program_id),
    )
    expiring = _count(
        session,
        select(func.coalesce(func.sum(LedgerEntry.remaining), 0))
        .join(Account, Account.id == LedgerEntry.account_id)
        .join(Member, Member.id == Account.member_id)
        .where(
            Member.program_id == program_id,
            LedgerEntry.remaining > 0,
            LedgerEntry.expires_at > now,
            LedgerEntry.expires_at <= now + EXPIRING_WITHIN,
        ),
    )
    spent_rows = session.execute(
        select(Redemption.reward_id, func.sum(Redemption.points - Redemption.returned_points))
        .join(Reward, Reward.id == Redemption.reward_id)
        .where(Reward.program_id == program_id, Redemption.status.in_(("held", "captured")))
        .group_by(Redemption.reward_id)
    )
    spent = {int(reward): int(points or 0) for reward, points in spent_rows if reward is not None}
    return ProgramState(now, members, with_pass, apple, google, outstanding, expiring, spent)


def refresh_snapshots(session: Session, now: datetime) -> int:
    """Recompute every program's snapshot; the programs done."""
    program_ids = list(session.scalars(select(Program.id)))
    for program_id in program_ids:
        state = compute_state(session, program_id, now)
        row = session.get(ReportSnapshot, program_id) or ReportSnapshot(program_id=program_id)
        row.taken_at = now
        row.members, row.members_with_pass = state.members, state.members_with_pass
        row.apple_active, row.google_active = state.apple_active, state.google_active
        row.outstanding_points, row.expiring_points = (
            state.outstanding_points,
            state.expiring_points,
        )
        row.reward_spent = {str(reward): points for reward, points in state.reward_spent.items()}
        session.merge(row)
        session.commit()
    return len(program_ids)


def current_state(session: Session, program_id: int, now: datetime) -> ProgramState:
    """The program's snapshot when the chore has taken one, else computed now."""
    row = session.get(ReportSnapshot, program_id)
    if row is None:
        return compute_state(session, program_id, now)
    return ProgramState(
        row.taken_at,
        row.members,
        row.members_with_pass,
        row.apple_active,
        row.google_active,
        row.outstanding_points,
        row.expiring_points,
        {int(reward): int(points) for reward, points in row.reward_spent.items()},
        snapshot=True,
    )

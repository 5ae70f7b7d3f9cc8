"""The test factories produce a member whose passes carry valid one-time codes."""

from sqlalchemy import func, select

from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account
from gateway.runtime import runtime
from passes.codes import parse_scan
from tests.factories import enroll_member


def test_enrolled_member_has_balance_in_ledger_and_valid_scans(app):
    member = enroll_member(app, balance=2000)
    with runtime(app).sessions() as session:
        account = session.get(Account, member.account_id)
        ledger_sum = session.scalar(
            select(func.sum(LedgerEntry.points)).where(LedgerEntry.account_id == account.id)
        )
    assert account.balance == 2000 == ledger_sum
    assert parse_scan(member.apple_scan()).card_number == member.card_number
    assert parse_scan(member.google_scan()).card_number == member.card_number

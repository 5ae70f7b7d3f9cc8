"""Loading an existing member base from CSV into the built-in CRM, row by row."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.domain.contact import normalize_email, normalize_name, normalize_phone
from gateway.domain.errors import GatewayError
from gateway.models.crm_builtin import CrmMember
from passes.codes import is_valid_card_number

REQUIRED_COLUMNS = {"card_number", "balance"}


@dataclass
class ImportReport:
    """How many rows went in, and each rejected row with its line number and reason."""

    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _row_to_member(program: str, row: dict[str, str]) -> CrmMember:
    card = (row.get("card_number") or "").strip()
    if not is_valid_card_number(card):
        raise ValueError(f"card_number {card!r} is not 16 digits with a valid check digit")
    balance_text = (row.get("balance") or "0").strip()
    if not balance_text.isdigit():
        raise ValueError(f"balance {balance_text!r} is not a whole number >= 0")
    email = (row.get("email") or "").strip()
    phone = (row.get("phone") or "").strip()
    discount = (row.get("discount_percent") or "0").strip()
    if not discount.isdigit() or int(discount) > 100:
        raise ValueError(f"discount_percent {discount!r} is not 0-100")
    try:
        return CrmMember(
            program_slug=program,
            card_number=card,
            balance=int(balance_text),
            tier=(row.get("tier") or "").strip(),
            discount_percent=int(discount),
            email=normalize_email(email) if email else None,
            phone=normalize_phone(phone) if phone else None,
            name=normalize_name(row.get("name")),
        )
    except GatewayError as exc:
        raise ValueError(exc.message) from exc


def read_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """CSV rows with the line number each ends on; the header is checked before any row."""
    reader = csv.DictReader(lines)
    missing = REQUIRED_COLUMNS - set(reader.fieldnames or [])
    if missing:
        raise GatewayError(
            "validation_error", f"CSV header lacks {', '.join(sorted(missing))}", 422
        )
    return ((reader.line_num, row) for row in reader)


def import_rows(
    session: Session, program: str, rows: Iterable[tuple[int, dict[str, str]]]
) -> ImportReport:
    """Insert each valid row in its own savepoint; report the bad ones with their line number."""
    report = ImportReport()
    for line, row in rows:
        try:
            member = _row_to_member(program, row)
        except ValueError as exc:
            report.errors.append((line, str(exc)))
            continue
        try:
            with session.begin_nested():
                session.add(member)
        except IntegrityError:
            report.errors.append((line, "duplicate card number, e-mail or phone"))
            continue
        report.imported += 1
    session.commit()
    return report

"""Programs as operators run them: create and edit from a plain mapping (a console form or a
JSON body), with every bad field reported at once, versioned edits, an audit row per change and
the pass refresh when something that shows on passes changed.

Values may be strings (forms) or JSON numbers; `program_fields` gives the mapping an edit
accepts. Rows are built by gateway/services/issue/programs.py (the one builder, the demo's too).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.domain.errors import not_found
from gateway.models.card import Card, WalletPass
from gateway.models.member import Member
from gateway.models.program import Program, Reward, Tier
from gateway.services.issue.programs import (
    ProgramSpec,
    TierSpec,
    WalletIds,
    find_program,
)
from gateway.services.issue.programs import (
    create_program as build_program,
)
from gateway.services.operate.audit_trail import changed_fields, plain, record_change
from gateway.services.operate.field_errors import Collector, FieldErrors
from gateway.services.operate.pass_refresh import start_refresh
from gateway.services.operate.versions import claim_version

# Active ISO 4217 currency codes (no funds codes, no precious metals, no test codes).
_ISO_4217_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
    KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""
ISO_4217 = frozenset(_ISO_4217_CODES.split())

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
MAX_TIERS = 20
MAX_THRESHOLD = 1_000_000_000
MAX_RATE = Decimal(1000)
MAX_POINT_VALUE = Decimal(1000)
MAX_MULTIPLIER = Decimal(10)
MAX_VALIDITY_DAYS = 3650
CODE_DIGITS = (6, 10)
TOTP_PERIOD = (15, 120)

# What the form or body may carry; everything else is an unknown field.
FIELDS = (
    "slug",
    "name",
    "organization",
    "points_label",
    "currency",
    "points_per_currency_unit",
    "point_value",
    "points_validity_days",
    "totp_digits",
    "totp_period_seconds",
    "background_color",
    "foreground_color",
    "label_color",
    "terms_url",
    "support_url",
    "terms_text",
    "tiers",
)
REQUIRED_ON_CREATE = ("slug", "name", "organization", "currency")
# Fields every issued pass shows: an edit of one of them refreshes the passes.
PASS_FIELDS = frozenset(
    {
        "name",
        "organization",
        "points_label",
        "background_color",
        "foreground_color",
        "label_color",
        "terms_url",
        "support_url",
        "terms_text",
    }
)
CODE_FIELDS = ("totp_digits", "totp_period_seconds")
_LABELS = {
    "slug": "Slug",
    "name": "Program name",
    "organization": "Organization",
    "points_label": "Points label",
    "currency": "Currency",
}
NEW_PROGRAM_DEFAULTS: dict[str, Any] = {
    "points_label": "Points",
    "points_per_currency_unit": "1",
    "point_value": "0.01",
    "points_validity_days": 365,
    "totp_digits": 8,
    "totp_period_seconds": 30,
    "background_color": "#1f2937",
    "foreground_color": "#ffffff",
    "label_color": "#d1d5db",
    "terms_url": "",
    "support_url": "",
    "terms_text": "",
    "tiers": [{"name": "Member", "threshold": 0, "earn_multiplier": "1", "discount_percent": "0"}],
}


@dataclass(frozen=True)
class TierInput:
    """A checked tier row; `id` names an existing tier of the program (a rename keeps members)."""

    name: str
    threshold: int
    earn_multiplier: Decimal
    discount_percent: Decimal
    id: int | None = None


@dataclass(frozen=True)
class ProgramSaved:
    """An edit's result: the program, the fields that changed, and the pass refresh it started
    (None when nothing on the passes changed)."""

    program: Program
    changed: tuple[str, ...]
    refresh_id: int | None


def number_text(value: Decimal) -> str:
    """A Decimal as plain text without trailing zeros: 1.2500 -> "1.25", 100 -> "100"."""
    return format(value.normalize(), "f")


def program_fields(program: Program) -> dict[str, Any]:
    """The editable fields of a program: exactly the mapping `edit_program` accepts."""
    return {
        "slug": program.slug,
        "name": program.name,
        "organization": program.organization,
        "points_label": program.points_label,
        "currency": program.currency,
        "points_per_currency_unit": number_text(program.points_per_currency_unit),
        "point_value": number_text(program.point_value),
        "points_validity_days": program.points_validity_days,
        "totp_digits": program.totp_digits,
        "totp_period_seconds": program.totp_period_seconds,
        "background_color": program.background_color,
        "foreground_color": program.foreground_color,
        "label_color": program.label_color,
        "terms_url": program.terms_url,
        "support_url": program.support_url,
        "terms_text": program.terms_text,
        "tiers": [
            {
                "id": tier.id,
                "name": tier.name,
                "threshold": tier.threshold,
                "earn_multiplier": number_text(tier.earn_multiplier),
                "discount_percent": number_text(tier.discount_percent),
            }
            for tier in sorted(program.tiers, key=lambda t: t.threshold)
        ],
    }


def list_programs(session: Session) -> list[Program]:
    """Every program by name."""
    return list(session.scalars(select(Program).order_by(Program.name, Program.id)))


def get_program(session: Session, slug: str) -> Program:
    """A program by slug; 404 `not_found` otherwise."""
    program = find_program(session, slug)
    if program is None:
        raise not_found(f"Program “{slug}”")
    return program


def has_issued_passes(session: Session, program_id: int) -> bool:
    """Whether any pass of the program exists (its code settings are then fixed)."""
    query = select(WalletPass.id).join(Card, Card.id == WalletPass.card_id)
    return bool(session.scalar(select(exists(query.where(Card.program_id == program_id)))))


def check_fields(data: Mapping[str, Any]) -> None:
    """422 with every bad field of `data` as an edit would check it (nothing is read)."""
    errors = Collector()
    _unknown(errors, data)
    _check(data, errors)
    errors.raise_if_any()


def create_program(
    session: Session, ids: WalletIds, actor: str, data: Mapping[str, Any]
) -> Program:
    """A new program from `data` (REQUIRED_ON_CREATE, the rest defaults). Commits.

    422 `validation_error` with every bad field, the slug's uniqueness included."""
    errors = Collector()
    _unknown(errors, data)
    for key in REQUIRED_ON_CREATE:
        if _blank(data.get(key)):
            errors.add(key, f"{_LABELS[key]} is required.")
    given = {key: value for key, value in data.items() if not _blank(value)}
    values = _check({**NEW_PROGRAM_DEFAULTS, **given}, errors)
    slug = values.get("slug")
    if isinstance(slug, str) and find_program(session, slug) is not None:
        errors.add("slug", "Another program already uses this slug: choose another.")
    errors.raise_if_any()
    tiers: list[TierInput] = values["tiers"]
    spec = ProgramSpec(
        slug=values["slug"],
        name=values["name"],
        organization=values["organization"],
        apple_pass_type_id=ids.apple_pass_type_id,
        apple_team_id=ids.apple_team_id,
        google_issuer_id=ids.google_issuer_id,
        background_color=values["background_color"],
        foreground_color=values["foreground_color"],
        label_color=values["label_color"],
        points_label=values["points_label"],
        totp_period_seconds=values["totp_period_seconds"],
        totp_digits=values["totp_digits"],
        terms_text=values["terms_text"],
        support_url=values["support_url"],
        terms_url=values["terms_url"],
        currency=values["currency"],
        point_value=values["point_value"],
        points_per_currency_unit=values["points_per_currency_unit"],
        points_validity_days=values["points_validity_days"],
        tiers=[TierSpec(t.name, t.threshold, t.earn_multiplier, t.discount_percent) for t in tiers],
    )
    program = build_program(session, spec)
    try:
        session.flush()
    except IntegrityError:
        # Another save took the slug between the check and this insert.
        session.rollback()
        raise FieldErrors(
            {"slug": "Another program already uses this slug: choose another."}
        ) from None
    after = program_fields(program)
    record_change(session, actor, "program.created", f"program:{program.slug}", after=after)
    session.commit()
    return program


def edit_program(
    session: Session,
    actor: str,
    slug: str,
    data: Mapping[str, Any],
    version: int,
) -> ProgramSaved:
    """Change the fields present in `data` of the program as it was at `version`. Commits.

    409 `edit_conflict` when someone saved after `version`; 422 with every bad field."""
    program = get_program(session, slug)
    errors = Collector()
    _unknown(errors, data)
    values = _check(data, errors)
    if "slug" in values and values["slug"] != program.slug:
        errors.add(
            "slug",
            "The slug cannot change: enrollment links, QR codes and tills already use it.",
        )
    locked = [k for k in CODE_FIELDS if k in values and values[k] != getattr(program, k)]
    if locked and has_issued_passes(session, program.id):
        for key in locked:
            errors.add(
                key,
                "This program has issued passes: they would show codes the tills refuse. "
                "Code settings can change only before the first pass is issued.",
            )
    tier_plan = None
    if isinstance(values.get("tiers"), list):
        tier_plan = _plan_tiers(session, program, values["tiers"], errors)
    errors.raise_if_any()

    before = program_fields(program)
    new_version = claim_version(session, Program, program.id, version, "This program")
    program.version = new_version
    for key, value in values.items():
        if key not in ("slug", "tiers"):
            setattr(program, key, value)
    if tier_plan is not None:
        _apply_tiers(session, program, tier_plan)
    session.flush()
    after = program_fields(program)
    before_changed, after_changed = changed_fields(plain(before), plain(after))
    changed = tuple(after_changed)
    if not changed:
        # A save of what is already there: no new version, no audit row, nothing to refresh.
        session.rollback()
        return ProgramSaved(program, (), None)
    record_change(
        session,
        actor,
        "program.edited",
        f"program:{program.slug}",
        before=before_changed,
        after=after_changed,
        version=new_version,
    )
    refresh_id = None
    if _shows_on_passes(before, after, changed):
        reason = "Program edited: " + ", ".join(changed)
        refresh_id = start_refresh(session, program, actor, reason[:120]).id
    session.commit()
    return ProgramSaved(program, changed, refresh_id)


def _shows_on_passes(
    before: Mapping[str, Any], after: Mapping[str, Any], changed: Sequence[str]
) -> bool:
    if PASS_FIELDS.intersection(changed):
        return True
    if "tiers" not in changed:
        return False

    def face(tiers: Any) -> list[tuple[str, str]]:
        # Passes show the tier's name and discount; thresholds and multipliers stay behind.
        return sorted((t["name"], t["discount_percent"]) for t in tiers)

    return face(before["tiers"]) != face(after["tiers"])


# --- checking the mapping ----------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _unknown(errors: Collector, data: Mapping[str, Any]) -> None:
    for key in data:
        if key not in FIELDS:
            errors.add(str(key), "Unknown field.")


def _check(data: Mapping[str, Any], errors: Collector) -> dict[str, Any]:
    """The checked value of every known key present in `data` (bad ones go to `errors`)."""
    checks = {
        "slug": _slug,
        "name": lambda v: _line(v, 120),
        "organization": lambda v: _line(v, 120),
        "points_label": lambda v: _line(v, 40),
        "currency": _currency,
        "points_per_currency_unit": lambda v: _decimal(v, Decimal(0), MAX_RATE, 4),
        "point_value": lambda v: _decimal(v, Decimal(0), MAX_POINT_VALUE, 4),
        "points_validity_days": lambda v: _whole(v, 1, MAX_VALIDITY_DAYS),
        "totp_digits": lambda v: _whole(v, *CODE_DIGITS),
        "totp_period_seconds": lambda v: _whole(v, *TOTP_PERIOD),
        "background_color": _color,
        "foreground_color": _color,
        "label_color": _color,
        "terms_url": lambda v: _url(v, ("https",)),
        "support_url": lambda v: _url(v, ("https", "mailto")),
        "terms_text": _terms_text,
    }
    values: dict[str, Any] = {}
    for key, check in checks.items():
        if key not in data:
            continue
        try:
            values[key] = check(data[key])
        except _Bad as bad:
            errors.add(key, str(bad))
    if "tiers" in data:
        tiers = _tiers(data["tiers"], errors)
        if tiers is not None:
            values["tiers"] = tiers
    return values


class _Bad(ValueError):
    """One field's problem, in words for operators."""


def _line(value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad("This field is required.")
    text = value.strip()
    if len(text) > limit:
        raise _Bad(f"Use at most {limit} characters.")
    if not text.isprintable():
        raise _Bad("Use one line of plain text.")
    return text


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value.strip()):
        raise _Bad(
            "Use 1 to 64 lowercase letters, digits and dashes (not at the start or end), "
            "e.g. coffee-club."
        )
    return value.strip()


def _currency(value: Any) -> str:
    text = value.strip().upper() if isinstance(value, str) else ""
    if text not in ISO_4217:
        raise _Bad("Choose a currency by its ISO 4217 code, e.g. EUR, USD or JPY.")
    return text


def _decimal(value: Any, low: Decimal, high: Decimal, places: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _Bad("Enter a number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _Bad("Enter a number, e.g. 1.5.") from None
    if not number.is_finite():
        raise _Bad("Enter a number, e.g. 1.5.")
    if number < low:
        raise _Bad("This cannot be negative." if low == 0 else f"Use at least {low}.")
    if number > high:
        raise _Bad(f"Use at most {high}: a larger value is almost certainly a typo.")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise _Bad(f"Use at most {places} decimals.")
    return number


def _whole(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise _Bad("Enter a whole number.")
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,12}\s*", value):
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise _Bad("Enter a whole number.")
    if not low <= number <= high:
        raise _Bad(f"Use a whole number from {low} to {high}.")
    return number


def _color(value: Any) -> str:
    if not isinstance(value, str) or not COLOR.fullmatch(value.strip()):
        raise _Bad("Use a color like #1f2937 (# and six hexadecimal digits).")
    return value.strip().lower()


def _url(value: Any, schemes: tuple[str, ...]) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    text = value.strip() if isinstance(value, str) else ""
    shown = " or ".join(f"{s}:" for s in schemes)
    if not text or len(text) > 300 or not text.isprintable() or " " in text:
        raise _Bad(f"Enter a web address of at most 300 characters starting with {shown}")
    parts = urlsplit(text)
    if parts.scheme not in schemes:
        raise _Bad(f"The address must start with {shown} (e.g. https://example.com/terms).")
    if parts.scheme == "https" and not parts.hostname:
        raise _Bad("The address has no host name, e.g. https://example.com/terms.")
    if parts.scheme == "mailto" and "@" not in parts.path:
        raise _Bad("Write an e-mail link as mailto:help@example.com.")
    return text


def _terms_text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad("Enter text.")
    text = value.strip().replace("\r\n", "\n")
    if len(text) > 2000:
        raise _Bad("Use at most 2000 characters.")
    if any(not (char.isprintable() or char in "\n\t") for char in text):
        raise _Bad("Use plain text (no control characters).")
    return text


def _tiers(value: Any, errors: Collector) -> list[TierInput] | None:
    """Checked tiers ordered by threshold; errors under `tiers` or `tiers[i].<field>`."""
    if not isinstance(value, list) or not value:
        errors.add("tiers", "Give at least one tier, starting at 0 points.")
        return None
    if len(value) > MAX_TIERS:
        errors.add("tiers", f"Use at most {MAX_TIERS} tiers.")
        return None
    tiers: list[TierInput] = []
    names: set[str] = set()
    thresholds: set[int] = set()
    ok = True
    for index, row in enumerate(value):
        where = f"tiers[{index}]"
        if not isinstance(row, Mapping):
            errors.add(where, "Each tier needs a name, threshold, multiplier and discount.")
            ok = False
            continue
        parsed: dict[str, Any] = {}
        for key, check in (
            ("name", lambda v: _line(v, 40)),
            ("threshold", lambda v: _whole(v, 0, MAX_THRESHOLD)),
            ("earn_multiplier", _multiplier),
            ("discount_percent", lambda v: _decimal(v, Decimal(0), Decimal(100), 2)),
        ):
            raw = row.get(key)
            if _blank(raw) and key in ("earn_multiplier", "discount_percent"):
                raw = "1" if key == "earn_multiplier" else "0"
            try:
                parsed[key] = check(raw)
            except _Bad as bad:
                errors.add(f"{where}.{key}", str(bad))
                ok = False
        for key in row:
            if key not in ("id", "name", "threshold", "earn_multiplier", "discount_percent"):
                errors.add(f"{where}.{key}", "Unknown field.")
                ok = False
        tier_id = row.get("id")
        if _blank(tier_id):
            tier_id = None
        elif isinstance(tier_id, str) and tier_id.strip().isdigit():
            tier_id = int(tier_id)
        elif isinstance(tier_id, bool) or not isinstance(tier_id, int):
            errors.add(f"{where}.id", "Unknown tier.")
            ok = False
            tier_id = None
        if "name" in parsed:
            if parsed["name"].casefold() in names:
                errors.add(f"{where}.name", "Two tiers cannot have the same name.")
                ok = False
            names.add(parsed["name"].casefold())
        if "threshold" in parsed:
            if parsed["threshold"] in thresholds:
                errors.add(f"{where}.threshold", "Two tiers cannot start at the same points.")
                ok = False
            thresholds.add(parsed["threshold"])
        if len(parsed) == 4:
            tiers.append(TierInput(id=tier_id, **parsed))
    if ok and 0 not in thresholds:
        errors.add("tiers", "The first tier must start at 0 points (where every member begins).")
        ok = False
    return sorted(tiers, key=lambda t: t.threshold) if ok else None


def _multiplier(value: Any) -> Decimal:
    number = _decimal(value, Decimal(0), MAX_MULTIPLIER, 3)
    if number == 0:
        raise _Bad("Use a multiplier above 0 (1 earns the base rate).")
    return number


# --- tiers: updates that keep members and rewards on their tier ---------------------------------


@dataclass(frozen=True)
class _TierPlan:
    keep: list[tuple[Tier, TierInput]]
    add: list[TierInput]
    remove: list[Tier]


def _plan_tiers(
    session: Session, program: Program, tiers: list[TierInput], errors: Collector
) -> _TierPlan | None:
    """Match rows to existing tiers (by id, else by name); refuse removing a tier in use."""
    by_id = {tier.id: tier for tier in program.tiers}
    by_name = {tier.name: tier for tier in program.tiers}
    keep: list[tuple[Tier, TierInput]] = []
    add: list[TierInput] = []
    matched: set[int] = set()
    for row in tiers:
        tier = by_id.get(row.id) if row.id is not None else by_name.get(row.name)
        if row.id is not None and tier is None:
            errors.add("tiers", f"Tier “{row.name}” is not one of this program's tiers.")
            return None
        if tier is None or tier.id in matched:
            add.append(row)
        else:
            matched.add(tier.id)
            keep.append((tier, row))
    remove = [tier for tier in program.tiers if tier.id not in matched]
    for tier in remove:
        members = session.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.program_id == program.id, Member.tier == tier.name)
        )
        if members:
            errors.add(
                "tiers",
                f"{members} member(s) are in tier “{tier.name}”: rename it instead of removing it.",
            )
        reward = session.scalar(
            select(Reward.name).where(Reward.program_id == program.id, Reward.min_tier == tier.name)
        )
        if reward is not None:
            errors.add(
                "tiers",
                f"Reward “{reward}” needs tier “{tier.name}”: change the reward first.",
            )
    return _TierPlan(keep, add, remove)


def _apply_tiers(session: Session, program: Program, plan: _TierPlan) -> None:
    for tier in plan.remove:
        program.tiers.remove(tier)
    session.flush()  # removed names are free before any tier takes them
    renames = [(tier, row) for tier, row in plan.keep if tier.name != row.name]
    # Two steps through placeholder names, so swapped names never collide on the unique index.
    for tier, _row in renames:
        _rename(session, program, tier.name, f"~{tier.id}")
        tier.name = f"~{tier.id}"
    session.flush()
    for tier, row in renames:
        _rename(session, program, tier.name, row.name)
    for tier, row in plan.keep:
        tier.name = row.name
        tier.threshold = row.threshold
        tier.earn_multiplier = row.earn_multiplier
        tier.discount_percent = row.discount_percent
    for row in plan.add:
        program.tiers.append(
            Tier(
                name=row.name,
                threshold=row.threshold,
                earn_multiplier=row.earn_multiplier,
                discount_percent=row.discount_percent,
            )
        )
    session.flush()
    session.refresh(program, ["tiers"])


def _rename(session: Session, program: Program, old: str, new: str) -> None:
    """Members and rewards of the program follow their tier's new name."""
    for model, column in ((Member, Member.tier), (Reward, Reward.min_tier)):
        session.execute(
            update(model)
            .where(model.program_id == program.id, column == old)
            .values({column.key: new})
            .execution_options(synchronize_session=False)
        )

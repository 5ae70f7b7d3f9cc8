"""A program's reward catalogue: create, edit (versioned) and retire rewards.

The console, the admin API and the CLI all call these functions. Input comes as a mapping of
raw values (form strings, JSON numbers or CLI options); every invalid field is reported at once
as FieldErrors, and nothing is written unless the whole change is valid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError, not_found
from gateway.models.base import utcnow
from gateway.models.program import Program, Reward, Tier
from gateway.services.operate.audit_trail import changed_fields, record_change
from gateway.services.operate.field_errors import Collector, FieldErrors
from gateway.services.operate.versions import claim_version

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Beyond these a value is a typo, not a catalogue decision.
MAX_COST = 10_000_000
MAX_STOCK = 10_000_000
MAX_DAILY_LIMIT = 1_000
MAX_BUDGET = 1_000_000_000_000
# Every field an operator sets, in form order (the code only at creation: tills use it).
FIELDS = (
    "code",
    "name",
    "cost_points",
    "stock",
    "per_member_daily_limit",
    "min_tier",
    "discount_percent",
    "budget_points",
)
EDITABLE = FIELDS[1:]


@dataclass(frozen=True)
class RewardValues:
    """A reward's settings, checked."""

    code: str
    name: str
    cost_points: int
    stock: int | None
    per_member_daily_limit: int | None
    min_tier: str | None
    discount_percent: Decimal | None
    budget_points: int | None

    def as_dict(self) -> dict[str, Any]:
        """Field name -> value (for the audit trail and the ORM row)."""
        return {name: getattr(self, name) for name in FIELDS}


def find_program(session: Session, slug: str) -> Program:
    """The program with this slug; 404 `not_found` otherwise."""
    program = session.scalar(select(Program).where(Program.slug == slug))
    if program is None:
        raise not_found(f"program {slug!r}")
    return program


def list_programs(session: Session) -> list[Program]:
    """Every program, by name."""
    return list(session.scalars(select(Program).order_by(Program.name, Program.id)))


def find_reward(session: Session, program: Program, code: str) -> Reward:
    """The program's reward with this code (retired ones too); 404 `not_found` otherwise."""
    reward = session.scalar(
        select(Reward).where(Reward.program_id == program.id, Reward.code == code)
    )
    if reward is None:
        raise not_found(f"reward {code!r}")
    return reward


def list_rewards(session: Session, slug: str) -> list[Reward]:
    """The program's rewards: offered ones by cost, then retired ones (newest retired first)."""
    program = find_program(session, slug)
    rewards = session.scalars(select(Reward).where(Reward.program_id == program.id)).all()
    live = sorted((r for r in rewards if r.retired_at is None), key=lambda r: (r.cost_points, r.id))
    retired = sorted(
        (r for r in rewards if r.retired_at is not None),
        key=lambda r: (r.retired_at, r.id),
        reverse=True,
    )
    return live + retired


def reward_view(reward: Reward) -> dict[str, Any]:
    """A reward as the admin API and the CLI show it (JSON-safe)."""
    budget_left = (
        max(reward.budget_points - reward.spent_points, 0)
        if reward.budget_points is not None
        else None
    )
    return {
        "code": reward.code,
        "name": reward.name,
        "cost_points": reward.cost_points,
        "stock": reward.stock,
        "per_member_daily_limit": reward.per_member_daily_limit,
        "min_tier": reward.min_tier,
        "discount_percent": (
            _plain_number(reward.discount_percent) if reward.discount_percent is not None else None
        ),
        "budget_points": reward.budget_points,
        "spent_points": reward.spent_points,
        "budget_left_points": budget_left,
        "enabled": reward.enabled,
        "retired": reward.retired_at is not None,
        "retired_at": reward.retired_at.isoformat() if reward.retired_at is not None else None,
        "version": reward.version,
    }


def _plain_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def create_reward(session: Session, actor: str, slug: str, data: Mapping[str, Any]) -> Reward:
    """Add a reward to the program's catalogue (enabled). Commits."""
    program = find_program(session, slug)
    values = _check(session, program, data, current=None)
    reward = Reward(program_id=program.id, **values.as_dict())
    session.add(reward)
    try:
        session.flush()
    except IntegrityError:
        # Another operator created the same code between the check and this insert.
        session.rollback()
        raise FieldErrors({"code": _code_taken_message()}) from None
    record_change(
        session,
        actor,
        "reward.created",
        f"reward:{reward.id}",
        after=values.as_dict(),
        program=program.slug,
        code=reward.code,
    )
    session.commit()
    return reward


def edit_reward(
    session: Session,
    actor: str,
    slug: str,
    code: str,
    version: Any,
    changes: Mapping[str, Any],
) -> Reward:
    """Change some of a reward's settings, based on the version the operator saw. Commits.

    Fields absent from `changes` keep their value. A save based on an older version than the
    stored one is 409 `edit_conflict` (the later of two concurrent saves)."""
    program = find_program(session, slug)
    reward = find_reward(session, program, code)
    expected = _version(version)
    if reward.retired_at is not None:
        raise reward_retired(reward)
    problems = Collector()
    if "code" in changes and str(changes["code"]).strip() != reward.code:
        problems.add("code", "The code cannot change: tills use it. Retire and create a new one.")
    unknown = sorted(set(changes) - set(FIELDS))
    for name in unknown:
        problems.add(name, "This field does not exist on a reward.")
    before = _current(reward)
    merged = {**before, **{k: v for k, v in changes.items() if k in EDITABLE}}
    values = _check(session, program, merged, current=reward, problems=problems)
    old, new = changed_fields(before, values.as_dict())
    new_version = claim_version(session, Reward, reward.id, expected, "This reward")
    for name, value in new.items():
        setattr(reward, name, value)
    reward.version = new_version
    if new:
        record_change(
            session,
            actor,
            "reward.edited",
            f"reward:{reward.id}",
            before=old,
            after=new,
            program=program.slug,
            code=reward.code,
            version=new_version,
        )
    session.commit()
    return reward


def retire_reward(session: Session, actor: str, slug: str, code: str) -> Reward:
    """Stop offering a reward for good (kept for the history of its redemptions). Retiring a
    retired reward changes nothing. Commits."""
    program = find_program(session, slug)
    reward = find_reward(session, program, code)
    now = utcnow()
    # Conditional: of two concurrent retires only one writes (and audits).
    retired = session.execute(
        update(Reward)
        .where(Reward.id == reward.id, Reward.retired_at.is_(None))
        .values(retired_at=now, version=Reward.version + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(retired, "rowcount", 0) == 1:
        record_change(
            session,
            actor,
            "reward.retired",
            f"reward:{reward.id}",
            before={"retired": False},
            after={"retired": True},
            program=program.slug,
            code=reward.code,
        )
    session.commit()
    session.refresh(reward)
    return reward


def reward_retired(reward: Reward) -> GatewayError:
    """409 `reward_retired`: a retired reward cannot be edited or switched on again."""
    return GatewayError(
        "reward_retired",
        f"{reward.name} was retired: it can no longer be changed. Create a new reward instead.",
        409,
    )


def _code_taken_message() -> str:
    return "Another reward of this program (possibly a retired one) already uses this code."


def _current(reward: Reward) -> dict[str, Any]:
    return {name: getattr(reward, name) for name in FIELDS}


def _version(value: Any) -> int:
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 1:
        raise FieldErrors({"version": "Send the version of the reward you edited (from the list)."})
    return value


def _check(
    session: Session,
    program: Program,
    data: Mapping[str, Any],
    *,
    current: Reward | None,
    problems: Collector | None = None,
) -> RewardValues:
    """Every field checked at once; FieldErrors naming each bad one."""
    found = problems or Collector()
    code = _text(data.get("code")).lower() if current is None else current.code
    if current is None:
        if not CODE_PATTERN.match(code):
            found.add(
                "code",
                "Use 1 to 64 lowercase letters, digits, dashes or underscores, starting with a "
                "letter or digit (tills send this code).",
            )
        elif session.scalar(
            select(Reward.id).where(Reward.program_id == program.id, Reward.code == code)
        ):
            found.add("code", _code_taken_message())
    name = _text(data.get("name"))
    if not name or len(name) > 120:
        found.add("name", "Give the reward a name of 1 to 120 characters (cashiers see it).")
    cost = _whole(found, "cost_points", data.get("cost_points"), 1, MAX_COST, required=True)
    stock = _whole(found, "stock", data.get("stock"), 0, MAX_STOCK)
    daily = _whole(
        found, "per_member_daily_limit", data.get("per_member_daily_limit"), 1, MAX_DAILY_LIMIT
    )
    min_tier = _text(data.get("min_tier")) or None
    if min_tier is not None:
        tiers = list(session.scalars(select(Tier.name).where(Tier.program_id == program.id)))
        if min_tier not in tiers:
            choices = ", ".join(tiers) if tiers else "none: this program has no tiers"
            found.add("min_tier", f"Choose one of the program's tiers ({choices}) or leave empty.")
    discount = _percent(found, data.get("discount_percent"))
    budget = _whole(found, "budget_points", data.get("budget_points"), 1, MAX_BUDGET)
    if budget is not None and cost is not None and budget < cost:
        found.add(
            "budget_points",
            "The budget must cover at least one redemption (at least the cost), or leave it empty "
            "for no budget.",
        )
    found.raise_if_any()
    assert cost is not None  # required: an error was raised otherwise
    return RewardValues(code, name, cost, stock, daily, min_tier, discount, budget)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_LABELS = {
    "cost_points": "The cost in points",
    "stock": "The stock",
    "per_member_daily_limit": "The daily limit per member",
    "budget_points": "The budget in points",
}


def _whole(
    found: Collector,
    field: str,
    value: Any,
    low: int,
    high: int,
    *,
    required: bool = False,
) -> int | None:
    """A whole number in [low, high]; None when left empty (and allowed to be)."""
    label = _LABELS[field]
    if _blank(value):
        if required:
            found.add(field, f"{label} is required.")
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value.strip()):
        number = int(value.strip())
    if number is None:
        found.add(field, f"{label} must be a whole number.")
        return None
    if not low <= number <= high:
        found.add(field, f"{label} must be between {low:,} and {high:,}.")
        return None
    return number


def _percent(found: Collector, value: Any) -> Decimal | None:
    """A discount percent in [0, 100] with at most two decimals; None when left empty."""
    if _blank(value):
        return None
    number: Decimal | None = None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        found.add("discount_percent", "The discount must be a number from 0 to 100.")
        return None
    if not Decimal(0) <= number <= Decimal(100) or number != number.quantize(Decimal("0.01")):
        found.add(
            "discount_percent", "The discount must be from 0 to 100, with at most two decimals."
        )
        return None
    return number

"""Points math: earning, proportional reversal, tiers and FIFO bucket consumption (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal


@dataclass(frozen=True, slots=True)
class TierRule:
    """A tier reached at `threshold` lifetime points."""

    name: str
    threshold: int
    earn_multiplier: Decimal
    discount_percent: Decimal


def accrual_points(total: Decimal, points_per_unit: Decimal, multiplier: Decimal) -> int:
    """floor(total x rate x tier multiplier); never negative."""
    if total <= 0:
        return 0
    return int((total * points_per_unit * multiplier).to_integral_value(rounding=ROUND_FLOOR))


def proportional_points(points: int, refunded_total: Decimal, order_total: Decimal | None) -> int:
    """The share of `points` that `refunded_total` of the order stands for (rounded down).

    An order whose total is unknown (or zero) counts as fully refunded.
    """
    if order_total is None or order_total <= 0 or refunded_total >= order_total:
        return points
    if refunded_total <= 0:
        return 0
    share = Decimal(points) * refunded_total / order_total
    return min(points, int(share.to_integral_value(rounding=ROUND_FLOOR)))


def tier_for(lifetime_points: int, tiers: Sequence[TierRule]) -> TierRule | None:
    """The highest tier whose threshold the lifetime points reach."""
    reached = [tier for tier in tiers if lifetime_points >= tier.threshold]
    return max(reached, key=lambda tier: tier.threshold) if reached else None


def tier_rank(name: str | None, tiers: Sequence[TierRule]) -> int:
    """Position of a tier by threshold (-1 for no or an unknown tier)."""
    ordered = sorted(tiers, key=lambda tier: tier.threshold)
    for index, tier in enumerate(ordered):
        if tier.name == name:
            return index
    return -1


def upgraded_tier(current: str, lifetime_points: int, tiers: Sequence[TierRule]) -> TierRule | None:
    """The tier earned by lifetime points if it is above the current one (tiers never drop here)."""
    earned = tier_for(lifetime_points, tiers)
    if earned is None or tier_rank(earned.name, tiers) <= tier_rank(current, tiers):
        return None
    return earned


def meets_min_tier(member_tier: str, min_tier: str | None, tiers: Sequence[TierRule]) -> bool:
    """Whether a member's tier is at least `min_tier` (no minimum: always)."""
    if not min_tier:
        return True
    return tier_rank(member_tier, tiers) >= tier_rank(min_tier, tiers) >= 0


def consume_fifo(buckets: Sequence[tuple[int, int]], points: int) -> list[tuple[int, int]]:
    """Spend `points` from (bucket id, remaining) pairs given oldest first; new remainders.

    Returns only the buckets that change. Raises ValueError if the buckets hold too little.
    """
    changes: list[tuple[int, int]] = []
    left = points
    for bucket_id, remaining in buckets:
        if left <= 0:
            break
        taken = min(remaining, left)
        if taken > 0:
            changes.append((bucket_id, remaining - taken))
            left -= taken
    if left > 0:
        raise ValueError("buckets hold fewer points than requested")
    return changes

"""Pure points math: earning, proportional reversal, tiers, FIFO consumption."""

from decimal import Decimal

import pytest

from gateway.domain.points import (
    TierRule,
    accrual_points,
    consume_fifo,
    meets_min_tier,
    proportional_points,
    tier_for,
    upgraded_tier,
)

TIERS = [
    TierRule("Silver", 1000, Decimal("1.25"), Decimal(5)),
    TierRule("Bronze", 0, Decimal(1), Decimal(0)),
    TierRule("Gold", 5000, Decimal("1.5"), Decimal(10)),
]


@pytest.mark.parametrize(
    ("total", "rate", "multiplier", "points"),
    [
        ("12.99", "1", "1", 12),
        ("100.00", "1", "1.25", 125),
        ("0.99", "1", "1.5", 1),
        ("0.66", "1", "1.5", 0),
        ("10", "2", "1.5", 30),
        ("0", "1", "1", 0),
        ("-5", "1", "1", 0),
        ("9999999.99", "1", "1.5", 14999999),
    ],
)
def test_accrual_points_floor(total, rate, multiplier, points):
    assert accrual_points(Decimal(total), Decimal(rate), Decimal(multiplier)) == points


def test_proportional_points():
    assert proportional_points(100, Decimal("25"), Decimal("100")) == 25
    assert proportional_points(100, Decimal("33.33"), Decimal("100")) == 33
    assert proportional_points(7, Decimal("100"), Decimal("100")) == 7
    assert proportional_points(7, Decimal("150"), Decimal("100")) == 7
    assert proportional_points(7, Decimal("0"), Decimal("100")) == 0
    assert proportional_points(7, Decimal("5"), None) == 7  # unknown total: all
    assert proportional_points(7, Decimal("5"), Decimal("0")) == 7
    # cumulative shares never drift: 3 x one third == all
    shares = [proportional_points(10, Decimal(n), Decimal(3)) for n in (1, 2, 3)]
    assert shares == [3, 6, 10]


def test_tiers():
    assert tier_for(0, TIERS).name == "Bronze"
    assert tier_for(999, TIERS).name == "Bronze"
    assert tier_for(1000, TIERS).name == "Silver"
    assert tier_for(10**9, TIERS).name == "Gold"
    assert tier_for(5, [TierRule("Silver", 10, Decimal(1), Decimal(0))]) is None
    assert upgraded_tier("Bronze", 1200, TIERS).name == "Silver"
    assert upgraded_tier("Gold", 1200, TIERS) is None  # never down
    assert upgraded_tier("Silver", 1200, TIERS) is None
    assert upgraded_tier("", 0, TIERS).name == "Bronze"
    assert meets_min_tier("Gold", "Silver", TIERS)
    assert meets_min_tier("Silver", "Silver", TIERS)
    assert not meets_min_tier("Bronze", "Silver", TIERS)
    assert meets_min_tier("Bronze", None, TIERS)
    assert not meets_min_tier("Gold", "Platinum", TIERS)  # unknown minimum: nobody


def test_consume_fifo():
    buckets = [(1, 100), (2, 0), (3, 50), (4, 500)]
    assert consume_fifo(buckets, 120) == [(1, 0), (3, 30)]
    assert consume_fifo(buckets, 650) == [(1, 0), (3, 0), (4, 0)]
    assert consume_fifo(buckets, 0) == []
    with pytest.raises(ValueError, match="fewer points"):
        consume_fifo(buckets, 651)

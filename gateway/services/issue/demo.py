"""The demo program: tiers, rewards, images, and a few existing CRM members to digitize."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models.crm_builtin import CrmMember
from gateway.models.program import Program
from gateway.runtime import Runtime
from gateway.services.issue.programs import (
    ProgramSpec,
    RewardSpec,
    TierSpec,
    create_program,
    find_program,
    wallet_ids,
)
from passes.codes import luhn_check_digit

DEMO_SLUG = "demo"
DEMO_MEMBERS = [
    # (email, phone, name, card body, balance, tier, discount)
    ("ana@example.com", "+15550000001", "Ana Lima", "700000000000001", 2000, "Gold", 10),
    ("ben@example.com", "+15550000002", "Ben Okafor", "700000000000002", 350, "Silver", 5),
    ("chen@example.com", "+15550000003", "Chen Wei", "700000000000003", 0, "Bronze", 0),
]


def demo_spec(rt: Runtime) -> ProgramSpec:
    """The demo program, with the wallet ids every program gets (`wallet_ids`)."""
    ids = wallet_ids(rt)
    return ProgramSpec(
        slug=DEMO_SLUG,
        name="Demo Rewards",
        organization="Demo Coffee Co.",
        apple_pass_type_id=ids.apple_pass_type_id,
        apple_team_id=ids.apple_team_id,
        google_issuer_id=ids.google_issuer_id,
        background_color="#3b2f2f",
        foreground_color="#fff8e7",
        label_color="#e0c9a6",
        points_label="Beans",
        tiers=[
            TierSpec("Bronze", 0),
            TierSpec("Silver", 1000, Decimal("1.25"), Decimal(5)),
            TierSpec("Gold", 5000, Decimal("1.5"), Decimal(10)),
        ],
        rewards=[
            RewardSpec("coffee", "Free coffee", 500),
            RewardSpec("pastry", "Pastry", 300),
            RewardSpec("mug", "Branded mug", 1500, stock=50),
        ],
    )


def ensure_demo(session: Session, rt: Runtime) -> tuple[Program, bool]:
    """Create the demo program and its CRM members once; (program, created)."""
    existing = find_program(session, DEMO_SLUG)
    if existing is not None:
        return existing, False
    program = create_program(session, demo_spec(rt))
    for email, phone, name, body, balance, tier, discount in DEMO_MEMBERS:
        card = body + luhn_check_digit(body)
        if session.scalar(select(CrmMember.id).where(CrmMember.card_number == card)) is None:
            session.add(
                CrmMember(
                    program_slug=DEMO_SLUG,
                    email=email,
                    phone=phone,
                    name=name,
                    card_number=card,
                    balance=balance,
                    tier=tier,
                    discount_percent=discount,
                )
            )
    session.commit()
    return program, True

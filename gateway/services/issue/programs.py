"""The one builder of a program's rows (the demo, the operator service and tests use it).

Validation of operator input lives in gateway/services/operate/programs.py, which builds a
ProgramSpec from a checked mapping and calls `create_program` here."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.demo_images import demo_images
from gateway.models.program import Program, ProgramImage, Reward, Tier
from gateway.runtime import Runtime

# The issuer of the development Google service account (GATEWAY_GOOGLE_ISSUER_ID unset).
DEV_GOOGLE_ISSUER_ID = "3388000000000000000"


@dataclass(frozen=True)
class WalletIds:
    """The wallet identifiers a program's passes carry (never typed by an operator)."""

    apple_pass_type_id: str
    apple_team_id: str
    google_issuer_id: str


def wallet_ids(rt: Runtime) -> WalletIds:
    """The pass type and team of the loaded Apple certificate, and the configured Google issuer
    (GATEWAY_GOOGLE_ISSUER_ID; the development issuer when unset)."""
    signer = rt.credentials.apple_signer
    issuer = rt.settings.google_issuer_id.strip() or DEV_GOOGLE_ISSUER_ID
    return WalletIds(signer.pass_type_id, signer.team_id, issuer)


@dataclass(frozen=True)
class TierSpec:
    """A tier: threshold (lifetime points), earn multiplier, discount percent."""

    name: str
    threshold: int
    earn_multiplier: Decimal = Decimal(1)
    discount_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class RewardSpec:
    """A catalogue reward."""

    code: str
    name: str
    cost_points: int
    stock: int | None = None


@dataclass(frozen=True)
class ProgramSpec:
    """Everything needed to create a program."""

    slug: str
    name: str
    organization: str
    apple_pass_type_id: str
    apple_team_id: str
    google_issuer_id: str
    background_color: str = "#1f2937"
    foreground_color: str = "#ffffff"
    label_color: str = "#d1d5db"
    points_label: str = "Points"
    totp_period_seconds: int = 30
    totp_digits: int = 8
    terms_text: str = "Points are valid for 12 months. Terms at the store."
    support_url: str = "https://example.com/support"
    terms_url: str = ""
    currency: str = "EUR"
    point_value: Decimal = Decimal("0.01")
    points_per_currency_unit: Decimal = Decimal(1)
    points_validity_days: int = 365
    tiers: list[TierSpec] = field(default_factory=list)
    rewards: list[RewardSpec] = field(default_factory=list)


def create_program(session: Session, spec: ProgramSpec) -> Program:
    """Create a program with generated images (caller commits)."""
    program = Program(
        slug=spec.slug,
        name=spec.name,
        organization=spec.organization,
        background_color=spec.background_color,
        foreground_color=spec.foreground_color,
        label_color=spec.label_color,
        points_label=spec.points_label,
        totp_period_seconds=spec.totp_period_seconds,
        totp_digits=spec.totp_digits,
        terms_text=spec.terms_text,
        support_url=spec.support_url,
        terms_url=spec.terms_url,
        currency=spec.currency,
        point_value=spec.point_value,
        points_per_currency_unit=spec.points_per_currency_unit,
        points_validity_days=spec.points_validity_days,
        apple_pass_type_id=spec.apple_pass_type_id,
        apple_team_id=spec.apple_team_id,
        google_issuer_id=spec.google_issuer_id,
        google_class_suffix=f"{spec.slug}-loyalty",
    )
    program.tiers = [
        Tier(
            name=t.name,
            threshold=t.threshold,
            earn_multiplier=t.earn_multiplier,
            discount_percent=t.discount_percent,
        )
        for t in spec.tiers
    ]
    program.rewards = [
        Reward(code=r.code, name=r.name, cost_points=r.cost_points, stock=r.stock)
        for r in spec.rewards
    ]
    program.images = [
        ProgramImage(name=name, content=content)
        for name, content in demo_images(
            spec.background_color, spec.foreground_color, spec.label_color
        ).items()
    ]
    session.add(program)
    return program


def find_program(session: Session, slug: str) -> Program | None:
    """A program by slug."""
    return session.scalar(select(Program).where(Program.slug == slug))

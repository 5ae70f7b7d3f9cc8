"""Google Wallet loyalty class and object bodies (plain dicts for the REST API)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from passes.codes import (
    MAX_CODE_DIGITS,
    MIN_CODE_DIGITS,
    SECRET_BYTES,
    format_scan,
    secret_hex,
)

TOTP_VALUE_PLACEHOLDER = "{totp_value_0}"
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_RESOURCE_ID = re.compile(r"[\w-]+\.[\w.-]+", re.ASCII)


def _check_resource_id(kind: str, value: str) -> None:
    if not _RESOURCE_ID.fullmatch(value):
        raise ValueError(f"{kind} must look like '<issuerId>.<suffix>', got {value!r}")


@dataclass(frozen=True, slots=True)
class LoyaltyClassContent:
    """What a program's loyalty class shows."""

    class_id: str
    issuer_name: str
    program_name: str
    logo_url: str
    background_color: str
    callback_url: str
    review_status: str = "UNDER_REVIEW"

    def __post_init__(self) -> None:
        _check_resource_id("class_id", self.class_id)
        if not _HEX_COLOR.fullmatch(self.background_color):
            raise ValueError("background_color must be '#rrggbb'")


def loyalty_class(content: LoyaltyClassContent) -> dict[str, Any]:
    """The loyaltyClass resource body for insert (or patch)."""
    return {
        "id": content.class_id,
        "issuerName": content.issuer_name,
        "programName": content.program_name,
        "programLogo": {"sourceUri": {"uri": content.logo_url}},
        "reviewStatus": content.review_status,
        "hexBackgroundColor": content.background_color.lower(),
        "callbackOptions": {"url": content.callback_url},
    }


@dataclass(frozen=True, slots=True)
class LoyaltyObjectContent:
    """What one member's loyalty object carries, including its TOTP secret."""

    object_id: str
    class_id: str
    state: str
    card_number: str
    member_name: str
    points_label: str
    balance: int
    tier: str
    discount_percent: int
    code_secret: bytes = field(repr=False)
    totp_period_seconds: int
    totp_digits: int

    def __post_init__(self) -> None:
        _check_resource_id("object_id", self.object_id)
        _check_resource_id("class_id", self.class_id)
        if len(self.code_secret) < SECRET_BYTES:
            raise ValueError(f"code_secret must be at least {SECRET_BYTES} bytes")
        if self.totp_period_seconds <= 0:
            raise ValueError("totp_period_seconds must be positive")
        if not MIN_CODE_DIGITS <= self.totp_digits <= MAX_CODE_DIGITS:
            raise ValueError(f"totp_digits must be {MIN_CODE_DIGITS}..{MAX_CODE_DIGITS}")


def _loyalty_points(content: LoyaltyObjectContent) -> dict[str, Any]:
    return {"label": content.points_label, "balance": {"int": content.balance}}


def _text_modules(content: LoyaltyObjectContent) -> list[dict[str, str]]:
    return [
        {"id": "tier", "header": "Tier", "body": content.tier},
        {"id": "discount", "header": "Discount", "body": f"{content.discount_percent}%"},
    ]


def _rotating_barcode(content: LoyaltyObjectContent) -> dict[str, Any]:
    return {
        "type": "QR_CODE",
        "valuePattern": format_scan(content.card_number, TOTP_VALUE_PLACEHOLDER),
        "alternateText": content.card_number,
        "totpDetails": {
            "algorithm": "TOTP_SHA1",
            "periodMillis": str(content.totp_period_seconds * 1000),
            "parameters": [
                {"key": secret_hex(content.code_secret), "valueLength": content.totp_digits}
            ],
        },
    }


def loyalty_object(content: LoyaltyObjectContent) -> dict[str, Any]:
    """The full loyaltyObject body for insert; the only place the secret leaves the gateway."""
    return {
        "id": content.object_id,
        "classId": content.class_id,
        "state": content.state,
        "accountId": content.card_number,
        "accountName": content.member_name,
        "loyaltyPoints": _loyalty_points(content),
        "rotatingBarcode": _rotating_barcode(content),
        "textModulesData": _text_modules(content),
        "passConstraints": {"screenshotEligibility": "INELIGIBLE"},
    }


def object_patch(content: LoyaltyObjectContent) -> dict[str, Any]:
    """The fields to PATCH when balance, tier or state change (never the secret)."""
    return {
        "state": content.state,
        "loyaltyPoints": _loyalty_points(content),
        "textModulesData": _text_modules(content),
    }

"""pass.json for a loyalty storeCard, built from plain data."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

MIN_AUTH_TOKEN_LENGTH = 16
_HEX_COLOR = re.compile(r"#([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})")


@dataclass(frozen=True, slots=True)
class StoreCardContent:
    """Everything one storeCard pass shows; colors are "#rrggbb"."""

    pass_type_id: str
    team_id: str
    serial: str
    organization: str
    description: str
    web_service_url: str
    authentication_token: str
    card_number: str
    barcode_message: str
    balance: int
    points_label: str
    tier: str
    member_name: str
    discount_percent: int
    background_color: str
    foreground_color: str
    label_color: str
    terms: str
    support_url: str
    change_message: str = "Balance: %@"
    # ISO 8601 time of the last accepted scan; when it changes, Wallet shows
    # last_used_message on the lock screen even if the balance did not move.
    last_used: str = ""
    last_used_message: str = "Card used: %@"


def css_rgb(color: str) -> str:
    """Convert "#rrggbb" to the "rgb(r, g, b)" form pass.json wants."""
    match = _HEX_COLOR.fullmatch(color.strip())
    if match is None:
        raise ValueError(f"color {color!r} is not #rrggbb")
    red, green, blue = (int(part, 16) for part in match.groups())
    return f"rgb({red}, {green}, {blue})"


def _check(content: StoreCardContent) -> None:
    """Reject content Wallet would refuse or mis-render."""
    if len(content.authentication_token) < MIN_AUTH_TOKEN_LENGTH:
        raise ValueError(
            f"authentication_token must be at least {MIN_AUTH_TOKEN_LENGTH} characters"
        )
    if "%@" not in content.change_message:
        raise ValueError("change_message must contain %@")
    if content.last_used and "%@" not in content.last_used_message:
        raise ValueError("last_used_message must contain %@")
    try:
        content.barcode_message.encode("iso-8859-1")
    except UnicodeEncodeError:
        raise ValueError("barcode_message must be ISO-8859-1 text") from None
    for name in ("pass_type_id", "team_id", "serial", "organization", "description"):
        if not getattr(content, name):
            raise ValueError(f"{name} must not be empty")


def store_card_pass_json(content: StoreCardContent) -> dict[str, Any]:
    """The pass.json dictionary (Apple's PassKit format version 1)."""
    _check(content)
    barcode = {
        "format": "PKBarcodeFormatQR",
        "message": content.barcode_message,
        "messageEncoding": "iso-8859-1",
        "altText": content.card_number,
    }
    back_fields: list[dict[str, Any]] = [
        {"key": "card_number", "label": "Card number", "value": content.card_number},
    ]
    if content.last_used:
        back_fields.append(
            {
                "key": "last_used",
                "label": "Last used",
                "value": content.last_used,
                "dateStyle": "PKDateStyleMedium",
                "timeStyle": "PKDateStyleShort",
                "changeMessage": content.last_used_message,
            }
        )
    back_fields.append({"key": "terms", "label": "Terms", "value": content.terms})
    if content.support_url:
        link = html.escape(content.support_url, quote=True)
        back_fields.append(
            {
                "key": "support",
                "label": "Support",
                "value": content.support_url,
                "attributedValue": f'<a href="{link}">{link}</a>',
            }
        )
    return {
        "formatVersion": 1,
        "description": content.description,
        "organizationName": content.organization,
        "passTypeIdentifier": content.pass_type_id,
        "serialNumber": content.serial,
        "teamIdentifier": content.team_id,
        "webServiceURL": content.web_service_url,
        "authenticationToken": content.authentication_token,
        "barcodes": [barcode],
        "barcode": dict(barcode),
        "logoText": content.organization,
        "backgroundColor": css_rgb(content.background_color),
        "foregroundColor": css_rgb(content.foreground_color),
        "labelColor": css_rgb(content.label_color),
        "sharingProhibited": True,
        "storeCard": {
            "primaryFields": [
                {
                    "key": "balance",
                    "label": content.points_label,
                    "value": content.balance,
                    "changeMessage": content.change_message,
                }
            ],
            "secondaryFields": [
                {
                    "key": "tier",
                    "label": "Tier",
                    "value": content.tier,
                    "changeMessage": "Tier: %@",
                },
                {"key": "member", "label": "Member", "value": content.member_name},
            ],
            "auxiliaryFields": [
                {
                    "key": "discount",
                    "label": "Discount",
                    "value": content.discount_percent / 100,
                    "numberStyle": "PKNumberStylePercent",
                }
            ],
            "backFields": back_fields,
        },
    }

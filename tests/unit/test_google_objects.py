"""Google loyalty class/object bodies, and that the phone's TOTP matches the gateway's."""

from __future__ import annotations

import base64
import dataclasses

import pyotp
import pytest

from passes.codes import format_scan, luhn_check_digit, parse_scan, totp_code
from passes.google.objects import (
    LoyaltyClassContent,
    LoyaltyObjectContent,
    loyalty_class,
    loyalty_object,
    object_patch,
)

SECRET = bytes(range(1, 21))
CARD = "700000000001234" + luhn_check_digit("700000000001234")


def _content(**changes: object) -> LoyaltyObjectContent:
    base = LoyaltyObjectContent(
        object_id="3388000000012345678.member-42",
        class_id="3388000000012345678.coffee",
        state="ACTIVE",
        card_number=CARD,
        member_name="Ada Lovelace",
        points_label="Points",
        balance=120,
        tier="Gold",
        discount_percent=5,
        code_secret=SECRET,
        totp_period_seconds=30,
        totp_digits=8,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_rotating_barcode_fields() -> None:
    barcode = loyalty_object(_content())["rotatingBarcode"]
    assert barcode["type"] == "QR_CODE"
    assert barcode["valuePattern"] == f"{CARD}-{{totp_value_0}}"
    assert barcode["alternateText"] == CARD
    totp = barcode["totpDetails"]
    assert totp["algorithm"] == "TOTP_SHA1"
    assert totp["periodMillis"] == "30000"
    assert isinstance(totp["periodMillis"], str)
    [parameters] = totp["parameters"]
    assert parameters["valueLength"] == 8
    assert parameters["key"] == SECRET.hex()
    assert bytes.fromhex(parameters["key"]) == SECRET


def test_object_identity_and_constraints() -> None:
    body = loyalty_object(_content())
    assert body["id"] == "3388000000012345678.member-42"
    assert body["classId"] == "3388000000012345678.coffee"
    assert body["state"] == "ACTIVE"
    assert body["accountId"] == CARD
    assert body["accountName"] == "Ada Lovelace"
    assert body["loyaltyPoints"] == {"label": "Points", "balance": {"int": 120}}
    assert body["passConstraints"] == {"screenshotEligibility": "INELIGIBLE"}
    modules = {module["id"]: module["body"] for module in body["textModulesData"]}
    assert modules == {"tier": "Gold", "discount": "5%"}


@pytest.mark.parametrize(("period", "digits"), [(30, 8), (30, 6), (60, 10)])
@pytest.mark.parametrize("unix_time", [59, 1_111_111_109, 1_700_000_015, 2_000_000_000])
def test_phone_and_gateway_compute_the_same_code(period: int, digits: int, unix_time: int) -> None:
    body = loyalty_object(_content(totp_period_seconds=period, totp_digits=digits))
    details = body["rotatingBarcode"]["totpDetails"]
    parameters = details["parameters"][0]
    # What the phone does: decode the hex key, run RFC 6238 SHA-1 with Google's parameters.
    phone_key = base64.b32encode(bytes.fromhex(parameters["key"])).decode()
    phone = pyotp.TOTP(
        phone_key, digits=parameters["valueLength"], interval=int(details["periodMillis"]) // 1000
    )
    phone_code = phone.at(unix_time)
    assert phone_code == totp_code(SECRET, unix_time, period=period, digits=digits)
    rendered = body["rotatingBarcode"]["valuePattern"].replace("{totp_value_0}", phone_code)
    assert rendered == format_scan(CARD, phone_code)
    assert parse_scan(rendered).code == phone_code


def test_patch_carries_balance_tier_state_but_never_the_secret() -> None:
    patch = object_patch(_content(balance=5, tier="Silver", state="INACTIVE"))
    assert set(patch) == {"state", "loyaltyPoints", "textModulesData"}
    assert patch["loyaltyPoints"]["balance"] == {"int": 5}
    assert patch["state"] == "INACTIVE"
    assert SECRET.hex() not in repr(patch)


def test_secret_stays_out_of_repr() -> None:
    assert SECRET.hex() not in repr(_content())
    assert repr(SECRET) not in repr(_content())


@pytest.mark.parametrize(
    "changes",
    [
        {"code_secret": b"\x01" * 19},
        {"totp_digits": 5},
        {"totp_digits": 11},
        {"totp_period_seconds": 0},
        {"object_id": "no-issuer-prefix"},
        {"class_id": "3388.bad id"},
    ],
)
def test_rejects_invalid_content(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        _content(**changes)


def test_loyalty_class_body() -> None:
    content = LoyaltyClassContent(
        class_id="3388000000012345678.coffee",
        issuer_name="Bean There",
        program_name="Bean Points",
        logo_url="https://example.com/logo.png",
        background_color="#1A2B3C",
        callback_url="https://gateway.example.com/wallet/google/callback",
    )
    assert loyalty_class(content) == {
        "id": "3388000000012345678.coffee",
        "issuerName": "Bean There",
        "programName": "Bean Points",
        "programLogo": {"sourceUri": {"uri": "https://example.com/logo.png"}},
        "reviewStatus": "UNDER_REVIEW",
        "hexBackgroundColor": "#1a2b3c",
        "callbackOptions": {"url": "https://gateway.example.com/wallet/google/callback"},
    }


def test_loyalty_class_rejects_bad_color() -> None:
    with pytest.raises(ValueError):
        LoyaltyClassContent(
            class_id="3388000000012345678.coffee",
            issuer_name="Bean There",
            program_name="Bean Points",
            logo_url="https://example.com/logo.png",
            background_color="blue",
            callback_url="https://gateway.example.com/wallet/google/callback",
        )

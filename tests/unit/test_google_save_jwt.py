"""The skinny save JWT: signed by the service account, naming only the object."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from google.auth import crypt, jwt

from passes.google.save_jwt import SAVE_URL_PREFIX, SaveJwtSigner, SaveUrlTooLong
from tests.fakes.google_wallet_server import make_service_account

SECRET_HEX = bytes(range(1, 21)).hex()
OBJECT_ID = "3388000000012345678.member-42"
CLASS_ID = "3388000000012345678.coffee"
ORIGINS = ["https://shop.example.com", "https://gateway.example.com"]


def _service_account(kid: str) -> tuple[dict[str, str], str]:
    fake = make_service_account("https://oauth2.example.invalid/token")
    return {**fake.info, "private_key_id": kid}, fake.cert_pem


@pytest.fixture(scope="module")
def account() -> tuple[dict[str, str], str]:
    return _service_account("kid-1")


def _verify(token: str, certs: dict[str, str]) -> dict[str, Any]:
    """Check the RS256 signature with the cert for the header's kid, then return the claims.

    google.auth.jwt.decode(verify=True) insists on an `exp` claim, which Google's save JWT
    format does not define, so the signature is checked with google.auth.crypt directly.
    """
    header = jwt.decode_header(token)
    signed_section, signature = token.encode().rsplit(b".", 1)
    padded = signature + b"=" * (-len(signature) % 4)
    if not crypt.verify_signature(
        signed_section, base64.urlsafe_b64decode(padded), [certs[header["kid"]]]
    ):
        raise ValueError("bad signature")
    claims: dict[str, Any] = jwt.decode(token, verify=False)
    return claims


def test_claims_and_header(account: tuple[dict[str, str], str]) -> None:
    info, cert = account
    token = SaveJwtSigner(info, ORIGINS).save_jwt(OBJECT_ID, CLASS_ID)
    header = jwt.decode_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == "kid-1"
    claims = _verify(token, {"kid-1": cert})
    assert claims["iss"] == info["client_email"]
    assert claims["aud"] == "google"
    assert claims["typ"] == "savetowallet"
    assert isinstance(claims["iat"], int)
    assert claims["origins"] == ORIGINS
    assert claims["payload"] == {"loyaltyObjects": [{"id": OBJECT_ID, "classId": CLASS_ID}]}


def test_google_auth_decode_gets_past_the_signature(account: tuple[dict[str, str], str]) -> None:
    """jwt.decode checks the signature first; the only thing it then misses is `exp`."""
    info, cert = account
    token = SaveJwtSigner(info, ORIGINS).save_jwt(OBJECT_ID, CLASS_ID)
    with pytest.raises(ValueError, match="exp"):
        # Proves decode got past signature checks and only trips over the absent exp claim.
        jwt.decode(token, certs={"kid-1": cert}, audience="google")


def test_no_secret_anywhere_in_token(account: tuple[dict[str, str], str]) -> None:
    info, _ = account
    token = SaveJwtSigner(info, ORIGINS).save_jwt(OBJECT_ID, CLASS_ID)
    decoded = b""
    for part in token.split(".")[:2]:
        decoded += base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    text = decoded.decode()
    assert SECRET_HEX not in text
    assert "rotatingBarcode" not in text and "totp" not in text.lower()
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["payload"]
    assert set(payload) == {"loyaltyObjects"}
    assert all(set(item) == {"id", "classId"} for item in payload["loyaltyObjects"])


def test_save_url_is_prefixed_and_short(account: tuple[dict[str, str], str]) -> None:
    info, _ = account
    url = SaveJwtSigner(info, ORIGINS).save_url(OBJECT_ID, CLASS_ID)
    assert url.startswith(SAVE_URL_PREFIX)
    assert len(url) < 1800


def test_too_long_url_is_refused(account: tuple[dict[str, str], str]) -> None:
    info, _ = account
    many_origins = [f"https://shop{n}.example.com" for n in range(60)]
    with pytest.raises(SaveUrlTooLong):
        SaveJwtSigner(info, many_origins).save_url(OBJECT_ID, CLASS_ID)


def test_token_from_another_key_fails_verification(account: tuple[dict[str, str], str]) -> None:
    _, cert = account
    impostor, _ = _service_account("kid-1")
    token = SaveJwtSigner(impostor, ORIGINS).save_jwt(OBJECT_ID, CLASS_ID)
    with pytest.raises(ValueError, match="signature"):
        _verify(token, {"kid-1": cert})
    with pytest.raises(ValueError, match="signature"):
        jwt.decode(token, certs={"kid-1": cert}, audience="google")

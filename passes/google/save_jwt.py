"""The "Add to Google Wallet" link: a skinny RS256 JWT that names an already-inserted object."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from google.auth import crypt, jwt

SAVE_URL_PREFIX = "https://pay.google.com/gp/v/save/"
MAX_SAVE_URL_LENGTH = 1800


class SaveUrlTooLong(ValueError):
    """The save link would exceed the length browsers and Google reliably accept."""


class SaveJwtSigner:
    """Signs save JWTs with the issuer's service-account key (loaded once)."""

    def __init__(self, service_account_info: Mapping[str, Any], origins: Sequence[str]) -> None:
        # google-auth ships py.typed but leaves these helpers unannotated.
        self._signer: crypt.Signer = crypt.RSASigner.from_service_account_info(  # type: ignore[no-untyped-call]
            service_account_info
        )
        self._issuer = str(service_account_info["client_email"])
        self._origins = [str(origin) for origin in origins]

    def save_jwt(self, object_id: str, class_id: str) -> str:
        """A JWT whose payload carries only the object's id and classId (never its secret)."""
        claims = {
            "iss": self._issuer,
            "aud": "google",
            "typ": "savetowallet",
            "iat": int(time.time()),
            "origins": self._origins,
            "payload": {"loyaltyObjects": [{"id": object_id, "classId": class_id}]},
        }
        token: bytes = jwt.encode(self._signer, claims)  # type: ignore[no-untyped-call]
        return token.decode("ascii")

    def save_url(self, object_id: str, class_id: str) -> str:
        """The save link; raises SaveUrlTooLong rather than hand out a link that may break."""
        url = SAVE_URL_PREFIX + self.save_jwt(object_id, class_id)
        if len(url) >= MAX_SAVE_URL_LENGTH:
            raise SaveUrlTooLong(f"save URL is {len(url)} characters (limit {MAX_SAVE_URL_LENGTH})")
        return url

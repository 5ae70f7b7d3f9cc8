"""Signs Google Wallet callbacks the way Google does (ECv2SigningOnly), with a test root key."""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from passes.google.callbacks import PROTOCOL, SENDER_ID, signed_bytes


def _spki_b64(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def _sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


class FakeGoogleCallbacks:
    """A root key (published as a key file) and an intermediate key it signed."""

    def __init__(self) -> None:
        self.root = ec.generate_private_key(ec.SECP256R1())
        self.intermediate = ec.generate_private_key(ec.SECP256R1())

    def write_root_keys(self, path: Path) -> Path:
        """Google's key-list format, for GATEWAY_GOOGLE_CALLBACK_ROOT_KEYS."""
        expires = int((time.time() + 86400) * 1000)
        document = {
            "keys": [
                {
                    "keyValue": _spki_b64(self.root),
                    "protocolVersion": PROTOCOL,
                    "keyExpiration": str(expires),
                }
            ]
        }
        path.write_text(json.dumps(document))
        return path

    def body(
        self,
        *,
        issuer_id: str,
        class_id: str,
        object_id: str,
        event_type: str = "save",
        nonce: str | None = None,
        message_ttl_ms: int = 60_000,
        key_ttl_ms: int = 3_600_000,
        root: ec.EllipticCurvePrivateKey | None = None,
    ) -> dict[str, Any]:
        """A callback body signed through the chain."""
        now = int(time.time() * 1000)
        signed_key = json.dumps(
            {"keyValue": _spki_b64(self.intermediate), "keyExpiration": str(now + key_ttl_ms)}
        )
        message = json.dumps(
            {
                "classId": class_id,
                "objectId": object_id,
                "eventType": event_type,
                "expTimeMillis": now + message_ttl_ms,
                "nonce": nonce or secrets.token_hex(8),
            }
        )
        return {
            "protocolVersion": PROTOCOL,
            "intermediateSigningKey": {
                "signedKey": signed_key,
                "signatures": [
                    _sign(root or self.root, signed_bytes(SENDER_ID, PROTOCOL, signed_key))
                ],
            },
            "signedMessage": message,
            "signature": _sign(
                self.intermediate, signed_bytes(SENDER_ID, issuer_id, PROTOCOL, message)
            ),
        }

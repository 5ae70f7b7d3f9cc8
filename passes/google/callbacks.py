"""Google Wallet callbacks: verify the ECv2SigningOnly signature chain and read the message.

Google signs an intermediate key with one of its root keys, and the message with the intermediate
key. Each signature covers length-prefixed fields (4-byte little-endian lengths): the sender
("GooglePayPasses"), for the message also the recipient (the issuer id), the protocol version, and
the signed key or message. ECDSA P-256 with SHA-256, DER signatures, base64.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

SENDER_ID = "GooglePayPasses"
PROTOCOL = "ECv2SigningOnly"


class CallbackRejected(ValueError):
    """The callback is not authentic, has expired, or is malformed; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RootKey:
    """A Google root signing key (from Google's published key list)."""

    public_key: ec.EllipticCurvePublicKey
    expires_ms: int | None


@dataclass(frozen=True, slots=True)
class CallbackMessage:
    """What the callback says: an object of a class was saved or deleted."""

    class_id: str
    object_id: str
    event_type: str  # save | del
    nonce: str
    expires_ms: int


def parse_root_keys(document: Mapping[str, Any]) -> list[RootKey]:
    """Read Google's `{"keys": [{"keyValue", "protocolVersion", "keyExpiration"}]}` list."""
    keys: list[RootKey] = []
    for entry in document.get("keys", []):
        if entry.get("protocolVersion") != PROTOCOL:
            continue
        key = load_der_public_key(base64.b64decode(entry["keyValue"]))
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("root keys must be EC public keys")
        expiration = entry.get("keyExpiration")
        keys.append(RootKey(key, int(expiration) if expiration else None))
    return keys


def signed_bytes(*fields: str) -> bytes:
    """The length-prefixed concatenation every ECv2 signature covers."""
    out = bytearray()
    for text in fields:
        data = text.encode()
        out += struct.pack("<I", len(data)) + data
    return bytes(out)


def _verifies(key: ec.EllipticCurvePublicKey, signature_b64: object, data: bytes) -> bool:
    if not isinstance(signature_b64, str):
        return False
    try:
        key.verify(base64.b64decode(signature_b64), data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def _json_object(text: object, what: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise CallbackRejected(f"{what} missing")
    try:
        value = json.loads(text)
    except ValueError:
        raise CallbackRejected(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise CallbackRejected(f"{what} is not an object")
    return value


def verify_callback(
    body: Mapping[str, Any], root_keys: Iterable[RootKey], recipient_id: str, now_ms: int
) -> CallbackMessage:
    """The verified message; CallbackRejected when anything in the chain does not hold."""
    if body.get("protocolVersion") != PROTOCOL:
        raise CallbackRejected("unsupported protocolVersion")
    intermediate = body.get("intermediateSigningKey")
    if not isinstance(intermediate, dict):
        raise CallbackRejected("intermediateSigningKey missing")
    signed_key = intermediate.get("signedKey")
    signatures = intermediate.get("signatures")
    if not isinstance(signed_key, str) or not isinstance(signatures, list):
        raise CallbackRejected("intermediateSigningKey malformed")
    key_data = signed_bytes(SENDER_ID, PROTOCOL, signed_key)
    live_roots = [r for r in root_keys if r.expires_ms is None or r.expires_ms > now_ms]
    if not any(_verifies(r.public_key, s, key_data) for r in live_roots for s in signatures):
        raise CallbackRejected("intermediate key not signed by a root key")
    key_fields = _json_object(signed_key, "signedKey")
    if int(key_fields.get("keyExpiration", 0) or 0) <= now_ms:
        raise CallbackRejected("intermediate key expired")
    try:
        intermediate_key = load_der_public_key(base64.b64decode(str(key_fields["keyValue"])))
    except (KeyError, ValueError, binascii.Error):
        raise CallbackRejected("intermediate key unreadable") from None
    if not isinstance(intermediate_key, ec.EllipticCurvePublicKey):
        raise CallbackRejected("intermediate key is not an EC key")
    signed_message = body.get("signedMessage")
    message_data = signed_bytes(SENDER_ID, recipient_id, PROTOCOL, str(signed_message))
    if not isinstance(signed_message, str) or not _verifies(
        intermediate_key, body.get("signature"), message_data
    ):
        raise CallbackRejected("message signature invalid")
    message = _json_object(signed_message, "signedMessage")
    try:
        parsed = CallbackMessage(
            class_id=str(message["classId"]),
            object_id=str(message["objectId"]),
            event_type=str(message["eventType"]),
            nonce=str(message["nonce"]),
            expires_ms=int(message["expTimeMillis"]),
        )
    except (KeyError, ValueError, TypeError):
        raise CallbackRejected("signedMessage lacks a field") from None
    if parsed.expires_ms <= now_ms:
        raise CallbackRejected("message expired")
    if parsed.event_type not in ("save", "del"):
        raise CallbackRejected("unknown eventType")
    return parsed

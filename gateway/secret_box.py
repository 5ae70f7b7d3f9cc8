"""Secrets at rest: AES-256-GCM with a key ring; each ciphertext names the key that sealed it."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_FORMAT = b"g1"
_NONCE_BYTES = 12


class SecretBoxError(Exception):
    """A ciphertext that no key in the ring can open."""


class SecretBox:
    """Seals with the first key of the ring; opens with whichever key the ciphertext names."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("the key ring is empty")
        for kid, key in keys:
            if not kid or len(kid.encode()) > 32 or len(key) != 32:
                raise ValueError(f"key {kid!r}: ids are 1-32 bytes and keys 32 bytes")
        self._primary_kid = keys[0][0]
        self._ciphers = {kid: AESGCM(key) for kid, key in keys}

    @property
    def primary_kid(self) -> str:
        """The id of the key new ciphertexts are sealed with."""
        return self._primary_kid

    def seal(self, plaintext: bytes, purpose: str) -> bytes:
        """Encrypt; `purpose` is bound as associated data so a ciphertext cannot be moved."""
        kid = self._primary_kid.encode()
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._ciphers[self._primary_kid].encrypt(nonce, plaintext, purpose.encode())
        return _FORMAT + bytes([len(kid)]) + kid + nonce + sealed

    def open(self, blob: bytes, purpose: str) -> bytes:
        """Decrypt a ciphertext sealed by any key in the ring."""
        kid, nonce, sealed = self._split(blob)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise SecretBoxError(f"no key {kid!r} in the ring")
        try:
            return cipher.decrypt(nonce, sealed, purpose.encode())
        except InvalidTag as exc:
            raise SecretBoxError("ciphertext failed authentication") from exc

    def key_id(self, blob: bytes) -> str:
        """The id of the key that sealed `blob`."""
        return self._split(blob)[0]

    @staticmethod
    def _split(blob: bytes) -> tuple[str, bytes, bytes]:
        if blob[:2] != _FORMAT or len(blob) < 3:
            raise SecretBoxError("not a sealed secret")
        kid_len = blob[2]
        kid = blob[3 : 3 + kid_len].decode()
        rest = blob[3 + kid_len :]
        return kid, rest[:_NONCE_BYTES], rest[_NONCE_BYTES:]


def parse_key_ring(spec: str) -> list[tuple[str, bytes]]:
    """Parse "kid:base64key,kid2:base64key" (first key encrypts)."""
    ring: list[tuple[str, bytes]] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kid, _, encoded = item.partition(":")
        ring.append((kid, base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))))
    return ring


def new_key_entry(kid: str) -> str:
    """A fresh "kid:base64key" entry for the ring."""
    return f"{kid}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip('=')}"


def load_or_create_dev_ring(path: Path) -> str:
    """The instance-folder key ring the embedded default uses; created on first start."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_key_entry("k1") + "\n")
        path.chmod(0o600)
    return path.read_text().strip()

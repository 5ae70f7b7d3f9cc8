"""Operator passwords: argon2id hashes (argon2-cffi's default parameters) and the length rules."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.domain.errors import validation_error

MIN_LENGTH = 12
# Long enough for any passphrase, short enough that hashing it stays cheap.
MAX_LENGTH = 256

_HASHER = PasswordHasher()
# Verified against when the e-mail is unknown, so both answers take as long.
_DUMMY_HASH = _HASHER.hash("not-a-password-of-anyone")


def check_new_password(password: str, confirm: str) -> None:
    """422 `validation_error` naming the field when a new password is not acceptable."""
    if len(password) < MIN_LENGTH:
        raise validation_error("password", f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise validation_error("password", f"Use at most {MAX_LENGTH} characters.")
    if password != confirm:
        raise validation_error("confirm", "The two passwords are not the same.")


def hash_password(password: str) -> str:
    """The argon2id hash of a password."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored` (a dummy hash is checked when there is none)."""
    too_long = len(password) > MAX_LENGTH
    try:
        matches = _HASHER.verify(stored or _DUMMY_HASH, password[:MAX_LENGTH])
    except (VerificationError, InvalidHashError):
        return False
    return matches and stored is not None and not too_long


def needs_rehash(stored: str) -> bool:
    """Whether the hash was made with older parameters than today's."""
    return _HASHER.check_needs_rehash(stored)

"""Card numbers, the v1 scan payload, and the one-time codes (TOTP for Google, HOTP for Apple).

Scan payload v1: ``<16-digit card number>-<code>``: digits and one ``-`` only, so it fits QR,
PDF417, Aztec and Code128 and can be keyed in. A future v2 will use another separator, which is
how the parser tells versions apart.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass

import pyotp

CARD_NUMBER_LENGTH = 16
SCAN_V1_SEPARATOR = "-"
MAX_SCAN_LENGTH = 64
MIN_CODE_DIGITS = 6
MAX_CODE_DIGITS = 10
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended minimum


class MalformedScan(ValueError):
    """The scan string is not a v1 payload (or its card number fails the check digit)."""


def luhn_check_digit(digits: str) -> str:
    """The Luhn digit that makes `digits + result` valid."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_card_number(number: str) -> bool:
    """Digits only, the fixed length, and a correct Luhn check digit."""
    return (
        len(number) == CARD_NUMBER_LENGTH
        and number.isascii()
        and number.isdigit()
        and luhn_check_digit(number[:-1]) == number[-1]
    )


def new_card_number(prefix: str = "7") -> str:
    """A random card number with the given prefix and a Luhn check digit."""
    body_length = CARD_NUMBER_LENGTH - 1 - len(prefix)
    body = prefix + "".join(secrets.choice("0123456789") for _ in range(body_length))
    return body + luhn_check_digit(body)


def new_code_secret() -> bytes:
    """A fresh per-pass secret: 160 random bits."""
    return secrets.token_bytes(SECRET_BYTES)


@dataclass(frozen=True, slots=True)
class ScanV1:
    """A parsed v1 scan: the card number and the one-time code."""

    card_number: str
    code: str


def format_scan(card_number: str, code: str) -> str:
    """The v1 payload a barcode carries."""
    return f"{card_number}{SCAN_V1_SEPARATOR}{code}"


def parse_scan(raw: str) -> ScanV1:
    """Parse a raw scanner string; reject anything that is not a well-formed v1 payload."""
    if not isinstance(raw, str) or len(raw) > MAX_SCAN_LENGTH:
        raise MalformedScan("scan is not a string of at most 64 characters")
    text = raw.strip()  # scanners often append CR/LF
    if not text.isascii():
        raise MalformedScan("scan contains non-ASCII characters")
    number, separator, code = text.partition(SCAN_V1_SEPARATOR)
    if not separator:
        raise MalformedScan("scan has no code separator")
    if not (number.isdigit() and code.isdigit()):
        raise MalformedScan("scan must be digits and one separator")
    if not MIN_CODE_DIGITS <= len(code) <= MAX_CODE_DIGITS:
        raise MalformedScan("code length out of range")
    if not is_valid_card_number(number):
        raise MalformedScan("card number fails its check digit")
    return ScanV1(number, code)


def _b32(secret: bytes) -> str:
    return base64.b32encode(secret).decode("ascii")


def secret_hex(secret: bytes) -> str:
    """The secret as base16, the form Google's rotatingBarcode expects."""
    return secret.hex()


def totp_code(secret: bytes, unix_time: int, *, period: int = 30, digits: int = 8) -> str:
    """RFC 6238 TOTP (SHA-1) at a given time."""
    return pyotp.TOTP(_b32(secret), digits=digits, interval=period).at(unix_time)


def hotp_code(secret: bytes, counter: int, *, digits: int = 8) -> str:
    """RFC 4226 HOTP (SHA-1) for a counter."""
    return pyotp.HOTP(_b32(secret), digits=digits).at(counter)


def match_totp(
    secret: bytes,
    code: str,
    unix_time: int,
    *,
    period: int = 30,
    digits: int = 8,
    backward_steps: int = 1,
    forward_steps: int = 0,
) -> int | None:
    """The time step whose code equals `code`, trying newest drift last; None if none matches.

    Every candidate is compared in constant time, so timing does not reveal which step was close.
    """
    totp = pyotp.TOTP(_b32(secret), digits=digits, interval=period)
    current = unix_time // period
    found: int | None = None
    for step in range(current - backward_steps, current + forward_steps + 1):
        candidate = totp.generate_otp(step)
        if hmac.compare_digest(candidate.encode(), code.encode()) and found is None:
            found = step
    return found


def match_hotp(secret: bytes, code: str, counter: int, *, digits: int = 8) -> bool:
    """Whether `code` is the HOTP for exactly `counter` (constant-time compare)."""
    return hmac.compare_digest(hotp_code(secret, counter, digits=digits).encode(), code.encode())

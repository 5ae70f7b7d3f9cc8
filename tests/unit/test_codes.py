"""One-time codes through the project's own code path: RFC vectors, Luhn and the v1 scan parser."""

import pytest

from passes.codes import (
    MalformedScan,
    format_scan,
    hotp_code,
    is_valid_card_number,
    luhn_check_digit,
    match_hotp,
    match_totp,
    parse_scan,
    totp_code,
)

RFC_SEED = b"12345678901234567890"

# RFC 6238 Appendix B, SHA1 rows.
TOTP_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]

# RFC 4226 Appendix D.
HOTP_VECTORS = ["755224", "287082", "359152", "969429", "338314",
                "254676", "287922", "162583", "399871", "520489"]


@pytest.mark.parametrize(("unix_time", "expected"), TOTP_VECTORS)
def test_rfc6238_sha1_vectors(unix_time, expected):
    assert totp_code(RFC_SEED, unix_time, period=30, digits=8) == expected
    assert match_totp(RFC_SEED, expected, unix_time, backward_steps=0) == unix_time // 30


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(HOTP_VECTORS)))
def test_rfc4226_hotp_vectors(counter, expected):
    assert hotp_code(RFC_SEED, counter, digits=6) == expected
    assert match_hotp(RFC_SEED, expected, counter, digits=6)
    assert not match_hotp(RFC_SEED, expected, counter + 1, digits=6)


def test_totp_window_accepts_one_step_back_and_the_configured_forward_skew():
    now = 1111111111
    previous = totp_code(RFC_SEED, now - 30)
    following = totp_code(RFC_SEED, now + 30)
    too_old = totp_code(RFC_SEED, now - 60)
    assert match_totp(RFC_SEED, previous, now) == now // 30 - 1
    assert match_totp(RFC_SEED, following, now) is None
    assert match_totp(RFC_SEED, following, now, forward_steps=1) == now // 30 + 1
    assert match_totp(RFC_SEED, too_old, now) is None


def test_luhn():
    assert luhn_check_digit("7992739871") == "3"  # the classic example 79927398713
    assert is_valid_card_number("700000000000001" + luhn_check_digit("700000000000001"))
    number = "700000000000001" + luhn_check_digit("700000000000001")
    for position in range(len(number)):
        wrong = number[:position] + str((int(number[position]) + 1) % 10) + number[position + 1:]
        assert not is_valid_card_number(wrong)  # any single-digit typo is caught
    assert not is_valid_card_number(number[:-1])
    assert not is_valid_card_number("\uff17" * 16)


def _number():
    body = "712345678901234"
    return body + luhn_check_digit(body)


def test_parse_scan_round_trip_and_scanner_line_endings():
    scan = parse_scan(format_scan(_number(), "12345678") + "\r\n")
    assert (scan.card_number, scan.code) == (_number(), "12345678")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "-",
        "garbage",
        "x" * 65,
        _number(),
        _number() + "-",
        _number() + "-12345",  # code too short
        _number() + "-12345678901",  # code too long
        _number() + "-1234a678",
        _number() + "-12-345678",
        _number()[:-1] + "0-12345678" if _number()[-1] != "0" else _number()[:-1] + "1-12345678",
        "٣" * 16 + "-12345678",
        _number() + "-\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",
        _number() + "—12345678",
        " " + _number() + " -12345678",
        _number() + "+12345678",
    ],
)
def test_parse_scan_rejects_malformed_payloads(raw):
    with pytest.raises(MalformedScan):
        parse_scan(raw)


def test_parse_scan_rejects_non_strings():
    for raw in (None, 12345678, b"7000000000000001-12345678"):
        with pytest.raises(MalformedScan):
            parse_scan(raw)  # type: ignore[arg-type]

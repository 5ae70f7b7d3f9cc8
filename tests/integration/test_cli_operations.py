"""Operator commands: member import with line-numbered errors, key rotation, start-up checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from gateway import create_app
from gateway.credentials import CredentialsError
from gateway.models import CrmMember, WalletPass
from gateway.runtime import runtime
from gateway.secret_box import SecretBox, new_key_entry, parse_key_ring
from tests.factories import demo_program, enroll_member

CSV = """card_number,balance,tier,email,phone,name,discount_percent
7000000000000104,1500,Silver,dora@example.com,,Dora Diaz,5
7000000000000105,10,Bronze,bad-row@example.com,,Bad Check Digit,0
7000000000000112,abc,Bronze,eve@example.com,,Eve,0
7000000000000120,0,Bronze,not-an-email,,Fay,0
7000000000000138,250,Gold,,+15550001111,Gus,10
7000000000000104,5,Bronze,dup@example.com,,Duplicate Card,0
"""


def test_member_import_reports_bad_rows_by_line_and_imports_the_rest(app, tmp_path: Path):
    demo_program(app)
    csv_file = tmp_path / "members.csv"
    csv_file.write_text(CSV)
    result = app.test_cli_runner().invoke(args=["members", "import", str(csv_file)])

    assert result.exit_code == 0, result.output
    assert "imported 2 member(s), 4 rejected" in result.output
    for line in ("line 3:", "line 4:", "line 5:", "line 7:"):
        assert line in result.output
    with runtime(app).sessions() as session:
        rows = session.scalars(
            select(CrmMember)
            .where(CrmMember.name != "")
            .where(CrmMember.card_number > "7000000000000100")
            .order_by(CrmMember.card_number)
        ).all()
    assert [(r.card_number, r.balance, r.tier) for r in rows] == [
        ("7000000000000104", 1500, "Silver"),
        ("7000000000000138", 250, "Gold"),
    ]


def test_member_import_with_a_header_missing_columns_fails_clearly(app, tmp_path: Path):
    demo_program(app)
    csv_file = tmp_path / "members.csv"
    csv_file.write_text("email,name\na@example.com,A\n")
    result = app.test_cli_runner().invoke(args=["members", "import", str(csv_file)])
    assert result.exit_code != 0
    assert "card_number" in (result.output + str(result.exception))


def test_key_rotation_reencrypts_every_secret_under_the_new_key(make_app, key_ring):
    app = make_app()
    member = enroll_member(app, balance=10)
    new_ring = new_key_entry("t2") + "," + key_ring
    rotated_app = make_app(SECRET_KEYS=new_ring)
    result = rotated_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 record(s) under key 't2'" in result.output

    box = SecretBox(parse_key_ring(new_ring))
    with runtime(rotated_app).sessions() as session:
        passes = session.scalars(select(WalletPass).order_by(WalletPass.wallet)).all()
    assert {box.key_id(p.code_secret) for p in passes} == {"t2"}
    apple = passes[0]
    assert box.open(apple.code_secret, f"pass:{apple.serial}:code") == member.apple_secret
    # The old key alone can no longer read them.
    old_only = SecretBox(parse_key_ring(key_ring))
    with pytest.raises(Exception, match="no key"):
        old_only.open(apple.code_secret, f"pass:{apple.serial}:code")


def test_start_up_stops_when_the_pass_type_id_does_not_match_the_certificate(
    database_url, instance_dir, key_ring
):
    with pytest.raises(CredentialsError, match=r"pass\.com\.other\.id"):
        create_app(
            {
                "INSTANCE_PATH": str(instance_dir),
                "DATABASE_URL": database_url,
                "SECRET_KEYS": key_ring,
                "APPLE_PASS_TYPE_ID": "pass.com.other.id",
            }
        )


def test_start_up_stops_when_a_certificate_file_is_missing(database_url, instance_dir, key_ring):
    with pytest.raises(CredentialsError, match=r"missing\.pem"):
        create_app(
            {
                "INSTANCE_PATH": str(instance_dir),
                "DATABASE_URL": database_url,
                "SECRET_KEYS": key_ring,
                "APPLE_PASS_CERT": "/nowhere/missing.pem",
                "APPLE_PASS_KEY": "/nowhere/key.pem",
                "APPLE_WWDR_CERT": "/nowhere/wwdr.pem",
            }
        )

"""The throwaway dev chain: Apple-shaped certificates and a usable Google service account."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask
from google.auth import crypt, jwt

from gateway.cli.certs import certs_group
from gateway.devcerts import DevCertPaths, dev_cert_paths, generate_dev_chain


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> DevCertPaths:
    return generate_dev_chain(tmp_path_factory.mktemp("devcerts"))


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def subject(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> object:
    return cert.subject.get_attributes_for_oid(oid)[0].value


def test_paths_are_where_generation_writes(chain: DevCertPaths) -> None:
    assert dev_cert_paths(chain.wwdr_cert.parent) == chain
    assert chain.wwdr_cert.name == "wwdr.pem"
    assert chain.pass_cert.name == "pass-cert.pem"
    assert chain.pass_key.name == "pass-key.pem"
    assert chain.google_service_account.name == "google-service-account.json"
    for path in (*chain.apple_files, *chain.google_files):
        assert path.is_file()


def test_private_files_are_owner_only(chain: DevCertPaths) -> None:
    for path in (chain.pass_key, chain.google_service_account):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_wwdr_is_a_self_signed_ca(chain: DevCertPaths) -> None:
    wwdr = load(chain.wwdr_cert)
    assert wwdr.issuer == wwdr.subject
    common_name = subject(wwdr, NameOID.COMMON_NAME)
    assert common_name == "Apple Worldwide Developer Relations Certification Authority"
    assert subject(wwdr, NameOID.ORGANIZATIONAL_UNIT_NAME) == "G4"
    assert wwdr.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    wwdr.verify_directly_issued_by(wwdr)


def test_pass_certificate_looks_like_apples(chain: DevCertPaths) -> None:
    cert, wwdr = load(chain.pass_cert), load(chain.wwdr_cert)
    cert.verify_directly_issued_by(wwdr)
    assert subject(cert, NameOID.USER_ID) == "pass.com.example.loyalty"
    assert subject(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == "DEVTEAM123"
    assert subject(cert, NameOID.COMMON_NAME) == "Pass Type ID: pass.com.example.loyalty"
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage
    assert cert.public_key().key_size == 2048  # type: ignore[union-attr]


def test_existing_files_are_kept_unless_forced(tmp_path: Path) -> None:
    first = generate_dev_chain(tmp_path)
    before = {path: path.read_bytes() for path in (*first.apple_files, *first.google_files)}
    generate_dev_chain(tmp_path, pass_type_id="pass.com.example.ignored")
    assert all(path.read_bytes() == data for path, data in before.items())
    generate_dev_chain(tmp_path, pass_type_id="pass.com.example.forced", force=True)
    assert first.pass_key.read_bytes() != before[first.pass_key]
    assert subject(load(first.pass_cert), NameOID.USER_ID) == "pass.com.example.forced"


def test_incomplete_google_set_is_regenerated_alone(tmp_path: Path) -> None:
    paths = generate_dev_chain(tmp_path)
    apple_before = paths.pass_cert.read_bytes()
    paths.google_service_account_cert.unlink()
    generate_dev_chain(tmp_path)
    assert paths.google_service_account_cert.is_file()
    assert paths.pass_cert.read_bytes() == apple_before


def test_service_account_layout(chain: DevCertPaths) -> None:
    account = json.loads(chain.google_service_account.read_text())
    assert account["type"] == "service_account"
    assert account["client_email"] == "wallet-dev@example-project.iam.gserviceaccount.com"
    assert account["project_id"] == "example-project"
    assert account["token_uri"] == "https://oauth2.googleapis.com/token"
    assert account["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert len(account["private_key_id"]) == 40


def test_google_jwt_verifies_with_dev_certificate(chain: DevCertPaths) -> None:
    account = json.loads(chain.google_service_account.read_text())
    signer = crypt.RSASigner.from_service_account_info(account)
    now = int(time.time())
    claims = {
        "iss": account["client_email"],
        "aud": "google",
        "typ": "savetowallet",
        "iat": now,
        "exp": now + 300,
        "origins": ["https://example.com"],
        "payload": {"loyaltyObjects": [{"id": "3388000000000000001.abc", "classId": "c"}]},
    }
    token = jwt.encode(signer, claims)
    header = jwt.decode_header(token)
    assert header["kid"] == account["private_key_id"]
    certs = {account["private_key_id"]: chain.google_service_account_cert.read_text()}
    decoded = jwt.decode(token, certs=certs, audience="google")
    assert decoded["payload"]["loyaltyObjects"][0]["classId"] == "c"


def test_google_jwt_from_another_key_is_rejected(chain: DevCertPaths, tmp_path: Path) -> None:
    other = json.loads(generate_dev_chain(tmp_path).google_service_account.read_text())
    account = json.loads(chain.google_service_account.read_text())
    now = int(time.time())
    token = jwt.encode(
        crypt.RSASigner.from_string(other["private_key"], account["private_key_id"]),
        {"iss": "x", "aud": "google", "iat": now, "exp": now + 300},
    )
    certs = {account["private_key_id"]: chain.google_service_account_cert.read_text()}
    with pytest.raises(ValueError, match="signature"):
        jwt.decode(token, certs=certs, audience="google")


def test_cli_writes_into_instance_certs(tmp_path: Path) -> None:
    app = Flask("cli-test", instance_path=str(tmp_path / "instance"))
    runner = CliRunner()
    with app.app_context():
        result = runner.invoke(certs_group, ["dev"])
        assert result.exit_code == 0, result.output
        key_before = (tmp_path / "instance" / "certs" / "pass-key.pem").read_bytes()
        forced = runner.invoke(certs_group, ["dev", "--force", "--team-id", "CLITEAM"])
    assert forced.exit_code == 0, forced.output
    assert str(tmp_path / "instance" / "certs" / "pass-cert.pem") in result.output
    key_after = (tmp_path / "instance" / "certs" / "pass-key.pem").read_bytes()
    assert key_after != key_before
    cert = load(tmp_path / "instance" / "certs" / "pass-cert.pem")
    assert subject(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == "CLITEAM"


def test_cli_without_app_context_uses_instance_path_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_INSTANCE_PATH", str(tmp_path / "inst"))
    result = CliRunner().invoke(certs_group, ["dev"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "inst" / "certs" / "wwdr.pem").is_file()

"""Start-up credential checks: each mistake is reported with the file and the problem."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from gateway.config import Settings
from gateway.credentials import Credentials, CredentialsError, load_credentials
from gateway.devcerts import DevCertPaths, generate_dev_chain


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> DevCertPaths:
    return generate_dev_chain(tmp_path_factory.mktemp("chain-a"))


@pytest.fixture(scope="session")
def other_chain(tmp_path_factory: pytest.TempPathFactory) -> DevCertPaths:
    return generate_dev_chain(tmp_path_factory.mktemp("chain-b"))


def config_for(chain: DevCertPaths, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "APPLE_PASS_CERT": str(chain.pass_cert),
        "APPLE_PASS_KEY": str(chain.pass_key),
        "APPLE_PASS_KEY_PASSWORD": "",
        "APPLE_WWDR_CERT": str(chain.wwdr_cert),
        "GOOGLE_SERVICE_ACCOUNT": str(chain.google_service_account),
    }
    config.update(overrides)
    return config


def load(config: dict[str, Any], instance_path: Path) -> Credentials:
    return load_credentials(Settings.from_mapping(config), instance_path)


def test_empty_config_generates_and_loads_dev_chain(tmp_path: Path) -> None:
    credentials = load({"APPLE_PASS_CERT": ""}, tmp_path)
    assert (tmp_path / "certs" / "pass-cert.pem").is_file()
    assert credentials.apple_signer.pass_type_id == "pass.com.example.loyalty"
    assert credentials.apple_signer.team_id == "DEVTEAM123"
    assert credentials.google_service_account["type"] == "service_account"
    again = load({}, tmp_path)
    assert again.apple_signer.certificate == credentials.apple_signer.certificate


def test_dev_chain_follows_configured_identifiers(tmp_path: Path) -> None:
    config = {"APPLE_PASS_TYPE_ID": "pass.com.example.other", "APPLE_TEAM_ID": "TEAM000001"}
    credentials = load(config, tmp_path)
    assert credentials.apple_signer.pass_type_id == "pass.com.example.other"
    assert credentials.apple_signer.team_id == "TEAM000001"


def test_configured_chain_loads(chain: DevCertPaths, tmp_path: Path) -> None:
    credentials = load(config_for(chain), tmp_path)
    assert credentials.apple_signer.pass_type_id == "pass.com.example.loyalty"
    assert credentials.google_service_account["client_email"].endswith(".gserviceaccount.com")
    assert not (tmp_path / "certs").exists()


def test_missing_file_is_named(chain: DevCertPaths, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "pass-cert.pem"
    with pytest.raises(CredentialsError, match="does not exist") as info:
        load(config_for(chain, APPLE_PASS_CERT=str(missing)), tmp_path)
    assert str(missing) in str(info.value)


def test_partial_apple_config_is_rejected(chain: DevCertPaths, tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="APPLE_PASS_KEY"):
        load(config_for(chain, APPLE_PASS_KEY=""), tmp_path)


def test_pass_type_id_mismatch_names_both_values(chain: DevCertPaths, tmp_path: Path) -> None:
    config = config_for(chain, APPLE_PASS_TYPE_ID="pass.com.example.wrong")
    with pytest.raises(CredentialsError) as info:
        load(config, tmp_path)
    message = str(info.value)
    assert str(chain.pass_cert) in message
    assert "pass.com.example.wrong" in message
    assert "pass.com.example.loyalty" in message


def test_team_id_mismatch_names_both_values(chain: DevCertPaths, tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="APPLE_TEAM_ID") as info:
        load(config_for(chain, APPLE_TEAM_ID="WRONGTEAM"), tmp_path)
    assert "WRONGTEAM" in str(info.value)
    assert "DEVTEAM123" in str(info.value)


def test_key_of_another_chain_is_rejected(
    chain: DevCertPaths, other_chain: DevCertPaths, tmp_path: Path
) -> None:
    config = config_for(chain, APPLE_PASS_KEY=str(other_chain.pass_key))
    with pytest.raises(CredentialsError, match="does not match") as info:
        load(config, tmp_path)
    assert str(other_chain.pass_key) in str(info.value)


def test_certificate_not_issued_by_wwdr_is_rejected(
    chain: DevCertPaths, other_chain: DevCertPaths, tmp_path: Path
) -> None:
    config = config_for(chain, APPLE_WWDR_CERT=str(other_chain.wwdr_cert))
    with pytest.raises(CredentialsError, match="not issued by") as info:
        load(config, tmp_path)
    assert str(other_chain.wwdr_cert) in str(info.value)


def test_der_certificate_gets_a_conversion_hint(chain: DevCertPaths, tmp_path: Path) -> None:
    der = tmp_path / "AppleWWDRCAG4.cer"
    wwdr = x509.load_pem_x509_certificate(chain.wwdr_cert.read_bytes())
    der.write_bytes(wwdr.public_bytes(serialization.Encoding.DER))
    with pytest.raises(CredentialsError, match=r"not a PEM certificate.*DER") as info:
        load(config_for(chain, APPLE_WWDR_CERT=str(der)), tmp_path)
    assert str(der) in str(info.value)


def test_encrypted_key_needs_its_password(chain: DevCertPaths, tmp_path: Path) -> None:
    key = serialization.load_pem_private_key(chain.pass_key.read_bytes(), password=None)
    encrypted = tmp_path / "pass-key-encrypted.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"correct horse"),
        )
    )
    config = config_for(chain, APPLE_PASS_KEY=str(encrypted))
    with pytest.raises(CredentialsError, match="APPLE_PASS_KEY_PASSWORD"):
        load(config, tmp_path)
    with pytest.raises(CredentialsError, match="APPLE_PASS_KEY_PASSWORD"):
        load({**config, "APPLE_PASS_KEY_PASSWORD": "wrong"}, tmp_path)
    credentials = load({**config, "APPLE_PASS_KEY_PASSWORD": "correct horse"}, tmp_path)
    assert credentials.apple_signer.team_id == "DEVTEAM123"


def _expired_chain(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a pass certificate whose validity ended yesterday."""
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Expired test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, "pass.com.example.expired"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "EXPIREDTM"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(days=20))
        .not_valid_after(now - dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "expired-cert.pem", folder / "expired-key.pem", folder / "ca.pem")
    paths[0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths[2].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return paths


def test_expired_certificate_is_rejected(chain: DevCertPaths, tmp_path: Path) -> None:
    cert, key, ca = _expired_chain(tmp_path)
    config = config_for(
        chain, APPLE_PASS_CERT=str(cert), APPLE_PASS_KEY=str(key), APPLE_WWDR_CERT=str(ca)
    )
    with pytest.raises(CredentialsError, match="expired") as info:
        load(config, tmp_path)
    assert str(cert) in str(info.value)


def _write_account(chain: DevCertPaths, folder: Path, **changes: Any) -> Path:
    account = json.loads(chain.google_service_account.read_text())
    for field, value in changes.items():
        if value is None:
            del account[field]
        else:
            account[field] = value
    path = folder / "service-account.json"
    path.write_text(json.dumps(account))
    return path


def test_service_account_without_private_key_is_rejected(
    chain: DevCertPaths, tmp_path: Path
) -> None:
    path = _write_account(chain, tmp_path, private_key=None)
    with pytest.raises(CredentialsError, match="private_key") as info:
        load(config_for(chain, GOOGLE_SERVICE_ACCOUNT=str(path)), tmp_path)
    assert str(path) in str(info.value)


def test_service_account_with_broken_key_is_rejected(
    chain: DevCertPaths, tmp_path: Path
) -> None:
    broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    path = _write_account(chain, tmp_path, private_key=broken)
    with pytest.raises(CredentialsError, match="cannot be parsed"):
        load(config_for(chain, GOOGLE_SERVICE_ACCOUNT=str(path)), tmp_path)


def test_service_account_that_is_not_json_is_rejected(
    chain: DevCertPaths, tmp_path: Path
) -> None:
    path = tmp_path / "service-account.json"
    path.write_text("client_email = nobody")
    with pytest.raises(CredentialsError, match="not JSON") as info:
        load(config_for(chain, GOOGLE_SERVICE_ACCOUNT=str(path)), tmp_path)
    assert str(path) in str(info.value)

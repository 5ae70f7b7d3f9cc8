"""Throwaway development credentials: a fake WWDR CA, a pass certificate and a Google key.

Nothing here is trusted by a real iPhone or by Google; the files only let the embedded
default issue real, verifiable, signed passes and JWTs without Apple or Google accounts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

WWDR_FILE = "wwdr.pem"
PASS_CERT_FILE = "pass-cert.pem"  # noqa: S105 (a file name, "pass" as in Wallet pass)
PASS_KEY_FILE = "pass-key.pem"  # noqa: S105
GOOGLE_SERVICE_ACCOUNT_FILE = "google-service-account.json"
GOOGLE_CERT_FILE = "google-service-account-cert.pem"
DEFAULT_PASS_TYPE_ID = "pass.com.example.loyalty"  # noqa: S105
DEFAULT_TEAM_ID = "DEVTEAM123"

# Apple's OIDs on real pass type certificates: the Pass Type ID extended key usage and the
# extension that carries the pass type identifier.
_APPLE_PASS_EKU = x509.ObjectIdentifier("1.2.840.113635.100.4.14")
_APPLE_PASS_TYPE_EXT = x509.ObjectIdentifier("1.2.840.113635.100.6.1.16")

_CA_YEARS = 10
_LEAF_YEARS = 3


@dataclass(frozen=True)
class DevCertPaths:
    """Where the development credentials live."""

    wwdr_cert: Path
    pass_cert: Path
    pass_key: Path
    google_service_account: Path

    @property
    def google_service_account_cert(self) -> Path:
        """Self-signed certificate of the service-account key (to verify dev JWTs)."""
        return self.google_service_account.with_name(GOOGLE_CERT_FILE)

    @property
    def apple_files(self) -> tuple[Path, Path, Path]:
        """The Apple chain files, which are only ever written together."""
        return (self.wwdr_cert, self.pass_cert, self.pass_key)

    @property
    def google_files(self) -> tuple[Path, Path]:
        """The Google files, which are only ever written together."""
        return (self.google_service_account, self.google_service_account_cert)


def dev_cert_paths(directory: Path) -> DevCertPaths:
    """Paths generate_dev_chain writes in directory."""
    return DevCertPaths(
        wwdr_cert=directory / WWDR_FILE,
        pass_cert=directory / PASS_CERT_FILE,
        pass_key=directory / PASS_KEY_FILE,
        google_service_account=directory / GOOGLE_SERVICE_ACCOUNT_FILE,
    )


def generate_dev_chain(
    directory: Path,
    *,
    pass_type_id: str = DEFAULT_PASS_TYPE_ID,
    team_id: str = DEFAULT_TEAM_ID,
    google_issuer_email: str = "wallet-dev@example-project.iam.gserviceaccount.com",
    google_token_uri: str = "https://oauth2.googleapis.com/token",  # noqa: S107 (a URL)
    force: bool = False,
) -> DevCertPaths:
    """Write the dev chain into directory; existing complete sets are kept unless force."""
    paths = dev_cert_paths(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        if force or not all(p.is_file() for p in paths.apple_files):
            _write_apple_chain(paths, pass_type_id, team_id)
        if force or not all(p.is_file() for p in paths.google_files):
            _write_google_account(paths, google_issuer_email, google_token_uri)
    return paths


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise concurrent generators (several workers starting at once)."""
    fd = os.open(directory / ".devcerts.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write atomically; private files are readable by the owner only."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _pkcs8(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _der_utf8_string(text: str) -> bytes:
    """DER UTF8String, the value Apple puts in its pass type extension."""
    raw = text.encode("utf-8")
    if len(raw) < 0x80:
        return bytes([0x0C, len(raw)]) + raw
    size = len(raw).to_bytes((len(raw).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(size)]) + size + raw


def _wwdr_ca(key: rsa.RSAPrivateKey) -> x509.Certificate:
    """Self-signed stand-in for the Apple WWDR G4 intermediate."""
    name = x509.Name(
        [
            x509.NameAttribute(
                NameOID.COMMON_NAME, "Apple Worldwide Developer Relations Certification Authority"
            ),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "G4"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Development only - not Apple Inc."),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _pass_certificate(
    key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    pass_type_id: str,
    team_id: str,
) -> x509.Certificate:
    """Pass type certificate shaped like Apple's: UID = pass type id, OU = team id."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, pass_type_id),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Pass Type ID: {pass_type_id}"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, team_id),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Development pass issuer"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * _LEAF_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, _APPLE_PASS_EKU]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .add_extension(
            x509.UnrecognizedExtension(_APPLE_PASS_TYPE_EXT, _der_utf8_string(pass_type_id)),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _write_apple_chain(paths: DevCertPaths, pass_type_id: str, team_id: str) -> None:
    """Fresh CA + pass certificate + pass key."""
    ca_key = _new_key()
    ca_cert = _wwdr_ca(ca_key)
    pass_key = _new_key()
    pass_cert = _pass_certificate(pass_key, ca_cert, ca_key, pass_type_id, team_id)
    _write(paths.pass_key, _pkcs8(pass_key), private=True)
    _write(paths.pass_cert, _pem(pass_cert))
    _write(paths.wwdr_cert, _pem(ca_cert))


def _google_certificate(key: rsa.RSAPrivateKey, client_id: str) -> x509.Certificate:
    """Self-signed certificate of the service-account key, as Google publishes for real keys."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, client_id)])
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def _write_google_account(paths: DevCertPaths, issuer_email: str, token_uri: str) -> None:
    """Service-account JSON in Google's layout, plus the matching certificate."""
    key = _new_key()
    client_id = str(secrets.randbelow(9 * 10**20) + 10**20)
    domain = issuer_email.partition("@")[2]
    project_id = domain.split(".", 1)[0] or "dev-project"
    account = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": _pkcs8(key).decode("ascii"),
        "client_email": issuer_email,
        "client_id": client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
        + issuer_email.replace("@", "%40"),
        "universe_domain": "googleapis.com",
    }
    _write(
        paths.google_service_account,
        (json.dumps(account, indent=2) + "\n").encode("utf-8"),
        private=True,
    )
    _write(paths.google_service_account_cert, _pem(_google_certificate(key, client_id)))

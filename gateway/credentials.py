"""Load and check the Apple and Google credentials once, at start-up.

Every failure is a CredentialsError whose message names the file and the problem, so a
misconfigured deployment stops with one readable line instead of failing on the first pass.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.config import Settings
from gateway.devcerts import (
    DEFAULT_PASS_TYPE_ID,
    DEFAULT_TEAM_ID,
    dev_cert_paths,
    generate_dev_chain,
)
from passes.apple.signing import PassSigner

APPLE_KEYS = ("APPLE_PASS_CERT", "APPLE_PASS_KEY", "APPLE_WWDR_CERT")
GOOGLE_REQUIRED_FIELDS = ("private_key", "client_email", "token_uri")
DEV_CERTS_DIR = "certs"
_DEV_HINT = " (development chain: regenerate it with `gateway certs dev --force`)"


class CredentialsError(Exception):
    """A credential file is missing, unreadable or wrong; the message says which and why."""


@dataclass(frozen=True)
class Credentials:
    """What the issuers need: a ready Apple signer and the parsed service account."""

    apple_signer: PassSigner
    google_service_account: dict[str, Any]


@dataclass(frozen=True)
class _ApplePaths:
    cert: Path
    key: Path
    wwdr: Path
    dev: bool


def load_credentials(settings: Settings, instance_path: Path) -> Credentials:
    """Resolve configured or development files, then load and check them."""
    apple, google_path = _resolve_paths(settings, instance_path)
    signer = _load_apple(apple, settings)
    account = _load_google(google_path)
    return Credentials(apple_signer=signer, google_service_account=account)


def _resolve_paths(settings: Settings, instance_path: Path) -> tuple[_ApplePaths, Path]:
    """Configured paths, or the dev chain in <instance>/certs (generated when absent)."""
    apple_values = {
        "APPLE_PASS_CERT": settings.apple_pass_cert.strip(),
        "APPLE_PASS_KEY": settings.apple_pass_key.strip(),
        "APPLE_WWDR_CERT": settings.apple_wwdr_cert.strip(),
    }
    missing = [key for key, value in apple_values.items() if not value]
    if missing and len(missing) < len(APPLE_KEYS):
        raise CredentialsError(
            f"{', '.join(APPLE_KEYS)} must be set together or all left empty "
            f"(empty: {', '.join(missing)})"
        )
    google_value = settings.google_service_account.strip()
    dev = dev_cert_paths(instance_path / DEV_CERTS_DIR)
    apple_dev = bool(missing)
    need_apple = apple_dev and not all(p.is_file() for p in dev.apple_files)
    need_google = not google_value and not all(p.is_file() for p in dev.google_files)
    if need_apple or need_google:
        generate_dev_chain(
            dev.wwdr_cert.parent,
            pass_type_id=settings.apple_pass_type_id.strip() or DEFAULT_PASS_TYPE_ID,
            team_id=settings.apple_team_id.strip() or DEFAULT_TEAM_ID,
        )
    if apple_dev:
        apple = _ApplePaths(dev.pass_cert, dev.pass_key, dev.wwdr_cert, dev=True)
    else:
        apple = _ApplePaths(
            Path(apple_values["APPLE_PASS_CERT"]).expanduser(),
            Path(apple_values["APPLE_PASS_KEY"]).expanduser(),
            Path(apple_values["APPLE_WWDR_CERT"]).expanduser(),
            dev=False,
        )
    google = Path(google_value).expanduser() if google_value else dev.google_service_account
    return apple, google


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CredentialsError(f"{what} file {path} does not exist") from None
    except OSError as exc:
        raise CredentialsError(f"{what} file {path} cannot be read: {exc.strerror}") from None


def _load_certificate(path: Path, what: str) -> x509.Certificate:
    data = _read(path, what)
    if b"-----BEGIN CERTIFICATE-----" not in data:
        hint = ""
        try:
            x509.load_der_x509_certificate(data)
            hint = (
                f"; it is DER (as Apple's .cer downloads are): convert it with "
                f"`openssl x509 -inform DER -in {path} -out {path.with_suffix('.pem')}`"
            )
        except ValueError:
            pass
        raise CredentialsError(f"{what} file {path} is not a PEM certificate{hint}")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise CredentialsError(
            f"{what} file {path} is not a valid PEM certificate: {exc}"
        ) from None


def _password(settings: Settings) -> bytes | None:
    value = settings.apple_pass_key_password
    return value.encode("utf-8") if value else None


def _load_key(path: Path, password: bytes | None) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    data = _read(path, "Apple pass key")
    if b"PRIVATE KEY-----" not in data:
        raise CredentialsError(
            f"Apple pass key file {path} is not a PEM private key (from a .p12 export, extract "
            "it with `openssl pkcs12 -in Certificates.p12 -nocerts -nodes -out pass-key.pem`)"
        )
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError as exc:
        problem = (
            "is encrypted: set APPLE_PASS_KEY_PASSWORD"
            if password is None
            else f"cannot be loaded with APPLE_PASS_KEY_PASSWORD ({exc})"
        )
        raise CredentialsError(f"Apple pass key file {path} {problem}") from None
    except ValueError as exc:
        raise CredentialsError(
            f"Apple pass key file {path} cannot be loaded (wrong APPLE_PASS_KEY_PASSWORD or "
            f"damaged key): {exc}"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CredentialsError(f"Apple pass key file {path} is not an RSA or EC key")
    return key


def _check_validity(certificate: x509.Certificate, path: Path, what: str, hint: str) -> None:
    now = dt.datetime.now(dt.UTC)
    if certificate.not_valid_after_utc < now:
        raise CredentialsError(
            f"{what} {path} expired on {certificate.not_valid_after_utc:%Y-%m-%d}{hint}"
        )
    if certificate.not_valid_before_utc > now:
        raise CredentialsError(
            f"{what} {path} is not valid before {certificate.not_valid_before_utc:%Y-%m-%d}"
        )


def _check_issuer(cert: x509.Certificate, wwdr: x509.Certificate, paths: _ApplePaths) -> None:
    problem = ""
    if cert.issuer != wwdr.subject:
        problem = (
            f"its issuer is {cert.issuer.rfc4514_string()!r} but the WWDR certificate is "
            f"{wwdr.subject.rfc4514_string()!r}; download the intermediate named in the issuer "
            "(for current pass type certificates, WWDR G4) from Apple's certificate authority page"
        )
    else:
        try:
            cert.verify_directly_issued_by(wwdr)
        except (ValueError, TypeError, InvalidSignature) as exc:
            problem = f"its signature does not verify with the WWDR key ({exc or 'bad signature'})"
    if problem:
        raise CredentialsError(
            f"Apple pass certificate {paths.cert} is not issued by the WWDR certificate "
            f"{paths.wwdr}: {problem}"
        )


def _check_identifiers(signer: PassSigner, settings: Settings, cert_path: Path, hint: str) -> None:
    """Configured APPLE_PASS_TYPE_ID / APPLE_TEAM_ID must be the certificate's UID / OU."""
    for key, configured, actual, attribute in (
        (
            "APPLE_PASS_TYPE_ID",
            settings.apple_pass_type_id.strip(),
            signer.pass_type_id,
            "UID (pass type ID)",
        ),
        ("APPLE_TEAM_ID", settings.apple_team_id.strip(), signer.team_id, "OU (team ID)"),
    ):
        if configured and configured != actual:
            raise CredentialsError(
                f"Apple pass certificate {cert_path} has subject {attribute} {actual!r}, "
                f"but {key} is {configured!r}: use the certificate made for {configured!r} "
                f"or set {key}={actual}{hint}"
            )


def _load_apple(paths: _ApplePaths, settings: Settings) -> PassSigner:
    hint = _DEV_HINT if paths.dev else ""
    cert = _load_certificate(paths.cert, "Apple pass certificate")
    wwdr = _load_certificate(paths.wwdr, "Apple WWDR certificate")
    key = _load_key(paths.key, _password(settings))
    try:
        signer = PassSigner.from_loaded(cert, key, wwdr)
    except ValueError as exc:
        raise CredentialsError(
            f"Apple pass key {paths.key} / certificate {paths.cert}: {exc}"
        ) from None
    _check_identifiers(signer, settings, paths.cert, hint)
    _check_validity(cert, paths.cert, "Apple pass certificate", hint)
    _check_validity(wwdr, paths.wwdr, "Apple WWDR certificate", hint)
    _check_issuer(cert, wwdr, paths)
    return signer


def _load_google(path: Path) -> dict[str, Any]:
    data = _read(path, "Google service-account")
    try:
        account = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"Google service-account file {path} is not JSON: {exc}") from None
    if not isinstance(account, dict):
        raise CredentialsError(f"Google service-account file {path} is not a JSON object")
    if account.get("type", "service_account") != "service_account":
        raise CredentialsError(
            f"Google service-account file {path} has type {account.get('type')!r}, "
            "expected 'service_account' (create a key for a service account, not an OAuth client)"
        )
    missing = [
        field
        for field in GOOGLE_REQUIRED_FIELDS
        if not isinstance(account.get(field), str) or not account[field].strip()
    ]
    if missing:
        raise CredentialsError(
            f"Google service-account file {path} is missing {', '.join(missing)}"
        )
    try:
        key = serialization.load_pem_private_key(account["private_key"].encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise CredentialsError(
            f"Google service-account file {path}: private_key cannot be parsed ({exc})"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsError(f"Google service-account file {path}: private_key is not RSA")
    return account

"""PKCS#7 detached signatures over a pass manifest, with keys parsed once."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_OPTIONS = (pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary)


def _subject_value(certificate: x509.Certificate, oid: x509.ObjectIdentifier, name: str) -> str:
    """The single string value of one subject attribute, or ValueError."""
    values = certificate.subject.get_attributes_for_oid(oid)
    if not values:
        raise ValueError(
            f"pass certificate subject {certificate.subject.rfc4514_string()!r} has no {name}"
        )
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8")


def _spki(key: object) -> bytes:
    """DER SubjectPublicKeyInfo of a public key (for equality checks)."""
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError("pass certificate key must be RSA or EC")
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class PassSigner:
    """Signs manifest.json bytes with a pass type certificate and the WWDR intermediate."""

    pass_type_id: str
    team_id: str
    certificate: x509.Certificate
    wwdr_certificate: x509.Certificate

    def __init__(
        self,
        cert_pem: bytes,
        key_pem: bytes,
        wwdr_pem: bytes,
        key_password: bytes | None = None,
    ) -> None:
        try:
            certificate = x509.load_pem_x509_certificate(cert_pem)
        except ValueError as exc:
            raise ValueError(f"pass certificate is not a PEM certificate: {exc}") from exc
        try:
            wwdr = x509.load_pem_x509_certificate(wwdr_pem)
        except ValueError as exc:
            raise ValueError(f"WWDR certificate is not a PEM certificate: {exc}") from exc
        try:
            key = serialization.load_pem_private_key(key_pem, password=key_password)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"pass key cannot be loaded: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("pass key must be an RSA or EC private key")
        self._setup(certificate, key, wwdr)

    @classmethod
    def from_loaded(
        cls, certificate: x509.Certificate, key: SigningKey, wwdr_certificate: x509.Certificate
    ) -> PassSigner:
        """Build a signer from already parsed objects (start-up checks parse them first)."""
        signer = cls.__new__(cls)
        signer._setup(certificate, key, wwdr_certificate)
        return signer

    def _setup(
        self, certificate: x509.Certificate, key: SigningKey, wwdr: x509.Certificate
    ) -> None:
        """Check the key against the certificate and prepare the reusable builder."""
        if _spki(certificate.public_key()) != _spki(key.public_key()):
            raise ValueError(
                "pass key does not match the pass certificate "
                f"{certificate.subject.rfc4514_string()!r}"
            )
        self.certificate = certificate
        self.wwdr_certificate = wwdr
        self.pass_type_id = _subject_value(certificate, NameOID.USER_ID, "UID (pass type ID)")
        self.team_id = _subject_value(
            certificate, NameOID.ORGANIZATIONAL_UNIT_NAME, "OU (team ID)"
        )
        self._key = key

    def sign(self, manifest: bytes) -> bytes:
        """Detached DER PKCS#7 signature (with signingTime) over manifest bytes."""
        # A fresh builder per call: set_data() on a builder that already holds extra
        # certificates drops them, which would leave the WWDR intermediate out.
        return (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(manifest)
            .add_signer(self.certificate, self._key, hashes.SHA256())
            .add_certificate(self.wwdr_certificate)
            .sign(serialization.Encoding.DER, _OPTIONS)
        )

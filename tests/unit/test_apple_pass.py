"""Signed .pkpass files from the dev chain: manifest, PKCS#7 signature, pass.json content."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7
from PIL import Image

from gateway.demo_images import demo_images
from gateway.devcerts import DevCertPaths, generate_dev_chain
from passes.apple import (
    PassAssets,
    PassSigner,
    StoreCardContent,
    build_pkpass,
    store_card_pass_json,
)

SIGNING_TIME_OID_DER = bytes.fromhex("06092a864886f70d010905")  # 1.2.840.113549.1.9.5
TOKEN = "tok-0123456789abcdef"


@pytest.fixture(scope="session")
def dev_chain(tmp_path_factory: pytest.TempPathFactory) -> DevCertPaths:
    return generate_dev_chain(
        tmp_path_factory.mktemp("apple-chain"),
        pass_type_id="pass.com.example.unit",
        team_id="UNITTEAM42",
    )


@pytest.fixture(scope="session")
def signer(dev_chain: DevCertPaths) -> PassSigner:
    return PassSigner(
        dev_chain.pass_cert.read_bytes(),
        dev_chain.pass_key.read_bytes(),
        dev_chain.wwdr_cert.read_bytes(),
    )


@pytest.fixture(scope="session")
def images() -> dict[str, bytes]:
    return demo_images("#1a3c6e", "#ffffff", "#f5c542")


@pytest.fixture(scope="session")
def assets(images: dict[str, bytes]) -> PassAssets:
    strings = '"Tier" = "Stufe";\n"Member" = "Mitglied";\n'.encode("utf-16")
    return PassAssets.from_files({**images, "de.lproj/pass.strings": strings})


def make_content(signer: PassSigner, **changes: object) -> StoreCardContent:
    values: dict[str, object] = {
        "pass_type_id": signer.pass_type_id,
        "team_id": signer.team_id,
        "serial": "serial-0001",
        "organization": "Example Coffee",
        "description": "Example Coffee loyalty card",
        "web_service_url": "https://wallet.example.com/wallet/apple/",
        "authentication_token": TOKEN,
        "card_number": "40000000017",
        "barcode_message": "40000000017-12345678",
        "balance": 120,
        "points_label": "Points",
        "tier": "Gold",
        "member_name": "Ada Lovelace",
        "discount_percent": 10,
        "background_color": "#1a3c6e",
        "foreground_color": "#ffffff",
        "label_color": "#f5c542",
        "terms": "Points expire after 24 months.",
        "support_url": "https://example.com/support?topic=card&lang=en",
    }
    values.update(changes)
    return StoreCardContent(**values)  # type: ignore[arg-type]


@pytest.fixture()
def pkpass(signer: PassSigner, assets: PassAssets) -> bytes:
    return build_pkpass(store_card_pass_json(make_content(signer)), assets, signer)


@pytest.fixture()
def unpacked(pkpass: bytes, tmp_path: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(pkpass)) as archive:
        assert archive.testzip() is None
        archive.extractall(tmp_path)
    return tmp_path


def openssl_verify(folder: Path, manifest: Path, wwdr: Path) -> subprocess.CompletedProcess[str]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    return subprocess.run(
        [
            openssl, "smime", "-verify", "-binary", "-inform", "DER",
            "-in", str(folder / "signature"), "-content", str(manifest),
            "-CAfile", str(wwdr), "-purpose", "any", "-out", str(folder / "verified.out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_manifest_lists_every_file_with_its_sha1(unpacked: Path) -> None:
    manifest = json.loads((unpacked / "manifest.json").read_bytes())
    files = {
        path.relative_to(unpacked).as_posix()
        for path in unpacked.rglob("*")
        if path.is_file() and path.name not in {"manifest.json", "signature"}
    }
    assert set(manifest) == files
    assert {"pass.json", "icon.png", "icon@2x.png", "strip@3x.png"} <= files
    assert "de.lproj/pass.strings" in files
    for name, digest in manifest.items():
        data = (unpacked / name).read_bytes()
        assert hashlib.sha1(data, usedforsecurity=False).hexdigest() == digest


def test_images_are_stored_and_strings_are_deflated(pkpass: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(pkpass)) as archive:
        methods = {info.filename: info.compress_type for info in archive.infolist()}
    assert all(methods[name] == zipfile.ZIP_STORED for name in methods if name.endswith(".png"))
    assert methods["de.lproj/pass.strings"] == zipfile.ZIP_DEFLATED


def test_signature_verifies_with_openssl(unpacked: Path, dev_chain: DevCertPaths) -> None:
    result = openssl_verify(unpacked, unpacked / "manifest.json", dev_chain.wwdr_cert)
    assert result.returncode == 0, result.stderr
    assert (unpacked / "verified.out").read_bytes() == (unpacked / "manifest.json").read_bytes()


def test_tampered_manifest_fails_verification(unpacked: Path, dev_chain: DevCertPaths) -> None:
    manifest = json.loads((unpacked / "manifest.json").read_bytes())
    manifest["icon.png"] = "0" * 40
    tampered = unpacked / "tampered.json"
    tampered.write_text(json.dumps(manifest))
    result = openssl_verify(unpacked, tampered, dev_chain.wwdr_cert)
    assert result.returncode != 0


def test_signature_carries_chain_and_signing_time(
    unpacked: Path, dev_chain: DevCertPaths
) -> None:
    signature = (unpacked / "signature").read_bytes()
    certificates = pkcs7.load_der_pkcs7_certificates(signature)
    pass_cert = x509.load_pem_x509_certificate(dev_chain.pass_cert.read_bytes())
    wwdr = x509.load_pem_x509_certificate(dev_chain.wwdr_cert.read_bytes())
    assert set(certificates) == {pass_cert, wwdr}
    assert SIGNING_TIME_OID_DER in signature
    manifest = (unpacked / "manifest.json").read_bytes()
    assert manifest not in signature  # detached


def test_pass_json_fields(unpacked: Path, dev_chain: DevCertPaths) -> None:
    data = json.loads((unpacked / "pass.json").read_bytes())
    pass_cert = x509.load_pem_x509_certificate(dev_chain.pass_cert.read_bytes())
    uid = pass_cert.subject.get_attributes_for_oid(x509.NameOID.USER_ID)[0].value
    ou = pass_cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
    assert data["formatVersion"] == 1
    assert data["passTypeIdentifier"] == uid == "pass.com.example.unit"
    assert data["teamIdentifier"] == ou == "UNITTEAM42"
    assert data["serialNumber"] == "serial-0001"
    assert data["webServiceURL"] == "https://wallet.example.com/wallet/apple/"
    assert data["authenticationToken"] == TOKEN
    assert len(data["authenticationToken"]) >= 16
    assert data["sharingProhibited"] is True
    assert data["backgroundColor"] == "rgb(26, 60, 110)"
    barcode = data["barcodes"][0]
    assert barcode == {
        "format": "PKBarcodeFormatQR",
        "message": "40000000017-12345678",
        "messageEncoding": "iso-8859-1",
        "altText": "40000000017",
    }
    assert data["barcode"] == barcode
    card = data["storeCard"]
    balance = card["primaryFields"][0]
    assert balance["value"] == 120
    assert "%@" in balance["changeMessage"]
    secondary = {field["key"]: field["value"] for field in card["secondaryFields"]}
    assert secondary == {"tier": "Gold", "member": "Ada Lovelace"}
    assert card["auxiliaryFields"][0]["numberStyle"] == "PKNumberStylePercent"
    back = {field["key"]: field for field in card["backFields"]}
    assert back["card_number"]["value"] == "40000000017"
    assert "&amp;" in back["support"]["attributedValue"]
    assert "last_used" not in back


def test_last_used_back_field_announces_use(signer: PassSigner) -> None:
    data = store_card_pass_json(make_content(signer, last_used="2026-01-02T10:00:00Z"))
    back = {field["key"]: field for field in data["storeCard"]["backFields"]}
    assert "%@" in back["last_used"]["changeMessage"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"authentication_token": "short"}, "authentication_token"),
        ({"change_message": "Balance changed"}, "%@"),
        ({"background_color": "blue"}, "#rrggbb"),
        ({"barcode_message": "snow \u2603"}, "ISO-8859-1"),
    ],
)
def test_invalid_content_is_rejected(
    signer: PassSigner, change: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store_card_pass_json(make_content(signer, **change))


def test_assets_without_icon_are_rejected(images: dict[str, bytes]) -> None:
    files = {name: data for name, data in images.items() if not name.startswith("icon")}
    with pytest.raises(ValueError, match=r"icon\.png"):
        PassAssets.from_files(files)


@pytest.mark.parametrize("name", ["pass.json", "signature", "../icon.png", "a/b/c.png"])
def test_assets_with_bad_names_are_rejected(images: dict[str, bytes], name: str) -> None:
    with pytest.raises(ValueError, match="not a valid pass asset name"):
        PassAssets.from_files({**images, name: b"x"})


def test_signer_reads_identifiers_from_certificate(signer: PassSigner) -> None:
    assert signer.pass_type_id == "pass.com.example.unit"
    assert signer.team_id == "UNITTEAM42"


def test_signer_rejects_key_of_another_certificate(
    dev_chain: DevCertPaths, tmp_path: Path
) -> None:
    other = generate_dev_chain(tmp_path)
    with pytest.raises(ValueError, match="does not match"):
        PassSigner(
            dev_chain.pass_cert.read_bytes(),
            other.pass_key.read_bytes(),
            dev_chain.wwdr_cert.read_bytes(),
        )


def test_signer_needs_uid_in_subject(dev_chain: DevCertPaths) -> None:
    account = json.loads(dev_chain.google_service_account.read_text())
    with pytest.raises(ValueError, match="UID"):
        PassSigner(
            dev_chain.google_service_account_cert.read_bytes(),
            account["private_key"].encode(),
            dev_chain.wwdr_cert.read_bytes(),
        )


def test_demo_images_have_wallet_sizes(images: dict[str, bytes]) -> None:
    expected = {"icon": (29, 29), "logo": (160, 50), "strip": (375, 123)}
    assert len(images) == 9
    for kind, (width, height) in expected.items():
        for scale, suffix in ((1, ""), (2, "@2x"), (3, "@3x")):
            with Image.open(io.BytesIO(images[f"{kind}{suffix}.png"])) as image:
                image.load()
                assert image.format == "PNG"
                assert image.size == (width * scale, height * scale)

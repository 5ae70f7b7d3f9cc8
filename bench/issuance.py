"""Issuance throughput on one core: signed .pkpass and Google save JWTs vs raw RSA signing.

Needs the bench extra (py-pkpass, the reference builder): `pip install -e '.[bench]'`.
Run with `python -m bench.issuance [--seconds S] [--rounds N]`. Every workload is measured in
N interleaved rounds of S/N seconds each and the median rate is reported, so a burst of load
from elsewhere on the machine affects one round of every workload rather than one workload.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth import crypt, jwt
from py_pkpass import models as pkpass_models

from gateway.demo_images import demo_images
from gateway.devcerts import DevCertPaths, generate_dev_chain
from passes.apple import PassAssets, PassSigner, StoreCardContent, build_pkpass
from passes.apple import store_card_pass_json as pass_json_for

COLORS = ("#1a3c6e", "#ffffff", "#f5c542")
PKPASS_MIN_RATE = 1000.0
MIN_RATIO = 0.70


@dataclass
class Workload:
    """One measured operation and the baseline its rate is compared with."""

    label: str
    run: Callable[[], object]
    baseline: str | None = None
    target: str = ""
    rates: list[float] | None = None


def _rate(run: Callable[[], object], seconds: float) -> float:
    """Operations per second of run over about `seconds`."""
    run()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        run()
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _pin_to_one_core() -> str:
    """Keep the process (and OpenSSL, which signs in the calling thread) on one CPU."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def _content(signer: PassSigner) -> StoreCardContent:
    return StoreCardContent(
        pass_type_id=signer.pass_type_id,
        team_id=signer.team_id,
        serial="bench-000000",
        organization="Example Coffee",
        description="Example Coffee loyalty card",
        web_service_url="https://wallet.example.com/wallet/apple/",
        authentication_token="bench-token-0123456789abcdef",  # noqa: S106 (sample data)
        card_number="40000000017",
        barcode_message="40000000017-00000000",
        balance=120,
        points_label="Points",
        tier="Gold",
        member_name="Ada Lovelace",
        discount_percent=10,
        background_color=COLORS[0],
        foreground_color=COLORS[1],
        label_color=COLORS[2],
        terms="Points expire after 24 months.",
        support_url="https://example.com/support",
    )


def _raw_sign(paths: DevCertPaths, data: bytes) -> Callable[[], object]:
    key = serialization.load_pem_private_key(paths.pass_key.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return lambda: key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _gateway_pkpass(paths: DevCertPaths, images: dict[str, bytes]) -> Callable[[], object]:
    signer = PassSigner(
        paths.pass_cert.read_bytes(), paths.pass_key.read_bytes(), paths.wwdr_cert.read_bytes()
    )
    assets = PassAssets.from_files(images)
    template = _content(signer)
    counter = itertools.count()

    def issue() -> bytes:
        n = next(counter)
        content = replace(
            template, serial=f"bench-{n:06d}", barcode_message=f"40000000017-{n:08d}"
        )
        return build_pkpass(pass_json_for(content), assets, signer)

    return issue


def _py_pkpass(paths: DevCertPaths, image_dir: Path, names: list[str]) -> Callable[[], object]:
    """py-pkpass as its README shows it: a Pass per card, files re-read on every create()."""
    counter = itertools.count()

    def issue() -> bytes:
        n = next(counter)
        card = pkpass_models.StoreCard()
        card.addPrimaryField("balance", 120, "Points")
        card.addSecondaryField("tier", "Gold", "Tier")
        card.addSecondaryField("member", "Ada Lovelace", "Member")
        card.addAuxiliaryField("discount", "10%", "Discount")
        card.addBackField("card_number", "40000000017", "Card number")
        card.addBackField("terms", "Points expire after 24 months.", "Terms")
        passfile = pkpass_models.Pass(
            card,
            passTypeIdentifier="pass.com.example.loyalty",
            organizationName="Example Coffee",
            teamIdentifier="DEVTEAM123",
        )
        passfile.serialNumber = f"bench-{n:06d}"
        passfile.description = "Example Coffee loyalty card"
        passfile.barcode = pkpass_models.Barcode(
            message=f"40000000017-{n:08d}",
            format=pkpass_models.BarcodeFormat.QR,
            altText="40000000017",
        )
        passfile.backgroundColor = "rgb(26, 60, 110)"
        passfile.foregroundColor = "rgb(255, 255, 255)"
        passfile.labelColor = "rgb(245, 197, 66)"
        passfile.webServiceURL = "https://wallet.example.com/wallet/apple/"
        passfile.authenticationToken = "bench-token-0123456789abcdef"
        passfile.sharingProhibited = True
        for name in names:
            with open(image_dir / name, "rb") as handle:
                passfile.addFile(name, handle)
        out = passfile.create(
            str(paths.pass_cert), str(paths.pass_key), str(paths.wwdr_cert), None, io.BytesIO()
        )
        data: bytes = out.getvalue()
        return data

    return issue


def _google(paths: DevCertPaths) -> tuple[Callable[[], object], Callable[[], object]]:
    """(raw RS256 sign, save-JWT encode) with one preloaded google-auth signer."""
    account = json.loads(paths.google_service_account.read_text())
    signer = crypt.RSASigner.from_service_account_info(account)  # type: ignore[no-untyped-call]
    counter = itertools.count()

    def claims() -> dict[str, Any]:
        n = next(counter)
        return {
            "iss": account["client_email"],
            "aud": "google",
            "typ": "savetowallet",
            "iat": int(time.time()),
            "origins": ["https://wallet.example.com"],
            "payload": {
                "loyaltyObjects": [
                    {
                        "id": f"3388000000012345678.card-{n:08d}",
                        "classId": "3388000000012345678.gold",
                    }
                ]
            },
        }

    def save_jwt() -> bytes:
        token: bytes = jwt.encode(signer, claims())  # type: ignore[no-untyped-call]
        return token

    signing_input = save_jwt().rsplit(b".", 1)[0]
    return (lambda: signer.sign(signing_input)), save_jwt


def _workloads(folder: Path) -> dict[str, Workload]:
    paths = generate_dev_chain(folder / "certs")
    images = demo_images(*COLORS)
    image_dir = folder / "images"
    image_dir.mkdir()
    for name, data in images.items():
        (image_dir / name).write_bytes(data)
    issue = _gateway_pkpass(paths, images)
    manifest_sized = b"x" * 600  # about the size of a manifest.json with nine images
    rs256, save_jwt = _google(paths)
    target = f">= {PKPASS_MIN_RATE:.0f}/s and >= {MIN_RATIO:.0%} of (a)"
    return {
        "a": Workload("(a) RSA-2048 PKCS#1 v1.5 SHA-256 sign", _raw_sign(paths, manifest_sized)),
        "b": Workload("(b) build_pkpass storeCard, 9 images", issue, "a", target),
        "c": Workload(
            "(c) py-pkpass as in its README", _py_pkpass(paths, image_dir, sorted(images)), "a"
        ),
        "d1": Workload("(d1) RS256 sign, google-auth RSASigner", rs256),
        "d2": Workload(
            "(d2) save JWT, google-auth jwt.encode", save_jwt, "d1", f">= {MIN_RATIO:.0%} of (d1)"
        ),
    }


def _verdict(key: str, rate: float, ratio: float | None) -> str:
    if ratio is None:
        return ""
    if key == "b":
        return "OK" if rate >= PKPASS_MIN_RATE and ratio >= MIN_RATIO else "BELOW TARGET"
    if key == "d2":
        return "OK" if ratio >= MIN_RATIO else "BELOW TARGET"
    return ""


def main(argv: list[str] | None = None) -> None:
    """Measure every workload in interleaved rounds and print a table of median rates."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5, help="per workload, all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    pinned = _pin_to_one_core()
    with tempfile.TemporaryDirectory() as tmp:
        workloads = _workloads(Path(tmp))
        for workload in workloads.values():
            workload.rates = []
        for _ in range(args.rounds):
            for workload in workloads.values():
                assert workload.rates is not None
                workload.rates.append(_rate(workload.run, args.seconds / args.rounds))
    medians = {key: statistics.median(w.rates or [0.0]) for key, w in workloads.items()}
    print(
        f"Issuance benchmark ({pinned}; median of {args.rounds} interleaved rounds, "
        f"{args.seconds:.1f} s per workload)"
    )
    print(f"{'workload':<42}{'ops/s':>9}{'min-max':>15}{'ratio':>8}  target")
    for key, workload in workloads.items():
        rates = workload.rates or [0.0]
        ratio = medians[key] / medians[workload.baseline] if workload.baseline else None
        spread = f"{min(rates):.0f}-{max(rates):.0f}"
        ratio_text = f"{ratio:.2f}" if ratio is not None else "1.00"
        verdict = _verdict(key, medians[key], ratio)
        target = f"{workload.target} {verdict}".strip()
        print(f"{workload.label:<42}{medians[key]:>9.0f}{spread:>15}{ratio_text:>8}  {target}")
    print(f"build_pkpass / py-pkpass: {medians['b'] / medians['c']:.1f}x")


if __name__ == "__main__":
    main()

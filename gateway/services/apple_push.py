"""Outbox handler: tell every device holding a changed Apple pass to fetch it (APNs)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gateway.devcerts import dev_cert_paths
from gateway.domain.errors import UpstreamUnavailable
from gateway.models.apple_device import AppleDevice, AppleRegistration
from gateway.models.outbox import OutboxEvent
from gateway.runtime import Runtime
from gateway.services.outbox import handles
from gateway.services.pass_lookup import pass_for_card
from passes.apple.apns import ApnsClient, ApnsProviderToken


def apns_client(rt: Runtime) -> ApnsClient | None:
    """The process's APNs client (built once), or None when pushes are not configured."""
    if not rt.config["APNS_BASE_URL"]:
        return None
    client = rt.extras.get("apns_client")
    if client is None:
        signer = rt.credentials.apple_signer
        key_file = str(rt.config["APNS_AUTH_KEY_FILE"])
        base_url = str(rt.config["APNS_BASE_URL"])
        ca_file = str(rt.config["APNS_CA_FILE"]) or None
        if key_file:
            token = ApnsProviderToken(
                Path(key_file).read_bytes(),
                str(rt.config["APNS_KEY_ID"]),
                str(rt.config["APNS_TEAM_ID"]) or signer.team_id,
            )
            client = ApnsClient(
                signer.pass_type_id, base_url=base_url, provider_token=token, ca_file=ca_file
            )
        else:
            password = str(rt.config["APPLE_PASS_KEY_PASSWORD"] or "")
            client = ApnsClient(
                signer.pass_type_id,
                base_url=base_url,
                client_cert=_pass_certificate_files(rt),
                client_key_password=password.encode() if password else None,
                ca_file=ca_file,
            )
        rt.extras["apns_client"] = client
    return cast(ApnsClient, client)


def _pass_certificate_files(rt: Runtime) -> tuple[str, str]:
    cert, key = str(rt.config["APPLE_PASS_CERT"]), str(rt.config["APPLE_PASS_KEY"])
    if cert and key:
        return cert, key
    dev = dev_cert_paths(Path(str(rt.config["INSTANCE_PATH"])) / "certs")
    return str(dev.pass_cert), str(dev.pass_key)


def _pass_id(session: Session, event: OutboxEvent) -> int | None:
    if "pass_id" in event.payload:
        return int(event.payload["pass_id"])
    found = pass_for_card(session, event.payload["program"], event.payload["card_number"], "apple")
    return found.id if found else None


@handles("pass.changed")
@handles("balance.changed")
def push_apple_pass_update(rt: Runtime, event: OutboxEvent) -> None:
    """Push to the pass's devices; dead tokens lose their registration, other failures retry."""
    client = apns_client(rt)
    if client is None:
        return
    with rt.sessions() as session:
        pass_id = _pass_id(session, event)
        if pass_id is None:
            return
        registrations = session.execute(
            select(AppleDevice.push_token, AppleRegistration.id, AppleDevice.id)
            .join(AppleRegistration, AppleRegistration.device_id == AppleDevice.id)
            .where(AppleRegistration.pass_id == pass_id)
        ).all()
        session.commit()
        results = client.push(token for token, _, _ in registrations)
        dead = {result.device_token for result in results if result.token_is_dead}
        for token, registration_id, device_id in registrations:
            if token in dead:
                session.execute(
                    delete(AppleRegistration).where(AppleRegistration.id == registration_id)
                )
                left = session.scalar(
                    select(func.count()).where(AppleRegistration.device_id == device_id)
                )
                if not left:
                    session.execute(delete(AppleDevice).where(AppleDevice.id == device_id))
        session.commit()
    failed = [r for r in results if not r.delivered and not r.token_is_dead]
    if failed:
        raise UpstreamUnavailable(
            "apns_unavailable", f"{len(failed)} push(es) failed, first: {failed[0].status}"
        )

"""Outbox handler: tell every device holding a changed Apple pass to fetch it (APNs)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.devcerts import dev_cert_paths
from gateway.domain.errors import UpstreamUnavailable
from gateway.models.apple_device import AppleDevice, AppleRegistration
from gateway.models.outbox import OutboxEvent
from gateway.runtime import Runtime, available
from gateway.services.keep_live.outbox import handles
from gateway.services.keep_live.pass_lookup import pass_for_card
from passes.apple.apns import ApnsClient, ApnsProviderToken
from passes.apple.signing import PassSigner


def build_apns_client(
    settings: Settings, signer: PassSigner, instance_path: Path
) -> ApnsClient | None:
    """The APNs client, its key or certificate loaded now; None when pushes are not configured."""
    if not settings.apns_base_url:
        return None
    ca_file = settings.apns_ca_file or None
    if settings.apns_auth_key_file:
        token = ApnsProviderToken(
            Path(settings.apns_auth_key_file).read_bytes(),
            settings.apns_key_id,
            settings.apns_team_id or signer.team_id,
        )
        return ApnsClient(
            signer.pass_type_id,
            base_url=settings.apns_base_url,
            provider_token=token,
            ca_file=ca_file,
        )
    password = settings.apple_pass_key_password
    return ApnsClient(
        signer.pass_type_id,
        base_url=settings.apns_base_url,
        client_cert=_pass_certificate_files(settings, instance_path),
        client_key_password=password.encode() if password else None,
        ca_file=ca_file,
    )


def apns_client(rt: Runtime) -> ApnsClient | None:
    """The process's APNs client, or None when pushes are not configured."""
    return available(rt.apns)


def _pass_certificate_files(settings: Settings, instance_path: Path) -> tuple[str, str]:
    cert, key = settings.apple_pass_cert, settings.apple_pass_key
    if cert and key:
        return cert, key
    dev = dev_cert_paths(instance_path / "certs")
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

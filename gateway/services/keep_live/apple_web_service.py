"""Apple's pass web service: device registrations, changed-pass lists, authenticated pass fetches.

The update tag Wallet sends back as `passesUpdatedSince` is a pass's `updated_at` in epoch
microseconds, so "what changed since" is one indexed comparison.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError
from gateway.models.apple_device import AppleDevice, AppleRegistration
from gateway.models.base import utcnow
from gateway.models.card import WalletPass
from gateway.models.report import AppleRegistrationEvent
from gateway.runtime import Runtime
from gateway.services.issue.apple_passes import PkpassFile, build_pass_file
from gateway.services.issue.card_credentials import end_download_link
from gateway.services.issue.issuance import auth_token_purpose

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
MAX_LOG_LINES = 20


def update_tag(moment: datetime) -> str:
    """A pass's update tag: microseconds since the epoch, as text."""
    return str((moment - _EPOCH) // _MICROSECOND)


def _from_tag(tag: str | None) -> datetime | None:
    if not tag or not tag.isdigit() or len(tag) > 20:
        return None
    return _EPOCH + int(tag) * _MICROSECOND


def unauthorized() -> GatewayError:
    """401 for a missing or wrong ApplePass token (Wallet retries with the right one)."""
    return GatewayError("unauthorized", "unknown pass or wrong authentication token", 401)


def authenticated_pass(
    session: Session, rt: Runtime, pass_type_id: str, serial: str, authorization: str
) -> WalletPass:
    """The Apple pass named in the path, if the `ApplePass <token>` header is its token."""
    scheme, _, token = authorization.partition(" ")
    if scheme != "ApplePass" or not token:
        raise unauthorized()
    if pass_type_id != rt.credentials.apple_signer.pass_type_id:
        raise unauthorized()
    wallet_pass = session.scalar(
        select(WalletPass).where(WalletPass.serial == serial, WalletPass.wallet == "apple")
    )
    if wallet_pass is None or wallet_pass.auth_token is None:
        raise unauthorized()
    expected = rt.secret_box.open(wallet_pass.auth_token, auth_token_purpose(serial))
    if not hmac.compare_digest(expected, token.strip().encode()):
        raise unauthorized()
    return wallet_pass


def register_device(
    session: Session,
    rt: Runtime,
    device_id: str,
    pass_type_id: str,
    serial: str,
    authorization: str,
    push_token: object,
) -> bool:
    """Register the pass on the device; True when the registration is new (201), else 200."""
    wallet_pass = authenticated_pass(session, rt, pass_type_id, serial, authorization)
    if not isinstance(push_token, str) or not 0 < len(push_token) <= 200:
        raise GatewayError("validation_error", "pushToken is required", 400, field="pushToken")
    if not 0 < len(device_id) <= 128:
        raise GatewayError("validation_error", "device id too long", 400, field="device")
    device = session.scalar(select(AppleDevice).where(AppleDevice.device_library_id == device_id))
    if device is None:
        device = AppleDevice(device_library_id=device_id, push_token=push_token)
        session.add(device)
    elif device.push_token != push_token:
        _check_may_retoken(session, device.id, wallet_pass.id)
        device.push_token, device.updated_at = push_token, utcnow()
    # The pass is installed: its download link has done its job and stops working.
    end_download_link(wallet_pass)
    session.flush()
    known = session.scalar(
        select(AppleRegistration.id).where(
            AppleRegistration.device_id == device.id, AppleRegistration.pass_id == wallet_pass.id
        )
    )
    if known is not None:
        session.commit()
        return False
    try:
        with session.begin_nested():
            session.add(AppleRegistration(device_id=device.id, pass_id=wallet_pass.id))
            session.add(_registration_event(wallet_pass.id, device.id, "registered"))
    except IntegrityError:
        session.commit()
        return False  # the same registration raced in from a retry
    session.commit()
    return True


def _registration_event(pass_id: int, device_id: int, event: str) -> AppleRegistrationEvent:
    """History for the reports: the registration rows themselves are deleted on unregister."""
    return AppleRegistrationEvent(pass_id=pass_id, device_id=device_id, event=event)


def _check_may_retoken(session: Session, device_id: int, pass_id: int) -> None:
    """Only a pass already on the device (or a device with no other pass) may change its token.

    Otherwise anyone holding one pass could name a stranger's device library id and redirect
    that device's pushes to their own token (409 `device_conflict`).
    """
    others = session.scalar(
        select(func.count()).where(
            AppleRegistration.device_id == device_id, AppleRegistration.pass_id != pass_id
        )
    )
    mine = session.scalar(
        select(func.count()).where(
            AppleRegistration.device_id == device_id, AppleRegistration.pass_id == pass_id
        )
    )
    if others and not mine:
        raise GatewayError(
            "device_conflict", "this device is registered with another push token", 409
        )


def unregister_device(
    session: Session,
    rt: Runtime,
    device_id: str,
    pass_type_id: str,
    serial: str,
    authorization: str,
) -> None:
    """Forget the pass on the device (the device goes when it has no pass left)."""
    wallet_pass = authenticated_pass(session, rt, pass_type_id, serial, authorization)
    device = session.scalar(select(AppleDevice).where(AppleDevice.device_library_id == device_id))
    if device is not None:
        removed = session.execute(
            delete(AppleRegistration).where(
                AppleRegistration.device_id == device.id,
                AppleRegistration.pass_id == wallet_pass.id,
            )
        )
        if getattr(removed, "rowcount", 0):
            session.add(_registration_event(wallet_pass.id, device.id, "unregistered"))
        left = session.scalar(select(func.count()).where(AppleRegistration.device_id == device.id))
        if not left:
            session.delete(device)
    session.commit()


@dataclass(frozen=True, slots=True)
class ChangedPasses:
    """Serial numbers changed since the tag, and the newest tag."""

    serial_numbers: list[str]
    last_updated: str


def changed_passes(
    session: Session, rt: Runtime, device_id: str, pass_type_id: str, since: str | None
) -> ChangedPasses | None:
    """The device's passes changed after `since` (all of them without a tag); None if none."""
    if pass_type_id != rt.credentials.apple_signer.pass_type_id:
        return None
    query = (
        select(WalletPass.serial, WalletPass.updated_at)
        .join(AppleRegistration, AppleRegistration.pass_id == WalletPass.id)
        .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
        .where(AppleDevice.device_library_id == device_id)
    )
    after = _from_tag(since)
    if after is not None:
        query = query.where(WalletPass.updated_at > after)
    rows = session.execute(query.order_by(WalletPass.serial)).all()
    session.commit()
    if not rows:
        return None
    return ChangedPasses([serial for serial, _ in rows], update_tag(max(at for _, at in rows)))


def latest_pass(
    session: Session, rt: Runtime, pass_type_id: str, serial: str, authorization: str
) -> PkpassFile:
    """The pass as it stands now (the caller answers 304 when it has not changed)."""
    wallet_pass = authenticated_pass(session, rt, pass_type_id, serial, authorization)
    pass_file = build_pass_file(session, rt, wallet_pass)
    session.commit()
    return pass_file


def _printable(text: str) -> str:
    """Control characters (CR, LF, ESC, ...) escaped, so a report cannot forge log lines."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def record_device_logs(logs: object) -> int:
    """Write what Wallet reports about failures to the log (bounded, one line each)."""
    if not isinstance(logs, list):
        return 0
    lines = [_printable(str(line)[:500]) for line in logs[:MAX_LOG_LINES]]
    for line in lines:
        log.warning("apple wallet device log: %s", line)
    return len(lines)

"""Admin API keys: created by an admin (shown once), kept hashed, scoped to a console role."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.domain.errors import GatewayError, not_found
from gateway.models.api_key import ApiKey
from gateway.models.base import utcnow
from gateway.models.operator import ROLES
from gateway.services.operate.audit_trail import record_change
from gateway.services.operate.field_errors import FieldErrors

KEY_PREFIX = "gwa_"
PREFIX_LENGTH = 12
# last_used_at is written at most this often per key (not a write per request).
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewApiKey:
    """A created key: the row and the secret, which is never shown again."""

    key: ApiKey
    secret: str


def _digest(secret: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough (nothing to brute-force).
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(session: Session, actor: str, name: str, scope: str) -> NewApiKey:
    """A new key with `scope` (admin | marketer | support). Commits."""
    name = name.strip()
    problems: dict[str, str] = {}
    if not name or len(name) > 120:
        problems["name"] = "Give the key a name of 1 to 120 characters (who or what uses it)."
    if scope not in ROLES:
        problems["scope"] = "Choose admin, marketer or support."
    if problems:
        raise FieldErrors(problems)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        scope=scope,
        key_prefix=secret[:PREFIX_LENGTH],
        key_hash=_digest(secret),
        created_by=actor[:80],
    )
    session.add(key)
    session.flush()
    record_change(
        session,
        actor,
        "api_key.created",
        f"api_key:{key.id}",
        after={"name": name, "scope": scope, "prefix": key.key_prefix},
    )
    session.commit()
    return NewApiKey(key, secret)


def revoke_api_key(session: Session, actor: str, key_id: int) -> ApiKey:
    """Stop a key at once; revoking a revoked key changes nothing. Commits."""
    key = session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise not_found(f"API key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        record_change(
            session,
            actor,
            "api_key.revoked",
            f"api_key:{key.id}",
            before={"revoked": False},
            after={"revoked": True},
        )
    session.commit()
    return key


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first (hashes only; the secrets are not kept)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))


def authenticate(session: Session, secret: str) -> ApiKey | None:
    """The live key whose secret this is, or None. Commits the last-used time when due."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    digest = _digest(secret)
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    # The lookup is by hash; the compare keeps the final check constant-time all the same.
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_GRANULARITY:
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return key


def key_not_allowed(scope: str) -> GatewayError:
    """403 `forbidden` for a key used beyond its scope."""
    return GatewayError(
        "forbidden", f"this API key's scope ({scope}) does not allow this operation", 403
    )

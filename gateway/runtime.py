"""What the app builds once at start-up and every request shares (engine, keys, adapters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, cast

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.config import Settings
from gateway.secret_box import SecretBox

if TYPE_CHECKING:
    from gateway.adapters.crm import CrmPort
    from gateway.adapters.notifier import NotifierPort
    from gateway.credentials import Credentials
    from gateway.pos.checkout import CheckoutSigner
    from gateway.pos.settings import PosSettings
    from gateway.pos.store import PosStore
    from gateway.services.console.rate_limits import SignInLimiter
    from gateway.services.issue.rate_limits import EnrollmentLimiter
    from passes.apple.apns import ApnsClient
    from passes.apple.pkpass import PassAssets
    from passes.google.callbacks import RootKey
    from passes.google.client import WalletClient
    from passes.google.save_jwt import SaveJwtSigner

T = TypeVar("T")
# A program's image set as (number of images, highest image id): a new or deleted image changes it.
AssetsVersion = tuple[int, int | None]


@dataclass(frozen=True, slots=True)
class StartupFailure:
    """A configured part that could not be built at start-up.

    Start-up goes on (as when it was built on first use); every use raises the error again.
    """

    error: Exception


def available(part: T | StartupFailure) -> T:
    """The part, or its start-up error raised."""
    if isinstance(part, StartupFailure):
        raise part.error.with_traceback(None)
    return part


@dataclass
class Runtime:
    """Start-up state: built by create_app, read by services through `runtime()`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secret_box: SecretBox
    credentials: Credentials
    crm: CrmPort
    notifier: NotifierPort
    checkout_signer: CheckoutSigner
    pos_settings: PosSettings
    pos_store: PosStore
    enrollment_limiter: EnrollmentLimiter
    signin_limiter: SignInLimiter
    google_save_signer: SaveJwtSigner
    # None: not configured (objects stay queued).
    google_wallet: WalletClient | None
    # None: not configured (callbacks are refused with 503).
    google_root_keys: list[RootKey] | StartupFailure | None
    # None: not configured (no pushes).
    apns: ApnsClient | StartupFailure | None
    apple_assets: dict[int, tuple[AssetsVersion, PassAssets]] = field(default_factory=dict)
    google_classes_synced: set[int] = field(default_factory=set)

    def close(self) -> None:
        """Close the clients it owns (APNs, Google Wallet) and the connection pool."""
        if self.apns is not None and not isinstance(self.apns, StartupFailure):
            self.apns.close()
        if self.google_wallet is not None:
            self.google_wallet.close()
        self.engine.dispose()


def init_runtime(app: Flask, rt: Runtime) -> None:
    """Attach the runtime to the app and close the request session on teardown."""
    app.extensions["gateway"] = rt

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def runtime(app: Flask | None = None) -> Runtime:
    """The runtime of the given app, or of the current one."""
    target = app if app is not None else current_app
    return cast(Runtime, target.extensions["gateway"])


def request_session() -> Session:
    """The session of the current request (or CLI command), closed when the context ends."""
    session = g.get("db_session")
    if session is None:
        session = runtime().sessions()
        g.db_session = session
    return cast(Session, session)

"""What the app builds once at start-up and every request shares (engine, keys, adapters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.secret_box import SecretBox

if TYPE_CHECKING:
    from gateway.adapters.crm import CrmPort
    from gateway.adapters.notifier import NotifierPort
    from gateway.credentials import Credentials


@dataclass
class Runtime:
    """Start-up state: built by create_app, read by services through `runtime()`."""

    engine: Engine
    sessions: sessionmaker[Session]
    secret_box: SecretBox
    credentials: Credentials
    crm: CrmPort
    notifier: NotifierPort
    config: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        """Close the clients built on demand (APNs, Google) and the connection pool."""
        for value in self.extras.values():
            close = getattr(value, "close", None)
            if callable(close):
                close()
        self.extras.clear()
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

"""A local fake of the Google Wallet Objects REST API and Google's OAuth token endpoint.

Start it with ``with FakeGoogleWallet() as wallet:``; point a service-account JSON's
``token_uri`` at ``wallet.token_uri`` and the client's base URL at ``wallet.base_url``.
Resources live in ``wallet.store[<resource>]`` (``wallet.classes`` / ``wallet.objects`` for the
loyalty ones); every API call is recorded in ``wallet.requests``.
"""

from __future__ import annotations

import copy
import datetime
import json
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import exceptions as auth_exceptions
from google.auth import jwt
from google.oauth2 import service_account

if TYPE_CHECKING:
    import pytest

API_PREFIX = "/walletobjects/v1"
TOKEN_PATH = "/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth always addresses its assertion to Google's token endpoint, whatever token_uri says.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"

_CANONICAL = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def keep_google_auth_local(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop google-auth's background "regional access boundary" lookup for service accounts.

    After a token refresh, recent google-auth (2.62 here) calls iamcredentials.googleapis.com
    from a background thread; with the fake's tokens that is a pointless outbound request, so
    tests switch it off (an absent lookup URL is google-auth's own "skip" path).
    """
    monkeypatch.setattr(
        service_account.Credentials,
        "_build_regional_access_boundary_lookup_url",
        lambda self, request=None: None,
    )


@dataclass(frozen=True)
class FakeServiceAccount:
    """A throwaway service-account JSON (as a dict) and the PEM cert of its key."""

    info: dict[str, str]
    cert_pem: str

    @property
    def key_id(self) -> str:
        return self.info["private_key_id"]


def make_service_account(
    token_uri: str,
    *,
    client_email: str = "wallet-issuer@fake-project.iam.gserviceaccount.com",
) -> FakeServiceAccount:
    """Generate an RSA key and self-signed cert shaped like a Google service-account key file."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, client_email)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    info = {
        "type": "service_account",
        "project_id": "fake-project",
        "private_key_id": secrets.token_hex(20),
        "private_key": private_pem,
        "client_email": client_email,
        "client_id": "1" + "".join(secrets.choice("0123456789") for _ in range(20)),
        "token_uri": token_uri,
    }
    return FakeServiceAccount(info, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))


@dataclass(frozen=True)
class RecordedRequest:
    """One API call as the fake saw it (path is as sent, still percent-encoded)."""

    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class _Failure:
    status: int
    retry_after: str | None
    message: str


@dataclass
class _State:
    store: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    failures: deque[_Failure] = field(default_factory=deque)


class FakeGoogleWallet:
    """Real HTTP server on 127.0.0.1 in a background thread, speaking enough Wallet REST."""

    def __init__(
        self,
        *,
        service_account_certs: Mapping[str, str | bytes] | None = None,
        require_class: bool = False,
    ) -> None:
        """`service_account_certs` (kid -> PEM cert) makes the token endpoint verify signatures;
        without it (and before any `service_account()` call) any well-formed RS256 assertion passes.

        `require_class` makes object inserts fail with 404 when their classId is unknown.
        """
        self._certs = dict(service_account_certs) if service_account_certs else None
        self.require_class = require_class
        self._lock = threading.Lock()
        self._state = _State()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeGoogleWallet:
        """Begin serving in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-google-wallet",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeGoogleWallet:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # addresses -----------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return self.origin + API_PREFIX

    @property
    def token_uri(self) -> str:
        return self.origin + TOKEN_PATH

    def service_account(self, **kwargs: str) -> dict[str, str]:
        """A new service-account dict aimed at this fake, whose signatures it will verify."""
        account = make_service_account(self.token_uri, **kwargs)
        with self._lock:
            self._certs = {**(self._certs or {}), account.key_id: account.cert_pem}
        return account.info

    # inspection ----------------------------------------------------------------------------

    @property
    def store(self) -> dict[str, dict[str, dict[str, Any]]]:
        """All stored resources: resource name (e.g. "loyaltyObject") -> id -> body."""
        return self._state.store

    @property
    def classes(self) -> dict[str, dict[str, Any]]:
        return self._state.store.setdefault("loyaltyClass", {})

    @property
    def objects(self) -> dict[str, dict[str, Any]]:
        return self._state.store.setdefault("loyaltyObject", {})

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._state.requests

    @property
    def token_requests(self) -> list[dict[str, Any]]:
        """Claims of each accepted token-request assertion."""
        return self._state.token_requests

    @property
    def issued_tokens(self) -> frozenset[str]:
        return frozenset(self._state.tokens)

    # fault injection -----------------------------------------------------------------------

    def fail_next(
        self,
        n: int,
        status: int = 503,
        *,
        retry_after: float | str | None = None,
        message: str = "injected failure",
    ) -> None:
        """Answer the next `n` API calls with `status` (optionally with a Retry-After header)."""
        header = None if retry_after is None else str(retry_after)
        with self._lock:
            self._state.failures.extend(_Failure(status, header, message) for _ in range(n))

    def revoke_tokens(self) -> None:
        """Forget every issued access token, so the next API call gets 401."""
        with self._lock:
            self._state.tokens.clear()

    def reset(self) -> None:
        """Drop stored resources, recorded requests and pending failures (tokens stay valid)."""
        with self._lock:
            self._state.store.clear()
            self._state.requests.clear()
            self._state.failures.clear()

    # request handling (called from handler threads) ----------------------------------------

    def _issue_token(self, form: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type", [""])[0] != JWT_BEARER_GRANT:
            return 400, {"error": "unsupported_grant_type"}
        assertion = form.get("assertion", [""])[0]
        try:
            claims = self._check_assertion(assertion)
        except (ValueError, auth_exceptions.GoogleAuthError) as error:
            return 400, {"error": "invalid_grant", "error_description": str(error)}
        token = "fake-" + secrets.token_urlsafe(24)
        with self._lock:
            self._state.tokens.add(token)
            self._state.token_requests.append(claims)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def _check_assertion(self, assertion: str) -> dict[str, Any]:
        header = jwt.decode_header(assertion)  # type: ignore[no-untyped-call, unused-ignore]
        if header.get("alg") != "RS256":
            raise ValueError("assertion must be RS256")
        with self._lock:
            certs = self._certs
        if certs is not None:
            claims = jwt.decode(  # type: ignore[no-untyped-call, unused-ignore]
                assertion, certs=certs, audience=[self.token_uri, GOOGLE_TOKEN_AUDIENCE]
            )
        else:
            claims = jwt.decode(assertion, verify=False)  # type: ignore[no-untyped-call, unused-ignore]
        for claim in ("iss", "aud", "scope", "iat", "exp"):
            if claim not in claims:
                raise ValueError(f"assertion lacks {claim}")
        return dict(claims)

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            return scheme == "Bearer" and token in self._state.tokens

    def _next_failure(self) -> _Failure | None:
        with self._lock:
            return self._state.failures.popleft() if self._state.failures else None

    def _api(
        self, method: str, raw_path: str, body: Any, authorization: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        recorded = None if body is _INVALID_JSON else body
        with self._lock:
            self._state.requests.append(RecordedRequest(method, raw_path, recorded, authorization))
        if not self._authorized(authorization):
            return (*_error(401, "Request had invalid authentication credentials."), {})
        failure = self._next_failure()
        if failure is not None:
            headers = {} if failure.retry_after is None else {"Retry-After": failure.retry_after}
            return (*_error(failure.status, failure.message), headers)
        if body is _INVALID_JSON:
            return (*_error(400, "Invalid JSON payload received."), {})
        parts = [unquote(part) for part in raw_path[len(API_PREFIX) :].split("/") if part]
        with self._lock:
            return (*self._route(method, parts, body), {})

    def _route(self, method: str, parts: list[str], body: Any) -> tuple[int, dict[str, Any]]:
        if len(parts) == 1 and method == "POST":
            return self._insert(parts[0], body)
        if len(parts) == 2 and method in {"GET", "PATCH", "PUT"}:
            resources = self._state.store.get(parts[0], {})
            current = resources.get(parts[1])
            if current is None:
                return _error(404, f"Resource {parts[0]}/{parts[1]} not found.")
            if method == "GET":
                return 200, copy.deepcopy(current)
            if not isinstance(body, dict):
                return _error(400, "Request body must be a JSON object.")
            if "id" in body and body["id"] != parts[1]:
                return _error(400, "Body id does not match the resource id in the URL.")
            updated = {**current, **body} if method == "PATCH" else {**body, "id": parts[1]}
            resources[parts[1]] = updated
            return 200, copy.deepcopy(updated)
        return _error(404, f"No route for {method} /{'/'.join(parts)}.")

    def _insert(self, resource: str, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
            return _error(400, "Resource must have a string id.")
        resources = self._state.store.setdefault(resource, {})
        if body["id"] in resources:
            return _error(409, f"Resource {resource}/{body['id']} already exists.")
        if resource.endswith("Object") and self.require_class:
            class_resource = resource[: -len("Object")] + "Class"
            if body.get("classId") not in self._state.store.get(class_resource, {}):
                return _error(404, f"Class {body.get('classId')} not found.")
        resources[body["id"]] = copy.deepcopy(body)
        return 200, copy.deepcopy(body)


_INVALID_JSON = object()


def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    canonical = _CANONICAL.get(status, HTTPStatus(status).phrase.upper().replace(" ", "_"))
    return status, {"error": {"code": status, "message": message, "status": canonical}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self) -> None:
        fake: FakeGoogleWallet = self.server.fake  # type: ignore[attr-defined]
        raw = self._read_body()
        path = urlsplit(self.path).path
        if path == TOKEN_PATH and self.command == "POST":
            form = parse_qs(raw.decode("utf-8", "replace"))
            status, body = fake._issue_token(form)
            self._reply(status, body, {})
            return
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            parsed: Any = None
            if raw:
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    parsed = _INVALID_JSON
            status, body, headers = fake._api(
                self.command, path, parsed, self.headers.get("Authorization")
            )
            self._reply(status, body, headers)
            return
        status, body = _error(404, f"Unknown path {path}.")
        self._reply(status, body, {})

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

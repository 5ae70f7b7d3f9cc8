"""APNs client for Wallet pass updates: an empty push per device token, over HTTP/2.

Wallet only needs to be told "something changed" (payload `{}`, topic = pass type id); the device
then asks the web service which passes changed. Auth is either a provider token (.p8 key, ES256
JWT reused for ~50 minutes as Apple asks) or TLS client-certificate auth with the pass type
certificate. All pushes of one call share one HTTP/2 connection, as concurrent streams.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote

import certifi
import httpx
from google.auth import crypt, jwt

PRODUCTION_URL = "https://api.push.apple.com"
TOKEN_LIFETIME_SECONDS = 50 * 60
MAX_PARALLEL_STREAMS = 16
# Answers that mean "this device token will never work again": drop its registration.
DEAD_TOKEN_STATUSES = frozenset({410})
DEAD_TOKEN_REASONS = frozenset({"BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"})


class ApnsProviderToken:
    """The `authorization: bearer <jwt>` header value, re-signed only when it gets old."""

    def __init__(
        self, p8_pem: bytes, key_id: str, team_id: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._signer = crypt.ES256Signer.from_string(p8_pem, key_id)
        self._team_id = team_id
        self._clock = clock
        self._lock = threading.Lock()
        self._value = ""
        self._issued_at = 0.0

    def header(self) -> str:
        """A valid bearer header; the same one for ~50 minutes."""
        with self._lock:
            now = self._clock()
            if not self._value or now - self._issued_at >= TOKEN_LIFETIME_SECONDS:
                claims = {"iss": self._team_id, "iat": int(now)}
                token: bytes = jwt.encode(self._signer, claims)  # type: ignore[no-untyped-call]
                self._value = f"bearer {token.decode()}"
                self._issued_at = now
            return self._value


@dataclass(frozen=True, slots=True)
class PushResult:
    """What APNs answered for one device token (status 0: no answer)."""

    device_token: str
    status: int
    reason: str = ""

    @property
    def delivered(self) -> bool:
        """APNs accepted the push."""
        return self.status == 200

    @property
    def token_is_dead(self) -> bool:
        """The registration should be dropped."""
        return self.status in DEAD_TOKEN_STATUSES or self.reason in DEAD_TOKEN_REASONS


def _tls_context(
    client_cert: tuple[str, str] | None, key_password: bytes | None, ca_file: str | None
) -> ssl.SSLContext:
    """Server checked against `ca_file` (default: certifi's roots, which include Apple's);
    with a client certificate, TLS authenticates the provider (certificate-based APNs)."""
    context = ssl.create_default_context(cafile=ca_file or certifi.where())
    if client_cert is not None:
        context.load_cert_chain(client_cert[0], client_cert[1], password=key_password)
    return context


class ApnsClient:
    """Pushes "pass changed" to Wallet devices; one HTTP/2 connection, reused across calls."""

    def __init__(
        self,
        topic: str,
        *,
        base_url: str = PRODUCTION_URL,
        provider_token: ApnsProviderToken | None = None,
        client_cert: tuple[str, str] | None = None,
        client_key_password: bytes | None = None,
        ca_file: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        if provider_token is None and client_cert is None:
            raise ValueError("APNs needs a provider token or a client certificate")
        self._topic = topic
        self._base_url = base_url.rstrip("/")
        self._provider_token = provider_token
        # A cleartext URL (tests, a local relay) speaks HTTP/2 with prior knowledge.
        cleartext = self._base_url.startswith("http://")
        self._http = httpx.Client(
            http1=not cleartext,
            http2=True,
            verify=_tls_context(client_cert, client_key_password, ca_file),
            timeout=timeout_seconds,
            limits=httpx.Limits(max_connections=2),
        )

    def close(self) -> None:
        """Close the connection."""
        self._http.close()

    def push(self, device_tokens: Iterable[str]) -> list[PushResult]:
        """Send one empty push per token, concurrently on the shared connection."""
        tokens = list(dict.fromkeys(device_tokens))
        if not tokens:
            return []
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_STREAMS, len(tokens))) as pool:
            return list(pool.map(self._push_one, tokens))

    def _push_one(self, device_token: str) -> PushResult:
        headers = {"apns-topic": self._topic, "apns-priority": "5"}
        if self._provider_token is not None:
            headers["authorization"] = self._provider_token.header()
        try:
            response = self._http.post(
                f"{self._base_url}/3/device/{quote(device_token, safe='')}",
                content=b"{}",
                headers=headers,
            )
        except httpx.HTTPError as exc:
            return PushResult(device_token, 0, type(exc).__name__)
        reason = ""
        if response.status_code != 200:
            try:
                reason = str(response.json().get("reason", ""))
            except ValueError:
                reason = ""
        return PushResult(device_token, response.status_code, reason)

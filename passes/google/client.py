"""Google Wallet REST client: insert-or-patch, get and patch, with retries and a throttle."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

WALLET_SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"
DEFAULT_BASE_URL = "https://walletobjects.googleapis.com/walletobjects/v1"
_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class WalletApiUnavailable(Exception):
    """Google Wallet could not be reached, or kept answering 429/5xx after all retries."""


class WalletApiError(Exception):
    """Google Wallet rejected the request (a 4xx other than 408/429)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Google Wallet API error {status}: {message}")
        self.status = status
        self.message = message


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", body["error"]))
    return str(body)[:500]


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class WalletClient:
    """Talks to the Wallet Objects API as the issuer's service account."""

    def __init__(
        self,
        service_account_info: Mapping[str, Any],
        base_url: str = DEFAULT_BASE_URL,
        *,
        max_retries: int = 3,
        backoff_seconds: float = 0.5,
        min_interval_seconds: float = 0.05,
        timeout_seconds: float = 10.0,
        max_backoff_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`sleep` is used for retry backoff only (tests may record it instead of waiting)."""
        credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            dict(service_account_info), scopes=[WALLET_SCOPE]
        )
        self._session = AuthorizedSession(  # type: ignore[no-untyped-call]
            credentials, refresh_timeout=timeout_seconds
        )
        self._base_url = base_url.rstrip("/")
        self._max_retries = max_retries
        self._backoff_seconds = backoff_seconds
        self._max_backoff_seconds = max_backoff_seconds
        self._min_interval_seconds = min_interval_seconds
        self._timeout_seconds = timeout_seconds
        self._sleep = sleep
        self._throttle_lock = threading.Lock()
        self._next_slot = 0.0

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> WalletClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def upsert_class(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Insert a loyalty class; if it already exists (409), patch it instead."""
        return self._upsert("loyaltyClass", body)

    def upsert_object(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Insert a loyalty object; if it already exists (409), patch it instead."""
        return self._upsert("loyaltyObject", body)

    def patch_object(self, object_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Patch the given fields of a loyalty object."""
        return self._call("PATCH", self._resource_url("loyaltyObject", object_id), body)

    def get_object(self, object_id: str) -> dict[str, Any]:
        """Fetch a loyalty object."""
        return self._call("GET", self._resource_url("loyaltyObject", object_id), None)

    def _upsert(self, resource: str, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self._call("POST", f"{self._base_url}/{resource}", body)
        except WalletApiError as error:
            if error.status != 409:
                raise
        return self._call("PATCH", self._resource_url(resource, str(body["id"])), body)

    def _resource_url(self, resource: str, resource_id: str) -> str:
        return f"{self._base_url}/{resource}/{quote(resource_id, safe='')}"

    def _call(self, method: str, url: str, body: Mapping[str, Any] | None) -> dict[str, Any]:
        attempt = 0
        while True:
            delay = self._backoff_seconds * 2**attempt
            try:
                response = self._send(method, url, body)
            except (requests.ConnectionError, requests.Timeout) as error:
                if attempt >= self._max_retries:
                    raise WalletApiUnavailable(f"{method} {url}: {error}") from error
            except auth_exceptions.TransportError as error:
                if attempt >= self._max_retries:
                    raise WalletApiUnavailable(f"token endpoint unreachable: {error}") from error
            except auth_exceptions.RefreshError as error:
                if not error.retryable:
                    raise WalletApiError(401, f"access token refused: {error}") from error
                if attempt >= self._max_retries:
                    raise WalletApiUnavailable(f"token endpoint failing: {error}") from error
            else:
                if response.status_code < 300:
                    return self._json(response)
                if response.status_code not in _RETRYABLE_STATUSES:
                    raise WalletApiError(response.status_code, _error_message(response))
                if attempt >= self._max_retries:
                    raise WalletApiUnavailable(
                        f"{method} {url}: HTTP {response.status_code} after {attempt + 1} tries"
                    )
                delay = max(delay, _retry_after_seconds(response) or 0.0)
            attempt += 1
            self._sleep(min(delay, self._max_backoff_seconds))

    def _send(self, method: str, url: str, body: Mapping[str, Any] | None) -> requests.Response:
        self._throttle()
        response: requests.Response = self._session.request(  # type: ignore[no-untyped-call]
            method,
            url,
            json=None if body is None else dict(body),
            timeout=self._timeout_seconds,
        )
        return response

    def _throttle(self) -> None:
        """Space requests at least min_interval_seconds apart across threads."""
        with self._throttle_lock:
            now = time.monotonic()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + self._min_interval_seconds
        if wait > 0:
            time.sleep(wait)

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError as error:
            raise WalletApiError(response.status_code, "response is not JSON") from error
        if not isinstance(body, dict):
            raise WalletApiError(response.status_code, "response is not a JSON object")
        return body

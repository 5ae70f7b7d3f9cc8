"""A small typed client for POS protocol v1, the one a till vendor would embed.

Every POST gets one Idempotency-Key per logical call (a uuid4, or the caller's own), and every
retry of that call sends the same key, so a retried redemption has exactly one effect. Retried:
connection errors, timeouts, 5xx, 409 `idempotency_in_progress`, and 429 (after Retry-After).

    with PosClient("https://gw.example", terminal_key) as pos:
        checkout = pos.identify(scanned_text)
        result = pos.redeem(checkout.checkout.token, reward_id="coffee")
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import requests

# The protocol's constants, spelled here (not imported from pos_adapter.openapi) so the SDK ships
# as this one module plus requests; tests check they match the published document.
BASE_PATH = "/pos/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "wallet-gateway-pos-client/1"
MAX_RETRY_AFTER_SECONDS = 60.0
_TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)

Amount = Decimal | int | float | str
Json = dict[str, Any]


class PosError(Exception):
    """A non-2xx answer (or no answer at all): the contract's code, message and HTTP status."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int,
        *,
        field: str | None = None,
        retry_after: float | None = None,
        body: Json | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.field = field
        self.retry_after = retry_after
        self.body = body or {}


class PosConnectionError(PosError):
    """The gateway could not be reached (or did not answer in time) after every retry."""

    def __init__(self, message: str) -> None:
        super().__init__("connection_error", message, 0)


@dataclass(frozen=True, slots=True)
class Order:
    """A till order; `total` and `currency` go together (accruals need both)."""

    id: str
    total: Amount | None = None
    currency: str | None = None

    def to_json(self) -> Json:
        """The order as the protocol spells it (amounts as decimal strings)."""
        body: Json = {"id": self.id}
        if self.total is not None:
            body["total"] = _amount(self.total)
        if self.currency is not None:
            body["currency"] = self.currency
        return body


@dataclass(frozen=True, slots=True)
class Balance:
    """Points on the account, and how many of them are held."""

    points: int
    held: int

    @property
    def available(self) -> int:
        """Points that can be spent now."""
        return self.points - self.held


@dataclass(frozen=True, slots=True)
class Checkout:
    """A short-lived checkout opened by identify."""

    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Card:
    """The card as a till may see it."""

    number: str
    status: str
    wallet: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """What a cashier may know about the cardholder."""

    display_name: str
    tier: str


@dataclass(frozen=True, slots=True)
class RewardOffer:
    """A reward offered at this checkout."""

    id: str
    name: str
    cost_points: int
    available: bool


@dataclass(frozen=True, slots=True)
class Identification:
    """The answer to identify."""

    checkout: Checkout
    card: Card
    member: Member
    balance: Balance
    rewards: tuple[RewardOffer, ...]
    raw: Json = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Redemption:
    """A redemption: `status` is held, captured, voided or released; `discount` is
    {"percent": n} when a discount reward asks the till to take money off."""

    id: str
    status: str
    points: int
    reward: Json | None = None
    discount: Json | None = None


@dataclass(frozen=True, slots=True)
class RedemptionResult:
    """The answer to redeem, capture and void."""

    redemption: Redemption
    balance: Balance
    raw: Json = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Accrual:
    """Points earned on one order."""

    id: str
    points: int


@dataclass(frozen=True, slots=True)
class AccrualResult:
    """The answer to accrue; `repeated` when the order was already accrued (HTTP 200)."""

    accrual: Accrual
    balance: Balance
    repeated: bool
    raw: Json = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class RefundResult:
    """The answer to refund: what moved (`refund`, as sent by the gateway) and the balance."""

    refund: Json
    balance: Balance
    raw: Json = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class CardStatus:
    """The answer to a card lookup."""

    card: Card
    member: Member | None
    balance: Balance
    raw: Json = field(repr=False, compare=False)


class PosClient:
    """POS protocol v1 over HTTP(S) with retries that reuse the Idempotency-Key."""

    def __init__(
        self,
        base_url: str,
        terminal_key: str,
        *,
        timeout: float = 10,
        max_retries: int = 3,
        backoff: float = 0.2,
        session: requests.Session | None = None,
    ) -> None:
        root = base_url.rstrip("/")
        self.base_url = root.removesuffix(BASE_PATH)
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff = max(0.0, backoff)
        self._own_session = session is None
        self._session = session or requests.Session()
        self._headers = {
            "Authorization": f"Bearer {terminal_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._sleep: Callable[[float], None] = time.sleep

    def __enter__(self) -> PosClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (only if this client created it)."""
        if self._own_session:
            self._session.close()

    # --- protocol calls -------------------------------------------------------------------

    def identify(self, scan: str, *, idempotency_key: str | None = None) -> Identification:
        """Open a checkout from the raw scanner string."""
        _, body = self._post("/identify", {"scan": scan}, idempotency_key)
        return Identification(
            checkout=Checkout(
                token=_str(body, "checkout", "token"),
                expires_at=_datetime(_get(body, "checkout", "expires_at")),
            ),
            card=_card(_obj(body, "card")),
            member=_member(_obj(body, "member")),
            balance=_balance(body),
            rewards=tuple(
                RewardOffer(
                    id=str(_get(item, "id")),
                    name=str(_get(item, "name")),
                    cost_points=int(_get(item, "cost_points")),
                    available=bool(_get(item, "available")),
                )
                for item in _list(body, "rewards")
            ),
            raw=body,
        )

    def redeem(
        self,
        checkout: str,
        reward_id: str | None = None,
        points: int | None = None,
        order: Order | Mapping[str, Any] | None = None,
        capture: bool = True,
        idempotency_key: str | None = None,
    ) -> RedemptionResult:
        """Spend a reward or points in a checkout; `capture=False` only holds them."""
        if (reward_id is None) == (points is None):
            raise ValueError("give exactly one of reward_id and points")
        body: Json = {"checkout": checkout, "capture": capture}
        if reward_id is not None:
            body["reward_id"] = reward_id
        else:
            body["points"] = points
        if order is not None:
            body["order"] = _order(order)
        _, answer = self._post("/redemptions", body, idempotency_key)
        return _redemption_result(answer)

    def capture(
        self, redemption_id: str, *, idempotency_key: str | None = None
    ) -> RedemptionResult:
        """Capture a held redemption."""
        path = f"/redemptions/{quote(redemption_id, safe='')}/capture"
        return _redemption_result(self._post(path, None, idempotency_key)[1])

    def void(self, redemption_id: str, *, idempotency_key: str | None = None) -> RedemptionResult:
        """Void a held or captured redemption; its points return once."""
        path = f"/redemptions/{quote(redemption_id, safe='')}/void"
        return _redemption_result(self._post(path, None, idempotency_key)[1])

    def accrue(
        self,
        order: Order | Mapping[str, Any],
        checkout: str | None = None,
        card_number: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> AccrualResult:
        """Earn points on an order, by checkout token or by bare card number."""
        if (checkout is None) == (card_number is None):
            raise ValueError("give exactly one of checkout and card_number")
        body: Json = {"order": _order(order)}
        if checkout is not None:
            body["checkout"] = checkout
        else:
            body["card_number"] = card_number
        status, answer = self._post("/accruals", body, idempotency_key)
        accrual = _obj(answer, "accrual")
        return AccrualResult(
            accrual=Accrual(id=str(_get(accrual, "id")), points=int(_get(accrual, "points"))),
            balance=_balance(answer),
            repeated=status == 200,
            raw=answer,
        )

    def refund(
        self,
        order_id: str,
        refund_total: Amount,
        *,
        refund_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> RefundResult:
        """Refund (part of) an order; `refund_id` tells two equal partial refunds apart."""
        order: Json = {"id": order_id, "refund_total": _amount(refund_total)}
        if refund_id is not None:
            order["refund_id"] = refund_id
        _, answer = self._post("/refunds", {"order": order}, idempotency_key)
        refund = answer.get("refund")
        return RefundResult(
            refund=refund if isinstance(refund, dict) else {},
            balance=_balance(answer),
            raw=answer,
        )

    def card(self, number: str) -> CardStatus:
        """Card status and balance by card number (no code needed)."""
        _, body = self._send("GET", f"/cards/{quote(number, safe='')}", None, None)
        member = body.get("member")
        return CardStatus(
            card=_card(_obj(body, "card")),
            member=_member(member) if isinstance(member, dict) else None,
            balance=_balance(body),
            raw=body,
        )

    # --- transport ------------------------------------------------------------------------

    def _post(self, path: str, body: Json | None, key: str | None) -> tuple[int, Json]:
        return self._send("POST", path, body, key or str(uuid.uuid4()))

    def _send(
        self, method: str, path: str, body: Json | None, key: str | None
    ) -> tuple[int, Json]:
        """One logical call: the same request (and key) on every attempt."""
        url = f"{self.base_url}{BASE_PATH}{path}"
        headers = dict(self._headers)
        if key is not None:
            headers[IDEMPOTENCY_HEADER] = key
        attempt = 0
        while True:
            try:
                response = self._session.request(
                    method, url, json=body, headers=headers, timeout=self.timeout
                )
            except _TRANSPORT_ERRORS as exc:
                if attempt >= self.max_retries:
                    raise PosConnectionError(f"{method} {path}: {type(exc).__name__}") from exc
                self._sleep(self._delay(attempt))
                attempt += 1
                continue
            if 200 <= response.status_code < 300:
                return response.status_code, _json_object(response)
            error = _error(response)
            if attempt >= self.max_retries or not _retryable(error):
                raise error
            self._sleep(
                self._delay(attempt) if error.retry_after is None
                else min(error.retry_after, MAX_RETRY_AFTER_SECONDS)
            )
            attempt += 1

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: backoff * 2**attempt, +-25%."""
        base: float = self.backoff * 2.0**attempt
        return base * random.uniform(0.75, 1.25)


def _retryable(error: PosError) -> bool:
    return (
        error.status >= 500
        or error.status == 429
        or (error.status == 409 and error.code == "idempotency_in_progress")
    )


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _json_object(response: requests.Response) -> Json:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise PosError("bad_response", "the gateway did not answer with a JSON object",
                       response.status_code)
    return data


def _error(response: requests.Response) -> PosError:
    """The PosError of a non-2xx answer; non-JSON answers (proxies) get `http_error`."""
    retry_after = _retry_after(response.headers.get("Retry-After"))
    try:
        data = response.json()
    except ValueError:
        data = None
    envelope = data.get("error") if isinstance(data, dict) else None
    if isinstance(envelope, dict) and isinstance(envelope.get("code"), str):
        field_name = envelope.get("field")
        return PosError(
            envelope["code"],
            str(envelope.get("message", "")),
            response.status_code,
            field=field_name if isinstance(field_name, str) else None,
            retry_after=retry_after,
            body=data,
        )
    text = response.text[:200] if response.text else (response.reason or "")
    return PosError("http_error", text, response.status_code, retry_after=retry_after)


def _amount(value: Amount) -> str | int | float:
    """Decimals travel as strings so no cent is lost to binary floats."""
    return str(value) if isinstance(value, Decimal) else value


def _order(order: Order | Mapping[str, Any]) -> Json:
    if isinstance(order, Order):
        return order.to_json()
    body = dict(order)
    for name in ("total", "refund_total"):
        if isinstance(body.get(name), Decimal):
            body[name] = str(body[name])
    return body


def _bad(path: tuple[str, ...]) -> PosError:
    return PosError("bad_response", f"the answer lacks {'.'.join(path)}", 200)


def _get(data: Any, *path: str) -> Any:
    current = data
    for name in path:
        if not isinstance(current, dict) or name not in current:
            raise _bad(path)
        current = current[name]
    return current


def _obj(data: Any, *path: str) -> Json:
    value = _get(data, *path)
    if not isinstance(value, dict):
        raise _bad(path)
    return value


def _list(data: Any, *path: str) -> list[Any]:
    value = _get(data, *path)
    if not isinstance(value, list):
        raise _bad(path)
    return value


def _str(data: Any, *path: str) -> str:
    return str(_get(data, *path))


def _datetime(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise PosError("bad_response", f"not a timestamp: {value!r}", 200) from None


def _balance(data: Json) -> Balance:
    balance = _obj(data, "balance")
    return Balance(points=int(_get(balance, "points")), held=int(_get(balance, "held")))


def _card(data: Json) -> Card:
    wallet = data.get("wallet")
    return Card(
        number=_str(data, "number"),
        status=_str(data, "status"),
        wallet=str(wallet) if wallet is not None else None,
    )


def _member(data: Json) -> Member:
    return Member(display_name=_str(data, "display_name"), tier=str(data.get("tier") or ""))


def _redemption_result(data: Json) -> RedemptionResult:
    redemption = _obj(data, "redemption")
    reward, discount = redemption.get("reward"), redemption.get("discount")
    return RedemptionResult(
        redemption=Redemption(
            id=_str(redemption, "id"),
            status=_str(redemption, "status"),
            points=int(_get(redemption, "points")),
            reward=reward if isinstance(reward, dict) else None,
            discount=discount if isinstance(discount, dict) else None,
        ),
        balance=_balance(data),
        raw=data,
    )

"""The OpenAPI 3.1 document of POS protocol v1, built in code from the contract (pos-api.md).

The document is what till vendors integrate against: paths, request and response schemas, the
error envelope with every machine code, bearer auth, and the Idempotency-Key header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

API_VERSION = "1.0.0"
BASE_PATH = "/pos/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 255

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One machine code of the error envelope, its HTTP status and what it means at the till."""

    code: str
    status: int
    meaning: str


ERROR_CODES: tuple[ErrorCode, ...] = (
    ErrorCode("malformed_scan", 400, "The scan is not a v1 payload (digits, one separator) or "
              "its card number fails the check digit; rescan or key it in again."),
    ErrorCode("invalid_json", 400, "The body is not a JSON object."),
    ErrorCode("bad_request", 400, "The HTTP request itself is malformed."),
    ErrorCode("idempotency_key_missing", 400, "A POST that changes points came without an "
              "Idempotency-Key header."),
    ErrorCode("idempotency_key_invalid", 400, "The Idempotency-Key is empty, not printable or "
              "longer than 255 characters."),
    ErrorCode("unauthorized", 401, "Missing, unknown or revoked terminal key."),
    ErrorCode("checkout_expired", 401, "The checkout token is unknown, expired or belongs to "
              "another terminal; scan the card again."),
    ErrorCode("checkout_required", 403, "The program shows a card only with an open checkout "
              "of this terminal for it: scan the card and pass `?checkout=<token>`."),
    ErrorCode("unknown_card", 404, "No card with this number in the terminal's program."),
    ErrorCode("not_found", 404, "Unknown redemption, order or resource."),
    ErrorCode("code_already_used", 409, "This one-time code was already accepted once; ask the "
              "customer to refresh the card (Apple) or wait for the next code (Google)."),
    ErrorCode("insufficient_points", 409, "The available balance (points minus held) does not "
              "cover the redemption."),
    ErrorCode("limit_reached", 409, "A per-member daily limit or the campaign budget is used up."),
    ErrorCode("reward_unavailable", 409, "The reward is switched off (kill switch), out of "
              "stock, or not for this member's tier."),
    ErrorCode("redemption_voided", 409, "The redemption was voided; it cannot be captured."),
    ErrorCode("hold_expired", 409, "The hold outlived its TTL and its points went back; "
              "redeem again."),
    ErrorCode("idempotency_in_progress", 409, "A request with the same Idempotency-Key is still "
              "running; retry with the same key after a short pause."),
    ErrorCode("card_revoked", 410, "The card was revoked; it cannot be used any more."),
    ErrorCode("validation_error", 422, "A field is missing, of the wrong type or out of range; "
              "`field` names it."),
    ErrorCode("code_rejected", 422, "The one-time code does not match this card; failed "
              "attempts are counted and lock the card."),
    ErrorCode("idempotency_key_reused", 422, "The Idempotency-Key was already used with a "
              "different body; use a new key for a new operation."),
    ErrorCode("currency_mismatch", 422, "The order's currency is not the program's: points "
              "are earned and refunded only in the program's currency. Redemptions are in "
              "points, so their order's currency is not checked."),
    ErrorCode("payload_too_large", 413, "The body is larger than 16 KiB."),
    ErrorCode("card_locked", 423, "Too many failed codes: the card is locked for scanning for a "
              "while."),
    ErrorCode("rate_limited", 429, "Too many requests; wait for Retry-After seconds."),
    ErrorCode("database_unavailable", 503, "The database could not be reached; nothing was "
              "written. Retry after Retry-After seconds with the same Idempotency-Key."),
    ErrorCode("internal_error", 500, "Unexpected failure on the gateway; retry with the same "
              "Idempotency-Key."),
)

_ERRORS = {error.code: error for error in ERROR_CODES}


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: Json, required: list[str] | None = None, description: str = "") -> Json:
    schema: Json = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if description:
        schema["description"] = description
    return schema


def _str(description: str, **extra: Any) -> Json:
    return {"type": "string", "description": description, **extra}


def _int(description: str, **extra: Any) -> Json:
    return {"type": "integer", "description": description, **extra}


_MONEY = {
    "type": ["number", "string"],
    "pattern": r"^[0-9]+(\.[0-9]{1,2})?$",
    "multipleOf": 0.01,
    "minimum": 0,
    "maximum": 10_000_000,
}
# What the server enforces on every free-text field: non-empty, no control characters.
PRINTABLE = r"^[^\u0000-\u001f\u007f]*[^\u0000-\u0020\u007f][^\u0000-\u001f\u007f]*$"

# A card number with a valid Luhn check digit (passes.codes), so the examples parse.
EXAMPLE_CARD = "7000000000000013"
# The shape of a real checkout token (gateway.pos.checkout: "co_" + unpadded urlsafe base64 of
# the 41-byte claim and a 16-byte tag, 79 characters), issued here under a throwaway key.
EXAMPLE_CHECKOUT = "co_AQAAAAAAAAAHAAAAAAAABBIAAAAAAAAEEgAAAAADhVsCAAAAAGlou8yQ0MbyZjKl-reTwlbFjwe2"
EXAMPLE_BALANCE = {"points": 1500, "held": 0}


def _schemas() -> Json:
    return {
        "ErrorCode": {
            "type": "string",
            "enum": [error.code for error in ERROR_CODES],
            "description": "Machine-readable error code; see the table in the description.",
        },
        "Error": _obj(
            {
                "error": _obj(
                    {
                        "code": _ref("ErrorCode"),
                        "message": _str("Text for the cashier."),
                        "field": _str("The offending field, for validation_error."),
                    },
                    ["code", "message"],
                )
            },
            ["error"],
            "The envelope of every non-2xx answer.",
        ),
        "Balance": _obj(
            {
                "points": _int("Points on the account (held points included).", minimum=0),
                "held": _int("Points held by uncaptured redemptions.", minimum=0),
            },
            ["points", "held"],
            "The member's balance; available = points - held.",
        ),
        "Checkout": _obj(
            {
                "token": _str("Short-lived token bound to this terminal and card; "
                              "required by redemptions."),
                "expires_at": _str("When the checkout expires (RFC 3339, UTC).",
                                   format="date-time"),
            },
            ["token", "expires_at"],
        ),
        "Card": _obj(
            {
                "number": _str("Public card number: 16 digits, Luhn check digit.",
                               pattern="^[0-9]{16}$"),
                "wallet": _str("The wallet whose pass was scanned.", enum=["apple", "google"]),
                "status": _str("Card status: active or revoked."),
                "locked_until": {"type": ["string", "null"], "format": "date-time",
                                 "description": "Set while scanning is locked after too many "
                                                "wrong codes (card lookup only)."},
            },
            ["number", "status"],
        ),
        "Member": _obj(
            {
                "display_name": _str("First name and last initial; no other personal data."),
                "tier": _str("Tier name."),
                "discount_percent": {"type": "number", "minimum": 0,
                                     "description": "The member's discount (identify only)."},
            },
            ["tier"],
        ),
        "RewardOffer": _obj(
            {
                "id": _str("Reward id to send in a redemption."),
                "name": _str("Reward name for the cashier."),
                "cost_points": _int("Price in points.", minimum=0),
                "available": {"type": "boolean",
                              "description": "Whether this member can take it now."},
            },
            ["id", "name", "cost_points", "available"],
        ),
        "Order": {
            **_obj(
                {
                    "id": _str("The till's order id; unique per store; printable.",
                               minLength=1, maxLength=100, pattern=PRINTABLE),
                    "total": {**_MONEY, "description": "Order total: a number or decimal "
                                                       "string, at most 2 decimals."},
                    "currency": _str("ISO 4217 currency code.", pattern="^[A-Z]{3}$"),
                },
                ["id"],
                "The till's order; total and currency go together.",
            ),
            "dependentRequired": {"total": ["currency"], "currency": ["total"]},
        },
        "AccrualOrder": {
            "allOf": [_ref("Order"), {"required": ["id", "total", "currency"]}],
            "description": "An order with its total and currency (points are earned on it).",
        },
        "RefundOrder": _obj(
            {
                "id": _str("The order id given at accrual/redemption.", minLength=1,
                           maxLength=100, pattern=PRINTABLE),
                "refund_total": {**_MONEY, "exclusiveMinimum": 0,
                                 "description": "Amount refunded on this order (> 0)."},
                "refund_id": _str("Tells two partial refunds of the same amount apart; "
                                  "without it they count as one retried refund.",
                                  minLength=1, maxLength=100, pattern=PRINTABLE),
                "total": {**_MONEY, "exclusiveMinimum": 0,
                          "description": "The order's full total. Required (422 "
                                         "`validation_error`, field order.total) when the "
                                         "gateway knows no total for the order, i.e. it was "
                                         "only redeemed on without one; else it must match."},
                "currency": _str("ISO 4217 currency of the refund; when sent it must be the "
                                 "program's (422 `currency_mismatch`).", pattern="^[A-Z]{3}$"),
            },
            ["id", "refund_total"],
        ),
        "IdentifyRequest": _obj(
            {"scan": _str("The raw string from the scanner: `<card number>-<one-time code>`.",
                          minLength=1)},
            ["scan"],
        ),
        "IdentifyResponse": _obj(
            {
                "checkout": _ref("Checkout"),
                "card": _ref("Card"),
                "member": _ref("Member"),
                "balance": _ref("Balance"),
                "rewards": {"type": "array", "items": _ref("RewardOffer")},
            },
            ["checkout", "card", "member", "balance", "rewards"],
        ),
        "RedemptionRequest": {
            **_obj(
                {
                    "checkout": _str("Checkout token from identify (non-empty).",
                                     minLength=1, maxLength=200, pattern=PRINTABLE),
                    "reward_id": _str("Redeem this reward (exclusive with points).",
                                      minLength=1, maxLength=64, pattern=PRINTABLE),
                    "points": _int("Redeem this many points (exclusive with reward_id).",
                                   minimum=1),
                    "order": _ref("Order"),
                    "capture": {"type": "boolean", "default": True,
                                "description": "false only holds the points (two-phase)."},
                },
                ["checkout"],
            ),
            "oneOf": [{"required": ["reward_id"]}, {"required": ["points"]}],
        },
        "Redemption": _obj(
            {
                "id": _str("Redemption id, for capture and void."),
                "status": _str("held, captured, voided, or released (hold expired).",
                               enum=["captured", "held", "voided", "released"]),
                "points": _int("Points spent or held.", minimum=0),
                "reward": {
                    **_obj({"id": _str("Reward id."), "name": _str("Reward name.")}, ["id"]),
                    "description": "The redeemed reward, when redeemed by reward_id.",
                },
                "discount": {
                    **_obj({"percent": {"type": "number", "minimum": 0, "maximum": 100}},
                           ["percent"]),
                    "description": "Discount the till applies for a discount reward.",
                },
                "hold_expires_at": _str("When an uncaptured hold returns by itself.",
                                        format="date-time"),
            },
            ["id", "status", "points"],
        ),
        "RedemptionResponse": _obj(
            {"redemption": _ref("Redemption"), "balance": _ref("Balance")},
            ["redemption", "balance"],
        ),
        "AccrualRequest": {
            **_obj(
                {
                    "checkout": _str("Checkout token from identify (non-empty).",
                                     minLength=1, maxLength=200, pattern=PRINTABLE),
                    "card_number": _str("Bare card number (if the program allows it).",
                                        pattern="^[0-9]{16}$"),
                    "order": _ref("AccrualOrder"),
                },
                ["order"],
            ),
            "oneOf": [{"required": ["checkout"]}, {"required": ["card_number"]}],
        },
        "Accrual": _obj(
            {
                "id": _str("Accrual id."),
                "points": _int("Points earned.", minimum=0),
                "order_id": _str("The order accrued."),
            },
            ["id", "points"],
        ),
        "AccrualResponse": _obj(
            {
                "accrual": _ref("Accrual"),
                "balance": _ref("Balance"),
                "member": _obj({"tier": _str("Tier after this accrual (it may go up).")}),
            },
            ["accrual", "balance"],
        ),
        "RefundRequest": _obj({"order": _ref("RefundOrder")}, ["order"]),
        "RefundResponse": _obj(
            {
                "refund": _obj(
                    {
                        "id": _str("Refund id."),
                        "order_id": _str("The refunded order."),
                        "refund_total": _str("The amount refunded, as a decimal string."),
                        "points_reversed": _int("Accrued points taken back.", minimum=0),
                        "points_unrecovered": _int("Accrued points that could not be taken "
                                                   "back (already spent).", minimum=0),
                        "points_returned": _int("Redeemed points given back.", minimum=0),
                    },
                    ["id", "points_reversed", "points_returned"],
                    "What moved.",
                ),
                "balance": _ref("Balance"),
            },
            ["refund", "balance"],
        ),
        "CardResponse": _obj(
            {"card": _ref("Card"), "member": _ref("Member"), "balance": _ref("Balance")},
            ["card", "balance"],
        ),
    }


def _error_example(code: str) -> Json:
    return {"error": {"code": code, "message": _ERRORS[code].meaning}}


def _error_responses(*codes: str) -> Json:
    """Error responses of an endpoint, one per status, with one example per code."""
    by_status: dict[int, list[str]] = {}
    for code in (*codes, "unauthorized", "rate_limited", "internal_error", "database_unavailable"):
        status = _ERRORS[code].status
        if code not in by_status.setdefault(status, []):
            by_status[status].append(code)
    responses: Json = {}
    for status in sorted(by_status):
        names = by_status[status]
        response: Json = {
            "description": "Error: " + ", ".join(f"`{name}`" for name in names),
            "content": {
                "application/json": {
                    "schema": _ref("Error"),
                    "examples": {name: {"value": _error_example(name)} for name in names},
                }
            },
        }
        if status in (429, 503):
            response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
        responses[str(status)] = response
    return responses


def _json_body(schema: str, examples: Json) -> Json:
    return {
        "required": True,
        "content": {"application/json": {"schema": _ref(schema), "examples": examples}},
    }


def _ok(status: int, description: str, schema: str, example: Json) -> Json:
    return {
        str(status): {
            "description": description,
            "content": {"application/json": {"schema": _ref(schema), "example": example}},
        }
    }


_IDEMPOTENCY = {"$ref": "#/components/parameters/IdempotencyKey"}
_REDEMPTION_ID = {
    "name": "redemption_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The id returned by POST /pos/v1/redemptions.",
}


def _redemption_example(status: str) -> Json:
    return {
        "redemption": {
            "id": "rdm_8Xk2p",
            "status": status,
            "points": 500,
            "reward": {"id": "coffee", "name": "Free coffee"},
        },
        "balance": {"points": 1000 if status != "voided" else 1500,
                    "held": 500 if status == "held" else 0},
    }


def _paths() -> Json:
    order = {"id": "A-1042", "total": "12.50", "currency": "EUR"}
    accrual_example = {"accrual": {"id": "acr_51ZqT", "points": 18, "order_id": "A-1042"},
                       "balance": {"points": 1518, "held": 0}, "member": {"tier": "Gold"}}
    refund_example = {
        "refund": {"id": "rfd_2Lm9c", "order_id": "A-1042", "refund_total": "6.25",
                   "points_reversed": 9, "points_unrecovered": 0, "points_returned": 0},
        "balance": {"points": 1509, "held": 0},
    }
    identify_example = {
        "checkout": {"token": EXAMPLE_CHECKOUT, "expires_at": "2026-01-15T10:05:00Z"},
        "card": {"number": EXAMPLE_CARD, "wallet": "apple", "status": "active"},
        "member": {"display_name": "Ana L.", "tier": "Gold", "discount_percent": 10},
        "balance": EXAMPLE_BALANCE,
        "rewards": [
            {"id": "pastry", "name": "Pastry", "cost_points": 300, "available": True},
            {"id": "coffee", "name": "Free coffee", "cost_points": 500, "available": True},
            {"id": "mug", "name": "Branded mug", "cost_points": 1500, "available": False},
        ],
    }
    keyed = ("invalid_json", "payload_too_large", "idempotency_key_missing",
             "idempotency_key_invalid", "idempotency_key_reused", "idempotency_in_progress")
    redemption_errors = (*keyed, "validation_error", "checkout_expired",
                         "insufficient_points", "limit_reached", "reward_unavailable",
                         "not_found", "card_revoked")
    transition_errors = (*keyed, "not_found")
    return {
        f"{BASE_PATH}/identify": {
            "post": {
                "operationId": "identify",
                "tags": ["Checkout"],
                "summary": "Identify the cardholder from a scanned one-time code",
                "description": (
                    "Parses the scan, checks the card number's check digit, verifies the "
                    "one-time code (TOTP for Google passes, counter code for Apple passes) and "
                    "accepts it exactly once, then opens a short-lived checkout bound to this "
                    "terminal and card. Re-scanning the same code at the same terminal while "
                    "its checkout is open returns that checkout."
                ),
                "parameters": [{"$ref": "#/components/parameters/IdempotencyKeyOptional"}],
                "requestBody": _json_body(
                    "IdentifyRequest",
                    {"scan": {"value": {"scan": f"{EXAMPLE_CARD}-40338314"}}},
                ),
                "responses": {
                    **_ok(200, "The checkout, card, member, balance and rewards.",
                          "IdentifyResponse", identify_example),
                    **_error_responses("malformed_scan", "invalid_json", "payload_too_large",
                                       "idempotency_key_invalid", "idempotency_key_reused",
                                       "idempotency_in_progress", "unknown_card",
                                       "code_rejected", "code_already_used", "card_locked",
                                       "card_revoked"),
                },
            }
        },
        f"{BASE_PATH}/redemptions": {
            "post": {
                "operationId": "redeem",
                "tags": ["Redemptions"],
                "summary": "Redeem a reward or points within a checkout",
                "description": (
                    "Spends points (or a reward's price) from the checkout's card in one "
                    "transaction; the balance never goes below zero. With `capture: false` "
                    "the points are only held (two-phase); capture or void the hold later. "
                    "Held points not captured within the hold TTL (default 30 min) return by "
                    "themselves. An optional order's currency is recorded, not checked: "
                    "redemptions are in points, not money."
                ),
                "parameters": [_IDEMPOTENCY],
                "requestBody": _json_body(
                    "RedemptionRequest",
                    {
                        "reward": {"summary": "A reward from identify's list",
                                   "value": {"checkout": EXAMPLE_CHECKOUT,
                                             "reward_id": "coffee", "order": order}},
                        "points": {"summary": "Points, held for a later capture",
                                   "value": {"checkout": EXAMPLE_CHECKOUT, "points": 300,
                                             "capture": False}},
                    },
                ),
                "responses": {
                    **_ok(201, "The redemption and the new balance.", "RedemptionResponse",
                          _redemption_example("captured")),
                    **_error_responses(*redemption_errors),
                },
            }
        },
        f"{BASE_PATH}/redemptions/{{redemption_id}}/capture": {
            "post": {
                "operationId": "captureRedemption",
                "tags": ["Redemptions"],
                "summary": "Capture a held redemption (held -> captured)",
                "parameters": [_REDEMPTION_ID, _IDEMPOTENCY],
                "responses": {
                    **_ok(200, "The captured redemption.", "RedemptionResponse",
                          _redemption_example("captured")),
                    **_error_responses(*transition_errors, "redemption_voided",
                                       "hold_expired"),
                },
            }
        },
        f"{BASE_PATH}/redemptions/{{redemption_id}}/void": {
            "post": {
                "operationId": "voidRedemption",
                "tags": ["Redemptions"],
                "summary": "Void a held or captured redemption (points return exactly once)",
                "parameters": [_REDEMPTION_ID, _IDEMPOTENCY],
                "responses": {
                    **_ok(200, "The voided redemption.", "RedemptionResponse",
                          _redemption_example("voided")),
                    **_error_responses(*transition_errors),
                },
            }
        },
        f"{BASE_PATH}/accruals": {
            "post": {
                "operationId": "accrue",
                "tags": ["Accruals"],
                "summary": "Earn points on an order",
                "description": (
                    "Points from the order total with the tier multiplier, by checkout token or "
                    "by bare card number (program policy). An order id is accrued once per "
                    "store: a repeat returns the first accrual with 200, whatever the key. "
                    "The order must be in the program's currency (else 422 "
                    "`currency_mismatch`)."
                ),
                "parameters": [_IDEMPOTENCY],
                "requestBody": _json_body(
                    "AccrualRequest",
                    {
                        "checkout": {"value": {"checkout": EXAMPLE_CHECKOUT, "order": order}},
                        "card_number": {"value": {"card_number": EXAMPLE_CARD,
                                                  "order": order}},
                    },
                ),
                "responses": {
                    **_ok(201, "The accrual and the new balance.", "AccrualResponse",
                          accrual_example),
                    **_ok(200, "This store's order id was already accrued: the first accrual.",
                          "AccrualResponse", accrual_example),
                    **_error_responses(*keyed, "validation_error", "currency_mismatch",
                                       "checkout_expired", "unknown_card", "card_revoked"),
                },
            }
        },
        f"{BASE_PATH}/refunds": {
            "post": {
                "operationId": "refund",
                "tags": ["Refunds"],
                "summary": "Refund (part of) an order",
                "description": (
                    "Reverses the order's accrued points in proportion to the refunded amount "
                    "and returns points of redemptions tied to the order per program policy; "
                    "never twice, whatever the retries. An `order.currency`, when sent, must be "
                    "the program's (else 422 `currency_mismatch`)."
                ),
                "parameters": [_IDEMPOTENCY],
                "requestBody": _json_body(
                    "RefundRequest",
                    {"partial": {"value": {"order": {"id": "A-1042", "refund_total": "6.25"}}}},
                ),
                "responses": {
                    **_ok(201, "What moved and the new balance.", "RefundResponse",
                          refund_example),
                    **_ok(200, "The same refund again (a retry): its first result.",
                          "RefundResponse", refund_example),
                    **_error_responses(*keyed, "validation_error", "currency_mismatch",
                                       "not_found"),
                },
            }
        },
        f"{BASE_PATH}/cards/{{number}}": {
            "get": {
                "operationId": "getCard",
                "tags": ["Cards"],
                "summary": "Card status and balance (no code needed)",
                "description": (
                    "No personal data beyond display name and tier. Every lookup is audited; "
                    "a terminal gets CARD_LOOKUPS_PER_MINUTE (default 30) lookups a minute "
                    "(then 429 `rate_limited` with Retry-After), and an unknown number counts "
                    "toward the terminal's failed-scan lock like a rejected scan."
                ),
                "parameters": [{
                    "name": "number",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9]{16}$"},
                    "description": "The public card number.",
                }, {
                    "name": "checkout",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "An open checkout of this terminal for the card; required "
                                   "when the program's policy says so (else 403 "
                                   "`checkout_required`).",
                }],
                "responses": {
                    **_ok(200, "Card status and balance.", "CardResponse",
                          {"card": {"number": EXAMPLE_CARD, "status": "active",
                                    "locked_until": None},
                           "member": {"display_name": "Ana L.", "tier": "Gold"},
                           "balance": EXAMPLE_BALANCE}),
                    **_error_responses("malformed_scan", "checkout_required", "unknown_card"),
                },
            }
        },
    }


_DESCRIPTION = """\
JSON over HTTPS for tills. Every call carries `Authorization: Bearer <terminal key>`; a terminal
belongs to one store of one program. Keys are created by an operator
(`gateway terminals create --store <code>` prints the key once) and can be revoked.

**Flow:** scan -> `POST /pos/v1/identify` opens a checkout -> `POST /pos/v1/redemptions`
(optionally hold, then capture or void) -> `POST /pos/v1/accruals` for the order ->
`POST /pos/v1/refunds` if the order is refunded.

**Errors:** every non-2xx answer is `{"error": {"code": "...", "message": "..."}}`; branch on
`code`, show `message` to the cashier.

**Idempotency (Stripe semantics):** every POST that changes money or points requires an
`Idempotency-Key` header (at most 255 characters; 400 if missing). The first completed answer is
stored and replayed verbatim for the same key, terminal and body; a different body gives
`idempotency_key_reused`; a concurrent duplicate gives `idempotency_in_progress`. Keys are kept
at least 24 h. Generate one key per logical operation and reuse it on every retry. Independently,
an order id is unique per store: a second accrual for the same order returns the first accrual.
"""


def openapi_document(server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of POS protocol v1, served from `server_url`."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wallet-pass gateway: POS protocol",
            "version": API_VERSION,
            "summary": "Identify a loyalty card from a one-time code; redeem, accrue, refund.",
            "description": _DESCRIPTION,
        },
        "servers": [{"url": server_url.rstrip("/") or "/", "description": "This gateway"}],
        "security": [{"terminalKey": []}],
        "tags": [
            {"name": "Checkout", "description": "Scan a pass and open a checkout."},
            {"name": "Redemptions", "description": "Spend points, one-step or two-phase."},
            {"name": "Accruals", "description": "Earn points on an order."},
            {"name": "Refunds", "description": "Undo an order's points."},
            {"name": "Cards", "description": "Look a card up by number."},
        ],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "terminalKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The terminal key printed once by "
                                   "`gateway terminals create --store <code>`.",
                }
            },
            "parameters": {
                "IdempotencyKey": {
                    "name": IDEMPOTENCY_HEADER,
                    "in": "header",
                    "required": True,
                    "description": "One key per logical operation (e.g. a UUID), reused on "
                                   "every retry of it; kept at least 24 h.",
                    "schema": {"type": "string", "minLength": 1,
                               "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
                    "example": "5f0c1d9e-3b0a-4c47-9d8e-2f1a7b6c4e21",
                },
                "IdempotencyKeyOptional": {
                    "name": IDEMPOTENCY_HEADER,
                    "in": "header",
                    "required": False,
                    "description": "Accepted, not required: identify changes no points.",
                    "schema": {"type": "string", "minLength": 1,
                               "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
                },
            },
            "headers": {
                "RetryAfter": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer", "minimum": 0},
                }
            },
        },
        "x-error-codes": [
            {"code": error.code, "status": error.status, "meaning": error.meaning}
            for error in ERROR_CODES
        ],
    }

"""WalletClient against a real local HTTP fake of the Wallet API and token endpoint."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from passes.google.client import WalletApiError, WalletApiUnavailable, WalletClient
from tests.fakes.google_wallet_server import FakeGoogleWallet, keep_google_auth_local

CLASS_ID = "3388000000012345678.coffee"
OBJECT_ID = "3388000000012345678.member-42"


def _object(balance: int = 10) -> dict[str, Any]:
    return {
        "id": OBJECT_ID,
        "classId": CLASS_ID,
        "state": "ACTIVE",
        "loyaltyPoints": {"label": "Points", "balance": {"int": balance}},
    }


@pytest.fixture
def wallet(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogleWallet]:
    keep_google_auth_local(monkeypatch)
    with FakeGoogleWallet() as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(wallet: FakeGoogleWallet, sleeps: list[float]) -> Iterator[WalletClient]:
    with WalletClient(
        wallet.service_account(),
        wallet.base_url,
        max_retries=3,
        backoff_seconds=0.01,
        min_interval_seconds=0.0,
        timeout_seconds=5.0,
        sleep=sleeps.append,
    ) as wallet_client:
        yield wallet_client


def test_insert_object(client: WalletClient, wallet: FakeGoogleWallet) -> None:
    created = client.upsert_object(_object())
    assert created["id"] == OBJECT_ID
    assert wallet.objects[OBJECT_ID]["loyaltyPoints"]["balance"] == {"int": 10}
    assert [(r.method, r.path) for r in wallet.requests] == [
        ("POST", "/walletobjects/v1/loyaltyObject")
    ]
    assert client.get_object(OBJECT_ID)["classId"] == CLASS_ID


def test_second_insert_conflicts_then_patches(
    client: WalletClient, wallet: FakeGoogleWallet
) -> None:
    client.upsert_object(_object(balance=10))
    updated = client.upsert_object(_object(balance=99))
    assert updated["loyaltyPoints"]["balance"] == {"int": 99}
    assert wallet.objects[OBJECT_ID]["loyaltyPoints"]["balance"] == {"int": 99}
    assert [(r.method, r.path) for r in wallet.requests] == [
        ("POST", "/walletobjects/v1/loyaltyObject"),
        ("POST", "/walletobjects/v1/loyaltyObject"),
        ("PATCH", f"/walletobjects/v1/loyaltyObject/{OBJECT_ID}"),
    ]


def test_upsert_class_conflict_patches(client: WalletClient, wallet: FakeGoogleWallet) -> None:
    client.upsert_class({"id": CLASS_ID, "issuerName": "Bean", "reviewStatus": "UNDER_REVIEW"})
    client.upsert_class({"id": CLASS_ID, "issuerName": "Bean There"})
    assert wallet.classes[CLASS_ID]["issuerName"] == "Bean There"
    assert wallet.requests[-1].method == "PATCH"
    assert wallet.requests[-1].path == f"/walletobjects/v1/loyaltyClass/{CLASS_ID}"


def test_patch_object_updates_only_given_fields(
    client: WalletClient, wallet: FakeGoogleWallet
) -> None:
    client.upsert_object(_object(balance=10))
    client.patch_object(OBJECT_ID, {"state": "INACTIVE"})
    stored = wallet.objects[OBJECT_ID]
    assert stored["state"] == "INACTIVE"
    assert stored["loyaltyPoints"]["balance"] == {"int": 10}


def test_object_ids_are_url_encoded(client: WalletClient, wallet: FakeGoogleWallet) -> None:
    odd_id = "3388000000012345678.a/b c"
    client.upsert_object({**_object(), "id": odd_id})
    client.patch_object(odd_id, {"state": "EXPIRED"})
    encoded = "3388000000012345678.a%2Fb%20c"
    assert wallet.requests[-1].path == f"/walletobjects/v1/loyaltyObject/{encoded}"
    assert wallet.objects[odd_id]["state"] == "EXPIRED"


def test_transient_503s_are_retried(
    client: WalletClient, wallet: FakeGoogleWallet, sleeps: list[float]
) -> None:
    wallet.fail_next(2, status=503)
    client.upsert_object(_object())
    assert OBJECT_ID in wallet.objects
    assert [r.method for r in wallet.requests] == ["POST", "POST", "POST"]
    assert len(sleeps) == 2
    assert sleeps[1] > sleeps[0]  # exponential backoff, recorded rather than waited


def test_retry_after_is_respected(
    client: WalletClient, wallet: FakeGoogleWallet, sleeps: list[float]
) -> None:
    wallet.fail_next(1, status=429, retry_after=2)
    client.upsert_object(_object())
    assert sleeps == [2.0]


def test_persistent_503_is_unavailable(
    client: WalletClient, wallet: FakeGoogleWallet, sleeps: list[float]
) -> None:
    wallet.fail_next(10, status=503)
    with pytest.raises(WalletApiUnavailable):
        client.upsert_object(_object())
    assert len(wallet.requests) == 4  # the first try plus max_retries=3
    assert len(sleeps) == 3


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_api_is_unavailable(wallet: FakeGoogleWallet, sleeps: list[float]) -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}/walletobjects/v1"
    with (
        WalletClient(
            wallet.service_account(),
            base_url,
            max_retries=2,
            backoff_seconds=0.01,
            min_interval_seconds=0.0,
            sleep=sleeps.append,
        ) as unreachable,
        pytest.raises(WalletApiUnavailable),
    ):
        unreachable.get_object(OBJECT_ID)
    assert len(sleeps) == 2


def test_client_error_is_wallet_api_error(client: WalletClient, wallet: FakeGoogleWallet) -> None:
    with pytest.raises(WalletApiError) as caught:
        client.upsert_object({"classId": CLASS_ID, "id": ""})
    assert caught.value.status == 400
    assert "id" in caught.value.message
    wallet.fail_next(1, status=400, message="Invalid loyaltyPoints")
    with pytest.raises(WalletApiError) as caught:
        client.upsert_object(_object())
    assert caught.value.status == 400
    assert caught.value.message == "Invalid loyaltyPoints"
    assert len(wallet.requests) == 2  # no retries on 4xx


def test_unknown_object_is_404(client: WalletClient) -> None:
    with pytest.raises(WalletApiError) as caught:
        client.get_object("3388000000012345678.nobody")
    assert caught.value.status == 404


def test_requests_carry_the_issued_bearer_token(
    client: WalletClient, wallet: FakeGoogleWallet
) -> None:
    client.upsert_object(_object())
    client.get_object(OBJECT_ID)
    [token] = wallet.issued_tokens
    assert {r.authorization for r in wallet.requests} == {f"Bearer {token}"}
    [claims] = wallet.token_requests
    assert claims["scope"] == "https://www.googleapis.com/auth/wallet_object.issuer"
    assert claims["iss"] == "wallet-issuer@fake-project.iam.gserviceaccount.com"


def test_expired_token_is_refreshed_once(client: WalletClient, wallet: FakeGoogleWallet) -> None:
    client.upsert_object(_object())
    wallet.revoke_tokens()
    assert client.get_object(OBJECT_ID)["id"] == OBJECT_ID
    assert len(wallet.token_requests) == 2
    assert wallet.requests[-2].authorization != wallet.requests[-1].authorization


def test_fake_rejects_requests_without_a_valid_token(wallet: FakeGoogleWallet) -> None:
    import requests

    response = requests.get(
        f"{wallet.base_url}/loyaltyObject/{OBJECT_ID}",
        headers={"Authorization": "Bearer forged"},
        timeout=5,
    )
    assert response.status_code == 401
    response.close()


def test_fake_can_insist_on_the_class(wallet: FakeGoogleWallet, sleeps: list[float]) -> None:
    wallet.require_class = True
    with WalletClient(wallet.service_account(), wallet.base_url, sleep=sleeps.append) as strict:
        with pytest.raises(WalletApiError) as caught:
            strict.upsert_object(_object())
        assert caught.value.status == 404
        strict.upsert_class({"id": CLASS_ID, "issuerName": "Bean"})
        assert strict.upsert_object(_object())["classId"] == CLASS_ID

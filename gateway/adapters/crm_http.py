"""The HTTP CRM: a configurable REST member system, told of changes by signed webhooks.

Contract the CRM implements (documented in the README):
  GET  <base>/members?program=P&email=E | phone=T | card_number=N -> 200 {"members": [...]}
  POST <base>/members {program, email, phone, name, locale, consents} -> 201 member
  POST <base>/events  (signed webhook; one event, dedupe on "event_id") -> 2xx
"""

from __future__ import annotations

import json
from typing import Any

import requests

from gateway.adapters.crm import CrmMemberRecord, CrmUnavailable, NewMemberProfile
from gateway.adapters.webhook_signing import signed_headers


class HttpCrm:
    """A REST CRM behind a base URL, with an API key and a webhook secret."""

    def __init__(self, base_url: str, api_key: str, webhook_secret: str, timeout: float) -> None:
        self._base = base_url.rstrip("/")
        self._secret = webhook_secret
        self._timeout = timeout
        self._http = requests.Session()
        if api_key:
            self._http.headers["Authorization"] = f"Bearer {api_key}"

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self._http.request(
                method, self._base + path, timeout=self._timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise CrmUnavailable() from exc
        if response.status_code >= 500 or response.status_code in (401, 403, 429):
            raise CrmUnavailable()
        return response

    def find_member(
        self,
        program: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        card_number: str | None = None,
    ) -> CrmMemberRecord | None:
        """Ask by each known key in turn; the first hit wins."""
        for key, value in (("email", email), ("phone", phone), ("card_number", card_number)):
            if not value:
                continue
            response = self._call("GET", "/members", params={"program": program, key: value})
            if response.status_code == 404:
                continue
            members = self._json(response).get("members") or []
            if members:
                return self._member(members[0])
        return None

    def create_member(self, profile: NewMemberProfile, consents: dict[str, Any]) -> CrmMemberRecord:
        """Create the member with its consents."""
        body = {
            "program": profile.program,
            "email": profile.email,
            "phone": profile.phone,
            "name": profile.name,
            "locale": profile.locale,
            "consents": consents,
        }
        response = self._call("POST", "/members", json=body)
        if response.status_code not in (200, 201):
            raise CrmUnavailable("the CRM refused to create the member")
        return self._member(self._json(response))

    def deliver_event(self, event_id: str, kind: str, payload: dict[str, Any]) -> None:
        """POST one signed event; any non-2xx is a failure the outbox retries."""
        body = json.dumps(
            {"event_id": event_id, "type": kind, "data": payload}, separators=(",", ":")
        ).encode()
        response = self._call(
            "POST", "/events", data=body, headers=signed_headers(self._secret, event_id, body)
        )
        if not 200 <= response.status_code < 300:
            raise CrmUnavailable(f"the CRM answered {response.status_code} to an event")

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as exc:
            raise CrmUnavailable("the CRM answered something that is not JSON") from exc
        if not isinstance(data, dict):
            raise CrmUnavailable("the CRM answered an unexpected document")
        return data

    @staticmethod
    def _member(data: Any) -> CrmMemberRecord:
        try:
            return CrmMemberRecord.from_json(data)
        except (KeyError, ValueError, TypeError) as exc:
            raise CrmUnavailable("the CRM answered a malformed member record") from exc

"""Imports every outbox handler module so the handlers are registered."""

# Order matters for balance.changed: the Apple pass is marked updated before devices are pushed.
from gateway.services.keep_live import apple_updates  # noqa: I001
from gateway.services.keep_live import apple_push, crm_events, google_objects
from gateway.services.keep_live import pass_restyle
from gateway.services.keep_live import google_state, replacement_links  # card lifecycle

__all__ = [
    "apple_push",
    "apple_updates",
    "crm_events",
    "google_objects",
    "google_state",
    "pass_restyle",
    "replacement_links",
]

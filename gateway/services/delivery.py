"""Imports every outbox handler module so the handlers are registered."""

# Order matters for balance.changed: the Apple pass is marked updated before devices are pushed.
from gateway.services import apple_updates, apple_push, crm_events, google_objects  # noqa: I001

__all__ = ["apple_push", "apple_updates", "crm_events", "google_objects"]

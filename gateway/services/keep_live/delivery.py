"""Imports every outbox handler module so the handlers are registered."""

# Order matters for balance.changed: the Apple pass is marked updated before devices are pushed.
from gateway.services.keep_live import apple_updates  # noqa: I001
from gateway.services.keep_live import apple_push, crm_events, google_objects

__all__ = ["apple_push", "apple_updates", "crm_events", "google_objects"]

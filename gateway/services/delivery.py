"""Imports every outbox handler module so the handlers are registered."""

from gateway.services import apple_updates, crm_events, google_objects

__all__ = ["apple_updates", "crm_events", "google_objects"]

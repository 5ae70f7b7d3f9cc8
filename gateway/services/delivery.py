"""Imports every outbox handler module so the handlers are registered."""

from gateway.services import crm_events, google_objects

__all__ = ["crm_events", "google_objects"]

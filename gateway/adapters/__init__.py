"""Ports to the world outside the gateway (CRM, notifier), each with real and built-in adapters."""

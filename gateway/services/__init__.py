"""Use cases, one per module; the only layer that commits transactions."""

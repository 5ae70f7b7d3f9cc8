"""Admin API: stores (filled in by the console work on this area)."""

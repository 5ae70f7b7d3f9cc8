"""Admin API: api keys (filled in by the console work on this area)."""

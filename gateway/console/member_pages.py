"""Console pages: members (filled in by the console work on this area)."""

"""Console pages: programs (filled in by the console work on this area)."""

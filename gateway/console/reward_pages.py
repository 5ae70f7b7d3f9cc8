"""Console pages: rewards (filled in by the console work on this area)."""

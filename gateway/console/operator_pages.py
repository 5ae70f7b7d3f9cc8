"""Console pages: operators and their accounts (admins)."""

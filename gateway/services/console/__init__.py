"""Operator console use cases: accounts, sign-in, second factor."""

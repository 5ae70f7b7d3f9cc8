"""Periodic chores the worker runs; each is safe to run any number of times."""

"""Use cases outside the POS core, grouped by path: issue/, keep_live/, chores/; each commits."""

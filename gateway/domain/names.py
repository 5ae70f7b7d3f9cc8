"""How a member's name is shown to a cashier."""

from __future__ import annotations


def cashier_display_name(full_name: str) -> str:
    """First name and last initial ("Ana L."); "Member" when no name is known."""
    parts = full_name.split()
    if not parts:
        return "Member"
    return parts[0] if len(parts) == 1 else f"{parts[0]} {parts[-1][0]}."

"""`gateway points adjust`: an operator's correction of a member's points."""

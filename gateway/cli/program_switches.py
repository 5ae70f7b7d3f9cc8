"""`gateway programs pause|resume`: the program's kill switch."""

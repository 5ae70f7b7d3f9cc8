"""Pure rules: no Flask, no SQL, no I/O."""

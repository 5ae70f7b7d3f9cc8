"""Framework-free wallet-pass library: plain data in, bytes and URLs out (no gateway, no Flask)."""

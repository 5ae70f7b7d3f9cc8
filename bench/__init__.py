"""Throughput benchmarks (run as modules, e.g. `python -m bench.issuance`)."""

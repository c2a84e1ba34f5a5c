"""Benchmarks for aws-collector: run ``python -m benchmarks`` (see docs/performance.md)."""

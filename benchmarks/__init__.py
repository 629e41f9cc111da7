"""Benchmarks for docs/BENCHMARKS.md; `make bench` runs them."""

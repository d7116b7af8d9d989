"""Benchmarks: scripts that print numbers (not tests). `make bench` or `python -m benchmarks`."""

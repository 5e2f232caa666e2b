"""Benchmarks that print their figures; run each with `python -m bench.<name>`."""

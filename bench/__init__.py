"""Benchmarks: each prints one JSON object on stdout."""

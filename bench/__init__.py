"""Benchmarks: `make bench` runs them; each records its section in BENCHMARKS.md with the machine and date."""

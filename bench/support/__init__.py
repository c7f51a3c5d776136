"""Shared pieces of the benchmark scripts (not benchmarks themselves: `make bench` runs
only `bench/*.py`)."""

"""Benchmarks: one script per figure family, each measuring its baseline in the same run."""

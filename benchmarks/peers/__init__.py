"""Benchmark peers that are not part of the package (they need the ``bench`` extra)."""

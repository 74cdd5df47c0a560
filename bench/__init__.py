"""AIMA's benchmarks: one script per area (``bench_*.py``), all run by ``python -m bench``."""

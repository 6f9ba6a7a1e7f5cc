"""Benchmarks: each ``bench/bench_*.py`` prints its figures beside a baseline measured in
the same run. Run them all with ``python -m bench --store data/city.duckdb`` (or one with
``--only NAME``). They are not part of the test suite, and timings are never asserted.
"""

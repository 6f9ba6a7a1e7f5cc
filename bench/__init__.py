"""Benchmarks: each ``bench/bench_*.py`` prints its figures beside a baseline measured in
the same run. Run them all with ``python -m bench --store data/city.duckdb`` (or one with
``--only NAME``). They are not part of the test suite, and timings are never asserted.
"""

from __future__ import annotations

import ast
from pathlib import Path


def needs_store(module: Path) -> bool:
    """Whether a benchmark module reads a store: True unless it assigns
    ``NEEDS_STORE = False`` at its top level (read from its source, not imported)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "NEEDS_STORE" for t in node.targets):
            return not (isinstance(node.value, ast.Constant) and node.value.value is False)
    return True

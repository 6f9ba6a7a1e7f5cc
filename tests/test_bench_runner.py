"""The benchmark runner: which modules need a built store."""

from __future__ import annotations

from pathlib import Path

from bench import needs_store

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_the_detector_benchmark_runs_without_a_store_and_the_others_do_not():
    assert needs_store(BENCH / "bench_detector.py") is False
    for name in ("bench_store.py", "bench_pages.py", "bench_planning.py"):
        assert needs_store(BENCH / name) is True


def test_only_a_top_level_false_frees_a_module_from_the_store(tmp_path):
    cases = {
        "NEEDS_STORE = False\n": False,
        "NEEDS_STORE = True\n": True,
        "NEEDS_STORE = 0\n": True,                       # only False itself
        "def f():\n    NEEDS_STORE = False\n": True,      # not at the top level
        "x = 1\n": True,                                  # not said: needs one
    }
    for i, (source, expected) in enumerate(cases.items()):
        module = tmp_path / f"bench_{i}.py"
        module.write_text(source, encoding="utf-8")
        assert needs_store(module) is expected, source

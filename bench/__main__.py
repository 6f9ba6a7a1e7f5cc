"""Run every benchmark module (``bench/bench_*.py``), each with ``main(store_path)``."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--store", default="data/city.duckdb", help="store to benchmark")
    parser.add_argument("--only", help="run one module, e.g. store for bench_store.py")
    args = parser.parse_args()
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if args.only:
        names = [n for n in names if n == f"bench_{args.only}"]
    for name in names:
        print(f"\n=== {name} ===")
        importlib.import_module(f"bench.{name}").main(Path(args.store))
    return 0


raise SystemExit(main())

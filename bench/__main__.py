"""Run every benchmark module (``bench/bench_*.py``), each with ``main(store_path)``.

Each module runs in its own process, on its own copy of the store: one module's open
connection (read-write or read-only) never blocks the next, a store the app is serving is
never opened, and each module's peak memory is its own. A module that fails is reported
and the others still run; the exit status says whether all of them finished. A module that
sets ``NEEDS_STORE = False`` (the detector's, on series shipped with the tests) also runs
where no store has been built, and gets no copy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import needs_store

RUNNER = ("import sys, bench.{name} as m; from pathlib import Path; "
          "m.main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--store", default="data/city.duckdb", help="store to benchmark")
    parser.add_argument("--only", help="run one module, e.g. store for bench_store.py")
    args = parser.parse_args()
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if args.only:
        names = [n for n in names if n == f"bench_{args.only}"]
        if not names:
            print(f"no benchmark bench_{args.only}.py", file=sys.stderr)
            return 2
    source = Path(args.store)
    here = Path(__file__).parent
    if not source.is_file() and any(needs_store(here / f"{n}.py") for n in names):
        print(f"no store at {source}: build it with `make store`", file=sys.stderr)
        return 2
    failed = []
    with tempfile.TemporaryDirectory(prefix="citybrain-bench-") as tmp:
        for name in names:
            copy = Path(tmp) / f"{name}.duckdb"
            store_args = []
            if needs_store(here / f"{name}.py"):
                shutil.copyfile(source, copy)
                store_args = [str(copy)]
            print(f"\n=== {name} ===", flush=True)
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", RUNNER.format(name=name), *store_args])
            print(f"--- {name}: {'done' if proc.returncode == 0 else 'FAILED'} in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
            if proc.returncode != 0:
                failed.append(name)
            copy.unlink(missing_ok=True)
    if failed:
        print(f"\n{len(failed)} of {len(names)} benchmarks failed: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    print(f"\nall {len(names)} benchmarks finished")
    return 0


raise SystemExit(main())

"""The engine options shared by ``info``, ``plan coverage`` and ``export``."""

from __future__ import annotations

from pathlib import Path


def add_engine_options(p) -> None:
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb",
                   help="where the analysis runs: duckdb (default; the store, or the lake "
                   "with --lake) or spark (a lake, in local mode or on --spark)")
    p.add_argument("--lake", type=Path, metavar="DIR",
                   help="read this lake (Parquet by city and year) instead of the store")
    p.add_argument("--spark", metavar="URL",
                   help="a Spark Connect URL, e.g. sc://host:15002 (default: local mode)")


def uses_engine(args) -> bool:
    return args.engine != "duckdb" or args.lake is not None

"""Build a city store: stages in order, into a temporary file, then one atomic rename.

Each stage is a function of a :class:`BuildContext` that adds DataFrames to
``ctx.tables`` (and facts to ``ctx.meta``). Stages draw random numbers only from
``ctx.rng(stage)``, which is seeded by the build seed and the stage name, so the same seed
gives identical tables and adding a stage does not change the others' draws.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from analytics import geo, indicators, reference
from analytics.citygen import assets, boundaries, facilities, population, registry
from analytics.citygen import catalog as catalog_stage
from analytics.citygen.context import DATA_VINTAGE, FIRST_YEAR, LAST_YEAR, BuildConfig, BuildContext
from analytics.errors import CityBrainError
from analytics.opendata.registry import contract_tables
from analytics.population import years as population_years
from analytics.store import SCHEMA_VERSION, Store, StoreError


def _stages(synthetic: bool = True) -> list[tuple[str, Callable[[BuildContext], None]]]:
    if not synthetic:  # bring your own city: the layers come from department data only
        return [
            ("boundaries", boundaries.stage),
            ("cells", boundaries.cells_stage),
            ("catalog", catalog_stage.stage),
        ]
    return [
        ("boundaries", boundaries.stage),
        ("population", population.stage),
        ("facilities", facilities.stage),
        ("assets", assets.stage),
        ("registry", registry.stage),
        ("catalog", catalog_stage.stage),  # last: it describes every table built before it
    ]


#: Tables are written in this order, each sorted by its key (smaller, faster files).
SORT_KEYS = {
    "districts": ["adcode"],
    "cells": ["cell"],
    "population_cells": ["year", "cell", "age_group", "sex"],
    "population_districts": ["year", "district_adcode", "age", "sex"],
    "vital_events": ["year", "district_adcode"],
    "facilities": ["facility_id"],
    "care_subsidy_registry": ["district_adcode", "cell", "id_number"],
    "assets": ["asset_id"],
}


def parse_years(text: str) -> tuple[int, int]:
    """``2010-2025`` (or a single year) within the supported span, or a clear error."""
    try:
        parts = [int(p) for p in text.split("-")]
    except ValueError:
        raise CityBrainError(f"--years {text!r} is not a range like 2010-2025") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or parts[0] > parts[1]:
        raise CityBrainError(f"--years {text!r} is not a range like 2010-2025")
    first, last = parts
    if first < FIRST_YEAR or last > LAST_YEAR:
        raise CityBrainError(f"--years {text} is outside {FIRST_YEAR}-{LAST_YEAR}, the span the "
                             "store's figures and calibration cover")
    if not (first <= 2020 <= last):
        raise CityBrainError(f"--years {text} must include 2020, the census year the population "
                             "is calibrated on")
    return first, last


def _check_writable(out: Path) -> None:
    parent = out.parent if str(out.parent) else Path(".")
    if out.exists() and out.is_dir():
        raise CityBrainError(f"--out {out} is a directory; give a file path such as {out}/city.duckdb")
    if not parent.exists():
        try:
            parent.mkdir(parents=True)
        except OSError as exc:
            raise CityBrainError(f"cannot create {parent} for the store: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise CityBrainError(f"cannot write the store to {out}: {parent} is not writable "
                             "(choose another --out)")


def _check_city(config: BuildConfig) -> None:
    """Fail in a second, not after the boundaries stage, on a city or district we can't build."""
    city = geo.city(config.city_adcode)
    index = geo.district_index(config.city_adcode)
    unknown = sorted(set(config.districts) - set(index["adcode"]))
    if unknown:
        raise CityBrainError(f"--districts {','.join(map(str, unknown))} not in city "
                             f"{config.city_adcode}; its districts are "
                             f"{','.join(map(str, index['adcode']))}")
    reference.city_reference(config.city_adcode, city.name)


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(config: BuildConfig, progress: Callable[[str], None] | None = None) -> dict:
    """Build the store described by ``config`` atomically; return the stage timings.

    The store is written to ``<out>.tmp-<pid>`` and renamed over ``out`` only when
    complete, so an interrupted or failed build leaves the previous store untouched.
    """
    say = progress or (lambda message: None)
    _check_writable(config.out)
    _remove_stale(config.out)
    _check_city(config)
    ctx = BuildContext(config, progress=say)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    keep = _kept_from(config.out, config.replace)
    tmp = config.out.with_name(f"{config.out.name}.tmp-{os.getpid()}")
    _remove(tmp)
    try:
        store = Store.create(tmp)
    except Exception:
        _remove(tmp)
        raise
    try:
        _run_stages(ctx, store, tmp, timings)
        if keep:
            _carry_over(config.out, tmp, say)
        _keep_indicators(tmp, say, timings)
        os.replace(tmp, config.out)
    except BaseException:
        store.close()
        _remove(tmp)
        raise
    timings["total"] = time.perf_counter() - started
    say(f"[done] {config.out} in {timings['total']:.1f} s, "
        f"{config.out.stat().st_size / 1e6:.0f} MB, peak memory {peak_memory_mb():.0f} MB")
    return timings


#: What a rebuild never touches: accounts, applications, logs and department data (the
#: synthetic layers are rebuilt, these are carried over from the store being replaced).
KEPT_TABLES = ("users", "sessions", "login_attempts", "applications", "download_log",
               "access_decisions", "ingest_log", "ingest_current", "ingest_quality",
               "privacy_keys")


def _kept_tables() -> tuple[list[str], list[str]]:
    """The tables a rebuild carries over, and the department tables whose catalog rows go
    with them."""
    contracts = contract_tables()
    versions = sorted({c.versions_table for c in contracts.values()})
    return list(KEPT_TABLES) + versions, sorted({c.table for c in contracts.values()})


def _kept_from(out: Path, replace: bool) -> bool:
    """Whether the store at ``out`` holds what a rebuild keeps; refuses when it cannot be
    read to keep it (unless ``replace`` says to discard it)."""
    if replace or not out.exists():
        return False
    try:
        old = Store.open(out, read_only=True)
    except StoreError as exc:
        if "in use" in str(exc) or "schema version" in str(exc):
            raise CityBrainError(
                f"{out} holds accounts, applications, logs and department data that a rebuild "
                f"keeps, but it cannot be read to keep them ({str(exc).split(':', 1)[1].strip()}). "
                f"Stop the app and build again; or keep a copy (mv {out} {out}.old) and build "
                "with --replace to start without them") from None
        return False  # not a readable store at all: nothing to keep
    old.close()
    return True


def _carry_over(out: Path, tmp: Path, say: Callable[[str], None]) -> None:
    tables, dept = _kept_tables()
    with Store.open(tmp) as new:
        copied = new.carry_over(out, tables, datasets_of=dept)
        new.checkpoint()
    kept = ", ".join(f"{t} {n:,}" for t, n in copied.items() if n)
    say(f"[keep] accounts, applications, logs and department data: {kept or 'none yet'}")


def _keep_indicators(tmp: Path, say: Callable[[str], None], timings: dict[str, float]) -> None:
    """Every headline indicator of every year, computed once the store is complete (with
    what a rebuild kept) and kept in it, so a server starting on it has them at hand."""
    t0 = time.perf_counter()
    with Store.open(tmp) as store:
        if not population_years(store):
            say("[indicators] none kept: the store holds no population yet")
            return
        try:
            kept = indicators.store_values(store)
        except CityBrainError as exc:  # a page computes them, and says why, when it can
            say(f"[indicators] none kept: {exc}")
            return
        store.checkpoint()
    timings["indicators"] = time.perf_counter() - t0
    say(f"[indicators] {len(kept):,} values kept in {timings['indicators']:.1f} s")


def _remove_stale(out: Path) -> None:
    """Temporary files of builds that were killed (their process is gone)."""
    for path in out.parent.glob(f"{out.name}.tmp-*"):
        pid = path.name.removeprefix(f"{out.name}.tmp-").removesuffix(".wal")
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        except PermissionError:
            pass  # alive, another user's


def _remove(tmp: Path) -> None:
    for path in (tmp, tmp.with_name(tmp.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _run_stages(ctx: BuildContext, store: Store, tmp: Path, timings: dict[str, float]) -> None:
    say = ctx.progress
    for name, stage in _stages(ctx.config.synthetic):
        t0 = time.perf_counter()
        say(f"[{name}] …")
        stage(ctx)
        timings[name] = time.perf_counter() - t0
        say(f"[{name}] done in {timings[name]:.1f} s")

    t0 = time.perf_counter()
    say(f"[write] {tmp.name} …")
    with store.transaction() as cur:
        for table, frame in ctx.tables.items():
            store.write(table, frame, cur=cur, order_by=SORT_KEYS.get(table, ()))
            say(f"[write] {table}: {len(frame):,} rows")
        store.set_meta(_meta(ctx, timings), cur=cur)
    store.checkpoint()
    store.close()
    timings["write"] = time.perf_counter() - t0
    say(f"[write] done in {timings['write']:.1f} s")


def _meta(ctx: BuildContext, timings: dict[str, float]) -> dict[str, object]:
    c = ctx.config
    meta = {
        "schema_version": SCHEMA_VERSION,
        "city_adcode": c.city_adcode,
        "first_year": c.first_year,
        "last_year": c.last_year,
        "seed": c.seed,
        "districts": ",".join(map(str, c.districts)) if c.districts else "all",
        "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "build_id": uuid.uuid4().hex,  # tells two builds apart even within one second
        "build_seconds": round(sum(timings.values()), 1),
        "data_vintage": DATA_VINTAGE if c.synthetic else "no synthetic layers",
        "synthetic_layers": "all" if c.synthetic else "none",
        "python": sys.version.split()[0],
    }
    meta.update(ctx.meta)
    return meta

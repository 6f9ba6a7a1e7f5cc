"""A load is all or nothing: killed midway it leaves the previous version; readers never see a mix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_helpers import EXAMPLES, make_store, snapshot

from analytics.identity import Actor
from analytics.pooling import ingest
from analytics.store import Store

ADMIN = Actor("ada", "administrator")
STOPS = "transport_bus_stops"


def _second_version(tmp_path: Path) -> Path:
    """The example bus stops with every stop served by 99 routes (v1 has 1-24)."""
    table = pq.read_table(EXAMPLES / "transport_bus_stops.geoparquet")
    table = table.set_column(table.schema.get_field_index("routes"), "routes",
                             pa.array([99] * table.num_rows, pa.int64()))
    path = tmp_path / "stops_v2.geoparquet"
    pq.write_table(table, path)
    return path


def _state(store):
    frame = store.table("dept_bus_stops")
    return len(frame), int(frame["routes"].sum()) if len(frame) else 0, tuple(sorted(set(frame["version"])))


KILLED_LOAD = """
import sys, time
from pathlib import Path
from analytics.pooling import ingest
from analytics.identity import Actor
from analytics.store import Store
from analytics.pooling import read
read.BATCH_ROWS = 20
store = Store.open(sys.argv[1])
marker = Path(sys.argv[3])
def progress(done, total):
    marker.write_text(str(done))
    time.sleep(60)
ingest.load(store, sys.argv[2], "transport_bus_stops", Actor("ada", "administrator"),
            progress=progress)
"""


@pytest.mark.slow
def test_killed_load_leaves_previous_version(tmp_path):
    path = tmp_path / "city.duckdb"
    store = make_store(path)
    ingest.load(store, EXAMPLES / "transport_bus_stops.geoparquet", STOPS, ADMIN)
    before, state = snapshot(store), _state(store)
    store.close()
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_LOAD, str(path),
                             str(_second_version(tmp_path)), str(marker)])
    try:
        deadline = time.time() + 60
        while not marker.exists():
            assert proc.poll() is None, "the load process ended early"
            assert time.time() < deadline
            time.sleep(0.05)
        assert marker.read_text() == "20"  # killed with 20 of 80 rows written, uncommitted
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    store = Store.open(path)
    assert _state(store) == state == (80, state[1], (1,))
    assert snapshot(store) == before
    # and the store still takes the next load
    report = ingest.load(store, _second_version(tmp_path), STOPS, ADMIN)
    assert report.version == 2 and _state(store) == (80, 99 * 80, (2,))
    store.close()


def test_readers_see_old_or_new_never_a_mixture(tmp_path, monkeypatch):
    store = make_store()
    ingest.load(store, EXAMPLES / "transport_bus_stops.geoparquet", STOPS, ADMIN)
    old = _state(store)
    new = (80, 99 * 80, (2,))
    monkeypatch.setattr(ingest, "BATCH_ROWS", 10)
    seen: list = []
    started = threading.Event()

    def slow(done, total):
        started.set()
        time.sleep(0.15)

    worker = threading.Thread(target=ingest.load, args=(store, _second_version(tmp_path), STOPS,
                                                        ADMIN), kwargs={"progress": slow})
    worker.start()
    started.wait(10)
    while worker.is_alive():
        seen.append(_state(store))
    worker.join()
    seen.append(_state(store))
    assert set(seen) <= {old, new}, set(seen) - {old, new}
    assert seen.count(old) >= 3  # readers ran while the eight batches were being written
    assert seen[-1] == new
    assert json.loads(store.table("datasets").set_index("dataset_id").loc[STOPS, "columns_json"]
                      )[0]["name"] == "stop_id"

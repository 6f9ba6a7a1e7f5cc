"""The record of script runs on the server's clock (``dashboard.runlog``) and the browser
benchmark's server column read from it: the time recorded for a run is the time the run
took, checked against scripts whose runs take a known time (they sleep), not against a
target."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.runtime.scriptrunner import ScriptRunner
from streamlit.testing.v1 import AppTest

from bench import bench_browser as bb
from dashboard import runlog

ROOT = Path(__file__).resolve().parent.parent
SLEEP_S = 0.6
FRAGMENT_SLEEP_S = 0.2
#: What Streamlit adds around a script's body within the recorded run (finding the page,
#: compiling the script, the end of run bookkeeping): generous, the machine may be busy.
OVERHEAD_S = 1.0

TINY_APP = f'''
import time
import streamlit as st

t0 = time.time()
time.sleep({SLEEP_S})
st.title("Tiny")
st.session_state["body"] = (t0, time.time())


@st.fragment
def part():
    year = st.selectbox("Year", [2024, 2025], key="year")
    time.sleep({FRAGMENT_SLEEP_S} if year == 2025 else 0)
    st.header(f"Year {{year}}")


part()
'''


@pytest.fixture()
def recorded(tmp_path, monkeypatch):
    monkeypatch.delenv(runlog.SETTING, raising=False)
    path = tmp_path / "runs.jsonl"
    yield path
    runlog.uninstall()


def test_off_by_default(recorded):
    original = ScriptRunner.__init__
    assert runlog.install() is None
    assert ScriptRunner.__init__ is original
    at = AppTest.from_string(TINY_APP).run()
    assert not at.exception
    assert not recorded.exists()


def test_a_run_is_timed_from_its_start_to_its_end(recorded, monkeypatch):
    monkeypatch.setenv(runlog.SETTING, str(recorded))
    assert runlog.install() == recorded
    at = AppTest.from_string(TINY_APP).run()
    assert not at.exception
    body_start, body_end = at.session_state["body"]
    runs, offset = runlog.read(recorded)
    assert offset == recorded.stat().st_size
    assert len(runs) == 1
    run = runs[0]
    assert run["kind"] == "script"
    # the run holds the script's body, which slept SLEEP_S ...
    assert run["start"] <= body_start and run["end"] >= body_end
    assert run["seconds"] >= SLEEP_S
    # ... and not much more: the run is the body and Streamlit's steps around it
    assert run["seconds"] <= (body_end - body_start) + OVERHEAD_S
    # the duration (monotonic clock) agrees with the wall-clock start and end
    assert run["seconds"] == pytest.approx(run["end"] - run["start"], abs=0.05)
    # a second run is appended, and read from where the first read stopped
    at.run()
    more, _ = runlog.read(recorded, offset)
    assert len(more) == 1 and more[0]["start"] >= run["end"]


def test_the_bench_sums_the_runs_an_action_caused(tmp_path):
    """Runs started before the action are not its own; several of its own are summed."""
    path = tmp_path / "runs.jsonl"
    t0 = 1000.0
    lines = [{"start": 990.0, "end": 999.5, "seconds": 9.5},
             {"start": 1000.1, "end": 1000.3, "seconds": 0.2},
             {"start": 1000.3, "end": 1000.8, "seconds": 0.5}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"start": 10')
    sample = bb.on_server(bb.Sample(1.5, 1.2, 2), bb.ServerRuns(path).since(t0), t0)
    assert sample.server == pytest.approx(0.7)
    assert sample.server_runs == 2
    assert sample.server_done == pytest.approx(0.8)


def test_the_bench_reads_the_servers_time_of_each_action(tmp_path, browser):
    """The bench's own server (the floor's, on an app whose runs sleep a known time) in
    Chromium: the first load's run and a fragment's run (a widget inside ``st.fragment``)
    are recorded by the server with the time they took."""
    app = tmp_path / "tiny_app.py"
    app.write_text(TINY_APP)
    with bb.serve(ROOT, None, app) as (base, _, _, server):
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        context.add_init_script(bb.OBSERVER)
        try:
            page = context.new_page()
            runs = bb.Runs(page)
            loaded = bb.open_page(page, runs, f"{base}/", bb.title_has("Tiny"), server)
            assert loaded.server_runs == 1
            assert SLEEP_S <= loaded.server <= SLEEP_S + OVERHEAD_S
            assert loaded.server_done >= loaded.server
            changed = bb.choose(page, runs, "Year", "2025", "document.body.innerText"
                                ".includes('Year 2025')", server)
            assert changed.server_runs == 1
            assert FRAGMENT_SLEEP_S <= changed.server <= FRAGMENT_SLEEP_S + OVERHEAD_S
            assert server.runs[-1]["kind"] == "fragment"
            # a fragment's run is not the script's: the script's body (SLEEP_S) did not run
            assert changed.server < SLEEP_S
        finally:
            context.close()


def test_the_dashboards_server_records_when_asked(tmp_path):
    """``dashboard.server`` (what ``make run`` and the bench serve) installs the record when
    the setting names a file (unset, :func:`runlog.install` does nothing: see above)."""
    probe = ("import dashboard.server; from streamlit.runtime.scriptrunner import ScriptRunner; "
             "print(ScriptRunner.__init__.__module__)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CITYBRAIN_WARM": "0",
           runlog.SETTING: str(tmp_path / "runs.jsonl")}
    on = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                        env=env, text=True, check=True)
    assert on.stdout.split()[-1] == "dashboard.runlog"

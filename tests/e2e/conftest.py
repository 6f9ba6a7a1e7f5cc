"""End-to-end fixtures: one small store per session, the real server, headless Chromium.

The store is built with the real build command (two districts of Hangzhou) when the build
command is part of this installation; otherwise the hand-made fixture city of the dashboard
tests is written to a file, so the harness still drives every page.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
BUILD_DISTRICTS = "330106,330108"


def _free_port() -> int:
    """``$CITYBRAIN_TEST_PORT`` when set (a machine that gives each run its own ports), else
    any free port."""
    if os.environ.get("CITYBRAIN_TEST_PORT"):
        return int(os.environ["CITYBRAIN_TEST_PORT"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def e2e_store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("e2e") / "city.duckdb"
    if importlib.util.find_spec("analytics.commands.build") is not None:
        done = subprocess.run(
            [sys.executable, "-m", "analytics", "build", "--districts", BUILD_DISTRICTS,
             "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"build failed:\n{done.stderr[-3000:]}"
    else:
        sys.path.insert(0, str(ROOT / "tests"))
        from dash_fixture import make_store

        make_store(out).close()
    return out


@pytest.fixture(scope="session")
def server(e2e_store) -> str:
    """The real server (``make run``'s: dashboard and API in one process), on a free port,
    over the session's store; yields its base URL."""
    port = _free_port()
    # the telemetry broker has its own test (tests/test_server_broker.py)
    env = {**os.environ, "CITYBRAIN_STORE": str(e2e_store), "CITYBRAIN_MQTT": "off"}
    log = open(e2e_store.parent / "server.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard.server", "--store", str(e2e_store),
         "--port", str(port), "--host", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a busy machine imports slowly
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail("the server did not start:\n"
                        + (e2e_store.parent / "server.log").read_text()[-3000:])
        time.sleep(0.3)
    yield base
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    if proc.poll() is None:
        proc.kill()
    log.close()

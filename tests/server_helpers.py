"""A real server process on a free port, over a copy of a small built store, with accounts,
applications and API tokens for every kind of caller of the leak matrix."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import requests

from analytics.identity import Actor
from analytics.opendata import accounts, applications, privacy, tokens
from analytics.store import Store

ROOT = Path(__file__).resolve().parent.parent
PORTS = range(18600, 18700)
EXTRACT_FIELDS = ["sex", "age_band", "district_adcode", "subsidy_type", "monthly_yuan"]


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18600-18699")


@dataclass
class Running:
    url: str
    path: Path
    proc: subprocess.Popen
    tokens: dict[str, str] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    log: Path | None = None

    def stop(self) -> None:
        stop(self.proc)


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """End a server process: asked to stop, killed if it has not within ``timeout`` s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def prepare(path: Path) -> tuple[dict[str, str], dict[str, Actor]]:
    """Accounts, applications and tokens for: anonymous, analyst, a steward of another
    department, an applicant whose approval expired, an approved applicant, an administrator;
    plus a civil-affairs steward, a gateway, a revoked and an expired token."""
    made: dict[str, str] = {}
    with Store.open(path) as store:
        store.ensure_tables()
        admin = accounts.create_first_admin(store, "admin", "Root-pass-123")
        analyst = accounts.add_user(store, admin, "li.wei", "analyst", "Blue-river-7")
        civil = accounts.add_user(store, admin, "civil.steward", "data_steward", "Green-tea-42",
                                  department="民政局")
        edu = accounts.add_user(store, admin, "edu.steward", "data_steward", "Red-maple-99",
                                department="教育局")
        police = accounts.add_user(store, admin, "police.steward", "data_steward",
                                   "Night-watch-77", department="公安局")
        approved = Actor("wang.fang@example.org", "public")
        expired = Actor("zhao.lei@example.org", "public")
        app = applications.apply(store, approved, "care_subsidy_extract",
                                 "Care-home planning by district, approved research",
                                 EXTRACT_FIELDS, 30)
        applications.decide(store, civil, app, True, "ok")
        old = applications.apply(store, expired, "care_subsidy_extract",
                                 "Care-home planning by district, an old project",
                                 EXTRACT_FIELDS, 30)
        applications.decide(store, civil, old, True, "ok",
                            now=privacy.now_utc() - timedelta(days=60))
        actors = {"analyst": analyst, "other_steward": edu, "expired_applicant": expired,
                  "approved_applicant": approved, "admin": admin, "civil_steward": civil,
                  "police_steward": police}
        for name, actor in actors.items():
            made[name] = tokens.create(store, actor, f"tests {name}").token
        made["gateway"] = tokens.create(store, civil, "gateway", scope="telemetry").token
        revoked = tokens.create(store, analyst, "revoked")
        tokens.revoke(store, analyst, revoked.token_id)
        made["revoked"] = revoked.token
        made["expired_token"] = tokens.create(
            store, analyst, "old", days=1, now=privacy.now_utc() - timedelta(days=2)).token
        store.checkpoint()
    return made, actors


def start(source: Path, workdir: Path, env: dict | None = None) -> Running:
    """The server on a copy of ``source`` with :func:`prepare`'s accounts and tokens."""
    path = workdir / "city.duckdb"
    shutil.copy(source, path)
    made, actors = prepare(path)
    return serve(path, workdir, env, made, actors)


def serve(path: Path, workdir: Path, env: dict | None = None, made: dict | None = None,
          actors: dict | None = None, dashboard: bool = True) -> Running:
    """The server (``python -m dashboard.server``) on the store file ``path`` as it is, once
    it answers: its API, and (``dashboard``) its dashboard too (served once its landing
    pages are warmed, when the warm-up is on)."""
    port = free_port()
    log = workdir / "server.log"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "CITYBRAIN_ANONYMOUS_PER_MINUTE":
                   "100000", "CITYBRAIN_TOKEN_PER_MINUTE": "100000",
                   "CITYBRAIN_MQTT": "off", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "dashboard.server", "--store", str(path),
                             "--port", str(port)], cwd=ROOT, env=environment,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server stopped: {log.read_text()[-2000:]}")
        try:
            health = requests.get(f"{url}/api/health", timeout=2)
            if health.status_code == 200 and (
                    not dashboard or health.json().get("dashboard") == "ready"):
                return Running(url, path, proc, made or {}, actors or {}, log)
        except requests.RequestException:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the server did not answer in 180 s: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def streamlit_app(script: str | Path, env: dict | None = None, port: int | None = None):
    """``streamlit run script`` on 127.0.0.1 (``port``, or a free one), headless; yields its
    base URL once Streamlit's health check answers, and stops it when the block ends."""
    port = port or free_port()
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit run {script} stopped ({proc.returncode})")
            try:
                if requests.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"streamlit run {script} did not answer in 60 s")
        yield url
    finally:
        stop(proc)


def sign_in(page, url: str, user: str, password: str, lang: str = "en",
            back: str = "/sign_in") -> None:
    """Sign in through the server's form (the product's one sign-in) and come back to
    ``back``, signed in by the lasting cookie."""
    page.goto(f"{url}/auth/sign-in?lang={lang}&next={back}")
    page.fill("#u", user)
    page.fill("#p", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}{back}?lang={lang}", timeout=60000)


def settle(page, seconds: float = 4.0) -> None:
    """Wait for the Streamlit app to mount in ``page``, then for its first runs to draw."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=60000)
    time.sleep(seconds)

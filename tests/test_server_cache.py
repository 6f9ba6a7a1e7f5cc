"""What the server keeps between requests, in process (Starlette's test client over the API's
routes): released download files per data version and release variant, and token lookups.

Every check compares with what an uncached path gives (a fresh export for the same caller,
a token read from the store), and with what must be refused."""

from __future__ import annotations

import io
import os
import shutil
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from server_helpers import EXTRACT_FIELDS, ROOT, prepare
from starlette.applications import Starlette
from starlette.testclient import TestClient

from analytics.identity import Actor
from analytics.opendata import accounts, applications, catalog, exports, tokens
from analytics.opendata.extracts import folder_of
from analytics.server import ckan
from analytics.server.state import ServerState
from analytics.server.web import Api, ApiFirst

#: A second applicant's approved fields: with the name, a pseudonym keyed by the application.
OTHER_FIELDS = ["name", "sex", "age_band", "district_adcode"]


@pytest.fixture(scope="module")
def served(small_store_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("server_cache") / "city.duckdb"
    shutil.copy(small_store_path, path)
    made, actors = prepare(path)
    state = ServerState.open(path, "http://testserver")
    other = Actor("chen.jing@example.org", "public")
    app = applications.apply(state.store, other, "care_subsidy_extract",
                             "Pension take-up by district, a second approved study",
                             OTHER_FIELDS, 30)
    applications.decide(state.store, actors["civil_steward"], app, True, "ok")
    actors["other_applicant"] = other
    made["other_applicant"] = tokens.create(state.store, other, "tests").token
    client = TestClient(Starlette(routes=Api(state).routes()))
    yield state, client, made, actors
    client.close()
    state.close()
    state.store.close()


def _get(client, path, token=None):
    return client.get(path, headers={"Authorization": token} if token else {})


def _files(state, dataset_id):
    return sorted(p for p in state.extracts.folder.iterdir()
                  if p.name.startswith(f"{dataset_id}.") and not p.name.endswith(".json"))


def _served_log(state, dataset_id, actor_name):
    state.log.flush()
    with state.store.cursor() as cur:
        return cur.execute("SELECT count(*) FROM download_log WHERE dataset_id = ? AND actor = ? "
                           "AND channel = 'download' AND outcome = 'served'",
                           [dataset_id, actor_name]).fetchone()[0]


def test_a_public_download_is_written_once_and_then_served_from_the_file(served):
    state, client, made, actors = served
    first = _get(client, "/api/download/population_districts.parquet")
    assert first.status_code == 200
    files = _files(state, "population_districts")
    assert len(files) == 1 and files[0].read_bytes() == first.content
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(state.extracts.folder.stat().st_mode) == 0o700
    assert state.extracts.folder == folder_of(state.store.path)
    again = _get(client, "/api/download/population_districts.parquet")
    assert again.content == first.content
    assert again.headers["content-length"] == str(len(first.content))
    # the bytes are the released extract: the same as a fresh export, counts rounded as published
    fresh = exports.export_bytes(state.store, "population_districts", "parquet")[0]
    assert pd.read_parquet(io.BytesIO(again.content)).equals(pd.read_parquet(io.BytesIO(fresh)))
    # the decision and the log still run for every request (the export above logs one too)
    assert _served_log(state, "population_districts", "public") == 3


def test_each_release_variant_has_its_own_file_and_no_caller_gets_anothers(served):
    state, client, made, actors = served
    a1 = _get(client, "/api/download/care_subsidy_extract.csv", made["approved_applicant"])
    b1 = _get(client, "/api/download/care_subsidy_extract.csv", made["other_applicant"])
    a2 = _get(client, "/api/download/care_subsidy_extract.csv", made["approved_applicant"])
    b2 = _get(client, "/api/download/care_subsidy_extract.csv", made["other_applicant"])
    assert [r.status_code for r in (a1, b1, a2, b2)] == [200] * 4
    assert len(_files(state, "care_subsidy_extract")) == 2
    assert a2.content == a1.content and b2.content == b1.content and a1.content != b1.content
    a = pd.read_csv(io.BytesIO(a1.content), encoding="utf-8-sig")
    b = pd.read_csv(io.BytesIO(b1.content), encoding="utf-8-sig")
    assert set(a.columns) == set(EXTRACT_FIELDS) and set(b.columns) == set(OTHER_FIELDS)
    # each equals what a fresh export gives that caller under that application
    for who, got in (("approved_applicant", a1), ("other_applicant", b1)):
        app = applications.active_for(state.store, actors[who], "care_subsidy_extract")
        fresh = exports.export_bytes(state.store, "care_subsidy_extract", "csv", actors[who],
                                     application_id=app["application_id"])[0]
        assert got.content == fresh
    # callers the rules refuse get nothing, though released files of the dataset exist
    for who in (None, "expired_applicant", "analyst", "admin"):
        r = _get(client, "/api/download/care_subsidy_extract.csv", made.get(who))
        assert r.status_code == 403 and b"sex" not in r.content


def test_a_new_version_of_the_data_makes_a_new_file_and_drops_the_old(served):
    state, client, made, actors = served
    first = _get(client, "/api/download/districts.csv")
    old = _files(state, "districts")
    assert len(old) == 1
    state.changed("districts")             # what a load through the server calls
    again = _get(client, "/api/download/districts.csv")
    new = _files(state, "districts")
    assert again.content == first.content  # the same rows, written again for the new version
    assert len(new) == 1 and new != old and not old[0].exists()


def test_a_revoked_token_or_disabled_account_is_refused_by_the_next_request(served):
    state, client, made, actors = served
    admin = actors["admin"]
    made_now = tokens.create(state.store, actors["analyst"], "soon revoked")
    ok = _get(client, "/api/3/action/package_list", made_now.token)
    assert ok.status_code == 200                     # looked up and held
    tokens.revoke(state.store, actors["analyst"], made_now.token_id)
    r = _get(client, "/api/3/action/package_list", made_now.token)
    assert r.status_code == 403 and r.json()["error"]["__type"] == "Authorization Error"
    # an account disabled, then enabled again; a role changed: seen at once
    token = made["other_steward"]
    assert tokens.verify(state.store, token).actor.role == "data_steward"
    accounts.set_disabled(state.store, admin, "edu.steward", True)
    assert _get(client, "/api/3/action/package_list", token).status_code == 403
    accounts.set_disabled(state.store, admin, "edu.steward", False)
    assert _get(client, "/api/3/action/package_list", token).status_code == 200
    accounts.set_role(state.store, admin, "edu.steward", "analyst")
    assert tokens.verify(state.store, token).actor == Actor("edu.steward", "analyst")


def test_many_asking_at_once_for_a_file_not_yet_written_make_one_export(served, monkeypatch):
    state, client, made, actors = served
    calls = []
    real = exports._export

    def counted(*args, **kwargs):
        calls.append(args[1])
        time.sleep(0.5)                       # long enough for the others to arrive
        return real(*args, **kwargs)

    monkeypatch.setattr(exports, "_export", counted)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: _get(client, "/api/download/facilities_schools.csv"),
                            range(4)))
    assert [r.status_code for r in got] == [200] * 4
    assert len({r.content for r in got}) == 1 and calls == ["facilities_schools"]
    assert len(_files(state, "facilities_schools")) == 1
    assert _served_log(state, "facilities_schools", "public") == 4


def test_files_of_an_older_data_version_are_deleted_when_a_server_starts(served):
    state, client, made, actors = served
    assert _get(client, "/api/download/vital_events.parquet").status_code == 200
    live = _files(state, "vital_events")
    folder = state.extracts.folder
    old = folder / "vital_events.0123456789abcdef.fedcba9876543210.csv"
    old.write_bytes(b"from before a rebuild")
    left = folder / ".vital_events.csv.x.partial"
    left.write_bytes(b"half")
    os.utime(left, (time.time() - 7200, time.time() - 7200))
    fresh = folder / ".vital_events.csv.y.partial"   # being written now: kept
    fresh.write_bytes(b"half")
    gone = state.extracts.prune_stale(state.store)
    assert old in gone and left in gone and not old.exists() and not left.exists()
    assert len(live) == 1 and live[0].exists() and fresh.exists()
    assert not any(p.name.startswith("vital_events.") and p != old for p in gone)


# -- answers shared by identical requests ------------------------------------------------------
def _log_count(state, dataset_id, actor_name, outcome, channel="api"):
    state.log.flush()
    with state.store.cursor() as cur:
        return cur.execute("SELECT count(*) FROM download_log WHERE dataset_id = ? AND actor = ? "
                           "AND channel = ? AND outcome = ?",
                           [dataset_id, actor_name, channel, outcome]).fetchone()[0]


def test_a_shared_answer_is_renewed_by_a_load(served, monkeypatch):
    """package_search / package_show answers are kept for identical requests; the load of a
    dataset must renew them at once (its row count is the file's, worked out from the file),
    made again by the load itself so the next request finds them ready."""
    state, client, made, actors = served
    builds = []
    real_search = ckan.ACTIONS["package_search"]
    monkeypatch.setitem(ckan.ACTIONS, "package_search",
                        lambda api, params: builds.append(1) or real_search(api, params))
    ds = "public_security_residents"
    search = f"/api/3/action/package_search?fq=name:{ds}"
    show = f"/api/3/action/package_show?id={ds}"
    first = _get(client, search).json()["result"]["results"][0]["row_count"]
    assert first == 0 and _get(client, show).json()["result"]["row_count"] == 0
    assert _get(client, search).json()["result"]["results"][0]["row_count"] == 0   # kept
    assert len(builds) == 1
    raw = pd.read_parquet(ROOT / "data/examples/public_security_residents_2025-06.parquet")
    mine = raw[raw["district"].isin(["330106", "330108"])]   # the small store's two districts
    r = client.post(f"/api/pooling/{ds}", files={"file": ("r.csv", mine.to_csv(index=False))},
                    headers={"Authorization": made["police_steward"]})
    assert r.status_code == 200, r.text
    assert len(builds) == 2                   # made again by the load, before anyone asks
    assert _get(client, search).json()["result"]["results"][0]["row_count"] == len(mine) \
        == 2 * 101 * 2
    assert len(builds) == 2
    assert _get(client, show).json()["result"]["row_count"] == 2 * 101 * 2


def test_a_refused_caller_stays_refused_when_an_answer_is_kept(served):
    """An approved applicant's rows are kept as an answer; the same request from callers the
    rules refuse is refused all the same (and each refusal logged), and the applicant's own
    answer is logged as served each time it is given."""
    state, client, made, actors = served
    path = ("/api/3/action/datastore_search?resource_id=care_subsidy_extract&limit=5"
            "&sort=monthly_yuan%20desc")
    applicant = actors["approved_applicant"].name
    served_before = _log_count(state, "care_subsidy_extract", applicant, "served")
    first = _get(client, path, made["approved_applicant"])
    again = _get(client, path, made["approved_applicant"])
    assert first.status_code == again.status_code == 200
    assert first.json()["result"]["records"] == again.json()["result"]["records"]
    assert len(first.json()["result"]["records"]) == 5
    assert _log_count(state, "care_subsidy_extract", applicant, "served") == served_before + 2
    for who in ("expired_applicant", "analyst", "other_steward", None):
        name = actors[who].name if who else "public"
        refused_before = _log_count(state, "care_subsidy_extract", name, "refused")
        r = _get(client, path, made[who] if who else None)
        assert r.status_code == 403 and r.json()["error"]["__type"] == "Authorization Error"
        assert "records" not in r.text
        assert _log_count(state, "care_subsidy_extract", name, "refused") == refused_before + 1
    assert _get(client, path, made["revoked"]).status_code == 403


def test_many_asking_at_once_after_a_change_read_the_catalog_once(served, monkeypatch):
    """After a change every caller waits for one read of the catalog (none gets the catalog
    from before the change), and one build of an answer serves them all."""
    state, client, made, actors = served
    reads, builds = [], []
    real_read, real_search = catalog.datasets, ckan.ACTIONS["package_search"]

    def slow_read(store):
        reads.append(1)
        time.sleep(0.3)
        return real_read(store)

    def counted_search(api, params):
        builds.append(1)
        time.sleep(0.2)
        return real_search(api, params)

    monkeypatch.setattr(catalog, "datasets", slow_read)
    monkeypatch.setitem(ckan.ACTIONS, "package_search", counted_search)
    state.cache.bump("sensor_readings")      # what an accepted telemetry batch does
    generation = state.cache.generation
    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(lambda _: _get(client, "/api/3/action/package_search?q=district"
                                              "&rows=3"), range(12)))
    assert all(r.status_code == 200 for r in got)
    assert len({r.content for r in got}) == 1
    assert len(reads) == 1 and len(builds) == 1
    assert state.cache._catalog[1] == generation


def test_a_catalog_past_its_time_is_read_by_one_caller_while_the_others_keep_it(served):
    """Past CATALOG_TTL (the data unchanged: only download counts move) one caller reads the
    catalog again and the others are given the one held meanwhile, without waiting."""
    state, client, made, actors = served
    cache = ckan.ReleaseCache()
    reading, release = threading.Event(), threading.Event()

    first = cache.catalog_rows(state.store)
    real = catalog.datasets

    def blocked(store):
        reading.set()
        release.wait(10)
        return real(store)

    cache._catalog = (time.monotonic() - ckan.CATALOG_TTL - 1, *cache._catalog[1:])
    try:
        catalog.datasets = blocked
        reader = threading.Thread(target=cache.catalog_rows, args=(state.store,))
        reader.start()
        assert reading.wait(10)
        t0 = time.perf_counter()
        assert cache.catalog_rows(state.store) is first          # the held one, at once
        assert cache.held_catalog() is not None                  # the event loop's view too
        assert time.perf_counter() - t0 < 1
        release.set()
        reader.join(10)
    finally:
        catalog.datasets = real
        release.set()
    assert cache.catalog_rows(state.store) is not first          # the new read
    # a change: the held catalog is no longer given, to anyone
    cache.bump("districts")
    assert cache.held_catalog() is None


# -- the API's requests ahead of the dashboard's middleware ---------------------------------------
def test_api_requests_are_dispatched_before_the_dashboards_app(served):
    state, client, made, actors = served
    seen = []

    async def dashboard(scope, receive, send):
        seen.append((scope["type"], scope.get("path")))
        if scope["type"] == "lifespan":
            for stage in ("startup", "shutdown"):
                await receive()
                await send({"type": f"lifespan.{stage}.complete"})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<html>dashboard</html>"})

    app = ApiFirst(dashboard, Api(state).routes())
    with TestClient(app) as c:
        assert c.get("/api/3").json() == {"version": 3}
        r = c.get("/api/3/action/package_show?id=districts", headers={"Accept-Encoding": "gzip"})
        assert r.json()["result"]["name"] == "districts"
        doc = c.get("/catalog.jsonld", headers={"Accept-Encoding": "gzip"})
        assert doc.headers["content-encoding"] == "gzip" and "dcat:dataset" in doc.json()
        # the dashboard's paths, a path under /api/ no route takes, and a method the route
        # does not take go to the dashboard's app, unchanged; so does a path its path checks must see
        paths = (("GET", "/"), ("GET", "/api/nothing"), ("DELETE", "/api/health"),
                 ("GET", "/_stcore/health"), ("GET", "/api/download/..districts.csv"))
        for method, p in paths:
            assert c.request(method, p).text == "<html>dashboard</html>"
    assert [p for t, p in seen if t == "http"] == [p for _, p in paths]
    assert ("lifespan", None) in seen


def test_public_files_are_released_ahead_of_any_download(small_store_path, tmp_path):
    path = tmp_path / "city.duckdb"
    shutil.copy(small_store_path, path)
    state = ServerState.open(path, "http://testserver")
    client = TestClient(Starlette(routes=Api(state).routes()))
    try:
        written = state.release_public()
        # public datasets are released; one that needs an application, one on the negative
        # list and one a live feed appends to are not
        assert "population_districts" in written and "districts" in written
        assert not {"care_subsidy_extract", "care_subsidy_registry",
                    "sensor_readings"} & set(written)
        files = _files(state, "population_districts")
        assert len(files) == 1 and files[0].suffix == ".parquet"
        made = files[0].stat().st_mtime_ns
        # writing a file serves no one: nothing is logged until a download is served
        assert _served_log(state, "population_districts", "public") == 0
        got = _get(client, "/api/download/population_districts.parquet")
        assert got.status_code == 200 and got.content == files[0].read_bytes()
        assert _files(state, "population_districts") == files
        assert files[0].stat().st_mtime_ns == made  # streamed as it was, not made again
        assert _served_log(state, "population_districts", "public") == 1
        # the same bytes a fresh export gives the public (counts rounded as published)
        fresh = exports.export_bytes(state.store, "population_districts", "parquet")[0]
        assert pd.read_parquet(io.BytesIO(got.content)).equals(
            pd.read_parquet(io.BytesIO(fresh)))
        assert state.release_public() == []  # nothing left to write

        # after a load (with the server's prerelease on) the new version is released at once
        state.prerelease = True
        state.changed("population_districts")
        deadline = time.monotonic() + 60
        while _files(state, "population_districts") == files and time.monotonic() < deadline:
            time.sleep(0.1)
        again = _files(state, "population_districts")
        assert len(again) == 1 and again != files and not files[0].exists()
    finally:
        client.close()
        state.close()
        state.store.close()


def test_a_load_through_a_page_reaches_the_api_and_the_sensor_pipeline(small_store_path,
                                                                       tmp_path):
    """A page loads through the library on the server's store (``ingest.load``), not
    through the API. The store announces the load, and the server answers the dataset's new
    row count at once as after an API load. Its sensor pipeline reads the new cover
    register: the file's three storm-drain covers of Xihu district replace the synthetic
    ones there, so a reading of a file cover is accepted and one of a replaced synthetic
    cover is refused as unknown. A rollback is heard the same way."""
    from analytics.pooling import ingest
    path = tmp_path / "city.duckdb"
    shutil.copy(small_store_path, path)
    made, actors = prepare(path)
    state = ServerState.open(path, "http://testserver")
    client = TestClient(Starlette(routes=Api(state).routes()))
    try:
        ds = "urban_management_manholes"
        show = f"/api/3/action/package_show?id={ds}"
        assert _get(client, show).json()["result"]["row_count"] == 0
        pipeline = state.sensors()
        heard = []
        state.on_sensor_register.append(heard.append)
        old = pipeline.assets
        replaced = old[(old["district_adcode"] == 330106) & (old["asset_type"] == "storm")]
        assert len(replaced) > 3
        register = tmp_path / "manholes.csv"
        register.write_text(
            "井盖编号,管网类别,权属单位,安装年份,区县,经度,纬度,井深\n"
            "XH-0001,storm,城市管理局（排水）,2019,西湖区,120.1301,30.2592,180\n"
            "XH-0002,storm,城市管理局（排水）,2019,西湖区,120.1352,30.2611,220\n"
            "XH-0003,storm,城市管理局（排水）,2020,西湖区,120.1288,30.2650,160\n",
            encoding="utf-8")
        ingest.load(state.store, register, ds, actors["admin"])
        assert _get(client, show).json()["result"]["row_count"] == 3
        state.sensors_thread.join(120)
        assert heard == [pipeline]
        mine = pipeline.assets[pipeline.assets["asset_type"] == "storm"]
        assert set(mine.loc[mine["district_adcode"] == 330106, "asset_id"]) == {
            "XH-0001", "XH-0002", "XH-0003"}
        t0 = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s") - pd.Timedelta(minutes=5)
        normal = {"tilt_deg": 0.5, "displacement_mm": 1.0, "water_level_cm": 20.0,
                  "battery_v": 3.6, "signal_dbm": -80.0}
        r = pipeline.ingest(pd.DataFrame([
            {"asset_id": "XH-0001", "ts": t0, **normal},
            {"asset_id": replaced["asset_id"].iat[0], "ts": t0, **normal}]))
        assert (r.accepted, dict(r.rejected)) == (1, {"unknown_asset": 1})
        # rolled back: the synthetic covers are back, heard without the API
        ingest.rollback(state.store, ds, actors["admin"])
        assert _get(client, show).json()["result"]["row_count"] == 0
        state.sensors_thread.join(120)
        assert len(heard) == 2 and "XH-0001" not in set(pipeline.assets["asset_id"])
    finally:
        client.close()
        state.close()
        state.store.close()

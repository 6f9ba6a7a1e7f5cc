"""The one server, over HTTP: the CKAN Action API (with ``ckanapi`` as the client), the leak
matrix, tokens, downloads, DCAT-AP, department push and telemetry, bad input.

One real server process (``python -m dashboard.server``) on a free port serves a copy of the
small built store for the whole module; the last test stops it and reads the store's logs.
"""

from __future__ import annotations

import io
import json
import zipfile

import ckanapi
import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests
from server_helpers import EXTRACT_FIELDS, start

from analytics.opendata import catalog
from analytics.store import Store

ACTORS = ["anonymous", "analyst", "other_steward", "expired_applicant", "approved_applicant",
          "admin"]


@pytest.fixture(scope="module")
def server(small_store_path, tmp_path_factory):
    running = start(small_store_path, tmp_path_factory.mktemp("server"))
    with _wait_snapshot(running) as snap:
        running.catalog = catalog.datasets(snap)
    yield running
    running.stop()


def _wait_snapshot(running):
    import time

    snap = running.path.with_name("city.snapshot.duckdb")
    for _ in range(300):
        if snap.exists():
            return Store.open(snap, read_only=True)
        time.sleep(0.2)
    raise AssertionError("no snapshot published within 60 s")


def ckan(server, who: str) -> ckanapi.RemoteCKAN:
    return ckanapi.RemoteCKAN(server.url, apikey=server.tokens.get(who))


def get(server, path: str, who: str | None = None, **kw) -> requests.Response:
    headers = {"Authorization": server.tokens[who]} if who else {}
    return requests.get(server.url + path, headers=headers, timeout=60, **kw)


# -- the CKAN actions, through ckanapi -------------------------------------------------------
def test_health_reports_the_store_vintage(server):
    health = get(server, "/api/health").json()
    with Store.open(server.path.with_name("city.snapshot.duckdb"), read_only=True) as snap:
        meta = snap.meta()
    assert health["status"] == "ok" and health["store"] == "city.duckdb"
    assert health["vintage"] == meta["data_vintage"] and health["built_at"] == meta["built_at"]
    # the test servers do not warm (CITYBRAIN_WARM=0): the dashboard is served at once
    assert health["dashboard"] == "ready" and health["warming"] == "off"


def test_package_list_and_show_match_the_catalog(server):
    ck = ckan(server, None)
    assert ck.action.package_list() == sorted(server.catalog["dataset_id"])
    row = server.catalog.set_index("dataset_id").loc["care_subsidy_registry"]
    shown = ck.action.package_show(id="care_subsidy_registry")
    # metadata is open for the negative list too, with its reason and no resources
    assert shown["access_level"] == "confidential" and shown["negative_list"] is True
    assert shown["negative_reason"] == row["negative_reason"]
    assert shown["access_rights"].endswith("/access-right/NON_PUBLIC")
    assert shown["resources"] == []
    extract = ck.action.package_show(id="care_subsidy_extract")
    assert extract["access_level"] == "on_application"
    assert extract["access_rights"].endswith("/access-right/RESTRICTED")
    districts = ck.action.package_show(id="districts")
    formats = sorted(r["format"] for r in districts["resources"] if not r["datastore_active"])
    assert formats == ["CSV", "GEOJSON", "GEOPARQUET", "PARQUET", "XLSX"]
    store_res = [r for r in districts["resources"] if r["datastore_active"]]
    assert len(store_res) == 1 and store_res[0]["id"] == "districts"
    assert ck.action.resource_show(id="districts.csv")["url"].endswith(
        "/api/download/districts.csv")
    with pytest.raises(ckanapi.NotFound):
        ck.action.package_show(id="no_such_dataset")


def test_package_search_q_fq_rows_start_sort_facets(server):
    ck = ckan(server, None)
    cat = server.catalog
    result = ck.action.package_search(q="", rows=1000)
    assert result["count"] == len(cat)
    public = ck.action.package_search(fq="access_level:public", rows=1000)
    assert public["count"] == int((cat["access_level"] == "public").sum())
    health = ck.action.package_search(fq="groups:health", rows=5, start=0,
                                      sort="name asc", **{"facet.field": '["organization"]'})
    expected = sorted(cat.loc[cat["theme"] == "health", "dataset_id"])
    assert [p["name"] for p in health["results"]] == expected[:5]
    assert health["count"] == len(expected)
    by_org = health["facets"]["organization"]
    assert sum(by_org.values()) == len(expected)
    page2 = ck.action.package_search(fq="groups:health", rows=2, start=2, sort="name asc")
    assert [p["name"] for p in page2["results"]] == expected[2:4]
    words = ck.action.package_search(q="population")
    assert "population_districts" in {p["name"] for p in words["results"]}


def test_organizations_groups_tags(server):
    ck = ckan(server, None)
    cat = server.catalog
    assert len(ck.action.organization_list()) == cat["publisher_en"].nunique()
    assert sorted(ck.action.group_list()) == sorted(cat["theme"].unique())
    civil = ck.action.organization_show(id="civil-affairs-bureau", include_datasets=True)
    assert {p["name"] for p in civil["packages"]} == set(
        cat.loc[cat["publisher_en"] == "Civil Affairs Bureau", "dataset_id"])
    tags = ck.action.tag_list()
    assert tags == sorted(tags) and len(tags) == len(set(tags)) > 5


def test_datastore_search_filters_sort_fields_paging(server):
    ck = ckan(server, None)
    with Store.open(server.path.with_name("city.snapshot.duckdb"), read_only=True) as snap:
        raw = snap.table("population_districts")
    year = int(raw["year"].max())
    # persons counts of 1-9 are suppressed: compare on the rows that pass (10 or more)
    rows = raw[(raw["year"] == year) & (raw["sex"] == "F")]
    got = ck.action.datastore_search(resource_id="population_districts",
                                     filters={"year": year, "sex": "F"},
                                     sort="age desc, district_adcode asc",
                                     fields=["district_adcode", "age", "persons"], limit=7,
                                     offset=3)
    assert got["total"] == len(rows)
    expected = rows.sort_values(["age", "district_adcode"], ascending=[False, True])
    expected = expected.iloc[3:10]
    assert [r["age"] for r in got["records"]] == expected["age"].tolist()
    assert [r["district_adcode"] for r in got["records"]] == expected["district_adcode"].tolist()
    assert [f["id"] for f in got["fields"]] == ["_id", "district_adcode", "age", "persons"]
    small = [r for r in got["records"] if r["persons"] is not None]
    assert all(r["persons"] >= 10 for r in small)
    names = ck.action.datastore_search(resource_id="districts", q="西湖", include_total=True)
    assert names["total"] == 1 and names["records"][0]["adcode"] == 330106


def test_datastore_suppresses_small_counts_like_the_page(server):
    ck = ckan(server, None)
    with Store.open(server.path.with_name("city.snapshot.duckdb"), read_only=True) as snap:
        raw = snap.table("population_cells")
    got = ck.action.datastore_search(resource_id="population_cells", limit=2000)
    values = [r["persons"] for r in got["records"] if r["persons"] is not None]
    # no released count of persons lies in 1-9 (primary suppression), and some were withheld
    assert not any(1 <= v <= 9 for v in values)
    assert ((raw["persons"] >= 1) & (raw["persons"] <= 9)).any()
    assert any(r["persons"] is None for r in got["records"]) or len(got["records"]) == 0


# -- the leak matrix ----------------------------------------------------------------------------
def _expected_served(row, who: str) -> bool:
    """Worked out from the catalog columns and the published rules, not from access.decide."""
    if row["access_level"] == "public":
        return isinstance(row["source_table"], str)
    if row["access_level"] == "on_application":
        return row["dataset_id"] == "care_subsidy_extract" and who == "approved_applicant"
    return False


def test_leak_matrix_datastore_and_download(server):
    cat = server.catalog
    problems = []
    for who in ACTORS:
        ck = ckan(server, None if who == "anonymous" else who)
        for _, row in cat.iterrows():
            want = _expected_served(row, who)
            try:
                got = ck.action.datastore_search(resource_id=row["dataset_id"], limit=5)
                served = True
            except ckanapi.NotAuthorized:
                served = False
            if served != want:
                problems.append((who, row["dataset_id"], served))
                continue
            if served and row["dataset_id"] == "care_subsidy_extract":
                cols = {f["id"] for f in got["fields"]} - {"_id"}
                assert cols <= set(EXTRACT_FIELDS), cols
            if row["access_level"] != "public":
                r = get(server, f"/api/download/{row['dataset_id']}.csv",
                        None if who == "anonymous" else who)
                if (r.status_code == 200) != want:
                    problems.append((who, row["dataset_id"], "download", r.status_code))
    assert problems == []


def test_refusal_is_ckans_not_authorized_with_the_reason(server):
    with pytest.raises(ckanapi.NotAuthorized) as err:
        ckan(server, "analyst").action.datastore_search(resource_id="care_subsidy_registry")
    assert "confidential" in str(err.value)


def test_tokens_revoked_expired_and_gateway(server):
    for bad in ("revoked", "expired_token"):
        r = get(server, "/api/3/action/package_list", bad)
        assert r.status_code == 403 and r.json()["error"]["__type"] == "Authorization Error"
    r = get(server, "/api/3/action/package_list", "gateway")
    assert r.status_code == 403
    r = requests.get(server.url + "/api/3/action/package_list",
                     headers={"Authorization": "cbt_made-up"}, timeout=10)
    assert r.status_code == 403


# -- downloads and the catalog documents -----------------------------------------------------------
def test_downloads_stream_every_format(server):
    with Store.open(server.path.with_name("city.snapshot.duckdb"), read_only=True) as snap:
        n_districts = len(snap.table("districts"))
    r = get(server, "/api/download/districts.csv")
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    assert len(pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig")) == n_districts
    r = get(server, "/api/download/districts.parquet")
    assert pq.read_table(io.BytesIO(r.content)).num_rows == n_districts
    r = get(server, "/api/download/districts.geojson")
    assert len(r.json()["features"]) == n_districts
    r = get(server, "/api/download/districts.xlsx")
    assert len(pd.read_excel(io.BytesIO(r.content))) == n_districts
    r = get(server, "/api/download/districts.geoparquet")
    assert pq.read_table(io.BytesIO(r.content)).num_rows == n_districts
    r = get(server, "/api/download/domain/geography.zip")
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert {"README.md", "metadata.jsonld", "districts.parquet", "cells.parquet"} <= set(names)
    assert get(server, "/api/download/vital_events.geojson").status_code == 404


def test_dcat_jsonld_and_data_json(server):
    doc = get(server, "/catalog.jsonld").json()
    ids = {d["dct:identifier"] for d in doc["dcat:dataset"]}
    assert ids == set(server.catalog["dataset_id"])
    one = get(server, "/dataset/districts.jsonld").json()
    urls = [d["dcat:downloadURL"]["@id"] for d in one["dcat:distribution"]]
    assert f"{server.url}/api/download/districts.csv" in urls
    assert requests.get(urls[0], timeout=30).status_code == 200
    pod = get(server, "/data.json").json()
    assert len(pod["dataset"]) == len(server.catalog)
    assert get(server, "/dataset/nope.jsonld").status_code == 404


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("path, body, status, kind", [
    ("/api/3/action/no_such_action", {}, 400, "Bad Request"),
    ("/api/3/action/package_search", b"{not json", 400, "Bad Request"),
    ("/api/3/action/package_search", {"q": "x'; DROP TABLE datasets; --"}, 409,
     "Search Query Error"),
    ("/api/3/action/package_search", {"sort": "name; DROP TABLE datasets"}, 409,
     "Validation Error"),
    ("/api/3/action/datastore_search", {"resource_id": "districts",
                                        "filters": {"name; DROP TABLE districts": "x"}}, 409,
     "Validation Error"),
    ("/api/3/action/datastore_search", {"resource_id": "districts",
                                        "sort": "adcode; DELETE FROM districts"}, 409,
     "Validation Error"),
    ("/api/3/action/datastore_search", {"resource_id": "districts",
                                        "filters": {"adcode": "1 OR 1=1"}}, 409,
     "Validation Error"),
    ("/api/3/action/datastore_search", {"resource_id": "districts; --"}, 404, "Not Found Error"),
    ("/api/3/action/datastore_search", {"resource_id": "districts", "limit": -1}, 409,
     "Validation Error"),
])
def test_bad_input_gets_a_ckan_error(server, path, body, status, kind):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = requests.post(server.url + path, data=data,
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == status, r.text
    payload = r.json()
    assert payload["success"] is False and payload["error"]["__type"] == kind


def test_sql_like_text_in_q_is_a_plain_search(server):
    got = ckan(server, None).action.datastore_search(
        resource_id="districts", q="' OR 1=1 --", include_total=True)
    assert got["total"] == 0


def test_oversized_body_is_413(server):
    big = json.dumps({"q": "x" * (2 << 20)}).encode()
    r = requests.post(server.url + "/api/3/action/package_search", data=big,
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["__type"] == "Validation Error"


# -- department push and telemetry ----------------------------------------------------------------
def _push(server, who, dataset, name, content, validate_only=False):
    return requests.post(f"{server.url}/api/pooling/{dataset}",
                         params={"validate_only": str(validate_only).lower()},
                         files={"file": (name, content)},
                         headers={"Authorization": server.tokens[who]} if who else {},
                         timeout=300)


def _rows(server, dataset: str) -> int:
    return ckan(server, None).action.package_show(id=dataset)["row_count"]


def test_map_data_answers_only_the_tokens_this_server_made(server):
    """The maps' layer rows are served by the server itself (``/map-data/<token>.json``,
    dashboard.layerdocs): a token it never made is a 404 that no cache keeps, where any other
    path the dashboard does not know is its page (200)."""
    answer = get(server, "/map-data/" + "0" * 32 + ".json")
    assert answer.status_code == 404 and answer.headers["Cache-Control"] == "no-store"
    assert get(server, "/map-data/not-a-token.json").status_code == 404
    assert get(server, "/no-such-page").status_code == 200


def test_push_validates_loads_and_refuses(server):
    from server_helpers import ROOT

    raw = pd.read_parquet(ROOT / "data/examples/public_security_residents_2025-06.parquet")
    # the small store holds two districts: their rows (2 districts x 101 ages x 2 sexes)
    mine = raw[raw["district"].isin(["330106", "330108"])]
    good = mine.to_csv(index=False).encode("utf-8")
    ds = "public_security_residents"
    r = _push(server, "police_steward", ds, "residents.csv", good, validate_only=True)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["rows_in"], r.json()["version"]) == (
        "validated", 2 * 101 * 2, None)
    assert _rows(server, ds) == 0
    # another department's steward, and nobody at all, are refused before reading the file
    assert _push(server, "civil_steward", ds, "r.csv", good).status_code == 403
    assert _push(server, None, ds, "r.csv", good).status_code == 403
    assert _push(server, "police_steward", "nope", "r.csv", good).status_code == 404
    # a malformed file: 422 with every problem (file, row, column, value, rule); nothing loaded
    bad = mine.copy()
    bad.iloc[4, bad.columns.get_loc("age")] = 200
    bad.iloc[8, bad.columns.get_loc("sex")] = "X"
    r = _push(server, "police_steward", ds, "broken.csv", bad.to_csv(index=False).encode())
    assert r.status_code == 422
    report = r.json()
    problems = {(p["row"], p["column"], str(p["value"]), p["rule"]) for p in report["problems"]}
    assert report["problem_count"] == 2 and report["status"] == "rejected"
    assert {(row, col, val) for row, col, val, _ in problems} == {
        (6, "age", "200"), (10, "sex", "X")}      # file rows: the header is row 1
    assert _rows(server, ds) == 0
    r = _push(server, "police_steward", ds, "residents.csv", good)
    assert r.status_code == 200 and r.json()["status"] == "loaded" and r.json()["version"] == 1
    assert _rows(server, ds) == 2 * 101 * 2


def test_telemetry_push_counts_reconcile_and_alerts_follow(server):
    with Store.open(server.path.with_name("city.snapshot.duckdb"), read_only=True) as snap:
        register = snap.table("assets").iloc[:3]
    assets = register["asset_id"].tolist()
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    good = [{"asset_id": a, "ts": (now - pd.Timedelta(seconds=10)).isoformat(),
             "tilt_deg": 0.5, "displacement_mm": 0.0, "water_level_cm": 20.0, "battery_v": 3.6,
             "signal_dbm": -80.0} for a in assets]
    bad = [{**good[1], "asset_id": "MH-NOPE"},
           {**good[0], "ts": "not a time"}]
    body = "\n".join(json.dumps(x) for x in good + bad).encode()
    r = requests.post(server.url + "/api/sensors/readings", data=body,
                      headers={"Authorization": server.tokens["gateway"],
                               "Content-Type": "application/x-ndjson"}, timeout=60)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["received"] == 5 and got["accepted"] == 3 and got["refused"] == 2
    assert got["rejected"] == {"unknown_asset": 1, "bad_timestamp": 1}
    # hostile bodies: a clear refusal of the batch (409), never a server failure
    for hostile in (b"\xff\xfe not UTF-8", b'{"asset_id": ' + b"[" * 100_000 + b"]" * 100_000
                    + b"}", b"[1, 2, 3]"):
        r = requests.post(server.url + "/api/sensors/readings", data=hostile,
                          headers={"Authorization": server.tokens["gateway"],
                                   "Content-Type": "application/x-ndjson"}, timeout=60)
        assert r.status_code == 409 and r.json()["success"] is False, r.text
    odd = json.dumps({**good[0], "asset_id": ["list", "id"]}).encode()
    r = requests.post(server.url + "/api/sensors/readings", data=odd,
                      headers={"Authorization": server.tokens["gateway"],
                               "Content-Type": "application/x-ndjson"}, timeout=60)
    assert r.status_code == 200 and r.json()["rejected"] == {"unknown_asset": 1}, r.text
    # the analyst's token is not a gateway's
    r = requests.post(server.url + "/api/sensors/readings", data=body,
                      headers={"Authorization": server.tokens["analyst"]}, timeout=60)
    assert r.status_code == 403
    alerts = get(server, "/api/sensors/alerts?since=2000-01-01T00:00:00", "gateway")
    assert alerts.status_code == 200 and alerts.json()["success"] is True
    assert get(server, "/api/sensors/alerts?since=yesterday-ish", "gateway").status_code == 409
    # a lifted cover: its alert names the cover, its network and its district
    lifted = {**good[2], "ts": (now - pd.Timedelta(seconds=5)).isoformat(), "displacement_mm": 60.0}
    r = requests.post(server.url + "/api/sensors/readings", data=json.dumps(lifted).encode(),
                      headers={"Authorization": server.tokens["gateway"],
                               "Content-Type": "application/x-ndjson"}, timeout=60)
    assert r.json()["alerts_raised"] == 1
    since = (now - pd.Timedelta(minutes=1)).isoformat()
    got = get(server, f"/api/sensors/alerts?since={since}", "gateway").json()["alerts"]
    mine = [a for a in got if a["asset_id"] == assets[2]]
    cover = register.iloc[2]
    assert [(a["kind"], a["network"], a["district_adcode"]) for a in mine] == [
        ("lifted", cover["asset_type"], int(cover["district_adcode"]))]
    # a dispatch system acknowledges and resolves it in its operator's name; a gateway may
    # not, an alert is resolved only once acknowledged, and an unknown one is not found
    alert = mine[0]["alert_id"]

    def step(name, who, alert_id=alert):
        return requests.post(f"{server.url}/api/sensors/alerts/{alert_id}/{name}",
                             headers={"Authorization": server.tokens[who]}, timeout=60)

    assert step("acknowledge", "gateway").status_code == 403
    assert step("acknowledge", "analyst").status_code == 403
    early = step("resolve", "admin")
    assert early.status_code == 409 and "acknowledge it first" in early.text
    ack = step("acknowledge", "admin").json()["alert"]
    assert (ack["state"], ack["acknowledged_by"], ack["resolved_at"]) == (
        "acknowledged", "admin", None)
    done = step("resolve", "civil_steward").json()["alert"]
    assert (done["state"], done["acknowledged_by"], done["resolved_by"]) == (
        "resolved", "admin", "civil.steward")
    assert step("resolve", "admin").status_code == 409                 # once only
    assert step("acknowledge", "admin", "AL-nope").status_code == 404
    assert step("close", "admin").status_code == 404


# -- other processes while the server runs -----------------------------------------------------
def _cli(server, *args, token: str | None = None):
    import os
    import subprocess
    import sys

    from server_helpers import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CITYBRAIN_TOKEN", None)
    if token:
        env["CITYBRAIN_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "analytics", *args, "--store",
                           str(server.path)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_search_and_export_work_while_the_server_runs(server, tmp_path):
    found = _cli(server, "catalog", "search", "population")
    assert found.returncode == 0, found.stderr
    assert "population_districts" in found.stdout
    listed = _cli(server, "catalog", "list")            # read-only: the published snapshot
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == len(server.catalog) + 1
    out = tmp_path / "districts.csv"
    done = _cli(server, "export", "districts", "--format", "csv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    with Store.open(server.path.with_name("city.snapshot.duckdb"), read_only=True) as snap:
        n = len(snap.table("districts"))
    assert len(pd.read_csv(out, encoding="utf-8-sig")) == n
    refused = _cli(server, "export", "care_subsidy_registry", "--out", str(tmp_path / "x.csv"))
    assert refused.returncode == 2 and "confidential" in refused.stderr
    # a write command without a token is told how to push, and the store is not opened
    pushed = _cli(server, "ingest", str(tmp_path / "x.csv"), "--dataset",
                  "public_security_residents")
    assert pushed.returncode == 2 and "token" in pushed.stderr


def test_notebooks_open_the_snapshot_while_the_server_runs(server):
    from analytics.store import open_for_reading

    with open_for_reading(server.path) as store:
        assert store.path.name == "city.snapshot.duckdb"
        # (privacy_keys is never a raw table: counted through the named query)
        assert store.query("open_data.rows_all", table="privacy_keys").empty
        assert store.table("api_tokens").empty
        assert len(store.table("districts")) == 2


# -- last: the store's own log, read after the server stops ------------------------------------------
def test_every_api_decision_was_logged(server):
    server.stop()
    with Store.open(server.path, read_only=True) as store:
        log = store.table("download_log")
    api = log[log["channel"] == "api"]
    cat = server.catalog
    # the leak matrix alone: every (actor, dataset) pair left one event
    per_actor_refusals = {who: sum(not _expected_served(r, who) for _, r in cat.iterrows())
                          for who in ACTORS}
    refused = api[api["outcome"] == "refused"]
    for who, n in per_actor_refusals.items():
        name = {"anonymous": "public", "analyst": "li.wei", "other_steward": "edu.steward",
                "expired_applicant": "zhao.lei@example.org",
                "approved_applicant": "wang.fang@example.org", "admin": "admin"}[who]
        assert (refused["actor"] == name).sum() >= n
    assert (api["outcome"] == "served").sum() >= sum(
        _expected_served(r, w) for _, r in cat.iterrows() for w in ACTORS)

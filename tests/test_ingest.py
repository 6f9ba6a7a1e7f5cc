"""Ingest: example files load cleanly, versions, append, permissions, lineage, catalog."""

from __future__ import annotations

import argparse

import coordTransform
import numpy as np
import pandas as pd
import pytest
import shapely
from ingest_helpers import EXAMPLES, MALFORMED, districts_frame, make_store

from analytics.commands import ingest as ingest_command
from analytics.errors import CityBrainError
from analytics.identity import Actor, PermissionDenied
from analytics.opendata import accounts
from analytics.pooling import contracts, ingest, quality
from analytics.store import Store

ADMIN = Actor("ada", "administrator")
EXAMPLE_FILES = {
    "civil_affairs_care_homes": ("civil_affairs_care_homes_bd09.csv", 40, "utf-8", "bd09"),
    "education_schools": ("education_schools_gbk.csv", 60, "gbk", "gcj02"),
    "health_community_centres": ("health_community_centres.xlsx", 30, None, "wgs84"),
    "public_security_residents": ("public_security_residents_2025-06.parquet", 13 * 101 * 2,
                                  None, None),
    "environment_air_quality": ("environment_air_quality_2025-06-30.geojson", 12, "utf-8", "gcj02"),
    "transport_bus_stops": ("transport_bus_stops.geoparquet", 80, None, "wgs84"),
}


@pytest.fixture(scope="module")
def loaded():
    store = make_store()
    reports = {ds: ingest.load(store, EXAMPLES / f, ds, ADMIN, synthetic=True)
               for ds, (f, *_rest) in EXAMPLE_FILES.items()}
    return store, reports


def test_contracts_match_the_schema():
    store = make_store()
    for c in contracts.contracts().values():
        cols = store.columns(c.versions_table)
        expected = [("city_adcode", "INTEGER"), *c.store_columns(), ("version", "INTEGER")]
        assert list(cols.itertuples(index=False, name=None)) == expected, c.id
        view = store.columns(c.table)["column"].tolist()
        assert view == [n for n, _ in expected]


@pytest.mark.parametrize("dataset", sorted(EXAMPLE_FILES))
def test_every_example_loads_cleanly(loaded, dataset):
    store, reports = loaded
    _file, rows, encoding, datum = EXAMPLE_FILES[dataset]
    r = reports[dataset]
    assert (r.status, r.rows_in, r.rows_out, r.problem_count, r.version) == ("loaded", rows, rows, 0, 1)
    assert r.encoding == encoding and r.datum == datum
    c = contracts.contract(dataset)
    counts = dict(store.row_counts().itertuples(index=False))
    assert counts[c.table] == rows
    cat = store.table("datasets").set_index("dataset_id").loc[dataset]
    # one publisher name per department: the build names it 杭州市教育局, so a load does too
    assert (cat["row_count"], cat["publisher"], cat["source_table"], bool(cat["synthetic"])) == (
        rows, "杭州市" + c.department, c.table, True)
    log = store.table("ingest_log").set_index("event_id").loc[r.event_id]
    assert (log["actor"], log["status"], log["rows_in"], log["version"]) == ("ada", "loaded", rows, 1)
    assert log["file_sha256"] == ingest.sha256(EXAMPLES / _file)


def test_bd09_file_lands_in_wgs84_inside_the_named_district(loaded):
    store, _ = loaded
    homes = store.table("dept_care_homes")
    raw = pd.read_csv(EXAMPLES / "civil_affairs_care_homes_bd09.csv")
    merged = raw.merge(homes, on="home_id", suffixes=("_file", ""))
    # back to BD-09 with the library's forward transform: within ~1e-5 degree of the file
    lon, lat = coordTransform.wgs84_to_bd09(merged["lon"].tolist(), merged["lat"].tolist())
    assert np.allclose(lon, merged["lon_file"], atol=2e-5)
    assert np.allclose(lat, merged["lat_file"], atol=2e-5)
    # the BD-09 offset is hundreds of metres, so the conversion really happened
    assert (np.abs(merged["lon"] - merged["lon_file"]) > 0.005).all()
    # every home's district (written as 富阳区, 富阳 or 330111) is the one containing its point
    d = districts_frame()
    geoms = shapely.from_wkb(d["geometry"].tolist())
    for row in merged.itertuples():
        inside = d["adcode"][[g.contains(shapely.Point(row.lon, row.lat)) for g in geoms]]
        assert inside.tolist() == [row.district_adcode]


def test_gbk_school_names_survive(loaded):
    store, _ = loaded
    schools = store.table("dept_schools")
    raw = pd.read_csv(EXAMPLES / "education_schools_gbk.csv", encoding="gbk")
    assert sorted(schools["name"]) == sorted(raw["学校名称"])
    assert schools["school_year"].eq(2024).all()
    cat = store.table("datasets").set_index("dataset_id").loc["education_schools"]
    assert (cat["temporal_start"], cat["temporal_end"]) == (2024, 2024)


@pytest.mark.parametrize("form", ["西湖区", "西湖", "Xihu", "xihu district", "XiHu", "330106", "xihuqu"])
def test_district_name_forms(form):
    store = make_store()
    assert ingest.city_frame(store).lookup[ingest._norm(form)] == 330106


@pytest.mark.parametrize("encoding, expected", [("utf-8-sig", "utf-8-sig"), ("gbk", "gbk"),
                                                ("gb18030", "gb18030"), ("utf-8", "utf-8")])
def test_encoding_detection(tmp_path, encoding, expected):
    # 𠮷 (U+20BB7) exists only in GB18030's four-byte range, not in GBK
    name = "𠮷祥养老院" if encoding == "gb18030" else "吉祥养老院"
    text = f"home_id,机构名称\nH1,{name}\n"
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode(encoding))
    assert ingest.detect_encoding(path) == expected


def test_replace_keeps_old_version_until_the_new_one_is_complete(tmp_path):
    store = make_store()
    src = pd.read_csv(MALFORMED / "duplicate_key.csv").iloc[:5]
    v1 = tmp_path / "v1.csv"
    src.to_csv(v1, index=False)
    ingest.load(store, v1, "civil_affairs_care_homes", ADMIN, datum="wgs84")
    v2 = tmp_path / "v2.csv"
    src.iloc[:3].assign(beds=[1, 2, 3]).to_csv(v2, index=False)
    r2 = ingest.load(store, v2, "civil_affairs_care_homes", ADMIN, datum="wgs84")
    assert r2.version == 2
    current = store.table("dept_care_homes")
    assert sorted(current["beds"]) == [1, 2, 3] and set(current["version"]) == {2}
    assert sorted(store.table("dept_care_homes_versions")["version"]) == [1] * 5 + [2] * 3
    assert store.scalar("ingest.current_version", dataset_id="civil_affairs_care_homes") == 2
    assert store.table("datasets").set_index("dataset_id").loc[
        "civil_affairs_care_homes", "row_count"] == 3


def test_exact_duplicates_are_dropped_and_counted(tmp_path):
    store = make_store()
    src = pd.read_csv(MALFORMED / "duplicate_key.csv").iloc[:5]
    path = tmp_path / "dups.csv"
    pd.concat([src, src.iloc[[0, 0, 3]]]).to_csv(path, index=False)
    r = ingest.load(store, path, "civil_affairs_care_homes", ADMIN, datum="wgs84")
    assert (r.rows_in, r.rows_out, r.duplicates_dropped) == (8, 5, 3)
    assert sorted(store.table("dept_care_homes")["home_id"]) == ["H1", "H2", "H3", "H4", "H5"]


def test_append_adds_new_keys_and_refuses_repeated_ones(tmp_path):
    store = make_store()
    june = pd.read_csv(MALFORMED / "negative_count.csv").assign(persons=[1, 2, 3, 4])
    p1 = tmp_path / "june.csv"
    june.to_csv(p1, index=False)
    ingest.load(store, p1, "public_security_residents", ADMIN)
    p2 = tmp_path / "july.csv"
    june.assign(as_of="2025-07-31", persons=[5, 6, 7, 8]).to_csv(p2, index=False)
    r = ingest.load(store, p2, "public_security_residents", ADMIN)
    rows = store.query("open_data.rows_all", table="dept_registered_residents")
    assert r.version == 2 and len(rows) == 8 and rows["persons"].sum() == 36
    cat = store.table("datasets").set_index("dataset_id").loc["public_security_residents"]
    assert cat["row_count"] == 8
    q = ingest.quality(store).set_index("dataset_id").loc["public_security_residents"]
    assert (q["rows"], q["version"]) == (8, 2)
    with pytest.raises(ingest.IngestRejected, match="row 2, column as_of/district/age/sex: key "
                       r"\(2025-07-31, 330106, 30, M\) is already in the dataset"):
        ingest.load(store, p2, "public_security_residents", ADMIN)
    assert len(store.query("open_data.rows_all", table="dept_registered_residents")) == 8


def test_permissions():
    store = make_store()
    path = EXAMPLES / "education_schools_gbk.csv"
    with pytest.raises(PermissionDenied, match="needs the role administrator or data_steward"):
        ingest.load(store, path, "education_schools", Actor("pat", "planner"))
    with pytest.raises(PermissionDenied, match="steward of 民政局 and may not load education_schools"):
        ingest.load(store, path, "education_schools", Actor("min", "data_steward", "民政局"))
    r = ingest.load(store, path, "education_schools", Actor("jiao", "data_steward", "教育局"))
    assert r.status == "loaded"
    assert store.table("ingest_log")["actor"].tolist() == ["jiao"]


def test_a_stewards_department_comes_from_the_account():
    """An account made with a department (either language) signs in as a steward of it; one
    made without may load for every department."""
    store = make_store()
    admin = accounts.create_first_admin(store, "admin", "Sun-moon-777")
    accounts.add_user(store, admin, "min", "data_steward", "Green-tea-42",
                      department="Civil Affairs Bureau")
    accounts.add_user(store, admin, "city", "data_steward", "Blue-river-7")
    min_ = accounts.sign_in(store, "min", "Green-tea-42").actor
    assert min_.department == "民政局"
    known = contracts.contracts()
    schools, homes = known["education_schools"], known["civil_affairs_care_homes"]
    assert ingest.may_load(min_, homes) and not ingest.may_load(min_, schools)
    session = accounts.sign_in(store, "min", "Green-tea-42").token
    assert accounts.session_actor(store, session).department == "民政局"
    city = accounts.sign_in(store, "city", "Blue-river-7").actor
    assert city.department is None and ingest.may_load(city, schools)
    listed = accounts.users(store, admin).set_index("username")["department"]
    assert listed["min"] == "民政局" and pd.isna(listed["city"])
    with pytest.raises(CityBrainError, match="unknown department '园林局'; departments with"):
        accounts.add_user(store, admin, "x.y", "data_steward", "Red-apple-99", department="园林局")


def test_quality_figures(loaded):
    store, _ = loaded
    q = ingest.quality(store, today=pd.Timestamp.now().date() + pd.Timedelta(days=40)).set_index(
        "dataset_id")
    # 40 days after loading: daily and monthly datasets are stale, quarterly and annual fresh
    assert q.loc["environment_air_quality", "freshness"] == "stale"
    assert q.loc["transport_bus_stops", "freshness"] == "stale"
    assert q.loc["civil_affairs_care_homes", "freshness"] == "fresh"
    assert q.loc["education_schools", "freshness"] == "fresh"
    assert q.loc["education_schools", "completeness"] == 1.0
    assert q.loc["civil_affairs_care_homes", "last_status"] == "loaded"
    hist = ingest.history(store, "education_schools")
    assert hist["status"].tolist() == ["loaded"]


def test_completeness_counts_empty_optional_values(tmp_path):
    store = make_store()
    src = pd.read_csv(MALFORMED / "duplicate_key.csv").iloc[:5]
    path = tmp_path / "f.csv"
    src.assign(residents=[None, None, 1, 2, 3]).to_csv(path, index=False)
    r = ingest.load(store, path, "civil_affairs_care_homes", ADMIN, datum="wgs84")
    per = ingest.column_completeness(store, r.event_id).set_index("column_name")
    assert per.loc["residents", "non_null"] == 3 and per.loc["residents", "completeness"] == 0.6
    assert per.loc["beds", "completeness"] == 1.0


def _cli(argv):
    top = argparse.ArgumentParser()
    sub = top.add_subparsers(dest="command", required=True)
    ingest_command.register(sub)
    args = top.parse_args(argv)
    return args.func(args)


def test_cli_loads_and_rejects(tmp_path, capsys, monkeypatch):
    import io

    path = tmp_path / "s.duckdb"
    store = make_store(path)
    admin = accounts.create_first_admin(store, "admin", "Root-pass-123")
    accounts.add_user(store, admin, "jiao", "data_steward", "Green-tea-42")
    accounts.add_user(store, admin, "pat", "planner", "Blue-river-77")
    store.close()

    def password(text):  # --as-user signs in: one line from standard input
        monkeypatch.setattr("sys.stdin", io.StringIO(text + "\n"))

    school = str(EXAMPLES / "education_schools_gbk.csv")
    password("Green-tea-42")
    code = _cli(["ingest", school, "--dataset", "education_schools", "--store", str(path),
                 "--as-user", "jiao"])
    assert code == 0
    assert "education_schools version 1: 60 rows read, 60 loaded; encoding gbk" in capsys.readouterr().out
    out = tmp_path / "problems.csv"
    password("Green-tea-42")
    with pytest.raises(ingest.IngestRejected):
        _cli(["ingest", str(MALFORMED / "outside_city.csv"), "--dataset",
              "civil_affairs_care_homes", "--datum", "wgs84", "--store", str(path),
              "--as-user", "jiao", "--problems-out", str(out)])
    problems = pd.read_csv(out, encoding="utf-8-sig")
    assert problems[["row", "rule"]].values.tolist() == [[3, "outside_city"]]
    password("Blue-river-77")
    with pytest.raises(PermissionDenied, match="pat \\(planner\\) may not load dataset"):
        _cli(["ingest", school, "--dataset", "education_schools", "--store", str(path),
              "--as-user", "pat"])
    password("Green-tea-42")
    with pytest.raises(CityBrainError, match="wrong user name or password"):
        _cli(["ingest", school, "--dataset", "education_schools", "--store", str(path),
              "--as-user", "nobody"])
    with pytest.raises(CityBrainError, match="give --as-user NAME"):
        _cli(["ingest", school, "--dataset", "education_schools", "--store", str(path)])
    store = Store.open(path)
    log = store.table("ingest_log").sort_values("logged_at")
    assert log[["actor", "status"]].values.tolist() == [["jiao", "loaded"], ["jiao", "rejected"]]
    store.close()


def test_cli_adds_a_steward_of_a_department(tmp_path, monkeypatch, capsys):
    """``users create-admin`` then ``users add --department``; passwords come one per line on
    standard input, as a script would pipe them."""
    import io

    from analytics.cli import main

    path = tmp_path / "city.duckdb"
    make_store(path).close()
    monkeypatch.setattr("sys.stdin", io.StringIO("Sun-moon-777\n"))
    assert main(["users", "create-admin", "admin", "--store", str(path)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("Sun-moon-777\nGreen-tea-42\n"))
    assert main(["users", "add", "min", "--role", "data_steward", "--department", "民政局",
                 "--admin", "admin", "--store", str(path)]) == 0
    assert "user min (data_steward, 民政局) added" in capsys.readouterr().out
    with Store.open(path) as s:
        assert accounts.sign_in(s, "min", "Green-tea-42").actor.department == "民政局"


def test_facilities_in_cells_where_nobody_lives_are_found():
    """Worked out by hand: in the grid's latest year (2024) only cell 101 has residents (102
    has a row of 0; 103 had residents in 2023 only); a register with facilities in 101, 102,
    103, an unknown cell 104 and one without a cell has three in empty cells."""
    store = make_store()
    grid = pd.DataFrame({"city_adcode": 330100, "year": [2024, 2024, 2023],
                         "cell": np.array([101, 102, 103], dtype="uint64"),
                         "district_adcode": 330106, "age_group": "18-59", "sex": "F",
                         "persons": [5, 0, 7]})
    register = pd.DataFrame({
        "facility_id": ["f1", "f2", "f3", "f4", "f5"],
        "type": ["kindergarten", "kindergarten", "kindergarten", "clinic", "clinic"],
        "district_adcode": [330106, 330106, 330106, 330108, 330108],
        "cell": pd.array([101, 102, 103, 104, None], dtype="UInt64")})
    assert quality._empty_cells(store, register) == []      # no grid: nothing to say
    store.write("population_cells", grid)
    found = quality._empty_cells(store, register)
    assert sorted((f["type"], f["district_adcode"], f["value"]) for f in found) == [
        ("clinic", 330108, 1), ("kindergarten", 330106, 2)]
    kinder = next(f for f in found if f["type"] == "kindergarten")
    assert "(f2, f3)" in kinder["message"]

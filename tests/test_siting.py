"""Site recommendation (MCLP) on the hand-made grid, against spopt, and its bad input.

Primary schools (radius 500 m) at D and F leave B (20 children) and H (80) uncovered.
The centre cell E is 400 m from both, so one new school at E covers all 100: the obvious
best site. See ``planning_store.py`` for the layout.
"""

from __future__ import annotations

import json

import coordTransform
import numpy as np
import pandas as pd
import pytest
from planning_store import YEAR, cell_of, letter_of, lonlat, make_store

from analytics.errors import CityBrainError
from analytics.planning import siting
from analytics.store import Store


@pytest.fixture(scope="module")
def store():
    s = make_store()
    yield s
    s.close()


def test_picks_the_obvious_site(store):
    result = siting.recommend_sites(store, "primary_school", YEAR, k=1)
    assert [letter_of(s) for s in result.sites["site_id"]] == ["E"]
    assert result.newly_covered == pytest.approx(100)
    assert result.before_pct == pytest.approx(100 * 350 / 450)
    assert result.after_pct == pytest.approx(100.0)
    assert result.solution.status == "optimal" and result.solution.gap_pct == pytest.approx(0)
    assert result.sites["gain"].tolist() == pytest.approx([100])


def test_lock_and_exclude(store):
    # B locked: it reaches only itself among the uncovered (20); the second site takes H (80).
    result = siting.recommend_sites(store, "primary_school", YEAR, k=2, lock=[cell_of("B")])
    assert letter_of(result.sites["site_id"].iloc[0]) == "B"
    assert bool(result.sites["locked"].iloc[0])
    assert result.sites["gain"].tolist() == pytest.approx([20, 80])
    assert result.after_pct == pytest.approx(100.0)
    # Without E, no single site reaches both B and H (800 m apart): best is 80 (H's side).
    result = siting.recommend_sites(store, "primary_school", YEAR, k=1, exclude=[cell_of("E")])
    assert result.newly_covered == pytest.approx(80)
    assert letter_of(result.sites["site_id"].iloc[0]) in {"G", "H", "I"}


def test_a_given_analysis_is_used_only_when_it_is_of_the_question(store):
    from analytics.planning import accessibility

    held = accessibility.analyse(store, "primary_school", YEAR)
    result = siting.recommend_sites(store, "primary_school", YEAR, k=1, analysis=held)
    assert [letter_of(s) for s in result.sites["site_id"]] == ["E"]
    assert result.newly_covered == pytest.approx(100)
    # an analysis of another radius (or type) is not the question asked: refused
    wide = accessibility.analyse(store, "primary_school", YEAR, radius_m=900)
    with pytest.raises(ValueError, match="900"):
        siting.recommend_sites(store, "primary_school", YEAR, k=1, analysis=wide)
    # at 900 m the schools at D and F reach every cell (cells 400 m apart)
    wider = siting.recommend_sites(store, "primary_school", YEAR, k=1, radius_m=900,
                                   analysis=wide)
    assert (wider.before_pct, wider.newly_covered) == (pytest.approx(100), 0)


def test_capacity_aware(store):
    # A new school of 50 places serves at most 50 children at 1 place per child.
    result = siting.recommend_sites(store, "primary_school", YEAR, k=1, site_capacity=50)
    assert result.newly_covered == pytest.approx(50)
    assert result.after_pct == pytest.approx(100 * 400 / 450)
    # Two such schools: E takes B (20) and 30 of H, a school near H the other 50 of H.
    result = siting.recommend_sites(store, "primary_school", YEAR, k=2, site_capacity=50)
    assert result.newly_covered == pytest.approx(100)
    assert result.sites["gain"].sum() == pytest.approx(100)


def test_district_scope(store):
    # In 330108 (C, F, I) everyone is already covered: nothing to gain.
    result = siting.recommend_sites(store, "primary_school", YEAR, k=1, district=330108)
    assert result.newly_covered == 0 and result.before_pct == pytest.approx(100)
    assert result.notes


def test_same_optimum_as_spopt():
    """Our HiGHS model against spopt's MCLP (PuLP/CBC) on 60 random demand points, 25 sites."""
    import pulp
    from spopt.locate import MCLP

    rng = np.random.default_rng(11)
    dem = rng.uniform(0, 4000, (60, 2))
    sites = rng.uniform(0, 4000, (25, 2))
    w = rng.integers(1, 300, 60).astype(float)
    radius = 800.0
    cost = np.hypot(dem[:, None, 0] - sites[None, :, 0], dem[:, None, 1] - sites[None, :, 1])
    i, j = np.nonzero(cost <= radius)
    for k in (1, 4):
        ours = siting.solve_mclp(i, j, w, 25, k)
        model = MCLP.from_cost_matrix(cost, w, service_radius=radius, p_facilities=k)
        model.solve(pulp.PULP_CBC_CMD(msg=False))
        theirs = pulp.value(model.problem.objective)
        assert ours.objective == pytest.approx(theirs)
        assert ours.served.sum() == pytest.approx(theirs)  # marginal gains add up
        assert np.all(np.diff(ours.served) <= 1e-9)        # largest gain first


def _csv(rows: list[tuple], header="id,name,lon,lat") -> bytes:
    return (header + "\n" + "\n".join(",".join(map(str, r)) for r in rows)).encode()


def test_uploaded_candidates_gcj02(store):
    # Two candidates given in GCJ-02 (as copied from a Chinese web map): E and A.
    pts = {"E": lonlat(0, 0), "A": lonlat(-400, 400)}
    gcj = {k: coordTransform.wgs84_to_gcj02(v[0], v[1]) for k, v in pts.items()}
    data = _csv([("s1", "中心", *gcj["E"]), ("s2", "西北", *gcj["A"])])
    cand = siting.parse_candidates(data, "sites.csv", "gcj02", store)
    back = np.hypot((cand["lon"] - pts["E"][0]) * 96_000, (cand["lat"] - pts["E"][1]) * 111_000)
    assert back.iloc[0] < 2.0  # within 2 m of the true WGS-84 point
    result = siting.recommend_sites(store, "primary_school", YEAR, k=1, candidates=cand)
    assert result.sites["site_id"].tolist() == ["s1"]
    assert result.newly_covered == pytest.approx(100)
    # Read as WGS-84 by mistake, the same numbers sit ~500 m off and miss H.
    wrong = siting.parse_candidates(data, "sites.csv", "wgs84", store)
    assert siting.recommend_sites(store, "primary_school", YEAR, k=1,
                                  candidates=wrong).newly_covered < 100
    with pytest.raises(CityBrainError, match="k = 3 but there are only 2 candidate sites"):
        siting.recommend_sites(store, "primary_school", YEAR, k=3, candidates=cand)


def test_geojson_candidates(store):
    lon, lat = lonlat(0, 0)
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"id": "g1", "name": "site"}}]}
    cand = siting.parse_candidates(json.dumps(doc), "sites.geojson", "wgs84", store)
    assert cand.loc[0, "site_id"] == "g1" and cand.loc[0, "district_adcode"] == 330106


@pytest.mark.parametrize("data, name, datum, message", [
    (_csv([("s1", "x", 120.15, 30.25)]), "a.csv", None, "declare the coordinates' datum"),
    (_csv([("s1", "x", 120.15, 30.25)]), "a.csv", "utm", "unknown datum"),
    (_csv([("s1", "x", 120.15, 30.25), ("s2", "y", 121.5, 31.2)]), "a.csv", "wgs84",
     r"a.csv: row 3, column lon/lat: \(121.5, 31.2\) in wgs84 is outside the city's boundary"),
    (_csv([("s1", "x", "abc", 30.25)]), "a.csv", "wgs84",
     "a.csv: row 2, column lon: 'abc' is not a number"),
    (_csv([("s1", "x", 30.25, 120.15)]), "a.csv", "wgs84", "out of range"),
    (_csv([("s1", 120.15, 30.25)], header="id,x1,y1"), "a.csv", "wgs84",
     "a.csv: row 1, column lon: required column 'lon' is missing"),
    (b"{}", "a.geojson", "wgs84", "FeatureCollection"),
    (b"x", "a.xlsx", "wgs84", "a.xlsx: not a readable .xlsx workbook"),  # XLSX is read too
])
def test_bad_candidate_files(store, data, name, datum, message):
    with pytest.raises(CityBrainError, match=message):
        siting.parse_candidates(data, name, datum, store)


def test_bad_requests(store):
    with pytest.raises(CityBrainError, match="k = 10 but there are only 9 candidate sites"):
        siting.recommend_sites(store, "primary_school", YEAR, k=10)
    with pytest.raises(CityBrainError, match="at least 1"):
        siting.recommend_sites(store, "primary_school", YEAR, k=0)
    with pytest.raises(CityBrainError, match="district 330110 has no residents"):
        siting.recommend_sites(store, "primary_school", YEAR, k=1, district=330110)
    with pytest.raises(CityBrainError, match="not among the candidate sites"):
        siting.recommend_sites(store, "primary_school", YEAR, k=1, lock=["nowhere"])
    with pytest.raises(CityBrainError, match="2 sites are locked but k is 1"):
        siting.recommend_sites(store, "primary_school", YEAR, k=1,
                               lock=[cell_of("A"), cell_of("B")])


def test_type_without_facilities_still_plans(store):
    # No care homes at all: every 60+ resident (6 x letter number) is uncovered. At 450 m a
    # cell reaches its four neighbours: H gets E, G, H, I = 6 x (5 + 7 + 8 + 9) = 174 of 270,
    # more than E (B, D, E, F, H: 150) or any other cell.
    result = siting.recommend_sites(store, "elderly_care_home", YEAR, k=1, radius_m=450)
    assert result.before_pct == 0 and result.after_pct == pytest.approx(100 * 174 / 270)
    assert letter_of(result.sites["site_id"].iloc[0]) == "H"
    assert any("no elderly care home open" in n for n in result.notes)


def test_geojson_export(store):
    result = siting.recommend_sites(store, "primary_school", YEAR, k=1)
    doc = result.geojson()
    feat = doc["features"][0]
    assert feat["geometry"]["coordinates"] == pytest.approx(list(lonlat(0, 0)), abs=1e-6)
    assert feat["properties"]["newly_covered"] == 100
    assert doc["properties"]["coverage_after_pct"] == 100
    assert isinstance(pd.DataFrame(result.sites), pd.DataFrame)


def test_candidate_pool_keeps_the_optimum(store, monkeypatch):
    """With the model limited to a few sites the answer is still the true optimum."""
    full = siting.recommend_sites(store, "elderly_care_home", YEAR, k=2, radius_m=450)
    monkeypatch.setattr(siting, "FIRST_POOL_SITES", 3)
    small = siting.recommend_sites(store, "elderly_care_home", YEAR, k=2, radius_m=450)
    assert small.newly_covered == pytest.approx(full.newly_covered)
    # a pool of one grows until it can hold an optimum
    monkeypatch.setattr(siting, "FIRST_POOL_SITES", 1)
    for k in (1, 2, 3):
        unpooled = siting.recommend_sites(store, "elderly_care_home", YEAR, k=k, radius_m=450)
        monkeypatch.setattr(siting, "FIRST_POOL_SITES", 10_000)
        assert siting.recommend_sites(store, "elderly_care_home", YEAR, k=k, radius_m=450
                                      ).newly_covered == pytest.approx(unpooled.newly_covered)
        monkeypatch.setattr(siting, "FIRST_POOL_SITES", 1)
    assert small.solution.gap_pct == pytest.approx(0)
    assert any("strongest" in n for n in small.notes)


def test_notes_have_words_in_both_languages(store, monkeypatch):
    from dashboard.i18n import table

    result = siting.recommend_sites(store, "elderly_care_home", YEAR, k=1, radius_m=450)
    assert ("no_facilities", {"year": YEAR}) in result.note_codes
    monkeypatch.setattr(siting, "FIRST_POOL_SITES", 3)
    small = siting.recommend_sites(store, "elderly_care_home", YEAR, k=2, radius_m=450)
    codes = {c for c, _ in small.note_codes}
    assert "pool_exact" in codes or "pool_bound" in codes
    for code in ("no_facilities", "few_useful", "pool_exact", "pool_bound", "future_demand"):
        entry = table()[f"plan_note_{code}"]
        assert entry["zh"] and entry["en"]


def test_cli_plan_coverage_and_sites(tmp_path, capsys):
    import io

    from analytics.cli import main

    path = tmp_path / "grid.duckdb"
    make_store(path=path).close()
    assert main(["plan", "coverage", "--store", str(path), "--type", "primary_school",
                 "--year", str(YEAR), "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    city = table[table["adcode"] == 0].iloc[0]
    assert (city["persons"], city["covered"], city["radius_m"]) == (450, 350, 500)
    out = tmp_path / "sites.geojson"
    assert main(["plan", "sites", "--store", str(path), "--type", "primary_school", "--year",
                 str(YEAR), "--k", "1", "--format", "geojson", "--out", str(out)]) == 0
    feature = json.loads(out.read_text(encoding="utf-8"))["features"][0]
    assert feature["properties"]["site_id"] == cell_of("E")
    # its residents left through the access decision, logged as the command line's release
    with Store.open(path, read_only=True) as logged:
        log = logged.query("open_data.usage_of_actor", actor="public", n=100)
    assert (log["channel"] == "cli").sum() == 2  # the coverage table, then the sites
    assert main(["plan", "sites", "--store", str(path), "--type", "primary_school", "--year",
                 str(YEAR), "--k", "10"]) == 2
    assert "error: k = 10 but there are only 9 candidate sites" in capsys.readouterr().err
    assert main(["plan", "coverage", "--store", str(path), "--type", "elderly_care_home",
                 "--year", str(YEAR)]) == 2
    assert "no elderly care home facilities" in capsys.readouterr().err
    # a typed id that would clear the screen is written out, not obeyed
    assert main(["plan", "sites", "--store", str(path), "--type", "primary_school", "--year",
                 str(YEAR), "--k", "1", "--lock", "\x1b[2Jx"]) == 2
    err = capsys.readouterr().err
    assert "locked site(s) \\x1b[2Jx are not among" in err and "\x1b" not in err


def test_siting_for_forecast_demand_grows_each_district_by_its_forecast(small_store):
    """Siting for 2035 from 2025 on the two-district build: the residents in scope are the
    districts' forecast 3-5 year-olds of 2035 (cells keep their 2025 shares), and a demand
    year that is not ahead is a clear error."""
    from analytics.forecast import forecast

    now = siting.recommend_sites(small_store, "kindergarten", 2025, 3)
    later = siting.recommend_sites(small_store, "kindergarten", 2025, 3, demand_year=2035)
    assert later.demand_year == 2035 and now.demand_year == 2025
    assert ("future_demand", {"year": 2035, "base": 2025}) in later.note_codes
    expected = sum(forecast(small_store, "pop_3_5", d, 2025, 10)["value"].iloc[-1]
                   for d in (330106, 330108))
    assert later.persons == pytest.approx(expected, abs=1.0)
    assert now.persons != later.persons
    with pytest.raises(CityBrainError, match="1 to 30 years after 2025"):
        siting.recommend_sites(small_store, "kindergarten", 2025, 3, demand_year=2020)

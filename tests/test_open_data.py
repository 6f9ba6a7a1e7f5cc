"""Catalog, access rules, accounts, applications and exports on a tiny hand-made store."""

import io
import json
import zipfile
from datetime import timedelta

import pandas as pd
import pytest
from open_data_store import tiny_store

from analytics.errors import CityBrainError
from analytics.identity import PUBLIC, ROLES, Actor
from analytics.opendata import access, accounts, applications, catalog, exports, privacy
from analytics.opendata.registry import DATASETS, DEPARTMENTS, catalog_rows, undescribed_tables
from analytics.store import Store

STEWARD = Actor("steward", "data_steward")
ANALYST = Actor("li.wei", "analyst")
FIELDS = ["name", "id_number", "phone", "sex", "age_band", "district_adcode", "subsidy_type",
          "monthly_yuan"]


@pytest.fixture(scope="module")
def store():
    s = tiny_store()
    admin = accounts.create_first_admin(s, "admin", "Root-pass-123")
    accounts.add_user(s, admin, "steward", "data_steward", "Green-tea-42")
    accounts.add_user(s, admin, "li.wei", "analyst", "Blue-river-7")
    app = applications.apply(s, ANALYST, "care_subsidy_extract",
                             "Elderly subsidy coverage by district for care-home planning",
                             FIELDS, 30)
    applications.decide(s, STEWARD, app, True, "ok for planning research")
    s.approved_app = app
    return s


# -- catalog -----------------------------------------------------------------------------------
def test_every_table_is_catalogued_with_counts_from_the_tables(store):
    assert catalog.check_catalog(store) == []
    cat = catalog.datasets(store).set_index("dataset_id")
    # counted by hand from the fixture: 6 facilities, 2 of them schools/kindergartens
    assert cat.loc["facilities_schools", "row_count"] == 2
    assert cat.loc["facilities_elderly", "row_count"] == 2
    assert cat.loc["population_cells", "row_count"] == 2 * 6 * 11 * 2
    assert cat.loc["districts", "row_count"] == 2
    registry_rows = len(store.query("open_data.rows_all", table="care_subsidy_registry"))
    assert cat.loc["care_subsidy_registry", "row_count"] == registry_rows
    assert (cat.loc["population_cells", "temporal_start"], cat.loc["population_cells", "temporal_end"]) == (2024, 2025)


def test_catalog_covers_14_departments_and_flags_confidential(store):
    cat = catalog.datasets(store)
    assert cat["publisher"].nunique() >= 14 and len(DEPARTMENTS) >= 14
    conf = cat[cat["access_level"] == "confidential"]
    assert conf["negative_list"].all() and conf["negative_reason"].str.len().gt(5).all()
    assert cat.loc[cat["dataset_id"] == "population_cells", "synthetic"].item()
    assert not cat.loc[cat["dataset_id"] == "districts", "synthetic"].item()


def test_an_undescribed_table_fails_closed():
    cols = {"mystery_table": [("x", "INTEGER")], "districts": [("adcode", "INTEGER")]}
    rows = catalog_rows(cols, lambda s: 0, lambda s: (None, None), 330100, "杭州市",
                        pd.Timestamp("2025-12-31").date()).set_index("dataset_id")
    assert rows.loc["mystery_table", "access_level"] == "confidential"
    assert undescribed_tables(cols) == ["mystery_table"]


def test_search_words_and_facets(store):
    cat = catalog.datasets(store)
    hits = catalog.search(cat, "养老").hits["dataset_id"]
    assert set(hits) >= {"facilities_elderly", "care_subsidy_by_district"}
    res = catalog.search(cat, "", access_level=["on_application"])
    # ours, and the public security bureau's two contract datasets (data/contracts: access_level
    # on_application): residents by district and the population grid
    assert sorted(res.hits["dataset_id"]) == ["care_subsidy_extract",
                                              "public_security_population_grid",
                                              "public_security_residents"]
    res = catalog.search(cat, "", formats=["geojson"])
    assert set(res.hits["dataset_id"]) == {"districts", "cells", "population_cells",
                                           "facilities_elderly", "facilities_health",
                                           "facilities_nurseries", "facilities_schools", "assets"}
    assert res.facets["access_level"].to_dict() == {"public": 8}


@pytest.mark.parametrize("text", ["'; DROP TABLE users; --", "<script>alert(1)</script>",
                                  "x' OR '1'='1", "a" * 200])
def test_injection_like_search_refused_and_logged(store, text):
    with pytest.raises(catalog.SearchRefused):
        catalog.search(catalog.datasets(store), text)
    before = len(store.query("open_data.usage_log", n=100000))
    catalog.log_refused_search(store, PUBLIC, text, "refused")
    log = store.query("open_data.usage_log", n=1)
    assert len(store.query("open_data.usage_log", n=100000)) == before + 1
    assert log.iloc[0]["outcome"] == "refused" and log.iloc[0]["dataset_id"] == "(search)"


def test_quality_score_by_hand(store):
    row = catalog.datasets(store).set_index("dataset_id").loc["districts"].copy()
    row["dataset_id"] = "districts"
    q = catalog.quality(row, today=pd.Timestamp("2026-01-10").date())
    # 11 of 12 core fields (boundaries have no temporal coverage) and every column
    # described: 40 * (0.5 * 11/12 + 0.5) = 38.3; annual, 10 days old: 30; downloadable
    # open formats: 15; CC BY 4.0: 15
    assert q == {"completeness": 38.3, "freshness": 30.0, "open_format": 15.0,
                 "open_licence": 15.0, "score": 98.3}
    late = catalog.quality(row, today=pd.Timestamp("2027-12-31").date())
    # 730 days old against 400 allowed: 30 * (1 - 330 / 1600) = 23.8
    assert late["freshness"] == 23.8


def test_quality_counts_emptiness_and_missing_column_descriptions(store):
    """Issue 15: a dataset with 0 records scored 80-98 and one with no column descriptions
    100. The same districts row, emptied: no freshness and no open format, 38.3 + 15 = 53.3;
    with its descriptions removed instead: 40 * 0.5 * 11/12 = 18.3 + 30 + 15 + 15 = 78.3."""
    base = catalog.datasets(store).set_index("dataset_id").loc["districts"].copy()
    today = pd.Timestamp("2026-01-10").date()
    empty = base.copy()
    empty["row_count"] = 0
    assert catalog.quality(empty, today) == {"completeness": 38.3, "freshness": 0.0,
                                             "open_format": 0.0, "open_licence": 15.0,
                                             "score": 53.3}
    bare = base.copy()
    bare["columns_json"] = json.dumps([{**c, "description": "", "description_en": None}
                                       for c in json.loads(base["columns_json"])])
    assert catalog.quality(bare, today)["score"] == 78.3
    scored = catalog.with_quality(catalog.datasets(store)).set_index("dataset_id")
    assert scored.loc["education_schools", "row_count"] == 0
    assert scored.loc["education_schools", "quality"] < 60


def test_facet_counts_follow_the_search(store):
    """Searching 养老 leaves six datasets (four social security; the care-home and day-care
    contracts, social welfare): the domain facet counts those, not the whole catalog;
    choosing 'public' access narrows the other facets but leaves the access facet's own
    choices open (disjunctive faceting)."""
    cat = catalog.datasets(store)
    counts = catalog.facet_counts(cat, "养老")
    assert counts["theme"].to_dict() == {"social_security": 4, "social_welfare": 2}
    assert counts["publisher"].to_dict() == {"杭州市民政局": 6}
    picked = catalog.facet_counts(cat, "养老", access_level=["public"])
    assert picked["access_level"].to_dict() == {"public": 4, "on_application": 1,
                                                "confidential": 1}
    assert picked["theme"].to_dict() == {"social_security": 2, "social_welfare": 2}


def test_one_publisher_name_per_department(store):
    from analytics.pooling.contracts import publisher_name

    assert publisher_name("教育局", "杭州市") == "杭州市教育局"
    assert publisher_name("杭州市教育局", "杭州市") == "杭州市教育局"
    cat = catalog.datasets(store)
    by_en = cat.groupby("publisher_en")["publisher"].nunique()
    assert by_en.max() == 1, by_en[by_en > 1]


def test_columns_never_show_none(store):
    row = catalog.datasets(store).set_index("dataset_id").loc["education_schools"]
    cols = catalog.columns_of(row)
    assert not cols.isin([None, "None", "nan"]).any().any()
    assert (cols["description_en"] != "").all()


def test_jsonld_carries_every_dcat_ap_mandatory_field(store):
    doc = catalog.dcat_jsonld(catalog.datasets(store), store.meta())
    for key in catalog.DCAT_AP_MANDATORY["catalog"]:
        assert doc[key], key
    assert len(doc["dcat:dataset"]) == len(catalog.datasets(store))
    for ds in doc["dcat:dataset"]:
        for key in catalog.DCAT_AP_MANDATORY["dataset"]:
            assert ds[key] and all(v["@value"] for v in ds[key]), (ds["dct:identifier"], key)
        assert ds["dct:publisher"]["foaf:name"]
        for dist in ds.get("dcat:distribution", []):
            assert dist["dcat:accessURL"]["@id"].startswith("http")
    negative = [d for d in doc["dcat:dataset"] if "negative list" == d.get("adms:status")]
    assert negative and all("dcat:distribution" not in d for d in negative)
    pod = catalog.data_json(catalog.datasets(store), store.meta())
    assert {d["accessLevel"] for d in pod["dataset"]} == {"public", "restricted public", "non-public"}


# -- the leak matrix ---------------------------------------------------------------------------
ACTORS = [PUBLIC, Actor("company.x", "public")] + [Actor(f"staff.{r}", r) for r in ROLES
                                                   if r != "public"] + [ANALYST, STEWARD]


def _paths(store, dataset_id, actor):
    """Every way out of the store except the CLI (tested below): page, download, api."""
    yield "page", lambda: access.read(store, dataset_id, actor, channel="page", limit=20)[0]
    yield "download", lambda: pd.read_csv(io.BytesIO(exports.export_bytes(
        store, dataset_id, "csv", actor, "download")[0]), encoding="utf-8-sig")
    yield "api", lambda: access.read(store, dataset_id, actor)[0]


def _raw_personal(store):
    """Identifying values of the register. Names are left out: a two-character pseudonym
    can coincide with another resident's real name (checked separately)."""
    reg = store.query("open_data.rows_all", table="care_subsidy_registry")
    return set(reg["id_number"]) | set(reg["phone"]) | set(reg["address"])


def _contract_specs():
    """Ingest's department datasets (described by their contracts), as leak-matrix rows."""
    from analytics.opendata.registry import DatasetSpec, contract_tables

    out = {}
    for c in contract_tables().values():
        out[c.id] = DatasetSpec(c.id, "data_resources", "urban", c.title, c.title_en, "", "", "",
                                c.access_level, "daily", c.table) if c.access_level != "confidential" \
            else None
    return [v for v in out.values() if v is not None]


@pytest.mark.parametrize("spec", DATASETS + _contract_specs(), ids=lambda s: s.dataset_id)
def test_leak_matrix(store, spec):
    personal = _raw_personal(store)
    for actor in ACTORS:
        for channel, run in _paths(store, spec.dataset_id, actor):
            before = len(store.query("open_data.usage_log", n=10**6))
            # only the analyst holds an application, and only for the subsidy extract
            should_serve = spec.table is not None and (
                spec.access == "public" or (spec.dataset_id == "care_subsidy_extract"
                                            and actor == ANALYST))
            if spec.table is not None and spec.table not in store.tables():
                continue
            if not should_serve:
                with pytest.raises(access.AccessRefused):
                    run()
                last = store.query("open_data.usage_log", n=1).iloc[0]
                assert last["outcome"] == "refused" and last["dataset_id"] == spec.dataset_id
                assert len(store.query("open_data.usage_log", n=10**6)) == before + 1
                continue
            frame = run()
            values = {str(v) for v in frame.to_numpy().ravel()
                      if not isinstance(v, (bytes, bytearray, memoryview))}
            assert not (values & personal), (spec.dataset_id, actor, channel)
            if spec.dataset_id == "care_subsidy_extract":
                assert set(frame.columns) <= set(FIELDS)
                names = store.query("open_data.rows_all", table="care_subsidy_registry")["name"]
                assert frame["name"].isin(set(names)).mean() < 0.2
                if channel != "page":  # a 20-row preview is a slice of a k-anonymous release
                    assert privacy.is_k_anonymous(frame, ("sex", "age_band", "district_adcode"))
                assert frame["id_number"].map(privacy.is_valid_prc_id).all()
            for col in spec.count_columns:
                shown = frame[col].dropna()
                assert not ((shown >= 1) & (shown <= 9)).any()
            assert store.query("open_data.usage_log", n=1).iloc[0]["outcome"] == "served"


def test_leak_matrix_cli(tmp_path, monkeypatch):
    """The CLI path: every dataset as the public, and every role on the datasets that need
    more than the public has (confidential, on application), on a store file."""
    from analytics import cli

    path = tmp_path / "city.duckdb"
    s = tiny_store(path=path)
    admin = accounts.create_first_admin(s, "admin", "Root-pass-123")
    users = {}
    for role in ROLES:
        name = f"user.{role.replace('_', '')}"
        accounts.add_user(s, admin, name, role, "Strong-pass-77")
        users[name] = "Strong-pass-77"
    s.close()
    runs = [(spec.dataset_id, None) for spec in DATASETS]
    runs += [(d, u) for d in ("care_subsidy_registry", "care_subsidy_extract") for u in users]
    served = set()
    for dataset_id, user in runs:
        out = tmp_path / f"{dataset_id}-{user}.csv"
        args = ["export", dataset_id, "--format", "csv", "--out", str(out), "--store", str(path)]
        if user:
            args += ["--as-user", user]
            monkeypatch.setattr("sys.stdin", io.StringIO(users[user] + "\n"))
        code = cli.main(args)
        if code == 0:
            served.add(dataset_id)
            assert out.read_bytes()[:3] == b"\xef\xbb\xbf"
        else:
            assert code == 2 and not out.exists()
    public_ids = {s.dataset_id for s in DATASETS if s.access == "public" and s.table}
    # nobody has an application in this store: only public datasets leave
    assert served == public_ids
    with Store.open(path) as s:
        log = s.query("open_data.usage_log", n=10**6)
    assert (log["channel"] == "cli").all() and len(log) == len(runs)
    assert set(log.loc[log["outcome"] == "refused", "dataset_id"]) >= {
        "care_subsidy_registry", "care_subsidy_extract", "household_register_persons"}


def test_confidential_refused_even_for_the_administrator(store):
    admin = Actor("admin", "administrator")
    with pytest.raises(access.AccessRefused, match="negative list"):
        access.read(store, "care_subsidy_registry", admin)
    with pytest.raises(access.AccessRefused, match="no dataset"):
        access.read(store, "users", admin)


def test_someone_elses_or_expired_application_refused(store):
    app = store.approved_app
    with pytest.raises(access.AccessRefused, match="another requester"):
        access.read(store, "care_subsidy_extract", STEWARD, application_id=app)
    later = privacy.now_utc() + timedelta(days=31)
    decision = access.decide(store, "care_subsidy_extract", ANALYST, "api", application_id=app,
                             now=later)
    assert not decision.allowed and "expired" in decision.reason
    assert not access.decide(store, "care_subsidy_extract", ANALYST, "api", now=later).allowed


def test_approved_extract_masks_and_keeps_only_approved_fields(store):
    frame, report = access.read(store, "care_subsidy_extract", ANALYST)
    reg = store.query("open_data.rows_all", table="care_subsidy_registry")
    assert list(frame.columns) == [c for c in frame.columns if c in FIELDS]
    assert report.masked == {"name": len(reg), "id_number": len(reg), "phone": len(reg)}
    assert len(frame) == len(reg) - report.withheld_rows
    assert "address" in report.dropped_columns and "birth_date" in report.dropped_columns


# -- applications --------------------------------------------------------------------------------
def test_application_rules(store):
    with pytest.raises(CityBrainError, match="sign in"):
        applications.apply(store, PUBLIC, "care_subsidy_extract", "research purpose here", ["sex"], 10)
    with pytest.raises(CityBrainError, match="public"):
        applications.apply(store, ANALYST, "districts", "research purpose here", ["name"], 10)
    with pytest.raises(CityBrainError, match="cannot be requested"):
        applications.apply(store, ANALYST, "care_subsidy_extract", "research purpose here",
                           ["address"], 10)
    app = applications.apply(store, STEWARD, "care_subsidy_extract", "steward's own research",
                             ["sex"], 10)
    with pytest.raises(CityBrainError, match="own application"):
        applications.decide(store, STEWARD, app, True)
    with pytest.raises(CityBrainError, match="may not"):
        applications.decide(store, ANALYST, app, True)


# -- accounts --------------------------------------------------------------------------------------
def test_no_default_account_and_first_admin_once():
    s = tiny_store()
    assert accounts.count_admins(s) == 0
    with pytest.raises(accounts.SignInRefused):
        accounts.sign_in(s, "admin", "admin")
    accounts.create_first_admin(s, "boss", "Root-pass-123")
    with pytest.raises(CityBrainError, match="already exists"):
        accounts.create_first_admin(s, "boss2", "Root-pass-123")
    stored = s.query("open_data.user", username="boss").iloc[0]["password_hash"]
    assert stored.startswith("$argon2id$") and "Root-pass-123" not in stored


def test_sign_in_wrong_password_throttling_and_expiry():
    s = tiny_store()
    accounts.create_first_admin(s, "boss", "Root-pass-123")
    t0 = privacy.now_utc()
    with pytest.raises(accounts.SignInRefused, match="wrong"):
        accounts.sign_in(s, "boss", "nope", now=t0)
    for i in range(accounts.MAX_FAILURES - 1):
        with pytest.raises(accounts.SignInRefused):
            accounts.sign_in(s, "boss", f"guess-{i}", now=t0 + timedelta(seconds=i + 1))
    # five failures: even the right password is refused while the lockout lasts
    with pytest.raises(accounts.SignInRefused, match="too many"):
        accounts.sign_in(s, "boss", "Root-pass-123", now=t0 + timedelta(minutes=1))
    ok = accounts.sign_in(s, "boss", "Root-pass-123", now=t0 + accounts.LOCKOUT + timedelta(minutes=1))
    assert ok.actor == Actor("boss", "administrator")
    start = t0 + accounts.LOCKOUT + timedelta(minutes=1)
    assert accounts.session_actor(s, ok.token, now=start + timedelta(minutes=5)) == ok.actor
    # idle longer than the idle timeout: expired
    assert accounts.session_actor(s, ok.token, now=start + accounts.IDLE_TIMEOUT
                                  + timedelta(minutes=10)) is None
    # kept busy, but past the absolute lifetime: expired
    again = accounts.sign_in(s, "boss", "Root-pass-123", now=start)
    t = start
    while t + timedelta(minutes=55) < start + accounts.SESSION_TTL:
        t += timedelta(minutes=55)
        assert accounts.session_actor(s, again.token, now=t) is not None
    assert accounts.session_actor(s, again.token, now=start + accounts.SESSION_TTL) is None
    accounts.sign_out(s, ok.token)
    assert accounts.session_actor(s, ok.token, now=start) is None


def test_weak_passwords_and_reserved_names_refused():
    s = tiny_store()
    with pytest.raises(CityBrainError, match="too short"):
        accounts.create_first_admin(s, "boss", "short")
    with pytest.raises(CityBrainError, match="reserved"):
        accounts.create_first_admin(s, "public", "Root-pass-123")


# -- exports -----------------------------------------------------------------------------------------
def test_csv_has_bom_and_chinese_survives(store):
    data, result = exports.export_bytes(store, "districts", "csv")
    assert data[:3] == b"\xef\xbb\xbf"
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert list(frame["name"]) == ["西湖区", "滨江区"] and result.rows == 2
    assert frame["geometry"].str.startswith("POLYGON").all()


@pytest.mark.parametrize("fmt", ["parquet", "xlsx", "geojson", "geoparquet"])
def test_other_formats_round_trip(store, fmt, tmp_path):
    import geopandas as gpd

    out = tmp_path / f"f.{fmt}"
    exports.export(store, "facilities_schools", fmt, out)
    if fmt == "parquet":
        back = pd.read_parquet(out)
    elif fmt == "xlsx":
        back = pd.read_excel(out)
    elif fmt == "geojson":
        back = gpd.read_file(out)
        assert back.geometry.geom_type.eq("Point").all()
    else:
        back = gpd.read_parquet(out)
        assert back.crs.to_epsg() == 4326
    assert sorted(back["type"]) == ["kindergarten", "primary_school"]


def test_multi_year_table_streams_into_one_file(store):
    data, result = exports.export_bytes(store, "population_cells", "parquet")
    frame = pd.read_parquet(io.BytesIO(data))
    assert sorted(frame["year"].unique()) == [2024, 2025] and len(frame) == 264
    assert result.report.primary_suppressed > 0


def test_spatial_format_refused_for_a_table_without_geometry(store):
    with pytest.raises(CityBrainError, match="no geometry"):
        exports.export_bytes(store, "vital_events", "geojson")


def test_domain_zip_has_readme_metadata_and_only_allowed(store):
    buf = io.BytesIO()
    results = exports.export_domain(store, "social_security", buf, PUBLIC)
    names = zipfile.ZipFile(buf).namelist()
    assert {r.dataset_id for r in results} == {"facilities_elderly", "care_subsidy_by_district"}
    assert "README.md" in names and "metadata.jsonld" in names
    assert not any("registry" in n or "extract" in n for n in names)
    meta = json.loads(zipfile.ZipFile(buf).read("metadata.jsonld"))
    assert len(meta["dcat:dataset"]) == 2


def test_every_download_is_logged(store):
    before = catalog.datasets(store).set_index("dataset_id").loc["vital_events", "downloads"]
    exports.export_bytes(store, "vital_events", "csv")
    after = catalog.datasets(store).set_index("dataset_id").loc["vital_events", "downloads"]
    assert after == before + 1


# -- the registry --------------------------------------------------------------------------------
def test_registry_is_consistent_with_the_population(store):
    reg = store.query("open_data.rows_all", table="care_subsidy_registry")
    assert reg["id_number"].map(privacy.is_valid_prc_id).all() and reg["id_number"].is_unique
    assert (reg["id_number"].str[:6].astype(int) == reg["district_adcode"]).all()
    assert (reg["id_number"].str[16].astype(int) % 2 == (reg["sex"] == "M")).all()
    assert reg["phone"].str.fullmatch(r"1[3-9]\d{9}").all()
    pop = store.query("open_data.rows_all", table="population_cells")
    pop = pop[pop["year"] == 2025].set_index(["cell", "age_group", "sex"])["persons"]
    counts = reg.groupby(["cell", "age_group", "sex"]).size()
    assert (counts <= pop.reindex(counts.index)).all()
    assert reg["age"].between(60, 100).all()


def test_registry_draw_is_deterministic_and_scales_with_take_up(store):
    import numpy as np

    from analytics.citygen import registry

    pop = store.query("open_data.rows_all", table="population_cells")
    pop = pop[pop["year"] == 2025]
    districts = store.table("districts")
    a = registry.draw(pop, districts, 2025, 330100, np.random.default_rng(1))
    b = registry.draw(pop, districts, 2025, 330100, np.random.default_rng(1))
    pd.testing.assert_frame_equal(a, b)
    # expected recipients: sum over groups of residents x take-up rate (binomial mean)
    expected = sum(pop.loc[pop["age_group"] == g, "persons"].sum() * r
                   for g, r in registry.TAKE_UP.items())
    assert abs(len(a) - expected) < 4 * expected ** 0.5


def test_decide_many_decides_each_dataset_as_the_rules_say(store):
    ids = ["districts", "care_subsidy_extract", "care_subsidy_registry", "no_such_dataset"]
    public = access.decide_many(store, ids, PUBLIC, "download")
    assert [d.dataset_id for d in public] == ids
    # public data for all; the extract needs a signed-in applicant; the registry is on the
    # negative list; an unknown id is refused as unknown
    assert [(d.allowed, d.code) for d in public] == [
        (True, None), (False, "needs_sign_in"), (False, "confidential"),
        (False, "unknown_dataset")]
    analyst = access.decide_many(store, ids, ANALYST, "download")
    assert [d.allowed for d in analyst] == [True, True, False, False]
    assert analyst[1].application_id == store.approved_app
    assert set(analyst[1].fields) == set(FIELDS)
    # a steward holds no application for the extract
    assert access.decide_many(store, ["care_subsidy_extract"], STEWARD)[0].code == \
        "no_application"


def test_english_fields_for_every_entry(store):
    """Issue 15: English pages showed Chinese reasons and descriptions. Every entry has an
    English description and publisher, and every negative-list entry an English reason,
    with no Chinese characters in them."""
    import re

    han = re.compile(r"[\u4e00-\u9fff]")
    cat = catalog.datasets(store)
    for col in ("title_en", "description_en", "publisher_en"):
        assert cat[col].str.len().gt(3).all(), col
        assert not cat[col].map(lambda v: bool(han.search(v))).any(), col
    neg = catalog.negative_list(cat)
    assert neg["negative_reason_en"].str.len().gt(10).all()
    assert not neg["negative_reason_en"].map(lambda v: bool(han.search(v))).any()

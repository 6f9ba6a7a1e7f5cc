"""A city on its own data: a store built --no-synthetic, then the Hangzhou example files.

Every page opens with no exception; with no population loaded the app names the missing
layers and the department dataset that fills each; with the examples loaded the planning
map works for the facility types they cover and says where its facilities come from.
"""

from __future__ import annotations

import pytest
from app_helpers import PAGES, no_exception, run_app

from analytics.citygen.build import BuildConfig, build
from analytics.identity import Actor
from analytics.pooling import contracts, ingest
from analytics.store import Store

pytestmark = pytest.mark.slow
ADMIN = Actor("ada", "administrator")
LOADED = ["civil_affairs_care_homes", "civil_affairs_day_care", "public_security_residents",
          "health_vital_events",
          "public_security_population_grid"]


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "bare.duckdb"
    build(BuildConfig(out=path, synthetic=False))
    return path


@pytest.fixture(scope="module")
def loaded(bare, tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "loaded.duckdb"
    path.write_bytes(bare.read_bytes())
    with Store.open(path) as store:
        for dataset in LOADED:
            c = contracts.contract(dataset)
            ingest.load(store, c.example_path, dataset, ADMIN)
        store.checkpoint()
    return path


def test_bare_store_names_what_is_missing(bare, monkeypatch):
    with Store.open(bare, read_only=True) as store:
        assert store.meta()["synthetic_layers"] == "none"
        assert len(store.table("facilities")) == 0 and len(store.table("cells")) > 100_000
    at = run_app(bare, monkeypatch, lang="en")
    no_exception(at)
    assert at.title[0].value == "No population data yet"
    shown = " ".join(m.value for m in at.markdown)
    assert "Public Security Bureau · Registered residents by district, age and sex " \
           "(`public_security_residents`)" in shown
    assert "Health Commission · Registered hospitals (`health_hospitals`)" in shown


@pytest.mark.parametrize("page", sorted(p.name for p in PAGES.glob("*.py")))
def test_every_page_opens_on_the_examples(loaded, monkeypatch, page):
    at = run_app(loaded, monkeypatch, page=page, lang="en")
    no_exception(at)
    # the missing-layers panel is on every page: hospitals are not among the loaded files
    assert any("Registered hospitals" in m.value for m in at.markdown)


def test_planning_map_uses_the_registers(loaded, monkeypatch):
    with Store.open(loaded) as store:  # as the app opens it (AppTest runs in this process)
        homes = store.table("facilities")
    homes = homes[homes["type"] == "elderly_care_home"]
    assert len(homes) == 40 and set(homes["source"]) == {"civil_affairs_care_homes v1"}
    at = run_app(loaded, monkeypatch, page="planning_map.py", lang="en", year="2025")
    no_exception(at)

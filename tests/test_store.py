"""The store door: schema, named queries, transactions, and clear errors for bad files."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from analytics.store import SCHEMA_VERSION, Store, StoreError, named_query, schema_tables


def test_schema_has_every_core_table():
    store = Store.create(None)
    assert set(schema_tables()) <= set(store.tables())
    for table in ["meta", "districts", "cells", "population_cells", "population_districts",
                  "vital_events", "facilities", "datasets", "ingest_log", "download_log"]:
        assert table in store.tables()
    assert store.meta()["schema_version"] == str(SCHEMA_VERSION)


def _tiny_population():
    return pd.DataFrame({"city_adcode": 1, "year": [2020, 2020, 2020, 2021],
                         "district_adcode": [11, 11, 12, 11], "age": [0, 70, 5, 0],
                         "sex": ["M", "F", "F", "M"], "persons": [10, 20, 30, 7]})


def test_named_query_binds_parameters():
    store = Store.create(None)
    store.write("population_districts", _tiny_population())
    got = store.query("population.single_age", year=2020, district=11)
    assert got.to_dict(orient="list") == {"age": [0, 70], "sex": ["M", "F"], "persons": [10, 20]}
    everyone = store.query("population.single_age", year=2020, district=None)
    assert everyone["persons"].sum() == 60


def test_a_parameter_is_a_value_not_sql():
    store = Store.create(None)
    store.write("population_districts", _tiny_population())
    with pytest.raises(duckdb.ConversionException):  # a string is no SMALLINT
        store.query("population.single_age", year="2020; DROP TABLE meta", district=None)
    assert "meta" in store.tables()


def test_failed_transaction_leaves_tables_as_they_were():
    store = Store.create(None)
    store.write("population_districts", _tiny_population())
    with pytest.raises(RuntimeError), store.transaction() as cur:
        store.write("population_districts", _tiny_population().assign(year=[2022, 2022, 2022, 2023]), cur=cur)
        raise RuntimeError("interrupted")
    assert store.row_counts().set_index("table").loc["population_districts", "rows"] == 4


def test_unknown_query_names_the_file():
    with pytest.raises(KeyError, match="sql/population.sql"):
        named_query("population.nope")


def test_missing_store_says_how_to_build(tmp_path):
    with pytest.raises(StoreError, match="make store"):
        Store.open(tmp_path / "none.duckdb")


def test_corrupt_store_says_rebuild(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a readable store.*rebuild"):
        Store.open(bad)


def test_truncated_store_says_rebuild(tmp_path, small_store_path):
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(small_store_path.read_bytes()[:20_000])
    with pytest.raises(StoreError, match="rebuild"):
        Store.open(cut)


def test_other_schema_version_says_rebuild(tmp_path):
    path = tmp_path / "old.duckdb"
    store = Store.create(path)
    store.set_meta({"schema_version": SCHEMA_VERSION - 1})
    store.close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION - 1}.*rebuild"):
        Store.open(path)


def test_parquet_export_partitions_by_year(tmp_path):
    store = Store.create(None)
    store.write("population_districts", _tiny_population())
    target = store.export_parquet("population_districts", tmp_path, ["city_adcode", "year"])
    parts = sorted(p.relative_to(target).as_posix() for p in target.rglob("*.parquet"))
    assert [p.split("/")[1] for p in parts] == ["year=2020", "year=2021"]
    assert pd.read_parquet(target)["persons"].sum() == 67


def test_vintage_changes_with_a_build_or_a_load_and_nothing_else():
    s = Store.create()
    s.set_meta({"built_at": "2026-01-01T00:00:00Z"})
    assert s.vintage() == "2026-01-01T00:00:00Z|0"  # an older store: its build time
    s.set_meta({"build_id": "b1"})
    assert s.vintage() == "b1|0"
    insert = ("INSERT INTO ingest_log VALUES (?, 'ds', ?, 'steward', 'f.csv', 'x', 3, 3, 1, ?, "
              "NULL)")
    with s.transaction() as cur:
        cur.execute(insert, ["e1", "2026-03-04 05:06:07", "rejected"])
    assert s.vintage() == "b1|0"  # a rejected file changes no data
    with s.transaction() as cur:
        cur.execute(insert, ["e2", "2026-03-04 05:06:08", "loaded"])
    assert s.vintage() == "b1|1|2026-03-04T05:06:08.000000"
    s.set_meta({"build_id": "b2"})  # a rebuild of the synthetic layers
    assert s.vintage() == "b2|1|2026-03-04T05:06:08.000000"
    s.close()

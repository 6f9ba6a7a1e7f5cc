"""The store's own defences: where the masking key lives, file modes, raw reads refused,
k-anonymity over every released column."""

from __future__ import annotations

import stat

import pandas as pd
import pytest
from open_data_store import tiny_store

from analytics.identity import Actor
from analytics.opendata import access, accounts, applications, privacy
from analytics.store import RestrictedTable, Store


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def approved(tmp_path, monkeypatch):
    monkeypatch.delenv(access.KEY_ENV, raising=False)
    store = tiny_store(path=tmp_path / "city.duckdb")
    admin = accounts.create_first_admin(store, "admin", "Root-pass-123")
    accounts.add_user(store, admin, "ann", "analyst", "Green-tea-42")
    accounts.add_user(store, admin, "min", "data_steward", "Red-apple-99", department="民政局")
    ann = Actor("ann", "analyst")
    fields = ["name", "id_number", "sex", "age_band", "district_adcode", "subsidy_type",
              "since_year", "monthly_yuan"]
    app = applications.apply(store, ann, "care_subsidy_extract",
                             "Research on the take-up of care subsidies", fields, 30)
    applications.decide(store, Actor("min", "data_steward", "民政局"), app, True)
    yield store, ann, tmp_path
    store.close()


def test_store_file_is_owner_only(tmp_path):
    path = tmp_path / "new.duckdb"
    Store.create(path).close()
    assert _mode(path) == 0o600
    path.chmod(0o644)          # a store copied in with a loose mode is tightened on opening
    Store.open(path).close()
    assert _mode(path) == 0o600


def test_masking_key_lives_beside_the_store_not_in_it(approved):
    store, ann, tmp = approved
    frame, _ = access.read(store, "care_subsidy_extract", ann)
    key = tmp / "city.duckdb.key"
    assert key.exists() and _mode(key) == 0o600
    assert store.query("open_data.rows_all", table="privacy_keys").empty
    secret = key.read_text().strip()
    assert len(bytes.fromhex(secret)) == 32
    again, _ = access.read(store, "care_subsidy_extract", ann)
    pd.testing.assert_frame_equal(frame, again)  # the same key: the same pseudonyms


def test_key_from_the_environment_wins(approved, monkeypatch):
    store, ann, tmp = approved
    monkeypatch.setenv(access.KEY_ENV, "ab" * 32)
    assert access.masking_secret(store) == "ab" * 32
    assert not (tmp / "city.duckdb.key").exists()
    monkeypatch.setenv(access.KEY_ENV, "short")
    with pytest.raises(Exception, match="at least 32 hex digits"):
        access.masking_secret(store)


def test_an_old_key_in_the_store_moves_out(approved):
    store, _, tmp = approved
    store.execute("open_data.insert_secret", key_name="masking", secret_hex="cd" * 32,
                  at=privacy.now_utc())
    assert access.masking_secret(store) == "cd" * 32
    assert (tmp / "city.duckdb.key").read_text().strip() == "cd" * 32
    assert store.query("open_data.rows_all", table="privacy_keys").empty


def test_raw_register_refused_through_store_table(approved):
    store, _, _ = approved
    for table in ("care_subsidy_registry", "privacy_keys", "dept_registered_residents"):
        with pytest.raises(RestrictedTable, match="through analytics.opendata.access"):
            store.table(table)
    assert len(store.table("districts")) == 2


def test_k_anonymity_covers_every_released_column(approved):
    store, ann, _ = approved
    frame, report = access.read(store, "care_subsidy_extract", ann)
    released = [c for c in frame.columns if c not in ("name", "id_number")]
    assert {"since_year", "subsidy_type", "monthly_yuan"} <= set(report.quasi_identifiers)
    if len(frame):
        assert frame.groupby(released, dropna=False).size().min() >= privacy.K_MIN

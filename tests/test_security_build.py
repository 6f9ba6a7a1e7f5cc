"""Rebuilds keep what people made; killed builds leave no temporary file."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from ingest_helpers import EXAMPLES

from analytics.citygen.build import BuildConfig, build
from analytics.errors import CityBrainError
from analytics.identity import Actor
from analytics.opendata import accounts, applications, exports
from analytics.pooling import ingest
from analytics.store import Store

SMALL_DISTRICTS = (330106, 330108)


def _schools_in_two_districts(tmp_path):
    """The example schools file, only the rows of the small store's two districts."""
    import pandas as pd

    frame = pd.read_csv(EXAMPLES / "education_schools_gbk.csv", encoding="gbk")
    frame = frame[frame["区县"].isin(["西湖区", "滨江区"])]
    path = tmp_path / "schools.csv"
    frame.to_csv(path, index=False)
    return path, len(frame)


@pytest.fixture()
def lived_in(tmp_path, small_store_path):
    """A store people used: an administrator, an application, a download, a department load."""
    path = tmp_path / "city.duckdb"
    shutil.copy(small_store_path, path)
    with Store.open(path) as store:
        admin = accounts.create_first_admin(store, "admin", "Root-pass-123")
        accounts.add_user(store, admin, "ann", "analyst", "Green-tea-42")
        applications.apply(store, Actor("ann", "analyst"), "care_subsidy_extract",
                           "Research on the take-up of care subsidies", ["sex"], 30)
        exports.export_bytes(store, "vital_events", "csv")
        schools, n = _schools_in_two_districts(tmp_path)
        assert n >= 5
        ingest.load(store, schools, "education_schools", admin)
        store.checkpoint()
    return path


def _counts(path):
    with Store.open(path, read_only=True) as store:
        return {t: len(store.query("open_data.rows_all", table=t))
                for t in ("users", "applications", "download_log", "ingest_log",
                          "dept_schools_versions")}


def test_a_rebuild_keeps_accounts_applications_logs_and_department_data(lived_in):
    before = _counts(lived_in)
    n = _schools_in_two_districts(lived_in.parent)[1]
    assert before == {"users": 2, "applications": 1, "download_log": 1, "ingest_log": 1,
                      "dept_schools_versions": n}
    build(BuildConfig(districts=SMALL_DISTRICTS, out=lived_in))
    assert _counts(lived_in) == before
    with Store.open(lived_in) as store:
        assert accounts.sign_in(store, "admin", "Root-pass-123").actor.role == "administrator"
        cat = store.query("open_data.dataset", dataset_id="education_schools")
        assert int(cat.iloc[0]["row_count"]) == n


def test_replace_starts_without_them(lived_in):
    build(BuildConfig(districts=SMALL_DISTRICTS, out=lived_in, replace=True))
    assert _counts(lived_in) == {"users": 0, "applications": 0, "download_log": 0,
                                 "ingest_log": 0, "dept_schools_versions": 0}


def test_a_store_in_use_is_not_silently_wiped(lived_in):
    holder = Store.open(lived_in)  # the app holds the write lock … in another process
    code = ("import sys; from analytics.citygen.build import BuildConfig, build; "
            f"build(BuildConfig(districts={SMALL_DISTRICTS!r}, out=__import__('pathlib')"
            f".Path({str(lived_in)!r})))")
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=300)
    finally:
        holder.close()
    assert proc.returncode != 0
    assert "build with --replace" in proc.stderr and "Stop the app" in proc.stderr
    assert _counts(lived_in)["users"] == 2


def test_a_killed_builds_temporary_file_is_removed(tmp_path):
    out = tmp_path / "city.duckdb"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"city.duckdb.tmp-{dead.pid}"
    stale.write_bytes(b"half a store")
    (tmp_path / f"city.duckdb.tmp-{dead.pid}.wal").write_bytes(b"x")
    with pytest.raises(CityBrainError):  # fails fast (unknown district) after the clean-up
        build(BuildConfig(districts=(999999,), out=out))
    assert not list(tmp_path.glob("city.duckdb.tmp-*"))

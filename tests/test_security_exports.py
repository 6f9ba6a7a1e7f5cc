"""Exports under attack: formulas in downloads, and domain ZIPs that fail half-way."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest
from ingest_helpers import EXAMPLES, make_store
from open_data_store import tiny_store

from analytics import textsafe
from analytics.identity import Actor
from analytics.opendata import catalog, exports
from analytics.pooling import ingest

#: Text a spreadsheet would run, in the disguises the review found (and the classic ones).
FORMULAS = ["=1+1", " =1+1", "\u00a0=HYPERLINK(\"http://x\",\"y\")", "\n=1+1", "\r\n@SUM(A1)",
            "\u3000=cmd|' /C calc'!A0", "+1+1", "-2+3", "-1+cmd|' /C calc'!A0", "@SUM(A1)",
            "\t=1", "\r=1", "\u200b=1+1"]
#: Text that only looks like it: plain signed numbers and ordinary names.
DATA = ["-12.5", "+86 571 8888 0000", "西湖区养老院", "a=b"]


def test_formula_rules_by_hand():
    assert all(textsafe.is_formula(v) for v in FORMULAS)
    assert not any(textsafe.is_formula(v) for v in DATA)
    assert textsafe.neutralise(" =1+1") == "' =1+1" and textsafe.neutralise("-12.5") == "-12.5"


@pytest.fixture()
def poisoned(tmp_path):
    """A public dataset (elderly facilities) whose names are the attack strings."""
    store = tiny_store(path=tmp_path / "t.duckdb")
    values = FORMULAS + DATA
    with store.cursor() as cur:
        fac = cur.execute("SELECT * FROM facilities WHERE type = 'elderly_care_home'").df()
        # facilities is a layer (a view over department and synthetic rows): edit its table
        cur.execute("DELETE FROM synthetic_facilities WHERE type LIKE 'elderly%'")
    rows = fac.loc[fac.index.repeat(len(values))].reset_index(drop=True)
    rows["facility_id"] = [f"P{i}" for i in range(len(values))]
    rows["name"] = values
    store.write("facilities", rows)
    yield store, values
    store.close()


def test_csv_export_neutralises_every_formula(poisoned):
    store, values = poisoned
    data, _ = exports.export_bytes(store, "facilities_elderly", "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    names = {r["facility_id"]: r["name"] for r in rows}
    for i, value in enumerate(values):
        got = names[f"P{i}"]
        if value in FORMULAS:
            assert got == "'" + value, repr(value)
        else:
            assert got == value


def test_xlsx_export_writes_text_cells_only(poisoned):
    store, values = poisoned
    data, _ = exports.export_bytes(store, "facilities_elderly", "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data))["data"]
    header = [c.value for c in sheet[1]]
    name_col = header.index("name") + 1
    cells = [row[0] for row in sheet.iter_rows(min_row=2, min_col=name_col, max_col=name_col)]
    assert not [c.value for c in cells if c.data_type == "f"]
    assert all(c.data_type == "s" for c in cells)

    def same(v):  # XML keeps a line break, not which kind it was
        return v.replace("\r\n", "\n").replace("\r", "\n")

    assert sorted(same(c.value) for c in cells) == sorted(same(v) for v in values)


@pytest.fixture()
def with_department(tmp_path):
    store = make_store(tmp_path / "d.duckdb")
    catalog.refresh(store)
    ingest.load(store, EXAMPLES / "education_schools_gbk.csv", "education_schools",
                Actor("admin", "administrator"))
    yield store
    store.close()


def test_domain_zip_with_a_department_dataset(with_department, tmp_path):
    out = tmp_path / "education.zip"
    results = exports.export_domain(with_department, "education", out)
    assert {"education_schools", "facilities_schools"} <= {r.dataset_id for r in results}
    names = zipfile.ZipFile(out).namelist()
    assert "education_schools.parquet" in names
    readme = zipfile.ZipFile(out).read("README.md").decode()
    assert "## education_schools" in readme


def test_a_failed_domain_zip_leaves_no_file_and_no_served_log(with_department, tmp_path,
                                                             monkeypatch):
    store = with_department
    before = store.query("open_data.usage_log", n=10**6)
    real = exports._write

    def failing(fmt, parts, out, spatial):
        rows = real(fmt, parts, out, spatial)
        if out.name.startswith("facilities_schools") or "facilities" in str(out.name):
            raise OSError("disk full")
        return rows

    monkeypatch.setattr(exports, "_write", failing)
    out = tmp_path / "education.zip"
    with pytest.raises(OSError, match="disk full"):
        exports.export_domain(store, "education", out)
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
    after = store.query("open_data.usage_log", n=10**6)
    assert len(after) == len(before)
    stream = io.BytesIO()
    with pytest.raises(OSError):
        exports.export_domain(store, "education", stream)
    assert stream.getvalue() == b""

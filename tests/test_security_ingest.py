"""Bad input the attack review found: each gets one clear line naming the file, row and
column, and leaves every table unchanged (only the lineage log gains its 'rejected' line)."""

from __future__ import annotations

import json
import re
import zipfile

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_helpers import EXAMPLES, make_store, snapshot

from analytics.identity import Actor
from analytics.pooling import ingest

ADMIN = Actor("ada", "administrator")
HOMES = "civil_affairs_care_homes"
RESIDENTS = "public_security_residents"
AIR = "environment_air_quality"
HEADER = "home_id,name,district,lon,lat,beds,residents,operator,opened_year"
GOOD = "H1,西湖颐养院,西湖区,120.13,30.26,120,100,public,2005"


@pytest.fixture(scope="module")
def store():
    s = make_store()
    ingest.load(s, EXAMPLES / "civil_affairs_care_homes_bd09.csv", HOMES, ADMIN)
    ingest.load(s, EXAMPLES / "public_security_residents_2025-06.parquet", RESIDENTS, ADMIN)
    ingest.load(s, EXAMPLES / "environment_air_quality_2025-06-30.geojson", AIR, ADMIN)
    s.baseline = snapshot(s)
    return s


def rejected(store, path, dataset, **options) -> str:
    log_before = len(store.table("ingest_log"))
    with pytest.raises((ingest.IngestError, ingest.IngestRejected)) as info:
        ingest.load(store, path, dataset, ADMIN, **options)
    after = snapshot(store)
    changed = {t for t in store.baseline if store.baseline[t] != after[t]}
    assert changed <= {"ingest_log"}, changed
    assert len(store.table("ingest_log")) == log_before + 1
    message = str(info.value)
    assert "\n" not in message and path.name in message
    return message


def csv_file(tmp_path, name, *rows, newline="\n"):
    path = tmp_path / name
    path.write_bytes(newline.join([HEADER, GOOD, *rows]).encode("utf-8") + newline.encode())
    return path


@pytest.mark.parametrize(("value", "column"), [("NaN", "lon"), ("nan", "lat"), ("inf", "lon")])
def test_nan_coordinates_fail_validation_and_load(store, tmp_path, value, column):
    row = ["H2", "滨江康养中心", "滨江区", "120.21", "30.21", "300", "250", "private", "2012"]
    row[3 if column == "lon" else 4] = value
    path = csv_file(tmp_path, "nan.csv", ",".join(row))
    report = ingest.validate(store, path, HOMES, datum="wgs84")
    assert not report.ok
    assert f"row 3, column {column}" in report.problems["message"].iloc[0]
    message = rejected(store, path, HOMES, datum="wgs84")
    assert f"row 3, column {column}" in message


def test_nan_coordinates_in_parquet(store, tmp_path):
    frame = pd.read_csv(EXAMPLES / "civil_affairs_care_homes_bd09.csv")
    lon = [c for c in frame.columns if "经" in c or c.lower().startswith("lon")][0]
    frame.loc[2, lon] = float("nan")
    path = tmp_path / "nan.parquet"
    frame.to_parquet(path)
    assert "row 3, column lon" in rejected(store, path, HOMES)  # Parquet rows count from 1


def test_cr_only_line_ends_are_read(store, tmp_path):
    path = csv_file(tmp_path, "cr.csv", "H2,滨江康养中心,滨江区,120.21,30.21,300,250,private,2012",
                    newline="\r")
    report = ingest.validate(store, path, HOMES, datum="wgs84")
    assert report.ok and report.rows_out == 2


@pytest.mark.parametrize("bad", ["西湖\x00颐养院", "颐养\x07院", "颐养\x1b[31m院", "颐养\x7f院"])
def test_control_characters_are_refused(store, tmp_path, bad):
    path = csv_file(tmp_path, "ctl.csv", f"H2,{bad},滨江区,120.21,30.21,300,250,private,2012")
    message = rejected(store, path, HOMES, datum="wgs84")
    assert "row 3, column name" in message and "control character" in message


@pytest.mark.parametrize("bad", ['" =1+1"', '"\u00a0=HYPERLINK(""http://x"")"', '"\n=1+1"',
                                 '"-1+cmd|\' /C calc\'!A0"', '"+1+1"', '"\u3000@SUM(A1)"'])
def test_formula_check_after_normalising_whitespace(store, tmp_path, bad):
    path = csv_file(tmp_path, "formula.csv", f"H2,{bad},滨江区,120.21,30.21,300,250,private,2012")
    message = rejected(store, path, HOMES, datum="wgs84")
    assert "row 3, column name" in message and "spreadsheet formula" in message


def _geojson(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("features", "said"), [
    ('"abc"', "features is not a list"),
    ("[1, 2, 3]", "feature 1 is not an object"),
    ('[{"type": "Feature", "geometry": "x", "properties": {}}]', "feature 1"),
])
def test_malformed_geojson_features(store, tmp_path, features, said):
    path = _geojson(tmp_path, "bad.geojson",
                    '{"type": "FeatureCollection", "features": ' + features + "}")
    assert said in rejected(store, path, AIR)


def test_geojson_nested_200000_deep(store, tmp_path):
    depth = 200_000
    path = _geojson(tmp_path, "deep.geojson", '{"type": "FeatureCollection", "features": '
                    + "[" * depth + "]" * depth + "}")
    assert "nested too deeply" in rejected(store, path, AIR)


def test_parquet_timestamp_in_an_integer_column(store, tmp_path):
    frame = pd.read_parquet(EXAMPLES / "public_security_residents_2025-06.parquet")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    stamps = pa.array(pd.to_datetime(frame["persons"], unit="s"), type=pa.timestamp("us"))
    table = table.set_column(table.schema.get_field_index("persons"), "persons", stamps)
    path = tmp_path / "stamps.parquet"
    pq.write_table(table, path)
    message = rejected(store, path, RESIDENTS)
    assert "row 1, column persons" in message and "is not an integer" in message


def test_xlsx_rows_counted_from_the_sheet_not_its_dimension(store, tmp_path):
    frame = pd.read_csv(EXAMPLES / "civil_affairs_care_homes_bd09.csv")
    assert len(frame) == 40
    good = tmp_path / "homes.xlsx"
    frame.to_excel(good, index=False)
    lying = tmp_path / "lying.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(lying, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, n = re.subn(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:I11"', data)
                assert n == 1
            dst.writestr(item, data)
    assert openpyxl.load_workbook(lying, read_only=True).active.max_row == 11  # the lie
    report = ingest.validate(store, lying, HOMES)
    assert report.ok, report.problems
    assert (report.rows_in, report.rows_out) == (40, 40)


def test_good_geojson_still_loads(store, tmp_path):
    text = (EXAMPLES / "environment_air_quality_2025-06-30.geojson").read_text(encoding="utf-8")
    assert len(json.loads(text)["features"]) > 0
    report = ingest.validate(store, EXAMPLES / "environment_air_quality_2025-06-30.geojson", AIR)
    assert report.ok


@pytest.mark.parametrize("bad", ["1" + "0" * 30, "-9223372036854775808", "1e19"])
def test_a_count_beyond_a_64_bit_integer_is_out_of_range(store, tmp_path, bad):
    # it used to break the cast to integers with a TypeError naming no file, row or column
    path = csv_file(tmp_path, "huge.csv", f"H2,滨江康养中心,滨江区,120.21,30.21,{bad},250,private,2012")
    message = rejected(store, path, HOMES, datum="wgs84")
    assert "row 3, column beds" in message and "out of range" in message
    assert "1 more problem" not in message  # one problem, said once

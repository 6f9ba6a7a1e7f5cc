"""Every malformed file gives its clear one-line error and changes nothing but the log."""

from __future__ import annotations

import pytest
from ingest_helpers import EXAMPLES, MALFORMED, make_store, snapshot

from analytics.identity import Actor
from analytics.pooling import ingest

ADMIN = Actor("ada", "administrator")
HOMES = "civil_affairs_care_homes"
RESIDENTS = "public_security_residents"
AIR = "environment_air_quality"

#: file -> (dataset, load options, rule of the problem or None for unreadable, text in message)
EXPECTED = {
    "wrong_encoding_gbk_declared_utf8.csv": (HOMES, {"encoding": "utf-8"}, None,
                                             "row 1 (byte 8) is not valid utf-8"),
    "utf16.csv": (HOMES, {}, None, "UTF-16"),
    "missing_column.csv": (HOMES, {"datum": "wgs84"}, "missing_column",
                           "required column 'beds' is missing"),
    "extra_column.csv": (HOMES, {"datum": "wgs84"}, "extra_column",
                         "column 'remarks' is not in the contract"),
    "renamed_column.csv": (HOMES, {"datum": "wgs84"}, "renamed_column",
                           "looks like 'beds' renamed"),
    "wrong_type.csv": (HOMES, {"datum": "wgs84"}, "type_integer",
                       "row 3, column beds: 'many' is not an integer"),
    "impossible_age.csv": (RESIDENTS, {}, "range",
                           "row 3, column age: 150 is an impossible age: age must be between 0 and 120"),
    "negative_count.csv": (RESIDENTS, {}, "range",
                           "row 3, column persons: -3 is out of range: persons must be between 0"),
    "duplicate_key.csv": (HOMES, {"datum": "wgs84"}, "duplicate_key",
                          "row 7, column home_id: the key (home_id) repeats row 3 with different values"),
    "outside_city.csv": (HOMES, {"datum": "wgs84"}, "outside_city",
                         "row 3, column lon/lat: (116.4, 39.9) in wgs84 is outside the city"),
    "swapped_lat_lon.csv": (HOMES, {"datum": "wgs84"}, "swapped_lat_lon",
                            "row 3, column lon/lat: (30.208, 120.21) lies outside the city but "
                            "inside it with latitude and longitude swapped"),
    "mixed_datums.csv": (HOMES, {"datum": "wgs84"}, "mixed_datums",
                         "rows use different datums (wgs84 (3 rows from row 2), bd09 (2 rows from row 4))"),
    "empty.csv": (HOMES, {}, None, "the file is empty (0 bytes)"),
    "header_only.csv": (HOMES, {"datum": "wgs84"}, "no_rows", "has a header but no data rows"),
    "truncated.csv": (HOMES, {"datum": "wgs84"}, "field_count",
                      "row 6, column (row): has 4 fields where the header has 9"),
    "formula_injection.csv": (HOMES, {"datum": "wgs84"}, "formula_injection",
                              "row 3, column name: '=HYPERLINK("),
    "formula_injection.xlsx": (HOMES, {"datum": "wgs84"}, "formula_injection",
                               "row 3, column name: '=HYPERLINK("),
    "unknown_district.csv": (HOMES, {"datum": "wgs84"}, "unknown_district",
                             "row 3, column district: '朝阳区' is not a district of this city"),
    "not_allowed_value.csv": (HOMES, {"datum": "wgs84"}, "allowed_values",
                              "row 3, column operator: 'charity' is not one of public, private"),
    "required_empty.csv": (HOMES, {"datum": "wgs84"}, "required",
                           "row 3, column name: name is empty but required"),
    "bad_date.csv": (RESIDENTS, {}, "type_date", "row 3, column as_of: '2025-13-45' is not a date"),
    "truncated.xlsx": (HOMES, {}, None, "not a readable .xlsx workbook"),
    "old_format.xls": (HOMES, {}, None, "the old Excel .xls format is not read"),
    "truncated.parquet": (RESIDENTS, {}, None, "not a readable Parquet file"),
    "truncated.geojson": (AIR, {}, None, "not valid JSON at line 1"),
    "not_a_point.geojson": (AIR, {}, "geometry_point", "geometry LineString is not a Point"),
    "web_mercator_crs.geojson": (AIR, {}, "unknown_datum", "is not WGS-84, GCJ-02 or BD-09"),
}


def test_corpus_is_complete():
    files = {p.name for p in MALFORMED.iterdir() if not p.name.endswith(".py")}
    assert files == set(EXPECTED), files ^ set(EXPECTED)
    assert len(EXPECTED) + 1 >= 20  # plus the huge single line, made in its test


@pytest.fixture(scope="module")
def store():
    s = make_store()
    # a previous good version of the datasets, which no bad file may disturb
    ingest.load(s, EXAMPLES / "civil_affairs_care_homes_bd09.csv", HOMES, ADMIN)
    ingest.load(s, EXAMPLES / "public_security_residents_2025-06.parquet", RESIDENTS, ADMIN)
    s.baseline = snapshot(s)
    return s


def _rejected(store, path, dataset, options):
    before = store.baseline
    log_before = store.table("ingest_log")
    with pytest.raises((ingest.IngestError, ingest.IngestRejected)) as info:
        ingest.load(store, path, dataset, ADMIN, **options)
    after = snapshot(store)
    changed = {t for t in before if before[t] != after[t]}
    assert changed <= {"ingest_log"}, changed
    log = store.table("ingest_log")
    assert len(log) == len(log_before) + 1
    new = log[~log["event_id"].isin(log_before["event_id"])].iloc[0]
    assert new["status"] == "rejected" and new["rows_out"] == 0
    message = str(info.value)
    assert "\n" not in message
    return info.value, message, new


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file_is_rejected_with_its_error(store, name):
    dataset, options, rule, text = EXPECTED[name]
    error, message, logged = _rejected(store, MALFORMED / name, dataset, options)
    assert name in message
    assert text in message or (rule and text in " ".join(error.report.problems["message"]))
    if rule is None:
        assert isinstance(error, ingest.IngestError)
    else:
        assert isinstance(error, ingest.IngestRejected)
        problems = error.report.problems
        assert rule in set(problems["rule"]), problems
        assert list(problems.columns) == ["file", "row", "column", "value", "rule", "message"]
    assert logged["message"] == message[:2000]


def test_huge_single_line(store, tmp_path):
    path = tmp_path / "huge_line.csv"
    header = "home_id,name,district,lon,lat,beds,residents,operator,opened_year\n"
    path.write_text(header + 'H9,"' + "x" * (5 << 20) + '",西湖区,120.1,30.2,1,1,public,2000\n',
                    encoding="utf-8")
    _, message, _ = _rejected(store, path, HOMES, {"datum": "wgs84"})
    assert "row 2 is 5.0 MB long, longer than the 1 MB a table row may be" in message


def test_validate_lists_every_problem_without_touching_the_store(store):
    before = snapshot(store)
    report = ingest.validate(store, MALFORMED / "swapped_lat_lon.csv", HOMES, datum="wgs84")
    assert snapshot(store) == before
    counts = dict(store.row_counts().itertuples(index=False))
    assert counts["dept_care_homes"] == 40  # the good version is still there
    assert report.problem_count == 1 and report.rows_in == 5
    row = report.problems.iloc[0]
    assert (row["file"], row["row"], row["column"], row["value"], row["rule"]) == (
        "swapped_lat_lon.csv", "3", "lon/lat", "30.208, 120.21", "swapped_lat_lon")


def test_problems_download_defuses_formulas(store):
    report = ingest.validate(store, MALFORMED / "formula_injection.csv", HOMES, datum="wgs84")
    text = report.problems_csv().decode("utf-8-sig")
    assert "'=HYPERLINK(" in text
    assert ",=HYPERLINK" not in text and '"=HYPERLINK' not in text

"""Regenerate the malformed-file corpus of the ingest tests.

Each file breaks one rule a real department export breaks; ``EXPECTED`` in
``tests/test_ingest_malformed.py`` says which error each must give.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent

# Five care homes in 西湖区 / 滨江区, WGS-84 (the contract's datum is BD-09; the tests load
# these with --datum wgs84 unless the file is about datums).
HOMES = pd.DataFrame({
    "home_id": ["H1", "H2", "H3", "H4", "H5"],
    "name": ["西湖颐养院", "滨江康养中心", "之江护理院", "西溪老年公寓", "长河敬老院"],
    "district": ["西湖区", "滨江区", "西湖", "Xihu", "330108"],
    "lon": [120.1300, 120.2100, 120.1100, 120.0800, 120.1900],
    "lat": [30.2600, 30.2080, 30.1900, 30.2700, 30.1850],
    "beds": [120, 300, 80, 150, 60],
    "residents": [100, 250, 70, 90, 55],
    "operator": ["public", "private", "public", "public_private", "private"],
    "opened_year": [2005, 2012, 2018, 2020, 1999],
})
RESIDENTS = pd.DataFrame({
    "as_of": ["2025-06-30"] * 4, "district": ["西湖区", "西湖区", "滨江区", "滨江区"],
    "age": [30, 30, 70, 70], "sex": ["M", "F", "M", "F"], "persons": [5000, 5100, 800, 900]})


def csv(name: str, frame: pd.DataFrame, encoding: str = "utf-8") -> None:
    frame.to_csv(HERE / name, index=False, encoding=encoding)


def main() -> None:
    csv("wrong_encoding_gbk_declared_utf8.csv",
        HOMES.rename(columns={"name": "机构名称", "beds": "床位数"}), "gbk")
    (HERE / "utf16.csv").write_bytes(HOMES.to_csv(index=False).encode("utf-16"))
    csv("missing_column.csv", HOMES.drop(columns=["beds"]))
    csv("extra_column.csv", HOMES.assign(remarks="ok"))
    csv("renamed_column.csv", HOMES.rename(columns={"beds": "beds_count"}))
    csv("wrong_type.csv", HOMES.astype({"beds": object}).assign(
        beds=[120, "many", 80, 150, 60]))
    csv("impossible_age.csv", RESIDENTS.assign(age=[30, 150, 70, 70]))
    csv("negative_count.csv", RESIDENTS.assign(persons=[5000, -3, 800, 900]))
    csv("duplicate_key.csv", pd.concat([HOMES, HOMES.iloc[[1]].assign(beds=999)]))
    csv("outside_city.csv", HOMES.assign(lon=[120.13, 116.40, 120.11, 120.08, 120.19],
                                         lat=[30.26, 39.90, 30.19, 30.27, 30.185]))
    csv("swapped_lat_lon.csv", HOMES.assign(lon=[120.13, 30.208, 120.11, 120.08, 120.19],
                                            lat=[30.26, 120.21, 30.19, 30.27, 30.185]))
    csv("mixed_datums.csv", HOMES.assign(datum=["wgs84", "wgs84", "bd09", "bd09", "wgs84"]))
    (HERE / "empty.csv").write_bytes(b"")
    (HERE / "header_only.csv").write_text(",".join(HOMES.columns) + "\n", encoding="utf-8")
    text = HOMES.to_csv(index=False)
    (HERE / "truncated.csv").write_text(text[: len(text) - 30], encoding="utf-8")
    csv("formula_injection.csv", HOMES.assign(
        name=["西湖颐养院", '=HYPERLINK("http://example.invalid/x","click")', "之江护理院",
              "西溪老年公寓", "长河敬老院"]))
    csv("unknown_district.csv", HOMES.assign(district=["西湖区", "朝阳区", "西湖", "Xihu", "330108"]))
    csv("not_allowed_value.csv", HOMES.assign(operator=["public", "charity", "public",
                                                        "public_private", "private"]))
    csv("required_empty.csv", HOMES.assign(name=["西湖颐养院", "", "之江护理院", "西溪老年公寓",
                                                 "长河敬老院"]))
    csv("bad_date.csv", RESIDENTS.assign(as_of=["2025-06-30", "2025-13-45", "2025-06-30",
                                                "2025-06-30"]))

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(HOMES.columns))
    for row in HOMES.itertuples(index=False):
        ws.append(list(row))
    ws["B3"] = '=HYPERLINK("http://example.invalid/x","click")'
    wb.save(HERE / "formula_injection.xlsx")
    good = HERE / "formula_injection.xlsx"
    (HERE / "truncated.xlsx").write_bytes(good.read_bytes()[:1500])
    (HERE / "old_format.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)

    table = pa.Table.from_pandas(RESIDENTS.assign(as_of=pd.to_datetime(RESIDENTS["as_of"]).dt.date),
                                 preserve_index=False)
    pq.write_table(table, HERE / "_good.parquet")
    data = (HERE / "_good.parquet").read_bytes()
    (HERE / "truncated.parquet").write_bytes(data[: len(data) // 2])
    (HERE / "_good.parquet").unlink()

    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.13, 30.26]},
                 "properties": {"station_id": "S1", "station_name": "西湖站", "date": "2025-06-30",
                                "pm25": 20.5, "pm10": 30.0, "aqi": 40}}]
    doc = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    (HERE / "truncated.geojson").write_text(doc[:-40], encoding="utf-8")
    line = dict(features[0], geometry={"type": "LineString",
                                       "coordinates": [[120.13, 30.26], [120.14, 30.27]]})
    (HERE / "not_a_point.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": [line]}, ensure_ascii=False), encoding="utf-8")
    (HERE / "web_mercator_crs.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "crs": {"type": "name", "properties": {
            "name": "urn:ogc:def:crs:EPSG::3857"}}, "features": features}, ensure_ascii=False),
        encoding="utf-8")


if __name__ == "__main__":
    main()

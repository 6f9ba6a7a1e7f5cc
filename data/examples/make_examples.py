"""Regenerate the example department files (synthetic records in real Hangzhou districts).

Each file is what one department typically hands in: the civil affairs bureau's care-home
register as a UTF-8 CSV in Baidu's BD-09 datum; the education bureau's statistics as a
GBK-encoded CSV with Chinese headers (GCJ-02); the health commission's register as XLSX;
the public security bureau's monthly aggregate as Parquet; the environment bureau's
stations as GeoJSON (GCJ-02); the transport bureau's stops as GeoParquet (WGS-84). Names
and figures are invented; positions are random points inside the districts' real
boundaries. Run: ``python data/examples/make_examples.py`` (needs the project installed).
"""

from __future__ import annotations

import json
from pathlib import Path

import coordTransform
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from analytics import geo

HERE = Path(__file__).parent
CITY = 330100


def points(boundaries, rng, n):
    """``n`` random WGS-84 points inside the city, with the adcode and name of each district."""
    out = []
    while len(out) < n:
        row = boundaries.iloc[rng.integers(len(boundaries))]
        minx, miny, maxx, maxy = row.geometry.bounds
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if row.geometry.contains(shapely.Point(x, y)):
            out.append((round(x, 6), round(y, 6), int(row["adcode"]), row["name"], row["name_en"]))
    return pd.DataFrame(out, columns=["lon", "lat", "adcode", "name", "name_en"])


def shift(frame, func):
    lon, lat = func(frame["lon"].tolist(), frame["lat"].tolist())
    return np.round(np.asarray(lon), 6), np.round(np.asarray(lat), 6)


def main() -> None:
    rng = np.random.default_rng(20201101)
    b = geo.load_boundaries(CITY)

    # civil affairs: care homes, UTF-8 CSV, BD-09, district names in three forms
    p = points(b, rng, 40)
    lon, lat = shift(p, coordTransform.wgs84_to_bd09)
    forms = [p["name"], p["name"].str.slice(0, -1), p["adcode"].astype(str)]
    district = [forms[i % 3].iloc[i] for i in range(len(p))]
    beds = rng.integers(30, 600, len(p))
    pd.DataFrame({
        "home_id": [f"MZ{330100 + i:08d}" for i in range(len(p))],
        "name": [f"{n}第{i + 1}养老院" for i, n in enumerate(p["name"])],
        "district": district, "lon": lon, "lat": lat, "beds": beds,
        "residents": (beds * rng.uniform(0.4, 0.95, len(p))).astype(int),
        "operator": rng.choice(["public", "private", "public_private"], len(p)),
        "opened_year": rng.integers(1985, 2025, len(p)),
    }).to_csv(HERE / "civil_affairs_care_homes_bd09.csv", index=False, encoding="utf-8")

    # education: GBK CSV with Chinese headers, GCJ-02
    p = points(b, rng, 60)
    lon, lat = shift(p, coordTransform.wgs84_to_gcj02)
    stage = rng.choice(["kindergarten", "primary", "junior_middle"], len(p), p=[0.45, 0.35, 0.2])
    places = np.where(stage == "kindergarten", rng.integers(90, 450, len(p)),
                      rng.integers(600, 2400, len(p)))
    label = {"kindergarten": "幼儿园", "primary": "小学", "junior_middle": "初级中学"}
    pd.DataFrame({
        "学校代码": [f"3301{i:06d}" for i in range(len(p))],
        "学校名称": [f"杭州市{n}第{i + 1}{label[s]}" for i, (n, s) in enumerate(zip(p["name"], stage))],
        "学段": stage, "区县": p["name"], "经度": lon, "纬度": lat, "学位数": places,
        "在校生数": (places * rng.uniform(0.7, 1.05, len(p))).astype(int), "学年": 2024,
    }).to_csv(HERE / "education_schools_gbk.csv", index=False, encoding="gbk")

    # health: XLSX with Chinese headers, WGS-84, pinyin district names
    p = points(b, rng, 30)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "社区卫生服务中心"
    ws.append(["机构代码", "机构名称", "区县", "经度", "纬度", "全科医生数", "床位数", "年诊疗人次"])
    for i, r in p.iterrows():
        ws.append([f"WJ{i + 1:05d}", f"{r['name']}第{i + 1}社区卫生服务中心", r["name_en"],
                   float(r["lon"]), float(r["lat"]), int(rng.integers(5, 60)),
                   int(rng.integers(0, 80)), int(rng.integers(20_000, 400_000))])
    wb.save(HERE / "health_community_centres.xlsx")

    # public security: registered residents by district x age x sex, Parquet
    rows = []
    for adcode in b["adcode"]:
        for age in range(0, 101):
            for sex in ("M", "F"):
                base = 4000 * np.exp(-((age - 35) / 30) ** 2) + 200
                rows.append(("2025-06-30", str(adcode), age, sex, int(base * rng.uniform(0.8, 1.2))))
    frame = pd.DataFrame(rows, columns=["as_of", "district", "age", "sex", "persons"])
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                   HERE / "public_security_residents_2025-06.parquet")

    # environment: GeoJSON points in GCJ-02, one day of station means
    p = points(b, rng, 12)
    lon, lat = shift(p, coordTransform.wgs84_to_gcj02)
    features = []
    for i in range(len(p)):
        pm25 = round(float(rng.uniform(8, 75)), 1)
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]},
                         "properties": {"站点编号": f"HJ{i + 1:03d}", "站点名称": f"{p['name'][i]}监测站",
                                        "日期": "2025-06-30", "PM2.5": pm25,
                                        "PM10": round(pm25 * 1.6, 1),
                                        "AQI": int(min(500, pm25 * 1.4 + 10))}})
    (HERE / "environment_air_quality_2025-06-30.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1),
        encoding="utf-8")

    # transport: GeoParquet (WKB points, WGS-84)
    p = points(b, rng, 80)
    geoms = shapely.points(p["lon"].to_numpy(), p["lat"].to_numpy())
    table = pa.table({"stop_id": [f"JT{i + 1:05d}" for i in range(len(p))],
                      "name": [f"{n}{i + 1}号站" for i, n in enumerate(p["name"])],
                      "district": p["name"].tolist(),
                      "routes": rng.integers(1, 25, len(p)).tolist(),
                      "geometry": shapely.to_wkb(geoms).tolist()})
    meta = {"version": "1.1.0", "primary_column": "geometry",
            "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"]}}}
    table = table.replace_schema_metadata({b"geo": json.dumps(meta).encode()})
    pq.write_table(table, HERE / "transport_bus_stops.geoparquet")


if __name__ == "__main__":
    main()

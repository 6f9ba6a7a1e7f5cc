"""Regenerate the example department files (synthetic records in real Hangzhou districts).

Each file is what one department typically hands in: the civil affairs bureau's care-home
register as a UTF-8 CSV in Baidu's BD-09 datum; the education bureau's statistics as a
GBK-encoded CSV with Chinese headers (GCJ-02); the health commission's register as XLSX;
the public security bureau's monthly aggregate as Parquet; the environment bureau's
stations as GeoJSON (GCJ-02); the transport bureau's stops as GeoParquet (WGS-84). Names
and figures are invented; positions are random points inside the districts' real
boundaries. The registers that feed the analytic layers (day care, kindergartens, nurseries,
hospitals, manhole covers, the residents grid by H3 cell) are made by :func:`layers`, the
health commission's births and deaths by district, year and sex by :func:`vital`.
Run: ``python data/examples/make_examples.py`` (needs the project installed).
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
        "学校名称": [f"杭州市{n}第{i + 1}{label[s]}" for i, (n, s) in enumerate(zip(p["name"], stage, strict=True))],
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
    layers(b)
    vital(b)


def layers(b) -> None:
    """The registers and the grid that feed the analytic layers (their own random stream,
    so the files above stay as they were)."""
    rng = np.random.default_rng(20250630)

    # civil affairs: elderly day-care centres, XLSX, GCJ-02
    p = points(b, rng, 45)
    lon, lat = shift(p, coordTransform.wgs84_to_gcj02)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "日间照料中心"
    ws.append(["机构编号", "机构名称", "所在区县", "经度", "纬度", "日托位", "开业年份"])
    for i, r in p.iterrows():
        ws.append([f"RZ{i + 1:05d}", f"{r['name']}第{i + 1}老年人日间照料中心", r["name"],
                   float(lon[i]), float(lat[i]), int(rng.integers(10, 60)),
                   int(rng.integers(2008, 2025))])
    wb.save(HERE / "civil_affairs_day_care.xlsx")

    # education: licensed kindergartens, UTF-8 CSV with Chinese headers, GCJ-02
    p = points(b, rng, 70)
    lon, lat = shift(p, coordTransform.wgs84_to_gcj02)
    pd.DataFrame({
        "办学许可证号": [f"教民{3301000 + i}" for i in range(len(p))],
        "幼儿园名称": [f"{n}第{i + 1}幼儿园" for i, n in enumerate(p["name"])],
        "区县": p["name"], "经度": lon, "纬度": lat,
        "核定学位": rng.integers(90, 450, len(p)),
        "办学性质": rng.choice(["public", "private"], len(p), p=[0.6, 0.4]),
        "开办年份": rng.integers(1980, 2025, len(p)),
    }).to_csv(HERE / "education_kindergartens.csv", index=False, encoding="utf-8")

    # health: nurseries filed with the health commission, CSV in BD-09
    p = points(b, rng, 40)
    lon, lat = shift(p, coordTransform.wgs84_to_bd09)
    pd.DataFrame({
        "nursery_id": [f"TY{i + 1:05d}" for i in range(len(p))],
        "name": [f"{n}第{i + 1}托育园" for i, n in enumerate(p["name"])],
        "district": p["adcode"].astype(str), "lon": lon, "lat": lat,
        "places": rng.integers(20, 150, len(p)), "opened_year": rng.integers(2019, 2025, len(p)),
    }).to_csv(HERE / "health_nurseries_bd09.csv", index=False, encoding="utf-8")

    # health: hospitals, XLSX, WGS-84
    p = points(b, rng, 25)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "医院"
    ws.append(["登记号", "医院名称", "区县", "经度", "纬度", "医院等级", "核定床位", "开业年份"])
    grades = ["tertiary", "secondary", "primary", "unrated"]
    for i, r in p.iterrows():
        grade = grades[int(rng.choice(4, p=[0.3, 0.4, 0.2, 0.1]))]
        beds = {"tertiary": 1200, "secondary": 400, "primary": 80, "unrated": 40}[grade]
        ws.append([f"YY{i + 1:04d}", f"{r['name']}第{i + 1}人民医院", r["name"], float(r["lon"]),
                   float(r["lat"]), grade, int(beds * rng.uniform(0.6, 1.5)),
                   int(rng.integers(1950, 2024))])
    wb.save(HERE / "health_hospitals.xlsx")

    # urban management: manhole covers, CSV, GCJ-02
    p = points(b, rng, 120)
    lon, lat = shift(p, coordTransform.wgs84_to_gcj02)
    kinds = rng.choice(["sewer", "storm", "water", "power", "telecom", "gas"], len(p),
                       p=[0.35, 0.3, 0.12, 0.1, 0.1, 0.03])
    owners = {"sewer": "城市管理局（排水）", "storm": "城市管理局（排水）", "water": "水务集团",
              "power": "供电公司", "telecom": "通信管理局", "gas": "燃气集团"}
    pd.DataFrame({
        "井盖编号": [f"JG{i + 1:06d}" for i in range(len(p))], "管网类别": kinds,
        "权属单位": [owners[k] for k in kinds], "安装年份": rng.integers(1995, 2025, len(p)),
        "区县": p["name"], "经度": lon, "纬度": lat, "井深": rng.integers(100, 400, len(p)),
    }).to_csv(HERE / "urban_management_manholes.csv", index=False, encoding="utf-8")

    # public security: residents by H3 cell, age group and sex (40 cells per district)
    groups = ["0-2", "3-5", "6-11", "12-14", "15-17", "18-59", "60-64", "65-69", "70-74",
              "75-79", "80+"]
    share = np.array([3, 3, 6, 3, 3, 58, 6, 6, 5, 3, 4], dtype=float)
    share /= share.sum()
    cells = geo.district_cells(b)
    rows = []
    for adcode, group in cells.groupby("district_adcode"):
        pick = group.sample(min(40, len(group)), random_state=int(adcode) % 10_000)
        for h3_id in pick["h3"]:
            total = int(rng.integers(200, 3000))
            for g, s in zip(groups, share, strict=True):
                for sex in ("M", "F"):
                    rows.append(("2025-06-30", h3_id, g, sex, int(round(total * s / 2))))
    frame = pd.DataFrame(rows, columns=["as_of", "h3", "age_group", "sex", "persons"])
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                   HERE / "public_security_population_grid_2025.parquet")


def vital(b) -> None:
    """The health commission's births and deaths by district, year (2023, 2024) and sex."""
    rng = np.random.default_rng(20241231)
    rows = []
    for row in b.sort_values("adcode").itertuples():
        births, deaths = int(rng.integers(3000, 15000)), int(rng.integers(2500, 9000))
        for year in (2023, 2024):
            b_year = int(births * (0.94 if year == 2024 else 1.0))
            boys = int(round(b_year * 0.52))
            men = int(round(deaths * 0.55))
            rows += [(year, row.name, "M", boys, men),
                     (year, row.name, "F", b_year - boys, deaths - men)]
    pd.DataFrame(rows, columns=["年份", "区县", "性别", "出生人数", "死亡人数"]).to_csv(
        HERE / "health_vital_events.csv", index=False, encoding="utf-8")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--layers"]:  # only the layer files (the others stay byte for byte)
        layers(geo.load_boundaries(CITY))
    elif sys.argv[1:] == ["--vital"]:
        vital(geo.load_boundaries(CITY))
    else:
        main()

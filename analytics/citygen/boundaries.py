"""Build stage: districts (real boundaries) and the density surface of the H3 grid.

Where people live inside a district is not published, so it is modelled, and the model is
stated in the UI and the catalog as synthetic. The surface has three parts, each a familiar
pattern of Chinese cities:

* the city's historic core, around which the densest urban districts lie;
* each district's own core: for districts next to the city core, the point nearest to it
  (their built-up side); for outlying counties, halfway between that point and the
  district's centroid (county seats sit on the side facing the city);
* a few market towns per district, scattered with a preference for the core,

each decaying exponentially with distance, times log-normal noise for texture. Mountain
and lake areas far from every core end up below the populated threshold.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import nearest_points

from analytics import geo
from analytics.citygen.context import BuildContext

CITY_CORE_DECAY_KM = 6.0
DISTRICT_CORE_DECAY_KM = {"district": 4.0, "county": 3.0, "county-level city": 3.0}
TOWN_DECAY_KM = 1.2
TOWN_WEIGHT = 0.35
KM2_PER_TOWN = 250.0
NEAR_CITY_CORE_KM = 25.0


def stage(ctx: BuildContext) -> None:
    config = ctx.config
    city = geo.city(config.city_adcode)
    ctx.meta.update({"city_name": city.name, "province": city.province})
    bounds = geo.load_boundaries(config.city_adcode)  # the whole city: cores need every district
    ctx.progress(f"[boundaries] {city.name}: {len(bounds)} districts, "
                 f"{bounds['area_km2'].sum():,.0f} km²")
    city_core = _city_core(bounds)
    cores = [_district_core(geom, kind, city_core)
             for geom, kind in zip(bounds.geometry, bounds["kind"], strict=True)]
    centroids = bounds.to_crs(geo.CHINA_ALBERS).centroid.to_crs(geo.WGS84)
    districts = pd.DataFrame({
        "city_adcode": config.city_adcode,
        "adcode": bounds["adcode"].astype(int),
        "name": bounds["name"],
        "name_en": bounds["name_en"],
        "kind": bounds["kind"],
        "area_km2": bounds["area_km2"].round(2),
        "core_lon": [p.x for p in cores],
        "core_lat": [p.y for p in cores],
        "centroid_lon": centroids.x.to_numpy(),
        "centroid_lat": centroids.y.to_numpy(),
        "geometry": [shapely.to_wkb(g) for g in bounds.geometry],
    })
    if config.districts:
        keep = set(config.districts)
        districts = districts[districts["adcode"].isin(keep)].reset_index(drop=True)
    chosen = bounds[bounds["adcode"].isin(districts["adcode"])]
    grid = geo.district_cells(chosen)
    ctx.progress(f"[boundaries] {len(grid):,} H3 res-{geo.H3_RESOLUTION} cells")
    grid["density_weight"] = _density(grid, districts, city_core, ctx)
    grid["d_city_km"] = geo.haversine_m(grid["lon"], grid["lat"], city_core.x, city_core.y) / 1e3
    ctx.meta.update({"city_core_lon": round(city_core.x, 5), "city_core_lat": round(city_core.y, 5)})
    ctx.tables["districts"] = districts
    ctx.work["grid"] = grid
    everything = bounds.drop(columns="geometry")
    everything["d_city_km"] = geo.haversine_m(centroids.x.to_numpy(), centroids.y.to_numpy(),
                                              city_core.x, city_core.y) / 1e3
    ctx.work["all_districts"] = everything


def cells_stage(ctx: BuildContext) -> None:
    """Every H3 cell of the city (a store without synthetic layers: nobody placed yet).

    ``urbanity`` is the distance part of the density model only (1 at the city core,
    falling with distance), with no random towns.
    """
    grid = ctx.work["grid"]
    urbanity = np.exp(-grid["d_city_km"].to_numpy(float) / CITY_CORE_DECAY_KM)
    ctx.tables["cells"] = pd.DataFrame({
        "city_adcode": ctx.config.city_adcode, "cell": grid["cell"].to_numpy(np.uint64),
        "h3": grid["h3"], "district_adcode": grid["district_adcode"].astype(int),
        "lon": grid["lon"], "lat": grid["lat"], "urbanity": urbanity.round(4)})
    ctx.progress(f"[cells] {len(grid):,} cells, no synthetic layers")


def _city_core(bounds) -> shapely.Point:
    """Centroid of the smallest districts, which in Chinese cities are the old urban core.

    Where the census gives district populations the densest districts would do as well; the
    smallest-area rule works for any city, with or without a census table.
    """
    urban = bounds[bounds["kind"] == "district"]
    if urban.empty:
        urban = bounds
    smallest = urban.nsmallest(min(3, len(urban)), "area_km2")
    merged = shapely.union_all(list(smallest.geometry))
    projected = gpd.GeoSeries([merged], crs=geo.WGS84).to_crs(geo.CHINA_ALBERS).centroid
    return projected.to_crs(geo.WGS84).iloc[0]


def _district_core(geom, kind: str, city_core: shapely.Point) -> shapely.Point:
    nearest = nearest_points(geom, city_core)[0]
    centroid = geom.centroid
    far = geo.haversine_m(nearest.x, nearest.y, city_core.x, city_core.y) / 1e3 > NEAR_CITY_CORE_KM
    weight = 0.5 if (kind != "district" or far) else 0.85
    point = shapely.Point(centroid.x + weight * (nearest.x - centroid.x),
                          centroid.y + weight * (nearest.y - centroid.y))
    if not geom.contains(point):
        point = nearest_points(geom.buffer(-0.005), point)[0]  # ~500 m inside the boundary
    return point


def _density(grid: pd.DataFrame, districts: pd.DataFrame, city_core: shapely.Point,
             ctx: BuildContext) -> np.ndarray:
    """Relative residential density of every cell (comparable within a district).

    Each district draws from its own random stream, so a district comes out the same in a
    small build as in the whole city's.
    """
    weight = np.zeros(len(grid))
    lon, lat = grid["lon"].to_numpy(), grid["lat"].to_numpy()
    d_city = geo.haversine_m(lon, lat, city_core.x, city_core.y) / 1e3
    for row in districts.itertuples():
        mask = (grid["district_adcode"] == row.adcode).to_numpy()
        if not mask.any():
            continue
        rng = ctx.rng(f"density-{row.adcode}")
        d_core = geo.haversine_m(lon[mask], lat[mask], row.core_lon, row.core_lat) / 1e3
        w = np.exp(-d_core / DISTRICT_CORE_DECAY_KM[row.kind])
        w += 2.0 * np.exp(-d_city[mask] / CITY_CORE_DECAY_KM)
        n_towns = max(1, int(round(row.area_km2 / KM2_PER_TOWN)))
        pick = np.exp(-d_core / 15.0)
        towns = rng.choice(mask.sum(), size=min(n_towns, mask.sum()), replace=False,
                           p=pick / pick.sum())
        for t in towns:
            d_town = geo.haversine_m(lon[mask], lat[mask], lon[mask][t], lat[mask][t]) / 1e3
            w += TOWN_WEIGHT * rng.uniform(0.5, 1.5) * np.exp(-d_town / TOWN_DECAY_KM)
        w *= rng.lognormal(0.0, 0.5, size=mask.sum())
        weight[mask] = w
    return weight

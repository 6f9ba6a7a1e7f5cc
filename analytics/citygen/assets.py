"""Build stage: instrumented manhole covers, placed where the city is dense.

Synthetic. Pipes follow people, so covers are shared among cells in proportion to the
cell's residents (latest census-calibrated year up to 2020) weighted up in urban cores,
where networks are denser: one instrumented cover per ``PERSONS_PER_COVER`` residents, a
plausible pilot scale (cities instrument hundreds of thousands of covers over years; the
first programmes cover the drainage of the central districts). Each cover gets a network
type (and its owner department and chamber depth) from ``analytics.sensors.model``, an
installation year in the smart-cover programme years, and a point inside its H3 cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.citygen.context import BuildContext
from analytics.errors import CityBrainError
from analytics.sensors.model import ASSET_TYPES

PERSONS_PER_COVER = 1000
#: Smart-cover programmes in Chinese cities started around 2016; installs grew since.
INSTALL_YEARS = (2016, 2025)
#: Radius (m) a cover may sit from its cell centre: inside the inscribed circle of an H3
#: resolution-9 hexagon (edge about 174 m), so the cover stays in its cell.
JITTER_M = 140.0
M_PER_DEG = 111_320.0


def cover_weights(cells: pd.DataFrame, residents: pd.Series) -> np.ndarray:
    """Share of covers per cell: residents, doubled at the urban core (urbanity 1)."""
    persons = residents.reindex(cells["cell"]).fillna(0).to_numpy(dtype=float)
    w = persons * (0.5 + cells["urbanity"].to_numpy(dtype=float))
    total = w.sum()
    if total <= 0:
        raise CityBrainError("no residents in any cell: the assets stage needs the population "
                             "stage before it")
    return w / total


def make_assets(cells: pd.DataFrame, residents: pd.Series, city_adcode: int,
                rng: np.random.Generator, last_year: int = INSTALL_YEARS[1]) -> pd.DataFrame:
    """Covers for the given cells (``cell, district_adcode, lon, lat, urbanity``)."""
    weights = cover_weights(cells, residents)
    n = max(int(round(residents.sum() / PERSONS_PER_COVER)), 1)
    per_cell = rng.multinomial(n, weights)
    pick = np.repeat(np.arange(len(cells)), per_cell)
    c = cells.iloc[pick].reset_index(drop=True)
    types = rng.choice(len(ASSET_TYPES), n, p=[t.share for t in ASSET_TYPES])
    r = JITTER_M * np.sqrt(rng.random(n))
    theta = rng.uniform(0, 2 * np.pi, n)
    lat = c["lat"].to_numpy() + r * np.sin(theta) / M_PER_DEG
    lon = c["lon"].to_numpy() + r * np.cos(theta) / (M_PER_DEG * np.cos(np.radians(lat)))
    first, last = INSTALL_YEARS[0], min(INSTALL_YEARS[1], last_year)
    years = np.arange(first, last + 1)
    year_w = np.linspace(1, 3, len(years))
    depth = np.array([rng.integers(ASSET_TYPES[t].depth_cm[0], ASSET_TYPES[t].depth_cm[1] + 1)
                      for t in types])
    frame = pd.DataFrame({
        "city_adcode": city_adcode,
        "asset_type": [ASSET_TYPES[t].key for t in types],
        "owner_department": [ASSET_TYPES[t].owner_zh for t in types],
        "install_year": rng.choice(years, n, p=year_w / year_w.sum()).astype("int16"),
        "district_adcode": c["district_adcode"].astype("int32").to_numpy(),
        "cell": c["cell"].astype("uint64").to_numpy(),
        "lon": lon, "lat": lat,
        "depth_cm": depth.astype("int16"),
    })
    frame = frame.sort_values(["district_adcode", "cell"], kind="stable", ignore_index=True)
    seq = frame.groupby("district_adcode").cumcount() + 1
    frame.insert(1, "asset_id", "MH-" + frame["district_adcode"].astype(str) + "-"
                 + seq.map("{:05d}".format))
    return frame


def stage(ctx: BuildContext) -> None:
    cells = ctx.tables.get("cells")
    pop = ctx.tables.get("population_cells")
    if cells is None or pop is None:
        raise CityBrainError("the assets stage needs the cells and population_cells tables "
                             "(run it after the population stage)")
    years = sorted(pop["year"].unique())
    year = max([y for y in years if y <= 2020] or years)
    residents = pop[pop["year"] == year].groupby("cell")["persons"].sum()
    ctx.tables["assets"] = make_assets(cells, residents, ctx.config.city_adcode,
                                       ctx.rng("assets"), ctx.config.last_year)
    ctx.meta["assets_persons_per_cover"] = PERSONS_PER_COVER

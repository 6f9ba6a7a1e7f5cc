"""The assets build stage: covers follow residents, stay inside their cell, carry their type."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from analytics.citygen.assets import PERSONS_PER_COVER, cover_weights, make_assets
from analytics.errors import CityBrainError
from analytics.geo import haversine_m
from analytics.sensors.model import ASSET_TYPES


def cells():
    hexes = [h3.latlng_to_cell(30.25, 120.15 + 0.01 * i, 9) for i in range(3)]
    centres = [h3.cell_to_latlng(h) for h in hexes]
    return pd.DataFrame({"cell": [h3.str_to_int(h) for h in hexes], "h3": hexes,
                         "district_adcode": [330106, 330106, 330108],
                         "lon": [c[1] for c in centres], "lat": [c[0] for c in centres],
                         "urbanity": [0.5, 0.0, 1.0]})


def test_weights_by_hand():
    c = cells()
    residents = pd.Series([0, 100_000, 300_000], index=c["cell"])
    # 0 x 1.0, 100,000 x 0.5, 300,000 x 1.5 -> 0 : 50,000 : 450,000
    assert cover_weights(c, residents) == pytest.approx([0, 0.1, 0.9])


def test_covers_follow_residents_and_stay_in_their_cell():
    c = cells()
    residents = pd.Series([0, 100_000, 300_000], index=c["cell"])
    a = make_assets(c, residents, 330100, np.random.default_rng(0))
    assert len(a) == 400_000 // PERSONS_PER_COVER
    per_cell = a["cell"].value_counts().reindex(c["cell"], fill_value=0).to_numpy()
    assert per_cell[0] == 0
    assert abs(per_cell[2] - 360) < 4 * np.sqrt(400 * 0.9 * 0.1)   # binomial, 4 sd
    located = [h3.str_to_int(h3.latlng_to_cell(la, lo, 9)) for la, lo in zip(a["lat"], a["lon"], strict=True)]
    assert (np.array(located, dtype=np.uint64) == a["cell"].to_numpy()).all()
    centre = c.set_index("cell").loc[a["cell"]]
    assert (haversine_m(a["lon"], a["lat"], centre["lon"].to_numpy(),
                        centre["lat"].to_numpy()) <= 140.5).all()
    assert a["asset_id"].is_unique
    assert a["asset_id"].str.match(r"^MH-33010[68]-\d{5}$").all()
    assert set(a["asset_type"]) <= {t.key for t in ASSET_TYPES}
    depth = {t.key: t.depth_cm for t in ASSET_TYPES}
    assert all(depth[t][0] <= d <= depth[t][1] for t, d in zip(a["asset_type"], a["depth_cm"], strict=True))
    assert a["install_year"].between(2016, 2025).all()


def test_no_residents_is_a_clear_error():
    c = cells()
    with pytest.raises(CityBrainError, match="population stage"):
        make_assets(c, pd.Series([0, 0, 0], index=c["cell"]), 330100, np.random.default_rng(0))

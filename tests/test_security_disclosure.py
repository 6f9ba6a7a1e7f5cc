"""The differencing attack, run against every public output that carries counts of people.

An outsider downloads the cell and district tables, runs ``plan coverage`` (by district and
``--cells``) for every facility type, and saves the trends pyramid of every area, all for one
year. Every published figure is a linear relation on the true counts (exact, or an interval
where a figure is rounded or blank). Interval propagation over all those relations together
(the textbook attack on linked tables: Hundepool et al., *Statistical Disclosure Control*,
2012, ch. 4.3) must pin no count that was not published exactly.
"""

from __future__ import annotations

import io
import shutil

import numpy as np
import pandas as pd
import pytest

from analytics.opendata import exports, privacy, registry
from analytics.population import AGE_GROUPS, MAX_AGE, SERVICE_GROUPS
from analytics.standards import FACILITY_TYPES
from analytics.store import Store

YEAR = 2020
BIG = 1e12


class Relations:
    """Sum of coef * var over each relation's terms lies in [lo, hi]."""

    def __init__(self, n_vars: int):
        self.n = n_vars
        self.rel, self.var, self.coef, self.lo, self.hi = [], [], [], [], []

    def add(self, groups: np.ndarray, variables: np.ndarray, coefs, lo, hi) -> None:
        """``groups``: a relation number (0..k-1) per term; lo/hi: per relation."""
        base = len(self.lo)
        self.rel.append(np.asarray(groups, dtype=np.int64) + base)
        self.var.append(np.asarray(variables, dtype=np.int64))
        self.coef.append(np.broadcast_to(np.asarray(coefs, dtype=float), len(variables)).copy())
        self.lo += list(np.asarray(lo, dtype=float))
        self.hi += list(np.asarray(hi, dtype=float))

    def propagate(self, lo: np.ndarray, hi: np.ndarray, rounds: int = 30):
        rel, var, coef = (np.concatenate(x) for x in (self.rel, self.var, self.coef))
        rlo, rhi = np.array(self.lo), np.array(self.hi)
        n_rel = len(rlo)
        for _ in range(rounds):
            c_lo = np.where(coef > 0, coef * lo[var], coef * hi[var])
            c_hi = np.where(coef > 0, coef * hi[var], coef * lo[var])
            s_lo = np.bincount(rel, c_lo, minlength=n_rel)
            s_hi = np.bincount(rel, c_hi, minlength=n_rel)
            t_lo = rlo[rel] - (s_hi[rel] - c_hi)
            t_hi = rhi[rel] - (s_lo[rel] - c_lo)
            v_lo = np.where(coef > 0, t_lo / coef, t_hi / coef)
            v_hi = np.where(coef > 0, t_hi / coef, t_lo / coef)
            new_lo, new_hi = lo.copy(), hi.copy()
            np.maximum.at(new_lo, var, np.ceil(v_lo - 1e-9))
            np.minimum.at(new_hi, var, np.floor(v_hi + 1e-9))
            if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
                break
            lo, hi = new_lo, new_hi
        return lo, hi


def _published_interval(values: pd.Series, rounding: int, blank_lo: float, blank_hi: float):
    v = values.astype("float64").to_numpy()
    blank = np.isnan(v)
    if rounding:
        lo, hi = np.where(blank, blank_lo, np.maximum(v - rounding // 2, 1)), \
            np.where(blank, privacy.SMALL_HIGH, v + rounding // 2 - 1)
        exact = np.zeros(len(v), dtype=bool)
    else:
        lo, hi = np.where(blank, blank_lo, v), np.where(blank, blank_hi, v)
        exact = ~blank
    return lo, hi, exact


def _figure_interval(value) -> tuple[float, float]:
    """A derived count as printed: exact unless it is a multiple of 10 from a rounded output."""
    if pd.isna(value):
        return 1.0, float(privacy.SMALL_HIGH)
    return float(value), float(value)


@pytest.fixture(scope="module")
def attacked(small_store_path, tmp_path_factory):
    from analytics.cli import main

    path = tmp_path_factory.mktemp("attack") / "city.duckdb"
    shutil.copy(small_store_path, path)
    store = Store.open(path)
    try:
        cells_pub = pd.read_parquet(io.BytesIO(exports.export_bytes(store, "population_cells",
                                                                    "parquet")[0]))
        dist_pub = pd.read_parquet(io.BytesIO(exports.export_bytes(store, "population_districts",
                                                                   "parquet")[0]))
        truth_c = store.query("open_data.rows_all", table="population_cells")
        truth_d = store.query("open_data.rows_all", table="population_districts")
        from analytics.indicators import trends
        pyramid = getattr(trends, "public_pyramid", trends.pyramid)
        districts = sorted(truth_d["district_adcode"].unique())
        pyramids = {d: pyramid(store, YEAR, d) for d in [None, *districts]}
    finally:
        store.close()
    outputs = {}
    for type_key, ft in FACILITY_TYPES.items():
        group = ft.serves[0]
        if group not in SERVICE_GROUPS:
            continue
        for cells in (True, False):
            out = path.parent / f"{type_key}_{cells}.csv"
            args = ["plan", "coverage", "--store", str(path), "--type", type_key,
                    "--year", str(YEAR), "--out", str(out)] + (["--cells"] if cells else [])
            if main(args) == 0:
                outputs[(type_key, group, cells)] = pd.read_csv(out)
    return dict(cells_pub=cells_pub, dist_pub=dist_pub, truth_c=truth_c, truth_d=truth_d,
                pyramids=pyramids, outputs=outputs, path=path)


def attack(a) -> tuple[int, int, int]:
    """Returns (counts not published exactly, of those pinned by the attack, unsound bounds)."""
    key_c, key_d = ["cell", "age_group", "sex"], ["district_adcode", "age", "sex"]
    tc = a["truth_c"][a["truth_c"]["year"] == YEAR].sort_values(key_c).reset_index(drop=True)
    td = a["truth_d"][a["truth_d"]["year"] == YEAR].sort_values(key_d).reset_index(drop=True)
    pc = tc[key_c].merge(a["cells_pub"][a["cells_pub"]["year"] == YEAR][key_c + ["persons"]],
                         on=key_c, how="left")
    pdd = td[key_d].merge(a["dist_pub"][a["dist_pub"]["year"] == YEAR][key_d + ["persons"]],
                          on=key_d, how="left")
    spec_c = registry.spec("population_cells")
    lo_c, hi_c, ex_c = _published_interval(pc["persons"], getattr(spec_c, "rounding", 0), 1, BIG)
    lo_d, hi_d, ex_d = _published_interval(pdd["persons"], 0, 0, BIG)
    nc = len(tc)
    lo, hi = np.concatenate([lo_c, lo_d]), np.concatenate([hi_c, hi_d])
    exact = np.concatenate([ex_c, ex_d])
    truth = np.concatenate([tc["persons"].to_numpy(float), td["persons"].to_numpy(float)])
    rel = Relations(nc + len(td))

    # cells and single ages sum to the same district x service age group x sex totals
    group_of_age = {age: g for g, (lo_, hi_) in AGE_GROUPS.items() for age in range(lo_, hi_ + 1)}
    kc = pd.MultiIndex.from_frame(tc[["district_adcode", "age_group", "sex"]])
    kd = pd.MultiIndex.from_arrays([td["district_adcode"], td["age"].map(group_of_age), td["sex"]])
    codes, uniq = pd.factorize(kc.append(kd))
    rel.add(codes, np.arange(nc + len(td)), np.r_[np.ones(nc), -np.ones(len(td))],
            np.zeros(len(uniq)), np.zeros(len(uniq)))

    cell_rows = tc.groupby("cell").indices
    for (_type_key, group, cells), table in a["outputs"].items():
        groups = set(SERVICE_GROUPS[group])
        in_group = tc["age_group"].isin(groups).to_numpy()
        if cells:
            import h3
            table = table.assign(cell=table["h3"].map(h3.str_to_int))
            terms_g, terms_v, los, his = [], [], [], []
            for n, row in enumerate(table.itertuples()):
                idx = [i for i in cell_rows.get(np.uint64(row.cell), cell_rows.get(row.cell, []))
                       if in_group[i]]
                l_, h_ = _figure_interval(row.persons)
                if "suppressed" in table.columns and not pd.isna(row.persons):
                    l_, h_ = row.persons - 5, row.persons + 4  # rounded to 10
                terms_g += [n] * len(idx)
                terms_v += idx
                los.append(l_)
                his.append(h_)
            rel.add(np.array(terms_g), np.array(terms_v), 1.0, los, his)
        else:
            ages = [age for g in groups for age in range(AGE_GROUPS[g][0], AGE_GROUPS[g][1] + 1)]
            for row in table[table["adcode"] != 0].itertuples():
                idx = np.flatnonzero(((td["district_adcode"] == row.adcode)
                                      & td["age"].isin(ages)).to_numpy()) + nc
                rel.add(np.zeros(len(idx)), idx, 1.0, [row.persons], [row.persons])
    for district, pyr in a["pyramids"].items():
        for row in pyr.itertuples():
            upper = MAX_AGE if row.lower >= MAX_AGE else row.lower + 4
            for sex, value in (("M", row.male), ("F", row.female)):
                if pd.isna(value):
                    continue
                sel = (td["age"].between(row.lower, upper) & (td["sex"] == sex))
                if district is not None:
                    sel &= td["district_adcode"] == district
                idx = np.flatnonzero(sel.to_numpy()) + nc
                rel.add(np.zeros(len(idx)), idx, 1.0, [value], [value])
    lo, hi = rel.propagate(lo, hi)
    unsound = int(((truth < lo) | (truth > hi)).sum())
    hidden = ~exact
    return int(hidden.sum()), int((hidden & (lo == hi)).sum()), unsound


def test_differencing_all_public_outputs_recovers_nothing(attacked):
    assert attacked["outputs"], "plan coverage published nothing to attack"
    hidden, pinned, unsound = attack(attacked)
    assert unsound == 0            # the attack only uses true relations
    assert hidden > 1000           # plenty of counts are protected in a two-district city
    assert pinned == 0, f"{pinned} of {hidden} protected counts recovered by differencing"


def test_no_output_shows_an_exact_cell_count(attacked):
    cells = attacked["cells_pub"]["persons"].dropna()
    assert (cells % 10 == 0).all() and not cells.between(1, 9).any()
    for (type_key, _, by_cell), table in attacked["outputs"].items():
        if by_cell:
            persons = table["persons"].dropna()
            assert (persons % 10 == 0).all(), type_key
            assert table["suppressed"].any() or persons.min() >= 10


def test_every_release_is_logged(attacked):
    store = Store.open(attacked["path"], read_only=True)
    try:
        log = store.query("open_data.usage_of_actor", actor="public", n=10_000)
    finally:
        store.close()
    cli = log[log["channel"] == "cli"]
    assert len(cli) == len(attacked["outputs"])
    assert set(cli["dataset_id"]) == {"population_cells", "population_districts"}


def test_rounding_by_hand():
    values, suppressed, rounded = privacy.round_counts([0, 1, 9, 10, 14, 15, 25, 104, 996])
    assert [None if np.isnan(v) else int(v) for v in values] == \
        [0, None, None, 10, 10, 20, 30, 100, 1000]
    assert (suppressed, rounded) == (2, 5)


def test_released_sum_is_blank_where_a_part_is_blank():
    frame = pd.DataFrame({"k": ["a", "a", "b", "b"],
                          "n": pd.array([12, None, 30, 11], dtype="Int64")})
    out = privacy.released_sum(frame, ["k"], "n")
    assert out.isna().tolist() == [True, False] and out["b"] == 41


def test_map_shows_suppressed_cells_as_such():
    """The planning map's hexagons: 60+ in the grid's cells is 6n for cell n = 1..9 (hand
    built); 6 is suppressed (grey, '1-9' in the tooltip), 12 shows as 10, 54 as 50."""
    from planning_store import YEAR, make_store

    from analytics.planning import accessibility
    from dashboard import maps
    from dashboard import planning as pl

    store = make_store()
    result = accessibility.analyse(store, "elderly_day_care", YEAR)
    rows, legend, _ = pl.hex_data.__wrapped__(store, result, "k", "elderly_day_care", YEAR,
                                              "60+", 300, "persons", "en", None)
    tips = sorted(rows["t"])
    assert any("1-9 (suppressed)" in t for t in tips)
    assert not any(f" {v} " in f" {t} " for t in tips for v in range(1, 10) if "suppressed" not in t)
    assert {t.split()[0] for t in tips} == {"1-9", "10", "20", "30", "40", "50"}
    grey = maps._rgba(maps.SUPPRESSED, 190)
    assert sum(c == grey for c in rows["c"]) == 1
    assert legend.labels[-1] == "1-9 (suppressed)"
    log = store.query("open_data.usage_of_actor", actor="public", n=100)
    assert (log["channel"] == "page").sum() == 1 and log["dataset_id"].iloc[0] == "population_cells"
    store.close()

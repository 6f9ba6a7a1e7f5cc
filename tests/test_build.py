"""The city build: calibration against the published figures, grains, determinism,
atomicity, and the bad inputs of the CLI."""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from analytics import population, reference
from analytics.citygen.build import BuildConfig, build
from analytics.store import Store

REF = Path(__file__).resolve().parent.parent / "data" / "reference"
CENSUS = pd.read_csv(REF / "hangzhou_2020_census_districts.csv", dtype={"adcode": "Int64"})


def _cli(*args, check=False):
    return subprocess.run([sys.executable, "-m", "analytics", *args], capture_output=True,
                          text=True, check=check, timeout=300)


def _census_2020(adcode: int) -> int:
    own = int(CENSUS.loc[CENSUS["adcode"] == adcode, "pop_2020_census"].iloc[0])
    if adcode == 330106:  # the West Lake Scenic Area's residents count in 西湖区
        own += int(CENSUS.loc[CENSUS["adcode"].isna(), "pop_2020_census"].iloc[0])
    return own


# -- calibration (district model of the whole city) ------------------------------------
def _shares(pop: np.ndarray) -> dict[str, float]:
    by_age = pop.sum(axis=(0, 1)) if pop.ndim == 3 else pop.sum(axis=0)
    total = by_age.sum()
    return {"0-14": 100 * by_age[:15].sum() / total, "15-59": 100 * by_age[15:60].sum() / total,
            "60+": 100 * by_age[60:].sum() / total, "65+": 100 * by_age[65:].sum() / total}


def test_2020_city_shares_equal_the_census(hangzhou_model):
    published = {"0-14": 13.02, "15-59": 70.12, "60+": 16.87, "65+": 11.66}
    got = _shares(hangzhou_model.series[2020])
    for band, value in published.items():
        assert got[band] == pytest.approx(value, abs=0.2), band


def test_2020_district_totals_equal_the_census(hangzhou_model):
    totals = hangzhou_model.series[2020].sum(axis=(1, 2))
    for adcode, total in zip(hangzhou_model.adcodes, totals, strict=True):
        assert total == pytest.approx(_census_2020(int(adcode)), abs=0.5)
    assert totals.sum() == pytest.approx(11_936_010, abs=1)


def test_2010_total_and_district_shares_near_the_2010_census(hangzhou_model):
    p2010 = hangzhou_model.series[2010].sum(axis=(1, 2))
    assert p2010.sum() == pytest.approx(8_700_400, rel=0.03)
    share_2010 = dict(zip(CENSUS["adcode"].fillna(330106).astype(int),
                          CENSUS["share_2010_pct"], strict=True))
    share_2010[330106] = 9.08 + 0.34  # 西湖区 with the scenic area
    for adcode, value in zip(hangzhou_model.adcodes, p2010, strict=True):
        assert 100 * value / p2010.sum() == pytest.approx(share_2010[int(adcode)], abs=0.3)


#: Published births: the bulletins' rates times their year-end populations
#: (data/reference/hangzhou_history_2010_2020.csv).
PUBLISHED_BIRTHS = {2016: 11.1 * 918.8e1, 2018: 11.3 * 980.6e1, 2019: 11.1 * 1036e1,
                    2020: 7.76 * 1196.5e1}
CENSUS_2010_SHARES = {"0-14": 11.39, "60+": 13.40, "65+": 9.02}


def test_2010_age_shares_and_births_near_the_published_figures(hangzhou_model):
    shares = _shares(hangzhou_model.series[2010].sum(axis=0))
    # No schedule meets the 2010 shares while every district keeps a plausible pyramid
    # (see the README): 0-14 is 2.1 points high, 60+ 1.3 points low (standard: 2.9, 1.7).
    assert shares["0-14"] == pytest.approx(11.39, abs=2.5)
    assert shares["60+"] == pytest.approx(13.40, abs=1.5)
    births = {y: hangzhou_model.events[y][:, 0].sum() for y in PUBLISHED_BIRTHS}
    for year, published in PUBLISHED_BIRTHS.items():
        assert births[year] == pytest.approx(published, rel=0.2)
    # the bulletins show births falling by a fifth from 2019 to 2020 (92,848 / 114,996)
    assert births[2020] / births[2019] < 0.9


def test_the_fitted_schedule_beats_the_standard_one_on_every_published_figure(hangzhou_model):
    from analytics.citygen import population as pop
    from analytics.population import demography

    m = hangzhou_model
    d2020 = m.series[2020]
    target = pop.targets_2010(m.ref, m.adcodes)

    def misses(schedule) -> np.ndarray:
        profile = demography.migration_profile(schedule)
        run = pop.back_run(d2020, m.ref, profile,
                           pop.solve_migration(d2020, m.ref, profile, target))
        shares = _shares(run.pops[2010].sum(axis=0))
        return np.array([abs(shares[k] / v - 1) for k, v in CENSUS_2010_SHARES.items()]
                        + [abs(run.births[y].sum() / b - 1) for y, b in PUBLISHED_BIRTHS.items()])

    fitted, standard = misses(m.migration.schedule), misses(demography.STANDARD_MIGRATION)
    assert m.migration.fitted
    assert (fitted < standard).all(), (fitted, standard)


def test_no_district_loses_a_whole_cohort_going_back_to_2010(hangzhou_model):
    """A schedule that sends more people of an age to a district than its 2020 cohort holds
    would empty the cohort in 2010; every single age under 80 keeps at least a fifth of
    its 2020 size."""
    s2010 = hangzhou_model.series[2010].sum(axis=1)[:, :70]
    s2020 = hangzhou_model.series[2020].sum(axis=1)[:, 10:80]
    assert (s2010 / s2020).min() > 0.2


def test_ages_0_to_4_follow_the_published_births():
    from analytics.citygen import population as pop

    base = pop.city_base_2020(reference.city_reference(330100, "杭州市")).sum(axis=0)
    b = PUBLISHED_BIRTHS
    born = np.array([b[2020], b[2019], b[2018], (b[2018] + b[2016]) / 2, b[2016]])
    np.testing.assert_allclose(base[:5] / base[:5].sum(), born / born.sum(), rtol=1e-9)


def test_the_fit_recovers_a_known_migration_schedule(hangzhou_model):
    """Run the city back with a schedule unlike the standard one, publish what it gives, and
    fit: the fitted run back meets those figures to a hundredth of a point."""
    from dataclasses import replace

    from analytics.citygen import population as pop
    from analytics.population import demography

    m = hangzhou_model
    d2020 = m.series[2020]
    truth = demography.migration_profile(demography.MigrationSchedule(
        child=0.005, labour_peak=25.0, labour_decline=0.07, constant=0.01))
    target = pop.targets_2010(m.ref, m.adcodes)
    run = pop.back_run(d2020, m.ref, truth, pop.solve_migration(d2020, m.ref, truth, target))
    kept = run.pops[2010].sum(axis=1)[:, :70] / d2020.sum(axis=1)[:, 10:80]
    assert kept.min() > pop.MIN_COHORT_KEPT   # a schedule every district can hold
    published = replace(m.ref, shares_2010=pop._shares(run.pops[2010].sum(axis=0)),
                        births={y: float(run.births[y].sum()) for y in (2014, 2016, 2018, 2020)})
    fit = pop.fit_migration_schedule(d2020, m.adcodes, published)
    assert fit.fitted
    for built, target_share in fit.shares_2010.values():
        assert built == pytest.approx(target_share, abs=0.01)
    for built, target_births in fit.births.values():
        assert built == pytest.approx(target_births, rel=1e-3)


def test_without_published_figures_the_standard_schedule_is_kept():
    from analytics.citygen import population as pop
    from analytics.population import demography

    harbin = reference.city_reference(230100, "哈尔滨市")
    base = pop.city_base_2020(harbin)[None]
    fit = pop.fit_migration_schedule(base, np.array([230102]), harbin)
    assert not fit.fitted and fit.schedule == demography.STANDARD_MIGRATION


def test_post_census_totals_follow_the_published_year_ends(hangzhou_model):
    assert hangzhou_model.series[2021].sum() == pytest.approx(12_204_000, rel=1e-6)
    assert hangzhou_model.series[2022].sum() == pytest.approx(12_376_000, rel=1e-6)


def test_age_sex_shape_follows_the_zhejiang_pyramid(hangzhou_model):
    # Within each census band the five-year shares by sex are Zhejiang's (bands are scaled
    # to the city's counts, their inner shape is the province's).
    pyr = reference.pyramid("zhejiang")
    city = hangzhou_model.series[2020].sum(axis=0)  # [sex, age]
    for lo, hi in [(15, 59), (65, 100)]:
        rows = pyr[(pyr["lo"] >= lo) & (pyr["hi"] <= hi)]
        zj = np.concatenate([rows["male"], rows["female"]])
        ours = np.concatenate([[city[0, a:b + 1].sum() for a, b in zip(rows["lo"], rows["hi"], strict=True)],
                               [city[1, a:b + 1].sum() for a, b in zip(rows["lo"], rows["hi"], strict=True)]])
        np.testing.assert_allclose(ours / ours.sum(), zj / zj.sum(), atol=1e-9)


def test_fast_growing_districts_are_younger_than_old_cores(hangzhou_model):
    idx = {int(a): i for i, a in enumerate(hangzhou_model.adcodes)}
    s2020 = hangzhou_model.series[2020]
    old = {a: _shares(s2020[idx[a]])["60+"] for a in (330102, 330105, 330127)}
    young = {a: _shares(s2020[idx[a]])["60+"] for a in (330110, 330113, 330108)}
    assert max(young.values()) < min(old.values())


def test_cohorts_age_one_year_net_of_deaths_and_migration(hangzhou_model):
    from analytics.population import demography

    s = hangzhou_model.series
    profile = demography.migration_profile(hangzhou_model.migration.schedule)
    # back-projected years: the recorded migration is what the process applied after
    # clipping cohorts at zero (young adults in the fast-growing districts), spread here by
    # the schedule again, so they agree to 0.5 %; projected years exactly.
    for year, rtol in ((2015, 5e-3), (2023, 1e-9)):
        q = demography.mortality(year, 330100)
        for i in range(len(hangzhou_model.adcodes)):
            migrants = hangzhou_model.events[year][i, 2] * profile
            expected = s[year - 1][i][:, 30:80] * (1 - q[:, 30:80]) + migrants[:, 31:81]
            np.testing.assert_allclose(s[year][i][:, 31:81], expected, rtol=rtol)


# -- the small real store -----------------------------------------------------------------
def test_small_store_district_totals_are_exact(small_store):
    summary = population.district_summary(small_store, 2020).set_index("adcode")
    assert summary.loc[330106, "population"] == 1_112_992
    assert summary.loc[330108, "population"] == 503_859
    assert summary.loc[330100, "population"] == 1_112_992 + 503_859


def test_cell_and_district_grains_agree_on_every_sum(small_store):
    with small_store.cursor() as cur:
        cells = cur.execute("SELECT year, district_adcode, age_group, sex, sum(persons) "
                            "FROM population_cells GROUP BY ALL").df()
        ages = cur.execute("SELECT year, district_adcode, age, sex, persons "
                           "FROM population_districts").df()
    ages["age_group"] = ages["age"].map(population.age_group_of)
    grouped = ages.groupby(["year", "district_adcode", "age_group", "sex"])["persons"].sum()
    cells = cells.set_index(["year", "district_adcode", "age_group", "sex"]).iloc[:, 0]
    joined = pd.concat([grouped.rename("districts"), cells.rename("cells")], axis=1).fillna(0)
    assert (joined["districts"] == joined["cells"]).all()
    assert len(joined) == 16 * 2 * 11 * 2


def test_every_cell_lies_in_its_district(small_store):
    districts = small_store.table("districts")
    cells = small_store.table("cells")
    for row in districts.itertuples():
        poly = shapely.from_wkb(bytes(row.geometry))
        mine = cells[cells["district_adcode"] == row.adcode]
        inside = shapely.contains_xy(poly.buffer(0.003), mine["lon"], mine["lat"])
        assert inside.mean() == 1.0
    assert cells["cell"].is_unique
    assert set(cells["district_adcode"]) == {330106, 330108}


def test_population_concentrates_in_urban_cores(small_store):
    with small_store.cursor() as cur:
        by_cell = cur.execute(
            "SELECT c.district_adcode, c.urbanity, sum(p.persons) AS persons FROM population_cells p "
            "JOIN cells c USING (cell) WHERE p.year = 2020 GROUP BY ALL").df()
    xihu = by_cell[by_cell["district_adcode"] == 330106]
    top = xihu.nlargest(len(xihu) // 10, "persons")["persons"].sum()
    assert top / xihu["persons"].sum() > 0.3  # the densest tenth of cells hold > 30 %
    assert xihu["persons"].corr(xihu["urbanity"], method="spearman") > 0.8


def _digest(path: Path) -> dict[str, str]:
    with Store.open(path, read_only=True) as store, store.cursor() as cur:
        out = {}
        for table in ["districts", "cells", "population_cells", "population_districts",
                      "vital_events"]:
            # the analytic names are layer views (department data over the synthetic layer):
            # a view has no row order, so compare the rows sorted
            frame = cur.execute(f"SELECT * FROM {table} ORDER BY ALL").df()  # noqa: S608
            out[table] = hashlib.sha256(pd.util.hash_pandas_object(frame.astype(str),
                                                                   index=False).values).hexdigest()
    return out


def test_same_seed_same_tables_other_seed_other_cells(tmp_path):
    def small(name: str, seed: int = BuildConfig.seed) -> dict[str, str]:
        build(BuildConfig(districts=(330108,), out=tmp_path / name, seed=seed))
        return _digest(tmp_path / name)

    first, second, other = small("a.duckdb"), small("b.duckdb"), small("c.duckdb", seed=7)
    assert first == second
    assert other["population_districts"] == first["population_districts"]  # calibrated, not drawn
    assert other["population_cells"] != first["population_cells"]


def test_a_district_is_the_same_in_a_small_build_as_in_a_larger_one(tmp_path, small_store):
    build(BuildConfig(districts=(330108,), out=tmp_path / "binjiang.duckdb"))
    with Store.open(tmp_path / "binjiang.duckdb", read_only=True) as alone:
        mine = alone.query("population.group_by_cell", year=2020, groups=["80+"])
    theirs = small_store.query("population.group_by_cell", year=2020, groups=["80+"])
    theirs = theirs[theirs["district_adcode"] == 330108].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs)


def test_an_interrupted_build_leaves_the_previous_store(tmp_path, small_store_path):
    target = tmp_path / "city.duckdb"
    target.write_bytes(small_store_path.read_bytes())
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    proc = subprocess.Popen([sys.executable, "-m", "analytics", "build", "--districts",
                             "330106,330108", "--out", str(target)],
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # kill it in the middle of the population stage
        if line.startswith("[population]"):
            break
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    with Store.open(target, read_only=True) as store:
        assert population.district_summary(store, 2020)["population"].iloc[0] == 1_616_851


# -- bad input: one clear line, non-zero exit, the existing store untouched -----------------
@pytest.mark.parametrize(("args", "message"), [
    (["--city", "330199"], "unknown city adcode 330199"),
    (["--city", "330000"], "unknown city adcode 330000"),
    (["--years", "2005-2025"], "outside 2010-2025"),
    (["--years", "2021-2025"], "must include 2020"),
    (["--years", "twenty"], "not a range"),
    (["--districts", "330106,999999"], "not in city 330100"),
    (["--city", "110100"], "no 2020 population figures for city 110100"),
])
def test_bad_build_arguments_fail_clearly(tmp_path, args, message):
    target = tmp_path / "city.duckdb"
    target.write_bytes(b"previous store")
    result = _cli("build", *args, "--out", str(target), "--quiet")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert target.read_bytes() == b"previous store"
    assert [p.name for p in tmp_path.iterdir()] == ["city.duckdb"]


def test_unwritable_output_fails_clearly(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        result = _cli("build", "--out", str(locked / "city.duckdb"), "--quiet")
        assert result.returncode == 2 and "not writable" in result.stderr
    finally:
        locked.chmod(0o700)


def test_output_path_that_is_a_directory_fails_clearly(tmp_path):
    result = _cli("build", "--out", str(tmp_path), "--quiet")
    assert result.returncode == 2
    assert "is a directory" in result.stderr


@pytest.mark.parametrize("content", [b"", b"garbage" * 1000])
def test_info_on_a_corrupt_store_fails_clearly(tmp_path, content):
    bad = tmp_path / "city.duckdb"
    bad.write_bytes(content)
    result = _cli("info", "--store", str(bad))
    assert result.returncode == 2
    assert "rebuild" in result.stderr and "Traceback" not in result.stderr
    assert bad.read_bytes() == content


def test_info_prints_the_city_and_each_district(small_store_path):
    result = _cli("info", "--store", str(small_store_path), "--format", "csv", check=True)
    lines = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert lines[0] == "adcode,name,population,share_0_14,share_15_59,share_60plus,share_65plus"
    assert lines[1].startswith("330100,杭州市,1616851,")
    assert lines[2].startswith("330106,西湖区,1112992,")
    assert "# schema_version: " in result.stdout and "# seed: 20201101" in result.stdout
    bad_year = _cli("info", "--store", str(small_store_path), "--year", "2030")
    assert bad_year.returncode == 2 and "not in this store" in bad_year.stderr


def _subcommands(parser, prefix=()):
    """Every (sub-)command path of the CLI, e.g. ("plan", "coverage")."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _subcommands(sub, (*prefix, name))


def test_every_command_has_help(capsys):
    from analytics.cli import parser

    paths = list(_subcommands(parser()))
    assert ("build",) in paths and ("info",) in paths
    for path in paths:
        with pytest.raises(SystemExit) as stop:
            parser().parse_args([*path, "--help"])
        assert stop.value.code == 0
        assert "usage: python -m analytics " + " ".join(path) in capsys.readouterr().out

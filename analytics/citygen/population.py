"""Build stage: the calibrated population, by district and single age, and by cell.

1. **2020 base.** The city's single-year age-sex structure is the provincial (Zhejiang) or
   national 2020 census pyramid, split from five-year groups into single years, and raked
   so that the shares of 0-14, 15-59, 60-64 and 65+ equal the city's census counts.
2. **Districts.** Each district's age profile is tilted by its 2010-2020 growth (districts
   that grew fast by in-migration are younger, old cores and outlying counties older) and
   then raked (iterative proportional fitting) so that district totals equal the census and
   the city's age-sex counts stay as in step 1.
3. **2010-2025.** A cohort-component process (``analytics.population.demography``) runs the 2020
   population back to 2010 and forward to 2025: survival from a life table consistent with
   the reference life expectancy, births from age-specific fertility scaled to the TFR path,
   net migration by age on a Rogers-Castro schedule. Where the city publishes its 2010 age
   shares and yearly births (Hangzhou), the schedule's shape is fitted so that the run back
   reproduces them (:func:`fit_migration_schedule`); elsewhere it keeps the model's standard
   values. Each district's 2010-2020 migration is
   solved so that its 2010 population equals its published 2010 share of the 2010 census
   total; its timing follows the city's published year-end series. After 2020 migration
   keeps each district's 2016-2020 pattern, scaled each year so that the city total equals
   the published year-end population (2021, 2022); later years keep the last scale, or 30 %
   of the 2016-2020 pace where nothing is published (assumption).
4. **Integers.** Counts are rounded per district and year by largest remainder, so district
   totals are exact integers.
5. **Cells.** Each district's residents of each service age group, sex and year are shared
   among its cells by the density surface (``boundaries``), tilted by age (the old core is
   older, new urban areas have more children and grow faster), again by largest remainder:
   cell sums equal the district table exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from analytics import reference
from analytics.citygen.context import BuildContext
from analytics.population import AGE_GROUPS, MAX_AGE, demography

FIRST, CENSUS, LAST = 2010, 2020, 2025
#: Share of the 2016-2020 average yearly net migration that goes on after 2020 (assumption).
FORWARD_MIGRATION = 0.3
#: Most secant steps to solve a district's 2010-2020 migration for its 2010 total.
MAX_SECANT_STEPS = 12
#: How strongly a district's growth tilts its age profile (log growth -> log multiplier).
AGE_TILT = 1.0
#: The tilt's weight by age (straight lines between these points; assumption).
TILT_AGES = (0, 10, 18, 25, 38, 50, 60, 75)
TILT_WEIGHTS = (0.6, 0.5, 0.5, 1.0, 1.0, 0.0, -0.8, -1.0)
#: A cell whose 2020 expected population is below this is treated as unpopulated.
MIN_PERSONS_PER_CELL = 12.0
KM2_PER_CELL = 0.105  # mean area of an H3 resolution-9 cell


@dataclass(frozen=True)
class DistrictModel:
    """The district-level result: float populations [district, sex, age] by year, events
    [district, (births, deaths, net migration)] by year, and what went in."""

    ref: reference.CityReference
    adcodes: np.ndarray
    growth: np.ndarray
    series: dict[int, np.ndarray]
    events: dict[int, np.ndarray]
    migration: MigrationFit


def district_model(ctx: BuildContext) -> DistrictModel:
    """Steps 1-3 for every district of the city (needs the boundaries stage's work)."""
    all_d = ctx.work["all_districts"]
    ref = reference.city_reference(ctx.config.city_adcode, str(ctx.meta["city_name"]))
    adcodes = all_d["adcode"].astype(int).to_numpy()
    totals = _district_totals(ref, all_d)
    growth = _growth(ref, adcodes, totals)
    d2020 = district_base_2020(city_base_2020(ref), totals, growth)
    migration = fit_migration_schedule(d2020, adcodes, ref)
    series, events = project(d2020, adcodes, ref, totals,
                             demography.migration_profile(migration.schedule))
    return DistrictModel(ref, adcodes, growth, series, events, migration)


def stage(ctx: BuildContext) -> None:
    config = ctx.config
    model = district_model(ctx)
    ref, adcodes, growth = model.ref, model.adcodes, model.growth
    series, events = model.series, model.events
    keep = np.isin(adcodes, list(config.districts)) if config.districts else np.ones(len(adcodes), bool)
    years = [y for y in config.years]
    frames, event_rows = [], []
    integer = {}
    for y in years:
        counts = _round_rows(series[y].reshape(len(adcodes), -1)).reshape(series[y].shape)
        integer[y] = counts
        for i in np.flatnonzero(keep):
            frames.append(_district_frame(config.city_adcode, y, int(adcodes[i]), counts[i]))
            if y in events:
                b, d, m = events[y][i]
                event_rows.append((config.city_adcode, y, int(adcodes[i]), int(round(b)),
                                   int(round(d)), int(round(m))))
    ctx.tables["population_districts"] = pd.concat(frames, ignore_index=True)
    ctx.tables["vital_events"] = pd.DataFrame(event_rows, columns=[
        "city_adcode", "year", "district_adcode", "births", "deaths", "net_migration"])
    city_2010 = float(series[FIRST].sum())
    ctx.meta.update({
        "calibration_2010_total": int(round(city_2010)),
        "reference_defaults": "; ".join(ref.defaults_used) or "none",
        "reference_sources": " | ".join(ref.sources),
        "pyramid": ref.pyramid_area,
        "migration_schedule": model.migration.describe(),
        "calibration_2010_shares": model.migration.describe_shares(),
        "calibration_births": model.migration.describe_births(),
    })
    ctx.progress(f"[population] 2020: {int(series[CENSUS].sum()):,} residents; "
                 f"2010: {city_2010:,.0f}; 2025: {series[LAST].sum():,.0f}")
    cells, pop_cells = allocate_cells(ctx, integer, adcodes, keep, growth)
    ctx.tables["cells"] = cells
    ctx.tables["population_cells"] = pop_cells


# -- 2020 base --------------------------------------------------------------------------
def split_five_year(lo: np.ndarray, hi: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Single-year counts (0..100) from five-year groups, preserving every group's sum.

    Within a group the counts follow a straight line whose slope is set by the neighbouring
    groups (a linear, sum-preserving interpolation); 100+ stays at age 100.
    """
    out = np.zeros(MAX_AGE + 1)
    n = len(counts)
    for k in range(n):
        width = hi[k] - lo[k] + 1
        if width == 1 or lo[k] >= MAX_AGE:
            out[lo[k]] += counts[k]
            continue
        before = counts[k - 1] if k > 0 else counts[k]
        after = counts[k + 1] if k + 1 < n and hi[k + 1] - lo[k + 1] > 0 else counts[k]
        slope = np.clip((after - before) / (2 * counts[k]) if counts[k] else 0, -0.8, 0.8)
        offsets = np.arange(width) - (width - 1) / 2
        w = 1 + slope * offsets / width
        out[lo[k] : hi[k] + 1] = counts[k] * w / w.sum()
    return out


def _band_index(age: np.ndarray) -> np.ndarray:
    return np.select([age <= 14, age <= 59, age <= 64], [0, 1, 2], 3)


def city_base_2020(ref: reference.CityReference) -> np.ndarray:
    """[sex, age] 2020 city population: the pyramid's shape, the city's band counts.

    Ages 0-4 follow the city's published births where it has them."""
    pyr = reference.pyramid(ref.pyramid_area)
    lo, hi = pyr["lo"].to_numpy(), pyr["hi"].to_numpy()
    shape = np.stack([split_five_year(lo, hi, pyr["male"].to_numpy()),
                      split_five_year(lo, hi, pyr["female"].to_numpy())])
    young = [y for y in sorted(ref.births or {}) if CENSUS - 4 <= y <= CENSUS]
    if len(young) >= 2:
        # The 0-4 group split by the city's published births of the years they were born
        # in (missing years interpolated): a straight line cannot show a fall in births.
        born = np.interp(CENSUS - np.arange(5), young, [ref.births[y] for y in young])
        shape[:, :5] = shape[:, :5].sum(axis=1, keepdims=True) * born / born.sum()
    bands = _band_index(demography.AGES)
    base = np.zeros_like(shape)
    for b, name in enumerate(reference.CENSUS_BANDS):
        cols = bands == b
        base[:, cols] = shape[:, cols] / shape[:, cols].sum() * ref.bands_2020[name]
    return base


def _district_totals(ref: reference.CityReference, all_d: pd.DataFrame) -> np.ndarray:
    if ref.district_2020:
        return np.array([ref.district_2020[int(a)] for a in all_d["adcode"]], float)
    # Documented default where no district census table exists: population in proportion to
    # area^0.4 (large rural counties hold more people, but far from proportionally to area),
    # times an urbanity factor of up to 5 for districts whose centre is near the city core.
    urban = 1 + 4 * np.exp(-all_d["d_city_km"].to_numpy() / 15.0)
    weight = all_d["area_km2"].to_numpy() ** 0.4 * urban
    return ref.population_2020 * weight / weight.sum()


def _growth(ref: reference.CityReference, adcodes: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """District population 2020 / 2010 (1 where 2010 is not known)."""
    if not (ref.district_share_2010 and ref.population_2010):
        return np.ones(len(adcodes))
    p2010 = np.array([ref.district_share_2010[int(a)] for a in adcodes]) / 100 * ref.population_2010
    return totals / p2010


def district_base_2020(base: np.ndarray, totals: np.ndarray, growth: np.ndarray) -> np.ndarray:
    """[district, sex, age] 2020: growth-tilted profiles raked to both margins."""
    ages = demography.AGES
    # how much each age leans towards growing districts: young working ages most, their
    # children less, the old the other way; a smooth line, so that no pyramid has a step
    h = np.interp(ages, TILT_AGES, TILT_WEIGHTS)
    tilt = np.log(growth) - np.average(np.log(growth), weights=totals)
    seed = base[None, :, :] * np.exp(AGE_TILT * tilt[:, None, None] * h[None, None, :])
    flat = seed.reshape(len(totals), -1)
    col_target = base.reshape(-1)
    for _ in range(200):
        flat *= (totals / flat.sum(axis=1))[:, None]
        flat *= (col_target / np.maximum(flat.sum(axis=0), 1e-12))[None, :]
        if np.abs(flat.sum(axis=1) / totals - 1).max() < 1e-10:
            break
    flat *= (totals / flat.sum(axis=1))[:, None]
    return flat.reshape(seed.shape)


# -- 2010-2025 --------------------------------------------------------------------------
def _timing(ref: reference.CityReference) -> dict[int, float]:
    """Share of the 2010-2020 migration that arrived in each year 2011..2020.

    It follows the published year-end increases; 2020's, inflated by the census re-basing,
    is replaced by the 2017-2019 average. Without a published series: evenly.
    """
    years = range(FIRST + 1, CENSUS + 1)
    if not ref.history:
        return {y: 1 / len(years) for y in years}
    inc = {y: max(ref.history[y] - ref.history[y - 1], 0.0) for y in years}
    inc[CENSUS] = np.mean([inc[2017], inc[2018], inc[2019]])
    total = sum(inc.values())
    return {y: inc[y] / total for y in years}


@dataclass(frozen=True)
class BackRun:
    """Every district run back from 2020 to 2010 with a given migration."""

    pops: dict[int, np.ndarray]     # year -> [district, sex, age], 2010..2020
    births: dict[int, np.ndarray]   # year -> [district], 2011..2020


def back_run(d2020: np.ndarray, ref: reference.CityReference, profile: np.ndarray,
             amount: np.ndarray) -> BackRun:
    """All districts at once: ``amount[district]`` migrants over the decade, spread over the
    years by the published timing and over ages by ``profile[sex, age]``."""
    timing = _timing(ref)
    pops, births = {CENSUS: d2020}, {}
    for y in range(CENSUS, FIRST, -1):
        q = demography.mortality(y, ref.adcode)
        migrants = amount[:, None, None] * timing[y] * profile[None]
        pops[y - 1], births[y] = demography.step_back(pops[y], q, migrants)
    return BackRun(pops, births)


def targets_2010(ref: reference.CityReference, adcodes: np.ndarray) -> np.ndarray | None:
    """Each district's 2010 population: its published share of the 2010 census total."""
    if not (ref.district_share_2010 and ref.population_2010):
        return None
    shares = np.array([ref.district_share_2010[int(a)] for a in adcodes])
    return shares / 100 * ref.population_2010


def solve_migration(d2020: np.ndarray, ref: reference.CityReference, profile: np.ndarray,
                    target: np.ndarray, guess: np.ndarray | None = None) -> np.ndarray:
    """Each district's 2010-2020 net migration that makes its 2010 population ``target``.

    The 2010 population falls as the decade's migration grows, linearly until a cohort
    would be emptied (clipping at zero): secant steps from ``guess`` (or none) and 100,000
    more.
    """
    def total_2010(amount: np.ndarray) -> np.ndarray:
        return back_run(d2020, ref, profile, amount).pops[FIRST].sum(axis=(1, 2))

    a0 = np.zeros(len(target)) if guess is None else guess
    p0 = total_2010(a0)
    if np.abs(p0 / target - 1).max() < 1e-5:
        return a0
    a1 = a0 + 1e5
    p1 = total_2010(a1)
    for _ in range(MAX_SECANT_STEPS):
        slope = np.where(np.abs(p1 - p0) > 1e-9, (p1 - p0) / (a1 - a0 + 1e-12), -1.0)
        a0, p0, a1 = a1, p1, a1 + (target - p1) / slope
        p1 = total_2010(a1)
        if np.abs(p1 / target - 1).max() < 1e-5:
            break
    return a1


def project(d2020: np.ndarray, adcodes: np.ndarray, ref: reference.CityReference,
            totals: np.ndarray, profile: np.ndarray | None = None,
            ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Populations [district, sex, age] for 2010..2025 and events [district, (b, d, m)].

    ``profile[sex, age]`` is the age pattern of net migrants (the standard schedule if
    omitted)."""
    if profile is None:
        profile = demography.migration_profile()
    timing = _timing(ref)
    n = len(adcodes)
    target = targets_2010(ref, adcodes)
    amount = np.zeros(n) if target is None else solve_migration(d2020, ref, profile, target)

    run = back_run(d2020, ref, profile, amount)
    pops, events = dict(run.pops), {}
    for y in range(CENSUS, FIRST, -1):
        q = demography.mortality(y, ref.adcode)
        ev = np.zeros((n, 3))
        for i in range(n):
            # Run the year forward again: births, deaths and the migration the process
            # really applied (clipping at zero can absorb a little of the planned flow).
            prev = pops[y - 1][i]
            fert = run.births[y][i] / max(prev[1].sum(), 1.0)
            again = demography.step_forward(prev, q, np.full(MAX_AGE + 1, fert), 0.0)
            ev[i] = (again.births, again.deaths, pops[y][i].sum() - again.population.sum())
        events[y] = ev

    # forward: the national schedule scaled to reproduce 2020's births, then each published
    # birth rate; later years keep the last scale
    births_2020 = events[CENSUS][:, 0].sum()
    national = (demography.fertility_schedule(demography.tfr_path(CENSUS))
                * pops[CENSUS - 1][:, 1, :]).sum()
    city_factor = births_2020 / national
    recent = np.array([amount * timing[y] for y in range(2016, CENSUS + 1)]).mean(axis=0)
    published = reference.yearend_population(ref.adcode)
    birth_rates = reference.birth_rates(ref.adcode)
    scale = FORWARD_MIGRATION
    for y in range(CENSUS + 1, LAST + 1):
        q = demography.mortality(y, ref.adcode)
        schedule = demography.fertility_schedule(demography.tfr_path(y))
        if y in birth_rates and y in published:
            # a published birth rate sets the year's births (rate x year-end population)
            city_factor = (birth_rates[y] / 1000 * published[y]
                           / (schedule * pops[y - 1][:, 1, :]).sum())
        fert = schedule * city_factor
        natural = [demography.step_forward(pops[y - 1][i], q, fert, 0.0) for i in range(n)]
        if y in published and recent.sum() > 0:
            # the year's migration is whatever closes the gap to the published total
            gap = published[y] - sum(r.population.sum() for r in natural)
            scale = gap / recent.sum()
        pops[y] = np.stack([r.population + scale * recent[i] * profile
                            for i, r in enumerate(natural)])
        events[y] = np.array([(r.births, r.deaths, scale * recent[i])
                              for i, r in enumerate(natural)])
    return pops, events


# -- the migration age schedule ---------------------------------------------------------------
#: The schedule parameters the fit may move, with their bounds. The rest keep their standard
#: values: the child curve's slope, the labour peak's height (only the ratio of the
#: components matters once the schedule is normalised) and its rise.
FITTED = {"child": (0.0, 0.1), "labour_peak": (15.0, 35.0), "labour_decline": (0.02, 0.3),
          "constant": (0.0, 0.02)}
#: Going back to 2010, every district keeps at least this share of each single-year cohort
#: under 70 (at most three in four of its people of an age arrived during the decade)...
MIN_COHORT_KEPT = 0.25
#: ... enforced by a penalty on the shortfalls with this weight against the relative errors
#: of the published figures.
COHORT_WEIGHT = 10.0


@dataclass(frozen=True)
class MigrationFit:
    """The schedule the build used and how well the run back meets the published figures."""

    schedule: demography.MigrationSchedule
    fitted: bool
    shares_2010: dict[str, tuple[float, float]]   # band -> (built, published) percent
    births: dict[int, tuple[float, float]]        # year -> (built, published) persons

    def describe(self) -> str:
        values = ", ".join(f"{f.name} {getattr(self.schedule, f.name):.4g}"
                           for f in fields(self.schedule))
        how = "fitted to the 2010 census age shares and published births" if self.fitted \
            else "standard values (no published 2010 age shares or births)"
        return f"Rogers-Castro, {how}: {values}"

    def describe_shares(self) -> str:
        return "; ".join(f"{k} {b:.2f}% (census {p:.2f}%)"
                         for k, (b, p) in self.shares_2010.items()) or "not published"

    def describe_births(self) -> str:
        return "; ".join(f"{y} {b:,.0f} (published {p:,.0f})"
                         for y, (b, p) in sorted(self.births.items())) or "not published"


def _shares(pop: np.ndarray) -> dict[str, float]:
    """Percent of 0-14, 60+ and 65+ in ``pop[sex, age]``."""
    by_age = pop.sum(axis=0)
    total = by_age.sum()
    return {"0-14": 100 * by_age[:15].sum() / total, "60+": 100 * by_age[60:].sum() / total,
            "65+": 100 * by_age[65:].sum() / total}


def fit_migration_schedule(d2020: np.ndarray, adcodes: np.ndarray,
                           ref: reference.CityReference) -> MigrationFit:
    """The Rogers-Castro schedule whose run back from 2020 best meets the city's 2010 census
    age shares and its published births.

    Least squares on relative errors, all weighted alike, over the sum of the districts,
    each with the migration that gives its 2010 total. A schedule that would all but empty
    a cohort of a fast-growing district in 2010 (a hole in its pyramid) is penalised
    (:data:`MIN_COHORT_KEPT`): the published figures are met only as far as every district
    keeps a plausible pyramid.

    Why: the standard schedule sends many children with their parents. Run back from
    Hangzhou's 2020 census it leaves 2010 with 14.3 % aged 0-14 (census: 11.4 %) and
    2016-2019 with 67-81 thousand births a year (published: 102-115 thousand): the city's
    migrants are mostly young adults, and their children are born here. Without those
    figures (other cities) the standard schedule is kept.
    """
    standard = demography.STANDARD_MIGRATION
    target = targets_2010(ref, adcodes)
    if target is None or not (ref.shares_2010 and ref.births and ref.history):
        return MigrationFit(standard, False, {}, {})
    names = list(FITTED)
    years = sorted(y for y in ref.births if FIRST < y <= CENSUS)

    def schedule(x: np.ndarray) -> demography.MigrationSchedule:
        return replace(standard, **{n: float(v) for n, v in zip(names, x, strict=True)})

    last: list[np.ndarray] = []   # the previous solution: a close start for the next

    def run(s: demography.MigrationSchedule) -> BackRun:
        profile = demography.migration_profile(s)
        amount = solve_migration(d2020, ref, profile, target, last[-1] if last else None)
        last[:] = [amount]
        return back_run(d2020, ref, profile, amount)

    kept_of = d2020.sum(axis=1)[:, CENSUS - FIRST:70 + CENSUS - FIRST]

    def residuals(x: np.ndarray) -> np.ndarray:
        result = run(schedule(x))
        shares = _shares(result.pops[FIRST].sum(axis=0))
        kept = result.pops[FIRST].sum(axis=1)[:, :70] / np.maximum(kept_of, 1.0)
        shortfall = np.clip(MIN_COHORT_KEPT - kept, 0, None)
        return np.array([shares[k] / v - 1 for k, v in ref.shares_2010.items()]
                        + [result.births[y].sum() / ref.births[y] - 1 for y in years]
                        + [COHORT_WEIGHT * np.sqrt((shortfall ** 2).sum())])

    start = np.array([getattr(standard, n) for n in names])
    lower, upper = zip(*FITTED.values(), strict=True)
    best = schedule(least_squares(residuals, start, bounds=(lower, upper), diff_step=1e-3,
                                  xtol=1e-6, ftol=1e-6).x)
    result = run(best)
    shares = _shares(result.pops[FIRST].sum(axis=0))
    return MigrationFit(best, True, {k: (shares[k], v) for k, v in ref.shares_2010.items()},
                        {y: (float(result.births[y].sum()), ref.births[y]) for y in years})


# -- integers ---------------------------------------------------------------------------
def largest_remainder(values: np.ndarray, totals: np.ndarray | None = None) -> np.ndarray:
    """Round each row of ``values`` to integers summing to ``totals`` (default: the rounded
    row sums), giving the leftover units to the largest fractional parts (Hamilton's method).
    """
    values = np.atleast_2d(np.clip(values, 0, None))
    if totals is None:
        totals = np.rint(values.sum(axis=1))
    floor = np.floor(values)
    short = (np.asarray(totals) - floor.sum(axis=1)).astype(np.int64)
    order = np.argsort(-(values - floor), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(values.shape[1])[None, :].repeat(len(values), 0), 1)
    return (floor + (rank < short[:, None])).astype(np.int64)


_round_rows = largest_remainder


def _district_frame(city: int, year: int, adcode: int, counts: np.ndarray) -> pd.DataFrame:
    ages = np.tile(demography.AGES, 2)
    sexes = np.repeat(np.array(demography.SEXES), MAX_AGE + 1)
    return pd.DataFrame({"city_adcode": city, "year": year, "district_adcode": adcode,
                         "age": ages.astype(np.int16), "sex": sexes,
                         "persons": counts.reshape(-1).astype(np.int32)})


# -- cells ------------------------------------------------------------------------------
GROUP_NAMES = list(AGE_GROUPS)


def _group_factors(old_core: np.ndarray, newness: np.ndarray, rural: np.ndarray) -> np.ndarray:
    """[group, cell] relative propensity of each service age group to live in each cell."""
    rows = []
    for name in GROUP_NAMES:
        lo, _ = AGE_GROUPS[name]
        if lo < 15:
            f = 1 + 0.5 * newness - 0.2 * old_core
        elif lo < 18:
            f = np.ones_like(newness)
        elif lo < 60:
            f = 1 + 0.3 * newness
        elif lo < 80:
            f = 1 + 0.6 * old_core + 0.3 * rural
        else:
            f = 1 + 0.9 * old_core + 0.3 * rural
        rows.append(f)
    return np.array(rows)


def allocate_cells(ctx: BuildContext, integer: dict[int, np.ndarray], adcodes: np.ndarray,
                   keep: np.ndarray, growth: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    grid = ctx.work["grid"]
    city = ctx.config.city_adcode
    years = sorted(integer)
    group_of_age = np.array([GROUP_NAMES.index(_group(a)) for a in demography.AGES])
    cell_frames, pop_frames = [], []
    for i in np.flatnonzero(keep):
        adcode = int(adcodes[i])
        g = grid[grid["district_adcode"] == adcode]
        w = g["density_weight"].to_numpy()
        total_2020 = integer[CENSUS][i].sum() if CENSUS in integer else integer[years[0]][i].sum()
        expected = total_2020 * w / w.sum()
        populated = expected >= MIN_PERSONS_PER_CELL
        if populated.sum() < 1:
            populated = expected >= expected.max()
        g = g[populated]
        w = w[populated]
        density = total_2020 * w / w.sum() / KM2_PER_CELL
        urbanity = np.clip(np.log10(np.maximum(density, 1) / 300) / 2.0, 0, 1)
        old_core = np.exp(-g["d_city_km"].to_numpy() / 5.0)
        newness = urbanity * (1 - old_core)
        factors = _group_factors(old_core, newness, 1 - urbanity) * w[None, :]
        gamma = max(np.log(growth[i]), 0.0) / 10 * 1.5
        # [year, group, sex] totals from the single-age table
        t = np.zeros((len(years), len(GROUP_NAMES), 2))
        for k, y in enumerate(years):
            for s in range(2):
                t[k, :, s] = np.bincount(group_of_age, weights=integer[y][i][s],
                                         minlength=len(GROUP_NAMES))
        weights = factors[None, :, :] * np.exp(
            gamma * newness[None, :] * (np.array(years)[:, None] - CENSUS))[:, None, :]
        weights /= weights.sum(axis=2, keepdims=True)
        expected_cells = t[:, :, :, None] * weights[:, :, None, :]  # [year, group, sex, cell]
        flat = expected_cells.reshape(-1, len(g))
        counts = largest_remainder(flat, np.rint(t.reshape(-1))).reshape(expected_cells.shape)
        yy, gg, ss, cc = np.nonzero(counts)
        cells_u64 = g["cell"].to_numpy(dtype=np.uint64)
        pop_frames.append(pd.DataFrame({
            "city_adcode": np.int32(city),
            "year": np.array(years, dtype=np.int16)[yy],
            "cell": cells_u64[cc],
            "district_adcode": np.int32(adcode),
            "age_group": pd.Categorical.from_codes(gg, GROUP_NAMES),
            "sex": pd.Categorical.from_codes(ss, list(demography.SEXES)),
            "persons": counts[yy, gg, ss, cc].astype(np.int32),
        }))
        cell_frames.append(pd.DataFrame({
            "city_adcode": city, "cell": cells_u64, "h3": g["h3"].to_numpy(),
            "district_adcode": adcode, "lon": g["lon"].to_numpy(), "lat": g["lat"].to_numpy(),
            "urbanity": urbanity.round(4)}))
    cells = pd.concat(cell_frames, ignore_index=True)
    pop = pd.concat(pop_frames, ignore_index=True)
    ctx.progress(f"[population] {len(cells):,} populated cells, {len(pop):,} cell rows")
    return cells, pop


def _group(age: int) -> str:
    for name, (lo, hi) in AGE_GROUPS.items():
        if lo <= age <= hi:
            return name
    raise ValueError(age)

"""Build stage: the facilities that serve the elderly, the children and everyone's health.

For each facility type of :data:`analytics.standards.FACILITY_TYPES` and each district, the
capacity a district provides in a year follows the standard's service ratio applied to the
residents it serves, times a provision path (how far the city had got towards the standard
that year), times a district factor: a +/- jitter for every district, and the documented
imbalances planners meet (fast-growing districts whose school places follow their children
with a lag, old-town cores short of care-home beds). Capacity divided by a typical facility
size gives the number of facilities open each year; real counts (``hangzhou_facility_anchors
.csv``) override the model in the years and places they cover. Facilities then open and
close so that exactly that many are open each year, in cells drawn by the population they
serve in the year they open; the stock of the first year has opening years before it.
School places follow pupils (the standard's place per child times the city's pupils per
child, from its pupil count).

Randomness comes from the build's "facilities" streams, one per district, type and purpose
(``ctx.rng("facilities/<adcode>/<type>/<purpose>")``): a district comes out the same whichever
other districts are built with it, except for the counts matched city-wide.

Every ratio beyond the standards is in ``data/reference/facility_assumptions.csv`` with its
source or its reasoning. A facility counts as open in year ``y`` when
``opened_year <= y`` and (``closed_year`` is NULL or ``closed_year > y``): ``closed_year``
is the first year it no longer runs. ``occupancy_rate`` is the share of capacity in use in
the build's last year, set for care homes, kindergartens and schools (NULL otherwise and for
closed facilities). Names are synthetic (district + a generated place + ordinal + kind).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import h3.api.basic_int as h3_int
import numpy as np
import pandas as pd

from analytics.errors import CityBrainError
from analytics.geo import city
from analytics.population import AGE_GROUPS, SERVICE_GROUPS
from analytics.settings import settings
from analytics.standards import FACILITY_TYPES, NURSERY_PLACES_PER_RESIDENT

REFERENCE_DIR = settings().reference_dir
#: ``streams(adcode, type, purpose)``: the random generator of one district, type and purpose.
Streams = Callable[..., np.random.Generator]
ASSUMPTIONS_FILE = "facility_assumptions.csv"
ANCHORS_FILE = "hangzhou_facility_anchors.csv"

COLUMNS = ["city_adcode", "facility_id", "type", "name", "district_adcode", "cell", "lon",
           "lat", "capacity", "capacity_unit", "opened_year", "closed_year", "occupancy_rate",
           "owner_department"]

#: Short codes in facility ids (``PS-330182-0007``).
TYPE_CODES = {"elderly_care_home": "ECH", "elderly_day_care": "EDC",
              "community_health_centre": "CHC", "hospital": "HOS", "nursery": "NUR",
              "kindergarten": "KG", "primary_school": "PS", "junior_middle_school": "JMS"}

#: What each anchor item of the reference file fixes: (facility type, count | capacity |
#: pupils).
ANCHOR_ITEMS = {
    "primary schools": ("primary_school", "count"),
    "junior middle schools": ("junior_middle_school", "count"),
    "kindergartens": ("kindergarten", "count"),
    "elderly-care institutions": ("elderly_care_home", "count"),
    "elderly-care institution beds": ("elderly_care_home", "capacity"),
    "primary school pupils": ("primary_school", "pupils"),
}

#: Types whose every district keeps at least one facility while anyone it serves lives there.
ALWAYS_ONE = {"elderly_care_home", "community_health_centre", "hospital", "kindergarten",
              "primary_school", "junior_middle_school"}
SCHOOL_TYPES = ("primary_school", "junior_middle_school")
#: Types with a known occupancy: resident or pupil counts are published for them.
OCCUPANCY_TYPES = ("elderly_care_home", "kindergarten", "primary_school",
                   "junior_middle_school")

#: Types named after the community they serve rather than the sub-district.
COMMUNITY_TYPES = ("elderly_day_care", "nursery")
#: Characters of the synthetic place words (common in Chinese place names; no real names).
_PLACE_CHARS = tuple(dict.fromkeys(
    "文 新 翠 苑 东 西 南 北 湖 山 桥 塘 溪 江 兴 和 平 安 华 明 清 云 松 竹 梅 兰 "
    "桂 枫 柳 杨 石 泉 河 港 浦 湾 沙 林 田 丰 乐 康 宁 泰 福 庆 昌 盛 永 长 瑞 "
    "金 银 玉 锦 绣 春 秋 晨 阳 霞 虹 星 月 凤 龙 鹤 鹿 仁 义 德 信 睦 崇 贤 "
    "良 渚 临 望 潮 钱 富 青 白 紫 荷 莲 芳 蓉 樟 桐 柏 槐".split()))
_NUMERALS = "零一二三四五六七八九"


# -- reference figures ----------------------------------------------------------------------
def _read(name: str) -> pd.DataFrame:
    path = REFERENCE_DIR / name
    if not path.exists():
        raise CityBrainError(f"reference file {path} is missing; restore it from the repository")
    return pd.read_csv(path)


class Assumptions:
    """The documented ratios of ``facility_assumptions.csv``, looked up by name.

    A row with an ``adcode`` (a district's, or a city's) applies there only and overrides the
    row without one.
    """

    def __init__(self, frame: pd.DataFrame):
        missing = {"parameter", "facility_type", "adcode", "value", "source"} - set(frame)
        if missing:
            raise CityBrainError(f"{ASSUMPTIONS_FILE} lacks column(s) {', '.join(sorted(missing))}")
        frame = frame.fillna({"facility_type": ""})
        values = pd.to_numeric(frame["value"], errors="coerce")
        if values.isna().any():
            row = int(values.isna().to_numpy().argmax()) + 2
            raise CityBrainError(f"{ASSUMPTIONS_FILE} row {row}: value is not a number")
        districts = pd.to_numeric(frame["adcode"], errors="coerce")
        self.values: dict[tuple[str, str, int | None], float] = {
            (str(p), str(t), None if d != d else int(d)): float(v)
            for p, t, d, v in zip(frame["parameter"], frame["facility_type"], districts, values,
                                  strict=True)}

    @classmethod
    def load(cls) -> Assumptions:
        return cls(_read(ASSUMPTIONS_FILE))

    def get(self, parameter: str, ftype: str = "", district: int | None = None,
            default: float | None = None) -> float:
        """The district's value if it has one, else ``default`` if given, else the type's."""
        if district is not None:
            value = self.values.get((parameter, ftype, district))
            if value is not None:
                return value
            if default is not None:
                return default
        value = self.values.get((parameter, ftype, None))
        if value is None:
            if default is not None:
                return default
            raise CityBrainError(f"{ASSUMPTIONS_FILE} has no row for parameter {parameter!r}"
                                 f"{' of ' + ftype if ftype else ''}; add it with its source")
        return value


@dataclass(frozen=True)
class Anchor:
    scope: str          # the place name in the reference file
    adcode: int         # the city's or the district's adcode
    citywide: bool
    year: int
    ftype: str
    measure: str        # count | capacity | pupils
    value: int

    def label(self) -> str:
        return f"{self.scope} {self.year} {self.ftype} {self.measure}={self.value}"


def anchors_for(city_adcode: int, city_name: str, districts: pd.DataFrame,
                years: list[int], whole_city: bool) -> tuple[list[Anchor], list[str]]:
    """The real counts that apply to this build, and the ones skipped with the reason."""
    if city_adcode != 330100:
        return [], []
    frame = _read(ANCHORS_FILE)
    by_name = dict(zip(districts["name"], districts["adcode"].astype(int), strict=True))
    applied: list[Anchor] = []
    skipped: list[str] = []
    for row in frame.itertuples(index=False):
        item = ANCHOR_ITEMS.get(str(row.item))
        label = f"{row.scope} {row.year} {row.item}={row.value}"
        if item is None:
            skipped.append(f"{label} (item not modelled)")
            continue
        year = int(row.year)
        citywide = row.scope == city_name
        if year not in years:
            skipped.append(f"{label} (year outside the build)")
        elif citywide and not whole_city:
            skipped.append(f"{label} (a district subset is built)")
        elif not citywide and row.scope not in by_name:
            skipped.append(f"{label} (district not in the build)")
        else:
            adcode = city_adcode if citywide else by_name[row.scope]
            applied.append(Anchor(str(row.scope), adcode, citywide, year, item[0], item[1],
                                  int(row.value)))
    return applied, skipped


# -- the stage --------------------------------------------------------------------------------
def stage(ctx) -> None:
    """Add ``ctx.tables["facilities"]``; say which real counts were matched in ``ctx.meta``."""
    cfg = ctx.config
    for name in ("districts", "cells", "population_cells"):
        if name not in ctx.tables:
            raise CityBrainError(f"the facilities stage needs the {name} table; run the "
                                 "population stage first")
    districts = ctx.tables["districts"]
    city_name = str(ctx.meta.get("city_name") or _city_name(cfg.city_adcode))
    anchors, skipped = anchors_for(cfg.city_adcode, city_name, districts, cfg.years,
                                   whole_city=not cfg.districts)
    frame = generate(districts, ctx.tables["cells"], ctx.tables["population_cells"],
                     cfg.years, cfg.city_adcode, Assumptions.load(), anchors,
                     lambda *key: ctx.rng("facilities/" + "/".join(map(str, key))))
    ctx.tables["facilities"] = frame
    ctx.meta["facility_anchors"] = "; ".join(a.label() for a in anchors) or "none"
    ctx.meta["facility_anchors_skipped"] = "; ".join(skipped) or "none"
    ctx.progress(f"[facilities] {len(frame):,} facilities; anchors applied: {len(anchors)}, "
                 f"skipped: {len(skipped)}")


def _city_name(adcode: int) -> str:
    return city(adcode).name


# -- population arrays ------------------------------------------------------------------------
@dataclass
class _Grid:
    """Residents as dense arrays: years x cells x age groups, and the cells' districts."""

    years: np.ndarray           # (Y,)
    cells: np.ndarray           # (C,) uint64, sorted
    lon: np.ndarray
    lat: np.ndarray
    urbanity: np.ndarray
    district_idx: np.ndarray    # (C,) index into adcodes
    adcodes: np.ndarray         # (D,)
    persons: np.ndarray         # (Y, C, B) float32: residents by service band (BANDS)

    def served(self, ftype: str, *, demand: bool = False) -> np.ndarray:
        """Residents a type serves, by year and cell (Y, C).

        With ``demand``, the residents its service ratio is stated on: nurseries serve the
        0-2s but the standard counts their places per resident (4.5 per 1,000).
        """
        serves = ("all",) if demand and ftype == "nursery" else FACILITY_TYPES[ftype].serves
        if serves == ("all",):
            return self.persons.sum(axis=2, dtype=np.float64)
        idx = [BANDS.index(s) for s in serves]
        return self.persons[:, :, idx].sum(axis=2, dtype=np.float64)

    def by_district(self, per_cell: np.ndarray) -> np.ndarray:
        """(Y, C) -> (Y, D) sums."""
        n_y, n_c = per_cell.shape
        flat = (np.arange(n_y)[:, None] * len(self.adcodes) + self.district_idx[None, :]).ravel()
        return np.bincount(flat, weights=per_cell.ravel(),
                           minlength=n_y * len(self.adcodes)).reshape(n_y, len(self.adcodes))


#: The disjoint bands the types serve (the last one: everyone else).
BANDS = ["60+", "0-2", "3-5", "6-11", "12-14", "other"]


def _band_of_group() -> np.ndarray:
    """For each cell age group (AGE_GROUPS order), its index in BANDS."""
    out = []
    for group in AGE_GROUPS:
        band = next((b for b in BANDS[:-1] if group in SERVICE_GROUPS[b]), "other")
        out.append(BANDS.index(band))
    return np.array(out)


def _index_of(sorted_ids: np.ndarray, values: np.ndarray, what: str) -> np.ndarray:
    """Positions of ``values`` in ``sorted_ids``; runs of equal values are looked up once
    (population rows come in blocks of one cell), which makes this fast on tens of millions."""
    if values.size == 0:
        return values.astype(np.int64)
    change = np.empty(values.size, dtype=bool)
    change[0] = True
    np.not_equal(values[1:], values[:-1], out=change[1:])
    heads = np.flatnonzero(change)
    found = np.searchsorted(sorted_ids, values[heads])
    bad = (found >= len(sorted_ids)) | (sorted_ids[np.minimum(found, len(sorted_ids) - 1)]
                                        != values[heads])
    if bad.any():
        raise CityBrainError(f"{what}: {values[heads][bad][0]} is not in the table it refers to; "
                             "rebuild the store")
    return np.repeat(found, np.diff(np.append(heads, values.size)))


def _grid(districts: pd.DataFrame, cells: pd.DataFrame, population: pd.DataFrame,
          years: list[int]) -> _Grid:
    cells = cells.sort_values("cell")
    cell_ids = cells["cell"].to_numpy(dtype=np.uint64)
    adcodes = np.sort(districts["adcode"].to_numpy(dtype=np.int64))
    d_idx = _index_of(adcodes, cells["district_adcode"].to_numpy(dtype=np.int64),
                      "cells.district_adcode")
    ci = _index_of(cell_ids, population["cell"].to_numpy(dtype=np.uint64),
                   "population_cells.cell")
    yi = population["year"].to_numpy(dtype=np.int64) - years[0]
    if yi.size and (yi.min() < 0 or yi.max() >= len(years)):
        raise CityBrainError(f"population_cells has years outside {years[0]}-{years[-1]}")
    groups = population["age_group"]
    groups = groups.array if isinstance(groups.dtype, pd.CategoricalDtype) else \
        pd.Categorical(groups)
    try:
        lookup = np.array([list(AGE_GROUPS).index(str(c)) for c in groups.categories],
                          dtype=np.int64)
    except ValueError:
        raise CityBrainError("population_cells has an age group outside "
                             f"{', '.join(AGE_GROUPS)}") from None
    band = _band_of_group()[lookup][np.asarray(groups.codes)]
    n_b = len(BANDS)
    flat = (yi * len(cell_ids) + ci) * n_b + band
    persons = np.bincount(flat, weights=population["persons"].to_numpy(dtype=np.float64),
                          minlength=len(years) * len(cell_ids) * n_b)
    return _Grid(np.asarray(years), cell_ids, cells["lon"].to_numpy(float),
                 cells["lat"].to_numpy(float), cells["urbanity"].to_numpy(float), d_idx,
                 adcodes, persons.astype(np.float32).reshape(len(years), len(cell_ids), n_b))


# -- how many open, year by year ----------------------------------------------------------------
def _provision(a: Assumptions, ftype: str, years: np.ndarray) -> np.ndarray:
    """The city's provision path: share of the standard met, linear from 2010 to 2025."""
    start, end = a.get("provision_start", ftype), a.get("provision_end", ftype)
    t = np.clip((years - 2010) / 15, 0, 1)
    return start + (end - start) * t


def _ratio(ftype: str) -> float:
    t = FACILITY_TYPES[ftype]
    if ftype == "nursery":
        return NURSERY_PLACES_PER_RESIDENT
    if t.per_person is None:
        return 1.0  # health centres: the size is in residents per centre
    return t.per_person


def _targets(grid: _Grid, a: Assumptions, ftype: str, streams: Streams,
             urbanity_d: np.ndarray, pupils_per_child: float) -> tuple[np.ndarray, np.ndarray]:
    """Capacity the districts provide each year (Y, D) and the typical facility size (D,).

    School places follow pupils: the standard's one place per child is applied to the
    children of school age times the pupils per child (pupils include children registered
    elsewhere), where the city has a pupil count.
    """
    base = grid.by_district(grid.served(ftype, demand=True)) * pupils_per_child
    n_y = len(grid.years)
    jitter = a.get("supply_jitter")
    target = np.zeros_like(base)
    provision = _provision(a, ftype, grid.years)
    for d, adcode in enumerate(grid.adcodes):
        # a documented imbalance replaces the jitter: it is the district's known position
        draw = 1 + streams(int(adcode), ftype, "supply").uniform(-jitter, jitter)
        factor = a.get("supply_factor", ftype, int(adcode), default=draw)
        lag = int(a.get("supply_lag", ftype, int(adcode), default=0))
        lagged = base[np.clip(np.arange(n_y) - lag, 0, n_y - 1), d]
        target[:, d] = _ratio(ftype) * lagged * provision * factor
    size = a.get("size_rural", ftype) + (a.get("size_urban", ftype)
                                         - a.get("size_rural", ftype)) * urbanity_d
    return target, size


def _spread(values: np.ndarray, total: int, floor: np.ndarray | None = None) -> np.ndarray:
    """Integers summing exactly to ``total``, proportional to ``values`` (largest remainder)."""
    values = np.asarray(values, dtype=float)
    if values.sum() <= 0:
        out = np.zeros(len(values), dtype=np.int64)
        if total:
            out[0] = total
        return out
    exact = values * total / values.sum()
    out = np.floor(exact).astype(np.int64)
    if floor is not None:
        out = np.maximum(out, floor)
    rest = total - out.sum()
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    if rest > 0:
        out[order[:rest]] += 1
    elif rest < 0:  # the floors took too much: take back from the largest
        for i in np.argsort(-out, kind="stable"):
            take = min(-rest, out[i] - (floor[i] if floor is not None else 0))
            out[i] -= take
            rest += take
            if rest == 0:
                break
    return out


def _anchored_counts(n: np.ndarray, years: np.ndarray, adcodes: np.ndarray,
                     anchors: list[Anchor], minimum: np.ndarray) -> np.ndarray:
    """Round model counts (Y, D) to integers, meeting every count anchor exactly.

    A district anchor rescales that district's whole series (so the years around the anchor
    stay smooth); a city anchor rescales the other districts with a factor interpolated
    between anchor years, then a largest-remainder split makes the anchor year's sum exact.
    """
    n = n.copy()
    fixed: dict[int, dict[int, int]] = {}  # year -> {district index: count}
    district_anchors = [x for x in anchors if not x.citywide]
    for d, adcode in enumerate(adcodes):
        mine = sorted((x.year, x.value) for x in district_anchors if x.adcode == adcode)
        if not mine:
            continue
        ys = [y for y, _ in mine]
        factors = [v / max(n[int(y - years[0]), d], 1e-9) for y, v in mine]
        n[:, d] *= np.interp(years, ys, factors)
        for y, v in mine:
            fixed.setdefault(y, {})[d] = v
    city = sorted((x.year, x.value) for x in anchors if x.citywide)
    anchored = np.isin(adcodes, [x.adcode for x in district_anchors])
    free = ~anchored

    def anchored_sum(yi: int) -> int:
        year = int(years[yi])
        return int(sum(fixed.get(year, {}).get(d, max(int(np.rint(n[yi, d])), minimum[d]))
                       for d in np.flatnonzero(anchored)))

    if city:
        ks = []
        for y, v in city:
            yi = y - years[0]
            rest = v - anchored_sum(yi)
            if rest < minimum[free].sum():
                raise CityBrainError(f"facility anchor {v} in {y} is below the minimum the "
                                     "districts need; check hangzhou_facility_anchors.csv")
            ks.append(rest / max(n[yi, free].sum(), 1e-9))
        n[:, free] *= np.interp(years, [y for y, _ in city], ks)[:, None]
    counts = np.maximum(np.rint(n).astype(np.int64), minimum[None, :])
    for y, ds in fixed.items():
        for d, v in ds.items():
            counts[y - years[0], d] = v
    for y, v in city:
        yi = y - years[0]
        counts[yi, free] = _spread(n[yi, free], v - anchored_sum(yi), floor=minimum[free])
    return counts


# -- facilities -----------------------------------------------------------------------------------
def _ordinal(k: int) -> str:
    """1 -> '' (the first of its kind carries no number), 2 -> 第二, 12 -> 第十二, 23 -> 第二十三."""
    if k <= 1:
        return ""
    return "第" + _chinese_number(k)


def _chinese_number(k: int) -> str:
    if k < 10:
        return _NUMERALS[k]
    if k < 100:
        tens, ones = divmod(k, 10)
        return ("" if tens == 1 else _NUMERALS[tens]) + "十" + (_NUMERALS[ones] if ones else "")
    hundreds, rest = divmod(k, 100)
    tail = "" if rest == 0 else (("零" if rest < 10 else "") +
                                 (_NUMERALS[rest] if rest < 10 else
                                  ("一" if rest < 20 else "") + _chinese_number(rest)))
    return _chinese_number(hundreds) + "百" + tail


_KIND_WORDS = {
    "elderly_care_home": ("养老院", "敬老院"),
    "elderly_day_care": ("居家养老服务照料中心", "居家养老服务照料中心"),
    "community_health_centre": ("社区卫生服务中心", "卫生院"),
    "hospital": ("医院", "医院"),
    "nursery": ("托育园", "托育园"),
    "kindergarten": ("幼儿园", "幼儿园"),
    "primary_school": ("小学", "小学"),
    "junior_middle_school": ("初级中学", "初级中学"),
}


def _parents(cells: np.ndarray, res: int) -> np.ndarray:
    """H3 parents at ``res`` of cells given as integers."""
    return np.fromiter((h3_int.cell_to_parent(int(c), res) for c in cells), dtype=np.uint64,
                       count=len(cells))


def _draw_words(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` different two-character place words (repeats only past the 9,000-odd pairs)."""
    chars = _PLACE_CHARS
    total = len(chars) * (len(chars) - 1)
    k = rng.choice(total, n, replace=n > total)
    first, second = np.divmod(k, len(chars) - 1)
    second = second + (second >= first)
    return np.array([chars[a] + chars[b] for a, b in zip(first, second, strict=True)],
                    dtype=object)


class _Namer:
    """Synthetic place names: a sub-district (街道, or town 镇 where rural) per res-7 H3 area
    (about 5 km²) and a community (社区, or village 村) per res-8 area. Every area of a
    district is named up front in a fixed order, so a district's names do not depend on which
    facilities or other districts are built."""

    def __init__(self, streams: Streams, district_names: dict[int, str], grid: _Grid):
        self.district_names = district_names
        self.sequence: dict[tuple[int, str, str], int] = {}
        n = len(grid.cells)
        self.place = np.empty(n, dtype=object)
        self.urban = np.zeros(n, dtype=bool)
        self.community = np.empty(n, dtype=object)
        p7, p8 = _parents(grid.cells, 7), _parents(grid.cells, 8)
        for d, adcode in enumerate(grid.adcodes):
            idx = np.flatnonzero(grid.district_idx == d)
            if idx.size == 0:
                continue
            u7, inv7 = np.unique(p7[idx], return_inverse=True)
            u8, inv8 = np.unique(p8[idx], return_inverse=True)
            words = _draw_words(streams(int(adcode), "", "names"), len(u7) + len(u8))
            urbanity = np.bincount(inv7, weights=grid.urbanity[idx]) / np.bincount(inv7)
            self.place[idx] = words[: len(u7)][inv7]
            self.urban[idx] = (urbanity >= 0.45)[inv7]
            self.community[idx] = words[len(u7):][inv8]

    def name(self, ftype: str, adcode: int, ci: int) -> str:
        word, urban = self.place[ci], bool(self.urban[ci])
        suffix = "街道" if urban else "镇"
        kind = _KIND_WORDS[ftype][0 if urban else 1]
        if ftype in COMMUNITY_TYPES:  # day-care centres and nurseries serve a community
            suffix += self.community[ci] + ("社区" if urban else "村")
        seq_key = (adcode, word + suffix, ftype)
        self.sequence[seq_key] = self.sequence.get(seq_key, 0) + 1
        return f"{self.district_names[adcode]}{word}{suffix}{_ordinal(self.sequence[seq_key])}{kind}"


def _capacities(n: int, missing: float, typical: float, sigma: float, step: float,
                minimum: float, counted: bool, rng: np.random.Generator) -> np.ndarray:
    """Capacities of ``n`` new facilities that together close the gap to the target.

    Openings track growth: the new facilities share what the district lacks (each a little
    larger or smaller, rounded to whole classes or tens of beds); when it lacks nothing (a
    facility opens to follow the count), they take half the typical size.
    """
    if not counted:
        return np.zeros(n, dtype=np.int64)
    mean = max(missing / n, 0.5 * typical)
    noise = rng.lognormal(-sigma ** 2 / 2, sigma, n)
    raw = mean * n * noise / noise.sum()
    return np.maximum(np.rint(raw / step) * step, minimum).astype(np.int64)


def generate(districts: pd.DataFrame, cells: pd.DataFrame, population: pd.DataFrame,
             years: list[int], city_adcode: int, assumptions: Assumptions,
             anchors: list[Anchor], streams: Streams) -> pd.DataFrame:
    """The facilities table for these residents (see the module docstring).

    ``streams(adcode, type, purpose)`` gives the random generator of one district, type and
    purpose, so a district comes out the same whichever other districts are built with it
    (except where a city-wide count is matched).
    """
    grid = _grid(districts, cells, population, years)
    yrs = grid.years
    n_y, n_d = len(yrs), len(grid.adcodes)
    names = dict(zip(districts["adcode"].astype(int), districts["name"], strict=True))
    namer = _Namer(streams, names, grid)
    total = grid.persons.sum(axis=2)
    total_d = grid.by_district(total)
    mid = min(max(2020 - yrs[0], 0), n_y - 1)
    urb_d = np.bincount(grid.district_idx, weights=total[mid] * grid.urbanity, minlength=n_d) \
        / np.maximum(total_d[mid], 1)
    rows: list[dict] = []
    district_cells = [np.flatnonzero(grid.district_idx == d) for d in range(n_d)]
    for ftype, spec in FACILITY_TYPES.items():
        a = assumptions
        served = grid.served(ftype)
        served_d = grid.by_district(served)
        pupils = _enrolment_rate(ftype, grid, yrs, anchors, a, city_adcode) \
            if ftype in SCHOOL_TYPES else 1.0
        target, size = _targets(grid, a, ftype, streams, urb_d, pupils)
        n = target / size[None, :]
        # a real capacity puts the district on its own path: scale the whole series to it
        for x in anchors:
            if x.ftype == ftype and x.measure == "capacity" and not x.citywide:
                d = int(np.searchsorted(grid.adcodes, x.adcode))
                target[:, d] *= x.value / max(target[x.year - yrs[0], d], 1e-9)
        minimum = np.where((served_d.min(axis=0) > 0) & (ftype in ALWAYS_ONE), 1, 0)
        mine = [x for x in anchors if x.ftype == ftype and x.measure == "count"]
        counts = _anchored_counts(n, yrs, grid.adcodes, mine, minimum)
        # the typical capacity that makes the open stock deliver the target capacity
        with np.errstate(invalid="ignore", divide="ignore"):
            eff = np.where(counts.sum(axis=0) > 0, target.sum(axis=0)
                           / np.maximum(counts.sum(axis=0), 1), size)
        step, cap_min = a.get("capacity_step", ftype), a.get("min_capacity", ftype)
        sigma, closure = a.get("size_sigma", ftype), a.get("closure_rate", ftype)
        stock_from = int(a.get("stock_from", ftype))
        counted = spec.capacity_unit != "none"
        for d in range(n_d):
            adcode = int(grid.adcodes[d])
            in_d = district_cells[d]
            rng = streams(adcode, ftype, "events")
            served_here = served[:, in_d]  # (Y, cells of the district)
            occupied = np.zeros(len(in_d))
            open_rows: list[dict] = []
            for yi, year in enumerate(yrs):
                want = int(counts[yi, d])
                close = 0
                if yi > 0:
                    have = len(open_rows)
                    close = int(rng.binomial(have, closure)) if have else 0
                    close = min(max(close, have - want), have)
                    if close:
                        local = served_here[yi, [r["_li"] for r in open_rows]]
                        age = np.array([year - r["opened_year"] for r in open_rows])
                        w = (1.0 / (1.0 + local / max(local.mean(), 1e-9))) * \
                            np.where(age >= 5, 1.0, 0.05)
                        gone = rng.choice(len(open_rows), close, replace=False, p=w / w.sum())
                        for i in sorted(gone, reverse=True):
                            r = open_rows.pop(int(i))
                            r["closed_year"] = int(year)
                            occupied[r["_li"]] -= 1
                n_open = want - len(open_rows)
                if n_open <= 0:
                    continue
                weights = served_here[yi] * (0.15 ** occupied)
                if weights.sum() <= 0:
                    continue
                nz = int((weights > 0).sum())
                picks = rng.choice(len(in_d), n_open, replace=n_open > nz,
                                   p=weights / weights.sum())
                caps = _capacities(n_open, target[yi, d] - sum(r["capacity"] for r in open_rows),
                                   eff[d], sigma, step, cap_min, counted, rng)
                opened = rng.integers(stock_from, int(year) + 1, n_open) if yi == 0 else \
                    np.full(n_open, int(year))
                for li, cap, op in zip(picks, caps, opened, strict=True):
                    ci = int(in_d[li])
                    occupied[li] += 1
                    r = {"type": ftype, "district_adcode": adcode, "cell": grid.cells[ci],
                         "_ci": ci, "_li": int(li), "capacity": int(cap),
                         "opened_year": int(op), "closed_year": None}
                    open_rows.append(r)
                    rows.append(r)
    frame = _finish(rows, grid, yrs, city_adcode, anchors, assumptions, namer, streams)
    return frame


def _finish(rows: list[dict], grid: _Grid, yrs: np.ndarray, city_adcode: int,
            anchors: list[Anchor], a: Assumptions, namer: _Namer,
            streams: Streams) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    ci = frame["_ci"].to_numpy()
    closed = frame["closed_year"].astype("Float64")
    frame["closed_year"] = closed.astype("Int16")
    _apply_capacity_anchors(frame, anchors)
    # ids and names in a stable order: type, district, opening year, generation order
    frame["_order"] = np.arange(len(frame))
    frame = frame.sort_values(["type", "district_adcode", "opened_year", "_order"],
                              kind="stable").reset_index(drop=True)
    ci = frame["_ci"].to_numpy()
    seq = frame.groupby(["type", "district_adcode"]).cumcount() + 1
    frame["facility_id"] = [f"{TYPE_CODES[t]}-{d}-{s:04d}" for t, d, s in
                            zip(frame["type"], frame["district_adcode"], seq, strict=True)]
    frame["name"] = [namer.name(t, int(d), int(c)) for t, d, c in
                     zip(frame["type"], frame["district_adcode"], ci, strict=True)]
    # a point inside the cell: up to 80 m from its centre (the cell's inner radius is ~150 m)
    r, theta = np.zeros(len(frame)), np.zeros(len(frame))
    for (ftype, adcode), idx in frame.groupby(["type", "district_adcode"]).indices.items():
        rng = streams(int(adcode), ftype, "points")
        r[idx] = 80 * np.sqrt(rng.random(len(idx)))
        theta[idx] = rng.random(len(idx)) * 2 * np.pi
    lat0 = grid.lat[ci]
    frame["lat"] = lat0 + r * np.cos(theta) / 111_320
    frame["lon"] = grid.lon[ci] + r * np.sin(theta) / (111_320 * np.cos(np.radians(lat0)))
    frame["capacity_unit"] = frame["type"].map(lambda t: FACILITY_TYPES[t].capacity_unit)
    frame["owner_department"] = frame["type"].map(lambda t: FACILITY_TYPES[t].department)
    frame.loc[frame["capacity_unit"] == "none", "capacity"] = 0
    frame["occupancy_rate"] = _occupancy(frame, grid, yrs, anchors, a, streams, city_adcode)
    frame["city_adcode"] = city_adcode
    out = frame[COLUMNS].copy()
    out = out.astype({"city_adcode": "int32", "district_adcode": "int32", "cell": "uint64",
                      "capacity": "int32", "opened_year": "int16"})
    return out.sort_values("facility_id", kind="stable").reset_index(drop=True)


def _open_in(frame: pd.DataFrame, year: int) -> np.ndarray:
    closed = frame["closed_year"]
    return ((frame["opened_year"] <= year) & (closed.isna() | (closed > year))).to_numpy(bool)


def _apply_capacity_anchors(frame: pd.DataFrame, anchors: list[Anchor]) -> None:
    """Rescale the capacities open in an anchor year so they sum exactly to the anchor."""
    for x in anchors:
        if x.measure != "capacity":
            continue
        mask = _open_in(frame, x.year) & (frame["type"] == x.ftype).to_numpy()
        if not x.citywide:
            mask &= (frame["district_adcode"] == x.adcode).to_numpy()
        if not mask.any():
            raise CityBrainError(f"anchor {x.label()}: no such facility is open that year")
        frame.loc[mask, "capacity"] = _spread(frame.loc[mask, "capacity"].to_numpy(float),
                                              x.value)


def _occupancy(frame: pd.DataFrame, grid: _Grid, yrs: np.ndarray, anchors: list[Anchor],
               a: Assumptions, streams: Streams, city_adcode: int) -> pd.Series:
    """Share of capacity in use in the last year: the district's users spread over its open
    facilities (each a little above or below the district's rate), capped at a full house."""
    out = np.full(len(frame), np.nan)
    is_open = _open_in(frame, int(yrs[-1]))
    types = frame["type"].to_numpy()
    districts = frame["district_adcode"].to_numpy(np.int64)
    capacity = frame["capacity"].to_numpy(float)
    total = grid.persons[-1].sum(axis=1)
    for ftype in OCCUPANCY_TYPES:
        users = grid.by_district(grid.served(ftype)[-1:])[0]
        if ftype == "elderly_care_home":
            urban = a.get("care_residents_per_60plus_urban", ftype)
            rural = a.get("care_residents_per_60plus_rural", ftype)
            u = np.bincount(grid.district_idx, weights=total * grid.urbanity,
                            minlength=len(grid.adcodes)) / np.maximum(
                np.bincount(grid.district_idx, weights=total, minlength=len(grid.adcodes)), 1)
            users = users * (rural + (urban - rural) * u)
        else:
            users = users * _enrolment_rate(ftype, grid, yrs, anchors, a, city_adcode)
        cap_max = a.get("max_occupancy", ftype)
        rows = np.flatnonzero(is_open & (types == ftype))
        if rows.size == 0:
            continue
        d = np.searchsorted(grid.adcodes, districts[rows])
        caps = capacity[rows]
        spread = np.empty(rows.size)
        for k in np.unique(d):
            here = d == k
            spread[here] = streams(int(grid.adcodes[k]), ftype, "occupancy").lognormal(
                0, 0.12, int(here.sum()))
        # normalise so each district's users fill exactly its capacity-weighted spread
        weight = np.bincount(d, weights=caps * spread, minlength=len(grid.adcodes))
        rate = users[d] * spread / np.maximum(weight[d], 1e-9)
        out[rows] = np.round(np.clip(rate, 0.05, cap_max), 3)
    return pd.Series(out, index=frame.index, dtype="Float64")


def _enrolment_rate(ftype: str, grid: _Grid, yrs: np.ndarray, anchors: list[Anchor],
                    a: Assumptions, city_adcode: int) -> float:
    """Pupils per child of the served ages: from the real pupil count on a whole-city build,
    else the city's documented rate (derived from the same count), else the default."""
    for x in anchors:
        if x.ftype == ftype and x.measure == "pupils":
            children = grid.served(ftype)[x.year - yrs[0]].sum()
            return x.value / children if children else 1.0
    return a.get("enrolment_rate", ftype, city_adcode)

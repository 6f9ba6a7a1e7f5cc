"""Where to build next: the maximal covering location problem (MCLP, Church & ReVelle 1974).

Choose ``k`` new sites among candidates (populated cells, or a planner's own list) so that
the residents newly brought within the walking radius of a facility are as many as possible.
Residents already covered by an open facility count for nothing, so the answer is about the
gaps. With a site capacity the problem becomes capacity-aware: each new site serves at most
``capacity / need_per_person`` residents (the standard's ratio), assigned to it explicitly.

The integer programme is solved exactly with HiGHS through ``scipy.optimize.milp`` (sparse
matrices built with NumPy, so a city-sized model is assembled in milliseconds, where building
it term by term in PuLP takes longer than solving it); the solver's dual bound gives the
optimality gap that is reported with every answer. ``tests/test_siting.py`` checks that it
finds the same optimum as PySAL ``spopt``'s MCLP (PuLP/CBC) on a shared case.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from analytics.errors import CityBrainError
from analytics.geo import DATUMS
from analytics.identity import PUBLIC, Actor
from analytics.opendata import access
from analytics.planning import accessibility, places
from analytics.pooling.points import CANDIDATE_SITES, read_points
from analytics.standards import facility_type
from analytics.store import Store

#: Candidate sites the integer programme starts from when more reach uncovered residents
#: (see :func:`recommend_sites`): the strongest, a pool grown only as far as an exact answer
#: needs. On the Hangzhou store a pool of 200 gives the same optimum as one of 2,000 in
#: a tenth of the solver's time (0.05 s against 0.5 s for k = 5 to 10).
FIRST_POOL_SITES = 200
#: Upper limit of that pool when k and the radius ask for more.
MAX_POOL_SITES = 12000


# -- the numeric core --------------------------------------------------------------------
@dataclass
class MCLPSolution:
    chosen: np.ndarray          # indices of chosen sites
    served: np.ndarray          # residents each chosen site newly serves (same order)
    objective: float            # residents newly covered / served in total
    bound: float                # the solver's proven upper bound on the objective
    status: str                 # optimal | time limit | ...
    seconds: float

    @property
    def gap_pct(self) -> float:
        if self.bound <= 0:
            return 0.0
        return max(0.0, 100.0 * (self.bound - self.objective) / self.bound)


def solve_mclp(i: np.ndarray, j: np.ndarray, weights: np.ndarray, n_sites: int, k: int,
               locked: np.ndarray | None = None, site_capacity: np.ndarray | None = None,
               time_limit: float = 60.0, rel_gap: float = 1e-6) -> MCLPSolution:
    """Maximise the weight of demand points within reach of at most ``k`` chosen sites.

    Parameters
    ----------
    i, j : numpy.ndarray
        Reach pairs: demand point ``i[n]`` is within the radius of site ``j[n]``.
    weights : numpy.ndarray
        The demand per point.
    n_sites : int
        Number of candidate sites.
    k : int
        Sites to choose.
    locked : numpy.ndarray, optional
        Site indices that must be chosen.
    site_capacity : numpy.ndarray, optional
        The most each site may serve, in residents: the capacitated variant, with explicit
        assignment variables.
    time_limit : float
        Seconds the solver may take.
    rel_gap : float
        Relative optimality gap at which the solver stops.

    Returns
    -------
    MCLPSolution
        The chosen sites, the weight they newly cover, and the solver's bound and status.

    Examples
    --------
    Site 0 reaches points 0 and 1, site 1 reaches point 2 (the heaviest):

    >>> import numpy as np
    >>> sol = solve_mclp(np.array([0, 1, 2]), np.array([0, 0, 1]),
    ...                  np.array([1.0, 1.0, 3.0]), n_sites=2, k=1)
    >>> sol.chosen.tolist(), sol.objective
    ([1], 3.0)
    """
    t0 = time.perf_counter()
    weights = np.asarray(weights, dtype=float)
    locked = np.unique(np.asarray([] if locked is None else locked, dtype=np.int64))
    if len(locked) > k:
        raise CityBrainError(f"{len(locked)} sites are locked but k is {k}: raise k or unlock",
                             code="sites_locked_over_k", locked=len(locked), k=k)
    n_dem = len(weights)
    lo_x = np.zeros(n_sites)
    lo_x[locked] = 1.0
    if site_capacity is None:
        # variables: x (sites, binary) then y (demand covered, 0..1)
        cover = sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n_dem, n_sites))
        a = sparse.hstack([-cover, sparse.identity(n_dem)], format="csr")
        rows = sparse.vstack([a, sparse.hstack([np.ones((1, n_sites)),
                                                sparse.csr_matrix((1, n_dem))])], format="csr")
        lb = np.r_[np.full(n_dem, -np.inf), -np.inf]
        ub = np.r_[np.zeros(n_dem), k]
        c = np.r_[np.zeros(n_sites), -weights]
        integrality = np.r_[np.ones(n_sites), np.zeros(n_dem)]
        bounds = Bounds(np.r_[lo_x, np.zeros(n_dem)], np.r_[np.ones(n_sites), np.ones(n_dem)])
    else:
        cap = np.asarray(site_capacity, dtype=float)
        n_pairs = len(i)
        p = np.arange(n_pairs)
        # variables: x (sites) then z (residents of i assigned to site j, per pair)
        by_demand = sparse.csr_matrix((np.ones(n_pairs), (i, p)), shape=(n_dem, n_pairs))
        by_site = sparse.csr_matrix((np.ones(n_pairs), (j, p)), shape=(n_sites, n_pairs))
        link = sparse.csr_matrix((np.ones(n_pairs), (p, p)), shape=(n_pairs, n_pairs))
        link_x = sparse.csr_matrix((-weights[i], (p, j)), shape=(n_pairs, n_sites))
        rows = sparse.vstack([
            sparse.hstack([sparse.csr_matrix((n_dem, n_sites)), by_demand]),
            sparse.hstack([-sparse.diags(cap), by_site]),
            sparse.hstack([link_x, link]),
            sparse.hstack([np.ones((1, n_sites)), sparse.csr_matrix((1, n_pairs))]),
        ], format="csr")
        lb = np.full(rows.shape[0], -np.inf)
        ub = np.r_[weights, np.zeros(n_sites), np.zeros(n_pairs), k]
        c = np.r_[np.zeros(n_sites), -np.ones(n_pairs)]
        integrality = np.r_[np.ones(n_sites), np.zeros(n_pairs)]
        bounds = Bounds(np.r_[lo_x, np.zeros(n_pairs)], np.r_[np.ones(n_sites),
                                                               np.full(n_pairs, np.inf)])
    res = milp(c, constraints=LinearConstraint(rows, lb, ub), integrality=integrality,
               bounds=bounds, options={"time_limit": float(time_limit), "mip_rel_gap": rel_gap,
                                       "disp": False})
    if res.x is None:
        raise CityBrainError(f"the site optimisation found no solution ({res.message}); "
                             "allow more time or reduce the candidates", code="sites_no_solution")
    x = np.round(res.x[:n_sites]).astype(bool)
    chosen = np.flatnonzero(x)
    objective = float(-res.fun)
    dual = getattr(res, "mip_dual_bound", None)
    bound = objective if dual is None or not np.isfinite(dual) else float(-dual)
    status = {0: "optimal", 1: "time limit"}.get(res.status, res.message)
    if site_capacity is None:
        served = _greedy_order_gains(i, j, weights, chosen, locked)
        order, gains = served
    else:
        z = res.x[n_sites:]
        per_site = np.bincount(j, weights=z, minlength=n_sites)
        order = chosen[np.argsort(-per_site[chosen], kind="stable")]
        gains = per_site[order]
    return MCLPSolution(order, gains, objective, max(bound, objective), status,
                        time.perf_counter() - t0)


def _greedy_order_gains(i, j, weights, chosen, locked) -> tuple[np.ndarray, np.ndarray]:
    """Order chosen sites (locked first) by marginal gain; return order and each gain."""
    covered = np.zeros(len(weights), dtype=bool)
    remaining = [s for s in chosen if s not in set(locked)]
    order, gains = [], []
    pairs = pd.DataFrame({"i": i, "j": j})
    members = {s: g["i"].to_numpy() for s, g in pairs[pairs["j"].isin(chosen)].groupby("j")}
    for s in [s for s in chosen if s in set(locked)]:
        idx = members.get(s, np.empty(0, dtype=np.int64))
        gain = weights[idx][~covered[idx]].sum()
        covered[idx] = True
        order.append(s)
        gains.append(gain)
    while remaining:
        best, best_gain = None, -1.0
        for s in remaining:
            idx = members.get(s, np.empty(0, dtype=np.int64))
            g = weights[idx][~covered[idx]].sum()
            if g > best_gain:
                best, best_gain = s, g
        covered[members.get(best, np.empty(0, dtype=np.int64))] = True
        order.append(best)
        gains.append(best_gain)
        remaining.remove(best)
    return np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=float)


def _certified_bound(i, j, w, sol: MCLPSolution, k: int, standalone: np.ndarray,
                     capacitated: bool) -> float:
    """An upper bound on the best k sites among *all* candidates, from submodularity.

    Covered demand is submodular in the set of sites, so for the chosen set S and any other
    k sites T: f(T) <= f(S) + sum of the k largest gains of single sites added to S
    (Nemhauser, Wolsey & Fisher 1978). With capacities the single-site gains are bounded by
    each site's gain alone, capped at its capacity.
    """
    covered = np.zeros(len(w), dtype=bool)
    chosen = np.isin(j, sol.chosen)
    covered[i[chosen]] = True
    f_uncap = float(w[covered].sum())
    gains = np.bincount(j, weights=np.where(covered[i], 0.0, w[i]), minlength=len(standalone))
    top = np.sort(gains)[::-1][:k].sum()
    bound = f_uncap + top
    if capacitated:
        bound = min(bound, sol.objective + np.sort(standalone)[::-1][:k].sum())
    return float(bound)


# -- candidates ----------------------------------------------------------------------------
def parse_candidates(data: bytes | str | Path, filename: str, datum: str | None,
                     store: Store) -> pd.DataFrame:
    """A planner's candidate sites as WGS-84, checked to lie in the city.

    Read by the pooling pipeline's coordinate-table reader (CSV in UTF-8 or GBK, XLSX,
    GeoJSON points, Parquet), so a file gets the same checks as a department's register.
    The datum must be declared (``wgs84``, ``gcj02`` or ``bd09``): Chinese web maps give
    GCJ-02 or BD-09 coordinates that look like WGS-84 but sit 300-700 m away.
    Returns ``site_id, name, lon, lat, district_adcode``.
    """
    if not datum:
        raise CityBrainError(f"{filename}: declare the coordinates' datum (one of "
                             f"{', '.join(DATUMS)}); a wrong datum moves sites by hundreds of metres",
                             code="sites_datum", file=filename, choices=", ".join(DATUMS))
    datum = datum.lower().replace("-", "").replace("_", "")
    frame = read_points(store, data, filename, CANDIDATE_SITES, datum)
    if frame.empty:
        raise CityBrainError(f"{filename}: no candidate sites in the file", code="sites_empty",
                             file=filename)
    ids = frame["site_id"].astype(object)
    missing = ids.isna()
    frame["site_id"] = ids.where(~missing, [f"S{n}" for n in range(1, len(frame) + 1)])
    frame["name"] = frame["name"].astype(object).where(frame["name"].notna(), frame["site_id"])
    if frame["site_id"].duplicated().any():
        dup = frame.loc[frame["site_id"].duplicated(), "site_id"].iloc[0]
        raise CityBrainError(f"{filename}: site id {dup!r} appears more than once",
                             code="sites_duplicate_id", file=filename, site=dup)
    frame["district_adcode"] = frame["district_adcode"].astype("int64")
    return frame[["site_id", "name", "lon", "lat", "district_adcode"]].reset_index(drop=True)


def locate_districts(store: Store, lon, lat) -> np.ndarray:
    """District adcode containing each point, -1 outside the city."""
    districts = store.query("planning.districts")
    geoms = shapely.from_wkb(districts["geometry"].map(bytes).to_numpy())
    out = np.full(len(lon), -1, dtype=np.int64)
    for adcode, geom in zip(districts["adcode"], geoms, strict=True):
        inside = shapely.contains_xy(geom, lon, lat) & (out < 0)
        out[inside] = int(adcode)
    return out


def cell_candidates(demand: pd.DataFrame) -> pd.DataFrame:
    """Every populated cell as a candidate site at its centre."""
    return pd.DataFrame({"site_id": demand["h3"].to_numpy(), "name": demand["h3"].to_numpy(),
                         "lon": demand["lon"].to_numpy(), "lat": demand["lat"].to_numpy(),
                         "district_adcode": demand["district_adcode"].to_numpy()})


# -- the planner's question ------------------------------------------------------------------
@dataclass
class SitingResult:
    """What :func:`recommend_sites` chose: the sites, the residents covered before and newly
    covered, the solver's solution, and notes (in English and as codes with values).
    """
    type_key: str
    group: str
    year: int
    k: int
    radius_m: int
    standard_radius_m: int
    district: int | None
    persons: int                  # residents of the group in scope
    covered_before: float
    newly_covered: float
    solution: MCLPSolution
    sites: pd.DataFrame           # order, site_id, name, lon, lat, district_adcode, locked, gain, ...
    n_candidates: int
    site_capacity: float | None = None
    notes: list[str] = field(default_factory=list)
    #: The same notes as (code, values), for interfaces that word them in another language.
    note_codes: list[tuple[str, dict]] = field(default_factory=list)
    #: The year whose (forecast) residents the sites serve; ``year`` when siting for today.
    demand_year: int | None = None

    @property
    def before_pct(self) -> float:
        return 100.0 * self.covered_before / self.persons

    @property
    def after_pct(self) -> float:
        return 100.0 * (self.covered_before + self.newly_covered) / self.persons

    def geojson(self) -> dict:
        features = [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(r.lon, 6), round(r.lat, 6)]},
            "properties": {"order": int(r.order), "site_id": r.site_id, "name": r.name,
                           "district_adcode": int(r.district_adcode),
                           "district": getattr(r, "district", ""),
                           "place": " ".join(w for w in (getattr(r, "subdistrict", ""),
                                                        getattr(r, "community", "")) if w),
                           "place_en": getattr(r, "place_en", ""),
                           "nearest_facility": getattr(r, "landmark", ""),
                           "nearest_facility_en": getattr(r, "landmark_en", ""),
                           "nearest_facility_m": int(getattr(r, "landmark_m", 0) or 0),
                           "locked": bool(r.locked),
                           "newly_covered": round(float(r.gain), 1),
                           "coverage_after_pct": round(float(r.coverage_after_pct), 2),
                           "facility_type": self.type_key, "group": self.group,
                           "year": self.year, "radius_m": self.radius_m},
        } for r in self.sites.itertuples()]
        return {"type": "FeatureCollection", "features": features,
                "properties": {"crs": "WGS-84", "coverage_before_pct": round(self.before_pct, 2),
                               "coverage_after_pct": round(self.after_pct, 2),
                               "optimality_gap_pct": round(self.solution.gap_pct, 4)}}


#: The location columns :func:`with_places` adds to sites (see :mod:`analytics.planning.places`).
PLACE_COLUMNS = ["district", "district_en", "subdistrict", "community", "place_en", "landmark",
                 "landmark_en", "landmark_type_zh", "landmark_type_en", "landmark_m"]


def with_places(store: Store, sites: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """``sites`` with a human-readable location each: district, sub-district, community,
    the nearest named facility open in ``year`` and its distance (``landmark_m``)."""
    where = places.locate(store, sites["lon"], sites["lat"], year).rename(
        columns={"distance_m": "landmark_m"})
    out = sites.drop(columns=[c for c in PLACE_COLUMNS if c in sites.columns]).reset_index(
        drop=True)
    return pd.concat([out, where[PLACE_COLUMNS]], axis=1)


def future_cells(store: Store, result: accessibility.Accessibility,
                 demand_year: int) -> pd.DataFrame:
    """``result``'s cells with their residents grown to ``demand_year`` by their district's
    forecast (each cell keeps its share of its district: the forecasts go no finer), and
    ``covered`` by the facilities open in ``demand_year``."""
    from analytics.forecast import group_growth  # the forecasters load only when asked

    growth = group_growth(store, result.group, result.year, demand_year)
    cells = result.cells.copy()
    cells["persons"] = cells["persons"] * cells["district_adcode"].map(growth).fillna(1.0)
    fac = accessibility.open_facilities(store, result.type_key, demand_year)
    origin = (float(cells["lon"].median()), float(cells["lat"].median()))
    fxy = accessibility.project(fac["lon"], fac["lat"], origin) if len(fac) \
        else np.empty((0, 2))
    i, _, _ = accessibility.pairs_within(
        accessibility.project(cells["lon"], cells["lat"], origin), fxy, result.radius_m)
    cells["facilities_in_reach"] = np.bincount(i, minlength=len(cells)).astype("int64")
    cells["covered"] = cells["facilities_in_reach"] > 0
    return cells


def recommend_sites(store: Store, type_key: str, year: int, k: int, *, group: str | None = None,
                    radius_m: int | None = None, district: int | None = None,
                    candidates: pd.DataFrame | None = None, lock: list[str] | tuple = (),
                    exclude: list[str] | tuple = (), site_capacity: float | None = None,
                    time_limit: float = 12.0, demand_year: int | None = None,
                    analysis: accessibility.Accessibility | None = None) -> SitingResult:
    """Choose ``k`` new sites for a facility type maximising newly covered residents.

    Parameters
    ----------
    store : Store
        The city store.
    type_key : str
        A facility type.
    year : int
        The year of residents and open facilities.
    k : int
        New sites to choose, at least 1.
    group : str, optional
        The residents served (default: the type's own group).
    radius_m : int, optional
        Walking radius in metres (default: the standard's).
    district : int or None
        Site within one district, or None for the whole city.
    candidates : pandas.DataFrame, optional
        Sites from :func:`parse_candidates`; default every populated cell of the scope.
    lock, exclude : sequence of str
        Candidate ``site_id`` values that must be, or must not be, chosen (an H3 cell
        string for the default candidates).
    site_capacity : float, optional
        Beds or places per new site: the solution becomes capacity-aware at the
        standard's ratio.
    time_limit : float
        Seconds the solver may take.
    demand_year : int, optional
        Site for the residents forecast in this year (after ``year``): each cell keeps its
        share of its district, the district grows as its forecast (only data up to
        ``year``), and the facilities are those open in ``demand_year`` (planned openings
        included).
    analysis : Accessibility, optional
        The coverage analysis of the same type, year, group and radius, when the caller
        holds it already (the planning pages keep it cached); made here otherwise.

    Returns
    -------
    SitingResult
        The chosen sites, the residents newly covered, and notes.
    """
    ft = facility_type(type_key)
    if int(k) != k or k < 1:
        raise CityBrainError(f"k must be a whole number of sites, at least 1 (got {k})",
                             code="sites_k", k=k)
    k = int(k)
    if analysis is None:
        result = accessibility.analyse(store, type_key, year, group=group, radius_m=radius_m)
    else:
        asked = (type_key, int(year), group or accessibility.default_group(type_key),
                 accessibility.service_radius(type_key,
                                              {type_key: radius_m} if radius_m else None))
        if (analysis.type_key, analysis.year, analysis.group, analysis.radius_m) != asked:
            raise ValueError(f"the analysis given is of {analysis.type_key}, {analysis.year}, "
                             f"{analysis.group}, {analysis.radius_m} m, not of {asked}")
        result = analysis
    cells = result.cells
    notes: list[str] = []
    codes: list[tuple[str, dict]] = []
    if demand_year is not None and int(demand_year) != int(year):
        cells = future_cells(store, result, int(demand_year))
        notes.append(f"residents of {demand_year}: each district's {year} cells grown by its "
                     "forecast; facilities open in that year")
        codes.append(("future_demand", {"year": int(demand_year), "base": int(year)}))
    if district is not None:
        cells = cells[cells["district_adcode"] == int(district)].reset_index(drop=True)
        if cells.empty:
            raise CityBrainError(f"district {district} has no residents of group {result.group} "
                                 f"in {year}: choose another district", code="no_residents_district",
                                 district=district, group=result.group, year=year)
    persons = int(round(cells["persons"].sum()))
    covered_before = float(cells.loc[cells["covered"], "persons"].sum())
    if result.facilities.empty:
        notes.append(f"no {ft.name_en.lower()} open in {year}: every resident counts as uncovered")
        codes.append(("no_facilities", {"year": int(year)}))
    if candidates is None:
        cand = cell_candidates(cells)
    else:
        cand = candidates.copy()
        if district is not None:
            cand = cand[cand["district_adcode"] == int(district)].reset_index(drop=True)
            if cand.empty:
                raise CityBrainError(f"none of the uploaded candidate sites lies in district "
                                     f"{district}", code="sites_none_in_district",
                                     district=district)
    ids = set(cand["site_id"]) if (lock or exclude) else set()  # tens of thousands of cells
    for label, values in (("locked", lock), ("excluded", exclude)):
        unknown = [v for v in values if v not in ids]
        if unknown:
            raise CityBrainError(f"{label} site(s) {', '.join(map(str, unknown[:5]))} are not "
                                 "among the candidate sites",
                                 code="sites_unknown_locked" if label == "locked"
                                 else "sites_unknown_excluded",
                                 sites=", ".join(map(str, unknown[:5])))
    both = set(lock) & set(exclude)
    if both:
        raise CityBrainError(f"site(s) {', '.join(sorted(both))} are both locked and excluded",
                             code="sites_locked_and_excluded", sites=", ".join(sorted(both)))
    if exclude:
        cand = cand[~cand["site_id"].isin(set(exclude))].reset_index(drop=True)
    if k > len(cand):
        raise CityBrainError(f"k = {k} but there are only {len(cand)} candidate sites: "
                             "lower k or add candidates", code="sites_k_over_candidates", k=k,
                             candidates=len(cand))
    weights = np.where(cells["covered"], 0.0, cells["persons"].to_numpy(float))
    origin = (float(result.cells["lon"].median()), float(result.cells["lat"].median()))
    cand_xy = accessibility.project(cand["lon"], cand["lat"], origin)
    i, j, _ = accessibility.pairs_within(
        accessibility.project(cells["lon"], cells["lat"], origin), cand_xy, result.radius_m)
    # Drop demand nobody needs and sites that reach none of it (unless locked): exact.
    keep = weights[i] > 0
    i, j = i[keep], j[keep]
    locked_idx = (np.flatnonzero(cand["site_id"].isin(set(lock)).to_numpy()) if lock
                  else np.empty(0, dtype=np.int64))
    useful = np.union1d(np.unique(j), locked_idx)
    dem = np.unique(i)
    site_map = np.full(len(cand), -1)
    site_map[useful] = np.arange(len(useful))
    dem_map = np.full(len(cells), -1)
    dem_map[dem] = np.arange(len(dem))
    cap = None
    if site_capacity is not None:
        if site_capacity <= 0:
            raise CityBrainError(f"site capacity must be positive (got {site_capacity})",
                                 code="sites_capacity", capacity=site_capacity)
        need = result.need_per_person
        if not need:
            raise CityBrainError(f"{ft.name_en} has no capacity ratio in the standard; "
                                 "leave the site capacity empty", code="sites_no_ratio", type=ft.key)
        cap = np.full(len(useful), float(site_capacity) / need)
    k_eff = min(k, len(useful))
    if len(useful) < k:
        notes.append(f"only {len(useful)} candidate sites reach uncovered residents; "
                     f"the other {k - len(useful)} of k = {k} would add nobody")
        codes.append(("few_useful", {"n": len(useful), "rest": k - len(useful), "k": k}))
    si, sj = dem_map[i], site_map[j]
    w = weights[dem]
    standalone = np.bincount(sj, weights=w[si], minlength=len(useful))
    if cap is not None:
        standalone = np.minimum(standalone, cap)
    # The model keeps the strongest sites by their gain alone (plus the locked). Exact when
    # the pool holds more than (k - 1) x N sites, N the most pool sites within twice the
    # radius of any candidate: then for any optimal site outside the pool there is a pool
    # site at least as strong whose reach touches no other chosen site's (each of the k - 1
    # others is within twice the radius of at most N pool sites), and swapping them loses
    # nothing; swapped one at a time, an optimum lies in the pool. Otherwise the gap is
    # certified against every candidate by submodularity.
    pool = np.arange(len(useful))
    exact_pool = True
    if len(useful) > FIRST_POOL_SITES:
        xy = cand_xy[useful]
        order = np.argsort(-standalone, kind="stable")
        size = FIRST_POOL_SITES
        while True:
            top = order[:size]
            n_in = cKDTree(xy[top]).query_ball_point(xy, 2.0 * result.radius_m,
                                                     return_length=True)
            need = (k_eff - 1) * int(n_in.max()) + 1
            exact_pool = len(top) >= need or len(top) == len(useful)
            if exact_pool or size >= min(MAX_POOL_SITES, len(useful)):
                break
            size = min(max(need, 2 * size), MAX_POOL_SITES, len(useful))
        pool = np.union1d(top, site_map[locked_idx])
        notes.append(f"the model weighed the {len(pool):,} strongest of {len(useful):,} "
                     "candidate sites that reach uncovered residents"
                     + ("; an optimum among them is an optimum among all" if exact_pool else
                        "; the optimality gap is certified against all of them"))
        codes.append(("pool_exact" if exact_pool else "pool_bound",
                      {"pool": f"{len(pool):,}", "total": f"{len(useful):,}"}))
    if len(useful) == 0:
        sol = MCLPSolution(np.empty(0, dtype=np.int64), np.empty(0), 0.0, 0.0, "optimal", 0.0)
    else:
        pool_map = np.full(len(useful), -1)
        pool_map[pool] = np.arange(len(pool))
        inpool = pool_map[sj] >= 0
        di, dj = si[inpool], pool_map[sj[inpool]]
        dem2 = np.unique(di)
        dmap2 = np.full(len(w), -1)
        dmap2[dem2] = np.arange(len(dem2))
        sol = solve_mclp(dmap2[di], dj, w[dem2], len(pool), k_eff,
                         locked=pool_map[site_map[locked_idx]],
                         site_capacity=None if cap is None else cap[pool],
                         time_limit=time_limit)
        sol.chosen = pool[sol.chosen]
        if not exact_pool:
            sol.bound = max(sol.objective, _certified_bound(si, sj, w, sol, k_eff, standalone,
                                                            cap is not None))
    picked = cand.iloc[useful[sol.chosen]].reset_index(drop=True)
    picked.insert(0, "order", np.arange(1, len(picked) + 1))
    picked["locked"] = picked["site_id"].isin(set(lock))
    picked["gain"] = sol.served
    picked["coverage_after_pct"] = 100.0 * (covered_before + np.cumsum(sol.served)) / persons
    picked = with_places(store, picked, int(year))
    return SitingResult(type_key, result.group, int(year), k, result.radius_m,
                        result.standard_radius_m, district, persons, covered_before,
                        sol.objective, sol, picked, len(cand), site_capacity, notes, codes,
                        int(demand_year) if demand_year is not None else int(year))


def public_result(store: Store, result: SitingResult, actor: Actor = PUBLIC,
                  channel: str = "api", fmt: str = "sites") -> SitingResult:
    """``result`` as it may be shown or exported: the residents covered now and each site's
    gain (sums over sets of cells) rounded to the nearest 10 with 1-9 blank, through the
    access decision for ``population_districts`` and logged
    (:func:`analytics.opendata.access.release_counts`), exactly as the planning map's
    district table releases ``covered``; the residents in scope stay exact (a published
    district total). Coverage before and after is computed from these figures, so "coverage
    now" equals the planning map's coverage of the same area, type, group and year, and the
    residents newly covered are the sum of the sites' released gains."""
    scope = pd.DataFrame({"persons": [result.persons], "covered": [result.covered_before]})
    sites = result.sites.assign(gain=result.sites["gain"].to_numpy(float))
    frame = pd.concat([scope.assign(kind="scope"),
                       sites[["gain"]].rename(columns={"gain": "covered"}).assign(kind="site")],
                      ignore_index=True)
    out, _ = access.release_counts(store, frame, ["covered"], source="population_districts",
                                   grain="district", actor=actor, channel=channel, fmt=fmt)
    covered = out.loc[out["kind"] == "scope", "covered"].iloc[0]
    covered = float("nan") if pd.isna(covered) else float(covered)
    gains = out.loc[out["kind"] == "site", "covered"].astype("Float64").to_numpy(
        dtype=float, na_value=np.nan)
    sites["gain"] = gains
    sites["coverage_after_pct"] = 100.0 * (covered + np.nancumsum(gains)) / result.persons \
        if result.persons else np.nan
    return replace(result, covered_before=covered, newly_covered=float(np.nansum(gains)),
                   sites=sites)

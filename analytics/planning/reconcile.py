"""Two measures of one service, side by side: the standard's ratio and walking distance.

A district can meet the standard's ratio (its places against its residents, e.g. 0.9
kindergarten places per child aged 3-5) while many of its residents live beyond the walking
radius of any facility (300 m for a kindergarten): the ratio counts every place in the
district wherever it stands, walking coverage counts only the residents near one. A planner
needs both, and the reason they differ. :func:`reconcile` computes both for one facility
type, year and area (the city or a district) from the same residents and facilities, and
names the reason (:data:`REASONS`); the dashboard says it in words.

The sign convention for gaps, used across the product: a *shortfall* is a positive amount
of capacity missing against the standard, a *surplus* a positive amount above it; a
``status`` says which (:func:`balance`). Nothing a person reads carries the meaning in a sign.

>>> balance(30.0, 2.7)
('surplus', 27.3)
>>> balance(0.0, 1.08)
('shortfall', 1.08)
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.identity import PUBLIC, Actor
from analytics.planning import accessibility
from analytics.planning.supply import supply_demand
from analytics.standards import balance
from analytics.store import Store

#: Why the two measures differ (or agree). Keys are stable; the dashboard words them.
REASONS = {
    "agree": "enough capacity by the standard, and every resident within walking distance",
    "enough_but_far": "enough capacity by the standard, but some residents live beyond the "
                      "walking radius of every facility: the places stand elsewhere",
    "near_but_short": "residents live near facilities, but there are too few places for them",
    "short_and_far": "too few places by the standard, and some residents beyond walking "
                     "distance too",
    "no_ratio": "the standard sets no capacity ratio for this type: only walking distance "
                "counts",
}


@dataclass(frozen=True)
class Reconciliation:
    """The ratio (district level) and walking coverage (cell level) of one type and area."""

    type_key: str
    year: int
    area: int                  # 0 for the whole city
    group: str
    residents: int             # of the group the type serves, in the area (exact: a published
                               # sum of district totals)
    facilities: int            # open in the area
    capacity: float            # their places or beds (facilities where not counted)
    required: float            # what the standard asks for (nan: no ratio)
    status: str                # shortfall | surplus | meets | no_standard
    amount: float              # the shortfall or surplus, never negative
    radius_m: int
    covered: int | None        # residents with a facility within the radius (released:
                               # rounded to 10; None when 1-9, blank)
    beyond: int | None         # residents with no facility within the radius (residents -
                               # covered, of the released figures)
    without_place: int | None  # unmet demand: residents without a place within reach
                               # (2SFCA; = beyond for a type without a ratio), released
    reason: str                # a key of REASONS

    @property
    def supply_pct(self) -> float:
        return 100.0 * self.capacity / self.required if self.required > 0 else float("nan")

    @property
    def coverage_pct(self) -> float:
        """Percent covered, from the released ``covered`` (as every table computes it)."""
        if not self.residents or self.covered is None:
            return float("nan")
        return 100.0 * self.covered / self.residents

    @property
    def near_but_full(self) -> int | None:
        """Residents within the radius of a facility whose places are all taken: the part of
        ``without_place`` that is not ``beyond`` (0 for a type without a ratio)."""
        if self.without_place is None or self.beyond is None:
            return None
        return self.without_place - self.beyond

    @property
    def uncovered(self) -> int | None:
        return self.beyond


def _released(value) -> int | None:
    return None if pd.isna(value) else int(value)


def reconcile(store: Store, type_key: str, year: int, district: int | None = None,
              result: accessibility.Accessibility | None = None, *, actor: Actor = PUBLIC,
              channel: str = "api") -> Reconciliation:
    """The standard's ratio and walking-distance coverage of one type, year and area.

    The counts of people are the released ones: the row of
    :func:`accessibility.public_summary` for the area (the access decision for
    ``population_districts``, disclosure control, one line in the log), the same figures the
    planning map's tiles and district table show.

    Parameters
    ----------
    store : Store
        The city store.
    type_key : str
        A facility type.
    year : int
        The year.
    district : int or None
        A district's adcode, or None for the whole city.
    result : Accessibility, optional
        An :func:`accessibility.analyse` of the same type and year to reuse (the planning
        map has one already, with its group and radius).
    actor : Actor
        Who asks (default: the public).
    channel : str
        Where the figures go, for the access log.

    Returns
    -------
    Reconciliation
        Both measures, and the reason they differ.
    """
    result = result or accessibility.analyse(store, type_key, int(year))
    area = 0 if district is None else int(district)
    sd = supply_demand(store, int(year), [type_key])
    row = sd[sd["adcode"].isna()] if district is None else sd[sd["adcode"] == int(district)]
    summary = accessibility.public_summary(store, result, actor=actor, channel=channel,
                                           fmt="reconcile")
    released = summary[summary["adcode"].isna()] if district is None else \
        summary[summary["adcode"] == int(district)]
    if row.empty or released.empty:
        raise accessibility.CityBrainError(f"no district {district} in this store",
                                           code="no_district", district=district)
    row, released = row.iloc[0], released.iloc[0]
    residents = int(released["persons"])
    covered = _released(released["covered"])
    beyond = _released(released["beyond"])
    without = _released(released["unmet"])
    required = float(row["required"])
    status, amount = balance(float(row["capacity"]), required)
    someone_far = beyond is None or beyond > 0
    if status == "no_standard":
        reason = "no_ratio"
    elif status == "shortfall":
        reason = "short_and_far" if someone_far else "near_but_short"
    else:
        reason = "enough_but_far" if someone_far or (without or 0) > 0 else "agree"
    return Reconciliation(type_key, int(year), area, result.group, residents,
                          int(row["facilities"]), float(row["capacity"]), required, status,
                          amount, result.radius_m, covered, beyond, without, reason)


__all__ = ["REASONS", "Reconciliation", "balance", "reconcile"]

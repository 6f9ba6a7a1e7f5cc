"""What can be forecast: total population and the counts and shares of the service age groups.

A target is a count of residents in an age range (``pop_60plus``), or that count as a percent
of all residents (``pop_60plus_share``). The age ranges are the planners' service groups of
:data:`analytics.population.SERVICE_GROUPS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.errors import lookup
from analytics.population import AGE_GROUPS, MAX_AGE, SERVICE_GROUPS


@dataclass(frozen=True)
class Group:
    key: str          # e.g. "60plus"
    label: str        # e.g. "60+"
    lo: int
    hi: int           # inclusive; MAX_AGE means "and over"


def group_of_label(label: str) -> Group:
    members = [AGE_GROUPS[g] for g in SERVICE_GROUPS[label]]
    lo, hi = min(m[0] for m in members), max(m[1] for m in members)
    key = label.replace("+", "plus").replace("-", "_")
    return Group(key, label, lo, hi)


#: The age groups, in planners' order; "total" is every age.
GROUPS: dict[str, Group] = {"total": Group("total", "all ages", 0, MAX_AGE)}
for _label in ("0-2", "3-5", "6-11", "12-14", "60+", "65+", "80+"):
    _g = group_of_label(_label)
    GROUPS[_g.key] = _g


@dataclass(frozen=True)
class Target:
    name: str         # e.g. pop_60plus_share
    group: Group
    share: bool       # percent of all residents rather than a count

    @property
    def unit(self) -> str:
        return "%" if self.share else "persons"


TARGETS: dict[str, Target] = {"pop_total": Target("pop_total", GROUPS["total"], False)}
for _key, _g in GROUPS.items():
    if _key == "total":
        continue
    TARGETS[f"pop_{_key}"] = Target(f"pop_{_key}", _g, False)
    TARGETS[f"pop_{_key}_share"] = Target(f"pop_{_key}_share", _g, True)


def target(name: str) -> Target:
    return lookup(TARGETS, name, "target", "targets", code="unknown_target")


def group_counts(persons: np.ndarray) -> dict[str, np.ndarray]:
    """Counts of every group from ``persons[..., sex, age]`` (sums over the last two axes)."""
    by_age = persons.sum(axis=-2)
    cum = np.concatenate([np.zeros(by_age.shape[:-1] + (1,)), np.cumsum(by_age, axis=-1)],
                         axis=-1)
    return {k: cum[..., g.hi + 1] - cum[..., g.lo] for k, g in GROUPS.items()}


def values(counts: dict[str, np.ndarray], t: Target) -> np.ndarray:
    """A target's values from group counts (shares in percent)."""
    if t.share:
        return 100.0 * counts[t.group.key] / np.maximum(counts["total"], 1e-9)
    return counts[t.group.key]

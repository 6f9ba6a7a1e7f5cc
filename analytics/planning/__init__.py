"""Where services reach people, and where to build next.

- :mod:`~analytics.planning.accessibility`: walking-distance coverage and the two-step
  floating catchment area (2SFCA) of each facility type, checked against PySAL ``access``.
- :mod:`~analytics.planning.supply`: each district's capacity against the standard's need.
- :mod:`~analytics.planning.cells`: an analysis' cells rolled up to coarser H3 hexagons for a
  map, and the figures of one clicked hexagon.
- :mod:`~analytics.planning.reconcile`: the standard's ratio beside walking coverage, and
  why they differ; the one sign convention for gaps (shortfall / surplus).
- :mod:`~analytics.planning.places`: a human-readable location for a site or a cell.
- :mod:`~analytics.planning.siting`: the maximal covering location problem (exact MILP),
  candidate sites from cells or a planner's file.

>>> import numpy as np
>>> from analytics.planning import two_step_fca
>>> # two cells of 100 and 300 people share one facility of 40 places within reach:
>>> # 40 places / 400 people = 0.1 place per person for both cells, and for the facility
>>> access, ratio = two_step_fca(np.array([100.0, 300.0]), np.array([40.0]),
...                              np.array([0, 1]), np.array([0, 0]))
>>> access.tolist(), ratio.tolist()
([0.1, 0.1], [0.1])
"""

from analytics.planning import accessibility, cells, places, reconcile, siting, supply
from analytics.planning.accessibility import Accessibility, analyse, coverage_share, two_step_fca
from analytics.planning.reconcile import REASONS, Reconciliation, balance
from analytics.planning.reconcile import reconcile as reconcile_measures
from analytics.planning.siting import SitingResult, recommend_sites, solve_mclp
from analytics.planning.supply import supply_demand

__all__ = ["REASONS", "Accessibility", "Reconciliation", "SitingResult", "accessibility",
           "analyse", "balance", "cells", "coverage_share", "places", "reconcile",
           "reconcile_measures",
           "recommend_sites", "siting", "solve_mclp", "supply", "supply_demand", "two_step_fca"]

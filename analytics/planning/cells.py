"""An accessibility analysis' cells at a coarser H3 resolution, and one cell's figures.

A city has more populated resolution-9 cells than a browser draws smoothly, so a map rolls
them up into their resolution-8 parents (about seven children each); a planner who clicks a
hexagon sees the figures of that hexagon at the resolution it was drawn.

>>> import h3
>>> import pandas as pd
>>> child = h3.cell_to_children(h3.latlng_to_cell(30.25, 120.16, 8), 9)
>>> cells = pd.DataFrame({"h3": sorted(child)[:2], "district_adcode": [330106, 330106],
...                      "persons": [100.0, 300.0], "access_per_1000": [2.0, 6.0],
...                      "unmet": [1.0, 3.0], "facilities_in_reach": [1, 2],
...                      "covered": [True, False]})
>>> up = roll_up(cells, 8)
>>> up[["persons", "access_per_1000", "unmet", "facilities_in_reach", "covered_share"]]
   persons  access_per_1000  unmet  facilities_in_reach  covered_share
0    400.0              5.0    4.0                    2           0.25
>>> cell_detail(cells, up["h3"].iloc[0], 8)["access_per_1000"]
5.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Above this many cells a map draws the resolution-8 parents instead.
MAX_CELLS = 30_000


def parent_cells(cells, resolution: int) -> np.ndarray:
    """H3 parents of many cells at once (integers in, integers out).

    Written with the H3 bit layout (resolution in bits 52-55, one 3-bit digit per finer
    resolution, unused digits all ones) because ``h3`` converts one cell per call, which
    takes seconds for a city's cells.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    res_mask = np.uint64(0xF) << np.uint64(52)
    out = (cells & ~res_mask) | (np.uint64(resolution) << np.uint64(52))
    for r in range(resolution + 1, 16):
        out |= np.uint64(7) << np.uint64((15 - r) * 3)
    return out


def _ints(cells: pd.DataFrame) -> np.ndarray:
    if "cell" in cells:
        return cells["cell"].to_numpy(np.uint64)
    return np.array([int(c, 16) for c in cells["h3"]], dtype=np.uint64)


def roll_up(cells: pd.DataFrame, resolution: int = 8) -> pd.DataFrame:
    """Cells summed into their H3 parents (access weighted by residents).

    Parameters
    ----------
    cells : DataFrame
        ``h3`` (or ``cell`` as an integer), ``persons``, ``access_per_1000``, ``unmet``,
        ``facilities_in_reach``, ``covered``, as :func:`~analytics.planning.analyse` returns.
    resolution : int
        The parents' H3 resolution.

    Returns
    -------
    DataFrame
        One row per parent: ``h3``, the sums of ``persons`` and ``unmet``, the most
        ``facilities_in_reach`` of any child, ``access_per_1000`` weighted by persons,
        ``covered`` (any resident covered) and ``covered_share`` of persons.
    """
    parents = parent_cells(_ints(cells), resolution)
    frame = cells.assign(parent=parents, weighted=cells["persons"] * cells["access_per_1000"],
                         covered_persons=np.where(cells["covered"], cells["persons"], 0))
    extra = {"parts": ("parts", "sum")} if "parts" in frame else {}  # for disclosure control
    out = frame.groupby("parent", as_index=False, sort=True).agg(
        persons=("persons", "sum"), unmet=("unmet", "sum"), weighted=("weighted", "sum"),
        covered_persons=("covered_persons", "sum"),
        facilities_in_reach=("facilities_in_reach", "max"), **extra)
    out.insert(0, "h3", [format(int(c), "x") for c in out.pop("parent")])
    out["access_per_1000"] = out["weighted"] / out["persons"].where(out["persons"] > 0, 1)
    out["covered"] = out["covered_persons"] > 0
    out["covered_share"] = out["covered_persons"] / out["persons"].where(out["persons"] > 0, 1)
    return out


def for_display(cells: pd.DataFrame, max_cells: int = MAX_CELLS) -> tuple[pd.DataFrame, int]:
    """The cells a map draws and their resolution: as they are, or rolled up to resolution 8
    when there are more than ``max_cells``."""
    if len(cells) > max_cells:
        return roll_up(cells, 8), 8
    return cells, 9


def cell_detail(cells: pd.DataFrame, h3_id: str, resolution: int = 9) -> dict | None:
    """The figures of one hexagon as drawn at ``resolution`` (9: a cell; 8: the cells under
    that parent), or ``None`` when no cell of the analysis lies there.

    Returns ``district_adcode`` (of the first cell), ``persons`` (sum),
    ``facilities_in_reach`` (most of any cell), ``access_per_1000`` (weighted by persons,
    one decimal) and ``unmet`` (sum, rounded).
    """
    if not h3_id or cells.empty:
        return None
    if resolution == 9:
        rows = cells[cells["h3"] == h3_id]
    else:
        try:
            target = np.uint64(int(h3_id, 16))
        except ValueError:
            return None
        rows = cells[parent_cells(_ints(cells), resolution) == target]
    if rows.empty:
        return None
    persons = float(rows["persons"].sum())
    return {
        "district_adcode": int(rows["district_adcode"].iloc[0]),
        "persons": int(persons),
        "facilities_in_reach": int(rows["facilities_in_reach"].max()),
        "access_per_1000": round(float((rows["persons"] * rows["access_per_1000"]).sum()
                                       / max(persons, 1)), 1),
        "unmet": round(float(rows["unmet"].sum())),
    }

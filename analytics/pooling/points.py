"""One coordinate-table reader for department files and planners' candidate sites.

A planner's candidate sites go through the same steps as a department's register (read any
supported format, map headers and their aliases, convert the datum to WGS-84, require every
point inside the city, detect swapped latitude/longitude, find each point's district); only
the contract differs: :data:`CANDIDATE_SITES`, which names ``lon`` and ``lat`` (required),
``site_id`` and ``name`` (optional) and skips any other column.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd

from analytics.geo import DATUMS
from analytics.pooling.contracts import Column, Contract
from analytics.pooling.errors import IngestError
from analytics.pooling.plan import _plan

#: What a candidate-sites file holds (not a department dataset: nothing is stored).
CANDIDATE_SITES = Contract(
    id="candidate_sites", title="候选站点", title_en="Candidate sites", description="",
    description_en="", department="", department_en="", theme="", keywords=(),
    access_level="public", licence="", update_frequency="irregular", load_mode="replace",
    table="dept_candidate_sites", key=("site_id", "lon", "lat"),
    columns=(
        Column("site_id", "string", aliases=("id", "编号", "站点编号"), required=False),
        Column("name", "string", aliases=("名称", "站点名称"), required=False),
        Column("lon", "number", unit="degree", min=-180, max=180,
               aliases=("lng", "longitude", "x", "经度")),
        Column("lat", "number", unit="degree", min=-90, max=90,
               aliases=("latitude", "y", "纬度")),
    ),
    lon="lon", lat="lat", ignore_extra=True, locate=True)


def read_points(store, data: bytes | str | Path, filename: str, contract: Contract,
                datum: str) -> pd.DataFrame:
    """The rows of a coordinate table as WGS-84 with their district, or the first problem.

    ``data`` is the file's bytes (or text, or a path). Raises :class:`IngestError` with the
    first problem (file, row, column) and how many more there are.
    """
    if datum not in DATUMS:
        raise IngestError(f"{filename}: unknown datum {datum!r}; use one of {', '.join(DATUMS)}",
                          code="ingest_datum", datum=datum, choices=", ".join(DATUMS))
    if isinstance(data, Path):
        path = data
    else:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        folder = Path(tempfile.gettempdir()) / "citybrain-points"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hashlib.sha256(raw).hexdigest()[:16]}{Path(filename).suffix.lower()}"
        if not path.exists():
            path.write_bytes(raw)
    plan = _plan(store, path, contract, datum=datum, encoding="auto", file_name=filename)
    if not plan.ok:
        first = plan.problems["message"].iloc[0]
        more = plan.problem_count - 1
        raise IngestError(first + (f" (and {more:,} more problem{'s' if more > 1 else ''})"
                                   if more else ""), code="points_rejected", problem=first,
                          more=more)
    frames = [f for f in plan.batches(store) if len(f)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frame["row"] = range(plan.source.first_row, plan.source.first_row + len(frame))
    return frame

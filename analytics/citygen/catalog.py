"""The catalog stage of the build: one ``datasets`` row for every table the build produced.

The datasets themselves are described in :mod:`analytics.opendata.registry`; this stage only
counts their rows and years in the freshly built tables.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from analytics.geo import city
from analytics.opendata.privacy import aggregate
from analytics.opendata.registry import DatasetSpec, catalog_rows, frame_years
from analytics.store import Store


# -- the build stage ----------------------------------------------------------------------
def stage(ctx) -> None:
    """Catalogue every table the build produced (runs last, so it sees them all)."""
    schema = Store.create(None)
    try:
        table_columns = {t: list(schema.columns(t).itertuples(index=False, name=None))
                         for t in schema.tables()}
    finally:
        schema.close()
    tables = ctx.tables

    def frame_for(s: DatasetSpec) -> pd.DataFrame:
        frame = tables.get(s.table, pd.DataFrame())
        if s.type_filter and not frame.empty:
            frame = frame[frame["type"].isin(s.type_filter)]
        if s.aggregate and not frame.empty:
            frame = aggregate(s.aggregate, frame)
        return frame

    def years(s: DatasetSpec):
        return frame_years(frame_for(s))

    c = ctx.config
    name = ctx.meta.get("city_name") or city(c.city_adcode).name
    # The data's own date (end of the last year built), not the wall clock: same seed, same tables.
    ctx.tables["datasets"] = catalog_rows(
        table_columns, lambda s: len(frame_for(s)), years, c.city_adcode, name,
        date(c.last_year, 12, 31))
    ctx.progress(f"[catalog] {len(ctx.tables['datasets'])} datasets")

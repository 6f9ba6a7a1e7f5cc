"""The same analyses on DuckDB (default) and on Apache Spark, over a store or a lake.

* :mod:`~analytics.engines.lake` — the lake: Parquet partitioned by city and year with a
  manifest (schema version, vintage, row counts, SHA-256), catchment pairs as a table;
* :mod:`~analytics.engines.analyses` — population, indicators, trends, coverage and 2SFCA,
  supply against demand, controlled exports, each defined once (named SQL in
  ``analytics/sql/``) for any engine;
* :mod:`~analytics.engines.spark` — Spark local mode or Spark Connect (imported on demand);
* :mod:`~analytics.engines.province` — a province built city by city into a lake.

>>> from analytics.engines import ENGINES
>>> ENGINES
('duckdb', 'spark')
"""

from analytics.engines.analyses import (
    ENGINES,
    EXPORTABLE,
    city_indicator_values,
    controlled_chunks,
    controlled_export,
    coverage,
    indicator_values,
    open_engine,
    population,
    summary,
    supply_demand,
    vital_trends,
)
from analytics.engines.lake import LAKE_TABLES, Lake, LakeError, export, export_city

__all__ = ["ENGINES", "EXPORTABLE", "LAKE_TABLES", "Lake", "LakeError", "city_indicator_values",
           "controlled_chunks", "controlled_export", "coverage", "export", "export_city",
           "indicator_values", "open_engine", "population", "summary", "supply_demand",
           "vital_trends"]

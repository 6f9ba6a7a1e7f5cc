"""What leaders read: the headline indicators (KPIs) and the population trends behind them.

- :mod:`~analytics.indicators.kpis`: every indicator defined once (formula, source datasets,
  standard and its bands), computed for the city and every district and year.
- :mod:`~analytics.indicators.trends`: pyramids, broad age groups over time, vital rates.

This wing sits above :mod:`analytics.population` and :mod:`analytics.planning`: an indicator
such as "share aged 60+ within 300 m of a day-care centre" needs both.

>>> from analytics import indicators
>>> indicators.indicator("care_beds_per_1000_60plus").unit("en")
'beds per 1,000'
"""

from analytics.indicators import kpis, trends
from analytics.indicators.kpis import (
    AGEING_SOURCE,
    BASE_COUNTS,
    CAPACITY_TYPES,
    CHILD_SHARE_SOURCE,
    INDICATORS,
    VALUE_COLUMNS,
    Band,
    Indicator,
    Standard,
    all_values,
    available,
    base_frame,
    computed_values,
    district_shapes,
    district_table,
    districts,
    indicator,
    largest_movers,
    of_area,
    of_districts,
    ratio_values,
    store_values,
    stored_values,
    tile,
    values,
)

__all__ = ["AGEING_SOURCE", "BASE_COUNTS", "CAPACITY_TYPES", "CHILD_SHARE_SOURCE",
           "INDICATORS", "VALUE_COLUMNS", "Band", "Indicator", "Standard", "all_values",
           "available", "base_frame", "computed_values", "district_shapes", "district_table",
           "districts", "indicator", "kpis", "largest_movers", "of_area", "of_districts",
           "ratio_values", "store_values", "stored_values", "tile", "trends", "values"]

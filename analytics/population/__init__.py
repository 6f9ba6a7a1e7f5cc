"""Residents: who lives where, by age and sex, and how the population changes.

- :mod:`~analytics.population.residents`: the service age groups and the read models of the
  store's population tables (by cell, by district and single year of age, pyramids).
- :mod:`~analytics.population.demography`: the cohort-component arithmetic (life tables,
  fertility, migration schedules) that the synthetic city and the forecasts share.

>>> from analytics import population
>>> list(population.AGE_GROUPS)[:3]
['0-2', '3-5', '6-11']
>>> population.service_group("60+")
('60-64', '65-69', '70-74', '75-79', '80+')
"""

from analytics.population import demography, residents
from analytics.population.residents import (
    AGE_GROUPS,
    CENSUS_YEAR,
    MAX_AGE,
    SERVICE_GROUPS,
    age_group_of,
    default_year,
    district_summary,
    district_trend,
    group_by_cell,
    pyramid,
    service_group,
    years,
)

__all__ = ["AGE_GROUPS", "CENSUS_YEAR", "MAX_AGE", "SERVICE_GROUPS", "age_group_of",
           "default_year", "demography",
           "district_summary", "district_trend", "group_by_cell", "pyramid", "residents",
           "service_group", "years"]

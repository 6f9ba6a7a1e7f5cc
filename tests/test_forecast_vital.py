"""Registered births (the health commission's vital events) drive the cohort model's fertility.

The store is ``dash_fixture``'s: 西湖区 (330106) has 500 women, all aged 30, in every year,
and no infant (its youngest residents are 1), so the births its infants imply are 0 and its
estimated fertility is 0 until a department reports births. The 2020 national fertility
pattern (ASFR per 1,000 by five-year group: 4.81, 47.96, 97.76, 70.22, 30.11, 7.44, 1.70)
sums over single ages to 5 x 0.26 = 1.3, so at a total fertility rate of 1 a woman of 30
has 0.07022 / 1.3 births a year: the 500 women would have 500 x 0.07022 / 1.3 = 27.008.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from dash_fixture import make_store

from analytics.forecast import load_history
from analytics.forecast.cohort import CohortComponentForecaster, fertility_path, project
from analytics.identity import Actor
from analytics.pooling import ingest

ADMIN = Actor("ada", "administrator")
XIHU = 0  # index of 330106 among the history's districts (330106, 330108)
EXPOSURE = 500 * 0.07022 / 1.3
# The national crude birth rate 2017-2020 (12.43, 10.94, 10.48, 8.52 per 1,000): the
# least-squares slope of its logarithm over the years (x - 2018.5 = -1.5, -0.5, 0.5, 1.5;
# the sum of their squares is 5)
TREND = (-1.5 * math.log(12.43) - 0.5 * math.log(10.94) + 0.5 * math.log(10.48)
         + 1.5 * math.log(8.52)) / 5


@pytest.fixture
def store():
    s = make_store()
    yield s
    s.close()


def _births_file(tmp_path, boys: int, girls: int):
    path = tmp_path / "vital.csv"
    pd.DataFrame([(2020, "西湖区", "M", boys, 4), (2020, "西湖区", "F", girls, 3)],
                 columns=["年份", "区县", "性别", "出生人数", "死亡人数"]).to_csv(path, index=False)
    return path


def _first_year_births(model) -> float:
    """Births of 2021 in 西湖区: the model's age 0 with nobody dying (and no infant migrants)."""
    tfr = fertility_path(model.tfr_, model.fertility_trend_, 1, model.damping)
    out = project(model.base_population_, 2021, 1, tfr, model.migrants_recent_,
                  mortality=lambda year: np.zeros((2, 101)))
    return float(out[0, XIHU, :, 0].sum())


def test_registered_births_set_the_fertility_and_the_births_projected(store, tmp_path):
    plain = load_history(store, 2020)
    before = CohortComponentForecaster().fit(plain)
    assert before.tfr_[XIHU] == 0.0 and _first_year_births(before) == 0.0

    # the health commission reports 16 boys and 14 girls born in 西湖区 in 2020
    ingest.load(store, _births_file(tmp_path, 16, 14), "health_vital_events", ADMIN)
    history = load_history(store, 2020)
    assert history.births[-1].tolist()[0] == 30 and np.isnan(history.births[-1, 1])
    model = CohortComponentForecaster().fit(history)
    # fertility: the 30 births over the 27.008 a TFR of 1 would give
    assert model.tfr_[XIHU] == pytest.approx(30 / EXPOSURE)
    # 2021: the same 500 women at that fertility, moved one damped step (0.8) of the trend
    assert _first_year_births(model) == pytest.approx(30 * math.exp(0.8 * TREND))
    # 滨江区 has no registered births: its fertility still comes from its infants (none)
    assert model.tfr_[1] == before.tfr_[1]
    # the store's history changed, so no cached forecast is reused
    assert history.fingerprint != plain.fingerprint

    # rolled back: the synthetic layer's births are not registered, fertility is 0 again
    ingest.rollback(store, "health_vital_events", ADMIN)
    again = load_history(store, 2020)
    assert again.births is None
    assert CohortComponentForecaster().fit(again).tfr_[XIHU] == 0.0


def test_births_of_other_years_do_not_move_the_base_years_fertility(store, tmp_path):
    path = tmp_path / "old.csv"
    pd.DataFrame([(2017, "西湖区", "M", 40, 4), (2017, "西湖区", "F", 40, 3)],
                 columns=["年份", "区县", "性别", "出生人数", "死亡人数"]).to_csv(path, index=False)
    ingest.load(store, path, "health_vital_events", ADMIN)
    history = load_history(store, 2020)
    assert np.nansum(history.births) == 80 and history.years[-4] == 2017
    # the model measures fertility on the last year (2020) only: still no births there
    assert CohortComponentForecaster().fit(history).tfr_[XIHU] == 0.0
    # cut at 2017, the 80 births are that year's: 80 over the same 27.008
    assert CohortComponentForecaster().fit(history.until(2017)).tfr_[XIHU] == pytest.approx(
        80 / EXPOSURE)

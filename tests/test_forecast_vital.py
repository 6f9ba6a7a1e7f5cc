"""Registered births and deaths (the health commission's vital events) drive the cohort model:
its fertility, and each district's life table.

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
from analytics.forecast.cohort import (
    MORTALITY_SCALE_BOUNDS,
    CohortComponentForecaster,
    fertility_path,
    mortality_scale,
    project,
    rate_history,
)
from analytics.forecast.data import History
from analytics.identity import Actor
from analytics.pooling import ingest
from analytics.population import demography

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


def _ageing_history(deaths):
    """One district of men, 1,000 aged 50 in 2019, who die at 15 % a year and never move:
    850 aged 51 in 2020 and 722.5 aged 52 in 2021 (150 and 127.5 deaths)."""
    persons = np.zeros((3, 1, 2, 101))
    persons[0, 0, 0, 50], persons[1, 0, 0, 51], persons[2, 0, 0, 52] = 1000.0, 850.0, 722.5
    return History(np.array([2019, 2020, 2021]), np.array([330106]), persons, 330100,
                   deaths=deaths)


def _table(year):
    """A life table that says 10 % die a year at every age (the truth is 15 %)."""
    return np.full((2, 101), 0.10)


def test_registered_deaths_scale_the_life_table_and_move_deaths_out_of_migration():
    history = _ageing_history(np.array([[np.nan], [150.0], [127.5]]))
    # expected by the table: 1,000 x 0.1 = 100 and 850 x 0.1 = 85; registered 277.5 in all
    scale = mortality_scale(history, _table)
    assert scale.tolist() == [pytest.approx(277.5 / 185)] == [pytest.approx(1.5)]
    # with the table alone, the residual method reads the extra deaths as emigrants:
    # 850 - 1,000 x 0.9 = -50 at 51, and 722.5 - 850 x 0.9 = -42.5 at 52
    _, migrants = rate_history(history, _table)
    assert migrants[:, 0, 0, 51][0] == pytest.approx(-50) and \
        migrants[:, 0, 0, 52][1] == pytest.approx(-42.5)
    # scaled to the registered deaths (15 %), nobody moved
    _, migrants = rate_history(history, _table, scale=scale)
    assert np.abs(migrants).max() == pytest.approx(0, abs=1e-9)
    # and the next year's 53-year-olds are 722.5 x 0.85 = 614.125
    out = project(history.persons[-1], 2022, 1, np.zeros(1), np.zeros((1, 2, 101)), _table,
                  scale=scale)
    assert out[0, 0, 0, 53] == pytest.approx(614.125)


def test_mortality_scale_is_bounded_and_one_without_registered_deaths():
    assert mortality_scale(_ageing_history(None), _table).tolist() == [1.0]
    tenfold = _ageing_history(np.array([[np.nan], [1000.0], [850.0]]))
    assert mortality_scale(tenfold, _table).tolist() == [MORTALITY_SCALE_BOUNDS[1]]
    none_died = _ageing_history(np.array([[np.nan], [0.0], [0.0]]))
    assert mortality_scale(none_died, _table).tolist() == [MORTALITY_SCALE_BOUNDS[0]]


def test_a_loaded_deaths_register_reaches_the_forecaster_and_leaves_with_a_rollback(
        store, tmp_path):
    # 7 deaths registered in 西湖区 in 2020: its scale is 7 over the deaths the engine's own
    # one-year step counts among its residents of 2019 (it has no infants, so no births to
    # add); 滨江区 has no registered deaths and keeps the table
    ingest.load(store, _births_file(tmp_path, 16, 14), "health_vital_events", ADMIN)
    history = load_history(store, 2020)
    assert history.deaths[-1, XIHU] == 7 and np.isnan(history.deaths[-1, 1])
    assert history.persons[-1, XIHU, :, 0].sum() == 0
    q = demography.mortality(2020, history.city_adcode)
    expected = demography.step_forward(history.persons[-2, XIHU], q, np.zeros(101),
                                       np.zeros((2, 101))).deaths
    model = CohortComponentForecaster().fit(history)
    assert model.mortality_scale_.tolist() == [pytest.approx(7 / expected), 1.0]
    assert 0.5 < 7 / expected < 2  # inside the bounds, so not clipped
    ingest.rollback(store, "health_vital_events", ADMIN)
    again = load_history(store, 2020)
    assert again.deaths is None
    assert CohortComponentForecaster().fit(again).mortality_scale_.tolist() == [1.0, 1.0]

"""The demographic engine on tiny populations with answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.citygen.population import largest_remainder, split_five_year
from analytics.population import demography

N = demography.MAX_AGE + 1


def test_no_births_deaths_or_migration_shifts_every_cohort_one_year():
    pop = np.zeros((2, N))
    pop[0, 30] = 100
    pop[1, 64] = 7
    pop[1, 99] = 3
    pop[1, 100] = 2
    out = demography.step_forward(pop, np.zeros((2, N)), np.zeros(N), np.zeros((2, N)))
    assert out.population[0, 31] == 100
    assert out.population[1, 65] == 7
    assert out.population[1, 100] == 5  # 99 -> 100+, and 100+ stays
    assert out.population.sum() == pop.sum()
    assert out.births == 0 and out.deaths == 0


def test_one_step_by_hand():
    # 1,000 women aged 30 with fertility 0.1 and death probability 0.01; 50 male migrants
    # aged 25 at the end of the year; infants die at half their q0 of 0.02 before year end.
    pop = np.zeros((2, N))
    pop[1, 30] = 1000
    q = np.zeros((2, N))
    q[1, 30] = 0.01
    q[:, 0] = 0.02
    fert = np.zeros(N)
    fert[30] = 0.1
    mig = np.zeros((2, N))
    mig[0, 25] = 50
    out = demography.step_forward(pop, q, fert, mig)
    boys = 100 * 1.1066 / 2.1066  # births split by the sex ratio at birth
    assert out.births == pytest.approx(100)
    assert out.population[1, 31] == pytest.approx(990)
    assert out.population[0, 0] == pytest.approx(boys * 0.99)
    assert out.population[1, 0] == pytest.approx((100 - boys) * 0.99)
    assert out.population[0, 25] == 50
    assert out.deaths == pytest.approx(10 + 100 * 0.01)


def test_step_back_inverts_step_forward():
    rng = np.random.default_rng(1)
    pop = rng.uniform(100, 1000, size=(2, N))
    q = demography.mortality(2020)
    mig = 500 * demography.migration_profile()
    fwd = demography.step_forward(pop, q, np.zeros(N), mig)
    back, births = demography.step_back(fwd.population, q, mig)
    np.testing.assert_allclose(back[:, :99], pop[:, :99], rtol=1e-12)
    assert back[:, 99:].sum() == pytest.approx(pop[:, 99:].sum(), rel=0.05)
    assert births == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("e0", [74.83, 77.93, 83.12])
def test_life_table_reproduces_life_expectancy(e0):
    assert demography.life_expectancy(demography.death_probabilities(e0)) == pytest.approx(e0, abs=1e-6)


def test_life_expectancy_of_a_known_table():
    # everyone dies in their first year (q0 = 1): half a year lived on average
    q = np.ones(N)
    assert demography.life_expectancy(q) == pytest.approx(0.5, abs=1e-6)


def test_fertility_schedule_sums_to_tfr():
    assert demography.fertility_schedule(1.3).sum() == pytest.approx(1.3)
    assert demography.fertility_schedule(1.0)[:15].sum() == 0


def test_migration_profile_is_a_distribution_peaking_in_the_twenties():
    profile = demography.migration_profile()
    assert profile.sum() == pytest.approx(1)
    assert 18 <= int(np.argmax(profile[0])) <= 30


def test_split_five_year_preserves_group_sums():
    lo = np.array([0, 5, 10, 100])
    hi = np.array([4, 9, 99, 100])
    counts = np.array([50.0, 100.0, 900.0, 3.0])
    single = split_five_year(lo, hi, counts)
    assert single[0:5].sum() == pytest.approx(50)
    assert single[5:10].sum() == pytest.approx(100)
    assert single[100] == 3
    assert (single[0:5] > 0).all() and single[4] > single[0]  # rising towards the next group


def test_largest_remainder_by_hand():
    got = largest_remainder(np.array([[1.5, 1.3, 1.2], [0.6, 0.6, 0.8]]))
    # row 1: floors 1,1,1 and total 4: the one extra unit goes to the 0.5 remainder
    # row 2: floors 0,0,0 and total 2: units go to 0.8, then the first 0.6
    assert got.tolist() == [[2, 1, 1], [1, 0, 1]]
    assert largest_remainder(np.array([[2.0, 3.0]]), np.array([5])).tolist() == [[2, 3]]

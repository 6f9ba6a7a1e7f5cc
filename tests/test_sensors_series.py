"""The series detector does not cry wolf: heavy tails, held values, long incidents, and the
artificial signals of :func:`analytics.sensors.corpus.artificial`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics.sensors import corpus, nab
from analytics.sensors import series as series_module
from analytics.sensors.score import detector_for, score_series
from analytics.sensors.series import THRESHOLD, WARMUP_MIN, SeriesDetector, detect


def test_a_run_no_longer_than_earlier_runs_is_not_news():
    # noise, a value held 30 times (29 repeats: the longest run so far), noise, then a value
    # held 60 times. The second run scores 1 - p ** (run - 29), p = (repeats so far + 1) / n,
    # so it alerts only once it is k values longer than the first, with 1 - p**k >= 0.999999
    rng = np.random.default_rng(11)
    x = np.r_[rng.normal(0, 1, 300), np.full(30, 0.5), rng.normal(0, 1, 300), np.full(60, 0.25)]
    s, alert = detect(x)
    start = 630                      # first value of the second run (its run length is 0)
    expected = None
    for r in range(1, 60):
        i = start + r
        p = (29 + (r - 1) + 1) / (i + 1)
        if r > 29 and 1 - p ** (r - 29) >= THRESHOLD:
            expected = i
            break
    assert expected is not None and expected > start + 29
    assert s[start + 29] < THRESHOLD             # as long as the first run: no alert
    assert np.flatnonzero(alert[start:]).tolist() == [expected - start]


def test_a_long_incident_raises_one_alert():
    # 400 calm values, then 300 values twenty times as noisy: one alert at its start, none
    # after the 50-value hold-off, because the hold-off counts calm values only
    rng = np.random.default_rng(2)
    x = np.r_[rng.normal(0, 1, 400), rng.normal(0, 20, 300)]
    _, alert = detect(x)
    hits = np.flatnonzero(alert).tolist()
    assert len(hits) == 1 and 400 <= hits[0] < 410


def test_heavy_tails_are_learned_not_alerted():
    # Student-t noise with 5 degrees of freedom: the spread is raised until the 99.9th
    # percentile of past errors sits at |z| = 3.29, so an alert (|z| >= 4.89) needs a value
    # 4.89 / 3.29 = 1.49 times that percentile. Expected count over 10 x 2,550 values:
    # 25,500 x P(|t5| > 1.49 q) with q the 99.9th percentile of |t5| (about 3.9, so at most 9 allowed); the
    # earlier spread (the 99th percentile at |z| = 2.58) gave 27
    z_alert = stats.norm.isf((1 - THRESHOLD) / 2)
    q = stats.t.isf(0.0005, 5)
    lam = 25_500 * 2 * stats.t.sf(z_alert / 3.2905 * q, 5)
    count = 0
    for seed in range(10):
        x = np.random.default_rng(seed).standard_t(5, 3000)
        _, alert = detect(x, warmup=450)
        count += int(alert.sum())
    assert 3.5 < lam < 4.5
    assert count <= lam + 3 * np.sqrt(lam)
    # one value far beyond anything seen raises an alert there
    y = np.random.default_rng(4).standard_t(5, 3000)
    y[2000] = 10 * np.abs(y[:2000]).max()
    _, alert = detect(y, warmup=450)
    assert 2000 in np.flatnonzero(alert).tolist()


def test_artificial_clean_signals_raise_nothing():
    clean, _ = corpus.artificial()
    for s in clean:
        out = score_series(s.frame)
        assert out["is_anomaly"].sum() == 0, s.name
        assert out["score"].between(0, 1).all()


def test_artificial_anomalies_are_found_in_their_windows():
    _, anomalous = corpus.artificial()
    for s in anomalous:
        d = score_series(s.frame)["is_anomaly"].to_numpy()
        r = nab.score_detections(s.frame["timestamp"], d, s.windows)
        assert r.tp == 1, s.name


def test_each_step_says_which_test_spoke():
    det = SeriesDetector(warmup=50)
    rng = np.random.default_rng(0)
    for v in rng.normal(0, 1, 200):
        det.update(v)
    st = det.update(100.0)
    assert st.alert and st.kind == "value" and st.score == pytest.approx(1.0)
    # the surprise behind the score: score = 2 Φ(z) − 1 (here z is about 100 spreads)
    assert st.z > 50
    st = det.update(0.3)
    assert st.score == pytest.approx(2 * stats.norm.cdf(st.z) - 1, abs=1e-12)


def test_a_short_series_is_watched_after_thirty_values():
    # ten years of monthly values (120): the benchmark's probation is floor(0.15 x 120) = 18
    # values, so the warm-up is the least one, WARMUP_MIN = 30 values; a spike of 12 sigma
    # at value 40 alerts there and nowhere else (a least warm-up of 50 missed it)
    assert WARMUP_MIN == 30 and nab.probation(120) == 18
    x = np.random.default_rng(0).normal(0, 1, 120)
    x[40] += 12
    frame = pd.DataFrame({"timestamp": pd.date_range("2000-01-01", periods=120, freq="MS"),
                          "value": x})
    out = score_series(frame)
    assert np.flatnonzero(out["is_anomaly"].to_numpy()).tolist() == [40]
    assert np.flatnonzero(detect(x, warmup=50)[1]).tolist() == []


def _day_noisier_than_night(seed: int, day_noise: float = 5.0) -> np.ndarray:
    # 14 days of 5-minute values (288 a day): 20 ± 1 at night, 80 ± 5 from 09:00 to 18:00
    # (as the benchmark's artificialNoAnomaly/art_daily_small_noise: busy hours are noisier)
    t = np.arange(14 * 288)
    day = (t % 288 >= 108) & (t % 288 < 216)
    rng = np.random.default_rng(seed)
    return np.where(day, 80 + rng.normal(0, day_noise, len(t)), 20 + rng.normal(0, 1, len(t)))


def test_a_noisier_time_of_day_is_judged_on_its_own_spread(monkeypatch):
    # nothing here is anomalous; judged on the series' overall spread (the quiet night's,
    # 62 % of the values), the first hours of every day look like a burst of surprises
    x = _day_noisier_than_night(14)
    _, alert = detect(x, seasons=(288, 2016), warmup=604)
    assert alert.sum() == 0
    monkeypatch.setattr(series_module, "PHASE_BINS", 10**6)   # no phase of its own
    _, alert = detect(x, seasons=(288, 2016), warmup=604)
    assert alert.sum() >= 1
    monkeypatch.undo()
    # a value 12 day-time spreads off at noon on day 12 still alerts, there
    y = _day_noisier_than_night(14)
    y[12 * 288 + 144] += 60
    _, alert = detect(y, seasons=(288, 2016), warmup=604)
    assert np.flatnonzero(alert).tolist() == [12 * 288 + 144]


def _bursty_counts(seed: int) -> np.ndarray:
    # 6,000 counts (Poisson, mean 10) whose normal life comes in bursts: about every 300
    # values, 10 values at three times the rate (as the volume of tweets about a company)
    rng = np.random.default_rng(seed)
    rate = np.full(6000, 10.0)
    for start in range(150, 6000, 300):
        start += int(rng.integers(-50, 50))
        rate[start:start + 10] *= 3
    return rng.poisson(rate).astype(float)


@pytest.mark.parametrize("seed", range(5))
def test_a_series_that_lives_in_bursts_is_not_news_at_each_one(seed, monkeypatch):
    # the burst test judged on a Gaussian tail of its long-run mean and variance calls the
    # twenty bursts news several times; judged on its own 99.9th percentile, none of them
    x = _bursty_counts(seed)
    assert detect(x, warmup=900)[1].sum() == 0
    monkeypatch.setattr(series_module, "BURST_TAIL_Z", 0)
    assert detect(x, warmup=900)[1].sum() >= 4
    monkeypatch.undo()
    # a count of 200 (20 times the rate, 3 times any burst's) is still news, there
    y = x.copy()
    y[4321] = 200
    assert np.flatnonzero(detect(y, warmup=900)[1]).tolist() == [4321]


def test_a_value_beyond_the_tail_is_judged_on_a_generalised_normal(monkeypatch):
    # a Laplace of scale 1: the median of |e| is ln 2 and its 99.9th percentile ln 1000 (a
    # ratio of 9.97, a Gaussian's is 4.88); P(|e| > ln 10^6) = 10^-6 exactly, which is
    # |z| = 4.8916 of a Gaussian (Φ^-1(1 - 5e-7))
    monkeypatch.setattr(series_module, "BETA_FLOOR", 1.0)
    series_module._gennorm_ratios.cache_clear()
    assert series_module.tail_z(math.log(1e6), math.log(2), math.log(1000)) == pytest.approx(
        4.8916, abs=1e-3)
    monkeypatch.undo()
    series_module._gennorm_ratios.cache_clear()
    # held at a shape of 1.3, the same value is more surprising than under the Laplace and
    # far less than under a Gaussian of the same median (σ = ln 2 / 0.6745 = 1.0277, so
    # |z| = ln 10^6 / 1.0277 = 13.44)
    z = series_module.tail_z(math.log(1e6), math.log(2), math.log(1000))
    assert 4.8916 + 0.5 < z < 13.44 - 5
    # within the percentile, or with tails no heavier than a Gaussian's, it does not judge
    assert series_module.tail_z(6.0, math.log(2), math.log(1000)) == math.inf
    assert series_module.tail_z(5.0, 0.6745, 3.2905) == math.inf


def _poll(seed: int, every: int = 30, n: int = 6000) -> np.ndarray:
    # a value held between updates, as a poll is: every 30th value moves by N(0, 1) (a random
    # walk of its updates), the 29 between repeat it
    rng = np.random.default_rng(seed)
    steps = np.zeros(n)
    updates = np.arange(every, n, every)
    steps[updates] = rng.normal(0, 1, len(updates))
    return 45 + np.cumsum(steps)


def test_a_series_that_holds_its_value_is_judged_on_its_updates(monkeypatch):
    # 200 updates of N(0, 1) per series, ten series: under a Gaussian, a move beyond |z| = 4.89
    # has a chance of 1e-6 each, so none is expected. Judged on all its values, 29 of 30 of
    # them with no error at all, an ordinary update looks like news (twice in seed 1, once
    # in seed 8); judged on the earlier updates' errors, none does
    assert sum(detect(_poll(seed), warmup=900)[1].sum() for seed in range(10)) == 0
    monkeypatch.setattr(series_module, "CHANGE_MIN", 0)     # judged on all values
    assert sum(detect(_poll(seed), warmup=900)[1].sum() for seed in range(10)) >= 2
    monkeypatch.undo()
    # an update of 8 (8 of its standard deviations) is news at once
    for seed in range(5):
        x = _poll(seed)
        x[4200:] += 8 - (x[4200] - x[4199])
        assert np.flatnonzero(detect(x, warmup=900)[1]).tolist() == [4200]


@pytest.mark.parametrize("seed", range(3))
def test_an_outage_does_not_make_the_next_one_look_ordinary(seed, monkeypatch):
    # calm, an outage (noise 20 or 6 times the calm one), calm, the same outage again: each
    # alerts once, within its first 20 values. Had the first outage taught the spreads, the second would
    # look ordinary (FREEZE off: it raises nothing)
    for mult, length in ((20, 300), (6, 100)):
        rng = np.random.default_rng(seed)
        x = np.r_[rng.normal(0, 1, 600), rng.normal(0, mult, length), rng.normal(0, 1, 600),
                  rng.normal(0, mult, length), rng.normal(0, 1, 600)]
        second = 1200 + length
        hits = np.flatnonzero(detect(x)[1])
        assert len(hits) == 2 and 600 <= hits[0] < 620 and second <= hits[1] < second + 20
        monkeypatch.setattr(series_module, "FREEZE", False)
        hits = np.flatnonzero(detect(x)[1])
        assert not ((hits >= second) & (hits < second + length)).any()
        monkeypatch.undo()


@pytest.mark.parametrize("seed", range(3))
def test_a_big_value_the_hold_off_silenced_is_learned(seed, monkeypatch):
    # 12 at value 1000 alerts; -12 at 1030 (29 calm values later, inside the 50-value
    # hold-off) is silenced, and, the incident being over after 20 calm values, it teaches
    # the spreads: 11 at 1300 is then within the series' own extremes and not news. Kept out
    # of the spreads as part of the first incident, it made 11 alert
    x = np.random.default_rng(seed).normal(0, 1, 1600)
    x[1000], x[1030], x[1300] = 12, -12, 11
    assert np.flatnonzero(detect(x)[1]).tolist() == [1000]
    monkeypatch.setattr(series_module, "FREEZE_CALM", 10**9)   # the incident lasts the hold-off
    assert np.flatnonzero(detect(x)[1]).tolist() == [1000, 1300]


def test_each_hour_of_the_day_is_forecast_by_the_one_that_serves_it_best(monkeypatch):
    # the day eight times as noisy as the night: over a busy day a forecaster with no cycle
    # (a level smoothing) can have the smallest recent error, and then expects 80 at 18:00,
    # when the night's 20 comes. Chosen by its record at that hour of the day, the one that
    # knows the cycle speaks there, and the evening's drop is not news (six seeds)
    seeds = range(6)
    assert sum(detect(_day_noisier_than_night(s, 8.0), seasons=(288, 2016),
                      warmup=604)[1].sum() for s in seeds) == 0
    monkeypatch.setattr(series_module, "PHASE_PICK_MIN", 0)    # one choice for all hours
    hits = [np.flatnonzero(detect(_day_noisier_than_night(s, 8.0), seasons=(288, 2016),
                                  warmup=604)[1]) for s in seeds]
    assert sum(len(h) for h in hits) >= 2
    assert all(i % 288 == 216 for h in hits for i in h)          # each at 18:00


def test_the_hour_picks_its_forecaster_only_on_a_steady_clock():
    # 5-minute readings: every step 300 s, or steps of 240, 300 and 360 s in turn (the same
    # median, but only a third of the steps at it: a clock not to be trusted to keep the
    # time of day by counting values)
    steady = pd.date_range("2024-01-01", periods=3000, freq="5min")
    uneven = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        np.r_[0, np.cumsum(np.tile([240, 300, 360], 1000))[:-1]], unit="s")
    for ts, pick in ((steady, True), (uneven, False)):
        det = detector_for(pd.DataFrame({"timestamp": ts, "value": 1.0}))
        assert det.seasons == (288, 2016) and det.phase_pick is pick

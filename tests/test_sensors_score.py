"""``sensors score``: an anomaly likelihood of any timestamp,value series; the z-score baseline."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from analytics.cli import main
from analytics.errors import CityBrainError
from analytics.sensors.score import detector_for, read_series, robust_scores, score_series
from analytics.sensors.series import detect, seasons_for


def write(tmp_path, text):
    path = tmp_path / "series.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_zscore_baseline_by_hand():
    # forty values cycling 11, 12, 10: median 11, MAD 1 -> sigma 1.4826; then a spike of 50
    x = np.r_[[10 + (i + 1) % 3 for i in range(40)], 50.0]
    s = robust_scores(x, window=40)
    assert s[-1] == pytest.approx(39 / 1.4826)
    assert s[0] == 0.0                              # no past yet: score 0


def test_zscore_flat_past_no_longer_blows_up():
    # values that varied, then a flat run at 0, then 1: the floor is 1 % of the spread so
    # far (not 1e-9 + 1e-3 × level 0), so the score is about 1 / (0.01 × sd), not 1e9
    x = np.r_[np.tile([-1.0, 1.0], 50), np.zeros(60), 1.0]
    s = robust_scores(x, window=20)
    sd = np.std(x[:-1])
    assert s[-1] == pytest.approx(1 / (0.01 * sd))
    assert s[-1] < 1e3


def test_score_cli_prints_a_bounded_likelihood_and_one_alert(tmp_path, capsys):
    # 600 values of a 4-step cycle (5-minute readings), a spike of 50 at value 590 and a
    # level shift of +5 from value 595 on: the first is one alert; the shift, within the
    # hold-off, raises none
    vals = [10 + (i % 4) * 0.5 for i in range(600)]
    vals[590] = 50.0
    for i in range(595, 600):
        vals[i] += 5
    ts = pd.date_range("2024-01-01", periods=600, freq="5min")
    lines = ["timestamp,value"] + [f"{t:%Y-%m-%d %H:%M:%S},{v}" for t, v in zip(ts, vals, strict=True)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert main(["sensors", "score", str(path)]) == 0
    out = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(out.columns) == ["timestamp", "value", "score", "is_anomaly"]
    assert len(out) == 600
    assert out["score"].between(0, 1).all()
    assert out["score"].iat[590] == 1.0
    assert out.index[out["is_anomaly"] == 1].tolist() == [590]


def test_score_uses_only_the_past():
    x = np.r_[np.tile([0.0, 1.0], 100), 100.0, np.zeros(5)]
    s, _ = detect(x)
    s_prefix, _ = detect(x[:201])
    assert s[200] == s_prefix[200] == 1.0           # later values do not change a score
    z = robust_scores(x, window=20)
    assert z[200] == robust_scores(x[:201], window=20)[200] > 50


def test_flat_zero_series_scores_a_change_once():
    # the reported blow-up: a long flat run at 0; the new score stays in [0, 1] and a
    # change raises one alert, not one per value after it
    x = np.r_[np.zeros(300), np.ones(100)]
    s, alert = detect(x)
    assert s.max() <= 1.0
    assert np.flatnonzero(alert).tolist() == [300]


def test_a_stuck_value_is_an_alert():
    # a series that never repeated a value, then holds 0.5 from value 400 on. The chance
    # of a repeat is (repeats so far + 1) / n; the run of r repeats scores 1 - p^r:
    # value 402 (r = 2, one repeat before, n = 403): 1 - (2/403)^2 = 0.9999754 < 0.999999
    # value 403 (r = 3, n = 404): 1 - (3/404)^3 = 0.99999959 -> the alert
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(0, 1, 400), np.full(20, 0.5)]
    s, alert = detect(x)
    assert s[402] == pytest.approx(1 - (2 / 403) ** 2, abs=1e-12)
    assert s[403] == pytest.approx(1 - (3 / 404) ** 3, abs=1e-12)
    assert np.flatnonzero(alert).tolist() == [403]


def test_seasons_from_the_step():
    assert seasons_for(300) == (288, 2016)          # 5-minute readings: day and week
    assert seasons_for(3600) == (24, 168)
    assert seasons_for(86_400) == (7,)              # daily: the week
    assert seasons_for(30 * 86_400) == ()           # monthly: none
    assert seasons_for(86_400, business_days=True) == (5,)   # a market: 5 values a week
    assert seasons_for(3600, business_days=True) == (24, 168)  # only daily values change


def test_a_market_week_is_five_values():
    # 800 working days (no Saturday or Sunday): every Monday is 8 above the other days
    # (noise 1), and one Wednesday gets +8 too. Only a cycle of 5 values knows that +8 is
    # Monday's: with the calendar week of 7 values (or none) the Monday peak drifts through
    # the cycle, the Wednesday reads as an ordinary peak, and the forecasters, thrown off,
    # alert 3 values late on a normal Monday (605) instead.
    rng = np.random.default_rng(1)
    days = pd.bdate_range("2015-01-05", periods=800)
    x = 10 + 8 * (days.day_of_week == 0) + rng.normal(0, 1, 800)
    wed = int(np.flatnonzero(days.day_of_week == 2)[120])
    x[wed] += 8
    frame = pd.DataFrame({"timestamp": days.strftime("%Y-%m-%d"), "value": x})
    assert score_series(frame)["is_anomaly"].to_numpy().nonzero()[0].tolist() == [wed]
    assert detect(x, (7,), warmup=120)[1].nonzero()[0].tolist() == [wed + 3]


@pytest.mark.parametrize("text, message", [
    ("time,value\n2024-01-01,1\n", "missing column.*timestamp"),
    ("timestamp,value\n2024-01-01,1\nsoon,2\n", r"row 3, column timestamp: 'soon'"),
    ("timestamp,value\n2024-01-01,1\n2024-01-02,n/a\n", r"row 3, column value: 'n/a'"),
    ("timestamp,value\n", "no rows"),
    # squares of 1e308 overflow a double: refused by name, not a traceback from the detector
    ("timestamp,value\n2024-01-01,1\n2024-01-02,1e308\n", r"row 3, column value: '1e308' is too large"),
    # the detector reads in time order: a step back in time is named, not scored as it comes
    ("timestamp,value\n2024-01-01 00:10,1\n2024-01-01 00:10,2\n2024-01-01 00:05,3\n",
     r"row 4, column timestamp: '2024-01-01 00:05' is earlier than the row before"),
])
def test_bad_series_are_named(tmp_path, text, message):
    with pytest.raises(CityBrainError, match=message):
        read_series(write(tmp_path, text))


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    assert main(["sensors", "score", str(tmp_path / "nope.csv")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_the_hold_off_is_what_the_help_says(capsys):
    # the help gives the default hold-off as a share of the shortest cycle; for 5-minute
    # readings (288 a day) a third of a day is 96 values, and for yearly values (no cycle)
    # the least, 50
    with pytest.raises(SystemExit):
        main(["sensors", "score", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "1/3 of the series' shortest cycle" in help_text and "at least 50" in help_text
    five_min = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=10, freq="5min"),
                             "value": 1.0})
    yearly = pd.DataFrame({"timestamp": pd.date_range("1900-01-01", periods=10, freq="YS"),
                           "value": 1.0})
    assert detector_for(five_min).holdoff == 96
    assert detector_for(yearly).holdoff == 50

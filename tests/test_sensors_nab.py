"""The benchmark's scoring rules on tiny cases worked out by hand.

A 100-value series (one value a minute) with one window covering values 40..49 (10 values);
the probationary period is floor(0.15 × 100) = 15 values. σ(y) = 2 / (1 + e^{5y}) − 1, and
a detection at a window's start earns σ(−1) / σ(−1) = 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.cli import main
from analytics.errors import CityBrainError
from analytics.sensors import nab
from analytics.sensors.score import read_series, score_series

TS = pd.Series(pd.date_range("2024-01-01", periods=100, freq="min"))
WINDOW = [(TS.iat[40], TS.iat[49])]


def raw(*hits):
    d = np.zeros(100, bool)
    d[list(hits)] = True
    return nab.score_detections(TS, d, WINDOW)


def test_probation_is_15_percent_capped_at_750():
    assert nab.probation(100) == 15
    assert nab.probation(10_000) == 750


def test_detection_at_window_start_is_perfect():
    s = raw(40)
    assert s.raw == pytest.approx(1.0)
    assert (s.tp, s.fp, s.fn) == (1, 0, 0)
    assert nab.normalised([s]) == pytest.approx(100.0)


def test_later_detection_earns_less_and_only_the_first_counts():
    # at the window's last value y = -(49 - 49 + 1) / 10 = -0.1:
    # σ(-0.1) = 2 / (1 + e^-0.5) - 1 = 0.244919; divided by σ(-1) = 0.986614 -> 0.248242
    assert raw(49).raw == pytest.approx(0.248242, abs=1e-6)
    assert raw(40, 45, 49).raw == pytest.approx(1.0)
    # normalised: (0.248242 - (-1)) / (1 - (-1)) × 100
    assert nab.normalised([raw(49)]) == pytest.approx(62.4121, abs=1e-3)


def test_never_fires_scores_zero():
    s = raw()
    assert s.raw == -1.0 and s.fn == 1
    assert nab.normalised([s]) == 0.0


def test_false_positives_cost_0_11_scaled_by_distance():
    # before the first window: the full 0.11
    assert raw(20, 40).raw == pytest.approx(1 - 0.11)
    # just after the window (value 50): y = |49 - 50| / (10 - 1) = 1/9,
    # σ(1/9) = 2 / (1 + e^(5/9)) - 1 = -0.270847 -> × 0.11 = -0.029793
    assert raw(40, 50).raw == pytest.approx(1 - 0.029793, abs=1e-6)
    # value 59: y = 10/9, σ = -0.992298 -> -0.109153
    assert raw(40, 59).raw == pytest.approx(1 - 0.109153, abs=1e-6)
    # more than 3 window lengths past: the full 0.11
    assert raw(40, 80).raw == pytest.approx(1 - 0.11)


def test_probationary_detections_are_not_scored():
    assert raw(3, 40).raw == pytest.approx(1.0)
    assert raw(3, 40).fp == 0


def test_corpus_normalisation_sums_raw_scores():
    # two series: one perfect (+1), one missed (-1): (0 - (-2)) / (2 - (-2)) = 50
    assert nab.normalised([raw(40), raw()]) == pytest.approx(50.0)


def test_windows_follow_the_benchmark_rule():
    # 10 % of 100 values / 1 anomaly = 10 values, centred: 55 - 5 .. 55 + 5
    (start, end), = nab.windows_around(TS, [TS.iat[55]])
    assert (start, end) == (TS.iat[50], TS.iat[60])


def test_delay_counts_values_from_the_anomaly():
    d = np.zeros(100, bool)
    d[47] = True
    s = nab.score_detections(TS, d, WINDOW, anomaly_at=[TS.iat[44]])
    assert s.delays == [3]


def test_cli_scores_a_labelled_folder(tmp_path, capsys):
    # a flat series with one jump in a labelled window: the detector finds it at the jump
    values = np.r_[np.tile([10.0, 11.0, 10.5, 9.5], 200)]
    values[700] = 40.0
    ts = pd.date_range("2024-01-01", periods=800, freq="5min")
    (tmp_path / "s").mkdir()
    pd.DataFrame({"timestamp": ts, "value": values}).to_csv(tmp_path / "s" / "a.csv",
                                                            index=False)
    (tmp_path / "labels.csv").write_text(
        f"file,start,end\na.csv,{ts[690]},{ts[710]}\n", encoding="utf-8")
    assert main(["sensors", "benchmark", str(tmp_path / "s"), str(tmp_path / "labels.csv")]) == 0
    out = capsys.readouterr().out
    # found at the jump: y = -(710 - 700 + 1) / 21 -> σ(-11/21) = 0.864155, over σ(-1)
    line = next(x for x in out.splitlines() if x.startswith("this detector"))
    expected = 100 * (0.864155 / nab.scaled_sigmoid(-1.0) + 1) / 2
    assert float(line.split()[3]) == pytest.approx(expected, abs=0.1)
    never = next(x for x in out.splitlines() if x.startswith("never fires"))
    assert float(never.split()[3]) == 0.0


def test_cli_scores_the_labelled_series_it_finds_and_names_the_others(tmp_path, capsys):
    # the benchmark's repository: series under data/<folder>/, labels for more series than
    # are there (a partial checkout); the two series here are scored, the third is named
    ts = pd.date_range("2024-01-01", periods=800, freq="5min")
    flat = np.tile([10.0, 11.0, 10.5, 9.5], 200)
    for group in ("realA", "realB"):
        (tmp_path / "data" / group).mkdir(parents=True)
        pd.DataFrame({"timestamp": ts, "value": flat}).to_csv(
            tmp_path / "data" / group / "s.csv", index=False)
    labels = {"realA/s.csv": [[str(ts[690]), str(ts[710])]], "realB/s.csv": [],
              "realC/gone.csv": [[str(ts[10]), str(ts[20])]]}
    (tmp_path / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    assert main(["sensors", "benchmark", str(tmp_path), str(tmp_path / "labels.json")]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("2 series, 1,600 values, 1 windows")
    assert "1 of the 3 labelled series" in captured.err and "realC/gone.csv" in captured.err
    # a flat series never alerts: the one window is missed (score 0), per folder too
    assert next(x for x in lines if x.startswith("this detector")).split()[3] == "0.0"
    assert [x.split()[0] for x in lines if x.startswith("  real")] == ["realA", "realB"]
    # a folder holding none of them is an error that names an expected path
    assert main(["sensors", "benchmark", str(tmp_path / "data" / "realA"),
                 str(tmp_path / "labels.json")]) == 2
    err = capsys.readouterr().err
    assert "none of the 3 series" in err and "realA/realA/s.csv" in err


def test_hostile_labels_get_a_clear_error(tmp_path, capsys):
    (tmp_path / "s").mkdir()
    pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=50, freq="5min"),
                  "value": np.arange(50.0)}).to_csv(tmp_path / "s" / "a.csv", index=False)
    cases = {
        "deep.json": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        "number.json": (json.dumps({"a.csv": 5}), "a.csv: expected a list of [start, end]"),
        "date.json": (json.dumps({"a.csv": [["soon", "2024-01-02"]]}),
                      "a.csv window 1, start: 'soon' is not a date-time"),
        "up.json": (json.dumps({"a.csv": [], "../../etc/passwd": []}),
                    "../../etc/passwd is not a path inside the folder"),
        "root.json": (json.dumps({"/etc/passwd": []}), "/etc/passwd is not a path inside"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert main(["sensors", "benchmark", str(tmp_path / "s"), str(tmp_path / name)]) == 2
        assert message in capsys.readouterr().err, name
    # a name with a terminal escape in it is shown escaped, not obeyed
    (tmp_path / "esc.json").write_text(json.dumps({"a.csv": [], "x\x1b[2J.csv": []}),
                                       encoding="utf-8")
    assert main(["sensors", "benchmark", str(tmp_path / "s"), str(tmp_path / "esc.json")]) == 0
    captured = capsys.readouterr()
    assert "x\\x1b[2J.csv" in captured.err and "\x1b" not in captured.err
    # no window among the series scored: no score to give, said so
    assert "score     n/a" in captured.out


def test_bad_labels_are_named(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("file,start,end\na.csv,soon,2024-01-01\n", encoding="utf-8")
    with pytest.raises(CityBrainError, match=r"row 2, column start: 'soon'"):
        nab.read_windows(p)
    p.write_text("name,from\n", encoding="utf-8")
    with pytest.raises(CityBrainError, match="missing column"):
        nab.read_windows(p)


def test_corpus_insertion_follows_the_documented_rule():
    from analytics.sensors import corpus

    ts = pd.date_range("2024-01-01", periods=1000, freq="h")
    # a sawtooth: first differences +1 (and one -9 drop every 10): noise unit 1.4826
    x = np.tile(np.arange(10.0), 100)
    base = corpus.Series("saw", "by hand", pd.DataFrame({"timestamp": ts, "value": x}))
    assert corpus.noise_unit(x) == pytest.approx(1.4826)
    s = corpus.insert_anomalies(base, seed=1)
    again = corpus.insert_anomalies(base, seed=1)
    assert s.anomalies == again.anomalies and s.kinds == again.kinds     # seeded
    pos = [int(np.flatnonzero(ts == a)[0]) for a in s.anomalies]
    assert len(pos) == 2 and min(pos) > nab.probation(1000) and pos[1] - pos[0] >= 100
    d = s.frame["value"].to_numpy() - x
    for p, kind in zip(pos, s.kinds, strict=True):
        if kind == "spike":
            assert abs(d[p]) == pytest.approx(8 * 1.4826)
        elif kind == "level_shift":
            assert abs(d[p]) == pytest.approx(6 * 1.4826)
        elif kind == "flatline":
            assert (s.frame["value"].to_numpy()[p:p + 20] == x[p - 1]).all()   # w = 2 % of 1000
    # windows: 10 % of 1000 / 2 anomalies = 50 values, centred
    for (w0, w1), p in zip(s.windows, pos, strict=True):
        assert (w0, w1) == (ts[p - 25], ts[p + 25])


SHIPPED = Path(__file__).resolve().parent / "data" / "nab"


def test_shipped_benchmark_excerpts_are_read_in_the_benchmark_layout(capsys):
    # tests/data/nab/README.md: four excerpts of 439 + 444 + 434 + 695 = 2,012 values with
    # 1 + 2 + 1 + 2 = 6 of the benchmark's windows inside them, and eleven of 1,461 x 7 +
    # 926 + 944 + 706 + 715 = 13,518 values with one window inside each: 15,530 values and
    # 17 windows to score (the labels list 30, the others after the excerpts' ends)
    assert main(["sensors", "benchmark", str(SHIPPED),
                 str(SHIPPED / "combined_windows.json")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(
        "15 series, 15,530 values, 17 windows (13 more listed fall outside the series)")
    assert "detected 0/17" in next(x for x in out.splitlines() if x.startswith("never fires"))
    never = next(x for x in out.splitlines() if x.startswith("never fires"))
    assert float(never.split()[3]) == 0.0


def test_detector_finds_the_labelled_cost_per_click_spike_in_its_window():
    # exchange-4: hourly cost per click near 0.05, then 1.938 at 2011-07-16 09:15, inside
    # the benchmark's window 07-15 06:15 .. 07-17 12:15: one alert in the window, at the spike
    frame = read_series(SHIPPED / "realAdExchange" / "exchange-4_cpc_results.csv")
    out = score_series(frame)
    ts = pd.to_datetime(out["timestamp"])
    inside = (ts >= "2011-07-15 06:15:01") & (ts <= "2011-07-17 12:15:01")
    alerts = ts[(out["is_anomaly"] == 1) & inside].tolist()
    assert alerts == [pd.Timestamp("2011-07-16 09:15:01")]
    assert out["score"].between(0, 1).all()


WHOLE = SHIPPED.parent / "nab_whole"


def test_shipped_whole_series_are_read_in_the_benchmark_layout(capsys):
    # tests/data/nab_whole/README.md: eleven series of 4,032 values and three of 1,538 + 1,643
    # + 2,500: 50,033 values; windows 0 x 5 + 1 + 1 + 2 + 1 + 1 + 2 + 1 + 4 + 1 = 14
    assert main(["sensors", "benchmark", str(WHOLE), str(WHOLE / "combined_windows.json")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("14 series, 50,033 values, 14 windows")
    assert "detected 0/14" in next(x for x in out.splitlines() if x.startswith("never fires"))


@pytest.mark.parametrize("name", ["art_daily_no_noise", "art_daily_perfect_square_wave",
                                  "art_daily_small_noise", "art_flatline", "art_noisy"])
def test_the_benchmarks_signals_without_anomaly_raise_no_alert(name):
    # the benchmark's artificialNoAnomaly group: nothing in them is anomalous, so any alert
    # is a false alarm (art_daily_small_noise, whose working day is about four times as noisy as its
    # night, raised five before each hour of the day learned its own spread)
    out = score_series(read_series(WHOLE / "artificialNoAnomaly" / f"{name}.csv"))
    assert len(out) == 4032
    assert out["is_anomaly"].sum() == 0
    assert out["score"].between(0, 1).all()

"""``sensors score``: a robust streaming z-score of any timestamp,value series."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.cli import main
from analytics.errors import CityBrainError
from analytics.sensors.score import read_series, robust_scores


def write(tmp_path, text):
    path = tmp_path / "series.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_score_by_hand(tmp_path, capsys):
    # forty values cycling 11, 12, 10: median 11, MAD 1 -> sigma 1.4826; then a spike of 50
    lines = ["timestamp,value"] + [f"2024-01-01 00:{i:02d}:00,{10 + (i + 1) % 3}"
                                   for i in range(40)] + ["2024-01-01 01:00:00,50"]
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert main(["sensors", "score", str(path), "--window", "40"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "timestamp,value,score,is_anomaly"
    assert len(out) == 42
    assert out[-1] == f"2024-01-01 01:00:00,50.0,{round(39 / 1.4826, 3)},1"
    assert out[1].endswith(",0.0,0")               # no past yet: score 0
    assert all(line.endswith(",0") for line in out[1:-1])


def test_score_uses_only_the_past():
    x = np.r_[np.zeros(30), 100.0, np.zeros(5)]
    x[:30] += np.tile([0.0, 1.0], 15)
    s = robust_scores(x, window=20)
    s_prefix = robust_scores(x[:31], window=20)
    assert s[30] == s_prefix[30] > 50               # later values do not change a score


@pytest.mark.parametrize("text, message", [
    ("time,value\n2024-01-01,1\n", "missing column.*timestamp"),
    ("timestamp,value\n2024-01-01,1\nsoon,2\n", r"row 3, column timestamp: 'soon'"),
    ("timestamp,value\n2024-01-01,1\n2024-01-02,n/a\n", r"row 3, column value: 'n/a'"),
    ("timestamp,value\n", "no rows"),
])
def test_bad_series_are_named(tmp_path, text, message):
    with pytest.raises(CityBrainError, match=message):
        read_series(write(tmp_path, text))


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    assert main(["sensors", "score", str(tmp_path / "nope.csv")]) == 2
    assert capsys.readouterr().err.startswith("error: ")

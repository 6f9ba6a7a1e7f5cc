"""``python -m analytics forecast``: output columns, and bad input as one clear line."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from forecast_helpers import store_file

from analytics.cli import main


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "city.duckdb"
    store_file(path)
    return str(path)


def test_csv_columns_and_years(store_path, capsys):
    code = main(["forecast", "--target", "pop_60plus_share", "--area", "330100",
                 "--base-year", "2020", "--horizon", "3", "--format", "csv",
                 "--store", store_path])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "year,value,lo,hi,model"
    rows = [line.split(",") for line in lines[1:]]
    assert [int(r[0]) for r in rows] == [2021, 2022, 2023]
    for r in rows:
        lo, value, hi = float(r[2]), float(r[1]), float(r[3])
        assert 0 < lo <= value <= hi < 100  # a share in percent
        assert r[4] in {"naive", "trend", "ccr_ridge", "cohort"}


def test_the_city_by_name_or_adcode_is_one_forecast(store_path, capsys):
    outs = []
    for spelling in (["--district", "city"], ["--area", "330100"]):
        assert main(["forecast", "--target", "pop_total", *spelling, "--base-year", "2021",
                     "--horizon", "2", "--model", "naive", "--store", store_path]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1]
    # naive holds the last value: the city's 2021 total is every district's sum
    assert outs[0].splitlines()[1].split(",")[4] == "naive"


def test_counts_are_whole_persons_and_model_can_be_chosen(store_path, capsys):
    assert main(["forecast", "--target", "pop_3_5", "--area", "330106", "--base-year", "2021",
                 "--horizon", "2", "--model", "naive", "--store", store_path]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[1].endswith(",naive") and "." not in out[1]


def _argv(store_path, **changes):
    base = {"--target": "pop_60plus", "--area": "330106", "--base-year": "2021",
            "--horizon": "5"} | changes
    return ["forecast", *[a for kv in base.items() for a in kv], "--store", store_path]


@pytest.mark.parametrize("change, message", [
    ({"--base-year": "2040"}, "base year 2040 is not in the store"),
    ({"--horizon": "0"}, "horizon 0 is out of range"),
    ({"--horizon": "31"}, "horizon 31 is out of range"),
    ({"--target": "pop_99plus"}, "unknown target 'pop_99plus'"),
    ({"--area": "110101"}, "unknown district 110101"),
])
def test_bad_input_is_one_line_exit_2(store_path, capsys, change, message):
    assert main(_argv(store_path, **change)) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and message in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.out == ""


def test_the_real_command_prints_no_traceback(store_path):
    proc = subprocess.run([sys.executable, "-m", "analytics",
                           *_argv(store_path, **{"--horizon": "0"})],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: horizon 0 is out of range: give a whole number "
                                   "of years from 1 to 30")


def test_csv_reads_back_as_a_frame(store_path, capsys):
    main(["forecast", "--target", "pop_total", "--area", "330108", "--base-year", "2021",
          "--horizon", "4", "--store", store_path])
    import io
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(frame.columns) == ["year", "value", "lo", "hi", "model"]
    assert len(frame) == 4

"""The dashboard's number formatting and state colours (the library returns plain values)."""

import numpy as np
import pandas as pd

from analytics.citygen.context import DATA_VINTAGE
from analytics.indicators import indicator
from analytics.sensors.views import STATUSES
from dashboard.format import STATUS_COLOURS, format_value, vintage_label
from dashboard.planning import decimals_shown, number_config


def test_format_value():
    pop = indicator("population")
    assert format_value(pop, 11_936_010, "zh") == "1,193.6 万"
    assert format_value(pop, 11_936_010, "en") == "11.94M"
    assert format_value(pop, 4860, "en") == "4,860"
    assert format_value(indicator("share_60plus"), 15.6378, "en", signed=True) == "+15.64"
    assert format_value(pop, None) == "—"
    assert format_value(pop, float("nan")) == "—"


def test_every_sensor_status_has_a_colour_in_order():
    # the legend lists the states worst first, as the library orders them
    assert tuple(STATUS_COLOURS) == STATUSES


def test_the_build_vintage_reads_in_chinese_on_chinese_pages():
    # the build writes its vintage in English; a Chinese sidebar must not show that sentence
    zh = vintage_label(DATA_VINTAGE, "zh")
    assert zh.startswith("2020 年第七次全国人口普查") and "census" not in zh
    assert vintage_label(DATA_VINTAGE, "en") == DATA_VINTAGE
    assert vintage_label("no synthetic layers", "zh") == "no synthetic layers"  # not a census


def test_a_planners_table_writes_each_column_with_one_number_of_decimals():
    # the district table showed "8" beside "8.1" (a float column shown as "localized")
    frame = pd.DataFrame({"access": [8.0, 8.1, 10.7], "persons": [2_765_461, 330_291, 1],
                          "share": [16.65, 25.9, 33.1], "whole": [3.0, 4.0, np.nan]})
    formats = {c: cfg["type_config"].get("format") if "type_config" in cfg else cfg.get("format")
               for c, cfg in number_config(frame).items()}
    assert formats == {"access": "%,.1f", "persons": "localized", "share": "%,.2f",
                       "whole": "localized"}
    assert decimals_shown(pd.Series([8.0, 8.1])) == 1

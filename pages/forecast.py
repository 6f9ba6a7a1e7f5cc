"""Forecast: history, forecast, interval and scenario band; the backtest; facility gaps."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import forecast as fc
from analytics.errors import CityBrainError
from analytics.forecast.cohort import (
    DAMPING,
    FERTILITY_YEARS,
    RECENT_YEARS,
    fertility_trend,
    trend_points,
)
from analytics.forecast.data import MIN_HISTORY, districts
from analytics.forecast.targets import TARGETS
from analytics.standards import FACILITY_TYPES, balance
from dashboard.components import provenance, reconcile, timechart
from dashboard.shell import PageContext, page_context

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
LEVEL = 80
#: What the page opens on: residents aged 60+, ten years ahead.
DEFAULT_TARGET, DEFAULT_HORIZON = "pop_60plus", 10
#: The scenario bands' colours (one per area, distinct from the lines').
BAND_COLORS = ["#fd8d3c", "#fdae6b", "#fdd0a2", "#e6550d", "#a63603", "#f16913"]


def district_of(ctx, area: int) -> int | None:
    """The library's name of an area picked here: None for the whole city."""
    return None if area == ctx.city_adcode else area


@st.cache_data(show_spinner=False, max_entries=64)
def _forecast(_store, key: str, target: str, district: int | None, base_year: int,
              horizon: int, model: str, scenario: str):
    return fc.forecast(_store, target, district, base_year, horizon, model, scenario)


@st.cache_data(show_spinner=False, max_entries=64)
def _history(_store, key: str, target: str, district: int | None, base_year: int):
    return fc.history_of(_store, target, district, base_year)


@st.cache_data(show_spinner=False, max_entries=32)
def _backtest(_store, key: str, target: str, base_year: int):
    return fc.backtest_table(_store, target, base_year)


@st.cache_data(show_spinner=False, max_entries=32)
def _gap(_store, key: str, district: int | None, base_year: int, horizon: int, model: str,
         scenario: str):
    return fc.gap(_store, district, base_year, horizon, model, scenario)


@st.cache_data(show_spinner=False, max_entries=8)
def _districts(_store, key: str) -> pd.DataFrame:
    return districts(_store)


@st.cache_data(show_spinner=False, max_entries=32)
def _chosen(_store, key: str, target: str, base_year: int, horizon: int) -> str:
    return fc.evaluate(_store, base_year).choose(target, horizon)


def backtest_view(ctx, table: pd.DataFrame, horizon: int, chosen: str) -> pd.DataFrame:
    """One row per model: MAPE by horizon, WAPE and interval coverage over the horizons."""
    shown = table[table["horizon"] <= min(max(horizon, 1), 10)]
    mape = shown.pivot(index="model", columns="horizon", values="mape")
    # the horizons planners read: next year, three, five and ten years on, the chosen one and
    # the longest the backtest reaches
    keep = [h for h in mape.columns if h in {1, 3, 5, 10, horizon, max(mape.columns)}]
    mape = mape[keep]
    mape.columns = [ctx.t("fc_col_mape_h", h=h) for h in mape.columns]
    weights = shown.assign(w_wape=shown["wape"] * shown["n"],
                           w_cov=shown["coverage"].fillna(0) * shown["n"].where(
                               shown["coverage"].notna(), 0),
                           n_cov=shown["n"].where(shown["coverage"].notna(), 0))
    agg = weights.groupby("model")[["w_wape", "n", "w_cov", "n_cov"]].sum()
    mape[ctx.t("fc_col_wape_all")] = agg["w_wape"] / agg["n"]
    mape[ctx.t("fc_col_coverage")] = agg["w_cov"] / agg["n_cov"].where(agg["n_cov"] > 0)
    order = [m for m in fc.MODELS if m in mape.index]
    mape = mape.loc[order]
    names = [ctx.t(f"fc_model_{m}") + (" ✓ " + ctx.t("fc_chosen_mark") if m == chosen else "")
             for m in order]
    mape.insert(0, ctx.t("fc_col_model"), names)
    return mape


def target_label(ctx, name: str) -> str:
    t = TARGETS[name]
    if t.group.key == "total":
        return ctx.t("fc_target_total")
    return ctx.t("fc_target_share" if t.share else "fc_target_count", group=t.group.label)


def controls(ctx, area_names: dict[int, str]):
    """The page's widgets, returned as plain values."""
    valid_years = list(ctx.years[MIN_HISTORY - 1:])
    c1, c2, c3 = st.columns([2, 3, 1])
    target = c1.selectbox(ctx.t("fc_target"), list(TARGETS), key="fc_target",
                          index=list(TARGETS).index(DEFAULT_TARGET),
                          format_func=lambda n: target_label(ctx, n))
    # the sidebar's district (or the city) is the first choice
    default = ctx.district if ctx.district in area_names else ctx.city_adcode
    areas = c2.multiselect(ctx.t("fc_areas"), list(area_names), key="fc_areas",
                           default=[default], format_func=area_names.get)
    base_year = c3.selectbox(ctx.t("fc_base_year"), valid_years, key="fc_base_year",
                             index=len(valid_years) - 1)
    c4, c5, c6 = st.columns([2, 2, 2])
    horizon = c4.slider(ctx.t("fc_horizon"), 1, fc.MAX_HORIZON, DEFAULT_HORIZON,
                        key="fc_horizon")
    model = c5.selectbox(ctx.t("fc_model"), ["auto", *fc.MODELS], key="fc_model",
                         format_func=lambda m: ctx.t(f"fc_model_{m}"))
    scenario = c6.radio(ctx.t("fc_scenario"), list(fc.SCENARIOS), index=1, horizontal=True,
                        key="fc_scenario", help=ctx.t("fc_scenario_help"),
                        format_func=lambda s: ctx.t(f"fc_scenario_{s}"))
    return target, areas, int(base_year), int(horizon), model, scenario


def chart(ctx, target, lines) -> str:
    """One picture (SVG): per area, history, forecast, interval and the low-high scenario
    band."""
    years = sorted({int(y) for _, hist, f, _ in lines for y in [*hist["year"], *f["year"]]})
    digits = 2 if TARGETS[target].share else 0
    series = []
    for i, (name, hist, f, band) in enumerate(lines):
        color = COLORS[i % len(COLORS)]
        at = {int(y): k for k, y in enumerate(f["year"])}
        past = dict(zip(hist["year"].astype(int), hist["value"], strict=True))

        def ahead(values, at=at):
            return [float(values[at[y]]) if y in at else None for y in years]
        series.append(timechart.Series(f"{name} · {ctx.t('fc_interval', level=LEVEL)}",
                                       ahead(f["hi"].to_numpy()), color, "band",
                                       lower=ahead(f["lo"].to_numpy()), opacity=0.15))
        # the scenario band on top of the interval, in its own colour and with solid edges:
        # it is often much narrower than the interval, and a faint fill under it vanished
        series.append(timechart.Series(f"{name} · {ctx.t('fc_band')}", ahead(band["high"]),
                                       BAND_COLORS[i % len(BAND_COLORS)], "band",
                                       lower=ahead(band["low"]), opacity=0.45, edges=True))
        series.append(timechart.Series(f"{name} · {ctx.t('fc_history')}",
                                       [past.get(y) for y in years], color))
        # the forecast line starts at the last year of history
        last = int(hist["year"].iloc[-1])
        joined = [past[y] if y == last else None for y in years]
        forecast = ahead(f["value"].to_numpy())
        series.append(timechart.Series(f"{name} · {ctx.t('fc_forecast')}",
                                       [a if b is None else b for a, b in
                                        zip(forecast, joined, strict=True)], color, dash=True))
    return timechart.series_svg(
        years, series, ctx.t("fc_chart_title", target=target_label(ctx, target)),
        target_label(ctx, target), lambda v: f"{v:,.{digits}f}")


def gap_section(ctx, area, area_name, base_year, horizon, model, scenario, target):
    st.subheader(ctx.t("fc_gap_title", area=area_name))
    st.caption(ctx.t("fc_gap_help"))
    where = district_of(ctx, area)
    g = _gap(ctx.store, str(ctx.store_key), where, base_year, horizon, model, scenario)
    # the capacity side: which registers (or the synthetic layer) give each type's facilities
    capacity_source = provenance.facility_sources(ctx.store, str(ctx.store_key),
                                                  sorted(g["type"].unique()), base_year, where)
    g = g.assign(source=g["type"].map(capacity_source))
    name_col = "name_zh" if ctx.lang == "zh" else "name_en"
    type_name = {k: getattr(t, name_col) for k, t in FACILITY_TYPES.items()}
    group_key = TARGETS[target].group.key
    related = [k for k, (tname, _) in fc.DEMAND_TYPES.items()
               if TARGETS[tname].group.key == group_key] or ["elderly_care_home", "kindergarten"]
    provenance.source_caption(ctx.store, str(ctx.store_key), ctx.lang, "facilities",
                              types=related[:2], year=base_year, district=where)
    cols = st.columns(len(related[:2]))
    for col, key in zip(cols, related[:2], strict=False):
        one = g[g["type"] == key]
        unit = ctx.t(f"fc_unit_{FACILITY_TYPES[key].capacity_unit}")
        years = one["year"].astype(int).tolist()
        svg = timechart.series_svg(years, [
            timechart.Series(ctx.t("fc_capacity"), one["capacity"].tolist(), "#9ecae1", "bar"),
            timechart.Series(f"{ctx.t('fc_demand')} · {ctx.t('fc_interval', level=LEVEL)}",
                             one["demand_hi"].tolist(), "#d62728", "band",
                             lower=one["demand_lo"].tolist(), opacity=0.15),
            timechart.Series(ctx.t("fc_demand"), one["demand"].tolist(), "#d62728")],
            ctx.t("fc_gap_chart", type=type_name[key], unit=unit), unit,
            lambda v: f"{v:,.0f}", width=440.0)
        col.markdown(svg, unsafe_allow_html=True)
        if not (one["capacity"] > 0).any():
            col.caption(ctx.t("fc_no_capacity", type=type_name[key]))
    # one sign convention: a shortfall is said as a shortfall (red), a surplus as a surplus
    status, amount = zip(*(balance(c, d) for c, d in zip(g["capacity"], g["demand"],
                                                          strict=True)), strict=True)
    words = [reconcile.gap_words(st_, round(a), ctx.t(
                 f"fc_unit_{FACILITY_TYPES[k].capacity_unit}"), ctx.lang)
             for st_, a, k in zip(status, amount, g["type"], strict=True)]
    long = g.assign(type=g["type"].map(type_name), words=words, status=list(status))
    table = long.pivot(index="year", columns="type", values="words")
    statuses = long.pivot(index="year", columns="type", values="status")
    order = list(dict.fromkeys(long["type"]))
    table, statuses = table[order], statuses[order]
    table.index = table.index.astype(str).rename(ctx.t("fc_year"))
    statuses.index = table.index
    st.markdown(ctx.t("fc_gap_table"))
    st.table(reconcile.colour_gaps(table, order, {c: statuses[c] for c in order}))
    st.download_button(ctx.t("fc_download_gap"), g.to_csv(index=False).encode("utf-8"),
                       file_name=f"gap_{area}_{base_year}.csv", mime="text/csv",
                       key="fc_dl_gap")


def page(ctx: PageContext) -> None:
    st.title(ctx.t("fc_page"))
    st.caption(ctx.t("fc_intro"))
    key = str(ctx.store_key)  # file and vintage: a rebuilt or reloaded store is not served from cache
    if len(ctx.years) < MIN_HISTORY:
        # a city on its own data may hold one year of residents: nothing to fit a model on
        st.info(ctx.t("fc_short_history", n=len(ctx.years), minimum=MIN_HISTORY))
        return
    names = _districts(ctx.store, key)
    name_col = "name" if ctx.lang == "zh" else "name_en"
    area_names = {ctx.city_adcode:
                  f"{ctx.city_label() or ctx.city_adcode}{ctx.t('fc_city_suffix')}"}
    for row in names.itertuples():
        label = getattr(row, name_col)
        area_names[int(row.adcode)] = label if isinstance(label, str) else str(row.adcode)
    target, areas, base_year, horizon, model, scenario = controls(ctx, area_names)
    if not areas:
        st.info(ctx.t("fc_no_area"))
        return
    try:
        lines, frames = [], []
        for area in areas:
            district = district_of(ctx, area)
            f = _forecast(ctx.store, key, target, district, base_year, horizon, model, scenario)
            hist = _history(ctx.store, key, target, district, base_year)
            low = _forecast(ctx.store, key, target, district, base_year, horizon, model, "low")
            high = _forecast(ctx.store, key, target, district, base_year, horizon, model,
                             "high")
            band = {"low": low["value"].to_numpy(), "high": high["value"].to_numpy()}
            lines.append((area_names[area], hist, f, band))
            frames.append(f.assign(area=area, area_name=area_names[area], target=target,
                                   scenario=scenario, base_year=base_year))
        st.markdown(chart(ctx, target, lines), unsafe_allow_html=True)
        digits = 2 if TARGETS[target].share else 0
        last = [(n, b["low"][-1], b["high"][-1], f["lo"].iloc[-1], f["hi"].iloc[-1])
                for n, _, f, b in lines]
        st.caption(ctx.t("fc_band_note", year=base_year + horizon, level=LEVEL, bands="; ".join(
            ctx.t("fc_band_area", area=n, low=f"{lo:,.{digits}f}", high=f"{hi:,.{digits}f}",
                  ilo=f"{ilo:,.{digits}f}", ihi=f"{ihi:,.{digits}f}")
            for n, lo, hi, ilo, ihi in last)))
        used = sorted({ctx.t(f"fc_model_{m}") for fr in frames for m in fr["model"]})
        st.caption(ctx.t("fc_chosen", models=", ".join(used), level=LEVEL))
        # what the history the models are fitted on rests on (department data or synthetic)
        one = areas[0] if len(areas) == 1 and areas[0] != ctx.city_adcode else None
        provenance.years_caption(ctx.store, key, ctx.lang, "population_districts", one)
        if any((fr["model"] == "cohort").any() for fr in frames):
            years_used = [y for y, _ in trend_points(base_year)] or [base_year]
            trend = round(100 * fertility_trend(base_year), 1) + 0.0  # never "-0.0"
            st.caption(ctx.t("fc_fertility_path", first=years_used[0], last=years_used[-1],
                             trend=f"{trend:+.1f}", damping=DAMPING))
            # births a department reports replace those the infants imply
            births = provenance.births_text(ctx.store, key, ctx.lang,
                                            base_year - FERTILITY_YEARS + 1, base_year, one)
            if births:
                st.caption(births)
            # deaths a department reports scale each district's life table
            deaths = provenance.births_text(ctx.store, key, ctx.lang,
                                            base_year - RECENT_YEARS + 1, base_year, one,
                                            events="deaths")
            if deaths:
                st.caption(deaths)
        all_f = pd.concat(frames, ignore_index=True)
        # each area's history as of the base year: department data or synthetic
        all_f["source"] = [provenance.year_sources(
            ctx.store, key, "population_districts",
            None if a == ctx.city_adcode else int(a)).get(base_year, "") for a in all_f["area"]]
        digits = 2 if TARGETS[target].share else 0
        shown = all_f[["area_name", "year", "value", "lo", "hi", "model"]].round(
            {"value": digits, "lo": digits, "hi": digits})
        shown = shown.rename(columns={"area_name": ctx.t("fc_col_area"),
                                      "year": ctx.t("fc_year"), "value": ctx.t("fc_value"),
                                      "lo": ctx.t("fc_col_lo"), "hi": ctx.t("fc_col_hi"),
                                      "model": ctx.t("fc_col_model")})
        # the table is made only once opened (a closed expander's table was drawn all the
        # same, on every load): the CSV below holds the same rows at any time
        table_box = st.expander(ctx.t("fc_table_title"), key="fc_table_open",
                                on_change="rerun")
        if table_box.open:
            with table_box:
                st.dataframe(shown, hide_index=True, width="stretch")
        st.download_button(ctx.t("fc_download_forecast"),
                           all_f.to_csv(index=False).encode("utf-8"),
                           file_name=f"forecast_{target}_{base_year}.csv", mime="text/csv",
                           key="fc_dl_forecast")

        st.subheader(ctx.t("fc_backtest_title", target=target_label(ctx, target)))
        st.caption(ctx.t("fc_backtest_help"))
        bt_table = _backtest(ctx.store, key, target, base_year)
        chosen = _chosen(ctx.store, key, target, base_year, horizon)
        view = backtest_view(ctx, bt_table, horizon, chosen)
        formats = {c: "{:.2f}" for c in view.columns[1:]}
        formats[ctx.t("fc_col_coverage")] = "{:.0f}"
        # a few rows: a plain table (a data grid costs the browser a script and a canvas)
        st.table(view.style.format(formats, na_rep="–"), hide_index=True)
        st.download_button(ctx.t("fc_download_backtest"),
                           bt_table.to_csv(index=False).encode("utf-8"),
                           file_name=f"backtest_{target}_{base_year}.csv", mime="text/csv",
                           key="fc_dl_backtest")

        gap_section(ctx, areas[0], area_names[areas[0]], base_year, horizon, model, scenario,
                    target)
    except CityBrainError as exc:
        st.error(ctx.reason(exc))


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())

# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Elderly-care demand to 2035, by district
#
# How many elderly-care beds will each district need by 2035, and how far is today's
# capacity from it? This notebook answers with the product's public `analytics` API:
#
# 1. **Forecast the residents aged 60+ and 80+** of every district from the last year in
#    the store to 2035.
# 2. **Check the forecast** against history with a rolling-origin backtest: every past year
#    serves as an origin, each model is fitted on the data up to it and forecasts the years
#    after, and the errors are compared with what happened.
# 3. **Turn residents into beds** with the national planning ratio (40 beds per 1,000
#    residents aged 60+, State Council 2021, 国发〔2021〕35号) and set them against the beds of
#    the care homes in the `facilities` table.
#
# The store is read from `$CITYBRAIN_STORE` (default `data/city.duckdb`). Below district
# level the store is calibrated synthetic data; district totals follow the 2020 census.

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd

from analytics import forecast as fc
from analytics.store import open_for_reading

# thirteen districts need more than matplotlib's ten default colours
plt.rcParams["axes.prop_cycle"] = plt.cycler(color=plt.cm.tab20.colors)
# While the server runs it owns the store file; this opens the snapshot it publishes after
# every load (the same data the API serves), else the file itself.
store = open_for_reading(os.environ.get("CITYBRAIN_STORE", "data/city.duckdb"))
years = fc.load_history(store, max(fc.data.store_years(store))).years
BASE = int(years[-1])
HORIZON = max(2035 - BASE, 1)
names = fc.data.districts(store).set_index("adcode")["name_en"].fillna("").to_dict()
city = fc.data.city_adcode(store)
print(f"history {years[0]}-{BASE}; forecasting {HORIZON} years to {BASE + HORIZON}; "
      f"{len(names)} districts")

# %% [markdown]
# ## The methods
#
# * **naive** holds the last value; **trend** extends a straight line through the last
#   eight years. These are the baselines.
# * **cohort** is the cohort-component projection: every district's population by single
#   year of age and sex is aged one year at a time, survivors from a Gompertz-Makeham life
#   table consistent with the reference life expectancy, births from the district's
#   fertility of its last year moved along the national birth-rate trend (damped), net
#   migration by age from the district's own recent history.
# * **ccr_ridge** learns cohort-change ratios (the Hamilton-Perry method) with ridge
#   regression: the 60+ of 2030 are mostly the 55+ of 2025, so the model predicts the
#   ratio between the two from each district's recent ratios, growth and births.
#
# `model="auto"` uses the model with the lowest district-level backtest error for the
# target. Intervals are split-conformal, from the backtest's own errors.

# %%
evaluation = fc.evaluate(store, BASE)
acc = evaluation.accuracy
sixty = acc[(acc["target"] == "pop_60plus") & (acc["level"] == "district")]
mape = sixty.pivot(index="horizon", columns="model", values="mape")
fig, ax = plt.subplots(figsize=(7, 3.5))
mape.plot(ax=ax, marker="o")
ax.set_ylabel("MAPE, % (districts)")
ax.set_title("Backtest: error of the 60+ forecast by horizon")
plt.show()
mape.round(2)

# %%
five = mape.loc[min(5, mape.index.max())]
chosen = evaluation.choose("pop_60plus", HORIZON)
print(f"model chosen for 60+: {chosen}")
print(f"at {int(five.name)} years ahead: {chosen} {five[chosen]:.2f}% vs naive {five['naive']:.2f}% "
      f"and trend {five['trend']:.2f}% (MAPE over districts)")

# %% [markdown]
# ## 60+ and 80+ by district to 2035

# %%
ahead = fc.forecast_all(store, BASE, HORIZON)
past = {t: fc.history_of(store, t, None, BASE) for t in ("pop_60plus", "pop_80plus")}
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, t in zip(axes, ("pop_60plus", "pop_80plus")):
    for adcode, name in names.items():
        hist = fc.history_of(store, t, adcode, BASE)
        f = ahead[(ahead["target"] == t) & (ahead["area"] == adcode)]
        line, = ax.plot(hist["year"], hist["value"] / 1e3, lw=1.5)
        ax.plot(f["year"], f["value"] / 1e3, ls="--", color=line.get_color(), label=name)
        ax.fill_between(f["year"], f["lo"] / 1e3, f["hi"] / 1e3, color=line.get_color(),
                        alpha=0.15)
    ax.axvline(BASE, color="grey", lw=0.8)
    ax.set_title(f"{t}: history (solid), forecast (dashed), 80% interval")
    ax.set_ylabel("thousand residents")
axes[1].legend(fontsize=7, ncol=2)
plt.tight_layout()
plt.show()

# %%
table = (ahead[ahead["target"].isin(["pop_60plus", "pop_80plus", "pop_60plus_share"])
               & (ahead["year"] == BASE + HORIZON)]
         .pivot(index="area", columns="target", values="value"))
now = pd.DataFrame({t: [fc.history_of(store, t, None if a == city else a, BASE)["value"].iloc[-1]
                        for a in table.index]
                    for t in ("pop_60plus", "pop_60plus_share")}, index=table.index)
table.insert(0, f"60+ in {BASE}", now["pop_60plus"])
table["growth of 60+, %"] = 100 * (table["pop_60plus"] / now["pop_60plus"] - 1)
table.index = [names.get(a, "city") for a in table.index]
table.round(1).sort_values("growth of 60+, %", ascending=False)

# %% [markdown]
# ## Beds needed against beds available
#
# Demand is the forecast 60+ times 40 beds per 1,000; capacity counts the care homes open in
# each year (those opening after the base year count as planned). A positive gap is a
# shortfall.

# %%
gaps = pd.concat([fc.gap(store, a, BASE, HORIZON, types="elderly_care_home").assign(area=a)
                  for a in names], ignore_index=True)
final = gaps[gaps["year"] == BASE + HORIZON].set_index("area")
first = gaps[gaps["year"] == BASE].set_index("area")
summary = pd.DataFrame({
    "district": [names[a] for a in final.index],
    f"beds needed {BASE}": first["demand"].round(0).to_numpy(),
    f"beds needed {BASE + HORIZON}": final["demand"].round(0).to_numpy(),
    "beds available": final["capacity"].to_numpy(),
    f"gap {BASE + HORIZON}": final["gap"].round(0).to_numpy(),
})
fig, ax = plt.subplots(figsize=(10, 3.5))
ax.bar(summary["district"], summary[f"gap {BASE + HORIZON}"],
       color=["#d62728" if g > 0 else "#2ca02c" for g in summary[f"gap {BASE + HORIZON}"]])
ax.axhline(0, color="black", lw=0.8)
ax.set_ylabel("beds (shortfall > 0)")
ax.set_title(f"Elderly-care beds: gap in {BASE + HORIZON} by district")
plt.xticks(rotation=30, ha="right")
plt.show()
summary.sort_values(f"gap {BASE + HORIZON}", ascending=False)

# %% [markdown]
# ## Scenarios
#
# The scenario band shows what lower or higher fertility and migration would do. For the
# 60+ it is narrow: everyone who will be 60+ by 2035 is already 50 or older today, and the
# band comes only from migration.

# %%
band = fc.scenarios(store, "pop_60plus", None, BASE, HORIZON).pivot(
    index="year", columns="scenario", values="value")
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.fill_between(band.index, band["low"] / 1e3, band["high"] / 1e3, alpha=0.2, label="low-high")
ax.plot(band.index, band["medium"] / 1e3, label="medium")
ax.plot(past["pop_60plus"]["year"], past["pop_60plus"]["value"] / 1e3, color="black",
        label="history")
ax.set_ylabel("thousand residents aged 60+")
ax.legend()
plt.show()
shortfall = summary[summary[f"gap {BASE + HORIZON}"] > 0]
print(f"city 60+ in {BASE + HORIZON}: {band['medium'].iloc[-1]:,.0f} "
      f"(low {band['low'].iloc[-1]:,.0f}, high {band['high'].iloc[-1]:,.0f}); "
      f"{len(shortfall)} of {len(summary)} districts short of beds, "
      f"{shortfall[f'gap {BASE + HORIZON}'].sum():,.0f} beds in all")

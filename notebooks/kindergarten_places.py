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
# # Kindergarten places as birth cohorts shrink
#
# Births in Chinese cities have fallen since 2017 (national births per year: NBS releases;
# the national total fertility rate was 1.3 in 2020, census). The children of 3-5 who fill
# kindergartens are the births of three to five years earlier, so the fall reaches
# kindergartens with a lag, and it can be read off the population already born.
#
# This notebook, with the public `analytics` API:
#
# 1. shows the births (infants aged 0) by district over the history;
# 2. forecasts the 3-5 year-olds by district, checks the models in a rolling-origin
#    backtest and reads the forecast's intervals;
# 3. turns children into places (0.9 places per child aged 3-5, the pre-school target of
#    教基〔2021〕8号) and compares them with the kindergarten places in the `facilities`
#    table: where will places stand empty, and when?
#
# The store is read from `$CITYBRAIN_STORE` (default `data/city.duckdb`).

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
history = fc.load_history(store, max(fc.data.store_years(store)))
BASE = history.base_year
HORIZON = 10
names = fc.data.districts(store).set_index("adcode")["name_en"].fillna("").to_dict()
city = fc.data.city_adcode(store)
print(f"history {history.years[0]}-{BASE}, {len(names)} districts, forecast to {BASE + HORIZON}")

# %% [markdown]
# ## Births: the infants of each year
#
# The population aged 0 at the end of a year is the year's births less the few infants who
# died, plus infants who moved in: the best birth series the population table gives.

# %%
infants = pd.DataFrame(history.persons[:, :, :, 0].sum(axis=2), index=history.years,
                       columns=[names[d] for d in history.districts])
fig, ax = plt.subplots(figsize=(8, 3.5))
(infants.sum(axis=1) / 1e3).plot(ax=ax, color="black", lw=2, label="city")
ax.set_ylabel("thousand infants (age 0)")
ax.set_title("Births by year (infants aged 0 at year end)")
ax.legend()
plt.show()
peak = int(infants.sum(axis=1).idxmax())
print(f"peak year {peak}: {infants.sum(axis=1).max():,.0f}; {BASE}: "
      f"{infants.sum(axis=1).iloc[-1]:,.0f} "
      f"({100 * (infants.sum(axis=1).iloc[-1] / infants.sum(axis=1).max() - 1):+.1f}%)")

# %% [markdown]
# ## Forecasting the 3-5 year-olds
#
# In five years the 3-5 year-olds are today's infants plus the next two years' births. The
# cohort-component projection ages today's infants and adds births from the district's
# latest fertility, moved along the trend of China's birth rate up to the base year (damped
# by 0.8 a year: the country's swings reach every district, and a district's own few years
# cannot foresee them); the cohort-change-ratio model learns the ratio of each year's 3-5 to
# the infants it came from. The backtest tells which does better here.
#
# Expect larger errors than for the elderly: five years ahead, two of the three birth years
# in the 3-5 are not yet born, and young families are the residents who move most. When net
# migration surges or slumps after the origin (as it did around 2017-2021), every model
# fitted on the years before misses it; the conformal interval, built from those misses,
# says how far off a forecast has been.

# %%
evaluation = fc.evaluate(store, BASE)
acc = evaluation.accuracy
kids = acc[(acc["target"] == "pop_3_5") & (acc["level"] == "district")]
mape = kids.pivot(index="horizon", columns="model", values="mape")
wape = kids.pivot(index="horizon", columns="model", values="wape")
fig, ax = plt.subplots(figsize=(7, 3.5))
mape.plot(ax=ax, marker="o")
ax.set_ylabel("MAPE, % (districts)")
ax.set_title("Backtest: error of the 3-5 forecast by horizon")
plt.show()
chosen = evaluation.choose("pop_3_5", HORIZON)
cov = evaluation.coverage("pop_3_5")
cov = cov[(cov["model"] == chosen) & (cov["level"] == "district")]
print(f"model chosen for 3-5: {chosen}; interval coverage in the backtest "
      f"{(cov['coverage'] * cov['n']).sum() / cov['n'].sum():.0f}% (nominal 80%)")
pd.concat({"MAPE": mape, "WAPE": wape}, axis=1).round(2)

# %%
ahead = fc.forecast_all(store, BASE, HORIZON)
fig, ax = plt.subplots(figsize=(9, 4))
for adcode, name in names.items():
    hist = fc.history_of(store, "pop_3_5", adcode, BASE)
    f = ahead[(ahead["target"] == "pop_3_5") & (ahead["area"] == adcode)]
    line, = ax.plot(hist["year"], hist["value"] / 1e3, lw=1.5)
    ax.plot(f["year"], f["value"] / 1e3, ls="--", color=line.get_color(), label=name)
    ax.fill_between(f["year"], f["lo"] / 1e3, f["hi"] / 1e3, color=line.get_color(), alpha=0.15)
ax.axvline(BASE, color="grey", lw=0.8)
ax.set_ylabel("thousand children aged 3-5")
ax.set_title("Children aged 3-5: history, forecast and 80% interval")
ax.legend(fontsize=7, ncol=2)
plt.show()

# %% [markdown]
# ## Places needed against places available
#
# Places needed = 0.9 × forecast 3-5; places available = kindergartens open that year. A
# negative gap is a surplus: places that will stand empty unless they are turned to other
# uses (nursery places for the 0-2, for instance, which the 14th Five-Year Plan asks for).

# %%
gaps = pd.concat([fc.gap(store, a, BASE, HORIZON, types="kindergarten").assign(
    district=names[a]) for a in names], ignore_index=True)
pivot = gaps.pivot(index="year", columns="district", values="gap")
fig, ax = plt.subplots(figsize=(9, 4))
(pivot / 1e3).plot(ax=ax)
ax.axhline(0, color="black", lw=0.8)
ax.set_ylabel("thousand places (shortfall > 0, surplus < 0)")
ax.set_title("Kindergarten places: gap by district and year")
ax.legend(fontsize=7, ncol=2)
plt.show()
first_surplus = {d: (int(pivot.index[(pivot[d] < 0).to_numpy()][0]) if (pivot[d] < 0).any()
                     else None) for d in pivot.columns}
summary = pd.DataFrame({
    f"places needed {BASE}": gaps[gaps["year"] == BASE].set_index("district")["demand"],
    f"places needed {BASE + HORIZON}": gaps[gaps["year"] == BASE + HORIZON]
    .set_index("district")["demand"],
    "places available": gaps[gaps["year"] == BASE + HORIZON].set_index("district")["capacity"],
    "first year with a surplus": pd.Series(first_surplus, dtype="Int64"),
}).round(0)
summary

# %% [markdown]
# ## What lower or higher fertility would change
#
# Unlike the 60+, the 3-5 depend on births not yet happened after two years: the scenario
# band widens from the third year on.

# %%
band = fc.scenarios(store, "pop_3_5", None, BASE, HORIZON).pivot(
    index="year", columns="scenario", values="value")
past = fc.history_of(store, "pop_3_5", None, BASE)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(past["year"], past["value"] / 1e3, color="black", label="history")
ax.fill_between(band.index, band["low"] / 1e3, band["high"] / 1e3, alpha=0.2, label="low-high")
ax.plot(band.index, band["medium"] / 1e3, label="medium")
ax.set_ylabel("thousand children aged 3-5 (city)")
ax.legend()
plt.show()
print(f"city 3-5 in {BASE + HORIZON}: {band['medium'].iloc[-1]:,.0f} "
      f"(low {band['low'].iloc[-1]:,.0f}, high {band['high'].iloc[-1]:,.0f}) against "
      f"{past['value'].iloc[-1]:,.0f} in {BASE}")

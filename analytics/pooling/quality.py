"""Quality: the data-quality page's read models (freshness, completeness, history)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd

from analytics.pooling.contracts import FREQUENCY_DAYS, contracts
from analytics.pooling.contracts import contract as get_contract
from analytics.pooling.feeds import LAYERS, contribution


# -- reading back: the data-quality page's figures --------------------------------------------
def quality(store, today: date | None = None) -> pd.DataFrame:
    """One row per contract: last load, age against the stated frequency, completeness, result."""
    today = today or datetime.now(UTC).date()
    last = store.query("ingest.last_events").set_index("dataset_id")
    loaded = store.query("ingest.last_loaded").set_index("dataset_id")
    catalog = store.query("ingest.catalog_rows").set_index("dataset_id")["row_count"]
    current = store.query("ingest.current_versions").set_index("dataset_id")["version"]
    found = store.query("ingest.findings_counts").set_index("event_id")["findings"]
    rows = []
    for c in contracts().values():
        ev = last.loc[c.id] if c.id in last.index else None
        ld = loaded.loc[c.id] if c.id in loaded.index else None
        limit = FREQUENCY_DAYS[c.update_frequency]
        age = (today - ld["logged_at"].date()).days if ld is not None else None
        if ld is None:
            fresh = "never_loaded"
        elif limit is None:
            fresh = "no_schedule"
        else:
            fresh = "fresh" if age <= limit else "stale"
        rows.append({
            "dataset_id": c.id, "title": c.title, "title_en": c.title_en,
            "department": c.department, "department_en": c.department_en,
            "update_frequency": c.update_frequency, "load_mode": c.load_mode,
            "last_loaded": ld["logged_at"] if ld is not None else pd.NaT,
            "age_days": age, "freshness": fresh,
            # the current version: a rollback moves it back past the last load
            "version": int(current[c.id]) if c.id in current.index else None,
            "rows": int(catalog.get(c.id, ld["rows_out"])) if ld is not None else None,
            "completeness": float(ld["completeness"]) if ld is not None and
            pd.notna(ld["completeness"]) else None,
            # consistency findings of the last load (reported at validation, never refused)
            "findings": int(found.get(ld["event_id"], 0)) if ld is not None else None,
            "last_status": ev["status"] if ev is not None else None,
            "last_message": ev["message"] if ev is not None else None,
        })
    return pd.DataFrame(rows)


def history(store, dataset_id: str) -> pd.DataFrame:
    """Every load attempt of a dataset, newest first."""
    get_contract(dataset_id)
    return store.query("ingest.history", dataset_id=dataset_id)


def findings(store, dataset_id: str) -> pd.DataFrame:
    """The consistency findings of every load of a dataset, newest load first.

    Columns ``version, logged_at`` (of the load) and :data:`FINDING_COLUMNS`.
    """
    get_contract(dataset_id)
    return store.query("ingest.findings", dataset_id=dataset_id)


def column_completeness(store, event_id: str) -> pd.DataFrame:
    """Share of rows with a value, per column, in one load (in the contract's column order)."""
    frame = store.query("ingest.quality_of_event", event_id=event_id)
    dataset = store.query("ingest.event_dataset", event_id=event_id)
    if frame.empty or dataset.empty:
        return frame
    order = [n for n, _ in get_contract(dataset["dataset_id"].iloc[0]).store_columns()]
    rank = {name: i for i, name in enumerate(order)}
    return frame.sort_values("column_name", key=lambda c: c.map(rank)).reset_index(drop=True)




# -- consistency at load time: reported, never refused ---------------------------------------
#: A grid's district total may differ from the district table by this share before it is said.
GRID_TOLERANCE = 0.02
#: A register that leaves less than this share of a district's capacity of a type is said.
CAPACITY_DROP = 0.5
FINDING_COLUMNS = ["finding", "layer", "type", "district_adcode", "year", "value", "message"]


def consistency(store, plan) -> pd.DataFrame:
    """What a validated file would do to its layer that looks wrong (not refused).

    - a population grid whose total for a year and district differs from the district
      table's by more than :data:`GRID_TOLERANCE`;
    - a facility register that leaves a district less than :data:`CAPACITY_DROP` of the
      capacity of a type it has today;
    - facilities placed in cells where nobody lives (in the grid's latest year).

    Returns rows ``finding, layer, type, district_adcode, year, value, message``.
    """
    c = plan.contract
    if not c.layer or not plan.ok or plan.cached is None:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    lay = LAYERS[c.layer["name"]]
    frames = [f for f in plan.cached if len(f)]
    if not frames:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    rows = pd.concat(frames, ignore_index=True).assign(version=0)
    with store.cursor() as cur:
        cur.register("_incoming", rows)
        try:
            new = cur.execute(contribution(c, lay, "_incoming")).df()
        finally:
            cur.unregister("_incoming")
    found: list[dict] = []
    if lay.name == "population_cells":
        found += _grid_vs_districts(store, new, store.query("layers.district_totals"))
    if lay.name == "population_districts":
        grid = store.query("layers.grid_totals").rename(columns={"table_persons": "persons"})
        table = new.groupby(["year", "district_adcode"], as_index=False)["persons"].sum() \
            .rename(columns={"persons": "table_persons"})
        found += _grid_vs_districts(store, grid, table)
    if lay.name == "facilities":
        found += _capacity_drops(store, new, c.id)
        found += _empty_cells(store, new)
    return pd.DataFrame(found, columns=FINDING_COLUMNS)


def _grid_vs_districts(store, new: pd.DataFrame, table: pd.DataFrame) -> list[dict]:
    totals = new.groupby(["year", "district_adcode"], as_index=False)["persons"].sum()
    merged = totals.merge(table, on=["year", "district_adcode"], how="left")
    out = []
    for r in merged.itertuples():
        if pd.isna(r.table_persons) or r.table_persons == 0:
            continue
        share = r.persons / r.table_persons - 1
        if abs(share) > GRID_TOLERANCE:
            out.append({"finding": "grid_vs_districts", "layer": "population_cells", "type": "",
                        "district_adcode": int(r.district_adcode), "year": int(r.year),
                        "value": round(share, 4),
                        "message": f"district {r.district_adcode}, {r.year}: the grid counts "
                                   f"{int(r.persons):,} residents, the district table "
                                   f"{int(r.table_persons):,} ({share:+.1%}, more than "
                                   f"{GRID_TOLERANCE:.0%} apart)"})
    return out


def _capacity_drops(store, new: pd.DataFrame, dataset_id: str) -> list[dict]:
    now = store.query("layers.open_capacity")
    # after the load: this file's facilities plus the other registers of the same type
    others = store.query("layers.open_capacity_of_others", prefix=f"{dataset_id} v")
    cap = pd.concat([new[new["closed_year"].isna()], others], ignore_index=True).groupby(
        ["type", "district_adcode"], as_index=False)["capacity"].sum()
    cap = cap[cap.set_index(["type", "district_adcode"]).index.isin(
        new.set_index(["type", "district_adcode"]).index)]
    merged = now.merge(cap, on=["type", "district_adcode"], how="inner",
                       suffixes=("_now", "_new"))
    out = []
    for r in merged.itertuples():
        if r.capacity_now > 0 and r.capacity_new < CAPACITY_DROP * r.capacity_now:
            out.append({"finding": "capacity_halved", "layer": "facilities", "type": r.type,
                        "district_adcode": int(r.district_adcode), "year": None,
                        "value": round(r.capacity_new / r.capacity_now, 4),
                        "message": f"district {r.district_adcode}, {r.type}: capacity falls "
                                   f"from {int(r.capacity_now):,} to {int(r.capacity_new):,} "
                                   "with this register (less than half): check the file is "
                                   "complete"})
    return out


def _empty_cells(store, new: pd.DataFrame) -> list[dict]:
    cells = new["cell"].dropna().astype("uint64")
    if cells.empty:
        return []
    # asked of the store for this file's cells alone (a join in DuckDB, not the grid's
    # lived cells read out into a Python set: a load holds the server's interpreter less)
    found = store.query("layers.lived_among", cells=[int(c) for c in cells.unique()])
    if found.empty or not bool(found["grid_has_residents"].iloc[0]):
        return []
    lived = found.loc[found["lived"].astype(bool), "cell"].astype("uint64")
    empty = new.loc[cells.index[~cells.isin(lived)]]
    out = []
    for (ftype, district), group in empty.groupby(["type", "district_adcode"]):
        out.append({"finding": "facility_in_empty_cell", "layer": "facilities", "type": ftype,
                    "district_adcode": int(district), "year": None, "value": len(group),
                    "message": f"district {district}, {ftype}: {len(group)} facilit"
                               f"{'y lies' if len(group) == 1 else 'ies lie'} in cells where "
                               f"nobody lives ({', '.join(group['facility_id'].head(3))}"
                               f"{'…' if len(group) > 3 else ''}): check their coordinates"})
    return out

"""Applications for on-application datasets: who asks, why, for which fields, how long.

A signed-in requester applies; a data steward (or administrator) other than the requester
approves or rejects; an approval lasts the approved period and then expires. Access is
decided in :mod:`analytics.opendata.access`, which reads the applications through :func:`active_for`.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pandas as pd

from analytics.errors import CityBrainError
from analytics.identity import PUBLIC, Actor, require
from analytics.opendata import privacy
from analytics.opendata.registry import DEPARTMENTS, servable_columns, spec_of
from analytics.store import Store

MAX_PERIOD_DAYS = 365
MIN_PURPOSE_CHARS = 10
STEWARD_ROLES = ("data_steward", "administrator")


def get(store: Store, application_id: str) -> dict | None:
    rows = store.query("open_data.application", application_id=str(application_id))
    return None if rows.empty else rows.iloc[0].to_dict()


def apply(store: Store, actor: Actor, dataset_id: str, purpose: str, fields: list[str],
          period_days: int) -> str:
    """File an application; returns its id. Clear errors for every bad input."""
    if actor.name == PUBLIC.name:
        raise CityBrainError("sign in before applying: applications are made in a named account",
                             code="apply_sign_in")
    row = store.query("open_data.dataset", dataset_id=dataset_id)
    if row.empty:
        raise CityBrainError(f"no dataset {dataset_id!r} in the catalog", code="unknown_dataset",
                             dataset=dataset_id)
    level = row.iloc[0]["access_level"]
    if level != "on_application":
        raise CityBrainError(f"{dataset_id} is {level}: only on-application datasets take "
                             "applications" + (" (public ones need none)" if level == "public"
                                               else " (confidential ones are never released)"),
                             code=f"apply_{level}", dataset=dataset_id)
    purpose = (purpose or "").strip()
    if len(purpose) < MIN_PURPOSE_CHARS:
        raise CityBrainError(f"state the purpose in at least {MIN_PURPOSE_CHARS} characters "
                             "(what the data is for and who will use it)",
                             code="apply_purpose", minimum=MIN_PURPOSE_CHARS)
    allowed = servable_columns(store, dataset_id)
    unknown = [f for f in fields if f not in allowed]
    if not fields or unknown:
        raise CityBrainError(f"fields {unknown or '(none)'} cannot be requested for {dataset_id}; "
                             f"choose from {', '.join(allowed)}", code="apply_fields",
                             dataset=dataset_id, allowed=", ".join(allowed))
    if not 1 <= int(period_days) <= MAX_PERIOD_DAYS:
        raise CityBrainError(f"period of {period_days} days: choose 1 to {MAX_PERIOD_DAYS}",
                             code="apply_period", days=period_days, max=MAX_PERIOD_DAYS)
    app_id = "A" + uuid.uuid4().hex[:10].upper()
    store.execute("open_data.insert_application", application_id=app_id, dataset_id=dataset_id,
                  requester=actor.name, purpose=purpose, fields_json=json.dumps(list(fields)),
                  period_days=int(period_days), at=privacy.now_utc())
    return app_id


def decide(store: Store, steward: Actor, application_id: str, approve: bool, note: str = "",
           now: datetime | None = None) -> dict:
    """Approve (the approval runs for the requested period from now) or reject."""
    require(steward, *STEWARD_ROLES, action="approve or reject applications")
    app = get(store, application_id)
    if app is None:
        raise CityBrainError(f"no application {application_id!r}", code="unknown_application",
                             application=application_id)
    if app["status"] != "pending":
        raise CityBrainError(f"application {application_id} is already {app['status']}",
                             code="decided_already", application=application_id,
                             status=app["status"])
    own = department_of(store, app["dataset_id"])
    if (steward.role != "administrator" and steward.department is not None
            and own is not None and own != steward.department):
        raise CityBrainError(f"{steward.name} is a data steward of {steward.department}; "
                             f"{app['dataset_id']} belongs to {own}: a steward of {own} or "
                             "an administrator decides", code="decide_other_department",
                             steward=steward.name, department=steward.department,
                             dataset=app["dataset_id"], owner=own)
    if app["requester"] == steward.name:
        raise CityBrainError("a steward may not decide their own application; ask another steward",
                             code="decide_own")
    if not approve and not note.strip():
        raise CityBrainError("give the requester a reason for the rejection",
                             code="reject_reason")
    now = now or privacy.now_utc()
    expires = now + timedelta(days=int(app["period_days"])) if approve else None
    store.execute("open_data.decide_application", application_id=application_id,
                  status="approved" if approve else "rejected", steward=steward.name, at=now,
                  expires_at=expires, note=note.strip() or None)
    return get(store, application_id)


def department_of(store: Store, dataset_id: str) -> str | None:
    """The department holding a dataset, by the name a steward's account carries (民政局)."""
    try:
        dept = spec_of(store, dataset_id).department
    except Exception:  # noqa: BLE001 (a dataset no longer in the catalog: no department)
        return None
    if dept in DEPARTMENTS:
        return DEPARTMENTS[dept][0].replace("{city}", "")
    return dept


def withdraw(store: Store, actor: Actor, application_id: str) -> None:
    app = get(store, application_id)
    if app is None or app["requester"] != actor.name:
        raise CityBrainError(f"no application {application_id!r} of {actor.name}",
                             code="unknown_application", application=application_id)
    store.execute("open_data.withdraw_application", application_id=application_id,
                  at=privacy.now_utc())


def of(store: Store, actor: Actor) -> pd.DataFrame:
    return store.query("open_data.applications_of", requester=actor.name)


def all_applications(store: Store, steward: Actor) -> pd.DataFrame:
    require(steward, *STEWARD_ROLES, action="see every application")
    return store.query("open_data.applications_all")


def active_for(store: Store, actor: Actor, dataset_id: str, now: datetime | None = None
               ) -> dict | None:
    """The actor's latest approved, unexpired application for ``dataset_id`` (or None)."""
    return active_in(of(store, actor), dataset_id, now=now)


def active_in(apps: pd.DataFrame, dataset_id: str, now: datetime | None = None) -> dict | None:
    """The latest approved, unexpired application for ``dataset_id`` among ``apps`` (one
    requester's applications, as :func:`of` returns them)."""
    now = pd.Timestamp(now or privacy.now_utc())
    apps = apps[(apps["dataset_id"] == dataset_id) & (apps["status"] == "approved")]
    apps = apps[pd.to_datetime(apps["expires_at"]) > now]
    return None if apps.empty else apps.sort_values("decided_at").iloc[-1].to_dict()


def status_now(row, now: datetime | None = None) -> str:
    """pending | approved | expired | rejected | withdrawn, as of now."""
    if row["status"] == "approved" and row["expires_at"] is not None and not pd.isna(
            row["expires_at"]) and pd.Timestamp(row["expires_at"]) <= pd.Timestamp(
            now or privacy.now_utc()):
        return "expired"
    return row["status"]

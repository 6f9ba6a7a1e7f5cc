"""Data → API: every endpoint with a copyable example, and the caller's own tokens."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth
from dashboard.components import tokens as token_ui
from dashboard.shell import PageContext, page_context


def base_url() -> str:
    """The address this page was opened at (the API is served by the same process)."""
    try:
        host = st.context.headers.get("host")
    except Exception:  # no request context (AppTest)
        host = None
    return f"http://{host or '127.0.0.1:8501'}"


#: (method, path, description key) — the order a newcomer reads them in.
ENDPOINTS = [
    ("GET", "/api/3", "api_ep_version"),
    ("GET", "/api/health", "api_ep_health"),
    ("GET POST", "/api/3/action/package_search", "api_ep_package_search"),
    ("GET POST", "/api/3/action/package_show?id=ID", "api_ep_package_show"),
    ("GET POST", "/api/3/action/package_list", "api_ep_package_list"),
    ("GET POST", "/api/3/action/organization_list", "api_ep_organizations"),
    ("GET POST", "/api/3/action/group_list", "api_ep_groups"),
    ("GET POST", "/api/3/action/tag_list", "api_ep_tags"),
    ("GET POST", "/api/3/action/resource_show?id=ID.csv", "api_ep_resource_show"),
    ("GET POST", "/api/3/action/datastore_search", "api_ep_datastore_search"),
    ("GET POST", "/api/3/action/status_show", "api_ep_status"),
    ("GET", "/api/download/ID.FORMAT", "api_ep_download"),
    ("GET", "/api/download/domain/DOMAIN.zip", "api_ep_domain_zip"),
    ("GET", "/catalog.jsonld", "api_ep_catalog_jsonld"),
    ("GET", "/dataset/ID.jsonld", "api_ep_dataset_jsonld"),
    ("GET", "/data.json", "api_ep_data_json"),
    ("POST", "/api/pooling/ID", "api_ep_pooling"),
    ("POST", "/api/sensors/readings", "api_ep_readings"),
    ("GET", "/api/sensors/alerts?since=TIME", "api_ep_alerts"),
    ("POST", "/api/sensors/alerts/ID/acknowledge", "api_ep_alert_acknowledge"),
    ("POST", "/api/sensors/alerts/ID/resolve", "api_ep_alert_resolve"),
]
#: One reading as a gateway sends it (over HTTP as a JSON line; over MQTT as the payload):
#: the cover, the time (ISO 8601, UTC unless it says otherwise, or epoch seconds) and every
#: channel in its unit.
READING = ('{"asset_id": "ASSET_ID", "ts": "2026-05-01T08:00:00Z", "tilt_deg": 0.4, '
           '"displacement_mm": 1.2, "water_level_cm": 31.0, "battery_v": 3.61, '
           '"signal_dbm": -81}')


def page(ctx: PageContext) -> None:
    t = ctx.t
    actor = auth.current_actor(ctx.store)
    BASE = base_url()  # noqa: N806 (a constant of this run)
    st.title(t("api_page"))
    st.caption(t("api_intro"))
    st.subheader(t("api_endpoints"))
    st.dataframe(pd.DataFrame({t("api_col_method"): [m for m, _, _ in ENDPOINTS],
                               t("api_col_path"): [p for _, p, _ in ENDPOINTS],
                               t("api_col_what"): [t(k) for _, _, k in ENDPOINTS]}),
                 hide_index=True, width="stretch", height=35 * (len(ENDPOINTS) + 1) + 3)
    st.caption(t("api_auth_note"))

    st.subheader(t("api_examples"))
    curl_tab, python_tab, ckan_tab = st.tabs(["curl", "Python (requests)", "Python (ckanapi)"])
    with curl_tab:
        st.code(f"""# {t("api_ex_search")}
curl -g '{BASE}/api/3/action/package_search?q=population&rows=5&facet.field=["organization"]'

# {t("api_ex_rows")}
curl '{BASE}/api/3/action/datastore_search?resource_id=population_districts&limit=100' \\
     --get --data-urlencode 'filters={{"year": 2020, "sex": "F"}}' --data-urlencode 'sort=age desc'

# {t("api_ex_download")}
curl -o districts.csv '{BASE}/api/download/districts.csv'

# {t("api_ex_token")}
curl -H "Authorization: $CITYBRAIN_TOKEN" '{BASE}/api/3/action/datastore_search?resource_id=care_subsidy_extract'

# {t("api_ex_push")}
curl -H "Authorization: $CITYBRAIN_TOKEN" -F file=@residents.csv \\
     '{BASE}/api/pooling/public_security_residents?validate_only=true'

# {t("api_ex_readings")}
curl -H "Authorization: $GATEWAY_TOKEN" -H 'Content-Type: application/x-ndjson' \\
     --data-binary '{READING}' \\
     '{BASE}/api/sensors/readings'

# {t("api_ex_acknowledge")}
curl -X POST -H "Authorization: $CITYBRAIN_TOKEN" '{BASE}/api/sensors/alerts/ALERT_ID/acknowledge'
""", language="bash")
    with python_tab:
        st.code(f"""import os
import requests

BASE = "{BASE}"
headers = {{"Authorization": os.environ["CITYBRAIN_TOKEN"]}}  # {t("api_ex_optional")}

# {t("api_ex_search")}
hits = requests.get(f"{{BASE}}/api/3/action/package_search",
                    params={{"q": "population", "rows": 5}}).json()["result"]
print(hits["count"], [p["name"] for p in hits["results"]])

# {t("api_ex_rows")}
rows = requests.post(f"{{BASE}}/api/3/action/datastore_search", headers=headers,
                     json={{"resource_id": "population_districts", "filters": {{"year": 2020}},
                           "sort": "age desc", "limit": 100}}).json()["result"]["records"]

# {t("api_ex_push")}
with open("residents.csv", "rb") as f:
    report = requests.post(f"{{BASE}}/api/pooling/public_security_residents", headers=headers,
                           files={{"file": f}}).json()
print(report["status"], report["problem_count"])
""", language="python")
    with ckan_tab:
        st.code(f"""import ckanapi

portal = ckanapi.RemoteCKAN("{BASE}", apikey=None)  # {t("api_ex_optional")}
print(portal.action.package_show(id="districts")["access_level"])
page = portal.action.datastore_search(resource_id="districts", limit=5)
try:
    portal.action.datastore_search(resource_id="care_subsidy_registry")
except ckanapi.NotAuthorized as refused:
    print(refused)  # {t("api_ex_refused")}
""", language="python")

    st.subheader(t("api_your_tokens"))
    if actor.name == "public":
        st.info(t("api_tokens_sign_in"))
    else:
        token_ui.show(ctx.store, actor, t)
        st.caption(t("api_tokens_where"))


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())

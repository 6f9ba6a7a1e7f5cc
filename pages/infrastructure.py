"""Infrastructure: manhole covers on a live map, incidents to act on, one cover in detail.

The map shows every cover's last known state and its age. On a fresh store (no readings,
or none in the last hour) the app generates the week of history up to its start in a
background thread, through the same detection path, so the page is useful at once. The
operator works on incidents (alerts grouped by cover and time, or by district for a storm)
rather than raw alerts. The feed status, map, KPIs and incidents refresh by themselves
inside a fragment (``run_every``). The simulated feed runs in this server process (the only
one allowed to write the store), in background threads shared by all sessions, through the
server's one sensor pipeline (the API's and the broker's).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
import streamlit as st
from plotly.subplots import make_subplots

from analytics.errors import CityBrainError
from analytics.identity import Actor
from analytics.sensors import views
from analytics.sensors.history import DAYS, HistoryJob
from analytics.sensors.model import OPERATOR_ROLES
from analytics.sensors.pipeline import SimulatedFeed, acknowledge_incident, resolve_incident
from analytics.server import current
from dashboard import auth, maps
from dashboard.components import canvasmap, provenance
from dashboard.format import STATUS_COLOURS
from dashboard.shell import PageContext, page_context

REFRESH_S = 10


@st.cache_resource(show_spinner=False)
def feed_slot(store_path: str) -> dict:
    """The one simulated feed of this server process (per store)."""
    return {"feed": None}


def serving(store):
    """The server this app runs in, where it serves ``store`` (None outside the server)."""
    server = current()
    return server if server is not None and server.store is store else None


@st.cache_resource(show_spinner=False)
def history_job(store_path: str, _store) -> HistoryJob:
    """The week of history up to the app's start, generated once per server process (and
    only where the store has no recent readings); the server's sensor pipeline then reads
    it, so live readings are judged against it."""
    server = serving(_store)
    return HistoryJob(_store, then=server.reload_sensors if server else None).start()


@st.cache_data(show_spinner=False)
def outlines(key: tuple[str, str], _store) -> pd.DataFrame:
    """District outlines for the map (keyed by the store's file and vintage)."""
    return views.district_outlines(_store)


def fmt_duration(ctx, seconds: float | None) -> str:
    if seconds is None:
        return ctx.t("sensors_kpi_none")
    if seconds >= 120:
        return ctx.t("sensors_minutes", value=f"{seconds / 60:.1f}")
    return ctx.t("sensors_seconds", value=f"{seconds:.0f}")


def fmt_age(ctx, seconds) -> str:
    if seconds is None or pd.isna(seconds):
        return ctx.t("sensors_age_never")
    if seconds >= 2 * 86400:
        return ctx.t("sensors_age_days", value=f"{seconds / 86400:.1f}")
    if seconds >= 2 * 3600:
        return ctx.t("sensors_age_hours", value=f"{seconds / 3600:.1f}")
    if seconds >= 120:
        return ctx.t("sensors_age_minutes", value=f"{seconds / 60:.0f}")
    return ctx.t("sensors_age_seconds", value=f"{max(seconds, 0):.0f}")


def history_status(ctx, job: HistoryJob) -> None:
    if job.error is not None:
        st.error(ctx.t("sensors_history_error", problem=str(job.error)))
    elif not job.done:
        st.info(ctx.t("sensors_history_running", days=DAYS, percent=f"{job.progress:.0%}"),
                icon=":material/history:")
    elif job.result is not None and job.result.generated:
        st.caption(ctx.t("sensors_history_done", days=DAYS,
                         start=pd.Timestamp(job.now, unit="s").strftime("%Y-%m-%d %H:%M"),
                         readings=f"{job.result.readings:,}"))


def feed_controls(ctx, slot: dict, operator: bool, busy: bool) -> None:
    feed: SimulatedFeed | None = slot["feed"]
    failed = feed is not None and feed.error is not None
    running = feed is not None and feed.running        # False once it failed
    left, right = st.columns([3, 1])
    with left:
        if failed:
            st.error(ctx.t("sensors_feed_error", problem=ctx.reason(feed.error)))
        elif running:
            st.info(ctx.t("sensors_feed_running", rate=f"{feed.rate:g}",
                          assets=f"{len(feed.pipeline.assets):,}",
                          interval=f"{feed.interval:.1f}"), icon=":material/sensors:")
        else:
            st.caption(ctx.t("sensors_feed_stopped"))
    with right:
        if running:
            if st.button(ctx.t("sensors_feed_stop"), disabled=not operator, width="stretch"):
                try:
                    feed.stop()
                except CityBrainError as exc:
                    st.error(ctx.reason(exc))
                st.rerun()
        else:
            rate = st.number_input(ctx.t("sensors_feed_rate"), 10, 2000, 100, step=10,
                                   disabled=not operator or busy)
            if st.button(ctx.t("sensors_feed_start"), disabled=not operator or busy,
                         width="stretch"):
                if failed:
                    try:             # wind the failed one down before a new one starts
                        feed.stop()
                    except CityBrainError:
                        pass
                try:
                    server = serving(ctx.store)
                    slot["feed"] = SimulatedFeed(
                        ctx.store, float(rate),
                        pipeline=server.sensors() if server else None).start()
                except CityBrainError as exc:
                    st.error(ctx.reason(exc))
                st.rerun()


def kpi_row(ctx, k: views.Kpis) -> None:
    cols = st.columns(6)
    cols[0].metric(ctx.t("sensors_kpi_open"), f"{k.open_alerts:,}",
                   help=ctx.t("sensors_kpi_open_help", covers=f"{k.open_covers:,}",
                              networks=f"{k.open_networks:,}",
                              unlisted=f"{k.open_unlisted:,}"))
    cols[1].metric(ctx.t("sensors_kpi_ack"), f"{k.acknowledged_alerts:,}")
    cols[2].metric(ctx.t("sensors_kpi_mtta"), fmt_duration(ctx, k.mtta_s))
    cols[3].metric(ctx.t("sensors_kpi_offline"), f"{k.offline:,}",
                   help=ctx.t("sensors_kpi_offline_help", hours=views.OFFLINE_S // 3600,
                              reporting=f"{k.reporting:,}"))
    cols[4].metric(ctx.t("sensors_kpi_readings"), f"{k.readings:,}",
                   help=f"{ctx.t('sensors_kpi_rejects')}: {k.rejects:,}")
    cols[5].metric(ctx.t("sensors_kpi_latency"),
                   ctx.t("sensors_kpi_none") if k.latency_p99_ms is None
                   else f"{k.latency_p99_ms / 1000:.2f} s")


def legend(ctx, counts: pd.Series) -> None:
    items = []
    for status, (r, g, b) in STATUS_COLOURS.items():
        items.append(f"<span style='display:inline-block;width:12px;height:12px;border-radius:6px;"
                     f"background:rgb({r},{g},{b});margin:0 4px 0 12px;vertical-align:middle'></span>"
                     f"{ctx.t(f'sensors_status_{status}')} ({int(counts.get(status, 0)):,})")
    st.markdown(" ".join(items), unsafe_allow_html=True)
    # the asset points: the manhole register per district, or the synthetic layer
    st.caption(ctx.t("layer_assets") + " · "
               + provenance.legend_text(ctx.store, str(ctx.store_key), ctx.lang, "assets"))


def status_map(ctx, status: pd.DataFrame, districts: pd.DataFrame,
               networks: pd.DataFrame | None = None) -> None:
    """The covers by status; a district with an unresolved alert on a whole network of it
    (``networks``: ``district_adcode``) is outlined in red."""
    if status.empty:
        # a city on its own data before the asset register is loaded: nothing to draw
        st.info(ctx.t("sensors_no_assets", dataset="urban_management_manholes"))
        return
    frame = status.copy()
    frame["status_label"] = frame["status"].map(lambda s: ctx.t(f"sensors_status_{s}"))
    frame["type_label"] = frame["asset_type"].map(lambda s: ctx.t(f"sensors_type_{s}"))
    frame["kinds_label"] = frame["kinds"].fillna("").map(
        lambda ks: "、".join(ctx.t(f"sensors_kind_{k}") for k in ks.split(",") if k))
    frame["age_label"] = frame["age_s"].map(
        lambda a: ctx.t("sensors_age_never") if pd.isna(a)
        else ctx.t("sensors_age_tooltip", age=fmt_age(ctx, a)))
    frame["radius"] = frame["status"].map({"alert": 7, "acknowledged": 6}).fillna(3)
    # draw the calm ones first so alerts sit on top
    frame["color"] = frame["status"].map(lambda s: list(STATUS_COLOURS[s]))
    order = {s: i for i, s in enumerate(reversed(views.STATUSES))}
    frame = frame.sort_values("status", key=lambda s: s.map(order))
    frame["status_line"] = (frame["status_label"] + " " + frame["kinds_label"]).str.strip()
    frame = frame[["asset_id", "lon", "lat", "color", "radius", "type_label", "status_line",
                   "age_label"]]
    alerted = districts[districts["adcode"].isin(
        set() if networks is None else set(networks["district_adcode"]))]
    layers = [
        maps.frame_layer("PathLayer", districts, id="districts", get_path="path",
                         get_color=[60, 60, 60], width_min_pixels=1.5, get_width=2),
        maps.frame_layer("ScatterplotLayer", frame, id="covers", get_position=["lon", "lat"],
                         get_fill_color="color", get_radius="radius", radius_units="'pixels'",
                         pickable=True, stroked=True, get_line_color=[255, 255, 255],
                         line_width_min_pixels=1, opacity=1.0),
    ]
    if not alerted.empty:
        layers.insert(1, maps.frame_layer("PathLayer", alerted, id="network_alerts",
                                          get_path="path", get_color=list(STATUS_COLOURS["alert"]),
                                          width_min_pixels=4, get_width=4))
    view = pdk.data_utils.compute_view(frame[["lon", "lat"]].to_numpy().tolist(),
                                       view_proportion=0.95)
    # drawn on the page's canvas (no WebGL: a control room's PC may have no GPU)
    canvasmap.show(canvasmap.build(layers, view, label=ctx.t("sensors_map_header"),
                                   tooltip=("asset_id", "type_label", "status_line",
                                            "age_label")),
                   key="sensors_map", height=460)


def covers_label(ctx, incident) -> str:
    """What an incident is about: its cover (and how many more), or a whole network of its
    district."""
    a = incident.asset_ids
    if not a:
        return ctx.t("sensors_network_whole",
                     network=ctx.t(f"sensors_type_{incident.network}"))
    return a[0] if len(a) == 1 else f"{a[0]} +{len(a) - 1}"


def incident_table(ctx, inc: pd.DataFrame, names: dict) -> None:
    shown = pd.DataFrame({
        ctx.t("sensors_col_incident"): inc["incident_id"],
        ctx.t("sensors_col_state"): inc["state"].map(lambda s: ctx.t(f"sensors_state_{s}")),
        ctx.t("sensors_col_kinds"): inc["kinds"].map(
            lambda ks: "、".join(ctx.t(f"sensors_kind_{k}") for k in ks.split(",")) if ctx.lang == "zh"
            else ", ".join(ctx.t(f"sensors_kind_{k}") for k in ks.split(","))),
        ctx.t("sensors_col_covers"): [covers_label(ctx, r) for r in inc.itertuples()],
        ctx.t("sensors_col_district"): inc["district_adcode"].map(lambda d: names.get(d, d)),
        ctx.t("sensors_col_alerts"): inc["alerts"],
        ctx.t("sensors_col_first"): inc["first_ts"].dt.strftime("%m-%d %H:%M"),
        ctx.t("sensors_col_last"): inc["last_ts"].dt.strftime("%m-%d %H:%M"),
    })
    st.dataframe(shown, hide_index=True, width="stretch", height=300)


def district_names(ctx) -> dict:
    d = outlines(ctx.store_key, ctx.store)
    col = "name" if ctx.lang == "zh" else "name_en"
    return dict(zip(d["adcode"], d[col], strict=True)) if not d.empty else {}


@st.fragment(run_every=REFRESH_S)
def live(ctx: PageContext) -> None:
    """Feed status, KPIs, map and incidents: re-run every few seconds without rerunning the
    page, so a feed that stopped or failed never leaves a stale banner."""
    actor = auth.current_actor(ctx.store)
    operator = actor.role in OPERATOR_ROLES
    job = history_job(str(ctx.store.path), ctx.store)
    history_status(ctx, job)
    feed_controls(ctx, feed_slot(str(ctx.store.path)), operator, busy=not job.done)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    k = views.kpis(ctx.store, now=now)
    kpi_row(ctx, k)
    status = views.asset_status(ctx.store, now=now)
    st.subheader(ctx.t("sensors_map_header"))
    legend(ctx, status["status"].value_counts())
    networks = views.network_alerts(ctx.store)
    status_map(ctx, status, outlines(ctx.store_key, ctx.store), networks)
    if not networks.empty:
        names = district_names(ctx)
        st.caption(ctx.t("sensors_network_alerted", networks=("、" if ctx.lang == "zh" else "; ").join(
            f"{names.get(r.district_adcode, r.district_adcode)} "
            f"{ctx.t(f'sensors_type_{r.network}')}" for r in networks.itertuples())))
    clock = None if k.clock is None else pd.Timestamp(k.clock)
    st.caption(ctx.t("sensors_map_updated", seconds=REFRESH_S,
                     clock="—" if clock is None else clock.strftime("%Y-%m-%d %H:%M:%S"),
                     age="—" if clock is None else fmt_age(ctx, (now - clock).total_seconds())))
    st.subheader(ctx.t("sensors_incidents_header"))
    st.caption(ctx.t("sensors_incidents_caption"))
    inc = views.incidents(ctx.store)
    if inc.empty:
        st.caption(ctx.t("sensors_incidents_empty"))
    else:
        incident_table(ctx, inc, district_names(ctx))


def incident_actions(ctx, actor: Actor, operator: bool) -> None:
    inc = views.incidents(ctx.store)
    pending = inc[inc["state"] != "resolved"]
    if pending.empty:
        return
    labels = {r.incident_id: f"{r.incident_id} · {covers_label(ctx, r)} · "
                             + ", ".join(ctx.t(f"sensors_kind_{k}") for k in r.kinds.split(","))
                             + f" · {ctx.t(f'sensors_state_{r.state}')}"
              for r in pending.itertuples()}
    left, mid, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    choice = left.selectbox(ctx.t("sensors_pick_incident"), list(labels), format_func=labels.get)
    row = pending.set_index("incident_id").loc[choice]
    if mid.button(ctx.t("sensors_ack"), disabled=not operator or row["state"] != "open",
                  width="stretch"):
        try:
            n = acknowledge_incident(ctx.store, row["alert_ids"], actor)
            st.success(ctx.t("sensors_done_ack_incident", incident=choice, alerts=n))
        except CityBrainError as exc:
            st.error(ctx.reason(exc))
    if right.button(ctx.t("sensors_resolve"), disabled=not operator or row["state"] != "acknowledged",
                    width="stretch"):
        try:
            n = resolve_incident(ctx.store, row["alert_ids"], actor)
            st.success(ctx.t("sensors_done_resolve_incident", incident=choice, alerts=n))
        except CityBrainError as exc:
            st.error(ctx.reason(exc))
    if isinstance(row["network"], str):
        network_chart(ctx, int(row["district_adcode"]), row["network"])


def network_chart(ctx, district: int, network_key: str) -> None:
    """The series the network watch judged (its 5-minute median fill) with its alerts, for
    an incident on a whole network."""
    detail = views.network_detail(ctx.store, district, network_key)
    name = ctx.t(f"sensors_type_{network_key}")
    st.caption(ctx.t("sensors_network_chart", network=name,
                     district=district_names(ctx).get(district, district)))
    if detail.series.empty:
        st.caption(ctx.t("sensors_no_series"))
        return
    s = detail.series
    fig = go.Figure(go.Scatter(x=s["slot_ts"], y=100 * s["fill"], mode="lines",
                               line={"width": 1.3, "color": "#2b6cb0"}, name=name))
    for a in detail.alerts.itertuples():
        if s["slot_ts"].min() <= a.reading_ts <= s["slot_ts"].max():
            fig.add_vline(x=a.reading_ts, line_color="#d73027", line_dash="dot")
    fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      yaxis_title=ctx.t("sensors_network_fill"))
    dates_in_digits(ctx, fig, "%H:%M")
    st.plotly_chart(fig, width="stretch")


def dates_in_digits(ctx, fig: go.Figure, hover_time: str) -> None:
    """Plotly names months in English; Chinese pages write dates in digits."""
    if ctx.lang == "zh":
        fig.update_xaxes(tickformat="%-m月%-d日\n%H:%M", hoverformat=f"%Y年%-m月%-d日 {hover_time}")


def series_figure(ctx, detail: views.AssetDetail) -> go.Figure:
    s = detail.series
    panels = [("water_level_cm", "sensors_series_water"), ("tilt_deg", "sensors_series_tilt"),
              ("displacement_mm", "sensors_series_disp"), ("battery_v", "sensors_series_battery")]
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[ctx.t(k) for _, k in panels])
    for i, (col, _) in enumerate(panels, start=1):
        fig.add_trace(go.Scatter(x=s["ts"], y=s[col], mode="lines",
                                 line={"width": 1.3, "color": "#2b6cb0"},
                                 showlegend=False, name=col), row=i, col=1)
    t0, t1 = s["ts"].min(), s["ts"].max()
    for f in detail.faults.itertuples():
        if f.end_ts >= t0 and f.start_ts <= t1:
            fig.add_vrect(x0=max(f.start_ts, t0), x1=min(f.end_ts, t1), fillcolor="#fdae61",
                          opacity=0.25, line_width=0, row="all", col=1)
    for a in detail.alerts.itertuples():
        if t0 <= a.reading_ts <= t1:
            fig.add_vline(x=a.reading_ts, line_color="#d73027", line_dash="dot", row="all", col=1)
    fig.update_layout(height=560, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    dates_in_digits(ctx, fig, "%H:%M:%S")
    return fig


def drill_down(ctx, status: pd.DataFrame) -> None:
    st.subheader(ctx.t("sensors_drill_header"))
    alerted = status[status["status"].isin(["alert", "acknowledged"])]["asset_id"].tolist()
    options = alerted + [a for a in status["asset_id"] if a not in set(alerted)]
    asset_id = st.selectbox(ctx.t("sensors_pick_asset"), options, key="sensors_asset")
    detail = views.asset_detail(ctx.store, asset_id)
    if detail is None:
        return
    a = detail.asset
    st.caption(ctx.t("sensors_asset_facts", type=ctx.t(f"sensors_type_{a['asset_type']}"),
                     owner=views.owner_name(a["owner_department"], ctx.lang),
                     year=int(a["install_year"]),
                     depth=int(a["depth_cm"])))
    if detail.series.empty:
        st.caption(ctx.t("sensors_no_series"))
        return
    st.plotly_chart(series_figure(ctx, detail), width="stretch")
    st.caption(f"— {ctx.t('sensors_series_alert')}  ▮ {ctx.t('sensors_series_fault')}")
    if not detail.alerts.empty:
        shown = detail.alerts.assign(
            kind=detail.alerts["kind"].map(lambda k: ctx.t(f"sensors_kind_{k}")),
            state=detail.alerts["state"].map(lambda s: ctx.t(f"sensors_state_{s}")))
        st.dataframe(shown[["alert_id", "kind", "state", "reading_ts", "occurrences", "flaps"]]
                     .rename(columns={"alert_id": ctx.t("sensors_col_alert"),
                                      "kind": ctx.t("sensors_col_kind"),
                                      "state": ctx.t("sensors_col_state"),
                                      "reading_ts": ctx.t("sensors_col_reading_ts"),
                                      "occurrences": ctx.t("sensors_col_occurrences"),
                                      "flaps": ctx.t("sensors_col_flaps")}),
                     hide_index=True, width="stretch")


def page(ctx: PageContext) -> None:
    actor = auth.current_actor(ctx.store)
    operator = actor.role in OPERATOR_ROLES
    st.title(ctx.t("sensors_page"))
    st.caption(ctx.t("sensors_intro"))
    if not operator:
        st.caption(ctx.t("sensors_operator_only"))
    live(ctx)
    incident_actions(ctx, actor, operator)
    drill_down(ctx, views.asset_status(ctx.store))
    rejects = views.reject_counts(ctx.store)
    if not rejects.empty:
        st.subheader(ctx.t("sensors_rejects_header"))
        st.dataframe(pd.DataFrame({
            ctx.t("sensors_col_reason"): rejects["reason"].map(lambda r: ctx.t(f"sensors_reason_{r}")),
            ctx.t("sensors_col_count"): rejects["readings"]}), hide_index=True)


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())

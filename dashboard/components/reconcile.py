"""The standard's ratio beside walking-distance coverage, and gaps said in words.

One view for the overview and the planning map: the district-level ratio (capacity against
what the standard asks for) and the cell-level walking coverage of the same type, area and
year, side by side, with one sentence saying why they differ
(:func:`analytics.planning.reconcile.reconcile` computes both). Gaps follow one convention
everywhere: a shortfall is written as a shortfall (red), a surplus as a surplus (green),
amounts are never signed.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.planning import accessibility
from analytics.planning.reconcile import Reconciliation, reconcile
from dashboard import planning as pl
from dashboard.auth import current_actor
from dashboard.i18n import translate

STATUS_COLOUR = {"shortfall": "red", "surplus": "green", "meets": "green",
                 "no_standard": "gray"}
#: Text colours of a gap cell in tables (colour-blind safe red and green of ColorBrewer).
CELL_COLOUR = {"shortfall": "color: #b2182b; font-weight: 600", "surplus": "color: #1b7837",
               "meets": "color: #1b7837", "no_standard": "color: #666666"}


def _n(x: float, lang: str) -> str:
    """Whole numbers from 100 up; one decimal below, where a fraction of a place shows."""
    return f"{x:,.0f}" if abs(x) >= 100 or round(x, 1) == int(x) else f"{x:,.1f}"


def gap_words(status: str, amount: float, unit: str, lang: str) -> str:
    """``短缺 1,234 个位`` / ``shortfall of 1,234 places``; ``surplus``; ``meets``."""
    if status == "no_standard" or amount != amount:  # NaN
        return translate("gap_no_standard", lang)
    return translate(f"gap_{status}", lang, amount=_n(amount, lang), unit=unit)


def gap_column(frame: pd.DataFrame, status: str, amount: str, unit: str, lang: str
               ) -> pd.Series:
    """A table column of gap words from a frame's ``status`` and ``amount`` columns."""
    return pd.Series([gap_words(s, a, unit, lang) for s, a in
                      zip(frame[status], frame[amount], strict=True)], index=frame.index)


def gap_styles(statuses: dict[str, pd.Series]) -> dict[str, list[str]]:
    """Per gap column, each row's text colour by its status (for
    :func:`dashboard.components.table.html_table`).

    >>> gap_styles({"gap": pd.Series(["shortfall", "meets"])})["gap"][1]
    'color: #1b7837'
    """
    return {col: [CELL_COLOUR.get(s, "") for s in status.to_numpy()]
            for col, status in statuses.items()}


def colour_gaps(shown: pd.DataFrame, columns: list[str], statuses: dict[str, pd.Series]):
    """A Styler colouring each gap column by its status (red shortfall, green surplus), with
    the colours of :func:`gap_styles`."""
    styles = gap_styles(statuses)
    return shown.style.apply(lambda col: styles.get(col.name, [""] * len(col)),
                             subset=columns, axis=0)


def show(rec: Reconciliation, lang: str, area: str, type_name: str, group: str,
         unit: str) -> None:
    """Two figures side by side and the sentence that reconciles them."""
    t = lambda key, **fmt: translate(key, lang, **fmt)  # noqa: E731
    left, right = st.columns(2)
    with left:
        if rec.status == "no_standard":
            st.metric(t("rec_ratio_label"), "—", help=t("rec_ratio_help"))
        else:
            st.metric(t("rec_ratio_label"), f"{rec.supply_pct:,.0f}%", help=t("rec_ratio_help"))
        words = gap_words(rec.status, rec.amount, unit, lang)
        st.markdown(f":{STATUS_COLOUR[rec.status]}[**{words}**] · "
                    + t("rec_ratio_detail", capacity=_n(rec.capacity, lang), unit=unit,
                        required=_n(rec.required, lang) if rec.required == rec.required
                        else "—"))
    with right:
        st.metric(t("rec_walk_label", radius=f"{rec.radius_m:,}"),
                  f"{rec.coverage_pct:.1f}%" if rec.coverage_pct == rec.coverage_pct else "—",
                  help=t("rec_walk_help"))
        st.markdown(t("rec_walk_detail", covered=count_text(rec.covered, lang),
                      residents=f"{rec.residents:,}", group=group, radius=f"{rec.radius_m:,}",
                      beyond=count_text(rec.beyond, lang)))
    unmet_key = "rec_unmet_no_ratio" if rec.status == "no_standard" else "rec_unmet_ratio"
    st.markdown(t(unmet_key, without=unmet_text(rec, lang),
                  beyond=count_text(rec.beyond, lang), near=count_text(rec.near_but_full, lang),
                  radius=f"{rec.radius_m:,}", unit=unit))
    st.info(t(f"rec_why_{rec.reason}", area=area, type=type_name, group=group,
              radius=f"{rec.radius_m:,}", supply_pct=f"{rec.supply_pct:,.0f}%"
              if rec.required == rec.required and rec.required > 0 else "—",
              coverage_pct=f"{rec.coverage_pct:.1f}%"
              if rec.coverage_pct == rec.coverage_pct else "—",
              uncovered=count_text(rec.beyond, lang)), icon=":material/balance:")
    st.caption(t("rec_counts_note"))


def count_text(value: int | None, lang: str) -> str:
    """A released count of people: ``1,234``; a blank (1-9, suppressed) says so."""
    return translate("plan_suppressed", lang) if value is None else f"{value:,}"


def unmet_text(rec: Reconciliation, lang: str) -> str:
    """Unmet demand as released; where its part near full facilities is blank (1-9), the
    range it lies in (the residents beyond the radius plus 1 to 9)."""
    if rec.without_place is None and rec.beyond is not None:
        return f"{rec.beyond + 1:,}–{rec.beyond + 9:,}"
    return count_text(rec.without_place, lang)


#: Facility types whose standard sets a capacity ratio, in the order planners ask about them.
RATIO_TYPES = ["kindergarten", "primary_school", "junior_middle_school", "nursery",
               "elderly_care_home", "elderly_day_care", "hospital"]


@st.cache_data(show_spinner=False, max_entries=64)
def measures(_store, key: str, type_key: str, year: int, district: int | None, _actor=None
             ) -> Reconciliation:
    """Both measures for one type, year and area at the standard's group and radius (the
    analysis is the planning map's, cached); the counts are the released ones."""
    result = pl.analyse(_store, key, type_key, year, accessibility.default_group(type_key), None)
    return reconcile(_store, type_key, year, district, result=result, channel="page",
                     **({"actor": _actor} if _actor is not None else {}))


def section(ctx, type_key: str, rec: Reconciliation | None = None) -> None:
    """The heading, both figures and the sentence, for ``ctx``'s area and year."""
    if rec is None:
        rec = measures(ctx.store, "|".join(ctx.store_key), type_key, ctx.year, ctx.district,
                       _actor=current_actor(ctx.store))
    type_name = pl.type_name(type_key, ctx.lang)
    st.markdown("#### " + ctx.t("rec_heading", type=type_name, area=ctx.area_label(),
                                 year=ctx.year))
    show(rec, ctx.lang, ctx.area_label(), type_name if ctx.lang == "zh" else type_name.lower(),
         pl.group_name(rec.group, ctx.lang), pl.unit_name(type_key, ctx.lang))

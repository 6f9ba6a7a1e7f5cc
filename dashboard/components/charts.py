"""Plotly charts rendered offline, each with the plotted data as a CSV download below it."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

FONT = "Microsoft YaHei, PingFang SC, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"


def config(filename: str) -> dict:
    """Plotly's toolbar: no logo, no link out; the camera button saves a PNG named ``filename``."""
    return {"displaylogo": False, "showLink": False, "showSendToCloud": False,
            "modeBarButtonsToRemove": ["lasso2d", "select2d"],
            "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2}}


def style(fig: go.Figure, height: int = 380) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      font={"family": FONT, "size": 13}, paper_bgcolor="white",
                      plot_bgcolor="white", legend={"orientation": "h", "y": -0.15,
                                                    "x": 0, "title": None})
    fig.update_xaxes(gridcolor="#eeeeee", zeroline=False)
    fig.update_yaxes(gridcolor="#eeeeee", zeroline=False)
    return fig


def finish(fig: go.Figure, height: int = 380) -> dict:
    """The styled figure as a plain dict: cheap to cache and to send again."""
    return style(fig, height).to_dict()


def show(fig: go.Figure | dict, data: pd.DataFrame, name: str, label: str, key: str,
         height: int = 380) -> None:
    """Draw ``fig`` (a figure, or a dict from :func:`finish`) and offer ``data`` (already
    with people's column names) as CSV.

    The CSV is UTF-8 with a byte-order mark so Excel opens Chinese headers correctly.
    """
    if isinstance(fig, go.Figure):
        fig = finish(fig, height)
    st.plotly_chart(fig, config=config(name), key=f"chart_{key}", width="stretch")
    st.download_button(label, data.to_csv(index=False).encode("utf-8-sig"),
                       file_name=f"{name}.csv", mime="text/csv", key=f"csv_{key}",
                       icon=":material/download:", type="tertiary", on_click="ignore")

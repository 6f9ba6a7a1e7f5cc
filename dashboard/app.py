"""Entry point: a router. Pages live in ``pages/``; shared state in ``dashboard.shell``."""

from pathlib import Path

import streamlit as st

from dashboard import shell
from dashboard.i18n import translate
from dashboard.navigation import GROUP_ORDER, PAGES, PAGES_DIR

# The favicon is a local file: a Material icon here would be fetched from a font CDN.
st.set_page_config(page_title="City Data Brain", page_icon=str(Path(__file__).parent / "static" / "favicon.png"),
                   layout="wide")
lang = st.session_state.get("lang") or st.query_params.get("lang", "zh")
groups: dict[str, list[st.Page]] = {}
for group, script, title, icon in PAGES:
    groups.setdefault(translate(group, lang), []).append(
        st.Page(PAGES_DIR / script, title=translate(title, lang), icon=icon))
ordered = {translate(g, lang): groups[translate(g, lang)]
           for g in GROUP_ORDER if translate(g, lang) in groups}
navigation = st.navigation(ordered)
shell.sidebar()
navigation.run()

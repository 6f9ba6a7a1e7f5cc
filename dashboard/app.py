"""Entry point: a router. Pages live in ``pages/``; shared state in ``dashboard.shell``."""

from pathlib import Path

import streamlit as st

from dashboard import shell, warm
from dashboard.i18n import translate
from dashboard.navigation import GROUP_ORDER, PAGES, route

# while a page runs, the background warming waits (it goes on between runs)
with warm.visit():
    lang = shell._lang()
    # The favicon is a local file: a Material icon here would be fetched from a font CDN.
    st.set_page_config(page_title=translate("app_title", lang),
                       page_icon=str(Path(__file__).parent / "static" / "favicon.png"),
                       layout="wide")
    groups: dict[str, list[st.Page]] = {}
    for group, name, _, _ in PAGES:
        groups.setdefault(group, []).append(route(name, lang))
    # every page listed: folded, Streamlit hides the last groups behind its own "View n
    # more" link, in English whatever the page's language
    navigation = st.navigation({translate(g, lang): groups[g] for g in GROUP_ORDER
                                if g in groups}, expanded=True)
    shell.sidebar()
    navigation.run()

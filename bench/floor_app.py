"""The framework's floor: the smallest page the dashboard's server stack can serve.

A title and one selectbox, under the same Streamlit, the same ``st.App`` and uvicorn and the
same ``.streamlit/config.toml`` as the dashboard (``bench_browser`` serves it from the
project folder). Whatever the browser waits for here, every page of the dashboard waits for
too: the time of the dashboard's own work is what it takes beyond this.
"""

import streamlit as st

st.set_page_config(page_title="floor", layout="wide")
year = st.selectbox("Year", [2024, 2025], index=1, key="year")
st.title(f"Floor, {year}")

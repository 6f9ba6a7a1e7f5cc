"""The dashboard's pages: each module has ``def page(ctx)`` (read widgets -> call analytics ->
render), routed by ``dashboard.navigation``. Run one alone with ``streamlit run pages/x.py``."""

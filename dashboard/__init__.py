"""The Streamlit shell: router, shared sidebar state, cached store, UI strings, components."""

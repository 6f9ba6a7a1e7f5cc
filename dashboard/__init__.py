"""The Streamlit shell: router, shared sidebar state, cached store, UI strings, components."""

import logging


def _not_the_import_check(record: logging.LogRecord) -> bool:
    """Streamlit checks each cache decorator's settings as a page module is imported, and
    outside its runtime (the server imports the pages before it starts one) it warns once
    per decorator that it checked against a throwaway memory cache: thirty lines of noise
    at every start. The caches pages use are the runtime's, so the warning says nothing."""
    return "No runtime found, using MemoryCacheStorageManager" not in record.getMessage()


logging.getLogger("streamlit.runtime.caching.cache_data_api").addFilter(_not_the_import_check)

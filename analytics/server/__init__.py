"""The HTTP side of the one server process that owns the store.

- :mod:`.ckan`: the CKAN-compatible Action API (``package_search``, ``datastore_search``…)
  over the catalog and the access rules, without HTTP;
- :mod:`.web`: the Starlette routes under ``/api/`` (actions, streamed downloads, DCAT-AP,
  department push, telemetry) and the catalog documents;
- :mod:`.state`: the server's store (the write connection), limits, snapshot and discovery;
- :mod:`.session`: the signed session cookie and CSRF tokens;
- :mod:`.client`: how the CLI finds a running server and talks to it.

The Streamlit shell (``dashboard/server.py``) mounts these routes in ``st.App`` beside the
dashboard; nothing here imports Streamlit.

>>> from analytics.server import ckan
>>> ckan.slug("Civil Affairs Bureau")
'civil-affairs-bureau'
"""

from analytics.server.ckan import ACTIONS, ActionError, Call
from analytics.server.state import Limits, ServerState, current, install, server_file

__all__ = ["ACTIONS", "ActionError", "Call", "Limits", "ServerState", "current", "install",
           "server_file"]

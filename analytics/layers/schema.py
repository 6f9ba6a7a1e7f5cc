"""The store's DDL that is rendered rather than written: department tables and layer views.

Kept free of any store import so that :mod:`analytics.store` can create them.
"""

from __future__ import annotations

from analytics.pooling.contracts import contracts
from analytics.pooling.feeds import LAYERS, view_statements

LAYER_NAMES = tuple(LAYERS)


def contract_statements() -> list[str]:
    """Each contract's ``<table>_versions`` table and current-version view."""
    return [s for c in contracts().values() for s in c.ddl()]


def layer_statements() -> list[str]:
    """The layer views (department rows over synthetic rows, with ``source``)."""
    return view_statements()

"""Fixtures shared by the test suite and the library's doctests.

The doctests (``--doctest-modules`` over ``analytics/``) get ``store``: the small store of
two Hangzhou districts (西湖区 330106, 滨江区 330108), built once per session by the product's
own build.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.citygen.build import BuildConfig, build
from analytics.store import Store

SMALL_DISTRICTS = (330106, 330108)

collect_ignore = ["analytics/__main__.py", "notebooks", "data/examples/make_examples.py"]


@pytest.fixture(scope="session")
def small_store_path(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("store") / "small.duckdb"
    build(BuildConfig(districts=SMALL_DISTRICTS, out=out))
    return out


@pytest.fixture(autouse=True)
def _doctest_store(request, doctest_namespace):
    """Give each doctest of the library an open ``store`` (the small one), closed after it."""
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    store = Store.open(request.getfixturevalue("small_store_path"))
    doctest_namespace["store"] = store
    yield
    store.close()

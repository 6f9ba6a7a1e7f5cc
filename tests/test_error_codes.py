"""Every refusal a page can show carries a code that the dashboard words in both languages.

The codes are read from the library's source (every ``code="..."`` passed to a call, and the
access decision's refusals), not from a list kept by hand, so a new coded error without its
Chinese and English text fails here; so does a text whose placeholder the error does not
give, which would otherwise fail only when a person meets the error.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from analytics.errors import CityBrainError
from analytics.forecast.data import check_horizon
from analytics.opendata.access import REFUSALS
from dashboard.i18n import LANGUAGES, explain, table

LIBRARY = Path(__file__).resolve().parent.parent / "analytics"

#: Modules whose errors reach a page (pooling, open data, planning, forecasts, sensors'
#: alert workflow, the store and settings): each raise of a library error there has a code.
PAGE_FACING = ["pooling/read.py", "pooling/plan.py", "pooling/load.py", "pooling/uploads.py",
               "pooling/points.py", "pooling/clean.py", "pooling/errors.py",
               "opendata/accounts.py", "opendata/applications.py", "opendata/tokens.py",
               "opendata/catalog.py", "forecast/api.py", "forecast/data.py",
               "forecast/demand.py", "forecast/cohort.py", "planning/accessibility.py",
               "planning/reconcile.py", "planning/siting.py", "pooling/contracts.py",
               "indicators/kpis.py", "identity.py", "settings.py", "errors.py"]
#: Raises that are not a library error (a programming error, or re-raising one).
NOT_LIBRARY_ERRORS = {"ValueError", "KeyError", "TypeError", "AttributeError", "RuntimeError",
                      "OSError", "SystemExit"}


def coded_calls():
    """``(file:line, code, keyword names or None where **params are passed on)``."""
    for path in sorted(LIBRARY.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            code = next((k.value for k in node.keywords if k.arg == "code"), None)
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                names = {k.arg for k in node.keywords if k.arg not in (None, "code")}
                if getattr(node.func, "id", None) == "lookup":  # analytics.errors.lookup
                    names |= {"key", "choices"}
                spread = any(k.arg is None for k in node.keywords)
                where = f"{path.relative_to(LIBRARY)}:{node.lineno}"
                yield where, code.value, None if spread else names
            elif isinstance(code, ast.IfExp):   # code="a" if ... else "b"
                for branch in (code.body, code.orelse):
                    if isinstance(branch, ast.Constant):
                        names = {k.arg for k in node.keywords if k.arg not in (None, "code")}
                        yield f"{path.relative_to(LIBRARY)}:{node.lineno}", branch.value, names


CODED = list(coded_calls())


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_library_raises_many_coded_errors():
    # the scan itself works: it finds the codes of this module's own examples
    codes = {c for _, c, _ in CODED}
    assert {"ingest_empty", "unknown_district", "base_year", "store_missing"} <= codes
    assert len(codes) > 80


@pytest.mark.parametrize("code", sorted({c for _, c, _ in CODED} | set(REFUSALS)))
def test_every_code_has_both_languages(code):
    entry = table().get(f"reason_{code}")
    assert entry is not None, f"no dashboard text reason_{code}"
    for lang in LANGUAGES:
        assert entry.get(lang), f"reason_{code} has no {lang} text"


@pytest.mark.parametrize("where, code, names", [c for c in CODED if c[2] is not None],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_texts_use_only_the_parameters_the_error_gives(where, code, names):
    entry = table().get(f"reason_{code}", {})
    for lang in LANGUAGES:
        missing = placeholders(entry.get(lang, "")) - names
        assert not missing, f"{where}: reason_{code} ({lang}) needs {missing}"


@pytest.mark.parametrize("module", PAGE_FACING)
def test_every_error_a_page_shows_has_a_code(module):
    path = LIBRARY / module
    uncoded = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in NOT_LIBRARY_ERRORS or name.startswith("_"):
                continue
            if not any(k.arg == "code" for k in node.exc.keywords):
                uncoded.append(node.lineno)
    assert not uncoded, f"{module}: errors without a code at lines {uncoded}"


def test_explain_words_a_coded_error_in_each_language():
    with pytest.raises(CityBrainError) as caught:
        check_horizon(0)
    assert explain(caught.value, "en") != explain(caught.value, "zh")
    assert "30" in explain(caught.value, "zh") and "0" in explain(caught.value, "zh")
    # an error without a code keeps its own (English) message
    assert explain(CityBrainError("plain words"), "zh") == "plain words"

"""Every public name a package face exports is documented (numpydoc).

A face is ``analytics/<package>/__init__.py``; its public names are its ``__all__``. A
function with parameters needs a ``Parameters`` section, one that returns something a
``Returns`` section; a class needs a docstring of its own (not the dataclass's generated
signature); an error class a docstring.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import analytics

FACES = sorted(m.name for m in pkgutil.iter_modules(analytics.__path__) if m.ispkg)


def public_names():
    for face in FACES:
        module = importlib.import_module(f"analytics.{face}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and \
                    obj.__module__.startswith("analytics"):
                yield f"analytics.{face}.{name}", obj


NAMES = list(public_names())


def test_the_faces_export_functions_and_classes():
    # the enumeration works: it finds the main entry points of several faces
    found = {n for n, _ in NAMES}
    assert {"analytics.forecast.forecast", "analytics.planning.analyse",
            "analytics.pooling.load", "analytics.opendata.decide"} <= found
    assert len(found) > 80


def problems(obj) -> list[str]:
    doc = inspect.getdoc(obj) or ""
    if not doc.strip():
        return ["no docstring"]
    if inspect.isclass(obj):
        if doc.startswith(f"{obj.__name__}("):
            return ["only the generated signature as its docstring"]
        return []
    out = []
    sig = inspect.signature(obj)
    params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
    if params and "Parameters\n----------" not in doc:
        out.append("no Parameters section")
    returns = sig.return_annotation
    gives = returns not in (inspect.Signature.empty, None, "None")
    if gives and "Returns\n-------" not in doc and "Yields\n------" not in doc:
        out.append("no Returns section")
    return out


@pytest.mark.parametrize("name, obj", NAMES, ids=[n for n, _ in NAMES])
def test_public_name_has_a_numpydoc_docstring(name, obj):
    assert not problems(obj), f"{name}: {', '.join(problems(obj))}"

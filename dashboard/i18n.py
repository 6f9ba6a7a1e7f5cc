"""Every UI string, in Chinese and English, in one table.

The table is assembled from ``dashboard/strings/*.toml`` (one file per area of the app, so
pages can be added without touching each other's strings); a key defined twice is an error,
and a test checks that every key has both languages.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path

from analytics.opendata.registry import department_en

LANGUAGES = ("zh", "en")

#: ``ctx.t``: a string key (and its format values) -> the text in the page language.
Translate = Callable[..., str]
STRINGS_DIR = Path(__file__).parent / "strings"


@cache
def table() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(STRINGS_DIR.glob("*.toml")):
        with path.open("rb") as f:
            for key, entry in tomllib.load(f).items():
                if key in merged:
                    raise ValueError(f"UI string {key!r} is defined twice (again in {path.name})")
                merged[key] = entry
    return merged


def translate(key: str, lang: str, **fmt) -> str:
    """The string for ``key`` in ``lang``; unknown keys show as ``⟦key⟧`` so they are seen."""
    entry = table().get(key)
    if entry is None:
        return f"⟦{key}⟧"
    text = entry.get(lang) or entry.get("en") or f"⟦{key}⟧"
    return text.format(**fmt) if fmt else text


def explain(exc: Exception, lang: str) -> str:
    """Why the analytics library refused, in ``lang``: the ``reason_<code>`` string filled
    with the error's ``params``, or the error's own (English) message where the refusal
    carries no code or the table has no text for it."""
    code = getattr(exc, "code", None)
    if code and f"reason_{code}" in table():
        params = dict(getattr(exc, "params", {}))
        if lang != "zh":  # departments by their English names (the registry's)
            params.update({k: department_en(v) or v for k, v in params.items()
                           if k in DEPARTMENT_PARAMS and isinstance(v, str)})
        try:
            return translate(f"reason_{code}", lang, **params)
        except (KeyError, IndexError):  # a text naming a value the error lacks: its own words
            return str(exc)
    return str(exc)


#: Parameters of a refusal that name a department.
DEPARTMENT_PARAMS = ("department", "owner")

"""Text that is safe to hand to a spreadsheet or a terminal.

A spreadsheet runs a cell as a formula when its text starts with ``=``, ``+``, ``-`` or
``@`` (and some also after a tab or carriage return), even when spaces, a no-break space or
a line break come first (OWASP, *CSV Injection*). The check therefore looks at the value
with its leading whitespace removed, every kind of Unicode space included; a sign followed
by a plain number (``-3.5``, ``+86 571 8888``) is data, a sign followed by anything else
(``-1+cmd|' /C calc'!A0``) is not.

>>> is_formula(" \\u00a0\\n=HYPERLINK(\\"x\\")"), is_formula("-12.5"), is_formula("-1+1")
(True, False, True)
>>> neutralise("@SUM(A1)")
"'@SUM(A1)"
"""

from __future__ import annotations

import re

import pandas as pd

#: Leading characters a spreadsheet may execute, after leading whitespace is removed.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_SIGNED_NUMBER = re.compile(r"^[+-]\d[\d ,.]*(?:[eE][+-]?\d+)?$")
#: Control characters refused in text (C0 except tab/newline/CR, DEL, C1).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def printable(text) -> str:
    r"""The text with each control character written as an escape, so a terminal or a page
    shows it instead of obeying it (a colour change, a cursor move, a cleared screen).

    >>> printable("id\x1b[2J\x00")
    'id\\x1b[2J\\x00'
    """
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def normalise(text: str) -> str:
    """The text with leading whitespace of every kind (NBSP, ideographic space, line breaks,
    zero-width spaces and BOMs) removed: what a spreadsheet looks at."""
    return text.lstrip().lstrip("\u200b\u200c\u200d\u2060\ufeff").lstrip()


def is_formula(value) -> bool:
    if not isinstance(value, str) or not value:
        return False
    if value[0] in ("\t", "\r"):
        return True
    text = normalise(value)
    if not text or text[0] not in TRIGGERS:
        return False
    if text[0] in "+-" and _PLAIN_SIGNED_NUMBER.match(text.rstrip()):
        return False
    return True


def formula_mask(series: pd.Series) -> pd.Series:
    """:func:`is_formula` over a column (False for non-text values)."""
    return series.map(is_formula).astype(bool) if len(series) else pd.Series([], dtype=bool)


def neutralise(value):
    """A formula-like text with a leading apostrophe, so a spreadsheet shows it as text."""
    return "'" + value if is_formula(value) else value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text column of a frame neutralised (numbers and other types untouched)."""
    out = frame
    for col in frame.columns:
        s = frame[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            hit = formula_mask(s)
            if hit.any():
                if out is frame:
                    out = frame.copy()
                out[col] = s.astype(object).where(~hit.to_numpy(),
                                                  s[hit].map(lambda v: "'" + v))
    return out


def control_mask(series: pd.Series) -> pd.Series:
    """Where a text value holds a NUL or another control character."""
    return series.map(lambda v: isinstance(v, str) and CONTROL.search(v) is not None).astype(bool)


__all__ = ["CONTROL", "TRIGGERS", "control_mask", "formula_mask", "is_formula", "neutralise",
           "neutralise_frame", "normalise", "printable"]

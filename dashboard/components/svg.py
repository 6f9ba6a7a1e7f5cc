"""What the server-drawn pictures and tables share (the district map, the small multiples,
the bars, the trends and forecast charts, the HTML tables): the font, text made safe for the
page, the width text takes, round ticks for a value axis, the opening tag and a gridline.

>>> nice_ticks(0, 4710, most=5), tick_decimals([0.0, 0.2, 0.4]), tick_decimals([0, 0.05])
([0, 2000, 4000], 1, 2)
>>> svg_text("<b>*x*</b>")
'&lt;b&gt;&#42;x&#42;&lt;/b&gt;'
"""

from __future__ import annotations

import html
import math

FONT = "Microsoft YaHei, PingFang SC, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"

#: characters Markdown (where the picture is written) would read as its own syntax in text
_MARKDOWN = str.maketrans({c: f"&#{ord(c)};" for c in "*_[]~`$:\\#|\"'"})


def svg_text(value: str) -> str:
    """``value`` as SVG text or attribute: HTML-escaped (quotes too), and safe from
    Markdown's syntax."""
    return html.escape(str(value), quote=False).translate(_MARKDOWN)


def text_em(text) -> float:
    """Width of ``text`` in ems, near enough to lay out labels and columns: a wide (CJK)
    character one em, any other about 0.6.

    >>> text_em("西湖区"), text_em("1,000")
    (3.0, 3.0)
    """
    return sum(1.0 if ord(ch) > 0x2E7F else 0.6 for ch in str(text))


def nice_ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Round values from ``lo`` to ``hi`` (both included when they are round), at most
    ``most`` of them: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / (most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, k = [], 0
    while first + k * step <= hi + 1e-9 * step:
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


def tick_decimals(ticks: list[float]) -> int:
    """Decimals that write ``ticks`` (from :func:`nice_ticks`) exactly: as many as their
    step has (0 for a step of 1 or more)."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return max(0, -math.floor(math.log10(step) + 1e-9)) if 0 < step < 1 else 0


def svg_open(width: float, height: float, label: str) -> str:
    """The opening tag of a picture drawn at the width of its column, named ``label`` for
    screen readers."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:.0f}" '
            f'width="100%" role="img" font-family="{FONT}" aria-label="{svg_text(label)}">')


def value_gridline(y: float, left: float, right: float, text: str, size: float = 11.0) -> str:
    """A light horizontal line across the plot at ``y`` with its value ``text`` left of it.

    >>> line = value_gridline(10, 50, 100, "1,000")
    >>> line.count(">1,000</text>"), 'y1="10.0" y2="10.0"' in line
    (1, True)
    """
    return (f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#eeeeee"/><text x="{left - 6:.1f}" y="{y:.1f}" font-size="{size:g}" '
            f'text-anchor="end" dominant-baseline="middle" fill="#666666">'
            f"{svg_text(text)}</text>")


__all__ = ["FONT", "nice_ticks", "svg_open", "svg_text", "text_em", "tick_decimals",
           "value_gridline"]

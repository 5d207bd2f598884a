"""Distinct colours for figures that draw one line or patch per item."""

from __future__ import annotations

from matplotlib import colormaps
from matplotlib.colors import hsv_to_rgb, to_hex

__all__ = ["distinct_colours"]


def distinct_colours(n: int) -> list[str]:
    """``n`` hex colours, no two alike.

    tab20 with its dark shades first (so that a few items get strong,
    different hues), then tab20b and tab20c shade by shade, then hues spaced
    by the golden angle at varied saturation and value, as many as needed.
    The ``k``-th colour depends only on ``k``.

    Examples
    --------
    >>> distinct_colours(3)
    ['#1f77b4', '#ff7f0e', '#2ca02c']
    >>> c = distinct_colours(100)
    >>> len(c), len(set(c))
    (100, 100)
    """
    out: list[str] = []
    seen: set[str] = set()

    def add(c: str) -> None:
        if c not in seen:
            seen.add(c)
            out.append(c)

    tab20 = colormaps["tab20"]
    for i in [*range(0, 20, 2), *range(1, 20, 2)]:
        add(to_hex(tab20(i)))
    for name in ("tab20b", "tab20c"):
        cm = colormaps[name]
        for shade in range(4):
            for hue in range(5):
                add(to_hex(cm(4 * hue + shade)))
    k = 0
    while len(out) < n:
        h = (k * 0.6180339887) % 1.0
        sat = (0.75, 0.5, 0.9)[k % 3]
        val = (0.85, 0.65, 0.95, 0.5)[(k // 3) % 4]
        r, g, b = (float(v) for v in hsv_to_rgb((h, sat, val)))
        add(to_hex((r, g, b)))
        k += 1
    return out[: max(n, 0)]

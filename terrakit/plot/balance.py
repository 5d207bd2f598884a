"""Bar chart of a measure per territory against the balance tolerance band."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from terrakit.data.alignment import Alignment
from terrakit.exceptions import SpecificationError
from terrakit.plot._text import plain

__all__ = ["balance_chart", "chart_width"]

_IN = "#4c78a8"
_OUT = "#e45756"


def balance_chart(
    study: Any,
    alignment: Alignment | str,
    measure: str = "workload",
    tolerance: float = 0.05,
    ax: Axes | None = None,
    *,
    targets: Mapping[Hashable, float] | pd.Series | None = None,
    accounts: pd.DataFrame | None = None,
) -> Axes:
    """Bars of ``measure`` per territory as % of the mean (or of target).

    Parameters
    ----------
    study
        A Study or a units GeoDataFrame.
    alignment
        The alignment (or its name in the study).
    measure
        Unit column to total per territory (``"units"`` counts units).
    tolerance
        Half-width of the band, as a fraction (0.05 = ±5 %); bars outside
        are drawn in red.
    ax
        Axes to draw on; a new figure when ``None``.
    targets
        Target shares per territory (as in :func:`terrakit.metrics.balance`);
        bars then show attainment of target.
    accounts
        Accounts table for derived measures (plain-table form).

    Returns
    -------
    matplotlib.axes.Axes
        One bar patch per territory plus the shaded band.

    Raises
    ------
    SpecificationError
        When the measure totals 0 (or is not finite) over the territories:
        no territory can then be drawn as a share of the mean or target.
    ValueError
        When ``tolerance`` is not a fraction in [0, 1).
    """
    from terrakit.metrics import (
        _alignment,
        _labels,
        _measure,
        _tables,
        _target_shares,
        _territory_order,
    )

    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float | np.number)
        or not 0 <= tolerance < 1
    ):
        raise ValueError(f"tolerance must be a fraction in [0, 1), got {tolerance!r}")
    units = _tables(study, accounts).units
    al = _alignment(study, alignment)
    lab = _labels(units.index, al)
    terr = _territory_order(lab)
    x = _measure(units, measure).groupby(lab).sum().reindex(terr).to_numpy()
    total = float(np.sum(x))
    if not (np.isfinite(total) and total != 0):
        raise SpecificationError(
            f"measure {measure!r} totals {total:g} over the {len(terr)} territories "
            f"of {al.name!r}, so no territory can be drawn as a share of the "
            f"{'mean' if targets is None else 'target'}; fill the units' "
            f"{measure!r} column (or chart another measure)"
        )
    if targets is None:
        ref = np.full(len(terr), x.mean())
        ylabel = f"{measure}, % of mean"
    else:
        ref = _target_shares(targets, terr) * x.sum()
        ylabel = f"{measure}, % of target"
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * x / ref
    # a bar that cannot be computed (NaN) is not inside the band
    outside = ~(np.abs(pct - 100.0) <= 100.0 * tolerance + 1e-9)
    names = [plain(t) for t in terr]
    if ax is None:
        _, ax = plt.subplots(figsize=(chart_width(names), 4))
    pos = np.arange(len(terr))
    ax.axhspan(100 * (1 - tolerance), 100 * (1 + tolerance), color="0.85", zorder=0)
    ax.bar(pos, pct, color=[_OUT if o else _IN for o in outside], zorder=2)
    ax.axhline(100.0, color="0.3", linewidth=0.8, zorder=3)
    _fit_labels(ax, pos, names)
    ax.set_ylabel(plain(ylabel))
    ax.set_xlabel("territory")
    pct_txt = f"{100 * tolerance:g}"
    ax.set_title(
        plain(
            f"{al.name}: {int(outside.sum())} of {len(terr)} territories outside "
            f"±{pct_txt} %"
        )
    )
    handles = [
        Patch(facecolor="0.85", label=f"±{pct_txt} % band"),
        Patch(facecolor=_IN, label="within band"),
        Patch(facecolor=_OUT, label="outside band"),
    ]
    ax.legend(handles=handles, loc="best", fontsize=8)
    return ax


def chart_width(labels: Sequence[Any]) -> float:
    """Width in inches of a balance chart with these territory labels.

    Grows with the number of territories and, up to 20 characters, with the
    longest label, so that labels fit under their bars (at most 24 in).
    """
    n = len(labels)
    longest = max((len(str(t)) for t in labels), default=0)
    return float(min(24.0, max(6.0, 0.35 * n + 2, 0.08 * n * min(longest, 20) + 1.5)))


def _renderer(fig: Any) -> Any:
    get = getattr(fig.canvas, "get_renderer", None)
    if get is not None:
        return get()
    return fig._get_renderer()


def _clash(ax: Axes, renderer: Any) -> bool:
    """Whether two neighbouring x tick labels overlap (measured, as drawn)."""
    boxes = [
        t.get_window_extent(renderer)
        for t in ax.get_xticklabels()
        if t.get_visible() and t.get_text()
    ]
    gap = 2.0  # pixels between labels
    return any(
        a.x1 + gap > b.x0 and b.x1 + gap > a.x0 for a, b in itertools.pairwise(boxes)
    )


def _fit_labels(ax: Axes, pos: np.ndarray, names: list[str]) -> None:
    """Set the territory labels so that neighbours never overlap.

    Tries, measuring the drawn labels each time: horizontal; wrapped onto up
    to four lines; vertical at a font size down to 5 pt; vertical showing
    every k-th label.  Decided by the labels' measured widths, not by their
    number.
    """
    ax.set_xticks(pos, names, rotation=0)
    try:
        renderer = _renderer(ax.figure)
    except Exception:  # pragma: no cover - a backend that cannot measure text
        ax.tick_params(axis="x", labelrotation=90 if len(names) > 12 else 0)
        return
    if not names or not _clash(ax, renderer):
        return
    span = ax.get_window_extent(renderer).width / len(names)
    widths = [t.get_window_extent(renderer).width for t in ax.get_xticklabels()]
    per_char = max(w / max(len(n), 1) for w, n in zip(widths, names, strict=True))
    chars = int(0.9 * span / per_char) if per_char > 0 else 0
    if chars >= 6:
        wrapped = [textwrap.fill(n, chars, break_long_words=False) for n in names]
        if max(w.count("\n") for w in wrapped) <= 3:
            ax.set_xticks(pos, wrapped, rotation=0)
            if not _clash(ax, renderer):
                return
    size = float(ax.get_xticklabels()[0].get_fontsize())
    while True:
        ax.set_xticks(pos, names, rotation=90, fontsize=size)
        if not _clash(ax, renderer) or size <= 5:
            break
        size = max(5.0, size - 1)
    step = 1
    while _clash(ax, renderer) and step < len(names):
        step += 1
        shown = [n if i % step == 0 else "" for i, n in enumerate(names)]
        ax.set_xticks(pos, shown, rotation=90, fontsize=size)

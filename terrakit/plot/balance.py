"""Bar chart of a measure per territory against the balance tolerance band."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from terrakit.data.alignment import Alignment
from terrakit.exceptions import SpecificationError

__all__ = ["balance_chart"]

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
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(terr) + 2), 4))
    pos = np.arange(len(terr))
    ax.axhspan(100 * (1 - tolerance), 100 * (1 + tolerance), color="0.85", zorder=0)
    ax.bar(pos, pct, color=[_OUT if o else _IN for o in outside], zorder=2)
    ax.axhline(100.0, color="0.3", linewidth=0.8, zorder=3)
    ax.set_xticks(pos, [str(t) for t in terr], rotation=90 if len(terr) > 12 else 0)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("territory")
    pct_txt = f"{100 * tolerance:g}"
    ax.set_title(
        f"{al.name}: {int(outside.sum())} of {len(terr)} territories outside "
        f"±{pct_txt} %"
    )
    handles = [
        Patch(facecolor="0.85", label=f"±{pct_txt} % band"),
        Patch(facecolor=_IN, label="within band"),
        Patch(facecolor=_OUT, label="outside band"),
    ]
    ax.legend(handles=handles, loc="best", fontsize=8)
    return ax

"""Maps and charts of a Bayesian potential fit (:mod:`terrakit.potential`)."""

from __future__ import annotations

from typing import Any, Literal

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from terrakit._runargs import is_count
from terrakit.exceptions import SpecificationError
from terrakit.plot._text import plain

__all__ = ["potential_map", "whitespace"]

_COLUMNS = ("potential_mean", "whitespace", "penetration", "uncertainty")


def potential_map(
    res: Any,
    study: Any,
    ax: Axes | None = None,
    *,
    column: Literal[
        "potential_mean", "whitespace", "penetration", "uncertainty"
    ] = "potential_mean",
    cmap: str = "viridis",
    legend: bool = True,
) -> Axes:
    """Choropleth of unit potentials (account fits are summed per unit).

    Parameters
    ----------
    res
        A :class:`~terrakit.potential.PotentialResult`.
    study
        The study it was fitted on (for the unit geometry).
    ax
        Axes to draw on; a new figure when ``None``.
    column
        ``"potential_mean"``, ``"whitespace"``, ``"penetration"`` or
        ``"uncertainty"`` (width of the 90 % interval relative to the mean).
    cmap
        Matplotlib colormap name.
    legend
        Draw a colour bar.

    Returns
    -------
    matplotlib.axes.Axes
        One polygon collection with a colour per unit; units that the fit
        does not cover are drawn in light grey.
    """
    if column not in _COLUMNS:
        raise SpecificationError(
            f"column must be one of {list(_COLUMNS)}, got {column!r}"
        )
    frame = res.to_frame("unit")
    if column == "uncertainty":
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["uncertainty"] = (
                frame["potential_q95"] - frame["potential_q05"]
            ) / frame["potential_mean"]
    units = study.units
    gdf = units[["geometry"]].join(frame[[column]], how="left")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    missing = gdf[column].isna()
    if missing.any():
        gdf[missing].plot(ax=ax, color="#dddddd", edgecolor="white", linewidth=0.2)
    gdf[~missing].plot(
        column=column, ax=ax, cmap=cmap, legend=legend, edgecolor="white", linewidth=0.2
    )
    labels = {
        "potential_mean": "potential (posterior mean)",
        "whitespace": "whitespace = potential − sales",
        "penetration": "penetration = sales / potential",
        "uncertainty": "90 % interval width / mean",
    }
    ax.set_title(f"{labels[column]} per unit ({res.level} model)")
    ax.set_axis_off()
    return ax


def whitespace(
    res: Any, ax: Axes | None = None, *, top: int = 20, level: str | None = None
) -> Axes:
    """Horizontal bars of the largest whitespace, with 90 % intervals.

    Parameters
    ----------
    res
        A :class:`~terrakit.potential.PotentialResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    top
        Number of accounts (units) shown, largest whitespace first.
    level
        ``"account"`` or ``"unit"`` (default: the fitted level).

    Returns
    -------
    matplotlib.axes.Axes
        One bar per shown account or unit; error bars span the whitespace
        between the 5 % and 95 % potential quantiles.
    """
    if not is_count(top, 1):
        raise SpecificationError(
            f"top must be at least 1 (a whole number of bars), got {top!r}"
        )
    f = res.to_frame(level).sort_values("whitespace", ascending=False).head(top)
    f = f.iloc[::-1]
    lo = (f["potential_q05"] - f["sales"]).to_numpy()
    hi = (f["potential_q95"] - f["sales"]).to_numpy()
    mid = f["whitespace"].to_numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, max(3.0, 0.3 * len(f) + 1)))
    y = np.arange(len(f))
    ax.barh(y, mid, color="#4c78a8")
    ax.errorbar(
        mid,
        y,
        xerr=[np.maximum(mid - lo, 0), np.maximum(hi - mid, 0)],
        fmt="none",
        ecolor="#333333",
        capsize=2,
        linewidth=0.8,
    )
    ax.set_yticks(y)
    ax.set_yticklabels([plain(i) for i in f.index])
    ax.axvline(0.0, color="#999999", linewidth=0.8)
    ax.set_xlabel("whitespace = potential − sales (90 % interval)")
    ax.set_title(plain(f"Top {len(f)} whitespace ({f.index.name or 'id'})"))
    return ax

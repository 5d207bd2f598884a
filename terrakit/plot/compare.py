"""A diff map: which units change territory between two alignments."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from terrakit.data.alignment import Alignment
from terrakit.plot._check import colour
from terrakit.plot._text import plain

__all__ = ["diff_map"]


def diff_map(
    study: Any,
    before: Alignment | str,
    after: Alignment | str,
    ax: Axes | None = None,
    *,
    title: str | None = None,
    moved_color: str = "tab:red",
    kept_color: str = "0.88",
    legend: bool = True,
) -> Axes:
    """Draw the units that change territory from ``before`` to ``after``.

    Unchanged units are grey, moved units red; the borders of the ``after``
    territories are drawn on top, and each moved unit is labelled with its
    new territory when there are at most 40 of them.

    Parameters
    ----------
    study
        A Study or a units GeoDataFrame.
    before, after
        The two alignments (or their names in the study).
    ax
        Axes to draw on; a new figure when ``None``.
    title
        Title; default ``"<after>: N units moved"``.
    moved_color, kept_color
        Fill colours (any matplotlib colour).
    legend
        Draw a two-entry legend.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    DataValidationError
        When ``study`` is neither a Study nor a units GeoDataFrame, or the two
        alignments' territory ids differ only in type ('1' and 1): every
        unit would look moved.  The message names the alignments, or
        ``'before'`` and ``'after'`` when they have the same name.
    ValueError
        When ``moved_color`` or ``kept_color`` is not a matplotlib colour.

    All are raised before a figure is made.

    Examples
    --------
    >>> ax = diff_map(study, "current", result.alignment)  # doctest: +SKIP
    """
    from terrakit.metrics import _alignment, _labels, _units_of
    from terrakit.realign.impact import check_territory_ids

    units = _units_of(study)
    colour(moved_color, "moved_color")
    colour(kept_color, "kept_color")
    a_al = _alignment(study, before)
    a = _labels(units.index, a_al, "before alignment")
    b_al = _alignment(study, after)
    b = _labels(units.index, b_al, "after alignment")
    # '1' and 1 would make every unit look moved; alignments with one name
    # (two from_mapping defaults) are told apart by their argument names
    same = a_al.name == b_al.name
    check_territory_ids(
        a_al.territories,
        b_al.territories,
        "before" if same else a_al.name,
        "after" if same else b_al.name,
    )
    moved = a.to_numpy() != b.to_numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 8))
    colors = [moved_color if m else kept_color for m in moved]
    is_points = bool((units.geometry.geom_type == "Point").all())
    if is_points:
        units.plot(ax=ax, color=colors, markersize=12)
    else:
        units.plot(ax=ax, color=colors, edgecolor="white", linewidth=0.3)
        diss = gpd.GeoDataFrame(
            {"territory_id": b.to_numpy()},
            geometry=units.geometry.to_numpy(),
            crs=units.crs,
        ).dissolve(by="territory_id")
        diss.boundary.plot(ax=ax, color="0.15", linewidth=1.0)
    n_moved = int(moved.sum())
    if 0 < n_moved <= 40:
        pts = units.geometry[moved].representative_point()
        for p, t in zip(pts, b.to_numpy()[moved], strict=True):
            ax.annotate(plain(t), (p.x, p.y), ha="center", va="center", fontsize=7)
    if legend:
        ax.legend(
            handles=[
                Patch(facecolor=moved_color, label=f"moved ({n_moved})"),
                Patch(facecolor=kept_color, label=f"kept ({len(moved) - n_moved})"),
            ],
            loc="best",
            fontsize=8,
        )
    ax.set_title(
        plain(title if title is not None else f"{b_al.name}: {n_moved} units moved")
    )
    ax.set_axis_off()
    return ax

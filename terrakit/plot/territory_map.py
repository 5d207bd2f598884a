"""A static map with one colour per territory and the rep homes marked."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyproj
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, ListedColormap
from matplotlib.patches import Patch

from terrakit.data.alignment import Alignment, _sorted_territories
from terrakit.data.validation import check_lonlat_values, ids_equal_only_as_text
from terrakit.exceptions import DataValidationError
from terrakit.plot._check import colormap, colour
from terrakit.plot._text import plain

__all__ = ["territory_map"]


def territory_map(
    study: Any,
    alignment: Alignment | str,
    ax: Axes | None = None,
    reps: bool | pd.DataFrame = True,
    labels: bool = False,
    cmap: str | Colormap | None = None,
    *,
    legend: bool | None = None,
    colors: Mapping[Hashable, Any] | None = None,
) -> Axes:
    """Draw the units coloured by territory, territory borders and rep homes.

    Parameters
    ----------
    study
        A Study, or a units GeoDataFrame (then pass ``reps`` as a table; the
        units need a CRS to place the rep homes, given in lon/lat).
    alignment
        The alignment (or its name in the study).
    ax
        Axes to draw on; a new figure when ``None``.
    reps
        ``True``: mark the study's rep homes (a marker and the rep id);
        a DataFrame with ``home_lon``/``home_lat``: mark those (a table
        without them, or with a rep whose home is missing or not a number,
        is refused); ``False``: none.
    labels
        Write the territory id inside every territory.
    cmap
        Colormap (a name or a :class:`~matplotlib.colors.Colormap`);
        qualitative maps (``tab20``) are cycled when there are more
        territories than colours.  ``None`` (default): the palette of the
        interactive map (:func:`terrakit.widgets._display.territory_colors`:
        tab20 with its dark shades first, then more distinct colours).
    legend
        One legend entry per territory; default only up to 20 territories.
    colors
        Territory → colour (any matplotlib colour), overriding the default
        for the territories it names; ids of other alignments are ignored, so
        one mapping serves several maps.  A mapping none of whose keys is a
        territory id but some equal one as text (``'1'`` for ``1``) is refused.

    Notes
    -----
    A territory's colour depends on its id, not on its rank among the
    territories of ``alignment``: the k-th id of the sorted union of the
    territory ids of every alignment of the study, of ``alignment`` and (when
    the territories are rep ids) of the study's reps takes the k-th colour.
    So before/after maps of one study drawn side by side colour a territory
    alike, even when the other plan dissolves or adds territories.  Ids equal
    as text (``1`` and ``'1'``) keep the order in which the study's
    alignments list them, so the colours are the same in every run.  For
    alignments outside the study that add territories, pass ``colors=`` to
    fix the colours.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    DataValidationError
        When ``study`` is neither a Study nor a units GeoDataFrame; when
        ``reps`` is a table without ``home_lon``/``home_lat`` or with a rep
        whose home is missing, infinite or outside lon/lat degrees, or there
        are rep homes to mark on units without a CRS; or when ``colors``
        names the territories only as text (``'1'`` for ``1``).
    TypeError, ValueError
        When ``colors`` is not a mapping or holds a value that is not a
        matplotlib colour, or ``cmap`` is not a colormap (or the name of one).

    All are raised before a figure is made.

    Examples
    --------
    >>> ax = territory_map(study, "current")  # doctest: +SKIP
    """
    from terrakit.metrics import _alignment, _labels, _territory_order, _units_of

    units = _units_of(study)
    al = _alignment(study, alignment)
    lab = _labels(units.index, al)
    terr = _territory_order(lab)
    # an unknown cmap or colour fails before a figure
    color_of = _territory_colors(study, terr, cmap, colors)
    rep_table = _rep_table(study, reps)
    if rep_table is not None and len(rep_table) and units.crs is None:
        # the homes are lon/lat: on units in metres they would land far away
        raise DataValidationError(
            "units",
            "geometry",
            "the geometry has no CRS, so the rep homes (lon/lat) cannot be "
            "placed on the map",
            fix="set it with units.set_crs('EPSG:4326') (lon/lat) or the CRS the "
            "coordinates are in, or pass reps=False",
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 8))
    unit_colors = [color_of[t] for t in lab.to_numpy()]
    is_points = bool((units.geometry.geom_type == "Point").all())
    if is_points:
        units.plot(ax=ax, color=unit_colors, markersize=12)
    else:
        units.plot(ax=ax, color=unit_colors, edgecolor="white", linewidth=0.3)
        diss = gpd.GeoDataFrame(
            {"territory_id": lab.to_numpy()},
            geometry=units.geometry.to_numpy(),
            crs=units.crs,
        ).dissolve(by="territory_id")
        diss.boundary.plot(ax=ax, color="0.15", linewidth=1.0)
        if labels:
            pts = diss.representative_point()
            for t, p in pts.items():
                ax.annotate(
                    plain(t),
                    (p.x, p.y),
                    ha="center",
                    va="center",
                    fontsize=8,
                    fontweight="bold",
                )
    if labels and is_points:
        for t in terr:
            g = units.geometry[lab.to_numpy() == t]
            ax.annotate(
                plain(t),
                (float(g.x.mean()), float(g.y.mean())),
                ha="center",
                va="center",
                fontsize=8,
                fontweight="bold",
            )
    if rep_table is not None and len(rep_table):
        x, y = (
            rep_table["home_lon"].to_numpy(float),
            rep_table["home_lat"].to_numpy(float),
        )
        if not pyproj.CRS(units.crs).equals(pyproj.CRS("EPSG:4326")):
            tr = pyproj.Transformer.from_crs("EPSG:4326", units.crs, always_xy=True)
            x, y = tr.transform(x, y)
        ax.scatter(
            x,
            y,
            marker="*",
            s=120,
            c="black",
            edgecolors="white",
            linewidths=0.6,
            zorder=5,
            label="rep home",
        )
        for rid, xi, yi in zip(
            rep_table.index, np.atleast_1d(x), np.atleast_1d(y), strict=True
        ):
            ax.annotate(
                plain(rid),
                (xi, yi),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
                zorder=6,
            )
    if legend is None:
        legend = len(terr) <= 20
    if legend:
        handles = [
            Patch(facecolor=color_of[t], edgecolor="0.15", label=plain(t)) for t in terr
        ]
        ax.legend(
            handles=handles,
            title="territory",
            loc="best",
            fontsize=7,
            title_fontsize=8,
            frameon=True,
        )
    ax.set_title(plain(f"{al.name}: {len(terr)} territories"))
    ax.set_axis_off()
    return ax


def _territory_colors(
    study: Any,
    terr: list[Any],
    cmap: str | Colormap | None,
    colors: Mapping[Hashable, Any] | None,
) -> dict[Any, tuple[float, float, float, float]]:
    """RGBA colour of every territory of ``terr``, keyed on the territory id
    (see the Notes of :func:`territory_map`)."""
    from terrakit.metrics import _is_study
    from terrakit.widgets._display import territory_colors

    if colors is not None and not isinstance(colors, Mapping | pd.Series):
        raise TypeError(
            f"colors must map territory id → colour, got {type(colors).__name__}; "
            "e.g. colors={'R01': 'tab:blue', 'R02': '#ff7f0e'}"
        )
    # ids gathered in a fixed order (the study's alignments, this one, the
    # reps): the sort below is stable, so ids equal as text (1 and '1') keep
    # this order rather than a set's, which follows the hash seed
    ids: dict[Any, None] = {}
    if _is_study(study):
        for al in getattr(study, "alignments", {}).values():
            ids.update(dict.fromkeys(al.territories))
    ids.update(dict.fromkeys(terr))
    if _is_study(study):
        rep_ids = getattr(getattr(study, "reps", None), "index", None)
        if rep_ids is not None and not set(ids).isdisjoint(rep_ids):
            ids.update(dict.fromkeys(rep_ids))
    keys = _sorted_territories(ids)
    if colors is not None:
        _check_color_keys(colors, keys)
    if cmap is None:
        default: dict[Any, Any] = territory_colors(keys)
    else:
        default = dict(zip(keys, _colors(colormap(cmap), len(keys)), strict=True))
    given = dict(colors.items()) if colors is not None else {}
    return {t: colour(given.get(t, default[t]), f"colors[{t!r}]") for t in terr}


def _check_color_keys(colors: Mapping[Hashable, Any], ids: list[Any]) -> None:
    """Refuse ``colors`` none of whose keys is a territory id when some are
    equal to one as text (``'1'`` for territory ``1``): every colour would be
    silently ignored.  Keys that name territories of other alignments are
    fine (one mapping serves several maps)."""
    pairs = ids_equal_only_as_text(ids, colors.keys())
    if not pairs:
        return
    same = [g for g, _ in pairs]
    k, t = pairs[0]
    raise DataValidationError(
        "colors",
        None,
        f"no key of colors is a territory id, but {len(same)} are equal as "
        f"text (e.g. {k!r} ({type(k).__name__}) in colors and territory {t!r} "
        f"({type(t).__name__})), so every colour would be silently ignored: "
        "territory ids keep their type: '1' is not 1",
        rows=same,
        fix=f"key colors by the territory ids, e.g. colors={{{t!r}: {colors[k]!r}}}",
    )


def _colors(cm: Colormap, n: int) -> list[tuple[float, ...]]:
    if isinstance(cm, ListedColormap) and cm.N < 256:
        return [tuple(cm(i % cm.N)) for i in range(n)]
    return [tuple(cm(v)) for v in np.linspace(0.0, 1.0, max(n, 1))[:n]]


def _rep_table(study: Any, reps: bool | pd.DataFrame) -> pd.DataFrame | None:
    if isinstance(reps, pd.DataFrame):
        missing = sorted({"home_lon", "home_lat"} - set(reps.columns))
        if missing:
            raise DataValidationError(
                "reps",
                None,
                f"the reps table to mark has no {missing} column(s); columns: "
                f"{list(reps.columns)[:12]}",
                fix="pass a table with home_lon/home_lat, or reps=False",
            )
        table = reps
    elif not isinstance(reps, bool | np.bool_):
        raise DataValidationError(
            "reps",
            None,
            f"reps must be True, False or a table with home_lon/home_lat, got "
            f"{reps!r:.60}",
            fix="reps=True marks the study's rep homes",
        )
    elif reps:
        table = (
            getattr(study, "reps", None)
            if not isinstance(study, pd.DataFrame)
            else None
        )
    else:
        return None
    if table is None or not {"home_lon", "home_lat"} <= set(table.columns):
        return None
    # a rep without a home would be silently left off the map
    check_lonlat_values(
        pd.to_numeric(table["home_lon"], errors="coerce").to_numpy(float),
        pd.to_numeric(table["home_lat"], errors="coerce").to_numpy(float),
        "reps",
        ("home_lon", "home_lat"),
        table.index,
    )
    return table

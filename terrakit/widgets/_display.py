"""Display helpers shared by the widgets: simplified geometry and colours.

Nothing here imports ipywidgets, so the helpers are tested without a
front end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_hex, to_rgb

from terrakit.data.geo import projected_crs
from terrakit.plot._palette import distinct_colours

__all__ = [
    "choropleth_classes",
    "display_geometry",
    "leaflet_locations",
    "territory_colors",
]

#: Fill colour of units that did not change in the "change" view.
UNCHANGED = "#d9d9d9"
#: Outline of locked units.
LOCK_COLOR = "#111111"


def display_geometry(
    units: gpd.GeoDataFrame, tolerance_m: float | None = None
) -> tuple[gpd.GeoSeries, float]:
    """Unit shapes simplified for drawing, in EPSG:4326.

    Parameters
    ----------
    units
        Units with polygon geometry and a CRS.
    tolerance_m
        Douglas–Peucker tolerance in metres; ``None``: 1/1500 of the diagonal
        of the extent (about 300 m for a state), invisible at the zoom that
        shows the whole study.

    Returns
    -------
    (geopandas.GeoSeries, float)
        Simplified shapes (topology kept per shape) and the tolerance used.

    Notes
    -----
    Simplification runs in :func:`terrakit.data.geo.projected_crs` so the
    tolerance is in metres everywhere; shapes that would vanish keep their
    original geometry.
    """
    if units.crs is None:
        raise ValueError(
            "units have no CRS; set one (units.set_crs('EPSG:4326')) before mapping"
        )
    proj = units.geometry.to_crs(projected_crs(units))
    if tolerance_m is None:
        x0, y0, x1, y1 = proj.total_bounds
        tolerance_m = float(np.hypot(x1 - x0, y1 - y0) / 1500.0)
    if tolerance_m < 0 or not np.isfinite(tolerance_m):
        raise ValueError(f"tolerance_m must be >= 0, got {tolerance_m!r}")
    simp = proj.simplify(tolerance_m, preserve_topology=True)
    empty = simp.is_empty | simp.isna()
    if empty.any():
        simp[empty] = proj[empty]
    return simp.to_crs("EPSG:4326"), float(tolerance_m)


def _ring(coords: Any, digits: int) -> list[list[float]]:
    xy = np.round(np.asarray(coords)[:-1, :2], digits)
    return xy[:, ::-1].tolist()


def leaflet_locations(geom: Any, digits: int = 5) -> list[Any]:
    """Leaflet ``locations`` (``[lat, lon]`` rings) of a polygon or multipolygon.

    A polygon gives ``[outer, hole, ...]``; a multipolygon a list of those.
    Coordinates are rounded to ``digits`` decimals (5 ≈ 1 m) to keep the
    messages small.
    """
    gt = geom.geom_type
    if gt == "Polygon":
        return [
            _ring(geom.exterior.coords, digits),
            *(_ring(r.coords, digits) for r in geom.interiors),
        ]
    if gt == "MultiPolygon":
        return [leaflet_locations(g, digits) for g in geom.geoms]
    raise ValueError(
        f"only polygon units can be drawn on the map, got {gt}; buffer point "
        "units first (units.geometry.buffer(...) in a metric CRS)"
    )


def _color_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Perceptual ("redmean") distance between RGB rows ``a`` and ``b`` in [0, 1]."""
    r = (a[..., 0] + b[..., 0]) / 2
    d = a - b
    return np.sqrt(
        (2 + r) * d[..., 0] ** 2 + 4 * d[..., 1] ** 2 + (3 - r) * d[..., 2] ** 2
    )


#: Touching territories whose colours are closer than this ("redmean"
#: distance, see :func:`_color_distance`) are said to clash.
CLASH_DISTANCE = 0.6


def territory_colors(
    territories: Sequence[Any],
    neighbours: Iterable[tuple[Any, Any]] | None = None,
) -> dict[Any, str]:
    """A distinct hex colour per territory; touching territories contrast.

    Parameters
    ----------
    territories
        Territory ids; the ``k``-th prefers the ``k``-th colour of a fixed
        palette.  Pass them in an order that does not depend on the plan
        (e.g. sorted), so that maps of related plans with the same
        territories colour them alike.
    neighbours
        Pairs of territory ids that touch (``None``: none known).

    Returns
    -------
    dict
        Territory → colour, no two alike.  The palette is tab20 with its dark
        shades first, tab20b, tab20c, then generated hues.  Each territory
        keeps its preferred colour unless that colour clashes (``redmean``
        distance below :data:`CLASH_DISTANCE`) with a touching territory
        earlier in the order; such a territory takes the first spare colour
        (from the palette beyond the ``len(territories)`` preferred ones)
        that clashes with none of its neighbours' colours, or, when every
        spare clashes, the spare farthest from them.  So a territory's colour
        changes between two plans only when its clashes do, and the result
        depends only on the arguments.

    Examples
    --------
    >>> c = territory_colors(["A", "B", "C"], neighbours=[("A", "B")])
    >>> c["A"], c["B"], len(set(c.values()))
    ('#1f77b4', '#ff7f0e', 3)
    """
    terr = list(territories)
    n = len(terr)
    pal = distinct_colours(2 * n)  # n preferred colours, then n spares
    rgb = np.array([to_rgb(c) for c in pal]).reshape(-1, 3)
    rank = {t: k for k, t in enumerate(terr)}
    adj: dict[Any, set[Any]] = {t: set() for t in terr}
    for a, b in neighbours or ():
        if a != b and a in adj and b in adj:
            adj[a].add(b)
            adj[b].add(a)
    color = list(range(n))  # palette index per territory: the preferred one
    spare = np.ones(len(pal), dtype=bool)
    spare[:n] = False
    for k, t in enumerate(terr):
        earlier = [color[rank[u]] for u in adj[t] if rank[u] < k]
        if not earlier:
            continue
        if _color_distance(rgb[k], rgb[earlier]).min() >= CLASH_DISTANCE:
            continue
        # the clash is resolved by a spare colour; the neighbours not coloured
        # yet count with their preferred colour, so they rarely clash in turn
        near = [color[rank[u]] for u in adj[t]]
        cand = np.flatnonzero(spare)
        d = _color_distance(rgb[cand][:, None, :], rgb[near][None, :, :]).min(axis=1)
        ok = np.flatnonzero(d >= CLASH_DISTANCE)
        j = int(cand[ok[0]]) if len(ok) else int(cand[int(np.argmax(d))])
        spare[j] = False
        color[k] = j
    return {t: pal[color[k]] for k, t in enumerate(terr)}


def choropleth_classes(
    values: np.ndarray | pd.Series, k: int = 5, cmap: str = "viridis"
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Quantile classes of ``values`` for a choropleth.

    Returns
    -------
    (classes, colors, edges)
        Class index per value (``-1`` for NaN), one hex colour per class and
        the ``len(colors) + 1`` class edges.  Ties collapse classes, so there
        may be fewer than ``k``.
    """
    v = np.asarray(values, dtype=float)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    ok = np.isfinite(v)
    if not ok.any():
        return np.full(len(v), -1), [UNCHANGED], np.array([0.0, 0.0])
    edges = np.unique(np.quantile(v[ok], np.linspace(0, 1, k + 1)))
    if len(edges) == 1:
        edges = np.array([edges[0], edges[0]])
    cls = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    cls = np.where(ok, cls, -1)
    cm = colormaps[cmap]
    n = len(edges) - 1
    colors = [to_hex(cm(x)) for x in (np.linspace(0, 1, n) if n > 1 else [0.5])]
    return cls.astype(np.int64), colors, edges

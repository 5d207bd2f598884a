"""Display helpers shared by the widgets: simplified geometry and colours.

Nothing here imports ipywidgets, so the helpers are tested without a
front end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_hex

from terrakit.data.geo import projected_crs

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


def territory_colors(territories: Sequence[Any], cmap: str = "tab20") -> dict[Any, str]:
    """Hex colour per territory; qualitative maps are cycled."""
    cm = colormaps[cmap]
    n = getattr(cm, "N", 256)
    if n < 256:
        cols = [to_hex(cm(i % n)) for i in range(len(territories))]
    else:
        cols = [to_hex(cm(v)) for v in np.linspace(0, 1, max(len(territories), 1))]
    return dict(zip(territories, cols, strict=False))


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

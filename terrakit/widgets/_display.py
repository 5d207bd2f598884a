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
from matplotlib.colors import hsv_to_rgb, to_hex, to_rgb

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


def _palette(n: int) -> list[str]:
    """``n`` distinct hex colours: tab20 (dark shades first), tab20b, tab20c,
    then golden-angle hues."""
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


def _color_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Perceptual ("redmean") distance between RGB rows ``a`` and ``b`` in [0, 1]."""
    r = (a[..., 0] + b[..., 0]) / 2
    d = a - b
    return np.sqrt(
        (2 + r) * d[..., 0] ** 2 + 4 * d[..., 1] ** 2 + (3 - r) * d[..., 2] ** 2
    )


def territory_colors(
    territories: Sequence[Any],
    neighbours: Iterable[tuple[Any, Any]] | None = None,
) -> dict[Any, str]:
    """A distinct hex colour per territory; neighbouring territories contrast.

    Parameters
    ----------
    territories
        Territory ids, in the order colours are handed out.
    neighbours
        Pairs of territory ids that touch (``None``: none known).

    Returns
    -------
    dict
        Territory → colour.  The colours are the first ``len(territories)``
        of a fixed palette (tab20 with its dark shades first, tab20b, tab20c,
        then generated hues), so no two territories share one.  Territories
        are coloured in the given order: one without a coloured neighbour
        takes the first free colour, one with coloured neighbours the free
        colour farthest from theirs (ties: the first).  The result depends
        only on the arguments.

    Examples
    --------
    >>> c = territory_colors(["A", "B", "C"], neighbours=[("A", "B")])
    >>> c["A"], len(set(c.values()))
    ('#1f77b4', 3)
    """
    terr = list(territories)
    pal = _palette(len(terr))
    rgb = np.array([to_rgb(c) for c in pal]).reshape(-1, 3)
    adj: dict[Any, set[Any]] = {t: set() for t in terr}
    for a, b in neighbours or ():
        if a != b and a in adj and b in adj:
            adj[a].add(b)
            adj[b].add(a)
    free = np.ones(len(pal), dtype=bool)
    out: dict[Any, str] = {}
    for t in terr:
        near = [pal.index(out[u]) for u in adj[t] if u in out]
        cand = np.flatnonzero(free)
        if near:
            d = _color_distance(rgb[cand][:, None, :], rgb[near][None, :, :])
            k = int(cand[int(np.argmax(d.min(axis=1)))])
        else:
            k = int(cand[0])
        free[k] = False
        out[t] = pal[k]
    return _improve_contrast(terr, adj, out, rgb, {c: k for k, c in enumerate(pal)})


def _improve_contrast(
    terr: list[Any],
    adj: dict[Any, set[Any]],
    colors: dict[Any, str],
    rgb: np.ndarray,
    index: dict[str, int],
    passes: int = 3,
) -> dict[Any, str]:
    """Swap colours between territories while that raises the smallest colour
    distance between touching territories (the first territory keeps its)."""
    n = len(terr)
    pos = {t: k for k, t in enumerate(terr)}
    nbrs = [sorted(pos[u] for u in adj[t]) for t in terr]
    deg = max((len(v) for v in nbrs), default=0)
    if n < 3 or deg == 0:
        return dict(colors)
    nb = np.full((n, deg), -1, dtype=np.int64)
    for k, v in enumerate(nbrs):
        nb[k, : len(v)] = v
    has = nb >= 0
    ci = np.array([index[colors[t]] for t in terr], dtype=np.int64)
    dist = _color_distance(rgb[:, None, :], rgb[None, :, :])
    np.fill_diagonal(dist, np.inf)

    def worst(k: np.ndarray, c: np.ndarray, skip: int) -> np.ndarray:
        """Smallest distance of colours ``c`` to the neighbours of ``k`` (other
        than ``skip``, whose colour is counted as ``ci[skip]`` swapped)."""
        w = nb[k]
        d = np.where(
            has[k] & (w != skip), dist[c[:, None], ci[np.where(w >= 0, w, 0)]], np.inf
        )
        return d.min(axis=1)

    everyone = np.arange(n)
    for _ in range(passes):
        swapped = False
        for t in range(1, n):
            if not nbrs[t]:
                continue
            own = worst(np.array([t]), ci[[t]], -1)[0]
            cur_u = worst(everyone, ci, -1)
            before = np.minimum(own, cur_u)
            # t takes u's colour; u takes t's; an edge t–u keeps its distance
            vt = np.array(nbrs[t])
            new_t = np.where(
                everyone[:, None] == vt[None, :], np.inf, dist[ci[:, None], ci[vt]]
            ).min(axis=1)
            new_u = worst(everyone, np.full(n, ci[t]), t)
            after = np.minimum(new_t, new_u)
            edge = (nb == t).any(axis=1)
            after = np.where(edge, np.minimum(after, dist[ci[t], ci]), after)
            gain = np.where((everyone == 0) | (everyone == t), -np.inf, after - before)
            u = int(np.argmax(gain))
            if gain[u] > 1e-9:
                ci[t], ci[u] = ci[u], ci[t]
                swapped = True
        if not swapped:
            break
    pal = {k: c for c, k in index.items()}
    return {t: pal[int(ci[k])] for k, t in enumerate(terr)}


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

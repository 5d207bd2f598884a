"""Display helpers: simplified shapes, Leaflet rings, colours."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, box

from terrakit.widgets._display import (
    choropleth_classes,
    display_geometry,
    leaflet_locations,
    territory_colors,
)


def test_leaflet_locations_swap_to_lat_lon_and_keep_holes():
    outer = [(0, 0), (4, 0), (4, 4), (0, 4), (0, 0)]
    hole = [(1, 1), (2, 1), (2, 2), (1, 1)]
    locs = leaflet_locations(Polygon(outer, [hole]))
    assert locs[0] == [[0, 0], [0, 4], [4, 4], [4, 0]]  # [lat, lon], open ring
    assert locs[1] == [[1, 1], [1, 2], [2, 2]]
    multi = leaflet_locations(MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]))
    assert len(multi) == 2 and len(multi[0][0]) == 4


def test_leaflet_locations_rejects_points():
    with pytest.raises(ValueError, match="only polygon units"):
        leaflet_locations(Point(0, 0))


def test_display_geometry_simplifies_in_metres(toy_grid_3x3):
    wiggly = []
    for g in toy_grid_3x3.units.geometry:
        x0, y0, x1, y1 = g.bounds
        xs = np.linspace(x0, x1, 200)
        top = [(x, y1 + 5.0 * np.sin(k)) for k, x in enumerate(xs)]  # 5 m noise
        wiggly.append(Polygon([(x0, y0), (x1, y0), *top[::-1]]))
    units = gpd.GeoDataFrame(
        geometry=wiggly, index=toy_grid_3x3.units.index, crs=toy_grid_3x3.units.crs
    )
    geom, tol = display_geometry(units)
    assert geom.crs.to_epsg() == 4326 and len(geom) == 9
    assert tol == pytest.approx(np.hypot(30_000, 30_005) / 1500)
    n_in = sum(len(g.exterior.coords) for g in units.geometry)
    n_out = sum(len(g.exterior.coords) for g in geom)
    assert n_out < n_in / 20
    assert not geom.is_empty.any()
    with pytest.raises(ValueError, match="no CRS"):
        display_geometry(units.set_crs(None, allow_override=True))


def test_choropleth_classes_are_quantiles():
    v = np.arange(10.0)
    cls, colors, edges = choropleth_classes(v, k=5)
    assert len(colors) == 5 and len(edges) == 6
    assert np.bincount(cls).tolist() == [2, 2, 2, 2, 2]
    cls2, _, _ = choropleth_classes(pd.Series([1.0, np.nan, 3.0]), k=2)
    assert cls2.tolist() == [0, -1, 1]
    same, colors1, _ = choropleth_classes(np.ones(4))
    assert set(same.tolist()) == {0} and len(colors1) == 1


def test_territory_colors_are_distinct_and_neighbours_contrast():
    """Colours repeated after 20 territories (tab20 cycled), so touching
    territories could share one and look merged."""
    terr = [f"T{k:02d}" for k in range(70)]
    plain = territory_colors(terr[:25])
    assert len(set(plain.values())) == 25
    assert plain["T00"] == "#1f77b4" and plain["T01"] == "#ff7f0e"

    from matplotlib.colors import to_rgb

    from terrakit.widgets._display import _color_distance

    ring = [(terr[k], terr[(k + 1) % 70]) for k in range(70)]
    ring += [(terr[k], terr[(k + 2) % 70]) for k in range(70)]
    c = territory_colors(terr, neighbours=ring)
    assert len(set(c.values())) == 70
    assert c["T00"] == "#1f77b4"  # the first territory keeps tab20's first colour
    assert territory_colors(terr, neighbours=ring) == c  # deterministic

    def dist(a: str, b: str) -> float:
        return float(_color_distance(np.array(to_rgb(c[a])), np.array(to_rgb(c[b]))))

    # touching territories get clearly different colours: the palette in
    # order, blind to the neighbours, puts two pairs 0.10 apart on this ring
    assert min(dist(a, b) for a, b in ring) > 0.6


def test_territory_colors_keep_the_preferred_colour_unless_it_clashes():
    """Colours depended on the whole touching graph, so a related plan (a few
    moves apart) recoloured almost every territory."""
    terr = [f"T{k}" for k in range(10)]
    plain = territory_colors(terr)
    # T0 (blue) and T9 (cyan) are 0.59 apart: T9 takes the first spare colour
    c = territory_colors(terr, neighbours=[("T0", "T9"), ("T0", "T1")])
    assert c == {**plain, "T9": "#aec7e8"}
    # another touching pair that does not clash changes nothing
    c2 = territory_colors(terr, neighbours=[("T0", "T9"), ("T3", "T4")])
    assert c2 == c
    # the territory later in the order gives way
    assert territory_colors(terr, neighbours=[("T9", "T0")]) == c

"""One metric CRS per extent, whatever CRS the units are stored in; the
antimeridian; long links between point units (QA round 16)."""

from __future__ import annotations

import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from scipy.spatial import Delaunay

from terrakit.data import geo
from terrakit.data.geo import adjacency, distance_matrix, lonlat, projected_crs
from terrakit.datasets import synthetic_region
from terrakit.exceptions import TerrakitWarning


def _points(lon, lat, ids, crs=4326) -> gpd.GeoDataFrame:
    g = gpd.GeoDataFrame(
        {"unit_id": list(ids)}, geometry=gpd.points_from_xy(lon, lat), crs=4326
    )
    return g.set_index("unit_id").to_crs(crs)


@pytest.fixture(scope="module")
def region60() -> gpd.GeoDataFrame:
    """60 synthetic polygons around the Southeast (EPSG:4326), as in QA's d1."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return synthetic_region(n_units=60, n_reps=4, seed=4).units


@pytest.fixture
def fiji() -> gpd.GeoDataFrame:
    """Ten points on both sides of the antimeridian near Fiji, 0.25° apart
    (p0 at 179.5° E and p4 at 179.5° W are 106.5 km apart)."""
    lon = np.array([179.5, 179.75, 180.0, -179.75, -179.5])
    lat = np.array([-17.0, -16.75])
    lo, la = (a.ravel() for a in np.meshgrid(lon, lat))
    return _points(lo, la, [f"p{i}" for i in range(10)])


# -- d1: the stored CRS does not matter ------------------------------------------
@pytest.mark.parametrize("crs", [5070, 32617, 3857])
def test_points_and_distances_do_not_depend_on_the_stored_crs(region60, crs):
    """The representative point was computed in the stored metric CRS
    (EPSG:5070 kept as is): up to 45 km from the EPSG:4326 answer, distances
    52.7 km off.  Now both use the CRS of the lon/lat extent."""
    stored = region60.to_crs(crs)
    assert projected_crs(stored).equals(projected_crs(region60))
    lon_a, lat_a = lonlat(region60)
    lon_b, lat_b = lonlat(stored)
    moved = geo.haversine_matrix(lon_a, lat_a, lon_b, lat_b).diagonal()
    assert moved.max() < 1e-3  # km: under a metre
    diff = distance_matrix(region60) - distance_matrix(stored)
    assert np.abs(diff).max() < 1e-3


def test_lonlat_input_gets_the_crs_of_its_extent(region60):
    """The rule for lon/lat input is unchanged: UTM zone of a small extent's
    centre, here 17N for the synthetic Southeast."""
    minx, miny, maxx, maxy = region60.total_bounds
    assert (maxx - minx) <= 6 and (maxy - miny) <= 8
    zone = int((((minx + maxx) / 2) + 180) // 6) + 1
    assert projected_crs(region60).to_epsg() == 32600 + zone == 32617


# -- d3: across the antimeridian -----------------------------------------------------
@pytest.mark.parametrize("crs", [4326, 32760, 3832])
def test_antimeridian_extent_distances_and_crs(fiji, crs):
    """Fiji in lon/lat, UTM 60S or the Pacific Mercator: the extent is the 1°
    across ±180° (it was read as 360° wide, or min_lon > max_lon), the CRS a
    UTM zone there, and the planar p0-p4 distance 106.5 km (was 34,638.6)."""
    g = fiji.to_crs(crs)
    minx, miny, maxx, maxy = geo._lonlat_bounds(g)
    assert minx == pytest.approx(179.5) and maxx == pytest.approx(180.5)
    assert (miny, maxy) == (pytest.approx(-17.0), pytest.approx(-16.75))
    assert projected_crs(g).to_epsg() == 32701  # centre 180°: UTM 1S
    true_km = pyproj.Geod(ellps="WGS84").inv(179.5, -17.0, -179.5, -17.0)[2] / 1000
    d = distance_matrix(g, metric="euclidean")
    assert true_km == pytest.approx(106.5, abs=0.05)
    assert d[0, 4] == pytest.approx(true_km, rel=5e-3)
    assert d.max() < 120.0


def test_bounds_across_the_antimeridian_as_a_geojson_bbox():
    """min_lon > max_lon is an extent across ±180° (RFC 7946), not an error."""
    assert projected_crs((179.5, -17.0, -179.5, -16.5)).to_epsg() == 32701
    with pytest.raises(ValueError, match="min_lon, min_lat"):
        projected_crs((10.0, 5.0, 20.0, 1.0))


# -- d4: Voronoi cells libpysal cannot build -----------------------------------------
def test_points_around_the_pole_in_a_polar_crs():
    """Two rings of 12 points at 88° and 89° N: in EPSG:3413 the adjacency
    died with a bare IndexError inside libpysal (45 Voronoi cells for 24
    points).  Lon/lat and polar stereographic now give the same graph, built
    in the polar azimuthal CRS their extent gets."""
    lon = np.arange(-180, 180, 30.0)
    g = _points(
        np.concatenate([lon, lon]),
        np.r_[np.full(12, 88.0), np.full(12, 89.0)],
        [f"s{i}" for i in range(24)],
    )
    assert projected_crs(g).to_epsg() == projected_crs(g.to_crs(3413)).to_epsg()
    assert projected_crs(g).to_epsg() == 6931
    a = adjacency(g, warn=False)
    b = adjacency(g.to_crs(3413), warn=False)
    assert a.edges() == b.edges() and a.n_components == 1
    # the ring closes across the antimeridian: s0 (180° W) touches s11 (150° E)
    assert ("s0", "s11") in a.edges()


def test_delaunay_when_libpysal_cannot_build_voronoi_cells(monkeypatch):
    """Where libpysal fails (its IndexError on more cells than points), the
    graph is the Delaunay triangulation, with duplicated points linked as a
    clique; no bare IndexError."""
    from libpysal.graph import Graph

    def broken(*args, **kwargs):
        raise IndexError("index 24 is out of bounds for axis 0 with size 24")

    rng = np.random.default_rng(1)
    lon = -84.4 + rng.uniform(-0.5, 0.5, 30)
    lat = 33.7 + rng.uniform(-0.5, 0.5, 30)
    lon[29], lat[29] = lon[0], lat[0]  # a second unit at p0's place
    g = _points(lon, lat, [f"p{i}" for i in range(30)])
    voronoi = adjacency(g, "rook", warn=False)
    monkeypatch.setattr(Graph, "build_triangulation", broken)
    adj = adjacency(g, "rook", warn=False)
    assert adj.kind == "delaunay"
    # Delaunay of the 29 distinct places, computed here from the same xy,
    # less the links longer than 5 times the larger spacing of their ends
    xy = np.round(g.to_crs(projected_crs(g)).get_coordinates().to_numpy(), 3)
    tri = Delaunay(xy[:29])
    spacing = np.sort(np.hypot(*(xy[:29, None] - xy[None, :29]).T), axis=0)[1]
    want = {(0, 29)}
    for s in tri.simplices:
        for i, j in ((0, 1), (1, 2), (0, 2)):
            a, b = sorted((int(s[i]), int(s[j])))
            if np.hypot(*(xy[a] - xy[b])) <= 5 * max(spacing[a], spacing[b]):
                want.add((a, b))
                if a == 0:  # p29 shares p0's place and neighbours
                    want.add((b, 29))
    got = {tuple(sorted((int(a[1:]), int(b[1:])))) for a, b in adj.edges()}
    assert got == want
    assert len(want) > 60  # most of the 3n - 3 - hull Delaunay links
    # the clipped Voronoi graph is a part of the Delaunay one
    assert set(voronoi.edges()) <= set(adj.edges())


# -- d2: long links between point units ----------------------------------------------
def _la_hi() -> gpd.GeoDataFrame:
    """12 points around Los Angeles and 6 around Honolulu, ~0.3° jitter."""
    rng = np.random.default_rng(0)
    la = np.column_stack(
        [-118.3 + rng.uniform(-0.3, 0.3, 12), 34.0 + rng.uniform(-0.3, 0.3, 12)]
    )
    hi = np.column_stack(
        [-157.9 + rng.uniform(-0.3, 0.3, 6), 21.4 + rng.uniform(-0.3, 0.3, 6)]
    )
    xy = np.vstack([la, hi])
    ids = [f"LA{i}" for i in range(12)] + [f"HI{i}" for i in range(6)]
    return _points(xy[:, 0], xy[:, 1], ids)


def test_no_link_across_the_pacific_and_a_warning_says_why():
    """The Voronoi graph linked Honolulu to Los Angeles (4,050 km, nearest
    neighbours ~12 km apart) without a word."""
    pts = _la_hi()
    with pytest.warns(TerrakitWarning) as rec:
        adj = adjacency(pts)
    assert not [e for e in adj.edges() if e[0][:2] != e[1][:2]]
    assert adj.n_components == 2 and adj.islands == []
    msgs = [str(w.message) for w in rec]
    assert len(msgs) == 1
    assert re.fullmatch(
        r"2 neighbour links between point units were dropped as longer than 5 "
        r"times the spacing of the points at their ends \(the longest: "
        r"'LA\d+'-'HI\d+', 4,0\d\d km\), so the units form 2 separate groups "
        r"\(of 12, 6 units\) instead of 1; no contiguous territory can span two "
        r"groups\. Add links with Adjacency\.with_links\(\[\(a, b\), \.\.\.\]\) "
        r"where the groups are reachable \(ferries, flights\)\.",
        msgs[0],
    ), msgs[0]
    # within each city every unit keeps its Voronoi neighbours
    assert sorted(len(c) for c in adj.components) == [6, 12]


def test_a_lone_far_point_keeps_its_nearest_neighbour():
    """A link as long as one end's own spacing is never dropped: one point in
    Hawaii stays linked to Los Angeles (no unit is made an island)."""
    pts = _la_hi().iloc[:13]  # LA and one point in Hawaii
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adj = adjacency(pts)
    assert adj.n_components == 1
    assert [e for e in adj.edges() if "HI0" in e] != []


def test_even_spacing_keeps_every_voronoi_link(grid_points):
    """A regular grid: all links are 1 or √2 spacings, none dropped."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        queen = adjacency(grid_points, "queen")
    assert queen.n_edges == 20  # 12 sides + 8 diagonals of the 3×3 grid


@pytest.fixture
def grid_points(toy_grid_3x3):
    """The centres of the 3×3 grid as point units (UTM 17N)."""
    units = toy_grid_3x3.units
    return gpd.GeoDataFrame(geometry=units.centroid, index=units.index, crs=units.crs)


# -- d6: the haversine error bound -----------------------------------------------------
def test_haversine_error_bound_is_as_documented():
    """The docstring said 'below 0.5 %'; north-south at the equator is +0.56 %."""
    wgs = pyproj.Geod(ellps="WGS84")
    errs = []
    for lo1, la1, lo2, la2 in [(10, -0.5, 10, 0.5), (0, -10, 0, 10), (0, 89, 0, 90)]:
        h = geo.haversine_matrix([lo1], [la1], [lo2], [la2])[0, 0]
        t = wgs.inv(lo1, la1, lo2, la2)[2] / 1000
        errs.append(abs(h - t) / t * 100)
    assert 0.5 < max(errs) < 0.6
    assert "within about 0.6 %" in " ".join(geo.haversine_matrix.__doc__.split())


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4269"])
def test_metres_labelled_lonlat_are_refused_as_projected(crs):
    """UTM metres carrying a geographic CRS (a wrong or missing .prj): polygons
    met a bare pyproj CRSError, or align's 'coordinates are missing ...
    geocode these rows'."""
    from shapely.geometry import box

    from terrakit.design import align
    from terrakit.exceptions import DataValidationError

    units = gpd.GeoDataFrame(
        {"workload": [1.0, 2.0, 1.0, 3.0]},
        geometry=[
            box(500_000 + 1000 * i, 3_700_000, 501_000 + 1000 * i, 3_701_000)
            for i in range(4)
        ],
        index=pd.Index(list("abcd"), name="unit_id"),
        crs=crs,
    )
    # one vertex of 'c' in degrees would still be refused: 'a', 'b', 'd' named
    units.loc["c", "geometry"] = box(-84.0, 33.0, -83.99, 33.01)
    msg = (
        f"units.geometry: the CRS is geographic ({crs}) but 3 of 4 units have "
        "coordinates outside [-180, 180] × [-90, 90] (e.g. x=501000, y=3.7e+06): "
        "they look projected (metres), so the CRS does not match the data (rows: "
        "'a', 'b', 'd'). Fix: set the CRS the coordinates are in with "
        "gdf.set_crs(..., allow_override=True) (a wrong or missing .prj file is "
        "the usual cause)"
    )
    for call in (
        lambda: lonlat(units),
        lambda: projected_crs(units),
        lambda: projected_crs(units.geometry),
        lambda: distance_matrix(units),
        lambda: adjacency(units, warn=False),
        lambda: adjacency(units, snap_m=10, warn=False),
        lambda: align(units, n_territories=2, balance={"workload": 0.5}, time_limit=3),
    ):
        with pytest.raises(DataValidationError) as err:
            call()
        assert str(err.value) == msg
    # the same metres in their own CRS are fine
    utm = units.drop("c").set_crs(32616, allow_override=True)
    assert projected_crs(utm).to_epsg() == 32616

"""Geography helpers: CRS choice, points, distances, travel times, adjacency."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from shapely.geometry import Point, box

from terrakit.data.geo import (
    EARTH_RADIUS_KM,
    Adjacency,
    TravelTimeModel,
    adjacency,
    distance_matrix,
    haversine_matrix,
    lonlat,
    projected_crs,
)
from terrakit.exceptions import DataValidationError, TerrakitWarning

ATLANTA = (-84.3880, 33.7490)
CHARLOTTE = (-80.8431, 35.2271)


@pytest.fixture
def grid_points(toy_grid_3x3):
    """The centres of the 3×3 grid as point units (same ids, UTM 17N)."""
    units = toy_grid_3x3.units
    return gpd.GeoDataFrame(geometry=units.centroid, index=units.index, crs=units.crs)


# -- CRS -----------------------------------------------------------------------
def test_projected_crs_small_extent_is_utm_zone():
    assert projected_crs((-84.5, 33.5, -84.0, 34.0)).to_epsg() == 32616
    assert projected_crs((150.9, -34.0, 151.3, -33.7)).to_epsg() == 32756  # Sydney


def test_projected_crs_wide_extent_is_fitted_albers():
    crs = projected_crs((-125.0, 24.0, -66.0, 50.0))
    assert crs.is_projected
    assert crs.coordinate_operation.method_name == "Albers Equal Area"
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    assert params["Latitude of 1st standard parallel"] == pytest.approx(28.3333)
    assert params["Latitude of 2nd standard parallel"] == pytest.approx(45.6667)
    assert params["Longitude of false origin"] == pytest.approx(-95.5)


def test_projected_crs_keeps_metric_crs_and_reads_geodataframes(toy_grid_3x3):
    assert projected_crs(toy_grid_3x3.units).to_epsg() == 32617
    ll = toy_grid_3x3.units.to_crs("EPSG:4326")
    assert projected_crs(ll).to_epsg() == 32617


def test_projected_crs_rejects_bad_bounds():
    with pytest.raises(ValueError, match="min_lon, min_lat"):
        projected_crs((500_000, 3_700_000, 510_000, 3_710_000))


def test_lonlat_representative_points_are_square_centres(toy_grid_3x3):
    units = toy_grid_3x3.units
    lon, lat = lonlat(units)
    tr = pyproj.Transformer.from_crs("EPSG:4326", units.crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    np.testing.assert_allclose(x, units.centroid.x, atol=1e-3)
    np.testing.assert_allclose(y, units.centroid.y, atol=1e-3)


def test_lonlat_needs_a_crs():
    g = gpd.GeoSeries([Point(0, 0)])
    with pytest.raises(DataValidationError, match="no CRS"):
        lonlat(g)


# -- distances -----------------------------------------------------------------
def test_haversine_atlanta_charlotte_matches_geodesic():
    d = haversine_matrix([ATLANTA[0]], [ATLANTA[1]], [CHARLOTTE[0]], [CHARLOTTE[1]])
    _, _, metres = pyproj.Geod(ellps="WGS84").inv(*ATLANTA, *CHARLOTTE)
    assert d.shape == (1, 1)
    assert d[0, 0] == pytest.approx(364.0, abs=2.0)
    assert d[0, 0] == pytest.approx(metres / 1000.0, rel=5e-3)


def test_haversine_matrix_shape_symmetry_and_blocks(monkeypatch):
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-90, -75, 30), rng.uniform(25, 40, 30)
    full = haversine_matrix(lon, lat)
    assert full.shape == (30, 30)
    np.testing.assert_allclose(full, full.T)
    np.testing.assert_allclose(np.diag(full), 0.0, atol=1e-9)
    import terrakit.data.geo as geo

    monkeypatch.setattr(geo, "_BLOCK_CELLS", 7)  # force many small row blocks
    np.testing.assert_allclose(
        haversine_matrix(lon, lat, lon[:4], lat[:4]), full[:, :4]
    )


def test_haversine_matches_the_textbook_formula_worldwide():
    """The per-point sines (angle-difference identities) give the textbook
    haversine's kilometres, from millimetres to antipodes, across the antimeridian."""
    rng = np.random.default_rng(3)
    lon = np.r_[rng.uniform(-180, 180, 40), 179.9999, -179.9999, 10.0, 10.0 + 1e-8]
    lat = np.r_[rng.uniform(-89.9, 89.9, 40), 0.0, 0.0, 45.0, 45.0]
    lo, la = np.radians(lon), np.radians(lat)
    dla = la[None, :] - la[:, None]
    dlo = lo[None, :] - lo[:, None]
    h = (
        np.sin(dla / 2) ** 2
        + np.cos(la)[:, None] * np.cos(la)[None, :] * np.sin(dlo / 2) ** 2
    )
    want = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    got = haversine_matrix(lon, lat)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    assert got[40, 41] == pytest.approx(
        0.0002 * np.pi / 180 * EARTH_RADIUS_KM, rel=1e-6
    )
    assert np.diag(got).max() == 0.0


def test_haversine_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        haversine_matrix([0.0, 1.0], [0.0])


def test_distance_matrix_metrics_agree_on_small_grid(grid_points):
    gc = distance_matrix(grid_points)
    eu = distance_matrix(grid_points, metric="euclidean")
    assert eu[0, 1] == pytest.approx(10.0, rel=1e-6)  # UTM 17N is the data's CRS
    assert eu[0, 8] == pytest.approx(np.hypot(20, 20), rel=1e-6)
    np.testing.assert_allclose(gc, eu, rtol=5e-3, atol=1e-9)
    df = pd.DataFrame({"lon": [ATLANTA[0]], "lat": [ATLANTA[1]]})
    arr = np.array([CHARLOTTE])
    assert distance_matrix(df, arr)[0, 0] == pytest.approx(364.0, abs=2.0)
    with pytest.raises(ValueError, match="unknown metric"):
        distance_matrix(df, metric="manhattan")  # type: ignore[arg-type]


# -- travel times --------------------------------------------------------------
def test_travel_model_arithmetic():
    m = TravelTimeModel()  # 1.3 circuity, 60 km/h
    assert m.minutes(100.0) == pytest.approx(130.0)
    m2 = TravelTimeModel(circuity=1.2, speed_kmh=40.0, stop_minutes=5.0)
    assert m2.minutes(10.0) == pytest.approx(10 * 1.2 / 40 * 60 + 5)  # 23 min
    pts = np.array([ATLANTA, CHARLOTTE])
    km = haversine_matrix(pts[:, 0], pts[:, 1])
    mins = m2.matrix(pts)
    np.testing.assert_allclose(mins[0, 1], km[0, 1] * 1.2 / 40 * 60 + 5)
    assert mins[0, 0] == 0.0  # a point to itself: no stop overhead
    np.testing.assert_allclose(distance_matrix(pts, metric="travel", model=m2), mins)


def test_travel_model_rejects_nonsense():
    with pytest.raises(ValueError, match="circuity must be at least 1"):
        TravelTimeModel(circuity=0.8)
    with pytest.raises(ValueError, match="speed_kmh must be positive"):
        TravelTimeModel(speed_kmh=0)


def test_travel_model_from_external_matrix_looks_up_ids():
    osrm = pd.DataFrame(
        [[0, 12, 30], [11, 0, 25], [31, 24, 0]],
        index=["A", "B", "C"],
        columns=["A", "B", "C"],
        dtype=float,
    )
    m = TravelTimeModel.from_matrix(osrm)
    np.testing.assert_array_equal(m.matrix(["C", "A"], ["B"]), [[24.0], [12.0]])
    reps = pd.DataFrame({"home_lon": [0.0]}, index=["B"])
    assert m.matrix(reps, ["A"])[0, 0] == 11.0
    arr = TravelTimeModel.from_matrix(osrm.to_numpy(), ids=[1, 2, 3])
    assert arr.matrix([3], [1])[0, 0] == 31.0
    with pytest.raises(
        DataValidationError,
        match=r"2 destination ids are not in the "
        r"external travel-time matrix.*'X', 'Y'",
    ):
        m.matrix(["A"], ["X", "B", "Y"])


def test_travel_model_external_matrix_validation():
    with pytest.raises(DataValidationError, match="needs one id per row"):
        TravelTimeModel.from_matrix(np.zeros((2, 2)))
    bad = pd.DataFrame([[0, -1.0], [np.nan, 0]], index=["a", "b"], columns=["a", "b"])
    with pytest.raises(DataValidationError, match=r"missing \(NaN\) or negative"):
        TravelTimeModel.from_matrix(bad)


# -- adjacency -----------------------------------------------------------------
def test_rook_and_queen_neighbour_counts_on_grid(toy_grid_3x3):
    units = toy_grid_3x3.units
    rook = adjacency(units, "rook")
    queen = adjacency(units, "queen")
    assert rook.degrees().to_dict() == {
        "u1": 2,
        "u2": 3,
        "u3": 2,
        "u4": 3,
        "u5": 4,
        "u6": 3,
        "u7": 2,
        "u8": 3,
        "u9": 2,
    }
    assert queen.degrees().to_dict() == {
        "u1": 3,
        "u2": 5,
        "u3": 3,
        "u4": 5,
        "u5": 8,
        "u6": 5,
        "u7": 3,
        "u8": 5,
        "u9": 3,
    }
    assert (rook.n_edges, queen.n_edges) == (12, 20)
    assert sorted(rook.neighbors["u5"]) == ["u2", "u4", "u6", "u8"]
    assert ("u1", "u2") in rook.edges() and ("u1", "u5") not in rook.edges()
    assert ("u1", "u5") in queen.edges()
    assert rook.islands == [] and rook.components == [list(units.index)]
    m = queen.matrix
    assert m.shape == (9, 9) and (m != m.T).nnz == 0 and m.diagonal().sum() == 0
    assert len(queen.to_frame()) == 20
    assert "20 edges" in queen.summary()


def test_snap_links_polygons_that_almost_touch(toy_grid_3x3):
    """The grid's right column moved 300 m east: rook contiguity loses the
    three links across the gap, ``snap_m=500`` restores them, ``snap_m=200``
    does not reach across.  Snapped links include corners (queen)."""
    units = toy_grid_3x3.units.copy()
    right = units.index.isin(["u3", "u6", "u9"])
    units.loc[right, "geometry"] = units.geometry[right].translate(xoff=300.0)
    base = adjacency(units, "rook", warn=False)
    assert base.n_edges == 12 - 3 and len(base.components) == 2
    snapped = adjacency(units, "rook", snap_m=500, warn=False)
    assert snapped.components == [list(units.index)]
    across = {("u2", "u3"), ("u5", "u6"), ("u8", "u9")}
    assert set(snapped.edges()) - set(base.edges()) >= across
    # corners across the gap are within 500 m too: fuzzy links do not tell
    # corners from edges (as documented)
    assert set(snapped.edges()) <= set(adjacency(toy_grid_3x3.units).edges())
    assert snapped.kind == "rook+snap500m"
    short = adjacency(units, "rook", snap_m=200, warn=False)
    # 200 m does not reach across; within the left piece the 4 corners link
    assert len(short.components) == 2 and short.n_edges == 9 + 4
    with pytest.raises(ValueError, match="snap_m must be a positive distance"):
        adjacency(units, snap_m=0)


def test_point_units_get_voronoi_contiguity(grid_points):
    rook = adjacency(grid_points, "rook")
    queen = adjacency(grid_points, "queen")
    assert rook.kind == "voronoi-rook"
    assert rook.degrees()["u5"] == 4 and queen.degrees()["u5"] == 8
    assert rook.n_components == 1


def test_collinear_and_tiny_point_sets():
    pts = gpd.GeoDataFrame(
        geometry=[Point(-80 + 0.1 * i, 35) for i in (2, 0, 1)],
        index=["c", "a", "b"],
        crs="EPSG:4326",
    )
    adj = adjacency(pts)
    assert sorted(tuple(sorted(e)) for e in adj.edges()) == [("a", "b"), ("b", "c")]
    one = adjacency(pts.iloc[:1], warn=False)
    assert one.islands == ["c"]


def test_islands_are_reported_with_a_warning(toy_grid_3x3):
    units = toy_grid_3x3.units
    far = [
        box(600_000 + 20_000 * k, 3_800_000, 610_000 + 20_000 * k, 3_810_000)
        for k in range(7)
    ]
    extra = gpd.GeoDataFrame(
        geometry=far,
        index=pd.Index([f"isle{k}" for k in range(7)], name="unit_id"),
        crs=units.crs,
    )
    both = pd.concat([units[["geometry"]], extra])
    with pytest.warns(
        TerrakitWarning,
        match=r"7 of 16 units have no queen neighbour "
        r"\(islands\): 'isle0', 'isle1', 'isle2', 'isle3', 'isle4' and "
        r"2 more",
    ):
        adj = adjacency(both)
    assert adj.islands == [f"isle{k}" for k in range(7)]
    assert adj.n_components == 8
    assert adj.components[0] == list(units.index)
    linked = adj.with_links([("isle0", "u9")])
    assert "isle0" not in linked.islands and linked.n_components == 7
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adjacency(both, warn=False)


def test_adjacency_ids_and_errors(toy_grid_3x3):
    units = toy_grid_3x3.units.assign(code=[f"c{k}" for k in range(9)])
    assert adjacency(units, ids="code").ids[0] == "c0"
    with pytest.raises(DataValidationError, match="ids occur more than once"):
        adjacency(units, ids=["x"] * 9)
    mixed = pd.concat(
        [
            units.iloc[:2],
            gpd.GeoDataFrame(
                geometry=[Point(500_000, 3_700_000)], index=["p"], crs=units.crs
            ),
        ]
    )
    with pytest.raises(DataValidationError) as err:
        adjacency(mixed)
    assert str(err.value) == (
        "units.geometry: units mix polygons (2) and points (1); they must all be "
        "one or the other, and the rows listed are the points (rows: 'p'). Fix: "
        "supply the polygons of these units (or buffer their points in a "
        "projected CRS, in metres), or give every unit as a point "
        "(units.geometry.representative_point())"
    )
    with pytest.raises(ValueError, match="kind must be"):
        adjacency(units, "bishop")  # type: ignore[arg-type]


def test_adjacency_result_is_validated_and_subgraphs():
    import scipy.sparse as sp

    with pytest.raises(ValueError, match="symmetric"):
        Adjacency(pd.Index(["a", "b"]), sp.csr_array(np.array([[0, 1], [0, 0]])))
    m = sp.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]))
    adj = Adjacency(pd.Index(["a", "b", "c"]), m, kind="manual")
    sub = adj.subgraph(["a", "c"])
    assert sub.islands == ["a", "c"] and sub.n_edges == 0
    with pytest.raises(DataValidationError, match="not nodes"):
        adj.subgraph(["z"])


def test_adjacency_of_a_weights_matrix_keeps_every_edge():
    import scipy.sparse as sp

    # a 2x2 rook grid: a-b, a-c, b-d, c-d
    w01 = np.array([[0, 1, 1, 0], [1, 0, 0, 1], [1, 0, 0, 1], [0, 1, 1, 0]])
    ids = pd.Index(["a", "b", "c", "d"])
    want = Adjacency(ids, sp.csr_array(w01), kind="manual").edges()
    assert len(want) == 4
    row_std = w01 / w01.sum(axis=1, keepdims=True)  # libpysal transform="r"
    for weights in (row_std, 0.5 * w01, 256.0 * w01, w01.astype(bool)):
        adj = Adjacency(ids, sp.csr_array(weights), kind="manual")
        assert adj.edges() == want and adj.islands == []
        assert set(np.unique(adj.matrix.data)) == {1}
    dense = Adjacency(ids, 0.25 * w01, kind="manual")  # a dense array works too
    assert dense.n_edges == 4
    # the pattern, not the weights, must be symmetric
    asym = np.array([[0, 0.5, 0], [0.1, 0, 0], [0, 0, 0]])
    assert Adjacency(pd.Index(["a", "b", "c"]), asym).n_edges == 1
    with pytest.raises(ValueError, match="symmetric"):
        Adjacency(pd.Index(["a", "b"]), np.array([[0, 0.5], [0.0, 0]]))
    with pytest.raises(ValueError, match="NaN or infinite"):
        Adjacency(pd.Index(["a", "b"]), np.array([[0, np.nan], [np.nan, 0]]))


# -- bad coordinates and geometries -----------------------------------------------
def _three(geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"workload": [1.0, 2.0, 3.0]},
        geometry=geoms,
        index=pd.Index(["u1", "u2", "u3"], name="unit_id"),
        crs="EPSG:4326",
    )


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_and_missing_geometries_are_named_not_library_errors():
    from shapely.geometry import Polygon

    nan_point = _three([Point(-84, 33), Point(np.nan, np.nan), Point(-83, 34)])
    nan_vertex = _three(
        [
            box(-84, 33, -83, 34),
            Polygon([(-83, 33), (np.nan, 33), (-82, 34)]),
            box(-82, 33, -81, 34),
        ]
    )
    for units in (nan_point, nan_vertex):
        for call in (lambda u: adjacency(u, warn=False), lonlat):
            with pytest.raises(
                DataValidationError,
                match=r"units\.geometry: 1 geometries have a missing \(NaN\) or "
                r"infinite coordinate .*rows: 'u2'.*Fix: repair or drop",
            ):
                call(units)
    none = _three([None, box(1, 0, 2, 1), box(2, 0, 3, 1)])
    empty = _three([Polygon(), box(1, 0, 2, 1), box(2, 0, 3, 1)])
    for units in (none, empty):
        with pytest.raises(
            DataValidationError,
            match=r"units\.geometry: 1 rows have no geometry .*rows: 'u1'",
        ):
            adjacency(units, warn=False)


def test_points_with_nan_or_out_of_range_coordinates_are_named():
    pts = pd.DataFrame(
        {"lon": [-84.4, np.nan, -80.8], "lat": [33.7, 35.0, 35.2]},
        index=["a", "b", "c"],
    )
    for call in (
        lambda: distance_matrix(pts),
        lambda: distance_matrix(pts, metric="euclidean"),
        lambda: TravelTimeModel().matrix(pts),
        lambda: distance_matrix(pts.iloc[[0]], pts),
    ):
        with pytest.raises(
            DataValidationError,
            match=r"points\.lon: 1 coordinates are missing, infinite or not "
            r"numbers \(rows: 'b'\)",
        ):
            call()
    with pytest.raises(
        DataValidationError, match=r"points\.lat: 1 latitudes outside \[-90, 90\]"
    ):
        distance_matrix(pd.DataFrame({"lon": [0, 1], "lat": [95, 0]}))
    with pytest.raises(
        DataValidationError, match=r"points\.lat \(column 1\): .*rows: 'row 1'"
    ):
        distance_matrix(np.array([[0.0, 0.0], [1.0, np.inf]]))
    with pytest.raises(
        DataValidationError,
        match=r"points\.lat: 1 coordinates are not numbers \(e\.g\. 'n/a'\).*'b'",
    ):
        distance_matrix(
            pd.DataFrame({"lon": [0, 1], "lat": [1, "n/a"]}, index=["a", "b"])
        )


def test_travel_table_with_text_cells_names_row_and_column():
    table = pd.DataFrame([["0", "1"], ["1", "x"]], index=["a", "b"], columns=["a", "b"])
    with pytest.raises(
        DataValidationError,
        match=r"travel_matrix\.b: 1 entries are not numbers \(e\.g\. 'x' from 'b' "
        r"to 'b'.*rows: 'b'",
    ):
        TravelTimeModel.from_matrix(table)
    # numbers stored as text are read as numbers
    ok = TravelTimeModel.from_matrix(table.replace("x", "0"))
    assert ok.matrix(["a", "b"]).tolist() == [[0.0, 1.0], [1.0, 0.0]]


# -- snapping in real metres --------------------------------------------------------
def test_web_mercator_is_not_taken_as_a_metric_crs():
    # (a 1 m box at the origin is refused: its numbers look like degrees)
    square = box(1e6, 1e6, 1e6 + 1000, 1e6 + 1000)
    assert projected_crs(gpd.GeoSeries([square], crs=3857)).to_epsg() != 3857
    assert projected_crs(gpd.GeoSeries([square], crs=3395)).to_epsg() != 3395
    # metric CRSs too give the CRS of their lon/lat extent (a UTM zone here)
    utm = gpd.GeoSeries([box(500_000, 3_700_000, 510_000, 3_710_000)], crs=32616)
    assert projected_crs(utm).to_epsg() == 32616
    assert projected_crs(utm.to_crs(5070)).to_epsg() == 32616
    # at 60° N a Web-Mercator metre is two metres: a real 95 m gap is 190 "m"
    y = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(10, 60)[1]
    g = gpd.GeoDataFrame(
        geometry=[
            box(1e6, y, 1e6 + 1000, y + 1000),
            box(1e6 + 1190, y, 1e6 + 2190, y + 1000),
        ],
        index=pd.Index(["a", "b"], name="unit_id"),
        crs=3857,
    )
    assert adjacency(g, snap_m=100, warn=False).n_edges == 1
    assert adjacency(g.to_crs(4326), snap_m=100, warn=False).n_edges == 1
    assert adjacency(g, snap_m=80, warn=False).n_edges == 0


# -- stop minutes -------------------------------------------------------------------
def test_stop_minutes_never_charged_on_a_point_to_itself():
    pts = pd.DataFrame(
        {"lon": [-84.39, -83.38], "lat": [33.75, 33.95]}, index=["atl", "ath"]
    )
    tm = TravelTimeModel(stop_minutes=5)
    own = tm.matrix(pts)
    np.testing.assert_array_equal(tm.matrix(pts, pts), own)
    np.testing.assert_array_equal(np.diag(own), [0.0, 0.0])
    assert (own[~np.eye(2, dtype=bool)] > 5).all()
    np.testing.assert_array_equal(
        distance_matrix(pts, pts.iloc[::-1], metric="travel", model=tm),
        own[:, ::-1],
    )
    table = pd.DataFrame(
        [[0, 70], [72, 0]], index=["atl", "ath"], columns=["atl", "ath"], dtype=float
    )
    tt = TravelTimeModel.from_matrix(table, stop_minutes=5)
    want = [[0.0, 75.0], [77.0, 0.0]]
    assert tt.matrix(["atl", "ath"]).tolist() == want
    assert tt.matrix(["atl", "ath"], ["atl", "ath"]).tolist() == want
    assert tt.matrix(["atl"], ["atl"]).tolist() == [[0.0]]
    assert tt.matrix(["ath"], ["atl", "ath"]).tolist() == [[77.0, 0.0]]


def test_with_links_wants_a_list_of_pairs(toy_grid_3x3):
    """One pair not in a list used to be split into its ids' characters (or
    gave a bare IndexError / TypeError)."""
    units = toy_grid_3x3.units
    adj = adjacency(units, warn=False)
    a, b = units.index[0], units.index[8]
    fix = "give a list of pairs: [(a, b)], e.g. with_links([('isle', 'mainland')])"
    for given, rows, count in (
        ((a, b), f"{a!r}, {b!r}", "2 of 2"),
        ([(a,)], f"({a!r},)", "1 of 1"),
        ([(a, b), (1, 2, 3)], "(1, 2, 3)", "1 of 2"),
    ):
        with pytest.raises(DataValidationError) as err:
            adj.with_links(given)
        assert str(err.value) == (
            f"adjacency.unit_id: {count} links are not (a, b) pairs of unit ids "
            f"(rows: {rows}). Fix: {fix} for one link"
        )
    linked = adj.with_links([(a, b)])
    assert linked.n_edges == adj.n_edges + 1


def test_snap_m_checked_first_and_ignored_for_points(toy_grid_3x3, grid_points):
    msg = (
        "snap_m must be a positive distance, got {}; give metres as a number "
        "(e.g. snap_m=500), or None for exact contiguity"
    )
    for bad in (-5, 0, "abc", True, float("nan")):
        for units in (toy_grid_3x3.units, grid_points):
            with pytest.raises(ValueError) as err:
                adjacency(units, snap_m=bad, warn=False)
            assert str(err.value) == msg.format(repr(bad))
    with pytest.warns(
        TerrakitWarning, match=r"^snap_m=5 is ignored: it joins polygons that come"
    ):
        snapped = adjacency(grid_points, snap_m=5, warn=False)
    assert snapped.n_edges == adjacency(grid_points, warn=False).n_edges


def test_travel_table_looks_up_a_series_of_ids_by_its_values():
    """A Series of ids (``stops["unit_id"]``) was looked up by its index
    0, 1, 2, not its values: the minutes of other places, silently."""
    minutes = np.array([[0, 5, 9], [5, 0, 7], [9, 7, 0]], dtype=float)
    m = TravelTimeModel.from_matrix(minutes, ids=[0, 1, 2])
    ids = pd.Series([2, 0, 1], name="unit_id")
    want = [[0.0, 9.0, 7.0], [9.0, 0.0, 5.0], [7.0, 5.0, 0.0]]
    assert m.matrix(ids).tolist() == want
    assert distance_matrix(ids, metric="travel", model=m).tolist() == want
    assert m.matrix(ids, pd.Series([1], index=[7])).tolist() == [[7.0], [5.0], [0.0]]
    # a table still gives its index
    assert m.matrix(pd.DataFrame(index=[2, 0]), [1]).tolist() == [[7.0], [5.0]]


def test_adjacency_repairs_invalid_polygons():
    """With strict=True a bowtie (self-intersecting ring) lost its real
    neighbour; a collection make_valid gives (a polygon and its spike, as the
    Study stores it) met a bare libpysal error."""
    from shapely.geometry import Polygon

    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    units = _three([bowtie, box(1, 0, 2, 1), box(2, 0, 3, 1)])
    assert not units.is_valid.iloc[0]
    for strict in (False, True):
        adj = adjacency(units, "rook", strict=strict, warn=False)
        assert adj.edges() == [("u1", "u2"), ("u2", "u3")]
    spike = Polygon([(0, 0), (1, 0), (1, 1), (1.5, 1), (1, 1), (0, 1)])
    repaired = _three([spike, box(1, 0, 2, 1), box(2, 0, 3, 1)]).make_valid()
    assert repaired.geom_type.iloc[0] == "GeometryCollection"
    for strict in (False, True):
        adj = adjacency(repaired, "rook", strict=strict, warn=False)
        assert adj.edges() == [("u1", "u2"), ("u2", "u3")]
    flat = Polygon([(1, 0), (2, 0), (3, 0), (1, 0)])  # no area
    with pytest.raises(DataValidationError) as err:
        adjacency(_three([box(0, 0, 1, 1), flat, box(3, 0, 4, 1)]), warn=False)
    assert str(err.value) == (
        "units.geometry: 1 polygons are invalid and have no area once repaired "
        "with make_valid (they collapse to MultiLineString) (rows: 'u2'). Fix: "
        "drop these rows, or supply the polygons of the areas they stand for: a "
        "unit without area borders no unit"
    )


def test_adjacency_refuses_multipoints_naming_the_rows():
    """Multipoints met a bare libpysal ValueError; a point/multipoint mix was
    called 'points and polygons'."""
    from shapely.geometry import MultiPoint

    mp = [MultiPoint([(0, 0), (0.1, 0.1)]), MultiPoint([(1, 1), (1.1, 1)])]
    fix = (
        "Fix: give each of these units one point (e.g. "
        "units.geometry.representative_point()) or its polygon"
    )
    with pytest.raises(DataValidationError) as err:
        adjacency(_three([*mp, MultiPoint([(0, 1), (0, 1.1)])]))
    assert str(err.value) == (
        "units.geometry: units must all be polygons or all be points, but 3 are "
        f"MultiPoint (3 MultiPoint) (rows: 'u1', 'u2', 'u3'). {fix}"
    )
    with pytest.raises(DataValidationError) as err:
        adjacency(_three([Point(0, 0), mp[1], Point(0, 1)]), ids=["a", "b", "c"])
    assert str(err.value) == (
        "units.geometry: units must all be polygons or all be points, but 1 are "
        f"MultiPoint (2 point, 1 MultiPoint) (rows: 'b'). {fix}"
    )


# -- a CRS that does not match its coordinates ------------------------------------
def test_degrees_labelled_with_a_projected_crs_are_refused_as_the_study_does(
    toy_grid_3x3,
):
    """Lon/lat degrees labelled EPSG:3857 (a wrong .prj) were taken as metres:
    snap_m=500 linked every unit to every other and distances came out 1e5
    times too small, while the Study refused the same table."""
    from terrakit import Study

    bad = toy_grid_3x3.units.to_crs(4326).set_crs(3857, allow_override=True)
    with pytest.raises(DataValidationError) as study_err:
        Study(units=bad)
    msg = str(study_err.value)
    assert "they look like lon/lat degrees, so the CRS does not match" in msg
    for call in (
        lambda: projected_crs(bad),
        lambda: lonlat(bad),
        lambda: distance_matrix(bad),
        lambda: distance_matrix(bad, metric="euclidean"),
        lambda: TravelTimeModel().matrix(bad),
        lambda: adjacency(bad, snap_m=500, warn=False),
    ):
        with pytest.raises(DataValidationError) as err:
            call()
        assert str(err.value) == msg
    points = gpd.GeoDataFrame(geometry=bad.representative_point(), crs=3857)
    for call in (lambda: lonlat(points), lambda: adjacency(points, warn=False)):
        with pytest.raises(
            DataValidationError,
            match=r"^units\.geometry: the CRS is projected \(EPSG:3857\) but all "
            r"coordinates lie within \[-80\.\d+, -80\.\d+\] × \[33\.\d+, 33\.\d+\]: "
            r"they look like lon/lat degrees",
        ):
            call()
    # the same numbers declared as degrees are fine
    ok = bad.set_crs(4326, allow_override=True)
    assert distance_matrix(ok.iloc[:2])[0, 1] == pytest.approx(10.0, rel=0.01)


def test_longitudes_in_0_360_are_called_so_with_the_fix():
    """Fiji at 177.5 to 181.2 E was called 'projected (metres)', with the fix
    'set the CRS the coordinates are in'."""
    pts = gpd.GeoSeries(
        [Point(177.5, -17.8), Point(178.4, -18.1), Point(181.2, -16.5)],
        index=["Nadi", "Suva", "Lau"],
        crs="EPSG:4326",
    )
    msg = (
        "units.geometry: the CRS is geographic (EPSG:4326) but 1 of 3 units have "
        "coordinates outside [-180, 180] × [-90, 90] (e.g. x=181.2, y=-16.5): "
        "they look like longitudes in the 0-360 convention (degrees east of "
        "Greenwich), while a geographic CRS takes them in [-180, 180] (rows: "
        "'Lau'). Fix: wrap the longitudes into [-180, 180] with ((x + 180) % 360) "
        "- 180, e.g. gdf.set_geometry(shapely.transform(gdf.geometry.values, "
        "lambda xy: np.c_[(xy[:, 0] + 180) % 360 - 180, xy[:, 1]]), crs=gdf.crs); "
        "terrakit handles units on both sides of the antimeridian (a polygon "
        "crossing it must be split there)"
    )
    for call in (lambda: projected_crs(pts), lambda: adjacency(pts)):
        with pytest.raises(DataValidationError) as err:
            call()
        assert str(err.value) == msg
    # the fix given works: the wrapped points are across the antimeridian
    import shapely

    gdf = pts.to_frame("geometry")
    wrapped = gdf.set_geometry(
        shapely.transform(
            gdf.geometry.values,
            lambda xy: np.c_[(xy[:, 0] + 180) % 360 - 180, xy[:, 1]],
        ),
        crs=gdf.crs,
    )
    assert wrapped.geometry.x.tolist() == pytest.approx([177.5, 178.4, -178.8])
    assert projected_crs(wrapped).to_epsg() == 32760
    # metres labelled lon/lat keep their diagnosis
    metres = gpd.GeoSeries([Point(500_000, 3_700_000)], crs="EPSG:4326")
    with pytest.raises(DataValidationError, match="they look projected"):
        projected_crs(metres)


# -- CRS near the equator -----------------------------------------------------------
def test_extents_symmetric_about_the_equator_get_true_scale_there():
    """Kenya got EPSG:6933 (true scale at ±30°): east-west metres 13 % short,
    north-south 15 % long at the equator, so snap_m and euclidean km were off."""
    crs = projected_crs((33.9, -4.7, 41.9, 5.0))  # Kenya
    op = crs.coordinate_operation
    assert op.method_name == "Lambert Cylindrical Equal Area"
    assert [p.value for p in op.params[:2]] == [3.2333, 37.9]  # lat_ts, lon_0
    geod = pyproj.Geod(ellps="WGS84")
    tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    for lat in (-4.5, 0.0, 4.5):
        x, y = tr.transform([37.0, 37.01, 37.0], [lat, lat, lat + 0.01])
        ew = np.hypot(x[1] - x[0], y[1] - y[0]) / geod.inv(37, lat, 37.01, lat)[2]
        ns = np.hypot(x[2] - x[0], y[2] - y[0]) / geod.inv(37, lat, 37, lat + 0.01)[2]
        assert abs(ew - 1) < 0.003 and abs(ns - 1) < 0.003, (lat, ew, ns)
    # 450 m apart north-south: neighbours at snap_m=500; 560 m east-west: not
    mlat, mlon = 450 / 110574.0, 560 / 111320.0
    u = gpd.GeoDataFrame(
        geometry=[
            box(37.9, 0.15, 37.91, 0.16),
            box(37.9, 0.16 + mlat, 37.91, 0.17 + mlat),
            box(38.0, 0.15, 38.01, 0.16),
            box(38.01 + mlon, 0.15, 38.02 + mlon, 0.16),
            box(33.9, -4.7, 33.91, -4.69),
            box(41.89, 4.99, 41.9, 5.0),
        ],
        index=list("ABCDEF"),
        crs=4326,
    )
    assert adjacency(u, snap_m=500, warn=False).edges() == [("A", "B")]
    # the other extents keep their CRS
    assert projected_crs((-170.0, -40.0, 170.0, 40.0)).to_epsg() == 6933
    wide = projected_crs((160.0, -40.0, -10.0, 40.0)).coordinate_operation
    assert [p.value for p in wide.params[:2]] == [30.0, -105.0]
    us = projected_crs((-125.0, 24.0, -66.0, 50.0)).coordinate_operation
    assert us.method_name == "Albers Equal Area"
    assert projected_crs((36.0, -1.0, 38.0, 1.0)).to_epsg() == 32637  # UTM


# -- point graphs on a line -----------------------------------------------------------
def _point_units(xy, ids, crs=4326) -> gpd.GeoSeries:
    return gpd.GeoSeries(gpd.points_from_xy(*zip(*xy, strict=True)), index=ids, crs=crs)


def test_points_on_a_line_keep_their_shared_locations_as_cliques():
    """Points at fewer than 3 places, or all on one line, were chained one
    after the other: points at one location were not all linked (nor to the
    location's neighbours), unlike points in general position."""
    two = adjacency(_point_units([(-84, 33), (-84, 33), (-83.9, 33)], list("AaB")))
    assert two.kind == "chain"
    assert two.edges() == [("A", "a"), ("A", "B"), ("a", "B")]
    one = adjacency(_point_units([(-84, 33)] * 3, list("ABC")))
    assert one.edges() == [("A", "B"), ("A", "C"), ("B", "C")]
    xy = [(500_000 + 1000 * i, 3_700_000 + 500 * i) for i in (0, 1, 1, 2)]
    line = adjacency(_point_units(xy, list("pqrs"), crs=32617))  # one line in UTM 17N
    assert line.kind == "chain"
    assert line.edges() == [("p", "q"), ("p", "r"), ("q", "r"), ("q", "s"), ("r", "s")]


# -- travel-time settings -------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "got"),
    [
        ({"speed_kmh": True}, "True"),
        ({"speed_kmh": np.True_}, "np.True_"),
        ({"speed_kmh": None}, "None"),
        ({"circuity": "fast"}, "'fast'"),
        ({"stop_minutes": [5]}, "[5]"),
        ({"circuity": float("nan")}, "nan"),
    ],
)
def test_travel_model_refuses_bools_and_non_numbers_naming_the_setting(kw, got):
    """speed_kmh=True was 1 km/h (every trip 60 times too long); None, text
    and lists met a bare float() error naming no setting."""
    name = next(iter(kw))
    default = {"circuity": "1.3", "speed_kmh": "60", "stop_minutes": "0"}[name]
    if got == "np.True_" and repr(np.True_) == "True":  # numpy < 2
        got = "True"
    with pytest.raises(ValueError) as err:
        TravelTimeModel(**kw)
    assert str(err.value) == (
        f"{name} must be a finite number, got {got}; give it as a plain number, "
        f"e.g. TravelTimeModel({name}={default})"
    )
    assert TravelTimeModel(speed_kmh=np.float64(40.0), circuity=1).speed_kmh == 40.0


# -- across the antimeridian ----------------------------------------------------------
def test_polygons_meeting_on_the_antimeridian_are_neighbours():
    """W ends at 180°, E starts at -180° (the same meridian): they were no
    neighbours with queen, rook or strict=True, and E was called an island."""
    u = gpd.GeoDataFrame(
        geometry=[
            box(179.5, -17, 180, -16.5),
            box(-180, -17, -179.5, -16.5),
            box(179.0, -17, 179.5, -16.5),
            box(-179.0, -17, -178.5, -16.5),  # 0.5° east of E: not touching
        ],
        index=["W", "E", "X", "far"],
        crs="EPSG:4326",
    )
    for kw in ({}, {"kind": "rook"}, {"strict": True}):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no unit is an island
            adj = adjacency(u.drop("far"), **kw)
        assert adj.edges() == [("W", "E"), ("W", "X")], kw
        assert adjacency(u, warn=False, **kw).edges() == adj.edges()


# -- haversine_matrix's inputs --------------------------------------------------------
def test_haversine_matrix_refuses_swapped_and_missing_coordinates():
    """(lat, lon) order or a NaN returned a number without a word, while
    distance_matrix refused the same points naming the rows."""
    la, sf = (-118.24, 34.05), (-122.42, 37.77)
    assert haversine_matrix([la[0]], [la[1]], [sf[0]], [sf[1]])[0, 0] == (
        pytest.approx(559.1, abs=0.1)
    )
    with pytest.raises(DataValidationError) as err:
        haversine_matrix([la[1]], [la[0]], [sf[1]], [sf[0]])  # lat first
    assert str(err.value) == (
        "points.lat1: 1 latitudes outside [-90, 90] (e.g. -118.24); coordinates "
        "must be WGS84 degrees (rows: 'row 0'). Fix: convert projected "
        "coordinates to lon/lat degrees, or check whether lon and lat are swapped"
    )
    with pytest.raises(
        DataValidationError,
        match=r"^points\.lat2: 1 coordinates are missing, infinite or not numbers "
        r"\(rows: 'row 1'\)",
    ):
        haversine_matrix([la[0]], [la[1]], [sf[0], 0.0], [sf[1], np.nan])
    with pytest.raises(DataValidationError, match=r"^points\.lon1: .*'row 0'"):
        haversine_matrix([np.inf], [0.0])

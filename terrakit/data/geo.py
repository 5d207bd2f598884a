"""Geography helpers: metric CRS choice, points, distances, travel times, adjacency.

Everything here works on plain tables (GeoDataFrames, DataFrames with lon/lat
columns, or ``(n, 2)`` arrays of lon/lat degrees) so that every part of
terrakit measures distance and neighbourhood the same way.

* :func:`projected_crs` picks a metric CRS for an extent (UTM or a fitted
  Albers equal-area conic).
* :func:`lonlat` gives one representative point per unit as lon/lat arrays.
* :func:`haversine_matrix` and :func:`distance_matrix` give great-circle,
  planar or travel-time matrices.
* :class:`TravelTimeModel` turns kilometres into minutes, or looks minutes up
  in an external table (e.g. an OSRM ``table`` answer).
* :func:`adjacency` builds the queen/rook neighbour graph of the units with
  :mod:`libpysal.graph` and returns an :class:`Adjacency`.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from terrakit._runargs import as_number
from terrakit.data.validation import (
    _check_crs_extent,
    _check_geometry_kinds,
    check_geometries,
    check_lonlat_values,
    first_few,
)
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)

__all__ = [
    "EARTH_RADIUS_KM",
    "Adjacency",
    "TravelTimeModel",
    "adjacency",
    "distance_matrix",
    "haversine_matrix",
    "lonlat",
    "projected_crs",
]

#: Mean Earth radius (IUGG, ``R1 = (2a + b) / 3`` of WGS84) in kilometres.
EARTH_RADIUS_KM = 6371.0088

#: Extents at most this wide (degrees of longitude) get a UTM zone.
_UTM_MAX_LON_SPAN = 6.0
#: ... and at most this tall (degrees of latitude).
_UTM_MAX_LAT_SPAN = 8.0
#: Extents wider than 180° of longitude and entirely poleward of this
#: latitude (degrees) surround a pole: they get a polar azimuthal CRS.
_POLAR_MIN_LAT = 45.0
#: Rows of a distance matrix computed per block (bounds temporary memory).
_BLOCK_CELLS = 2_000_000
#: A neighbour link between point units is dropped when it is longer than
#: this many times the larger of its two ends' nearest-neighbour distances
#: (see :func:`adjacency`).
_LONG_LINK_FACTOR = 5.0

PointsLike: TypeAlias = (
    gpd.GeoDataFrame | gpd.GeoSeries | pd.DataFrame | np.ndarray | Sequence[Any]
)


# -- CRS -----------------------------------------------------------------------
def _lonlat_extent(
    lon: np.ndarray, lat: np.ndarray
) -> tuple[float, float, float, float]:
    """``(min_lon, min_lat, max_lon, max_lat)`` of points in degrees.

    When the points leave a wider gap of longitudes somewhere else than at
    the antimeridian (Fiji: 179.5° E to 179.5° W; the Aleutians), the extent
    is the narrower arc across it: ``max_lon`` then exceeds 180 (179.5 to
    180.5 for Fiji).  Points spread over at most 180° of longitude never
    cross it this way, so their extent is the plain minimum and maximum.
    """
    minx, maxx = float(np.min(lon)), float(np.max(lon))
    miny, maxy = float(np.min(lat)), float(np.max(lat))
    if maxx - minx > 180.0:
        s = np.unique(((np.asarray(lon, dtype=float) + 180.0) % 360.0) - 180.0)
        gaps = np.diff(s)
        k = int(np.argmax(gaps)) if len(gaps) else 0
        if len(gaps) and gaps[k] > 360.0 - (s[-1] - s[0]):
            minx, maxx = float(s[k + 1]), float(s[k]) + 360.0
    return minx, miny, maxx, maxy


def _lonlat_bounds(
    obj: gpd.GeoDataFrame | gpd.GeoSeries | Sequence[float] | np.ndarray,
) -> tuple[float, float, float, float]:
    """The lon/lat extent (see :func:`_lonlat_extent`) of geometries, from all
    their vertices in EPSG:4326, or of given bounds; across the antimeridian
    ``max_lon`` exceeds 180."""
    if isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if obj.crs is None:
            raise DataValidationError(
                "units",
                "geometry",
                "the geometry has no CRS, so its extent in lon/lat cannot be known",
                fix="set it with gdf.set_crs('EPSG:4326') (lon/lat) or the CRS the "
                "coordinates are in",
            )
        import shapely

        geom = obj.geometry if isinstance(obj, gpd.GeoDataFrame) else obj
        _check_crs(geom)
        if obj.crs.equals(pyproj.CRS("EPSG:4326")):
            minx, miny, maxx, maxy = geom.total_bounds
            if maxx - minx <= 180.0:
                return float(minx), float(miny), float(maxx), float(maxy)
            xy = shapely.get_coordinates(geom.to_numpy())
            lon, lat = xy[:, 0], xy[:, 1]
        else:
            # every vertex, not the box of the box: a CRS's own box seen in
            # lon/lat is wider than the data, so the data in another CRS
            # would get another extent (and another metric CRS)
            xy = shapely.get_coordinates(geom.to_numpy())
            tr = pyproj.Transformer.from_crs(obj.crs, "EPSG:4326", always_xy=True)
            lon, lat = (np.asarray(v, dtype=float) for v in tr.transform(*xy.T))
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any():
            raise DataValidationError(
                "units",
                "geometry",
                f"no coordinate can be placed in lon/lat from {obj.crs.to_string()}"
                " (missing geometries, or coordinates outside the CRS's reach)",
                fix="check that the CRS is the one the coordinates are in",
            )
        return _lonlat_extent(lon[ok], lat[ok])
    b = np.asarray(obj, dtype=float).ravel()
    if b.shape != (4,):
        raise ValueError(
            f"bounds must be (min_lon, min_lat, max_lon, max_lat), got {b.size} numbers"
        )
    minx, miny, maxx, maxy = (float(v) for v in b)
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError(
            f"bounds {tuple(b)} are not lon/lat degrees ordered as (min_lon, "
            "min_lat, max_lon, max_lat); pass a GeoDataFrame for projected data"
        )
    if minx > maxx:  # across the antimeridian, as a GeoJSON bbox (RFC 7946)
        maxx += 360.0
    return minx, miny, maxx, maxy


def _check_degrees(geom: gpd.GeoSeries, table: str = "units") -> None:
    """Refuse geometries in a geographic CRS (EPSG:4326...) whose vertices
    are not degrees: metres labelled lon/lat (a wrong or missing ``.prj``)
    met a bare ``pyproj`` error when the metric CRS was fitted to them, or a
    call to geocode rows that have coordinates.  Names the rows; the wording
    is that of the Study's check of the CRS.

    Longitudes in the 0-360 convention (degrees east of Greenwich, common
    for Pacific data: Fiji at 177 to 182) are degrees, not metres: they are
    told so, with the formula that wraps them into [-180, 180]."""
    import shapely

    crs = geom.crs
    if crs is None or not crs.is_geographic:
        return
    minx, miny, maxx, maxy = geom.total_bounds
    if not (max(abs(minx), abs(maxx)) > 180.0 or max(abs(miny), abs(maxy)) > 90.0):
        return
    xy, row = shapely.get_coordinates(geom.to_numpy(), return_index=True)
    if minx >= -180.0 and maxx <= 360.0 and max(abs(miny), abs(maxy)) <= 90.0:
        out = xy[:, 0] > 180.0
        problem = (
            "they look like longitudes in the 0-360 convention (degrees east of "
            "Greenwich), while a geographic CRS takes them in [-180, 180]"
        )
        fix = (
            "wrap the longitudes into [-180, 180] with ((x + 180) % 360) - 180, "
            "e.g. gdf.set_geometry(shapely.transform(gdf.geometry.values, lambda "
            "xy: np.c_[(xy[:, 0] + 180) % 360 - 180, xy[:, 1]]), crs=gdf.crs); "
            "terrakit handles units on both sides of the antimeridian (a polygon "
            "crossing it must be split there)"
        )
    else:
        out = (np.abs(xy[:, 0]) > 180.0) | (np.abs(xy[:, 1]) > 90.0)
        problem = "they look projected (metres), so the CRS does not match the data"
        fix = (
            "set the CRS the coordinates are in with gdf.set_crs(..., "
            "allow_override=True) (a wrong or missing .prj file is the usual cause)"
        )
    bad = np.zeros(len(geom), dtype=bool)
    bad[row[out]] = True
    x, y = xy[out][0]
    raise DataValidationError(
        table,
        "geometry",
        f"the CRS is geographic ({crs.to_string()}) but {int(bad.sum())} of "
        f"{len(geom)} units have coordinates outside [-180, 180] × [-90, 90] "
        f"(e.g. x={x:.6g}, y={y:.6g}): {problem}",
        rows=list(geom.index[bad]),
        n_bad=int(bad.sum()),
        fix=fix,
    )


def _check_crs(geom: gpd.GeoSeries, table: str = "units") -> None:
    """Refuse a CRS that does not match the coordinates, either way, before
    anything is measured in metres: metres labelled lon/lat
    (:func:`_check_degrees`, naming the rows), and lon/lat degrees labelled
    with a projected CRS (a wrong ``.prj``, ``set_crs(3857,
    allow_override=True)``), which as metres would all lie within 180 m of
    the CRS's origin: every snap distance would join every unit, every
    distance would be 1e5 times too small.  The latter is the Study's own
    check (:func:`terrakit.data.validation._check_crs_extent`), so the
    message is the Study's."""
    crs = geom.crs
    if crs is None:
        return
    if crs.is_geographic:
        _check_degrees(geom, table)
    elif crs.is_projected:
        _check_crs_extent(geom.to_frame(), table)


def projected_crs(
    obj: gpd.GeoDataFrame | gpd.GeoSeries | Sequence[float] | np.ndarray,
) -> pyproj.CRS:
    """The metric CRS (metres) of the lon/lat extent of ``obj``.

    Every planar computation of terrakit (representative points, Voronoi
    neighbours of point units, snapping, joins to point units, planar
    distances, metrics) is made in this one CRS, chosen from where the
    units are on the Earth and not from the CRS they are stored in: the
    same units in EPSG:4326, in a UTM zone or in NAD83 / Conus Albers give
    the same CRS, hence the same points, graphs and designs.

    Parameters
    ----------
    obj
        A GeoDataFrame/GeoSeries with a CRS (any CRS: its vertices are
        taken to lon/lat), or lon/lat bounds ``(min_lon, min_lat, max_lon,
        max_lat)``, where ``min_lon > max_lon`` means across the
        antimeridian (as a GeoJSON bbox).

    Returns
    -------
    pyproj.CRS
        * extent at most 6° of longitude by 8° of latitude: the WGS84 UTM zone
          of its centre (scale error below ~0.1 % inside the zone);
        * wider extents (e.g. the whole US): an Albers equal-area conic fitted
          to the extent, centred on it, standard parallels at 1/6 and 5/6 of
          its latitude range (the classic rule of thumb; areas exact,
          distances within a few percent over a continent);
        * extents wider than 180° of longitude lying poleward of 45°: the
          polar Lambert azimuthal equal-area projection (EPSG:6931 north,
          EPSG:6932 south);
        * other extents wider than 180° of longitude: the global Lambert
          cylindrical equal-area projection (EPSG:6933; centred on the
          extent when it crosses the antimeridian);
        * other extents (nearly) symmetric about the equator (Kenya,
          Borneo), where the cone degenerates: the Lambert cylindrical
          equal-area projection centred on the extent, true to scale at the
          parallels the cone would have (1/6 and 5/6 of the latitude range;
          scale error about 0.2 % for Kenya).

    Notes
    -----
    The extent is that of the geometries' vertices in lon/lat.  Units
    crossing the antimeridian (Fiji, the Aleutians) are recognised: when
    their longitudes leave a wider gap elsewhere than at ±180°, the extent
    is the narrower arc across the antimeridian and the CRS is centred on
    it (a UTM zone 1 or 60 for Fiji).  Lon/lat input (EPSG:4326) not
    crossing it gets exactly the CRS of earlier versions; data stored in a
    projected CRS no longer keeps that CRS, so it agrees with its lon/lat
    equivalent.

    Examples
    --------
    >>> projected_crs((-84.5, 33.5, -84.0, 34.0)).to_epsg()  # Atlanta
    32616
    >>> projected_crs((-125, 24, -66, 50)).coordinate_operation.method_name
    'Albers Equal Area'
    >>> projected_crs((179.5, -17.0, -179.5, -16.5)).to_epsg()  # Fiji
    32701
    """
    return _crs_for_extent(*_lonlat_bounds(obj))


def _crs_for_extent(minx: float, miny: float, maxx: float, maxy: float) -> pyproj.CRS:
    """:func:`projected_crs` of an extent (``maxx > 180``: across ±180°)."""
    lon0, lat0 = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    wrapped = maxx > 180.0
    if wrapped:
        lon0 = ((lon0 + 180.0) % 360.0) - 180.0
    if (
        (maxx - minx) <= _UTM_MAX_LON_SPAN
        and (maxy - miny) <= _UTM_MAX_LAT_SPAN
        and (-80.0 <= lat0 <= 84.0)
    ):
        zone = int(np.floor((lon0 + 180.0) / 6.0)) % 60 + 1
        return pyproj.CRS.from_epsg((32600 if lat0 >= 0 else 32700) + zone)
    if (maxx - minx) > 180.0 and (miny >= _POLAR_MIN_LAT or maxy <= -_POLAR_MIN_LAT):
        return pyproj.CRS.from_epsg(6931 if miny >= _POLAR_MIN_LAT else 6932)
    span = maxy - miny
    lat1, lat2 = miny + span / 6.0, maxy - span / 6.0
    if (maxx - minx) > 180.0:
        if not wrapped:
            return pyproj.CRS.from_epsg(6933)
        return pyproj.CRS.from_proj4(
            f"+proj=cea +lat_ts=30 +lon_0={lon0:.4f} +x_0=0 +y_0=0 +datum=WGS84 "
            "+units=m +no_defs"
        )
    if abs(lat1 + lat2) < 2.0:
        # the fitted cone below with standard parallels (nearly) symmetric
        # about the equator is a cylinder: the equal-area one true to scale
        # at those parallels (the global EPSG:6933, true at ±30°, put metres
        # 13 % short east-west and 15 % long north-south at the equator)
        return pyproj.CRS.from_proj4(
            f"+proj=cea +lat_ts={(lat2 - lat1) / 2.0:.4f} +lon_0={lon0:.4f} "
            "+x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
        )
    return pyproj.CRS.from_proj4(
        f"+proj=aea +lat_0={lat0:.4f} +lon_0={lon0:.4f} +lat_1={lat1:.4f} "
        f"+lat_2={lat2:.4f} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    )


# -- points --------------------------------------------------------------------
def lonlat(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """Representative lon/lat (degrees, WGS84) of every geometry.

    Points are returned as they are (reprojected to lon/lat).  For polygons
    the point is :meth:`~geopandas.GeoSeries.representative_point` computed in
    :func:`projected_crs` — guaranteed inside the polygon, unlike the centroid
    of a crescent-shaped county, and equal to the centre for a rectangle.
    That CRS is chosen from the units' lon/lat extent, not from the CRS they
    are stored in (GEOS's representative point depends on the planar
    orientation of the shape), so the same polygons in EPSG:4326, a UTM zone
    or EPSG:5070 give the same points, to well under a metre.

    Parameters
    ----------
    gdf
        Units with a CRS.

    Returns
    -------
    lon, lat : numpy.ndarray
        Two float arrays in the order of ``gdf``.

    Raises
    ------
    DataValidationError
        If ``gdf`` has no CRS, missing or empty geometries, NaN or infinite
        coordinates, points that fall outside lon/lat once reprojected
        (coordinates outside the CRS's reach), or a CRS that does not match
        the coordinates (metres labelled lon/lat; lon/lat degrees labelled
        with a projected CRS, refused as the Study refuses them).
    """
    geom = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    if geom.crs is None:
        raise DataValidationError(
            "units",
            "geometry",
            "the geometry has no CRS",
            fix="set it with gdf.set_crs('EPSG:4326') (lon/lat) or the CRS the "
            "coordinates are in",
        )
    check_geometries(geom, "units")
    _check_crs(geom)
    if not (geom.geom_type == "Point").all():
        geom = geom.to_crs(projected_crs(geom)).representative_point()
    pts = geom.to_crs("EPSG:4326")
    lon, lat = pts.x.to_numpy(dtype=float), pts.y.to_numpy(dtype=float)
    _check_lonlat_values(lon, lat, geom.index, "units", ("geometry", "geometry"))
    return lon, lat


def _check_lonlat_values(
    lon: np.ndarray,
    lat: np.ndarray,
    labels: pd.Index | None,
    table: str,
    columns: tuple[str, str],
) -> None:
    """:func:`~terrakit.data.validation.check_lonlat_values` with the points'
    labels, or ``row i`` when they have none."""
    rows = (
        pd.Index([f"row {i}" for i in range(len(lon))])
        if labels is None
        else pd.Index(labels)
    )
    check_lonlat_values(lon, lat, table, columns, rows)


def _points(obj: PointsLike) -> tuple[pd.Index | None, np.ndarray, np.ndarray]:
    """``(ids, lon, lat)`` of a GeoDataFrame, lon/lat DataFrame or (n, 2) array."""
    if isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries)):
        lon, lat = lonlat(obj)
        return obj.index, lon, lat
    if isinstance(obj, pd.DataFrame):
        for cx, cy in (
            ("lon", "lat"),
            ("home_lon", "home_lat"),
            ("longitude", "latitude"),
            ("x", "y"),
        ):
            if cx in obj.columns and cy in obj.columns:
                lon = _numbers(obj[cx], cx)
                lat = _numbers(obj[cy], cy)
                _check_lonlat_values(lon, lat, obj.index, "points", (cx, cy))
                return obj.index, lon, lat
        raise DataValidationError(
            "points",
            None,
            f"no lon/lat columns (columns seen: {list(obj.columns)[:12]})",
            fix="name the coordinate columns 'lon' and 'lat' (or home_lon/home_lat)",
        )
    arr = np.asarray(obj, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(
            f"points must be an (n, 2) array of lon/lat, got shape {arr.shape}; "
            "a GeoDataFrame or a DataFrame with lon/lat columns also works"
        )
    lon, lat = arr[:, 0].copy(), arr[:, 1].copy()
    _check_lonlat_values(lon, lat, None, "points", ("lon (column 0)", "lat (column 1)"))
    return None, lon, lat


def _numbers(col: pd.Series, name: str) -> np.ndarray:
    """A coordinate column as floats; text that is not a number is named."""
    conv = pd.to_numeric(col, errors="coerce")
    bad = conv.isna().to_numpy() & col.notna().to_numpy()
    if bad.any():
        raise DataValidationError(
            "points",
            name,
            f"{int(bad.sum())} coordinates are not numbers (e.g. {col[bad].iloc[0]!r})",
            rows=list(col.index[bad]),
            n_bad=int(bad.sum()),
            fix="remove text from the coordinate column (degrees as plain numbers)",
        )
    return conv.to_numpy(dtype=float, na_value=np.nan)


# -- distances -----------------------------------------------------------------
def haversine_matrix(
    lon1: np.ndarray | Sequence[float],
    lat1: np.ndarray | Sequence[float],
    lon2: np.ndarray | Sequence[float] | None = None,
    lat2: np.ndarray | Sequence[float] | None = None,
) -> np.ndarray:
    """Great-circle distances in km between two sets of lon/lat points.

    Parameters
    ----------
    lon1, lat1
        Origins, degrees (length ``n``).
    lon2, lat2
        Destinations, degrees (length ``m``); default: the origins.

    Returns
    -------
    numpy.ndarray
        ``(n, m)`` float64 matrix of kilometres.

    Raises
    ------
    DataValidationError
        If a coordinate is NaN or infinite, or outside [-180, 180] ×
        [-90, 90] (lat and lon swapped, metres), naming the rows
        (``row i``) and the argument.

    Notes
    -----
    Haversine formula on a sphere of radius :data:`EARTH_RADIUS_KM`:
    :math:`d = 2R \\arcsin\\sqrt{\\sin^2\\frac{\\Delta\\varphi}{2} +
    \\cos\\varphi_1\\cos\\varphi_2\\sin^2\\frac{\\Delta\\lambda}{2}}`.
    Against the WGS84 ellipsoid the error is within about 0.6 % (+0.56 % for
    north-south distances at the equator, -0.45 % near the poles).

    Memory is O(n·m): the result alone takes ``8·n·m`` bytes (10,000 ×
    10,000 points = 800 MB).  Temporaries are bounded by computing blocks of
    rows.  For large problems use sparse neighbourhoods (:func:`adjacency`)
    or candidate lists instead of full matrices.

    Examples
    --------
    >>> d = haversine_matrix([-84.388], [33.749], [-80.843], [35.227])  # ATL-CLT
    >>> round(float(d[0, 0]))
    364
    """
    lon_a = np.asarray(lon1, dtype=float).ravel()
    lat_a = np.asarray(lat1, dtype=float).ravel()
    if (lon2 is None) != (lat2 is None):
        raise ValueError("give both lon2 and lat2, or neither")
    if lon2 is None or lat2 is None:
        lon_b, lat_b = lon_a, lat_a
        pairs = [(lon_a, lat_a, ("lon1", "lat1"))]
    else:
        lon_b = np.asarray(lon2, dtype=float).ravel()
        lat_b = np.asarray(lat2, dtype=float).ravel()
        pairs = [(lon_a, lat_a, ("lon1", "lat1")), (lon_b, lat_b, ("lon2", "lat2"))]
    if lon_a.shape != lat_a.shape or lon_b.shape != lat_b.shape:
        raise ValueError(
            f"lon and lat differ in length: {lon_a.size} vs {lat_a.size} origins, "
            f"{lon_b.size} vs {lat_b.size} destinations"
        )
    for lon, lat, names in pairs:
        # NaN fails these comparisons too; the rows are named only then
        if not ((np.abs(lon) <= 180.0).all() and (np.abs(lat) <= 90.0).all()):
            _check_lonlat_values(lon, lat, None, "points", names)
    lo1, la1 = np.radians(lon_a), np.radians(lat_a)
    lo2, la2 = np.radians(lon_b), np.radians(lat_b)
    n, m = lo1.size, lo2.size
    out = np.empty((n, m), dtype=float)
    # sin((a - b)/2) = sin(a/2)cos(b/2) - cos(a/2)sin(b/2): the sines and cosines
    # are taken once per point, not once per pair (2.5x faster, same digits to
    # about 1e-12 km)
    sa1, ca1, sa2, ca2 = (
        np.sin(la1 / 2),
        np.cos(la1 / 2),
        np.sin(la2 / 2),
        np.cos(la2 / 2),
    )
    so1, co1, so2, co2 = (
        np.sin(lo1 / 2),
        np.cos(lo1 / 2),
        np.sin(lo2 / 2),
        np.cos(lo2 / 2),
    )
    cos1, cos2 = np.cos(la1), np.cos(la2)
    step = max(1, _BLOCK_CELLS // max(m, 1))
    for start in range(0, n, step):
        sl = slice(start, min(start + step, n))
        h = np.multiply.outer(sa1[sl], ca2)
        h -= np.multiply.outer(ca1[sl], sa2)
        h *= h
        dlon = np.multiply.outer(so1[sl], co2)
        dlon -= np.multiply.outer(co1[sl], so2)
        dlon *= dlon
        dlon *= np.multiply.outer(cos1[sl], cos2)
        h += dlon
        np.clip(h, 0.0, 1.0, out=h)
        np.sqrt(h, out=h)
        np.arcsin(h, out=h)
        h *= 2.0 * EARTH_RADIUS_KM
        out[sl] = h
    return out


def _euclidean_km(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    # the extent of both sets, across the antimeridian when they straddle it
    crs = _crs_for_extent(
        *_lonlat_extent(np.concatenate([lon1, lon2]), np.concatenate([lat1, lat2]))
    )
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x1, y1 = tr.transform(lon1, lat1)
    x2, y2 = tr.transform(lon2, lat2)
    dx = np.asarray(x1)[:, None] - np.asarray(x2)[None, :]
    dy = np.asarray(y1)[:, None] - np.asarray(y2)[None, :]
    return np.hypot(dx, dy) / 1000.0


@dataclass(frozen=True)
class TravelTimeModel:
    """Travel minutes from distance, or looked up in an external matrix.

    Parameters
    ----------
    circuity
        Road distance / great-circle distance.  Road networks are typically
        1.2–1.4 times longer than the straight line (about 1.2 in dense grids,
        1.4 and more in hilly or water-cut regions); 1.3 is a common
        planning value.
    speed_kmh
        Average door-to-door speed on the road distance.  60 km/h mixes
        highway and local driving; use 30–40 for urban territories.
    stop_minutes
        Fixed overhead per trip (parking, walking in), added to every
        origin–destination pair except a point to itself.
    table
        An external minutes matrix (index: origin ids, columns: destination
        ids); build with :meth:`from_matrix`.  When given, :meth:`matrix`
        looks ids up in it instead of computing from distance.

    Notes
    -----
    Without a table: ``minutes = km × circuity / speed_kmh × 60 +
    stop_minutes`` with ``km`` the great-circle distance.

    Examples
    --------
    >>> TravelTimeModel().minutes(100.0)
    130.0
    """

    circuity: float = 1.3
    speed_kmh: float = 60.0
    stop_minutes: float = 0.0
    table: pd.DataFrame | None = field(
        default=None, compare=False, hash=False, repr=False
    )

    def __post_init__(self) -> None:
        default = {f.name: f.default for f in fields(self)}
        for name in ("circuity", "speed_kmh", "stop_minutes"):
            raw = getattr(self, name)
            # True is no speed (it read as 1 km/h); None, text and lists met a
            # bare float() error naming no parameter
            v = math.nan if isinstance(raw, bool | np.bool_) else as_number(raw)
            if not math.isfinite(v):
                raise ValueError(
                    f"{name} must be a finite number, got {raw!r}; give it as a "
                    f"plain number, e.g. TravelTimeModel({name}="
                    f"{default[name]:g})"
                )
            object.__setattr__(self, name, v)
        if self.circuity < 1.0:
            raise ValueError(
                f"circuity must be at least 1 (roads are never shorter than the "
                f"straight line), got {self.circuity:g}"
            )
        if self.speed_kmh <= 0:
            raise ValueError(f"speed_kmh must be positive, got {self.speed_kmh:g}")
        if self.stop_minutes < 0:
            raise ValueError(f"stop_minutes must be >= 0, got {self.stop_minutes:g}")
        if self.table is not None:
            object.__setattr__(self, "table", _check_table(self.table))

    @classmethod
    def from_matrix(
        cls,
        matrix: pd.DataFrame | np.ndarray,
        ids: Sequence[Hashable] | pd.Index | None = None,
        *,
        stop_minutes: float = 0.0,
    ) -> TravelTimeModel:
        """A model that looks minutes up in an external matrix.

        Parameters
        ----------
        matrix
            Minutes, e.g. the ``durations`` of an OSRM ``table`` call (convert
            seconds to minutes first).  A DataFrame indexed by origin ids with
            destination ids as columns, or a square array.
        ids
            The ids of the rows/columns of an array (required for arrays;
            overrides both index and columns of a square DataFrame).
        stop_minutes
            Overhead added to every pair except a point to itself.

        Raises
        ------
        DataValidationError
            When the matrix has NaN or negative minutes, duplicated ids, or
            ``ids`` of the wrong length.
        """
        if isinstance(matrix, pd.DataFrame):
            df = matrix.copy()
            if ids is not None:
                if df.shape[0] != df.shape[1] or len(ids) != df.shape[0]:
                    raise DataValidationError(
                        "travel_matrix",
                        None,
                        f"ids has {len(ids)} entries but the matrix is "
                        f"{df.shape[0]}×{df.shape[1]}",
                        fix="pass one id per row of a square matrix, or label the "
                        "DataFrame's index and columns and omit ids",
                    )
                df.index = pd.Index(ids)
                df.columns = pd.Index(ids)
        else:
            arr = np.asarray(matrix, dtype=float)
            if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
                raise DataValidationError(
                    "travel_matrix",
                    None,
                    f"an array matrix must be square, got shape {arr.shape}",
                    fix="pass a DataFrame (origins × destinations) for rectangular "
                    "matrices",
                )
            if ids is None or len(ids) != arr.shape[0]:
                raise DataValidationError(
                    "travel_matrix",
                    None,
                    f"an array needs one id per row: {arr.shape[0]} rows, "
                    f"{0 if ids is None else len(ids)} ids",
                    fix="pass ids=[...] in the order of the matrix rows",
                )
            df = pd.DataFrame(arr, index=pd.Index(ids), columns=pd.Index(ids))
        return cls(stop_minutes=stop_minutes, table=df)

    def record(self) -> str | dict[str, Any]:
        """This model for a provenance: a formula model's ``repr`` (its
        parameters); for a table model (whose table the ``repr`` leaves out)
        ``kind``, ``shape``, ``sha256`` of the table and ``stop_minutes``, so
        that two tables give two records."""
        if self.table is None:
            return repr(self)
        from terrakit.data.alignment import frame_sha256

        return {
            "kind": "table",
            "shape": [int(s) for s in self.table.shape],
            "sha256": frame_sha256(self.table),
            "stop_minutes": float(self.stop_minutes),
        }

    def minutes(self, km: np.ndarray | float) -> Any:
        """Minutes for great-circle kilometres (ignores any external table).

        A float for a number, an array for an array.  Every trip is charged
        ``stop_minutes``, 0 km included (a distance does not say whether
        the two ends are one point); :meth:`matrix` knows the points and
        leaves the stop off a point to itself.
        """
        out = (
            np.asarray(km, dtype=float) * self.circuity / self.speed_kmh * 60.0
            + self.stop_minutes
        )
        return float(out) if out.ndim == 0 else out

    def matrix(
        self, origins: PointsLike, destinations: PointsLike | None = None
    ) -> np.ndarray:
        """Travel minutes from every origin to every destination.

        Parameters
        ----------
        origins, destinations
            Without an external table: GeoDataFrames, DataFrames with lon/lat
            (or home_lon/home_lat) columns, or ``(n, 2)`` lon/lat arrays.
            With a table: the ids to look up — a sequence of ids (a list,
            an Index, or a Series such as ``stops["unit_id"]``, whose values
            are the ids), or a (Geo)DataFrame or GeoSeries whose index holds
            them.  ``destinations`` defaults to the origins.

        Returns
        -------
        numpy.ndarray
            ``(n, m)`` minutes.  O(n·m) memory, as :func:`haversine_matrix`.
            ``stop_minutes`` is added to every pair except a point to itself:
            identical lon/lat, or with a table the same id as origin and
            destination (an id names one place, whichever axis it is looked
            up on; give a unit and a rep different ids).  Whether
            ``destinations`` is omitted or repeats the origins, the answer is
            the same.

        Raises
        ------
        DataValidationError
            If an id is missing from the external table (the ids are named),
            or a coordinate is NaN, infinite or not lon/lat degrees.
        """
        same = destinations is None
        if self.table is not None:
            o = _ids_of(origins)
            d = o if destinations is None else _ids_of(destinations)
            out = _lookup(self.table, o, d)
            if not self.stop_minutes:
                return out
            # ids name places: the same id on both sides is a place to itself
            itself = _same_ids(o, d)
        else:
            _, lon1, lat1 = _points(origins)
            if destinations is None:
                lon2, lat2 = lon1, lat1
            else:
                _, lon2, lat2 = _points(destinations)
            km = haversine_matrix(lon1, lat1, lon2, lat2)
            out = km * (self.circuity / self.speed_kmh * 60.0)
            if not self.stop_minutes:
                return out
            itself = (lon1[:, None] == lon2[None, :]) & (lat1[:, None] == lat2[None, :])
            if same:
                np.fill_diagonal(itself, True)
        return out + np.where(itself, 0.0, self.stop_minutes)


def _check_table(df: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError("table must be a DataFrame; use TravelTimeModel.from_matrix")
    for axis, idx in (("origin", df.index), ("destination", df.columns)):
        dup = idx[idx.duplicated()]
        if len(dup):
            raise DataValidationError(
                "travel_matrix",
                axis,
                f"{len(dup)} {axis} ids occur more than once",
                rows=list(dict.fromkeys(dup)),
                fix="give every row/column one id",
            )
    num = df.apply(pd.to_numeric, errors="coerce")
    text = num.isna().to_numpy() & df.notna().to_numpy()
    if text.any():
        r, c = np.nonzero(text)
        cols = list(dict.fromkeys(df.columns[c]))
        raise DataValidationError(
            "travel_matrix",
            str(cols[0]),
            f"{int(text.sum())} entries are not numbers (e.g. "
            f"{df.iat[r[0], c[0]]!r} from {df.index[r[0]]!r} to {df.columns[c[0]]!r}"
            f"; destination columns {cols[:5]})",
            rows=list(dict.fromkeys(df.index[r])),
            n_bad=len(set(r.tolist())),
            fix="give minutes as plain numbers (numpy.inf for unreachable pairs)",
        )
    vals = num.to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(vals) | (vals < 0)
    if bad.any():
        r = np.flatnonzero(bad.any(axis=1))
        raise DataValidationError(
            "travel_matrix",
            None,
            f"{int(bad.sum())} entries are missing (NaN) or negative",
            rows=list(df.index[r]),
            n_bad=len(r),
            fix="fill unreachable pairs with numpy.inf and check the units "
            "(minutes, not seconds)",
        )
    out = pd.DataFrame(vals, index=df.index.copy(), columns=df.columns.copy())
    return out


def _same_ids(o: pd.Index, d: pd.Index) -> np.ndarray:
    """``(len(o), len(d))`` booleans: origin id equals destination id, by the
    rule the table lookup uses (the text '1' is not the integer 1)."""
    codes, _ = pd.factorize(pd.Index(o).append(pd.Index(d)), use_na_sentinel=False)
    return codes[: len(o), None] == codes[None, len(o) :]


def _ids_of(obj: Any) -> pd.Index:
    """The ids to look up: the index of a table or of geometries, or the
    values of anything else (a list, an Index, a Series such as
    ``stops["unit_id"]``: its values, not its index, which was read and gave
    the minutes of other places)."""
    if isinstance(obj, (pd.DataFrame, gpd.GeoSeries)):
        return obj.index
    if isinstance(obj, pd.Series):
        return pd.Index(obj.to_numpy())
    if isinstance(obj, np.ndarray) and obj.ndim == 2:
        raise DataValidationError(
            "travel_matrix",
            None,
            "this model looks minutes up by id, but coordinates were given",
            fix="pass ids (or a table indexed by id) to a model built with "
            "TravelTimeModel.from_matrix",
        )
    return pd.Index(list(obj))


def _lookup(table: pd.DataFrame, o: pd.Index, d: pd.Index) -> np.ndarray:
    ri = table.index.get_indexer(o)
    ci = table.columns.get_indexer(d)
    for axis, pos, ids in (("origin", ri, o), ("destination", ci, d)):
        miss = ids[pos < 0]
        if len(miss):
            uniq = list(dict.fromkeys(miss))
            raise DataValidationError(
                "travel_matrix",
                axis,
                f"{len(uniq)} {axis} ids are not in the external travel-time matrix "
                f"({table.shape[0]}×{table.shape[1]})",
                rows=uniq,
                n_bad=len(uniq),
                fix="add them to the matrix (e.g. request them from OSRM) or check "
                "the id type: '13121' is not 13121",
            )
    return table.to_numpy()[np.ix_(ri, ci)].astype(float, copy=True)


def distance_matrix(
    a: PointsLike,
    b: PointsLike | None = None,
    metric: Literal["great_circle", "euclidean", "travel"] = "great_circle",
    model: TravelTimeModel | None = None,
) -> np.ndarray:
    """Distances (km) or travel times (minutes) between two sets of points.

    Parameters
    ----------
    a, b
        GeoDataFrames (representative points, see :func:`lonlat`),
        DataFrames with lon/lat columns, or ``(n, 2)`` lon/lat arrays;
        ``b`` defaults to ``a``.  For ``metric="travel"`` with a table model,
        ids (see :meth:`TravelTimeModel.matrix`).
    metric
        ``"great_circle"`` (km, :func:`haversine_matrix`), ``"euclidean"``
        (km in the :func:`projected_crs` of both sets' lon/lat extent,
        whatever CRS they are stored in; centred across the antimeridian
        when they straddle it) or ``"travel"`` (minutes from ``model``,
        default :class:`TravelTimeModel` ()).
    model
        The travel-time model for ``metric="travel"``.

    Returns
    -------
    numpy.ndarray
        ``(len(a), len(b))``; O(n·m) memory.
    """
    if metric == "travel":
        return (model or TravelTimeModel()).matrix(a, b)
    if model is not None:
        raise ValueError(f"model= is only used with metric='travel', not {metric!r}")
    _, lon1, lat1 = _points(a)
    if b is None:
        lon2, lat2 = lon1, lat1
    else:
        _, lon2, lat2 = _points(b)
    if metric == "great_circle":
        return haversine_matrix(lon1, lat1, lon2, lat2)
    if metric == "euclidean":
        return _euclidean_km(lon1, lat1, lon2, lat2)
    raise ValueError(
        f"unknown metric {metric!r}; choose 'great_circle', 'euclidean' or 'travel'"
    )


# -- adjacency -----------------------------------------------------------------
def check_edge_weights(matrix: sp.sparray | np.ndarray) -> None:
    """Refuse an adjacency matrix that does not hold finite numbers: every
    non-zero entry is an edge (``m != 0``), so a NaN or infinite one would
    count as an edge in silence.  Raises ValueError naming the dtype, or how
    many entries are not finite and the first of them."""
    m = matrix if sp.issparse(matrix) else sp.coo_array(matrix)
    if m.dtype.kind not in "biuf":
        raise ValueError(
            "the adjacency matrix must hold numbers (0/1 or weights), got "
            f"dtype {m.dtype}"
        )
    if np.isfinite(m.data).all():  # the stored entries, no copy
        return
    m = sp.coo_array(m)  # the first bad entry's row and column
    bad = ~np.isfinite(m.data)
    if bad.any():
        i, j = int(m.row[bad][0]), int(m.col[bad][0])
        raise ValueError(
            f"the adjacency matrix must be finite: {int(bad.sum())} entries are "
            f"NaN or infinite (e.g. [{i}, {j}] is {m.data[bad][0].item()}); every "
            "non-zero entry is an edge, so write 1 (or any finite weight) where "
            "two nodes are neighbours and 0 where they are not"
        )


@dataclass(frozen=True, eq=False)
class Adjacency:
    """Which units touch: an undirected graph over unit ids.

    Parameters
    ----------
    ids
        Unit ids, one per node, in matrix order.
    matrix
        Symmetric 0/1 ``scipy.sparse.csr_array`` (n × n), no self-loops.
    kind
        How it was built (``"queen"``, ``"rook"``, ``"voronoi-rook"``...).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> m = sp.csr_array(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]))
    >>> adj = Adjacency(pd.Index(["a", "b", "c"]), m, kind="manual")
    >>> adj.islands, adj.components
    (['c'], [['a', 'b'], ['c']])
    >>> adj.edges()
    [('a', 'b')]
    """

    ids: pd.Index
    matrix: sp.csr_array
    kind: str = "queen"

    def __post_init__(self) -> None:
        ids = pd.Index(self.ids).copy()
        ids.name = "unit_id"
        if ids.has_duplicates:
            raise DataValidationError(
                "units",
                "unit_id",
                "ids occur more than once in the adjacency",
                rows=list(dict.fromkeys(ids[ids.duplicated()])),
                fix="make unit ids unique",
            )
        w = sp.csr_array(self.matrix)
        n = len(ids)
        if w.shape != (n, n):
            raise ValueError(f"matrix is {w.shape} but there are {n} ids")
        check_edge_weights(w)
        # any non-zero weight is an edge: binarise before the cast, so that
        # weights (row-standardised 0.25, 0.5, 256...) keep their edges
        m = sp.csr_array(w != 0, dtype=np.int8)
        m.setdiag(0)
        m.eliminate_zeros()
        m.data[:] = 1
        one_way = sp.triu(abs(m - m.T), k=1).tocoo()
        if one_way.nnz:
            pairs = [
                (ids[i], ids[j]) if m[i, j] else (ids[j], ids[i])
                for i, j in zip(one_way.row.tolist(), one_way.col.tolist(), strict=True)
            ]
            shown = first_few([f"{a!r} → {b!r}" for a, b in pairs], 5, show=str)
            raise ValueError(
                "an adjacency matrix must be symmetric (if unit i neighbours j, "
                f"j neighbours i): in {len(pairs)} pair"
                f"{'s' if len(pairs) != 1 else ''} of units only one lists the "
                f"other as a neighbour (row → column: {shown}); make it symmetric "
                "(m = m.maximum(m.T))"
            )
        m.sort_indices()
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "matrix", m)
        object.__setattr__(self, "kind", str(self.kind))

    @property
    def n_units(self) -> int:
        return len(self.ids)

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return int(self.matrix.nnz // 2)

    def degrees(self) -> pd.Series:
        """Number of neighbours of every unit."""
        deg = np.diff(self.matrix.indptr)
        return pd.Series(deg.astype(np.int64), index=self.ids, name="neighbors")

    @property
    def neighbors(self) -> dict[Hashable, list[Hashable]]:
        """``unit_id → [neighbour ids]`` (a fresh dict each call)."""
        m, ids = self.matrix, self.ids
        return {
            ids[i]: ids[m.indices[m.indptr[i] : m.indptr[i + 1]]].tolist()
            for i in range(len(ids))
        }

    @property
    def islands(self) -> list[Hashable]:
        """Units without any neighbour."""
        return self.ids[np.diff(self.matrix.indptr) == 0].tolist()

    def component_labels(self) -> pd.Series:
        """Connected-component number of every unit (0, 1, ...)."""
        _, lab = connected_components(self.matrix, directed=False)
        return pd.Series(lab.astype(np.int64), index=self.ids, name="component")

    @property
    def n_components(self) -> int:
        return int(connected_components(self.matrix, directed=False)[0])

    @property
    def components(self) -> list[list[Hashable]]:
        """Connected components as id lists, largest first (ties: first unit)."""
        lab = self.component_labels().to_numpy()
        groups = (
            [self.ids[lab == k].tolist() for k in range(lab.max() + 1)]
            if len(lab)
            else []
        )
        return sorted(groups, key=lambda g: -len(g))

    def edges(self) -> list[tuple[Hashable, Hashable]]:
        """Each undirected edge once, as ``(id_i, id_j)`` with ``i`` before ``j``."""
        up = sp.triu(self.matrix, k=1, format="coo")
        order = np.lexsort((up.col, up.row))
        r, c = up.row[order], up.col[order]
        return list(zip(self.ids[r].tolist(), self.ids[c].tolist(), strict=True))

    def edge_hash(self) -> str:
        """A short sha256 of the unit ids and of the edges as unit-id pairs,
        both sorted: the same graph gives the same hash whatever the order of
        its units, two graphs with other edges (links, snapping) two hashes."""
        ids = "\x1f".join(sorted(str(i) for i in self.ids))
        pairs = sorted(
            (min(a, b), max(a, b))
            for a, b in ((str(i), str(j)) for i, j in self.edges())
        )
        edges = "\x1f".join(f"{a}\x1d{b}" for a, b in pairs)
        return hashlib.sha256(f"{ids}\x1e{edges}".encode()).hexdigest()[:16]

    def subgraph(self, ids: Iterable[Hashable]) -> Adjacency:
        """The graph restricted to ``ids`` (in the given order)."""
        sel = pd.Index(list(ids))
        pos = self.ids.get_indexer(sel)
        if (pos < 0).any():
            missing = sel[pos < 0]
            raise DataValidationError(
                "adjacency",
                "unit_id",
                f"{len(missing)} ids are not nodes of the adjacency",
                rows=list(missing),
                fix="build the adjacency on the same units",
            )
        return Adjacency(sel, self.matrix[pos][:, pos], kind=self.kind)

    def on_units(
        self,
        ids: Iterable[Hashable],
        *,
        name: str = "the units table",
        fix: str = "build the adjacency from the same units table "
        "(terrakit.data.geo.adjacency(units))",
    ) -> Adjacency:
        """The graph over exactly ``ids``, in their order.

        Unlike :meth:`subgraph`, the adjacency must hold no other unit: a graph
        built on another table (a unit more, a unit fewer, renamed ids) is refused,
        naming the ids on each side. ``name`` says what ``ids`` come from in the
        message (``"the study"``).

        Raises
        ------
        DataValidationError
            When ``ids`` and the adjacency's nodes differ.
        """
        sel = pd.Index(list(ids))
        extra = self.ids.difference(sel, sort=False)
        missing = sel.difference(self.ids, sort=False)
        if len(extra) or len(missing):

            def _some(ix: pd.Index) -> str:
                shown = ", ".join(map(repr, list(ix[:5])))
                return shown + (f" and {len(ix) - 5} more" if len(ix) > 5 else "")

            parts = []
            if len(extra):
                parts.append(
                    f"{len(extra)} of its units "
                    f"{'is' if len(extra) == 1 else 'are'} not in {name} "
                    f"({_some(extra)})"
                )
            if len(missing):
                parts.append(
                    f"{len(missing)} {'unit' if len(missing) == 1 else 'units'} of "
                    f"{name} {'is' if len(missing) == 1 else 'are'} not in it "
                    f"({_some(missing)})"
                )
            raise DataValidationError(
                "adjacency",
                "unit_id",
                f"the adjacency has {self.n_units} units, {name} {len(sel)}: "
                + "; ".join(parts),
                fix=fix,
            )
        if self.ids.equals(sel):
            return self
        return self.subgraph(sel)

    def with_links(self, pairs: Iterable[tuple[Hashable, Hashable]]) -> Adjacency:
        """A new graph with extra edges (e.g. ferry or bridge links to islands).

        ``pairs``: a list of ``(a, b)`` unit-id pairs, e.g.
        ``[("isle", "mainland")]`` (one pair too goes in a list).
        """
        pairs = list(pairs)
        if not pairs:
            return self
        odd = [
            p
            for p in pairs
            if isinstance(p, str | bytes)
            or not isinstance(p, Sequence | np.ndarray)
            or len(p) != 2
        ]
        if odd:
            raise DataValidationError(
                "adjacency",
                "unit_id",
                f"{len(odd)} of {len(pairs)} links are not (a, b) pairs of unit ids",
                rows=odd,
                fix="give a list of pairs: [(a, b)], e.g. "
                "with_links([('isle', 'mainland')]) for one link",
            )
        a = self.ids.get_indexer([p[0] for p in pairs])
        b = self.ids.get_indexer([p[1] for p in pairs])
        bad = [p for p, i, j in zip(pairs, a, b, strict=True) if i < 0 or j < 0]
        if bad:
            raise DataValidationError(
                "adjacency",
                "unit_id",
                f"{len(bad)} links name unknown units",
                rows=bad,
                fix="link only units of the adjacency",
            )
        n = self.n_units
        extra = sp.csr_array(
            (
                np.ones(2 * len(a), dtype=np.int8),
                (np.concatenate([a, b]), np.concatenate([b, a])),
            ),
            shape=(n, n),
        )
        return Adjacency(self.ids, self.matrix + extra, kind=self.kind + "+links")

    def to_frame(self) -> pd.DataFrame:
        """Edge list with columns ``unit_id``, ``neighbor_id`` (each edge once)."""
        e = self.edges()
        return (
            pd.DataFrame(e, columns=["unit_id", "neighbor_id"])
            if e
            else pd.DataFrame({"unit_id": [], "neighbor_id": []})
        )

    def summary(self) -> str:
        deg = np.diff(self.matrix.indptr)
        mean = float(deg.mean()) if len(deg) else 0.0
        return (
            f"Adjacency ({self.kind}): {self.n_units} units, {self.n_edges} edges, "
            f"mean degree {mean:.2f}, {self.n_components} components, "
            f"{len(self.islands)} islands"
        )

    def __repr__(self) -> str:
        return f"<{self.summary()}>"


def require_adjacency(
    obj: Any,
    *,
    what: str = "adjacency",
    over: str = "the units",
    build: str = "tk.data.geo.adjacency(units)",
    error: type[Exception] = SpecificationError,
    optional: bool = True,
) -> None:
    """Raise ``error`` unless ``obj`` is an :class:`Adjacency` (or ``None``,
    when ``optional``).

    The one wording of this refusal: the type that came, and how to build
    the graph (``build``) and link islands.  Callers choose the exception
    (``SpecificationError`` in the solvers, ``TypeError`` in the widgets).
    """
    if isinstance(obj, Adjacency) or (optional and obj is None):
        return
    got = "None" if obj is None else f"{type(obj).__module__}.{type(obj).__name__}"
    raise error(
        f"{what} must be a terrakit.data.geo.Adjacency over {over}, got {got}; "
        f"build it with {build} (add links to islands with "
        f".with_links([(a, b), ...])){' or leave it None' if optional else ''}"
    )


def adjacency(
    units: gpd.GeoDataFrame | gpd.GeoSeries,
    kind: Literal["queen", "rook"] = "queen",
    ids: str | Sequence[Hashable] | pd.Index | None = None,
    *,
    strict: bool = False,
    snap_m: float | None = None,
    warn: bool = True,
) -> Adjacency:
    """Neighbour graph of the units (queen or rook contiguity).

    Parameters
    ----------
    units
        Polygons (contiguity of shared boundaries) or points (contiguity of
        their Voronoi cells, computed in :func:`projected_crs`, so synthetic
        point instances get a planar graph too; links much longer than the
        local spacing are dropped, see Notes).
    kind
        ``"queen"``: units sharing at least a vertex are neighbours;
        ``"rook"``: they must share an edge.
    ids
        Node labels: ``None`` (the index), a column name, or one id per unit.
    strict
        Polygons only: use exact topological predicates (slower) instead of
        shared vertices; needed when neighbouring polygons do not share
        vertex coordinates exactly.
    snap_m
        Polygons only (with points it is ignored, with a
        :class:`~terrakit.exceptions.TerrakitWarning`): units whose polygons
        come within this many metres of
        each other are neighbours too (fuzzy contiguity, measured in
        :func:`projected_crs`).  For polygons digitised separately, e.g. two
        states' counties from different sources, whose shared border leaves
        slivers or small overlaps.  Polygons meeting at a corner are then
        neighbours too, as with ``kind="queen"``.
    warn
        Warn (:class:`~terrakit.exceptions.TerrakitWarning`) when some units
        have no neighbour, and for points when dropping long links split
        the units into more groups.

    Returns
    -------
    Adjacency

    Raises
    ------
    DataValidationError
        Duplicate ids, missing or empty geometries, NaN or infinite
        coordinates, units that are not all polygons or all points (a mix,
        lines, multipoints; the rows are named), coordinates outside
        [-180, 180] × [-90, 90] in a geographic CRS (metres labelled
        lon/lat), an invalid polygon with no area once repaired, or a
        missing CRS for points.  For points, or with ``snap_m`` (what is
        measured in metres), also lon/lat degrees labelled with a projected
        CRS; contiguity of shared borders needs no metres.

    Notes
    -----
    Invalid polygons (a self-intersecting ring, common in exported
    shapefiles) are repaired with ``make_valid`` first, as the Study does
    when it loads units; a collection it gives (a polygon and its spike)
    counts as its polygons.  Lon/lat polygons across the antimeridian (Fiji,
    the Aleutians) are neighbours where they meet on it: a unit ending at
    180° touches one starting at -180°.

    Built with :meth:`libpysal.graph.Graph.build_contiguity` (polygons) and
    :meth:`libpysal.graph.Graph.build_triangulation` with
    ``method="voronoi"`` (points; duplicated locations become cliques).
    Points all on one line, or at fewer than 3 locations, have no Voronoi
    cells to build: their locations are chained along the line (``kind``
    ``"chain"``), the points at one location again forming a clique linked
    to the location's neighbours.  Where libpysal cannot
    build the Voronoi cells (cocircular points, e.g. a ring of stations
    around a pole, can give more cells than points) the graph is the
    Delaunay triangulation (:class:`scipy.spatial.Delaunay`, ``kind``
    ``"delaunay"``).

    Long links between points are dropped: a link longer than 5 times the
    larger of its two ends' nearest-neighbour distances (measured in
    :func:`projected_crs`) crosses a stretch with no units in it, such as
    the Pacific between Honolulu and Los Angeles (a Voronoi cell at the
    edge of the points reaches the edge of the bounding box and meets the
    far cells there), a lake or a bay.  Between neighbouring points of an
    even spread the ratio stays below 3 (99 % of the links between the
    32,845 US ZCTA points are below 4.2); the factor 5 cuts Hawaii and
    Alaska off the mainland and leaves the mainland ZCTAs one connected
    graph, each of its 565 dropped links (0.6 %) having a path of kept
    links at most 3.5 times (median 1.2 times) its length.  A unit's link
    to its nearest neighbour is never dropped (its length is that unit's
    own spacing), so the rule leaves no unit without a neighbour: a lone
    far point stays linked to its nearest unit, while a group of points
    (Hawaii's) is cut off, with a warning naming the longest dropped link
    and the groups.  Link what is reachable with
    :meth:`Adjacency.with_links`.
    """
    from libpysal.graph import Graph

    if kind not in ("queen", "rook"):
        raise ValueError(f"kind must be 'queen' or 'rook', got {kind!r}")
    if snap_m is not None:
        snap = math.nan if isinstance(snap_m, bool) else as_number(snap_m)
        if not (math.isfinite(snap) and snap > 0):
            raise ValueError(
                f"snap_m must be a positive distance, got {snap_m!r}; give metres "
                "as a number (e.g. snap_m=500), or None for exact contiguity"
            )
    geom = units.geometry if isinstance(units, gpd.GeoDataFrame) else units
    if ids is None:
        labels = pd.Index(geom.index)
    elif isinstance(ids, str):
        if not isinstance(units, gpd.GeoDataFrame) or ids not in units.columns:
            raise DataValidationError(
                "units",
                ids,
                "the id column is missing",
                fix="pass the name of an existing column, or a list of ids",
            )
        labels = pd.Index(units[ids].to_numpy())
    else:
        labels = pd.Index(list(ids))
        if len(labels) != len(geom):
            raise ValueError(f"ids has {len(labels)} entries for {len(geom)} units")
    if labels.has_duplicates:
        raise DataValidationError(
            "units",
            "unit_id",
            "ids occur more than once",
            rows=list(dict.fromkeys(labels[labels.duplicated()])),
            fix="make unit ids unique before building the adjacency",
        )
    n = len(geom)
    # a missing or empty shape would be a silent island, a NaN vertex a
    # silent wrong edge (or a bare GEOS/libpysal error): refuse them
    check_geometries(geom, "units", labels)
    named = gpd.GeoSeries(geom.to_numpy(), index=labels, crs=geom.crs)
    # all polygons or all points, as the Study asks: a multipoint met a bare
    # libpysal error, a point among multipoints was called a polygon
    _check_geometry_kinds(named, "units")
    _check_degrees(named)
    is_points = n > 0 and bool((geom.geom_type == "Point").all())
    geo = gpd.GeoSeries(geom.to_numpy(), index=pd.RangeIndex(n), crs=geom.crs)
    if not is_points:
        geo = _valid_polygons(geo, labels)
    pg: _PointGraph | None = None
    if n < 2:
        m = sp.csr_array((n, n), dtype=np.int8)
        built: str = kind
    elif is_points:
        if snap_m is not None:
            warnings.warn(
                f"snap_m={snap_m!r} is ignored: it joins polygons that come "
                "within snap_m metres, and these units are points, whose "
                "neighbours come from their Voronoi cells; drop snap_m (or "
                "link units by hand with Adjacency.with_links)",
                TerrakitWarning,
                stacklevel=2,
            )
        pg = _point_graph(geo, rook=(kind == "rook"))
        m = pg.matrix
        # "delaunay", or "chain" for points on one line
        built = f"voronoi-{kind}" if pg.method == "voronoi" else pg.method
    else:
        g = Graph.build_contiguity(
            _unwrapped(geo), rook=(kind == "rook"), strict=strict
        )
        m = _graph_matrix(g, n)
        built = kind
        if snap_m is not None:
            metric = geo.to_crs(projected_crs(geo))
            fuzzy = Graph.build_fuzzy_contiguity(metric, buffer=float(snap_m) / 2)
            m = sp.csr_array(((m + _graph_matrix(fuzzy, n)) > 0).astype(np.int8))
            built = f"{kind}+snap{float(snap_m):g}m"
    adj = Adjacency(labels, m, kind=built)
    if warn and pg is not None and pg.dropped:
        _warn_long_links(adj, pg)
    if warn:
        isl = adj.islands
        if isl:
            shown = ", ".join(repr(i) for i in isl[:5])
            more = f" and {len(isl) - 5} more" if len(isl) > 5 else ""
            warnings.warn(
                f"{len(isl)} of {n} units have no {kind} neighbour (islands): "
                f"{shown}{more}. Each forms its own component, so no contiguous "
                "territory can hold it with other units; add links with "
                "Adjacency.with_links([(island, mainland_unit), ...]) if they are "
                "reachable (ferries, bridges).",
                TerrakitWarning,
                stacklevel=2,
            )
    return adj


def _unwrapped(geo: gpd.GeoSeries) -> gpd.GeoSeries:
    """Polygons in a geographic CRS whose extent crosses the antimeridian
    (see :func:`_lonlat_extent`), with the longitudes west of it shifted by
    360° (Fiji's -179.5 becomes 180.5), so that units meeting on the ±180°
    meridian share their border there; other polygons as they are."""
    import shapely

    if geo.crs is None or not geo.crs.is_geographic:
        return geo
    minx, _, maxx, _ = geo.total_bounds
    if maxx - minx <= 180.0:
        return geo
    arr = geo.to_numpy()
    xy = shapely.get_coordinates(arr)
    west, _, east, _ = _lonlat_extent(xy[:, 0], xy[:, 1])
    if east <= 180.0:
        return geo

    def shift(c: np.ndarray) -> np.ndarray:
        c = c.copy()
        c[c[:, 0] < west, 0] += 360.0
        return c

    return gpd.GeoSeries(shapely.transform(arr, shift), index=geo.index, crs=geo.crs)


def _valid_polygons(geo: gpd.GeoSeries, labels: pd.Index) -> gpd.GeoSeries:
    """Polygons libpysal can join: invalid ones (a self-intersecting ring,
    common in exported shapefiles) repaired with ``make_valid``, as the
    Study and the metrics do, and collections (what ``make_valid`` may give:
    a polygon and its spike) reduced to their polygons.

    Unrepaired, a bowtie lost its real neighbours with ``strict=True``, and
    a collection met a bare libpysal error.  A unit left without any area
    (a polygon collapsed to a line) is refused, naming the rows.
    """
    import shapely

    arr = geo.to_numpy().copy()
    invalid = ~shapely.is_valid(arr)
    if invalid.any():
        arr[invalid] = shapely.make_valid(arr[invalid])
    for i in np.flatnonzero(shapely.get_type_id(arr) == 7):  # collections
        parts = shapely.get_parts(shapely.get_parts(arr[i]))
        polys = parts[shapely.get_type_id(parts) == 3]
        if len(polys):
            arr[i] = shapely.multipolygons(polys)
    flat = ~np.isin(shapely.get_type_id(arr), (3, 6))
    if flat.any():
        names = ", ".join(sorted({g.geom_type for g in arr[flat]}))
        raise DataValidationError(
            "units",
            "geometry",
            f"{int(flat.sum())} polygons are invalid and have no area once "
            f"repaired with make_valid (they collapse to {names})",
            rows=list(labels[flat]),
            n_bad=int(flat.sum()),
            fix="drop these rows, or supply the polygons of the areas they "
            "stand for: a unit without area borders no unit",
        )
    return gpd.GeoSeries(arr, index=geo.index, crs=geo.crs)


def _warn_long_links(adj: Adjacency, pg: _PointGraph) -> None:
    """Warn when the long links taken out of a point graph split it."""
    r, c = np.array(pg.dropped).T
    full = adj.matrix + sp.csr_array(
        (np.ones(2 * len(r)), (np.r_[r, c], np.r_[c, r])), shape=adj.matrix.shape
    )
    before = int(connected_components(full, directed=False)[0])
    after = adj.n_components
    if after <= before:
        return
    i, j = pg.dropped[0]
    to_ll = pyproj.Transformer.from_crs(pg.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(pg.xy[[i, j], 0], pg.xy[[i, j], 1])
    km = float(haversine_matrix(lon[:1], lat[:1], lon[1:], lat[1:])[0, 0])
    sizes = sorted((len(c) for c in adj.components), reverse=True)
    shown = ", ".join(map(str, sizes[:8])) + (", ..." if len(sizes) > 8 else "")
    warnings.warn(
        f"{len(pg.dropped)} neighbour links between point units were dropped as "
        f"longer than {_LONG_LINK_FACTOR:g} times the spacing of the points at "
        f"their ends (the longest: {adj.ids[i]!r}-{adj.ids[j]!r}, {km:,.0f} km), "
        f"so the units form {after} separate groups (of {shown} units) instead "
        f"of {before}; no contiguous territory can span two groups. Add links "
        "with Adjacency.with_links([(a, b), ...]) where the groups are "
        "reachable (ferries, flights).",
        TerrakitWarning,
        stacklevel=3,
    )


def _graph_matrix(g: Any, n: int) -> sp.csr_array:
    adj = g.adjacency
    focal = adj.index.get_level_values(0).to_numpy()
    neigh = adj.index.get_level_values(1).to_numpy()
    keep = (adj.to_numpy() != 0) & (focal != neigh)
    r = focal[keep].astype(np.int64)
    c = neigh[keep].astype(np.int64)
    m = sp.csr_array((np.ones(len(r), dtype=np.int8), (r, c)), shape=(n, n))
    m = ((m + m.T) > 0).astype(np.int8)
    return sp.csr_array(m)


@dataclass(frozen=True)
class _PointGraph:
    """A point-unit graph, with the long links taken out of it."""

    matrix: sp.csr_array
    method: str  # "voronoi", "delaunay" or "chain"
    dropped: tuple[tuple[int, int], ...]  # positions, longest first
    xy: np.ndarray  # metres in the CRS the graph was built in
    crs: pyproj.CRS


def _point_graph(geo: gpd.GeoSeries, *, rook: bool) -> _PointGraph:
    from libpysal.graph import Graph

    if geo.crs is None:
        raise DataValidationError(
            "units",
            "geometry",
            "point units have no CRS",
            fix="set it with units.set_crs('EPSG:4326')",
        )
    crs = projected_crs(geo)
    pts = geo.to_crs(crs)
    # to the millimetre: the same points reprojected from another CRS then
    # give the same numbers, hence the same graph even where it hangs on
    # rounding (cocircular points)
    xy = np.round(np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()]), 3)
    n = len(xy)
    centred = xy - xy.mean(axis=0)
    uniq = np.unique(xy, axis=0)
    method = "voronoi"
    if (
        len(uniq) < 3
        or np.linalg.matrix_rank(
            centred, tol=1e-6 * max(1.0, float(np.abs(centred).max()))
        )
        < 2
    ):
        # degenerate (all on a line, or at fewer than 3 places): no Voronoi
        # cells to build; chain the locations along the line
        m = _chain_matrix(xy)
        method = "chain"
    else:
        try:
            g = Graph.build_triangulation(
                xy, method="voronoi", rook=rook, coplanar="clique"
            )
            m = _graph_matrix(g, n)
        except (IndexError, ValueError):
            # libpysal's clipped Voronoi cells can outnumber the points when
            # points are cocircular (a ring around a pole, a regular
            # polygon): it then fails on a cell index past the last point
            m = _delaunay_matrix(xy)
            method = "delaunay"
    m, dropped = _drop_long_links(m, xy)
    return _PointGraph(m, method, dropped, xy, crs)


def _delaunay_matrix(xy: np.ndarray) -> sp.csr_array:
    """Delaunay neighbours of points (``scipy.spatial.Delaunay``); points at
    one location are all linked to each other and to the location's
    neighbours (as libpysal's ``coplanar="clique"``)."""
    from scipy.spatial import Delaunay

    sites, inv = np.unique(xy, axis=0, return_inverse=True)
    tri = Delaunay(sites)
    s = tri.simplices
    a = np.concatenate([s[:, 0], s[:, 1], s[:, 2], tri.coplanar[:, 0]])
    b = np.concatenate([s[:, 1], s[:, 2], s[:, 0], tri.coplanar[:, 2]])
    return _site_links_to_points(a, b, np.asarray(inv).ravel(), len(sites))


def _chain_matrix(xy: np.ndarray) -> sp.csr_array:
    """Neighbours of points on one line (or at fewer than 3 places): each
    location linked to the next along the line (what their Voronoi strips
    would give); points at one location are all linked to each other and to
    the location's neighbours, as in :func:`_delaunay_matrix`."""
    sites, inv = np.unique(xy, axis=0, return_inverse=True)
    k = len(sites)
    centred = sites - sites.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    order = np.argsort(centred @ vt[0], kind="stable")
    return _site_links_to_points(order[:-1], order[1:], np.asarray(inv).ravel(), k)


def _site_links_to_points(
    a: np.ndarray, b: np.ndarray, inv: np.ndarray, k: int
) -> sp.csr_array:
    """The point graph of links ``a[i]``-``b[i]`` between ``k`` locations,
    point ``p`` being at location ``inv[p]``: points at linked locations are
    linked, and the points at one location form a clique."""
    n = len(inv)
    site = sp.csr_array((np.ones(len(a)), (a, b)), shape=(k, k))
    member = sp.csr_array((np.ones(n), (np.arange(n), inv)), shape=(n, k))
    m = member @ (site + site.T) @ member.T + member @ member.T
    m = sp.csr_array(m > 0, dtype=np.int8)
    m.setdiag(0)
    m.eliminate_zeros()
    return m


def _drop_long_links(
    m: sp.csr_array, xy: np.ndarray
) -> tuple[sp.csr_array, tuple[tuple[int, int], ...]]:
    """Take out the links longer than :data:`_LONG_LINK_FACTOR` times the
    larger of their two ends' nearest-neighbour distances.

    Returns the graph without them and the dropped pairs, longest first.
    """
    from scipy.spatial import cKDTree

    up = sp.triu(m, k=1).tocoo()
    r, c = up.row.astype(np.int64), up.col.astype(np.int64)
    sites, inv = np.unique(xy, axis=0, return_inverse=True)
    if len(r) == 0 or len(sites) < 2:
        return m, ()
    dist, _ = cKDTree(sites).query(sites, k=2)
    spacing = dist[:, 1][np.asarray(inv).ravel()]
    length = np.hypot(*(xy[r] - xy[c]).T)
    long = length > _LONG_LINK_FACTOR * np.maximum(spacing[r], spacing[c])
    if not long.any():
        return m, ()
    keep = ~long
    kept = sp.csr_array(
        (np.ones(int(keep.sum()), dtype=np.int8), (r[keep], c[keep])), shape=m.shape
    )
    kept = sp.csr_array(((kept + kept.T) > 0).astype(np.int8))
    order = np.argsort(-length[long], kind="stable")
    pairs = tuple(
        (int(i), int(j)) for i, j in zip(r[long][order], c[long][order], strict=True)
    )
    return kept, pairs

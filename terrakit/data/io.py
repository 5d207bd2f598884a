"""Loaders for a study's tables: CSV, Excel, Parquet, GeoPackage, GeoJSON, Shapefile.

Every loader takes a ``columns`` mapping ``{"name in your file": "terrakit name"}``
so a CRM export loads without editing the file, validates the result at the
door (:mod:`terrakit.data.validation`) and only reads: files on disk are never
changed.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from shapely import wkt as _wkt

from terrakit.data.validation import (
    _check_lonlat,
    clean_accounts,
    clean_history,
    clean_reps,
    clean_units,
    require_columns,
)
from terrakit.exceptions import CRSWarning, DataValidationError

__all__ = ["read_accounts", "read_history", "read_reps", "read_units"]

_TABULAR = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".parquet", ".pq"}
_SPATIAL = {".gpkg", ".geojson", ".json", ".shp", ".fgb", ".zip"}

PathLike = str | os.PathLike[str]


def _read(
    path: PathLike,
    table: str,
    columns: Mapping[str, str] | None,
    *,
    id_columns: tuple[str, ...],
    sheet: str | int | None,
    layer: str | int | None,
) -> pd.DataFrame:
    """Read any supported file into a (Geo)DataFrame and apply the column mapping."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{table}: no file at {str(p)!r}")
    suffix = p.suffix.lower()
    mapping = dict(columns or {})
    # Read id columns as text from text formats, so '01001' keeps its zero.
    inverse = {v: k for k, v in mapping.items()}
    text_ids = {inverse.get(c, c): str for c in id_columns}
    if suffix in {".csv", ".txt", ".tsv"}:
        sep = "\t" if suffix == ".tsv" else None
        df = pd.read_csv(
            p,
            sep=sep,
            engine="python" if sep is None else "c",
            dtype=text_ids,
            keep_default_na=True,
        )
    elif suffix in {".xlsx", ".xlsm", ".xls"}:
        df = pd.read_excel(p, sheet_name=0 if sheet is None else sheet, dtype=text_ids)
    elif suffix in {".parquet", ".pq"}:
        df = pd.read_parquet(p)
    elif suffix in _SPATIAL:
        df = pyogrio.read_dataframe(p, layer=layer)
    else:
        raise DataValidationError(
            table,
            None,
            f"cannot read {p.name!r}: unknown file type {suffix!r}",
            fix="use CSV, Excel (.xlsx), Parquet, GeoPackage, GeoJSON or Shapefile",
        )
    missing = [src for src in mapping if src not in df.columns]
    if missing:
        raise DataValidationError(
            table,
            missing[0],
            f"the columns mapping names {missing} but {p.name} has no such column "
            f"(columns seen: {list(map(str, df.columns))[:15]})",
            fix="correct the keys of columns={...}: they are the names in your file",
        )
    df = df.rename(columns=mapping)
    dup = df.columns[df.columns.duplicated()]
    if len(dup):
        raise DataValidationError(
            table,
            str(dup[0]),
            f"after renaming, column {dup[0]!r} appears twice",
            fix="map only one of your columns to each terrakit name",
        )
    return df


def read_units(
    path: PathLike,
    columns: Mapping[str, str] | None = None,
    *,
    layer: str | int | None = None,
    sheet: str | int | None = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Read the units (building blocks) of a study.

    Parameters
    ----------
    path
        GeoPackage, GeoJSON, Shapefile (polygons or points); or CSV / Excel /
        Parquet with either a WKT ``geometry`` column or ``lon``/``lat`` columns.
    columns
        Renames ``{"your column": "terrakit column"}``; the id column must end
        up as ``unit_id``.
    layer, sheet
        Layer of a multi-layer file; sheet of a workbook.
    crs
        The CRS of the coordinates when the file has none (CSV files: lon/lat
        default to EPSG:4326).  Raises if the file has a different one.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``unit_id``.

    Raises
    ------
    DataValidationError
        Missing id, duplicated ids, no or mismatched CRS, bad numbers...

    Examples
    --------
    >>> units = read_units("units.gpkg", columns={"GEOID": "unit_id"})  # doctest: +SKIP
    """
    df = _read(
        path, "units", columns, id_columns=("unit_id",), sheet=sheet, layer=layer
    )
    if isinstance(df, gpd.GeoDataFrame):
        gdf = df
        if gdf.crs is None and crs is not None:
            gdf = gdf.set_crs(crs)
        elif (
            crs is not None
            and gdf.crs is not None
            and gdf.crs != gpd.GeoSeries(crs=crs).crs
        ):
            raise DataValidationError(
                "units",
                "geometry",
                f"the file's CRS is {gdf.crs.to_string()} but crs={crs!r} was passed",
                fix="drop crs=... (the file has its own) or reproject the file",
            )
    elif "geometry" in df.columns:
        try:
            geom = gpd.GeoSeries(df["geometry"].map(_wkt.loads))
        except Exception as err:  # shapely raises its own error types
            raise DataValidationError(
                "units",
                "geometry",
                f"the geometry column is not WKT text ({err})",
                fix="export geometries as WKT, or give lon/lat columns",
            ) from None
        gdf = gpd.GeoDataFrame(
            df.drop(columns="geometry"), geometry=geom.values, crs=crs
        )
    elif {"lon", "lat"} <= set(df.columns):
        idx_df = df.set_index("unit_id") if "unit_id" in df.columns else df
        _check_lonlat(idx_df, "units", "lon", "lat")
        if crs is None:
            crs = "EPSG:4326"
        gdf = gpd.GeoDataFrame(
            df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=crs
        )
    else:
        raise DataValidationError(
            "units",
            "geometry",
            "the file has no geometry: neither a spatial format, a WKT 'geometry' "
            "column nor lon/lat columns",
            fix="give units as polygons (GeoPackage/GeoJSON/Shapefile) or points "
            "with lon/lat columns",
        )
    require_columns(gdf, "units", ["unit_id"])
    return clean_units(gdf)


def read_accounts(
    path: PathLike,
    columns: Mapping[str, str] | None = None,
    *,
    units: gpd.GeoDataFrame | Any | None = None,
    layer: str | int | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read accounts (customers and prospects).

    Accounts carry either a ``unit_id`` or ``lon``/``lat``.  With ``units``
    (a GeoDataFrame or a Study) accounts that have coordinates but no
    ``unit_id`` are joined to the unit that contains them (point in polygon;
    for point units, the nearest unit).

    Raises
    ------
    DataValidationError
        Duplicated ids, bad coordinates, accounts in no unit, unknown units...
    """
    df = _read(
        path,
        "accounts",
        columns,
        id_columns=("account_id", "unit_id", "rep_id"),
        sheet=sheet,
        layer=layer,
    )
    if isinstance(df, gpd.GeoDataFrame):
        pts = df.geometry
        if df.crs is not None and not df.crs.equals("EPSG:4326"):
            pts = pts.to_crs("EPSG:4326")
        df = pd.DataFrame(df.drop(columns=df.geometry.name))
        if not {"lon", "lat"} <= set(df.columns):
            df["lon"], df["lat"] = pts.x.to_numpy(), pts.y.to_numpy()
    require_columns(df, "accounts", ["account_id"])
    df = df.set_index("account_id")
    unit_table = getattr(units, "units", units)
    if unit_table is not None and "unit_id" not in df.columns:
        df = join_to_units(df, unit_table)
    ids = None if unit_table is None else unit_table.index
    return clean_accounts(df, ids)


def join_to_units(accounts: pd.DataFrame, units: gpd.GeoDataFrame) -> pd.DataFrame:
    """Add ``unit_id`` to accounts from their lon/lat (point in polygon).

    Points on a shared border go to the first unit found.  For point units the
    nearest unit (in a projected CRS) is used.  Accounts that fall in no
    polygon get ``NaN`` (and fail validation with their ids listed).
    """
    require_columns(
        accounts,
        "accounts",
        ["lon", "lat"],
        hint="give accounts lon/lat columns or a unit_id column",
    )
    _check_lonlat(accounts, "accounts", "lon", "lat")
    pts = gpd.GeoDataFrame(
        index=accounts.index,
        geometry=gpd.points_from_xy(accounts["lon"], accounts["lat"]),
        crs="EPSG:4326",
    )
    if units.crs is not None and not units.crs.equals(pts.crs):
        pts = pts.to_crs(units.crs)
    polys = units[[units.geometry.name]].reset_index()
    if (units.geom_type == "Point").all():
        from terrakit.data.geo import projected_crs

        metric = projected_crs(units)
        joined = gpd.sjoin_nearest(pts.to_crs(metric), polys.to_crs(metric), how="left")
    else:
        joined = gpd.sjoin(pts, polys, how="left", predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]
    out = accounts.copy()
    out["unit_id"] = joined["unit_id"].reindex(accounts.index).to_numpy()
    if out["unit_id"].isna().any():
        # keep dtype object so validation can report the accounts
        out["unit_id"] = out["unit_id"].astype(object)
    elif out["unit_id"].dtype != units.index.dtype:
        out["unit_id"] = out["unit_id"].astype(units.index.dtype)
    return out


def read_reps(
    path: PathLike,
    columns: Mapping[str, str] | None = None,
    *,
    layer: str | int | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read sales reps: ``rep_id``, ``home_lon``, ``home_lat``, ``capacity_hours``...

    A spatial file of points gives the home coordinates from its geometry.
    """
    df = _read(
        path,
        "reps",
        columns,
        id_columns=("rep_id", "home_unit"),
        sheet=sheet,
        layer=layer,
    )
    if isinstance(df, gpd.GeoDataFrame):
        pts = df.geometry
        if df.crs is None:
            warnings.warn(
                "reps: the file has no CRS; assuming lon/lat (EPSG:4326)",
                CRSWarning,
                stacklevel=2,
            )
        elif not df.crs.equals("EPSG:4326"):
            pts = pts.to_crs("EPSG:4326")
        df = pd.DataFrame(df.drop(columns=df.geometry.name))
        if not {"home_lon", "home_lat"} <= set(df.columns):
            df["home_lon"], df["home_lat"] = pts.x.to_numpy(), pts.y.to_numpy()
    require_columns(df, "reps", ["rep_id"])
    return clean_reps(df.set_index("rep_id"))


def read_history(
    path: PathLike,
    columns: Mapping[str, str] | None = None,
    *,
    period_format: str | None = None,
    accounts: pd.DataFrame | Any | None = None,
    layer: str | int | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read long monthly sales history: account or unit id, ``period``, ``sales``.

    Parameters
    ----------
    period_format
        ``strftime`` format of the period column when it is not ISO
        (e.g. ``"%m/%Y"``).
    accounts
        Accounts table or Study; when given, history rows must refer to known
        accounts.

    Returns
    -------
    pandas.DataFrame
        ``period`` as a monthly ``Period`` column.
    """
    df = _read(
        path,
        "history",
        columns,
        id_columns=("account_id", "unit_id"),
        sheet=sheet,
        layer=layer,
    )
    if isinstance(df, gpd.GeoDataFrame):
        df = pd.DataFrame(df.drop(columns=df.geometry.name))
    acc = getattr(accounts, "accounts", accounts)
    return clean_history(
        df, None if acc is None else acc.index, None, period_format=period_format
    )

"""Loaders for a study's tables: CSV, Excel, Parquet, GeoPackage, GeoJSON, Shapefile.

Every loader takes a ``columns`` mapping ``{"name in your file": "terrakit name"}``
so a CRM export loads without editing the file, validates the result at the
door (:mod:`terrakit.data.validation`) and only reads: files on disk are never
changed.
"""

from __future__ import annotations

import csv
import difflib
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
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


def _did_you_mean(name: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``""``."""
    lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
    return f" (did you mean {lower[close[0]]!r}?)" if close else ""


def _sheet_names(p: Path) -> list[str]:
    with pd.ExcelFile(p) as xl:
        return [str(n) for n in xl.sheet_names]


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
    if p.is_dir():
        raise DataValidationError(
            table,
            None,
            f"{str(p)!r} is a folder, not a file",
            fix=f"give the path of the {table} file inside it",
        )
    suffix = p.suffix.lower()
    mapping = dict(columns or {})
    # Read id columns as text from text formats, so '01001' keeps its zero.
    inverse = {v: k for k, v in mapping.items()}
    text_ids = {inverse.get(c, c): str for c in id_columns}
    sheets: list[str] = []
    try:
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
            sheets = _sheet_names(p)
            if isinstance(sheet, str) and sheet not in sheets:
                raise DataValidationError(
                    table,
                    None,
                    f"{p.name} has no sheet {sheet!r}{_did_you_mean(sheet, sheets)}; "
                    f"its sheets are {sheets}",
                    fix="pass sheet= one of these names (or its position, 0 = first)",
                )
            if isinstance(sheet, int) and not -len(sheets) <= sheet < len(sheets):
                raise DataValidationError(
                    table,
                    None,
                    f"{p.name} has {len(sheets)} sheet(s) {sheets}, so there is no "
                    f"sheet={sheet}",
                    fix="pass sheet= a name or position (0 = first) of these sheets",
                )
            df = pd.read_excel(
                p, sheet_name=0 if sheet is None else sheet, dtype=text_ids
            )
        elif suffix in {".parquet", ".pq"}:
            df = pd.read_parquet(p)
        elif suffix in _SPATIAL:
            if layer is not None:
                layers = [str(n) for n, _ in pyogrio.list_layers(p)]
                if isinstance(layer, str) and layer not in layers:
                    raise DataValidationError(
                        table,
                        None,
                        f"{p.name} has no layer {layer!r}"
                        f"{_did_you_mean(layer, layers)}; its layers are {layers}",
                        fix="pass layer= one of these names",
                    )
            df = pyogrio.read_dataframe(p, layer=layer)
        else:
            raise DataValidationError(
                table,
                None,
                f"cannot read {p.name!r}: unknown file type {suffix!r}",
                fix="use CSV, Excel (.xlsx), Parquet, GeoPackage, GeoJSON or Shapefile",
            )
    except DataValidationError:
        raise
    except (pd.errors.EmptyDataError, csv.Error) as err:
        if p.stat().st_size == 0 or isinstance(err, pd.errors.EmptyDataError):
            raise DataValidationError(
                table,
                None,
                f"{p.name} is empty (no header, no rows)",
                fix=f"export the {table} table again; the file holds nothing",
            ) from None
        raise DataValidationError(
            table,
            None,
            f"cannot read {p.name} as delimited text ({err})",
            fix="save it as comma-separated CSV with a header row",
        ) from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise DataValidationError(
            table,
            None,
            f"cannot read {p.name} as a {suffix.lstrip('.')} file ({err})",
            fix="check that the file is complete and of the type its name says "
            "(open it in QGIS), or export it again",
        ) from None
    missing = [src for src in mapping if src not in df.columns]
    if missing:
        seen = list(map(str, df.columns))
        raise DataValidationError(
            table,
            missing[0],
            f"the columns mapping names {missing} but {p.name} has no such column"
            f"{_did_you_mean(missing[0], seen)} (columns seen: {seen[:15]}"
            f"{' ...' if len(seen) > 15 else ''})",
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
    if sheet is None and len(sheets) > 1 and not set(id_columns) & set(df.columns):
        raise DataValidationError(
            table,
            id_columns[0],
            f"the first sheet {sheets[0]!r} of {p.name} has no {id_columns[0]!r} "
            f"column (columns seen: {list(map(str, df.columns))[:12]}); the "
            f"workbook has the sheets {sheets}",
            fix="pass sheet='...' naming the sheet that holds the table",
        )
    if len(df) == 0:
        raise DataValidationError(
            table,
            None,
            f"{p.name} has no rows"
            + (
                f" (sheet {sheet if sheet is not None else sheets[0]!r})"
                if sheets
                else ""
            )
            + (f" (layer {layer!r})" if layer is not None else ""),
            fix=f"export the {table} table again with its rows",
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
    if crs is not None:
        try:
            crs = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as err:
            raise DataValidationError(
                "units",
                "geometry",
                f"crs={crs!r} is not a coordinate reference system ({err})",
                fix="pass an EPSG code such as crs='EPSG:4326' (lon/lat) or "
                "crs=32616 (UTM 16N)",
            ) from None
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
                f"the file's CRS is {gdf.crs.to_string()} but crs="
                f"{crs.to_string()!r} was passed",
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

"""Checks at the door: every table is validated before a :class:`Study` holds it.

Each check raises :class:`~terrakit.exceptions.DataValidationError` naming the
table, the column, up to five offending ids and the fix.  Checks never modify
their input; the ``clean_*`` functions return new, normalised copies.
"""

from __future__ import annotations

import datetime
import decimal
import difflib
import re
import warnings
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from pandas.api import types as ptypes

from terrakit.exceptions import DataValidationError, NotAStudyError

__all__ = [
    "ACCOUNT_COLUMNS",
    "KNOWN_COLUMNS",
    "REP_COLUMNS",
    "check_account_locations",
    "check_given_ids",
    "check_measures",
    "check_unique_columns",
    "check_unique_ids",
    "clean_accounts",
    "clean_history",
    "clean_reps",
    "clean_units",
    "first_few",
    "ids_equal_only_as_text",
    "misspelt_targets",
    "rep_of_territories",
    "require_columns",
    "require_study",
]

#: Numeric columns that must be non-negative wherever they appear.
NON_NEGATIVE = (
    "accounts",
    "workload",
    "sales",
    "potential",
    "population",
    "income",
    "annual_sales",
    "calls_per_year",
    "call_minutes",
    "capacity_hours",
    "fte",
    "employees",
    "calls",
)

ACCOUNT_COLUMNS = (
    "unit_id",
    "lon",
    "lat",
    "segment",
    "industry",
    "annual_sales",
    "calls_per_year",
    "call_minutes",
    "rep_id",
)
REP_COLUMNS = ("home_lon", "home_lat", "capacity_hours")

#: Per table, the column names terrakit reads (required or optional).  A
#: ``columns`` mapping may map to other names too (extra columns are kept);
#: :func:`misspelt_targets` refuses only those close to one of these.
KNOWN_COLUMNS: dict[str, tuple[str, ...]] = {
    "units": (
        "unit_id",
        "name",
        "geometry",
        "lon",
        "lat",
        "state",
        "region",
        "population",
        "income",
        "employees",
        "accounts",
        "workload",
        "sales",
        "potential",
    ),
    "accounts": (
        "account_id",
        "name",
        "geometry",
        *ACCOUNT_COLUMNS,
        "employees",
        "tw_lo",
        "tw_hi",
    ),
    "reps": (
        "rep_id",
        "name",
        "geometry",
        *REP_COLUMNS,
        "fte",
        "home_unit",
        "state",
        "skills",
    ),
    "history": ("account_id", "unit_id", "period", "sales", "calls"),
    "alignment": ("unit_id", "territory_id"),
}


def misspelt_targets(
    table: str, targets: Iterable[str], known: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """The mapping targets that look like a misspelt terrakit column name.

    Parameters
    ----------
    table
        ``"units"``, ``"accounts"``, ``"reps"``, ``"history"`` or
        ``"alignment"``.
    targets
        The terrakit names of a ``columns`` mapping (its values).
    known
        More names this table accepts (e.g. the alignment's configured
        unit and territory columns).

    Returns
    -------
    list of (target, closest known name)
        A target that is no known column of ``table`` but close to one (a
        typo such as ``'anual_sales'``) that no other target supplies; a
        target far from every known name, or next to a mapping that does
        supply the close name (``'segment2'`` beside ``'segment'``), is an
        extra column of the client's and is not listed.
    """
    targets = [str(t) for t in targets]
    names = [*KNOWN_COLUMNS.get(table, ()), *known]
    lower = {n.lower(): n for n in names}
    supplied = set(targets)
    out = []
    for t in targets:
        if t in names:
            continue
        close = difflib.get_close_matches(t.lower(), list(lower), n=1, cutoff=0.85)
        if close and lower[close[0]] not in supplied:
            out.append((t, lower[close[0]]))
    return out


def first_few(
    values: Iterable[Any], n: int = 5, *, show: Callable[[Any], str] = repr
) -> str:
    """The first ``n`` of ``values`` and how many more: ``"'a', 'b' and 7 more"``.

    The form of every list of offending ids, rows or territories in a
    terrakit message.  Numpy scalars are shown as the Python values they
    hold (``3``, not ``np.int64(3)``).

    Parameters
    ----------
    values
        The values, all of them (they are counted).
    n
        How many to show.
    show
        How one value is written: ``repr`` (the default, for ids), ``str``
        (for names or text already formatted).

    Examples
    --------
    >>> first_few(["u1", "u2", "u3"], 2)
    "'u1', 'u2' and 1 more"
    >>> first_few(np.arange(3), show=str)
    '0, 1, 2'
    """
    items = list(values)
    text = ", ".join(
        show(v.item() if isinstance(v, np.generic) else v) for v in items[:n]
    )
    return text + (f" and {len(items) - n} more" if len(items) > n else "")


def require_study(
    obj: Any,
    what: str = "a Study (tk.Study)",
    *,
    table: str = "units",
    tables: str = "units",
    fix: str = "pass the Study, or build one with tk.Study(units, accounts=accounts)",
    caller: str | None = None,
) -> None:
    """Raise unless ``obj`` is a :class:`~terrakit.data.Study`.

    Parameters
    ----------
    obj
        What was given.
    what
        What is expected, in words (``"a Study with a sales history"``).
    table
        The table the error is about (its ``table`` attribute).
    tables
        The study's tables that are likely given instead (``"units or
        accounts"``): named when ``obj`` is a table.
    fix
        What to pass instead.  With ``caller``, where ``obj`` is a table the
        fix is ``"wrap the {tables} table in a Study: {fix}"``, else ``"build
        one with {fix}"``: give only the constructor call.
    caller
        The public function checking (``"tk.design.ensemble"``): the message
        reads ``"{caller} takes {what}, got {given}; {fix}"``, as its other
        argument errors do.  Without it the message is a data error's:
        ``"{table}: expected {what}, got {given} (a table, ...). Fix: {fix}"``.

    Raises
    ------
    NotAStudyError
        A :class:`~terrakit.exceptions.DataValidationError` and a
        :class:`TypeError`, naming what was given and what to pass.

    Examples
    --------
    >>> try:
    ...     require_study(None, table="history")
    ... except TypeError as err:
    ...     print(err.problem)
    expected a Study (tk.Study), got None
    """
    from terrakit.data.study import Study

    if isinstance(obj, Study):
        return
    given = "None" if obj is None else type(obj).__name__
    is_table = isinstance(obj, pd.DataFrame)
    if caller is None:
        hint = (
            f" (a table, e.g. the study's {tables}: pass the Study itself)"
            if is_table
            else ""
        )
        raise NotAStudyError(
            table, None, f"expected {what}, got {given}{hint}", fix=fix
        )
    todo = (
        f"wrap the {tables} table in a Study: {fix}"
        if is_table
        else f"build one with {fix}"
    )
    err = NotAStudyError(table, None, f"{caller} takes {what}, got {given}", fix=todo)
    # worded as the caller's other argument errors, not as a data error
    err.args = (f"{caller} takes {what}, got {given}; {todo}",)
    raise err


def _ids(values: Iterable[Any]) -> list[Any]:
    out = []
    for v in values:
        out.append(v.item() if isinstance(v, np.generic) else v)
    return out


def _holds_decimals(values: pd.Series | pd.Index) -> bool:
    """Whether ``values`` are :class:`decimal.Decimal` objects (missing ones
    aside): what pandas reads from a Parquet ``decimal128`` column (SQL
    ``NUMERIC`` / ``NUMBER`` exported from a database)."""
    if not ptypes.is_object_dtype(values.dtype):
        return False
    vals = np.asarray(values, dtype=object)
    present = vals[pd.notna(vals)]
    return (
        len(present) > 0
        and isinstance(present[0], decimal.Decimal)
        and ptypes.infer_dtype(present, skipna=True) == "decimal"
    )


def _from_decimals(values: pd.Series, *, is_id: bool) -> pd.Series:
    """Decimals as numbers a study holds (and saves): ids that are whole
    numbers as int64 (nullable ``Int64`` where some are missing), every other
    column as floats."""
    vals = values.to_numpy(dtype=object)
    present = pd.notna(vals)
    whole = [
        int(v) for v in vals[present] if v.is_finite() and v == v.to_integral_value()
    ]
    int64 = np.iinfo(np.int64)
    if (
        is_id
        and len(whole) == int(present.sum())
        and all(int64.min <= v <= int64.max for v in whole)
    ):
        if present.all():
            return pd.Series(np.array(whole, dtype=np.int64), index=values.index)
        out = pd.array([None] * len(vals), dtype="Int64")
        out[present] = whole
        return pd.Series(out, index=values.index)
    return values.astype(np.float64)


def _without_decimals(df: pd.DataFrame, ids: Iterable[str]) -> pd.DataFrame:
    """``df`` (a copy where anything changes) with its columns and index of
    :class:`decimal.Decimal` values converted by :func:`_from_decimals`; the
    index and the ``ids`` columns are ids."""
    out = df
    id_columns = set(ids)
    for col in df.columns:
        if _holds_decimals(df[col]):
            if out is df:
                out = df.copy()
            out[col] = _from_decimals(df[col], is_id=col in id_columns)
    if _holds_decimals(df.index):
        idx = _from_decimals(pd.Series(df.index, index=df.index), is_id=True)
        out = out.set_axis(
            pd.Index(idx.to_numpy(), dtype=idx.dtype, name=df.index.name)
        )
    return out


def require_columns(
    df: pd.DataFrame, table: str, columns: Sequence[str], *, hint: str = ""
) -> None:
    """Raise if any of ``columns`` is missing from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        seen = ", ".join(map(str, list(df.columns)[:12]))
        more = " ..." if df.shape[1] > 12 else ""
        raise DataValidationError(
            table,
            missing[0],
            f"required column(s) {missing} missing (columns seen: {seen}{more})",
            fix=hint
            or "rename the column in your file or pass columns={'your_name': "
            f"'{missing[0]}'}} to the loader",
        )


def check_unique_columns(df: pd.DataFrame, table: str) -> None:
    """Raise if a column name occurs twice in ``df`` (the names listed).

    A table built with ``pd.concat(axis=1)`` or read from a file whose header
    names a column twice holds both: ``df[name]`` is then a table, not a
    column, and which of the two is meant cannot be told.
    """
    cols = df.columns
    dup = list(dict.fromkeys(map(str, cols[cols.duplicated()])))
    if dup:
        counts = ", ".join(f"{c!r} {int((cols == c).sum())} times" for c in dup)
        raise DataValidationError(
            table,
            dup[0],
            f"{len(dup)} column name(s) occur more than once ({counts}), so "
            "which column is meant cannot be told",
            fix="keep one column of each name, e.g. df = df.loc[:, "
            "~df.columns.duplicated()] to keep the first, or rename the others "
            "(annual_sales_2024, annual_sales_2025)",
        )


def _check_index(df: pd.DataFrame, table: str, id_name: str) -> pd.DataFrame:
    """Move an id column into the index, and check ids are present and unique."""
    if df.index.name != id_name:
        if id_name not in df.columns:
            raise DataValidationError(
                table,
                id_name,
                f"no id column {id_name!r} and the index is named {df.index.name!r}",
                fix=f"name the id column {id_name!r} or pass columns="
                f"{{'your_id': '{id_name}'}} to the loader",
            )
        df = df.set_index(id_name)
    idx = df.index
    if idx.hasnans:
        bad = np.flatnonzero(pd.isna(idx))
        raise DataValidationError(
            table,
            id_name,
            f"{len(bad)} rows have no id",
            rows=[f"row {i}" for i in bad],
            n_bad=len(bad),
            fix="give every row an id",
        )
    if idx.dtype == object:
        _check_id_kinds(idx, table, id_name)
    if ptypes.is_float_dtype(idx.dtype):
        frac = idx.to_numpy() != np.round(idx.to_numpy())
        if frac.any():
            raise DataValidationError(
                table,
                id_name,
                "ids must be whole numbers or text, found fractions",
                rows=_ids(idx[frac]),
                fix="use integer or string ids",
            )
        idx = pd.Index(idx.to_numpy().astype(np.int64), name=id_name)
        df = df.set_axis(idx)
    check_unique_ids(df, table, id_name)
    return df


def _id_kind(v: Any) -> str:
    if isinstance(v, (str, np.str_)):
        return "text"
    if isinstance(v, (bool, np.bool_)):
        return "boolean"
    if isinstance(v, (int, float, np.number)):
        return "number"
    return type(v).__name__


def _check_id_kinds(idx: pd.Index, table: str, id_name: str) -> None:
    """Raise if ids mix text and numbers (an Excel column with some cells
    stored as numbers): ``13121`` and ``'13121'`` are different ids, and
    mixed ids cannot be sorted or saved and read back reliably."""
    kinds = pd.Series([_id_kind(v) for v in idx], dtype=object)
    counts = kinds.value_counts()
    if len(counts) < 2:
        return
    common = str(counts.index[0])
    odd = (kinds != common).to_numpy()
    seen = ", ".join(f"{int(n)} {k}" for k, n in counts.items())
    raise DataValidationError(
        table,
        id_name,
        f"ids mix kinds ({seen}), and 13121 is not '13121'; the rows listed "
        f"are not {common}",
        rows=_ids(idx[odd]),
        n_bad=int(odd.sum()),
        fix=f"make every id text, e.g. df.index = df.index.astype(str) (or "
        f"df['{id_name}'].astype(str) before set_index); read the file with "
        f"dtype={{'{id_name}': str}} to keep leading zeros",
    )


def check_unique_ids(df: pd.DataFrame, table: str, id_name: str) -> None:
    """Raise if an id occurs twice in ``df``'s index (the duplicates named)."""
    idx = df.index
    dup = idx[idx.duplicated(keep="first")]
    if len(dup):
        uniq = list(dict.fromkeys(_ids(dup)))
        raise DataValidationError(
            table,
            id_name,
            f"{len(uniq)} ids occur more than once",
            rows=uniq,
            fix=f"make {id_name} unique (merge or rename the duplicated rows)",
        )


def check_measures(
    df: pd.DataFrame, table: str, columns: Iterable[str]
) -> pd.DataFrame:
    """Columns a computation sums (balance bands, weights): every value a
    number, none missing or infinite, none negative.

    Raises :class:`DataValidationError` naming the table, the column and the
    rows; returns ``df`` (a copy with numbers where the column held numbers
    as text).
    """
    return _check_numeric(df, table, columns, required=True, non_negative=True)


def _check_numeric(
    df: pd.DataFrame,
    table: str,
    columns: Iterable[str],
    *,
    required: bool,
    non_negative: bool = False,
) -> pd.DataFrame:
    """Numeric columns: convertible to numbers, finite where required, >= 0
    (the :data:`NON_NEGATIVE` names, or every column with ``non_negative``)."""
    out = df
    for col in columns:
        if col not in df.columns:
            continue
        s = df[col]
        if not ptypes.is_numeric_dtype(s.dtype) or ptypes.is_bool_dtype(s.dtype):
            conv = pd.to_numeric(s, errors="coerce")
            bad = conv.isna() & s.notna()
            if bad.any():
                raise DataValidationError(
                    table,
                    col,
                    f"{int(bad.sum())} values are not numbers "
                    f"(e.g. {s[bad].iloc[0]!r})",
                    rows=_ids(s.index[bad]),
                    n_bad=int(bad.sum()),
                    fix=_decimal_comma_hint(s[bad])
                    or "remove text such as units or thousands separators from "
                    "the column",
                )
            if out is df:
                out = df.copy()
            out[col] = conv
            s = conv
        if required and s.isna().any():
            bad = s.isna()
            raise DataValidationError(
                table,
                col,
                f"{int(bad.sum())} values are missing (NaN)",
                rows=_ids(s.index[bad]),
                n_bad=int(bad.sum()),
                fix="fill the missing values (0 if there is none)",
            )
        vals = s.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(vals).any():
            bad = np.isinf(vals)
            raise DataValidationError(
                table,
                col,
                f"{int(bad.sum())} values are infinite",
                rows=_ids(s.index[bad]),
                n_bad=int(bad.sum()),
                fix="replace infinite values by real numbers",
            )
        if non_negative or col in NON_NEGATIVE:
            neg = vals < 0
            if neg.any():
                raise DataValidationError(
                    table,
                    col,
                    f"{int(neg.sum())} values are negative (min {np.nanmin(vals):g}); "
                    f"{col} cannot be below 0",
                    rows=_ids(s.index[neg]),
                    n_bad=int(neg.sum()),
                    fix=_negative_fix(table, col),
                )
    return out


def _negative_fix(table: str, col: str) -> str:
    """The fix for negative values: in sales history they are usually returns
    or credit notes, which belong netted into their account's month (dropping
    them, or flipping their sign, would overstate the sales)."""
    if table == "history" and col == "sales":
        return (
            "if they are returns or credit notes, net them into their account's "
            "month: history = history.groupby(['account_id', 'period'], "
            "as_index=False)['sales'].sum() (a month that is still negative "
            "after netting needs a look at the source); otherwise correct the "
            "sign. Dropping them would overstate the sales"
        )
    return "correct the sign or drop the rows"


#: A number written with a decimal comma (``'-86,6'``, ``'1.234,5'``), and one
#: whose commas group thousands (``'1,600'``, ``'1,234.5'``), as the loaders
#: read them (:mod:`terrakit.data.io`).
_DECIMAL_COMMA_TEXT = re.compile(r"[+-]?(?:\d+|\d{1,3}(?:\.\d{3})+),\d+")
_THOUSANDS_COMMA_TEXT = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
#: One comma before three digits (``'1,600'``): a thousand, or 1.6.
_ONE_COMMA_GROUP = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")


def _decimal_comma_hint(values: pd.Series, *, coordinates: bool = False) -> str:
    """The fix for text numbers whose commas group thousands (``'1,234,567'``,
    ``'1,600.5'``; ``'1,600'`` alone may be 1.6 too, and both readings are
    named: every one of ``values`` reads so, and they are not
    ``coordinates``, which never have thousands) or
    that look written with a decimal comma (``'-86,6'``), or ``""``."""
    text = values.astype(str).str.strip()
    if text.empty:
        return ""
    if not coordinates and text.str.fullmatch(_THOUSANDS_COMMA_TEXT.pattern).all():
        # decimal="," would read '1,234,567' as 1.234567, without a word; a
        # lone '1,600' may be either
        if text.str.fullmatch(_ONE_COMMA_GROUP.pattern).all():
            return (
                'if the commas group thousands (1,600 is 1600), pass decimal="." '
                "to the loader (tk.data.read_...) or remove the separators; if "
                'the comma is the decimal mark (1,600 is 1.6), pass decimal=","'
            )
        return (
            'the commas group thousands (1,600 is 1600): pass decimal="." to the '
            "loader (tk.data.read_...) to read them so, or remove the separators"
        )
    if not text.str.fullmatch(_DECIMAL_COMMA_TEXT.pattern).all():
        return ""
    return (
        'these numbers have a decimal comma: pass decimal="," to the loader '
        "(tk.data.read_...), or write them with a decimal point"
    )


def _check_lonlat(
    df: pd.DataFrame, table: str, lon: str, lat: str, *, degrees: bool = True
) -> None:
    """Raise if a coordinate is text, missing or infinite, or (``degrees``)
    outside [-180, 180] × [-90, 90]; ``degrees=False`` for coordinates in a
    projected CRS (metres), whose range the CRS check of the table judges."""
    values = []
    for c in (lon, lat):
        conv = pd.to_numeric(df[c], errors="coerce")
        text = conv.isna() & df[c].notna()
        if ptypes.is_object_dtype(df[c].dtype) or ptypes.is_string_dtype(df[c].dtype):
            # blank text is a missing coordinate, reported below
            text &= df[c].astype(str).str.strip() != ""
        if text.any():
            bad = df[c][text]
            raise DataValidationError(
                table,
                c,
                f"{int(text.sum())} coordinates are text, not numbers "
                f"(e.g. {bad.iloc[0]!r})",
                rows=_ids(df.index[text.to_numpy()]),
                n_bad=int(text.sum()),
                fix=_decimal_comma_hint(bad, coordinates=degrees)
                or "write them as numbers in degrees (e.g. -84.39), without "
                "letters or symbols such as 'W' or '°'",
            )
        values.append(conv.to_numpy(dtype=float))
    check_lonlat_values(
        values[0], values[1], table, (lon, lat), df.index, degrees=degrees
    )


def check_lonlat_values(
    lon: np.ndarray,
    lat: np.ndarray,
    table: str,
    columns: tuple[str, str],
    rows: pd.Index,
    *,
    degrees: bool = True,
) -> None:
    """Raise if a lon/lat is missing, infinite or outside [-180, 180] ×
    [-90, 90] (``rows``: the points' labels, named in the error; the range
    only with ``degrees``)."""
    for col, vals, lim in ((columns[0], lon, 180.0), (columns[1], lat, 90.0)):
        vals = np.asarray(vals, dtype=float)
        bad = ~np.isfinite(vals)
        if bad.any():
            raise DataValidationError(
                table,
                col,
                f"{int(bad.sum())} coordinates are missing, infinite or not numbers",
                rows=_ids(rows[bad]),
                n_bad=int(bad.sum()),
                fix="geocode these rows or drop them",
            )
        out = np.abs(vals) > lim
        if degrees and out.any():
            name = "longitude" if lim == 180.0 else "latitude"
            raise DataValidationError(
                table,
                col,
                f"{int(out.sum())} {name}s outside [-{lim:g}, {lim:g}] "
                f"(e.g. {vals[out][0]:g}); coordinates must be WGS84 degrees",
                rows=_ids(rows[out]),
                n_bad=int(out.sum()),
                fix="convert projected coordinates to lon/lat degrees, or check "
                "whether lon and lat are swapped",
            )


def check_geometries(
    geom: gpd.GeoSeries, table: str, labels: Sequence[Any] | pd.Index | None = None
) -> None:
    """Raise if a geometry is missing, empty, or has a NaN or infinite coordinate.

    Parameters
    ----------
    geom
        The geometries.
    table
        The table they belong to, for the message.
    labels
        Row labels for the message (default: ``geom.index``).

    Raises
    ------
    DataValidationError
        Naming the rows.  A NaN vertex (often an empty cell of the table the
        polygons or points were built from) makes every geometric operation
        fail or answer NaN, so it is refused here rather than deep inside
        GEOS or libpysal.
    """
    import shapely

    rows = pd.Index(geom.index if labels is None else labels)
    missing = geom.isna().to_numpy() | geom.is_empty.to_numpy()
    if missing.any():
        raise DataValidationError(
            table,
            "geometry",
            f"{int(missing.sum())} rows have no geometry (missing or empty)",
            rows=_ids(rows[missing]),
            n_bad=int(missing.sum()),
            fix="drop these rows or supply their polygons/points",
        )
    xy, at = shapely.get_coordinates(geom.to_numpy(), return_index=True)
    bad_vertex = ~np.isfinite(xy).all(axis=1)
    if bad_vertex.any():
        bad = np.zeros(len(geom), dtype=bool)
        bad[at[bad_vertex]] = True
        raise DataValidationError(
            table,
            "geometry",
            f"{int(bad.sum())} geometries have a missing (NaN) or infinite "
            f"coordinate ({int(bad_vertex.sum())} such vertices in all)",
            rows=_ids(rows[bad]),
            n_bad=int(bad.sum()),
            fix="repair or drop these rows (a NaN coordinate usually comes from an "
            "empty cell in the table the shapes were built from)",
        )


def clean_units(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Validate the units table and return a normalised copy.

    Checks: a GeoDataFrame with a CRS; ``unit_id`` index (or column), unique;
    no empty or missing geometries; all polygons (or multipolygons) or all
    points, never a mix nor lines; invalid polygons are repaired with
    ``make_valid`` (they are common in exported shapefiles); no NaN or
    infinite coordinates (checked before the repair, which cannot handle
    them); coordinates inside the CRS's area of use; numeric attribute
    columns numeric and non-negative.
    """
    table = "units"
    if not isinstance(units, gpd.GeoDataFrame):
        raise DataValidationError(
            table,
            None,
            f"expected a GeoDataFrame, got {type(units).__name__}",
            fix="read polygons with tk.data.read_units(path) or build a "
            "geopandas.GeoDataFrame with a geometry column",
        )
    if len(units) == 0:
        raise DataValidationError(
            table,
            None,
            "the table has no rows, so there is nothing to divide into territories",
            fix="check the filter that selected the units (a study needs at least "
            "one unit)",
        )
    if units.crs is None:
        raise DataValidationError(
            table,
            "geometry",
            "the geometry has no CRS",
            fix="set it with units.set_crs('EPSG:4326') (lon/lat) or the CRS the "
            "file was made in, or pass crs=... to tk.data.read_units",
        )
    check_unique_columns(units, table)
    units = _without_decimals(_check_index(units, table, "unit_id"), ())
    geom = units.geometry
    missing = geom.isna() | geom.is_empty
    if missing.any():
        raise DataValidationError(
            table,
            "geometry",
            f"{int(missing.sum())} units have no geometry",
            rows=_ids(units.index[missing.to_numpy()]),
            n_bad=int(missing.sum()),
            fix="drop these units or supply their polygons/points",
        )
    # before make_valid, which GEOS cannot do on a NaN vertex
    check_geometries(geom, table)
    _check_geometry_kinds(geom, table)
    _check_crs_extent(units, table)
    attrs = [c for c in units.columns if c != units.geometry.name and c in NON_NEGATIVE]
    units = _check_numeric(units, table, attrs, required=False)
    return repair_polygons(units)


def repair_polygons(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``units`` with invalid polygons (a self-intersecting ring, common in
    exported shapefiles) repaired by ``make_valid``; a copy only when one is.
    Check NaN and infinite vertices first (:func:`check_geometries`): GEOS
    cannot repair them."""
    geom = units.geometry
    invalid = ~geom.is_valid.to_numpy()
    if not invalid.any():
        return units
    units = units.copy()
    units.loc[invalid, geom.name] = geom[invalid].make_valid()
    return units


def _geometry_kinds(geom: gpd.GeoSeries) -> np.ndarray:
    """Per geometry ``"polygon"`` (Polygon, MultiPolygon, or a collection
    holding a polygon, as ``make_valid`` may return), ``"point"`` (Point), or
    its geometry type (``"LineString"``, ``"MultiPoint"``...)."""
    import shapely

    types = geom.geom_type.to_numpy(dtype=object)
    kinds = types.copy()
    kinds[np.isin(types, ("Polygon", "MultiPolygon"))] = "polygon"
    kinds[types == "Point"] = "point"
    for i in np.flatnonzero(types == "GeometryCollection"):
        parts = shapely.get_parts(geom.iloc[i])
        if np.isin(shapely.get_type_id(parts), (3, 6)).any():
            kinds[i] = "polygon"
    return kinds


def _check_geometry_kinds(geom: gpd.GeoSeries, table: str) -> None:
    """Raise unless the units are all polygons or all points.

    A point among polygons makes the adjacency fail later without naming it,
    and a line (no area, no shared border) becomes a silent island; the error
    names the rows of the odd or minority kind and the fix.
    """
    kinds = _geometry_kinds(geom)
    counts = pd.Series(kinds).value_counts()
    if set(counts.index) <= {"polygon"} or set(counts.index) <= {"point"}:
        return
    seen = ", ".join(f"{int(n)} {k}" for k, n in counts.items())
    odd = ~np.isin(kinds, ("polygon", "point"))
    if odd.any():
        others = sorted(set(kinds[odd]))
        if set(others) <= {"MultiPoint"}:
            fix = (
                "give each of these units one point (e.g. "
                "units.geometry.representative_point()) or its polygon"
            )
        else:
            fix = (
                "drop these rows, or replace them by the polygons of the areas "
                "they stand for: a line has no area and borders no unit, so it "
                "would be an island no territory can reach"
            )
        problem = (
            f"units must all be polygons or all be points, but {int(odd.sum())} "
            f"are {', '.join(others)} ({seen})"
        )
        bad = odd
    else:
        n_poly, n_point = int(counts["polygon"]), int(counts["point"])
        minority = "point" if n_point <= n_poly else "polygon"
        bad = kinds == minority
        problem = (
            f"units mix polygons ({n_poly}) and points ({n_point}); they must all "
            f"be one or the other, and the rows listed are the {minority}s"
        )
        fix = (
            "supply the polygons of these units (or buffer their points in a "
            "projected CRS, in metres), or give every unit as a point "
            "(units.geometry.representative_point())"
            if minority == "point"
            else "use the representative points of these polygons "
            "(geometry.representative_point()) so that every unit is a point, or "
            "supply polygons for the point units"
        )
    raise DataValidationError(
        table,
        "geometry",
        problem,
        rows=_ids(geom.index[bad]),
        n_bad=int(bad.sum()),
        fix=fix,
    )


def _check_crs_extent(gdf: gpd.GeoDataFrame, table: str) -> None:
    """Catch a declared CRS that does not match the coordinates."""
    crs = gdf.crs
    minx, miny, maxx, maxy = gdf.total_bounds
    if crs is not None and crs.is_geographic:
        if max(abs(minx), abs(maxx)) > 180.0 or max(abs(miny), abs(maxy)) > 90.0:
            raise DataValidationError(
                table,
                "geometry",
                f"the CRS is geographic ({crs.to_string()}) but coordinates reach "
                f"x={maxx if abs(maxx) > abs(minx) else minx:.6g}, "
                f"y={maxy if abs(maxy) > abs(miny) else miny:.6g}: they look "
                "projected (metres), so the CRS does not match the data",
                fix="set the CRS the coordinates are in with "
                "gdf.set_crs(..., allow_override=True), or reproject with to_crs",
            )
    elif crs is not None and crs.is_projected:
        # Every coordinate within ±180 × ±90: as metres the units would all
        # lie in a 360 m × 180 m box at the CRS's false origin (for a UTM
        # zone, 500 km west of its central meridian, on the equator), which
        # no territory study does; as degrees they are a place on the map.
        if max(abs(minx), abs(maxx)) <= 180.0 and max(abs(miny), abs(maxy)) <= 90.0:
            raise DataValidationError(
                table,
                "geometry",
                f"the CRS is projected ({crs.to_string()}) but all coordinates "
                f"lie within [{minx:.4g}, {maxx:.4g}] × [{miny:.4g}, {maxy:.4g}]: "
                "they look like lon/lat degrees, so the CRS does not match",
                fix="if they are lon/lat degrees, declare EPSG:4326: "
                "gdf.set_crs('EPSG:4326', allow_override=True), or read the file "
                "without crs= (lon/lat columns are taken as EPSG:4326)",
            )


def clean_accounts(accounts: pd.DataFrame, unit_ids: pd.Index | None) -> pd.DataFrame:
    """Validate the accounts table; ``unit_ids`` are the study's units (or None)."""
    table = "accounts"
    if not isinstance(accounts, pd.DataFrame):
        raise DataValidationError(
            table,
            None,
            f"expected a DataFrame, got {type(accounts).__name__}",
            fix="read accounts with tk.data.read_accounts(path)",
        )
    check_unique_columns(accounts, table)
    accounts = _without_decimals(
        _check_index(accounts, table, "account_id"), ("unit_id", "rep_id")
    )
    if "unit_id" not in accounts.columns and not {"lon", "lat"} <= set(
        accounts.columns
    ):
        require_columns(
            accounts,
            table,
            ["unit_id"],
            hint="give accounts a unit_id column, or lon/lat columns and load them "
            "with tk.data.read_accounts(path, units=units) to join them to units",
        )
    if {"lon", "lat"} <= set(accounts.columns):
        _check_lonlat(accounts, table, "lon", "lat")
    numeric = [
        c
        for c in ("annual_sales", "calls_per_year", "call_minutes", "employees")
        if c in accounts.columns
    ]
    accounts = _check_numeric(accounts, table, numeric, required=False)
    if "unit_id" in accounts.columns:
        u = accounts["unit_id"]
        if u.isna().any():
            bad = u.isna()
            located = {"lon", "lat"} <= set(accounts.columns)
            if not located:
                # no coordinates: no spatial join was made, nothing "lies" anywhere
                problem = f"{int(bad.sum())} accounts have no unit_id"
                fix = (
                    "fill unit_id for these accounts, or give accounts lon/lat "
                    "columns and load them with tk.data.read_accounts(path, "
                    "units=units) to join them to the unit they lie in"
                )
            elif unit_ids is None:
                problem = (
                    f"{int(bad.sum())} accounts have no unit_id, and no units were "
                    "given to join them by their lon/lat"
                )
                fix = (
                    "pass units= to tk.data.read_accounts(path, units=units) to "
                    "join them to the unit they lie in, or fill unit_id"
                )
            else:
                problem = f"{int(bad.sum())} accounts lie in no unit"
                fix = (
                    "check their coordinates (outside the study area?) or add the "
                    "missing units"
                )
            raise DataValidationError(
                table,
                "unit_id",
                problem,
                rows=_ids(accounts.index[bad.to_numpy()]),
                n_bad=int(bad.sum()),
                fix=fix,
            )
        if unit_ids is not None:
            u = account_units(
                u,
                unit_ids,
                table=table,
                fix="add the units, or correct unit_id (check leading zeros: "
                "'01001' is not '1001')",
            )
            if u.dtype != accounts["unit_id"].dtype:
                accounts = accounts.copy()
                accounts["unit_id"] = u
    return accounts


def account_units(
    unit_id: pd.Series, units_index: pd.Index, *, table: str = "accounts", fix: str
) -> pd.Series:
    """The accounts' ``unit_id`` in the type of the units' ids (``1001`` read
    from a CSV against text ids ``'1001'``, when nothing is lost).

    Raises
    ------
    DataValidationError
        Naming the accounts whose unit is not in ``units_index`` (a missing
        ``unit_id`` included) and the unknown ids; ``fix`` is the advice
        unless the ids differ only by leading zeros, which is named instead.
    """
    uid = _align_id_dtype(unit_id, units_index)
    unknown = ~uid.isin(units_index)
    if unknown.any():
        distinct = list(dict.fromkeys(_ids(uid[unknown])))
        zeros, zero_fix = _leading_zeros(
            distinct, units_index, table="accounts", ref="units"
        )
        raise DataValidationError(
            table,
            "unit_id",
            f"{int(unknown.sum())} accounts point to units that are not in the "
            f"units table (unknown unit ids: {distinct[:5]}){zeros}",
            rows=_ids(unit_id.index[unknown.to_numpy()]),
            n_bad=int(unknown.sum()),
            fix=zero_fix or fix,
        )
    return uid


#: how far (km) beyond its unit's bounding box an account may lie before the
#: study refuses it: geocoding noise stays well inside, a swapped or
#: mistyped coordinate lands far outside
ACCOUNT_OUTSIDE_KM = 50.0


#: multiple of the typical spacing of point units within which an account may
#: lie from its unit's point, and the least such distance (km); see
#: :func:`point_unit_reach_km`
POINT_REACH_SPACINGS = 5.0
POINT_REACH_MIN_KM = 50.0


def _unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (chord distances order like great circles)."""
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack(
        [np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]
    )


def _chord_to_km(chord: np.ndarray) -> np.ndarray:
    from terrakit.data.geo import EARTH_RADIUS_KM

    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0))


def _point_lonlat(units: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    pts = units.geometry
    if units.crs is not None and not units.crs.equals("EPSG:4326"):
        pts = pts.to_crs("EPSG:4326")
    return pts.x.to_numpy(dtype=float), pts.y.to_numpy(dtype=float)


def point_unit_reach_km(units: gpd.GeoDataFrame) -> float:
    """How far (km) an account may lie from its point unit.

    A unit given as a point (a ZIP or census-tract centroid) stands for the
    area around it, about as wide as the distance to the neighbouring units'
    points.  An account may lie :data:`POINT_REACH_SPACINGS` times the median
    distance between a unit point and its nearest neighbour from its unit:
    generous for accounts at the edge of large rural units, yet a row from
    another state or a swapped lon/lat lies much farther.  The distance is at
    least :data:`POINT_REACH_MIN_KM`, for a study of few or clustered units.
    """
    return _reach_km(_point_spacing_km(*_point_lonlat(units)))


def _reach_km(spacing: float | None) -> float:
    """:func:`point_unit_reach_km` from the units' spacing (``None``: unknown)."""
    if spacing is None:
        return POINT_REACH_MIN_KM
    return max(POINT_REACH_SPACINGS * spacing, POINT_REACH_MIN_KM)


def _point_spacing_km(lon: np.ndarray, lat: np.ndarray) -> float | None:
    """Median distance (km) from a unit point to its nearest neighbour."""
    from scipy.spatial import cKDTree

    ok = np.isfinite(lon) & np.isfinite(lat)
    xyz = _unit_vectors(lon[ok], lat[ok])
    if len(xyz) < 2:
        return None
    dist, _ = cKDTree(xyz).query(xyz, k=2)
    nn = _chord_to_km(dist[:, 1])
    nn = nn[nn > 0]  # units sharing a point say nothing of the spacing
    return float(np.median(nn)) if len(nn) else None


def _swap_hint(swapped: np.ndarray, where: str) -> str:
    """``"; swapping lon and lat puts them <where>"`` (or "k of them") for the
    accounts that swapping would put back in place, or ``""``."""
    if not swapped.any():
        return ""
    who = "them" if swapped.all() else f"{int(swapped.sum())} of them"
    return f"; swapping lon and lat puts {who} {where}"


def _check_near_points(accounts: pd.DataFrame, units: gpd.GeoDataFrame) -> None:
    """Raise if accounts lie farther than the reach from their point unit."""
    from scipy.spatial import cKDTree

    pos = units.index.get_indexer(accounts["unit_id"])
    lon = accounts["lon"].to_numpy(dtype=float)
    lat = accounts["lat"].to_numpy(dtype=float)
    has = (pos >= 0) & np.isfinite(lon) & np.isfinite(lat)
    if not has.any():
        return
    ulon, ulat = _point_lonlat(units)
    between = _point_spacing_km(ulon, ulat)
    reach = _reach_km(between)
    spacing = (
        f" (the unit points lie about {between:,.0f} km from their nearest neighbour)"
        if between is not None
        else ""
    )
    acc_xyz = _unit_vectors(lon[has], lat[has])
    unit_xyz = _unit_vectors(ulon[pos[has]], ulat[pos[has]])
    km = _chord_to_km(np.linalg.norm(acc_xyz - unit_xyz, axis=1))
    bad = km > reach
    if not bad.any():
        return
    rows = np.flatnonzero(has)[bad]
    ok = np.isfinite(ulon) & np.isfinite(ulat)
    tree = cKDTree(_unit_vectors(ulon[ok], ulat[ok]))
    swapped_km = _chord_to_km(tree.query(_unit_vectors(lat[rows], lon[rows]), k=1)[0])
    swapped = swapped_km <= reach
    hint = _swap_hint(swapped, "near a unit")
    shown = ", ".join(
        f"{_ids([i])[0]!r}: {d:,.0f} km"
        for i, d in zip(accounts.index[rows][:5], km[bad][:5], strict=False)
    )
    raise DataValidationError(
        "accounts",
        "lon/lat",
        f"{len(rows)} accounts lie more than {reach:,.0f} km from their unit's "
        f"point ({shown}{' ...' if len(rows) > 5 else ''}), outside the area "
        f"the units cover{spacing}{hint}",
        rows=_ids(accounts.index[rows]),
        n_bad=len(rows),
        fix="swap the lon and lat columns"
        if swapped.all()
        else "correct their coordinates or their unit_id, or add the units they lie in",
    )


def check_account_locations(
    accounts: pd.DataFrame,
    units: gpd.GeoDataFrame,
    *,
    tolerance_km: float = ACCOUNT_OUTSIDE_KM,
) -> None:
    """Raise if an account's ``lon``/``lat`` lies far from its unit.

    Each account must fall within ``tolerance_km`` of its unit's bounding box
    (a cheap test, exact for boxes and lenient for odd shapes).  Units given
    as points (e.g. ZIP centroids) have no extent: an account must lie within
    :func:`point_unit_reach_km` of its unit's point instead.  The error names
    the accounts and says when swapping ``lon`` and ``lat`` would put them
    back in place.
    """
    if not {"lon", "lat", "unit_id"} <= set(accounts.columns) or units.crs is None:
        return
    if (units.geom_type == "Point").all():
        _check_near_points(accounts, units)
        return
    pos = units.index.get_indexer(accounts["unit_id"])
    has = pos >= 0
    if not has.any():
        return
    lon = accounts["lon"].to_numpy(dtype=float)
    lat = accounts["lat"].to_numpy(dtype=float)
    bounds = units.geometry.bounds.to_numpy()[pos[has]]
    to_crs = pyproj.Transformer.from_crs("EPSG:4326", units.crs, always_xy=True)

    def far(x_deg: np.ndarray, y_deg: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        x, y = to_crs.transform(x_deg, y_deg)
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if units.crs.is_geographic:
            tol_y = tolerance_km / 111.2
            coslat = np.cos(np.radians(np.clip(np.abs(y), 0.0, 85.0)))
            tol_x = tol_y / coslat
        else:
            metres = units.crs.axis_info[0].unit_conversion_factor
            tol_x = tol_y = tolerance_km * 1000.0 / metres
        return (
            ~np.isfinite(x)
            | ~np.isfinite(y)
            | (x < bounds[:, 0] - tol_x)
            | (x > bounds[:, 2] + tol_x)
            | (y < bounds[:, 1] - tol_y)
            | (y > bounds[:, 3] + tol_y)
        )

    bad_has = far(lon[has], lat[has], bounds)
    if not bad_has.any():
        return
    rows = np.flatnonzero(has)[bad_has]
    swapped = ~far(lat[has][bad_has], lon[has][bad_has], bounds[bad_has])
    hint = _swap_hint(swapped, "in their units")
    raise DataValidationError(
        "accounts",
        "lon/lat",
        f"{len(rows)} accounts lie more than {tolerance_km:g} km outside their "
        f"unit{hint}",
        rows=_ids(accounts.index[rows]),
        n_bad=len(rows),
        fix="swap the lon and lat columns"
        if swapped.all()
        else "correct their coordinates or their unit_id",
    )


def _leading_zeros(
    unknown: Sequence[Any],
    ids: pd.Index,
    *,
    table: str = "the file",
    ref: str = "the referenced table",
) -> tuple[str, str]:
    """The hint and the fix when the unknown ids match ``ids`` once leading
    zeros are stripped from both sides.

    Ids such as FIPS codes, ZIP codes or customer numbers lose their leading
    zeros when a spreadsheet or a CSV reader takes them for numbers
    (``'01001'`` becomes ``1001``), in the file that refers to them or in the
    table they refer to.  Matching them silently could join the wrong rows,
    so the error says what happened instead.

    Parameters
    ----------
    unknown
        The referring values not found among ``ids``.
    ids
        The referenced table's ids.
    table, ref
        How the messages name the referring and the referenced table.

    Returns
    -------
    (str, str)
        ``("; ... lost its leading zeros ...", fix)``, or ``("", "")`` when
        no unknown id matches.
    """
    known: dict[str, str] = {}
    for i in ids:
        t = str(i)
        if t.isdigit():
            known.setdefault(t.lstrip("0") or "0", t)
    pairs = []
    for u in unknown:
        t = str(u)
        full = known.get(t.lstrip("0") or "0") if t.isdigit() else None
        if full is not None and full != t:
            pairs.append((t, full))
    if not pairs:
        return "", ""
    u, full = pairs[0]
    if len(u) < len(full):
        # the referring file lost its zeros
        width = len(full)
        where = "the file" if table == "the file" else f"the {table} file"
        hint = (
            f"; zero-padded to {width} digits, {len(pairs)} of them are known "
            f"({u!r} → {full!r}): {where} lost its leading zeros (restore them "
            f"with .astype(str).str.zfill({width}))"
        )
        fix = (
            "read the ids as text so they keep their zeros (in Excel, format the "
            f"column as Text before exporting), or zero-pad them to {width} digits "
            "before loading"
        )
        return hint, fix
    width = len(u)
    other = ref if ref == "the referenced table" else f"the {ref} table"
    hint = (
        f"; {len(pairs)} of them are known without their leading zeros "
        f"({u!r} → {full!r}): {other} lost the zeros of its ids (stored as "
        "numbers, e.g. by Excel)"
    )
    fix = (
        f"read the ids of {other} as text so they keep their zeros (in Excel, "
        f"format the column as Text before exporting), or zero-pad them to "
        f"{width} digits (.astype(str).str.zfill({width})) before loading"
    )
    return hint, fix


def _align_id_dtype(values: pd.Series, ids: pd.Index) -> pd.Series:
    """Bring foreign-key values to the id dtype when that loses nothing.

    Empty cells stay empty: integer ids given as text with some cells empty
    become floats (as a CSV column of integers with empty cells reads), and
    whole-number floats against text ids become their digits.
    """
    given = values.notna().to_numpy()
    if ptypes.is_integer_dtype(ids.dtype) and not ptypes.is_integer_dtype(values.dtype):
        conv = pd.to_numeric(values, errors="coerce")
        whole = bool((conv[given] == np.round(conv[given])).all())
        if conv.notna().all() and whole:
            return conv.astype(ids.dtype)
        if (
            not ptypes.is_float_dtype(values.dtype)
            and conv[given].notna().all()
            and whole
            and bool((conv[given].abs() < 2**53).all())
        ):
            return conv.astype(np.float64)
    if ptypes.is_object_dtype(ids.dtype) or ptypes.is_string_dtype(ids.dtype):
        if ptypes.is_integer_dtype(values.dtype):
            return values.astype(str).astype(object)
        if ptypes.is_float_dtype(values.dtype) and given.any():
            part = values[given]
            if bool((part == np.round(part)).all()):
                out = pd.Series(np.nan, index=values.index, dtype=object)
                out[given] = [str(int(v)) for v in part]
                return out
    return values


def _as_text(v: Any) -> str:
    """An id as text, a whole-number float as its digits (``7.0`` → ``'7'``)."""
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and v == int(v):
        return str(int(v))
    return str(v)


def ids_equal_only_as_text(known: Any, given: Any) -> list[tuple[Any, Any]]:
    """``(given id, known id)`` pairs equal as text (``'1'`` and ``1``) when
    no id of ``given`` is one of ``known`` — one side read from a file, the
    other built in Python — sorted by the given id as text; ``[]`` when some
    id matches exactly or none matches as text."""
    known_ids, given_ids = set(known), list(dict.fromkeys(given))
    if not given_ids or not known_ids.isdisjoint(given_ids):
        return []
    by_text = {str(t): t for t in known_ids}
    return [
        (t, by_text[str(t)])
        for t in sorted((t for t in given_ids if str(t) in by_text), key=str)
    ]


def rep_of_territories(territories: pd.Series, rep_ids: pd.Index) -> pd.Series:
    """The rep id of every territory id (``None`` where there is no such rep).

    A territory id is its rep's id.  One that is no rep id but equals exactly
    one rep id as text (``'7'`` for rep ``7``: an alignment read from a CSV
    beside reps with integer ids, or the other way round) is matched to that
    rep, as the :class:`~terrakit.data.Study` matches the accounts' owners:
    the conversion loses nothing, and without it every account would lose
    its owner and look changed.
    """
    t = territories.astype(object)
    known = t.isin(rep_ids)
    rep_id = t.where(known, None).astype(object)
    if known.all() or not len(rep_ids):
        return rep_id
    by_text: dict[str, Any] = {}
    clash: set[str] = set()
    for r in rep_ids.tolist():
        key = _as_text(r)
        if key in by_text:
            clash.add(key)  # two rep ids alike as text: no match by text
        by_text[key] = r
    for k in clash:
        del by_text[k]
    missing = ~known & t.notna()
    matched = t[missing].map(lambda v: by_text.get(_as_text(v)))
    rep_id[missing] = matched.to_numpy(dtype=object)
    return rep_id


def clean_reps(reps: pd.DataFrame) -> pd.DataFrame:
    """Validate the reps table: unique ``rep_id``, home lon/lat, capacities >= 0."""
    table = "reps"
    if not isinstance(reps, pd.DataFrame):
        raise DataValidationError(
            table,
            None,
            f"expected a DataFrame, got {type(reps).__name__}",
            fix="read reps with tk.data.read_reps(path)",
        )
    check_unique_columns(reps, table)
    reps = _without_decimals(_check_index(reps, table, "rep_id"), ("home_unit",))
    require_columns(reps, table, ["home_lon", "home_lat"])
    _check_lonlat(reps, table, "home_lon", "home_lat")
    reps = _check_numeric(
        reps,
        table,
        [c for c in ("capacity_hours", "fte") if c in reps.columns],
        required=True,
    )
    return reps


def clean_history(
    history: pd.DataFrame,
    account_ids: pd.Index | None,
    unit_ids: pd.Index | None,
    *,
    period_format: str | None = None,
) -> pd.DataFrame:
    """Validate the long sales history; ``period`` becomes a monthly Period."""
    table = "history"
    if not isinstance(history, pd.DataFrame):
        raise DataValidationError(
            table,
            None,
            f"expected a DataFrame, got {type(history).__name__}",
            fix="read history with tk.data.read_history(path)",
        )
    check_unique_columns(history, table)
    key = "account_id" if "account_id" in history.columns else "unit_id"
    require_columns(
        history,
        table,
        [key, "period", "sales"],
        hint="history needs account_id (or unit_id), period and sales "
        "columns; map yours with columns={...}",
    )
    history = history.reset_index(drop=True) if history.index.name else history
    out = _without_decimals(history, ("account_id", "unit_id")).copy()
    out["period"] = parse_periods(out["period"], table, period_format)
    out = _check_numeric(
        out, table, ["sales", *(["calls"] if "calls" in out else [])], required=True
    )
    ids = account_ids if key == "account_id" else unit_ids
    if ids is not None:
        k = _align_id_dtype(out[key], ids)
        unknown = ~k.isin(ids)
        if unknown.any():
            shown = list(dict.fromkeys(_ids(k[unknown])))
            what = key.split("_")[0]
            zeros, zero_fix = _leading_zeros(
                shown, ids, table="history", ref=f"{what}s"
            )
            raise DataValidationError(
                table,
                key,
                f"{int(unknown.sum())} rows refer to {what}s that are not "
                f"in the {what}s table{zeros}",
                rows=shown,
                n_bad=len(shown),
                fix=zero_fix or f"add the missing {what}s or drop their history rows",
            )
        out[key] = k
    dup = out.duplicated([key, "period"], keep="first")
    if dup.any():
        pairs = list(
            dict.fromkeys(
                f"{a} {p}"
                for a, p in zip(out.loc[dup, key], out.loc[dup, "period"], strict=True)
            )
        )
        raise DataValidationError(
            table,
            "period",
            f"{len(pairs)} ({key}, month) pairs occur more than once "
            f"({int(dup.sum())} extra rows; periods are months, so two dates in "
            "the same month collide)",
            rows=pairs,
            n_bad=len(pairs),
            fix="sum the duplicated months first: history.groupby("
            f"[{key!r}, 'period'], as_index=False).sum()",
        )
    return out


#: dates written ``a/b/yyyy`` (or with ``.``/``-``): day-first or month-first?
_A_B_YEAR = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?:[ T].*)?$")

#: formats tried on months that do not parse, to suggest ``period_format``
_PERIOD_FORMATS = (
    "%Y%m",
    "%b-%y",
    "%b %y",
    "%b-%Y",
    "%b %Y",
    "%B %Y",
    "%B-%Y",
    "%m/%Y",
    "%m-%Y",
    "%m.%Y",
    "%Y/%m",
    "%Y.%m",
    "%m/%y",
)


def _months_of_a_b_year(
    text: pd.Series, table: str, fmt: str | None
) -> pd.Series | None:
    """Months of dates written ``a/b/yyyy``, read with ONE order for the column.

    ``pd.to_datetime(format="mixed")`` decides day-first or month-first for
    each value on its own, so ``05/02/2024`` becomes May and ``15/02/2024``
    February in the same column.  The order is taken from the values: a
    field above 12 is the day; when every field is 12 or less, the field that
    is constant (the 1st of each month) is the day.  Returns ISO months
    (``"2024-02"``) for those rows, ``<NA>`` elsewhere, or ``None`` when no
    value has that form.
    """
    parts = text.str.extract(_A_B_YEAR)
    hit = parts[0].notna().to_numpy()
    if fmt is not None or not hit.any():
        return None
    a = parts.loc[hit, 0].astype(int)
    b = parts.loc[hit, 1].astype(int)
    year = parts.loc[hit, 2].astype(int)
    year = year.where(parts.loc[hit, 2].str.len() == 4, year + 2000 - 100 * (year > 68))
    # a value with both fields above 12 (or above 31) is no date: reported later
    date = ~(((a > 12) & (b > 12)) | (a > 31) | (b > 31))
    a_day, b_day = bool((a[date] > 12).any()), bool((b[date] > 12).any())
    if a_day and b_day:
        i_a, i_b = a.index[date & (a > 12)][0], b.index[date & (b > 12)][0]
        raise DataValidationError(
            table,
            "period",
            "the dates mix day-first and month-first: "
            f"{text[i_a]!r} has the day first, {text[i_b]!r} the month first",
            rows=[f"row {i_a}", f"row {i_b}"],
            fix="export the column with one date format, or pass period_format= "
            "(e.g. '%d/%m/%Y') to the loader",
        )
    a_d, b_d = a[date], b[date]
    if a_day or (not b_day and a_d.nunique() == 1 and b_d.nunique() > 1):
        month = b
    elif b_day or (a_d == b_d).all() or (b_d.nunique() == 1 and a_d.nunique() > 1):
        month = a
    else:
        example = text[a_d.index[0]]
        raise DataValidationError(
            table,
            "period",
            f"dates such as {example!r} can be read day-first or month-first and "
            "the values do not tell which",
            rows=[f"row {i}" for i in a_d.index],
            n_bad=len(a_d),
            fix="pass period_format='%d/%m/%Y' (day first) or '%m/%d/%Y' (month "
            "first) to the loader, with the separator of your file",
        )
    iso = year.astype(str).str.zfill(4) + "-" + month.astype(str).str.zfill(2)
    ok = date & (month >= 1) & (month <= 12)
    out = pd.Series(pd.NA, index=text.index, dtype="string")
    out[iso.index] = iso.where(ok, "not a date")
    return out


def _suggest_period_format(texts: Sequence[str]) -> str:
    """A ``period_format=...`` that reads every one of ``texts``, or ``""``.

    ``texts`` are all the text cells of the column, those that parsed without
    a format too: a format that reads the cells refused but not the others
    would only move the refusal to them.
    """
    sample = pd.Series(list(dict.fromkeys(texts)), dtype="string")
    for f in _PERIOD_FORMATS:
        if pd.to_datetime(sample, format=f, errors="coerce").notna().all():
            return f
    return ""


def _period_format_fix(bad: list[str], texts: list[str]) -> str:
    """The fix for months ``bad`` that do not parse without a format, of the
    column's text cells ``texts``: a ``period_format`` that reads them all,
    or, where one reads ``bad`` but not the others, one format for all."""
    guess = _suggest_period_format(texts)
    if guess:
        return (
            f"pass period_format={guess!r} to the loader (it reads all of "
            "them), or write months as YYYY-MM"
        )
    guess = _suggest_period_format(bad[:200])
    if not guess:
        return ""
    read = pd.to_datetime(
        pd.Series(texts, dtype="string"), format=guess, errors="coerce"
    )
    other = texts[int(np.flatnonzero(read.isna().to_numpy())[0])]
    return (
        f"the column mixes formats: period_format={guess!r} reads these but not "
        f"others such as {other!r}; write every month in one format, e.g. as "
        "YYYY-MM (2024-03)"
    )


def _date_cells(values: pd.Series) -> np.ndarray:
    """Which cells of ``values`` hold dates (a workbook's date cells, read as
    objects beside its text cells), not text."""
    if not ptypes.is_object_dtype(values.dtype):
        return np.zeros(len(values), dtype=bool)
    return np.array(
        [isinstance(v, (datetime.date, np.datetime64)) for v in values], dtype=bool
    )


def parse_periods(
    values: pd.Series, table: str = "history", fmt: str | None = None
) -> pd.Series:
    """Parse months ('2024-03', '2024-03-01', dates, Periods) into ``Period[M]``.

    Dates written ``dd/mm/yyyy`` or ``mm/dd/yyyy`` are read with one order for
    the whole column, taken from the values (a field above 12 is the day);
    when the values cannot tell, the error asks for ``fmt``.  Dates stored as
    dates (an Excel column of date cells) are read as dates, whatever ``fmt``.

    Raises
    ------
    DataValidationError
        Values that are not months: quarters (``'2024Q2'``, or a quarterly
        Period dtype), years (``'2024'``, unless ``fmt`` says how to read
        four digits), text that does not parse.
    """
    if isinstance(values.dtype, pd.PeriodDtype):
        if values.dtype == pd.PeriodDtype("M"):
            return values
        # a quarter or a year relabelled as one month would be read as one
        # month's sales and calls (a quarterly history's calls per year came
        # out 3 times too high)
        raise DataValidationError(
            table,
            "period",
            f"the periods are {values.dtype}, not months "
            f"(e.g. {str(values.iloc[0]) if len(values) else ''!r}): terrakit "
            "reads one row per account and month",
            fix="give monthly rows (split or re-aggregate the figures by month), "
            "or, if the values are monthly, convert them with "
            "values.dt.to_timestamp().dt.to_period('M')",
        )
    dates = np.zeros(len(values), dtype=bool)
    if ptypes.is_datetime64_any_dtype(values.dtype):
        parsed = values
    elif ptypes.is_object_dtype(values.dtype) and ptypes.infer_dtype(
        values, skipna=True
    ) in ("datetime", "datetime64", "date"):
        # date cells of a workbook, read as objects so that its text cells
        # stay text: dates, as a column of datetimes would be
        parsed = pd.to_datetime(values)
    else:
        # date cells beside text cells ('03.2024'): the dates are read as
        # dates, fmt (and the checks of text) apply to the text cells
        dates = _date_cells(values)
        parsed = _parse_month_texts(values[~dates], table, fmt)
        if dates.any():
            both = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
            both[dates] = _naive(pd.to_datetime(values[dates])).to_numpy(
                dtype="datetime64[ns]"
            )
            both[~dates] = _naive(parsed).to_numpy(dtype="datetime64[ns]")
            parsed = pd.Series(both, index=values.index)
    bad = parsed.isna()
    if bad.any():
        bad_vals = list(dict.fromkeys(values[bad].astype(str)))
        texts = list(dict.fromkeys(values[~dates].dropna().astype(str)))
        guess = _period_format_fix(bad_vals, texts) if fmt is None else ""
        numeric = pd.to_numeric(pd.Series(bad_vals), errors="coerce")
        if guess:
            fix = guess
        elif numeric.notna().all() and numeric.between(20_000, 80_000).all():
            fix = (
                "these look like Excel day numbers: format the column as dates "
                "in Excel, or convert it with pd.to_datetime(values, unit='D', "
                "origin='1899-12-30')"
            )
        else:
            fix = (
                "write months as YYYY-MM (e.g. 2024-03) or pass period_format="
                "'%m/%Y' (the format of your file) to the loader"
            )
        raise DataValidationError(
            table,
            "period",
            f"{int(bad.sum())} periods do not parse as months (e.g. {bad_vals[0]!r})"
            + (f" with period_format={fmt!r}" if fmt is not None else ""),
            rows=[f"row {i}" for i in values.index[bad]],
            n_bad=int(bad.sum()),
            fix=fix,
        )
    parsed = _naive(parsed)
    out = parsed.dt.to_period("M")
    _warn_quarter_starts(out, table)
    return out


def _naive(parsed: pd.Series) -> pd.Series:
    """Datetimes without their time zone (the local month)."""
    if getattr(parsed.dt, "tz", None) is not None:
        return parsed.dt.tz_localize(None)
    return parsed


def _parse_month_texts(values: pd.Series, table: str, fmt: str | None) -> pd.Series:
    """Months written as text (``values``: the cells that are no dates) as
    datetimes, ``NaT`` where they do not parse; quarters and years refused."""
    text = values.astype("string")
    quarters = text.str.fullmatch(_QUARTER, case=False).fillna(False)
    if bool(quarters.any()):
        # '2024Q2' parses as April: a quarter's figures would be read as
        # one month's (a forecast came out about 3 times too high)
        first = str(text[quarters].iloc[0])
        raise DataValidationError(
            table,
            "period",
            f"{int(quarters.sum())} periods are quarters, not months (e.g. "
            f"{first!r}): terrakit reads one row per account and month",
            rows=[f"row {i}" for i in values.index[quarters][:20]],
            n_bad=int(quarters.sum()),
            fix="give monthly rows (split or re-aggregate the figures by month)",
        )
    years = text.str.fullmatch(_YEAR).fillna(False)
    if fmt is None and bool(years.any()):
        # '2024' parses as January 2024: a year's figures would be read as
        # one month's (12 times too high per month)
        first = str(text[years].iloc[0])
        raise DataValidationError(
            table,
            "period",
            f"{int(years.sum())} periods are years, not months (e.g. "
            f"{first!r}): terrakit reads one row per account and month",
            rows=[f"row {i}" for i in values.index[years][:20]],
            n_bad=int(years.sum()),
            fix="give monthly rows (split or re-aggregate the figures by "
            "month); if the four digits are a month (e.g. '0124', January "
            "2024), pass period_format='%m%y' to the loader",
        )
    months = _months_of_a_b_year(text, table, fmt)
    if months is not None:
        text = text.where(months.isna(), months)
    return pd.to_datetime(text, format=fmt or "mixed", errors="coerce")


#: A quarter written as text: '2024Q2', '2024-Q2', 'Q2 2024', 'Q2/2024'.
_QUARTER = r"\s*(\d{4}\s*[-/ ]?\s*Q[1-4]|Q[1-4]\s*[-/ ]?\s*\d{4})\s*"
#: A year alone: '2024'.
_YEAR = r"\s*\d{4}\s*"


def _warn_quarter_starts(periods: pd.Series, table: str) -> None:
    """Warn when every period is a quarter's first month over a year or more:
    quarterly figures dated at the quarter's start are read as one month's
    (a monthly history with rows in every month never looks like this)."""
    import warnings

    from terrakit.exceptions import TerrakitWarning

    distinct = pd.PeriodIndex(periods.dropna().unique(), freq="M")
    if len(distinct) < 4:
        return
    if not np.isin(distinct.month, (1, 4, 7, 10)).all():
        return
    span = (distinct.max() - distinct.min()).n
    if span < 12:
        return
    warnings.warn(
        f"{table}.period: all {len(distinct)} months are the first month of a "
        f"quarter ({distinct.min()} to {distinct.max()}): if these rows are "
        "quarterly figures, each is read as one month's sales and calls "
        "(about 3 times too high per month). Fix: give monthly rows; ignore this "
        "if the history really has sales only in those months",
        TerrakitWarning,
        stacklevel=3,
    )


def warn_potential_below_sales(
    territories: Sequence[Any] | np.ndarray | pd.Index,
    potential: np.ndarray,
    sales: np.ndarray,
    *,
    who: str,
    sales_of: str,
    effect: str,
    advice: str,
    stacklevel: int = 3,
) -> None:
    """Warn about selling territories whose potential is 0 or below their sales.

    Targets split by potential give such a territory a target below what it
    sells (0 for no potential).  Potential below sales is only flagged when
    the potential as a whole is on the scale of sales (its total at least the
    total sales); a potential index on another scale gives shares alone.
    ``who`` starts the message, ``sales_of`` names the sales compared
    (``"their yearly sales"``), ``effect`` says what follows and ``advice``
    what else to use; ``stacklevel`` points the warning at the user's call
    (3: the caller's caller).
    """
    from terrakit.exceptions import TerrakitWarning

    pot = np.asarray(potential, dtype=float)
    sold = np.asarray(sales, dtype=float)
    low = (sold > 0) & (pot <= 0)
    if pot.sum() >= sold.sum():
        low |= (sold > 0) & (pot < sold)
    if not low.any():
        return
    named = first_few(
        (
            f"{territories[i]} (potential {pot[i]:,.0f} vs sales {sold[i]:,.0f})"
            for i in np.flatnonzero(low).tolist()
        ),
        show=str,
    )
    warnings.warn(
        f"{who}: territories with a potential of 0 or below {sales_of} "
        f"({int(low.sum())} of {len(pot)}): {named}; {effect}. Check the "
        f"potential (a missing estimate filled with 0?) or {advice}",
        TerrakitWarning,
        stacklevel=stacklevel,
    )


def check_given_ids(
    keys: pd.Index,
    ids: pd.Index,
    *,
    table: str,
    what: str,
    values: pd.Series | None = None,
) -> None:
    """Refuse keys of a table given by the user (``potential`` per unit,
    ``travel`` per account) that are not ids of the study.

    Such an entry would be left out in silence, and with it, e.g., a share of
    the potential.  Keys that are the study's ids in the other type (``1``
    given for ``'1'``, or ``'1'`` for ``1``) are named as such with the
    conversion that fixes them, keys that lost (or gained) leading zeros as
    that (:func:`account_units` does the same for the
    accounts' ``unit_id``); ``values`` (per key), when given, tell how much of
    their total the unknown keys hold.

    Raises
    ------
    DataValidationError
        Naming the unknown keys (``table``; ``what`` is ``"unit"`` or
        ``"account"``).
    """
    unknown = keys[~keys.isin(ids)]
    if not len(unknown):
        return
    shown = list(dict.fromkeys(_ids(unknown)))
    as_ids = _align_id_dtype(pd.Series(unknown, dtype=unknown.dtype), ids)
    typed = as_ids.isin(ids).to_numpy()
    if typed.any():
        first = int(np.flatnonzero(typed)[0])
        key, same = _ids([unknown[first], as_ids.iloc[first]])
        n = int(typed.sum())
        kinds = [_id_kind(v) for v in (key, same)]
        given, study_kind = (k + "s" if k == "number" else k for k in kinds)
        to = "str" if kinds[1] == "text" else repr(ids.dtype.name)
        raise DataValidationError(
            table,
            None,
            f"{'its' if n == len(keys) else f'{n} of its'} {len(keys)} {what} "
            f"ids are {given} (e.g. {key!r}) where the study's {what} ids are "
            f"{study_kind} (e.g. {same!r}): {key!r} is not {same!r}, so they "
            f"match no {what}",
            rows=_ids(unknown[typed]),
            n_bad=n,
            fix=f"convert the ids first: {table}.index = {table}.index.astype({to})",
        )
    held = ""
    if values is not None:
        total = float(np.nansum(values.to_numpy(dtype=float)))
        part = float(np.nansum(values.reindex(unknown).to_numpy(dtype=float)))
        if total > 0:
            held = f" ({100 * part / total:.0f} % of the {table} given)"
    zeros, zero_fix = _leading_zeros(shown, ids, table=table, ref=f"{what}s")
    one = len(shown) == 1
    raise DataValidationError(
        table,
        None,
        f"{table} is given for {len(shown)} {what}{'' if one else 's'} that the "
        f"study does not have{held}; {'it' if one else 'they'} would be left "
        f"out in silence{zeros}",
        rows=shown,
        n_bad=len(shown),
        fix=zero_fix
        or f"drop {'it' if one else 'them'} from {table}, or pass the study "
        f"{'it belongs' if one else 'they belong'} to (check the id type: "
        "'13121' is not 13121)",
    )


def check_draws_shape(draws: np.ndarray, n: int, name: str = "draws") -> None:
    """``draws`` must be ``(n, S)`` with ``S ≥ 1``; a
    :class:`DataValidationError` naming ``name`` and the fix otherwise."""
    shape = tuple(draws.shape)
    if draws.ndim == 2 and shape[0] == n and shape[1] >= 1:
        return
    if draws.ndim == 2 and shape[0] == n:
        problem = f"no draws: shape {shape}, {n} units × 0 draws"
        fix = "give at least one draw per unit (e.g. potential.draws(...))"
    else:
        problem = f"expected (n_units={n}, n_draws), got shape {shape}"
        fix = (
            "give one row per unit and one column per draw"
            + (" (transpose it: .T)" if draws.ndim == 2 and shape[1] == n else "")
            + ", or a DataFrame indexed by unit id"
        )
    raise DataValidationError(name, None, problem, fix=fix)


def draws_by_unit(
    draws: Any, unit_ids: pd.Index, *, table: str = "balance_on_draws"
) -> np.ndarray:
    """Draws of an activity (``balance_on_draws=``, a metric's ``draws``) as a
    ``units × draws`` array in the units' order; errors name ``table``.

    A DataFrame (or a 2-D xarray ``DataArray``, e.g. ``potential.draws(...)``)
    is matched to the units by its index; a plain array is taken in the units'
    order.  A shape other than ``(n_units, n_draws ≥ 1)`` is refused, and
    so are a DataArray of more than two dims (a posterior's ``chain, draw``
    not yet stacked), a DataFrame laid out draws × units (the unit ids in its
    columns), index entries that are not units, non-numeric columns, and
    missing, non-finite and negative draws by unit.
    """
    if callable(getattr(draws, "draws", None)) and hasattr(draws, "idata"):
        raise DataValidationError(
            table,
            None,
            f"got the {type(draws).__name__} itself, not its draws",
            fix="pass its draws by unit: potential.draws('unit') (all of them) "
            "or potential.draws('unit', n_draws=..., seed=...)",
        )
    if hasattr(draws, "dims") and hasattr(draws, "to_pandas"):
        if len(draws.dims) > 2:
            raise DataValidationError(
                table,
                None,
                f"a DataArray of {len(draws.dims)} dims {tuple(draws.dims)}; "
                "expected 2 (unit, draw)",
                fix=_stack_hint(tuple(draws.dims)),
            )
        draws = draws.to_pandas()
    if isinstance(draws, pd.DataFrame):
        draws = _frame_by_unit(draws, unit_ids, table)
        arr = draws.to_numpy(dtype=float, na_value=np.nan)
    else:
        try:
            arr = np.asarray(draws, dtype=float)
        except (TypeError, ValueError) as err:
            raise DataValidationError(
                table,
                None,
                f"the draws are not all numbers ({err})",
                fix="pass numeric draws of a non-negative activity (e.g. "
                "potential.draws(...)), one row per unit",
            ) from None
    check_draws_shape(arr, len(unit_ids), table)
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise DataValidationError(
            table,
            None,
            f"{int(bad.sum())} draws are missing, infinite or negative "
            f"(in {len(rows)} units)",
            rows=list(unit_ids[rows]),
            n_bad=len(rows),
            fix="pass draws of a non-negative activity (e.g. potential) for every unit",
        )
    return arr


def _stack_hint(dims: tuple[Hashable, ...]) -> str:
    """The fix for a DataArray of draws with more than two dims."""
    rest = [d for d in dims if d not in ("chain", "draw")]
    if "chain" in dims and "draw" in dims and len(rest) == 1:
        return (
            "stack chain and draw into one dim, units first: "
            f"draws.stack(sample=('chain', 'draw')).transpose({rest[0]!r}, "
            "'sample'), or use PotentialResult.draws(), which does this"
        )
    return (
        "give a 2-D (unit, draw) array, e.g. PotentialResult.draws(), or stack "
        "the other dims into one with .stack(...)"
    )


def _frame_by_unit(draws: pd.DataFrame, unit_ids: pd.Index, table: str) -> pd.DataFrame:
    """A DataFrame of draws, its rows matched to ``unit_ids`` (checked)."""
    twice = draws.index[draws.index.duplicated()]
    if len(twice):
        shown = list(dict.fromkeys(twice))
        raise DataValidationError(
            table,
            "index",
            f"{len(shown)} unit ids have more than one row of draws",
            rows=shown,
            fix="give one row of draws per unit id (draws of several model "
            "runs go side by side as columns, not stacked as rows)",
        )
    extra = draws.index.difference(unit_ids, sort=False)
    missing = unit_ids.difference(draws.index, sort=False)
    text = {str(u) for u in unit_ids}
    # index entries that are unit ids of another type ("1" for 1)
    typed = [e for e in extra if str(e) in text]
    in_rows = len(draws.index) - len(extra) + len(typed)
    in_cols = int(draws.columns.isin(unit_ids).sum())
    # draws × units: more unit ids among the columns than among the rows,
    # or as many but a purer match (draw numbers 0..S-1 against ids 1..n)
    if in_cols and (
        in_cols > in_rows
        or in_cols / len(draws.columns) > in_rows / max(len(draws.index), 1)
    ):
        raise DataValidationError(
            table,
            None,
            f"the draws are laid out draws × units: {in_cols} of "
            f"{len(unit_ids)} unit ids are among its columns, {in_rows} among its "
            "index "
            f"(shape {draws.shape})",
            fix="transpose it: .T, one row per unit id and one column per draw",
        )
    if len(missing):
        hint = id_hint(typed[0], list(unit_ids), "unit") if typed else ""
        raise DataValidationError(
            table,
            "index",
            f"{len(missing)} units have no draws{hint}",
            rows=list(missing),
            fix="give one row of draws per unit id (the index of "
            "potential.draws(...).to_pandas())",
        )
    if len(extra):
        raise DataValidationError(
            table,
            "index",
            f"{len(extra)} rows are not units of the study and would be dropped",
            rows=list(extra),
            fix="give draws for the study's units only (draws.loc[units.index]), "
            "and check that the index holds unit ids, not draw numbers",
        )
    draws = draws.reindex(unit_ids)
    text_cols = []
    for col in draws.columns:
        values = draws[col]
        if pd.api.types.is_numeric_dtype(values):
            continue
        num = pd.to_numeric(values, errors="coerce")
        wrong = num.isna() & values.notna()
        if wrong.any():
            text_cols.append((col, values[wrong]))
    if text_cols:
        col, wrong = text_cols[0]
        more = f" and {len(text_cols) - 5} more"
        raise DataValidationError(
            table,
            str(col),
            f"{len(text_cols)} column{'s' if len(text_cols) > 1 else ''} "
            f"not numeric: {', '.join(repr(c) for c, _ in text_cols[:5])}"
            f"{more if len(text_cols) > 5 else ''} "
            f"({wrong.iloc[0]!r} in unit {wrong.index[0]!r})",
            rows=list(wrong.index),
            fix="drop the columns that are not draws (draws.drop(columns=[...])): "
            "every column must be one numeric draw",
        )
    return draws


def id_hint(given: Any, known: Sequence[Hashable], what: str) -> str:
    """The tail of an unknown-id error: the id of the same text but another
    type (``13121`` for ``"13121"``), else the closest ids."""
    same = [k for k in known if str(k) == str(given)]
    if same:
        return (
            f"; the {what} ids are {type(same[0]).__name__} "
            f"({same[0]!r}), not {type(given).__name__}: give {same[0]!r}"
        )
    folded = {str(k).casefold(): k for k in known}
    close = [
        folded[c]
        for c in difflib.get_close_matches(str(given).casefold(), list(folded), n=3)
    ]
    if close:
        return f"; did you mean {', '.join(repr(c) for c in close)}?"
    shown = ", ".join(repr(k) for k in list(known)[:10])
    more = f" and {len(known) - 10} more" if len(known) > 10 else ""
    return f"; the {what} ids are {shown}{more}"

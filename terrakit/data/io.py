"""Loaders for a study's tables: CSV, Excel, Parquet, GeoPackage, GeoJSON, Shapefile.

Every loader takes a ``columns`` mapping ``{"name in your file": "terrakit name"}``
so a CRM export loads without editing the file, validates the result at the
door (:mod:`terrakit.data.validation`) and only reads: files on disk are never
changed.

Delimited text (CSV / TXT / TSV) is read the way spreadsheets write it:

* UTF-8 with or without the byte-order mark Excel's "CSV UTF-8" adds, and
  UTF-16 with a byte-order mark (Excel's "Unicode Text").  A file that is not
  UTF-8 is read as Windows-1252 (Excel's plain "CSV" on Western-European
  Windows) with a :class:`~terrakit.exceptions.TerrakitWarning`;
  ``encoding=...`` names the encoding instead (``"utf-8"`` drops the
  byte-order mark too).
* A delimiter ending every line (one empty value more than the header has
  names, as many exports write) is dropped; a line holding a value past the
  header's columns is refused naming the line, as is a quote never closed.
* In a file whose delimiter is not a comma (``;`` or tab, as Excel writes
  where the comma is the decimal mark), numbers such as ``-84,3`` or
  ``1.234,5`` are read with a decimal comma when the file shows it
  unambiguously (a comma followed by other than three digits, or a ``.``
  grouping thousands before it).  Where every such number could also be a
  comma grouping thousands (``1,234``), or the file has both kinds, the loader
  asks for ``decimal=","`` or ``decimal="."``.  A dot followed by three
  digits (``1.250``) is a decimal point when another number shows one
  (``12.5``, ``3.14159``; a coordinate such as ``-84.388``) and groups
  thousands when another shows that (``1.250.000``, or a decimal comma);
  otherwise the loader asks too.  ``decimal="."`` reads commas grouping
  thousands (``1,600``), ``decimal=","`` dots grouping them (``1.600``).
  Comma-separated files are read with a decimal point, as before; there
  ``decimal="."`` reads quoted numbers whose commas group thousands
  (``"1,600"``) and ``decimal=","`` quoted decimal commas (``"-84,3"``).
  A coordinate's dot (:data:`COORDINATE_COLUMNS`: ``-84.388``) is a decimal
  point in every file, with or without decimal commas in the other columns.
* Workbooks, Parquet and spatial files hold typed numbers; the ones stored
  as text (``'12,5'``, ``'1,600'``) are read with the mark ``decimal=`` gives.
* A workbook whose header row is a title (``Sales reps 2025`` above the
  column names) is refused naming the row that holds the column names: delete
  the rows above it.  There is no ``header=``/``skiprows`` option, so that the
  sheet read is the sheet seen.
* Leading and trailing spaces around ids (``"R09 "``), in every format, are
  removed with a warning naming the table, the column and the rows, so that
  the tables still match each other; around column names
  (``"capacity_hours "``) too, with a warning naming them.  A name terrakit
  reads (or ``columns=`` maps) written twice in a header is refused: which
  column holds it cannot be told.
* A Parquet file written by pandas from a table indexed by its ids (a
  Study's ``accounts``) is read with the ids as a column, as other formats
  hold them.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import json
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
from pandas.api import types as ptypes
from shapely import wkt as _wkt

from terrakit.data.validation import (
    KNOWN_COLUMNS,
    _check_lonlat,
    check_account_locations,
    clean_accounts,
    clean_history,
    clean_reps,
    clean_units,
    first_few,
    misspelt_targets,
    require_columns,
)
from terrakit.exceptions import CRSWarning, DataValidationError, TerrakitWarning

__all__ = ["read_accounts", "read_history", "read_reps", "read_units"]

_TABULAR = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".parquet", ".pq"}
_SPATIAL = {".gpkg", ".geojson", ".json", ".shp", ".fgb", ".zip"}
#: terrakit's column names longer than a shapefile's 10 characters: a
#: shapefile holds them cut short (``calls_per_``), and they are renamed back
_LONG_NAMES = (
    "territory_id",
    "calls_per_year",
    "call_minutes",
    "annual_sales",
    "capacity_hours",
)

PathLike = str | os.PathLike[str]
Decimal = Literal[".", ","]

#: Read when a text file is not UTF-8: what Excel's plain "CSV" writes on
#: Western-European Windows (a superset of latin-1's printable characters).
_FALLBACK_ENCODING = "cp1252"

# A number written with a decimal comma, thousands grouped by '.' or not:
# '-84,3', '1600', '1.234,5', '1.600'.
_DECIMAL_COMMA = re.compile(r"[+-]?(?:\d+|\d{1,3}(?:\.\d{3})+)(?:,\d+)?")
# A number whose thousands are grouped by ',': '1,234', '1,234,567', '1,234.5'.
_THOUSANDS_COMMA = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
# A number with a decimal point or none: '-84.3', '1600', '.5', '1e3'.
_PLAIN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# A number whose one dot may be a decimal point or group thousands: '1.250'.
_DOT_EITHER = re.compile(r"[+-]?[1-9]\d{0,2}\.\d{3}")
# A number whose dots can only group thousands: '1.250.000'.
_DOT_GROUPS = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3}){2,}")
#: terrakit's coordinate columns: numbers that locate a row, never summed or
#: divided; read with a dot grouping thousands, '-84.388' would be -84388
#: degrees, so their dots are decimal points
COORDINATE_COLUMNS = frozenset({"lon", "lat", "home_lon", "home_lat"})
#: What pandas reads as a missing value by default (``read_csv``'s
#: ``na_values``): kept in every column but the ids (:func:`_missing_markers`)
_NA_TEXT = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)


def excel_text(cell: Any) -> None:
    """Keep an openpyxl text cell text.

    openpyxl stores a string that starts with ``=`` as a formula and one that
    is an error code (``#N/A``) as an error: a segment ``=A`` would read back
    empty and a name ``=HYPERLINK(...)`` would become a live link.  terrakit
    writes data, never formulas, so such cells are stored as strings.
    """
    if isinstance(cell.value, str) and cell.data_type in ("f", "e"):
        cell.data_type = "s"


def excel_sheet_as_text(ws: Any) -> None:
    """:func:`excel_text` on every cell of an openpyxl worksheet."""
    for row in ws.iter_rows():
        for cell in row:
            excel_text(cell)


def _did_you_mean(name: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``""``."""
    lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
    return f" (did you mean {lower[close[0]]!r}?)" if close else ""


def _sheet_names(p: Path) -> list[str]:
    with pd.ExcelFile(p) as xl:
        return [str(n) for n in xl.sheet_names]


# -- delimited text: encoding, decimal comma ---------------------------------------
def _sheet_with(p: Path, sheets: list[str], columns: list[str]) -> str | None:
    """The first of ``sheets`` of workbook ``p`` whose header has ``columns``."""
    for name in sheets:
        try:
            head = pd.read_excel(p, sheet_name=name, nrows=0)
        except (ValueError, OSError):
            continue
        if set(columns) <= {str(_clean_name(c)) for c in head.columns}:
            return name
    return None


def _text_encoding(p: Path) -> str:
    """``"utf-16"`` for a file opening with a UTF-16 byte-order mark, else
    ``"utf-8-sig"`` (UTF-8, dropping the byte-order mark Excel may write)."""
    with p.open("rb") as f:
        head = f.read(2)
    if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    return "utf-8-sig"


def _bad_byte(err: UnicodeDecodeError) -> str:
    """``"byte 0xe9"``: the first byte the codec could not read."""
    try:
        return f"byte 0x{err.object[err.start]:02x}"
    except (IndexError, TypeError):
        return str(err)


def _sniff_delimiter(p: Path, encoding: str) -> str | None:
    """The delimiter pandas' sniffer picks from the first non-blank line."""
    with p.open(encoding=encoding, newline="") as f:
        for line in f:
            if line.strip():
                try:
                    return csv.Sniffer().sniff(line).delimiter
                except csv.Error:
                    return None
    return None


def _filled(col: pd.Series) -> pd.Series:
    """The non-blank values of a column read as text, stripped."""
    s = col.dropna().astype(str).str.strip()
    return s[s != ""]


def _number_examples(
    raw: pd.DataFrame, skip: set[str], mapping: Mapping[str, str]
) -> dict[str, dict[str, str]]:
    """By kind of number, an example by column; only columns whose every value
    is a number count.

    The kinds: ``"decimal"``, a decimal comma (``'-84,3'``); ``"thousands"``, a
    comma grouping thousands (``'1,234,567'``); ``"either"``, a comma that
    reads either way (``'1,234'``); ``"dot_groups"``, dots that can only group
    thousands (``'1.250.000'``); ``"dot_decimal"``, a dot that can only be a
    decimal point (``'12.5'``, ``'0.250'``, or ``'-84.388'`` in a coordinate
    column); ``"dot_either"``, a dot that reads either way (``'1.250'``).
    """
    found: dict[str, dict[str, str]] = {
        k: {}
        for k in (
            "decimal",
            "thousands",
            "either",
            "dot_groups",
            "dot_decimal",
            "dot_either",
        )
    }
    for col in raw.columns:
        if col in skip or mapping.get(col, col) == "period":
            continue
        s = _filled(raw[col])
        dec = s.str.fullmatch(_DECIMAL_COMMA.pattern)
        thou = s.str.fullmatch(_THOUSANDS_COMMA.pattern)
        plain = s.str.fullmatch(_PLAIN.pattern)
        if s.empty or not (dec | thou | plain).all():
            continue
        comma = s.str.contains(",", regex=False)
        dot = s.str.contains(".", regex=False)
        coordinate = mapping.get(col, col) in COORDINATE_COLUMNS
        dot_either = s.str.fullmatch(_DOT_EITHER.pattern) & (not coordinate)
        dot_groups = s.str.fullmatch(_DOT_GROUPS.pattern)
        for kind, mask in (
            ("decimal", dec & ~thou & comma),
            ("thousands", thou & ~dec),
            ("either", dec & thou),
            ("dot_groups", dot_groups),
            ("dot_decimal", plain & dot & ~dot_either),
            ("dot_either", dot_either),
        ):
            if mask.any():
                found[kind][str(col)] = str(s[mask].iloc[0])
    return found


def _decimal_mark(
    raw: pd.DataFrame,
    skip: set[str],
    table: str,
    name: str,
    mapping: Mapping[str, str],
) -> tuple[Decimal, str | None]:
    """The decimal mark and thousands separator the numbers of a file show.

    A dot followed by exactly three digits (``'1.250'``) is a decimal point
    only when another number of the file says so (``'12.5'``), and groups
    thousands when another does (``'1.250.000'``, or a decimal comma).

    Raises
    ------
    DataValidationError
        When the file has both kinds of numbers, or only numbers that read
        either way, such as ``'1,234'`` or ``'1.234'``.
    """
    ex = _number_examples(raw, skip, mapping)
    dec, thou, either = ex["decimal"], ex["thousands"], ex["either"]
    fix = (
        'pass decimal="," (a decimal comma, as Excel writes ;-separated files) '
        'or decimal="." (the comma groups thousands) to the loader'
    )
    dot_fix = (
        'pass decimal="." (a decimal point) or decimal="," (the dot groups '
        "thousands, as Excel writes ;-separated files) to the loader"
    )
    if dec and thou:
        (dc, dv), (tc, tv) = next(iter(dec.items())), next(iter(thou.items()))
        raise DataValidationError(
            table,
            mapping.get(dc, dc),
            f"{name} has numbers with a decimal comma ({dv!r} in column {dc!r}) "
            f"and numbers whose thousands are grouped by commas ({tv!r} in column "
            f"{tc!r})",
            fix=fix + ", or export the file again with one number format",
        )
    if dec:
        return ",", None
    if thou:
        return ".", ","
    if either:
        col, v = next(iter(either.items()))
        raise DataValidationError(
            table,
            mapping.get(col, col),
            f"numbers such as {v!r} in column {col!r} of {name} read as "
            f"{v.replace(',', '.')} with a decimal comma or as {v.replace(',', '')} "
            "with a comma grouping thousands, and no other number in the file "
            "tells which",
            fix=fix,
        )
    groups, points = ex["dot_groups"], ex["dot_decimal"]
    if groups and points:
        (gc, gv), (pc, pv) = next(iter(groups.items())), next(iter(points.items()))
        raise DataValidationError(
            table,
            mapping.get(gc, gc),
            f"{name} has numbers whose thousands are grouped by dots ({gv!r} in "
            f"column {gc!r}) and numbers with a decimal point ({pv!r} in column "
            f"{pc!r})",
            fix=dot_fix + ", or export the file again with one number format",
        )
    if groups:
        # dots group thousands: read as a decimal-comma file (none has a comma)
        return ",", None
    if ex["dot_either"] and not points:
        col, v = next(iter(ex["dot_either"].items()))
        raise DataValidationError(
            table,
            mapping.get(col, col),
            f"numbers such as {v!r} in column {col!r} of {name} read as {v} with "
            f"a decimal point or as {v.replace('.', '')} with a dot grouping "
            "thousands, and no other number in the file tells which",
            fix=dot_fix,
        )
    return ".", None


def _grouped_by_commas(raw: pd.DataFrame, skip: set[str]) -> list[str]:
    """The columns of numbers with a decimal point some of which have commas
    grouping thousands (``'1,600'``, ``'1,234.5'``)."""
    cols = []
    for c in raw.columns:
        s = _filled(raw[c])
        if c in skip or s.empty:
            continue
        thou = s.str.fullmatch(_THOUSANDS_COMMA.pattern)
        if thou.any() and (thou | s.str.fullmatch(_PLAIN.pattern)).all():
            cols.append(c)
    return cols


def _from_decimal_comma(col: pd.Series, *, coordinate: bool = False) -> pd.Series:
    """``'1.234,5'`` → 1234.5 for a column of numbers with a decimal comma.

    In a ``coordinate`` column (:data:`COORDINATE_COLUMNS`) a dot is a decimal
    point: a value without a comma (``'-84.388'``) is read as written.
    """
    s = col.astype("string").str.strip()
    comma = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    if coordinate:
        comma = comma.where(s.str.contains(",", regex=False).fillna(False), s)
    return pd.to_numeric(comma.mask(comma == "").astype(object))


def _decimal_comma_columns(
    raw: pd.DataFrame, skip: set[str], mapping: Mapping[str, str]
) -> list[str]:
    """The columns of ``raw`` (read as text) whose every value is a number with
    a decimal comma, or, in a coordinate column, with a decimal point."""
    cols = []
    for c in raw.columns:
        s = _filled(raw[c])
        if c in skip or s.empty:
            continue
        ok = s.str.fullmatch(_DECIMAL_COMMA.pattern)
        if mapping.get(c, c) in COORDINATE_COLUMNS:
            ok |= s.str.fullmatch(_PLAIN.pattern)
        if ok.all():
            cols.append(c)
    return cols


def _text_numbers(
    df: pd.DataFrame, decimal: Decimal, skip: set[str], mapping: Mapping[str, str]
) -> pd.DataFrame:
    """``df`` with the numbers that a typed file (a workbook, Parquet, a
    GeoPackage) holds as text (``'12,5'``, ``'1.234,5'``; ``'1,600'``) read
    with the ``decimal`` mark given, as delimited text is.

    Only columns outside ``skip`` whose every value is a number or such a text
    are read, and only where a text shows a mark (``'01'`` stays text).
    """
    out = df
    geometry = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    for c in df.columns:
        col = df[c]
        if (
            c in skip
            or c == geometry
            or not (
                ptypes.is_object_dtype(col.dtype) or ptypes.is_string_dtype(col.dtype)
            )
        ):
            continue
        vals = col.dropna()
        is_text = vals.map(lambda v: isinstance(v, str)).astype(bool)
        is_number = vals.map(
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
        ).astype(bool)
        if not is_text.any() or not (is_text | is_number).all():
            continue
        text = vals[is_text].astype(str).str.strip()
        filled = text[text != ""]
        if decimal == ",":
            ok = filled.str.fullmatch(_DECIMAL_COMMA.pattern)
            coordinate = mapping.get(c, c) in COORDINATE_COLUMNS
            if coordinate:
                ok |= filled.str.fullmatch(_PLAIN.pattern)
            marked = filled.str.contains(r"[.,]", regex=True)
        else:
            ok = filled.str.fullmatch(_THOUSANDS_COMMA.pattern) | filled.str.fullmatch(
                _PLAIN.pattern
            )
            marked = filled.str.contains(",", regex=False)
        if not ok.all() or not marked.any():
            continue
        if decimal == ",":
            numbers = _from_decimal_comma(text, coordinate=coordinate)
        else:
            plain = text.str.replace(",", "", regex=False)
            numbers = pd.to_numeric(plain.mask(plain == "").astype(object))
        new = col.astype(object).copy()
        new[numbers.index] = numbers.to_numpy(dtype=object)
        if out is df:
            out = df.copy()
        out[c] = pd.to_numeric(new)
    return out


def _missing_markers(columns: Iterable[Any], ids: Collection[Any]) -> dict[Any, Any]:
    """``na_values=`` for pandas' readers, with ``keep_default_na=False``.

    In id columns only an empty cell is missing, so that ids such as ``'NA'``
    (Namibia), ``'NULL'`` or ``'None'`` stay ids, as they do in a GeoPackage;
    the other columns keep pandas' markers of a missing value.
    """
    return {c: [""] if c in ids else _NA_TEXT for c in columns}


# -- column names: spaces, byte-order mark, a name written twice -------------------
def _clean_name(name: Any) -> Any:
    """``name`` without the spaces around it and a leading byte-order mark
    (``' annual_sales'``, ``'\\ufeffaccount_id'``); a name that is not text is
    kept."""
    if not isinstance(name, str):
        return name
    return name.lstrip("\ufeff").strip()


def _header_names(
    written: Sequence[Any],
    read: Sequence[Any],
    table: str,
    name: str,
    mapping: Mapping[str, str],
) -> tuple[list[Any], dict[str, str], dict[str, list[int]]]:
    """The names of a file's columns, by position.

    ``written`` are the header's cells as written, ``read`` the names pandas
    or GDAL give the columns (``'Unnamed: 3'`` for a blank cell, ``'x.1'`` for
    ``'x'`` written twice).  A name is the one written, without the spaces
    around it (:func:`_clean_name`); a name written twice that terrakit would
    not read keeps one of the reader's (``'notes.1'``).

    Returns
    -------
    names, stripped, repeated
        The names; ``{written: name}`` for the names that had spaces or a
        byte-order mark; ``{name: positions}`` for those written more than
        once (1 = the first column).

    Raises
    ------
    DataValidationError
        When a name terrakit reads (one of the table's columns, or a key of
        ``columns={...}``) is written more than once: the file holds two
        columns for it and which one is meant cannot be told.
    """
    names: list[Any] = []
    stripped: dict[str, str] = {}
    for i, r in enumerate(read):
        w = written[i] if i < len(written) else None
        if not isinstance(w, str) or not _clean_name(w):
            # a blank cell (or a number): the reader's name
            names.append(_clean_name(r) or r)
            continue
        if _clean_name(w) != w:
            stripped[w] = _clean_name(w)
        names.append(_clean_name(w))
    where: dict[Any, list[int]] = {}
    for i, n in enumerate(names):
        where.setdefault(n, []).append(i + 1)
    repeated = {str(n): at for n, at in where.items() if len(at) > 1}
    used = {*KNOWN_COLUMNS.get(table, ()), *mapping}
    for n, at in repeated.items():
        if n in used:
            cols = ", ".join(map(str, at[:-1])) + f" and {at[-1]}"
            raise DataValidationError(
                table,
                mapping.get(n, n),
                f"the header of {name} names {len(at)} columns {n!r} (columns "
                f"{cols}), so which one to read as {mapping.get(n, n)!r} cannot "
                "be told",
                fix=f"rename the others in the file (e.g. '{n} 2024'), so that "
                f"only the column to read is named {n!r}, or map the one to read "
                "with columns={...}",
            )
    if repeated:
        taken = set(names)
        for n, at in repeated.items():
            k = 0
            for pos in at[1:]:
                k += 1
                while f"{n}.{k}" in taken:
                    k += 1
                names[pos - 1] = f"{n}.{k}"
                taken.add(names[pos - 1])
    return names, stripped, repeated


def _warn_header(
    table: str, name: str, stripped: Mapping[str, str], repeated: Mapping[str, Any]
) -> None:
    """Warn (for the reader's caller) that column names had spaces or a
    byte-order mark around them, or are written more than once."""
    if stripped:
        shown = first_few((f"{w!r} → {n!r}" for w, n in stripped.items()), show=str)
        warnings.warn(
            f"{table}: {len(stripped)} column name(s) of {name} had leading or "
            f"trailing spaces, removed so that they match terrakit's names and "
            f"columns={{...}}: {shown}",
            TerrakitWarning,
            stacklevel=4,
        )
    if repeated:
        shown = ", ".join(
            f"{n!r} (columns {', '.join(map(str, at))})" for n, at in repeated.items()
        )
        warnings.warn(
            f"{table}: the header of {name} names some columns more than once: "
            f"{shown}; the later ones are kept as '<name>.1', '<name>.2'... Fix: "
            "give each column its own name in the file",
            TerrakitWarning,
            stacklevel=4,
        )


# -- delimited text -----------------------------------------------------------------
def _blank_record(record: Sequence[str]) -> bool:
    """Whether pandas skips a record as a blank line (no value, or one of
    spaces only)."""
    return not record or (len(record) == 1 and not record[0].strip())


def _pandas_names(cells: Sequence[str]) -> list[str]:
    """The names pandas gives the columns of a header written ``cells``:
    ``'Unnamed: k'`` for an empty cell, ``'x.1'`` for a second ``'x'``
    (the names written first, then the unnamed ones)."""
    names = [c if c != "" else f"Unnamed: {i}" for i, c in enumerate(cells)]
    unnamed = [i for i, c in enumerate(cells) if c == ""]
    counts: dict[str, int] = {}
    for i in [i for i in range(len(names)) if cells[i] != ""] + unnamed:
        col = old = names[i]
        count = counts.get(col, 0)
        if count > 0:
            while count > 0:
                counts[old] = count + 1
                col = f"{old}.{count}"
                count = count + 1 if col in names else counts.get(col, 0)
        names[i] = col
        counts[col] = count + 1
    return names


class _Scan:
    """One pass over a delimited file's records, split as pandas splits them
    (``"`` quotes, ``""`` a quote inside): its header, then the lines holding
    more values than the header has names.

    Used as a context manager; :meth:`header` reads the header (the first
    record), :meth:`extra_values` the rest.
    """

    def __init__(self, p: Path, delimiter: str, encoding: str) -> None:
        self._file = p.open(encoding=encoding, newline="")
        self._reader = csv.reader(
            self._file, delimiter=delimiter, quotechar='"', doublequote=True
        )
        self._end = 0
        #: the line the last record starts on (an unclosed quote's record)
        self.last_start: int | None = None

    def __enter__(self) -> _Scan:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def _next(self) -> tuple[int, list[str]] | None:
        for record in self._reader:
            start, self._end = self._end + 1, self._reader.line_num
            if record:
                self.last_start = start
                return start, record
        return None

    def header(self) -> tuple[int, list[str]] | None:
        """The first record and its line; ``None`` for a file of blank lines."""
        return self._next()

    def extra_values(self, width: int) -> tuple[int, list[str]]:
        """How many of the remaining records hold a value past the first
        ``width`` columns, and the first five in words (``line 3: 4 values,
        extra ' Marie'``).  Empty values past them (a delimiter ending every line,
        as many exports write) do not count."""
        bad: list[str] = []
        n_bad = 0
        reader, end, last = self._reader, self._end, self.last_start
        for record in reader:
            start, end = end + 1, reader.line_num
            if not record:
                continue
            last = start
            if len(record) > width:
                extra = [v for v in record[width:] if v.strip()]
                if extra:
                    n_bad += 1
                    if len(bad) < 5:
                        bad.append(
                            f"line {start}: {len(record)} values, extra {extra[0]!r}"
                        )
        self._end, self.last_start = end, last
        return n_bad, bad


def _refuse_extra_values(
    p: Path, table: str, delimiter: str, width: int, n_bad: int, bad: list[str]
) -> None:
    """Raise when lines hold more values than the header has names
    (:meth:`_Scan.extra_values`): a value past the last column would belong
    to no column, and pandas would shift the others to make room for it.

    Raises
    ------
    DataValidationError
        Naming the lines (up to five), their counts and their extra values.
    """
    if not bad:
        return
    what = {",": "a comma", ";": "a semicolon", "\t": "a tab"}.get(
        delimiter, repr(delimiter)
    )
    more = f"; and {n_bad - len(bad)} more" if n_bad > len(bad) else ""
    raise DataValidationError(
        table,
        None,
        f"{n_bad} line(s) of {p.name} hold more values than its header has "
        f"column names ({width}): {'; '.join(bad)}{more}",
        fix=f'put quotes around values that hold {what} ("Dupont, Marie"), '
        "give the extra column a name in the header, or delete the extra "
        "values",
    )


def _unreadable(
    p: Path, table: str, err: pd.errors.ParserError, last_start: int | None
) -> DataValidationError:
    """The error for a file pandas cannot split into lines and values;
    ``last_start``: the line the file's last record starts on."""
    msg = str(err).strip().replace("Error tokenizing data. C error: ", "")
    if "EOF inside string" in msg or "unexpected end of data" in msg:
        # the record left open runs to the end of the file: the last one
        at = f"on line {last_start} " if last_start is not None else ""
        return DataValidationError(
            table,
            None,
            f'a quote (") opened {at}of {p.name} is never closed, so the rest '
            "of the file reads as one value",
            fix="close the quote (a quote inside a value is written twice: "
            '"12"" screen"), or export the file again',
        )
    line_no = re.search(r"line (\d+)", msg)
    at = f" at line {line_no.group(1)}" if line_no else ""
    return DataValidationError(
        table,
        None,
        f"cannot read {p.name} as delimited text{at} ({msg})",
        fix="check the quotes and delimiters on that line, or export the file again",
    )


def _last_record_line(p: Path, delimiter: str, encoding: str) -> int | None:
    """The line the last record of a delimited file starts on (``None`` when
    the file cannot be split): where a quote never closed opened."""
    try:
        with _Scan(p, delimiter, encoding) as scan:
            if scan.header() is not None:
                scan.extra_values(0)
            return scan.last_start
    except (csv.Error, UnicodeDecodeError):
        return None


def _read_delimited(
    p: Path,
    table: str,
    as_text: Mapping[str, type],
    ids: Collection[str],
    mapping: Mapping[str, str],
    *,
    decimal: Decimal | None,
    encoding: str,
) -> tuple[pd.DataFrame, dict[str, str], dict[str, list[int]]]:
    """Read CSV / TXT / TSV; numbers with a decimal comma as numbers.

    The file is split once by :class:`_Scan` (its header, and the lines with
    more values than the header has names) and parsed once by pandas (twice
    where the decimal mark is to be told from its numbers, or a comma groups
    thousands).  The columns of ``as_text`` are read as text; in the ``ids``
    columns only an empty cell is missing (:func:`_missing_markers`).  Column
    names are read without the spaces around them (:func:`_header_names`,
    whose ``stripped`` and ``repeated`` come back with the table).

    Raises
    ------
    DataValidationError
        A line with more values than the header has names, a quote never
        closed, a name terrakit reads written twice in the header.
    """
    sep = "\t" if p.suffix.lower() == ".tsv" else None
    delimiter = sep or _sniff_delimiter(p, encoding)
    kw: dict[str, Any] = {
        "sep": sep,
        "engine": "python" if sep is None else "c",
        "encoding": encoding,
        # never the first column as the index: a delimiter ending every data
        # line gives them one value more than the header
        "index_col": False,
    }
    last_start: int | None = None
    try:
        if delimiter is None:
            # pandas cannot tell the delimiter either: it says so
            written, read = _pandas_header(p, kw)
            names, stripped, repeated = _header_names(
                written, read, table, p.name, mapping
            )
        else:
            with _Scan(p, delimiter, encoding) as scan:
                first = scan.header()
                if (
                    first is None
                    or first[0] != 1
                    or _blank_record(first[1])
                    or first[1][0].startswith("\ufeff")
                ):
                    # blank lines or a byte-order mark above the header:
                    # pandas finds it (or its sniffer fails) as it reads it
                    written, read = _pandas_header(p, kw)
                else:
                    written, read = first[1], _pandas_names(first[1])
                names, stripped, repeated = _header_names(
                    written, read, table, p.name, mapping
                )
                n_bad, bad = scan.extra_values(len(names))
                last_start = scan.last_start
            _refuse_extra_values(p, table, delimiter, len(names), n_bad, bad)
        return (
            _parse_delimited(
                p, table, as_text, ids, mapping, names, kw, decimal, delimiter
            ),
            stripped,
            repeated,
        )
    except pd.errors.ParserError as err:
        if last_start is None:
            last_start = _last_record_line(p, delimiter or ",", encoding)
        raise _unreadable(p, table, err, last_start) from None


def _pandas_header(p: Path, kw: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    """A delimited file's header as pandas reads it: the cells as written,
    and the names pandas gives the columns (:func:`_pandas_names`)."""
    written = pd.read_csv(p, header=None, nrows=1, dtype=str, na_filter=False, **kw)
    header = pd.read_csv(p, nrows=0, **kw).columns
    return (written.iloc[0].tolist() if len(written) else []), list(header)


def _parse_delimited(
    p: Path,
    table: str,
    as_text: Mapping[str, type],
    ids: Collection[str],
    mapping: Mapping[str, str],
    names: list[Any],
    kw: Mapping[str, Any],
    decimal: Decimal | None,
    delimiter: str | None,
) -> pd.DataFrame:
    """:func:`_read_delimited`'s pandas part: the file read with its column
    ``names`` known and its lines checked (``delimiter``: ``None`` when
    pandas could not tell it either)."""
    kw = {
        **kw,
        "header": 0,
        "names": names,
        # the values past the header's columns are empty (refused if not)
        "usecols": range(len(names)),
        "keep_default_na": False,
        "na_values": _missing_markers(names, ids),
    }
    comma_separated = delimiter in {",", None}
    if comma_separated and decimal is None:
        return pd.read_csv(p, dtype=as_text, **kw)
    raw = pd.read_csv(p, dtype=str, **kw)
    skip = set(as_text)
    if decimal is None:
        decimal, thousands = _decimal_mark(raw, skip, table, p.name, mapping)
        if decimal == "." and thousands is None:
            return pd.read_csv(p, dtype=as_text, **kw)
    if decimal == ".":
        # the comma groups thousands ('1,600'), as decimal="." says: only in
        # columns of well-grouped numbers ('1,5' stays text and is refused);
        # in a comma-separated file, quoted ones ("1,600")
        grouped = _grouped_by_commas(raw, skip)
        df = pd.read_csv(p, dtype={**as_text, **dict.fromkeys(grouped, str)}, **kw)
        for c in grouped:
            s = df[c].astype("string").str.strip().str.replace(",", "", regex=False)
            df[c] = pd.to_numeric(s.mask(s == "").astype(object))
        return df
    cols = _decimal_comma_columns(raw, skip, mapping)
    df = pd.read_csv(p, dtype={**as_text, **dict.fromkeys(cols, str)}, **kw)
    for c in cols:
        df[c] = _from_decimal_comma(
            df[c], coordinate=mapping.get(c, c) in COORDINATE_COLUMNS
        )
    return df


def _read_text(
    p: Path,
    table: str,
    as_text: Mapping[str, type],
    ids: Collection[str],
    mapping: Mapping[str, str],
    *,
    decimal: Decimal | None,
    encoding: str | None,
) -> tuple[pd.DataFrame, dict[str, str], dict[str, list[int]]]:
    """Read delimited text, falling back to Windows-1252 when it is not UTF-8.

    ``encoding="utf-8"`` reads the byte-order mark Excel's "CSV UTF-8" writes
    as one (``"utf-8-sig"``), not as part of the first column's name.
    """
    read_as = encoding
    if encoding is not None:
        try:
            utf8 = codecs.lookup(encoding).name == "utf-8"
        except LookupError:
            raise DataValidationError(
                table,
                None,
                f"encoding={encoding!r} is no encoding Python knows",
                fix="pass the encoding the file was saved in (encoding='utf-8', "
                "'cp1252', 'latin-1', ...), or leave it out to detect it",
            ) from None
        if utf8:
            read_as = "utf-8-sig"
    try:
        return _read_delimited(
            p,
            table,
            as_text,
            ids,
            mapping,
            decimal=decimal,
            encoding=read_as or _text_encoding(p),
        )
    except UnicodeDecodeError as err:
        if encoding is not None:
            raise DataValidationError(
                table,
                None,
                f"{p.name} is not {encoding} text ({_bad_byte(err)} cannot be read)",
                fix="pass the encoding the file was saved in (encoding='utf-8', "
                "'cp1252', 'latin-1', ...), or save it from Excel as 'CSV UTF-8'",
            ) from None
        not_utf8 = _bad_byte(err)
    try:
        read = _read_delimited(
            p,
            table,
            as_text,
            ids,
            mapping,
            decimal=decimal,
            encoding=_FALLBACK_ENCODING,
        )
    except UnicodeDecodeError:
        raise DataValidationError(
            table,
            None,
            f"{p.name} is neither UTF-8 text ({not_utf8} is not UTF-8) nor "
            "Windows-1252 (cp1252) text",
            fix="pass encoding='...' naming the encoding the file was saved in, "
            "or save it from Excel as 'CSV UTF-8'",
        ) from None
    warnings.warn(
        f"{table}: {p.name} is not UTF-8 text ({not_utf8} is not UTF-8), so it "
        f"was read as Windows-1252 (encoding={_FALLBACK_ENCODING!r}), what Excel's "
        "plain 'CSV' writes on Western-European Windows. If accented names look "
        "wrong, pass encoding='...' naming the file's encoding, or save it from "
        "Excel as 'CSV UTF-8'",
        TerrakitWarning,
        stacklevel=4,
    )
    return read


def _names_fid(name: str, source: str | Path, layer: str | int | None) -> bool:
    """Whether ``name`` means the feature id GDAL keeps apart from the fields:
    a GeoPackage's primary key (QGIS shows it as ``fid``), or the ``"id"`` of
    GeoJSON features.  A shapefile's FID is only the row number: never."""
    info = pyogrio.read_info(source, layer=layer)
    fid_column = str(info.get("fid_column") or "")
    if fid_column:
        return name.lower() in {"fid", fid_column.lower()}
    if info.get("driver") == "GeoJSON" and name.lower() == "id":
        # without ids GDAL numbers the features: only real ids count
        try:
            features = json.loads(Path(source).read_text(encoding="utf-8"))["features"]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return bool(features) and all("id" in f for f in features)
    return False


_ZIP_TABLES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls"}


def _zip_member(p: Path, table: str, layer: str | int | None) -> str | None:
    """The file inside a zip to read: its single CSV / Excel table, or the
    shapefile in a folder of the zip; ``None`` to let GDAL open the zip.

    Raises
    ------
    DataValidationError
        When the zip holds several tables or shapefiles and ``layer`` does not
        name one.
    """
    try:
        with zipfile.ZipFile(p) as z:
            names = [
                n
                for n in z.namelist()
                if not n.endswith("/")
                and not n.startswith("__MACOSX/")
                and not Path(n).name.startswith(".")
            ]
    except zipfile.BadZipFile:
        raise DataValidationError(
            table,
            None,
            f"{p.name} is not a zip file (or it is damaged)",
            fix="check that the file is complete, or export it again",
        ) from None
    shps = [n for n in names if n.lower().endswith(".shp")]
    spatial = [n for n in names if Path(n).suffix.lower() in _SPATIAL - {".zip"}]
    tables = [n for n in names if Path(n).suffix.lower() in _ZIP_TABLES]
    if any(not n.lower().endswith(".txt") for n in tables):
        # a .txt next to a CSV or workbook is its readme, not a second table
        tables = [n for n in tables if not n.lower().endswith(".txt")]
    if isinstance(layer, str):
        chosen = [n for n in shps if layer in (n, Path(n).stem)]
        if len(chosen) == 1:
            return chosen[0]
    if len(shps) > 1 and any("/" in n for n in shps):
        raise DataValidationError(
            table,
            None,
            f"{p.name} holds {len(shps)} shapefiles: {shps}",
            fix="pass layer='...' naming the one to read (its name or its path "
            "inside the zip)",
        )
    if len(shps) == 1 and "/" in shps[0]:
        return shps[0]
    if not spatial:
        if len(tables) == 1:
            return tables[0]
        if len(tables) > 1:
            raise DataValidationError(
                table,
                None,
                f"{p.name} holds {len(tables)} tables: {tables}",
                fix=f"unzip it and read the file that holds the {table}",
            )
    return None


def _index_as_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its named index levels as columns.

    A Parquet file written by pandas from a table indexed by its ids (a
    Study's ``accounts``, indexed by ``account_id``) keeps them as the index;
    other formats, and the loaders, hold them as a column.  An index level
    named like a column is dropped (the column holds it); an unnamed index
    (row numbers) too.
    """
    names = [n for n in df.index.names if n is not None]
    if not names:
        return df
    clash = [n for n in names if n in df.columns]
    out = df.reset_index(level=clash, drop=True) if clash else df
    moved = [n for n in names if n not in clash]
    if moved:
        out = out.reset_index(level=moved)
    if out.index.nlevels == 1 and out.index.name is None:
        out = out.reset_index(drop=True)
    return out


def _clean_columns(
    df: pd.DataFrame, table: str, name: str, mapping: Mapping[str, str]
) -> tuple[pd.DataFrame, dict[str, str], dict[str, list[int]]]:
    """A typed file's table with its column names as :func:`_header_names`
    reads them (the geometry column aside), with what changed."""
    geometry = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    cols = list(df.columns)
    names, stripped, repeated = _header_names(cols, cols, table, name, mapping)
    renamed = {c: n for c, n in zip(cols, names, strict=True) if c != n}
    renamed.pop(geometry, None)
    return (df.rename(columns=renamed) if renamed else df), stripped, repeated


def _strip_ids(df: pd.DataFrame, table: str, id_columns: tuple[str, ...]) -> None:
    """Remove spaces around text ids, in place, warning with the rows touched.

    ``'R09 '`` in one table would not match ``'R09'`` in another; an id of
    spaces only becomes missing, like an empty cell.
    """
    key = id_columns[0] if id_columns[0] in df.columns else None
    for col in id_columns:
        if col not in df.columns:
            continue
        values = df[col].to_numpy(dtype=object)
        bad = [i for i, v in enumerate(values) if isinstance(v, str) and v != v.strip()]
        if not bad:
            continue
        stripped = [values[i].strip() or None for i in bad]
        new = df[col].astype(object).to_numpy(copy=True)
        new[bad] = stripped
        df[col] = new
        shown = dict.fromkeys(
            f"{values[i]!r} → {'empty' if s is None else repr(s)}"
            for i, s in zip(bad, stripped, strict=True)
        )
        examples = ", ".join(list(shown)[:3]) + (" ..." if len(shown) > 3 else "")
        keys = df[key].to_numpy(dtype=object) if key is not None else None
        labels = [
            f"row {i}" if keys is None or pd.isna(keys[i]) else keys[i] for i in bad
        ]
        warnings.warn(
            f"{table}.{col}: {len(bad)} id(s) had leading or trailing spaces, "
            f"removed so that they match the other tables: {examples} "
            f"(rows: {first_few(labels)})",
            TerrakitWarning,
            stacklevel=4,
        )


def _restore_long_names(
    df: pd.DataFrame, table: str, name: str, mapping: Mapping[str, str]
) -> None:
    """Rename terrakit's long column names that a shapefile cut to 10
    characters (``capacity_h`` → ``capacity_hours``), with a warning; a
    column the user maps is left to the mapping."""
    back = {
        full[:10]: full
        for full in _LONG_NAMES
        if full[:10] in df.columns
        and full not in df.columns
        and full[:10] not in mapping
        and full not in mapping.values()
    }
    if back:
        df.rename(columns=back, inplace=True)
        warnings.warn(
            f"{table}: {name} is a shapefile, whose column names are cut to 10 "
            f"characters; read {back} as terrakit's names. Fix: pass columns="
            "{...} if one of them means something else",
            TerrakitWarning,
            stacklevel=4,
        )


def _refuse_title_rows(
    p: Path,
    table: str,
    df: pd.DataFrame,
    sheets: list[str],
    sheet: str | int | None,
    column: str,
    names: list[str],
) -> None:
    """Raise when the header read from a workbook is a title row (most columns
    ``'Unnamed: k'``) and the column names ``names`` (the first: the id, named
    ``column`` in terrakit) stand in a lower row.

    Raises
    ------
    DataValidationError
        Naming the sheet, the row of the column names and the fix (delete the
        rows above it).
    """
    cols = [str(c) for c in df.columns]
    if not cols or 2 * sum(c.startswith("Unnamed: ") for c in cols) < len(cols):
        return
    read = sheet if sheet is not None else 0
    name = sheets[read] if isinstance(read, int) else read
    try:
        top = pd.read_excel(p, sheet_name=name, header=None, nrows=30, dtype=str)
    except (ValueError, OSError):
        return
    wanted = list(dict.fromkeys(names))
    for i, row in enumerate(top.itertuples(index=False)):
        cells = {str(v).strip() for v in row if pd.notna(v)}
        if wanted[0] in cells:
            found = [str(v).strip() for v in row if pd.notna(v)]
            raise DataValidationError(
                table,
                column,
                f"the header of sheet {name!r} of {p.name} looks like a title, "
                f"not column names (columns seen: {cols[:8]}"
                f"{' ...' if len(cols) > 8 else ''}); the column names "
                f"({found[:8]}{' ...' if len(found) > 8 else ''}) are in row "
                f"{i + 1} of the sheet",
                fix=f"delete the row(s) above row {i + 1} (titles, notes, blank "
                "rows) so that the column names are in the sheet's first row, "
                "then read it again",
            )


def _read(
    path: PathLike,
    table: str,
    columns: Mapping[str, str] | None,
    *,
    id_columns: tuple[str, ...],
    sheet: str | int | None,
    layer: str | int | None,
    decimal: Decimal | None = None,
    encoding: str | None = None,
    text_columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Read any supported file into a (Geo)DataFrame and apply the column mapping.

    ``id_columns`` (terrakit names) are read as text from CSV and Excel, where
    only an empty cell is a missing id; so are ``text_columns`` (history's
    ``period``), which would otherwise be read as numbers.
    """
    # '~/units.gpkg' is the user's home, as geopandas and pandas read it
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{table}: no file at {str(p)!r}")
    if p.is_dir():
        raise DataValidationError(
            table,
            None,
            f"{str(p)!r} is a folder, not a file",
            fix=f"give the path of the {table} file inside it",
        )
    if p.stat().st_size == 0:
        # as an empty CSV, whatever the format says (pandas and GDAL only say
        # that they cannot tell the format)
        raise DataValidationError(
            table,
            None,
            f"{p.name} is empty (no header, no rows)",
            fix=f"export the {table} table again; the file holds nothing",
        )
    if decimal not in {None, ".", ","}:
        raise DataValidationError(
            table,
            None,
            f"decimal={decimal!r} is not a decimal mark",
            fix='pass decimal="." or decimal="," (or leave it out to detect it)',
        )
    suffix = p.suffix.lower()
    source: str | Path = p
    if suffix == ".zip":
        inner = _zip_member(p, table, layer)
        if inner is not None and Path(inner).suffix.lower() in _TABULAR:
            # a zipped CSV / Excel file reads as the file itself would (GDAL
            # would read every column of a CSV as text)
            with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(p) as z:
                extracted = Path(tmp) / Path(inner).name
                extracted.write_bytes(z.read(inner))
                try:
                    return _read(
                        extracted,
                        table,
                        columns,
                        id_columns=id_columns,
                        sheet=sheet,
                        layer=layer,
                        decimal=decimal,
                        encoding=encoding,
                        text_columns=text_columns,
                    )
                except DataValidationError as err:
                    raise DataValidationError(
                        err.table,
                        err.column,
                        f"{err.problem} ({inner!r} inside {p.name}, which holds "
                        "no shapefile)",
                        rows=err.rows,
                        n_bad=err.n_bad,
                        fix=err.fix,
                    ) from None
        if inner is not None:
            source = f"/vsizip/{p.resolve()}/{inner}"
            layer = None
    # the names in the file are read without the spaces around them (see
    # _header_names): so are the keys naming them
    mapping = {_clean_name(k): v for k, v in (columns or {}).items()}
    typos = misspelt_targets(table, mapping.values())
    if typos:
        bad, close = typos[0]
        src = next(k for k, v in mapping.items() if v == bad)
        raise DataValidationError(
            table,
            bad,
            f"the columns mapping maps {src!r} to {bad!r}, which is no column "
            f"terrakit knows for the {table} table (did you mean {close!r}?); "
            f"it would be read as an extra column and ignored",
            fix=f"write {src!r}: {close!r} in columns={{...}} (or, for an extra "
            f"column of your own, a name less like {close!r})",
        )
    # Read id columns as text from text formats, so '01001' keeps its zero
    # and 'NA' (Namibia) stays an id; history's period too, so that '2024.10'
    # is October (as a number, 2024.1: January) and '09.2020' is not 9.202.
    inverse = {v: k for k, v in mapping.items()}
    ids = [inverse.get(c, c) for c in id_columns]
    texts = [inverse.get(c, c) for c in text_columns]
    sheets: list[str] = []
    stripped: dict[str, str] = {}
    repeated: dict[str, list[int]] = {}
    try:
        if suffix in {".csv", ".txt", ".tsv"}:
            df, stripped, repeated = _read_text(
                p,
                table,
                dict.fromkeys([*ids, *texts], str),
                ids,
                mapping,
                decimal=decimal,
                encoding=encoding,
            )
        elif suffix in {".xlsx", ".xlsm", ".xls"}:
            try:
                sheets = _sheet_names(p)
            except (ValueError, KeyError, OSError, zipfile.BadZipFile) as err:
                raise DataValidationError(
                    table,
                    None,
                    f"cannot read {p.name} as an Excel workbook ({err})",
                    fix="check that the file is complete and is a workbook (open "
                    "it in Excel), or export it again",
                ) from None
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
            with pd.ExcelFile(p) as xl:
                which = 0 if sheet is None else sheet
                header = list(xl.parse(which, nrows=0).columns)
                written = xl.parse(which, header=None, nrows=1, dtype=object)
                names, stripped, repeated = _header_names(
                    written.iloc[0].tolist() if len(written) else [],
                    header,
                    table,
                    p.name,
                    mapping,
                )
                # text cells of the text columns stay text ('2024.10'); their
                # date cells stay dates (dtype=object), which parse_periods
                # reads as such; keyed by pandas' names of the columns
                kinds = {**dict.fromkeys(texts, object), **dict.fromkeys(ids, str)}
                dtypes = {
                    h: kinds[n]
                    for h, n in zip(header, names, strict=True)
                    if n in kinds
                }
                id_keys = [h for h, n in zip(header, names, strict=True) if n in ids]
                df = xl.parse(
                    which,
                    dtype=dtypes,
                    keep_default_na=False,
                    na_values=_missing_markers(header, id_keys),
                )
                df.columns = pd.Index(
                    [*names, *df.columns[len(names) :]][: df.shape[1]]
                )
        elif suffix in {".parquet", ".pq"}:
            import pyarrow.parquet as pq

            meta = pq.read_schema(p).metadata or {}
            # GeoParquet (geopandas' to_parquet): its geometry is WKB
            df = gpd.read_parquet(p) if b"geo" in meta else pd.read_parquet(p)
            df = _index_as_columns(df)
            df, stripped, repeated = _clean_columns(df, table, p.name, mapping)
        elif suffix in _SPATIAL:
            layers = [str(n) for n, _ in pyogrio.list_layers(source)]
            if layer is None and len(layers) > 1 and table in layers:
                # a saved study (or any file) with a layer named like the table
                layer = table
            if isinstance(layer, str) and layer not in layers:
                raise DataValidationError(
                    table,
                    None,
                    f"{p.name} has no layer {layer!r}"
                    f"{_did_you_mean(layer, layers)}; its layers are {layers}",
                    fix="pass layer= one of these names",
                )
            if isinstance(layer, int) and not -len(layers) <= layer < len(layers):
                raise DataValidationError(
                    table,
                    None,
                    f"{p.name} has {len(layers)} layer(s) {layers}, so there is no "
                    f"layer={layer}",
                    fix="pass layer= a name or position (0 = first) of these layers",
                )
            if isinstance(layer, int) and layer < 0:
                layer = layers[layer]
            with warnings.catch_warnings():
                # pyogrio's "More than one layer found" is said below, with the fix
                warnings.filterwarnings("ignore", "More than one layer found")
                df = pyogrio.read_dataframe(source, layer=layer)
            df, stripped, repeated = _clean_columns(df, table, p.name, mapping)
            fid_keys = [
                k
                for k in mapping
                if k not in df.columns and _names_fid(k, source, layer)
            ]
            if fid_keys:
                # the feature id (a GeoPackage's 'fid', a GeoJSON feature's
                # "id") is no field: read it as one when the mapping names it
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", "More than one layer found")
                    fids = pyogrio.read_dataframe(
                        source, layer=layer, fid_as_index=True
                    ).index.to_numpy()
                for k in fid_keys:
                    df.insert(0, k, fids)
            if layer is None and len(layers) > 1:
                if set(id_columns) & set(df.columns):
                    warnings.warn(
                        f"{table}: {p.name} has {len(layers)} layers {layers}; read "
                        f"the first, {layers[0]!r}. Fix: pass layer='...' to choose",
                        TerrakitWarning,
                        stacklevel=3,
                    )
                else:
                    raise DataValidationError(
                        table,
                        id_columns[0],
                        f"the first layer {layers[0]!r} of {p.name} has no "
                        f"{id_columns[0]!r} column (columns seen: "
                        f"{list(map(str, df.columns))[:12]}); the file has the "
                        f"layers {layers}",
                        fix="pass layer='...' naming the layer that holds the table",
                    )
            if suffix in {".shp", ".zip"}:
                _restore_long_names(df, table, p.name, mapping)
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
    _warn_header(table, p.name, stripped, repeated)
    if decimal is not None and suffix not in {".csv", ".txt", ".tsv"}:
        # numbers a workbook or a GeoPackage holds as text ('12,5')
        df = _text_numbers(df, decimal, {*ids, *texts}, mapping)
    id_name = inverse.get(id_columns[0], id_columns[0])
    if sheets and id_name not in df.columns:
        _refuse_title_rows(
            p, table, df, sheets, sheet, id_columns[0], [id_name, *mapping]
        )
    missing = [src for src in mapping if src not in df.columns]
    if missing:
        seen = list(map(str, df.columns))
        read = sheet if sheet is not None else 0
        name = sheets[read] if isinstance(read, int) and sheets else read
        others = [n for n in sheets if n != name]
        if others:
            # a workbook whose table is not on the sheet read (a cover page
            # first): say which sheets it has and which one holds the columns
            holder = _sheet_with(p, others, list(mapping))
            raise DataValidationError(
                table,
                missing[0],
                f"the columns mapping names {missing} but sheet {name!r} of "
                f"{p.name} has no such column (columns seen: {seen[:15]}"
                f"{' ...' if len(seen) > 15 else ''}); the workbook has the sheets "
                f"{sheets}"
                + (f", and sheet {holder!r} holds these columns" if holder else ""),
                fix=f"pass sheet={holder!r} ([data] {table}_sheet in study.toml)"
                if holder
                else f"pass sheet='...' ([data] {table}_sheet in study.toml) naming "
                "the sheet that holds the table, or correct the keys of "
                "columns={...}: they are the names in your file",
            )
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
        holder = _sheet_with(p, sheets[1:], [inverse.get(id_columns[0], id_columns[0])])
        raise DataValidationError(
            table,
            id_columns[0],
            f"the first sheet {sheets[0]!r} of {p.name} has no {id_columns[0]!r} "
            f"column (columns seen: {list(map(str, df.columns))[:12]}); the "
            f"workbook has the sheets {sheets}"
            + (f", and sheet {holder!r} has that column" if holder else ""),
            fix=f"pass sheet={holder!r} ([data] {table}_sheet in study.toml)"
            if holder
            else f"pass sheet='...' ([data] {table}_sheet in study.toml) naming the "
            "sheet that holds the table",
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
    _strip_ids(df, table, id_columns)
    return df


def read_units(
    path: PathLike,
    columns: Mapping[str, str] | None = None,
    *,
    layer: str | int | None = None,
    sheet: str | int | None = None,
    crs: Any = None,
    decimal: Decimal | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read the units (building blocks) of a study.

    Parameters
    ----------
    path
        GeoPackage, GeoJSON, Shapefile (polygons or points; terrakit names a
        shapefile cut to 10 characters are read back, with a warning),
        GeoParquet; or CSV / Excel / Parquet with either a WKT ``geometry``
        column or ``lon``/``lat`` columns.  A ``.zip`` may hold a shapefile
        (at its top or in a folder) or a single CSV / Excel file, read as
        that file would be.
    columns
        Renames ``{"your column": "terrakit column"}``; the id column must end
        up as ``unit_id``.  The feature id GDAL keeps apart from the fields
        (a GeoPackage's ``fid``, a GeoJSON feature's ``"id"``) can be mapped.
    layer, sheet
        Layer of a multi-layer file (or the shapefile of a zip holding
        several); sheet of a workbook (a name or a position).  Without it a
        layer named like the table (``units``, ``accounts``... as in a saved
        study) is read, else the first: with a warning naming the others
        when it holds the ids, else an error listing them.
    crs
        The CRS of the coordinates when the file has none; raises if the
        file has a different one.  For a WKT ``geometry`` column and for
        ``lon``/``lat`` columns alike (the latter default to EPSG:4326): with
        a projected CRS (``crs=32616``) the two columns hold its x and y
        (e.g. UTM metres), checked as numbers but not as degrees; with a
        geographic one they must be degrees.  A projected CRS whose
        coordinates all lie within ±180 × ±90 is refused: they are degrees.
    decimal
        The decimal mark, ``"."`` or ``","``.  By default a ``;``- or
        tab-separated file is read with a decimal comma when its numbers show
        one (``-84,3``, ``1.234,5``); in a workbook (or another typed file),
        numbers stored as text (``'12,5'``) are read with the mark given; see
        the module notes.
    encoding
        Delimited text only: the file's encoding.  By default UTF-8 (with or
        without a byte-order mark), UTF-16 with a byte-order mark, else
        Windows-1252 with a warning.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``unit_id``.

    Raises
    ------
    DataValidationError
        Missing id, duplicated ids, no or mismatched CRS, bad numbers...

    Warns
    -----
    TerrakitWarning
        Ids or column names with spaces around them were stripped; a column
        terrakit does not read is named twice; the file is not UTF-8.

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
        path,
        "units",
        columns,
        id_columns=("unit_id",),
        sheet=sheet,
        layer=layer,
        decimal=decimal,
        encoding=encoding,
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
        geom = _parse_wkt(df)
        gdf = gpd.GeoDataFrame(
            df.drop(columns="geometry"), geometry=geom.values, crs=crs
        )
    elif {"lon", "lat"} <= set(df.columns):
        idx_df = df.set_index("unit_id") if "unit_id" in df.columns else df
        # crs= says what the two columns hold: degrees unless it is projected
        # (then x, y in its units; clean_units refuses numbers that all fit
        # in ±180 × ±90, which are degrees)
        degrees = crs is None or not crs.is_projected
        _check_lonlat(idx_df, "units", "lon", "lat", degrees=degrees)
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


def _parse_wkt(df: pd.DataFrame) -> gpd.GeoSeries:
    """The WKT ``geometry`` column of a units table as shapes; an empty cell is
    a missing shape, which :func:`clean_units` reports with its row.

    Raises
    ------
    DataValidationError
        Naming the rows whose text is not WKT, with the first parser error.
    """
    labels = df["unit_id"] if "unit_id" in df.columns else pd.Series(df.index)
    shapes: list[Any] = []
    bad: list[Any] = []
    first = ""
    for i, (label, v) in enumerate(zip(labels, df["geometry"], strict=True)):
        if v is None or (not isinstance(v, str) and pd.isna(v)) or not str(v).strip():
            shapes.append(None)
            continue
        try:
            shapes.append(_wkt.loads(v))
        except Exception as err:  # shapely raises its own error types
            shapes.append(None)
            bad.append(f"row {i}" if pd.isna(label) else label)
            first = first or f"{str(v)[:40]!r}: {err}"
    if bad:
        raise DataValidationError(
            "units",
            "geometry",
            f"{len(bad)} values of the geometry column are not WKT text ({first})",
            rows=bad,
            fix="export geometries as WKT, or give lon/lat columns",
        )
    return gpd.GeoSeries(shapes, index=df.index)


def _points_in_lonlat(pts: gpd.GeoSeries, crs: Any, table: str) -> gpd.GeoSeries:
    """The points of a spatial file (CRS ``crs``) read as accounts or reps,
    in EPSG:4326.

    A file without a CRS is taken as lon/lat, with a
    :class:`~terrakit.exceptions.CRSWarning` saying so (the reader's caller
    is named).
    """
    if crs is None:
        warnings.warn(
            f"{table}: the file has no CRS; assuming lon/lat (EPSG:4326)",
            CRSWarning,
            stacklevel=3,
        )
    elif not pyproj.CRS(crs).equals("EPSG:4326"):
        pts = gpd.GeoSeries(pts, crs=crs).to_crs("EPSG:4326")
    return pts


def read_accounts(
    path: PathLike,
    columns: Mapping[str, str] | None = None,
    *,
    units: gpd.GeoDataFrame | Any | None = None,
    layer: str | int | None = None,
    sheet: str | int | None = None,
    decimal: Decimal | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read accounts (customers and prospects).

    Accounts carry either a ``unit_id`` or ``lon``/``lat``.  With ``units``
    (a GeoDataFrame or a Study) accounts that have coordinates but no
    ``unit_id`` (no column, or an empty cell: the given ones are kept) are
    joined to the unit that contains them (point in polygon; for point units,
    the nearest unit within a few times their spacing, see
    :func:`join_to_units`).  Accounts given as polygons are placed at a point
    inside each, with a warning.

    Parameters
    ----------
    path, columns, layer, sheet
        As for :func:`read_units`; ids end up as ``account_id``.
    units
        Units (GeoDataFrame, with ``unit_id`` as index or column) or a Study,
        to join accounts without ``unit_id``.
    decimal
        The decimal mark, ``"."`` or ``","``.  By default a ``;``- or
        tab-separated file is read with a decimal comma when its numbers show
        one (``-84,3``, ``1.234,5``); in a workbook (or another typed file),
        numbers stored as text (``'12,5'``) are read with the mark given; see
        the module notes.
    encoding
        Delimited text only: the file's encoding.  By default UTF-8 (with or
        without a byte-order mark), UTF-16 with a byte-order mark, else
        Windows-1252 with a warning.

    Raises
    ------
    DataValidationError
        Duplicated ids, bad coordinates, accounts in no unit, unknown units...

    Warns
    -----
    TerrakitWarning
        Ids or column names with spaces around them were stripped; a column
        terrakit does not read is named twice; the file is not UTF-8.
    """
    df = _read(
        path,
        "accounts",
        columns,
        id_columns=("account_id", "unit_id", "rep_id"),
        sheet=sheet,
        layer=layer,
        decimal=decimal,
        encoding=encoding,
    )
    if isinstance(df, gpd.GeoDataFrame):
        pts = df.geometry
        kinds = set(pts.dropna().geom_type) - {"Point"}
        if kinds and not {"lon", "lat"} <= set(df.columns):
            pts = pts.representative_point().where(pts.notna(), None)
            warnings.warn(
                f"accounts: {Path(path).name} holds {sorted(kinds)} geometries, "
                "not points; each account is placed at a point inside its shape "
                "(representative point). Fix: give accounts as points or lon/lat "
                "columns to choose the places yourself",
                TerrakitWarning,
                stacklevel=2,
            )
        pts = _points_in_lonlat(pts, df.crs, "accounts")
        df = pd.DataFrame(df.drop(columns=df.geometry.name))
        if not {"lon", "lat"} <= set(df.columns):
            df["lon"], df["lat"] = pts.x.to_numpy(), pts.y.to_numpy()
    require_columns(df, "accounts", ["account_id"])
    df = df.set_index("account_id")
    unit_table = _unit_table(units)
    if unit_table is not None and "unit_id" not in df.columns:
        df = join_to_units(df, unit_table)
    elif unit_table is not None and {"lon", "lat"} <= set(df.columns):
        df = _join_missing_units(df, unit_table)
    ids = None if unit_table is None else unit_table.index
    return clean_accounts(df, ids)


def _unit_table(units: Any) -> gpd.GeoDataFrame | None:
    """The units of ``units=`` (a GeoDataFrame or a Study), indexed by unit_id."""
    table = getattr(units, "units", units)
    if table is None:
        return None
    if not isinstance(table, gpd.GeoDataFrame):
        raise DataValidationError(
            "units",
            None,
            f"units= must be a GeoDataFrame or a Study, got {type(table).__name__}",
            fix="read the units with tk.data.read_units(path) and pass them",
        )
    if table.index.name != "unit_id":
        if "unit_id" not in table.columns:
            raise DataValidationError(
                "units",
                "unit_id",
                "the units passed as units= have no unit_id index or column "
                f"(index {table.index.name!r}, columns "
                f"{list(map(str, table.columns))[:12]})",
                fix="read them with tk.data.read_units(path, columns={'your id': "
                "'unit_id'}), or rename their id column to unit_id",
            )
        table = table.set_index("unit_id")
    return table


def _join_missing_units(
    accounts: pd.DataFrame, units: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Join by location the accounts that have coordinates but an empty
    unit_id; the unit_ids given are kept."""
    blank = accounts["unit_id"].isna() | (
        accounts["unit_id"].astype(str).str.strip() == ""
    )
    located = blank & accounts["lon"].notna() & accounts["lat"].notna()
    if not located.any():
        return accounts
    joined = join_to_units(accounts.loc[located.to_numpy()], units)["unit_id"]
    out = accounts.copy()
    out["unit_id"] = out["unit_id"].astype(object)
    out.loc[located.to_numpy(), "unit_id"] = joined.to_numpy(dtype=object)
    found = joined.notna().to_numpy()
    if found.any():
        ids = first_few(accounts.index[located.to_numpy()][found])
        warnings.warn(
            f"accounts: {int(found.sum())} account(s) had no unit_id, so they were "
            f"joined to the unit their lon/lat lie in ({ids}); the other unit_ids "
            "are kept as given",
            TerrakitWarning,
            stacklevel=3,
        )
    return out


def join_to_units(accounts: pd.DataFrame, units: gpd.GeoDataFrame) -> pd.DataFrame:
    """Add ``unit_id`` to accounts from their lon/lat (point in polygon).

    Points on a shared border go to the first unit found.  For point units the
    nearest unit (in a projected CRS) is used, within
    :func:`~terrakit.data.validation.point_unit_reach_km` of it.  Accounts that
    fall in no polygon get ``NaN`` (and fail validation with their ids listed).

    Raises
    ------
    DataValidationError
        Point units only: accounts farther than that from every unit (their
        ids, distances, and whether swapping lon and lat puts them in place).
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
        joined = joined[~joined.index.duplicated(keep="first")]
        nearest = accounts.assign(
            unit_id=joined["unit_id"].reindex(accounts.index).to_numpy()
        )
        # The nearest point is not always near: an account from another state,
        # or with lon and lat swapped, would silently join the closest unit.
        # An account may lie a few times the typical spacing of the unit points
        # from its unit (see point_unit_reach_km); farther ones are refused with
        # their ids, distances and the swap hint, as accounts outside polygons.
        check_account_locations(nearest, units)
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
    decimal: Decimal | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read sales reps: ``rep_id``, ``home_lon``, ``home_lat``, ``capacity_hours``...

    A spatial file of points gives the home coordinates from its geometry.

    Parameters
    ----------
    path, columns, layer, sheet
        As for :func:`read_units`; ids end up as ``rep_id``.
    decimal
        The decimal mark, ``"."`` or ``","``.  By default a ``;``- or
        tab-separated file is read with a decimal comma when its numbers show
        one (``-84,3``, ``1.234,5``); in a workbook (or another typed file),
        numbers stored as text (``'12,5'``) are read with the mark given; see
        the module notes.
    encoding
        Delimited text only: the file's encoding.  By default UTF-8 (with or
        without a byte-order mark), UTF-16 with a byte-order mark, else
        Windows-1252 with a warning.

    Warns
    -----
    TerrakitWarning
        Ids or column names with spaces around them were stripped; a column
        terrakit does not read is named twice; the file is not UTF-8.

    Examples
    --------
    >>> reps = read_reps("reps.csv", decimal=",")  # doctest: +SKIP
    """
    df = _read(
        path,
        "reps",
        columns,
        id_columns=("rep_id", "home_unit"),
        sheet=sheet,
        layer=layer,
        decimal=decimal,
        encoding=encoding,
    )
    if isinstance(df, gpd.GeoDataFrame):
        pts = _points_in_lonlat(df.geometry, df.crs, "reps")
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
    decimal: Decimal | None = None,
    encoding: str | None = None,
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
    decimal
        The decimal mark, ``"."`` or ``","``.  By default a ``;``- or
        tab-separated file is read with a decimal comma when its numbers show
        one (``-84,3``, ``1.234,5``); in a workbook (or another typed file),
        numbers stored as text (``'12,5'``) are read with the mark given; see
        the module notes.
    encoding
        Delimited text only: the file's encoding.  By default UTF-8 (with or
        without a byte-order mark), UTF-16 with a byte-order mark, else
        Windows-1252 with a warning.

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
        decimal=decimal,
        encoding=encoding,
        text_columns=("period",),
    )
    if isinstance(df, gpd.GeoDataFrame):
        df = pd.DataFrame(df.drop(columns=df.geometry.name))
    acc = getattr(accounts, "accounts", accounts)
    return clean_history(
        df, None if acc is None else acc.index, None, period_format=period_format
    )

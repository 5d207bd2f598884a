"""The :class:`Study`: an organisation's units, accounts, reps, history, alignments.

A study is saved as ONE GeoPackage file (a SQLite database that QGIS opens):
layers ``units`` (geometry), ``accounts``, ``reps``, ``history``, ``alignments``
(attribute tables) and ``terrakit_metadata`` (key/value JSON).  The
alignments layer holds plain territory ids (text, or integers where every id
is one), so they join to the reps layer in QGIS.  The metadata records every
column's dtype and order, and each alignment's territory id type, so
:meth:`Study.load` returns exactly what :meth:`Study.save` wrote: dtypes, CRS,
ids, NaNs, categories, periods, alignments with their provenance, and the
user's metadata.  Columns are stored as values QGIS shows: categories as their
values (numbers or text), pyarrow columns as their numpy equivalents, date
objects as dates.  Saving to an existing study file keeps its layers that are
not the study's own (the table ``tk.sweep`` streams its rows into, QGIS
styles).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import os
import sqlite3
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
from pandas.api import types as ptypes

from terrakit.data.alignment import Alignment, _json_default
from terrakit.data.validation import (
    _align_id_dtype,
    _ids,
    _leading_zeros,
    check_account_locations,
    clean_accounts,
    clean_history,
    clean_reps,
    clean_units,
)
from terrakit.exceptions import DataValidationError

__all__ = ["Study"]

#: 3: a categorical column of numbers holds its values (``30``), not its
#: category codes (``2``), so QGIS and read_units show them; its schema
#: entry says ``"category_encoding": "values"`` (format 2 files, without it,
#: still load).  2: the alignments layer holds territory ids as plain values
#: (text, or integers where every id is one) with their type in the metadata;
#: 1 held them as JSON text ('"R09"'), which QGIS showed with the quotes
FORMAT_VERSION = 3
_META_LAYER = "terrakit_metadata"
_TABLES = ("units", "accounts", "reps", "history")


class Study:
    """The bundle a territory study works on.

    Parameters
    ----------
    units
        GeoDataFrame of building blocks, index ``unit_id``, with a CRS.
    accounts, reps, history
        Optional tables (DESIGN.md §2).  Accounts must point to known units,
        history to known accounts (or units).
    alignments
        Named :class:`Alignment` objects; each must cover every unit exactly
        once.  The key is the alignment's name in the study: an alignment
        stored under another key than its own ``name`` is renamed to the key
        (as :meth:`with_alignment` does), so that the name it has here is the
        one :meth:`save` and :meth:`load` keep.  Keys are text (``2024``
        becomes ``"2024"``); two keys that read the same are refused.
    metadata
        JSON-able facts about the study (client, date, sources, ...).
    scenarios
        Named what-if scenarios as JSON-able records (what
        :meth:`terrakit.realign.Scenario.to_dict` returns); saved with the
        study.  Names are text; two names that read the same are refused.

    Raises
    ------
    DataValidationError
        When a table fails a check at the door; nothing is kept.

    Notes
    -----
    A study is immutable in style: the tables are copied on the way in, and
    every method that changes something returns a new study.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> units = gpd.GeoDataFrame(
    ...     {"workload": [1.0, 2.0]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
    ...     index=pd.Index(["u1", "u2"], name="unit_id"), crs="EPSG:4326")
    >>> s = Study(units)
    >>> s = s.with_alignment(Alignment.from_mapping({"u1": "T1", "u2": "T2"}), "a")
    >>> list(s.alignments)
    ['a']
    """

    def __init__(
        self,
        units: gpd.GeoDataFrame,
        accounts: pd.DataFrame | None = None,
        reps: pd.DataFrame | None = None,
        history: pd.DataFrame | None = None,
        alignments: Mapping[str, Alignment] | None = None,
        metadata: Mapping[str, Any] | None = None,
        scenarios: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        units = clean_units(units)
        unit_ids = units.index
        if accounts is not None:
            accounts = clean_accounts(accounts, unit_ids)
            check_account_locations(accounts, units)
        if reps is not None:
            reps = clean_reps(reps)
            if "home_unit" in reps.columns:
                reps = _check_home_units(reps, unit_ids)
        if accounts is not None and reps is not None and "rep_id" in accounts.columns:
            owners = _known_refs(
                accounts,
                "rep_id",
                reps.index,
                table="accounts",
                what="accounts are owned by reps that are not in the reps table",
                fix="add the reps or leave rep_id empty for unowned accounts",
            )
            if owners.dtype != accounts["rep_id"].dtype:
                # '7' read from a CSV is rep 7 of a Parquet reps table: kept
                # as 7, so that the owners match reps.index downstream
                accounts = accounts.assign(rep_id=owners)
        if history is not None:
            history = clean_history(
                history,
                None if accounts is None else accounts.index,
                unit_ids,
            )
        aligned: dict[str, Alignment] = {}
        alignments = _check_named_alignments(alignments)
        _check_distinct_names(alignments, "alignments")
        for name, al in alignments.items():
            aligned[str(name)] = _check_alignment(al, unit_ids, str(name))
        try:
            # a deep copy through JSON: what load() returns (tuples become lists)
            meta = json.loads(json.dumps(dict(metadata or {}), default=_json_default))
        except TypeError as err:
            raise DataValidationError(
                "metadata",
                None,
                f"metadata must be JSON-able: {err}",
                fix="store plain numbers, strings, lists and dicts",
            ) from None
        self._units = units.copy()
        self._accounts = None if accounts is None else accounts.copy()
        self._reps = None if reps is None else reps.copy()
        self._history = None if history is None else history.copy()
        self._alignments = aligned
        self._metadata = meta
        self._scenarios = _check_scenarios(scenarios)

    # -- read-only views --------------------------------------------------------------
    @property
    def units(self) -> gpd.GeoDataFrame:
        """The units table (a copy: changing it does not change the study)."""
        return self._units.copy()

    @property
    def accounts(self) -> pd.DataFrame | None:
        return None if self._accounts is None else self._accounts.copy()

    @property
    def reps(self) -> pd.DataFrame | None:
        return None if self._reps is None else self._reps.copy()

    @property
    def history(self) -> pd.DataFrame | None:
        return None if self._history is None else self._history.copy()

    @property
    def alignments(self) -> Mapping[str, Alignment]:
        return MappingProxyType(self._alignments)

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The study's metadata (read-only; its lists and dicts are copies)."""
        return MappingProxyType(copy.deepcopy(self._metadata))

    @property
    def scenarios(self) -> Mapping[str, Mapping[str, Any]]:
        """Saved scenario records, name → JSON-able dict (read-only; copies)."""
        return MappingProxyType(copy.deepcopy(self._scenarios))

    @property
    def unit_ids(self) -> pd.Index:
        return self._units.index.copy()

    @property
    def crs(self) -> pyproj.CRS:
        return self._units.crs

    # -- derived studies -----------------------------------------------------------
    def replace(self, **changes: Any) -> Study:
        """A new study with some parts replaced (``units=``, ``accounts=``, ...).

        Everything is validated again; alignments must still cover the units.
        """
        allowed = {*_TABLES, "alignments", "metadata", "scenarios"}
        unknown = set(changes) - allowed
        if unknown:
            raise TypeError(
                f"Study.replace() got unknown parts {sorted(unknown)}; "
                f"choose from {sorted(allowed)}"
            )
        parts: dict[str, Any] = {
            "units": self._units,
            "accounts": self._accounts,
            "reps": self._reps,
            "history": self._history,
            "alignments": self._alignments,
            "metadata": self._metadata,
            "scenarios": self._scenarios,
        }
        parts.update(changes)
        return Study(**parts)

    def with_alignment(self, alignment: Alignment, name: str | None = None) -> Study:
        """A new study that also holds ``alignment`` (under ``name`` or its own).

        Raises
        ------
        DataValidationError
            ``alignment`` is not an :class:`Alignment` (a dict of unit →
            territory: wrap it with :meth:`Alignment.from_mapping`), or does
            not cover the study's units.
        """
        if not isinstance(alignment, Alignment):
            raise DataValidationError(
                "alignment",
                None,
                f"with_alignment() takes an Alignment, got a "
                f"{type(alignment).__name__}",
                fix="wrap a dict of unit → territory with tk.Alignment.from_mapping"
                "(mapping, name='...')",
            )
        key = alignment.name if name is None else name
        if key != alignment.name:
            alignment = alignment.rename(key)
        new = dict(self._alignments)
        new[key] = alignment
        return self.replace(alignments=new)

    def with_scenario(self, name: str, record: Mapping[str, Any]) -> Study:
        """A new study that also holds the scenario ``record`` under ``name``.

        ``record`` is a JSON-able dict such as
        :meth:`terrakit.realign.Scenario.to_dict` returns; it is saved with
        the study (metadata layer) and read back by :meth:`load`.

        Raises
        ------
        DataValidationError
            ``record`` is not a JSON-able dict (a ``Scenario`` object: store
            ``scenario.to_dict()``).
        """
        new: dict[str, Any] = dict(self._scenarios)
        new[str(name)] = record  # checked (and copied) by _check_scenarios
        return self.replace(scenarios=new)

    def without_alignment(self, name: str) -> Study:
        if name not in self._alignments:
            raise KeyError(
                f"no alignment {name!r}; the study has {list(self._alignments)}"
            )
        new = {k: v for k, v in self._alignments.items() if k != name}
        return self.replace(alignments=new)

    # -- aggregates ----------------------------------------------------------------
    def account_territories(self, alignment: Alignment | str) -> pd.Series:
        """Territory of every account under ``alignment`` (via its unit)."""
        al = self._get_alignment(alignment)
        if self._accounts is None or "unit_id" not in self._accounts.columns:
            raise DataValidationError(
                "accounts",
                "unit_id",
                "the study has no accounts joined to units",
                fix="load accounts with a unit_id column or with units=... for a "
                "point-in-polygon join",
            )
        terr = al.assignment.reindex(self._accounts["unit_id"].to_numpy())
        return pd.Series(
            terr.to_numpy(), index=self._accounts.index, name="territory_id"
        )

    def unit_measures(self) -> gpd.GeoDataFrame:
        """Units with account aggregates added where the units table lacks them.

        Adds ``accounts`` (count), ``workload`` (hours/year = Σ calls_per_year ×
        call_minutes / 60) and ``sales`` (Σ annual_sales) when these columns are
        not already on the units table.

        Raises
        ------
        DataValidationError
            When an accounts column that a derived measure sums
            (``calls_per_year``, ``call_minutes``, ``annual_sales``) has
            missing values: counting them as 0 would understate their units.
            A measure the units table already carries is not derived, so its
            account columns are not checked.
        """
        units = self._units.copy()
        acc = self._accounts
        if acc is None or "unit_id" not in acc.columns:
            return units
        g = acc.groupby("unit_id", sort=False)
        derive_workload = "workload" not in units.columns and {
            "calls_per_year",
            "call_minutes",
        } <= set(acc.columns)
        derive_sales = "sales" not in units.columns and "annual_sales" in acc.columns
        for col, measure, derive in (
            ("calls_per_year", "workload", derive_workload),
            ("call_minutes", "workload", derive_workload),
            ("annual_sales", "sales", derive_sales),
        ):
            if derive:
                _refuse_missing_inputs(acc, col, measure)
        if "accounts" not in units.columns:
            units["accounts"] = (
                g.size().reindex(units.index, fill_value=0).astype(np.int64)
            )
        if derive_workload:
            hours = acc["calls_per_year"] * acc["call_minutes"] / 60.0
            units["workload"] = (
                hours.groupby(acc["unit_id"]).sum().reindex(units.index, fill_value=0.0)
            )
        if derive_sales:
            units["sales"] = (
                g["annual_sales"].sum().reindex(units.index, fill_value=0.0)
            )
        return units

    def _get_alignment(self, alignment: Alignment | str) -> Alignment:
        if isinstance(alignment, Alignment):
            return _check_alignment(alignment, self._units.index, alignment.name)
        if alignment not in self._alignments:
            raise KeyError(
                f"no alignment named {alignment!r}; the study has "
                f"{sorted(self._alignments)}"
            )
        return self._alignments[alignment]

    # -- persistence --------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the study to ONE GeoPackage file (replaced atomically).

        The file is written to a temporary file next to ``path`` and moved into
        place only when complete, so a failed save never damages an existing
        study file.  Layers and tables of an existing study file that are not
        the study's own (the table ``tk.sweep(..., out=path)`` writes its rows
        to, styles or layers added in QGIS) are copied into the new file.

        Raises
        ------
        DataValidationError
            A column the file cannot hold (naming the table and the column),
            or a layer of the existing file that cannot be kept; the file is
            then left as it was.
        """
        path = check_study_path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(suffix=".gpkg", dir=path.parent)
        os.close(fd)
        os.unlink(tmp_name)
        tmp = Path(tmp_name)
        try:
            schema: dict[str, Any] = {}
            units_store, schema["units"] = _encode_table(
                self._units, "unit_id", "units"
            )
            geom_types = set(units_store.geometry.geom_type.dropna())
            pyogrio.write_dataframe(
                units_store,
                tmp,
                layer="units",
                driver="GPKG",
                promote_to_multi=False,
                geometry_type=geom_types.pop() if len(geom_types) == 1 else "Unknown",
            )
            for name, id_name in (
                ("accounts", "account_id"),
                ("reps", "rep_id"),
                ("history", None),
            ):
                df = getattr(self, f"_{name}")
                if df is None:
                    continue
                store, schema[name] = _encode_table(df, id_name, name)
                _write_attributes(store, tmp, name)
            align_meta = []
            if self._alignments:
                frames = []
                stored = []
                for name, al in self._alignments.items():
                    f = al.to_frame()
                    f.insert(0, "alignment", name)
                    frames.append(f)
                    values, spec = _encode_territories(al)
                    stored.append(values)
                    align_meta.append(
                        {"name": name, "provenance": dict(al.provenance), **spec}
                    )
                long = pd.concat(frames, ignore_index=True)
                everything = [v for vals in stored for v in vals]
                if all(spec["territory_encoding"] == "int" for spec in align_meta):
                    # integer ids stay integers (QGIS joins them to integer ids)
                    long["territory_id"] = np.asarray(everything, dtype=np.int64)
                else:
                    long["territory_id"] = pd.Series(
                        [str(v) for v in everything], dtype=object
                    )
                store, schema["alignments"] = _encode_table(long, None, "alignments")
                # unit ids keep the units' dtype
                schema["alignments"]["columns"][1] = {
                    "name": "unit_id",
                    **schema["units"]["index"]["dtype_spec"],
                }
                _write_attributes(store, tmp, "alignments")
            meta_rows = {
                "format_version": FORMAT_VERSION,
                "schema": schema,
                "alignments": align_meta,
                "metadata": self._metadata,
                "scenarios": self._scenarios,
                "crs": self._units.crs.to_json() if self._units.crs else None,
            }
            from terrakit import __version__

            meta_rows["terrakit_version"] = __version__
            meta = pd.DataFrame(
                {
                    "key": list(meta_rows),
                    "value": [
                        json.dumps(v, default=_json_default) for v in meta_rows.values()
                    ],
                }
            )
            _write_attributes(meta, tmp, _META_LAYER)
            if path.exists():
                _keep_foreign_layers(path, tmp)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Study:
        """Read a study written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        DataValidationError
            If the file is a GeoPackage but not a terrakit study.
        """
        path = Path(path).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"no study file at {str(path)!r}")
        not_study = (
            "build a study with tk.Study(...) and save it, or read single layers "
            "with tk.data.read_units(path, layer=...)"
        )
        if path.is_dir():
            raise DataValidationError(
                "study",
                None,
                f"{str(path)!r} is a folder, not a study file",
                fix="give the path of the .gpkg study file",
            )
        try:
            layers = {str(n) for n, _ in pyogrio.list_layers(path)}
        except pyogrio.errors.DataSourceError:
            raise DataValidationError(
                "study",
                None,
                f"{path.name} is not a terrakit study file: it is not a GeoPackage "
                "(nor any file GDAL can read)",
                fix=not_study,
            ) from None
        if _META_LAYER not in layers or "units" not in layers:
            raise DataValidationError(
                "study",
                None,
                f"{path.name} is not a terrakit study file (layers: {sorted(layers)})",
                fix=not_study,
            )
        try:
            meta_df = pyogrio.read_dataframe(path, layer=_META_LAYER)
            meta = {
                k: json.loads(v)
                for k, v in zip(meta_df["key"], meta_df["value"], strict=True)
            }
            schema = meta["schema"]
        except (KeyError, ValueError) as err:
            raise DataValidationError(
                "study",
                None,
                f"{path.name} has a damaged {_META_LAYER!r} layer ({err!r})",
                fix="save the study again from terrakit; do not edit that layer",
            ) from None
        version = meta.get("format_version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise DataValidationError(
                "study",
                None,
                f"{path.name} has study format {version!r}, written by terrakit "
                f"{meta.get('terrakit_version', '?')}; this terrakit reads format "
                f"{FORMAT_VERSION} and older",
                fix="upgrade terrakit (pip install -U terrakit)",
            )
        units_raw = _read_layer(path, "units", schema["units"])
        units = _decode_table(units_raw, schema["units"])
        if meta.get("crs"):
            units = units.set_crs(
                pyproj.CRS.from_json(meta["crs"]), allow_override=True
            )
        tables: dict[str, Any] = {"units": units}
        for name in ("accounts", "reps", "history"):
            tables[name] = (
                _decode_table(_read_layer(path, name, schema[name]), schema[name])
                if name in schema
                else None
            )
        alignments: dict[str, Alignment] = {}
        if "alignments" in schema:
            long = _decode_table(
                pyogrio.read_dataframe(path, layer="alignments"), schema["alignments"]
            )
            for spec in meta["alignments"]:
                part = long[long["alignment"] == spec["name"]]
                terr = _decode_territories(part["territory_id"], spec, version)
                s = pd.Series(
                    terr.to_numpy(),
                    index=pd.Index(
                        part["unit_id"].to_numpy(),
                        dtype=units.index.dtype,
                        name="unit_id",
                    ),
                )
                alignments[spec["name"]] = Alignment(
                    s, name=spec["name"], provenance=spec["provenance"]
                )
        return cls(
            **tables,
            alignments=alignments,
            metadata=meta.get("metadata"),
            scenarios=meta.get("scenarios"),
        )

    # -- display ---------------------------------------------------------------------
    def summary(self) -> str:
        """Stable text description of what the study holds."""
        lines = [
            f"Study: {len(self._units)} units"
            f" ({self._units.geometry.geom_type.mode().iat[0].lower()}s,"
            f" CRS {self._units.crs.to_string() if self._units.crs else None})"
        ]
        if self._accounts is not None:
            lines.append(f"  accounts: {len(self._accounts)}")
        if self._reps is not None:
            lines.append(f"  reps: {len(self._reps)}")
        if self._history is not None:
            p = self._history["period"]
            lines.append(f"  history: {len(self._history)} rows, {p.min()}..{p.max()}")
        for name, al in self._alignments.items():
            lines.append(
                f"  alignment {name!r}: {al.n_territories} territories "
                f"({al.provenance.get('method', '?')})"
            )
        for name, rec in self._scenarios.items():
            lines.append(f"  scenario {name!r}: {len(rec.get('edits', ()))} edits")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "<" + self.summary().replace("\n  ", "; ") + ">"

    def equals(self, other: Study) -> bool:
        """Exact equality of every table, alignment (its name, assignment and
        provenance), the metadata and the scenarios."""
        if not isinstance(other, Study):
            return False
        for name in _TABLES:
            a, b = getattr(self, f"_{name}"), getattr(other, f"_{name}")
            if (a is None) != (b is None):
                return False
            if a is not None:
                try:
                    pd.testing.assert_frame_equal(a, b, check_exact=True)
                except AssertionError:
                    return False
        if self._units.crs != other._units.crs:
            return False
        if set(self._alignments) != set(other._alignments):
            return False
        for k, al in self._alignments.items():
            o = other._alignments[k]
            if (
                al.name != o.name
                or not al.same_assignment(o)
                or dict(al.provenance) != dict(o.provenance)
            ):
                return False
        return self._metadata == other._metadata and self._scenarios == other._scenarios


def _check_distinct_names(named: Mapping[Any, Any], table: str) -> None:
    """Raise if two keys are the same text (``2024`` and ``"2024"``): the
    study keys by text, so one would silently replace the other."""
    by_text: dict[str, list[Any]] = {}
    for key in named:
        by_text.setdefault(str(key), []).append(key)
    clash = [keys for keys in by_text.values() if len(keys) > 1]
    if clash:
        shown = "; ".join(" and ".join(repr(k) for k in keys) for keys in clash)
        raise DataValidationError(
            table,
            None,
            f"names collide once made text ({shown}): the study "
            "names them by text, so one would replace the other",
            rows=[k for keys in clash for k in keys],
            fix="give each a distinct name (e.g. '2024' and '2024_v2')",
        )


def _check_named_alignments(alignments: Any) -> Mapping[Any, Any]:
    """``alignments`` as a mapping name → alignment (``{}`` for ``None``);
    a list of alignments or a single one is refused with the dict to pass."""
    if alignments is None:
        return {}
    if isinstance(alignments, Mapping):
        return alignments
    if isinstance(alignments, Alignment):
        got = f"one Alignment ({alignments.name!r})"
        fix = "pass alignments={alignment.name: alignment}, or add it with "
        fix += "study.with_alignment(alignment)"
    else:
        got = f"a {type(alignments).__name__}"
        fix = "pass alignments={a.name: a for a in alignments} (the key is the "
        fix += "alignment's name in the study)"
    raise DataValidationError(
        "alignments",
        None,
        f"alignments must be a dict of name → Alignment, got {got}",
        fix=fix,
    )


def _check_scenarios(
    scenarios: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if scenarios is not None and not isinstance(scenarios, Mapping):
        raise DataValidationError(
            "scenarios",
            None,
            "scenarios must be a dict of name → scenario record, got a "
            f"{type(scenarios).__name__}",
            fix="pass scenarios={name: scenario.to_dict()}, or add one with "
            "study.with_scenario(name, scenario.to_dict())",
        )
    _check_distinct_names(scenarios or {}, "scenarios")
    for name, rec in (scenarios or {}).items():
        if not isinstance(rec, Mapping):
            raise DataValidationError(
                "scenarios",
                None,
                f"scenario {name!r} must be a JSON-able dict, got {type(rec).__name__}",
                rows=[name],
                fix="store scenario.to_dict() (or use scenario.save_to(study))",
            )
        try:
            # a deep copy through JSON: the study never shares mutable records
            out[str(name)] = json.loads(json.dumps(dict(rec), default=_json_default))
        except TypeError as err:
            raise DataValidationError(
                "scenarios",
                None,
                f"scenario {name!r} is not JSON-able: {err}",
                rows=[name],
                fix="store plain numbers, strings, lists and dicts",
            ) from None
    return out


def _check_alignment(al: Alignment, unit_ids: pd.Index, name: str) -> Alignment:
    if not isinstance(al, Alignment):
        raise DataValidationError(
            "alignment",
            None,
            f"alignment {name!r} is a {type(al).__name__}, not an Alignment",
            fix="wrap a dict with tk.Alignment.from_mapping(...)",
        )
    if al.name != name:
        # the key is the alignment's name in the study (as with_alignment)
        al = al.rename(name)
    idx = al.assignment.index
    if idx.dtype != unit_ids.dtype:
        conv = _align_id_dtype(pd.Series(idx), unit_ids)
        if conv.dtype == unit_ids.dtype or conv.isin(unit_ids).all():
            s = pd.Series(
                al.assignment.to_numpy(), index=pd.Index(conv, name="unit_id")
            )
            al = Alignment(s, name=al.name, provenance=al.provenance)
            idx = al.assignment.index
    extra = idx.difference(unit_ids)
    if len(extra):
        zeros, zero_fix = _leading_zeros(
            list(extra), unit_ids, table="alignment", ref="units"
        )
        raise DataValidationError(
            "alignment",
            "unit_id",
            f"alignment {name!r} names {len(extra)} units that are not in the study"
            + zeros,
            rows=list(extra),
            n_bad=len(extra),
            fix=zero_fix
            or "drop those units from the alignment or add them to the units table",
        )
    missing = unit_ids.difference(idx)
    if len(missing):
        raise DataValidationError(
            "alignment",
            "unit_id",
            f"alignment {name!r} leaves {len(missing)} of {len(unit_ids)} units "
            "without a territory",
            rows=list(missing),
            n_bad=len(missing),
            fix="assign every unit of the study to a territory",
        )
    try:
        # a copy through JSON: what save() can write and load() returns
        prov = json.loads(json.dumps(dict(al.provenance), default=_json_default))
    except (TypeError, ValueError) as err:
        raise DataValidationError(
            "alignment",
            None,
            f"alignment {name!r}: the provenance is not JSON-able, so the study "
            f"could not be saved ({err})",
            rows=[name],
            fix="keep plain numbers, strings, lists and dicts in the provenance "
            "(e.g. str(timestamp)); tk.data.make_provenance checks this",
        ) from None
    if not idx.equals(unit_ids):
        s = al.assignment.reindex(unit_ids)
        al = Alignment(s, name=al.name, provenance=prov)
    elif not _same_json(prov, dict(al.provenance)):
        al = Alignment(al.assignment, name=al.name, provenance=prov)
    return al


def _territory_key(value: Any) -> str:
    """The plain text a territory id is stored as in the alignments layer."""
    return str(value.item() if isinstance(value, np.generic) else value)


def _encode_territories(al: Alignment) -> tuple[list[Any], dict[str, Any]]:
    """The territory ids of ``al`` as the alignments layer stores them, and
    the metadata that restores them exactly.

    ``territory_encoding`` says how the stored values read back: ``"text"``
    (every id is text, stored as is), ``"int"`` (every id an integer, stored
    as one), ``"lookup"`` (other ids, e.g. floats, booleans or a mix: stored
    as text, ``territories`` lists the distinct ids to look the text up in)
    or ``"json"`` (ids whose texts collide, such as ``1`` and ``"1"``: stored
    as JSON text).  ``territory_dtype`` restores the Series' dtype.
    """
    t = al.assignment
    values = [v.item() if isinstance(v, np.generic) else v for v in t.astype(object)]
    spec: dict[str, Any] = {"territory_dtype": _dtype_spec(t)}
    if all(isinstance(v, str) for v in values):
        spec["territory_encoding"] = "text"
        return values, spec
    int64 = np.iinfo(np.int64)
    if all(
        isinstance(v, int) and not isinstance(v, bool) and int64.min <= v <= int64.max
        for v in values
    ):
        spec["territory_encoding"] = "int"
        return values, spec
    distinct = {(type(v), _territory_key(v)): v for v in values}
    bad = [v for v in distinct.values() if not _json_able(v)]
    if bad:
        raise DataValidationError(
            "alignment",
            "territory_id",
            f"alignment {al.name!r} has territory ids that cannot be saved, "
            f"e.g. {bad[0]!r} of type {type(bad[0]).__name__}",
            fix="use text or integer territory ids (e.g. map them with str)",
        )
    keys = [k for _, k in distinct]
    if len(set(keys)) < len(keys):
        spec["territory_encoding"] = "json"
        return [json.dumps(v, default=_json_default) for v in values], spec
    spec["territory_encoding"] = "lookup"
    spec["territories"] = list(distinct.values())
    return [_territory_key(v) for v in values], spec


def _json_able(value: Any) -> bool:
    try:
        json.dumps(value, default=_json_default)
    except (TypeError, ValueError):
        return False
    return True


def _decode_territories(
    stored: pd.Series, spec: dict[str, Any], version: int
) -> pd.Series:
    """The territory ids that :func:`_encode_territories` stored (or that
    format 1 stored as JSON text), in their saved dtype."""
    encoding = spec.get("territory_encoding", "json" if version < 2 else None)
    values: list[Any]
    if encoding == "text":
        values = list(stored)
    elif encoding == "int":
        values = [int(v) for v in stored]
    elif encoding == "lookup":
        table = {_territory_key(v): v for v in spec["territories"]}
        values = [table[_territory_key(v)] for v in stored]
    elif encoding == "json":
        values = [json.loads(v) for v in stored]
    else:
        raise DataValidationError(
            "study",
            None,
            f"unknown territory encoding {encoding!r} in the alignments metadata",
            fix="save the study again from terrakit; do not edit that layer",
        )
    # an Alignment holds a numpy array: object, integer, float or bool
    dtype = spec["territory_dtype"]["dtype"]
    out = pd.Series(values, dtype=object)
    return out if dtype == "object" else out.astype(dtype)


def _refuse_missing_inputs(acc: pd.DataFrame, column: str, measure: str) -> None:
    """``acc[column]`` has no missing values, since it is summed into the units'
    ``measure``: a missing value counted as 0 would understate its unit, and
    a design would then balance the wrong numbers."""
    bad = acc[column].isna().to_numpy()
    if not bad.any():
        return
    units = list(dict.fromkeys(_ids(acc["unit_id"].to_numpy()[bad])))
    shown = ", ".join(repr(u) for u in units[:5]) + (" ..." if len(units) > 5 else "")
    raise DataValidationError(
        "accounts",
        column,
        f"{int(bad.sum())} accounts have no {column} (NaN), so the {measure} of "
        f"their {len(units)} unit{'s' if len(units) > 1 else ''} ({shown}) cannot "
        "be summed from the accounts",
        rows=_ids(acc.index[bad]),
        n_bad=int(bad.sum()),
        fix=f"fill accounts.{column} (0 where there is none) or drop those "
        f"accounts, or give the units table its own {measure!r} column",
    )


def _check_home_units(reps: pd.DataFrame, unit_ids: pd.Index) -> pd.DataFrame:
    """Every rep's ``home_unit`` (where given) is a unit of the study.

    The design roots each rep's territory at its home unit; a home unit that
    is not among the units used to be replaced silently by the unit nearest
    the home's coordinates.
    """
    home = _known_refs(
        reps,
        "home_unit",
        unit_ids,
        table="reps",
        what="reps have a home_unit that is not in the units table",
        fix="give the id of the unit the rep's home lies in, or leave home_unit "
        "empty for those reps (the unit nearest home_lon/home_lat is used)",
    )
    if home.dtype != reps["home_unit"].dtype:
        reps = reps.assign(home_unit=home)
    return reps


def _known_refs(
    df: pd.DataFrame, column: str, ids: pd.Index, *, table: str, what: str, fix: str
) -> pd.Series:
    """``df[column]`` in the dtype of ``ids``; a value (not empty) that is not
    among ``ids`` is a :class:`DataValidationError` naming the rows."""
    refs = _align_id_dtype(df[column], ids)
    unknown = refs.notna() & ~refs.isin(ids)
    if unknown.any():
        bad = list(dict.fromkeys(refs[unknown]))
        zeros, zero_fix = _leading_zeros(bad, ids, table=table)
        given = list(dict.fromkeys(df.loc[unknown.to_numpy(), column]))
        raise DataValidationError(
            table,
            column,
            f"{int(unknown.sum())} {what} (unknown: {given[:5]}){zeros}",
            rows=list(df.index[unknown.to_numpy()]),
            n_bad=int(unknown.sum()),
            fix=zero_fix or fix,
        )
    return refs


def _same_json(a: Any, b: Any) -> bool:
    """``a == b`` that says ``False`` where ``==`` gives an array (numpy values)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def check_study_path(path: str | os.PathLike[str]) -> Path:
    """Check that :meth:`Study.save` may write a study file at ``path``.

    Returns
    -------
    Path
        ``path`` with ``~`` expanded to the user's home folder.

    Raises
    ------
    ValueError
        ``path`` does not end in ``.gpkg``.
    IsADirectoryError, NotADirectoryError
        ``path`` is a folder, or its folder is a file.
    FileExistsError
        ``path`` exists and is no terrakit study file (it would be destroyed).
    """
    # '~/client.gpkg' is in the user's home (it created a folder named '~')
    path = Path(path).expanduser()
    if path.suffix.lower() != ".gpkg":
        raise ValueError(
            f"a study file is a GeoPackage: use a .gpkg path, got {path.name!r}"
        )
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a folder; give the study file's name, e.g. "
            f"{str(path / 'study.gpkg')!r}"
        )
    if path.exists() and not _is_study_file(path):
        raise FileExistsError(
            f"{str(path)!r} exists and is not a terrakit study file, so saving "
            "would destroy it (a GeoPackage of your own data?); choose another "
            "file name, or delete that file first if it may go"
        )
    if path.parent.exists() and not path.parent.is_dir():
        raise NotADirectoryError(
            f"cannot save to {str(path)!r}: {str(path.parent)!r} is a file, "
            "not a folder"
        )
    return path


def _is_study_file(path: Path) -> bool:
    """Whether ``path`` is a GeoPackage that :meth:`Study.save` wrote."""
    try:
        layers = {str(n) for n, _ in pyogrio.list_layers(path)}
    except pyogrio.errors.DataSourceError:
        return False
    return _META_LAYER in layers and "units" in layers


# -- dtype-preserving storage codec -------------------------------------------------
def _dtype_spec(s: pd.Series | pd.Index) -> dict[str, Any]:
    dt = s.dtype
    if isinstance(dt, pd.ArrowDtype):
        # stored as its numpy / nullable equivalent (_from_arrow), restored
        # to the Arrow type named here
        return {
            **_dtype_spec(_from_arrow(pd.Series(s))),
            "arrow_type": str(dt.pyarrow_dtype),
        }
    if isinstance(dt, pd.CategoricalDtype):
        cats = dt.categories
        return {
            "dtype": "category",
            "ordered": bool(dt.ordered),
            "categories": [c.item() if isinstance(c, np.generic) else c for c in cats],
            "categories_dtype": str(cats.dtype),
            # the values are stored, not the codes (format 2 stored the codes
            # of categories other than object ones)
            "category_encoding": "values",
        }
    if isinstance(dt, pd.StringDtype) and str(dt) == "string":
        # 'string' alone reads back as string[python]
        return {"dtype": f"string[{dt.storage}]"}
    if isinstance(dt, pd.PeriodDtype):
        return {"dtype": "period", "period_dtype": str(dt)}
    if isinstance(dt, pd.DatetimeTZDtype):
        return {"dtype": str(dt), "encoding": "datetime", "tz": str(dt.tz)}
    if ptypes.is_datetime64_dtype(dt):
        return {"dtype": str(dt), "encoding": "datetime"}
    if isinstance(dt, np.dtype) and dt.kind == "m":
        # int64 counts of the dtype's unit (ns for timedelta64[ns]), NaT as null
        return {"dtype": str(dt), "encoding": "timedelta"}
    if ptypes.is_object_dtype(dt):
        vals = pd.Series(s).dropna()
        if all(isinstance(v, str) for v in vals):
            return {"dtype": "object", "encoding": "str"}
        if all(_is_date(v) for v in vals):
            # datetime.date objects (a Parquet DATE column, a SQL DATE):
            # stored as dates, read back as date objects
            return {"dtype": "object", "encoding": "date"}
        return {"dtype": "object", "encoding": "json"}
    return {"dtype": str(dt)}


def _is_date(value: Any) -> bool:
    """Whether ``value`` is a :class:`datetime.date` (not a datetime)."""
    return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)


def _arrow_equivalent(pa_type: Any) -> Any:
    """The numpy / nullable pandas dtype that holds an Arrow column of
    ``pa_type`` exactly (nulls included), or ``None`` where the study file
    stores no such column (decimals, lists, binary, times...)."""
    import pyarrow as pa

    t = pa.types
    if t.is_boolean(pa_type):
        return "boolean"
    if t.is_integer(pa_type):
        sign = "UInt" if t.is_unsigned_integer(pa_type) else "Int"
        return f"{sign}{pa_type.bit_width}"
    if t.is_floating(pa_type):
        return np.dtype(pa_type.to_pandas_dtype())
    if t.is_string(pa_type) or t.is_large_string(pa_type):
        return object
    if t.is_timestamp(pa_type):
        if pa_type.tz is not None:
            return pd.DatetimeTZDtype(pa_type.unit, pa_type.tz)
        return np.dtype(f"datetime64[{pa_type.unit}]")
    if t.is_date32(pa_type):
        return np.dtype("datetime64[s]")
    if t.is_date64(pa_type):
        return np.dtype("datetime64[ms]")
    if t.is_duration(pa_type):
        return np.dtype(f"timedelta64[{pa_type.unit}]")
    return None


def _from_arrow(s: pd.Series) -> pd.Series:
    """An Arrow-backed column (``dtype_backend="pyarrow"``) as its numpy /
    nullable equivalent (:func:`_arrow_equivalent`), which the codec stores."""
    plain = _arrow_equivalent(s.dtype.pyarrow_dtype)
    if plain is object:
        return s.astype(object).where(s.notna(), None)
    return s.astype(plain)


def _arrow_dtype(name: str) -> pd.ArrowDtype:
    """The Arrow dtype that ``str(dtype.pyarrow_dtype)`` named."""
    import pyarrow as pa

    if name == "string":
        # 'string[pyarrow]' names pandas' StringDtype, not the Arrow one
        return pd.ArrowDtype(pa.string())
    dtype = pd.api.types.pandas_dtype(f"{name}[pyarrow]")
    assert isinstance(dtype, pd.ArrowDtype)
    return dtype


def _categories_kind(dt: pd.CategoricalDtype) -> str | None:
    """How the values of a categorical are stored: ``"text"``, ``"int"``,
    ``"float"`` (floats and booleans), or ``None`` where the study file cannot
    hold them (intervals from ``pd.cut``, dates, periods, mixed objects)."""
    cats = dt.categories
    kind = cats.dtype.kind if isinstance(cats.dtype, np.dtype) else None
    if kind in ("i", "u"):
        return "int"
    if kind in ("f", "b"):
        return "float"
    if ptypes.is_string_dtype(cats.dtype) and all(isinstance(c, str) for c in cats):
        return "text"
    return None


#: pandas' nullable integer dtypes: stored as int64 with nulls, read back
#: exactly (:func:`_read_layer`)
_NULLABLE_INTS = frozenset(
    ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64")
)


def _encode_values(s: pd.Series, spec: dict[str, Any]) -> pd.Series:
    kind = spec["dtype"]
    if "arrow_type" in spec:
        s = _from_arrow(s)
    if kind == "category":
        # the values, as the categories hold them (QGIS shows them)
        store = _categories_kind(s.dtype)
        if store == "text" or not len(s.cat.categories):
            return s.astype(object).where(s.notna(), None)
        codes = s.cat.codes.to_numpy()
        missing = codes < 0
        values = pd.Series(
            s.cat.categories.take(np.where(missing, 0, codes)).to_numpy(),
            index=s.index,
        )
        if store == "int":
            # exactly, as integers with nulls (above int64: refused at save)
            return values.astype(np.int64).astype("Int64").mask(missing)
        return values.astype("float64").mask(missing)
    if kind == "period":
        return s.astype(str).where(s.notna(), None)
    if spec.get("encoding") == "datetime":
        return s.astype(object).where(s.notna(), None) if "tz" in spec else s
    if spec.get("encoding") == "timedelta":
        counts = pd.array(s.to_numpy().view(np.int64), dtype="Int64")
        counts[s.isna().to_numpy()] = pd.NA
        return pd.Series(counts, index=s.index)
    if spec.get("encoding") == "json":
        return s.map(
            lambda v: None if v is None else json.dumps(v, default=_json_default)
        )
    if spec.get("encoding") == "str":
        return s.astype(object).where(s.notna(), None)
    if spec.get("encoding") == "date":
        present = s.notna().to_numpy()
        days = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[D]")
        days[present] = [
            np.datetime64(v, "D") for v in s.to_numpy(dtype=object)[present]
        ]
        return pd.Series(days.astype("datetime64[s]"), index=s.index)
    if kind in ("boolean",):
        return s.astype("float64")
    if kind in _NULLABLE_INTS:
        # exactly, as integers with nulls (as floats, 2**53 + 1 came back
        # 2**53 and 18-digit ids collided); UInt64 above int64 is refused
        return s.astype("Int64")
    if kind in ("Float32", "Float64", "float16"):
        return s.astype("float64")
    if kind in ("string", "string[python]", "string[pyarrow]", "str"):
        return s.astype(object).where(s.notna(), None)
    return s


def _restore_dtype(s: pd.Series, spec: dict[str, Any]) -> pd.Series:
    kind = spec["dtype"]
    if "arrow_type" in spec:
        plain = {k: v for k, v in spec.items() if k != "arrow_type"}
        return _restore_dtype(s, plain).astype(_arrow_dtype(spec["arrow_type"]))
    if kind == "category":
        cats = pd.Index(spec["categories"], dtype=spec["categories_dtype"])
        if spec.get("category_encoding") == "values":
            present = s.notna().to_numpy()
            codes = np.full(len(s), -1, dtype=np.int64)
            if present.any():
                values = pd.Index(s.to_numpy(dtype=object)[present])
                if cats.dtype.kind in "iub":
                    # stored integers read as floats where some are missing
                    values = values.astype(cats.dtype)
                codes[present] = cats.get_indexer(values)
            return pd.Series(
                pd.Categorical.from_codes(
                    codes, categories=cats, ordered=spec["ordered"]
                ),
                index=s.index,
            )
        if spec["categories_dtype"] != "object":
            # format 2 and older stored the codes of such categories
            codes = s.fillna(-1).astype(np.int64).to_numpy()
            return pd.Series(
                pd.Categorical.from_codes(
                    codes, categories=cats, ordered=spec["ordered"]
                ),
                index=s.index,
            )
        return s.astype(pd.CategoricalDtype(cats, ordered=spec["ordered"]))
    if kind == "period":
        # parse each distinct month once (a history repeats a few dozen
        # months over its rows), missing ones as NaT
        codes, months = pd.factorize(s, use_na_sentinel=True)
        parsed = pd.PeriodIndex(months, dtype=spec["period_dtype"]).array
        return pd.Series(parsed.take(codes, allow_fill=True), index=s.index)
    if spec.get("encoding") == "datetime":
        if "tz" in spec:
            return pd.to_datetime(s, utc=True).dt.tz_convert(spec["tz"]).astype(kind)
        return s.astype(kind)
    if spec.get("encoding") == "timedelta":
        counts = pd.array(s, dtype="Int64").to_numpy(
            dtype=np.int64, na_value=np.iinfo(np.int64).min
        )
        return pd.Series(counts.view(kind), index=s.index)  # int64 min is NaT
    if spec.get("encoding") == "json":
        return s.map(
            lambda v: None if v is None or v is np.nan else json.loads(v)
        ).astype(object)
    if spec.get("encoding") == "str":
        return s.astype(object).where(s.notna(), None)
    if spec.get("encoding") == "date":
        # GDAL reads a date far from today (year 1) as text
        return pd.Series(
            [
                None
                if pd.isna(v)
                else v.date()
                if isinstance(v, datetime.datetime)
                else datetime.date.fromisoformat(str(v)[:10])
                for v in s
            ],
            index=s.index,
            dtype=object,
        )
    if (kind == "bool" or kind.startswith(("int", "uint"))) and s.isna().any():
        # a cell blanked outside terrakit (e.g. in QGIS): the nullable dtype
        # keeps the other values and the gap, which the Study's checks then
        # name, instead of a bare casting error that loads nothing
        if kind == "bool":
            return s.astype("boolean")
        dt = np.dtype(kind)
        return s.astype(f"{'UInt' if dt.kind == 'u' else 'Int'}{8 * dt.itemsize}")
    if kind == "bool" and s.dtype != bool:
        return s.astype(bool)
    return s.astype(kind)


def _stored_array(values: pd.Series) -> Any:
    """The values to write: nullable integers (durations) stay an ``Int64``
    array, which GDAL stores as an integer field with nulls; the rest as numpy
    arrays."""
    if isinstance(values.dtype, pd.Int64Dtype):
        return values.array
    return values.to_numpy()


def _storable(dt: Any) -> bool:
    """Whether the codec stores a column of dtype ``dt`` (and reads it back)."""
    if isinstance(dt, pd.SparseDtype):
        return _storable(dt.subtype)
    if isinstance(dt, pd.ArrowDtype):
        return _arrow_equivalent(dt.pyarrow_dtype) is not None
    if isinstance(dt, pd.CategoricalDtype):
        return _categories_kind(dt) is not None
    if isinstance(dt, pd.IntervalDtype) or ptypes.is_complex_dtype(dt):
        return False
    return bool(
        isinstance(dt, (pd.CategoricalDtype, pd.PeriodDtype, pd.DatetimeTZDtype))
        or ptypes.is_bool_dtype(dt)
        or ptypes.is_integer_dtype(dt)
        or ptypes.is_float_dtype(dt)
        or ptypes.is_string_dtype(dt)
        or ptypes.is_datetime64_dtype(dt)
        or (isinstance(dt, np.dtype) and dt.kind in "mO")
    )


def _check_storable(s: pd.Series | pd.Index, table: str, column: str) -> None:
    """Raise if the study file cannot hold column ``column`` of ``table``."""
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype) and not _storable(dt):
        # pd.cut's intervals, dates, periods: no category list the file can
        # name (and read back as such)
        cats = dt.categories
        shown = f" (e.g. {cats[0]!r})" if len(cats) else ""
        plain = ""
        if isinstance(cats.dtype, (pd.PeriodDtype, pd.DatetimeTZDtype)) or (
            isinstance(cats.dtype, np.dtype) and cats.dtype.kind in "mM"
        ):
            plain = (
                f", or df[{column!r}].astype({str(cats.dtype)!r}) keeps them as "
                "a plain column"
            )
        raise DataValidationError(
            table,
            column,
            f"a categorical column whose categories are {cats.dtype}{shown} "
            "cannot be saved in a study file (it holds categories of numbers "
            "or of text)",
            fix=f"convert it before saving: df[{column!r}].astype(str) keeps the "
            f"labels as text{plain}; or drop it",
        )
    if isinstance(dt, pd.ArrowDtype) and _storable(dt):
        # checked as what is stored (the uint64 limit below)
        s = _from_arrow(pd.Series(s))
        dt = s.dtype
    if not _storable(dt):
        if isinstance(dt, pd.ArrowDtype):
            # decimals, lists, structs, binary, times of pyarrow
            fix = (
                f"convert it before saving (e.g. df[{column!r}].astype(float) or "
                ".astype(str)), or drop it"
            )
        else:
            fix = (
                f"convert it before saving (e.g. df[{column!r}].astype(str), or "
                "split complex numbers into .real and .imag columns), or drop it"
            )
        raise DataValidationError(
            table,
            column,
            f"a column of dtype {dt} cannot be saved in a study file (it holds "
            "numbers, text, booleans, dates, durations, categories and periods)",
            fix=fix,
        )
    if ptypes.is_object_dtype(dt) and _dtype_spec(s).get("encoding") == "json":
        # objects other than text are stored as JSON: a value JSON cannot hold
        # (a Decimal among floats, an object of some class) is named here
        values = np.asarray(s, dtype=object)
        bad = np.array(
            [v is not None and not _json_able(v) for v in values], dtype=bool
        )
        if bad.any():
            first = values[bad][0]
            labels = s if isinstance(s, pd.Index) else s.index
            if isinstance(first, (datetime.date, np.datetime64)):
                # datetimes left as objects (mixed time zones, dates beside
                # datetimes): the file holds a column of dates
                fix = (
                    f"convert them before saving with pd.to_datetime(df[{column!r}]"
                    ") (pass utc=True where they mix time zones)"
                )
            else:
                fix = (
                    f"convert them before saving (e.g. df[{column!r}].astype(float)"
                    " or .astype(str)), or drop the column"
                )
            raise DataValidationError(
                table,
                column,
                f"{int(bad.sum())} values cannot be saved in a study file, e.g. "
                f"{first!r} of type {type(first).__name__} (it holds numbers, "
                "text, booleans, dates, durations, categories and periods)",
                rows=_ids(labels[bad]),
                n_bad=int(bad.sum()),
                fix=fix,
            )
    if isinstance(dt, pd.CategoricalDtype):
        # numbers are stored as such: an integer above int64 cannot be
        s, dt = pd.Series(dt.categories), dt.categories.dtype
    if str(dt) in ("uint64", "UInt64") and len(s):
        big = (
            np.asarray(pd.Series(s).dropna(), dtype=np.uint64) > np.iinfo(np.int64).max
        )
        if big.any():
            raise DataValidationError(
                table,
                column,
                f"{int(big.sum())} values are above {np.iinfo(np.int64).max} "
                "(the largest integer a GeoPackage holds)",
                fix=f"store them as text (df[{column!r}].astype(str)) or floats",
            )


def _encode_table(
    df: pd.DataFrame, id_name: str | None, table: str = "study"
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table as stored and its schema; ``table`` names it in errors.

    Raises
    ------
    DataValidationError
        A column (or the index) of a dtype the file cannot hold (complex,
        interval...), naming ``table`` and the column.
    """
    for col in df.columns:
        if not isinstance(df, gpd.GeoDataFrame) or col != df.geometry.name:
            _check_storable(df[col], table, str(col))
    if id_name is not None:
        _check_storable(df.index, table, id_name)
    schema: dict[str, Any] = {"columns": []}
    is_geo = isinstance(df, gpd.GeoDataFrame)
    geom_name = df.geometry.name if is_geo else None
    out: dict[str, Any] = {}
    if id_name is not None:
        spec = _dtype_spec(df.index)
        schema["index"] = {"name": id_name, "dtype_spec": spec}
        out[id_name] = _stored_array(
            _encode_values(pd.Series(df.index, index=df.index), spec)
        )
    # A GeoPackage keeps its own ``fid`` and ``geom`` columns and compares
    # column names ignoring case, so a column named like those, or two names
    # equal but for case (``Region`` / ``region``, ``UNIT_ID`` next to the
    # ``unit_id`` index), is stored under an escaped name; the schema keeps the
    # real name, which load restores.
    taken = {"fid", "geom", "geometry"} | (
        {id_name.lower()} if id_name is not None else set()
    )
    lower_names = {str(c).lower() for c in df.columns}
    for i, col in enumerate(df.columns):
        if col == geom_name:
            continue
        if not isinstance(col, str):
            raise DataValidationError(
                "study",
                str(col),
                f"column names must be text, got {col!r}",
                fix="rename the column with df.rename(columns=...)",
            )
        spec = _dtype_spec(df[col])
        entry = {"name": col, **spec}
        stored = col
        if stored.lower() in taken:
            stored = f"tk_col{i}"
            while stored.lower() in taken or stored.lower() in lower_names:
                stored += "_"
            entry["stored_as"] = stored
        taken.add(stored.lower())
        schema["columns"].append(entry)
        out[stored] = _stored_array(_encode_values(df[col], spec))
    store = pd.DataFrame(out)
    # the stored layer puts the geometry last: keep where it was
    schema["column_order"] = [str(c) for c in df.columns]
    if is_geo:
        schema["geometry"] = geom_name
        return gpd.GeoDataFrame(
            store, geometry=df.geometry.to_numpy(), crs=df.crs
        ), schema
    return store, schema


def _decode_table(raw: pd.DataFrame, schema: dict[str, Any]) -> pd.DataFrame:
    cols: dict[str, Any] = {}
    for c in schema["columns"]:
        spec = {k: v for k, v in c.items() if k not in ("name", "stored_as")}
        cols[c["name"]] = _restore_dtype(raw[c.get("stored_as", c["name"])], spec)
    if "geometry" in schema:
        geom = raw.geometry.rename(schema["geometry"])
        df: pd.DataFrame = gpd.GeoDataFrame(cols, geometry=geom.to_numpy(), crs=raw.crs)
        if schema["geometry"] != "geometry":
            df = df.rename_geometry(schema["geometry"])
    else:
        df = pd.DataFrame(cols, index=raw.index)
    if "column_order" in schema:  # format 1 kept no order: the geometry was last
        df = df[schema["column_order"]]
    if "index" in schema:
        ispec = schema["index"]
        idx = _restore_dtype(raw[ispec["name"]], ispec["dtype_spec"])
        df.index = pd.Index(idx.to_numpy(), dtype=idx.dtype, name=ispec["name"])
    else:
        df = df.reset_index(drop=True)
    return df


def _stored_as_int64(spec: dict[str, Any]) -> bool:
    """Whether a column of ``spec`` is stored as int64 with nulls: durations,
    nullable integers and categoricals of integers."""
    if spec["dtype"] == "category":
        cats = ptypes.pandas_dtype(spec["categories_dtype"])
        return (
            spec.get("category_encoding") == "values"
            and isinstance(cats, np.dtype)
            and cats.kind in "iu"
        )
    return spec.get("encoding") == "timedelta" or spec["dtype"] in _NULLABLE_INTS


def _read_layer(path: Path, layer: str, schema: dict[str, Any]) -> pd.DataFrame:
    """A stored layer; its duration and nullable integer columns read exactly.

    GDAL gives an integer field with nulls as floats, exact only below 2**53
    (about 104 days in nanoseconds): a duration column (int64, NaT stored as
    null) or a nullable integer one is read again through Arrow, whose
    nullable integers are exact.
    """
    raw = pyogrio.read_dataframe(path, layer=layer)
    exact = [
        c.get("stored_as", c["name"]) for c in schema["columns"] if _stored_as_int64(c)
    ]
    index = schema.get("index")
    if index is not None and _stored_as_int64(index["dtype_spec"]):
        exact.append(index["name"])
    if exact and any(raw[c].dtype.kind == "f" for c in exact):
        import pyarrow as pa

        ints = pyogrio.read_dataframe(
            path,
            layer=layer,
            columns=exact,
            read_geometry=False,
            use_arrow=True,
            arrow_to_pandas_kwargs={"types_mapper": {pa.int64(): pd.Int64Dtype()}.get},
        )
        for c in exact:
            raw[c] = ints[c].to_numpy(dtype=object)
    return raw


def _write_attributes(df: pd.DataFrame, path: Path, layer: str) -> None:
    pyogrio.write_dataframe(df, path, layer=layer, driver="GPKG", append=False)


#: the GeoPackage's rows that describe a table (besides the table itself)
_GPKG_REGISTERS = (
    "gpkg_contents",
    "gpkg_ogr_contents",
    "gpkg_extensions",
    "gpkg_data_columns",
)


def _keep_foreign_layers(old: Path, new: Path) -> None:
    """Copy the layers and tables of the study file ``old`` that are not the
    study's own into ``new``, the file about to replace it.

    A study file is where ``tk.sweep(..., out=...)`` streams its rows (the
    README promises that an interrupted sweep resumes from them) and where
    QGIS keeps styles: saving the study again kept only the study's layers.
    Attribute tables (a sweep's table) and plain SQLite tables are copied as
    they are, with their indexes; layers with geometries through GDAL.

    Raises
    ------
    DataValidationError
        A layer that cannot be copied (a raster tile set, say); ``new`` is
        then not used and ``old`` stays as it was.
    """
    own = {_META_LAYER, "alignments", *_TABLES}
    try:
        with contextlib.closing(sqlite3.connect(old)) as con:
            master = con.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master"
            ).fetchall()
            contents = dict(
                con.execute("SELECT table_name, data_type FROM gpkg_contents")
            )
    except sqlite3.Error as err:
        raise DataValidationError(
            "study",
            None,
            f"cannot list the tables of {old.name} to keep those that are not the "
            f"study's own ({err})",
            fix="save the study to another file",
        ) from None
    tables = {name for kind, name, _, _ in master if kind == "table"}
    registered = [t for t in contents if t not in own]
    plain = sorted(
        t
        for t in tables
        if t not in contents
        and t not in own
        and not t.startswith(("gpkg_", "rtree_", "sqlite_"))
    )
    if not registered and not plain:
        return

    def refuse(name: str, why: str) -> DataValidationError:
        return DataValidationError(
            "study",
            None,
            f"{old.name} holds the layer {name!r}, which is not the study's own, "
            f"and saving would delete it: {why}",
            fix="move that layer to another file (or delete it if it may go), "
            "or save the study to another file",
        )

    for name in registered:
        if contents[name] not in ("features", "attributes"):
            raise refuse(name, f"a layer of {contents[name]!r} is not copied")
        if contents[name] == "features":
            try:
                meta, table = pyogrio.read_arrow(old, layer=name, return_fids=True)
                fid = meta["fid_column"]
                pyogrio.write_arrow(
                    table,
                    new,
                    layer=name,
                    driver="GPKG",
                    geometry_name=meta["geometry_name"] or None,
                    geometry_type=meta["geometry_type"],
                    crs=meta["crs"],
                    layer_options={"FID": fid} if fid else None,
                )
            except (
                pyogrio.errors.DataSourceError,
                pyogrio.errors.DataLayerError,
                pyogrio.errors.FieldError,
                pyogrio.errors.GeometryError,
            ) as err:
                raise refuse(name, f"GDAL cannot copy it ({err})") from None
    copied = [t for t in registered if contents[t] == "attributes"] + plain
    features = set(registered) - set(copied)
    current = copied[0] if copied else registered[0]
    with contextlib.closing(sqlite3.connect(new)) as con:
        con.execute("ATTACH DATABASE ? AS old", (str(old),))
        try:
            with con:
                have = {
                    r[0] for r in con.execute("SELECT name FROM main.sqlite_master")
                }
                for current in copied:
                    registers = _GPKG_REGISTERS if current in contents else ()
                    for kind, name, _, sql in master:
                        if kind == "table" and name in (current, *registers):
                            if name not in have:
                                con.execute(sql)
                                have.add(name)
                    con.execute(
                        f'INSERT INTO main."{_quoted(current)}" SELECT * FROM '
                        f'old."{_quoted(current)}"'
                    )
                    for register in registers:
                        if register in have and register in tables:
                            con.execute(
                                f"INSERT INTO main.{register} SELECT * FROM "
                                f"old.{register} WHERE table_name = ?",
                                (current,),
                            )
                # the indexes (the sweep's unique key) and triggers of the
                # copied tables; of a layer GDAL copied, the indexes it has not
                # made anew
                for kind, name, table_name, sql in master:
                    current = table_name
                    if (
                        sql is not None
                        and name not in have
                        and (
                            (kind in ("index", "trigger") and table_name in copied)
                            or (kind == "index" and table_name in features)
                        )
                    ):
                        con.execute(sql)
        except sqlite3.Error as err:
            raise refuse(current, f"SQLite cannot copy it ({err})") from None
        finally:
            con.execute("DETACH DATABASE old")


def _quoted(name: str) -> str:
    """``name`` for use inside double quotes in SQL."""
    return name.replace('"', '""')

"""The :class:`Alignment`: which territory each unit belongs to, and how it was made."""

from __future__ import annotations

import copy
import datetime as _dt
import difflib
import json
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from terrakit.exceptions import DataValidationError

__all__ = ["Alignment", "make_provenance"]


def make_provenance(
    method: str,
    *,
    seed: int | None = None,
    config: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build the provenance record that every result carries.

    Parameters
    ----------
    method
        How the result was made (``"manual"``, ``"mip/highs"``, ``"heuristic"``...).
    seed
        The random seed used, or ``None`` if nothing random happened.
    config
        The configuration (JSON-able) the method ran with.
    **extra
        Further JSON-able facts (time limit, status, ...).

    Returns
    -------
    dict
        ``method``, ``seed``, ``config``, ``terrakit_version``, ``versions``
        (the versions of the numerical libraries already imported — numpy,
        pandas, and e.g. pymc, nutpie, arviz, statsforecast, pulp or
        ortools when the result used them; nothing is imported to read
        them), ``created`` (UTC ISO timestamp) and the extra keys.
    """
    from terrakit import __version__
    from terrakit._versions import library_versions

    prov: dict[str, Any] = {
        "method": method,
        "seed": seed,
        "config": dict(config or {}),
        "terrakit_version": __version__,
        "versions": library_versions(),
        "created": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
    }
    prov.update(extra)
    # Fail now, not when the study is saved, if something is not JSON-able.
    json.dumps(prov, default=_json_default)
    return prov


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(
        f"provenance value {obj!r} of type {type(obj).__name__} is not JSON-able; "
        "pass plain numbers, strings, lists or dicts"
    )


class ProvenanceRecord(Mapping[str, Any]):
    """A read-only provenance record that shares nothing with its caller.

    The record is deep-copied on the way in, and every value is handed out
    as a deep copy, so ``alignment.provenance["config"]["balance"] = 0.5``
    changes a copy only: neither this alignment, nor one derived from it
    with :meth:`Alignment.replace`, nor a study holding it, nor what the
    study saves.  ``dict(record)`` is a deep copy to edit freely (e.g. to
    pass as the ``provenance=`` of a new alignment).
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        if isinstance(data, ProvenanceRecord):
            # read-only on both sides: sharing is safe (``dict(data)`` would
            # deep-copy every value only for the line below to copy it again)
            self._data: dict[str, Any] = data._data
        else:
            self._data = copy.deepcopy(dict(data or {}))

    def __getitem__(self, key: str) -> Any:
        return copy.deepcopy(self._data[key])

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ProvenanceRecord):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ProvenanceRecord({self._data!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ProvenanceRecord, (self._data,))


def _id_types(ids: Any) -> list[str]:
    return sorted(
        {type(v.item() if isinstance(v, np.generic) else v).__name__ for v in ids}
    )


def _fit_dtype(values: pd.Series, like: Any) -> pd.Series:
    """``values`` (object) in the dtype ``like`` when every value fits it
    (``int64`` territories stay ``int64`` after moving a unit to territory
    ``3``), else as they are.

    ``like`` is a numpy dtype: an alignment holds no extension dtype (see
    :meth:`Alignment.from_mapping`).
    """
    if ptypes.is_object_dtype(like):
        return values
    kind = ptypes.infer_dtype(values.to_numpy(), skipna=False)
    fits = (
        (ptypes.is_bool_dtype(like) and kind == "boolean")
        or (ptypes.is_integer_dtype(like) and kind == "integer")
        or (
            ptypes.is_float_dtype(like)
            and kind in ("floating", "integer", "mixed-integer-float")
        )
    )
    if not fits:
        return values
    try:
        return values.astype(like)
    except (TypeError, ValueError, OverflowError):
        return values


def _sorted_territories(ids: Iterable[Any]) -> list[Any]:
    """Territory ids sorted: numerically when every id is a number (1, 2, …,
    10, not 1, 10, 2), as text otherwise (mixed types).

    The one order of territories: :attr:`Alignment.territories`,
    :meth:`Alignment.sizes` and the tables of :mod:`terrakit.metrics`.
    """
    ids = list(ids)
    if all(
        isinstance(t, int | float | np.number) and not isinstance(t, bool | np.bool_)
        for t in ids
    ):
        return sorted(ids)
    return sorted(ids, key=str)


@dataclass(frozen=True, eq=False)
class Alignment:
    """An immutable mapping ``unit_id → territory_id`` with its provenance.

    Parameters
    ----------
    assignment
        Series indexed by ``unit_id`` whose values are territory ids.  Every
        unit appears once; missing territories are not allowed.  Extension
        dtypes become numpy ones (see :meth:`from_mapping`).
    name
        A short name (``"current"``, ``"proposed"``...).
    provenance
        How the alignment was made (see :func:`make_provenance`); kept as a
        :class:`ProvenanceRecord`, a deep copy that hands out deep copies, so
        no caller can change another's record.

    Examples
    --------
    >>> a = Alignment.from_mapping({"u1": "T1", "u2": "T1", "u3": "T2"}, name="demo")
    >>> a.territories
    ['T1', 'T2']
    >>> a["u3"]
    'T2'
    >>> a.sizes().to_dict()
    {'T1': 2, 'T2': 1}
    """

    assignment: pd.Series
    name: str = "alignment"
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.assignment
        if not isinstance(s, pd.Series):
            raise TypeError(
                f"Alignment.assignment must be a pandas Series indexed by unit_id, "
                f"got {type(s).__name__}; use Alignment.from_mapping() for dicts"
            )
        dup = s.index[s.index.duplicated()]
        if len(dup):
            raise DataValidationError(
                "alignment",
                "unit_id",
                f"{len(dup)} units are assigned more than once",
                rows=list(dict.fromkeys(dup)),
                fix="give every unit exactly one territory",
            )
        missing = s.index[s.isna().to_numpy()]
        if len(missing):
            raise DataValidationError(
                "alignment",
                "territory_id",
                f"{len(missing)} units have no territory",
                rows=list(missing),
                fix="assign every unit to a territory (or drop the unit)",
            )
        s = s.copy()
        s.index = s.index.copy()
        s.index.name = "unit_id"
        s.name = "territory_id"
        s.flags.allows_duplicate_labels = True
        # Freeze the values: a caller cannot change an alignment in place.
        # Extension dtypes become numpy ones here (see from_mapping).
        arr = s.to_numpy().copy()
        arr.setflags(write=False)
        s = pd.Series(arr, index=s.index, name="territory_id", copy=False)
        object.__setattr__(self, "assignment", s)
        object.__setattr__(self, "name", str(self.name))
        object.__setattr__(self, "provenance", ProvenanceRecord(self.provenance))

    # -- constructors -------------------------------------------------------------
    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[Hashable, Hashable] | pd.Series,
        *,
        name: str = "alignment",
        provenance: Mapping[str, Any] | None = None,
    ) -> Alignment:
        """Build an alignment from a dict or Series ``unit_id → territory_id``.

        A Series keeps its numpy dtype (``int64``, ``float64``, ``bool``,
        ``object``).  An alignment holds no pandas extension dtype: a
        categorical Series becomes its categories' values (``object`` for
        text, ``int64`` for integers; its unused categories are not kept, so
        a declared but still empty territory is no territory of the
        alignment), a pandas ``"string"`` Series becomes ``object`` (Python
        ``str``), and a nullable ``Int64``/``Float64``/``boolean`` one
        becomes ``int64``/``float64``/``bool``.  The territory ids of a dict
        get the dtype that fits them all: ``int64`` for integers,
        ``float64`` for floats, ``bool`` for booleans, ``object`` otherwise
        (text, or a mix of kinds, which is kept as given: ``{"u1": 1, "u2":
        2.5}`` stays ``1`` and ``2.5``), so that a dict and the Series or
        table it came from make the same alignment.

        Examples
        --------
        >>> cat = pd.Series(
        ...     pd.Categorical(["R1", "R2", "R1"], categories=["R1", "R2", "R3"]),
        ...     index=["u1", "u2", "u3"],
        ... )
        >>> a = Alignment.from_mapping(cat)
        >>> a.assignment.dtype, a.territories
        (dtype('O'), ['R1', 'R2'])
        """
        if isinstance(mapping, pd.Series):
            s = mapping.copy()
        else:
            keys = list(mapping.keys())
            values = list(mapping.values())
            kind = ptypes.infer_dtype(values, skipna=False)
            s = pd.Series(
                values,
                index=pd.Index(keys),
                dtype=None if kind in ("integer", "floating", "boolean") else object,
            )
        if provenance is None:
            provenance = make_provenance("manual")
        return cls(s, name=name, provenance=provenance)

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        unit_column: str = "unit_id",
        territory_column: str = "territory_id",
        name: str = "alignment",
        provenance: Mapping[str, Any] | None = None,
    ) -> Alignment:
        """Build an alignment from a table with a unit and a territory column.

        Either may also be a level of the table's index (``df`` indexed by
        ``unit_id``, as terrakit's tables are)."""
        values: dict[str, Any] = {}
        for arg, col in (
            ("unit_column", unit_column),
            ("territory_column", territory_column),
        ):
            if col not in df.columns and col in df.index.names:
                values[col] = df.index.get_level_values(col).to_numpy()
                continue
            values[col] = df[col].to_numpy() if col in df.columns else None
            if col not in df.columns:
                seen = [str(c) for c in df.columns]
                close = difflib.get_close_matches(str(col), seen, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise DataValidationError(
                    "alignment",
                    str(col),
                    f"required column is missing{hint} (columns seen: {seen})",
                    fix=f"pass {arg}={close[0]!r}"
                    if close
                    else f"pass {arg}= the name of your column, or rename your "
                    f"column to {col!r}",
                )
        s = pd.Series(
            values[territory_column],
            index=pd.Index(values[unit_column], name="unit_id"),
        )
        return cls.from_mapping(s, name=name, provenance=provenance)

    # -- read access ---------------------------------------------------------------
    def __getitem__(self, unit_id: Hashable) -> Any:
        try:
            return self.assignment.loc[unit_id]
        except KeyError:
            raise KeyError(
                f"unit {unit_id!r} is not in alignment {self.name!r} "
                f"({len(self)} units, e.g. {list(self.assignment.index[:3])}); "
                "check the id type: '13121' is not 13121"
            ) from None

    def __len__(self) -> int:
        return len(self.assignment)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.assignment.index)

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self.assignment.index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Alignment):
            return NotImplemented
        return self.same_assignment(other) and self.name == other.name

    def __hash__(self) -> int:
        # what __eq__ compares: the name and the unit → territory pairs, in
        # any order (same_assignment matches units by id); not the provenance
        return hash((self.name, frozenset(self.assignment.items())))

    def same_assignment(self, other: Alignment) -> bool:
        """``True`` when both alignments put every unit in the same territory.

        Units are matched by id, whatever their order (ids of mixed types
        are matched too: nothing is sorted).
        """
        a, b = self.assignment, other.assignment
        if len(a) != len(b) or not a.index.isin(b.index).all():
            return False
        return bool((a.to_numpy() == b.reindex(a.index).to_numpy()).all())

    @property
    def unit_ids(self) -> pd.Index:
        """The units, in the order they were given."""
        return self.assignment.index

    @property
    def territories(self) -> list[Any]:
        """Sorted list of territory ids: numerically when every id is a
        number (``[1, 2, 10]``), as text otherwise; the order of the rows of
        :mod:`terrakit.metrics` tables."""
        return _sorted_territories(pd.unique(self.assignment.to_numpy()).tolist())

    @property
    def n_territories(self) -> int:
        return int(self.assignment.nunique())

    def units_of(self, territory: Hashable) -> pd.Index:
        """The units that belong to ``territory``.

        Raises
        ------
        KeyError
            When ``territory`` is not a territory of this alignment (a typo
            must not read as an empty territory).
        """
        mask = self.assignment.to_numpy() == territory
        if not mask.any():
            terr = self.territories
            by_text = {str(t): t for t in terr}
            close = difflib.get_close_matches(str(territory), list(by_text), n=1)
            kinds = {type(t) for t in terr}
            typed = kinds != {type(territory)}

            def show(v: Any) -> str:
                return f"{v!r} ({type(v).__name__})" if typed else repr(v)

            hint = ""
            if close:
                hint = f" (did you mean {show(by_text[close[0]])}?"
                if typed:
                    hint += " territory ids keep their type: '1' is not 1"
                hint += ")"
            raise KeyError(
                f"alignment {self.name!r} has no territory {show(territory)}{hint}; "
                f"its territories are {terr[:10]}{' ...' if len(terr) > 10 else ''}"
            )
        return self.assignment.index[mask]

    def sizes(self) -> pd.Series:
        """Number of units per territory, sorted by territory id."""
        counts = self.assignment.value_counts()
        return counts.reindex(self.territories).rename("units")

    def to_frame(self) -> pd.DataFrame:
        """Two columns ``unit_id``, ``territory_id`` (one row per unit)."""
        return self.assignment.rename("territory_id").reset_index()

    def to_dict(self) -> dict[Hashable, Any]:
        return dict(self.assignment.items())

    # -- derived alignments --------------------------------------------------------
    def replace(
        self,
        changes: Mapping[Hashable, Hashable] | pd.Series | None = None,
        *,
        name: str | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> Alignment:
        """A new alignment with some units moved (``{unit_id: new_territory}``).

        Parameters
        ----------
        changes
            Any mapping, or a Series indexed by unit id, of new territories.
            The territory dtype is kept when the new territories fit it
            (``int64`` stays ``int64`` when units move to integer
            territories), else it becomes ``object``.
        name
            The new alignment's name (default: this one's).
        provenance
            Its provenance (default: this one's, with ``edits`` counting the
            units moved).

        Raises
        ------
        DataValidationError
            If a unit in ``changes`` is not part of this alignment.
        """
        s = self.assignment.copy()
        if changes is None:
            changes = {}
        elif isinstance(changes, pd.Series):
            if changes.index.has_duplicates:
                dup = changes.index[changes.index.duplicated()]
                raise DataValidationError(
                    "alignment",
                    "unit_id",
                    f"{len(dup)} units are moved more than once",
                    rows=list(dict.fromkeys(dup)),
                    fix="give every unit to move one new territory",
                )
            changes = dict(changes.items())
        elif not isinstance(changes, Mapping):
            raise TypeError(
                "changes must be a mapping or a Series {unit_id: new_territory}, "
                f"got {type(changes).__name__}"
            )
        if len(changes):
            unknown = [u for u in changes if u not in s.index]
            if unknown:
                raise DataValidationError(
                    "alignment",
                    "unit_id",
                    f"{len(unknown)} units to move are not in alignment {self.name!r}",
                    rows=unknown,
                    fix="move only units of the study (check the id type: '13121' "
                    "is not 13121)",
                )
            s = s.astype(object)
            for u, t in changes.items():
                s.loc[u] = t
            s = _fit_dtype(s, self.assignment.dtype)
        if provenance is None:
            # the units whose territory changed: a unit given its own
            # territory (or the whole assignment passed back) is no edit
            old = self.assignment
            moved = int(((s != old) & ~(s.isna() & old.isna())).sum())
            provenance = dict(self.provenance)
            provenance["edits"] = int(provenance.get("edits", 0)) + moved
        return Alignment(
            s, name=self.name if name is None else name, provenance=provenance
        )

    def rename(self, name: str) -> Alignment:
        return Alignment(self.assignment, name=name, provenance=self.provenance)

    def moved_units(self, other: Alignment) -> pd.Index:
        """Units whose territory differs between ``self`` and ``other``.

        Raises
        ------
        DataValidationError
            If the two alignments do not cover the same units (a unit only
            one of them has cannot be said to have moved or stayed); the
            extra and missing ids are named, with the id types when they
            differ ('13121' is not 13121).
        """
        mine, theirs = self.assignment.index, other.assignment.index
        only_self = mine[~mine.isin(theirs)]
        only_other = theirs[~theirs.isin(mine)]
        if len(only_self) or len(only_other):
            one, two = (
                (repr(self.name), repr(other.name))
                if self.name != other.name
                else ("this alignment", "the other")
            )
            parts = []
            if len(only_self):
                parts.append(f"{len(only_self)} only in {one}")
            if len(only_other):
                parts.append(f"{len(only_other)} only in {two}")
            t_self, t_other = _id_types(mine), _id_types(theirs)
            typed = t_self != t_other
            if typed:
                parts.append(
                    f"ids are {'/'.join(t_self)} in {one} but "
                    f"{'/'.join(t_other)} in {two}"
                )
            raise DataValidationError(
                "alignment",
                "unit_id",
                f"alignments {self.name!r} and {other.name!r} do not cover the same "
                f"units ({'; '.join(parts)})",
                rows=[*only_self[:3], *only_other[:3]],
                n_bad=len(only_self) + len(only_other),
                fix="make the id types agree ('13121' is not 13121), e.g. "
                "Alignment.from_mapping({str(k): v for k, v in a.to_dict().items()})"
                if typed
                else "compare alignments of the same units (restrict both to the "
                "common units, or assign the missing ones)",
            )
        a = self.assignment.to_numpy()
        b = other.assignment.reindex(mine).to_numpy()
        return mine[a != b]

    def __repr__(self) -> str:
        return (
            f"Alignment(name={self.name!r}, units={len(self)}, "
            f"territories={self.n_territories}, "
            f"method={self.provenance.get('method', '?')!r})"
        )


def frame_sha256(frame: Any) -> str:
    """A short sha256 (16 hex digits) of a table's labels and values, by
    :func:`digest_frame` (row order counts)."""
    import hashlib

    h = hashlib.sha256()
    digest_frame(h, frame)
    return h.hexdigest()[:16]


def digest_frame(h: Any, frame: Any) -> None:
    """Feed a table to the hash ``h`` (a ``hashlib`` object): its geometry
    as WKB, its column names and its values with the index (row order
    counts); ``None`` as a marker.  Cells pandas cannot hash (lists, dicts)
    go in as JSON."""
    if frame is None:
        h.update(b"-")
        return
    geo = (
        getattr(frame, "geometry", None)
        if hasattr(frame, "active_geometry_name")
        else None
    )
    if geo is not None:
        import shapely

        h.update(b"".join(shapely.to_wkb(np.asarray(geo.values)).tolist()))
        frame = pd.DataFrame(frame.drop(columns=geo.name))
    h.update(repr([str(c) for c in frame.columns]).encode())
    try:
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    except (TypeError, ValueError):  # unhashable cells (lists, dicts)
        h.update(frame.to_json(date_format="iso", default_handler=str).encode())

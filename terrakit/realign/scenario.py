"""What-if scenarios: a rep leaves, a new hire, a market shift, units locked.

A :class:`Scenario` is data: an ordered list of small edit records
(:class:`RemoveRep`, :class:`AddRep`, :class:`ScaleMeasure`,
:class:`LockUnits`) on top of a base alignment.  It can be written to JSON,
saved in the study GeoPackage, and replayed on new data with
:meth:`Scenario.apply`; :meth:`Scenario.solve` replays it and re-aligns the
territories (disruption-aware :func:`~terrakit.realign.rebalance` or a fresh
:func:`~terrakit.design.align`), returning a :class:`ScenarioResult` with the
territory KPIs.

Examples
--------
>>> import terrakit as tk
>>> study = tk.load_sample("southeast")  # doctest: +SKIP
>>> s = (tk.Scenario.from_study(study, name="hire")
...      .remove_rep("R07")
...      .add_rep("R21", home=(-84.39, 33.75))
...      .scale("potential", region="GA-Metro", by=1.15))  # doctest: +SKIP
>>> res = s.solve(method="rebalance", time_limit=30)  # doctest: +SKIP
>>> print(res.summary())  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from terrakit.data.alignment import Alignment, _json_default, make_provenance
from terrakit.data.geo import Adjacency, haversine_matrix, lonlat
from terrakit.data.geo import adjacency as build_adjacency
from terrakit.data.study import Study
from terrakit.data.validation import first_few, rep_of_territories, require_study
from terrakit.exceptions import DataValidationError, SpecificationError

__all__ = [
    "AddRep",
    "Edit",
    "LockUnits",
    "RemoveRep",
    "ScaleMeasure",
    "Scenario",
    "ScenarioResult",
]

#: Version of the records :meth:`Scenario.to_dict` writes.  2: a ``scale``
#: edit without a unit filter has ``"units": null`` (format 1 wrote ``[]``,
#: which is read as no filter in format-1 records; in format 2 ``[]`` is an
#: empty selection, refused by :meth:`Scenario.apply`).
FORMAT_VERSION = 2
#: What to pass where a Study is needed (:func:`_require_study`).
_STUDY_FIX = "tk.Study(units, reps=reps), or tk.Study.load(path) for a saved study"
_BALANCE_MEASURES = ("workload", "potential", "sales", "accounts")
#: How far outside the study a new rep may live: this many km, or a quarter
#: of the study's extent when that is larger.
HOME_MARGIN_KM = 100.0


def _require_study(obj: Any, caller: str) -> None:
    """Refuse anything but a Study (its units table, a file path), naming
    ``caller``; it failed with a bare AttributeError."""
    require_study(obj, table="units", fix=_STUDY_FIX, caller=caller)


def _number(value: Any, what: str) -> float:
    """``value`` as a float, or a :class:`SpecificationError` naming ``what``."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise SpecificationError(f"{what} must be a number, got {value!r}") from None


def _home_pair(rep_id: Hashable, home: Any) -> tuple[float, float]:
    """``home`` as ``(lon, lat)`` floats, or a :class:`SpecificationError`."""
    try:
        if isinstance(home, (str, bytes, Mapping)) or len(home) != 2:
            raise TypeError
        return float(home[0]), float(home[1])
    except (TypeError, ValueError):
        raise SpecificationError(
            f"add_rep({rep_id!r}): home must be (lon, lat) in degrees, got "
            f"{home!r}. Fix: pass the coordinates of the rep's home base, "
            "longitude first, e.g. home=(-84.39, 33.75)"
        ) from None


def _values(value: Any) -> list[Any] | None:
    """``value`` as a list of plain values when it holds several (a list,
    tuple, set, numpy array, pandas Index or Series: what
    ``units['region'].unique()`` or ``units.index[...]`` return), else
    ``None`` (one value; text is one value)."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(
        value, (Iterable, np.ndarray)
    ):
        return None
    if isinstance(value, (np.ndarray, pd.Index, pd.Series)):
        return list(np.asarray(value, dtype=object).ravel().tolist())
    return list(value)


# -- edits --------------------------------------------------------------------
@dataclass(frozen=True)
class Edit:
    """Base class of scenario edits; each edit is a small JSON-able record."""

    op: ClassVar[str] = "edit"

    def to_dict(self) -> dict[str, Any]:
        """``{"op": ..., **fields}`` (JSON-able)."""
        out: dict[str, Any] = {"op": self.op}
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            out[k] = list(v) if isinstance(v, tuple) else v
        return json.loads(json.dumps(out, default=_json_default))

    def describe(self) -> str:  # pragma: no cover - overridden
        return self.op


@dataclass(frozen=True)
class RemoveRep(Edit):
    """A rep leaves: the rep's territory is handed to the nearest remaining reps.

    Parameters
    ----------
    rep_id
        The rep who leaves.
    reason
        Why (kept in the record).
    """

    op: ClassVar[str] = "remove_rep"
    rep_id: Hashable = ""
    reason: str = ""

    def describe(self) -> str:
        return f"remove rep {self.rep_id}" + (
            f" ({self.reason})" if self.reason else ""
        )


@dataclass(frozen=True)
class AddRep(Edit):
    """A new rep joins, living at ``home`` (lon, lat in degrees).

    Parameters
    ----------
    rep_id
        New, unused rep id (also the new territory id).
    home
        ``(lon, lat)`` of the rep's home base, WGS84 degrees.
    capacity_hours
        Yearly capacity; default the median capacity per FTE of the existing
        reps times ``fte``.
    fte
        Full-time equivalents (positive): scales the default capacity;
        ``Scenario.solve(targets="fte")`` gives the rep a target share
        proportional to it (territories are equal by default).  Kept in the
        reps' ``fte`` column; a reps table without one gets it (1.0 for the
        existing reps) when ``fte`` is not 1.
    skills
        Semicolon-separated industries (``"healthcare;retail"``).
    name
        The rep's name.
    """

    op: ClassVar[str] = "add_rep"
    rep_id: Hashable = ""
    home: tuple[float, float] = (0.0, 0.0)
    capacity_hours: float | None = None
    fte: float = 1.0
    skills: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", _home_pair(self.rep_id, self.home))
        what = f"add_rep({self.rep_id!r}): "
        if self.capacity_hours is not None:
            cap = _number(self.capacity_hours, what + "capacity_hours")
            object.__setattr__(self, "capacity_hours", cap)
        object.__setattr__(self, "fte", _number(self.fte, what + "fte"))
        if not (math.isfinite(self.fte) and self.fte > 0):
            raise SpecificationError(
                f"{what}fte must be a positive share of a full-time rep (0.5 is "
                f"half time), got {self.fte!r}"
            )

    def describe(self) -> str:
        lon, lat = self.home
        return f"add rep {self.rep_id} at ({lon:.4f}, {lat:.4f})"


@dataclass(frozen=True)
class ScaleMeasure(Edit):
    """Multiply a unit measure by ``by`` where the units match ``where``.

    Parameters
    ----------
    column
        Numeric units column (``"potential"``, ``"workload"``, ``"sales"``...).
    by
        Factor (> 0); ``1.15`` is a 15 % market growth.
    where
        ``{column: value or [values]}`` filters on the units table (e.g.
        ``{"region": "GA-Metro"}``); empty = every unit.
    units
        Explicit unit ids (combined with ``where`` by AND); ``None`` = no
        unit filter.  An empty selection (``study.units.index[mask]`` where
        the mask matched nothing) selects no unit, and :meth:`Scenario.apply`
        refuses it as it refuses a ``where`` that matches no unit.
    """

    op: ClassVar[str] = "scale"
    column: str = ""
    by: float = 1.0
    where: Mapping[str, Any] = field(default_factory=dict)
    units: tuple[Hashable, ...] | None = None

    def __post_init__(self) -> None:
        # several values (a list, an array from units[col].unique(), an
        # Index...) are a list: the record stays JSON-able and comparable
        where = {}
        for k, v in dict(self.where).items():
            many = _values(v)
            where[str(k)] = v if many is None else many
        object.__setattr__(self, "where", where)
        if self.units is not None:
            ids = _values(self.units)
            object.__setattr__(
                self, "units", tuple([self.units] if ids is None else ids)
            )
        by = self.by
        try:
            by = float(by) if not isinstance(by, bool) else by
        except (TypeError, ValueError):
            pass
        object.__setattr__(self, "by", by)
        if not (isinstance(by, float) and np.isfinite(by) and by > 0):
            raise SpecificationError(
                f"scale({self.column!r}): the factor must be a positive number, "
                f"got by={self.by!r}"
            )

    def describe(self) -> str:
        sel = ", ".join(f"{k}={v}" for k, v in self.where.items())
        if self.units is not None:
            sel = (sel + ", " if sel else "") + f"{len(self.units)} units"
        return f"scale {self.column} x{self.by:g}" + (f" where {sel}" if sel else "")


@dataclass(frozen=True)
class LockUnits(Edit):
    """Keep some units in a given territory, with the reason why.

    Parameters
    ----------
    units
        Unit ids to lock.
    territory
        Territory (rep id) they stay in.
    reason
        Why (kept in the record and in the solver's provenance).
    """

    op: ClassVar[str] = "lock"
    units: tuple[Hashable, ...] = ()
    territory: Hashable = ""
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", tuple(self.units))
        if not self.units:
            raise SpecificationError("lock(): give at least one unit to lock")

    def describe(self) -> str:
        return f"lock {len(self.units)} units to {self.territory}" + (
            f" ({self.reason})" if self.reason else ""
        )


_EDITS: dict[str, type[Edit]] = {
    e.op: e for e in (RemoveRep, AddRep, ScaleMeasure, LockUnits)
}


#: Fields an edit record must have (the others have a default).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "remove_rep": ("rep_id",),
    "add_rep": ("rep_id", "home"),
    "scale": ("column", "by"),
    "lock": ("units", "territory"),
}


def _is_id(value: Any) -> bool:
    """Whether ``value`` can be a rep, territory or unit id in a record
    (text or a whole number, as JSON and YAML give them)."""
    return isinstance(value, (str, int, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def _check_record_fields(d: Mapping[str, Any], op: str, i: int) -> None:
    """Refuse an edit record with a required field missing or a field of the
    wrong type, naming the edit and the field.

    A missing field took the dataclass default silently (a ``scale`` without
    ``by`` scaled ×1, an ``add_rep`` without ``home`` lived at (0, 0)), and a
    wrong-typed one failed later with a bare Python error.
    """
    edit = f"edit {i} ({op})"
    fix_record = "as Scenario.to_dict() writes it"
    for key in _REQUIRED[op]:
        if key not in d:
            raise DataValidationError(
                "scenarios",
                key,
                f"{edit}: the required field {key!r} is missing",
                fix=f"give {key!r} ({op!r} edits need {list(_REQUIRED[op])}), "
                + fix_record,
            )
    for key in ("rep_id", "territory"):
        if key in d and not _is_id(d[key]):
            raise DataValidationError(
                "scenarios",
                key,
                f"{edit}: {key} must be one id (text or a whole number), got "
                f"{type(d[key]).__name__} {d[key]!r:.60}",
                fix="give one rep id, e.g. 'R07' (one edit per rep)"
                if key == "rep_id"
                else "give the one territory (rep id) the units stay in, e.g. 'R07'",
            )
    for key in ("column", "reason", "name"):
        if key in d and not isinstance(d[key], str):
            raise DataValidationError(
                "scenarios",
                key,
                f"{edit}: {key} must be text, got {type(d[key]).__name__} "
                f"{d[key]!r:.60}",
                fix=f"give {key} as text, " + fix_record,
            )
    skills = d.get("skills", "")
    if not isinstance(skills, str) and not (
        isinstance(skills, list) and all(isinstance(x, str) for x in skills)
    ):
        raise DataValidationError(
            "scenarios",
            "skills",
            f"{edit}: skills must be text ('healthcare;retail') or a list of "
            f"text, got {skills!r:.60}",
            fix="give skills as semicolon-separated text, " + fix_record,
        )
    if "where" in d and not isinstance(d["where"], Mapping):
        raise DataValidationError(
            "scenarios",
            "where",
            f"{edit}: where must be a {{column: value or [values]}} record, got "
            f"{type(d['where']).__name__} {d['where']!r:.60}",
            fix="give e.g. {'region': 'GA-Metro'}, or {} for every unit",
        )
    if "units" in d:
        ids = d["units"]
        # a scale's units may be null (no unit filter); a lock needs a list
        if not (ids is None and op == "scale"):
            if not isinstance(ids, list):
                raise DataValidationError(
                    "scenarios",
                    "units",
                    f"{edit}: units must be a list of unit ids, got "
                    f"{type(ids).__name__} {ids!r:.60}",
                    fix="give e.g. ['13121'] (a list, also for one unit)"
                    + (", or null for no unit filter" if op == "scale" else ""),
                )
            bad = [u for u in ids if not _is_id(u)]
            if bad:
                raise DataValidationError(
                    "scenarios",
                    "units",
                    f"{edit}: {len(bad)} unit ids are not ids (text or whole "
                    f"numbers): {first_few(bad)}",
                    n_bad=len(bad),
                    fix="give a flat list of unit ids, e.g. ['13121', '13089']",
                )


def _edit_from_dict(d: Any, i: int = 0, fmt: Any = None) -> Edit:
    """The edit of record ``d`` (edit ``i`` of a scenario record written in
    ``format`` ``fmt``; ``None``: the current one).

    Raises
    ------
    DataValidationError
        Not a record, an unknown op or field, a required field missing or a
        field of the wrong type (named, with the edit's index).
    SpecificationError
        A value the edit itself refuses (a factor that is no positive number,
        a home that is no lon/lat pair...).
    """
    if not isinstance(d, Mapping):
        raise DataValidationError(
            "scenarios",
            "edits",
            f"edit {i} is a {type(d).__name__} ({d!r:.60}), not a record",
            fix="each edit is a dict such as {'op': 'remove_rep', 'rep_id': 'R07'}, "
            "as Scenario.to_dict() writes it",
        )
    d = dict(d)
    op = d.pop("op", None)
    if not isinstance(op, str) or op not in _EDITS:
        raise DataValidationError(
            "scenarios",
            "op",
            f"unknown edit {op!r}",
            fix=f"use one of {sorted(_EDITS)}",
        )
    cls = _EDITS[op]
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(d) - known)
    if unknown:
        raise DataValidationError(
            "scenarios",
            op,
            f"edit {i} ({op}): unknown fields {unknown} in a {op!r} edit",
            fix=f"{op!r} edits have the fields {sorted(known)}",
        )
    _check_record_fields(d, op, i)
    if isinstance(d.get("home"), list):
        d["home"] = tuple(d["home"])
    if isinstance(d.get("skills"), list):
        d["skills"] = ";".join(d["skills"])
    if op == "scale" and fmt == 1 and d.get("units") == []:
        # format 1 wrote "no unit filter" as an empty list
        d["units"] = None
    if isinstance(d.get("units"), list):
        d["units"] = tuple(d["units"])
    return cls(**d)


# -- scenario -----------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """An immutable, replayable list of edits on top of a base alignment.

    Parameters
    ----------
    name
        Scenario name (also the name of the alignment it produces).
    base
        Name of the study alignment the scenario starts from.
    edits
        The edits, applied in order.
    study
        The study the scenario was built on (optional; not part of the
        record, so a scenario replays on any study with :meth:`apply`).

    Notes
    -----
    :meth:`apply` replays the edits on a study:

    * ``remove_rep`` drops the rep; every unit of the rep's territory goes to
      the territory of the nearest remaining rep (geodesic distance from the
      unit's representative point to the rep homes);
    * ``add_rep`` adds the rep; the unit that contains the home (or the
      nearest unit) becomes the seed of the new territory;
    * ``scale`` multiplies a units column where the filter matches;
    * ``lock`` puts the units into the territory and keeps them there.

    Accounts of units whose territory changed, and accounts of reps who
    left, are owned by the unit's new territory (rep).

    The resulting *start* alignment (``"<name>:start"``, the naive hand-over
    without any re-balancing) is valid for the edited reps and is a useful
    baseline.  The base alignment stays in the edited study unchanged, so
    disruption is always measured against it; :meth:`solve` re-aligns from it.
    A new rep whose home unit is locked to another territory (before or
    after the ``add_rep``) starts without units.  Removing a rep that units
    are locked to, or adding a rep whose home lies in the unit that seeds an
    earlier new rep, is an error: the edits would undo each other.

    Examples
    --------
    >>> s = Scenario(name="demo").remove_rep("R2").scale("potential", by=1.1)
    >>> [e.op for e in s.edits]
    ['remove_rep', 'scale']
    >>> Scenario.from_json(s.to_json()) == s
    True
    """

    name: str = "scenario"
    base: str = "current"
    edits: tuple[Edit, ...] = ()
    study: Study | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "edits", tuple(self.edits))
        for e in self.edits:
            if not isinstance(e, Edit):
                raise TypeError(
                    f"Scenario edits must be Edit records, got {type(e).__name__}"
                )
        if self.study is not None:
            _require_study(self.study, "Scenario(study=...)")

    # -- constructors --------------------------------------------------------------
    @classmethod
    def from_study(
        cls, study: Study, *, name: str = "scenario", base: str = "current"
    ) -> Scenario:
        """An empty scenario on ``study``, starting from alignment ``base``.

        Raises
        ------
        NotAStudyError
            ``study`` is no Study (e.g. its units table, or a file path).
        DataValidationError
            If the study has no alignment ``base``.
        """
        _require_study(study, "tk.Scenario.from_study")
        _base_alignment(study, base)
        return cls(name=name, base=base, study=study)

    @classmethod
    def from_dict(
        cls, record: Mapping[str, Any], study: Study | None = None
    ) -> Scenario:
        """Rebuild a scenario from :meth:`to_dict`'s record."""
        if not isinstance(record, Mapping) or "edits" not in record:
            raise DataValidationError(
                "scenarios",
                None,
                "a scenario record is a dict with 'name', 'base' and 'edits'",
                fix="pass what Scenario.to_dict() returned",
            )
        edits = record["edits"]
        if isinstance(edits, (str, bytes, Mapping)) or not isinstance(edits, Sequence):
            raise DataValidationError(
                "scenarios",
                "edits",
                f"'edits' must be a list of edit records, got {type(edits).__name__}",
                fix="pass what Scenario.to_dict() returned",
            )
        fmt = record.get("format")
        return cls(
            name=str(record.get("name", "scenario")),
            base=str(record.get("base", "current")),
            edits=tuple(_edit_from_dict(e, i, fmt) for i, e in enumerate(edits)),
            study=study,
        )

    @classmethod
    def from_json(cls, text: str, study: Study | None = None) -> Scenario:
        """Rebuild a scenario from :meth:`to_json`'s text."""
        try:
            record = json.loads(text)
        except (TypeError, ValueError) as err:
            raise DataValidationError(
                "scenarios",
                None,
                f"the scenario text is not valid JSON ({err})",
                fix="pass what Scenario.to_json() returned",
            ) from None
        return cls.from_dict(record, study)

    @classmethod
    def load(cls, study: Study, name: str) -> Scenario:
        """The scenario saved in ``study`` under ``name`` (bound to ``study``)."""
        if name not in study.scenarios:
            raise KeyError(
                f"no scenario named {name!r}; the study has {sorted(study.scenarios)}"
            )
        return cls.from_dict(study.scenarios[name], study)

    # -- records -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able record: ``format``, ``name``, ``base``, ``edits``."""
        return {
            "format": FORMAT_VERSION,
            "name": self.name,
            "base": self.base,
            "edits": [e.to_dict() for e in self.edits],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def save_to(self, study: Study | None = None) -> Study:
        """A new study holding this scenario (saved with ``study.save``)."""
        st = self._study(study, "Scenario.save_to")
        return st.with_scenario(self.name, self.to_dict())

    # -- builders (each returns a new scenario) --------------------------------------
    def _plus(self, edit: Edit) -> Scenario:
        return Scenario(self.name, self.base, (*self.edits, edit), self.study)

    def with_study(self, study: Study) -> Scenario:
        """The same edits bound to another study (replay on new data)."""
        return Scenario(self.name, self.base, self.edits, study)

    def renamed(self, name: str) -> Scenario:
        return Scenario(name, self.base, self.edits, self.study)

    def remove_rep(self, rep_id: Hashable, *, reason: str = "") -> Scenario:
        """Add a :class:`RemoveRep` edit."""
        return self._plus(RemoveRep(rep_id=rep_id, reason=reason))

    def add_rep(
        self,
        rep_id: Hashable,
        home: tuple[float, float],
        *,
        capacity_hours: float | None = None,
        fte: float = 1.0,
        skills: str | Sequence[str] = "",
        name: str = "",
    ) -> Scenario:
        """Add an :class:`AddRep` edit (``home`` = (lon, lat) degrees).

        Raises :class:`SpecificationError` when ``home`` is not a pair of
        numbers, ``capacity_hours`` is not a number or ``fte`` is not a
        positive number; where the
        home lies is checked against the study in :meth:`apply`.
        """
        if not isinstance(skills, str):
            skills = ";".join(skills)
        return self._plus(
            AddRep(
                rep_id=rep_id,
                home=_home_pair(rep_id, home),
                capacity_hours=capacity_hours,
                fte=fte,
                skills=skills,
                name=name,
            )
        )

    def scale(
        self,
        column: str,
        *,
        by: float,
        units: Sequence[Hashable] | None = None,
        **where: Any,
    ) -> Scenario:
        """Add a :class:`ScaleMeasure` edit: ``column *= by`` where units match.

        ``where`` keywords filter the units table by column value, e.g.
        ``region="GA-Metro"`` or ``state=["GA", "NC"]``; several values may
        be any list-like (a numpy array such as ``units["state"].unique()``,
        a pandas Index or Series), and so may ``units`` (e.g.
        ``study.units.index[mask]``).  ``units=None`` is no unit filter; an
        empty selection selects no unit and is refused by :meth:`apply`, as a
        filter that matches no unit is.
        """
        ids: tuple[Hashable, ...] | None = None  # None: no unit filter
        if units is not None:
            many = _values(units)
            ids = tuple([units] if many is None else many)
        return self._plus(ScaleMeasure(column=column, by=by, where=where, units=ids))

    def lock(
        self, units: Sequence[Hashable] | Hashable, territory: Hashable, *, reason: str
    ) -> Scenario:
        """Add a :class:`LockUnits` edit (a reason is required)."""
        if isinstance(units, (str, int, np.integer)):
            units = [units]
        if not str(reason).strip():
            raise SpecificationError(
                "lock(): say why the units are locked (reason='key account')"
            )
        return self._plus(
            LockUnits(units=tuple(units), territory=territory, reason=reason)  # type: ignore[arg-type]
        )

    # -- replay --------------------------------------------------------------------
    @property
    def start_name(self) -> str:
        """Name of the start alignment :meth:`apply` adds."""
        return f"{self.name}:start"

    def _study(self, study: Study | None, caller: str = "Scenario.apply") -> Study:
        st = self.study if study is None else study
        if st is None:
            raise SpecificationError(
                f"scenario {self.name!r} is not bound to a study; pass study=... or "
                "build it with Scenario.from_study(study)"
            )
        _require_study(st, caller)
        return st

    def locked(self) -> dict[Hashable, tuple[Hashable, str]]:
        """``{unit_id: (territory, reason)}`` from the lock edits (later wins)."""
        out: dict[Hashable, tuple[Hashable, str]] = {}
        for e in self.edits:
            if isinstance(e, LockUnits):
                for u in e.units:
                    out[u] = (e.territory, e.reason)
        return out

    def apply(self, study: Study | None = None) -> Study:
        """Replay the edits on ``study`` (default: the bound study).

        Returns
        -------
        Study
            The edited study: reps, accounts' owners and units columns changed
            as the edits say, the base alignment unchanged, and the start
            alignment :attr:`start_name` added.  ``metadata["scenario"]`` holds
            :meth:`to_dict`.

        Raises
        ------
        NotAStudyError
            ``study`` is no Study (e.g. its units table, or a file path).
        DataValidationError
            An edit that does not fit the study: unknown rep or unit, a rep id
            already taken, a new rep's home outside every unit and more than
            :data:`HOME_MARGIN_KM` km (or a quarter of the study's extent)
            from the nearest one, an unknown or non-numeric column, a filter
            that matches no unit.
        SpecificationError
            Edits in an order that undoes an earlier one: removing a rep that
            units are locked to, or a new rep whose home lies in the unit that
            seeds an earlier new rep of the scenario.
        """
        st = self._study(study)
        base = _base_alignment(st, self.base)
        units = st.units
        reps = st.reps
        accounts = st.accounts
        terr = base.assignment.astype(object).copy()
        # the locks so far and the new reps' seed units so far
        # ({unit: (territory or rep, edit index)}), to catch edits that undo
        # an earlier one
        locks: dict[Hashable, tuple[Hashable, int]] = {}
        seeds: dict[Hashable, tuple[Hashable, int]] = {}
        for i, e in enumerate(self.edits):
            where = f"edit {i} ({e.op})"
            if isinstance(e, RemoveRep):
                reps, accounts, terr = _remove_rep(
                    e, where, units, reps, accounts, terr, locks
                )
            elif isinstance(e, AddRep):
                reps, terr, seed = _add_rep(e, where, units, reps, terr, locks, seeds)
                seeds[seed] = (e.rep_id, i)
            elif isinstance(e, ScaleMeasure):
                units = _scale(e, where, units)
            elif isinstance(e, LockUnits):
                terr = _lock(e, where, units, reps, terr)
                locks.update({u: (e.territory, i) for u in e.units})
        accounts = _reown_accounts(accounts, reps, base.assignment, terr)
        start = Alignment(
            terr,
            name=self.start_name,
            provenance=make_provenance(
                "scenario/start", config={"scenario": self.to_dict()}
            ),
        )
        meta = dict(st.metadata)
        meta["scenario"] = self.to_dict()
        alignments = dict(st.alignments)
        alignments[self.start_name] = start
        return st.replace(
            units=units,
            reps=reps,
            accounts=accounts,
            alignments=alignments,
            metadata=meta,
        )

    def solve(
        self,
        method: Literal["rebalance", "design"] = "rebalance",
        *,
        study: Study | None = None,
        seed: int = 0,
        **kw: Any,
    ) -> ScenarioResult:
        """Replay the edits and re-align the territories.

        Parameters
        ----------
        method
            ``"rebalance"``: :func:`terrakit.realign.rebalance` from the base
            alignment (least disruption: the units of removed reps move, new
            reps get a share); ``"design"``:
            :func:`terrakit.design.align` from scratch (one territory per rep).
        study
            Replay on this study instead of the bound one.
        seed
            Random seed of the solver.
        **kw
            Passed to the solver (``balance=``, ``max_moved=``,
            ``time_limit=``, ``contiguity=``...).  Lock edits are passed as
            ``locked=`` (merged with a ``locked=`` given here, which may not
            lock a unit to another territory than a lock edit does; the
            provenance's ``config["locked"]`` records the merged unit → rep).
            Territories get equal shares by default, as with the solvers
            themselves; ``targets="fte"`` gives each rep its share of the
            total ``fte`` of the edited reps (a half-time hire from
            :meth:`add_rep` half a full-timer's share); the result's balance
            KPIs measure against the same targets
            (:attr:`ScenarioResult.targets`).

        Returns
        -------
        ScenarioResult

        Raises
        ------
        SpecificationError
            Unknown ``method``, a keyword the solver does not take (before
            any work, with the closest name), a ``locked=`` unit that a lock
            edit locks to another territory (both named); or what the solver
            raises.
        NotAStudyError
            ``study`` is no Study (e.g. its units table, or a file path).

        Notes
        -----
        A rep who leaves and whose id a new hire then takes
        (``remove_rep("R2").add_rep("R2", home=...)``) is another person:
        the leaver's territory in the base alignment is renamed
        ``"R2 (left)"`` for the solve, so that the hire starts without the
        leaver's units (``rebalance`` hands them over as those of any rep
        who left), and the disruption (:attr:`ScenarioResult.disruption`,
        :meth:`ScenarioResult.diff`) counts the units the hire takes over as
        moved, as the solver does.
        """
        if method not in ("rebalance", "design"):
            raise SpecificationError(
                f"Scenario.solve(method={method!r}): choose 'rebalance' or 'design'"
            )
        _check_solver_keywords(method, kw)
        locked = self._merged_locks(kw.pop("locked", None))
        edited = self.apply(self._study(study, "Scenario.solve"))
        if isinstance(kw.get("targets"), str) and kw["targets"] == "fte":
            kw["targets"] = _fte_targets(edited.reps)
        before = self._solve_base(edited)
        solved: Any
        if method == "rebalance":
            from terrakit.realign.rebalance import rebalance

            kw.setdefault("adjacency", cached_adjacency(edited.units))
            kw.setdefault("name", self.name)
            # the base alignment is the starting point: rebalance hands the
            # units of removed reps over and gives new reps their share itself
            solved = rebalance(
                edited,
                before,
                locked=locked or None,
                seed=seed,
                **kw,
            )
        elif method == "design":
            from terrakit.design import align

            solved = align(edited, locked=locked or None, seed=seed, **kw)
        else:
            raise SpecificationError(
                f"Scenario.solve(method={method!r}): choose 'rebalance' or 'design'"
            )
        status = str(getattr(solved, "status", "feasible"))
        config = json.loads(
            json.dumps(
                {"method": method, **{k: v for k, v in kw.items() if k != "adjacency"}},
                default=repr,
            )
        )
        # the locks it was solved with: the lock edits and locked=, merged
        # (unit → rep, as text, as the solvers record theirs)
        config["locked"] = {
            str(u): str(v[0] if isinstance(v, tuple) else v) for u, v in locked.items()
        }
        provenance = make_provenance(
            f"scenario/{method}",
            seed=seed,
            config=config,
            scenario=self.to_dict(),
            solver=json.loads(
                json.dumps(dict(solved.alignment.provenance), default=repr)
            ),
            status=status,
        )
        alignment = Alignment(
            solved.alignment.assignment, name=self.name, provenance=provenance
        )
        return ScenarioResult.build(
            self,
            edited,
            alignment,
            status,
            solved,
            targets=_solved_targets(solved, alignment),
            before=before,
        )

    def _merged_locks(self, given: Any) -> dict[Hashable, Any]:
        """The lock edits merged with ``solve(locked=given)``.

        A unit that ``given`` locks to another territory than the (last) lock
        edit does is refused, naming the unit and both territories: the
        keyword won silently and the summary still listed the edit's lock.
        """
        locked: dict[Hashable, Any] = dict(self.locked())
        if isinstance(given, pd.Series):
            given = given.to_dict()  # unit_id → rep, as the solvers take it
        if given is not None and not isinstance(given, Mapping):
            raise SpecificationError(
                f"Scenario.solve(locked=...) must map unit ids to reps "
                f"({{unit_id: rep_id}}, {{unit_id: (rep_id, reason)}} or a "
                f"Series), got a {type(given).__name__}: {given!r:.80}"
            )
        if given is None:
            return locked
        edit_of = {
            u: i
            for i, e in enumerate(self.edits)
            if isinstance(e, LockUnits)
            for u in e.units
        }
        clashes: list[str] = []
        for u, v in given.items():
            # a (rep_id, reason) pair read from JSON or YAML is a list
            v = tuple(v) if isinstance(v, list) and len(v) == 2 else v
            terr = v[0] if isinstance(v, tuple) else v
            if u in locked:
                mine, why = locked[u]
                if terr != mine:
                    clashes.append(
                        f"{u!r} to {terr!r} here but to {mine!r} by edit "
                        f"{edit_of[u]} ({why})"
                    )
                    continue
                if not isinstance(v, tuple):
                    continue  # the same lock: keep the edit's reason
            locked[u] = v
        if clashes:
            shown = "; ".join(clashes[:3]) + (
                f"; and {len(clashes) - 3} more" if len(clashes) > 3 else ""
            )
            raise SpecificationError(
                f"Scenario.solve(locked=...) contradicts the scenario's lock "
                f"edits for {len(clashes)} unit(s): {shown}. Fix: drop those "
                "units from locked=, or change the scenario's lock edit "
                "(Scenario.lock) so that both lock them to the same territory"
            )
        return locked

    def _solve_base(self, edited: Study) -> Alignment:
        """The base alignment to solve from and measure disruption against.

        The territory of a rep who left and whose id a later ``add_rep``
        takes is renamed ``"<id> (left)"``: the hire is someone else and
        starts without the leaver's units (as the start alignment does).
        """
        base = edited.alignments[self.base]
        reps = edited.reps
        left = {e.rep_id for e in self.edits if isinstance(e, RemoveRep)}
        if reps is None or not left:
            return base
        terr = base.assignment.astype(object)
        again = [t for t in pd.unique(terr.to_numpy()) if t in left and t in reps.index]
        if not again:
            return base
        taken = {str(t) for t in terr.unique()} | {str(r) for r in reps.index}
        rename: dict[Hashable, str] = {}
        for t in again:
            label, k = f"{t} (left)", 1
            while label in taken:
                k += 1
                label = f"{t} (left {k})"
            taken.add(label)
            rename[t] = label
        return Alignment(
            terr.map(lambda t: rename.get(t, t)),
            name=base.name,
            provenance=base.provenance,
        )


def _base_alignment(study: Study, base: str) -> Alignment:
    if base not in study.alignments:
        raise DataValidationError(
            "alignment",
            None,
            f"the study has no alignment {base!r} to start the scenario from "
            f"(it has {sorted(study.alignments)})",
            fix="pass base=<name of an alignment>, or add one with "
            "study.with_alignment(...)",
        )
    return study.alignments[base]


def _need_reps(reps: pd.DataFrame | None, where: str) -> pd.DataFrame:
    if reps is None:
        raise DataValidationError(
            "reps",
            None,
            f"{where}: the study has no reps table",
            fix="add reps with study.replace(reps=...)",
        )
    return reps


def _unit_points(units: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    return lonlat(units)


def _remove_rep(
    e: RemoveRep,
    where: str,
    units: gpd.GeoDataFrame,
    reps: pd.DataFrame | None,
    accounts: pd.DataFrame | None,
    terr: pd.Series,
    locks: Mapping[Hashable, tuple[Hashable, int]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.Series]:
    reps = _need_reps(reps, where)
    if e.rep_id not in reps.index:
        raise DataValidationError(
            "reps",
            "rep_id",
            f"{where}: rep {e.rep_id!r} is not in the reps table",
            rows=[e.rep_id],
            fix=f"remove one of the study's reps ({', '.join(map(str, reps.index[:5]))}"
            ", ...)",
        )
    locks = locks or {}
    lock_rep = rep_of_territories(
        pd.Series([t for t, _ in locks.values()], index=list(locks), dtype=object),
        reps.index,
    )
    held = {u: locks[u][1] for u, r in lock_rep.items() if r == e.rep_id}
    if held:
        names = list(held)
        shown = first_few(names)
        edits = ", ".join(str(i) for i in sorted(set(held.values())))
        raise SpecificationError(
            f"{where}: rep {e.rep_id!r} leaves, but {len(names)} units are locked "
            f"to {e.rep_id!r} (edit {edits}: {shown}); handing them to another rep "
            f"would break the lock. Fix: remove the lock, or lock them to another "
            f"rep before remove_rep({e.rep_id!r})"
        )
    rest = reps.drop(index=e.rep_id)
    if rest.empty:
        raise DataValidationError(
            "reps",
            "rep_id",
            f"{where}: removing {e.rep_id!r} would leave no rep",
            rows=[e.rep_id],
            fix="add a rep before removing the last one",
        )
    # the rep's territory: territory '2' is rep 2's too (an alignment read
    # from a CSV), as data.validation.rep_of_territories matches them
    rep_of = rep_of_territories(terr, reps.index)
    mask = (rep_of == e.rep_id).to_numpy()
    if mask.any():
        lon, lat = _unit_points(units.loc[terr.index[mask]])
        d = haversine_matrix(
            lon,
            lat,
            rest["home_lon"].to_numpy(float),
            rest["home_lat"].to_numpy(float),
        )
        # into the territory of the nearest rep, under the id the alignment
        # gives it ('3' stays '3'), or the rep's id if it holds none yet
        label = {r: t for t, r in zip(terr, rep_of, strict=True) if r is not None}
        nearest = rest.index.to_numpy()[d.argmin(axis=1)]
        terr.loc[terr.index[mask]] = [label.get(r, r) for r in nearest]
    return rest, accounts, terr


def _reown_accounts(
    accounts: pd.DataFrame | None,
    reps: pd.DataFrame | None,
    before: pd.Series,
    after: pd.Series,
) -> pd.DataFrame | None:
    """Accounts of units that changed territory, or of reps that left, go to
    the rep of the unit's new territory.

    The rep of a territory is found as
    :func:`~terrakit.data.validation.rep_of_territories` finds it (territory
    ``'2'`` is rep ``2``'s); a territory without a rep (an open territory)
    leaves its accounts without an owner (NaN).  Without a reps table the
    territory id is the owner, and no account counts as a departed rep's.
    """
    if accounts is None or "rep_id" not in accounts.columns:
        return accounts
    if "unit_id" not in accounts.columns:
        return accounts
    changed = after.index[(after != before.reindex(after.index)).to_numpy()]
    if reps is None:
        # no reps table: nobody is known to have left
        gone = pd.Series(False, index=accounts.index)
        owner = after.astype(object)
    else:
        gone = accounts["rep_id"].notna() & ~accounts["rep_id"].isin(reps.index)
        owner = rep_of_territories(after, reps.index).astype(object)
        owner = owner.where(owner.notna(), np.nan)
    mask = (accounts["unit_id"].isin(changed) | gone).to_numpy()
    if not mask.any():
        return accounts
    accounts = accounts.copy()
    accounts["rep_id"] = accounts["rep_id"].astype(object)
    accounts.loc[mask, "rep_id"] = accounts.loc[mask, "unit_id"].map(owner).to_numpy()
    return accounts


def _add_rep(
    e: AddRep,
    where: str,
    units: gpd.GeoDataFrame,
    reps: pd.DataFrame | None,
    terr: pd.Series,
    locks: Mapping[Hashable, tuple[Hashable, int]] | None = None,
    seeds: Mapping[Hashable, tuple[Hashable, int]] | None = None,
) -> tuple[pd.DataFrame, pd.Series, Hashable]:
    reps = _need_reps(reps, where)
    if e.rep_id in reps.index:
        raise DataValidationError(
            "reps",
            "rep_id",
            f"{where}: rep id {e.rep_id!r} is already taken",
            rows=[e.rep_id],
            fix="choose a new rep id (remove_rep first to replace a rep)",
        )
    lon, lat = e.home
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise DataValidationError(
            "reps",
            "home_lon/home_lat",
            f"{where}: home ({lon}, {lat}) is not a lon/lat position in degrees",
            rows=[e.rep_id],
            fix="give home=(lon, lat), longitude first",
        )
    pt = gpd.GeoSeries([Point(lon, lat)], crs="EPSG:4326").to_crs(units.crs).iloc[0]
    inside = units.index[units.geometry.contains(pt).to_numpy()]
    if len(inside):
        home_unit = inside[0]
    else:
        ulon, ulat = _unit_points(units)
        d = haversine_matrix([lon], [lat], ulon, ulat)[0]
        home_unit = units.index[int(d.argmin())]
        _check_home_near(e, where, float(d.min()), ulon, ulat)
    locks = locks or {}
    earlier, at = (seeds or {}).get(home_unit, (None, -1))
    if (
        earlier is not None
        and earlier in reps.index
        and terr.get(home_unit) == earlier
        and home_unit not in locks
    ):
        raise SpecificationError(
            f"{where}: the home of new rep {e.rep_id!r} lies in unit "
            f"{home_unit!r}, which already seeds new rep {earlier!r} (edit {at}); "
            f"{earlier!r} would start without units. Fix: give {e.rep_id!r} a "
            "home in another unit"
        )
    if "fte" not in reps.columns and e.fte != 1:
        # a part-time hire's fte is kept (Scenario.solve(targets="fte") needs
        # it): the existing reps, whose capacity counts as one FTE each, get 1
        reps = reps.assign(fte=1.0)
    row: dict[str, Any] = {}
    for col in reps.columns:
        row[col] = None if reps[col].dtype == object else np.nan
    cap = e.capacity_hours
    if cap is None and "capacity_hours" in reps.columns:
        per_fte = reps["capacity_hours"].astype(float)
        if "fte" in reps.columns:
            fte = pd.to_numeric(reps["fte"], errors="coerce").astype(float)
            per_fte = (per_fte / fte).where(fte > 0)
        cap = float(per_fte.median()) * e.fte
    row.update({"home_lon": lon, "home_lat": lat})
    if "capacity_hours" in reps.columns or cap is not None:
        row["capacity_hours"] = cap
    if "fte" in reps.columns:
        row["fte"] = e.fte
    if "skills" in reps.columns or e.skills:
        row["skills"] = e.skills
    if "name" in reps.columns:
        row["name"] = e.name or str(e.rep_id)
    if "home_unit" in reps.columns:
        row["home_unit"] = home_unit
    new = pd.DataFrame([row], index=pd.Index([e.rep_id], name=reps.index.name))
    out = pd.concat([reps, new])
    for col in reps.columns:
        # keep the table's dtypes where the new row has a value and nothing
        # is lost (fte 0.5 in an integer column stays 0.5: the column widens)
        if out[col].notna().all() and out[col].dtype != reps[col].dtype:
            try:
                cast = out[col].astype(reps[col].dtype)
                same = bool((cast == out[col]).all())
            except (TypeError, ValueError):
                continue
            if same:
                out[col] = cast
    if home_unit not in locks:
        # a locked home unit stays in its locked territory
        terr.loc[home_unit] = e.rep_id
    return out, terr, home_unit


def _check_home_near(
    e: AddRep, where: str, km: float, ulon: np.ndarray, ulat: np.ndarray
) -> None:
    """A new rep's home outside every unit must lie near the study area."""
    span = float(
        haversine_matrix([ulon.min()], [ulat.min()], [ulon.max()], [ulat.max()])[0, 0]
    )
    limit = max(HOME_MARGIN_KM, 0.25 * span)
    if km <= limit:
        return
    lon, lat = e.home
    raise DataValidationError(
        "reps",
        "home_lon/home_lat",
        f"{where}: the home ({lon:g}, {lat:g}) of new rep {e.rep_id!r} lies in "
        f"no unit and {km:,.0f} km from the nearest one; a new rep may live at "
        f"most {limit:,.0f} km from the study's units (they span lon "
        f"{ulon.min():.2f}..{ulon.max():.2f}, lat {ulat.min():.2f}..{ulat.max():.2f})",
        rows=[e.rep_id],
        fix="give home=(lon, lat) in degrees, longitude first (the study's "
        f"centre is ({float(np.median(ulon)):.2f}, {float(np.median(ulat)):.2f}))",
    )


def _scale(e: ScaleMeasure, where: str, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if e.column not in units.columns:
        raise DataValidationError(
            "units",
            e.column,
            f"{where}: the units table has no column {e.column!r} to scale",
            fix=f"scale one of the numeric columns "
            f"{[c for c in units.columns if ptypes_is_numeric(units[c])]}",
        )
    if not ptypes_is_numeric(units[e.column]):
        raise DataValidationError(
            "units",
            e.column,
            f"{where}: column {e.column!r} is not numeric "
            f"(dtype {units[e.column].dtype})",
            fix="scale a numeric column such as 'potential' or 'workload'",
        )
    mask = np.ones(len(units), dtype=bool)
    for col, val in e.where.items():
        if col not in units.columns:
            raise DataValidationError(
                "units",
                col,
                f"{where}: cannot filter on {col!r}, the units table has no such "
                "column",
                fix=f"filter on one of {list(units.columns.drop('geometry'))}",
            )
        vals = _values(val)
        mask &= units[col].isin([val] if vals is None else vals).to_numpy()
    if e.units is not None:
        unknown = [u for u in e.units if u not in units.index]
        if unknown:
            raise DataValidationError(
                "units",
                "unit_id",
                f"{where}: {len(unknown)} units to scale are not in the study",
                rows=unknown,
                fix="check the ids (and their type: '13121' is not 13121)",
            )
        mask &= units.index.isin(list(e.units))
    if not mask.any():
        if e.units is not None and not e.units:
            # units=study.units.index[mask] where the mask matched nothing: no
            # unit, as region=[] is (None is no unit filter)
            filt = (f"{e.where} and " if e.where else "") + "units=[]"
            raise DataValidationError(
                "units",
                "unit_id",
                f"{where}: the filter {filt} (an empty selection) matches no unit, "
                "nothing would be scaled",
                fix="check the selection (e.g. the mask behind "
                "study.units.index[mask]), or leave units=None to scale every "
                "unit the filter matches",
            )
        raise DataValidationError(
            "units",
            ",".join(e.where) or "unit_id",
            f"{where}: the filter {e.where} matches no unit, nothing would be scaled",
            fix="check the spelling of the values (e.g. units['region'].unique())",
        )
    units = units.copy()
    col = units[e.column].astype(float)
    col[mask] = col[mask] * e.by
    units[e.column] = col
    return units


def _lock(
    e: LockUnits,
    where: str,
    units: gpd.GeoDataFrame,
    reps: pd.DataFrame | None,
    terr: pd.Series,
) -> pd.Series:
    unknown = [u for u in e.units if u not in units.index]
    if unknown:
        raise DataValidationError(
            "units",
            "unit_id",
            f"{where}: {len(unknown)} units to lock are not in the study",
            rows=unknown,
            fix="check the ids (and their type: '13121' is not 13121)",
        )
    known = set(terr.unique()) | (set() if reps is None else set(reps.index))
    if e.territory not in known:
        raise DataValidationError(
            "alignment",
            "territory_id",
            f"{where}: cannot lock units to territory {e.territory!r}, which is "
            "neither a rep nor a territory of the scenario",
            rows=[e.territory],
            fix="lock to one of the reps (after the scenario's add/remove edits)",
        )
    terr.loc[list(e.units)] = e.territory
    return terr


_ADJ_CACHE: dict[str, Adjacency] = {}


def cached_adjacency(units: gpd.GeoDataFrame) -> Adjacency:
    """Queen adjacency of ``units``, memoised on the ids and geometries.

    Building the graph of a few hundred county polygons takes seconds; the
    scenario KPIs, comparisons and lead routing ask for the same graph again
    and again.  Up to 8 graphs are kept.
    """
    h = hashlib.sha1()
    h.update(pd.util.hash_pandas_object(units.index, index=False).to_numpy().tobytes())
    for g in units.geometry.to_wkb():
        h.update(g)
    h.update(str(units.crs).encode())
    key = h.hexdigest()
    if key not in _ADJ_CACHE:
        if len(_ADJ_CACHE) >= 8:
            _ADJ_CACHE.pop(next(iter(_ADJ_CACHE)))
        _ADJ_CACHE[key] = build_adjacency(units, warn=False)
    return _ADJ_CACHE[key]


def ptypes_is_numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s)) and not pd.api.types.is_bool_dtype(s)


def _fte_targets(reps: pd.DataFrame | None) -> dict[Hashable, float]:
    """Target shares proportional to the reps' FTE (``targets="fte"``).

    Raises
    ------
    DataValidationError
        The reps have no ``fte`` column, or some rep's is missing or not
        positive (named, with the fix).
    """
    if reps is None or "fte" not in reps.columns or not len(reps):
        raise DataValidationError(
            "reps",
            "fte",
            'targets="fte" needs the reps\' fte column, which the study lacks',
            fix="add an fte column to the reps (1 full time, 0.5 half time) or "
            "pass targets={rep_id: share}",
        )
    fte = pd.to_numeric(reps["fte"], errors="coerce").astype(float)
    bad = fte.index[~(fte > 0)]
    if len(bad):
        raise DataValidationError(
            "reps",
            "fte",
            f'targets="fte": {len(bad)} rep(s) have no positive fte',
            rows=list(bad),
            n_bad=len(bad),
            fix="fill their fte (1 full time, 0.5 half time)",
        )
    return {r: float(f / fte.sum()) for r, f in fte.items()}


def _solved_targets(solved: Any, alignment: Alignment) -> dict[Hashable, float] | None:
    """The target share per territory that the solver balanced against, or
    ``None`` (equal shares).

    Both solvers record the shares they used, normalised and keyed by the
    territory ids as text, in their provenance's ``config["targets"]``
    (whatever form ``targets`` came in: ``"fte"``, a dict, a Series or a
    list in the reps' order).
    """
    config = dict(solved.alignment.provenance).get("config") or {}
    recorded = config.get("targets") if isinstance(config, Mapping) else None
    if not recorded:
        return None
    by_text = {str(t): t for t in alignment.territories}
    return {by_text.get(str(t), t): float(v) for t, v in recorded.items()}


def _disruption(
    study: Study, units: pd.DataFrame, before: Alignment, after: Alignment
) -> pd.Series:
    """Units, accounts and sales moved, from the units' measures.

    The same definition as :func:`~terrakit.realign.diff_alignments` and the
    ``moved_share`` of :func:`~terrakit.realign.rebalance`
    (``study.unit_measures()``), so that a scenario that scales the units'
    sales reports the sales share its solver minimised; NaN for a measure the
    units do not carry.
    """
    from terrakit.realign.diff import diff_alignments

    measures = ["units"] + [
        m
        for m in ("accounts", "sales")
        if m in units.columns and pd.api.types.is_numeric_dtype(units[m])
    ]
    totals = diff_alignments(study, before, after, measures=measures).totals
    out: dict[str, float] = {}
    for m in ("units", "accounts", "sales"):
        has = m in totals.index
        out[f"{m}_moved"] = float(totals.loc[m, "moved"]) if has else float("nan")
        out[f"{m}_moved_share"] = float(totals.loc[m, "share"]) if has else float("nan")
    return pd.Series(out, name="disruption")


# -- result -------------------------------------------------------------------
@dataclass(frozen=True)
class ScenarioResult:
    """A solved scenario: the edited study, the new alignment and its KPIs.

    Attributes
    ----------
    scenario
        The :class:`Scenario` that was solved.
    study
        The edited study (see :meth:`Scenario.apply`).
    alignment
        The solved alignment, named after the scenario.
    status
        The solver's status (``"optimal"``, ``"feasible"``, ``"time_limit"``...).
    kpis
        :func:`terrakit.metrics.territory_kpis` of the new alignment.
    balance
        :func:`terrakit.metrics.balance` for the measures the units carry.
    disruption
        Units, accounts and sales moved from the base alignment
        (``<m>_moved``, ``<m>_moved_share``), measured on the units'
        measures as :func:`~terrakit.realign.diff_alignments` does.
    components
        Connected pieces per territory (:func:`terrakit.metrics.contiguity`).
    solver_result
        What the solver returned (RebalanceResult or AlignmentResult).
    targets
        Target share per territory (summing to 1) that the scenario was
        solved with (``Scenario.solve(targets=...)``, ``"fte"`` included);
        ``balance`` measures against them, as the solver's bands did.
        ``None``: equal shares.
    before
        The alignment ``disruption`` and :meth:`diff` measure from: the base
        alignment, with the territory of a rep who left and whose id a new
        hire took renamed ``"<id> (left)"`` (see :meth:`Scenario.solve`).
        ``None``: the study's alignment ``scenario.base``.
    """

    scenario: Scenario
    study: Study
    alignment: Alignment
    status: str
    kpis: pd.DataFrame
    balance: pd.DataFrame
    disruption: pd.Series
    components: pd.Series
    solver_result: Any = field(default=None, compare=False, repr=False)
    targets: Mapping[Hashable, float] | None = None
    before: Alignment | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.alignment, Alignment):
            raise TypeError("alignment must be an Alignment")
        if self.before is not None and not isinstance(self.before, Alignment):
            raise TypeError("before must be an Alignment or None")
        if self.targets is not None:
            object.__setattr__(self, "targets", dict(self.targets))
        if set(self.kpis.index) != set(self.alignment.territories):
            raise ValueError("kpis must have one row per territory of the alignment")

    @classmethod
    def build(
        cls,
        scenario: Scenario,
        study: Study,
        alignment: Alignment,
        status: str,
        solver_result: Any = None,
        *,
        targets: Mapping[Hashable, float] | None = None,
        before: Alignment | None = None,
    ) -> ScenarioResult:
        """Compute the KPIs of ``alignment`` on the edited ``study``.

        ``targets`` (share per territory) are those the scenario was solved
        with: the balance is measured against them, as the solver's bands
        were (against equal shares, a half-time hire on target looked 50 %
        under the mean).  ``before`` is the alignment the disruption is
        measured from (default the study's alignment ``scenario.base``).
        """
        from terrakit import metrics

        units = study.unit_measures()
        measures = [m for m in _BALANCE_MEASURES if m in units.columns]
        kpis = metrics.territory_kpis(study, alignment)
        # a territory the plan left empty has no total to measure: the others
        # share the targets, as they share the mean without targets
        held = set(alignment.territories)
        shares = (
            None
            if targets is None
            else {t: v for t, v in targets.items() if t in held} or None
        )
        bal = metrics.balance(
            study, alignment, measures=measures or ["units"], targets=shares
        )
        if before is None:
            before = study.alignments[scenario.base]
        dis = _disruption(study, units, before, alignment)
        comp = metrics.contiguity(study, alignment, cached_adjacency(study.units))
        return cls(
            scenario,
            study,
            alignment,
            status,
            kpis,
            bal,
            dis,
            comp,
            solver_result,
            targets,
            before,
        )

    @property
    def name(self) -> str:
        return self.scenario.name

    def indicators(self) -> pd.Series:
        """Scalar KPIs (the column of this scenario in :func:`compare`).

        ``territories``, ``reps``, per balanced measure ``<m>_max_dev`` and
        ``<m>_cv``, ``units_moved_share``, ``accounts_moved_share``,
        ``sales_moved_share``, ``mean_travel_km`` (workload-weighted mean
        distance to the rep home), ``noncontiguous`` (territories in more than
        one piece), ``over_capacity`` (reps whose territory workload exceeds
        their capacity).
        """
        out: dict[str, float] = {
            "territories": float(self.alignment.n_territories),
            "reps": float(len(self.study.reps))
            if self.study.reps is not None
            else np.nan,
        }
        for m in self.balance.index:
            out[f"{m}_max_dev"] = float(self.balance.loc[m, "max_rel_dev"])
            out[f"{m}_cv"] = float(self.balance.loc[m, "cv"])
        for k in ("units_moved_share", "accounts_moved_share", "sales_moved_share"):
            out[k] = float(self.disruption.get(k, np.nan))
        w = self.kpis["workload"].astype(float)
        t = self.kpis["travel_to_center_km"].astype(float)
        out["mean_travel_km"] = (
            float((w * t).sum() / w.sum()) if np.nansum(w) > 0 else float(t.mean())
        )
        out["noncontiguous"] = float((self.components > 1).sum())
        reps = self.study.reps
        if reps is not None and "capacity_hours" in reps.columns:
            cap = reps["capacity_hours"].reindex(self.kpis.index)
            out["over_capacity"] = float((self.kpis["workload"] > cap).sum())
        return pd.Series(out, name=self.name)

    def to_frame(self) -> pd.DataFrame:
        """Per-territory KPIs of the solved alignment."""
        return self.kpis.copy()

    def diff(self) -> pd.DataFrame:
        """Units that change territory: ``unit_id``, ``before``, ``after``
        (from :attr:`before`)."""
        before = self.before
        if before is None:
            before = self.study.alignments[self.scenario.base]
        moved = before.moved_units(self.alignment)
        return pd.DataFrame(
            {
                "unit_id": moved,
                "before": before.assignment.loc[moved].to_numpy(),
                "after": self.alignment.assignment.loc[moved].to_numpy(),
            }
        )

    def summary(self) -> str:
        """Rounded, stable text."""
        ind = self.indicators()
        lines = [
            f"Scenario {self.name!r} ({len(self.scenario.edits)} edits on "
            f"{self.scenario.base!r}): status {self.status}",
        ]
        lines += [f"  - {e.describe()}" for e in self.scenario.edits]
        lines.append(
            f"  territories {int(ind['territories'])}, units moved "
            f"{ind['units_moved_share']:.1%}, sales moved "
            f"{ind['sales_moved_share']:.1%}, non-contiguous "
            f"{int(ind['noncontiguous'])}"
        )
        for m in self.balance.index:
            lines.append(
                f"  {m}: max deviation {ind[f'{m}_max_dev']:.1%}, "
                f"cv {ind[f'{m}_cv']:.3f}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _check_solver_keywords(method: str, kw: Mapping[str, Any]) -> None:
    """Refuse keywords the chosen solver does not take, naming the closest
    (a typo reached the solver as a bare TypeError naming an inner function)."""
    import inspect

    from terrakit._runargs import did_you_mean

    if method == "rebalance":
        from terrakit.realign.rebalance import rebalance

        fns: tuple[Any, ...] = (rebalance,)
        own = {"study", "current"}
    else:
        from terrakit.design.align import align, build_problem

        fns = (align, build_problem)
        own = {"study_or_units", "study", "reps"}
    takes = sorted(
        {
            name
            for fn in fns
            for name, prm in inspect.signature(fn).parameters.items()
            if prm.kind not in (prm.VAR_KEYWORD, prm.VAR_POSITIONAL)
        }
        - own
        - {"seed"}
    )
    unknown = [k for k in kw if k not in takes]
    if unknown:
        raise SpecificationError(
            f"Scenario.solve({method!r}) does not take {unknown}; it takes {takes}"
            + did_you_mean(unknown, takes)
        )

"""Units heavier than one territory's band: split them into equal parts.

With ``k`` territories and a ``±τ`` band, no territory may hold more than
``(1 + τ) · total / k`` of the balanced activity.  A unit above that limit
(Los Angeles County, 9.8 M people, against a 3.18 M limit for 100 US
territories) makes the specification impossible, and
:meth:`~terrakit.design.problem.DesignProblem.check` says so before solving.
:func:`split_oversized` is the documented way out:

Rule
    A unit ``i`` with ``v_i > (1 + τ) · mean`` (``mean = total / k``) is
    replaced by ``r_i = ⌈v_i / ((1 + τ) · mean)⌉`` equal *parts*, the fewest
    that each fit under the limit.  Every part keeps the unit's geometry and
    location; every numeric column is treated as additive and divided by
    ``r_i``, except the coordinate columns (``lon``, ``lat``, ``home_lon``,
    ``home_lat``) and the columns named in ``keep=`` (a density, a rate, a
    numeric code), which every part keeps as they are.  Parts are neighbours
    of each other and of every neighbour of the unit, so contiguity is
    unchanged.  ``k`` stays the same: each territory is still one rep's
    worth (``±τ``) of the activity.

Ids
    A part of unit ``u`` is ``"u#p"``, text.  When a unit is split and the
    ids are not all text (integer ids, ``13121``), every id is turned into
    text (``"13121"``), so that the ids of the units are of one kind as the
    Study asks; :attr:`OversizedSplit.unit_ids` maps them back, and
    :meth:`OversizedSplit.unit_territories` and
    :meth:`OversizedSplit.groups` give the original ids.

Reading the answer
    A territory that holds a part of an oversized unit shares that unit with
    the territories holding its other parts.  :meth:`OversizedSplit.groups`
    merges them (transitively) into *multi-rep territories*: a group of ``g``
    territories is one territory staffed by ``g`` reps, its activity within
    ``g · mean · (1 ± τ)`` because each member is within its own band — the
    "LA County gets several reps' worth of target" reading.  Read per rep,
    each rep carries an equal share of the split unit (to be divided later,
    e.g. by ZIP code).

Examples
--------
>>> import geopandas as gpd, shapely
>>> units = gpd.GeoDataFrame(
...     {"population": [10.0, 1.0, 1.0]},
...     geometry=[shapely.box(i, 0, i + 1, 1) for i in range(3)],
...     index=pd.Index(["a", "b", "c"], name="unit_id"), crs="EPSG:4326")
>>> s = split_oversized(units, "population", n_territories=2, tolerance=0.03)
>>> s.units.index.tolist(), s.units["population"].tolist()
(['a#1', 'a#2', 'b', 'c'], [5.0, 5.0, 1.0, 1.0])
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pandas.api.types as ptypes
import scipy.sparse as sp

from terrakit._runargs import is_count, is_tolerance
from terrakit.data.io import COORDINATE_COLUMNS
from terrakit.data.validation import first_few
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)

__all__ = ["OversizedSplit", "split_blocking", "split_oversized", "stuck_units"]


@dataclass(frozen=True, eq=False)
class OversizedSplit:
    """Units with every oversized unit replaced by equal parts.

    Attributes
    ----------
    units
        The units to design on: original rows, and for each oversized unit
        ``u`` its parts ``"u#1" … "u#r"`` in its place.
    parts
        One row per part (index ``part_id``): ``unit_id``, ``n_parts``,
        ``activity`` (the part's value) and ``reason``, why its unit was
        split: ``"oversized"`` (above ``upper_limit``), ``"also"`` (named in
        ``also=``), and from :func:`split_blocking` ``"stuck"`` (proved
        stuck by :func:`stuck_units`) or ``"blocking"`` (a neighbour of a
        stuck unit that overshoots the band when added to it).
    adjacency
        The input :class:`~terrakit.data.geo.Adjacency` expanded to the parts
        (``None`` when none was given: then the parts' identical geometries
        make them neighbours of each other and of the unit's neighbours).
    activity, n_territories, tolerance
        The band the split was made for.
    upper_limit
        ``(1 + τ) · total / k``: the most one territory may hold.
    unit_ids
        The original unit id of every row of ``units`` (index: the ids of
        ``units``).  They differ only for the parts, and where a split
        turned the ids into text (integer ids: ``"0"`` for ``0``).
    max_part
        The largest part: ``upper_limit`` for :func:`split_oversized` by
        default, ``2τ · mean`` for :func:`split_blocking`.
    stuck
        From :func:`split_blocking`: the units of ``units`` still stuck
        after the split (a :func:`stuck_units` table, empty when none);
        ``None`` where it was not checked (:func:`split_oversized`).
    """

    units: Any
    parts: pd.DataFrame
    adjacency: Any
    activity: str
    n_territories: int
    tolerance: float
    upper_limit: float
    unit_ids: pd.Series
    max_part: float
    stuck: pd.DataFrame | None = None

    @property
    def ids_as_text(self) -> bool:
        """Whether the split turned the unit ids into text (see the module
        doc): the ids of the unsplit units are then not the original ids."""
        return any(
            isinstance(d, str) and not isinstance(o, str)
            for d, o in self.unit_ids.items()
            if d not in self.parts.index
        )

    @property
    def n_split(self) -> int:
        """Number of units that were split."""
        return int(self.parts["unit_id"].nunique())

    def summary(self) -> str:
        """One line per split unit: value, limit, number of parts and why it
        was split; then the units still stuck, if any."""
        if self.parts.empty:
            lines = [
                f"no unit above the {self.upper_limit:.6g} {self.activity} limit "
                f"(±{100 * self.tolerance:g} %, {self.n_territories} territories)"
            ]
        else:
            lines = [
                f"{self.n_split} units split into equal parts of at most "
                f"{self.max_part:.6g} (one territory may hold at most "
                f"{self.upper_limit:.6g} {self.activity}: (1 + {self.tolerance:g}) "
                f"× mean, {self.n_territories} territories):"
            ]
        for uid, g in self.parts.groupby("unit_id", sort=False):
            r = int(g["n_parts"].iloc[0])
            v = float(g["activity"].sum())
            lines.append(
                f"  {uid}: {v:.6g} = {v / self.upper_limit:.3f} × limit -> {r} parts "
                f"of {v / r:.6g} ({g['reason'].iloc[0]})"
            )
        if self.ids_as_text:
            lines.append(
                "unit ids turned into text (0 -> '0'), of one kind with the part "
                "ids; unit_territories() and groups() give the original ids"
            )
        if self.stuck is not None and not self.stuck.empty:
            lines.append(
                f"{len(self.stuck)} units still stuck: {_stuck_text(self.stuck)}"
            )
        return "\n".join(lines)

    def _assignment(self, assignment: pd.Series) -> pd.Series:
        """``assignment`` indexed by the ids of ``units``; an unsplit unit
        may also be given by its original id (``0`` for ``"0"``)."""
        a = pd.Series(assignment)
        if self.ids_as_text:
            design = set(self.units.index)
            parts = set(self.parts.index)
            back = {o: d for d, o in self.unit_ids.items() if d not in parts}
            idx = [i if i in design else back.get(i, i) for i in a.index]
            a = a.set_axis(pd.Index(idx, dtype=object, tupleize_cols=False))
        self._require_match(a.index)
        return a

    def _require_match(self, given: pd.Index) -> None:
        """Refuse an assignment whose ids are not the rows of ``units``: the
        design on the unsplit units, or a split unit named instead of its
        parts, gave wrong groups in silence (or a bare IndexError)."""
        ids = pd.Index(self.units.index, dtype=object, tupleize_cols=False)
        unknown = [
            i for i, ok in zip(given, _isin(given, list(ids)), strict=True) if not ok
        ]
        missing = [
            i for i, ok in zip(ids, _isin(ids, list(given)), strict=True) if not ok
        ]
        if not unknown and not missing:
            return
        split = self.parts.groupby("unit_id", sort=False).groups
        named = [u for u in unknown if u in split]
        problem = []
        if unknown:
            problem.append(
                f"{len(unknown)} of its ids are not rows of split.units "
                f"({first_few(unknown)})"
            )
        if missing:
            gone = [m for m in missing if m in self.parts.index]
            problem.append(
                f"{len(missing)} rows of split.units are missing ({first_few(missing)}"
                + (f"; {len(gone)} of them parts of split units" if gone else "")
                + ")"
            )
        hint = ""
        if named:
            u = named[0]
            hint = (
                f"; {u!r} was split into {', '.join(repr(p) for p in split[u])}: "
                "design on split.units, not on the unsplit units"
            )
        raise DataValidationError(
            "assignment",
            None,
            "the assignment does not match the split: " + " and ".join(problem) + hint,
            fix="pass the assignment of the design on split.units "
            "(result.alignment.assignment of align(split.units, ...)), one "
            "territory for every part and unit",
        )

    def unit_territories(self, assignment: pd.Series) -> pd.Series:
        """Original unit → tuple of the territories that serve it.

        Parameters
        ----------
        assignment
            Part/unit id → territory id (``result.alignment.assignment``).

        Returns
        -------
        pandas.Series
            Indexed by the original unit ids (integers where the units had
            integer ids, see the module doc).
        """
        a = self._assignment(assignment)
        # a dict, not the Series: Series.get falls back to positions for
        # integer keys, which mapped unit 0 to the unit of part 0
        to_unit = self.unit_ids.to_dict()
        orig = [to_unit.get(i, i) for i in a.index]
        out = a.groupby(np.asarray(orig, dtype=object), sort=False).agg(
            lambda s: tuple(sorted(dict.fromkeys(s.tolist()), key=str))
        )
        out.index.name = "unit_id"
        out.name = "territories"
        return out

    def groups(self, assignment: pd.Series) -> pd.DataFrame:
        """Multi-rep territories: territories merged through shared split units.

        Returns
        -------
        pandas.DataFrame
            One row per group with more than one territory: ``territories``
            (tuple), ``reps`` (how many), ``units`` (the split units shared),
            ``<activity>`` (the group's total) and ``per_rep_dev`` (its
            deviation from ``reps × mean``); ``units`` holds the original
            ids (see the module doc).
        """
        a = self._assignment(assignment)
        values = self.units[self.activity].reindex(a.index).to_numpy(dtype=float)
        sums = pd.Series(values, index=a.index).groupby(a.to_numpy()).sum()
        parent: dict[Hashable, Hashable] = {t: t for t in sums.index}

        def find(t: Hashable) -> Hashable:
            while parent[t] != t:
                parent[t] = parent[parent[t]]
                t = parent[t]
            return t

        shared: dict[Hashable, list[Hashable]] = {}
        for uid, g in self.parts.groupby("unit_id", sort=False):
            ts = list(dict.fromkeys(a.reindex(g.index).dropna().tolist()))
            for t in ts[1:]:
                parent[find(t)] = find(ts[0])
            shared.setdefault(uid, ts)
        members: dict[Hashable, list[Hashable]] = {}
        for t in sums.index:
            members.setdefault(find(t), []).append(t)
        mean = float(sums.sum()) / max(len(sums), 1)
        rows = []
        for root, ts in members.items():
            if len(ts) < 2:
                continue
            units = [u for u, tl in shared.items() if find(tl[0]) == root]
            total = float(sums.loc[ts].sum())
            rows.append(
                {
                    "territories": tuple(sorted(ts, key=str)),
                    "reps": len(ts),
                    "units": tuple(units),
                    self.activity: total,
                    "per_rep_dev": total / (len(ts) * mean) - 1.0,
                }
            )
        return pd.DataFrame(
            rows,
            columns=["territories", "reps", "units", self.activity, "per_rep_dev"],
        )


def split_oversized(
    units: Any,
    activity: str,
    n_territories: int,
    tolerance: float,
    *,
    adjacency: Any = None,
    max_part: float | None = None,
    also: Any = (),
    keep: str | Iterable[str] = (),
) -> OversizedSplit:
    """Replace every unit above one territory's upper band by equal parts.

    Parameters
    ----------
    units
        Units (Geo)DataFrame with the ``activity`` column; unique index.
    activity
        The balanced activity (e.g. ``"population"``).
    n_territories
        ``k``.
    tolerance
        ``τ`` of the band ``±τ`` around ``total / k``.
    adjacency
        Optional :class:`~terrakit.data.geo.Adjacency` of ``units`` (e.g. with
        island links); it is expanded to the parts.
    max_part
        Largest part, at most the upper limit (the default, ``(1 + τ) ·
        mean``, i.e. the fewest parts): a larger one would leave an
        oversized unit whole, so it is refused.  :func:`split_blocking` uses
        ``2τ · mean`` so parts can fill any gap of the band.
    also
        Further unit ids to split into parts of at most ``max_part`` (e.g.
        the :func:`stuck_units`); one id or several.
    keep
        Numeric columns that every part keeps whole instead of dividing
        (one name or several), e.g. a density or a numeric code (also one
        stored as text, ``"01001"``).  The coordinate columns ``lon``,
        ``lat``, ``home_lon`` and ``home_lat`` are always kept; every other
        numeric column is divided.

    Returns
    -------
    OversizedSplit
        ``.units`` to pass to :func:`~terrakit.design.align` (with
        ``adjacency=split.adjacency``); see the module doc for the rule.
        When a unit is split, ids that are not all text (integer ids) are
        all turned into text (``0`` -> ``"0"``, beside the part ``"5#1"``),
        so the ids are of one kind; ``.unit_ids`` maps them back.

    Raises
    ------
    SpecificationError
        Unknown activity, ``n_territories < 1``, ``tolerance`` outside
        ``[0, 1)``, a ``max_part`` that is not positive or is above the
        upper limit, or a ``keep`` column that is not in ``units`` or is the
        activity.
    DataValidationError
        An empty table, a non-unique index, an activity value that is not a
        number (numbers stored as text, ``"10"``, are read as numbers),
        missing, infinite or negative, or an activity total of 0; the
        message names the rows.  An ``also`` id that is not a unit.  When a
        unit is split, another column of numbers stored as text (``"10"``):
        the parts would copy it whole, not divide it; convert it with
        ``pd.to_numeric``, or name it in ``keep`` (a code).

    Notes
    -----
    Splitting changes nothing for units within the limit; the lower bound
    and objective of the design then refer to the split instance (each part
    is weighted by its share of the unit at the unit's location).
    """
    from terrakit.data.geo import Adjacency, require_adjacency

    units = _units_table(units)
    _require_activity(units, activity)
    if not is_count(n_territories):
        raise SpecificationError(
            f"n_territories must be a whole number of at least 1, got {n_territories!r}"
        )
    k = int(n_territories)
    if not is_tolerance(tolerance):
        raise SpecificationError(
            f"tolerance must be a number in [0, 1) (0.05 is ±5 %), got {tolerance!r}"
        )
    tau = float(tolerance)
    kept = _kept_columns(units, activity, keep)
    units = _checked_units(units, activity)
    v = units[activity].to_numpy(dtype=float)
    limit = (1.0 + tau) * float(v.sum()) / k
    part = limit if max_part is None else float(max_part)
    if not part > 0:
        raise SpecificationError(f"max_part must be positive, got {max_part}")
    if part > limit * (1 + 1e-12):
        raise SpecificationError(
            f"max_part {part:.6g} is above the upper limit {limit:.6g} = (1 + "
            f"{tau:g}) × {float(v.sum()):.6g} / {k} territories: parts that large "
            f"could leave a unit above the limit whole; pass a max_part of at "
            f"most {limit:.6g}, or leave it None (the limit)"
        )
    also_ids = _as_ids(also)
    _require_known(also_ids, units.index, setting="also", of="the units")
    reps = np.ones(len(v), dtype=np.int64)
    over = (v > limit * (1 + 1e-12)) | _isin(units.index, also_ids)
    reps[over] = [max(1, math.ceil(x / part - 1e-12)) for x in v[over]]
    if (reps > 1).any():
        _refuse_text_numbers(units, [activity, *kept], units.index[reps > 1])
    # part ids are text: then every id is, or the ids would mix kinds
    as_text = bool((reps > 1).any()) and not all(
        isinstance(u, str) for u in units.index
    )
    pos = np.repeat(np.arange(len(v)), reps)
    out = units.iloc[pos].copy()
    ids: list[Hashable] = []
    part_rows = []
    for i, uid in enumerate(units.index.tolist()):
        r = int(reps[i])
        if r == 1:
            ids.append(str(uid) if as_text else uid)
            continue
        for p in range(1, r + 1):
            pid = f"{uid}#{p}"
            ids.append(pid)
            why = "oversized" if v[i] > limit * (1 + 1e-12) else "also"
            part_rows.append((pid, uid, r, v[i] / r, why))
    out.index = pd.Index(ids, name=units.index.name)
    if out.index.has_duplicates:
        clash = list(dict.fromkeys(out.index[out.index.duplicated()]))
        raise SpecificationError(
            f"{len(clash)} part ids '<unit>#<p>' collide with existing unit ids: "
            f"{first_few(clash)}; rename those units (units.rename(index={{...}})) "
            "before splitting"
        )
    unit_ids = pd.Series(
        units.index[pos].to_numpy(), index=out.index, name=units.index.name
    )
    num = out.select_dtypes("number").columns.difference(kept, sort=False)
    div = reps[pos].astype(float)
    for c in num:
        if ptypes.is_timedelta64_dtype(out[c].dtype):
            # durations stay durations (float nanoseconds before); /1 is exact
            out[c] = out[c] / div
        else:
            out[c] = out[c].to_numpy(dtype=float) / div
    parts = pd.DataFrame(
        part_rows, columns=["part_id", "unit_id", "n_parts", "activity", "reason"]
    ).set_index("part_id")
    adj_out = None
    if adjacency is not None:
        require_adjacency(adjacency, error=TypeError)
        base = adjacency.subgraph(units.index).matrix
        expand = sp.csr_array(
            (np.ones(len(pos)), (np.arange(len(pos)), pos)), shape=(len(pos), len(v))
        )
        m = expand @ base @ expand.T
        # parts of the same unit are neighbours of each other
        m = m + expand @ expand.T
        adj_out = Adjacency(out.index, sp.csr_array(m), kind=adjacency.kind + "+split")
    return OversizedSplit(
        units=out,
        parts=parts,
        adjacency=adj_out,
        activity=activity,
        n_territories=k,
        tolerance=tau,
        upper_limit=limit,
        unit_ids=unit_ids,
        max_part=part,
    )


def _refuse_text_numbers(units: Any, skip: list[Hashable], split: pd.Index) -> None:
    """Refuse columns of numbers stored as text (``"10"``, an Excel export)
    that the parts of the ``split`` units would copy whole: the design reads
    them as numbers (a balance on them converts the text), so a split unit
    counted once per part.  Converting them here could divide a code
    (``"01001"``), so the user says which they are."""
    cols = []
    for c in units.columns:
        col = units[c]
        if c in skip or not (
            ptypes.is_object_dtype(col.dtype) or ptypes.is_string_dtype(col.dtype)
        ):
            continue
        given = col.notna().to_numpy()
        conv = pd.to_numeric(col, errors="coerce").notna().to_numpy()
        if given.any() and (conv == given).all():
            cols.append(c)
    if not cols:
        return
    first = cols[0]
    example = units[first].dropna().iloc[0]
    if len(cols) == 1:
        column, what, it = (
            str(first),
            f"numbers stored as text (e.g. {example!r})",
            "it",
        )
        convert = f"units[{first!r}] = pd.to_numeric(units[{first!r}])"
    else:
        column, it = None, "them"
        what = (
            f"columns {', '.join(repr(c) for c in cols)} hold numbers stored as "
            f"text (e.g. {example!r} in {first!r})"
        )
        convert = f"units[{cols!r}] = units[{cols!r}].apply(pd.to_numeric)"
    raise DataValidationError(
        "units",
        column,
        f"{what}, which every part of the split units listed would copy whole "
        "instead of dividing",
        rows=list(split),
        fix=f"convert {it} to numbers to divide {it} among the parts: {convert}; "
        f"or name {it} in keep= if every part keeps the value whole (a code, "
        "such as a FIPS or ZIP code)",
    )


def _kept_columns(units: Any, activity: str, keep: Any) -> list[Hashable]:
    """The columns the parts keep whole: the coordinates and ``keep``
    (``None``: none, as for ``also``)."""
    names = _as_ids(keep)
    unknown = [c for c in names if c not in units.columns]
    if unknown:
        raise SpecificationError(
            f"keep= names {unknown}, which are not columns of the units; "
            f"columns: {list(units.columns)}"
        )
    if activity in names:
        raise SpecificationError(
            f"keep= names the activity {activity!r}: the split divides it into "
            f"equal parts (that is what makes them fit); drop it from keep"
        )
    return [c for c in units.columns if c in COORDINATE_COLUMNS or c in names]


def _as_ids(ids: Any) -> list[Hashable]:
    """A list of ids: one id (text, a number) or an iterable of them."""
    if ids is None:
        return []
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        return [ids]
    return list(ids)


def _isin(index: pd.Index, ids: list[Hashable]) -> np.ndarray:
    """``index.isin(ids)`` without ``pd.Index`` reading tuples as levels."""
    return np.asarray(index.isin(pd.Index(ids, dtype=object, tupleize_cols=False)))


def _require_known(
    given: list[Hashable], ids: pd.Index, *, setting: str, of: str
) -> None:
    """Refuse ids in ``given`` (the ``setting=`` argument) that are not ``ids``.

    Such an id was left out in silence (``also=``) or read as the last unit
    (``candidates=``).  Ids that are units in the other type (``13001`` for
    ``'13001'``) are named as such.
    """
    from terrakit.data.validation import _align_id_dtype, _id_kind, _ids

    known = _isin(pd.Index(given, dtype=object, tupleize_cols=False), ids)
    unknown = [g for g, ok in zip(given, known, strict=True) if not ok]
    if not unknown:
        return
    n = len(unknown)
    ids_text = f"{n} {'id is' if n == 1 else 'ids are'} not in {of}"
    as_ids = _align_id_dtype(pd.Series(unknown), ids)
    typed = np.asarray(as_ids.isin(ids))
    if typed.any():
        first = int(np.flatnonzero(typed)[0])
        key, same = _ids([unknown[first], as_ids.iloc[first]])
        kinds = [_id_kind(v) for v in (key, same)]
        given_kind, unit_kind = (k + "s" if k == "number" else k for k in kinds)
        raise DataValidationError(
            setting,
            None,
            f"{ids_text}: {setting}= gives {given_kind} (e.g. {key!r}) where the "
            f"units' ids are {unit_kind} (e.g. {same!r}), and {key!r} is not "
            f"{same!r}",
            rows=_ids(unknown),
            fix=f"pass the ids as the units have them, e.g. {same!r} for {key!r}",
        )
    raise DataValidationError(
        setting,
        None,
        ids_text,
        rows=_ids(unknown),
        fix=f"pass ids of {of} (check the id type: '13121' is not 13121)",
    )


def _units_table(units: Any) -> Any:
    """The units table: a Study's ``.units`` (align takes a Study, so users
    pass one here too), else ``units`` as given; refuse what is no table."""
    from terrakit.data.study import Study

    if isinstance(units, Study):
        return units.units
    if not isinstance(units, pd.DataFrame):
        given = "None" if units is None else type(units).__name__
        raise DataValidationError(
            "units",
            None,
            f"expected the units table (a GeoDataFrame, or a Study), got {given}",
            fix="pass study.units, or a (Geo)DataFrame with one row per unit",
        )
    return units


def _stuck_text(stuck: pd.DataFrame, n: int = 5) -> str:
    """``"'y' (3: best below 3, best above 12.5)"``, for the first ``n`` rows
    of a :func:`stuck_units` table."""
    cols = [stuck[c] for c in ("value", "best_below", "best_above")]
    rows = zip(stuck.index, *cols, strict=True)
    return first_few(
        rows,
        n,
        show=lambda r: (
            f"{r[0]!r} ({r[1]:.6g}: best below {r[2]:.6g}, best above {r[3]:.6g})"
        ),
    )


def _require_activity(units: Any, activity: str) -> None:
    """Raise :class:`SpecificationError` when ``units`` has no ``activity``."""
    if activity not in units.columns:
        raise SpecificationError(
            f"no {activity!r} column to split on; columns: {list(units.columns)}"
        )


def _checked_units(units: Any, activity: str) -> Any:
    """The units with the ``activity`` column checked for splitting.

    Raises :class:`DataValidationError` naming the rows for an empty table,
    duplicated ids, an activity value that is not a number, missing,
    infinite or negative, or an activity total of 0.  Returns ``units`` (a
    copy with numbers where the column held numbers as text, which would
    otherwise be copied whole into every part instead of divided).
    """
    from terrakit.data.validation import check_measures, check_unique_ids

    id_name = str(units.index.name or "unit_id")
    if len(units) == 0:
        raise DataValidationError(
            "units",
            None,
            "the table has no rows: there is no unit to split",
            fix="pass the units the design runs on",
        )
    check_unique_ids(units, "units", id_name)
    units = check_measures(units, "units", [activity])
    v = units[activity].to_numpy(dtype=float)
    if not v.sum() > 0:
        raise DataValidationError(
            "units",
            activity,
            f"every one of the {len(v)} units has {activity} 0, so the band "
            f"(1 ± τ) · total / k is 0 and there is nothing to split",
            rows=list(units.index),
            fix=f"fill the {activity} column, or split on an activity with "
            "positive values",
        )
    return units


def _connected_sets(
    root: int,
    v: np.ndarray,
    nbrs: list[np.ndarray],
    lower: float,
    upper: float,
    max_sets: int,
) -> dict[str, Any]:
    """Enumerate the connected sets containing ``root`` with total ≤ ``upper``.

    Each set is visited once (extension by candidates with an exclusion set);
    stops at the first total inside ``[lower, upper]`` or after ``max_sets``.
    """
    st: dict[str, Any] = {
        "n": 0,
        "found": False,
        "below": (-1.0, ()),
        "above": (np.inf, ()),
    }

    def rec(members: list[int], total: float, cand: list[int], banned: set[int]):
        st["n"] += 1
        if st["n"] > max_sets or st["found"]:
            return
        if lower <= total <= upper:
            st["found"] = True
            return
        if lower > total > st["below"][0]:
            st["below"] = (total, tuple(members))
        ban = set(banned)
        for idx, u in enumerate(cand):
            t = total + v[u]
            if t > upper:
                if t < st["above"][0]:
                    st["above"] = (t, (*members, u))
                ban.add(u)
                continue
            inside = {*members, u}
            ext = [w for w in cand[idx + 1 :] if w not in ban]
            seen = set(ext) | inside | ban
            ext += [int(w) for w in nbrs[u] if int(w) not in seen]
            rec([*members, u], t, ext, ban | set(cand[:idx]))
            ban.add(u)
            if st["found"] or st["n"] > max_sets:
                return

    rec([root], float(v[root]), [int(w) for w in nbrs[root]], set())
    return st


def stuck_units(
    values: pd.Series,
    adjacency: Any,
    lower: float,
    upper: float,
    *,
    candidates: Any = None,
    max_sets: int = 20_000,
) -> pd.DataFrame:
    """Units that no contiguous territory within ``[lower, upper]`` can hold.

    A unit below one territory's upper limit can still make a contiguous
    ``±τ`` design impossible: Kings County NY (2.50 M people) with Staten
    Island, its only other neighbour short of Manhattan and Queens, makes
    2.97 M — under a 2.99 M lower limit — while Kings + Manhattan is 4.09 M.
    This check enumerates the connected sets of units containing a unit
    whose total stays at most ``upper`` (values must be non-negative, so a
    set above ``upper`` never comes back into the band) and reports the
    units for which none lands in ``[lower, upper]``.

    Parameters
    ----------
    values
        Activity per unit (index = unit ids of ``adjacency``).
    adjacency
        :class:`~terrakit.data.geo.Adjacency` over the same ids.
    lower, upper
        One territory's band (finite, ``lower <= upper``).
    candidates
        Unit ids of ``adjacency`` to check, one or several (default: units
        worth at least a quarter of ``lower``; small units in sparse areas
        have countless sets).
    max_sets
        Enumeration budget per unit; a unit whose sets exceed it is
        ``"undecided"`` and not reported.

    Returns
    -------
    pandas.DataFrame
        One row per proven-stuck unit: ``value``, ``sets`` (how many
        connected sets were checked), ``best_below`` / ``set_below`` (the
        largest total under ``lower`` and its units), ``best_above`` /
        ``set_above`` (the smallest total over ``upper``, one unit beyond a
        checked set, and its units).

    Raises
    ------
    DataValidationError
        A unit of ``adjacency`` without a value, a duplicated id in
        ``values``, or a value that is not a number, missing, infinite or
        negative; a ``candidates`` id that is not a unit of ``adjacency``
        (``13001`` is not ``'13001'``); the message names the rows.
    SpecificationError
        A band that is not finite or has ``lower > upper``.
    TypeError
        ``adjacency`` is not an :class:`~terrakit.data.geo.Adjacency`.
    """
    from terrakit.data.validation import check_measures, check_unique_ids

    _need_adjacency(adjacency, "stuck_units")
    lower, upper = _band(lower, upper)
    _require_count(max_sets, "max_sets", 1, "20_000, the default")
    ids = pd.Index(adjacency.ids)
    vals = pd.Series(values)
    col = "values" if vals.name is None else str(vals.name)
    missing = ids[~ids.isin(vals.index)]
    if len(missing):
        raise DataValidationError(
            "units",
            col,
            f"{len(missing)} units of the adjacency have no value",
            rows=list(missing),
            fix="pass a value for every unit of the adjacency (0 for a unit "
            "that carries nothing)",
        )
    frame = vals.to_frame(col)
    check_unique_ids(frame, "units", str(vals.index.name or "unit_id"))
    frame = check_measures(frame, "units", [col])
    v = frame[col].reindex(ids).to_numpy(dtype=float)
    m = adjacency.matrix
    nbrs = [m.indices[m.indptr[i] : m.indptr[i + 1]] for i in range(len(ids))]
    if candidates is None:
        roots = np.flatnonzero(v >= 0.25 * lower)
    else:
        given = _as_ids(candidates)
        _require_known(given, ids, setting="candidates", of="the adjacency")
        roots = ids.get_indexer(pd.Index(given, dtype=object, tupleize_cols=False))
    rows = []
    for r in roots.tolist():
        if not v[r] < lower:
            continue  # in the band alone, or oversized (split_oversized's case)
        st = _connected_sets(r, v, nbrs, lower, upper, max_sets)
        if st["found"] or st["n"] > max_sets:
            continue
        below, above = st["below"], st["above"]
        rows.append(
            {
                "unit_id": ids[r],
                "value": float(v[r]),
                "sets": int(st["n"]),
                "best_below": below[0],
                "set_below": tuple(ids[list(below[1])]),
                "best_above": above[0],
                "set_above": tuple(ids[list(above[1])]),
            }
        )
    cols = ["value", "sets", "best_below", "set_below", "best_above", "set_above"]
    return pd.DataFrame(rows, columns=["unit_id", *cols]).set_index("unit_id")


def _require_count(value: Any, name: str, low: int, example: str) -> None:
    """Refuse a ``value`` of ``name=`` that is not a whole number ≥ ``low``: a
    ``max_sets`` of 0 made every unit "undecided" and reported nothing
    stuck; ``rounds=2.5`` failed in ``range``."""
    if not is_count(value, low):
        raise SpecificationError(
            f"{name} must be a whole number of at least {low}, got {value!r}; "
            f"pass e.g. {example}"
        )


def _band(lower: Any, upper: Any) -> tuple[float, float]:
    """``(lower, upper)`` as floats; refuse a band that is not finite or
    inverted (every unit below an empty band was reported stuck)."""
    try:
        lo, hi = float(lower), float(upper)
        shown = f"lower={lo:.6g}, upper={hi:.6g}"
    except (TypeError, ValueError):
        lo = hi = math.nan
        shown = f"lower={lower!r}, upper={upper!r}"
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise SpecificationError(
            f"the band must be two finite numbers with lower <= upper, got "
            f"{shown}; pass one territory's band, e.g. (1 - τ) · mean and "
            "(1 + τ) · mean"
        )
    return lo, hi


def _need_adjacency(adjacency: Any, func: str) -> None:
    """Refuse a missing or wrong ``adjacency``: the check runs on the graph."""
    from terrakit.data.geo import require_adjacency

    # a stuck unit is one that no connected set of neighbours fits into the band
    require_adjacency(
        adjacency, what=f"{func}(adjacency=...)", error=TypeError, optional=False
    )


def split_blocking(
    units: Any,
    activity: str,
    n_territories: int,
    tolerance: float,
    *,
    adjacency: Any,
    rounds: int = 5,
    max_sets: int = 20_000,
    keep: str | Iterable[str] = (),
) -> tuple[OversizedSplit, pd.DataFrame]:
    """Split the oversized units and the :func:`stuck_units` until none is stuck.

    Rule: every unit above the upper limit is split into equal parts of at
    most ``2τ · mean`` (the band's width, so a set of parts can reach any
    point of the band), whatever the other units are.  Then, up to
    ``rounds`` times, :func:`stuck_units` runs on the result and every unit
    it proves cannot sit in any contiguous territory within the band is
    split the same way; a stuck unit already no larger than ``2τ · mean``
    cannot be cut finer, so the unit that jumps over the band when added to
    it (the last unit of its ``set_above``) is split instead.  Passing
    the local check is necessary, not sufficient, for a feasible design.

    Parameters are those of :func:`split_oversized` (``keep``: numeric
    columns the parts keep whole, besides the coordinates), with
    ``adjacency`` required and ``tolerance > 0``; ``rounds`` (a whole number
    ``>= 0``) and ``max_sets`` (see :func:`stuck_units`) bound the search.

    Returns
    -------
    (OversizedSplit, pandas.DataFrame)
        The split and the stuck units found before the first split (the
        evidence that the unsplit specification is impossible), by their
        ids after the oversized units were split into the fewest parts (as
        :func:`split_oversized` does; text where that split turned integer
        ids into text).  The split's ``parts`` say why each unit was split
        (``reason``: ``"oversized"``, ``"stuck"`` or ``"blocking"``), its
        ``max_part`` is ``2τ · mean`` and its ``stuck`` holds the units still
        stuck at the end (empty when none).

    Warns
    -----
    TerrakitWarning
        Units are still stuck after ``rounds`` rounds: the warning names
        them with their best totals below and above the band.

    Raises
    ------
    TypeError
        ``adjacency`` is missing (``None``) or not an
        :class:`~terrakit.data.geo.Adjacency`.
    SpecificationError
        ``tolerance`` 0: a band of zero width cannot be filled by parts;
        ``rounds`` or ``max_sets`` not a whole number (``rounds >= 0``,
        ``max_sets >= 1``); and the refusals of :func:`split_oversized`.
    DataValidationError
        As :func:`split_oversized`.
    """
    _need_adjacency(adjacency, "split_blocking")
    _require_count(rounds, "rounds", 0, "5, the default")
    _require_count(max_sets, "max_sets", 1, "20_000, the default")
    units = _units_table(units)
    first = split_oversized(
        units, activity, n_territories, tolerance, adjacency=adjacency, keep=keep
    )
    # the checked table (numbers stored as text read as numbers)
    units = _checked_units(units, activity)
    k, tolerance = first.n_territories, first.tolerance
    mean = float(units[activity].to_numpy(dtype=float).sum()) / k
    if tolerance == 0:
        raise SpecificationError(
            f"split_blocking needs a band of positive width: with tolerance 0 "
            f"every territory must hold exactly total / k = {mean:.6g} "
            f"{activity}, and parts of at most the band's width 2τ · mean = 0 "
            "cannot fill it; pass a tolerance above 0 (0.05 is ±5 %), or use "
            "split_oversized"
        )
    lo, hi = (1 - tolerance) * mean, (1 + tolerance) * mean
    width = 2 * tolerance * mean
    stuck0 = stuck_units(
        first.units[activity], first.adjacency, lo, hi, max_sets=max_sets
    )

    def resplit(also: dict[Hashable, str]) -> OversizedSplit:
        return split_oversized(
            units,
            activity,
            k,
            tolerance,
            adjacency=adjacency,
            max_part=width,
            also=list(also),
            keep=keep,
        )

    # every oversized unit in parts of at most 2τ · mean, stuck or not: the
    # parts of a unit no longer depend on whether another unit is stuck
    why: dict[Hashable, str] = {}
    split = first if first.parts.empty else resplit(why)
    stuck = stuck_units(
        split.units[activity], split.adjacency, lo, hi, max_sets=max_sets
    )
    done = 0
    for _ in range(rounds):
        # a dict, not the Series: Series.get falls back to positions for
        # integer keys, which mapped a stuck unit 0 to the unit of part 0;
        # every id, as a split turns integer ids into text ('0' is unit 0)
        part_of = split.unit_ids.to_dict()
        new: dict[Hashable, str] = {}
        for uid, row in stuck.iterrows():
            if row["value"] > width:
                new[part_of.get(uid, uid)] = "stuck"
        for _, row in stuck.iterrows():
            # a stuck unit no larger than a part is freed only by cutting the
            # unit that jumps over the band (the last of set_above: above
            # the band's width, since the set before it is below the band)
            if not row["value"] > width:
                jump = row["set_above"][-1]
                new.setdefault(part_of.get(jump, jump), "blocking")
        new = {u: r for u, r in new.items() if u not in why}
        if not new:
            break
        why.update(new)
        done += 1
        split = resplit(why)
        stuck = stuck_units(
            split.units[activity], split.adjacency, lo, hi, max_sets=max_sets
        )
    parts = split.parts.assign(
        reason=[
            why.get(u, r)
            for u, r in zip(split.parts["unit_id"], split.parts["reason"], strict=True)
        ]
    )
    if not stuck.empty:
        warnings.warn(
            f"split_blocking: {len(stuck)} units are still stuck after "
            f"{done} rounds of splitting (band [{lo:.6g}, {hi:.6g}] {activity}): "
            f"{_stuck_text(stuck)}; no contiguous ±{100 * tolerance:g} % design "
            "exists with them: raise rounds, widen the tolerance, or link or "
            "merge these units (split.stuck has the sets)",
            TerrakitWarning,
            stacklevel=2,
        )
    return replace(split, parts=parts, max_part=width, stuck=stuck), stuck0

"""The editing state behind :class:`~terrakit.widgets.TerritoryMap`, without widgets.

:class:`EditorState` holds the current unit → territory assignment as integer
codes, the undo/redo history, the locks and the per-territory totals, so the
widget only has to draw what a change touched.  It needs neither ipywidgets
nor a browser, which keeps its tests fast.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from terrakit._runargs import as_number
from terrakit.data.alignment import (
    Alignment,
    _fit_dtype,
    _sorted_territories,
    make_provenance,
)
from terrakit.data.geo import Adjacency, require_adjacency
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)

__all__ = ["Change", "EditorState"]

#: Unit columns shown in the KPI table when present (summed per territory).
KPI_COLUMNS = ("accounts", "workload", "sales", "potential")

#: What an observer of an :class:`EditorState` is called with: the kind of
#: change (``"move"``, ``"set_alignment"``, ``"undo"``, ``"redo"``, ``"lock"``
#: or ``"unlock"``) and the row positions of the units it touched.
Observer = Callable[[str, np.ndarray], None]


def _shown_values(units: pd.DataFrame, column: str) -> np.ndarray:
    """A KPI column that is shown but not balanced, with missing values as NaN.

    An unknown value is not 0: the territories holding a unit without one
    get a NaN total (a warning names the units).  Text in the column is
    refused as for a balanced measure.
    """
    from terrakit.metrics import _measure

    miss = units[column].isna().to_numpy()
    out = np.full(len(units), np.nan)
    out[~miss] = _measure(units[~miss], column).to_numpy(dtype=float)
    if miss.any():
        bad = list(units.index[miss])
        shown = ", ".join(map(repr, bad[:5])) + (
            f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        )
        pen = " (and penetration)" if column in ("sales", "potential") else ""
        warnings.warn(
            f"units.{column}: {len(bad)} of {len(units)} units have no value "
            f"({shown}); {column}{pen} is NaN for every territory that holds "
            f"one of them. An unknown {column} is not 0: fill them only with real "
            "figures",
            TerrakitWarning,
            stacklevel=3,
        )
    return out


def check_alignment(alignment: Any, what: str) -> None:
    """Raise TypeError unless ``alignment`` is an Alignment.

    A plan's name or a ``{unit_id: territory}`` dict is refused with the way
    to turn it into one (the state holds no study to look names up in).
    """
    if not isinstance(alignment, Alignment):
        raise TypeError(
            f"{what} must be an Alignment, got {type(alignment).__name__}; pass "
            "study.alignments[name] for a plan of the study (TerritoryMap."
            "set_alignment also takes the name) or Alignment.from_mapping(...) "
            "for a dict of unit id -> territory"
        )


def check_adjacency(adjacency: Any, what: str = "adjacency") -> None:
    """Raise TypeError unless ``adjacency`` is ``None`` or an Adjacency."""
    require_adjacency(adjacency, what=what, error=TypeError)


@dataclass(frozen=True)
class Change:
    """One undoable step: some units changed territory.

    Attributes
    ----------
    positions
        Row positions of the units that changed (in the units table).
    before, after
        Territory codes of those units before and after the step.
    label
        What the step was (``"move 3 units to R04"``, ``"optimise (align)"``).
    skipped
        Unit ids that were asked to move but are locked (for a step returned
        by :meth:`EditorState.undo` / :meth:`~EditorState.redo`: the locked
        units that step left where they are).
    record
        What produced the step when it was not a hand edit, e.g. the solver's
        provenance for ``"optimise (align)"``; ``None`` otherwise.
    """

    positions: np.ndarray
    before: np.ndarray
    after: np.ndarray
    label: str
    skipped: tuple[Hashable, ...] = ()
    record: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def n_units(self) -> int:
        return len(self.positions)


class EditorState:
    """Current alignment, history, locks and balance of an interactive edit.

    Parameters
    ----------
    units
        Units table (index ``unit_id``) with the numeric measure columns, e.g.
        ``study.unit_measures()``.  The KPI columns it has of ``accounts``,
        ``workload``, ``sales`` and ``potential`` are loaded too, for
        :meth:`kpis`; those that are not balanced may have missing values.
    alignment
        The starting alignment; it must cover exactly the units.
    measures
        Columns to balance; the first one drives the balance panel.
    tolerance
        Balance band ``±tolerance`` of the mean, e.g. 0.05.
    territories
        All territory ids that may receive units (default: those of the
        alignment); add rep ids that own no unit yet here.  A list, an Index
        (``study.reps.index``) or one id (``"R3"``).
    adjacency
        Unit graph for the contiguity warnings (``None``: no contiguity check).

    Attributes
    ----------
    locks : dict
        Row position → reason of every locked unit.
    lock_codes : dict
        Row position → code of the territory the unit was locked in.  Locked
        units never change territory: :meth:`move` skips them,
        :meth:`set_alignment` refuses to move them and :meth:`undo` /
        :meth:`redo` leave them where they are.
    territory_fix : str
        The fix named when an unknown territory is asked for (a widget built
        on the state replaces it with its own).

    Notes
    -----
    Every change of the assignment or the locks (:meth:`move`,
    :meth:`set_alignment`, :meth:`undo`, :meth:`redo`, :meth:`lock`,
    :meth:`unlock`) calls the observers registered with :meth:`subscribe`
    once, after the state has changed, so a view on the state (the
    :class:`~terrakit.widgets.TerritoryMap` drawing it) stays current
    whoever edits it.

    Raises
    ------
    DataValidationError
        If the alignment does not cover the units, a balanced measure is not
        a column, has missing values or is not numeric, or a KPI column holds
        text.
    SpecificationError
        For a tolerance outside (0, 1) or an empty measure list.
    TypeError
        If ``alignment`` is not an :class:`~terrakit.data.Alignment` or
        ``adjacency`` not a :class:`~terrakit.data.geo.Adjacency`.

    Warns
    -----
    TerrakitWarning
        When a KPI column that is not balanced has missing values, naming the
        units; its totals are NaN for the territories that hold them.

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"workload": [1.0, 2.0, 3.0]},
    ...                      index=pd.Index(["a", "b", "c"], name="unit_id"))
    >>> al = Alignment.from_mapping({"a": "T1", "b": "T1", "c": "T2"})
    >>> st = EditorState(units, al, measures=["workload"], tolerance=0.1)
    >>> st.totals("workload").to_dict()
    {'T1': 3.0, 'T2': 3.0}
    >>> _ = st.move(["b"], "T2")
    >>> st.totals("workload").to_dict()
    {'T1': 1.0, 'T2': 5.0}
    >>> _ = st.undo()
    >>> st.alignment.same_assignment(al)
    True
    """

    def __init__(
        self,
        units: pd.DataFrame,
        alignment: Alignment,
        measures: Sequence[str] = ("workload",),
        tolerance: float = 0.05,
        *,
        territories: Iterable[Hashable] | None = None,
        adjacency: Adjacency | None = None,
    ) -> None:
        check_alignment(alignment, "alignment")
        measures = [measures] if isinstance(measures, str) else list(measures)
        if not measures:
            raise SpecificationError("measures is empty; give at least one column")
        tol = as_number(tolerance)
        if not np.isfinite(tol) or not 0 < tol < 1:
            raise SpecificationError(
                f"tolerance must be in (0, 1), got {tolerance!r}; 0.05 means ±5 % "
                "of the mean"
            )
        check_adjacency(adjacency)
        from terrakit.metrics import _labels, _measure

        self.unit_ids: pd.Index = pd.Index(units.index, name="unit_id")
        labels = _labels(self.unit_ids, alignment)
        terr = list(alignment.territories)
        if territories is None:
            extra: list[Any] = []
        elif isinstance(territories, str | bytes) or not isinstance(
            territories, Iterable
        ):
            extra = [territories]  # one id: "T3" is not 'T' and '3'
        else:
            extra = list(territories)  # a list, an Index, a Series' values
        for t in extra:
            if t not in terr:
                terr.append(t)
        self.territories: list[Any] = _sorted_territories(terr)
        self._code_of = {t: k for k, t in enumerate(self.territories)}
        self.base = alignment
        self.codes = np.array(
            [self._code_of[t] for t in labels.to_numpy()], dtype=np.int64
        )
        self._base_codes = self.codes.copy()
        self.measures = measures
        self.tolerance = tol
        self.values = {c: _measure(units, c).to_numpy(dtype=float) for c in measures}
        for c in KPI_COLUMNS:
            if c not in self.values and c in units.columns:
                self.values[c] = _shown_values(units, c)
        self.locks: dict[int, str] = {}
        self.lock_codes: dict[int, int] = {}
        self.territory_fix = "pass territories=[...] to add one that owns no unit yet"
        self.undo_stack: list[Change] = []
        self.redo_stack: list[Change] = []
        self.adjacency = adjacency
        self._adj_matrix: sp.csr_array | None = None
        if adjacency is not None:
            m = sp.csr_array(
                adjacency.on_units(
                    self.unit_ids,
                    fix="build it with terrakit.data.geo.adjacency(units)",
                ).matrix
            )
            self._adj_matrix = sp.csr_array(sp.triu(m, k=1))
        self._alignment: Alignment | None = None
        self._pos = pd.Series(np.arange(len(self.unit_ids)), index=self.unit_ids)
        self._observers: list[Observer] = []

    # -- change notification ----------------------------------------------------------
    def subscribe(self, callback: Observer) -> None:
        """Call ``callback(kind, positions)`` after every change of the state.

        ``kind`` is the method that changed it (``"move"``,
        ``"set_alignment"``, ``"undo"``, ``"redo"``, ``"lock"``,
        ``"unlock"``), ``positions`` the row positions of the units whose
        territory (or lock) changed.  A call that changes nothing calls no
        observer, except :meth:`undo` / :meth:`redo` that took a step off
        their stack.  Subscribing a callback twice has no effect.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        if callback not in self._observers:
            self._observers.append(callback)

    def unsubscribe(self, callback: Observer) -> None:
        """Stop calling ``callback`` (no effect when it was not subscribed)."""
        if callback in self._observers:
            self._observers.remove(callback)

    def _notify(self, kind: str, positions: np.ndarray) -> None:
        pos = np.asarray(positions, dtype=np.int64)
        for cb in list(self._observers):
            cb(kind, pos)

    # -- lookups ----------------------------------------------------------------------
    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    def positions(self, unit_ids: Any) -> np.ndarray:
        """Row positions of ``unit_ids``; unknown ids raise DataValidationError.

        ``unit_ids`` is one id (``"13121"`` is one unit, not a sequence of
        characters), a sequence of ids, a selection of the units table (a
        DataFrame: its index) or a boolean mask: a Series indexed by unit ids
        (``units["workload"] > 2000``; the ids where it is True), a
        DataFrame with one boolean column (``units[["workload"]] > 2000``,
        read as that Series) or an array with one value per unit, in the
        order of the units table.

        Raises
        ------
        DataValidationError
            For unknown ids, a boolean array whose length is not the number
            of units, a boolean Series indexed by something else than
            unit ids, or a DataFrame of several boolean columns.
        """
        ids = self._ids_of(unit_ids)
        pos = self.unit_ids.get_indexer(ids)
        if (pos < 0).any():
            bad = [u for u, p in zip(ids, pos, strict=True) if p < 0]
            raise DataValidationError(
                "units",
                "unit_id",
                f"{len(bad)} unit ids are not in the map",
                rows=bad,
                fix="use ids of the study's units table (check the id type: "
                "'13121' is not 13121)",
            )
        return np.asarray(pos, dtype=np.int64)

    def _ids_of(self, unit_ids: Any) -> list[Any]:
        """The unit ids that :meth:`positions` looks up (masks resolved)."""
        if isinstance(unit_ids, pd.DataFrame):
            unit_ids = self._frame_mask(unit_ids)
            if isinstance(unit_ids, pd.DataFrame):  # a selection: its rows
                return list(unit_ids.index)
        if isinstance(unit_ids, pd.Series) and pd.api.types.is_bool_dtype(unit_ids):
            idx = unit_ids.index
            bad = idx[self.unit_ids.get_indexer(idx) < 0]
            if len(bad):
                raise DataValidationError(
                    "units",
                    "unit_id",
                    f"the boolean mask is indexed by {len(bad)} values that are "
                    "not unit ids of the map",
                    rows=list(bad),
                    fix="build the mask from the study's units table, e.g. "
                    "units['workload'] > 2000, whose index is the unit ids",
                )
            return list(idx[unit_ids.to_numpy(dtype=bool, na_value=False)])
        one = isinstance(unit_ids, str | bytes) or not isinstance(unit_ids, Iterable)
        if one:
            return [unit_ids]
        if isinstance(unit_ids, np.ndarray):
            ids = list(unit_ids)
            mask = unit_ids.dtype == bool and unit_ids.ndim == 1
        else:
            ids = list(unit_ids)
            mask = bool(ids) and all(isinstance(u, bool | np.bool_) for u in ids)
        if mask:
            arr = np.asarray(ids, dtype=bool)
            if len(arr) != self.n_units:
                raise DataValidationError(
                    "units",
                    "unit_id",
                    f"a boolean mask has one value per unit, but this one has "
                    f"{len(arr)} values for {self.n_units} units",
                    fix="build the mask from the study's units table (units["
                    "'workload'] > 2000) or pass unit ids",
                )
            return list(self.unit_ids[arr])
        return list(ids)

    @staticmethod
    def _frame_mask(frame: pd.DataFrame) -> pd.DataFrame | pd.Series:
        """A boolean DataFrame's one column as a mask; other frames unchanged.

        ``units[["workload"]] > 2000`` holds a True/False per unit: its index
        is every unit, so reading it as a selection would take them all.
        With several boolean columns it is not clear how to combine them.
        """
        cols = list(frame.columns)
        if not cols or not all(pd.api.types.is_bool_dtype(d) for d in frame.dtypes):
            return frame
        if len(cols) > 1:
            raise DataValidationError(
                "units",
                "unit_id",
                f"the boolean mask is a DataFrame with {len(cols)} columns "
                f"({', '.join(map(repr, cols[:5]))}"
                f"{' ...' if len(cols) > 5 else ''}); it is not clear whether a "
                "unit is selected when all of them or any of them are True",
                fix="combine them into one mask, e.g. mask.all(axis=1) or "
                "mask.any(axis=1), or compare one column: units['workload'] > 2000",
            )
        return frame.iloc[:, 0]

    def code(self, territory: Hashable) -> int:
        """Integer code of a territory id (SpecificationError if unknown)."""
        try:
            return self._code_of[territory]
        except (KeyError, TypeError):
            raise SpecificationError(
                f"unknown territory {territory!r}; the map has "
                f"{self.territories[:25]}"
                + (" ..." if len(self.territories) > 25 else "")
                + f"; {self.territory_fix}"
            ) from None

    def territory_of(self, unit_id: Hashable) -> Any:
        """Current territory of one unit."""
        return self.territories[int(self.codes[self.positions([unit_id])[0]])]

    # -- edits ------------------------------------------------------------------------
    def _apply(self, positions: np.ndarray, codes: np.ndarray) -> None:
        self.codes[positions] = codes
        self._alignment = None

    def move(self, unit_ids: Iterable[Hashable], territory: Hashable) -> Change:
        """Move units to ``territory`` as one undoable step.

        Locked units and units already in ``territory`` are left alone; the
        locked ones are listed in :attr:`Change.skipped`.

        Parameters
        ----------
        unit_ids
            Units to move: ids, a selection of the units table or a boolean
            mask (see :meth:`positions`).
        territory
            Receiving territory id.

        Returns
        -------
        Change
            The step (empty when nothing moved; an empty step is not recorded).
        """
        k = self.code(territory)
        pos = np.unique(self.positions(unit_ids))
        locked = np.array([p in self.locks for p in pos], dtype=bool)
        skipped = tuple(self.unit_ids[pos[locked]].tolist())
        pos = pos[~locked]
        pos = pos[self.codes[pos] != k]
        change = Change(
            positions=pos,
            before=self.codes[pos].copy(),
            after=np.full(len(pos), k, dtype=np.int64),
            label=f"move {len(pos)} unit{'' if len(pos) == 1 else 's'} to {territory}",
            skipped=skipped,
        )
        if len(pos):
            self._apply(pos, change.after)
            self.undo_stack.append(change)
            self.redo_stack.clear()
            self._notify("move", pos)
        return change

    def set_alignment(
        self,
        alignment: Alignment,
        label: str = "replace",
        *,
        record: Mapping[str, Any] | None = None,
    ) -> Change:
        """Replace the whole assignment by ``alignment`` as one undoable step.

        Locked units must keep their territory.  ``record`` (e.g. the solver's
        provenance) is kept on the step as :attr:`Change.record`.

        Raises
        ------
        DataValidationError
            If ``alignment`` does not cover the units or moves a locked unit.
        TypeError
            If ``alignment`` is not an :class:`~terrakit.data.Alignment` (a
            plan's name: :meth:`TerritoryMap.set_alignment` takes those).
        """
        from terrakit.metrics import _labels

        check_alignment(alignment, "alignment")
        lab = _labels(self.unit_ids, alignment, what="new alignment").to_numpy()
        new = np.array([self.code(t) for t in lab], dtype=np.int64)
        moved_locks = [p for p in self.locks if new[p] != self.codes[p]]
        if moved_locks:
            raise DataValidationError(
                "alignment",
                "territory_id",
                f"alignment {alignment.name!r} moves {len(moved_locks)} locked units",
                rows=list(self.unit_ids[moved_locks]),
                fix="pass the locks to the solver (locked=state.locked()) or unlock "
                "them first",
            )
        pos = np.flatnonzero(new != self.codes)
        change = Change(pos, self.codes[pos].copy(), new[pos], label, record=record)
        if len(pos):
            self._apply(pos, change.after)
            self.undo_stack.append(change)
            self.redo_stack.clear()
            self._notify("set_alignment", pos)
        return change

    def _replay(self, ch: Change, codes: np.ndarray) -> Change:
        """Set the unlocked units of ``ch`` to ``codes``; return what was done.

        The result is ``ch`` itself when no unit of it is locked, else a step
        with only the unlocked units (``skipped``: the locked ones, whose
        territory does not change).
        """
        locked = np.array([int(p) in self.locks for p in ch.positions], dtype=bool)
        if not locked.any():
            done = replace(ch, skipped=()) if ch.skipped else ch
        else:
            keep = ~locked
            k = int(locked.sum())
            done = replace(
                ch,
                positions=ch.positions[keep],
                before=ch.before[keep],
                after=ch.after[keep],
                label=f"{ch.label}, less {k} locked unit{'' if k == 1 else 's'}",
                skipped=tuple(self.unit_ids[ch.positions[locked]].tolist()),
            )
            codes = codes[keep]
        if len(done.positions):
            self._apply(done.positions, codes)
        return done

    def undo(self) -> Change | None:
        """Undo the last step; returns what was undone (``None``: nothing to undo).

        Locked units stay where they are: the step is undone for the other
        units only, and the locked ones are listed in :attr:`Change.skipped`
        of the returned step (whose label then ends in ``"less k locked
        units"``).  What was undone goes to the redo stack, so :meth:`redo`
        brings back exactly those units; the locked units' part of the step
        is dropped from the history (they are already in its "after" state).
        When every unit of the step is locked, the step is still taken off
        the undo stack, nothing changes and nothing is added to the redo stack.
        """
        if not self.undo_stack:
            return None
        ch = self.undo_stack.pop()
        self._alignment = None  # its provenance lists the steps
        done = self._replay(ch, ch.before)
        if len(done.positions):
            self.redo_stack.append(done)
        self._notify("undo", done.positions)
        return done

    def redo(self) -> Change | None:
        """Redo the last undone step (``None`` when there is nothing to redo).

        As in :meth:`undo`, units locked since the undo stay where they are:
        the step is redone for the other units only (listed in
        :attr:`Change.skipped` of the returned step) and only that part goes
        back on the undo stack.
        """
        if not self.redo_stack:
            return None
        ch = self.redo_stack.pop()
        self._alignment = None
        done = self._replay(ch, ch.after)
        if len(done.positions):
            self.undo_stack.append(done)
        self._notify("redo", done.positions)
        return done

    # -- locks ------------------------------------------------------------------------
    def lock(self, unit_ids: Iterable[Hashable], reason: str | None = "") -> np.ndarray:
        """Lock units in their current territory, with a reason.

        The territory is recorded with the lock (:attr:`lock_codes`); locking
        a locked unit again only changes its reason, and an empty reason
        (``""``, ``None`` or NaN) keeps the one recorded (new locks without a
        reason get ``"locked in the map"``).  Returns the positions whose lock
        state or reason changed.
        """
        # None (or NaN, e.g. an empty cell of a table of reasons) is no reason
        none = reason is None or (pd.api.types.is_scalar(reason) and pd.isna(reason))
        text = "" if none else str(reason).strip()
        pos = np.unique(self.positions(unit_ids))
        new = {int(p): text or self.locks.get(int(p), "locked in the map") for p in pos}
        changed = [p for p, r in new.items() if self.locks.get(p) != r]
        for p in changed:
            self.locks[p] = new[p]
            self.lock_codes.setdefault(p, int(self.codes[p]))
        out = np.array(changed, dtype=np.int64)
        if changed:
            self._alignment = None  # its provenance lists the locks
            self._notify("lock", out)
        return out

    def unlock(self, unit_ids: Iterable[Hashable]) -> np.ndarray:
        """Remove locks; returns the positions that were locked."""
        pos = np.unique(self.positions(unit_ids))
        changed = [int(p) for p in pos if int(p) in self.locks]
        for p in changed:
            del self.locks[p]
            self.lock_codes.pop(p, None)
        out = np.array(changed, dtype=np.int64)
        if changed:
            self._alignment = None
            self._notify("unlock", out)
        return out

    def locked(self) -> dict[Hashable, tuple[Any, str]]:
        """``{unit_id: (territory, reason)}`` — the form ``tk.design.align`` takes.

        The territory is the one the unit was locked in (where it still is:
        nothing moves a locked unit).
        """
        return {
            self.unit_ids[p]: (self.territories[self.lock_codes[p]], r)
            for p, r in sorted(self.locks.items())
        }

    # -- views ------------------------------------------------------------------------
    @property
    def alignment(self) -> Alignment:
        """The current state as an :class:`~terrakit.data.Alignment`.

        Territory ids keep the base alignment's dtype when every id fits it
        (``int64`` ids stay ``int64``, as :meth:`Alignment.replace` keeps
        them), so an unedited state equals its base.
        """
        if self._alignment is None:
            labels = _fit_dtype(
                pd.Series(
                    np.array(self.territories, dtype=object)[self.codes],
                    index=self.unit_ids,
                    dtype=object,
                ),
                self.base.assignment.dtype,
            )
            moved = int((self.codes != self._base_codes).sum())
            prov = make_provenance(
                "manual/widget",
                config={
                    "base": self.base.name,
                    "measures": list(self.measures),
                    "tolerance": self.tolerance,
                },
                base_method=str(self.base.provenance.get("method", "?")),
                steps=[c.label for c in self.undo_stack],
                units_moved_from_base=moved,
                locked={str(u): r for u, (_, r) in self.locked().items()},
            )
            self._alignment = Alignment(
                labels,
                name=f"{self.base.name} (edited)",
                provenance=prov,
            )
        return self._alignment

    def totals(self, measure: str | None = None) -> pd.Series:
        """Sum of ``measure`` (default: the first balanced one) per territory.

        NaN for a territory holding a unit without a value of ``measure`` (a
        KPI column that is not balanced may have missing values).
        """
        m = self.measures[0] if measure is None else measure
        if m not in self.values:
            raise SpecificationError(
                f"measure {m!r} is not loaded; available: {sorted(self.values)}"
            )
        x = np.bincount(
            self.codes, weights=self.values[m], minlength=len(self.territories)
        )
        return pd.Series(
            x, index=pd.Index(self.territories, name="territory_id"), name=m
        )

    def balance_table(self, measure: str | None = None) -> pd.DataFrame:
        """Per territory: ``total``, ``rel_dev`` from the mean and ``in_band``.

        The mean is over all territories of the map (a territory emptied by
        edits counts with 0).  ``in_band`` is ``|total / mean - 1| <=
        tolerance``.  When the mean is 0 (every total 0: there is nothing to
        balance) the territories with total 0 are equal, so their
        ``rel_dev`` is 0 and they are in the band; any other total gets a
        NaN ``rel_dev`` and is outside it.
        """
        x = self.totals(measure)
        mean = float(x.mean())
        if mean:
            dev = x / mean - 1.0
        else:
            dev = pd.Series(np.where(x == 0, 0.0, np.nan), index=x.index, name=x.name)
        return pd.DataFrame(
            {
                "total": x,
                "rel_dev": dev,
                "in_band": dev.abs() <= self.tolerance + 1e-12,
            }
        )

    def balance_summary(self) -> pd.DataFrame:
        """Same columns as :func:`terrakit.metrics.balance` for every measure.

        All territories of the map count, also those without units (a new
        rep's territory); when every territory owns a unit the numbers equal
        :func:`terrakit.metrics.balance` of :attr:`alignment`.
        """
        from terrakit.metrics import balance_table

        return balance_table({m: self.totals(m).to_numpy() for m in self.measures})

    def kpis(self) -> pd.DataFrame:
        """Per territory: ``units``, the KPI columns present, ``penetration``
        (sales / potential), ``pieces`` (contiguity; NaN without adjacency).

        A KPI (and so ``penetration``) is NaN for a territory holding a unit
        whose value is missing: an unknown value is not 0.
        """
        n = np.bincount(self.codes, minlength=len(self.territories))
        out = pd.DataFrame(
            {"units": n}, index=pd.Index(self.territories, name="territory_id")
        )
        for c in KPI_COLUMNS:
            if c in self.values:
                out[c] = self.totals(c).to_numpy()
        if "sales" in out and "potential" in out:
            with np.errstate(divide="ignore", invalid="ignore"):
                out["penetration"] = out["sales"] / out["potential"].where(
                    out["potential"] > 0
                )
        out["pieces"] = self.pieces()
        return out

    def pieces(self) -> pd.Series:
        """Connected pieces per territory (0 if empty, NaN without adjacency)."""
        idx = pd.Index(self.territories, name="territory_id")
        if self._adj_matrix is None:
            return pd.Series(np.nan, index=idx, name="pieces")
        coo = self._adj_matrix.tocoo()
        keep = self.codes[coo.row] == self.codes[coo.col]
        n = self.n_units
        inner = sp.csr_array(
            (np.ones(int(keep.sum()), dtype=np.int8), (coo.row[keep], coo.col[keep])),
            shape=(n, n),
        )
        _, comp = connected_components(inner, directed=False)
        pieces = pd.Series(comp).groupby(self.codes).nunique()
        return (
            pd.Series(
                pieces.to_numpy(),
                index=np.array(self.territories, dtype=object)[pieces.index],
            )
            .reindex(idx, fill_value=0)
            .astype(np.int64)
            .rename("pieces")
        )

    def contiguity_warnings(self) -> list[str]:
        """One line per territory in more than one piece."""
        p = self.pieces()
        return [
            f"{t} is in {int(k)} pieces" for t, k in p.items() if pd.notna(k) and k > 1
        ]

    def moved_from(self, other: Alignment) -> np.ndarray:
        """Boolean per unit: is its current territory different from ``other``'s?

        Raises
        ------
        DataValidationError
            If ``other`` does not cover the units, or its territory ids equal
            the map's only as text (``'1'`` and ``1``: every unit would look
            moved).
        TypeError
            If ``other`` is not an :class:`~terrakit.data.Alignment`.
        """
        from terrakit.metrics import _labels
        from terrakit.realign.impact import check_territory_ids

        check_alignment(other, "other")
        ref = _labels(self.unit_ids, other, what="reference alignment").to_numpy()
        check_territory_ids(
            self.territories, other.territories, self.base.name, other.name
        )
        cur = np.array(self.territories, dtype=object)[self.codes]
        return np.asarray(ref != cur, dtype=bool)

    def summary(self) -> str:
        """Rounded, stable text: steps, moves from the base, locks, balance."""
        b = self.balance_summary()
        moved = int((self.codes != self._base_codes).sum())
        lines = [
            f"EditorState: {self.n_units} units, {len(self.territories)} territories "
            f"(base {self.base.name!r})",
            f"  steps {len(self.undo_stack)} (redo {len(self.redo_stack)}), units "
            f"moved from base {moved}, locked {len(self.locks)}",
        ]
        for m, r in b.iterrows():
            lines.append(
                f"  {m}: max deviation {100 * r['max_rel_dev']:.1f} % "
                f"(band ±{100 * self.tolerance:.1f} %), cv {r['cv']:.3f}"
            )
        warn = self.contiguity_warnings()
        if warn:
            lines.append("  not contiguous: " + "; ".join(warn))
        return "\n".join(lines)

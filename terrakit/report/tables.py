"""Tables a study report is made of: scenario comparison and CRM assignments.

They take plain alignments, so they work for any alignments a study holds,
whichever step made them (design, realignment, a hand-made scenario).
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from terrakit.data.alignment import Alignment
from terrakit.data.validation import rep_of_territories
from terrakit.exceptions import DataValidationError, TerrakitWarning

__all__ = ["account_assignments", "compare_alignments", "unit_assignments"]


def _rep_names(study: Any, territories: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Rep id and rep name of every territory id (empty where no such rep).

    Territory ids are matched to rep ids as
    :func:`~terrakit.data.validation.rep_of_territories` does (``'7'``
    finds rep ``7``).
    """
    reps = study.reps
    t = territories.astype(object)
    if reps is None:
        empty = pd.Series([None] * len(t), index=t.index, dtype=object)
        return empty, empty.copy()
    rep_id = rep_of_territories(t, reps.index)
    known = rep_id.notna()
    if "name" in reps.columns:
        names = reps["name"].astype(object)
        rep_name = rep_id.map(names).where(known, None).astype(object)
    else:
        rep_name = pd.Series([None] * len(t), index=t.index, dtype=object)
    return rep_id, rep_name


def _differs(before: pd.Series, after: pd.Series) -> pd.Series:
    """Where ``after`` differs from ``before``, missing on both sides being equal.

    (``None != None`` and ``NaN != NaN`` would call an account without an
    owner before and after a change.)
    """
    gone = before.isna().to_numpy() & after.isna().to_numpy()
    return (before.astype(object) != after.astype(object)) & ~gone


#: The weight :func:`compare_alignments` uses by default (where the units have it).
DEFAULT_WEIGHT = "workload"


def _weight(units: pd.DataFrame, weight: str | None) -> str | None:
    """The activity column weighting compactness and travel (``None``: 1 per unit).

    The default :data:`DEFAULT_WEIGHT` is used where the units have it and
    skipped where they do not; any other name must be a column of the units
    (``"units"``: 1 per unit).

    Raises
    ------
    DataValidationError
        When a weight other than the default is not a column of the units,
        with the closest numeric column's name.
    """
    if weight is None or weight == "units":
        return None
    if weight in units.columns:
        return weight
    if weight == DEFAULT_WEIGHT:
        return None
    geometry = getattr(units, "geometry", None)
    skip = getattr(geometry, "name", None)
    numeric = [
        str(c)
        for c in units.columns
        if c != skip
        and pd.api.types.is_numeric_dtype(units[c])
        and not pd.api.types.is_bool_dtype(units[c])
    ]
    close = difflib.get_close_matches(str(weight), numeric, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise DataValidationError(
        "units",
        str(weight),
        f"weight {weight!r} is not a column of the study's units{hint}; its "
        f"numeric columns are {numeric}",
        fix="pass weight= one of these columns, or weight=None to count every unit 1",
    )


def compare_alignments(
    study: Any,
    alignments: Sequence[Alignment],
    measures: Sequence[str] | str = ("workload", "sales", "accounts"),
    *,
    baseline: Alignment | None = None,
    weight: str | None = DEFAULT_WEIGHT,
    adjacency: Any = None,
) -> pd.DataFrame:
    """Side-by-side key figures of several alignments of one study.

    Parameters
    ----------
    study
        The study the alignments belong to.
    alignments
        The alignments to compare (their names label the rows; names must be
        unique).
    measures
        Unit columns whose balance is compared (one name: one measure).
    baseline
        Alignment that disruption is measured against (default: the first).
    weight
        Activity weighting compactness and travel (``None``: every unit 1).
        The default ``"workload"`` is skipped (every unit 1) where the units
        have no such column; a name you give must be a unit column.
    adjacency
        The unit graph contiguity is counted on: the one the alignments were
        made on, e.g. ``tk.data.geo.adjacency(units, snap_m=500)`` when the
        design snapped gaps between units (default: the graph of the units'
        geometry as they touch).

    Returns
    -------
    pandas.DataFrame
        One row per alignment (index ``alignment``): ``territories``,
        ``<measure>_max_dev`` and ``<measure>_cv`` per measure,
        ``moment_of_inertia`` (Σ over territories, weight × km²),
        ``polsby_popper_mean``, ``noncontiguous`` (territories in more than
        one piece), ``travel_to_center_km`` (mean over territories of the
        weighted distance to the rep's home), ``units_moved``,
        ``accounts_moved_share`` and ``sales_moved_share`` against the
        baseline.

    Raises
    ------
    DataValidationError
        For an empty list or two alignments with the same name, or a
        ``weight`` (other than the default) that is not a unit column.

    Notes
    -----
    Every figure comes from :mod:`terrakit.metrics` (``balance``,
    ``compactness``, ``contiguity``, ``territory_kpis``, ``disruption``);
    see there for the formulas.
    """
    from terrakit import metrics
    from terrakit.data import geo

    als = list(alignments)
    if not als:
        raise DataValidationError(
            "alignments", None, "nothing to compare", fix="pass one alignment or more"
        )
    names = [a.name for a in als]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataValidationError(
            "alignments",
            "name",
            f"alignment names must be unique to label the comparison, {dup} repeat",
            rows=dup,
            fix="rename them with alignment.rename('...')",
        )
    base = als[0] if baseline is None else baseline
    units = study.unit_measures() if hasattr(study, "unit_measures") else study
    # one name is one measure (list("sales") would be its letters)
    measure_names = [measures] if isinstance(measures, str) else list(measures)
    w = _weight(units, weight)
    adj: Any = adjacency
    if adj is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TerrakitWarning)
                adj = geo.adjacency(study.units)
        except Exception:  # pragma: no cover - odd geometries: no contiguity
            adj = None
    rows: dict[str, dict[str, float]] = {}
    for al in als:
        row: dict[str, float] = {"territories": float(al.n_territories)}
        bal = metrics.balance(study, al, measures=measure_names)
        for m in measure_names:
            row[f"{m}_max_dev"] = float(bal.loc[m, "max_rel_dev"])
            row[f"{m}_cv"] = float(bal.loc[m, "cv"])
        comp = metrics.compactness(study, al, weight=w)
        row["moment_of_inertia"] = float(comp["moment_of_inertia"].sum())
        row["polsby_popper_mean"] = float(comp["polsby_popper"].mean())
        if adj is not None:
            pieces = metrics.contiguity(study, al, adj)
            row["noncontiguous"] = float((pieces > 1).sum())
        else:
            row["noncontiguous"] = float("nan")
        kpis = metrics.territory_kpis(study, al, weight=w)
        row["travel_to_center_km"] = float(kpis["travel_to_center_km"].mean())
        dis = metrics.disruption(study, base, al)
        row["units_moved"] = float(dis.get("units_moved", np.nan))
        row["accounts_moved_share"] = float(dis.get("accounts_moved_share", np.nan))
        row["sales_moved_share"] = float(dis.get("sales_moved_share", np.nan))
        rows[al.name] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "alignment"
    out["territories"] = out["territories"].astype(np.int64)
    out["units_moved"] = out["units_moved"].astype(np.int64)
    if out["noncontiguous"].notna().all():  # NaN only where contiguity is unknown
        out["noncontiguous"] = out["noncontiguous"].astype(np.int64)
    return out


def unit_assignments(
    study: Any, alignments: Sequence[Alignment], primary: Alignment | None = None
) -> pd.DataFrame:
    """Territory of every unit under each alignment, with the primary's rep.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit_id``, ``name``/``state`` where the units have them,
        one ``territory_<alignment>`` column per alignment, then
        ``territory_id``, ``rep_id`` and ``rep_name`` of the ``primary``
        alignment (default: the last one).  An alignment whose column would
        take one of these names (an alignment named ``"id"``) gets
        ``territory_<alignment>_alignment`` instead, with a warning.

    Warns
    -----
    TerrakitWarning
        When an alignment's column is renamed so as not to clash.
    """
    als = list(alignments)
    prim = als[-1] if primary is None else primary
    units = study.units
    out = pd.DataFrame({"unit_id": units.index.astype(str)}, index=units.index)
    for col in ("name", "state", "region"):
        if col in units.columns:
            out[col] = units[col].to_numpy()
    primary_cols = ("territory_id", "rep_id", "rep_name")
    planned = [f"territory_{al.name}" for al in als]
    taken = set(out.columns) | set(primary_cols)
    for al, col in zip(als, planned, strict=True):
        if col in taken:
            base = new = f"{col}_alignment"
            k = 2
            while new in taken or new in planned:
                new, k = f"{base}_{k}", k + 1
            warnings.warn(
                f"unit assignments: the column of alignment {al.name!r} would be "
                f"{col!r}, which the table uses for the primary alignment "
                f"{prim.name!r}; it is named {new!r} instead (rename the "
                "alignment with alignment.rename('...') to choose another)",
                TerrakitWarning,
                stacklevel=2,
            )
            col = new
        taken.add(col)
        out[col] = al.assignment.reindex(units.index).to_numpy()
    terr = prim.assignment.reindex(units.index)
    rep_id, rep_name = _rep_names(study, terr)
    out["territory_id"] = terr.to_numpy()
    out["rep_id"] = rep_id.to_numpy()
    out["rep_name"] = rep_name.to_numpy()
    return out.reset_index(drop=True)


def account_assignments(
    study: Any, alignment: Alignment, *, previous: Alignment | None = None
) -> pd.DataFrame:
    """One row per account with its new territory and owner, ready for a CRM.

    Parameters
    ----------
    study
        A study with accounts joined to units.
    alignment
        The alignment to roll out.
    previous
        Today's alignment; adds ``previous_territory_id`` and ``changed``.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``unit_id``, ``segment`` (where present),
        ``territory_id``, ``rep_id``, ``rep_name``, ``current_rep_id`` (the
        accounts' ``rep_id`` column, where present), ``previous_territory_id``
        and ``changed`` (with ``previous``); ``changed`` is true where the new
        owner differs from the current owner (or, without owners, where the
        territory changes); an account without an owner before and after
        (a vacant territory that stays vacant) has not changed.  The new owner
        is the territory's rep; without a reps table, or when no territory
        of ``alignment`` is a rep's id, it is unknown, and an account whose
        territory is a current owner's id is judged against that owner, any
        other by its territory (``previous``); where neither tells,
        ``changed`` is missing (a nullable ``boolean`` column), never a
        guess.

    Raises
    ------
    DataValidationError
        When the study has no accounts joined to units.
    """
    acc = study.accounts
    if acc is None or "unit_id" not in acc.columns:
        raise DataValidationError(
            "accounts",
            "unit_id",
            "the study has no accounts joined to units, so there is nothing to assign",
            fix="load accounts with a unit_id column (or lon/lat and units=...)",
        )
    terr = alignment.assignment.reindex(acc["unit_id"].to_numpy())
    terr.index = acc.index
    rep_id, rep_name = _rep_names(study, terr)
    out = pd.DataFrame(
        {"account_id": acc.index.astype(str), "unit_id": acc["unit_id"].astype(str)},
        index=acc.index,
    )
    if "segment" in acc.columns:
        out["segment"] = acc["segment"].to_numpy()
    out["territory_id"] = terr.to_numpy()
    out["rep_id"] = rep_id.to_numpy()
    out["rep_name"] = rep_name.to_numpy()
    cur = acc["rep_id"].astype(object) if "rep_id" in acc.columns else None
    if cur is not None:
        out["current_rep_id"] = cur.to_numpy()
    prev = None
    if previous is not None:
        prev = previous.assignment.reindex(acc["unit_id"].to_numpy())
        prev.index = acc.index
        out["previous_territory_id"] = prev.to_numpy()
    changed = _changed(study, terr, rep_id, cur, prev)
    if changed is not None:
        out["changed"] = changed.array
    return out.reset_index(drop=True)


def _changed(
    study: Any,
    terr: pd.Series,
    rep_id: pd.Series,
    cur: pd.Series | None,
    prev: pd.Series | None,
) -> pd.Series | None:
    """Whether each account changes hands (``None``: no owners, no previous).

    With a reps table that knows some territory of the alignment, the new
    owner is the territory's rep (none for a territory without one: a vacant
    territory) and is compared with the current owner.  Otherwise the new
    owner is unknown (territory ids that are no rep ids: ``T1`` beside rep
    ``R01``, or no reps table at all), and comparing the current owners with
    nothing would call every account changed: an account whose territory is
    a current owner's id (``R01``, the usual convention) is compared with
    that owner, any other has changed where its territory has
    (``previous``), and is missing where nothing tells.  The result is a
    ``bool`` column, or a nullable ``boolean`` one when some are missing.
    """
    if cur is None:
        return None if prev is None else _differs(prev, terr)
    reps = study.reps
    if reps is not None and rep_id.notna().any():
        return _differs(cur, rep_id)
    # the new owners are unknown: a territory named like a current owner is
    # that owner's (as rep_of_territories matches '7' to 7)
    owners = pd.Index(pd.unique(cur.dropna()))
    new = rep_of_territories(terr, owners)
    known = new.notna() | (terr.isna() & cur.isna())
    changed = pd.Series(pd.NA, index=terr.index, dtype="boolean")
    changed[known] = _differs(cur[known], new[known]).to_numpy(dtype=bool)
    if prev is not None:
        rest = ~known
        changed[rest] = _differs(prev[rest], terr[rest]).to_numpy(dtype=bool)
    return changed.astype(bool) if changed.notna().all() else changed

"""Disruption-aware rebalance: restore balance while moving as little as possible.

:func:`rebalance` turns the current alignment, the study's reps (some may have
left, some may be new) and balance bands into a
:class:`~terrakit.design.problem.DesignProblem` whose cost is the business
that changes hands, proves a lower bound on the disruption with the LP
relaxation over every unit–rep pair (no contiguity; with contiguity, on small
instances, raised by the MIP over every pair, in which each rep keeps its
root unit), and solves it with a
least-disruption local search (an LP-planned transport of load along the
territory graph — without contiguity a complete one, every unit free to join
every rep — band repair and improvement, then kicks:
:mod:`terrakit.realign._search`) followed, on small instances, by the exact
MIP warm-started with the search's answer.  Disruption comes first: the
compactness tie-break only orders plans that move as much.  The whole call
respects ``time_limit``.
"""

from __future__ import annotations

import math
import re
import time
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from terrakit._runargs import as_number, is_tolerance, whole_number
from terrakit._runargs import shown as _shown
from terrakit.data.alignment import Alignment, make_provenance
from terrakit.data.validation import first_few
from terrakit.design.align import _check_contiguity, _check_run
from terrakit.design.problem import DesignProblem
from terrakit.design.result import AlignmentResult, Status, relative_gap
from terrakit.exceptions import (
    InfeasibleError,
    SpecificationError,
    TerrakitWarning,
    TimeLimitWarning,
)
from terrakit.realign.diff import AlignmentDiff, _as_alignment, diff_alignments
from terrakit.realign.diff import unit_labels as _unit_labels

__all__ = ["RebalanceResult", "rebalance"]

Solver = Literal["auto", "mip", "heuristic"]

#: ``solver="auto"`` uses the MIP while the candidate (unit, rep) pairs are at
#: most this many, the heuristic beyond.
AUTO_MIP_MAX_PAIRS = 150_000

#: Up to this many unit–rep pairs the MIP runs on all of them at once (no
#: candidate neighbourhood), so its bound is a bound on the full problem.
FULL_PAIRS = 5_000

#: Without contiguity the MIP is a generalised assignment problem that HiGHS
#: solves quickly: up to this many unit–rep pairs it runs on all of them at
#: once.  (Sample study, 259 units × 20 reps = 5,180 pairs, ±20 % workload:
#: optimal, 1.87 % of sales moved, in ~5 s; the candidates within 2 and 4
#: steps stopped at 3.38 %.)
FREE_FULL_PAIRS = 20_000

#: A MIP proved optimal on the candidate pairs is widened to more pairs while
#: time is left and it moves more than this share above the lower bound.
WIDEN_GAP = 0.01


#: The words of a proof or bound that holds only for the plans in which each
#: rep keeps its root unit (contiguity); tk.plot.disruption_front reads them
#: to claim no more than that.
ROOTED_PROOF = "each rep keeping its root unit"


def _pct(x: float) -> str:
    return f"{100 * x:.3g} %"


# -- the result --------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RebalanceResult:
    """What :func:`rebalance` returns.

    Parameters
    ----------
    alignment
        The rebalanced :class:`~terrakit.data.Alignment` (territory ids = rep
        ids).
    current
        The alignment it started from.
    status
        ``"optimal"`` (the disruption meets the proven lower bound within
        ``1e-4``; with contiguity that bound may hold each rep's root unit,
        see ``lower_bound``), ``"feasible"`` (every constraint met, a gap
        remains), ``"time_limit"`` (best answer when time ran out) or
        ``"infeasible"`` (the heuristic found no alignment meeting every
        constraint; the closest one is returned and ``info["violations"]``
        says what is broken).
    moved
        Total ``moved_measure`` of the units that change territory.
    moved_share
        ``moved`` as a share of the measure's total over the units that had
        a territory in ``current`` (``info["moved_total"]``; new units are
        placed, not moved), as :func:`~terrakit.realign.diff_alignments`
        measures it.
    lower_bound
        A proven lower bound on ``moved``: the larger of (a) the LP
        relaxation over every unit–rep pair, without contiguity, with the
        locks but every unit free to leave (root units included), which
        bounds every alignment that meets the bands and the locks, and
        (b) on instances small enough for the MIP over every pair, that
        MIP's bound (``"mip (all pairs)"``); with contiguity, every
        territory is contiguous in it and each rep keeps its root unit (its
        home unit, or the unit of its current territory nearest its home;
        ``info["roots"]``), so it bounds only the alignments that keep every
        root.  ``info["bound"]`` names the one reported.  With status
        ``"infeasible"`` it is the bound on the plans that meet every
        constraint, and may exceed ``moved`` of the closest plan returned,
        which breaks some.
    gap
        ``(moved − lower_bound) / moved`` (0 when nothing moves; NaN for an
        ``"infeasible"`` plan that moves less than the bound).
    moved_measure
        What disruption counts: ``"sales"``, ``"accounts"``, ``"workload"``,
        ``"units"`` or another unit column.
    max_moved
        The cap on ``moved_share`` (``None``: no cap).
    tolerance
        The balance bands ``{activity: τ}``.
    balance_before, balance_after
        :func:`terrakit.metrics.balance` tables (index ``measure``) of the
        current and the new alignment.  When the current alignment leaves
        units without a territory (new units, placed by the plan and counted
        as newly assigned, not moved), ``balance_before`` is over the units
        it assigns and ``info["unassigned_before"]`` counts the others.
    territories
        Per rep: ``role`` (``kept``/``new``/``removed``), the unit counts
        ``units_before`` / ``units_after`` and every balanced activity
        ``<a>_before`` and ``<a>`` (after), the band and ``<a>_dev`` (after).
        When a balanced measure is named ``"units"`` its columns keep that
        pattern and the unit counts are ``n_units_before`` / ``n_units_after``.
    locked
        ``{unit_id: reason}`` of every lock honoured (user locks and
        ``keep_top_accounts`` continuity).
    method
        The engine path (``"mip/highs"``, ``"heuristic"``...).
    seconds
        Wall time.
    provenance
        :func:`~terrakit.data.alignment.make_provenance` record.
    info
        Solver facts: candidate rounds, pairs, ``bound`` (which bound
        ``lower_bound`` is), ``roots`` (with contiguity: ``{rep_id:
        unit_id}``, the unit each territory keeps), ``moved_total`` (the
        denominator of ``moved_share``), ``unassigned_before`` (units the
        current alignment left without a territory, when any)...
    study
        The study (kept for :meth:`diff`; not compared, not shown).
    """

    alignment: Alignment
    current: Alignment
    status: Status
    moved: float
    moved_share: float
    lower_bound: float
    gap: float
    moved_measure: str
    max_moved: float | None
    tolerance: Mapping[str, float]
    balance_before: pd.DataFrame
    balance_after: pd.DataFrame
    territories: pd.DataFrame
    locked: Mapping[Hashable, str]
    method: str
    seconds: float
    provenance: Mapping[str, Any] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)
    study: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.status not in ("optimal", "feasible", "time_limit", "infeasible"):
            raise ValueError(f"unknown status {self.status!r}")
        if not isinstance(self.alignment, Alignment):
            raise TypeError("alignment must be an Alignment")
        lb, mv = float(self.lower_bound), float(self.moved)
        # the closest plan of an "infeasible" result breaks a constraint: it
        # may move less than the bound on the plans that meet them all
        if (
            self.status != "infeasible"
            and math.isfinite(lb)
            and lb > mv + 1e-6 * max(1.0, abs(mv))
        ):
            raise ValueError(f"lower bound {lb} above the disruption {mv}")
        for name in ("moved", "moved_share", "lower_bound", "gap", "seconds"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "tolerance", MappingProxyType(dict(self.tolerance)))
        object.__setattr__(self, "locked", MappingProxyType(dict(self.locked)))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    # -- views ----------------------------------------------------------------
    @property
    def max_deviation_before(self) -> float:
        """Largest ``max_rel_dev`` of the balanced activities, current alignment."""
        rows = [a for a in self.tolerance if a in self.balance_before.index]
        return float(self.balance_before.loc[rows, "max_rel_dev"].max())

    @property
    def max_deviation(self) -> float:
        """Largest ``max_rel_dev`` of the balanced activities, new alignment."""
        rows = [a for a in self.tolerance if a in self.balance_after.index]
        return float(self.balance_after.loc[rows, "max_rel_dev"].max())

    @property
    def lower_bound_share(self) -> float:
        """``lower_bound`` as a share of the measure's total (that of
        ``moved_share``)."""
        total = self.info.get("moved_total")
        if total is not None and math.isfinite(self.lower_bound):
            return self.lower_bound / total if total > 0 else 0.0
        if self.moved == 0 or self.moved_share == 0:
            return 0.0 if self.lower_bound <= 0 else math.nan
        return self.lower_bound * self.moved_share / self.moved

    def is_feasible(self) -> bool:
        """Whether every constraint is met."""
        return self.status != "infeasible"

    def diff(self, measures: Sequence[str] | None = None) -> AlignmentDiff:
        """Units / accounts / sales / workload moved and per-rep gains and losses."""
        if self.study is None:
            raise ValueError("this result has no study attached; use diff_alignments")
        return diff_alignments(
            self.study, self.current, self.alignment, measures=measures
        )

    def summary(self) -> str:
        """Rounded, stable text (no timings)."""
        cap = "none" if self.max_moved is None else _pct(self.max_moved)
        bands = ", ".join(f"{a} ±{_pct(t)}" for a, t in self.tolerance.items())
        lb = (
            f"{self.lower_bound:.6g} ({100 * self.lower_bound_share:.2f} %)"
            if math.isfinite(self.lower_bound)
            else "none"
        )
        gap = f"{100 * self.gap:.2f} %" if math.isfinite(self.gap) else "unknown"
        lines = [
            f"RebalanceResult ({self.method}): {self.status}",
            f"  balance: {bands}",
            f"  {self.moved_measure} moved: {self.moved:.6g} "
            f"({100 * self.moved_share:.2f} %, cap {cap})",
            f"  lower bound: {lb}   gap: {gap}",
            *self._roots_note(),
            f"  max deviation: {100 * self.max_deviation_before:.2f} % before, "
            f"{100 * self.max_deviation:.2f} % after{self._before_note()}",
            f"  units moved: {self.info.get('units_moved', 0)} of "
            f"{len(self.alignment)}   locks honoured: {len(self.locked)}",
        ]
        t = self.territories.copy()
        num = t.select_dtypes("number").columns
        t[num] = t[num].round(4)
        lines.append(t.to_string())
        return "\n".join(lines)

    def _roots_note(self) -> list[str]:
        """With contiguity, the line saying that the plan (and the MIP's bound,
        when it is the one reported) keeps each rep's root unit; else none."""
        roots = self.info.get("roots")
        if not roots:
            return []
        if str(self.info.get("bound", "")).startswith("mip"):
            return [
                "  bound and gap: over plans in which every rep keeps its root "
                "(home) unit, info['roots']"
            ]
        return [
            "  plan: every rep keeps its root (home) unit, info['roots']; the "
            "bound holds for every plan"
        ]

    def _before_note(self) -> str:
        """`` (before: over 8 of 12 units; 4 new units unassigned)`` when the
        current alignment left units without a territory, else ``""``."""
        new = int(self.info.get("unassigned_before", 0))
        if not new:
            return ""
        n = len(self.alignment)
        return (
            f" (before: over {n - new} of {n} units; {new} new unit"
            f"{'s' if new != 1 else ''} unassigned)"
        )

    def __str__(self) -> str:
        return f"{self.summary()}\n  solved in {self.seconds:.2f} s"

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: ``current``, ``territory_id``, ``moved``."""
        cur = self.current.assignment.reindex(self.alignment.assignment.index)
        new = self.alignment.assignment
        return pd.DataFrame(
            {
                "current": cur,
                "territory_id": new,
                "moved": cur.notna().to_numpy() & (cur.to_numpy() != new.to_numpy()),
            }
        )


# -- setup: everything that does not depend on the tolerance -----------------------
@dataclass
class _Setup:
    study: Any
    current: Alignment
    problem: DesignProblem  # tie-break cost, contiguity, locks; no budget
    disruption: np.ndarray  # (n, k) pure moved measure
    measure: np.ndarray  # (n,)
    # the measure over the units with a current territory: the denominator
    # of moved_share and of the max_moved cap, as in diff_alignments (new
    # units are placed, not moved)
    total: float
    cur_col: np.ndarray  # (n,) rep column, -1 unassigned, -2 removed rep
    hops: np.ndarray  # (n, k) hop distance to each rep's current units
    roles: dict[Hashable, str]
    removed: list[Hashable]
    lock_reasons: dict[Hashable, str]
    moved_measure: str
    targets: Any
    config: dict[str, Any]

    def share(self, x: float) -> float:
        """``x`` as a share of :attr:`total` (0 when the units with a current
        territory carry none of the measure: then nothing can move)."""
        return x / self.total if self.total > 0 else 0.0


def _adjacency_matrix(units: Any, adjacency: Any) -> sp.csr_matrix:
    """The 0/1 unit graph of rebalance: built from the units (``None``), an
    :class:`~terrakit.data.geo.Adjacency` over the same units, or a square
    matrix in the units' order; anything else, a matrix of another size, one
    that holds no numbers or lists a pair of units as neighbours one way only
    is a :class:`SpecificationError` naming what came and the fix."""
    from terrakit.data import geo

    if adjacency is None:
        adj = geo.adjacency(units, warn=False)
        return sp.csr_matrix(adj.matrix, dtype=float)
    if isinstance(adjacency, geo.Adjacency):
        on = adjacency.on_units(
            units.index,
            name="the study",
            fix="build it from the study's units "
            "(terrakit.data.geo.adjacency(study.units))",
        )
        return sp.csr_matrix(on.matrix, dtype=float)
    if not (
        sp.issparse(adjacency)
        or (isinstance(adjacency, np.ndarray) and adjacency.ndim == 2)
    ):
        geo.require_adjacency(
            adjacency,
            over="the study's units (or a square matrix in their order)",
            build="terrakit.data.geo.adjacency(study.units)",
        )
    n = len(units)
    if adjacency.shape != (n, n):
        raise SpecificationError(
            f"adjacency must be {n} × {n} (one row and column per unit, in the "
            f"order of study.units), got {adjacency.shape}; build it with "
            "terrakit.data.geo.adjacency(study.units)"
        )
    if adjacency.dtype.kind not in "biuf":
        raise SpecificationError(
            f"adjacency must hold numbers (1 where two units are neighbours, 0 "
            f"where not), got dtype {adjacency.dtype}; build it with "
            "terrakit.data.geo.adjacency(study.units)"
        )
    # every non-zero entry is an edge (weights do not matter here): the
    # Adjacency's own checks (finite entries, both ways) name what is wrong
    try:
        adj = geo.Adjacency(units.index, adjacency, kind="given")
    except ValueError as err:
        raise SpecificationError(
            f"adjacency: {err}, or build it with "
            "terrakit.data.geo.adjacency(study.units)"
        ) from None
    return sp.csr_matrix(adj.matrix, dtype=float)


def _measure_values(units: pd.DataFrame, name: str) -> np.ndarray:
    if name == "units":
        return np.ones(len(units))
    if name not in units.columns or not pd.api.types.is_numeric_dtype(units[name]):
        raise SpecificationError(
            f"moved_measure={name!r} is not a numeric column of the units; use "
            f"one of {['units', *units.select_dtypes('number').columns]}"
        )
    v = units[name].to_numpy(dtype=float)
    bad = ~np.isfinite(v) | (v < 0)
    if bad.any():
        ids = list(units.index[bad][:5])
        raise SpecificationError(
            f"moved_measure {name!r} has {int(bad.sum())} missing or negative values "
            f"(units {ids}); fill them before rebalancing"
        )
    return v


#: How :func:`_setup` marks the reasons of the ``keep_top_accounts`` locks
#: (:func:`_check_problem` tells them from the caller's).
_CONTINUITY = "continuity: "


def _continuity_locks(
    study: Any,
    units: pd.DataFrame,
    cur: pd.Series,
    reps: Sequence[Hashable],
    top: int,
) -> dict[Hashable, tuple[Hashable, str]]:
    """Units holding each rep's top-``top`` accounts (by annual sales), locked."""
    acc = study.accounts
    if acc is None or "annual_sales" not in acc.columns or "unit_id" not in acc:
        raise SpecificationError(
            f"keep_top_accounts={top} needs an accounts table with unit_id and "
            "annual_sales; the study has none"
        )
    a = acc[["unit_id", "annual_sales"]].copy()
    a["owner"] = cur.reindex(a["unit_id"]).to_numpy()
    out: dict[Hashable, tuple[Hashable, str]] = {}
    for r in reps:
        mine = a[a["owner"] == r]
        if mine.empty:
            continue
        best = mine.sort_values("annual_sales", ascending=False, kind="stable")
        best = best.iloc[:top]
        for rank, (aid, row) in enumerate(best.iterrows(), start=1):
            uid = row["unit_id"]
            reason = f"keeps account {aid!r} (#{rank} of {r!r} by annual sales)"
            if uid in out:
                out[uid] = (r, f"{out[uid][1]}; {reason}")
            else:
                out[uid] = (r, reason)
    return out


def _lock_specs(
    locked: Any, unit_ids: pd.Index
) -> dict[Hashable, tuple[Hashable, Any]]:
    """``locked`` as ``{unit_id: (rep_id, reason)}``; shape and unit ids checked."""
    if locked is None:
        return {}
    if isinstance(locked, pd.Series):
        locked = locked.to_dict()
    if not isinstance(locked, Mapping):
        raise SpecificationError(
            f"locked must map unit ids to reps ({{unit_id: rep_id}} or "
            f"{{unit_id: (rep_id, reason)}}), got a {type(locked).__name__}: "
            f"{locked!r:.80}"
        )
    out: dict[Hashable, tuple[Hashable, Any]] = {}
    for uid, spec in locked.items():
        # a pair read from JSON or YAML is a list
        if isinstance(spec, (tuple, list)):
            if len(spec) != 2:
                raise SpecificationError(
                    f"locked[{uid!r}] = {spec!r}: give a rep id or a pair "
                    "(rep_id, reason)"
                )
            rep, reason = spec[0], spec[1]
        else:
            rep, reason = spec, "locked"
        try:
            hash(rep)
        except TypeError:
            raise SpecificationError(
                f"locked[{uid!r}] = {spec!r}: the rep id {rep!r} is a "
                f"{type(rep).__name__}, not an id; give a rep id or a pair "
                f"(rep_id, reason), e.g. {{{uid!r}: (rep_id, 'key account')}}"
            ) from None
        out[uid] = (rep, reason)
    unknown = [u for u in out if u not in unit_ids]
    if unknown:
        shown = first_few(unknown)
        what = (
            f"locked unit {shown} is"
            if len(unknown) == 1
            else f"{len(unknown)} locked units ({shown}) are"
        )
        raise SpecificationError(
            f"{what} not among the units (the study has {len(unit_ids)} units, "
            f"ids like {unit_ids[0]!r}); check the ids and their type: '13121' "
            "is not 13121"
        )
    return out


def _setup(
    study: Any,
    current: Alignment | str | None,
    *,
    balance: Mapping[str, float],
    moved_measure: str,
    keep_top_accounts: int,
    locked: Mapping[Hashable, Any] | None,
    targets: Any,
    contiguity: bool,
    adjacency: Any,
    tie_break: float,
) -> _Setup:
    from terrakit.data import geo
    from terrakit.design.align import build_problem

    if getattr(study, "reps", None) is None or len(study.reps) == 0:
        raise SpecificationError(
            "rebalance needs the study's reps (one territory per rep); the study "
            "has none"
        )
    if current is None:
        if "current" not in study.alignments:
            raise SpecificationError(
                "no current alignment given and the study has none named "
                f"'current' (it has {sorted(study.alignments)})"
            )
        current = "current"
    cur_al = _as_alignment(study, current, "current")
    units = study.unit_measures() if study.accounts is not None else study.units
    reps = study.reps
    rep_ids: list[Hashable] = list(reps.index)
    cur = _unit_labels(units.index, cur_al, "current")
    if cur_al.assignment.index.dtype != units.index.dtype:
        # unit ids read as numbers on one side and as text on the other:
        # carry on with the study's ids
        cur_al = Alignment(cur.dropna(), name=cur_al.name, provenance=cur_al.provenance)
    cur_terr = list(dict.fromkeys(cur.dropna().tolist()))
    removed = [t for t in cur_terr if t not in set(rep_ids)]
    if cur_terr and len(removed) == len(cur_terr):
        # every territory would count as a departed rep's: 100 % moved
        same_text = {str(r) for r in rep_ids} & {str(t) for t in cur_terr}
        why = (
            " (they match as text: the ids are numbers on one side and text on "
            "the other)"
            if same_text
            else ""
        )
        raise SpecificationError(
            f"none of the current alignment's territories {cur_terr[:5]}"
            f"{' ...' if len(cur_terr) > 5 else ''} is a rep of the study "
            f"({rep_ids[:5]}{' ...' if len(rep_ids) > 5 else ''}){why}; rebalance "
            "keeps each rep's territory, so every unit would move. Fix: name the "
            "territories by the rep who holds them, e.g. Alignment("
            "current.assignment.map({territory: rep_id, ...}), name='current')"
        )
    roles = {r: ("kept" if r in set(cur_terr) else "new") for r in rep_ids}
    for t in removed:
        roles[t] = "removed"
    meas = _measure_values(units, moved_measure)
    total = float(meas.sum())
    if total <= 0:
        raise SpecificationError(
            f"moved_measure {moved_measure!r} totals 0 over the units; choose a "
            "measure that the units carry (e.g. 'units')"
        )
    whole = (
        isinstance(keep_top_accounts, int | float | np.integer | np.floating)
        and not isinstance(keep_top_accounts, bool)
        and float(keep_top_accounts).is_integer()
    )
    if not whole or keep_top_accounts < 0:
        raise SpecificationError(
            f"keep_top_accounts must be a whole number ≥ 0 (accounts each rep "
            f"keeps), got {keep_top_accounts!r}"
        )
    keep_top_accounts = int(keep_top_accounts)
    tie = as_number(tie_break)
    if not (math.isfinite(tie) and tie >= 0):
        raise SpecificationError(
            f"tie_break must be a number ≥ 0 (weight of the compactness "
            f"tie-break; default 1e-3), got {tie_break!r}"
        )
    # -- locks: user locks, then continuity -------------------------------------
    user: dict[Hashable, tuple[Hashable, str]] = {}
    for uid, (terr, reason) in _lock_specs(locked, units.index).items():
        if terr not in set(rep_ids):
            what = "a removed rep" if terr in removed else "not a rep of the study"
            raise SpecificationError(
                f"unit {uid!r} is locked to {terr!r}, which is {what}; lock it to "
                f"one of the study's reps ({rep_ids[:5]}...)"
            )
        user[uid] = (terr, str(reason))
    allk: dict[Hashable, tuple[Hashable, str]] = dict(user)
    if keep_top_accounts:
        cont = _continuity_locks(study, units, cur, rep_ids, int(keep_top_accounts))
        for uid, (r, reason) in cont.items():
            if uid in user and user[uid][0] != r:
                raise SpecificationError(
                    f"unit {uid!r} is locked to {user[uid][0]!r} ({user[uid][1]}) but "
                    f"it {reason.split(' (')[0][6:]}, one of {r!r}'s top "
                    f"{keep_top_accounts} accounts that keep_top_accounts="
                    f"{keep_top_accounts} keeps with {r!r}; drop that lock or "
                    "lower keep_top_accounts"
                )
            if uid not in user:
                allk[uid] = (r, f"{_CONTINUITY}{reason}")
    # -- the base problem: bands, centers, locks (geo path of the design engine) --
    base = build_problem(
        units,
        reps,
        balance=balance,
        targets=targets,
        contiguity=False,
        objective="compactness",
        locked=allk,
    )
    n, k = base.n_units, base.n_territories
    if targets is not None:
        # by rep id, whatever form they came in (the results measure with them)
        targets = dict(zip(rep_ids, base.shares.tolist(), strict=True))
    col_of = {r: j for j, r in enumerate(rep_ids)}
    cur_col = np.full(n, -1, dtype=np.int64)
    curv = cur.to_numpy(dtype=object)
    for i, t in enumerate(curv):
        if isinstance(t, float) and math.isnan(t):
            continue
        cur_col[i] = col_of.get(t, -2)
    # disruption: the measure of a unit that leaves its rep (always for the
    # units of removed reps, never for units without a current territory)
    disruption = np.repeat(meas[:, None], k, axis=1)
    own = cur_col >= 0
    disruption[np.flatnonzero(own), cur_col[own]] = 0.0
    disruption[cur_col == -1, :] = 0.0
    # shares of the measure are over the units that had a territory
    had_total = float(meas[cur_col != -1].sum())
    # tie-break: squared km to the rep's home, scaled so that moving an average
    # unit a typical distance costs `tie_break` × its measure
    lon, lat = geo.lonlat(units)
    hp = reps[["home_lon", "home_lat"]].to_numpy(dtype=float)
    km2 = geo.haversine_matrix(lon, lat, hp[:, 0], hp[:, 1]) ** 2
    ref = km2[np.flatnonzero(own), cur_col[own]] if own.any() else km2.min(axis=1)
    ref2 = float(np.median(ref)) if ref.size else 1.0
    ref2 = ref2 if ref2 > 0 else float(km2.mean()) or 1.0
    tie_cost = tie * (total / n) * km2 / ref2
    # staying costs nothing: the tie-break orders the moves that balance
    # needs, and never makes one (a unit of zero measure is not moved just
    # because another rep's home is closer)
    tie_cost[np.flatnonzero(own), cur_col[own]] = 0.0
    cost = disruption + tie_cost
    # -- adjacency, hop distances, roots -----------------------------------------
    adj = (
        _adjacency_matrix(units, adjacency)
        if contiguity
        or (adjacency is not None and not isinstance(adjacency, geo.Adjacency))
        else None
    )
    if not contiguity:
        adj = None  # checked, not used: without contiguity there is no graph
    graph = adj
    hops = np.zeros((n, k))
    if graph is not None:
        g = sp.csr_matrix((graph > 0).astype(float))
        for j in range(k):
            src = np.flatnonzero(cur_col == j)
            if src.size:
                hops[:, j] = dijkstra(
                    g, directed=False, indices=src, unweighted=True, min_only=True
                )
            else:
                hops[:, j] = np.inf
    else:
        # without a graph: rank of the distance to the rep's home, in units
        hops[:] = np.argsort(np.argsort(km2, axis=0), axis=0) / max(1, n // k)
        for j in range(k):
            hops[cur_col == j, j] = 0.0
    locked_cols = dict(base.locked)
    center_units = np.asarray(base.center_units).copy()
    taken: set[int] = set()
    # kept reps first (their roots lie in their own territory), then new hires
    order_j = sorted(range(k), key=lambda j: not (cur_col == j).any())
    for j in order_j:
        home = int(center_units[j])
        mine = np.flatnonzero(cur_col == j)
        ok = [i for i in mine.tolist() if locked_cols.get(i, j) == j]
        if ok:
            if home not in ok:
                home = ok[int(np.argmin(km2[ok, j]))]
        else:  # a new hire: its home unit, or the nearest free unit
            order = np.argsort(km2[:, j])
            for i in order.tolist():
                if locked_cols.get(i, j) == j and i not in taken:
                    home = i
                    break
            if graph is not None:
                hops[:, j] = dijkstra(
                    sp.csr_matrix((graph > 0).astype(float)),
                    directed=False,
                    indices=home,
                    unweighted=True,
                )
        center_units[j] = home
        taken.add(home)
    if len(taken) < k:
        raise SpecificationError(
            "two reps share the same root unit; give them different home units"
        )
    problem = base.replace(
        cost=cost,
        objective="travel",
        center_units=center_units,
        adjacency=adj,
        contiguity=bool(contiguity),
        name="rebalance",
    )
    lock_reasons = {units.index[i]: problem.lock_reasons[i] for i in locked_cols}
    config = {
        "balance": dict(balance),
        "moved_measure": moved_measure,
        "keep_top_accounts": int(keep_top_accounts),
        "contiguity": bool(contiguity),
        "tie_break": float(tie_break),
        "current": cur_al.name,
        # the shares by rep and the user's locks by unit (their reasons, and
        # the keep_top_accounts locks, are in the provenance's locked_reasons),
        # as design.align records them
        "targets": None
        if targets is None
        else {str(r): float(v) for r, v in targets.items()},
        "locked": {str(u): str(r) for u, (r, _why) in user.items()},
        "removed_reps": [str(t) for t in removed],
        "new_reps": [str(r) for r, v in roles.items() if v == "new"],
    }
    return _Setup(
        study=study,
        current=cur_al,
        problem=problem,
        disruption=disruption,
        measure=meas,
        total=had_total,
        cur_col=cur_col,
        hops=hops,
        roles=roles,
        removed=removed,
        lock_reasons=lock_reasons,
        moved_measure=moved_measure,
        targets=targets,
        config=config,
    )


# -- pre-solve checks ---------------------------------------------------------------
def _check_settings(
    time_limit: Any, seed: Any, solver: Any, backend: Any, hops: Any
) -> tuple[str, int]:
    """Check the run settings before any work; return the backend's name and
    ``hops`` as an ``int`` (a whole number ≥ 1: ``True``, ``1.5`` and text
    such as ``"2"`` are refused here, not met by the search as a bare
    ``TypeError``)."""
    if solver not in ("auto", "mip", "heuristic"):
        raise SpecificationError(
            f"solver must be 'auto', 'mip' or 'heuristic', got {solver!r}"
        )
    backend = _check_run(time_limit, seed, backend)
    steps = whole_number(hops)
    if steps is None or steps < 1:
        raise SpecificationError(
            f"hops must be at least 1, a whole number of adjacency steps a unit "
            f"may move from its rep's territory in the MIP, got {_shown(hops)}; "
            "e.g. hops=2 (the default)"
        )
    return backend, steps


def _balance_spec(balance: Any) -> dict[str, float]:
    """``balance`` as ``{activity: τ}`` with float tolerances in ``[0, 1)``
    (default ``{"workload": 0.05}``); a :class:`SpecificationError` otherwise."""
    if balance is None:
        return {"workload": 0.05}
    if not isinstance(balance, Mapping) or not balance:
        raise SpecificationError(
            f"balance must map activities to tolerances, e.g. "
            f"{{'workload': 0.05}}, got {balance!r}"
            + ("; rebalancing needs at least one band" if balance == {} else "")
        )
    # text that reads as a number (a config file, a widget) becomes the number
    # here, so the result holds floats; the rule is the design problem's
    for a, t in balance.items():
        if not is_tolerance(t):
            raise SpecificationError(
                f"tolerance for {a!r} must be a number in [0, 1) (0.05 is ±5 %), "
                f"got {t!r}"
            )
    return {str(a): as_number(t) for a, t in balance.items()}


def _balance_table(
    units: pd.DataFrame,
    alignment: Alignment,
    measures: Sequence[str],
    targets: Mapping[Hashable, float] | None,
) -> pd.DataFrame:
    """:func:`terrakit.metrics.balance` of ``measures``, where a unit column
    named ``"units"`` is that column, as the design problem balances it
    (``metrics.balance`` reads ``"units"`` as the unit count: the deviations
    reported were those of the counts)."""
    from terrakit.metrics import balance

    if "units" not in measures or "units" not in units.columns:
        return balance(units, alignment, list(measures), targets=targets)
    alias = "units (column)"
    while alias in units.columns:
        alias += "_"
    table = balance(
        units.rename(columns={"units": alias}),
        alignment,
        [alias if m == "units" else m for m in measures],
        targets=targets,
    )
    return table.rename(index={alias: "units"})


def _current_targets(setup: _Setup) -> dict[Hashable, float] | None:
    """The targets that measure the current plan: those of its territories,
    when every one of them has a target (a departed rep's territory has
    none; then equal shares)."""
    tg = setup.targets
    if tg is None:
        return None
    terr = list(dict.fromkeys(setup.current.assignment.tolist()))
    if not all(t in tg for t in terr):
        return None
    return {t: tg[t] for t in terr}


def _check_max_moved(max_moved: Any) -> float | None:
    """``max_moved`` as a share in [0, 1] (or None), before any work."""
    if max_moved is None:
        return None
    share = math.nan if isinstance(max_moved, bool) else as_number(max_moved)
    if not 0.0 <= share <= 1.0:
        raise SpecificationError(
            f"max_moved is a share of the total moved measure in [0, 1], got "
            f"{max_moved!r}" + ("; for 10 % write 0.10" if share > 1 else "")
        )
    return share


def _forced(setup: _Setup) -> tuple[float, float, int, float, int]:
    """Moved measure that no alignment can avoid: removed reps' units, locks
    away from the current rep, and (with contiguity) new hires' root units."""
    p = setup.problem
    orphan = setup.cur_col == -2
    orphan_m = float(setup.measure[orphan].sum())
    away = 0.0
    n_away = 0
    forced_cols = dict(p.locked)
    if p.contiguity and p.center_units is not None:
        for j, r in enumerate(np.asarray(p.center_units).tolist()):
            forced_cols.setdefault(int(r), j)
    for i, j in forced_cols.items():
        if setup.cur_col[i] >= 0 and setup.cur_col[i] != j:
            away += float(setup.measure[i])
            n_away += 1
    return orphan_m, away, int(orphan.sum()), orphan_m + away, n_away


def _check_cap(setup: _Setup, max_moved: float | None) -> None:
    if max_moved is None:
        return
    orphan_m, away, n_orphan, forced, n_away = _forced(setup)
    cap = max_moved * setup.total
    if forced <= cap * (1 + 1e-12):
        return
    parts = []
    if n_orphan:
        who = ", ".join(repr(t) for t in setup.removed)
        parts.append(
            f"the {n_orphan} units of removed "
            f"rep{'s' if len(setup.removed) > 1 else ''} {who} carry "
            f"{orphan_m:.6g} ({_pct(setup.share(orphan_m))}) and must all move"
        )
    if n_away:
        parts.append(
            f"{n_away} units locked away from their current rep (or hosting a new "
            f"rep's home) carry {away:.6g} ({_pct(setup.share(away))})"
        )
    raise SpecificationError(
        f"max_moved = {_pct(max_moved)} of {setup.moved_measure} "
        f"({cap:.6g}) is impossible: {'; '.join(parts)}; raise max_moved to at "
        f"least {_pct(setup.share(forced))} or unlock units"
    )


def _check_problem(setup: _Setup, problem: DesignProblem) -> None:
    """``problem.check()``, with an impossibility that the locks of
    ``keep_top_accounts`` cause explained as theirs.

    The design problem's check takes every lock for the user's and says
    "unlock some of them"; a caller who locked nothing cannot.  When the
    problem passes without the continuity locks, the message keeps the
    numbers, names those locks and ``keep_top_accounts`` as their source,
    and gives the fixes that apply: a smaller ``keep_top_accounts`` and,
    where a territory's root unit is part of it, moving the rep's home or
    ``contiguity=False``.
    """
    try:
        problem.check()
    except SpecificationError as err:
        text = str(err)
        cont = {i for i, r in problem.lock_reasons.items() if r.startswith(_CONTINUITY)}
        if not cont:
            raise
        mine = {i: j for i, j in problem.locked.items() if i not in cont}
        try:
            problem.replace(
                locked=mine,
                lock_reasons={i: problem.lock_reasons[i] for i in mine},
            ).check()
        except SpecificationError:
            # the user's locks alone are impossible
            raise SpecificationError(text) from None
        raise SpecificationError(_continuity_text(setup, problem, text, cont)) from None


def _continuity_text(
    setup: _Setup, problem: DesignProblem, text: str, cont: set[int]
) -> str:
    """The message of :func:`_check_problem`: ``text`` (the design problem's)
    without its fix, the ``keep_top_accounts`` locks it names, the fixes."""
    head, _sep, fix = text.rpartition("; ")
    if not head or "unlock" not in fix:
        head = text
    ids = np.asarray(problem.unit_ids, dtype=object)

    def rid(i: int) -> str:
        u = ids[i]
        return repr(u.item() if isinstance(u, np.generic) else u)

    def named(i: int) -> bool:
        return re.search(rf"(?<![\w.]){re.escape(rid(i))}(?![\w.])", head) is not None

    hit = sorted(i for i in cont if named(i)) or sorted(cont)
    users = [i for i in problem.locked if i not in cont and named(i)]
    top = setup.config["keep_top_accounts"]
    shown = "; ".join(
        f"{rid(i)} {problem.lock_reasons[i][len(_CONTINUITY) :]}" for i in hit[:3]
    ) + (f"; and {len(hit) - 3} more" if len(hit) > 3 else "")
    one = len(hit) == 1
    if users:  # some of the locks are the caller's
        lead = (
            f"the lock{'' if one else 's'} of {', '.join(rid(i) for i in hit[:3])}"
            f"{' ...' if len(hit) > 3 else ''} come{'s' if one else ''} from "
            f"keep_top_accounts={top}"
        )
    else:
        lead = (
            f"{'that lock comes' if one else 'those locks come'} from "
            f"keep_top_accounts={top}, not from locked="
        )
    where = f"{lead} ({shown})"
    root = problem.contiguity and "(home unit)" in head
    if root:
        where += (
            ", and with contiguity a territory keeps its root unit (its rep's "
            "home unit, or the unit of its current territory nearest the home; "
            "info['roots'])"
        )
    fixes = [
        f"lower keep_top_accounts (now {top})",
        *(["unlock some of the units of locked="] if users else []),
        *(
            [
                "move the rep's home (reps' home_lon/home_lat) to another unit "
                "of its territory",
                "set contiguity=False",
            ]
            if root
            else []
        ),
        "loosen the tolerance",
    ]
    return f"{head}; {where}. Fix: " + ", ".join(fixes[:-1]) + " or " + fixes[-1]


def _lp_bound(
    setup: _Setup,
    problem: DesignProblem,
    max_moved: float | None,
    seed: int,
    time_limit: float,
    neighbour_cuts: bool = False,
) -> tuple[float, np.ndarray | None, str]:
    """A lower bound on the disruption from an LP relaxation over all pairs.

    The plain LP relaxation (no contiguity, units may be split; the locks
    hold but the reps' root units do not: contiguity's roots are free, so it
    bounds every alignment meeting the bands and the locks).  With
    ``neighbour_cuts`` and contiguity, each unit
    that joins a territory other than its root's needs a neighbour in that
    territory (:math:`x_{ij} \\le \\sum_{v \\in N(i)} x_{vj}`, valid for any
    connected territory), so load can only reach a territory through
    boundary units that move too.  (On the benchmark instances these cuts
    did not raise the bound — pairs of units can form detached pieces — and
    they triple the LP's size, so they are off by default.)  Returns the
    bound, the LP's ``(n, k)`` values (``None`` when the LP did not finish:
    ``time_limit`` covers the model's build too) and its name.  Raises
    InfeasibleError when the relaxation cannot meet the bands (with the
    locks) or needs more than ``max_moved``.
    """
    from terrakit.design._model import solve_model
    from terrakit.design.mip import build_model

    t_lp = time.perf_counter()
    relaxed = problem.replace(
        cost=setup.disruption, contiguity=False, allowed=None, budgets={}
    )
    layout = build_model(relaxed)
    n, k = problem.n_units, problem.n_territories
    xid = np.full((n, k), -1, dtype=np.int64)
    xid[layout.ii, layout.jj] = layout.x0 + np.arange(layout.ii.size)
    name = (
        "lp relaxation (all pairs, without contiguity; root units free)"
        if problem.contiguity
        else "lp relaxation (all pairs)"
    )
    if neighbour_cuts and problem.contiguity and problem.adjacency is not None:
        adj = sp.csr_matrix(problem.adjacency)
        root = np.zeros((n, k), dtype=bool)
        root[np.asarray(problem.center_units), np.arange(k)] = True
        pi, pj = np.nonzero((xid >= 0) & ~root)
        deg = np.diff(adj.indptr)[pi]
        starts = adj.indptr[pi]
        offs = np.arange(int(deg.sum())) - np.repeat(np.cumsum(deg) - deg, deg)
        nb = adj.indices[np.repeat(starts, deg) + offs]
        prow = np.repeat(np.arange(pi.size), deg)
        ncol = xid[nb, np.repeat(pj, deg)]
        keep = ncol >= 0
        rows = np.concatenate([np.arange(pi.size), prow[keep]])
        cols = np.concatenate([xid[pi, pj], ncol[keep]])
        vals = np.concatenate([np.ones(pi.size), -np.ones(int(keep.sum()))])
        layout.model.add_rows(pi.size, rows, cols, vals, -np.inf, 0.0)
        name = "lp relaxation (all pairs, neighbour cuts for contiguity)"
    # the model's build counts against the LP's time (3,000 units × 20 reps:
    # 0.3 s, longer than a quarter of a 1 s limit, which the search needs)
    left = time_limit - (time.perf_counter() - t_lp)
    if left < 0.05:
        return 0.0, None, "none (the LP did not finish in time)"
    out = solve_model(layout.model, relax=True, time_limit=left, seed=seed)
    bands = ", ".join(f"±{_pct(t)} {a}" for a, t in problem.tolerance.items())
    if out.status == "infeasible":
        raise InfeasibleError(
            f"{bands} balance cannot be met with the locks even if units could be "
            "split; unlock units, lower keep_top_accounts or loosen the tolerance"
        )
    if out.values is None or out.status != "optimal":
        return 0.0, None, "none (the LP did not finish in time)"
    lb = max(float(out.objective), 0.0)
    if max_moved is not None and lb > max_moved * setup.total * (1 + 1e-6) + 1e-9:
        raise InfeasibleError(
            f"{bands} balance needs at least {lb:.6g} {setup.moved_measure} moved "
            f"({_pct(setup.share(lb))} of the total, {name} bound), above "
            f"max_moved = {_pct(max_moved)}; raise max_moved to at least "
            f"{_pct(setup.share(lb))} or loosen the tolerance"
        )
    x = np.zeros((n, k))
    x[layout.ii, layout.jj] = out.values[layout.x0 : layout.x0 + layout.ii.size]
    return lb, x, name


def _candidates(setup: _Setup, problem: DesignProblem, hops: float) -> np.ndarray:
    """(n, k) allowed pairs: a rep's units and units within ``hops`` steps of
    them (beyond the nearest kept territory for the units of removed reps);
    new reps: the nearest ``3 n / k`` units in steps, plus ``hops``."""
    n, k = problem.n_units, problem.n_territories
    H = setup.hops
    kept = np.array([setup.roles[r] == "kept" for r in problem.territory_ids or ()])
    if kept.any():
        base = np.min(H[:, kept], axis=1)
        base = np.where(np.isfinite(base), base, 0.0)
    else:
        base = np.zeros(n)
    allowed = H <= (base[:, None] + hops)
    for j in np.flatnonzero(~kept):
        h = H[:, j]
        fin = np.sort(h[np.isfinite(h)])
        if fin.size:
            r = fin[min(fin.size - 1, int(3 * n / max(k, 1)))]
            allowed[:, j] |= h <= r + hops
    allowed[np.flatnonzero(setup.cur_col >= 0), setup.cur_col[setup.cur_col >= 0]] = (
        True
    )
    for li, lj in problem.locked.items():
        allowed[li, :] = False
        allowed[li, lj] = True
    if problem.center_units is not None:
        cu = np.asarray(problem.center_units)
        allowed[cu, np.arange(k)] = True
    # a unit with no candidate at all (no graph path to any rep): every rep
    none = ~allowed.any(axis=1)
    allowed[none, :] = True
    return allowed


#: Seconds kept back from the search for building the result (balance
#: tables, territory table) so that the whole call ends within its limit.
RESERVE = 0.4


def _left(t0: float, time_limit: float) -> float:
    """Seconds left of ``time_limit`` started at ``t0``."""
    return t0 + time_limit - time.perf_counter()


def _solve(
    setup: _Setup,
    *,
    balance: Mapping[str, float],
    max_moved: float | None,
    time_limit: float,
    seed: int,
    solver: Solver,
    backend: str,
    hops: float,
    name: str,
    t0: float | None = None,
    warn_not_met: bool = True,
) -> RebalanceResult:
    """Rebalance from a prepared setup; with ``warn_not_met=False`` a plan
    that misses a constraint comes back without the warning (its text is in
    ``info["not_met"]``)."""
    # the clock: from ``t0`` (rebalance starts it before the setup) to
    # ``t0 + time_limit``, everything included
    t0 = time.perf_counter() if t0 is None else t0
    backend, hops = _check_settings(time_limit, seed, solver, backend, hops)
    time_limit = float(time_limit)
    max_moved = _check_max_moved(max_moved)
    problem = setup.problem.replace(tolerance=dict(balance))
    for a in balance:
        if a not in problem.activities:
            raise SpecificationError(
                f"balance on {a!r}: build the setup with that activity"
            )
    if max_moved is not None:
        problem = problem.replace(
            budgets={"moved": (setup.disruption, float(max_moved) * setup.total)}
        )
    _check_cap(setup, max_moved)
    _check_problem(setup, problem)
    # the bound gets at most a quarter of the time; the rest is the search's
    lb, _lp_x, bound_name = _lp_bound(
        setup,
        problem,
        max_moved,
        seed,
        time_limit=max(0.05, min(0.25 * time_limit, _left(t0, time_limit) - 0.1)),
    )
    info: dict[str, Any] = {"bound": bound_name, "moved_total": setup.total}
    roots = _roots(problem)
    if roots is not None:
        info["roots"] = roots
    res, rounds, caught, mip_bound = _search_and_solve(
        setup,
        problem,
        t0=t0,
        time_limit=time_limit,
        seed=seed,
        solver=solver,
        backend=backend,
        hops=hops,
        bound=lb,
    )
    if math.isinf(mip_bound) and mip_bound > 0:
        raise InfeasibleError(_mip_infeasible(setup, problem, balance, max_moved, lb))
    if res is None:
        bands = ", ".join(f"±{_pct(t)} {a}" for a, t in balance.items())
        cap = "" if max_moved is None else f" within max_moved = {_pct(max_moved)}"
        raise InfeasibleError(
            f"no alignment found that meets {bands}{cap}"
            f"{' with contiguous territories' if problem.contiguity else ''} "
            f"in {time.perf_counter() - t0:.1f} s of its {time_limit:g} s (lower "
            "bound on the disruption: "
            f"{_pct(setup.share(lb))} of {setup.moved_measure}); raise time_limit, "
            "loosen the tolerance or set contiguity=False"
        )
    cols = np.asarray(res.columns)
    moved_mask = (setup.cur_col != -1) & (setup.cur_col != cols)
    moved = float(setup.measure[moved_mask].sum())
    feasible = res.is_feasible()
    if mip_bound > lb:
        lb = mip_bound
        info["bound"] = (
            f"mip (all pairs, with contiguity, {ROOTED_PROOF})"
            if problem.contiguity
            else "mip (all pairs)"
        )
    if feasible:
        lb = min(lb, moved)  # the solvers' tolerances aside, lb <= moved
    # else the bound holds for the plans that meet every constraint; the
    # closest plan breaks some and may move less: the proven bound stays
    if moved < lb:
        gap = math.nan
    else:
        gap = relative_gap(moved, lb) if moved > 0 else 0.0
    status: Status = res.status
    if res.is_feasible():
        if gap <= 1e-4:
            status = "optimal"
        elif res.status == "optimal":
            status = "feasible"
    broken: list[str] = []
    if not feasible:
        broken = problem.violations(cols) or list(res.info.get("violations", []))
        info.update(violations=broken)
    elif status == "time_limit" or any(
        issubclass(w.category, TimeLimitWarning) for w in caught
    ):
        if status == "optimal":
            pass
        else:
            status = "time_limit"
            warnings.warn(
                f"rebalance stopped at the time limit ({time_limit:g} s); returning "
                f"the best alignment found ({_pct(setup.share(moved))} of "
                f"{setup.moved_measure} moved, lower bound {_pct(setup.share(lb))})",
                TimeLimitWarning,
                stacklevel=3,
            )
    info.update(
        {
            "rounds": rounds,
            "engine_status": res.status,
            "units_moved": int(moved_mask.sum()),
            **(
                {"violations": list(res.info["violations"])}
                if "violations" in res.info and "violations" not in info
                else {}
            ),
        }
    )
    units = (
        setup.study.unit_measures()
        if setup.study.accounts is not None
        else (setup.study.units)
    )
    ids = units.index
    labels = pd.Series(
        np.array(problem.territory_ids, dtype=object)[cols],
        index=pd.Index(ids, name="unit_id"),
    )
    config = {
        **setup.config,
        "balance": dict(balance),
        "max_moved": max_moved,
        "time_limit": time_limit,
        "solver": solver,
        "backend": backend,
        "hops": hops,
    }
    prov = make_provenance(
        f"rebalance/{res.method}",
        seed=seed,
        config=config,
        status=status,
        moved=moved,
        lower_bound=lb,
        locked_reasons={str(u): r for u, r in setup.lock_reasons.items()},
    )
    new_al = Alignment(labels, name=name, provenance=prov)
    measures = list(dict.fromkeys([*balance, setup.moved_measure]))
    measures = [m for m in measures if m == "units" or m in units.columns]
    after = _balance_table(units, new_al, measures, setup.targets)
    # units without a current territory (new units waiting to be placed) are
    # assigned by the plan, not moved; the current balance is over the others
    had = setup.cur_col != -1
    if had.all():
        before = _balance_table(units, setup.current, measures, _current_targets(setup))
    else:
        info["unassigned_before"] = int((~had).sum())
        before = (
            _balance_table(units[had], setup.current, measures, _current_targets(setup))
            if had.any()
            else pd.DataFrame(math.nan, index=after.index, columns=after.columns)
        )
    territories = _territory_table(setup, problem, res, cols, units)
    # the whole call, from its start to the result (setup and tables included)
    seconds = time.perf_counter() - t0
    if not feasible:
        text, category = _not_met(
            broken,
            moved,
            lb,
            setup,
            seconds,
            time_limit,
            max_moved,
            stopped=bool(res.info.get("timed_out")),
        )
        info["not_met"] = text
        if warn_not_met:
            warnings.warn(text, category, stacklevel=3)
    return RebalanceResult(
        alignment=new_al,
        current=setup.current,
        status=status,
        moved=moved,
        moved_share=setup.share(moved),
        lower_bound=lb,
        gap=gap,
        moved_measure=setup.moved_measure,
        max_moved=None if max_moved is None else float(max_moved),
        tolerance=dict(balance),
        balance_before=before,
        balance_after=after,
        territories=territories,
        locked=dict(setup.lock_reasons),
        method=res.method,
        seconds=seconds,
        provenance=prov,
        info=info,
        study=setup.study,
    )


def _roots(problem: DesignProblem) -> dict[Hashable, Hashable] | None:
    """``{rep_id: unit_id}``: the unit each contiguous territory keeps (its
    rep's home unit, or the unit of its current territory nearest its home),
    or ``None`` without contiguity."""
    if not problem.contiguity or problem.center_units is None:
        return None
    ids = np.asarray(problem.unit_ids, dtype=object)
    return {
        t: ids[int(u)]
        for t, u in zip(problem.territory_ids or (), problem.center_units, strict=True)
    }


def _either(fixes: Sequence[str]) -> str:
    """``"a, b or c"`` (``"c"`` for one fix)."""
    return ", ".join(fixes[:-1]) + " or " + fixes[-1] if len(fixes) > 1 else fixes[0]


def _mip_infeasible(
    setup: _Setup,
    problem: DesignProblem,
    balance: Mapping[str, float],
    max_moved: float | None,
    lb: float,
) -> str:
    """The InfeasibleError text when the MIP over every pair proves that no
    alignment meets the bands (and the cap): with contiguity, that proof holds
    each rep's root unit, so the fixes name moving a rep's home."""
    bands = ", ".join(f"±{_pct(t)} {a}" for a, t in balance.items())
    cap = "" if max_moved is None else f" within max_moved = {_pct(max_moved)}"
    locks = " and the locks" if problem.locked else ""
    fixes = [
        *(["raise max_moved"] if max_moved is not None else []),
        "loosen the tolerance",
        *(["unlock units"] if problem.locked else []),
    ]
    roots = _roots(problem)
    if roots is None:
        return (
            f"no alignment meets {bands}{locks}{cap}: the MIP over every unit–rep "
            f"pair proves it (the LP bound is {_pct(setup.share(lb))} of "
            f"{setup.moved_measure}); {_either(fixes)}"
        )
    shown = ", ".join(f"{t!r}: {u!r}" for t, u in list(roots.items())[:5])
    more = f", ... ({len(roots)} reps)" if len(roots) > 5 else ""
    fixes += [
        "move a rep's home (reps' home_lon/home_lat) to another unit of its "
        "territory to change its root unit",
        "set contiguity=False",
    ]
    return (
        f"no alignment meets {bands}{locks}{cap} with contiguous territories, "
        f"{ROOTED_PROOF} ({{{shown}{more}}}: its home unit or "
        "the nearest unit of its current territory): the MIP over "
        "every unit–rep pair proves it (the LP bound, without contiguity and "
        f"with the root units free to move, is {_pct(setup.share(lb))} of "
        f"{setup.moved_measure}); {_either(fixes)}"
    )


def _not_met(
    broken: list[str],
    moved: float,
    lb: float,
    setup: _Setup,
    seconds: float,
    time_limit: float,
    max_moved: float | None = None,
    *,
    stopped: bool = False,
) -> tuple[str, type[Warning]]:
    """The warning for a run that found no plan meeting every constraint (no
    proof that none exists) and returns the closest one with status
    ``"infeasible"``: its text and category (:class:`TimeLimitWarning` when
    the time ran out).  ``seconds``: the whole call so far; ``stopped``: the
    clock stopped the search.  The fix names a longer ``time_limit`` only
    when the time ran out (or the clock stopped the search) and
    ``max_moved`` only when a cap was set."""
    count = len(broken)
    more = f"; and {count - 3} more" if count > 3 else ""
    ran_out = stopped or seconds >= 0.9 * time_limit
    fixes = [
        *(["raise time_limit"] if ran_out else []),
        *(
            [f"raise max_moved (now {_pct(max_moved)})"]
            if max_moved is not None
            else []
        ),
        "loosen the tolerance",
    ]
    text = (
        "no alignment meeting every constraint was found in "
        f"{seconds:.1f} s of its {time_limit:g} s (this is not a proof that none "
        "exists); the closest one, returned with status 'infeasible', moves "
        f"{_pct(setup.share(moved))} of {setup.moved_measure} (lower bound "
        f"{_pct(setup.share(lb))}) and breaks {count} constraint"
        f"{'s' if count != 1 else ''}: {'; '.join(broken[:3])}{more}. Fix: "
        + ", ".join(fixes[:-1])
        + (" or " if len(fixes) > 1 else "")
        + fixes[-1]
    )
    return text, (TimeLimitWarning if ran_out else TerrakitWarning)


#: Settings of the least-disruption search tried in turn (``smooth``, ``aim``,
#: ``rounds`` of :func:`terrakit.realign._search.least_disruption_search`);
#: the best alignment over the ones that finish before the deadline wins.
PORTFOLIO: tuple[tuple[float, float, int], ...] = (
    (1.0, 0.05, 3),
    (4.0, 0.30, 3),
    (2.0, 0.30, 5),
    (0.5, 0.30, 5),
)

#: Iterated local search after the portfolio: at most this many kicks
#: (:func:`terrakit.realign._search.perturb`, then the search again from the
#: kicked answer), stopping after ``KICKS_PATIENCE`` kicks in a row without
#: improvement.
KICKS = 60
KICKS_PATIENCE = 15
#: Steps around the kicked unit within which moves are undone (on the
#: 2,000-unit benchmark, 25 kicks from 9.9 % moved: radius 2, 5, 8, 16 ended
#: at 9.8, 9.2, 9.8, 9.9 %; 5 was also best on a second instance).
KICK_RADIUS = 5

#: With contiguity, ``solver="auto"`` runs the flow MIP only on problems of
#: at most this many unit–rep pairs: on bigger ones it spends its whole time
#: limit and rarely improves on the search (2,000 units × 19 reps, ~12,000
#: candidate pairs within 2 steps: 8 s for no better answer; 2,400 units ×
#: 11 reps, 4,000 candidate pairs: 40 s for no better answer).
CONTIGUOUS_MIP_MAX_PAIRS = 5_000


def _lex_less(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether plan ``a`` beats plan ``b``, each ``(disruption, tie-break
    cost)``: less disruption, or the same disruption (within ``1e-9``
    relative: the same measures summed in another order) and a lower
    tie-break."""
    tol = 1e-9 * max(1.0, abs(b[0]))
    if a[0] < b[0] - tol:
        return True
    return abs(a[0] - b[0]) <= tol and a[1] < b[1] - 1e-12 * max(1.0, abs(b[1]))


def _mip_follows(
    setup: _Setup, problem: DesignProblem, solver: str, hops: float
) -> bool:
    """Whether :func:`_search_and_solve` will hand the problem to the MIP
    after the search (the size rules of ``solver="auto"``)."""
    if solver == "heuristic":
        return False
    if solver == "mip":
        return True
    n, k = problem.n_units, problem.n_territories
    if problem.contiguity:
        return n * k <= CONTIGUOUS_MIP_MAX_PAIRS
    if n * k <= FREE_FULL_PAIRS:
        return n * k <= AUTO_MIP_MAX_PAIRS
    return int(_candidates(setup, problem, hops).sum()) <= AUTO_MIP_MAX_PAIRS


#: Without contiguity, when the MIP follows the search, the search's last
#: step (undoing moves that are not needed, one exchange at a time, which can
#: take all the time on thousands of units) stops at this share of the time
#: left: the MIP warm-started by its plan makes better use of the rest.
FREE_SEARCH_SHARE = 0.5


def _search_and_solve(
    setup: _Setup,
    problem: DesignProblem,
    *,
    t0: float,
    time_limit: float,
    seed: int,
    solver: str,
    backend: str,
    hops: float,
    bound: float = 0.0,
) -> tuple[AlignmentResult | None, list[dict[str, Any]], list[Any], float]:
    """Least-disruption search (a portfolio of settings), then the MIP.

    Everything stops at ``t0 + time_limit``.  The search
    (:func:`terrakit.realign._search.least_disruption_search`: free units
    handed out and load moved along the flows of a transshipment LP on the
    territory graph — without contiguity on star graphs, where every unit may
    join every territory — band repair, moved units sent home when a cheaper
    move pays for it) runs with each setting of :data:`PORTFOLIO` while time
    is left and keeps the best alignment.  Then, where it pays
    (``solver="mip"``, or ``"auto"`` on a small enough problem), the exact
    MIP on the candidate pairs within ``hops`` steps of the current
    territories (widened when that is infeasible), warm-started by the
    search.

    Plans are compared lexicographically: the disruption first, the
    compactness tie-break only between plans of equal disruption.  The MIP
    minimises the disruption alone (so its bound is a bound on the
    disruption); then a short second MIP, warm-started by that plan, keeps
    the disruption at most the one found and minimises the tie-break.
    """
    from terrakit.design.mip import solve_mip
    from terrakit.realign._search import least_disruption_search

    deadline = t0 + time_limit - min(RESERVE, 0.05 * time_limit)
    n, k = problem.n_units, problem.n_territories
    rows = np.arange(n)
    cost = np.asarray(problem.cost)
    disruption = setup.disruption
    tie = cost - disruption  # the tie-break cost of each pair (≥ 0)

    def key(lab: np.ndarray) -> tuple[float, float]:
        """(disruption, tie-break cost) of a plan."""
        return float(disruption[rows, lab].sum()), float(tie[rows, lab].sum())

    fixed = np.full(n, -1, dtype=np.int64)
    for i, j in problem.locked.items():
        fixed[i] = j
    if problem.contiguity and problem.center_units is not None:
        for j, r in enumerate(np.asarray(problem.center_units).tolist()):
            if fixed[r] < 0:
                fixed[r] = j
    start = np.where(setup.cur_col >= 0, setup.cur_col, -1)
    bands = problem.bands()
    acts = (
        np.column_stack([v for _a, v, _l, _h in bands]) if bands else np.zeros((n, 1))
    )
    lows = (
        np.column_stack([lo for _a, _v, lo, _h in bands])
        if bands
        else np.full((k, 1), -np.inf)
    )
    highs = (
        np.column_stack([hi for _a, _v, _l, hi in bands])
        if bands
        else np.full((k, 1), np.inf)
    )
    rounds: list[dict[str, Any]] = []
    caught: list[Any] = []
    best: AlignmentResult | None = None
    closest: AlignmentResult | None = None
    # -- 1. the search, every unit–rep pair allowed (locks aside) --------------
    full = _candidates(setup, problem, math.inf)
    search_deadline = deadline
    if not problem.contiguity and _mip_follows(setup, problem, solver, hops):
        now = time.perf_counter()
        search_deadline = now + FREE_SEARCH_SHARE * max(0.0, deadline - now)
    found: list[tuple[bool, tuple[float, float], np.ndarray]] = []
    # what every run of the least-disruption search shares
    common: dict[str, Any] = {
        "cost": cost,
        "start": start,
        "activities": acts,
        "lower": lows,
        "upper": highs,
        "allowed": full,
        "fixed": fixed,
        "deadline": deadline,
        "improve_until": search_deadline,
    }
    timed_out = False
    for n_try, (smooth, aim, n_rounds) in enumerate(PORTFOLIO):
        if time.perf_counter() >= deadline and found:
            timed_out = n_try < len(PORTFOLIO)
            break
        lab, _ok = least_disruption_search(
            **common,
            adjacency=problem.adjacency if problem.contiguity else None,
            contiguity=problem.contiguity,
            aim=aim,
            rounds=n_rounds,
            smooth=smooth,
        )
        bad = len(problem.violations(lab)) > 0
        found.append((bad, key(lab), lab))
        moved = found[-1][1][0]
        rounds.append(
            {
                "path": "local-search",
                "setting": {"smooth": smooth, "aim": aim, "rounds": n_rounds},
                "status": "infeasible" if bad else "feasible",
                "objective": float(problem.evaluate(lab)),
            }
        )
        if not bad and moved <= bound * (1 + 1e-9) + 1e-9:
            break  # meets the lower bound: optimal
        if problem.adjacency is None or not problem.contiguity:
            if not bad:
                break  # without a graph the settings do not differ
    found.sort(key=lambda f: (f[0], *f[1]))
    bad, _key, labels = found[0]
    _obj = float(problem.evaluate(labels))

    def search_from(initial: np.ndarray) -> np.ndarray:
        """The contiguous search from a whole plan (every unit assigned)."""
        lab, _ok = least_disruption_search(
            **common,
            adjacency=problem.adjacency,
            contiguity=True,
            aim=0.05,
            rounds=2,
            initial=initial,
        )
        return lab

    # -- 1a. no plan in the bands: the design heuristic on the same costs ----
    if bad and problem.contiguity and problem.adjacency is not None:
        planned = _design_start(problem, deadline, seed)
        if planned is not None:
            # from the designed plan, send units home while the bands allow
            lab = search_from(planned)
            if problem.violations(lab) or _lex_less(key(planned), key(lab)):
                lab = planned
            bad, _obj, labels = False, float(problem.evaluate(lab)), lab
            rounds.append(
                {"path": "design-heuristic", "status": "feasible", "objective": _obj}
            )
    # -- 1b. kicks: undo the moves around a random moved unit, search again --
    if (
        not bad
        and problem.contiguity
        and problem.adjacency is not None
        and key(labels)[0] > bound + 1e-9
    ):
        from terrakit.realign._search import perturb

        rng = np.random.default_rng(seed)
        best_key = key(labels)
        quiet = 0
        n_kicks = 0
        for n_kicks in range(1, KICKS + 1):  # noqa: B007
            if time.perf_counter() >= deadline:
                timed_out = True
                break
            kicked = perturb(
                labels, start, problem.adjacency, fixed, rng, radius=KICK_RADIUS
            )
            lab = search_from(kicked)
            lab_key = key(lab)
            if _lex_less(lab_key, best_key) and not problem.violations(lab):
                labels, best_key, quiet = lab, lab_key, 0
            else:
                quiet += 1
                if quiet >= KICKS_PATIENCE:
                    break
        rounds.append(
            {
                "path": "local-search/kicks",
                "kicks": n_kicks,
                "status": "feasible",
                "objective": float(problem.evaluate(labels)),
            }
        )
    if time.perf_counter() > deadline:
        timed_out = True
    # the search stopped by its share of the time, with nothing after it
    # that uses the rest, counts as stopped by the clock (set below)
    search_cut = time.perf_counter() > search_deadline
    viol = problem.violations(labels)

    def search_result(stopped: bool) -> AlignmentResult:
        return AlignmentResult.from_columns(
            problem,
            labels,
            status=("time_limit" if stopped else "feasible")
            if not viol
            else "infeasible",
            lower_bound=-math.inf,
            method="local-search",
            seconds=time.perf_counter() - t0,
            seed=seed,
            # the clock stopped the search: the warning then names time_limit
            info={"violations": viol[:20], "timed_out": stopped} if viol else {},
        )

    cand = search_result(timed_out or search_cut)
    if not viol:
        best = cand
    else:
        closest = cand
    # -- 2. the MIP where it pays ----------------------------------------------
    mip_bound = -math.inf
    if solver == "heuristic":
        return (best if best is not None else closest), rounds, caught, mip_bound
    if best is not None:
        if key(labels)[0] <= bound * (1 + 1e-9) + 1e-9:
            return best, rounds, caught, mip_bound  # optimal already
    widen = [float(hops), 2.0 * hops, 4.0 * hops, math.inf]
    if n * k <= FULL_PAIRS or (not problem.contiguity and n * k <= FREE_FULL_PAIRS):
        widen = [math.inf]
    # the MIP minimises the disruption alone (the tie-break comes after)
    least = problem.replace(cost=disruption)
    mip_ran = False
    last_allowed: np.ndarray | None = None
    t_mip = time.perf_counter()
    for hh in widen:
        # the MIP overruns its limit by its model build: give it 80 %
        left = 0.8 * (deadline - time.perf_counter()) - 0.1
        if left < 0.4:
            break
        allowed = (
            np.ones((n, k), dtype=bool)
            if math.isinf(hh)
            else _candidates(setup, problem, hh)
        )
        warm = best is not None
        if warm:
            allowed[np.arange(n), labels] = True
        pairs = int(allowed.sum())
        if solver == "auto":
            if pairs > AUTO_MIP_MAX_PAIRS:
                break
            if problem.contiguity and n * k > CONTIGUOUS_MIP_MAX_PAIRS:
                break
        sub = least.replace(allowed=None if math.isinf(hh) else allowed)
        try:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always", TimeLimitWarning)
                r = solve_mip(
                    sub,
                    time_limit=left,
                    seed=seed,
                    backend=backend,
                    start=labels if warm else None,
                    diagnose=False,
                    check=False,
                    mip_gap=1e-3,
                )
            caught.extend(w)
            rounds.append(
                {
                    "hops": hh,
                    "pairs": pairs,
                    "path": r.method,
                    "status": r.status,
                    "objective": r.objective,
                }
            )
            if r.is_feasible() and not sub.violations(np.asarray(r.columns)):
                mip_ran = True
                last_allowed = sub.allowed
                best = _better(best, r, key)
                labels = np.asarray(best.columns)  # the next round's warm start
            if math.isinf(hh) and math.isfinite(r.lower_bound):
                # a bound on the disruption itself: the tie-break is not in
                # this MIP's objective
                mip_bound = max(mip_bound, r.lower_bound)
            if r.is_feasible():
                # the optimum over the candidates may still be far from the
                # optimum over all pairs: widen while the bound leaves room
                moved = key(labels)[0]
                if (
                    math.isinf(hh)
                    or r.status != "optimal"
                    or moved <= bound * (1 + WIDEN_GAP) + 1e-9
                ):
                    break
        except InfeasibleError as err:
            rounds.append(
                {"hops": hh, "pairs": pairs, "path": "mip", "status": str(err)[:80]}
            )
            if math.isinf(hh) and "is infeasible" in str(err):
                return None, rounds, caught, math.inf  # proved infeasible
    if mip_ran and best is cand and search_cut and not timed_out:
        # the search's share of the time ran out, the MIP used the rest
        best = search_result(False)
    if mip_ran and best is not None:
        best = _order_ties(
            setup,
            problem,
            best,
            tie,
            key,
            last_allowed,
            mip_seconds=time.perf_counter() - t_mip,
            time_limit=time_limit,
            deadline=deadline,
            seed=seed,
            backend=backend,
            rounds=rounds,
        )
    return (best if best is not None else closest), rounds, caught, mip_bound


#: Each solve of the compactness tie-break (:func:`_order_ties`) gets at
#: most this share of ``time_limit`` (at least 1 s): it only orders plans of
#: the disruption found.
TIE_SHARE = 0.1


def _order_ties(
    setup: _Setup,
    problem: DesignProblem,
    best: AlignmentResult,
    tie: np.ndarray,
    key: Any,
    allowed: np.ndarray | None,
    *,
    mip_seconds: float,
    time_limit: float,
    deadline: float,
    seed: int,
    backend: str,
    rounds: list[dict[str, Any]],
) -> AlignmentResult:
    """The compactness tie-break among the plans of the disruption found.

    MIPs warm-started by ``best`` minimise the tie-break cost with the
    disruption held at most ``best``'s (a budget); a plan is taken when it
    moves no more and lowers the tie-break.  First over the units that
    ``best`` moves (each to any rep or back home; the others stay): a small
    model that orders the plans moving those units exactly (on the sample
    study, 17 units moved of 259: 0.05 s, where the same MIP over every
    pair needed 7-10 s).  Then, when the moved measure is a count (whole
    numbers: ``"units"``, ``"accounts"``), where plans that move other units
    can move exactly as much, over the pairs of the disruption's MIP
    (``allowed``), for at most as long as that MIP took (``mip_seconds``).
    Each gets at most :data:`TIE_SHARE` of ``time_limit`` (at least 1 s)
    and 80 % of the time left (none under 0.4 s).  Stopped at
    its limit a solve returns the best ordering found, which is no time
    limit of the rebalance (the disruption is ``best``'s), so its warnings
    are dropped and ``best``'s status and method stay.
    """
    from terrakit.design.mip import solve_mip

    n = problem.n_units
    rows = np.arange(n)
    cols = np.asarray(best.columns)
    d_best, t_best = key(cols)
    if t_best <= 0:
        return best
    cap = d_best + 1e-9 * max(1.0, abs(d_best))
    budgets = {**problem.budgets, "least disruption": (setup.disruption, cap)}
    # the units that change hands (moved, placed, or a removed rep's)
    changed = setup.cur_col != cols
    near = np.zeros((n, problem.n_territories), dtype=bool)
    near[rows, cols] = True
    near[changed] = True if allowed is None else allowed[changed]
    short = max(1.0, TIE_SHARE * time_limit)
    passes: list[tuple[str, np.ndarray | None, float]] = [("units moved", near, short)]
    measure = setup.measure
    if np.array_equal(measure, np.round(measure)):
        passes.append(("all pairs", allowed, min(short, max(mip_seconds, 0.4))))
    chosen = best
    for label, pairs, most in passes:
        left = min(0.8 * (deadline - time.perf_counter()) - 0.1, most)
        if left < 0.4:
            break
        ordered = problem.replace(cost=tie, allowed=pairs, budgets=budgets)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TimeLimitWarning)
                warnings.simplefilter("ignore", TerrakitWarning)
                r = solve_mip(
                    ordered,
                    time_limit=left,
                    seed=seed,
                    backend=backend,
                    start=cols,
                    diagnose=False,
                    check=False,
                    mip_gap=1e-3,
                )
        except InfeasibleError as err:  # no proof of anything: keep the plan
            rounds.append({"path": f"mip/tie-break ({label})", "status": str(err)[:80]})
            continue
        rounds.append(
            {
                "path": f"mip/tie-break ({label})",
                "status": r.status,
                "objective": r.objective,
            }
        )
        new = np.asarray(r.columns)
        if not r.is_feasible() or ordered.violations(new):
            continue
        new_key = key(new)
        if new_key[0] <= cap and _lex_less(new_key, key(cols)):
            cols = new
            chosen = AlignmentResult.from_columns(
                problem,
                new,
                status=best.status,
                lower_bound=-math.inf,
                method=best.method,
                seconds=best.seconds,
                seed=seed,
            )
    return chosen


#: share of the time left that the design heuristic gets when the
#: least-disruption search found no plan in the bands
DESIGN_SHARE = 0.6
#: design heuristic runs (seeds ``seed``, ``seed + 1``, ...) while time is left
DESIGN_ATTEMPTS = 3


def _design_start(
    problem: DesignProblem, deadline: float, seed: int
) -> np.ndarray | None:
    """A plan in the bands from the design heuristic on the rebalance costs
    (disruption + tie-break), or ``None`` (none found, or no time).

    The least-disruption search starts from today's territories and can stall
    short of the bands when load must travel far (a ±5 % band on the sample
    study); the design heuristic builds contiguous territories in the bands
    from the reps' homes instead, its costs still favouring today's rep.
    """
    from terrakit.design.heuristic import solve_heuristic

    # a run that ends outside the bands early leaves time: the next seed
    for attempt in range(DESIGN_ATTEMPTS):
        left = DESIGN_SHARE * (deadline - time.perf_counter())
        if left < 1.0:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TimeLimitWarning)
            r = solve_heuristic(problem, time_limit=left, seed=seed + attempt)
        cols = np.asarray(r.columns)
        if not problem.violations(cols):
            return cols
    return None


def _better(a: AlignmentResult | None, b: AlignmentResult, key: Any) -> AlignmentResult:
    """``b`` when it beats ``a`` by ``key`` (:func:`_lex_less`), else ``a``."""
    if a is None:
        return b
    return b if _lex_less(key(np.asarray(b.columns)), key(np.asarray(a.columns))) else a


def _territory_table(
    setup: _Setup,
    problem: DesignProblem,
    res: AlignmentResult,
    cols: np.ndarray,
    units: pd.DataFrame,
) -> pd.DataFrame:
    tids = list(problem.territory_ids or ())
    t = res.territories.copy()
    t = t.drop(columns=[c for c in ("center",) if c in t.columns])
    k = len(tids)
    cur = setup.cur_col
    before_units = np.bincount(cur[cur >= 0], minlength=k)[:k]
    # unit counts are "units_before"/"units_after" unless a balanced measure is
    # named "units" (its own "units_before" column): then "n_units_before"/...
    n_before, n_after = (
        ("n_units_before", "n_units_after")
        if "units" in problem.tolerance
        else ("units_before", "units_after")
    )
    t.insert(0, "role", [setup.roles[r] for r in tids])
    t.insert(1, n_before, before_units)
    t = t.rename(columns={"n_units": n_after})
    for a in problem.tolerance:
        v = np.asarray(problem.activities[a])
        t.insert(
            t.columns.get_loc(a),
            f"{a}_before",
            np.bincount(cur[cur >= 0], weights=v[cur >= 0], minlength=k)[:k],
        )
    if setup.removed:
        curv = _unit_labels(units.index, setup.current, "current").to_numpy(object)
        extra = []
        for r in setup.removed:
            sel = curv == r
            row: dict[str, Any] = {"role": "removed", n_before: int(sel.sum())}
            row[n_after] = 0
            for a in problem.tolerance:
                row[f"{a}_before"] = float(np.asarray(problem.activities[a])[sel].sum())
                row[a] = 0.0
            extra.append(pd.Series(row, name=r))
        t = pd.concat([t, pd.DataFrame(extra)])
        t.index.name = "territory_id"
    return t


# -- the public entry ---------------------------------------------------------------
def rebalance(
    study: Any,
    current: Alignment | str | None = None,
    *,
    balance: Mapping[str, float] | None = None,
    max_moved: float | None = None,
    moved_measure: str = "sales",
    keep_top_accounts: int = 0,
    locked: Mapping[Hashable, Any] | None = None,
    targets: Mapping[Hashable, float] | Sequence[float] | None = None,
    contiguity: bool = True,
    adjacency: Any = None,
    time_limit: float = 30.0,
    seed: int = 0,
    solver: Solver = "auto",
    backend: str = "highs",
    hops: int = 2,
    tie_break: float = 1e-3,
    name: str = "rebalanced",
) -> RebalanceResult:
    """Restore balance while moving as little business as possible.

    Parameters
    ----------
    study
        The :class:`~terrakit.data.Study`: units (with the balanced
        activities), accounts, and the reps that will have territories —
        a rep of ``current`` missing from ``study.reps`` (left the company)
        gives up all its units; a rep without units (new hire) gets some.
    current
        Today's alignment (an Alignment or its name; default the study's
        ``"current"``).  Territory ids are rep ids.  Units it leaves without
        a territory (new units) are placed by the plan: their assignment
        moves nothing, and ``balance_before`` covers the other units.
    balance
        ``{activity: τ}``: every rep's total within ``±τ`` of its target
        (default ``{"workload": 0.05}``).
    max_moved
        Hard cap on the share of ``moved_measure`` that changes rep (0.10 =
        at most 10 %), of the units that have a territory in ``current``
        (as :func:`~terrakit.realign.diff_alignments` measures it: new units
        are placed, not moved); ``None``: no cap.
    moved_measure
        What disruption counts: ``"sales"`` (default), ``"accounts"``,
        ``"workload"``, ``"units"`` or another numeric unit column.
    keep_top_accounts
        Each rep keeps its ``N`` largest accounts (by ``annual_sales``, owner =
        current territory of the account's unit): the units holding them are
        locked to the rep.
    locked
        ``{unit_id: rep_id}`` or ``{unit_id: (rep_id, reason)}`` (a list
        ``[rep_id, reason]``, as JSON or YAML give the pair, is a pair too).
    targets
        Per-rep target shares (``{rep_id: share}`` or a sequence); default
        equal shares.
    contiguity
        Every territory one connected piece of the unit adjacency, rooted at
        a unit it keeps (``info["roots"]``): the rep's home unit, or the unit
        of its current territory nearest to its home when the home lies
        elsewhere.  The MIP's lower bound holds these roots (see Notes).
        ``True`` or ``False`` (text such as ``"no"``, or ``None``, is
        refused: ``bool("no")`` is ``True``).
    adjacency
        A prebuilt :class:`~terrakit.data.geo.Adjacency` over the study's
        units (or a square matrix in the units' order, symmetric: every
        non-zero entry is an edge) to save building it.
    time_limit
        Seconds for the whole call (setup, bound, search, MIP, result); at
        the limit the best alignment found is returned with a
        ``TimeLimitWarning``.
    seed
        Seed of the solvers and of the search's kicks.
    solver
        ``"auto"`` (the local search, then the exact MIP when the problem is
        small: at most ``CONTIGUOUS_MIP_MAX_PAIRS`` unit–rep pairs with
        contiguity, ``AUTO_MIP_MAX_PAIRS`` candidate pairs without),
        ``"mip"`` (the search, then the MIP whatever the size) or
        ``"heuristic"`` (the search only).
    backend
        MIP backend (``"highs"``, ``"cbc"``, ``"pulp-highs"``, ``"cpsat"``).
    hops
        A whole number ≥ 1.  Candidate neighbourhood of the MIP: a unit may
        join a rep whose
        current units are at most this many adjacency steps away (doubled,
        quadrupled, then unrestricted, when that is infeasible or, while
        time is left, when the optimum over the candidates stays more than
        :data:`WIDEN_GAP` above the lower bound).  Without contiguity there
        are no adjacency steps: a step is ``n / k`` units in order of
        distance from the rep's home (a unit is a candidate of a rep when
        fewer than ``hops · n / k`` units lie nearer its home), and up to
        :data:`FREE_FULL_PAIRS` unit–rep pairs the MIP takes all pairs and
        ``hops`` does not matter.  The search considers every pair.
    tie_break
        Weight of the compactness tie-break, which orders the plans of equal
        disruption (see Notes): moving an average unit a typical rep-to-unit
        distance costs ``tie_break`` × its measure.  0: no tie-break.
    name
        Name of the new alignment.

    Returns
    -------
    RebalanceResult
        Use :meth:`RebalanceResult.diff` for what changes hands.

    Raises
    ------
    SpecificationError
        An impossible specification explained with the numbers before solving
        (removed reps' units alone above ``max_moved``, a unit above a band,
        a lock to an unknown rep, a lock that contradicts continuity, a rep
        that the locks leave too little to reach its band...); bad settings
        (``contiguity`` not ``True``/``False``, ``hops`` not a whole number
        ≥ 1, an ``adjacency`` that is no graph of the units or not
        symmetric...).
    DataValidationError
        ``current`` is a name that is not an alignment of the study, or the
        alignment names units the study does not have.
    InfeasibleError
        The LP relaxation proves the bands (with the locks) cannot be met, or
        not within ``max_moved``; the message gives the least disruption.  Or
        the MIP over every unit–rep pair proves it; with contiguity that MIP
        keeps each rep's root unit, and the message names the roots.

    Warns
    -----
    TimeLimitWarning
        Stopped at the time limit: the best alignment found is returned.  When
        no alignment found meets every constraint (no proof that none exists),
        the closest one comes back with status ``"infeasible"`` and the
        warning says what it breaks (a :class:`TerrakitWarning` when time was
        left).

    Notes
    -----
    With units :math:`i`, reps :math:`j`, current rep :math:`c(i)` and the
    moved measure :math:`m_i`, binaries :math:`x_{ij}`:

    .. math::

        \\min \\sum_{ij} \\big(m_i [j \\ne c(i)] + \\epsilon\\, d_{ij}^2\\big)
        x_{ij} \\quad\\text{s.t.}\\quad \\sum_j x_{ij} = 1,\\quad
        (1-\\tau_a) s_j A_a \\le \\sum_i a_{ia} x_{ij} \\le (1+\\tau_a) s_j A_a,

    .. math::

        \\sum_{ij} m_i [j \\ne c(i)]\\, x_{ij} \\le \\mu \\sum_{i \\in C} m_i,
        \\qquad x_{i\\ell(i)} = 1 \\text{ for locked units},

    plus the flow contiguity of :mod:`terrakit.design.mip`, with :math:`C`
    the units that have a current territory (new units cost nothing to place
    and are not in the cap's total, as in
    :func:`~terrakit.realign.diff_alignments`).  Units of removed
    reps have :math:`m_i [j \\ne c(i)] = m_i` for every :math:`j`.  The
    objective is lexicographic: the disruption first; the tie-break
    :math:`\\epsilon d_{ij}^2` (squared km to rep *j*'s home, scaled by
    ``tie_break``; staying costs none) only orders alignments of equal
    disruption.  The MIP minimises the disruption alone (its bound is a
    bound on the disruption), then a short second MIP, warm-started by its
    plan, holds the disruption at most the one found and minimises the
    tie-break, first over the units that plan moves (each to any rep or
    back home), then, when the moved measure is a count (``"units"``,
    ``"accounts"``: plans moving other units can move exactly as much), over
    every pair (:func:`_order_ties`; each solve at most
    :data:`TIE_SHARE` of ``time_limit``).  The search compares its plans the
    same way; its moves are priced by the sum, a guide.
    With contiguity each territory is rooted at a unit it keeps
    (:math:`x_{r_j j} = 1`, ``info["roots"]``): the rep's home unit, or the
    unit of its current territory nearest its home (a new rep: its home
    unit or the nearest free one).
    The MIP runs on the candidate pairs within ``hops`` adjacency steps of
    each rep's current territory.  The reported lower bound
    (``info["bound"]`` names it) is the larger of two bounds, both without
    the tie-break:

    * the LP relaxation over *all* pairs without contiguity, with the locks
      but with the root units free to move: it bounds the disruption of
      every alignment meeting the bands and the locks.  It is weak when
      contiguity binds: the units of a removed rep may, in the relaxation,
      go straight to any rep short of load, whereas contiguous territories
      must pass the load on from neighbour to neighbour, each hop moving
      business;
    * when the MIP runs over all pairs (small instances), its bound; with
      contiguity, over contiguous territories, each rep keeping its root
      unit.  That one bounds only the alignments that keep every root; a
      contiguous alignment in the bands that hands a root unit to another
      rep may move less.  Moving a rep's home can change its root.

    The search (:mod:`terrakit.realign._search`) plans that passing-on with
    a transshipment LP on the territory graph (nodes: reps and the pieces of
    units without a rep; arcs: shared borders, priced by the disruption per
    unit of load of the boundary units; without contiguity every unit may
    join every rep, and the graph is complete), realises the flows with
    connectivity-safe boundary moves, repairs the bands, sends moved units
    home where a cheaper move pays for it, and then kicks the answer (moves
    around a random moved unit undone, the search run again) while that
    helps.  Its settings (:data:`PORTFOLIO`) and kicks (:data:`KICKS`) are
    fixed, so for a seed the answer is the same whenever the call ends
    before ``time_limit``.

    Examples
    --------
    >>> from terrakit.data.synthetic import synthetic_region
    >>> from terrakit.design import align
    >>> study = synthetic_region(n_units=60, n_reps=3, seed=1)
    >>> plan = align(study, balance={"workload": 0.05}, time_limit=10).alignment
    >>> res = rebalance(study, plan, balance={"workload": 0.10},
    ...                 max_moved=0.2, time_limit=10)  # doctest: +SKIP
    >>> res.moved_share <= 0.2  # doctest: +SKIP
    True
    """
    t_start = time.perf_counter()
    balance = _balance_spec(balance)
    _check_max_moved(max_moved)
    _check_settings(time_limit, seed, solver, backend, hops)  # before the setup
    contiguity = _check_contiguity(contiguity)
    setup = _setup(
        study,
        current,
        balance=balance,
        moved_measure=moved_measure,
        keep_top_accounts=keep_top_accounts,
        locked=locked,
        targets=targets,
        contiguity=contiguity,
        adjacency=adjacency,
        tie_break=tie_break,
    )
    # the time limit covers the setup (disruption costs, hop distances) too
    return _solve(
        setup,
        balance=balance,
        max_moved=max_moved,
        time_limit=time_limit,
        t0=t_start,
        seed=seed,
        solver=solver,
        backend=backend,
        hops=hops,
        name=name,
    )

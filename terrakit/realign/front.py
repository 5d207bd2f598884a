"""The disruption front: how much business must move for each balance tolerance."""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from terrakit.data.alignment import Alignment, make_provenance
from terrakit.design.align import _check_contiguity, _proved, _tolerance_list
from terrakit.design.result import relative_gap, tighter_plan_sources
from terrakit.exceptions import InfeasibleError, SpecificationError, TimeLimitWarning
from terrakit.realign.rebalance import (
    RebalanceResult,
    Solver,
    _balance_table,
    _check_max_moved,
    _check_settings,
    _current_targets,
    _setup,
    _solve,
)

__all__ = ["DisruptionFront", "disruption_front"]

_COLUMNS = (
    "tolerance",
    "moved",
    "moved_share",
    "lower_bound_share",
    "gap",
    "max_deviation",
    "units_moved",
    "status",
)
#: Statuses of a tolerance without a plan: proven impossible, or none found in
#: the time (no proof), as in :func:`terrakit.design.pareto`.
_FAILED = ("infeasible", "not_found")
#: The table's columns: the required ones and where each row's plan comes from.
_TABLE_COLUMNS = (*_COLUMNS, "from_tolerance")


@dataclass(frozen=True, eq=False)
class DisruptionFront:
    """Share of business moved against the balance tolerance.

    Parameters
    ----------
    table
        One row per tolerance (sorted loosest first): ``tolerance``,
        ``moved`` (total moved measure), ``moved_share``,
        ``lower_bound_share`` (proven lower bound on the share moved; with
        ``contiguity``, on instances small enough for the MIP over every
        pair, the bound may be that MIP's, which holds only for plans in
        which each rep keeps its root unit, as ``lower_bound`` of
        :class:`~terrakit.realign.RebalanceResult` says;
        ``results[τ].info["bound"]`` names the one reported),
        ``gap``, ``max_deviation`` (achieved largest relative deviation from
        target), ``units_moved``, ``status`` and ``from_tolerance``
        (the tolerance whose solve found the row's plan: the row's own, or a
        tighter one whose plan moves less, see :func:`disruption_front`).
        ``status`` is the rebalance's (``"optimal"``, ``"feasible"``,
        ``"time_limit"``) for a row with a plan; a row without one has NaN
        values, its reason in ``reasons`` and status ``"infeasible"`` when
        the band is proven impossible (a solver's proof, or a specification
        that cannot be met; with ``contiguity`` a proof by the MIP over every
        pair holds for the plans in which each rep keeps its root unit, its
        home unit or the unit of its current territory nearest its home,
        not for plans that give a root away) or ``"not_found"`` when the
        search found no plan in the band in its time (no proof that none
        exists: more time, or ``solver="mip"``, may find one), as in
        :func:`terrakit.design.pareto`.
    measure
        The balanced activity.
    moved_measure
        What disruption counts.
    current_deviation
        Largest relative deviation of the current alignment (moving nothing);
        when it leaves units without a territory (new units, placed by every
        plan), over the units it assigns, as ``balance_before`` of
        :func:`~terrakit.realign.rebalance` (NaN when it assigns none).
    results
        The :class:`~terrakit.realign.RebalanceResult` per feasible tolerance
        (that of ``from_tolerance``).
    reasons
        ``{tolerance: message}`` for the tolerances without a plan
        (``"infeasible"`` and ``"not_found"`` rows).
    provenance
        :func:`~terrakit.data.alignment.make_provenance` record.
    """

    table: pd.DataFrame
    measure: str
    moved_measure: str
    current_deviation: float
    results: Mapping[float, RebalanceResult] = field(default_factory=dict)
    reasons: Mapping[float, str] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in _COLUMNS if c not in self.table.columns]
        if missing:
            raise ValueError(f"front table misses columns {missing}")
        ok = self.table[~self.table["status"].isin(_FAILED)]
        if (ok["moved_share"] + 1e-9 < ok["lower_bound_share"]).any():
            raise ValueError("a moved share lies below its lower bound")
        object.__setattr__(self, "results", MappingProxyType(dict(self.results)))
        object.__setattr__(self, "reasons", MappingProxyType(dict(self.reasons)))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))

    def to_frame(self) -> pd.DataFrame:
        """The front table (a copy)."""
        return self.table.copy()

    def alignment(self, tolerance: float) -> Alignment:
        """The rebalanced alignment for one (feasible) tolerance."""
        for t, r in self.results.items():
            if math.isclose(t, tolerance):
                return r.alignment
        raise KeyError(
            f"no feasible rebalance at tolerance {tolerance}; feasible: "
            f"{sorted(self.results)}"
        )

    def summary(self) -> str:
        """Rounded, stable text (no timings)."""
        lines = [
            f"DisruptionFront: {self.moved_measure} moved vs ±{self.measure} balance",
            f"  current plan: max deviation {100 * self.current_deviation:.2f} %",
        ]
        t = self.table.copy()
        for c in ("tolerance", "moved_share", "lower_bound_share", "gap"):
            t[c] = (100 * t[c]).round(2)
        if "from_tolerance" in t.columns:
            t["from_tolerance"] = (100 * t["from_tolerance"]).round(2)
        t["max_deviation"] = (100 * t["max_deviation"]).round(2)
        t["moved"] = t["moved"].round(2)
        t = t.rename(
            columns={
                "tolerance": "tolerance_%",
                "moved_share": "moved_%",
                "lower_bound_share": "bound_%",
                "gap": "gap_%",
                "max_deviation": "max_dev_%",
                "from_tolerance": "from_%",
            }
        )
        lines.append(t.to_string(index=False))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _adopt_tighter_plans(
    rows: list[dict[str, Any]],
    results: dict[float, RebalanceResult],
    reasons: dict[float, str],
) -> None:
    """Give each tolerance the best plan of any tighter one when that moves
    less (it meets the looser band too); ``rows`` are loosest first."""
    order = rows[::-1]  # tightest first
    moved = [
        results[r["tolerance"]].moved if r["tolerance"] in results else math.nan
        for r in order
    ]
    for row, i in zip(order, tighter_plan_sources(moved), strict=True):
        if i is None:
            continue
        t, src = row["tolerance"], order[i]["tolerance"]
        r = results[src]
        lb = row["lower_bound_share"]  # the looser band's own bound holds
        gap = relative_gap(r.moved_share, lb) if r.moved_share > 0 else 0.0
        row.update(
            moved=r.moved,
            moved_share=r.moved_share,
            gap=gap,
            max_deviation=r.max_deviation,
            units_moved=float(r.info.get("units_moved", math.nan)),
            status="optimal" if gap <= 1e-4 else "feasible",
            from_tolerance=src,
        )
        results[t] = r
        reasons.pop(t, None)


def disruption_front(
    study: Any,
    current: Alignment | str | None = None,
    tolerances: Sequence[float] = (0.20, 0.10, 0.05, 0.03),
    *,
    measure: str = "workload",
    moved_measure: str = "sales",
    max_moved: float | None = None,
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
) -> DisruptionFront:
    """Least disruption for each balance tolerance: the disruption front.

    Parameters
    ----------
    study, current
        As for :func:`~terrakit.realign.rebalance` (units the current
        alignment leaves without a territory are placed by every plan, not
        counted as moved, and left out of ``current_deviation``).
    tolerances
        Balance tolerances ``τ`` on ``measure`` to try (any order; the table
        is sorted loosest first).
    measure
        The balanced activity.
    moved_measure, max_moved, keep_top_accounts, locked, targets, contiguity
        As for :func:`~terrakit.realign.rebalance` (the same for every point).
    adjacency
        A prebuilt adjacency; by default it is built once for all points.
    time_limit
        Seconds **per tolerance**.
    seed, solver, backend, hops, tie_break
        As for :func:`~terrakit.realign.rebalance`.

    Returns
    -------
    DisruptionFront
        Plot it with :func:`terrakit.plot.disruption_front`.

    Raises
    ------
    SpecificationError
        A specification that fails for every tolerance alike (unknown
        measure, lock to an unknown rep, targets that are not positive shares
        summing to 1...), and bad run settings (``seed``,
        ``time_limit``, ``solver``, ``backend``, ``hops``, ``max_moved``),
        checked before any work; and the error when every tolerance fails
        with the same :class:`SpecificationError` (e.g. a ``measure`` that
        totals 0 over the units), as :func:`terrakit.design.pareto` does.

    Notes
    -----
    Each point solves :func:`~terrakit.realign.rebalance` with
    ``balance={measure: τ}``: the least moved measure :math:`D^*(\\tau)`
    is non-increasing in :math:`\\tau` (a looser band admits every
    alignment of a tighter one); the proven lower bounds trace the same
    curve from below (with ``contiguity``, a bound or a proof of
    impossibility from the MIP over every pair covers the plans in which each
    rep keeps its root unit, see :func:`~terrakit.realign.rebalance`).  A
    tolerance whose bands cannot be met (within ``max_moved``) is reported
    as ``"infeasible"`` with the reason, one for which no plan was found in
    the time as ``"not_found"``; neither is dropped.  The problem
    (adjacency, locks, disruption costs) is built once.

    Each solve stops at its time limit, so a looser tolerance can come back
    with a plan that moves more than that of a tighter one.  Since the
    tighter plan meets the looser band too, every tolerance takes the best
    plan of any tolerance at least as tight (its row then says so in
    ``from_tolerance``, keeps its own lower bound and recomputes the gap), so
    the reported :math:`D(\tau)` is non-increasing like :math:`D^*(\tau)`.

    Examples
    --------
    >>> front = disruption_front(study, "current", [0.2, 0.1, 0.05])  # doctest: +SKIP
    >>> front.to_frame()[["tolerance", "moved_share", "status"]]  # doctest: +SKIP
    """
    tolerances = _tolerance_list(tolerances, "tolerances")
    if not tolerances:
        raise SpecificationError("give at least one tolerance")
    tols_in: list[float] = []
    for t in tolerances:
        try:
            tols_in.append(float(t))
        except (TypeError, ValueError):
            raise SpecificationError(
                f"tolerances must be numbers in [0, 1), got {t!r}"
            ) from None
    tols = sorted(set(tols_in), reverse=True)
    for t in tols:
        if not 0.0 <= t < 1.0:
            raise SpecificationError(f"tolerances must be in [0, 1), got {t}")
    # settings shared by every point are checked once, before any work: an
    # error in them is not the infeasibility of one tolerance
    backend, hops = _check_settings(time_limit, seed, solver, backend, hops)
    _check_max_moved(max_moved)
    contiguity = _check_contiguity(contiguity)
    setup = _setup(
        study,
        current,
        balance={measure: tols[0]},
        moved_measure=moved_measure,
        keep_top_accounts=keep_top_accounts,
        locked=locked,
        targets=targets,
        contiguity=contiguity,
        adjacency=adjacency,
        tie_break=tie_break,
    )
    # what every tolerance shares (targets, locks, roots) is checked once,
    # before any work: targets that do not sum to 1 are no proof that each band
    # is impossible (they were 'infeasible' rows); the band checks, which
    # depend on the tolerance, stay with each solve
    setup.problem.replace(tolerance={}).check()
    units = study.unit_measures() if study.accounts is not None else study.units
    # units without a current territory (new units, placed by the plan) are
    # left out of the current balance, as in rebalance's balance_before
    had = setup.cur_col != -1
    cur_dev = (
        float(
            _balance_table(
                units[had], setup.current, [measure], _current_targets(setup)
            ).loc[measure, "max_rel_dev"]
        )
        if had.any()
        else math.nan
    )
    rows = []
    results: dict[float, RebalanceResult] = {}
    reasons: dict[float, str] = {}
    spec_errors: list[SpecificationError] = []
    for t in tols:
        proved = True  # an error the solve raises: a proof unless it says not
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TimeLimitWarning)
                r = _solve(
                    setup,
                    balance={measure: t},
                    max_moved=max_moved,
                    time_limit=time_limit,
                    seed=seed,
                    solver=solver,
                    backend=backend,
                    hops=hops,
                    name=f"rebalanced_{t:g}",
                    warn_not_met=False,
                )
            if not r.is_feasible():
                # no plan in the band in time (no proof that none exists): the
                # front keeps plans in their band only, and the reason says
                # what the closest breaks
                proved = False
                raise InfeasibleError(str(r.info.get("not_met", "no plan found")))
        except (InfeasibleError, SpecificationError) as err:
            if isinstance(err, SpecificationError):
                spec_errors.append(err)
            reasons[t] = str(err)
            proved = proved and _proved(err)
            rows.append(
                {
                    "tolerance": t,
                    "moved": math.nan,
                    "moved_share": math.nan,
                    "lower_bound_share": math.nan,
                    "gap": math.nan,
                    "max_deviation": math.nan,
                    "units_moved": math.nan,
                    "status": "infeasible" if proved else "not_found",
                    "from_tolerance": math.nan,
                }
            )
            continue
        results[t] = r
        rows.append(
            {
                "tolerance": t,
                "moved": r.moved,
                "moved_share": r.moved_share,
                "lower_bound_share": r.lower_bound_share,
                "gap": r.gap,
                "max_deviation": r.max_deviation,
                "units_moved": float(r.info.get("units_moved", math.nan)),
                "status": r.status,
                "from_tolerance": t,
            }
        )
    if len(spec_errors) == len(tols) and len({str(e) for e in spec_errors}) == 1:
        # the same reason for every tolerance is not the tolerance (e.g. a
        # balanced measure that totals 0), as in terrakit.design.pareto
        raise spec_errors[0]
    _adopt_tighter_plans(rows, results, reasons)
    table = pd.DataFrame(rows, columns=list(_TABLE_COLUMNS))
    prov = make_provenance(
        "realign/disruption_front",
        seed=seed,
        config={
            **setup.config,
            # every point balances the measure at its own tolerance (the
            # setup's record holds the loosest only)
            "balance": {measure: list(tols)},
            "tolerances": tols,
            "measure": measure,
            "max_moved": max_moved,
            "time_limit": time_limit,
            "solver": solver,
            "backend": backend,
            "hops": hops,
        },
    )
    return DisruptionFront(
        table=table,
        measure=measure,
        moved_measure=moved_measure,
        current_deviation=cur_dev,
        results=results,
        reasons=reasons,
        provenance=prov,
    )

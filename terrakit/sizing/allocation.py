"""CALLPLAN-style call allocation: calls per account that maximise expected sales."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from terrakit._runargs import check_time_limit
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TimeLimitWarning,
)
from terrakit.sizing.response import ResponseCurves

__all__ = ["CallPlan", "allocate_calls", "greedy_knapsack", "milp_knapsack"]

#: Above this many (account, level) choices, method="auto" uses the greedy.
_MILP_MAX_CHOICES = 20_000


@dataclass(frozen=True)
class CallPlan:
    """Calls per account and year, and what they are expected to sell.

    Attributes
    ----------
    table
        Index ``account_id``: ``segment``, ``pool`` (the rep whose hours are
        spent, or ``"all"``), ``hours_per_call``, ``current_calls``,
        ``calls``, ``hours``, ``expected_sales`` (posterior mean at the
        planned calls) and ``current_expected_sales`` (at today's calls).
    budgets
        Selling hours per pool.
    objective
        Σ expected sales of the plan.
    upper_bound
        No plan can sell more: for the greedy the optimum of the continuous
        (piecewise-linear) relaxation of the concave envelope, for the MILP
        the smaller of that and HiGHS's dual bound (equal to ``objective``
        when proved optimal).
    status
        ``"optimal"`` (MILP proved optimal, or greedy with concave curves —
        every next call of an account gains no more than the one before,
        up to its cap — and equal hours per call in every pool),
        ``"greedy"`` (greedy with concave curves but unequal hours per call:
        within one call's gain of the optimum, see :func:`greedy_knapsack`),
        ``"feasible"`` (greedy with a non-concave, e.g. S-shaped, curve: a
        plan within budget but with no guarantee beyond ``upper_bound``; the
        greedy can miss much better plans, use ``method="milp"``) or
        ``"time_limit"``.  The worst status of the budget pools is
        reported.
    """

    table: pd.DataFrame
    budgets: pd.Series
    objective: float
    upper_bound: float
    method: str
    status: str
    provenance: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        need = {"segment", "pool", "calls", "hours", "expected_sales"}
        if not need <= set(self.table.columns):
            raise ValueError(f"table lacks {sorted(need - set(self.table.columns))}")
        used = self.table.groupby("pool")["hours"].sum()
        over = used - self.budgets.reindex(used.index).fillna(0.0)
        if (over > 1e-6 * (1.0 + self.budgets.max())).any():
            raise ValueError(f"plan exceeds budgets: {over[over > 0].to_dict()}")

    @property
    def gap(self) -> float:
        """Relative gap to the upper bound."""
        return max(
            0.0, (self.upper_bound - self.objective) / max(abs(self.upper_bound), 1e-12)
        )

    def by_segment(self) -> pd.DataFrame:
        """Accounts, mean calls now and planned, hours and expected sales."""
        g = self.table.groupby("segment")
        return pd.DataFrame(
            {
                "accounts": g.size(),
                "current_calls": g["current_calls"].mean(),
                "calls": g["calls"].mean(),
                "hours": g["hours"].sum(),
                "expected_sales": g["expected_sales"].sum(),
                "current_expected_sales": g["current_expected_sales"].sum(),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        """Rounded, stable text."""
        seg = self.by_segment()
        now = float(self.table["current_expected_sales"].sum())
        lines = [
            f"Call plan ({self.method}, {self.status}): expected sales "
            f"{self.objective:,.0f} (today's calls: {now:,.0f}), hours "
            f"{self.table['hours'].sum():,.0f} of {self.budgets.sum():,.0f}, "
            f"gap <= {self.gap:.2%}"
        ]
        for s, r in seg.iterrows():
            lines.append(
                f"  {s!s:<6} accounts {r['accounts']:>6,.0f}  calls "
                f"{r['current_calls']:>6.1f} -> {r['calls']:>6.1f}  sales "
                f"{r['expected_sales']:>14,.0f}"
            )
        return "\n".join(lines)


def greedy_knapsack(
    values: np.ndarray,
    weights: np.ndarray,
    budget: float,
    *,
    max_level: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Levels maximising Σ values[i, level_i] with Σ weights[i]·level_i ≤ budget.

    Parameters
    ----------
    values
        ``(n, K + 1)``: value of item ``i`` at level ``0..K`` (non-decreasing
        and concave in the level for the optimality statement below).
    weights
        ``(n,)`` cost of one level step of each item (> 0).
    budget
        Total cost allowed.
    max_level
        ``(n,)`` highest level each item may take (default ``K``); levels
        above it are not choices.

    Returns
    -------
    levels, bound
        Chosen level per item, and the optimum of the continuous relaxation.

    Notes
    -----
    **Why greedy is optimal for concave curves.**  Write the level of item
    :math:`i` as a sum of unit steps with gains
    :math:`g_{ik} = v_i(k) - v_i(k-1)`, all costing :math:`w_i`.  Concavity
    means :math:`g_{i1} \\ge g_{i2} \\ge \\dots`: among the steps of one item,
    earlier steps are never worse, so any selection of steps can be replaced
    by the first steps of each item without losing value or using more
    budget.  The problem is therefore a 0/1 knapsack over all steps with the
    prefix condition free.  The continuous relaxation of a 0/1 knapsack is
    solved exactly by taking items in decreasing order of value per cost and
    a fraction of the first that does not fit (Dantzig, 1957); by concavity
    that order takes each item's steps in order, so the greedy prefix is
    feasible for the piecewise-linear curve and its value plus the fraction
    is the relaxation optimum — returned as ``bound``.  For integer levels
    the greedy (which goes on filling the rest of the budget with steps that
    still fit) is within one step's gain of the optimum, and exactly optimal
    when all weights are equal and the budget is a multiple of them (then
    the best :math:`B/w` steps are taken).

    Non-concave rows (S-shaped Hill curves, :math:`\\gamma > 1`) are first
    replaced by their upper concave envelope: steps run between the
    envelope's vertices (for a Hill curve one composite step from 0 to the
    tangent point, then unit steps), each a real point of the curve.  The
    argument above holds with those steps as items; ``bound`` bounds the
    envelope problem and hence the original.  But a composite step is taken
    whole or not at all, so the greedy is then only within one *composite*
    step's gain of the optimum (many calls' worth: with room for 4 of the 5
    calls to the tangent point it may plan none), and equal weights no
    longer make it exact; :func:`allocate_calls` reports such plans as
    ``"feasible"``.  To prove optimality at whole calls for any shape use
    :func:`milp_knapsack`.
    """
    v = _cap_levels(np.asarray(values, dtype=float), max_level)
    w = np.asarray(weights, dtype=float)
    n, k1 = v.shape
    if (w <= 0).any():
        raise SpecificationError(f"step costs must be positive, got min {w.min():g}")
    if k1 < 2:
        return np.zeros(n, dtype=int), float(v[:, 0].sum())
    # Upper concave envelope of every row (rows that share a curve share the
    # work): steps between consecutive hull vertices, gains per call falling.
    uniq, inv = np.unique(v, axis=0, return_inverse=True)
    hulls = [_upper_hull(row) for row in uniq]
    parts_i, parts_f, parts_t = [], [], []
    for u, hull in enumerate(hulls):
        rows = np.flatnonzero(inv.ravel() == u)
        parts_i.append(np.repeat(rows, len(hull) - 1))
        parts_f.append(np.tile(hull[:-1], len(rows)))
        parts_t.append(np.tile(hull[1:], len(rows)))
    item = np.concatenate(parts_i)
    frm = np.concatenate(parts_f)
    to = np.concatenate(parts_t)
    gain = v[item, to] - v[item, frm]
    cost = (to - frm) * w[item]
    order = np.lexsort((to, -gain / cost))
    it, fr, st, g, ww = item[order], frm[order], to[order], gain[order], cost[order]
    cw = np.cumsum(ww)
    fits = (cw <= budget + 1e-9) & (g > 0)
    p = int(np.argmin(fits)) if not fits.all() else len(fits)
    levels = np.zeros(n, dtype=int)
    np.maximum.at(levels, it[:p], st[:p])
    if p < len(g) and g[p] > 0:
        used = cw[p - 1] if p > 0 else 0.0
        bound = float(v[:, 0].sum() + g[:p].sum() + g[p] * (budget - used) / ww[p])
    else:
        bound = float(v[:, 0].sum() + g[:p].sum())
    rem = budget - float((levels * w).sum())
    taken = np.zeros(len(g), dtype=bool)
    taken[:p] = True
    while True:  # fill what is left with the best next steps that still fit
        cand = (~taken) & (ww <= rem + 1e-9) & (fr == levels[it]) & (g > 0)
        if not cand.any():
            break
        q = int(np.argmax(cand))
        taken[q] = True
        levels[it[q]] = st[q]
        rem -= ww[q]
    return levels, max(bound, float(v[np.arange(n), levels].sum()))


def _cap_levels(v: np.ndarray, max_level: np.ndarray | None) -> np.ndarray:
    """``v`` held flat above each row's ``max_level`` (flat steps gain nothing,
    so the greedy never takes them)."""
    if max_level is None:
        return v
    top = np.clip(np.asarray(max_level, dtype=int), 0, v.shape[1] - 1)
    held = np.take_along_axis(v, top[:, None], axis=1)
    return np.where(np.arange(v.shape[1])[None, :] > top[:, None], held, v)


def _concave_rows(values: np.ndarray, max_level: np.ndarray) -> bool:
    """Whether every row's gains per level step never rise (up to its cap)."""
    v = _cap_levels(np.asarray(values, dtype=float), max_level)
    if v.shape[1] < 3:
        return True
    g = np.diff(v, axis=1)
    tol = 1e-9 * (1.0 + np.abs(v).max())
    return bool((np.diff(g, axis=1) <= tol).all())


def _upper_hull(row: np.ndarray) -> np.ndarray:
    """Levels that are vertices of the upper concave hull of ``row`` (from 0)."""
    hull: list[int] = []
    for k in range(len(row)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b if it lies on or below the chord from a to k
            if (row[b] - row[a]) * (k - a) <= (row[k] - row[a]) * (b - a):
                hull.pop()
            else:
                break
        hull.append(k)
    # keep only the rising part: steps with no gain are never worth taking
    out = [hull[0]]
    for k in hull[1:]:
        if row[k] > row[out[-1]]:
            out.append(k)
    return np.asarray(out, dtype=int)


#: HiGHS's relative MIP gap: its default (1e-4) stops at plans up to 0.01 %
#: below the optimum and calls them optimal — on a few million of sales more
#: than the greedy's one-call slack, so the "optimal" MILP could sell less
#: than the greedy.  1e-9 proves optimality up to rounding.
_MIP_REL_GAP = 1e-9


def milp_knapsack(
    values: np.ndarray,
    weights: np.ndarray,
    budget: float,
    *,
    time_limit: float = 60,
    max_level: np.ndarray | None = None,
) -> tuple[np.ndarray, str, float]:
    """Exact multiple-choice knapsack with PuLP/HiGHS (any curve shape).

    One binary per (item, level) up to the item's ``max_level`` (default
    all ``K + 1`` levels; higher levels are not choices), one level per
    item, Σ cost ≤ budget; solved to a relative gap of 1e-9 (HiGHS's default
    1e-4 accepts plans measurably worse than the greedy's).

    Returns
    -------
    levels, status, value
        Chosen levels, ``"optimal"`` or ``"time_limit"``, and the plan's
        value (the optimum, hence a bound, only with ``"optimal"``).  The
        better of the solver's plan and :func:`greedy_knapsack`'s is
        returned (the greedy one, with its relaxation's bound as the value,
        when the solver stops at the time limit with no plan yet); the
        proven upper bound is :attr:`CallPlan.upper_bound` of
        :func:`allocate_calls`.
    """
    levels, status, value, _ = _milp_solve(
        values, weights, budget, time_limit=time_limit, max_level=max_level
    )
    return levels, status, value


def _milp_solve(
    values: np.ndarray,
    weights: np.ndarray,
    budget: float,
    *,
    time_limit: float = 60,
    max_level: np.ndarray | None = None,
) -> tuple[np.ndarray, str, float, float]:
    """:func:`milp_knapsack` plus an upper bound on any plan's value.

    The bound is the smaller of HiGHS's dual bound and the greedy's
    relaxation bound (both valid for any curve shape), and at least the
    plan's value.
    """
    import pulp

    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    n, k1 = v.shape
    top = (
        np.full(n, k1 - 1, dtype=int)
        if max_level is None
        else np.clip(np.asarray(max_level, dtype=int), 0, k1 - 1)
    )
    time_limit = check_time_limit(time_limit)
    if not np.isfinite(budget) or budget < 0:
        raise SpecificationError(f"budget must be hours >= 0, got {budget!r}")
    if (w <= 0).any():
        raise SpecificationError(f"step costs must be positive, got min {w.min():g}")
    g_levels, relax = greedy_knapsack(v, w, budget, max_level=top)
    g_obj = float(v[np.arange(n), g_levels].sum())
    prob = pulp.LpProblem("callplan", pulp.LpMaximize)
    new_var = getattr(prob, "add_variable", None)  # PuLP >= 3.3
    x = {
        (i, k): (
            new_var(f"x_{i}_{k}", cat="Binary")
            if new_var is not None
            else pulp.LpVariable(f"x_{i}_{k}", cat="Binary")
        )
        for i in range(n)
        for k in range(top[i] + 1)
    }
    prob += pulp.lpSum(float(v[i, k]) * xv for (i, k), xv in x.items())
    for i in range(n):
        prob += pulp.lpSum(x[i, k] for k in range(top[i] + 1)) == 1
    prob += pulp.lpSum(
        float(w[i] * k) * xv for (i, k), xv in x.items() if k > 0
    ) <= float(budget)
    solver = pulp.HiGHS(msg=False, timeLimit=float(time_limit), gapRel=_MIP_REL_GAP)
    prob.solve(solver)
    status = pulp.LpStatus[prob.status]
    if status == "Not Solved":
        # the time limit came before HiGHS found any plan: the greedy one is
        # the best known answer (within one call's gain of the optimum for
        # concave curves), with the relaxation's bound
        return g_levels, "time_limit", relax, max(relax, g_obj)
    if status != "Optimal":
        raise SpecificationError(f"call allocation MILP ended with status {status!r}")
    sol = np.array(
        [
            [(x[i, k].value() or 0.0) if k <= top[i] else 0.0 for k in range(k1)]
            for i in range(n)
        ]
    )
    levels = np.argmax(sol, axis=1)
    obj = float(v[np.arange(n), levels].sum())
    sol_status = getattr(prob, "sol_status", pulp.LpSolutionOptimal)
    st = "optimal" if sol_status == pulp.LpSolutionOptimal else "time_limit"
    bound = min(relax, _highs_dual_bound(prob))
    if g_obj > obj:  # an early incumbent (or one within the gap) can be worse
        levels, obj = g_levels, g_obj
    return levels, st, obj, max(bound, obj)


def _highs_dual_bound(prob: Any) -> float:
    """HiGHS's proven bound on a maximisation's objective (``inf`` if unknown).

    PuLP hands HiGHS the negated objective, so its dual (lower) bound on
    the minimum is minus an upper bound on the maximum.
    """
    model = getattr(prob, "solverModel", None)
    try:
        b = float(model.getInfo().mip_dual_bound)  # type: ignore[union-attr]
    except Exception:  # another PuLP back end, or no MIP info
        return float("inf")
    return -b if np.isfinite(b) else float("inf")


def allocate_calls(
    rc: ResponseCurves,
    study: Any,
    hours_per_rep: float | None = 1_600,
    n_reps: int | None = None,
    *,
    method: Literal["auto", "greedy", "milp"] = "auto",
    max_calls: float | Mapping[str, float] | None = None,
    travel: Any = "model",
    time_limit: float = 60,
    segment: str = "segment",
) -> CallPlan:
    """Calls per account and year that maximise expected sales within rep time.

    Parameters
    ----------
    rc
        Response curves by segment.
    study
        The study; its accounts (segment, ``call_minutes``, ``calls_per_year``,
        ``rep_id``) and reps.
    hours_per_rep
        Selling hours of one rep per year; ``None`` uses
        ``reps.capacity_hours`` (per-rep budgets only).
    n_reps
        A sales force of this size shares one pool of ``n_reps ×
        hours_per_rep`` hours (sizing before boundaries exist).  ``None``:
        every current rep spends their own hours on their own accounts.
    method
        ``"greedy"`` (marginal return per hour; optimal for concave curves
        with equal hours per call, within one call's gain of the optimum for
        concave curves, no guarantee for S-shaped ones — see
        :class:`CallPlan` ``status`` and :func:`greedy_knapsack`),
        ``"milp"`` (exact for any curve at whole calls, PuLP/HiGHS) or
        ``"auto"`` (the MILP, whatever the curve shape, when accounts ×
        call levels is at most 20,000; the greedy above that).
    max_calls
        Most calls per account and year (default 4 × today's mean calls of
        the segment, at least 1).  Plans are in whole calls, so a fractional
        cap is rounded down (2.5 allows at most 2 calls; a cap below 1 allows
        none); no method plans calls above it.
    travel
        Travel estimate per call (see :func:`~terrakit.sizing.workload`).
    time_limit
        Seconds for the MILP.

    Returns
    -------
    CallPlan

    Raises
    ------
    SpecificationError
        For zero or negative hours or reps, a time limit that is not a
        positive number, an unknown method, or segments the curves lack
        (in the accounts or in ``max_calls``).
    DataValidationError
        When call data are missing.

    Warns
    -----
    TimeLimitWarning
        When the MILP stops at ``time_limit``; the best plan found is
        returned (status ``"time_limit"``, its gap to the bound in the
        message).

    Notes
    -----
    Account :math:`i` of segment :math:`s` with :math:`n_i` calls a year is
    expected to sell :math:`\\bar S_s(n_i) = E_{post}[S_s(n_i)]` (posterior
    mean of the curve), and costs :math:`t_i` hours per call (call minutes
    plus the day-tour travel estimate).  Per pool :math:`P` with budget
    :math:`B_P`:

    .. math:: \\max \\sum_{i} \\bar S_{s(i)}(n_i) \\quad
              \\text{s.t.} \\sum_{i \\in P} t_i n_i \\le B_P,\\;
              n_i \\in \\{0, \\dots, \\bar n_{s(i)}\\},

    a concave knapsack (CALLPLAN, Lodish 1971) when the curves are concave.

    Examples
    --------
    >>> plan = allocate_calls(rc, study, n_reps=22)  # doctest: +SKIP
    """
    from terrakit.sizing.headcount import _max_calls
    from terrakit.sizing.workload import _require_call_minutes, workload

    time_limit = check_time_limit(time_limit)
    if method not in ("auto", "greedy", "milp"):
        raise SpecificationError(f"method must be auto, greedy or milp, got {method!r}")
    acc = study.accounts
    _require_call_minutes(acc, fix="add call_minutes per account")
    wl = workload(study, call_minutes="call_minutes", travel=travel, segment=segment)
    t = wl.table
    hpc = ((t["call_minutes"] + t["travel_minutes"]) / 60.0).to_numpy(float)
    if (hpc <= 0).any():
        bad = t.index[hpc <= 0]
        raise DataValidationError(
            "accounts",
            "call_minutes",
            f"{len(bad)} accounts take 0 hours per call",
            rows=list(bad),
            fix="give call_minutes > 0",
        )
    seg = t["segment"].astype(str).to_numpy()
    unknown = sorted(set(seg) - set(rc.segments))
    if unknown:
        raise SpecificationError(
            f"the response curves have no segment {unknown}; they cover "
            f"{list(rc.segments)}"
        )
    if n_reps is not None:
        n = float(n_reps)
        if not np.isfinite(n) or n <= 0:
            raise SpecificationError(f"n_reps must be positive, got {n_reps!r}")
        if hours_per_rep is None:
            raise SpecificationError("n_reps needs hours_per_rep (hours of one rep)")
        hrs = float(hours_per_rep)
        if not np.isfinite(hrs) or hrs <= 0:
            raise SpecificationError(
                f"hours_per_rep must be positive, got {hours_per_rep!r}; give one "
                "rep's selling hours per year, e.g. 1_600"
            )
        pool = np.full(len(t), "all", dtype=object)
        budgets = pd.Series({"all": n * hrs}, name="hours")
    else:
        if "rep_id" not in acc.columns or acc["rep_id"].isna().any():
            raise DataValidationError(
                "accounts",
                "rep_id",
                "per-rep budgets need an owner for every account",
                fix="pass n_reps=... for one shared pool, or fill rep_id",
            )
        pool = acc["rep_id"].reindex(t.index).to_numpy(dtype=object)
        reps = study.reps
        if hours_per_rep is None:
            if reps is None or "capacity_hours" not in reps.columns:
                raise DataValidationError(
                    "reps",
                    "capacity_hours",
                    "hours_per_rep=None needs reps.capacity_hours",
                    fix="pass hours_per_rep=1_600",
                )
            budgets = (
                reps["capacity_hours"]
                .astype(float)
                .reindex(pd.unique(pool))
                .fillna(0.0)
            )
        else:
            hrs = float(hours_per_rep)
            if not np.isfinite(hrs) or hrs <= 0:
                raise SpecificationError(
                    f"hours_per_rep must be positive, got {hours_per_rep!r}; give "
                    "one rep's selling hours per year, e.g. 1_600"
                )
            budgets = pd.Series(hrs, index=pd.unique(pool))
        if (budgets <= 0).any():
            raise SpecificationError(
                f"reps with no selling hours: {list(budgets.index[budgets <= 0])[:5]}"
            )
        budgets = budgets.rename("hours")
    cmax = _max_calls(rc, max_calls)
    kmax = np.floor(cmax + 1e-9).astype(int)  # whole calls within the cap
    K = int(kmax.max())
    levels_all = np.arange(K + 1, dtype=float)
    seg_curve = np.empty((len(rc.segments), K + 1))
    for j, s in enumerate(rc.segments):
        seg_curve[j] = rc.expected_sales(levels_all, s)
    sj = np.array([rc.segments.index(s) for s in seg])
    values = seg_curve[sj]
    row_max = kmax[sj]  # levels above an account's cap are not choices
    chosen = np.zeros(len(t), dtype=int)
    bound = 0.0
    statuses = []
    use_milp = method == "milp" or (
        method == "auto" and len(t) * (K + 1) <= _MILP_MAX_CHOICES
    )
    for p, B in budgets.items():
        m = pool == p
        if not m.any():
            continue
        if use_milp:
            lv, st, _, b = _milp_solve(
                values[m],
                hpc[m],
                float(B),
                time_limit=time_limit,
                max_level=row_max[m],
            )
            bound += b
        else:
            lv, b = greedy_knapsack(values[m], hpc[m], float(B), max_level=row_max[m])
            bound += b
            st = (
                "feasible"
                if not _concave_rows(values[m], row_max[m])
                else "optimal"
                if np.allclose(hpc[m], hpc[m][0])
                else "greedy"
            )
        chosen[m] = lv
        statuses.append(st)
    if (chosen > row_max).any():  # an internal error, never a silent plan
        raise RuntimeError("call allocation planned calls above max_calls")
    cur_calls = t["calls"].to_numpy(float)
    exp_now = _fast_now(rc, cur_calls, sj)
    table = pd.DataFrame(
        {
            "segment": seg,
            "pool": pool,
            "hours_per_call": hpc,
            "current_calls": cur_calls,
            "calls": chosen.astype(float),
            "hours": chosen * hpc,
            "expected_sales": values[np.arange(len(t)), chosen],
            "current_expected_sales": exp_now,
        },
        index=t.index,
    )
    obj = float(table["expected_sales"].sum())
    status = next(
        (s for s in ("time_limit", "feasible", "greedy") if s in statuses), "optimal"
    )
    from terrakit.data.alignment import make_provenance

    prov = make_provenance(
        f"allocate_calls/{'milp/highs' if use_milp else 'greedy'}",
        seed=rc.provenance.get("seed"),
        config={
            "n_reps": n_reps,
            "hours_per_rep": hours_per_rep,
            "max_calls": cmax.tolist(),
            "travel": wl.travel,
            "time_limit": time_limit if use_milp else None,
            "segment": segment,
        },
        status=status,
        curves=dict(rc.provenance),
    )
    plan = CallPlan(
        table=table,
        budgets=budgets,
        objective=obj,
        upper_bound=max(bound, obj),
        method="milp/highs" if use_milp else "greedy",
        status=status,
        provenance=prov,
    )
    if status == "time_limit":
        n_hit = statuses.count("time_limit")
        warnings.warn(
            f"the call-allocation MILP stopped at its time limit of {time_limit:g} s "
            f"in {n_hit} of {len(statuses)} budget pools; the plan returned is the "
            f"best found, within {plan.gap:.2%} of the bound (raise time_limit, "
            "or use method='greedy')",
            TimeLimitWarning,
            stacklevel=2,
        )
    return plan


def _fast_now(rc: ResponseCurves, calls: np.ndarray, sj: np.ndarray) -> np.ndarray:
    out = np.empty(len(calls))
    for j, s in enumerate(rc.segments):
        m = sj == j
        out[m] = rc.expected_sales(calls[m], s)
    return out

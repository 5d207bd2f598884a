"""CALLPLAN-style call allocation: calls per account that maximise expected sales."""

from __future__ import annotations

import numbers
import time
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
        ``"optimal"`` (MILP proved optimal, greedy with concave curves —
        every next call of an account gains no more than the one before,
        up to its cap — and exactly equal hours per call in every pool, or
        any plan that meets its bound),
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
        """Relative gap to the upper bound (0 when they differ by rounding
        noise only: sums of the same sales in another order)."""
        diff = self.upper_bound - self.objective
        if diff <= 1e-9 * max(1.0, abs(self.upper_bound)):
            return 0.0
        return diff / max(abs(self.upper_bound), 1e-12)

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
        Chosen level per item, and the optimum of the continuous relaxation
        (no items: an empty plan and a bound of 0).

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
    when all weights are exactly equal (no plan takes more than
    :math:`\\lfloor B/w \\rfloor` steps, and the greedy takes the best that
    many).

    Non-concave rows (S-shaped Hill curves, :math:`\\gamma > 1`) are first
    replaced by their upper concave envelope: steps run between the
    envelope's vertices (for a Hill curve one composite step from 0 to the
    tangent point, then unit steps), each a real point of the curve; every
    level on a straight part of the envelope counts as a vertex, so a
    concave row, linear parts included, keeps its unit steps.  The
    argument above holds with those steps as items; ``bound`` bounds the
    envelope problem and hence the original.  But a composite step is taken
    whole or not at all, so the greedy is then only within one *composite*
    step's gain of the optimum (many calls' worth: with room for 4 of the 5
    calls to the tangent point it may plan none), and equal weights no
    longer make it exact; :func:`allocate_calls` reports such plans as
    ``"feasible"``.  To prove optimality at whole calls for any shape use
    :func:`milp_knapsack`.
    """
    v, w, budget, top = _check_knapsack(values, weights, budget, max_level)
    v = _cap_levels(v, top)
    n, k1 = v.shape
    if n == 0:  # nothing to choose: an empty plan worth nothing
        return np.zeros(0, dtype=int), 0.0
    if k1 < 2:
        return np.zeros(n, dtype=int), float(v[:, 0].sum())
    # Upper concave envelope of every row (rows that share a curve share the
    # work): steps between consecutive hull vertices, gains per call falling.
    uniq, inv = np.unique(v, axis=0, return_inverse=True)
    hulls = [_upper_hull(row) for row in uniq]
    parts_i, parts_f, parts_t, parts_r = [], [], [], []
    for u, hull in enumerate(hulls):
        rows = np.flatnonzero(inv.ravel() == u)
        # gain per level of each step, made non-increasing along the row: the
        # steps of a straight part have equal gains up to rounding, and the
        # sort below must still take them in order
        slope = np.minimum.accumulate(np.diff(uniq[u, hull]) / np.diff(hull))
        parts_i.append(np.repeat(rows, len(hull) - 1))
        parts_f.append(np.tile(hull[:-1], len(rows)))
        parts_t.append(np.tile(hull[1:], len(rows)))
        parts_r.append(np.tile(slope, len(rows)))
    item = np.concatenate(parts_i)
    frm = np.concatenate(parts_f)
    to = np.concatenate(parts_t)
    gain = v[item, to] - v[item, frm]
    cost = (to - frm) * w[item]
    order = np.lexsort((to, -np.concatenate(parts_r) / w[item]))
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


def _check_knapsack(
    values: Any, weights: Any, budget: Any, max_level: Any
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
    """The knapsack inputs as arrays, or a :class:`SpecificationError`.

    ``values`` a finite ``(n, K + 1)`` table, ``weights`` ``n`` finite costs
    > 0, ``budget`` a finite number >= 0 and ``max_level`` (if given) ``n``
    whole levels >= 0: shared by :func:`greedy_knapsack` and
    :func:`milp_knapsack`.
    """
    try:
        v = np.asarray(values, dtype=float)
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(
            f"values and weights must be numbers ({exc}); give values as an "
            "(items, levels) array and weights as one cost per item"
        ) from None
    if v.ndim != 2 or v.shape[1] < 1:
        raise SpecificationError(
            f"values must be an (items, levels) array, got shape {v.shape}"
        )
    n = v.shape[0]
    if w.shape != (n,):
        raise SpecificationError(
            f"weights must hold one cost per item: {n} items (rows of values), "
            f"got weights of shape {w.shape}"
        )
    if not np.isfinite(v).all():
        bad = np.flatnonzero(~np.isfinite(v).all(axis=1))
        raise SpecificationError(
            f"values must be finite; items {bad[:10].tolist()} hold NaN or inf"
        )
    if not (np.isfinite(w) & (w > 0)).all():
        bad = np.flatnonzero(~(np.isfinite(w) & (w > 0)))
        raise SpecificationError(
            f"weights (cost of one level step) must be finite and > 0; items "
            f"{bad[:10].tolist()} have {w[bad[:10]].tolist()}"
        )
    if isinstance(budget, (bool, np.bool_)) or not isinstance(
        budget, (int, float, np.integer, np.floating)
    ):
        raise SpecificationError(
            f"budget must be a number >= 0 (total cost allowed), got {budget!r}"
        )
    b = float(budget)
    if not np.isfinite(b) or b < 0:
        raise SpecificationError(
            f"budget must be a finite number >= 0 (total cost allowed), got {budget!r}"
        )
    top = None
    if max_level is not None:
        ml = np.asarray(max_level, dtype=float)
        if ml.shape != (n,) or not (np.isfinite(ml) & (ml >= 0)).all():
            raise SpecificationError(
                f"max_level must hold one level >= 0 per item ({n} items), got "
                f"shape {ml.shape}"
            )
        top = np.floor(ml).astype(int)
    return v, w, b, top


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
    """Levels on the upper concave hull of ``row`` (from 0).

    Levels *on* a straight part of the hull are kept (each a unit step of
    its own): merged into one composite step, a linear row was taken whole
    or not at all (0 of 3 calls with room for 2).  A level is dropped only
    when it lies below the chord of its neighbours by more than rounding
    (the tolerance of :func:`_concave_rows`, per level of the chord).
    """
    tol = 1e-9 * (1.0 + float(np.abs(row).max(initial=0.0)))
    hull: list[int] = []
    for k in range(len(row)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b if it lies below the chord from a to k (by more than tol
            # per level), times (k - a)
            below = (row[k] - row[a]) * (b - a) - (row[b] - row[a]) * (k - a)
            if below > tol * (k - a) ** 2:
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
    """Exact multiple-choice knapsack with HiGHS (highspy) (any curve shape).

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
    deadline: float | None = None,
) -> tuple[np.ndarray, str, float, float]:
    """:func:`milp_knapsack` plus an upper bound on any plan's value.

    The bound is the smaller of HiGHS's dual bound and the greedy's
    relaxation bound (both valid for any curve shape), and at least the
    plan's value.  ``deadline`` (a :func:`time.perf_counter` time, default
    now + ``time_limit``) bounds the whole call, the model's build
    included: HiGHS gets only the time left, and runs in a child process,
    killed a grace past it (the CBC runner's, 1 s + 10 % of the time left),
    when the model has more than :data:`_MILP_MAX_CHOICES` choices
    (HiGHS's setup of such a model — its clique table, its feasibility
    jump — ignores its own time limit: 20 to
    40 s on 90,000 choices with a limit of 1 s).  With no time left, or
    no plan from HiGHS in time, the greedy plan is returned with status
    ``"time_limit"`` — or ``"optimal"`` whenever a plan meets the bound.
    """
    t0 = time.perf_counter()
    time_limit = check_time_limit(time_limit)
    if deadline is None:
        deadline = t0 + time_limit
    v, w, budget, top0 = _check_knapsack(values, weights, budget, max_level)
    n, k1 = v.shape
    top = np.full(n, k1 - 1, dtype=int) if top0 is None else np.minimum(top0, k1 - 1)
    g_levels, relax = greedy_knapsack(v, w, budget, max_level=top)
    g_obj = float(v[np.arange(n), g_levels].sum())
    if _meets(g_obj, relax):  # the greedy plan meets its bound: nothing to prove
        return g_levels, "optimal", g_obj, max(relax, g_obj)
    arrays = _highs_arrays(v, w, budget, top)
    left = deadline - time.perf_counter()
    if left <= 0:  # no time left for HiGHS: the greedy plan, not proved
        return g_levels, "time_limit", relax, max(relax, g_obj)
    out: dict[str, Any] | None
    if len(arrays["cost"]) <= _MILP_MAX_CHOICES:
        out = _run_highs(arrays, left)
    else:
        out = _run_highs_child(arrays, deadline)
    if out is None or out["x"] is None:
        # the time limit came before HiGHS found any plan: the greedy one is
        # the best known answer (within one call's gain of the optimum for
        # concave curves), with the relaxation's bound
        return g_levels, "time_limit", relax, max(relax, g_obj)
    if out["status"] not in ("optimal", "time_limit"):
        raise SpecificationError(
            f"call allocation MILP ended with status {out['status']!r}"
        )
    sol = np.zeros((n, k1))
    cols = arrays["level"]
    sol[arrays["item"], cols] = out["x"]
    levels = np.argmax(sol, axis=1)
    obj = float(v[np.arange(n), levels].sum())
    st = out["status"]
    dual = out["bound"]
    bound = min(relax, dual if np.isfinite(dual) else np.inf)
    if g_obj > obj:  # an early incumbent (or one within the gap) can be worse
        levels, obj = g_levels, g_obj
    bound = max(bound, obj)
    if st == "time_limit" and _meets(obj, bound):  # proved optimal after all
        st = "optimal"
    return levels, st, obj, bound


def _meets(obj: float, bound: float) -> bool:
    """Whether a plan's value reaches the bound (up to :data:`_MIP_REL_GAP`)."""
    return bool(obj >= bound - _MIP_REL_GAP * max(1.0, abs(bound)))


def _highs_arrays(
    v: np.ndarray, w: np.ndarray, budget: float, top: np.ndarray
) -> dict[str, Any]:
    """The multiple-choice knapsack in column form for HiGHS.

    One binary per (item, level <= top): rows ``0..n-1`` take one level per
    item, row ``n`` keeps Σ weight · level within the budget.
    """
    n = len(w)
    item = np.repeat(np.arange(n), top + 1)
    level = np.arange(len(item)) - np.repeat(np.cumsum(top + 1) - (top + 1), top + 1)
    nz = level > 0
    per = 1 + nz.astype(np.int64)
    start = np.concatenate([[0], np.cumsum(per)]).astype(np.int32)
    index = np.empty(start[-1], dtype=np.int32)
    value = np.empty(start[-1])
    index[start[:-1]] = item
    value[start[:-1]] = 1.0
    index[start[:-1][nz] + 1] = n
    value[start[:-1][nz] + 1] = (w[item] * level)[nz]
    return {
        "item": item,
        "level": level,
        "cost": v[item, level],
        "start": start,
        "index": index,
        "value": value,
        "row_lower": np.concatenate([np.ones(n), [-np.inf]]),
        "row_upper": np.concatenate([np.ones(n), [float(budget)]]),
    }


def _run_highs(arrays: dict[str, Any], left: float) -> dict[str, Any]:
    """HiGHS in this process, for the time ``left`` (small models)."""
    from terrakit.sizing._highs_child import solve_arrays

    return solve_arrays(arrays, left, _MIP_REL_GAP)


def _child_script() -> str:
    """The script the HiGHS child process runs (:mod:`._highs_child`)."""
    from terrakit.sizing import _highs_child

    return str(_highs_child.__file__)


def _run_highs_child(arrays: dict[str, Any], deadline: float) -> dict[str, Any] | None:
    """HiGHS in a child process killed ``kill_grace`` seconds past the
    deadline (and when Python stops while it runs); ``None`` when it gave no
    answer in time."""
    import os
    import subprocess
    import sys
    import tempfile

    from terrakit._child import die_with_parent, kill_grace

    with tempfile.TemporaryDirectory(prefix="terrakit-callplan-") as tmp:
        src, dst = os.path.join(tmp, "model.npz"), os.path.join(tmp, "out.npz")
        np.savez(src, **arrays)
        left = deadline - time.perf_counter()
        if left <= 0:
            return None
        args = [sys.executable, _child_script(), src, dst, repr(time.time() + left)]
        args.append(repr(_MIP_REL_GAP))
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
        try:
            _, err = proc.communicate(timeout=left + kill_grace(left))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None
        if proc.returncode != 0 or not os.path.exists(dst):
            raise RuntimeError(
                f"the HiGHS process stopped with exit code {proc.returncode}: "
                f"{err.decode(errors='replace')[-500:]}"
            )
        with np.load(dst) as res:
            return {
                "status": str(res["status"]),
                "bound": float(res["bound"]),
                "x": res["x"] if bool(res["has_plan"]) else None,
            }


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
        ``"milp"`` (exact for any curve at whole calls, HiGHS) or
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
        Seconds for the whole call with the MILP (the model's build
        included; HiGHS gets the time left).  Above 20,000 choices (accounts
        × call levels) of a pool HiGHS runs in a child process killed
        shortly past the limit, as its setup of such models ignores the
        limit; a pool with no plan from HiGHS in time gets the greedy plan
        (status ``"time_limit"``).

    Returns
    -------
    CallPlan

    Raises
    ------
    SpecificationError
        For hours or reps that are not numbers (``"30"``, ``True``), zero
        or negative, ``n_reps`` that is not a whole number, a time limit
        that is not a positive number, an unknown method, or segments the
        curves lack in ``max_calls``.
    DataValidationError
        When call data are missing, accounts are in segments the curves
        lack, or (per-rep budgets) accounts have no ``rep_id``.

    Warns
    -----
    TimeLimitWarning
        When the MILP stops at ``time_limit`` short of proving its plan
        optimal; the best plan found is returned (status ``"time_limit"``,
        the seconds taken and its gap to the bound in the message).

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
    from terrakit.sizing.headcount import _max_calls, check_hours_per_rep
    from terrakit.sizing.workload import _require_call_minutes, workload

    t_start = time.perf_counter()
    time_limit = check_time_limit(time_limit)
    deadline = t_start + time_limit
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
        bad = t.index[~np.isin(seg, list(rc.segments))]
        raise DataValidationError(
            "accounts",
            segment,
            f"{len(bad)} accounts are in segments the response curves do not "
            f"cover: {unknown} (the curves cover {list(rc.segments)})",
            rows=list(bad),
            n_bad=len(bad),
            fix=f"recode them to one of {list(rc.segments)}, or calibrate curves "
            f"for {unknown}",
        )
    if n_reps is not None:
        if (
            isinstance(n_reps, bool | np.bool_)
            or not isinstance(n_reps, numbers.Real)
            or not np.isfinite(float(n_reps))
            or not float(n_reps).is_integer()
            or n_reps <= 0
        ):
            raise SpecificationError(
                f"n_reps must be a positive whole number of reps, got {n_reps!r}; "
                "e.g. n_reps=22, or None for every current rep's own hours"
            )
        n = float(n_reps)
        if hours_per_rep is None:
            raise SpecificationError("n_reps needs hours_per_rep (hours of one rep)")
        hrs = check_hours_per_rep(hours_per_rep)
        pool = np.full(len(t), "all", dtype=object)
        budgets = pd.Series({"all": n * hrs}, name="hours")
    else:
        if "rep_id" not in acc.columns:
            raise DataValidationError(
                "accounts",
                "rep_id",
                "per-rep budgets need an owner for every account, and the "
                "accounts have no rep_id column",
                fix="pass n_reps=... for one shared pool, or add rep_id",
            )
        if acc["rep_id"].isna().any():
            bad = acc.index[acc["rep_id"].isna()]
            raise DataValidationError(
                "accounts",
                "rep_id",
                f"per-rep budgets need an owner for every account; {len(bad)} "
                "accounts have none",
                rows=list(bad),
                n_bad=len(bad),
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
            hrs = check_hours_per_rep(hours_per_rep)
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
                deadline=deadline,
            )
            bound += b
        else:
            lv, b = greedy_knapsack(values[m], hpc[m], float(B), max_level=row_max[m])
            bound += b
            obj_p = float(values[m][np.arange(int(m.sum())), lv].sum())
            # proved optimal: concave curves with exactly equal hours per
            # call (see greedy_knapsack), or a plan that meets its bound
            st = (
                "optimal"
                if _meets(obj_p, b)
                else "feasible"
                if not _concave_rows(values[m], row_max[m])
                else "optimal"
                if (hpc[m] == hpc[m][0]).all()
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
            f"(after {time.perf_counter() - t_start:.1f} s, the model's build "
            f"included) in {n_hit} of {len(statuses)} budget pools; the plan "
            f"returned is the best found (the greedy one where HiGHS had no plan "
            f"in time), within {plan.gap:.2%} of the bound (raise time_limit, "
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

"""Balanced assignment for fixed centers, and its Lagrangian lower bound.

For fixed centers ``j = 0..k-1`` and a cost ``c_ij`` the balanced assignment is
the linear program

.. math::

    \\min \\sum_{ij} c_{ij} x_{ij} \\quad\\text{s.t.}\\quad
    \\sum_j x_{ij} = 1 \\;\\forall i, \\qquad
    L_{jm} \\le \\sum_i a_{im} x_{ij} \\le U_{jm} \\;\\forall j, m, \\qquad
    x \\ge 0,

a transportation problem with one balance row per territory and activity.  It
is solved with HiGHS (``highspy``) on a sparse candidate set (each unit's ``q``
cheapest territories), then by column generation: every left-out pair with a
negative reduced cost at the current duals is added and the LP re-solved
(warm start) until none is left, so the sparse answer is optimal for the full
LP.  A basic optimal solution splits at most ``k·m`` units between
territories, and those are rounded to their largest share.

**Lower bound.** For any multipliers ``y_{jm}`` of the balance rows,

.. math::

    \\mathcal{L}(y) = \\sum_i \\min_j \\Big(c_{ij} - \\sum_m a_{im} y_{jm}\\Big)
                    + \\sum_{jm} \\big(y^+_{jm} L_{jm} - y^-_{jm} U_{jm}\\big)

is at most the cost of every assignment that meets the bands (each dropped
term ``y^+ (a x - L)`` and ``y^- (U - a x)`` is non-negative), integral or
not, contiguous or not.  The minimum runs over *all* territories (not only the
sparse candidates), so the bound is valid for the full problem with these
centers; evaluated at the LP's band duals it equals the full LP optimum when
the sparse LP was already optimal for the full one.
"""

from __future__ import annotations

import math

import highspy
import numpy as np

from terrakit.design._highs import new_highs

__all__ = ["LPAssignment", "lagrangian_bound", "solve_assignment_lp"]


class LPAssignment:
    """Outcome of :func:`solve_assignment_lp`."""

    def __init__(
        self,
        labels: np.ndarray,
        objective: float,
        duals: np.ndarray,
        n_split: int,
        status: str,
        unit_duals: np.ndarray | None = None,
    ) -> None:
        self.unit_duals = unit_duals
        self.labels = labels
        self.objective = objective
        self.duals = duals
        self.n_split = n_split
        self.status = status


def _candidates(cost: np.ndarray, q: int, locked: np.ndarray | None) -> np.ndarray:
    """Sparse candidate territories per unit: ``(n, q)`` indices."""
    n, k = cost.shape
    q = min(q, k)
    if q == k:
        cand = np.broadcast_to(np.arange(k), (n, k)).copy()
    else:
        cand = np.argpartition(cost, q - 1, axis=1)[:, :q]
    if locked is not None:
        fixed = locked >= 0
        cand[fixed] = locked[fixed][:, None]
    return cand


def solve_assignment_lp(
    cost: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    q: int = 8,
    locked: np.ndarray | None = None,
    time_limit: float = 60.0,
) -> LPAssignment:
    """Balanced assignment LP on the ``q`` cheapest territories per unit,
    completed by column generation (optimal for the full LP).

    ``cost`` is ``(n, k)`` (``inf`` = forbidden pair).  The band rows are
    elastic (penalised slack) while columns are generated; status
    ``"infeasible"`` when slack is left at the end (the full LP is
    infeasible).
    """
    n, k = cost.shape
    m = activities.shape[1]
    finite = np.isfinite(cost)
    cand = _candidates(np.where(finite, cost, np.inf), q, locked)
    rows = np.repeat(np.arange(n), cand.shape[1])
    cols = cand.ravel()
    keep = finite[rows, cols]
    # a locked unit appears q times: keep one copy
    if locked is not None:
        dup = np.zeros_like(keep)
        dup.reshape(n, -1)[:, 1:] = (locked >= 0)[:, None]
        keep &= ~dup
    rows, cols = rows[keep], cols[keep]
    res = _solve_lp(
        cost,
        rows,
        cols,
        activities,
        lower,
        upper,
        n,
        k,
        m,
        time_limit,
        locked=locked,
    )
    if res is None:
        return LPAssignment(np.full(n, -1), math.inf, np.zeros((k, m)), 0, "infeasible")
    x, obj, duals, status, unit_duals, rows, cols = res
    order = np.lexsort((-x, rows))
    first = np.ones(len(order), dtype=bool)
    first[1:] = rows[order[1:]] != rows[order[:-1]]
    labels = np.full(n, -1, dtype=np.int64)
    labels[rows[order[first]]] = cols[order[first]]
    split = np.zeros(n, dtype=bool)
    frac = (x > 1e-7) & (x < 1 - 1e-7)
    split[rows[frac]] = True
    return LPAssignment(labels, obj, duals, int(split.sum()), status, unit_duals)


def _solve_lp(
    cost: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    n: int,
    k: int,
    m: int,
    time_limit: float,
    *,
    locked: np.ndarray | None = None,
    max_rounds: int = 20,
) -> (
    tuple[np.ndarray, float, np.ndarray, str, np.ndarray, np.ndarray, np.ndarray] | None
):
    """Sparse LP, then column generation: pairs ``(i, j)`` left out of the
    candidate set whose reduced cost ``c_ij − a_i·y_j − u_i`` is negative at
    the current duals are added (warm-started re-solve) until none is left,
    so the answer is optimal for the full LP (locked units keep their
    column).  Returns ``x, objective, band duals, status, unit duals`` and the
    final ``rows, cols`` of the columns."""
    c = cost[rows, cols]
    n_var = len(c)
    # scale the objective so HiGHS tolerances are meaningful
    fin = np.isfinite(cost)
    cscale = float(np.abs(cost[fin]).max()) if fin.any() else 1.0
    cscale = cscale if cscale > 0 else 1.0
    ascale = np.abs(activities).max(axis=0)
    ascale[ascale == 0] = 1.0
    a = activities / ascale

    def column_block(r: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.empty((len(r), 1 + m), dtype=np.int32)
        val = np.empty((len(r), 1 + m))
        idx[:, 0] = r
        idx[:, 1:] = n + j[:, None] * m + np.arange(m)[None, :]
        val[:, 0] = 1.0
        val[:, 1:] = a[r]
        return idx.ravel(), val.ravel()

    # elastic band rows: 2·k·m slack columns (first in the model) with a
    # large penalty keep the sparse LP feasible while columns are generated;
    # slack left at the end means the full LP is infeasible
    n_slack = 2 * k * m
    big = 1e5
    band_rows = n + np.arange(k * m)
    lp = highspy.HighsLp()
    lp.num_col_ = n_slack + n_var
    lp.num_row_ = n + k * m
    lp.col_cost_ = np.concatenate([np.full(n_slack, big), c / cscale])
    lp.col_lower_ = np.zeros(n_slack + n_var)
    lp.col_upper_ = np.concatenate([np.full(n_slack, np.inf), np.ones(n_var)])
    lp.row_lower_ = np.concatenate([np.ones(n), (lower / ascale).ravel()])
    lp.row_upper_ = np.concatenate([np.ones(n), (upper / ascale).ravel()])
    idx, val = column_block(rows, cols)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate(
        [
            np.arange(n_slack, dtype=np.int32),
            n_slack + np.arange(0, n_var * (1 + m) + 1, 1 + m, dtype=np.int32),
        ]
    )
    lp.a_matrix_.index_ = np.concatenate(
        [np.concatenate([band_rows, band_rows]).astype(np.int32), idx]
    )
    lp.a_matrix_.value_ = np.concatenate([np.ones(k * m), -np.ones(k * m), val])
    h = new_highs()
    h.setOptionValue("time_limit", float(max(time_limit, 1.0)))
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    present = np.zeros((n, k), dtype=bool)
    present[rows, cols] = True
    free = np.ones(n, dtype=bool) if locked is None else np.asarray(locked) < 0
    step = max(1, 2_000_000 // max(k, 1))
    for _ in range(max_rounds):
        sol = h.getSolution()
        row_dual = np.asarray(sol.row_dual)
        duals = (row_dual[n:].reshape(k, m) / ascale[None, :]) * cscale
        u = row_dual[:n] * cscale
        add_r: list[np.ndarray] = []
        add_c: list[np.ndarray] = []
        for s0 in range(0, n, step):
            blk = slice(s0, s0 + step)
            red = cost[blk] - activities[blk] @ duals.T - u[blk, None]
            neg = (red < -1e-7 * cscale) & ~present[blk] & free[blk, None]
            r, j = np.nonzero(neg)
            add_r.append(r + s0)
            add_c.append(j)
        new_r = np.concatenate(add_r).astype(np.int64)
        new_c = np.concatenate(add_c).astype(np.int64)
        if len(new_r) == 0:
            break
        present[new_r, new_c] = True
        idx, val = column_block(new_r, new_c)
        h.addCols(
            len(new_r),
            cost[new_r, new_c] / cscale,
            np.zeros(len(new_r)),
            np.ones(len(new_r)),
            len(idx),
            np.arange(0, len(idx), 1 + m, dtype=np.int32),
            idx,
            val,
        )
        rows = np.concatenate([rows, new_r])
        cols = np.concatenate([cols, new_c])
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
    sol = h.getSolution()
    x_all = np.asarray(sol.col_value)
    if float(x_all[:n_slack].sum()) > 1e-7:
        return None
    x = x_all[n_slack:]
    row_dual = np.asarray(sol.row_dual)
    duals = (row_dual[n:].reshape(k, m) / ascale[None, :]) * cscale
    obj = float(np.dot(x, cost[rows, cols]))
    return x, obj, duals, "optimal", row_dual[:n] * cscale, rows, cols


def lagrangian_bound(
    cost_rows: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    duals: np.ndarray,
    locked: np.ndarray | None = None,
) -> float:
    """:math:`\\mathcal{L}(y)` of the module docstring for ``y = duals``.

    ``cost_rows`` is the full ``(n, k)`` cost (``inf`` = forbidden), so the
    inner minimum runs over every territory.  ``locked[i] >= 0`` fixes unit
    ``i`` to that territory (a constraint of the problem, e.g. a rep's home
    unit under contiguity): its inner minimum is the locked term only, which
    keeps the bound valid and makes it tighter.
    """
    n = cost_rows.shape[0]
    total = float(
        (np.maximum(duals, 0) * lower).sum() - (np.maximum(-duals, 0) * upper).sum()
    )
    step = max(1, 2_000_000 // max(cost_rows.shape[1], 1))
    for s in range(0, n, step):
        a = activities[s : s + step]
        red = cost_rows[s : s + step] - a @ duals.T
        inner = red.min(axis=1)
        if locked is not None:
            lk = np.asarray(locked[s : s + step])
            fix = lk >= 0
            inner[fix] = red[np.flatnonzero(fix), lk[fix]]
        total += float(inner.sum())
    return total

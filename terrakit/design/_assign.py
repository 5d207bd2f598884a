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
import time

import highspy
import numpy as np

from terrakit.design._highs import new_highs
from terrakit.design._model import backend_seed

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
    elastic (penalised slack) while columns are generated.  ``status``:

    - ``"optimal"``: optimal for the full LP (no left-out column prices out);
    - ``"infeasible"``: optimal for the full LP with band slack left, so no
      (fractional) assignment meets every band; ``labels`` are ``-1``;
    - ``"time_limit"``: HiGHS or the column generation stopped at
      ``time_limit`` seconds (wall clock, for the whole call).  The current
      iterate is kept: every unit gets its largest share (its cheapest
      candidate when it has none), bands may be broken, and ``duals`` are
      whatever the last iterate had (the Lagrangian bound stays valid for
      any multipliers);
    - ``"rounds"``: the column generation hit its round limit; optimal for
      the columns generated so far.
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
    if status != "optimal":
        # a time-limited iterate need not be primal feasible: a unit without
        # a positive share goes to its cheapest candidate (or its lock)
        share = np.zeros(n)
        np.maximum.at(share, rows, x)
        lost = np.flatnonzero(share <= 1e-9)
        if len(lost):
            cl = np.take_along_axis(cost[lost], cand[lost], axis=1)
            cl = np.where(np.isfinite(cl), cl, np.inf)
            labels[lost] = cand[lost, np.argmin(cl, axis=1)]
        if locked is not None:
            fix = locked >= 0
            labels[fix] = locked[fix]
        obj = float(cost[np.arange(n), labels].sum())
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
    a, ascale = _scaled(activities)

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
    idx, val = _column_block(a, rows, cols, n)
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
    deadline = time.perf_counter() + max(float(time_limit), 0.0)
    h = new_highs()
    h.passModel(lp)
    status = _run(h, deadline)
    if status == "infeasible":
        return None
    present = np.zeros((n, k), dtype=bool)
    present[rows, cols] = True
    free = np.ones(n, dtype=bool) if locked is None else np.asarray(locked) < 0
    step = max(1, 2_000_000 // max(k, 1))
    priced_out = False
    for _ in range(max_rounds):
        if status != "optimal":
            break
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
            priced_out = True
            break
        if time.perf_counter() >= deadline:
            status = "time_limit"
            break
        present[new_r, new_c] = True
        idx, val = _column_block(a, new_r, new_c, n)
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
        status = _run(h, deadline)
        if status == "infeasible":
            return None
    if status == "optimal" and not priced_out:
        status = "rounds"  # optimal for the columns so far, not proven for all
    sol = h.getSolution()
    x_all = np.asarray(sol.col_value)
    if len(x_all) != n_slack + len(rows):
        # no primal values at all (stopped before the first iterate)
        x_all = np.zeros(n_slack + len(rows))
        status = "time_limit"
    slack = float(x_all[:n_slack].sum())
    if status == "optimal" and slack > 1e-7:
        # optimal for the full LP (no column prices out) with band slack
        # left: no fractional assignment meets every band
        return None
    x = x_all[n_slack:]
    row_dual = np.asarray(sol.row_dual)
    if len(row_dual) == n + k * m:
        duals = (row_dual[n:].reshape(k, m) / ascale[None, :]) * cscale
        unit_duals = row_dual[:n] * cscale
    else:
        duals, unit_duals = np.zeros((k, m)), np.zeros(n)
    obj = float(np.dot(x, cost[rows, cols]))
    return x, obj, duals, status, unit_duals, rows, cols


def _scaled(activities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Activities divided by their largest magnitude per column (so HiGHS
    tolerances are meaningful), and those divisors."""
    ascale = np.abs(activities).max(axis=0)
    ascale[ascale == 0] = 1.0
    return activities / ascale, ascale


def _column_block(
    a: np.ndarray, r: np.ndarray, j: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and values of the columns of pairs ``(r, j)``: a 1 in unit
    ``r``'s assignment row, ``a[r]`` in territory ``j``'s band rows (after the
    ``n`` assignment rows, ``m`` per territory)."""
    m = a.shape[1]
    idx = np.empty((len(r), 1 + m), dtype=np.int32)
    val = np.empty((len(r), 1 + m))
    idx[:, 0] = r
    idx[:, 1:] = n + j[:, None] * m + np.arange(m)[None, :]
    val[:, 0] = 1.0
    val[:, 1:] = a[r]
    return idx.ravel(), val.ravel()


def _run(h: highspy.Highs, deadline: float) -> str:
    """Run HiGHS until ``deadline``: ``"optimal"``, ``"infeasible"`` (the
    elastic LP itself, only when something else is wrong) or ``"time_limit"``
    (stopped by the clock or an iteration limit: the model may still be
    feasible, and the current iterate is kept)."""
    left = deadline - time.perf_counter()
    if left <= 0:
        return "time_limit"
    h.setOptionValue("time_limit", float(left))
    h.run()
    st = h.getModelStatus()
    if st == highspy.HighsModelStatus.kOptimal:
        return "optimal"
    if st in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        return "infeasible"
    return "time_limit"


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
    pos, neg = np.maximum(duals, 0.0), np.maximum(-duals, 0.0)
    # an open side of a band (lower 0 · ... or upper inf) has a zero multiplier
    # and adds nothing: 0 · inf must not make the bound NaN
    lo = np.multiply(pos, lower, out=np.zeros_like(pos), where=pos > 0)
    hi = np.multiply(neg, upper, out=np.zeros_like(neg), where=neg > 0)
    total = float(lo.sum() - hi.sum())
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


#: most unit–territory pairs :func:`round_by_mip` models (binaries)
ROUND_MIP_MAX_PAIRS = 250_000


def round_by_mip(
    cost: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    labels: np.ndarray,
    *,
    q: int = 8,
    locked: np.ndarray | None = None,
    time_limit: float = 10.0,
    seed: int = 0,
    polish: bool = True,
    move_cost: float = 0.0,
) -> np.ndarray | None:
    """An integral assignment for fixed centers that meets every band with the
    fewest units moved from ``labels``, or ``None``; with ``polish``, then the
    cheapest one HiGHS finds from it in the time left.

    With ``move_cost > 0`` each unit's assignment also costs ``move_cost ×``
    its cost over the mean cost of ``labels`` (in move units): among plans
    with about as few moves, a cheap one.  For chosen centers, where no
    polish follows and the centers then move to the plan's medoids: with
    0.3 the sample's ten-centers plan at 20 s was 2.07e8–2.52e8 over seeds
    0–5, against 2.13e8–4.79e8 with the count alone (benchmarks/README.md).

    For bands that the rounded LP and the move repairs leave broken: several
    activities with heavy units, where one unit is a large share of a band.
    The MIP (HiGHS) counts the units moved away from ``labels``, each to one
    of its ``q`` cheapest territories; cost is left to the local search that
    follows (with the cost as objective HiGHS needs 10 s for a first
    solution where the count needs under 3 s: sample study, 10 chosen
    centers, two bands).  When that MIP is proven infeasible and every pair
    fits in :data:`ROUND_MIP_MAX_PAIRS`, it is solved again on all
    territories.  ``None``: no assignment in band found within
    ``time_limit`` (or the model would exceed :data:`ROUND_MIP_MAX_PAIRS`).
    ``labels`` already in every band skip the count (center relocation: the
    same plan, new centers, only the cost to improve).
    """
    n, k = cost.shape
    m = activities.shape[1]
    deadline = time.perf_counter() + max(float(time_limit), 0.0)
    fin = np.isfinite(cost)
    sums = np.zeros((k, m))
    np.add.at(sums, labels, activities)
    in_band = bool(np.all(sums >= lower - 1e-9) and np.all(sums <= upper + 1e-9))
    widths = [min(q, k)] + ([k] if q < k else [])
    for width in widths:
        left = deadline - time.perf_counter()
        if n * (width + 1) > ROUND_MIP_MAX_PAIRS or left <= 0.05:
            return None
        cand = _candidates(np.where(fin, cost, np.inf), width, locked)
        pairs = np.unique(
            np.concatenate(
                [
                    np.column_stack(
                        [np.repeat(np.arange(n), cand.shape[1]), cand.ravel()]
                    ),
                    np.column_stack([np.arange(n), labels]),
                ]
            ),
            axis=0,
        )
        keep = fin[pairs[:, 0], pairs[:, 1]]
        if locked is not None:
            lk = np.asarray(locked)
            keep &= (lk[pairs[:, 0]] < 0) | (lk[pairs[:, 0]] == pairs[:, 1])
        rows, cols = pairs[keep, 0], pairs[keep, 1]
        moved = (cols != labels[rows]).astype(float)
        args = (activities, lower, upper, rows, cols, n, k, m)
        if in_band:
            out: np.ndarray | bool | None = np.asarray(labels)
        else:
            share = 0.5 if polish else 1.0
            obj = moved
            if move_cost > 0:
                ref = float(np.mean(cost[np.arange(n), labels]))
                if np.isfinite(ref) and ref > 0:
                    obj = moved + move_cost * cost[rows, cols] / ref
            out = _band_mip(obj, *args, time_limit=share * left, seed=seed)
        if out is None:
            return None  # stopped by the clock: a wider model will not do better
        if not isinstance(out, np.ndarray):
            continue  # proven infeasible on these pairs
        # then the cost, from that plan, for the time left
        left = deadline - time.perf_counter()
        if polish and left > 0.05:
            better = _band_mip(
                cost[rows, cols], *args, time_limit=left, seed=seed, start=out
            )
            if isinstance(better, np.ndarray) and (
                cost[np.arange(n), better].sum() <= cost[np.arange(n), out].sum()
            ):
                out = better
        return out
    return None


def _band_mip(
    c: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    n: int,
    k: int,
    m: int,
    *,
    time_limit: float,
    seed: int,
    start: np.ndarray | None = None,
) -> np.ndarray | bool | None:
    """The assignment MIP with cost ``c[p]`` for the pair ``(rows[p], cols[p])``:
    labels, ``False`` (proven infeasible on these pairs) or ``None`` (no
    solution in time)."""
    if np.bincount(rows, minlength=n).min() == 0:
        return False
    cscale = float(np.abs(c).max()) or 1.0
    a, ascale = _scaled(activities)
    # columns by (territory, unit): the order HiGHS saw in the recorded runs
    order = np.lexsort((rows, cols))
    rows, cols, c = rows[order], cols[order], c[order]
    n_var = len(rows)
    idx, val = _column_block(a, rows, cols, n)
    lp = highspy.HighsLp()
    lp.num_col_ = n_var
    lp.num_row_ = n + k * m
    lp.col_cost_ = c / cscale
    lp.col_lower_ = np.zeros(n_var)
    lp.col_upper_ = np.ones(n_var)
    lp.row_lower_ = np.concatenate([np.ones(n), (lower / ascale).ravel()])
    lp.row_upper_ = np.concatenate([np.ones(n), (upper / ascale).ravel()])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, n_var * (1 + m) + 1, 1 + m, dtype=np.int32)
    lp.a_matrix_.index_ = idx
    lp.a_matrix_.value_ = val
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_var
    h = new_highs()
    h.passModel(lp)
    h.setOptionValue("time_limit", float(time_limit))
    # HiGHS takes seeds below 2**31 (a larger one was replaced by 0 silently)
    h.setOptionValue("random_seed", backend_seed(seed))
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = (start[rows] == cols).astype(float).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    st = h.getModelStatus()
    if st in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        return False
    x = np.asarray(h.getSolution().col_value)
    if len(x) != n_var or h.getInfo().primal_solution_status != 2:
        return None
    on = x > 0.5
    labels = np.full(n, -1, dtype=np.int64)
    labels[rows[on]] = cols[on]
    return labels if (labels >= 0).all() else None

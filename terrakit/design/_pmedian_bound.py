"""A valid lower bound when the centers are chosen (``center_mode="choose"``).

When the solver picks ``k`` of ``m`` candidate centers, a bound for the
assignment with the *final* centers is not a bound for the problem.  We use the
Lagrangian relaxation of the assignment rows (``Σ_j x_ij = 1``) of the banded
k-median model, dropping other activities and contiguity (dropping constraints
only lowers the optimum):

.. math::

    \\mathcal{L}(u) = \\sum_i u_i + \\min_{|S| = k} \\sum_{j \\in S} \\rho_j(u),
    \\qquad
    \\rho_j(u) = \\min \\Big\\{ \\sum_i (c_{ij} - u_i) x_i :
        \\ell \\le \\sum_i a_i x_i \\le U,\\; 0 \\le x \\le 1 \\Big\\},

a fractional knapsack per center: the units in increasing order of
``(c_ij − u_i) / a_i`` up to the weight ``clip(Σ_{c_ij < u_i} a_i, ℓ, U)``.
``L(u)`` is at most the optimum for *every* ``u`` (weak duality; the knapsack
LP is a relaxation of each territory's assignment), and its maximum over ``u``
is the LP optimum of the banded k-median.  Two evaluations:

- :func:`banded_kmedian_bound` keeps both bands and is dense (numba, one pass
  over the ``n × m`` costs per step).  The lower band is what makes the bound
  useful at national scale: a territory in a sparse region must still gather a
  full territory's population, so its squared distances are large.  It starts
  at each unit's cost in the heuristic's solution.  On the US counties (3,149
  units, 100 territories, ±3 %) it gives 0.82 × the heuristic's objective,
  where the capacity-only bound gives 0.09 ×.
- :func:`pmedian_lagrangian_bound` keeps only the upper band (``ℓ = 0``) and is
  sparse, for large ``n · m``: it is evaluated on each unit's ``K`` cheapest
  candidates; capping ``u_i`` at its ``K``-th cheapest cost makes every
  left-out pair's reduced cost non-negative, so the sparse evaluation is exact.
  ``u`` starts at each unit's cheapest cost (where :math:`\\mathcal{L}` is the
  "every unit at its nearest candidate" bound).  When lower bands bind it can
  be far below the optimum: the reported gap is then an honest over-estimate.

Both follow subgradient steps scaled by each unit's activity (Polyak step
towards the heuristic's objective, halved after ``patience`` steps without
progress) and return the best value seen.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np

#: Largest ``n · m`` (units × candidates) for which the chosen-centers bound
#: uses the dense banded evaluation (a transposed float copy of the costs,
#: 8 bytes a pair, and one pass over them per subgradient step).
BANDED_BOUND_CELLS = 25_000_000


class _Polyak:
    """Step control of the subgradient ascents: a Polyak step towards the
    heuristic's objective, scaled by ``lam``, halved after ``patience`` steps
    without a better value; the best value is kept."""

    def __init__(self, upper_bound: float, step_size: float, patience: int) -> None:
        self.upper_bound = float(upper_bound)
        self.lam = float(step_size)
        self.patience = int(patience)
        self.best = -math.inf
        self.stall = 0

    def record(self, value: float) -> bool:
        """Note ``value``; ``False`` once the step has shrunk to nothing."""
        if value > self.best + 1e-7 * max(abs(value), 1.0):
            self.best = value
            self.stall = 0
            return True
        self.stall += 1
        if self.stall >= self.patience:
            self.lam /= 2
            self.stall = 0
        return self.lam >= 1e-5

    def step(self, value: float, gg: float) -> float:
        """Step length for a (preconditioned) subgradient of squared norm ``gg``."""
        ub = self.upper_bound
        return self.lam * max(ub - value, 1e-9 * max(abs(ub), 1.0)) / gg


def _knapsack_rho(
    i: np.ndarray,
    j: np.ndarray,
    r: np.ndarray,
    a: np.ndarray | None,
    cap: float,
    m: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per center: min Σ r x over 0 ≤ x ≤ 1 with Σ a x ≤ cap (r < 0 given).

    Returns ``rho (m,)`` and the fraction taken for each pair.
    """
    if a is None or not np.isfinite(cap):
        f = np.ones(len(r))
        return np.bincount(j, weights=r, minlength=m), f
    ai = a[i]
    f = np.ones(len(r))
    # only centers whose negative items exceed the capacity need the sort
    over = np.bincount(j, weights=ai, minlength=m) > cap
    sel = np.flatnonzero(over[j])
    if len(sel):
        ai_s, j_s = ai[sel], j[sel]
        ratio = np.where(ai_s > 0, r[sel] / np.maximum(ai_s, 1e-300), -np.inf)
        order = np.lexsort((ratio, j_s))
        js, aa = j_s[order], ai_s[order]
        cum = np.cumsum(aa)
        start = np.searchsorted(js, js, side="left")
        before = cum - aa - np.where(start > 0, cum[start - 1], 0.0)
        f_sorted = np.clip((cap - before) / np.where(aa > 0, aa, 1.0), 0.0, 1.0)
        f_sorted = np.where(aa > 0, f_sorted, 1.0)
        f[sel[order]] = f_sorted
    return np.bincount(j, weights=r * f, minlength=m), f


def pmedian_lagrangian_bound(
    cost: np.ndarray,
    k: int,
    upper_bound: float,
    *,
    activity: np.ndarray | None = None,
    capacity: float = math.inf,
    start: np.ndarray | None = None,
    n_neighbours: int = 64,
    iterations: int = 300,
    deadline: float = math.inf,
    patience: int = 20,
    step_size: float = 2.0,
) -> float:
    """Best :math:`\\mathcal{L}(u)` over subgradient steps (see module docs).

    Parameters
    ----------
    cost
        ``(n, m)`` assignment costs (``inf`` = forbidden pair).
    k
        Number of centers to open.
    upper_bound
        Objective of a feasible solution (sets the step length).
    activity, capacity
        Optional: each center serves at most ``capacity`` of ``activity``
        (the upper band); :math:`\\rho_j` is then a fractional knapsack.
    """
    n, m = cost.shape
    k = min(k, m)
    big = np.finfo(float).max / 4
    kk = int(min(m, max(n_neighbours, 2 * k if m <= 4 * k else 0, 8)))
    step = max(1, 2_000_000 // max(m, 1))
    # sparse pairs: each unit's kk cheapest candidates; u_i is capped at the
    # kk-th cost so every left-out pair has a zero term (exact evaluation)
    pj = np.empty((n, kk), dtype=np.int64)
    pc = np.empty((n, kk))
    for s0 in range(0, n, step):
        b = np.asarray(cost[s0 : s0 + step], dtype=float)
        b = np.where(np.isfinite(b), b, big)
        idx = (
            np.argpartition(b, kk - 1, axis=1)[:, :kk]
            if kk < m
            else np.broadcast_to(np.arange(m), b.shape).copy()
        )
        pj[s0 : s0 + step] = idx
        pc[s0 : s0 + step] = np.take_along_axis(b, idx, axis=1)
    cap_u = pc.max(axis=1) if kk < m else np.full(n, np.inf)
    # the nearest-candidate bound Σ_i min_j c_ij is L(u) at u_i = min_j c_ij
    # (every reduced cost non-negative): a valid start, never negative
    nearest = pc.min(axis=1)
    u = nearest.copy() if start is None else np.minimum(np.asarray(start, float), cap_u)
    rows = np.repeat(np.arange(n), kk)
    cols = pj.ravel()
    cvals = pc.ravel()
    best = float(nearest.sum())
    # diagonal scaling of the subgradient: a unit's multiplier lives on the
    # scale of its activity (its costs are activity-weighted), so heavy units
    # move faster than light ones; any u gives a valid bound
    if activity is not None and float(np.mean(activity)) > 0:
        precond = np.maximum(np.asarray(activity, float), 0.0) / float(
            np.mean(activity)
        )
    else:
        precond = np.ones(n)
    steps = _Polyak(upper_bound, step_size, patience)
    steps.best = best
    for _ in range(iterations):
        if time.perf_counter() > deadline:
            break
        red = cvals - u[rows]
        neg = red < 0
        i, j, r = rows[neg], cols[neg], red[neg]
        rho, frac = _knapsack_rho(i, j, r, activity, capacity, m)
        chosen = np.argpartition(rho, k - 1)[:k] if k < m else np.arange(m)
        value = float(u.sum() + rho[chosen].sum())
        if not steps.record(value):
            break
        # subgradient: 1 − Σ over open centers of the share of i they take
        is_open = np.zeros(m, dtype=bool)
        is_open[chosen] = True
        g = 1.0 - np.bincount(i, weights=frac * is_open[j], minlength=n)
        gg = float((precond * g * g).sum())
        if gg == 0:
            break
        u = np.minimum(u + steps.step(value, gg) * precond * g, cap_u)
    return steps.best


# -- both bands: dense evaluation (numba) --------------------------------------
@numba.njit(cache=True)
def _weighted_quantile(q: np.ndarray, a: np.ndarray, n: int, w: float) -> float:
    """Smallest ``θ`` with ``Σ_{q_i ≤ θ} a_i ≥ w`` over the first ``n`` items
    (``inf`` when all of them weigh less than ``w``); reorders ``q``/``a``."""
    lo, hi = 0, n
    while hi > lo:
        pivot = q[lo + (hi - lo) // 2]
        # three-way partition of [lo, hi): < pivot | == pivot | > pivot
        lt, i, gt = lo, lo, hi
        w_lt = 0.0
        w_eq = 0.0
        while i < gt:
            if q[i] < pivot:
                w_lt += a[i]
                q[lt], q[i] = q[i], q[lt]
                a[lt], a[i] = a[i], a[lt]
                lt += 1
                i += 1
            elif q[i] > pivot:
                gt -= 1
                q[gt], q[i] = q[i], q[gt]
                a[gt], a[i] = a[i], a[gt]
            else:
                w_eq += a[i]
                i += 1
        if w <= w_lt and lt > lo:
            hi = lt
        elif w <= w_lt + w_eq:
            return pivot
        else:
            w -= w_lt + w_eq
            lo = gt
    return np.inf


@numba.njit(cache=True)
def _banded_rho(
    ct: np.ndarray,
    u: np.ndarray,
    a: np.ndarray,
    band_lo: float,
    band_hi: float,
    theta: np.ndarray,
    take: np.ndarray,
) -> np.ndarray:
    """Per center ``j`` (rows of ``ct``, ``(m, n)``): the fractional knapsack
    ``min Σ_i (c_ij − u_i) x_i`` over ``0 ≤ x ≤ 1``, ``lo ≤ Σ a x ≤ hi``.

    Its solution takes the units in increasing order of ``q_i = (c_ij −
    u_i) / a_i`` up to the weight ``W = clip(Σ_{negative} a, lo, hi)``:
    ``theta[j]`` is that order's threshold and ``take[j]`` the weight ``W``.
    Units with ``a_i = 0`` are taken exactly when their reduced cost is
    negative.  On entry ``theta`` holds the previous thresholds (``inf`` at
    first): one pass keeps the units with ``q`` below a guard derived from
    it, and the selection runs on those alone when they weigh at least ``W``
    (every unit left out has a larger ``q`` than every unit kept, so the
    result is exact); otherwise a second pass keeps every unit.
    """
    m, n = ct.shape
    rho = np.empty(m)
    qv = np.empty(n)
    av = np.empty(n)
    for j in range(m):
        prev = theta[j]
        guard = 1.5 * prev if prev > 0 else 0.0
        neg_w = 0.0
        neg_r = 0.0
        free = 0.0
        sub_w = 0.0
        cnt = 0
        for i in range(n):
            r = ct[j, i] - u[i]
            if a[i] > 0:
                if r < 0:
                    neg_w += a[i]
                    neg_r += r
                q = r / a[i]
                if q <= guard:
                    qv[cnt] = q
                    av[cnt] = a[i]
                    sub_w += a[i]
                    cnt += 1
            elif r < 0:
                free += r
        if band_lo <= neg_w <= band_hi:
            rho[j] = neg_r + free
            theta[j] = 0.0
            take[j] = neg_w
            continue
        target = band_hi if neg_w > band_hi else band_lo
        if sub_w < target:
            cnt = 0
            for i in range(n):
                if a[i] > 0:
                    qv[cnt] = (ct[j, i] - u[i]) / a[i]
                    av[cnt] = a[i]
                    cnt += 1
        th = _weighted_quantile(qv, av, cnt, target)
        theta[j] = th
        take[j] = target
        if not np.isfinite(th):
            rho[j] = np.inf
            continue
        # Σ_{q < θ} q·a + θ · (the weight still needed at q = θ); every unit
        # with q < θ is among the cnt kept
        val = 0.0
        w_lt = 0.0
        for c in range(cnt):
            if qv[c] < th:
                val += qv[c] * av[c]
                w_lt += av[c]
        rho[j] = val + th * (target - w_lt) + free
    return rho


@numba.njit(cache=True)
def _banded_cover(
    ct: np.ndarray,
    u: np.ndarray,
    a: np.ndarray,
    chosen: np.ndarray,
    theta: np.ndarray,
    take: np.ndarray,
) -> np.ndarray:
    """``Σ_{j ∈ chosen} x_ij`` for the knapsack solutions of :func:`_banded_rho`
    (the units at the threshold share the weight still needed)."""
    n = ct.shape[1]
    cover = np.zeros(n)
    for jj in range(len(chosen)):
        j = chosen[jj]
        th = theta[j]
        w_lt = 0.0
        w_eq = 0.0
        for i in range(n):
            r = ct[j, i] - u[i]
            if a[i] > 0:
                if r < th * a[i]:
                    w_lt += a[i]
                elif r == th * a[i]:
                    w_eq += a[i]
        f_eq = 0.0
        if w_eq > 0:
            f_eq = min(max((take[j] - w_lt) / w_eq, 0.0), 1.0)
        for i in range(n):
            r = ct[j, i] - u[i]
            if a[i] > 0:
                if r < th * a[i]:
                    cover[i] += 1.0
                elif r == th * a[i]:
                    cover[i] += f_eq
            elif r < 0:
                cover[i] += 1.0
    return cover


def banded_kmedian_bound(
    cost: np.ndarray,
    k: int,
    upper_bound: float,
    *,
    activity: np.ndarray,
    lower: float,
    upper: float,
    start: np.ndarray | None = None,
    deadline: float = math.inf,
    iterations: int = 100_000,
    patience: int = 15,
    step_size: float = 1.0,
) -> float:
    """Lagrangian bound of the k-median model with a **lower and an upper band**.

    The assignment rows are relaxed with multipliers ``u`` as in
    :func:`pmedian_lagrangian_bound`, but each open center's knapsack keeps
    both bands of ``activity``: :math:`\\rho_j(u) = \\min\\{\\sum_i (c_{ij} -
    u_i) x_i : \\ell \\le \\sum_i a_i x_i \\le U, 0 \\le x \\le 1\\}`.  When the
    lower band binds (a sparse region must still gather a full territory's
    activity) this is far stronger than the capacity-only bound; its maximum
    over ``u`` is the LP optimum of the banded k-median.  Every ``u`` gives a
    valid bound (weak duality), so stopping early only weakens it.

    The evaluation is dense (one pass over the ``n × m`` costs per step, in
    numba) and needs a transposed copy of ``cost``; use it when ``n · m``
    fits in memory twice.

    Parameters
    ----------
    cost
        ``(n, m)`` assignment costs (``inf`` = forbidden pair).
    k
        Number of centers to open.
    upper_bound
        Objective of a feasible solution (sets the Polyak step length).
    activity, lower, upper
        The banded activity ``(n,)`` and the band every territory must meet
        (use the loosest band over territories when they differ).
    deadline
        ``time.perf_counter()`` value at which to stop.

    Returns
    -------
    float
        The best :math:`\\mathcal{L}(u)` seen (``-inf`` if none was finite).
    """
    n, m = cost.shape
    k = min(k, m)
    a = np.maximum(np.asarray(activity, dtype=float), 0.0)
    ct = np.ascontiguousarray(np.asarray(cost, dtype=float).T)
    if start is None:
        # every unit at its cheapest candidate (all reduced costs ≥ 0)
        u = np.where(np.isfinite(ct), ct, np.inf).min(axis=0)
        u = np.where(np.isfinite(u), u, 0.0)
    else:
        u = np.asarray(start, dtype=float).copy()
    lo = float(lower) if np.isfinite(lower) else 0.0
    hi = float(upper) if np.isfinite(upper) else float(a.sum())
    theta = np.full(m, np.inf)
    take = np.empty(m)
    mean_a = float(a.mean()) if n else 0.0
    precond = a / mean_a if mean_a > 0 else np.ones(n)
    steps = _Polyak(upper_bound, step_size, patience)
    for _ in range(iterations):
        if time.perf_counter() > deadline:
            break
        rho = _banded_rho(ct, u, a, lo, hi, theta, take)
        chosen = np.argpartition(rho, k - 1)[:k] if k < m else np.arange(m)
        value = float(u.sum() + rho[chosen].sum())
        if not math.isfinite(value) or not steps.record(value):
            break
        g = 1.0 - _banded_cover(ct, u, a, chosen.astype(np.int64), theta, take)
        gg = float((precond * g * g).sum())
        if gg == 0:
            break
        u = u + steps.step(value, gg) * precond * g
    return steps.best

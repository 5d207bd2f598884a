"""A valid lower bound when the centers are chosen (``center_mode="choose"``).

When the solver picks ``k`` of ``m`` candidate centers, a bound for the
assignment with the *final* centers is not a bound for the problem.  We use the
Lagrangian relaxation of the assignment rows (``Σ_j x_ij = 1``) of the
capacitated k-median model, keeping each center's capacity (the upper band of
one activity ``a``) and dropping lower bands, other activities and contiguity
(dropping constraints only lowers the optimum):

.. math::

    \\mathcal{L}(u) = \\sum_i u_i + \\min_{|S| = k} \\sum_{j \\in S} \\rho_j(u),
    \\qquad
    \\rho_j(u) = \\min \\Big\\{ \\sum_i (c_{ij} - u_i) x_i :
        \\sum_i a_i x_i \\le U,\\; 0 \\le x \\le 1 \\Big\\},

a fractional knapsack per center (only units with ``c_ij < u_i`` can help).
``L(u)`` is at most the optimum for *every* ``u`` (weak duality; the knapsack
LP is a relaxation of each territory's assignment).  It is evaluated on each
unit's ``K`` cheapest candidates; capping ``u_i`` at its ``K``-th cheapest cost
makes every left-out pair's reduced cost non-negative, so the sparse evaluation
is exact and the bound stays valid.  ``u`` starts at each unit's cheapest cost
(where :math:`\\mathcal{L}` is the "every unit at its nearest candidate" bound)
and follows subgradient steps scaled by each unit's activity (Polyak step
towards the heuristic's objective, halved after ``patience`` steps without
progress); the best value seen is returned.  Lower bands are not represented,
so when they bind the bound can be far below the optimum: the reported gap is
then an honest over-estimate.
"""

from __future__ import annotations

import math
import time

import numpy as np


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
    lam = float(step_size)
    stall = 0
    for _ in range(iterations):
        if time.perf_counter() > deadline:
            break
        red = cvals - u[rows]
        neg = red < 0
        i, j, r = rows[neg], cols[neg], red[neg]
        rho, frac = _knapsack_rho(i, j, r, activity, capacity, m)
        chosen = np.argpartition(rho, k - 1)[:k] if k < m else np.arange(m)
        value = float(u.sum() + rho[chosen].sum())
        if value > best + 1e-7 * max(abs(value), 1.0):
            best = value
            stall = 0
        else:
            stall += 1
            if stall >= patience:
                lam /= 2
                stall = 0
                if lam < 1e-5:
                    break
        # subgradient: 1 − Σ over open centers of the share of i they take
        is_open = np.zeros(m, dtype=bool)
        is_open[chosen] = True
        g = 1.0 - np.bincount(i, weights=frac * is_open[j], minlength=n)
        gg = float((precond * g * g).sum())
        if gg == 0:
            break
        t = lam * max(upper_bound - value, 1e-9 * max(abs(upper_bound), 1.0)) / gg
        u = np.minimum(u + t * precond * g, cap_u)
    return best

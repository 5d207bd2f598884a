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
is the LP optimum of the banded k-median.

**Region cuts.**  That LP may open fractions of centers: Hawaii's 1.36 M
people (±3 % bands around 1.03 M) get 1.29 centers and pay nothing, while
every real design sends 0.30 M of them to the mainland or brings 0.64 M over
— 65 % of the ZCTA objective.  For a region ``R`` (units and candidates),
whatever the whole number ``h`` of territories centred in it, they serve
``P_R − E + I ∈ [hℓ, hU]`` (``E``/``I``: activity exported / imported across
its border), hence ``E + I ≥ gap_R``, the distance from ``P_R`` to
``∪_h [hℓ, hU]`` (:func:`band_gap`).  These inequalities hold for every
design (not for the LP); :func:`region_cuts` finds the regions and
:func:`banded_kmedian_bound` relaxes them with multipliers ``μ_R ≥ 0``:

.. math::

    \\mathcal{L}(u, \\mu) = \\sum_i u_i + \\sum_R \\mu_R\\, \\mathrm{gap}_R
        + \\min_{|S| = k} \\sum_{j \\in S} \\rho_j(u, \\mu),

where a pair crossing ``R``'s border has the reduced cost ``c_ij − u_i −
a_i μ_R``.  Still a lower bound for every ``(u, μ ≥ 0)``.  Two evaluations:

- :func:`banded_kmedian_bound` keeps both bands (and the region cuts) and is
  dense (numba, one pass over the ``n × m`` costs per step).  The lower band
  is what makes the bound useful at national scale: a territory in a sparse
  region must still gather a full territory's population, so its squared
  distances are large.  On the US counties (3,149 units, 100 territories,
  ±3 %) it gives 0.89 × the heuristic's objective (0.82 × without the region
  cuts and the scaled steps), on the 32,845 ZCTAs (2,000 candidates, 300
  territories) 0.91 × (the capacity-only bound: 0.13 ×).
- with several banded activities, :func:`banded_kmedian_bound` (``others=``)
  keeps every band: the other activities' bands are priced inside each
  center's knapsack (:func:`_multi_rho`, the partial dual of that LP, its
  prices warm-started from step to step), so its maximum over ``u`` is the
  LP optimum with every band.  On the sample study (259 counties, ten chosen
  centers, workload ±5 % and potential ±10 %) the best single-activity bound
  stalls at 0.55 × that LP optimum (1.77e8, HiGHS, 30 s); this one reaches
  0.79–0.91 × in the last 20–25 % of a 20–60 s run.
- :func:`pmedian_lagrangian_bound` keeps only the upper band (``ℓ = 0``) and is
  sparse, for large ``n · m``: it is evaluated on each unit's ``K`` cheapest
  candidates; capping ``u_i`` at its ``K``-th cheapest cost makes every
  left-out pair's reduced cost non-negative, so the sparse evaluation is exact.
  ``u`` starts at each unit's cheapest cost (where :math:`\\mathcal{L}` is the
  "every unit at its nearest candidate" bound).  When lower bands bind it can
  be far below the optimum: the reported gap is then an honest over-estimate.

Both follow Polyak subgradient steps towards the heuristic's objective
(halved after ``patience`` steps without progress) and return the best value
seen.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp

from terrakit.design._regions import _find  # union-find root (numba)

#: Largest ``n · m`` (units × candidates) for which the chosen-centers bound
#: uses the dense banded evaluation (a transposed float copy of the costs,
#: 8 bytes a pair — 0.53 GB for the 32,845 ZCTAs × 2,000 candidates — and
#: one pass over them per subgradient step).
BANDED_BOUND_CELLS = 80_000_000

#: Knapsacks per center, step and other banded activity that
#: :func:`_multi_rho` may spend searching that activity's price (few and
#: inexact is better than many: the price is warm-started at every step).
MULTI_BAND_EVALS = 4

#: Steps without progress before the Polyak step is halved, with several
#: bands (their inexact prices make the values noisier).
MULTI_BAND_PATIENCE = 30

#: Largest ``n · m · (p − 1)`` (pairs times other banded activities) for which
#: the chosen-centers bound keeps every band at once; above it one bound per
#: activity, the best kept (a step costs about ``MULTI_BAND_EVALS`` passes
#: over the pairs per other activity).
MULTI_BAND_CELLS = 4_000_000


#: Largest ``n · m`` for which the chosen-centers bound also solves the LP
#: relaxation of the banded k-median with every band (interior point, on a
#: thread beside the heuristic) and starts from its row duals, where the
#: Lagrangian equals the LP optimum.  259 × 259 pairs with two banded
#: activities: 19.7 s on one core of the project's VM; the subgradient alone
#: reached 0.79-0.91 × that LP in the same runs (benchmarks/README.md).
BANDED_LP_CELLS = 100_000

#: Seconds per pair the interior point method needs on that LP (19.7 s for
#: 67,081 pairs on the project's 2-core VM): the LP starts only when twice
#: that fits in the run, so short runs keep both cores for the heuristic.
BANDED_LP_SECONDS_PER_CELL = 3e-4


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


def _finite_target(cost_t: np.ndarray) -> float:
    """A finite step target when no feasible objective is known (the
    heuristic's solution uses a forbidden pair): each unit at its costliest
    allowed candidate (``cost_t``: ``(m, n)``, ``inf`` = forbidden).  It only
    sets the Polyak step length, never the bound's validity."""
    fin = np.isfinite(cost_t)
    worst = np.max(cost_t, axis=0, initial=0.0, where=fin) if cost_t.size else 0.0
    return max(float(np.sum(worst)), 1.0)


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
    if start is None:
        u = nearest.copy()
    else:
        # a non-finite start entry (a unit on a forbidden pair): its nearest
        u = np.asarray(start, float)
        u = np.minimum(np.where(np.isfinite(u), u, nearest), cap_u)
    if not math.isfinite(upper_bound):
        # no feasible objective known: a finite step target (the costliest
        # kept pair of each unit)
        upper_bound = _finite_target(np.where(pc < big, pc, np.inf).T)
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
def _reduced(
    ct: np.ndarray,
    u: np.ndarray,
    a: np.ndarray,
    ru: np.ndarray,
    rj: int,
    mu: np.ndarray,
    j: int,
    i: int,
) -> float:
    """Reduced cost of unit ``i`` at center ``j``: ``c_ij − u_i``, less
    ``a_i (μ_{r(i)} + μ_{r(j)})`` when the pair crosses a region's border."""
    r = ct[j, i] - u[i]
    if ru[i] != rj:
        r -= a[i] * (mu[ru[i]] + mu[rj])
    return r


@numba.njit(cache=True)
def _banded_rho(
    ct: np.ndarray,
    u: np.ndarray,
    a: np.ndarray,
    ru: np.ndarray,
    rc: np.ndarray,
    mu: np.ndarray,
    band_lo: float,
    band_hi: float,
    theta: np.ndarray,
    take: np.ndarray,
) -> np.ndarray:
    """Per center ``j`` (rows of ``ct``, ``(m, n)``): the fractional knapsack
    ``min Σ_i r_ij x_i`` over ``0 ≤ x ≤ 1``, ``lo ≤ Σ a x ≤ hi``, with the
    reduced costs ``r_ij`` of :func:`_reduced` (regions ``ru``/``rc``, their
    multipliers ``mu``; ``mu[0] = 0``).

    Its solution takes the units in increasing order of ``q_i = r_ij / a_i``
    up to the weight ``W = clip(Σ_{negative} a, lo, hi)``: ``theta[j]`` is
    that order's threshold and ``take[j]`` the weight ``W``.  Units with
    ``a_i = 0`` are taken exactly when their reduced cost is negative.  On
    entry ``theta`` holds the previous thresholds (``inf`` at first): one
    pass keeps the units with ``q`` below a guard derived from it, and the
    selection runs on those alone when they weigh at least ``W`` (every unit
    left out has a larger ``q`` than every unit kept, so the result is
    exact); otherwise a second pass keeps every unit.
    """
    m, n = ct.shape
    rho = np.empty(m)
    qv = np.empty(n)
    av = np.empty(n)
    for j in range(m):
        rj = rc[j]
        prev = theta[j]
        guard = 1.5 * prev if prev > 0 else 0.0
        neg_w = 0.0
        neg_r = 0.0
        free = 0.0
        sub_w = 0.0
        cnt = 0
        for i in range(n):
            r = _reduced(ct, u, a, ru, rj, mu, j, i)
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
                    qv[cnt] = _reduced(ct, u, a, ru, rj, mu, j, i) / a[i]
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
    ru: np.ndarray,
    rc: np.ndarray,
    mu: np.ndarray,
    chosen: np.ndarray,
    theta: np.ndarray,
    take: np.ndarray,
    flow: np.ndarray,
) -> np.ndarray:
    """``Σ_{j ∈ chosen} x_ij`` for the knapsack solutions of :func:`_banded_rho`
    (the units at the threshold share the weight still needed); adds to
    ``flow[r]`` the activity that crosses region ``r``'s border (exports of
    its units and imports to its centers)."""
    n = ct.shape[1]
    cover = np.zeros(n)
    for jj in range(len(chosen)):
        j = chosen[jj]
        rj = rc[j]
        th = theta[j]
        w_lt = 0.0
        w_eq = 0.0
        for i in range(n):
            if a[i] > 0:
                r = _reduced(ct, u, a, ru, rj, mu, j, i)
                if r < th * a[i]:
                    w_lt += a[i]
                elif r == th * a[i]:
                    w_eq += a[i]
        f_eq = 0.0
        if w_eq > 0:
            f_eq = min(max((take[j] - w_lt) / w_eq, 0.0), 1.0)
        for i in range(n):
            r = _reduced(ct, u, a, ru, rj, mu, j, i)
            x = 0.0
            if a[i] > 0:
                if r < th * a[i]:
                    x = 1.0
                elif r == th * a[i]:
                    x = f_eq
            elif r < 0:
                x = 1.0
            if x > 0:
                cover[i] += x
                if ru[i] != rj:
                    flow[ru[i]] += a[i] * x
                    flow[rj] += a[i] * x
    return cover


# -- several banded activities: the other bands priced inside each knapsack ---
@numba.njit(cache=True)
def _knapsack_at(
    ct: np.ndarray,
    u: np.ndarray,
    a: np.ndarray,
    ru: np.ndarray,
    rc: np.ndarray,
    mu: np.ndarray,
    j: int,
    oth: np.ndarray,
    alpha: np.ndarray,
    band_lo: float,
    band_hi: float,
    qv: np.ndarray,
    av: np.ndarray,
    sums: np.ndarray,
    cover: np.ndarray,
    flow: np.ndarray,
    record: bool,
) -> float:
    """Center ``j``'s knapsack of :func:`_banded_rho` with the reduced costs
    ``r_ij − Σ_b α_b o_ib`` (``oth``: the other activities ``(n, p)``).

    Returns its value; ``sums[b]`` receives ``Σ_i o_ib x_i`` of the solution.
    With ``record``, ``x`` is added to ``cover`` and the activity crossing a
    region's border to ``flow`` (as :func:`_banded_cover`).
    """
    n = ct.shape[1]
    p = oth.shape[1]
    rj = rc[j]
    neg_w = 0.0
    cnt = 0
    for i in range(n):
        r = _reduced(ct, u, a, ru, rj, mu, j, i)
        for b in range(p):
            r -= alpha[b] * oth[i, b]
        if a[i] > 0:
            if r < 0:
                neg_w += a[i]
            qv[cnt] = r / a[i]
            av[cnt] = a[i]
            cnt += 1
    if band_lo <= neg_w <= band_hi:
        th = 0.0
        target = neg_w
    else:
        target = band_hi if neg_w > band_hi else band_lo
        th = _weighted_quantile(qv, av, cnt, target)
        if not np.isfinite(th):
            return np.inf
    # the units below the threshold are taken whole, those at it share the
    # weight still needed
    w_lt = 0.0
    w_eq = 0.0
    for c in range(cnt):
        if qv[c] < th:
            w_lt += av[c]
        elif qv[c] == th:
            w_eq += av[c]
    f_eq = min(max((target - w_lt) / w_eq, 0.0), 1.0) if w_eq > 0 else 0.0
    for b in range(p):
        sums[b] = 0.0
    val = 0.0
    for i in range(n):
        r = _reduced(ct, u, a, ru, rj, mu, j, i)
        for b in range(p):
            r -= alpha[b] * oth[i, b]
        x = 0.0
        if a[i] > 0:
            q = r / a[i]  # as in the first pass: the same rounding
            if q < th:
                x = 1.0
            elif q == th:
                x = f_eq
        elif r < 0:
            x = 1.0
        if x > 0:
            val += r * x
            for b in range(p):
                sums[b] += oth[i, b] * x
            if record:
                cover[i] += x
                if ru[i] != rj:
                    flow[ru[i]] += a[i] * x
                    flow[rj] += a[i] * x
    return val


@numba.njit(cache=True)
def _multi_value(ctx: tuple[Any, ...], j: int, alpha: np.ndarray) -> float:
    """Lagrangian value of center ``j``'s knapsack with the other bands
    priced at ``α``: the knapsack plus ``Σ_b α_b ℓ_b`` (``α_b > 0``, the
    lower band) or ``α_b U_b`` (``α_b < 0``, the upper band).  ``ctx``:
    the fixed arguments of :func:`_knapsack_at` and the other bands, as
    :func:`_multi_rho` packs them; ``sums`` (in it) receives the other
    activities' sums."""
    ct, u, a, ru, rc, mu, oth, band_lo, band_hi, o_lo, o_hi, qv, av, sums, dummy = ctx
    v = _knapsack_at(
        ct, u, a, ru, rc, mu, j, oth, alpha, band_lo, band_hi, qv, av, sums,
        dummy, dummy, False,
    )  # fmt: skip
    for b in range(oth.shape[1]):
        v += alpha[b] * (o_lo[b] if alpha[b] > 0 else o_hi[b])
    return v


@numba.njit(cache=True)
def _multi_rho(
    ct: np.ndarray,
    u: np.ndarray,
    a: np.ndarray,
    ru: np.ndarray,
    rc: np.ndarray,
    mu: np.ndarray,
    band_lo: float,
    band_hi: float,
    oth: np.ndarray,
    o_lo: np.ndarray,
    o_hi: np.ndarray,
    o_scale: np.ndarray,
    alpha: np.ndarray,
    evals: int,
) -> np.ndarray:
    """Per center ``j``: a lower bound of ``min Σ_i r_ij x_i`` over ``0 ≤ x
    ≤ 1`` with **every** band (``ℓ ≤ Σ a x ≤ U`` and ``ℓ_b ≤ Σ o_b x ≤
    U_b``), by the partial dual of that LP: the other bands are priced with
    ``α_jb`` (free sign) and the kept band stays in the knapsack, so

    ``ρ_j ≥ max_α  knapsack(r − Σ_b α_b o_b) + Σ_b α_b (ℓ_b if α_b > 0 else U_b)``,

    a concave function of ``α``: every ``α`` gives a valid bound.  Each
    ``α_jb`` in turn is searched on the sign of its supergradient
    (``ℓ_b − Σ o_b x`` above 0, ``U_b − Σ o_b x`` below), from the previous
    step's ``α[j]`` with doubling steps of ``o_scale[b]`` to a bracket, then
    bisection: at most ``evals`` knapsacks per activity.  ``alpha`` returns
    the best ``α`` per center (the start of the next step and of
    :func:`_multi_cover`).
    """
    m, n = ct.shape
    p = oth.shape[1]
    rho = np.empty(m)
    qv = np.empty(n)
    av = np.empty(n)
    sums = np.empty(p)
    dummy = np.zeros(1)
    trial = np.empty(p)
    ctx = (ct, u, a, ru, rc, mu, oth, band_lo, band_hi, o_lo, o_hi, qv, av, sums, dummy)
    for j in range(m):
        for b in range(p):
            trial[b] = alpha[j, b]
        best = _multi_value(ctx, j, trial)
        if not np.isfinite(best):
            rho[j] = best
            continue
        for b in range(p):
            # supergradient of α_b at the current point (0 inside the band)
            s = sums[b]
            x0 = trial[b]
            if x0 > 0:
                g = o_lo[b] - s
            elif x0 < 0:
                g = o_hi[b] - s
            else:
                g = (
                    o_lo[b] - s
                    if s < o_lo[b]
                    else (o_hi[b] - s if s > o_hi[b] else 0.0)
                )
            if g == 0.0:
                continue
            d = 1.0 if g > 0 else -1.0
            step = 0.1 * abs(x0) if x0 != 0.0 else o_scale[b]
            lo_x = x0
            hi_x = x0
            bracketed = False
            used = 0
            while used < evals:
                # doubling steps until the supergradient changes sign, then
                # bisection of the bracket
                if bracketed:
                    if abs(hi_x - lo_x) <= 1e-4 * max(abs(lo_x), abs(hi_x)):
                        break
                    x1 = 0.5 * (lo_x + hi_x)
                else:
                    x1 = lo_x + d * step
                trial[b] = x1
                v = _multi_value(ctx, j, trial)
                used += 1
                if v > best:
                    best = v
                    alpha[j, b] = x1
                s = sums[b]
                g1 = (o_lo[b] - s) if x1 > 0 else (o_hi[b] - s)
                if g1 * d > 0:
                    lo_x = x1
                    if not bracketed:
                        step *= 2.0
                else:
                    hi_x = x1
                    bracketed = True
            trial[b] = alpha[j, b]
        rho[j] = best
    return rho


@numba.njit(cache=True)
def _multi_cover(
    ct: np.ndarray,
    u: np.ndarray,
    a: np.ndarray,
    ru: np.ndarray,
    rc: np.ndarray,
    mu: np.ndarray,
    chosen: np.ndarray,
    oth: np.ndarray,
    alpha: np.ndarray,
    band_lo: float,
    band_hi: float,
    flow: np.ndarray,
) -> np.ndarray:
    """``Σ_{j ∈ chosen} x_ij`` for the knapsacks of :func:`_multi_rho` at
    their best ``α`` (and the crossing activity added to ``flow``)."""
    n = ct.shape[1]
    cover = np.zeros(n)
    qv = np.empty(n)
    av = np.empty(n)
    sums = np.empty(oth.shape[1])
    for jj in range(len(chosen)):
        j = chosen[jj]
        _knapsack_at(
            ct,
            u,
            a,
            ru,
            rc,
            mu,
            j,
            oth,
            alpha[j],
            band_lo,
            band_hi,
            qv,
            av,
            sums,
            cover,
            flow,
            True,
        )
    return cover


# -- cuts from the integer number of territories in a region -------------------
@dataclass(frozen=True)
class RegionCuts:
    """Disjoint regions whose activity no whole number of territories fits.

    Region ``r ≥ 1`` holds the units with ``unit_region == r`` and the
    candidates with ``cand_region == r`` (``0``: no region).  ``gap[r]`` is
    the distance from its activity ``P_r`` to ``∪_{h ≥ 0} [h ℓ, h U]``;
    ``price[r]`` an estimate of the cost, per unit of activity, of crossing
    its border (it only sets the multipliers' start).  ``gap[0] = 0``.
    """

    unit_region: np.ndarray
    cand_region: np.ndarray
    gap: np.ndarray
    price: np.ndarray
    activity: np.ndarray

    @property
    def n_regions(self) -> int:
        """Number of regions (``r = 1 … n_regions``)."""
        return len(self.gap) - 1


def band_gap(total: float, lower: float, upper: float) -> float:
    """Distance from ``total`` to the union of ``[h·lower, h·upper]``, ``h = 0,
    1, 2, …``: the activity that must cross the border of a region holding
    ``total`` whatever the number of territories centred in it."""
    if not (upper > 0 and total > 0) or upper <= lower:
        return 0.0
    h = math.floor(total / upper)
    return max(min(total - h * upper, (h + 1) * lower - total), 0.0)


@numba.njit(cache=True)
def _single_linkage(
    m: int, ea: np.ndarray, eb: np.ndarray, ew: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kruskal on the candidate graph: merge ``t`` joins the tree nodes
    ``left[t]`` and ``right[t]`` (leaves ``0 … m−1``, merges ``m + t``) at
    the weight ``w[t]``."""
    uf = np.arange(m)
    top = np.arange(m)
    left = np.empty(max(m - 1, 0), np.int64)
    right = np.empty(max(m - 1, 0), np.int64)
    w = np.empty(max(m - 1, 0))
    nm = 0
    for t in order:
        x = _find(uf, ea[t])
        y = _find(uf, eb[t])
        if x == y:
            continue
        left[nm] = top[x]
        right[nm] = top[y]
        w[nm] = ew[t]
        uf[y] = x
        top[x] = m + nm
        nm += 1
        if nm == m - 1:
            break
    return left[:nm], right[:nm], w[:nm]


def region_cuts(
    cost: np.ndarray,
    activity: np.ndarray,
    lower: float,
    upper: float,
    upper_bound: float,
    *,
    n_links: int = 8,
    max_regions: int = 16,
    min_share: float = 1e-3,
    deadline: float = math.inf,
) -> RegionCuts | None:
    """Regions (islands, remote states) where the band forces activity across.

    Any set ``R`` of units with a set ``C_R`` of candidates gives a valid
    inequality: the territories centred in ``C_R`` serve ``P_R − E + I``
    (``E``: activity of ``R`` served from outside, ``I``: activity from
    outside served in ``C_R``), a value in ``[h ℓ, h U]`` for the integer
    number ``h`` of those territories, hence ``E + I ≥ |E − I| ≥``
    :func:`band_gap` ``(P_R)``.  The linear relaxation misses it (it opens
    1.29 centers in Hawaii); it holds for every design.  The regions are
    found by single linkage of the candidates (a unit links its cheapest
    candidate to its next ``n_links − 1`` ones at their cost per unit of
    activity), each unit going with its cheapest candidate; a disjoint family
    of clusters is kept by the largest ``gap × merge weight`` (a tree
    dynamic programme), those above ``min_share × upper_bound``.  The choice
    only affects the bound's strength, never its validity.  ``None`` when
    no region qualifies, or when the clock passes ``deadline`` (a
    ``time.perf_counter()`` value, read between blocks of units and between
    regions) before the regions are found: no cuts is always valid.
    """
    n, m = cost.shape
    a = np.maximum(np.asarray(activity, dtype=float), 0.0)
    pos = a > 0
    total = float(a.sum())
    if m < 2 or total <= 0 or not upper > lower:
        return None
    kq = min(n_links, m)
    near = np.empty(n, dtype=np.int64)
    ea: list[np.ndarray] = []
    eb: list[np.ndarray] = []
    ew: list[np.ndarray] = []
    step = max(1, 2_000_000 // m)
    for s0 in range(0, n, step):
        if time.perf_counter() > deadline:
            return None
        w_blk = np.where(pos[s0 : s0 + step], a[s0 : s0 + step], 1.0)
        b = np.asarray(cost[s0 : s0 + step], dtype=float) / w_blk[:, None]
        b = np.where(np.isfinite(b), b, np.inf)
        idx = (
            np.argpartition(b, kq - 1, axis=1)[:, :kq]
            if kq < m
            else np.broadcast_to(np.arange(m), b.shape).copy()
        )
        val = np.take_along_axis(b, idx, axis=1)
        order = np.argsort(val, axis=1)
        idx = np.take_along_axis(idx, order, axis=1)
        val = np.take_along_axis(val, order, axis=1)
        near[s0 : s0 + step] = idx[:, 0]
        sel = pos[s0 : s0 + step]
        ea.append(np.repeat(idx[sel, 0], kq - 1))
        eb.append(idx[sel, 1:].ravel())
        ew.append(val[sel, 1:].ravel())
    e_a, e_b, e_w = np.concatenate(ea), np.concatenate(eb), np.concatenate(ew)
    ok = np.isfinite(e_w)
    e_a, e_b, e_w = e_a[ok], e_b[ok], e_w[ok]
    left, right, w = _single_linkage(m, e_a, e_b, e_w, np.argsort(e_w, kind="stable"))
    nn = m + len(left)
    kids = np.full((nn, 2), -1, dtype=np.int64)
    kids[m:, 0], kids[m:, 1] = left, right
    pop = np.zeros(nn)
    pop[:m] = np.bincount(near, weights=a, minlength=m)
    up_w = np.full(nn, np.nan)
    for t in range(len(left)):
        pop[m + t] = pop[left[t]] + pop[right[t]]
        up_w[left[t]] = up_w[right[t]] = w[t]

    def leaves(x: int) -> np.ndarray:
        out, stack = [], [x]
        while stack:
            y = stack.pop()
            if y < m:
                out.append(y)
            else:
                stack.extend(kids[y].tolist())
        return np.asarray(out, dtype=np.int64)

    roots: list[int] = np.flatnonzero(np.isnan(up_w)).tolist()
    if len(roots) > 1:
        # separate components: the exact cheapest crossing per unit of activity
        for root in roots:
            if time.perf_counter() > deadline:
                return None
            inside = np.zeros(m, dtype=bool)
            inside[leaves(root)] = True
            up_w[root] = _crossing_price(cost, a, near, inside)
    gap = np.zeros(nn)
    score = np.zeros(nn)
    for x in range(nn):
        if np.isfinite(up_w[x]) and pop[x] < total / 2:
            gap[x] = band_gap(pop[x], lower, upper)
            score[x] = gap[x] * up_w[x]
    # the disjoint family of largest total score (children before parents)
    best = score.copy()
    for x in range(m, nn):
        best[x] = max(score[x], best[kids[x, 0]] + best[kids[x, 1]])
    chosen: list[int] = []
    stack = list(roots)
    while stack:
        x = stack.pop()
        if score[x] > 0 and best[x] == score[x]:
            chosen.append(x)
        elif x >= m:
            stack.extend(kids[x].tolist())
    chosen.sort(key=lambda x: -score[x])
    chosen = chosen[: 2 * max_regions]
    # the merge weight only estimates the crossing: the exact cheapest
    # crossing pair per unit of activity, for the kept regions
    price = np.empty(len(chosen))
    for r, x in enumerate(chosen):
        if time.perf_counter() > deadline:
            return None
        inside = np.zeros(m, dtype=bool)
        inside[leaves(x)] = True
        price[r] = _crossing_price(cost, a, near, inside)
    keep = np.flatnonzero(
        np.isfinite(price) & (gap[chosen] * price >= min_share * upper_bound)
    )
    keep = keep[np.argsort(-(gap[chosen] * price)[keep], kind="stable")]
    keep = keep[:max_regions]
    if not len(keep):
        return None
    rc = np.zeros(m, dtype=np.int64)
    for r, node in enumerate(np.asarray(chosen)[keep].tolist(), 1):
        rc[leaves(node)] = r
    sel = np.asarray(chosen)[keep]
    return RegionCuts(
        unit_region=rc[near],
        cand_region=rc,
        gap=np.r_[0.0, gap[sel]],
        price=np.r_[0.0, price[keep]],
        activity=np.r_[0.0, pop[sel]],
    )


def _crossing_price(
    cost: np.ndarray, a: np.ndarray, near: np.ndarray, inside: np.ndarray
) -> float:
    """Cheapest cost per unit of activity of a pair crossing the border of
    the region of candidates ``inside`` (its units: those whose cheapest
    candidate is inside)."""
    pos = a > 0
    mine = inside[near] & pos
    other = ~inside[near] & pos
    best = math.inf
    if mine.any() and (~inside).any():
        best = float((np.asarray(cost[mine])[:, ~inside] / a[mine, None]).min())
    if other.any():
        cols = np.asarray(cost[:, inside], dtype=float)
        best = min(best, float((cols[other] / a[other, None]).min()))
    return best


def banded_kmedian_bound(
    cost: np.ndarray,
    k: int,
    upper_bound: float,
    *,
    activity: np.ndarray,
    lower: float,
    upper: float,
    start: np.ndarray | None = None,
    cuts: RegionCuts | None = None,
    others: np.ndarray | None = None,
    others_lower: np.ndarray | None = None,
    others_upper: np.ndarray | None = None,
    cut_multipliers: np.ndarray | None = None,
    others_start: np.ndarray | None = None,
    deadline: float = math.inf,
    iterations: int = 100_000,
    patience: int = 15,
    step_size: float = 0.3,
    mu_start: float = 1.0,
    beta: float = 0.3,
    info: dict[str, object] | None = None,
) -> float:
    """Lagrangian bound of the k-median model with a **lower and an upper band**.

    The assignment rows are relaxed with multipliers ``u`` as in
    :func:`pmedian_lagrangian_bound`, but each open center's knapsack keeps
    both bands of ``activity``: :math:`\\rho_j(u) = \\min\\{\\sum_i (c_{ij} -
    u_i) x_i : \\ell \\le \\sum_i a_i x_i \\le U, 0 \\le x \\le 1\\}`.  When the
    lower band binds (a sparse region must still gather a full territory's
    activity) this is far stronger than the capacity-only bound; its maximum
    over ``u`` is the LP optimum of the banded k-median.  With ``cuts``, the
    inequalities ``E_r + I_r ≥ gap_r`` of :func:`region_cuts` (valid for
    every design, not for the LP) are relaxed too, with multipliers
    ``μ_r ≥ 0``: a pair crossing region ``r``'s border costs ``a_i μ_r``
    less and the value gains ``Σ_r μ_r gap_r``.  Every ``(u, μ ≥ 0)`` gives a
    valid bound (weak duality), so stopping early only weakens it.

    The ascent starts from the better of two multiplier vectors: ``start``
    (e.g. each unit's cost in the heuristic's solution; the nearest
    candidate's cost when ``None``) and ``u_i = β a_i θ_{j(i)}``, where
    ``θ_j`` is the cost per unit of activity at which candidate ``j``'s
    cheapest ``ℓ`` of activity ends (at ``u = 0``) and ``j(i)`` is unit
    ``i``'s cheapest candidate: a local "territory radius" that keeps dense
    regions' candidates from all being chosen at once (on the ZCTAs the
    solution's costs start at −1.7 × the objective, this one at +0.25 ×).
    Then Polyak subgradient steps, ``u_i`` scaled by ``a_i θ_{j(i)}`` (a
    unit's multiplier per unit of activity moves in proportion to its local
    scale: tens of km² in cities, 10⁷ km² on islands) and ``μ_r`` by its
    crossing price; the cuts' multipliers start at their crossing price.

    With ``others`` (more banded activities), each knapsack keeps their
    bands too, through the partial dual of :func:`_multi_rho` (the other
    bands priced per center, the prices searched at every step): the
    maximum over ``u`` is then the LP optimum of the k-median with **every**
    band, and every ``u`` still gives a valid bound.  It costs about
    ``p × evals`` knapsacks per center and step instead of one.

    The evaluation is dense (one pass over the ``n × m`` costs per knapsack,
    in numba) and needs a transposed copy of ``cost``; use it when ``n · m``
    fits in memory twice.

    Parameters
    ----------
    cost
        ``(n, m)`` assignment costs (``inf`` = forbidden pair: no option of
        any knapsack; a center that cannot gather the lower band from its
        allowed units has ``ρ_j = inf``).
    k
        Number of centers to open.
    upper_bound
        Objective of a feasible solution (sets the Polyak step length; when
        not finite, e.g. the solution uses a forbidden pair, each unit's
        costliest allowed pair stands in).
    activity, lower, upper
        The banded activity ``(n,)`` and the band every territory must meet
        (use the loosest band over territories when they differ).
    start
        Multipliers to start from (``(n,)``; a non-finite entry starts at
        that unit's nearest allowed cost).
    cuts
        Regions of :func:`region_cuts` (``None``: no cuts).
    others, others_lower, others_upper
        More banded activities ``(n, p)``, of any sign, and their bands
        ``(p,)`` (the loosest over territories; ``±inf``: no band on that
        side).  ``activity`` itself must not be negative (its knapsack takes
        units in order of cost per unit of it).
    cut_multipliers
        The cuts' multipliers to start from (``(n_regions,)``, e.g. the
        ``info["mu"]`` of an earlier run; default ``mu_start × price``).
    others_start
        The other bands' prices per candidate to start from at ``start``
        (``(m, p)``, e.g. the band duals of :func:`banded_kmedian_lp`;
        default 0).
    deadline
        ``time.perf_counter()`` value at which to stop.  The clock is read
        between blocks of centers of every knapsack pass (the geometric
        start, each start's value, each step), so the run ends within one
        block (about 250,000 pairs) of it; a pass it cuts short is dropped.
    mu_start, beta
        The cuts' multipliers start at ``mu_start × price``; ``β`` above.
    info
        If given, receives ``steps`` (subgradient steps taken), ``start``
        (``"solution"``, ``"radius"``, or ``"nearest"`` when the deadline
        came before any start was evaluated), and ``u`` and ``mu``: the
        multipliers of the best value (to start another run from).

    Returns
    -------
    float
        The best :math:`\\mathcal{L}(u, μ)` seen (``-inf`` if none was
        finite); the "every unit at its nearest candidate" bound
        :math:`\\sum_i \\min_j c_{ij}` when the deadline came before any
        start was evaluated.
    """
    n, m = cost.shape
    k = min(k, m)
    a = np.maximum(np.asarray(activity, dtype=float), 0.0)
    ct = np.ascontiguousarray(np.asarray(cost, dtype=float).T)
    lo = float(lower) if np.isfinite(lower) else 0.0
    hi = float(upper) if np.isfinite(upper) else float(a.sum())
    if cuts is None:
        ru = np.zeros(n, dtype=np.int64)
        rc = np.zeros(m, dtype=np.int64)
        gap = np.zeros(1)
        mu = np.zeros(1)
        pm = np.zeros(1)
    else:
        ru, rc = cuts.unit_region, cuts.cand_region
        gap = np.asarray(cuts.gap, dtype=float)
        mu = mu_start * np.where(np.isfinite(cuts.price), cuts.price, 0.0)
        if cut_multipliers is not None:
            mu[1:] = np.maximum(np.asarray(cut_multipliers, dtype=float), 0.0)
        mu[0] = 0.0
    theta = np.full(m, np.inf)
    take = np.empty(m)
    if others is not None:
        # any sign: the prices act on the sums, not on a ratio order
        oth = np.ascontiguousarray(np.asarray(others, dtype=float))
        if oth.ndim == 1:
            oth = oth[:, None]
        p = oth.shape[1]
        o_lo = np.asarray(others_lower, dtype=float).reshape(p)
        o_hi = np.asarray(others_upper, dtype=float).reshape(p)
        # an open side: the least / most any selection can sum to
        o_lo = np.where(np.isfinite(o_lo), o_lo, np.minimum(oth, 0.0).sum(axis=0))
        o_hi = np.where(np.isfinite(o_hi), o_hi, np.maximum(oth, 0.0).sum(axis=0))
        alpha = np.zeros((m, p))

    # the "every unit at its nearest candidate" bound Σ_i min_j c_ij: L at
    # u_i = min_j c_ij, μ = 0 (every reduced cost ≥ 0), computed without a
    # knapsack; returned when the clock allows nothing more.  A unit without
    # an allowed candidate (the problem is then infeasible) adds 0.
    cmin = ct.min(axis=0) if m else np.full(n, np.inf)
    cmin = np.where(np.isfinite(cmin), cmin, 0.0)
    cheap = float(cmin.sum())
    # a forbidden pair (``inf``) is no option of its knapsack; the multipliers
    # stay finite so that no ``inf − inf`` arises: non-finite start entries
    # become the nearest cost, and the step's target a finite one
    if not math.isfinite(upper_bound):
        upper_bound = _finite_target(ct)
    # centers per block of a knapsack pass: the clock is read between blocks,
    # so a pass past the deadline stops within one block (~250,000 pairs)
    block = max(1, 250_000 // max(n, 1))

    def rho_at(
        u: np.ndarray,
        ru_: np.ndarray,
        rc_: np.ndarray,
        mu_: np.ndarray,
        th: np.ndarray,
        tk: np.ndarray,
        multi: bool,
    ) -> np.ndarray | None:
        # ρ_j of every center, block by block (regions ``ru_``/``rc_``, their
        # multipliers ``mu_``); ``None`` once past the deadline
        rho = np.empty(m)
        for s in range(0, m, block):
            if time.perf_counter() > deadline:
                return None
            e = min(s + block, m)
            if not multi:
                rho[s:e] = _banded_rho(
                    ct[s:e], u, a, ru_, rc_[s:e], mu_, lo, hi, th[s:e], tk[s:e]
                )
            else:
                rho[s:e] = _multi_rho(
                    ct[s:e],
                    u,
                    a,
                    ru_,
                    rc_[s:e],
                    mu_,
                    lo,
                    hi,
                    oth,
                    o_lo,
                    o_hi,
                    o_scale,
                    alpha[s:e],
                    MULTI_BAND_EVALS,
                )
        return rho

    def value_at(u: np.ndarray) -> tuple[float, np.ndarray] | None:
        # L(u, μ) and the centers it opens; ``None`` when the deadline cut
        # the pass short.  ρ_j = inf (center j cannot gather the lower band
        # from its allowed units) is never among the k chosen unless fewer
        # than k centers can: the problem is then infeasible, and inf valid.
        rho = rho_at(u, ru, rc, mu, theta, take, others is not None)
        if rho is None:
            return None
        chosen = np.argpartition(rho, k - 1)[:k] if k < m else np.arange(m)
        with np.errstate(invalid="ignore", over="ignore"):
            value = float(u.sum() + mu @ gap + rho[chosen].sum())
        # u and μ are finite, ρ_j > −inf: a NaN cannot arise; guard anyway
        return (value if not math.isnan(value) else -math.inf), chosen

    def unstarted() -> float:
        # the clock ran out before any knapsack pass: the nearest bound
        if info is not None:
            info.update(steps=0, start="nearest", u=cmin.copy(), mu=mu[1:].copy())
        return cheap

    # the geometric start: θ_j at u = 0 (no regions), its cheapest candidate's
    theta0 = np.full(m, np.inf)
    z = np.zeros(1)
    no_u, no_c = np.zeros(n, np.int64), np.zeros(m, np.int64)
    if rho_at(np.zeros(n), no_u, no_c, z, theta0, np.empty(m), False) is None:
        return unstarted()
    nearest = ct.argmin(axis=0)
    th_near = np.where(np.isfinite(theta0[nearest]), theta0[nearest], 0.0)
    starts = [beta * a * th_near]
    # step scaling: a unit's multiplier moves in proportion to its activity
    # times its local scale (θ of its cheapest candidate): per unit of
    # activity, multipliers range from tens of km² in cities to 10⁷ km² on
    # islands; each cut's μ_r in proportion to its crossing price
    mean_a = float(a.mean()) if n else 0.0
    scale = np.where(
        th_near > 0,
        th_near,
        float(np.median(th_near[th_near > 0])) if (th_near > 0).any() else 1.0,
    )
    mean_as = float((a * scale).mean()) if n else 0.0
    if others is not None:
        # the other bands' prices per unit of their activity: the kept
        # activity's local scale, converted by the ratio of the mean sizes
        size = np.abs(oth).mean(axis=0)
        o_scale = np.where(
            size > 0, float(np.median(scale)) * mean_a / np.maximum(size, 1e-300), 1.0
        )
    precond = a * scale / mean_as if mean_as > 0 else np.ones(n)
    if cuts is not None:
        price = np.where(np.isfinite(cuts.price), cuts.price, 0.0)
        pm = price / (max(mean_as, 1e-300) * np.maximum(cuts.activity, mean_a))
        pm[0] = 0.0
    if start is not None:
        # e.g. the solution's costs: a unit on a forbidden pair starts at its
        # nearest allowed cost
        s_given = np.asarray(start, dtype=float)
        starts.append(np.where(np.isfinite(s_given), s_given, cmin))
    else:
        starts.append(cmin.copy())
    u = starts[0]
    best_start = -math.inf
    picked = -1
    alpha0 = None
    if others is not None:
        alpha0 = np.zeros((m, p))
        if others_start is not None and start is not None:
            alpha0 = np.array(others_start, dtype=float).reshape(m, p)
    best_alpha = alpha0
    for which, s0 in enumerate(starts):
        theta[:] = np.inf
        if others is not None:
            # the given start comes with its band prices (the radius start
            # with none)
            alpha[:] = alpha0 if which == 1 else 0.0
        got = value_at(s0)
        if got is None:  # past the deadline: the starts evaluated so far
            break
        if got[0] > best_start or picked < 0:
            best_start, u, picked = got[0], s0, which
            if others is not None:
                best_alpha = alpha.copy()
    if picked < 0:
        return unstarted()
    theta[:] = np.inf
    if others is not None:
        alpha[:] = best_alpha
    steps = _Polyak(upper_bound, step_size, patience)
    flow = np.zeros(len(gap))
    taken = 0
    best_u, best_mu, best_value = u, mu, best_start
    for _ in range(iterations):
        if time.perf_counter() > deadline:
            break
        got = value_at(u)
        if got is None:  # the deadline came during the pass
            break
        taken += 1
        value, chosen = got
        if value > best_value:
            best_u, best_mu, best_value = u, mu, value
        if not math.isfinite(value) or not steps.record(value):
            break
        flow[:] = 0.0
        if others is None:
            cover = _banded_cover(
                ct, u, a, ru, rc, mu, chosen.astype(np.int64), theta, take, flow
            )
        else:
            cover = _multi_cover(
                ct, u, a, ru, rc, mu, chosen.astype(np.int64), oth, alpha, lo, hi, flow
            )
        g = 1.0 - cover
        gm = gap - flow
        gg = float((precond * g * g).sum() + (pm * gm * gm).sum())
        if gg == 0:
            break
        t = steps.step(value, gg)
        u = u + t * precond * g
        mu = np.maximum(mu + t * pm * gm, 0.0)
    if info is not None:
        info.update(
            steps=taken,
            start=("radius", "solution")[picked],
            u=np.array(best_u),
            mu=best_mu[1:].copy(),
        )
    return max(steps.best, best_start)


def banded_kmedian_lp(
    cost: np.ndarray,
    k: int,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    deadline: float,
    stop: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Row duals of the LP relaxation of the banded k-median model.

    .. math::

        \\min \\sum_{ij} c_{ij} x_{ij} \\;\\text{s.t.}\\; \\sum_j x_{ij} = 1,\\;
        \\sum_j y_j = k,\\; x_{ij} \\le y_j,\\;
        \\ell_b y_j \\le \\sum_i a_{ib} x_{ij} \\le U_b y_j,\\;
        0 \\le y \\le 1,\\; x \\ge 0

    (forbidden pairs left out), solved by HiGHS's interior point method
    without crossover.  At its assignment-row duals ``u``, with the band
    duals as the prices of :func:`_multi_rho`, the Lagrangian of
    :func:`banded_kmedian_bound` equals this LP's optimum; any ``u`` gives a
    valid bound, so an inexact LP only weakens it.

    Parameters
    ----------
    cost
        ``(n, m)`` costs (``inf``: forbidden pair).
    k
        Centers to open.
    activities, lower, upper
        ``(n, p)`` banded activities and their bands ``(p,)`` (``±inf``: no
        band on that side).
    deadline
        ``time.perf_counter()`` value at which HiGHS stops.
    stop
        When set (from another thread), HiGHS stops at its next iteration.

    Returns
    -------
    tuple or None
        ``(u, alpha, value)``: the assignment rows' duals ``(n,)``, the net
        band duals per candidate and activity ``(m, p)`` (positive: the lower
        band binds) and the LP value; ``None`` when HiGHS did not reach an
        optimum by the deadline.
    """
    import highspy

    from terrakit.design._highs import new_highs

    cost = np.asarray(cost, dtype=float)
    n, m = cost.shape
    act = np.asarray(activities, dtype=float).reshape(n, -1)
    p = act.shape[1]
    lo = np.asarray(lower, dtype=float).reshape(p)
    hi = np.asarray(upper, dtype=float).reshape(p)
    left = deadline - time.perf_counter()
    if left <= 0 or k > m:
        return None
    pi, pj = np.nonzero(np.isfinite(cost))
    big = pi.size
    ar = np.arange(big)
    rows = [pi, np.full(m, n), n + 1 + ar, n + 1 + ar]
    cols = [ar, big + np.arange(m), ar, big + pj]
    vals = [np.ones(big), np.ones(m), np.ones(big), -np.ones(big)]
    r_lo = [np.ones(n), [float(k)], np.full(big, -np.inf)]
    r_hi = [np.ones(n), [float(k)], np.zeros(big)]
    r = n + 1 + big
    band_rows: list[tuple[int, int, int]] = []  # (activity, first row, side)
    for b in range(p):
        for side, bound in ((1, lo[b]), (-1, hi[b])):
            if not np.isfinite(bound):
                continue
            rows += [r + pj, r + np.arange(m)]
            cols += [ar, big + np.arange(m)]
            vals += [act[pi, b], np.full(m, -bound)]
            r_lo.append(np.zeros(m) if side > 0 else np.full(m, -np.inf))
            r_hi.append(np.full(m, np.inf) if side > 0 else np.zeros(m))
            band_rows.append((b, r, side))
            r += m
    mat = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(r, big + m),
    )
    lp = highspy.HighsLp()
    lp.num_col_ = big + m
    lp.num_row_ = r
    lp.col_cost_ = np.concatenate([cost[pi, pj], np.zeros(m)])
    lp.col_lower_ = np.zeros(big + m)
    lp.col_upper_ = np.concatenate([np.full(big, np.inf), np.ones(m)])
    lp.row_lower_ = np.concatenate([np.asarray(v, dtype=float) for v in r_lo])
    lp.row_upper_ = np.concatenate([np.asarray(v, dtype=float) for v in r_hi])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data.astype(float)
    h = new_highs()
    h.passModel(lp)
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    h.setOptionValue("time_limit", float(max(left, 0.01)))
    if stop is not None:

        def interrupt(event: Any) -> None:
            if stop.is_set():
                event.interrupt()

        h.cbIpmInterrupt += interrupt
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    dual = np.asarray(h.getSolution().row_dual, dtype=float)
    alpha = np.zeros((m, p))
    for b, first, _side in band_rows:
        alpha[:, b] += dual[first : first + m]
    value = float(h.getInfo().objective_function_value)
    return dual[:n].copy(), alpha, value

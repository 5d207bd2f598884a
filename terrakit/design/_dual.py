"""Balanced assignment for fixed centers at large scale, by its Lagrangian dual.

The balanced assignment LP of :mod:`terrakit.design._assign` (one unit row
per unit, one band row per territory and activity) has only ``k·m`` band
rows.  Dualising them leaves, for multipliers ``y`` (``k × m``),

.. math::

    \\mathcal{L}(y) = \\sum_i \\min_j \\Big(c_{ij} - \\sum_m a_{im} y_{jm}\\Big)
                    + \\sum_{jm} \\big(y^+_{jm} L_{jm} - y^-_{jm} U_{jm}\\big),

a lower bound on every band-feasible assignment (integral or not, contiguous
or not) for *any* ``y``; its maximum over ``y`` is the LP optimum.  At
100,000 units and 200 territories the LP (800,000 columns and more) takes
HiGHS minutes per solve, while ``𝓛`` is a concave function of only ``k·m``
variables.  :func:`dual_assignment` maximises a smoothed version of it,

.. math::

    \\mathcal{L}_\\mu(y) = \\sum_i -\\mu \\log \\sum_j
        e^{-(c_{ij} - a_i \\cdot y_j)/\\mu} + \\sum_{jm}
        \\big(y^+_{jm} L_{jm} - y^-_{jm} U_{jm}\\big) \\;\\le\\; \\mathcal{L}(y),

with L-BFGS-B over ``y = y^+ − y^-`` (both non-negative, so the band term is
linear) for a decreasing sequence of temperatures ``μ`` on each unit's
``q`` cheapest territories, and keeps the ``y`` whose *exact* ``𝓛(y)`` (the
minimum over all territories) is largest.  The bound reported is that exact
value, so it is valid however far the ascent got; the labels are each unit's
cheapest territory at the reduced costs ``c_ij − a_i · y_j``, a nearly
balanced assignment that the contiguity and band repairs finish.  Every
stage watches ``deadline``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from terrakit.design._assign import LPAssignment

__all__ = ["DualAssignment", "dual_assignment", "dual_lp", "exact_dual_value"]


class DualAssignment(LPAssignment):
    """:class:`~terrakit.design._assign.LPAssignment` of the dual ascent
    (status ``"dual"``, no split units) with ``bound``, the exact ``𝓛`` at
    ``duals``."""

    def __init__(
        self, labels: np.ndarray, objective: float, duals: np.ndarray, bound: float
    ) -> None:
        super().__init__(labels, objective, duals, 0, "dual")
        self.bound = bound


def exact_dual_value(
    cost: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    duals: np.ndarray,
    locked: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """``𝓛(duals)`` over all territories and each unit's cheapest territory
    at the reduced costs (locked units: their territory).  Blocks of rows
    keep the memory at a few ``n × k`` floats at most."""
    n, k = cost.shape
    total = float(
        (np.maximum(duals, 0) * np.where(np.isfinite(lower), lower, 0.0)).sum()
        - (np.maximum(-duals, 0) * np.where(np.isfinite(upper), upper, 0.0)).sum()
    )
    labels = np.empty(n, dtype=np.int64)
    step = max(1, 2_000_000 // max(k, 1))
    for s in range(0, n, step):
        red = cost[s : s + step] - activities[s : s + step] @ duals.T
        lab = np.argmin(red, axis=1)
        if locked is not None:
            lk = np.asarray(locked[s : s + step])
            fix = lk >= 0
            lab[fix] = lk[fix]
        labels[s : s + step] = lab
        total += float(red[np.arange(len(lab)), lab].sum())
    return total, labels


def dual_assignment(
    cost: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    locked: np.ndarray | None = None,
    deadline: float = math.inf,
    temperatures: tuple[float, ...] = (0.3, 0.1, 0.03, 0.01, 0.003),
    max_iter: int = 100,
) -> DualAssignment:
    """Band duals of the balanced assignment by smoothed dual ascent.

    Parameters
    ----------
    cost
        ``(n, k)`` cost of unit ``i`` in territory ``j`` (``inf``: forbidden).
    activities
        ``(n, m)`` activity of each unit.
    lower, upper
        ``(k, m)`` bands (``∓inf`` where there is none).
    locked
        ``(n,)`` territory a unit must stay in, ``-1`` where free.
    deadline
        ``time.perf_counter()`` value at which the ascent stops (the start
        point ``y = 0`` is always evaluated).
    temperatures
        Smoothing temperatures ``μ``, relative to the mean gap between a
        unit's cheapest and second cheapest cost; each stage warm-starts the
        next.
    max_iter
        L-BFGS-B iterations per temperature.

    Returns
    -------
    DualAssignment
        ``labels`` (cheapest territory at the reduced costs, then balanced by
        the LP on the few units whose cheapest two are close, see
        :func:`_balanced_labels`), ``objective``
        (their cost), ``duals`` (the best ``y`` found; its exact ``𝓛``, also
        in ``bound``, is a valid lower bound), ``status`` ``"dual"``.

    Notes
    -----
    The smoothed function is evaluated on all ``n × k`` pairs in single
    precision (one pass ≈ 0.2 s at 100,000 × 200); only the search uses it,
    the bound is the exact double-precision ``𝓛``.
    """
    n, k = cost.shape
    m = activities.shape[1]
    act = np.asarray(activities, dtype=float)
    ascale = np.maximum(np.abs(act).sum(axis=0) / k, 1e-300)
    a = act / ascale
    lo = np.where(np.isfinite(lower), lower / ascale, 0.0)
    hi = np.where(np.isfinite(upper), upper / ascale, 0.0)
    lk = None if locked is None else np.asarray(locked)
    free = np.ones(n, dtype=bool) if lk is None else lk < 0
    c_fin = np.where(np.isfinite(cost), cost, np.inf)
    # cost scale: the mean gap between a free unit's two cheapest territories
    two = np.partition(c_fin, min(1, k - 1), axis=1)[:, : min(2, k)]
    gap = two[:, -1] - two[:, 0]
    ok = free & np.isfinite(gap) & (gap > 0)
    cscale = float(gap[ok].mean()) if ok.any() else 1.0
    cscale = cscale if cscale > 0 else 1.0
    del two
    cn = (c_fin / cscale).astype(np.float32)
    if lk is not None:
        fix = np.flatnonzero(lk >= 0)
        keep = cn[fix, lk[fix]].copy()
        cn[fix] = np.inf  # a locked unit counts in its territory only
        cn[fix, lk[fix]] = keep
    a32 = a.astype(np.float32)
    a_pos = np.abs(a[free]).sum(axis=1)
    a_pos = a_pos[a_pos > 0]
    # optimise z / zscale: multipliers of order one (a unit's cost gap per
    # unit of its activity), so L-BFGS-B's first steps have the right size
    zscale = float(np.median(a_pos)) ** -1 if len(a_pos) else 1.0
    bnd = [(0.0, None) if np.isfinite(v) else (0.0, 0.0) for v in np.ravel(lower)]
    bnd += [(0.0, None) if np.isfinite(v) else (0.0, 0.0) for v in np.ravel(upper)]
    km = k * m
    buf = np.empty((n, k), dtype=np.float32)

    def smooth(x: np.ndarray, mu: float) -> tuple[float, np.ndarray]:
        """Smoothed ``−𝓛_μ`` and its gradient (minimised)."""
        x = x * zscale
        z = (x[:km] - x[km:]).reshape(k, m).astype(np.float32)
        r = buf
        np.subtract(cn, a32 @ z.T, out=r)
        rmin = r.min(axis=1, keepdims=True)
        r -= rmin
        r *= np.float32(-1.0 / mu)
        np.exp(r, out=r)
        s = r.sum(axis=1, keepdims=True, dtype=np.float64)
        val = float(rmin.sum(dtype=np.float64) - mu * np.log(s).sum())
        r /= s.astype(np.float32)
        load = (r.T @ a32).astype(np.float64)  # (k, m) soft loads
        val += float((x[:km] * lo.ravel()).sum() - (x[km:] * hi.ravel()).sum())
        g = np.concatenate([(lo - load).ravel(), (load - hi).ravel()])
        return -val, -g * zscale

    def to_y(x: np.ndarray) -> np.ndarray:
        z = (x[:km] - x[km:]).reshape(k, m) * zscale
        return z * cscale / ascale[None, :]

    t_start = time.perf_counter()
    x = np.zeros(2 * km)
    best_val, best_lab = exact_dual_value(cost, act, lower, upper, to_y(x), lk)
    best_x = x

    def stop(_xk: np.ndarray) -> None:
        if time.perf_counter() > deadline:
            raise StopIteration

    for mu in temperatures:
        if time.perf_counter() > deadline:
            break
        res = minimize(
            smooth,
            x,
            args=(mu,),
            jac=True,
            method="L-BFGS-B",
            bounds=bnd,
            callback=stop,
            options={"maxiter": max_iter, "maxcor": 20},
        )
        x = np.asarray(res.x)
        val, lab = exact_dual_value(cost, act, lower, upper, to_y(x), lk)
        gain = val - best_val
        if val > best_val:
            best_val, best_lab, best_x = val, lab, x
        if 0 <= gain <= 1e-4 * abs(best_val):
            break  # the exact value no longer moves
    y_best = to_y(best_x)
    if time.perf_counter() < deadline + 0.25 * max(deadline - t_start, 0.0):
        best_lab = _balanced_labels(cost, act, lower, upper, y_best, lk, best_lab)
    objective = float(np.asarray(cost)[np.arange(n), best_lab].sum())
    return DualAssignment(best_lab, objective, y_best, best_val)


def _balanced_labels(
    cost: np.ndarray,
    act: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    y: np.ndarray,
    locked: np.ndarray | None,
    labels: np.ndarray,
    shares: tuple[float, ...] = (0.1, 0.25, 0.5),
) -> np.ndarray:
    """Labels that meet the bands up to a few split units, from the duals.

    The units whose two cheapest reduced costs ``c_ij − a_i · y_j`` are
    closest (a ``share`` of them) may take any of their three cheapest
    territories, the others keep their cheapest; the balanced assignment LP
    on these few columns (HiGHS) then rounds like the full LP (at most
    ``k·m`` split units, to their largest share).  The share grows while
    that LP is infeasible; ``labels`` come back unchanged if it never is
    feasible.
    """
    from scipy.optimize import linprog

    n, k = cost.shape
    m = act.shape[1]
    q = min(3, k)
    if q < 2:
        return labels
    cand = np.empty((n, q), dtype=np.int64)
    red3 = np.empty((n, q))
    step = max(1, 2_000_000 // max(k, 1))
    for s in range(0, n, step):
        red = cost[s : s + step] - act[s : s + step] @ y.T
        part = np.argpartition(red, q - 1, axis=1)[:, :q]
        rv = np.take_along_axis(red, part, axis=1)
        order = np.argsort(rv, axis=1)
        cand[s : s + step] = np.take_along_axis(part, order, axis=1)
        red3[s : s + step] = np.take_along_axis(rv, order, axis=1)
    gap = red3[:, 1] - red3[:, 0]
    free = np.ones(n, dtype=bool) if locked is None else locked < 0
    gap = np.where(free & np.isfinite(gap), gap, np.inf)
    base = cand[:, 0].copy()
    if locked is not None:
        base[~free] = locked[~free]
    ascale = np.maximum(np.abs(act).sum(axis=0) / k, 1e-300)
    for share in shares:
        thr = float(np.quantile(gap[np.isfinite(gap)], share)) if free.any() else 0
        amb = np.flatnonzero(gap <= thr)
        fixed = np.ones(n, dtype=bool)
        fixed[amb] = False
        sums = np.zeros((k, m))
        np.add.at(sums, base[fixed], act[fixed])
        r = np.repeat(amb, q)
        c = cand[amb].ravel()
        ok = np.isfinite(cost[r, c])
        r, c = r[ok], c[ok]
        nv = len(r)
        if nv == 0:
            break
        cols = np.arange(nv)
        uniq, row = np.unique(r, return_inverse=True)
        a_eq = sp.csr_matrix((np.ones(nv), (row, cols)), shape=(len(uniq), nv))
        blocks = [
            sp.csr_matrix((act[r, mm] / ascale[mm], (c, cols)), shape=(k, nv))
            for mm in range(m)
        ]
        band = sp.vstack(blocks).tocsr()
        hi = ((upper - sums) / ascale).T.ravel()
        lo = ((lower - sums) / ascale).T.ravel()
        fh, fl = np.isfinite(hi), np.isfinite(lo)
        cs = cost[r, c]
        cscale = float(np.abs(cs).max()) or 1.0
        res = linprog(
            cs / cscale,
            A_ub=sp.vstack([band[fh], -band[fl]]).tocsr(),
            b_ub=np.concatenate([hi[fh], -lo[fl]]),
            A_eq=a_eq,
            b_eq=np.ones(len(uniq)),
            bounds=(0, 1),
            method="highs",
        )
        if res.status != 0 or res.x is None:
            continue
        x = np.asarray(res.x)
        out = base.copy()
        order = np.lexsort((-x, r))
        first = np.r_[True, r[order[1:]] != r[order[:-1]]]
        out[r[order[first]]] = c[order[first]]
        return out
    return labels


#: ``n · k`` from which :func:`solve_location` balances fixed centers by the
#: dual ascent instead of the LP (100,000 × 200 is 2e7; 10,000 × 50 is 5e5,
#: where the LP takes seconds and is exact).
DUAL_MIN_PAIRS = 4_000_000


def dual_lp(
    cost: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    q: int = 8,
    locked: np.ndarray | None = None,
    time_limit: float = 60.0,
    deadline: float | None = None,
) -> LPAssignment:
    """:func:`dual_assignment` with the call signature of
    :func:`~terrakit.design._assign.solve_assignment_lp` (``q`` unused);
    it stops after ``0.4 · time_limit`` seconds, leaving the rest of the
    LP's share to the contiguity and band repairs.  A ``deadline``
    (``time.perf_counter()`` value) replaces that share: a run with an
    iteration budget (``max_iter``) passes its safety net, so that the
    ascent's ``max_iter`` steps per temperature, not the clock, decide."""
    del q
    return dual_assignment(
        cost,
        activities,
        lower,
        upper,
        locked=locked,
        deadline=time.perf_counter() + 0.4 * time_limit
        if deadline is None
        else deadline,
    )

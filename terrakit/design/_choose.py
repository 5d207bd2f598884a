"""Chosen centers at national scale: seeding, balanced flows, band rounding.

Kernels of the ``center_mode="choose"`` path of
:func:`terrakit.design._core.solve_location` (``n`` units, ``m`` candidate
columns, ``k`` territories), each linear or near-linear in ``n × k`` so that
33,000 units / 2,000 candidates / 300 territories fit in seconds:

:func:`seed_centers`
    Capacity-aware seeding: centers where the activity is, one per
    territory's share of it (see the function).
:func:`flow_assign`
    The balanced assignment for fixed centers with ONE banded activity ``a``
    (integer, e.g. population) is a transportation problem: with
    ``y_ij = a_i x_ij`` it reads

    .. math::

        \\min \\sum_{ij} \\frac{c_{ij}}{a_i} y_{ij} \\;\\text{s.t.}\\;
        \\sum_j y_{ij} = a_i, \\quad L_j \\le \\sum_i y_{ij} \\le U_j,
        \\quad y \\ge 0,

    a minimum-cost flow (units supply ``a_i``, territory ``j`` must receive
    ``L_j`` and may pass ``U_j − L_j`` more to a sink), solved by OR-Tools'
    network simplex on each unit's ``q`` cheapest territories (``q`` doubles
    while the restricted network is infeasible).  Costs are rounded to
    integers on a fine grid, so the flow is optimal up to that rounding; it is
    a primal heuristic here, never a bound.  A basic flow splits few units
    (at most about ``k``); they go to their largest share.
:func:`round_heavy`
    Rounding a split unit moves its smaller shares to its largest one; for a
    heavy unit (a county of 2 M people) that breaks a band by more than
    local moves can repair.  Heavy split units are therefore fixed and the
    flow re-solved around them until only light units are split; those are
    rounded and repaired by :func:`terrakit.design._bandsearch.band_search`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["FlowAssignment", "flow_assign", "round_heavy", "seed_centers"]


def seed_centers(
    cost: np.ndarray,
    a: np.ndarray,
    k: int,
    rng: np.random.Generator,
    keep: list[int],
) -> np.ndarray:
    """``k`` distinct candidate columns, spread like the activity ``a``.

    Capacity-aware sweep: each round draws an uncovered unit with
    probability proportional to its activity, opens its cheapest free
    candidate ``j``, and marks as covered the uncovered units nearest to
    ``j`` (by cost per unit of activity) until they carry one territory's
    share ``Σa / k``.  Centers then sit where the activity is, one per
    territory's worth of it, which is what balanced territories need
    (k-means++ seeding, proportional to squared distance, over-samples
    sparse regions).  ``O(k · n log n)``.  ``cost`` is ``(n, m)`` (``inf``
    forbidden); ``keep`` are columns that must be centers (locks).
    """
    n, m = cost.shape
    a = np.maximum(np.asarray(a, dtype=float), 0.0)
    share = float(a.sum()) / k if a.sum() > 0 else 1.0
    w = a if a.sum() > 0 else np.ones(n)
    covered = np.zeros(n, dtype=bool)
    taken = np.zeros(m, dtype=bool)
    chosen: list[int] = []

    def open_(j: int) -> None:
        chosen.append(j)
        taken[j] = True
        col = cost[:, j] / np.maximum(w, 1e-300)
        col = np.where(np.isfinite(col) & ~covered, col, np.inf)
        order = np.argsort(col, kind="stable")
        order = order[np.isfinite(col[order])]
        cum = np.cumsum(w[order])
        stop = int(np.searchsorted(cum, share)) + 1
        covered[order[:stop]] = True

    for j in dict.fromkeys(int(j) for j in keep):
        open_(j)
    while len(chosen) < k:
        p = np.where(covered, 0.0, w)
        if p.sum() <= 0:
            covered[:] = False
            p = w.copy()
        i = int(rng.choice(n, p=p / p.sum()))
        row = np.where(taken | ~np.isfinite(cost[i]), np.inf, cost[i])
        j = int(np.argmin(row))
        if not np.isfinite(row[j]):
            free = np.flatnonzero(~taken)
            j = int(free[rng.integers(len(free))])
        open_(j)
    return np.array(chosen[:k], dtype=np.int64)


@dataclass
class FlowAssignment:
    """Outcome of :func:`flow_assign`: labels (largest share), which units
    the flow split, and whether the flow met every band."""

    labels: np.ndarray
    split: np.ndarray
    feasible: bool
    q: int
    split_pairs: np.ndarray | None = None


def _integer_activity(a: np.ndarray) -> tuple[np.ndarray, float]:
    """Activity as int64 supplies and the factor used (1 when integral)."""
    tot = float(a.sum())
    if np.all(a == np.round(a)) and tot <= 1e12:
        return a.astype(np.int64), 1.0
    f = 1e9 / max(tot, 1e-300)
    return np.round(a * f).astype(np.int64), f


def flow_assign(
    cost: np.ndarray,
    a: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    locked: np.ndarray,
    *,
    q: int = 8,
) -> FlowAssignment:
    """Balanced assignment for fixed centers by minimum-cost flow (module docs).

    Parameters
    ----------
    cost
        ``(n, k)`` cost to each territory's center (``inf`` forbidden).
    a
        ``(n,)`` the one banded activity (``≥ 0``).
    lower, upper
        ``(k,)`` band limits.
    locked
        ``(n,)`` territory of locked units, ``-1`` for free ones.
    q
        Start with each unit's ``q`` cheapest territories.
    """
    from ortools.graph.python import min_cost_flow

    n, k = cost.shape
    fin = np.isfinite(cost)
    fixed = locked >= 0
    labels = np.where(fixed, locked, -1).astype(np.int64)
    zero = (a <= 0) & ~fixed
    if zero.any():
        cz = np.where(fin[zero], cost[zero], np.inf)
        labels[zero] = np.argmin(cz, axis=1)
    free = np.flatnonzero(~fixed & ~zero)
    ai, f = _integer_activity(np.maximum(a, 0.0))
    # what the locked (and zero) units already put in each territory
    base = np.bincount(labels[labels >= 0], weights=ai[labels >= 0], minlength=k)
    slack = 0.0 if f == 1.0 else 0.5 * len(free)
    lo = np.ceil(np.maximum(lower * f - base + slack, 0.0)).astype(np.int64)
    hi_f = np.where(np.isfinite(upper), upper * f - base - slack, np.inf)
    hi = np.floor(np.minimum(hi_f, float(ai[free].sum()))).astype(np.int64)
    split = np.zeros(n, dtype=bool)
    if len(free) == 0 or (hi < lo).any():
        return FlowAssignment(labels, split, bool((hi >= lo).all()), q, None)
    sub = cost[free]
    per = np.where(fin[free], sub, np.inf) / np.maximum(a[free], 1e-300)[:, None]
    fmax = per[np.isfinite(per)].max() if np.isfinite(per).any() else 1.0
    scale = 1e9 / max(float(fmax), 1e-300)
    supply_total = int(ai[free].sum())
    qq = min(max(q, 1), k)
    while True:
        if qq < k:
            cand = np.argpartition(per, qq - 1, axis=1)[:, :qq]
            r_loc = np.repeat(np.arange(len(free)), qq)
            j = cand.ravel()
            # each territory also reaches its own cheapest units: a remote
            # center (Alaska needs people from Washington) is then fed
            # without every unit listing it among its cheapest
            reach = min(len(free), max(qq, 3 * -(-len(free) // k)))
            if reach < len(free):
                near_t = np.argpartition(per, reach - 1, axis=0)[:reach]
                key = np.unique(
                    np.concatenate([r_loc * k + j, (near_t * k + np.arange(k)).ravel()])
                )
                r_loc, j = key // k, key % k
        else:
            r_loc = np.repeat(np.arange(len(free)), k)
            j = np.tile(np.arange(k), len(free))
        pc = per[r_loc, j]
        ok = np.isfinite(pc)
        r_loc, j, pc = r_loc[ok], j[ok], pc[ok]
        unit_cost = np.round(pc * scale).astype(np.int64)
        smcf = min_cost_flow.SimpleMinCostFlow()
        nf = len(free)
        sink = nf + k
        tails = np.concatenate([r_loc, nf + np.arange(k)]).astype(np.int32)
        heads = np.concatenate([nf + j, np.full(k, sink)]).astype(np.int32)
        caps = np.concatenate([ai[free][r_loc], hi - lo]).astype(np.int64)
        costs = np.concatenate([unit_cost, np.zeros(k, dtype=np.int64)])
        arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        supplies = np.concatenate([ai[free], -lo, [-(supply_total - int(lo.sum()))]])
        smcf.set_nodes_supplies(np.arange(nf + k + 1, dtype=np.int32), supplies)
        status = smcf.solve()
        if status == smcf.OPTIMAL:
            break
        if qq >= k:
            return FlowAssignment(labels, split, False, qq, None)
        qq = min(2 * qq, k)
    flow = smcf.flows(arcs[: len(r_loc)])
    pos = flow > 0
    r_pos, j_pos, fl = r_loc[pos], j[pos], flow[pos]
    order = np.lexsort((-fl, r_pos))
    first = np.ones(len(order), dtype=bool)
    first[1:] = r_pos[order[1:]] != r_pos[order[:-1]]
    labels[free[r_pos[order[first]]]] = j_pos[order[first]]
    cnt = np.bincount(r_pos, minlength=len(free))
    split[free[cnt > 1]] = True
    many = cnt[r_pos] > 1
    pairs = np.column_stack([free[r_pos[many]], j_pos[many]])
    return FlowAssignment(labels, split, True, qq, pairs)


def round_heavy(
    cost: np.ndarray,
    a: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    locked: np.ndarray,
    *,
    threshold: float,
    deadline: float,
    q: int = 8,
) -> tuple[np.ndarray, list[str]]:
    """Flow labels whose split units are all lighter than ``threshold``.

    Rounding a heavy split unit (a county of 2 M people split between two
    territories) breaks a band by far more than local moves can repair.  So
    the heavy split units are fixed to their largest share and the flow is
    re-solved around them at the full bands (the other units absorb the
    change), until no heavy unit is split.  When fixing a batch makes the
    flow infeasible, the heaviest unit alone is fixed, to each of its shares
    in turn.  Returns the rounded labels of the last flow and notes.
    """
    notes: list[str] = []
    fixed = locked.copy()
    fa = flow_assign(cost, a, lower, upper, fixed, q=q)
    rounds = 0
    skipped = np.zeros(len(a), dtype=bool)
    batch = True
    while fa.feasible and time.perf_counter() < deadline:
        heavy = np.flatnonzero(fa.split & (a > threshold) & (fixed < 0) & ~skipped)
        if len(heavy) == 0:
            break
        rounds += 1
        if batch:
            trial = fixed.copy()
            trial[heavy] = fa.labels[heavy]
            out = flow_assign(cost, a, lower, upper, trial, q=q)
            if out.feasible:
                fixed, fa = trial, out
                continue
            batch = False  # from now on one unit at a time, heaviest first
        i = int(heavy[np.argmax(a[heavy])])
        shares = (
            fa.split_pairs[fa.split_pairs[:, 0] == i, 1]
            if fa.split_pairs is not None
            else np.zeros(0, dtype=np.int64)
        )
        ci = np.where(np.isfinite(cost[i]), cost[i], np.inf)
        # territories whose fixed units leave room for unit i, cheapest first
        k_ = cost.shape[1]
        fl = np.bincount(fixed[fixed >= 0], weights=a[fixed >= 0], minlength=k_)
        room = np.where(fl + a[i] <= upper, ci, np.inf)
        nearest = np.argsort(room)[: min(8, k_)]
        order = [int(fa.labels[i])] + [int(t) for t in shares] + nearest.tolist()
        done = False
        for t in dict.fromkeys(order):
            if not np.isfinite(ci[t]):
                continue
            trial = fixed.copy()
            trial[i] = t
            out = flow_assign(cost, a, lower, upper, trial, q=q)
            if out.feasible:
                fixed, fa, done = trial, out, True
                break
        if not done:
            skipped[i] = True
    if skipped.any():
        notes.append(f"{int(skipped.sum())} heavy units fit no territory whole")
    notes.append(
        f"heavy split units fixed in {rounds} flow rounds "
        f"({int((fixed >= 0).sum() - (locked >= 0).sum())} units fixed); "
        f"{int(fa.split.sum())} light split units rounded"
    )
    return fa.labels, notes

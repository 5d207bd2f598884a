"""Least-disruption local search behind :func:`terrakit.realign.rebalance`.

Starting from the current alignment, it (1) hands the units of removed reps
to neighbouring territories by a balanced flood fill, (2) moves boundary
units, best ratio of disruption added to imbalance removed first, until every
band holds (the imbalance is a squared excess over an *inner* band of half
the tolerance, so load also flows through territories that are already
within their band: chains of moves), and (3) undoes or reroutes moves that
are not needed (boundary moves that lower the disruption and keep every band
and contiguity, :func:`terrakit.design._search.improve_moves`).  The result
is a warm start for the exact MIP.
"""

from __future__ import annotations

import heapq
import math
import time

import numpy as np
import scipy.sparse as sp

from terrakit.design._search import improve_moves, neighbour_lists, removable

__all__ = ["least_disruption_search"]

_BIG = 1e6  # weight of a real band violation against the inner-band excess


def _penalty(rel: np.ndarray, ilo: np.ndarray, ihi: np.ndarray) -> np.ndarray:
    """Σ over activities of the squared excess beyond the inner band."""
    over = np.maximum(rel - ihi, 0.0) + np.maximum(ilo - rel, 0.0)
    return np.asarray((over**2).sum(axis=-1))


def least_disruption_search(
    *,
    cost: np.ndarray,
    start: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    adjacency: sp.csr_matrix | None,
    allowed: np.ndarray,
    fixed: np.ndarray,
    contiguity: bool,
    deadline: float,
    inner: float = 0.5,
    aim: float = 0.15,
) -> tuple[np.ndarray, bool]:
    """Labels (n,) meeting the bands with little disruption, and whether they do.

    Parameters
    ----------
    cost
        (n, k) disruption (+ tie-break) of unit ``i`` in territory ``j``.
    start
        (n,) starting territory per unit, ``-1`` for units to hand out.
    activities
        (n, a) banded activities; ``lower``/``upper`` (k, a) their bands.
    adjacency
        Unit graph (``None``: every unit may join every allowed territory).
    allowed
        (n, k) candidate pairs.
    fixed
        (n,) territory a unit must keep (locks, contiguity roots) or ``-1``.
    contiguity
        Keep every territory connected when moving units.
    deadline
        ``time.perf_counter()`` value to stop at.
    inner
        Width of the inner band as a share of the band (0.5: half of ``±τ``).
    aim
        The transshipment LP aims at the band shrunk by this share of its
        half-width on each side (room for whole units).
    """
    n, k = cost.shape
    labels = np.asarray(start, dtype=np.int64).copy()
    fixed = np.asarray(fixed, dtype=np.int64)
    labels[fixed >= 0] = fixed[fixed >= 0]
    A = np.asarray(activities, dtype=float)
    if A.ndim == 1:
        A = A[:, None]
    lo = np.where(np.isfinite(lower), lower, -np.inf)
    hi = np.where(np.isfinite(upper), upper, np.inf)
    mid = np.where(np.isfinite(lo) & np.isfinite(hi), (lo + hi) / 2, 0.0)
    mid = np.where(mid > 0, mid, np.maximum(np.where(np.isfinite(hi), hi, 1.0), 1.0))
    lo_r = lo / mid - 1.0
    hi_r = hi / mid - 1.0
    ilo, ihi = inner * lo_r, inner * hi_r
    if adjacency is not None:
        nbrs = neighbour_lists(adjacency, n)
        a = sp.triu(sp.csr_matrix(adjacency), k=1).tocoo()
        edges = np.column_stack([a.row, a.col]).astype(np.int64)
    else:
        nbrs = [[] for _ in range(n)]
        edges = np.zeros((0, 2), dtype=np.int64)
    # -- 1. hand out unassigned units by a balanced flood fill -----------------
    sums = np.zeros((k, A.shape[1]))
    have = labels >= 0
    np.add.at(sums, labels[have], A[have])
    free = labels < 0
    if free.any():
        heap: list[tuple[float, int, int]] = []

        def load(t: int) -> float:
            return float(np.max(sums[t] / mid[t]))

        for i in np.flatnonzero(free).tolist():
            for v in nbrs[i]:
                t = int(labels[v])
                if t >= 0 and allowed[i, t]:
                    heapq.heappush(heap, (load(t), i, t))
        while heap:
            _ld, i, t = heapq.heappop(heap)
            if labels[i] >= 0:
                continue
            cur = load(t)
            if cur > _ld + 1e-12:
                heapq.heappush(heap, (cur, i, t))
                continue
            labels[i] = t
            sums[t] += A[i]
            for v in nbrs[i]:
                if labels[v] < 0 and allowed[v, t]:
                    heapq.heappush(heap, (load(t), v, t))
        rest = np.flatnonzero(labels < 0)
        for i in rest.tolist():  # no graph path: the cheapest allowed territory
            c = np.where(allowed[i], cost[i], np.inf)
            labels[i] = int(np.argmin(c))
            sums[labels[i]] += A[i]
    movable = fixed < 0
    if edges.shape[0]:
        labels = _flow_moves(
            labels,
            sums,
            A,
            lo,
            hi,
            mid,
            cost,
            nbrs,
            edges,
            allowed,
            movable,
            contiguity,
            deadline,
        )
        sums = np.zeros((k, A.shape[1]))
        np.add.at(sums, labels, A)

    def feasible() -> bool:
        return bool(
            np.all(sums >= lo - 1e-9 * np.abs(lo))
            and np.all(sums <= hi + 1e-9 * np.abs(hi))
        )

    # -- 2. repair the bands, best disruption per imbalance removed first ------
    # Moves that shrink a real band violation come first; when none is left,
    # only "chain" moves are allowed: into a neighbour of a territory below
    # its band, or out of a neighbour of one above, which make room for the
    # next round (the inner-band excess gives them a gradient).
    def outer(x: np.ndarray, t: np.ndarray | int) -> np.ndarray:
        return _penalty(x / mid[t] - 1.0, lo_r[t], hi_r[t])

    def inner_(x: np.ndarray, t: np.ndarray | int) -> np.ndarray:
        return _penalty(x / mid[t] - 1.0, ilo[t], ihi[t])

    def pen(x: np.ndarray, t: np.ndarray | int) -> np.ndarray:
        return _BIG * outer(x, t) + inner_(x, t)

    if edges.shape[0]:
        ar = np.arange(k)
        for _ in range(20_000):
            if feasible() or time.perf_counter() > deadline:
                break
            cut = labels[edges[:, 0]] != labels[edges[:, 1]]
            e = edges[cut]
            units = np.concatenate([e[:, 0], e[:, 1]])
            to = np.concatenate([labels[e[:, 1]], labels[e[:, 0]]])
            ok = movable[units] & allowed[units, to]
            units, to = units[ok], to[ok]
            if units.size == 0:
                break
            fr = labels[units]
            ai = A[units]
            out_now = outer(sums, ar)
            in_now = inner_(sums, ar)
            dout = (
                outer(sums[fr] - ai, fr)
                + outer(sums[to] + ai, to)
                - out_now[fr]
                - out_now[to]
            )
            din = (
                inner_(sums[fr] - ai, fr)
                + inner_(sums[to] + ai, to)
                - in_now[fr]
                - in_now[to]
            )
            d = _BIG * dout + din
            outer_gain = dout < -1e-15
            if outer_gain.any():
                good = outer_gain
            else:
                under = np.any(sums < lo - 1e-9 * np.abs(lo), axis=1)
                over = np.any(sums > hi + 1e-9 * np.abs(hi), axis=1)
                tl = labels[e[:, 0]]
                tr = labels[e[:, 1]]
                near_under = np.zeros(k, dtype=bool)
                near_over = np.zeros(k, dtype=bool)
                near_under[tl[under[tr]]] = True
                near_under[tr[under[tl]]] = True
                near_over[tl[over[tr]]] = True
                near_over[tr[over[tl]]] = True
                good = (d < -1e-15) & (near_under[to] | near_over[fr])
            if not good.any():
                break
            units, to, fr, d = units[good], to[good], fr[good], d[good]
            dc = cost[units, to] - cost[units, fr]
            score = dc / (-d)
            applied = 0
            touched: set[int] = set()
            for idx in np.argsort(score, kind="stable").tolist():
                i, a_, b = int(units[idx]), int(fr[idx]), int(to[idx])
                if labels[i] != a_ or a_ in touched or b in touched:
                    continue
                new = (
                    pen(sums[a_] - A[i], a_)
                    + pen(sums[b] + A[i], b)
                    - pen(sums[a_], a_)
                    - pen(sums[b], b)
                )
                if float(new) >= -1e-15:
                    continue
                if contiguity and not removable(i, labels, nbrs):
                    continue
                if np.count_nonzero(labels == a_) <= 1:
                    continue
                labels[i] = b
                sums[a_] -= A[i]
                sums[b] += A[i]
                touched.update((a_, b))
                applied += 1
            if applied == 0:
                # stuck: push load along a chain of territories instead
                if not _eject(
                    labels,
                    sums,
                    A,
                    lo,
                    hi,
                    cost,
                    nbrs,
                    edges,
                    allowed,
                    movable,
                    contiguity,
                ):
                    break
    # -- 3. undo moves that are not needed ---------------------------------------
    if feasible() and edges.shape[0]:

        def cost_delta(u: np.ndarray, f: np.ndarray, t: np.ndarray) -> np.ndarray:
            out = cost[u, t] - cost[u, f]
            return np.where(allowed[u, t], out, math.inf)

        locked = np.where(fixed >= 0, fixed, -1)
        labels, _moves = improve_moves(
            labels,
            nbrs,
            edges,
            A,
            lo,
            hi,
            cost_delta,
            contiguity=contiguity,
            locked=locked,
            deadline=deadline,
        )
        sums = np.zeros((k, A.shape[1]))
        np.add.at(sums, labels, A)
    return labels, feasible()


def _flow_moves(
    labels: np.ndarray,
    sums: np.ndarray,
    A: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    mid: np.ndarray,
    cost: np.ndarray,
    nbrs: list[list[int]],
    edges: np.ndarray,
    allowed: np.ndarray,
    movable: np.ndarray,
    contiguity: bool,
    deadline: float,
    aim: float = 0.15,
) -> np.ndarray:
    """Route the first activity between adjacent territories by a small
    transshipment LP, then realise each flow with the cheapest boundary units.

    Territory ``a`` may send load to an adjacent ``b`` at the price of the
    median disruption per unit of load of its boundary units facing ``b``;
    the LP asks every territory to end in the middle ``1 − aim`` of its band (the
    whole band when that is infeasible), so chains of moves through
    territories already in band come out of the LP rather than a myopic
    search.
    """
    from scipy.optimize import linprog

    labels = labels.copy()
    k = lo.shape[0]
    w = A[:, 0]
    cut = labels[edges[:, 0]] != labels[edges[:, 1]]
    e = edges[cut]
    if e.shape[0] == 0:
        return labels
    u = np.concatenate([e[:, 0], e[:, 1]])
    to = np.concatenate([labels[e[:, 1]], labels[e[:, 0]]])
    ok = movable[u] & allowed[u, to] & (w[u] > 0)
    u, to = u[ok], to[ok]
    fr = labels[u]
    ratio = (cost[u, to] - cost[u, fr]) / w[u]
    pairs: dict[tuple[int, int], list[float]] = {}
    for a_, b_, r in zip(fr.tolist(), to.tolist(), ratio.tolist(), strict=True):
        pairs.setdefault((a_, b_), []).append(r)
    if not pairs:
        return labels
    arcs = sorted(pairs)
    price = np.array([max(float(np.median(pairs[p])), 0.0) + 1e-9 for p in arcs])
    s0 = sums[:, 0]
    lo0 = np.where(np.isfinite(lo[:, 0]), lo[:, 0], -1e300)
    hi0 = np.where(np.isfinite(hi[:, 0]), hi[:, 0], 1e300)
    na = len(arcs)
    # node balance: s0 - out + in within [L, U]  ->  -out + in in [L - s0, U - s0]
    M = np.zeros((k, na))
    for c, (a_, b_) in enumerate(arcs):
        M[a_, c] -= 1.0
        M[b_, c] += 1.0
    flows = None
    for margin in (float(aim), 0.0):
        mid0 = mid[:, 0]
        L = np.where(lo0 > -1e299, lo0 + margin * (mid0 - lo0), -1e300)
        U = np.where(hi0 < 1e299, hi0 - margin * (hi0 - mid0), 1e300)
        res = linprog(
            price,
            A_ub=np.vstack([M, -M]),
            b_ub=np.concatenate([U - s0, s0 - L]),
            bounds=(0, None),
            method="highs",
        )
        if res.status == 0:
            flows = res.x
            break
    if flows is None:
        return labels
    order = np.argsort(-flows)
    for c in order.tolist():
        f = float(flows[c])
        if f <= 1e-9 or time.perf_counter() > deadline:
            continue
        a_, b_ = arcs[c]
        moved = 0.0
        for _ in range(10_000):
            cand = [
                i
                for i in np.flatnonzero(labels == a_).tolist()
                if movable[i]
                and allowed[i, b_]
                and any(labels[v] == b_ for v in nbrs[i])
            ]
            if not cand:
                break
            ci = np.array(cand)
            r = (cost[ci, b_] - cost[ci, a_]) / np.maximum(w[ci], 1e-12)
            done = False
            for idx in np.argsort(r, kind="stable").tolist():
                i = int(ci[idx])
                if moved + w[i] / 2 > f:
                    continue
                if contiguity and not removable(i, labels, nbrs):
                    continue
                if np.count_nonzero(labels == a_) <= 1:
                    continue
                labels[i] = b_
                moved += w[i]
                done = True
                break
            if not done:
                break
    return labels


def _eject(
    labels: np.ndarray,
    sums: np.ndarray,
    A: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    cost: np.ndarray,
    nbrs: list[list[int]],
    edges: np.ndarray,
    allowed: np.ndarray,
    movable: np.ndarray,
    contiguity: bool,
) -> bool:
    """One ejection chain for the territory furthest outside its band.

    A territory below its band takes a unit from a neighbour, which takes
    one from its own neighbour, and so on along the shortest path (in the
    territory graph) to a territory with room to give; a territory above
    its band pushes load the other way.  Each step moves the cheapest
    boundary unit (disruption per unit of load) that keeps the giver
    connected.  The chain is kept only if it lowers the total band
    violation; ``labels`` and ``sums`` are updated in place.
    """
    from collections import deque

    k = lo.shape[0]
    w = A[:, 0]
    tol = 1e-9 * np.maximum(np.abs(lo[:, 0]), 1.0)
    below = lo[:, 0] - sums[:, 0]
    above = sums[:, 0] - hi[:, 0]
    worst = np.maximum(below, above)
    t0 = int(np.argmax(worst))
    if worst[t0] <= tol[t0]:
        return False
    need_in = below[t0] > tol[t0]
    cut = labels[edges[:, 0]] != labels[edges[:, 1]]
    e = edges[cut]
    tadj: list[set[int]] = [set() for _ in range(k)]
    for a_, b_ in zip(labels[e[:, 0]].tolist(), labels[e[:, 1]].tolist(), strict=True):
        tadj[a_].add(b_)
        tadj[b_].add(a_)
    typical = float(np.median(w[w > 0])) if (w > 0).any() else 0.0
    # BFS to the nearest territory with room
    parent = {t0: -1}
    q = deque([t0])
    end = -1
    while q:
        t = q.popleft()
        if t != t0:
            room = (sums[t, 0] - lo[t, 0]) if need_in else (hi[t, 0] - sums[t, 0])
            if room > typical:
                end = t
                break
        for u in sorted(tadj[t]):
            if u not in parent:
                parent[u] = t
                q.append(u)
    if end < 0:
        return False
    path = [end]
    while parent[path[-1]] != -1:
        path.append(parent[path[-1]])
    path.reverse()  # t0, ..., end
    before = float(
        (
            np.maximum(lo[:, 0] - sums[:, 0], 0) + np.maximum(sums[:, 0] - hi[:, 0], 0)
        ).sum()
    )
    saved_labels = labels.copy()
    saved_sums = sums.copy()
    for step in range(len(path) - 1):
        near, far = path[step], path[step + 1]
        # units flow far -> near when t0 needs load, near -> far otherwise
        giver, taker = (far, near) if need_in else (near, far)
        cand = [
            i
            for i in np.flatnonzero(labels == giver).tolist()
            if movable[i]
            and allowed[i, taker]
            and w[i] > 0
            and any(labels[v] == taker for v in nbrs[i])
        ]
        if not cand:
            break
        ci = np.array(cand)
        ratio = (cost[ci, taker] - cost[ci, giver]) / w[ci]
        done = False
        for idx in np.argsort(ratio, kind="stable").tolist():
            i = int(ci[idx])
            if contiguity and not removable(i, labels, nbrs):
                continue
            if np.count_nonzero(labels == giver) <= 1:
                continue
            labels[i] = taker
            sums[giver] -= A[i]
            sums[taker] += A[i]
            done = True
            break
        if not done:
            break
    after = float(
        (
            np.maximum(lo[:, 0] - sums[:, 0], 0) + np.maximum(sums[:, 0] - hi[:, 0], 0)
        ).sum()
    )
    if after < before - 1e-12:
        return True
    labels[:] = saved_labels
    sums[:] = saved_sums
    return False

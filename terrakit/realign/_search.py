"""Least-disruption local search behind :func:`terrakit.realign.rebalance`.

Starting from the current alignment it (1) plans where load must go with a
small transshipment LP on the territory graph — units without a territory
(those of removed reps) are free supply that must all be placed, and load
passes between adjacent territories at the price (disruption per unit of
load) of the boundary units that would carry it, a convex piecewise price
from simulating one territory eating into the other — then hands the free
units out by the LP's quotas and moves the planned loads, cheapest boundary
units first, keeping both sides connected, re-planning a few rounds;
(2) repairs what is left outside a band (best disruption per imbalance
removed first, then ejection chains along the territory graph, re-planning
with the LP when stuck); (3) undoes moves that are not needed: single
boundary moves that lower the disruption and keep every band
(:func:`terrakit.design._search.improve_moves`), and exchanges that send a
moved unit home paid for by one cheaper move.  :func:`perturb` kicks an
answer for an iterated local search.  The result warm-starts the exact MIP
on small instances.

Without a unit graph (no contiguity) every unit may join every territory it
is allowed in: the search then runs on star graphs (:func:`star_graph`), as
the design heuristic's free local search does
(:func:`terrakit.design._core._free_space`), so that every move is a
boundary move and the territory graph is complete.
"""

from __future__ import annotations

import heapq
import math
import time

import numpy as np
import scipy.sparse as sp

from terrakit.design._search import improve_moves, neighbour_lists, removable

__all__ = ["least_disruption_search", "star_graph"]

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
    transport: bool = True,
    rounds: int = 2,
    exchange: bool = True,
    smooth: float = 1.0,
    initial: np.ndarray | None = None,
    improve_until: float | None = None,
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
        Unit graph (``None``: every unit may join every allowed territory;
        the search runs on the star graphs of :func:`star_graph`, and
        ``contiguity`` does not apply).
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
    transport
        Move load along the flows of the transshipment LP (else: a balanced
        flood fill and one flow round, the older search).
    rounds
        Rounds of transshipment LP and moves.
    exchange
        Finish by sending moved units home when a cheaper move pays for it.
    smooth
        Preference, when moving load between two territories, for units
        mostly surrounded by the receiving one (0: cheapest per load only).
    initial
        (n,) labels to start from instead of ``start`` (every unit assigned,
        every territory connected): a perturbed earlier answer to improve.
        Disruption still counts against ``start``.
    improve_until
        ``time.perf_counter()`` value at which step (3), undoing moves that
        are not needed, stops (at most ``deadline``): leaves the rest of the
        time to a solver that improves the plan after the search.
    """
    n, k = cost.shape
    if adjacency is None:
        # no graph: every unit may join every territory it is allowed in.  A
        # virtual anchor per territory (no activity, fixed to it) linked to
        # every unit allowed there makes every move a boundary move, so the
        # transport LP, the band repair and the improvement below consider
        # them all (with no graph they moved nothing)
        A0 = np.asarray(activities, dtype=float)
        A0 = A0[:, None] if A0.ndim == 1 else A0
        own = np.arange(k, dtype=np.int64)
        fixed0 = np.asarray(fixed, dtype=np.int64)
        lab, ok = least_disruption_search(
            cost=np.vstack([cost, np.zeros((k, k))]),
            start=np.concatenate([np.asarray(start, dtype=np.int64), own]),
            activities=np.vstack([A0, np.zeros((k, A0.shape[1]))]),
            lower=lower,
            upper=upper,
            adjacency=star_graph(allowed, fixed0),
            allowed=np.vstack([np.asarray(allowed, dtype=bool), np.eye(k, dtype=bool)]),
            fixed=np.concatenate([fixed0, own]),
            contiguity=False,
            deadline=deadline,
            inner=inner,
            aim=aim,
            transport=transport,
            rounds=rounds,
            exchange=exchange,
            smooth=smooth,
            initial=None
            if initial is None
            else np.concatenate([np.asarray(initial, dtype=np.int64), own]),
            improve_until=improve_until,
        )
        return lab[:n], ok
    labels = np.asarray(start if initial is None else initial, dtype=np.int64).copy()
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
    movable = fixed < 0
    # the movable neighbours of each unit, along which the transport LP's
    # price curves let a territory eat into another
    free_to_move = movable.tolist()
    grow = [[v for v in nb if free_to_move[v]] for nb in nbrs]

    def plan(towards: float) -> dict[tuple[int, int], float] | None:
        # the flows between territories for the current labels (first measure)
        return _transport_lp(
            labels,
            A[:, 0],
            lo[:, 0],
            hi[:, 0],
            mid[:, 0],
            cost,
            nbrs,
            edges,
            allowed,
            movable,
            towards,
            grow,
        )

    if edges.shape[0] and transport:
        # -- 1. LP-guided: free units by quota, then load along the flows ------
        A0 = A[:, 0]
        if (labels < 0).any():
            flows = plan(aim)
            quotas = (
                {} if flows is None else {a: f for a, f in flows.items() if a[0] >= k}
            )
            _hand_out(labels, quotas, A0, cost, nbrs, allowed, k, edges)
        for _round in range(rounds):
            if time.perf_counter() > deadline:
                break
            flows = plan(aim)
            if not flows:
                break
            _realise(
                labels,
                flows,
                A0,
                cost,
                nbrs,
                allowed,
                movable,
                contiguity,
                deadline,
                smooth,
                edges,
            )
        sums = np.zeros((k, A.shape[1]))
        np.add.at(sums, labels, A)
    else:
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

    retries = 3 if (transport and edges.shape[0]) else 1
    for attempt in range(retries):
        if attempt:
            if feasible() or time.perf_counter() > deadline:
                break
            # still outside a band: plan the rest of the way with the LP again
            for _round in range(2):
                flows = plan(0.0)
                if not flows or time.perf_counter() > deadline:
                    break
                _realise(
                    labels,
                    flows,
                    A[:, 0],
                    cost,
                    nbrs,
                    allowed,
                    movable,
                    contiguity,
                    deadline,
                    smooth,
                    edges,
                )
            sums[:] = 0.0
            np.add.at(sums, labels, A)
        if not edges.shape[0]:
            break
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
        until = deadline if improve_until is None else min(deadline, improve_until)
        for _pass in range(4):
            labels, _n_moves = improve_moves(
                labels,
                nbrs,
                edges,
                A,
                lo,
                hi,
                cost_delta,
                contiguity=contiguity,
                locked=locked,
                deadline=until,
            )
            if not exchange or time.perf_counter() > until:
                break
            n_ex = _exchange_improve(
                labels,
                edges,
                A,
                lo,
                hi,
                cost,
                nbrs,
                allowed,
                movable,
                np.asarray(start, dtype=np.int64),
                contiguity,
                until,
            )
            if n_ex == 0:
                break
        sums = np.zeros((k, A.shape[1]))
        np.add.at(sums, labels, A)
    return labels, feasible()


def star_graph(allowed: np.ndarray, fixed: np.ndarray) -> sp.csr_matrix:
    """The graph on which :func:`least_disruption_search` runs without one.

    Nodes ``0 .. n-1`` are the units, ``n .. n+k-1`` one virtual anchor per
    territory; each unit that may move (``fixed < 0``) is linked to the
    anchor of every territory it is allowed in (``allowed``, (n, k)).  With
    the anchors fixed to their territories, a unit touches every territory
    it may join and no other, so every such move is a boundary move and the
    territory graph is complete: the star graphs of the design heuristic's
    free local search (:func:`terrakit.design._core._free_space`), whose
    anchors are real units, which would hold one unit of each territory in
    place and leave a new rep without units no anchor.
    """
    n, k = allowed.shape
    ii, jj = np.nonzero(np.asarray(allowed, dtype=bool) & (fixed < 0)[:, None])
    m = sp.csr_matrix((np.ones(ii.size), (ii, n + jj)), shape=(n + k, n + k))
    return sp.csr_matrix(m + m.T)


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


# -- LP-guided transport (new) ---------------------------------------------------


def _territory_arcs(labels: np.ndarray, edges: np.ndarray) -> list[tuple[int, int]]:
    """Ordered pairs ``(a, b)`` of distinct labels that share a unit edge."""
    la, lb = labels[edges[:, 0]], labels[edges[:, 1]]
    cut = (la != lb) & (la >= 0) & (lb >= 0)
    k = int(labels.max()) + 1 if labels.size else 0
    shares = np.zeros((k, k), dtype=bool)
    shares[la[cut], lb[cut]] = True
    shares |= shares.T
    a, b = np.nonzero(shares)  # row-major: sorted
    return list(zip(a.tolist(), b.tolist(), strict=True))


def _touching(labels: np.ndarray, edges: np.ndarray, k: int) -> np.ndarray:
    """(n, k): whether unit ``i`` has a neighbour in territory ``t``."""
    out = np.zeros((labels.size, k), dtype=bool)
    for x, y in ((edges[:, 0], edges[:, 1]), (edges[:, 1], edges[:, 0])):
        t = labels[y]
        out[x[t >= 0], t[t >= 0]] = True
    return out


def _members(labels: np.ndarray, movable: np.ndarray, k: int) -> list[np.ndarray]:
    """The movable units of each territory ``0 .. k-1`` (sorted)."""
    idx = np.flatnonzero(movable & (labels >= 0))
    idx = idx[np.argsort(labels[idx], kind="stable")]
    cuts = np.searchsorted(labels[idx], np.arange(k + 1))
    return [idx[cuts[t] : cuts[t + 1]] for t in range(k)]


def _price_curve(
    a: int,
    b: int,
    labels: np.ndarray,
    grow: list[list[int]],
    w: np.ndarray,
    cost: np.ndarray,
    allowed: np.ndarray,
    steps: tuple[float, ...],
    first: np.ndarray,
) -> list[tuple[float, float]]:
    """Convex piecewise price of moving load from territory ``a`` to ``b``.

    Simulates ``b`` eating into ``a``: the cheapest boundary unit (disruption
    per unit of load) first, its neighbours in ``a`` joining the frontier
    (contiguity ignored).  The units taken are cut into segments at the
    cumulative loads ``steps``; each segment's price is its mean disruption
    per load, made non-decreasing.  Returns ``[(price, capacity), ...]``.
    ``first`` are the movable units of ``a`` facing ``b`` that may join it
    (the first frontier), ``grow`` the movable neighbours of each unit.
    """
    heap: list[tuple[float, int]] = []
    seen: set[int] = set(first.tolist())

    def push(i: int) -> None:
        if i in seen or labels[i] != a or not allowed[i, b]:
            return
        seen.add(i)
        dc = float(cost[i, b] - cost[i, a])
        wi = float(w[i])
        r = (0.0 if dc <= 0 else math.inf) if wi <= 0 else dc / wi
        if math.isfinite(r):
            heapq.heappush(heap, (r, i))

    dc0 = cost[first, b] - cost[first, a]
    r0 = _per_load(dc0, w[first])
    fin = np.isfinite(r0)
    heap = list(zip(r0[fin].tolist(), first[fin].tolist(), strict=True))
    heapq.heapify(heap)
    segs: list[tuple[float, float]] = []
    load = 0.0
    seg_cost = 0.0
    seg_load = 0.0
    s = 0
    while heap and s < len(steps):
        _r, i = heapq.heappop(heap)
        load += float(w[i])
        seg_load += float(w[i])
        seg_cost += float(cost[i, b] - cost[i, a])
        for v in grow[i]:
            push(v)
        if load >= steps[s]:
            segs.append((seg_cost / max(seg_load, 1e-12), seg_load))
            seg_cost = seg_load = 0.0
            s += 1
    if seg_load > 0:
        segs.append((seg_cost / seg_load, seg_load))
    return _convex(segs)


def _per_load(dc: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Disruption per unit of load ``dc / w`` (a unit without load: 0 when it
    costs nothing to move, else ``inf``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            w > 0, dc / np.where(w > 0, w, 1.0), np.where(dc <= 0, 0.0, math.inf)
        )


def _convex(segs: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Segment prices made non-decreasing (and ≥ 0)."""
    out: list[tuple[float, float]] = []
    p = 0.0
    for price, cap in segs:
        p = max(p, price, 0.0)
        out.append((p, cap))
    return out


def _price_curves_at_once(
    a: int,
    bs: list[int],
    mine: np.ndarray,
    w: np.ndarray,
    cost: np.ndarray,
    allowed: np.ndarray,
    touching: np.ndarray,
    steps: tuple[float, ...],
) -> list[list[tuple[float, float]]]:
    """The curves of :func:`_price_curve` for the arcs from ``a`` to every
    territory of ``bs`` at once, when the frontier cannot grow (no unit of
    ``a``, the movable units ``mine``, has a movable neighbour: the star
    graphs of :func:`star_graph`).  Then ``b`` takes the units of ``a``
    facing it in order of price (ties by unit), each step closing on the
    first unit that reaches it, at most one step per unit, as the heap of
    :func:`_price_curve` does (which, one unit and one arc at a time, took
    seconds on 3,000 units and 20 territories).
    """
    cols = np.asarray(bs, dtype=np.int64)
    dc = cost[np.ix_(mine, cols)] - cost[mine, a][:, None]
    wm = np.broadcast_to(w[mine][:, None], dc.shape)
    r = _per_load(dc, wm)
    ok = touching[np.ix_(mine, cols)] & allowed[np.ix_(mine, cols)] & np.isfinite(r)
    order = np.argsort(np.where(ok, r, math.inf), axis=0, kind="stable")
    ok_s = np.take_along_axis(ok, order, axis=0)
    cw = np.cumsum(np.where(ok_s, np.take_along_axis(wm, order, axis=0), 0.0), axis=0)
    cc = np.cumsum(np.where(ok_s, np.take_along_axis(dc, order, axis=0), 0.0), axis=0)
    n_ok = ok.sum(axis=0)
    m = mine.size
    ends = np.zeros((len(steps), cols.size), dtype=np.int64)
    closed = np.zeros((len(steps), cols.size), dtype=bool)
    prev = np.full(cols.size, -1)
    alive = np.ones(cols.size, dtype=bool)
    for si, step in enumerate(steps):
        hit = cw >= step
        e = np.where(hit.any(axis=0), hit.argmax(axis=0), m) if m else prev + 1
        e = np.maximum(e, prev + 1)
        alive &= e < n_ok
        ends[si], closed[si] = e, alive
        prev = np.where(alive, e, prev)
    out: list[list[tuple[float, float]]] = []
    cwl, ccl = cw.T.tolist(), cc.T.tolist()
    for c in range(cols.size):
        load, money = cwl[c], ccl[c]
        segs: list[tuple[float, float]] = []
        w0 = c0 = 0.0
        last = -1
        for si in range(len(steps)):
            if not closed[si, c]:
                break
            end = int(ends[si, c])
            seg_load, seg_cost = load[end] - w0, money[end] - c0
            segs.append((seg_cost / max(seg_load, 1e-12), seg_load))
            w0, c0, last = load[end], money[end], end
        if not closed[-1, c] and int(n_ok[c]) - 1 > last:
            seg_load = load[int(n_ok[c]) - 1] - w0
            if seg_load > 0:
                seg_cost = money[int(n_ok[c]) - 1] - c0
                segs.append((seg_cost / seg_load, seg_load))
        out.append(_convex(segs))
    return out


def _transport_lp(
    labels: np.ndarray,
    A0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    mid: np.ndarray,
    cost: np.ndarray,
    nbrs: list[list[int]],
    edges: np.ndarray,
    allowed: np.ndarray,
    movable: np.ndarray,
    margin: float,
    grow: list[list[int]] | None = None,
) -> dict[tuple[int, int], float] | None:
    """Least-disruption flows of load between territories (and from free units).

    Units labelled ``-1`` are free (they must go somewhere at no extra
    disruption): each connected piece of them is a supply node ``k + c``
    that sends all its load to the territories it touches, at no price.
    Territory ``a`` sends load to an adjacent ``b`` at the piecewise price
    of :func:`_price_curve`.  Every territory ends inside its band shrunk by
    ``margin`` × its half-width on each side (``grow``: the movable
    neighbours of each unit, when the caller has them).  Returns ``{(from, to): load}``
    (nodes ``≥ k`` are free pieces) or ``None`` when the LP has no solution.
    """
    from scipy.optimize import linprog
    from scipy.sparse.csgraph import connected_components

    k = lo.shape[0]
    n = labels.size
    free = np.flatnonzero(labels < 0)
    comp = np.full(n, -1, dtype=np.int64)
    n_c = 0
    if free.size:
        rows, cols = [], []
        pos = {int(u): p for p, u in enumerate(free.tolist())}
        for u in free.tolist():
            for v in nbrs[u]:
                if v in pos:
                    rows.append(pos[u])
                    cols.append(pos[v])
        g = sp.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(free.size, free.size)
        )
        n_c, cc = connected_components(g, directed=False)
        comp[free] = cc
    sums = np.bincount(labels[labels >= 0], weights=A0[labels >= 0], minlength=k)
    supply = np.bincount(comp[free], weights=A0[free], minlength=n_c)
    mean = float(np.mean(mid))
    steps = tuple(f * mean for f in (0.03, 0.08, 0.15, 0.25, 0.4))
    var_arc: list[tuple[int, int]] = []
    price: list[float] = []
    ub: list[float | None] = []
    touching = _touching(labels, edges, k)
    if grow is None:
        grow = [[v for v in nb if movable[v]] for nb in nbrs]
    members = _members(labels, movable, k)
    grows = np.fromiter((bool(g) for g in grow), dtype=bool, count=n)
    arcs_from: dict[int, list[int]] = {}
    for a, b in _territory_arcs(labels, edges):
        arcs_from.setdefault(a, []).append(b)
    for a, bs in arcs_from.items():
        mine = members[a]
        if not grows[mine].any():
            curves = _price_curves_at_once(
                a, bs, mine, A0, cost, allowed, touching, steps
            )
        else:
            curves = [
                _price_curve(
                    a,
                    b,
                    labels,
                    grow,
                    A0,
                    cost,
                    allowed,
                    steps,
                    mine[touching[mine, b] & allowed[mine, b]],
                )
                for b in bs
            ]
        for b, segs in zip(bs, curves, strict=True):
            for p, cap in segs:
                var_arc.append((a, b))
                price.append(p + 1e-9)
                ub.append(cap)
    if n_c:
        touch: set[tuple[int, int]] = set()
        for u in free.tolist():
            for v in nbrs[u]:
                t = int(labels[v])
                if t >= 0 and allowed[u, t]:
                    touch.add((k + int(comp[u]), t))
        for c, t in sorted(touch):
            var_arc.append((c, t))
            price.append(1e-9)
            ub.append(None)
    if not var_arc:
        return None
    nv = len(var_arc)
    ends = np.asarray(var_arc, dtype=np.int64)
    M = sp.csr_matrix(
        (
            np.concatenate([-np.ones(nv), np.ones(nv)]),
            (ends.T.ravel(), np.tile(np.arange(nv), 2)),
        ),
        shape=(k + n_c, nv),
    )
    both = np.isfinite(lo) & np.isfinite(hi)
    half = np.where(both, (hi - lo) / 2, 0.0)
    big = 1e12 * max(float(np.abs(A0).sum()), 1.0)
    L = np.where(np.isfinite(lo), lo + margin * half, -big)
    U = np.where(np.isfinite(hi), hi - margin * half, big)
    res = linprog(
        np.asarray(price),
        A_ub=sp.vstack([M[:k], -M[:k]]),
        b_ub=np.concatenate([U - sums, sums - L]),
        A_eq=M[k:] if n_c else None,
        b_eq=-supply if n_c else None,
        bounds=[(0.0, u) for u in ub],
        method="highs",
    )
    if res.status != 0:
        return None
    flows: dict[tuple[int, int], float] = {}
    for (a, b), f in zip(var_arc, res.x.tolist(), strict=True):
        if f > 1e-9:
            flows[(a, b)] = flows.get((a, b), 0.0) + f
    return flows


def _hand_out(
    labels: np.ndarray,
    quotas: dict[tuple[int, int], float],
    A0: np.ndarray,
    cost: np.ndarray,
    nbrs: list[list[int]],
    allowed: np.ndarray,
    k: int,
    edges: np.ndarray | None = None,
) -> None:
    """Give the free units (label ``-1``) to territories by quota, in place.

    Territories grow into the free units from their boundary, the one
    furthest below its quota first (share of its quota received); each
    takes the frontier unit closest (in steps) to its own side.  Units left
    over go to the touching territory that received least of its quota.
    ``edges`` (those of ``nbrs``), when given, find the first frontiers at
    once.  Each pick scores the whole frontier at once (unit by unit it took
    seconds on the star graphs of 1,000 free units and 20 territories).
    """
    from collections import deque

    free = labels < 0
    if not free.any():
        return
    quota = np.zeros(k)
    for (_c, t), f in quotas.items():
        quota[t] += f
    units = np.flatnonzero(free)
    pos = np.full(labels.size, -1, dtype=np.int64)
    pos[units] = np.arange(units.size)
    touch = (
        _touching(labels, edges, k)[units]
        if edges is not None
        else np.array(
            [[any(labels[v] == t for v in nbrs[u]) for t in range(k)] for u in units],
            dtype=bool,
        ).reshape(units.size, k)
    )
    # steps from each territory's boundary through free units (inf: none)
    steps = np.full((k, units.size), np.inf)
    for t in range(k):
        first = np.flatnonzero(allowed[units, t] & touch[:, t])
        if first.size == 0:
            continue
        steps[t, first] = 0.0
        q: deque[int] = deque(units[first].tolist())
        while q:
            u = q.popleft()
            for v in nbrs[u]:
                p = pos[v]
                if p >= 0 and allowed[v, t] and steps[t, p] == np.inf:
                    steps[t, p] = steps[t, pos[u]] + 1
                    q.append(v)
    reach = np.isfinite(steps).any(axis=1)
    # the nearest other territory that gets a quota, for each unit and each t
    other = np.where((quota > 0)[:, None] & reach[:, None], steps, np.inf)
    if k > 1:
        two = np.partition(other, 1, axis=0)[:2] if k > 2 else np.sort(other, axis=0)
        nearest = np.argmin(other, axis=0)
    else:
        two = np.vstack([other, np.full_like(other, np.inf)])
        nearest = np.zeros(units.size, dtype=np.int64)
    still = np.ones(units.size, dtype=bool)
    got = np.zeros(k)
    heap: list[tuple[float, int]] = [
        (0.0, t) for t in range(k) if quota[t] > 0 and reach[t]
    ]
    heapq.heapify(heap)
    while heap:
        _f, t = heapq.heappop(heap)
        cand = np.flatnonzero(still & touch[:, t] & np.isfinite(steps[t]))
        if cand.size == 0:
            continue
        others = np.where(nearest[cand] == t, two[1, cand], two[0, cand])
        order = np.lexsort(
            (
                units[cand],
                cost[units[cand], t],
                steps[t, cand] - np.minimum(others, 1e9),
            )
        )
        p = int(cand[order[0]])
        best = int(units[p])
        if got[t] + A0[best] / 2 > quota[t] and got[t] > 0:
            continue
        labels[best] = t
        still[p] = False
        for v in nbrs[best]:  # its free neighbours now face t
            if pos[v] >= 0:
                touch[pos[v], t] = True
        got[t] += A0[best]
        if got[t] < quota[t]:
            heapq.heappush(heap, (got[t] / quota[t], t))
    # leftovers: flood to the touching territory with the lowest fill
    changed = True
    while changed and (labels < 0).any():
        changed = False
        for u in np.flatnonzero(labels < 0).tolist():
            ts = {int(labels[v]) for v in nbrs[u] if labels[v] >= 0}
            ts = {t for t in ts if allowed[u, t]}
            if ts:
                t = min(ts, key=lambda s: (got[s] - quota[s], s))
                labels[u] = t
                got[t] += A0[u]
                changed = True
    for u in np.flatnonzero(labels < 0).tolist():  # unreachable: cheapest allowed
        c = np.where(allowed[u], cost[u], np.inf)
        labels[u] = int(np.argmin(c))


def _realise(
    labels: np.ndarray,
    flows: dict[tuple[int, int], float],
    A0: np.ndarray,
    cost: np.ndarray,
    nbrs: list[list[int]],
    allowed: np.ndarray,
    movable: np.ndarray,
    contiguity: bool,
    deadline: float,
    smooth: float = 1.0,
    edges: np.ndarray | None = None,
) -> list[tuple[int, int, float, float]]:
    """Move load between territories as the flows say, in place.

    Arcs in topological order of the flow graph (the largest first among
    ready ones); for arc ``a → b``, ``b`` eats into ``a``: the boundary unit
    of ``a`` facing ``b`` with the least disruption per load that keeps
    ``a`` connected, until the load moved is within half a unit of the flow.
    ``edges`` (those of ``nbrs``), when given, find each arc's first
    frontier at once rather than unit by unit.
    """
    arcs = [(a, b, f) for (a, b), f in flows.items() if f > 1e-9]
    indeg: dict[int, int] = {}
    for a, b, _f in arcs:
        indeg[b] = indeg.get(b, 0) + 1
        indeg.setdefault(a, 0)
    done: set[tuple[int, int]] = set()
    order: list[tuple[int, int, float]] = []
    while len(order) < len(arcs):
        ready = [x for x in arcs if (x[0], x[1]) not in done and indeg[x[0]] == 0]
        if not ready:  # a cycle: take the rest by size
            ready = [x for x in arcs if (x[0], x[1]) not in done]
        ready.sort(key=lambda x: (-x[2], x[0], x[1]))
        a, b, f = ready[0]
        done.add((a, b))
        order.append((a, b, f))
        indeg[b] -= 1
    count = np.bincount(labels, minlength=int(labels.max()) + 1)
    n = labels.size
    degree = np.fromiter((len(nb) for nb in nbrs), dtype=float, count=n)
    report: list[tuple[int, int, float, float]] = []
    for a, b, f in order:
        if time.perf_counter() > deadline:
            return report
        heap: list[tuple[float, int]] = []
        seen: set[int] = set()

        def push(
            i: int,
            a: int = a,
            b: int = b,
            seen: set[int] = seen,
            heap: list[tuple[float, int]] = heap,
        ) -> None:
            if i in seen or labels[i] != a or not movable[i] or not allowed[i, b]:
                return
            seen.add(i)
            dc = float(cost[i, b] - cost[i, a])
            wi = float(A0[i])
            r = (0.0 if dc <= 0 else math.inf) if wi <= 0 else dc / wi
            if math.isfinite(r):
                # prefer units mostly surrounded by b: a smooth front keeps
                # both territories easy to cut further
                nb = nbrs[i]
                inb = sum(1 for v in nb if labels[v] == b) / max(len(nb), 1)
                heapq.heappush(heap, (r * (1.0 + smooth * (1.0 - inb)), i))

        if edges is None:
            for i in np.flatnonzero(labels == a).tolist():
                if any(labels[v] == b for v in nbrs[i]):
                    push(i)
        else:
            # the units of a facing b, each with its neighbours in b, at once
            la, lb = labels[edges[:, 0]], labels[edges[:, 1]]
            near = np.bincount(
                np.concatenate(
                    [edges[(la == a) & (lb == b), 0], edges[(lb == a) & (la == b), 1]]
                ),
                minlength=n,
            )
            front = np.flatnonzero(near)
            front = front[movable[front] & allowed[front, b]]
            seen.update(front.tolist())
            per = _per_load(cost[front, b] - cost[front, a], A0[front])
            inb = near[front] / np.maximum(degree[front], 1.0)
            fin = np.isfinite(per)
            key = per[fin] * (1.0 + smooth * (1.0 - inb[fin]))
            heap.extend(zip(key.tolist(), front[fin].tolist(), strict=True))
            heapq.heapify(heap)
        moved = 0.0
        skipped: list[tuple[float, int]] = []
        while heap and moved < f:
            r, i = heapq.heappop(heap)
            if labels[i] != a:
                continue
            if moved + A0[i] / 2 > f or count[a] <= 1:
                continue
            if contiguity and not removable(i, labels, nbrs):
                skipped.append((r, i))
                continue
            labels[i] = b
            count[a] -= 1
            count[b] += 1
            moved += float(A0[i])
            for v in nbrs[i]:
                push(v)
            # a unit blocked by contiguity may be free now
            for x in skipped:
                heapq.heappush(heap, x)
            skipped.clear()
        report.append((a, b, f, moved))
    return report


def _exchange_improve(
    labels: np.ndarray,
    edges: np.ndarray,
    A: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    cost: np.ndarray,
    nbrs: list[list[int]],
    allowed: np.ndarray,
    movable: np.ndarray,
    orig: np.ndarray,
    contiguity: bool,
    deadline: float,
    max_rounds: int = 50,
) -> int:
    """Send moved units home, each paid for by one cheaper move; in place.

    For a unit ``i`` that left its current territory ``o`` for ``t``: move it
    back and, when that breaks a band, compensate with the cheapest single
    boundary move that restores every band — a unit leaving ``o`` (for any
    territory it touches) or a unit joining ``t`` — provided the pair lowers
    the cost and keeps every territory connected.  Bands must hold on entry.
    Returns the number of exchanges applied.
    """
    k = lo.shape[0]
    sums = np.zeros((k, A.shape[1]))
    np.add.at(sums, labels, A)
    eps = 1e-9 * np.maximum(np.abs(hi), 1.0)
    count = np.bincount(labels, minlength=k)

    def ok(t: int) -> bool:
        return bool(
            np.all(sums[t] >= lo[t] - eps[t]) and np.all(sums[t] <= hi[t] + eps[t])
        )

    def move(i: int, b: int) -> None:
        a = int(labels[i])
        labels[i] = b
        sums[a] -= A[i]
        sums[b] += A[i]
        count[a] -= 1
        count[b] += 1

    applied = 0
    for _ in range(max_rounds):
        if time.perf_counter() > deadline:
            break
        moved = np.flatnonzero((orig >= 0) & (labels != orig) & movable)
        gain = cost[moved, labels[moved]] - cost[moved, orig[moved]]
        moved = moved[np.argsort(-gain, kind="stable")]
        n_round = 0
        for i in moved.tolist():
            if time.perf_counter() > deadline:
                break
            t, o = int(labels[i]), int(orig[i])
            if t == o or not allowed[i, o] or count[t] <= 1:
                continue
            if not any(labels[v] == o for v in nbrs[i]):
                continue
            g = float(cost[i, t] - cost[i, o])
            if g <= 1e-12:
                continue
            if contiguity and not removable(i, labels, nbrs):
                continue
            move(i, o)
            if ok(t) and ok(o):
                applied += 1
                n_round += 1
                continue
            # the cheapest compensating move: a unit leaving o, or joining t
            la, lb = labels[edges[:, 0]], labels[edges[:, 1]]
            js: list[np.ndarray] = []
            xs: list[np.ndarray] = []
            for side in (o, t):
                if ok(side):
                    continue
                if side == o:  # a unit of o to the territory it touches
                    m1 = (la == o) & (lb != o)
                    m2 = (lb == o) & (la != o)
                    js += [edges[m1, 0], edges[m2, 1]]
                    xs += [lb[m1], la[m2]]
                else:  # a unit touching t joins t
                    m1 = (lb == t) & (la != t)
                    m2 = (la == t) & (lb != t)
                    js += [edges[m1, 0], edges[m2, 1]]
                    xs += [lb[m1], la[m2]]
            best: tuple[float, int, int] | None = None
            if js:
                jj = np.concatenate(js)
                xx = np.concatenate(xs)
                yy = labels[jj]
                keep = movable[jj] & (jj != i) & allowed[jj, xx] & (count[yy] > 1)
                jj, xx, yy = jj[keep], xx[keep], yy[keep]
                dc = cost[jj, xx] - cost[jj, yy]
                aj = A[jj]
                sy = sums[yy] - aj
                sx = sums[xx] + aj
                fine = (
                    (dc < g - 1e-12)
                    & np.all(sy >= lo[yy] - eps[yy], axis=1)
                    & np.all(sy <= hi[yy] + eps[yy], axis=1)
                    & np.all(sx >= lo[xx] - eps[xx], axis=1)
                    & np.all(sx <= hi[xx] + eps[xx], axis=1)
                )
                for idx in np.flatnonzero(fine)[np.argsort(dc[fine], kind="stable")]:
                    j, x, y = int(jj[idx]), int(xx[idx]), int(yy[idx])
                    rest = {t, o} - {x, y}
                    if any(not ok(r) for r in rest):
                        continue
                    if contiguity and not removable(j, labels, nbrs):
                        continue
                    best = (float(dc[idx]), j, x)
                    break
            if best is None:
                move(i, t)  # undo
                continue
            move(best[1], best[2])
            applied += 1
            n_round += 1
        if n_round == 0:
            break
    return applied


def perturb(
    labels: np.ndarray,
    start: np.ndarray,
    adjacency: sp.csr_matrix,
    fixed: np.ndarray,
    rng: np.random.Generator,
    radius: int = 3,
) -> np.ndarray:
    """Send home the moved units near a random moved unit (a kick).

    Picks a unit that left its ``start`` territory at random, then sends
    every moved unit within ``radius`` steps of it back to its ``start``
    territory when it touches it and its present territory stays connected
    without it (breadth-first order, repeated until nothing changes).  The
    result is out of balance near the kick; the search repairs it another
    way.
    """
    from collections import deque

    n = labels.size
    lab = labels.copy()
    moved = np.flatnonzero((start >= 0) & (lab != start) & (fixed < 0))
    if moved.size == 0:
        return lab
    nbrs = neighbour_lists(adjacency, n)
    u0 = int(moved[rng.integers(moved.size)])
    seen = {u0: 0}
    order = [u0]
    q = deque([u0])
    while q:
        u = q.popleft()
        if seen[u] >= radius:
            continue
        for v in nbrs[u]:
            if v not in seen:
                seen[v] = seen[u] + 1
                order.append(v)
                q.append(v)
    count = np.bincount(lab, minlength=int(lab.max()) + 1)
    changed = True
    while changed:  # a unit may touch home only once its neighbour went back
        changed = False
        for u in order:
            o = int(start[u])
            if o < 0 or lab[u] == o or fixed[u] >= 0 or count[lab[u]] <= 1:
                continue
            if any(lab[v] == o for v in nbrs[u]) and removable(u, lab, nbrs):
                count[lab[u]] -= 1
                count[o] += 1
                lab[u] = o
                changed = True
    return lab

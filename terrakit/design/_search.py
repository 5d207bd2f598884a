"""Graph-based building blocks of the design heuristic.

Plain functions on arrays: a label per unit (territory index ``0..k-1``), the
unit adjacency as lists of neighbours, activity sums per territory and the
bands ``lower <= sums <= upper`` (``k × m``).  Used by
:mod:`terrakit.design.heuristic` for contiguity repair, band repair and the
local searches (compactness, cut edges, diameter).

Contiguity checks are local: a territory that is connected stays connected
after removing unit ``i`` iff all of ``i``'s neighbours inside the territory
are still connected to each other, which a breadth-first search restricted to
the territory (stopping as soon as every such neighbour was reached) decides.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

Neighbours = list[list[int]]


def neighbour_lists(adjacency: sp.spmatrix | sp.sparray, n: int) -> Neighbours:
    """Adjacency lists (no self loops) from a sparse matrix."""
    a = sp.csr_matrix(adjacency)
    a = ((a + a.T) != 0).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    ind, ptr = a.indices.tolist(), a.indptr.tolist()
    return [ind[ptr[i] : ptr[i + 1]] for i in range(n)]


def violation(
    sums: np.ndarray, lower: np.ndarray, upper: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """Per-territory band violation ``Σ_m max(0, s−U, L−s) / scale_m``."""
    over = np.maximum(sums - upper, 0.0) + np.maximum(lower - sums, 0.0)
    return (over / scale).sum(axis=-1)


def removable(i: int, labels: np.ndarray, nbrs: Neighbours) -> bool:
    """Whether territory ``labels[i]`` stays connected without unit ``i``.

    Assumes the territory is connected now.  False when ``i`` is its only unit.
    """
    t = labels[i]
    inside = [j for j in nbrs[i] if labels[j] == t]
    if not inside:
        # i is alone (or an island piece): removing it leaves the rest as is,
        # but never empty a territory.
        return _has_other(i, labels)
    if len(inside) == 1:
        return True
    targets = set(inside[1:])
    seen = {i, inside[0]}
    queue = deque([inside[0]])
    while queue:
        u = queue.popleft()
        for v in nbrs[u]:
            if v not in seen and labels[v] == t:
                if v in targets:
                    targets.discard(v)
                    if not targets:
                        return True
                seen.add(v)
                queue.append(v)
    return not targets


def _has_other(i: int, labels: np.ndarray) -> bool:
    return int(np.count_nonzero(labels == labels[i])) > 1


def territory_pieces(labels: np.ndarray, adjacency: sp.csr_matrix) -> np.ndarray:
    """Component id of every unit in the graph restricted to same-label edges."""
    a = sp.coo_matrix(adjacency)
    keep = labels[a.row] == labels[a.col]
    n = len(labels)
    b = sp.coo_matrix(
        (np.ones(int(keep.sum())), (a.row[keep], a.col[keep])), shape=(n, n)
    ).tocsr()
    return connected_components(b, directed=False)[1]


def repair_contiguity(
    labels: np.ndarray,
    adjacency: sp.csr_matrix,
    nbrs: Neighbours,
    anchor_score: np.ndarray,
    activities: np.ndarray,
    move_cost: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    locked: np.ndarray | None = None,
    max_rounds: int = 50,
) -> tuple[np.ndarray, int]:
    """Move stray pieces of territories to an adjacent territory.

    Each territory keeps its piece with the largest ``anchor_score`` sum (e.g.
    the one holding its center, scored high); every other piece goes, whole, to
    the neighbouring territory sharing most boundary with it (ties: lower
    ``move_cost``).  Pieces that touch no other territory (islands of the
    graph) stay.  Returns the new labels and the number of stray pieces left.
    """
    labels = labels.copy()
    n = len(labels)
    left = 0
    for _ in range(max_rounds):
        comp = territory_pieces(labels, adjacency)
        n_comp = int(comp.max()) + 1
        comp_label = np.zeros(n_comp, dtype=np.int64)
        comp_label[comp] = labels
        score = np.bincount(comp, weights=anchor_score, minlength=n_comp)
        size = np.bincount(comp, minlength=n_comp)
        # main piece per territory: highest score, then largest
        order = np.lexsort((-size, -score, comp_label))
        first = np.ones(n_comp, dtype=bool)
        first[order[1:]] = comp_label[order[1:]] != comp_label[order[:-1]]
        main = np.zeros(n_comp, dtype=bool)
        main[order[first]] = True
        stray = np.flatnonzero(~main)
        if len(stray) == 0:
            return labels, 0
        moved = 0
        left = 0
        members_of: dict[int, list[int]] = {}
        is_stray = ~main[comp]
        for u in np.flatnonzero(is_stray).tolist():
            members_of.setdefault(int(comp[u]), []).append(u)
        # smallest pieces first
        for c in sorted(members_of, key=lambda c: len(members_of[c])):
            members = members_of[c]
            if locked is not None and (locked[members] >= 0).any():
                left += 1
                continue
            own = labels[members[0]]
            contact: dict[int, int] = {}
            for u in members:
                for v in nbrs[u]:
                    lv = int(labels[v])
                    if lv != own:
                        contact[lv] = contact.get(lv, 0) + 1
            if not contact:
                left += 1
                continue
            if move_cost is not None and len(contact) > 1:
                cand = np.array(sorted(contact))
                mc = move_cost(np.asarray(members), cand)
                best = int(
                    cand[np.lexsort((mc, -np.array([contact[t] for t in cand])))[0]]
                )
            else:
                best = max(sorted(contact), key=lambda t: contact[t])
            labels[members] = best
            moved += 1
        if moved == 0:
            return labels, left
    del n
    return labels, left


def repair_bands(
    labels: np.ndarray,
    nbrs: Neighbours,
    edges: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    scale: np.ndarray,
    cost_delta: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    | None = None,
    contiguity: bool = True,
    locked: np.ndarray | None = None,
    deadline: float = math.inf,
    max_rounds: int = 10_000,
) -> np.ndarray:
    """Greedy boundary moves that reduce the total band violation.

    Candidate moves are the ends of cut edges (unit ``i`` to the territory of
    its neighbour ``j``), scored by the change in total violation (then by
    ``cost_delta(units, from, to)``); applied best first while they still
    help and keep the donor connected.
    """
    labels = labels.copy()
    k = lower.shape[0]
    sums = np.zeros((k, activities.shape[1]))
    np.add.at(sums, labels, activities)
    for _ in range(max_rounds):
        viol = violation(sums, lower, upper, scale)
        if viol.sum() <= 1e-12 or time.perf_counter() > deadline:
            break
        cut = labels[edges[:, 0]] != labels[edges[:, 1]]
        e = edges[cut]
        units = np.concatenate([e[:, 0], e[:, 1]])
        to = np.concatenate([labels[e[:, 1]], labels[e[:, 0]]])
        fr = labels[units]
        if locked is not None:
            free = locked[units] < 0
            units, to, fr = units[free], to[free], fr[free]
        # only moves touching a violated territory
        touch = (viol[fr] > 0) | (viol[to] > 0)
        units, to, fr = units[touch], to[touch], fr[touch]
        if len(units) == 0:
            break
        a = activities[units]
        d = (
            violation(sums[fr] - a, lower[fr], upper[fr], scale)
            + violation(sums[to] + a, lower[to], upper[to], scale)
            - viol[fr]
            - viol[to]
        )
        good = d < -1e-12
        if not good.any():
            break
        units, to, fr, d = units[good], to[good], fr[good], d[good]
        tie = cost_delta(units, fr, to) if cost_delta is not None else np.zeros(len(d))
        order = np.lexsort((tie, d))
        applied = 0
        for idx in order.tolist():
            i, a_, b = int(units[idx]), int(fr[idx]), int(to[idx])
            if labels[i] != a_:
                continue
            ai = activities[i]
            new = (
                violation(sums[a_] - ai, lower[a_], upper[a_], scale)
                + violation(sums[b] + ai, lower[b], upper[b], scale)
                - violation(sums[a_], lower[a_], upper[a_], scale)
                - violation(sums[b], lower[b], upper[b], scale)
            )
            if new >= -1e-12:
                continue
            if contiguity and not removable(i, labels, nbrs):
                continue
            if not contiguity and np.count_nonzero(labels == a_) <= 1:
                continue
            labels[i] = b
            sums[a_] -= ai
            sums[b] += ai
            applied += 1
        if applied == 0:
            break
    return labels


def improve_moves(
    labels: np.ndarray,
    nbrs: Neighbours,
    edges: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    cost_delta: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    contiguity: bool = True,
    locked: np.ndarray | None = None,
    deadline: float = math.inf,
    max_rounds: int = 1_000,
    tol: float = 1e-9,
) -> tuple[np.ndarray, int]:
    """Boundary moves that lower the cost and keep every band and contiguity.

    Vectorised scoring (all cut-edge ends at once), sequential application
    with exact band and connectivity checks.  Returns labels and the number of
    moves applied.
    """
    labels = labels.copy()
    k = lower.shape[0]
    sums = np.zeros((k, activities.shape[1]))
    np.add.at(sums, labels, activities)
    total = 0
    eps = 1e-9 * np.maximum(np.where(np.isfinite(upper), np.abs(upper), 1.0), 1.0)
    for _ in range(max_rounds):
        if time.perf_counter() > deadline:
            break
        cut = labels[edges[:, 0]] != labels[edges[:, 1]]
        e = edges[cut]
        units = np.concatenate([e[:, 0], e[:, 1]])
        to = np.concatenate([labels[e[:, 1]], labels[e[:, 0]]])
        if locked is not None:
            free = locked[units] < 0
            units, to = units[free], to[free]
        if len(units) == 0:
            break
        fr = labels[units]
        d = cost_delta(units, fr, to)
        good = d < -tol
        if not good.any():
            break
        units, to, fr, d = units[good], to[good], fr[good], d[good]
        a = activities[units]
        ok = np.all(sums[fr] - a >= lower[fr] - eps[fr], axis=1) & np.all(
            sums[to] + a <= upper[to] + eps[to], axis=1
        )
        units, to, fr, d = units[ok], to[ok], fr[ok], d[ok]
        applied = 0
        for idx in np.argsort(d, kind="stable").tolist():
            i, a_, b = int(units[idx]), int(fr[idx]), int(to[idx])
            if labels[i] != a_:
                continue
            ai = activities[i]
            if np.any(sums[a_] - ai < lower[a_] - eps[a_]) or np.any(
                sums[b] + ai > upper[b] + eps[b]
            ):
                continue
            if not any(labels[j] == b for j in nbrs[i]):
                continue
            if (
                float(cost_delta(np.array([i]), np.array([a_]), np.array([b]))[0])
                >= -tol
            ):
                continue
            if contiguity and not removable(i, labels, nbrs):
                continue
            if not contiguity and np.count_nonzero(labels == a_) <= 1:
                continue
            labels[i] = b
            sums[a_] -= ai
            sums[b] += ai
            applied += 1
        total += applied
        if applied == 0:
            break
    return labels, total


def bfs_order(start: int, nbrs: Neighbours, allowed: Sequence[bool]) -> list[int]:
    """Nodes reachable from ``start`` through ``allowed`` nodes (BFS order)."""
    seen = {start}
    out = [start]
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for v in nbrs[u]:
            if v not in seen and allowed[v]:
                seen.add(v)
                out.append(v)
                queue.append(v)
    return out


def regrow_strays(
    labels: np.ndarray,
    adjacency: sp.csr_matrix,
    nbrs: Neighbours,
    anchor_score: np.ndarray,
    cost: np.ndarray,
    locked: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Make every territory connected by re-growing its stray units.

    Each territory keeps its piece with the largest ``anchor_score`` (the
    piece of its center); every other unit becomes unassigned and is claimed,
    cheapest ``cost[i, t]`` first, by a territory it touches (a multi-source
    Dijkstra-like growth), so each territory stays one connected piece.
    Units that no territory reaches (graph components without a kept piece)
    keep their label.  Returns the labels and the number of such units.
    """
    import heapq

    labels = labels.copy()
    n = len(labels)
    comp = territory_pieces(labels, adjacency)
    n_comp = int(comp.max()) + 1
    comp_label = np.zeros(n_comp, dtype=np.int64)
    comp_label[comp] = labels
    score = np.bincount(comp, weights=anchor_score, minlength=n_comp)
    order = np.lexsort((-score, comp_label))
    first = np.ones(n_comp, dtype=bool)
    first[1:] = comp_label[order[1:]] != comp_label[order[:-1]]
    main = np.zeros(n_comp, dtype=bool)
    main[order[first]] = True
    kept = main[comp]
    if locked is not None:
        kept |= locked >= 0
    if kept.all():
        return labels, 0
    assigned = kept.copy()
    heap: list[tuple[float, int, int]] = []
    for u in np.flatnonzero(~kept).tolist():
        for v in nbrs[u]:
            if assigned[v]:
                t = int(labels[v])
                heap.append((float(cost[u, t]), u, t))
    heapq.heapify(heap)
    while heap:
        _, u, t = heapq.heappop(heap)
        if assigned[u]:
            continue
        assigned[u] = True
        labels[u] = t
        for v in nbrs[u]:
            if not assigned[v]:
                heapq.heappush(heap, (float(cost[v, t]), v, t))
    del n
    return labels, int((~assigned).sum())


def grow_with_prices(
    nbrs: Neighbours,
    roots: np.ndarray,
    reduced_cost: np.ndarray,
    activities: np.ndarray,
    upper: np.ndarray,
    locked: np.ndarray | None = None,
) -> np.ndarray:
    """Contiguous territories grown from their roots, cheapest claim first.

    A territory ``t`` claims a neighbouring free unit ``u`` in increasing order
    of ``reduced_cost[u, t]`` (the LP's cost minus the balance prices, so the
    growth follows the LP's balanced, power-diagram-like partition) unless
    that would push one of its activities above ``upper[t]``.  Units left
    when every territory is full join the cheapest adjacent territory.
    """
    import heapq

    n, k = reduced_cost.shape
    labels = np.full(n, -1, dtype=np.int64)
    sums = np.zeros((k, activities.shape[1]))
    heap: list[tuple[float, int, int]] = []
    fixed = np.full(n, -1, dtype=np.int64) if locked is None else locked

    def claim(u: int, t: int) -> None:
        labels[u] = t
        sums[t] += activities[u]
        for v in nbrs[u]:
            if labels[v] < 0 and fixed[v] in (-1, t):
                heapq.heappush(heap, (float(reduced_cost[v, t]), v, t))

    for t, r in enumerate(np.asarray(roots).tolist()):
        if labels[r] < 0:
            claim(r, t)
    for u in np.flatnonzero(fixed >= 0).tolist():
        if labels[u] < 0:
            claim(u, int(fixed[u]))
    while heap:
        _, u, t = heapq.heappop(heap)
        if labels[u] >= 0:
            continue
        if np.any(sums[t] + activities[u] > upper[t]):
            continue
        claim(u, t)
    # leftovers: cheapest adjacent territory, no capacity
    left = np.flatnonzero(labels < 0)
    if len(left):
        heap = []
        for u in left.tolist():
            for v in nbrs[u]:
                if labels[v] >= 0:
                    t = int(labels[v])
                    heap.append((float(reduced_cost[u, t]), u, t))
        heapq.heapify(heap)
        while heap:
            _, u, t = heapq.heappop(heap)
            if labels[u] >= 0:
                continue
            labels[u] = t
            for v in nbrs[u]:
                if labels[v] < 0:
                    heapq.heappush(heap, (float(reduced_cost[v, t]), v, t))
        rest = labels < 0
        labels[rest] = np.argmin(reduced_cost[rest], axis=1)
    return labels


def grow_balanced(
    nbrs: Neighbours,
    roots: np.ndarray,
    reduced_cost: np.ndarray,
    activities: np.ndarray,
    target: np.ndarray,
    locked: np.ndarray | None = None,
) -> np.ndarray:
    """Contiguous territories grown from their roots, least loaded first.

    The territory whose load (activity over its ``target``, summed over
    activities) is smallest takes its cheapest free neighbouring unit (by
    ``reduced_cost``); a territory without free neighbours stops.  Keeps
    loads even while following the LP's prices.  Units never reached (graph
    pieces without a root) take their cheapest territory.
    """
    import heapq

    n, k = reduced_cost.shape
    labels = np.full(n, -1, dtype=np.int64)
    fixed = np.full(n, -1, dtype=np.int64) if locked is None else locked
    tgt = np.where(target > 0, target, 1.0)
    load = np.zeros(k)
    heaps: list[list[tuple[float, int]]] = [[] for _ in range(k)]

    def claim(u: int, t: int) -> None:
        labels[u] = t
        load[t] += float((activities[u] / tgt[t]).sum())
        for v in nbrs[u]:
            if labels[v] < 0 and fixed[v] in (-1, t):
                heapq.heappush(heaps[t], (float(reduced_cost[v, t]), v))

    for t, r in enumerate(np.asarray(roots).tolist()):
        if labels[r] < 0:
            claim(r, t)
    order = [(load[t], t) for t in range(k)]
    heapq.heapify(order)
    while order:
        _, t = heapq.heappop(order)
        h = heaps[t]
        while h and labels[h[0][1]] >= 0:
            heapq.heappop(h)
        if not h:
            continue
        _, u = heapq.heappop(h)
        claim(u, t)
        heapq.heappush(order, (load[t], t))
    rest = labels < 0
    if rest.any():
        labels[rest] = np.argmin(reduced_cost[rest], axis=1)
    return labels

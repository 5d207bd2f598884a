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

import dataclasses
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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


def edge_list(adjacency: sp.spmatrix | sp.sparray) -> np.ndarray:
    """Undirected edges ``(n_edges, 2)``, each once: the upper triangle."""
    a = sp.triu(adjacency, k=1).tocoo()
    return np.column_stack([a.row, a.col]).astype(np.int64)


@dataclass(frozen=True, eq=False)
class SearchSpace:
    """What stays fixed while a design search runs over unit labels.

    The unit graph, the activities and their bands, the cost of every unit in
    every territory and the units that must not move: built once where a
    search starts and handed, with the labels and the per-call options
    (deadline, rounds, margins), to the searches of this module,
    :mod:`terrakit.design._graphsearch` and :mod:`terrakit.design._regions`.
    Changed only through :meth:`replace` (e.g. new centers: a new ``cost``,
    ``locked`` and ``roots``).

    Parameters
    ----------
    nbrs
        Adjacency lists of the ``n`` units (:func:`neighbour_lists`).
    edges
        ``(n_edges, 2)`` undirected edges, each once (:func:`edge_list`);
        the candidate moves are the ends of the edges cut by the labels.
    activities
        ``(n, m)`` activities of the units.
    lower, upper
        ``(k, m)`` band of every territory and activity (``∓inf``: none).
    cost
        ``(n, k)`` cost of every unit in every territory, or ``None`` for
        searches without one (cut edges, diameter).
    locked
        ``(n,)``: units with ``locked >= 0`` never move; the value is their
        territory for the searches that place them (:func:`grow_balanced`,
        :func:`grow_with_prices`).  ``None``: all free.
    roots
        ``(k,)`` unit of every territory (its center): never moved by
        :func:`balance_flow` and :func:`repair_bands_lp`, the starts of
        :func:`grow_with_prices`, :func:`grow_balanced` and
        :func:`connect_roots`.  The improving searches
        (:func:`improve_pairs`, :func:`improve_flow`) rely on ``locked``
        alone.  ``None``: no roots.
    adjacency
        The sparse ``n × n`` adjacency behind ``nbrs``, for the searches
        that need connected components (:func:`connect_roots`,
        :func:`regrow_strays`,
        :func:`~terrakit.design._regions.repartition_regions`).

    Raises
    ------
    ValueError
        When the shapes do not agree (the message gives them).

    Examples
    --------
    A path of four units, two territories, one activity:

    >>> import numpy as np, scipy.sparse as sp
    >>> i = np.arange(3)
    >>> adj = sp.coo_matrix((np.ones(3), (i, i + 1)), shape=(4, 4)).tocsr()
    >>> space = SearchSpace.from_adjacency(
    ...     adj, np.ones((4, 1)), np.full((2, 1), 1.5), np.full((2, 1), 2.5)
    ... )
    >>> space.n, space.k, space.m, space.edges.tolist()
    (4, 2, 1, [[0, 1], [1, 2], [2, 3]])
    >>> space.total_violation(np.array([0, 1, 1, 1]))
    0.5
    """

    nbrs: Neighbours
    edges: np.ndarray
    activities: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    cost: np.ndarray | None = None
    locked: np.ndarray | None = None
    roots: np.ndarray | None = None
    adjacency: sp.csr_matrix | None = None

    def __post_init__(self) -> None:
        act, lo, hi = self.activities, self.lower, self.upper
        if act.ndim != 2:
            raise ValueError(f"activities must be (n, m), got shape {act.shape}")
        n, m = act.shape
        if lo.ndim != 2 or lo.shape[1] != m or lo.shape != hi.shape:
            raise ValueError(
                f"lower and upper must both be (k, {m}) like the activities' "
                f"columns, got {lo.shape} and {hi.shape}"
            )
        if len(self.nbrs) != n:
            raise ValueError(f"nbrs lists {len(self.nbrs)} units, activities {n}")
        if self.edges.ndim != 2 or self.edges.shape[1] != 2:
            raise ValueError(f"edges must be (n_edges, 2), got {self.edges.shape}")
        if self.cost is not None and self.cost.shape != (n, lo.shape[0]):
            raise ValueError(
                f"cost must be (n, k) = {(n, lo.shape[0])}, got {self.cost.shape}"
            )
        if self.locked is not None and self.locked.shape != (n,):
            raise ValueError(f"locked must be ({n},), got {self.locked.shape}")

    @classmethod
    def from_adjacency(
        cls,
        adjacency: sp.spmatrix | sp.sparray,
        activities: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        *,
        cost: np.ndarray | None = None,
        locked: np.ndarray | None = None,
        roots: np.ndarray | None = None,
    ) -> SearchSpace:
        """The space of a sparse adjacency: its lists, edges and matrix
        (:func:`neighbour_lists`, :func:`edge_list`); the other fields as
        in the class."""
        adj = sp.csr_matrix(adjacency)
        return cls(
            neighbour_lists(adj, activities.shape[0]),
            edge_list(adj),
            activities,
            lower,
            upper,
            cost=cost,
            locked=locked,
            roots=roots,
            adjacency=adj,
        )

    def replace(self, **changes: Any) -> SearchSpace:
        """A copy with the given fields changed (e.g. ``cost``, ``locked``)."""
        return dataclasses.replace(self, **changes)

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.activities.shape[0])

    @property
    def k(self) -> int:
        """Number of territories."""
        return int(self.lower.shape[0])

    @property
    def m(self) -> int:
        """Number of activities."""
        return int(self.activities.shape[1])

    @property
    def scale(self) -> np.ndarray:
        """Mean territory total of every activity (at least ``1e-12``): the
        unit in which :func:`violation` adds up different activities."""
        return np.maximum(np.abs(self.activities).sum(axis=0) / self.k, 1e-12)

    def sums(self, labels: np.ndarray) -> np.ndarray:
        """``(k, m)`` activity totals of the territories of ``labels``."""
        out = np.zeros((self.k, self.m))
        np.add.at(out, labels, self.activities)
        return out

    def total_violation(self, labels: np.ndarray) -> float:
        """Total band violation of ``labels`` (:func:`violation`, summed)."""
        sums = self.sums(labels)
        return float(violation(sums, self.lower, self.upper, self.scale).sum())

    def cost_delta(
        self, units: np.ndarray, fr: np.ndarray, to: np.ndarray
    ) -> np.ndarray:
        """Cost change ``cost[units, to] − cost[units, fr]`` of moves."""
        if self.cost is None:
            raise ValueError("this search space has no cost matrix")
        return self.cost[units, to] - self.cost[units, fr]


def _cost_of(space: SearchSpace) -> np.ndarray:
    """``space.cost``, which the cost-driven searches need."""
    if space.cost is None:
        raise ValueError("this search needs a cost matrix in its SearchSpace")
    return space.cost


def _roots_of(space: SearchSpace) -> np.ndarray:
    """``space.roots``, which the searches growing from the roots need."""
    if space.roots is None:
        raise ValueError("this search needs the territories' roots in its SearchSpace")
    return space.roots


def _adjacency_of(space: SearchSpace) -> sp.csr_matrix:
    """``space.adjacency``, which the searches on graph components need."""
    if space.adjacency is None:
        raise ValueError("this search needs the sparse adjacency in its SearchSpace")
    return space.adjacency


def violation(
    sums: np.ndarray, lower: np.ndarray, upper: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """Per-territory band violation ``Σ_m max(0, s−U, L−s) / scale_m``."""
    over = np.maximum(sums - upper, 0.0) + np.maximum(lower - sums, 0.0)
    return (over / scale).sum(axis=-1)


def leaves_ok(
    sums: np.ndarray,
    a: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    eps: np.ndarray,
) -> np.ndarray:
    """Whether a territory with activity sums ``sums`` keeps its bands when a
    unit with activities ``a`` leaves it (last axis: the activities).

    The side each sum moves toward is checked: the lower bound where
    ``a >= 0`` (the sum falls), the upper bound where ``a < 0`` (it rises:
    net changes, margins).  A band met before the move is met after it; one
    broken before is not broken further.
    """
    new = sums - a
    return np.all(np.where(a >= 0, new >= lower - eps, new <= upper + eps), axis=-1)


def joins_ok(
    sums: np.ndarray,
    a: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    eps: np.ndarray,
) -> np.ndarray:
    """Whether a territory with activity sums ``sums`` keeps its bands when a
    unit with activities ``a`` joins it: the upper bound where ``a >= 0``,
    the lower bound where ``a < 0`` (see :func:`leaves_ok`)."""
    new = sums + a
    return np.all(np.where(a >= 0, new <= upper + eps, new >= lower - eps), axis=-1)


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
    # shortcut: the territory's neighbours of ``i`` linked to each other
    # through their own adjacency (one arc around ``i`` on a planar map)
    ins = set(inside)
    reached = {inside[0]}
    stack = [inside[0]]
    while stack:
        u = stack.pop()
        for v in nbrs[u]:
            if v in ins and v not in reached:
                reached.add(v)
                stack.append(v)
    if len(reached) == len(ins):
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
    space: SearchSpace,
    *,
    by_cost: bool = True,
    contiguity: bool = True,
    deadline: float = math.inf,
    max_rounds: int = 10_000,
) -> np.ndarray:
    """Greedy boundary moves that reduce the total band violation.

    Candidate moves are the ends of cut edges (unit ``i`` to the territory of
    its neighbour ``j``; locked units stay), scored by the change in total
    violation (in :attr:`SearchSpace.scale` units), then, with ``by_cost``
    and a cost in ``space``, by the cost change; applied best first while
    they still help and keep the donor connected.  A move to a territory
    whose cost for the unit is not finite (a forbidden pair:
    ``max_distance_km``, no route in a travel table) is never made, with
    or without ``by_cost``: no later move would take the unit back out.
    """
    nbrs, edges, activities = space.nbrs, space.edges, space.activities
    lower, upper, locked, scale = space.lower, space.upper, space.locked, space.scale
    cost_delta = space.cost_delta if by_cost and space.cost is not None else None
    cost = space.cost
    labels = labels.copy()
    sums = space.sums(labels)
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
        if cost is not None:
            # never onto a forbidden pair (cost inf)
            reach = np.isfinite(cost[units, to])
            units, to, fr = units[reach], to[reach], fr[reach]
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
        ok = leaves_ok(sums[fr], a, lower[fr], upper[fr], eps[fr]) & joins_ok(
            sums[to], a, lower[to], upper[to], eps[to]
        )
        units, to, fr, d = units[ok], to[ok], fr[ok], d[ok]
        applied = 0
        for idx in np.argsort(d, kind="stable").tolist():
            i, a_, b = int(units[idx]), int(fr[idx]), int(to[idx])
            if labels[i] != a_:
                continue
            ai = activities[i]
            if not (
                leaves_ok(sums[a_], ai, lower[a_], upper[a_], eps[a_])
                and joins_ok(sums[b], ai, lower[b], upper[b], eps[b])
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


def improve_single_moves(
    labels: np.ndarray,
    space: SearchSpace,
    *,
    contiguity: bool = True,
    deadline: float = math.inf,
    max_rounds: int = 1_000,
    tol: float = 1e-9,
) -> tuple[np.ndarray, int]:
    """:func:`improve_moves` on the graph, bands, cost and locks of ``space``.

    :func:`improve_moves` keeps its array arguments for
    :mod:`terrakit.realign._search`, whose cost change is not a matrix's
    (forbidden pairs).  Returns labels and the number of moves applied.
    """
    return improve_moves(
        labels,
        space.nbrs,
        space.edges,
        space.activities,
        space.lower,
        space.upper,
        space.cost_delta,
        contiguity=contiguity,
        locked=space.locked,
        deadline=deadline,
        max_rounds=max_rounds,
        tol=tol,
    )


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
    labels: np.ndarray, space: SearchSpace, anchor_score: np.ndarray, cost: np.ndarray
) -> tuple[np.ndarray, int]:
    """Make every territory connected by re-growing its stray units.

    Each territory keeps its piece with the largest ``anchor_score`` (the
    piece of its center); every other unit becomes unassigned and is claimed,
    cheapest ``cost[i, t]`` first, by a territory it touches (a multi-source
    Dijkstra-like growth), so each territory stays one connected piece.
    Units that no territory reaches (graph components without a kept piece)
    keep their label; locked units keep theirs.  ``cost`` is given apart
    from ``space.cost`` (e.g. the LP's reduced costs).  Returns the labels
    and the number of units left.
    """
    import heapq

    adjacency, nbrs, locked = _adjacency_of(space), space.nbrs, space.locked
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


def grow_with_prices(space: SearchSpace, reduced_cost: np.ndarray) -> np.ndarray:
    """Contiguous territories grown from their roots, cheapest claim first.

    A territory ``t`` claims a neighbouring free unit ``u`` in increasing order
    of ``reduced_cost[u, t]`` (the LP's cost minus the balance prices, so the
    growth follows the LP's balanced, power-diagram-like partition) unless
    that would push one of its activities above ``upper[t]``.  Units left
    when every territory is full join the cheapest adjacent territory.
    Locked units start in their territory.  A territory never claims a unit
    whose ``reduced_cost`` for it is not finite (a forbidden pair); units
    that no territory reaches otherwise take their cheapest territory.
    """
    import heapq

    nbrs, roots, activities = space.nbrs, _roots_of(space), space.activities
    upper, locked = space.upper, space.locked
    n, k = reduced_cost.shape
    labels = np.full(n, -1, dtype=np.int64)
    sums = np.zeros((k, activities.shape[1]))
    heap: list[tuple[float, int, int]] = []
    fixed = np.full(n, -1, dtype=np.int64) if locked is None else locked

    def claim(u: int, t: int) -> None:
        labels[u] = t
        sums[t] += activities[u]
        for v in nbrs[u]:
            c = float(reduced_cost[v, t])
            if labels[v] < 0 and fixed[v] in (-1, t) and math.isfinite(c):
                heapq.heappush(heap, (c, v, t))

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
                    if math.isfinite(c := float(reduced_cost[u, t])):
                        heap.append((c, u, t))
        heapq.heapify(heap)
        while heap:
            _, u, t = heapq.heappop(heap)
            if labels[u] >= 0:
                continue
            labels[u] = t
            for v in nbrs[u]:
                if labels[v] < 0 and math.isfinite(c := float(reduced_cost[v, t])):
                    heapq.heappush(heap, (c, v, t))
        rest = labels < 0
        labels[rest] = np.argmin(reduced_cost[rest], axis=1)
    return labels


def grow_balanced(
    space: SearchSpace, reduced_cost: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Contiguous territories grown from their roots, least loaded first.

    The territory whose load (activity over its ``target``, summed over
    activities) is smallest takes its cheapest free neighbouring unit (by
    ``reduced_cost``); a territory without free neighbours stops.  Keeps
    loads even while following the LP's prices.  Units never reached (graph
    pieces without a root) take their cheapest territory.  A locked unit
    is claimed only by its own territory, and no territory claims a unit
    whose ``reduced_cost`` for it is not finite (a forbidden pair: taken
    when that territory was the least loaded, the unit could never leave).
    A locked unit its territory never reaches (boxed in by a neighbour)
    keeps its lock, left apart for :func:`connect_roots` to join.
    """
    import heapq

    nbrs, roots, activities = space.nbrs, _roots_of(space), space.activities
    locked = space.locked
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
            c = float(reduced_cost[v, t])
            if labels[v] < 0 and fixed[v] in (-1, t) and math.isfinite(c):
                heapq.heappush(heaps[t], (c, v))

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
    # a locked unit never reached keeps its lock, whatever its cost
    stranded = (labels < 0) & (fixed >= 0)
    labels[stranded] = fixed[stranded]
    rest = labels < 0
    if rest.any():
        labels[rest] = np.argmin(reduced_cost[rest], axis=1)
    return labels


def connect_roots(
    labels: np.ndarray, space: SearchSpace, cost: np.ndarray, *, roots: bool = True
) -> np.ndarray:
    """Join each root and locked unit to the main piece of its territory.

    A balanced assignment that ignores contiguity can leave a territory's root
    (its rep's home) outside the region it serves, "boxed in" by a neighbour;
    a unit locked to a territory far from it is left in a piece of its own
    in the same way.  For every such unit of territory ``t`` (not in ``t``'s
    piece of largest activity) the cheapest path from it to that piece is
    given to ``t``: a Dijkstra search whose node weight is the cost increase
    ``max(cost[u, t] − cost[u, labels[u]], 0)`` plus a small per-unit term;
    other roots and locked units are not crossed.  Roots are joined first,
    then locked units, each on the pieces the corridors before it left.
    With ``roots=False`` only locked units are joined (roots shared by
    several territories).  Pieces of other territories the corridor cuts off
    are left for :func:`regrow_strays`.  ``cost`` is given apart from
    ``space.cost`` (e.g. the LP's reduced costs).
    """
    import heapq

    adjacency, nbrs, locked = _adjacency_of(space), space.nbrs, space.locked
    activities = space.activities
    labels = labels.copy()
    n, k = cost.shape
    root_of = np.asarray(_roots_of(space), dtype=np.int64)
    blocked = np.zeros(n, dtype=bool)
    blocked[root_of] = True
    anchors: list[tuple[int, int]] = (
        [(t, int(root_of[t])) for t in range(k)] if roots else []
    )
    if locked is not None:
        blocked |= locked >= 0
        anchors += [(int(locked[i]), int(i)) for i in np.flatnonzero(locked >= 0)]
    w = np.abs(activities).sum(axis=1)
    comp = territory_pieces(labels, adjacency)
    for t, r in anchors:
        mine = np.flatnonzero(labels == t)
        if len(mine) == 0 or labels[r] != t:
            continue
        weight = np.bincount(comp[mine], weights=w[mine] + 1e-12)
        main = int(np.argmax(weight))
        if comp[r] == main:
            continue
        target = comp == main
        rows = np.arange(n)
        step = np.maximum(cost[:, t] - cost[rows, labels], 0.0)
        step = np.where(np.isfinite(step), step, np.inf)
        eps = 1e-9 * (float(np.nanmax(np.where(np.isfinite(step), step, 0))) + 1.0)
        dist = np.full(n, np.inf)
        prev = np.full(n, -1, dtype=np.int64)
        dist[r] = 0.0
        heap = [(0.0, r)]
        end = -1
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist[u]:
                continue
            if target[u]:
                end = u
                break
            for v in nbrs[u]:
                if blocked[v] and not target[v]:
                    continue
                dv = d + (0.0 if labels[v] == t else float(step[v]) + eps)
                if dv < dist[v]:
                    dist[v] = dv
                    prev[v] = u
                    heapq.heappush(heap, (dv, v))
        if end < 0:
            continue
        u = int(prev[end])
        while u >= 0 and u != r:
            labels[u] = t
            u = int(prev[u])
        comp = territory_pieces(labels, adjacency)  # only after a corridor
    return labels


def balance_flow(
    labels: np.ndarray,
    space: SearchSpace,
    *,
    margin: float = 0.3,
    rounds: int = 30,
    deadline: float = math.inf,
) -> np.ndarray:
    """Balance contiguous territories by flows on the territory graph.

    Each round picks the activity ``m`` with the largest total band
    violation and solves a small min-cost flow LP (HiGHS) on the graph of
    adjacent territories: ship activity so that every territory ends inside
    its band tightened by ``margin`` of its width, least total flow first.
    Every arc ``a → b`` with flow ``f`` is then realised by boundary moves
    from ``a`` to ``b``: units of ``a`` touching ``b``, cheapest cost
    increase per unit of activity first, each keeping ``a`` connected (its
    root and locked units stay), until the moved activity is closest to
    ``f``.  Chains ``a → b → c`` shift load through territories that are
    already in band, which is what the greedy single moves of
    :func:`repair_bands` cannot do.  Stops when no band is violated, a round
    moves nothing, after ``rounds`` or at ``deadline``; returns the labels of
    the round with the least total violation.
    """
    import heapq

    from scipy.optimize import linprog

    nbrs, edges, lower, upper = space.nbrs, space.edges, space.lower, space.upper
    cost, locked, roots = _cost_of(space), space.locked, space.roots
    labels = labels.copy()
    n, k = len(labels), lower.shape[0]
    act = np.asarray(space.activities, dtype=float)
    fixed = np.zeros(n, dtype=bool)
    if roots is not None:
        fixed[np.asarray(roots, dtype=np.int64)] = True
    if locked is not None:
        fixed |= locked >= 0
    rows = np.arange(n)
    sums = np.zeros((k, act.shape[1]))
    np.add.at(sums, labels, act)
    width = np.where(np.isfinite(upper - lower), upper - lower, 0.0)
    lo_t = np.where(np.isfinite(lower), lower + margin * width, lower)
    hi_t = np.where(np.isfinite(upper), upper - margin * width, upper)
    scale = space.scale
    best_labels, best_viol = labels.copy(), math.inf
    for _ in range(rounds):
        over = np.maximum(sums - upper, 0.0) + np.maximum(lower - sums, 0.0)
        tot = (over / scale).sum(axis=0)
        if tot.sum() < best_viol - 1e-12:
            best_labels, best_viol = labels.copy(), float(tot.sum())
        if tot.max() <= 1e-12 or time.perf_counter() > deadline:
            break
        m = int(np.argmax(tot))
        a = act[:, m]
        # territory graph
        cut = labels[edges[:, 0]] != labels[edges[:, 1]]
        pairs = np.unique(
            np.sort(
                np.column_stack([labels[edges[cut, 0]], labels[edges[cut, 1]]]), axis=1
            ),
            axis=0,
        )
        if len(pairs) == 0:
            break
        arcs = np.vstack([pairs, pairs[:, ::-1]])
        n_arc = len(arcs)
        # boundary units of every arc (ends of cut edges, grouped by arc) and
        # the arc's marginal cost: its cheapest boundary move per unit of a
        eu = np.concatenate([edges[cut, 0], edges[cut, 1]])
        ev = np.concatenate([edges[cut, 1], edges[cut, 0]])
        key = labels[eu] * k + labels[ev]
        order = np.lexsort((eu, key))
        key_s, eu_s = key[order], eu[order]
        ratio = (cost[eu_s, labels[ev[order]]] - cost[eu_s, labels[eu_s]]) / np.maximum(
            a[eu_s], 1e-9 * scale[m]
        )
        # units with (almost) none of the activity cannot carry the flow
        a_pos = a[a > 0]
        small = 0.05 * float(np.median(a_pos)) if len(a_pos) else 0.0
        useless = fixed[eu_s] | ~np.isfinite(ratio) | (a[eu_s] <= small)
        ratio = np.where(useless, np.inf, ratio)
        first = np.flatnonzero(np.r_[True, key_s[1:] != key_s[:-1]])
        arc_min = np.minimum.reduceat(ratio, first)
        pos = np.searchsorted(key_s[first], arcs[:, 0] * k + arcs[:, 1])
        marg = arc_min[np.minimum(pos, len(first) - 1)]
        fin = np.isfinite(marg)
        ref = float(np.median(np.abs(marg[fin]))) if fin.any() else 1.0
        ref = ref if ref > 0 else 1.0
        # non-negative (no negative cycles), plus a hop term; blocked arcs dear
        arc_cost = np.where(fin, np.maximum(marg, 0.0) / ref, 1e3) + 0.1
        # node balance: s_t - out_t + in_t in [lo_t, hi_t]
        inc = sp.csr_matrix(
            (
                np.concatenate([-np.ones(n_arc), np.ones(n_arc)]),
                (
                    np.concatenate([arcs[:, 0], arcs[:, 1]]),
                    np.concatenate([np.arange(n_arc), np.arange(n_arc)]),
                ),
            ),
            shape=(k, n_arc),
        )
        # violated territories aim inside the tightened band; the others may
        # stay where they are but absorb only up to the tightened band (whole
        # units must realise the flow)
        bad = (sums[:, m] > upper[:, m]) | (sums[:, m] < lower[:, m])
        lo_goal = np.where(bad, lo_t[:, m], np.minimum(lo_t[:, m], sums[:, m]))
        hi_goal = np.where(bad, hi_t[:, m], np.maximum(hi_t[:, m], sums[:, m]))
        lo_m = np.where(np.isfinite(lo_goal), lo_goal - sums[:, m], -np.inf)
        hi_m = np.where(np.isfinite(hi_goal), hi_goal - sums[:, m], np.inf)
        fin_lo, fin_hi = np.isfinite(lo_m), np.isfinite(hi_m)
        a_ub = sp.vstack([inc[fin_hi], -inc[fin_lo]]).tocsr()
        b_ub = np.concatenate([hi_m[fin_hi], -lo_m[fin_lo]]) / scale[m]
        res = linprog(
            arc_cost,
            A_ub=a_ub,
            b_ub=b_ub,
            bounds=(0, None),
            method="highs",
        )
        if res.status != 0:
            # no flow reaches the tightened band: aim for the band itself
            lo_m = np.where(np.isfinite(lower[:, m]), lower[:, m] - sums[:, m], -1e300)
            hi_m = np.where(np.isfinite(upper[:, m]), upper[:, m] - sums[:, m], 1e300)
            b_ub = np.concatenate([hi_m[fin_hi], -lo_m[fin_lo]]) / scale[m]
            res = linprog(
                arc_cost, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs"
            )
            if res.status != 0:
                break
        flow = np.asarray(res.x) * scale[m]
        slack = np.where(np.isfinite(width[:, m]), margin * width[:, m], np.inf)
        moved_any = 0
        for e in np.argsort(-flow).tolist():
            f = float(flow[e])
            if f <= 1e-9 * scale[m]:
                break
            src, dst = int(arcs[e, 0]), int(arcs[e, 1])
            kk = src * k + dst
            lo_i, hi_i = np.searchsorted(key_s, [kk, kk + 1])
            heap: list[tuple[float, int]] = []
            for u in np.unique(eu_s[lo_i:hi_i]).tolist():
                if fixed[u] or labels[u] != src or a[u] <= small:
                    continue
                if any(labels[v] == dst for v in nbrs[u]):
                    pr = (cost[u, dst] - cost[u, src]) / max(a[u], 1e-12 * scale[m])
                    heapq.heappush(heap, (float(pr), u))
            moved = 0.0
            while heap and moved < f:
                _, u = heapq.heappop(heap)
                if labels[u] != src or fixed[u]:
                    continue
                au = float(a[u])
                # overshoot by at most the shortfall, or by the margin that
                # the tightened band keeps inside the true one
                if moved + au - f > max(f - moved, slack[dst]):
                    continue
                if not np.isfinite(cost[u, dst]):
                    continue
                if not removable(u, labels, nbrs):
                    continue
                labels[u] = dst
                sums[src] -= act[u]
                sums[dst] += act[u]
                moved += au
                moved_any += 1
                for v in nbrs[u]:
                    if labels[v] == src and not fixed[v] and a[v] > small:
                        pr = (cost[v, dst] - cost[v, src]) / max(a[v], 1e-12 * scale[m])
                        heapq.heappush(heap, (float(pr), v))
        if moved_any == 0:
            break
    sums = np.zeros((k, act.shape[1]))
    np.add.at(sums, labels, act)
    over = np.maximum(sums - upper, 0.0) + np.maximum(lower - sums, 0.0)
    if float((over / scale).sum()) < best_viol - 1e-12:
        best_labels = labels
    del rows
    return best_labels


def boundary_moves(
    labels: np.ndarray, edges: np.ndarray, frozen: np.ndarray, cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every move of a boundary unit to a territory it touches, once each.

    Returns ``units, to, fr, d``: the unit, its target and current territory,
    and the cost change ``cost[unit, to] - cost[unit, fr]``; units marked in
    ``frozen`` and moves of infinite cost are left out.
    """
    k = cost.shape[1]
    cut = labels[edges[:, 0]] != labels[edges[:, 1]]
    e = edges[cut]
    units = np.concatenate([e[:, 0], e[:, 1]])
    to = np.concatenate([labels[e[:, 1]], labels[e[:, 0]]])
    keep = ~frozen[units]
    units, to = units[keep], to[keep]
    _, first = np.unique(units * k + to, return_index=True)
    units, to = units[first], to[first]
    fr = labels[units]
    d = cost[units, to] - cost[units, fr]
    fin = np.isfinite(d)
    return units[fin], to[fin], fr[fin], d[fin]


def improve_pairs(
    labels: np.ndarray,
    space: SearchSpace,
    *,
    deadline: float = math.inf,
    max_rounds: int = 200,
    width: int = 40,
    tol: float = 1e-9,
) -> tuple[np.ndarray, int]:
    """Ejection chains of two boundary moves that lower the cost together.

    A boundary move ``u: a → b`` that lowers the cost but breaks a band is
    paired with a second move that restores it: when ``b`` is full, a unit
    ``v`` leaves ``b`` for a territory ``c`` it touches (``c`` may be ``a``);
    when ``a`` falls short, a unit ``w`` joins ``a`` from a territory ``c``.
    The pair is applied when together the two moves lower the cost, keep
    every band and keep every territory connected (exact checks, applied one
    after the other).  This is the step that single moves
    (:func:`improve_moves`) cannot take when bands bind.  Uses the cost, and
    ``locked`` (not ``roots``), of ``space``.  Returns labels and the number
    of pairs applied.
    """
    nbrs, edges, lower, upper = space.nbrs, space.edges, space.lower, space.upper
    cost, locked = _cost_of(space), space.locked
    labels = labels.copy()
    k = lower.shape[0]
    act = np.asarray(space.activities, dtype=float)
    sums = np.zeros((k, act.shape[1]))
    np.add.at(sums, labels, act)
    eps = 1e-9 * np.maximum(np.where(np.isfinite(upper), np.abs(upper), 1.0), 1.0)
    frozen = np.zeros(len(labels), dtype=bool) if locked is None else locked >= 0
    total = 0

    def touches(i: int, t: int) -> bool:
        return any(labels[j] == t for j in nbrs[i])

    def in_band(t: int) -> bool:
        return bool(
            np.all(sums[t] >= lower[t] - eps[t])
            and np.all(sums[t] <= upper[t] + eps[t])
        )

    def shift(i: int, src: int, dst: int) -> None:
        labels[i] = dst
        sums[src] -= act[i]
        sums[dst] += act[i]

    for _ in range(max_rounds):
        if time.perf_counter() > deadline:
            break
        units, to, fr, d = boundary_moves(labels, edges, frozen, cost)
        if len(units) == 0:
            break
        a = act[units]
        ok_out = leaves_ok(sums[fr], a, lower[fr], upper[fr], eps[fr])
        ok_in = joins_ok(sums[to], a, lower[to], upper[to], eps[to])
        blocked = np.flatnonzero((d < -tol) & (ok_out != ok_in))
        if len(blocked) == 0:
            break
        by_fr = np.lexsort((d, fr))
        fr_start = np.searchsorted(fr[by_fr], np.arange(k + 1))
        by_to = np.lexsort((d, to))
        to_start = np.searchsorted(to[by_to], np.arange(k + 1))
        applied = 0
        for idx in blocked[np.argsort(d[blocked], kind="stable")].tolist():
            if time.perf_counter() > deadline:
                break
            u, ta, tb = int(units[idx]), int(fr[idx]), int(to[idx])
            if labels[u] != ta or not touches(u, tb):
                continue
            full_b = not joins_ok(sums[tb], act[u], lower[tb], upper[tb], eps[tb])
            short_a = not leaves_ok(sums[ta], act[u], lower[ta], upper[ta], eps[ta])
            if full_b == short_a:
                continue
            if full_b:
                comp = by_fr[fr_start[tb] : fr_start[tb + 1]][:width]
            else:
                comp = by_to[to_start[ta] : to_start[ta + 1]][:width]
            comp = comp[d[idx] + d[comp] < -tol]
            comp = comp[
                (units[comp] != u)
                & (labels[units[comp]] == (tb if full_b else fr[comp]))
            ]
            if len(comp) == 0:
                continue
            # bands after both moves, for every candidate at once
            au, av = act[u], act[units[comp]]
            src_c = np.full(len(comp), tb) if full_b else fr[comp]
            dst_c = to[comp] if full_b else np.full(len(comp), ta)
            new_a = sums[ta] - au + np.where((dst_c == ta)[:, None], av, 0.0)
            new_a -= np.where((src_c == ta)[:, None], av, 0.0)
            new_b = sums[tb] + au - np.where((src_c == tb)[:, None], av, 0.0)
            new_b += np.where((dst_c == tb)[:, None], av, 0.0)
            ok = (
                np.all(new_a >= lower[ta] - eps[ta], axis=1)
                & np.all(new_a <= upper[ta] + eps[ta], axis=1)
                & np.all(new_b >= lower[tb] - eps[tb], axis=1)
                & np.all(new_b <= upper[tb] + eps[tb], axis=1)
                & (
                    (src_c == ta)
                    | (src_c == tb)
                    | leaves_ok(sums[src_c], av, lower[src_c], upper[src_c], eps[src_c])
                )
                & (
                    (dst_c == ta)
                    | (dst_c == tb)
                    | joins_ok(sums[dst_c], av, lower[dst_c], upper[dst_c], eps[dst_c])
                )
            )
            u_ok: bool | None = None
            for c in np.flatnonzero(ok).tolist():
                j = int(comp[c])
                v = int(units[j])
                src, dst = int(src_c[c]), int(dst_c[c])
                if u_ok is None:
                    u_ok = removable(u, labels, nbrs)
                if not u_ok:
                    break
                labels[u] = tb
                if touches(v, dst) and removable(v, labels, nbrs):
                    labels[u] = ta
                    shift(u, ta, tb)
                    shift(v, src, dst)
                    applied += 1
                    break
                labels[u] = ta
        total += applied
        if applied == 0:
            break
    return labels, total


def improve_flow(
    labels: np.ndarray,
    space: SearchSpace,
    *,
    deadline: float = math.inf,
    rounds: int = 60,
    max_moves: int = 64,
    precheck: bool | None = None,
    tol: float = 1e-9,
) -> tuple[np.ndarray, int]:
    """Many boundary moves at once, chosen by a small LP (ejection chains of
    any length).

    Every move ``u: a → b`` of a boundary unit to a territory it touches is a
    variable ``x ∈ [0, 1]`` with the cost change ``cost[u, b] − cost[u, a]``;
    a unit moves at most once, and every territory's sums after all moves
    stay in their bands.  The LP (HiGHS) finds the cheapest set of moves,
    including chains ``a → b → c → …`` and cycles through territories whose
    bands bind, which single moves (:func:`improve_moves`) and pairs
    (:func:`improve_pairs`) cannot take.  Moves with ``x ≥ 0.5`` are applied,
    most improving first, each only if its unit still touches its new
    territory and its donor stays connected; broken bands are then repaired
    by :func:`repair_bands`.  A round is kept only if every band holds and
    the cost fell.  At most ``max_moves`` moves per round (a trust region:
    grown by half after a kept round, halved after a failed one); a picked
    unit that turns out to be an articulation of its territory is left out
    and the LP solved again (``precheck``: every boundary unit is checked
    before each LP instead, slower but the LP never picks one; default up to
    20,000 units).  Stops when a round with at most 2 moves fails,
    after ``rounds`` or at ``deadline``.  Uses the cost, and ``locked`` (not
    ``roots``), of ``space``.  Returns labels and the number of rounds kept.
    """
    from scipy.optimize import linprog

    nbrs, edges, lower, upper = space.nbrs, space.edges, space.lower, space.upper
    cost, locked = _cost_of(space), space.locked
    labels = labels.copy()
    n, k = len(labels), lower.shape[0]
    act = np.asarray(space.activities, dtype=float)
    m = act.shape[1]
    frozen = np.zeros(n, dtype=bool) if locked is None else locked >= 0
    eps = 1e-9 * np.maximum(np.where(np.isfinite(upper), np.abs(upper), 1.0), 1.0)
    scale = space.scale
    rows = np.arange(n)
    kept = 0
    budget = max_moves
    stuck = np.zeros(n, dtype=bool)
    if precheck is None:
        precheck = n <= 20_000
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            break
        sums = np.zeros((k, m))
        np.add.at(sums, labels, act)
        units, to, fr, d = boundary_moves(labels, edges, frozen, cost)
        if len(units) == 0:
            break
        if not (d < -tol).any():
            break
        # units found to be articulations (their donor would fall apart,
        # e.g. corridors) are left out: checked lazily on the LP's picks,
        # far cheaper than checking every boundary unit
        if precheck:
            fresh = np.unique(units)
            stuck[fresh] = [not removable(int(u), labels, nbrs) for u in fresh.tolist()]
        good = ~stuck[units]
        units, to, fr, d = units[good], to[good], fr[good], d[good]
        if not (d < -tol).any():
            break
        nv = len(units)
        cols = np.arange(nv)
        # one move per unit
        uu, u_row = np.unique(units, return_inverse=True)
        a_unit = sp.csr_matrix((np.ones(nv), (u_row, cols)), shape=(len(uu), nv))
        # net activity change of every territory and activity (scaled)
        blocks = []
        lo_rows, hi_rows = [], []
        for mm in range(m):
            w = act[units, mm] / scale[mm]
            inc = sp.csr_matrix(
                (
                    np.concatenate([w, -w]),
                    (np.concatenate([to, fr]), np.concatenate([cols, cols])),
                ),
                shape=(k, nv),
            )
            blocks.append(inc)
            lo_rows.append((lower[:, mm] - sums[:, mm]) / scale[mm])
            hi_rows.append((upper[:, mm] - sums[:, mm]) / scale[mm])
        inc_all = sp.vstack(blocks).tocsr()
        lo_all = np.concatenate(lo_rows)
        hi_all = np.concatenate(hi_rows)
        has_hi = np.isfinite(hi_all)
        has_lo = np.isfinite(lo_all)
        # bands already broken stay as they are at worst
        hi_b = np.maximum(hi_all, 0.0)[has_hi]
        lo_b = np.minimum(lo_all, 0.0)[has_lo]
        # trust region: at most ``budget`` moves per round
        a_ub = sp.vstack(
            [a_unit, inc_all[has_hi], -inc_all[has_lo], sp.csr_matrix(np.ones((1, nv)))]
        ).tocsr()
        b_ub = np.concatenate([np.ones(len(uu)), hi_b, -lo_b, [budget]])
        dscale = float(np.abs(d).max()) or 1.0
        res = linprog(d / dscale, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
        if res.status != 0 or res.x is None or float(res.fun) >= -tol:
            break
        x = np.asarray(res.x)
        pick = np.flatnonzero(x >= 0.5)
        if len(pick) == 0:
            break
        before = labels.copy()
        old_cost = float(cost[rows, labels].sum())
        blocked = 0
        for idx in pick[np.argsort(d[pick], kind="stable")].tolist():
            u, a_, b = int(units[idx]), int(fr[idx]), int(to[idx])
            if labels[u] != a_ or not any(labels[v] == b for v in nbrs[u]):
                continue
            if not removable(u, labels, nbrs):
                if not removable(u, before, nbrs):
                    stuck[u] = True  # an articulation before any move
                    blocked += 1
                continue
            labels[u] = b
        if blocked:
            labels = before  # solve again without those units
            continue
        sums = np.zeros((k, m))
        np.add.at(sums, labels, act)
        if float(violation(sums, lower, upper, scale).sum()) > 1e-12:
            labels = repair_bands(labels, space, deadline=deadline)
            sums = np.zeros((k, m))
            np.add.at(sums, labels, act)
        ok = bool(np.all(sums >= lower - eps) and np.all(sums <= upper + eps))
        if not ok or float(cost[rows, labels].sum()) >= old_cost - tol * abs(old_cost):
            labels = before
            if budget <= 2:
                break
            budget = max(budget // 2, 2)
            continue
        kept += 1
        budget = int(budget * 1.5) + 1
    return labels, kept


def repair_bands_lp(
    labels: np.ndarray,
    space: SearchSpace,
    *,
    margin: float = 0.2,
    rounds: int = 20,
    deadline: float = math.inf,
) -> np.ndarray:
    """Band repair by a balancing LP over the boundary units only.

    Every move ``u: a → b`` of a unit ``u`` on the boundary of its territory
    ``a`` to a territory ``b`` it touches is a variable ``x ∈ [0, 1]``; a
    unit moves at most once.  Territories outside a band aim inside it
    tightened by ``margin`` of its width, the others stay within
    ``[min(tightened lower, now), max(tightened upper, now)]``; every such
    row is elastic (a slack priced far above any cost), so the LP (HiGHS)
    always solves and removes as much violation as one layer of boundary
    moves can, through chains ``a → b → c`` of full territories and
    cheapest in cost (``cost[u, b] − cost[u, a]``, gains not taken) second.
    Moves with ``x ≥ 0.5`` are applied, largest ``x`` first, each only if
    its unit still touches ``b`` and ``a`` stays connected (``roots`` and
    locked units never move); a picked unit that is an articulation of its
    territory is left out and the LP solved again.  What rounding leaves
    (flows the LP ended fractionally inside a full territory) goes to the
    single moves of :func:`repair_bands`.  A round is kept only if the
    total band violation fell; repeats on the new
    boundary until every band holds, a round fails, after ``rounds`` or at
    ``deadline``.  Returns the labels with the least violation seen.

    This is the "small balancing LP with only boundary units free" for
    starts that are just outside their bands (e.g. after corridors), where
    the greedy single moves of :func:`repair_bands` are stuck and the
    integral flows of :func:`balance_flow` overshoot.
    """
    from scipy.optimize import linprog

    nbrs, edges, lower, upper = space.nbrs, space.edges, space.lower, space.upper
    cost, locked, roots = _cost_of(space), space.locked, space.roots
    labels = labels.copy()
    n, k = len(labels), lower.shape[0]
    act = np.asarray(space.activities, dtype=float)
    m = act.shape[1]
    frozen = np.zeros(n, dtype=bool) if locked is None else locked >= 0
    if roots is not None:
        frozen[np.asarray(roots, dtype=np.int64)] = True
    scale = space.scale
    width = np.where(np.isfinite(upper - lower), upper - lower, 0.0)
    lo_t = np.where(np.isfinite(lower), lower + margin * width, lower)
    hi_t = np.where(np.isfinite(upper), upper - margin * width, upper)
    stuck = np.zeros(n, dtype=bool)

    total = space.total_violation
    best = total(labels)
    for _ in range(rounds):
        if best <= 1e-12 or time.perf_counter() > deadline:
            break
        sums = np.zeros((k, m))
        np.add.at(sums, labels, act)
        units, to, fr, d = boundary_moves(labels, edges, frozen | stuck, cost)
        if len(units) == 0:
            break
        nv = len(units)
        if nv == 0:
            break
        cols = np.arange(nv)
        uu, u_row = np.unique(units, return_inverse=True)
        one = sp.csr_matrix((np.ones(nv), (u_row, cols)), shape=(len(uu), nv))
        blocks, lo_rows, hi_rows = [], [], []
        for mm in range(m):
            w = act[units, mm] / scale[mm]
            blocks.append(
                sp.csr_matrix(
                    (
                        np.concatenate([w, -w]),
                        (np.concatenate([to, fr]), np.concatenate([cols, cols])),
                    ),
                    shape=(k, nv),
                )
            )
            s = sums[:, mm]
            bad = (s > upper[:, mm]) | (s < lower[:, mm])
            lo_g = np.where(bad, lo_t[:, mm], np.minimum(lo_t[:, mm], s))
            hi_g = np.where(bad, hi_t[:, mm], np.maximum(hi_t[:, mm], s))
            lo_rows.append((lo_g - s) / scale[mm])
            hi_rows.append((hi_g - s) / scale[mm])
        inc = sp.vstack(blocks).tocsr()
        lo_all, hi_all = np.concatenate(lo_rows), np.concatenate(hi_rows)
        has_hi, has_lo = np.isfinite(hi_all), np.isfinite(lo_all)
        n_hi, n_lo = int(has_hi.sum()), int(has_lo.sum())
        # columns: moves, then one slack per finite upper and lower row
        a_ub = sp.vstack(
            [
                sp.hstack([one, sp.csr_matrix((len(uu), n_hi + n_lo))]),
                sp.hstack([inc[has_hi], -sp.eye(n_hi), sp.csr_matrix((n_hi, n_lo))]),
                sp.hstack([-inc[has_lo], sp.csr_matrix((n_lo, n_hi)), -sp.eye(n_lo)]),
            ]
        ).tocsr()
        b_ub = np.concatenate([np.ones(len(uu)), hi_all[has_hi], -lo_all[has_lo]])
        dpos = np.maximum(d, 0.0)
        dscale = float(dpos.max()) or 1.0
        # cost second (≤ 1 per move), a small price per move, violation first
        c = np.concatenate(
            [dpos / dscale + 1e-3, np.full(n_hi + n_lo, 10.0 * (nv + 1))]
        )
        ub = np.concatenate([np.ones(nv), np.full(n_hi + n_lo, np.inf)])
        res = linprog(
            c, A_ub=a_ub, b_ub=b_ub, bounds=np.column_stack([np.zeros(len(c)), ub])
        )
        if res.status != 0 or res.x is None:
            break
        x = np.asarray(res.x)[:nv]
        pick = np.flatnonzero(x >= 0.5)
        if len(pick) == 0:
            break
        before = labels.copy()
        blocked = 0
        for idx in pick[np.argsort(-x[pick], kind="stable")].tolist():
            u, a_, b = int(units[idx]), int(fr[idx]), int(to[idx])
            if labels[u] != a_ or not any(labels[v] == b for v in nbrs[u]):
                continue
            if not removable(u, labels, nbrs):
                if not removable(u, before, nbrs):
                    stuck[u] = True  # an articulation before any move
                    blocked += 1
                continue
            labels[u] = b
        if blocked:
            labels = before  # solve again without those units
            continue
        # rounding leaves what the LP shipped fractionally (chains that end
        # early inside a full territory): single moves finish those
        labels = repair_bands(
            labels,
            space.replace(locked=frozen.astype(np.int64) - 1 if frozen.any() else None),
            deadline=deadline,
        )
        v = total(labels)
        if v >= best - 1e-12:
            labels = before
            break
        best = v
    return labels

"""Recombination on random spanning trees: the tree steps and a band repair.

A *recombination* merges two adjacent territories, draws a random spanning
tree of the merged piece and cuts one tree edge: both parts are connected by
construction.  :func:`terrakit.design.ensemble.recom_chain` samples plans
with it; :func:`recombine_bands` uses it to *repair* bands that single-unit
moves cannot reach, :func:`recombine_cost` to lower a per-unit cost and
:func:`recombine_cut_edges` to lower the cut edges (districting) with every
band kept.

Why a repair needs it.  When the bands are tight compared with the units
(counties against a ±5 % band whose connected piece leaves a fraction of a
county of slack), the boundary moves of :mod:`terrakit.design._search` get
stuck: every single move breaks a band or a territory.  A tree cut moves a
whole branch at once, and among the cuts of a tree the sums of the two parts
change in small steps, so a cut close to the balance is usually there.  With
fixed roots (each territory's center, or a rep's home) the cut must separate
the two roots: it lies on the tree path between them.

Measured (``benchmarks/README.md``, "sample study at ±5 %"): on the sample
study's two states, 159 and 100 counties, ten homes each, the heuristic's
boundary repairs and annealing left bands broken after 300-600 s; with this
repair the heuristic meets every band in 0.3-2.4 s (seeds 0-11).

Speed.  The trees, the subtree sums and the merged pair's graph are compiled
(numba): about 5,000 steps a second on the sample study, against 1,400 with
scipy's spanning tree and depth-first order, whose per-call checks cost more
than the work on a piece of a few dozen units.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp

from terrakit.design._regions import kruskal
from terrakit.design._search import SearchSpace, violation

__all__ = [
    "induced",
    "random_tree",
    "random_tree_csr",
    "recombine_bands",
    "recombine_cost",
    "recombine_cut_edges",
    "subtree",
    "subtree_sums",
]


def random_tree(
    sub: sp.csr_matrix, root: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A random spanning tree of the graph ``sub``, from ``root``.

    Independent uniform weights on the stored entries (an edge stored both
    ways gets the smaller of its two), then the minimum spanning tree (not a
    uniform spanning tree).  Returns the depth-first ``order`` of the nodes
    from ``root`` and the ``pred`` (parent) of each node in the tree
    (``-9999`` for the root and for nodes that ``root`` does not reach,
    which are left out of ``order``).
    """
    sub = sp.csr_matrix(sub)
    return random_tree_csr(sub.indptr, sub.indices, root, rng)


def random_tree_csr(
    indptr: np.ndarray, indices: np.ndarray, root: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`random_tree` on the CSR arrays of the graph."""
    weights = rng.random(indices.size)
    return _tree(
        np.asarray(indptr, dtype=np.int64),
        np.asarray(indices, dtype=np.int64),
        weights,
        int(root),
    )


@numba.njit(cache=True)
def _tree(
    indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, root: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Kruskal's minimum spanning forest of the CSR graph under ``weights``
    (one per stored entry), then the depth-first preorder of ``root``'s tree
    (every subtree a block of it) and the parents."""
    n = indptr.size - 1
    rows = np.empty(indices.size, dtype=np.int64)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            rows[p] = i
    ptr, nb, _ = kruskal(n, rows, indices, np.argsort(weights))
    pred = np.full(n, -9999, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    order = np.empty(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    stack[0] = root
    seen[root] = True
    top, k = 1, 0
    while top > 0:
        top -= 1
        u = stack[top]
        order[k] = u
        k += 1
        for p in range(ptr[u], ptr[u + 1]):
            v = nb[p]
            if not seen[v]:
                seen[v] = True
                pred[v] = u
                stack[top] = v
                top += 1
    return order[:k], pred


def subtree_sums(order: np.ndarray, pred: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (rows per node) over each node's subtree."""
    vals = np.asarray(values, dtype=float)
    flat = vals.ndim == 1
    sums = _subtree_sums(
        np.asarray(order, dtype=np.int64),
        np.asarray(pred, dtype=np.int64),
        np.ascontiguousarray(vals.reshape(vals.shape[0], -1)),
    )
    return sums[:, 0] if flat else sums


@numba.njit(cache=True)
def _subtree_sums(
    order: np.ndarray, pred: np.ndarray, values: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    sums = values.copy()
    for q in range(order.size - 1, 0, -1):
        v = order[q]
        sums[pred[v]] += sums[v]
    return sums


def subtree(order: np.ndarray, pred: np.ndarray, v: int, n: int) -> np.ndarray:
    """Boolean mask (n,) of the subtree of ``v``: a block of the depth-first order."""
    size = subtree_sums(order, pred, np.ones(n))
    pos = int(np.flatnonzero(order == v)[0])
    part = np.zeros(n, dtype=bool)
    part[order[pos : pos + int(size[v])]] = True
    return part


@numba.njit(cache=True)
def _induced_weights(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    nodes: np.ndarray,
    local: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """CSR arrays and edge weights (from ``data``; none when ``data`` is
    empty) of the subgraph on ``nodes`` (in their order); ``local`` (all
    ``-1``, size of the graph) is scratch and is left all ``-1``."""
    m = nodes.size
    for q in range(m):
        local[nodes[q]] = q
    ptr = np.zeros(m + 1, dtype=np.int64)
    for q in range(m):
        u = nodes[q]
        for p in range(indptr[u], indptr[u + 1]):
            if local[indices[p]] >= 0:
                ptr[q + 1] += 1
    for q in range(m):
        ptr[q + 1] += ptr[q]
    out = np.empty(ptr[m], dtype=np.int64)
    weighted = data.size > 0
    w = np.empty(ptr[m] if weighted else 0, dtype=np.float64)
    k = 0
    for q in range(m):
        u = nodes[q]
        for p in range(indptr[u], indptr[u + 1]):
            v = local[indices[p]]
            if v >= 0:
                out[k] = v
                if weighted:
                    w[k] = data[p]
                k += 1
    for q in range(m):
        local[nodes[q]] = -1
    return ptr, out, w


@numba.njit(cache=True)
def induced(
    indptr: np.ndarray, indices: np.ndarray, nodes: np.ndarray, local: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """CSR arrays of the subgraph on ``nodes`` (in their order); ``local``
    (all ``-1``, size of the graph) is used as scratch and left all ``-1``."""
    ptr, out, _ = _induced_weights(
        indptr, indices, np.empty(0, dtype=np.float64), nodes, local
    )
    return ptr, out


class _Pairs:
    """The cuts of random spanning trees of two merged territories.

    Built once per search (graph edges, locks); :meth:`cuts` lists, for one
    tree of the merged piece of ``a`` and ``b``, every admissible cut: an
    edge of the tree path between the roots whose cut keeps the locked units
    and the units whose cost is infinite in one of the two on their side.
    """

    def __init__(self, space: SearchSpace) -> None:
        if space.roots is None or space.adjacency is None:
            raise ValueError("recombination needs the roots and the adjacency")
        self.space = space
        self.roots = space.roots
        self.adj = space.adjacency
        n = space.n
        self.locked = space.locked if space.locked is not None else np.full(n, -1)
        upper = sp.triu(self.adj, k=1).tocoo()
        self.e0 = upper.row.astype(np.int64)
        self.e1 = upper.col.astype(np.int64)
        csr = sp.csr_matrix(self.adj)
        self.indptr = csr.indptr.astype(np.int64)
        self.indices = csr.indices.astype(np.int64)
        self.local = np.full(n, -1, dtype=np.int64)

    def pick(
        self, labels: np.ndarray, cut: np.ndarray, rng: np.random.Generator
    ) -> tuple[int, int, tuple[Any, ...]]:
        """A random edge of ``cut`` (edge indices): its two territories, merged."""
        e = int(cut[rng.integers(cut.size)])
        a, b = int(labels[self.e0[e]]), int(labels[self.e1[e]])
        return a, b, self.merge(labels, a, b)

    def trees(
        self, merged: tuple[Any, ...], rng: np.random.Generator, count: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`cuts` of ``count`` random trees, those with an admissible cut."""
        for _ in range(count):
            found = self.cuts(merged, rng)
            if found is not None:
                yield found

    def merge(self, labels: np.ndarray, a: int, b: int) -> tuple[Any, ...]:
        """What the trees of the pair need: its units, graph, roots, values."""
        space, cost = self.space, self.space.cost
        nodes = np.flatnonzero((labels == a) | (labels == b))
        sub = induced(self.indptr, self.indices, nodes, self.local)
        ra = int(np.searchsorted(nodes, self.roots[a]))
        rb = int(np.searchsorted(nodes, self.roots[b]))
        # per unit: activities, "cannot go to b", "cannot stay in a", cost change
        no_b = self.locked[nodes] == a
        no_a = self.locked[nodes] == b
        delta = np.zeros(nodes.size)
        if cost is not None:
            ca, cb = cost[nodes, a], cost[nodes, b]
            no_b |= ~np.isfinite(cb)
            no_a |= ~np.isfinite(ca)
            # the change only where both places are open: a unit barred from
            # one side is kept off it by no_a / no_b (inf - inf is no change)
            both = np.isfinite(ca) & np.isfinite(cb)
            delta[both] = cb[both] - ca[both]
        vals = np.column_stack([space.activities[nodes], no_b, no_a, delta])
        return nodes, sub, ra, rb, vals

    def cuts(
        self, merged: tuple[Any, ...], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """One random tree: ``(order, pred, v, sums of b, cost change)`` of its
        admissible cuts (``v``: the unit below each cut edge, ``b``'s side),
        or ``None`` when the merged piece is not connected or no cut is
        admissible.  The cost change is against all of the pair in ``a``."""
        nodes, sub, ra, rb, vals = merged
        m = self.space.m
        order, pred = random_tree_csr(sub[0], sub[1], ra, rng)
        if order.size != nodes.size:
            return None
        below = subtree_sums(order, pred, vals)
        path = []
        v = rb
        while v != ra:
            path.append(v)
            v = int(pred[v])
        pv = np.array(path, dtype=np.int64)
        sb = below[pv]
        ok = (sb[:, m] == 0) & (below[ra, m + 1] - sb[:, m + 1] == 0)
        if not ok.any():
            return None
        return order, pred, pv[ok], sb[ok, :m], sb[ok, m + 2]

    def apply(
        self,
        labels: np.ndarray,
        merged: tuple[Any, ...],
        cut: tuple[np.ndarray, np.ndarray, int],
        a: int,
        b: int,
    ) -> np.ndarray:
        """Relabel the pair along ``(order, pred, v)``; return ``b``'s mask."""
        nodes = merged[0]
        part = subtree(cut[0], cut[1], cut[2], nodes.size)
        labels[nodes] = np.where(part, b, a)
        return part


def recombine_bands(
    labels: np.ndarray,
    space: SearchSpace,
    rng: np.random.Generator,
    *,
    deadline: float,
    steps: int | None = None,
    trees: int = 5,
    focus: float = 0.7,
    temperature: float | None = None,
    clock_cut: list[bool] | None = None,
) -> np.ndarray:
    """Lower the band violation by annealed recombination of adjacent territories.

    One step: pick a cut edge, with probability ``focus`` one touching a
    territory that breaks a band; merge its two territories ``a`` and ``b``;
    draw ``trees`` random spanning trees of the merged piece from ``a``'s
    root.  On each tree the candidate cuts are the edges of the path between
    the two roots whose cut keeps every locked unit, and every unit whose
    cost is infinite in one of the two (beyond a maximum distance), on its
    side; the cut with the least violation of the pair (ties at random) is
    the proposal.  It replaces the pair when its violation is no higher, or
    with probability ``exp(-Δ / T)`` when it is higher by ``Δ``; the
    temperature ``T`` falls linearly to 0 over the run (steps or clock).
    Equal violation is accepted, so a deficit can travel through territories
    in band to one with room, and the annealing climbs out of a dead end
    (measured on the sample study at ±5 %, from one stuck plan: 12 of 12
    annealed runs reach the bands, 0-4 of 6 for each greedy rule tried;
    ``benchmarks/README.md``).  Stops when no band is broken, at
    ``deadline`` or after ``steps``; returns the least violation seen.

    Parameters
    ----------
    labels
        Territory per unit, every territory connected and holding its root.
    space
        The search space; needs ``roots`` and ``adjacency``.
    rng
        Random generator (the caller's seed).
    deadline
        ``time.perf_counter()`` value to stop at.
    steps
        Step budget; the temperature then follows the step count, so the
        answer depends only on the seed (unless the deadline cuts the run).
        ``None``: the temperature follows the clock up to ``deadline``.
    trees
        Trees drawn per step.
    focus
        Share of steps that start from a territory breaking a band.
    temperature
        Starting temperature, in the violation's units (share of a mean
        territory); default a tenth of the narrowest band's half width.
    clock_cut
        A list to which ``True`` is appended when ``deadline`` stops a run
        with a ``steps`` budget before its last step and with a band still
        broken (its answer then depends on the clock, not only on the seed).

    Returns
    -------
    numpy.ndarray
        New labels (a copy): every territory still connected with its root
        and the total violation no higher than at the start.
    """
    pairs = _Pairs(space)
    e0, e1 = pairs.e0, pairs.e1
    labels = np.asarray(labels, dtype=np.int64).copy()
    act, lo, hi, scale = space.activities, space.lower, space.upper, space.scale
    if temperature is None:
        width = (hi - lo) / 2 / scale
        width = width[np.isfinite(width) & (width > 0)]
        temperature = 0.1 * float(width.min()) if width.size else 0.005
    sums = space.sums(labels)
    per = violation(sums, lo, hi, scale)
    best_labels, best_v = labels.copy(), float(per.sum())
    t_begin = time.perf_counter()
    budget = 10**7 if steps is None else int(steps)
    for step in range(budget):
        if per.sum() < best_v - 1e-15:
            best_v, best_labels = float(per.sum()), labels.copy()
        bad = np.flatnonzero(per > 1e-12)
        now = time.perf_counter()
        if bad.size == 0 or now > deadline:
            if bad.size and steps is not None and clock_cut is not None:
                clock_cut.append(True)
            break
        cut = np.flatnonzero(labels[e0] != labels[e1])
        if cut.size == 0:
            break
        if rng.random() < focus:
            t = int(bad[rng.integers(bad.size)])
            near = cut[(labels[e0[cut]] == t) | (labels[e1[cut]] == t)]
            cut = near if near.size else cut
        a, b, merged = pairs.pick(labels, cut, rng)
        whole = act[merged[0]].sum(axis=0)
        proposal: tuple[float, np.ndarray, np.ndarray, int] | None = None
        for order, pred, pv, sb, _dc in pairs.trees(merged, rng, trees):
            score = violation(whole - sb, lo[a], hi[a], scale) + violation(
                sb, lo[b], hi[b], scale
            )
            i = int(np.lexsort((rng.random(score.size), score))[0])
            if proposal is None or score[i] < proposal[0]:
                proposal = (float(score[i]), order, pred, int(pv[i]))
        if proposal is None:
            continue
        delta = proposal[0] - float(per[a] + per[b])
        if delta > 1e-12:
            done = (
                (now - t_begin) / max(deadline - t_begin, 1e-9)
                if steps is None
                else step / budget
            )
            temp = temperature * max(1.0 - done, 0.0)
            if temp <= 0 or rng.random() >= np.exp(-delta / temp):
                continue
        part = pairs.apply(labels, merged, proposal[1:], a, b)
        nodes = merged[0]
        sums[a] = act[nodes[~part]].sum(axis=0)
        sums[b] = act[nodes[part]].sum(axis=0)
        per[[a, b]] = violation(sums[[a, b]], lo[[a, b]], hi[[a, b]], scale)
    if per.sum() < best_v:
        return labels
    return best_labels


def recombine_cost(
    labels: np.ndarray,
    space: SearchSpace,
    rng: np.random.Generator,
    *,
    deadline: float,
    steps: int = 20_000,
    trees: int = 5,
    patience: int = 2_000,
    temperature: float = 0.0,
    clock_cut: list[bool] | None = None,
) -> tuple[np.ndarray, int]:
    """Lower the cost by recombination while every band holds.

    One step: a random pair of adjacent territories, ``trees`` random
    spanning trees of their merged piece, and among the admissible cuts
    (:func:`recombine_bands`) that keep both territories inside their bands
    the cheapest; it replaces the pair when it costs less.  A descent whose
    neighbourhood is whole branches, which boundary moves cannot reach when
    the bands are tight.  Stops after ``steps``, ``patience`` steps without
    a gain, or at ``deadline``.

    With a ``temperature`` > 0 it anneals instead: a proposal that costs
    ``Δ`` more is accepted with probability ``exp(-Δ / T)``, ``T`` falling
    linearly from ``temperature`` (in cost units) to 0 over ``steps`` or up
    to ``deadline``, whichever comes first, so a run that the deadline does
    not cut depends only on the seed; the cheapest plan seen comes back.
    Bands stay hard throughout.  ``clock_cut``: a list to which ``True`` is
    appended when ``deadline`` stops the run before ``steps`` (and before
    ``patience``).

    Returns
    -------
    tuple
        New labels (a copy; every band that held still holds, territories
        connected with their roots) and the number of pairs changed.
    """
    pairs = _Pairs(space)
    if space.cost is None:
        raise ValueError("recombine_cost needs the cost matrix")
    e0, e1 = pairs.e0, pairs.e1
    labels = np.asarray(labels, dtype=np.int64).copy()
    act, lo, hi = space.activities, space.lower, space.upper
    cost = space.cost
    tol_lo = lo - 1e-9 * np.abs(lo)
    tol_hi = hi + 1e-9 * np.abs(hi)
    changed = idle = 0
    rows = np.arange(labels.size)
    current = float(cost[rows, labels].sum())
    best_labels, best_cost = labels.copy(), current
    t_begin = time.perf_counter()
    for step in range(steps):
        t_now = time.perf_counter()
        if idle >= patience or t_now > deadline:
            if idle < patience and clock_cut is not None:
                clock_cut.append(True)
            break
        idle += 1
        cut = np.flatnonzero(labels[e0] != labels[e1])
        if cut.size == 0:
            break
        a, b, merged = pairs.pick(labels, cut, rng)
        nodes = merged[0]
        whole = act[nodes].sum(axis=0)
        in_a = labels[nodes] == a
        ca = cost[nodes, a]
        cb = cost[nodes, b]
        # against the cuts' baseline: every unit in ``a`` that may be there
        base = np.where(np.isfinite(ca), ca, cb)
        here = np.where(in_a, ca, cb)
        if not np.isfinite(base).all():
            # a unit that may be in neither territory: no cut is admissible
            # (pairs.trees finds none), so the pair stays as it is
            now = 0.0
        elif not np.isfinite(here).all():
            # units sit where they may not be (infinite cost); every
            # admissible cut puts each where it may be: an infinite gain
            now = math.inf
        else:
            now = float(here.sum() - base.sum())
        best: tuple[float, np.ndarray, np.ndarray, int] | None = None
        for order, pred, pv, sb, dc in pairs.trees(merged, rng, trees):
            sa = whole - sb
            ok = np.all((sa >= tol_lo[a]) & (sa <= tol_hi[a]), axis=1) & np.all(
                (sb >= tol_lo[b]) & (sb <= tol_hi[b]), axis=1
            )
            if not ok.any():
                continue
            i = int(np.flatnonzero(ok)[np.argmin(dc[ok])])
            if best is None or dc[i] < best[0]:
                best = (float(dc[i]), order, pred, int(pv[i]))
        if best is None:
            continue
        delta = best[0] - now
        if not _lower(best[0], now):
            if temperature <= 0:
                continue
            done = max(
                step / steps,
                (t_now - t_begin) / max(deadline - t_begin, 1e-9),
            )
            temp = temperature * max(1.0 - done, 0.0)
            if delta <= 0 or temp <= 0 or rng.random() >= np.exp(-delta / temp):
                continue
        pairs.apply(labels, merged, best[1:], a, b)
        if math.isfinite(delta):
            current += delta
        else:  # units left a place they may not be: count afresh
            current = float(cost[rows, labels].sum())
        changed += 1
        if temperature <= 0:
            idle = 0
        elif _lower(current, best_cost):
            best_cost, best_labels = current, labels.copy()
            idle = 0
    return (labels if temperature <= 0 else best_labels), changed


def _lower(new: float, old: float) -> bool:
    """``new`` is below ``old`` by more than the rounding of ``old`` (an
    infinite ``old``, a plan with a unit where it may not be, is beaten by
    any finite ``new``)."""
    if not math.isfinite(old):
        return new < old
    return new < old - 1e-9 * max(abs(old), 1.0)


@numba.njit(cache=True)
def _cut_weights(
    ptr: np.ndarray,
    idx: np.ndarray,
    w: np.ndarray,
    order: np.ndarray,
    size: np.ndarray,
    cand: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Weight of the graph edges between each candidate's subtree and the
    rest (the subtree of ``v`` is the block of the depth-first ``order``
    that starts at ``v`` and holds ``size[v]`` nodes)."""
    n = order.size
    pos = np.empty(n, dtype=np.int64)
    for q in range(n):
        pos[order[q]] = q
    out = np.zeros(cand.size)
    for c in range(cand.size):
        v = cand[c]
        start = pos[v]
        stop = start + size[v]
        total = 0.0
        for q in range(start, stop):
            x = order[q]
            for p in range(ptr[x], ptr[x + 1]):
                py = pos[idx[p]]
                if py < start or py >= stop:
                    total += w[p]
        out[c] = total
    return out


def recombine_cut_edges(
    adjacency: sp.spmatrix | sp.sparray,
    values: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    *,
    deadline: float,
    trees: int = 4,
    patience: int = 20_000,
    temperature: float = 0.0,
) -> tuple[np.ndarray, int]:
    """Fewer cut edges by recombination, every band kept.

    One step: a random cut edge, the two territories ``a`` and ``b`` it
    joins merged, ``trees`` random spanning trees of the merged piece; on
    each, every tree edge whose two sides both meet the band is a candidate,
    and the candidate whose sides share the least edge weight is the
    proposal.  It replaces the pair when it cuts no more weight between them
    than now; moves of equal weight are taken too, so the search drifts along
    a plateau to where a gain is (narrow bands leave few single-unit moves:
    a tree cut moves a whole branch at once).  The edges to the other
    territories do not change.  Both new territories are connected (tree
    sides); a pair whose merged piece is not connected is skipped.

    Parameters
    ----------
    adjacency
        Symmetric ``(n, n)`` adjacency, entries the edge weights.
    values
        ``(n, b)`` banded activities; ``lower``/``upper`` ``(b,)`` the band
        of every territory (equal bands).
    labels
        Territory index per unit of a plan meeting the bands.
    rng
        Random generator (the caller's seed).
    deadline
        ``time.perf_counter()`` value to stop at.
    trees
        Trees drawn per step.
    patience
        Steps without a strict gain before stopping.

    Returns
    -------
    tuple
        The plan of least cut weight seen (a copy) and the number of strict
        gains.
    """
    csr = sp.csr_matrix(adjacency, dtype=float)
    indptr = csr.indptr.astype(np.int64)
    indices = csr.indices.astype(np.int64)
    data = csr.data.astype(np.float64)
    upper_tri = sp.triu(csr, k=1).tocoo()
    e0, e1, ew = upper_tri.row, upper_tri.col, upper_tri.data
    vals = np.asarray(values, dtype=float).reshape(csr.shape[0], -1)
    vals = np.ascontiguousarray(vals)
    lo = np.asarray(lower, dtype=float).reshape(-1)
    hi = np.asarray(upper, dtype=float).reshape(-1)
    lo, hi = lo - 1e-9 * np.abs(lo), hi + 1e-9 * np.abs(hi)
    labels = np.asarray(labels, dtype=np.int64).copy()
    local = np.full(csr.shape[0], -1, dtype=np.int64)
    current = float(ew[labels[e0] != labels[e1]].sum())
    best_labels, best_cost = labels.copy(), current
    gains = idle = 0
    t_begin = time.perf_counter()
    while idle < patience and (now := time.perf_counter()) < deadline:
        idle += 1
        cut = np.flatnonzero(labels[e0] != labels[e1])
        if cut.size == 0:
            break
        e = int(cut[rng.integers(cut.size)])
        a, b = int(labels[e0[e]]), int(labels[e1[e]])
        nodes = np.flatnonzero((labels == a) | (labels == b))
        ptr, idx, w = _induced_weights(indptr, indices, data, nodes, local)
        in_a = labels[nodes] == a
        rows = np.repeat(np.arange(nodes.size), np.diff(ptr))
        old = float(w[in_a[rows] & ~in_a[idx]].sum())
        sub_vals = vals[nodes]
        whole = sub_vals.sum(axis=0)
        best: tuple[float, np.ndarray, np.ndarray, int] | None = None
        for _ in range(trees):
            root = int(rng.integers(nodes.size))
            order, pred = _tree(ptr, idx, rng.random(idx.size), root)
            if order.size != nodes.size:
                break  # the pair is not one connected piece
            sums = _subtree_sums(order, pred, sub_vals)
            ok = np.all((sums >= lo) & (sums <= hi), axis=1) & np.all(
                (whole - sums >= lo) & (whole - sums <= hi), axis=1
            )
            ok[root] = False
            cand = np.flatnonzero(ok)
            if cand.size == 0:
                continue
            size = _subtree_sums(order, pred, np.ones((nodes.size, 1)))[:, 0]
            cw = _cut_weights(ptr, idx, w, order, size.astype(np.int64), cand)
            i = int(np.lexsort((rng.random(cand.size), cw))[0])
            if best is None or cw[i] < best[0]:
                best = (float(cw[i]), order, pred, int(cand[i]))
        if best is None:
            continue
        delta = best[0] - old
        if delta > 1e-9:
            temp = temperature * max(1.0 - (now - t_begin) / (deadline - t_begin), 0.0)
            if temp <= 0 or rng.random() >= math.exp(-delta / temp):
                continue
        block = subtree(best[1], best[2], best[3], nodes.size)
        # the side holding more of a's units keeps the name a
        if np.count_nonzero(block & in_a) < np.count_nonzero(~block & in_a):
            block = ~block
        labels[nodes[block]] = a
        labels[nodes[~block]] = b
        current += best[0] - old
        if current < best_cost - 1e-9:
            best_cost, best_labels = current, labels.copy()
            gains += 1
            idle = 0
    return best_labels, gains

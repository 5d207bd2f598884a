"""Local search for the graph objectives: cut edges and largest diameter.

- ``cut_edges`` (districting): simulated annealing over boundary moves (a unit
  joins the territory of one of its neighbours; without contiguity also any
  other territory, so units with no neighbour move too), with the band
  violation as a penalty whose weight grows during the run, territories kept
  connected (local articulation check), and the best *feasible* labelling
  (zero violation) kept.  The cut is weighted by the adjacency's edge
  weights when ``space.adjacency`` has any other than 1
  (:func:`edge_weights`); :func:`cut_bound` is a valid lower bound on it.
- ``diameter`` (dtdp: the largest whole-graph shortest-path distance between
  two units of the same territory): :func:`diameter_search`, a tabu search on
  a shrinking threshold — units farther apart than the threshold conflict,
  and each balanced, conflict-free labelling found lowers the threshold to
  its own largest diameter (the first feasible labelling is taken with
  conflicts too, so a start out of band does not leave the threshold below
  every balanced plan).  :func:`anneal` hands ``"diameter"`` to it.

Both searches take an optional ``allowed`` ``(n, k)`` mask (a unit never
moves to a territory it is not allowed in: a distance limit) and call a
labelling *feasible* only when every band holds, every unit is allowed in its
territory and, with ``contiguity``, every territory is one connected piece
(a start in pieces is never reported feasible, whatever the bands say).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from terrakit.design._search import Neighbours, SearchSpace, removable


@dataclass
class SearchOutcome:
    """Best labels found, their objective, and whether they are feasible.

    ``clock_cut``: the run had an iteration budget (``max_iter``) and the
    deadline stopped it before the budget was spent, so its answer depends
    on the machine's speed and load, not only on the seed.
    """

    labels: np.ndarray
    value: float
    feasible: bool
    iterations: int
    clock_cut: bool = False


def _viol(s: np.ndarray, lo: np.ndarray, hi: np.ndarray, w: np.ndarray) -> float:
    return float(((np.maximum(s - hi, 0.0) + np.maximum(lo - s, 0.0)) / w).sum())


def edge_weights(
    space: SearchSpace,
) -> tuple[np.ndarray | None, list[list[float]] | None]:
    """Weights of ``space.edges`` and, aligned with ``space.nbrs``, of each
    unit's edges; ``(None, None)`` when every weight is 1 (or the space has
    no sparse adjacency): the cut is then a plain count of edges."""
    if space.adjacency is None or len(space.edges) == 0:
        return None, None
    a = sp.csr_matrix(space.adjacency, dtype=float)
    a = a.maximum(a.T).tocsr()  # nbrs hold both directions of every edge
    ew = np.asarray(a[space.edges[:, 0], space.edges[:, 1]], dtype=float).ravel()
    if np.all(ew == 1.0):
        return None, None
    lens = [len(v) for v in space.nbrs]
    rows = np.repeat(np.arange(len(lens)), lens)
    cols = np.fromiter(
        (v for nb in space.nbrs for v in nb), dtype=np.int64, count=len(rows)
    )
    flat = np.asarray(a[rows, cols], dtype=float).ravel().tolist()
    per_unit: list[list[float]] = []
    at = 0
    for size in lens:
        per_unit.append(flat[at : at + size])
        at += size
    return ew, per_unit


def cut_bound(adjacency: sp.spmatrix | sp.sparray, k: int) -> float:
    """A valid lower bound on the (weighted) cut of ``k`` non-empty parts.

    The ``k`` parts of a graph with ``c`` connected components are joined by
    at least ``k - c`` distinct edges (the parts contracted form a graph
    with at most ``c`` components), so the cut weighs at least the ``k - c``
    lightest edges (``k - 1`` on a connected graph of unit weights).
    """
    adj = sp.csr_matrix(adjacency)
    c = int(connected_components(adj, directed=False)[0])
    need = k - c
    w = np.sort(sp.triu(adj, k=1).tocoo().data)
    return float(w[:need].sum()) if need > 0 else 0.0


def contiguous(labels: np.ndarray, edges: np.ndarray) -> bool:
    """Whether every territory of ``labels`` is one connected piece of the
    graph of ``edges`` (``(n_edges, 2)``)."""
    n = len(labels)
    if n == 0:
        return True
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    e = e[labels[e[:, 0]] == labels[e[:, 1]]]
    g = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    pieces = int(connected_components(g, directed=False)[0])
    return pieces == np.unique(labels).size


def _start_allowed(labels: np.ndarray, allowed: np.ndarray | None) -> int:
    """Units of ``labels`` in a territory they are not allowed in."""
    if allowed is None:
        return 0
    return int(np.count_nonzero(~allowed[np.arange(len(labels)), labels]))


def grow_partition(
    nbrs: Neighbours,
    activities: np.ndarray,
    k: int,
    rng: np.random.Generator,
    seeds: np.ndarray | None = None,
    *,
    locked: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Random contiguous partition grown from ``k`` seeds, smallest first.

    The territory with the smallest normalised activity takes a random
    unassigned neighbour; territories with no free neighbour stop.  Units
    left (other graph components) join a random territory.

    ``locked`` (``(n,)``, ``-1``: free): every locked unit starts in its
    territory and grows it too (a territory's seed, when ``seeds`` does not
    give one, is one of its locked units), so a territory holding locked
    units far apart may come out in pieces (:func:`contiguous` tells).
    ``allowed`` (``(n, k)`` bool): a territory only takes units allowed in
    it (seeds and units left over included, where some territory allows
    them).  Without both, the partition is the one of earlier versions for
    the same ``rng``.
    """
    n = len(nbrs)
    labels = np.full(n, -1, dtype=np.int64)
    fixed = None if locked is None else np.asarray(locked, dtype=np.int64)
    if fixed is not None and not (fixed >= 0).any():
        fixed = None
    if seeds is None:
        if fixed is None and allowed is None:
            seeds = rng.choice(n, size=k, replace=False)
        else:
            seeds = _pick_seeds(n, k, rng, fixed, allowed)
    norm = activities.sum(axis=0)
    norm[norm == 0] = 1.0
    load = np.zeros(k)
    frontier: list[set[int]] = []
    for t, s in enumerate(np.asarray(seeds).tolist()):
        labels[s] = t
        load[t] = float((activities[s] / norm).sum())
    if fixed is not None:
        for i in np.flatnonzero((fixed >= 0) & (labels < 0)).tolist():
            labels[i] = fixed[i]
            load[fixed[i]] += float((activities[i] / norm).sum())
    for s in np.asarray(seeds).tolist():
        frontier.append({v for v in nbrs[s] if labels[v] < 0})
    if fixed is not None:
        for i in np.flatnonzero(fixed >= 0).tolist():
            frontier[int(fixed[i])].update(v for v in nbrs[i] if labels[v] < 0)
    if allowed is not None:
        for t in range(k):
            frontier[t] = {v for v in frontier[t] if allowed[v, t]}
    active = np.ones(k, dtype=bool)
    while active.any():
        t = int(np.flatnonzero(active)[np.argmin(load[active])])
        f = frontier[t]
        while f:
            v = f.pop()
            if labels[v] < 0:
                break
        else:
            active[t] = False
            continue
        if labels[v] >= 0:
            active[t] = False
            continue
        labels[v] = t
        load[t] += float((activities[v] / norm).sum())
        for w in nbrs[v]:
            if labels[w] < 0 and (allowed is None or allowed[w, t]):
                f.add(w)
    rest = np.flatnonzero(labels < 0)
    if allowed is None:
        labels[rest] = rng.integers(0, k, size=len(rest))
    else:
        for i in rest.tolist():
            ok = np.flatnonzero(allowed[i])
            labels[i] = int(rng.choice(ok)) if ok.size else int(rng.integers(0, k))
    return labels


def _pick_seeds(
    n: int,
    k: int,
    rng: np.random.Generator,
    locked: np.ndarray | None,
    allowed: np.ndarray | None,
) -> np.ndarray:
    """A seed unit per territory for :func:`grow_partition`: one of its
    locked units, else a random free unit allowed in it (any free unit when
    none is)."""
    seeds = np.full(k, -1, dtype=np.int64)
    taken = np.zeros(n, dtype=bool)
    if locked is not None:
        taken |= locked >= 0
        for t in range(k):
            mine = np.flatnonzero(locked == t)
            if mine.size:
                seeds[t] = int(mine[rng.integers(mine.size)])
    for t in np.flatnonzero(seeds < 0).tolist():
        free = ~taken if allowed is None else ~taken & allowed[:, t]
        pool = np.flatnonzero(free)
        if pool.size == 0:
            pool = np.flatnonzero(~taken)
        if pool.size == 0:
            pool = np.arange(n)
        seeds[t] = int(pool[rng.integers(pool.size)])
        taken[seeds[t]] = True
    return seeds


def anneal(
    labels: np.ndarray,
    space: SearchSpace,
    objective: str,
    rng: np.random.Generator,
    deadline: float,
    *,
    dist: np.ndarray | None = None,
    contiguity: bool = True,
    t_start: float = 1.0,
    t_end: float = 0.02,
    penalty: float = 2.0,
    max_iter: int = 10**9,
    allowed: np.ndarray | None = None,
) -> SearchOutcome:
    """Simulated annealing on ``objective + penalty · violation``.

    Moves: a unit joins the territory at the other end of one of
    ``space.edges`` (units with ``space.locked >= 0`` stay).  For
    ``objective="cut_edges"`` without ``contiguity`` a unit may also join any
    other territory (a *free* move: a unit with no neighbour has no edge
    move, and a territory rooted on such a unit could never grow): a share
    ``0.1 + 0.9 ×`` (share of units with no neighbour) of the steps, all of
    them on a graph with no edges.
    ``violation`` is measured in multiples of each band's width, so a unit of
    violation is comparable across activities.  The temperature falls
    geometrically from ``t_start`` to ``t_end`` (in objective units: cut edges,
    or cost relative to the start's mean; ``objective="cost"`` needs
    ``space.cost``) over the time left.  ``"cut_edges"`` counts each cut
    edge at its weight in ``space.adjacency`` (:func:`edge_weights`; the
    temperature is then in mean edge weights).
    ``allowed`` (``(n, k)`` bool or ``None``): a unit never joins a
    territory it is not allowed in; one the start put in such a territory
    counts as one unit of violation until it leaves.  The best labelling
    kept is feasible only when, besides, with ``contiguity``, every
    territory is connected (checked once the start is, as moves keep it).
    ``objective="diameter"`` goes to :func:`diameter_search` (``t_start``,
    ``t_end`` and ``penalty`` do not apply there).
    """
    if objective == "diameter":
        if dist is None:
            raise ValueError("objective='diameter' needs the distance matrix")
        return diameter_search(
            labels,
            space,
            dist,
            rng,
            deadline,
            contiguity=contiguity,
            max_iter=max_iter,
            allowed=allowed,
        )
    nbrs, edges, activities = space.nbrs, space.edges, space.activities
    lower, upper, locked, cost = space.lower, space.upper, space.locked, space.cost
    labels = labels.copy()
    n, m = activities.shape
    k = lower.shape[0]
    width = np.maximum(upper - lower, 1e-9)
    sums = np.zeros((k, m))
    np.add.at(sums, labels, activities)
    counts = np.bincount(labels, minlength=k)
    frozen = np.zeros(n, dtype=bool) if locked is None else locked >= 0
    ei, ej = edges[:, 0], edges[:, 1]
    n_edges = len(edges)
    # free moves (any unit to any territory): cut edges without contiguity
    p_free = 0.0
    if objective == "cut_edges" and not contiguity and k > 1:
        isolated = sum(1 for v in nbrs if len(v) == 0) / max(n, 1)
        p_free = 1.0 if n_edges == 0 else 0.1 + 0.9 * isolated

    ew, wts = edge_weights(space) if objective == "cut_edges" else (None, None)
    if objective == "cost":
        if cost is None:
            raise ValueError("objective='cost' needs the cost matrix")
        scale = float(cost[np.arange(n), labels].mean()) or 1.0
        cur_obj = float(cost[np.arange(n), labels].sum()) / scale
    elif ew is not None:
        # weighted cut, in mean edge weights (the temperature's unit)
        scale = float(ew.mean()) or 1.0
        cur_obj = float(ew[labels[ei] != labels[ej]].sum()) / scale
    else:
        scale = 1.0
        cur_obj = float(np.count_nonzero(labels[ei] != labels[ej]))
    viol_t = np.array([_viol(sums[t], lower[t], upper[t], width[t]) for t in range(k)])
    n_bad = _start_allowed(labels, allowed)  # units outside their allowed set
    # moves keep territories connected once they are: check the start only,
    # and a start in pieces again at most once per 256 steps
    whole = not contiguity or contiguous(labels, edges)
    next_check = 0
    pen = penalty
    best_labels = labels.copy()
    best_feasible = bool(viol_t.sum() <= 1e-12) and n_bad == 0 and whole
    best_value = (
        _true_value(labels, edges, objective, dist, k, cost, ew)
        if best_feasible
        else math.inf
    )
    best_score = (
        0 if best_feasible else 1,
        best_value if best_feasible else float(viol_t.sum()) + n_bad,
    )

    start = time.perf_counter()
    span = max(deadline - start, 1e-3)
    by_iter = max_iter < 10**9  # an iteration budget makes runs reproducible
    clock_cut = False
    temp = t_start

    def draw() -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Next 4096 moves: an edge (or ``-1``: a free move), a uniform number
        and, with free moves, the unit ``u`` and territory shift ``d`` of
        each (unit ``u`` joins territory ``(label + d) % k``) as ``u * k + d``."""
        edge = (
            rng.integers(0, n_edges, size=4096)
            if n_edges
            else np.full(4096, -1, dtype=np.int64)
        )
        if p_free <= 0.0:
            return edge, rng.random(4096), None
        free = rng.random(4096) < p_free
        edge[free] = -1
        pick = rng.integers(0, n, size=4096) * k + rng.integers(1, k, size=4096)
        return edge, rng.random(4096), pick

    it = 0
    if n_edges == 0 and p_free <= 0.0:
        max_iter = 0  # no move exists (no edge, and no free move)
    else:
        batch, unif, picks = draw()
    bpos = 0
    while it < max_iter:
        it += 1
        if it % 256 == 0:
            now = time.perf_counter()
            if now >= deadline:
                clock_cut = by_iter
                break
            frac = it / max_iter if by_iter else (now - start) / span
            temp = t_start * (t_end / t_start) ** frac
            pen = penalty * (1.0 + 9.0 * frac)
        if bpos >= 4096:
            batch, unif, picks = draw()
            bpos = 0
        e = int(batch[bpos])
        u01 = float(unif[bpos])
        bpos += 1
        if e < 0:
            assert picks is not None
            i, shift = divmod(int(picks[bpos - 1]), k)
            src = int(labels[i])
            dst = (src + shift) % k
        else:
            a_, b_ = int(ei[e]), int(ej[e])
            la, lb = labels[a_], labels[b_]
            if la == lb:
                continue
            if u01 < 0.5:
                i, src, dst = a_, int(la), int(lb)
            else:
                i, src, dst = b_, int(lb), int(la)
                u01 -= 0.5
            u01 *= 2.0
        if frozen[i] or counts[src] <= 1:
            continue
        if allowed is not None and not allowed[i, dst]:
            continue
        ai = activities[i]
        s_src = sums[src] - ai
        s_dst = sums[dst] + ai
        v_src = _viol(s_src, lower[src], upper[src], width[src])
        v_dst = _viol(s_dst, lower[dst], upper[dst], width[dst])
        d_viol = v_src + v_dst - viol_t[src] - viol_t[dst]
        d_bad = 0
        if allowed is not None and not allowed[i, src]:
            d_bad = -1  # leaves a territory it is not allowed in
            d_viol -= 1.0
        if objective == "cost":
            assert cost is not None
            d_obj = float(cost[i, dst] - cost[i, src]) / scale
        elif wts is not None:
            w_src = w_dst = 0.0
            for v, wv in zip(nbrs[i], wts[i], strict=True):
                lv = labels[v]
                if lv == src:
                    w_src += wv
                elif lv == dst:
                    w_dst += wv
            d_obj = (w_src - w_dst) / scale
        else:
            same_src = same_dst = 0
            for v in nbrs[i]:
                lv = labels[v]
                if lv == src:
                    same_src += 1
                elif lv == dst:
                    same_dst += 1
            d_obj = float(same_src - same_dst)
        delta = d_obj + pen * d_viol
        if delta > 0 and u01 >= math.exp(-delta / max(temp, 1e-12)):
            continue
        if contiguity and not removable(i, labels, nbrs):
            continue
        labels[i] = dst
        sums[src] = s_src
        sums[dst] = s_dst
        counts[src] -= 1
        counts[dst] += 1
        viol_t[src], viol_t[dst] = v_src, v_dst
        n_bad += d_bad
        cur_obj += d_obj
        tot_v = float(viol_t.sum()) + n_bad
        if tot_v <= 1e-12:
            val = cur_obj * scale
            better = not best_feasible or val < best_value - 1e-9
            if better and not whole and it >= next_check:
                whole = contiguous(labels, edges)
                next_check = it + 256
            if better and whole:
                best_feasible = True
                best_value = val
                best_score = (0, val)
                best_labels = labels.copy()
        elif not best_feasible and tot_v < best_score[1] - 1e-12:
            best_score = (1, tot_v)
            best_labels = labels.copy()
    if not best_feasible or ew is not None:
        # the exact value (a weighted running sum drifts by rounding)
        best_value = _true_value(best_labels, edges, objective, dist, k, cost, ew)
    return SearchOutcome(best_labels, float(best_value), best_feasible, it, clock_cut)


def _true_value(
    labels: np.ndarray,
    edges: np.ndarray,
    objective: str,
    dist: np.ndarray | None,
    k: int,
    cost: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> float:
    if objective == "cost":
        assert cost is not None
        return float(cost[np.arange(len(labels)), labels].sum())
    if objective == "diameter":
        assert dist is not None
        return float(_diameters(labels, dist, k).max())
    cut = labels[edges[:, 0]] != labels[edges[:, 1]]
    if weights is not None:
        return float(weights[cut].sum())
    return float(np.count_nonzero(cut))


def _diameters(labels: np.ndarray, dist: np.ndarray, k: int) -> np.ndarray:
    """Largest ``dist`` between two units of each territory (0 for singletons)."""
    out = np.zeros(k)
    for t in range(k):
        mem = np.flatnonzero(labels == t)
        if len(mem) > 1:
            out[t] = float(dist[np.ix_(mem, mem)].max())
    return out


def _cut_pieces(i: int, labels: np.ndarray, nbrs: Neighbours) -> list[int]:
    """Units that leave with ``i`` so its territory stays connected without it.

    The territory minus ``i`` falls into pieces; the largest stays, the others
    are returned (they all touch ``i``, so they stay connected to it).
    """
    t = labels[i]
    seen = {i}
    pieces: list[list[int]] = []
    for s in nbrs[i]:
        if labels[s] != t or s in seen:
            continue
        piece = [s]
        seen.add(s)
        head = 0
        while head < len(piece):
            u = piece[head]
            head += 1
            for v in nbrs[u]:
                if v not in seen and labels[v] == t:
                    seen.add(v)
                    piece.append(v)
        pieces.append(piece)
    if len(pieces) <= 1:
        return []
    pieces.sort(key=len, reverse=True)
    return [u for p in pieces[1:] for u in p]


def _linked(units: list[int], nbr_sets: list[set[int]]) -> bool:
    """Whether ``units`` are connected by edges among themselves (≥ 1 unit).

    A sufficient test that a unit whose same-territory neighbours are
    ``units`` can leave without cutting its territory.
    """
    if not units:
        return False
    todo = set(units[1:])
    stack = [units[0]]
    while stack and todo:
        u = stack.pop()
        near = nbr_sets[u] & todo
        todo -= near
        stack.extend(near)
    return not todo


def diameter_search(
    labels: np.ndarray,
    space: SearchSpace,
    dist: np.ndarray,
    rng: np.random.Generator,
    deadline: float,
    *,
    contiguity: bool = True,
    max_iter: int = 10**9,
    mu: float = 0.05,
    tenure: int = 7,
    alpha: float = 0.2,
    margin: float = 0.1,
    bump: float = 0.5,
    bump_after: int = 200,
    bump_every: int = 20,
    w_max: float = 1e3,
    balance_focus: int = 200,
    allowed: np.ndarray | None = None,
) -> SearchOutcome:
    """Tabu search on a shrinking diameter threshold (min-max diameter).

    For a threshold ``D`` two units *conflict* when ``dist ≥ D``; a labelling
    whose territories hold no conflicting pair has every diameter below ``D``.
    The search minimises ``weighted conflicts + w · band violation`` over
    boundary moves (a unit joins a neighbouring territory; moving it back is
    tabu for a while; territories stay connected; without ``contiguity`` a
    unit may join any other territory, units with no neighbour too).  Each
    time it reaches a labelling with no conflict and no violation, that
    labelling is the new best and ``D`` drops to its largest diameter.  A
    start that is not feasible sets ``D`` to its own largest diameter (plus
    a hair); until a first feasible labelling is found, a balanced one (with
    every territory connected) counts even with conflicts, and ``D`` is set
    to its largest diameter: where every balanced plan is wider than the
    start, ``D`` rises to the first one met instead of staying out of reach.

    - Conflicts weigh 1; pairs within ``margin · D`` below the threshold weigh
      up to ``alpha`` (a pull towards round territories with slack); once no
      progress was made for ``bump_after`` iterations, the conflicts present
      gain ``bump`` every ``bump_every`` iterations (breakout).
    - The violation is measured in mean unit activities; its weight ``w``
      adapts (raised while the bands stay broken, lowered while they hold,
      at most ``w_max``); ``mu`` times the squared distance of each total to
      the middle of its band breaks ties towards slack.
    - Only moves into or out of a territory that holds a conflict or breaks a
      band are scanned; after ``balance_focus`` iterations with a broken band,
      only moves touching a broken territory.
    - A conflicting unit whose removal would cut its territory moves together
      with the pieces it cuts off.

    Parameters
    ----------
    labels
        Start: territory ``0..k-1`` per unit, each territory connected.
    space
        The unit graph (``nbrs``, ``edges``), the ``(n, m)`` activities and
        ``(k, m)`` bands; units with ``locked >= 0`` never move (its cost
        and roots are not used).
    dist
        ``(n, n)`` unit distances (the diameter metric).
    rng, deadline, max_iter
        Random source, ``time.perf_counter()`` deadline and iteration budget
        (with a budget that binds first, a fixed seed gives the same answer).
    contiguity
        Keep territories connected (moves to neighbouring territories only);
        without it, moves to any territory.  A labelling counts as feasible
        only with every territory connected.
    allowed
        ``(n, k)`` bool or ``None``: a unit never joins a territory it is not
        allowed in; one that the start put in such a territory counts as one
        unit of violation until it leaves, and a labelling counts as
        feasible only with none left.

    Returns
    -------
    SearchOutcome
        The best feasible labelling: every band met, every unit allowed in
        its territory and, with ``contiguity``, every territory connected (or,
        if none was reached, the one with the least violation), its largest
        diameter, the number of iterations and whether the deadline stopped
        it before ``max_iter``.
    """
    nbrs, edges, activities = space.nbrs, space.edges, space.activities
    lower, upper, locked = space.lower, space.upper, space.locked
    lab = labels.astype(np.int64).copy()
    n, m = activities.shape
    k = lower.shape[0]
    ar = np.arange(n)
    act = np.asarray(activities, dtype=float)
    unit = np.maximum(act.mean(axis=0), 1e-12)
    frozen = np.zeros(n, dtype=bool) if locked is None else locked >= 0
    ea = np.concatenate([edges[:, 0], edges[:, 1]]).astype(np.int64)
    eb = np.concatenate([edges[:, 1], edges[:, 0]]).astype(np.int64)
    # without contiguity, every unit may join every other territory
    any_i = np.repeat(ar, k - 1)
    any_shift = np.tile(np.arange(1, k, dtype=np.int64), n)
    sums = np.zeros((k, m))
    np.add.at(sums, lab, act)
    counts = np.bincount(lab, minlength=k).astype(np.int64)
    mid = (lower + upper) / 2.0
    half = np.maximum((upper - lower) / 2.0, 1e-12)

    def tviol(s: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return ((np.maximum(s - hi, 0.0) + np.maximum(lo - s, 0.0)) / unit).sum(-1)

    def quad(s: np.ndarray, md: np.ndarray, hf: np.ndarray) -> np.ndarray:
        return (((s - md) / hf) ** 2).sum(-1)

    def shift(
        src: int | np.ndarray, dst: int | np.ndarray, a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Change of violation and of the centring term when ``a`` moves."""
        s_src, s_dst = sums[src] - a, sums[dst] + a
        dv = (
            tviol(s_src, lower[src], upper[src])
            + tviol(s_dst, lower[dst], upper[dst])
            - vt[src]
            - vt[dst]
        )
        dq = (
            quad(s_src, mid[src], half[src])
            + quad(s_dst, mid[dst], half[dst])
            - qt[src]
            - qt[dst]
        )
        return dv, dq

    vt = tviol(sums, lower, upper)
    qt = quad(sums, mid, half)
    # units in a territory they are not allowed in (one unit of violation each)
    off = np.zeros(n, dtype=bool) if allowed is None else ~allowed[ar, lab].astype(bool)
    n_off = int(off.sum())
    # moves keep territories connected once they are: check the start only
    whole = not contiguity or contiguous(lab, edges)
    start_diam = float(_diameters(lab, dist, k).max())
    best_labels = lab.copy()
    best_feasible = bool(vt.sum() <= 1e-9) and n_off == 0 and whole
    best_value = start_diam if best_feasible else math.inf
    best_viol = float(vt.sum()) + n_off

    def rebuild(
        thr: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """Conflict matrix, weights and per-territory sums for threshold ``thr``."""
        conf = (dist >= thr).astype(np.int32)
        lo_soft = thr * (1.0 - margin)
        wmat = conf + alpha * np.clip((dist - lo_soft) / (thr - lo_soft), 0.0, 1.0)
        ct0 = np.zeros((k, n), dtype=np.int32)  # conflicts of unit i with t
        ct = np.zeros((k, n))  # weighted conflicts of unit i with t
        for t in range(k):
            sel = lab == t
            ct0[t] = conf[sel].sum(axis=0)
            ct[t] = wmat[sel].sum(axis=0)
        return conf, wmat, ct0, ct, int(ct0[lab, ar].sum()) // 2

    thr = best_value - 1e-7 if best_feasible else start_diam + 1e-7
    conf, wmat, ct0, ct, nconf = rebuild(thr)
    tabu = np.zeros((n, k), dtype=np.int64)
    # removability cache: valid while the unit's territory is unchanged.  A
    # move stamps both territories with a new number from one counter, so a
    # version seen in one territory never recurs in another (per-territory
    # counters did: a unit that changed territory could find its old answer
    # "valid" there and leave a territory in two pieces)
    ver = np.zeros(k, dtype=np.int64)
    stamp = 0
    rem_ver = np.full(n, -1, dtype=np.int64)
    rem_val = np.zeros(n, dtype=bool)

    nbr_sets = [set(v) for v in nbrs]
    # compound groups: unit -> (version of its territory, usable, group,
    # group activity, conflicts inside the group)
    pieces: dict[int, tuple[int, bool, np.ndarray, np.ndarray, int]] = {}

    def can_leave(i: int, src: int) -> bool:
        if rem_ver[i] != ver[src]:
            inside = [j for j in nbrs[i] if lab[j] == src]
            rem_val[i] = _linked(inside, nbr_sets) or removable(i, lab, nbrs)
            rem_ver[i] = ver[src]
        return bool(rem_val[i])

    def move(group: list[int], src: int, dst: int) -> None:
        nonlocal stamp, n_off
        for i in group:
            lab[i] = dst
            ct0[src] -= conf[i]
            ct0[dst] += conf[i]
            ct[src] -= wmat[i]
            ct[dst] += wmat[i]
        a = act[group].sum(axis=0)
        sums[src] -= a
        sums[dst] += a
        counts[src] -= len(group)
        counts[dst] += len(group)
        stamp += 1
        ver[src] = ver[dst] = stamp
        if allowed is not None:
            off[group] = ~allowed[group, dst]
            n_off = int(off.sum())
        for t in (src, dst):
            vt[t] = float(tviol(sums[t], lower[t], upper[t]))
            qt[t] = float(quad(sums[t], mid[t], half[t]))

    w = 1.0
    bad_run = good_run = viol_run = 0
    it = 0
    last_gain = 0
    clock_cut = False
    while it < max_iter:
        it += 1
        if it % 64 == 0 and time.perf_counter() >= deadline:
            clock_cut = max_iter < 10**9  # an iteration budget, cut by the clock
            break
        vtot = float(vt.sum())
        own0 = ct0[lab, ar]
        conflicted = np.bincount(lab, weights=own0, minlength=k) > 0
        # candidate moves: unit ci leaves cs for the neighbouring territory cd
        # (without contiguity: for any other territory)
        if contiguity:
            cross = lab[ea] != lab[eb]
            ci = ea[cross]
            cd = lab[eb[cross]]
        else:
            ci = any_i
            cd = (lab[any_i] + any_shift) % k
        cs = lab[ci]
        broken = vt > 1e-9
        if n_off:
            broken = broken | (np.bincount(lab, weights=off, minlength=k) > 0)
        bad = broken | conflicted
        keep = ~frozen[ci] & (counts[cs] > 1) & (bad[cs] | bad[cd])
        if allowed is not None:
            keep &= allowed[ci, cd]
        if viol_run > balance_focus:
            keep &= broken[cs] | broken[cd]
        ci, cd, cs = ci[keep], cd[keep], cs[keep]
        dv, dq = shift(cs, cd, act[ci])
        if n_off:
            dv = dv - off[ci]  # leaving a territory the unit is not allowed in
        dc = ct0[cd, ci] - ct0[cs, ci]
        score = (ct[cd, ci] - ct[cs, ci]) + w * dv + mu * dq
        ok = tabu[ci, cd] <= it
        # aspiration: a move reaching a conflict-free, balanced labelling
        ok |= (nconf + dc == 0) & (vtot + n_off + dv <= 1e-9)
        if contiguity:
            ok &= ~((rem_ver[ci] == ver[cs]) & ~rem_val[ci])
        score = np.where(ok, score, np.inf) + rng.random(len(ci)) * 1e-3
        # compound moves: a conflicting unit that cuts its territory, with the
        # pieces it cuts off
        comp: tuple[float, int, int, list[int], int] | None = None
        if contiguity and nconf > 0:
            for i in np.flatnonzero(own0 > 0).tolist():
                src = int(lab[i])
                if frozen[i] or can_leave(i, src):
                    continue
                entry = pieces.get(i)
                if entry is None or entry[0] != ver[src]:
                    extra = _cut_pieces(i, lab, nbrs)
                    group = np.array([i, *extra])
                    valid = (
                        bool(extra)
                        and len(group) <= counts[src] // 2
                        and not frozen[group].any()
                    )
                    entry = (
                        int(ver[src]),
                        valid,
                        group,
                        act[group].sum(axis=0),
                        int(conf[np.ix_(group, group)].sum()),
                    )
                    pieces[i] = entry
                _, valid, group, ag, within0 = entry
                if not valid:
                    continue
                dsts = np.array(
                    sorted(
                        t
                        for t in {int(lab[v]) for v in nbrs[i]} - {src}
                        if tabu[i, t] <= it
                        and (allowed is None or bool(allowed[group, t].all()))
                    ),
                    dtype=np.int64,
                )
                if len(dsts) == 0:
                    continue
                within = float(wmat[np.ix_(group, group)].sum())
                d0 = ct0[np.ix_(dsts, group)].sum(1) - ct0[src, group].sum() + within0
                dw = ct[np.ix_(dsts, group)].sum(1) - ct[src, group].sum() + within
                dvc, dqc = shift(np.full(len(dsts), src), dsts, ag[None, :])
                dvc = dvc - int(off[group].sum())
                sc = dw + w * dvc + mu * dqc
                b = int(np.argmin(sc))
                if comp is None or sc[b] < comp[0]:
                    comp = (float(sc[b]), src, int(dsts[b]), group.tolist(), int(d0[b]))
        moved = False
        for j in np.argsort(score).tolist():
            if not np.isfinite(score[j]) or (comp is not None and comp[0] < score[j]):
                break
            i, src, dst = int(ci[j]), int(cs[j]), int(cd[j])
            if contiguity and not can_leave(i, src):
                continue
            move([i], src, dst)
            nconf += int(dc[j])
            tabu[i, src] = it + tenure + int(rng.integers(0, tenure + 1)) + nconf // 2
            moved = True
            break
        if not moved and comp is not None:
            _, src, dst, group_l, d0 = comp
            move(group_l, src, dst)
            nconf += d0
            tabu[group_l, src] = (
                it + tenure + int(rng.integers(0, tenure + 1)) + nconf // 2
            )
            moved = True
        if not moved:
            if len(ci) == 0 and viol_run <= balance_focus:
                break  # nothing can move
            viol_run = 0
            continue
        vtot = float(vt.sum())
        if nconf > 0 and it - last_gain > bump_after and it % bump_every == 0:
            # breakout: conflicts that persist weigh more
            own0 = ct0[lab, ar]
            for t in np.flatnonzero(np.bincount(lab, weights=own0, minlength=k)):
                mem = np.flatnonzero(lab == t)
                pa, pb = np.nonzero(conf[np.ix_(mem, mem)])
                ia, ib = mem[pa], mem[pb]
                wmat[ia, ib] += bump
                np.add.at(ct[t], ia, bump)
        if vtot > 1e-9:
            viol_run += 1
            bad_run += 1
            good_run = 0
            if bad_run >= 20:
                w = min(w * 1.2, w_max)
                bad_run = 0
        else:
            viol_run = 0
            good_run += 1
            bad_run = 0
            if good_run >= 20:
                w = max(w / 1.2, 1e-2)
                good_run = 0
        if not best_feasible and vtot + n_off < best_viol - 1e-12:
            best_viol = vtot + n_off
            best_labels = lab.copy()
        # a balanced labelling is a candidate when it has no conflict, and
        # also, while no feasible plan is known, with conflicts: a start out
        # of band set the threshold to its own diameter, and when every
        # balanced plan is wider than that start, none would ever count
        if vtot <= 1e-9 and n_off == 0 and (nconf == 0 or not best_feasible):
            if not whole:
                whole = contiguous(lab, edges)
            if nconf == 0 or whole:
                value = float(_diameters(lab, dist, k).max())
                if whole and value < best_value - 1e-9:
                    best_value = value
                    best_feasible = True
                    best_labels = lab.copy()
                    last_gain = it
                # with conflicts this raises the threshold to the new best
                thr = min(best_value, value) - 1e-7
                conf, wmat, ct0, ct, nconf = rebuild(thr)
    if not best_feasible:
        best_value = float(_diameters(best_labels, dist, k).max())
    return SearchOutcome(best_labels, float(best_value), best_feasible, it, clock_cut)

"""Tour improvement for the one-vehicle, no-window case (a TSP).

PyVRP's local search (0.14) moves and swaps short segments (relocate / swap
operators) and exchanges route tails *between* routes, but has no intra-route
2-opt: on a single route it cannot reverse a stretch of the tour.  Tours then
stall with crossing edges — most visibly on instances whose cities sit on
grid lines, such as TSPLIB ``pr264`` (12.5 % above the optimum after 5 s).
This module adds the missing search:

* :func:`polish`: best-improvement 2-opt and Or-opt (segments of 1–3 nodes
  moved elsewhere, either orientation) to a local optimum, each pass
  evaluated for all pairs at once with NumPy (``O(n²)`` per move);
* :func:`exact`: the shortest tour of at most 8 nodes by enumeration
  (:func:`improve` uses it for such tours);
* :func:`improve`: an iterated local search — 2-opt and Lin–Kernighan chains
  of depth 2 (sequential 3-opt) on alpha-nearness candidate lists
  (:func:`candidate_lists`) with "don't look" bits, and local double-bridge
  kicks.  On a symmetric TSP the router runs it after PyVRP has built the
  start tour (see :func:`terrakit.routing.vrp.solve_routing`); on TSPLIB
  (≤ 300 nodes) it ends within 0.5 % of the optimum in a few seconds, see
  ``benchmarks/README.md``.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "EXACT_NODES",
    "candidate_lists",
    "exact",
    "improve",
    "is_symmetric",
    "polish",
    "tour_cost",
]


def is_symmetric(cost: np.ndarray, tol: float = 1e-9) -> bool:
    """Whether ``cost`` equals its transpose (2-opt needs symmetric costs)."""
    c = np.asarray(cost, dtype=float)
    return bool(np.allclose(c, c.T, atol=tol, rtol=0.0))


def tour_cost(cost: np.ndarray, tour: np.ndarray) -> float:
    """Length of the closed tour ``tour`` (node indices, any rotation)."""
    t = np.asarray(tour, dtype=np.int64)
    return float(cost[t, np.roll(t, -1)].sum())


def polish(
    cost: np.ndarray, tour: np.ndarray, *, max_moves: int = 100_000
) -> np.ndarray:
    """2-opt and Or-opt to a local optimum (best improvement, symmetric costs).

    Parameters
    ----------
    cost
        ``(n, n)`` symmetric cost matrix.
    tour
        A closed tour: a permutation of ``0..n-1``.
    max_moves
        Stop after this many improving moves (a safeguard; local optima are
        reached long before on ≤ 1000 nodes).

    Returns
    -------
    numpy.ndarray
        The improved tour, rotated so that it starts at node 0 as given.

    Notes
    -----
    With tour positions ``0..n-1`` and ``t⁺`` the successor of ``t``:

    * 2-opt on positions ``i < j`` replaces edges ``(tᵢ, tᵢ⁺)`` and
      ``(tⱼ, tⱼ⁺)`` by ``(tᵢ, tⱼ)`` and ``(tᵢ⁺, tⱼ⁺)``, reversing
      ``t_{i+1..j}``; gain ``c(tᵢ,tᵢ⁺) + c(tⱼ,tⱼ⁺) − c(tᵢ,tⱼ) − c(tᵢ⁺,tⱼ⁺)``.
    * Or-opt removes the segment ``t_{i..i+L-1}`` (``L ≤ 3``, positions
      modulo ``n``: any ``L`` consecutive nodes of the cycle), joins its
      neighbours, and inserts it, forwards or reversed, into an edge
      ``(tⱼ, tⱼ⁺)`` outside it.

    Every iteration applies the best improving move of either kind; it stops
    when none improves by more than ``1e-9`` (relative to the tour length).
    """
    c = np.asarray(cost, dtype=float)
    t = np.asarray(tour, dtype=np.int64).copy()
    n = len(t)
    if n < 5:
        return t
    start = int(t[0])
    pos = np.arange(n)
    upper = pos[:, None] < pos[None, :] - 1
    upper[0, n - 1] = False  # the two edges around position 0 are adjacent
    eps = 1e-9 * max(1.0, tour_cost(c, t))
    for _ in range(max_moves):
        nxt = np.roll(t, -1)
        edge = c[t, nxt]
        # -- 2-opt
        delta = (
            c[t[:, None], t[None, :]]
            + c[nxt[:, None], nxt[None, :]]
            - edge[:, None]
            - edge[None, :]
        )
        delta = np.where(upper, delta, np.inf)
        k2 = int(np.argmin(delta))
        best = float(delta.flat[k2])
        move: tuple[str, int, int, int, bool] | None = None
        if best < -eps:
            move = ("2opt", k2 // n, k2 % n, 0, False)
        # -- Or-opt, segments of 1..3 nodes starting at any position i (the
        # tour is a cycle: a segment may run over the end of the array)
        prv = np.roll(t, 1)
        for length in (1, 2, 3):
            if n - length < 3:
                break
            i = pos
            s0 = t[i]
            s1 = t[(i + length - 1) % n]
            p = prv[i]
            q = t[(i + length) % n]
            removal = c[p, s0] + c[s1, q] - c[p, q]  # saved by removing
            a = t[None, :]
            b = nxt[None, :]
            fwd = c[a, s0[:, None]] + c[s1[:, None], b] - c[a, b]
            rev = c[a, s1[:, None]] + c[s0[:, None], b] - c[a, b]
            # edges into, inside and out of the segment: cyclic offsets -1..L-1
            bad = (pos[None, :] - i[:, None] + 1) % n <= length
            ins = np.minimum(fwd, rev)
            d = np.where(bad, np.inf, ins - removal[:, None])
            k = int(np.argmin(d))
            v = float(d.flat[k])
            if v < min(best, 0.0) - eps:
                r, jj = divmod(k, n)
                best = v
                move = ("or", int(i[r]), int(jj), length, bool(rev[r, jj] < fwd[r, jj]))
        if move is None:
            break
        kind, a_, b_, length, reverse = move
        if kind == "2opt":
            t[a_ + 1 : b_ + 1] = t[a_ + 1 : b_ + 1][::-1].copy()
        else:
            after = int(t[b_])  # insert after this node
            t = np.roll(t, -a_)  # the segment first: positions 0..L-1
            seg = t[:length].copy()
            if reverse:
                seg = seg[::-1]
            rest = t[length:]
            at = int(np.flatnonzero(rest == after)[0]) + 1
            t = np.concatenate([rest[:at], seg, rest[at:]])
    k0 = int(np.flatnonzero(t == start)[0])
    return np.roll(t, -k0)


def candidate_lists(cost: np.ndarray, k: int = 8) -> list[list[int]]:
    """The ``k`` alpha-nearest nodes of every node, ordered by cost.

    Parameters
    ----------
    cost
        ``(n, n)`` symmetric, finite costs.
    k
        Candidates per node (at most ``n - 1``).

    Returns
    -------
    list of list of int
        ``out[i]``: the ``k`` nodes ``j ≠ i`` with the smallest
        alpha-nearness (ties broken by cost), sorted by ``cost[i, j]`` so that
        a search over them may stop at the first one that is too far.

    Notes
    -----
    Alpha-nearness (Helsgaun 2000, without the subgradient step):
    ``α(i, j) = c(i, j) − β(i, j)``, with ``β(i, j)`` the longest edge on the
    path from ``i`` to ``j`` in a minimum spanning tree; it is 0 on tree
    edges.  Unlike the ``k`` nearest nodes, these lists always hold the edges
    between clusters: with 10 nearest nodes, TSPLIB ``pr144`` (clusters of
    more than 10 cities) stayed 3.3 % above its optimum.
    """
    c = np.asarray(cost, dtype=float)
    n = int(c.shape[0])
    k = max(0, min(int(k), n - 1))
    if k == 0:
        return [[] for _ in range(n)]
    # Prim's minimum spanning tree, O(n²)
    in_tree = np.zeros(n, dtype=bool)
    dist = np.full(n, np.inf)
    parent = np.full(n, -1, dtype=np.int64)
    dist[0] = 0.0
    order = np.empty(n, dtype=np.int64)
    for step in range(n):
        j = int(np.argmin(np.where(in_tree, np.inf, dist)))
        in_tree[j] = True
        order[step] = j
        closer = ~in_tree & (c[j] < dist)
        dist[closer] = c[j][closer]
        parent[closer] = j
    # β: longest tree edge between every pair; a node's path to the nodes
    # added before it goes through its parent
    beta = np.zeros((n, n))
    for step in range(1, n):
        j = order[step]
        p = parent[j]
        before = order[:step]
        b = np.maximum(beta[before, p], c[j, p])
        beta[before, j] = b
        beta[j, before] = b
    alpha = c - beta
    np.fill_diagonal(alpha, np.inf)
    out: list[list[int]] = []
    for i in range(n):
        pick = np.lexsort((c[i], alpha[i]))[:k]
        pick = pick[np.argsort(c[i, pick], kind="stable")]
        out.append([int(v) for v in pick])
    return out


#: Tours of at most this many nodes are found exactly by :func:`exact`
#: (``(n-1)!`` orders, 5,040 for 8 nodes).
EXACT_NODES = 8


def exact(cost: np.ndarray, tour: np.ndarray) -> np.ndarray:
    """The shortest closed tour by enumeration (at most :data:`EXACT_NODES` nodes).

    Parameters
    ----------
    cost
        ``(n, n)`` finite costs; need not be symmetric (``cost[a, b]`` is
        the arc from ``a`` to ``b``, tours are directed).
    tour
        A closed tour (a permutation of ``0..n-1``): its first node stays
        first, and it is returned unchanged when no tour is shorter.

    Returns
    -------
    numpy.ndarray
        A shortest tour, starting at ``tour[0]``.
    """
    c = np.asarray(cost, dtype=float)
    t = np.asarray(tour, dtype=np.int64)
    n = len(t)
    if n > EXACT_NODES:
        raise ValueError(f"exact enumerates at most {EXACT_NODES} nodes, got {n}")
    if n < 3:
        return t.copy()
    first = int(t[0])
    rest = [int(v) for v in t[1:]]
    orders = np.array(list(itertools.permutations(rest)), dtype=np.int64)
    ends = np.full((len(orders), 1), first, dtype=np.int64)
    full = np.hstack([ends, orders, ends])
    lengths = c[full[:, :-1], full[:, 1:]].sum(axis=1)
    k = int(np.argmin(lengths))
    given = float(c[t, np.roll(t, -1)].sum())
    if given <= float(lengths[k]) + 1e-12 * max(1.0, abs(given)):
        return t.copy()
    return full[k, :-1].copy()


def improve(
    cost: np.ndarray,
    tour: np.ndarray,
    *,
    time_limit: float,
    seed: int = 0,
    max_kicks: int | None = None,
    max_stall: int | None = None,
    n_neighbours: int = 8,
    max_segment: int = 50,
) -> np.ndarray:
    """Iterated local search on a symmetric TSP: 2-opt, 3-opt chains, kicks.

    Parameters
    ----------
    cost
        ``(n, n)`` symmetric, finite costs.
    tour
        Starting closed tour (a permutation of ``0..n-1``).
    time_limit
        Seconds (wall clock); a safety stop, see Notes.
    seed
        Seed of the kicks.
    max_kicks
        Stop after this many kicks.
    max_stall
        Stop after this many kicks in a row that found no shorter tour
        (default ``max(2000, 20 n)``).
    n_neighbours
        Candidate list length (alpha-nearness, :func:`candidate_lists`):
        moves only add an edge from a node to one of its candidates.
    max_segment
        Kicks cut the tour at three points within ``2 · max_segment``
        positions (at most ``n / 4`` per segment).

    Returns
    -------
    numpy.ndarray
        The best tour found, starting at the first node of ``tour``; for at
        most :data:`EXACT_NODES` nodes the shortest tour (:func:`exact`, any
        costs, asymmetric too).

    Notes
    -----
    Local search, first improvement, with "don't look" bits (only nodes next
    to a changed edge are examined again):

    * 2-opt: for a node ``a`` with tour neighbour ``b`` (either side) and a
      candidate ``x`` of ``a`` with ``c(a,x) < c(a,b)``, replace ``(a,b),
      (x,y)`` by ``(a,x), (b,y)``;
    * 3-opt chain (Lin–Kernighan of depth 2): break ``(a,b)``, add ``(b,x)``
      for a candidate ``x`` of ``b``, break ``(x,y)``, add ``(y,z)`` for a
      candidate ``z`` of ``y``, break ``(z,w)`` and close with ``(w,a)``,
      each partial gain positive.  Both steps are 2-opt moves, so the chain
      is evaluated in ``O(1)`` from tour positions before anything moves.
      It includes moving a segment of any length (reversed) to another place;
      a separate Or-opt pass found little more at twice the time per kick.

    Kick: a double bridge on three cut points close in the tour, ``… a | B |
    C | d …`` becomes ``… a | C | B | d …`` with ``|B|, |C| < max_segment``,
    which 2-opt and the chains cannot undo in one step.  A kicked tour is kept
    if after the local search it is no longer than the current one (ties
    accepted, so the search drifts across plateaus), else undone.

    Every move is a reversal of the shorter side of the tour in an array with
    a position index (``O(n)`` but fast for the ≤ 1000 nodes of one route).

    The clock is checked during the first descent too (from a poor start on
    1,000 nodes it takes about 0.4 s).

    Determinism: for a fixed ``seed`` the sequence of tours does not depend
    on time; only *where it stops* does when ``time_limit`` comes before
    ``max_kicks`` / ``max_stall``.  On TSPLIB (≤ 300 nodes) at 5 s on two
    shared cores the stall rule ended 116 of 117 runs (39 instances × 3
    seeds), so their tours were the same from run to run; under heavier
    load the clock stops the larger instances first.
    """
    import random
    import time

    t_start = time.perf_counter()
    c_np = np.asarray(cost, dtype=float)
    n = int(c_np.shape[0])
    t0 = [int(v) for v in np.asarray(tour, dtype=np.int64)]
    if sorted(t0) != list(range(n)):
        raise ValueError(
            f"tour must be a permutation of 0..{n - 1} (the rows of cost); "
            f"got {len(t0)} nodes"
        )
    if n <= EXACT_NODES:
        return exact(c_np, np.asarray(t0))
    first = t0[0]
    neigh = candidate_lists(c_np, n_neighbours)
    c: list[list[float]] = c_np.tolist()
    eps = 1e-10 * max(1.0, float(np.abs(c_np).max()))
    rng = random.Random(seed)
    stall_limit = max(2000, 20 * n) if max_stall is None else int(max_stall)
    n1 = 1 - n  # t[pos[v] + n1] is the successor of v (negative index wraps)

    t = t0[:]
    pos = [0] * n
    for k, v in enumerate(t):
        pos[v] = k

    def move(a: int, b: int, x: int, y: int) -> None:
        """Replace edges ``(a,b), (x,y)`` by ``(a,x), (b,y)``.

        ``b`` and ``y`` follow ``a`` and ``x`` in the same direction.
        """
        if t[pos[a] + n1] != b:
            a, b, x, y = b, a, y, x
        i = pos[b]
        j = pos[x]
        length = (j - i) % n + 1
        if 2 * length > n:  # reverse the other side (the same new cycle)
            i, j = pos[y], pos[a]
            length = n - length
        if i <= j:
            t[i : j + 1] = t[i : j + 1][::-1]
            for k in range(i, j + 1):
                pos[t[k]] = k
        else:
            for _ in range(length // 2):
                u, w = t[i], t[j]
                t[i] = w
                pos[w] = i
                t[j] = u
                pos[u] = j
                i = i + 1 if i + 1 < n else 0
                j = j - 1 if j > 0 else n - 1

    def two_opt(a: int) -> tuple[float, tuple[int, ...]] | None:
        ca = c[a]
        for forward in (True, False):
            b = t[pos[a] + n1] if forward else t[pos[a] - 1]
            dab = ca[b]
            cb = c[b]
            for x in neigh[a]:
                dax = ca[x]
                if dab - dax <= eps:
                    break
                y = t[pos[x] + n1] if forward else t[pos[x] - 1]
                if x == b or y == a:
                    continue
                delta = dax + cb[y] - dab - c[x][y]
                if delta < -eps:
                    move(a, b, x, y)
                    return delta, (a, b, x, y)
        return None

    def chain(a: int) -> tuple[float, tuple[int, ...]] | None:
        ca = c[a]
        for forward in (True, False):
            b = t[pos[a] + n1] if forward else t[pos[a] - 1]
            dab = ca[b]
            cb = c[b]
            pb = pos[b]
            for x in neigh[b]:
                g1 = dab - cb[x]
                if g1 <= eps:
                    break
                # y precedes x (in this direction): the 2-opt move that adds
                # (b, x) removes (y, x), reverses b..y and adds (a, y)
                y = t[pos[x] - 1] if forward else t[pos[x] + n1]
                if x == a or y == b or y == a:
                    continue
                g1 += c[x][y]
                cy = c[y]
                py = pos[y]
                span = (py - pb) % n if forward else (pb - py) % n
                for z in neigh[y]:
                    g2 = g1 - cy[z]
                    if g2 <= eps:
                        break
                    if z == a or z == x:
                        continue
                    pz = pos[z]
                    # w: the node before z after the first move (b..y reversed)
                    if ((pz - pb) % n if forward else (pb - pz) % n) <= span:
                        w = t[pz + n1] if forward else t[pz - 1]
                    else:
                        w = t[pz - 1] if forward else t[pz + n1]
                    if w == y:
                        continue
                    delta = ca[w] - g2 - c[z][w]
                    if delta < -eps:
                        move(a, b, y, x)
                        move(y, a, z, w)
                        return delta, (a, b, x, y, z, w)
        return None

    queued = [True] * n

    def local_search(active: list[int], deadline: float = np.inf) -> float:
        total = 0.0
        while active:
            if deadline < np.inf and time.perf_counter() > deadline:
                break  # the first descent of a large tour (0.4 s at n = 1000)
            a = active.pop()
            queued[a] = False
            found = two_opt(a) or chain(a)
            if found is not None:
                total += found[0]
                for v in (*found[1], a):
                    if not queued[v]:
                        queued[v] = True
                        active.append(v)
        return total

    cur = float(sum(c[t[k - 1]][t[k]] for k in range(n)))
    cur += local_search(t[::-1], t_start + time_limit)
    best, best_t = cur, t[:]
    seg = max(2, min(max_segment, n // 4))
    kicks = stall = 0
    while time.perf_counter() - t_start < time_limit:
        if (max_kicks is not None and kicks >= max_kicks) or stall >= stall_limit:
            break
        kicks += 1
        stall += 1
        saved_t, saved_pos, saved_cost = t[:], pos[:], cur
        # double bridge a1 | b1 .. bj | c1 .. ck | d1  ->  a1 | C | B | d1
        i = rng.randrange(n)
        l1 = rng.randrange(1, seg)
        l2 = rng.randrange(1, seg)
        a1, b1 = t[i], t[(i + 1) % n]
        bj, c1 = t[(i + l1) % n], t[(i + l1 + 1) % n]
        ck, d1 = t[(i + l1 + l2) % n], t[(i + l1 + l2 + 1) % n]
        cur += c[a1][c1] + c[ck][b1] + c[bj][d1] - c[a1][b1] - c[bj][c1] - c[ck][d1]
        move(a1, b1, ck, d1)  # a1 ck..c1 bj..b1 d1
        if c1 != ck:
            move(a1, ck, c1, bj)  # a1 c1..ck bj..b1 d1
        if b1 != bj:
            move(ck, bj, b1, d1)  # a1 c1..ck b1..bj d1
        active = []
        for v in (a1, b1, bj, c1, ck, d1):
            if not queued[v]:
                queued[v] = True
                active.append(v)
        cur += local_search(active)
        if cur <= saved_cost + eps:
            if cur < best - eps:
                best, best_t = cur, t[:]
                stall = 0
        else:
            t[:] = saved_t
            pos[:] = saved_pos
            cur = saved_cost
    out = np.asarray(best_t, dtype=np.int64)
    k0 = int(np.flatnonzero(out == first)[0])
    return np.roll(out, -k0)

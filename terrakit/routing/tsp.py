"""Tour improvement for the one-vehicle, no-window case (a TSP).

PyVRP's local search (0.14) moves and swaps short segments (relocate / swap
operators) and exchanges route tails *between* routes, but has no intra-route
2-opt: on a single route it cannot reverse a stretch of the tour.  Tours then
stall with crossing edges — most visibly on instances whose cities sit on
grid lines, such as TSPLIB ``pr264`` (12.5 % above the optimum after 5 s).
:func:`polish` adds the missing moves: best-improvement 2-opt and Or-opt
(segments of 1–3 nodes moved elsewhere, either orientation), each pass
evaluated for all pairs at once with NumPy (``O(n²)`` per move, a few
milliseconds for 300 nodes).  The router alternates PyVRP's iterated local
search with this polish (see :func:`terrakit.routing.vrp.solve_routing`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["is_symmetric", "polish", "tour_cost"]


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
    * Or-opt removes the segment ``t_{i..i+L-1}`` (``L ≤ 3``), joins its
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
        # -- Or-opt, segments of 1..3 nodes starting at position i (no wrap)
        prv = np.roll(t, 1)
        for length in (1, 2, 3):
            if n - length < 3:
                break
            i = np.arange(1, n - length)  # keep segment away from the wrap
            s0 = t[i]
            s1 = t[i + length - 1]
            p = prv[i]
            q = t[i + length]
            removal = c[p, s0] + c[s1, q] - c[p, q]  # saved by removing
            a = t[None, :]
            b = nxt[None, :]
            fwd = c[a, s0[:, None]] + c[s1[:, None], b] - c[a, b]
            rev = c[a, s1[:, None]] + c[s0[:, None], b] - c[a, b]
            j = pos[None, :]
            bad = (j >= i[:, None] - 1) & (j <= i[:, None] + length - 1)
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
            seg = t[a_ : a_ + length].copy()
            if reverse:
                seg = seg[::-1]
            after = int(t[b_])  # insert after this node
            rest = np.concatenate([t[:a_], t[a_ + length :]])
            at = int(np.flatnonzero(rest == after)[0]) + 1
            t = np.concatenate([rest[:at], seg, rest[at:]])
    k0 = int(np.flatnonzero(t == start)[0])
    return np.roll(t, -k0)


def improve(
    cost: np.ndarray,
    tour: np.ndarray,
    *,
    time_limit: float,
    seed: int = 0,
    max_kicks: int | None = None,
    n_neighbours: int = 16,
    max_segment: int = 50,
) -> np.ndarray:
    """Iterated local search on a symmetric TSP: 2-opt + Or-opt and local kicks.

    Parameters
    ----------
    cost
        ``(n, n)`` symmetric costs.
    tour
        Starting closed tour (a permutation of ``0..n-1``).
    time_limit
        Seconds (wall clock).
    seed
        Seed of the kicks.
    max_kicks
        Also stop after this many kicks (reproducible when it binds first).
    n_neighbours
        Candidate list length: moves only join a node to one of its
        ``n_neighbours`` nearest nodes (with 10, TSPLIB pr144, whose cities
        sit in clusters of more than 10, stayed 3.3 % above the optimum).
    max_segment
        Kicks cut the tour at four points within this many positions.

    Returns
    -------
    numpy.ndarray
        The best tour found, starting at the first node of ``tour``.

    Notes
    -----
    Local search: 2-opt and Or-opt (segments of 1–3 nodes, either
    orientation) restricted to candidate lists, with "don't look" bits (only
    nodes next to a changed edge are examined again).  Kick: a local double
    bridge, positions ``i < j < k < l`` within ``max_segment`` of each other,
    ``… t_i | t_{i+1..j} | t_{j+1..k} | t_{k+1} …`` becomes ``… t_i |
    t_{j+1..k} | t_{i+1..j} | t_{k+1} …`` (a move 2-opt and Or-opt cannot
    undo in one step).  A kicked tour is kept if after the local search it is
    no longer than the current one (ties accepted, which lets the search
    drift across plateaus).
    """
    import time as _time
    from collections import deque

    t_start = _time.perf_counter()
    c_np = np.asarray(cost, dtype=float)
    n = int(c_np.shape[0])
    t0 = [int(v) for v in np.asarray(tour, dtype=np.int64)]
    if n < 8:
        return polish(c_np, np.asarray(t0))
    first = t0[0]
    k_nb = min(n_neighbours, n - 1)
    order = np.argsort(c_np + np.diag(np.full(n, np.inf)), axis=1, kind="stable")
    neigh = order[:, :k_nb].tolist()
    c = c_np.tolist()
    rng = np.random.default_rng(seed)

    t = t0[:]
    pos = [0] * n
    for k, v in enumerate(t):
        pos[v] = k

    def succ(v: int) -> int:
        return t[pos[v] + 1 if pos[v] + 1 < n else 0]

    def pred(v: int) -> int:
        return t[pos[v] - 1]

    def reverse(i: int, j: int) -> None:
        """Reverse tour positions i..j (cyclic, forward from i to j)."""
        length = (j - i) % n + 1
        if 2 * length > n:  # reverse the complement instead (same cycle)
            i, j = (j + 1) % n, (i - 1) % n
            length = n - length
        for _ in range(length // 2):
            a, b = t[i], t[j]
            t[i], t[j] = b, a
            pos[b], pos[a] = i, j
            i = i + 1 if i + 1 < n else 0
            j = j - 1 if j > 0 else n - 1

    def or_move(a: int, length: int, seq: list[int], u: int, w: int) -> None:
        """Remove the ``length`` nodes from ``a`` on; put ``seq`` between u → w."""
        i = pos[a]
        rest_start = (i + length) % n
        rest = [t[(rest_start + k) % n] for k in range(n - length)]
        ku = rest.index(u)
        assert rest[(ku + 1) % len(rest)] == w
        t[:] = rest[: ku + 1] + seq + rest[ku + 1 :]
        for k, v in enumerate(t):
            pos[v] = k

    def two_opt(a: int) -> tuple[int, ...] | None:
        for direction in (1, -1):
            b = succ(a) if direction == 1 else pred(a)
            dab = c[a][b]
            for x in neigh[a]:
                g1 = dab - c[a][x]
                if g1 <= 1e-12:
                    break
                y = succ(x) if direction == 1 else pred(x)
                if x == b or y == a:
                    continue
                delta = c[a][x] + c[b][y] - dab - c[x][y]
                if delta < -1e-9:
                    if direction == 1:  # a b ... x y -> a x ... b y
                        reverse(pos[b], pos[x])
                    else:  # y x ... b a -> y b ... x a
                        reverse(pos[x], pos[b])
                    return (a, b, x, y)
        return None

    def or_opt(a: int) -> tuple[int, ...] | None:
        for length in (1, 2, 3):
            if length >= n - 3:
                break
            i = pos[a]
            e = t[(i + length - 1) % n]
            p = t[i - 1]
            q = t[(i + length) % n]
            seg = {t[(i + k) % n] for k in range(length)}
            gain_rm = c[p][a] + c[e][q] - c[p][q]
            if gain_rm <= 1e-12:
                continue
            for end, other in ((a, e), (e, a)):
                for x in neigh[end]:
                    if c[end][x] >= gain_rm:
                        break
                    if x in seg:
                        continue
                    for y in (succ(x), pred(x)):
                        if y in seg or (x == p and y == q) or (x == q and y == p):
                            continue
                        add = c[x][end] + c[other][y] - c[x][y]
                        if add - gain_rm < -1e-9:
                            fwd = [t[(i + k) % n] for k in range(length)]
                            # ``end`` touches x and ``other`` touches y
                            if y == succ(x):  # x -> end .. other -> y
                                seq = fwd if end == a else fwd[::-1]
                                or_move(a, length, seq, x, y)
                            else:  # y -> other .. end -> x
                                seq = fwd[::-1] if end == a else fwd
                                or_move(a, length, seq, y, x)
                            return (p, q, x, y, a, e)
        return None

    def local_search(active: deque[int], queued: list[bool]) -> None:
        while active:
            a = active.popleft()
            queued[a] = False
            touched = two_opt(a) or or_opt(a)
            if touched:
                for v in touched:
                    if not queued[v]:
                        queued[v] = True
                        active.append(v)
                if not queued[a]:
                    queued[a] = True
                    active.append(a)

    def length_of() -> float:
        return float(sum(c[t[k - 1]][t[k]] for k in range(n)))

    queued = [True] * n
    local_search(deque(t), queued)
    cur = length_of()
    best_t, best = t[:], cur
    kicks = 0
    seg = max(4, min(max_segment, n // 4))
    while _time.perf_counter() - t_start < time_limit:
        if max_kicks is not None and kicks >= max_kicks:
            break
        kicks += 1
        saved_t, saved_cost = t[:], cur
        i = int(rng.integers(n))
        j, k = sorted(int(v) for v in rng.choice(np.arange(1, seg), 2, replace=False))
        rot = t[i:] + t[:i]  # rotate so that the kick does not wrap
        # double bridge A B C D -> A C B D with A = rot[0], D = rot[k+1:]
        new = [rot[0], *rot[j + 1 : k + 1], *rot[1 : j + 1], *rot[k + 1 :]]
        ends = [rot[0], rot[1], rot[j], rot[j + 1], rot[k], rot[(k + 1) % n]]
        t[:] = new
        for q_, v in enumerate(t):
            pos[v] = q_
        active: deque[int] = deque()
        for v in ends:
            if not queued[v]:
                queued[v] = True
                active.append(v)
        local_search(active, queued)
        new_cost = length_of()
        if new_cost <= cur + 1e-9:
            cur = new_cost
            if cur < best - 1e-9:
                best, best_t = cur, t[:]
        else:
            t[:] = saved_t
            for q_, v in enumerate(t):
                pos[v] = q_
            cur = saved_cost
    out = np.asarray(best_t, dtype=np.int64)
    k0 = int(np.flatnonzero(out == first)[0])
    return np.roll(out, -k0)

"""Array kernels of the capacitated p-median solver (:mod:`.capacitated`).

Everything here works on plain arrays: ``c`` (n × m assignment costs, unit
``i`` to candidate center ``j``), ``d`` (n integer demands), ``q`` (the
capacity of every center, an integer) and ``k`` (the number of centers).
``home`` (m unit indices, or None): the unit each candidate center sits in.
An open center serves its own unit (``x_{home_j, j} = y_j``, the CPMP's
``x_jj = y_j`` of Osman & Christofides 1994 and Lorena & Senne 2004: a median
belongs to its own cluster); every kernel keeps that rule when ``home`` is
given, and ``-1`` entries (a center outside the units) are free of it.

- :func:`knapsacks`, :func:`fractional_knapsacks`, :func:`lagrangian` — the
  Lagrangian subproblem: one 0-1 knapsack per candidate center,
  ``ρ_j(u) = min Σ_i (c_ij − u_i) x_i  s.t.  Σ_i d_i x_i ≤ q``, solved exactly
  by a dynamic program over capacities, vectorised across centers, with only
  the items of negative reduced cost in each column; the fractional (LP)
  knapsack bounds every column first, so that the program runs only where a
  column can enter the ``k`` smallest.  With ``home``, column ``j`` holds its
  home unit: ``ρ_j(u) = c_{h_j j} − u_{h_j}`` plus the knapsack of the other
  units in the capacity ``q − d_{h_j}`` left (a stronger bound, still valid).
- :func:`repair_assignment` — a compiled (numba) local search that makes an
  assignment to fixed centers capacity-feasible and locally optimal (unit
  shifts and neighbour swaps), the centers' home units fixed at their
  centers; :func:`swap_search` and :func:`iterated_swaps` — the center-swap
  local search built on it.
- :func:`solve_gap` — the exact re-assignment of every unit to fixed centers
  (a generalised assignment problem) by HiGHS.
- :func:`cpmp_mip` — the CPMP MIP on a reduced set of centers and pairs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numba
import numpy as np

from terrakit.design._model import ArrayModel, solve_model

#: a unit shifts only to its this many nearest centers
SHIFT_CENTERS = 10
#: with a deadline, :func:`knapsacks` runs its table for this many cells
#: (columns × (capacity + 1)) at a time, so that what is done when the clock
#: stops it is kept
CHUNK_CELLS = 4_000_000

__all__ = [
    "GapResult",
    "cpmp_mip",
    "fractional_knapsacks",
    "iterated_swaps",
    "knapsacks",
    "lagrangian",
    "repair_assignment",
    "solve_gap",
    "swap_search",
]


def knapsacks(
    w: np.ndarray,
    d: np.ndarray,
    q: int,
    cols: np.ndarray | None = None,
    *,
    items: bool = False,
    home: np.ndarray | None = None,
    deadline: float | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Exact 0-1 knapsack values of the columns ``cols`` of ``w``.

    ``ρ_j = min Σ_i w_ij x_i  s.t.  Σ_i d_i x_i ≤ q`` (``d`` integer ≥ 0).
    Only items with ``w_ij < 0`` can help, so column ``j`` runs its own list
    of them; the lists are processed in lockstep (step ``t`` takes the
    ``t``-th item of every column), which vectorises the dynamic program
    across columns with depth ``max_j #{i : w_ij < 0}``.  ``home`` (one unit
    per column of ``w``, ``-1`` for none): item ``home[j]`` is forced into
    column ``j`` (an open center serves its own unit), the others share the
    capacity ``q − d[home[j]]`` left; ``inf`` when the home unit alone is
    above ``q``.  ``deadline`` (a :func:`time.perf_counter` time): the
    columns are taken in order, in chunks of about :data:`CHUNK_CELLS`
    table cells, and the program checks the clock at every item; the
    columns it has not finished when the clock passes ``deadline`` get
    ``nan`` (and no items).

    Returns
    -------
    values : ndarray, shape (len(cols),)
    chosen : ndarray of bool, shape (n, len(cols)), or None
        The items of one optimal knapsack per column (when ``items``).
    """
    n, m = w.shape
    cols = np.arange(m) if cols is None else np.asarray(cols, dtype=np.int64)
    if deadline is None:
        out = _knapsack_block(w, d, q, cols, items, home, None)
        assert out is not None
        return out
    values = np.full(cols.size, np.nan)
    chosen = np.zeros((n, cols.size), dtype=bool) if items else None
    step = max(1, CHUNK_CELLS // (q + 1))
    for at in range(0, cols.size, step):
        if time.perf_counter() >= deadline:
            break
        part = _knapsack_block(w, d, q, cols[at : at + step], items, home, deadline)
        if part is None:
            break
        values[at : at + step] = part[0]
        if chosen is not None and part[1] is not None:
            chosen[:, at : at + step] = part[1]
    return values, chosen


def _knapsack_block(
    w: np.ndarray,
    d: np.ndarray,
    q: int,
    cols: np.ndarray,
    items: bool,
    home: np.ndarray | None,
    deadline: float | None,
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """:func:`knapsacks` on the columns ``cols`` at once; None when the clock
    passes ``deadline`` before the program ends."""
    n = w.shape[0]
    wc = w[:, cols]
    mask = (wc < 0) & (d <= q)[:, None]
    mc = cols.size
    cap = np.full(mc, q, dtype=np.int64)
    base = np.zeros(mc)
    hs = np.zeros(0, dtype=np.int64)
    ar_h = np.zeros(0, dtype=np.int64)
    if home is not None:
        hc = np.asarray(home, dtype=np.int64)[cols]
        ar_h = np.flatnonzero(hc >= 0)
        hs = hc[ar_h]
        mask[hs, ar_h] = False  # the home unit is in, not a choice
        cap[ar_h] = q - np.asarray(d, dtype=np.int64)[hs]
        base[ar_h] = wc[hs, ar_h]
    over = cap < 0  # the home unit alone is above the capacity
    cap = np.maximum(cap, 0)
    counts = mask.sum(axis=0)
    depth = int(counts.max()) if counts.size else 0
    if depth == 0:
        vals0 = np.where(over, np.inf, base)
        if not items:
            return vals0, None
        chosen0 = np.zeros((n, mc), dtype=bool)
        chosen0[hs, ar_h] = True
        return vals0, chosen0
    order = np.argsort(~mask, axis=0, kind="stable")[:depth]  # depth × mc
    valid = np.arange(depth)[:, None] < counts[None, :]
    wt = np.where(valid, np.take_along_axis(wc, order, axis=0), 0.0)
    dd = np.where(valid, d[order], 0).astype(np.int64)
    v = np.zeros((mc, q + 1))
    caps = np.arange(q + 1)
    rows = np.arange(mc)[:, None]
    take = np.zeros((depth, mc, q + 1), dtype=bool) if items else None
    for t in range(depth):
        if deadline is not None and time.perf_counter() >= deadline:
            return None
        src = caps[None, :] - dd[t][:, None]
        ok = src >= 0
        cand = v[rows, np.maximum(src, 0)] + wt[t][:, None]
        better = ok & (cand < v)
        if take is not None:
            take[t] = better
        v = np.where(better, cand, v)
    chosen = None
    ar = np.arange(mc)
    value = np.where(over, np.inf, v[ar, cap] + base)
    if take is not None:
        chosen = np.zeros((n, mc), dtype=bool)
        chosen[hs, ar_h] = True
        left = cap.copy()
        for t in range(depth - 1, -1, -1):
            tk = take[t, ar, left]
            chosen[order[t, tk], ar[tk]] = True
            left = left - dd[t] * tk
    return value, chosen


@dataclass(frozen=True)
class GapResult:
    """An assignment of every unit to one of fixed centers."""

    columns: np.ndarray | None  # center index (into c's columns) per unit
    value: float
    optimal: bool


def solve_gap(
    c: np.ndarray,
    d: np.ndarray,
    q: float,
    centers: np.ndarray,
    *,
    time_limit: float,
    nearest: int | None = None,
    start: np.ndarray | None = None,
    seed: int = 0,
    cutoff: float | None = None,
    home: np.ndarray | None = None,
) -> GapResult:
    """Assign every unit to one of ``centers`` within capacity, at least cost.

    A generalised assignment MIP solved by HiGHS.  With ``nearest``, unit
    ``i`` may only use its ``nearest`` closest centers (plus its center in
    ``start``): a heuristic restriction.  ``cutoff``: stop early when the
    assignment cannot beat this value (HiGHS ``objective_bound``).
    ``home`` (the unit of every candidate column of ``c``, ``-1`` for none):
    each center's home unit is assigned to it.
    """
    centers = np.asarray(centers, dtype=np.int64)
    n = c.shape[0]
    kk = centers.size
    cs = c[:, centers]
    if nearest is not None and nearest < kk:
        near = np.argpartition(cs, nearest - 1, axis=1)[:, :nearest]
        allow = np.zeros((n, kk), dtype=bool)
        allow[np.arange(n)[:, None], near] = True
    else:
        allow = np.ones((n, kk), dtype=bool)
    pos = None
    if start is not None:
        lookup = {int(j): p for p, j in enumerate(centers.tolist())}
        pos = np.array([lookup.get(int(j), -1) for j in start])
        if np.all(pos >= 0):
            allow[np.arange(n), pos] = True
        else:
            pos = None
    if home is not None:
        hc = np.asarray(home, dtype=np.int64)[centers]
        ts = np.flatnonzero(hc >= 0)
        allow[hc[ts], :] = False  # an open center serves its own unit
        allow[hc[ts], ts] = True
    ii, jj = np.nonzero(allow)
    mdl = ArrayModel()
    mdl.add_vars(ii.size, cost=cs[ii, jj])
    mdl.add_rows(n, ii, np.arange(ii.size), 1.0, 1.0, 1.0)
    mdl.add_rows(kk, jj, np.arange(ii.size), d[ii], -math.inf, q)
    st = None
    if pos is not None:
        hit = pos[ii] == jj
        st = {int(t): float(hit[t]) for t in range(ii.size)}
    opts = {}
    if cutoff is not None and math.isfinite(cutoff):
        opts["objective_bound"] = float(cutoff)
    out = solve_model(
        mdl,
        time_limit=max(time_limit, 0.02),
        mip_gap=1e-9,
        seed=seed,
        start=st,
        options=opts or None,
    )
    if out.values is None:
        return GapResult(None, math.inf, False)
    x = out.values > 0.5
    cols = np.full(n, -1, dtype=np.int64)
    cols[ii[x]] = centers[jj[x]]
    if np.any(cols < 0):
        return GapResult(None, math.inf, False)
    value = float(c[np.arange(n), cols].sum())
    return GapResult(cols, value, out.status == "optimal" and nearest is None)


def cpmp_mip(
    c: np.ndarray,
    d: np.ndarray,
    q: float,
    k: int,
    keep: np.ndarray,
    *,
    time_limit: float,
    start: np.ndarray | None,
    seed: int = 0,
    threads: int | None = None,
    multipliers: list[np.ndarray] | None = None,
    options: dict | None = None,
    home: np.ndarray | None = None,
) -> tuple[np.ndarray | None, float, float, str]:
    """The CPMP MIP on the pairs ``keep`` (n × m bool), by HiGHS.

    ``x_ij`` for kept pairs, ``y_j`` for centers with a kept pair;
    ``Σ_j x_ij = 1``, ``Σ_j y_j = k``, ``Σ_i d_i x_ij ≤ q y_j`` and
    ``x_ij ≤ y_j``; with ``home`` (unit per column, ``-1`` for none) also
    ``x_{home_j, j} = y_j`` (a center whose own pair is not kept stays
    closed).  ``threads``: leave None in a process that has run HiGHS
    with its default (HiGHS keeps one thread pool per process and refuses a
    different size later).  ``start``: a warm start (center column per unit), used
    when all its pairs are kept.  ``multipliers``: for each ``u``, the
    Lagrangian cuts ``Σ_i (c_ij − u_i) x_ij ≥ ρ_j(u) y_j`` (valid because the
    units of an open center form a knapsack-feasible set).

    Returns
    -------
    tuple
        ``(columns, value, bound, status)``; columns None without a solution.
    """
    n, m = c.shape
    t0 = time.perf_counter()
    hm = None if home is None else np.asarray(home, dtype=np.int64)
    if hm is not None:
        has = hm >= 0
        own = np.zeros(m, dtype=bool)
        own[has] = keep[hm[has], np.flatnonzero(has)] & (d[hm[has]] <= q)
        keep = keep & (own | ~has)[None, :]
    js = np.flatnonzero(keep.any(axis=0))
    jpos = np.full(m, -1)
    jpos[js] = np.arange(js.size)
    ii, jj = np.nonzero(keep[:, js])
    nx = ii.size
    ny = js.size
    mdl = ArrayModel()
    mdl.add_vars(nx, cost=c[ii, js[jj]])
    mdl.add_vars(ny, cost=0.0)
    ax = np.arange(nx)
    # assignment
    mdl.add_rows(n, ii, ax, 1.0, 1.0, 1.0)
    # number of centers
    mdl.add_rows(1, np.zeros(ny, dtype=np.int64), nx + np.arange(ny), 1.0, k, k)
    # capacity: Σ d_i x_ij − q y_j ≤ 0
    mdl.add_rows(
        ny,
        np.concatenate([jj, np.arange(ny)]),
        np.concatenate([ax, nx + np.arange(ny)]),
        np.concatenate([d[ii].astype(float), np.full(ny, -float(q))]),
        -math.inf,
        0.0,
    )
    # x_ij ≤ y_j
    mdl.add_rows(
        nx,
        np.concatenate([ax, ax]),
        np.concatenate([ax, nx + jj]),
        np.concatenate([np.ones(nx), -np.ones(nx)]),
        -math.inf,
        0.0,
    )
    # an open center serves its own unit: x_{home_j, j} − y_j = 0
    hj = None if hm is None else hm[js]
    if hj is not None and (hj >= 0).any():
        ts = np.flatnonzero(hj >= 0)
        xpos = np.full((n, ny), -1, dtype=np.int64)
        xpos[ii, jj] = ax
        mdl.add_rows(
            ts.size,
            np.repeat(np.arange(ts.size), 2),
            np.column_stack([xpos[hj[ts], ts], nx + ts]).ravel(),
            np.tile([1.0, -1.0], ts.size),
            0.0,
            0.0,
        )
    # Lagrangian cuts: Σ_i (c_ij − u_i) x_ij ≥ ρ_j(u) y_j for each multiplier u
    for u in multipliers or []:
        w = np.where(keep, c - u[:, None], np.inf)[:, js]
        rho, _ = knapsacks(np.where(np.isfinite(w), w, 0.0), d, int(q), home=hj)
        mdl.add_rows(
            ny,
            np.concatenate([jj, np.arange(ny)]),
            np.concatenate([ax, nx + np.arange(ny)]),
            np.concatenate([w[ii, jj], -rho]),
            0.0,
            math.inf,
        )
    st = None
    if start is not None and np.all(keep[np.arange(n), start]):
        hit = js[jj] == start[ii]
        st = {int(t): float(hit[t]) for t in range(nx)}
        opened = np.zeros(ny)
        opened[jpos[np.unique(start)]] = 1.0
        st.update({nx + t: float(opened[t]) for t in range(ny)})
    out = solve_model(
        mdl,
        time_limit=max(time_limit - (time.perf_counter() - t0), 0.05),
        mip_gap=1e-9,
        seed=seed,
        start=st,
        threads=threads,
        options=options,
    )
    if out.values is None:
        return None, math.inf, out.bound, out.status
    x = out.values[:nx] > 0.5
    cols = np.full(n, -1, dtype=np.int64)
    cols[ii[x]] = js[jj[x]]
    if np.any(cols < 0):
        return None, math.inf, out.bound, out.status
    return cols, float(c[np.arange(n), cols].sum()), out.bound, out.status


@numba.njit(cache=True)
def _repair_kernel(
    cs: np.ndarray,
    d: np.ndarray,
    q: float,
    pos: np.ndarray,
    nb: np.ndarray,
    cn: np.ndarray,
    max_moves: int,
    fixed: np.ndarray,
) -> float:  # pragma: no cover - compiled
    n, k = cs.shape
    width = nb.shape[1]
    kn = cn.shape[1]
    load = np.zeros(k)
    for i in range(n):
        load[pos[i]] += d[i]
    pen = 10.0 * (np.abs(cs).max() + 1.0) * n
    for _ in range(max_moves):
        best = 0.0
        kind = 0
        bi = -1
        bj = -1
        for i in range(n):
            if fixed[i]:  # a center's own unit stays with it
                continue
            a = pos[i]
            ci = cs[i, a]
            la = load[a]
            oa = max(la - q, 0.0)
            oa_shift = max(la - d[i] - q, 0.0)
            for r in range(kn):
                j = cn[i, r]
                if j == a:
                    continue
                lj = load[j]
                delta = (
                    cs[i, j]
                    - ci
                    + pen * (oa_shift - oa + max(lj + d[i] - q, 0.0) - max(lj - q, 0.0))
                )
                if delta < best - 1e-9 * (1.0 + abs(best)):
                    best = delta
                    kind = 1
                    bi = i
                    bj = j
            for t in range(width):
                h = nb[i, t]
                b = pos[h]
                if b == a or fixed[h]:
                    continue
                dd = d[h] - d[i]
                lb = load[b]
                delta = (
                    cs[i, b]
                    + cs[h, a]
                    - ci
                    - cs[h, b]
                    + pen
                    * (
                        max(la + dd - q, 0.0)
                        - oa
                        + max(lb - dd - q, 0.0)
                        - max(lb - q, 0.0)
                    )
                )
                if delta < best - 1e-9 * (1.0 + abs(best)):
                    best = delta
                    kind = 2
                    bi = i
                    bj = h
        if kind == 0:
            break
        if kind == 1:
            load[pos[bi]] -= d[bi]
            load[bj] += d[bi]
            pos[bi] = bj
        else:
            a = pos[bi]
            b = pos[bj]
            load[a] += d[bj] - d[bi]
            load[b] += d[bi] - d[bj]
            pos[bi] = b
            pos[bj] = a
    total = 0.0
    for j in range(k):
        if load[j] > q + 1e-9:
            return np.inf
    for i in range(n):
        total += cs[i, pos[i]]
    return total


def repair_assignment(
    cs: np.ndarray,
    d: np.ndarray,
    q: float,
    pos: np.ndarray,
    *,
    nb: np.ndarray | None = None,
    max_moves: int = 1000,
    home: np.ndarray | None = None,
) -> tuple[np.ndarray | None, float]:
    """Local search on an assignment to fixed centers (columns of ``cs``).

    Best-improvement shifts (one unit to another center) and swaps (two
    units of different centers trade places) on cost plus a large penalty
    per unit of overload; ``pos`` may start overloaded.  A unit shifts only
    to its :data:`SHIFT_CENTERS` nearest centers.  ``nb`` (n × L unit
    indices): unit ``i`` only trades places with the units ``nb[i]`` (its
    neighbours); default: with every unit.  ``home`` (the unit of each
    column of ``cs``, ``-1`` for none): each center's own unit is put at it
    and never moves (an open center serves itself).  Compiled with numba.

    Returns ``(positions, cost)``; positions None when overload remains (or
    two centers sit in the same unit).
    """
    n, k = cs.shape
    p = np.array(pos, dtype=np.int64)
    fixed = np.zeros(n, dtype=np.bool_)
    if home is not None:
        hc = np.asarray(home, dtype=np.int64)
        ts = np.flatnonzero(hc >= 0)
        if np.unique(hc[ts]).size < ts.size:
            return None, math.inf
        p[hc[ts]] = ts
        fixed[hc[ts]] = True
    if nb is None:
        nb = np.broadcast_to(np.arange(n), (n, n))
    if k > SHIFT_CENTERS:
        cn = np.argpartition(cs, SHIFT_CENTERS - 1, axis=1)[:, :SHIFT_CENTERS]
    else:
        cn = np.broadcast_to(np.arange(k), (n, k))
    v = _repair_kernel(
        np.ascontiguousarray(cs, dtype=np.float64),
        np.ascontiguousarray(d, dtype=np.float64),
        float(q),
        p,
        np.ascontiguousarray(nb, dtype=np.int64),
        np.ascontiguousarray(cn, dtype=np.int64),
        int(max_moves),
        fixed,
    )
    if not math.isfinite(v):
        return None, math.inf
    return p, float(v)


def _locations(c: np.ndarray, home: np.ndarray | None) -> np.ndarray:
    """The unit where each candidate center sits: its home unit, else the
    unit nearest to it."""
    loc = np.argmin(c, axis=0)
    if home is None:
        return loc
    hm = np.asarray(home, dtype=np.int64)
    return np.where(hm >= 0, hm, loc)


def _at(home: np.ndarray | None, centers: np.ndarray) -> np.ndarray | None:
    """The home units of ``centers`` (None without homes)."""
    return None if home is None else np.asarray(home, dtype=np.int64)[centers]


def swap_search(
    c: np.ndarray,
    d: np.ndarray,
    q: float,
    centers: np.ndarray,
    pos: np.ndarray,
    *,
    deadline: float,
    rng: np.random.Generator,
    width: int = 10,
    nb: np.ndarray | None = None,
    active: np.ndarray | None = None,
    home: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Center swaps (close ``centers[t]``, open ``b``) with the assignment
    repaired by :func:`repair_assignment` (``home``: the unit of every
    candidate column, which an open center keeps; see there).

    For each ``t``, the ``width`` candidates ``b`` that are best without
    capacities are tried and the best repaired one is taken if it improves
    (first improvement over ``t``).  ``active`` (bool per ``t``, "don't look
    bits"): only these are examined; a ``t`` without an improving swap goes
    inactive, an improving swap wakes up ``t`` and the centers nearest to the
    old and the new center.
    """
    n, m = c.shape
    ar = np.arange(n)
    centers = np.asarray(centers, dtype=np.int64).copy()
    pos = np.asarray(pos, dtype=np.int64).copy()
    value = float(c[ar, centers[pos]].sum())
    k = centers.size
    loc = _locations(c, home)
    act = np.ones(k, dtype=bool) if active is None else active.copy()
    wake = min(k, 4)
    while time.perf_counter() < deadline and act.any():
        cc = c[:, centers]
        t = int(rng.choice(np.flatnonzero(act)))
        rest = np.delete(cc, t, axis=1)
        mi = rest.min(axis=1) if k > 1 else np.full(n, np.inf)
        score = np.minimum(mi[:, None], c).sum(axis=0)
        score[centers] = np.inf
        cand = np.argsort(score, kind="stable")[: min(width, m - k)]
        best_v, best_c, best_p = value, None, None
        mine = pos == t
        for b in cand:
            new_c = centers.copy()
            new_c[t] = b
            start = pos.copy()
            start[mine] = np.argmin(c[np.ix_(mine, new_c)], axis=1)
            p, v = repair_assignment(
                c[:, new_c], d, q, start, nb=nb, home=_at(home, new_c)
            )
            if p is not None and v < best_v - 1e-9 * max(1.0, abs(best_v)):
                best_v, best_c, best_p = v, new_c, p
        if best_c is None or best_p is None:
            act[t] = False
            continue
        old = centers[t]
        value, centers, pos = best_v, best_c, best_p
        # wake t and the centers nearest to the closed and the opened one
        for j in (old, centers[t]):
            near = np.argsort(c[loc[j], centers], kind="stable")
            act[near[:wake]] = True
        act[t] = True
    return centers, pos, value


def iterated_swaps(
    c: np.ndarray,
    d: np.ndarray,
    q: float,
    centers: np.ndarray,
    pos: np.ndarray,
    *,
    deadline: float,
    seed: int = 0,
    width: int = 10,
    target: float = -math.inf,
    nb: np.ndarray | None = None,
    stall: int | None = None,
    home: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """:func:`swap_search` restarted from random double swaps of the best
    answer (iterated local search) until ``deadline``, ``target`` or ``stall``
    rounds in a row without improvement.  ``home``: as in
    :func:`swap_search`.  Returns ``(centers, positions, value, rounds)``."""
    rng = np.random.default_rng(seed)
    m = c.shape[1]
    loc = _locations(c, home)
    centers, pos, value = swap_search(
        c,
        d,
        q,
        centers,
        pos,
        deadline=deadline,
        rng=rng,
        width=width,
        nb=nb,
        home=home,
    )
    best = (value, centers, pos)
    rounds = 0
    since = 0
    k = centers.size
    while time.perf_counter() < deadline and best[0] > target + 1e-9 and m > k:
        if stall is not None and since >= stall:
            break
        rounds += 1
        since += 1
        cen = best[1].copy()
        outside = np.setdiff1d(np.arange(m), cen)
        t = rng.choice(k, size=min(2, k, outside.size), replace=False)
        cen[t] = rng.choice(outside, size=t.size, replace=False)
        p0 = best[2].copy()
        moved = np.isin(p0, t)
        p0[moved] = np.argmin(c[np.ix_(moved, cen)], axis=1)
        p, v = repair_assignment(c[:, cen], d, q, p0, nb=nb, home=_at(home, cen))
        if p is None:
            continue
        act = np.zeros(k, dtype=bool)
        for j in cen[t]:
            act[np.argsort(c[loc[j], cen], kind="stable")[:4]] = True
        act[t] = True
        cen, p, v = swap_search(
            c,
            d,
            q,
            cen,
            p,
            deadline=deadline,
            rng=rng,
            width=width,
            nb=nb,
            active=act,
            home=home,
        )
        if v < best[0] - 1e-9 * max(1.0, abs(best[0])):
            best = (v, cen, p)
            since = 0
    return best[1], best[2], best[0], rounds


def fractional_knapsacks(
    w: np.ndarray, d: np.ndarray, q: float, home: np.ndarray | None = None
) -> np.ndarray:
    """LP relaxation of every column's knapsack (a lower bound of
    :func:`knapsacks`): items by increasing ``w_ij / d_i``, the last one
    fractional.  ``home``: as in :func:`knapsacks` (the home unit forced in,
    the others in the capacity it leaves)."""
    dd = np.asarray(d, dtype=float)
    m = w.shape[1]
    qq = np.full(m, float(q))
    head = np.zeros(m)
    if home is not None:
        hm = np.asarray(home, dtype=np.int64)
        ar = np.flatnonzero(hm >= 0)
        hs = hm[ar]
        head[ar] = w[hs, ar]
        w = w.copy()
        w[hs, ar] = 0.0  # in already, not a choice
        qq[ar] = q - dd[hs]
    neg = w < 0
    free = neg & (dd == 0)[:, None]
    base = np.where(free, w, 0.0).sum(axis=0)
    use = neg & (dd > 0)[:, None]
    ratio = np.where(use, w / np.maximum(dd, 1e-300)[:, None], 0.0)
    order = np.argsort(ratio, axis=0, kind="stable")
    ws = np.take_along_axis(np.where(use, w, 0.0), order, axis=0)
    ds = np.where(np.take_along_axis(use, order, axis=0), dd[order], 0.0)
    cum = np.cumsum(ds, axis=0)
    prev = cum - ds
    frac = np.clip((qq[None, :] - prev) / np.where(ds > 0, ds, 1.0), 0.0, 1.0)
    frac = np.where(ds > 0, frac, 0.0)
    return np.where(qq < 0, np.inf, head + base + (ws * frac).sum(axis=0))


def lagrangian(
    c: np.ndarray,
    d: np.ndarray,
    q: int,
    k: int,
    u: np.ndarray,
    *,
    chunk: int = 16,
    exact: bool = True,
    home: np.ndarray | None = None,
    deadline: float | None = None,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The Lagrangian bound ``Σ u + Σ_{k smallest} ρ_j(u)`` at ``u``.

    Every column gets the cheap fractional bound; the exact knapsack is
    computed, in chunks and in increasing order of that bound, only until no
    column left can enter the ``k`` smallest.  ``home``: each column's own
    unit, forced into its knapsack (:func:`knapsacks`).  ``deadline`` (a
    :func:`time.perf_counter` time): when the clock passes it, the columns
    not yet computed keep their fractional bound (the value is still a
    bound, a weaker one) and the items of a column of ``S`` that is not
    exact are its items of negative reduced cost.  Returns ``(value, S,
    items, rho, exact)``: the chosen columns, their items (n × k bool), the
    per-column lower bounds used (exact where ``exact``).
    """
    m = c.shape[1]
    w = c - u[:, None]
    rho = fractional_knapsacks(w, d, q, home)
    if not exact:  # the LP bound only (capacities too large for the table)
        s = np.argsort(rho, kind="stable")[:k]
        items = (w[:, s] < 0) & (np.asarray(d)[:, None] <= q)
        hs = _at(home, s)
        if hs is not None:
            items[hs[hs >= 0], np.flatnonzero(hs >= 0)] = True
        return float(u.sum() + rho[s].sum()), s, items, rho, np.zeros(m, bool)
    is_exact = np.zeros(m, dtype=bool)
    order = np.argsort(rho, kind="stable")
    done = 0
    while done < m:
        cols = order[done : done + max(chunk, k)]
        vals, _ = knapsacks(w, d, q, cols, home=home, deadline=deadline)
        ok = ~np.isnan(vals)  # all, but where the deadline stopped it
        rho[cols[ok]] = np.maximum(vals[ok], rho[cols[ok]])
        is_exact[cols[ok]] = True
        done += cols.size
        if not ok.all():
            break
        ne = int(is_exact.sum())
        if ne >= k and done < m:
            kth = np.partition(rho[is_exact], k - 1)[k - 1]
            if kth <= rho[order[done]]:
                break
    s = np.argsort(rho, kind="stable")[:k]
    # without a deadline, the k smallest are exact: no inexact column is
    # below the k-th exact one
    vs, items = knapsacks(w, d, q, s, items=True, home=home, deadline=deadline)
    assert items is not None
    late = ~is_exact[s] | np.isnan(vs)
    if late.any():  # the clock stopped the program: the LP's items
        items[:, late] = (w[:, s[late]] < 0) & (np.asarray(d)[:, None] <= q)
        hs = _at(home, s)
        if hs is not None:
            js = np.flatnonzero(late & (hs >= 0))
            items[hs[js], js] = True
    return float(u.sum() + rho[s].sum()), s, items, rho, is_exact

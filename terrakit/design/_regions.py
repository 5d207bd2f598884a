"""Band repair by re-partitioning regions of adjacent territories (numba).

The boundary repairs of :mod:`terrakit.design._search` (single moves, flows
on the territory graph, the boundary balancing LP, annealing) move units
across territory borders and keep every territory's root.  They are stuck
when all the movable units of an out-of-band territory are heavier than the
slack of every neighbour: measured on the US counties (100 territories,
±3 % population, after the blocking split), San Bernardino County (2.04 M
people, the root) and Clark County NV (1.95 M) in one territory (+29 %),
whose neighbours had at most 0.21 M of room; Manhattan (1.59 M) in a
territory rooted in Union County NJ (+15.5 %, neighbours' room ≤ 95 k);
Middlesex, Norfolk and Suffolk MA (0.67–1.5 M) in one territory (+6.8 %).
Getting out needs a new center and the neighbours cut differently.

:func:`repartition_regions` does that, as a merge–split local search on the
band violation (the recombination move of ReCom, steered by the bands):

1. take the territory with the largest violation and grow a *region* of
   adjacent territories around it, adding each time the neighbour that
   brings the region's total closest to ``g × the band's middle``;
2. for ``g ≥ 2``, cut the region's units afresh into ``g`` connected parts
   many times (:func:`partition_samples`: recursive bisection of random
   spanning trees, each cut the tree edge whose two sides' per-territory
   means lie deepest inside the band), keep the least total violation;
3. if that is below the region's violation now, the region is replaced
   (each part takes its cheapest candidate center among its own units;
   among equally good partitions the cheapest), else the region grows.

Territories outside the region do not change, so the total violation falls
with every accepted move.  The rest of the engine (polish by boundary
moves) then lowers the cost again.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np
import scipy.sparse as sp

from terrakit.design._search import SearchSpace

__all__ = ["partition_samples", "repartition_regions", "tree_partition"]


@numba.njit(cache=True)
def _find(parent: np.ndarray, x: int) -> int:  # pragma: no cover - compiled
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@numba.njit(cache=True)
def kruskal(
    n: int, eu: np.ndarray, ev: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:  # pragma: no cover - compiled
    """Kruskal's spanning forest of the edges ``(eu, ev)`` of an ``n``-node
    graph taken in ``order`` (a random order: a random spanning tree).
    Returns its adjacency ``(ptr, nbr)`` (CSR) and its number of edges."""
    uf = np.arange(n)
    t_u = np.empty(max(n - 1, 0), dtype=np.int64)
    t_v = np.empty(max(n - 1, 0), dtype=np.int64)
    nt = 0
    for e in order:
        if nt == n - 1:
            break
        ra, rb = _find(uf, eu[e]), _find(uf, ev[e])
        if ra != rb:
            uf[ra] = rb
            t_u[nt] = eu[e]
            t_v[nt] = ev[e]
            nt += 1
    ptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(nt):
        ptr[t_u[e] + 1] += 1
        ptr[t_v[e] + 1] += 1
    for j in range(n):
        ptr[j + 1] += ptr[j]
    fill = ptr[:-1].copy()
    nbr = np.empty(2 * nt, dtype=np.int64)
    for e in range(nt):
        nbr[fill[t_u[e]]] = t_v[e]
        fill[t_u[e]] += 1
        nbr[fill[t_v[e]]] = t_u[e]
        fill[t_v[e]] += 1
    return ptr, nbr, nt


@numba.njit(cache=True)
def _partition(
    n: int,
    eu: np.ndarray,
    ev: np.ndarray,
    act: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    width: np.ndarray,
    cen: np.ndarray,
    g: int,
    labels: np.ndarray,
) -> float:  # pragma: no cover - compiled
    """One recursive spanning-tree partition into ``g`` parts; returns the
    total violation ``Σ_parts Σ_a (over + under) / width`` (``inf`` when a
    piece had no valid cut: disconnected, or no center on one side)."""
    na = act.shape[1]
    piece = np.zeros(n, dtype=np.int64)
    h_of = np.zeros(2 * g + 2, dtype=np.int64)
    h_of[0] = g
    n_pieces = 1
    stack = np.zeros(2 * g + 2, dtype=np.int64)
    top = 1
    nxt = 0
    total = 0.0
    pos = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        labels[i] = -1
    while top > 0:
        top -= 1
        p = stack[top]
        h = h_of[p]
        nodes = np.flatnonzero(piece == p)
        ni = len(nodes)
        if h == 1:
            s = np.zeros(na)
            has_c = False
            for node in nodes:
                labels[node] = nxt
                s += act[node]
                if cen[node]:
                    has_c = True
            nxt += 1
            for a in range(na):
                total += (max(s[a] - hi[a], 0.0) + max(lo[a] - s[a], 0.0)) / width[a]
            if not has_c:
                return np.inf
            continue
        for j in range(ni):
            pos[nodes[j]] = j
        # edges inside the piece, random order: Kruskal = random spanning tree
        m_in = 0
        for e in range(len(eu)):
            if piece[eu[e]] == p and piece[ev[e]] == p:
                m_in += 1
        le_u = np.empty(m_in, dtype=np.int64)
        le_v = np.empty(m_in, dtype=np.int64)
        c = 0
        for e in range(len(eu)):
            if piece[eu[e]] == p and piece[ev[e]] == p:
                le_u[c] = pos[eu[e]]
                le_v[c] = pos[ev[e]]
                c += 1
        order_e = np.argsort(np.random.random(m_in))  # noqa: NPY002
        ptr, nbr, nt = kruskal(ni, le_u, le_v, order_e)
        if nt < ni - 1:
            return np.inf  # the piece is not connected
        start = np.random.randint(ni)  # noqa: NPY002
        order = np.empty(ni, dtype=np.int64)
        parent = np.full(ni, -1, dtype=np.int64)
        seen = np.zeros(ni, dtype=np.bool_)
        order[0] = start
        seen[start] = True
        head, tail = 0, 1
        while head < tail:
            u = order[head]
            head += 1
            for q in range(ptr[u], ptr[u + 1]):
                v = nbr[q]
                if not seen[v]:
                    seen[v] = True
                    parent[v] = u
                    order[tail] = v
                    tail += 1
        sub = np.zeros((ni, na))
        csub = np.zeros(ni, dtype=np.int64)
        for j in range(ni):
            sub[j] = act[nodes[j]]
            csub[j] = 1 if cen[nodes[j]] else 0
        for r in range(ni - 1, 0, -1):
            v = order[r]
            sub[parent[v]] += sub[v]
            csub[parent[v]] += csub[v]
        tot = sub[start]
        best, bv, bg = -np.inf, -1, -1
        for r in range(1, ni):
            v = order[r]
            if csub[v] == 0 or csub[start] - csub[v] == 0:
                continue
            for g1 in range(1, h):
                marg = np.inf
                for a in range(na):
                    left = sub[v, a] / g1
                    right = (tot[a] - sub[v, a]) / (h - g1)
                    mm = min(
                        min(left - lo[a], hi[a] - left),
                        min(right - lo[a], hi[a] - right),
                    )
                    marg = min(marg, mm / width[a])
                marg += 1e-3 * np.random.random()  # noqa: NPY002
                if marg > best:
                    best, bv, bg = marg, v, g1
        if bv < 0:
            return np.inf
        inside = np.zeros(ni, dtype=np.bool_)
        inside[bv] = True
        for r in range(ni):
            u = order[r]
            if u != bv and u != start and inside[parent[u]]:
                inside[u] = True
        q1, q2 = n_pieces, n_pieces + 1
        n_pieces += 2
        for j in range(ni):
            piece[nodes[j]] = q1 if inside[j] else q2
        h_of[q1] = bg
        h_of[q2] = h - bg
        stack[top] = q1
        stack[top + 1] = q2
        top += 2
    return total


@numba.njit(cache=True)
def _samples(
    n: int,
    eu: np.ndarray,
    ev: np.ndarray,
    act: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    width: np.ndarray,
    cen: np.ndarray,
    g: int,
    n_samples: int,
    keep: int,
    seed: int,
    out: np.ndarray,
    out_v: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """``n_samples`` partitions; the ``keep`` with least violation go to
    ``out`` / ``out_v`` (sorted); returns how many were kept."""
    # numba's own generator (legacy API inside compiled code), seeded from
    # the caller's numpy Generator: reproducible for a fixed seed
    np.random.seed(seed)  # noqa: NPY002
    lab = np.empty(n, dtype=np.int64)
    kept = 0
    for _ in range(n_samples):
        v = _partition(n, eu, ev, act, lo, hi, width, cen, g, lab)
        if not np.isfinite(v):
            continue
        if kept < keep:
            j = kept
            kept += 1
        elif v < out_v[kept - 1]:
            j = kept - 1
        else:
            continue
        while j > 0 and out_v[j - 1] > v:
            out_v[j] = out_v[j - 1]
            out[j] = out[j - 1]
            j -= 1
        out_v[j] = v
        out[j] = lab
    return kept


def _band_arrays(
    act: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finite band ends (a missing side becomes far away) and band widths."""
    big = 1e3 * np.maximum(np.abs(act).sum(axis=0), 1.0)
    lo = np.where(np.isfinite(lower), lower, -big).astype(float)
    hi = np.where(np.isfinite(upper), upper, big).astype(float)
    width = np.maximum(hi - lo, 1e-12 * np.maximum(np.abs(act).sum(axis=0), 1.0))
    return lo, hi, width


def partition_samples(
    adjacency: sp.spmatrix | sp.sparray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    g: int,
    rng: np.random.Generator,
    *,
    has_center: np.ndarray | None = None,
    n_samples: int = 200,
    keep: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a connected graph into ``g`` connected parts, many times.

    Parameters
    ----------
    adjacency
        ``r × r`` adjacency of the units (symmetric or one triangle).
    activities
        ``r × a`` activities (or ``r``).
    lower, upper
        One band (``a``) for every part.
    g
        Number of parts.
    rng
        Seeds the compiled sampler.
    has_center
        Units that can be a part's center; every part must hold one
        (``None``: any unit).
    n_samples, keep
        Partitions drawn; the ``keep`` with the least violation returned.

    Returns
    -------
    labels, violation
        ``(kept × r)`` part labels ``0..g-1`` and each one's total violation
        ``Σ_parts Σ_a (over + under) / (upper − lower)`` (0: every part in
        its band), least first; empty when no sample was valid.

    Notes
    -----
    Recursive bisection of random spanning trees (Kruskal on edges in random
    order): a piece that must hold ``h`` territories is cut at the tree edge
    ``(v, parent v)`` and split ``g₁ : h − g₁`` for which the smaller of the
    margins of ``S_v / g₁`` and ``(S − S_v) / (h − g₁)`` inside the band (in
    band widths, over the activities) is largest; both sides are subtrees,
    so connected, and are cut in turn.
    """
    r = adjacency.shape[0]
    act = np.asarray(activities, dtype=float).reshape(r, -1)
    a = sp.triu(sp.csr_matrix(adjacency) + sp.csr_matrix(adjacency).T, k=1).tocoo()
    lo, hi, width = _band_arrays(act, np.asarray(lower), np.asarray(upper))
    cen = np.ones(r, dtype=np.bool_) if has_center is None else has_center
    out = np.empty((keep, r), dtype=np.int64)
    out_v = np.full(keep, np.inf)
    kept = _samples(
        r,
        a.row.astype(np.int64),
        a.col.astype(np.int64),
        np.ascontiguousarray(act),
        lo,
        hi,
        width,
        np.asarray(cen, dtype=np.bool_),
        int(g),
        int(n_samples),
        int(keep),
        int(rng.integers(2**31 - 1)),
        out,
        out_v,
    )
    return out[:kept], out_v[:kept]


def tree_partition(
    adjacency: sp.spmatrix | sp.sparray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    g: int,
    rng: np.random.Generator,
    *,
    has_center: np.ndarray | None = None,
    n_samples: int = 1000,
) -> np.ndarray | None:
    """A partition into ``g`` connected parts, each within the band, or
    ``None`` when :func:`partition_samples` finds none in ``n_samples``."""
    labs, viol = partition_samples(
        adjacency,
        activities,
        lower,
        upper,
        g,
        rng,
        has_center=has_center,
        n_samples=n_samples,
        keep=1,
    )
    if len(viol) == 0 or viol[0] > 1e-9:
        return None
    return labs[0]


def repartition_regions(
    labels: np.ndarray,
    space: SearchSpace,
    cost_all: np.ndarray,
    center_units: np.ndarray,
    centers: np.ndarray,
    rng: np.random.Generator,
    *,
    frozen: np.ndarray | None = None,
    max_territories: int = 8,
    max_units: int = 2000,
    n_samples: int = 400,
    max_tries: int = 6,
    deadline: float = math.inf,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Lower the band violation by re-partitioning regions of territories.

    Parameters
    ----------
    labels
        Territory ``0..k-1`` per unit, every territory connected.
    space
        Its ``adjacency`` (``n × n``, required), ``n × a`` activities and
        ``k × a`` bands are used; its cost, locks and roots are not (the
        centers change here: ``cost_all``, ``centers`` and ``frozen`` say
        what the regions may do).
    cost_all
        ``n × m`` cost of each unit at each candidate center column.
    center_units
        Unit of each candidate column (``m``).
    centers
        Column of each territory (``k``); its unit lies in the territory.
    rng
        Random spanning trees.
    frozen
        Units that must keep their territory (user locks): territories
        holding one are never re-partitioned.
    max_territories, max_units
        Largest region tried.
    n_samples
        Partitions drawn per region.
    max_tries
        Regions grown around one territory (the first greedily, the others
        drawn at random) before it is skipped.
    deadline
        ``time.perf_counter()`` value to stop at.

    Returns
    -------
    labels, centers, notes
        New labels and center columns (changed only in re-partitioned
        regions; every territory connected and holding its center) and one
        note per accepted region.

    Notes
    -----
    Only territories sharing the band of the worst territory join its region
    (the parts are interchangeable).  A region is accepted when the least
    total violation among the sampled partitions is below the region's now;
    the partition and centers kept are the cheapest
    (``Σ_parts min_{j ∈ part} Σ_{i ∈ part} cost[i, j]``) among the sampled
    ones with that least violation.  A territory whose regions up to
    ``max_territories`` bring no improvement is skipped until a region
    next to it is accepted.
    """
    if space.adjacency is None:
        raise ValueError("repartition_regions needs space.adjacency")
    lower, upper = space.lower, space.upper
    labels = np.asarray(labels).copy()
    centers = np.asarray(centers).copy()
    n = len(labels)
    k = lower.shape[0]
    act = np.asarray(space.activities, dtype=float).reshape(n, -1)
    adj = sp.csr_matrix(space.adjacency)
    adj = ((adj + adj.T) != 0).astype(np.float64).tocsr()
    col_of = np.full(n, -1, dtype=np.int64)
    col_of[np.asarray(center_units, dtype=np.int64)] = np.arange(len(center_units))
    blocked = np.zeros(k, dtype=bool)
    if frozen is not None and frozen.any():
        blocked[np.unique(labels[frozen])] = True
    coo = sp.triu(adj, k=1).tocoo()
    eu, ev = coo.row, coo.col
    notes: list[str] = []
    tried: set[int] = set()
    fails = np.zeros(k, dtype=np.int64)

    def viol_of(sums: np.ndarray) -> np.ndarray:
        out = np.zeros(k)
        for t in range(k):
            lo, hi, w = _band_arrays(act, lower[t], upper[t])
            out[t] = float(
                ((np.maximum(sums[t] - hi, 0) + np.maximum(lo - sums[t], 0)) / w).sum()
            )
        return out

    while time.perf_counter() < deadline:
        sums = np.zeros((k, act.shape[1]))
        np.add.at(sums, labels, act)
        viol = viol_of(sums)
        bad = [
            int(t) for t in np.argsort(-viol) if viol[t] > 1e-9 and int(t) not in tried
        ]
        if not bad:
            break
        t0 = bad[0]
        fails[t0] += 1
        if fails[t0] >= max_tries:
            tried.add(t0)
        if blocked[t0]:
            continue
        same = np.all(
            (lower == lower[t0]) | (np.isinf(lower) & np.isinf(lower[t0])), axis=1
        ) & np.all(
            (upper == upper[t0]) | (np.isinf(upper) & np.isinf(upper[t0])), axis=1
        )
        lo0, hi0, _w = _band_arrays(act, lower[t0], upper[t0])
        mid = (lo0 + hi0) / 2
        scale = np.maximum(np.abs(act).sum(axis=0) / k, 1e-12)
        cut = labels[eu] != labels[ev]
        ta, tb = labels[eu[cut]], labels[ev[cut]]
        tadj = sp.csr_matrix(
            (np.ones(2 * len(ta)), (np.r_[ta, tb], np.r_[tb, ta])), shape=(k, k)
        )
        used = np.zeros(cost_all.shape[1], dtype=bool)
        used[centers] = True
        region = [t0]
        in_region = np.zeros(k, dtype=bool)
        in_region[t0] = True
        while len(region) < max_territories and time.perf_counter() < deadline:
            g = len(region)
            tot = sums[region].sum(axis=0)
            nb = np.unique(tadj[region].indices)
            nb = nb[~in_region[nb] & same[nb] & ~blocked[nb]]
            if len(nb) == 0:
                break
            dev = (np.abs((tot + sums[nb]) - (g + 1) * mid) / scale).sum(axis=1)
            # the first try of a territory grows greedily; later tries draw
            # among the neighbours, the closer to the middle the likelier
            if fails[t0] <= 1:
                pick = int(nb[np.argmin(dev)])
            else:
                w = np.exp(-(dev - dev.min()) / max(float(np.median(dev)), 1e-12))
                pick = int(rng.choice(nb, p=w / w.sum()))
            region.append(pick)
            in_region[pick] = True
            members = np.flatnonzero(in_region[labels])
            if len(members) > max_units:
                break
            now_v = float(viol[region].sum())
            mcol = col_of[members]
            # columns of territories outside the region stay taken
            taken = used.copy()
            taken[centers[region]] = False
            has_c = (mcol >= 0) & ~taken[np.maximum(mcol, 0)]
            labs, vs = partition_samples(
                adj[members][:, members],
                act[members],
                lower[t0],
                upper[t0],
                len(region),
                rng,
                has_center=has_c,
                n_samples=n_samples,
            )
            if len(vs) == 0 or vs[0] >= now_v - 1e-9:
                continue
            best: tuple[float, np.ndarray, np.ndarray] | None = None
            for lab, v in zip(labs, vs, strict=True):
                if v > vs[0] + 1e-9:
                    break
                cols, c = _part_centers(
                    lab, len(region), members, mcol, has_c, cost_all
                )
                if np.isfinite(c) and (best is None or c < best[0]):
                    best = (c, lab, cols)
            if best is None:
                continue
            reg = np.asarray(region)
            old = float(cost_all[members, centers[labels[members]]].sum())
            labels[members] = reg[best[1]]
            centers[reg] = best[2]
            notes.append(
                f"region of {len(region)} territories ({len(members)} units) "
                f"around territory {t0} re-partitioned: violation "
                f"{now_v:.3g} → {vs[0]:.3g} band widths, cost {old:.6g} → "
                f"{best[0]:.6g}"
            )
            # territories near the change may have a way out now
            near = np.unique(tadj[region].indices)
            tried.difference_update(region)
            tried.difference_update(near.tolist())
            fails[region] = 0
            fails[near] = 0
            break
    return labels, centers, notes


def _part_centers(
    part: np.ndarray,
    g: int,
    members: np.ndarray,
    mcol: np.ndarray,
    has_c: np.ndarray,
    cost_all: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Each part's cheapest candidate column among its own units, and the
    total cost (``inf`` when a part has no finite-cost center)."""
    cols = np.full(g, -1, dtype=np.int64)
    total = 0.0
    for p in range(g):
        idx = np.flatnonzero(part == p)
        cand = mcol[idx][has_c[idx]]
        if len(cand) == 0:
            return cols, math.inf
        c = cost_all[np.ix_(members[idx], cand)].sum(axis=0)
        j = int(np.argmin(c))
        if not np.isfinite(c[j]):
            return cols, math.inf
        cols[p] = cand[j]
        total += float(c[j])
    return cols, total

"""Local search for the graph objectives: cut edges and largest diameter.

Simulated annealing over boundary moves (a unit joins the territory of one of
its neighbours), with the band violation as a penalty whose weight grows
during the run, territories kept connected (local articulation check), and the
best *feasible* labelling (zero violation) kept.

- ``cut_edges``: the number of edges between territories (districting).
- ``diameter``: the largest whole-graph shortest-path distance between two
  units of the same territory (dtdp); ties broken by the sum of diameters.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from terrakit.design._search import Neighbours, removable


@dataclass
class SearchOutcome:
    """Best labels found, their objective, and whether they are feasible."""

    labels: np.ndarray
    value: float
    feasible: bool
    iterations: int


def _viol(s: np.ndarray, lo: np.ndarray, hi: np.ndarray, w: np.ndarray) -> float:
    return float(((np.maximum(s - hi, 0.0) + np.maximum(lo - s, 0.0)) / w).sum())


def grow_partition(
    nbrs: Neighbours,
    activities: np.ndarray,
    k: int,
    rng: np.random.Generator,
    seeds: np.ndarray | None = None,
) -> np.ndarray:
    """Random contiguous partition grown from ``k`` seeds, smallest first.

    The territory with the smallest normalised activity takes a random
    unassigned neighbour; territories with no free neighbour stop.  Units
    left (other graph components) join a random territory.
    """
    n = len(nbrs)
    labels = np.full(n, -1, dtype=np.int64)
    if seeds is None:
        seeds = rng.choice(n, size=k, replace=False)
    norm = activities.sum(axis=0)
    norm[norm == 0] = 1.0
    load = np.zeros(k)
    frontier: list[set[int]] = []
    for t, s in enumerate(np.asarray(seeds).tolist()):
        labels[s] = t
        load[t] = float((activities[s] / norm).sum())
    for s in np.asarray(seeds).tolist():
        frontier.append({v for v in nbrs[s] if labels[v] < 0})
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
            if labels[w] < 0:
                f.add(w)
    rest = np.flatnonzero(labels < 0)
    labels[rest] = rng.integers(0, k, size=len(rest))
    return labels


def anneal(
    labels: np.ndarray,
    nbrs: Neighbours,
    edges: np.ndarray,
    activities: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    objective: str,
    rng: np.random.Generator,
    deadline: float,
    dist: np.ndarray | None = None,
    contiguity: bool = True,
    locked: np.ndarray | None = None,
    t_start: float = 1.0,
    t_end: float = 0.02,
    penalty: float = 2.0,
    max_iter: int = 10**9,
    cost: np.ndarray | None = None,
) -> SearchOutcome:
    """Simulated annealing on ``objective + penalty · violation``.

    ``violation`` is measured in multiples of each band's width, so a unit of
    violation is comparable across activities.  The temperature falls
    geometrically from ``t_start`` to ``t_end`` (in objective units: cut edges,
    or a share of the graph diameter for ``"diameter"``) over the time left.
    """
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

    if objective == "diameter":
        if dist is None:
            raise ValueError("objective='diameter' needs the distance matrix")
        scale = float(dist[np.isfinite(dist)].max()) or 1.0
        masks = np.zeros((k, n), dtype=bool)
        masks[labels, np.arange(n)] = True
        diam = np.array(
            [
                float(dist[np.ix_(masks[t], masks[t])].max()) if counts[t] > 1 else 0.0
                for t in range(k)
            ]
        )

        def value_of(d: np.ndarray) -> float:
            return float(d.max() + 0.02 * d.sum() / k) / scale * 100.0

        cur_obj = value_of(diam)
    elif objective == "cost":
        if cost is None:
            raise ValueError("objective='cost' needs the cost matrix")
        scale = float(cost[np.arange(n), labels].mean()) or 1.0
        cur_obj = float(cost[np.arange(n), labels].sum()) / scale
    else:
        scale = 1.0
        cur_obj = float(np.count_nonzero(labels[ei] != labels[ej]))
    viol_t = np.array([_viol(sums[t], lower[t], upper[t], width[t]) for t in range(k)])
    pen = penalty
    best_labels = labels.copy()
    best_feasible = bool(viol_t.sum() <= 1e-12)
    best_value = (
        _true_value(labels, edges, objective, dist, k, cost)
        if best_feasible
        else math.inf
    )
    best_score = (
        0 if best_feasible else 1,
        best_value if best_feasible else float(viol_t.sum()),
    )

    start = time.perf_counter()
    span = max(deadline - start, 1e-3)
    by_iter = max_iter < 10**9  # an iteration budget makes runs reproducible
    temp = t_start
    batch = rng.integers(0, n_edges, size=4096)
    unif = rng.random(4096)
    bpos = 0
    it = 0
    while it < max_iter:
        it += 1
        if it % 256 == 0:
            now = time.perf_counter()
            if now >= deadline:
                break
            frac = it / max_iter if by_iter else (now - start) / span
            temp = t_start * (t_end / t_start) ** frac
            pen = penalty * (1.0 + 9.0 * frac)
        if bpos >= 4096:
            batch = rng.integers(0, n_edges, size=4096)
            unif = rng.random(4096)
            bpos = 0
        e = int(batch[bpos])
        u01 = float(unif[bpos])
        bpos += 1
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
        ai = activities[i]
        s_src = sums[src] - ai
        s_dst = sums[dst] + ai
        v_src = _viol(s_src, lower[src], upper[src], width[src])
        v_dst = _viol(s_dst, lower[dst], upper[dst], width[dst])
        d_viol = v_src + v_dst - viol_t[src] - viol_t[dst]
        if objective == "diameter":
            assert dist is not None
            row = dist[i]
            nd_dst = max(diam[dst], float(row[masks[dst]].max()))
            masks[src, i] = False
            if diam[src] > 0 and float(row[masks[src]].max()) >= diam[src] - 1e-12:
                sub = masks[src]
                nd_src = float(dist[np.ix_(sub, sub)].max()) if counts[src] > 2 else 0.0
            else:
                nd_src = diam[src]
            masks[src, i] = True
            old_s, old_d = diam[src], diam[dst]
            diam[src], diam[dst] = nd_src, nd_dst
            new_obj = value_of(diam)
            diam[src], diam[dst] = old_s, old_d
            d_obj = new_obj - cur_obj
        elif objective == "cost":
            assert cost is not None
            d_obj = float(cost[i, dst] - cost[i, src]) / scale
            nd_src = nd_dst = 0.0
        else:
            same_src = same_dst = 0
            for v in nbrs[i]:
                lv = labels[v]
                if lv == src:
                    same_src += 1
                elif lv == dst:
                    same_dst += 1
            d_obj = float(same_src - same_dst)
            nd_src = nd_dst = 0.0
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
        cur_obj += d_obj
        if objective == "diameter":
            masks[src, i] = False
            masks[dst, i] = True
            diam[src], diam[dst] = nd_src, nd_dst
            cur_obj = value_of(diam)
        tot_v = float(viol_t.sum())
        if tot_v <= 1e-12:
            val = (
                float(diam.max())
                if objective == "diameter"
                else cur_obj * scale
                if objective == "cost"
                else cur_obj
            )
            if (
                not best_feasible
                or val < best_value - 1e-9
                or (
                    objective == "diameter"
                    and val <= best_value + 1e-9
                    and cur_obj < best_score[1] - 1e-9
                )
            ):
                best_feasible = True
                best_value = val
                best_score = (0, cur_obj if objective == "diameter" else val)
                best_labels = labels.copy()
        elif not best_feasible and tot_v < best_score[1] - 1e-12:
            best_score = (1, tot_v)
            best_labels = labels.copy()
    if not best_feasible:
        best_value = _true_value(best_labels, edges, objective, dist, k, cost)
    return SearchOutcome(best_labels, float(best_value), best_feasible, it)


def _true_value(
    labels: np.ndarray,
    edges: np.ndarray,
    objective: str,
    dist: np.ndarray | None,
    k: int,
    cost: np.ndarray | None = None,
) -> float:
    if objective == "cost":
        assert cost is not None
        return float(cost[np.arange(len(labels)), labels].sum())
    if objective == "diameter":
        assert dist is not None
        best = 0.0
        for t in range(k):
            mem = np.flatnonzero(labels == t)
            if len(mem) > 1:
                best = max(best, float(dist[np.ix_(mem, mem)].max()))
        return best
    return float(np.count_nonzero(labels[edges[:, 0]] != labels[edges[:, 1]]))

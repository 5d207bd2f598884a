"""Exact cut-edge districting: a rooted Hess model with symmetry broken.

Used by :func:`terrakit.design.mip.solve_mip` (and the districting benchmark)
for ``objective="cut_edges"`` with centers chosen among the units themselves
(``center_mode="choose"``, ``center_units[j] = j``-style candidates): every
territory is then just a set of units, and which unit is its "center" is an
arbitrary label.  The generic location model leaves that label free, so every
partition appears once per choice of centers; this model removes the freedom.

Notes
-----
Units are put in a fixed order :math:`\\pi` (largest activity first: a heavy
unit fixes the most other units, see below).  Each territory is *rooted* at its
first unit in that order.  Binaries :math:`x_{ij}` (unit *i* in the territory
rooted at *j*) exist only for :math:`\\pi(j) \\le \\pi(i)`; :math:`x_{jj}`
says that *j* is a root:

.. math::

    \\sum_j x_{ij} = 1, \\quad x_{ij} \\le x_{jj}, \\quad \\sum_j x_{jj} = k,
    \\quad L\\,x_{jj} \\le \\sum_i a_i x_{ij} \\le U\\,x_{jj}.

*Cut edges*: :math:`s_{ej} \\le x_{uj}`, :math:`s_{ej} \\le x_{vj}` for each
edge *e = uv* (both ends in the territory of *j*); the number of cut edges is
:math:`|E| - \\sum_{ej} s_{ej}`.  In the LP this is the total variation
:math:`\\tfrac12 \\sum_j |x_{uj} - x_{vj}|` per edge, never weaker than the
usual :math:`z_e \\ge |x_{uj} - x_{vj}|`.

*Contiguity* (Shirabe's single-commodity flow per root, on the subgraph
:math:`G_j` of the units that may join *j*): every non-root member consumes one
unit of flow, an arc may carry flow only into a member
(:math:`f_{uv} \\le M_j x_{vj}`), and the root emits the rest.

*Fixing* (before the solve, all valid for contiguous territories): unit *i*
can join root *j* only if a path from *j* to *i* inside
:math:`\\{v: \\pi(v) \\ge \\pi(j)\\}` has activity at most :math:`U` (vertex-
weighted shortest path); *j* can be a root only if its piece of that subgraph
holds at least :math:`L`.  Edges whose two ends share no possible root are
always cut.  Without contiguity only the second filter on the whole set
:math:`\\{\\pi(v) \\ge \\pi(j)\\}` is used.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from terrakit.design._model import ArrayModel, SolveOutcome, solve_model
from terrakit.design.problem import DesignProblem
from terrakit.design.result import AlignmentResult, Status
from terrakit.exceptions import InfeasibleError

__all__ = ["applies", "solve_as_result", "solve_cut_edges", "tree_partition"]


def applies(problem: DesignProblem) -> bool:
    """Whether :func:`solve_cut_edges` models ``problem`` exactly.

    Cut-edge objective, centers chosen among the units (every unit a
    candidate exactly once), equal bands, no locks, forbidden pairs, draws or
    budgets.
    """
    if problem.objective != "cut_edges" or problem.center_mode != "choose":
        return False
    if problem.center_units is None or problem.adjacency is None:
        return False
    cu = np.asarray(problem.center_units)
    if cu.size != problem.n_units or np.unique(cu).size != cu.size:
        return False
    if problem.locked or problem.allowed is not None:
        return False
    if problem.draws is not None or getattr(problem, "budgets", None):
        return False
    return True


@dataclass
class CutEdgeOutcome:
    """Labels per unit (``-1`` when no solution), objective, bound, status."""

    labels: np.ndarray | None
    objective: float
    bound: float
    status: str
    info: dict[str, float]


def _order(problem: DesignProblem) -> np.ndarray:
    """Units by decreasing banded activity (ties: index)."""
    weight = np.zeros(problem.n_units)
    for _a, v, _lo, hi in problem.bands():
        h = float(np.max(hi)) if np.isfinite(np.max(hi)) else float(v.sum())
        weight += v / max(h, 1e-12)
    return np.lexsort((np.arange(problem.n_units), -weight))


def _pairs(problem: DesignProblem, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (n, n) ``ok[i, j]``: unit i may join the territory rooted at j."""
    n = problem.n_units
    adj = sp.csr_matrix(problem.adjacency)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    ok = rank[:, None] >= rank[None, :]
    bands = problem.bands()
    roots = np.ones(n, dtype=bool)
    for j in range(n):
        later = rank >= rank[j]
        if problem.contiguity:
            sub = adj[later][:, later]
            idx = np.flatnonzero(later)
            _, comp = connected_components(sub, directed=False)
            here = np.zeros(n, dtype=bool)
            here[idx[comp == comp[np.searchsorted(idx, j)]]] = True
        else:
            here = later
        for _a, v, lo, _hi in bands:
            if v[here].sum() < float(np.max(lo)) - 1e-9:
                roots[j] = False
        if problem.contiguity:
            ok[:, j] &= here
            for _a, v, _lo, hi in bands:
                top = float(np.max(hi))
                if not math.isfinite(top) or np.any(v < 0):
                    continue
                # vertex-weighted distance inside the piece: arc u->w costs v[w]
                idx = np.flatnonzero(here)
                sub = adj[idx][:, idx].tocoo()
                w = v[idx][sub.col] + 1e-9  # zero weights would drop arcs
                g = sp.csr_matrix((w, (sub.row, sub.col)), shape=(idx.size,) * 2)
                src = int(np.searchsorted(idx, j))
                d = dijkstra(g, indices=src) + v[j]
                far = idx[d > top * (1 + 1e-12) + 1e-6 * idx.size]
                ok[far, j] = False
    ok[:, ~roots] = False
    return ok, roots


def _build(
    problem: DesignProblem, ok: np.ndarray
) -> tuple[ArrayModel, np.ndarray, np.ndarray, int, float]:
    n, k = problem.n_units, problem.n_territories
    model = ArrayModel()
    ii, jj = np.nonzero(ok)
    npair = ii.size
    x0 = model.add_vars(npair, cost=0.0, lb=0.0, ub=1.0, integer=True)
    xid = np.full((n, n), -1, dtype=np.int64)
    xid[ii, jj] = x0 + np.arange(npair)
    # assignment
    model.add_rows(n, ii, x0 + np.arange(npair), 1.0, 1.0, 1.0)
    roots = np.flatnonzero(xid[np.arange(n), np.arange(n)] >= 0)
    rid = xid[roots, roots]
    # x_ij <= x_jj
    off = ii != jj
    po = np.flatnonzero(off)
    r = np.repeat(np.arange(po.size), 2)
    c = np.empty(2 * po.size, dtype=np.int64)
    c[0::2] = x0 + po
    c[1::2] = xid[jj[po], jj[po]]
    model.add_rows(po.size, r, c, np.tile([1.0, -1.0], po.size), -np.inf, 0.0)
    model.add_rows(1, np.zeros(roots.size, int), rid, 1.0, k, k)
    # bands L x_jj <= sum_i a_i x_ij <= U x_jj
    pos = np.full(n, -1, dtype=np.int64)
    pos[roots] = np.arange(roots.size)
    for _a, v, lo, hi in problem.bands():
        for bound, upper in ((float(np.max(hi)), True), (float(np.max(lo)), False)):
            if not math.isfinite(bound) or (not upper and bound <= 0):
                continue
            rows = np.concatenate([pos[jj], np.arange(roots.size)])
            cols = np.concatenate([x0 + np.arange(npair), rid])
            vals = np.concatenate([v[ii], np.full(roots.size, -bound)])
            # the root's own x_jj also appears as a pair: rows add up in CSR
            if upper:
                model.add_rows(roots.size, rows, cols, vals, -np.inf, 0.0)
            else:
                model.add_rows(roots.size, rows, cols, vals, 0.0, np.inf)
    # cut edges: s_ej <= x_uj, s_ej <= x_vj; objective |E| - sum s
    e = sp.triu(sp.csr_matrix(problem.adjacency), k=1).tocoo()
    eu, ev, ew = e.row.astype(np.int64), e.col.astype(np.int64), e.data.astype(float)
    both = ok[eu] & ok[ev]  # (n_edges, n) shared possible roots
    es, js = np.nonzero(both)
    ns = es.size
    s0 = model.add_vars(ns, cost=-ew[es], lb=0.0, ub=1.0, integer=False)
    for end in (eu, ev):
        r = np.repeat(np.arange(ns), 2)
        c = np.empty(2 * ns, dtype=np.int64)
        c[0::2] = s0 + np.arange(ns)
        c[1::2] = xid[end[es], js]
        model.add_rows(ns, r, c, np.tile([1.0, -1.0], ns), -np.inf, 0.0)
    # at most one shared root per edge (implied, but tightens the LP)
    model.add_rows(e.row.size, es, s0 + np.arange(ns), 1.0, -np.inf, 1.0)
    constant = float(ew.sum())
    if problem.contiguity:
        adj = sp.coo_matrix(problem.adjacency)
        au, av = adj.row.astype(np.int64), adj.col.astype(np.int64)
        for j in roots.tolist():
            members = np.flatnonzero(ok[:, j])
            if members.size <= 1:
                continue
            keep = ok[au, j] & ok[av, j] & (av != j)
            u, v = au[keep], av[keep]
            na = u.size
            if na == 0:
                continue
            big = float(members.size - 1)
            f0 = model.add_vars(na, cost=0.0, lb=0.0, ub=big, integer=False)
            fc = f0 + np.arange(na)
            r = np.repeat(np.arange(na), 2)
            c = np.empty(2 * na, dtype=np.int64)
            c[0::2] = fc
            c[1::2] = xid[v, j]
            model.add_rows(na, r, c, np.tile([1.0, -big], na), -np.inf, 0.0)
            others = members[members != j]
            p = np.full(n, -1, dtype=np.int64)
            p[others] = np.arange(others.size)
            rr = np.concatenate([p[v], p[u], p[others]])
            cc = np.concatenate([fc, fc, xid[others, j]])
            vv = np.concatenate([np.ones(na), -np.ones(na), -np.ones(others.size)])
            m = rr >= 0
            model.add_rows(others.size, rr[m], cc[m], vv[m], 0.0, 0.0)
    return model, ii, jj, x0, constant


def _start(
    labels: np.ndarray,
    order: np.ndarray,
    ok: np.ndarray,
    problem: DesignProblem,
    model: ArrayModel,
    ii: np.ndarray,
    jj: np.ndarray,
    x0: int,
) -> dict[int, float] | None:
    """Warm start (x only) from a territory label per unit; None if not encodable."""
    n = problem.n_units
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    root = np.full(n, -1, dtype=np.int64)
    for t in np.unique(labels).tolist():
        members = np.flatnonzero(labels == t)
        root[members] = members[np.argmin(rank[members])]
    if not ok[np.arange(n), root].all():
        return None
    chosen = set(zip(np.arange(n).tolist(), root.tolist(), strict=True))
    return {
        x0 + p: (1.0 if (int(a), int(b)) in chosen else 0.0)
        for p, (a, b) in enumerate(zip(ii, jj, strict=True))
    }


def solve_cut_edges(
    problem: DesignProblem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    mip_gap: float = 1e-6,
    start_labels: np.ndarray | None = None,
    threads: int | None = None,
    backend: str = "highs",
) -> CutEdgeOutcome:
    """Solve a cut-edge districting problem exactly (see the module Notes).

    Parameters
    ----------
    problem
        A problem for which :func:`applies` is true.
    time_limit
        Seconds for the fixing, the build and the solve together.
    seed, mip_gap, threads, backend
        Passed to :func:`terrakit.design._model.solve_model`.
    start_labels
        Optional feasible territory index per unit (warm start).

    Returns
    -------
    CutEdgeOutcome
        ``labels`` (territory index ``0..k-1`` per unit, by root order) or
        ``None``; ``status`` ``"optimal"``, ``"time_limit"``, ``"infeasible"``
        (proven: no partition meets the bands) or ``"no_solution"``; ``bound``
        is a valid lower bound on the number of cut edges.
    """
    if not applies(problem):
        raise ValueError("solve_cut_edges needs a plain cut-edge districting problem")
    t0 = time.perf_counter()
    order = _order(problem)
    ok, roots = _pairs(problem, order)
    n = problem.n_units
    info: dict[str, float] = {
        "pairs": float(ok.sum()),
        "possible_roots": float(roots.sum()),
    }
    if (~ok.any(axis=1)).any() or ok.any(axis=0).sum() < problem.n_territories:
        return CutEdgeOutcome(None, math.inf, math.inf, "infeasible", info)
    model, ii, jj, x0, constant = _build(problem, ok)
    info["build_seconds"] = time.perf_counter() - t0
    info["n_vars"] = float(model.n_cols)
    info["n_rows"] = float(model.n_rows)
    warm = None
    if start_labels is not None:
        warm = _start(np.asarray(start_labels), order, ok, problem, model, ii, jj, x0)
    left = time_limit - (time.perf_counter() - t0)
    out: SolveOutcome = solve_model(
        model,
        backend=backend,
        time_limit=max(left, 0.05),
        mip_gap=mip_gap,
        seed=seed,
        start=warm,
        threads=threads,
    )
    info["solve_seconds"] = out.solve_seconds
    bound = constant + out.bound if math.isfinite(out.bound) else 0.0
    # the number of cut edges is integral with integer weights
    w = sp.triu(sp.csr_matrix(problem.adjacency), k=1).data
    if np.allclose(w, np.round(w)):
        bound = math.ceil(bound - 1e-6)
    if out.status == "infeasible":
        return CutEdgeOutcome(None, math.inf, math.inf, "infeasible", info)
    if out.values is None:
        return CutEdgeOutcome(None, math.inf, max(bound, 0.0), out.status, info)
    xv = out.values[x0 : x0 + ii.size]
    pick = xv > 0.5
    root_of = np.full(n, -1, dtype=np.int64)
    root_of[ii[pick]] = jj[pick]
    _, labels = np.unique(root_of, return_inverse=True)
    objective = float(problem.evaluate(_columns(problem, root_of)))
    status = out.status
    if status == "optimal":
        bound = objective
    return CutEdgeOutcome(labels.astype(np.int64), objective, bound, status, info)


def _columns(problem: DesignProblem, root_of: np.ndarray) -> np.ndarray:
    """Center column per unit from the root unit per unit."""
    cu = np.asarray(problem.center_units)
    col_of_unit = np.empty(problem.n_units, dtype=np.int64)
    col_of_unit[cu] = np.arange(cu.size)
    return col_of_unit[root_of]


def tree_partition(
    problem: DesignProblem,
    *,
    seed: int | None = 0,
    time_limit: float = 10.0,
    max_plans: int = 20,
) -> np.ndarray | None:
    """Contiguous partitions meeting every band, by recursive spanning-tree splits.

    Draw a random spanning tree of the units not yet assigned, cut one tree
    edge whose smaller side meets the bands while the other side can still hold
    the remaining territories, and repeat on the rest (the idea behind
    recursive tree partitioning in redistricting).  Each territory is a subtree,
    so it is connected.  Useful where the bands are so narrow (±0.5 %) that
    annealing from a grown start does not reach a feasible partition.

    Returns
    -------
    numpy.ndarray or None
        The territory index per unit of the plan with the fewest cut edges
        among up to ``max_plans`` found within ``time_limit`` seconds, or
        ``None`` when none was found.
    """
    from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    n, k = problem.n_units, problem.n_territories
    bands = problem.bands()
    vals = (
        np.column_stack([v for _a, v, _lo, _hi in bands]) if bands else np.zeros((n, 1))
    )
    lo = np.array([float(np.max(b[2])) for b in bands]) if bands else np.zeros(1)
    hi = np.array([float(np.max(b[3])) for b in bands]) if bands else np.full(1, 1e300)
    adj = sp.csr_matrix(problem.adjacency)
    upper_tri = sp.triu(adj, k=1).tocoo()
    eu, ev = upper_tri.row, upper_tri.col
    best: np.ndarray | None = None
    best_cut = math.inf
    found = 0
    e_all = np.column_stack([eu, ev])

    def fits(total: np.ndarray, count: int) -> np.ndarray:
        return np.all(
            (total >= count * lo - 1e-9) & (total <= count * hi + 1e-9), axis=-1
        )

    while found < max_plans and time.perf_counter() - t0 < time_limit:
        labels = np.full(n, -1, dtype=np.int64)
        rest = np.ones(n, dtype=bool)
        left = k
        failures = 0
        while left > 1 and failures < 50:
            idx = np.flatnonzero(rest)
            pos = np.full(n, -1, dtype=np.int64)
            pos[idx] = np.arange(idx.size)
            keep = rest[eu] & rest[ev]
            w = rng.random(int(keep.sum())) + 1.0
            g = sp.csr_matrix(
                (w, (pos[eu[keep]], pos[ev[keep]])), shape=(idx.size, idx.size)
            )
            tree = minimum_spanning_tree(g)
            tree = tree + tree.T
            root = int(rng.integers(idx.size))
            order, pred = breadth_first_order(
                tree, root, directed=False, return_predecessors=True
            )
            if order.size != idx.size:
                failures = 50
                break
            sub = vals[idx].copy()
            for v in order[::-1][:-1]:
                sub[pred[v]] += sub[v]
            total = sub[root]
            child = order[1:]
            inside = sub[child]
            a = fits(inside, 1) & fits(total - inside, left - 1)
            b = fits(total - inside, 1) & fits(inside, left - 1)
            cand = np.flatnonzero(a | b)
            if cand.size == 0:
                failures += 1
                continue
            c = int(cand[rng.integers(cand.size)])
            v = int(child[c])
            # the subtree below v
            in_sub = np.zeros(idx.size, dtype=bool)
            in_sub[v] = True
            for u in order:
                if u != root and u != v and in_sub[pred[u]]:
                    in_sub[u] = True
            take = in_sub if a[c] else ~in_sub
            units = idx[take]
            labels[units] = k - left
            rest[units] = False
            left -= 1
        if left > 1:
            continue
        labels[rest] = k - 1
        found += 1
        cut = int(np.count_nonzero(labels[e_all[:, 0]] != labels[e_all[:, 1]]))
        if cut < best_cut:
            best, best_cut = labels, cut
    return best


def solve_as_result(
    problem: DesignProblem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    start: np.ndarray | None = None,
    mip_gap: float = 1e-6,
) -> AlignmentResult | None:
    """:func:`solve_cut_edges` as an :class:`AlignmentResult` (for ``solve_mip``).

    ``start`` is a center column per unit (``solve_mip``'s warm start).  When
    the model finds nothing in time, a spanning-tree partition
    (:func:`tree_partition`) is returned with status ``"time_limit"`` and the
    model's bound; ``None`` when there is none either.

    Raises
    ------
    InfeasibleError
        The model proved that no contiguous partition meets the bands.
    """
    t0 = time.perf_counter()
    labels0 = None
    if start is not None:
        labels0, _ = problem.territory_index(np.asarray(start, dtype=np.int64))
    out = solve_cut_edges(
        problem,
        time_limit=0.9 * time_limit,
        seed=seed,
        mip_gap=mip_gap,
        start_labels=labels0,
    )
    if out.status == "infeasible":
        raise InfeasibleError(
            f"the design problem {problem.name!r} is infeasible (mip/highs, rooted "
            "cut-edge model): no partition into "
            f"{problem.n_territories} territories meets every band"
            + (" with contiguous territories" if problem.contiguity else "")
        )
    cfg = {"time_limit": time_limit, "backend": "highs", "mip_gap": mip_gap}
    info: dict[str, Any] = {"model": "rooted cut-edge", **out.info}
    if out.labels is not None:
        columns = _columns_from_labels(problem, out.labels)
        status: Status = "optimal" if out.status == "optimal" else "time_limit"
    else:
        left = time_limit - (time.perf_counter() - t0)
        found = tree_partition(problem, seed=seed, time_limit=max(left, 0.1))
        if found is None:
            return None
        columns = _columns_from_labels(problem, found)
        status = "time_limit"
        info["start"] = "spanning-tree partition (the MIP found none in time)"
    return AlignmentResult.from_columns(
        problem,
        columns,
        status=status,
        lower_bound=out.bound,
        method="mip/highs",
        seconds=time.perf_counter() - t0,
        seed=seed,
        config=cfg,
        info=info,
    )


def _columns_from_labels(problem: DesignProblem, labels: np.ndarray) -> np.ndarray:
    """Center columns per unit for a territory label per unit (root = the
    first unit of each territory in the model's order)."""
    order = _order(problem)
    rank = np.empty(problem.n_units, dtype=np.int64)
    rank[order] = np.arange(problem.n_units)
    root_of = np.empty(problem.n_units, dtype=np.int64)
    for t in np.unique(labels).tolist():
        members = np.flatnonzero(labels == t)
        root_of[members] = members[np.argmin(rank[members])]
    return _columns(problem, root_of)

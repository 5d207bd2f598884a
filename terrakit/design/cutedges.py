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
holds at least :math:`L` (its positive values, when an activity can be
negative).  Edges whose two ends share no possible root are
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
from terrakit.exceptions import InfeasibleError, SpecificationError

__all__ = [
    "applies",
    "no_contiguity_bound",
    "recombine",
    "solve_as_result",
    "solve_cut_edges",
    "solve_districting",
    "tree_partition",
    "tree_partitions",
]


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
    info: dict[str, Any]


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
            # no subset of the piece holds more than its positive values
            # (with a negative activity, e.g. net sales after returns, a
            # subset can hold more than the whole piece)
            if np.clip(v[here], 0.0, None).sum() < float(np.max(lo)) - 1e-9:
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


def _edge_pairs(
    problem: DesignProblem, ok: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges ``(eu, ev, ew)`` (``eu < ev``) and the pairs ``(es, js)``: edge
    ``es`` may lie inside the territory rooted at ``js`` (both ends may join
    it).  :func:`_build` adds one variable :math:`s_{ej}` per pair, in this
    order, right after the ``x`` variables."""
    e = sp.triu(sp.csr_matrix(problem.adjacency), k=1).tocoo()
    eu, ev, ew = e.row.astype(np.int64), e.col.astype(np.int64), e.data.astype(float)
    es, js = np.nonzero(ok[eu] & ok[ev])  # (n_edges, n) shared possible roots
    return eu, ev, ew, es, js


def _build(
    problem: DesignProblem, ok: np.ndarray
) -> tuple[ArrayModel, np.ndarray, np.ndarray, int, float]:
    """The rooted model (module Notes) over the pairs ``ok``: returns the
    model, the pairs ``(ii, jj)`` of its ``x`` variables (from column ``x0``;
    the :func:`_edge_pairs` ``s`` variables follow) and the objective's
    constant."""
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
            # a lower band at or below 0 binds only when a value is negative
            if not math.isfinite(bound) or (not upper and bound <= 0 and v.min() >= 0):
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
    eu, ev, ew, es, js = _edge_pairs(problem, ok)
    ns = es.size
    s0 = model.add_vars(ns, cost=-ew[es], lb=0.0, ub=1.0, integer=False)
    for end in (eu, ev):
        r = np.repeat(np.arange(ns), 2)
        c = np.empty(2 * ns, dtype=np.int64)
        c[0::2] = s0 + np.arange(ns)
        c[1::2] = xid[end[es], js]
        model.add_rows(ns, r, c, np.tile([1.0, -1.0], ns), -np.inf, 0.0)
    # at most one shared root per edge (implied, but tightens the LP)
    model.add_rows(eu.size, es, s0 + np.arange(ns), 1.0, -np.inf, 1.0)
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
        Seconds for the fixing, the build and the solve together.  The clock
        is read after the fixing and after the build, and a model too large
        for HiGHS to load and presolve in the time left (about 5 s per million
        columns and rows) is not solved: ``"no_solution"`` with a warning.
    seed, mip_gap, threads, backend
        Passed to :func:`terrakit.design._model.solve_model`.
    start_labels
        Optional feasible territory index per unit (warm start).

    Returns
    -------
    CutEdgeOutcome
        ``labels`` (territory index ``0..k-1`` per unit, by root order) or
        ``None``; ``status`` ``"optimal"`` (the gap closed: value = bound),
        ``"feasible"`` (HiGHS stopped within ``mip_gap`` of the bound without
        closing the gap), ``"time_limit"``, ``"infeasible"`` (proven: no
        partition meets the bands) or ``"no_solution"``; ``bound`` is a valid
        lower bound on the number of cut edges (HiGHS's dual bound, rounded
        up for integer weights).

    Warns
    -----
    TimeLimitWarning
        The fixing or the build used up ``time_limit``, or the model is too
        large to solve in the time left (tract graphs at a few seconds): the
        model was not solved, the message says which.
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
    if time.perf_counter() - t0 >= time_limit:
        return _out_of_time(info, time_limit, t0, "the fixing used it up")
    model, ii, jj, x0, constant = _build(problem, ok)
    info["build_seconds"] = time.perf_counter() - t0
    info["n_vars"] = float(model.n_cols)
    info["n_rows"] = float(model.n_rows)
    left = time_limit - (time.perf_counter() - t0)
    if left <= 0:
        return _out_of_time(info, time_limit, t0, "the fixing and the build used it up")
    size = model.n_cols + model.n_rows
    if size > _SIZE_PER_SECOND * left:
        return _out_of_time(
            info,
            time_limit,
            t0,
            f"HiGHS needs about {size / _SIZE_PER_SECOND:.3g} s to load and "
            f"presolve the model ({model.n_cols} columns, {model.n_rows} rows); "
            f"{left:.3g} s were left",
        )
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
    if _integral_weights(problem):
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
        # HiGHS says optimal once the gap is within mip_gap: only a closed gap
        # is a proof (with integer weights the cut is whole: a gap below 1)
        if objective - bound <= _closed_gap(problem, objective, constant):
            bound = objective
        else:
            status = "feasible"
            info["stopped_at_gap"] = 1.0
    return CutEdgeOutcome(labels.astype(np.int64), objective, bound, status, info)


#: columns plus rows of the rooted model HiGHS loads and presolves per second
#: (about 5 s per million: NH tracts, 0.4 M, took 1.2 s at a 0.05 s limit, NV
#: tracts, 2.6 M, 7.7 s); a larger model for the time left is not solved
_SIZE_PER_SECOND = 200_000.0


def _out_of_time(
    info: dict[str, float], time_limit: float, t0: float, what: str
) -> CutEdgeOutcome:
    """``"no_solution"`` (no bound) with a :class:`TimeLimitWarning` saying
    which step used up ``time_limit``."""
    import warnings

    from terrakit.exceptions import TimeLimitWarning

    seconds = time.perf_counter() - t0
    info["skipped_solve"] = 1.0
    warnings.warn(
        f"solve_cut_edges: status 'no_solution' after {seconds:.3g} s of the "
        f"{time_limit:g} s time limit: {what}, so the rooted model was not solved "
        "(no partition, no bound). Fix: raise time_limit, or use "
        "solve_districting for a partition of a large graph",
        TimeLimitWarning,
        stacklevel=3,
    )
    return CutEdgeOutcome(None, math.inf, 0.0, "no_solution", info)


def _closed_gap(problem: DesignProblem, objective: float, constant: float) -> float:
    """The largest ``objective - bound`` that still proves ``objective``
    optimal: below 1 with integer edge weights (every cut is a whole number),
    else the default relative gap 1e-6 (of the cut, or of the model's value
    ``objective - constant`` on which HiGHS measures it)."""
    if _integral_weights(problem):
        return 1.0 - 1e-6
    return 1e-6 * max(1.0, abs(objective), abs(objective - constant))


def no_contiguity_bound(
    problem: DesignProblem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    threads: int | None = None,
) -> float:
    """Lower bound on the cut edges from the partition *without* contiguity.

    Dropping contiguity is a relaxation, so the optimum of the balanced
    ``k``-partition minimising the cut edges with no contiguity requirement
    (or any dual bound of that MIP, when stopped early) is a valid lower bound
    for the contiguous problem.  The MIP is the rooted model of
    :func:`solve_cut_edges` on ``problem.replace(contiguity=False)``: every
    part is represented by its unit of highest rank (symmetry broken), the
    same bands, no flows.

    Parameters
    ----------
    problem
        A problem for which :func:`applies` is true (with or without
        contiguity).
    time_limit
        Seconds for the fixing, the build and the HiGHS solve.
    seed, threads
        HiGHS random seed and threads.

    Returns
    -------
    float
        A valid lower bound on the (weighted) number of cut edges of every
        partition meeting the bands, rounded up for integer weights; ``inf``
        when HiGHS proved that no partition meets the bands even without
        contiguity, ``0.0`` when it got no bound in time.

    Raises
    ------
    ValueError
        The problem is not a plain cut-edge districting problem.

    Notes
    -----
    On the Validi--Buchanan county graphs this MIP does not close in 60 s
    with HiGHS (bounds 14--23 against optima 19--40, see
    ``benchmarks/README.md``), so :func:`solve_districting` gives it no time
    by default (``no_contiguity_share=0``).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from terrakit.design.problem import DesignProblem
    >>> adj = sp.diags([1.0, 1.0, 1.0], 1, shape=(4, 4))
    >>> adj = (adj + adj.T).tocsr()  # the path 0-1-2-3
    >>> p = DesignProblem(
    ...     unit_ids=np.arange(4), activities={"pop": np.ones(4)},
    ...     n_territories=2, cost=np.zeros((4, 4)),
    ...     lower={"pop": np.full(2, 2.0)}, upper={"pop": np.full(2, 2.0)},
    ...     center_mode="choose", center_units=np.arange(4), adjacency=adj,
    ...     contiguity=True, objective="cut_edges")
    >>> no_contiguity_bound(p, time_limit=10)
    1.0
    """
    if not applies(problem):
        raise ValueError(
            "no_contiguity_bound needs a plain cut-edge districting problem"
        )
    import warnings

    from terrakit.exceptions import TimeLimitWarning

    with warnings.catch_warnings():
        # no time for the model: no bound (0.0), as documented
        warnings.simplefilter("ignore", TimeLimitWarning)
        out = solve_cut_edges(
            problem.replace(contiguity=False),
            time_limit=time_limit,
            seed=seed,
            threads=threads,
        )
    if out.status == "infeasible":
        return math.inf
    return max(float(out.bound), 0.0)


def _equal_bands(problem: DesignProblem) -> bool:
    """Whether every territory has the same band on every banded activity."""
    return all(
        np.ptp(lo) == 0 and np.ptp(hi) == 0 for _a, _v, lo, hi in problem.bands()
    )


def _integral_weights(problem: DesignProblem) -> bool:
    """Whether every edge weight is a whole number (then so is every cut)."""
    w = sp.triu(sp.csr_matrix(problem.adjacency), k=1).data
    return bool(np.allclose(w, np.round(w)))


def _cut(problem: DesignProblem, labels: np.ndarray) -> float:
    """Weighted number of edges whose ends carry different labels."""
    e = sp.triu(sp.csr_matrix(problem.adjacency), k=1).tocoo()
    return float(e.data[labels[e.row] != labels[e.col]].sum())


def _trivial_bound(problem: DesignProblem) -> float:
    """A valid weak bound: the ``k`` parts of a graph with ``c`` connected
    components are joined by at least ``k - c`` distinct edges (the parts
    contracted form a graph with at most ``c`` components), so the cut weighs
    at least the ``k - c`` lightest edges
    (:func:`terrakit.design._graphsearch.cut_bound`, which the heuristic's
    bound uses too)."""
    from terrakit.design._graphsearch import cut_bound

    assert problem.adjacency is not None
    return cut_bound(problem.adjacency, problem.n_territories)


def _band_arrays(problem: DesignProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(n, b)`` banded activities and the ``(b,)`` band every territory
    shares (the problems of :func:`applies` have equal bands)."""
    bands = problem.bands()
    vals = np.column_stack([v for _a, v, _lo, _hi in bands])
    lo = np.array([float(np.max(b[2])) for b in bands])
    hi = np.array([float(np.min(b[3])) for b in bands])
    return vals, lo, hi


def recombine(
    problem: DesignProblem,
    labels: np.ndarray,
    *,
    seed: int | None = 0,
    deadline: float,
    temperature: float = 0.2,
) -> np.ndarray:
    """Anneal a partition meeting the bands by recombination (cut edges).

    :func:`terrakit.design._recom.recombine_cut_edges` from ``labels``: two
    adjacent territories merged and split again along the best balanced cut
    of random spanning trees, worse splits accepted with the annealing
    probability, the temperature falling from ``temperature`` times the
    starting cut weight to 0 at ``deadline``.  Returns the plan of least cut
    weight seen: every band met, and every territory connected where the
    start's were (a pair whose union is not connected is left alone).

    Why: the tree splits' best plan is rarely locally optimal (LA counties:
    52-57 cut edges against the optimum 49, depending on the seed), and at
    ±0.5 % the single-unit moves of the band-penalty heuristic hardly exist,
    so it seldom improved on it.  Measured in ``benchmarks/README.md``
    ("recombination on cut edges").
    """
    from terrakit.design._recom import recombine_cut_edges

    vals, lo, hi = _band_arrays(problem)
    start = np.asarray(labels, dtype=np.int64)
    out, _ = recombine_cut_edges(
        problem.adjacency,
        vals,
        lo,
        hi,
        start,
        np.random.default_rng(seed),
        deadline=deadline,
        patience=10**9,
        temperature=temperature * max(_cut(problem, start), 1.0),
    )
    return out


def _check_start_labels(problem: DesignProblem, start_labels: Any) -> np.ndarray:
    """``start_labels`` (a territory index per unit) as an int array, or a
    :class:`SpecificationError` naming its length or first bad entries."""
    from terrakit._runargs import whole_number
    from terrakit.design.problem import _rid

    n, k = problem.n_units, problem.n_territories
    raw = np.asarray(start_labels, dtype=object).reshape(-1)
    whole = [whole_number(v) for v in raw.tolist()]
    bad = [i for i, w in enumerate(whole) if w is None or not 0 <= w < k]
    if raw.size != n or np.ndim(start_labels) != 1 or bad:
        what = (
            f"has {raw.size} entries for the {n} units"
            if raw.size != n or np.ndim(start_labels) != 1
            else "holds "
            + ", ".join(
                f"{_rid(raw[i])} (unit {_rid(problem.unit_ids[i])})" for i in bad[:3]
            )
            + f", not a territory in [0, {k})"
        )
        raise SpecificationError(
            f"start_labels {what}. Fix: pass a territory index (0..{k - 1}) per "
            "unit, in the problem's unit order"
        )
    return np.array(whole, dtype=np.int64)


def _whole_setting(key: str, value: Any, low: int = 0) -> int:
    """``value`` as a whole number >= ``low`` (``100.0`` is 100), or a
    :class:`SpecificationError` naming the setting."""
    from terrakit._runargs import whole_number

    w = whole_number(value)
    if w is None or w < low:
        raise SpecificationError(
            f"{key} must be a whole number >= {low}, got {value!r}"
        )
    return w


def solve_districting(
    problem: DesignProblem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    bound: str = "cg",
    exact_nodes: int = 100,
    exact_share: float = 0.9,
    start_labels: np.ndarray | None = None,
    mip_gap: float = 1e-6,
    no_contiguity_share: float = 0.0,
    root_set_share: float = 0.45,
    tree_share: float = 0.35,
    recom_share: float = 0.5,
    warn: bool = True,
    **heuristic_kw: Any,
) -> CutEdgeOutcome:
    """Cut-edge districting: good partitions first, then a proof.

    1. Recursive spanning-tree splits (:func:`tree_partitions`, ``tree_share``
       of the heuristic share) find contiguous partitions inside narrow
       bands; when they find none, the heuristic
       (:func:`terrakit.design.heuristic.solve_heuristic`: annealing with the
       band violation penalised) gets half of the rest;
    2. the best plan is annealed by recombination (:func:`recombine`) for
       the rest of the share (the first ``1 - exact_share`` of the time on
       graphs given an exact bound, all of it on the others); on the larger
       graphs only for ``recom_share`` of it, and the heuristic's unit moves
       continue from its plan (tracts: units far below the band width);
    3. on graphs of at most ``exact_nodes`` units an exact bound gets
       ``exact_share`` of the time:

       - ``bound="cg"`` (default, equal bands): the set-partitioning LP bound
         by column generation (:mod:`terrakit.design._cutedges_cg`), seeded
         with every partition found; it stops as soon as its bound reaches
         the best value, and a MIP over its columns may improve the
         partition.  With integral edge weights it hands over, once
         ``root_set_share`` of its time is left and the root sets it has not
         ruled out can be listed, to a branch on those sets
         (:mod:`terrakit.design._cutedges_sets`: the rooted model per set,
         with a Lagrangian cut per root from each exact pricing call);
       - ``bound="mip"``, unequal bands, or no feasible partition yet: the
         rooted exact model (:func:`solve_cut_edges`), warm-started; it can
         also prove that no partition meets the bands.  It also gets the time
         left when the column generation solved its LP without closing the
         gap.

    Parameters
    ----------
    problem
        A problem for which :func:`applies` is true.
    time_limit
        Seconds for all steps.
    seed
        Seed of every random step.
    bound
        ``"cg"`` or ``"mip"`` (see above).
    exact_nodes, exact_share
        Largest graph given an exact bound, and its share of the time.
    start_labels
        Optional territory index per unit of a known partition (tried like
        the tree plans when it meets every band).
    mip_gap
        Relative gap at which the rooted model stops; only a closed gap is
        reported ``"optimal"`` (``bound`` is the model's proven bound).
    root_set_share
        With ``bound="cg"`` and integral edge weights: once this share of
        the column generation's time is left, the generation hands over as
        soon as the root sets it left can be listed, and the rest goes to
        :func:`terrakit.design._cutedges_sets.prove_root_sets` (the rooted
        model per root set, with the generation's Lagrangian cuts); ``0``:
        the generation gets all the time.
    no_contiguity_share
        Share of the exact bound's time first given to
        :func:`no_contiguity_bound` (the partition without contiguity, a
        relaxation); the larger bound is kept, and a proof from it skips the
        rest.  ``0`` (default): not run, as it did not close the county
        instances in time.
    tree_share
        Share of the heuristic time given to the tree splits first.
    recom_share
        On graphs above ``exact_nodes``: share of the time after the tree
        splits given to the recombination; the heuristic gets the rest.
    warn
        Issue the :class:`~terrakit.exceptions.TimeLimitWarning` below
        (``False``: the caller says it, as :func:`solve_as_result`'s does).
    **heuristic_kw
        Passed to :func:`~terrakit.design.heuristic.solve_heuristic`
        (e.g. ``max_iter``).

    Returns
    -------
    CutEdgeOutcome
        ``labels`` (territory index per unit) or ``None``; ``status``
        ``"optimal"`` (value = proven bound), ``"time_limit"`` (an exact bound
        ran out of time), ``"feasible"`` (no exact bound ran, or the rooted
        model stopped within ``mip_gap`` of its bound: ``bound`` says how close),
        ``"infeasible"`` (proven) or ``"no_solution"``; ``info["method"]``
        names the steps that ran.

    Raises
    ------
    SpecificationError
        ``time_limit`` is not a positive finite number of seconds,
        ``seed`` not an int in ``[0, 2**32 - 1]``, ``exact_nodes`` not a
        whole number >= 0, a ``*_share`` outside ``[0, 1]`` or ``mip_gap``
        negative (each named, with the value given); ``start_labels`` not a
        territory index in ``[0, k)`` per unit (its length or first bad
        entries named).
    ValueError
        ``bound`` is not ``"cg"`` or ``"mip"``, or the problem is not a plain
        cut-edge districting problem.

    Warns
    -----
    TimeLimitWarning
        With ``warn``: the status is ``"time_limit"`` (a partition, the exact
        bound cut by the clock) or ``"no_solution"`` (no partition found in
        the time; no proof that none exists); the message says which.

    Notes
    -----
    On a graph of at most ``exact_nodes`` units where neither the tree
    splits nor the heuristic found a partition, the rooted exact model gets
    all the time left (no second tree search, no reserve): it finds a
    partition or proves that none exists.
    """
    import warnings

    from terrakit._runargs import as_number, check_seed, check_time_limit
    from terrakit.design._cutedges_cg import column_generation_bound
    from terrakit.design.heuristic import solve_heuristic
    from terrakit.exceptions import TimeLimitWarning

    time_limit = check_time_limit(time_limit)
    seed = check_seed(seed)
    if bound not in ("cg", "mip"):
        raise ValueError(f"bound must be 'cg' or 'mip', got {bound!r}")
    exact_nodes = _whole_setting("exact_nodes", exact_nodes)
    shares = {
        "exact_share": exact_share,
        "no_contiguity_share": no_contiguity_share,
        "root_set_share": root_set_share,
        "tree_share": tree_share,
        "recom_share": recom_share,
    }
    for key, v in shares.items():
        if isinstance(v, bool) or not 0.0 <= as_number(v) <= 1.0:
            raise SpecificationError(
                f"{key} must be a share of the time in [0, 1], got {v!r}"
            )
    if isinstance(mip_gap, bool) or not 0.0 <= as_number(mip_gap) < math.inf:
        raise SpecificationError(
            f"mip_gap must be a relative gap >= 0 (1e-6: proven within 0.0001 %), "
            f"got {mip_gap!r}"
        )
    if not applies(problem):
        raise ValueError("solve_districting needs a plain cut-edge districting problem")
    known = None if start_labels is None else _check_start_labels(problem, start_labels)
    t0 = time.perf_counter()
    use_exact = problem.n_units <= exact_nodes
    h_time = time_limit * (1 - exact_share) if use_exact else time_limit
    # narrow bands make feasibility the hard part on some graphs (LA):
    # the tree splits get up to a third of the heuristic's share
    plans = tree_partitions(
        problem,
        seed=seed,
        time_limit=tree_share * h_time,
        max_plans=40 if use_exact else 20,
    )
    if known is not None:
        if not problem.violations(_columns_from_labels(problem, known)):
            plans.append(known)
            plans.sort(key=lambda lab: _cut(problem, lab))
    labels: np.ndarray | None = plans[0] if plans else None
    lower = _trivial_bound(problem)
    info: dict[str, Any] = {}
    method = "tree"

    def heuristic(
        limit: float, initial: np.ndarray | None
    ) -> tuple[np.ndarray | None, float]:
        """The band-penalty heuristic: its plan (or None) and its bound."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = solve_heuristic(
                problem, time_limit=limit, seed=seed, initial=initial, **heuristic_kw
            )
        if not res.is_feasible():
            return None, float(res.lower_bound)
        lab, _ = problem.territory_index(np.asarray(res.columns))
        return lab, float(res.lower_bound)

    if labels is None:
        # no tree plan: the heuristic (band violation penalised) gets half
        # of what is left of the share
        method = "heuristic"
        labels, h_bound = heuristic(
            max(0.5 * (h_time - (time.perf_counter() - t0)), 0.5), None
        )
        lower = max(lower, h_bound)
        if labels is not None:
            plans.append(labels)
    if labels is not None and time.perf_counter() - t0 < h_time - 0.3:
        # tree plans are rarely locally optimal, and at ±0.5 % single-unit
        # moves hardly exist: anneal by recombination for the rest (on the
        # large graphs for a share of it, then the heuristic's unit moves)
        method += "+recom"
        left = h_time - (time.perf_counter() - t0)
        share = 1.0 if use_exact else recom_share
        stop = time.perf_counter() + share * left - 0.2
        improved = recombine(problem, labels, seed=seed, deadline=stop)
        info["recom_value"] = _cut(problem, improved)
        if info["recom_value"] < _cut(problem, labels):
            labels = improved
            plans.insert(0, improved)
        left = h_time - (time.perf_counter() - t0) - 0.5
        if share < 1.0 and left > 0.5:
            method += "+heuristic"
            lab, h_bound = heuristic(left, labels)
            lower = max(lower, h_bound)
            if lab is not None and _cut(problem, lab) < _cut(problem, labels):
                labels = lab
                plans.insert(0, lab)
    status = "feasible" if labels is not None else "no_solution"
    # a small graph without a plan: the rooted exact model gets all the time
    # left (it finds a partition or proves there is none), not what the
    # reserve below leaves of it (ME counties at 3 s: none, nothing found)
    no_plan_exact = use_exact and labels is None
    if labels is None and not no_plan_exact:
        # a second, longer tree search before giving up on feasibility
        left = time_limit - (time.perf_counter() - t0)
        again = tree_partitions(
            problem, seed=seed + 1, time_limit=0.3 * left, max_plans=1
        )
        if again:
            labels, status, method = again[0], "feasible", "tree"
            plans.extend(again)
    if use_exact and labels is not None and no_contiguity_share > 0:
        left = no_contiguity_share * (time_limit - (time.perf_counter() - t0) - 1.0)
        if left > 0.5:
            tn = time.perf_counter()
            nb = no_contiguity_bound(problem, time_limit=left, seed=seed)
            info["no_contiguity_bound"] = nb
            info["no_contiguity_seconds"] = time.perf_counter() - tn
            method += "+nocontig-bound"
            lower = max(lower, nb)
    # a proof by the relaxation needs no exact bound
    exact = use_exact and not (
        labels is not None and _cut(problem, labels) <= lower + 1e-9
    )
    # HiGHS can run past its limit on a loaded machine: 1 s is kept in
    # reserve, a fifth of the limit on short runs (a fixed second left no
    # exact bound at all below ~2.3 s, though a 9-unit proof takes 0.1 s)
    reserve = min(1.0, 0.2 * time_limit)
    use_mip = exact
    if exact and bound == "cg" and labels is not None and _equal_bands(problem):
        left = time_limit - (time.perf_counter() - t0) - 1.0
        if left > 1:
            # the column generation bound; the rooted model below only when
            # it leaves a gap (without the time for it, the rooted model runs)
            use_mip = False
            vals, lo_b, hi_b = _band_arrays(problem)
            ok, _ = _pairs(problem, _order(problem))
            target = _cut(problem, labels)
            branch = root_set_share > 0 and _integral_weights(problem)
            cg = column_generation_bound(
                problem.adjacency,
                vals,
                lo_b,
                hi_b,
                problem.n_territories,
                ok,
                contiguity=problem.contiguity,
                partitions=plans,
                target=target,
                time_limit=left,
                seed=seed,
                handoff=(1 - root_set_share) * left if branch else None,
            )
            method += "+cg-bound"
            lower = max(lower, float(cg.bound))
            info.update({f"cg_{key}": val for key, val in cg.info.items()})
            if cg.labels is not None and cg.objective < _cut(problem, labels):
                labels = cg.labels
            status = "time_limit"
            left = time_limit - (time.perf_counter() - t0) - 1.5
            if (
                branch
                and cg.root_sets is not None
                and lower < _cut(problem, labels)
                and left > 1
            ):
                from terrakit.design._cutedges_sets import prove_root_sets

                # what the generation ruled out against the target stays
                # valid for a better partition the pool MIP found
                best = _cut(problem, labels)
                proof = prove_root_sets(
                    problem, ok, cg.root_sets, best, time_limit=left
                )
                method += "+root-sets"
                lower = max(lower, proof.bound)
                info.update(proof.info)
                if proof.labels is not None and proof.objective < best:
                    labels = proof.labels
            # the set-partitioning LP is solved but below the best value (ME
            # counties: 15.x < 16), or the generation stopped early (without
            # contiguity its columns are cheap and it may stop long before
            # the limit): the rooted model's branching gets what is left
            use_mip = _cut(problem, labels) > lower + 1e-9
    if use_mip:
        left = 0.9 * (time_limit - (time.perf_counter() - t0))
        if not no_plan_exact:
            left -= reserve
        if left > (0.0 if no_plan_exact else reserve):
            with warnings.catch_warnings():
                # said once, by the status warning below
                warnings.simplefilter("ignore", TimeLimitWarning)
                out = solve_cut_edges(
                    problem,
                    time_limit=left,
                    seed=seed,
                    mip_gap=mip_gap,
                    start_labels=labels,
                )
            method += "+cutedges-mip"
            info.update(out.info)
            if out.status == "infeasible" and labels is None:
                info["method"] = method
                return CutEdgeOutcome(None, math.inf, math.inf, "infeasible", info)
            if out.status == "infeasible":
                # a plan meeting every band disproves the model's proof: keep
                # the plan, and not the model's bound
                info["cutedges_mip_contradicted"] = True
            else:
                lower = max(lower, float(out.bound))
            if out.labels is not None and (
                labels is None or _cut(problem, out.labels) <= _cut(problem, labels)
            ):
                labels = out.labels
            if labels is not None:
                # stopped within mip_gap (as asked, not by the clock) or not
                status = "feasible" if out.status == "feasible" else "time_limit"
    info["method"] = method
    seconds = time.perf_counter() - t0
    if labels is None:
        if warn:
            _warn_status(status, time_limit, seconds, lower, None)
        return CutEdgeOutcome(None, math.inf, lower, status, info)
    labels = np.unique(labels, return_inverse=True)[1].astype(np.int64)
    objective = _cut(problem, labels)
    if objective <= lower + 1e-9:
        status = "optimal"
    if warn:
        _warn_status(status, time_limit, seconds, lower, objective)
    return CutEdgeOutcome(labels, objective, min(lower, objective), status, info)


def _warn_status(
    status: str,
    time_limit: float,
    seconds: float,
    lower: float,
    objective: float | None,
) -> None:
    """The :class:`~terrakit.exceptions.TimeLimitWarning` of a
    :func:`solve_districting` run that ended ``"time_limit"`` or
    ``"no_solution"``."""
    import warnings

    from terrakit.exceptions import TimeLimitWarning

    if status == "no_solution":
        text = (
            f"status 'no_solution': no partition meeting every band was found in "
            f"{seconds:.3g} s of the {time_limit:g} s time limit (this is not a "
            "proof that none exists). Fix: raise time_limit"
        )
    elif status == "time_limit":
        text = (
            f"status 'time_limit': the exact bound stopped at the {time_limit:g} s "
            f"time limit; the best partition's cut is {objective:g}, the proven lower "
            f"bound {lower:g}. Fix: raise time_limit for a proof"
        )
    else:
        return
    warnings.warn(text, TimeLimitWarning, stacklevel=3)


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
    """The best plan of :func:`tree_partitions` (``None`` when none was found).

    See :func:`tree_partitions` for the method and the parameters.
    """
    plans = tree_partitions(
        problem, seed=seed, time_limit=time_limit, max_plans=max_plans
    )
    return plans[0] if plans else None


def tree_partitions(
    problem: DesignProblem,
    *,
    seed: int | None = 0,
    time_limit: float = 10.0,
    max_plans: int = 20,
) -> list[np.ndarray]:
    """Contiguous partitions meeting every band, by recursive spanning-tree splits.

    Draw a random spanning tree of the units not yet assigned, cut one tree
    edge whose smaller side meets the bands while the other side can still hold
    the remaining territories, and repeat on the rest (the idea behind
    recursive tree partitioning in redistricting).  Each territory is a subtree,
    so it is connected.  Useful where the bands are so narrow (±0.5 %) that
    annealing from a grown start does not reach a feasible partition.

    Returns
    -------
    list of numpy.ndarray
        Territory index per unit of each distinct plan found (up to
        ``max_plans`` within ``time_limit`` seconds), fewest cut edges first
        (ties: order found); empty when none was found.
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
    plans: dict[bytes, tuple[int, int, np.ndarray]] = {}
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
        key = _canonical(labels).tobytes()
        if key not in plans:
            plans[key] = (cut, found, labels)
    return [p[2] for p in sorted(plans.values(), key=lambda t: (t[0], t[1]))]


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered by first appearance (equal plans compare equal)."""
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    return rank[inv]


def solve_as_result(
    problem: DesignProblem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    start: np.ndarray | None = None,
    mip_gap: float = 1e-6,
    diagnose: bool = True,
) -> AlignmentResult | None:
    """:func:`solve_districting` as an :class:`AlignmentResult` (for ``solve_mip``).

    ``start`` is a center column per unit (``solve_mip``'s warm start,
    checked by :meth:`DesignProblem.check_start`).  The
    exact bound always runs: the set-partitioning bound by column generation
    on graphs of at most 100 units, the rooted model above.  ``None`` when no
    partition meeting the bands was found in time.  ``diagnose``: on
    infeasibility, name the band that cannot be met, as ``solve_mip`` does
    for the other objectives (each band alone, then contiguity).

    Raises
    ------
    InfeasibleError
        The model proved that no partition (contiguous, with contiguity)
        meets the bands; the message names the band that cannot be met
        when the diagnosis finds it.
    """
    t0 = time.perf_counter()
    labels0 = None
    if start is not None:
        labels0, _ = problem.territory_index(problem.check_start(start))
    out = solve_districting(
        problem,
        time_limit=0.9 * time_limit,
        seed=seed,
        bound="cg" if problem.n_units <= 100 else "mip",
        exact_nodes=problem.n_units,
        start_labels=labels0,
        mip_gap=mip_gap,
        warn=False,  # solve_mip warns for a time_limit run; None falls back
    )
    if out.status == "infeasible":
        why = ""
        if diagnose:
            # the same diagnosis as solve_mip's location model (imported here:
            # mip imports this module)
            from terrakit.design.mip import _diagnose

            why = _diagnose(problem, "highs", time_limit, seed)
            why = "" if why == "no alignment meets all constraints" else f"; {why}"
        raise InfeasibleError(
            f"the design problem {problem.name!r} is infeasible (mip/highs, rooted "
            "cut-edge model): no partition into "
            f"{problem.n_territories} territories meets every band"
            + (" with contiguous territories" if problem.contiguity else "")
            + why
        )
    if out.labels is None:
        return None
    cfg = {"time_limit": time_limit, "backend": "highs", "mip_gap": mip_gap}
    model = (
        "set-partitioning bound by column generation"
        if "cg-bound" in out.info["method"]
        else "rooted cut-edge"
    )
    info: dict[str, Any] = {"model": model, **out.info}
    # "feasible": the rooted model stopped within mip_gap (not by the clock)
    gap_stop = out.status == "feasible" and "stopped_at_gap" in out.info
    status: Status = (
        "optimal"
        if out.status == "optimal"
        else ("feasible" if gap_stop else "time_limit")
    )
    return AlignmentResult.from_columns(
        problem,
        _columns_from_labels(problem, out.labels),
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

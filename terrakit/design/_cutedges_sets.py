"""Branching on the root sets after the column generation (cut-edge districting).

The column generation (:mod:`terrakit.design._cutedges_cg`) proves the best
partition's value ``T`` once its Lagrangian bound exceeds ``T - 1``.  When
time runs short of that, what it learnt is still worth a lot:

- the roots and root sets that no partition at or below ``T - 1`` uses
  (ruled out by reduced-cost fixing), and the roots every such partition
  uses;
- at each exact pricing call's multipliers :math:`\\pi`, a lower bound
  :math:`b_j` on :math:`c_D - \\pi(D)` for every district ``D`` rooted at
  ``j``.

This module branches on the root sets left.  For each allowed set ``S`` it
solves the rooted model of :mod:`terrakit.design.cutedges` with exactly the
roots of ``S`` (the other roots' variables fixed to 0), an objective cutoff
of ``T - 1/2`` (HiGHS ``objective_bound``: only partitions at or below
``T - 1`` are searched), and one *Lagrangian cut* per root and call:

.. math::

    \\sum_i \\Bigl(\\tfrac{d_i}{2} - \\pi_i\\Bigr) x_{ij}
    - \\sum_{e = uv} w_e\\, s_{ej} - b_j\\, x_{jj} \\;\\ge\\; 0,

with :math:`d_i` the weighted degree of unit ``i``.  For the district ``D``
rooted at ``j`` the left side is :math:`c_D - \\pi(D) - b_j \\ge 0` (at most
that when some :math:`s_{ej}` sits below its value), and ``0`` when ``j`` is
not a root, so the cut removes no partition.  With the roots fixed, the cuts
of different calls combine into an LP bound above each single call's
Lagrangian bound: the set's own "branch" of a branch-and-price.  A set whose
run ends infeasible holds no partition at or below ``T - 1``; when every
allowed set does, ``T`` is optimal.  Otherwise the bound is the least over
the sets not proved of their MIP dual bound (or Lagrangian bound when not
run), and at most ``T``.

Each set is solved first without the flows (a relaxation, 2-4x faster on
OK counties), and with them only when its relaxation has a solution below the
cutoff or was not settled in time.  Measured (``benchmarks/README.md``): on OK
counties the generation stalls at a bound of 38.2-39 and leaves 2-18 root
sets, which this branch proves in 20-30 s: 40, optimal in 46-54 s of 60.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from terrakit.design._cutedges_cg import RootSets
from terrakit.design._model import to_highs
from terrakit.design.cutedges import _build, _cut, _edge_pairs
from terrakit.design.problem import DesignProblem

__all__ = ["RootSetProof", "prove_root_sets"]

_DEBUG = bool(os.environ.get("TERRAKIT_CG_DEBUG"))


@dataclass(frozen=True)
class RootSetProof:
    """Result of :func:`prove_root_sets`.

    Attributes
    ----------
    bound
        Valid lower bound on the cut (at most the target; ``-inf`` when the
        sets were too many to list).
    labels
        Territory index per unit of a partition below the target found on
        the way (rare: the heuristics usually find the optimum), or ``None``.
    objective
        Its cut (``inf`` without labels).
    info
        ``root_sets`` (listed), ``root_sets_proved``, ``lagrangian_cuts``,
        ``root_set_seconds``.
    """

    bound: float
    labels: np.ndarray | None
    objective: float
    info: dict[str, float] = field(default_factory=dict)


def _cuts(
    problem: DesignProblem,
    state: RootSets,
    ii: np.ndarray,
    jj: np.ndarray,
    x0: int,
    s0: int,
    es: np.ndarray,
    js: np.ndarray,
    ew: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Rows (COO) of the Lagrangian cuts, one per active root and call."""
    adj = sp.csr_matrix(problem.adjacency)
    deg = np.asarray(adj.sum(axis=1)).ravel() - adj.diagonal()
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    count = 0
    pairs_of = {int(j): np.flatnonzero(jj == j) for j in np.unique(jj).tolist()}
    inner_of = {int(j): np.flatnonzero(js == j) for j in np.unique(js).tolist()}
    for pi, lbs in state.history:
        for t in np.flatnonzero(state.active & np.isfinite(lbs)).tolist():
            j = int(state.roots[t])
            p = pairs_of[j]
            q = inner_of.get(j, np.zeros(0, dtype=np.int64))
            coef = 0.5 * deg[ii[p]] - pi[ii[p]]
            coef[ii[p] == j] -= lbs[t]
            cols += [x0 + p, s0 + q]
            vals += [coef, -ew[es[q]]]
            rows.append(np.full(p.size + q.size, count, dtype=np.int64))
            count += 1
    if not count:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), 0
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), count


def prove_root_sets(
    problem: DesignProblem,
    ok: np.ndarray,
    state: RootSets,
    target: float,
    *,
    time_limit: float,
    workers: int | None = None,
) -> RootSetProof:
    """Prove that no partition costs less than ``target`` (module Notes).

    Parameters
    ----------
    problem
        A plain cut-edge districting problem with integral edge weights
        (:func:`terrakit.design.cutedges.applies`).
    ok
        The pairs the column generation used
        (:func:`terrakit.design.cutedges._pairs`).
    state
        :attr:`terrakit.design._cutedges_cg.ColumnBound.root_sets` of a run
        whose target was at least ``target`` (what it ruled out costs at
        least its own target).
    target
        The best partition's cut (integral).
    time_limit
        Seconds in all.
    workers
        Sets solved at once, one HiGHS run per thread (default: up to 2).

    Returns
    -------
    RootSetProof
    """
    import highspy

    from terrakit.design._highs import new_highs

    t0 = time.perf_counter()
    info: dict[str, float] = {"root_sets": 0.0, "root_sets_proved": 0.0}
    if state.sets is None:
        return RootSetProof(-math.inf, None, math.inf, info)
    sets = list(state.sets)
    info["root_sets"] = float(len(sets))
    n = problem.n_units
    ok2 = ok.copy()
    ok2[:, state.roots[~state.active]] = False
    if not sets or not ok2[ok.any(axis=1)].any(axis=1).all():
        # no root set (or no root for some unit) is left below the target
        return RootSetProof(float(target), None, math.inf, info)
    _eu, _ev, ew, es, js = _edge_pairs(problem, ok2)
    # first without the flows (a relaxation, about 3x faster on OK
    # counties), then with them for the sets it did not settle
    stages = []
    for flows in (False, True):
        model, ii, jj, x0, constant = _build(
            replace(problem, contiguity=problem.contiguity and flows), ok2
        )
        r, c, v, ncut = _cuts(problem, state, ii, jj, x0, x0 + ii.size, es, js, ew)
        if ncut:
            model.add_rows(ncut, r, c, v, 0.0, np.inf)
        stages.append(model)
        if not problem.contiguity:
            break
    info["lagrangian_cuts"] = float(ncut)
    xid = np.full((n, n), -1, dtype=np.int64)
    xid[ii, jj] = x0 + np.arange(ii.size)
    act = np.flatnonzero(state.active)
    root_col = xid[state.roots[act], state.roots[act]].astype(np.int32)
    # the Lagrangian bound of each set, at its best call
    lag = np.full(len(sets), -math.inf)
    for pi, lbs in state.history:
        base = float(pi.sum())
        for q, s in enumerate(sets):
            lag[q] = max(lag[q], base + float(lbs[list(s)].sum()))
    lower = lag.copy()
    proved = np.zeros(len(sets), dtype=bool)
    found: list[tuple[float, np.ndarray]] = []
    cutoff = float(target) - 0.5 - constant
    n_workers = max(1, int(workers or min(2, os.cpu_count() or 1)))
    models: list[Any] = []
    idle: list[int] = []

    def load(model: Any, relax: bool) -> None:
        models.clear()
        for _ in range(min(n_workers, len(sets))):
            h = new_highs()
            to_highs(model, h)
            h.setOptionValue("mip_rel_gap", 1e-6)
            h.setOptionValue("objective_bound", cutoff)
            # only a proof is sought: no primal heuristics, no strong
            # branching, cuts at the root node only (as in the root pricing;
            # OK counties' sets 7-11 % faster)
            h.setOptionValue("mip_heuristic_effort", 0.0)
            h.setOptionValue("mip_pscost_minreliable", 0)
            h.setOptionValue("mip_allow_cut_separation_at_nodes", False)
            if relax:
                # a set below the cutoff without the flows goes on to them
                h.setOptionValue("mip_max_improving_sols", 1)
            models.append(h)
        idle[:] = range(len(models))

    def solve(q: int, w: int, limit: float) -> bool:
        """Solve set ``q`` on model ``w``; whether it finished."""
        h = models[w]
        on = np.isin(act, sets[q]).astype(float)
        h.changeColsBounds(root_col.size, root_col, on, on)
        h.setOptionValue("time_limit", max(limit, 0.05))
        tr = time.perf_counter()
        h.run()
        st = h.getModelStatus()
        hinfo = h.getInfo()
        if _DEBUG:
            print(
                f"  root set {state.roots[list(sets[q])].tolist()} "
                f"lagrangian={lag[q]:.3f} {st.name} "
                f"dual={hinfo.mip_dual_bound + constant:.3f} "
                f"nodes={hinfo.mip_node_count} {time.perf_counter() - tr:.2f}s",
                flush=True,
            )
        ms = highspy.HighsModelStatus
        dual = float(hinfo.mip_dual_bound)
        if st == ms.kInfeasible:
            dual = math.inf  # nothing below the cutoff
        if math.isfinite(dual):
            lower[q] = max(lower[q], math.ceil(dual + constant - 1e-6))
        elif dual > 0:
            lower[q] = math.inf
        if lower[q] >= target:
            proved[q] = True
            return True
        below = int(hinfo.primal_solution_status) == 2 and (
            float(hinfo.objective_function_value) + constant < target - 0.5
        )
        if relaxed[0]:
            # a solution below the cutoff may be disconnected: the flows
            # decide; otherwise the relaxation only ran out of time
            disconnected[q] = below
            return below
        if below:
            x = np.asarray(h.getSolution().col_value)[x0 : x0 + ii.size]
            root_of = np.full(n, -1, dtype=np.int64)
            pick = x > 0.5
            root_of[ii[pick]] = jj[pick]
            labels = np.unique(root_of, return_inverse=True)[1]
            # the cut of the labels, exactly (not HiGHS's float)
            found.append((_cut(problem, labels), labels))
        return st == ms.kOptimal

    def run_pass(items: list[int], first: bool) -> list[int]:
        """Solve ``items`` on the workers; returns the sets stopped by their
        time share (first pass: an equal share of the time left, at least
        6 s; later: all of it)."""
        stopped: list[int] = []
        pending: dict[Any, tuple[int, int]] = {}
        nxt = 0
        with ThreadPoolExecutor(len(models)) as ex:
            while True:
                while idle and nxt < len(items) and not found:
                    left = time_limit - (time.perf_counter() - t0)
                    if left <= 0.05:
                        nxt = len(items)
                        break
                    share = left
                    if first:
                        share = max(len(models) * left / (len(items) - nxt), 6.0)
                    w = idle.pop()
                    q = items[nxt]
                    nxt += 1
                    pending[ex.submit(solve, q, w, min(share, left))] = (q, w)
                if not pending:
                    break
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    q, w = pending.pop(fut)
                    idle.append(w)
                    if not fut.result():
                        stopped.append(q)
        return stopped

    # the weakest sets first: they decide the bound if time runs out
    todo = np.argsort(lag, kind="stable").tolist()
    relaxed = [True]
    disconnected = np.zeros(len(sets), dtype=bool)
    for stage, model in enumerate(stages):
        relaxed[0] = stage < len(stages) - 1
        load(model, relaxed[0])
        stopped = run_pass(todo, True)
        run_pass(sorted(stopped, key=lambda q: lower[q]), False)
        # the flows get the sets whose relaxation has a solution below the
        # cutoff first, then those it did not settle in time
        todo = [q for q in todo if not proved[q]]
        todo.sort(key=lambda q: (not disconnected[q], lower[q]))
        if not todo or found:
            break
    info["root_sets_proved"] = float(proved.sum())
    info["root_set_seconds"] = time.perf_counter() - t0
    bound = min(float(target), float(lower.min()))
    if math.isfinite(bound):
        bound = float(math.ceil(bound - 1e-6))
    # else: a set without any bound (no pricing call recorded one, and its
    # model not solved in time) leaves the trivial bound -inf
    if found:
        value, labels = min(found, key=lambda f: f[0])
        return RootSetProof(min(bound, value), labels.astype(np.int64), value, info)
    return RootSetProof(bound, None, math.inf, info)

"""The exact path: a Hess-style location–allocation MIP.

The model is built once, vectorised, in array form
(:class:`terrakit.design._model.ArrayModel`) and handed to HiGHS (default,
through ``highspy``), to PuLP (``backend="pulp-highs"`` or ``"cbc"``) or to
OR-Tools CP-SAT (``backend="cpsat"``, integer-scaled coefficients).

Notes
-----
Units :math:`i`, center columns :math:`j` (allowed pairs only), binaries
:math:`x_{ij}` (unit *i* in the territory of center *j*) and, when centers are
chosen, :math:`y_j` (center *j* opened):

.. math::

    \\min \\sum_{ij} c_{ij} x_{ij} \\quad\\text{s.t.}\\quad
    \\sum_j x_{ij} = 1, \\qquad
    x_{ij} \\le y_j, \\qquad \\sum_j y_j = k, \\qquad
    L_{ja} y_j \\le \\sum_i a_{ia} x_{ij} \\le U_{ja} y_j

(with :math:`y_j \\equiv 1` for fixed centers).  A chosen center whose
column sits in a unit (``center_units``, :math:`r_j`) serves that unit:
:math:`x_{r_j j} = y_j` (Hess et al. 1965; the CPMP's :math:`x_{jj} = y_j`),
with or without contiguity, so an open center is a unit of its own
territory.  Locks fix :math:`x_{ij} = 1`; the maximum distance and "a unit
alone above a band" remove pairs.

*Contiguity* (``contiguity_method="flow"``, Shirabe 2009): per center *j* an
integer flow :math:`f_{uvj} \\ge 0` on both directions of every adjacency edge
inside the allowed pairs, emitted by the center's unit :math:`r_j`
(:math:`x_{r_j j} = y_j`); every other unit of the territory consumes one unit:
:math:`\\sum_u f_{uij} - \\sum_v f_{ijv} = x_{ij}`, and
:math:`f_{uvj} \\le M x_{uj}`, :math:`f_{uvj} \\le M x_{vj}` with
:math:`M = n - k + 1`.  ``contiguity_method="cuts"`` instead re-solves with
separator cuts :math:`x_{ij} \\le \\sum_{v \\in N(C)} x_{vj}` for every unit
*i* of a component *C* of territory *j* that misses the center, until each
territory is connected.

*Cut edges* (Validi & Buchanan 2022): :math:`z_e \\ge x_{uj} - x_{vj}` and
:math:`z_e \\ge x_{vj} - x_{uj}` for every edge *e = uv* and center *j*;
objective :math:`\\sum_e w_e z_e`.

*Scenario balance* (``draws``): a binary :math:`w_s` per draw; the band holds
in draw *s* when :math:`w_s = 1` (big-M on both sides) and
:math:`\\sum_s w_s \\ge \\lceil \\text{share} \\cdot S \\rceil`.

*Budgets* (side constraints, e.g. a disruption budget): one row
:math:`\\sum_{ij} b_{ij} x_{ij} \\le B` each.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from terrakit.design._model import ArrayModel, SolveOutcome, solve_model
from terrakit.design.problem import DesignProblem, _rid
from terrakit.design.result import AlignmentResult, Status, relative_gap
from terrakit.exceptions import (
    InfeasibleError,
    SpecificationError,
    TerrakitWarning,
    TimeLimitWarning,
)

__all__ = ["build_model", "solve_mip"]

#: why the MIP refuses scenario balance with chosen centers, and the fixes
DRAWS_NEED_FIXED_CENTERS = (
    "the exact MIP does not model balance_on_draws with centers chosen among "
    "the units, only with fixed centers (one territory per rep); pass reps "
    'without n_territories for fixed centers, or use solver="heuristic" (or '
    '"auto"), which balances on draws with chosen centers'
)

#: the ways the MIP models contiguity (``solve_mip(contiguity_method=...)``)
_CONTIGUITY_METHODS = ("auto", "flow", "cuts")

_METHOD = {
    "highs": "mip/highs",
    "pulp-highs": "mip/pulp-highs",
    "cbc": "mip/cbc",
    "cpsat": "cpsat",
}


@dataclass
class _Layout:
    """Where the variables of the formulation sit in the array model."""

    model: ArrayModel
    ii: np.ndarray  # unit of each x pair
    jj: np.ndarray  # center column of each x pair
    x0: int
    y0: int | None
    pair_index: dict[tuple[int, int], int]
    mask: np.ndarray


def allowed_pairs(problem: DesignProblem) -> np.ndarray:
    """Boolean (n, m): pairs kept after max distance, locks and band fixings."""
    n, m = problem.n_units, problem.n_centers
    mask = (
        np.ones((n, m), dtype=bool)
        if problem.allowed is None
        else np.array(problem.allowed, dtype=bool)
    )
    # a unit whose activity alone exceeds a center's upper band cannot go there
    for _a, v, _lo, hi in problem.bands():
        his = hi if problem.center_mode == "fixed" else np.full(m, hi.max())
        mask &= ~(v[:, None] > his[None, :] * (1 + 1e-12) + 1e-12)
    for i, j in problem.locked.items():
        mask[i, :] = False
        mask[i, j] = True
    if problem.contiguity and problem.center_units is not None:
        # the unit hosting a fixed center belongs to it
        if problem.center_mode == "fixed":
            for j, r in enumerate(problem.center_units):
                if int(r) not in problem.locked:
                    mask[int(r), :] = False
                    mask[int(r), j] = True
        # a unit cannot reach a center outside its connected piece
        assert problem.adjacency is not None
        _, comp = connected_components(problem.adjacency, directed=False)
        mask &= comp[:, None] == comp[np.asarray(problem.center_units)][None, :]
    return mask


def build_model(
    problem: DesignProblem,
    *,
    contiguity_method: str = "flow",
    skip_bands: tuple[str, ...] = (),
) -> _Layout:
    """Build the array MIP of ``problem`` (see the module Notes)."""
    n, m, k = problem.n_units, problem.n_centers, problem.n_territories
    choose = problem.center_mode == "choose"
    mask = allowed_pairs(problem)
    ii, jj = np.nonzero(mask)
    npair = ii.size
    model = ArrayModel()
    if problem.objective in ("compactness", "travel"):
        xcost = problem.cost[ii, jj]
    elif problem.objective == "cut_edges":
        xcost = np.zeros(npair)
    else:
        raise SpecificationError(
            'the MIP does not model objective="diameter"; use solver="heuristic"'
        )
    x0 = model.add_vars(npair, cost=xcost, lb=0.0, ub=1.0, integer=True)
    pair_index = {
        (int(a), int(b)): x0 + p for p, (a, b) in enumerate(zip(ii, jj, strict=True))
    }
    xid = np.full((n, m), -1, dtype=np.int64)
    xid[ii, jj] = x0 + np.arange(npair)
    locked_cols = [xid[i, j] for i, j in problem.locked.items()]
    if locked_cols:
        model.set_lb(np.array(locked_cols), 1.0)
    # assignment
    model.add_rows(n, ii, x0 + np.arange(npair), 1.0, 1.0, 1.0)
    y0: int | None = None
    if choose:
        y0 = model.add_vars(m, cost=0.0, lb=0.0, ub=1.0, integer=True)
        # x_ij <= y_j per pair (strong form)
        r = np.repeat(np.arange(npair), 2)
        c = np.empty(2 * npair, dtype=np.int64)
        c[0::2] = x0 + np.arange(npair)
        c[1::2] = y0 + jj
        v = np.tile([1.0, -1.0], npair)
        model.add_rows(npair, r, c, v, -np.inf, 0.0)
        model.add_rows(1, np.zeros(m, int), y0 + np.arange(m), 1.0, k, k)
        # a chosen center serves its own unit, x_{c_j j} = y_j (Hess model;
        # the CPMP's x_jj = y_j), with or without contiguity: a center whose
        # unit cannot be assigned to it (no pair) stays closed
        if problem.center_units is not None:
            cu = np.asarray(problem.center_units)
            ok = xid[cu, np.arange(m)] >= 0
            closed = np.flatnonzero(~ok)
            ub = model.ub
            ub[y0 + closed] = 0.0
            model._ub = [ub]
            js = np.flatnonzero(ok)
            rr = np.repeat(np.arange(js.size), 2)
            cc = np.empty(2 * js.size, dtype=np.int64)
            cc[0::2] = xid[cu[js], js]
            cc[1::2] = y0 + js
            model.add_rows(js.size, rr, cc, np.tile([1.0, -1.0], js.size), 0.0, 0.0)
    # balance bands
    for a, vals, lo, hi in problem.bands():
        if a in skip_bands:
            continue
        coef = vals[ii]
        if not choose:
            lo_j = np.where(np.isfinite(lo), lo, -np.inf)
            hi_j = np.where(np.isfinite(hi), hi, np.inf)
            model.add_rows(m, jj, x0 + np.arange(npair), coef, lo_j, hi_j)
        else:
            assert y0 is not None
            for bound, is_upper in ((hi[0], True), (lo[0], False)):
                if not math.isfinite(bound) or (not is_upper and bound <= 0):
                    continue
                rows = np.concatenate([jj, np.arange(m)])
                cols = np.concatenate([x0 + np.arange(npair), y0 + np.arange(m)])
                v = np.concatenate([coef, np.full(m, -bound)])
                if is_upper:
                    model.add_rows(m, rows, cols, v, -np.inf, 0.0)
                else:
                    model.add_rows(m, rows, cols, v, 0.0, np.inf)
    # side budgets: sum_i cost[i, j] x_ij <= cap
    for bn, (bcost, cap) in problem.budgets.items():
        if f"budget:{bn}" in skip_bands:
            continue
        model.add_rows(
            1,
            np.zeros(npair, dtype=np.int64),
            x0 + np.arange(npair),
            np.asarray(bcost)[ii, jj],
            -np.inf,
            float(cap),
        )
    # scenario balance on draws
    if problem.draws is not None and "__draws__" not in skip_bands:
        if choose:
            raise SpecificationError(DRAWS_NEED_FIXED_CENTERS)
        draws = np.asarray(problem.draws)
        lo_s, hi_s = problem.draw_limits()
        S = draws.shape[1]
        w0 = model.add_vars(S, cost=0.0, lb=0.0, ub=1.0, integer=True)
        for s in range(S):
            big = float(draws[:, s].sum())
            rows = np.concatenate([jj, np.arange(m)])
            cols = np.concatenate([x0 + np.arange(npair), np.full(m, w0 + s)])
            coef = draws[ii, s]
            # sum <= hi + big (1 - w)  <=>  sum + big w <= hi + big
            model.add_rows(
                m,
                rows,
                cols,
                np.concatenate([coef, np.full(m, big)]),
                -np.inf,
                hi_s[s] + big,
            )
            # sum >= lo - big (1 - w)  <=>  sum - big w >= lo - big
            model.add_rows(
                m,
                rows,
                cols,
                np.concatenate([coef, np.full(m, -big)]),
                lo_s[s] - big,
                np.inf,
            )
        need = math.ceil(problem.draws_share * S - 1e-9)
        model.add_rows(1, np.zeros(S, int), w0 + np.arange(S), 1.0, need, np.inf)
    # contiguity by flows
    if problem.contiguity and contiguity_method == "flow":
        _add_flow(problem, model, xid, y0)
    if problem.objective == "cut_edges":
        _add_cut_edges(problem, model, xid, m)
    return _Layout(model, ii, jj, x0, y0, pair_index, mask)


def _add_flow(
    problem: DesignProblem, model: ArrayModel, xid: np.ndarray, y0: int | None
) -> None:
    assert problem.adjacency is not None and problem.center_units is not None
    n, m, k = problem.n_units, problem.n_centers, problem.n_territories
    adj = sp.coo_matrix(problem.adjacency)
    au, av = adj.row.astype(np.int64), adj.col.astype(np.int64)  # both directions
    big = float(n - k + 1)
    cu = np.asarray(problem.center_units)
    for j in range(m):
        root = int(cu[j])
        if xid[root, j] < 0:
            continue
        ok = (xid[au, j] >= 0) & (xid[av, j] >= 0) & (av != root)
        u, v = au[ok], av[ok]
        na = u.size
        if na == 0:
            continue
        f0 = model.add_vars(na, cost=0.0, lb=0.0, ub=big, integer=False)
        fcols = f0 + np.arange(na)
        # capacities: f <= big x_u, f <= big x_v
        for end in (u, v):
            r = np.repeat(np.arange(na), 2)
            c = np.empty(2 * na, dtype=np.int64)
            c[0::2] = fcols
            c[1::2] = xid[end, j]
            model.add_rows(na, r, c, np.tile([1.0, -big], na), -np.inf, 0.0)
        # conservation for the non-root units that may join j
        units = np.flatnonzero(xid[:, j] >= 0)
        units = units[units != root]
        if units.size == 0:
            continue
        pos = np.full(n, -1, dtype=np.int64)
        pos[units] = np.arange(units.size)
        rows = [pos[v], pos[u], pos[units]]
        cols = [fcols, fcols, xid[units, j]]
        vals = [np.ones(na), -np.ones(na), -np.ones(units.size)]
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        val = np.concatenate(vals)
        keep = r >= 0
        model.add_rows(units.size, r[keep], c[keep], val[keep], 0.0, 0.0)


def _add_cut_edges(
    problem: DesignProblem, model: ArrayModel, xid: np.ndarray, m: int
) -> None:
    assert problem.adjacency is not None
    e = sp.triu(problem.adjacency, k=1).tocoo()
    ne = e.row.size
    z0 = model.add_vars(ne, cost=e.data.astype(float), lb=0.0, ub=1.0, integer=False)
    for j in range(m):
        xu, xv = xid[e.row, j], xid[e.col, j]
        for a, b in ((xu, xv), (xv, xu)):
            # z_e - x_a + x_b >= 0, absent x are 0
            ok = a >= 0
            eidx = np.flatnonzero(ok)
            if eidx.size == 0:
                continue
            rows = [np.arange(eidx.size), np.arange(eidx.size)]
            cols = [z0 + eidx, a[eidx]]
            vals = [np.ones(eidx.size), -np.ones(eidx.size)]
            hasb = b[eidx] >= 0
            rows.append(np.flatnonzero(hasb))
            cols.append(b[eidx][hasb])
            vals.append(np.ones(int(hasb.sum())))
            model.add_rows(
                eidx.size,
                np.concatenate(rows),
                np.concatenate(cols),
                np.concatenate(vals),
                0.0,
                np.inf,
            )


def _decode(layout: _Layout, values: np.ndarray, n: int) -> np.ndarray:
    xv = values[layout.x0 : layout.x0 + layout.ii.size]
    best = np.full(n, -1.0)
    cols = np.zeros(n, dtype=np.int64)
    order = np.argsort(xv, kind="stable")
    # the last write per unit wins: the largest x value
    cols[layout.ii[order]] = layout.jj[order]
    best[layout.ii[order]] = xv[order]
    return cols


def _start_values(
    layout: _Layout, problem: DesignProblem, start: np.ndarray
) -> dict[int, float]:
    out: dict[int, float] = {}
    xid = layout.pair_index
    for i, j in enumerate(np.asarray(start, dtype=np.int64).tolist()):
        p = xid.get((i, j))
        if p is None:
            return {}
        out[p] = 1.0
    for (i, j), p in xid.items():
        if p not in out:
            out[p] = 0.0
        del i, j
    if layout.y0 is not None:
        used = set(np.asarray(start).tolist())
        for j in range(problem.n_centers):
            out[layout.y0 + j] = 1.0 if j in used else 0.0
    return out


def _separate(
    problem: DesignProblem, cols: np.ndarray
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Separator cuts for territories split into pieces: (column, C, N(C))."""
    assert problem.adjacency is not None and problem.center_units is not None
    adj = problem.adjacency
    cuts = []
    for j in np.unique(cols):
        members = np.flatnonzero(cols == j)
        sub = adj[members][:, members]
        nc, lab = connected_components(sub, directed=False)
        if nc <= 1:
            continue
        root = int(problem.center_units[j])
        root_lab = lab[np.searchsorted(members, root)] if cols[root] == j else -1
        for c in range(nc):
            if c == root_lab:
                continue
            comp = members[lab == c]
            inside = np.zeros(problem.n_units, dtype=bool)
            inside[comp] = True
            nb = np.unique(adj[comp].indices)
            nb = nb[~inside[nb]]
            cuts.append((int(j), comp, nb))
    return cuts


def _add_cuts(layout: _Layout, cuts: list[tuple[int, np.ndarray, np.ndarray]]) -> int:
    pid = layout.pair_index
    added = 0
    for j, comp, nb in cuts:
        nbx = [pid[(int(v), j)] for v in nb if (int(v), j) in pid]
        for i in comp:
            p = pid.get((int(i), j))
            if p is None:
                continue
            cols = np.array([p, *nbx], dtype=np.int64)
            vals = np.concatenate([[1.0], -np.ones(len(nbx))])
            layout.model.add_rows(1, np.zeros(cols.size, int), cols, vals, -np.inf, 0.0)
            added += 1
    return added


def solve_mip(
    problem: DesignProblem,
    *,
    time_limit: float = 60.0,
    backend: str = "highs",
    seed: int = 0,
    mip_gap: float = 1e-4,
    contiguity_method: str = "auto",
    start: np.ndarray | None = None,
    threads: int | None = None,
    check: bool = True,
    diagnose: bool = True,
    config: Mapping[str, Any] | None = None,
    heuristic_start: bool | None = None,
    max_iter: int | None = None,
) -> AlignmentResult:
    """Solve a :class:`DesignProblem` exactly (within ``mip_gap``) or to the time limit.

    A contiguous problem with fixed centers whose adjacency falls into
    several connected pieces (states that do not touch) is solved piece by
    piece (:meth:`DesignProblem.pieces`); ``result.info["pieces"]`` has one
    row per piece.

    Parameters
    ----------
    problem
        The design problem (matrix form).
    time_limit
        Seconds for build + solve (+ cut rounds).
    backend
        ``"highs"`` (highspy, default), ``"pulp-highs"``, ``"cbc"`` (PuLP) or
        ``"cpsat"`` (OR-Tools).
    seed
        Solver random seed.
    mip_gap
        Relative optimality tolerance.
    contiguity_method
        ``"flow"``, ``"cuts"`` or ``"auto"`` (flow for fixed centers or when
        the flow network stays below ~200,000 arcs, else cuts).
    start
        Optional warm start: a center column per unit.
    threads
        Solver threads (``None``: the solver's default; for CP-SAT one
        worker, so that a fixed ``seed`` reproduces — ``threads=n`` runs
        ``n`` workers, which is not reproducible).
    check
        Run :meth:`DesignProblem.check` first.
    diagnose
        On infeasibility, re-solve with one band at a time to name the band
        that cannot be met.
    heuristic_start
        Without ``start``, run the heuristic first (a quarter of the time
        limit at most; it stops sooner when done) and start the MIP from its
        plan when that meets every band.  ``None``: for fixed centers with
        contiguity or a band (or balance on draws), where tight bands make
        any plan hard for the MIP to find (the sample study at ±5 %,
        contiguous: none in 480 s without it; 1000 units, 20 reps, two ±3 %
        bands, no contiguity: none in 10 s).  The answer is the better of
        the MIP's plan and the start, and a MIP that finds no plan returns
        the start's heuristic run (no second run).
        Connected pieces solved apart (:meth:`DesignProblem.pieces`) each
        get their own start.
    max_iter
        Iteration budget of each annealing run of the heuristic that gives
        the start and the fallback (:func:`~terrakit.design.heuristic.solve_heuristic`).
        With it, a fixed seed gives the same start and fallback on any
        machine (when the heuristic's time share does not cut its budget);
        without it their schedules follow the clock.

    Returns
    -------
    AlignmentResult

    Raises
    ------
    SpecificationError
        From the pre-solve checks, or an unknown ``contiguity_method``.
    InfeasibleError
        The solver proved infeasibility (the message names the band: one
        that cannot be met on its own, or only together with contiguity);
        or it stopped at the time limit with no feasible alignment and the
        heuristic fallback's balance LP proved that none exists; or it
        stopped so and no heuristic fallback could run (not installed, or
        it failed: the message says that infeasibility was not proved).

    Warns
    -----
    TimeLimitWarning
        Stopped at the time limit with a feasible answer.  Also when it
        stopped with no feasible alignment: the heuristic's answer comes
        back instead (status ``"time_limit"`` when it meets every band; its
        closest plan with status ``"infeasible"`` and ``info["violations"]``
        when it does not — infeasibility was not proved).
    """
    t_start = time.perf_counter()
    if problem.objective == "diameter":
        # refused before the heuristic start runs (it took 2-15 s)
        raise SpecificationError(
            'the MIP does not model objective="diameter"; use solver="heuristic"'
        )
    if contiguity_method not in _CONTIGUITY_METHODS:
        raise SpecificationError(
            f"contiguity_method must be one of "
            f"{', '.join(map(repr, _CONTIGUITY_METHODS))}, got {contiguity_method!r}"
        )
    if start is not None:
        # one column per unit, whole numbers in range: refused here, before
        # any work (a bad start crashed the cut-edge model and was dropped
        # without a word by the location model)
        start = problem.check_start(start)
    if check:
        problem.check()
    start_used: dict[str, Any] = {}
    if start is not None:
        # a start that breaks a rule (a lock, a band, a pair not allowed)
        # is no plan the solvers can take: say so rather than drop it
        # without a word (the heuristic start may take its place)
        start_broken = problem.violations(start)
        if start_broken:
            warnings.warn(
                "the start breaks the rules and was not used as a warm start: "
                + "; ".join(start_broken[:3])
                + (
                    f" (and {len(start_broken) - 3} more)"
                    if len(start_broken) > 3
                    else ""
                )
                + ". Fix: pass a plan that meets every rule (e.g. the columns "
                "of an earlier feasible result), or no start",
                TerrakitWarning,
                stacklevel=2,
            )
            start_used = {"start": "rejected: " + "; ".join(start_broken[:3])}
            start = None
        else:
            start_used = {"start": "used"}
    method = _METHOD.get(backend)
    if method is None:
        raise ValueError(
            f"unknown backend {backend!r}; choose one of {sorted(_METHOD)}"
        )
    if backend == "highs" and problem.objective == "cut_edges":
        # every unit a candidate center: the rooted model without the
        # center-choice symmetry (terrakit.design.cutedges)
        from terrakit.design import cutedges

        if cutedges.applies(problem):
            rooted = cutedges.solve_as_result(
                problem,
                time_limit=time_limit,
                seed=seed,
                start=start,
                diagnose=diagnose,
            )
            if rooted is not None:
                if rooted.status == "time_limit":
                    warnings.warn(
                        f"{method} stopped at the time limit ({time_limit:g} s); "
                        f"returning the best alignment found (objective "
                        f"{rooted.objective:.6g}, bound {rooted.lower_bound:.6g})",
                        TimeLimitWarning,
                        stacklevel=2,
                    )
                return rooted
    pieces = problem.pieces()
    if len(pieces) > 1:
        return _solve_pieces(
            problem,
            pieces,
            t_start=t_start,
            time_limit=time_limit,
            backend=backend,
            seed=seed,
            mip_gap=mip_gap,
            contiguity_method=contiguity_method,
            start=start,
            threads=threads,
            diagnose=diagnose,
            config=config,
            heuristic_start=heuristic_start,
            max_iter=max_iter,
        )
    if heuristic_start is None:
        # fixed centers with contiguity or a band: any plan can be hard for
        # the MIP to find, and the heuristic finds one in a fraction of the
        # time (1000 units, 20 reps, two ±3 % bands: none in 10 s without it)
        heuristic_start = problem.center_mode == "fixed" and (
            problem.contiguity or bool(problem.banded) or problem.draws is not None
        )
    start_info: dict[str, Any] = {}
    # the start's heuristic run, kept: it is the fallback when the MIP finds
    # nothing (so the fallback needs no second run past the limit)
    first: tuple[AlignmentResult | None, float] | None = None
    if start is None and heuristic_start:
        t_h = time.perf_counter()
        start, start_info, first_res = _heuristic_start(
            problem, 0.25 * time_limit, seed, max_iter
        )
        first = (first_res, time.perf_counter() - t_h)
    cm = contiguity_method
    if problem.contiguity and cm == "auto":
        assert problem.adjacency is not None
        arcs = problem.adjacency.nnz * problem.n_centers
        cm = "flow" if problem.center_mode == "fixed" or arcs <= 200_000 else "cuts"
    tb = time.perf_counter()
    layout = build_model(problem, contiguity_method=cm)
    build_seconds = time.perf_counter() - tb
    warm = _start_values(layout, problem, start) if start is not None else None
    rounds = 0
    n_cuts = 0
    out: SolveOutcome
    while True:
        left = time_limit - (time.perf_counter() - t_start)
        if left <= 0:
            # the heuristic start and the build used the time: no solve,
            # the fallback answers as on a time limit
            out = SolveOutcome("no_solution", None, math.inf, -math.inf, 0.0, 0.0, {})
            break
        out = solve_model(
            layout.model,
            backend=backend,
            time_limit=left,
            mip_gap=mip_gap,
            seed=seed,
            start=warm,
            threads=threads,
        )
        build_seconds += out.build_seconds
        rounds += 1
        if out.values is None or not (problem.contiguity and cm == "cuts"):
            break
        cols = _decode(layout, out.values, problem.n_units)
        cuts = _separate(problem, cols)
        if not cuts:
            break
        n_cuts += _add_cuts(layout, cuts)
        if time.perf_counter() - t_start >= time_limit:
            out = SolveOutcome(
                "no_solution",
                None,
                math.inf,
                out.bound,
                out.build_seconds,
                out.solve_seconds,
                out.info,
            )
            break
    seconds = time.perf_counter() - t_start
    cfg = {
        "time_limit": time_limit,
        "backend": backend,
        "mip_gap": mip_gap,
        "contiguity_method": cm if problem.contiguity else None,
        **dict(config or {}),
    }
    info = {
        "build_seconds": build_seconds,
        "solve_seconds": seconds - build_seconds,
        "n_vars": layout.model.n_cols,
        "n_rows": layout.model.n_rows,
        "cut_rounds": rounds if cm == "cuts" else 0,
        "cuts": n_cuts,
        **start_info,
        **start_used,
        **out.info,
    }
    if out.status == "infeasible" and start is not None:
        # the start meets every rule (one that breaks one is dropped above):
        # the backend's "infeasible" is no proof (CP-SAT's presolve has cut
        # off feasible plans), so the start comes back, unproven
        s_obj = problem.evaluate(start)
        info["infeasibility_refuted"] = (
            f"it reported the problem infeasible, but the start (cost "
            f"{s_obj:.6g}) meets every rule"
        )
        warnings.warn(
            f"{method} proved nothing: {info['infeasibility_refuted']}; returning "
            "the start. Fix: solve again with backend='highs'",
            TimeLimitWarning,
            stacklevel=2,
        )
        cols = np.asarray(start, dtype=np.int64)
        return AlignmentResult.from_columns(
            problem,
            cols,
            status=_audited(problem, cols, "time_limit", info, method),
            lower_bound=-math.inf,
            method=method,
            seconds=time.perf_counter() - t_start,
            seed=seed,
            config=cfg,
            info=info,
            intervals=draw_intervals(problem, cols),
        )
    if out.status == "infeasible":
        msg = _diagnose(problem, backend, time_limit, seed) if diagnose else ""
        raise InfeasibleError(
            f"the design problem {problem.name!r} is infeasible ({method}): "
            f"{msg or 'no alignment meets all constraints'}"
        )
    if out.values is None:
        if first is not None:
            # the heuristic already ran for the MIP start: its answer stands
            fallback, left = first
        else:
            # the heuristic gets the time the MIP left, and at least a tenth
            # of the limit, so the call ends near its time limit
            left = max(time_limit - (time.perf_counter() - t_start), 0.1 * time_limit)
            fallback = _fallback(problem, left, seed, max_iter)
        if fallback is not None and fallback.status == "infeasible":
            # neither found a plan in the bands, and neither proved there is
            # none: the heuristic's closest plan, with what it breaks
            broken = "; ".join(fallback.info.get("violations", [])[:3])
            warnings.warn(
                f"{method} found no feasible alignment within {time_limit:g} s (it "
                f"stopped after {seconds:.3g} s) and "
                "did not prove infeasibility, and the heuristic found none in "
                f"{left:.3g} s; its closest plan comes back with status "
                f"'infeasible' and breaks: {broken}. Fix: raise time_limit or "
                "loosen the tolerance",
                TimeLimitWarning,
                stacklevel=2,
            )
            return fallback
        if fallback is not None:
            warnings.warn(
                f"{method} found no feasible alignment within {time_limit:g} s (it "
                f"stopped after {seconds:.3g} s); "
                f"returning the heuristic's answer (run for {left:.3g} s)",
                TimeLimitWarning,
                stacklevel=2,
            )
            # The MIP stopped at its limit: the answer is the best found in
            # the time, not a proven or complete search (DESIGN.md §4).
            if fallback.status != "optimal":
                fallback = _with_status(fallback, "time_limit")
            if math.isfinite(out.bound) and out.bound > fallback.lower_bound:
                # the MIP's bound holds without an incumbent: keep the better one
                lb = min(out.bound, fallback.objective)
                fallback = dataclasses.replace(
                    fallback,
                    lower_bound=lb,
                    gap=relative_gap(fallback.objective, lb),
                    info={**fallback.info, "bound": f"{method} (no incumbent)"},
                )
            return fallback
        raise InfeasibleError(
            f"{method} found no feasible alignment within {time_limit:g} s (it "
            f"stopped after {seconds:.3g} s) and "
            "did not prove infeasibility; raise time_limit or use "
            'solver="heuristic"'
        )
    cols = _decode(layout, out.values, problem.n_units)
    status: Status = "optimal" if out.status == "optimal" else "time_limit"
    bound = out.bound
    if start is not None:
        # a solver that takes the start as a hint only (CP-SAT), or not at
        # all (PuLP's HiGHS), may stop at a worse plan than the start: the
        # start, which meets every rule, stands then (and a fixed seed and
        # max_iter give the heuristic's back each time)
        s_obj = problem.evaluate(start)
        c_obj = problem.evaluate(cols)
        if s_obj < c_obj:
            cols = np.asarray(start, dtype=np.int64)
            info["kept_heuristic_start" if first is not None else "kept_start"] = True
            if status == "optimal" and c_obj - s_obj > mip_gap * abs(c_obj) + 1e-9:
                # a plan better than the "optimum" by more than mip_gap: the
                # solver's proof does not hold
                status = "time_limit"
                info["optimum_refuted"] = (
                    f"it called a plan of cost {c_obj:.6g} optimal, but the "
                    f"start costs {s_obj:.6g}"
                )
        if bound > s_obj:
            bound = s_obj  # no bound lies above a plan that meets every rule
    if status == "optimal" and not math.isfinite(bound):
        bound = problem.evaluate(cols)
    if first is not None and first[0] is not None:
        # the heuristic start's bound holds for this problem too; a solver
        # stopped early may prove less (-inf, or a root bound far below it),
        # as in the fallback branch: keep the better one, at most the objective
        hb = float(first[0].lower_bound)
        if math.isfinite(hb) and hb > bound:
            bound = min(hb, problem.evaluate(cols))
            how = first[0].info.get("bound")
            info["bound"] = f"heuristic start ({how})" if how else "heuristic start"
    if status == "time_limit":
        if "optimum_refuted" in info:
            why = f"{method} proved no optimum: {info['optimum_refuted']}"
        elif "cpsat_note" in info:
            # CP-SAT proved its plan optimal on integer-scaled costs, but the
            # scaling's rounding leaves more than mip_gap on the real ones
            why = f"{method} proved no optimum within mip_gap: {info['cpsat_note']}"
        else:
            why = (
                f"{method} stopped at the time limit ({time_limit:g} s, after "
                f"{seconds:.3g} s)"
            )
        warnings.warn(
            f"{why}; returning the best alignment found (objective "
            f"{problem.evaluate(cols):.6g}, bound {bound:.6g})",
            TimeLimitWarning,
            stacklevel=2,
        )
    status = _audited(problem, cols, status, info, method)
    return AlignmentResult.from_columns(
        problem,
        cols,
        status=status,
        lower_bound=bound,
        method=method,
        seconds=seconds,
        seed=seed,
        config=cfg,
        info=info,
        intervals=draw_intervals(problem, cols),
    )


def _with_status(res: AlignmentResult, status: Status) -> AlignmentResult:
    """``res`` with its status changed in the result and in the provenance of
    the result and of its alignment (which a study saves: it must say what
    the result says)."""
    prov = {**dict(res.provenance), "status": status}
    alignment = dataclasses.replace(res.alignment, provenance=prov)
    return dataclasses.replace(res, status=status, provenance=prov, alignment=alignment)


def _audited(
    problem: DesignProblem,
    cols: np.ndarray,
    status: Status,
    info: dict[str, Any],
    method: str,
) -> Status:
    """``status``, or ``"infeasible"`` when the decoded plan breaks a rule of
    the problem (:meth:`DesignProblem.violations`): the model and the rules
    disagree, so the plan is no answer, whatever the solver said.  The
    broken rules go to ``info["violations"]``, with a warning."""
    # the solver's own feasibility tolerance (1e-7 on a row), not a rule broken
    broken = problem.violations(cols, rtol=1e-6)
    if not broken:
        return status
    info["violations"] = broken[:20]
    info["n_violations"] = len(broken)
    warnings.warn(
        f"{method} returned a plan ({status}) that breaks {len(broken)} rule(s) "
        f"of the problem: {'; '.join(broken[:3])}; it comes back with status "
        "'infeasible'",
        TerrakitWarning,
        stacklevel=3,
    )
    return "infeasible"


def _solve_pieces(
    problem: DesignProblem,
    pieces: list[tuple[np.ndarray, np.ndarray]],
    *,
    t_start: float,
    time_limit: float,
    start: np.ndarray | None,
    config: Mapping[str, Any] | None,
    **kw: Any,
) -> AlignmentResult:
    """Solve the connected pieces of a contiguous fixed-center problem one by one.

    No territory crosses from one piece to another, so the pieces are
    independent problems (:meth:`DesignProblem.pieces`); each is far easier
    than all of them in one model, whose branch-and-bound must find every
    piece's answer at once.  A piece gets the time left times its share of
    the (unit, center) pairs still to solve, so time a piece leaves goes to
    the next.  The answer is optimal when every piece is; the bound is the
    sum of the pieces' bounds.
    """
    size = np.array([u.size * c.size for u, c in pieces], dtype=float)
    order = np.argsort(-size, kind="stable")
    cols = np.full(problem.n_units, -1, dtype=np.int64)
    bound = 0.0
    statuses: list[str] = []
    methods: list[str] = []
    rows: list[dict[str, Any]] = []
    for pos, p in enumerate(order):
        units, centers = pieces[p]
        left = time_limit - (time.perf_counter() - t_start)
        share = max(left * size[p] / size[order[pos:]].sum(), 0.05)
        sub = problem.restrict(units, centers)
        sub = sub.replace(name=f"{problem.name} (piece {pos + 1} of {len(pieces)})")
        cpos = np.full(problem.n_centers, -1, dtype=np.int64)
        cpos[centers] = np.arange(centers.size)
        sub_start = None if start is None else cpos[np.asarray(start)[units]]
        if sub_start is not None and np.any(sub_start < 0):
            sub_start = None
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TimeLimitWarning)
                res = solve_mip(
                    sub,
                    time_limit=share,
                    start=sub_start,
                    check=False,
                    config=config,
                    **kw,
                )
        except InfeasibleError as err:
            raise InfeasibleError(
                f"no territory can leave its connected piece, and in the piece of "
                f"{units.size} units holding territories "
                f"{', '.join(map(repr, sub.territory_ids or ()))}: {err}"
            ) from err
        assert res.columns is not None
        cols[units] = centers[np.asarray(res.columns)]
        bound += float(res.lower_bound)
        statuses.append(res.status)
        methods.append(res.method)
        rows.append(
            {
                "units": int(units.size),
                "territories": list(sub.territory_ids or ()),
                "status": res.status,
                "objective": float(res.objective),
                "lower_bound": float(res.lower_bound),
                "seconds": time.perf_counter() - t0,
                "time_limit": float(share),
                "method": res.method,
            }
        )
    seconds = time.perf_counter() - t_start
    status: Status = (
        "optimal" if all(s == "optimal" for s in statuses) else "time_limit"
    )
    method = methods[0] if len(set(methods)) == 1 else " + ".join(sorted(set(methods)))
    if status == "time_limit":
        warnings.warn(
            f"{method} stopped at the time limit ({time_limit:g} s) in "
            f"{sum(s != 'optimal' for s in statuses)} of {len(pieces)} connected "
            f"pieces; returning the best alignment found (objective "
            f"{problem.evaluate(cols):.6g}, bound {bound:.6g})",
            TimeLimitWarning,
            stacklevel=3,
        )
    cfg = {
        "time_limit": time_limit,
        "backend": kw.get("backend"),
        "mip_gap": kw.get("mip_gap"),
        "contiguity_method": kw.get("contiguity_method"),
        "pieces": len(pieces),
        **dict(config or {}),
    }
    info: dict[str, Any] = {"pieces": rows}
    status = _audited(problem, cols, status, info, method)
    return AlignmentResult.from_columns(
        problem,
        cols,
        status=status,
        lower_bound=bound,
        method=method,
        seconds=seconds,
        seed=kw.get("seed"),
        config=cfg,
        info=info,
        intervals=draw_intervals(problem, cols),
    )


def draw_intervals(problem: DesignProblem, cols: np.ndarray) -> pd.DataFrame | None:
    """Per-territory 5 / 50 / 95 % quantiles of the drawn activity, and the share
    of draws within the band."""
    if problem.draws is None:
        return None
    k = problem.n_territories
    # the sums and band test of DesignProblem.draws_met, so that a territory
    # on the band's edge is in band in both
    sums, ok = problem.draw_sums(cols)
    within = ok.mean(axis=1)
    tids = problem.territory_ids or tuple(range(k))
    return pd.DataFrame(
        {
            "q05": np.quantile(sums, 0.05, axis=1),
            "q50": np.quantile(sums, 0.5, axis=1),
            "q95": np.quantile(sums, 0.95, axis=1),
            "share_within_band": within,
        },
        index=pd.Index(tids, name="territory_id"),
    )


def _heuristic_start(
    problem: DesignProblem,
    time_limit: float,
    seed: int,
    max_iter: int | None = None,
) -> tuple[np.ndarray | None, dict[str, Any], AlignmentResult | None]:
    """The heuristic's plan as a MIP start, when it meets every band, and
    the heuristic's result itself (its closest plan when it does not)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        res = _fallback(problem, time_limit, seed, max_iter)
    if res is None or res.columns is None or problem.violations(res.columns):
        return None, {"heuristic_start": None}, res
    return np.asarray(res.columns), {"heuristic_start": float(res.objective)}, res


def _fallback(
    problem: DesignProblem,
    time_limit: float,
    seed: int,
    max_iter: int | None = None,
) -> AlignmentResult | None:
    try:
        from terrakit.design.heuristic import solve_heuristic
    except ImportError:
        return None
    try:
        res: AlignmentResult = solve_heuristic(
            problem, time_limit=time_limit, seed=seed, max_iter=max_iter
        )
    except InfeasibleError:
        raise  # the heuristic's balance LP proved it: no alignment exists
    except Exception:
        return None
    return res


def _diagnose_locks(problem: DesignProblem, limit: float, seed: int) -> str:
    """The message when contiguity cannot honour the locks, whatever the
    bands and the distance limit (and can without the locks); ``""`` when
    it can, or when that is not decided within ``limit`` seconds."""
    bare = problem.replace(
        tolerance={},
        lower={},
        upper={},
        draws=None,
        draws_tolerance=None,
        budgets={},
        allowed=None,
    )
    layout = build_model(bare, contiguity_method="flow")
    out = solve_model(layout.model, backend="highs", time_limit=limit, seed=seed)
    if out.status != "infeasible":
        return ""
    # the same without the locks: a map that no contiguous plan covers
    # (a piece without a home unit) is not the locks' fault
    unlocked = bare.replace(locked={}, lock_reasons={})
    layout = build_model(unlocked, contiguity_method="flow")
    out = solve_model(layout.model, backend="highs", time_limit=limit, seed=seed)
    if out.values is None:
        return ""
    tids = problem.territory_ids or problem.center_ids or ()
    locks = sorted(problem.locked.items())
    shown = ", ".join(
        f"{_rid(problem.unit_ids[i])} to {_rid(tids[j]) if j < len(tids) else j}"
        for i, j in locks[:5]
    ) + (f" (and {len(locks) - 5} more)" if len(locks) > 5 else "")
    whatever = "the bands" + (
        " and max_distance_km" if problem.allowed is not None else ""
    )
    return (
        f"the locks ({shown}) cannot be honoured with contiguous territories, "
        f"whatever {whatever}: a territory must reach each unit locked to it "
        "from its center's unit (the rep's home unit) without crossing units "
        "locked to other territories or their centers' units; unlock or "
        "re-lock those units, or set contiguity=False"
    )


def _diagnose(
    problem: DesignProblem, backend: str, time_limit: float, seed: int
) -> str:
    """Name the band that cannot be met (each band alone, then contiguity).

    A band "can be met" only when its sub-solve found a plan; a sub-solve
    that ran out of time without a plan or a proof decides nothing and is
    named as not decided in its time limit.
    """
    names = problem.banded + (["__draws__"] if problem.draws is not None else [])
    names += [f"budget:{b}" for b in problem.budgets]
    limit = max(1.0, min(10.0, time_limit / 4))
    if problem.locked and problem.contiguity:
        # the locks with contiguity alone (no band, no distance limit): when
        # they cannot be honoured, no tolerance or max_distance_km will help
        msg = _diagnose_locks(problem, limit, seed)
        if msg:
            return msg
    if problem.allowed is not None:
        # no band at all: then the distance limit (and the locks) are the
        # cause; with no band to drop, the problem as it is (the message is
        # the same: a band is no cause)
        layout = build_model(problem, contiguity_method="flow", skip_bands=tuple(names))
        out = solve_model(layout.model, backend="highs", time_limit=limit, seed=seed)
        if out.status == "infeasible":
            k = problem.n_territories
            return (
                f"no {k} territories reach every unit within max_distance_km, "
                "whatever the bands"
                + (" (with contiguity)" if problem.contiguity else "")
                + (" and the locks" if problem.locked else "")
                + "; raise max_distance_km"
                + (" or n_territories" if problem.center_mode == "choose" else "")
            )

    def what(a: str) -> str:
        if a == "__draws__":
            tau = 100 * float(problem.draws_tolerance or 0.0)
            share = 100 * problem.draws_share
            return f"the balance on draws (±{tau:.3g} % in {share:.3g} % of draws)"
        if a.startswith("budget:"):
            return f"the budget {a[7:]!r}"
        tol = problem.tolerance.get(a)
        return f"the band on {a!r}" + (
            f" (±{100 * tol:.3g} %)" if tol is not None else ""
        )

    locks = " and the locks" if problem.locked else ""
    # sub-solves that ended without a plan and without a proof: nothing can
    # be said of them ("can be met" needs a plan)
    open_: list[str] = []

    def undecided(out: SolveOutcome, label: str) -> None:
        if out.status != "infeasible" and out.values is None:
            open_.append(label)

    def tail() -> str:
        if not open_:
            return ""
        return (
            f"; could not be decided in {limit:.3g} s: {', '.join(open_)} (raise "
            "time_limit to let the diagnosis finish)"
        )

    # each band alone, first without contiguity: a band that cannot be met
    # on its own is not contiguity's fault
    free = problem.replace(contiguity=False) if problem.contiguity else problem
    alone_ok: list[str] = []
    for a in names:
        others = tuple(b for b in names if b != a)
        layout = build_model(free, skip_bands=others)
        out = solve_model(layout.model, backend="highs", time_limit=limit, seed=seed)
        undecided(out, f"{what(a)} on its own")
        if out.values is not None:
            alone_ok.append(a)
        if out.status == "infeasible":
            held = [
                *(["the locks"] if problem.locked else []),
                *(["max_distance_km"] if problem.allowed is not None else []),
            ]
            given = f" (given {' and '.join(held)})" if held else ""
            return (
                f"{what(a)} cannot be met on its own{given}"
                + (", even without contiguity" if problem.contiguity else "")
                + (
                    "; loosen draws_tolerance or lower draws_share"
                    if a == "__draws__"
                    else ""
                )
            )
    if problem.contiguity:
        for a in names:
            others = tuple(b for b in names if b != a)
            layout = build_model(problem, contiguity_method="flow", skip_bands=others)
            out = solve_model(
                layout.model, backend="highs", time_limit=limit, seed=seed
            )
            if out.status == "infeasible":
                if a in alone_ok:
                    return f"{what(a)} cannot be met together with contiguity{locks}"
                return (
                    f"{what(a)} cannot be met with contiguity{locks}; whether it "
                    f"can be met without contiguity could not be decided in "
                    f"{limit:.3g} s"
                )
            undecided(out, f"{what(a)} with contiguity")
    if problem.contiguity:
        p2 = problem.replace(contiguity=False)
        layout = build_model(p2)
        out = solve_model(layout.model, backend="highs", time_limit=limit, seed=seed)
        if out.values is not None:
            return (
                "the bands can be met, but not with contiguous territories; loosen "
                "the tolerances or set contiguity=False"
            )
        if out.status == "infeasible":
            if len(names) > 1 and len(alone_ok) == len(names):
                return (
                    "each band alone can be met, but not all together ("
                    + ", ".join(what(a) for a in names)
                    + "), even without contiguity"
                )
            return "no alignment meets all constraints, even without contiguity" + (
                tail()
            )
        undecided(out, "all bands together without contiguity")
    if len(names) > 1 and len(alone_ok) == len(names):
        return (
            "each band alone can be met, but not all together ("
            + ", ".join(what(a) for a in names)
            + ")"
            + tail()
        )
    return "no alignment meets all constraints" + tail()

"""Array-level engine behind :func:`terrakit.design.heuristic.solve_heuristic`.

Kept free of the public problem/result classes so it can be tested and
benchmarked on plain arrays; :mod:`terrakit.design.heuristic` translates.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from terrakit.design._assign import (
    lagrangian_bound,
    round_by_mip,
    solve_assignment_lp,
)
from terrakit.design._bandsearch import band_search
from terrakit.design._choose import flow_assign, round_heavy, seed_centers
from terrakit.design._dual import DUAL_MIN_PAIRS, dual_lp
from terrakit.design._graphsearch import (
    anneal,
    contiguous,
    cut_bound,
    grow_partition,
)
from terrakit.design._pmedian_bound import (
    BANDED_BOUND_CELLS,
    BANDED_LP_CELLS,
    BANDED_LP_SECONDS_PER_CELL,
    MULTI_BAND_CELLS,
    MULTI_BAND_PATIENCE,
    RegionCuts,
    banded_kmedian_bound,
    banded_kmedian_lp,
    pmedian_lagrangian_bound,
    region_cuts,
)
from terrakit.design._search import (
    SearchSpace,
    balance_flow,
    connect_roots,
    edge_list,
    grow_balanced,
    grow_with_prices,
    improve_flow,
    improve_pairs,
    improve_single_moves,
    joins_ok,
    leaves_ok,
    neighbour_lists,
    regrow_strays,
    repair_bands,
    territory_pieces,
    violation,
)
from terrakit.exceptions import InfeasibleError


@dataclass
class Spec:
    """Everything the engine needs, as arrays (``n`` units, ``m`` columns).

    - ``"compactness"`` / ``"travel"``: minimise ``Σ cost[i, center(i)]``;
      ``choose`` false: column ``t`` is territory ``t``'s fixed center
      (``m == k``); ``choose`` true: pick ``k`` of the ``m`` candidate columns.
    - ``"cut_edges"``: number of cut edges of ``adjacency``;
    - ``"diameter"``: largest ``dist`` between two units of a territory.

    ``locked[i]`` is a column (``-1``: free); ``center_units[j]`` the unit of
    column ``j`` (kept in its territory when ``contiguity``).
    """

    activities: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    cost: np.ndarray
    objective: str = "compactness"
    choose: bool = False
    center_units: np.ndarray | None = None
    adjacency: sp.csr_matrix | None = None
    contiguity: bool = False
    locked: np.ndarray | None = None
    dist: np.ndarray | None = None
    allowed: np.ndarray | None = None
    #: names of the first activity columns (the point bands; draw bands follow)
    activity_names: tuple[str, ...] | None = None

    @property
    def n(self) -> int:
        return int(self.activities.shape[0])

    @property
    def k(self) -> int:
        return int(self.lower.shape[0])


@dataclass
class Outcome:
    """Engine result: labels, objective, bound and diagnostics.

    ``clock_cut``: an annealing run with an iteration budget (``max_iter``)
    was stopped by the clock before its budget was spent (or had no time to
    start), so the answer depends on the machine's speed and load, not only
    on the seed.  Always false without ``max_iter``.
    """

    labels: np.ndarray
    objective: float
    lower_bound: float
    feasible: bool
    centers: np.ndarray | None
    bound_method: str
    iterations: int = 0
    notes: list[str] = field(default_factory=list)
    violation: float = 0.0
    pieces_left: int = 0
    clock_cut: bool = False


def _medoids(
    cost: np.ndarray, labels: np.ndarray, k: int, keep: dict[int, int]
) -> np.ndarray:
    """Best candidate column per territory: ``argmin_j Σ_{i∈t} cost[i, j]``.

    Distinct columns; territories in ``keep`` keep their column.
    """
    n = cost.shape[0]
    ind = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
    # inf (forbidden pairs) only when there are any: no n × m copy otherwise
    tot = np.asarray(ind @ cost)
    if not np.isfinite(tot).all():
        tot = np.where(np.isfinite(tot), tot, 1e300)
    chosen = np.full(k, -1, dtype=np.int64)
    used: set[int] = set()
    for t, j in keep.items():
        chosen[t] = j
        used.add(j)
    for t in np.argsort(-np.bincount(labels, minlength=k)).tolist():
        if chosen[t] >= 0:
            continue
        for j in np.argsort(tot[t]).tolist():
            if j not in used:
                chosen[t] = j
                used.add(j)
                break
    return chosen


def _initial_centers(
    cost: np.ndarray,
    k: int,
    rng: np.random.Generator,
    keep: list[int],
    activity: np.ndarray | None = None,
) -> np.ndarray:
    """Seed centers: :func:`terrakit.design._choose.seed_centers`.

    Centers where the (first banded) activity is, one per territory's share
    of it, in ``O(k · n log n)`` without copying the cost matrix (the
    k-means++ scoring it replaces took 53 s at 32,845 units × 2,000
    candidates).
    """
    a = np.ones(cost.shape[0]) if activity is None else activity
    return seed_centers(cost, a, k, rng, keep)


def solve_location(
    spec: Spec,
    *,
    time_limit: float,
    seed: int | None,
    progress: bool = False,
    max_iter: int | None = None,
) -> Outcome:
    """Compactness / travel: LP assignment ⇄ relocation, repair, local search.

    Returns labels ``0..k-1`` and ``centers`` (the column of each territory).
    With chosen centers the LP of the lower bound runs on a thread meanwhile
    (:class:`_BackgroundLP`); it is stopped before this returns or raises.
    """
    t0 = time.perf_counter()
    # not with ``max_iter``: whether the LP ends before the bound needs it is
    # the clock's call, and the bound must be the seed's alone
    bg_lp = (
        _BackgroundLP.start(spec, deadline=t0 + 0.9 * time_limit)
        if spec.choose and max_iter is None
        else None
    )
    try:
        return _solve_location(
            spec,
            time_limit=time_limit,
            seed=seed,
            progress=progress,
            max_iter=max_iter,
            t0=t0,
            bg_lp=bg_lp,
        )
    finally:
        if bg_lp is not None:
            bg_lp.cancel()


def _solve_location(
    spec: Spec,
    *,
    time_limit: float,
    seed: int | None,
    progress: bool,
    max_iter: int | None,
    t0: float,
    bg_lp: _BackgroundLP | None,
    start: np.ndarray | None = None,
) -> Outcome:
    """The body of :func:`solve_location` (``t0``: its start).

    ``start``: the chosen centers to begin with (columns) instead of the
    seeded ones; given when a retry after forbidden pairs found centers
    within reach of every unit (:func:`_centers_in_reach`).
    """
    # chosen centers: keep the last 20 % of the time for the lower bound
    deadline = t0 + (0.8 if spec.choose else 1.0) * time_limit
    rng = np.random.default_rng(seed)
    n, k = spec.n, spec.k
    m = spec.cost.shape[1]
    act = spec.activities
    scale = np.maximum(np.abs(act).sum(axis=0) / k, 1e-12)
    notes: list[str] = []
    cost_all = np.asarray(spec.cost, dtype=float)
    if spec.allowed is not None:
        cost_all = np.where(spec.allowed, cost_all, np.inf)
    locked_col = spec.locked if spec.locked is not None else np.full(n, -1)
    pinned: list[int] = sorted(set(locked_col[locked_col >= 0].tolist()))
    # annealing runs with an iteration budget that the clock stopped first
    cut: list[bool] = []

    # chosen centers with one banded activity: exact balanced flows
    band_cols = np.flatnonzero(
        np.isfinite(spec.upper).any(axis=0) | np.isfinite(spec.lower).any(axis=0)
    )
    flows = spec.choose and act.shape[1] == 1 and len(band_cols) == 1
    if spec.choose and start is not None:
        centers = np.asarray(start, dtype=np.int64)
    elif spec.choose:
        a_seed = act[:, band_cols[0]] if len(band_cols) else None
        centers = _initial_centers(cost_all, k, rng, pinned, a_seed)
    else:
        centers = np.arange(k)

    def territory_locks(centers: np.ndarray) -> np.ndarray:
        col_to_t = np.full(m, -1, dtype=np.int64)
        col_to_t[centers] = np.arange(k)
        lk = np.where(locked_col >= 0, col_to_t[np.maximum(locked_col, 0)], -1)
        if spec.contiguity and spec.center_units is not None:
            cu = np.asarray(spec.center_units)[centers]
            lk[cu] = np.arange(k)
        return lk

    q = min(k, 8)
    if flows:
        # center relocation on exact balanced assignments (min-cost flows)
        budget = t0 + 0.3 * time_limit
        keep_cols = {int(np.flatnonzero(centers == j)[0]): j for j in pinned}
        moved = _relocate_by_flows(
            cost_all,
            act[:, 0],
            spec.lower[:, 0],
            spec.upper[:, 0],
            centers,
            territory_locks,
            keep_cols,
            q=q,
            budget=budget,
            max_iter=max_iter,
            progress=progress,
            notes=notes,
        )
        flows = moved is not None
    if flows and moved is not None:
        centers, labels, it = moved
        if not (spec.contiguity and spec.adjacency is not None):
            return _finish_free_choice(
                spec,
                cost_all,
                centers,
                labels,
                territory_locks(centers),
                t0=t0,
                time_limit=time_limit,
                deadline=deadline,
                q=q,
                it=it,
                notes=notes,
                lp=bg_lp,
                max_iter=max_iter,
                seed=0 if seed is None else seed,
            )
    if spec.choose and not flows:
        # center relocation on a fast balanced assignment (prices on the
        # bands, vectorised), one exact LP for the final centers
        budget = t0 + 0.3 * time_limit
        keep_cols = {int(np.flatnonzero(centers == j)[0]): j for j in pinned}
        lk = territory_locks(centers)
        labels, cur = _price_assignment(
            cost_all[:, centers], act, spec.lower, spec.upper, lk, scale
        )
        it = 1
        for it in range(2, 40):
            if max_iter is None and time.perf_counter() > budget:
                break
            new_centers = _medoids(cost_all, labels, k, keep_cols)
            if np.array_equal(new_centers, centers):
                break
            lk2 = territory_locks(new_centers)
            lab2, new = _price_assignment(
                cost_all[:, new_centers], act, spec.lower, spec.upper, lk2, scale
            )
            if not (new[1] < cur[1] and new[0] <= cur[0] + 0.05):
                break
            centers, labels, cur, lk = new_centers, lab2, new, lk2
            if progress:
                print(f"  relocation {it}: cost {cur[1]:.6g}, violation {cur[0]:.3g}")
    lk = territory_locks(centers)
    cost = cost_all[:, centers]
    # the LP gets most, not all, of the time left: a time-limited LP keeps
    # its iterate and the repairs below still need time
    lp_time = max(0.6 * (deadline - time.perf_counter()), 1)
    if not spec.choose and n * k >= DUAL_MIN_PAIRS:
        # fixed centers at large scale: the Lagrangian dual by smoothed ascent
        # (it watches the deadline) instead of the LP, minutes per HiGHS
        # solve; with ``max_iter`` its iteration budget decides and the
        # deadline is a safety net (past it, the run is cut by the clock)
        lp = dual_lp(
            cost,
            act,
            spec.lower,
            spec.upper,
            locked=lk,
            time_limit=lp_time,
            deadline=None if max_iter is None else deadline,
        )
        _past(deadline, None if max_iter is None else cut)
    else:
        lp = solve_assignment_lp(
            cost, act, spec.lower, spec.upper, q=q, locked=lk, time_limit=lp_time
        )
    if lp.status == "infeasible":
        names = spec.activity_names
        if not spec.choose and (names is None or act.shape[1] <= len(names)):
            # the reps' homes are the centers: no split assignment meets the
            # bands, so no alignment does (a proof, not a give-up; not with
            # scenario draws, whose bands here hold in a chosen few draws)
            raise InfeasibleError(
                _infeasible_bands(spec, cost, lk, q, deadline - time.perf_counter())
            )
        if spec.choose and spec.allowed is not None and start is None:
            # forbidden pairs (max_distance_km): the seeded centers leave
            # units out of reach (or too much activity near too few
            # centers); look for centers that reach every unit within the
            # limit and start over from them, once, in the time left
            col = int(band_cols[0]) if len(band_cols) else 0
            reach_cut: list[bool] = []
            reach_centers, reach_rounds = _centers_in_reach(
                cost_all,
                act[:, col],
                spec.lower[:, col],
                spec.upper[:, col],
                centers,
                territory_locks,
                {int(np.flatnonzero(centers == j)[0]): j for j in pinned},
                q=q,
                rng=rng,
                deadline=deadline,
                clock_cut=None if max_iter is None else reach_cut,
            )
            if reach_centers is not None:
                out = _solve_location(
                    spec,
                    time_limit=time_limit,
                    seed=seed,
                    progress=progress,
                    max_iter=max_iter,
                    t0=t0,
                    bg_lp=bg_lp,
                    start=reach_centers,
                )
                out.notes[:0] = [
                    *notes,
                    "balance LP infeasible for the first centers (max_distance_km "
                    f"or no route); centers within reach of every unit after "
                    f"{reach_rounds} rounds of penalised flows",
                ]
                out.clock_cut = out.clock_cut or bool(cut) or bool(reach_cut)
                return out
            notes.append(
                f"no centers within reach of every unit found ({reach_rounds} rounds "
                "of penalised flows)"
            )
        return Outcome(
            np.full(n, -1),
            math.inf,
            -math.inf,
            False,
            centers,
            "none",
            notes=["balance LP infeasible for these centers", *notes],
            clock_cut=bool(cut),
        )
    if lp.status == "time_limit" and max_iter is not None:
        cut.append(True)  # the LP's time share stopped it: not the seed's answer
    if lp.status == "dual":
        notes.append("balance by Lagrangian dual ascent (large instance, no LP)")
    elif lp.status != "optimal":
        notes.append(f"balance LP stopped early ({lp.status}); its iterate is kept")
    labels = lp.labels
    if not spec.choose:
        it = 1
    if progress:
        print(f"  LP objective {lp.objective:.6g}")
    final_cost = cost
    bound_lp = lp  # its duals give the bound (the unrestricted LP)
    adj = spec.adjacency
    contiguous = spec.contiguity and adj is not None
    space = SearchSpace(
        neighbour_lists(adj, n) if adj is not None else [[] for _ in range(n)],
        edge_list(adj) if adj is not None else np.zeros((0, 2), dtype=np.int64),
        act,
        spec.lower,
        spec.upper,
        cost=final_cost,
        locked=lk,
        roots=_roots(spec, centers, final_cost) if contiguous else None,
        adjacency=adj,
    )
    pieces_left = 0
    if contiguous:
        labels = _contiguous_start(
            labels,
            space,
            lp.duals,
            notes,
            deadline=time.perf_counter()
            + 0.5 * max(deadline - time.perf_counter(), 0.0),
            clock_cut=None if max_iter is None else cut,
        )
        if spec.choose and spec.center_units is not None:
            # bands the boundary repairs cannot reach (heavy units, roots in
            # the way): re-partition regions of territories, new centers
            labels, centers = _regions_repair(
                labels,
                space,
                spec,
                cost_all,
                centers,
                territory_locks,
                rng,
                notes,
                deadline=time.perf_counter()
                + 0.5 * max(deadline - time.perf_counter(), 0.0),
                clock_cut=None if max_iter is None else cut,
            )
            final_cost = cost_all[:, centers]
            space = space.replace(
                cost=final_cost,
                locked=territory_locks(centers),
                roots=_roots(spec, centers, final_cost),
            )
    else:
        rounded = labels
        labels = _repair_bands_free(labels, space)
        if space.total_violation(labels) > 1e-12 and max_iter is None:
            # heavy units on several bands: single moves cannot reach the
            # bands; the assignment MIP for these centers often can, in
            # seconds (sample, 10 chosen centers, two bands: benchmarks/README)
            left = max(deadline - time.perf_counter(), 0.0)
            mip_seed = 0 if seed is None else seed
            lab = round_by_mip(
                final_cost,
                act,
                spec.lower,
                spec.upper,
                rounded,  # the fewest moves from the LP's plan
                q=q,
                locked=lk,
                # chosen centers: the cost is improved with relocated centers
                time_limit=(0.4 if spec.choose else 0.8) * left,
                seed=mip_seed,
                polish=not spec.choose,
                # chosen centers: no polish follows, so the fewest moves
                # are weighed against their cost
                move_cost=CHOSEN_MOVE_COST if spec.choose else 0.0,
            )
            notes.append(
                f"band repair by the assignment MIP: feasible={lab is not None}"
            )
            if lab is not None:
                labels = lab
                if spec.choose:
                    # the centers were placed for the broken plan: medoids of
                    # the plan in band, and the assignment MIP for them, while
                    # the cost falls
                    labels, centers, rounds = _relocate_by_mip(
                        cost_all,
                        act,
                        spec.lower,
                        spec.upper,
                        labels,
                        centers,
                        pinned,
                        territory_locks,
                        q=q,
                        seed=mip_seed,
                        deadline=time.perf_counter()
                        + 0.8 * max(deadline - time.perf_counter(), 0.0),
                    )
                    notes.append(f"center relocation by the assignment MIP: {rounds}")
                    final_cost = cost_all[:, centers]
                    lk = territory_locks(centers)
                    space = space.replace(cost=final_cost, locked=lk)
        labels = _anneal_free(
            labels, space, rng, deadline, time_limit, max_iter, clock_cut=cut
        )
    moves = 0
    restart: Callable[[float], np.ndarray | None] | None = None
    if contiguous and space.total_violation(labels) > 1e-12:
        # greedy repair stuck: the balancing LP over the boundary units, then
        # penalised annealing on cost + band violation; while bands stay
        # broken and time is left, both again from where the last stopped
        from terrakit.design._search import repair_bands_lp

        def violated(lab: np.ndarray) -> bool:
            return space.total_violation(lab) > 1e-12

        def stop_at(share: float, until: float | None) -> float:
            # ``share`` of the time left before ``until`` (default: the
            # deadline); with max_iter all of it, the deadline a safety net
            end = deadline if until is None else until
            return _share(end, share, None if max_iter is None else cut)

        def boundary_lp(
            lab: np.ndarray, share: float, until: float | None = None
        ) -> np.ndarray:
            lab = repair_bands_lp(lab, space, deadline=stop_at(share, until))
            _past(
                deadline if until is None else until, None if max_iter is None else cut
            )
            return lab

        def recombine(
            lab: np.ndarray, share: float, until: float | None = None
        ) -> np.ndarray:
            # whole branches at once: tight bands on chunky units; ``until``
            # (a repeated repair) instead of the deadline: no note of its own
            if not violated(lab) or space.roots is None:
                return lab
            from terrakit.design._recom import recombine_bands

            lab = recombine_bands(
                lab,
                space,
                rng,
                deadline=stop_at(share, until),
                steps=None if max_iter is None else 20_000,
                clock_cut=cut,
            )
            if until is None:
                notes.append(
                    f"band repair by recombination: feasible={not violated(lab)}"
                )
            return lab

        start = labels.copy()

        def repair_again(end: float) -> np.ndarray | None:
            # the same repair again from the same start: another plan in band
            # (its callers run without max_iter: by the clock up to ``end``)
            lab = recombine(boundary_lp(start, 0.3, end), 1.0, end)
            return None if violated(lab) else lab

        # half the time left, but up to 20 s where 70 % of it allows: the
        # annealed repair meets a thin band late in its window (±5 % sample:
        # 6 of 6 runs with 12 s, 3 of 6 with 6 s; benchmarks/README.md)
        left = max(deadline - time.perf_counter(), 1e-9)
        labels = recombine(
            boundary_lp(labels, 0.2),
            _SMALL_REPAIR_SHARE
            if n <= _SMALL_REPAIR_UNITS
            else max(0.5, min(0.7, _REPAIR_SECONDS / left)),
        )
        sa_ok = not violated(labels)
        if space.roots is not None:
            restart = repair_again
        schedule: tuple[tuple[float, float], ...] = (
            (20.0, 1.0),
            (5.0, 2.0),
            (50.0, 0.5),
        )
        for attempt in range(20):
            if sa_ok:
                break
            left = max(deadline - time.perf_counter(), 0.0)
            if attempt > 0 and (max_iter is not None or left < 0.05 * time_limit):
                break
            if restart is not None and max_iter is None:
                # the recombination again from the same start, before the
                # penalised annealing (which met no ±5 % sample band measured)
                share = _SMALL_REPAIR_SHARE if n <= _SMALL_REPAIR_UNITS else 0.6
                lab = restart(time.perf_counter() + share * left)
                notes.append(
                    f"band repair round {attempt + 1}: recombination from the "
                    f"start, feasible={lab is not None}"
                )
                if lab is not None:
                    labels, sa_ok = lab, True
                    break
                left = max(deadline - time.perf_counter(), 0.0)
            sa_end = time.perf_counter() + min(0.7 * left, 0.6 * time_limit)
            if attempt > 0:
                sa_end = time.perf_counter() + 0.5 * left
                schedule = ((50.0, 0.5),)
            if max_iter is not None:
                sa_end = deadline  # iteration budgets decide: reproducible
            labels, sa_ok = _anneal_attempts(
                labels,
                space,
                rng,
                sa_end,
                schedule,
                contiguity=True,
                max_iter=max_iter,
                chain=True,
                clock_cut=cut,
            )
            if not sa_ok:
                labels = recombine(boundary_lp(labels, 0.3), 0.5)
                sa_ok = not violated(labels)
            notes.append(f"band repair round {attempt + 1}: feasible={sa_ok}")
    if contiguous:
        if (
            space.roots is not None
            and n <= _RECOMBINE_UNITS * k
            and space.total_violation(labels) <= 1e-12
        ):
            labels = _recombination_search(
                labels,
                space,
                rng,
                deadline=deadline,
                restart=restart,
                # an iteration budget: no repeated repairs (their number
                # follows the clock), annealing by step count (reproducible)
                restarts=_RESTARTS if max_iter is None else 0,
                steps=_ANNEAL_STEPS_PER_UNIT * n if max_iter is None else max_iter,
                notes=notes,
                clock_cut=None if max_iter is None else cut,
            )
        labels = _polish(
            labels,
            space,
            deadline=deadline,
            clock_cut=None if max_iter is None else cut,
        )
    else:
        labels = _local_search_free(
            labels,
            space,
            deadline=deadline,
            clock_cut=None if max_iter is None else cut,
        )
    viol = space.total_violation(labels)
    objective = float(final_cost[np.arange(n), labels].sum())
    if spec.contiguity and adj is not None:
        comp = territory_pieces(labels, adj)
        pieces_left = max(0, len(np.unique(comp)) - k)
    if not spec.choose:
        bound = lagrangian_bound(
            cost_all, act, spec.lower, spec.upper, bound_lp.duals, locked=lk
        )
        at = "dual-ascent multipliers" if bound_lp.status == "dual" else "LP duals"
        method = (
            f"Lagrangian dual of the balance rows at the {at} "
            "(fixed centers; integrality and contiguity relaxed)"
        )
    else:
        # the bound stops short of the limit: the result is built after it
        end = max(t0 + 0.97 * time_limit, time.perf_counter() + 0.02 * time_limit)
        bound, method = _choose_bound(
            spec,
            cost_all,
            objective,
            labels,
            centers,
            deadline=end,
            lp=bg_lp,
            steps=None if max_iter is None else _bound_steps(spec),
        )
        _past(end, None if max_iter is None else cut)
    bound = min(max(bound, _cost_floor(cost_all)), objective)
    return Outcome(
        labels,
        objective,
        bound,
        viol <= 1e-9 and pieces_left == 0,
        centers,
        method,
        iterations=it + moves,
        notes=notes,
        violation=viol,
        pieces_left=pieces_left,
        clock_cut=bool(cut),
    )


def _cost_floor(cost_all: np.ndarray) -> float:
    """A lower bound that needs no solve: ``Σ_i min(0, min_j cost[i, j])``.

    0 with nonnegative costs (the usual floor of a distance objective), the
    sum of the negative parts with negative costs, which
    :class:`~terrakit.design.problem.DesignProblem` accepts (net costs,
    incentives): a floor of 0 there would lift the bound above the optimum
    and report a plan as optimal that is not.  Forbidden pairs (``inf``)
    never set a row's minimum.
    """
    row_min = np.min(cost_all, axis=1, initial=np.inf)
    return float(np.minimum(row_min, 0.0).sum())


def _infeasible_bands(
    spec: Spec, cost: np.ndarray, locked: np.ndarray, q: int, seconds: float
) -> str:
    """Why the balance LP for fixed centers is infeasible: the bands that
    cannot be met even alone (each checked by its own LP), else all of them
    together; with the locks and forbidden pairs (``max_distance_km``)."""
    p = spec.activities.shape[1]
    names = spec.activity_names or tuple(f"activity {b}" for b in range(p))
    finite = np.isfinite(spec.lower) | np.isfinite(spec.upper)
    banded = [int(b) for b in np.flatnonzero(finite.any(axis=0)) if b < len(names)]
    alone = []
    per = max(seconds, 1.0) / max(len(banded), 1)
    if len(banded) > 1:
        for b in banded:
            one = solve_assignment_lp(
                cost, spec.activities[:, [b]], spec.lower[:, [b]],
                spec.upper[:, [b]], q=q, locked=locked, time_limit=per,
            )  # fmt: skip
            if one.status == "infeasible":
                alone.append(b)

    def band(b: int) -> str:
        lo, hi = spec.lower[:, b], spec.upper[:, b]
        return f"{names[b]!r} within [{np.min(lo):.6g}, {np.max(hi):.6g}]"

    extra = [
        what
        for what, on in (
            ("the locks", spec.locked is not None and (spec.locked >= 0).any()),
            (
                "each rep's home unit in its own territory (contiguity)",
                spec.contiguity and spec.center_units is not None,
            ),
            ("max_distance_km", spec.allowed is not None),
        )
        if on
    ]
    if alone:  # only checked with several bands
        plural = "s" if len(alone) > 1 else ""
        listed = " and ".join(band(b) for b in alone)
        cause = f"the band{plural} on {listed} cannot be met even alone"
    elif len(banded) > 1:
        listed = " and ".join(band(b) for b in banded)
        cause = f"the bands on {listed} cannot be met together"
    else:
        cause = f"the band on {' and '.join(band(b) for b in banded)} cannot be met"
    with_ = f" with {' and '.join(extra)}" if extra else ""
    return (
        f"no alignment exists: {cause}{with_}, even if units could be split "
        "between territories (the LP relaxation of the balanced assignment is "
        "infeasible); loosen the tolerance"
        + (", unlock units or raise max_distance_km" if extra else "")
    )


def _relocate_by_mip(
    cost_all: np.ndarray,
    act: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    labels: np.ndarray,
    centers: np.ndarray,
    pinned: list[int],
    territory_locks: Callable[[np.ndarray], np.ndarray],
    *,
    q: int,
    seed: int,
    deadline: float,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Chosen centers, a plan in every band: each territory's center moves to
    its medoid (the cost cannot rise), then the assignment MIP for the new
    centers improves the plan from there (the bands do not depend on the
    centers, so the plan stays in them); repeated while the centers change
    and time is left.  Returns labels, centers and a summary of the rounds.
    """
    n, k = labels.size, centers.size
    rows = np.arange(n)
    cost = float(cost_all[rows, centers[labels]].sum())
    start = cost
    done = 0
    moved = True  # the plan changed since the last MIP for these centers
    full = False  # the last MIP had all the time left
    while True:
        left = deadline - time.perf_counter()
        if left < 1.0:
            break
        keep = {int(np.flatnonzero(centers == j)[0]): j for j in pinned}
        new = _medoids(cost_all, labels, k, keep)
        stable = bool(np.array_equal(new, centers))
        if stable and not moved and full:
            break  # the MIP for these centers had all the time and kept the plan
        if not stable:
            centers = new
            cost = float(cost_all[rows, centers[labels]].sum())
        lab = round_by_mip(
            cost_all[:, centers],
            act,
            lower,
            upper,
            labels,
            q=q,
            locked=territory_locks(centers),
            # medoids that stay put: the time left goes to the MIP for them
            time_limit=left if stable else max(1.0, left / 2),
            seed=seed,
        )
        full = stable
        done += 1
        moved = False
        if lab is not None:
            c = float(cost_all[rows, centers[lab]].sum())
            if c < cost:
                labels, cost, moved = lab, c, True
    return labels, centers, f"{done} round(s), cost {start:.6g} -> {cost:.6g}"


def _relocate_by_flows(
    cost_all: np.ndarray,
    a: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    centers: np.ndarray,
    territory_locks: Callable[[np.ndarray], np.ndarray],
    keep_cols: dict[int, int],
    *,
    q: int,
    budget: float,
    max_iter: int | None,
    progress: bool,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Chosen centers, one banded activity: balanced assignment by min-cost
    flow (:func:`~terrakit.design._choose.flow_assign`, exact up to rounding
    the few split units) ⇄ each territory's center moved to its medoid, while
    the cost falls (or until ``budget``).  Returns centers, labels and the
    number of rounds, or ``None`` when the first flow is infeasible."""
    n = cost_all.shape[0]
    rows = np.arange(n)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    it = 0
    for it in range(1, 60):
        ck = cost_all[:, centers]
        fa = flow_assign(ck, a, lower, upper, territory_locks(centers), q=q)
        if not fa.feasible:
            notes.append(f"relocation {it}: balanced flow infeasible for these centers")
            if best is None:
                return None  # the caller falls back to price-based relocation
            break
        obj = float(ck[rows, fa.labels].sum())
        if best is not None and obj >= best[0] * (1 - 1e-6):
            break
        best = (obj, centers, fa.labels)
        if progress:
            print(f"  relocation {it}: flow cost {obj:.6g}")
        if max_iter is None and time.perf_counter() > budget:
            break
        new_centers = _medoids(cost_all, fa.labels, len(centers), keep_cols)
        if np.array_equal(new_centers, centers):
            break
        centers = new_centers
    assert best is not None
    notes.append(f"centers relocated on balanced flows: {it} rounds")
    return best[1], best[2], it


#: Rounds of :func:`_centers_in_reach` (flow, then medoids or a swap each):
#: 53 Georgia counties, k = 3, 110 km took up to 66; the 259 sample
#: counties, k = 12, 197 km, 1 or 2.
_REACH_ROUNDS = 300


def _centers_in_reach(
    cost_all: np.ndarray,
    a: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    centers: np.ndarray,
    territory_locks: Callable[[np.ndarray], np.ndarray],
    keep_cols: dict[int, int],
    *,
    q: int,
    rng: np.random.Generator,
    deadline: float,
    max_rounds: int = _REACH_ROUNDS,
    clock_cut: list[bool] | None = None,
) -> tuple[np.ndarray | None, int]:
    """Chosen centers for which the balanced flow of ``a`` exists although
    some pairs are forbidden (``inf`` in ``cost_all``: ``max_distance_km``).

    Forbidden pairs get a penalty above any allowed cost (per unit of ``a``
    ``1000 ×`` the largest allowed cost per unit), so the balanced flow
    (:func:`~terrakit.design._choose.flow_assign`) uses them only where the
    centers leave it no choice, and the medoids of that flow move the
    centers toward the units they must reach.  When the medoids stop moving
    (or come back to centers already tried) while forbidden pairs are still
    used, a unit on one of them (drawn by ``rng``, by its ``a``) gets a
    center: its territory's center moves to the candidate that reaches it
    with the least penalised cost over the territory.  Territories in
    ``keep_cols`` (locks) keep their column.

    Returns the centers (``None`` when none were found: the bands cannot be
    met even without the forbidden pairs, no candidate reaches a unit, or
    ``max_rounds`` / ``deadline`` came first) and the rounds run.  The
    rounds, not the clock, decide with a fixed ``rng``: ``deadline`` is a
    safety net whose passing is appended to ``clock_cut`` (when given).
    """
    fin = np.isfinite(cost_all)
    n = cost_all.shape[0]
    k = len(centers)
    rows = np.arange(n)
    a_pos = np.maximum(np.asarray(a, dtype=float), 0.0)
    finite_cost = np.where(fin, cost_all, 0.0)
    per = finite_cost / np.maximum(a_pos, 1e-300)[:, None]
    per_max = float(per[fin & (a_pos > 0)[:, None]].max(initial=0.0)) or 1.0
    pen = np.maximum(1e3 * per_max * a_pos, 10.0 * finite_cost.max(axis=1) + 1.0)
    pc = np.where(fin, cost_all, pen[:, None])
    free_t = [t for t in range(k) if t not in keep_cols]
    tried: set[tuple[int, ...]] = set()
    for r in range(1, max_rounds + 1):
        if time.perf_counter() > deadline:
            if clock_cut is not None:
                clock_cut.append(True)
            return None, r - 1
        fa = flow_assign(pc[:, centers], a, lower, upper, territory_locks(centers), q=q)
        if not fa.feasible:
            return None, r  # the bands alone cannot be met
        lab = fa.labels
        bad = ~fin[rows, centers[lab]]
        if not bad.any():
            real = flow_assign(
                cost_all[:, centers], a, lower, upper, territory_locks(centers), q=q
            )
            if real.feasible:
                return centers, r
        key = tuple(sorted(centers.tolist()))
        new = _medoids(pc, lab, k, keep_cols)
        if key in tried or tuple(sorted(new.tolist())) in tried | {key}:
            # stuck: a center for a unit still on a forbidden pair
            far = np.flatnonzero(bad) if bad.any() else rows
            w = a_pos[far]
            i = int(rng.choice(far, p=w / w.sum()) if w.sum() > 0 else rng.choice(far))
            t = int(lab[i])
            if t in keep_cols:
                if not free_t:
                    return None, r
                t = int(rng.choice(free_t))
            reach = np.flatnonzero(fin[i])
            reach = reach[~np.isin(reach, new)]
            if reach.size == 0:
                return None, r
            tot = pc[lab == t][:, reach].sum(axis=0)
            new = new.copy()
            new[t] = int(reach[np.argmin(tot)])
        tried.add(key)
        centers = new
    return None, max_rounds


def _fill_unassigned(cost: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Units a rounding left without a territory (``-1``: its flow was
    infeasible under shrunk bands) go to their cheapest allowed center, so
    that the plan is whole; a band this breaks is reported as a violation."""
    gone = np.flatnonzero(labels < 0)
    if gone.size == 0:
        return labels
    out = labels.copy()
    out[gone] = np.argmin(cost[gone], axis=1)  # forbidden pairs cost inf
    return out


def _finish_free_choice(
    spec: Spec,
    cost_all: np.ndarray,
    centers: np.ndarray,
    labels: np.ndarray,
    lk: np.ndarray,
    *,
    t0: float,
    time_limit: float,
    deadline: float,
    q: int,
    it: int,
    notes: list[str],
    lp: _BackgroundLP | None = None,
    max_iter: int | None = None,
    seed: int = 0,
) -> Outcome:
    """Chosen centers without contiguity, one banded activity: the rounded
    flow's band breaks repaired and the cost improved by
    :func:`~terrakit.design._bandsearch.band_search` (chains of moves,
    swaps), then the chosen-centers lower bound.  The search stops at
    ``deadline`` (one of its passes can take minutes with few territories).
    Bands that four roundings leave broken go to the assignment MIP
    (:func:`~terrakit.design._assign.round_by_mip`, ``seed`` for HiGHS)."""
    n, k = spec.n, spec.k
    act = spec.activities
    cost = cost_all[:, centers]
    # with ``max_iter``: a step the clock stopped (the run is then reported
    # as cut by the clock, see :func:`_past`)
    cut: list[bool] = []
    lo1, hi1 = spec.lower[:, 0], spec.upper[:, 0]
    half = (hi1 - lo1) / 2
    thr = float(half.min()) if np.isfinite(half).all() else np.inf
    lo_s, hi_s = lo1.copy(), hi1.copy()
    best: tuple[float, float, np.ndarray] | None = None
    rows = np.arange(n)
    for attempt in range(4):
        # rounding left a few territories just outside: shrink only their
        # violated side by twice the violation and round again
        labels, more = round_heavy(
            cost,
            act[:, 0],
            lo_s,
            hi_s,
            lk,
            threshold=thr,
            deadline=max(deadline - 0.3 * time_limit, time.perf_counter() + 1.0),
            q=q,
        )
        labels = _fill_unassigned(cost, labels)
        labels = band_search(
            cost,
            act[:, 0],
            lo1,
            hi1,
            labels,
            lk,
            q=q,
            reach=3 * -(-n // k),
            deadline=deadline,
            clock_cut=None if max_iter is None else cut,
        )
        sums1 = np.bincount(labels, weights=act[:, 0], minlength=k)
        over = np.maximum(sums1 - hi1, 0.0)
        under = np.maximum(lo1 - sums1, 0.0)
        score = (float((over + under).sum()), float(cost[rows, labels].sum()))
        if best is None or score < best[:2]:
            best = (score[0], score[1], labels)
            if attempt == 0:
                notes.extend(more)
        if score[0] == 0.0 or time.perf_counter() > deadline - 0.3 * time_limit:
            break
        notes.append(
            f"rounding attempt {attempt + 1}: {int(((over + under) > 0).sum())} "
            "territories outside their band; their bands shrunk"
        )
        hi_s = np.maximum(hi_s - 2 * over, (lo1 + hi1) / 2)
        lo_s = np.minimum(lo_s + 2 * under, (lo1 + hi1) / 2)
    assert best is not None
    labels = best[2]
    scale = np.maximum(np.abs(act).sum(axis=0) / k, 1e-12)

    def band_violation(lab: np.ndarray) -> float:
        sums = np.zeros((k, act.shape[1]))
        np.add.at(sums, lab, act)
        return float(violation(sums, spec.lower, spec.upper, scale).sum())

    viol = band_violation(labels)
    if viol > 1e-9 and max_iter is None:
        # the roundings left bands broken: the assignment MIP for these
        # centers, as on the LP path (not with ``max_iter``: the clock would
        # decide its plan)
        left = max(deadline - time.perf_counter(), 0.0)
        lab = round_by_mip(
            cost,
            act,
            spec.lower,
            spec.upper,
            labels,  # the fewest moves from the best rounding
            q=q,
            locked=lk,
            time_limit=0.4 * left,
            seed=seed,
            polish=False,
            move_cost=CHOSEN_MOVE_COST,
        )
        notes.append(f"band repair by the assignment MIP: feasible={lab is not None}")
        if lab is not None:
            labels = lab
            viol = band_violation(labels)
    objective = float(cost[np.arange(n), labels].sum())
    left = t0 + 0.97 * time_limit - time.perf_counter()
    # a quarter of the limit at most, ending by 97 % of it (at least 2 % of
    # it, as in _solve_location); with ``max_iter`` all that is left, at least
    # 1 s (a safety net: the step budget decides)
    end = time.perf_counter() + (
        max(left, 1.0)
        if max_iter is not None
        else max(min(left, 0.25 * time_limit), 0.02 * time_limit)
    )
    bound, method = _choose_bound(
        spec,
        cost_all,
        objective,
        labels,
        centers,
        deadline=end,
        lp=lp,
        steps=None if max_iter is None else _bound_steps(spec),
    )
    _past(end, None if max_iter is None else cut)
    return Outcome(
        labels,
        objective,
        min(max(bound, _cost_floor(cost_all)), objective),
        viol <= 1e-9,
        centers,
        method,
        iterations=it,
        notes=notes,
        violation=viol,
        clock_cut=bool(cut),
    )


#: Chosen centers, bands the repairs could not meet: the weight of a unit's
#: cost (over the plan's mean cost) against one move in the band-repair MIP
#: (:func:`~terrakit.design._assign.round_by_mip`); 0.05, 0.15, 0.3 and 1.0
#: were measured on the sample's ten centers (benchmarks/README.md).
CHOSEN_MOVE_COST = 0.3


def _bound_activities(spec: Spec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The activities of the chosen-centers bound: every banded one
    (``banded``), the point bands among them (``tried``: scenario draws add a
    column per draw) and those without negative values (``own``: a knapsack
    keeps an activity's band only then; the others are priced inside it)."""
    finite = np.isfinite(spec.upper) | np.isfinite(spec.lower)
    banded = np.flatnonzero(finite.any(axis=0))
    names = spec.activity_names or ()
    tried = banded[banded < len(names)] if names else banded[:1]
    tried = tried if len(tried) else banded[:1]
    own = tried[(spec.activities[:, tried] >= 0).all(axis=0)]
    return banded, tried, own


#: Subgradient steps of each chosen-centers bound run with ``max_iter``, up
#: to :data:`BOUND_STEP_CELLS` unit–candidate pairs (the samples' ascents stop
#: on their own, by their step rule, well before this many); fewer on larger
#: instances, down to :data:`BOUND_STEPS_MIN`, since a step costs time in
#: proportion to the pairs.
BOUND_STEPS = 3_000
BOUND_STEP_CELLS = 100_000
BOUND_STEPS_MIN = 100


def _bound_steps(spec: Spec) -> int:
    """Step budget of each subgradient run of :func:`_choose_bound` with
    ``max_iter``: the instance's size alone decides it, never the clock."""
    cells = max(int(np.prod(np.shape(spec.cost))), 1)
    return max(
        BOUND_STEPS_MIN, min(BOUND_STEPS, BOUND_STEPS * BOUND_STEP_CELLS // cells)
    )


class _BackgroundLP:
    """The LP of :func:`~terrakit.design._pmedian_bound.banded_kmedian_lp`
    (every point band) solved on a thread while the heuristic runs (HiGHS
    releases the GIL), for :func:`_choose_bound` to start from its duals.
    HiGHS stops at ``deadline``; :meth:`result` never waits."""

    def __init__(self, *args: Any) -> None:
        self._out: tuple[np.ndarray, np.ndarray, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=args, daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, spec: Spec, *, deadline: float) -> _BackgroundLP | None:
        """Start it when the problem has a band a knapsack can keep, at
        most :data:`BANDED_LP_CELLS` pairs, and twice the LP's expected time
        (:data:`BANDED_LP_SECONDS_PER_CELL`) before ``deadline``; else
        ``None``."""
        _, tried, own = _bound_activities(spec)
        size = int(np.prod(np.shape(spec.cost)))
        expected = BANDED_LP_SECONDS_PER_CELL * size
        if (
            not len(own)
            or size > BANDED_LP_CELLS
            or time.perf_counter() + 2 * expected > deadline
        ):
            return None
        cost = np.asarray(spec.cost, dtype=float)
        if spec.allowed is not None:
            cost = np.where(spec.allowed, cost, np.inf)
        return cls(
            cost,
            spec.k,
            spec.activities[:, tried],
            np.min(spec.lower, axis=0)[tried],
            np.max(spec.upper, axis=0)[tried],
            deadline,
        )

    def _run(self, *args: Any) -> None:
        cost, k, act, lower, upper, deadline = args
        with contextlib.suppress(AttributeError, OSError):
            # this thread yields the cores to the heuristic (Linux: a thread
            # is a task with its own nice value)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        try:
            self._out = banded_kmedian_lp(
                cost, k, act, lower, upper, deadline=deadline, stop=self._stop
            )
        except Exception:  # the bound falls back to the subgradient alone
            self._out = None

    def result(
        self, wait_until: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """``(u, alpha, value)`` when the LP is done and optimal, else ``None``;
        waits for it until ``wait_until`` (a ``time.perf_counter()`` value)."""
        if wait_until is not None:
            self._thread.join(max(wait_until - time.perf_counter(), 0.0))
        return None if self._thread.is_alive() else self._out

    def cancel(self) -> None:
        """Stop HiGHS (the bound is done): no solve outlives the design."""
        self._stop.set()
        self._thread.join()


_NEAREST_ONLY = (
    '"every unit at its nearest candidate" (chosen centers; every banded '
    "activity takes negative values, so no knapsack can keep its band)"
)


def _choose_bound(
    spec: Spec,
    cost_all: np.ndarray,
    objective: float,
    labels: np.ndarray,
    centers: np.ndarray,
    *,
    deadline: float,
    lp: _BackgroundLP | None = None,
    steps: int | None = None,
) -> tuple[float, str]:
    """Lower bound with chosen centers (any assignment, any ``k`` centers).

    Up to :data:`BANDED_BOUND_CELLS` unit–candidate pairs:
    :func:`~terrakit.design._pmedian_bound.banded_kmedian_bound` for each
    banded activity (both of its bands kept), with the cuts of
    :func:`~terrakit.design._pmedian_bound.region_cuts` (regions, such as
    islands, whose activity fits no whole number of territories must send or
    receive activity across their border), started from the better of the
    solution's costs and a local-radius start; the best is kept.  With
    several banded activities (up to :data:`MULTI_BAND_CELLS`), those runs
    get 30 % of the time and the rest goes to one run that keeps **every**
    band, started from the best run's multipliers (so it cannot end lower)
    — when one step with every band raises the value there; otherwise the
    other bands do not bind and the best run goes on alone.
    Above :data:`BANDED_BOUND_CELLS` the sparse capacity-only
    :func:`~terrakit.design._pmedian_bound.pmedian_lagrangian_bound`.  All
    are at least the "every unit at its nearest candidate" bound.

    With ``lp`` (up to :data:`BANDED_LP_CELLS` pairs): when the LP relaxation
    with every band, solved on a thread meanwhile, is done, the bound starts
    from its duals (where it equals that LP) and the subgradient runs from
    there with every band; when the LP ends during the runs above, the value
    at its duals is taken if higher.

    With ``steps`` (the heuristic's ``max_iter`` was given): every
    subgradient run takes at most ``steps`` steps and no share of the time,
    so the bound is the same on every run and machine (``lp`` is not used:
    pass ``None``); ``deadline`` is then a safety net only, which a run
    reaches on very large instances (the caller reports the run as cut by
    the clock, see :func:`_past`).
    """
    n, k = spec.n, spec.k
    # with a step budget the clock decides nothing but the safety net: no
    # time shares
    budget = 100_000 if steps is None else steps
    if steps is not None:
        lp = None
    m = cost_all.shape[1]
    act = spec.activities
    banded, tried, own = _bound_activities(spec)
    nearest = float(np.min(cost_all, axis=1).sum())
    if not math.isfinite(objective):
        # the solution uses a forbidden pair (max_distance_km): its cost
        # without the limit is the subgradient's step target (the bounds
        # only take it as such; they stay valid for any target)
        rows = np.arange(n)
        objective = float(
            np.asarray(spec.cost)[rows, np.asarray(centers)[labels]].sum()
        )
    if len(banded) and n * m <= BANDED_BOUND_CELLS:
        sol = np.asarray(cost_all)[np.arange(n), np.asarray(centers)[labels]]
        names = spec.activity_names or ()
        if not len(own):
            return nearest, _NEAREST_ONLY
        lows = np.min(spec.lower, axis=0)
        ups = np.max(spec.upper, axis=0)
        multi = len(tried) > 1 and n * m * (len(tried) - 1) <= MULTI_BAND_CELLS

        def cuts_for(a: int, until: float) -> RegionCuts | None:
            # the region cuts of activity ``a``'s band (both sides needed),
            # with at most half the time to ``until`` (the bound needs the
            # rest; no cuts is always valid)
            if not (np.isfinite(lows[a]) and np.isfinite(ups[a])):
                return None
            # (with ``steps`` all of it: the deadline is a safety net then)
            now = time.perf_counter()
            share = 0.5 if steps is None else 1.0
            return region_cuts(
                cost_all,
                act[:, a],
                float(lows[a]),
                float(ups[a]),
                objective,
                deadline=now + share * max(until - now, 0.0),
            )

        def every_band(rest: np.ndarray, **more: Any) -> dict[str, Any]:
            # the keyword arguments that price the ``rest`` activities' bands
            return {
                "others": act[:, rest],
                "others_lower": lows[rest],
                "others_upper": ups[rest],
                "patience": MULTI_BAND_PATIENCE,
                **more,
            }

        def cut_note(cuts: RegionCuts | None) -> str:
            return (
                ""
                if cuts is None
                else f", with {cuts.n_regions} region cut(s) (activity that must "
                "cross the border of a region that fits no whole number of "
                "territories)"
            )

        def from_lp(
            found: tuple[np.ndarray, np.ndarray, float], until: float, steps: int
        ) -> tuple[float, str]:
            # every band, started at the LP's duals (the first activity
            # without negative values kept in the knapsacks, the others priced
            # from the LP's band duals) or at the radius start if better there
            u_lp, alpha_lp, lp_value = found
            a0 = int(own[0])
            rest = tried[tried != a0]
            pos = {int(b): i for i, b in enumerate(tried.tolist())}
            cuts = cuts_for(a0, until)
            every: dict[str, Any] = {}
            if len(rest):
                start_prices = alpha_lp[:, [pos[int(b)] for b in rest]]
                every = every_band(rest, others_start=start_prices)
            # the cuts' multipliers at 0 (where the value at the LP's duals
            # is the LP's) or at their crossing price: one step each, then
            # the better goes on
            tries = [None] if cuts is None else [np.zeros(cuts.n_regions), None]
            probes = [
                keeping(a0, start=u_lp, cuts=cuts, cut_multipliers=mu0,
                        iterations=1, deadline=until, **every)
                for mu0 in tries
            ]  # fmt: skip
            value = max(probes)
            if steps > 1:
                mu0 = tries[int(np.argmax(probes))]
                value = max(
                    value,
                    keeping(a0, start=u_lp, cuts=cuts, cut_multipliers=mu0,
                            iterations=steps, deadline=until, **every),
                )  # fmt: skip
            label = [repr(names[b]) if b < len(names) else str(b) for b in [a0, *rest]]
            kept = (
                f"the bands of {', '.join(label)} kept"
                if len(rest)
                else f"both bands of {label[0]} kept"
            )
            return value, (
                "Lagrangian relaxation of the assignment rows of the banded "
                f"k-median model (chosen centers; {kept}, from the duals of its "
                f"LP relaxation, value {lp_value:.6g}; contiguity dropped)"
                + cut_note(cuts)
            )

        def keeping(a: int, **kw: Any) -> float:
            # the bound whose knapsacks keep activity ``a``'s own bands
            return banded_kmedian_bound(
                cost_all,
                k,
                objective,
                activity=act[:, a],
                lower=float(lows[a]),
                upper=float(ups[a]),
                **kw,
            )

        # the LP beside the heuristic gets up to half the bound's time to end
        # (usually it is done long before: its start needs twice its time)
        now = time.perf_counter()
        found = lp.result(now + 0.5 * max(deadline - now, 0.0)) if lp else None
        if found is not None:
            value, method = from_lp(found, deadline, budget)
            return max(value, nearest), method

        # one bound per banded activity (each keeps both bands of its own),
        # the time shared between them, the best kept; with several bands,
        # then every band at once, from the best one's multipliers
        until = deadline
        if steps is None:
            until = time.perf_counter() + (0.3 if multi else 1.0) * max(
                deadline - time.perf_counter(), 0.0
            )
        best, best_a, best_cuts, best_info = -math.inf, int(own[0]), None, {}
        for i, a in enumerate(own.tolist()):
            now = time.perf_counter()
            until_a = (
                until
                if steps is not None
                else now + max(until - now, 0.0) / (len(own) - i)
            )
            cuts = cuts_for(a, until_a)
            info: dict[str, object] = {}
            bound = keeping(
                a,
                start=sol,
                cuts=cuts,
                deadline=until_a,
                info=info,
                **({} if steps is None else {"iterations": steps}),
            )
            if bound > best:
                best, best_a, best_cuts, best_info = bound, a, cuts, info
        kept = (
            f"both bands of {names[best_a]!r} kept"
            if names and best_a < len(names)
            else "both bands of one activity kept"
        )
        if len(own) > 1:
            kept += " (the best of one bound per activity)"
        n_kept = 1
        if multi and best_info:
            rest = tried[tried != best_a]
            u_best = np.asarray(best_info["u"])
            mu_best = np.asarray(best_info["mu"])

            def resume(more: int, **kw: Any) -> float:
                # the best single-activity run goes on from its multipliers
                # (with every band when ``kw`` names the others)
                return keeping(
                    best_a,
                    start=u_best,
                    cuts=best_cuts,
                    cut_multipliers=mu_best,
                    iterations=more,
                    deadline=deadline,
                    **kw,
                )

            every = every_band(rest)
            # one step with every band: when the other bands do not raise
            # the value at these multipliers they do not bind, and the time
            # left goes back to the single-activity run (its steps are
            # cheaper)
            probe = resume(1, **every)
            if probe > best + 1e-3 * max(abs(best), 1e-300):
                bound = max(probe, resume(budget, **every))
                if bound > best:
                    best = bound
                    shown = ", ".join(repr(names[b]) for b in [best_a, *rest.tolist()])
                    kept = f"the bands of {shown} kept"
                    n_kept = len(tried)
            else:
                best = max(best, resume(budget))
        # the bands left out: other activities' (or the scenario draws')
        others = " other bands and" if n_kept < len(banded) else ""
        method = (
            "Lagrangian relaxation of the assignment rows of the banded "
            f"k-median model (chosen centers; {kept};{others} contiguity dropped)"
        )
        method += cut_note(best_cuts)
        # the LP finished while these ran: the value at its duals, if higher
        found = lp.result() if lp is not None else None
        if found is not None:
            value, lp_method = from_lp(found, math.inf, 1)
            if value > best:
                best, method = value, lp_method
        return max(best, nearest), method
    fin = np.flatnonzero(np.isfinite(spec.upper[0]) & (act >= 0).all(axis=0))
    a_cap = act[:, fin[0]] if len(fin) else None
    cap = float(spec.upper[:, fin[0]].max()) if len(fin) else math.inf
    # sparse pairs: each unit's kk cheapest candidates (dense when small);
    # a unit's multiplier is capped at its kk-th cost, so kk limits the bound
    kk = int(min(m, max(32, min(128, 1_500_000 // max(n, 1)))))
    bound = pmedian_lagrangian_bound(
        cost_all,
        k,
        objective,
        activity=a_cap,
        capacity=cap,
        n_neighbours=kk,
        iterations=budget,
        deadline=deadline,
    )
    method = (
        "Lagrangian relaxation of the assignment rows of the capacitated "
        "k-median model (chosen centers; upper band as capacity, lower bands "
        "and contiguity dropped)"
    )
    return max(float(bound), nearest), method


def _price_assignment(
    cost: np.ndarray,
    act: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    locked: np.ndarray,
    scale: np.ndarray,
    iterations: int = 120,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Approximately balanced assignment for fixed centers, fast.

    Each unit takes its cheapest territory after band prices
    (``cost − (act / scale) · y``); each price moves against its band
    violation with its own step (grown while the sign holds, halved when it
    flips).  Returns the labels with the least
    violation seen (then the least cost) and ``(violation, cost)``; a
    heuristic for center relocation only (the final centers get the exact
    LP).
    """
    n, k = cost.shape
    rows = np.arange(n)
    a_norm = act / scale
    fixed = locked >= 0
    c = np.where(np.isfinite(cost), cost, np.inf)
    two = np.partition(np.where(np.isfinite(c), c, 1e300), min(1, k - 1), axis=1)
    gap = two[:, min(1, k - 1)] - two[:, 0]
    size = a_norm.sum(axis=1)
    ok = (size > 0) & (gap < 1e299)
    step = float(np.median(gap[ok] / size[ok])) if ok.any() else 1.0
    step = step if step > 0 else 1.0
    y = np.zeros((k, act.shape[1]))
    steps = np.full((k, act.shape[1]), 0.05 * step)
    prev = np.zeros((k, act.shape[1]))
    best: tuple[tuple[float, float], np.ndarray] | None = None
    for _ in range(iterations):
        lab = np.argmin(c - a_norm @ y.T, axis=1)
        lab[fixed] = locked[fixed]
        sums = np.zeros((k, act.shape[1]))
        np.add.at(sums, lab, act)
        over = np.maximum(sums - upper, 0.0) / scale
        under = np.maximum(lower - sums, 0.0) / scale
        sc = (round(float((over + under).sum()), 6), float(c[rows, lab].sum()))
        if best is None or sc < best[0]:
            best = (sc, lab)
        if sc[0] == 0.0:
            break
        g = np.sign(under - over)
        steps = np.where(
            g * prev < 0, 0.5 * steps, np.where(g != 0, 1.25 * steps, steps)
        )
        y += steps * g
        prev = np.where(g != 0, g, prev)
    assert best is not None
    return best[1], best[0]


def _regions_repair(
    labels: np.ndarray,
    space: SearchSpace,
    spec: Spec,
    cost_all: np.ndarray,
    centers: np.ndarray,
    territory_locks: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
    notes: list[str],
    *,
    deadline: float,
    clock_cut: list[bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Chosen centers, contiguity, bands still broken after the start.

    Alternates :func:`~terrakit.design._regions.repartition_regions`
    (regions of adjacent territories cut afresh, each part at its cheapest
    own center: what heavy units and badly placed roots need) with the
    boundary balancing LP
    (:func:`~terrakit.design._search.repair_bands_lp`: small violations that
    need a chain of shifts across many territories), while the violation
    falls.  Territories holding user-locked units (``spec.locked``) are not
    re-partitioned.  ``space`` gives the graph and bands; its cost, locks and
    roots follow the centers (``cost_all``, ``territory_locks``,
    ``spec.center_units``).  With ``clock_cut`` (a run with ``max_iter``)
    each step runs to its own end, ``deadline`` a safety net as in
    :func:`_contiguous_start`.
    """
    from terrakit.design._regions import repartition_regions
    from terrakit.design._search import repair_bands_lp

    assert space.adjacency is not None and spec.center_units is not None
    cu = np.asarray(spec.center_units)
    frozen = (
        spec.locked >= 0 if spec.locked is not None else np.zeros(space.n, dtype=bool)
    )
    total = space.total_violation
    now_v = total(labels)
    if now_v <= 1e-12:
        return labels, centers
    n_regions = 0
    stalled = 0
    for _ in range(12):
        if now_v <= 1e-12 or stalled >= 3:
            break
        if time.perf_counter() > deadline:
            _past(deadline, clock_cut)
            break
        before = now_v
        labels, centers, more = repartition_regions(
            labels,
            space,
            cost_all,
            cu,
            centers,
            rng,
            frozen=frozen,
            deadline=_share(deadline, 0.6, clock_cut),
        )
        n_regions += len(more)
        now_v = total(labels)
        if now_v > 1e-12:
            at_centers = space.replace(
                cost=cost_all[:, centers],
                roots=cu[centers],
                locked=territory_locks(centers),
            )
            labels = repair_bands_lp(
                labels, at_centers, deadline=_share(deadline, 0.5, clock_cut)
            )
            now_v = total(labels)
        _past(deadline, clock_cut)
        # the regions are drawn at random: one more round after a stall
        stalled = stalled + 1 if now_v >= before - 1e-12 else 0
    notes.append(
        f"regions re-partitioned: {n_regions}; band violation left {now_v:.3g}"
    )
    return labels, centers


def _roots(spec: Spec, centers: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """The unit every territory keeps while contiguity is repaired: its
    center's unit, else (no center units) its cheapest unit."""
    if spec.center_units is not None:
        return np.asarray(spec.center_units)[centers]
    return np.argmin(cost, axis=0)


def _share(end: float, share: float, clock_cut: list[bool] | None) -> float:
    """``share`` of the time left before ``end``; with ``clock_cut`` (a run
    with ``max_iter``) all of it: the step is no longer cut to a share of the
    time, so its answer does not follow the clock (``end`` is a safety net
    only, see :func:`_past`)."""
    if clock_cut is not None:
        return end
    now = time.perf_counter()
    return now + share * max(end - now, 0.0)


def _past(end: float, clock_cut: list[bool] | None) -> None:
    """With ``clock_cut`` (a run with ``max_iter``): append ``True`` when the
    clock is past ``end``, the safety net of a step that runs to its own end
    otherwise (it may have stopped there; the run is then reported as cut by
    the clock, not as the seed's answer)."""
    if clock_cut is not None and time.perf_counter() > end:
        clock_cut.append(True)


def _contiguous_start(
    labels: np.ndarray,
    space: SearchSpace,
    duals: np.ndarray,
    notes: list[str],
    *,
    deadline: float,
    clock_cut: list[bool] | None = None,
) -> np.ndarray:
    """A contiguous, balanced start (each territory holding its root).

    Candidates, each made contiguous and then balanced by
    :func:`~terrakit.design._search.balance_flow` (flows on the territory
    graph) and :func:`~terrakit.design._search.repair_bands` (single moves):

    1. the rounded LP assignment, each root joined to its territory's main
       piece by a cheapest corridor (roots "boxed in" by a neighbour's LP
       region: the territory grows away from its home), stray pieces re-grown
       from the kept pieces along the LP's reduced costs; corridors priced by
       reduced cost, and (2.) by cost;
    3. territories grown from their roots, least loaded first, along the LP's
       reduced costs;
    4. territories grown from their roots, cheapest reduced cost first, up to
       their upper band.

    Small violations (LP rounding) go to single moves first, then to the
    balancing LP over the boundary units
    (:func:`~terrakit.design._search.repair_bands_lp`), which also takes what
    the flows leave.  Every balanced
    candidate is polished (:func:`_polish`); the grown candidates (3, 4) are
    only tried while no candidate meets every band.  The best by (locks
    broken, pieces beyond one per territory, band violation, cost) is
    returned.  ``space`` carries the cost at the
    current centers, the territory locks and the roots; ``duals`` are the
    LP's band prices.

    Without ``clock_cut`` the candidates share the time up to ``deadline``.
    With it (a run with ``max_iter``) every candidate runs to its own end,
    so the start depends only on the instance: ``deadline`` is a safety net,
    and ``True`` is appended to ``clock_cut`` when the clock passes it.
    """
    from terrakit.design._search import repair_bands_lp

    assert space.cost is not None and space.roots is not None
    assert space.locked is not None
    cost, roots, locked, act = space.cost, space.roots, space.locked, space.activities
    n, k = cost.shape
    anchor = act.sum(axis=1) / space.scale.sum()
    anchor[roots] += 1e6
    anchor[locked >= 0] += 1e3
    rows = np.arange(n)

    def score(lab: np.ndarray) -> tuple[float, float]:
        return (round(space.total_violation(lab), 9), float(cost[rows, lab].sum()))

    def broken(lab: np.ndarray) -> int:
        # locked units in another territory: the end puts them back and
        # splits what the search built around them
        return int((lab[locked >= 0] != locked[locked >= 0]).sum())

    def pieces(lab: np.ndarray) -> int:
        # pieces beyond one per territory: a unit locked away from its
        # territory that a grown start left stranded (band moves keep it so)
        return max(0, len(np.unique(territory_pieces(lab, space.adjacency))) - k)

    def repair(lab: np.ndarray, end: float) -> np.ndarray:
        return repair_bands(lab, space, deadline=end)

    def boundary_lp(lab: np.ndarray, end: float) -> np.ndarray:
        return repair_bands_lp(lab, space, deadline=end)

    def balance(lab: np.ndarray, end: float) -> np.ndarray:
        # small violations (LP rounding): single moves first, they are cheap
        # in cost, then the balancing LP over the boundary units; what they
        # leave goes to the flows on the territory graph, and what the
        # flows leave to the boundary LP and single moves again
        if score(lab)[0] <= 0.5:
            lab = repair(lab, _share(end, 0.3, clock_cut))
            if score(lab)[0] == 0.0:
                return lab
            lab = boundary_lp(lab, _share(end, 0.3, clock_cut))
            if score(lab)[0] == 0.0:
                return lab
        lab = balance_flow(lab, by_reduced, deadline=end)
        if score(lab)[0] > 0.0:
            lab = boundary_lp(lab, end)
        return repair(lab, end)

    unique_roots = len(np.unique(roots)) == k
    # the LP's reduced costs keep re-grown pieces near the balanced partition
    reduced = cost - act @ duals.T
    by_reduced = space.replace(cost=reduced)

    def corridors(step_cost: np.ndarray) -> np.ndarray:
        lab = connect_roots(labels, space, step_cost, roots=unique_roots)
        return regrow_strays(lab, space, anchor, reduced)[0]

    def grown() -> np.ndarray:
        lower, upper = space.lower, space.upper
        target = np.where(
            np.isfinite(upper) & np.isfinite(lower),
            (upper + lower) / 2,
            np.where(np.isfinite(upper), upper, act.sum(axis=0) / k),
        )
        lab = grow_balanced(space, reduced, target)
        return regrow_strays(join_locked(lab), space, anchor, cost)[0]

    def grown_prices() -> np.ndarray:
        lab = grow_with_prices(space, reduced)
        return regrow_strays(join_locked(lab), space, anchor, cost)[0]

    def join_locked(lab: np.ndarray) -> np.ndarray:
        # growth from the roots can strand a unit locked to a territory
        # grown elsewhere: a corridor joins it, as for the LP's plan
        if not (locked >= 0).any():
            return lab
        return connect_roots(lab, space, cost, roots=False)

    cands: list[tuple[str, Callable[[], np.ndarray], bool]] = [
        ("LP assignment, corridors by reduced cost", lambda: corridors(reduced), True),
        ("LP assignment, corridors by cost", lambda: corridors(cost), True),
    ]
    if unique_roots:
        cands.append(("growth from the roots, least loaded first", grown, False))
        cands.append(("growth from the roots along reduced costs", grown_prices, False))
    # ranked by (broken locks, extra pieces, band violation, cost): a start
    # that breaks a lock or is split stays so under the band repairs that
    # follow, a contiguous one off its bands may still be repaired
    best: tuple[tuple[int, int, float, float], str, np.ndarray] | None = None
    for i, (name, make, always) in enumerate(cands):
        now = time.perf_counter()
        if not always and best is not None and best[0][:3] == (0, 0, 0.0):
            continue
        if i > 0 and now > deadline:
            _past(deadline, clock_cut)
            continue
        end = now + (deadline - now) / (len(cands) - i)
        if clock_cut is not None:
            end = deadline
        lab = balance(make(), max(end, now + 1e-3))
        sc = score(lab)
        if sc[0] == 0.0:
            lab = _polish(lab, space, deadline=end)
            sc = score(lab)
        _past(end, clock_cut)
        ranked = (broken(lab), pieces(lab), *sc)
        if best is None or ranked < best[0]:
            best = (ranked, name, lab)
    assert best is not None
    notes.append(f"start: {best[1]}")
    return best[2]


#: The recombination descent runs when territories hold at most this many
#: units on average: there whole branches are what boundary moves cannot
#: reach (sample study, 13 counties per territory: cost −11 % at ±5 %,
#: −1.3 % at ±10 %); at 200 units per territory (10,000 synthetic units, 50
#: territories) it gained 0.01-0.02 % for 15 s more (benchmarks/README.md).
_RECOMBINE_UNITS = 60


#: the recombination search: at most this many band repairs of the same start
#: (tight bands), the annealing's steps per unit and its starting temperature
#: as a share of the mean territory's cost (chosen on the sample study at
#: ±5 %, benchmarks/README.md)
_RESTARTS = 8
#: seconds the first recombination band repair may take (within 50-70 % of
#: the time left)
_REPAIR_SECONDS = 20.0
_ANNEAL_STEPS_PER_UNIT = 200
_ANNEAL_TEMPERATURE = 0.2
#: up to this many units the recombination band repairs (first and repeated)
#: get this share of the time left, not 50-70 %: the penalised annealing
#: after them then has the time (12 units, 3 reps, a lock keeping a 3-way
#: rotation out of pairwise recombination: 4 of 8 runs met the bands with
#: 3-8 s at 50-70 %, 8 of 8 at 10 %)
_SMALL_REPAIR_UNITS = 100
_SMALL_REPAIR_SHARE = 0.1


def _recombination_search(
    labels: np.ndarray,
    space: SearchSpace,
    rng: np.random.Generator,
    *,
    deadline: float,
    restart: Callable[[float], np.ndarray | None] | None,
    restarts: int,
    steps: int,
    notes: list[str],
    clock_cut: list[bool] | None = None,
) -> np.ndarray:
    """Descents from several plans in band, then annealing from the best.

    A descent alternates boundary moves (:func:`_polish`) and the
    recombination descent (:func:`~terrakit.design._recom.recombine_cost`:
    whole branches in band) while a round gains at least 0.1 %.  When the
    bands needed a repair (``restart`` given), ``restart(end)`` repairs the
    same start again, up to ``restarts`` times while half the time lasts:
    with bands as thin as one unit the repaired plans land in different
    basins (7.7-10.2e7 on the sample study at ±5 %) that no in-band move
    joins.  Then ``steps`` of annealed recombination from the cheapest plan
    (bands stay hard); ``True`` is appended to ``clock_cut`` when the clock
    stops it before its ``steps``.  Without ``restart`` the descent alone.

    With ``clock_cut`` (a run with ``max_iter``) the descents run to their
    own ends (rounds, steps and patience of the recombination descent)
    instead of a share of the time: the answer depends only on the seed, and
    ``deadline`` is a safety net whose passing is appended to ``clock_cut``.
    """
    from terrakit.design._recom import recombine_cost

    cost = space.cost
    assert cost is not None
    n = labels.size
    rows = np.arange(n)

    def total(lab: np.ndarray) -> float:
        return float(cost[rows, lab].sum())

    def descend(lab: np.ndarray, end: float) -> np.ndarray:
        if clock_cut is not None:
            end = deadline
        c1 = total(lab)
        for _round in range(5):
            lab = _polish(lab, space, deadline=end, clock_cut=clock_cut)
            lab, got = recombine_cost(
                lab,
                space,
                rng,
                deadline=end,
                trees=10,
                patience=600,
                clock_cut=clock_cut,
            )
            c2 = total(lab)
            if got == 0 or c2 > c1 - 1e-3 * abs(c1):
                break
            c1 = c2
        return lab

    t_begin = time.perf_counter()
    span = max(deadline - t_begin, 0.0)
    c0 = total(labels)
    best = descend(labels, t_begin + (0.5 if restart is None else 0.25) * span)
    found = [total(best)]
    failed = 0
    while restart is not None and len(found) + failed <= restarts and failed < 2:
        now = time.perf_counter()
        each = (now - t_begin) / (len(found) + failed)
        if now - t_begin + each > 0.5 * span:
            break
        end = min(now + 2 * each, deadline)
        lab = restart(end)
        if lab is None:
            failed += 1
            continue
        lab = descend(lab, end)
        found.append(total(lab))
        if found[-1] < total(best):
            best = lab
    c1 = total(best)
    if restart is None:
        notes.append(f"recombination descent: cost {c0:.6g} → {c1:.6g}")
        return best
    now = time.perf_counter()
    best, got = recombine_cost(
        best,
        space,
        rng,
        deadline=now + 0.8 * max(deadline - now, 0.0),
        trees=3,
        steps=steps,
        patience=steps,
        temperature=_ANNEAL_TEMPERATURE * c1 / space.k,
        clock_cut=clock_cut,
    )
    starts = ", ".join(f"{c:.4g}" for c in found)
    notes.append(
        f"recombination search: cost {c0:.6g}; descents from {len(found)} "
        f"plan(s) in band → {starts} ({failed} repair(s) failed); "
        f"annealing ({got} pairs) → {total(best):.6g}"
    )
    return best


def _polish(
    labels: np.ndarray,
    space: SearchSpace,
    *,
    deadline: float,
    clock_cut: list[bool] | None = None,
) -> np.ndarray:
    """Contiguous local search: single boundary moves that lower the cost and
    keep every band, then pairs of moves where bands bind; when neither
    helps, many boundary moves at once chosen by a small LP (ejection chains
    of any length, :func:`~terrakit.design._search.improve_flow`), and again,
    until nothing helps (or ``deadline``).  ``True`` is appended to
    ``clock_cut`` (when given) if the clock passed ``deadline``."""
    for _ in range(50):
        labels, _n_moves = improve_single_moves(labels, space, deadline=deadline)
        labels, n_pairs = improve_pairs(labels, space, deadline=deadline)
        if time.perf_counter() > deadline:
            break
        if n_pairs == 0:
            labels, n_flow = improve_flow(labels, space, deadline=deadline)
            if n_flow == 0:
                break
    _past(deadline, clock_cut)
    return labels


def _anneal_free(
    labels: np.ndarray,
    space: SearchSpace,
    rng: np.random.Generator,
    deadline: float,
    time_limit: float,
    max_iter: int | None,
    *,
    clock_cut: list[bool] | None = None,
) -> np.ndarray:
    """No contiguity, bands still broken: anneal over moves to any of a unit's
    4 cheapest territories (pseudo-edges to each territory's cheapest unit);
    ``clock_cut`` as for :func:`_anneal_attempts`."""
    assert space.cost is not None and space.locked is not None
    cost = space.cost
    n, k = cost.shape
    if space.total_violation(labels) <= 1e-12:
        return labels
    near = np.argsort(cost, axis=1)[:, : min(k, 4)]
    anchor_unit = np.argmin(cost, axis=0)
    if len(np.unique(anchor_unit)) < k:
        return labels
    pe = np.column_stack(
        [np.repeat(np.arange(n), near.shape[1]), anchor_unit[near.ravel()]]
    )
    pe = pe[pe[:, 0] != pe[:, 1]]
    no_lists: list[list[int]] = [[] for _ in range(n)]
    lk = space.locked.copy()
    lk[anchor_unit] = np.arange(k)
    start = labels.copy()
    start[anchor_unit] = np.arange(k)
    left = max(deadline - time.perf_counter(), 0.0)
    sa_end = time.perf_counter() + min(0.7 * left, 0.6 * time_limit)
    if max_iter is not None:
        sa_end = deadline
    found, ok = _anneal_attempts(
        start,
        space.replace(nbrs=no_lists, edges=pe, locked=lk),
        rng,
        sa_end,
        ((5.0, 2.0), (2.0, 1.0)),
        contiguity=False,
        max_iter=max_iter,
        chain=False,
        clock_cut=clock_cut,
    )
    return found if ok else labels


def _anneal_attempts(
    labels: np.ndarray,
    space: SearchSpace,
    rng: np.random.Generator,
    sa_end: float,
    schedule: tuple[tuple[float, float], ...],
    *,
    contiguity: bool,
    max_iter: int | None,
    chain: bool,
    clock_cut: list[bool] | None = None,
) -> tuple[np.ndarray, bool]:
    """Band repair by penalised annealing on cost, one run per
    ``(penalty, start temperature)`` of ``schedule``, sharing the time up to
    ``sa_end`` equally among the runs left; stops at the first feasible run.

    ``chain``: each run starts from the previous run's end (else from
    ``labels``).  Returns the last run's labels and whether they are feasible
    (``labels`` and ``False`` when no run had time).  With ``max_iter``,
    ``True`` is appended to ``clock_cut`` when the clock stopped a run before
    its ``max_iter`` iterations or left a run no time to start.
    """
    current, feasible = labels, False
    for attempt, (pen, t_hi) in enumerate(schedule):
        slot = (sa_end - time.perf_counter()) / (len(schedule) - attempt)
        if slot <= 0:
            if max_iter is not None and clock_cut is not None:
                clock_cut.append(True)
            break
        sa = anneal(
            current if chain else labels,
            space,
            "cost",
            rng,
            time.perf_counter() + slot,
            contiguity=contiguity,
            t_start=t_hi,
            t_end=0.01,
            penalty=pen,
            max_iter=max_iter if max_iter is not None else 10**9,
        )
        current, feasible = sa.labels, sa.feasible
        if sa.clock_cut and clock_cut is not None:
            clock_cut.append(True)
        if feasible:
            break
    return current, feasible


def _repair_bands_free(
    labels: np.ndarray, space: SearchSpace, max_rounds: int = 200
) -> np.ndarray:
    """Band repair with any unit movable to any territory (no contiguity;
    ``space``'s graph is not used).  A broken territory with no movable unit
    (empty, or only locked units) takes a unit from another territory
    instead of giving one away, and so does one that no unit it gives away
    brings closer to its band (a territory short of its lower band)."""
    assert space.cost is not None
    cost, act, locked, scale = space.cost, space.activities, space.locked, space.scale
    lower, upper = space.lower, space.upper
    labels = labels.copy()
    k = cost.shape[1]
    sums = space.sums(labels)
    movable = np.ones(labels.size, dtype=bool) if locked is None else locked < 0
    for _ in range(max_rounds):
        viol = violation(sums, lower, upper, scale)
        bad = np.flatnonzero(viol > 1e-12)
        if len(bad) == 0:
            break
        improved = False
        for t in bad.tolist():
            members = np.flatnonzero(labels == t)
            if locked is not None:
                members = members[locked[members] < 0]
            best = (0.0, -1, -1, 0.0)
            nbr_t = (
                np.argsort(cost[members].min(axis=0))[: min(k, 12)]
                if members.size
                else np.zeros(0, dtype=np.int64)
            )
            for b in nbr_t.tolist():
                if b == t:
                    continue
                a = act[members]
                d = (
                    violation(sums[t] - a, lower[t], upper[t], scale)
                    + violation(sums[b] + a, lower[b], upper[b], scale)
                    - viol[t]
                    - viol[b]
                )
                extra = cost[members, b] - cost[members, t]
                if np.isfinite(extra).any():
                    d = np.where(np.isfinite(extra), d, np.inf)
                    ordr = np.lexsort((extra, d))
                    i = int(ordr[0])
                    if d[i] < best[0] - 1e-12:
                        best = (float(d[i]), int(members[i]), b, float(extra[i]))
            if best[1] >= 0:
                i, b = best[1], best[2]
                sums[t] -= act[i]
                sums[b] += act[i]
                labels[i] = b
                viol = violation(sums, lower, upper, scale)
                improved = True
                continue
            # no unit of t to give away helps (t is short, empty or holds
            # only locked units): take the unit from another territory that
            # lowers the violation most (then costs least)
            cand = np.flatnonzero(movable & (labels != t) & (labels >= 0))
            if cand.size == 0:
                continue
            src = labels[cand]
            a = act[cand]
            d = (
                violation(sums[t] + a, lower[t], upper[t], scale)
                + violation(sums[src] - a, lower[src], upper[src], scale)
                - viol[t]
                - viol[src]
            )
            extra = cost[cand, t] - cost[cand, src]
            d = np.where(np.isfinite(extra), d, np.inf)
            j = int(np.lexsort((extra, d))[0])
            if d[j] < -1e-12:
                u, b = int(cand[j]), int(src[j])
                sums[b] -= act[u]
                sums[t] += act[u]
                labels[u] = t
                viol = violation(sums, lower, upper, scale)
                improved = True
        if not improved:
            break
    return labels


def _improve_free(
    labels: np.ndarray, space: SearchSpace, deadline: float, max_rounds: int = 50
) -> np.ndarray:
    """Moves to any territory that lower the cost and keep every band (no
    contiguity; ``space``'s graph is not used)."""
    assert space.cost is not None
    cost, act, locked = space.cost, space.activities, space.locked
    lower, upper = space.lower, space.upper
    labels = labels.copy()
    n = cost.shape[0]
    sums = space.sums(labels)
    eps = 1e-9 * np.maximum(np.where(np.isfinite(upper), np.abs(upper), 1.0), 1.0)
    rows = np.arange(n)
    for _ in range(max_rounds):
        if time.perf_counter() > deadline:
            break
        cur = cost[rows, labels]
        best_t = np.argmin(cost, axis=1)
        gain = cost[rows, best_t] - cur
        cand = np.flatnonzero(gain < -1e-12)
        if locked is not None:
            cand = cand[locked[cand] < 0]
        applied = 0
        for i in cand[np.argsort(gain[cand])].tolist():
            a_, b = int(labels[i]), int(best_t[i])
            if leaves_ok(sums[a_], act[i], lower[a_], upper[a_], eps[a_]) and joins_ok(
                sums[b], act[i], lower[b], upper[b], eps[b]
            ):
                labels[i] = b
                sums[a_] -= act[i]
                sums[b] += act[i]
                applied += 1
        if applied == 0:
            break
    return labels


#: the free local search links every unit to all territories up to this many
#: unit–territory pairs, beyond it to its :data:`_FREE_NEAREST` cheapest
_FREE_ALL_PAIRS = 200_000
_FREE_NEAREST = 8
#: most candidate moves for which the free local search runs the LP of
#: ejection chains (:func:`~terrakit.design._search.improve_flow`): on
#: 500 units × 10 territories (5,000 moves) it lowers the gap from 1.9 % to
#: 1.2 % in a second; on 2,000 × 20 (40,000) its LPs took 11 s and found
#: nothing the moves and swaps had not
_FREE_FLOW_MOVES = 20_000
#: most (territory pair × candidate × candidate) cells the swap step scores
#: at once (16 MB of float64)
_FREE_SWAP_CELLS = 2_000_000


def _free_space(labels: np.ndarray, space: SearchSpace) -> SearchSpace | None:
    """The space in which the boundary searches of :func:`_polish` run
    without contiguity: a star graph per territory.

    Each territory's *anchor* (one of its locked units if it has one, else
    its cheapest unit) stays put; every other unit is linked to the anchors
    of its current territory and of the territories it may move to (all of
    them up to :data:`_FREE_ALL_PAIRS` unit–territory pairs, else its
    :data:`_FREE_NEAREST` cheapest; never a forbidden pair).  So every move
    is a boundary move, and a unit's only neighbour in its territory is the
    anchor: the articulation check always passes (contiguity is not asked)
    and no territory is emptied.  ``None`` when no territory has a unit.
    """
    assert space.cost is not None
    cost = space.cost
    n, k = cost.shape
    locked = np.full(n, -1, dtype=np.int64) if space.locked is None else space.locked
    rows = np.arange(n)
    own = cost[rows, labels]
    # an anchor per territory: a locked unit (frozen anyway) or the cheapest
    key = np.where(locked >= 0, -np.inf, own)
    order = np.lexsort((key, labels))
    first = np.searchsorted(labels[order], np.arange(k))
    has = np.bincount(labels, minlength=k)[:k] > 0
    if not has.any():
        return None
    anchor = np.full(k, -1, dtype=np.int64)
    anchor[has] = order[first[has]]
    q = k if n * k <= _FREE_ALL_PAIRS else min(k, _FREE_NEAREST)
    if q < k:
        near = np.argpartition(cost, q - 1, axis=1)[:, :q]
    else:
        near = np.broadcast_to(np.arange(k), (n, k))
    src = np.concatenate([np.repeat(rows, near.shape[1]), rows])
    dst_t = np.concatenate([near.ravel(), labels])
    keep = (anchor[dst_t] >= 0) & np.isfinite(cost[src, dst_t])
    src, dst = src[keep], anchor[dst_t[keep]]
    keep = src != dst
    pairs = np.unique(np.column_stack([src[keep], dst[keep]]), axis=0)
    is_anchor = np.zeros(n, dtype=bool)
    is_anchor[anchor[has]] = True
    pairs = pairs[~is_anchor[pairs[:, 0]]]
    ptr = np.searchsorted(pairs[:, 0], np.arange(n + 1))
    to = pairs[:, 1].tolist()
    nbrs = [to[ptr[i] : ptr[i + 1]] for i in range(n)]
    frozen = locked.copy()
    frozen[anchor[has]] = np.flatnonzero(has)
    return space.replace(nbrs=nbrs, edges=pairs, locked=frozen, adjacency=None)


def _local_search_free(
    labels: np.ndarray,
    space: SearchSpace,
    *,
    deadline: float,
    clock_cut: list[bool] | None = None,
) -> np.ndarray:
    """Local search without contiguity (step 5 of
    :mod:`terrakit.design.heuristic`): each unit to its cheapest territory
    where the bands allow (:func:`_improve_free`), then the contiguous
    search of :func:`_polish` (single moves, pairs of moves, LP-chosen
    ejection chains and swaps) on the star graphs of :func:`_free_space`,
    where any unit may move to any territory and the articulation check
    always passes, until nothing helps or ``deadline``."""
    labels = _improve_free(labels, space, deadline)
    if time.perf_counter() > deadline or space.total_violation(labels) > 1e-12:
        # a plan out of band keeps the annealer's answer as it is
        return labels
    free = _free_space(labels, space)
    if free is None:
        return labels
    for _ in range(50):
        labels, n_moves = improve_single_moves(labels, free, deadline=deadline)
        labels, n_pairs = improve_pairs(labels, free, deadline=deadline)
        labels, n_swaps = _improve_swaps(labels, space, deadline=deadline)
        if time.perf_counter() > deadline:
            break
        if n_moves + n_pairs + n_swaps == 0:
            if len(free.edges) > _FREE_FLOW_MOVES:
                break
            labels, n_flow = improve_flow(labels, free, deadline=deadline)
            if n_flow == 0:
                break
    _past(deadline, clock_cut)
    return labels


def _improve_swaps(
    labels: np.ndarray,
    space: SearchSpace,
    *,
    deadline: float,
    max_rounds: int = 200,
    tol: float = 1e-9,
) -> tuple[np.ndarray, int]:
    """Swaps of two units between two territories that lower the cost and
    keep every band (no contiguity): per pair of territories ``(a, b)``, the
    units of ``a`` cheapest to move to ``b`` against those of ``b`` cheapest
    to move to ``a`` (all of them when :data:`_FREE_SWAP_CELLS` allows),
    scored all at once; the best swaps applied
    one after the other, each checked again on the current sums.  The step
    that single moves and pairs (:func:`improve_pairs`: one move blocked by
    one band) miss when both moves are blocked alone (a full territory that
    is also at its lower band's edge for the other unit).  Returns labels
    and the number of swaps applied."""
    assert space.cost is not None
    cost, act = space.cost, space.activities
    lower, upper = space.lower, space.upper
    labels = labels.copy()
    n, k = cost.shape
    rows = np.arange(n)
    movable = np.ones(n, dtype=bool) if space.locked is None else space.locked < 0
    eps = 1e-9 * np.maximum(np.where(np.isfinite(upper), np.abs(upper), 1.0), 1.0)
    sums = space.sums(labels)
    # as many candidates per pair as the cells allow (every unit of a
    # territory on a few hundred units and 20 territories), at least 4
    biggest = int(np.bincount(labels, minlength=k).max())
    pairs = max(k * (k - 1) // 2, 1)
    w = max(4, min(biggest, int(math.sqrt(_FREE_SWAP_CELLS / pairs))))
    total = 0
    for _ in range(max_rounds):
        if time.perf_counter() > deadline:
            break
        # delta[i, t]: the cost change of moving unit i to territory t
        delta = cost - cost[rows, labels][:, None]
        delta[~movable] = np.inf
        delta[rows, labels] = np.inf
        # per (from a, to b): the w units of a with the lowest delta to b
        order = np.lexsort((labels,))
        lab_sorted = labels[order]
        start = np.searchsorted(lab_sorted, np.arange(k + 1))
        cand = np.full((k, k, w), -1, dtype=np.int64)
        for a in range(k):
            members = order[start[a] : start[a + 1]]
            if members.size == 0:
                continue
            d_a = delta[members]  # (|a|, k)
            take = min(w, members.size)
            best = np.argpartition(d_a, take - 1, axis=0)[:take]  # (take, k)
            cand[a, :, :take] = members[best].T
        ai, bi = np.triu_indices(k, 1)
        ui, vj = cand[ai, bi], cand[bi, ai]  # (P, w): a → b, b → a
        ok_u, ok_v = ui >= 0, vj >= 0
        uu, vv = np.maximum(ui, 0), np.maximum(vj, 0)
        du = np.where(ok_u, delta[uu, bi[:, None]], np.inf)
        dv = np.where(ok_v, delta[vv, ai[:, None]], np.inf)
        gain = du[:, :, None] + dv[:, None, :]  # (P, w, w)
        good = gain < -tol
        if not good.any():
            break
        p, x, y = np.nonzero(good)
        g = gain[p, x, y]
        # the best swaps first; a unit in a swap already made is skipped, so
        # a few per unit are enough to look at
        keep = np.argsort(g, kind="stable")[: 4 * n]
        applied = 0
        for idx in keep.tolist():
            a, b = int(ai[p[idx]]), int(bi[p[idx]])
            u, v = int(ui[p[idx], x[idx]]), int(vj[p[idx], y[idx]])
            if labels[u] != a or labels[v] != b:
                continue
            change = act[v] - act[u]
            new_a, new_b = sums[a] + change, sums[b] - change
            if (
                np.any(new_a < lower[a] - eps[a])
                or np.any(new_a > upper[a] + eps[a])
                or np.any(new_b < lower[b] - eps[b])
                or np.any(new_b > upper[b] + eps[b])
            ):
                continue
            if cost[u, b] + cost[v, a] - cost[u, a] - cost[v, b] >= -tol:
                continue
            labels[u], labels[v] = b, a
            sums[a], sums[b] = new_a, new_b
            applied += 1
        total += applied
        if applied == 0:
            break
    return labels, total


def solve_graph(
    spec: Spec,
    *,
    time_limit: float,
    seed: int | None,
    initial: np.ndarray | None = None,
    restarts: int | None = None,
    progress: bool = False,
    max_iter: int | None = None,
) -> Outcome:
    """Cut edges / diameter: grown starts + simulated annealing, best kept.

    The labels are territories ``0..k-1``: ``spec.locked`` holds each locked
    unit's territory and ``spec.allowed``, when given, is ``(n, k)``: whether
    a unit may join each territory (:func:`terrakit.design.heuristic.solve_heuristic`
    translates chosen centers' columns).  Each start is grown from the
    locked units (and ``center_units`` with fixed centers) as seeds of their
    territories, within ``allowed``; with contiguity, a start in pieces is
    joined up (:func:`_connected_start`) before the search.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    rng = np.random.default_rng(seed)
    assert spec.adjacency is not None
    k = spec.k
    space = SearchSpace.from_adjacency(
        spec.adjacency, spec.activities, spec.lower, spec.upper, locked=spec.locked
    )
    allowed = None if spec.allowed is None else np.asarray(spec.allowed, dtype=bool)
    if allowed is not None and allowed.shape != (spec.n, k):
        raise ValueError(
            f"solve_graph needs allowed per territory ({spec.n}, {k}), got "
            f"{allowed.shape}"
        )
    if restarts is None:
        restarts = 4 if spec.objective == "cut_edges" else 1
    best = None
    cut = False  # an annealing run with max_iter stopped (or skipped) by the clock
    budget = max_iter if max_iter is not None else 10**9
    for r in range(restarts):
        now = time.perf_counter()
        left = deadline - now
        if left <= 0:
            cut = max_iter is not None
            if r > 0:
                break
            # no time for any search: the first start comes back as it is
            # (evaluated, never searched), not nothing
            budget = 0
        slot = max(left, 0.0) / (restarts - r)
        if r == 0 and initial is not None:
            lab = initial.copy()
        else:
            seeds = None
            if not spec.choose and spec.center_units is not None:
                seeds = np.asarray(spec.center_units)
            lab = grow_partition(
                space.nbrs,
                spec.activities,
                k,
                rng,
                seeds=seeds,
                locked=spec.locked,
                allowed=allowed,
            )
        if spec.locked is not None:
            fix = spec.locked >= 0
            lab[fix] = spec.locked[fix]
        if spec.contiguity and not contiguous(lab, space.edges):
            lab = _connected_start(lab, space, allowed)
        out = anneal(
            lab,
            space,
            spec.objective,
            rng,
            now + slot,
            dist=spec.dist,
            contiguity=spec.contiguity,
            t_start=1.5 if spec.objective == "cut_edges" else 1.0,
            penalty=1.0 if spec.objective == "cut_edges" else 2.0,
            max_iter=budget,
            allowed=allowed,
        )
        cut = cut or out.clock_cut
        if progress:
            print(f"  restart {r}: value {out.value:.6g} feasible={out.feasible}")
        if best is None or (out.feasible, -out.value) > (best.feasible, -best.value):
            best = out
    assert best is not None
    sums = np.zeros((k, spec.activities.shape[1]))
    np.add.at(sums, best.labels, spec.activities)
    scale = np.maximum(spec.activities.sum(axis=0) / k, 1e-12)
    viol = float(violation(sums, spec.lower, spec.upper, scale).sum())
    bound = _graph_bound(spec)
    return Outcome(
        best.labels,
        best.value,
        bound,
        best.feasible and viol <= 1e-9,
        None,
        "trivial graph bound",
        iterations=best.iterations,
        violation=viol,
        clock_cut=cut,
    )


def _connected_start(
    labels: np.ndarray, space: SearchSpace, allowed: np.ndarray | None
) -> np.ndarray:
    """A start whose territories are in pieces (locked units far apart, or
    pinned over a grown start), joined up where the graph allows.

    Each locked unit outside the main piece of its territory is joined to
    it by the path through the fewest other units (not crossing locked
    units; units not allowed in the territory only where no other path is,
    :func:`~terrakit.design._search.connect_roots`); the pieces this cuts
    off other territories, and other stray pieces, then join a neighbouring
    territory (:func:`~terrakit.design._search.regrow_strays`).  Locked
    units never move; where no path exists the pieces stay (the search
    reports no such plan feasible).
    """
    n, k = space.n, space.k
    lab = np.asarray(labels, dtype=np.int64).copy()
    locked = space.locked
    fixed = np.zeros(n, dtype=bool) if locked is None else locked >= 0
    # a root per territory (a locked unit where it has one): the corridors
    # below do not cross them
    roots = np.zeros(k, dtype=np.int64)
    for t in range(k):
        mine = np.flatnonzero((lab == t) & fixed)
        if mine.size == 0:
            mine = np.flatnonzero(lab == t)
        roots[t] = int(mine[0]) if mine.size else 0
    cost = (
        np.zeros((n, k))
        if allowed is None
        else np.where(allowed, 0.0, float(n + 1))  # a detour beats a forbidden unit
    )
    sp_ = space.replace(roots=roots)
    if fixed.any():
        lab = connect_roots(lab, sp_, cost, roots=False)
    anchor = np.abs(space.activities).sum(axis=1) + fixed * (
        1.0 + float(np.abs(space.activities).sum())
    )
    lab, _ = regrow_strays(lab, sp_, anchor, cost)
    return lab


def _graph_bound(spec: Spec) -> float:
    """Weak but valid bounds for the graph objectives.

    ``cut_edges``: ``k`` non-empty parts of a graph with ``c`` connected
    components are joined by at least ``k − c`` edges, so the cut weighs at
    least the ``k − c`` lightest (``k − 1`` on a connected graph of unit
    weights; :func:`~terrakit.design._graphsearch.cut_bound`).  ``diameter``:
    some territory holds at least ``ceil(n / k)`` units, and its diameter is
    at least the smallest "``ceil(n/k)``-th nearest neighbour" distance over
    all units.
    """
    n, k = spec.n, spec.k
    if spec.objective == "cut_edges":
        assert spec.adjacency is not None
        return cut_bound(spec.adjacency, k)
    if spec.dist is not None:
        m = math.ceil(n / k)
        d = np.sort(spec.dist, axis=1)[:, m - 1]
        return float(d.min())
    return 0.0

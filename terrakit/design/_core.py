"""Array-level engine behind :func:`terrakit.design.heuristic.solve_heuristic`.

Kept free of the public problem/result classes so it can be tested and
benchmarked on plain arrays; :mod:`terrakit.design.heuristic` translates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from terrakit.design._assign import lagrangian_bound, solve_assignment_lp
from terrakit.design._graphsearch import anneal, grow_partition
from terrakit.design._pmedian_bound import pmedian_lagrangian_bound
from terrakit.design._search import (
    balance_flow,
    connect_roots,
    grow_balanced,
    grow_with_prices,
    improve_moves,
    improve_pairs,
    neighbour_lists,
    regrow_strays,
    repair_bands,
    territory_pieces,
    violation,
)


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

    @property
    def n(self) -> int:
        return int(self.activities.shape[0])

    @property
    def k(self) -> int:
        return int(self.lower.shape[0])


@dataclass
class Outcome:
    """Engine result: labels, objective, bound and diagnostics."""

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


def _edges(adj: sp.csr_matrix) -> np.ndarray:
    a = sp.triu(adj, k=1).tocoo()
    return np.column_stack([a.row, a.col]).astype(np.int64)


def _medoids(
    cost: np.ndarray, labels: np.ndarray, k: int, keep: dict[int, int]
) -> np.ndarray:
    """Best candidate column per territory: ``argmin_j Σ_{i∈t} cost[i, j]``.

    Distinct columns; territories in ``keep`` keep their column.
    """
    n = cost.shape[0]
    ind = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
    c = np.where(np.isfinite(cost), cost, 1e300)
    tot = np.asarray(ind @ c)
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
    cost: np.ndarray, k: int, rng: np.random.Generator, keep: list[int]
) -> np.ndarray:
    """k-means++-style seeding on the cost matrix (rows: units, cols: candidates).

    Candidate ``j`` is scored by how much it would lower the units' current
    cheapest cost; drawn with probability proportional to that saving.
    """
    m = cost.shape[1]
    c = np.where(np.isfinite(cost), cost, 1e300)
    chosen = list(dict.fromkeys(keep))
    if not chosen:
        # the single best candidate first (1-median)
        chosen = [int(np.argmin(c.sum(axis=0)))]
    cur = c[:, chosen].min(axis=1)
    cand = rng.choice(m, size=min(m, 256), replace=False) if m > 256 else np.arange(m)
    while len(chosen) < k:
        save = np.maximum(cur[:, None] - c[:, cand], 0.0).sum(axis=0)
        save[np.isin(cand, chosen)] = 0.0
        if save.sum() <= 0:
            rest = np.setdiff1d(np.arange(m), chosen)
            j = int(rng.choice(rest))
        else:
            j = int(cand[rng.choice(len(cand), p=save / save.sum())])
        chosen.append(j)
        cur = np.minimum(cur, c[:, j])
        if m > 256:
            cand = rng.choice(m, size=256, replace=False)
    return np.array(chosen[:k], dtype=np.int64)


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
    """
    t0 = time.perf_counter()
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

    if spec.choose:
        centers = _initial_centers(cost_all, k, rng, pinned)
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
    if spec.choose:
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
    lp = solve_assignment_lp(
        cost,
        act,
        spec.lower,
        spec.upper,
        q=q,
        locked=lk,
        time_limit=max(deadline - time.perf_counter(), 1),
    )
    if lp.status != "optimal":
        return Outcome(
            np.full(n, -1),
            math.inf,
            -math.inf,
            False,
            centers,
            "none",
            notes=["balance LP infeasible for these centers"],
        )
    labels = lp.labels
    if not spec.choose:
        it = 1
    if progress:
        print(f"  LP objective {lp.objective:.6g}")
    final_cost = cost
    bound_lp = lp  # its duals give the bound (the unrestricted LP)

    def cost_delta(units: np.ndarray, fr: np.ndarray, to: np.ndarray) -> np.ndarray:
        return final_cost[units, to] - final_cost[units, fr]

    adj = spec.adjacency
    edges = _edges(adj) if adj is not None else np.zeros((0, 2), dtype=np.int64)
    nbrs = neighbour_lists(adj, n) if adj is not None else [[] for _ in range(n)]
    locked = lk
    pieces_left = 0
    if spec.contiguity and adj is not None:
        labels = _contiguous_start(
            labels,
            spec,
            centers,
            final_cost,
            lp.duals,
            adj,
            nbrs,
            edges,
            scale,
            locked,
            notes,
            deadline=time.perf_counter()
            + 0.5 * max(deadline - time.perf_counter(), 0.0),
        )
    else:
        labels = _repair_bands_free(
            labels, final_cost, act, spec.lower, spec.upper, scale, locked
        )
        labels = _anneal_free(
            labels,
            final_cost,
            act,
            spec,
            scale,
            locked,
            rng,
            deadline,
            time_limit,
            max_iter,
        )
    moves = 0
    sums = np.zeros((k, act.shape[1]))
    np.add.at(sums, labels, act)
    if (
        spec.contiguity
        and adj is not None
        and float(violation(sums, spec.lower, spec.upper, scale).sum()) > 1e-12
    ):
        # greedy repair stuck: penalised annealing on cost + band violation
        left = max(deadline - time.perf_counter(), 0.0)
        sa_end = time.perf_counter() + min(0.7 * left, 0.6 * time_limit)
        if max_iter is not None:
            sa_end = deadline  # iteration budgets decide: reproducible
        labels, sa_ok = _anneal_attempts(
            labels,
            nbrs,
            edges,
            act,
            spec,
            rng,
            sa_end,
            ((20.0, 1.0), (5.0, 2.0), (50.0, 0.5)),
            contiguity=True,
            locked=locked,
            cost=final_cost,
            max_iter=max_iter,
            chain=True,
        )
        notes.append(f"band repair by annealing: feasible={sa_ok}")
    if spec.contiguity and adj is not None:
        labels = _polish(
            labels, spec, final_cost, nbrs, edges, locked, deadline=deadline
        )
    else:
        labels = _improve_free(
            labels, final_cost, act, spec.lower, spec.upper, locked, deadline
        )
    sums = np.zeros((k, act.shape[1]))
    np.add.at(sums, labels, act)
    viol = float(violation(sums, spec.lower, spec.upper, scale).sum())
    objective = float(final_cost[np.arange(n), labels].sum())
    if spec.contiguity and adj is not None:
        comp = territory_pieces(labels, adj)
        pieces_left = max(0, len(np.unique(comp)) - k)
    if not spec.choose:
        bound = lagrangian_bound(
            cost_all, act, spec.lower, spec.upper, bound_lp.duals, locked=lk
        )
        method = (
            "Lagrangian dual of the balance rows at the LP duals "
            "(fixed centers; integrality and contiguity relaxed)"
        )
    else:
        fin = np.flatnonzero(np.isfinite(spec.upper[0]))
        kk = int(
            min(
                spec.cost.shape[1],
                max(64, 4 * n // k),
                max(64, 30_000_000 // max(n, 1)),
            )
        )
        a_cap = act[:, fin[0]] if len(fin) else None
        cap = float(spec.upper[:, fin[0]].max()) if len(fin) else math.inf
        bound = pmedian_lagrangian_bound(
            cost_all,
            k,
            objective,
            activity=a_cap,
            capacity=cap,
            start=lp.unit_duals,
            n_neighbours=kk,
            deadline=max(t0 + time_limit, time.perf_counter() + 0.05 * time_limit),
        )
        method = (
            "Lagrangian relaxation of the assignment rows of the "
            "capacitated k-median model (chosen centers; upper band as "
            "capacity, lower bands and contiguity dropped)"
        )
    bound = min(max(bound, 0.0), objective)
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
    )


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


def _contiguous_start(
    labels: np.ndarray,
    spec: Spec,
    centers: np.ndarray,
    cost: np.ndarray,
    duals: np.ndarray,
    adj: sp.csr_matrix,
    nbrs: list[list[int]],
    edges: np.ndarray,
    scale: np.ndarray,
    locked: np.ndarray,
    notes: list[str],
    *,
    deadline: float,
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

    Small violations (LP rounding) go to single moves first.  Every balanced
    candidate is polished (:func:`_polish`); the grown candidates (3, 4) are
    only tried while no candidate meets every band.  The best by (band
    violation, cost) is returned.
    """
    n, k = cost.shape
    act = spec.activities
    roots = (
        np.asarray(spec.center_units)[centers]
        if spec.center_units is not None
        else np.argmin(cost, axis=0)
    )
    anchor = act.sum(axis=1) / scale.sum()
    anchor[roots] += 1e6
    anchor[locked >= 0] += 1e3
    rows = np.arange(n)

    def score(lab: np.ndarray) -> tuple[float, float]:
        sm = np.zeros((k, act.shape[1]))
        np.add.at(sm, lab, act)
        v = float(violation(sm, spec.lower, spec.upper, scale).sum())
        return (round(v, 9), float(cost[rows, lab].sum()))

    def cost_delta(units: np.ndarray, fr: np.ndarray, to: np.ndarray) -> np.ndarray:
        return cost[units, to] - cost[units, fr]

    def repair(lab: np.ndarray, end: float) -> np.ndarray:
        return repair_bands(
            lab,
            nbrs,
            edges,
            act,
            spec.lower,
            spec.upper,
            scale,
            cost_delta=cost_delta,
            contiguity=True,
            locked=locked,
            deadline=end,
        )

    def balance(lab: np.ndarray, end: float) -> np.ndarray:
        # small violations (LP rounding): single moves first, they are cheap
        # in cost; what they leave goes to the flows on the territory graph
        now = time.perf_counter()
        if score(lab)[0] <= 0.5:
            lab = repair(lab, now + 0.3 * max(end - now, 0.0))
            if score(lab)[0] == 0.0:
                return lab
        lab = balance_flow(
            lab,
            nbrs,
            edges,
            act,
            spec.lower,
            spec.upper,
            reduced,
            roots=roots,
            locked=locked,
            deadline=end,
        )
        return repair(lab, end)

    unique_roots = len(np.unique(roots)) == k
    # the LP's reduced costs keep re-grown pieces near the balanced partition
    reduced = cost - act @ duals.T

    def corridors(step_cost: np.ndarray) -> np.ndarray:
        lab = labels
        if unique_roots:
            lab = connect_roots(lab, adj, nbrs, roots, step_cost, act, locked=locked)
        return regrow_strays(lab, adj, nbrs, anchor, reduced, locked=locked)[0]

    def grown() -> np.ndarray:
        target = np.where(
            np.isfinite(spec.upper) & np.isfinite(spec.lower),
            (spec.upper + spec.lower) / 2,
            np.where(np.isfinite(spec.upper), spec.upper, act.sum(axis=0) / k),
        )
        lab = grow_balanced(nbrs, roots, reduced, act, target, locked=locked)
        return regrow_strays(lab, adj, nbrs, anchor, cost, locked=locked)[0]

    def grown_prices() -> np.ndarray:
        lab = grow_with_prices(nbrs, roots, reduced, act, spec.upper, locked=locked)
        return regrow_strays(lab, adj, nbrs, anchor, cost, locked=locked)[0]

    cands: list[tuple[str, Callable[[], np.ndarray], bool]] = [
        ("LP assignment, corridors by reduced cost", lambda: corridors(reduced), True),
        ("LP assignment, corridors by cost", lambda: corridors(cost), True),
    ]
    if unique_roots:
        cands.append(("growth from the roots, least loaded first", grown, False))
        cands.append(("growth from the roots along reduced costs", grown_prices, False))
    best: tuple[tuple[float, float], str, np.ndarray] | None = None
    for i, (name, make, always) in enumerate(cands):
        now = time.perf_counter()
        if i > 0 and (
            now > deadline or (not always and best is not None and best[0][0] == 0.0)
        ):
            continue
        end = now + (deadline - now) / (len(cands) - i)
        lab = balance(make(), max(end, now + 1e-3))
        sc = score(lab)
        if sc[0] == 0.0:
            lab = _polish(lab, spec, cost, nbrs, edges, locked, deadline=end)
            sc = score(lab)
        if best is None or sc < best[0]:
            best = (sc, name, lab)
    assert best is not None
    notes.append(f"start: {best[1]}")
    return best[2]


def _polish(
    labels: np.ndarray,
    spec: Spec,
    cost: np.ndarray,
    nbrs: list[list[int]],
    edges: np.ndarray,
    locked: np.ndarray,
    *,
    deadline: float,
) -> np.ndarray:
    """Contiguous local search: single boundary moves that lower the cost and
    keep every band, then pairs of moves where bands bind, until neither
    helps (or ``deadline``)."""

    def cost_delta(units: np.ndarray, fr: np.ndarray, to: np.ndarray) -> np.ndarray:
        return cost[units, to] - cost[units, fr]

    for _ in range(50):
        labels, _n_moves = improve_moves(
            labels,
            nbrs,
            edges,
            spec.activities,
            spec.lower,
            spec.upper,
            cost_delta,
            contiguity=True,
            locked=locked,
            deadline=deadline,
        )
        labels, n_pairs = improve_pairs(
            labels,
            nbrs,
            edges,
            spec.activities,
            spec.lower,
            spec.upper,
            cost,
            locked=locked,
            deadline=deadline,
        )
        if n_pairs == 0 or time.perf_counter() > deadline:
            break
    return labels


def _anneal_free(
    labels: np.ndarray,
    cost: np.ndarray,
    act: np.ndarray,
    spec: Spec,
    scale: np.ndarray,
    locked: np.ndarray,
    rng: np.random.Generator,
    deadline: float,
    time_limit: float,
    max_iter: int | None,
) -> np.ndarray:
    """No contiguity, bands still broken: anneal over moves to any of a unit's
    4 cheapest territories (pseudo-edges to each territory's cheapest unit)."""
    n, k = cost.shape
    sums = np.zeros((k, act.shape[1]))
    np.add.at(sums, labels, act)
    if float(violation(sums, spec.lower, spec.upper, scale).sum()) <= 1e-12:
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
    lk = locked.copy()
    lk[anchor_unit] = np.arange(k)
    start = labels.copy()
    start[anchor_unit] = np.arange(k)
    left = max(deadline - time.perf_counter(), 0.0)
    sa_end = time.perf_counter() + min(0.7 * left, 0.6 * time_limit)
    if max_iter is not None:
        sa_end = deadline
    found, ok = _anneal_attempts(
        start,
        no_lists,
        pe,
        act,
        spec,
        rng,
        sa_end,
        ((5.0, 2.0), (2.0, 1.0)),
        contiguity=False,
        locked=lk,
        cost=cost,
        max_iter=max_iter,
        chain=False,
    )
    return found if ok else labels


def _anneal_attempts(
    labels: np.ndarray,
    nbrs: list[list[int]],
    edges: np.ndarray,
    act: np.ndarray,
    spec: Spec,
    rng: np.random.Generator,
    sa_end: float,
    schedule: tuple[tuple[float, float], ...],
    *,
    contiguity: bool,
    locked: np.ndarray,
    cost: np.ndarray,
    max_iter: int | None,
    chain: bool,
) -> tuple[np.ndarray, bool]:
    """Band repair by penalised annealing on cost, one run per
    ``(penalty, start temperature)`` of ``schedule``, sharing the time up to
    ``sa_end`` equally among the runs left; stops at the first feasible run.

    ``chain``: each run starts from the previous run's end (else from
    ``labels``).  Returns the last run's labels and whether they are feasible
    (``labels`` and ``False`` when no run had time).
    """
    current, feasible = labels, False
    for attempt, (pen, t_hi) in enumerate(schedule):
        slot = (sa_end - time.perf_counter()) / (len(schedule) - attempt)
        if slot <= 0:
            break
        sa = anneal(
            current if chain else labels,
            nbrs,
            edges,
            act,
            spec.lower,
            spec.upper,
            "cost",
            rng,
            time.perf_counter() + slot,
            contiguity=contiguity,
            locked=locked,
            cost=cost,
            t_start=t_hi,
            t_end=0.01,
            penalty=pen,
            max_iter=max_iter if max_iter is not None else 10**9,
        )
        current, feasible = sa.labels, sa.feasible
        if feasible:
            break
    return current, feasible


def _repair_bands_free(
    labels: np.ndarray,
    cost: np.ndarray,
    act: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    scale: np.ndarray,
    locked: np.ndarray | None,
    max_rounds: int = 200,
) -> np.ndarray:
    """Band repair with any unit movable to any territory (no contiguity)."""
    labels = labels.copy()
    k = cost.shape[1]
    sums = np.zeros((k, act.shape[1]))
    np.add.at(sums, labels, act)
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
            nbr_t = np.argsort(cost[members].min(axis=0))[: min(k, 12)]
            best = (0.0, -1, -1, 0.0)
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
        if not improved:
            break
    return labels


def _improve_free(
    labels: np.ndarray,
    cost: np.ndarray,
    act: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    locked: np.ndarray | None,
    deadline: float,
    max_rounds: int = 50,
) -> np.ndarray:
    """Moves to any territory that lower the cost and keep every band."""
    labels = labels.copy()
    n, k = cost.shape
    sums = np.zeros((k, act.shape[1]))
    np.add.at(sums, labels, act)
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
            if np.all(sums[a_] - act[i] >= lower[a_] - eps[a_]) and np.all(
                sums[b] + act[i] <= upper[b] + eps[b]
            ):
                labels[i] = b
                sums[a_] -= act[i]
                sums[b] += act[i]
                applied += 1
        if applied == 0:
            break
    return labels


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
    """Cut edges / diameter: grown starts + simulated annealing, best kept."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    rng = np.random.default_rng(seed)
    assert spec.adjacency is not None
    n, k = spec.n, spec.k
    nbrs = neighbour_lists(spec.adjacency, n)
    edges = _edges(spec.adjacency)
    if restarts is None:
        restarts = 4 if spec.objective == "cut_edges" else 1
    best = None
    for r in range(restarts):
        now = time.perf_counter()
        left = deadline - now
        if left <= 0:
            break
        slot = left / (restarts - r)
        if r == 0 and initial is not None:
            lab = initial.copy()
        else:
            seeds = None
            if not spec.choose and spec.center_units is not None:
                seeds = np.asarray(spec.center_units)
            lab = grow_partition(nbrs, spec.activities, k, rng, seeds=seeds)
        if spec.locked is not None:
            fix = spec.locked >= 0
            lab[fix] = spec.locked[fix]
        out = anneal(
            lab,
            nbrs,
            edges,
            spec.activities,
            spec.lower,
            spec.upper,
            spec.objective,
            rng,
            now + slot,
            dist=spec.dist,
            contiguity=spec.contiguity,
            locked=spec.locked,
            t_start=1.5 if spec.objective == "cut_edges" else 1.0,
            penalty=1.0 if spec.objective == "cut_edges" else 2.0,
            max_iter=max_iter if max_iter is not None else 10**9,
        )
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
    )


def _graph_bound(spec: Spec) -> float:
    """Weak but valid bounds for the graph objectives.

    ``cut_edges``: a connected graph split into ``k`` non-empty parts cuts at
    least ``k − 1`` edges.  ``diameter``: some territory holds at least
    ``ceil(n / k)`` units, and its diameter is at least the smallest
    "``ceil(n/k)``-th nearest neighbour" distance over all units.
    """
    n, k = spec.n, spec.k
    if spec.objective == "cut_edges":
        return float(k - 1)
    if spec.dist is not None:
        m = math.ceil(n / k)
        d = np.sort(spec.dist, axis=1)[:, m - 1]
        return float(d.min())
    return 0.0

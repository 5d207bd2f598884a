"""Scalable design heuristic: thousands to 100,000 units.

:func:`solve_heuristic` takes a :class:`~terrakit.design.problem.DesignProblem`
and returns an :class:`~terrakit.design.result.AlignmentResult` with a valid
lower bound and the gap to it.

Compactness / travel (``Σ cost[i, center(i)]``)
    1. *Center relocation* (``center_mode="choose"``): from seeds placed
       where the activity is (one per territory's share of it), each
       territory's center moves to the candidate column with the least total
       cost to its units (the exact medoid for the given cost), while the
       cost falls or for 30 % of the time.  With one banded activity the
       assignment in this loop is the exact balanced transportation problem,
       solved as a minimum-cost flow (OR-Tools network simplex,
       :mod:`terrakit.design._choose`); otherwise a fast, vectorised,
       approximately balanced assignment (band prices).  Without contiguity
       the final flow is rounded without breaking bands: heavy split units
       are fixed and the flow re-solved around them, and the light ones are
       repaired by chains of moves and improved by shifts and swaps
       (:mod:`terrakit.design._bandsearch`); the LP of step 2 is then not
       needed.
    2. *Balanced assignment for fixed centers*: the transportation-type LP
       (one band row per territory and activity) solved by HiGHS on each
       unit's 8 cheapest centers (more when that is infeasible); a basic
       solution splits at most ``k × (#activities)`` units, rounded to their
       largest share.  From ``n·k ≥ 4·10⁶`` (e.g. 100,000 units × 200 reps)
       the LP is replaced by a smoothed ascent on its Lagrangian dual
       (:mod:`terrakit.design._dual`), whose exact value is the bound.
       Without contiguity, bands that the rounding and single moves leave
       broken (heavy units on several bands) go to the assignment MIP that
       moves the fewest units (:func:`terrakit.design._assign.round_by_mip`);
       with chosen centers the centers then move to the medoids of that
       plan and the MIP lowers the cost for them, while it falls.
    3. *Contiguity*: a root (the rep's home unit, or the chosen center unit)
       that the LP left outside its territory's main piece ("boxed in" by a
       neighbour) is joined to that piece by the cheapest corridor (priced by
       the LP's reduced costs, or by cost), so the territory may grow away
       from its home; stray pieces are re-grown from the kept pieces along
       the reduced costs.  Two starts grown from the roots are kept as
       fall-backs.
    4. *Bands*: single boundary moves that lower the violation when it is
       small, and min-cost flows on the graph of adjacent territories
       (HiGHS) realised by boundary moves, which ship load through
       territories that are already in band; every move keeps its donor
       connected (local articulation check).  If some band is still broken
       (bands as thin as a unit), *recombination*: two adjacent territories
       merged and re-cut along a random spanning tree between their roots,
       annealed on the violation (:mod:`terrakit.design._recom`); then
       simulated annealing on cost + penalised violation.
    5. *Local search*: boundary moves that lower the cost while keeping every
       band and contiguity, then pairs of moves (a move into a full
       territory with one out of it, a move out of a short territory with one
       into it), repeated while they help; then many boundary moves at once
       chosen by an LP (ejection chains and cycles of any length).  With
       contiguity and at most 60 units per territory, in turn with the
       recombination descent (whole branches in band); where the bands
       needed the repair of step 4, the repair runs again from the same start
       while half the time lasts (not with ``max_iter``), each plan gets the
       descent, and annealed recombination continues from the cheapest.
       Without contiguity the same single moves, pairs of moves and LP
       chains run on star graphs (every unit linked to one fixed unit of
       each territory it may join, so any unit may move to any territory
       and no articulation check applies), with swaps of two units between
       two territories, until nothing helps or the time is up.
    6. *Centers in their own units* (chosen centers with ``center_units``):
       an open center serves its own unit, as in the MIP (Hess model,
       :math:`x_{jj} = y_j`).  The search does not hold that rule without
       contiguity (a band can push a center's unit into a neighbour), so a
       territory whose center's unit lies elsewhere is given, as its center,
       the candidate among its units with the least total cost to them (or,
       with no such candidate, the center's unit back, with up to three
       units given in exchange); when that breaks a band the search's plan
       met, the balanced assignment of step 2 runs again for the same
       centers with each center's unit held.  Last, each territory's
       center moves to the candidate among its units with the least total
       cost to them when that is cheaper (the territories, so the bands,
       stay as they are).  The bound, of the problem without the rule,
       stays valid.

Cut edges / diameter (graph families)
    Grown random contiguous starts (or farthest-point seeds and the balanced
    LP on graph distance for the diameter) improved by simulated annealing
    over boundary moves with the band violation as a growing penalty; the best
    feasible partition is kept.  Locked units seed their territories' starts,
    moves stay within the distance limits (``allowed``), and a plan counts as
    feasible only with every territory connected.  With scenario balance on
    draws, the working set of draws of :func:`_solve_with_draws` applies as
    for compactness, each search starting from the balanced assignment's
    plan for the draws enforced.

Lower bounds (always valid for the problem as stated)
    - fixed centers: the Lagrangian dual of the band rows evaluated at the
      LP's duals, with the inner minimum over *all* centers (units locked to
      a territory, such as the home units under contiguity, only at theirs)
      (:mod:`terrakit.design._assign`) — relaxes integrality and contiguity,
      so it bounds the full problem;
    - scenario balance on draws: the bound of the problem with the point
      bands only (the draw bands dropped);
    - chosen centers: the Lagrangian relaxation of the assignment rows of the
      banded k-median location model, each open center a fractional knapsack
      that keeps both bands of one activity (computed for each banded
      activity, the best kept; with several, then one that prices the other
      activities' bands inside each knapsack, so that every band is kept)
      (:mod:`terrakit.design._pmedian_bound`), with the region cuts of
      regions (islands, remote states) whose activity fits no whole number
      of territories relaxed too, started from the better of each unit's
      cost in the solution found and a local-radius start, by subgradient
      steps in the time the search leaves: at most a quarter of the time
      limit, ending by 97 % of it, after the exact balanced flows (one
      activity, no contiguity); otherwise from the search's end (80 % of
      the limit) to 97 % of it; at least 2 % of the limit.  The clock is read
      within every knapsack pass and the region cuts, so the bound ends by
      that deadline (the "every unit at its nearest candidate" bound when
      the time is up before any multipliers are evaluated); with
      ``max_iter`` the step budget decides instead.  Above 80 million
      unit–candidate pairs only the upper band (capacity) is kept and the
      evaluation is sparse, from the "every unit at its nearest candidate"
      multipliers.  A bound from the assignment LP *given the final
      centers* would not be valid for the choice of centers, so it is not
      used.  Contiguity is dropped, and so are the other activities' bands
      above 4 million pairs per extra activity; without the lower band
      (the largest instances) the bound is far below the optimum where
      the bands force long assignments (national population balance): an
      honest but large gap;
    - cut edges: the ``k − c`` lightest edges of a graph of ``c`` connected
      components (``k − 1`` on a connected graph of unit weights); diameter:
      the smallest distance from a unit to its ``⌈n/k⌉``-th nearest unit (some
      territory has at least that many units).  Both are weak: the gap of the
      graph families is better judged against the published references.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Any

import numpy as np

from terrakit.design._core import Outcome, Spec, solve_graph, solve_location
from terrakit.design.problem import DesignProblem, _rid
from terrakit.design.result import AlignmentResult
from terrakit.exceptions import TimeLimitWarning

__all__ = ["solve_heuristic"]


#: most draws whose band the engine enforces as hard bands at once (each is
#: one more activity column); more draws are thinned or worked through in
#: rounds (:func:`_solve_with_draws`)
MAX_DRAW_BANDS = 200


#: most rounds of draws added to the enforced set (:func:`_solve_with_draws`)
_MAX_DRAW_ROUNDS = 8


def _thin(draws: np.ndarray, cap: int | None = None) -> np.ndarray:
    """At most ``cap`` (default :data:`MAX_DRAW_BANDS`) of the indices
    ``draws``, evenly spread over their order (the first and the last kept);
    all of them when they fit."""
    cap = MAX_DRAW_BANDS if cap is None else cap
    draws = np.asarray(draws, dtype=np.int64)
    if draws.size <= cap:
        return draws
    pick = np.unique(np.round(np.linspace(0, draws.size - 1, cap)).astype(np.int64))
    return draws[pick]


def _spec(
    problem: DesignProblem, draw_subset: np.ndarray | None = None
) -> tuple[Spec, list[str]]:
    """Engine arrays of ``problem``.  ``draw_subset``: indices of the draws
    whose band is enforced as a hard band (``None``: every draw, or
    :data:`MAX_DRAW_BANDS` of them evenly spread when there are more)."""
    notes: list[str] = []
    n, k, m = problem.n_units, problem.n_territories, problem.n_centers
    cols: list[np.ndarray] = []
    los: list[np.ndarray] = []
    his: list[np.ndarray] = []
    names: list[str] = []
    for name, v, lo, hi in problem.bands():
        names.append(str(name))
        cols.append(np.asarray(v, dtype=float))
        los.append(lo)
        his.append(hi)
    if problem.draws is not None:
        # scenario balance made conservative: the band in every draw of a
        # subset of at least ceil(share · S) draws implies the chance constraint
        dlo, dhi = problem.draw_limits()
        draws = np.asarray(problem.draws)
        subset = (
            _thin(np.arange(draws.shape[1]))
            if draw_subset is None
            else np.asarray(draw_subset, dtype=np.int64)
        )
        if len(subset) > MAX_DRAW_BANDS:
            raise ValueError(
                f"at most {MAX_DRAW_BANDS} draw bands at once, got {len(subset)}"
            )
        for s in subset.tolist():
            cols.append(draws[:, s])
            los.append(dlo[s])
            his.append(dhi[s])
        if len(subset):
            notes.append(
                f"draw bands enforced in {len(subset)} of {draws.shape[1]} "
                "draws (conservative)"
                + (
                    f"; at most {MAX_DRAW_BANDS} at once, evenly spread"
                    if draw_subset is None and len(subset) < draws.shape[1]
                    else ""
                )
            )
    if not cols:
        cols = [np.zeros(n)]
        los = [np.full(k, -np.inf)]
        his = [np.full(k, np.inf)]
    locked = np.full(n, -1, dtype=np.int64)
    for i, j in problem.locked.items():
        locked[i] = j
    spec = Spec(
        activities=np.column_stack(cols),
        lower=np.column_stack(los),
        upper=np.column_stack(his),
        cost=np.asarray(problem.cost),
        objective=problem.objective,
        choose=problem.center_mode == "choose",
        center_units=None
        if problem.center_units is None
        else np.asarray(problem.center_units),
        adjacency=problem.adjacency,
        contiguity=bool(problem.contiguity),
        locked=locked if (locked >= 0).any() else None,
        dist=None
        if problem.unit_distance is None
        else np.asarray(problem.unit_distance),
        allowed=None if problem.allowed is None else np.asarray(problem.allowed),
        activity_names=tuple(names),
    )
    del m
    return spec, notes


def _graph_locks(spec: Spec) -> tuple[np.ndarray | None, np.ndarray]:
    """Chosen centers: the locks to center columns as territory labels.

    The graph searches label units by territory (0..k-1); a unit locked to
    a candidate center goes to the territory of that center: the ``m``
    distinct locked columns (sorted) become territories ``0..m-1``, and the
    center's own unit is held there too (a chosen center serves its own
    unit).  Returns the labels (``-1``: free; ``None``: no lock) and the
    locked columns, which :func:`_graph_columns` makes those territories'
    centers.  :meth:`DesignProblem.check` has refused locks to more than
    ``k`` centers and a center's own unit locked to another center.
    """
    assert spec.locked is not None
    fix = spec.locked >= 0
    cols = np.unique(spec.locked[fix])
    if not fix.any():
        return None, cols
    assert cols.size <= spec.k
    labels = np.full(spec.n, -1, dtype=np.int64)
    labels[fix] = np.searchsorted(cols, spec.locked[fix])
    if spec.center_units is not None:
        own = np.asarray(spec.center_units)[cols]
        free = labels[own] < 0
        labels[own[free]] = np.flatnonzero(free)
    return labels, cols


def _graph_allowed(
    problem: DesignProblem, pinned: np.ndarray | None
) -> np.ndarray | None:
    """``problem.allowed`` per territory, ``(n, k)``, for the graph searches
    (whose labels are territories): fixed centers, the matrix itself;
    chosen centers, the column of the center a territory's locked units
    pin (:func:`_graph_locks`), and no limit for the other territories,
    whose center is chosen after the search (:func:`_graph_columns`, among
    the centers allowed for all of its units where one is)."""
    if problem.allowed is None:
        return None
    allowed = np.asarray(problem.allowed, dtype=bool)
    if problem.center_mode == "fixed":
        return allowed
    out = np.ones((problem.n_units, problem.n_territories), dtype=bool)
    if pinned is not None and pinned.size:
        out[:, : pinned.size] = allowed[:, pinned]
    return out


def _solve_graph_objective(
    problem: DesignProblem,
    spec: Spec,
    time_limit: float,
    seed: int | None,
    progress: bool,
    max_iter: int | None,
    initial: np.ndarray | None,
    start_columns: np.ndarray | None = None,
) -> tuple[Outcome, np.ndarray]:
    """Cut edges / diameter on the engine arrays ``spec`` (of ``problem``):
    labels are territories, so with contiguity fixed centers' units (the
    roots) are locked to their territory, chosen centers' locks become
    territories (:func:`_graph_locks`)
    and ``allowed`` is read per territory (:func:`_graph_allowed`).
    ``start_columns`` (a center column per unit), without ``initial``: the
    first search starts from that plan.  Returns the outcome and the center
    column of each unit."""
    if (
        spec.center_units is not None
        and problem.center_mode == "fixed"
        and problem.contiguity
    ):
        # a rep's home unit is the root of its territory under contiguity
        # only (problem.violations); without it, the home units just seed
        # the starts (solve_graph), free to move like any other unit
        lk = (
            np.full(spec.n, -1, dtype=np.int64)
            if spec.locked is None
            else spec.locked.copy()
        )
        lk[spec.center_units] = np.arange(spec.k)
        spec.locked = lk
    pinned = None
    if problem.center_mode != "fixed" and spec.locked is not None:
        # the search's labels are territories 0..k-1, not center columns
        spec.locked, pinned = _graph_locks(spec)
    spec.allowed = _graph_allowed(problem, pinned)
    if initial is None and start_columns is not None:
        initial = _graph_labels(problem, start_columns, pinned)
    out = solve_graph(
        spec,
        time_limit=time_limit,
        seed=seed,
        initial=initial,
        progress=progress,
        max_iter=max_iter,
    )
    return out, _graph_columns(problem, spec, out, pinned)


def _graph_labels(
    problem: DesignProblem, columns: np.ndarray, pinned: np.ndarray | None
) -> np.ndarray | None:
    """The territory labels of the graph searches for a plan given as center
    columns (the inverse of :func:`_graph_columns`): fixed centers, the
    columns; chosen centers, territory ``t < len(pinned)`` for the units at
    ``pinned[t]`` and the other centers in column order.  ``None`` when the
    plan does not open ``k`` centers including every pinned one."""
    cols = np.asarray(columns, dtype=np.int64)
    k = problem.n_territories
    if problem.center_mode == "fixed":
        return cols.copy()
    used = np.unique(cols)
    first = [] if pinned is None else pinned.tolist()
    if used.size != k or not set(first) <= set(used.tolist()):
        return None
    order = first + [j for j in used.tolist() if j not in set(first)]
    label_of = {j: t for t, j in enumerate(order)}
    return np.array([label_of[j] for j in cols.tolist()], dtype=np.int64)


def _graph_columns(
    problem: DesignProblem,
    spec: Spec,
    out: Outcome,
    pinned: np.ndarray | None = None,
) -> np.ndarray:
    """Center column per unit for a graph-objective labelling; with chosen
    centers, territory ``t < len(pinned)`` has center ``pinned[t]`` (the
    column its locked units are locked to, :func:`_graph_locks`), and each
    other territory the candidate among its units (allowed for all of them,
    where one is) with the least total cost to them."""
    labels = out.labels
    k = problem.n_territories
    if problem.center_mode == "fixed":
        return labels.astype(np.int64)
    cost = np.asarray(problem.cost)
    cu = None if problem.center_units is None else np.asarray(problem.center_units)
    allowed = None if problem.allowed is None else np.asarray(problem.allowed)
    centers = np.full(k, -1, dtype=np.int64)
    used: set[int] = set()
    for t, j in enumerate([] if pinned is None else pinned.tolist()):
        centers[t] = int(j)
        used.add(int(j))
    for t in range(k):
        if centers[t] >= 0:
            continue
        members = np.flatnonzero(labels == t)
        if cu is not None:
            own = np.flatnonzero(np.isin(cu, members))
            cand = own if len(own) else np.arange(problem.n_centers)
        else:
            cand = np.arange(problem.n_centers)
        cand = np.array([j for j in cand.tolist() if j not in used], dtype=np.int64)
        if allowed is not None and cand.size:
            # a center allowed for every unit of the territory, where one is
            fits = allowed[np.ix_(members, cand)].all(axis=0)
            if fits.any():
                cand = cand[fits]
        tot = cost[np.ix_(members, cand)].sum(axis=0)
        j = int(cand[int(np.argmin(tot))])
        centers[t] = j
        used.add(j)
    return centers[labels]


#: share of the time limit that a diameter search with fixed centers spends on
#: the compact plan it starts from
_COMPACT_START_SHARE = 0.4


def solve_heuristic(
    problem: DesignProblem,
    *,
    time_limit: float = 60.0,
    seed: int | None = 0,
    progress: bool = False,
    initial: np.ndarray | None = None,
    max_iter: int | None = None,
) -> AlignmentResult:
    """Solve a design problem with the scalable heuristic (see module docs).

    Parameters
    ----------
    problem
        The problem; :meth:`DesignProblem.check` runs first.
    time_limit
        Seconds.  The compactness path usually stops well before; the graph
        objectives (simulated annealing) use the whole budget.
    seed
        Seed of every random choice (same seed, same problem: same answer,
        up to the time limit cutting a search at a different point).
    progress
        Print one line per phase.
    initial
        Optional starting solution for the graph objectives (territory index
        ``0..k-1`` per unit).  Without it, ``objective="diameter"`` with fixed
        centers and a cost matrix starts from the compactness heuristic's plan
        (at most 40 % of the time).
    max_iter
        Optional iteration budget of each annealing run.  With it the
        temperature follows the iteration count, so a fixed seed gives the same
        answer on any machine, as long as the time limit does not stop a run
        before its budget: when it does, the status is ``"time_limit"`` and a
        :class:`~terrakit.exceptions.TimeLimitWarning` says so.  Without it the
        schedule follows the clock.

    Returns
    -------
    AlignmentResult
        ``method="heuristic"``; ``status``:

        - ``"optimal"`` when the bound meets the objective;
        - ``"infeasible"`` when no solution meeting every band was found —
          then the closest one is returned and ``info["violations"]`` lists
          what is broken;
        - ``"time_limit"`` (with a ``TimeLimitWarning``) when the run ended
          after ``time_limit``, when the compact start of a diameter search
          used the whole of it (the search's start, unsearched, is returned;
          an ``"infeasible"`` one warns too), or when, with ``max_iter``, the
          clock stopped
          a step that runs to its own budget (an annealing run, the dual
          ascent of large fixed-centers runs, the chosen-centers bound's
          steps) before its budget was spent (the answer may then
          differ between machines and runs; ``info["cut_by_clock"]`` is
          true);
        - ``"feasible"`` otherwise.  Without ``max_iter`` the search is
          anytime by design: its annealing schedules follow the clock and use
          the time they are given, so a run that ends within ``time_limit``
          is ``"feasible"`` even when it used all of it (it was not cut
          short; more time may still find a better plan).

        ``info["bound"]`` names the bound used.

    Warns
    -----
    TimeLimitWarning
        The run overran ``time_limit``, the compact start of a diameter
        search left no time for the search, or the clock stopped an annealing
        run before its ``max_iter`` budget.

    Raises
    ------
    SpecificationError
        From :meth:`DesignProblem.check`.

    Examples
    --------
    >>> import numpy as np
    >>> from terrakit.design.problem import DesignProblem
    >>> p = DesignProblem.from_cost_matrix(
    ...     np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]]),
    ...     {"workload": [1, 1, 1, 1]}, tolerance={"workload": 0.0})
    >>> res = solve_heuristic(p, time_limit=5, seed=0)
    >>> res.objective, res.columns.tolist()
    (2.0, [0, 0, 1, 1])
    """
    t0 = time.perf_counter()
    problem.check()
    start_cut = False  # the diameter search's compact start cut by the clock
    # the search's share of the time limit: all of it, less the compact start
    search_limit = time_limit
    starved = ""  # why the search had no time at all, if it had none
    if (
        problem.objective == "diameter"
        and initial is None
        and problem.center_mode == "fixed"
        and bool(np.any(problem.cost))
    ):
        # fixed centers with geographic costs (align's geo path): a compact
        # plan in the bands is a far better start for the diameter search than
        # grown regions, which may never reach the bands
        with warnings.catch_warnings():
            # this call's own status and warning say what the start's clock did
            warnings.simplefilter("ignore", TimeLimitWarning)
            start = solve_heuristic(
                problem.replace(objective="compactness"),
                time_limit=_COMPACT_START_SHARE * time_limit,
                seed=seed,
                max_iter=max_iter,
            )
        if start.status != "infeasible":
            initial = np.asarray(start.columns)
        start_cut = bool(start.info.get("cut_by_clock", False))
        spent = time.perf_counter() - t0
        search_limit = time_limit - spent
        if search_limit <= 0:
            # the graph search then returns its start, evaluated, unsearched
            starved = (
                f"the compact start took {spent:.3g} s of time_limit="
                f"{time_limit:g} s: no time was left for the diameter search, "
                "which returns its start unsearched"
            )
    spec, notes = _spec(problem)
    if problem.draws is not None:
        # every objective: the draw bands in a working set of draws, grown
        # while the plan meets them in fewer than draws_share of all draws
        out, columns = _solve_with_draws(
            problem, search_limit, seed, progress, max_iter, notes, initial=initial
        )
    elif problem.objective in ("cut_edges", "diameter"):
        out, columns = _solve_graph_objective(
            problem, spec, search_limit, seed, progress, max_iter, initial
        )
    else:
        work, keep = _usable_candidates(problem)
        if work is not problem:
            spec, _ = _spec(work)
            notes.append(
                f"{problem.n_centers - keep.size} candidate center(s) left out: "
                "their unit is locked to another center, and with contiguity a "
                "center holds its own unit"
            )
        out = solve_location(
            spec, time_limit=time_limit, seed=seed, progress=progress, max_iter=max_iter
        )
        columns = keep[_location_columns(spec, out)]
    columns = _keep_locks(problem, columns, notes)
    searched = columns
    columns = _own_units(problem, columns, notes)
    if (
        problem.center_mode == "choose"
        and problem.objective in ("compactness", "travel")
        and problem.draws is None
        and not problem.budgets
        and problem.violations(columns)
        # the search's plan broke nothing but the own-unit rule
        and all(v.startswith("center unit ") for v in problem.violations(searched))
    ):
        # serving their own units broke a plan in band: keep the centers,
        # hold their units and assign the rest again around them
        columns = _fixed_centers_again(
            problem,
            searched,
            columns,
            time_limit - (time.perf_counter() - t0),
            seed,
            notes,
        )
    if problem.objective in ("compactness", "travel"):
        columns = _medoid_centers(problem, columns, notes)
    seconds = time.perf_counter() - t0
    violations = problem.violations(columns)
    objective = problem.evaluate(columns)
    # with an iteration budget, the clock stopped an annealing run first: the
    # answer is no longer the seed's alone (max_iter's promise is broken)
    cut = max_iter is not None and (out.clock_cut or start_cut)
    budget_note = (
        f"the iteration budget max_iter={max_iter} was not reached in "
        f"time_limit={time_limit:g} s: the clock stopped an annealing run first, "
        "so the answer may differ between machines and runs"
    )
    if violations:
        status = "infeasible"
    elif out.lower_bound >= objective - 1e-9 * max(abs(objective), 1.0):
        status = "optimal"
    elif problem.objective in ("compactness", "travel") and seconds > time_limit:
        status = "time_limit"
        warnings.warn(
            f"heuristic stopped at the time limit ({time_limit:g} s); returning the "
            "best feasible alignment found"
            + (
                f"; {budget_note}. Fix: raise time_limit or lower max_iter"
                if cut
                else ""
            ),
            TimeLimitWarning,
            stacklevel=2,
        )
    elif starved or cut:
        status = "time_limit"
        warnings.warn(
            f"{starved}. Fix: raise time_limit"
            if starved
            else f"{budget_note}; returning the best feasible alignment found. "
            "Fix: raise time_limit or lower max_iter",
            TimeLimitWarning,
            stacklevel=2,
        )
    else:
        status = "feasible"
    if starved and status == "infeasible":
        warnings.warn(
            f"{starved}. Fix: raise time_limit", TimeLimitWarning, stacklevel=2
        )
    info: dict[str, Any] = {
        "bound": out.bound_method,
        "iterations": int(out.iterations),
        "notes": notes
        + list(out.notes)
        + ([starved] if starved else [])
        + ([budget_note] if cut and not starved else []),
    }
    if max_iter is not None:
        info["cut_by_clock"] = bool(cut)
    if violations:
        info["violations"] = violations[:20]
        info["n_violations"] = len(violations)
    intervals = None
    if problem.draws is not None:
        from terrakit.design.mip import draw_intervals

        intervals = draw_intervals(problem, columns)
        good, need = problem.draws_met(columns)
        info["draws_met"] = good
        info["draws_needed"] = need
    return AlignmentResult.from_columns(
        problem,
        columns,
        status=status,  # type: ignore[arg-type]
        lower_bound=out.lower_bound,
        method="heuristic",
        seconds=seconds,
        seed=seed,
        # the limit given, not the search's share of it: a rerun with the
        # recorded limit gives the compact start its 40 % of the same time
        config={"time_limit": time_limit},
        intervals=intervals,
        info=info,
    )


def _usable_candidates(problem: DesignProblem) -> tuple[DesignProblem, np.ndarray]:
    """Chosen centers with contiguity: the problem without the candidate
    columns whose unit is locked to another center (a chosen center holds its
    own unit, so no plan can choose them), and the kept columns.  The
    problem itself, and every column, otherwise."""
    every = np.arange(problem.n_centers)
    if not (
        problem.center_mode == "choose"
        and problem.contiguity
        and problem.locked
        and problem.center_units is not None
        and not problem.budgets
    ):
        return problem, every
    cu = np.asarray(problem.center_units)
    blocked = np.array(
        [problem.locked.get(int(u), j) != j for j, u in enumerate(cu.tolist())]
    )
    keep = every[~blocked]
    if not blocked.any() or keep.size < problem.n_territories:
        return problem, every
    return _on_columns(problem, keep), keep


def _on_columns(problem: DesignProblem, keep: np.ndarray) -> DesignProblem:
    """``problem`` with only the candidate columns ``keep`` (their costs,
    units, ids and allowed pairs; locks renumbered, ``-1`` for a lock to a
    column left out)."""
    pos = np.full(problem.n_centers, -1, dtype=np.int64)
    pos[keep] = np.arange(keep.size)
    cids = problem.center_ids or tuple(range(problem.n_centers))
    return problem.replace(
        cost=np.asarray(problem.cost)[:, keep],
        center_units=np.asarray(problem.center_units)[keep],
        center_ids=tuple(cids[j] for j in keep.tolist()),
        locked={i: int(pos[j]) for i, j in problem.locked.items()},
        allowed=None
        if problem.allowed is None
        else np.asarray(problem.allowed)[:, keep],
    )


def _keep_locks(
    problem: DesignProblem, columns: np.ndarray, notes: list[str]
) -> np.ndarray:
    """``columns`` with every locked unit at its locked center.

    A lock is hard: a plan in which the search moved a locked unit is put
    back (a note names the units and centers by id), so the result keeps
    every lock; what that breaks (a band, contiguity, one center too many)
    is then reported by :meth:`DesignProblem.violations` with status
    ``"infeasible"``.
    """
    cols = np.asarray(columns, dtype=np.int64)
    moved = [(i, j) for i, j in problem.locked.items() if cols[i] != j]
    if not moved:
        return cols
    cids = problem.center_ids or ()
    ids = problem.unit_ids
    shown = ", ".join(
        f"{_rid(ids[i])} from {_rid(cids[cols[i]])} back to {_rid(cids[j])}"
        for i, j in moved[:5]
    )
    cols = cols.copy()
    for i, j in moved:
        cols[i] = j
    notes.append(
        f"the search moved {len(moved)} locked unit(s); put back ({shown}), so "
        "the plan keeps every lock"
    )
    return cols


def _columns_at_units(center_units: np.ndarray) -> dict[int, list[int]]:
    """The candidate columns in each unit (``{unit: [column, ...]}``)."""
    at_unit: dict[int, list[int]] = {}
    for j, u in enumerate(np.asarray(center_units).tolist()):
        at_unit.setdefault(int(u), []).append(j)
    return at_unit


def _cheapest_own_center(
    members: np.ndarray,
    at_unit: dict[int, list[int]],
    used: set[int],
    cost: np.ndarray,
    allowed: np.ndarray | None,
) -> tuple[int, float] | None:
    """The candidate column in one of ``members``' units (not in ``used``,
    allowed for every member) with the least total cost to them, and that
    cost; ``None`` when there is none."""
    cand = [
        j2
        for i in members.tolist()
        for j2 in at_unit.get(i, [])
        if j2 not in used and (allowed is None or bool(allowed[members, j2].all()))
    ]
    if not cand:
        return None
    tot = cost[np.ix_(members, np.asarray(cand, dtype=np.int64))].sum(axis=0)
    best = int(np.argmin(tot))
    return cand[best], float(tot[best])


def _own_units(
    problem: DesignProblem, columns: np.ndarray, notes: list[str]
) -> np.ndarray:
    """Chosen centers in units: ``columns`` with every open center serving
    its own unit (``center_units[j]`` in the territory of ``j``, as in the
    MIP, :func:`terrakit.design.mip.build_model`).

    The search places centers by cost and assigns units to them without
    that rule (without contiguity a band can push a center's unit into a
    neighbour).  A territory whose center's unit lies elsewhere gets, as its
    center, the candidate among its own units with the least total cost to
    them (allowed for all of them, not open elsewhere): the units stay
    where they are, so every band still holds.  A territory with no such
    candidate, or one that a locked unit ties to its center, takes the
    center's unit back instead (unless that unit is locked elsewhere), and
    gives the territory that held it, in exchange, one to three units of its
    own whose move keeps every band of both (:func:`_swap_for`; the
    cheapest such);
    when none does, a band this breaks is reported by the result's
    violations.  The lower bound (of the problem without the rule, a
    relaxation) stays valid.
    """
    cols = np.asarray(columns, dtype=np.int64)
    if problem.center_mode != "choose" or problem.center_units is None:
        return cols
    cu = np.asarray(problem.center_units, dtype=np.int64)
    off = [int(j) for j in np.unique(cols) if cols[cu[j]] != j]
    if not off:
        return cols
    cols = cols.copy()
    cost = np.asarray(problem.cost, dtype=float)
    allowed = None if problem.allowed is None else np.asarray(problem.allowed)
    pinned = set(problem.locked.values())
    used = set(np.unique(cols).tolist())
    at_unit = _columns_at_units(cu)
    cids = problem.center_ids or ()
    moved: list[str] = []
    for j in off:
        members = np.flatnonzero(cols == j)
        h = int(cu[j])
        if members.size == 0 or cols[h] == j:
            continue
        best = (
            None
            if j in pinned
            else _cheapest_own_center(members, at_unit, used, cost, allowed)
        )
        if best is not None:
            j2 = best[0]
            cols[members] = j2
            used.discard(j)
            used.add(j2)
            moved.append(f"{_rid(cids[j])} → {_rid(cids[j2])}")
        elif h not in problem.locked and cu[cols[h]] != h:
            given = _swap_for(problem, cols, h, j, cu[list(used)], cost, allowed)
            if given is not None:
                moved.append(
                    f"unit {_rid(problem.unit_ids[h])} back to {_rid(cids[j])} "
                    f"for {', '.join(_rid(problem.unit_ids[u]) for u in given)}"
                )
                cols[given] = cols[h]
            else:
                moved.append(
                    f"unit {_rid(problem.unit_ids[h])} back to {_rid(cids[j])}"
                )
            cols[h] = j
    if moved:
        notes.append(
            f"{len(moved)} chosen center(s) did not serve their own unit; moved "
            f"to a unit of their territory or given it back ({', '.join(moved[:5])})"
        )
    return cols


def _medoid_centers(
    problem: DesignProblem, columns: np.ndarray, notes: list[str]
) -> np.ndarray:
    """Chosen centers in units: each territory's center moved to the
    candidate among its own units with the least total cost to them, when
    that is cheaper.

    The territories stay as they are, so every band, contiguity and
    distance limit that held still holds (the new center is allowed for
    all of its units, and serves its own unit); the cost can only fall.
    Territories holding units locked to their center keep it.
    """
    cols = np.asarray(columns, dtype=np.int64)
    if (
        problem.center_mode != "choose"
        or problem.center_units is None
        or problem.budgets
        or problem.draws is not None
    ):
        return cols
    cu = np.asarray(problem.center_units, dtype=np.int64)
    cost = np.asarray(problem.cost)
    allowed = None if problem.allowed is None else np.asarray(problem.allowed)
    pinned = set(problem.locked.values())
    at_unit = _columns_at_units(cu)
    used = set(np.unique(cols).tolist())
    out = cols.copy()
    saved = 0.0
    moved = 0
    for j in sorted(used):
        if j in pinned:
            continue
        members = np.flatnonzero(cols == j)
        best = _cheapest_own_center(members, at_unit, used, cost, allowed)
        now = float(cost[members, j].sum())
        if best is not None and best[1] < now - 1e-9 * max(abs(now), 1.0):
            j2 = best[0]
            out[members] = j2
            used.discard(j)
            used.add(j2)
            saved += now - best[1]
            moved += 1
    if moved:
        notes.append(
            f"{moved} center(s) moved to the medoid of their territory (cost "
            f"{saved:.6g} lower; territories unchanged)"
        )
    return out


def _fixed_centers_again(
    problem: DesignProblem,
    searched: np.ndarray,
    columns: np.ndarray,
    left: float,
    seed: int | None,
    notes: list[str],
) -> np.ndarray:
    """Chosen centers whose own units, given back (:func:`_own_units`), broke
    the bands of the plan the search found: the balanced assignment for the
    search's centers again, each center's unit held in its territory (as
    the MIP's :math:`x_{jj} = y_j`).  ``columns`` when that plan is no closer
    to the bands."""
    open_ = np.unique(searched)
    if open_.size != problem.n_territories:
        return columns
    sub = _on_columns(problem, open_)
    locked = dict(sub.locked)
    if any(t < 0 for t in locked.values()):
        return columns  # a unit locked to a center the search did not open
    cu = np.asarray(sub.center_units, dtype=np.int64)
    if any(locked.setdefault(int(u), t) != t for t, u in enumerate(cu.tolist())):
        return columns  # a center's unit is locked to another center
    spec, _ = _spec(sub.replace(center_mode="fixed", locked=locked))
    out = solve_location(spec, time_limit=max(left, 1.0), seed=seed)
    again = open_[_location_columns(spec, out)]
    if len(problem.violations(again)) >= len(problem.violations(columns)):
        return columns
    notes.append(
        "centers' own units given back broke the bands: the units were assigned "
        "again to the same centers with each center's unit held"
    )
    return again


def _swap_for(
    problem: DesignProblem,
    cols: np.ndarray,
    h: int,
    j: int,
    center_units: np.ndarray,
    cost: np.ndarray,
    allowed: np.ndarray | None,
) -> list[int] | None:
    """Units of center ``j``'s territory to give the territory holding
    ``j``'s own unit ``h`` when ``h`` comes back to ``j``: the cheapest set
    of one to :data:`_SWAP_MAX_UNITS` units whose exchange with ``h`` leaves
    no band of the two territories further out of its band than before
    (``None`` when there is none).  Units that are centers' own units,
    locked, or not allowed at the other center are not offered."""
    import itertools
    import math

    j2 = int(cols[h])
    members = np.flatnonzero(cols == j)
    keep = ~np.isin(members, center_units)
    if problem.locked:
        keep &= ~np.isin(members, np.fromiter(problem.locked, dtype=np.int64))
    if allowed is not None:
        keep &= allowed[members, j2]
    cand = members[keep]
    if cand.size == 0 or (allowed is not None and not allowed[h, j]):
        return None
    bands = [
        (np.asarray(vals, dtype=float), (float(lo[0]), float(hi[0])))
        for _, vals, lo, hi in problem.bands()  # equal bands with chosen centers
    ]
    delta = cost[cand, j2] - cost[cand, j]
    for size in range(1, _SWAP_MAX_UNITS + 1):
        n_sets = math.comb(cand.size, size)
        if n_sets == 0 or n_sets > _SWAP_MAX_SETS:
            break
        combos = itertools.combinations(range(cand.size), size)
        sets = np.fromiter(
            itertools.chain.from_iterable(combos),
            dtype=np.int64,
            count=n_sets * size,
        ).reshape(n_sets, size)
        ok = np.ones(n_sets, dtype=bool)
        for v, band in bands:
            slack = 1e-9 * max(1.0, abs(band[1]))
            s1, s2 = float(v[cols == j].sum()), float(v[cols == j2].sum())
            given = v[cand][sets].sum(axis=1)
            ok &= _outside(s1 + v[h] - given, band) <= _outside(s1, band) + slack
            ok &= _outside(s2 - v[h] + given, band) <= _outside(s2, band) + slack
        if ok.any():
            price = delta[sets[ok]].sum(axis=1)
            best = sets[ok][int(np.argmin(price))]
            return [int(u) for u in cand[best]]
    return None


#: The most units :func:`_swap_for` gives in exchange for a center's unit,
#: and the most sets of one size it weighs.
_SWAP_MAX_UNITS = 3
_SWAP_MAX_SETS = 200_000


def _outside(total: Any, band: tuple[float, float]) -> Any:
    """How far ``total`` (a number or an array) lies outside ``band``."""
    return np.maximum(np.maximum(band[0] - total, total - band[1]), 0.0)


def _location_columns(spec: Spec, out: Outcome) -> np.ndarray:
    """The center column of each unit; units the engine left unassigned (no
    balanced assignment was found for its centers) go to their cheapest
    allowed center among them, so the closest plan returned is a real one
    (it used to put every unit in the first territory)."""
    assert out.centers is not None
    centers = np.asarray(out.centers, dtype=np.int64)
    labels = np.asarray(out.labels, dtype=np.int64)
    if (labels >= 0).all():
        return centers[labels]
    cost = np.asarray(spec.cost, dtype=float)[:, centers]
    if spec.allowed is not None:
        cost = np.where(np.asarray(spec.allowed)[:, centers], cost, np.inf)
    nearest = np.argmin(np.where(np.isnan(cost), np.inf, cost), axis=1)
    return centers[np.where(labels >= 0, labels, nearest)]


def _draw_margin(problem: DesignProblem, cols: np.ndarray) -> np.ndarray:
    """Per draw (S,), how far the plan ``cols`` is inside the draw band: the
    smallest slack to a limit over the territories, relative to the upper
    limit; negative where the band is broken in that draw."""
    terr, used = problem.territory_index(cols)
    draws = np.asarray(problem.draws)
    k = problem.n_territories
    sums = np.zeros((max(k, len(used)), draws.shape[1]))
    np.add.at(sums, terr, draws)
    sums = sums[:k]
    lo, hi = problem.draw_limits()
    slack = np.minimum(hi.T - sums, sums - lo.T) / np.maximum(np.abs(hi.T), 1e-300)
    return np.asarray(slack.min(axis=0))


def _solve_with_draws(
    problem: DesignProblem,
    time_limit: float,
    seed: int | None,
    progress: bool,
    max_iter: int | None,
    notes: list[str],
    *,
    initial: np.ndarray | None = None,
) -> tuple[Outcome, np.ndarray]:
    """Scenario balance on draws, for every objective: each solve below is
    :func:`solve_location` (compactness / travel) or, for cut edges and
    diameter, :func:`_solve_graph_objective` (from ``initial`` when given).

    1. Solve with the point bands only (no draw band): its lower bound is
       valid for the problem with draws (dropping constraints relaxes it).
    2. If fewer than ``need = ceil(share · S)`` draws meet the draw band,
       enforce the band as a hard band in a working set of draws (a
       restriction of the chance constraint): the ``need`` draws in which
       that solution comes closest to the band, or, when ``need`` is above
       :data:`MAX_DRAW_BANDS`, that many of them evenly spread over their
       ranking.
    3. Check the plan on *all* draws.  While the band holds in fewer than
       ``need`` of them and time is left, add the broken draws among the
       ``need`` that the plan comes closest to (cutting planes; when the set
       would exceed :data:`MAX_DRAW_BANDS`, the enforced draws with the most
       slack make room) and solve again.

    The best solution (feasible first, then objective) is returned, with the
    bound of step 1.
    """
    t0 = time.perf_counter()
    draws = np.asarray(problem.draws)
    n_draws = draws.shape[1]
    graph = problem.objective in ("cut_edges", "diameter")

    def run(spec: Spec, limit: float) -> tuple[Outcome, np.ndarray]:
        if not graph:
            out = solve_location(
                spec, time_limit=limit, seed=seed, progress=progress, max_iter=max_iter
            )
            return out, _location_columns(spec, out)
        t_run = time.perf_counter()
        start, start_cut = None, False
        if initial is None and spec.activities.shape[1] > len(problem.bands()):
            # draw bands enforced: finding a plan in them all is the hard part,
            # where the balanced assignment beats the annealing's penalty (a 3×3
            # grid, 32 draws: it meets them, the annealing stuck at 2.4 band
            # widths off); the graph search starts from its plan
            compact = dataclasses.replace(spec, objective="compactness")
            loc = solve_location(
                compact,
                time_limit=_COMPACT_START_SHARE * limit,
                seed=seed,
                max_iter=max_iter,
            )
            if (loc.labels >= 0).all():
                start = _location_columns(compact, loc)
            start_cut = loc.clock_cut
            limit = max(limit - (time.perf_counter() - t_run), 0.1 * limit)
        out, cols = _solve_graph_objective(
            problem, spec, limit, seed, progress, max_iter, initial, start
        )
        out.clock_cut = out.clock_cut or start_cut
        return out, cols

    notes.clear()
    spec0, notes0 = _spec(problem, draw_subset=np.zeros(0, dtype=np.int64))
    out0, cols0 = run(spec0, 0.4 * time_limit)
    good0, need = problem.draws_met(cols0)
    notes.extend(notes0 + list(out0.notes))
    if good0 >= need or not (out0.labels >= 0).all():
        notes.append(f"point-band solution meets the draw band in {good0} draws")
        return out0, cols0

    def rank(cols: np.ndarray) -> tuple[int, float]:
        return (len(problem.violations(cols)), problem.evaluate(cols))

    best_out, best_cols, best_rank = out0, cols0, rank(cols0)
    clock_cut = out0.clock_cut
    margin = _draw_margin(problem, cols0)
    work = _thin(np.argsort(-margin, kind="stable")[:need])
    rounds = most = 0
    while True:
        elapsed = time.perf_counter() - t0
        left = time_limit - elapsed
        if rounds >= _MAX_DRAW_ROUNDS:
            break
        if rounds and left < 0.05 * time_limit:
            # with max_iter the rounds are the budget: the clock cut them
            clock_cut = clock_cut or max_iter is not None
            break
        most = max(most, int(work.size))
        spec1, _ = _spec(problem, draw_subset=np.sort(work))
        out1, cols1 = run(
            spec1,
            max(
                left if rounds == 0 and need <= MAX_DRAW_BANDS else 0.5 * left,
                0.1 * time_limit,
            ),
        )
        rounds += 1
        clock_cut = clock_cut or out1.clock_cut
        notes.extend(x for x in out1.notes if x not in notes)
        if (out1.labels >= 0).all():
            r1 = rank(cols1)
            if r1 < best_rank:
                best_out, best_cols, best_rank = out1, cols1, r1
        if problem.draws_met(cols1)[0] >= need:
            break
        # cutting planes: the broken draws among the ``need`` the plan comes
        # closest to, not yet enforced
        margin = _draw_margin(problem, cols1)
        target = np.argsort(-margin, kind="stable")[:need]
        new = target[(margin[target] < 0) & ~np.isin(target, work)]
        if new.size == 0:
            break
        new = new[np.argsort(-margin[new], kind="stable")][: MAX_DRAW_BANDS // 2]
        room = MAX_DRAW_BANDS - new.size
        if work.size > room:
            # keep the enforced draws with the least slack in this plan
            work = work[np.argsort(margin[work], kind="stable")[:room]]
        work = np.concatenate([work, new])
    best_good, _ = problem.draws_met(best_cols)
    notes.append(
        f"draw bands enforced as hard bands in {most} of {n_draws} draws"
        + (f" (at most {MAX_DRAW_BANDS} at once)" if n_draws > MAX_DRAW_BANDS else "")
        + f", {rounds} round(s), conservative; the plan meets the band in "
        f"{best_good} of {n_draws} draws (need {need})"
    )
    # any run stopped by the clock before max_iter: the answer is the clock's
    best_out.clock_cut = clock_cut
    if best_out is not out0:
        # the bound of the point-band problem stays valid; the one of the
        # restricted problem would not be
        best_out.lower_bound = out0.lower_bound
        best_out.bound_method = out0.bound_method + " (point bands; draw bands dropped)"
    return best_out, best_cols

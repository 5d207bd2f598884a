"""Scalable design heuristic: thousands to 100,000 units.

:func:`solve_heuristic` takes a :class:`~terrakit.design.problem.DesignProblem`
and returns an :class:`~terrakit.design.result.AlignmentResult` with a valid
lower bound and the gap to it.

Compactness / travel (``Σ cost[i, center(i)]``)
    1. *Balanced assignment for fixed centers*: the transportation-type LP
       (one band row per territory and activity) solved by HiGHS on each
       unit's 8 cheapest centers (more when that is infeasible); a basic
       solution splits at most ``k × (#activities)`` units, rounded to their
       largest share.
    2. *Center relocation* (``center_mode="choose"``): each territory's new
       center is the candidate column with the least total cost to its units
       (the exact medoid for the given cost); steps 1 and 2 alternate until
       the centers stop changing, the LP stops improving or 30 % of the time
       is used.
    3. *Contiguity*: units outside the piece of their territory that holds its
       center are forbidden that territory and the LP is solved again (while
       the number of stray units falls); what remains is repaired by
       re-growing the stray units from the kept pieces, cheapest first.  A
       second start grows every territory from its center along the LP's
       reduced costs (cost minus balance prices) up to its upper band; the
       better of the two (band violation, then cost) is kept.
    4. *Bands and local search*: boundary moves that reduce the band
       violation; if some band is still broken, simulated annealing on cost +
       penalised violation over boundary moves (donor kept connected); then
       boundary moves that lower the cost while keeping every band and
       contiguity (local articulation check: the donor's neighbours of the
       moved unit must stay connected inside the donor).

Cut edges / diameter (graph families)
    Grown random contiguous starts (or farthest-point seeds and the balanced
    LP on graph distance for the diameter) improved by simulated annealing
    over boundary moves with the band violation as a growing penalty; the best
    feasible partition is kept.

Lower bounds (always valid for the problem as stated)
    - fixed centers: the Lagrangian dual of the band rows evaluated at the
      LP's duals, with the inner minimum over *all* centers
      (:mod:`terrakit.design._assign`) — relaxes integrality and contiguity,
      so it bounds the full problem;
    - chosen centers: the Lagrangian relaxation of the assignment rows of the
      k-median location model with each center's capacity (upper band) kept as
      a fractional knapsack (:mod:`terrakit.design._pmedian_bound`).  A bound
      from the assignment LP *given the final centers* would not be valid for
      the choice of centers, so it is not used;
    - cut edges: ``k − 1`` on a connected graph; diameter: the smallest
      distance from a unit to its ``⌈n/k⌉``-th nearest unit (some territory has
      at least that many units).  Both are weak: the gap of the graph families
      is better judged against the published references.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from terrakit.design._core import Outcome, Spec, solve_graph, solve_location
from terrakit.design.problem import DesignProblem
from terrakit.design.result import AlignmentResult
from terrakit.exceptions import TimeLimitWarning

__all__ = ["solve_heuristic"]


def _spec(problem: DesignProblem) -> tuple[Spec, list[str]]:
    notes: list[str] = []
    n, k, m = problem.n_units, problem.n_territories, problem.n_centers
    cols: list[np.ndarray] = []
    los: list[np.ndarray] = []
    his: list[np.ndarray] = []
    for _name, v, lo, hi in problem.bands():
        cols.append(np.asarray(v, dtype=float))
        los.append(lo)
        his.append(hi)
    if problem.draws is not None:
        # conservative scenario balance: the band in *every* draw implies it in
        # any share of draws
        dlo, dhi = problem.draw_limits()
        draws = np.asarray(problem.draws)
        if draws.shape[1] <= 200:
            for s in range(draws.shape[1]):
                cols.append(draws[:, s])
                los.append(dlo[s])
                his.append(dhi[s])
            notes.append("draw bands enforced in every draw (conservative)")
        else:
            notes.append("more than 200 draws: draw bands not enforced")
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
    )
    del m
    return spec, notes


def _graph_columns(problem: DesignProblem, spec: Spec, out: Outcome) -> np.ndarray:
    """Center column per unit for a graph-objective labelling."""
    labels = out.labels
    k = problem.n_territories
    if problem.center_mode == "fixed":
        return labels.astype(np.int64)
    cost = np.asarray(problem.cost)
    cu = None if problem.center_units is None else np.asarray(problem.center_units)
    centers = np.full(k, -1, dtype=np.int64)
    used: set[int] = set()
    for t in range(k):
        members = np.flatnonzero(labels == t)
        if cu is not None:
            own = np.flatnonzero(np.isin(cu, members))
            cand = own if len(own) else np.arange(problem.n_centers)
        else:
            cand = np.arange(problem.n_centers)
        cand = np.array([j for j in cand.tolist() if j not in used], dtype=np.int64)
        tot = cost[np.ix_(members, cand)].sum(axis=0)
        j = int(cand[int(np.argmin(tot))])
        centers[t] = j
        used.add(j)
    return centers[labels]


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
        ``0..k-1`` per unit).
    max_iter
        Optional iteration budget of each annealing run.  With it the
        temperature follows the iteration count, so a fixed seed gives the same
        answer on any machine (as long as the time limit does not cut the run);
        without it the schedule follows the clock.

    Returns
    -------
    AlignmentResult
        ``method="heuristic"``; ``status`` ``"feasible"`` (or ``"optimal"``
        when the bound meets the objective, ``"time_limit"`` when the deadline
        cut the local search short, ``"infeasible"`` when no solution meeting
        every band was found — then the closest one is returned and
        ``info["violations"]`` lists what is broken).  ``info["bound"]``
        names the bound used.

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
    spec, notes = _spec(problem)
    if problem.objective in ("cut_edges", "diameter"):
        if spec.center_units is not None and problem.center_mode == "fixed":
            lk = (
                np.full(spec.n, -1, dtype=np.int64)
                if spec.locked is None
                else spec.locked.copy()
            )
            lk[spec.center_units] = np.arange(spec.k)
            spec.locked = lk
        out = solve_graph(
            spec,
            time_limit=time_limit,
            seed=seed,
            initial=initial,
            progress=progress,
            max_iter=max_iter,
        )
        columns = _graph_columns(problem, spec, out)
    else:
        out = solve_location(
            spec, time_limit=time_limit, seed=seed, progress=progress, max_iter=max_iter
        )
        assert out.centers is not None
        columns = (
            np.asarray(out.centers)[out.labels]
            if (out.labels >= 0).all()
            else np.zeros(spec.n, dtype=np.int64)
        )
    seconds = time.perf_counter() - t0
    violations = problem.violations(columns)
    objective = problem.evaluate(columns)
    if violations:
        status = "infeasible"
    elif out.lower_bound >= objective - 1e-9 * max(abs(objective), 1.0):
        status = "optimal"
    elif problem.objective in ("compactness", "travel") and seconds > time_limit:
        status = "time_limit"
        warnings.warn(
            f"heuristic stopped at the time limit ({time_limit:g} s); returning the "
            "best feasible alignment found",
            TimeLimitWarning,
            stacklevel=2,
        )
    else:
        status = "feasible"
    info: dict[str, Any] = {
        "bound": out.bound_method,
        "iterations": int(out.iterations),
        "notes": notes + list(out.notes),
    }
    if violations:
        info["violations"] = violations[:20]
    return AlignmentResult.from_columns(
        problem,
        columns,
        status=status,  # type: ignore[arg-type]
        lower_bound=out.lower_bound,
        method="heuristic",
        seconds=seconds,
        seed=seed,
        config={"time_limit": time_limit},
        info=info,
    )

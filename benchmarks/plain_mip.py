"""The territory-design model a user writes by hand: PuLP in loops, CBC.

The side-by-side baseline of the design benchmarks (issue 3: "the plain
PuLP+CBC model a user would write by hand: report time and objective
ratios").  It reads the same :class:`~terrakit.design.problem.DesignProblem`
that terrakit solves, so both answer the same question, and writes the
textbook model:

- ``x[i][j]`` binary: unit ``i`` in the territory of center column ``j``
  (only the pairs ``problem.allowed`` permits); every unit assigned once;
- fixed centers: one territory per column; chosen centers (``"choose"``):
  ``y[j]`` opens column ``j``, ``Σ y = k`` and ``x[i][j] ≤ y[j]`` (the Hess
  model);
- every band as ``lo·y[j] ≤ Σ_i a_i x[i][j] ≤ hi·y[j]``; locks as ``x = 1``;
- cut edges ``z[e] ≥ |x[u][j] − x[v][j]|`` for every column (needed by the
  ``"cut_edges"`` objective and by contiguity);
- contiguity by a single-commodity flow: each open center's unit supplies
  flow, every unit consumes one, and no flow crosses a cut edge;
- objective ``Σ cost[i][j] x[i][j]`` (compactness, travel) or ``Σ w_e z[e]``
  (cut edges).

The answer is scored by terrakit's own ``problem.evaluate`` and checked by
``problem.violations`` (bands, locks, contiguity), so a CBC answer that
breaks a constraint is reported as such.
"""

from __future__ import annotations

import math
import re
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp


def _solve_with_watchdog(prob: Any, solver: Any, hard: float) -> bool:
    """``prob.solve(solver)``, killing CBC when it is still running ``hard``
    seconds later (CBC does not check its time limit in every phase: on the
    IA county graph it was still running after 6 minutes of a 60-s limit).
    True when it had to be killed."""
    import psutil
    import pulp

    me = psutil.Process()
    killed: list[int] = []

    def kill() -> None:
        for child in me.children(recursive=True):
            if "cbc" in child.name().lower():
                child.kill()
                killed.append(child.pid)

    timer = threading.Timer(hard, kill)
    timer.start()
    try:
        prob.solve(solver)
    except pulp.PulpSolverError:
        if not killed:
            raise
    finally:
        timer.cancel()
    return bool(killed)


def plain_pulp_cbc(
    problem: Any, time_limit: float, *, build_counts: bool = True, grace: float = 30.0
) -> dict[str, Any]:
    """Solve ``problem`` with the hand-written PuLP model and CBC.

    ``time_limit`` covers the build and CBC's run; with ``build_counts=False``
    CBC gets all of it after the build (for models whose build alone takes
    longer).  CBC is killed ``grace`` seconds after its limit if it has not
    stopped by then (status ``"killed"``).

    Returns ``value`` (``problem.evaluate`` of CBC's answer, NaN when none),
    ``bound`` (CBC's lower bound, read from its log; NaN when it printed
    none), ``seconds`` (build + solve), ``build_seconds``, ``status``
    (``"optimal"``, ``"time_limit"``, ``"no solution"``, ``"infeasible"`` or
    ``"killed"``), ``violations`` (of the answer) and the model's size.
    """
    import pulp

    if problem.objective not in ("compactness", "travel", "cut_edges"):
        raise ValueError(f"no plain model for objective {problem.objective!r}")
    if problem.draws is not None or problem.budgets:
        raise ValueError("the plain model covers bands, locks and contiguity only")
    t0 = time.perf_counter()
    n, m, k = problem.n_units, problem.n_centers, problem.n_territories
    choose = problem.center_mode == "choose"
    allowed = (
        np.ones((n, m), dtype=bool)
        if problem.allowed is None
        else np.asarray(problem.allowed, dtype=bool)
    )
    pairs = [(i, j) for i in range(n) for j in range(m) if allowed[i, j]]
    cols_of: list[list[int]] = [[] for _ in range(n)]
    units_of: list[list[int]] = [[] for _ in range(m)]
    for i, j in pairs:
        cols_of[i].append(j)
        units_of[j].append(i)

    prob = pulp.LpProblem("territory_design", pulp.LpMinimize)
    x = {(i, j): prob.add_variable(f"x_{i}_{j}", cat="Binary") for i, j in pairs}
    if choose:
        y = {j: prob.add_variable(f"y_{j}", cat="Binary") for j in range(m)}
        prob += pulp.lpSum(y.values()) == k
        for i, j in pairs:
            prob += x[i, j] <= y[j]
    else:
        y = {j: 1 for j in range(m)}
    for i in range(n):
        prob += pulp.lpSum(x[i, j] for j in cols_of[i]) == 1
    for _name, v, lo, hi in problem.bands():
        for j in range(m):
            t = 0 if choose else j  # choose mode: equal bands
            total = pulp.lpSum(float(v[i]) * x[i, j] for i in units_of[j])
            if np.isfinite(lo[t]) and lo[t] > 0:
                prob += total >= float(lo[t]) * y[j]
            if np.isfinite(hi[t]):
                prob += total <= float(hi[t]) * y[j]
    for i, j in problem.locked.items():
        prob += x[i, j] == 1

    edges: list[tuple[int, int, float]] = []
    if problem.adjacency is not None:
        a = sp.triu(sp.csr_matrix(problem.adjacency), k=1).tocoo()
        edges = [
            (int(u), int(v), float(w))
            for u, v, w in zip(a.row, a.col, a.data, strict=True)
        ]
    need_cut = problem.objective == "cut_edges" or problem.contiguity
    z = {}
    if need_cut:
        for u, v, _w in edges:
            z[u, v] = prob.add_variable(f"z_{u}_{v}", lowBound=0, upBound=1)
            for j in set(cols_of[u]) | set(cols_of[v]):
                xu = x[u, j] if (u, j) in x else 0
                xv = x[v, j] if (v, j) in x else 0
                prob += z[u, v] >= xu - xv
                prob += z[u, v] >= xv - xu
    if problem.contiguity:
        centers = np.asarray(problem.center_units, dtype=np.int64)
        for j in range(m):
            if (int(centers[j]), j) not in x:
                raise ValueError(f"center column {j} may not hold its own unit")
            prob += x[int(centers[j]), j] == y[j]
        big = n - 1
        f = {}
        for u, v, _w in edges:
            for s, t in ((u, v), (v, u)):
                f[s, t] = prob.add_variable(f"f_{s}_{t}", lowBound=0)
                prob += f[s, t] <= big * (1 - z[u, v])
        supply = {
            j: prob.add_variable(f"s_{j}", lowBound=0, upBound=n) for j in range(m)
        }
        for j in range(m):
            prob += supply[j] <= n * y[j]
        out_arcs: list[list[Any]] = [[] for _ in range(n)]
        in_arcs: list[list[Any]] = [[] for _ in range(n)]
        for (s, t), var in f.items():
            out_arcs[s].append(var)
            in_arcs[t].append(var)
        hosted: list[list[int]] = [[] for _ in range(n)]
        for j in range(m):
            hosted[int(centers[j])].append(j)
        for i in range(n):
            prob += (
                pulp.lpSum(out_arcs[i])
                - pulp.lpSum(in_arcs[i])
                - pulp.lpSum(supply[j] for j in hosted[i])
                == -1
            )
    if problem.objective == "cut_edges":
        prob += pulp.lpSum(w * z[u, v] for u, v, w in edges)
    else:
        cost = np.asarray(problem.cost, dtype=float)
        prob += pulp.lpSum(float(cost[i, j]) * x[i, j] for i, j in pairs)
    build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "cbc.log"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            left = max(1, math.ceil(time_limit - (build if build_counts else 0)))
            solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=left, logPath=str(log))
        killed = _solve_with_watchdog(prob, solver, left + grace)
        seconds = time.perf_counter() - t0
        text = log.read_text(errors="replace") if log.exists() else ""
    # CBC's closing summary: "Lower bound:  12.345" (PuLP does not return it)
    found = re.findall(r"Lower bound:\s+(-?[0-9.eE+-]+)", text)
    cbc_bound = float(found[-1]) if found else math.nan
    size = {
        "variables": len(prob.variables()),
        "constraints": prob.numConstraints(),
    }
    if killed:
        status = "killed"
    elif prob.status == pulp.LpStatusInfeasible:
        status = "infeasible"
    elif prob.sol_status == pulp.LpSolutionOptimal:
        status = "optimal"
    elif prob.sol_status == pulp.LpSolutionIntegerFeasible:
        status = "time_limit"
    else:
        status = "no solution"
    if status not in ("optimal", "time_limit"):
        return {
            "value": math.nan,
            "bound": cbc_bound,
            "seconds": seconds,
            "build_seconds": build,
            "status": status,
            "violations": [],
            **size,
        }
    columns = np.zeros(n, dtype=np.int64)
    best = np.full(n, -1.0)
    for (i, j), var in x.items():
        val = var.varValue or 0.0
        if val > best[i]:
            best[i], columns[i] = val, j
    value = problem.evaluate(columns)
    return {
        "value": float(value),
        "bound": float(value) if status == "optimal" else cbc_bound,
        "seconds": seconds,
        "build_seconds": build,
        "status": status,
        "violations": problem.violations(columns),
        **size,
    }

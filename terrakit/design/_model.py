"""A solver-neutral MIP in array form and its backends (HiGHS, PuLP, CP-SAT).

The design formulation is built once, vectorised with numpy, as columns
(cost, bounds, integrality) and rows (COO triplets with lower/upper limits).
Backends turn the same arrays into a solver model:

- ``"highs"``: ``highspy`` directly (``addCols`` / ``addRows`` on CSR arrays,
  partial warm start with ``setSolution``, best bound from
  ``getInfo().mip_dual_bound``);
- ``"pulp-highs"`` and ``"cbc"``: a :mod:`pulp` problem whose expressions are
  built from prebuilt ``(variable, coefficient)`` lists per row
  (``LpAffineExpression``), solved by ``pulp.HiGHS`` or PuLP's CBC binary,
  run under a wall clock of its own (killed shortly past the time left; CBC's
  best bound read from the "Lower bound" line of its log);
- ``"cpsat"``: OR-Tools CP-SAT on coefficients scaled to whole numbers,
  with the rounding accounted for so that its bound, status and
  infeasibility hold for the real numbers (see ``_solve_cpsat``; run
  without CP-SAT's presolve when the scaled coefficients are large, as that
  presolve was seen to cut off feasible plans on them); one worker unless
  ``threads`` asks for more, so a fixed seed gives the same answer every run.

Every backend gets the seed modulo ``2**31 - 1`` (:func:`backend_seed`).
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import scipy.sparse as sp

from terrakit._child import die_with_parent, kill_grace
from terrakit.exceptions import TerrakitWarning

__all__ = ["ArrayModel", "SolveOutcome", "solve_model"]


@dataclass
class SolveOutcome:
    """What a backend returns: values, objective, bound and a status word."""

    status: str  # "optimal" | "time_limit" | "infeasible" | "no_solution"
    values: np.ndarray | None
    objective: float
    bound: float
    build_seconds: float
    solve_seconds: float
    info: dict[str, Any] = field(default_factory=dict)


class ArrayModel:
    """Columns and rows of a minimisation MIP, appended in blocks."""

    def __init__(self) -> None:
        self._cost: list[np.ndarray] = []
        self._lb: list[np.ndarray] = []
        self._ub: list[np.ndarray] = []
        self._int: list[np.ndarray] = []
        self._r: list[np.ndarray] = []
        self._c: list[np.ndarray] = []
        self._v: list[np.ndarray] = []
        self._rlo: list[np.ndarray] = []
        self._rhi: list[np.ndarray] = []
        self.n_cols = 0
        self.n_rows = 0

    def add_vars(
        self,
        count: int,
        cost: np.ndarray | float = 0.0,
        lb: np.ndarray | float = 0.0,
        ub: np.ndarray | float = 1.0,
        integer: bool = True,
    ) -> int:
        """Append ``count`` columns; return the index of the first."""
        start = self.n_cols
        self._cost.append(np.broadcast_to(np.asarray(cost, float), (count,)).copy())
        self._lb.append(np.broadcast_to(np.asarray(lb, float), (count,)).copy())
        self._ub.append(np.broadcast_to(np.asarray(ub, float), (count,)).copy())
        self._int.append(np.full(count, integer))
        self.n_cols += count
        return start

    def add_rows(
        self,
        count: int,
        rows: np.ndarray,
        cols: np.ndarray,
        vals: np.ndarray | float,
        lo: np.ndarray | float,
        hi: np.ndarray | float,
    ) -> int:
        """Append ``count`` rows from local row indices ``0..count-1`` and triplets."""
        start = self.n_rows
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        self._r.append(rows + start)
        self._c.append(cols)
        self._v.append(np.broadcast_to(np.asarray(vals, float), rows.shape).copy())
        self._rlo.append(np.broadcast_to(np.asarray(lo, float), (count,)).copy())
        self._rhi.append(np.broadcast_to(np.asarray(hi, float), (count,)).copy())
        self.n_rows += count
        return start

    def set_lb(self, idx: np.ndarray, value: float) -> None:
        """Set the lower bound of some columns (e.g. fix locked assignments)."""
        lb = self.lb
        lb[np.asarray(idx, dtype=np.int64)] = value
        self._lb = [lb]

    # -- assembled arrays -------------------------------------------------------------
    @property
    def cost(self) -> np.ndarray:
        return np.concatenate(self._cost) if self._cost else np.zeros(0)

    @property
    def lb(self) -> np.ndarray:
        return np.concatenate(self._lb) if self._lb else np.zeros(0)

    @property
    def ub(self) -> np.ndarray:
        return np.concatenate(self._ub) if self._ub else np.zeros(0)

    @property
    def integer(self) -> np.ndarray:
        return np.concatenate(self._int) if self._int else np.zeros(0, bool)

    def matrix(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """CSR constraint matrix and row limits."""
        if not self._r:
            return sp.csr_matrix((0, self.n_cols)), np.zeros(0), np.zeros(0)
        r = np.concatenate(self._r)
        c = np.concatenate(self._c)
        v = np.concatenate(self._v)
        a = sp.csr_matrix((v, (r, c)), shape=(self.n_rows, self.n_cols))
        a.sum_duplicates()
        return a, np.concatenate(self._rlo), np.concatenate(self._rhi)


# -- HiGHS (direct) -----------------------------------------------------------------
def to_highs(model: ArrayModel, h: Any, *, integer: bool = True) -> None:
    """Pass ``model`` (columns, rows, integrality) to the HiGHS instance ``h``."""
    import highspy

    inf = highspy.kHighsInf
    lb = np.where(np.isfinite(model.lb), model.lb, -inf)
    ub = np.where(np.isfinite(model.ub), model.ub, inf)
    n = model.n_cols
    h.addCols(
        n,
        model.cost,
        lb,
        ub,
        0,
        np.zeros(n, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0),
    )
    a, rlo, rhi = model.matrix()
    if a.shape[0]:
        h.addRows(
            a.shape[0],
            np.where(np.isfinite(rlo), rlo, -inf),
            np.where(np.isfinite(rhi), rhi, inf),
            a.nnz,
            a.indptr[:-1].astype(np.int32),
            a.indices.astype(np.int32),
            a.data.astype(float),
        )
    ints = np.flatnonzero(model.integer)
    if ints.size and integer:
        h.changeColsIntegrality(
            ints.size, ints.astype(np.int32), np.ones(ints.size, dtype=np.uint8)
        )


def _solve_highs(
    model: ArrayModel,
    **kw: Any,
) -> SolveOutcome:
    """HiGHS, with a guard: when a warm-started run returns a solution whose
    recomputed objective disagrees with the reported one (seen with HiGHS
    1.16 after presolve), the run is repeated without the start."""
    t0 = time.perf_counter()
    out = _solve_highs_once(model, **kw)
    if kw.get("start") and out.values is not None:
        true_obj = float(model.cost @ out.values)
        if abs(true_obj - out.objective) > 1e-6 * max(1.0, abs(true_obj)):
            left = float(kw["time_limit"]) - (time.perf_counter() - t0)
            kw2 = {**kw, "start": None, "time_limit": max(left, 0.05)}
            again = _solve_highs_once(model, **kw2)
            if again.values is not None:
                again.info["restarted_without_start"] = True
                return again
            out.status = "time_limit"
            out.bound = min(out.bound, true_obj)
            out.objective = true_obj
    return out


def _solve_highs_once(
    model: ArrayModel,
    *,
    time_limit: float,
    mip_gap: float,
    seed: int,
    start: dict[int, float] | None,
    threads: int | None,
    relax: bool = False,
    options: dict[str, Any] | None = None,
) -> SolveOutcome:
    import highspy

    t0 = time.perf_counter()
    from terrakit.design._highs import new_highs

    h = new_highs()
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    if h.setOptionValue("random_seed", int(seed)) == highspy.HighsStatus.kError:
        raise ValueError(
            f"HiGHS refused random_seed={int(seed)}; pass a seed through "
            "solve_model, which maps it with backend_seed"
        )
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    to_highs(model, h, integer=not relax)
    if start and not relax:
        idx = np.fromiter(start.keys(), dtype=np.int32, count=len(start))
        val = np.fromiter(start.values(), dtype=float, count=len(start))
        h.setSolution(len(start), idx, val)
    build = time.perf_counter() - t0
    # the copy into HiGHS counts against the limit
    h.setOptionValue("time_limit", float(max(time_limit - build, 0.01)))
    t1 = time.perf_counter()
    # kError (e.g. threads clashing with HiGHS's running scheduler) leaves
    # mip_dual_bound at 0.0, which is no bound
    run_ok = h.run() != highspy.HighsStatus.kError
    threads_note = None
    if not run_ok and threads is not None:
        # HiGHS fixes its thread count when its scheduler first starts in a
        # process; another count later is an error, not a setting (the run
        # did nothing).  Run again with the scheduler's own count.
        threads_note = _threads_not_applied(h, threads, t0 + time_limit)
        run_ok = h.run() != highspy.HighsStatus.kError
    solve = time.perf_counter() - t1
    st = h.getModelStatus()
    info = h.getInfo()
    ms = highspy.HighsModelStatus
    has_sol = int(info.primal_solution_status) == 2
    values = np.asarray(h.getSolution().col_value) if has_sol else None
    obj = float(info.objective_function_value) if has_sol else math.inf
    if values is not None and start and not relax:
        true_obj = float(model.cost @ values)
        if abs(true_obj - obj) > 1e-6 * max(1.0, abs(true_obj)):
            # reported objective is off: let the caller re-solve
            return SolveOutcome("time_limit", values, obj, -math.inf, 0.0, 0.0, {})
    if relax:
        bound = obj if st == ms.kOptimal else -math.inf
        if st == ms.kOptimal:
            sol = h.getSolution()
            extra_relax = {"row_dual": np.asarray(sol.row_dual)}
    else:
        bound = float(info.mip_dual_bound)
        if not math.isfinite(bound) or not run_ok:
            bound = -math.inf
    if st == ms.kOptimal:
        status = "optimal"
    elif st in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        status = "infeasible"
    elif has_sol:
        status = "time_limit"
    else:
        status = "no_solution"
    extra: dict[str, Any] = {"nodes": int(getattr(info, "mip_node_count", 0) or 0)}
    if threads_note is not None:
        extra["threads_ignored"] = threads_note
    if relax and st == ms.kOptimal:
        extra.update(extra_relax)
    return SolveOutcome(status, values, obj, bound, build, solve, extra)


def _threads_not_applied(h: Any, threads: int, deadline: float) -> str:
    """Warn that ``threads`` could not be applied and set ``h`` up to run
    again with the running scheduler's count until ``deadline``.

    HiGHS fixes its thread count when its scheduler first starts in a
    process; a run asking for another count later returns an error and does
    nothing (the MIP took that for "no feasible alignment").
    """
    note = (
        f"threads={int(threads)} was not applied: HiGHS's scheduler in this "
        "process already runs with the thread count of its first run "
        "(threads only applies to a process's first HiGHS run)"
    )
    warnings.warn(note, TerrakitWarning, stacklevel=5)
    h.setOptionValue("threads", 0)
    h.setOptionValue("time_limit", float(max(deadline - time.perf_counter(), 0.01)))
    return note


# -- PuLP (HiGHS or CBC) ------------------------------------------------------
class _OutOfTime(Exception):
    """The time limit passed while a backend was still building its model."""


#: rows between two looks at the clock while a model is built row by row
_CLOCK_EVERY = 2000


def _check_clock(deadline: float | None) -> None:
    if deadline is not None and time.perf_counter() > deadline:
        raise _OutOfTime


def _to_pulp(model: ArrayModel, deadline: float | None = None) -> tuple[Any, list[Any]]:
    """The PuLP problem of ``model``; :class:`_OutOfTime` past ``deadline``.

    PuLP builds one object per row and registers its variables row by row
    (about 20 s per million nonzeros), so a large model can take longer to
    build than the time limit: the clock is read every few thousand rows.
    """
    import pulp

    prob = pulp.LpProblem("design", pulp.LpMinimize)
    lb, ub, integer, cost = model.lb, model.ub, model.integer, model.cost
    make = getattr(prob, "add_variable", None)  # PuLP >= 3.3
    xs = []
    for j in range(model.n_cols):
        kw = {
            "lowBound": None if not math.isfinite(lb[j]) else float(lb[j]),
            "upBound": None if not math.isfinite(ub[j]) else float(ub[j]),
            "cat": pulp.LpInteger if integer[j] else pulp.LpContinuous,
        }
        xs.append(make(f"v{j}", **kw) if make else pulp.LpVariable(f"v{j}", **kw))
    nz = np.flatnonzero(cost)
    prob.setObjective(
        pulp.LpAffineExpression([(xs[j], float(cost[j])) for j in nz.tolist()])
    )
    a, rlo, rhi = model.matrix()
    ind, ptr, dat = a.indices.tolist(), a.indptr.tolist(), a.data.tolist()
    for r in range(a.shape[0]):
        if r % _CLOCK_EVERY == 0:
            _check_clock(deadline)
        terms = [(xs[ind[p]], dat[p]) for p in range(ptr[r], ptr[r + 1])]
        lo, hi = float(rlo[r]), float(rhi[r])
        if math.isfinite(lo) and math.isfinite(hi) and lo == hi:
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, rhs=lo
                ),
                f"r{r}",
            )
            continue
        if math.isfinite(lo):
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression(terms), pulp.LpConstraintGE, rhs=lo
                ),
                f"r{r}l",
            )
        if math.isfinite(hi):
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression(terms), pulp.LpConstraintLE, rhs=hi
                ),
                f"r{r}u",
            )
    return prob, xs


def _cbc_bound(log: str) -> float:
    """CBC's best bound from its log (``-inf`` when it printed none).

    The summary says ``Lower bound: 5094.372`` when the search stopped early;
    the last ``Partial search ... (best possible 5094.3724)`` line is the
    fallback.  CBC rounds what it prints, so half a unit of the last printed
    digit comes off: the bound stays valid (``32.9996`` printed as ``33.000``
    must not prove 33).
    """
    m = re.search(r"^Lower bound:\s*(\S+)", log, re.MULTILINE)
    if m is None:
        found = re.findall(r"Partial search.*?best possible (\S+?)\)", log)
        if not found:
            return -math.inf
        text = found[-1]
    else:
        text = m.group(1)
    try:
        d = Decimal(text)
    except InvalidOperation:
        return -math.inf
    if not d.is_finite():
        return -math.inf
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)  # finite Decimals have an int exponent
    return float(d - Decimal(5).scaleb(exponent - 1))


def _no_time(build: float, info: dict[str, Any] | None = None) -> SolveOutcome:
    """The outcome when the time limit passed before the solver could run
    (or while it ran and had to be stopped): no plan, no bound."""
    return SolveOutcome(
        "no_solution",
        None,
        math.inf,
        -math.inf,
        build,
        0.0,
        {"stopped_before_solve": True, **(info or {})},
    )


def _run_cbc(
    prob: Any,
    *,
    deadline: float,
    mip_gap: float,
    seed: int,
    warm: bool,
    threads: int | None,
    log_path: str,
) -> bool:
    """Solve ``prob`` with PuLP's CBC binary under a wall clock of our own.

    PuLP's ``PULP_CBC_CMD`` waits on the CBC process without a timeout, and
    CBC honours ``-sec`` only once its branch and bound runs; here the
    process is killed ``kill_grace`` seconds past the time left (and when
    Python stops while it runs).  Returns ``False`` when no solution could
    be read (killed, or the time was gone after writing the model).
    """
    import subprocess

    import pulp

    with warnings.catch_warnings():  # PuLP 3.3 deprecates the bundled CBC
        warnings.simplefilter("ignore", DeprecationWarning)
        cmd: Any = pulp.PULP_CBC_CMD(msg=False, warmStart=warm)
    if not cmd.executable(cmd.path):
        raise pulp.PulpSolverError(f"Pulp: cannot execute {cmd.path}")
    tmp_mps, tmp_sol, tmp_mst = cmd.create_tmp_files(prob.name, "mps", "sol", "mst")
    try:
        vs, vnames, cnames, _ = prob.writeMPS(tmp_mps, rename=1)
        args = [cmd.path, tmp_mps]
        if warm:
            cmd.writesol(tmp_mst, prob, vs, vnames, cnames)
            args += ["-mips", tmp_mst]
        left = deadline - time.perf_counter()
        if left <= 0:
            return False
        args += ["-sec", f"{left:.3f}", "-timeMode", "elapsed", "-ratio", f"{mip_gap}"]
        if threads is not None:
            args += ["-threads", str(int(threads))]
        args += ["-randomSeed", str(int(seed) + 1), "-solve"]
        args += ["-printingOptions", "all", "-solution", tmp_sol]
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )
            try:
                code = proc.wait(timeout=left + kill_grace(left))
            except subprocess.TimeoutExpired:
                return False
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        if code != 0 or not os.path.exists(tmp_sol):
            raise pulp.PulpSolverError(
                f"Pulp: CBC ({cmd.path}) stopped with exit code {code}"
            )
        status, values, _dj, _pi, _slack, sol_status = cmd.readsol_MPS(
            tmp_sol, prob, vs, vnames, cnames
        )
        prob.assignVarsVals(values)
        prob.assignStatus(status, sol_status)
        return True
    finally:
        for path in (tmp_mps, tmp_sol, tmp_mst):
            if os.path.exists(path):
                os.unlink(path)


def _solve_pulp(
    model: ArrayModel,
    *,
    backend: str,
    time_limit: float,
    mip_gap: float,
    seed: int,
    start: dict[int, float] | None,
    threads: int | None,
) -> SolveOutcome:
    """PuLP with HiGHS or CBC; the model build (PuLP's, then the MPS file
    CBC reads, or HiGHS's copy) counts against ``time_limit``."""
    import pulp

    t0 = time.perf_counter()
    deadline = t0 + time_limit
    try:
        prob, xs = _to_pulp(model, deadline)
    except _OutOfTime:
        return _no_time(time.perf_counter() - t0)
    if start:
        for j, v in start.items():
            xs[j].setInitialValue(v)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    log = ""
    if backend == "cbc":
        fd, log_path = tempfile.mkstemp(prefix="terrakit-cbc-", suffix=".log")
        os.close(fd)
        try:
            solved = _run_cbc(
                prob,
                deadline=deadline,
                mip_gap=mip_gap,
                seed=seed,
                warm=bool(start),
                threads=threads,
                log_path=log_path,
            )
            with open(log_path, encoding="utf-8", errors="replace") as fh:
                log = fh.read()
        finally:
            os.unlink(log_path)
        if not solved:
            return _no_time(build, {"cbc_stopped": True})
    else:
        import highspy

        class _HiGHS(pulp.HiGHS):  # type: ignore[misc,name-defined,unused-ignore]
            """``pulp.HiGHS`` that runs for the time left after PuLP's copy
            of the model into HiGHS, and not at all when none is left."""

            def actualSolve(self, lp: Any) -> Any:
                self.createAndConfigureSolver(lp)
                self.buildSolverModel(lp)
                if start:
                    # PuLP passes initial values to CBC only: the start goes
                    # to HiGHS here, by the columns PuLP gave the variables
                    idx = np.array([xs[j].index for j in start], dtype=np.int32)
                    val = np.fromiter(start.values(), dtype=float, count=len(start))
                    lp.solverModel.setSolution(len(start), idx, val)
                left = deadline - time.perf_counter()
                if left <= 0:
                    lp.solverModel = None  # not run: no bound to read
                    lp.assignStatus(
                        pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound
                    )
                    return pulp.LpStatusNotSolved
                lp.solverModel.setOptionValue("time_limit", float(left))
                self.callSolver(lp)
                ms = lp.solverModel.getModelStatus()
                if threads is not None and ms == highspy.HighsModelStatus.kNotset:
                    # the run returned an error: threads clashing with the
                    # scheduler HiGHS already runs in this process
                    _threads_not_applied(lp.solverModel, threads, deadline)
                    self.callSolver(lp)
                status, sol_status = self.findSolutionValues(lp)
                lp.assignStatus(status, sol_status)
                return status

        solver = _HiGHS(
            msg=False,
            timeLimit=time_limit,
            gapRel=mip_gap,
            threads=threads,
            random_seed=int(seed),
        )
        prob.solve(solver)
    solve = time.perf_counter() - t1
    st = pulp.LpStatus[prob.status]
    sol_st = prob.sol_status
    has_sol = sol_st in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    values = (
        np.array([x.varValue if x.varValue is not None else 0.0 for x in xs])
        if has_sol
        else None
    )
    obj = float(pulp.value(prob.objective) or 0.0) if has_sol else math.inf
    bound = -math.inf
    if backend == "pulp-highs" and getattr(prob, "solverModel", None) is not None:
        b = float(prob.solverModel.getInfo().mip_dual_bound)
        bound = b if math.isfinite(b) else -math.inf
    elif backend == "cbc":
        bound = min(_cbc_bound(log), obj)
    if st == "Infeasible":
        status = "infeasible"
    elif sol_st == pulp.LpSolutionOptimal:
        status = "optimal"
        if backend == "cbc" and not math.isfinite(bound):
            bound = obj  # proved optimal (within gapRel) without a bound line
    elif has_sol:
        status = "time_limit"
    else:
        status = "no_solution"
    return SolveOutcome(status, values, obj, bound, build, solve, {})


# -- CP-SAT -----------------------------------------------------------------------
#: the largest activity (sum of |coefficient| × |variable bound|) a row or the
#: objective is scaled up to for CP-SAT: 2**53, as CP-SAT scales a floating
#: objective itself (``mip_max_activity_exponent``); it keeps every sum far
#: inside int64 and whole numbers exact in float64
_CPSAT_MAX_ACTIVITY = 2.0**53

#: variable bound CP-SAT gets for an infinite one
_CPSAT_BIG = 10**9

#: the largest whole coefficient CP-SAT's presolve is trusted with: past it
#: (rows or costs scaled up towards :data:`_CPSAT_MAX_ACTIVITY`, e.g. a
#: lognormal activity) OR-Tools 9.15's presolve was seen to cut off feasible
#: plans (false "infeasible", and "optimal" above the true optimum; OR-Tools
#: issues #5274, #5293), so CP-SAT runs without presolve then
_CPSAT_PRESOLVE_MAX_COEF = 2**31


def _exact_scale(values: np.ndarray, digits: int = 6) -> float | None:
    """The least power of ten up to ``10**digits`` that makes every value
    whole (but for float round-off) without rounding a nonzero value to 0;
    ``None`` when there is none (e.g. squared km)."""
    v = np.abs(values[np.isfinite(values)])
    v = v[v > 0]
    if v.size == 0:
        return 1.0
    for p in range(0, digits + 1):
        s = 10.0**p
        vs = v * s
        r = np.round(vs)
        if np.all(r >= 1) and np.all(np.abs(vs - r) <= 1e-9 + 1e-15 * vs):
            return s
    return None


def _int_scale(coef: np.ndarray, bound: np.ndarray) -> float:
    """The power of ten CP-SAT's whole coefficients ``round(coef · s)`` are
    taken at, for variables bounded by ``±bound``.

    Decimal coefficients (cents, one decimal of an hour...) get the scale
    that makes them whole, when it fits.  Others get the largest power of
    ten that keeps the activity ``Σ |coef|·bound · s`` within
    :data:`_CPSAT_MAX_ACTIVITY`: each coefficient is then exact to about
    ``1e-15`` of the activity, whatever the spread of the values (a scale
    tied to the largest coefficient, kept to six digits, rounded the small
    ones to whole units; see the callers for how what is left of the
    rounding is accounted for).
    """
    act = float(np.abs(coef) @ bound)
    if not act > 0:
        return 1.0
    room = _CPSAT_MAX_ACTIVITY / act
    s = _exact_scale(coef)
    if s is not None and s <= room:
        return s
    return 10.0 ** math.floor(math.log10(room))


def _rounding_floor(
    err: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    a: sp.csr_matrix,
    rlo: np.ndarray,
    rhi: np.ndarray,
) -> float:
    """A lower bound on ``Σ err_j x_j`` over the integer points of the
    bounds ``lo ≤ x ≤ hi`` that meet the rows ``a``: the objective's
    rounding error at its worst.

    Rows ``Σ_{j∈R} x_j ≤ 1`` over 0/1 columns (a unit's assignment) let at
    most one ``x_j`` of ``R`` be 1, so they add ``min(0, min_R err)`` (just
    ``min_R err`` when the row is ``= 1``): a unit errs at most by its worst
    pair, not by the sum of its pairs.  A column outside such rows adds the
    worst of ``err_j lo_j`` and ``err_j hi_j``.
    """
    err = np.where(err == 0, 0.0, err)
    if not np.any(err):
        return 0.0
    binary = (lo >= 0) & (hi <= 1)
    ind, ptr = a.indices, a.indptr
    rowof = np.repeat(np.arange(a.shape[0]), np.diff(ptr))
    bad = (a.data != 1.0) | ~binary[ind]
    cand = (np.bincount(rowof[bad], minlength=a.shape[0]) == 0) & (rhi <= 1)
    cand &= np.diff(ptr) > 0
    covered = np.zeros(err.size, dtype=bool)
    total = 0.0
    for r in np.flatnonzero(cand):
        cols = ind[ptr[r] : ptr[r + 1]]
        if covered[cols].any():
            continue  # rows used must not share a column
        covered[cols] = True
        worst = float(err[cols].min())
        total += worst if rlo[r] >= 1 else min(worst, 0.0)
    rest = ~covered
    total += float(np.minimum(err[rest] * lo[rest], err[rest] * hi[rest]).sum())
    return total


def _solve_cpsat(
    model: ArrayModel,
    *,
    time_limit: float,
    mip_gap: float,
    seed: int,
    start: dict[int, float] | None,
    threads: int | None,
) -> SolveOutcome:
    """CP-SAT on whole-number coefficients, its answer checked on the real ones.

    - Rows: coefficients are scaled by :func:`_int_scale` and rounded; the
      limits are widened outward by the most the rounding can move the row
      over the variables' bounds (then to the whole numbers within, as the
      row is a whole number), so no plan that meets the real row is cut
      off: CP-SAT's "infeasible" is a proof for the real numbers.  When a
      whole coefficient exceeds :data:`_CPSAT_PRESOLVE_MAX_COEF`, CP-SAT runs
      without presolve (``info["cpsat_presolve"] = False``): OR-Tools 9.15's
      presolve cut off feasible plans of such rows (false "infeasible", and
      "optimal" above the true optimum).  A plan
      CP-SAT returns may lie outside a real limit by round-off (about 1e-11
      of the row's activity);
      :func:`terrakit.design.mip.solve_mip` audits every plan on the real
      problem.
    - Objective: scaled and rounded likewise; the objective reported is
      recomputed on the real costs, and CP-SAT's bound is lowered by the most
      the rounding can lower any plan's cost (:func:`_rounding_floor`;
      ``info["cost_rounding"]``), so it is a bound for the real costs.  The
      status is ``"optimal"`` only when that bound is within ``mip_gap`` of
      the objective (else ``"time_limit"``, with ``info["cpsat_note"]``);
      CP-SAT is asked for a gap a little under ``mip_gap`` when the costs
      were rounded, to leave room for the rounding.
    - Search: one worker with ``threads=None`` (the default), which makes a
      fixed ``seed`` give the same answer every run (when the solve ends
      before the time limit); ``threads=n`` runs CP-SAT's parallel
      portfolio of ``n`` workers, faster on hard problems but not
      reproducible.
    """
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    deadline = t0 + time_limit
    m = cp_model.CpModel()
    lb, ub = model.lb, model.ub
    dlo = np.where(np.isfinite(lb), np.ceil(lb), -_CPSAT_BIG)
    dhi = np.where(np.isfinite(ub), np.floor(ub), _CPSAT_BIG)
    xs = [m.new_int_var(int(dlo[j]), int(dhi[j]), f"v{j}") for j in range(model.n_cols)]
    bnd = np.maximum(np.abs(dlo), np.abs(dhi))
    a, rlo, rhi = model.matrix()
    ind, ptr = a.indices, a.indptr
    # rows of whole coefficients (most rows) need no scale: found at once
    # rather than row by row
    rowof = np.repeat(np.arange(a.shape[0]), np.diff(ptr))
    frac = np.zeros(a.shape[0], dtype=bool)
    frac[rowof[a.data != np.round(a.data)]] = True
    act = abs(a) @ bnd if a.shape[0] else np.zeros(0)
    frac |= act > _CPSAT_MAX_ACTIVITY
    big_coef = False
    for r in range(a.shape[0]):
        if r % _CLOCK_EVERY == 0 and time.perf_counter() > deadline:
            return _no_time(time.perf_counter() - t0)
        sl = slice(ptr[r], ptr[r + 1])
        cols = ind[sl]
        coef = a.data[sl]
        lo, hi = float(rlo[r]), float(rhi[r])
        if frac[r]:
            s = _int_scale(coef, bnd[cols])
            ic = np.round(coef * s)
            # the rounding moves the row by d·x: at least dmin, at most dmax;
            # the limits widen by as much (and by the float round-off of
            # these sums), so no plan that meets the real row is cut off
            d = ic - coef * s
            dmin = float(np.minimum(d * dlo[cols], d * dhi[cols]).sum())
            dmax = float(np.maximum(d * dlo[cols], d * dhi[cols]).sum())
            tol = 1e-9 + 1e-11 * float(np.abs(ic) @ bnd[cols])
            big_coef = big_coef or float(np.abs(ic).max()) > _CPSAT_PRESOLVE_MAX_COEF
        else:
            s, ic, dmin, dmax, tol = 1.0, coef, 0.0, 0.0, 1e-9
        expr = cp_model.LinearExpr.weighted_sum(
            [xs[j] for j in cols], ic.astype(np.int64).tolist()
        )
        # the row is a whole number: Σ ≥ 4.3 is Σ ≥ 5, Σ ≤ 5.7 is Σ ≤ 5
        ilo = math.ceil(lo * s + dmin - tol) if math.isfinite(lo) else None
        ihi = math.floor(hi * s + dmax + tol) if math.isfinite(hi) else None
        if ilo is not None and ihi is not None:
            m.add_linear_constraint(expr, ilo, ihi)
        elif ilo is not None:
            m.add(expr >= ilo)
        elif ihi is not None:
            m.add(expr <= ihi)
    cost = model.cost
    cs = _int_scale(cost, bnd)
    icost = np.round(cost * cs)
    nz = np.flatnonzero(icost)
    if nz.size and float(np.abs(icost).max()) > _CPSAT_PRESOLVE_MAX_COEF:
        big_coef = True
    # what the rounding can take off any plan's cost, at most
    floor_err = _rounding_floor(cost - icost / cs, dlo, dhi, a, rlo, rhi)
    m.minimize(
        cp_model.LinearExpr.weighted_sum(
            [xs[j] for j in nz], icost[nz].astype(np.int64).tolist()
        )
    )
    if start:
        for j, v in start.items():
            m.add_hint(xs[j], round(v))
    solver = cp_model.CpSolver()
    # the conversion above counts against the limit: CP-SAT gets what is left
    left = deadline - time.perf_counter()
    if left <= 0:
        return _no_time(time.perf_counter() - t0)
    solver.parameters.max_time_in_seconds = float(max(left, 0.01))
    solver.parameters.random_seed = int(seed)
    if big_coef:
        # presolve cuts off feasible plans on such coefficients
        solver.parameters.cp_model_presolve = False
    # one worker: deterministic for a fixed seed; the parallel portfolio
    # (num_workers > 1) is not
    solver.parameters.num_workers = int(threads or 1)
    # a little under mip_gap when the costs were rounded: room for the rounding
    solver.parameters.relative_gap_limit = float(mip_gap) * (
        0.999 if floor_err < 0 else 1.0
    )
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    st = solver.solve(m)
    info: dict[str, Any] = {"cost_scale": cs, "cost_rounding": -floor_err}
    if big_coef:
        info["cpsat_presolve"] = False
    solve = time.perf_counter() - t1
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.array([solver.value(x) for x in xs], dtype=float)
        obj = float(values @ cost)
        bound = min(float(solver.best_objective_bound) / cs + floor_err, obj)
        status = "time_limit"
        if st == cp_model.OPTIMAL:
            diff = obj - bound
            if diff <= 1e-9 * max(1.0, abs(obj)) or diff <= mip_gap * abs(obj):
                status = "optimal"
            else:
                # proved on the rounded costs only: the rounding leaves
                # more than mip_gap between the plan and the bound
                info["cpsat_note"] = (
                    "optimal on the rounded costs, but the rounding leaves a "
                    f"gap of {diff / max(abs(obj), 1e-12):.3g} > mip_gap "
                    f"{mip_gap:g} on the real costs"
                )
    elif st == cp_model.INFEASIBLE:
        values, obj, bound, status = None, math.inf, math.inf, "infeasible"
    else:
        values, obj, bound, status = None, math.inf, -math.inf, "no_solution"
    return SolveOutcome(status, values, obj, bound, build, solve, info)


#: the seeds every backend takes: HiGHS and CP-SAT take 0..2**31 - 1 (CBC
#: is given ``seed + 1``, which must stay a 32-bit int too)
_SEED_MOD = 2**31 - 1


def backend_seed(seed: int) -> int:
    """The seed the backends get for ``seed`` (0..2**32 - 1 is accepted):
    ``seed`` modulo ``2**31 - 1``, the range all of them take (a larger one
    crashed CP-SAT and was replaced by 0 in HiGHS without a word); the
    outcome's ``info["backend_seed"]`` records it when it differs.

    >>> backend_seed(7), backend_seed(2**31 + 5)
    (7, 6)
    """
    return int(seed) % _SEED_MOD


def solve_model(
    model: ArrayModel,
    *,
    backend: str = "highs",
    time_limit: float = 60.0,
    mip_gap: float = 1e-4,
    seed: int = 0,
    start: dict[int, float] | None = None,
    threads: int | None = None,
    relax: bool = False,
    options: dict[str, Any] | None = None,
) -> SolveOutcome:
    """Solve an :class:`ArrayModel` with one backend.

    ``options`` are extra HiGHS options (``{"presolve": "off"}``), ignored by
    the other backends.  ``seed`` is mapped by :func:`backend_seed`.
    """
    mapped = backend_seed(seed)
    out = _solve_model(
        model,
        backend=backend,
        time_limit=time_limit,
        mip_gap=mip_gap,
        seed=mapped,
        start=start,
        threads=threads,
        relax=relax,
        options=options,
    )
    if mapped != seed:
        out.info["backend_seed"] = mapped
    return out


def _solve_model(
    model: ArrayModel,
    *,
    backend: str,
    time_limit: float,
    mip_gap: float,
    seed: int,
    start: dict[int, float] | None,
    threads: int | None,
    relax: bool,
    options: dict[str, Any] | None,
) -> SolveOutcome:
    if backend == "highs" or relax:
        return _solve_highs(
            model,
            time_limit=time_limit,
            mip_gap=mip_gap,
            seed=seed,
            start=start,
            threads=threads,
            relax=relax,
            options=options,
        )
    if backend in ("cbc", "pulp-highs"):
        return _solve_pulp(
            model,
            backend=backend,
            time_limit=time_limit,
            mip_gap=mip_gap,
            seed=seed,
            start=start,
            threads=threads,
        )
    if backend == "cpsat":
        return _solve_cpsat(
            model,
            time_limit=time_limit,
            mip_gap=mip_gap,
            seed=seed,
            start=start,
            threads=threads,
        )
    raise ValueError(
        f"unknown MIP backend {backend!r}; choose 'highs', 'pulp-highs', 'cbc' or "
        "'cpsat'"
    )

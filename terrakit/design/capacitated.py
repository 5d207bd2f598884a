"""Chosen centers with one capacity band: the capacitated p-median case.

When ``center_mode="choose"``, the only band is an upper limit (capacity
``Q``, the same for every center) on one activity with integer values, there
is no contiguity and the objective is a sum of assignment costs, the design
problem is the capacitated p-median problem (CPMP).  When the candidates sit
in units (``center_units``), an open center serves its own unit,
:math:`x_{h_j j} = y_j` (the CPMP of Osman & Christofides 1994 and Lorena &
Senne 2004, :math:`x_{jj} = y_j`: a median belongs to its own cluster), in
every step below: the start, the moves of the local search (a center's own
unit never leaves it), the knapsacks of the bound (the home unit forced in,
the others in the capacity it leaves: a valid and stronger bound), the
fixing and the MIP.  The plain MIP's LP bound is weak on it (a few per cent
on Osman–Christofides instances) and its search slow, so
:func:`solve_capacitated` combines (kernels in
:mod:`terrakit.design._cpmp`):

1. **Start** — the uncapacitated p-median centers (greedy + interchange),
   units assigned to the nearest and the overload repaired.
2. **Iterated local search** (the upper bound) — center swaps (close one,
   open one of the ``width`` best candidates without capacities) whose
   assignment is repaired by a compiled best-improvement search over unit
   shifts and neighbour swaps with an overload penalty, with "don't look
   bits"; restarted from random double swaps of the best answer.
3. **Lagrangian bound** — relaxing the assignment rows with multipliers
   :math:`u_i` leaves one 0-1 knapsack per candidate center,
   :math:`\\rho_j(u) = \\min\\{\\sum_i (c_{ij} - u_i) x_i : \\sum_i d_i x_i \\le Q\\}`;
   :math:`\\mathcal{L}(u) = \\sum_i u_i + \\sum_{k \\text{ smallest}} \\rho_j(u)`
   is a lower bound at least as strong as the LP's, maximised by subgradient
   steps.  Each knapsack gets its fractional (LP) bound, and the exact dynamic
   program runs only for the columns that can enter the ``k`` smallest.
   Capacities above :data:`MAX_DP_CAPACITY` keep the fractional bound.
4. **Reduced-cost fixing and exact MIP** — centers and pairs whose forced use
   lifts the bound above the incumbent are removed; when what is left is
   small enough for the time left, HiGHS solves it warm-started (its bound
   is then a bound of the whole problem).  The knapsack tables (here and
   in step 3) check the clock: columns not done keep their fractional
   bound, and a fixing cut short leaves no time for the MIP.
5. The local search goes on until the time limit when optimality is not
   proven.

The lower bound is always finite (a Lagrangian value at any multipliers is a
bound).  Long steps check the clock; the answer comes back with
``status="time_limit"`` and a :class:`~terrakit.exceptions.TimeLimitWarning`
when the bound does not meet it.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np

from terrakit.design.problem import DesignProblem
from terrakit.design.result import AlignmentResult, Status
from terrakit.exceptions import SpecificationError, TimeLimitWarning

__all__ = ["is_capacitated_pmedian", "solve_capacitated"]

#: above this capacity the knapsack dynamic program (a table of ``Q + 1``
#: cells per column and item) is skipped: the bound uses fractional knapsacks
MAX_DP_CAPACITY = 20_000
#: the reduced exact MIP runs only when the time left allows this many
#: unit–center pairs per second
PAIRS_PER_SECOND = 2_000
#: ... and only when at most this many times ``k`` candidate centers are left
#: (with more, the Lagrangian gap is too wide for it to close in time)
MAX_REDUCED_CENTERS = 4
#: ... or, whatever the number of centers, at most this many pairs
SMALL_REDUCED_PAIRS = 2_500
#: the assignment repair lets each unit trade places with this many neighbours
NEIGHBOURS = 20
#: swap candidates tried per closed center (5 beat 10 and 20 on SJC4a: more
#: rounds of the iterated local search in the same time)
WIDTH = 5


def is_capacitated_pmedian(problem: DesignProblem) -> bool:
    """Whether ``problem`` has the CPMP shape (see the module doc)."""
    return _not_cpmp(problem) is None


def _not_cpmp(problem: DesignProblem) -> str | None:
    """Why ``problem`` does not have the CPMP shape, in words (None when it has)."""
    if problem.center_mode != "choose":
        return "its centers are fixed (center_mode='fixed'), not chosen"
    if problem.contiguity:
        return "it asks for contiguity"
    if problem.draws is not None:
        return "it balances on draws"
    if problem.objective not in ("compactness", "travel"):
        return (
            f"its objective is {problem.objective!r}, not a sum of assignment "
            "costs ('compactness' or 'travel')"
        )
    if problem.locked:
        return f"it locks {len(problem.locked)} unit(s) to centers"
    if problem.budgets:
        return f"it has budget(s) {sorted(problem.budgets)}"
    if len(problem.banded) != 1:
        return (
            f"it has {len(problem.banded)} banded activities "
            f"({', '.join(map(repr, problem.banded)) or 'none'}), not one capacity"
        )
    ((a, v, lo, hi),) = problem.bands()
    if np.any(np.isfinite(lo) & (lo > 0)):
        return (
            f"the band on {a!r} has a lower limit ({float(np.max(lo)):.6g}); a "
            "capacity is an upper limit only"
        )
    if not np.all(np.isfinite(hi)):
        return f"the band on {a!r} has no finite upper limit (the capacity)"
    if np.ptp(hi) > 0:
        return (
            f"the capacity on {a!r} differs between territories (from "
            f"{hi.min():.6g} to {hi.max():.6g})"
        )
    if np.any(v < 0):
        return f"{int(np.sum(v < 0))} unit(s) have a negative {a!r}"
    if np.any(v != np.round(v)):
        i = int(np.flatnonzero(v != np.round(v))[0])
        return (
            f"{int(np.sum(v != np.round(v)))} unit(s) have a {a!r} that is not a "
            f"whole number (unit {problem.unit_ids[i]!s}: {v[i]:.6g}; the "
            "knapsack bound needs integers: scale the activity)"
        )
    return None


def _neighbours(c: np.ndarray, width: int) -> np.ndarray:
    """For each unit, the ``width`` units whose nearest candidate center is
    cheapest for it (its neighbours; itself excluded)."""
    n = c.shape[0]
    width = max(1, min(width, n - 1))
    prox = c[:, np.argmin(c, axis=1)]  # n × n: unit i to unit i2's nearest center
    prox[np.arange(n), np.arange(n)] = np.inf
    nb = np.argpartition(prox, width - 1, axis=1)[:, :width]
    return np.asarray(nb, dtype=np.int64)


def solve_capacitated(
    problem: DesignProblem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    backend: str = "highs",
    max_iter: int | None = None,
) -> AlignmentResult:
    """Solve a CPMP-shaped :class:`DesignProblem` (see the module doc).

    Parameters
    ----------
    problem
        A problem for which :func:`is_capacitated_pmedian` holds.
    time_limit
        Seconds for the whole solve; the answer at the limit comes back with
        ``status="time_limit"`` and a :class:`TimeLimitWarning`.
    seed
        Seed of the local search's random choices.
    backend
        MIP backend for the fallback when no capacity-feasible start is found.
    max_iter
        Optional iteration budget: each local search stops after
        ``max_iter`` rounds without improvement and the Lagrangian after
        ``max_iter`` subgradient steps, instead of at shares of the time
        limit, and the reduced MIP is gated on ``time_limit`` rather than on
        the time left.  A fixed seed then gives the same answer on any
        machine, as long as the time limit stops none of these steps first
        (then the status is ``"time_limit"``, with a warning).

    Returns
    -------
    AlignmentResult
        ``method="cpmp-ils+lagrangian"`` (``+mip/highs`` when the reduced MIP
        ran); ``status="optimal"`` when the bound meets the incumbent or the
        reduced MIP closes (with integral costs the bound is then rounded up
        to the objective); otherwise ``"time_limit"`` (with a
        ``TimeLimitWarning``), or ``"feasible"`` with ``max_iter`` when the
        clock stopped no step.  ``info["cut_by_clock"]``: whether the clock
        stopped a step, so that the answer depends on timing (without
        ``max_iter``, an unproven run's last local search always runs to
        the time limit).

    Raises
    ------
    SpecificationError
        When ``problem`` does not have the CPMP shape (naming what breaks
        it: a lower band, no band or several, a capacity that is not a whole
        number, ...): :func:`terrakit.design.solve` handles it; or when it is
        impossible on its face (:meth:`DesignProblem.check`).
    """
    from terrakit.design._cpmp import (
        cpmp_mip,
        iterated_swaps,
        lagrangian,
        repair_assignment,
        solve_gap,
    )
    from terrakit.design.mip import solve_mip
    from terrakit.design.pmedian import greedy, interchange

    t0 = time.perf_counter()
    deadline = t0 + time_limit
    why = _not_cpmp(problem)
    if why is not None:
        raise SpecificationError(
            "solve_capacitated needs a capacitated p-median problem (chosen "
            "centers, one capacity on an activity of whole numbers; see "
            f"is_capacitated_pmedian): "
            f"{why}; use terrakit.design.solve, which picks the path for any "
            "design problem"
        )
    problem.check()
    ((_, dem, _lo, hi),) = problem.bands()
    q = math.floor(hi[0] + 1e-9)
    d = np.rint(np.asarray(dem, dtype=float)).astype(np.int64)
    c = np.array(problem.cost, dtype=float)
    n = c.shape[0]
    k = problem.n_territories
    big = 1e3 * (np.abs(c).max() + 1) * n
    if problem.allowed is not None:
        c[~np.asarray(problem.allowed)] = big
    c[d > q, :] = big
    # the unit of each candidate center, which an open center serves
    home = (
        None
        if problem.center_units is None
        else np.asarray(problem.center_units, dtype=np.int64)
    )
    integral = bool(np.all(c == np.round(c)))

    def closed(ub: float, lb: float) -> bool:
        if not math.isfinite(ub):
            return False
        return ub - lb < (1.0 - 1e-9 if integral else 1e-7 * max(1.0, abs(ub)))

    info: dict[str, Any] = {}
    budgeted = max_iter is not None
    cut: list[str] = []  # the steps the clock stopped

    def clock(step: str, limit: float) -> None:
        if time.perf_counter() >= limit:
            cut.append(step)

    # 1. start: uncapacitated p-median centers, assignment repaired
    nb = _neighbours(c, NEIGHBOURS)
    start_deadline = deadline if budgeted else t0 + 0.05 * time_limit
    open0, _ = interchange(
        c,
        greedy(c, k, deadline=start_deadline, rng=np.random.default_rng(seed)),
        deadline=start_deadline,
    )
    clock("start", start_deadline)
    centers = np.asarray(open0, dtype=np.int64)
    pos, ub = repair_assignment(
        c[:, centers],
        d,
        q,
        np.argmin(c[:, centers], axis=1),
        nb=None,
        home=None if home is None else home[centers],
    )
    if pos is None:
        g = solve_gap(
            c, d, q, centers, time_limit=0.1 * time_limit, seed=seed, home=home
        )
        if g.columns is not None:
            where = {int(j): t for t, j in enumerate(centers.tolist())}
            pos = np.array([where[int(j)] for j in g.columns], dtype=np.int64)
            ub = g.value
    if pos is None or ub >= big:  # no feasible start: the exact MIP decides
        return solve_mip(
            problem,
            time_limit=max(deadline - time.perf_counter(), 1.0),
            seed=seed,
            backend=backend,
            check=False,
            max_iter=max_iter,
        )
    info["start_value"] = ub
    # 2. iterated local search
    ils_deadline = deadline if budgeted else t0 + 0.4 * time_limit
    centers, pos, ub, rounds = iterated_swaps(
        c,
        d,
        q,
        centers,
        pos,
        deadline=ils_deadline,
        seed=seed,
        width=WIDTH,
        nb=nb,
        stall=50 + 2 * k if max_iter is None else min(50 + 2 * k, max_iter),
        home=home,
    )
    clock("local search", ils_deadline)
    info["ils_rounds"] = rounds
    info["ils_seconds"] = time.perf_counter() - t0
    # 3. Lagrangian bound, subgradient steps towards the incumbent
    exact = q <= MAX_DP_CAPACITY
    u = c[np.arange(n), centers[pos]].copy()
    lb, best_u, lam, stall, it = -math.inf, u.copy(), 2.0, 0, 0
    history: list[float] = []
    lag_deadline = min(
        max(time.perf_counter() + 0.1 * time_limit, t0 + 0.6 * time_limit),
        deadline - 0.05 * time_limit,
    )
    if budgeted:
        lag_deadline = deadline - 0.05 * time_limit
    while True:
        it += 1
        val, _s, items, _rho, _ex = lagrangian(
            c, d, q, k, u, exact=exact, home=home, deadline=lag_deadline
        )
        if exact and not _ex[_s].all() and time.perf_counter() > lag_deadline:
            cut.append("Lagrangian bound")  # its knapsacks: a weaker bound
        if val > lb + 1e-9 * max(1.0, abs(val)):
            lb, best_u, stall = val, u.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                lam, stall = lam / 2, 0
        history.append(lb)
        if closed(ub, lb) or lam < 1e-3:
            break
        if max_iter is not None and it >= max_iter:
            break
        if time.perf_counter() > lag_deadline:
            cut.append("Lagrangian bound")
            break
        if it > 80 and lb - history[-80] < 1e-5 * max(1.0, abs(lb)):
            break  # the bound has stopped moving
        g = 1.0 - items.sum(axis=1)
        gg = float(g @ g)
        if gg == 0:
            break
        u = u + lam * max(ub - val, 1e-6 * max(1.0, abs(ub))) / gg * g
    info.update(
        lagrangian_bound=lb,
        iterations=it,
        heuristic_value=ub,
        lagrangian_seconds=time.perf_counter() - t0 - info["ils_seconds"],
    )
    method = "cpmp-ils+lagrangian"
    status: Status = "optimal" if closed(ub, lb) else "time_limit"
    # 4. reduced-cost fixing and the exact MIP on what is left
    if status != "optimal" and time.perf_counter() < deadline - 0.5:
        keep, complete = _reduced_pairs(
            c, d, q, k, best_u, ub, integral, exact, big, home, deadline=deadline
        )
        if not complete:  # the clock stopped the knapsacks: no time for a MIP
            cut.append("reduced-cost fixing")
        cols_inc = centers[pos]
        keep[np.arange(n), cols_inc] = True
        pairs = int(keep.sum())
        left = deadline - time.perf_counter()
        info.update(reduced_candidates=int(keep.any(axis=0).sum()), reduced_pairs=pairs)
        ncand = info["reduced_candidates"]
        # with max_iter the gate does not depend on the time left
        room = 0.4 * time_limit if budgeted else left
        if (
            complete
            and pairs <= PAIRS_PER_SECOND * 0.5 * room
            and (ncand <= MAX_REDUCED_CENTERS * k or pairs <= SMALL_REDUCED_PAIRS)
        ):
            mcols, mv, mb, mst = cpmp_mip(
                c,
                d,
                q,
                k,
                keep,
                time_limit=(0.8 if ncand <= MAX_REDUCED_CENTERS * k else 0.5) * left,
                start=cols_inc,
                seed=seed,
                home=home,
            )
            method += "+mip/highs"
            info["mip_status"] = mst
            if mst != "optimal" and mcols is not None:
                cut.append("reduced MIP")
            if mcols is not None and mv < ub - 1e-9 * max(1.0, abs(ub)):
                ub = mv
                centers = np.unique(mcols)
                pos = np.searchsorted(centers, mcols)
            if math.isfinite(mb):
                lb = max(lb, min(mb, ub))
            if mst == "optimal" or closed(ub, lb):
                lb = max(lb, ub) if mst == "optimal" else lb
                status = "optimal"
    # 5. local search until the time limit (or max_iter rounds without
    # improvement) when not proven
    if status != "optimal" and time.perf_counter() < deadline:
        centers, pos, ub, r2 = iterated_swaps(
            c,
            d,
            q,
            centers,
            pos,
            deadline=deadline,
            seed=seed + 1,
            width=WIDTH,
            nb=nb,
            target=lb,
            stall=max_iter,
            home=home,
        )
        info["ils_rounds"] += r2
        if closed(ub, lb):
            status = "optimal"
        else:
            clock("final local search", deadline)
    elif status != "optimal":
        cut.append("final local search")
    best_cols = centers[pos]
    info["heuristic_value"] = ub
    if status == "optimal" and integral:
        # closed through integrality (ub - lb < 1 and every plan's value is
        # an integer, c being integral): the bound is ceil(lb)
        lb = max(lb, float(math.ceil(lb - 1e-9)))
    info["cut_by_clock"] = bool(cut) and status != "optimal"
    if info["cut_by_clock"]:
        info["clock_stopped"] = list(dict.fromkeys(cut))
    if status == "time_limit" and budgeted and not cut:
        status = "feasible"  # every step ran to its budget: unproven, not cut
    if status == "time_limit":
        why = (
            f"; the clock stopped the {', '.join(dict.fromkeys(cut))} before "
            f"the iteration budget max_iter={max_iter}, so the answer may differ "
            "between machines and runs. Fix: raise time_limit or lower max_iter"
            if budgeted
            else ""
        )
        warnings.warn(
            f"capacitated p-median stopped at the time limit ({time_limit:g} s): "
            f"best {ub:.6g}, bound {lb:.6g}{why}",
            TimeLimitWarning,
            stacklevel=2,
        )
    return AlignmentResult.from_columns(
        problem,
        best_cols,
        status=status,
        lower_bound=lb,
        method=method,
        seconds=time.perf_counter() - t0,
        seed=seed,
        config={"time_limit": time_limit, "max_iter": max_iter},
        info=info,
    )


def _reduced_pairs(
    c: np.ndarray,
    d: np.ndarray,
    q: int,
    k: int,
    u: np.ndarray,
    ub: float,
    integral: bool,
    exact: bool,
    big: float,
    home: np.ndarray | None = None,
    deadline: float | None = None,
) -> tuple[np.ndarray, bool]:
    """Pairs (unit, center) that may lie in a solution better than ``ub``.

    With the knapsack lower bounds ``ρ_j(u)`` (exact or fractional), forcing
    center ``j`` open gives the bound ``L − ρ_(k) + ρ_j`` (``j`` outside the
    ``k`` smallest; ``L`` otherwise), and forcing unit ``i`` onto it adds at
    least ``max(0, c_ij − u_i)`` — nothing for the center's own unit
    ``home[j]``, which ``ρ_j`` already holds.  Solutions at most ``ub − 1``
    (integral costs) or ``ub`` remain.  ``deadline``: the exact knapsacks
    run in increasing order of the fractional bound until the clock passes
    it, and the columns left keep their fractional bound (a lower bound of
    the exact one: the pairs kept are then a superset, still valid).

    Returns
    -------
    keep : ndarray of bool, shape (n, m)
    complete : bool
        Whether every column got the bound asked for (False when the clock
        stopped the exact knapsacks).
    """
    from terrakit.design._cpmp import fractional_knapsacks, knapsacks

    w = c - u[:, None]
    complete = True
    if exact and deadline is None:
        rho, _ = knapsacks(w, d, q, home=home)
    else:
        rho = fractional_knapsacks(w, d, q, home)
    if exact and deadline is not None:
        order = np.argsort(rho, kind="stable")
        vals, _ = knapsacks(w, d, q, order, home=home, deadline=deadline)
        done = ~np.isnan(vals)
        rho[order[done]] = vals[done]
        complete = bool(done.all())
    order = np.argsort(rho, kind="stable")
    lval = float(u.sum() + rho[order[:k]].sum())
    kth = rho[order[k - 1]]
    in_s = np.zeros(c.shape[1], dtype=bool)
    in_s[order[:k]] = True
    forced = np.where(in_s, lval, lval - kth + rho)
    thr = ub - (1.0 if integral else 0.0) + 1e-7 * max(1.0, abs(ub))
    extra = np.maximum(w, 0.0)
    if home is not None:
        js = np.flatnonzero(home >= 0)
        extra[home[js], js] = 0.0  # in ρ_j already
    pair = forced[None, :] + extra
    keep = np.asarray((pair <= thr) & (forced <= thr)[None, :] & (c < big))
    return keep, complete

"""Chosen centers with one capacity band: the capacitated p-median case.

When ``center_mode="choose"``, the only band is an upper limit (capacity
``Q``, the same for every center) on one activity with integer values, there
is no contiguity and the objective is a sum of assignment costs, the design
problem is the capacitated p-median problem (CPMP).  The plain MIP's LP bound
is weak on it (a few per cent on Osman–Christofides instances), so
:func:`solve_capacitated` strengthens it:

1. **Lagrangian bound** — relaxing the assignment rows with multipliers
   :math:`u_i` leaves one 0-1 knapsack per candidate center,
   :math:`\\rho_j(u) = \\min\\{\\sum_i (c_{ij} - u_i) x_i : \\sum_i d_i x_i \\le Q\\}`,
   solved for all centers at once by a vectorised dynamic program over
   capacities;
   :math:`\\mathcal{L}(u) = \\sum_i u_i + \\sum_{k \\text{ smallest}} \\rho_j(u)`
   is a lower bound (it has the integrality of the knapsacks, so it is at
   least the LP bound), maximised by subgradient steps.
2. **Primal heuristic** — the centers of the Lagrangian solution, with the
   units re-assigned by the exact fixed-center MIP (a generalised assignment
   problem, small), give feasible solutions and the incumbent.
3. **Reduced-cost fixing** — a center whose forced opening lifts the bound
   above the incumbent is closed; a pair whose forced use does (by at least
   :math:`\\max(0, c_{ij} - u_i)` on top of its center) is removed.
4. **Kernel MIP** — a restricted MIP on the ``3k`` most promising centers,
   each unit limited to its 12 nearest of them, warm-started: a heuristic.
5. **Exact MIP** (:mod:`terrakit.design.mip`) on what is left, warm-started
   with the incumbent.

When the knapsack table ``n × m × (Q+1)`` exceeds :data:`MAX_DP_CELLS` (large
capacities, e.g. the SJC instances beyond SJC1), steps 1 and 3 are skipped:
the bound is the LP relaxation's, the kernel is ranked by the LP's center
values, and the last step is the full MIP warm-started with the incumbent.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np

from terrakit.design.problem import DesignProblem
from terrakit.design.result import AlignmentResult, Status
from terrakit.exceptions import TimeLimitWarning

__all__ = ["is_capacitated_pmedian", "solve_capacitated"]

#: the knapsack table ``n × m × (Q+1)`` must stay below this many cells
MAX_DP_CELLS = 30_000_000


def is_capacitated_pmedian(problem: DesignProblem) -> bool:
    """Whether ``problem`` has the CPMP shape (see the module doc)."""
    if (
        problem.center_mode != "choose"
        or problem.contiguity
        or problem.draws is not None
        or problem.objective not in ("compactness", "travel")
        or problem.locked
        or len(problem.banded) != 1
    ):
        return False
    ((_, v, lo, hi),) = problem.bands()
    if np.any(np.isfinite(lo) & (lo > 0)) or not np.all(np.isfinite(hi)):
        return False
    if np.ptp(hi) > 0 or np.any(v < 0) or np.any(v != np.round(v)):
        return False
    return True


def _knapsacks(
    w: np.ndarray, d: np.ndarray, q: int, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Knapsack values for every column of ``w`` (n × m) and the chosen items
    (bool, n × len(cols)) of the columns ``cols``.

    ``min Σ_i w_ij x_i`` s.t. ``Σ_i d_i x_i ≤ q``, by a dynamic program over
    capacities vectorised across columns; only items with ``w < 0`` matter.
    """
    n, m = w.shape
    v = np.zeros((m, q + 1))
    wn = np.minimum(w, 0.0)
    items = [int(i) for i in np.flatnonzero((wn < 0).any(axis=1)) if d[i] <= q]
    want = len(cols) > 0
    take = np.zeros((len(items) if want else 0, m, q + 1), dtype=bool)
    for t, i in enumerate(items):
        di = int(d[i])
        if di == 0:
            if want:
                take[t] = wn[i][:, None] < 0
            v += wn[i][:, None]
            continue
        cand = v[:, :-di] + wn[i][:, None]
        better = cand < v[:, di:]
        if want:
            take[t, :, di:] = better
        v[:, di:] = np.where(better, cand, v[:, di:])
    chosen = np.zeros((n, len(cols)), dtype=bool)
    for c_pos, j in enumerate(np.asarray(cols).tolist()):
        cap = q
        for t in range(len(items) - 1, -1, -1):
            if take[t, j, cap]:
                i = items[t]
                chosen[i, c_pos] = True
                cap -= int(d[i])
    return v[:, q], chosen


def _assign_fixed(
    problem: DesignProblem, centers: np.ndarray, time_limit: float, seed: int
) -> tuple[np.ndarray | None, float]:
    """Exact re-assignment of the units to fixed ``centers`` (a small MIP)."""
    from terrakit.design.mip import solve_mip

    sub = DesignProblem(
        unit_ids=problem.unit_ids,
        activities=problem.activities,
        n_territories=centers.size,
        cost=np.asarray(problem.cost)[:, centers],
        upper={
            a: np.full(centers.size, float(problem.band_limits(a)[1][0]))
            for a in problem.banded
        },
        allowed=None
        if problem.allowed is None
        else np.asarray(problem.allowed)[:, centers],
        objective=problem.objective,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TimeLimitWarning)
            res = solve_mip(
                sub,
                time_limit=time_limit,
                seed=seed,
                check=False,
                diagnose=False,
                mip_gap=1e-9,
            )
    except Exception:
        return None, math.inf
    cols = centers[np.asarray(res.columns)]
    return cols, problem.evaluate(cols)


def _alternate(
    problem: DesignProblem,
    c: np.ndarray,
    centers: np.ndarray,
    seed: int,
    deadline: float,
) -> tuple[np.ndarray | None, float]:
    """Location–allocation alternation: re-assign (exact, capacitated), then move
    each center to the best 1-median of its territory; repeat while it helps."""
    best_cols, best = _assign_fixed(problem, centers, 0.5, seed)
    while best_cols is not None and time.perf_counter() < deadline:
        new = np.array(
            [
                int(members[np.argmin(c[np.ix_(members, members)].sum(axis=0))])
                for members in (
                    np.flatnonzero(best_cols == j) for j in np.unique(best_cols)
                )
            ]
        )
        if set(new.tolist()) == set(np.unique(best_cols).tolist()):
            break
        cols, v = _assign_fixed(problem, np.sort(new), 0.5, seed)
        if cols is None or v >= best - 1e-9:
            break
        best_cols, best = cols, v
    return best_cols, best


def solve_capacitated(
    problem: DesignProblem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    backend: str = "highs",
) -> AlignmentResult:
    """Solve a CPMP-shaped :class:`DesignProblem` (see the module doc).

    Returns
    -------
    AlignmentResult
        ``method="cpmp-lagrangian+mip/highs"``; ``status="optimal"`` when the
        bound meets the incumbent or the reduced MIP closes.
    """
    from terrakit.design.mip import solve_mip

    t0 = time.perf_counter()
    deadline = t0 + time_limit
    problem.check()
    ((_, d, _lo, hi),) = problem.bands()
    q = math.floor(hi[0] + 1e-9)
    c = np.array(problem.cost, dtype=float)
    n, m = c.shape
    k = problem.n_territories
    big = 1e3 * (np.abs(c).max() + 1) * n
    if problem.allowed is not None:
        c[~np.asarray(problem.allowed)] = big
    c[d > q, :] = big
    integral = bool(np.all(c == np.round(c)))

    def tol(v: float) -> float:
        return 1.0 - 1e-9 if integral else 1e-7 * max(1.0, abs(v))

    # start: p-median centers (ignoring capacity) re-assigned with capacity
    from terrakit.design.pmedian import greedy, interchange

    open0, _ = interchange(c, greedy(c, k), deadline=t0 + 0.1 * time_limit)
    best_cols, ub = _alternate(problem, c, open0, seed, t0 + 0.1 * time_limit)
    seen: set[tuple[int, ...]] = {tuple(open0.tolist())}
    # Lagrangian ascent with primal heuristics
    u = np.partition(c, min(k, m - 1), axis=1)[:, min(k, m - 1)].copy()
    # warm start of the multipliers: the LP duals of the assignment rows
    # (the Lagrangian at them is at least the LP bound)
    from terrakit.design._model import solve_model
    from terrakit.design.mip import build_model

    use_dp = n * m * (q + 1) <= MAX_DP_CELLS
    layout = build_model(problem)
    lp = solve_model(layout.model, relax=True, time_limit=max(1.0, 0.1 * time_limit))
    lp_bound = lp.bound if lp.status == "optimal" else -math.inf
    y_lp = (
        np.asarray(lp.values)[layout.y0 : layout.y0 + m]
        if lp.values is not None and layout.y0 is not None
        else np.zeros(m)
    )
    if "row_dual" in lp.info and use_dp:
        duals = np.asarray(lp.info["row_dual"])[:n]
        best_val = -math.inf
        for cand in (duals, -duals):
            r, _ = _knapsacks(c - cand[:, None], d, q, np.zeros(0, dtype=np.int64))
            val = float(cand.sum() + np.sort(r)[:k].sum())
            if val > best_val:
                best_val, u = val, cand.copy()
    lb, best_u = lp_bound, u.copy()
    lam, stall, it = 2.0, 0, 0
    # without the knapsack table (large capacities) the bound is the LP's
    lag_deadline = t0 + 0.35 * time_limit if use_dp else t0
    candidates: list[tuple[float, tuple[int, ...]]] = []
    history: list[float] = []
    while time.perf_counter() < lag_deadline:
        it += 1
        # the k smallest knapsack values; items of those k knapsacks
        rho, _ = _knapsacks(c - u[:, None], d, q, np.zeros(0, dtype=np.int64))
        s = np.argpartition(rho, k - 1)[:k] if k < m else np.arange(m)
        val = float(u.sum() + rho[s].sum())
        if val > lb + 1e-9 * max(1.0, abs(val)):
            lb, best_u, stall = val, u.copy(), 0
        else:
            stall += 1
            if stall >= 15:
                lam, stall = lam / 2, 0
                if lam < 1e-4:
                    break
        if math.isfinite(ub) and ub - lb < tol(ub):
            break
        history.append(lb)
        if len(history) > 150 and lb - history[-150] < 1e-4 * max(1.0, abs(lb)):
            break  # the bound has stopped moving
        _, items = _knapsacks(c[:, s] - u[:, None], d, q, np.arange(s.size))
        cover = items.sum(axis=1)
        key = tuple(sorted(int(j) for j in s))
        if key not in seen:
            seen.add(key)
            candidates.append((val, key))
        g = 1.0 - cover
        gg = float(g @ g)
        if gg == 0:
            break
        target = ub if math.isfinite(ub) else val + 0.05 * abs(val) + 1
        u = u + lam * max(target - val, 1e-6) / gg * g
    # primal: the center sets of the best Lagrangian solutions, re-assigned
    candidates.sort(reverse=True)
    alt_deadline = t0 + 0.45 * time_limit
    for _, key in candidates[:8]:
        if time.perf_counter() > alt_deadline:
            break
        cols, v = _alternate(problem, c, np.array(key), seed, alt_deadline)
        if cols is not None and v < ub - 1e-9:
            best_cols, ub = cols, v
    # restricted MIP ("kernel"): the 3k most promising centers by knapsack value,
    # each unit limited to its 12 nearest of them, warm-started
    if best_cols is not None and time.perf_counter() < t0 + 0.6 * time_limit:
        if use_dp:
            rho_b, _ = _knapsacks(
                c - best_u[:, None], d, q, np.zeros(0, dtype=np.int64)
            )
            score = rho_b
        else:
            score = -y_lp  # the LP's favourite centers first
        kern = np.union1d(np.argsort(score)[: 3 * k], np.unique(best_cols))
        near = np.argsort(c[:, kern], axis=1)[:, : min(12, kern.size)]
        allow = np.zeros((n, kern.size), dtype=bool)
        allow[np.arange(n)[:, None], near] = True
        allow[np.arange(n), np.searchsorted(kern, best_cols)] = True
        ksub = problem.replace(
            cost=np.asarray(problem.cost)[:, kern],
            allowed=allow & (c[:, kern] < big),
            center_units=None
            if problem.center_units is None
            else np.asarray(problem.center_units)[kern],
            center_ids=tuple(np.asarray(problem.center_ids, dtype=object)[kern]),
            territory_ids=None,
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TimeLimitWarning)
                kres = solve_mip(
                    ksub,
                    time_limit=max(0.5, 0.2 * time_limit),
                    seed=seed,
                    start=np.searchsorted(kern, best_cols),
                    mip_gap=1e-9,
                    check=False,
                    diagnose=False,
                )
            kcols = kern[np.asarray(kres.columns)]
            kv = problem.evaluate(kcols)
            if kv < ub - 1e-9 and not problem.violations(kcols):
                best_cols, ub = kcols, kv
        except Exception:  # a failed kernel MIP only means no improvement
            pass
    info: dict[str, Any] = {
        "lagrangian_bound": lb,
        "iterations": it,
        "heuristic_value": ub,
    }
    method = "cpmp-lagrangian"
    status: Status = "feasible"
    if best_cols is None:
        res = solve_mip(
            problem,
            time_limit=max(deadline - time.perf_counter(), 1.0),
            seed=seed,
            backend=backend,
            check=False,
        )
        return res
    if ub - lb < tol(ub):
        status = "optimal"
    elif not use_dp and time.perf_counter() < deadline - 0.5:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TimeLimitWarning)
            res = solve_mip(
                problem,
                time_limit=deadline - time.perf_counter(),
                seed=seed,
                backend=backend,
                start=best_cols,
                mip_gap=1e-9,
                check=False,
                diagnose=False,
            )
        method = f"cpmp-kernel+{res.method}"
        v = problem.evaluate(np.asarray(res.columns))
        if v < ub - 1e-9 and not problem.violations(np.asarray(res.columns)):
            best_cols, ub = np.asarray(res.columns), v
        lb = max(lb, min(res.lower_bound, ub))
        status = "optimal" if res.status == "optimal" else "time_limit"
        info["mip_status"] = res.status
    elif time.perf_counter() < deadline - 0.5:
        rho, _ = _knapsacks(c - best_u[:, None], d, q, np.zeros(0, dtype=np.int64))
        order = np.argsort(rho, kind="stable")
        lval = float(best_u.sum() + rho[order[:k]].sum())
        kth = rho[order[k - 1]]
        in_s = np.zeros(m, dtype=bool)
        in_s[order[:k]] = True
        forced = np.where(in_s, lval, lval - kth + rho)
        thr = ub - (1.0 if integral else 0.0) + 1e-7
        keep_j = forced <= thr
        pair = forced[None, :] + np.maximum(c - best_u[:, None], 0.0)
        keep = (pair <= thr) & keep_j[None, :] & (c < big)
        used = np.unique(best_cols)
        keep_j[used] = True
        keep[np.arange(n), best_cols] = True
        js = np.flatnonzero(keep_j)
        info.update(reduced_candidates=int(js.size), reduced_pairs=int(keep.sum()))
        sub = problem.replace(
            cost=np.asarray(problem.cost)[:, js],
            allowed=keep[:, js],
            center_units=None
            if problem.center_units is None
            else np.asarray(problem.center_units)[js],
            center_ids=tuple(np.asarray(problem.center_ids, dtype=object)[js]),
            territory_ids=None,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TimeLimitWarning)
            res = solve_mip(
                sub,
                time_limit=deadline - time.perf_counter(),
                seed=seed,
                backend=backend,
                start=np.searchsorted(js, best_cols),
                mip_gap=1e-9,
                check=False,
                diagnose=False,
            )
        method = f"cpmp-lagrangian+{res.method}"
        cols = js[np.asarray(res.columns)]
        v = problem.evaluate(cols)
        if v < ub - 1e-9 and not problem.violations(cols):
            best_cols, ub = cols, v
        # every solution at most the incumbent lies in the reduced space
        lb = max(lb, min(res.lower_bound, ub))
        status = "optimal" if res.status == "optimal" else "time_limit"
        info["mip_status"] = res.status
    if ub - lb < tol(ub):
        status = "optimal"
    if status == "time_limit":
        warnings.warn(
            f"capacitated p-median stopped at the time limit ({time_limit:g} s): "
            f"best {ub:.6g}, bound {lb:.6g}",
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
        config={"time_limit": time_limit},
        info=info,
    )

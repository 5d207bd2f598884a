"""Chosen centers without bands: the p-median special case of the design problem.

When ``center_mode="choose"`` and there is no band, no contiguity, no draws
and the objective is a sum of assignment costs, the design problem is the
p-median problem.  :func:`solve_pmedian` then combines

1. a greedy start (completed by the stochastic greedy when it would run
   past 60 % of the time limit) and a vectorised best-improvement
   interchange (Teitz–Bart swaps, evaluated for all ``k × m`` swaps at
   once), iterated with random perturbations until the time budget — the
   upper bound;
2. the Lagrangian relaxation of the assignment constraints, maximised by
   subgradient steps (never below ``Σ_i min_j c_ij``) — the lower bound;
3. when the two do not meet, Lagrangian reduced-cost fixing (candidate
   centers and unit–center pairs that cannot be in any solution at most as
   expensive as the incumbent are removed) and the exact MIP of
   :mod:`terrakit.design.mip` on what is left, warm-started with the
   incumbent.  It runs at once when the reduced model is small, with HiGHS
   presolve off when it is large (presolve does not watch the clock), and not
   at all when it is too large for the time left
   (:data:`PAIRS_PER_SECOND`): then the interchange answer comes back with the
   Lagrangian bound and status ``"time_limit"``.

An open center serves its own unit (:class:`DesignProblem`), so a candidate
whose unit is locked to another center never opens (:func:`_barred`).

Notes
-----
For multipliers :math:`u_i`,
:math:`\\mathcal{L}(u) = \\sum_i u_i + \\min_{|S|=k} \\sum_{j\\in S} \\rho_j(u)`
with :math:`\\rho_j(u) = \\sum_i \\min(0, c_{ij} - u_i)` is a lower bound.
Forcing center *j* open raises it by at least
:math:`\\rho_j - \\max_{l\\in S}\\rho_l` (*j* ∉ S), and forcing the pair
*(i, j)* by a further :math:`\\max(0, c_{ij} - u_i)`; a center or pair whose
forced bound exceeds the incumbent is fixed to 0.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from terrakit.design.problem import DesignProblem
from terrakit.design.result import AlignmentResult, Status
from terrakit.exceptions import TimeLimitWarning

__all__ = ["interchange", "is_pmedian", "lagrangian", "solve_pmedian"]

#: the reduced exact MIP is only attempted below this many unit–center pairs
#: (HiGHS' presolve alone can outlast a 30 s budget on larger ones)
MAX_REDUCED_PAIRS = 60_000
#: ... and only when the time left allows this many pairs per second (the
#: root LP of a 38,000-pair model overran a 12 s budget by 5 s on 2 loaded cores)
PAIRS_PER_SECOND = 2_500
#: above this many pairs the reduced MIP runs with HiGHS presolve off
PRESOLVE_OFF_PAIRS = 10_000
#: below this many pairs the reduced MIP runs as soon as the first bound is in
SMALL_REDUCED_PAIRS = 5_000
#: the reduced MIP runs only with at least this many seconds left
MIP_RESERVE = 2.0


def is_pmedian(problem: DesignProblem) -> bool:
    """Whether ``problem`` is a plain p-median problem (see the module doc)."""
    return (
        problem.center_mode == "choose"
        and not problem.banded
        and not problem.contiguity
        and problem.draws is None
        and not problem.budgets
        and problem.objective in ("compactness", "travel")
    )


def _barred(problem: DesignProblem) -> np.ndarray:
    """Candidate columns that may not open (bool, ``m``): their own unit is
    locked to another center, and an open center serves its own unit
    (:math:`x_{jj} = y_j`, see :class:`DesignProblem`)."""
    bar = np.zeros(problem.n_centers, dtype=bool)
    if problem.center_units is None or not problem.locked:
        return bar
    for j, i in enumerate(np.asarray(problem.center_units).tolist()):
        bar[j] = i >= 0 and problem.locked.get(int(i), j) != j
    return bar


def _cost(problem: DesignProblem) -> np.ndarray:
    """The cost matrix with the forbidden choices priced out: a pair beyond
    the maximum distance, a locked unit at another center, and any unit at a
    candidate that may not open (:func:`_barred`) cost ``big``."""
    c = np.array(problem.cost, dtype=float)
    big = 1e3 * (np.abs(c).max() + 1.0) * max(problem.n_units, 1)
    if problem.allowed is not None:
        c[~np.asarray(problem.allowed)] = big
    for i, j in problem.locked.items():
        keep = c[i, j]
        c[i, :] = big
        c[i, j] = keep
    c[:, _barred(problem)] = big
    return c


def _two_nearest(c: np.ndarray, open_: np.ndarray) -> tuple[np.ndarray, ...]:
    sub = c[:, open_]
    if open_.size == 1:
        return sub[:, 0], np.zeros(c.shape[0], int), np.full(c.shape[0], np.inf)
    part = np.argpartition(sub, 1, axis=1)[:, :2]
    rows = np.arange(c.shape[0])
    a, b = sub[rows, part[:, 0]], sub[rows, part[:, 1]]
    swap = b < a
    i1 = np.where(swap, part[:, 1], part[:, 0])
    d1 = np.minimum(a, b)
    d2 = np.maximum(a, b)
    return d1, i1, d2


def greedy(
    c: np.ndarray,
    k: int,
    forced: np.ndarray | None = None,
    *,
    deadline: float = math.inf,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Greedy add: open the center that lowers the total cost most, ``k`` times.

    Each round is a pass over all ``n × m`` costs, ``k`` rounds in all (21 s
    for 4,000 units and 300 centers).  Once ``deadline`` has passed, the
    centers still missing are added by the stochastic greedy: each round the
    best of ``⌈m / k · ln 100⌉`` free candidates drawn with ``rng`` (default
    seed 0), ``O(n · m / k)`` a round instead of ``O(n · m)``.
    """
    n, m = c.shape
    chosen: list[int] = [] if forced is None else [int(j) for j in np.unique(forced)]
    cur = np.full(n, np.inf)
    for j in chosen:
        cur = np.minimum(cur, c[:, j])
    while len(chosen) < k and time.perf_counter() < deadline:
        tot = np.minimum(cur[:, None], c).sum(axis=0)
        tot[chosen] = np.inf
        j = int(np.argmin(tot))
        chosen.append(j)
        cur = np.minimum(cur, c[:, j])
    if len(chosen) < k:
        # stochastic greedy ("lazier than lazy greedy", Mirzasoleiman et al.
        # 2015): each step prices a random sample of m / k · ln(1 / 0.01)
        # free candidates, k steps cost about ln 100 greedy passes in all
        rng = np.random.default_rng(0) if rng is None else rng
        free = np.ones(m, dtype=bool)
        free[chosen] = False
        size = max(1, math.ceil(m / k * math.log(100.0)))
        while len(chosen) < k:
            pool = np.flatnonzero(free)
            sample = (
                pool
                if pool.size <= size
                else rng.choice(pool, size=size, replace=False)
            )
            tot = np.minimum(cur[:, None], c[:, sample]).sum(axis=0)
            j = int(sample[int(np.argmin(tot))])
            chosen.append(j)
            free[j] = False
            cur = np.minimum(cur, c[:, j])
    return np.array(sorted(chosen), dtype=np.int64)


def interchange(
    c: np.ndarray,
    open_: np.ndarray,
    *,
    forced: np.ndarray | None = None,
    deadline: float = math.inf,
) -> tuple[np.ndarray, float]:
    """Best-improvement swap local search from the open set ``open_``.

    All ``k × m`` swaps are priced at once: inserting *f* changes the cost by
    ``G_f = Σ_i min(0, c_if − d1_i)``, and removing *r* as well adds
    ``Σ_{i: r = nearest(i)} [min(d2_i, c_if) − min(d1_i, c_if)]``.
    """
    n, m = c.shape
    open_ = np.array(sorted(open_), dtype=np.int64)
    k = open_.size
    locked = np.zeros(m, dtype=bool)
    if forced is not None:
        locked[np.asarray(forced, dtype=np.int64)] = True
    while time.perf_counter() < deadline:
        d1, i1, d2 = _two_nearest(c, open_)
        g = np.minimum(c - d1[:, None], 0.0).sum(axis=0)
        mm = np.minimum(d2[:, None], c) - np.minimum(d1[:, None], c)
        onehot = sp.csr_matrix((np.ones(n), (i1, np.arange(n))), shape=(k, n))
        delta = g[None, :] + onehot @ mm
        delta[:, open_] = np.inf
        delta[locked[open_], :] = np.inf
        r, f = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[r, f] < -1e-9 * max(1.0, float(d1.sum())):
            break
        open_[r] = f
        open_.sort()
    d1, _, _ = _two_nearest(c, open_)
    return open_, float(d1.sum())


def lagrangian(
    c: np.ndarray,
    k: int,
    upper: float,
    *,
    deadline: float = math.inf,
    iterations: int = 3000,
) -> tuple[float, np.ndarray]:
    """Best Lagrangian bound and its multipliers ``u`` (subgradient ascent).

    At least one step runs, whatever ``deadline``; the answer is never below
    the bound at ``u_i = min_j c_ij`` (every unit at its cheapest center,
    where every ``ρ_j`` is 0), which costs one pass over ``c``.
    """
    m = c.shape[1]
    u = np.partition(c, min(k, m - 1), axis=1)[:, min(k, m - 1)].copy()
    best, best_u = -math.inf, u.copy()
    lam, stall = 2.0, 0
    for it in range(max(iterations, 1)):
        if it > 0 and time.perf_counter() > deadline:
            break
        red = np.minimum(c - u[:, None], 0.0)
        rho = red.sum(axis=0)
        s = np.argpartition(rho, k - 1)[:k] if k < m else np.arange(m)
        val = float(u.sum() + rho[s].sum())
        if val > best + 1e-9 * max(1.0, abs(val)):
            best, best_u, stall = val, u.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                lam, stall = lam / 2, 0
                if lam < 1e-5:
                    break
        if upper - best <= 1e-9 * max(1.0, abs(upper)):
            break
        g = 1.0 - (c[:, s] < u[:, None]).sum(axis=1)
        gg = float(g @ g)
        if gg == 0:
            break
        u = u + lam * max(upper - val, 1e-6) / gg * g
    cheapest = c.min(axis=1)
    trivial = float(cheapest.sum())
    if not best >= trivial:
        best, best_u = trivial, cheapest
    return best, best_u


def _reduced(
    c: np.ndarray, k: int, u: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Candidates and pairs that may appear in a solution costing ≤ threshold."""
    m = c.shape[1]
    red = np.minimum(c - u[:, None], 0.0)
    rho = red.sum(axis=0)
    order = np.argsort(rho, kind="stable")
    s = order[:k]
    val = float(u.sum() + rho[s].sum())
    kth_in, next_out = rho[order[k - 1]], (rho[order[k]] if k < m else np.inf)
    # bound with j forced open (j outside S) or forced closed (j inside S)
    force_open = np.where(np.isin(np.arange(m), s), val, val - kth_in + rho)
    keep_j = force_open <= threshold + 1e-7
    pair = force_open[None, :] + np.maximum(c - u[:, None], 0.0)
    keep_pairs = (pair <= threshold + 1e-7) & keep_j[None, :]
    _ = next_out
    return keep_j, keep_pairs, val


#: A p-median run whose reduced MIP stopped unproven, or that used at least
#: this share of its time limit without a proof, ended at the limit (status
#: ``time_limit``, a warning); one that ended earlier, unproven, without the
#: MIP, is ``feasible`` and says why in ``info["unproven"]``.
TIME_USED_SHARE = 0.95


def solve_pmedian(
    problem: DesignProblem,
    *,
    time_limit: float = 30.0,
    seed: int = 0,
    exact: bool = True,
    backend: str = "highs",
    integral: bool | None = None,
) -> AlignmentResult:
    """Solve a p-median-shaped :class:`DesignProblem` (see the module doc).

    Parameters
    ----------
    problem
        Must satisfy :func:`is_pmedian`.
    time_limit
        Seconds in all.
    seed
        Seed of the perturbations.
    exact
        Close a remaining gap with the reduced MIP.
    backend
        MIP backend for the reduced model.
    integral
        Whether every solution value is an integer (sharper optimality test);
        ``None``: detected from the cost matrix.

    Returns
    -------
    AlignmentResult
        ``method="pmedian"`` (or ``"pmedian+mip/highs"`` when the MIP ran);
        ``status`` ``"optimal"`` (bound met), ``"time_limit"`` (with a
        ``TimeLimitWarning``: the limit stopped the search or the reduced
        MIP), or ``"feasible"``: unproven with time left, because the reduced
        MIP was too large for the time left or ``exact=False`` (the reason in
        ``info["unproven"]``).  With ``integral`` costs an optimal answer's
        bound is rounded up to the objective.  When the plan found puts a
        unit at a center it may not use (``allowed``), the exact MIP of
        :func:`terrakit.design.mip.solve_mip` decides instead.

    Raises
    ------
    SpecificationError
        From :meth:`DesignProblem.check`, e.g. units locked to more distinct
        centers than ``n_territories``.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    problem.check()
    rng = np.random.default_rng(seed)
    c = _cost(problem)
    n = c.shape[0]
    k = problem.n_territories
    if integral is None:
        integral = bool(np.all(np.asarray(problem.cost) == np.round(problem.cost)))
    # at most k of them: DesignProblem.check refuses more
    forced = np.unique(np.fromiter(problem.locked.values(), dtype=np.int64))
    # 1. upper bound: greedy + interchange, then perturb and repeat; a
    # greedy start that is not done at 60 % of the limit completes cheaply
    # (k passes over n × m: 21 s for 4,000 units and 300 centers)
    h_budget = t0 + 0.45 * time_limit
    best_open, best_val = interchange(
        c,
        greedy(c, k, forced, deadline=t0 + 0.6 * time_limit, rng=rng),
        forced=forced,
        deadline=h_budget,
    )
    restarts = 0

    def tol(v: float) -> float:
        return 1.0 - 1e-9 if integral else 1e-7 * max(1.0, abs(v))

    # the bound's first share of the time comes after the start (a greedy and
    # interchange that ran long leave it at least a tenth of the limit)
    lag_deadline = min(
        max(t0 + 0.25 * time_limit, time.perf_counter() + 0.1 * time_limit), deadline
    )
    lb, u = lagrangian(c, k, best_val, deadline=lag_deadline)
    mip_next = False
    # a small reduced MIP closes the gap faster than more perturbations, but
    # only when it will run: it needs MIP_RESERVE seconds left (with less,
    # the perturbations are the only search left)
    if (
        exact
        and best_val - lb >= tol(best_val)
        and time.perf_counter() < deadline - MIP_RESERVE - 0.1
    ):
        thr0 = best_val - (1.0 if integral else 0.0) + (1e-9 if integral else 1e-7)
        if int(_reduced(c, k, u, thr0)[1].sum()) <= SMALL_REDUCED_PAIRS:
            h_budget = time.perf_counter()
            mip_next = True
    # candidates a perturbation may open: closed ones that are not barred
    openable = np.flatnonzero(~_barred(problem))
    while time.perf_counter() < h_budget and best_val - lb >= tol(best_val):
        cand = best_open.copy()
        free = np.flatnonzero(~np.isin(cand, forced))
        pool = np.setdiff1d(openable, cand)
        if free.size == 0 or pool.size == 0:
            break  # nothing to swap out, or nothing closed to swap in
        q = int(rng.integers(1, max(2, k // 5) + 1))
        q = max(1, min(free.size, pool.size, q))
        out_pos = rng.choice(free, size=q, replace=False)
        cand[out_pos] = rng.choice(pool, size=q, replace=False)
        cand, val = interchange(c, cand, forced=forced, deadline=h_budget)
        restarts += 1
        if val < best_val - 1e-9:
            best_open, best_val = np.sort(cand), val
    if best_val - lb >= tol(best_val) and not mip_next:
        # (with mip_next the incumbent is unchanged: the MIP runs at once)
        lb2, u2 = lagrangian(c, k, best_val, deadline=t0 + 0.6 * time_limit)
        if lb2 > lb:
            lb, u = lb2, u2
    status: Status = "optimal" if best_val - lb < tol(best_val) else "feasible"
    method = "pmedian"
    info: dict[str, Any] = {"restarts": restarts, "lagrangian_bound": lb}
    _, i1, _ = _two_nearest(c, best_open)
    cols = best_open[i1]
    if problem.center_units is not None:
        # a median serves its own unit: of tied nearest medians (duplicate
        # points, zero-cost edges) its own, at no cost
        cu = np.asarray(problem.center_units)[best_open]
        own = c[cu, best_open] <= c[cu, cols[cu]]
        cols[cu[own]] = best_open[own]
    keep_j = keep_pairs = None
    if status != "optimal" and exact and time.perf_counter() < deadline - MIP_RESERVE:
        # every solution better than the incumbent survives the fixing; the
        # incumbent's own pairs are added back so the reduced MIP is feasible
        thr = best_val - (1.0 if integral else 0.0) + (1e-9 if integral else 1e-7)
        keep_j, keep_pairs, _ = _reduced(c, k, u, thr)
        keep_j &= ~_barred(problem)
        keep_pairs[np.arange(n), cols] = True
        keep_j[best_open] = True
        info["reduced_candidates"] = int(keep_j.sum())
        info["reduced_pairs"] = int(keep_pairs.sum())
        left = deadline - time.perf_counter()
        if keep_pairs.sum() > min(MAX_REDUCED_PAIRS, PAIRS_PER_SECOND * left):
            # too big to close in the time left: its root LP alone would run
            # past the deadline; keep the heuristic answer and the
            # Lagrangian bound
            info["mip_skipped"] = "reduced model too large for the time left"
            keep_j = keep_pairs = None
    if keep_j is not None and keep_pairs is not None:
        from terrakit.design._model import solve_model
        from terrakit.design.mip import _decode, _start_values, build_model

        js = np.flatnonzero(keep_j)
        sub = problem.replace(
            cost=np.asarray(problem.cost)[:, js],
            allowed=keep_pairs[:, js],
            center_units=None
            if problem.center_units is None
            else np.asarray(problem.center_units)[js],
            center_ids=tuple(np.asarray(problem.center_ids, dtype=object)[js]),
            territory_ids=None,
            locked={i: int(np.searchsorted(js, j)) for i, j in problem.locked.items()},
        )
        start = np.searchsorted(js, cols)
        layout = build_model(sub)
        # HiGHS' MIP presolve (probing on tens of thousands of binaries) does
        # not look at the clock: on the large reduced models it alone ran
        # 40-70 s past a 30 s budget.  The Lagrangian fixing has already
        # reduced the model, so presolve is switched off there.
        big_model = int(keep_pairs.sum()) > PRESOLVE_OFF_PAIRS
        out = solve_model(
            layout.model,
            backend=backend,
            time_limit=max(deadline - time.perf_counter() - 0.5, 0.05),
            mip_gap=1e-9,
            seed=seed,
            start=_start_values(layout, sub, start),
            options={"presolve": "off"} if big_model and backend == "highs" else None,
        )
        method = f"pmedian+mip/{backend}"
        info["mip_presolve"] = "off" if big_model else "on"
        if out.values is not None:
            sub_cols = js[_decode(layout, out.values, n)]
            v = problem.evaluate(sub_cols)
            if v <= best_val + 1e-9:
                cols, best_val = sub_cols, v
        # the reduced MIP's bound is valid for solutions ≤ the incumbent only
        if out.status == "optimal":
            lb = max(lb, best_val)
            status = "optimal"
        else:
            if math.isfinite(out.bound):
                lb = max(lb, min(out.bound, best_val))
            status = "time_limit"
        info["mip_status"] = out.status
    if status != "optimal" and best_val - lb < tol(best_val):
        status = "optimal"
    if problem.allowed is not None and not np.all(
        np.asarray(problem.allowed)[np.arange(n), cols]
    ):
        # no k centers found within every unit's maximum distance: the exact
        # MIP decides (it finds them or proves there are none)
        from terrakit.design.mip import solve_mip

        return solve_mip(
            problem,
            time_limit=max(deadline - time.perf_counter(), 1.0),
            seed=seed,
            backend=backend,
            check=False,
        )
    if status == "optimal" and integral:
        # proven through integrality (best - bound < 1, every plan's value an
        # integer): the bound is ceil(bound)
        lb = max(lb, float(math.ceil(lb - 1e-9)))
    elapsed = time.perf_counter() - t0
    mip_stopped = info.get("mip_status", "optimal") != "optimal"
    if status != "optimal" and (mip_stopped or elapsed >= TIME_USED_SHARE * time_limit):
        # the clock stopped the reduced MIP or the search
        status = "time_limit"
        warnings.warn(
            f"p-median search stopped at its {time_limit:g}-s limit ({elapsed:.1f} s) "
            f"without proving optimality: best {best_val:.6g}, bound {lb:.6g}",
            TimeLimitWarning,
            stacklevel=2,
        )
    elif status != "optimal":
        # ended with time left, unproven: the reduced MIP did not run; more
        # time may prove it
        why = info.get("mip_skipped") or (
            "exact=False (no reduced MIP)"
            if not exact
            else f"under {MIP_RESERVE:g} s were left for the reduced MIP"
        )
        status = "feasible"
        info["unproven"] = (
            f"ended after {elapsed:.1f} of {time_limit:g} s without a proof: {why}"
        )
    return AlignmentResult.from_columns(
        problem,
        cols,
        status=status,
        lower_bound=lb,
        method=method,
        seconds=time.perf_counter() - t0,
        seed=seed,
        config={"time_limit": time_limit, "exact": exact},
        info=info,
    )

"""The CP-SAT backend: whole-number coefficients, answers true for the real ones."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from terrakit.design import _model
from terrakit.design.align import solve
from terrakit.design.problem import DesignProblem
from terrakit.exceptions import InfeasibleError, TimeLimitWarning


def _enumerated_optimum(cost: np.ndarray, act: np.ndarray, tol: float) -> float:
    """The least cost of any assignment (no contiguity) whose territories all
    hold ``act`` within ``±tol`` of the mean: every assignment enumerated."""
    n, k = cost.shape
    plans = np.array(list(itertools.product(range(k), repeat=n)))
    sums = np.stack([(act * (plans == t)).sum(1) for t in range(k)], 1)
    lo, hi = (1 - tol) * act.sum() / k, (1 + tol) * act.sum() / k
    ok = ((sums >= lo - 1e-9) & (sums <= hi + 1e-9)).all(1)
    return float(cost[np.arange(n), plans[ok]].sum(1).min())


def _workload(cost: np.ndarray, w: np.ndarray, tol: float) -> DesignProblem:
    return DesignProblem.from_cost_matrix(
        cost, {"workload": w}, tolerance={"workload": tol}
    )


def _remote_unit(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Nine units: eight within 3 km of two centers and one 400 km away with
    its own center (half the others' workload).  Costs ``w · km²`` run from
    under 1 to about 10⁷: a scale tied to the largest cost rounded the others
    to whole units."""
    rng = np.random.default_rng(seed)
    xy = np.vstack([rng.uniform(0, 3, (8, 2)), [[400.0, 0.0]]])
    w = rng.uniform(1, 15, 9)
    w[8] = w[:8].sum() / 2
    d2 = ((xy[:, None, :] - xy[[0, 1, 8]][None, :, :]) ** 2).sum(-1)
    return w[:, None] * d2, w


@pytest.mark.parametrize("seed", [2, 6, 8])
def test_optimal_is_within_mip_gap_of_the_enumerated_optimum(seed):
    """CP-SAT said "optimal" with a gap of up to 1.1 % (> mip_gap 1e-4): the
    bound was CP-SAT's on costs rounded to whole units."""
    cost, w = _remote_unit(seed)
    best = _enumerated_optimum(cost, w, 0.2)
    p = DesignProblem.from_cost_matrix(
        cost, {"workload": w}, tolerance={"workload": 0.2}
    )
    res = solve(p, solver="mip", backend="cpsat", time_limit=20)
    assert res.status == "optimal"
    assert res.gap <= 1e-4
    assert res.objective <= best * (1 + 1e-4)
    assert res.lower_bound <= best * (1 + 1e-12)


def test_small_costs_beside_a_large_one_keep_their_order():
    """One cost of 2·10⁶ rounded 0.61 and 0.82 (the two ways to fill C1) to
    1 each: CP-SAT returned the 0.82 plan as "optimal", bound 0, gap 100 %."""
    cost = np.array(
        [[0.0, 2.0e6], [0.61234567, 0.0], [0.41234567, 0.0], [0.41234567, 0.0], [5, 0]]
    )
    act = np.array([4.0, 2.0, 1.0, 1.0, 4.0])  # C1 holds exactly 6: {0,1} or {0,2,3}
    best = _enumerated_optimum(cost, act, 0.0)
    assert best == pytest.approx(0.61234567)
    p = DesignProblem.from_cost_matrix(
        cost, {"workload": act}, tolerance={"workload": 0}
    )
    res = solve(p, solver="mip", backend="cpsat", time_limit=10)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best, rel=1e-12)
    assert best * (1 - 1e-4) <= res.lower_bound <= best * (1 + 1e-12)


def test_coarse_rounding_gives_a_valid_bound_and_no_false_optimal(monkeypatch):
    """With coefficients forced coarse (a cap of 10⁶ on the activity) CP-SAT
    proves the rounded problem, not the real one: the bound is lowered by the
    rounding (still at most the enumerated optimum) and the status is not
    "optimal" while the gap on the real costs exceeds mip_gap."""
    monkeypatch.setattr(_model, "_CPSAT_MAX_ACTIVITY", 1e6)
    cost, w = _remote_unit(6)
    best = _enumerated_optimum(cost, w, 0.2)
    p = DesignProblem.from_cost_matrix(
        cost, {"workload": w}, tolerance={"workload": 0.2}
    )
    with pytest.warns(TimeLimitWarning) as rec:
        res = solve(p, solver="mip", backend="cpsat", time_limit=20)
    # the warning gives the real reason, not "stopped at the time limit"
    assert str(rec[0].message).startswith(
        "cpsat proved no optimum within mip_gap: optimal on the "
        "rounded costs, but the rounding leaves a gap of"
    ), str(rec[0].message)
    assert res.lower_bound <= best
    assert res.info["cost_rounding"] > 0
    assert res.status == "time_limit" and res.gap > 1e-4
    assert "optimal on the rounded costs" in res.info["cpsat_note"]


#: the sales of three units (cents): {u1, u2} and {u3} split them nearly evenly
_A = 100000.6
_C = round(2 * (2 * _A + 0.1) / (1 + 0.001234567) - 2 * _A, 1)


def _cents(tau: float) -> DesignProblem:
    """Three units of sales with cents and two centers; the only plan in a
    ±``tau`` band (``tau`` near 0.12 %, limits with many decimals) is
    {u1, u2} | {u3}."""
    cost = np.array([[0.0, 4.0], [1.0, 1.0], [4.0, 0.0]])
    return DesignProblem.from_cost_matrix(
        cost, {"sales": np.array([_A, _A, _C])}, tolerance={"sales": tau}
    )


def test_band_limits_with_many_decimals_do_not_cut_off_the_plan():
    """CP-SAT raised InfeasibleError: the band row was scaled to six digits
    of its largest number, 100000.6 became 100001 and floor(hi) cut off the
    only plan (HiGHS and CBC find it)."""
    p = _cents(0.001234567)
    hi = (2 * _A + _C) / 2 * (1 + 0.001234567)
    assert 0.1 < hi - 2 * _A < 0.12  # {u1, u2} is 0.11 under the upper limit
    res = solve(p, solver="mip", backend="cpsat", time_limit=10)
    assert res.status == "optimal" and not res.info.get("violations")
    assert res.alignment.assignment.tolist() == ["C1", "C1", "C2"]
    assert res.objective == pytest.approx(1.0)


def test_a_plan_just_outside_the_band_is_still_proved_infeasible():
    """The limits are widened by the rounding only (about 1e-11 of the row):
    a band that the only plan misses by a tenth of a cent (5e-9 of it)
    stays infeasible."""
    tau = (2 * _A - 0.001) * 2 / (2 * _A + _C) - 1  # {u1, u2} 0.001 over
    assert (2 * _A + _C) / 2 * (1 + tau) - 2 * _A == pytest.approx(-0.001, abs=1e-6)
    p = _cents(tau)
    with pytest.raises(InfeasibleError, match=r"infeasible \(cpsat\)"):
        solve(p, solver="mip", backend="cpsat", time_limit=10, diagnose=False)


def test_a_fixed_seed_runs_one_deterministic_worker(monkeypatch):
    """CP-SAT ran a parallel portfolio of 2 workers (num_workers = threads or
    2), whose answer changes from run to run for one seed; without threads it
    now runs one worker (deterministic), with threads=n a portfolio of n."""
    from ortools.sat.python import cp_model

    seen: list[int] = []

    class Recording(cp_model.CpSolver):  # type: ignore[misc]
        def solve(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(int(self.parameters.num_workers))
            return super().solve(*args, **kwargs)

    monkeypatch.setattr(cp_model, "CpSolver", Recording)
    cost, w = _remote_unit(3)
    p = DesignProblem.from_cost_matrix(
        cost, {"workload": w}, tolerance={"workload": 0.2}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = [
            solve(p, solver="mip", backend="cpsat", time_limit=10, seed=4)
            for _ in range(2)
        ]
        solve(p, solver="mip", backend="cpsat", time_limit=10, seed=4, threads=2)
    assert seen == [1, 1, 2]
    assert np.array_equal(runs[0].columns, runs[1].columns)


def _lognormal_band(seed: int, n: int, draws: bool) -> DesignProblem:
    """Three fixed centers and a band on an activity that is no short
    decimal (lognormal), or a balance on draws: rows CP-SAT scales up to
    coefficients of about 1e15."""
    rng = np.random.default_rng(seed)
    k = 3
    coords = rng.uniform(0, 10, (n, 2))
    cu = rng.choice(n, k, replace=False)
    cost = np.round(np.sqrt(((coords[:, None] - coords[cu][None]) ** 2).sum(-1)), 2)
    if not draws:
        w = rng.lognormal(0, 0.7, n)
        tol = float(rng.choice([0.1, 0.2, 0.4]))
        return DesignProblem(
            unit_ids=np.arange(n),
            activities={"w": w},
            tolerance={"w": tol},
            n_territories=k,
            cost=cost,
            center_units=cu,
        )
    w = np.round(rng.uniform(1, 5, n), 1)
    return DesignProblem(
        unit_ids=np.arange(n),
        activities={"w": w},
        tolerance={"w": 0.4},
        n_territories=k,
        cost=cost,
        center_units=cu,
        draws=w[:, None] * rng.gamma(5, 1 / 5, (n, 10)),
        draws_tolerance=0.4,
        draws_share=0.7,
    )


def _brute_optimum(p: DesignProblem) -> float:
    best = np.inf
    for cols in itertools.product(range(p.n_centers), repeat=p.n_units):
        c = np.array(cols)
        if not p.violations(c):
            best = min(best, p.evaluate(c))
    return float(best)


@pytest.mark.parametrize(("seed", "n", "draws"), [(158, 6, False), (3, 8, True)])
def test_large_coefficients_give_the_true_optimum(seed, n, draws):
    """Rows scaled to coefficients of about 1e15 made CP-SAT's presolve cut
    off feasible plans: a false InfeasibleError (6 units, optimum 14.97) and
    "optimal" at 33.79 with bound 33.79 (8 units, optimum 17.35).  Such
    models run without presolve."""
    p = _lognormal_band(seed, n, draws)
    opt = _brute_optimum(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = solve(p, solver="mip", backend="cpsat", time_limit=10)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(opt, abs=1e-9)
    assert res.lower_bound <= opt + 1e-9
    assert res.info.get("cpsat_presolve") is False


@pytest.mark.parametrize("backend", ["cpsat", "highs"])
def test_seed_past_31_bits_is_mapped_for_every_backend(backend):
    """Seeds 2**31..2**32-1 crashed CP-SAT (bare TypeError) and were replaced
    by 0 in HiGHS without a word: every backend gets ``seed % (2**31 - 1)``,
    recorded in ``info["backend_seed"]``."""
    assert _model.backend_seed(2**31 + 5) == 6
    assert _model.backend_seed(2**32 - 1) == 1
    assert _model.backend_seed(12) == 12
    rng = np.random.default_rng(5)
    cost = np.round(rng.uniform(0, 10, (8, 2)), 2)
    p = _workload(cost, np.ones(8), 0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        big = solve(p, solver="mip", backend=backend, seed=2**31 + 5)
        small = solve(p, solver="mip", backend=backend, seed=6)
    assert big.info["backend_seed"] == 6
    assert "backend_seed" not in small.info
    assert big.objective == pytest.approx(small.objective)
    assert list(big.columns) == list(small.columns)

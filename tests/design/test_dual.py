"""Tests of the large-scale balanced assignment by smoothed dual ascent
(terrakit.design._dual) and its use by the heuristic for fixed centers."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from terrakit.design import _core
from terrakit.design._assign import solve_assignment_lp
from terrakit.design._dual import dual_assignment, exact_dual_value
from terrakit.design.heuristic import solve_heuristic
from terrakit.design.problem import DesignProblem
from terrakit.exceptions import TimeLimitWarning

from .conftest import grid_adjacency, grid_xy


def _instance(seed: int, n: int = 400, k: int = 6) -> tuple:
    """Random points in the unit square, ``k`` homes among them (locked),
    cost = workload × squared distance, two activities with ±5 % bands."""
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2))
    homes = rng.choice(n, size=k, replace=False)
    work = rng.integers(5, 15, size=n).astype(float)
    pot = rng.integers(1, 10, size=n).astype(float)
    act = np.column_stack([work, pot])
    cost = work[:, None] * ((xy[:, None, :] - xy[homes][None, :, :]) ** 2).sum(-1)
    mean = act.sum(axis=0) / k
    lower = np.tile(0.95 * mean, (k, 1))
    upper = np.tile(1.05 * mean, (k, 1))
    locked = np.full(n, -1)
    locked[homes] = np.arange(k)
    return cost, act, lower, upper, locked


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dual_bound_is_valid_and_reaches_the_lp_optimum(seed: int) -> None:
    """The exact Lagrangian value at the ascent's multipliers is a lower
    bound (at most the LP optimum, which HiGHS solves exactly) and within
    0.1 % of it; the value at arbitrary multipliers is a bound too; the
    labels miss each band by at most ``k·m`` units' activity."""
    cost, act, lower, upper, locked = _instance(seed)
    lp = solve_assignment_lp(cost, act, lower, upper, q=6, locked=locked)
    assert lp.status == "optimal"
    out = dual_assignment(cost, act, lower, upper, locked=locked)
    assert out.status == "dual"
    bound, labels = exact_dual_value(cost, act, lower, upper, out.duals, locked)
    assert bound == pytest.approx(out.bound, rel=1e-12)
    assert bound <= lp.objective + 1e-9 * abs(lp.objective)
    assert bound >= lp.objective * (1 - 1e-3)
    # the labels: the balanced rounding, off the bands by at most the
    # k·m split units of a basic solution
    del labels
    sums = np.zeros((6, 2))
    np.add.at(sums, out.labels, act)
    slack = 6 * 2 * act.max(axis=0)
    assert np.all(sums >= lower - slack) and np.all(sums <= upper + slack)
    assert out.objective >= bound - 1e-9 * abs(bound)
    assert np.array_equal(out.labels[locked >= 0], locked[locked >= 0])
    rng = np.random.default_rng(seed)
    for _ in range(5):
        y = rng.normal(scale=np.abs(out.duals).max() + 1.0, size=out.duals.shape)
        assert exact_dual_value(cost, act, lower, upper, y, locked)[0] <= (
            lp.objective + 1e-9 * abs(lp.objective)
        )


def test_dual_stops_at_its_deadline() -> None:
    """A deadline already past: only the start ``y = 0`` is evaluated —
    each unit in its cheapest territory (locked units in theirs), the bound
    the plain sum of those costs."""
    cost, act, lower, upper, locked = _instance(0)
    t0 = time.perf_counter()
    out = dual_assignment(
        cost, act, lower, upper, locked=locked, deadline=time.perf_counter() - 1.0
    )
    assert time.perf_counter() - t0 < 5.0
    assert np.all(out.duals == 0.0)
    want = np.argmin(cost, axis=1)
    want[locked >= 0] = locked[locked >= 0]
    assert np.array_equal(out.labels, want)
    assert out.bound == pytest.approx(cost[np.arange(len(want)), want].sum())


def _grid_problem(seed: int) -> DesignProblem:
    """12×12 grid, random workloads, 4 rep homes near the corners, ±5 %."""
    rng = np.random.default_rng(seed)
    nx = ny = 12
    xy = grid_xy(nx, ny)
    work = rng.integers(5, 15, size=nx * ny).astype(float)
    homes = np.array([13, 22, 121, 130])
    cost = work[:, None] * ((xy[:, None, :] - xy[homes][None, :, :]) ** 2).sum(-1)
    return DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(nx * ny)]),
        activities={"workload": work},
        tolerance={"workload": 0.05},
        n_territories=4,
        cost=cost,
        center_units=homes,
        center_ids=("R1", "R2", "R3", "R4"),
        adjacency=grid_adjacency(nx, ny),
        contiguity=True,
        name=f"grid12_{seed}",
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_heuristic_large_path_is_feasible_with_a_valid_bound(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the size threshold lowered, the heuristic balances by the dual
    ascent instead of the LP (the note says so): the answer meets every band,
    is contiguous with each home in its territory, and its bound is at most
    its objective and at most the bound of the exact LP path."""
    problem = _grid_problem(seed)
    exact = solve_heuristic(problem, time_limit=20, seed=seed)
    monkeypatch.setattr(_core, "DUAL_MIN_PAIRS", 0)
    res = solve_heuristic(problem, time_limit=20, seed=seed)
    assert any("dual ascent" in note for note in res.info["notes"])
    assert not problem.violations(np.asarray(res.columns))
    assert res.status in ("feasible", "optimal")
    assert res.lower_bound <= res.objective + 1e-9
    assert res.lower_bound <= exact.lower_bound * (1 + 1e-9)
    assert res.lower_bound >= 0.99 * exact.lower_bound
    cols = np.asarray(res.columns)
    assert np.array_equal(cols[problem.center_units], np.arange(4))


def test_heuristic_large_path_keeps_a_tiny_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dual path with a 0.2 s limit: an answer for every unit comes back
    within the limit plus a small start-up slack, and the status is
    ``time_limit`` exactly when a ``TimeLimitWarning`` was given."""
    problem = _grid_problem(2)
    monkeypatch.setattr(_core, "DUAL_MIN_PAIRS", 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        res = solve_heuristic(problem, time_limit=0.2, seed=0)
        wall = time.perf_counter() - t0
    assert wall < 0.2 + 5.0
    cols = np.asarray(res.columns)
    assert cols.shape == (problem.n_units,) and cols.min() >= 0
    warned = any(issubclass(w.category, TimeLimitWarning) for w in caught)
    assert (res.status == "time_limit") == warned


@pytest.mark.parametrize("max_iter", [None, 5_000])
def test_heuristic_large_path_with_max_iter_is_not_cut_to_a_share(
    max_iter: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``max_iter`` the dual ascent stops at its share of the time
    (0.4 of the LP's 0.6 of the limit); with ``max_iter`` its iteration
    budget decides and the run's deadline is only a safety net, so the
    answer does not follow the time limit.  The ascent used to get the share
    in both cases."""
    import terrakit.design._dual as dual_mod

    problem = _grid_problem(0)
    monkeypatch.setattr(_core, "DUAL_MIN_PAIRS", 0)
    given: list[float] = []
    real = dual_mod.dual_assignment

    def spy(*args, deadline, **kw):
        given.append(deadline - time.perf_counter())
        return real(*args, deadline=deadline, **kw)

    monkeypatch.setattr(dual_mod, "dual_assignment", spy)
    res = solve_heuristic(problem, time_limit=20, seed=0, max_iter=max_iter)
    assert len(given) == 1
    if max_iter is None:
        assert given[0] <= 0.4 * 0.6 * 20 + 1e-6
    else:
        assert given[0] > 0.9 * 20 - 3  # all the time left, less the set-up
    assert not problem.violations(np.asarray(res.columns))

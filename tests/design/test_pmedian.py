"""The p-median and capacitated p-median engines agree with the plain MIP."""

from __future__ import annotations

import numpy as np
import pytest

from terrakit.design import choose_solver, solve
from terrakit.design.capacitated import is_capacitated_pmedian, solve_capacitated
from terrakit.design.mip import solve_mip
from terrakit.design.pmedian import is_pmedian, solve_pmedian
from terrakit.design.problem import DesignProblem


def _random_instance(
    n: int, k: int, seed: int, capacity: float | None = None
) -> DesignProblem:
    """``n`` random points in a 100 × 100 square, truncated integer distances."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    d = np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)))
    dem = rng.integers(1, 10, size=n).astype(float)
    upper = {} if capacity is None else {"demand": np.full(k, capacity)}
    return DesignProblem(
        unit_ids=np.arange(1, n + 1),
        activities={"demand": dem},
        n_territories=k,
        cost=d,
        center_mode="choose",
        center_units=np.arange(n),
        upper=upper,
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_pmedian_matches_mip(seed):
    p = _random_instance(30, 4, seed)
    assert is_pmedian(p) and choose_solver(p, 10) == "pmedian"
    fast = solve_pmedian(p, time_limit=10, seed=seed)
    exact = solve_mip(p, time_limit=30)
    assert fast.status == "optimal" and exact.status == "optimal"
    assert fast.objective == pytest.approx(exact.objective)
    assert fast.lower_bound <= fast.objective + 1e-9


def test_capacitated_matches_mip():
    p = _random_instance(25, 3, 5, capacity=50.0)
    assert is_capacitated_pmedian(p) and choose_solver(p, 10) == "capacitated"
    res = solve_capacitated(p, time_limit=10)
    exact = solve_mip(p, time_limit=30, mip_gap=1e-9)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(exact.objective)
    assert p.violations(res.columns) == []


def test_solve_dispatch_names_the_method():
    p = _random_instance(20, 3, 2)
    assert solve(p, time_limit=5).method.startswith("pmedian")
    assert solve(p, solver="mip", backend="cbc", time_limit=20).method == "mip/cbc"

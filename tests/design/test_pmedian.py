"""The p-median and capacitated p-median engines agree with the plain MIP."""

from __future__ import annotations

import math

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


@pytest.fixture
def euclid100_k10() -> DesignProblem:
    """100 random points (seed 2), real Euclidean distances, k = 10: the
    Lagrangian bound stays a little below the best interchange answer, so the
    reduced MIP is needed to prove optimality."""
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 100, size=(100, 2))
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    return DesignProblem(
        unit_ids=np.arange(100),
        activities={"demand": np.ones(100)},
        n_territories=10,
        cost=d,
        center_mode="choose",
        center_units=np.arange(100),
    )


def test_reduced_mip_closes_the_gap(euclid100_k10: DesignProblem) -> None:
    res = solve_pmedian(euclid100_k10, time_limit=20, seed=0)
    assert res.status == "optimal"
    assert res.method == "pmedian+mip/highs"
    assert res.lower_bound == pytest.approx(res.objective)


def test_reduced_mip_skipped_when_it_cannot_finish(
    euclid100_k10: DesignProblem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No time for the reduced MIP: the interchange answer comes back with the
    Lagrangian bound within the budget.  It ends with time left, so it is
    'feasible' with the reason, not 'time_limit' with a warning that the
    whole limit was used (it said so after 5 of 10 s on pmed16)."""
    import warnings

    import terrakit.design.pmedian as pm

    monkeypatch.setattr(pm, "PAIRS_PER_SECOND", 0)
    monkeypatch.setattr(pm, "SMALL_REDUCED_PAIRS", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pm.TimeLimitWarning)
        res = solve_pmedian(euclid100_k10, time_limit=4, seed=0)
    assert res.status == "feasible" and res.method == "pmedian"
    assert res.seconds < 0.95 * 4
    assert res.info["mip_skipped"]
    assert res.info["unproven"].endswith(res.info["mip_skipped"])
    assert res.lower_bound == pytest.approx(res.info["lagrangian_bound"])
    assert res.lower_bound < res.objective


def test_reduced_mip_stopped_by_the_clock_warns(
    euclid100_k10: DesignProblem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reduced MIP stopped at the limit: status 'time_limit' with a
    TimeLimitWarning giving the seconds used (it came back silent)."""
    import dataclasses

    import terrakit.design._model as model
    import terrakit.design.pmedian as pm

    real = model.solve_model

    def stopped(*args, **kw):
        # the MIP stops at its time limit, unproven, at its start
        out = real(*args, **kw)
        return dataclasses.replace(out, status="time_limit", bound=-math.inf)

    monkeypatch.setattr(model, "solve_model", stopped)
    monkeypatch.setattr(pm, "SMALL_REDUCED_PAIRS", 0)
    with pytest.warns(pm.TimeLimitWarning, match=r"stopped at its 10-s limit"):
        res = solve_pmedian(euclid100_k10, time_limit=10, seed=0)
    assert res.status == "time_limit" and res.info["mip_status"] == "time_limit"
    assert res.lower_bound < res.objective

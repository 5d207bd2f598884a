"""2-opt / Or-opt tour improvement (terrakit.routing.tsp) and the TSP path."""

from __future__ import annotations

import numpy as np
import pytest

from terrakit.routing.tsp import improve, is_symmetric, polish, tour_cost
from terrakit.routing.vrp import RoutingProblem, solve_routing


def grid(rows: int, cols: int) -> np.ndarray:
    """Unit grid, rows × cols points (even count): optimal tour = rows · cols.

    Points on grid lines are where a search without 2-opt stalls (TSPLIB
    pr264 is of this kind).
    """
    xy = np.array([(i, j) for i in range(rows) for j in range(cols)], dtype=float)
    return np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))


def circle(n: int) -> tuple[np.ndarray, float]:
    """``n`` points on the unit circle: optimal tour = the polygon's perimeter."""
    a = 2 * np.pi * np.arange(n) / n
    xy = np.c_[np.cos(a), np.sin(a)]
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return d, n * 2 * np.sin(np.pi / n)


def test_polish_untangles_a_shuffled_circle() -> None:
    """2-opt + Or-opt reach the perimeter from a random order (no local optimum
    other than the polygon exists for points in convex position under 2-opt)."""
    d, opt = circle(40)
    rng = np.random.default_rng(0)
    start = np.r_[0, rng.permutation(np.arange(1, 40))]
    t = polish(d, start)
    assert sorted(t.tolist()) == list(range(40))
    assert t[0] == 0
    assert tour_cost(d, t) == pytest.approx(opt)


def test_improve_reaches_the_grid_optimum() -> None:
    d = grid(6, 8)
    rng = np.random.default_rng(1)
    start = np.r_[0, rng.permutation(np.arange(1, 48))]
    t = improve(d, start, time_limit=5, seed=0, max_kicks=3000)
    assert sorted(t.tolist()) == list(range(48))
    assert tour_cost(d, t) == pytest.approx(48.0)


def test_improve_deterministic_with_kick_limit() -> None:
    d = grid(5, 6)
    start = np.arange(30)[::-1].copy()
    a = improve(d, start, time_limit=30, seed=3, max_kicks=200)
    b = improve(d, start, time_limit=30, seed=3, max_kicks=200)
    assert a.tolist() == b.tolist()
    assert a[0] == 29  # keeps the first node of the given tour


def test_symmetry_check() -> None:
    d = grid(2, 3)
    assert is_symmetric(d)
    d2 = d.copy()
    d2[0, 1] += 1
    assert not is_symmetric(d2)


def test_pyvrp_backend_on_grid_tsp() -> None:
    """A 10 × 10 grid TSP through the router: optimum 100 (PyVRP alone, whose
    search has no intra-route 2-opt, stops above it)."""
    prob = RoutingProblem(duration=grid(10, 10))
    sol = solve_routing(
        prob, backend="pyvrp", time_limit=10, seed=0, max_iterations=3000
    )
    assert sol.feasible
    assert sol.cost == pytest.approx(100.0)

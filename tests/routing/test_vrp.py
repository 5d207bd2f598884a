"""The routing interface: exact checker and both backends on tiny instances."""

from __future__ import annotations

import numpy as np
import pytest

from terrakit.routing.vrp import RoutingProblem, evaluate_routes, solve_routing

BACKENDS = ["pyvrp", "ortools"]


def square() -> RoutingProblem:
    """Depot and 3 customers on the corners of a unit square: optimal tour = 4."""
    xy = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return RoutingProblem(duration=d)


def test_evaluate_routes_cost_and_violations() -> None:
    """Hand-computed cost, and a window violation is named."""
    p = square()
    chk = evaluate_routes(p, [[1, 2, 3]])
    assert chk.cost == pytest.approx(4.0)
    assert chk.feasible
    crossing = evaluate_routes(p, [[2, 1, 3]])
    assert crossing.cost == pytest.approx(2 + 2 * np.sqrt(2))
    tw = RoutingProblem(duration=p.duration, late=np.array([10, 10, 0.5, 10]))
    bad = evaluate_routes(tw, [[1, 2, 3]])
    assert not bad.feasible
    assert "starts node 2" in bad.violations[0]
    missing = evaluate_routes(p, [[1, 2]])
    assert any("required nodes not visited" in v for v in missing.violations)


def test_departure_delayed_to_avoid_waiting() -> None:
    """Leaving home late removes the wait before a window that opens later."""
    p = square()
    tw = RoutingProblem(duration=p.duration, early=np.array([0, 5, 0, 0]))
    chk = evaluate_routes(tw, [[1, 2, 3]])
    assert chk.depart[0] == pytest.approx(4.0)
    assert chk.start[0][0] == pytest.approx(5.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_square_optimum(backend: str) -> None:
    sol = solve_routing(
        square(), backend=backend, time_limit=1, seed=0, max_iterations=200
    )
    assert sol.feasible
    assert sol.cost == pytest.approx(4.0)
    assert sorted(v for r in sol.routes for v in r) == [1, 2, 3]


@pytest.mark.parametrize("backend", BACKENDS)
def test_time_windows_force_order_and_drop(backend: str) -> None:
    """Windows force 3 → 1; node 2 cannot be reached in time and is dropped."""
    p = square()
    prob = RoutingProblem(
        duration=p.duration,
        early=np.array([0.0, 5.0, 0.0, 0.0]),
        late=np.array([100.0, 6.0, 0.2, 2.0]),
        penalty=np.array([0.0, 1e3, 1e3, 1e3]),
    )
    sol = solve_routing(prob, backend=backend, time_limit=1, seed=0, max_iterations=300)
    assert sol.feasible
    assert sol.dropped == (2,)
    assert sol.routes == ((3, 1),)


@pytest.mark.parametrize("backend", BACKENDS)
def test_group_exactly_one(backend: str) -> None:
    """Of the group {2, 3} exactly one is visited (the cheaper detour)."""
    p = square()
    prob = RoutingProblem(duration=p.duration, groups=((2, 3),))
    sol = solve_routing(prob, backend=backend, time_limit=1, seed=0, max_iterations=200)
    visited = [v for r in sol.routes for v in r]
    assert 1 in visited
    assert len({2, 3} & set(visited)) == 1
    assert sol.feasible


def test_capacity_splits_routes() -> None:
    """Capacity 2 with 3 unit demands needs two vehicles."""
    p = square()
    prob = RoutingProblem(
        duration=p.duration, demand=np.array([0, 1, 1, 1]), capacity=2, n_vehicles=3
    )
    for backend in BACKENDS:
        sol = solve_routing(
            prob,
            backend=backend,  # type: ignore[arg-type]
            time_limit=1,
            max_iterations=200,
        )
        assert sol.feasible
        assert len(sol.routes) == 2


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown routing backend 'gurobi'"):
        solve_routing(square(), backend="gurobi")  # type: ignore[arg-type]


def test_bad_run_settings_are_refused_before_solving() -> None:
    """A negative seed or a zero time limit is a SpecificationError, not a
    traceback from inside PyVRP (the seed used to go unchecked)."""
    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError, match="unknown routing backend 'gurobi'"):
        solve_routing(square(), backend="gurobi")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="seed must be a non-negative int"):
        solve_routing(square(), seed=-1)
    with pytest.raises(SpecificationError, match="time_limit must be a positive"):
        solve_routing(square(), time_limit=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("travel", [0.0, 0.01])
def test_visit_at_the_depot_is_not_dropped(backend: str, travel: float) -> None:
    """A rep's day: an optional 30-min visit at (or 0.01 min from) home and a
    lunch group of two options.  The drop penalty used to be capped by the
    travel costs (here ~0), below what the visit adds to the day's duration
    (duration_cost=1), so both backends dropped it; OR-Tools also skipped the
    lunch group."""
    dur = np.full((4, 4), travel)
    np.fill_diagonal(dur, 0.0)
    prob = RoutingProblem(
        duration=dur,
        service=np.array([0.0, 30.0, 60.0, 60.0]),
        early=np.array([480.0, 480.0, 720.0, 720.0]),
        late=np.array([1020.0, 990.0, 720.0, 720.0]),
        penalty=np.array([0.0, 2000.0, np.inf, np.inf]),
        groups=((2, 3),),
        scale=60.0,
        duration_cost=1,
    )
    sol = solve_routing(prob, backend=backend, time_limit=1, seed=0, max_iterations=200)
    assert sol.feasible, sol.check.violations
    assert sol.dropped == ()
    visited = [v for r in sol.routes for v in r]
    assert 1 in visited and len({2, 3} & set(visited)) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_overfull_day_drops_only_what_does_not_fit(backend: str) -> None:
    """Three 200-min visits at the depot in a 480-min day: two fit, one is
    left out (the penalty exceeds any serving cost, not the day's length)."""
    prob = RoutingProblem(
        duration=np.zeros((4, 4)),
        service=np.array([0.0, 200.0, 200.0, 200.0]),
        early=np.full(4, 480.0),
        late=np.array([960.0, 760.0, 760.0, 760.0]),
        penalty=np.array([0.0, 2000.0, 2000.0, 2000.0]),
        scale=60.0,
        duration_cost=1,
    )
    sol = solve_routing(prob, backend=backend, time_limit=1, seed=0, max_iterations=200)
    assert sol.feasible
    assert len(sol.dropped) == 1
    assert sum(len(r) for r in sol.routes) == 2


def test_drop_penalty_exceeds_the_cost_of_serving() -> None:
    """The integer drop penalty given to the solvers stays above the largest
    cost of serving the node (travel in and out + duration over the day)."""
    from terrakit.routing.vrp import _int_data

    dur = np.full((3, 3), 0.5)
    np.fill_diagonal(dur, 0.0)
    prob = RoutingProblem(
        duration=dur,
        service=np.array([0.0, 30.0, 30.0]),
        early=np.full(3, 480.0),
        late=np.full(3, 1020.0),
        penalty=np.array([0.0, 1e300, 5000.0]),
        scale=60.0,
        duration_cost=1,
    )
    d = _int_data(prob)
    serve = 2 * 30 + (1020 - 480) * 60  # two legs of 0.5 min + the whole day
    assert d["penalty"][1] > serve and d["penalty"][2] == 5000 * 60
    assert d["big"][0] > d["penalty"][1:].sum() + serve


def test_negative_capacity_is_refused_before_the_solver() -> None:
    """capacity=-1 used to abort the whole process inside OR-Tools (CHECK)."""
    from terrakit.exceptions import SpecificationError

    d = np.array([[0, 5, 5], [5, 0, 5], [5, 5, 0]], float)
    for bad in (-1, 2.5, True):
        with pytest.raises(SpecificationError) as err:
            RoutingProblem(duration=d, demand=[0, 1, 1], capacity=bad)
        assert str(err.value) == (
            f"capacity must be a non-negative whole number or None, got {bad!r}"
        )
    assert RoutingProblem(duration=d, demand=[0, 0, 0], capacity=0).capacity == 0


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"service": [0, np.nan, 5, 5]},
            "service must be finite and >= 0; nodes [1] have [nan]",
        ),
        (
            {"service": [0, -5, 0, 0]},
            "service must be finite and >= 0; nodes [1] have [-5.0]",
        ),
        (
            {"early": [0, 0, -1, np.inf]},
            "early must be finite and >= 0; nodes [2, 3] have [-1.0, inf]",
        ),
        (
            {"demand": [0, np.nan, 1, 1], "capacity": 2},
            "demand must be finite and >= 0; nodes [1] have [nan]",
        ),
        (
            {"late": [100, np.nan, 1, 1]},
            "late must be a number (inf for no limit); nodes [1] are NaN",
        ),
    ],
)
def test_nan_and_negative_node_data_are_refused(kw: dict, message: str) -> None:
    """NaN / negative service, early, demand and NaN late are named by node."""
    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError) as err:
        RoutingProblem(duration=square().duration, **kw)
    assert str(err.value) == message


def test_non_finite_schedule_is_not_feasible() -> None:
    """evaluate_routes does not call a schedule with NaN start times feasible."""
    p = RoutingProblem(duration=square().duration, late=[100, 10, 10, 10])
    object.__setattr__(p, "service", np.array([0, np.nan, 5, 5]))  # bypass checks
    chk = evaluate_routes(p, [[1, 2, 3]])
    assert not chk.feasible
    assert chk.violations[0] == "route 0 starts node 2 at nan (not a finite time)"


def test_solution_records_run_settings() -> None:
    """RoutingSolution keeps seed, time limit, iterations and library versions."""
    s = solve_routing(square(), backend="ortools", seed=7, time_limit=1)
    assert (s.seed, s.time_limit, s.max_iterations) == (7, 1.0, None)
    assert "ortools" in s.versions and "numpy" in s.versions

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
    from terrakit.exceptions import TimeLimitWarning

    with pytest.warns(TimeLimitWarning, match="the ortools route search stopped"):
        s = solve_routing(square(), backend="ortools", seed=7, time_limit=1)
    assert (s.seed, s.time_limit, s.max_iterations) == (7, 1.0, None)
    assert "ortools" in s.versions and "numpy" in s.versions


def test_large_tsp_stays_near_its_time_limit_and_warns(monkeypatch) -> None:
    """A 1,000-node TSP with time_limit=1 used to take 3-6 s: PyVRP's
    exhaustive search of the start tour (no clock, ~4 s) ran first and the
    2-opt / 3-opt search got 0.005 s.  It is now skipped when it would take
    more than a share of the limit, and a TimeLimitWarning gives the numbers."""
    import re

    import terrakit.routing.vrp as vrp
    from terrakit.exceptions import TimeLimitWarning

    given: list[float] = []
    real = vrp.improve

    def spy(*a, **k):  # type: ignore[no-untyped-def]
        given.append(k["time_limit"])
        return real(*a, **k)

    monkeypatch.setattr(vrp, "improve", spy)
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1000, (1000, 2))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    with pytest.warns(TimeLimitWarning) as rec:
        sol = solve_routing(RoutingProblem(d), time_limit=1, seed=0)
    assert sol.backend == "pyvrp" and sol.feasible and sol.time_limit_reached
    assert given and given[0] > 0.5  # the tour search gets most of the time
    assert sol.seconds < 2.5
    assert len(rec) == 1
    assert re.fullmatch(
        r"the pyvrp route search stopped at its time limit: it ran \d+\.\d\d s of "
        r"time_limit=1 s; the routes are the best found in that time and may "
        r"differ from run to run \(fix: raise time_limit, or set max_iterations "
        r"to stop after a fixed number of iterations\)",
        str(rec[0].message),
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"demand": [0, 5, 20, 5], "capacity": 10, "n_vehicles": 3},
            "node 2 demand 20 > capacity 10 of a vehicle",
        ),
        (
            {"service": [0, 50, 0, 0], "late": [20, 100, 100, 100]},
            "node 1 cannot be served within the depot's hours: its service starts "
            "at 3 at the earliest and with 50 of service and 3 of travel back "
            "ends at 56 > depot late 20",
        ),
        (
            {"late": [100, 100, 100, 1]},
            "node 3 cannot be reached before its window closes: late 1 < the "
            "earliest arrival 7.07107 (depot opens at 0, the fastest way there "
            "takes 7.07107)",
        ),
        (
            {"demand": [0, 6, 6, 6], "capacity": 10, "n_vehicles": 1},
            "the required demand 18 is more than 1 vehicles x capacity 10 = 10 "
            "(at least 2 vehicles are needed)",
        ),
        (
            {"late": [100, 100, 1, 1], "groups": ((2, 3),)},
            "no node of group 0 [2, 3] can be served: node 2 cannot be reached "
            "before its window closes: late 1 < the earliest arrival 4 (depot "
            "opens at 0, the fastest way there takes 4); node 3 cannot be reached "
            "before its window closes: late 1 < the earliest arrival 7.07107 "
            "(depot opens at 0, the fastest way there takes 7.07107)",
        ),
    ],
)
def test_impossible_problem_is_explained_before_solving(
    backend: str, kw: dict, message: str
) -> None:
    """A required node that no route can serve used to reach the solvers:
    OR-Tools then listed every customer as 'dropped', PyVRP returned a route
    breaking the rule.  Now a SpecificationError names the node and numbers."""
    from terrakit.exceptions import SpecificationError

    xy = np.array([[0, 0], [3, 0], [0, 4], [5, 5]], float)
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    with pytest.raises(SpecificationError) as err:
        solve_routing(RoutingProblem(d, **kw), backend=backend, time_limit=1)
    assert str(err.value) == (
        f"the routing problem has no solution: {message} (fix: make such nodes "
        "optional with a finite penalty, widen the windows or the depot's hours, "
        "or raise capacity or n_vehicles)"
    )


def test_required_nodes_are_never_listed_as_dropped() -> None:
    """Each node fits alone but not all together: OR-Tools finds no solution.
    Only the optional node 3 is 'dropped'; the required 1 and 2 missing are a
    violation (they used to be listed in dropped, documented as optional)."""
    d = np.full((4, 4), 10.0)
    np.fill_diagonal(d, 0.0)
    prob = RoutingProblem(d, late=[100, 10, 10, 10], penalty=[0, np.inf, np.inf, 5])
    sol = solve_routing(prob, backend="ortools", time_limit=1, max_iterations=50)
    assert sol.status == "no_solution"
    assert sol.dropped == (3,)
    assert sol.check.violations == ("2 required nodes not visited: [1, 2]",)


_D3 = np.array([[0, 50, 1], [50, 0, 50], [1, 50, 0.0]])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"scale": 0},
            "scale must be a positive finite number (the multiplier applied before "
            "rounding to the solvers' integers, e.g. 1000), got 0",
        ),
        (
            {"scale": -1000.0},
            "scale must be a positive finite number (the multiplier applied before "
            "rounding to the solvers' integers, e.g. 1000), got -1000.0",
        ),
        (
            {"penalty": [0, np.nan, np.inf]},
            "penalty must be >= 0 (the cost of leaving a node out) or inf "
            "(required); nodes [1] have [nan]",
        ),
        (
            {"penalty": [0, -5.0, np.inf]},
            "penalty must be >= 0 (the cost of leaving a node out) or inf "
            "(required); nodes [1] have [-5.0]",
        ),
        (
            {"cost": -_D3},
            "cost must be finite and >= 0; 6 cells are not, the first 5: [(0, 1), "
            "(0, 2), (1, 0), (1, 2), (2, 0)] have [-50.0, -1.0, -50.0, -50.0, -1.0]",
        ),
        ({"n_vehicles": 2.5}, "n_vehicles must be a whole number >= 1, got 2.5"),
        (
            {"penalty": [0, 5.0, np.inf], "groups": ((1, 2),)},
            "grouped nodes must have an infinite penalty (each group is required, "
            "its options optional one by one); nodes [1] have [5.0] (fix: set "
            "them to numpy.inf)",
        ),
    ],
)
def test_invalid_settings_are_refused(kw: dict, message: str) -> None:
    """scale <= 0 (a tour 14 % too long with OR-Tools), a NaN or negative
    penalty (silently 'required'), negative costs, 2.5 vehicles and finite
    penalties on grouped nodes used to be accepted."""
    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError) as err:
        RoutingProblem(_D3, **kw)
    assert str(err.value) == message


def _d4(**kw: object) -> RoutingProblem:
    return RoutingProblem(kw.pop("duration", _D3), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: _d4(duration=np.where(np.eye(3) > 0, 0, np.nan)),
            "duration must be finite and >= 0; 6 cells are not, the first 5: "
            "[(0, 1), (0, 2), (1, 0), (1, 2), (2, 0)] have [nan, nan, nan, nan, nan]",
        ),
        (
            lambda: _d4(
                duration=np.where(np.arange(9).reshape(3, 3) == 5, np.nan, _D3)
            ),
            "duration must be finite and >= 0; cell (1, 2) has [nan]",
        ),
        (
            lambda: _d4(duration=[["0", "2,5"], ["2,5", "0"]]),
            "duration must hold numbers; cells [(0, 1), (1, 0)] have ['2,5', "
            "'2,5'] (fix: write numbers with a decimal point, 2.5 not '2,5')",
        ),
        (
            lambda: _d4(service=["0", "10", "x"]),
            "service must hold numbers; nodes [2] have ['x']",
        ),
        (
            lambda: _d4(n_vehicles="3"),
            "n_vehicles must be a whole number >= 1, got '3'",
        ),
        (
            lambda: _d4(early=[0, 10, 0], late=[100, 5, 100]),
            "late < early at nodes [1]: early [10.0], late [5.0] (fix: a window's "
            "latest start must not come before its earliest)",
        ),
        (
            lambda: _d4(groups=((1, 2), (2,))),
            "node 2 is in group 0 (1, 2) and group 1 (2,); a node may be in one "
            "group only",
        ),
        (
            lambda: _d4(duration_cost=-1),
            "duration_cost must be a whole number >= 0 (the weight of each route's "
            "duration; 0: travel cost only), got -1",
        ),
        (
            lambda: solve_routing(_d4(), max_iterations=-3, time_limit=1),
            "max_iterations must be a whole number >= 1 or None (no cap), got -3",
        ),
        (
            lambda: solve_routing(_d4(), max_iterations=0, time_limit=1),
            "max_iterations must be a whole number >= 1 or None (no cap), got 0",
        ),
        (
            lambda: solve_routing(_d4(), max_iterations="5", time_limit=1),
            "max_iterations must be a whole number >= 1 or None (no cap), got '5'",
        ),
    ],
)
def test_bad_input_names_the_entries(make, message: str) -> None:  # type: ignore[no-untyped-def]
    """Bad entries used to give bare errors ('duration must be finite and
    non-negative', "could not convert string to float: '2,5'", a TypeError
    for n_vehicles='3') or PyVRP's internal ones ('Group references client not
    in group.', 'max_iterations < 0 not understood.', 'unit_duration_cost must
    be >= 0.')."""
    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError) as err:
        make()
    assert str(err.value) == message


def _two_matrices() -> tuple[np.ndarray, np.ndarray]:
    """9 nodes whose travel cost (km) and travel time (min) come from two
    unrelated layouts, so the cheapest tour is not the fastest."""
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0, 100, (9, 2)), rng.uniform(0, 100, (9, 2))
    cost = np.hypot(*(a[:, None] - a[None]).transpose(2, 0, 1)).round(1)
    time = np.hypot(*(b[:, None] - b[None]).transpose(2, 0, 1)).round(1)
    return cost, time


@pytest.mark.filterwarnings("ignore::terrakit.exceptions.TimeLimitWarning")
@pytest.mark.parametrize(
    ("backend", "n_vehicles"), [("pyvrp", 1), ("ortools", 1), ("ortools", 3)]
)
def test_duration_cost_is_priced_without_windows(backend: str, n_vehicles: int) -> None:
    """Regression (QA round 18): without windows, PyVRP's TSP search (one
    vehicle) and OR-Tools (its time dimension, hence the span cost, only built
    with windows) minimised the travel cost alone: 4770.7 instead of the
    optimum 3360.8 of cost + 10 x duration (all 8! tours enumerated)."""
    import itertools

    cost, time = _two_matrices()
    w = cost + 10 * time
    tours = np.array(list(itertools.permutations(range(1, 9))))
    paths = np.hstack(
        [np.zeros((len(tours), 1), int), tours, np.zeros((len(tours), 1), int)]
    )
    best = float(w[paths[:, :-1], paths[:, 1:]].sum(axis=1).min())
    assert best == pytest.approx(3360.8)
    p = RoutingProblem(
        duration=time, cost=cost, duration_cost=10, n_vehicles=n_vehicles
    )
    sol = solve_routing(p, backend=backend, time_limit=1, seed=0)
    assert sol.feasible
    assert sol.cost + 10 * sol.check.duration == pytest.approx(best)


def test_fractional_demand_is_refused() -> None:
    """Regression (QA round 18): demand 0.4 was rounded to 0 for the solvers,
    which packed all 8 stops (load 3.2) into one vehicle of capacity 1 and
    returned an 'infeasible' plan although 2 stops per vehicle fit."""
    from terrakit.exceptions import SpecificationError

    d = np.ones((9, 9)) - np.eye(9)
    with pytest.raises(SpecificationError) as err:
        RoutingProblem(d, demand=np.r_[0, np.full(8, 0.4)], capacity=1, n_vehicles=4)
    assert str(err.value) == (
        "demand must hold whole numbers when a capacity is given (the solvers "
        "count loads in integers); 8 nodes are not, the first 5: [1, 2, 3, 4, 5] "
        "have [0.4, 0.4, 0.4, 0.4, 0.4] (fix: count demand in a smaller unit so "
        "that it is whole, and capacity alike, e.g. x10: 0.4 -> 4 and capacity 1 "
        "-> 10)"
    )
    with pytest.raises(SpecificationError) as err:
        RoutingProblem(d[:3, :3], demand=[0, 1, 1 / 3], capacity=2)
    assert str(err.value) == (
        "demand must hold whole numbers when a capacity is given (the solvers "
        "count loads in integers); nodes [2] have [0.3333333333333333] (fix: "
        "count demand in a smaller unit so that it is whole, and capacity alike)"
    )
    # scaled as the message says, the plan is feasible; without a capacity
    # demand is not used and may be fractional
    p = RoutingProblem(d, demand=np.r_[0, np.full(8, 4.0)], capacity=10, n_vehicles=4)
    assert solve_routing(p, time_limit=1, seed=0, max_iterations=200).feasible
    assert RoutingProblem(d, demand=np.r_[0, np.full(8, 0.4)]).demand[1] == 0.4


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"service": [30, 5, 5], "late": [200, 50, 200]},
            "service[0] must be 0: node 0 is the depot, where no service is "
            "scheduled; got 30 (fix: set it to 0 and add the time spent at the "
            "depot to the travel times out of it, duration[0, 1:])",
        ),
        (
            {"demand": [3, 1, 1], "capacity": 2},
            "demand[0] must be 0: node 0 is the depot, where the vehicles load "
            "what the visits need; got 3 (fix: set it to 0 and lower capacity by "
            "what a vehicle carries all day)",
        ),
    ],
)
def test_depot_service_and_demand_are_refused(kw: dict, message: str) -> None:
    """Regression (QA round 18): the depot's service and demand were accepted;
    OR-Tools counted them (no_solution) while PyVRP and evaluate_routes did
    not (feasible): the backends disagreed on one input."""
    from terrakit.exceptions import SpecificationError

    d = np.array([[0, 40, 40], [40, 0, 10], [40, 10, 0.0]])
    with pytest.raises(SpecificationError) as err:
        RoutingProblem(d, **kw)
    assert str(err.value) == message


def _timestamped(base: float) -> RoutingProblem:
    """6 nodes, travel in seconds, windows from ``base`` (e.g. a Unix time):
    the depot open 10 h, every customer from 1 h to 2 h after opening."""
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 10000, (6, 2))
    d = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)) / 10
    return RoutingProblem(
        duration=d,
        early=base + np.r_[0.0, np.full(5, 3600.0)],
        late=base + np.r_[36000.0, np.full(5, 7200.0)],
        service=np.r_[0, np.full(5, 300.0)],
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_unix_timestamp_windows_are_solved_exactly(backend: str) -> None:
    """Regression (QA round 18): windows as Unix timestamps in seconds
    (1.7e9 x scale 1000 above the solvers' time cap 1e12) crashed PyVRP
    ('tw_early must be <= tw_late.') and OR-Tools ('CP Solver fail').  The
    solvers now count from the depot's opening: same routes as from 0, and
    the reported times are the exact ones on the given clock."""
    from terrakit.routing.vrp import _int_data

    base = 1_700_000_000.0
    at0, unix = _timestamped(0.0), _timestamped(base)
    for key in ("early", "late", "dur", "service", "cost"):
        assert (_int_data(unix)[key] == _int_data(at0)[key]).all()
    s0 = solve_routing(at0, backend=backend, time_limit=1, seed=0, max_iterations=50)
    s1 = solve_routing(unix, backend=backend, time_limit=1, seed=0, max_iterations=50)
    assert s1.feasible and s1.routes == s0.routes
    assert s1.check.start[0] == tuple(base + t for t in s0.check.start[0])
    assert s1.check.depart[0] == base + s0.check.depart[0]


def test_windows_too_long_for_the_solvers_are_refused() -> None:
    """A depot opening at 0 and customers at Unix times: no shift helps, the
    error names the node, its time and the fix (was a bare solver error)."""
    from terrakit.exceptions import SpecificationError

    d = np.array([[0, 40, 40], [40, 0, 10], [40, 10, 0.0]])
    p = RoutingProblem(d, early=[0, 1.7e9, 1.7e9 + 60])
    for backend in BACKENDS:
        with pytest.raises(SpecificationError) as err:
            solve_routing(p, backend=backend, time_limit=1)
        assert str(err.value) == (
            "time windows too long for the solvers' integers: node 2 has early "
            "1700000060, 1700000060 after the earliest time that matters (the "
            "depot opens at 0), 1.7e+12 once scaled by 1000, at or above their "
            "limit 1e+12; fix: give all times on one clock starting near the "
            "depot's opening (e.g. seconds since the first day's midnight), use a "
            "coarser time unit, or lower scale"
        )


def test_solution_summary_and_to_frame() -> None:
    """RoutingSolution has summary() (stable, no run time) and to_frame()
    (one row per stop), like every terrakit result (DESIGN.md §4)."""
    p = RoutingProblem(
        square().duration,
        demand=[0, 1, 2, 3],
        capacity=3,
        n_vehicles=3,
        service=[0, 1, 1, 1],
    )
    sol = solve_routing(p, backend="pyvrp", time_limit=1, seed=0, max_iterations=50)
    # depot -> 3 -> depot (load 3) and depot -> 2 -> 1 -> depot (load 2 + 1)
    assert sorted(sol.routes) == [(2, 1), (3,)]
    assert sol.summary() == (
        "Routing solution (pyvrp): feasible, 2 routes, 3 stops, 0 dropped\n"
        "  cost 5.41, duration 8.41"
    )
    assert str(sol).startswith(sol.summary() + "\n  (")
    df = sol.to_frame().sort_values(["node"]).reset_index(drop=True)
    assert list(df.columns) == ["vehicle", "stop", "node", "arrival", "start", "load"]
    assert df["node"].tolist() == [1, 2, 3]
    assert df["stop"].tolist() == [2, 1, 1]
    assert df["load"].tolist() == [3.0, 2.0, 3.0]
    assert df["arrival"].tolist() == pytest.approx([np.sqrt(2) + 2, np.sqrt(2), 1.0])
    v = dict(zip(df["node"], df["vehicle"], strict=True))
    assert v[1] == v[2] != v[3]
    none = solve_routing(
        RoutingProblem(
            np.full((3, 3), 10.0) - 10 * np.eye(3),
            late=[100, 10, 15],
            penalty=[0, np.inf, np.inf],
        ),
        backend="ortools",
        time_limit=1,
        max_iterations=20,
    )
    assert none.status == "no_solution" and none.to_frame().empty
    assert none.summary() == (
        "Routing solution (ortools): no_solution, 0 routes, 0 stops, 0 dropped\n"
        "  no routes found\n"
        "  broken: 2 required nodes not visited: [1, 2]"
    )


def _standins() -> RoutingProblem:
    """7 random points; pairs (1, 2) and (3, 4) "unreachable", given as 1e17."""
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 10, (7, 2))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    d[1, 2] = d[2, 1] = d[3, 4] = d[4, 3] = 1e17
    return RoutingProblem(d)


@pytest.mark.parametrize("backend", BACKENDS)
def test_costs_too_large_for_the_solvers_integers_are_refused(backend: str) -> None:
    """1e17 x scale 1000 wrapped to -2**63 in int64 (only a numpy warning) and
    PyVRP's search never stopped; now refused before solving (by the integer
    data both backends build), naming the cells, their values and a stand-in
    that fits.  Only OR-Tools solves here: PyVRP would not stop if the check
    were lost."""
    from terrakit.exceptions import SpecificationError
    from terrakit.routing.vrp import _int_data

    p = _standins()
    with pytest.raises(SpecificationError) as err:
        _int_data(p)
    msg = str(err.value)
    with pytest.raises(SpecificationError, match=r"^cost too large"):
        solve_routing(p, backend="ortools", time_limit=1)
    assert msg.startswith(
        "cost too large for the solvers' integers: 4 cells, the first 4: "
        "[(1, 2), (2, 1), (3, 4), (4, 3)] have [1e+17, 1e+17, 1e+17, 1e+17], up "
        "to 1e+17 x scale 1000 = 1e+20, at or above 3.294e+17 (2**62 / (2 x 7 "
        "nodes), so that no set of routes overflows); fix: for pairs that cannot "
        "be travelled use a stand-in just above any route's length (e.g. "
    )
    # durations wrap the same way (here 1e17 of travel with cheap costs)
    cheap = RoutingProblem(p.duration, cost=np.ones((7, 7)) - np.eye(7))
    with pytest.raises(SpecificationError, match=r"^duration too large .* \[\(1, 2\)"):
        _int_data(cheap)
    # at scale 1 the same stand-ins fit, and no tour uses them
    ok = solve_routing(
        RoutingProblem(p.duration, scale=1.0),
        backend=backend,
        time_limit=1,
        seed=0,
        max_iterations=100,
    )
    assert ok.feasible and ok.cost < 1e3


def test_ortools_drops_a_visit_that_opens_after_the_depot_closes() -> None:
    """Node 3 (optional) opens at 500, the depot closes at 100: its OR-Tools
    time range was empty and the model failed ("CP Solver fail"); now it is
    dropped as PyVRP drops it."""
    d = np.full((4, 4), 5.0)
    np.fill_diagonal(d, 0)
    p = RoutingProblem(
        duration=d,
        early=[0, 0, 0, 500.0],
        late=[100, 50, 60, np.inf],
        penalty=[0, np.inf, np.inf, 10.0],
    )
    for backend in BACKENDS:
        sol = solve_routing(p, backend=backend, time_limit=1, max_iterations=50)
        assert sol.status == "feasible" and sol.dropped == (3,)
        assert [sorted(r) for r in sol.routes] == [[1, 2]]
        assert sol.cost == pytest.approx(15.0)


def test_nearest_neighbour_routes_cut_at_the_capacity() -> None:
    """Stops on a line at 1..6 from the depot, demand 2 each, capacity 5: the
    nearest-neighbour tour 1..6 in routes of two stops; one vehicle: one route;
    a group keeps only its first node."""
    from terrakit.routing.vrp import _nearest_neighbour_routes

    x = np.arange(7.0)
    d = np.abs(x[:, None] - x[None, :])
    dem = [0, 2, 2, 2, 2, 2, 2]
    p = RoutingProblem(d, demand=dem, capacity=5, n_vehicles=3)
    assert _nearest_neighbour_routes(p, d) == [[1, 2], [3, 4], [5, 6]]
    p2 = RoutingProblem(d, demand=dem, capacity=5, n_vehicles=2)
    assert _nearest_neighbour_routes(p2, d) == [[1, 2], [3, 4, 5, 6]]
    g = RoutingProblem(d, penalty=[0, 1, 1, np.inf, np.inf, 1, 1], groups=((4, 3),))
    assert _nearest_neighbour_routes(g, d) == [[1, 2, 4, 5, 6]]


def test_skipped_start_search_starts_from_nearest_neighbour_routes(
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """When PyVRP's exhaustive search of the start is skipped as too slow, the
    first step of its iterated local search still searches the start without
    a clock: from a random 1,000-stop route 13-19 s at time_limit=1.  Such a
    run now starts from nearest-neighbour routes, never a random solution."""
    import pyvrp

    import terrakit.routing.vrp as vrp

    real = pyvrp.Solution

    class Spy:  # pyvrp.Solution as _pyvrp_search sees it, without make_random
        def __new__(cls, *a, **k):  # type: ignore[no-untyped-def]
            return real(*a, **k)

        @staticmethod
        def make_random(*a, **k):  # type: ignore[no-untyped-def]
            raise AssertionError("started from a random solution")

    monkeypatch.setattr(pyvrp, "Solution", Spy)
    monkeypatch.setattr(vrp, "START_SEARCH_SECONDS", 1.0)  # always "too slow"
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (30, 2))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    late = np.full(30, np.inf)
    late[0] = 1e6
    for kw in ({}, {"n_vehicles": 3, "demand": [0] + [1] * 29, "capacity": 10}):
        p = RoutingProblem(d, late=late, **kw)  # type: ignore[arg-type]
        sol = solve_routing(p, backend="pyvrp", time_limit=1, seed=0, max_iterations=5)
        assert sol.feasible
        assert sorted(v for r in sol.routes for v in r) == list(range(1, 30))


# -- QA round 21 -------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_diagonal_is_taken_as_zero(backend: str) -> None:
    """A matrix with 1 added to every cell, its diagonal too, passed the checks
    and then failed in PyVRP with a bare 'Distance matrix diagonals must be
    all zero' (OR-Tools solved it).  No route goes from a node to itself: the
    diagonal is read as 0 for both backends, the given arrays left alone."""
    d = square().duration + 1.0
    p = RoutingProblem(duration=d, cost=d * 2)
    assert np.diag(p.duration).tolist() == [0.0] * 4
    assert np.diag(p.cost).tolist() == [0.0] * 4
    assert d[0, 0] == 1.0
    sol = solve_routing(p, backend=backend, time_limit=5, max_iterations=50)
    assert sol.status == "feasible"
    assert sol.cost == pytest.approx(2 * (4.0 + 4 * 1.0))


def _windows_nearest_neighbour_breaks(n: int = 40) -> RoutingProblem:
    """Random stops with windows and capacities, several vehicles: the
    nearest-neighbour routes (windows ignored) break windows."""
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (n, 2))
    xy[0] = 50
    dur = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    early = rng.uniform(0, 800, n)
    early[0] = 0
    late = early + rng.uniform(60, 300, n)
    late[0] = 1500
    demand = rng.integers(1, 20, n)
    demand[0] = 0
    service = np.full(n, 10.0)
    service[0] = 0
    return RoutingProblem(
        duration=dur,
        service=service,
        early=early,
        late=late,
        demand=demand,
        capacity=100,
        n_vehicles=n // 4,
    )


def test_greedy_routes_keep_every_rule() -> None:
    """The start OR-Tools falls back on keeps every window, the capacity and
    the depot's hours, where the nearest-neighbour routes do not."""
    from terrakit.routing.vrp import (
        _greedy_routes,
        _int_data,
        _nearest_neighbour_routes,
    )

    p = _windows_nearest_neighbour_breaks()
    assert not evaluate_routes(p, _nearest_neighbour_routes(p, p.cost)).feasible
    d = _int_data(p)
    routes = _greedy_routes(p, d, d["late"])
    assert evaluate_routes(p, routes).feasible
    assert sorted(v for r in routes for v in r) == list(range(1, p.n_nodes))


def test_ortools_without_a_first_solution_starts_from_greedy_routes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA round 21 (d8): OR-Tools at its time limit without a first solution
    (1,500 stops with windows at time_limit=1) returned no routes while the
    warning said 'the routes are the best found in that time'.  It now starts
    from greedy routes that keep every rule and searches on from them."""
    from ortools.constraint_solver import pywrapcp

    monkeypatch.setattr(
        pywrapcp.RoutingModel, "SolveWithParameters", lambda self, params: None
    )
    p = _windows_nearest_neighbour_breaks()
    sol = solve_routing(p, backend="ortools", time_limit=5, max_iterations=20)
    assert sol.status == "feasible" and sol.feasible
    assert sorted(v for r in sol.routes for v in r) == list(range(1, p.n_nodes))


class _Clock:
    """``time`` for the vrp module: every reading 10 s after the one before."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 10.0
        return self.now


def test_time_limit_warning_says_when_no_routes_were_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA round 21 (d8): with no routes the TimeLimitWarning still said 'the
    routes are the best found in that time'.  Here OR-Tools finds no first
    solution and the greedy start misses node 2 (it takes node 1 first, whose
    service starts sooner; node 2 then starts too late), on a clock where the
    search ran past its limit: the warning says no routes were found."""
    from ortools.constraint_solver import pywrapcp

    import terrakit.routing.vrp as vrp
    from terrakit.exceptions import TimeLimitWarning

    monkeypatch.setattr(
        pywrapcp.RoutingModel, "SolveWithParameters", lambda self, params: None
    )
    monkeypatch.setattr(vrp, "time", _Clock())
    d = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 2.0], [2.0, 2.0, 0.0]])
    p = RoutingProblem(duration=d, late=[100.0, 100.0, 2.5])
    assert evaluate_routes(p, [[2, 1]]).feasible  # a solution exists
    with pytest.warns(TimeLimitWarning) as caught:
        sol = solve_routing(p, backend="ortools", time_limit=1)
    assert sol.status == "no_solution" and not sol.routes
    said = [str(w.message) for w in caught]
    assert len(said) == 1
    assert "found no routes in that time (status 'no_solution')" in said[0]
    assert "best found" not in said[0]

"""One vehicle-routing interface over two solvers (PyVRP and OR-Tools routing).

A :class:`RoutingProblem` is a single-depot VRP with time windows, capacities,
optional visits (with a penalty for leaving them out) and "pick exactly one"
groups.  That covers the three uses in terrakit:

* the daily route of a rep (one vehicle, working hours, a lunch break
  modelled as a group of break options, visits that may be dropped when the
  day is overfull);
* Solomon VRPTW instances (many vehicles, capacities, time windows);
* TSPLIB instances (one vehicle, no windows).

:func:`solve_routing` hands the problem to a backend and returns a
:class:`RoutingSolution` whose cost and feasibility are recomputed exactly (in
floating point) by :func:`evaluate_routes`, independently of the solver.

Notes
-----
Both solvers work on integers.  Travel costs are multiplied by
``RoutingProblem.scale`` and rounded to the nearest integer for the
objective; travel *times* and service times are rounded **up** (and time
windows' latest starts down, earliest starts up) so that every schedule that
is feasible for the solver is feasible with the exact times as well.  With
``scale=1000`` on Solomon data the rounding moves a route's cost by at most
``0.0005`` per arc.  Reported values are recomputed from the exact matrices.

The solvers measure time from an origin of their own: the depot's opening,
or an earlier window's latest start (:func:`_time_origin`), so that windows
given as Unix timestamps in seconds fit their integers at ``scale=1000``.
Windows opening before the origin open at it (no service starts before
the depot opens), so the shift changes no schedule; reported times are in
the problem's own clock.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from terrakit._runargs import as_number, check_seed, check_time_limit, is_count
from terrakit._versions import library_versions
from terrakit.data.validation import first_few
from terrakit.exceptions import SpecificationError, TimeLimitWarning
from terrakit.routing.tsp import improve, is_symmetric

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AUTO_BACKEND",
    "Backend",
    "RouteCheck",
    "RoutingProblem",
    "RoutingSolution",
    "evaluate_routes",
    "resolve_backend",
    "solve_routing",
]

Backend = Literal["auto", "pyvrp", "ortools"]

#: The backend that ``backend="auto"`` uses (see ``benchmarks/README.md``,
#: "## Routing": PyVRP reached smaller gaps than OR-Tools' guided local search
#: on Solomon and TSPLIB at the same time limit).
AUTO_BACKEND: Literal["pyvrp", "ortools"] = "pyvrp"

_INF_TIME = 10**12


@dataclass(frozen=True, eq=False)
class RoutingProblem:
    """A single-depot VRP with time windows, capacities and optional visits.

    Node 0 is the depot; nodes ``1..n-1`` are visits.

    Parameters
    ----------
    duration
        ``(n, n)`` travel times (any time unit, the same as the windows).
        The diagonal is taken as 0, whatever it holds: no route goes from a
        node to itself (two nodes at one place are two rows), and a place
        to itself costs nothing (PyVRP requires it; OR-Tools never reads it).
    cost
        ``(n, n)`` travel costs minimised by the solver, finite and >= 0
        (default: ``duration``); its diagonal is taken as 0 as well.
    service
        ``(n,)`` service time at each node; the depot's must be 0 (add time
        spent there to the travel times out of it).
    early, late
        ``(n,)`` earliest / latest *start of service*; for the depot, the
        vehicle's earliest departure and latest return.  Any origin (e.g.
        Unix timestamps): the solvers see times measured from the earliest
        that matters (see Notes of the module).
    demand
        ``(n,)`` demand, whole numbers when ``capacity`` is given (count it
        in a smaller unit otherwise, and the capacity alike); the depot's
        must be 0.  With ``capacity`` the vehicle load limit.
    n_vehicles
        Vehicles available (all identical), a whole number >= 1.
    penalty
        ``(n,)`` cost of leaving a node out, >= 0 (``inf``: required; NaN is
        refused).  Node 0 is ignored.
    groups
        Lists of nodes of which exactly one must be visited (e.g. lunch break
        options); these nodes must have an infinite ``penalty`` entry and are
        treated as optional individually.  A node may be in one group only.
    scale
        Multiplier applied before rounding to integers for the solvers (> 0).
    duration_cost
        Integer weight of each route's duration (return − departure, waiting
        included) added to the travel cost; 0 = travel cost only.

    Raises
    ------
    SpecificationError
        For entries that are not numbers (``'2,5'``), NaN, infinite or
        negative travel times and costs, bad node data, a depot with service
        or demand, demand that is not whole with a ``capacity``, windows with
        ``late < early``, a node in two groups, and the settings above out of
        range, naming the nodes or cells and their values.
    """

    # optional arrays are ``None`` on input and arrays after __post_init__
    duration: np.ndarray
    cost: Any = None
    service: Any = None
    early: Any = None
    late: Any = None
    demand: Any = None
    capacity: int | None = None
    n_vehicles: int = 1
    penalty: Any = None
    groups: tuple[tuple[int, ...], ...] = ()
    scale: float = 1000.0
    duration_cost: int = 0

    def __post_init__(self) -> None:
        dur = _float_array(self.duration, "duration")
        n = dur.shape[0] if dur.ndim >= 1 else 0
        if dur.ndim != 2 or dur.shape != (n, n) or n < 1:
            raise SpecificationError(
                f"duration must be a square (n, n) matrix of travel times, got "
                f"shape {dur.shape}"
            )
        _check_cells(dur, "duration")
        # no route goes from a node to itself: a diagonal of overheads (a
        # matrix with a fixed time per trip on every cell) is read as 0, as
        # PyVRP needs it, for both backends and evaluate_routes alike
        np.fill_diagonal(dur, 0.0)

        def vec(v: Any, default: float, name: str) -> np.ndarray:
            a = np.full(n, default, dtype=float) if v is None else _float_array(v, name)
            if a.shape != (n,):
                raise SpecificationError(
                    f"{name} must have {n} entries (one per node), got shape {a.shape}"
                )
            return a

        if self.cost is None:
            cost = dur
        else:
            cost = _float_array(self.cost, "cost")
            if cost.shape != (n, n):
                raise SpecificationError(
                    f"cost must be a matrix shaped like duration {(n, n)}, got "
                    f"shape {cost.shape}"
                )
            _check_cells(cost, "cost")
            np.fill_diagonal(cost, 0.0)
        service = vec(self.service, 0.0, "service")
        early = vec(self.early, 0.0, "early")
        late = vec(self.late, np.inf, "late")
        demand = vec(self.demand, 0.0, "demand")
        for name, arr in (("service", service), ("early", early), ("demand", demand)):
            bad = np.flatnonzero(~(np.isfinite(arr) & (arr >= 0))).tolist()
            if bad:
                raise SpecificationError(
                    f"{name} must be finite and >= 0; nodes {bad[:5]} have "
                    f"{arr[bad[:5]].tolist()}"
                )
        # the depot is where routes start and end: both backends and
        # evaluate_routes serve nothing there (OR-Tools would count it)
        if service[0] != 0:
            raise SpecificationError(
                f"service[0] must be 0: node 0 is the depot, where no service "
                f"is scheduled; got {service[0]:g} (fix: set it to 0 and add the "
                "time spent at the depot to the travel times out of it, "
                "duration[0, 1:])"
            )
        if demand[0] != 0:
            raise SpecificationError(
                f"demand[0] must be 0: node 0 is the depot, where the vehicles "
                f"load what the visits need; got {demand[0]:g} (fix: set it to 0 "
                "and lower capacity by what a vehicle carries all day)"
            )
        bad = np.flatnonzero(np.isnan(late)).tolist()
        if bad:
            raise SpecificationError(
                f"late must be a number (inf for no limit); nodes {bad[:5]} are NaN"
            )
        if (late < early).any():
            bad = np.flatnonzero(late < early).tolist()[:5]
            raise SpecificationError(
                f"late < early at nodes {bad}: early {early[bad].tolist()}, late "
                f"{late[bad].tolist()} (fix: a window's latest start must not come "
                "before its earliest)"
            )
        penalty = vec(self.penalty, np.inf, "penalty")
        bad = [i for i in range(1, n) if not penalty[i] >= 0]
        if bad:
            raise SpecificationError(
                f"penalty must be >= 0 (the cost of leaving a node out) or inf "
                f"(required); nodes {bad[:5]} have {penalty[bad[:5]].tolist()}"
            )
        groups = tuple(tuple(int(i) for i in g) for g in self.groups)
        where: dict[int, int] = {}
        for gi, g in enumerate(groups):
            if not g or min(g) < 1 or max(g) >= n:
                raise SpecificationError(f"group {g} must name visit nodes 1..{n - 1}")
            for i in g:
                if g.count(i) > 1:
                    raise SpecificationError(f"group {gi} {g} names node {i} twice")
                if i in where:
                    raise SpecificationError(
                        f"node {i} is in group {where[i]} {groups[where[i]]} and "
                        f"group {gi} {g}; a node may be in one group only"
                    )
                where[i] = gi
        bad = sorted(i for i in where if not math.isinf(penalty[i]))
        if bad:
            raise SpecificationError(
                f"grouped nodes must have an infinite penalty (each group is "
                f"required, its options optional one by one); nodes {bad[:5]} have "
                f"{penalty[bad[:5]].tolist()} (fix: set them to numpy.inf)"
            )
        scale = as_number(self.scale)
        if isinstance(self.scale, bool) or not (math.isfinite(scale) and scale > 0):
            raise SpecificationError(
                f"scale must be a positive finite number (the multiplier applied "
                f"before rounding to the solvers' integers, e.g. 1000), got "
                f"{self.scale!r}"
            )
        if not is_count(self.n_vehicles, low=1):
            raise SpecificationError(
                f"n_vehicles must be a whole number >= 1, got {self.n_vehicles!r}"
            )
        if not is_count(self.duration_cost, low=0):
            raise SpecificationError(
                f"duration_cost must be a whole number >= 0 (the weight of each "
                f"route's duration; 0: travel cost only), got {self.duration_cost!r}"
            )
        for name, arr in (
            ("duration", dur),
            ("cost", cost),
            ("service", service),
            ("early", early),
            ("late", late),
            ("demand", demand),
            ("penalty", penalty),
        ):
            arr = arr.copy()
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "n_vehicles", int(self.n_vehicles))
        object.__setattr__(self, "duration_cost", int(self.duration_cost))
        if self.capacity is not None and not is_count(self.capacity, low=0):
            raise SpecificationError(
                f"capacity must be a non-negative whole number or None, got "
                f"{self.capacity!r}"
            )
        if self.capacity is not None:
            _check_whole_demand(demand, int(self.capacity))

    @property
    def n_nodes(self) -> int:
        return int(self.duration.shape[0])

    @property
    def grouped(self) -> set[int]:
        return {i for g in self.groups for i in g}


def _float_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a new float array, or a :class:`SpecificationError` naming
    the first entries that are not numbers (text such as ``'2,5'``)."""
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError) as err:
        try:
            obj = np.asarray(value, dtype=object)
        except ValueError:
            obj = np.empty(0, dtype=object)
        bad: list[tuple[tuple[int, ...], Any]] = []
        for idx in np.ndindex(obj.shape):
            v = obj[idx]
            if math.isnan(as_number(v)) and not (
                isinstance(v, float | np.floating) and math.isnan(v)
            ):
                bad.append((idx, v))
                if len(bad) == 5:
                    break
        if not bad or any(isinstance(v, list | tuple | np.ndarray) for _, v in bad):
            raise SpecificationError(
                f"{name} must be a rectangular array of numbers (rows of equal "
                f"length): {err}"
            ) from None
        what = "cells" if obj.ndim == 2 else "nodes"
        at = [idx if obj.ndim == 2 else idx[0] for idx, _ in bad]
        comma = any(isinstance(v, str) and "," in v for _, v in bad)
        raise SpecificationError(
            f"{name} must hold numbers; {what} {at} have {[v for _, v in bad]}"
            + (
                " (fix: write numbers with a decimal point, 2.5 not '2,5')"
                if comma
                else ""
            )
        ) from None


def _check_whole_demand(demand: np.ndarray, capacity: int) -> None:
    """A :class:`SpecificationError` naming the first nodes whose demand is not
    a whole number (the solvers count loads in integers; rounding 0.4 to 0
    packed routes by the rounded loads), with a unit that makes them whole."""
    bad = np.flatnonzero(demand != np.floor(demand)).tolist()
    if not bad:
        return
    fix = "count demand in a smaller unit so that it is whole, and capacity alike"
    for k in range(1, 7):
        f = 10**k
        scaled = demand * f
        if np.all(np.abs(scaled - np.rint(scaled)) <= 1e-9 * np.maximum(scaled, 1)):
            v = float(demand[bad[0]])
            fix += (
                f", e.g. x{f}: {v:g} -> {round(v * f):d} and capacity "
                f"{capacity} -> {capacity * f}"
            )
            break
    shown = bad[:5]
    raise SpecificationError(
        "demand must hold whole numbers when a capacity is given (the solvers "
        "count loads in integers); "
        + (
            f"{len(bad)} nodes are not, the first 5: {shown} have "
            if len(bad) > 5
            else f"nodes {shown} have "
        )
        + f"{demand[shown].tolist()} (fix: {fix})"
    )


def _check_cells(m: np.ndarray, name: str) -> None:
    """A :class:`SpecificationError` naming the first cells of the matrix ``m``
    that are NaN, infinite or negative."""
    bad = np.argwhere(~(np.isfinite(m) & (m >= 0)))
    if len(bad):
        cells = [(int(i), int(j)) for i, j in bad[:5]]
        raise SpecificationError(
            f"{name} must be finite and >= 0; "
            + (
                f"{len(bad)} cells are not, the first {len(cells)}: {cells} have "
                if len(bad) > 1
                else f"cell {cells[0]} has "
            )
            + f"{[float(m[c]) for c in cells]}"
        )


@dataclass(frozen=True)
class RouteCheck:
    """Exact schedule and feasibility of routes (see :func:`evaluate_routes`).

    ``arrival``, ``start`` and ``load`` have one tuple per route and one entry
    per stop (``load``: the demand served on the route so far, this stop
    included); ``depart`` and ``back`` one entry per route.
    """

    cost: float
    duration: float
    feasible: bool
    violations: tuple[str, ...]
    arrival: tuple[tuple[float, ...], ...]
    start: tuple[tuple[float, ...], ...]
    depart: tuple[float, ...]
    back: tuple[float, ...]
    load: tuple[tuple[float, ...], ...] = ()


def evaluate_routes(
    problem: RoutingProblem,
    routes: Sequence[Sequence[int]],
    *,
    tol: float = 1e-6,
) -> RouteCheck:
    """Recompute cost and schedule of ``routes`` exactly and check every rule.

    Each route leaves the depot (node 0) at the latest time that does not
    delay its first service, serves its nodes in order starting each service
    at ``max(arrival, early)``, and returns to the depot.

    Parameters
    ----------
    problem
        The problem the routes solve.
    routes
        Node lists without the depot.
    tol
        Tolerance on time windows (absolute, in the problem's time unit).

    Returns
    -------
    RouteCheck
        Total cost (from ``problem.cost``), total route duration, feasibility
        and the list of violated rules (windows, capacity, vehicles, nodes
        visited twice, required nodes missing, groups not covered once).
    """
    p = problem
    viol: list[str] = []
    total = 0.0
    dur_total = 0.0
    arrivals: list[tuple[float, ...]] = []
    starts: list[tuple[float, ...]] = []
    departs: list[float] = []
    backs: list[float] = []
    loads: list[tuple[float, ...]] = []
    seen: dict[int, int] = {}
    routes = [list(r) for r in routes if len(r)]
    if len(routes) > p.n_vehicles:
        viol.append(f"{len(routes)} routes but {p.n_vehicles} vehicles")
    for k, r in enumerate(routes):
        for i in r:
            if not 1 <= i < p.n_nodes:
                raise ValueError(f"route {k} visits unknown node {i}")
            seen[i] = seen.get(i, 0) + 1
        path = [0, *r, 0]
        total += float(sum(p.cost[a, b] for a, b in itertools.pairwise(path)))
        if p.capacity is not None:
            load = float(p.demand[r].sum())
            if load > p.capacity + tol:
                viol.append(f"route {k} load {load:g} > capacity {p.capacity}")
        # forward schedule from the depot's earliest departure; then leave
        # later by as much of the waiting as the windows allow (Savelsbergh's
        # forward time slack), which shortens the day without moving the end
        arr, st, end = _forward(p, r, p.early[0])
        waits = np.maximum(np.asarray(st) - np.asarray(arr), 0.0) if r else np.zeros(0)
        cum = np.cumsum(waits) if r else np.zeros(0)
        slack = [c + p.late[i] - s_ for c, i, s_ in zip(cum, r, st, strict=True)]
        slack.append((cum[-1] if r else 0.0) + p.late[0] - end)
        delay = max(0.0, min(min(slack), float(cum[-1]) if r else 0.0))
        depart = p.early[0] + delay
        if delay > 0:
            arr, st, end = _forward(p, r, depart)
        for i, s_ in zip(r, st, strict=True):
            if not math.isfinite(s_):
                viol.append(f"route {k} starts node {i} at {s_} (not a finite time)")
            elif s_ > p.late[i] + tol:
                viol.append(
                    f"route {k} starts node {i} at {s_:.4f} > late {p.late[i]:.4f}"
                )
        if not math.isfinite(end):
            viol.append(f"route {k} returns at {end} (not a finite time)")
        elif end > p.late[0] + tol:
            viol.append(f"route {k} returns at {end:.4f} > depot late {p.late[0]:.4f}")
        arrivals.append(tuple(arr))
        starts.append(tuple(st))
        departs.append(depart)
        backs.append(end)
        loads.append(tuple(np.cumsum(p.demand[r]).tolist()))
        dur_total += end - depart
    for i, c in seen.items():
        if c > 1:
            viol.append(f"node {i} visited {c} times")
    grouped = p.grouped
    missing = [
        i
        for i in range(1, p.n_nodes)
        if i not in seen and i not in grouped and math.isinf(p.penalty[i])
    ]
    if missing:
        viol.append(f"{len(missing)} required nodes not visited: {missing[:5]}")
    for g in p.groups:
        c = sum(seen.get(i, 0) for i in g)
        if c != 1:
            viol.append(f"group {list(g)[:3]}... covered {c} times, needs 1")
    return RouteCheck(
        cost=total,
        duration=dur_total,
        feasible=not viol,
        violations=tuple(viol),
        arrival=tuple(arrivals),
        start=tuple(starts),
        depart=tuple(departs),
        back=tuple(backs),
        load=tuple(loads),
    )


def _forward(
    p: RoutingProblem, r: Sequence[int], depart: float
) -> tuple[list[float], list[float], float]:
    """Arrival and service-start times along ``r`` leaving the depot at ``depart``."""
    t = depart
    arr: list[float] = []
    st: list[float] = []
    prev = 0
    for i in r:
        a = t + p.duration[prev, i]
        s = max(a, p.early[i])
        arr.append(a)
        st.append(s)
        t = s + p.service[i]
        prev = i
    return arr, st, t + p.duration[prev, 0]


@dataclass(frozen=True)
class RoutingSolution:
    """Routes found by a backend, with the exact cost recomputed.

    Attributes
    ----------
    routes
        Node lists (depot excluded), one per used vehicle.
    dropped
        Optional nodes left out.
    cost
        Exact cost from :func:`evaluate_routes`.
    feasible
        Whether every rule holds with exact times.
    status
        ``"feasible"``, ``"infeasible"`` or ``"no_solution"``.
    backend, seconds
        Which solver ran and for how long (wall clock).
    check
        The full :class:`RouteCheck`.
    time_limit_reached
        Whether the search ran until ``time_limit`` (rather than stopping at
        ``max_iterations``): the routes are the best found in that time.
    seed, time_limit, max_iterations
        The search settings the routes were found with (``None`` when not
        recorded).
    versions
        Versions of the numerical libraries loaded when solving (the solver's
        among them), from :func:`terrakit._versions.library_versions`.
    """

    routes: tuple[tuple[int, ...], ...]
    dropped: tuple[int, ...]
    cost: float
    feasible: bool
    status: str
    backend: str
    seconds: float
    check: RouteCheck = field(repr=False)
    time_limit_reached: bool = False
    seed: int | None = None
    time_limit: float | None = None
    max_iterations: int | None = None
    versions: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def summary(self) -> str:
        """Rounded, stable text: status, cost, routes (no run times)."""
        stops = sum(len(r) for r in self.routes)
        lines = [
            f"Routing solution ({self.backend}): {self.status}, "
            f"{len(self.routes)} route{'' if len(self.routes) == 1 else 's'}, "
            f"{stops} stop{'' if stops == 1 else 's'}, {len(self.dropped)} dropped",
            "  no routes found"
            if self.status == "no_solution"
            else f"  cost {self.cost:.2f}, duration {self.check.duration:.2f}",
        ]
        if self.dropped:
            lines.append(f"  dropped nodes: {first_few(self.dropped, 10, show=str)}")
        viol = self.check.violations
        for v in viol[:3]:
            lines.append(f"  broken: {v}")
        if len(viol) > 3:
            lines.append(f"  ... and {len(viol) - 3} more broken rules")
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.summary()}\n  ({self.seconds:.1f} s)"

    def to_frame(self) -> pd.DataFrame:
        """One row per stop: ``vehicle`` (route number from 0), ``stop`` (its
        order on the route from 1), ``node``, ``arrival`` and ``start`` of
        service (exact times, from :attr:`check`) and ``load`` (the demand
        served on the route so far, this stop included)."""
        import pandas as pd

        c = self.check
        rows = [
            (v, k + 1, node, c.arrival[v][k], c.start[v][k], c.load[v][k])
            for v, r in enumerate(self.routes)
            for k, node in enumerate(r)
        ]
        df = pd.DataFrame(
            rows, columns=["vehicle", "stop", "node", "arrival", "start", "load"]
        )
        ints = dict.fromkeys(["vehicle", "stop", "node"], "int64")
        return df.astype(ints | dict.fromkeys(["arrival", "start", "load"], "float64"))


def resolve_backend(backend: str) -> Literal["pyvrp", "ortools"]:
    """Map ``"auto"`` to :data:`AUTO_BACKEND` and check the name."""
    if backend == "auto":
        try:
            import pyvrp  # noqa: F401
        except ImportError:  # pragma: no cover - pyvrp is an optional extra
            return "ortools"
        return AUTO_BACKEND
    if backend not in ("pyvrp", "ortools"):
        raise SpecificationError(
            f"unknown routing backend {backend!r}; choose 'auto', 'pyvrp' or 'ortools'"
        )
    return backend  # type: ignore[return-value]


def solve_routing(
    problem: RoutingProblem,
    *,
    backend: Backend = "auto",
    time_limit: float = 10.0,
    seed: int = 0,
    max_iterations: int | None = None,
) -> RoutingSolution:
    """Solve ``problem`` with PyVRP or OR-Tools.

    Parameters
    ----------
    problem
        The routing problem.
    backend
        ``"pyvrp"`` (iterated local search, PyVRP ≥ 0.14; on a symmetric
        TSP — one vehicle, no windows, every node required — PyVRP builds the
        start and :func:`terrakit.routing.tsp.improve` searches, because
        PyVRP has no intra-route 2-opt), ``"ortools"``
        (OR-Tools routing: parallel cheapest insertion, then guided local
        search; when that finds no first solution within ``time_limit``,
        e.g. on ~1,500 stops with windows at 1 s, the search starts from
        greedy routes that keep every window and the capacity,
        :func:`_greedy_routes`), or ``"auto"`` (:data:`AUTO_BACKEND`, chosen
        from the benchmarks; falls back to OR-Tools when PyVRP is not
        installed).
    time_limit
        Wall-clock seconds for the whole run (model, start solution and
        search; PyVRP's exhaustive search of the start is skipped when it
        would take much of a short limit, see :func:`_pyvrp_search`).
    seed
        Random seed (PyVRP); OR-Tools' search is deterministic by itself.
    max_iterations
        Also stop after this many iterations (PyVRP) or accepted solutions
        (OR-Tools).  With a limit that binds before ``time_limit`` the result
        is reproducible run to run; a binding time limit depends on machine
        speed.

    Returns
    -------
    RoutingSolution
        ``dropped`` lists only optional nodes left out; a required node a
        search could not place is a violation (``check.violations``, status
        ``"infeasible"`` or ``"no_solution"``).

    Raises
    ------
    SpecificationError
        For bad run settings (``max_iterations`` not a whole number >= 1, ...)
        and, before solving, for a problem that has no solution node by node
        (:func:`_explain_impossible`: a required node whose demand exceeds the
        capacity or that cannot be reached and served within the windows and
        the depot's hours, a group no node of which can be, required demand
        above ``n_vehicles × capacity``).

    Warns
    -----
    TimeLimitWarning
        When the search stopped at ``time_limit`` (``time_limit_reached``),
        with the limit and the seconds it ran, and whether it returns the
        best routes found, routes that break rules (how many) or none.
    """
    time_limit = check_time_limit(time_limit)
    seed = check_seed(seed)
    name = resolve_backend(backend)
    if max_iterations is not None and not is_count(max_iterations, low=1):
        raise SpecificationError(
            f"max_iterations must be a whole number >= 1 or None (no cap), got "
            f"{max_iterations!r}"
        )
    _explain_impossible(problem)
    t0 = time.perf_counter()
    if problem.n_nodes == 1:
        routes: list[list[int]] | None = []
    elif name == "pyvrp":
        routes = _solve_pyvrp(problem, time_limit, seed, max_iterations)
    else:
        routes = _solve_ortools(problem, time_limit, max_iterations)
    secs = time.perf_counter() - t0
    # both searches stop at the earlier of time_limit and max_iterations
    at_limit = problem.n_nodes > 1 and secs >= 0.95 * time_limit
    chk = evaluate_routes(problem, routes or [])
    if at_limit:
        warnings.warn(
            _time_limit_text(name, secs, time_limit, routes, chk),
            TimeLimitWarning,
            stacklevel=2,
        )
    run: dict[str, Any] = {
        "seed": seed,
        "time_limit": time_limit,
        "max_iterations": max_iterations,
        "versions": library_versions(),
    }
    # only optional nodes are "dropped"; a required node left out is a violation
    visited = {v for r in routes or () for v in r}
    grouped = problem.grouped
    dropped = tuple(
        i
        for i in range(1, problem.n_nodes)
        if i not in visited and i not in grouped and math.isfinite(problem.penalty[i])
    )
    if routes is None:
        return RoutingSolution(
            (),
            dropped,
            math.nan,
            False,
            "no_solution",
            name,
            secs,
            chk,
            at_limit,
            **run,
        )
    return RoutingSolution(
        routes=tuple(tuple(r) for r in routes),
        dropped=dropped,
        cost=chk.cost,
        feasible=chk.feasible,
        status="feasible" if chk.feasible else "infeasible",
        backend=name,
        seconds=secs,
        check=chk,
        time_limit_reached=at_limit,
        **run,
    )


def _time_limit_text(
    name: str,
    secs: float,
    time_limit: float,
    routes: list[list[int]] | None,
    chk: RouteCheck,
) -> str:
    """The warning of a search stopped at its time limit, true to what it
    returns: the best routes found, routes that break rules, or none."""
    head = (
        f"the {name} route search stopped at its time limit: it ran "
        f"{secs:.2f} s of time_limit={time_limit:g} s"
    )
    fix = (
        "(fix: raise time_limit, or set max_iterations to stop after a fixed "
        "number of iterations)"
    )
    if routes is None:
        return (
            f"{head} and found no routes in that time (status 'no_solution') "
            "(fix: raise time_limit)"
        )
    if not chk.feasible:
        n = len(chk.violations)
        return (
            f"{head}; the routes are the best found in that time but break "
            f"{n} rule{'s' if n != 1 else ''} (e.g. {chk.violations[0]}; see "
            f"check.violations) and may differ from run to run {fix}"
        )
    return (
        f"{head}; the routes are the best found in that time and may differ "
        f"from run to run {fix}"
    )


def _fastest(w: np.ndarray) -> np.ndarray:
    """Shortest-path lengths from node 0 over the non-negative arc weights ``w``
    (dense Dijkstra, ``O(n²)``)."""
    n = w.shape[0]
    dist = np.full(n, np.inf)
    dist[0] = 0.0
    done = np.zeros(n, dtype=bool)
    for _ in range(n):
        u = int(np.argmin(np.where(done, np.inf, dist)))
        if done[u] or not math.isfinite(dist[u]):
            break
        done[u] = True
        dist = np.minimum(dist, dist[u] + w[u])
    return dist


def _alone(p: RoutingProblem) -> list[str]:
    """Why each node cannot be served even on a route of its own (``""``: it can).

    Lower bounds with exact times: a node is reached at the earliest at the
    depot's opening plus the fastest way there (through other nodes too,
    their service counted, waiting not), served from ``max(arrival, early)``,
    and the vehicle is back at the earliest after its service and the fastest
    way home.  Capacity: the node's demand alone.
    """
    n = p.n_nodes
    why = [""] * n
    e0, l0 = float(p.early[0]), float(p.late[0])
    tol = 1e-6
    if np.isfinite(p.late).any():
        svc = p.service.copy()
        svc[0] = 0.0
        # out: arc a -> b costs travel + service at a; back: travel + service at b
        there = _fastest(p.duration + svc[:, None])
        home = _fastest((p.duration + svc[None, :]).T)
        for i in range(1, n):
            arrive = e0 + there[i]
            if arrive > p.late[i] + tol:
                why[i] = (
                    f"node {i} cannot be reached before its window closes: late "
                    f"{p.late[i]:g} < the earliest arrival {arrive:g} (depot opens "
                    f"at {e0:g}, the fastest way there takes {there[i]:g})"
                )
                continue
            start = max(arrive, float(p.early[i]))
            back = start + p.service[i] + home[i]
            if back > l0 + tol:
                why[i] = (
                    f"node {i} cannot be served within the depot's hours: its "
                    f"service starts at {start:g} at the earliest and with "
                    f"{p.service[i]:g} of service and {home[i]:g} of travel back "
                    f"ends at {back:g} > depot late {l0:g}"
                )
    if p.capacity is not None:
        for i in np.flatnonzero(p.demand > p.capacity + 1e-9).tolist():
            if i > 0 and not why[i]:
                why[i] = (
                    f"node {i} demand {p.demand[i]:g} > capacity {p.capacity} of "
                    "a vehicle"
                )
    return why


def _explain_impossible(problem: RoutingProblem) -> None:
    """Raise a :class:`SpecificationError` when ``problem`` has no solution
    that a node-by-node check can show.

    Checked before solving (:func:`solve_routing`): a *required* node (an
    infinite penalty, not in a group) that cannot be served even on a route of
    its own (its demand above the capacity, its window closing before it can
    be reached from the depot, or its service and the way back ending after
    the depot's latest return), a group none of whose nodes can be, and
    required demand (with the smallest demand of every group) above
    ``n_vehicles × capacity``.  Optional nodes that cannot be served are
    simply left out (``RoutingSolution.dropped``).
    """
    p = problem
    if p.n_nodes < 2:
        return
    why = _alone(p)
    grouped = p.grouped
    required = [
        i for i in range(1, p.n_nodes) if i not in grouped and math.isinf(p.penalty[i])
    ]
    reasons = [why[i] for i in required if why[i]]
    for gi, g in enumerate(p.groups):
        if all(why[i] for i in g):
            reasons.append(
                f"no node of group {gi} {list(g)[:5]} can be served: "
                + "; ".join(why[i] for i in g[:2])
            )
    if p.capacity is not None:
        need = float(p.demand[required].sum()) + sum(
            float(p.demand[list(g)].min()) for g in p.groups
        )
        room = p.n_vehicles * p.capacity
        if need > room + 1e-9:
            reasons.append(
                f"the required demand {need:g} is more than {p.n_vehicles} "
                f"vehicles x capacity {p.capacity} = {room:g}"
                + (
                    f" (at least {math.ceil(need / p.capacity - 1e-9)} vehicles "
                    "are needed)"
                    if p.capacity > 0
                    else ""
                )
            )
    if reasons:
        more = (
            f" ({len(reasons)} problems, the first 5 shown)" if len(reasons) > 5 else ""
        )
        raise SpecificationError(
            "the routing problem has no solution"
            + more
            + ": "
            + "; ".join(reasons[:5])
            + " (fix: make such nodes optional with a finite penalty, widen the "
            "windows or the depot's hours, or raise capacity or n_vehicles)"
        )


# -- integer data ----------------------------------------------------------------------
#: Largest drop penalty handed to a solver (in scaled integer units).  Both
#: solvers add costs in 64-bit integers (PyVRP's ``Cost``, OR-Tools' int64
#: with saturating sums); with at most this much per node, a solution's
#: total stays far below ``2**63`` for any instance that fits in memory.
_MAX_PENALTY = 10**12
_MAX_TOTAL = 2**62


def _serve_bounds(
    p: RoutingProblem,
    cost: np.ndarray,
    dur: np.ndarray,
    service: np.ndarray,
    early: np.ndarray,
    late: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Upper bounds (scaled integers) on what serving a node adds to the objective.

    Serving node ``i`` in a route adds at most the dearest arc into ``i``
    plus the dearest arc out of it (the arc it replaces costs >= 0) and
    ``duration_cost`` times the longest possible route duration ``H``
    (waiting included): the depot window when it is finite, else the latest
    window opening plus all service and the longest way out of every node.
    Arcs longer than ``H`` cannot lie on any route and are ignored (e.g.
    stand-ins for unreachable pairs).  ``early`` and ``late`` are the windows
    from the solvers' time origin (:func:`_time_origin`), unscaled.  Returns
    the bounds per node and a bound on the cost of all routes together.
    """
    n = p.n_nodes
    e0 = int(np.ceil(early[0] * p.scale - 1e-9))
    if np.isfinite(late[0]):
        horizon = max(0, int(np.floor(late[0] * p.scale + 1e-9)) - e0)
        usable = dur <= horizon
    else:
        opens = int(np.ceil(float(early.max()) * p.scale))
        horizon = max(0, opens - e0) + int(service.sum()) + int(dur.max(axis=1).sum())
        usable = np.ones((n, n), dtype=bool)
    np.fill_diagonal(usable, False)
    arc = np.where(usable, cost, 0)
    out_max = arc.max(axis=1) if n > 1 else np.zeros(n, dtype=np.int64)
    in_max = arc.max(axis=0) if n > 1 else np.zeros(n, dtype=np.int64)
    dc = int(p.duration_cost)
    serve = in_max + out_max + dc * horizon
    m = p.n_vehicles
    routes = int(out_max[1:].sum()) + m * (int(out_max[0]) + dc * horizon)
    return serve.astype(np.int64), routes


def _check_scaled_cells(p: RoutingProblem) -> None:
    """A :class:`SpecificationError` naming the cost and duration cells too
    large for the solvers' integers once scaled.

    A solution has at most ``2 n`` arcs (``n`` nodes), so with every cell
    below ``_MAX_TOTAL / (2 n)`` no sum of arcs overflows 64-bit integers
    (a cell above ``2**63`` would even wrap to a negative number, on which
    PyVRP's search never ends).
    """
    limit = _MAX_TOTAL / (2 * p.n_nodes)
    for name, m in (("cost", p.cost), ("duration", p.duration)):
        big = np.argwhere(m * p.scale >= limit)
        if not len(big):
            continue
        cells = [(int(i), int(j)) for i, j in big[:5]]
        top = float(m.max())
        other = m[m * p.scale < limit]
        near = float(other.max()) if other.size else 0.0
        raise SpecificationError(
            f"{name} too large for the solvers' integers: "
            + (
                f"{len(big)} cells, the first {len(cells)}: {cells} have "
                if len(big) > 1
                else f"cell {cells[0]} has "
            )
            + f"{[float(m[c]) for c in cells]}, up to {top:.4g} x scale {p.scale:g} "
            f"= {top * p.scale:.4g}, at or above {limit:.4g} (2**62 / (2 x "
            f"{p.n_nodes} nodes), so that no set of routes overflows); fix: for "
            f"pairs that cannot be travelled use a stand-in just above any "
            f"route's length (e.g. {max(10 * near * p.n_nodes, 1.0):.4g}), or "
            "make the problem's units or scale smaller"
        )


def _time_origin(p: RoutingProblem) -> float:
    """The time the solvers count from: the depot's opening ``early[0]``, or
    the earliest finite ``late`` when a window closes before it.

    No service starts before the depot opens, so an ``early`` before the
    origin is the origin (clipped to 0 after the shift) and every ``late``
    stays >= 0: shifting loses nothing, whatever the clock (Unix timestamps
    in seconds × ``scale=1000`` exceed :data:`_INF_TIME` unshifted).
    """
    fin = np.isfinite(p.late)
    return float(min(p.early[0], p.late[fin].min())) if fin.any() else float(p.early[0])


def _int_data(p: RoutingProblem) -> dict[str, np.ndarray]:
    """The problem in the solvers' integers, with drop penalties checked.

    A finite penalty is kept as given (scaled, rounded), up to
    :data:`_MAX_PENALTY`; a penalty above that cap (a stand-in for "as good
    as required") is lowered to the cap, which must still exceed the largest
    cost of serving the node (:func:`_serve_bounds`), so that such a node is
    left out only when no route can hold it.  ``big`` (the OR-Tools penalty of
    a "pick exactly one" group) exceeds all drop penalties together plus the
    cost of any set of routes: leaving a group out never pays.
    """
    s = p.scale
    _check_scaled_cells(p)
    cost = np.rint(p.cost * s).astype(np.int64)
    dur = np.ceil(p.duration * s - 1e-9).astype(np.int64)
    service = np.ceil(p.service * s - 1e-9).astype(np.int64)
    origin = _time_origin(p)
    early_f = np.maximum(p.early - origin, 0.0)
    late_f = p.late - origin  # inf stays inf
    fin = np.isfinite(late_f)
    i = int(np.argmax(early_f))
    if early_f[i] * s >= _INF_TIME:
        first = (
            f"the depot opens at {origin:.12g}"
            if origin == p.early[0]
            else f"node {int(np.argmin(p.late))}'s window closes at {origin:.12g}"
        )
        raise SpecificationError(
            f"time windows too long for the solvers' integers: node {i} has early "
            f"{p.early[i]:.12g}, {early_f[i]:.12g} after the earliest time that "
            f"matters ({first}), {early_f[i] * s:.4g} once scaled by {s:g}, at "
            f"or above their limit {_INF_TIME:.0e}; fix: give all times on one "
            "clock starting near the depot's opening (e.g. seconds since the "
            "first day's midnight), use a coarser time unit, or lower scale"
        )
    early = np.ceil(early_f * s - 1e-9).astype(np.int64)
    # a window that closes after the solvers' horizon is as good as open
    late = np.full(p.n_nodes, _INF_TIME, dtype=np.int64)
    late[fin] = np.minimum(
        np.floor(np.minimum(late_f[fin], 1e15) * s + 1e-9), _INF_TIME
    ).astype(np.int64)
    # demand is whole (RoutingProblem refuses fractions with a capacity) and
    # unused by the solvers without one
    demand = np.rint(p.demand).astype(np.int64)
    serve, routes = _serve_bounds(p, cost, dur, service, early_f, late_f)
    fin = np.isfinite(p.penalty)
    fin[0] = False
    scaled = np.where(fin, p.penalty * s, 0.0)
    capped = fin & (scaled > _MAX_PENALTY)
    if capped.any() and int(serve[capped].max()) >= _MAX_PENALTY:
        raise SpecificationError(
            f"routing costs too large for the solvers' integers: serving a node "
            f"may cost up to {int(serve.max())} (scaled by {s:g}), above the "
            f"largest drop penalty {_MAX_PENALTY}; fix: lower scale or the "
            "cost and time units"
        )
    pen = np.where(fin, np.rint(np.minimum(scaled, _MAX_PENALTY)), -1).astype(np.int64)
    big = int(pen[fin].sum()) + routes + 1
    if big >= _MAX_TOTAL:
        raise SpecificationError(
            f"routing costs too large for the solvers' integers: drop penalties "
            f"and routes may add up to {big} (scaled by {s:g}), above {_MAX_TOTAL}; "
            "fix: lower the penalties, scale or the cost units"
        )
    return {
        "cost": cost,
        "dur": dur,
        "service": service,
        "early": early,
        "late": late,
        "demand": demand,
        "penalty": pen,
        "serve": serve,
        "big": np.array([big], dtype=np.int64),
    }


# -- PyVRP ------------------------------------------------------------------------
def _solve_pyvrp(
    p: RoutingProblem, time_limit: float, seed: int, max_iterations: int | None
) -> list[list[int]]:
    try:
        import pyvrp
    except ImportError as err:  # pragma: no cover - optional extra
        raise ImportError(
            "backend='pyvrp' needs PyVRP: pip install 'terrakit[routing]' "
            "(or use backend='ortools')"
        ) from err
    d = _int_data(p)
    n = p.n_nodes
    grouped = p.grouped
    # PyVRP measures the time horizon from 0; windows are absolute
    locs = [pyvrp.Location(x=0.0, y=0.0) for _ in range(n)]
    depot = pyvrp.Depot(
        location=0, tw_early=int(d["early"][0]), tw_late=int(d["late"][0])
    )
    clients = []
    group_of = {i: gi for gi, g in enumerate(p.groups) for i in g}
    for i in range(1, n):
        required = d["penalty"][i] < 0 and i not in grouped
        prize = 0 if (required or i in grouped) else int(d["penalty"][i])
        clients.append(
            pyvrp.Client(
                location=i,
                delivery=[int(d["demand"][i])] if p.capacity is not None else [],
                service_duration=int(d["service"][i]),
                tw_early=int(d["early"][i]),
                tw_late=int(d["late"][i]),
                prize=prize,
                required=bool(required),
                group=group_of.get(i),
            )
        )
    groups = [
        pyvrp.ClientGroup(clients=[i - 1 for i in g], required=True) for g in p.groups
    ]
    vt = pyvrp.VehicleType(
        num_available=p.n_vehicles,
        capacity=[int(p.capacity)] if p.capacity is not None else [],
        tw_early=int(d["early"][0]),
        tw_late=int(d["late"][0]),
        unit_duration_cost=int(p.duration_cost),
    )
    dist = d["cost"].copy()
    dur = d["dur"].copy()
    dist_mats: list[Any] = [dist]
    dur_mats: list[Any] = [dur]
    data = pyvrp.ProblemData(locs, clients, [depot], [vt], dist_mats, dur_mats, groups)
    sol = _pyvrp_search(data, p, time_limit, seed, max_iterations)
    return [[int(a.idx) + 1 for a in r if a.is_client()] for r in sol.routes()]


def _pyvrp_search(
    data: Any,
    p: RoutingProblem,
    time_limit: float,
    seed: int,
    max_iterations: int | None,
) -> Any:
    """PyVRP's iterated local search with the *whole* run inside ``time_limit``.

    ``pyvrp.solve`` starts its clock after building and improving the initial
    solution, which takes a second or more on 300 nodes; here the clock starts
    first.  PyVRP's exhaustive local search of the start solution has no
    clock of its own (4 s on a 1,000-node tour): it is skipped when it is
    expected to take more than :data:`START_SEARCH_SHARE` of ``time_limit``
    (:func:`_start_search_seconds`, from the problem's size alone so that the
    choice does not depend on the machine's load), and the search then starts
    from the unimproved start.  The first step of the iterated local search
    improves its start much as the exhaustive search would, also without a
    clock; so a skipped search starts from nearest-neighbour routes
    (:func:`_nearest_neighbour_routes`) rather than a random solution, which
    cuts that step on 1,000 stops and one vehicle from 16 s to under 4 s (the
    run still overruns a short ``time_limit`` by that much, with a
    :class:`~terrakit.exceptions.TimeLimitWarning`).

    A single vehicle without windows (a TSP, its arc weights ``cost +
    duration_cost × duration``) starts from the
    nearest-neighbour tour instead of a random one; on a *symmetric* TSP, and
    on any TSP of at most 8 nodes, the search after PyVRP's local search is
    :func:`terrakit.routing.tsp.improve` (2-opt and Lin–Kernighan-style 3-opt
    chains on alpha-nearness neighbour lists, local double-bridge kicks; all
    tours of at most 8 nodes), because PyVRP 0.14 has no intra-route 2-opt
    and stalls on tours with crossings (pr264: 12.5 %).
    """
    import pyvrp
    from pyvrp import IteratedLocalSearch, PenaltyManager, SolveParams
    from pyvrp.search import (
        LocalSearch,
        PerturbationManager,
        compute_neighbours,
    )
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

    t0 = time.perf_counter()
    params = SolveParams()
    rng = pyvrp.RandomNumberGenerator(seed=int(seed))
    pm = PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)
    tsp = (
        p.n_vehicles == 1
        and not p.groups
        and np.isinf(p.late).all()
        and not (p.early > 0).any()
        and np.isinf(p.penalty[1:]).all()
    )
    # a route without windows lasts its travel time plus the service, the
    # same on every tour: the TSP's arc weight is cost + duration_cost × time
    weight = p.cost + p.duration_cost * p.duration if p.duration_cost else p.cost
    sym = tsp and (
        2 < p.n_nodes <= EXACT_TSP_NODES or (p.n_nodes > 4 and is_symmetric(weight))
    )
    exhaustive = _start_search_seconds(p) <= max(
        START_SEARCH_SHARE * time_limit, START_SEARCH_FLOOR
    )
    if tsp and p.n_nodes > 2:
        first = _nearest_neighbour(weight)
        start = pyvrp.Solution(data, [[i - 1 for i in first]])
    elif not exhaustive and p.n_nodes > 2:
        # the first ILS step searches its start without a clock as well: from
        # a random 1,000-stop route 16 s, from these routes under 4 s
        start = pyvrp.Solution(
            data, [[i - 1 for i in r] for r in _nearest_neighbour_routes(p, weight)]
        )
    else:
        start = pyvrp.Solution.make_random(data, rng)
    ls: Any = None
    if exhaustive or not sym or TSP_PYVRP_SHARE > 0:
        neighbours = compute_neighbours(data, params.neighbourhood)
        ls = LocalSearch(
            data, rng, neighbours, PerturbationManager(params.perturbation)
        )
        for op in params.operators:
            if op.supports(data):
                ls.add_operator(op(data))
    init = ls(start, pm.max_cost_evaluator(), exhaustive=True) if exhaustive else start
    if not sym:
        left = max(0.01, time_limit - (time.perf_counter() - t0))
        stop: Any = MaxRuntime(left)
        if max_iterations is not None:
            stop = MultipleCriteria([MaxIterations(int(max_iterations)), stop])
        algo = IteratedLocalSearch(data, pm, ls, init, params.ils)
        return algo.run(stop, False, False, params.display_interval).best
    # a symmetric TSP: PyVRP's search has no intra-route 2-opt (its operators
    # relocate and swap segments), so after a share of the time its tour goes
    # to terrakit's 2-opt / 3-opt iterated local search (terrakit.routing.tsp)
    n_kicks = None if max_iterations is None else int(max_iterations)
    found = init
    if TSP_PYVRP_SHARE > 0:
        left = max(0.005, TSP_PYVRP_SHARE * time_limit - (time.perf_counter() - t0))
        stop = MaxRuntime(left)
        if n_kicks is not None:
            stop = MultipleCriteria([MaxIterations(max(1, n_kicks // 4)), stop])
        algo = IteratedLocalSearch(data, pm, ls, init, params.ils)
        found = algo.run(stop, False, False, params.display_interval).best
    routes = found.routes()
    tour = np.array([0, *[int(a.idx) + 1 for a in routes[0] if a.is_client()]])
    left = max(0.005, time_limit - (time.perf_counter() - t0))
    tour = improve(weight, tour, time_limit=left, seed=seed, max_kicks=n_kicks)
    return pyvrp.Solution(data, [[int(i) - 1 for i in tour[1:]]])


#: Share of the time PyVRP's iterated local search gets on a symmetric TSP
#: before the 2-opt / 3-opt search of :func:`terrakit.routing.tsp.improve`
#: takes over.  0: PyVRP only builds the start (nearest neighbour, then its
#: local search); on TSPLIB at 5 s any PyVRP share made the tours longer
#: (pr264: 0 % gap with share 0, 6 % with 0.25), see benchmarks/README.md.
TSP_PYVRP_SHARE = 0.0

#: TSPs of at most this many nodes (depot included) are solved exactly by
#: :func:`terrakit.routing.tsp.improve` (all ``(n-1)!`` tours, ≤ 5,040).
EXACT_TSP_NODES = 8

#: Seconds per node × node of a route that PyVRP's exhaustive local search
#: of the start solution was seen to take: 9.7 s on a random 1,000-node tour
#: (4.3 s from the nearest-neighbour tour, 0.25 s for 1,000 clients in ~50
#: routes of capacity), on the two shared cores of the development machine.
START_SEARCH_SECONDS = 1e-5
#: The start's exhaustive search is skipped when it is expected to take more
#: than this share of ``time_limit`` and more than
#: :data:`START_SEARCH_FLOOR` seconds (small problems always get it: a day's
#: route of ~40 nodes takes a few milliseconds).
START_SEARCH_SHARE = 0.25
START_SEARCH_FLOOR = 0.1


def _start_search_seconds(p: RoutingProblem) -> float:
    """Expected seconds of PyVRP's exhaustive search of a start solution.

    It grows with the number of nodes times the length of a route: one route
    with a single vehicle, else as many routes as the capacity needs at
    least (one when the capacity does not bind).
    """
    n = p.n_nodes
    routes = 1
    if p.n_vehicles > 1 and p.capacity:
        need = math.ceil(float(p.demand[1:].sum()) / p.capacity - 1e-9)
        routes = max(1, min(p.n_vehicles, need))
    return START_SEARCH_SECONDS * n * n / routes


def _nearest_neighbour(cost: np.ndarray) -> list[int]:
    """Nearest-neighbour tour from node 0 (node 0 omitted)."""
    n = cost.shape[0]
    left = np.ones(n, dtype=bool)
    left[0] = False
    tour: list[int] = []
    cur = 0
    for _ in range(n - 1):
        row = np.where(left, cost[cur], np.inf)
        cur = int(np.argmin(row))
        left[cur] = False
        tour.append(cur)
    return tour


def _nearest_neighbour_routes(p: RoutingProblem, weight: np.ndarray) -> list[list[int]]:
    """A cheap start for a large problem: the nearest-neighbour tour over
    ``weight`` (windows ignored) of the ungrouped nodes and the first node of
    each group, cut into routes where the next stop would exceed the
    capacity, at most ``n_vehicles`` routes (the last takes the rest)."""
    skip = p.grouped - {g[0] for g in p.groups}
    keep = [i for i in range(p.n_nodes) if i not in skip]
    sub = weight[np.ix_(keep, keep)]
    tour = [keep[i] for i in _nearest_neighbour(sub)]
    if p.capacity is None or p.n_vehicles == 1:
        return [tour]
    routes: list[list[int]] = [[]]
    load = 0.0
    for i in tour:
        d = float(p.demand[i])
        if routes[-1] and load + d > p.capacity and len(routes) < p.n_vehicles:
            routes.append([])
            load = 0.0
        routes[-1].append(i)
        load += d
    return routes


def _greedy_routes(
    p: RoutingProblem, d: dict[str, np.ndarray], late: np.ndarray | None
) -> list[list[int]]:
    """Routes that keep every window, the capacity and the depot's hours,
    built stop by stop in the solvers' integers (``d`` of :func:`_int_data`).

    Each vehicle in turn leaves the depot at its opening and goes on to the
    stop whose service can start soonest (ties: the lowest node) among those
    it can still serve in their window, carry, and come back from by the
    depot's latest return (without time rules: the nearest by ``cost``
    that it can carry); it ends when none is left.  A group gets its
    first node that fits.  ``late`` holds the latest starts as the solver
    sees them (``None``: no time rules, only the capacity).  Nodes that fit
    in no route are left out, required ones too (the solver then refuses
    the routes): a start for OR-Tools when its own first solution does not
    come within the time limit.
    """
    n, m = p.n_nodes, p.n_vehicles
    dur, cost = d["dur"], d["cost"]
    service, early, demand = d["service"], d["early"], d["demand"]
    cap = math.inf if p.capacity is None else int(p.capacity)
    group_of = np.full(n, -1)
    for gi, g in enumerate(p.groups):
        group_of[list(g)] = gi
    left = np.ones(n, dtype=bool)
    left[0] = False
    routes: list[list[int]] = []
    while len(routes) < m and left.any():
        route: list[int] = []
        cur, t, load = 0, int(early[0]), 0
        while True:
            cand = np.flatnonzero(left)
            ok = load + demand[cand] <= cap
            if late is None:  # no time rules: the nearest
                key = cost[cur, cand]
            else:
                key = np.maximum(t + dur[cur, cand], early[cand])
                back = key + service[cand] + dur[cand, 0]
                ok &= (key <= late[cand]) & (back <= late[0])
            if not ok.any():
                break
            j = int(np.argmin(np.where(ok, key, np.iinfo(np.int64).max)))
            k = int(cand[j])
            route.append(k)
            if late is not None:
                t = int(key[j] + service[k])
            cur, load = k, load + int(demand[k])
            left[k] = False
            if group_of[k] >= 0:
                left[list(p.groups[group_of[k]])] = False
        if not route:  # a fresh vehicle serves none of the rest: no more will
            break
        routes.append(route)
    return routes


# -- OR-Tools --------------------------------------------------------------------------
def _solve_ortools(
    p: RoutingProblem, time_limit: float, max_iterations: int | None
) -> list[list[int]] | None:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    d = _int_data(p)
    n = p.n_nodes
    m = p.n_vehicles
    manager = pywrapcp.RoutingIndexManager(n, m, 0)
    routing = pywrapcp.RoutingModel(manager)
    cost_cb = routing.RegisterTransitMatrix(d["cost"].tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    # time: travel + service at the origin; also without windows when the
    # routes' durations are priced (duration_cost: the span cost below)
    timed = bool(
        np.isfinite(p.late).any()
        or (p.early > 0).any()
        or (p.service > 0).any()
        or p.duration_cost > 0
    )
    horizon = _INF_TIME
    if timed:
        tmat = d["dur"] + d["service"][:, None]
        horizon = int(
            min(
                _INF_TIME,
                max(
                    d["late"][0],
                    d["late"][np.isfinite(p.late)].max()
                    if np.isfinite(p.late).any()
                    else 0,
                )
                + tmat.max()
                + 1,
            )
        )
        t_cb = routing.RegisterTransitMatrix(tmat.tolist())
        routing.AddDimension(t_cb, horizon, horizon, False, "Time")
        tdim = routing.GetDimensionOrDie("Time")
        for i in range(1, n):
            idx = manager.NodeToIndex(i)
            lo, hi = int(d["early"][i]), int(min(d["late"][i], horizon))
            if lo > hi and (i in p.grouped or d["penalty"][i] >= 0):
                # opens after the horizon (after the depot closes): no route
                # can serve it, an empty range would fail the whole model
                routing.ActiveVar(idx).SetValue(0)
                continue
            tdim.CumulVar(idx).SetRange(lo, hi)
        lo0, hi0 = int(d["early"][0]), int(min(d["late"][0], horizon))
        for v in range(m):
            tdim.CumulVar(routing.Start(v)).SetRange(lo0, hi0)
            tdim.CumulVar(routing.End(v)).SetRange(lo0, hi0)
            routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(routing.Start(v)))
            routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(routing.End(v)))
        if p.duration_cost:
            tdim.SetSpanCostCoefficientForAllVehicles(int(p.duration_cost))
    if p.capacity is not None:
        dem = [int(x) for x in d["demand"]]
        dem_cb = routing.RegisterUnaryTransitVector(dem)
        routing.AddDimensionWithVehicleCapacity(
            dem_cb, 0, [int(p.capacity)] * m, True, "Load"
        )
    big = int(d["big"][0])
    grouped = p.grouped
    for i in range(1, n):
        if i in grouped:
            continue
        if d["penalty"][i] >= 0:
            routing.AddDisjunction([manager.NodeToIndex(i)], int(d["penalty"][i]))
    for g in p.groups:
        routing.AddDisjunction([manager.NodeToIndex(i) for i in g], big, 1)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    if max_iterations is not None:
        params.solution_limit = int(max_iterations)
    params.log_search = False
    t0 = time.perf_counter()
    sol = routing.SolveWithParameters(params)
    left = time_limit - (time.perf_counter() - t0)
    if sol is None and left > 0.001:
        # retry from a plainer first solution, in the time that is left
        params.first_solution_strategy = (
            routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
        )
        params.time_limit.FromMilliseconds(max(1, int(left * 1000)))
        sol = routing.SolveWithParameters(params)
    if sol is None:
        # no first solution in the time (its insertion heuristic does not
        # end in a second on ~1,500 stops with windows): start from greedy
        # routes that keep every rule (built in O(n²), well under a second),
        # searched from in the time that is left, if any
        late = np.minimum(d["late"], horizon) if timed else None
        start = _greedy_routes(p, d, late)
        m_routes = [[manager.NodeToIndex(i) for i in r] for r in start]
        m_routes += [[] for _ in range(m - len(m_routes))]
        first = routing.ReadAssignmentFromRoutes(m_routes, True) if start else None
        left = time_limit - (time.perf_counter() - t0)
        if first is not None and left > 0.001:
            params.time_limit.FromMilliseconds(max(1, int(left * 1000)))
            sol = routing.SolveFromAssignmentWithParameters(first, params)
        if sol is None:
            sol = first
    if sol is None:
        return None
    routes: list[list[int]] = []
    for v in range(m):
        idx = routing.Start(v)
        r: list[int] = []
        idx = sol.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            r.append(int(manager.IndexToNode(idx)))
            idx = sol.Value(routing.NextVar(idx))
        if r:
            routes.append(r)
    return routes

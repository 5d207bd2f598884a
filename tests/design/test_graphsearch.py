"""Min-max diameter search (``objective="diameter"``) on hand-checkable graphs."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, shortest_path
from scipy.spatial import Delaunay

from terrakit.design._graphsearch import (
    SearchOutcome,
    _cut_pieces,
    _diameters,
    anneal,
    diameter_search,
    grow_partition,
)
from terrakit.design._search import SearchSpace, edge_list, neighbour_lists

from .conftest import grid_adjacency, grid_xy


def _connected(labels: np.ndarray, adj: sp.csr_matrix) -> bool:
    for t in np.unique(labels):
        mem = np.flatnonzero(labels == t)
        n_comp = connected_components(adj[mem][:, mem], directed=False)[0]
        if n_comp != 1:
            return False
    return True


def _delaunay_instance(
    n: int, seed: int
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """Random planar (Delaunay) graph with edge lengths and 3 integer activities."""
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 100
    tri = Delaunay(xy)
    rows, cols = [], []
    for simplex in tri.simplices:
        for a in range(3):
            i, j = int(simplex[a]), int(simplex[(a + 1) % 3])
            rows += [i, j]
            cols += [j, i]
    adj = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    adj.data[:] = 1.0
    a = adj.tocoo()
    length = np.hypot(*(xy[a.row] - xy[a.col]).T)
    weighted = sp.csr_matrix((length, (a.row, a.col)), shape=(n, n))
    dist = shortest_path(weighted, directed=False)
    act = np.column_stack(
        [
            rng.integers(15, 100, n),
            rng.integers(4, 20, n),
            rng.integers(15, 400, n),
        ]
    ).astype(float)
    return adj.tocsr(), dist, act, xy


def _banded(
    n: int, seed: int, k: int, tolerance: float
) -> tuple[
    sp.csr_matrix, np.ndarray, np.ndarray, list[list[int]], np.ndarray, np.ndarray
]:
    """Delaunay instance with its neighbour lists and ±``tolerance`` bands."""
    adj, dist, act, _ = _delaunay_instance(n, seed)
    mean = act.sum(axis=0) / k
    lower = np.tile(np.ceil((1 - tolerance) * mean), (k, 1))
    upper = np.tile(np.floor((1 + tolerance) * mean), (k, 1))
    return adj, dist, act, neighbour_lists(adj, n), lower, upper


def _search(
    adj: sp.csr_matrix,
    dist: np.ndarray,
    act: np.ndarray,
    nbrs: list[list[int]],
    lower: np.ndarray,
    upper: np.ndarray,
    rng_seed: int,
    max_iter: int,
) -> tuple[np.ndarray, SearchOutcome]:
    """Grow a start and run the diameter search from it with a fixed budget."""
    rng = np.random.default_rng(rng_seed)
    start = grow_partition(nbrs, act, lower.shape[0], rng)
    space = SearchSpace(nbrs, edge_list(adj), act, lower, upper)
    out = diameter_search(
        start, space, dist, rng, time.perf_counter() + 60, max_iter=max_iter
    )
    return start, out


def test_grid_optimum_four_blocks() -> None:
    """6×6 grid into 4 connected parts of 8–10 cells: the optimum diameter is 4.

    Graph distance on the full grid is the L1 distance, and a set of L1
    diameter 3 holds at most 8 cells; some part holds ≥ 9 cells, so the
    diameter is ≥ 4, and the four 3×3 blocks reach it.
    """
    adj = grid_adjacency(6, 6)
    dist = shortest_path(adj, directed=False)
    nbrs = neighbour_lists(adj, 36)
    act = np.ones((36, 1))
    k = 4
    rng = np.random.default_rng(0)
    start = grow_partition(nbrs, act, k, rng)
    space = SearchSpace(
        nbrs, edge_list(adj), act, np.full((k, 1), 8.0), np.full((k, 1), 10.0)
    )
    out = diameter_search(
        start, space, dist, rng, time.perf_counter() + 30, max_iter=2000
    )
    assert out.feasible
    assert out.value == 4.0
    sizes = np.bincount(out.labels, minlength=k)
    assert sizes.min() >= 8 and sizes.max() <= 10
    assert _connected(out.labels, adj)


@pytest.mark.parametrize("seed", [0, 1])
def test_delaunay_bands_connectivity_and_value(seed: int) -> None:
    """120-unit planar graph, 4 territories, three activities within ±10 %."""
    k = 4
    adj, dist, act, nbrs, lower, upper = _banded(120, seed, k, 0.10)
    start, out = _search(adj, dist, act, nbrs, lower, upper, seed, 4000)
    start_value = float(_diameters(start, dist, k).max())
    assert out.feasible
    sums = np.zeros((k, 3))
    np.add.at(sums, out.labels, act)
    assert np.all(sums >= lower) and np.all(sums <= upper)
    assert _connected(out.labels, adj)
    assert out.value == pytest.approx(float(_diameters(out.labels, dist, k).max()))
    assert out.value < start_value


def test_deterministic_for_a_fixed_seed_and_budget() -> None:
    inst = _banded(80, 3, 3, 0.10)
    runs = [_search(*inst, 7, 1500)[1] for _ in range(2)]
    assert runs[0].iterations == runs[1].iterations == 1500
    assert runs[0].labels.tolist() == runs[1].labels.tolist()
    assert runs[0].value == runs[1].value


def test_locked_units_stay() -> None:
    k = 3
    adj, dist, act, nbrs, lower, upper = _banded(80, 4, k, 0.15)
    rng = np.random.default_rng(0)
    start = grow_partition(nbrs, act, k, rng)
    locked = np.full(80, -1)
    pinned = [int(np.flatnonzero(start == t)[0]) for t in range(k)]
    locked[pinned] = start[pinned]
    space = SearchSpace(nbrs, edge_list(adj), act, lower, upper, locked=locked)
    out = anneal(
        start,
        space,
        "diameter",
        rng,
        time.perf_counter() + 60,
        dist=dist,
        max_iter=1500,
    )
    assert out.labels[pinned].tolist() == start[pinned].tolist()
    assert _connected(out.labels, adj)


def test_cut_pieces_keeps_the_largest_piece() -> None:
    """Path 0-1-2-3-4-5 in one territory: without unit 1, {0} is cut off."""
    adj = grid_adjacency(6, 1)
    nbrs = neighbour_lists(adj, 6)
    labels = np.zeros(6, dtype=np.int64)
    assert _cut_pieces(1, labels, nbrs) == [0]
    assert sorted(_cut_pieces(3, labels, nbrs)) == [4, 5]
    assert _cut_pieces(0, labels, nbrs) == []
    labels[4:] = 1
    assert _cut_pieces(3, labels, nbrs) == []


def test_anneal_diameter_needs_distances() -> None:
    adj = grid_adjacency(3, 3)
    space = SearchSpace.from_adjacency(
        adj, np.ones((9, 1)), np.ones((1, 1)), np.full((1, 1), 9.0)
    )
    with pytest.raises(ValueError, match="needs the distance matrix"):
        anneal(
            np.zeros(9, dtype=np.int64),
            space,
            "diameter",
            np.random.default_rng(0),
            time.perf_counter() + 1,
        )


def test_a_run_with_an_iteration_budget_says_when_the_clock_stopped_it() -> None:
    """``clock_cut`` is true only when ``max_iter`` was given and the deadline
    (here already past: no timing involved) stopped the run before it; a
    run without a budget follows the clock by design, and a budget spent in
    full is not cut."""
    adj, dist, act, nbrs, lower, upper = _banded(40, 2, 2, 0.10)
    rng = np.random.default_rng(0)
    start = grow_partition(nbrs, act, 2, rng)
    space = SearchSpace(nbrs, edge_list(adj), act, lower, upper)
    past = time.perf_counter()
    for objective in ("cut_edges", "diameter"):
        kw = {"dist": dist}
        cut = anneal(start, space, objective, rng, past, max_iter=10**6, **kw)
        assert cut.clock_cut and cut.iterations < 10**6
        clock = anneal(start, space, objective, rng, past, **kw)
        assert not clock.clock_cut
        full = anneal(
            start, space, objective, rng, time.perf_counter() + 60, max_iter=300, **kw
        )
        assert not full.clock_cut


def _brute_force(
    act: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    value: Callable[[np.ndarray], float],
    locked: np.ndarray | None = None,
) -> float:
    """Least ``value`` over every 2-territory labelling within the bands
    (and the locks); ``inf`` when none is."""
    import itertools

    n = act.shape[0]
    best = np.inf
    for lab in itertools.product((0, 1), repeat=n):
        labels = np.array(lab)
        if locked is not None and np.any(labels[locked >= 0] != locked[locked >= 0]):
            continue
        sums = np.stack([act[labels == t].sum(axis=0) for t in (0, 1)])
        if np.all(sums >= lower) and np.all(sums <= upper):
            best = min(best, value(labels))
    return best


def test_cut_edges_on_a_graph_without_edges() -> None:
    """Regression (QA round 17): no edge (one unit, or islands only) crashed
    the annealing with numpy's bare 'high <= 0'.  Without contiguity units
    still move to any territory (every plan cuts 0 edges); with contiguity
    nothing can move and the start comes back."""
    act = np.array([[5.0], [1.0], [1.0], [1.0], [1.0], [1.0]])
    space = SearchSpace(
        [[] for _ in range(6)],
        np.zeros((0, 2), np.int64),
        act,
        np.full((2, 1), 4.5),
        np.full((2, 1), 5.5),
    )
    start = np.array([0, 0, 0, 1, 1, 1])
    for _ in range(2):  # deterministic for a seed and a budget
        out = anneal(
            start,
            space,
            "cut_edges",
            np.random.default_rng(0),
            time.perf_counter() + 60,
            contiguity=False,
            max_iter=2000,
        )
        # 5 | 1+1+1+1+1 is the only split within 4.5-5.5
        assert out.feasible and out.value == 0.0 and out.iterations == 2000
        assert np.flatnonzero(out.labels == out.labels[0]).tolist() == [0]
    stuck = anneal(
        start,
        space,
        "cut_edges",
        np.random.default_rng(0),
        time.perf_counter() + 60,
        contiguity=True,
        max_iter=2000,
    )
    assert stuck.labels.tolist() == start.tolist()
    assert (stuck.feasible, stuck.iterations) == (False, 0)
    one = SearchSpace(
        [[]],
        np.zeros((0, 2), np.int64),
        np.ones((1, 1)),
        np.ones((1, 1)),
        np.ones((1, 1)),
    )
    out = anneal(
        np.zeros(1, np.int64),
        one,
        "cut_edges",
        np.random.default_rng(0),
        time.perf_counter() + 60,
        contiguity=False,
    )
    assert (out.feasible, out.value, out.iterations) == (True, 0.0, 0)


def test_without_contiguity_an_island_territory_grows() -> None:
    """Regression (QA round 17): moves went only to a neighbour's territory,
    so territory 1, locked on the island unit 6 of a 4×3 grid, never grew
    and the ±30 % band was never met ("infeasible").  The annealing now
    reaches the brute-force optimum."""
    adj = grid_adjacency(4, 3, skip=(6,))
    nbrs = neighbour_lists(adj, 12)
    act = np.array([8, 26, 10, 14, 24, 6, 14, 14, 2, 2, 32, 4], float)[:, None]
    mean = act.sum() / 2
    lower, upper = np.full((2, 1), 0.7 * mean), np.full((2, 1), 1.3 * mean)
    locked = np.full(12, -1)
    locked[[0, 6]] = [0, 1]
    space = SearchSpace(nbrs, edge_list(adj), act, lower, upper, locked=locked)
    edges = edge_list(adj)

    def cut(labels: np.ndarray) -> float:
        return float(np.count_nonzero(labels[edges[:, 0]] != labels[edges[:, 1]]))

    optimum = _brute_force(act, lower, upper, cut, locked)
    assert optimum == 2.0
    start = np.zeros(12, dtype=np.int64)
    start[6] = 1
    runs = [
        anneal(
            start,
            space,
            "cut_edges",
            np.random.default_rng(1),
            time.perf_counter() + 60,
            contiguity=False,
            max_iter=20_000,
        )
        for _ in range(2)
    ]
    assert runs[0].labels.tolist() == runs[1].labels.tolist()
    out = runs[0]
    assert out.feasible and out.value == optimum == cut(out.labels)
    assert out.labels[[0, 6]].tolist() == [0, 1]


def test_diameter_without_contiguity_on_islands() -> None:
    """Regression (QA round 17): with no edge at all (every unit an island)
    the search found no move and gave up at once ("infeasible"), though 770
    of the 4096 splits meet ±10 %.  It now reaches the brute-force optimum."""
    xy = grid_xy(4, 3)
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    act = np.array([8, 26, 10, 14, 24, 6, 14, 14, 2, 2, 32, 4], float)[:, None]
    mean = act.sum() / 2
    lower, upper = np.full((2, 1), 0.9 * mean), np.full((2, 1), 1.1 * mean)
    space = SearchSpace(
        [[] for _ in range(12)], np.zeros((0, 2), np.int64), act, lower, upper
    )
    optimum = _brute_force(
        act, lower, upper, lambda lab: float(_diameters(lab, dist, 2).max())
    )
    start = np.array([0] * 6 + [1] * 6)
    out = diameter_search(
        start,
        space,
        dist,
        np.random.default_rng(0),
        time.perf_counter() + 60,
        contiguity=False,
        max_iter=3000,
    )
    assert out.feasible
    assert out.value == pytest.approx(optimum)
    sums = np.stack([act[out.labels == t].sum(axis=0) for t in (0, 1)])
    assert np.all(sums >= lower) and np.all(sums <= upper)


# -- QA round 19: weights, distance limits, locks, contiguity, draws ----------------


def _weighted_path() -> sp.csr_matrix:
    """Path 0-1-2-3 with edge weights 0.9, 0.1, 0.9: two territories of 1-3
    units cut one edge, the optimum the light middle one (0.1)."""
    a = sp.coo_matrix(([0.9, 0.1, 0.9], ([0, 1, 2], [1, 2, 3])), shape=(4, 4))
    return (a + a.T).tocsr()


def test_cut_edges_anneal_weighs_the_edges() -> None:
    """Regression (QA round 19): the annealing counted cut edges (every
    single cut of the path is 1 edge), so it kept the start's 0.9 cut; it
    now sums the weights and reaches the 0.1 cut."""
    adj = _weighted_path()
    space = SearchSpace.from_adjacency(
        adj, np.ones((4, 1)), np.full((2, 1), 1.0), np.full((2, 1), 3.0)
    )
    out = anneal(
        np.array([0, 1, 1, 1]),
        space,
        "cut_edges",
        np.random.default_rng(0),
        time.perf_counter() + 60,
        max_iter=2000,
    )
    assert out.feasible
    assert out.value == pytest.approx(0.1)
    assert out.labels[0] == out.labels[1] != out.labels[2] == out.labels[3]


def test_cut_bound_counts_components_and_the_lightest_edges() -> None:
    from terrakit.design._graphsearch import cut_bound

    assert cut_bound(_weighted_path(), 2) == pytest.approx(0.1)
    assert cut_bound(_weighted_path(), 3) == pytest.approx(1.0)
    assert cut_bound(grid_adjacency(3, 3), 3) == 2.0  # k - 1 on unit weights
    # two components, two territories: nothing need be cut
    assert cut_bound(grid_adjacency(4, 1, skip=(1,)), 2) == 0.0


def test_heuristic_cut_edges_bound_is_valid_for_weights() -> None:
    """Regression (QA round 19): the heuristic's bound was k - 1 = 1 whatever
    the weights; clipped to a 0.9 cut it read "optimal" (seed 0) while the
    optimum is 0.1.  The bound is now the lightest edge, and every seed finds
    the 0.1 cut."""
    from terrakit.design.heuristic import solve_heuristic
    from terrakit.design.problem import DesignProblem

    xy = grid_xy(4, 1)
    p = DesignProblem(
        unit_ids=np.arange(4),
        activities={"pop": np.ones(4)},
        n_territories=2,
        cost=((xy[:, None] - xy[None]) ** 2).sum(-1),
        tolerance={"pop": 0.5},
        center_mode="choose",
        center_units=np.arange(4),
        adjacency=_weighted_path(),
        contiguity=True,
        objective="cut_edges",
    )
    for seed in range(4):
        res = solve_heuristic(p, time_limit=20, seed=seed, max_iter=2000)
        assert res.objective == pytest.approx(0.1)
        assert res.lower_bound == pytest.approx(0.1)


def test_anneal_and_diameter_search_keep_units_where_allowed() -> None:
    """Regression (QA round 19): the graph searches ignored the distance
    limit (``allowed``).  Without contiguity on a 3×3 grid, unit 8 may not
    join territory 0 nor unit 0 territory 1: no move breaks that, and the
    best plan found honours it."""
    adj = grid_adjacency(3, 3)
    dist = shortest_path(adj, directed=False)
    space = SearchSpace.from_adjacency(
        adj, np.ones((9, 1)), np.full((2, 1), 4.0), np.full((2, 1), 5.0)
    )
    allowed = np.ones((9, 2), dtype=bool)
    allowed[8, 0] = allowed[0, 1] = False
    start = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    for objective in ("cut_edges", "diameter"):
        out = anneal(
            start,
            space,
            objective,
            np.random.default_rng(0),
            time.perf_counter() + 60,
            dist=dist,
            contiguity=False,
            max_iter=3000,
            allowed=allowed,
        )
        assert out.feasible
        assert out.labels[8] == 1 and out.labels[0] == 0
    # a start breaking the limit is not reported feasible before it is mended
    bad = start.copy()
    bad[[0, 8]] = [1, 0]
    stuck = anneal(
        bad,
        space,
        "cut_edges",
        np.random.default_rng(0),
        time.perf_counter() + 60,
        contiguity=False,
        max_iter=0,
        allowed=allowed,
    )
    assert not stuck.feasible


def test_a_start_in_pieces_is_not_reported_feasible() -> None:
    """Regression (QA round 19): a start meeting the bands but with a
    territory in two pieces came back as "feasible" (the searches only keep
    connectivity, they never checked it)."""
    adj = grid_adjacency(4, 1)
    space = SearchSpace.from_adjacency(
        adj, np.ones((4, 1)), np.full((2, 1), 2.0), np.full((2, 1), 2.0)
    )
    dist = shortest_path(adj, directed=False)
    start = np.array([0, 1, 1, 0])  # territory 0 = {0, 3}: two pieces
    for objective in ("cut_edges", "diameter"):
        out = anneal(
            start,
            space,
            objective,
            np.random.default_rng(0),
            time.perf_counter() + 60,
            dist=dist,
            max_iter=0,
        )
        assert not out.feasible


def test_grow_partition_seeds_territories_with_their_locked_units() -> None:
    """Locked units start in their territory (and are never claimed by
    another), and a unit is only taken by a territory it is allowed in."""
    adj = grid_adjacency(4, 4)
    nbrs = neighbour_lists(adj, 16)
    locked = np.full(16, -1)
    locked[[0, 15, 3]] = [0, 1, 2]
    allowed = np.ones((16, 3), dtype=bool)
    allowed[:8, 1] = False  # territory 1 only in the lower half
    for seed in range(5):
        lab = grow_partition(
            nbrs,
            np.ones((16, 1)),
            3,
            np.random.default_rng(seed),
            locked=locked,
            allowed=allowed,
        )
        assert lab[[0, 15, 3]].tolist() == [0, 1, 2]
        assert not np.any(lab[:8] == 1)


def _toy(nx: int, ny: int, reps: int, seed: int) -> object:
    from terrakit.data.synthetic import toy_grid

    return toy_grid(nx, ny, n_reps=reps, seed=seed)


def _pieces(problem: object, columns: np.ndarray) -> list[int]:
    from terrakit.design.problem import DesignProblem

    assert isinstance(problem, DesignProblem) and problem.adjacency is not None
    terr, _ = problem.territory_index(columns)
    adj = sp.csr_matrix(problem.adjacency)
    return [
        int(connected_components(adj[terr == t][:, terr == t], directed=False)[0])
        for t in np.unique(terr)
    ]


def test_diameter_search_keeps_territories_whole_after_units_change_hands() -> None:
    """Regression (QA round 19): the removability cache was keyed on a
    per-territory counter; after a unit changed territory the new
    territory's counter could equal the stored one, an old "removable"
    answer was reused and a territory left in two pieces (toy 3×3, seed 2:
    status "infeasible", 22.343 km).  The brute-force optimum is 22.405 km."""
    import warnings

    import terrakit as tk
    from terrakit.design.align import build_problem

    study = _toy(3, 3, 3, 2)
    kw = {"balance": {"workload": 0.3}, "objective": "diameter"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tk.design.align(study, **kw, seed=2, max_iter=1000, time_limit=30)
    p = build_problem(study, **kw)
    assert _pieces(p, np.asarray(res.columns)) == [1, 1, 1]
    assert res.status in ("feasible", "optimal")
    assert res.objective == pytest.approx(22.405, abs=1e-3)


def test_graph_heuristic_honours_locks_and_contiguity() -> None:
    """Regression (QA round 19): the grown start was overwritten by the locks
    (u4 pinned to R2 cut R1 in two) and never mended: "R1 has 2 pieces",
    status "infeasible".  Brute force and the MIP give 9 cut edges."""
    import warnings

    import terrakit as tk

    study = _toy(3, 3, 2, 0)
    kw = {
        "objective": "cut_edges",
        "locked": {"u4": "R2"},
        "balance": {"workload": 0.4},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tk.design.align(
            study, solver="heuristic", time_limit=20, max_iter=1500, seed=0, **kw
        )
    assert res.status in ("feasible", "optimal"), res.info.get("violations")
    assert res.objective == 9.0
    assert res.alignment.assignment["u4"] == "R2"


def test_graph_heuristic_honours_max_distance() -> None:
    """Regression (QA round 19): the cut-edge heuristic moved a unit to a rep
    more than max_distance_km away ("1 units at a forbidden center"); the
    MIP proves 8 cut edges."""
    import warnings

    import terrakit as tk

    study = _toy(3, 4, 2, 1)
    kw = {"balance": {"workload": 0.3}, "max_distance_km": 25, "objective": "cut_edges"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tk.design.align(
            study, solver="heuristic", time_limit=20, max_iter=2000, seed=0, **kw
        )
    assert res.status in ("feasible", "optimal"), res.info.get("violations")
    assert res.objective == 8.0


def test_graph_objective_balances_on_draws_in_the_share_asked() -> None:
    """Regression (QA round 19): with a graph objective every draw (up to
    200) was a hard band, not ``draws_share`` of them: "draw bands enforced
    in 40 of 40 draws" and status "infeasible", though 4 contiguous plans
    meet the band in 32 of the 40 draws (none in all 40)."""
    import warnings

    import terrakit as tk

    study = _toy(3, 3, 2, 0)
    units = study.units  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    draws = units["potential"].to_numpy()[:, None] * rng.lognormal(0, 0.1, (9, 40))
    kw = {
        "objective": "cut_edges",
        "n_territories": 3,
        "balance": {"workload": 0.4},
        "balance_on_draws": draws,
        "draws_share": 0.8,
        "draws_tolerance": 0.12,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tk.design.align(study, time_limit=20, max_iter=3000, seed=0, **kw)
    assert res.status != "infeasible", res.info.get("violations")
    assert res.info["draws_met"] >= 32
    assert not any("40 of 40" in note for note in res.info["notes"])


# -- QA round 21 ----------------------------------------------------------------------


@pytest.mark.parametrize("contiguity", [True, False])
def test_diameter_search_takes_a_first_plan_wider_than_its_unbalanced_start(
    contiguity: bool,
) -> None:
    """Regression (QA round 21): from a start out of band the threshold was
    the start's own diameter, and only a conflict-free balanced plan counted.
    Path 0-…-5, workloads 4, 1, 1, 1, 1, 2, two territories of exactly 5:
    the start {0, 1, 2} | {3, 4, 5} (6 | 4) has diameter 2, every balanced
    plan ({0, j} | the rest) at least 3, so none ever counted: the search
    ended "infeasible" (with contiguity) or on a worse plan (diameter 4,
    without).  It now takes the first balanced plan and goes on down from
    there to the brute-force optimum {0, 1} | {2, 3, 4, 5}, diameter 3."""
    adj = grid_adjacency(6, 1)
    dist = shortest_path(adj, directed=False)
    act = np.array([4.0, 1, 1, 1, 1, 2])[:, None]
    lower, upper = np.full((2, 1), 5.0), np.full((2, 1), 5.0)
    space = SearchSpace.from_adjacency(adj, act, lower, upper)
    start = np.array([0, 0, 0, 1, 1, 1])
    assert float(_diameters(start, dist, 2).max()) == 2.0
    optimum = _brute_force(
        act, lower, upper, lambda lab: float(_diameters(lab, dist, 2).max())
    )
    assert optimum == 3.0
    out = diameter_search(
        start,
        space,
        dist,
        np.random.default_rng(0),
        time.perf_counter() + 60,
        contiguity=contiguity,
        max_iter=500,
    )
    assert out.feasible
    assert out.value == optimum == float(_diameters(out.labels, dist, 2).max())
    assert out.labels[0] == out.labels[1] != out.labels[2]

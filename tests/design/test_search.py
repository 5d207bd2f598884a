"""Tests of the graph building blocks of the design heuristic
(terrakit.design._search): corridors to boxed-in roots, balancing by flows on
the territory graph, pairs of boundary moves and chains of them chosen by an
LP."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp

from terrakit.design._search import (
    SearchSpace,
    balance_flow,
    connect_roots,
    grow_balanced,
    grow_with_prices,
    improve_flow,
    improve_pairs,
    improve_single_moves,
    neighbour_lists,
    regrow_strays,
    removable,
    repair_bands,
    repair_bands_lp,
    territory_pieces,
    violation,
)

from .conftest import grid_adjacency, grid_xy


def _path(n: int) -> sp.csr_matrix:
    """Path graph 0 - 1 - ... - n-1."""
    i = np.arange(n - 1)
    a = sp.coo_matrix((np.ones(n - 1), (i, i + 1)), shape=(n, n))
    return (a + a.T).tocsr()


def _n_pieces(labels: np.ndarray, adj: sp.csr_matrix) -> int:
    return len(np.unique(territory_pieces(labels, adj)))


def _stuck_path() -> tuple[sp.csr_matrix, np.ndarray, SearchSpace]:
    """Path of 40 unit-weight units in 4 territories of 11, 10, 10, 9 units,
    band 10 ± 0.5, costs = squared distance to centers 5, 16, 26, 35: no
    single move lowers the violation.  ``(adj, labels, space)``."""
    n, k = 40, 4
    adj = _path(n)
    labels = np.repeat(np.arange(k), [11, 10, 10, 9])
    x = np.arange(n, dtype=float)
    cost = (x[:, None] - np.array([5.0, 16.0, 26.0, 35.0])[None, :]) ** 2
    space = SearchSpace.from_adjacency(
        adj, np.ones((n, 1)), np.full((k, 1), 9.5), np.full((k, 1), 10.5), cost=cost
    )
    return adj, labels, space


def test_balance_flow_ships_load_through_full_territories() -> None:
    """Path of 40 unit-weight units in 4 territories of 11, 10, 10, 9 units,
    band exactly 10 (±5 %).  No single move lowers the violation (the two
    middle territories are full), so the greedy repair is stuck; the flow
    shifts one unit along the chain 0 → 1 → 2 → 3 and every band holds."""
    k = 4
    adj, labels, space = _stuck_path()
    roots = np.array([0, 15, 25, 39])

    stuck = repair_bands(labels, space, by_cost=False)
    assert np.array_equal(stuck, labels)

    out = balance_flow(labels, space.replace(roots=roots))
    assert np.bincount(out, minlength=k).tolist() == [10, 10, 10, 10]
    assert _n_pieces(out, adj) == k
    assert np.array_equal(out[roots], np.arange(k))


def test_connect_roots_joins_a_boxed_in_home() -> None:
    """6×6 grid; territory 1 (right half) has its root at cell 18, inside
    territory 0's left half.  A corridor joins the root to its piece, the
    strays are re-grown, and both territories end connected, each holding
    its root; every unit is assigned once."""
    nx = ny = 6
    n = nx * ny
    adj = grid_adjacency(nx, ny)
    xy = grid_xy(nx, ny)
    labels = (xy[:, 0] >= 3).astype(np.int64)
    roots = np.array([0, 18])  # cell 18 = (0, 3) lies deep in the left half
    labels[roots] = [0, 1]
    centers = np.array([[0.0, 0.0], [4.5, 2.5]])
    cost = ((xy[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    act = np.ones((n, 1))
    band = np.full((2, 1), np.inf)
    space = SearchSpace.from_adjacency(adj, act, -band, band, roots=roots)
    assert territory_pieces(labels, adj)[18] != territory_pieces(labels, adj)[35]

    joined = connect_roots(labels, space, cost)
    comp = territory_pieces(joined, adj)
    assert comp[18] == comp[35]  # the root now reaches its main piece
    anchor = np.zeros(n)
    anchor[roots] = 1e6
    fixed, left = regrow_strays(joined, space, anchor, cost)
    assert left == 0
    assert fixed.shape == (n,) and set(fixed.tolist()) == {0, 1}
    assert _n_pieces(fixed, adj) == 2
    assert np.array_equal(fixed[roots], [0, 1])


def test_connect_roots_joins_a_locked_unit_to_its_territory() -> None:
    """4×4 grid in two halves; unit 3 (bottom right) is locked to territory 0
    (left half) and sits in the right half.  A corridor along the bottom row
    joins it, crossing no root; with ``roots=False`` locked units are still
    joined."""
    nx = ny = 4
    adj = grid_adjacency(nx, ny)
    xy = grid_xy(nx, ny)
    labels = (xy[:, 0] >= 2).astype(np.int64)
    labels[3] = 0
    roots = np.array([12, 15])
    locked = np.full(nx * ny, -1)
    locked[3] = 0
    cost = np.zeros((nx * ny, 2))
    act = np.ones((nx * ny, 1))
    band = np.full((2, 1), np.inf)
    space = SearchSpace.from_adjacency(
        adj, act, -band, band, roots=roots, locked=locked
    )
    for kw in ({}, {"roots": False}):
        joined = connect_roots(labels, space, cost, **kw)
        comp = territory_pieces(joined, adj)
        assert comp[3] == comp[0], kw  # the locked unit reaches its territory
        assert joined[2] == 0 and np.array_equal(joined[roots], [0, 1])


def _grid_case(seed: int) -> tuple:
    """10×10 grid, random workloads, 4 territories in quadrants, ±2 %."""
    rng = np.random.default_rng(seed)
    nx = ny = 10
    n = nx * ny
    adj = grid_adjacency(nx, ny)
    xy = grid_xy(nx, ny)
    work = rng.integers(5, 15, size=n).astype(float)
    homes = np.array([0, 9, 90, 99])
    cost = work[:, None] * ((xy[:, None, :] - xy[homes][None, :, :]) ** 2).sum(-1)
    labels = (xy[:, 0] >= 5).astype(np.int64) + 2 * (xy[:, 1] >= 5).astype(np.int64)
    act = work[:, None]
    mean = work.sum() / 4
    lower, upper = np.full((4, 1), 0.98 * mean), np.full((4, 1), 1.02 * mean)
    return adj, cost, act, lower, upper, labels, homes


def _grid_space(seed: int) -> tuple[sp.csr_matrix, np.ndarray, SearchSpace]:
    """:func:`_grid_case` with homes as roots, locked: ``(adj, labels,
    space)``."""
    adj, cost, act, lower, upper, labels, homes = _grid_case(seed)
    locked = np.full(len(labels), -1)
    locked[homes] = np.arange(4)
    space = SearchSpace.from_adjacency(
        adj, act, lower, upper, cost=cost, locked=locked, roots=homes
    )
    return adj, labels, space


def _repaired_grid(seed: int) -> tuple[sp.csr_matrix, np.ndarray, SearchSpace]:
    """:func:`_grid_space` after ``balance_flow`` and ``repair_bands``
    (ties in candidate order): ``(adj, labels, space)``."""
    adj, labels, space = _grid_space(seed)
    lab = balance_flow(labels, space)
    lab = repair_bands(lab, space, by_cost=False)
    return adj, lab, space


def _assert_banded_whole_homes(
    labels: np.ndarray, adj: sp.csr_matrix, space: SearchSpace
) -> None:
    """Every band of ``space`` holds (to 1e-9), each of the 4 territories is
    one piece and holds its home (its root)."""
    sums = np.bincount(labels, weights=space.activities[:, 0], minlength=4)
    assert np.all(sums >= space.lower[:, 0] - 1e-9)
    assert np.all(sums <= space.upper[:, 0] + 1e-9)
    assert _n_pieces(labels, adj) == 4
    assert space.roots is not None
    assert np.array_equal(labels[space.roots], np.arange(4))


def test_pairs_keep_bands_and_contiguity_and_lower_the_cost() -> None:
    """After band repair, single moves and pairs: every band holds, each
    territory is one piece with its home, and the cost never went up."""
    applied = 0
    for seed in range(6):
        adj, lab, space = _repaired_grid(seed)
        assert space.cost is not None
        cost, n = space.cost, len(lab)
        sums = np.bincount(lab, weights=space.activities[:, 0], minlength=4)[:, None]
        assert violation(sums, space.lower, space.upper, space.scale).sum() == 0.0
        assert space.total_violation(lab) == 0.0

        lab, _ = improve_single_moves(lab, space)
        before = cost[np.arange(n), lab].sum()
        lab2, n_pairs = improve_pairs(lab, space)
        applied += n_pairs
        after = cost[np.arange(n), lab2].sum()
        assert after <= before + 1e-9
        if n_pairs:
            assert after < before
        _assert_banded_whole_homes(lab2, adj, space)
    assert applied > 0


def test_improve_flow_takes_a_chain_through_two_full_territories() -> None:
    """Path of 40 unit-weight units in 4 territories of 11, 10, 10, 9 units;
    the middle two are full (band [9.5, 10.5]), the end ones have room
    ([8.5, 11.5]).  Centers sit 0.4 left of each territory's middle, so the
    last unit of each of the first three territories is cheaper one
    territory to the right (cost 21.16 instead of 29.16).  Single moves and
    pairs cannot move anything (every chain of length one or two breaks a
    middle band); the chain 10: 0 → 1, 20: 1 → 2, 30: 2 → 3 lowers the cost
    by 3 × 8 = 24 and leaves every territory with 10 units."""
    n, k = 40, 4
    adj = _path(n)
    labels = np.repeat(np.arange(k), [11, 10, 10, 9])
    act = np.ones((n, 1))
    lower = np.array([[8.5], [9.5], [9.5], [8.5]])
    upper = np.array([[11.5], [10.5], [10.5], [11.5]])
    x = np.arange(n, dtype=float)
    cost = (x[:, None] - np.array([4.6, 14.6, 24.6, 34.6])[None, :]) ** 2
    locked = np.full(n, -1)
    locked[[0, 15, 25, 35]] = np.arange(k)
    space = SearchSpace.from_adjacency(adj, act, lower, upper, cost=cost, locked=locked)

    moved, n_moves = improve_single_moves(labels, space)
    paired, n_pairs = improve_pairs(labels, space)
    assert n_moves == 0 and n_pairs == 0
    assert np.array_equal(moved, labels) and np.array_equal(paired, labels)

    out, kept = improve_flow(labels, space)
    assert kept >= 1
    assert np.bincount(out, minlength=k).tolist() == [10, 10, 10, 10]
    assert out[[10, 20, 30]].tolist() == [1, 2, 3]
    rows = np.arange(n)
    saved = cost[rows, labels].sum() - cost[rows, out].sum()
    assert abs(saved - 24.0) < 1e-9
    assert _n_pieces(out, adj) == k


def test_improve_flow_keeps_bands_contiguity_and_homes() -> None:
    """Random 10×10 grids after repair, moves and pairs: the LP chains never
    raise the cost, every band holds, each territory is one piece holding
    its home (locked), and on some instance the chains find a saving."""
    improved = 0
    for seed in range(6):
        adj, lab, space = _repaired_grid(seed)
        assert space.cost is not None
        cost, n = space.cost, len(lab)
        lab, _ = improve_pairs(lab, space)
        before = cost[np.arange(n), lab].sum()
        out, kept = improve_flow(lab, space)
        after = cost[np.arange(n), out].sum()
        assert after <= before + 1e-9
        assert (after < before) == (kept > 0)
        improved += kept > 0
        _assert_banded_whole_homes(out, adj, space)
    assert improved > 0


def test_improve_flow_stops_at_its_deadline() -> None:
    """A deadline already past: nothing is tried, the labels come back
    unchanged (and as a copy)."""
    adj, cost, act, lower, upper, labels, _homes = _grid_case(0)
    space = SearchSpace.from_adjacency(adj, act, lower, upper, cost=cost)
    out, kept = improve_flow(labels, space, deadline=time.perf_counter() - 1.0)
    assert kept == 0
    assert np.array_equal(out, labels) and out is not labels


def test_removable_local_shortcut_and_full_search_agree() -> None:
    """``removable`` answers by the local check when the territory's
    neighbours of a unit touch each other, and by the search otherwise:
    a triangle corner (neighbours adjacent: removable), the centre of a 3×3
    grid (neighbours 1, 3, 5, 7 not adjacent to each other, but linked
    through the corners: removable), the middle of a path (an articulation:
    not removable), and a unit alone in its territory (never emptied)."""
    tri = sp.csr_matrix(np.ones((3, 3)) - np.eye(3))
    assert removable(0, np.zeros(3, dtype=np.int64), neighbour_lists(tri, 3))
    grid = neighbour_lists(grid_adjacency(3, 3), 9)
    assert removable(4, np.zeros(9, dtype=np.int64), grid)
    ring_cut = np.zeros(9, dtype=np.int64)
    ring_cut[[0, 2, 6, 8]] = 1  # corners elsewhere: 1, 3, 5, 7 only via 4
    assert not removable(4, ring_cut, grid)
    path = neighbour_lists(_path(3), 3)
    assert not removable(1, np.zeros(3, dtype=np.int64), path)
    assert not removable(0, np.array([0, 1, 1]), path)


def test_repair_bands_lp_ships_through_full_territories_on_a_grid() -> None:
    """12 × 12 grid of unit-weight units in 4 column strips of 3 columns
    (36 units each); strip 0 took one unit of strip 1 and strip 2 one of
    strip 3: 37, 35, 37, 35 against a band of 36 ± 0.5.  The boundary LP
    must bring every territory into its band in 2-D, keep each connected,
    leave the roots in place and move only a few units."""
    side, k = 12, 4
    n = side * side
    adj = grid_adjacency(side, side)
    xy = grid_xy(side, side)
    col = np.rint(xy[:, 0]).astype(int)
    labels = np.minimum(col // 3, k - 1)
    # unit at column 3 (strip 1), row 0 goes to strip 0; column 9 → strip 2
    r0 = np.flatnonzero(np.rint(xy[:, 1]) == 0)
    labels[r0[col[r0] == 3]] = 0
    labels[r0[col[r0] == 9]] = 2
    act = np.ones((n, 1))
    lower, upper = np.full((k, 1), 35.5), np.full((k, 1), 36.5)
    scale = np.array([36.0])
    cost = (xy[:, :1] - np.array([1.0, 4.0, 7.0, 10.0])[None, :]) ** 2
    sums = np.bincount(labels, minlength=k)
    assert sums.tolist() == [37, 35, 37, 35]
    roots = np.array([int(np.argmin(cost[:, t])) for t in range(k)])
    space = SearchSpace.from_adjacency(adj, act, lower, upper, cost=cost, roots=roots)
    assert space.scale.tolist() == scale.tolist()
    out = repair_bands_lp(labels, space)
    sums_out = np.bincount(out, minlength=k)
    assert sums_out.tolist() == [36, 36, 36, 36]
    assert _n_pieces(out, adj) == k
    assert np.all(out[roots] == np.arange(k))
    assert 2 <= np.count_nonzero(out != labels) <= 4
    assert violation(sums_out[:, None].astype(float), lower, upper, scale).sum() == 0


def test_repair_bands_lp_chain_on_a_path_where_greedy_is_stuck() -> None:
    """Path 11, 10, 10, 9 with band 10 ± 0.5: no single move lowers the
    violation (repair_bands returns the labels unchanged); the boundary LP
    ships one unit along 0 → 1 → 2 → 3 in one round, at the least cost."""
    k = 4
    adj, labels, space = _stuck_path()
    stuck = repair_bands(labels, space, by_cost=False)
    assert np.array_equal(stuck, labels)
    out = repair_bands_lp(labels, space)
    assert np.bincount(out, minlength=k).tolist() == [10, 10, 10, 10]
    assert _n_pieces(out, adj) == k
    # exactly the three boundary units 10, 20, 30 moved one territory right
    assert np.flatnonzero(out != labels).tolist() == [10, 20, 30]


def test_search_space_shapes_and_replace() -> None:
    """A path of 4 units in 2 territories: sizes, edges, totals and the cost
    change come from the space; ``replace`` leaves the original as it was;
    shapes that disagree, and a cost-driven search without a cost, are
    refused with the shapes or the missing field named."""
    adj = _path(4)
    act = np.array([[1.0], [2.0], [3.0], [4.0]])
    lower, upper = np.full((2, 1), 4.0), np.full((2, 1), 6.0)
    cost = np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    space = SearchSpace.from_adjacency(adj, act, lower, upper, cost=cost)
    assert (space.n, space.k, space.m) == (4, 2, 1)
    assert space.edges.tolist() == [[0, 1], [1, 2], [2, 3]]
    assert space.nbrs == [[1], [0, 2], [1, 3], [2]]
    labels = np.array([0, 0, 1, 1])  # totals 3 and 7: 1 under, 1 over
    assert space.sums(labels)[:, 0].tolist() == [3.0, 7.0]
    assert space.total_violation(labels) == 2.0 / 5.0  # scale: 10 / 2
    assert space.cost_delta(np.array([1]), np.array([0]), np.array([1])) == [1.0]
    locked = np.array([0, -1, -1, 1])
    other = space.replace(locked=locked)
    assert other.locked is locked and space.locked is None
    assert other.cost is space.cost
    with pytest.raises(ValueError, match=r"lower and upper must both be \(k, 1\)"):
        SearchSpace.from_adjacency(adj, act, lower, np.full((3, 1), 6.0))
    with pytest.raises(ValueError, match=r"cost must be \(n, k\)"):
        space.replace(cost=cost[:, :1])
    with pytest.raises(ValueError, match="nbrs lists 3 units"):
        space.replace(nbrs=space.nbrs[:3])
    with pytest.raises(ValueError, match="needs a cost matrix"):
        improve_flow(labels, space.replace(cost=None))
    with pytest.raises(ValueError, match="needs the territories' roots"):
        connect_roots(labels, space, cost)


def _band_case(n: int, k: int, seed: int):
    """``n`` weighted random points, ``k`` random centers, squared-distance
    cost times the weight, bands ±1 % of the mean: the nearest-center
    labels break most bands."""
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2))
    a = rng.integers(1, 100, n).astype(float)
    cost = ((xy[:, None] - xy[rng.choice(n, k, replace=False)][None]) ** 2).sum(-1)
    cost *= a[:, None]
    m = a.sum() / k
    lab = np.argmin(cost, axis=1)
    return cost, a, np.full(k, 0.99 * m), np.full(k, 1.01 * m), lab, np.full(n, -1)


def test_band_search_stops_at_its_deadline() -> None:
    """Regression (QA round 18): with few territories every unit lists most
    of them and one pass of chains scans millions of pairs (3,000 units in 20
    territories: over a minute; the ZCTA benchmark with 20 territories ran
    159 s at time_limit=10), all inside one numba call that had no deadline.
    It stops at its deadline now, with the moves made so far."""
    from terrakit.design._bandsearch import band_search

    cost, a, lo, hi, lab, lk = _band_case(3000, 20, 0)
    band_search(cost[:50], a[:50], lo, hi, lab[:50], lk[:50])  # compiled
    cut: list[bool] = []
    t = time.perf_counter()
    out = band_search(
        cost, a, lo, hi, lab, lk, reach=450, deadline=t + 0.2, clock_cut=cut
    )
    assert time.perf_counter() - t < 0.2 + 3.0
    assert cut == [True]
    assert out.shape == lab.shape and set(out.tolist()) <= set(range(20))


def test_band_search_does_the_same_moves_when_the_clock_does_not_bind() -> None:
    """A deadline that is never reached changes nothing (same labels as
    without one), and nothing is appended to ``clock_cut``."""
    from terrakit.design._bandsearch import band_search

    cost, a, lo, hi, lab, lk = _band_case(400, 30, 1)
    free = band_search(cost, a, lo, hi, lab, lk, reach=40)
    cut: list[bool] = []
    timed = band_search(
        cost,
        a,
        lo,
        hi,
        lab,
        lk,
        reach=40,
        deadline=time.perf_counter() + 600,
        clock_cut=cut,
    )
    assert cut == []
    assert np.array_equal(free, timed) and not np.array_equal(free, lab)


def test_prove_root_sets_without_any_bound_keeps_minus_infinity() -> None:
    """Regression (QA round 18): a root set with no bound (no pricing call
    recorded one, and no time to solve it) left ``lower`` at -inf and
    ``math.ceil`` raised a bare OverflowError that aborted the districting
    run; the bound is the trivial -inf instead."""
    import dataclasses

    from terrakit.design._cutedges_sets import prove_root_sets

    from .test_cutedges import _root_sets_case

    _adj, _pop, _lo, _hi, p, ok, _g, _pi, state = _root_sets_case(0)
    empty = dataclasses.replace(state, history=[])
    proof = prove_root_sets(p, ok, empty, 10.0, time_limit=0.01)
    assert proof.bound == -np.inf
    assert proof.labels is None


def _forbidden_path() -> SearchSpace:
    """Path 0 - 1 - 2 - 3 of unit-weight units, two territories rooted at
    the ends (0 and 3), band 2 ± 0.5 each; unit 2 may not go to territory 1
    (cost inf: beyond ``max_distance_km``, or no route in a travel table)."""
    cost = np.array([[0.0, 9.0], [1.0, 4.0], [4.0, np.inf], [9.0, 0.0]])
    return SearchSpace.from_adjacency(
        _path(4),
        np.ones((4, 1)),
        np.full((2, 1), 1.5),
        np.full((2, 1), 2.5),
        cost=cost,
        roots=np.array([0, 3]),
    )


def test_repair_bands_never_moves_a_unit_onto_a_forbidden_pair() -> None:
    """Regression (QA round 19): the band repair ranked moves by violation
    and used the cost only to break ties, so it moved unit 2 to territory
    1 at infinite cost; no later step took it back out (the heuristic
    ended 'infeasible', '1 units at a forbidden center', where the MIP
    found the optimum).  A forbidden move is not a candidate, also without
    ``by_cost``; the same move at a finite cost is made."""
    space = _forbidden_path()
    labels = np.array([0, 0, 0, 1])  # territory 0 over its band, 1 under
    for by_cost in (True, False):
        out = repair_bands(labels, space, by_cost=by_cost)
        assert out.tolist() == [0, 0, 0, 1]
    assert space.cost is not None
    finite = space.replace(cost=np.where(np.isfinite(space.cost), space.cost, 5.0))
    assert repair_bands(labels, finite).tolist() == [0, 0, 1, 1]
    # a unit on a forbidden pair still leaves it (cost change -inf)
    lopsided = space.replace(
        lower=np.array([[2.5], [0.5]]), upper=np.array([[3.5], [1.5]])
    )
    assert repair_bands(np.array([0, 0, 1, 1]), lopsided).tolist() == [0, 0, 0, 1]


def test_growth_from_the_roots_never_claims_a_forbidden_pair() -> None:
    """Regression (QA round 19): growing territories from their roots
    claimed a unit at infinite cost when that territory was the least
    loaded (``grow_balanced``) or once the finite claims were exhausted
    (``grow_with_prices``): unit 2 went to territory 1, which it may not
    join, and the repairs after it could not move it back.  Territory 0
    takes it; with a finite cost territory 1 does, as before."""
    space = _forbidden_path()
    assert space.cost is not None
    target = np.full((2, 1), 2.0)
    assert grow_balanced(space, space.cost, target).tolist() == [0, 0, 0, 1]
    assert grow_with_prices(space, space.cost).tolist() == [0, 0, 0, 1]
    finite = np.where(np.isfinite(space.cost), space.cost, 5.0)
    assert grow_balanced(space, finite, target).tolist() == [0, 0, 1, 1]


def test_single_moves_keep_the_bands_of_a_negative_activity() -> None:
    """Path 0 - 1 - 2, units 0, 1 in territory 0 and 2 in 1: unit 1
    (activity -2, a net change) is cheaper in 1, but moving it raises
    territory 0 from 3 to 5 (upper 4) and lowers 1 from 5 to 3 (lower 4).
    The check of one side per band (right for activities >= 0) let it
    through."""
    act = np.array([[5.0], [-2.0], [5.0]])
    cost = np.array([[0.0, 9.0], [1.0, 0.0], [9.0, 0.0]])
    lower, upper = np.array([[2.5], [4.0]]), np.array([[4.0], [6.0]])
    space = SearchSpace.from_adjacency(_path(3), act, lower, upper, cost=cost)
    labels = np.array([0, 0, 1])
    assert space.total_violation(labels) == 0.0
    out, moves = improve_single_moves(labels, space)
    assert (out.tolist(), moves) == ([0, 0, 1], 0)


def test_pairs_keep_the_third_territorys_band_of_a_negative_activity() -> None:
    """Path 0 - ... - 5, territories A = {0, 1}, B = {2, 3}, C = {4, 5},
    activities (w, v): unit 1 → B (saves 5) overfills B's w; unit 3, with
    v = -1, → C (costs 1) restores it, but drops C's v from 2 to 1, under
    its lower bound 1.5.  The third territory's check looked at the upper
    bound only (right for activities >= 0): the pair was applied."""
    act = np.array([[2.0, 1], [2, 1], [2, 1], [2, -1], [2, 1], [2, 1]])
    lower = np.array([[2.0, 0.5], [2, -1], [2, 1.5]])
    upper = np.array([[5.0, 3], [5, 3], [7, 3]])
    cost = np.array(
        [[0.0, 10, 10], [5, 0, 10], [10, 0, 10], [10, 1, 2], [10, 10, 0], [10, 10, 0]]
    )
    space = SearchSpace.from_adjacency(_path(6), act, lower, upper, cost=cost)
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert space.total_violation(labels) == 0.0
    out, pairs = improve_pairs(labels, space)
    assert space.total_violation(out) == 0.0
    assert (out.tolist(), pairs) == ([0, 0, 1, 1, 2, 2], 0)

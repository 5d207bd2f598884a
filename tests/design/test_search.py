"""Tests of the graph building blocks of the design heuristic
(terrakit.design._search): corridors to boxed-in roots, balancing by flows on
the territory graph, pairs of boundary moves and chains of them chosen by an
LP."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from terrakit.design._search import (
    balance_flow,
    connect_roots,
    improve_flow,
    improve_moves,
    improve_pairs,
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


def _edges(adj: sp.csr_matrix) -> np.ndarray:
    a = sp.triu(adj, k=1).tocoo()
    return np.column_stack([a.row, a.col]).astype(np.int64)


def _n_pieces(labels: np.ndarray, adj: sp.csr_matrix) -> int:
    return len(np.unique(territory_pieces(labels, adj)))


def _stuck_path() -> tuple:
    """Path of 40 unit-weight units in 4 territories of 11, 10, 10, 9 units,
    band 10 ± 0.5, costs = squared distance to centers 5, 16, 26, 35: no
    single move lowers the violation."""
    n, k = 40, 4
    adj = _path(n)
    labels = np.repeat(np.arange(k), [11, 10, 10, 9])
    x = np.arange(n, dtype=float)
    cost = (x[:, None] - np.array([5.0, 16.0, 26.0, 35.0])[None, :]) ** 2
    return (
        adj,
        neighbour_lists(adj, n),
        _edges(adj),
        labels,
        np.ones((n, 1)),
        np.full((k, 1), 9.5),
        np.full((k, 1), 10.5),
        np.array([10.0]),
        cost,
    )


def test_balance_flow_ships_load_through_full_territories() -> None:
    """Path of 40 unit-weight units in 4 territories of 11, 10, 10, 9 units,
    band exactly 10 (±5 %).  No single move lowers the violation (the two
    middle territories are full), so the greedy repair is stuck; the flow
    shifts one unit along the chain 0 → 1 → 2 → 3 and every band holds."""
    k = 4
    adj, nbrs, edges, labels, act, lower, upper, scale, cost = _stuck_path()
    roots = np.array([0, 15, 25, 39])

    stuck = repair_bands(labels, nbrs, edges, act, lower, upper, scale)
    assert np.array_equal(stuck, labels)

    out = balance_flow(labels, nbrs, edges, act, lower, upper, cost, roots=roots)
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
    nbrs = neighbour_lists(adj, n)
    xy = grid_xy(nx, ny)
    labels = (xy[:, 0] >= 3).astype(np.int64)
    roots = np.array([0, 18])  # cell 18 = (0, 3) lies deep in the left half
    labels[roots] = [0, 1]
    centers = np.array([[0.0, 0.0], [4.5, 2.5]])
    cost = ((xy[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    act = np.ones((n, 1))
    assert territory_pieces(labels, adj)[18] != territory_pieces(labels, adj)[35]

    joined = connect_roots(labels, adj, nbrs, roots, cost, act)
    comp = territory_pieces(joined, adj)
    assert comp[18] == comp[35]  # the root now reaches its main piece
    anchor = np.zeros(n)
    anchor[roots] = 1e6
    fixed, left = regrow_strays(joined, adj, nbrs, anchor, cost)
    assert left == 0
    assert fixed.shape == (n,) and set(fixed.tolist()) == {0, 1}
    assert _n_pieces(fixed, adj) == 2
    assert np.array_equal(fixed[roots], [0, 1])


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


def _repaired_grid(seed: int) -> tuple:
    """:func:`_grid_case` with homes locked, after ``balance_flow`` and
    ``repair_bands``: ``(adj, cost, act, lower, upper, labels, homes, nbrs,
    edges, locked, scale)``."""
    adj, cost, act, lower, upper, labels, homes = _grid_case(seed)
    n = len(labels)
    nbrs = neighbour_lists(adj, n)
    edges = _edges(adj)
    locked = np.full(n, -1)
    locked[homes] = np.arange(4)
    scale = act.sum(axis=0) / 4
    lab = balance_flow(
        labels, nbrs, edges, act, lower, upper, cost, roots=homes, locked=locked
    )
    lab = repair_bands(lab, nbrs, edges, act, lower, upper, scale, locked=locked)
    return adj, cost, act, lower, upper, lab, homes, nbrs, edges, locked, scale


def test_pairs_keep_bands_and_contiguity_and_lower_the_cost() -> None:
    """After band repair, single moves and pairs: every band holds, each
    territory is one piece with its home, and the cost never went up."""
    applied = 0
    for seed in range(6):
        adj, cost, act, lower, upper, lab, homes, nbrs, edges, locked, scale = (
            _repaired_grid(seed)
        )
        n = len(lab)
        sums = np.bincount(lab, weights=act[:, 0], minlength=4)[:, None]
        assert violation(sums, lower, upper, scale).sum() == 0.0

        def delta(
            u: np.ndarray, f: np.ndarray, t: np.ndarray, c: np.ndarray = cost
        ) -> np.ndarray:
            return c[u, t] - c[u, f]

        lab, _ = improve_moves(
            lab, nbrs, edges, act, lower, upper, delta, locked=locked
        )
        before = cost[np.arange(n), lab].sum()
        lab2, n_pairs = improve_pairs(
            lab, nbrs, edges, act, lower, upper, cost, locked=locked
        )
        applied += n_pairs
        after = cost[np.arange(n), lab2].sum()
        assert after <= before + 1e-9
        if n_pairs:
            assert after < before
        sums = np.bincount(lab2, weights=act[:, 0], minlength=4)
        assert np.all(sums >= lower[:, 0] - 1e-9) and np.all(sums <= upper[:, 0] + 1e-9)
        assert _n_pieces(lab2, adj) == 4
        assert np.array_equal(lab2[homes], np.arange(4))
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
    nbrs = neighbour_lists(adj, n)
    edges = _edges(adj)
    labels = np.repeat(np.arange(k), [11, 10, 10, 9])
    act = np.ones((n, 1))
    lower = np.array([[8.5], [9.5], [9.5], [8.5]])
    upper = np.array([[11.5], [10.5], [10.5], [11.5]])
    x = np.arange(n, dtype=float)
    cost = (x[:, None] - np.array([4.6, 14.6, 24.6, 34.6])[None, :]) ** 2
    locked = np.full(n, -1)
    locked[[0, 15, 25, 35]] = np.arange(k)

    def delta(u: np.ndarray, f: np.ndarray, t: np.ndarray) -> np.ndarray:
        return cost[u, t] - cost[u, f]

    moved, n_moves = improve_moves(
        labels, nbrs, edges, act, lower, upper, delta, locked=locked
    )
    paired, n_pairs = improve_pairs(
        labels, nbrs, edges, act, lower, upper, cost, locked=locked
    )
    assert n_moves == 0 and n_pairs == 0
    assert np.array_equal(moved, labels) and np.array_equal(paired, labels)

    out, kept = improve_flow(
        labels, nbrs, edges, act, lower, upper, cost, locked=locked
    )
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
        adj, cost, act, lower, upper, lab, homes, nbrs, edges, locked, _scale = (
            _repaired_grid(seed)
        )
        n = len(lab)
        lab, _ = improve_pairs(lab, nbrs, edges, act, lower, upper, cost, locked=locked)
        before = cost[np.arange(n), lab].sum()
        out, kept = improve_flow(
            lab, nbrs, edges, act, lower, upper, cost, locked=locked
        )
        after = cost[np.arange(n), out].sum()
        assert after <= before + 1e-9
        assert (after < before) == (kept > 0)
        improved += kept > 0
        sums = np.bincount(out, weights=act[:, 0], minlength=4)
        assert np.all(sums >= lower[:, 0] - 1e-9) and np.all(sums <= upper[:, 0] + 1e-9)
        assert _n_pieces(out, adj) == 4
        assert np.array_equal(out[homes], np.arange(4))
    assert improved > 0


def test_improve_flow_stops_at_its_deadline() -> None:
    """A deadline already past: nothing is tried, the labels come back
    unchanged (and as a copy)."""
    adj, cost, act, lower, upper, labels, _homes = _grid_case(0)
    n = len(labels)
    out, kept = improve_flow(
        labels,
        neighbour_lists(adj, n),
        _edges(adj),
        act,
        lower,
        upper,
        cost,
        deadline=time.perf_counter() - 1.0,
    )
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
    nbrs = neighbour_lists(adj, n)
    edges = _edges(adj)
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
    out = repair_bands_lp(labels, nbrs, edges, act, lower, upper, cost, roots=roots)
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
    adj, nbrs, edges, labels, act, lower, upper, scale, cost = _stuck_path()
    stuck = repair_bands(labels, nbrs, edges, act, lower, upper, scale)
    assert np.array_equal(stuck, labels)
    out = repair_bands_lp(labels, nbrs, edges, act, lower, upper, cost)
    assert np.bincount(out, minlength=k).tolist() == [10, 10, 10, 10]
    assert _n_pieces(out, adj) == k
    # exactly the three boundary units 10, 20, 30 moved one territory right
    assert np.flatnonzero(out != labels).tolist() == [10, 20, 30]

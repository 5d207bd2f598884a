"""Tests of the region re-partition band repair (terrakit.design._regions):
spanning-tree partitions into banded connected parts, and the repair of a
territory stuck with two heavy units that no boundary move can fix."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from terrakit.design._core import Spec, _regions_repair
from terrakit.design._regions import (
    partition_samples,
    repartition_regions,
    tree_partition,
)
from terrakit.design._search import (
    SearchSpace,
    balance_flow,
    repair_bands,
    repair_bands_lp,
    violation,
)

from .conftest import grid_adjacency, grid_xy


def _connected(labels: np.ndarray, adj: sp.csr_matrix) -> bool:
    for t in np.unique(labels):
        idx = np.flatnonzero(labels == t)
        if connected_components(adj[idx][:, idx], directed=False)[0] != 1:
            return False
    return True


def test_tree_partition_grid_parts_connected_and_in_band() -> None:
    adj = grid_adjacency(10, 8)
    act = np.ones((80, 1))
    for g in (2, 4, 5):
        mean = 80 / g
        lab = tree_partition(
            adj,
            act,
            np.array([0.95 * mean]),
            np.array([1.05 * mean]),
            g,
            np.random.default_rng(g),
        )
        assert lab is not None
        sizes = np.bincount(lab, minlength=g)
        assert len(sizes) == g
        assert np.all(sizes >= 0.95 * mean) and np.all(sizes <= 1.05 * mean)
        assert _connected(lab, adj)


def test_tree_partition_impossible_band_is_none() -> None:
    """Three units of 1.0 into two parts within [1.4, 1.6]: no partition."""
    i = np.array([0, 1])
    adj = sp.coo_matrix((np.ones(2), (i, i + 1)), shape=(3, 3)).tocsr()
    adj = adj + adj.T
    lab = tree_partition(
        adj, np.ones(3), np.array([1.4]), np.array([1.6]), 2, np.random.default_rng(0)
    )
    assert lab is None
    labs, viol = partition_samples(
        adj, np.ones(3), np.array([1.4]), np.array([1.6]), 2, np.random.default_rng(0)
    )
    # the least violation: one part of 1 (0.4 under) and one of 2 (0.4 over),
    # each 2 band widths (0.2) away
    assert viol[0] == pytest.approx(4.0)
    assert len(np.unique(labs[0])) == 2


def test_tree_partition_every_part_needs_a_center() -> None:
    """Centers only at the two ends of a path: every cut keeps one per side."""
    n = 6
    i = np.arange(n - 1)
    adj = sp.coo_matrix((np.ones(n - 1), (i, i + 1)), shape=(n, n)).tocsr()
    has = np.zeros(n, dtype=bool)
    has[[0, 5]] = True
    lab = tree_partition(
        adj + adj.T,
        np.ones(n),
        np.array([2.0]),
        np.array([4.0]),
        2,
        np.random.default_rng(1),
        has_center=has,
    )
    assert lab is not None
    assert lab[0] != lab[5]
    assert (
        tree_partition(
            adj + adj.T,
            np.ones(n),
            np.array([1.0]),
            np.array([3.0]),
            3,
            np.random.default_rng(1),
            has_center=has,
        )
        is None
    )


def _stuck_instance() -> dict[str, np.ndarray | sp.csr_matrix]:
    """A 6 × 5 grid of light units (10 each) and two heavy units (100 each).

    H1 (index 30) touches the grid's left column, H2 (31) its right column,
    and H1–H2 touch each other (a bridge).  Three territories, ±5 % of the
    mean 500 / 3 = 166.7: band [158.3, 175].  Start: territory 0 = {H1 (its
    root), H2} = 200 (+20 %), territory 1 = columns 0–2 (150), territory 2 =
    columns 3–5 (150), both under the band.  Every unit that could leave
    territory 0 is its root or H2 (100, far above any neighbour's room), and
    territories 1 and 2 can only trade light units, so no boundary move, flow
    or balancing LP gets out; a new cut of all three (H1 + 7 light units,
    H2 + 7, the middle 16) does.
    """
    nx, ny = 6, 5
    grid = grid_adjacency(nx, ny).tolil()
    n = nx * ny + 2
    adj = sp.lil_matrix((n, n))
    adj[: nx * ny, : nx * ny] = grid
    h1, h2 = nx * ny, nx * ny + 1
    for y in range(ny):
        adj[h1, y * nx] = adj[y * nx, h1] = 1
        adj[h2, y * nx + nx - 1] = adj[y * nx + nx - 1, h2] = 1
    adj[h1, h2] = adj[h2, h1] = 1
    xy = np.vstack([grid_xy(nx, ny), [[-1.0, 2.0], [6.0, 2.0]]])
    act = np.r_[np.full(nx * ny, 10.0), 100.0, 100.0][:, None]
    cost = act * ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    x = np.r_[xy[: nx * ny, 0], -1, 6]
    labels = np.where(x < 3, 1, 2)
    labels[[h1, h2]] = 0
    mean = act.sum() / 3
    return {
        "adj": adj.tocsr(),
        "act": act,
        "cost": cost,
        "labels": labels,
        "centers": np.array([h1, 2 * nx + 1, 2 * nx + 4]),
        "lower": np.full((3, 1), 0.95 * mean),
        "upper": np.full((3, 1), 1.05 * mean),
    }


def _space(d: dict, **fields: np.ndarray) -> SearchSpace:
    """The search space of :func:`_stuck_instance` (graph, activity, bands),
    with ``fields`` (cost, locked, roots) replaced."""
    space = SearchSpace.from_adjacency(d["adj"], d["act"], d["lower"], d["upper"])
    return space.replace(**fields)


def _total_violation(labels: np.ndarray, d: dict) -> float:
    sums = np.zeros((3, 1))
    np.add.at(sums, labels, d["act"])
    return float(violation(sums, d["lower"], d["upper"], np.ones(1)).sum())


def test_stuck_territory_boundary_repairs_cannot_fix_it() -> None:
    """The pattern is really stuck for the boundary repairs (roots fixed)."""
    d = _stuck_instance()
    n = d["adj"].shape[0]
    roots = d["centers"]
    locked = np.full(n, -1)
    locked[roots] = np.arange(3)
    space = _space(d, cost=d["cost"][:, roots], roots=roots, locked=locked)
    before = _total_violation(d["labels"], d)
    assert before > 0
    lab = repair_bands_lp(d["labels"], space)
    lab = balance_flow(lab, space)
    lab = repair_bands(lab, space)
    assert _total_violation(lab, d) > 0.1


def _repartition(d: dict, **kw):
    """:func:`repartition_regions` on the stuck instance, every unit a
    candidate center, seed 0."""
    return repartition_regions(
        d["labels"],
        _space(d),
        d["cost"],
        np.arange(d["adj"].shape[0]),
        d["centers"],
        np.random.default_rng(0),
        **kw,
    )


def test_repartition_regions_fixes_stuck_territory() -> None:
    d = _stuck_instance()
    lab, cen, notes = _repartition(d)
    assert _total_violation(lab, d) == 0.0
    assert _connected(lab, d["adj"])
    # each territory holds its (new) center; the heavy units are apart
    assert np.array_equal(lab[cen], np.arange(3))
    assert lab[30] != lab[31]
    assert len(notes) >= 1 and "re-partitioned" in notes[0]


def test_repartition_regions_keeps_user_locked_territories() -> None:
    """A territory holding a user-locked unit is never re-partitioned: with
    territory 0 frozen nothing can change, and nothing does."""
    d = _stuck_instance()
    n = d["adj"].shape[0]
    frozen = np.zeros(n, dtype=bool)
    frozen[31] = True
    lab, cen, notes = _repartition(d, frozen=frozen)
    # territories 1 and 2 together (300) are below two bands (316.7): no
    # region without territory 0 can lower the violation
    assert np.array_equal(lab, d["labels"])
    assert np.array_equal(cen, d["centers"])
    assert notes == []


def test_engine_regions_repair_from_stuck_start() -> None:
    """The engine's glue (chosen centers, contiguity): from the stuck start
    it returns banded, connected labels, each territory holding its new
    center, and says how many regions it re-partitioned."""
    d = _stuck_instance()
    adj = d["adj"]
    n = adj.shape[0]
    spec = Spec(
        activities=d["act"],
        lower=d["lower"],
        upper=d["upper"],
        cost=d["cost"],
        choose=True,
        center_units=np.arange(n),
        adjacency=adj,
        contiguity=True,
    )

    def territory_locks(centers: np.ndarray) -> np.ndarray:
        lk = np.full(n, -1)
        lk[centers] = np.arange(3)
        return lk

    notes: list[str] = []
    lab, cen = _regions_repair(
        d["labels"],
        _space(d),
        spec,
        d["cost"],
        d["centers"],
        territory_locks,
        np.random.default_rng(3),
        notes,
        deadline=time.perf_counter() + 10,
    )
    assert _total_violation(lab, d) == 0.0
    assert _connected(lab, adj)
    assert np.array_equal(lab[cen], np.arange(3))
    assert notes[-1].startswith("regions re-partitioned: ")
    assert notes[-1].endswith("band violation left 0")

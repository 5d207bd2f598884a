"""Tiny matrix-form design instances, each checkable by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from terrakit.design.problem import DesignProblem


def grid_adjacency(nx: int, ny: int, skip: tuple[int, ...] = ()) -> sp.csr_matrix:
    """Rook adjacency of an ``nx × ny`` grid (index ``y·nx + x``), cells in
    ``skip`` removed (they keep their index but have no neighbour)."""
    n = nx * ny
    a = sp.lil_matrix((n, n))
    for y in range(ny):
        for x in range(nx):
            i = y * nx + x
            for dx, dy in ((1, 0), (0, 1)):
                if x + dx < nx and y + dy < ny:
                    j = (y + dy) * nx + x + dx
                    if i not in skip and j not in skip:
                        a[i, j] = a[j, i] = 1
    return a.tocsr()


def grid_xy(nx: int, ny: int) -> np.ndarray:
    return np.array([(x, y) for y in range(ny) for x in range(nx)], dtype=float)


@pytest.fixture
def grid3x3_problem() -> DesignProblem:
    """3×3 unit grid, unit weights, rep centers in the corners (0,0)=u0, (2,2)=u8.

    Cost = squared distance.  Units nearer to u0: u0,u1,u3 (cost 0+1+1); nearer
    to u8: u5,u7,u8 (1+1+0); the anti-diagonal u2,u4,u6 ties (4+2+4).  ±20 %
    on a mean of 4.5 units allows 4 or 5 units, so the optimum is 14 and the
    tie units split 1/2 (contiguously, e.g. u4 → u0; u2, u6 → u8).
    """
    xy = grid_xy(3, 3)
    centers = np.array([0, 8])
    cost = ((xy[:, None, :] - xy[centers][None, :, :]) ** 2).sum(-1)
    return DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(9)]),
        activities={"workload": np.ones(9)},
        tolerance={"workload": 0.2},
        n_territories=2,
        cost=cost,
        center_units=centers,
        center_ids=("R1", "R2"),
        adjacency=grid_adjacency(3, 3),
        contiguity=True,
        name="grid3x3",
    )

"""OR-Library uncapacitated p-median instances (Beasley's ``pmed1..40``).

The reader is thin: shortest-path distances (as the OR-Library ``pmedinfo``
page prescribes: the last occurrence of a repeated edge wins, then
all-pairs shortest paths) become the cost matrix of a
:class:`~terrakit.design.problem.DesignProblem` that chooses ``p`` centers
among all vertices, with no band, solved by the same engine as every
territory design (:func:`terrakit.design.solve`).

Examples
--------
>>> from terrakit.benchmarks import pmed
>>> inst = pmed.read_instance("../shared/benchmarks/pmed/pmed1.txt")  # doctest: +SKIP
>>> inst.n, inst.p
(100, 5)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from terrakit.design.problem import DesignProblem

__all__ = ["PMedInstance", "read_instance", "solve_file", "to_problem", "value_of"]


@dataclass(frozen=True, eq=False)
class PMedInstance:
    """A pmed instance: ``n`` vertices, ``p`` medians, all-pairs distances."""

    name: str
    n: int
    p: int
    distance: np.ndarray


def read_instance(path: str | Path) -> PMedInstance:
    """Read a ``pmedN.txt`` file and compute its shortest-path distances.

    Raises
    ------
    ValueError
        When the file is not a pmed instance: a header ``n m p`` that is not
        three whole numbers, another count of numbers than ``3 + 3m``, or an
        edge whose end is not a vertex ``1..n``.
    """
    path = Path(path)
    tok = path.read_text().split()

    def bad(what: str) -> ValueError:
        return ValueError(f"{path}: not a valid pmed instance: {what}")

    try:
        n, m, p = (int(t) for t in tok[:3])
    except ValueError:
        raise bad(
            f"the header {' '.join(tok[:3])!r} is not three whole numbers 'n m p'"
        ) from None
    if n < 1 or m < 0 or not 1 <= p <= n:
        raise bad(
            f"the header 'n m p' = {n} {m} {p} needs n ≥ 1, m ≥ 0, 1 ≤ p ≤ n "
            "(another family's file?)"
        )
    if len(tok) != 3 + 3 * m:
        raise bad(
            f"the header announces {m} edges, so 3 + 3·{m} = {3 + 3 * m} numbers, "
            f"but the file has {len(tok)} (truncated, or another family's file?)"
        )
    try:
        vals = np.array(tok[3:], dtype=np.int64).reshape(m, 3)
    except ValueError:
        raise bad("an edge 'i j cost' is not three whole numbers") from None
    ends = vals[:, :2]
    off = np.flatnonzero(((ends < 1) | (ends > n)).any(axis=1))
    if len(off):
        raise bad(
            f"edge(s) {(off[:5] + 1).tolist()} join vertices outside 1..{n} "
            f"(first: {vals[off[0]].tolist()})"
        )
    edges: dict[tuple[int, int], int] = {}
    for i, j, c in vals.tolist():  # the last occurrence of an edge wins
        a, b = (i - 1, j - 1) if i <= j else (j - 1, i - 1)
        edges[(a, b)] = c
    ij = np.array(list(edges.keys()), dtype=np.int64).reshape(-1, 2)
    w = np.array(list(edges.values()), dtype=float)
    keep = ij[:, 0] != ij[:, 1]
    ij, w = ij[keep], w[keep]
    g = csr_matrix(
        (
            np.concatenate([w, w]),
            (
                np.concatenate([ij[:, 0], ij[:, 1]]),
                np.concatenate([ij[:, 1], ij[:, 0]]),
            ),
        ),
        shape=(n, n),
    )
    d = shortest_path(g, method="D", directed=False)
    return PMedInstance(path.stem, n, p, d)


def to_problem(inst: PMedInstance) -> DesignProblem:
    """Choose ``p`` of ``n`` centers, cost = shortest-path distance, no band."""
    ids = np.arange(1, inst.n + 1)
    return DesignProblem(
        unit_ids=ids,
        activities={"demand": np.ones(inst.n)},
        n_territories=inst.p,
        cost=inst.distance,
        center_mode="choose",
        center_units=np.arange(inst.n),
        center_ids=tuple(ids.tolist()),
        objective="travel",
        name=inst.name,
    )


def value_of(inst: PMedInstance, medians: list[int]) -> float:
    """The README's objective: Σ over vertices of the distance to the nearest median."""
    cols = np.asarray(medians, dtype=np.int64) - 1
    return float(inst.distance[:, cols].min(axis=1).sum())


def solve_file(
    path: str | Path, *, time_limit: float = 30.0, seed: int = 0, **kw: Any
) -> dict[str, Any]:
    """Solve one instance file; a row for :func:`terrakit.benchmarks.run`.

    ``unproven`` is the engine's reason when a run ends without a proof
    (``info["unproven"]``; no key otherwise).
    """
    from terrakit.design.align import solve

    inst = read_instance(path)
    res = solve(to_problem(inst), time_limit=time_limit, seed=seed, **kw)
    cols = np.asarray(res.columns)
    medians = sorted(int(j) + 1 for j in np.unique(cols))
    return {
        "instance": inst.name,
        "value": value_of(inst, medians),
        "lower_bound": res.lower_bound,
        "status": res.status,
        "method": res.method,
        "solution": {"medians": medians, "assignment": (cols + 1).tolist()},
        **({"unproven": str(res.info["unproven"])} if "unproven" in res.info else {}),
    }

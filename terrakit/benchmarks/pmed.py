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
from scipy.sparse.csgraph import connected_components, shortest_path

from terrakit.design.problem import DesignProblem
from terrakit.exceptions import SpecificationError

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

    A graph of several connected pieces is read (distances between pieces
    are infinite) as long as every piece can hold a median.

    Raises
    ------
    ValueError
        When the file is not a pmed instance: a header ``n m p`` that is not
        three whole numbers, another count of numbers than ``3 + 3m``, an
        edge whose end is not a vertex ``1..n``, or a negative edge cost (a
        shortest path would then have no end).
    SpecificationError
        The graph has more connected pieces than ``p``: some vertex cannot
        reach any median, so no plan exists.
    """
    path = Path(path)
    text = path.read_text()
    tok = text.split()
    # the line of each number, to name a bad edge's line
    line_of = [k for k, ln in enumerate(text.splitlines(), 1) for _ in ln.split()]

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
    neg = np.flatnonzero(vals[:, 2] < 0)
    if len(neg):
        e = int(neg[0])
        raise bad(
            f"edge {e + 1} '{' '.join(map(str, vals[e].tolist()))}' (line "
            f"{line_of[3 + 3 * e + 2]}) has a negative cost"
            + (f", and {len(neg) - 1} more edge(s)" if len(neg) > 1 else "")
            + "; edge costs are lengths of 0 or more (a sign typo?)"
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
    n_pieces, piece = connected_components(g, directed=False)
    if n_pieces > p:
        sizes = np.bincount(piece)
        cut = np.flatnonzero(piece == int(np.argmin(sizes))) + 1
        raise SpecificationError(
            f"{path}: the graph has {n_pieces} connected pieces but p = {p} "
            f"medians, so the vertices of at least {n_pieces - p} piece(s) "
            f"cannot reach any median (the smallest piece: vertices "
            f"{cut[:5].tolist()}{' ...' if len(cut) > 5 else ''}); no plan "
            "exists. Fix: add the missing edges or raise p"
        )
    d = shortest_path(g, method="D", directed=False)
    return PMedInstance(path.stem, n, p, d)


def to_problem(inst: PMedInstance) -> DesignProblem:
    """Choose ``p`` of ``n`` centers, cost = shortest-path distance, no band.

    Between the pieces of a disconnected graph the cost is a finite stand-in
    for infinity, ``1 + n·(largest distance)``: one such assignment costs
    more than any plan without one, so an optimal plan puts a median in
    every piece.
    """
    ids = np.arange(1, inst.n + 1)
    cost = inst.distance
    far = ~np.isfinite(cost)
    if far.any():
        cost = cost.copy()
        cost[far] = 1.0 + inst.n * float(cost[~far].max())
    return DesignProblem(
        unit_ids=ids,
        activities={"demand": np.ones(inst.n)},
        n_territories=inst.p,
        cost=cost,
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
    (``info["unproven"]``; no key otherwise).  A plan that leaves a piece of
    a disconnected graph without a median (``value`` infinite) has status
    ``"no_solution"``.
    """
    from terrakit.design.align import solve

    inst = read_instance(path)
    res = solve(to_problem(inst), time_limit=time_limit, seed=seed, **kw)
    cols = np.asarray(res.columns)
    medians = sorted(int(j) + 1 for j in np.unique(cols))
    value = value_of(inst, medians)
    return {
        "instance": inst.name,
        "value": value,
        "lower_bound": res.lower_bound,
        "status": res.status if np.isfinite(value) else "no_solution",
        "method": res.method,
        "solution": {"medians": medians, "assignment": (cols + 1).tolist()},
        **({"unproven": str(res.info["unproven"])} if "unproven" in res.info else {}),
    }

"""Shared pieces of the graph benchmark readers (districting, dtdp).

A graph benchmark instance is a plain, immutable record of arrays: node ids as
they appear in the file, node activities, band bounds, the undirected edge list
(with a length per edge) and planar coordinates.  The readers convert it to the
matrix form the solvers consume (:func:`terrakit.benchmarks.districting.to_problem`,
:func:`terrakit.benchmarks.dtdp.to_problem`); the checkers in this module work
from the instance alone, so they stay independent of any solver.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = ["GraphInstance", "decode_solution", "district_components"]


@dataclass(frozen=True)
class GraphInstance:
    """A graph partitioning benchmark instance, read from its file.

    Parameters
    ----------
    name
        Instance name (``"ME_county"``, ``"planar500_G0"``).
    family
        ``"districting"`` or ``"dtdp"``.
    node_ids
        The file's own node ids, in file order; position ``i`` is node ``i``.
    activity_names
        Names of the balanced activities (``("TOTPOP",)``).
    activities
        Array ``(n_nodes, n_activities)`` of activity values.
    lower, upper
        Arrays ``(n_activities,)``: every district's activity total must lie in
        ``[lower, upper]`` (inclusive).
    edges
        Integer array ``(n_edges, 2)``, each undirected edge once, ``i < j``.
    edge_length
        Array ``(n_edges,)``: edge lengths (``distance`` for dtdp, 1 for
        districting).
    coords
        Array ``(n_nodes, 2)`` of planar coordinates (centroid lon/lat or x/y).
    n_districts
        Number of districts ``k``.
    objective
        ``"cut_edges"`` or ``"diameter"``.
    contiguity
        Whether every district must induce a connected subgraph.
    reference
        Reference values from ``reference.csv`` (may be empty).
    """

    name: str
    family: str
    node_ids: tuple[Hashable, ...]
    activity_names: tuple[str, ...]
    activities: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    edges: np.ndarray
    edge_length: np.ndarray
    coords: np.ndarray
    n_districts: int
    objective: str
    contiguity: bool = True
    reference: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.node_ids)
        if self.activities.shape != (n, len(self.activity_names)):
            raise ValueError(
                f"activities has shape {self.activities.shape}, expected "
                f"({n}, {len(self.activity_names)})"
            )
        if self.edges.ndim != 2 or self.edges.shape[1] != 2:
            raise ValueError(f"edges must be (m, 2), got {self.edges.shape}")
        if len(self.edge_length) != len(self.edges):
            raise ValueError("edge_length and edges differ in length")
        if not 1 <= self.n_districts <= n:
            raise ValueError(f"n_districts={self.n_districts} outside [1, {n}]")

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    def adjacency(self, weighted: bool = False) -> sp.csr_matrix:
        """Symmetric sparse adjacency matrix (edge lengths when ``weighted``)."""
        n = self.n_nodes
        i, j = self.edges[:, 0], self.edges[:, 1]
        w = self.edge_length if weighted else np.ones(len(i))
        a = sp.coo_matrix(
            (np.concatenate([w, w]), (np.concatenate([i, j]), np.concatenate([j, i]))),
            shape=(n, n),
        )
        return a.tocsr()

    def labels_to_solution(self, labels: np.ndarray) -> dict[str, dict[Any, int]]:
        """Solution dict ``{"district": {node_id: k}}`` from a label array."""
        labels = np.asarray(labels)
        return {
            "district": {
                _plain(nid): int(k)
                for nid, k in zip(self.node_ids, labels, strict=True)
            }
        }


def repeated_ids(ids: Sequence[Hashable]) -> str:
    """``""`` when every node id is given once, else the repeated ones for a
    reader's message (``"'4', '7' and 3 more"``): a repeated id would merge
    two nodes in the id → index map and rewire the graph."""
    repeated = [nid for nid, c in Counter(ids).items() if c > 1]
    more = f" and {len(repeated) - 5} more" if len(repeated) > 5 else ""
    return ", ".join(map(repr, repeated[:5])) + more


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar (numpy ints become Python ints)."""
    if isinstance(value, np.integer):
        return int(value)
    return value


def decode_solution(
    instance: GraphInstance, solution: Mapping[str, Any]
) -> tuple[np.ndarray, list[str]]:
    """Label array (``-1`` = unassigned) from ``{"district": {node_id: k}}``.

    Node ids may come back as strings after a JSON round trip; both the file's
    id and its string form are accepted.  District labels may be any hashable;
    they are renumbered ``0..`` in order of first appearance.
    """
    problems: list[str] = []
    raw = solution.get("district") if isinstance(solution, Mapping) else None
    if not isinstance(raw, Mapping):
        return np.full(instance.n_nodes, -1), ['solution has no "district" mapping']
    index = {str(nid): i for i, nid in enumerate(instance.node_ids)}
    labels = np.full(instance.n_nodes, -1, dtype=np.int64)
    codes: dict[Any, int] = {}
    unknown = []
    for nid, k in raw.items():
        i = index.get(str(nid))
        if i is None:
            unknown.append(nid)
            continue
        labels[i] = codes.setdefault(k, len(codes))
    if unknown:
        problems.append(f"{len(unknown)} unknown node ids, e.g. {unknown[:3]!r}")
    missing = np.flatnonzero(labels < 0)
    if len(missing):
        shown = [instance.node_ids[i] for i in missing[:3]]
        problems.append(f"{len(missing)} nodes unassigned, e.g. {shown!r}")
    return labels, problems


def district_components(instance: GraphInstance, labels: np.ndarray) -> np.ndarray:
    """Number of connected pieces of each district's induced subgraph."""
    n = instance.n_nodes
    i, j = instance.edges[:, 0], instance.edges[:, 1]
    keep = labels[i] == labels[j]
    a = sp.coo_matrix(
        (np.ones(int(keep.sum())), (i[keep], j[keep])), shape=(n, n)
    ).tocsr()
    _, comp = connected_components(a, directed=False)
    k = int(labels.max()) + 1 if len(labels) else 0
    pieces = np.zeros(k, dtype=np.int64)
    seen: set[tuple[int, int]] = set()
    for lab, c in zip(labels.tolist(), comp.tolist(), strict=True):
        if lab >= 0 and (lab, c) not in seen:
            seen.add((lab, c))
            pieces[lab] += 1
    return pieces


def to_problem(instance: GraphInstance, unit_distance: np.ndarray | None = None) -> Any:
    """:class:`~terrakit.design.problem.DesignProblem` of a graph instance.

    Centers are chosen among all nodes (``center_mode="choose"``, each node
    its own candidate, rooted at itself); the bands are the instance's exact
    ``[lower, upper]``; ``cost`` (activity-weighted squared coordinate
    distance, or squared graph distance for dtdp) only seeds the search.
    """
    from terrakit.design.problem import DesignProblem

    n = instance.n_nodes
    if unit_distance is not None:
        base = unit_distance**2
    else:
        xy = instance.coords
        base = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1)
    weight = instance.activities.sum(axis=1)
    weight = weight / max(float(weight.mean()), 1e-12)
    cost = weight[:, None] * base
    k = instance.n_districts
    names = list(instance.activity_names)
    return DesignProblem(
        unit_ids=np.array(instance.node_ids, dtype=object),
        activities={a: instance.activities[:, j] for j, a in enumerate(names)},
        n_territories=k,
        cost=cost,
        lower={a: np.full(k, instance.lower[j]) for j, a in enumerate(names)},
        upper={a: np.full(k, instance.upper[j]) for j, a in enumerate(names)},
        center_mode="choose",
        center_units=np.arange(n),
        adjacency=instance.adjacency(weighted=False),
        contiguity=instance.contiguity,
        objective=instance.objective,  # type: ignore[arg-type]
        unit_distance=unit_distance,
        coords=instance.coords,
        name=instance.name,
    )


def territory_labels(problem: Any, columns: np.ndarray) -> np.ndarray:
    """Territory index per node from a solution's center columns."""
    terr, _ = problem.territory_index(np.asarray(columns))
    return np.asarray(terr)

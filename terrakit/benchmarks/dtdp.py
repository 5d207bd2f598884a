"""Reader and checker for the Delivery Territory Design Problem instances.

Aly, Gabor & Sleptchenko (2024): planar Delaunay graphs of 500–700 basic units
(GraphML, ``../shared/benchmarks/dtdp/``), partitioned into ``n_districts = 10``
connected districts whose three activities (``workload``, ``n_customers``,
``demand``) each lie within ``±δ`` (δ = 0.05) of the average ``total / 10``.
Objective: the largest district diameter, where a district's diameter is the
largest shortest-path distance between two of its nodes.  Following the
published source code (the folder's README), shortest paths are taken in the
*whole* graph with edge weight ``distance`` (not inside the district).

A solution is feasible when the README's infeasibility
``Σ_d Σ_a max(act − (1+δ)avg, (1−δ)avg − act, 0) / avg`` is zero and each
district is connected.  All activities are integers, so the bands are checked
exactly (rational arithmetic).

GraphML is read with :mod:`xml.etree.ElementTree`; node ids stay the file's
strings (``"0"``, ``"1"``, ...), as ``networkx.read_graphml`` returns them.
"""

from __future__ import annotations

import math
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components, shortest_path

from terrakit._runargs import check_seed, check_time_limit, is_count, is_tolerance
from terrakit.benchmarks._graphs import (
    GraphInstance,
    decode_solution,
    district_components,
    repeated_ids,
)

__all__ = [
    "ACTIVITIES",
    "DELTA",
    "N_DISTRICTS",
    "check_solution",
    "diameters",
    "find_instances",
    "read_instance",
    "read_reference",
    "shortest_path_lengths",
]

ACTIVITIES = ("workload", "n_customers", "demand")
DELTA = Fraction(5, 100)
N_DISTRICTS = 10

_NS = "{http://graphml.graphdrawing.org/xmlns}"


def read_reference(folder: str | Path) -> pd.DataFrame:
    """``reference.csv`` of the folder (one row per instance)."""
    return pd.read_csv(Path(folder) / "reference.csv")


def find_instances(folder: str | Path) -> list[Path]:
    """GraphML files of the folder, sorted by name (size, then graph number)."""
    return sorted(Path(folder).glob("*.graphml"))


def _bounds(total: int, k: int, delta: Fraction) -> tuple[int, int]:
    """Integer band ``[ceil((1−δ)T/k), floor((1+δ)T/k)]`` (integer activities)."""
    avg = Fraction(int(total), int(k))
    return math.ceil((1 - delta) * avg), math.floor((1 + delta) * avg)


def read_instance(
    path: str | Path,
    *,
    n_districts: int = N_DISTRICTS,
    delta: float | Fraction = DELTA,
) -> GraphInstance:
    """Read one GraphML instance.

    Parameters
    ----------
    path
        ``planarNNN_GX.graphml``.
    n_districts
        Number of districts (10 in the published experiments).
    delta
        Relative band half-width (0.05).

    Returns
    -------
    GraphInstance
        Activities ``ACTIVITIES`` with integer bands, edge lengths
        ``distance`` (an edge without one takes its key's ``<default>``, or
        1.0 where the key has none: an unweighted graph; an edge given twice
        keeps the shorter length, the one shortest paths take, as in the
        multigraph ``networkx.read_graphml`` returns), coordinates
        ``(x, y)`` (0 where a node has none), objective ``"diameter"``; the
        instance's ``reference.csv`` row (when present) in ``reference``.
        A graph in pieces is read (:func:`check_solution` works on it), but
        :func:`solve_file` refuses it.

    Raises
    ------
    ValueError
        ``"<file>: not a valid dtdp instance: ..."``: not well-formed XML
        (e.g. truncated), no ``<graph>``, a directed graph, repeated node
        ids, a node without the three activities, or with one that is not a
        whole number or is negative (the first such node, activity and value
        named, with a count of the others), a coordinate ``x`` / ``y`` that
        is not a finite number, an edge to an
        unknown node, an edge ``distance`` that is negative, NaN, infinite
        or not a number; or
        ``n_districts`` / ``delta`` out of range.
    """
    path = Path(path)

    def bad(what: str) -> ValueError:
        return ValueError(f"{path}: not a valid dtdp instance: {what}")

    if not is_count(n_districts):
        raise ValueError(f"n_districts must be a whole number ≥ 1, got {n_districts!r}")
    if not is_tolerance(delta):
        raise ValueError(f"delta must be a number in [0, 1), got {delta!r}")
    delta = Fraction(delta).limit_denominator(10**6)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise bad(f"not well-formed GraphML (truncated?): {err}") from None
    keys: dict[str | None, str] = {
        k.get("id"): str(k.get("attr.name")) for k in root.iter(f"{_NS}key")
    }
    # a key's <default> holds for every element of its domain without a <data>
    defaults: dict[str, dict[str, str]] = {"node": {}, "edge": {}}
    for k in root.iter(f"{_NS}key"):
        dflt = k.find(f"{_NS}default")
        domain = k.get("for", "all")
        if dflt is not None:
            for dom in defaults if domain == "all" else (domain,):
                if dom in defaults:
                    defaults[dom][str(k.get("attr.name"))] = dflt.text or ""
    graph = root.find(f"{_NS}graph")
    if graph is None:
        raise bad("no <graph> element")
    if graph.get("edgedefault", "undirected") != "undirected":
        raise bad("expected an undirected graph")

    def data_of(el: ET.Element, domain: str) -> dict[str, str]:
        return defaults[domain] | {
            keys.get(d.get("key"), str(d.get("key"))): (d.text or "")
            for d in el.iter(f"{_NS}data")
        }

    ids: list[str] = []
    attrs: list[dict[str, str]] = []
    for node in graph.iter(f"{_NS}node"):
        ids.append(str(node.get("id")))
        attrs.append(data_of(node, "node"))
    repeated = repeated_ids(ids)
    if repeated:
        raise bad(
            f"repeated node ids {repeated}; each "
            "<node> needs its own id (the edges name their ends by id)"
        )
    index = {nid: i for i, nid in enumerate(ids)}
    lengths: dict[tuple[int, int], float] = {}
    wrong: list[str] = []  # edges whose distance is not a length ≥ 0
    for edge in graph.iter(f"{_NS}edge"):
        ends = (str(edge.get("source")), str(edge.get("target")))
        if not all(e in index for e in ends):
            raise bad(f"edge {ends[0]}–{ends[1]} has an end that is not a node")
        i, j = index[ends[0]], index[ends[1]]
        if i == j:
            continue
        text = data_of(edge, "edge").get("distance", "1.0")
        try:
            length = float(text)
        except ValueError:
            length = math.nan
        if not 0 <= length < math.inf:
            wrong.append(f"{ends[0]}–{ends[1]} ({text.strip()!r})")
        # a repeated edge (a multigraph, as networkx.read_graphml reads it)
        # keeps its shortest length: the one every shortest path takes
        pair = (min(i, j), max(i, j))
        lengths[pair] = min(lengths.get(pair, math.inf), length)
    if wrong:
        more = f", and {len(wrong) - 1} more edge(s)" if len(wrong) > 1 else ""
        raise bad(
            f"edge {wrong[0]} has a distance that is not a finite number ≥ 0{more}; "
            "edge distances are lengths of 0 or more (a sign typo?)"
        )
    if len(ids) < n_districts:
        raise bad(f"{len(ids)} nodes for {n_districts} districts")
    pairs = sorted(lengths)
    edges = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    act = _activities(ids, attrs, bad)
    coords = _coordinates(ids, attrs, bad)
    totals = act.sum(axis=0)
    bands = [_bounds(int(t), n_districts, delta) for t in totals]

    name = path.stem
    reference: dict[str, Any] = {}
    ref_path = path.parent / "reference.csv"
    if ref_path.exists():
        ref = pd.read_csv(ref_path)
        # a reference.csv of another layout holds no row for this reader
        rows = ref[ref["instance"] == name] if "instance" in ref else ref.iloc[:0]
        if len(rows):
            reference = {
                k: (v.item() if hasattr(v, "item") else v)
                for k, v in rows.iloc[0].to_dict().items()
            }
    return GraphInstance(
        name=name,
        family="dtdp",
        node_ids=tuple(ids),
        activity_names=ACTIVITIES,
        activities=act.astype(float),
        lower=np.array([float(b[0]) for b in bands]),
        upper=np.array([float(b[1]) for b in bands]),
        edges=edges,
        edge_length=np.array([lengths[p] for p in pairs]),
        coords=coords,
        n_districts=int(n_districts),
        objective="diameter",
        contiguity=True,
        reference={**reference, "delta": float(delta)},
    )


def _more(found: list[str], what: str) -> str:
    """``", and 2 more <what>"`` after the first of ``found`` in a message."""
    return f", and {len(found) - 1} more {what}" if len(found) > 1 else ""


def _activities(
    ids: list[str], attrs: list[dict[str, str]], bad: Callable[[str], ValueError]
) -> np.ndarray:
    """``(n, 3)`` whole activities ≥ 0 of the nodes, or ``bad`` naming the
    first node (and activity) without one, with a count of the others."""
    act = np.zeros((len(ids), len(ACTIVITIES)), dtype=np.int64)
    missing: list[str] = []
    not_whole: list[str] = []
    negative: list[str] = []
    for i, (nid, a) in enumerate(zip(ids, attrs, strict=True)):
        for j, name in enumerate(ACTIVITIES):
            if name not in a:
                missing.append(f"node {nid!r} has no {name}")
                continue
            text = a[name].strip()
            try:
                act[i, j] = int(text)
            except (ValueError, OverflowError):
                not_whole.append(f"node {nid!r} has {name} {text!r}")
                continue
            if act[i, j] < 0:
                negative.append(f"node {nid!r} has {name} {act[i, j]}")
    need = f"every node needs the whole-number activities {list(ACTIVITIES)}"
    if missing:
        raise bad(
            f"{missing[0]}{_more(missing, 'missing value(s)')}; {need} (a <data> "
            "each, or a <default> in the activity's <key>)"
        )
    if not_whole:
        raise bad(
            f"{not_whole[0]}, not a whole number{_more(not_whole, 'such value(s)')}"
            f"; {need}"
        )
    if negative:
        raise bad(
            f"{negative[0]}{_more(negative, 'negative value(s)')}; activities are "
            "counts of 0 or more (a sign typo?)"
        )
    return act


def _coordinates(
    ids: list[str], attrs: list[dict[str, str]], bad: Callable[[str], ValueError]
) -> np.ndarray:
    """``(n, 2)`` node coordinates ``x``, ``y`` (0 where a node has none), or
    ``bad`` naming the first node whose coordinate is not a finite number."""
    xy = np.zeros((len(ids), 2))
    wrong: list[str] = []
    for i, (nid, a) in enumerate(zip(ids, attrs, strict=True)):
        for j, name in enumerate(("x", "y")):
            text = a.get(name, "0").strip()
            try:
                xy[i, j] = float(text)
            except ValueError:
                xy[i, j] = math.nan
            if not math.isfinite(xy[i, j]):
                wrong.append(f"node {nid!r} has {name} {text!r}")
    if wrong:
        raise bad(
            f"{wrong[0]}, not a finite number{_more(wrong, 'such coordinate(s)')}; "
            "node coordinates x, y are finite numbers (or left out: 0)"
        )
    return xy


def _components(instance: GraphInstance) -> str:
    """``""`` for a connected graph, else what its pieces are, for a message:
    ``"graph has 2 connected components (sizes 5, 5; e.g. nodes '0', '5')"``
    (the five largest, each named by its first node in file order)."""
    n_comp, comp = connected_components(instance.adjacency(), directed=False)
    if n_comp <= 1:
        return ""
    sizes = np.bincount(comp)
    shown = np.argsort(-sizes, kind="stable")[:5]
    more = ", ..." if n_comp > 5 else ""
    size_text = ", ".join(str(int(sizes[c])) for c in shown)
    ids = instance.node_ids
    node_text = ", ".join(repr(ids[int(np.argmax(comp == c))]) for c in shown)
    return (
        f"graph has {n_comp} connected components (sizes {size_text}{more}; "
        f"e.g. nodes {node_text}{more})"
    )


def shortest_path_lengths(instance: GraphInstance) -> np.ndarray:
    """All-pairs shortest-path distances in the whole graph (edge ``distance``)."""
    return shortest_path(instance.adjacency(weighted=True), method="D", directed=False)


def diameters(
    instance: GraphInstance, labels: np.ndarray, dist: np.ndarray | None = None
) -> np.ndarray:
    """Diameter of each district (largest whole-graph shortest-path distance)."""
    if dist is None:
        dist = shortest_path_lengths(instance)
    k = int(labels.max()) + 1
    out = np.zeros(k)
    for d in range(k):
        members = np.flatnonzero(labels == d)
        if len(members) > 1:
            out[d] = float(dist[np.ix_(members, members)].max())
    return out


def check_solution(
    instance: GraphInstance,
    solution: Mapping[str, Any],
    dist: np.ndarray | None = None,
) -> tuple[float, list[str]]:
    """Objective value and violations, as the folder's README defines them.

    Returns
    -------
    value, violations
        ``value`` = the largest district diameter; ``violations`` is empty for
        a feasible solution: every node assigned, exactly ``n_districts``
        non-empty districts, each connected, and every activity of every
        district within ``[(1−δ)avg, (1+δ)avg]`` (exact arithmetic).
    """
    labels, problems = decode_solution(instance, solution)
    if (labels < 0).any():
        return math.inf, problems
    k_seen = len(np.unique(labels))
    if k_seen != instance.n_districts:
        problems.append(f"{k_seen} districts, expected {instance.n_districts}")
    delta = Fraction(instance.reference.get("delta", DELTA)).limit_denominator(10**6)
    act = instance.activities.astype(np.int64)
    k = instance.n_districts
    for a, name in enumerate(instance.activity_names):
        total = int(act[:, a].sum())
        sums = np.bincount(labels, weights=act[:, a], minlength=k).astype(np.int64)
        for d, s in enumerate(sums.tolist()):
            # (1−δ)·T/k ≤ s ≤ (1+δ)·T/k  ⇔  (1−δ)·T ≤ k·s ≤ (1+δ)·T
            if not (1 - delta) * total <= k * s <= (1 + delta) * total:
                avg = total / k
                problems.append(
                    f"district {d}: {name} {s} outside ±{float(delta):.0%} of {avg:.1f}"
                )
    pieces = district_components(instance, labels)
    for d, c in enumerate(pieces.tolist()):
        if c > 1:
            problems.append(f"district {d}: {c} disconnected pieces")
    value = float(diameters(instance, labels, dist).max())
    return value, problems


def reference_values(folder: str | Path) -> dict[str, float]:
    """``instance → best_feasible_objective`` (best known) of ``reference.csv``.

    A file without that column is read with the generic columns
    (:func:`terrakit.benchmarks.run.generic_reference`); ``{}`` without a file.
    """
    from terrakit.benchmarks.run import generic_reference

    return generic_reference(folder, ("best_feasible_objective",))


def solve_file(
    path: str | Path,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    n_districts: int = N_DISTRICTS,
    delta: float | Fraction = DELTA,
    **kw: Any,
) -> dict[str, Any]:
    """Solve one dtdp instance with the design heuristic (diameter objective).

    ``n_districts`` and ``delta`` are passed to :func:`read_instance` (the
    published 10 and 0.05 by default); ``kw`` to
    :func:`terrakit.design.heuristic.solve_heuristic`.

    ``value`` is recomputed by :func:`check_solution`; the lower bound is the
    heuristic's (weak) graph bound.  ``status`` is the heuristic's
    (``"optimal"``, ``"time_limit"``, ``"feasible"``) for a feasible plan and
    ``"no_solution"`` when the run ended without one (the heuristic proves
    nothing: this is not ``"infeasible"``); ``problems`` then lists what the
    closest plan breaks (the first five).  ``cpu_seconds`` (this process)
    and ``load_1min`` (the machine's load average at the end) tell how much
    of a shared machine the run had.

    Raises
    ------
    SpecificationError
        ``time_limit`` is not a positive finite number of seconds, or
        ``seed`` not an int in ``[0, 2**32 - 1]`` (before the file is read);
        the graph is in pieces (it names them: sizes and a node of each).
    ValueError
        From :func:`read_instance`.
    """
    from terrakit.benchmarks._graphs import territory_labels, to_problem
    from terrakit.design.heuristic import solve_heuristic
    from terrakit.exceptions import SpecificationError

    time_limit = check_time_limit(time_limit)
    seed = check_seed(seed)
    cpu0 = time.process_time()
    inst = read_instance(path, n_districts=n_districts, delta=delta)
    pieces = _components(inst)
    if pieces:
        # the search measures districts along whole-graph shortest paths,
        # infinite between two pieces
        raise SpecificationError(
            f"{path}: {pieces}; the search needs one connected graph (a "
            "district's diameter is measured along shortest paths of the whole "
            "graph): add the missing edges, or solve each component as an "
            "instance of its own"
        )
    dist = shortest_path_lengths(inst)
    problem = to_problem(inst, unit_distance=dist)
    res = solve_heuristic(problem, time_limit=time_limit, seed=seed, **kw)
    labels = territory_labels(problem, np.asarray(res.columns))
    solution = inst.labels_to_solution(labels)
    value, violations = check_solution(inst, solution, dist)
    # the published best holds for the published n_districts and delta only
    other = (
        n_districts != N_DISTRICTS or Fraction(delta).limit_denominator(10**6) != DELTA
    )
    return {
        **({"reference": None} if other else {}),
        "instance": inst.name,
        "value": float(value),
        "lower_bound": float(res.lower_bound),
        "status": "no_solution" if violations else res.status,
        "solution": solution,
        "feasible": not violations,
        "problems": "; ".join(violations[:5]),
        "n_nodes": inst.n_nodes,
        # the machine may be shared: CPU seconds of this process and the load
        "cpu_seconds": time.process_time() - cpu0,
        "load_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan,
    }

"""Reader and checker for the Validi & Buchanan (2022) districting instances.

The folder (``../shared/benchmarks/districting/``) holds US county and census
tract dual graphs as networkx ``adjacency_data`` JSON (``*.json`` or
``*.json.gz``) and a ``reference.csv`` with the number of districts ``k``, the
population bounds and the best published cut-edge values.

Problem (the folder's README): partition the nodes into ``k`` districts, each
with total population ``TOTPOP`` in ``[L, U]``, where
``L = ceil((1 - 0.005) P / k)`` and ``U = floor((1 + 0.005) P / k)``,
``P = Σ TOTPOP``; minimise the number of cut edges (edges whose ends lie in
different districts).  The ``with_contiguity`` variant also requires every
district to induce a connected subgraph.

The files are read with the standard library (``json``/``gzip``): the
adjacency-data layout is plain JSON, so networkx is not needed.

Examples
--------
>>> from terrakit.benchmarks import districting
>>> inst = districting.read_instance(
...     "../shared/benchmarks/districting/ME_county.json")  # doctest: +SKIP
>>> inst.n_nodes, inst.n_districts  # doctest: +SKIP
(16, 2)
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from terrakit._runargs import check_seed, check_time_limit, is_count, whole_number
from terrakit.benchmarks._graphs import (
    GraphInstance,
    decode_solution,
    district_components,
    repeated_ids,
)
from terrakit.exceptions import SpecificationError

__all__ = [
    "TOLERANCE",
    "check_solution",
    "find_instances",
    "population_bounds",
    "read_instance",
    "read_reference",
]

#: Population deviation allowed by the benchmark (±0.5 %).
TOLERANCE = Fraction(5, 1000)


def population_bounds(total: int, k: int) -> tuple[int, int]:
    """``(L, U)`` = ``(ceil((1−τ)P/k), floor((1+τ)P/k))``, τ = 0.005, exactly.

    Parameters
    ----------
    total
        The population ``P``: a whole number >= 0 (``1000.0`` is 1000).
    k
        The number of districts: a whole number >= 1.

    Raises
    ------
    SpecificationError
        ``total`` or ``k`` is not such a whole number (a bool, ``2.5``,
        ``-2``, ``0`` districts): refused, not truncated, with the value given.

    Examples
    --------
    >>> population_bounds(1000, 2)
    (498, 502)
    """
    p, n = whole_number(total), whole_number(k)
    if p is None or p < 0:
        raise SpecificationError(
            f"total must be a whole population >= 0, got {total!r}. Fix: pass the "
            "sum of the nodes' TOTPOP"
        )
    if n is None or n < 1:
        raise SpecificationError(
            f"k must be a whole number >= 1, got {k!r}. Fix: pass the number of "
            "districts"
        )
    lo = (1 - TOLERANCE) * Fraction(p, n)
    hi = (1 + TOLERANCE) * Fraction(p, n)
    return math.ceil(lo), math.floor(hi)


def read_reference(folder: str | Path) -> pd.DataFrame:
    """``reference.csv`` of the folder (one row per instance and variant)."""
    return pd.read_csv(Path(folder) / "reference.csv")


def _instance_name(path: Path) -> str:
    name = path.name
    for suffix in (".json.gz", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def find_instances(folder: str | Path, level: str | None = None) -> list[Path]:
    """Instance files of the folder, smallest first (``level``: county/tract)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.json")) + sorted(folder.glob("*.json.gz"))
    if level is not None:
        files = [f for f in files if _instance_name(f).endswith("_" + level)]
    try:
        ref = read_reference(folder).drop_duplicates("instance")
        size = dict(zip(ref["instance"], ref["n_nodes"], strict=True))
    except FileNotFoundError:
        size = {}
    return sorted(files, key=lambda f: (size.get(_instance_name(f), 10**9), f.name))


def read_instance(
    path: str | Path,
    *,
    n_districts: int | None = None,
    contiguity: bool = True,
) -> GraphInstance:
    """Read one districting instance.

    Parameters
    ----------
    path
        ``XX_county.json`` or ``XX_tract.json.gz``.
    n_districts
        Number of districts; by default taken from ``reference.csv`` beside
        the file.
    contiguity
        The ``with_contiguity`` variant (default) or ``no_contiguity``.

    Returns
    -------
    GraphInstance
        Activities ``("TOTPOP",)`` with the exact bounds ``[L, U]``,
        unit-length edges, centroid coordinates ``(C_X, C_Y)`` and the reference
        row of the chosen variant in ``reference`` (when present).

    Raises
    ------
    ValueError
        If ``n_districts`` is not given and not in ``reference.csv``, or the
        file is not an undirected adjacency-data graph (truncated JSON,
        missing ``nodes`` / ``adjacency`` / ``TOTPOP``, a ``TOTPOP`` that is
        not a whole number of 0 or more, repeated node ids, a neighbour that
        is not a node):
        ``"<file>: not a valid districting instance: ..."``.
    """
    path = Path(path)

    def bad(what: str) -> ValueError:
        return ValueError(f"{path}: not a valid districting instance: {what}")

    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except (ValueError, OSError, EOFError) as err:  # JSON, gzip, encoding
        raise bad(f"not readable as (gzipped) JSON: {err}") from None
    if not isinstance(data, dict) or not {"nodes", "adjacency"} <= set(data):
        raise bad(
            "expected networkx adjacency_data JSON (an object with 'nodes' and "
            "'adjacency')"
        )
    if data.get("directed") or data.get("multigraph"):
        raise bad("expected an undirected simple graph")
    nodes = data["nodes"]
    if len(data["adjacency"]) != len(nodes):
        raise bad(f"{len(nodes)} nodes but {len(data['adjacency'])} adjacency lists")
    try:
        ids = [nd["id"] for nd in nodes]
        totpop = [nd["TOTPOP"] for nd in nodes]
        coords = np.array(
            [[float(nd.get("C_X", 0.0)), float(nd.get("C_Y", 0.0))] for nd in nodes]
        )
    except (KeyError, TypeError, ValueError) as err:
        raise bad(f"every node needs an 'id' and a whole 'TOTPOP' ({err!r})") from None
    repeated = repeated_ids(ids)
    if repeated:
        raise bad(
            f"repeated node ids {repeated}; each "
            "node needs its own 'id' (the adjacency lists name nodes by id)"
        )
    # a solution names nodes by id, read back as text after a JSON round trip
    # (decode_solution): ids that differ only by type (1 and "1") would merge
    by_text: dict[str, list[Any]] = {}
    for nid in ids:
        by_text.setdefault(str(nid), []).append(nid)
    same = [v for v in by_text.values() if len(v) > 1]
    if same:
        raise bad(
            f"node ids {' and '.join(map(repr, same[0]))} are the same text "
            f"({len(same)} such group(s)); a solution names nodes by id and "
            "reads them as text (JSON keys): give every node an id of its own"
        )
    pop = np.zeros(len(nodes), dtype=np.int64)
    for i, v in enumerate(totpop):
        whole = _whole(v)
        if whole is None:
            raise bad(
                f"node {ids[i]!r} has TOTPOP {v!r}; a population is a whole "
                "number of 0 or more (0, 1, 2, ...)"
            )
        pop[i] = whole
    index = {nid: i for i, nid in enumerate(ids)}
    pairs = set()
    for i, nbrs in enumerate(data["adjacency"]):
        for nb in nbrs:
            j = index.get(nb.get("id") if isinstance(nb, dict) else None)
            if j is None:
                raise bad(f"node {ids[i]!r} has a neighbour that is not a node: {nb!r}")
            if i != j:
                pairs.add((min(i, j), max(i, j)))
    edges = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)

    name = _instance_name(path)
    variant = "with_contiguity" if contiguity else "no_contiguity"
    reference: dict[str, Any] = {}
    ref_path = path.parent / "reference.csv"
    if ref_path.exists():
        ref = pd.read_csv(ref_path)
        # a reference.csv of another layout holds no row for this reader
        if {"instance", "variant"} <= set(ref.columns):
            rows = ref[(ref["instance"] == name) & (ref["variant"] == variant)]
        else:
            rows = ref.iloc[:0]
        if len(rows):
            reference = {
                k: (v.item() if hasattr(v, "item") else v)
                for k, v in rows.iloc[0].to_dict().items()
            }
    if n_districts is None:
        if "k_districts" not in reference:
            raise ValueError(
                f"{path}: number of districts unknown; pass n_districts= (to "
                "read_instance, solve_file or tk.benchmarks.run) or keep "
                "reference.csv beside the file"
            )
        n_districts = int(reference["k_districts"])
    if not is_count(n_districts) or n_districts > len(ids):
        raise ValueError(
            f"{path}: n_districts must be a whole number from 1 to the {len(ids)} "
            f"nodes, got {n_districts!r}"
        )
    lo, hi = population_bounds(int(pop.sum()), n_districts)
    return GraphInstance(
        name=name,
        family="districting",
        node_ids=tuple(ids),
        activity_names=("TOTPOP",),
        activities=pop.reshape(-1, 1).astype(float),
        lower=np.array([float(lo)]),
        upper=np.array([float(hi)]),
        edges=edges,
        edge_length=np.ones(len(edges)),
        coords=coords,
        n_districts=int(n_districts),
        objective="cut_edges",
        contiguity=contiguity,
        reference=reference,
    )


def _whole(v: Any) -> int | None:
    """``v`` as a whole number ≥ 0 (``12``, ``12.0``, ``"12"``), else ``None``."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        return None
    try:
        x = Fraction(v)
    except (ValueError, OverflowError, ZeroDivisionError):  # text, NaN, inf
        return None
    return int(x) if x.denominator == 1 and x >= 0 else None


def cut_edges(instance: GraphInstance, labels: np.ndarray) -> int:
    """Number of edges whose two ends carry different labels."""
    e = instance.edges
    return int(np.count_nonzero(labels[e[:, 0]] != labels[e[:, 1]]))


def check_solution(
    instance: GraphInstance, solution: Mapping[str, Any]
) -> tuple[int, list[str]]:
    """Objective value and violations of a solution, as the README defines them.

    Parameters
    ----------
    instance
        From :func:`read_instance`.
    solution
        ``{"district": {node_id: k}}`` with the file's node ids (or their
        string forms).

    Returns
    -------
    value, violations
        ``value`` = number of cut edges; ``violations`` is empty for a
        feasible solution (every node assigned, exactly ``k`` non-empty
        districts, population in ``[L, U]`` with integer arithmetic, each
        district connected when the variant requires contiguity).
    """
    labels, problems = decode_solution(instance, solution)
    assigned = labels >= 0
    value = cut_edges(instance, labels)
    k_seen = len(np.unique(labels[assigned]))
    if k_seen != instance.n_districts:
        problems.append(f"{k_seen} districts, expected {instance.n_districts}")
    pop = instance.activities[:, 0].astype(np.int64)
    lo, hi = int(instance.lower[0]), int(instance.upper[0])
    if assigned.any():
        totals = np.bincount(labels[assigned], weights=pop[assigned]).astype(np.int64)
        for d, tot in enumerate(totals.tolist()):
            if not lo <= tot <= hi:
                problems.append(f"district {d}: population {tot} outside [{lo}, {hi}]")
        if instance.contiguity and assigned.all():
            pieces = district_components(instance, labels)
            for d, c in enumerate(pieces.tolist()):
                if c > 1:
                    problems.append(f"district {d}: {c} disconnected pieces")
    return value, problems


def reference_values(
    folder: str | Path, variant: str = "with_contiguity"
) -> dict[str, float]:
    """``instance → min_cut_edges_best`` of ``reference.csv`` for one variant.

    ``{}`` without a ``reference.csv``; a file without the columns
    ``instance``, ``variant``, ``min_cut_edges_best`` is read with the generic
    columns (:func:`terrakit.benchmarks.run.generic_reference`).
    """
    from terrakit.benchmarks.run import generic_reference, reference_table

    f = Path(folder) / "reference.csv"
    if not f.is_file():
        return {}
    ref = reference_table(f)
    if not {"instance", "variant", "min_cut_edges_best"} <= set(ref.columns):
        return generic_reference(folder)
    ref = ref[(ref["variant"] == variant) & ref["min_cut_edges_best"].notna()]
    return {
        str(i): float(v)
        for i, v in zip(ref["instance"], ref["min_cut_edges_best"], strict=True)
    }


def solve_file(
    path: str | Path,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    n_districts: int | None = None,
    contiguity: bool = True,
    mip_nodes: int = 100,
    mip_share: float = 0.9,
    bound: str = "cg",
    **kw: Any,
) -> dict[str, Any]:
    """Solve one districting instance with the design engine.

    The instance becomes a :class:`~terrakit.design.problem.DesignProblem`
    (:func:`~terrakit.benchmarks._graphs.to_problem`) solved by
    :func:`terrakit.design.cutedges.solve_districting` — the path
    ``tk.design.align(objective="cut_edges")`` takes: spanning-tree splits
    find partitions and recombination anneals the best (on the larger graphs
    the heuristic's unit moves follow); on graphs of at most ``mip_nodes`` nodes an
    exact bound (``bound="cg"``: set-partitioning LP by column generation,
    ``"mip"``: the rooted model) gets ``mip_share`` of the time.

    ``value`` is recomputed by :func:`check_solution`.  ``status`` is
    ``"optimal"`` (value = proven bound), ``"time_limit"`` (feasible, the exact
    bound stopped at the limit), ``"feasible"`` (heuristic only, or the
    rooted model stopped within a ``mip_gap`` passed in ``kw``),
    ``"infeasible"`` only when the exact model proved that no partition meets
    the bands, and ``"no_solution"`` when nothing feasible was found in time.
    ``reference`` is ``min_cut_edges_best`` of the variant solved
    (``with_contiguity`` or, with ``contiguity=False``, ``no_contiguity``).
    ``n_districts`` (default: ``k_districts`` of the ``reference.csv`` beside
    the file) is passed to :func:`read_instance`; it is needed for a graph
    without a reference row.

    Raises
    ------
    SpecificationError
        ``time_limit`` is not a positive finite number of seconds, or
        ``seed`` not an int in ``[0, 2**32 - 1]`` (before the file is read);
        ``mip_nodes`` is not a whole number >= 0 or ``mip_share`` not in
        ``[0, 1]`` (named as the engine's ``exact_nodes`` /
        ``exact_share``).

    Warns
    -----
    TimeLimitWarning
        The status is ``"time_limit"`` or ``"no_solution"``
        (:func:`~terrakit.design.cutedges.solve_districting`).
    """
    from terrakit.benchmarks._graphs import to_problem
    from terrakit.design.cutedges import solve_districting

    time_limit = check_time_limit(time_limit)
    seed = check_seed(seed)
    inst = read_instance(path, n_districts=n_districts, contiguity=contiguity)
    out = solve_districting(
        to_problem(inst),
        time_limit=time_limit,
        seed=seed,
        bound=bound,
        exact_nodes=mip_nodes,
        exact_share=mip_share,
        **kw,
    )
    info = dict(out.info)
    method = info.pop("method")
    status = out.status
    if out.labels is None:
        solution: dict[str, Any] = {"district": {}}
        value, violations = math.inf, ["no partition found"]
    else:
        solution = inst.labels_to_solution(out.labels)
        value, violations = check_solution(inst, solution)
        if violations:
            status = "no_solution"
        elif value <= out.bound + 1e-9:
            status = "optimal"
    lower_bound = out.bound
    # the reference of the variant solved (the folder's default is
    # with_contiguity); None when reference.csv has no row for it, or its
    # row is for another number of districts than the one solved
    best = inst.reference.get("min_cut_edges_best")
    k_ref = inst.reference.get("k_districts")
    if k_ref is not None and int(k_ref) != inst.n_districts:
        best = None
    return {
        "instance": inst.name,
        "value": float(value),
        "reference": None if best is None else float(best),
        "lower_bound": float(lower_bound),
        "status": status,
        "solution": solution,
        "feasible": not violations,
        "method": method,
        "n_nodes": inst.n_nodes,
        "k": inst.n_districts,
        **info,
    }

"""Reader, distance functions, solver wrapper and checker for TSPLIB95 ``.tsp`` files.

The folder (``../shared/benchmarks/tsplib/``) holds symmetric TSP instances
(≤ 300 nodes) and a ``reference.csv`` with proven optimal tour lengths.

Distances follow the TSPLIB95 specification (Reinelt 1991, §2) exactly, so
that optimal values match:

* ``EUC_2D``: ``nint(sqrt(dx² + dy²))`` (``nint(x) = int(x + 0.5)``);
* ``CEIL_2D``: ``ceil(sqrt(dx² + dy²))``;
* ``ATT``: ``r = sqrt((dx² + dy²) / 10)``, ``t = nint(r)``, ``t + 1`` if
  ``t < r`` else ``t``;
* ``GEO``: coordinates ``DDD.MM`` (degrees and minutes) converted with
  ``PI = 3.141592``, ``RRR = 6378.388`` and
  ``int(RRR · acos(½((1+q1)q2 − (1−q1)q3)) + 1)``;
* ``EXPLICIT``: ``FULL_MATRIX``, ``UPPER_ROW``, ``LOWER_ROW``,
  ``UPPER_DIAG_ROW``, ``LOWER_DIAG_ROW``, ``UPPER_COL``, ``LOWER_COL``,
  ``UPPER_DIAG_COL``, ``LOWER_DIAG_COL``.

``value`` is the tour length recomputed with these integer distances by
:func:`tour_length` (which also checks the tour is a permutation of the
nodes); it never comes from the solver.  The optimal lengths of
``reference.csv`` use the same integer distances, so ``gap_pct`` compares
like with like (unlike Solomon's, no second convention is needed).

Examples
--------
>>> from terrakit.benchmarks import tsplib
>>> inst = tsplib.read_instance(
...     "../shared/benchmarks/tsplib/burma14.tsp")  # doctest: +SKIP
>>> tsplib.tour_length(inst, list(range(1, 15)))  # doctest: +SKIP
4048
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from terrakit.routing.vrp import Backend, RoutingProblem, resolve_backend, solve_routing

__all__ = [
    "TSPInstance",
    "distance_matrix",
    "find_instances",
    "read_instance",
    "read_reference",
    "reference_values",
    "run_family",
    "solve_file",
    "solve_instance",
    "tour_length",
]

_PI = 3.141592
_RRR = 6378.388


@dataclass(frozen=True, eq=False)
class TSPInstance:
    """A TSPLIB instance: node ids ``1..n`` and its integer distance matrix."""

    name: str
    dimension: int
    edge_weight_type: str
    matrix: np.ndarray
    coords: np.ndarray | None = None

    @property
    def ids(self) -> list[int]:
        return list(range(1, self.dimension + 1))


def _nint(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5).astype(np.int64)


def distance_matrix(coords: np.ndarray, kind: str) -> np.ndarray:
    """TSPLIB95 integer distances between all pairs of ``coords`` (n × 2)."""
    xy = np.asarray(coords, dtype=float)
    kind = kind.upper()
    if kind in ("EUC_2D", "CEIL_2D", "ATT"):
        dx = xy[:, None, 0] - xy[None, :, 0]
        dy = xy[:, None, 1] - xy[None, :, 1]
        if kind == "EUC_2D":
            return _nint(np.sqrt(dx * dx + dy * dy))
        if kind == "CEIL_2D":
            return np.ceil(np.sqrt(dx * dx + dy * dy) - 0.0).astype(np.int64)
        r = np.sqrt((dx * dx + dy * dy) / 10.0)
        t = _nint(r)
        return np.where(t < r, t + 1, t).astype(np.int64)
    if kind == "GEO":

        def rad(v: np.ndarray) -> np.ndarray:
            deg = np.trunc(v)  # "(int) x" as in the reference codes
            mins = v - deg
            return _PI * (deg + 5.0 * mins / 3.0) / 180.0

        lat, lon = rad(xy[:, 0]), rad(xy[:, 1])
        q1 = np.cos(lon[:, None] - lon[None, :])
        q2 = np.cos(lat[:, None] - lat[None, :])
        q3 = np.cos(lat[:, None] + lat[None, :])
        arg = 0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3)
        d = (_RRR * np.arccos(np.clip(arg, -1.0, 1.0)) + 1.0).astype(np.int64)
        np.fill_diagonal(d, 0)
        return d
    raise ValueError(
        f"EDGE_WEIGHT_TYPE {kind!r} is not supported; supported: EUC_2D, CEIL_2D, "
        "ATT, GEO, EXPLICIT"
    )


def _explicit(values: list[float], n: int, fmt: str) -> np.ndarray:
    fmt = fmt.upper()
    m = np.zeros((n, n), dtype=np.int64)
    vals = iter(round(v) for v in values)
    try:
        if fmt == "FULL_MATRIX":
            for i in range(n):
                for j in range(n):
                    m[i, j] = next(vals)
            return m
        # row formats; the *_COL formats are the transposed row formats
        col = fmt.endswith("_COL")
        base = fmt.replace("_COL", "_ROW")
        for i in range(n):
            if base == "UPPER_ROW":
                js: Iterable[int] = range(i + 1, n)
            elif base == "LOWER_ROW":
                js = range(0, i)
            elif base == "UPPER_DIAG_ROW":
                js = range(i, n)
            elif base == "LOWER_DIAG_ROW":
                js = range(0, i + 1)
            else:
                raise ValueError(f"EDGE_WEIGHT_FORMAT {fmt!r} is not supported")
            for j in js:
                v = next(vals)
                if col:
                    m[j, i] = m[i, j] = v
                else:
                    m[i, j] = m[j, i] = v
    except StopIteration:
        raise ValueError(
            f"EDGE_WEIGHT_SECTION too short for {n} nodes ({fmt}): "
            f"{len(values)} entries, {_entries(n, fmt)} expected"
        ) from None
    if len(values) != _entries(n, fmt):
        raise ValueError(
            f"EDGE_WEIGHT_SECTION has {len(values)} entries, but {fmt} for {n} "
            f"nodes takes {_entries(n, fmt)}; is EDGE_WEIGHT_FORMAT right?"
        )
    return m


def _entries(n: int, fmt: str) -> int:
    """How many entries ``fmt`` lists for ``n`` nodes."""
    if fmt == "FULL_MATRIX":
        return n * n
    return n * (n + 1) // 2 if "DIAG" in fmt else n * (n - 1) // 2


def read_instance(path: str | Path) -> TSPInstance:
    """Parse a TSPLIB95 ``.tsp`` file (symmetric TSP).

    Raises
    ------
    ValueError
        For missing sections, a ``TYPE`` other than ``TSP`` (``ATSP``,
        ``CVRP``...), unsupported weight types or a wrong number of entries
        (too few or too many), with the file's name.
    """
    path = Path(path)
    text = path.read_text().split("\n")
    spec: dict[str, str] = {}
    section = None
    coords: list[tuple[float, float]] = []
    weights: list[float] = []
    for lineno, raw in enumerate(text, start=1):
        line = raw.strip()
        if not line:
            continue
        if line == "EOF":
            break
        upper = line.upper().rstrip(":").strip()
        if upper.endswith("_SECTION"):
            section = upper
            continue
        if ":" in line:
            key, val = line.split(":", 1)
            spec[key.strip().upper()] = val.strip()
            section = None
            continue
        if section == "NODE_COORD_SECTION":
            parts = line.split()
            try:
                coords.append((float(parts[1]), float(parts[2])))
            except (IndexError, ValueError):
                raise ValueError(
                    f"{path}: not a valid tsplib instance: line {lineno} of "
                    f"NODE_COORD_SECTION is not 'id x y': {line!r}"
                ) from None
        elif section == "EDGE_WEIGHT_SECTION":
            try:
                weights.extend(float(v) for v in line.split())
            except ValueError:
                raise ValueError(
                    f"{path}: not a valid tsplib instance: line {lineno} of "
                    f"EDGE_WEIGHT_SECTION holds a value that is not a number: "
                    f"{line!r}"
                ) from None

    def bad(what: str) -> ValueError:
        return ValueError(f"{path}: not a valid tsplib instance: {what}")

    try:
        n = int(spec["DIMENSION"])
        kind = spec["EDGE_WEIGHT_TYPE"].upper()
    except KeyError as err:
        raise bad(f"header {err.args[0]} missing") from None
    except ValueError:
        raise bad(f"DIMENSION {spec['DIMENSION']!r} is not a whole number") from None
    tsp_type = (spec.get("TYPE") or "TSP").split()[0].upper()
    if tsp_type != "TSP":
        raise bad(
            f"TYPE is {spec['TYPE']!r}; only symmetric TSP instances (TYPE: TSP) "
            "are read (an ATSP matrix would be read as a symmetric one)"
        )
    xy = np.array(coords) if coords else None
    try:
        if kind == "EXPLICIT":
            fmt = spec.get("EDGE_WEIGHT_FORMAT", "FULL_MATRIX")
            mat = _explicit(weights, n, fmt)
        else:
            if xy is None or len(xy) != n:
                raise ValueError(
                    f"expected {n} coordinates, got {0 if xy is None else len(xy)}"
                )
            mat = distance_matrix(xy, kind)
    except ValueError as err:
        raise bad(str(err)) from None
    mat.setflags(write=False)
    return TSPInstance(
        name=path.stem, dimension=n, edge_weight_type=kind, matrix=mat, coords=xy
    )


def tour_length(inst: TSPInstance, tour: Sequence[int]) -> int:
    """Length of a closed tour given as node ids ``1..n`` (each exactly once).

    Raises
    ------
    ValueError
        If the tour is not a permutation of the nodes.
    """
    t = [int(v) for v in tour]
    if sorted(t) != inst.ids:
        raise ValueError(
            f"a tour must visit each of the {inst.dimension} nodes once; got "
            f"{len(t)} entries, {len(set(t))} distinct"
        )
    idx = np.asarray(t) - 1
    return int(inst.matrix[idx, np.roll(idx, -1)].sum())


def solve_instance(
    inst: TSPInstance,
    *,
    time_limit: float = 5.0,
    seed: int = 0,
    backend: Backend = "auto",
) -> dict[str, Any]:
    """Solve one instance as a one-vehicle routing problem from node 1."""
    t0 = time.perf_counter()
    prob = RoutingProblem(duration=inst.matrix.astype(float), scale=1.0)
    sol = solve_routing(prob, backend=backend, time_limit=time_limit, seed=seed)
    secs = time.perf_counter() - t0
    tour = [1, *[int(i) + 1 for r in sol.routes for i in r]]
    try:
        value: float = tour_length(inst, tour)
        status = "feasible"
    except ValueError:
        value, status = math.nan, "infeasible"
    return {
        "family": "tsplib",
        "instance": inst.name,
        "backend": sol.backend,
        "value": value,
        "vehicles": 1,
        "seconds": secs,
        "status": status,
        "solution": {"tour": tour},
    }


def read_reference(path: str | Path) -> pd.DataFrame:
    """``reference.csv`` indexed by instance name."""
    return pd.read_csv(path).set_index("instance")


def reference_values(folder: str | Path) -> dict[str, float]:
    """Optimal tour length per instance from ``folder/reference.csv``.

    Column ``optimal_tour_length`` or, in a file without it, the generic
    columns (:func:`terrakit.benchmarks.run.generic_reference`); ``{}`` when
    there is no file.
    """
    from terrakit.benchmarks.run import generic_reference

    return generic_reference(folder, ("optimal_tour_length",))


def solve_file(
    path: str | Path,
    *,
    time_limit: float = 5.0,
    seed: int = 0,
    backend: Backend = "auto",
) -> dict[str, Any]:
    """Solve one ``.tsp`` file; the row :func:`terrakit.benchmarks.run` expects."""
    return solve_instance(
        read_instance(path), time_limit=time_limit, seed=seed, backend=backend
    )


def find_instances(folder: str | Path) -> list[Path]:
    """``*.tsp`` files of a folder, smallest dimension first (then by name)."""
    files = list(Path(folder).glob("*.tsp"))

    def dim(p: Path) -> tuple[int, str]:
        for line in p.read_text().splitlines()[:12]:
            if line.upper().startswith("DIMENSION"):
                return int(line.split(":")[1]), p.name
        return 10**9, p.name

    return sorted(files, key=dim)


def run_family(
    paths: Iterable[str | Path] | str | Path,
    time_limit: float = 5.0,
    seed: int = 0,
    backend: Backend = "auto",
    progress: bool = False,
) -> pd.DataFrame:
    """Solve instances; one row per instance.

    Returns
    -------
    pandas.DataFrame
        ``family, instance, backend, value, vehicles, seconds, status,
        solution`` (``{"tour": [node ids]}``) and, with a ``reference.csv``
        beside the files, ``reference`` (optimal tour length) and ``gap_pct``.
    """
    from tqdm.auto import tqdm

    if isinstance(paths, (str, Path)):
        p = Path(paths)
        files = find_instances(p) if p.is_dir() else [p]
    else:
        files = []
        for q in paths:
            p = Path(q)
            files.extend(find_instances(p) if p.is_dir() else [p])
    if not files:
        raise ValueError("no TSPLIB instance files given")
    resolve_backend(backend)
    rows = [
        solve_file(f, time_limit=time_limit, seed=seed, backend=backend)
        for f in tqdm(files, desc="tsplib", disable=not progress)
    ]
    df = pd.DataFrame(rows)
    refs: dict[str, float] = {}
    for folder in dict.fromkeys(f.parent for f in files):
        refs.update(reference_values(folder))
    if refs:
        df["reference"] = df["instance"].map(refs).astype(float)
        df["gap_pct"] = 100.0 * (df["value"] - df["reference"]) / df["reference"]
    return df

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
4562
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from terrakit.exceptions import TimeLimitWarning
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


# The column-wise formats list a symmetric matrix's triangle column by column,
# which is the other triangle listed row by row (column j of the upper triangle
# holds d(0, j) ... d(j-1, j), the entries of row j of the lower one).
_COL_AS_ROW = {
    "UPPER_COL": "LOWER_ROW",
    "LOWER_COL": "UPPER_ROW",
    "UPPER_DIAG_COL": "LOWER_DIAG_ROW",
    "LOWER_DIAG_COL": "UPPER_DIAG_ROW",
}


def _explicit(values: list[float], n: int, fmt: str) -> np.ndarray:
    fmt = fmt.upper()
    m = np.zeros((n, n), dtype=np.int64)
    vals = iter(round(v) for v in values)
    try:
        if fmt == "FULL_MATRIX":
            for i in range(n):
                for j in range(n):
                    m[i, j] = next(vals)
        else:
            base = _COL_AS_ROW.get(fmt, fmt)
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
                    m[i, j] = m[j, i] = next(vals)
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
    if fmt == "FULL_MATRIX":
        off = np.argwhere(m != m.T)
        if len(off):
            i, j = (int(v) for v in off[0])
            raise ValueError(
                f"the FULL_MATRIX is not symmetric ({len(off) // 2} pair(s) differ, "
                f"e.g. d({i + 1},{j + 1}) = {m[i, j]} but d({j + 1},{i + 1}) = "
                f"{m[j, i]}); TYPE: TSP is a symmetric instance: fix the matrix, "
                "or the file is an ATSP, which is not read"
            )
    return m


def _entries(n: int, fmt: str) -> int:
    """How many entries ``fmt`` lists for ``n`` nodes."""
    if fmt == "FULL_MATRIX":
        return n * n
    return n * (n + 1) // 2 if "DIAG" in fmt else n * (n - 1) // 2


def _invalid(path: Path, what: str) -> ValueError:
    return ValueError(f"{path}: not a valid tsplib instance: {what}")


def _lines(path: Path) -> list[str]:
    """The file's lines; a file that is not text is refused naming it."""
    try:
        return path.read_text().split("\n")
    except UnicodeDecodeError as err:
        raise _invalid(
            path,
            f"not a text file (byte {err.start} cannot be decoded as "
            f"{err.encoding}); TSPLIB files are plain text",
        ) from None


def _dimension(path: Path, value: str) -> int:
    """The DIMENSION header: the number of nodes, a whole number ≥ 1."""
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise _invalid(
            path,
            f"DIMENSION {value!r} is not a whole number of 1 or more (the "
            "number of nodes)",
        )
    return n


def _weight(path: Path, lineno: int, line: str, token: str) -> float:
    """One EDGE_WEIGHT_SECTION entry: a finite, non-negative whole number."""
    where = f"line {lineno} of EDGE_WEIGHT_SECTION"
    try:
        v = float(token)
    except ValueError:
        raise _invalid(
            path, f"{where} holds a value that is not a number: {line!r}"
        ) from None
    if not math.isfinite(v) or v < 0:
        raise _invalid(
            path,
            f"{where} holds the weight {token!r}; weights are finite "
            f"distances of 0 or more: {line!r}",
        )
    if v != round(v):
        raise _invalid(
            path,
            f"{where} holds the weight {token!r}, which is not a whole number; "
            f"TSPLIB edge weights are integers (round them in the file): {line!r}",
        )
    return v


def read_instance(path: str | Path) -> TSPInstance:
    """Parse a TSPLIB95 ``.tsp`` file (symmetric TSP).

    Coordinates are stored by node id, so the lines of ``NODE_COORD_SECTION``
    may come in any order.

    Raises
    ------
    ValueError
        For a file that is not text, missing sections, a ``TYPE`` other than
        ``TSP`` (``ATSP``, ``CVRP``...), unsupported weight types, a wrong
        number of entries (too few or too many), node ids other than
        ``1..n`` once each, non-finite coordinates, ``GEO`` coordinates that
        are not ``DDD.MM`` (minutes of 60 or more: decimal degrees), negative
        or fractional weights or an asymmetric ``FULL_MATRIX``, with the
        file's name.
    """
    path = Path(path)
    text = _lines(path)
    spec: dict[str, str] = {}
    section = None
    coords: dict[int, tuple[float, float]] = {}
    coord_line: dict[int, int] = {}
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
                node = int(parts[0])
                xy_node = (float(parts[1]), float(parts[2]))
            except (IndexError, ValueError):
                raise _invalid(
                    path,
                    f"line {lineno} of NODE_COORD_SECTION is not 'id x y' "
                    f"(a whole-number id, then two numbers): {line!r}",
                ) from None
            if not all(math.isfinite(v) for v in xy_node):
                raise _invalid(
                    path,
                    f"line {lineno} of NODE_COORD_SECTION has a coordinate "
                    f"that is not a finite number: {line!r}",
                )
            if node in coords:
                raise _invalid(
                    path,
                    f"line {lineno} of NODE_COORD_SECTION repeats node id {node} "
                    f"(first given on line {coord_line[node]}); each node's "
                    "coordinates are listed once",
                )
            coords[node] = xy_node
            coord_line[node] = lineno
        elif section == "EDGE_WEIGHT_SECTION":
            weights.extend(_weight(path, lineno, line, v) for v in line.split())

    def bad(what: str) -> ValueError:
        return _invalid(path, what)

    try:
        n = _dimension(path, spec["DIMENSION"])
        kind = spec["EDGE_WEIGHT_TYPE"].upper()
    except KeyError as err:
        raise bad(f"header {err.args[0]} missing") from None
    tsp_type = (spec.get("TYPE") or "TSP").split()[0].upper()
    if tsp_type != "TSP":
        raise bad(
            f"TYPE is {spec['TYPE']!r}; only symmetric TSP instances (TYPE: TSP) "
            "are read (an ATSP matrix would be read as a symmetric one)"
        )
    xy = None
    if coords:
        outside = sorted(k for k in coords if not 1 <= k <= n)
        missing = sorted(set(range(1, n + 1)) - set(coords))
        if outside or missing:
            parts = []
            if outside:
                parts.append(
                    f"ids outside 1..{n}: {_some(outside)} (line "
                    f"{coord_line[outside[0]]} first)"
                )
            if missing:
                parts.append(f"ids missing: {_some(missing)}")
            raise bad(
                f"NODE_COORD_SECTION must list node ids 1..{n} (DIMENSION) once "
                f"each; {'; '.join(parts)}"
            )
        xy = np.array([coords[k] for k in range(1, n + 1)])
        if kind == "GEO":
            _check_geo(path, xy, coord_line)
    try:
        if kind == "EXPLICIT":
            fmt = spec.get("EDGE_WEIGHT_FORMAT", "FULL_MATRIX")
            mat = _explicit(weights, n, fmt)
        else:
            if xy is None:
                raise ValueError(f"expected {n} coordinates, got 0")
            mat = distance_matrix(xy, kind)
    except ValueError as err:
        raise bad(str(err)) from None
    mat.setflags(write=False)
    return TSPInstance(
        name=path.stem, dimension=n, edge_weight_type=kind, matrix=mat, coords=xy
    )


def _check_geo(path: Path, xy: np.ndarray, coord_line: dict[int, int]) -> None:
    """Refuse GEO coordinates that are not ``DDD.MM`` (degrees, then minutes
    below 60 after the point): decimal degrees such as 48.85 would be read
    as 48° 85′ and every distance would be silently wrong."""
    mins = np.abs(xy - np.trunc(xy))
    bad = np.argwhere(mins >= 0.6 - 1e-9)
    if not len(bad):
        return
    k, c = (int(v) for v in bad[0])
    node = k + 1
    more = f" ({len(bad)} coordinates are not, the first shown)" if len(bad) > 1 else ""
    raise _invalid(
        path,
        f"line {coord_line[node]} of NODE_COORD_SECTION gives node {node} the "
        f"{('latitude', 'longitude')[c]} {xy[k, c]:g}, whose minutes "
        f"{100 * mins[k, c]:.4g} are not below 60{more}; GEO is DDD.MM (degrees "
        "and minutes); convert decimal degrees (fix: DDD + 0.6 x fraction, e.g. "
        "48.85 -> 48.51) or use EUC_2D for planar coordinates",
    )


def _some(ids: list[int], k: int = 5) -> str:
    shown = ", ".join(str(i) for i in ids[:k])
    return shown + (f" and {len(ids) - k} more" if len(ids) > k else "")


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
    """Solve one instance as a one-vehicle routing problem from node 1.

    ``status`` is ``"feasible"`` for a tour of every node, ``"no_solution"``
    (``value`` NaN) when the solver's answer is not one.  The row records the
    run's ``seed``, ``time_limit`` and ``versions`` (the numerical libraries
    loaded, the solver's among them).
    """
    t0 = time.perf_counter()
    prob = RoutingProblem(duration=inst.matrix.astype(float), scale=1.0)
    with warnings.catch_warnings():  # a fixed-time run: the row has the seconds
        warnings.simplefilter("ignore", TimeLimitWarning)
        sol = solve_routing(prob, backend=backend, time_limit=time_limit, seed=seed)
    secs = time.perf_counter() - t0
    tour = [1, *[int(i) + 1 for r in sol.routes for i in r]]
    try:
        value: float = tour_length(inst, tour)
        status = "feasible"
    except ValueError:  # not a tour: no plan, and no proof that none exists
        value, status = math.nan, "no_solution"
    return {
        "family": "tsplib",
        "instance": inst.name,
        "backend": sol.backend,
        "value": value,
        "vehicles": 1,
        "seconds": secs,
        "status": status,
        "solution": {"tour": tour},
        "seed": sol.seed,
        "time_limit": sol.time_limit,
        "versions": sol.versions,
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
    """Solve one ``.tsp`` file; the row :func:`terrakit.benchmarks.run` expects.

    Raises
    ------
    ValueError
        ``backend`` is not ``"auto"``, ``"pyvrp"`` or ``"ortools"`` (checked
        before the file is read), or the file is not a TSPLIB instance.
    """
    if backend not in ("auto", "pyvrp", "ortools"):
        # a ValueError, not SpecificationError: tk.benchmarks.run records an
        # instance's SpecificationError as its proof of infeasibility
        raise ValueError(
            f"backend must be 'auto', 'pyvrp' or 'ortools', got {backend!r}"
        )
    return solve_instance(
        read_instance(path), time_limit=time_limit, seed=seed, backend=backend
    )


def find_instances(folder: str | Path) -> list[Path]:
    """``*.tsp`` files of a folder, smallest dimension first (then by name).

    Raises
    ------
    ValueError
        Naming the file, for one that is not text or whose ``DIMENSION`` is
        not a whole number (as :func:`read_instance` does).
    """
    files = list(Path(folder).glob("*.tsp"))

    def dim(p: Path) -> tuple[int, str]:
        for line in _lines(p)[:12]:
            if line.upper().startswith("DIMENSION"):
                return _dimension(p, line.split(":", 1)[-1].strip()), p.name
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
        solution`` (``{"tour": [node ids]}``), ``seed``, ``time_limit``,
        ``versions`` (library versions) and, with a ``reference.csv`` beside
        the files, ``reference`` (optimal tour length) and ``gap_pct``.
        ``df.attrs`` holds the run settings (``seed``, ``time_limit``,
        ``backend``, ``versions``), as :func:`terrakit.benchmarks.solomon.run_family`.
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
    df.attrs.update(
        seed=seed,
        time_limit=time_limit,
        backend=backend,
        versions=rows[-1]["versions"],
    )
    refs: dict[str, float] = {}
    for folder in dict.fromkeys(f.parent for f in files):
        refs.update(reference_values(folder))
    if refs:
        df["reference"] = df["instance"].map(refs).astype(float)
        df["gap_pct"] = 100.0 * (df["value"] - df["reference"]) / df["reference"]
    return df

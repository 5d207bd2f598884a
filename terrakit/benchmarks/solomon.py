"""Reader, solver wrapper and checker for the Solomon (1987) VRPTW instances.

The folder (``../shared/benchmarks/solomon/``) holds the 100-customer
instances in Solomon's text format and a ``reference.csv`` with best-known
hierarchical solutions (vehicles first, then distance) and, for the type-1
classes, proven optima of the *distance-only* objective.

Conventions
-----------
* Travel time = travel distance = Euclidean distance (speed 1); windows bound
  the start of service; every route starts and ends at the depot within the
  depot's window; vehicle load ≤ capacity.
* The solvers minimise total distance only (vehicles free, at most the
  instance's fleet), the objective of the distance-only optima.
* ``value`` is the exact, unrounded Euclidean length of the returned
  solution, recomputed by :func:`check_solution` (which also verifies
  windows, capacities and that every customer is served once).
* ``value_trunc1`` is the same routes measured with every arc truncated to one
  decimal, the convention of the exact methods whose optima are in
  ``opt_distance_min_dist_trunc1`` (the folder's README), which is the
  ``reference``.  ``gap_pct`` compares like with like: ``value_trunc1`` with
  that optimum (``gap_trunc1_pct`` is the same number under its older name);
  ``gap_exact_pct`` compares the exact ``value`` with it (conservative: exact
  lengths exceed truncated ones by ~0.2-0.3 %, so it is never a like-for-like
  gap); ``gap_bks_pct`` compares ``value`` with the hierarchical best-known
  distance (double-precision distances, but fewer vehicles, so a
  distance-only solution can be below it).

Examples
--------
>>> from terrakit.benchmarks import solomon
>>> inst = solomon.read_instance(
...     "../shared/benchmarks/solomon/C101.txt")  # doctest: +SKIP
>>> inst.n_customers, inst.capacity  # doctest: +SKIP
(100, 200)
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from terrakit._versions import library_versions
from terrakit.exceptions import TimeLimitWarning
from terrakit.routing.vrp import (
    Backend,
    RoutingProblem,
    evaluate_routes,
    resolve_backend,
    solve_routing,
)

__all__ = [
    "SolomonInstance",
    "check_solution",
    "find_instances",
    "read_instance",
    "read_reference",
    "reference_values",
    "run_family",
    "solve_file",
    "solve_instance",
]


@dataclass(frozen=True, eq=False)
class SolomonInstance:
    """One Solomon instance; row 0 of the arrays is the depot (customer 0)."""

    name: str
    n_vehicles: int
    capacity: int
    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray

    @property
    def n_customers(self) -> int:
        return len(self.ids) - 1

    def distance(self) -> np.ndarray:
        """Exact Euclidean distance matrix (depot first)."""
        return np.hypot(
            self.x[:, None] - self.x[None, :], self.y[:, None] - self.y[None, :]
        )

    def problem(self, *, scale: float = 1000.0) -> RoutingProblem:
        """The instance as a :class:`~terrakit.routing.vrp.RoutingProblem`."""
        d = self.distance()
        return RoutingProblem(
            duration=d,
            cost=d,
            service=self.service.astype(float),
            early=self.ready.astype(float),
            late=self.due.astype(float),
            demand=self.demand.astype(float),
            capacity=int(self.capacity),
            n_vehicles=int(self.n_vehicles),
            scale=scale,
        )


def read_instance(
    path: str | Path, *, n_customers: int | None = None
) -> SolomonInstance:
    """Parse a Solomon ``.txt`` file.

    Parameters
    ----------
    path
        The instance file.
    n_customers
        The number of customers the file must hold; by default the
        ``n_customers`` of the ``reference.csv`` beside the file, when it has
        a row for the instance (unchecked otherwise).

    Raises
    ------
    ValueError
        When the VEHICLE or CUSTOMER section is missing or malformed: after
        the CUSTOMER header (and its column titles) every non-blank row must
        be 7 numbers, the customer ids must run 0 (the depot), 1, ..., n in
        order, and ``n`` must be the expected number of customers; and for
        values no instance can have, naming the line and the value: a fleet
        (NUMBER) below 1 or a negative CAPACITY, a value that is not finite
        (``nan``), negative demand, times or service, a READY TIME after the
        DUE DATE, a depot with demand or service.
    """
    path = Path(path)
    raw = path.read_text().splitlines()
    lines = [ln.strip() for ln in raw]
    name = next((ln for ln in lines if ln), path.stem)

    def bad(what: str) -> ValueError:
        return ValueError(f"{path}: not a valid Solomon instance: {what}")

    try:
        vi = next(i for i, ln in enumerate(lines) if ln.upper().startswith("VEHICLE"))
        ni = next(
            i
            for i, ln in enumerate(lines[vi + 1 :], start=vi + 1)
            if ln and ln.lstrip("+-")[:1].isdigit()
        )
        nums = lines[ni]
        n_veh, cap = (int(v) for v in nums.split()[:2])
        ci = next(i for i, ln in enumerate(lines) if ln.upper().startswith("CUSTOMER"))
    except (StopIteration, ValueError) as err:
        raise bad(f"no VEHICLE or CUSTOMER section ({err})") from None
    if n_veh < 1 or cap < 0:
        raise bad(
            f"line {ni + 1}: {nums!r}: the VEHICLE section must give NUMBER >= 1 "
            f"(the fleet) and CAPACITY >= 0, got NUMBER {n_veh} and CAPACITY {cap}"
        )
    rows: list[list[float]] = []
    row_line: list[int] = []
    wrong: list[str] = []
    titles = True  # the column titles ("CUST NO. XCOORD. ...") may follow
    for lineno, ln in enumerate(lines[ci + 1 :], start=ci + 2):
        if not ln:
            continue
        parts = ln.split()
        if titles and not _isnum(parts[0]):
            titles = False
            continue
        titles = False
        if len(parts) != 7 or not all(_isnum(v) for v in parts):
            wrong.append(f"line {lineno}: {ln!r}")
        else:
            rows.append([float(v) for v in parts])
            row_line.append(lineno)
    if wrong:
        raise bad(
            f"{len(wrong)} customer row(s) are not 7 numbers (CUST NO., XCOORD., "
            f"YCOORD., DEMAND, READY TIME, DUE DATE, SERVICE TIME): "
            + "; ".join(wrong[:3])
        )
    if not rows:
        raise bad("no customer rows after the CUSTOMER header")
    a = np.array(rows)
    ids = a[:, 0]
    off = np.flatnonzero(ids != np.arange(len(ids)))
    if len(off):
        k = int(off[0])
        raise bad(
            f"customer ids must run 0 (the depot), 1, 2, ... in order; row {k + 1} "
            f"of the CUSTOMER section has id {ids[k]:g}, expected {k}"
        )
    _check_values(a, row_line, bad)
    if n_customers is None:
        n_customers = _expected_customers(path)
    if n_customers is not None and len(ids) - 1 != n_customers:
        raise bad(
            f"{len(ids) - 1} customers, but {n_customers} expected (the "
            "reference.csv beside it, or n_customers=); the file is truncated "
            "or the reference belongs to another file"
        )
    return SolomonInstance(
        name=name,
        n_vehicles=n_veh,
        capacity=cap,
        ids=a[:, 0].astype(np.int64),
        x=a[:, 1],
        y=a[:, 2],
        demand=a[:, 3],
        ready=a[:, 4],
        due=a[:, 5],
        service=a[:, 6],
    )


#: columns of the CUSTOMER section after the id, as Solomon's header names them
_COLUMNS = ("XCOORD.", "YCOORD.", "DEMAND", "READY TIME", "DUE DATE", "SERVICE TIME")


def _check_values(
    a: np.ndarray, row_line: Sequence[int], bad: Callable[[str], ValueError]
) -> None:
    """Refuse CUSTOMER rows whose values no instance can have (``bad`` builds
    the error naming the file): values that are not finite, negative demand,
    times or service, a window that closes before it opens, and a depot (row
    0) with demand or service.  Each message names the line and the value."""
    vals = a[:, 1:]
    rules: list[tuple[np.ndarray, str]] = [
        (~np.isfinite(vals), "every value must be a finite number"),
        (
            np.c_[np.zeros((len(a), 2), dtype=bool), vals[:, 2:] < 0],
            "DEMAND, READY TIME, DUE DATE and SERVICE TIME must be >= 0",
        ),
    ]
    late = np.zeros_like(vals, dtype=bool)
    late[:, 4] = vals[:, 3] > vals[:, 4]
    rules.append(
        (late, "it is before READY TIME: a window must not close before it opens")
    )
    depot = np.zeros_like(vals, dtype=bool)
    depot[0, [2, 5]] = vals[0, [2, 5]] != 0
    rules.append(
        (
            depot,
            "the depot (customer 0) must have DEMAND 0 and SERVICE TIME 0: the "
            "vehicles load there and serve nothing",
        )
    )
    for mask, rule in rules:
        hits = np.argwhere(mask)
        if len(hits):
            k, c = (int(v) for v in hits[0])
            more = (
                f" ({len(hits)} such values, the first shown)" if len(hits) > 1 else ""
            )
            raise bad(
                f"line {row_line[k]} (customer {a[k, 0]:g}) has {_COLUMNS[c]} "
                f"{vals[k, c]:g}; {rule}{more} (fix: correct the row in the file)"
            )


def _expected_customers(path: Path) -> int | None:
    """``n_customers`` of the instance's row in the ``reference.csv`` beside it."""
    f = path.parent / "reference.csv"
    if not f.is_file():
        return None
    try:
        ref = pd.read_csv(f)
    except (ValueError, pd.errors.ParserError):
        return None  # a bad reference file is reported where it is read
    if not {"instance", "n_customers"} <= set(ref.columns):
        return None
    rows = ref.loc[ref["instance"].astype(str) == path.stem, "n_customers"].dropna()
    return int(rows.iloc[0]) if len(rows) else None


def _isnum(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def check_solution(
    inst: SolomonInstance, routes: Sequence[Sequence[int]]
) -> dict[str, Any]:
    """Exact distance and feasibility of ``routes`` (customer ids, depot omitted).

    Returns
    -------
    dict
        ``value`` (Euclidean, unrounded), ``value_trunc1`` (arcs truncated to
        one decimal), ``vehicles``, ``feasible`` and ``violations``.
    """
    pos = {int(c): k for k, c in enumerate(inst.ids)}
    idx = []
    for r in routes:
        try:
            idx.append([pos[int(c)] for c in r])
        except KeyError as err:
            raise ValueError(f"unknown customer id {err.args[0]}") from None
    chk = evaluate_routes(inst.problem(), idx)
    d1 = np.floor(inst.distance() * 10.0 + 1e-9) / 10.0
    trunc = 0.0
    for r in idx:
        path = [0, *r, 0]
        trunc += float(sum(d1[a, b] for a, b in itertools.pairwise(path)))
    return {
        "value": chk.cost,
        "value_trunc1": trunc,
        "vehicles": sum(1 for r in idx if r),
        "feasible": chk.feasible,
        "violations": list(chk.violations),
    }


def solve_instance(
    inst: SolomonInstance,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    backend: Backend = "auto",
) -> dict[str, Any]:
    """Solve one instance (distance only) and check the answer exactly.

    ``status`` is ``"feasible"`` (every customer served once, every window,
    capacity and the fleet size kept: a plan, not proven optimal) or
    ``"no_solution"`` when the solver's plan breaks a constraint (no proof
    that none exists; ``problems`` says what it breaks).  The row records the
    run's ``seed``, ``time_limit`` and ``versions`` (the numerical libraries
    loaded, the solver's among them).

    Raises
    ------
    SpecificationError
        Before solving, when a customer cannot be served at all (its demand
        above the capacity, its window closed before a vehicle can reach it,
        total demand above the fleet's capacity): a proof, with the numbers,
        that no plan exists (:func:`terrakit.routing.vrp.solve_routing`).
    """
    t0 = time.perf_counter()
    with warnings.catch_warnings():  # a fixed-time run: the row has the seconds
        warnings.simplefilter("ignore", TimeLimitWarning)
        sol = solve_routing(
            inst.problem(), backend=backend, time_limit=time_limit, seed=seed
        )
    secs = time.perf_counter() - t0
    routes = [[int(inst.ids[i]) for i in r] for r in sol.routes]
    chk = check_solution(inst, routes)
    served = {c for r in routes for c in r}
    problems = list(chk["violations"])
    if len(served) != inst.n_customers and not problems:
        problems.append(f"{inst.n_customers - len(served)} customer(s) not served")
    # a plan that breaks a constraint is no proof that none exists
    status = "no_solution" if problems else "feasible"
    extra = {"problems": _some(problems)} if problems else {}
    return {
        "family": "solomon",
        "instance": inst.name,
        "backend": sol.backend,
        "value": chk["value"],
        "value_trunc1": chk["value_trunc1"],
        "vehicles": chk["vehicles"],
        "seconds": secs,
        "status": status,
        "solution": {"routes": routes},
        "seed": sol.seed,
        "time_limit": sol.time_limit,
        "versions": sol.versions,
        **extra,
    }


def _some(problems: Sequence[str], k: int = 3) -> str:
    """The first ``k`` problems, and how many more."""
    more = f" and {len(problems) - k} more" if len(problems) > k else ""
    return f"{len(problems)} broken: " + "; ".join(problems[:k]) + more


#: the distance-only optimum (trunc-1 distances) of ``reference.csv``
_OPT = "opt_distance_min_dist_trunc1"


def read_reference(path: str | Path) -> pd.DataFrame:
    """``reference.csv`` indexed by instance name.

    Raises
    ------
    SpecificationError
        The file is not a table or has no ``instance`` column.
    """
    from terrakit.benchmarks.run import reference_table
    from terrakit.exceptions import SpecificationError

    ref = reference_table(path)
    if "instance" not in ref.columns:
        raise SpecificationError(
            f"{path}: a reference file needs the column 'instance'; it has "
            f"{list(ref.columns)}"
        )
    return ref.drop_duplicates("instance").set_index("instance")


def reference_values(folder: str | Path) -> dict[str, float]:
    """Distance-only optima (trunc-1 convention) per instance; type-1 classes only.

    Column ``opt_distance_min_dist_trunc1`` or, in a ``reference.csv``
    without it, the generic columns
    (:func:`terrakit.benchmarks.run.generic_reference`, compared with the
    exact ``value``); ``{}`` when there is no file.
    """
    from terrakit.benchmarks.run import generic_reference

    return generic_reference(folder, (_OPT,))


def find_instances(folder: str | Path) -> list[Path]:
    """The instance files of a folder (``*.txt``), sorted by name."""
    return sorted(p for p in Path(folder).glob("*.txt"))


def solve_file(
    path: str | Path,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    backend: Backend = "auto",
) -> dict[str, Any]:
    """Solve one instance file; the row :func:`terrakit.benchmarks.run` expects.

    Besides ``instance, value, vehicles, seconds, status, solution`` the row
    has ``value_trunc1`` and, when a ``reference.csv`` sits beside the file,
    ``bks_vehicles``, ``bks_distance``, ``gap_bks_pct`` (when its row gives
    both best-known values; empty cells add none of them) and, for the type-1
    classes, ``reference`` (the distance-only optimum, trunc-1 distances),
    ``gap_pct`` = ``gap_trunc1_pct`` (``value_trunc1`` vs ``reference``: like
    with like) and ``gap_exact_pct`` (exact ``value`` vs ``reference``).
    Every gap is NaN unless ``status`` is ``"feasible"``: a plan that breaks
    a constraint (``"no_solution"``) is compared with nothing.

    Raises
    ------
    ValueError
        ``backend`` is not ``"auto"``, ``"pyvrp"`` or ``"ortools"`` (checked
        before the file is read), or the file is not a Solomon instance.
    SpecificationError
        A customer that cannot be served at all (see :func:`solve_instance`).
    """
    if backend not in ("auto", "pyvrp", "ortools"):
        # a ValueError, not SpecificationError: tk.benchmarks.run records an
        # instance's SpecificationError as its proof of infeasibility
        raise ValueError(
            f"backend must be 'auto', 'pyvrp' or 'ortools', got {backend!r}"
        )
    path = Path(path)
    row = solve_instance(
        read_instance(path), time_limit=time_limit, seed=seed, backend=backend
    )
    row["instance"] = path.stem
    ref_file = path.parent / "reference.csv"
    if ref_file.exists():
        ref = read_reference(ref_file)
        # a reference.csv without Solomon's columns: run() falls back to the
        # generic columns (see reference_values)
        if path.stem in ref.index and _OPT in ref.columns:
            r = ref.loc[path.stem]
            opt = float(r[_OPT])
            if math.isfinite(opt):
                row.update(_gaps(row, opt))
            else:  # type 2: no distance-only optimum
                row["gap_trunc1_pct"] = math.nan
        if path.stem in ref.index and {"bks_vehicles", "bks_distance"} <= set(
            ref.columns
        ):
            r = ref.loc[path.stem]
            veh, dist = float(r["bks_vehicles"]), float(r["bks_distance"])
            # empty cells (an instance with no best-known solution yet): no
            # BKS columns, as without the file
            if math.isfinite(veh) and math.isfinite(dist):
                row["bks_vehicles"] = int(veh)
                row["bks_distance"] = dist
                row["gap_bks_pct"] = 100.0 * (row["value"] - dist) / dist
    if row["status"] != "feasible":  # no plan: no gap to any reference
        for key in row:
            if key.startswith("gap_"):
                row[key] = math.nan
    return row


def _gaps(row: dict[str, Any], opt: float) -> dict[str, float]:
    """``reference`` and the gaps of ``row`` to the trunc-1 optimum ``opt``."""
    like = 100.0 * (row["value_trunc1"] - opt) / opt
    return {
        "reference": opt,
        "gap_pct": like,
        "gap_trunc1_pct": like,
        "gap_exact_pct": 100.0 * (row["value"] - opt) / opt,
    }


def run_family(
    paths: Iterable[str | Path] | str | Path,
    time_limit: float = 10.0,
    seed: int = 0,
    backend: Backend = "auto",
    progress: bool = False,
) -> pd.DataFrame:
    """Solve instances; one row per instance (what ``tk.benchmarks.run`` returns).

    Parameters
    ----------
    paths
        Instance files, or one folder (all ``*.txt`` in it).
    time_limit
        Seconds per instance.
    seed
        Solver seed.
    backend
        ``"auto"``, ``"pyvrp"`` or ``"ortools"``.
    progress
        Show a tqdm bar.

    Returns
    -------
    pandas.DataFrame
        Columns ``family, instance, backend, value, value_trunc1, vehicles,
        seconds, status, solution`` and, when a ``reference.csv`` sits beside
        the files, ``reference`` (distance-only optimum, trunc-1 convention;
        missing for type-2 classes), ``gap_pct`` (``value_trunc1`` vs
        ``reference``: like with like; ``gap_trunc1_pct`` is the same),
        ``gap_exact_pct`` (exact ``value`` vs ``reference``: conservative, the
        exact length exceeds the truncated one by about 0.2-0.3 %),
        ``bks_vehicles``, ``bks_distance``, ``gap_bks_pct``.  Every row also
        has ``seed``, ``time_limit`` and ``versions`` (library versions);
        ``df.attrs`` holds the same run settings (``seed``, ``time_limit``,
        ``backend``, ``versions``).

    Raises
    ------
    SpecificationError
        No instance files: an empty list, or a folder without ``*.txt`` files.
    """
    from tqdm.auto import tqdm

    files = _expand(paths)
    resolve_backend(backend)
    rows = []
    for f in tqdm(files, desc="solomon", disable=not progress):
        rows.append(solve_file(f, time_limit=time_limit, seed=seed, backend=backend))
    df = pd.DataFrame(rows)
    df.attrs.update(
        seed=seed,
        time_limit=time_limit,
        backend=backend,
        versions=rows[-1]["versions"] if rows else library_versions(),
    )
    return df


def _expand(paths: Iterable[str | Path] | str | Path) -> list[Path]:
    """Instance files of ``paths`` (folders globbed); raise when there are none."""
    from terrakit.exceptions import SpecificationError

    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for q in paths:
        p = Path(q)
        if p.is_dir():
            found = find_instances(p)
            if not found:
                raise SpecificationError(
                    f"{p}: no Solomon instance files (*.txt) in this folder; "
                    "fix: pass the folder that holds the instances (e.g. "
                    "shared/benchmarks/solomon) or the files themselves"
                )
            out.extend(found)
        else:
            out.append(p)
    if not out:
        raise SpecificationError("no Solomon instance files given")
    return out

"""Capacitated p-median instances: Osman–Christofides and Lorena–Senne SJC.

Osman–Christofides files (``pmedcapNN.txt``) use Euclidean distances
TRUNCATED to integers (the convention under which the published optima hold);
SJC files (``sjc/SJC*.dat``) use real Euclidean distances; the references of
both sets are in the ``reference.csv`` of the ``pmedcap`` folder, the parent
of ``sjc/`` (:func:`reference_values`).  The reader builds
a :class:`~terrakit.design.problem.DesignProblem` that chooses ``p`` centers
among all customers with an upper band (the capacity ``Q``) and no lower
band on the activity ``demand``, and calls the same engine as every
territory design (:func:`terrakit.design.solve`).  As in the model the
references come from (Osman & Christofides 1994; Lorena & Senne 2004,
``x_jj = y_j``), a median serves itself: it belongs to its own cluster
(the engine keeps every chosen center in its own territory, and
:func:`check_solution` flags a plan that does not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from terrakit.design.problem import DesignProblem

__all__ = [
    "CPMPInstance",
    "check_solution",
    "read_instance",
    "reference_values",
    "solve_file",
    "to_problem",
]


@dataclass(frozen=True, eq=False)
class CPMPInstance:
    """A capacitated p-median instance.

    ``ids`` are the customers' ids in row order: the file's id column
    (Osman–Christofides) or ``1..n`` (SJC, whose rows carry no id); a
    solution names customers by these ids.
    """

    name: str
    n: int
    p: int
    capacity: float
    xy: np.ndarray
    demand: np.ndarray
    truncate: bool
    ids: np.ndarray

    @property
    def distance(self) -> np.ndarray:
        """Customer-to-customer distance (truncated for Osman–Christofides)."""
        d = np.sqrt(((self.xy[:, None, :] - self.xy[None, :, :]) ** 2).sum(-1))
        return np.floor(d + 1e-9) if self.truncate else d


def read_instance(path: str | Path) -> CPMPInstance:
    """Read an Osman–Christofides ``pmedcapNN.txt`` or an SJC ``.dat`` file.

    Raises
    ------
    ValueError
        When the file is not a capacitated p-median instance: a header that
        is not ``n p`` (SJC) or ``id best`` then ``n p capacity``
        (Osman–Christofides), a capacity that is not a finite number above
        0, not exactly ``n`` rows of 4 numbers after it, a negative demand,
        SJC rows whose capacities differ (the model has one capacity ``Q``
        for every median), or Osman–Christofides ids that are not distinct
        whole numbers (the solution is given in these ids).
    """
    path = Path(path)
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    sjc = path.suffix == ".dat"  # SJC: "n p", then "x y capacity demand"
    # Osman–Christofides: "id best", "n p capacity", then "id x y demand"
    head = 1 if sjc else 2
    layout = "x y capacity demand" if sjc else "id x y demand"

    def bad(what: str) -> ValueError:
        return ValueError(f"{path}: not a valid pmedcap instance: {what}")

    header = lines[head - 1] if len(lines) >= head else []
    want = "n p" if sjc else "n p capacity"
    try:
        if len(header) != len(want.split()):
            raise ValueError
        n, p = int(header[0]), int(header[1])
        q = math.nan if sjc else float(header[2])
    except ValueError:
        raise bad(
            f"line {head} should be {want!r}, found {' '.join(header)!r}"
        ) from None
    if not sjc and not (math.isfinite(q) and q > 0):
        raise bad(
            f"line {head} ({want!r}) gives the capacity {header[2]!r}; a capacity "
            "is a finite number above 0 (a bad export?)"
        )
    if n < 1 or not 1 <= p <= n:
        raise bad(
            f"the header gives n = {n}, p = {p}; it needs 1 ≤ p ≤ n "
            "(another family's file?)"
        )
    body = lines[head:]
    if len(body) != n:
        raise bad(
            f"the header announces {n} customers, the file has {len(body)} rows "
            f"after it (truncated, or another family's file?)"
        )
    short = [k for k, r in enumerate(body) if len(r) != 4]
    if short:
        raise bad(
            f"{len(short)} customer row(s) do not have 4 numbers ({layout}), "
            f"first: row {short[0] + 1} {' '.join(body[short[0]])!r}"
        )
    try:
        rows = np.array(body, dtype=float)
    except ValueError:
        raise bad(
            f"a customer row ({layout}) holds a value that is not a number"
        ) from None
    if not np.isfinite(rows).all():
        k = int(np.flatnonzero(~np.isfinite(rows).all(axis=1))[0])
        raise bad(
            f"customer row {k + 1} {' '.join(body[k])!r} holds a value that is "
            "not a finite number"
        )
    demand = rows[:, 3]
    neg = np.flatnonzero(demand < 0)
    if neg.size:
        raise bad(
            f"{neg.size} customer row(s) have a negative demand, first: row "
            f"{neg[0] + 1} {' '.join(body[neg[0]])!r} (line {head + neg[0] + 1}); "
            "demands are 0 or more (a sign typo?)"
        )
    if sjc:
        cap = rows[:, 2]
        other = np.flatnonzero(cap != cap[0])
        if other.size:
            k = int(other[0])
            raise bad(
                f"the capacity column differs between rows: row 1 has {cap[0]:g}, "
                f"row {k + 1} has {cap[k]:g} ({other.size} row(s) differ from row 1, "
                f"rows {_rows(other)}); the capacitated p-median model has one "
                "capacity Q for every median, so give every row the same capacity"
            )
        if cap[0] <= 0:
            raise bad(
                f"the capacity column holds {cap[0]:g} (row 1 "
                f"{' '.join(body[0])!r}); a capacity is a number above 0"
            )
        return CPMPInstance(
            path.stem,
            n,
            p,
            float(cap[0]),
            rows[:, :2],
            demand,
            truncate=False,
            ids=np.arange(1, n + 1),
        )
    idcol = rows[:, 0]
    frac = np.flatnonzero(idcol != np.round(idcol))
    if frac.size:
        raise bad(
            f"customer ids are whole numbers; row {frac[0] + 1} "
            f"{' '.join(body[frac[0]])!r} has id {body[frac[0]][0]}"
        )
    ids = idcol.astype(np.int64)
    uniq, count = np.unique(ids, return_counts=True)
    if (count > 1).any():
        j = int(uniq[count > 1][0])
        where = np.flatnonzero(ids == j)
        raise bad(
            f"customer id {j} is repeated on rows {_rows(where)} "
            f"({int((count > 1).sum())} id(s) repeated); each customer needs "
            "its own id (the solution names customers by id)"
        )
    return CPMPInstance(
        path.stem, n, p, q, rows[:, 1:3], demand, truncate=True, ids=ids
    )


def _rows(idx: np.ndarray, most: int = 5) -> str:
    """``"2, 3"`` or ``"2, 3, 4, 5, 6, … (9 in all)"`` for 0-based ``idx``."""
    shown = ", ".join(str(int(k) + 1) for k in idx[:most])
    return shown if idx.size <= most else f"{shown}, … ({idx.size} in all)"


def to_problem(inst: CPMPInstance) -> DesignProblem:
    """Choose ``p`` centers; capacity = upper band on ``demand``, no lower band."""
    ids = inst.ids
    return DesignProblem(
        unit_ids=ids,
        activities={"demand": inst.demand},
        n_territories=inst.p,
        cost=inst.distance,
        upper={"demand": np.full(inst.p, inst.capacity)},
        center_mode="choose",
        center_units=np.arange(inst.n),
        center_ids=tuple(ids.tolist()),
        objective="travel",
        name=inst.name,
    )


def check_solution(
    inst: CPMPInstance, medians: list[int], assignment: list[int]
) -> tuple[float, list[str]]:
    """The README's objective (Σ distance to the assigned median) and problems.

    ``medians`` and ``assignment`` are customer ids (``inst.ids``: the
    file's id column, or ``1..n`` for SJC); ``assignment`` in row order.
    Problems: an id not in the file, the number of medians, a customer
    assigned to a non-median, a median not assigned to itself (in the CPMP
    of the references, ``x_jj = y_j``: a median belongs to its own cluster),
    a load above the capacity.
    """
    ids = inst.ids
    row = {int(c): k for k, c in enumerate(ids)}
    unknown = sorted(
        {int(j) for j in list(medians) + list(assignment)} - set(row), key=int
    )
    if unknown or len(assignment) != inst.n:
        what = (
            f"id(s) {unknown[:5]} are not customers of the file"
            if unknown
            else f"{len(assignment)} assignments for {inst.n} customers"
        )
        return math.nan, [what]
    a = np.array([row[int(j)] for j in assignment], dtype=np.int64)
    med = set(row[int(j)] for j in medians)
    problems = []
    if len(med) != inst.p:
        problems.append(f"{len(med)} medians, expected {inst.p}")
    if not set(a.tolist()) <= med:
        problems.append("a customer is assigned to a non-median")
    away = [j for j in sorted(med) if a[j] != j]
    if away:
        j = away[0]
        problems.append(
            f"{len(away)} median(s) not assigned to themselves, first: median "
            f"{ids[j]} assigned to {ids[a[j]]} (a median serves itself, x_jj = y_j)"
        )
    load = np.bincount(a, weights=inst.demand, minlength=inst.n)
    if load.max() > inst.capacity + 1e-9:
        problems.append(f"capacity exceeded: load {load.max():g} > {inst.capacity:g}")
    value = float(inst.distance[np.arange(inst.n), a].sum())
    return value, problems


def reference_values(folder: str | Path) -> dict[str, float]:
    """``instance → reference_value`` for the instance files of ``folder``.

    The ``reference.csv`` of ``folder`` or, where there is none (the ``sjc/``
    subfolder of the SJC files), of its parent; ``{}`` when neither has one.
    Column ``reference_value`` or, in a file without it, the generic columns
    (:func:`terrakit.benchmarks.run.generic_reference`).
    """
    from terrakit.benchmarks.run import reference_file

    folder = Path(folder)
    for f in (folder / "reference.csv", folder.parent / "reference.csv"):
        if f.is_file():
            return reference_file(f, ("reference_value",))
    return {}


def solve_file(
    path: str | Path, *, time_limit: float = 60.0, seed: int = 0, **kw: Any
) -> dict[str, Any]:
    """Solve one instance file; a row for :func:`terrakit.benchmarks.run`.

    ``solution`` names customers by their ids (:attr:`CPMPInstance.ids`):
    ``medians`` sorted, ``assignment`` the median of each customer in row
    order.  ``status`` is the engine's for a plan that meets every capacity, and
    ``"no_solution"`` (no proof that none exists) when the plan returned
    breaks one (``problems`` says how); ``unproven`` is the engine's reason
    why a feasible plan is not proven optimal, where it gives one
    (``info["unproven"]``; no key otherwise).
    """
    from terrakit.design.align import solve

    inst = read_instance(path)
    res = solve(to_problem(inst), time_limit=time_limit, seed=seed, **kw)
    cols = np.asarray(res.columns)
    ids = inst.ids
    # the solution in the file's customer ids (row k has id ids[k])
    medians = sorted(int(ids[j]) for j in np.unique(cols))
    assignment = [int(ids[j]) for j in cols]
    value, problems = check_solution(inst, medians, assignment)
    return {
        "instance": inst.name,
        "value": value,
        "lower_bound": res.lower_bound,
        # a plan that breaks a capacity is no proof that none meets them all
        # (the engine raises InfeasibleError when it proves that)
        "status": res.status if not problems else "no_solution",
        "method": res.method,
        "problems": "; ".join(problems),
        # why a feasible plan is not proven optimal, where the engine says
        **({"unproven": str(res.info["unproven"])} if "unproven" in res.info else {}),
        "solution": {"medians": medians, "assignment": assignment},
    }

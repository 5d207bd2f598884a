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
    """A capacitated p-median instance."""

    name: str
    n: int
    p: int
    capacity: float
    xy: np.ndarray
    demand: np.ndarray
    truncate: bool

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
        (Osman–Christofides), or not exactly ``n`` rows of 4 numbers after it.
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
    if sjc:
        return CPMPInstance(
            path.stem, n, p, float(rows[0, 2]), rows[:, :2], rows[:, 3], truncate=False
        )
    return CPMPInstance(path.stem, n, p, q, rows[:, 1:3], rows[:, 3], truncate=True)


def to_problem(inst: CPMPInstance) -> DesignProblem:
    """Choose ``p`` centers; capacity = upper band on ``demand``, no lower band."""
    ids = np.arange(1, inst.n + 1)
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

    ``medians`` and ``assignment`` are 1-based customer ids.  Problems: the
    number of medians, a customer assigned to a non-median, a median not
    assigned to itself (in the CPMP of the references, ``x_jj = y_j``: a
    median belongs to its own cluster), a load above the capacity.
    """
    a = np.asarray(assignment, dtype=np.int64) - 1
    med = set(int(j) - 1 for j in medians)
    problems = []
    if len(med) != inst.p:
        problems.append(f"{len(med)} medians, expected {inst.p}")
    if not set(a.tolist()) <= med:
        problems.append("a customer is assigned to a non-median")
    away = [j for j in sorted(med) if 0 <= j < inst.n and a[j] != j]
    if away:
        j = away[0]
        problems.append(
            f"{len(away)} median(s) not assigned to themselves, first: median "
            f"{j + 1} assigned to {a[j] + 1} (a median serves itself, x_jj = y_j)"
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

    ``status`` is the engine's for a plan that meets every capacity, and
    ``"no_solution"`` (no proof that none exists) when the plan returned
    breaks one (``problems`` says how); ``unproven`` is the engine's reason
    why a feasible plan is not proven optimal, where it gives one
    (``info["unproven"]``; no key otherwise).
    """
    from terrakit.design.align import solve

    inst = read_instance(path)
    res = solve(to_problem(inst), time_limit=time_limit, seed=seed, **kw)
    cols = np.asarray(res.columns)
    medians = sorted(int(j) + 1 for j in np.unique(cols))
    assignment = (cols + 1).tolist()
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

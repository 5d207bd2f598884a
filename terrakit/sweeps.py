"""``sweep``: many design, rebalance or sizing scenarios, in parallel, resumable.

A *scenario* is one set of parameters (``{"n_territories": 20, "tolerance":
0.05}``); a *grid* is the Cartesian product of parameter values (or an
explicit list of scenarios).  :func:`sweep` runs every scenario on a Dask
cluster (a local one sized to the machine by default, or any
``distributed.Client``), streams each finished row into a table of a
GeoPackage file as it arrives, and returns a :class:`SweepResult` with one
row per scenario.

Reproducibility
    Every scenario has a *key*: the canonical JSON of the task, its merged
    parameters and the sweep seed (whole-number floats written as ints, so
    ``30.0`` and ``30`` are one scenario; the order of a design or rebalance
    ``balance`` counts, see :func:`scenario_key`).  Its own seed is derived
    from the sweep seed and a SHA-256 hash of the parameters, so it depends
    neither on the order of the grid nor on which worker runs it: a serial run
    (``client="serial"``) and a parallel one give identical rows, except for
    the ``seconds`` column.
Resuming
    With ``out="sweep.gpkg"`` every finished row is committed to the table
    ``table`` of that file in its own SQLite transaction (a row is either
    fully written or absent).  Running the same sweep again skips the keys
    already there and only runs what is missing, so an interrupted sweep
    loses nothing but the scenarios that were in flight.  Rows stored for
    another study, or for this one before its tables, alignments or (for the
    tasks that receive the whole study: a callable, rebalance) its metadata
    or saved what-if scenarios changed, are refused rather than read back.
Failures
    A scenario whose task raises is reported with status ``"error"`` and the
    error text while the others complete; error rows are run again on resume.
    For ``task="design"`` that includes a problem that cannot be built (e.g.
    a ``max_distance_km`` that leaves units beyond every center): the
    scenarios sharing that build get error rows, the others run.  (A
    parameter value that cannot be right, such as ``tolerance=1.5`` or
    ``max_iter=0``, is refused before any scenario runs.)
    A worker process that dies mid-sweep (out of memory, a crash) has its
    scenarios run again by the scheduler on the workers left or restarted
    (the study travels to the workers as the result of a task, which the
    scheduler computes again if every worker holding it died); a scenario
    whose worker dies on every attempt (Dask's
    ``distributed.scheduler.allowed-failures`` + 1) gets status ``"error"``
    and the text "the worker running this scenario died (memory/crash) ...",
    and the other scenarios complete.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import inspect
import itertools
import json
import logging
import math
import os
import re
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd

from terrakit._runargs import (
    as_number,
    check_seed,
    did_you_mean,
    is_tolerance,
    whole_number,
)
from terrakit.data.alignment import digest_frame
from terrakit.exceptions import SpecificationError, TerrakitWarning

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "SweepResult",
    "scenario_key",
    "scenario_seed",
    "scenarios",
    "sweep",
]

TaskName = Literal["design", "rebalance", "sizing"]
_TASKS = ("design", "rebalance", "sizing")
#: Columns every row has, after the scenario's parameters.
_FIXED_COLUMNS = ("status", "error", "seconds", "seed", "key")
#: The fixed columns a task's result may not name (``status`` it may: a
#: callable task's own status replaces the default ``"ok"``)
_RESERVED_RESULTS = ("error", "seconds", "seed", "key")
#: the columns of a sweep's table in ``out``
_STORE_COLUMNS = (
    "key",
    "task",
    "status",
    "error",
    "seconds",
    "seed",
    "params",
    "row",
    "finished",
)
#: Keywords of the design task that change the problem only through
#: ``DesignProblem.replace`` (one problem build serves all their values).
_DESIGN_RUN_KEYS = {
    "n_territories",
    "tolerance",
    "balance",
    "contiguity",
    "time_limit",
    "solver",
    "backend",
    "max_iter",
}
_DESIGN_BUILD_KEYS = {
    "objective",
    "weight",
    "max_distance_km",
    "locked",
    "targets",
}
#: Default iteration budget of the design heuristic in a sweep: with it the
#: annealing schedules follow the iteration count, not the clock.
DESIGN_MAX_ITER = 5_000
#: The run settings a design scenario that leaves them out runs with.
_DESIGN_DEFAULTS: dict[str, Any] = {
    "contiguity": True,
    "time_limit": 60.0,
    "solver": "auto",
    "backend": "highs",
    "max_iter": DESIGN_MAX_ITER,
}
#: The bands of a design scenario that gives no ``balance`` (those of
#: :func:`terrakit.design.align`; ``balance={}`` is no band, as there).
_DESIGN_BALANCE = {"workload": 0.03}
#: The bands of a rebalance scenario that gives neither ``balance`` nor
#: ``tolerance`` (those of :func:`terrakit.realign.rebalance`).
_REBALANCE_BALANCE = {"workload": 0.05}
#: What :attr:`SweepResult.table` shows for a parameter a scenario leaves out
#: when the task has no single default value for it.
DEFAULT_MARKER = "(default)"


# -- scenarios, keys and seeds -----------------------------------------------------
def _plain(v: Any, result: str | None = None) -> Any:
    """A JSON-able, canonical form of a parameter value (or, with ``result``,
    of the value of that key of the dict a callable task returned)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return [_plain(x, result) for x in v.tolist()]
    if isinstance(v, Mapping):
        return {str(k): _plain(x, result) for k, x in v.items()}
    if isinstance(v, (list, tuple, range)):
        return [_plain(x, result) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if result is not None:
        # not turned into text here: the column would hold text where the
        # task returned another type, with no word about it
        raise SpecificationError(
            f"the task's result {result!r} holds {v!r:.60} of type "
            f"{type(v).__name__}, which a sweep row cannot hold (rows are JSON, "
            "as stored in out and read back on resume). Fix: return "
            f"{result!r} as a number, string, boolean, None, list or dict, e.g. "
            "value.isoformat() for a date or float(value) for a Decimal"
        )
    raise SpecificationError(
        f"sweep parameter value {v!r} of type {type(v).__name__} cannot be written "
        "as JSON; use numbers, strings, booleans, None, lists or dicts"
    )


def _key_form(v: Any) -> Any:
    """``v`` (plain JSON types) with whole-number floats as ints, so that
    ``30`` and ``30.0`` name the same scenario (and get the same seed)."""
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    if isinstance(v, dict):
        return {k: _key_form(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_key_form(x) for x in v]
    return v


def _canonical(obj: Any) -> str:
    """Canonical JSON of ``obj``: sorted keys, whole-number floats as ints."""
    return json.dumps(
        _key_form(_plain(obj)), sort_keys=True, separators=(",", ":"), allow_nan=True
    )


def _as_written(scenario: Mapping[str, Any]) -> str:
    """JSON of a scenario as written: its parameters sorted by name, the
    entries of a dict value in their order (whole-number floats as ints).

    Two scenarios that differ in the order of a dict's entries differ here;
    whether they are one scenario depends on the task (see
    :func:`scenario_key`), which :func:`sweep` knows and :func:`scenarios`
    does not."""
    ordered = {k: scenario[k] for k in sorted(scenario)}
    return json.dumps(_key_form(_plain(ordered)), separators=(",", ":"), allow_nan=True)


def _json_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A provenance record as plain JSON types (numpy scalars and arrays as
    numbers and lists, anything else as its text), so that it travels in a
    row and is stored with it."""
    from terrakit.data.alignment import _json_default

    def default(obj: Any) -> Any:
        try:
            return _json_default(obj)
        except TypeError:
            return repr(obj)

    out: dict[str, Any] = json.loads(
        json.dumps(dict(record), default=default, allow_nan=True)
    )
    return out


def scenarios(
    grid: Mapping[str, Iterable[Any]] | Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The scenarios of a grid, in order.

    Parameters
    ----------
    grid
        ``{parameter: values}`` (the Cartesian product, first parameter
        varying slowest) or a sequence of ``{parameter: value}`` dicts.

    Returns
    -------
    list of dict

    Raises
    ------
    SpecificationError
        An empty grid, a parameter without values (or with one dict value
        where a list of values belongs), or scenarios repeated (a whole
        number is one value however written: ``30`` and ``30.0``; dicts
        whose entries come in another order are left to :func:`sweep`, as
        for some tasks the order counts).

    Examples
    --------
    >>> scenarios({"n_territories": [2, 3], "tolerance": [0.05]})
    [{'n_territories': 2, 'tolerance': 0.05}, {'n_territories': 3, 'tolerance': 0.05}]
    """
    if isinstance(grid, (str, bytes)) or not isinstance(grid, Mapping | Iterable):
        raise SpecificationError(
            f"grid must be {{parameter: values}} or a list of scenario dicts, got "
            f"{grid!r:.80}; e.g. {{'tolerance': [0.05, 0.1]}}"
        )
    if isinstance(grid, Mapping):
        if not grid:
            raise SpecificationError("the grid is empty; give {parameter: values}")
        names = [str(k) for k in grid]
        values = []
        for name, vals in grid.items():
            if isinstance(vals, Mapping):  # iterating it gives its keys
                raise SpecificationError(
                    f"grid[{name!r}] is one dict value, not a list of values "
                    "(its keys would become the scenarios); write "
                    f"{{{name!r}: [{dict(vals)!r}]}} for this one value, or a "
                    "list of several dicts"
                )
            if isinstance(vals, (str, bytes)) or not isinstance(vals, Iterable):
                raise SpecificationError(
                    f"grid[{name!r}] must be a list of values, got {vals!r}; "
                    f"write {{{name!r}: [{vals!r}]}} for a single value"
                )
            vs = list(vals)
            if not vs:
                raise SpecificationError(f"grid[{name!r}] has no values")
            values.append(vs)
        out = [
            dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)
        ]
    else:
        out = []
        for i, sc in enumerate(grid):
            if not isinstance(sc, Mapping):
                raise SpecificationError(
                    f"scenario {i} must be a dict of parameters, got {sc!r}"
                )
            out.append({str(k): v for k, v in sc.items()})
        if not out:
            raise SpecificationError("the grid has no scenarios")
    seen: dict[str, int] = {}
    for i, sc in enumerate(out):
        c = _as_written(sc)
        if c in seen:
            j = seen[c]
            spelt = (
                f" ({out[j]} and {sc} are the same: a whole number counts "
                "alike with or without '.0')"
                if repr(out[j]) != repr(sc)
                else ""
            )
            raise SpecificationError(
                f"scenario {i} repeats scenario {j} ({c}){spelt}; each scenario once"
            )
        seen[c] = i
    return out


#: Tasks whose result depends on the order of ``balance``: the first balanced
#: activity is the default ``weight``, and the search visits the activities in
#: their order.
_ORDERED_BALANCE_TASKS = ("design", "rebalance")


def _keyed_params(task: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` as they enter the key: for the tasks of
    :data:`_ORDERED_BALANCE_TASKS`, a ``balance`` whose activities are not in
    alphabetical order becomes ``[activity, tolerance]`` pairs in its order
    (canonical JSON sorts a dict's keys, which would make both orders one
    scenario).  In alphabetical order it stays a dict, so keys stored before
    the order counted still name their rows."""
    out = dict(params)
    bal = out.get("balance")
    if task in _ORDERED_BALANCE_TASKS and isinstance(bal, Mapping):
        names = [str(a) for a in bal]
        if names != sorted(names):
            out["balance"] = [[str(a), t] for a, t in bal.items()]
    return out


def scenario_key(task: str, params: Mapping[str, Any], seed: int) -> str:
    """Canonical JSON naming one scenario: task, merged parameters, sweep seed.

    Parameters are sorted by name, and so are the keys of a dict value,
    except the activities of ``balance`` for ``task="design"`` and
    ``"rebalance"``: their order changes the result (the first one is the
    default ``weight``), so a balance not in alphabetical order is keyed as
    ``[activity, tolerance]`` pairs in its order.

    Examples
    --------
    >>> scenario_key("design", {"tolerance": 0.05, "n_territories": 3}, 0)
    '{"params":{"n_territories":3,"tolerance":0.05},"seed":0,"task":"design"}'
    >>> scenario_key("design", {"balance": {"workload": 0.1, "sales": 0.2}}, 0)
    '{"params":{"balance":[["workload",0.1],["sales",0.2]]},"seed":0,"task":"design"}'
    """
    return _canonical(
        {"task": task, "params": _keyed_params(task, params), "seed": int(seed)}
    )


def scenario_seed(seed: int, params: Mapping[str, Any]) -> int:
    """The seed of one scenario: ``SeedSequence([seed, sha256(params)])``.

    It depends only on the sweep seed and the scenario's parameters, not on
    the grid order or the worker, so serial and parallel runs agree.

    Examples
    --------
    >>> scenario_seed(0, {"a": 1}) == scenario_seed(0, {"a": 1})
    True
    >>> scenario_seed(0, {"a": 1}) == scenario_seed(1, {"a": 1})
    False
    """
    digest = hashlib.sha256(_canonical(dict(params)).encode()).digest()
    words = np.frombuffer(digest, dtype="<u4").tolist()
    ss = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *words])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


# -- what travels to the workers ----------------------------------------------------
def _study_payload(study: Any) -> dict[str, Any]:
    """Plain, picklable parts of a Study (a Study itself holds mapping
    proxies): its tables, alignments, metadata and saved scenarios."""
    return {
        "units": study.units,
        "accounts": study.accounts,
        "reps": study.reps,
        "history": study.history,
        "alignments": {
            n: (al.assignment.copy(), dict(al.provenance))
            for n, al in study.alignments.items()
        },
        "metadata": dict(study.metadata),
        "scenarios": {n: dict(rec) for n, rec in study.scenarios.items()},
    }


_WORKER_CACHE: dict[str, Any] = {}


def _study_from_payload(token: str, payload: Mapping[str, Any]) -> Any:
    """Rebuild the Study once per process (cached by the payload's token)."""
    if token in _WORKER_CACHE:
        return _WORKER_CACHE[token]
    from terrakit.data import Alignment, Study

    study = Study(
        payload["units"],
        accounts=payload["accounts"],
        reps=payload["reps"],
        history=payload["history"],
        alignments={
            n: Alignment(s, name=n, provenance=p)
            for n, (s, p) in payload["alignments"].items()
        },
        metadata=payload["metadata"],
        scenarios=payload["scenarios"],
    )
    _WORKER_CACHE.clear()  # keep one study per process
    _WORKER_CACHE[token] = study
    return study


# -- the tasks ---------------------------------------------------------------------
def _design_balance(params: Mapping[str, Any]) -> dict[str, float]:
    """The bands of a design scenario: ``balance`` (left out or ``None``:
    :data:`_DESIGN_BALANCE`; ``{}``: none, as in :func:`~terrakit.design.align`)
    with ``tolerance``, where given, applied to every balanced activity."""
    given = params.get("balance")
    bal = dict(_DESIGN_BALANCE if given is None else given)
    if "tolerance" in params:
        tol = float(params["tolerance"])
        bal = {a: tol for a in bal}
    return {str(a): float(t) for a, t in bal.items()}


def _design_group(params: Mapping[str, Any], n_reps: int | None) -> str:
    """Canonical JSON of what the problem build depends on.

    With chosen centers the build is made for one ``n_territories`` and
    replaced for the others, except when ``targets`` or ``locked`` are given:
    whether they can be built (one share per territory, locks to existing
    territories) depends on ``n_territories``, so it is part of the group and
    each scenario gets the build (or the error) of its own number."""
    k = params.get("n_territories")
    fixed = n_reps is not None and (k is None or whole_number(k) == n_reps)
    bal = _design_balance(params)
    build = {key: params[key] for key in sorted(_DESIGN_BUILD_KEYS) if key in params}
    per_k = not fixed and any(
        params.get(key) is not None for key in ("targets", "locked")
    )
    return _canonical(
        {
            "fixed": fixed,
            "activities": list(bal),
            "weight": params.get("weight") or next(iter(bal), None),
            **build,
            **({"n_territories": whole_number(k)} if per_k else {}),
        }
    )


def _check_design_params(key: str, p: Mapping[str, Any]) -> None:
    """The values the problem build reads, before any scenario runs (one bad
    value must not stop the sweep with a bare error from deep inside)."""

    def bad(name: str, want: str, fix: str) -> SpecificationError:
        return SpecificationError(
            f"scenario {key}: {name}={p[name]!r} is not {want}. Fix: {fix}"
        )

    if "tolerance" in p and not is_tolerance(p["tolerance"]):
        raise bad(
            "tolerance",
            "a number in [0, 1)",
            "give the band as a share of the mean, e.g. 0.05 for ±5 %",
        )
    if "balance" in p and p["balance"] is not None:
        b = p["balance"]
        if not isinstance(b, Mapping) or not all(is_tolerance(t) for t in b.values()):
            raise bad(
                "balance",
                "a mapping of measure to a tolerance in [0, 1)",
                "e.g. {'workload': 0.05}",
            )
    k = p.get("n_territories")
    if k is not None and ((w := whole_number(k)) is None or w < 1):
        raise bad("n_territories", "a whole number ≥ 1", "e.g. 18, or leave it out")
    # the run settings as terrakit.design.align checks them (a whole-number
    # float, 2000.0 from np.linspace, is the key of 2000 and runs as 2000);
    # the heuristic path runs without align's solve(), which checks the
    # backend, so it is checked here for every path
    from terrakit.design.align import (
        Solver,
        _check_contiguity,
        _check_max_iter,
        _check_run,
        _refuse_mip_diameter,
    )

    run = {**_DESIGN_DEFAULTS, **p}
    if run["solver"] not in get_args(Solver):
        raise bad(
            "solver",
            "'auto', 'mip' or 'heuristic'",
            "pick one of these; a MIP backend such as 'cbc' is the backend parameter",
        )
    try:
        _check_run(run["time_limit"], 0, run["backend"])
        if "max_iter" in p:
            _check_max_iter(_whole_or_as_given(p["max_iter"]))
        _check_contiguity(run["contiguity"])
        _refuse_mip_diameter(run["solver"], p.get("objective"))
    except SpecificationError as err:
        raise SpecificationError(f"scenario {key}: {err}") from None


def _whole_or_as_given(value: Any) -> Any:
    """``value`` as an ``int`` when it is a whole number (``2000.0``), else
    unchanged (``True``, ``2.5`` and ``None`` stay what they are)."""
    w = whole_number(value)
    return value if w is None else w


def _prepare_design(
    study: Any, todo: Sequence[tuple[str, dict[str, Any], int]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """One DesignProblem per build group (the adjacency is built once per group).

    Returns the payload for the workers and, by scenario key, the error text
    of the scenarios whose group's problem cannot be built (e.g. a
    ``max_distance_km`` that leaves units beyond every center): those become
    error rows, while the other groups run.
    """
    from terrakit.design.align import build_problem

    unknown = sorted(
        {
            key
            for _, p, _ in todo
            for key in p
            if key not in _DESIGN_RUN_KEYS | _DESIGN_BUILD_KEYS
        }
    )
    if unknown:
        raise SpecificationError(
            f"task='design' does not know the parameters {unknown}; it takes "
            f"{sorted(_DESIGN_RUN_KEYS | _DESIGN_BUILD_KEYS)}"
        )
    n_reps = None if study.reps is None else len(study.reps)
    for key, p, _ in todo:
        _check_design_params(key, p)
        if n_reps is None and p.get("n_territories") is None:
            raise SpecificationError(
                f"scenario {key}: task='design' needs n_territories when the "
                "study has no reps. Fix: give n_territories (in the grid or in "
                "options)"
            )
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for key, p, _ in todo:
        groups.setdefault(_design_group(p, n_reps), []).append((key, p))
    problems: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for g, members in groups.items():
        p0 = members[0][1]
        k0 = p0.get("n_territories")
        build = {key: p0[key] for key in _DESIGN_BUILD_KEYS if key in p0}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                problems[g] = build_problem(
                    study,
                    n_territories=None if k0 is None else whole_number(k0),
                    balance=_design_balance(p0),
                    contiguity=any(bool(p.get("contiguity", True)) for _, p in members),
                    **build,
                )
        except Exception as err:  # this group's rows report it, the rest run
            failed.update((key, f"{type(err).__name__}: {err}") for key, _ in members)
    return {"problems": problems, "n_reps": n_reps}, failed


def _design_row(
    prepared: Mapping[str, Any], params: Mapping[str, Any], seed: int
) -> dict[str, Any]:
    from terrakit.design.align import choose_solver, solve
    from terrakit.design.heuristic import solve_heuristic

    base = prepared["problems"][_design_group(params, prepared["n_reps"])]
    bal = _design_balance(params)
    run = {**_DESIGN_DEFAULTS, **params}
    changes: dict[str, Any] = {"tolerance": bal, "contiguity": bool(run["contiguity"])}
    k = params.get("n_territories")
    if base.center_mode == "choose":
        k = whole_number(k)  # 18.0 is 18 (checked by _check_design_params)
        assert k is not None
        changes["n_territories"] = k
        changes["territory_ids"] = tuple(f"T{t + 1:02d}" for t in range(k))
    problem = base.replace(**changes)
    time_limit = float(run["time_limit"])
    solver = str(run["solver"])
    path = choose_solver(problem, time_limit) if solver == "auto" else solver
    # None or a whole number ≥ 1 (checked by _check_design_params)
    max_iter = _whole_or_as_given(run["max_iter"])
    if path == "heuristic":
        problem.check()
        res = solve_heuristic(
            problem, time_limit=time_limit, seed=seed, max_iter=max_iter
        )
    else:
        res = solve(
            problem,
            solver=solver,
            time_limit=time_limit,
            seed=seed,
            backend=str(run["backend"]),
        )
    terr = res.territories
    # the clock stopped the run before its iteration budget was spent (the
    # heuristic's flag) or before the MIP finished: the row may differ
    # between machines and runs
    cut = bool(res.info.get("cut_by_clock", res.status == "time_limit"))
    # a result comes back 'infeasible' only from a search that found no plan
    # in the bands (a proof raises InfeasibleError): no proof, as in pareto
    status = "not_found" if res.status == "infeasible" else res.status
    row: dict[str, Any] = {
        "status": status,
        "cut_by_clock": cut,
        "method": res.method,
        # not "objective": that is a build parameter of the task (its name)
        "objective_value": res.objective,
        "lower_bound": res.lower_bound,
        "gap": res.gap,
        "max_deviation": res.max_deviation,
    }
    for a in bal:
        x = terr[a].to_numpy(dtype=float)
        mean = float(x.mean())
        row[f"{a}_min"] = float(x.min())
        row[f"{a}_max"] = float(x.max())
        row[f"{a}_cv"] = float(x.std() / mean) if mean else math.nan
    if problem.adjacency is not None and res.columns is not None:
        lab, _ = problem.territory_index(res.columns)
        a = problem.adjacency.tocoo()
        row["cut_edges"] = int(np.count_nonzero(lab[a.row] != lab[a.col]) // 2)
    row["assignment"] = [_plain(t) for t in res.alignment.assignment.tolist()]
    prov = dict(res.alignment.provenance)
    if path == "heuristic":  # the default budget is not among the parameters
        prov["config"] = {**dict(prov.get("config") or {}), "max_iter": max_iter}
    prov["status"] = status
    prov["cut_by_clock"] = cut
    row["provenance"] = prov
    return row


#: Parameters of the sizing task.
_SIZING_KEYS = {
    "hours_per_rep",
    "calls_per_rep",
    "travel",
    "calls_per_day",
    "call_minutes",
}


def _sizing_row(study: Any, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    from terrakit.sizing import workload

    known = _SIZING_KEYS
    unknown = sorted(set(params) - known)
    if unknown:
        raise SpecificationError(
            f"task='sizing' does not know the parameters {unknown}; it takes "
            f"{sorted(known)}"
        )
    kw: dict[str, Any] = {}
    for name in ("travel", "calls_per_day", "call_minutes"):
        if name in params:
            kw[name] = params[name]
    wl = workload(study, **kw)
    need = wl.reps_needed(
        float(params.get("hours_per_rep", 1_600)),
        calls_per_rep=params.get("calls_per_rep"),
    )
    return {
        "status": "ok",
        "total_calls": wl.total_calls,
        "total_hours": wl.total_hours,
        "reps_fractional": need.total,
        "reps": need.reps,
    }


def _scalar_fields(obj: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in (
        "status",
        "method",
        "moved",
        "moved_share",
        "lower_bound",
        "gap",
        "max_deviation",
        "max_deviation_before",
    ):
        v = getattr(obj, name, None)
        if isinstance(v, (int, float, str, bool, np.generic)):
            row[name] = _plain(v)
    return row


def _rebalance_row(
    study: Any, adjacency: Any, params: Mapping[str, Any], seed: int
) -> dict[str, Any]:
    try:
        rebalance = importlib.import_module("terrakit.realign").rebalance
    except (ImportError, AttributeError):
        raise SpecificationError(
            "task='rebalance' needs terrakit.realign.rebalance, which is not "
            "available in this installation"
        ) from None
    kw = dict(params)
    if "tolerance" in kw:
        kw.pop("tolerance")
        kw["balance"] = _rebalance_balance(params)
    if adjacency is not None and "adjacency" not in kw:
        kw["adjacency"] = adjacency
    res = rebalance(study, seed=seed, **kw)
    row = _scalar_fields(res)
    row.setdefault("status", "ok")
    al = getattr(res, "alignment", None)
    if al is not None and hasattr(al, "assignment"):
        row["assignment"] = [_plain(t) for t in al.assignment.tolist()]
        row["provenance"] = dict(getattr(al, "provenance", None) or {})
    return row


def _rebalance_balance(params: Mapping[str, Any]) -> dict[str, float]:
    """The bands of a rebalance scenario: ``balance`` (left out or ``None``:
    :data:`_REBALANCE_BALANCE`; ``{}`` stays ``{}``, which rebalance refuses)
    with ``tolerance``, where given, applied to every balanced activity."""
    given = params.get("balance")
    bal = dict(_REBALANCE_BALANCE if given is None else given)
    if "tolerance" in params:
        tol = float(params["tolerance"])
        bal = {a: tol for a in bal}
    return bal


def _run_one(
    task: str | Callable[..., Mapping[str, Any]],
    token: str,
    payload: Mapping[str, Any],
    params: Mapping[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Run one scenario; never raises for an error of the task itself."""
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if task == "design":
                row = _design_row(payload, params, seed)
            else:
                study = _study_from_payload(token, payload)
                if task == "sizing":
                    row = _sizing_row(study, params, seed)
                elif task == "rebalance":
                    row = _rebalance_row(study, payload.get("adjacency"), params, seed)
                else:
                    assert callable(task)
                    out = task(study, seed=seed, **params)
                    if not isinstance(out, Mapping):
                        raise TypeError(
                            f"a sweep task must return a dict of results, got "
                            f"{type(out).__name__}"
                        )
                    row = {
                        str(k): (
                            _assignment_in_unit_order(v, study.units.index)
                            if str(k) == "assignment"
                            else _plain(v, result=str(k))
                        )
                        for k, v in out.items()
                    }
                    row.setdefault("status", "ok")
            _refuse_clashing_results(row, params)
            if "assignment" in row:
                row["provenance"] = _scenario_provenance(
                    task, params, seed, row, row.get("provenance")
                )
        row["error"] = None
    except Exception as err:  # reported in the row, the sweep goes on
        row = {"status": "error", "error": f"{type(err).__name__}: {err}"}
    row["seconds"] = time.perf_counter() - t0
    return row


def _some(ids: Sequence[Any]) -> str:
    """Up to five ids, then how many more (``"'u3', 'u4' and 6 more"``)."""
    shown = ", ".join(
        repr(i.item() if isinstance(i, np.generic) else i) for i in ids[:5]
    )
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def _assignment_in_unit_order(value: Any, units: pd.Index) -> list[Any]:
    """The ``assignment`` a callable task returned, as territory ids in the
    order of ``study.units`` (what :attr:`SweepResult.assignments` holds).

    Accepted: a Series or mapping ``unit_id → territory`` (e.g.
    ``alignment.assignment`` or its ``to_dict()``) naming every unit of the
    study and no other, or a list (tuple, array) of exactly one territory per
    unit in the order of ``study.units``.  Anything else raises a
    :class:`SpecificationError` (the scenario's row gets the error) rather
    than giving an alignment of wrong territories (a dict's keys) or one
    that fails later.
    """
    fix = (
        "Fix: return 'assignment' as a Series or dict {unit_id: territory} "
        "covering every unit (e.g. alignment.assignment), or a list of "
        f"{len(units)} territories in the order of study.units"
    )
    if isinstance(value, pd.Series | Mapping):
        s = (
            value
            if isinstance(value, pd.Series)
            else pd.Series(list(value.values()), index=list(value.keys()), dtype=object)
        )
        twice = list(dict.fromkeys(s.index[s.index.duplicated()]))
        if twice:
            raise SpecificationError(
                f"the task's 'assignment' gives {len(twice)} units more than "
                f"one territory ({_some(twice)}). {fix}"
            )
        unknown = s.index[~s.index.isin(units)].tolist()
        if unknown:
            raise SpecificationError(
                f"the task's 'assignment' names {len(unknown)} units that are "
                f"not in study.units ({_some(unknown)}). {fix}"
            )
        values = s.reindex(units).tolist()
    elif isinstance(value, list | tuple | np.ndarray | pd.Index):
        values = list(value.tolist() if hasattr(value, "tolist") else value)
        if len(values) != len(units):
            raise SpecificationError(
                f"the task's 'assignment' holds {len(values)} territories but "
                f"the study has {len(units)} units. {fix}"
            )
    else:
        raise SpecificationError(
            f"the task's 'assignment' is a {type(value).__name__} "
            f"({value!r:.60}), not one territory per unit. {fix}"
        )
    missing = units[pd.isna(pd.Series(values, dtype=object)).to_numpy()].tolist()
    if missing:
        raise SpecificationError(
            f"the task's 'assignment' gives no territory to {len(missing)} of "
            f"the study's {len(units)} units ({_some(missing)}). {fix}"
        )
    return [_plain(t) for t in values]


def _clashing_results(
    results: Iterable[str], params: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """The result names that would overwrite a column of the sweep's table:
    those of the scenario's parameters, and those of the fixed columns a task
    may not set (:data:`_RESERVED_RESULTS`)."""
    names = set(results)
    return sorted(names & set(params)), sorted(names & set(_RESERVED_RESULTS))


def _refuse_clashing_results(row: Mapping[str, Any], params: Mapping[str, Any]) -> None:
    """Refuse a result named like a parameter or a fixed column of the table
    (the scenario's row gets the error): it would overwrite that column, or
    stand beside it as a second column of the same name."""
    named_params, named_fixed = _clashing_results(row, params)
    if not (named_params or named_fixed):
        return
    what = []
    if named_params:
        what.append(f"the scenario's parameters {named_params}")
    if named_fixed:
        what.append(f"the sweep table's own columns {named_fixed}")
    first = (named_params or named_fixed)[0]
    raise SpecificationError(
        f"the task returned results named like {' and '.join(what)}; a result "
        "may not replace those columns of the table. Fix: rename these keys of "
        f"the dict the task returns (e.g. {first!r} -> {first + '_result'!r})"
    )


def _scenario_provenance(
    task: str | Callable[..., Any],
    params: Mapping[str, Any],
    seed: int,
    row: Mapping[str, Any],
    made: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Provenance of a scenario's alignment: the record its design or
    rebalance result made (method, status, seed, terrakit version, time),
    else a :func:`~terrakit.data.alignment.make_provenance` record of the
    sweep task; either way with the scenario's parameters in ``config``.

    The scenario's seed is checked against the record's: a task that made
    its alignment with another seed keeps its own and gets ``sweep_seed``.
    """
    from terrakit.data.alignment import make_provenance

    name = task if isinstance(task, str) else _task_name(task)
    if made and "method" in made:
        prov = dict(made)
    else:
        prov = make_provenance(f"sweep/{name}", seed=seed, status=row.get("status"))
    prov["config"] = {**dict(prov.get("config") or {}), **dict(params)}
    if prov.get("seed") != seed:
        prov["scenario_seed"] = seed
    prov["task"] = name
    return _json_record(prov)


def _stable_form(v: Any) -> Any:
    """``v`` as plain JSON types that are the same in every process: numpy
    values as numbers and lists, sets sorted, dates as ISO text, anything
    else as its text without memory addresses."""
    if isinstance(v, np.generic):
        item = v.item()
        return repr(v) if isinstance(item, np.generic) else _stable_form(item)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, Mapping):
        return {str(k): _stable_form(x) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        return _stable_form(v.tolist())
    if isinstance(v, (list, tuple)):
        return [_stable_form(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return sorted((_stable_form(x) for x in v), key=_canonical)
    if hasattr(v, "isoformat"):  # datetime, date, pandas Timestamp
        return str(v.isoformat())
    return _no_address(repr(v))


def _no_address(text: str) -> str:
    """``text`` without memory addresses (``" at 0x7f..."``), which differ
    from process to process."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", text)


def _stable_text(v: Any) -> str:
    """``v`` as short text that is the same in every process (see
    :func:`_stable_form`); a long form is replaced by its type and a digest."""
    form = _stable_form(v)
    text = form if isinstance(form, str) and not isinstance(v, str) else repr(form)
    if len(text) > 120:
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        return f"<{type(v).__name__} {digest}>"
    return text


def _bound_arguments(task: functools.partial[Any]) -> str:
    """The arguments a :func:`functools.partial` binds, as text that is the
    same in every process: positional ones in order, then the keywords
    sorted by name (``"2, scale=2.0"``)."""
    args = [_stable_text(a) for a in task.args]
    args += [f"{k}={_stable_text(v)}" for k, v in sorted(task.keywords.items())]
    return ", ".join(args)


def _function_state(fn: Any, seen: set[int] | None = None) -> str:
    """The values a function holds beside its code, as text that is the same
    in every process: its defaults (``__defaults__``, ``__kwdefaults__``) and
    the values its closure captured (``make_task(100)`` against
    ``make_task(1)``: the same source, other values), those of a captured
    function followed in turn.  ``""`` for a function without any."""
    code = getattr(fn, "__code__", None)
    if not inspect.iscode(code):
        return ""
    seen = set() if seen is None else seen
    if id(fn) in seen:  # a recursive closure captures itself
        return ""
    seen.add(id(fn))
    parts = []
    defaults = getattr(fn, "__defaults__", None) or ()
    if defaults:
        parts.append("defaults=" + ", ".join(_stable_text(v) for v in defaults))
    kwdefaults = sorted((getattr(fn, "__kwdefaults__", None) or {}).items())
    parts += [f"{k}={_stable_text(v)}" for k, v in kwdefaults]
    cells = getattr(fn, "__closure__", None) or ()
    for name, cell in zip(code.co_freevars, cells, strict=True):
        try:
            value = cell.cell_contents
        except ValueError:  # a cell not filled yet
            continue
        inner = _function_state(value, seen) if inspect.isfunction(value) else ""
        parts.append(f"{name}={_stable_text(value)}{inner and f'[{inner}]'}")
    return "; ".join(parts)


def _callable_name(fn: Any) -> str:
    """The name of a callable task, the same in every process (no memory
    address): ``module.qualname`` of a function, method or class;
    ``functools.partial(<function>, <bound arguments>)``; for an instance
    with a ``__call__`` method, ``module.Class(<its attributes>)``."""
    if isinstance(fn, functools.partial):
        bound = _bound_arguments(fn)
        return f"functools.partial({_callable_name(fn.func)}{bound and ', '}{bound})"
    qualname = getattr(fn, "__qualname__", None)
    if isinstance(qualname, str):  # a function, method, class or builtin
        return f"{getattr(fn, '__module__', None) or '?'}.{qualname}"
    cls = type(fn)
    attrs = sorted((getattr(fn, "__dict__", None) or {}).items())
    state = ", ".join(f"{k}={_stable_text(v)}" for k, v in attrs)
    return f"{cls.__module__}.{cls.__qualname__}({state})"


#: Digests of a study: its tables, then (``None`` for tasks that do not
#: receive them) its alignments, metadata and saved scenarios.
_Fingerprint = tuple[str, str | None, str | None, str | None]


def _json_digest(obj: Any) -> str:
    """A digest of the canonical JSON of ``obj`` (see :func:`_stable_form`)."""
    return hashlib.sha256(_canonical(_stable_form(obj)).encode()).hexdigest()[:16]


def _study_fingerprint(study: Any, whole: bool) -> _Fingerprint:
    """Digests of the study's tables and, for tasks that receive the whole
    study (``whole``: a callable task, rebalance), of its alignments, of its
    metadata (the canonical JSON of ``study.metadata``) and of its saved
    what-if scenarios (``study.scenarios``).

    Stored with every row of ``out`` so that resuming into a table written for
    another study (or for this study before its data changed) is refused
    instead of reading its rows back as this study's results.
    """
    h = hashlib.sha256()
    for name in ("units", "accounts", "reps", "history"):
        h.update(name.encode())
        digest_frame(h, getattr(study, name, None))
    data = h.hexdigest()[:16]
    if not whole:
        return data, None, None, None
    ha = hashlib.sha256()
    for name, al in sorted(getattr(study, "alignments", {}).items()):
        ha.update(str(name).encode())
        digest_frame(ha, al.assignment.to_frame())
    meta = _json_digest(dict(getattr(study, "metadata", None) or {}))
    scenarios = _json_digest(dict(getattr(study, "scenarios", None) or {}))
    return data, ha.hexdigest()[:16], meta, scenarios


def _code_digest(h: Any, code: Any) -> None:
    """Feed a code object (its bytecode, names and constants, nested code
    objects included) to the hash ``h``."""
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for c in code.co_consts:
        if inspect.iscode(c):
            _code_digest(h, c)
        else:
            h.update(repr(c).encode())


def _module_source(fn: Any) -> bytes | None:
    """The source of the module that defines ``fn`` (its file's bytes, else
    :func:`inspect.getsource` of the module), ``None`` when there is none
    (a notebook cell, ``exec``, a compiled module)."""
    module = inspect.getmodule(fn)
    if module is None:
        return None
    file = getattr(module, "__file__", None)
    if file and str(file).endswith(".py"):
        try:
            return Path(file).read_bytes()
        except OSError:
            pass
    try:
        return inspect.getsource(module).encode()
    except (OSError, TypeError):
        return None


def _task_digest(task: Any, version: str | int | None = None) -> str | None:
    """A digest of a callable task's code (``None`` for the built-in tasks,
    which the terrakit version covers, unless ``version`` is given).

    The task's source text (:func:`inspect.getsource`), else the code
    object's bytecode, names and constants, else the task's name alone;
    plus the source of the whole module that defines it (so that a changed
    helper function or constant of that module counts), the arguments a
    :func:`functools.partial` binds, the function's defaults and the values
    its closure captured (:func:`_function_state`) and the user's
    ``version``.  Code the module imports from other modules is not
    covered.  Stored with every row of ``out`` so that resuming after the
    code (or a value bound to it) changed runs its rows again.
    """
    if isinstance(task, str) and version is None:
        return None
    h = hashlib.sha256()
    if version is not None:
        h.update(f"version={version!r}".encode())
    if isinstance(task, str):
        h.update(task.encode())
        return h.hexdigest()[:16]
    fn = task
    while isinstance(fn, functools.partial):
        h.update(f"partial({_bound_arguments(fn)})".encode())
        fn = fn.func
    try:
        h.update(inspect.getsource(fn).encode())
    except (OSError, TypeError):  # no source file (built in, compiled, exec)
        code = getattr(fn, "__code__", None)
        if code is None:
            call = type(fn).__dict__.get("__call__")  # an instance's method
            code = getattr(call, "__code__", None)
        if code is not None:
            _code_digest(h, code)
        else:
            h.update(_task_name(fn).encode())
    state = _function_state(fn)
    if state:  # a task without defaults or closure keeps its digest
        h.update(f"state({state})".encode())
    module = _module_source(fn)
    if module is not None:
        h.update(b"module:" + module)
    return h.hexdigest()[:16]


def _sweep_provenance(
    name: str,
    task: Any,
    seed: int,
    options: Mapping[str, Any],
    task_version: str | int | None = None,
) -> dict[str, Any]:
    """The sweep's own record: task (its code digest and the user's
    ``task_version``), seed, shared options, terrakit and library versions,
    time (see :attr:`SweepResult.provenance`)."""
    from terrakit import __version__
    from terrakit._versions import library_versions

    return _json_record(
        {
            "task": name,
            "task_code": _task_digest(task, task_version),
            "task_version": task_version,
            "seed": int(seed),
            "options": dict(options),
            "terrakit_version": __version__,
            "libraries": library_versions(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )


def _stale(
    row: Mapping[str, Any], meta: Mapping[str, Any] | None, now: Mapping[str, Any]
) -> str | None:
    """Why a stored row is not this sweep's result (``None``: it is).

    ``meta``: the sweep record stored with the row (``None`` for rows stored
    before sweeps kept one), ``now``: this sweep's record.
    """
    meta = meta or {}
    made = row.get("provenance")
    versions = {
        v
        for v in (
            meta.get("terrakit_version"),
            made.get("terrakit_version") if isinstance(made, Mapping) else None,
        )
        if v is not None
    }
    other = sorted(str(v) for v in versions - {now["terrakit_version"]})
    if other:
        this = now["terrakit_version"]
        return f"written by terrakit {', '.join(other)} (this is {this})"
    if meta.get("task_version") != now.get("task_version"):
        return (
            f"written for task_version={meta.get('task_version')!r} (this is "
            f"{now.get('task_version')!r})"
        )
    if now.get("task_code") is not None:
        if meta.get("task_code") is None:
            return "written without a record of the task's code"
        if meta["task_code"] != now["task_code"]:
            return "written by another version of the task's code"
    return None


def _task_parameters(name: str, task: Any) -> tuple[set[str] | None, bool]:
    """Parameter names a task takes (``None``: any) and whether it takes ``seed``."""
    if name == "design":
        return _DESIGN_RUN_KEYS | _DESIGN_BUILD_KEYS, True
    if name == "sizing":
        return set(_SIZING_KEYS), True
    if name == "rebalance":
        fn = getattr(importlib.import_module("terrakit.realign"), "rebalance", None)
        extra = {"tolerance"}
    else:
        fn, extra = task, set()
    if fn is None:
        return None, True
    try:
        params = list(inspect.signature(fn).parameters.values())[1:]
    except (TypeError, ValueError):  # no signature to read: let the task decide
        return None, True
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None, True
    names = {
        p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    return (names - {"seed"}) | extra, "seed" in names


#: Parameters of the built-in tasks that take a number only (text is refused:
#: ``"0.1"`` would be a second scenario beside ``0.1``)
_NUMERIC_KEYS = {
    "n_territories",
    "tolerance",
    "time_limit",
    "max_iter",
    "max_distance_km",
    "hours_per_rep",
    "calls_per_rep",
    "calls_per_day",
    "max_moved",
}


def _refuse_numeric_text(
    name: str,
    merged: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    options: Mapping[str, Any],
) -> None:
    """Refuse a number written as text (``"0.1"``) for a numeric parameter of
    a built-in task: it would run as a second scenario beside ``0.1``, with
    another seed.  (Text that is no number is left to the task's own check.)"""
    if name not in _TASKS:
        return
    for p, key in zip(merged, keys, strict=True):
        for param in sorted(_NUMERIC_KEYS & set(p)):
            v = p[param]
            number = as_number(v) if isinstance(v, str | bytes) else math.nan
            if math.isfinite(number):
                where = " (from options)" if param in options else ""
                raise SpecificationError(
                    f"scenario {key}: {param}={v!r}{where} is text, not a "
                    f"number. Fix: write {param}={_key_form(number)!r} (as text it "
                    "would run as a second scenario beside the number)"
                )


def _check_parameters(
    name: str,
    task: Any,
    merged: Sequence[Mapping[str, Any]],
    options: Mapping[str, Any],
) -> None:
    """Refuse unknown parameter names before any scenario runs."""
    known, takes_seed = _task_parameters(name, task)
    if not takes_seed:
        raise SpecificationError(
            f"task {name!r} is called as f(study, *, seed, **params) but takes no "
            "seed keyword; add one (every random step takes a seed)"
        )
    if known is None:
        return
    unknown = sorted({k for p in merged for k in p if k not in known})
    if unknown:
        where = " (from options)" if set(unknown) <= set(options) else ""
        raise SpecificationError(
            f"task={name!r} does not know the parameters {unknown}{where}; it "
            f"takes {sorted(known)}" + did_you_mean(unknown, known)
        )


# -- the file -----------------------------------------------------------------------
def _check_table_name(table: str) -> str:
    if not table.replace("_", "").isalnum() or not table[:1].isalpha():
        raise SpecificationError(
            f"table name {table!r} must start with a letter and hold only letters, "
            "digits and underscores"
        )
    return table


class _RowStore:
    """One attributes table of a GeoPackage; one SQLite transaction per row."""

    def __init__(self, path: str | os.PathLike[str], table: str) -> None:
        self.path = Path(path)
        self.table = _check_table_name(table)
        #: (data, alignments, metadata, scenarios fingerprints; the last
        #: three None for tasks that do not receive them) written with each row
        self.study: _Fingerprint = ("", None, None, None)
        #: the sweep's record (:func:`_sweep_provenance`) written with each row
        self.sweep: dict[str, Any] = {}
        if self.path.suffix.lower() != ".gpkg":
            raise SpecificationError(
                f"out must be a GeoPackage path ending in .gpkg, got {self.path.name!r}"
            )
        exists = False
        if self.path.exists():
            try:
                with contextlib.closing(sqlite3.connect(self.path)) as con:
                    columns = [
                        r[1] for r in con.execute(f'PRAGMA table_info("{table}")')
                    ]
            except sqlite3.DatabaseError as err:
                raise SpecificationError(
                    f"out {str(self.path)!r} exists but is not a GeoPackage "
                    f"(SQLite: {err}); the sweep's rows cannot be written into "
                    "it. Fix: pass a new .gpkg path (it is created) or an "
                    "existing GeoPackage"
                ) from None
            exists = bool(columns)
            missing = [c for c in _STORE_COLUMNS if c not in columns]
            if exists and missing:
                shown = ", ".join(columns[:8]) + (", ..." if len(columns) > 8 else "")
                raise SpecificationError(
                    f"table {table!r} of {self.path.name!r} is not a sweep table "
                    f"(its columns: {shown}; a sweep table has "
                    f"{', '.join(_STORE_COLUMNS)}); the sweep's rows would mix "
                    "with its data. Fix: pass another table name (e.g. "
                    "table='sweep') or another out file"
                )
        if not exists:
            import pyogrio

            self.path.parent.mkdir(parents=True, exist_ok=True)
            template = pd.DataFrame(
                {
                    "key": pd.Series([], dtype=object),
                    "task": pd.Series([], dtype=object),
                    "status": pd.Series([], dtype=object),
                    "error": pd.Series([], dtype=object),
                    "seconds": pd.Series([], dtype=float),
                    "seed": pd.Series([], dtype=np.int64),
                    "params": pd.Series([], dtype=object),
                    "row": pd.Series([], dtype=object),
                    "finished": pd.Series([], dtype=object),
                }
            )
            pyogrio.write_dataframe(template, self.path, layer=table, driver="GPKG")
        self.con = sqlite3.connect(self.path, timeout=30)
        with self.con:
            self.con.execute(
                f'CREATE UNIQUE INDEX IF NOT EXISTS "{table}_key" ON "{table}"(key)'
            )
            if exists:
                self._recount()

    def _recount(self) -> None:
        """Set the table's feature count in ``gpkg_ogr_contents`` (where the
        file has one) to its number of rows: sweeps before rows were updated
        in place left it too high (see :meth:`write`)."""
        has_contents = self.con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
            "name = 'gpkg_ogr_contents'"
        ).fetchone()
        if has_contents:
            rows = f'(SELECT COUNT(*) FROM "{self.table}")'
            self.con.execute(
                f"UPDATE gpkg_ogr_contents SET feature_count = {rows} "
                f"WHERE table_name = ? AND feature_count != {rows}",
                (self.table,),
            )

    def read(self) -> dict[str, dict[str, Any]]:
        """The stored rows by key; their study fingerprints go to :attr:`studies`."""
        cur = self.con.execute(
            f'SELECT key, status, error, seconds, seed, row FROM "{self.table}"'
        )
        out = {}
        self.studies: dict[str, tuple[Any, Any, Any, Any]] = {}
        self.sweeps: dict[str, Any] = {}
        for key, status, error, seconds, seed, row in cur.fetchall():
            r = json.loads(row) if row else {}
            self.studies[key] = (
                r.pop("_study", None),
                r.pop("_alignments", None),
                r.pop("_metadata", None),  # None: stored before sweeps kept it
                r.pop("_scenarios", None),  # likewise
            )
            r.update(status=status, error=error, seconds=seconds, seed=seed)
            self.sweeps[key] = r.pop("_sweep", None)
            out[key] = r
        return out

    def check_study(
        self,
        data: str,
        alignments: str | None,
        metadata: str | None,
        scenarios: str | None,
    ) -> None:
        """Refuse a table written for another study (or changed data)."""
        now = (data, alignments, metadata, scenarios)
        parts = (
            "tables (units, accounts, reps, history)",
            "alignments",
            "metadata",
            "scenarios",
        )
        foreign: set[str] = set()
        differ: set[int] = set()
        for k, stored in self.studies.items():
            for j, (then, this) in enumerate(zip(stored, now, strict=True)):
                if then is not None and this is not None and then != this:
                    foreign.add(k)
                    differ.add(j)
        if foreign:
            raise SpecificationError(
                f"table {self.table!r} of {self.path.name!r} holds {len(foreign)} "
                f"of {len(self.studies)} rows of another study (or of this study "
                "before its data changed: its "
                f"{' and '.join(parts[j] for j in sorted(differ))} differ); "
                "resuming would report them as this study's results. Fix: write "
                "this sweep to another table (table='...') or another file"
            )

    def write(
        self, key: str, task: str, params: Mapping[str, Any], row: Mapping[str, Any]
    ) -> None:
        body = {
            k: v
            for k, v in row.items()
            if k not in ("status", "error", "seconds", "seed", "key")
        }
        body["_study"], alignments, metadata, scenarios = self.study
        if alignments is not None:
            body["_alignments"] = alignments
        if metadata is not None:
            body["_metadata"] = metadata
        if scenarios is not None:
            body["_scenarios"] = scenarios
        body["_sweep"] = self.sweep
        # one transaction: the row is written whole or not at all.  A row
        # run again (an error row, a stale one) is updated in place: INSERT OR
        # REPLACE deletes the old row without firing GDAL's delete trigger,
        # so gpkg_ogr_contents counted it twice (the feature count that
        # GDAL, QGIS and pyogrio report)
        with self.con:
            self.con.execute(
                f'INSERT INTO "{self.table}" ({", ".join(_STORE_COLUMNS)}) '
                f"VALUES ({', '.join('?' * len(_STORE_COLUMNS))}) "
                "ON CONFLICT(key) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in _STORE_COLUMNS[1:]),
                (
                    key,
                    task,
                    row["status"],
                    row.get("error"),
                    float(row["seconds"]),
                    int(row["seed"]),
                    _canonical(params),
                    json.dumps(body, allow_nan=True),
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )
            self.con.execute(
                "UPDATE gpkg_contents SET last_change = strftime("
                "'%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = ?",
                (self.table,),
            )

    def close(self) -> None:
        self.con.close()


# -- the result ---------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SweepResult:
    """One row per scenario of a :func:`sweep`.

    Parameters
    ----------
    table
        Index ``scenario`` (grid order); the scenario's parameters, then
        ``status``, ``error``, ``seconds``, ``seed`` (the scenario's own seed),
        ``key``, then the task's results (design: ``method``,
        ``cut_by_clock``, ``objective_value`` (the plan's value of the
        ``objective`` parameter), ``lower_bound``, ``gap``,
        ``max_deviation``, ``<activity>_min``, ``_max``, ``_cv``,
        ``cut_edges``; a design ``status`` is that of
        :func:`~terrakit.design.align`, except that a search that found no
        plan within the bands is ``"not_found"`` (no proof that none exists;
        a proof is an ``"error"`` row with the solver's reason), as in
        :func:`~terrakit.design.pareto`; ``cut_by_clock`` is true when the
        clock stopped the run before its iteration budget (or the MIP before
        it finished), so the row may differ between machines and runs; sizing:
        ``total_calls``, ``total_hours``, ``reps_fractional``, ``reps``;
        rebalance: ``status``, ``method``, ``moved``, ``moved_share``,
        ``lower_bound``, ``gap``, ``max_deviation``,
        ``max_deviation_before``; a callable task: the keys of the dict it
        returns).  A result named like a parameter of the scenario or a fixed
        column other than ``status`` is refused (the scenario's row gets the
        error) rather than overwriting that column.

        A parameter cell always says what the scenario ran with: a
        parameter the scenario leaves out shows the value from ``options``,
        else the task's default (design: ``n_territories`` the number of
        reps, ``balance`` the bands applied and ``tolerance`` their width
        where all are alike, ``weight`` the first balanced activity,
        ``contiguity=True``, ``time_limit=60.0``, ``solver="auto"``,
        ``backend="highs"``, ``max_iter`` :data:`DESIGN_MAX_ITER`, and
        :func:`~terrakit.design.align`'s defaults for the build parameters;
        sizing: those of :func:`~terrakit.sizing.workload` and
        ``reps_needed``, e.g. ``travel="model"``; rebalance and a callable:
        the defaults in their signatures), or :data:`DEFAULT_MARKER`
        (``"(default)"``) where the task has no single default (a callable
        taking ``**params``, bands of different widths).  A parameter given
        as ``None`` stays ``None`` (NaN in a numeric column): sizing
        ``travel=None`` is no travel time, not the left-out ``"model"``.
    task
        ``"design"``, ``"rebalance"``, ``"sizing"`` or the callable's name,
        the same in every process (no memory address, so that a resumed
        sweep finds its keys): ``module.qualname`` of a function;
        ``functools.partial(module.qualname, <bound arguments>)``;
        ``module.Class(<its attributes>)`` for an instance with a
        ``__call__`` method.
    seed
        The sweep seed.
    parameters
        Names of the grid's parameters.
    assignments
        ``{key: territory ids in unit order}`` for tasks that make alignments.
    unit_ids
        The study's unit ids (order of the assignments).
    out
        The GeoPackage the rows were streamed to, if any.
    n_resumed
        Rows read back from ``out`` instead of being run.
    provenances
        ``{key: provenance record}`` of the scenarios' alignments (stored
        with the rows, so a resumed sweep has them too); see
        :meth:`alignment`.
    provenance
        The sweep's own record (stored with every row of ``out`` too):
        ``task``, ``task_code`` (a digest of a callable task's code and of
        the module defining it, and of ``task_version``; ``None`` for a
        built-in task without ``task_version``), ``task_version``, ``seed``,
        ``options``, ``terrakit_version``, ``libraries``
        (:func:`terrakit._versions.library_versions`) and ``created``.  A
        resumed row written by another terrakit version, another
        ``task_version`` or another version of the task's code is run again
        (with a warning).
    """

    table: pd.DataFrame
    task: str
    seed: int
    parameters: tuple[str, ...]
    assignments: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    unit_ids: tuple[Any, ...] = ()
    out: str | None = None
    n_resumed: int = 0
    provenances: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in _FIXED_COLUMNS if c not in self.table.columns]
        if missing:
            raise ValueError(f"sweep table lacks columns {missing}")
        if self.table["key"].duplicated().any():
            raise ValueError("sweep table has a scenario more than once")
        object.__setattr__(
            self, "assignments", MappingProxyType(dict(self.assignments))
        )
        object.__setattr__(
            self, "provenances", MappingProxyType(dict(self.provenances))
        )
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        object.__setattr__(self, "parameters", tuple(self.parameters))

    @property
    def n_failed(self) -> int:
        """Scenarios whose task raised (status ``"error"``)."""
        return int((self.table["status"] == "error").sum())

    def failed(self) -> pd.DataFrame:
        """The rows with status ``"error"`` (parameters and error text)."""
        t = self.table
        return t.loc[t["status"] == "error", [*self.parameters, "error"]]

    def alignment(self, scenario: int) -> Any:
        """The :class:`~terrakit.data.Alignment` a scenario produced.

        Its provenance is the record the scenario's design or rebalance
        result made (:func:`~terrakit.data.alignment.make_provenance`:
        ``method``, ``status``, ``seed`` — the scenario's own seed —,
        ``terrakit_version``, ``created``), its ``config`` holding the
        scenario's parameters, plus ``task``, ``sweep_key`` and
        ``sweep_seed``.

        Raises
        ------
        KeyError
            If the scenario made no alignment (an error, or a sizing task).
        IndexError
            If there is no scenario at that position (the message says how
            many there are).
        """
        from terrakit.data import Alignment
        from terrakit.data.alignment import make_provenance

        n = len(self.table)
        if isinstance(scenario, bool) or not isinstance(scenario, int | np.integer):
            raise IndexError(
                f"scenario must be a row position 0..{n - 1} of the table, got "
                f"{scenario!r}"
            )
        if not -n <= int(scenario) < n:
            raise IndexError(
                f"no scenario at position {scenario}; the sweep has {n} "
                f"(positions 0..{n - 1})"
            )
        key = str(self.table["key"].iloc[scenario])
        if key not in self.assignments:
            raise KeyError(
                f"scenario {scenario} has no alignment (status "
                f"{self.table['status'].iloc[scenario]!r}, task {self.task!r})"
            )
        s = pd.Series(
            list(self.assignments[key]), index=pd.Index(self.unit_ids, name="unit_id")
        )
        prov = dict(self.provenances.get(key) or {})
        if not prov:  # a row stored before sweeps kept provenance
            row = self.table.iloc[scenario]
            params = json.loads(key)["params"]
            prov = make_provenance(
                f"sweep/{self.task}",
                seed=int(row["seed"]),
                config=params,
                status=row["status"],
                task=self.task,
            )
        prov.update(sweep_key=key, sweep_seed=self.seed)
        return Alignment(s, name=f"sweep_{scenario}", provenance=prov)

    def to_frame(self) -> pd.DataFrame:
        """The table (copy)."""
        return self.table.copy()

    def summary(self) -> str:
        """Rounded, stable text: counts by status and the table without timings."""
        counts = self.table["status"].value_counts().sort_index()
        lines = [
            f"SweepResult ({self.task}, seed {self.seed}): {len(self.table)} scenarios",
            "  status: " + ", ".join(f"{s} {n}" for s, n in counts.items()),
        ]
        t = self.table.drop(columns=["seconds", "key", "error"])
        num = t.select_dtypes("floating").columns
        t[num] = t[num].apply(lambda c: c.map(lambda v: float(f"{v:.6g}")))
        with pd.option_context("display.width", 200, "display.max_columns", 40):
            lines.append(t.to_string())
        for i, err in self.table["error"].dropna().items():
            lines.append(f"  scenario {i}: {err}")
        return "\n".join(lines)

    def __str__(self) -> str:
        total = float(self.table["seconds"].sum())
        return f"{self.summary()}\n  task seconds (sum): {total:.1f}"


# -- the sweep ----------------------------------------------------------------------
def _task_name(task: Any) -> str:
    if isinstance(task, str):
        if task not in _TASKS:
            raise SpecificationError(
                f"task must be one of {_TASKS} or a callable, got {task!r}"
            )
        return task
    if callable(task):
        return _callable_name(task)
    raise SpecificationError(
        f"task must be one of {_TASKS} or a callable, got {task!r}"
    )


#: glibc's trim threshold for the workers of the local cluster (see
#: :func:`_local_client`)
_TRIM_BYTES = 64 * 2**20


def _local_client(n_workers: int | None) -> Client:
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - optional extra
        raise ImportError(
            "tk.sweep on a cluster needs dask.distributed: pip install "
            "'terrakit[distributed]' (or pass client='serial')"
        ) from None
    import dask
    import dask.system

    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 so that
    # glibc hands freed memory back to the OS at once.  The design and
    # rebalance tasks allocate many medium-sized numpy arrays; with that
    # setting they spent ~15-20 % more CPU on page faults (100-scenario sweep on
    # the sample: 1.55x -> 1.77x on 2 cores, benchmarks/README.md).  The
    # workers of the cluster terrakit starts itself use a 64 MiB threshold.
    with dask.config.set(
        {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": _TRIM_BYTES}
    ):
        cluster = LocalCluster(
            # the cores this process may use (CPU affinity, cgroup quota: a
            # Slurm job, a container, taskset), not all of the host's
            n_workers=n_workers or dask.system.CPU_COUNT or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    return Client(cluster)


def sweep(
    study: Any,
    grid: Mapping[str, Iterable[Any]] | Sequence[Mapping[str, Any]],
    *,
    task: TaskName | Callable[..., Mapping[str, Any]] = "design",
    options: Mapping[str, Any] | None = None,
    client: Client | Literal["serial"] | None = None,
    seed: int = 0,
    out: str | os.PathLike[str] | None = None,
    table: str = "sweep",
    progress: bool = True,
    retries: int = 1,
    on_row: Callable[[int, Mapping[str, Any]], None] | None = None,
    task_version: str | int | None = None,
) -> SweepResult:
    """Run a grid of scenarios in parallel; one result row per scenario.

    Parameters
    ----------
    study
        The :class:`~terrakit.data.Study`.
    grid
        ``{parameter: values}`` (Cartesian product) or a list of scenario
        dicts (see :func:`scenarios`).
    task
        ``"design"``: :func:`terrakit.design.align` semantics with the
        parameters ``n_territories``, ``tolerance`` (applied to every balanced
        activity), ``balance``, ``contiguity``, ``time_limit``, ``solver``,
        ``backend``, ``max_iter`` (heuristic iteration budget, default
        :data:`DESIGN_MAX_ITER`) and the build parameters ``objective``,
        ``weight``, ``max_distance_km``, ``locked``, ``targets``;
        ``"sizing"``: :func:`terrakit.sizing.workload` then
        ``reps_needed`` (``hours_per_rep``, ``calls_per_rep``, ``travel``,
        ``calls_per_day``, ``call_minutes``); ``"rebalance"``:
        ``terrakit.realign.rebalance(study, seed=..., **params)`` (a
        ``tolerance`` parameter applies to every balanced activity; the unit
        adjacency is built once and passed on); or any
        picklable callable ``f(study, *, seed, **params) -> dict``, whose
        keys become columns of the table (a ``status`` key replaces the
        default ``"ok"``; keys named like the scenario's parameters or like
        ``error``, ``seconds``, ``seed`` or ``key`` make the scenario an
        error row: rename them).  An ``assignment`` key makes the
        scenario's alignment (:meth:`SweepResult.alignment`): a Series or
        dict ``{unit_id: territory}`` covering every unit of the study
        (e.g. ``alignment.assignment``), or a list of one territory per unit
        in the order of ``study.units``; any other form, a unit left out or
        one not in the study makes the scenario an error row saying so.
        The task receives the whole study, saved what-if scenarios
        (``study.scenarios``) included.
    options
        Parameters shared by every scenario (a scenario's own value wins),
        e.g. ``{"solver": "heuristic", "time_limit": 10}``.
    client
        A ``distributed.Client`` (e.g. ``Client("tcp://scheduler:8786")``);
        ``None`` starts a local cluster with one single-threaded worker
        process per core this process may use (``dask.system.CPU_COUNT``:
        CPU affinity and cgroup quotas count, as in a Slurm job or a
        container) for the duration of the call; ``"serial"`` runs in this
        process.
    seed
        Sweep seed; each scenario's seed is :func:`scenario_seed`.
    out
        GeoPackage to stream finished rows into (created if missing; may be a
        study file — but :meth:`Study.save` rewrites the whole file, so keep
        sweeps of a study you will save again in a sidecar file).  Rows whose
        key is already in ``table`` are not run again.
    table
        Name of the attributes table in ``out``.
    progress
        Show a progress bar.
    retries
        Extra attempts the scheduler makes when a scenario's task fails
        outside the task's own code (an error the task raises is reported in
        its row instead).  A worker process that dies under a scenario is
        handled by the scheduler itself: the scenario runs again, up to
        Dask's ``distributed.scheduler.allowed-failures`` times (default 3).
    on_row
        Called in this process as ``on_row(scenario_index, row)`` after each
        finished row is stored.
    task_version
        Your own version label of the task (e.g. ``"2"`` or a date), stored
        with every row of ``out``: rows stored under another label are run
        again on resume.  Change it when code the task depends on changes
        outside the module that defines it (see Notes).

    Returns
    -------
    SweepResult

    Raises
    ------
    SpecificationError
        An empty or malformed grid, an unknown task or task parameter, a
        parameter named like a fixed column (``status``, ``error``,
        ``seconds``, ``seed``, ``key``), an ``out`` that is not a ``.gpkg``
        path, an ``out`` table holding rows of another study (or of this
        study before its tables, alignments or — for a callable or rebalance
        task, which receive it — its metadata or saved scenarios changed).

    Notes
    -----
    For ``task="design"`` the problem (costs, adjacency) is built once per
    combination of build parameters on the caller's side and shipped to the
    workers; each scenario only changes ``n_territories``, the bands and the
    solver settings through ``DesignProblem.replace``.  The heuristic runs
    with an iteration budget so its result does not depend on the machine's
    load; as long as no scenario reaches its ``time_limit`` (column
    ``cut_by_clock`` false) a parallel sweep equals a serial one row by row
    (except ``seconds``).

    On resume, stored rows written by another terrakit version, with another
    ``task_version`` or (for a callable task) by other code are run again,
    with a warning.  A callable task's code is its own source plus the
    source of the whole module that defines it, so changing a helper function
    or a constant of that module counts; code it imports from other modules
    (your own package, a library, a data file it reads) is not covered:
    give ``task_version=`` a new value when that changes.

    Examples
    --------
    >>> res = sweep(study, {"n_territories": [18, 20], "tolerance": [0.05, 0.1]},
    ...             options={"solver": "heuristic", "time_limit": 10},
    ...             out="sweep.gpkg", seed=0)  # doctest: +SKIP
    >>> res.to_frame()[["n_territories", "status", "objective_value"]]  # doctest: +SKIP
    """
    name = _task_name(task)
    seed = check_seed(seed)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise SpecificationError(
            f"retries must be a whole number >= 0, got {retries!r}"
        )
    scs = scenarios(grid)
    if options is not None and not isinstance(options, Mapping):
        raise SpecificationError(
            f"options must be a dict of parameters shared by every scenario, got "
            f"{options!r:.80}"
        )
    base = dict(options or {})
    parameters = tuple(dict.fromkeys(k for sc in scs for k in sc))
    fixed = [c for c in (*parameters, *base) if c in _FIXED_COLUMNS]
    if fixed:
        raise SpecificationError(
            f"parameters {sorted(set(fixed))} are named like columns every sweep "
            f"row has ({', '.join(_FIXED_COLUMNS)}; the task gets its seed from "
            "the sweep); rename them"
        )
    merged = [{**base, **sc} for sc in scs]
    _check_parameters(name, task, merged, base)
    keys = [scenario_key(name, p, seed) for p in merged]
    _refuse_numeric_text(name, merged, keys, base)
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in first and _canonical(scs[i]) == _canonical(scs[first[key]]):
            raise SpecificationError(
                f"scenario {i} repeats scenario {first[key]} ({_canonical(scs[i])}): "
                "they differ only in the order of a dict's entries, which makes "
                f"no other scenario for task {name!r}; each scenario once"
            )
        if key in first:
            raise SpecificationError(
                f"scenario {i} is scenario {first[key]} once options are applied "
                f"({_canonical(merged[i])}); a scenario's own value wins over "
                "options, so drop one of them"
            )
        first[key] = i
    seeds = [scenario_seed(seed, p) for p in merged]
    if task_version is not None and (
        isinstance(task_version, bool)
        or not isinstance(task_version, str | int)
        or task_version == ""
    ):
        raise SpecificationError(
            f"task_version must be a non-empty string or a whole number that "
            f"labels the version of the task's code, got {task_version!r}; e.g. "
            "task_version='2024-06-01'"
        )
    record = _sweep_provenance(name, task, seed, base, task_version)
    store = None if out is None else _RowStore(out, table)
    rows: dict[int, dict[str, Any]] = {}
    n_resumed = 0
    try:
        if store is not None:
            study_fp = _study_fingerprint(study, name not in ("design", "sizing"))
            store.study = study_fp
            store.sweep = record
            done = store.read()
            store.check_study(*study_fp)
            stale: dict[str, int] = {}
            for i, key in enumerate(keys):
                r = done.get(key)
                if r is None or r["status"] == "error":
                    continue
                if name == "design" and "objective_value" not in r:
                    # stored before the design result was renamed
                    r = {
                        ("objective_value" if c == "objective" else c): v
                        for c, v in r.items()
                    }
                clash, _ = _clashing_results(
                    (c for c in r if c not in _FIXED_COLUMNS), merged[i]
                )
                why = (
                    f"holding results named like its parameters {clash}"
                    if clash
                    else _stale(r, store.sweeps.get(key), record)
                )
                if why is None:
                    rows[i] = r
                else:
                    stale[why] = stale.get(why, 0) + 1
            for why, count in stale.items():
                warnings.warn(
                    f"sweep: {count} stored row{'s' if count != 1 else ''} of "
                    f"table {table!r} in {store.path.name!r} (task {name!r}) "
                    f"{'were' if count != 1 else 'was'} {why}; "
                    f"{'they are' if count != 1 else 'it is'} run again and "
                    "replaced",
                    TerrakitWarning,
                    stacklevel=2,
                )
            n_resumed = len(rows)
        todo = [i for i in range(len(scs)) if i not in rows]

        def finish(i: int, row: dict[str, Any], store_it: bool = True) -> None:
            row["seed"] = seeds[i]
            if store is not None and store_it:
                store.write(keys[i], name, merged[i], row)
            rows[i] = row
            if on_row is not None:
                on_row(i, row)

        payload: dict[str, Any] = {}
        if todo and name == "design":
            payload, failed = _prepare_design(
                study, [(keys[i], merged[i], seeds[i]) for i in todo]
            )
            for i in todo:  # no problem could be built: the row says why
                if keys[i] in failed:  # (its task never ran: no seconds)
                    row = {"status": "error", "error": failed[keys[i]]}
                    finish(i, {**row, "seconds": math.nan})
            todo = [i for i in todo if keys[i] not in failed]
        elif todo:
            payload = _study_payload(study)
            if name == "rebalance":
                from terrakit.data import geo

                payload["adjacency"] = geo.adjacency(study.units, warn=False)
        if todo:
            token = hashlib.sha256(
                (name + str(id(study)) + str(time.time_ns())).encode()
            ).hexdigest()[:16]
            _execute(
                task if callable(task) else name,
                token,
                payload,
                [(i, merged[i], seeds[i], keys[i]) for i in todo],
                client,
                progress,
                retries,
                finish,
            )
    finally:
        if store is not None:
            store.close()
    return _result(
        name,
        task,
        seed,
        merged,
        parameters,
        keys,
        rows,
        study,
        out,
        n_resumed,
        record,
    )


def _execute(
    task: str | Callable[..., Mapping[str, Any]],
    token: str,
    payload: Mapping[str, Any],
    jobs: list[tuple[int, dict[str, Any], int, str]],
    client: Any,
    progress: bool,
    retries: int,
    finish: Callable[..., None],
) -> None:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc="sweep", disable=not progress, leave=False)
    try:
        if isinstance(client, str):
            if client != "serial":
                raise SpecificationError(
                    f"client must be a distributed.Client, None or 'serial', "
                    f"got {client!r}"
                )
            for i, params, s, _ in jobs:
                finish(i, _run_one(task, token, payload, params, s))
                bar.update()
            return
        from distributed import as_completed

        own = client is None
        cl = _local_client(None) if own else client
        try:
            # The payload travels as the result of a task, not as scattered
            # data: the scheduler keeps the task and computes it again when
            # every worker holding its result has died, whereas scattered
            # data is lost with its holders (and with it every scenario).
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sending large graph")
                data = cl.submit(
                    _payload_task,
                    payload,
                    key=f"terrakit-sweep-payload-{token}",
                    pure=False,
                )
            futures: dict[Any, int] = {}
            for i, params, s, key in jobs:
                fkey = (
                    "terrakit-sweep-"
                    + hashlib.sha256((token + key).encode()).hexdigest()[:24]
                )
                fut = cl.submit(
                    _run_one,
                    task,
                    token,
                    data,
                    params,
                    s,
                    key=fkey,
                    pure=False,
                    retries=retries,
                )
                futures[fut] = i
            try:
                for fut in as_completed(list(futures)):
                    i = futures.pop(fut)
                    try:
                        row = fut.result()
                        stored = True
                    except Exception as err:  # the worker died too often
                        row = {
                            "status": "error",
                            "error": _lost_scenario_text(err),
                            "seconds": math.nan,
                        }
                        stored = False
                    finish(i, row, stored)
                    bar.update()
                    fut.release()
            finally:
                if futures:  # interrupted: do not leave work running on the cluster
                    cl.cancel(list(futures))
                data.release()
        finally:
            if own:
                cluster = cl.cluster
                cl.close()
                if cluster is not None:
                    cluster.close()
    finally:
        bar.close()


def _payload_task(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The sweep's payload, as a task result the scheduler can compute again."""
    return payload


def _lost_scenario_text(err: BaseException) -> str:
    """The error text of a scenario the cluster gave up on (its task never
    returned a row: the worker process running it died every time)."""
    from distributed.scheduler import KilledWorker

    if isinstance(err, KilledWorker):
        tries = err.allowed_failures + 1
        return (
            "the worker running this scenario died (memory/crash) on each of "
            f"its {tries} attempts; run it alone (client='serial') to see why, "
            "or give the workers more memory"
        )
    if isinstance(err, CancelledError):
        return (
            "the cluster dropped this scenario (most likely the worker running "
            "it died (memory/crash), or the cluster was shut down): "
            f"{type(err).__name__}: {err}"
        )
    return f"{type(err).__name__}: {err}"


def _signature_defaults(fn: Any) -> dict[str, Any]:
    """The defaults of ``fn``'s keyword parameters (``{}`` without a signature;
    a :func:`functools.partial`'s bound keywords count as defaults)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {
        p.name: p.default
        for p in params
        if p.default is not p.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _task_defaults(
    name: str, task: Any, study: Any, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The values a scenario with ``params`` runs with for the parameters it
    leaves out, where the task has one (see :attr:`SweepResult.table`)."""
    bal: dict[str, float] | None = None
    if name == "design":
        from terrakit.design.align import build_problem

        build = _signature_defaults(build_problem)
        out = {k: v for k, v in build.items() if k in _DESIGN_BUILD_KEYS}
        out.update(_DESIGN_DEFAULTS)
        bal = _design_balance(params)
        out.update(balance=bal, weight=next(iter(bal), None))
        if study.reps is not None:  # one territory per rep
            out["n_territories"] = len(study.reps)
    elif name == "sizing":
        from terrakit.sizing.workload import WorkloadResult, workload

        both = {
            **_signature_defaults(workload),
            **_signature_defaults(WorkloadResult.reps_needed),
        }
        out = {k: v for k, v in both.items() if k in _SIZING_KEYS}
    elif name == "rebalance":
        fn = getattr(importlib.import_module("terrakit.realign"), "rebalance", None)
        out = _signature_defaults(fn)
        with contextlib.suppress(TypeError, ValueError):  # an error row's values
            bal = _rebalance_balance(params)
            out["balance"] = bal
    else:
        out = _signature_defaults(task)
    if bal and len(set(bal.values())) == 1:  # one band for every activity
        out["tolerance"] = next(iter(bal.values()))
    return out


def _result(
    name: str,
    task: Any,
    seed: int,
    merged: list[dict[str, Any]],
    parameters: tuple[str, ...],
    keys: list[str],
    rows: Mapping[int, Mapping[str, Any]],
    study: Any,
    out: Any,
    n_resumed: int,
    record: Mapping[str, Any],
) -> SweepResult:
    records = []
    assignments: dict[str, tuple[Any, ...]] = {}
    provenances: dict[str, dict[str, Any]] = {}
    extra: list[str] = []
    for i, params in enumerate(merged):
        r = dict(rows[i])
        assign = r.pop("assignment", None)
        prov = r.pop("provenance", None)
        if assign is not None:
            assignments[keys[i]] = tuple(assign)
            if isinstance(prov, Mapping):
                provenances[keys[i]] = dict(prov)
        # a parameter the scenario leaves out: the value it ran with (from
        # options, else the task's default), so that it differs from an
        # explicit None (e.g. sizing travel=None: no travel; left out: the
        # travel-time model)
        left_out = [p for p in parameters if p not in params]
        ran = _task_defaults(name, task, study, params) if left_out else {}
        rec: dict[str, Any] = {
            p: params[p] if p in params else ran.get(p, DEFAULT_MARKER)
            for p in parameters
        }
        for c in _FIXED_COLUMNS:
            rec[c] = r.pop(c, None)
        rec["key"] = keys[i]
        for c, v in r.items():
            if c not in extra:
                extra.append(c)
            rec[c] = v
        records.append(rec)
    frame = pd.DataFrame.from_records(
        records, columns=[*parameters, *_FIXED_COLUMNS, *extra]
    )
    frame.index.name = "scenario"
    frame["seconds"] = frame["seconds"].astype(float)
    return SweepResult(
        table=frame,
        task=name,
        seed=int(seed),
        parameters=parameters,
        assignments=assignments,
        unit_ids=tuple(study.units.index.tolist()),
        out=None if out is None else str(out),
        n_resumed=n_resumed,
        provenances=provenances,
        provenance=record,
    )

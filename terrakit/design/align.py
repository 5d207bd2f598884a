"""``align``: from a Study (or units + reps) to a balanced, compact alignment.

The geo path reduces to the matrix path: :func:`build_problem` turns the
units' representative points, the reps' homes, the activity columns and the
adjacency into a :class:`~terrakit.design.problem.DesignProblem`, and
:func:`solve` dispatches it to the exact MIP, the p-median engine or the
heuristic.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import reprlib
import time
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from terrakit._runargs import (
    as_number,
    check_flag,
    check_seed,
    check_time_limit,
    is_count,
)
from terrakit.data.alignment import Alignment
from terrakit.data.validation import draws_by_unit, id_hint
from terrakit.design.problem import (
    DesignProblem,
    Objective,
    _check_draws_share,
    _check_draws_tolerance,
    _rid,
)
from terrakit.design.result import (
    AlignmentResult,
    relative_gap,
    tighter_plan_sources,
)
from terrakit.exceptions import (
    DataValidationError,
    InfeasibleError,
    SpecificationError,
    TerrakitWarning,
    TimeLimitWarning,
)

__all__ = [
    "AUTO_MIP_MAX_PAIRS",
    "MAX_CHOOSE_CELLS",
    "align",
    "build_problem",
    "pareto",
    "solve",
]

#: ``solver="auto"`` uses the MIP when ``n_units × n_centers`` is at most this
#: (a quarter of it with contiguity) and the heuristic otherwise.
AUTO_MIP_MAX_PAIRS = 20_000

#: chosen centers: the most ``n_units × n_candidates`` cells a cost matrix may
#: have (2.4 GB of float64; the build holds about three such arrays)
MAX_CHOOSE_CELLS = 300_000_000

Solver = Literal["auto", "mip", "heuristic"]


def _heuristic() -> Callable[..., AlignmentResult] | None:
    try:
        from terrakit.design.heuristic import solve_heuristic
    except ImportError:
        return None
    f: Callable[..., AlignmentResult] = solve_heuristic
    return f


def _shares(values: Sequence[Any], names: Sequence[Hashable]) -> np.ndarray:
    """Target shares as floats; names the territories whose share is not a number."""
    out = np.array([as_number(v) for v in values], dtype=float)
    bad = [names[int(i)] for i in np.flatnonzero(~np.isfinite(out))]
    if bad:
        shown = ", ".join(repr(b) for b in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise SpecificationError(
            f"targets must be finite positive shares; no number for {shown} "
            f"({len(bad)} of {len(values)}): give every territory its share "
            "(without targets each gets 1/k)"
        )
    return out


def _target_shares(
    targets: Any,
    tids: tuple[Hashable, ...],
    reps: pd.DataFrame | None,
    fixed: bool,
) -> np.ndarray:
    """``targets`` as one share per territory, in the order of ``tids``.

    A mapping or a pandas Series is matched by key (a Series by its index, as
    :func:`terrakit.metrics.balance` does): every key must be a territory and
    every territory needs a share.  A list or an array is taken in the
    territories' order.
    """
    k = len(tids)
    named = "T01" if k == 1 else f"T01…T{k:02d}"
    shown_t = ", ".join(repr(t) for t in tids[:5]) + (" ..." if k > 5 else "")
    if fixed:
        what = f"the territories are the rep ids [{shown_t}]"
    elif reps is not None:
        what = (
            f"with chosen centers (n_territories={k} differs from the "
            f"{len(reps)} reps) the territories are {named} and the reps are "
            f"not used; key targets by {named}, or give a list of {k} shares"
        )
    else:
        what = (
            f"with chosen centers the territories are {named}; key targets by "
            f"them, or give a list of {k} shares"
        )
    if isinstance(targets, pd.Series):
        twice = targets.index[targets.index.duplicated()]
        if len(twice):
            raise SpecificationError(
                f"targets give territories {list(dict.fromkeys(twice))[:5]} more "
                "than one share (a Series is matched by its index); give each "
                "territory one share"
            )
        keyed: Mapping[Hashable, Any] | None = targets.to_dict()
    elif isinstance(targets, Mapping):
        keyed = targets
    else:
        keyed = None
    if keyed is None:
        if isinstance(targets, (str, bytes)) or np.ndim(targets) == 0:
            raise SpecificationError(
                f"targets must be a mapping {{territory: share}}, a pandas Series "
                f"indexed by territory or a list of {k} shares (one per "
                f"territory), not {type(targets).__name__} {targets!r}; {what}"
            )
        values = list(targets)
        return _shares(values, [f"position {i}" for i in range(len(values))])
    unknown = [t for t in keyed if t not in tids]
    if unknown:
        hint = (
            "; a Series is matched by its index: for shares in the territories' "
            "order pass a list (targets=series.tolist())"
            if isinstance(targets, pd.Series)
            else ""
        )
        raise SpecificationError(
            f"targets name {unknown[:5]}, which are not territories; {what}{hint}"
        )
    missing = [t for t in tids if t not in keyed]
    if missing:
        raise SpecificationError(
            f"targets miss territories {missing[:5]}; give a share for each"
        )
    return _shares([keyed[t] for t in tids], list(tids))


def _draws_need_heuristic(problem: DesignProblem) -> bool:
    """Whether ``problem`` balances on draws with chosen centers, which only
    the heuristic solves (the MIP models the draw bands for fixed centers)."""
    return problem.draws is not None and problem.center_mode == "choose"


def choose_solver(problem: DesignProblem, time_limit: float) -> str:
    """The ``solver="auto"`` rule: ``"pmedian"``, ``"mip"`` or ``"heuristic"``.

    - p-median shape (chosen centers, no band, no contiguity): ``"pmedian"``
      (heuristic + Lagrangian bound + reduced exact MIP);
    - capacitated p-median shape (one integer capacity band):
      ``"capacitated"`` (knapsack Lagrangian + heuristics + reduced MIP);
    - ``objective="diameter"``: ``"heuristic"`` (the MIP does not model it);
    - ``balance_on_draws`` with chosen centers: ``"heuristic"`` (the MIP
      models the draw bands for fixed centers only);
    - otherwise the MIP when ``n × m ≤ AUTO_MIP_MAX_PAIRS`` (``/ 4`` with
      contiguity or ``cut_edges``, ``× 2`` when ``time_limit ≥ 300``), else
      the heuristic (the MIP when the heuristic is not installed).

    :func:`solve` records the decision and the rule that made it in the
    result's ``provenance["config"]["auto"]`` (``path``, ``rule``, ``pairs``
    = ``n × m``, ``limit``: the pairs threshold of the size rule; :func:`align`
    keeps it under ``provenance["config"]["solver_config"]["auto"]``) and as
    the first of ``info["notes"]``.
    """
    return str(_auto_choice(problem, time_limit)["path"])


def _auto_choice(problem: DesignProblem, time_limit: float) -> dict[str, Any]:
    """The decision of :func:`choose_solver`, JSON-able: ``path``, ``rule``
    (why, in words), ``pairs`` (``n_units × n_centers``) and ``limit`` (the
    pairs threshold of the size rule, with its adjustments)."""
    from terrakit.design.capacitated import is_capacitated_pmedian
    from terrakit.design.pmedian import is_pmedian

    pairs = int(problem.n_units * problem.n_centers)
    limit = AUTO_MIP_MAX_PAIRS * (2 if time_limit >= 300 else 1)
    why = [f"AUTO_MIP_MAX_PAIRS = {AUTO_MIP_MAX_PAIRS:,}"]
    if time_limit >= 300:
        why.append("× 2 with time_limit ≥ 300 s")
    if problem.contiguity or problem.objective == "cut_edges":
        limit //= 4
        why.append("/ 4 with contiguity" if problem.contiguity else "/ 4 for cut_edges")

    def decide(path: str, rule: str) -> dict[str, Any]:
        return {"path": path, "rule": rule, "pairs": pairs, "limit": int(limit)}

    if is_pmedian(problem):
        return decide(
            "pmedian", "p-median shape (chosen centers, no band, no contiguity)"
        )
    if is_capacitated_pmedian(problem):
        return decide(
            "capacitated", "capacitated p-median shape (one integer capacity band)"
        )
    if problem.objective == "diameter":
        return decide("heuristic", 'objective="diameter" is not modelled by the MIP')
    if _draws_need_heuristic(problem) and _heuristic() is not None:
        return decide(
            "heuristic",
            "balance_on_draws with chosen centers is not modelled by the MIP",
        )
    size = f"n_units × n_centers = {pairs:,}"
    rule = f"{limit:,} ({', '.join(why)})"
    if pairs <= limit:
        return decide("mip", f"{size} ≤ {rule}")
    if _heuristic() is None:
        return decide(
            "mip", f"{size} > {rule}, but terrakit.design.heuristic is not available"
        )
    return decide("heuristic", f"{size} > {rule}")


def _record_auto(res: AlignmentResult, choice: Mapping[str, Any]) -> AlignmentResult:
    """``res`` with the ``solver="auto"`` decision recorded: in
    ``provenance["config"]["auto"]`` (result and alignment) and as the first
    of ``info["notes"]``."""
    label = {
        "mip": "MIP",
        "heuristic": "heuristic",
        "pmedian": "p-median path",
        "capacitated": "capacitated p-median path",
    }.get(str(choice["path"]), str(choice["path"]))
    note = f'solver="auto" ran the {label}: {choice["rule"]}'
    prov = dict(res.provenance)
    prov["config"] = {**dict(prov.get("config") or {}), "auto": dict(choice)}
    alignment = dataclasses.replace(res.alignment, provenance=prov)
    notes = [note, *res.info.get("notes", [])]
    return dataclasses.replace(
        res, alignment=alignment, provenance=prov, info={**res.info, "notes": notes}
    )


def solve(
    problem: DesignProblem,
    *,
    solver: str = "auto",
    time_limit: float = 60.0,
    seed: int = 0,
    backend: str = "highs",
    **kw: Any,
) -> AlignmentResult:
    """Solve a :class:`DesignProblem` with the chosen path.

    Parameters
    ----------
    problem
        The matrix-form problem.
    solver
        ``"auto"`` (see :func:`choose_solver`), ``"mip"`` (exact; p-median
        shaped problems use :func:`terrakit.design.pmedian.solve_pmedian`) or
        ``"heuristic"``.
    time_limit, seed, backend
        Passed to the solver; ``backend`` is the MIP backend (``"highs"``,
        ``"pulp-highs"``, ``"cbc"``, ``"cpsat"``).
    **kw
        Further keywords for :func:`terrakit.design.mip.solve_mip`, and
        ``max_iter``: an iteration budget for the heuristic path, the
        capacitated p-median path and the MIP's heuristic start and fallback,
        which makes their answers independent of machine speed and load (the
        time limit still applies; the uncapacitated p-median path ignores it).

    Returns
    -------
    AlignmentResult
        ``method`` says which path ran; ``seconds`` is the wall time of the
        whole call (with the MIP's heuristic fallback, both runs).

    Raises
    ------
    SpecificationError
        A bad run setting (``time_limit``, ``seed``, ``backend``,
        ``max_iter``, and the MIP's ``mip_gap`` outside ``[0, 1)`` or
        ``threads`` not a whole number ≥ 1), or ``solver="mip"`` for
        ``objective="diameter"`` (which the MIP does not model), before any
        work.
    TypeError
        A keyword that is neither a run setting nor one of
        :func:`~terrakit.design.mip.solve_mip`'s (the closest is named).

    Warns
    -----
    TerrakitWarning
        MIP keywords (``mip_gap``, ``threads``...) given while the chosen path
        (p-median, capacitated, heuristic) does not use them.
    """
    t0 = time.perf_counter()
    res = _solve_path(
        problem, solver=solver, time_limit=time_limit, seed=seed, backend=backend, **kw
    )
    wall = time.perf_counter() - t0
    return res if wall <= res.seconds else dataclasses.replace(res, seconds=wall)


def _solve_path(
    problem: DesignProblem,
    *,
    solver: str,
    time_limit: float,
    seed: int,
    backend: str,
    **kw: Any,
) -> AlignmentResult:
    """:func:`solve` without the timing: check the settings, run one path."""
    import inspect

    from terrakit._runargs import did_you_mean
    from terrakit.design.mip import solve_mip

    # the keywords of solve_mip beyond the run settings every path takes
    mip_only = [
        name
        for name, par in inspect.signature(solve_mip).parameters.items()
        if par.kind is inspect.Parameter.KEYWORD_ONLY
        and name not in ("time_limit", "seed", "backend", "max_iter")
    ]
    unknown = [k for k in kw if k != "max_iter" and k not in mip_only]
    if unknown:
        known = ["solver", "time_limit", "seed", "backend", "max_iter", *mip_only]
        raise TypeError(
            f"solve() got unknown keyword(s) {unknown}; it takes "
            f"{known}" + did_you_mean(unknown, known)
        )
    max_iter = kw.pop("max_iter", None)
    if solver not in ("auto", "mip", "heuristic"):
        raise ValueError(f"solver must be 'auto', 'mip' or 'heuristic', got {solver!r}")
    backend = _check_run(time_limit, seed, backend)
    time_limit = check_time_limit(time_limit)  # "60" -> 60.0, as checked
    _check_max_iter(max_iter)
    _check_mip_settings(kw)
    choice = _auto_choice(problem, time_limit) if solver == "auto" else None
    res = _run_path(
        problem,
        path=solver if choice is None else str(choice["path"]),
        time_limit=time_limit,
        seed=seed,
        backend=backend,
        max_iter=max_iter,
        **kw,
    )
    return res if choice is None else _record_auto(res, choice)


def _run_path(
    problem: DesignProblem,
    *,
    path: str,
    time_limit: float,
    seed: int,
    backend: str,
    max_iter: int | None,
    **kw: Any,
) -> AlignmentResult:
    """Run ``path`` (checked settings) on ``problem``."""
    from terrakit.design.capacitated import is_capacitated_pmedian, solve_capacitated
    from terrakit.design.mip import solve_mip
    from terrakit.design.pmedian import is_pmedian, solve_pmedian

    _refuse_mip_diameter(path, problem.objective)
    if path == "mip" and _draws_need_heuristic(problem):
        from terrakit.design.mip import DRAWS_NEED_FIXED_CENTERS

        raise SpecificationError(DRAWS_NEED_FIXED_CENTERS)
    if path == "mip" and is_pmedian(problem) and backend == "highs" and not kw:
        path = "pmedian"
    if (
        path == "mip"
        and is_capacitated_pmedian(problem)
        and backend == "highs"
        and not kw
    ):
        path = "capacitated"
    if kw and path != "mip":
        warnings.warn(
            f"{sorted(kw)} only apply to the MIP (solve_mip); the {path} path "
            'ignores them; pass solver="mip" to use them',
            TerrakitWarning,
            stacklevel=4,  # the caller of solve()
        )
    if path == "pmedian":
        return solve_pmedian(problem, time_limit=time_limit, seed=seed, backend=backend)
    if path == "capacitated":
        return solve_capacitated(
            problem,
            time_limit=time_limit,
            seed=seed,
            backend=backend,
            max_iter=max_iter,
        )
    if path == "heuristic":
        heur = _heuristic()
        if heur is None:
            raise SpecificationError(
                'solver="heuristic" needs terrakit.design.heuristic, which is not '
                'available; use solver="mip"'
            )
        problem.check()
        if max_iter is None:
            res = heur(problem, time_limit=time_limit, seed=seed)
        else:
            res = heur(problem, time_limit=time_limit, seed=seed, max_iter=max_iter)
        if res.status == "infeasible":
            _warn_not_met(res, time_limit)
        return res
    return solve_mip(
        problem,
        time_limit=time_limit,
        seed=seed,
        backend=backend,
        max_iter=max_iter,
        **kw,
    )


#: other spellings ``backend=`` accepts for the MIP backends of
#: :func:`terrakit.design.mip.solve_mip`
_BACKEND_ALIASES = {"cp-sat": "cpsat", "ortools": "cpsat", "or-tools": "cpsat"}


def _check_run(time_limit: Any, seed: Any, backend: Any) -> str:
    """Check the run settings before any work; return the backend's name."""
    check_time_limit(time_limit)
    check_seed(seed)
    from terrakit.design.mip import _METHOD

    key = str(backend).lower().replace("_", "-")
    name = key if key in _METHOD else _BACKEND_ALIASES.get(key)
    if name is None:
        raise SpecificationError(
            f"unknown MIP backend {backend!r}; choose 'highs' (default), "
            "'pulp-highs', 'cbc' or 'cpsat' (OR-Tools CP-SAT)"
        )
    return name


def _check_mip_settings(kw: Mapping[str, Any]) -> None:
    """The MIP's own numeric settings among ``kw``, checked before any work:
    ``mip_gap`` a finite relative gap in ``[0, 1)``, ``threads`` ``None`` or
    a whole number ≥ 1.  Bad values reached the solvers: a bare
    ``PulpSolverError`` (CBC), a false "no feasible alignment within the
    time limit" (CP-SAT), or silently ignored (HiGHS), and were recorded in
    the provenance as if used."""
    if "mip_gap" in kw:
        gap = kw["mip_gap"]
        number = isinstance(gap, int | float | np.integer | np.floating)
        if isinstance(gap, bool | np.bool_) or not (number and 0 <= gap < 1):
            raise SpecificationError(
                f"mip_gap must be a relative optimality gap in [0, 1), got {gap!r}; "
                "e.g. 0.01 stops within 1 % of the optimum, 0 asks for a proven "
                "optimum (the default is 1e-4)"
            )
    threads = kw.get("threads")
    if threads is not None and not is_count(threads):
        raise SpecificationError(
            f"threads must be a whole number of solver threads ≥ 1, got "
            f"{threads!r}; leave it None for the solver's default (CP-SAT: one "
            "worker, so that a fixed seed reproduces)"
        )


def _warn_not_met(res: AlignmentResult, time_limit: float) -> None:
    """The heuristic ended without a plan that meets every constraint: say so,
    with what the closest plan (returned, status ``"infeasible"``) breaks."""
    broken = list(res.info.get("violations", []))
    count = int(res.info.get("n_violations", len(broken)))
    more = f"; and {count - 3} more" if count > 3 else ""
    shown = "; ".join(broken[:3]) + more
    ran_out = res.seconds >= 0.9 * time_limit
    warnings.warn(
        f"the heuristic found no alignment that meets every constraint in "
        f"{res.seconds:.3g} s of its {time_limit:g} s (this is not a proof that none "
        f"exists); the closest plan, returned with status 'infeasible', breaks "
        f"{count} constraint{'s' if count != 1 else ''}: {shown}. Fix: "
        + ("raise time_limit, " if ran_out else "")
        + "widen the tolerance named, or, on a small problem, use solver='mip', "
        "which finds a plan or proves that none exists",
        TimeLimitWarning if ran_out else TerrakitWarning,
        stacklevel=4,  # the caller of solve()
    )


# -- the geo path -------------------------------------------------------------------
def _tables(study_or_units: Any, reps: pd.DataFrame | None) -> tuple[Any, Any]:
    """The units and reps tables of :func:`align`, checked at the door: units
    a GeoDataFrame with unique ids and at least one row, reps (when given) a
    DataFrame with unique rep ids."""
    import geopandas as gpd

    from terrakit.data.validation import check_unique_ids

    if hasattr(study_or_units, "unit_measures") and hasattr(study_or_units, "reps"):
        study = study_or_units
        units = study.unit_measures() if study.accounts is not None else study.units
        reps = study.reps if reps is None else reps
    else:
        if not isinstance(study_or_units, gpd.GeoDataFrame):
            raise DataValidationError(
                "units",
                None,
                "expected a Study or a units GeoDataFrame, got "
                f"{type(study_or_units).__name__}",
                fix="pass the Study, or units with polygons or points "
                "(tk.data.read_units(path), or geopandas.GeoDataFrame(..., "
                "geometry=...))",
            )
        units = study_or_units
        check_unique_ids(units, "units", "unit_id")
    if len(units) == 0:
        raise DataValidationError(
            "units",
            None,
            "the table has no rows: there is nothing to align",
            fix="pass the units to align (a filter that kept none, e.g. a "
            "region or state that matches no unit, gives an empty table)",
        )
    if reps is not None:
        if not isinstance(reps, pd.DataFrame):
            raise DataValidationError(
                "reps",
                None,
                f"expected a DataFrame, got {type(reps).__name__}",
                fix="pass a DataFrame indexed by rep_id with home_lon and home_lat "
                "(tk.data.read_reps(path)), or n_territories without reps",
            )
        # two rows of one rep would be two territories of one name
        check_unique_ids(reps, "reps", "rep_id")
    return units, reps


def _rep_homes(reps: pd.DataFrame, unit_ids: pd.Index) -> pd.DataFrame:
    """The reps table of one territory per rep, checked: at least one rep,
    ``home_lon`` and ``home_lat`` given for every rep in degrees, and every
    ``home_unit`` given a unit id (where empty, the unit containing or
    nearest to the home is used)."""
    from terrakit.data.study import _check_home_units
    from terrakit.data.validation import check_lonlat_values, require_columns

    if len(reps) == 0:
        raise DataValidationError(
            "reps",
            None,
            "the table has no rows: one territory per rep needs at least one rep",
            fix="pass the reps, or n_territories (without reps) to choose the "
            "centers among the units",
        )
    require_columns(
        reps,
        "reps",
        ["home_lon", "home_lat"],
        hint="each rep's territory is centred at the rep's home: give home_lon "
        "and home_lat in degrees (WGS84), or pass n_territories (without reps) "
        "to choose the centers among the units",
    )
    check_lonlat_values(
        pd.to_numeric(reps["home_lon"], errors="coerce").to_numpy(dtype=float),
        pd.to_numeric(reps["home_lat"], errors="coerce").to_numpy(dtype=float),
        "reps",
        ("home_lon", "home_lat"),
        reps.index,
    )
    if "home_unit" in reps.columns:
        reps = _check_home_units(reps, unit_ids)
    return reps


def _refuse_mip_diameter(solver: Any, objective: Any) -> None:
    """``solver="mip"`` with ``objective="diameter"``, refused before any
    work (the MIP does not model it; it used to be refused only after the
    MIP's heuristic start had run)."""
    if solver == "mip" and objective == "diameter":
        raise SpecificationError(
            'the MIP does not model objective="diameter"; use solver="heuristic" '
            '(solver="auto" runs it for this objective)'
        )


def _balance_columns(
    units: pd.DataFrame, balance: Any, default: Mapping[str, float]
) -> dict[str, Any]:
    """``balance`` (``None``: ``default``) as a dict ``{activity: tolerance}``
    whose every activity is a column of ``units``; a clear error otherwise."""
    if balance is not None and not isinstance(balance, Mapping):
        raise _balance_type_error(balance, default)
    out = dict(default if balance is None else balance)
    for a in out:
        if a not in units.columns:
            raise SpecificationError(
                f"balance on {a!r} requested but the units have no {a!r} column; "
                f"numeric columns (closest first): {_closest_numeric(units, a)}"
            )
    return out


def _balance_type_error(
    balance: Any, default: Mapping[str, float], also: str = ""
) -> SpecificationError:
    """The error for a ``balance`` that is no mapping ``{activity: tolerance}``
    (``also``: what else the caller takes)."""
    a, t = next(iter(default.items()))
    return SpecificationError(
        "balance must map each balanced activity to its tolerance, e.g. "
        f'{{"{a}": {t:g}}} for ±{100 * t:g} %{also}; got {balance!r}'
    )


def _closest_numeric(units: pd.DataFrame, name: Any) -> list[str]:
    """The units' numeric column names, the closest in spelling to ``name`` first."""
    cols = [str(c) for c in units.select_dtypes("number").columns]
    if not cols:
        return []
    return difflib.get_close_matches(str(name), cols, n=len(cols), cutoff=0.0)


def _split_keywords(kw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``align``'s extra keywords: those of :func:`build_problem`, and the
    MIP's own settings (keyword-only parameters of
    :func:`~terrakit.design.mip.solve_mip` that ``align`` does not take
    itself); anything else is a ``TypeError`` naming what is taken (it was
    "build_problem() got an unexpected keyword argument", a function the
    caller never called, even for ``threads``)."""
    import inspect

    from terrakit._runargs import did_you_mean
    from terrakit.design.mip import solve_mip

    own = set(inspect.signature(align).parameters)
    build = [
        n
        for n, p in inspect.signature(build_problem).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and n not in own
    ]
    mip = [
        n
        for n, p in inspect.signature(solve_mip).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and n not in own
    ]
    unknown = [k for k in kw if k not in build and k not in mip]
    if unknown:
        known = sorted(own - {"study_or_units", "reps", "kw"}) + build + mip
        raise TypeError(
            f"align() got unknown keyword(s) {unknown}; besides its own "
            f"parameters it takes build_problem's {build} and the MIP's {mip}"
            + did_you_mean(unknown, known)
        )
    return (
        {k: v for k, v in kw.items() if k in build},
        {k: v for k, v in kw.items() if k in mip},
    )


def _check_max_iter(max_iter: Any) -> None:
    """``max_iter`` is ``None`` or a whole number ≥ 1; a clear error otherwise."""
    if max_iter is not None and not is_count(max_iter):
        raise SpecificationError(
            f"max_iter must be a whole number ≥ 1, got {max_iter!r}; it is the "
            "heuristic's iteration budget (leave it None to stop on time_limit)"
        )


def _lock(uid: Any, spec: Any) -> tuple[Any, str]:
    """One ``locked`` entry as ``(territory, reason)``."""
    if not isinstance(spec, tuple):
        return spec, "locked"
    if len(spec) != 2:
        raise SpecificationError(
            f"locked unit {uid!r} is given {spec!r}; give {{unit: territory}} or "
            "{unit: (territory, reason)}"
        )
    return spec[0], str(spec[1])


def _home_units(
    units: Any,
    homes: np.ndarray,
    km: np.ndarray,
    given: np.ndarray | None = None,
) -> np.ndarray:
    """The unit of each home ``(lon, lat)``: the polygon containing it (the
    nearest of several that do), else the unit whose representative point is
    nearest (``km``: units × homes); ``given`` (unit positions, -1 where
    none) wins where set.

    Units tied for a home, the equal parts of a unit split by
    :func:`~terrakit.design.split_oversized` (one geometry, one location),
    are handed out to distinct homes in rep order, skipping the given ones:
    taking the first part for every rep living in the unit rooted two
    territories in one unit, which the design refuses.
    """
    import geopandas as gpd

    n_homes = km.shape[1]
    # per home, the units it may sit in: those containing it, else all
    cands: list[np.ndarray] = [np.arange(km.shape[0])] * n_homes
    geom = units.geometry
    if geom.crs is not None and not (geom.geom_type == "Point").all():
        pts = gpd.GeoSeries(
            gpd.points_from_xy(homes[:, 0], homes[:, 1]), crs="EPSG:4326"
        ).to_crs(geom.crs)
        home, unit = geom.sindex.query(pts, predicate="within")
        for j in np.unique(home):
            cands[j] = unit[home == j]
    fixed = np.full(n_homes, -1) if given is None else np.asarray(given)
    taken = set(fixed[fixed >= 0].tolist())
    out = fixed.copy()
    for j in range(n_homes):
        if out[j] >= 0:
            continue
        d = km[cands[j], j]
        # ties: equal distances (parts share their unit's point), in order
        tied = np.sort(cands[j][d <= d.min() + 1e-9])
        free = [int(u) for u in tied if int(u) not in taken]
        out[j] = free[0] if free else int(tied[0])
        taken.add(int(out[j]))
    return out


def _table_minutes(
    tm: Any, unit_ids: pd.Index, center_ids: tuple[Hashable, ...], fixed: bool
) -> np.ndarray:
    """Minutes from every unit to every center, looked up by id in the
    external table of a :meth:`~terrakit.data.geo.TravelTimeModel.from_matrix`
    model: rows are unit ids, columns rep ids (fixed centers) or the unit ids
    of the candidate centers (chosen centers: a unit × unit table).

    The model leaves its ``stop_minutes`` off a pair whose two ids are equal
    (one place).  That holds for a unit and the candidate center it hosts;
    with fixed centers rep ids are not unit ids, so a unit whose id equals a
    rep's (integer ids of both, as CRM exports have) is charged the stop
    like every other pair."""
    from terrakit.data.geo import _same_ids

    table: pd.DataFrame = tm.table
    dest = pd.Index(center_ids)
    need = "unit ids" if not fixed else "rep ids"
    for axis, ids, have in (
        ("rows", unit_ids, table.index),
        ("columns", dest, table.columns),
    ):
        miss = ids[~ids.isin(have)]
        if len(miss):
            what = "unit ids" if axis == "rows" else need
            shape = (
                "units × reps (rows: unit ids, columns: rep ids)"
                if fixed
                else "units × units (rows and columns: unit ids), since with "
                "chosen centers the candidate centers are units"
            )
            raise DataValidationError(
                "travel_model",
                "table",
                f"objective='travel' looks up the minutes from every unit to every "
                f"{'rep' if fixed else 'candidate center'} in the model's table "
                f"({table.shape[0]}×{table.shape[1]}); {len(miss)} {what} are "
                f"missing from its {axis}",
                rows=list(miss),
                fix=f"give TravelTimeModel.from_matrix a table of {shape}; check "
                "the id type ('13121' is not 13121)",
            )
    minutes = np.asarray(tm.matrix(unit_ids, dest), dtype=float)
    stop = float(getattr(tm, "stop_minutes", 0.0))
    if fixed and stop:
        minutes = minutes + np.where(_same_ids(unit_ids, dest), stop, 0.0)
    return minutes


def _check_routes(
    reach: np.ndarray,
    ids: np.ndarray,
    center_ids: tuple[Hashable, ...],
    fixed: bool,
    contiguity: bool,
    center_units: np.ndarray,
) -> None:
    """Units the travel table gives no route to any center, and (with
    contiguity and fixed centers) homes with no route to their own unit, are
    named; other unreachable pairs are simply not allowed."""
    what = "rep home" if fixed else "candidate center"
    none = np.flatnonzero(~reach.any(axis=1))
    if none.size:
        raise DataValidationError(
            "travel_model",
            "table",
            f"objective='travel': {none.size} units have no route (infinite "
            f"minutes) to any {what}",
            rows=[ids[i] for i in none],
            fix="give each unit finite minutes to at least one "
            + ("rep" if fixed else "candidate unit")
            + " (infinite minutes mean unreachable)",
        )
    if fixed and contiguity:
        cut = np.flatnonzero(~reach[center_units, np.arange(len(center_ids))])
        if cut.size:
            j = int(cut[0])
            raise DataValidationError(
                "travel_model",
                "table",
                f"rep {_rid(center_ids[j])} has no route (infinite minutes) to "
                f"its own home unit {_rid(ids[int(center_units[j])])}, which with "
                "contiguity its territory must hold",
                rows=[center_ids[int(c)] for c in cut],
                fix="give the minutes from each rep's home unit to the rep, or set "
                "contiguity=False",
            )


def _check_max_distance(max_distance_km: Any) -> float | None:
    """``max_distance_km`` as positive km (``None``: no limit), or a
    :class:`SpecificationError` (text such as ``"200"`` too: give a number)."""
    if max_distance_km is None:
        return None
    km = (
        math.nan
        if isinstance(max_distance_km, bool | str | bytes)
        else as_number(max_distance_km)
    )
    if not km > 0:  # NaN (text, None inside...) fails too; inf: no limit
        raise SpecificationError(
            f"max_distance_km must be a positive distance in km (a number such as "
            f"200), got {max_distance_km!r}; None means no limit"
        )
    return km


def _check_contiguity(contiguity: Any) -> bool:
    """``contiguity`` as a bool; anything but ``True`` or ``False`` is a
    :class:`SpecificationError` (``bool("no")`` is ``True``: text from a
    config file would switch contiguity on in silence, ``None`` off)."""
    return check_flag(
        contiguity,
        "contiguity",
        "True keeps every territory one connected piece of the unit adjacency, "
        "False lets territories come in pieces",
    )


def _check_travel_model(travel_model: Any) -> None:
    """``travel_model`` is ``None`` or a :class:`~terrakit.data.geo.TravelTimeModel`;
    a :class:`SpecificationError` otherwise (``"car"`` ended in an
    ``AttributeError`` deep in the build)."""
    from terrakit.data.geo import TravelTimeModel

    if travel_model is not None and not isinstance(travel_model, TravelTimeModel):
        raise SpecificationError(
            "travel_model must be a terrakit.data.geo.TravelTimeModel, got "
            f"{type(travel_model).__name__} {reprlib.repr(travel_model)}; pass "
            "TravelTimeModel() (minutes from km, e.g. TravelTimeModel(speed_kmh"
            "=40) for urban territories) or TravelTimeModel.from_matrix(minutes) "
            "for a table of minutes (rows unit ids, columns rep ids)"
        )


def _candidate_list(candidates: Any) -> list[Hashable] | None:
    """``candidates`` as a list of ids (an iterator is read once), ``None``
    as is; a :class:`SpecificationError` for what is no collection of unit
    ids (a number, text, which ``list`` would split into characters, a
    mapping or a table, which would give their keys or column names)."""
    if candidates is None:
        return None
    if (
        isinstance(candidates, str | bytes | Mapping | pd.DataFrame)
        or not isinstance(candidates, Iterable)
        or (isinstance(candidates, np.ndarray) and candidates.ndim != 1)
    ):
        raise SpecificationError(
            "candidates must be a list of the unit ids that may host a center "
            "(e.g. candidates=['u1', 'u6', 'u11'] or a pandas Index of unit ids), "
            f"got {type(candidates).__name__} {reprlib.repr(candidates)}; leave "
            "it None to let every unit host one"
        )
    return list(candidates)


def build_problem(
    study_or_units: Any,
    reps: pd.DataFrame | None = None,
    *,
    n_territories: int | None = None,
    balance: Mapping[str, float] | None = None,
    targets: Mapping[Hashable, float] | Sequence[float] | None = None,
    contiguity: bool = True,
    objective: Objective = "compactness",
    locked: Mapping[Hashable, Any] | None = None,
    max_distance_km: float | None = None,
    balance_on_draws: np.ndarray | None = None,
    draws_share: float = 0.9,
    draws_tolerance: float | None = None,
    weight: str | None = None,
    travel_model: Any = None,
    adjacency: Any = None,
    candidates: Sequence[Hashable] | None = None,
) -> DesignProblem:
    """The :class:`DesignProblem` of a Study (see :func:`align` for the parameters).

    Costs: ``objective="compactness"``: ``w_i · d_ij²`` with ``d`` the
    great-circle km from the unit's representative point to the center and
    ``w`` the ``weight`` column (default: the first balanced activity);
    ``"travel"``: ``w_i · minutes_ij`` from the travel-time model
    (``travel_model``, default :class:`~terrakit.data.geo.TravelTimeModel`
    ()), its ``stop_minutes`` on every pair but a unit to the center it hosts
    (a point to itself; chosen centers), for a formula or a table model
    alike; a model built with ``TravelTimeModel.from_matrix`` is looked up by
    id: rows unit ids, columns rep ids (fixed centers) or unit ids (chosen
    centers: a unit × unit table), a :class:`DataValidationError` naming the
    missing ids otherwise.
    Centers: the reps' homes (``home_lon``/``home_lat``; the rep's
    ``home_unit`` where given, else the unit containing or nearest to the
    home, is the center's root) when ``n_territories`` is
    ``None`` or the number of reps; otherwise ``n_territories`` centers
    chosen among the units (all of them, or the ``candidates``).

    ``adjacency``: an :class:`~terrakit.data.geo.Adjacency` over the units'
    ids (e.g. with island links from ``Adjacency.with_links``) used instead
    of the one computed from the geometry.  ``candidates``: unit ids that may
    host a chosen center (default: every unit).  Chosen centers need an
    ``n × m`` cost matrix; above :data:`MAX_CHOOSE_CELLS` cells a
    :class:`SpecificationError` asks for ``candidates`` instead of
    allocating it.
    """
    from terrakit.data import geo
    from terrakit.data.validation import check_measures

    units, reps = _tables(study_or_units, reps)
    contiguity = _check_contiguity(contiguity)
    balance = _balance_columns(units, balance, {"workload": 0.03})
    if targets is not None and not balance and balance_on_draws is None:
        # targets move the bands' midpoints; with no band they change nothing
        raise SpecificationError(
            "targets shape the balance bands, but balance={} balances no "
            "activity, so they would change nothing; give balance={...} (e.g. "
            '{"workload": 0.05}: each territory within ±5 % of its target share) '
            "or drop targets"
        )
    max_km = _check_max_distance(max_distance_km)
    geo.require_adjacency(adjacency)
    _check_travel_model(travel_model)
    candidates = _candidate_list(candidates)
    if travel_model is not None and objective != "travel":
        warnings.warn(
            f"travel_model is used only with objective='travel'; with "
            f"objective={objective!r} it is ignored (pass objective='travel' to "
            "minimise travel minutes, or drop travel_model)",
            TerrakitWarning,
            stacklevel=3,
        )
    # the settings of the balance on draws, checked before any work
    draws_share = _check_draws_share(draws_share)
    if draws_tolerance is not None:
        draws_tolerance = _check_draws_tolerance(draws_tolerance)
    if balance_on_draws is None and (draws_tolerance is not None or draws_share != 0.9):
        given = [
            f"{name}={value:g}"
            for name, value, default in (
                ("draws_tolerance", draws_tolerance, None),
                ("draws_share", draws_share, 0.9),
            )
            if value is not None and value != default
        ]
        warnings.warn(
            f"{' and '.join(given)} set the band of the balance on draws; without "
            "balance_on_draws there is none and they are ignored (pass "
            "balance_on_draws=draws, e.g. posterior draws of potential, or drop "
            "them)",
            TerrakitWarning,
            stacklevel=3,
        )
    if weight is not None and weight not in units.columns:
        raise SpecificationError(
            f"weight={weight!r} is not a column of the units; numeric columns "
            f"(closest first): {_closest_numeric(units, weight)}; leave weight "
            "None to weight by the first balanced activity"
        )
    wname = weight if weight is not None else next(iter(balance), None)
    summed = [
        *balance,
        *([wname] if wname is not None and wname in units.columns else []),
    ]
    units = check_measures(units, "units", dict.fromkeys(summed))
    n = len(units)
    ids = np.asarray(units.index)
    lon, lat = geo.lonlat(units)
    pts = np.column_stack([lon, lat])
    acts = {a: units[a].to_numpy(dtype=float) for a in balance}
    w = (
        units[wname].to_numpy(dtype=float)
        if wname is not None and wname in units.columns
        else np.ones(n)
    )
    if wname is not None and wname in units.columns and wname not in acts:
        acts[wname] = w
    if n_territories is not None and not is_count(n_territories):
        raise SpecificationError(
            "n_territories must be a whole number of territories (1 or more), got "
            f"{n_territories!r}; leave it None for one territory per rep"
        )
    fixed = reps is not None and (n_territories is None or n_territories == len(reps))
    if not fixed and n_territories is None:
        raise SpecificationError(
            "give reps (one territory per rep) or n_territories (centers are then "
            "chosen among the units)"
        )
    if fixed and candidates is not None and n_territories is not None:
        assert reps is not None
        raise SpecificationError(
            f"n_territories={n_territories} equals the number of reps "
            f"({len(reps)}), which means one territory per rep, centered at the "
            "reps' homes: candidates= has no centers to pick; to choose "
            f"{n_territories} centers among the candidates, pass the units table "
            "without reps, e.g. align(study.unit_measures(), n_territories="
            f"{n_territories}, candidates=[...])"
        )
    if fixed and candidates is not None:
        raise SpecificationError(
            "candidates= picks chosen centers; with one territory per rep the "
            "centers are the reps' homes, so drop candidates or pass n_territories"
        )
    if fixed:
        assert reps is not None
        reps = _rep_homes(reps, pd.Index(units.index))
        hp = reps[["home_lon", "home_lat"]].apply(pd.to_numeric).to_numpy(float)
        km = geo.haversine_matrix(lon, lat, hp[:, 0], hp[:, 1])
        k = len(reps)
        given_pos = np.full(len(reps), -1)
        if "home_unit" in reps.columns:
            # a rep's home_unit, where given (a unit id, checked above), roots
            # its territory; the others are located from the home
            given = reps["home_unit"].notna().to_numpy()
            pos = pd.Index(units.index).get_indexer(reps["home_unit"][given])
            given_pos[given] = pos
        center_units = _home_units(units, hp, km, given_pos)
        center_ids: tuple[Hashable, ...] = tuple(reps.index)
        tids: tuple[Hashable, ...] = center_ids
        mode: Literal["fixed", "choose"] = "fixed"
        centers_pts = hp
    else:
        assert n_territories is not None
        k = int(n_territories)
        if candidates is None:
            center_units = np.arange(n)
        else:
            center_units = pd.Index(units.index).get_indexer(candidates)
            if (center_units < 0).any():
                pairs = zip(candidates, center_units, strict=True)
                bad = [c for c, p in pairs if p < 0][:5]
                raise SpecificationError(
                    f"candidates {bad} are not unit ids; pick centers among the units"
                )
            if len(np.unique(center_units)) < len(center_units):
                seen = pd.Series(list(candidates))
                twice = list(dict.fromkeys(seen[seen.duplicated()].tolist()))[:5]
                raise SpecificationError(
                    f"candidates list {twice} more than once; give each candidate "
                    "unit once"
                )
            if len(center_units) < k:
                raise SpecificationError(
                    f"{len(center_units)} candidates for {k} territories: give at "
                    f"least {k} candidate units (one center each)"
                )
        if n * len(center_units) > MAX_CHOOSE_CELLS:
            raise SpecificationError(
                f"choosing {k} centers among {len(center_units)} candidates for {n} "
                f"units needs {n} × {len(center_units)} cost matrices "
                f"({8 * n * len(center_units) / 2**30:.1f} GiB each); pass "
                f"candidates= (at most {MAX_CHOOSE_CELLS // max(n, 1)} unit ids) or "
                "reps with fixed homes"
            )
        km = geo.haversine_matrix(lon, lat, lon[center_units], lat[center_units])
        center_ids = tuple(ids[center_units].tolist())
        tids = tuple(f"T{t + 1:02d}" for t in range(k))
        mode = "choose"
        centers_pts = pts[center_units]
    if objective == "travel":
        tm = travel_model or geo.TravelTimeModel()
        if getattr(tm, "table", None) is None:
            minutes = np.asarray(tm.matrix(pts, centers_pts), dtype=float)
        else:
            minutes = _table_minutes(tm, pd.Index(units.index), center_ids, fixed)
        # a unit to the center it hosts is a point to itself: the model
        # leaves the stop off (same lon/lat, or the same id in a unit × unit
        # table)
        cost = w[:, None] * minutes
    else:
        cost = w[:, None] * km**2
    # pairs with no route (infinite minutes in a travel table, which
    # TravelTimeModel.from_matrix takes for unreachable) are forbidden pairs
    reach = np.isfinite(cost)
    if not reach.all():
        _check_routes(reach, ids, center_ids, fixed, contiguity, center_units)
        cost = np.where(reach, cost, 0.0)
    allowed = None if max_km is None else km <= max_km
    if allowed is not None and not allowed.any(axis=1).all():
        # units beyond the limit from every center: name them, with the km
        near = km.min(axis=1)
        far = np.flatnonzero(~allowed.any(axis=1))
        far = far[np.argsort(-near[far])]
        shown = ", ".join(
            f"{_rid(units.index[i])} {near[i]:.1f} km" for i in far[:5]
        ) + (f" and {far.size - 5} more" if far.size > 5 else "")
        raise SpecificationError(
            f"max_distance_km={max_km:g} leaves {far.size} units "
            f"beyond every {'rep home' if fixed else 'candidate center'} (nearest: "
            f"{shown}); raise max_distance_km to at least {near.max():.1f} or "
            + ("add reps near them" if fixed else "add candidates near them")
        )
    unit_km = None
    if objective == "diameter":
        if n * n > MAX_CHOOSE_CELLS:
            raise SpecificationError(
                f'objective="diameter" needs the {n} × {n} matrix of km between '
                f"units ({8 * n * n / 2**30:.1f} GiB); above "
                f"{math.isqrt(MAX_CHOOSE_CELLS)} units use "
                'objective="compactness", which keeps territories round as well'
            )
        unit_km = geo.haversine_matrix(lon, lat, lon, lat)
    adj_matrix = None
    # the diameter search moves units along the graph even without contiguity
    if contiguity or objective in ("cut_edges", "diameter"):
        if adjacency is None:
            adj_matrix = geo.adjacency(units, warn=False).matrix
        else:
            adj_matrix = adjacency.subgraph(units.index).matrix
    tg = None if targets is None else _target_shares(targets, tids, reps, fixed)
    lock_cols: dict[int, int] = {}
    reasons: dict[int, str] = {}
    index = pd.Index(units.index)
    if locked is not None and not isinstance(locked, Mapping):
        raise SpecificationError(
            f"locked must map unit ids to territories, got {locked!r}; give "
            "{unit: territory} or {unit: (territory, reason)}"
        )
    for uid, spec in (locked or {}).items():
        terr, reason = _lock(uid, spec)
        pos = index.get_indexer([uid])[0]
        if pos < 0:
            raise SpecificationError(
                f"locked unit {uid!r} is not among the units"
                + id_hint(uid, list(index), "unit")
            )
        if terr not in center_ids:
            what = (
                "a rep id"
                if fixed
                else "the unit id of a candidate center: with chosen centers "
                "a lock names the unit that hosts the center"
            )
            raise SpecificationError(
                f"unit {uid!r} is locked to {terr!r}, which is not a center; "
                f"give {what}" + id_hint(terr, list(center_ids), "center")
            )
        j = center_ids.index(terr)
        if allowed is not None and not allowed[pos, j]:
            raise SpecificationError(
                f"unit {uid!r} is locked to {terr!r} beyond the maximum distance: "
                f"it lies {km[pos, j]:.1f} km from "
                f"{'the home of' if fixed else 'the center in unit'} {terr!r}, "
                f"above max_distance_km={max_km:g}; "
                f"raise max_distance_km to at least {km[pos, j]:.1f} or unlock it"
            )
        if not reach[pos, j]:
            raise SpecificationError(
                f"unit {uid!r} is locked to {terr!r}, but the travel table has no "
                f"route between them (infinite minutes); give the pair finite "
                "minutes or unlock it"
            )
        lock_cols[int(pos)] = j
        reasons[int(pos)] = reason
    if fixed and contiguity and allowed is not None:
        # each rep's root (home) unit must be in its territory
        far_root = np.flatnonzero(~allowed[center_units, np.arange(k)])
        if far_root.size:
            j = int(far_root[0])
            i = int(center_units[j])
            rep = center_ids[j]
            raise SpecificationError(
                f"the home unit {_rid(ids[i])} of rep {_rid(rep)} (the root of its "
                f"territory, which with contiguity it must hold) lies "
                f"{km[i, j]:.1f} km from the home of {_rid(rep)}, beyond "
                f"max_distance_km={max_km:g}; "
                f"raise max_distance_km to at least {km[i, j]:.1f}, move the "
                f"home_unit of {_rid(rep)}, or set contiguity=False"
            )
    draws = None
    dtol = None
    if balance_on_draws is not None:
        draws = draws_by_unit(balance_on_draws, units.index)
        dtol = draws_tolerance
        if dtol is None:
            dtol = balance.get("potential", max(balance.values(), default=0.05))
    return DesignProblem(
        unit_ids=ids,
        activities=acts,
        n_territories=k,
        cost=cost,
        tolerance=balance,
        targets=tg,
        center_mode=mode,
        center_units=center_units,
        center_ids=center_ids,
        territory_ids=tids,
        adjacency=adj_matrix,
        contiguity=bool(contiguity),
        locked=lock_cols,
        lock_reasons=reasons,
        allowed=allowed
        if reach.all()
        else (reach if allowed is None else allowed & reach),
        objective=objective,
        unit_distance=unit_km,
        coords=pts,
        draws=draws,
        draws_tolerance=dtol,
        draws_share=draws_share,
        name="study",
    )


def align(
    study_or_units: Any,
    reps: pd.DataFrame | None = None,
    *,
    n_territories: int | None = None,
    balance: Mapping[str, float] | None = None,
    targets: Mapping[Hashable, float] | Sequence[float] | None = None,
    contiguity: bool = True,
    objective: Objective = "compactness",
    locked: Mapping[Hashable, Any] | None = None,
    max_distance_km: float | None = None,
    balance_on_draws: np.ndarray | None = None,
    draws_share: float = 0.9,
    time_limit: float = 60,
    seed: int = 0,
    solver: Solver = "auto",
    backend: str = "highs",
    progress: bool = False,
    max_iter: int | None = None,
    **kw: Any,
) -> AlignmentResult:
    """Design balanced, compact (optionally contiguous) territories.

    Parameters
    ----------
    study_or_units
        A :class:`~terrakit.data.Study` (units with activity columns, reps
        with homes) or a units GeoDataFrame (then pass ``reps`` or
        ``n_territories``).
    reps
        Reps table (index ``rep_id``, unique; ``home_lon``, ``home_lat`` in
        degrees; optional ``home_unit``, the unit id that roots the rep's
        territory, where empty the unit containing or nearest the home);
        default: the study's.
    n_territories
        ``None``: one territory per rep, centered at the rep's home.  A number
        different from the number of reps: centers chosen among the units.
    balance
        ``{activity: τ}`` hard bands ``±τ`` of the mean (or target), several
        at once (default ``{"workload": 0.03}``).
    targets
        Per-territory shares summing to 1: keyed by territory (a mapping
        ``{rep_id: share}`` or a pandas Series indexed by rep id, e.g.
        ``reps["fte"] / reps["fte"].sum()``; matched by key, every territory
        once), or a list / array in the territories' order.  With chosen
        centers the territories are ``T01``, ``T02``...  Targets move the
        bands' midpoints, so they need a balanced activity (``balance`` not
        empty, or ``balance_on_draws``): with neither they are refused.
    contiguity
        ``True``: every territory one connected piece of the unit adjacency;
        islands raise :class:`SpecificationError` before solving.  Anything
        but ``True`` or ``False`` (text such as ``"no"``, ``None``) is refused.
    objective
        ``"compactness"`` (activity-weighted squared km to the center),
        ``"travel"`` (activity-weighted travel minutes from ``travel_model``;
        a ``TravelTimeModel.from_matrix`` table is looked up by unit and rep
        ids, or unit × unit with chosen centers), ``"cut_edges"``
        (adjacent units in different territories) or ``"diameter"`` (the
        largest km between two units of one territory, minimised; the
        heuristic path).
    locked
        ``{unit_id: territory}`` or ``{unit_id: (territory, reason)}``; reasons
        are kept in the provenance.  The territory is a rep id with one
        territory per rep; with chosen centers (``n_territories``) it is the
        unit id of a candidate center: the unit joins the territory centered
        there, so that center is chosen.  Ids are matched exactly
        (``13121`` is not ``"13121"``).
    max_distance_km
        Units farther than this from a center cannot join it.
    balance_on_draws
        ``units × draws`` (e.g. posterior draws of potential): an array in
        the units' order, or a DataFrame / DataArray indexed by unit id: the band
        (``draws_tolerance``; by default ``balance["potential"]``, else the
        widest tolerance, else ±5 % when ``balance`` is empty) must hold in at
        least ``draws_share`` of draws; per-territory intervals are reported in
        ``result.intervals``.  The share is joint: a draw counts when every
        territory is within the band in that draw
        (``result.info["draws_met"]`` of ``result.info["draws_needed"]``).
        The exact MIP enforces every draw; the heuristic enforces the band as
        a hard band in a subset of at most 200 draws at a time (the draws its
        plans come closest to breaking), checks the plan on all draws and, if
        the share is not met, adds the broken draws and solves again while
        time allows.  At least one draw; a plain array must be
        ``(n_units, n_draws)``.  With chosen centers (``n_territories``) only
        the heuristic balances on draws: ``solver="auto"`` runs it (a note in
        ``result.info["notes"]`` says so) and ``solver="mip"`` raises
        :class:`SpecificationError`.
    draws_share
        Share of draws in which the band must hold, a number in ``(0, 1]``.
    time_limit, seed
        Seconds and random seed.
    solver
        ``"auto"`` (see :func:`choose_solver`), ``"mip"`` or ``"heuristic"``.
    backend
        MIP backend: ``"highs"`` (default), ``"pulp-highs"``, ``"cbc"``,
        ``"cpsat"``.  CP-SAT runs one worker, so a fixed ``seed`` gives the
        same answer every run (when it ends before the time limit);
        ``threads=n`` runs its parallel portfolio of ``n`` workers, faster on
        hard problems but not reproducible.
    progress
        Print what is being done.
    max_iter
        Iteration budget of the heuristic path, a whole number ≥ 1: with it,
        the answer no longer depends on machine speed or load, only on
        ``seed``, as long as the time limit does not stop a run before its
        budget (then the status is ``"time_limit"``, with a
        :class:`TimeLimitWarning`).  The MIP path gives it to its heuristic
        start and fallback (a MIP stopped by its time limit may still depend on
        timing). The capacitated p-median path uses it for its searches and
        its Lagrangian bound; the uncapacitated p-median path ignores it.
    **kw
        Passed to :func:`build_problem` (``weight``, a numeric column of the
        units; ``travel_model``; ``draws_tolerance``, the ``±`` band of
        ``balance_on_draws``, a number in ``[0, 1)`` (default: see
        ``balance_on_draws``); ``adjacency``,
        ``candidates``), or, for the MIP's own settings (``threads``,
        ``mip_gap``, ``contiguity_method`` ...), to
        :func:`terrakit.design.mip.solve_mip` through :func:`solve`.  Any
        other keyword is a ``TypeError`` that lists the ones taken.

    Returns
    -------
    AlignmentResult
        ``seconds`` is the wall time of the whole call (geography, model
        build and every solver run).  ``provenance["config"]`` holds the
        settings as the caller gave them (``time_limit``, ``solver``,
        ``backend``...); the settings the chosen path ran with (e.g. the
        share of the time a heuristic fallback got) are kept apart in
        ``provenance["config"]["solver_config"]``.  A table travel model is
        recorded as ``{"kind": "table", "shape", "sha256", "stop_minutes"}``
        (a formula model by its ``repr``), a given ``adjacency`` by its kind
        and ``adjacency_edges`` (``n_edges`` and a ``sha256`` of its edges);
        ``draws_tolerance`` and ``draws_share`` only with
        ``balance_on_draws`` (without it they are ignored, with a
        :class:`TerrakitWarning`).

        The heuristic path cannot prove infeasibility: when it ends without
        an alignment that meets every constraint, it returns its closest plan
        with status ``"infeasible"`` (``info["violations"]`` and
        :meth:`~AlignmentResult.summary` list what it breaks) and warns.

    Raises
    ------
    DataValidationError
        A units table that is empty or has repeated ids; a reps table with
        repeated rep ids, no rows, a missing or bad home (``home_lon``,
        ``home_lat``) or a ``home_unit`` that is not a unit.
    SpecificationError
        An impossible specification, explained with the numbers (also
        ``objective="diameter"`` with ``solver="mip"``, which the MIP does
        not model, before any work).
    InfeasibleError
        The solver proved that no alignment meets the bands.

    Warns
    -----
    TimeLimitWarning
        A solver stopped at its time limit (its best answer comes back), the
        heuristic's time ran out before a plan met every constraint, or the
        time limit stopped the heuristic before its ``max_iter`` budget.
    TerrakitWarning
        The heuristic stopped early without a plan that meets every
        constraint; ``travel_model`` without ``objective="travel"``, or
        ``draws_tolerance`` / ``draws_share`` without ``balance_on_draws``
        (ignored).

    Examples
    --------
    >>> res = align(study, balance={"workload": 0.05}, time_limit=10)  # doctest: +SKIP
    >>> res.status, res.gap  # doctest: +SKIP
    ('optimal', 0.0)
    """
    t0 = time.perf_counter()
    _check_max_iter(max_iter)
    time_limit = check_time_limit(time_limit)  # "60" -> 60.0, as checked
    kw, mip_kw = _split_keywords(kw)
    _check_contiguity(contiguity)
    _check_travel_model(kw.get("travel_model"))
    if "candidates" in kw:
        # read once: an iterator given here is consumed by build_problem, and
        # the provenance below records the same candidates
        kw["candidates"] = _candidate_list(kw["candidates"])
    _check_mip_settings(mip_kw)  # before the problem is built
    _refuse_mip_diameter(solver, objective)
    units, reps = _tables(study_or_units, reps)
    problem = build_problem(
        units,
        reps,
        n_territories=n_territories,
        balance=balance,
        targets=targets,
        contiguity=contiguity,
        objective=objective,
        locked=locked,
        max_distance_km=max_distance_km,
        balance_on_draws=balance_on_draws,
        draws_share=draws_share,
        **kw,
    )
    if progress:
        path = choose_solver(problem, time_limit) if solver == "auto" else solver
        print(
            f"terrakit.design: {problem.n_units} units, {problem.n_territories} "
            f"territories, path {path}",
            flush=True,
        )
    res = solve(
        problem,
        solver=solver,
        time_limit=time_limit,
        seed=seed,
        backend=backend,
        **({} if max_iter is None else {"max_iter": max_iter}),
        **mip_kw,
    )
    if progress:
        print(f"terrakit.design: {res.status} in {res.seconds:.1f} s", flush=True)
    spec = {
        "balance": {str(a): float(t) for a, t in problem.tolerance.items()},
        "n_territories": problem.n_territories,
        "centers": "reps" if problem.center_mode == "fixed" else "chosen",
        "contiguity": bool(contiguity),
        "objective": objective,
        # the shares keyed by territory (a Series or dict is matched by key)
        "targets": None
        if problem.targets is None
        else {
            str(t): float(v)
            for t, v in zip(problem.territory_ids or (), problem.targets, strict=True)
        },
        "locked": {
            str(problem.unit_ids[i]): str(problem.center_ids[j])  # type: ignore[index]
            for i, j in problem.locked.items()
        },
        "max_distance_km": _check_max_distance(max_distance_km),
        "adjacency": None
        if problem.adjacency is None
        else str(getattr(kw.get("adjacency"), "kind", "queen")),
        # a given graph (links, snapping...) is more than its kind: its edges
        "adjacency_edges": None
        if kw.get("adjacency") is None
        else {
            "n_edges": kw["adjacency"].n_edges,
            "sha256": kw["adjacency"].edge_hash(),
        },
        "draws_share": draws_share if balance_on_draws is not None else None,
        "solver": solver,
        "backend": backend,
        "time_limit": time_limit,
        "max_iter": max_iter,
        # the MIP's own settings given to align (scalars; a start is a plan)
        "mip": {
            k: (v if isinstance(v, (bool, int, float, str)) or v is None else "given")
            for k, v in mip_kw.items()
        }
        or None,
        # the build_problem settings that change the answer
        "weight": kw.get("weight"),
        # recorded only where it was used (build_problem warns otherwise)
        "draws_tolerance": None
        if kw.get("draws_tolerance") is None or balance_on_draws is None
        else _check_draws_tolerance(kw["draws_tolerance"]),
        "candidates": None
        if kw.get("candidates") is None
        else [str(c) for c in kw["candidates"]],
        # recorded only where it was used (build_problem warns otherwise)
        "travel_model": None
        if kw.get("travel_model") is None or objective != "travel"
        else kw["travel_model"].record(),
    }
    prov = dict(res.provenance)
    # the caller's settings win; the settings the path ran with (a fallback's
    # share of the time, the MIP gap...) are kept apart under "solver_config"
    prov["config"] = {**spec, "solver_config": dict(prov.get("config") or {})}
    alignment = Alignment(
        res.alignment.assignment, name=res.alignment.name, provenance=prov
    )
    return dataclasses.replace(
        res,
        alignment=alignment,
        provenance=prov,
        units=units,
        seconds=time.perf_counter() - t0,
    )


def _tolerance_list(values: Any, name: str) -> list[Any]:
    """``values`` as a list when it is a collection of tolerances, else a
    :class:`SpecificationError` (text such as ``"0.05"`` would be split into
    characters, a single number or ``None`` is no list).  Shared by
    :func:`pareto` and :func:`terrakit.realign.disruption_front`."""
    if (
        isinstance(values, str | bytes | Mapping)
        or not isinstance(values, Iterable)
        or (isinstance(values, np.ndarray) and values.ndim != 1)
    ):
        raise SpecificationError(
            f"{name} must be a list of balance tolerances such as "
            f"[0.2, 0.1, 0.05], got {values!r}"
        )
    return list(values)


def _proved(err: Exception) -> bool:
    """Whether a failed point of :func:`pareto` is proven impossible: a
    pre-solve :class:`SpecificationError` or a solver's proof, not a search
    that found no plan in the time (whose message says it is no proof)."""
    text = str(err)
    return isinstance(err, SpecificationError) or not (
        "not a proof" in text or "did not prove" in text
    )


def _adopt_tighter_plans(rows: list[dict[str, Any]]) -> None:
    """Give each tolerance the best plan of any tighter one when its own run
    is worse or found none: a plan within ``±τ`` is within every looser band
    too.  The adopted plan keeps its objective and deviation, takes the
    looser point's own lower bound (its gap recomputed; NaN without one) and
    records its tolerance in ``from_tolerance``."""
    order = sorted(rows, key=lambda r: r["value"])  # tightest first
    sources = tighter_plan_sources([r["objective"] for r in order])
    for row, src in zip(order, sources, strict=True):
        if src is None:
            continue
        best = order[src]
        own = math.isfinite(row["objective"])
        lb = row["lower_bound"] if own else math.nan
        gap = relative_gap(best["objective"], lb) if math.isfinite(lb) else math.nan
        row.update(
            objective=best["objective"],
            max_deviation=best["max_deviation"],
            gap=gap,
            status="optimal" if gap <= 1e-4 else "feasible",
            reason="",
            from_tolerance=best["value"],
        )


def pareto(
    study: Any,
    vary: Literal["tolerance"] = "tolerance",
    values: Sequence[float] = (0.01, 0.02, 0.03, 0.05, 0.1),
    **align_kwargs: Any,
) -> pd.DataFrame:
    """Compactness against balance tolerance: one :func:`align` per value.

    Parameters
    ----------
    study
        As for :func:`align`.
    vary
        ``"tolerance"``: every balanced activity gets the value as ``τ``.
    values
        The tolerances to try.
    **align_kwargs
        Passed to :func:`align`.  ``balance`` names the activities whose
        tolerance is varied: a mapping (its tolerances are replaced by each
        value) or a list of activity names (default ``["workload"]``).

    Returns
    -------
    pandas.DataFrame
        ``value, objective, lower_bound, max_deviation, status, gap, reason,
        from_tolerance``: a tolerance proven impossible (a
        :class:`SpecificationError`, or a solver's proof) gets status
        ``"infeasible"``, NaNs and the reason (the numbers of the error); one
        whose search found no plan in its bands, without a proof, gets
        ``"not_found"`` likewise.  A plan within a tighter tolerance is
        within every looser one, so a tolerance whose own run found none or
        a worse one takes the best plan of the tighter tolerances:
        ``from_tolerance`` says whose plan a row holds (its own value
        otherwise, NaN for a failed row), the row keeps its own lower bound
        (the gap recomputed; NaN when its run gave none) and its status is
        ``"optimal"`` or ``"feasible"`` by that gap.  The objective never
        rises as the tolerance loosens.  Plot with
        :func:`terrakit.plot.plot_pareto` (``tk.plot.pareto(front)``).

    Raises
    ------
    SpecificationError
        ``values`` that is no list of numbers (text, a single number,
        ``None``), a value outside ``[0, 1)``, a ``balance`` that is neither
        a mapping nor a list of activity names, or when every value fails for
        the same reason (then the reason is not the tolerance: e.g. a misspelt
        column).
    """
    if vary != "tolerance":
        raise ValueError(
            f"vary must be 'tolerance', got {vary!r}; for the business moved "
            "against the tolerance of a realignment use "
            "tk.realign.disruption_front(study, current, tolerances=[...])"
        )
    values = _tolerance_list(values, "values")
    bad = [v for v in values if not 0.0 <= as_number(v) < 1.0 or isinstance(v, bool)]
    if not values or bad:
        raise SpecificationError(
            "pareto needs tolerances in [0, 1) (0.03 is ±3 %), got "
            f"{bad if bad else 'none'}"
        )
    given = align_kwargs.pop("balance", None)
    if isinstance(given, list | tuple):
        # the activities' names are enough: every tolerance is set to the value
        try:
            given = dict.fromkeys(given, 0.0)
        except TypeError:  # an unhashable name: refused below
            pass
    if given is not None and not isinstance(given, Mapping):
        raise _balance_type_error(
            given,
            {"workload": 0.03},
            also=" (pareto replaces every tolerance with each value, so a list "
            'of activity names such as ["workload", "accounts"] will do)',
        )
    base = dict(given or {"workload": 0.03})
    rows = []
    errors: list[Exception] = []
    for v in values:
        bal = {a: float(v) for a in base}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TimeLimitWarning)
                # no plan in band: its closest plan is not a point of the
                # front (the reason below says what it breaks)
                warnings.simplefilter("ignore", TerrakitWarning)
                r = align(study, balance=bal, **align_kwargs)
            if r.status == "infeasible":
                broken = list(r.info.get("violations", []))
                raise InfeasibleError(
                    "no alignment in the bands found (not a proof); the closest "
                    f"breaks {len(broken)} constraint(s): {'; '.join(broken[:3])}"
                )
            rows.append(
                {
                    "value": float(v),
                    "objective": r.objective,
                    "lower_bound": r.lower_bound,
                    "max_deviation": r.max_deviation,
                    "status": r.status,
                    "gap": r.gap,
                    "reason": "",
                    "from_tolerance": float(v),
                }
            )
        except (InfeasibleError, SpecificationError) as e:
            errors.append(e)
            rows.append(
                {
                    "value": float(v),
                    "objective": math.nan,
                    "lower_bound": math.nan,
                    "max_deviation": math.nan,
                    "status": "infeasible" if _proved(e) else "not_found",
                    "gap": math.nan,
                    "reason": str(e),
                    "from_tolerance": math.nan,
                }
            )
    _adopt_tighter_plans(rows)
    if len(errors) == len(values) and len({str(e) for e in errors}) == 1:
        raise errors[0]
    return pd.DataFrame(rows)

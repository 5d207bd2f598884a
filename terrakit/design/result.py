"""The result of a territory design solve: :class:`AlignmentResult`."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from terrakit.data.alignment import Alignment, make_provenance
from terrakit.exceptions import DataValidationError, SpecificationError

if TYPE_CHECKING:
    import geopandas as gpd

    from terrakit.design.problem import DesignProblem

__all__ = ["AlignmentResult", "Status", "relative_gap", "tighter_plan_sources"]

Status = Literal["optimal", "feasible", "time_limit", "infeasible"]
_STATUSES = ("optimal", "feasible", "time_limit", "infeasible")


def relative_gap(objective: float, lower_bound: float) -> float:
    """``(objective − bound) / |objective|``; 0 when both are 0, inf without bound."""
    if not math.isfinite(objective):
        return math.inf
    if not math.isfinite(lower_bound):
        return math.inf
    diff = max(objective - lower_bound, 0.0)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / max(abs(objective), 1e-12)


def tighter_plan_sources(costs: Sequence[float]) -> list[int | None]:
    """Which tighter point's plan each point of a tolerance front should take.

    A plan within ``±τ`` is within every looser band too, so along a front a
    point whose own plan costs more than a tighter point's (or that has no
    plan) can take that one.

    Parameters
    ----------
    costs
        The points' own costs, tightest tolerance first; NaN (or inf) where
        a point has no plan of its own.

    Returns
    -------
    list
        Per point, the index of the cheapest tighter plan to take instead of
        its own, or ``None`` to keep its own (or when no tighter point has a
        plan).  The costs after the swaps never rise as the tolerance loosens.
    """
    out: list[int | None] = []
    best: int | None = None
    for i, c in enumerate(costs):
        if math.isfinite(c) and (best is None or c <= costs[best]):
            best = i
            out.append(None)
        else:
            out.append(best)
    return out


@dataclass(frozen=True, eq=False)
class AlignmentResult:
    """What a design solver returns.

    Parameters
    ----------
    alignment
        The new :class:`~terrakit.data.alignment.Alignment` (unit → territory).
    status
        ``"optimal"`` (proven within the solver's gap tolerance), ``"feasible"``
        (a heuristic or a solver stopped early on its own), ``"time_limit"``
        (best feasible answer at the time limit) or ``"infeasible"``.
    objective
        Objective value of the alignment (recomputed from the problem, not
        taken from the solver).
    lower_bound
        A proven lower bound on the optimum (``-inf`` if none).
    gap
        Relative gap ``(objective − lower_bound) / |objective|``.
    method
        ``"mip/highs"``, ``"mip/cbc"``, ``"cpsat"`` or ``"heuristic"``.
    centers
        Series territory_id → center id (rep id or candidate unit id).
    seconds
        Wall time of the solve (build + solve).
    territories
        Per-territory table: ``n_units``, ``center``, per banded activity its
        sum, ``<a>_lower``, ``<a>_upper`` and ``<a>_dev`` (relative deviation
        from the band's midpoint target).
    provenance
        :func:`~terrakit.data.alignment.make_provenance` record.
    columns
        Center column per unit (the problem's solution encoding).
    objective_kind
        The objective that was minimised.
    intervals
        For ``balance_on_draws``: per-territory quantiles of the drawn activity.
    info
        Solver facts (build seconds, nodes, cuts...), JSON-able.
    units
        The units table the alignment was designed on (set by
        :func:`~terrakit.design.align`), for :meth:`to_geodataframe`.
    """

    alignment: Alignment
    status: Status
    objective: float
    lower_bound: float
    gap: float
    method: str
    centers: pd.Series
    seconds: float
    territories: pd.DataFrame
    provenance: Mapping[str, Any] = field(default_factory=dict)
    columns: np.ndarray | None = None
    objective_kind: str = "compactness"
    intervals: pd.DataFrame | None = None
    info: Mapping[str, Any] = field(default_factory=dict)
    units: gpd.GeoDataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"status must be one of {_STATUSES}, got {self.status!r}")
        if not isinstance(self.alignment, Alignment):
            raise TypeError("alignment must be an Alignment")
        lb, obj = float(self.lower_bound), float(self.objective)
        if (
            math.isfinite(lb)
            and math.isfinite(obj)
            and lb > obj + 1e-6 * max(1.0, abs(obj))
        ):
            raise ValueError(f"lower bound {lb} above the objective {obj}")
        object.__setattr__(self, "objective", obj)
        object.__setattr__(self, "lower_bound", lb)
        object.__setattr__(self, "gap", float(self.gap))
        object.__setattr__(self, "seconds", float(self.seconds))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))
        if self.columns is not None:
            c = np.array(self.columns, dtype=np.int64)
            c.setflags(write=False)
            object.__setattr__(self, "columns", c)

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_columns(
        cls,
        problem: DesignProblem,
        columns: np.ndarray,
        *,
        status: Status,
        lower_bound: float,
        method: str,
        seconds: float,
        seed: int | None = None,
        config: Mapping[str, Any] | None = None,
        name: str = "proposed",
        intervals: pd.DataFrame | None = None,
        info: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> AlignmentResult:
        """Result from a solution ``columns`` (center column per unit).

        The objective is recomputed with :meth:`DesignProblem.evaluate`; the
        lower bound is clipped to it (a bound above the value of a found
        solution can only be round-off) and the gap follows.
        """
        cols = np.asarray(columns, dtype=np.int64)
        terr, used = problem.territory_index(cols)
        tids = problem.territory_names(used)
        center_of = [problem.center_ids[j] for j in used]  # type: ignore[index]
        labels = np.array(tids, dtype=object)[terr]
        prov = make_provenance(
            method,
            seed=seed,
            config=config,
            status=status,
            objective_kind=problem.objective,
            locked_reasons={
                str(problem.unit_ids[i]): r for i, r in problem.lock_reasons.items()
            },
            **extra,
        )
        assignment = pd.Series(labels, index=pd.Index(problem.unit_ids, name="unit_id"))
        alignment = Alignment(assignment, name=name, provenance=prov)
        obj = problem.evaluate(cols)
        lb = float(lower_bound)
        if math.isfinite(lb) and lb > obj:
            lb = obj
        table = territory_table(problem, cols, tids, center_of)
        info = dict(info or {})
        if problem.draws is not None and problem.draws_tolerance is not None:
            # the joint share that draws_share constrains: draws in which
            # every territory is within the band at once
            good, need = problem.draws_met(cols)
            info.setdefault("draws_met", good)
            info.setdefault("draws_needed", need)
            info.setdefault("n_draws", int(np.asarray(problem.draws).shape[1]))
        return cls(
            alignment=alignment,
            status=status,
            objective=obj,
            lower_bound=lb,
            gap=relative_gap(obj, lb),
            method=method,
            centers=pd.Series(
                center_of, index=pd.Index(tids, name="territory_id"), name="center"
            ),
            seconds=seconds,
            territories=table,
            provenance=prov,
            columns=cols,
            objective_kind=problem.objective,
            intervals=intervals,
            info=info,
        )

    # -- views ------------------------------------------------------------------------
    @property
    def max_deviation(self) -> float:
        """Largest relative deviation from target over the balanced activities
        (those with a tolerance); NaN when no activity is balanced (e.g.
        ``balance={}``): there is no target to deviate from, and 0 would
        claim a perfect balance."""
        devs = [c for c in self.territories.columns if c.endswith("_dev")]
        if not devs:
            return math.nan
        return float(self.territories[devs].abs().to_numpy().max())

    def is_feasible(self) -> bool:
        """Whether an alignment that meets every constraint was found."""
        return self.status != "infeasible"

    def summary(self) -> str:
        """Rounded, stable text (no timings) for notebooks and reports."""
        lb = f"{self.lower_bound:.6g}" if math.isfinite(self.lower_bound) else "none"
        gap = f"{100 * self.gap:.2f} %" if math.isfinite(self.gap) else "unknown"
        if self.status == "infeasible":
            gap = "none (the plan breaks constraints)"
        dev = self.max_deviation
        lines = [
            f"AlignmentResult ({self.method}): {self.status}",
            f"  objective ({self.objective_kind}): {self.objective:.6g}",
            f"  lower bound: {lb}   gap: {gap}",
            f"  territories: {len(self.territories)}   units: {len(self.alignment)}",
            "  max deviation from target: "
            + (
                f"{100 * dev:.2f} %"
                if math.isfinite(dev)
                else "none (no balanced activity)"
            ),
        ]
        if "draws_met" in self.info and "draws_needed" in self.info:
            n_draws = self.info.get("n_draws", "?")
            lines.append(
                f"  band on draws holds in {int(self.info['draws_met'])} of "
                f"{n_draws} draws (need {int(self.info['draws_needed'])}; every "
                "territory in band in the same draw)"
            )
        broken = list(self.info.get("violations", []))
        if broken:
            count = int(self.info.get("n_violations", len(broken)))
            lines.append(f"  broken constraints: {count}")
            lines += [f"    {v}" for v in broken[:5]]
            if count > 5:
                lines.append(f"    ... and {count - 5} more")
        t = self.territories.copy()
        num = t.select_dtypes("number").columns
        t[num] = t[num].round(4)
        lines.append(t.to_string())
        return "\n".join(lines)

    def __str__(self) -> str:
        extra = ""
        if "build_seconds" in self.info:
            extra = f" (model build {float(self.info['build_seconds']):.2f} s)"
        return f"{self.summary()}\n  solved in {self.seconds:.2f} s{extra}"

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: ``territory_id`` and ``center``."""
        df = pd.DataFrame({"territory_id": self.alignment.assignment})
        df["center"] = df["territory_id"].map(self.centers)
        return df

    def to_geodataframe(
        self, units: gpd.GeoDataFrame | None = None
    ) -> gpd.GeoDataFrame:
        """The units (geometry and attributes) with ``territory_id`` and ``center``.

        ``units``: default the table :func:`~terrakit.design.align` designed on;
        another table (e.g. the units read back from a file) must be indexed
        by unit ids of this result, all of them or some.

        Raises
        ------
        DataValidationError
            When some of ``units``' ids are not units of this result (they
            would get no territory); ids equal to the result's only as text
            (``'13101'`` for ``13101``) are named as such, with the fix.
        """
        if units is None:
            units = self.units
        if units is None:
            raise SpecificationError(
                "this result does not hold its units (it was not made by "
                "tk.design.align); pass them: result.to_geodataframe(study.units)"
            )
        frame = self.to_frame()
        _check_unit_ids(units.index, frame.index)
        out = units.copy()
        out["territory_id"] = frame["territory_id"].reindex(out.index)
        out["center"] = frame["center"].reindex(out.index)
        return out


def _check_unit_ids(given: pd.Index, known: pd.Index) -> None:
    """Refuse ``given`` unit ids (a table to join the plan to) that are not
    ``known`` (the result's): their rows would get territory NaN in silence."""
    from terrakit.data.validation import ids_equal_only_as_text

    unknown = given[~given.isin(known)]
    if not len(unknown):
        return
    n, total = len(unknown), len(given)
    shown = list(dict.fromkeys(unknown.tolist()))
    which = (
        f"none of the {total} unit ids is a unit of this result"
        if n == total
        else f"{n} of the {total} unit ids are not units of this result"
    )
    pairs = ids_equal_only_as_text(known, unknown)
    if pairs:
        g, k = pairs[0]
        to = "str" if isinstance(k, str) else repr(known.dtype.name)
        raise DataValidationError(
            "units",
            None,
            f"{which}, {len(pairs)} of them equal to one only as text (e.g. {g!r} "
            f"({type(g).__name__}) in the table and {k!r} ({type(k).__name__}) "
            "in the result): unit ids keep their type, '13101' is not 13101, and "
            "those units would get no territory",
            rows=shown,
            n_bad=n,
            fix=f"convert the ids first: units.index = units.index.astype({to})",
        )
    raise DataValidationError(
        "units",
        None,
        f"{which} (it has {len(known)} units); those units would get no territory",
        rows=shown,
        n_bad=n,
        fix="pass the units the result was designed on (result.to_geodataframe() "
        "uses them), or only those: units[units.index.isin("
        "result.alignment.assignment.index)]",
    )


def territory_table(
    problem: DesignProblem,
    columns: np.ndarray,
    territory_ids: list[Hashable],
    center_ids: list[Hashable],
) -> pd.DataFrame:
    """Per-territory sizes, activity sums, bands and deviations."""
    terr, _ = problem.territory_index(columns)
    k = len(territory_ids)
    data: dict[str, Any] = {
        "center": center_ids,
        "n_units": np.bincount(terr, minlength=k)[:k],
    }
    banded = set(problem.banded)
    for a, v in problem.activities.items():
        s = np.bincount(terr, weights=v, minlength=k)[:k]
        data[a] = s
        if a in banded:
            lo, hi = problem.band_limits(a)
            if len(lo) == k:
                data[f"{a}_lower"], data[f"{a}_upper"] = lo, hi
            if a in problem.tolerance:
                tgt = problem.shares[:k] * float(v.sum())
                with np.errstate(divide="ignore", invalid="ignore"):
                    data[f"{a}_dev"] = np.where(tgt > 0, s / tgt - 1.0, 0.0)
    return pd.DataFrame(data, index=pd.Index(territory_ids, name="territory_id"))

"""``audit``: is this (hand-edited) plan an outlier among feasible plans?

:func:`audit` computes the same measures for the plan and for every member of
an :class:`~terrakit.design.ensemble.Ensemble` and reports where the plan
sits: its percentile in the ensemble's distribution of

- compactness: ``cut_edges`` (adjacent unit pairs split between territories)
  and ``moment_of_inertia`` (weight × km² around each territory's weighted
  centroid);
- balance: ``<activity>_max_dev`` (largest relative deviation from the mean)
  for every balanced activity;
- disruption: ``units_moved_share`` and ``<weight>_moved_share`` relative to
  a baseline alignment (default the study's ``"current"``, when it has one),
  after matching territory labels so that as much as possible stays in place;
- opportunity per rep: the potential and workload of every territory of the
  plan, compared with the same *rank* across the ensemble (the plan's
  richest territory with the ensemble's richest territories, and so on).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from terrakit.data.validation import first_few
from terrakit.exceptions import SpecificationError, TerrakitWarning

if TYPE_CHECKING:
    from terrakit.design.ensemble import Ensemble

__all__ = ["AuditReport", "audit", "plan_metrics"]

#: Two-sided outlier threshold: a plan below the 2.5th or above the 97.5th
#: percentile of the ensemble (the ``p2_5`` and ``p97_5`` columns of the
#: report) is flagged.
OUTLIER_LEVEL = 0.025

#: Distinct plans an ensemble needs before a percentile as extreme as
#: ``OUTLIER_LEVEL`` means something: ``1 / OUTLIER_LEVEL``.  With fewer,
#: :func:`audit` warns; with a single one (every member the same plan, any
#: other plan differs from all of them) it refuses.
MIN_DISTINCT_PLANS = math.ceil(1 / OUTLIER_LEVEL)


def _sums(plans: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """``(n_plans, k)`` territory totals of ``values`` for every plan."""
    p = plans.shape[0]
    idx = plans + (np.arange(p) * k)[:, None]
    return np.bincount(
        idx.ravel(),
        weights=np.broadcast_to(values, plans.shape).ravel(),
        minlength=p * k,
    ).reshape(p, k)


def plan_metrics(ens: Ensemble, plans: np.ndarray) -> pd.DataFrame:
    """Compactness and balance of plans given as territory indices.

    Parameters
    ----------
    ens
        Supplies the units' measures, coordinates and adjacency.
    plans
        ``(n_plans, n_units)`` territory indices ``0..k-1``.

    Returns
    -------
    pandas.DataFrame
        One row per plan: ``cut_edges``, ``moment_of_inertia``,
        ``<activity>_max_dev`` for every balanced activity.

    Raises
    ------
    SpecificationError
        If ``plans`` is not ``(n_plans, n_units)`` (one plan may be given as
        ``(n_units,)``) or holds an index outside ``0..k-1``.
    """
    k = ens.n_territories
    n = len(ens.unit_ids)
    raw = np.asarray(plans)
    if raw.ndim == 1:
        raw = raw[None, :]
    if raw.ndim != 2 or raw.shape[1] != n:
        raise SpecificationError(
            f"plans must be (n_plans, {n}): one territory index per unit of the "
            f"ensemble, in the order of ens.unit_ids, got shape {np.shape(plans)}; "
            "give every unit of the ensemble's study a territory"
        )
    if raw.dtype.kind not in "iu":
        whole = raw.dtype.kind == "f" and bool(
            np.all(np.isfinite(raw) & (raw == np.round(raw)))
        )
        if not whole:
            raise SpecificationError(
                f"plans must hold whole-number territory indices 0..{k - 1}, got "
                f"dtype {raw.dtype}; number the territories in the order of "
                "ens.territory_ids: pd.Index(ens.territory_ids).get_indexer(ids)"
            )
    plans = raw.astype(np.int64)
    out_of_range = (plans < 0) | (plans >= k)
    if out_of_range.any():
        p, u = (int(i[0]) for i in np.nonzero(out_of_range))
        raise SpecificationError(
            f"plans must hold territory indices 0..{k - 1} (the ensemble's {k} "
            f"territories), got {int(plans[p, u])} in plan {p} for unit "
            f"{ens.unit_ids[u]!r} ({int(out_of_range.sum())} such entries); number "
            "the territories in the order of ens.territory_ids: "
            "pd.Index(ens.territory_ids).get_indexer(ids)"
        )
    e = ens.edges
    out: dict[str, np.ndarray] = {
        "cut_edges": (plans[:, e[:, 0]] != plans[:, e[:, 1]]).sum(axis=1).astype(float)
    }
    w = ens.measures[ens.weight]
    x, y = ens.xy_km[:, 0], ens.xy_km[:, 1]
    sw = _sums(plans, w, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = _sums(plans, w * x, k) / sw
        cy = _sums(plans, w * y, k) / sw
    cx = np.nan_to_num(cx)
    cy = np.nan_to_num(cy)
    rows = np.arange(plans.shape[0])[:, None]
    dx = x[None, :] - cx[rows, plans]
    dy = y[None, :] - cy[rows, plans]
    out["moment_of_inertia"] = (w[None, :] * (dx**2 + dy**2)).sum(axis=1)
    for a in ens.balance:
        s = _sums(plans, ens.measures[a], k)
        mean = s.mean(axis=1, keepdims=True)
        out[f"{a}_max_dev"] = np.abs(s / mean - 1.0).max(axis=1)
    return pd.DataFrame(out)


def _moved(
    plans: np.ndarray, base: np.ndarray, k: int, kb: int, weights: np.ndarray
) -> np.ndarray:
    """Weight moved from ``base`` to each plan under the best label matching."""
    out = np.empty(plans.shape[0])
    total = float(weights.sum())
    for i, p in enumerate(plans):
        overlap = np.zeros((k, kb))
        np.add.at(overlap, (p, base), weights)
        r, c = linear_sum_assignment(overlap, maximize=True)
        out[i] = (total - overlap[r, c].sum()) / total if total else math.nan
    return out


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def _outside(x: float, low: float, high: float) -> bool:
    """Whether ``x`` lies outside ``[low, high]`` (beyond a 1e-9 relative
    tolerance, so that a plan equal to a quantile is not flagged by rounding)."""
    tol = 1e-9 * max(1.0, abs(x))
    return bool(x < low - tol or x > high + tol)


def _band(values: np.ndarray) -> tuple[float, float, float]:
    """The ensemble's ``p2_5``, ``p50`` and ``p97_5`` of ``values``."""
    lo, mid, hi = np.quantile(values, [OUTLIER_LEVEL, 0.5, 1 - OUTLIER_LEVEL])
    return float(lo), float(mid), float(hi)


def _percentile(values: np.ndarray, x: float) -> float:
    """Share of ``values`` below ``x``, ties counted half (mid-rank)."""
    v = np.asarray(values, dtype=float)
    if not len(v) or not math.isfinite(x):
        return math.nan
    tol = 1e-9 * max(1.0, abs(x))
    below = np.count_nonzero(v < x - tol)
    equal = np.count_nonzero(np.abs(v - x) <= tol)
    return float((below + 0.5 * equal) / len(v))


@dataclass(frozen=True, eq=False)
class AuditReport:
    """Where a plan sits in an ensemble (see :func:`audit`).

    Parameters
    ----------
    plan_name
        Name of the audited alignment.
    metrics
        Index ``metric``: ``plan`` (its value), ``mean``, ``p2_5``, ``p50``,
        ``p97_5`` (ensemble quantiles, numpy's linear interpolation),
        ``percentile`` (share of members below the plan, ties half) and
        ``outlier``: the plan lies outside ``[p2_5, p97_5]`` (below ``p2_5``
        or above ``p97_5`` of the same row).  The flag reads the quantile
        columns, not ``percentile``: a plan tied with members at the edge can
        show a ``percentile`` of 0.975 and be flagged, or one of 0.97 and be
        flagged when it lies above the interpolated ``p97_5``.
    reps
        One row per (measure, territory of the plan): ``value``, ``rank``
        (1 = smallest), the ensemble's ``p2_5``/``p50``/``p97_5`` of the
        territory of that rank, ``percentile`` and ``outlier`` (``value``
        outside ``[p2_5, p97_5]``, as for ``metrics``).
    distributions
        The ensemble's members' metric values (one row per member).
    ordered
        ``{measure: (n_members, k)}`` sorted territory totals per member.
    n_plans
        Ensemble size.
    n_distinct
        Different plans (partitions) among the ensemble's members.
    method
        The ensemble's sampler.
    baseline
        Name of the disruption baseline (``None``: no disruption measured).
    noncontiguous
        Territories of the plan in several pieces (left empty for an
        ensemble sampled without contiguity).  Every member of a contiguous
        ensemble is in one piece per territory, so such a plan is not one of
        the plans it is compared with; the summary says so.
    notes
        What the summary adds in words (e.g. why there are no disruption
        rows).
    provenance
        Where the numbers come from: ``seed`` (the ensemble's: the audit
        draws nothing itself), ``config`` (``plan`` and ``plan_hash``,
        ``baseline`` and ``baseline_hash`` — ``None`` when no disruption was
        measured — and the ``measures`` compared), ``ensemble`` (the
        ensemble's own provenance: its method, seed, bands, start and graph)
        and the versions (:func:`~terrakit.data.alignment.make_provenance`).
    """

    plan_name: str
    metrics: pd.DataFrame
    reps: pd.DataFrame
    distributions: pd.DataFrame
    ordered: dict[str, np.ndarray] = field(default_factory=dict)
    n_plans: int = 0
    method: str = "recom"
    n_distinct: int = 0
    baseline: str | None = None
    noncontiguous: tuple[Any, ...] = ()
    notes: tuple[str, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        need = {"plan", "percentile", "outlier"}
        if not need <= set(self.metrics.columns):
            raise ValueError(f"metrics needs columns {sorted(need)}")
        object.__setattr__(self, "ordered", MappingProxyType(dict(self.ordered)))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))

    @property
    def outliers(self) -> list[str]:
        """Metrics (and ``measure:territory`` pairs) outside ``[p2_5, p97_5]``."""
        m = self.metrics.index[self.metrics["outlier"]].tolist()
        r = self.reps[self.reps["outlier"]]
        return [
            *m,
            *[f"{a}:{t}" for a, t in zip(r["measure"], r["territory_id"], strict=True)],
        ]

    def to_frame(self) -> pd.DataFrame:
        """The metrics table (copy)."""
        return self.metrics.copy()

    def summary(self) -> str:
        """Rounded, stable text."""
        lines = [
            f"Audit of {self.plan_name!r} against {self.n_plans} plans ({self.method})"
            + (f"; disruption vs {self.baseline!r}" if self.baseline else ""),
        ]
        seed = self.provenance.get("seed")
        if seed is not None:
            lines.append(f"  ensemble seed {seed}")
        lines.extend(f"  {note}" for note in self.notes)
        if 0 < self.n_distinct < MIN_DISTINCT_PLANS:
            lines.append(
                f"  only {self.n_distinct} distinct plans in the ensemble (fewer "
                f"than {MIN_DISTINCT_PLANS}): the outlier flags are not reliable"
            )
        if self.noncontiguous:
            shown = first_few(self.noncontiguous, show=str)
            lines.append(
                f"  not contiguous: {len(self.noncontiguous)} territories in several "
                f"pieces ({shown}); the "
                "ensemble's plans are all contiguous"
            )
        m = self.metrics.copy()
        num = ["plan", "mean", "p2_5", "p50", "p97_5"]
        m[num] = m[num].map(lambda v: f"{v:.4g}")
        m["percentile"] = (100 * self.metrics["percentile"]).round(1)
        lines.append(m.to_string())
        r = self.reps.copy()
        r = r[r["outlier"]]
        if len(r):
            lines.append("  territories outside the central 95 % for their rank:")
            for _, row in r.iterrows():
                lines.append(
                    f"    {row['measure']} {row['territory_id']}: {row['value']:.4g} "
                    f"(rank {int(row['rank'])}, ensemble {row['p2_5']:.4g}–"
                    f"{row['p97_5']:.4g}, percentile {100 * row['percentile']:.1f})"
                )
        elif len(self.reps):
            lines.append("  every territory within the central 95 % for its rank")
        else:
            lines.append("  no territory compared (no opportunity measure)")
        return "\n".join(lines)


#: The opportunity measures :func:`audit` compares when given none (those of
#: them the ensemble carries).
_DEFAULT_MEASURES = ("potential", "workload")


def _audit_measures(
    measures: str | Sequence[str] | None, ensemble: Ensemble
) -> tuple[str, ...]:
    """The measures :func:`audit` compares: the ones given, each carried by the
    ensemble, or (``None``) those of ``_DEFAULT_MEASURES`` it carries."""
    from terrakit.design.ensemble import _no_value

    carried = sorted(ensemble.measures)
    ids = pd.Index(ensemble.unit_ids)
    if measures is None:
        chosen = tuple(m for m in _DEFAULT_MEASURES if m in ensemble.measures)
        if not chosen:
            raise SpecificationError(
                "the ensemble carries neither 'potential' nor 'workload' (the "
                f"measures audit compares by default); it carries {carried}: "
                f"pass measures=, e.g. measures={carried[0]!r}"
            )
        # a default measure with units of unknown value (an ensemble built by
        # hand: ensemble() leaves such a measure out) gives NaN totals
        missing = {m: _no_value(ids, ensemble.measures[m]) for m in chosen}
        left = tuple(m for m in chosen if not missing[m])
        if len(left) < len(chosen):
            warnings.warn(
                "; ".join(f"{m}: {why}" for m, why in missing.items() if why)
                + f"; audit compares {list(left)} only. Fill the missing values "
                "to compare on every measure",
                TerrakitWarning,
                stacklevel=3,
            )
        if not left:
            raise SpecificationError(
                "audit compares no default measure: "
                + "; ".join(f"{m}: {why}" for m, why in missing.items())
                + f"; fill the missing values, or pass measures= from {carried}"
            )
        return left
    chosen = _named_measures(measures, ensemble)
    if not chosen:
        raise SpecificationError(
            "measures is empty: audit compares the plan's territories on at least "
            f"one measure; name some of {carried}, or leave measures=None for "
            "those of 'potential' and 'workload' the ensemble carries"
        )
    chosen = tuple(dict.fromkeys(chosen))  # a measure named twice, compared once
    unknown = [m for m in chosen if m not in ensemble.measures]
    if unknown:
        left_out = ensemble.provenance.get("measures_left_out", {})
        why = "; ".join(
            f"ensemble() left {m!r} out: {left_out[m]}"
            for m in unknown
            if m in left_out
        )
        raise SpecificationError(
            f"measures {unknown} are not carried by the ensemble; available: {carried}"
            + (
                f" ({why}; fill the missing values and sample the ensemble again)"
                if why
                else ""
            )
        )
    missing = {m: _no_value(ids, ensemble.measures[m]) for m in chosen}
    bad = [f"{m}: {why}" for m, why in missing.items() if why]
    if bad:
        raise SpecificationError(
            f"cannot compare territories on a measure with units of unknown value "
            f"({'; '.join(bad)}): their territory totals are unknown; fill the "
            "missing values, or leave the measure out of measures="
        )
    return chosen


def _named_measures(measures: Any, ensemble: Ensemble) -> tuple[Any, ...]:
    """``measures`` (one name, or an iterable of names) as a tuple; a
    :class:`SpecificationError` listing the carried measures for anything
    else (a number, NaN, a list holding something that is no name)."""
    if isinstance(measures, str):
        return (measures,)
    carried = sorted(ensemble.measures)
    chosen = tuple(measures) if isinstance(measures, Iterable) else None
    if chosen is None or not all(
        isinstance(m, str) or (isinstance(m, Hashable) and m in ensemble.measures)
        for m in chosen
    ):
        raise SpecificationError(
            f"measures must be a measure's name or a list of names, got "
            f"{measures!r}; name some of {carried}, e.g. measures={carried[0]!r}, "
            "or leave measures=None for those of 'potential' and 'workload' the "
            "ensemble carries"
        )
    return chosen


def _noncontiguous(ens: Ensemble, lab: np.ndarray, terr: list[Any]) -> tuple[Any, ...]:
    """Territories of the plan in several pieces over the ensemble's unit graph."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n = len(lab)
    e = np.asarray(ens.edges, dtype=np.int64).reshape(-1, 2)
    keep = lab[e[:, 0]] == lab[e[:, 1]]
    inner = sp.csr_matrix(
        (np.ones(int(keep.sum())), (e[keep, 0], e[keep, 1])), shape=(n, n)
    )
    _, comp = connected_components(inner, directed=False)
    pieces = pd.Series(comp).groupby(lab).nunique()
    return tuple(terr[int(t)] for t in pieces.index[pieces.to_numpy() > 1])


def _on_units(
    s: pd.Series, unit_ids: pd.Index, what: str, where: str, fix: str
) -> pd.Series:
    """``s`` (unit_id → territory) in the order of ``unit_ids``, or an error.

    Shared by :func:`audit` and :func:`~terrakit.design.ensemble.ensemble`
    (``start=``), so that both refuse the same plans: a unit id given more
    than once or a unit with no territory (:class:`DataValidationError`, as
    :class:`~terrakit.data.Alignment` refuses them), ids that are not units
    of ``unit_ids`` and units of ``unit_ids`` that ``s`` misses
    (:class:`SpecificationError`).  ``what`` names the plan, ``where`` the
    units (``"the study"``), ``fix`` what to do.
    """
    from terrakit.data.alignment import Alignment

    s = Alignment(s).assignment  # repeated unit ids, units with no territory
    units = pd.Index(unit_ids)
    extra = s.index.difference(units, sort=False)
    if len(extra):
        raise SpecificationError(
            f"{what} names {len(extra)} units that are not in {where} "
            f"(e.g. {list(extra[:5])}); {fix} (check the id type: '13121' is not "
            "13121)"
        )
    s = s.reindex(units)
    if s.isna().any():
        missing = list(units[s.isna().to_numpy()][:5])
        raise SpecificationError(
            f"{what} misses {int(s.isna().sum())} units of {where} "
            f"(e.g. {missing}); {fix}"
        )
    return s


def _name_of(al: Any, default: str) -> str:
    """The name to report: an Alignment's own, else ``default`` (a Series'
    ``name`` is a column name, ``'territory_id'`` or ``None``, not a plan's)."""
    from terrakit.data.alignment import Alignment

    return al.name if isinstance(al, Alignment) and al.name else default


def _labels_of(al: Any, ens: Ensemble, what: str) -> tuple[np.ndarray, list[Any]]:
    """Territory index per unit (in the ensemble's unit order) and the labels."""
    if hasattr(al, "assignment"):
        s = al.assignment
    elif isinstance(al, pd.Series):
        s = al
    else:
        raise SpecificationError(
            f"{what} must be an Alignment or a Series unit_id → territory, got "
            f"{type(al).__name__}"
        )
    s = _on_units(
        s,
        pd.Index(ens.unit_ids),
        what,
        "the ensemble's study",
        "audit a plan of the same study",
    )
    terr = sorted(pd.unique(s.to_numpy()), key=str)
    return pd.Index(terr).get_indexer(s.to_numpy()).astype(np.int64), terr


class _Current:
    """The default ``baseline``: the study's ``"current"`` alignment when the
    ensemble recorded one, else no disruption rows (a study with no current
    plan).  ``baseline="current"`` given explicitly insists on it."""

    def __repr__(self) -> str:
        return "'current'"


_CURRENT: Any = _Current()


def audit(
    plan: Any,
    ensemble: Ensemble,
    *,
    baseline: Any = _CURRENT,
    measures: str | Sequence[str] | None = None,
) -> AuditReport:
    """Place a plan in the distributions of an ensemble of feasible plans.

    Parameters
    ----------
    plan
        The alignment to audit (``"current"``: the study's current alignment
        the ensemble recorded; e.g. ``study.alignments["proposal"]``, or a
        hand-edited proposal).
    ensemble
        From :func:`terrakit.design.ensemble.ensemble`, same study.
    baseline
        Disruption baseline: ``"current"`` (the ensemble's record of the
        study's current alignment), another Alignment, or ``None`` (no
        disruption rows).  When the plan is the baseline (the same
        partition) the disruption rows are left out.  By default the study's
        current alignment, and no disruption rows when the study has none
        (the summary says so); ``baseline="current"`` given explicitly is
        refused then.
    measures
        Opportunity measures compared rank by rank per territory; one name or
        several, each carried by the ensemble (:attr:`Ensemble.measures
        <terrakit.design.ensemble.Ensemble.measures>`); a name given twice is
        compared once.  ``None`` (default): those of ``"potential"`` and
        ``"workload"`` that the ensemble carries with a value for every unit.

    Returns
    -------
    AuditReport

    Raises
    ------
    TypeError
        ``ensemble`` is not an :class:`~terrakit.design.ensemble.Ensemble`
        (e.g. the arguments swapped).
    SpecificationError
        The plan misses units of the ensemble, names units that are not in
        its study or has a different number of territories; ``baseline`` is
        a name other than ``"current"``, or ``"current"`` given explicitly
        when the study has no current alignment; ``measures`` is neither a
        name nor a list of names (a number), is empty, names a measure that
        the ensemble does not carry or one with units of unknown value
        (NaN), or (``measures=None``) the ensemble carries neither
        ``"potential"`` nor ``"workload"`` with a value for every unit; every
        member of the ensemble is the same partition.
    DataValidationError
        The plan (a Series) gives a unit more than one territory, or none.

    Warns
    -----
    TerrakitWarning
        When the ensemble holds fewer than ``MIN_DISTINCT_PLANS`` (40)
        distinct plans (partitions, whatever their labels): too few to call
        a plan an outlier at the 2.5 % level (a plan unlike every member is
        flagged whatever it is); when ``measures=None`` leaves out a default
        measure with units of unknown value.

    Notes
    -----
    Percentile :math:`q = (\\#\\{m: x_m < x\\} + \\tfrac12\\#\\{m: x_m = x\\})
    / M` over the :math:`M` members.  The plan is flagged (``outlier``) when
    its value lies below ``p2_5`` or above ``p97_5``, the ensemble's 2.5th and
    97.5th percentiles (``numpy.quantile``, linear interpolation) shown in the
    same row, so the flag always agrees with those columns; :math:`q` is the
    plan's position for reading, not the rule.  Territories are compared by rank
    because ensemble labels are arbitrary: the :math:`r`-th smallest
    territory total of the plan against the :math:`r`-th smallest of every
    member.
    """
    from terrakit.data.alignment import make_provenance
    from terrakit.design.ensemble import Ensemble, _plan_hash

    if not isinstance(ensemble, Ensemble):
        got = "None" if ensemble is None else type(ensemble).__name__
        hint = (
            "the arguments are swapped: call audit(plan, ensemble)"
            if isinstance(plan, Ensemble)
            else "sample one with tk.design.ensemble(study)"
        )
        raise TypeError(
            f"tk.design.audit takes the plan, then an Ensemble "
            f"(tk.design.ensemble), got {got} for the ensemble; {hint}"
        )
    distinct = ensemble.n_distinct
    if distinct < 2:
        raise SpecificationError(
            f"the ensemble holds {distinct} distinct plan(s) in its "
            f"{ensemble.n_plans} members ({ensemble.method}): every plan that "
            "differs from it would be flagged on every metric; sample an ensemble "
            f"of many distinct plans (method='recom', at least {MIN_DISTINCT_PLANS})"
        )
    if distinct < MIN_DISTINCT_PLANS:
        warnings.warn(
            f"the ensemble holds only {distinct} distinct plans in its "
            f"{ensemble.n_plans} members ({ensemble.method}); at least "
            f"{MIN_DISTINCT_PLANS} are needed to judge an outlier at the "
            f"{100 * OUTLIER_LEVEL:g} % level: read the percentiles, not the "
            "outlier flags, or sample more plans (method='recom')",
            TerrakitWarning,
            stacklevel=2,
        )
    plan_name = _name_of(plan, "plan")
    if isinstance(plan, str):
        # a name, as baseline= takes: the ensemble knows its study's current plan
        if plan != "current" or ensemble.reference is None:
            raise SpecificationError(
                f"the plan {plan!r} is a name, and the ensemble knows only the "
                "study's 'current' alignment"
                + (" (it has none)" if ensemble.reference is None else "")
                + f"; pass the alignment itself, e.g. study.alignments[{plan!r}]"
            )
        plan = pd.Series(ensemble.reference, index=pd.Index(ensemble.unit_ids))
        plan_name = "current"
    lab, terr = _labels_of(plan, ensemble, "the plan")
    ids = pd.Index(ensemble.unit_ids)
    k = ensemble.n_territories
    if len(terr) != k:
        raise SpecificationError(
            f"the plan has {len(terr)} territories, the ensemble's plans {k}; "
            "sample an ensemble with n_territories equal to the plan's"
        )
    chosen = _audit_measures(measures, ensemble)
    dist = plan_metrics(ensemble, ensemble.plans)
    own = plan_metrics(ensemble, lab[None, :]).iloc[0]
    base_name: str | None = None
    notes: list[str] = []
    if baseline is _CURRENT:
        if ensemble.reference is None:
            baseline = None
            notes.append(
                "no disruption rows: the study has no 'current' alignment to "
                "measure the moves against (pass baseline= an Alignment)"
            )
        else:
            baseline = "current"
    given_base: tuple[str, str] | None = None  # the baseline's name and hash
    if baseline is not None:
        if isinstance(baseline, str):
            if baseline != "current" or ensemble.reference is None:
                raise SpecificationError(
                    f"baseline {baseline!r} is not known to the ensemble; pass an "
                    "Alignment or None"
                )
            blab, bterr = _labels_of(
                pd.Series(ensemble.reference, index=pd.Index(ensemble.unit_ids)),
                ensemble,
                "the baseline",
            )
            base_name = "current"
        else:
            blab, bterr = _labels_of(baseline, ensemble, "the baseline")
            base_name = _name_of(baseline, "baseline")
        given_base = (base_name, _plan_hash(ids, bterr, blab))
        if np.array_equal(blab, lab) or _same_partition(blab, lab):
            base_name = None  # the plan is the baseline: nothing moved, by definition
    if base_name is not None:
        kb = int(blab.max()) + 1
        w = ensemble.measures[ensemble.weight]
        for name, wt in (("units", np.ones(len(blab))), (ensemble.weight, w)):
            col = f"{name}_moved_share"
            dist[col] = _moved(ensemble.plans, blab, k, kb, wt)
            own[col] = _moved(lab[None, :], blab, k, kb, wt)[0]
    rows = {}
    for c in dist.columns:
        v = dist[c].to_numpy()
        x = float(own[c])
        lo, mid, hi = _band(v)
        rows[c] = {
            "plan": x,
            "mean": float(v.mean()),
            "p2_5": lo,
            "p50": mid,
            "p97_5": hi,
            "percentile": _percentile(v, x),
            "outlier": _outside(x, lo, hi),
        }
    metrics = pd.DataFrame.from_dict(rows, orient="index")
    metrics.index.name = "metric"
    rep_rows = []
    ordered: dict[str, np.ndarray] = {}
    for m in chosen:
        vals = ensemble.measures[m]
        ens_sorted = np.sort(_sums(ensemble.plans, vals, k), axis=1)
        ordered[m] = ens_sorted
        mine = np.bincount(lab, weights=vals, minlength=k)
        ranks = np.argsort(np.argsort(mine, kind="stable"), kind="stable")
        for t in range(k):
            same_rank = ens_sorted[:, ranks[t]]
            x = float(mine[t])
            lo, mid, hi = _band(same_rank)
            rep_rows.append(
                {
                    "measure": m,
                    "territory_id": terr[t],
                    "value": x,
                    "rank": int(ranks[t]) + 1,
                    "p2_5": lo,
                    "p50": mid,
                    "p97_5": hi,
                    "percentile": _percentile(same_rank, x),
                    "outlier": _outside(x, lo, hi),
                }
            )
    reps = pd.DataFrame(
        rep_rows,
        columns=[
            "measure",
            "territory_id",
            "value",
            "rank",
            "p2_5",
            "p50",
            "p97_5",
            "percentile",
            "outlier",
        ],
    )
    prov = make_provenance(
        "audit",
        seed=ensemble.seed,
        config={
            "plan": plan_name,
            "plan_hash": _plan_hash(ids, terr, lab),
            "baseline": None if given_base is None else given_base[0],
            "baseline_hash": None if given_base is None else given_base[1],
            "measures": list(chosen),
        },
        ensemble=dict(ensemble.provenance),
    )
    return AuditReport(
        notes=tuple(notes),
        provenance=prov,
        noncontiguous=(
            _noncontiguous(ensemble, lab, terr)
            if ensemble.provenance.get("config", {}).get("contiguity", True)
            else ()
        ),
        plan_name=plan_name,
        metrics=metrics,
        reps=reps,
        distributions=dist,
        ordered=ordered,
        n_plans=ensemble.n_plans,
        n_distinct=distinct,
        method=ensemble.method,
        baseline=base_name,
    )

"""Territory performance: sales, growth, penetration, attainment, ranked with intervals.

:func:`performance` aggregates the monthly history to the territories of an
alignment, fits a hierarchical Bayesian model of monthly log sales in the
analysis period and the period before it (PyMC, sampled through
:mod:`terrakit._sampling`), and ranks the territories on posterior draws, so
that every KPI and every rank comes with an interval.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from terrakit._runargs import check_seed
from terrakit._sampling import Diagnostics, diagnose, merge_sampler_config, sample
from terrakit.data.alignment import Alignment, make_provenance
from terrakit.data.validation import (
    _id_kind,
    check_unique_ids,
    first_few,
    require_study,
)
from terrakit.exceptions import DataValidationError, SpecificationError, TerrakitWarning
from terrakit.realign._panel import (
    check_interval,
    check_positive,
    month_range,
    months_text,
    quantiles,
    territory_panel,
    unit_history,
)

__all__ = ["PerformanceResult", "build_performance_model", "performance"]

#: Sampler settings of this model over :data:`terrakit._sampling.DEFAULT_SAMPLER_CONFIG`
#: (the user's ``sampler_config`` wins): more draws and a higher target acceptance
#: keep R-hat of the noise scales below 1.01 on studies of ~20 territories.
DEFAULT_SAMPLER_OVERRIDES: dict[str, Any] = {"target_accept": 0.9, "draws": 1000}

RankBy = Literal["sales", "growth", "penetration", "attainment"]
_VARS = ["level", "log_growth", "season", "sigma", "mu_growth", "tau_growth"]


def build_performance_model(
    log_prior: np.ndarray,
    log_current: np.ndarray,
    month_of_year: np.ndarray,
    territories: Sequence[Hashable],
    prior_month_of_year: np.ndarray | None = None,
) -> Any:
    """The PyMC model behind :func:`performance` (see its Notes).

    Parameters
    ----------
    log_prior, log_current
        ``territories × L`` arrays of monthly log sales in the prior and the
        analysis period.
    month_of_year
        Length-``L`` season index (0-based calendar month) of the analysis
        months.
    territories
        Territory ids (coordinates).
    prior_month_of_year
        Length-``L`` season index of the prior months; default
        ``month_of_year`` (the prior holds the same calendar months).  Every
        month gets the season of its own calendar month, so a prior of other
        calendar months does not turn the seasonal swing into growth.

    Returns
    -------
    pymc.Model
    """
    import pymc as pm

    moy = np.asarray(month_of_year, dtype=int)
    prior_moy = moy if prior_month_of_year is None else np.asarray(prior_month_of_year)
    both = np.stack([prior_moy.astype(int), moy])  # 2 × L
    seasons = np.unique(both)
    s_idx = np.searchsorted(seasons, both)
    coords = {
        "territory": [str(t) for t in territories],
        "month_of_year": [int(s) + 1 for s in seasons],
    }
    y = np.stack([log_prior, log_current], axis=1)  # T × 2 × L
    center = y.mean(axis=(1, 2))
    with pm.Model(coords=coords) as model:
        # each territory's level has its own weakly informative prior around
        # its mean log sales (levels differ by design; pooling them only
        # creates a funnel when they happen to be alike)
        level = pm.Normal("level", center, 1.0, dims="territory")
        mu_growth = pm.Normal("mu_growth", 0.0, 0.2)
        tau_growth = pm.HalfNormal("tau_growth", 0.1)
        # territory sales sum many accounts, so monthly noise is small and
        # the data pin every growth down: the centred form samples best
        log_growth = pm.Normal("log_growth", mu_growth, tau_growth, dims="territory")
        if len(seasons) > 1:
            season = pm.ZeroSumNormal("season", sigma=0.3, dims="month_of_year")
        else:
            season = pm.Deterministic("season", pm.math.zeros(1), dims="month_of_year")
        sigma = pm.HalfNormal("sigma", 0.3, dims="territory")
        step = np.array([0.0, 1.0])
        mean = (
            level[:, None, None]
            + log_growth[:, None, None] * step[None, :, None]
            + season[s_idx][None, :, :]
        )
        pm.Normal("log_sales", mean, sigma[:, None, None], observed=y)
    return model


@dataclass(frozen=True)
class PerformanceResult:
    """Territory KPIs with posterior intervals and ranks.

    Attributes
    ----------
    table
        One row per territory, sorted by ``rank_mean``: observed ``sales`` and
        ``prior_sales`` (sums over the periods), ``growth_obs``; posterior
        ``<kpi>_mean``, ``<kpi>_lo``, ``<kpi>_hi`` for ``sales`` (expected
        sales in the period, net of monthly noise), ``growth``,
        ``penetration`` (annualised expected sales / potential) and
        ``attainment`` (expected sales / quota, NaN without quotas);
        ``rank_mean``, ``rank_lo``, ``rank_hi`` (1 = best on ``rank_by``) and
        ``p_top`` (posterior probability of rank 1); NaN for a territory whose
        ``rank_by`` KPI is not a number (penetration without potential).
    period, prior
        ``(first, last)`` months of the analysis and the comparison period.
    rank_by
        The KPI the ranks use.
    interval
        Probability mass of the intervals (equal-tailed).
    idata
        The posterior (ArviZ InferenceData).
    diagnostics
        Convergence diagnostics.
    provenance
        :func:`~terrakit.data.alignment.make_provenance` record.
    draws
        Posterior draws of each KPI, ``draws × territories`` DataFrames.
    """

    table: pd.DataFrame
    period: tuple[str, str]
    prior: tuple[str, str]
    rank_by: str
    interval: float
    idata: Any = field(repr=False)
    diagnostics: Diagnostics = field(repr=False)
    provenance: Mapping[str, Any] = field(default_factory=dict, repr=False)
    draws: Mapping[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.interval < 1:
            raise ValueError(f"interval must be in (0, 1), got {self.interval}")
        need = {"rank_mean", "rank_lo", "rank_hi", "sales_mean", "growth_mean"}
        if not need <= set(self.table.columns):
            raise ValueError(f"table lacks {sorted(need - set(self.table.columns))}")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        """Rounded, stable text: one line per territory in rank order."""
        pct = f"{self.interval:.0%}"
        lines = [
            f"Territory performance {self.period[0]}..{self.period[1]} vs "
            f"{self.prior[0]}..{self.prior[1]} ({len(self.table)} territories, "
            f"ranked by {self.rank_by}, {pct} intervals)",
        ]
        for t, r in self.table.iterrows():
            s = (
                f"  {t!s:<8} rank {r['rank_mean']:4.1f} "
                f"[{r['rank_lo']:.0f}, {r['rank_hi']:.0f}]  sales "
                f"{r['sales_mean']:,.0f} [{r['sales_lo']:,.0f}, {r['sales_hi']:,.0f}]"
                f"  growth {r['growth_mean']:+.1%} "
                f"[{r['growth_lo']:+.1%}, {r['growth_hi']:+.1%}]"
            )
            if np.isfinite(r["penetration_mean"]):
                s += f"  penetration {r['penetration_mean']:.1%}"
            if np.isfinite(r["attainment_mean"]):
                s += (
                    f"  attainment {r['attainment_mean']:.1%} "
                    f"[{r['attainment_lo']:.1%}, {r['attainment_hi']:.1%}]"
                )
            lines.append(s)
        lines.append("  " + self.diagnostics.summary())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _quota_series(quota: Any) -> pd.Series:
    """``quota`` as a float Series by territory; values must be numbers and
    territory ids unique."""
    if not isinstance(quota, pd.Series | Mapping):
        raise SpecificationError(
            f"quota must map territory ids to quotas ({{'R01': 250000, ...}} or a "
            f"Series), got a {type(quota).__name__}"
        )
    qs = pd.Series(quota, dtype=object) if isinstance(quota, Mapping) else quota
    # a territory entered twice (a revised row appended) has no one quota
    check_unique_ids(qs.to_frame(), "quota", "territory_id")
    num = pd.to_numeric(qs, errors="coerce").astype(float)
    bad = num.isna() & qs.notna()
    if bad.any():
        raise DataValidationError(
            "quota",
            None,
            f"{int(bad.sum())} quotas are not numbers (e.g. {qs[bad].iloc[0]!r})",
            rows=list(qs.index[bad.to_numpy()]),
            n_bad=int(bad.sum()),
            fix="give every territory's quota as a number of sales for the period",
        )
    return num


def _check_quota_ids(quota_ids: pd.Index, terr: list[Hashable]) -> None:
    """Refuse quota ids that match territories of the alignment only as text
    (``'101'`` read from a file for the territory ``101``)."""
    by_text = {str(k): k for k in quota_ids}
    known = set(quota_ids)
    same = [t for t in terr if t not in known and str(t) in by_text]
    if not same:
        return
    t = same[0]
    k = by_text[str(t)]
    kind = _id_kind(t)
    cast = {"number": "int", "text": "str"}.get(kind, type(t).__name__)
    raise DataValidationError(
        "quota",
        "territory_id",
        f"{len(same)} of the {len(terr)} territories match a quota id only as "
        f"text (e.g. territory {t!r} ({kind}) and quota id {k!r} "
        f"({_id_kind(k)})): territory ids keep their type, '101' is not 101",
        rows=same,
        fix=f"give the quotas the alignment's id type: quota.index = "
        f"quota.index.astype({cast})",
    )


def _short_history_fix(p0: pd.Period, L: int, h0: pd.Period, h1: pd.Period) -> str:
    """The fix for a period of ``L`` months from ``p0`` whose default prior
    starts before the history ``h0..h1``: only periods that fit, with their
    ``L`` months before them, in the history (``h0 + 2L - 1 <= h1``)."""
    fixes = []
    first, last = h0 + L, h1 - L + 1  # the starts of L-month periods that fit
    if first <= last:
        fixes.append(
            f"choose a later period starting from {first} to {last}: it and "
            f"the {months_text(L)} before it are in the history"
            if first < last
            else f"choose the later period {first}..{h1}: it and the "
            f"{months_text(L)} before it are in the history"
        )
    room = (p0 - h0).n
    if 0 < room < L:
        fixes.append(
            f"choose a shorter period of at most {months_text(room)} from {p0}"
        )
    half = ((h1 - h0).n + 1) // 2  # the longest period whose prior fits too
    if first > last and half > max(room, 0):
        fixes.append(
            f"choose a period of at most {months_text(half)} (half the "
            f"history), such as {h1 - half + 1}..{h1} with the prior "
            f"{h1 - 2 * half + 1}..{h1 - half}"
        )
    fixes.append(f"add the history of {p0 - L}..{h0 - 1}")
    return (
        "; or ".join(fixes) + f" (an explicit prior=(first, last) of "
        f"{months_text(L)} before {p0} cannot help: the history starts at {h0})"
    )


def _ranks(key: np.ndarray, terr: list[Hashable], rank_by: str) -> np.ndarray:
    """Ranks within each draw (1 = highest ``key``) of the territories whose
    KPI is a number in every draw; NaN, with a warning naming them, for the
    others (a penetration without potential is unknown, not the worst)."""
    ok = np.isfinite(key).all(axis=0)
    ranks = np.full(key.shape, np.nan)
    ranks[:, ok] = (-key[:, ok]).argsort(axis=1).argsort(axis=1) + 1.0
    if not ok.all():
        off = [terr[i] for i in np.flatnonzero(~ok)]
        shown = first_few(off, 10)
        why, fix = "", f"rank_by another KPI than {rank_by!r}"
        if rank_by == "penetration":
            why = " (their potential is 0 or missing)"
            fix = (
                "give their units a potential > 0 (units.potential), or "
                "rank_by='growth' or 'sales'"
            )
        warnings.warn(
            f"performance: the {rank_by} of {len(off)} of {len(terr)} territories "
            f"is not a number ({shown}){why}, so they are not ranked: their "
            f"rank_mean, rank_lo, rank_hi and p_top are NaN and the other "
            f"{int(ok.sum())} are ranked among themselves. Fix: {fix}",
            TerrakitWarning,
            stacklevel=3,
        )
    return ranks


def performance(
    study: Any,
    alignment: Alignment | str = "current",
    period: tuple[Any, Any] = ("2025-01", "2025-12"),
    *,
    prior: tuple[Any, Any] | None = None,
    quota: Mapping[Hashable, float] | pd.Series | None = None,
    rank_by: RankBy | None = None,
    interval: float = 0.9,
    sampler_config: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> PerformanceResult:
    """Territory KPIs — sales, growth, penetration, attainment — ranked with intervals.

    Parameters
    ----------
    study
        The study (history per account or unit; units with ``potential`` for
        penetration).
    alignment
        The alignment (or its name).
    period
        ``(first, last)`` month of the analysis period, inclusive.
    prior
        The comparison period, of the same length as ``period``.  Default: for
        a period shorter than a year, the same months one year earlier (year
        over year) when the history reaches back that far, else the months
        right before ``period`` (with a warning when those share no calendar
        month with ``period``: growth then cannot be told from the seasonal
        swing); for a year or longer, the months right before ``period``.
    quota
        ``{territory: quota for the period}``; attainment is NaN without it.
    rank_by
        KPI to rank on; default ``"attainment"`` with quotas, else
        ``"growth"``.
    interval
        Probability mass of the equal-tailed intervals.
    sampler_config
        Overrides of :data:`terrakit._sampling.DEFAULT_SAMPLER_CONFIG`
        (this model defaults to ``target_accept=0.9``, ``draws=1000``).
    seed
        Sampler seed.

    Returns
    -------
    PerformanceResult

    Raises
    ------
    NotAStudyError
        ``study`` is no Study (e.g. its units table, or a file path).
    DataValidationError
        No history, months without history (outside it, or in a gap inside
        it; the default prior period included: the fix names only periods
        that fit in the history with their prior), territories with months
        without sales, quotas missing or not positive for some territories,
        a territory given two quotas, quota ids that match the territories
        only as text (``'101'`` for ``101``).
    SpecificationError
        Periods of different length, an empty period, an unknown ``rank_by``,
        a month that is not one month (a bare year, a quarter, a date such as
        '1/7/2025' that can be read day-first or month-first).

    Warns
    -----
    TerrakitWarning
        The prior and the analysis period share no calendar month, so the
        seasons of their months are not separable from growth (growth
        intervals then rest on the prior of the season effects); units
        without a ``potential`` (NaN): their territories' penetration is NaN,
        as in :func:`terrakit.metrics.territory_kpis` (an unknown potential
        is not 0); territories whose ``rank_by`` KPI is not a number (a
        penetration without potential) are not ranked: their ``rank_mean``,
        ``rank_lo``, ``rank_hi`` and ``p_top`` are NaN and the others are
        ranked among themselves.

    Notes
    -----
    With monthly log sales :math:`y_{tpm}` of territory :math:`t`, period
    :math:`p \\in \\{0 = \\text{prior}, 1 = \\text{analysis}\\}` and month
    :math:`m` (season :math:`s(m)`, the calendar month of that month, in the
    prior period as in the analysis period):

    .. math::

        y_{tpm} \\sim \\mathcal N(a_t + g_t\\,p + \\gamma_{s(m)},\\ \\sigma_t),\\quad
        a_t \\sim \\mathcal N(\\bar y_t, 1),\\quad
        g_t \\sim \\mathcal N(\\mu_g, \\tau_g),

    with :math:`\\bar y_t` the territory's mean log sales over both periods
    (a weakly informative prior: levels are not pooled),
    :math:`\\mu_g \\sim \\mathcal N(0, 0.2)`,
    :math:`\\tau_g \\sim \\mathcal N^+(0.1)` (growth is partially pooled
    towards the company trend; the centred form samples best because
    territory totals are precise), :math:`\\gamma` zero-sum over the calendar
    months of both periods with scale 0.3, :math:`\\sigma_t \\sim \\mathcal
    N^+(0.3)`.  Growth is identified against the seasons through the calendar
    months the two periods share; hence the year-over-year default prior for
    periods shorter than a year (sales of July-December against those of
    January-June would otherwise count the seasonal swing as growth).

    Derived per draw: expected sales :math:`S_t = \\sum_m \\exp(a_t + g_t +
    \\gamma_{s(m)} + \\sigma_t^2/2)`, growth :math:`e^{g_t} - 1`, penetration
    :math:`S_t \\cdot 12/L / \\text{potential}_t`, attainment :math:`S_t /
    q_t`; ranks are computed within every draw (1 = highest), so rank
    intervals carry the uncertainty of the KPIs.

    Examples
    --------
    >>> res = performance(study, "current", ("2025-01", "2025-12"))  # doctest: +SKIP
    >>> res.to_frame()[["growth_mean", "growth_lo", "growth_hi"]]  # doctest: +SKIP
    """
    from terrakit.metrics import _alignment, _labels, _potential_sums

    # the units table or a file path died in a bare AttributeError
    require_study(
        study,
        "a Study with a sales history",
        table="history",
        fix="tk.Study(units, accounts=accounts, history=history), or "
        "tk.Study.load(path) for a saved study",
        caller="tk.realign.performance",
    )
    interval = check_interval(interval)
    seed = check_seed(seed)
    p0, p1 = month_range(period, "period")
    months = pd.period_range(p0, p1, freq="M")
    L = len(months)
    hist = unit_history(study)
    h0, h1 = hist["period"].min(), hist["period"].max()
    if prior is None:
        q0, q1 = p0 - L, p0 - 1
        default = f"the {months_text(L)} before the period"
        if L < 12 and h0 <= p0 - 12:
            q0, q1 = p0 - 12, p1 - 12  # year over year: same calendar months
            default = "the same months a year earlier"
        prior_span = f"the prior period {q0}..{q1} (default: {default} {p0}..{p1})"
        # the default prior ends right before the period: a prior outside the
        # history starts before it, and so would any other prior of L months
        prior_fix = _short_history_fix(p0, L, h0, h1)
    else:
        q0, q1 = month_range(prior, "prior")
        prior_span = f"the prior period {q0}..{q1}"
        prior_fix = f"choose a prior period inside the history ({h0}..{h1})"
    prior_months = pd.period_range(q0, q1, freq="M")
    if len(prior_months) != L:
        raise SpecificationError(
            f"the prior period {q0}..{q1} has {len(prior_months)} months, the "
            f"analysis period {p0}..{p1} has {L}; give periods of equal length"
        )
    if q1 >= p0:
        raise SpecificationError(
            f"the prior period {q0}..{q1} does not end before the analysis period "
            f"{p0}..{p1} starts, so growth would compare a period with itself or "
            f"with a later one; give an earlier prior, e.g. ({p0 - L}, {p0 - 1})"
        )
    cfg = merge_sampler_config(sampler_config, DEFAULT_SAMPLER_OVERRIDES)
    al = _alignment(study, alignment)
    units = study.unit_measures()
    labels = _labels(units.index, al)
    prior_season = np.array([p.month - 1 for p in prior_months])
    season = np.array([p.month - 1 for p in months])
    if not set(prior_season) & set(season):
        warnings.warn(
            f"the prior period {q0}..{q1} shares no calendar month with the "
            f"analysis period {p0}..{p1}, so growth cannot be told from the "
            "seasonal swing between them (its interval rests on the prior of "
            f"the season effects). Fix: compare with the same months a year "
            f"earlier, prior=({p0 - 12}, {p1 - 12}), with history from {p0 - 12}",
            TerrakitWarning,
            stacklevel=2,
        )
    cur = territory_panel(
        hist,
        labels,
        months,
        span=f"the period {p0}..{p1}",
        outside_fix=f"choose a period inside the history ({h0}..{h1})",
        avoid="a period",
    )
    pri = territory_panel(
        hist,
        labels,
        prior_months,
        span=prior_span,
        outside_fix=prior_fix,
        avoid="a prior=(first, last)",
    )
    check_positive(cur, "performance")
    check_positive(pri, "performance")
    terr = list(cur.index)
    # quotas
    q = None
    if quota is not None:
        qs = _quota_series(quota)
        _check_quota_ids(qs.index, terr)
        bad = [t for t in terr if t not in qs.index or not qs.get(t, np.nan) > 0]
        if bad:
            raise DataValidationError(
                "quota",
                None,
                f"{len(bad)} territories have no positive quota",
                rows=bad,
                fix="give a quota > 0 for every territory of the alignment",
            )
        q = qs.reindex(terr).to_numpy()
    if rank_by is None:
        rank_by = "attainment" if q is not None else "growth"
    if rank_by not in ("sales", "growth", "penetration", "attainment"):
        raise SpecificationError(
            f"rank_by must be 'sales', 'growth', 'penetration' or 'attainment', "
            f"got {rank_by!r}"
        )
    if rank_by == "attainment" and q is None:
        raise SpecificationError("rank_by='attainment' needs quota=...")
    pot = None
    if "potential" in units.columns:
        # a territory with a unit of unknown potential gets NaN (with a
        # warning), as in metrics.territory_kpis: counted as 0, it would
        # overstate the penetration
        sums = _potential_sums(units, labels, terr)
        pot = sums.where(sums > 0).to_numpy(dtype=float)
    if rank_by == "penetration" and pot is None:
        raise SpecificationError(
            "rank_by='penetration' needs a potential column on the units"
        )
    model = build_performance_model(
        np.log(pri.to_numpy()), np.log(cur.to_numpy()), season, terr, prior_season
    )
    run = sample(model, cfg, seed=seed, var_names=_VARS)
    diag = diagnose(
        run.idata,
        ["level", "log_growth", "sigma"],
        method=run.method,
        rhat_max=float(cfg["rhat_max"]),
        ess_min=float(cfg["ess_min"]),
        stacklevel=3,
        advi_check=run.advi_check,
    )
    post = run.idata.posterior

    def flat(name: str) -> np.ndarray:
        v = np.asarray(post[name].values, dtype=float)
        return v.reshape(-1, *v.shape[2:])

    a, g, sig = flat("level"), flat("log_growth"), flat("sigma")
    gam = flat("season")
    seasons = np.unique(np.concatenate([prior_season, season]))
    s_idx = np.searchsorted(seasons, season)
    # expected sales of the analysis period, per draw and territory
    sales = np.exp(a + g + 0.5 * sig**2)[:, :, None] * np.exp(gam[:, s_idx])[:, None, :]
    sales = sales.sum(axis=2)
    kpis: dict[str, np.ndarray] = {
        "sales": sales,
        "growth": np.expm1(g),
        "penetration": sales * (12.0 / L) / pot[None, :]
        if pot is not None
        else np.full_like(sales, np.nan),
        "attainment": sales / q[None, :]
        if q is not None
        else np.full_like(sales, np.nan),
    }
    ranks = _ranks(kpis[rank_by], terr, str(rank_by))
    table = pd.DataFrame(index=pd.Index(terr, name="territory_id"))
    table["sales"] = cur.sum(axis=1)
    table["prior_sales"] = pri.sum(axis=1)
    table["growth_obs"] = table["sales"] / table["prior_sales"] - 1.0
    for name, x in kpis.items():
        lo, hi = quantiles(x, interval)
        table[f"{name}_mean"] = x.mean(axis=0)
        table[f"{name}_lo"] = lo
        table[f"{name}_hi"] = hi
    rlo, rhi = quantiles(ranks, interval)
    table["rank_mean"] = ranks.mean(axis=0)
    table["rank_lo"] = np.floor(rlo)
    table["rank_hi"] = np.ceil(rhi)
    table["p_top"] = np.where(np.isnan(ranks).any(axis=0), np.nan, (ranks == 1).mean(0))
    table = table.sort_values(["rank_mean", "sales"], ascending=[True, False])
    draws = {k: pd.DataFrame(v, columns=pd.Index(terr)) for k, v in kpis.items()}
    draws["rank"] = pd.DataFrame(ranks, columns=pd.Index(terr))
    run.idata.attrs.update(
        {"model": "terrakit.realign.performance", "alignment": al.name}
    )
    prov = make_provenance(
        "realign/performance",
        seed=seed,
        config={
            "period": [str(p0), str(p1)],
            "prior": [str(q0), str(q1)],
            "rank_by": rank_by,
            "interval": interval,
            "sampler": {k: v for k, v in cfg.items() if k != "progressbar"},
        },
        alignment=al.name,
    )
    return PerformanceResult(
        table=table,
        period=(str(p0), str(p1)),
        prior=(str(q0), str(q1)),
        rank_by=str(rank_by),
        interval=float(interval),
        idata=run.idata,
        diagnostics=diag,
        provenance=prov,
        draws=draws,
    )

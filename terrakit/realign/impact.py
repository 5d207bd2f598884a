"""Did the realignment work?  Bayesian difference-in-differences.

:func:`impact` compares the monthly sales of the territories whose units
changed at a realignment (treated) with those of territories that kept their
units (controls), before and after the change date, and returns the effect
with an interval and the sampler diagnostics.  Territories are matched by
their set of units, not by their ids: a territory that was only renamed
(the same units under a new id) is a control (see
:func:`treated_territories`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from terrakit._runargs import check_seed
from terrakit._sampling import Diagnostics, diagnose, merge_sampler_config, sample
from terrakit.data.alignment import Alignment, make_provenance
from terrakit.exceptions import DataValidationError, SpecificationError
from terrakit.realign._panel import (
    check_interval,
    check_positive,
    month_range,
    quantiles,
    territory_panel,
    to_period,
    unit_history,
)

__all__ = ["ImpactResult", "build_impact_model", "impact", "treated_territories"]

_VARS = [
    "effect",
    "sigma",
    "trend_sd",
    "shift_sd",
    "territory_effect",
    "month_effect",
    "territory_trend",
    "territory_shift",
]

#: Fewest months the window must hold before and after the change date.
MIN_MONTHS = 2


def check_territory_ids(
    before_ids: Any, after_ids: Any, before_name: Any, after_name: Any
) -> None:
    """Refuse two alignments whose territory ids differ only in type.

    When no territory id of ``after`` is one of ``before`` but some are
    equal as text (``'1'`` and ``1``: one alignment read from a file, one
    built in Python), every territory would look changed.

    Raises
    ------
    DataValidationError
        Naming the ids that match only as text and their types.
    """
    from terrakit.data.validation import ids_equal_only_as_text

    pairs = ids_equal_only_as_text(before_ids, after_ids)
    if not pairs:
        return
    same = [g for g, _ in pairs]
    t, o = pairs[0]
    raise DataValidationError(
        "alignment",
        "territory_id",
        f"no territory id of {after_name!r} is a territory id of {before_name!r}, "
        f"but {len(same)} are equal as text (e.g. {t!r} ({type(t).__name__}) in "
        f"{after_name!r} and {o!r} ({type(o).__name__}) in {before_name!r}): "
        "territory ids keep their type: '1' is not 1",
        rows=same,
        fix="give both alignments territory ids of one type, e.g. "
        "Alignment(al.assignment.astype(str), name=al.name)",
    )


def treated_territories(before: Alignment, after: Alignment) -> pd.Series:
    """``True`` for every territory of ``after`` whose set of units changed.

    Territories are matched by their set of units, not by their ids: a
    territory of ``after`` is a control when some territory of ``before``
    held exactly its units (under the same id, or under another one: a
    territory that was only renamed sells what it sold before); otherwise
    it is treated.

    Returns
    -------
    pandas.Series
        Boolean, indexed by the territories of ``after``; ``attrs["renamed"]``
        maps the id under ``before`` to the id under ``after`` of every
        control that was renamed.

    Raises
    ------
    DataValidationError
        The two alignments' territory ids differ only in type ('1' and 1).
    """
    check_territory_ids(before.territories, after.territories, before.name, after.name)

    def unit_sets(al: Alignment) -> dict[Any, frozenset[Any]]:
        s = al.assignment
        groups: dict[Any, set[Any]] = {}
        for u, t in zip(s.index.tolist(), s.tolist(), strict=True):
            groups.setdefault(t, set()).add(u)
        return {t: frozenset(us) for t, us in groups.items()}

    held_by = {units: t for t, units in unit_sets(before).items()}
    now = unit_sets(after)
    out, renamed = {}, {}
    for t in after.territories:
        old = held_by.get(now[t])
        out[t] = old is None
        if old is not None and old != t:
            renamed[old] = t
    res = pd.Series(out, name="treated", dtype=bool).rename_axis("territory_id")
    res.attrs["renamed"] = renamed
    return res


def build_impact_model(
    log_sales: np.ndarray, treated: np.ndarray, post: np.ndarray
) -> Any:
    """The PyMC model behind :func:`impact` (see its Notes).

    Parameters
    ----------
    log_sales
        ``territories × months`` log sales.
    treated
        Boolean per territory.
    post
        Boolean per month (on or after the change date).

    Returns
    -------
    pymc.Model
    """
    import pymc as pm

    T, M = log_sales.shape
    p = post.astype(float)
    d = (treated[:, None] & post[None, :]).astype(float)
    center = log_sales.mean(axis=1)
    # time in years, centred on the window, for the territory trends
    years = (np.arange(M, dtype=float) - (M - 1) / 2.0) / 12.0
    with pm.Model(coords={"territory": np.arange(T), "month": np.arange(1, M)}) as m:
        alpha = pm.Normal("territory_effect", center, 2.0, dims="territory")
        gamma_free = pm.Normal("month_effect", 0.0, 1.0, dims="month")
        gamma = pm.math.concatenate([np.zeros(1), gamma_free])
        trend_sd = pm.HalfNormal("trend_sd", 0.1)
        trend_z = pm.Normal("trend_z", 0.0, 1.0, dims="territory")
        trend = pm.Deterministic(
            "territory_trend", trend_sd * trend_z, dims="territory"
        )
        shift_sd = pm.HalfNormal("shift_sd", 0.1)
        shift_z = pm.Normal("shift_z", 0.0, 1.0, dims="territory")
        shift = pm.Deterministic(
            "territory_shift", shift_sd * shift_z, dims="territory"
        )
        effect = pm.Normal("effect", 0.0, 0.5)
        sigma = pm.HalfNormal("sigma", 0.5)
        mu = (
            alpha[:, None]
            + gamma[None, :]
            + trend[:, None] * years[None, :]
            + shift[:, None] * p[None, :]
            + effect * d
        )
        pm.Normal("log_sales", mu, sigma, observed=log_sales)
    return m


@dataclass(frozen=True)
class ImpactResult:
    """Effect of a realignment on monthly sales, with its uncertainty.

    Attributes
    ----------
    effect_mean, effect_lo, effect_hi
        The DiD effect :math:`\\delta` on log monthly sales (posterior mean and
        equal-tailed interval).
    lift_mean, lift_lo, lift_hi
        The same as a relative change of sales, :math:`e^{\\delta} - 1`.
    p_positive
        Posterior probability that the effect is positive.
    interval
        Probability mass of the intervals.
    treated, controls
        Territory ids in each group (ids of ``after``).
    renamed
        ``{id under before: id under after}`` of the controls that were only
        renamed (the same units under a new id).
    change_date
        First month after the realignment ('YYYY-MM').
    window
        ``(first, last)`` month of the data used.
    pre_trend_gap
        Slope per month of the treated-minus-control mean log sales before
        the change (near 0 supports the parallel-trends assumption).
    panel
        Territories × months sales that entered the model.
    idata, diagnostics, provenance
        Posterior, convergence diagnostics, provenance record.
    """

    effect_mean: float
    effect_lo: float
    effect_hi: float
    lift_mean: float
    lift_lo: float
    lift_hi: float
    p_positive: float
    interval: float
    treated: tuple[Any, ...]
    controls: tuple[Any, ...]
    change_date: str
    window: tuple[str, str]
    pre_trend_gap: float
    panel: pd.DataFrame = field(repr=False)
    idata: Any = field(repr=False)
    diagnostics: Diagnostics = field(repr=False)
    provenance: Mapping[str, Any] = field(default_factory=dict, repr=False)
    renamed: Mapping[Any, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.effect_lo <= self.effect_mean <= self.effect_hi:
            raise ValueError("effect_lo <= effect_mean <= effect_hi must hold")
        if not self.treated or not self.controls:
            raise ValueError("impact needs treated and control territories")

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: ``mean``, ``lo``, ``hi``."""
        return pd.DataFrame(
            {
                "mean": [self.effect_mean, self.lift_mean],
                "lo": [self.effect_lo, self.lift_lo],
                "hi": [self.effect_hi, self.lift_hi],
            },
            index=pd.Index(["log_effect", "lift"], name="quantity"),
        )

    def summary(self) -> str:
        """Rounded, stable text."""
        pct = f"{self.interval:.0%}"
        return "\n".join(
            [
                f"Realignment impact at {self.change_date} "
                f"({self.window[0]}..{self.window[1]}): {len(self.treated)} "
                f"treated vs {len(self.controls)} control territories",
                f"  sales lift {self.lift_mean:+.1%} ({pct} interval "
                f"{self.lift_lo:+.1%} to {self.lift_hi:+.1%}); "
                f"P(lift > 0) = {self.p_positive:.2f}",
                f"  pre-period trend gap {self.pre_trend_gap:+.4f} log/month",
                "  " + self.diagnostics.summary(),
            ]
        )

    def __str__(self) -> str:
        return self.summary()


def impact(
    study: Any,
    before: Alignment | str,
    after: Alignment | str,
    change_date: Any,
    *,
    window: tuple[Any, Any] | None = None,
    interval: float = 0.9,
    sampler_config: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> ImpactResult:
    """Estimate the effect of a realignment on sales (Bayesian DiD).

    Parameters
    ----------
    study
        The study with monthly history (per account or unit).
    before, after
        Alignments before and after the change (or their names).
    change_date
        First month under ``after`` ('YYYY-MM').
    window
        ``(first, last)`` months to use; default the whole history.
    interval
        Probability mass of the equal-tailed intervals.
    sampler_config
        Overrides of :data:`terrakit._sampling.DEFAULT_SAMPLER_CONFIG`.
    seed
        Sampler seed.

    Returns
    -------
    ImpactResult

    Raises
    ------
    SpecificationError
        No treated or no control territory, or the change date leaves fewer
        than :data:`MIN_MONTHS` months before or after it in the window; a
        window that ends before it starts; a bad ``seed`` or ``interval``;
        a ``change_date`` or ``window`` month that is not one month (a bare
        year, a quarter, a month name without a year, a date such as
        '1/7/2025' that can be read day-first or month-first).
    DataValidationError
        Months without history (outside it, or in a gap inside it),
        territories with months without sales, territory ids of the two
        alignments that differ only in type ('1' and 1).

    Notes
    -----
    Territories are those of ``after``, each with a fixed set of units over
    the whole window, so the sales series compare like with like.  Territory
    :math:`t` is *treated* (:math:`D_t = 1`) when no territory of ``before``
    held exactly its units; a territory that kept its units, under its id or
    a new one (a rename, listed in ``renamed``), is a control.  With
    :math:`y_{tm}` the log sales of territory :math:`t` in month :math:`m`
    and :math:`P_m = 1` from ``change_date`` on:

    .. math::

        y_{tm} \\sim \\mathcal N(\\alpha_t + \\gamma_m + \\beta_t x_m +
        (\\delta\\,D_t + u_t) P_m,\\ \\sigma),

    :math:`\\alpha_t \\sim \\mathcal N(\\bar y_t, 2)` (territory levels),
    :math:`\\gamma_1 = 0`, :math:`\\gamma_m \\sim \\mathcal N(0, 1)` (shocks
    and seasons common to all territories), :math:`\\beta_t \\sim \\mathcal
    N(0, \\sigma_\\beta)` with :math:`x_m` the time in years from the middle of
    the window (each territory's own growth around the common one),
    :math:`u_t \\sim \\mathcal N(0, \\sigma_u)` (each territory's own shift
    after the change date, controls included), :math:`\\sigma_\\beta,
    \\sigma_u \\sim \\mathcal N^+(0.1)`, :math:`\\delta \\sim \\mathcal
    N(0, 0.5)`, :math:`\\sigma \\sim \\mathcal N^+(0.5)`.  The effect is
    :math:`\\delta` (log scale) and the lift :math:`e^\\delta - 1`.

    Why the trends and the shifts: territories grow at different rates
    (1-10 % a year on the sample study), so around common month effects their
    residuals run in long streaks, and a model with independent monthly noise
    counts every month as new evidence: its intervals were about three times
    too narrow, and 57 % of random placebo splits of the sample study (no
    realignment at all) excluded 0 at 90 %.  The partially pooled trends
    :math:`\\beta_t` take each territory's growth out of the comparison
    (parallel trends are then assumed *around* each territory's own trend),
    and the shifts :math:`u_t` make the territory, not the territory-month,
    the unit of evidence for the effect: :math:`\\delta` is judged against
    how much the controls' post-period levels scatter, which is what a
    placebo split measures.  On the sample study the posterior sd of
    :math:`\\delta` then matches the spread of the estimate over random
    placebo splits, and the 90 % intervals cover 0 in about 90 % of them.
    ``pre_trend_gap`` reports the pre-period slope of the treated-minus-control
    gap as a check of the raw data.

    Examples
    --------
    >>> res = impact(study, "current", "proposed", "2025-07")  # doctest: +SKIP
    >>> print(res.summary())  # doctest: +SKIP
    """
    from terrakit.metrics import _alignment, _labels

    interval = check_interval(interval)
    seed = check_seed(seed)
    cfg = merge_sampler_config(sampler_config)
    units = study.units
    a0, a1 = _alignment(study, before), _alignment(study, after)
    before_labels = _labels(units.index, a0, "before alignment")
    labels = _labels(units.index, a1, "after alignment")
    # compare the two on the study's unit ids (an alignment read with numeric
    # ids and one with text ids must not make every territory look changed)
    a0 = Alignment(before_labels, name=a0.name, provenance=a0.provenance)
    a1 = Alignment(labels, name=a1.name, provenance=a1.provenance)
    hist = unit_history(study)
    change = to_period(change_date, "change_date")
    if window is None:
        w0, w1 = hist["period"].min(), hist["period"].max()
    else:
        w0, w1 = month_range(window, "window")
    months = pd.period_range(w0, w1, freq="M")
    post = np.asarray(months >= change)
    n_pre, n_post = int((~post).sum()), int(post.sum())
    if n_pre < MIN_MONTHS or n_post < MIN_MONTHS:
        first, last = w0 + MIN_MONTHS, w1 - MIN_MONTHS + 1
        fix = (
            f"choose a change_date from {first} to {last}"
            if first <= last
            else f"use a window of at least {2 * MIN_MONTHS} months"
        )
        raise SpecificationError(
            f"change_date {change} leaves {n_pre} months before and {n_post} after "
            f"it in the window {w0}..{w1}; the difference in differences needs at "
            f"least {MIN_MONTHS} months on each side (two before for the "
            "pre-period trend check, two after so that a one-month shock is not "
            f"taken for the effect). Fix: {fix}"
        )
    treated = treated_territories(a0, a1)
    n_t, n_c = int(treated.sum()), int((~treated).sum())
    if n_t == 0 or n_c == 0:
        raise SpecificationError(
            f"impact needs treated and control territories: {n_t} territories "
            f"changed their units and {n_c} kept them. Fix: compare alignments "
            "that differ in some territories but not all"
        )
    renamed = dict(treated.attrs["renamed"])
    # without a window the months are the history's own: only gaps can miss
    panel = territory_panel(
        hist,
        labels,
        months,
        span=f"the window {w0}..{w1}",
        outside_fix="choose a window inside the history",
        avoid="a window=(first, last)",
    )
    check_positive(panel, "impact")
    d = treated.reindex(panel.index).to_numpy(bool)
    y = np.log(panel.to_numpy())
    model = build_impact_model(y, d, post)
    run = sample(model, cfg, seed=seed, var_names=_VARS)
    diag = diagnose(
        run.idata,
        ["effect", "sigma"],
        method=run.method,
        rhat_max=float(cfg["rhat_max"]),
        ess_min=float(cfg["ess_min"]),
        stacklevel=3,
        advi_check=run.advi_check,
    )
    delta = np.asarray(run.idata.posterior["effect"].values, dtype=float).ravel()
    lo, hi = quantiles(delta, interval)
    lift = np.expm1(delta)
    llo, lhi = quantiles(lift, interval)
    gap = y[d].mean(axis=0) - y[~d].mean(axis=0)
    pre = ~post
    pre_slope = (
        float(np.polyfit(np.arange(int(pre.sum())), gap[pre], 1)[0])
        if pre.sum() >= 2
        else float("nan")
    )
    run.idata.attrs.update({"model": "terrakit.realign.impact"})
    prov = make_provenance(
        "realign/impact",
        seed=seed,
        config={
            "change_date": str(change),
            "window": [str(w0), str(w1)],
            "interval": interval,
            "sampler": {k: v for k, v in cfg.items() if k != "progressbar"},
        },
        before=a0.name,
        after=a1.name,
        renamed=[[old, new] for old, new in renamed.items()],
    )
    return ImpactResult(
        effect_mean=float(delta.mean()),
        effect_lo=float(lo),
        effect_hi=float(hi),
        lift_mean=float(lift.mean()),
        lift_lo=float(llo),
        lift_hi=float(lhi),
        p_positive=float((delta > 0).mean()),
        interval=float(interval),
        treated=tuple(panel.index[d]),
        controls=tuple(panel.index[~d]),
        change_date=str(change),
        window=(str(w0), str(w1)),
        pre_trend_gap=pre_slope,
        panel=panel,
        idata=run.idata,
        diagnostics=diag,
        provenance=prov,
        renamed=renamed,
    )

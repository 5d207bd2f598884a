"""Territory targets (quotas) from a sales forecast, with their chance of attainment."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from terrakit.data.alignment import Alignment
from terrakit.data.validation import check_unique_ids, warn_potential_below_sales
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)
from terrakit.forecast.forecaster import (
    SalesForecast,
    _id_type_hint,
    _plain,
    _unit_keyed,
    check_finite_draws,
)

__all__ = ["QuotaResult", "quota"]

QuotaMethod = Literal["share_of_potential", "growth"]


@dataclass(frozen=True)
class QuotaResult:
    """Proposed territory targets over the forecast horizon.

    Attributes
    ----------
    table
        Index ``territory_id``; columns ``target``, ``forecast_mean``,
        ``forecast_lo80``, ``forecast_hi80`` and ``p_attain`` (posterior
        probability that the territory's sales reach its target); growth
        quotas add ``base`` first, the year-ago sales the target is
        ``base × (1 + growth)`` of.
    method
        ``"share_of_potential"`` or ``"growth"``.
    company_target
        The sum of the targets.
    provenance
        The forecast's provenance (seed, configuration, versions) with the
        alignment and the quota settings added: ``provenance["quota"]``
        holds ``method``, ``total``, ``potential`` and, for growth quotas,
        ``growth`` (the rate applied, given or the default) and
        ``growth_from`` (``"given"`` or ``"forecast"``).  ``potential`` is
        what ``share_of_potential`` split the company target by:
        ``"given"`` (``potential=``), or the study's column,
        ``"units.potential"``, ``"units.sales"`` or
        ``"accounts.annual_sales"`` (summed by unit); ``None`` for growth
        quotas.
    """

    table: pd.DataFrame
    method: str
    company_target: float
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        need = {"target", "forecast_mean", "p_attain"}
        if not need <= set(self.table.columns):
            raise ValueError(f"quota table needs columns {sorted(need)}")
        p = self.table["p_attain"].to_numpy()
        if ((p < 0) | (p > 1)).any():
            raise ValueError("p_attain must lie in [0, 1]")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        """Rounded, stable text.

        Amounts are whole numbers with thousands separators; ``p_attain`` is a
        percentage with one decimal (as in the study report's table).  The
        targets (and growth bases) are rounded by largest remainder, so that
        they add up to the company target (and base) printed above them.
        Growth quotas also give the growth rate applied to the base,
        ``share_of_potential`` quotas the column the target was split by.
        """

        def amount(x: Any) -> str:
            if pd.isna(x):
                return "–"
            return f"{(round(float(x)) or 0):,.0f}"  # never '-0'

        def percent(x: Any) -> str:
            if pd.isna(x):
                return "–"
            return f"{(round(100 * float(x), 1) or 0.0):.1f} %"

        t = pd.DataFrame(index=self.table.index)
        # the printed target adds up to the printed company target
        sums = {"target": self.company_target}
        if "base" in self.table:
            sums["base"] = float(self.table["base"].sum())
        for c in self.table.columns:
            v = self.table[c]
            whole = _whole_summing_to(v, sums[c]) if c in sums else None
            if whole is not None:
                t[c] = [f"{x:,d}" for x in whole]
            elif str(c).startswith("p_"):
                t[c] = v.map(percent)
            elif pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
                t[c] = v.map(amount)
            else:
                t[c] = v.astype(str)
        quota = self.provenance.get("quota")
        g = quota.get("growth") if isinstance(quota, Mapping) else None
        rate = (
            f"; growth {(round(100 * float(g), 1) or 0.0):+.1f} % on the base "
            f"{amount(self.table['base'].sum())}"
            if self.method == "growth" and g is not None and "base" in self.table
            else ""
        )
        src = quota.get("potential") if isinstance(quota, Mapping) else None
        if self.method == "share_of_potential" and src:
            rate = "; split by " + {
                "given": "the potential given",
                "accounts.annual_sales": "accounts.annual_sales (summed by unit)",
            }.get(str(src), str(src))
        return (
            f"Quotas ({self.method}): company target {self.company_target:,.0f}"
            f"{rate}\n" + t.to_string()
        )


def quota(
    forecast: SalesForecast,
    alignment: Alignment,
    method: QuotaMethod = "share_of_potential",
    *,
    total: float | None = None,
    growth: float | None = None,
    potential: pd.Series | None = None,
) -> QuotaResult:
    """Propose a target per territory for the forecast horizon.

    Parameters
    ----------
    forecast
        Series-level forecast (:meth:`FittedSalesForecaster.predict`), not
        the :class:`TerritoryForecast` that ``forecast.by(alignment)`` gives.
    alignment
        The alignment whose territories get targets.
    method
        ``"share_of_potential"``: the company target is split in proportion to
        each territory's potential (units' ``potential``, else ``sales``);
        ``"growth"``: each territory's sales in the same months one year
        earlier (its *base*), times ``1 + growth``, for a horizon of at most
        12 months (4 quarters); see Notes for series with unobserved base
        months.
    total
        Company target for ``share_of_potential`` (default: the forecast's
        mean company total over the horizon).
    growth
        Growth rate for ``"growth"``, a fraction in (-1, 1) (default: the
        forecast's mean company growth over the same months a year earlier,
        like for like: computed from the series observed in every base month).
    potential
        Potential per unit for ``share_of_potential`` (overrides the study's
        column).  Unit ids of another type that are the same ids
        (``'13121'`` for ``13121``) are read as the forecast's, as
        :mod:`terrakit.metrics` reads them.

    Returns
    -------
    QuotaResult
        Growth quotas add a ``base`` column, and record the growth rate
        applied (given or the default) in ``provenance["quota"]["growth"]``
        and in :meth:`QuotaResult.summary`; ``share_of_potential`` quotas
        record the potential split by (``"given"`` or the study's column,
        e.g. ``"units.potential"``) in ``provenance["quota"]["potential"]``
        and in the summary.

    Raises
    ------
    TypeError
        When ``forecast`` is not a :class:`SalesForecast` (e.g. the
        :class:`TerritoryForecast` of ``forecast.by(alignment)``).
    SpecificationError
        For an unknown method, a ``total`` that is not a positive number, a
        ``growth`` that is not a rate in (-1, 1) (``growth=5`` asks whether
        0.05 was meant), ``total``, ``growth`` or ``potential`` given with
        the method that does not use it, a missing potential, a growth quota
        over a horizon longer than 12 months (4 quarters), or one without
        sales a year before the horizon.
    DataValidationError
        When the forecast's draws hold NaN or infinite sales, the alignment
        misses units or names units the study does not have (see
        :meth:`SalesForecast.by`), a unit's potential is
        missing, not numeric or negative, a unit id appears twice in the
        potential, or the potential of every unit is 0.

    Warns
    -----
    TerrakitWarning
        For ``"growth"``, when series that have not ended have unobserved
        months in the base year; the warning names their territories and
        series with how many months were observed.  For
        ``"share_of_potential"``, when territories that sell have a
        potential of 0, or one below their sales of the
        last year (checked when the potential's total is at least the
        sales'), naming them with both numbers: their target would be 0 or a
        cut and their P(attain) near 1.

    Notes
    -----
    ``p_attain`` is the share of posterior draws in which the territory's
    summed sales over the horizon reach the target — a fair target has a
    probability near the company's and similar across territories.

    Growth bases are built series by series, never reading an unobserved
    month (before a series starts, after it ends, a hole) as 0 sales, which
    made a late starter's base too small and the implied company growth too
    large.  A series observed in every base month contributes its sales; a
    series observed in some of them has its observed sales divided by the
    share of the base-year sales that the fully observed series made in those
    months (by the number of base months over the observed ones when no
    series is fully observed); a series with no observed base month has a
    base of 0.  An ended series forecast at 0 (a lost account, listed in the
    forecast's ``provenance["ended_series"]``, unless predicted with
    ``forecast_ended=True``) contributes the sales it made in the base
    months, never scaled up: its unobserved months are those after it was
    lost, and scaling them up put up to a year of sales it never made into
    its territory's target.  The default ``growth`` is the forecast
    of the fully observed series over their base (of all series when none
    is), so new or patchy series do not inflate it.
    """
    if not isinstance(forecast, SalesForecast):
        got = type(forecast).__name__
        hint = {
            "TerritoryForecast": "that is a forecast already summed by territory "
            "(forecast.by(alignment)); pass the forecast before .by(): "
            "quota(forecast, alignment)",
            "FittedSalesForecaster": "that is the fitted model; pass its "
            "forecast: quota(fitted.predict(horizon=12), alignment)",
        }.get(got, "pass e.g. quota(fitted.predict(horizon=12), alignment)")
        raise TypeError(
            "quota() takes the series-level SalesForecast "
            f"(fitted.predict(horizon=12)), got {got}; {hint}"
        )
    if method not in ("share_of_potential", "growth"):
        raise SpecificationError(
            f"method must be 'share_of_potential' or 'growth', got {method!r}"
        )
    if total is not None:
        if method != "share_of_potential":
            raise SpecificationError(
                f"total={total!r} is only used by method='share_of_potential'; "
                "growth quotas are last year's sales × (1 + growth): pass "
                "growth=... instead"
            )
        if not _finite(total) or total <= 0:
            raise SpecificationError(
                f"total must be a positive company target, got {total!r}"
            )
    if growth is not None:
        if method != "growth":
            raise SpecificationError(
                f"growth={growth!r} is only used by method='growth'; "
                "share_of_potential splits total=... (default: the forecast "
                "total) by potential"
            )
        if not _finite(growth) or growth <= -1:
            raise SpecificationError(
                f"growth must be a rate above -1 (0.05 = +5 %), got {growth!r}"
            )
        if growth >= 1:
            from terrakit._runargs import percent_as_fraction

            raise SpecificationError(
                f"growth must be a rate below 1 (0.05 = +5 %), got {growth!r}; "
                f"did you mean {percent_as_fraction(growth)}? For a target of double "
                "last year's sales or more, use method='share_of_potential' "
                "with total=..."
            )
    if potential is not None and method != "share_of_potential":
        raise SpecificationError(
            "potential=... is only used by method='share_of_potential'; growth "
            "quotas are last year's sales × (1 + growth) and take no potential: "
            "drop potential=, or use method='share_of_potential'"
        )
    check_finite_draws(forecast)
    tf = forecast._by(alignment, stacklevel=3)
    # skipna=False: a NaN must never drop out of a sum (see check_finite_draws).
    # The horizon sums as TerritoryForecast.total() makes them, then float64:
    # a float32 mean over the draws was off by up to 1.5 on millions, so the
    # report's forecast and quota tables showed different whole numbers.
    tot_draws = tf.draws.sum("period", skipna=False).to_numpy().astype(float)  # (D, K)
    terr = tf.draws["territory"].to_numpy()
    mean = tot_draws.mean(axis=0)
    columns: dict[str, np.ndarray] = {}  # growth quotas: the base first
    applied: float | None = None  # the growth rate applied
    source: str | None = None  # share_of_potential: the potential split by
    if method == "share_of_potential":
        pot = forecast.unit_potential if potential is None else potential
        source = "given" if potential is not None else _potential_source(pot)
        if pot is None:
            raise SpecificationError(
                "share_of_potential quotas need a potential per unit; the study's "
                "units have no 'potential' or 'sales' column (and no accounts "
                "with annual_sales to sum). Fix: pass potential=... (a Series by "
                "unit_id, e.g. PotentialResult.to_frame('unit')['potential_mean']) "
                "or use method='growth'"
            )
        if not isinstance(pot, pd.Series | Mapping):
            raise SpecificationError(
                f"potential must be a pandas Series indexed by unit_id, got "
                f"{type(pot).__name__}; e.g. study.units['potential'] or "
                "PotentialResult.to_frame('unit')['potential_mean']"
            )
        pot = pd.to_numeric(pd.Series(pot), errors="coerce").astype(float)
        check_unique_ids(pot, "potential", "unit_id")
        # unit ids as the forecast has them ('13121' for 13121, as by() and
        # terrakit.metrics read them)
        unit_ids = pd.Index(forecast.series_unit.to_numpy())
        assign = _unit_keyed(alignment.assignment, unit_ids)
        pot = _unit_keyed(pot, assign.index)
        missing = assign.index.difference(pot.index)
        if len(missing):
            raise DataValidationError(
                "units",
                "potential",
                f"{len(missing)} units of the alignment have no potential",
                rows=[_plain(u) for u in missing],
                fix="give every unit a potential (0 if none)"
                + _id_type_hint(pot.index, assign.index, "the potential"),
            )
        pot = pot.reindex(assign.index)
        bad = ~np.isfinite(pot.to_numpy()) | (pot.to_numpy() < 0)
        if bad.any():
            raise DataValidationError(
                "units",
                "potential",
                f"{int(bad.sum())} units of the alignment have a missing, "
                "non-numeric or negative potential",
                rows=list(pot.index[bad]),
                n_bad=int(bad.sum()),
                fix="give every unit a potential ≥ 0 (0 if none)",
            )
        by_t = pot.groupby(assign.to_numpy(), sort=False).sum()
        share = by_t.reindex(terr).fillna(0.0).to_numpy()
        if share.sum() <= 0:
            raise DataValidationError(
                "potential",
                None,
                f"the potential of all {len(pot)} units of alignment "
                f"{alignment.name!r} is 0, so it gives no shares to split the "
                "company target by",
                fix="pass the units' potential (e.g. potential="
                "PotentialResult.to_frame('unit')['potential_mean']), or use "
                "method='growth'",
            )
        _warn_potential_below_sales(tf, terr, share)
        company = float(mean.sum()) if total is None else float(total)
        target = company * share / share.sum()
    elif method == "growth":
        h = tf.draws.sizes["period"]
        first_future = tf.draws["period"].to_numpy()[0]
        past = tf.history["period"].to_numpy()
        m = 4 if getattr(first_future, "freqstr", "M").startswith("Q") else 12
        unit = "months" if m == 12 else "quarters"
        last_future = tf.draws["period"].to_numpy()[-1]
        if h > m:
            # the year-ago months of the forecast's last months are its own
            # first months: forecast, never history, however long the history
            raise SpecificationError(
                f"growth quotas compare the forecast with the same {unit} a year "
                f"earlier, so they need a horizon of at most {m} {unit}; the "
                f"forecast's {h} {unit} ({first_future}..{last_future}) would "
                f"compare {first_future + m}..{last_future} with "
                f"{first_future}..{last_future - m}, the forecast's own first "
                f"{unit}, not history. Fix: predict(horizon={m}) for growth "
                "quotas, or use method='share_of_potential'"
            )
        # the same months one year earlier
        want = [first_future - m + i for i in range(h)]
        pos = pd.Index(past).get_indexer(want)
        if (pos < 0).any():
            lacking = [str(p) for p, i in zip(want, pos, strict=True) if i < 0]
            span = (
                f"{past[0]}..{past[-1]} ({len(past)} {unit})"
                if len(past)
                else "no periods"
            )
            raise SpecificationError(
                f"growth quotas compare the forecast's {h} {unit} "
                f"({first_future}..{last_future}) with the same {unit} a year "
                f"earlier ({want[0]}..{want[-1]}), but the history covers "
                f"{span} and lacks {len(lacking)} of them ({', '.join(lacking[:5])}"
                f"{' ...' if len(lacking) > 5 else ''}). Fix: fit on a history "
                f"that reaches back to {want[0]} ({m} {unit} before the forecast "
                "start), or use method='share_of_potential'"
            )
        base, company_growth = _growth_base(forecast, alignment, terr, pos, want)
        if not base.sum() > 0:
            raise SpecificationError(
                f"growth quotas scale the sales of {want[0]}..{want[-1]}, but "
                f"the {len(terr)} territories sold {float(base.sum()):g} then; "
                "use method='share_of_potential'"
            )
        applied = company_growth if growth is None else float(growth)
        target = base * (1.0 + applied)
        company = float(target.sum())
        columns = {"base": base}
    p_attain = (tot_draws >= target[None, :]).mean(axis=0)
    q = np.quantile(tot_draws, [0.1, 0.9], axis=0)
    table = pd.DataFrame(
        columns
        | {
            "target": target,
            "forecast_mean": mean,
            "forecast_lo80": q[0],
            "forecast_hi80": q[1],
            "p_attain": p_attain,
        },
        index=pd.Index(terr, name="territory_id"),
    )
    prov = dict(
        tf.provenance,
        quota={
            "method": method,
            "total": None if total is None else float(total),
            # the rate applied: given, or the forecast's like-for-like growth
            "growth": applied,
            "growth_from": None
            if applied is None
            else ("given" if growth is not None else "forecast"),
            # what share_of_potential split by: given, or the study's column
            "potential": source,
        },
    )
    return QuotaResult(
        table, method, float(target.sum()) if method == "growth" else company, prov
    )


def _growth_base(
    forecast: SalesForecast,
    alignment: Alignment,
    terr: np.ndarray,
    pos: np.ndarray,
    want: list[Any],
) -> tuple[np.ndarray, float]:
    """Like-for-like year-ago base per territory, and the company growth.

    Works on the series (not the territory sums, which hold the observed series
    only: a partial total where some series were not observed).  A series
    observed in every base month contributes its sales; a series observed in
    some of them has its observed sales scaled up by the share of the base
    year's sales that the series observed in every month made in those months
    (by the number of months when no series is complete); a series with no
    observed base month has a base of 0.  An ended series forecast at 0 (a
    lost account: ``provenance["ended_series"]`` without ``forecast_ended``)
    contributes its observed sales only, never scaled up: its unobserved
    months are months after it was lost.  The company growth is the forecast
    over the base of the complete series (of every series when none is
    complete).  Territories whose base holds unobserved months of series
    that are not ended are named in a :class:`TerrakitWarning`.
    """
    h = len(pos)
    hist = np.asarray(forecast.history.to_numpy(), dtype=float)[:, pos]
    seen = np.isfinite(hist)
    y = np.where(seen, hist, 0.0)
    n_seen = seen.sum(axis=1)
    full = n_seen == h
    series = forecast.draws["series"].to_numpy()
    prov = forecast.provenance
    lost = [
        e["series"]
        for e in prov.get("ended_series") or ()
        if isinstance(e, Mapping) and "series" in e
    ]
    ended = (
        pd.Index(series).isin(lost)
        if lost and not prov.get("forecast_ended", False)
        else np.zeros(len(series), dtype=bool)
    )
    fmean = (
        forecast.draws.sum("period", skipna=False, dtype=np.float64)
        .to_numpy()
        .mean(axis=0)
    )
    units = forecast.series_unit.to_numpy()
    assign = _unit_keyed(alignment.assignment, pd.Index(units))
    code = pd.Index(terr).get_indexer(assign.reindex(pd.Index(units)).to_numpy())
    profile = y[full].sum(axis=0)  # base-month sales of the complete series
    base_s = y.sum(axis=1)
    partial = np.flatnonzero(~full & ~ended)
    for i in partial:
        if n_seen[i] == 0:
            continue
        part = float(profile[seen[i]].sum())
        factor = (
            float(profile.sum()) / part
            if full.any() and part > 0
            else h / float(n_seen[i])
        )
        base_s[i] *= factor
    like = full if full.any() and y[full].sum() > 0 else np.ones_like(full)
    growth = (
        float(fmean[like].sum()) / float(base_s[like].sum()) - 1.0
        if base_s[like].sum() > 0
        else float("nan")
    )
    base = np.bincount(code, weights=base_s, minlength=len(terr))
    if len(partial):
        by_t: dict[Any, list[str]] = {}
        for i in partial:
            by_t.setdefault(terr[code[i]], []).append(
                f"{series[i]}: {int(n_seen[i])} of {h} observed"
            )
        named = "; ".join(
            f"{t} ({', '.join(v[:3])}{' ...' if len(v) > 3 else ''})"
            for t, v in list(by_t.items())[:5]
        )
        more = " ..." if len(by_t) > 5 else ""
        quarterly = getattr(want[0], "freqstr", "M").startswith("Q")
        unit = "quarters" if quarterly else "months"
        basis = (
            f"the {int(full.sum())} series observed in every base {unit[:-1]}"
            if like is full
            else f"every series (none is observed in every base {unit[:-1]})"
        )
        warnings.warn(
            f"growth quotas: the year-ago base ({want[0]}..{want[-1]}) of "
            f"{len(by_t)} of the {len(terr)} territories has unobserved "
            f"{unit}: {named}{more}. Unobserved {unit} are not read as 0 "
            f"sales: a series' observed {unit} are scaled up by their share of "
            "the base-year sales of the series observed throughout (a series "
            "with none observed gets a base of 0), and the default growth is "
            f"that of {basis}",
            TerrakitWarning,
            stacklevel=3,
        )
    return base, growth


def _warn_potential_below_sales(tf: Any, terr: np.ndarray, pot: np.ndarray) -> None:
    """Warn about territories whose potential is 0, or below their sales of the
    last year, while they sell: their target would be 0 (or a cut) and their
    P(attain) near 1 (see
    :func:`terrakit.data.validation.warn_potential_below_sales`)."""

    hist = np.nan_to_num(np.asarray(tf.history.to_numpy(), dtype=float))
    periods = tf.history["period"].to_numpy()
    quarterly = len(periods) and getattr(periods[-1], "freqstr", "M").startswith("Q")
    m = 4 if quarterly else 12
    warn_potential_below_sales(
        terr,
        pot,
        hist[:, -m:].sum(axis=1),
        who="share_of_potential",
        sales_of=f"their sales of the last {m} {'quarters' if m == 4 else 'months'}",
        effect="their targets are a cut on what they sell (0 for no potential) "
        "and their P(attain) near 1",
        advice="use method='growth'",
        stacklevel=4,
    )


def _potential_source(pot: Any) -> str | None:
    """Where a forecast's ``unit_potential`` came from: its ``attrs["source"]``
    (set by :func:`~terrakit.forecast.forecaster._unit_potential`), else
    ``"units.<its name>"``."""
    if not isinstance(pot, pd.Series):
        return None
    src = pot.attrs.get("source")
    if src:
        return str(src)
    return f"units.{pot.name}" if pot.name is not None else "study units"


def _whole_summing_to(values: pd.Series, total: float) -> list[int] | None:
    """``values`` rounded to whole numbers that add up to ``round(total)``
    (largest remainder: the values are rounded down, and the units left go to
    the largest fractions, the first on ties); ``None`` when a value is not
    finite or ``total`` is not their sum (to within 1), so that each is
    rounded on its own."""
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return None
    if not len(v) or not np.isfinite(v).all() or not math.isfinite(total):
        return None
    if abs(float(v.sum()) - total) >= 1.0:
        return None
    low = np.floor(v)
    left = int(round(total) - low.sum())
    if not 0 <= left <= len(v):
        return None
    up = np.argsort(-(v - low), kind="stable")[:left]
    low[up] += 1
    return [int(x) or 0 for x in low]


def _finite(v: Any) -> bool:
    return (
        not isinstance(v, bool)
        and isinstance(v, int | float | np.integer | np.floating)
        and math.isfinite(v)
    )

"""Fair sales targets (quotas) per territory, with the chance of reaching them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from terrakit._runargs import as_number, check_seed, is_count, percent_as_fraction
from terrakit.data.validation import (
    check_given_ids,
    check_unique_ids,
    warn_potential_below_sales,
)
from terrakit.exceptions import DataValidationError, SpecificationError
from terrakit.sizing.headcount import _real

__all__ = ["QuotaResult", "quotas"]

Method = Literal["potential_share", "sales_share", "blend", "equal_chance"]


@dataclass(frozen=True)
class QuotaResult:
    """Quotas per territory.

    Attributes
    ----------
    table
        Index ``territory_id``: ``sales`` (last 12 months), ``potential``
        (posterior mean, NaN without potential), ``sales_share``,
        ``potential_share``, ``quota``, ``quota_share``, ``growth``
        (quota / sales − 1) and ``p_attain``.
    total
        Σ quotas.
    method
        How quotas were set.
    provenance
        ``method`` (``"quotas"``), ``seed``, ``config`` (the settings),
        ``alignment`` (the name of the alignment whose territories get the
        quotas), versions and the time it was made.
    """

    table: pd.DataFrame
    total: float
    method: str
    provenance: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        q = self.table["quota"]
        if (q < -1e-9).any():
            raise ValueError("quotas must be >= 0")
        if not np.isclose(q.sum(), self.total, rtol=1e-6):
            raise ValueError(f"quotas sum to {q.sum():,.2f}, not {self.total:,.2f}")
        p = self.table["p_attain"]
        if ((p < 0) | (p > 1)).any():
            raise ValueError("p_attain must lie in [0, 1]")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        """Rounded, stable text."""
        t = self.table
        lines = [
            f"Quotas ({self.method}): total {self.total:,.0f}; P(attain) "
            f"{t['p_attain'].min():.2f}-{t['p_attain'].max():.2f}"
        ]
        for k, r in t.iterrows():
            lines.append(
                f"  {k!s:<8} quota {r['quota']:>14,.0f}  growth "
                f"{r['growth']:>+7.1%}  P(attain) {r['p_attain']:.2f}"
            )
        return "\n".join(lines)


def _unit_sales(study: Any) -> pd.Series:
    units = study.units
    acc, hist = study.accounts, study.history
    if hist is not None and len(hist):
        last = hist["period"] > hist["period"].max() - 12
        h = hist[last]
        if "account_id" in h.columns and acc is not None and "unit_id" in acc.columns:
            u = acc["unit_id"].reindex(h["account_id"].to_numpy()).to_numpy()
            return h["sales"].groupby(u).sum().reindex(units.index, fill_value=0.0)
        if "unit_id" in h.columns:
            return (
                h.groupby("unit_id")["sales"].sum().reindex(units.index, fill_value=0.0)
            )
    if acc is not None and {"unit_id", "annual_sales"} <= set(acc.columns):
        return (
            acc.groupby("unit_id")["annual_sales"]
            .sum()
            .reindex(units.index, fill_value=0.0)
        )
    if "sales" in units.columns:
        return units["sales"].astype(float)
    raise DataValidationError(
        "units",
        "sales",
        "no sales found in history, accounts or units",
        fix="add history, accounts.annual_sales or units.sales",
    )


def _potential_draws(study: Any, potential: Any) -> pd.DataFrame | None:
    """Units × draws DataFrame of potential (one column for a point estimate)."""
    ids = study.units.index
    if potential is None:
        if "potential" in study.units.columns:
            return _potential_column(study.units, "potential")
        return None
    if isinstance(potential, str):
        if potential not in study.units.columns:
            raise DataValidationError(
                "units",
                potential,
                "no such column",
                fix="name a units column with potential",
            )
        return _potential_column(study.units, potential)
    if hasattr(potential, "draws"):
        da = potential.draws("unit")
        df = da.to_pandas() if hasattr(da, "to_pandas") else pd.DataFrame(da)
        if not isinstance(df, pd.DataFrame):
            df = df.to_frame()
        if not df.index.isin(ids).all() and df.columns.isin(ids).all():
            df = df.T
        pot = df
    elif isinstance(potential, pd.Series):
        pot = potential.to_frame()
    elif isinstance(potential, pd.DataFrame):
        pot = potential
    else:
        raise SpecificationError(
            f"potential of type {type(potential).__name__} is not understood; pass a "
            "PotentialResult, a Series per unit or a units × draws DataFrame"
        )
    pot = pot.apply(pd.to_numeric, errors="coerce").astype(float)
    check_unique_ids(pot, "potential", "unit_id")
    check_given_ids(
        pot.index, ids, table="potential", what="unit", values=pot.mean(axis=1)
    )
    missing = ids[~ids.isin(pot.index)]
    if len(missing):
        raise DataValidationError(
            "potential",
            None,
            f"{len(missing)} units have no potential",
            rows=list(missing),
            fix="give potential for every unit of the study",
        )
    pot = pot.reindex(ids)
    if pot.isna().any().any() or (pot < 0).any().any():
        raise DataValidationError(
            "potential",
            None,
            "potential must be numbers >= 0",
            rows=list(ids[(pot.isna() | (pot < 0)).any(axis=1).to_numpy()]),
            fix="check the potential estimates",
        )
    return pot


def _potential_column(units: pd.DataFrame, col: str) -> pd.DataFrame:
    """The units column ``col`` as a one-column potential, checked as a Series
    or DataFrame potential is: numbers >= 0 for every unit (a NaN would count
    as no potential, a negative one give a negative quota)."""
    pot = units[[col]].apply(pd.to_numeric, errors="coerce").astype(float)
    bad = (pot[col].isna() | (pot[col] < 0)).to_numpy()
    if bad.any():
        seen = units[col].to_numpy()[bad][:5].tolist()
        raise DataValidationError(
            "units",
            col,
            f"potential must be numbers >= 0; {int(bad.sum())} "
            f"unit{'s have' if bad.sum() > 1 else ' has'} a missing, negative or "
            f"non-numeric potential ({seen})",
            rows=list(units.index[bad]),
            n_bad=int(bad.sum()),
            fix=f"fill {col!r} with the potential of every unit (0 where there "
            "is none) or pass potential=<PotentialResult or Series per unit>",
        )
    return pot


def _sales_cv(study: Any, terr_of_unit: pd.Series) -> float:
    """Spread of territories' yearly growth: how far a year can miss its trend."""
    hist, acc = study.history, study.accounts
    if hist is None or len(hist) == 0 or hist["period"].nunique() < 24:
        return 0.10
    if "account_id" in hist.columns and acc is not None:
        u = acc["unit_id"].reindex(hist["account_id"].to_numpy()).to_numpy()
    else:
        u = hist["unit_id"].to_numpy()
    terr = terr_of_unit.reindex(u).to_numpy()
    end = hist["period"].max()
    last = (hist["period"] > end - 12).to_numpy()
    prev = ((hist["period"] > end - 24) & (hist["period"] <= end - 12)).to_numpy()
    s1 = hist["sales"][last].groupby(terr[last]).sum()
    s0 = hist["sales"][prev].groupby(terr[prev]).sum()
    g = np.log(s1 / s0.reindex(s1.index)).replace([np.inf, -np.inf], np.nan).dropna()
    if len(g) < 3:
        return 0.10
    return float(np.clip(g.std(ddof=1), 0.02, 0.5))


def quotas(
    study: Any,
    alignment: Any,
    potential: Any = None,
    total: float | None = None,
    method: Method = "potential_share",
    *,
    weight: float = 0.5,
    sales_cv: float | None = None,
    n_draws: int = 2_000,
    seed: int = 0,
) -> QuotaResult:
    """Fair yearly sales targets per territory, with P(attain).

    Parameters
    ----------
    study
        The study (sales from the last 12 months of history, else
        ``accounts.annual_sales``, else ``units.sales``).
    alignment
        An :class:`~terrakit.data.Alignment` or the name of one in the study.
    potential
        A ``PotentialResult`` (its ``.draws("unit")``), a Series of potential
        per unit, a units × draws DataFrame, a units column name, or ``None``
        (the units' ``potential`` column if there is one).
    total
        The company target to split (default: last 12 months' sales).
    method
        ``"potential_share"`` (quota ∝ posterior-mean potential),
        ``"sales_share"`` (∝ last year's sales), ``"blend"`` (``weight`` ×
        potential share + (1 − ``weight``) × sales share) or
        ``"equal_chance"`` (every territory gets the same P(attain)).
    weight
        Weight of the potential share in ``"blend"`` and in the attainable
        share (see Notes).
    sales_cv
        Relative sd of a territory's yearly sales around its expectation, a
        fraction in [0, 1] (0.10 = 10 %; default: estimated from
        year-on-year changes of monthly sales).
    n_draws, seed
        Monte-Carlo draws for P(attain), used only when ``potential`` has
        draws (see Notes); with a point potential P(attain) is exact.

    Returns
    -------
    QuotaResult
        Its ``provenance["alignment"]`` names the alignment used.

    Raises
    ------
    SpecificationError
        For a ``total`` or ``weight`` that is not a number (``True``, text,
        ``None``), a non-positive total, an unknown method, a weight outside
        [0, 1], a ``sales_cv`` outside [0, 1] (``sales_cv=10`` asks whether
        0.10 was meant), a potential method without potential, a sales-based
        method when the territories have no sales, or ``seed`` / ``n_draws``
        that are not whole numbers (``n_draws`` >= 1).
    DataValidationError
        For potential (however given, a units column included) that is
        missing (NaN), negative or not a number, given twice for a unit, or
        sums to zero (over all units, or in some of its draws); given for
        units the study does not have (it would be left out in silence; the
        message says what share of the potential they hold); or keyed by the
        units' ids in the other type (``1`` for ``'1'``), which is named with
        the conversion that fixes it.

    Warns
    -----
    TerrakitWarning
        When territories that sell have a potential of 0, or one below their
        yearly sales (checked when the potential's total is at least the
        sales'), naming them with both numbers: the potential share would
        give them a quota below what they sell (0 for no potential) and a
        P(attain) near 1.

    Notes
    -----
    **What a territory can sell.**  Next year's attainable sales of
    territory :math:`t` are modelled as :math:`A_t = T\\,\\pi_t\\,
    e^{\\sigma z - \\sigma^2/2}`, :math:`z \\sim N(0, 1)`, with :math:`T` the
    total, :math:`\\pi_t = w\\,P_t/\\sum P + (1 - w)\\,s_t` a blend of its
    share of potential (a posterior draw when potential draws are given) and
    its share of today's sales :math:`s_t` (only the sales share when there
    is no potential, only the potential share when there are no sales), and
    :math:`\\sigma` = ``sales_cv``, by default the standard deviation across
    territories of last year's log growth (how far a territory can drift
    from the company trend in a year; 0.10 without two years of history).
    Then
    :math:`P(\\text{attain}) = P(A_t \\ge q_t)`.  ``"equal_chance"`` solves
    for the level :math:`p` with :math:`\\sum_t Q_t(1 - p) = T`
    (:math:`Q_t` the quantile function of :math:`A_t`) and sets
    :math:`q_t = Q_t(1 - p)`: quotas that are equally hard everywhere.

    **How P(attain) is computed.**  With a point potential (a Series, a
    units column, a one-column DataFrame) or none, :math:`\\pi_t` is fixed and
    :math:`P(\\text{attain}) = 1 - \\Phi\\big((\\ln(q_t / (T\\pi_t)) +
    \\sigma^2/2) / \\sigma\\big)` exactly (``provenance["config"]["p_attain"]``
    is ``"closed form"``; ``n_draws`` and ``seed`` are not used).  Then
    ``"blend"`` and ``"equal_chance"`` set :math:`q_t = T\\pi_t` (for
    ``"equal_chance"`` because every :math:`A_t` is :math:`T\\pi_t` times a
    log-normal factor of one law, whose quantiles at one level sum to
    :math:`T` only at that level's factor 1), so every territory has the same
    :math:`P(\\text{attain}) = \\Phi(-\\sigma/2)`, just under one half (1 at
    :math:`\\sigma = 0`, where sales meet the quota exactly).  With
    potential draws (a ``PotentialResult``, a units × draws DataFrame) it is a
    Monte-Carlo estimate over ``n_draws`` draws of the potential posterior
    and :math:`z` (``"Monte Carlo"``), with standard error
    :math:`\\sqrt{p(1-p)/n} \\le 0.5/\\sqrt{n}` (0.011 at 2,000 draws;
    the largest is ``provenance["config"]["p_attain_se"]``).

    **What P(attain) is and is not.**  It is the probability of
    :math:`A_t \\ge q_t` under this stated predictive model.  It is not a
    fitted forecast of each territory: its centre assumes the company hits
    the total :math:`T` in expectation, and only the split between
    territories (potential uncertainty) and a common year-to-year drift
    :math:`\\sigma` are uncertain.  Where a Bayesian sales forecast per
    territory is available, its posterior predictive of next year's sales is
    the better :math:`A_t`.
    """
    al = (
        study._get_alignment(alignment)
        if hasattr(study, "_get_alignment")
        else alignment
    )
    terr = al.assignment
    sales_u = _unit_sales(study)
    sales_t = sales_u.groupby(terr.reindex(sales_u.index).to_numpy()).sum()
    if total is None:
        T = float(sales_t.sum())
    else:
        T = _real("total", total, "give next year's company target in sales")
    if not np.isfinite(T) or T <= 0:
        seen = (
            f"got {total!r}"
            if total is not None
            else f"by default it is the last 12 months' sales, which sum to {T:g}"
        )
        raise SpecificationError(
            f"total must be a positive amount, {seen}; give next year's "
            "company target, e.g. 1.05 × last year's sales"
        )
    if method not in ("potential_share", "sales_share", "blend", "equal_chance"):
        raise SpecificationError(
            f"method {method!r} is unknown; use potential_share, sales_share, blend "
            "or equal_chance"
        )
    w = _real("weight", weight, "0.5 weighs the potential and sales shares alike")
    if not 0 <= w <= 1:
        raise SpecificationError(f"weight must be in [0, 1], got {weight!r}")
    seed = check_seed(seed)
    if not is_count(n_draws, 1):
        raise SpecificationError(
            f"n_draws must be a whole number >= 1, got {n_draws!r}; e.g. 2_000 "
            "Monte-Carlo draws for P(attain)"
        )
    sig = _check_sales_cv(sales_cv)
    pot = _potential_draws(study, potential)
    if pot is None and method in ("potential_share", "blend"):
        raise SpecificationError(
            f"method={method!r} needs potential: pass potential=<PotentialResult> "
            "(tk.potential) or add a 'potential' column to the units, or use "
            "method='sales_share'"
        )
    rng = np.random.default_rng(seed)
    territories = sales_t.index
    no_sales = not float(sales_t.sum()) > 0
    if no_sales and (pot is None or method in ("sales_share", "blend")):
        raise SpecificationError(
            f"method={method!r} splits the total by today's sales, but the "
            f"territories' sales sum to {float(sales_t.sum()):g} (history, "
            "accounts.annual_sales or units.sales); fix: add sales, or use "
            "method='potential_share' with potential"
        )
    # without sales the attainable share rests on potential alone
    sales_share = (
        np.zeros(len(territories)) if no_sales else (sales_t / sales_t.sum()).to_numpy()
    )
    # a point potential (or none) fixes the attainable share: P(attain) has a
    # closed form; potential draws need Monte Carlo over them
    exact = pot is None or pot.shape[1] == 1
    if pot is not None:
        pt = (
            pot.groupby(terr.reindex(pot.index).to_numpy())
            .sum()
            .reindex(territories)
            .fillna(0.0)
            .to_numpy()
        )  # (n_terr, n_pot)
        pot_total = pt.sum(axis=0)
        if not (pot_total > 0).all():
            _zero_potential(pot, potential, pot_total)
        shares = pt / pot_total[None, :]
        wp = 1.0 if no_sales else w
        pot_mean = pt.mean(axis=1)
        pot_share = pot_mean / pot_mean.sum()
        if method != "sales_share" or wp > 0:
            warn_potential_below_sales(
                territories,
                pot_mean,
                sales_t.to_numpy(float),
                who="quotas",
                sales_of="their yearly sales",
                effect="the potential share gives them a quota below what they "
                "sell (0 for no potential) and a P(attain) near 1",
                advice="use method='sales_share' or 'blend'",
            )
        if exact:
            pi = wp * shares[:, 0] + (1.0 - wp) * sales_share
        else:
            pick = rng.integers(0, shares.shape[1], n_draws)
            pi = wp * shares[:, pick] + (1.0 - wp) * sales_share[:, None]
    else:
        pi = sales_share
        pot_mean = np.full(len(territories), np.nan)
        pot_share = np.full(len(territories), np.nan)
    if sig is None:
        sig = _sales_cv(study, terr)
    if not exact:
        z = rng.standard_normal((len(territories), n_draws))
        attain = T * pi * np.exp(sig * z - sig**2 / 2.0)
    if method == "potential_share":
        share = pot_share
    elif method == "sales_share":
        share = sales_share
    elif method == "blend":
        share = w * pot_share + (1.0 - w) * sales_share
    elif exact:
        # every A_t is T pi_t times a log-normal factor of one law, so the
        # quantiles at one level sum to T only where that factor is 1
        share = pi / pi.sum()
    else:
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            s = np.quantile(attain, 1.0 - mid, axis=1).sum()
            lo, hi = (mid, hi) if s > T else (lo, mid)
        qv = np.quantile(attain, 1.0 - 0.5 * (lo + hi), axis=1)
        share = qv / qv.sum()
    quota = T * share
    if exact:
        p_att = _p_attain_exact(T * pi, quota, sig)
        se = 0.0
    else:
        p_att = (attain >= quota[:, None]).mean(axis=1)
        se = float(np.sqrt(p_att * (1.0 - p_att) / n_draws).max())
    table = pd.DataFrame(
        {
            "sales": sales_t.to_numpy(float),
            "potential": pot_mean,
            "sales_share": sales_share,
            "potential_share": pot_share,
            "quota": quota,
            "quota_share": share,
            "growth": quota
            / np.where(sales_t.to_numpy() > 0, sales_t.to_numpy(), np.nan)
            - 1.0,
            "p_attain": p_att,
        },
        index=pd.Index(territories, name="territory_id"),
    )
    from terrakit.data.alignment import make_provenance

    prov = make_provenance(
        "quotas",
        seed=seed,
        # whose territories these are (as tk.forecast.quota records it)
        alignment=al.name,
        config={
            "method": method,
            "total": T,
            "weight": w,
            "sales_cv": sig,
            "n_draws": int(n_draws),
            "p_attain": "closed form" if exact else "Monte Carlo",
            "p_attain_se": se,
        },
    )
    return QuotaResult(table=table, total=T, method=method, provenance=prov)


def _check_sales_cv(sales_cv: Any) -> float | None:
    """``sales_cv`` as a float in [0, 1] (``None`` stays ``None``: estimate it),
    or a :class:`SpecificationError`; 10 asks whether 0.10 was meant."""
    if sales_cv is None:
        return None
    sig = as_number(sales_cv)
    if isinstance(sales_cv, bool) or not np.isfinite(sig) or sig < 0:
        raise SpecificationError(
            f"sales_cv must be in [0, 1], got {sales_cv!r}; 0.10 means a "
            "territory's yearly sales spread 10 % around their expectation"
        )
    if sig > 1:
        raise SpecificationError(
            f"sales_cv must be in [0, 1], got {sales_cv!r}; did you mean "
            f"{percent_as_fraction(sig)}? 0.10 means a territory's yearly sales "
            "spread 10 % around their expectation"
        )
    return sig


def _zero_potential(pot: pd.DataFrame, potential: Any, pot_total: np.ndarray) -> None:
    """Raise the error for potential that sums to 0 (in every draw, or some)."""
    zero = np.flatnonzero(~(pot_total > 0))
    if pot.shape[1] == 1:
        column = (
            potential
            if isinstance(potential, str)
            else "potential"
            if potential is None
            else None
        )
        raise DataValidationError(
            "units" if column else "potential",
            column,
            f"the potential of all {len(pot)} units is 0, so it gives no shares "
            "to split the total by",
            fix="check the potential estimates (missing ones filled with 0?), "
            "or use method='sales_share'",
        )
    labels = [str(pot.columns[j]) for j in zero[:5]]
    raise DataValidationError(
        "potential",
        None,
        f"the potential sums to 0 over all {len(pot)} units in {len(zero)} of "
        f"{len(pot_total)} draws ({', '.join(labels)}"
        f"{' ...' if len(zero) > 5 else ''}), which give no shares to split "
        "the total by",
        fix="check the potential draws, drop the all-zero ones, or use "
        "method='sales_share'",
    )


def _p_attain_exact(mean: np.ndarray, quota: np.ndarray, sig: float) -> np.ndarray:
    """:math:`P(m\\,e^{\\sigma z - \\sigma^2/2} \\ge q)` for :math:`z \\sim N(0, 1)`:
    :math:`1 - \\Phi((\\ln(q/m) + \\sigma^2/2)/\\sigma)` (1 where ``q <= 0``,
    0 where ``m <= 0 < q``; with :math:`\\sigma = 0`, 1 where ``m >= q``)."""
    from scipy.special import ndtr

    mean = np.asarray(mean, dtype=float)
    quota = np.asarray(quota, dtype=float)
    pos = (mean > 0) & (quota > 0)
    if sig > 0:
        x = np.log(np.where(pos, quota, 1.0) / np.where(pos, mean, 1.0))
        p = ndtr(-(x + sig**2 / 2.0) / sig)
    else:
        p = (mean >= quota * (1.0 - 1e-9)).astype(float)
    p = np.where(quota <= 0, 1.0, np.where(mean <= 0, 0.0, p))
    return np.clip(p, 0.0, 1.0)

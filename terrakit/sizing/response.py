"""Sales response to selling effort, per segment (ADBUDG / Hill curves).

A :class:`ResponseModel` is fitted from history (calls and sales per account
and month) with PyMC and nutpie, or calibrated from judgement in the
CALLPLAN way (Lodish, 1971) with :meth:`ResponseModel.from_judgement`.  Both
return a :class:`ResponseCurves`: posterior draws of the four curve
parameters of every segment, in **annual sales per account** against
**annual calls per account**.
"""

from __future__ import annotations

import numbers
import time
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from terrakit._runargs import (
    as_number,
    check_flag,
    check_seed,
    did_you_mean,
    whole_number,
)
from terrakit._sampling import check_nutpie_tune
from terrakit.exceptions import (
    ConvergenceWarning,
    DataValidationError,
    NotFittedError,
    SpecificationError,
    TerrakitWarning,
)

__all__ = ["JUDGEMENT_KEYS", "ResponseCurves", "ResponseModel", "hill"]

#: The five CALLPLAN judgements, as effort relative to today's calls.
JUDGEMENT_KEYS: dict[str, float] = {
    "zero": 0.0,
    "minus50": 0.5,
    "current": 1.0,
    "plus50": 1.5,
    "saturation": np.inf,
}
_PARAMS = ("lo", "hi", "c50", "gamma")


def hill(
    calls: np.ndarray | float,
    lo: np.ndarray | float,
    hi: np.ndarray | float,
    c50: np.ndarray | float,
    gamma: np.ndarray | float,
) -> np.ndarray:
    """ADBUDG / Hill response ``lo + (hi - lo) c^γ / (c50^γ + c^γ)``.

    The curve is defined for ``calls >= 0`` (``lo`` at 0 calls, ``hi`` as
    calls grow without bound).  NaN calls give NaN, and so do negative calls
    (outside the curve): neither is read as zero calls.

    Examples
    --------
    >>> float(hill(10.0, lo=100.0, hi=300.0, c50=10.0, gamma=1.0))
    200.0
    >>> float(hill(float("nan"), lo=100.0, hi=300.0, c50=10.0, gamma=1.0))
    nan
    """
    c = np.asarray(calls, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        x = np.where(c > 0, np.power(np.maximum(c, 1e-300) / c50, gamma), 0.0)
        frac = np.where(np.isinf(x), 1.0, x / (1.0 + x))
        out = lo + (np.asarray(hi) - lo) * frac
    # NaN or negative calls: NaN, not the zero-call floor ``lo``
    return np.asarray(np.where(np.isnan(c) | (c < 0), np.nan, out), dtype=float)


@dataclass(frozen=True)
class ResponseCurves:
    """Posterior (or judgement) draws of per-segment sales-response curves.

    Attributes
    ----------
    segments
        Segment labels, in the order of the last axis of every draw array,
        each once.  Stored as text (``1`` becomes ``"1"``), as the study's
        segments are, so that a lookup by ``1`` or ``"1"`` finds the same
        segment.
    draws
        ``lo``, ``hi``, ``c50``, ``gamma``: arrays ``(n_draws, n_segments)``.
        Annual sales of one account with ``c`` calls a year is
        :func:`hill` ``(c, lo, hi, c50, gamma)``.  Every draw must rise (or
        stay flat) with calls, ``0 <= lo <= hi``: a
        :class:`~terrakit.exceptions.SpecificationError` names the segment
        and a draw otherwise.
    n_accounts
        Accounts per segment (the market the curves are applied to).
    current_calls, current_sales
        Mean annual calls and sales per account today, by segment.
    hours_per_call
        Hours one call costs (call time + travel), by segment (weighted by
        today's calls).
    method
        ``"history"`` or ``"judgement"``.
    idata
        The ArviZ InferenceData of a history fit (``None`` for judgement).
    diagnostics
        ``max_rhat`` (NaN with one chain), ``min_ess``, ``divergences`` of a
        history fit.
    hours_classes
        Per segment, ``(accounts, hours_per_call)``: the segment's accounts
        split into classes of similar hours per call (up to 16 quantile bins
        of the accounts' own call + travel hours; the accounts and mean hours
        of each), so that :func:`~terrakit.sizing.frontier` can spend hours
        on the cheap calls first, as :func:`~terrakit.sizing.allocate_calls`
        does account by account.  Empty for curves calibrated from a
        ``reference`` (one class per segment at ``hours_per_call``).
    """

    segments: tuple[str, ...]
    draws: Mapping[str, np.ndarray]
    n_accounts: np.ndarray
    current_calls: np.ndarray
    current_sales: np.ndarray
    hours_per_call: np.ndarray
    method: Literal["history", "judgement"]
    idata: Any = field(default=None, compare=False, repr=False)
    diagnostics: Mapping[str, float] = field(default_factory=dict, compare=False)
    provenance: Mapping[str, Any] = field(default_factory=dict, compare=False)
    seconds: float = field(default=0.0, compare=False)
    hours_classes: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        given = self.segments
        if isinstance(given, str | bytes) or not isinstance(given, Iterable):
            raise SpecificationError(
                f"segments must be a sequence of segment labels, got {given!r}; "
                "e.g. ('A', 'B', 'C')"
            )
        # labels are text, as the study's segments and every lookup by segment
        # (expected_sales, max_calls / hours_per_call mappings) compare them
        segments = tuple(str(x) for x in given)
        twice = list(dict.fromkeys(x for x in segments if segments.count(x) > 1))
        if twice:
            raise SpecificationError(
                f"segments name {twice} more than once (given {list(given)!r}); "
                "segment labels are compared as text (1 and '1' are the same "
                "segment), and each column of the draws is one segment: give each "
                "segment once"
            )
        object.__setattr__(self, "segments", segments)
        s = len(segments)
        if s == 0:
            raise ValueError("ResponseCurves needs at least one segment")
        for k in _PARAMS:
            a = np.asarray(self.draws.get(k))
            if a.ndim != 2 or a.shape[1] != s:
                raise ValueError(
                    f"draws[{k!r}] must have shape (n_draws, {s}), got {a.shape}"
                )
            if not np.isfinite(a).all():
                raise ValueError(f"draws[{k!r}] has non-finite values")
        if (np.asarray(self.draws["c50"]) <= 0).any() or (
            np.asarray(self.draws["gamma"]) <= 0
        ).any():
            raise ValueError("c50 and gamma draws must be positive")
        _check_rising(segments, self.draws["lo"], self.draws["hi"])
        for name in ("n_accounts", "current_calls", "current_sales", "hours_per_call"):
            a = np.asarray(getattr(self, name), dtype=float)
            if a.shape != (s,) or (a < 0).any() or not np.isfinite(a).all():
                raise ValueError(f"{name} must be {s} finite numbers >= 0, got {a}")
            object.__setattr__(self, name, a)
        classes = {}
        for seg, (n, t) in dict(self.hours_classes).items():
            n, t = np.asarray(n, dtype=float), np.asarray(t, dtype=float)
            if (
                str(seg) not in self.segments
                or n.ndim != 1
                or n.shape != t.shape
                or not (np.isfinite(n).all() and np.isfinite(t).all())
                or (n < 0).any()
                or (t <= 0).any()
            ):
                raise ValueError(
                    f"hours_classes[{seg!r}] must be (accounts, hours_per_call) "
                    f"arrays of one segment {list(self.segments)}, hours > 0"
                )
            classes[str(seg)] = (n, t)
        object.__setattr__(self, "hours_classes", classes)

    @property
    def n_draws(self) -> int:
        return int(np.asarray(self.draws["lo"]).shape[0])

    def sales(
        self, calls: np.ndarray | float, segment: str | None = None
    ) -> np.ndarray:
        """Annual sales per account at ``calls`` for every draw.

        Parameters
        ----------
        calls
            Annual calls per account; with ``segment=None`` its last axis must
            be the segments (or broadcast to them).
        segment
            One segment label: ``calls`` may then be any shape.

        Returns
        -------
        numpy.ndarray
            ``(n_draws, *calls.shape)``; NaN where ``calls`` is NaN (an
            unknown number of calls has unknown sales, as in :func:`hill`).

        Raises
        ------
        SpecificationError
            When ``calls`` has negative values (calls are counts >= 0).
        """
        c = _check_calls(calls)
        if segment is not None:
            j = self._index(segment)
            p = [
                np.asarray(self.draws[k])[:, j].reshape((-1,) + (1,) * c.ndim)
                for k in _PARAMS
            ]
            return hill(c[None], *p)
        p = [
            np.asarray(self.draws[k]).reshape(
                (self.n_draws,) + (1,) * max(c.ndim - 1, 0) + (len(self.segments),)
            )
            for k in _PARAMS
        ]
        return hill(c[None], *p)

    def expected_sales(self, calls: np.ndarray | float, segment: str) -> np.ndarray:
        """Posterior-mean annual sales per account of ``segment`` at ``calls``.

        NaN where ``calls`` is NaN; negative ``calls`` raise a
        :class:`~terrakit.exceptions.SpecificationError` (see :meth:`sales`).
        """
        return np.asarray(self.sales(calls, segment).mean(axis=0))

    def _index(self, segment: str) -> int:
        try:
            return self.segments.index(str(segment))
        except ValueError:
            raise KeyError(
                f"no segment {segment!r}; the curves have {list(self.segments)}"
            ) from None

    def to_frame(self) -> pd.DataFrame:
        """Per segment: posterior mean and 94 % interval of each parameter."""
        rows = {}
        for j, s in enumerate(self.segments):
            r: dict[str, float] = {
                "accounts": float(self.n_accounts[j]),
                "current_calls": float(self.current_calls[j]),
                "current_sales": float(self.current_sales[j]),
                "hours_per_call": float(self.hours_per_call[j]),
            }
            for k in _PARAMS:
                a = np.asarray(self.draws[k])[:, j]
                r[k] = float(a.mean())
                r[f"{k}_3%"], r[f"{k}_97%"] = (
                    float(v) for v in np.quantile(a, [0.03, 0.97])
                )
            rows[s] = r
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("segment")

    def summary(self) -> str:
        """Rounded, stable text."""
        df = self.to_frame()
        lines = [
            f"Response curves ({self.method}, {self.n_draws} draws): "
            "sales = lo + (hi - lo) c^g / (c50^g + c^g)"
        ]
        for s, r in df.iterrows():
            lines.append(
                f"  {s!s:<6} lo {r['lo']:>12,.0f}  hi {r['hi']:>12,.0f}  c50 "
                f"{r['c50']:>7.1f}  gamma {r['gamma']:>5.2f}  (today "
                f"{r['current_calls']:.1f} calls, {r['current_sales']:,.0f} sales, "
                f"{r['accounts']:,.0f} accounts)"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.summary()}\n  fitted in {self.seconds:.1f} s"


def _check_calls(calls: np.ndarray | float) -> np.ndarray:
    """``calls`` as a float array, or a :class:`SpecificationError` if any is
    negative (NaN passes: it gives NaN sales)."""
    c = np.asarray(calls, dtype=float)
    neg = c < 0
    if neg.any():
        raise SpecificationError(
            f"calls must be >= 0 (calls per account and year), got {int(neg.sum())} "
            f"negative value(s), e.g. {float(c[neg].flat[0])!r}; clip them at 0 or "
            "drop them"
        )
    return c


# -- study facts ------------------------------------------------------------------
def _segment_facts(
    study: Any, travel: Any, calls_per_year: str, segment: str
) -> pd.DataFrame:
    """Accounts, mean calls, sales and hours per call by segment."""
    from terrakit.sizing.workload import _require_call_minutes, workload

    acc = study.accounts
    if acc is None or len(acc) == 0:
        raise DataValidationError(
            "accounts",
            None,
            "the study has no accounts",
            fix="add an accounts table to the study",
        )
    if segment not in acc.columns:
        raise DataValidationError(
            "accounts",
            segment,
            f"no segment column {segment!r}",
            fix="add a segment column (A/B/C) or pass segment=<column>",
        )
    _require_call_minutes(
        acc,
        fix="add call_minutes per account (or, for from_judgement, pass "
        "reference=... with hours_per_call per segment)",
    )
    wl = workload(
        study,
        calls_per_year=calls_per_year,
        call_minutes="call_minutes",
        travel=travel,
        segment=segment,
    )
    seg = wl.by_segment()
    if "annual_sales" in acc.columns:
        by = pd.to_numeric(acc["annual_sales"], errors="coerce").groupby(
            acc[segment].astype(str)
        )
        sales = by.mean()
        # standard error of the segment's mean sales per account (0 with one
        # account: no spread to estimate)
        sales_se = (by.std(ddof=1) / np.sqrt(by.count())).fillna(0.0)
    else:
        sales = pd.Series(np.nan, index=seg.index)
        sales_se = pd.Series(0.0, index=seg.index)
    out = pd.DataFrame(
        {
            "accounts": seg["accounts"],
            "calls_per_year": seg["calls"] / seg["accounts"],
            "annual_sales": sales.reindex(seg.index),
            "annual_sales_se": sales_se.reindex(seg.index).fillna(0.0),
            "hours_per_call": wl.hours_per_call(),
        }
    )
    out.attrs["hours_classes"] = _hours_classes(wl.table)
    return out


#: Classes of hours per call per segment in the headcount frontier (see
#: ResponseCurves.hours_classes).  On the sample study (6,000 accounts, 1,000
#: draws, 22 reps) the frontier minus a greedy allocate_calls plan's sales
#: was, by classes: 1 (the segment's mean) -1.25 % in every draw; 4: below in
#: 68 % of draws; 8: 21 % (at most -0.02 %); 16: 1.2 % (at most -0.003 %);
#: 32: none.  headcount_curve over 31 sizes took about 0.1 / 0.5 / 0.5-1.5 /
#: 1.4-1.9 / 3-4.5 s (a shared 2-core machine).
_HOURS_CLASSES = 16


def _hours_classes(table: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per segment: accounts and mean hours per call of up to
    :data:`_HOURS_CLASSES` quantile bins of the accounts' hours per call."""
    hpc = (table["call_minutes"] + table["travel_minutes"]) / 60.0
    out = {}
    for s, h in hpc.groupby(table["segment"].astype(str), sort=True):
        h = h[np.isfinite(h) & (h > 0)]
        if h.empty:
            continue
        q = min(_HOURS_CLASSES, int(h.nunique()))
        bins = (
            pd.qcut(h.rank(method="first"), q, labels=False)
            if q > 1
            else pd.Series(0, index=h.index)
        )
        g = h.groupby(bins)
        out[str(s)] = (g.size().to_numpy(float), g.mean().to_numpy(float))
    return out


# -- the model ----------------------------------------------------------------------
_DEFAULT_PRIORS: dict[str, tuple[float, float]] = {
    # (first, second) parameter of each prior; see ResponseModel.fit Notes.
    "floor": (2.0, 2.0),  # Beta(a, b): sales at zero calls / saturation
    "c50_rel": (0.0, 1.0),  # LogNormal(mu, sigma) of c50 / mean period calls
    "gamma": (0.0, 0.5),  # LogNormal(mu, sigma): 1 = concave, > 1 = S-shape
    "sigma": (0.5, 0.0),  # HalfNormal(sigma) of the log-sales noise
}


class ResponseModel:
    """Bayesian ADBUDG / Hill sales-response model per segment.

    Parameters
    ----------
    priors
        Overrides of the default priors (merged, ``defaults | priors``); see
        :meth:`fit` Notes.  Each is two finite numbers: ``floor`` the
        ``(alpha, beta)`` of a Beta (both > 0), ``c50_rel`` and ``gamma`` the
        ``(mu, sigma)`` of a LogNormal (sigma > 0), ``sigma`` the scale of a
        HalfNormal (> 0; the second number is unused).  Checked here, with a
        :class:`~terrakit.exceptions.SpecificationError` naming the prior, not
        after minutes of compiling in :meth:`fit`.
    sampler
        ``"nutpie"`` (default, compiled with numba) or ``"pymc"`` (PyMC NUTS).
    draws, tune, chains
        MCMC settings (``tune`` ≥ 1 with nutpie, which cannot sample without
        tuning; R-hat is checked with 2+ chains).
    progressbar
        Show the sampler's progress bar (``True`` or ``False``).
    target_accept
        NUTS target acceptance rate.  The default 0.95 (smaller steps than
        the samplers' 0.8) avoids the divergences that a weakly identified
        segment (few calls, e.g. C accounts called 2-3 times a year) causes
        in the curve's half-effect and shape parameters.

    Examples
    --------
    >>> rc = ResponseModel().fit(study, seed=0)  # doctest: +SKIP
    >>> rc = ResponseModel.from_judgement(
    ...     {"A": {"zero": 0.4, "minus50": 0.8, "current": 1.0, "plus50": 1.1,
    ...            "saturation": 1.2}},
    ...     reference={"A": {"accounts": 100, "calls_per_year": 12,
    ...                      "annual_sales": 50_000, "hours_per_call": 1.5}})
    >>> rc.segments
    ('A',)
    """

    def __init__(
        self,
        priors: Mapping[str, tuple[float, float]] | None = None,
        *,
        sampler: Literal["nutpie", "pymc"] = "nutpie",
        draws: int = 1_000,
        tune: int = 1_000,
        chains: int = 2,
        progressbar: bool = False,
        target_accept: float = 0.95,
    ) -> None:
        if priors is not None and not isinstance(priors, Mapping):
            raise SpecificationError(
                f"priors must be a mapping of prior name to its two parameters, got "
                f"{priors!r}; e.g. priors={{'gamma': (0.0, 0.5)}}"
            )
        unknown = set(priors or {}) - set(_DEFAULT_PRIORS)
        if unknown:
            raise SpecificationError(
                f"unknown priors {sorted(unknown)}; known: {sorted(_DEFAULT_PRIORS)}"
            )
        self.priors = _DEFAULT_PRIORS | {
            k: _check_prior(k, v) for k, v in (priors or {}).items()
        }
        if sampler not in ("nutpie", "pymc"):
            raise SpecificationError(
                f"sampler must be 'nutpie' or 'pymc', got {sampler!r}"
            )
        self.sampler = sampler
        self.draws = _count("draws", draws, 1, "e.g. 1_000 draws per chain")
        self.tune = _count("tune", tune, 0, "e.g. 1_000 tuning steps per chain")
        if sampler == "nutpie":
            check_nutpie_tune(
                self.tune, key="tune", default="1_000", other="sampler='pymc'"
            )
        self.chains = _count("chains", chains, 1, "e.g. 2 or 4 chains")
        self.progressbar = check_flag(
            progressbar,
            "progressbar",
            "e.g. progressbar=True to show the sampler's progress",
        )
        ta: Any = target_accept  # None, text, lists: refused, not float()'ed
        if (
            isinstance(ta, bool | np.bool_)
            or not isinstance(ta, numbers.Real)
            or not 0.5 <= float(ta) < 1.0
        ):
            raise SpecificationError(
                f"target_accept must be in [0.5, 1), got {target_accept!r}; e.g. "
                "0.95 (NUTS's target acceptance rate, raise it for divergences)"
            )
        self.target_accept = float(ta)
        self.curves_: ResponseCurves | None = None

    @property
    def curves(self) -> ResponseCurves:
        """The last fit's curves (``NotFittedError`` before :meth:`fit`)."""
        if self.curves_ is None:
            raise NotFittedError(
                "ResponseModel is not fitted: call .fit(study) or use "
                "ResponseModel.from_judgement(...)"
            )
        return self.curves_

    # -- history ------------------------------------------------------------------
    def fit(
        self,
        study: Any,
        seed: int = 0,
        *,
        travel: Any = "model",
        calls_per_year: str = "calls_per_year",
        segment: str = "segment",
    ) -> ResponseCurves:
        """Fit the curves to the study's history of calls and sales.

        Parameters
        ----------
        study
            A study whose ``history`` (per account) has ``calls`` and whose
            accounts have a segment and ``annual_sales``.
        seed
            Seed of the sampler.
        travel
            Travel estimate for the hours per call (see
            :func:`~terrakit.sizing.workload`); ``None`` counts call time only.
        calls_per_year, segment
            Accounts columns.

        Returns
        -------
        ResponseCurves

        Raises
        ------
        DataValidationError
            When the history is missing, has no ``calls`` column, lacks
            variation in calls (a segment with fewer than two accounts whose
            calls vary from period to period: fixed call schedules, or one
            period per account, leave the curve's shape to the prior alone),
            or its accounts have no segment, no
            ``annual_sales`` or no ``call_minutes`` column (the hours per call
            need call time; all checked before sampling).
        SpecificationError
            When ``seed`` is not a non-negative integer.

        Warns
        -----
        ConvergenceWarning
            When R-hat > 1.01 (2+ chains), bulk ESS < 100 per chain, or a
            divergence.

        Notes
        -----
        Sales of account :math:`i` (segment :math:`s`) in period :math:`t`
        with :math:`x_{it}` calls:

        .. math:: y_{it} = b_i\\,\\Bigl(f_s + (1 - f_s)
                  \\frac{x_{it}^{\\gamma_s}}{k_s^{\\gamma_s} + x_{it}^{\\gamma_s}}
                  \\Bigr)\\,e^{\\varepsilon_{it}},
                  \\qquad \\varepsilon_{it} \\sim N(0, \\sigma_s^2),

        with an account level :math:`b_i` (any size), the floor :math:`f_s`
        (share of saturation sales kept without calls), the half-effect calls
        :math:`k_s` and the shape :math:`\\gamma_s` (concave for
        :math:`\\gamma \\le 1`, S-shaped above).  Taking logs and removing
        each account's mean (a fixed effect per account) leaves the
        within-account effect of calls on sales, so big and small accounts
        can be pooled without modelling their size.  The sum of squares is
        computed exactly from sufficient statistics (per distinct call count
        :math:`v`: the sum of demeaned log sales and the matrix
        :math:`\\mathrm{diag}(N_v) - \\sum_i n_{iv} n_{iv'} / T_i`), so
        sampling costs the same for any number of accounts and months.
        Rows with zero sales (churned accounts) are left out.

        Priors (defaults, per segment, :math:`\\bar x_s` the mean calls per
        period): :math:`f_s \\sim \\text{Beta}(2, 2)`,
        :math:`k_s / \\bar x_s \\sim \\text{LogNormal}(0, 1)`,
        :math:`\\gamma_s \\sim \\text{LogNormal}(0, 0.5)` (equal weight on
        concave and S-shaped curves), :math:`\\sigma_s \\sim
        \\text{HalfNormal}(0.5)`.

        **Level.** The shape is learnt from history; the level is anchored so
        that the curve reproduces today's mean annual sales per account
        :math:`S_{today}` at the calls the accounts actually had in the last
        year (the last :math:`p` periods, :math:`p` periods per year):

        .. math:: h_s = S_{today} \\Big/ \\frac{1}{n} \\sum_{(i,t)}
                  r_s(x_{it}),

        the mean of the relative response :math:`r_s` over the segment's
        :math:`n` recent account-periods, not :math:`r_s` at their mean
        calls: :math:`r_s` is concave where most calls lie, so
        :math:`r_s(\\bar x) > \\overline{r_s(x)}` (Jensen) and anchoring at
        the mean calls would set the curve 5-10 % low at every call level.
        Then :math:`\\ell_s = f_s h_s`, :math:`c_{50,s} = p\\,k_s`.  The
        curve is that of the segment's average account with its calls spread
        evenly over the year, so at today's mean calls it lies somewhat above
        ``current_sales`` (whose calls were uneven).

        **Uncertainty of the level.** :math:`S_{today}` is itself an estimate
        from the segment's accounts: each posterior draw takes its own
        :math:`S_{today}` from a log-normal with the segment's mean annual
        sales per account as mean and its standard error
        :math:`\\mathrm{sd}/\\sqrt{N}` (:math:`N` accounts with sales) as
        standard deviation (seeded by ``seed``).  So the curves' credible
        intervals at today's calls have the width of that standard error
        instead of none, and the bands of
        :func:`~terrakit.sizing.headcount_curve` include it.  The level
        draws are independent of the shape draws; the uncertainty of the
        account levels :math:`b_i` beyond the mean is not modelled.
        """
        t0 = time.perf_counter()
        seed = check_seed(seed)
        hist = study.history
        if hist is None or len(hist) == 0:
            raise DataValidationError(
                "history",
                None,
                "the study has no history to fit response curves to",
                fix="add history with calls, or calibrate from judgement with "
                "ResponseModel.from_judgement(...)",
            )
        if "calls" not in hist.columns:
            raise DataValidationError(
                "history",
                "calls",
                f"the history has no calls column (columns seen: {list(hist.columns)})",
                fix="add monthly calls per account, or use "
                "ResponseModel.from_judgement(...)",
            )
        if "account_id" not in hist.columns:
            raise DataValidationError(
                "history",
                "account_id",
                "response curves need account-level history",
                fix="give history per account_id with calls and sales",
            )
        facts = _segment_facts(study, travel, calls_per_year, segment)
        sales_now = facts["annual_sales"].to_numpy(float)
        if np.isnan(sales_now).any():  # checked before minutes of sampling
            raise DataValidationError(
                "accounts",
                "annual_sales",
                "segments without annual_sales: "
                f"{list(facts.index[np.isnan(sales_now)])}",
                fix="fill annual_sales (today's yearly sales per account)",
            )
        acc = study.accounts
        seg_of = acc[segment].astype(str)
        h = hist[["account_id", "period", "sales", "calls"]].copy()
        bad = h["calls"].isna() | h["sales"].isna()
        if bad.any():
            raise DataValidationError(
                "history",
                "calls",
                f"{int(bad.sum())} history rows lack calls or sales",
                rows=list(h.loc[bad, "account_id"].unique()[:5]),
                n_bad=int(bad.sum()),
                fix="fill missing months with 0 calls or drop them",
            )
        h["segment"] = seg_of.reindex(h["account_id"].to_numpy()).to_numpy()
        freq = getattr(h["period"].dtype, "freq", None)
        ppy = {"M": 12.0, "Q": 4.0, "Y": 1.0, "A": 1.0}.get(
            str(getattr(freq, "name", "M"))[0], 12.0
        )
        last = h["period"] > h["period"].max() - int(ppy)
        segments = tuple(str(s) for s in facts.index)
        stats = []
        calls_now = np.empty(len(segments))
        recent_calls: list[np.ndarray] = []
        for j, s in enumerate(segments):
            hs = h[(h["segment"] == s) & (h["sales"] > 0)]
            if len(hs) < 4 or hs["calls"].nunique() < 2:
                raise DataValidationError(
                    "history",
                    "calls",
                    f"segment {s!r} has {len(hs)} history rows with "
                    f"{hs['calls'].nunique()} distinct call counts; a response curve "
                    "needs variation in calls",
                    fix="add more history, or use "
                    "ResponseModel.from_judgement(...) for this study",
                )
            # the likelihood sees only each account's own changes in calls (its
            # level is removed): without them it is flat in floor, c50 and
            # gamma, and the "fitted" curve would be the prior
            distinct = (
                hs["calls"].round(6).groupby(hs["account_id"], sort=False).nunique()
            )
            flat = distinct.index[distinct < 2]
            n_vary = len(distinct) - len(flat)
            st = _within_stats(hs) if n_vary >= 2 else None
            if st is None or st["dof"] <= 0 or not np.abs(st["M"]).max() > 1e-9:
                raise DataValidationError(
                    "history",
                    "calls",
                    f"segment {s!r}: {n_vary} of {len(distinct)} accounts have calls "
                    "that vary from period to period (2 or more distinct call "
                    "counts in their periods with sales; the segment has "
                    f"{hs['calls'].nunique()} distinct call counts across "
                    "accounts); the curve is learnt from each account's own "
                    "changes in calls, so it needs at least 2 such accounts",
                    rows=list(flat),
                    n_bad=len(flat),
                    fix="give history in which accounts' calls vary over time, or "
                    "calibrate the curves with ResponseModel.from_judgement(...)",
                )
            stats.append(st)
            recent = h[(h["segment"] == s) & last]
            xr = (recent if len(recent) else hs)["calls"].to_numpy(float)
            recent_calls.append(xr)
            calls_now[j] = float(xr.mean()) * ppy
        idata = self._sample(stats, seed)
        post = idata.posterior
        S = len(segments)
        floor = post["floor"].to_numpy().reshape(-1, S)
        k = post["c50"].to_numpy().reshape(-1, S)
        gam = post["gamma"].to_numpy().reshape(-1, S)
        sales_se = facts["annual_sales_se"].to_numpy(float)
        anchor = _anchor_draws(sales_now, sales_se, floor.shape[0], seed)
        hi = np.empty_like(floor)
        for j, xr in enumerate(recent_calls):
            hi[:, j] = anchor[:, j] / _mean_response(
                xr, floor[:, j], k[:, j], gam[:, j]
            )
        draws = {"lo": floor * hi, "hi": hi, "c50": k * ppy, "gamma": gam}
        diag = _diagnostics(idata, ("floor", "c50", "gamma", "sigma"))
        chains = int(idata.posterior.sizes.get("chain", 1))
        # NaN (too few draws) fails a check; one chain has no R-hat to check
        rhat_bad = chains > 1 and not diag["max_rhat"] <= 1.01
        if (
            rhat_bad
            or not diag["min_ess"] >= 100 * self.chains
            or diag["divergences"] > 0
        ):
            rhat = (
                f"max R-hat {diag['max_rhat']:.3f} (want <= 1.01)"
                if chains > 1
                else "R-hat not checked (one chain)"
            )
            warnings.warn(
                f"response-model sampling may not have converged: {rhat}, min "
                f"bulk ESS {diag['min_ess']:.0f} (want >= {100 * self.chains}), "
                f"{int(diag['divergences'])} divergences; raise tune/draws or "
                "tighten the priors",
                ConvergenceWarning,
                stacklevel=2,
            )
        from terrakit.data.alignment import make_provenance

        prov = make_provenance(
            f"response/history/{self.sampler}",
            seed=seed,
            config={
                "draws": self.draws,
                "tune": self.tune,
                "chains": self.chains,
                "sampler": self.sampler,
                "target_accept": self.target_accept,
                "priors": {k: list(map(float, v)) for k, v in self.priors.items()},
                "travel": _travel_label(travel),
                "calls_per_year": calls_per_year,
                "segment": segment,
            },
            periods_per_year=ppy,
            anchor={
                "level": "today's mean annual sales per account / mean response "
                "over the last year's account-periods",
                "annual_sales": dict(zip(segments, sales_now.tolist(), strict=True)),
                "annual_sales_se": dict(zip(segments, sales_se.tolist(), strict=True)),
            },
        )
        curves = ResponseCurves(
            segments=segments,
            draws=draws,
            n_accounts=facts["accounts"].to_numpy(float),
            current_calls=calls_now,
            current_sales=sales_now,
            hours_per_call=facts["hours_per_call"].to_numpy(float),
            method="history",
            idata=idata,
            diagnostics=diag,
            provenance=prov,
            seconds=time.perf_counter() - t0,
            hours_classes=facts.attrs.get("hours_classes", {}),
        )
        self.curves_ = curves
        return curves

    def build_model(self, stats: Sequence[Mapping[str, Any]]) -> Any:
        """The PyMC model on within-account sufficient statistics (see :meth:`fit`)."""
        import pymc as pm
        import pytensor.tensor as pt

        p = self.priors
        S = len(stats)
        with pm.Model(coords={"segment": np.arange(S)}) as model:
            floor = pm.Beta(
                "floor", alpha=p["floor"][0], beta=p["floor"][1], dims="segment"
            )
            krel = pm.LogNormal(
                "c50_rel", mu=p["c50_rel"][0], sigma=p["c50_rel"][1], dims="segment"
            )
            gam = pm.LogNormal(
                "gamma", mu=p["gamma"][0], sigma=p["gamma"][1], dims="segment"
            )
            sig = pm.HalfNormal("sigma", sigma=p["sigma"][0], dims="segment")
            k = pm.Deterministic(
                "c50", krel * np.array([st["xbar"] for st in stats]), dims="segment"
            )
            V = max(len(st["values"]) for st in stats)
            vals = np.ones((S, V))
            pos = np.zeros((S, V))
            a = np.zeros((S, V))
            mm = np.zeros((S, V, V))
            for j, st in enumerate(stats):
                nv = len(st["values"])
                vals[j, :nv] = np.where(st["values"] > 0, st["values"], 1.0)
                pos[j, :nv] = st["values"] > 0
                a[j, :nv] = st["a"]
                mm[j, :nv, :nv] = st["M"]
            zz = np.array([st["zz"] for st in stats])
            dof = np.array([st["dof"] for st in stats])
            x = pos * pt.exp(gam[:, None] * (np.log(vals) - pt.log(k)[:, None]))
            f = pt.log(floor[:, None] + (1.0 - floor[:, None]) * x / (1.0 + x))
            quad = pt.sum(f[:, :, None] * mm * f[:, None, :], axis=(1, 2))
            ss = zz - 2.0 * pt.sum(a * f, axis=1) + quad
            total = pt.sum(-dof * pt.log(sig) - ss / (2.0 * sig**2))
            pm.Potential("loglik", total)
        return model

    def _sample(self, stats: Sequence[Mapping[str, Any]], seed: int) -> Any:
        model = self.build_model(stats)
        if self.sampler == "nutpie":
            import nutpie

            from terrakit._sampling import nutpie_sample

            compiled = nutpie.compile_pymc_model(model)
            return nutpie_sample(
                compiled,
                draws=self.draws,
                tune=self.tune,
                chains=self.chains,
                cores=self.chains,
                seed=seed,
                progress_bar=self.progressbar,
                target_accept=self.target_accept,
            )
        from terrakit._sampling import pymc_sample

        return pymc_sample(
            model,
            draws=self.draws,
            tune=self.tune,
            chains=self.chains,
            cores=1,
            random_seed=seed,
            progressbar=self.progressbar,
            target_accept=self.target_accept,
        )

    # -- judgement -------------------------------------------------------------------
    @classmethod
    def from_judgement(
        cls,
        judgements: Mapping[Any, Mapping[str, float] | Sequence[float]],
        *,
        study: Any = None,
        reference: pd.DataFrame | Mapping[Any, Mapping[str, float]] | None = None,
        uncertainty: float = 0.1,
        n_draws: int = 1_000,
        seed: int = 0,
        travel: Any = "model",
        calls_per_year: str = "calls_per_year",
        segment: str = "segment",
    ) -> ResponseCurves:
        """Calibrate curves from managers' judgements (CALLPLAN).

        Parameters
        ----------
        judgements
            Per segment, sales at ``zero`` effort, at ``minus50`` (half of
            today's calls), ``current``, ``plus50`` (1.5 × today's calls) and
            ``saturation`` — a mapping with exactly those keys or a sequence of
            five numbers in that order.  Absolute values or indices (current
            = 1) both work: they are divided by ``current``.  Segment labels
            are compared as text, as the study's segments are (``1`` and
            ``"1"`` are the same segment; the curves' ``segments`` are text).
        study
            Supplies, per segment, the accounts, today's mean calls and sales
            and the hours per call (call time + ``travel``, as
            :func:`~terrakit.sizing.workload` counts them).  Only the judged
            segments are used and checked.
        reference
            Instead of ``study`` (not both): index segment, columns
            ``accounts``, ``calls_per_year``, ``annual_sales``,
            ``hours_per_call``.
        uncertainty
            Relative uncertainty of each step between consecutive judgements:
            each step in log sales (zero → −50 % → current → +50 % →
            saturation) is multiplied by :math:`e^{N(0, u^2)}`, so 0.1 makes
            each step, e.g. the headroom from today to the next judgement,
            about ±10 % of its size (1 sd).  The draws' medians lie on the
            judgements and every draw keeps their order (see Notes).
        n_draws, seed
            Monte-Carlo draws of the calibration.  A segment's draws depend
            only on ``seed`` and its own judgement, not on the order of the
            segments in ``judgements`` or on which others are judged.
        travel
            Travel estimate for the hours per call from ``study`` (see
            :func:`~terrakit.sizing.workload`): ``"model"`` (default, as in
            :meth:`fit` and :func:`~terrakit.sizing.allocate_calls`) or
            ``None`` to count call time only.  Ignored with ``reference``.
        calls_per_year, segment
            Accounts columns of ``study`` (as in :meth:`fit`).

        Returns
        -------
        ResponseCurves

        Raises
        ------
        DataValidationError
            When ``study`` lacks the ``call_minutes`` column (the hours per
            call need call time, as in :func:`~terrakit.sizing.allocate_calls`;
            or pass ``reference``), or a judged segment has no sales today
            (``annual_sales`` missing or 0) or no calls today
            (``calls_per_year`` 0).
        SpecificationError
            When judgements are not increasing (zero < −50 % < current <
            +50 % < saturation), are not numbers, keys are missing or unknown,
            no segment is judged, both or neither of ``study`` and
            ``reference`` are given, ``uncertainty`` is not a number >= 0, or
            ``n_draws`` / ``seed`` are not whole numbers (``n_draws`` >= 1,
            ``seed`` >= 0).

        Warns
        -----
        TerrakitWarning
            When the fitted curve misses a judged −50 % or +50 % point by more
            than 5 % (relative), or its shape :math:`\\gamma` sits at a bound
            of its search range: no curve of this family through the judged
            zero, today and saturation fits those judgements; revisit them.
            The fit (shape, fitted points and residuals per segment) is in
            ``provenance["config"]["fit"]`` either way.

        Notes
        -----
        With effort index :math:`x = c / c_{today}` and sales index
        :math:`r = S / S_{today}` the curve is Little's ADBUDG

        .. math:: r(x) = r_0 + (r_\\infty - r_0) \\frac{x^\\gamma}{\\delta + x^\\gamma},
                  \\qquad \\delta = \\frac{r_\\infty - 1}{1 - r_0},

        where :math:`r_0` and :math:`r_\\infty` are the judged zero and
        saturation sales, :math:`\\delta` makes the curve pass through today
        (:math:`r(1) = 1`), and :math:`\\gamma` is the least-squares fit to the
        −50 % and +50 % judgements (grid over :math:`[0.05, 10]`).  Judgement
        uncertainty: with the judged indices :math:`r_0 < r_{-} < 1 < r_{+} <
        r_\\infty` the four steps :math:`\\log r_{-} - \\log r_0`,
        :math:`-\\log r_{-}`, :math:`\\log r_{+}` and :math:`\\log r_\\infty -
        \\log r_{+}` (all positive) are each multiplied by an independent
        :math:`e^{\\varepsilon}`, :math:`\\varepsilon \\sim N(0, u^2)`, and the
        indices rebuilt from today's :math:`r(1) = 1`; the curve is refitted
        to each of the ``n_draws`` draws.  So every draw keeps the judged
        order (a judged zero of 0 stays 0), and the draws' medians lie on the
        judgements (each step's median is the judged step; zero and
        saturation, sums of two steps, within a fraction of a percent).  In
        annual terms :math:`c_{50} = c_{today}\\,\\delta^{1/\\gamma}`,
        :math:`\\ell = r_0 S_{today}`, :math:`h = r_\\infty S_{today}`.
        """
        seed = check_seed(seed)
        n_draws = _count("n_draws", n_draws, 1, "e.g. 1_000 draws")
        if not isinstance(judgements, Mapping) or not judgements:
            raise SpecificationError(
                "judgements must map each segment to its five judged sales "
                f"({list(JUDGEMENT_KEYS)}), got {judgements!r}"
            )
        judged = _judgement_map(judgements)
        segments = tuple(judged)
        if study is not None and reference is not None:
            raise SpecificationError(
                "from_judgement takes study=... or reference=..., not both: the "
                "reference would replace the study's calls, sales and accounts; "
                "drop one of them"
            )
        u = as_number(uncertainty)
        if isinstance(uncertainty, bool) or not np.isfinite(u) or u < 0:
            raise SpecificationError(
                "uncertainty must be a number >= 0 (the relative uncertainty of "
                "each step between consecutive judgements, 0.1 ≈ ±10 % of the "
                f"step), got {uncertainty!r}"
            )
        index = {s: _judged_index(s, judged[s]) for s in segments}
        ref = _reference(study, reference, travel, segments, calls_per_year, segment)
        draws = {k: np.empty((n_draws, len(segments))) for k in _PARAMS}
        fit: dict[str, dict[str, Any]] = {}
        for j, s in enumerate(segments):
            r = index[s]
            fit[s] = _judgement_fit(s, r)
            # a segment's draws depend on the seed and its own judgement only,
            # not on the order of the segments or which others are judged
            rng = np.random.default_rng([seed, zlib.crc32(s.encode("utf-8"))])
            sim = (
                _judgement_draws(r, u, n_draws, rng)
                if u > 0
                else np.tile(r, (n_draws, 1))
            )
            r0, rsat = sim[:, 0], sim[:, 4]
            delta = (rsat - 1.0) / (1.0 - r0)
            gam = _gamma_fit(r0, sim[:, 1], sim[:, 3], rsat)
            c0 = float(ref.loc[s, "calls_per_year"])
            s0 = float(ref.loc[s, "annual_sales"])
            draws["lo"][:, j] = r0 * s0
            draws["hi"][:, j] = rsat * s0
            draws["c50"][:, j] = c0 * delta ** (1.0 / gam)
            draws["gamma"][:, j] = gam
        from terrakit.data.alignment import make_provenance

        prov = make_provenance(
            "response/judgement",
            seed=seed,
            config={
                "uncertainty": u,
                "n_draws": int(n_draws),
                "judgements": {s: list(map(float, index[s])) for s in segments},
                "source": "reference" if reference is not None else "study",
                # travel shapes the hours per call only when read from the study
                "travel": None if reference is not None else _travel_label(travel),
                "calls_per_year": None if reference is not None else calls_per_year,
                "segment": None if reference is not None else segment,
                "reference": {
                    s: {
                        c: float(ref.loc[s, c])
                        for c in (
                            "accounts",
                            "calls_per_year",
                            "annual_sales",
                            "hours_per_call",
                        )
                    }
                    for s in segments
                },
                "fit": fit,
            },
        )
        sub = ref.loc[list(segments)]
        classes = ref.attrs.get("hours_classes", {}) if reference is None else {}
        return ResponseCurves(
            segments=segments,
            draws=draws,
            n_accounts=sub["accounts"].to_numpy(float),
            current_calls=sub["calls_per_year"].to_numpy(float),
            current_sales=sub["annual_sales"].to_numpy(float),
            hours_per_call=sub["hours_per_call"].to_numpy(float),
            method="judgement",
            provenance=prov,
            hours_classes={s: c for s, c in classes.items() if s in segments},
        )


#: Per prior: its two parameters and distribution, which of the two must be
#: positive, and that condition in words.
_PRIOR_FORMS: dict[str, tuple[str, tuple[bool, bool], str]] = {
    "floor": ("(alpha, beta) of a Beta(alpha, beta)", (True, True), "both > 0"),
    "c50_rel": ("(mu, sigma) of a LogNormal(mu, sigma)", (False, True), "sigma > 0"),
    "gamma": ("(mu, sigma) of a LogNormal(mu, sigma)", (False, True), "sigma > 0"),
    "sigma": ("(sigma, unused) of a HalfNormal(sigma)", (True, False), "sigma > 0"),
}


def _check_prior(name: str, value: Any) -> tuple[float, float]:
    """The prior ``name``'s two parameters as floats, or a
    :class:`SpecificationError` naming the prior, the value and the fix."""
    form, positive, need = _PRIOR_FORMS[name]
    vals: list[Any] = []
    if not isinstance(value, str | bytes | Mapping) and isinstance(value, Iterable):
        vals = list(value)
    ok = (
        len(vals) == 2
        and all(
            isinstance(v, numbers.Real)
            and not isinstance(v, bool)
            and np.isfinite(float(v))
            for v in vals
        )
        and all(float(v) > 0 for v, pos in zip(vals, positive, strict=True) if pos)
    )
    if not ok:
        raise SpecificationError(
            f"prior {name!r} must be two finite numbers {form} with {need}, "
            f"got {value!r}; e.g. priors={{{name!r}: "
            f"{_DEFAULT_PRIORS[name]}}} (the default)"
        )
    return float(vals[0]), float(vals[1])


def _count(name: str, value: Any, least: int, example: str) -> int:
    """``value`` as an int >= ``least``, or a :class:`SpecificationError`."""
    count = whole_number(value)
    if count is None or count < least:
        raise SpecificationError(
            f"{name} must be a whole number >= {least}, got {value!r}; {example}"
        )
    return count


def _adbudg(
    x: float, g: np.ndarray, r0: np.ndarray, rsat: np.ndarray, delta: np.ndarray
) -> np.ndarray:
    """ADBUDG index at effort ``x`` for draws (rows) × shapes ``g`` (columns)."""
    return np.asarray(
        r0[:, None] + (rsat - r0)[:, None] * (x**g / (delta[:, None] + x**g))
    )


def _within_stats(hs: pd.DataFrame) -> dict[str, Any]:
    """Sufficient statistics of the within-account log-sales regression."""
    z = np.log(hs["sales"].to_numpy(float))
    acc = hs["account_id"].to_numpy()
    codes, _ = pd.factorize(acc)
    t_i = np.bincount(codes).astype(float)
    keep = t_i[codes] >= 2
    codes, z = codes[keep], z[keep]
    x = hs["calls"].to_numpy(float)[keep]
    codes, _ = pd.factorize(codes)
    t_i = np.bincount(codes).astype(float)
    zt = z - (np.bincount(codes, weights=z) / t_i)[codes]
    vals, vcode = np.unique(np.round(x, 6), return_inverse=True)
    n_iv = np.zeros((len(t_i), len(vals)))
    np.add.at(n_iv, (codes, vcode), 1.0)
    a = np.bincount(vcode, weights=zt, minlength=len(vals))
    m = np.diag(n_iv.sum(axis=0)) - (n_iv / t_i[:, None]).T @ n_iv
    return {
        "values": vals,
        "a": a,
        "M": m,
        "zz": float(zt @ zt),
        "dof": float(len(z) - len(t_i)),
        "xbar": max(float(x.mean()), 1e-6),
    }


def _mean_response(
    calls: np.ndarray, floor: np.ndarray, k: np.ndarray, gamma: np.ndarray
) -> np.ndarray:
    """Per draw, the mean relative response ``r(x)`` over the periods ``calls``.

    ``calls`` are per period (one value per account-period), ``floor``, ``k``
    and ``gamma`` one value per draw; distinct call counts are evaluated once.
    """
    vals, n = np.unique(np.asarray(calls, float), return_counts=True)
    r = hill(vals[None, :], floor[:, None], 1.0, k[:, None], gamma[:, None])
    return np.asarray(r @ (n / n.sum()), dtype=float)


def _check_rising(segments: tuple[str, ...], lo: Any, hi: Any) -> None:
    """Refuse draws whose curve falls with calls (``hi < lo``) or whose sales
    at zero calls ``lo`` are negative: :func:`~terrakit.sizing.frontier` and
    the allocation would then spend hours on calls that lose sales."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    for name, bad, what in (
        ("lo", lo < 0, "negative sales at zero calls (lo < 0)"),
        ("hi", hi < lo, "sales falling as calls grow (hi < lo)"),
    ):
        cols = np.flatnonzero(bad.any(axis=0))
        if len(cols) == 0:
            continue
        j = int(cols[0])
        d = int(np.flatnonzero(bad[:, j])[0])
        raise SpecificationError(
            f"draws of segment {segments[j]!r} give {what} in "
            f"{int(bad[:, j].sum())} of {bad.shape[0]} draws (draw {d}: lo "
            f"{lo[d, j]:g}, hi {hi[d, j]:g})"
            + (
                f"; also segments {[segments[i] for i in cols[1:]]}"
                if len(cols) > 1
                else ""
            )
            + f"; draws[{name!r}] must give 0 <= lo <= hi (annual sales per "
            "account at zero calls and at saturation): check the draws, or "
            "calibrate them with ResponseModel.fit or .from_judgement"
        )


def _anchor_draws(mean: np.ndarray, se: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` draws per segment of today's mean annual sales per account.

    Log-normal with mean ``mean`` and standard deviation ``se`` (the standard
    error of the segment's mean; positive, unlike a normal, when the spread
    is large); exactly ``mean`` where ``se`` is 0.
    """
    rng = np.random.default_rng([seed, 7])
    cv2 = (np.asarray(se, float) / np.maximum(mean, 1e-300)) ** 2
    s2 = np.log1p(cv2)
    z = rng.standard_normal((n, len(mean)))
    return np.asarray(mean * np.exp(np.sqrt(s2) * z - s2 / 2.0), dtype=float)


def _travel_label(travel: Any) -> Any:
    """A provenance-friendly description of a ``travel`` argument."""
    if travel is None or isinstance(travel, str | int | float):
        return travel
    if isinstance(travel, pd.Series):
        return f"minutes per account ({len(travel)} accounts)"
    if isinstance(travel, pd.DataFrame):
        return f"minutes matrix {travel.shape[0]}x{travel.shape[1]}"
    return type(travel).__name__


def _judgement_draws(
    r: np.ndarray, u: float, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` draws of the five judged indices ``r`` (today = 1) with judgement
    uncertainty ``u`` (see :meth:`ResponseModel.from_judgement` Notes).

    Each of the four steps between consecutive judgements in log index
    (``log r[k+1] - log r[k]``, all positive) is multiplied by its own
    ``exp(N(0, u²))``, and the draws are rebuilt outwards from today's
    ``log 1 = 0``: every draw keeps the judged order (and a judged zero of 0
    stays 0), and the median of each step is the judged one, so the draws'
    medians lie on the judgements (the outer ones within a fraction of a
    percent: a sum of two steps).  Redrawing the draws that broke the order,
    as before, truncated the noise and pushed the median saturation up.
    """
    with np.errstate(divide="ignore"):
        steps = np.diff(np.log(r))  # +inf after a judged zero of 0
    noisy = steps * np.exp(rng.normal(0.0, u, size=(n, 4)))
    below = -np.cumsum(noisy[:, 1::-1], axis=1)[:, ::-1]  # log r0, log r1
    above = np.cumsum(noisy[:, 2:], axis=1)  # log r3, log r4
    return np.asarray(np.exp(np.hstack([below, np.zeros((n, 1)), above])), dtype=float)


def _ordered(sim: np.ndarray) -> np.ndarray:
    return np.all(np.diff(sim, axis=1) > 0, axis=1) & (sim[:, 0] >= 0)


def _judgement_map(judgements: Mapping[Any, Any]) -> dict[str, Any]:
    """``judgements`` keyed by segment label as text (as the study's segments
    and the curves' ``segments`` are), refusing two keys with the same text."""
    out: dict[str, Any] = {}
    given: dict[str, list[Any]] = {}
    for k, v in judgements.items():
        s = str(k)
        given.setdefault(s, []).append(k)
        out[s] = v
    twice = {s: ks for s, ks in given.items() if len(ks) > 1}
    if twice:
        s, ks = next(iter(twice.items()))
        raise SpecificationError(
            f"judgements name segment {s!r} more than once ({ks}); segment labels "
            "are compared as text, as in the study: give each segment once"
        )
    return out


def _judged_index(segment: str, j: Any) -> np.ndarray:
    """The five judgements of ``segment`` as indices (current = 1), checked."""
    keys = list(JUDGEMENT_KEYS)
    example = f"{{{segment!r}: [0.5, 0.8, 1.0, 1.1, 1.2]}}"
    if isinstance(j, Mapping):
        unknown = [k for k in j if k not in JUDGEMENT_KEYS]
        if unknown:
            raise SpecificationError(
                f"judgement for segment {segment!r} has unknown keys {unknown}; give "
                f"only the five judgements {keys}"
                + did_you_mean([str(k) for k in unknown], keys)
            )
        missing = [k for k in keys if k not in j]
        if missing:
            raise SpecificationError(
                f"judgement for segment {segment!r} lacks {missing}; give sales at "
                f"{keys}"
            )
        raw = [(k, j[k]) for k in keys]
    elif isinstance(j, str | bytes) or not isinstance(j, Iterable):
        raise SpecificationError(
            f"judgement for segment {segment!r} must be a mapping with keys {keys} "
            f"or a sequence of five numbers in that order, got {j!r}; e.g. "
            f"{example}"
        )
    else:
        values = list(j)
        if len(values) != 5:
            raise SpecificationError(
                f"judgement for segment {segment!r} must have 5 values ({keys}), got "
                f"{len(values)}"
            )
        raw = list(zip(keys, values, strict=True))
    vals, bad = [], []
    for k, v in raw:
        x = np.nan if isinstance(v, bool) else as_number(v)
        if np.isnan(x) and not (isinstance(v, float | np.floating) and np.isnan(v)):
            bad.append((k, v))
        vals.append(x)
    if bad:
        comma = any(isinstance(v, str) and "," in v for _, v in bad)
        raise SpecificationError(
            f"judgement for segment {segment!r}: "
            + ", ".join(f"{k} is {v!r}" for k, v in bad)
            + ", not a number; give numbers"
            + (" with a decimal point (0.5, not '0,5')" if comma else "")
            + f", e.g. {example}"
        )
    arr = np.array(vals, dtype=float)
    if not np.isfinite(arr).all() or arr[2] <= 0:
        raise SpecificationError(
            f"judgement for segment {segment!r} needs finite values and current > 0, "
            f"got {arr.tolist()}"
        )
    r = arr / arr[2]
    if not _ordered(r[None])[0]:
        raise SpecificationError(
            f"judgement for segment {segment!r} must increase with effort (zero < "
            f"minus50 < current < plus50 < saturation, zero >= 0), got "
            f"{arr.tolist()}; sales cannot fall when calls rise"
        )
    return r


#: Shapes γ searched by :meth:`ResponseModel.from_judgement` (least squares).
_GAMMA_GRID = np.exp(np.linspace(np.log(0.05), np.log(10.0), 400))
#: Relative miss of a judged ±50 % point above which from_judgement warns.
_JUDGEMENT_MISS = 0.05


def _gamma_fit(
    r0: np.ndarray, rl: np.ndarray, rh: np.ndarray, rsat: np.ndarray
) -> np.ndarray:
    """Per row, the grid γ whose ADBUDG curve through (0, r0), (1, 1) and
    saturation rsat best fits (least squares) the judged −50 % ``rl`` and
    +50 % ``rh`` indices."""
    delta = (rsat - 1.0) / (1.0 - r0)
    err = (_adbudg(0.5, _GAMMA_GRID, r0, rsat, delta) - rl[:, None]) ** 2 + (
        _adbudg(1.5, _GAMMA_GRID, r0, rsat, delta) - rh[:, None]
    ) ** 2
    return np.asarray(_GAMMA_GRID[np.argmin(err, axis=1)], dtype=float)


def _judgement_fit(segment: str, r: np.ndarray) -> dict[str, Any]:
    """How the curve fitted to the judged indices ``r`` meets the −50 % and
    +50 % judgements (for provenance); warns when it misses one by more than
    :data:`_JUDGEMENT_MISS` or its γ sits at a bound of the grid."""
    r0, rsat = r[[0]], r[[4]]
    g = _gamma_fit(r0, r[[1]], r[[3]], rsat)
    delta = (rsat - 1.0) / (1.0 - r0)
    judged = {"minus50": float(r[1]), "plus50": float(r[3])}
    fitted = {
        k: float(_adbudg(x, g, r0, rsat, delta)[0, 0])
        for k, x in (("minus50", 0.5), ("plus50", 1.5))
    }
    miss = {k: fitted[k] / judged[k] - 1.0 for k in judged}
    gamma = float(g[0])
    at_bound = bool(gamma <= _GAMMA_GRID[0] or gamma >= _GAMMA_GRID[-1])
    misses = [
        f"{k} judged {judged[k]:.3f}, fitted {fitted[k]:.3f} ({miss[k]:+.1%})"
        for k in judged
        if abs(miss[k]) > _JUDGEMENT_MISS
    ]
    problems = []
    if misses:
        problems.append(
            f"misses judged points by more than {_JUDGEMENT_MISS:.0%} (indices of "
            f"today's sales): {'; '.join(misses)}: no ADBUDG curve through the "
            "judged zero, today and saturation sales meets them"
        )
    if at_bound:
        problems.append(
            f"has its shape gamma at the bound {gamma:.3g} of the search range "
            f"[{_GAMMA_GRID[0]:g}, {_GAMMA_GRID[-1]:g}]"
            + (" (a near step at today's calls)" if gamma > 1 else " (near flat)")
        )
    if problems:
        warnings.warn(
            f"the response curve judged for segment {segment!r} (gamma "
            f"{gamma:.2f}) {', and '.join(problems)}; revisit the -50 % / +50 % "
            "judgements against zero and saturation",
            TerrakitWarning,
            stacklevel=3,
        )
    return {
        "gamma": gamma,
        "gamma_at_bound": at_bound,
        "judged": judged,
        "fitted": fitted,
        "residuals": {k: fitted[k] - judged[k] for k in judged},
        "relative_miss": miss,
    }


def _reference(
    study: Any,
    reference: Any,
    travel: Any,
    segments: Sequence[str],
    calls_per_year: str = "calls_per_year",
    segment: str = "segment",
) -> pd.DataFrame:
    """Accounts, calls, sales and hours per call of the judged ``segments``
    (index: segment labels as text), from ``reference`` or ``study``."""
    if reference is not None:
        ref = (
            pd.DataFrame(reference).T
            if isinstance(reference, Mapping)
            else pd.DataFrame(reference).copy()
        )
        ref.index = ref.index.astype(str)
        need = ["accounts", "calls_per_year", "annual_sales", "hours_per_call"]
        missing = [c for c in need if c not in ref.columns]
        if missing:
            raise SpecificationError(f"reference lacks columns {missing}; give {need}")
        ref = ref[need].apply(pd.to_numeric, errors="coerce").astype(float)
        if ref.isna().any().any() or (ref <= 0).any().any():
            raise SpecificationError(
                f"reference values must be positive numbers, got\n{ref}"
            )
        missing_ref = [s for s in segments if s not in ref.index]
        if missing_ref:
            raise SpecificationError(
                f"no reference calls/sales for segments {missing_ref}; the reference "
                f"has {list(ref.index)}"
            )
        return ref
    if study is None:
        raise SpecificationError(
            "from_judgement needs study=... or reference=... for today's calls, "
            "sales and accounts per segment"
        )
    facts = _segment_facts(study, travel, calls_per_year, segment)
    missing_seg = [s for s in segments if s not in facts.index]
    if missing_seg:
        raise SpecificationError(
            f"no accounts of the judged segments {missing_seg} in the study; its "
            f"accounts' {segment!r} column has {list(facts.index)}"
        )
    acc = study.accounts
    seg_of = acc[segment].astype(str)
    sub = facts.loc[list(segments)]

    def refuse(column: str, bad: pd.Index, problem: str, fix: str) -> None:
        rows = seg_of.isin(list(bad))
        raise DataValidationError(
            "accounts",
            column,
            problem,
            rows=list(acc.index[rows]),
            n_bad=int(rows.sum()),
            fix=fix,
        )

    no_sales = sub.index[sub["annual_sales"].isna()]
    if "annual_sales" not in acc.columns:
        refuse(
            "annual_sales",
            no_sales,
            "no annual_sales column: the judged indices scale today's sales of "
            f"each segment {list(segments)}",
            "add annual_sales (today's yearly sales per account), or pass "
            "reference=...",
        )
    if len(no_sales):
        refuse(
            "annual_sales",
            no_sales,
            f"judged segments without annual_sales today: {list(no_sales)} (no "
            "account has a number)",
            "fill annual_sales for their accounts, leave the segments out of the "
            "judgements, or pass reference=...",
        )
    zero_sales = sub.index[sub["annual_sales"] <= 0]
    if len(zero_sales):
        means = ", ".join(
            f"{s!r} {sub.loc[s, 'annual_sales']:,.0f}" for s in zero_sales
        )
        refuse(
            "annual_sales",
            zero_sales,
            f"judged segments with no sales today (mean annual_sales per account: "
            f"{means}); the judgements are indices of today's sales, so the curve "
            "would be flat at 0",
            "fill annual_sales for their accounts, leave the segments out of the "
            "judgements, or pass reference=... with their annual_sales",
        )
    no_calls = sub.index[sub["calls_per_year"] <= 0]
    if len(no_calls):
        refuse(
            calls_per_year,
            no_calls,
            f"judged segments with no calls today: {list(no_calls)} "
            f"({calls_per_year} is 0 on every account); the judged efforts "
            "(-50 %, +50 %) are relative to today's calls",
            f"fill {calls_per_year} for their accounts, leave the segments out of "
            "the judgements, or pass reference=... with their calls_per_year",
        )
    return facts


def _diagnostics(idata: Any, names: Sequence[str]) -> dict[str, float]:
    """``max_rhat`` (NaN with one chain: R-hat needs two), ``min_ess`` (bulk)
    and ``divergences`` of the posterior variables ``names``; NaN where
    ArviZ has none (fewer than 4 draws), without numpy's "All-NaN slice"
    warnings."""
    import arviz as az

    post = idata.posterior
    names = [v for v in names if v in post]
    chains = int(post.sizes.get("chain", 1))

    def worst(values: Any, pick: Any) -> float:
        arrays = [np.asarray(values[v].to_numpy(), float).ravel() for v in names]
        kept = np.concatenate(arrays) if arrays else np.empty(0)
        kept = kept[~np.isnan(kept)]
        return float(pick(kept)) if kept.size else float("nan")

    max_rhat = worst(az.rhat(post[names]), np.max) if chains > 1 else float("nan")
    min_ess = worst(az.ess(post[names], method="bulk"), np.min)
    div = 0.0
    ss = getattr(idata, "sample_stats", None)
    if ss is not None and "diverging" in ss:
        div = float(ss["diverging"].to_numpy().sum())
    return {"max_rhat": max_rhat, "min_ess": min_ess, "divergences": div}

"""The hierarchical Bayesian sales model shared by every terrakit forecast.

One PyMC model covers all series at once (no Python loop over series), so it
compiles once and samples quickly with nutpie.  :func:`fit_panel` is the single
entry point used by :class:`~terrakit.forecast.SalesForecaster` and by the
benchmark readers (:func:`terrakit.benchmarks.forecasting.run_forecast`): they
only differ in how they turn their data into a long ``(series, period, value)``
frame.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import numpy as np
import pandas as pd
import xarray as xr

from terrakit._runargs import check_flag, check_seed, shown, whole_number
from terrakit._sampling import (
    Diagnostics,
    _advi_fix,
    _advi_problems,
    advi_convergence,
    advi_fit,
    check_nutpie_tune,
    config_count,
    config_flag,
    config_number,
    diagnose,
    pymc_sample,
    quiet_libraries,
)
from terrakit._versions import library_versions
from terrakit.data.validation import _decimal_comma_hint
from terrakit.exceptions import (
    ConvergenceWarning,
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)

__all__ = [
    "DEFAULT_MODEL_CONFIG",
    "DEFAULT_SAMPLER_CONFIG",
    "Panel",
    "PanelFit",
    "advi_convergence",
    "build_forecast_model",
    "ended_series",
    "fit_panel",
    "forecast_diagnostics",
    "make_panel",
    "summarise_draws",
]

#: Default model configuration; a user's ``model_config`` is merged on top
#: (``DEFAULT_MODEL_CONFIG | user``).
DEFAULT_MODEL_CONFIG: dict[str, Any] = {
    # transform z = log(y / scale + offset): zeros map to log(offset)
    "offset": 1.0,
    # only the last `history_cycles` seasonal cycles (years) are modelled
    "history_cycles": 6,
    # residual process: "ar1" (mean-reverting AR(1) around the trend) or
    # "local_level" (a damped local level: ARMA(1, 1) with per-series
    # smoothing weight alpha; alpha = 1 is the AR(1))
    "residual": "ar1",
    # AR(1) coefficient (damping of the local level) is phi_max * sigmoid(.)
    "phi_max": 0.98,
    # trend damping per season cycle in the forecast (1.0 = undamped)
    "trend_damping": 0.8,
    # prior scales (log scale, per year for slopes)
    "prior_slope_sd": 0.2,
    "prior_slope_tau": 0.1,
    "prior_level_tau": 1.0,
    "prior_season_sd": 0.5,
    "prior_season_tau": 0.2,
    "prior_sigma_mu": -1.5,
    "prior_phi_mu": 1.0,
    # logit of the local level's smoothing weight alpha (residual="local_level")
    "prior_alpha_mu": 0.0,
    # series-specific innovations: Student-t with these degrees of freedom
    # (robust to outlying months); None = Gaussian
    "innovation_nu": None,
    # innovation scale drifting over the window: sigma_it = sigma_i
    # exp(kappa_i t) (t in years, 0 at the window's end), kappa_i partially
    # pooled; forecasts use sigma_i, the scale at the origin.  False: constant
    "sigma_trend": False,
    # sigma_trend=True: prior sd of the panel's mean kappa (log scale per
    # year) and of the series' spread around it
    "prior_sigma_trend_sd": 0.2,
    "prior_sigma_trend_tau": 0.1,
    # how series co-move: "random_walk" (common and per-group random-walk
    # shocks added to the mean) or "innovation" (a share of every series'
    # innovation is common / per group / per cluster; adds no variance)
    "common_shocks": "random_walk",
    # common random-walk shocks (per period, log scale): all series / per group
    "prior_common_sd": 0.05,
    # common_shocks="innovation": Dirichlet concentration of each shared
    # share (common, group, cluster) and of the series' own share
    "prior_share_shared": 1.0,
    "prior_share_own": 3.0,
    # share of a series' AR innovation variance shared by its cluster
    # (Beta(a, b) prior; only when the panel has clusters)
    "prior_cluster_share_a": 2.0,
    "prior_cluster_share_b": 4.0,
    # how zero months are modelled: "offset" (zeros are log(offset) on the
    # shifted log scale, reproduced by clipping) or "hurdle" (a month sells
    # anything with a modelled probability, shared within a cluster per
    # month; the log of positive sales follows the model above)
    "zeros": "offset",
    # zeros="hurdle": positive sales are modelled as log(y / s + c) with
    # s their mean and c this offset (a pure log, c -> 0, is left-skewed on
    # order data and its log-normal mean runs 25-45 % high)
    "hurdle_offset": 0.1,
    # zeros="hurdle": prior sd of the cluster-and-month occurrence effect
    # (logit scale) and of the occurrence seasonality
    "prior_occurrence_cluster_sd": 1.0,
    "prior_occurrence_season_sd": 0.5,
    # zeros="hurdle": link of the occurrence probability, "logit" or
    # "cloglog" (P(sell) = 1 - exp(-exp(x)): orders arriving as a Poisson
    # process whose rate the cluster-and-month effect multiplies)
    "occurrence_link": "logit",
}

#: Default sampler configuration (sized for speed: a few hundred draws).
DEFAULT_SAMPLER_CONFIG: dict[str, Any] = {
    "method": "nutpie",  # "nutpie" | "pymc" | "advi"
    "draws": 250,
    "tune": 300,
    "chains": 2,
    "cores": 2,
    "progressbar": True,
    "advi_iterations": 30000,
    "advi_draws": 500,
    # nutpie: adapt a low-rank correction of the diagonal mass matrix (mixes
    # the scale hyper-parameters, e.g. tau_season, far better)
    "low_rank_mass": True,
    "rhat_max": 1.05,
    "ess_min": 50,
}

SamplerMethod = Literal["nutpie", "pymc", "advi"]


@dataclass(frozen=True)
class Panel:
    """A dense ``series × period`` matrix of sales (``NaN`` = not observed).

    Attributes
    ----------
    values
        ``(n_series, n_periods)`` float array; ``NaN`` before a series starts,
        after it ends, or where a month is missing.
    series
        Index of series ids (unit, account or benchmark keys).
    periods
        ``PeriodIndex`` (monthly or quarterly), consecutive.
    groups
        Integer group code per series (segments, states...), used for pooling.
    group_names
        The group labels.
    season_length
        Periods per year (12 monthly, 4 quarterly).
    clusters
        Optional integer cluster code per series (e.g. the State of a
        State × Category series): series of one cluster share part of their
        period-to-period shocks, so sums over a cluster keep honest intervals.
        ``None`` (default): no cluster shocks.
    cluster_names
        The cluster labels (empty without clusters).
    """

    values: np.ndarray
    series: pd.Index
    periods: pd.PeriodIndex
    groups: np.ndarray
    group_names: tuple[Any, ...]
    season_length: int
    clusters: np.ndarray | None = None
    cluster_names: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        s, t = self.values.shape
        if s != len(self.series) or t != len(self.periods):
            raise ValueError(
                f"panel values have shape {self.values.shape}, but there are "
                f"{len(self.series)} series and {len(self.periods)} periods"
            )
        if len(self.groups) != s:
            raise ValueError("one group code per series is needed")
        if self.clusters is not None and len(self.clusters) != s:
            raise ValueError("one cluster code per series is needed")

    @property
    def n_series(self) -> int:
        return len(self.series)

    def truncate(self, end: int) -> Panel:
        """The panel with only its first ``end`` periods (for backtests)."""
        return Panel(
            self.values[:, :end],
            self.series,
            self.periods[:end],
            self.groups,
            self.group_names,
            self.season_length,
            self.clusters,
            self.cluster_names,
        )


def make_panel(
    long: pd.DataFrame,
    *,
    key: str,
    value: str = "sales",
    groups: pd.Series | None = None,
    clusters: pd.Series | None = None,
) -> Panel:
    """Build a :class:`Panel` from a long ``(key, period, value)`` frame.

    Parameters
    ----------
    long
        Long history with columns ``key``, ``period`` (pandas ``Period``,
        monthly or quarterly) and ``value``.
    key
        The series id column.
    value
        The sales column.
    groups
        Optional group label per series id (pooling groups).
    clusters
        Optional cluster label per series id (series that share part of their
        shocks, e.g. the State of a State × Category series).

    Returns
    -------
    Panel
        A period without a row for a series is ``NaN`` (unobserved), never
        0 sales: before a series' first row (a new account), in holes, and
        after its last row.  A series whose rows stop at least a season (12
        months, 4 quarters) before the panel's last period has *ended* (a
        lost account, see :func:`ended_series`): it still informs the
        fit, but its forecast is 0 (:func:`simulate_paths`,
        ``forecast_ended=False``).  A series that misses only the last few
        periods is forecast as usual.  Months of an active account with no
        sales should therefore be rows with sales 0, not missing rows.

    Raises
    ------
    DataValidationError
        On an empty history, a missing column, rows without a series id or
        without a period (``NaT``: they would be dropped with their sales),
        duplicated ``(series, period)`` rows (they are not summed silently),
        negative or non-finite sales, periods that are not monthly or
        quarterly, or ``groups`` / ``clusters`` whose index holds none of
        the series ids.

    Warns
    -----
    TerrakitWarning
        When a period between the first and the last has no row for any
        series: it is kept as unobserved (NaN), not as 0 sales.  A period
        missing from some series only is not reported.  Also when some (not
        all) series are missing from the index of ``groups`` or ``clusters``:
        they are named and get the label ``"unknown"``.
    """
    if len(long) == 0:
        raise DataValidationError(
            "history",
            None,
            "the history is empty: nothing to forecast",
            fix="pass a history with at least one (series, period, sales) row",
        )
    absent = [c for c in dict.fromkeys((key, "period", value)) if c not in long]
    if absent:
        raise DataValidationError(
            "history",
            absent[0],
            f"the history has no column(s) {absent} (columns: {list(long.columns)})",
            fix=f"pass a long frame with columns {key!r}, 'period' and {value!r}",
        )
    no_id = long[key].isna().to_numpy()
    if no_id.any():
        lost = pd.to_numeric(long.loc[no_id, value], errors="coerce").sum()
        raise DataValidationError(
            "history",
            key,
            f"{int(no_id.sum())} of {len(long)} rows have no series id (missing "
            f"{key}); they carry {lost:g} of the sales and would be dropped "
            "silently",
            rows=list(long.index[no_id]),
            n_bad=int(no_id.sum()),
            fix=f"fill in the {key} of those rows (row labels shown), or drop "
            "them yourself if their sales belong to no series",
        )
    per = long["period"]
    if not isinstance(per.dtype, pd.PeriodDtype):
        raise DataValidationError(
            "history",
            "period",
            f"periods must be pandas Periods, got {per.dtype}",
            fix="convert with pd.PeriodIndex(values, freq='M')",
        )
    _refuse_rows_without_period(long, key, value)
    freq = per.dtype.freq.name
    if freq.startswith("M"):
        m = 12
    elif freq.startswith("Q"):
        m = 4
    else:
        raise DataValidationError(
            "history",
            "period",
            f"periods must be monthly or quarterly, got {freq!r}",
            fix="aggregate the history to months (or quarters) first",
        )
    y = _check_sales_values(long, key, value)
    frame = pd.DataFrame({"k": long[key].to_numpy(), "p": per.to_numpy(), "y": y})
    dup = frame.duplicated(["k", "p"], keep="first").to_numpy()
    if dup.any():
        pairs = list(
            dict.fromkeys(
                f"{k} {p}"
                for k, p in zip(frame["k"][dup], frame["p"][dup], strict=True)
            )
        )
        raise DataValidationError(
            "history",
            "period",
            f"{len(pairs)} ({key}, period) pairs occur more than once "
            f"({int(dup.sum())} extra rows); they are not summed silently, as "
            "a repeated extract would double the sales",
            rows=pairs,
            n_bad=len(pairs),
            fix="sum the duplicated periods first if they are parts of one "
            f"period's sales: long.groupby([{key!r}, 'period'], as_index=False)"
            f"[{value!r}].sum(); drop them if they are copies",
        )
    wide = frame.set_index(["k", "p"])["y"].sort_index().unstack("p")
    periods = pd.period_range(per.min(), per.max(), freq=per.dtype.freq)
    _warn_missing_periods(periods, wide.columns, m)
    wide = wide.reindex(columns=periods)
    series = pd.Index(wide.index, name=key)
    if groups is None:
        codes = np.zeros(len(series), dtype=np.int64)
        names: tuple[Any, ...] = ("all",)
    else:
        codes, names = _codes(groups, series, "groups")
    c_codes: np.ndarray | None = None
    c_names: tuple[Any, ...] = ()
    if clusters is not None:
        c_codes, c_names = _codes(clusters, series, "clusters")
    return Panel(
        wide.to_numpy(dtype=float),
        series,
        pd.PeriodIndex(periods),
        codes,
        names,
        m,
        c_codes,
        c_names,
    )


def _refuse_rows_without_period(long: pd.DataFrame, key: str, value: str) -> None:
    """A :class:`DataValidationError` for history rows whose period is missing
    (``NaT``, e.g. a date that did not parse): reshaping to series × period
    would drop them, and their sales, without a word.

    Parameters
    ----------
    long
        Long history with columns ``key``, ``period`` and ``value``.
    key, value
        The series id and sales columns (named in the message).
    """
    no_period = long["period"].isna().to_numpy()
    if not no_period.any():
        return
    n = int(no_period.sum())
    lost = pd.to_numeric(long.loc[no_period, value], errors="coerce").sum()
    ids = list(dict.fromkeys(long.loc[no_period, key]))
    shown = ", ".join(map(str, ids[:5])) + (
        f" and {len(ids) - 5} more" if len(ids) > 5 else ""
    )
    raise DataValidationError(
        "history",
        "period",
        f"{n} of {len(long)} rows have no period (NaT, e.g. a date that did "
        f"not parse); they carry {lost:g} of the sales ({key} {shown}) and "
        "would be dropped silently",
        rows=list(long.index[no_period]),
        n_bad=n,
        fix="fill in the period of those rows (row labels shown), e.g. parse "
        "their dates again with the right format, or drop them yourself if "
        "their sales belong to no month",
    )


def _check_sales_values(long: pd.DataFrame, key: str, value: str) -> np.ndarray:
    """The ``value`` column of the history as floats, or a
    :class:`DataValidationError` for text that does not read as a number
    (``'1,234.5'``, ``'n/a'``), missing or infinite values, and negative
    values: each problem with its own fix."""
    raw = long[value]
    conv = pd.to_numeric(raw, errors="coerce")
    text = (conv.isna() & raw.notna()).to_numpy()
    if text.any():
        # blank text is a missing value, reported below
        text &= raw.astype(str).str.strip().ne("").to_numpy()
    y = conv.to_numpy(dtype=float, na_value=np.nan)

    def series(bad: np.ndarray) -> str:
        ids = dict.fromkeys(long.loc[bad, key])
        shown = ", ".join(map(str, list(ids)[:5]))
        return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")

    def fail(bad: np.ndarray, problem: str, fix: str) -> NoReturn:
        raise DataValidationError(
            "history",
            value,
            f"{int(bad.sum())} {value} values {problem}; series {series(bad)})",
            rows=list(long.index[bad]),
            n_bad=int(bad.sum()),
            fix=fix,
        )

    if text.any():
        examples = ", ".join(repr(v) for v in list(dict.fromkeys(raw[text]))[:3])
        fail(
            text,
            f"are text that does not read as a number (e.g. {examples}",
            _decimal_comma_hint(raw[text])
            or "remove thousands separators and units (e.g. "
            f"long[{value!r}].str.replace(',', '') for '1,234.5'), or pass "
            'decimal="," when reading a file whose comma is the decimal mark; '
            "a month without sales is a row with 0, an unknown month no row",
        )
    missing = np.isnan(y)
    if missing.any():
        fail(
            missing,
            "are missing (NaN",
            "drop those rows (a period without a row is unobserved, not 0 "
            "sales) or fill them with 0 where nothing was sold",
        )
    inf = np.isinf(y)
    if inf.any():
        fail(
            inf,
            f"are infinite (e.g. {float(y[inf][0]):g}",
            "replace them by the period's real sales (an infinite value "
            "usually comes from a division by 0 upstream)",
        )
    neg = y < 0
    if neg.any():
        fail(
            neg,
            f"are negative (e.g. {float(y[neg][0]):g}, min {float(y[neg].min()):g}",
            "net returns and credit notes into their period's sales (one row "
            f"per {key} and period: long.groupby([{key!r}, 'period'], "
            f"as_index=False)[{value!r}].sum()); correct the sign if they are "
            "typos. Dropping them would overstate the sales",
        )
    return y


def _warn_missing_periods(periods: pd.PeriodIndex, seen: pd.Index, m: int) -> None:
    """Warn about periods of the span that no series has a row for.

    A period missing from some series only is the usual case (a new or lost
    account) and stays silent; one missing from all of them is more often a
    gap in the extract, or months with no sales that were never written.
    """
    missing = periods[~periods.isin(seen)]
    if len(missing) == 0:
        return
    what = "months" if m == 12 else "quarters"
    shown = ", ".join(str(p) for p in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    warnings.warn(
        f"{len(missing)} of the {len(periods)} {what} from {periods[0]} to "
        f"{periods[-1]} have no sales row for any series ({shown}{more}); they "
        "are treated as unobserved (skipped when fitting, not read as 0 sales). "
        f"If nothing was sold in those {what}, add rows with sales 0 for them; "
        "otherwise check the extract, which may have lost them",
        TerrakitWarning,
        stacklevel=3,
    )


def _codes(
    labels: pd.Series, series: pd.Index, what: str
) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Integer codes of the label of every series (``"unknown"`` where the
    label is missing); ``labels`` is indexed by series id.

    None of the series in ``labels``' index: a :class:`DataValidationError`
    (every series would fall into one ``"unknown"`` group); some of them
    missing: a :class:`TerrakitWarning` naming them.
    """
    if not isinstance(labels, pd.Series):
        raise DataValidationError(
            "history",
            None,
            f"{what} must be a pandas Series indexed by series id, got "
            f"{type(labels).__name__}",
            fix=f"pass e.g. {what}=pd.Series(labels, index=series_ids)",
        )
    if labels.index.has_duplicates:
        dups = list(dict.fromkeys(labels.index[labels.index.duplicated()]))
        raise DataValidationError(
            what,
            None,
            f"{len(dups)} series ids occur more than once in the {what} index",
            rows=dups,
            fix="give every series one label (e.g. labels.groupby(level=0).first())",
        )
    unmatched = series.difference(labels.index)
    if len(unmatched) == len(series):
        raise DataValidationError(
            what,
            None,
            f"none of the {len(series)} series ids of the history is in the "
            f"index of {what} (e.g. series {list(series[:3])}, {what} index "
            f"{list(labels.index[:3])}), so every series would be 'unknown'",
            rows=list(series[:5]),
            n_bad=len(series),
            fix=f"index {what} by the history's series ids (the {series.name!r} "
            f"column), e.g. table.set_index({series.name!r})[column]",
        )
    if len(unmatched):
        more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
        warnings.warn(
            f"{len(unmatched)} of the {len(series)} series have no entry in "
            f"{what} ({list(unmatched[:5])}{more}); their {what[:-1]} is "
            f"'unknown'. Fix: add them to the index of {what}",
            TerrakitWarning,
            stacklevel=3,
        )
    g = labels.reindex(series)
    g = g.astype(object).where(g.notna(), "unknown")
    cat = pd.Categorical(g)
    return np.asarray(cat.codes, dtype=np.int64), tuple(cat.categories)


# -- data preparation -------------------------------------------------------------
@dataclass(frozen=True)
class _Prepared:
    """Arrays the PyMC model and the predictor both need."""

    z: np.ndarray  # (S, W) transformed window, NaN where missing
    scale: np.ndarray  # (S,)
    t_years: np.ndarray  # (W,) years relative to the window's last period
    season_pos: np.ndarray  # (W,) position within the year
    modelled: np.ndarray  # (S,) bool: series with a positive observation
    end_pos: int  # season position of the last period
    # zeros="hurdle": (S, W) 1.0 where a month sold anything, 0.0 where it
    # sold nothing, NaN where not observed (z is then NaN on zero months)
    occ: np.ndarray | None = None


def _window_length(panel: Panel, cfg: Mapping[str, Any]) -> int:
    """How many of the panel's last periods the model sees: the last
    ``history_cycles`` seasons, or the whole panel when it is shorter."""
    return min(panel.values.shape[1], int(cfg["history_cycles"]) * panel.season_length)


def _prepare(panel: Panel, cfg: Mapping[str, Any]) -> _Prepared:
    m = panel.season_length
    w = _window_length(panel, cfg)
    y = panel.values[:, -w:]
    obs = np.isfinite(y)
    with np.errstate(invalid="ignore"):
        total = np.where(obs, y, 0.0).sum(axis=1)
    n_obs = obs.sum(axis=1)
    modelled = total > 0
    hurdle = cfg.get("zeros", "offset") == "hurdle"
    occ = None
    if hurdle:
        # magnitudes: log(y / s) of the positive months, s = their mean
        with np.errstate(invalid="ignore"):
            pos = obs & (np.where(obs, y, 0.0) > 0)
        scale = np.where(modelled, total / np.maximum(pos.sum(axis=1), 1), 1.0)
        c = float(cfg["hurdle_offset"])
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(
                pos, np.log(np.where(pos, y, 1.0) / scale[:, None] + c), np.nan
            )
        occ = np.where(obs, pos.astype(float), np.nan)
    else:
        scale = np.where(modelled, total / np.maximum(n_obs, 1), 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.log(y / scale[:, None] + float(cfg["offset"]))
    ordinals = np.asarray(panel.periods.asi8[-w:], dtype=np.int64)
    season_pos = np.mod(ordinals, m)
    t_years = (np.arange(w) - (w - 1)) / m
    return _Prepared(
        z, scale, t_years, season_pos, modelled, int(np.mod(ordinals[-1], m)), occ
    )


def build_forecast_model(
    panel: Panel, model_config: Mapping[str, Any] | None = None
) -> Any:
    """Build the PyMC model for ``panel`` (all series in one vectorised model).

    Parameters
    ----------
    panel
        The sales panel (see :func:`make_panel`).
    model_config
        Overrides of :data:`DEFAULT_MODEL_CONFIG`.

    Returns
    -------
    pymc.Model
        A model with coordinates ``series``, ``group`` and ``season``.

    Notes
    -----
    For series :math:`i` (in pooling group :math:`g_i`) and period :math:`t`
    (in years before the end of the modelled window, :math:`t \\le 0`), sales
    :math:`y_{it} \\ge 0` are modelled on a shifted log scale

    .. math::

        z_{it} = \\log\\left(y_{it} / s_i + c\\right),

    with :math:`s_i` the series' mean in the window and offset :math:`c`
    (``offset``; the default 1 gives :math:`\\log(1 + y_{it}/s_i)`), so zeros
    are finite (:math:`\\log c`) and a zero-heavy series is simply one with
    many low values.  (Smaller offsets make the scale closer to a pure log but
    blow up the back-transformed mean of intermittent series.)  The mean is a
    local level, a trend and a yearly seasonal pattern,

    .. math::

        \\mu_{it} = \\ell_i + b_i t + \\gamma_{i, m(t)}, \\qquad
        \\sum_m \\gamma_{im} = 0,

    plus (``common_shocks="random_walk"``) common shocks
    :math:`\\eta_t + \\eta_{g_i t}`: random walks
    shared by all series and by the series of a group (innovation sd
    :math:`\\omega_0, \\omega_g \\sim N^+(0, 0.05)`, anchored at 0 in the last
    period; in the fitted window their increments are centred, so each path
    is a bridge that is also 0 in the first period and cannot stand in for
    the slopes — without it the posterior has a ridge between slopes and
    shock paths that slows sampling).  They carry the co-movement of series
    (a national boom), so sums of draws over many series keep honest
    intervals.

    The residual :math:`e_{it} = z_{it} - \\mu_{it}` follows
    (``residual="ar1"``) an AR(1),
    :math:`e_{it} = \\phi_i e_{i,t-1} + \\sigma_i \\varepsilon_{it}`, which
    pulls every forecast back to the fitted trend line, or
    (``residual="local_level"``) a damped local level, the innovations form
    of simple exponential smoothing with damping,

    .. math::

        e_{it} = l_{i,t-1} + \\sigma_i \\varepsilon_{it}, \\qquad
        l_{it} = \\phi_i \\left(l_{i,t-1}
        + \\alpha_i \\sigma_i \\varepsilon_{it}\\right),

    an ARMA(1, 1) that follows a series that drifts away from its trend line
    (the share :math:`\\alpha_i \\in (0, 1)` of every surprise is kept, as
    in ETS) and forgets the drift slowly (:math:`\\phi_i`); :math:`\\alpha_i = 1`
    is the AR(1).  The level is a linear filter of the residuals, computed
    in closed form with cumulative sums (no loop over periods).  The first
    observation of a series (or the first after a gap) has the stationary
    variance :math:`\\sigma_i^2 (1 + \\phi_i^2 \\alpha_i^2 / (1 - \\phi_i^2))`
    (:math:`\\sigma_i^2 / (1 - \\phi_i^2)` for the AR(1)); after a gap the
    level carries on damped, a slight over-statement of that observation's
    variance.  The innovations :math:`\\varepsilon_{it}` are Gaussian, or
    Student-t with ``innovation_nu`` degrees of freedom (robust to outlying
    months: a few wild months no longer widen every interval).

    With ``sigma_trend=True`` the innovation scale drifts log-linearly over
    the window, :math:`\\sigma_{it} = \\sigma_i e^{\\kappa_i t}`,
    :math:`\\kappa_i \\sim N(\\mu^\\kappa, \\tau^\\kappa)`
    (``prior_sigma_trend_sd``, ``prior_sigma_trend_tau``), so
    :math:`\\sigma_i` is the scale at the end of the window, which forecasts
    use (the drift is not extrapolated).  A constant scale fitted to a series
    whose months have grown calmer averages in the early volatility and
    gives intervals too wide for the next year (aus_retail: in-sample
    standardised innovations of the last two window years had sd 0.81-0.83).

    Co-movement within the innovations: when the panel has clusters
    (:attr:`Panel.clusters`, e.g. the State of a State × Category series) a
    share :math:`\\rho \\sim \\mathrm{Beta}(2, 4)` of every innovation is a
    cluster-and-period shock,
    :math:`\\varepsilon_{it} = \\sqrt{\\rho}\\, u_{k_i t}
    + \\sqrt{1 - \\rho}\\, \\epsilon_{it}`, so a State's categories rise
    and fall together in a month and their summed draws keep that
    correlation (without it State totals get intervals far too narrow).
    With ``common_shocks="innovation"`` the random-walk shocks are dropped
    and the innovation is split instead into common, group, cluster and own
    parts, :math:`\\varepsilon_{it} = \\sqrt{r_0}\\, u_t + \\sqrt{r_g}\\,
    u_{g_i t} + \\sqrt{r_k}\\, u_{k_i t} + \\sqrt{r_{own}}\\, \\epsilon_{it}`,
    :math:`(r_0, r_g, r_k, r_{own}) \\sim \\mathrm{Dirichlet}(1, 1, 1, 3)`:
    the co-movement then adds no variance to a single series.
    Missing periods — before a new account's first month, after a series
    ends, or holes — are simply left out of the likelihood, so series that
    start mid-history are handled without imputation.  Forecasts of a series
    with no row in the last season (an ended series, see
    :func:`ended_series`) are 0, not its past level
    (:func:`simulate_paths`).

    Partial pooling (all non-centred), of the series' mean fitted level over
    its modelled months :math:`T_i` (mean time :math:`\\bar t_i`),
    :math:`\\lambda_i = |T_i|^{-1} \\sum_{t \\in T_i} (\\mu_{it} + \\eta_t
    + \\eta_{g_i t}) = \\ell_i + b_i \\bar t_i + \\bar\\gamma_i + \\bar\\eta_i`
    (:math:`\\bar\\gamma_i`, the mean seasonal effect over :math:`T_i`, is 0
    for whole years), rather than of :math:`\\ell_i`, its level at the
    window's end:

    .. math::

        \\lambda_i &\\sim N(\\mu^\\ell_{g_i}, \\tau^\\ell), &
        b_i &\\sim N(\\mu^b_{g_i}, \\tau^b), \\\\
        \\gamma_{i\\cdot} &\\sim N(\\mu^\\gamma_{g_i\\cdot}, \\tau^\\gamma), &
        \\log \\sigma_i &\\sim N(\\mu^\\sigma, \\tau^\\sigma), \\quad
        \\operatorname{logit}(\\phi_i/\\phi_{\\max}) \\sim N(\\mu^\\phi, \\tau^\\phi),
        \\quad \\operatorname{logit}\\alpha_i \\sim N(\\mu^\\alpha, \\tau^\\alpha),

    so a series with a few months of history takes its trend and seasonality
    mostly from its group (segment, state, purpose...).  Each series is
    divided by its own mean over :math:`T_i`, so :math:`\\lambda_i` is about
    the same for all series, whatever their trends and whichever months a
    new series has: pooled at the window's end instead,
    :math:`\\ell_i \\approx \\lambda - b_i \\bar t_i` follows the slope,
    and a pooling prior that held the levels together held the slopes
    together with them (each series was forecast with its group's trend).
    ``level`` in the posterior is :math:`\\ell_i`, the level forecasts
    extrapolate from.  Forecasts are
    posterior-predictive simulations (:func:`simulate_paths`), transformed
    back with :math:`y = \\max(0, s_i (e^z - c))`: the clipping puts a
    point mass at zero, which is how zero months are reproduced.

    With ``zeros="hurdle"`` (for intermittent series: order data where a
    small State sells nothing in most months) zero months are modelled
    separately.  The model above then describes only the positive months,
    :math:`z_{it} = \\log(y_{it} / s_i + c_h)` with :math:`s_i` the mean of
    the positive months and :math:`c_h` = ``hurdle_offset`` (a pure log is
    left-skewed on order values, so its log-normal mean runs high); zero
    months are missing for it.  Whether month :math:`t` sells anything is
    Bernoulli with

    .. math::

        \\operatorname{logit} P(y_{it} > 0) = o_i + c_i t
        + \\delta_{g_i, m(t)} + \\kappa\\, v_{k_i t},

    a pooled level :math:`o_i \\sim N(\\mu^o_{g_i}, \\tau^o)` and trend
    :math:`c_i \\sim N(\\mu^c, \\tau^c)`, a seasonal pattern per group and a
    cluster-and-month effect :math:`v_{kt} \\sim N(0, 1)` (scale
    :math:`\\kappa \\sim N^+(0, 1)`) shared by the series of a cluster (all
    series without clusters).  Forecasts draw :math:`v` afresh for each
    cluster and month, so the categories of a small State have their empty
    months together and its summed draws are zero as often as the data say.
    A forecast is :math:`y = B\\, \\max(0, s_i (e^z - c_h))` with
    :math:`B` the simulated occurrence.  With ``occurrence_link="cloglog"``
    the same linear predictor :math:`x_{it}` gives
    :math:`P(y_{it} > 0) = 1 - \\exp(-e^{x_{it}})`: orders arriving as a
    Poisson process with rate :math:`e^{x_{it}}`, which the cluster-and-month
    effect multiplies, so a busy series rarely has an empty month even when
    its State has a quiet one.
    """
    import pymc as pm
    import pytensor.tensor as pt

    cfg = DEFAULT_MODEL_CONFIG | dict(model_config or {})
    prep = _prepare(panel, cfg)
    idx = np.flatnonzero(prep.modelled)
    z = prep.z[idx]
    m = panel.season_length
    n_groups = len(panel.group_names)
    obs = np.isfinite(z)
    flat_i, flat_t = np.nonzero(obs)
    flat_pos = -np.ones_like(z, dtype=np.int64)
    flat_pos[flat_i, flat_t] = np.arange(len(flat_i))
    prev = np.full(len(flat_i), -1, dtype=np.int64)
    has_prev_mask = flat_t > 0
    prev[has_prev_mask] = flat_pos[flat_i[has_prev_mask], flat_t[has_prev_mask] - 1]
    has_prev = prev >= 0
    prev_safe = np.where(has_prev, prev, 0)
    z_obs = z[flat_i, flat_t]
    group = panel.groups[idx]

    coords = {
        "series": np.asarray([str(s) for s in panel.series[idx]]),
        "group": np.asarray([str(g) for g in panel.group_names]),
        "season_pos": np.arange(m),
        "time": np.arange(z.shape[1]),
        "step": np.arange(z.shape[1] - 1),
    }
    # each series' modelled months: their mean time (years, <= 0), the share
    # of them in each season position and in each period, so that a series'
    # mean fitted level over its months is level + slope t_centre +
    # season_share . season + month_share . (eta + eta_group)
    n_obs = obs.sum(axis=1)
    t_centre = np.where(obs, prep.t_years[None, :], 0.0).sum(axis=1) / n_obs
    season_share = np.zeros((len(idx), m))
    np.add.at(season_share, (flat_i, prep.season_pos[flat_t]), 1.0)
    season_share /= n_obs[:, None]
    month_share = obs / n_obs[:, None]
    with pm.Model(coords=coords) as model:
        mu_slope = pm.Normal(
            "mu_slope", 0.0, float(cfg["prior_slope_sd"]), dims="group"
        )
        tau_slope = pm.HalfNormal("tau_slope", float(cfg["prior_slope_tau"]))
        slope = pm.Deterministic(
            "slope",
            mu_slope[group]
            + tau_slope * pm.Normal("slope_raw", 0.0, 1.0, dims="series"),
            dims="series",
        )
        mu_season = pm.Normal(
            "mu_season",
            0.0,
            float(cfg["prior_season_sd"]),
            dims=("group", "season_pos"),
        )
        tau_season = pm.HalfNormal("tau_season", float(cfg["prior_season_tau"]))
        season_raw = pm.Normal("season_raw", 0.0, 1.0, dims=("series", "season_pos"))
        season_u = mu_season[group] + tau_season * season_raw
        season = pm.Deterministic(
            "season",
            season_u - season_u.mean(axis=1, keepdims=True),
            dims=("series", "season_pos"),
        )
        mu_sigma = pm.Normal("mu_sigma", float(cfg["prior_sigma_mu"]), 1.0)
        tau_sigma = pm.HalfNormal("tau_sigma", 0.5)
        log_sigma = mu_sigma + tau_sigma * pm.Normal(
            "sigma_raw", 0.0, 1.0, dims="series"
        )
        if not cfg["sigma_trend"]:
            sigma = pm.Deterministic("sigma", pt.exp(log_sigma), dims="series")
            sig_obs = sigma[flat_i]  # the innovation scale of every observation
        else:
            # sigma_it = sigma_i exp(kappa_i t), t <= 0 in years: "sigma" is the
            # scale at the end of the window (the one forecasts use); the free
            # log scale sits at the window's middle t_mid, which keeps it and
            # kappa nearly uncorrelated (anchored at the end, mu_sigma mixed
            # badly: R-hat 1.09, bulk ESS 27 on aus_retail)
            mu_kappa = pm.Normal(
                "mu_sigma_trend", 0.0, float(cfg["prior_sigma_trend_sd"])
            )
            tau_kappa = pm.HalfNormal(
                "tau_sigma_trend", float(cfg["prior_sigma_trend_tau"])
            )
            kappa = pm.Deterministic(
                "sigma_trend",
                mu_kappa
                + tau_kappa * pm.Normal("sigma_trend_raw", 0.0, 1.0, dims="series"),
                dims="series",
            )
            t_mid = float(prep.t_years.mean())
            sigma = pm.Deterministic(
                "sigma", pt.exp(log_sigma - kappa * t_mid), dims="series"
            )
            sig_obs = pt.exp(
                log_sigma[flat_i] + kappa[flat_i] * (prep.t_years[flat_t] - t_mid)
            )
        mu_phi = pm.Normal("mu_phi", float(cfg["prior_phi_mu"]), 1.0)
        tau_phi = pm.HalfNormal("tau_phi", 0.5)
        phi = pm.Deterministic(
            "phi",
            float(cfg["phi_max"])
            * pm.math.sigmoid(
                mu_phi + tau_phi * pm.Normal("phi_raw", 0.0, 1.0, dims="series")
            ),
            dims="series",
        )
        t_n = z.shape[1]
        innovation_shocks = cfg["common_shocks"] == "innovation"
        if not innovation_shocks:
            # common shocks: random walks anchored at 0 in the last period; their
            # increments are centred (a bridge, also 0 in the first period) so a
            # shock path cannot mimic the slopes (a ridge that slowed sampling)
            common_sd = pm.HalfNormal("common_sd", float(cfg["prior_common_sd"]))
            nu0 = pm.Normal("common_raw", 0.0, 1.0, dims="step")
            nu0 = nu0 - nu0.mean()
            # reverse cumulative sum sum_{s >= t} nu_s, written without
            # reversing the free variable: PyTensor 2.38 merges the slice of
            # nutpie's flat parameter vector with a [::-1] into a wrong,
            # empty slice when the variable sits at the vector's end, and
            # every initial point failed ("Logp function returned error")
            rc0 = _reverse_cumsum(nu0, axis=0)
            eta = pm.Deterministic(
                "eta", pt.concatenate([-common_sd * rc0, pt.zeros(1)]), dims="time"
            )
            if n_groups > 1:
                group_sd = pm.HalfNormal("group_sd", float(cfg["prior_common_sd"]))
                nug = pm.Normal("group_common_raw", 0.0, 1.0, dims=("group", "step"))
                nug = nug - nug.mean(axis=1, keepdims=True)
                rcg = _reverse_cumsum(nug, axis=1)
                eta_group = pm.Deterministic(
                    "eta_group",
                    pt.concatenate([-group_sd * rcg, pt.zeros((n_groups, 1))], axis=1),
                    dims=("group", "time"),
                )
            else:
                # one group: its shock would be the common shock again (not
                # identified), so it is held at zero
                pm.Deterministic("group_sd", pt.as_tensor_variable(0.0))
                eta_group = pm.Deterministic(
                    "eta_group",
                    pt.zeros((1, len(prep.t_years))),
                    dims=("group", "time"),
                )
        else:
            # co-movement lives in the innovations (below); no mean shocks
            pm.Deterministic("common_sd", pt.as_tensor_variable(0.0))
            pm.Deterministic("group_sd", pt.as_tensor_variable(0.0))
            eta = pm.Deterministic("eta", pt.zeros(t_n), dims="time")
            eta_group = pm.Deterministic(
                "eta_group", pt.zeros((n_groups, t_n)), dims=("group", "time")
            )
        # the pooled level is the series' mean fitted level over its modelled
        # months (trend, season and shock paths included), which dividing each
        # series by its own mean makes about equal for all series; "level",
        # which forecasts extrapolate from, is the level at the window's end.
        # Pooled at the end, level_i ~ log 2 + slope_i |t_centre_i|, so a
        # spread of slopes needed a matching spread of levels that the pooling
        # resisted: the posterior shrank tau_level and tau_slope to ~0 together
        # and forecast every series with its group's trend (16 series growing
        # +0.12 or falling -0.04 a year: 80 % intervals held 31 % of their
        # 12-month totals, now 75 %).  Leaving the shock paths' mean out (they
        # are 0 at the window's end, not on average) made a group's mu_level
        # trade against its shock path: group_sd mixed badly (bulk ESS 12-44
        # on the southeast sample, against 74-108 with it)
        mu_level = pm.Normal("mu_level", 0.0, 1.0, dims="group")
        tau_level = pm.HalfNormal("tau_level", float(cfg["prior_level_tau"]))
        level_mean = pm.Deterministic(
            "level_mean",
            mu_level[group]
            + tau_level * pm.Normal("level_raw", 0.0, 1.0, dims="series"),
            dims="series",
        )
        level = pm.Deterministic(
            "level",
            level_mean
            - slope * t_centre
            - (season * season_share).sum(axis=1)
            - ((eta[None, :] + eta_group[group]) * month_share).sum(axis=1),
            dims="series",
        )
        if cfg["residual"] == "local_level":
            mu_alpha = pm.Normal("mu_alpha", float(cfg["prior_alpha_mu"]), 1.0)
            tau_alpha = pm.HalfNormal("tau_alpha", 0.5)
            alpha_x = mu_alpha + tau_alpha * pm.Normal(
                "alpha_raw", 0.0, 1.0, dims="series"
            )
            alpha = pm.Deterministic("alpha", pm.math.sigmoid(alpha_x), dims="series")
            mean_d = (
                level[:, None]
                + slope[:, None] * prep.t_years[None, :]
                + season[:, prep.season_pos]
                + eta[None, :]
                + eta_group[group]
            )
            mean = mean_d[flat_i, flat_t]
            # damped local level l_t = a_t l_{t-1} + b_t (0 before a series
            # starts): a_t = phi (1 - alpha), b_t = phi alpha e_t where e_t is
            # observed, a_t = phi (no news) where it is missing; solved in
            # closed form with cumulative sums of log a_t (clipped at -8 per
            # step so exp(-A) cannot overflow: a weight below 3e-4 is 0 anyway)
            z0 = np.where(obs, z, 0.0)
            e_d = pt.where(obs, z0 - mean_d, 0.0)
            log_phi = pt.log(phi)
            log_c = log_phi + pt.log(pm.math.sigmoid(-alpha_x))
            log_a = pt.maximum(pt.where(obs, log_c[:, None], log_phi[:, None]), -8.0)
            big_a = pt.cumsum(log_a, axis=1)
            b_d = pt.where(obs, (phi * alpha)[:, None] * e_d, 0.0)
            lev = pt.exp(big_a) * pt.cumsum(pt.exp(-big_a) * b_d, axis=1)
            lev_prev = pt.concatenate([pt.zeros((z.shape[0], 1)), lev[:, :-1]], axis=1)
            cond_mu = mean + lev_prev[flat_i, flat_t]
            # first observation: the stationary variance of e, in units of
            # sigma^2: 1 + phi^2 alpha^2 / (1 - phi^2)  (1 / (1 - phi^2) at
            # alpha = 1, the AR(1))
            pa = phi[flat_i] * alpha[flat_i]
            first_var = 1.0 + pa**2 / (1.0 - phi[flat_i] ** 2)
        else:
            mean = (
                level[flat_i]
                + slope[flat_i] * prep.t_years[flat_t]
                + season[flat_i, prep.season_pos[flat_t]]
                + eta[flat_t]
                + eta_group[group[flat_i], flat_t]
            )
            resid = z_obs - mean
            cond_mu = mean + pt.where(has_prev, phi[flat_i] * resid[prev_safe], 0.0)
            # variance of a first observation: the AR(1) stationary variance
            first_var = 1.0 / (1.0 - phi[flat_i] ** 2)
        var_mult = pt.where(has_prev, 1.0, first_var)
        clus = None if panel.clusters is None else np.asarray(panel.clusters)[idx]
        if innovation_shocks:
            # shares (common, [group], [cluster], own) of every innovation:
            # eps_it = sum_j sqrt(r_j) u_j[., t] + sqrt(r_own) eps'_it
            parts: list[tuple[str, np.ndarray, int]] = [
                ("common", np.zeros(len(idx), dtype=np.int64), 1)
            ]
            if n_groups > 1:
                parts.append(("group", group, n_groups))
            if clus is not None:
                n_cl = max(len(panel.cluster_names), int(clus.max()) + 1)
                parts.append(("cluster", clus, n_cl))
            conc = [float(cfg["prior_share_shared"])] * len(parts)
            shares = pm.Dirichlet(
                "shock_shares", a=np.asarray([*conc, float(cfg["prior_share_own"])])
            )
            shared = 0.0
            for j, (name, code, n_c) in enumerate(parts):
                pm.Deterministic(f"{name}_share", shares[j])
                u = pm.Normal(f"{name}_raw_u", 0.0, 1.0, shape=(n_c, t_n))
                shared = shared + pt.sqrt(shares[j]) * u[code[flat_i], flat_t]
            cond_mu = cond_mu + sig_obs * shared
            cond_sd = sig_obs * pt.sqrt(var_mult - (1.0 - shares[-1]))
        elif clus is not None:
            # a share rho of every innovation is a cluster-and-period shock
            # u[k, t] ~ N(0, 1) shared by the series of cluster k
            rho = pm.Beta(
                "cluster_share",
                float(cfg["prior_cluster_share_a"]),
                float(cfg["prior_cluster_share_b"]),
            )
            n_cl = max(len(panel.cluster_names), int(clus.max()) + 1)
            u = pm.Normal("cluster_raw", 0.0, 1.0, shape=(n_cl, t_n))
            cond_mu = cond_mu + sig_obs * pt.sqrt(rho) * u[clus[flat_i], flat_t]
            cond_sd = sig_obs * pt.sqrt(var_mult - rho)
        else:
            cond_sd = sig_obs * pt.sqrt(var_mult)
        nu = cfg["innovation_nu"]
        if nu is None:
            pm.Normal("z", mu=cond_mu, sigma=cond_sd, observed=z_obs)
        else:
            pm.StudentT("z", nu=float(nu), mu=cond_mu, sigma=cond_sd, observed=z_obs)
        if prep.occ is not None:
            _add_occurrence(prep, idx, group, clus, cfg)
    return model


def _reverse_cumsum(x: Any, axis: int) -> Any:
    """``cumsum(x[::-1])[::-1]`` along ``axis``, without negative-step slices.

    ``sum_{s >= t} x_s = sum(x) - cumsum(x)_t + x_t``.  The reversal is
    avoided because PyTensor's slice-merging rewrite turned
    ``flat[a:n][::-1]`` (nutpie's view of the last free variable of the model)
    into an empty slice, so nutpie could not evaluate the model at all.
    """
    import pytensor.tensor as pt

    return x.sum(axis=axis, keepdims=True) - pt.cumsum(x, axis=axis) + x


def _add_occurrence(
    prep: _Prepared,
    idx: np.ndarray,
    group: np.ndarray,
    clus: np.ndarray | None,
    cfg: Mapping[str, Any],
) -> None:
    """The hurdle's occurrence part (``zeros="hurdle"``), inside a model context.

    ``logit P(y_it > 0) = o_i + c_i t + delta_{g_i, m(t)} + kappa u_{k_i t}``:
    a pooled per-series level and trend, a per-group seasonal pattern and a
    cluster-and-month effect shared by the series of a cluster (all series
    when the panel has no clusters), so a small State's categories have
    their empty months together.
    """
    import pymc as pm
    import pytensor.tensor as pt

    assert prep.occ is not None
    occ = prep.occ[idx]
    seen = np.isfinite(occ)
    oi, ot = np.nonzero(seen)
    code = np.zeros(len(idx), dtype=np.int64) if clus is None else clus
    n_cl = int(code.max()) + 1
    t_n = occ.shape[1]
    mu_o = pm.Normal("occ_mu_level", 0.0, 2.0, dims="group")
    tau_o = pm.HalfNormal("occ_tau_level", 2.0)
    o_lev = pm.Deterministic(
        "occ_level",
        mu_o[group] + tau_o * pm.Normal("occ_level_raw", 0.0, 1.0, dims="series"),
        dims="series",
    )
    mu_b = pm.Normal("occ_mu_slope", 0.0, 1.0)
    tau_b = pm.HalfNormal("occ_tau_slope", 0.5)
    o_slope = pm.Deterministic(
        "occ_slope",
        mu_b + tau_b * pm.Normal("occ_slope_raw", 0.0, 1.0, dims="series"),
        dims="series",
    )
    d_raw = pm.Normal(
        "occ_season_raw",
        0.0,
        float(cfg["prior_occurrence_season_sd"]),
        dims=("group", "season_pos"),
    )
    o_season = pm.Deterministic(
        "occ_season",
        d_raw - d_raw.mean(axis=1, keepdims=True),
        dims=("group", "season_pos"),
    )
    kappa = pm.HalfNormal("occ_cluster_sd", float(cfg["prior_occurrence_cluster_sd"]))
    u = pm.Normal("occ_cluster_raw", 0.0, 1.0, shape=(n_cl, t_n))
    logit_p = (
        o_lev[oi]
        + o_slope[oi] * prep.t_years[ot]
        + o_season[group[oi], prep.season_pos[ot]]
        + kappa * u[code[oi], ot]
    )
    y_occ = occ[oi, ot].astype(np.int8)
    if cfg.get("occurrence_link", "logit") == "cloglog":
        # logit of 1 - exp(-e^x), exact at both ends: log(-expm1(-e^x)) + e^x
        rate = pt.exp(logit_p)
        pm.Bernoulli("occurs", logit_p=pt.log(-pt.expm1(-rate)) + rate, observed=y_occ)
    else:
        pm.Bernoulli("occurs", logit_p=logit_p, observed=y_occ)


# -- fitting -----------------------------------------------------------------------
@dataclass(frozen=True)
class PanelFit:
    """A fitted panel model: the posterior and what prediction needs.

    Attributes
    ----------
    panel
        The data the model saw.
    idata
        ArviZ ``InferenceData``; ``attrs`` hold ``model_config``,
        ``sampler_config``, ``terrakit_version``, ``versions`` (JSON: the
        versions of numpy, pandas, pymc, nutpie... that made it),
        ``groups`` (JSON: the pooling column and the group labels),
        ``config_hash`` and ``seed``.
    model_config, sampler_config
        The merged configurations.
    seed
        The seed of the fit.
    fit_seconds
        Wall time of compile + sampling.
    group_column
        The column the panel's pooling groups came from (e.g. ``"segment"``),
        ``None`` when not known or when every series is in one group.
    """

    panel: Panel
    idata: Any
    model_config: Mapping[str, Any]
    sampler_config: Mapping[str, Any]
    seed: int
    fit_seconds: float
    group_column: str | None = None


def config_hash(
    model_config: Mapping[str, Any],
    sampler_config: Mapping[str, Any],
    groups: Mapping[str, Any] | None = None,
) -> str:
    """A short stable hash of both configurations (stored in the posterior)
    and, when given, of the pooling ``groups`` (:func:`_pooling`): the same
    configuration pooled over other groups is another model."""
    payload: dict[str, Any] = {
        "model": dict(model_config),
        "sampler": dict(sampler_config),
    }
    if groups is not None:
        payload["groups"] = dict(groups)
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _pooling(panel: Panel, group_column: str | None) -> dict[str, Any]:
    """The pooling groups of a fit as JSON-able facts: the column they came
    from (``None``: not known, or one group) and their labels."""
    names = [g.item() if isinstance(g, np.generic) else g for g in panel.group_names]
    return {
        "column": group_column,
        "names": json.loads(json.dumps(names, default=str)),
    }


#: the settings that take one of a few words (the word alone, passed as a
#: whole configuration, is read as that setting in the error's example)
_CONFIG_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "model_config": {
        "residual": ("ar1", "local_level"),
        "common_shocks": ("random_walk", "innovation"),
        "zeros": ("offset", "hurdle"),
        "occurrence_link": ("logit", "cloglog"),
    },
    "sampler_config": {"method": ("nutpie", "pymc", "advi")},
}


def _check_config_mapping(cfg: Any, name: str, key: str, example: Any) -> None:
    """A :class:`SpecificationError` when ``cfg`` is neither ``None`` nor a
    mapping of settings (``dict()`` of ``"advi"`` or ``500`` ends in a bare
    ``ValueError`` / ``TypeError``); a word that is the value of one setting
    gets that setting as the example (``"advi"``: ``{'method': 'advi'}``)."""
    if cfg is None or isinstance(cfg, Mapping):
        return
    if name == "sampler_config" and isinstance(cfg, int) and not isinstance(cfg, bool):
        key, example = "draws", cfg  # a count: most likely the draws
    for k, allowed in _CONFIG_CHOICES[name].items():
        if isinstance(cfg, str) and cfg in allowed:
            key, example = k, cfg
            break
    raise SpecificationError(
        f"{name} must be a dict of settings, got {shown(cfg)}. Fix: pass e.g. "
        f"{name}={{{key!r}: {example!r}}}, or leave it out for the defaults "
        f"(DEFAULT_{name.upper()})"
    )


def merge_configs(
    model_config: Mapping[str, Any] | None, sampler_config: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``DEFAULT_MODEL_CONFIG | model_config`` and ``DEFAULT_SAMPLER_CONFIG |
    sampler_config``, checked (unknown keys, methods and values).

    Every numeric setting is checked for its type (``True`` is not a
    number, ``"1"`` is not either) and range; counts (``draws``, ``tune``,
    ``chains``, ``cores``, ``advi_iterations``, ``advi_draws``,
    ``history_cycles``) must be whole numbers (``500.0`` is taken as 500,
    ``2.9`` is refused rather than truncated).  Ranges: ``offset`` in
    (0, 1], ``hurdle_offset`` and ``trend_damping`` in [0, 1], ``phi_max``
    in (0, 1), prior scales and concentrations > 0, ``innovation_nu`` None
    or > 2, ``rhat_max`` ≥ 1, ``ess_min`` ≥ 0, ``tune`` ≥ 0 (≥ 1 with
    method ``"nutpie"``, which cannot sample without tuning), other counts
    ≥ 1.

    Raises
    ------
    SpecificationError
        A configuration that is not a mapping (``"advi"`` for
        ``{"method": "advi"}``), an unknown key (a typo such as ``"draw"``
        would otherwise be ignored) or a value of the wrong type or out of
        range, naming the key, the value and the values allowed.
    """
    _check_config_mapping(model_config, "model_config", "zeros", "hurdle")
    _check_config_mapping(sampler_config, "sampler_config", "method", "advi")
    mcfg = DEFAULT_MODEL_CONFIG | dict(model_config or {})
    scfg = DEFAULT_SAMPLER_CONFIG | dict(sampler_config or {})
    unknown = set(mcfg) - set(DEFAULT_MODEL_CONFIG)
    if unknown:
        raise SpecificationError(
            f"unknown model_config keys {sorted(unknown)}; known keys are "
            f"{sorted(DEFAULT_MODEL_CONFIG)}"
        )
    unknown = set(scfg) - set(DEFAULT_SAMPLER_CONFIG)
    if unknown:
        raise SpecificationError(
            f"unknown sampler_config keys {sorted(unknown)}; known keys are "
            f"{sorted(DEFAULT_SAMPLER_CONFIG)}"
        )
    method = scfg["method"]
    if method not in _CONFIG_CHOICES["sampler_config"]["method"]:
        raise SpecificationError(
            f"sampler_config['method'] must be 'nutpie', 'pymc' or 'advi', "
            f"got {method!r}"
        )
    sd = DEFAULT_SAMPLER_CONFIG
    for k, low in (
        ("draws", 1),
        ("tune", 0),
        ("chains", 1),
        ("cores", 1),
        ("advi_iterations", 1),
        ("advi_draws", 1),
    ):
        scfg[k] = config_count(scfg, k, low=low, default=sd[k])
    if method == "nutpie":
        check_nutpie_tune(scfg["tune"], default=sd["tune"])
    scfg["rhat_max"] = config_number(scfg, "rhat_max", low=1.0, default=sd["rhat_max"])
    scfg["ess_min"] = config_number(scfg, "ess_min", low=0.0, default=sd["ess_min"])
    for k in ("progressbar", "low_rank_mass"):
        scfg[k] = config_flag(scfg, k)
    for key, allowed in _CONFIG_CHOICES["model_config"].items():
        if not isinstance(mcfg[key], str) or mcfg[key] not in allowed:
            raise SpecificationError(
                f"model_config[{key!r}] must be "
                + " or ".join(repr(v) for v in allowed)
                + f", got {mcfg[key]!r}"
            )
    mcfg["sigma_trend"] = config_flag(mcfg, "sigma_trend", table="model_config")
    nu = mcfg["innovation_nu"]
    if nu is not None:
        try:
            config_number(mcfg, "innovation_nu", low=2.0, low_open=True)
        except SpecificationError as err:
            raise SpecificationError(
                f"model_config['innovation_nu'] must be None (Gaussian "
                f"innovations) or a number > 2 (Student-t degrees of freedom), "
                f"got {nu!r}. Fix: e.g. innovation_nu=5 for heavy tails"
            ) from err
    md = DEFAULT_MODEL_CONFIG
    mcfg["history_cycles"] = config_count(
        mcfg, "history_cycles", low=1, table="model_config", default=6
    )
    # (low, high, low_open, high_open) of every numeric model setting
    ranges: dict[str, tuple[float | None, float | None, bool, bool]] = {
        "offset": (0.0, 1.0, True, False),
        "hurdle_offset": (0.0, 1.0, False, False),
        # phi = phi_max * sigmoid(.): below 1 keeps the AR(1) stationary
        # (its first observation has variance sigma^2 / (1 - phi^2))
        "phi_max": (0.0, 1.0, True, True),
        # per season cycle: 1 = undamped trend, 0 = no trend in the forecast
        "trend_damping": (0.0, 1.0, False, False),
        # locations (any real number)
        "prior_sigma_mu": (None, None, False, False),
        "prior_phi_mu": (None, None, False, False),
        "prior_alpha_mu": (None, None, False, False),
    }
    # scales and concentrations: positive
    for k in (
        "prior_slope_sd",
        "prior_slope_tau",
        "prior_level_tau",
        "prior_season_sd",
        "prior_season_tau",
        "prior_sigma_trend_sd",
        "prior_sigma_trend_tau",
        "prior_common_sd",
        "prior_share_shared",
        "prior_share_own",
        "prior_cluster_share_a",
        "prior_cluster_share_b",
        "prior_occurrence_cluster_sd",
        "prior_occurrence_season_sd",
    ):
        ranges[k] = (0.0, None, True, False)
    for k, (lo, hi, lo_open, hi_open) in ranges.items():
        config_number(
            mcfg,
            k,
            low=lo,
            high=hi,
            low_open=lo_open,
            high_open=hi_open,
            table="model_config",
            default=md[k],
        )
    return mcfg, scfg


def fit_panel(
    panel: Panel,
    *,
    model_config: Mapping[str, Any] | None = None,
    sampler_config: Mapping[str, Any] | None = None,
    seed: int = 0,
    group_column: str | None = None,
) -> PanelFit:
    """Fit the shared forecast model to a panel.

    Parameters
    ----------
    panel
        Sales panel from :func:`make_panel`.
    model_config, sampler_config
        Overrides of :data:`DEFAULT_MODEL_CONFIG` / :data:`DEFAULT_SAMPLER_CONFIG`.
        ``sampler_config["method"]`` is ``"nutpie"`` (default, NUTS compiled
        once with numba), ``"pymc"`` (PyMC's own NUTS) or ``"advi"`` (mean-field
        variational approximation: fastest, intervals slightly too narrow).
        With nutpie, ``low_rank_mass`` (default ``True``) adapts a low-rank
        correction of the mass matrix: on the sample study at the demo's
        settings (250 draws, 300 tune) it lifted the worst bulk ESS of the
        seasonal scale ``tau_season`` from 12 to 74 (R-hat 1.154 → 1.007).
    seed
        Seed of the sampler; equal seeds give identical posteriors.
    group_column
        The column the panel's pooling groups came from (e.g. ``"segment"``;
        ``None``: not known, or one group), for the record: it is kept with
        the group labels in ``idata.attrs["groups"]`` and the config hash.

    Returns
    -------
    PanelFit

    Raises
    ------
    SpecificationError
        On an unknown configuration key or sampler method, a setting of the
        wrong type or out of range (:func:`merge_configs`), or a bad seed.
    TerrakitError
        When nutpie cannot evaluate the model at any initial point (its
        "All initialization points failed"); the message names the fix,
        ``sampler_config={"method": "pymc"}``.

    Warns
    -----
    ConvergenceWarning
        When R-hat exceeds ``rhat_max``, bulk or tail ESS falls under
        ``ess_min`` or the sampler reports divergences (see
        :func:`forecast_diagnostics`; with one chain R-hat cannot be
        computed, and the warning says so); with ``method="advi"``, when
        its loss (the negative ELBO) had not flattened by the last of the
        ``advi_iterations`` (:func:`advi_convergence`; the check is
        recorded in ``idata.attrs["advi_check"]``).
    """
    from terrakit import __version__

    mcfg, scfg = merge_configs(model_config, sampler_config)
    seed = check_seed(seed)
    if group_column is not None and not isinstance(group_column, str):
        raise SpecificationError(
            f"group_column must be a column name or None, got {group_column!r}; "
            "pass the name of the column the panel's groups came from (e.g. "
            "'segment'), or leave it out"
        )
    pooling = _pooling(panel, group_column)
    prep = _prepare(panel, mcfg)
    t0 = time.perf_counter()
    if not prep.modelled.any():
        idata = None
    else:
        model = build_forecast_model(panel, mcfg)
        idata = _sample(model, scfg, seed)
        idata.attrs.update(
            {
                "model_config": json.dumps(mcfg, sort_keys=True),
                "sampler_config": json.dumps(scfg, sort_keys=True, default=str),
                "terrakit_version": __version__,
                # numpy, pandas, pymc, pytensor, nutpie, arviz... (JSON text:
                # netCDF attributes hold no dicts)
                "versions": json.dumps(library_versions(), sort_keys=True),
                "groups": json.dumps(pooling, sort_keys=True),
                "config_hash": config_hash(mcfg, scfg, pooling),
                "seed": int(seed),
            }
        )
        forecast_diagnostics(idata, scfg, stacklevel=3)
    return PanelFit(
        panel,
        idata,
        mcfg,
        scfg,
        int(seed),
        time.perf_counter() - t0,
        group_column,
    )


#: the variables the posterior keeps (where the model has them); every one is
#: also checked for convergence where it varies (:func:`forecast_diagnostics`),
#: since each drives the forecast or the pooling behind it (group_sd scales
#: the group shocks added to every forecast step, eta / eta_group set the
#: series' state at the origin, tau_level / mu_phi pool levels and phis)
_KEPT = (
    "level",
    "slope",
    "season",
    "sigma",
    "phi",
    "mu_slope",
    "tau_slope",
    "tau_level",
    "tau_season",
    "mu_sigma",
    "mu_phi",
    "alpha",
    "mu_alpha",
    "sigma_trend",
    "mu_sigma_trend",
    "common_sd",
    "group_sd",
    "eta",
    "eta_group",
    "common_share",
    "group_share",
    "cluster_share",
    "occ_level",
    "occ_slope",
    "occ_season",
    "occ_cluster_sd",
    "occ_mu_slope",
)


def _sample(model: Any, scfg: Mapping[str, Any], seed: int) -> Any:
    method = scfg["method"]
    if method == "nutpie":
        import nutpie

        from terrakit._sampling import nutpie_sample

        compiled = nutpie.compile_pymc_model(model, backend="numba")
        with quiet_libraries():
            idata = nutpie_sample(
                compiled,
                draws=int(scfg["draws"]),
                tune=int(scfg["tune"]),
                chains=int(scfg["chains"]),
                cores=int(scfg["cores"]),
                seed=int(seed),
                progress_bar=bool(scfg["progressbar"]),
                save_warmup=False,
                low_rank_modified_mass_matrix=bool(scfg.get("low_rank_mass", False)),
            )
    elif method == "pymc":
        idata = pymc_sample(
            model,
            draws=int(scfg["draws"]),
            tune=int(scfg["tune"]),
            chains=int(scfg["chains"]),
            cores=int(scfg["cores"]),
            random_seed=int(seed),
            progressbar=bool(scfg["progressbar"]),
        )
    else:
        approx = advi_fit(
            model,
            int(scfg["advi_iterations"]),
            seed=int(seed),
            progressbar=bool(scfg["progressbar"]),
            setting="sampler_config['advi_iterations']",
        )
        with model:
            idata = approx.sample(int(scfg["advi_draws"]), random_seed=int(seed))
        n_obs = sum(
            int(np.size(model.rvs_to_values[rv].data)) for rv in model.observed_RVs
        )
        # netCDF attributes hold no dicts: JSON text, as "versions"
        idata.attrs["advi_check"] = json.dumps(
            advi_convergence(np.asarray(approx.hist), n_obs)
        )
    post = idata.posterior
    idata.posterior = post[[v for v in _KEPT if v in post]]
    return idata


# ADVI's convergence check, advi_convergence (its loss test), lives in
# terrakit._sampling, shared with the potential model (which adds a test of the
# approximation's parameters); its calibration on the forecast's panels (8,000
# iterations flagged, 30,000 not, on 30 series) is noted at ADVI_MAX_CHANGE.


def forecast_diagnostics(
    idata: Any,
    sampler_config: Mapping[str, Any],
    *,
    warn: bool = True,
    stacklevel: int = 2,
) -> Diagnostics:
    """Convergence diagnostics of a forecast posterior.

    R-hat, bulk/tail ESS and divergences of every variable the posterior
    keeps (:func:`terrakit._sampling.diagnose`): the series' parameters, the
    pooling scales and means (``tau_level``, ``mu_phi``...) and the shared
    shocks (``common_sd``, ``group_sd``, their paths ``eta`` and
    ``eta_group``), judged against the sampler config's ``rhat_max`` and
    ``ess_min``; for ``method="advi"``, whether
    its loss had flattened (:func:`advi_convergence`, recorded at the fit in
    ``idata.attrs["advi_check"]``).  R-hat needs at least two chains:
    with one chain only ESS and divergences are checked, and a warning says
    that R-hat was not.  Constants (e.g. ``common_sd = 0`` with
    ``common_shocks="innovation"``, ``group_sd = 0`` with one group) are
    left out, and so are the fixed end points of the shock paths.

    Parameters
    ----------
    idata
        The fit's InferenceData.
    sampler_config
        The merged sampler configuration (method and thresholds).
    warn
        Emit a :class:`~terrakit.exceptions.ConvergenceWarning` when poor.
    stacklevel
        Passed to :func:`warnings.warn`.

    Returns
    -------
    terrakit._sampling.Diagnostics
    """
    post = idata.posterior
    names = [n for n in _KEPT if n in post and float(post[n].std()) > 0]
    method = str(sampler_config.get("method", "nutpie"))
    diag = diagnose(
        idata,
        names,
        method=method,
        rhat_max=float(sampler_config["rhat_max"]),
        ess_min=float(sampler_config["ess_min"]),
        warn=False,
    )
    if method == "advi":
        return _advi_diagnostics(idata, diag, warn=warn, stacklevel=stacklevel + 1)
    if warn and diag.problems:
        one = diag.chains < 2
        warnings.warn(
            "the forecast posterior may be unreliable: "
            + "; ".join(diag.problems)
            + (
                " (one chain: R-hat, which needs at least 2 chains, was not checked)"
                if one
                else ""
            )
            + ". Fix: raise sampler_config tune/draws (e.g. tune=1000, "
            "draws=1000)" + (" and run chains=2 or more" if one else ""),
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return diag


def _advi_diagnostics(
    idata: Any, diag: Diagnostics, *, warn: bool, stacklevel: int
) -> Diagnostics:
    """``diag`` with the problem of an ADVI loss that has not flattened
    (:func:`advi_convergence`, recorded in ``idata.attrs["advi_check"]``), in
    the words of :func:`terrakit._sampling.diagnose` for this model's
    ``advi_iterations``."""
    text = idata.attrs.get("advi_check")
    if text is None:  # fitted before the check was recorded
        return diag
    check = json.loads(text)
    problems = _advi_problems(check, key="advi_iterations")
    if not problems:
        return diag
    diag = dataclasses.replace(diag, problems=(*diag.problems, *problems))
    if warn:
        fix = _advi_fix(
            check,
            key="advi_iterations",
            default=int(DEFAULT_SAMPLER_CONFIG["advi_iterations"]),
        )
        warnings.warn(
            f"the forecast posterior may be unreliable: {'; '.join(problems)}. "
            "The approximation was still moving, so its forecast and intervals "
            f"can be far off. Fix: {fix}",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return diag


# -- prediction --------------------------------------------------------------------
def _posterior_arrays(
    fit: PanelFit, n_draws: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    post = fit.idata.posterior
    stacked = {
        k: np.asarray(post[k].stack(sample=("chain", "draw")).transpose("sample", ...))
        for k in (
            "level",
            "slope",
            "season",
            "sigma",
            "phi",
            "common_sd",
            "group_sd",
            "eta",
            "eta_group",
        )
    }
    for name in ("common_share", "group_share", "cluster_share"):
        stacked[name] = (
            np.zeros(stacked["level"].shape[0])
            if name not in post
            else np.asarray(post[name].stack(sample=("chain", "draw")))
        )
    stacked["alpha"] = (
        np.ones_like(stacked["sigma"])
        if "alpha" not in post
        else np.asarray(
            post["alpha"].stack(sample=("chain", "draw")).transpose("sample", ...)
        )
    )
    stacked["sigma_trend"] = (
        np.zeros_like(stacked["sigma"])
        if "sigma_trend" not in post
        else np.asarray(
            post["sigma_trend"].stack(sample=("chain", "draw")).transpose("sample", ...)
        )
    )
    if "occ_level" in post:  # zeros="hurdle"
        for name in ("occ_level", "occ_slope", "occ_season", "occ_cluster_sd"):
            stacked[name] = np.asarray(
                post[name].stack(sample=("chain", "draw")).transpose("sample", ...)
            )
    total = stacked["level"].shape[0]
    pick = (
        np.arange(n_draws) if n_draws <= total else rng.integers(0, total, size=n_draws)
    )
    if n_draws < total:
        pick = np.sort(rng.choice(total, size=n_draws, replace=False))
    return {k: v[pick] for k, v in stacked.items()}


def ended_series(panel: Panel, ended_after: int | None = None) -> pd.Series:
    """Series whose rows stop at least ``ended_after`` periods before the
    panel's end, with the last period they have a row for.

    Parameters
    ----------
    panel
        A sales panel.
    ended_after
        Periods without a row, counted back from the panel's last period,
        after which a series has ended (default: the season length, 12 for
        months, 4 for quarters).  A series that misses only the last few
        periods (fewer than this) has not ended: a late extract, or a
        quiet spell.

    Returns
    -------
    pandas.Series
        Index: the ended series' ids; values: their last period with a row
        (in panel order; empty when none has ended).

    Raises
    ------
    SpecificationError
        When ``ended_after`` is not a whole number ≥ 1.

    Examples
    --------
    >>> per = pd.period_range("2023-01", periods=24, freq="M")
    >>> long = pd.DataFrame({"k": ["a"] * 24 + ["b"] * 10,
    ...                      "period": list(per) + list(per[:10]), "sales": 1.0})
    >>> ended_series(make_panel(long, key="k")).to_dict()
    {'b': Period('2023-10', 'M')}
    """
    after = whole_number(panel.season_length if ended_after is None else ended_after)
    if after is None or after < 1:
        raise SpecificationError(
            f"ended_after must be a whole number of periods ≥ 1, got "
            f"{ended_after!r}; leave it out for the season length "
            f"({panel.season_length})"
        )
    seen = np.isfinite(panel.values)
    n_t = seen.shape[1]
    # index of the last period with a row (every series has at least one)
    last = n_t - 1 - np.argmax(seen[:, ::-1], axis=1)
    ended = last <= n_t - 1 - int(after)
    return pd.Series(
        np.asarray(panel.periods)[last[ended]],
        index=panel.series[ended],
        name="last_period",
        dtype=object,
    )


def check_horizon(horizon: Any) -> int:
    """``horizon`` as an ``int`` ≥ 1 (``12.0`` is 12), or a
    :class:`SpecificationError` (for ``0``, ``1.5``, ``True``, ``"12"``)."""
    count = whole_number(horizon)
    if count is None:
        raise SpecificationError(
            f"horizon must be a whole number of periods, got {horizon!r}; "
            "ask for e.g. horizon=12 months"
        )
    if count < 1:
        raise SpecificationError(
            f"horizon must be at least 1 period, got {horizon}; "
            "ask for e.g. horizon=12 months"
        )
    return count


def simulate_paths(
    fit: PanelFit,
    horizon: int,
    *,
    n_draws: int | None = None,
    seed: int = 0,
    ended_after: int | None = None,
    forecast_ended: bool = False,
) -> xr.DataArray:
    """Posterior-predictive sales paths for every series of the panel.

    Parameters
    ----------
    fit
        A fitted panel.
    horizon
        Number of future periods (≥ 1).
    n_draws
        Number of draws to return (default: all posterior draws; more than
        the posterior holds re-uses posterior draws, chosen at random).
    seed
        Seed of the simulated noise (and of that choice).
    ended_after
        A series with no row in the panel's last ``ended_after`` periods
        has ended (see :func:`ended_series`); default: the season length
        (12 months, 4 quarters).
    forecast_ended
        ``False`` (default): ended series are forecast at 0 — a lost
        account sells nothing, and the model, which leaves missing periods
        out of its likelihood, would otherwise forecast its old level.
        ``True``: forecast them like every other series.

    Returns
    -------
    xarray.DataArray
        ``(draw, series, period)`` float32 sales draws (never negative).

    Raises
    ------
    SpecificationError
        When ``horizon`` or ``n_draws`` is not a whole number ≥ 1,
        ``seed`` is not a non-negative integer, ``ended_after`` is not a
        whole number ≥ 1 or ``forecast_ended`` is not a bool.

    Warns
    -----
    TerrakitWarning
        When ended series are forecast at 0: how many, the first few with
        their last period, and the fix.
    """
    return _simulate_paths(
        fit,
        horizon,
        n_draws=n_draws,
        seed=seed,
        ended_after=ended_after,
        forecast_ended=forecast_ended,
        stacklevel=3,
    )[0]


def _simulate_paths(
    fit: PanelFit,
    horizon: int,
    *,
    n_draws: int | None,
    seed: int,
    ended_after: int | None,
    forecast_ended: bool,
    stacklevel: int,
) -> tuple[xr.DataArray, pd.Series]:
    """:func:`simulate_paths` and the ended series; the warning about them is
    raised ``stacklevel`` frames up (the public caller's caller)."""
    horizon = check_horizon(horizon)
    seed = check_seed(seed)
    if n_draws is not None:
        count = whole_number(n_draws)
        if count is None or count < 1:
            raise SpecificationError(
                f"n_draws must be a whole number ≥ 1, got {n_draws!r}; leave it "
                "out to use every posterior draw"
            )
        n_draws = count
    check_flag(forecast_ended, "forecast_ended")
    ended = ended_series(fit.panel, ended_after)
    draws = _paths(fit, horizon, n_draws, seed)
    if len(ended) and not forecast_ended:
        rows = fit.panel.series.get_indexer(ended.index)
        draws.values[:, rows, :] = 0.0
        panel = fit.panel
        after = panel.season_length if ended_after is None else int(ended_after)
        what = "months" if panel.season_length == 12 else "quarters"
        shown = ", ".join(f"{k!r} (last {p})" for k, p in ended.head(5).items())
        more = f" and {len(ended) - 5} more" if len(ended) > 5 else ""
        warnings.warn(
            f"{len(ended)} of the {panel.n_series} series have no row in the "
            f"last {after} {what} of the history (up to {panel.periods[-1]}): "
            f"{shown}{more}. They are treated as ended (e.g. lost accounts) and "
            "forecast at 0. Fix: if they are still active, add rows with sales "
            "0 for the months they sold nothing; if they are lost, drop them "
            "from the history; to forecast them anyway, pass "
            "forecast_ended=True",
            TerrakitWarning,
            stacklevel=stacklevel,
        )
    return draws, ended


def _paths(fit: PanelFit, horizon: int, n_draws: int | None, seed: int) -> xr.DataArray:
    """The simulation itself (arguments already checked)."""
    panel = fit.panel
    cfg = fit.model_config
    prep = _prepare(panel, cfg)
    rng = np.random.default_rng(seed)
    s_all = panel.n_series
    m = panel.season_length
    last = panel.periods[-1]
    future = pd.period_range(last + 1, periods=horizon, freq=panel.periods.freq)
    idx = np.flatnonzero(prep.modelled)
    if fit.idata is None:
        nd = int(n_draws or 1)
        out = np.zeros((nd, s_all, horizon), dtype=np.float32)
        return _as_array(out, panel, future)
    post = fit.idata.posterior
    total = post.sizes["chain"] * post.sizes["draw"]
    nd = int(n_draws or total)
    p = _posterior_arrays(fit, nd, rng)
    z = prep.z[idx]
    w = z.shape[1]
    obs = np.isfinite(z)
    grp = panel.groups[idx]
    # the residual's state at the end of the window, per draw: the damped
    # local level l (for the AR(1), alpha = 1 and l_t = phi e_t); missing
    # periods after a series starts (holes, or months after it ended) get
    # simulated innovations, so the state carries their uncertainty
    phi, sigma, alpha = p["phi"], p["sigma"], p["alpha"]
    mu_all = (
        p["level"][:, :, None]
        + p["slope"][:, :, None] * prep.t_years[None, None, :]
        + p["season"][:, :, prep.season_pos]
        + p["eta"][:, None, :]
        + p["eta_group"][:, grp, :]
    )
    e_all = np.where(obs, np.where(obs, z, 0.0)[None] - mu_all, 0.0)
    del mu_all
    started = np.zeros(len(idx), dtype=bool)
    lev = np.zeros((nd, len(idx)))
    # (sigma_trend: the innovation scale in the window is sigma exp(kappa t);
    # the forecast below uses sigma, the scale at the origin)
    kappa = p["sigma_trend"]
    for t in range(w):
        started |= obs[:, t]
        sig_t = sigma * np.exp(kappa * prep.t_years[t])
        news = np.where(
            obs[:, t],
            e_all[:, :, t] - lev,
            np.where(started, sig_t * rng.standard_normal(lev.shape), 0.0),
        )
        lev = phi * (lev + alpha * news)
    del e_all
    damp = float(cfg["trend_damping"]) ** (1.0 / m)
    nu = cfg["innovation_nu"]
    out = np.zeros((nd, s_all, horizon), dtype=np.float32)
    cum = 0.0
    eta0 = np.zeros((nd, 1))
    etag = np.zeros((nd, len(panel.group_names)))
    rho = p["cluster_share"][:, None]
    r0 = p["common_share"][:, None]
    rg = p["group_share"][:, None]
    clus = None if panel.clusters is None else np.asarray(panel.clusters)[idx]
    n_cl = 0 if clus is None else int(clus.max()) + 1
    occ_code = np.zeros(len(idx), dtype=np.int64) if clus is None else clus
    n_occ = int(occ_code.max()) + 1
    for h in range(1, horizon + 1):
        cum += damp**h
        eps = (
            rng.standard_normal(lev.shape)
            if nu is None
            else rng.standard_t(float(nu), size=lev.shape)
        )
        u0 = rng.standard_normal((nd, 1))
        ug = rng.standard_normal((nd, len(panel.group_names)))[:, grp]
        eps = np.sqrt(1.0 - r0 - rg - rho) * eps + np.sqrt(r0) * u0 + np.sqrt(rg) * ug
        if clus is not None:
            u = rng.standard_normal((nd, n_cl))[:, clus]
            eps = eps + np.sqrt(rho) * u
        e = lev + sigma * eps
        lev = phi * (lev + alpha * sigma * eps)
        eta0 = eta0 + p["common_sd"][:, None] * rng.standard_normal(eta0.shape)
        etag = etag + p["group_sd"][:, None] * rng.standard_normal(etag.shape)
        pos = (prep.end_pos + h) % m
        zf = (
            p["level"]
            + p["slope"] * (cum / m)
            + p["season"][:, :, pos]
            + e
            + eta0
            + etag[:, grp]
        )
        if prep.occ is None:
            y = prep.scale[idx][None, :] * (np.exp(zf) - float(cfg["offset"]))
        else:
            # hurdle: the month sells anything with probability p, whose
            # cluster-and-month effect is shared by the cluster's series
            uo = rng.standard_normal((nd, n_occ))[:, occ_code]
            logit_p = (
                p["occ_level"]
                + p["occ_slope"] * (cum / m)
                + p["occ_season"][:, grp, pos]
                + p["occ_cluster_sd"][:, None] * uo
            )
            p_sell = (
                -np.expm1(-np.exp(np.minimum(logit_p, 50.0)))
                if cfg.get("occurrence_link", "logit") == "cloglog"
                else 1.0 / (1.0 + np.exp(-logit_p))
            )
            sells = rng.random(logit_p.shape) < p_sell
            c = float(cfg["hurdle_offset"])
            y = np.where(sells, prep.scale[idx][None, :] * (np.exp(zf) - c), 0.0)
        out[:, idx, h - 1] = np.maximum(y, 0.0)
    return _as_array(out, panel, future)


def _as_array(out: np.ndarray, panel: Panel, future: pd.PeriodIndex) -> xr.DataArray:
    return xr.DataArray(
        out,
        dims=("draw", "series", "period"),
        coords={
            "draw": np.arange(out.shape[0]),
            "series": panel.series.to_numpy(),
            "period": future,
        },
        name="sales",
    )


def summarise_draws(
    draws: np.ndarray,
    *,
    point: Literal["mean", "median"] = "mean",
    intervals: Literal["central", "zero_atom"] = "central",
) -> dict[str, np.ndarray]:
    """Point forecast and 80 / 95 % intervals of sales draws (draws on axis 0).

    Parameters
    ----------
    draws
        ``(draw, ...)`` array of non-negative sales draws.
    point
        ``"mean"`` (default; sums of means are means of sums) or
        ``"median"`` (the point that minimises the expected absolute error,
        which MAE-type scores such as MASE reward; on intermittent series it
        is often 0).
    intervals
        ``"central"`` (default): the equal-tailed quantiles
        :math:`[q_{a/2}, q_{1-a/2}]`.  ``"zero_atom"``: where at least
        :math:`a/2` of the draws are 0 (a point mass at zero, e.g. from
        ``zeros="hurdle"``) no lower tail exists — the central interval
        :math:`[0, q_{1-a/2}]` would hold :math:`1 - a/2` of the draws, not
        :math:`1 - a` — so the interval is :math:`[0, q_{1-a}]`, which holds
        :math:`1 - a`; elsewhere it is the central interval.

    Returns
    -------
    dict
        ``mean`` (the point forecast, whichever ``point`` is), ``lo80``,
        ``hi80``, ``lo95``, ``hi95``; each of shape ``draws.shape[1:]``.

    Raises
    ------
    SpecificationError
        On an unknown ``point`` or ``intervals``.

    Examples
    --------
    >>> d = np.r_[np.zeros(50), np.arange(1.0, 51.0)][:, None]
    >>> s = summarise_draws(d, intervals="zero_atom")
    >>> float(s["lo80"][0]), round(float(s["hi80"][0]), 1)
    (0.0, 30.2)
    """
    if point not in ("mean", "median"):
        raise SpecificationError(f"point must be 'mean' or 'median', got {point!r}")
    if intervals not in ("central", "zero_atom"):
        raise SpecificationError(
            f"intervals must be 'central' or 'zero_atom', got {intervals!r}"
        )
    a = np.asarray(draws, dtype=float)
    q = np.quantile(a, [0.025, 0.1, 0.9, 0.975], axis=0)
    out = {
        "mean": a.mean(axis=0) if point == "mean" else np.median(a, axis=0),
        "lo95": q[0],
        "lo80": q[1],
        "hi80": q[2],
        "hi95": q[3],
    }
    if intervals == "zero_atom":
        p0 = (a <= 0).mean(axis=0)
        for lv, tail in ((80, 0.1), (95, 0.025)):
            atom = p0 >= tail
            out[f"lo{lv}"] = np.where(atom, 0.0, out[f"lo{lv}"])
            out[f"hi{lv}"] = np.where(
                atom, np.quantile(a, 1.0 - 2.0 * tail, axis=0), out[f"hi{lv}"]
            )
    return out


def series_ids(panel: Panel) -> list[Hashable]:
    return list(panel.series)

"""Rolling-origin backtests of the terrakit model against statsforecast baselines."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import pandas as pd

from terrakit._runargs import check_seed, did_you_mean, whole_number
from terrakit.data.alignment import make_provenance
from terrakit.exceptions import DataValidationError, SpecificationError
from terrakit.forecast.model import (
    Panel,
    _pooling,
    check_horizon,
    fit_panel,
    merge_configs,
    simulate_paths,
)

__all__ = [
    "BASELINES",
    "BacktestResult",
    "backtest",
    "backtest_panel",
    "baseline_forecasts",
    "score",
]

#: Baseline methods available from statsforecast.
BASELINES: tuple[str, ...] = ("naive", "seasonal_naive", "ets", "arima")

Level = Literal["unit", "account"]


@dataclass(frozen=True)
class BacktestResult:
    """Scores of a rolling-origin backtest.

    Attributes
    ----------
    scores
        One row per method and fold: ``mase``, ``smape``, ``coverage80``,
        ``coverage95``, ``seconds``, ``n_series`` (the series scored),
        ``origin`` and ``filled``: the number of months missing inside the
        scored series' training histories, which a baseline saw filled by
        linear interpolation (see :func:`baseline_forecasts`); 0 for
        terrakit, whose model treats them as unobserved.  ``seconds`` is
        wall time: for terrakit, building, compiling and sampling the model
        and simulating its paths (every fold compiles its own model; on a
        small panel compilation is most of it); for a baseline, its
        forecasts after statsforecast was imported and the model compiled.
    horizon, folds
        The design of the backtest.
    season_length
        Periods per year of the panel.
    forecasts
        Long frame of every forecast made (method, fold, series, period,
        actual, mean, lo80, hi80, lo95, hi95).
    provenance
        Seed, methods, horizon, folds, step, origins, merged configurations,
        terrakit version, ``n_series`` (the series of the panel) and
        ``groups`` (the pooling column, ``None`` when not known or one group,
        and its group names); from :func:`backtest` also ``level``, as a
        :class:`~terrakit.forecast.SalesForecast`'s provenance has them.
    """

    scores: pd.DataFrame
    horizon: int
    folds: int
    season_length: int
    forecasts: pd.DataFrame = field(repr=False)
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        need = {
            "method",
            "fold",
            "mase",
            "smape",
            "coverage80",
            "coverage95",
            "seconds",
        }
        if not need <= set(self.scores.columns):
            raise ValueError(f"scores need columns {sorted(need)}")

    def table(self) -> pd.DataFrame:
        """MASE, sMAPE, 80/95 % coverage (in %) and seconds per method.

        Errors are averaged over folds; seconds are summed.  Methods are
        ordered as run (terrakit first).  terrakit's seconds include the
        compilation of its model in every fold; the baselines' exclude
        statsforecast's import and numba compilation, done once beforehand
        (see :attr:`scores`).
        """
        order = list(dict.fromkeys(self.scores["method"]))
        g = self.scores.groupby("method", sort=False)
        out = pd.DataFrame(
            {
                "MASE": g["mase"].mean(),
                "sMAPE": g["smape"].mean(),
                "coverage80": 100 * g["coverage80"].mean(),
                "coverage95": 100 * g["coverage95"].mean(),
                "seconds": g["seconds"].sum(),
            }
        ).reindex(order)
        out.index.name = "method"
        return out

    def summary(self) -> str:
        """Rounded, stable text (no timings)."""
        t = self.table().drop(columns="seconds").round(3)
        head = (
            f"Backtest: {self.folds} folds × horizon {self.horizon} "
            f"(season length {self.season_length})"
        )
        return head + "\n" + t.to_string()

    def to_frame(self) -> pd.DataFrame:
        return self.table().reset_index()


# -- metrics -----------------------------------------------------------------------
_FORECAST_ARRAYS: tuple[str, ...] = ("mean", "lo80", "hi80", "lo95", "hi95")


def score(
    actual: np.ndarray,
    forecast: Mapping[str, np.ndarray],
    train: np.ndarray,
    season_length: int,
) -> dict[str, float]:
    """MASE, sMAPE and interval coverage of one method on one fold.

    Parameters
    ----------
    actual
        ``(S, H)`` actuals (all finite).
    forecast
        ``mean``, ``lo80``, ``hi80``, ``lo95``, ``hi95`` arrays ``(S, H)``
        (all finite).
    train
        ``(S, T)`` training values (NaN allowed) for the MASE scale: the mean
        absolute seasonal difference in sample.
    season_length
        Seasonal period of the scale (a whole number ≥ 1).

    Returns
    -------
    dict
        ``mase`` (mean over series with a non-zero scale), ``smape`` (in %,
        0 where actual and forecast are both 0), ``coverage80``,
        ``coverage95`` (fractions).

    Raises
    ------
    SpecificationError
        When ``actual`` or a forecast array is not 2-D, a forecast array's
        shape differs from ``actual``'s (a forecast of one series is not
        broadcast over the others), a forecast array is missing, ``train``
        is not 2-D with one row per series of ``actual``, or
        ``season_length`` is not a whole number ≥ 1.  The message shows the
        shapes seen.
    DataValidationError
        When an actual or a forecast (point or interval bound) is NaN or
        infinite: a missing forecast cannot be scored (its sMAPE term would
        read 0, a perfect forecast, and its interval would count as a
        miss), so it is refused rather than left out silently.  Score only
        the series that every method forecast, or fill the gaps (a series
        too short for a method: see :func:`baseline_forecasts`).
    """
    m = _check_season_length(season_length, "the lag of the MASE scale")
    actual, forecast, train = _check_score_shapes(actual, forecast, train)
    _check_finite(
        "actual",
        {"actual": actual},
        why="score needs every actual",
        fix="score only the series observed throughout the test window",
    )
    _check_forecast("forecast", forecast)
    diff = np.abs(train[:, m:] - train[:, :-m])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = np.nanmean(diff, axis=1)
        err = np.abs(actual - forecast["mean"])
        ok = np.isfinite(scale) & (scale > 0)
        mase = float(np.mean(err[ok].mean(axis=1) / scale[ok])) if ok.any() else np.nan
        den = np.abs(actual) + np.abs(forecast["mean"])
        sm = np.where(den > 0, 200 * err / np.where(den > 0, den, 1), 0.0)
    cov80 = np.mean((actual >= forecast["lo80"]) & (actual <= forecast["hi80"]))
    cov95 = np.mean((actual >= forecast["lo95"]) & (actual <= forecast["hi95"]))
    return {
        "mase": mase,
        "smape": float(np.mean(sm)),
        "coverage80": float(cov80),
        "coverage95": float(cov95),
    }


def _check_season_length(season_length: Any, role: str) -> int:
    """``season_length`` as an int ≥ 1 (``12.0`` is 12), or a
    SpecificationError saying what it is used for (``role``)."""
    m = whole_number(season_length)
    if m is None or m < 1:
        raise SpecificationError(
            f"season_length must be a whole number of periods ≥ 1, got "
            f"{season_length!r}; it is {role} (12 for monthly data, 4 for "
            "quarterly, 1 for no season)"
        )
    return m


def _check_score_shapes(
    actual: Any, forecast: Mapping[str, Any], train: Any
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """``actual`` and every forecast array ``(S, H)``, ``train`` ``(S, T)``, as
    float arrays; a SpecificationError showing every shape otherwise."""
    actual = np.asarray(actual, dtype=float)
    missing = [k for k in _FORECAST_ARRAYS if k not in forecast]
    fc = {
        k: np.asarray(forecast[k], dtype=float)
        for k in _FORECAST_ARRAYS
        if k in forecast
    }
    train = np.asarray(train, dtype=float)
    problems: list[str] = []
    if actual.ndim != 2:
        problems.append(f"actual is {actual.shape}, not 2-D")
    if missing:
        problems.append(f"forecast lacks {missing}")
    off: dict[tuple[int, ...], list[str]] = {}
    for k, a in fc.items():
        if a.shape != actual.shape:
            off.setdefault(a.shape, []).append(k)
    for shape, names in off.items():
        verb = "is" if len(names) == 1 else "are"
        problems.append(
            f"forecast {', '.join(names)} {verb} {shape}, not actual's {actual.shape}"
        )
    if train.ndim != 2:
        problems.append(f"train is {train.shape}, not 2-D")
    elif actual.ndim == 2 and train.shape[0] != actual.shape[0]:
        problems.append(
            f"train is {train.shape}: {train.shape[0]} "
            f"row{'s' * (train.shape[0] != 1)} for the "
            f"{actual.shape[0]} series of actual"
        )
    if problems:
        raise SpecificationError(
            "score needs actual and every forecast array (mean, lo80, hi80, lo95, "
            "hi95) of one shape (S, H), S series × H steps, and train of shape "
            f"(S, T) for the same S series: {'; '.join(problems)}.  Pass one row "
            "per series in each, in the same order (one series as a 1 × H array, "
            "a[None, :]); a forecast is never broadcast over the series"
        )
    return actual, fc, train


def _check_finite(
    table: str,
    arrays: Mapping[str, np.ndarray],
    *,
    why: str,
    fix: str,
    where: str = "",
    labels: Sequence[Any] | None = None,
) -> None:
    """Refuse NaN or infinite entries of ``(S, H)`` arrays, naming the series
    (by ``labels``, else by row number)."""
    for name, a in arrays.items():
        bad = ~np.isfinite(np.asarray(a, dtype=float))
        if not bad.any():
            continue
        idx = np.flatnonzero(bad.any(axis=1))
        rows = idx.tolist() if labels is None else [labels[int(i)] for i in idx]
        raise DataValidationError(
            table,
            name,
            f"{int(bad.sum())} of {bad.size} entries are NaN or infinite in "
            f"{len(idx)} of {bad.shape[0]} series{where}; {why}",
            rows=rows,
            fix=fix,
        )


def _check_forecast(
    table: str,
    forecast: Mapping[str, np.ndarray],
    *,
    where: str = "",
    labels: Sequence[Any] | None = None,
) -> None:
    """Refuse a forecast with a NaN or infinite point or interval bound."""
    _check_finite(
        table,
        {k: forecast[k] for k in _FORECAST_ARRAYS},
        why="a missing forecast cannot be scored (its sMAPE term would read 0 %, "
        "a perfect forecast, and its intervals a miss)",
        fix="a NaN or infinite forecast is a failed fit or simulation (for "
        "terrakit, check the fit's convergence: more tuning steps or ADVI "
        "iterations) or a series the method could not forecast; score only the "
        "series every method forecast, or fill the gaps (baseline_forecasts "
        "gives a series too short for a method the naive forecast)",
        where=where,
        labels=labels,
    )


# -- baselines ---------------------------------------------------------------------
def _sf_models(methods: Sequence[str], m: int) -> list[Any]:
    from statsforecast.models import AutoARIMA, AutoETS, Naive, SeasonalNaive

    make = {
        "naive": lambda: Naive(alias="naive"),
        "seasonal_naive": lambda: SeasonalNaive(
            season_length=m, alias="seasonal_naive"
        ),
        "ets": lambda: AutoETS(season_length=m, alias="ets"),
        "arima": lambda: AutoARIMA(season_length=m, alias="arima"),
    }
    return [make[k]() for k in methods]


#: (method, season length) pairs whose statsforecast model has been warmed
#: up in this process (imported and its numba code compiled)
_WARM: set[tuple[str, int]] = set()


def _warm_up(methods: Sequence[str], m: int) -> None:
    """Import statsforecast and run each model (and the naive fallback) once
    on a small synthetic series, so that none of the timed forecasts pays for
    the import or for numba's compilation of the model's code.

    Before this, the first baseline of the first fold was charged with both
    (a naive forecast of 4 series took 2-4 s in fold 1 and 0.01 s in fold 2).
    """
    todo = [k for k in dict.fromkeys(["naive", *methods]) if (k, m) not in _WARM]
    if not todo:
        return
    t = np.arange(max(3 * m, 24), dtype=float)
    noise = np.random.default_rng(0).normal(0.0, 5.0, t.size)
    y = 100.0 + t + 10.0 * np.sin(2 * np.pi * t / m) + noise
    for method, model in zip(todo, _sf_models(todo, m), strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model.forecast(y=y, h=2, level=[80, 95])
            except Exception:  # nothing timed depends on it
                pass
        _WARM.add((method, m))


def _fill_interior(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of the holes inside each series, for the baselines.

    A hole is a missing (NaN) value after a series' first observation and
    before its last; it is filled on the straight line between the
    observations on either side.  Periods before a series' first observation
    or after its last stay NaN.

    Returns
    -------
    values, filled
        The filled ``(S, T)`` values and the boolean mask of the cells filled.
    """
    values = np.array(train, dtype=float)
    filled = np.zeros(values.shape, dtype=bool)
    idx = np.arange(values.shape[1])
    for i, row in enumerate(values):
        seen = np.isfinite(row)
        if seen.sum() < 2:
            continue
        first, last = np.flatnonzero(seen)[[0, -1]]
        hole = ~seen & (idx > first) & (idx < last)
        if hole.any():
            row[hole] = np.interp(idx[hole], idx[seen], row[seen])
            filled[i] = hole
    return values, filled


def _check_baselines(
    methods: Sequence[str] | str, noun: str, known: Sequence[str] = BASELINES
) -> list[str]:
    """``methods`` as a list of ``known`` names (the baselines) without
    repeats (one name alone is a list of one), or a SpecificationError naming
    the unknown ones with the closest known name (``'ets'`` for ``'ETS'``)."""
    chosen = [methods] if isinstance(methods, str) else list(methods)
    unknown = [x for x in chosen if x not in known]
    if unknown:
        raise SpecificationError(
            f"unknown {noun} {unknown}; choose from {list(known)}"
            + did_you_mean(unknown, known)
        )
    if not chosen:
        raise SpecificationError(f"{noun} is empty; choose from {list(known)}")
    return list(dict.fromkeys(chosen))


def baseline_forecasts(
    train: np.ndarray,
    horizon: int,
    season_length: int,
    methods: Sequence[str] = BASELINES,
) -> dict[str, tuple[dict[str, np.ndarray], float]]:
    """Forecasts of statsforecast baselines for every row of ``train``.

    Each series is fitted from its first observation.  statsforecast needs
    regular series, so a hole inside a series (a month with no row between
    its first and last) is filled by linear interpolation between the
    observations on either side, a neutral value: terrakit's own model
    treats such a month as unobserved, and filling it with 0 sales made the
    seasonal naive forecast 0 a year later.  Months before a series' first
    observation are left out.  Series with no
    observation at the end of ``train`` get NaN forecasts.  A series too
    short for a method gets the ``Naive`` forecast for its whole horizon, as
    a forecaster would: statsforecast's ETS refuses "tiny datasets" (an
    error), its seasonal naive returns NaN for the steps more than a season
    beyond a series shorter than a season (and zero-width intervals for the
    others), so any series whose forecast has a NaN entry is forecast by
    ``Naive`` instead.  So is, for the seasonal naive, a series of at most
    one season (``season_length`` periods from its first observation): it
    has no seasonal difference to size an interval by, and statsforecast
    gave exactly one season zero-width 80 % and 95 % intervals, which miss
    every actual.  Every other series keeps the method's own forecast.
    (statsforecast's ``fallback_model`` hook is not used: it writes the
    fallback's interval bounds in the fallback's column order, so an ETS
    fallback came back with its 80 % and 95 % lower bounds swapped.)
    Sales cannot be negative: point forecasts and interval bounds are
    clipped at 0 (a trending ETS or ARIMA forecast may run below 0), so the
    point forecast stays inside its intervals, as terrakit's own forecasts
    (simulated paths clipped at 0) do.

    The seconds are the wall time of each method's forecasts of all series
    (with any naive fallback).  statsforecast is imported and every model
    run once on a small synthetic series before the clock starts (once per
    process), so the first method timed is not charged for the import or
    for numba's compilation of its code.

    Parameters
    ----------
    train
        ``(S, T)`` training values, one row per series (NaN where a series
        has no value).
    horizon
        Periods ahead (a whole number ≥ 1).
    season_length
        Periods per season of the seasonal models (a whole number ≥ 1).
    methods
        Any of :data:`BASELINES` (one name alone is read as a list of one).

    Returns
    -------
    dict
        method → (arrays ``mean``, ``lo80``, ``hi80``, ``lo95``, ``hi95`` of
        shape ``(S, horizon)``, seconds).  Every series observed at the end
        of ``train`` has finite forecasts with
        ``lo95 ≤ lo80 ≤ mean ≤ hi80 ≤ hi95``.

    Raises
    ------
    SpecificationError
        For an unknown or empty ``methods``, a ``horizon`` or
        ``season_length`` that is not a whole number ≥ 1, or a ``train``
        that is not 2-D (the message shows its shape).
    """
    methods = _check_baselines(methods, "methods")
    horizon = check_horizon(horizon)
    m = _check_season_length(season_length, "the period of the seasonal models")
    train = np.asarray(train, dtype=float)
    if train.ndim != 2:
        raise SpecificationError(
            f"train must be 2-D (S, T), S series × T periods, got shape "
            f"{train.shape}; pass one row per series (one series as a 1 × T "
            "array, a[None, :])"
        )
    s_n = train.shape[0]
    usable = np.isfinite(train[:, -1])
    values, _ = _fill_interior(train)
    series: list[tuple[int, np.ndarray]] = []
    n_obs = np.zeros(s_n, dtype=int)
    for i in np.flatnonzero(usable):
        first = int(np.argmax(np.isfinite(values[i])))
        series.append((int(i), values[i, first:]))
        n_obs[i] = values.shape[1] - first
    _warm_up(methods, m)
    out: dict[str, tuple[dict[str, np.ndarray], float]] = {}
    naive: dict[str, np.ndarray] | None = None
    for method in methods:
        t0 = time.perf_counter()
        arrays = _sf_arrays(series, method, m, horizon, s_n)
        failed = usable & ~np.isfinite(np.stack(list(arrays.values()))).all(axis=(0, 2))
        if method == "seasonal_naive":
            # one season or less: no seasonal difference to size its
            # intervals by (statsforecast gave one season zero-width ones)
            failed |= usable & (n_obs <= m)
        if method != "naive" and failed.any():
            # too short for the method (ETS raised, seasonal naive gave NaN
            # steps or had a season at most): the series gets the naive forecast
            if naive is None:
                naive = _sf_arrays(series, "naive", m, horizon, s_n)
            for name in arrays:
                arrays[name][failed] = naive[name][failed]
        _check_nested(arrays, method, usable)
        out[method] = (arrays, time.perf_counter() - t0)
    return out


def _sf_arrays(
    series: Sequence[tuple[int, np.ndarray]],
    method: str,
    season_length: int,
    horizon: int,
    s_n: int,
) -> dict[str, np.ndarray]:
    """One statsforecast method per series → arrays ``(S, horizon)`` by name.

    The model's own ``forecast`` (what ``StatsForecast.forecast`` calls for
    each series), read by key; a series the model refuses gets NaN.
    """
    model = _sf_models([method], season_length)[0]
    arrays = {name: np.full((s_n, horizon), np.nan) for name in _FORECAST_ARRAYS}
    keys = {"mean": "mean", "lo80": "lo-80", "hi80": "hi-80"}
    keys |= {"lo95": "lo-95", "hi95": "hi-95"}
    for i, y in series:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = model.forecast(y=y, h=horizon, level=[80, 95])
            except Exception:  # e.g. ETS on a "tiny dataset": naive fills it
                continue
        for name, key in keys.items():
            arrays[name][i] = np.asarray(res[key], dtype=float)
    # sales cannot be negative: the point forecast is clipped at 0 like its
    # interval (so it stays inside it), as terrakit's own draws are
    return {name: np.maximum(a, 0.0) for name, a in arrays.items()}


def _check_nested(
    arrays: Mapping[str, np.ndarray], method: str, rows: np.ndarray
) -> None:
    """``lo95 ≤ lo80 ≤ mean ≤ hi80 ≤ hi95`` on ``rows``, or a RuntimeError."""
    names = ("lo95", "lo80", "mean", "hi80", "hi95")
    for lo, hi in pairwise(names):
        a, b = arrays[lo][rows], arrays[hi][rows]
        bad = ~(a <= b + 1e-9 * np.maximum(1.0, np.abs(b)))
        if bad.any():
            s, h = np.argwhere(bad)[0]
            raise RuntimeError(
                f"the {method} baseline's forecast is not nested (lo95 ≤ lo80 ≤ "
                f"mean ≤ hi80 ≤ hi95) in {int(bad.any(axis=1).sum())} series: "
                f"first at series row {int(np.flatnonzero(rows)[s])}, step "
                f"{int(h) + 1}, {lo} = {a[s, h]:.6g} > {hi} = {b[s, h]:.6g}"
            )


def _terrakit_forecast(
    panel: Panel,
    horizon: int,
    model_config: Mapping[str, Any] | None,
    sampler_config: Mapping[str, Any] | None,
    seed: int,
) -> tuple[dict[str, np.ndarray], float]:
    """terrakit's forecast of one fold and its seconds: building, compiling
    and sampling the model (:func:`fit_panel`) and simulating the paths.

    PyMC (and nutpie, its default sampler) are imported before the clock
    starts, as statsforecast is for the baselines; the compilation of the
    model stays in: every fold builds and compiles its own model (nutpie
    compiles it with numba), and on a small panel that is most of the time.
    """
    _, scfg = merge_configs(model_config, sampler_config)
    import pymc  # noqa: F401  (imported outside the timed fit)

    if scfg["method"] == "nutpie":
        import nutpie  # noqa: F401

    t0 = time.perf_counter()
    fit = fit_panel(
        panel, model_config=model_config, sampler_config=sampler_config, seed=seed
    )
    draws = simulate_paths(fit, horizon, seed=seed).to_numpy()
    secs = time.perf_counter() - t0
    q = np.quantile(draws, [0.025, 0.1, 0.9, 0.975], axis=0)
    return (
        {
            "mean": draws.mean(axis=0),
            "lo95": q[0],
            "lo80": q[1],
            "hi80": q[2],
            "hi95": q[3],
        },
        secs,
    )


def backtest_panel(
    panel: Panel,
    *,
    horizon: int,
    folds: int = 2,
    methods: Sequence[str] = ("terrakit", *BASELINES),
    model_config: Mapping[str, Any] | None = None,
    sampler_config: Mapping[str, Any] | None = None,
    seed: int = 0,
    step: int | None = None,
) -> BacktestResult:
    """Rolling-origin backtest on a panel (see :func:`backtest`).

    Origins move forward by ``step`` periods (default: the horizon), so the
    panel needs ``2 × season_length + horizon + step × (folds - 1)``
    periods: two years before the first origin, then the folds.

    ``seed`` seeds both the sampler of every fold's fit and its simulated
    noise; the provenance records it as ``seed``, ``fit_seed`` and
    ``noise_seed`` (all three ``None`` when ``"terrakit"`` is not among the
    methods: the baselines are deterministic), the keys a
    :class:`~terrakit.forecast.SalesForecast`'s provenance has.

    Months missing inside a series are unobserved for terrakit's model and
    filled by linear interpolation for the baselines (counted in
    ``scores["filled"]``), see :func:`baseline_forecasts`.
    """
    methods = _check_design(horizon, folds, methods, model_config, sampler_config, seed)
    horizon, folds = _check_horizon(horizon), _check_folds(folds)
    count = horizon if step is None else whole_number(step)
    if count is None or count < 1:
        raise SpecificationError(
            f"step must be a whole number of periods ≥ 1 between origins, got "
            f"{step!r}; leave it out to move by the horizon"
        )
    step = count
    return _backtest_panel(
        panel,
        horizon=horizon,
        folds=folds,
        step=step,
        methods=methods,
        model_config=model_config,
        sampler_config=sampler_config,
        seed=seed,
        facts={"groups": _pooling(panel, None)},
    )


def _backtest_panel(
    panel: Panel,
    *,
    horizon: int,
    folds: int,
    step: int,
    methods: list[str],
    model_config: Mapping[str, Any] | None,
    sampler_config: Mapping[str, Any] | None,
    seed: int,
    facts: Mapping[str, Any],
) -> BacktestResult:
    """:func:`backtest_panel` on checked settings; ``facts`` (the level, the
    pooling groups) go into the provenance."""
    m = panel.season_length
    first_end = _first_origin(panel, horizon, folds, step)
    _check_fold_data(panel, first_end, horizon, step, folds)
    rows: list[dict[str, Any]] = []
    frames: list[pd.DataFrame] = []
    for k in range(folds):
        end = first_end + k * step
        train = panel.truncate(end)
        ok = _fold_series(panel, end, horizon)
        results: dict[str, tuple[dict[str, np.ndarray], float]] = {}
        if "terrakit" in methods:
            results["terrakit"] = _terrakit_forecast(
                train, horizon, model_config, sampler_config, seed
            )
        base = [b for b in methods if b in BASELINES]
        if base:
            results.update(baseline_forecasts(train.values, horizon, m, base))
        for method in methods:
            arrays, secs = results[method]
            row, frame = _fold_scores(panel, k, end, horizon, ok, method, arrays, secs)
            rows.append(row)
            frames.append(frame)
    config: dict[str, Any] = {}
    if "terrakit" in methods:
        mcfg, scfg = merge_configs(model_config, sampler_config)
        config = {"model": mcfg, "sampler": json.loads(json.dumps(scfg, default=str))}
    # one seed serves every fold's sampler and its simulated noise
    used = int(seed) if "terrakit" in methods else None
    prov = make_provenance(
        "forecast/backtest",
        seed=used,
        fit_seed=used,
        noise_seed=used,
        config=config,
        methods=list(methods),
        horizon=int(horizon),
        folds=int(folds),
        step=int(step),
        origins=[str(panel.periods[first_end + k * step - 1]) for k in range(folds)],
        n_series=int(panel.n_series),
        **facts,
    )
    return BacktestResult(
        pd.DataFrame(rows),
        int(horizon),
        int(folds),
        m,
        pd.concat(frames, ignore_index=True),
        prov,
    )


def _first_origin(panel: Panel, horizon: int, folds: int, step: int) -> int:
    """The number of periods before the first origin, or a SpecificationError
    saying how many periods the design needs, how many the panel has and
    which designs fit, when fewer than two seasons precede it."""
    m = panel.season_length
    t_n = panel.values.shape[1]
    first_end = t_n - horizon - step * (folds - 1)
    if first_end >= 2 * m:
        return first_end
    fits = []
    if t_n - 2 * m - horizon >= 0:
        n_max = (t_n - 2 * m - horizon) // step + 1
        fits.append(f"horizon {horizon} fits at most {n_max} fold{'s' * (n_max > 1)}")
    h_max = (
        (t_n - 2 * m) // folds if step == horizon else t_n - 2 * m - step * (folds - 1)
    )
    if h_max >= 1:
        fits.append(f"{folds} folds fit a horizon of at most {h_max}")
    can = "; ".join(fits) if fits else "no backtest fits"
    raise SpecificationError(
        f"a backtest of {folds} folds × horizon {horizon} needs at least "
        f"{2 * m + horizon + step * (folds - 1)} periods of history "
        f"(two years, {2 * m} periods, before the first origin); the history "
        f"has {t_n} ({panel.periods[0]}..{panel.periods[-1]}): {can}. "
        "Use fewer folds or a shorter horizon"
    )


def _fold_series(panel: Panel, end: int, horizon: int) -> np.ndarray:
    """The series a fold scores: observed at its origin (period ``end - 1``)
    and throughout its test window (``end .. end + horizon - 1``)."""
    seen = np.isfinite(panel.values[:, end - 1 : end + horizon])
    return np.asarray(seen.all(axis=1))


def _fold_scores(
    panel: Panel,
    k: int,
    end: int,
    horizon: int,
    ok: np.ndarray,
    method: str,
    arrays: Mapping[str, np.ndarray],
    seconds: float,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """One method's score row and long forecast frame for fold ``k`` (from 0)
    of a backtest, on the series ``ok``: the rows of
    :attr:`BacktestResult.scores` and :attr:`BacktestResult.forecasts`.

    Raises the DataValidationError of :func:`score` (naming the method, fold
    and series) when a forecast of a scored series is NaN or infinite.
    """
    m = panel.season_length
    train = panel.values[:, :end]
    actual = panel.values[:, end : end + horizon]
    sub = {c: np.asarray(arrays[c])[ok] for c in _FORECAST_ARRAYS}
    _check_forecast(
        f"{method} forecast",
        sub,
        where=f" of fold {k + 1} (origin {panel.periods[end - 1]})",
        labels=list(panel.series[ok]),
    )
    n_ok = int(ok.sum())
    # holes in the scored series' histories that the baseline saw filled
    # (terrakit leaves them unobserved)
    filled = 0 if method == "terrakit" else int(_fill_interior(train)[1][ok].sum())
    row = {
        "method": method,
        "fold": k + 1,
        **score(actual[ok], sub, train[ok], m),
        "seconds": seconds,
        "n_series": n_ok,
        "filled": filled,
        "origin": str(panel.periods[end - 1]),
    }
    periods = panel.periods[end : end + horizon]
    frame = pd.DataFrame(
        {
            "method": method,
            "fold": k + 1,
            "series": np.repeat(panel.series[ok].to_numpy(), horizon),
            "period": np.tile(periods.astype(str), n_ok),
            "actual": actual[ok].ravel(),
            **{c: sub[c].ravel() for c in _FORECAST_ARRAYS},
        }
    )
    return row, frame


def _check_fold_data(
    panel: Panel, first_end: int, horizon: int, step: int, folds: int
) -> None:
    """Refuse folds that no series can be scored on, before anything is fitted.

    A fold scores the series observed at its origin and throughout its test
    window; a month with no row for any series there (a lost extract) leaves
    none, and the baselines would have nothing to fit.
    """
    problems: list[str] = []
    empty: list[str] = []
    for k in range(folds):
        end = first_end + k * step
        origin = panel.periods[end - 1]
        window = f"{panel.periods[end]}..{panel.periods[end + horizon - 1]}"
        seen = np.isfinite(panel.values[:, end - 1 : end + horizon])
        if seen.all(axis=1).any():
            continue
        months = panel.periods[end - 1 : end + horizon]
        gone = [str(p) for p in months[~seen.any(axis=0)]]
        empty += [p for p in gone if p not in empty]
        if gone:
            verb = "has" if len(gone) == 1 else "have"
            what = f"{', '.join(gone)} {verb} no sales row for any series"
        else:
            what = "every series misses one of these months"
        problems.append(
            f"fold {k + 1} (origin {origin}, test window {window}) would score "
            f"no series: {what}"
        )
    if not problems:
        return
    if empty:
        fix = (
            f"if nothing was sold in {', '.join(empty)}, add a row with sales 0 "
            "for each active series and month; otherwise choose other origins "
            "(a different horizon or number of folds) whose origin and test "
            "months avoid them"
        )
    else:
        fix = (
            "fill the missing months of the series (sales 0 where nothing was "
            "sold), or choose other origins (a different horizon or number of "
            "folds)"
        )
    raise DataValidationError(
        "history",
        "period",
        "; ".join(problems)
        + " (a fold scores the series observed at its origin and in every "
        "month of its test window)",
        fix=fix,
    )


def backtest(
    study: Any,
    horizon: int = 6,
    folds: int = 2,
    *,
    level: Level = "unit",
    methods: Sequence[str] = ("terrakit", *BASELINES),
    model_config: Mapping[str, Any] | None = None,
    sampler_config: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> BacktestResult:
    """Rolling-origin backtest of terrakit against statsforecast baselines.

    The last ``horizon × folds`` months of the study's history are forecast
    ``folds`` times: each fold fits on everything before its origin and
    forecasts the next ``horizon`` months; origins move forward by
    ``horizon``.

    Parameters
    ----------
    study
        A :class:`~terrakit.data.Study` with a history.
    horizon
        Months ahead per fold.
    folds
        Number of forecast origins.  The history needs two years before the
        first origin, so ``24 + horizon × folds`` months in all: the
        defaults (2 folds × 6 months) fit a 36-month history; 3 folds of 6
        months need 42, 3 folds of 4 months need 36.
    level
        ``"unit"`` or ``"account"`` series (as in :class:`SalesForecaster`).
    methods
        Any of ``"terrakit"``, ``"naive"``, ``"seasonal_naive"``, ``"ets"``,
        ``"arima"``.
    model_config, sampler_config, seed
        Passed to the terrakit model; ``seed`` seeds both its sampler and
        its simulated noise (recorded as ``fit_seed`` and ``noise_seed``).

    Returns
    -------
    BacktestResult
        ``.table()``: MASE, sMAPE, 80/95 % coverage and seconds per method.

    Raises
    ------
    SpecificationError
        For a bad horizon or fold count, or a history too short for them.
    DataValidationError
        When a fold would score no series: a month at its origin or in its
        test window has no sales row for any series (a lost extract).  The
        message names the folds and months; add rows with sales 0 for them,
        or choose other origins.  This is checked before anything is fitted.
        Also when a method's forecast of a scored series is NaN or infinite
        (a failed fit or simulation): it is never scored as a perfect one.
        The message names the method, fold and series.

    Notes
    -----
    MASE divides each series' mean absolute error by its in-sample mean
    absolute seasonal difference (series whose scale is 0 are left out) and
    averages over series; sMAPE is :math:`200 |y - \\hat y| / (|y| + |\\hat
    y|)` (0 when both are 0); coverage is the share of actuals inside the
    central 80 % / 95 % interval.  Only series observed at the origin and
    throughout the test window are scored, and every method forecasts each
    of them: a series too short for a baseline (ETS, or a seasonal model
    with less than a season of history) gets the naive forecast, see
    :func:`baseline_forecasts`.  A month missing inside a series' history
    is unobserved for terrakit's model; the baselines need regular series
    and see it filled by linear interpolation between the months on either
    side (never as 0 sales, which a seasonal naive forecast would repeat a
    year later); ``scores["filled"]`` counts these months per fold.  The
    baselines fit each series from its first row (earlier months are not
    filled).  Seconds are wall time: terrakit's include building and
    compiling its model in every fold (most of the time on a small panel),
    the baselines' exclude statsforecast's one-off import and compilation.
    Sales cannot be negative, so every forecast is clipped at 0: terrakit's
    simulated paths, and the baselines' point forecasts as well as their
    intervals (a trending ETS or ARIMA forecast can run below 0; clipped,
    the point forecast stays inside its intervals).
    """
    from terrakit.forecast.forecaster import _study_panel

    # checked before the history is read
    methods = _check_design(horizon, folds, methods, model_config, sampler_config, seed)
    panel, _, group_column = _study_panel(study, level, "auto", stacklevel=3)
    horizon, folds = _check_horizon(horizon), _check_folds(folds)
    return _backtest_panel(
        panel,
        horizon=horizon,
        folds=folds,
        step=horizon,
        methods=methods,
        model_config=model_config,
        sampler_config=sampler_config,
        seed=seed,
        # the series the scores are about, as a forecast's provenance has them
        facts={"level": level, "groups": _pooling(panel, group_column)},
    )


def _check_design(
    horizon: Any,
    folds: Any,
    methods: Sequence[str] | str,
    model_config: Mapping[str, Any] | None,
    sampler_config: Mapping[str, Any] | None,
    seed: Any,
) -> list[str]:
    """Check a backtest's settings before any data is read; the methods as a list."""
    _check_horizon(horizon)
    _check_folds(folds)
    chosen = _check_baselines(methods, "methods", ["terrakit", *BASELINES])
    if "terrakit" in chosen:
        merge_configs(model_config, sampler_config)
        check_seed(seed)
    return chosen


def _check_horizon(horizon: Any) -> int:
    """``horizon`` as an int ≥ 1 (``12.0`` is 12, as ``draws=500.0`` is 500)."""
    return check_horizon(horizon)


def _check_folds(folds: Any) -> int:
    """``folds`` as an int ≥ 1 (``2.0`` is 2; ``1.5`` and ``True`` are refused)."""
    count = whole_number(folds)
    if count is None or count < 1:
        raise SpecificationError(f"folds must be a whole number ≥ 1, got {folds!r}")
    return count

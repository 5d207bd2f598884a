"""Bayesian sales forecasts per unit or account, summed along any alignment.

::

    fitted = tk.forecast.SalesForecaster().fit(study, level="unit", seed=0)
    f = fitted.predict(horizon=12)
    f.by(study.alignments["current"]).to_frame()
    tk.forecast.backtest(study, horizon=6, folds=2).table()  # needs 24 + 6 × 2 months
    tk.forecast.quota(f, study.alignments["current"], method="growth")
"""

from terrakit.forecast.backtest import (
    BASELINES,
    BacktestResult,
    backtest,
    backtest_panel,
)
from terrakit.forecast.forecaster import (
    FittedSalesForecaster,
    SalesForecast,
    SalesForecaster,
    TerritoryForecast,
    study_panel,
)
from terrakit.forecast.model import (
    DEFAULT_MODEL_CONFIG,
    DEFAULT_SAMPLER_CONFIG,
    Panel,
    PanelFit,
    build_forecast_model,
    ended_series,
    fit_panel,
    make_panel,
    simulate_paths,
)
from terrakit.forecast.quota import QuotaResult, quota

__all__ = [
    "BASELINES",
    "DEFAULT_MODEL_CONFIG",
    "DEFAULT_SAMPLER_CONFIG",
    "BacktestResult",
    "FittedSalesForecaster",
    "Panel",
    "PanelFit",
    "QuotaResult",
    "SalesForecast",
    "SalesForecaster",
    "TerritoryForecast",
    "backtest",
    "backtest_panel",
    "build_forecast_model",
    "ended_series",
    "fit_panel",
    "make_panel",
    "quota",
    "simulate_paths",
    "study_panel",
]

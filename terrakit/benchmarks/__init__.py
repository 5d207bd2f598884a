"""Readers for public benchmark instances and a runner through the design engine.

``run(family, paths, time_limit=60, seed=0)`` returns one row per instance
(see :func:`terrakit.benchmarks.run.run`); families are registered in
:data:`terrakit.benchmarks.run.FAMILIES`.  ``run_forecast(panel, train_csv, ...)``
forecasts a public sales panel with the same model as ``SalesForecaster``.
"""

from __future__ import annotations

from typing import Any

from terrakit.benchmarks.run import FAMILIES, register_family, run

__all__ = ["FAMILIES", "register_family", "run", "run_forecast"]


def run_forecast(*args: Any, **kwargs: Any) -> Any:
    """Forecast a benchmark panel (see ``terrakit.benchmarks.forecasting``)."""
    from terrakit.benchmarks.forecasting import run_forecast as _run

    return _run(*args, **kwargs)

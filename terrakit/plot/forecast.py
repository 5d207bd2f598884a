"""Forecast fan chart of one territory: history, mean and 80/95 % intervals."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from terrakit.plot._text import plain

__all__ = ["forecast"]


def forecast(
    territory_forecast: Any,
    territory: Hashable,
    ax: Any = None,
    *,
    history_periods: int | None = 36,
    color: str = "C0",
) -> Any:
    """Plot one territory's sales history and forecast with 80/95 % bands.

    Parameters
    ----------
    territory_forecast
        A :class:`~terrakit.forecast.TerritoryForecast` (``f.by(alignment)``).
    territory
        The territory id to plot.
    ax
        Matplotlib axes; a new figure is made when ``None``.
    history_periods
        How many past periods to show (``0``: none, ``None``: all).
    color
        Colour of the forecast.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    KeyError
        When the territory is not in the forecast.
    ValueError
        When ``history_periods`` is negative.
    """
    import matplotlib.pyplot as plt

    tf = territory_forecast
    terrs = list(tf.draws["territory"].to_numpy())
    if territory not in terrs:
        raise KeyError(
            f"territory {territory!r} is not in this forecast; it has "
            f"{terrs[:10]}{' ...' if len(terrs) > 10 else ''}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    d = tf.draws.sel(territory=territory).to_numpy().astype(float)
    fut = [p.to_timestamp() for p in tf.draws["period"].to_numpy()]
    q = np.quantile(d, [0.025, 0.1, 0.9, 0.975], axis=0)
    hist = tf.history.sel(territory=territory)
    if history_periods is not None:
        if isinstance(history_periods, bool) or history_periods < 0:
            raise ValueError(
                f"history_periods must be a whole number of periods ≥ 0 or None "
                f"(all), got {history_periods!r}"
            )
        n = hist.sizes["period"]
        hist = hist.isel(period=slice(n - min(int(history_periods), n), None))
    past = [p.to_timestamp() for p in hist["period"].to_numpy()]
    ax.plot(past, hist.to_numpy(), color="0.3", lw=1.2, label="history")
    ax.fill_between(fut, q[0], q[3], color=color, alpha=0.18, lw=0, label="95 %")
    ax.fill_between(fut, q[1], q[2], color=color, alpha=0.35, lw=0, label="80 %")
    ax.plot(fut, d.mean(axis=0), color=color, lw=1.8, label="forecast mean")
    ax.set_title(plain(f"Sales forecast — territory {territory} ({tf.alignment_name})"))
    ax.set_ylabel("sales")
    ax.legend(loc="upper left", frameon=False)
    return ax

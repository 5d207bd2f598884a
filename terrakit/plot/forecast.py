"""Forecast fan chart of one territory: history, mean and 80/95 % intervals."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from terrakit._runargs import whole_number
from terrakit.plot._check import colour, expect, is_a
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

    Months without a history row for any series of the territory
    (unobserved, NaN in ``history``) break the history line; they are not
    drawn as 0 sales.  Months in which only some of the territory's series
    were observed (their sum is a partial total, see
    :meth:`~terrakit.forecast.SalesForecast.by`) are marked with hollow
    circles labelled "partly observed".

    Parameters
    ----------
    territory_forecast
        A :class:`~terrakit.forecast.TerritoryForecast` (``f.by(alignment)``).
    territory
        The territory id to plot.
    ax
        Matplotlib axes; a new figure is made when ``None``.
    history_periods
        How many past periods to show: a whole number ≥ 0 (``0``: none), or
        ``None``: all.
    color
        Colour of the forecast (any matplotlib colour).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        When ``territory_forecast`` is not a
        :class:`~terrakit.forecast.TerritoryForecast` (e.g. the
        :class:`~terrakit.forecast.SalesForecast` before ``.by()``).
    KeyError
        When the territory is not in the forecast.
    ValueError
        When ``history_periods`` is not a whole number ≥ 0 or ``None``, or
        ``color`` is not a matplotlib colour.

    All are raised before a figure is made.  Territories are matched by
    exact label: ``True`` is not territory ``1``.
    """
    import matplotlib.pyplot as plt

    tf = territory_forecast
    if is_a(tf, "terrakit.forecast.forecaster", "SalesForecast"):
        hint = (
            f"this forecast is per {tf.level}: sum it by territory first, e.g. "
            "tk.plot.forecast(f.by(study.alignments['current']), territory)"
        )
    else:
        hint = (
            "make one with forecast.by(alignment), e.g. "
            "f.by(study.alignments['current'])"
        )
    expect(
        tf,
        "terrakit.forecast.forecaster",
        "TerritoryForecast",
        func="tk.plot.forecast",
        wanted="a TerritoryForecast",
        hint=hint,
    )
    territory = _label(tf.draws["territory"].to_numpy().tolist(), territory)
    n_shown = None if history_periods is None else whole_number(history_periods)
    if history_periods is not None and (n_shown is None or n_shown < 0):
        raise ValueError(
            f"history_periods must be a whole number of periods ≥ 0 or None "
            f"(all), got {history_periods!r}"
        )
    colour(color, "color")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    d = tf.draws.sel(territory=territory).to_numpy().astype(float)
    fut = [p.to_timestamp() for p in tf.draws["period"].to_numpy()]
    q = np.quantile(d, [0.025, 0.1, 0.9, 0.975], axis=0)
    hist = tf.history.sel(territory=territory)
    n = hist.sizes["period"]
    first = 0 if n_shown is None else n - min(n_shown, n)
    hist = hist.isel(period=slice(first, None))
    past = [p.to_timestamp() for p in hist["period"].to_numpy()]
    y = hist.to_numpy().astype(float)
    # NaN (no series observed) breaks the line; a month observed between two
    # gaps is a lone point that only a marker shows
    gaps = bool(np.isnan(y).any())
    ax.plot(
        past,
        y,
        color="0.3",
        lw=1.2,
        marker="." if gaps else None,
        ms=4,
        label="history",
    )
    observed = tf.history_observed
    if observed is not None and len(past):
        seen = observed.sel(territory=territory).isel(period=slice(first, None))
        of = int(seen["n_series"].item())
        k = seen.to_numpy()
        part = (k > 0) & (k < of)
        n_part = int(part.sum())
        if n_part:
            ax.plot(
                [p for p, m in zip(past, part, strict=True) if m],
                y[part],
                ls="none",
                marker="o",
                ms=5,
                mfc="white",
                mec="0.3",
                label=f"partly observed ({n_part} period{'s' * (n_part != 1)})",
            )
    ax.fill_between(fut, q[0], q[3], color=color, alpha=0.18, lw=0, label="95 %")
    ax.fill_between(fut, q[1], q[2], color=color, alpha=0.35, lw=0, label="80 %")
    ax.plot(fut, d.mean(axis=0), color=color, lw=1.8, label="forecast mean")
    ax.set_title(plain(f"Sales forecast — territory {territory} ({tf.alignment_name})"))
    ax.set_ylabel("sales")
    ax.legend(loc="upper left", frameon=False)
    return ax


def _label(terrs: list[Any], territory: Any) -> Any:
    """The forecast's own label for ``territory``, matched exactly: a bool is
    not a number (``True == 1``), which ``.sel`` would then fail to find."""

    def is_bool(v: Any) -> bool:
        return isinstance(v, bool | np.bool_)

    try:
        found = [
            t for t in terrs if t == territory and is_bool(t) == is_bool(territory)
        ]
    except (TypeError, ValueError):  # an array-like: not one label
        found = []
    if not found:
        raise KeyError(
            f"territory {territory!r} is not in this forecast; it has "
            f"{terrs[:10]}{' ...' if len(terrs) > 10 else ''}"
        )
    return found[0]

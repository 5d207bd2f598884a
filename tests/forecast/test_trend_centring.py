"""The pooled level is each series' mean fitted level over its own months.

Every series is divided by its own mean over the window, so on the model's
scale each one averages about the same over its months, whatever its trend
and whichever months (seasons) a new series has.  Pooled at the window's
end, the level of a growing series had to sit above that of a falling one
by ``slope × |mid-point|``, and the pooling prior, which
held the levels together, held the slopes together with them (QA round 19:
16 series growing +0.12 or falling -0.04 a year were all forecast with about
the mean trend; 80 % intervals held 31 % of their 12-month totals).  Fast
tests: the model's own variables at a chosen point, no sampling.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from terrakit.forecast import make_panel
from terrakit.forecast.model import build_forecast_model

from .conftest import tensor_values

#: years before the last month of a 36-month window (0 at its end)
T_YEARS = (np.arange(36) - 35) / 12


def opposite_trends() -> pd.DataFrame:
    """Long rows of three noise-free monthly series, 2022-01..2024-12: ``up``
    grows and ``down`` falls by the same 30 % a year (log scale), ``new``
    grows 30 % a year but has only the last 6 months."""
    per = pd.period_range("2022-01", periods=36, freq="M")
    return pd.concat(
        [
            pd.DataFrame(
                {"s": "up", "period": per, "sales": 100 * np.exp(0.3 * T_YEARS)}
            ),
            pd.DataFrame(
                {"s": "down", "period": per, "sales": 100 * np.exp(-0.3 * T_YEARS)}
            ),
            pd.DataFrame(
                {
                    "s": "new",
                    "period": per[-6:],
                    "sales": 50 * np.exp(0.3 * T_YEARS[-6:]),
                }
            ),
        ],
        ignore_index=True,
    )


def no_level_spread(model, slopes: np.ndarray, mu_level: float) -> dict:
    """The model's initial point with every series' pooled level at
    ``mu_level`` (``level_raw = 0``) and the slopes set to ``slopes``
    (``mu_slope = 0``, ``tau_slope = 1``)."""
    point = model.initial_point()
    point.update(
        mu_level=np.array([mu_level]),
        level_raw=np.zeros(len(slopes)),
        mu_slope=np.array([0.0]),
        tau_slope_log__=np.asarray(0.0),
        slope_raw=np.asarray(slopes, dtype=float),
    )
    return point


def test_the_pooled_level_is_each_series_level_at_its_mid_point():
    """The levels pooled to one value (no spread) put every series' line
    through that value at the middle of its own months, so the end-of-window
    ``level`` (which forecasts extrapolate from) moves with the slope.  Before,
    ``level`` itself was pooled: all three were 0.7 at the window's end."""
    panel = make_panel(opposite_trends(), key="s")
    assert list(panel.series) == ["down", "new", "up"]
    model = build_forecast_model(panel)
    slopes = np.array([-0.2, 0.3, 0.2])
    vals = tensor_values(model, no_level_spread(model, slopes, 0.7), ["level", "slope"])
    np.testing.assert_allclose(vals["slope"], slopes, rtol=1e-12)
    # middles: 17.5 months (36-month series) and 2.5 months (the new one)
    # before the window's last month
    mid = np.array([-17.5, -2.5, -17.5]) / 12
    np.testing.assert_allclose(vals["level"] + slopes * mid, 0.7, rtol=1e-12)
    np.testing.assert_allclose(
        vals["level"],
        [0.7 - 0.2 * 17.5 / 12, 0.7 + 0.3 * 2.5 / 12, 0.7 + 0.2 * 17.5 / 12],
    )


def test_the_pooled_level_is_the_mean_fit_over_the_series_months():
    """A series is divided by its mean over its own months, so what is pooled
    is its mean fitted level over them: trend, seasonal effects and the
    shared shock path included.  A new series with only July to December,
    the low half of the season here, is then forecast from a level above
    the others', not dragged below them; the shock path, 0 at the window's
    end but not on average, does not shift the series' mean either."""
    panel = make_panel(opposite_trends(), key="s")
    model = build_forecast_model(panel)
    rng = np.random.default_rng(3)
    point = no_level_spread(model, np.array([-0.2, 0.3, 0.2]), 0.7)
    point.update(
        tau_season_log__=np.asarray(np.log(0.2)),
        season_raw=np.tile(np.sin(2 * np.pi * np.arange(12) / 12), (3, 1)),
        common_sd_log__=np.asarray(np.log(0.05)),
        common_raw=rng.standard_normal(35),
    )
    vals = tensor_values(model, point, ["level", "slope", "season", "eta"])
    season, eta = vals["season"], vals["eta"]
    low = 0.2 * (2 + np.sqrt(3)) / 6  # 0.124: mean effect of January..June
    np.testing.assert_allclose(season[:, 6:].mean(axis=1), -low, rtol=1e-12)
    assert abs(eta[0]) + abs(eta[-1]) < 1e-12 and np.ptp(eta) > 0.1  # a bridge
    pos = np.mod(np.asarray(panel.periods.asi8), 12)  # 0 = January
    seen = np.isfinite(panel.values)
    assert list(pos[seen[1]]) == [6, 7, 8, 9, 10, 11]  # the new series
    fit = (
        vals["level"][:, None]
        + vals["slope"][:, None] * T_YEARS[None, :]
        + season[:, pos]
        + eta[None, :]
    )
    mean_fit = [fit[i, seen[i]].mean() for i in range(3)]
    np.testing.assert_allclose(mean_fit, 0.7, rtol=1e-12)
    # the new series' level at the window's end: above its mean by the low
    # season's 0.124, its trend's 0.3 x 2.5 / 12 and the path's mean
    np.testing.assert_allclose(
        vals["level"][1],
        0.7 + low + 0.3 * 2.5 / 12 - eta[seen[1]].mean(),
        rtol=1e-12,
    )


def test_opposite_trends_need_no_spread_of_levels():
    """With each series at its own least-squares slope on the model's scale
    and no spread of levels, the lines of a growing and a falling series pass
    through their window means (the data's own levels); pooled at the window's
    end they missed them by ``slope × 17.5 / 12`` (±0.2 here), a misfit only
    a spread of levels or of slopes could remove."""
    long = opposite_trends()
    panel = make_panel(long[long.s != "new"], key="s")
    model = build_forecast_model(panel)
    y = panel.values
    z = np.log(y / y.mean(axis=1, keepdims=True) + 1.0)  # the model's scale
    b = np.array([np.polyfit(T_YEARS, zi, 1)[0] for zi in z])
    assert b[0] < -0.1 and b[1] > 0.1  # down, up: clearly opposite trends
    mean_z = z.mean(axis=1)
    np.testing.assert_allclose(mean_z[0], mean_z[1], rtol=1e-12)  # mirror images
    vals = tensor_values(
        model, no_level_spread(model, b, float(mean_z[0])), ["level", "slope"]
    )
    line_mean = vals["level"] + vals["slope"] * T_YEARS.mean()
    np.testing.assert_allclose(line_mean, mean_z, atol=1e-12)

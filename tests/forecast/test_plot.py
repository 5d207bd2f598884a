"""tk.plot.forecast fan chart."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from terrakit.forecast import SalesForecaster
from terrakit.plot.forecast import forecast as plot_forecast


def test_fan_chart_draws_history_mean_and_bands(toy_study, mock_sampling):
    f = SalesForecaster(sampler_config=mock_sampling).fit(toy_study).predict(6)
    tf = f.by(toy_study.alignments["current"])
    _fig, ax = plt.subplots()
    out = plot_forecast(tf, territory="T2", ax=ax)
    assert out is ax
    assert len(ax.lines) == 2 and len(ax.collections) == 2
    assert "T2" in ax.get_title()
    with pytest.raises(KeyError, match="not in this forecast"):
        plot_forecast(tf, territory="T9")
    plt.close("all")


@pytest.mark.parametrize(("periods", "shown"), [(0, 0), (3, 3), (None, "all")])
def test_history_periods_shows_that_many_past_periods(
    toy_study, mock_sampling, periods, shown
):
    """``history_periods=0`` shows no history (``-0`` sliced it all back in)."""
    f = SalesForecaster(sampler_config=mock_sampling).fit(toy_study).predict(6)
    tf = f.by(toy_study.alignments["current"])
    n = tf.history.sizes["period"]
    assert n > 3
    ax = plot_forecast(tf, territory="T2", history_periods=periods)
    (hist,) = [ln for ln in ax.lines if ln.get_label() == "history"]
    want = tf.history.sel(territory="T2").to_numpy()
    want = want if shown == "all" else want[n - shown :]
    assert list(hist.get_ydata()) == list(want)
    with pytest.raises(ValueError, match="history_periods must be a whole number"):
        plot_forecast(tf, territory="T2", history_periods=-1)
    plt.close("all")

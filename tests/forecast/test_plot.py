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

"""Territory quotas with their probability of attainment."""

from __future__ import annotations

import numpy as np
import pytest

from terrakit.exceptions import SpecificationError
from terrakit.forecast import SalesForecaster, quota


@pytest.fixture
def unit_forecast(toy_study, mock_sampling):
    """12-month unit-level forecast of ``toy_study`` (mocked posterior)."""
    return (
        SalesForecaster(sampler_config=mock_sampling)
        .fit(toy_study, level="unit", seed=0)
        .predict(12)
    )


def test_share_of_potential_splits_the_forecast_total(toy_study, unit_forecast):
    q = quota(unit_forecast, toy_study.alignments["current"])
    t = q.table
    # potentials: T1 = 10 + 20, T2 = 30 + 40
    assert t.loc["T1", "target"] / t.loc["T2", "target"] == pytest.approx(30 / 70)
    assert t["target"].sum() == pytest.approx(t["forecast_mean"].sum(), rel=1e-6)
    assert ((t["p_attain"] >= 0) & (t["p_attain"] <= 1)).all()
    # T2 gets more than its forecast (70 % of potential, ~50 % of sales)
    assert t.loc["T2", "p_attain"] < t.loc["T1", "p_attain"]


def test_growth_targets_last_year_times_growth(toy_study, unit_forecast):
    q = quota(
        unit_forecast, toy_study.alignments["current"], method="growth", growth=0.1
    )
    tf = unit_forecast.by(toy_study.alignments["current"])
    last_year = tf.history.isel(period=slice(-12, None)).sum("period").to_numpy()
    np.testing.assert_allclose(q.table["target"].to_numpy(), 1.1 * last_year)
    assert "Quotas (growth)" in q.summary()


def test_unknown_method(toy_study, unit_forecast):
    with pytest.raises(SpecificationError, match="'share_of_potential' or 'growth'"):
        quota(unit_forecast, toy_study.alignments["current"], method="equal")

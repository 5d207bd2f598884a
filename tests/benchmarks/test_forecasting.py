"""Readers of the forecasting panels and run_forecast (mocked MCMC)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from terrakit.benchmarks.forecasting import read_forecast_panel, run_forecast
from terrakit.exceptions import SpecificationError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "forecasting"
FILES = {
    "tourism": SHARED / "tourism_train_1998Q1-2015Q4.csv",
    "aus_retail": SHARED / "aus_retail_train_to_2016-12.csv",
    "superstore": SHARED / "superstore_orders_to_2018.csv",
}


@pytest.fixture
def mock_sampling(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Replace MCMC by the forecast tests' fake posterior (see their conftest)."""
    path = Path(__file__).resolve().parents[1] / "forecast" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_tk_forecast_conftest", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import terrakit.forecast.model as model_mod

    monkeypatch.setattr(model_mod, "_sample", mod.fake_sample)
    return dict(mod.MOCK_SAMPLER)


needs_data = pytest.mark.skipif(
    not SHARED.is_dir(), reason="shared forecasting panels not present"
)


@needs_data
def test_tourism_is_304_quarterly_series():
    fp = read_forecast_panel("tourism", FILES["tourism"])
    p = fp.panel
    assert p.values.shape == (304, 72)
    assert p.season_length == 4
    assert str(p.periods[0]) == "1998Q1" and str(p.periods[-1]) == "2015Q4"
    assert p.group_names == ("Business", "Holiday", "Other", "Visiting")
    assert list(fp.series_keys().columns) == ["Region", "State", "Purpose"]
    assert p.clusters is None  # State cluster shocks made tourism worse


@needs_data
def test_aus_retail_keeps_bottom_industries():
    fp = read_forecast_panel("aus_retail", FILES["aus_retail"])
    p = fp.panel
    # 114 bottom series, four of which stop in 2010-2013: 110 reach the end
    assert p.n_series == 114
    assert np.isfinite(p.values[:, -1]).sum() == 110
    assert p.season_length == 12
    assert "Food retailing" not in set(fp.history["Industry"])


@needs_data
def test_superstore_is_monthly_state_by_category():
    fp = read_forecast_panel("superstore", FILES["superstore"])
    p = fp.panel
    assert p.season_length == 12
    assert str(p.periods[0]) == "2016-01" and str(p.periods[-1]) == "2018-12"
    assert set(fp.history["Category"]) == {"Furniture", "Office Supplies", "Technology"}
    assert (np.nan_to_num(p.values) >= 0).all()
    # a State's categories share shocks: clusters are the States
    assert (
        p.clusters is not None and len(p.cluster_names) == fp.history["State"].nunique()
    )
    keys = fp.series_keys().reindex(p.series)
    assert (np.asarray(p.cluster_names)[p.clusters] == keys["State"].to_numpy()).all()


@needs_data
def test_run_forecast_columns(mock_sampling):
    out = run_forecast(
        "tourism", FILES["tourism"], horizon=8, seed=0, sampler_config=mock_sampling
    )
    assert list(out.columns) == [
        "Region",
        "State",
        "Purpose",
        "period",
        "mean",
        "lo80",
        "hi80",
        "lo95",
        "hi95",
    ]
    assert len(out) == 304 * 8
    assert str(out["period"].iloc[0]) == "2016Q1"
    assert (out["lo95"] <= out["lo80"]).all() and (out["lo80"] <= out["hi80"]).all()
    assert (out["hi80"] <= out["hi95"]).all()


def test_unknown_panel():
    with pytest.raises(SpecificationError, match="unknown forecasting panel"):
        read_forecast_panel("m5", "x.csv")

"""Readers of the forecasting panels and run_forecast (mocked MCMC)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from terrakit.benchmarks.forecasting import read_forecast_panel, run_forecast
from terrakit.exceptions import SpecificationError
from terrakit.forecast.backtest import score

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


@pytest.fixture
def tiny_tourism_csv(tmp_path: Path) -> Path:
    """A tourism-format CSV: 4 series (2 Regions in 2 States × 2 Purposes),
    16 quarters 2010Q1..2013Q4 of positive trips with a seasonal pattern."""
    import pandas as pd

    rng = np.random.default_rng(0)
    quarters = [f"{y} Q{q}" for y in range(2010, 2014) for q in range(1, 5)]
    rows = []
    for region, state in (("Adelaide", "South Australia"), ("Hobart", "Tasmania")):
        for purpose in ("Business", "Holiday"):
            season = np.tile([1.2, 0.9, 0.8, 1.1], 4)
            trips = 100 * season * rng.lognormal(0.0, 0.1, 16)
            rows.append(
                pd.DataFrame(
                    {
                        "Quarter": quarters,
                        "Region": region,
                        "State": state,
                        "Purpose": purpose,
                        "Trips": trips,
                    }
                )
            )
    path = tmp_path / "tiny_tourism.csv"
    pd.concat(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"folds": 0}, r"^folds must be a whole number ≥ 1, got 0$"),
        ({"folds": 1.5}, r"^folds must be a whole number ≥ 1, got 1\.5$"),
        ({"horizon": 0}, r"^horizon must be at least 1 period, got 0"),
        ({"seed": -1}, r"^seed must be a non-negative integer, got -1"),
        (
            {"baselines": ("ets", "prophet", "snaive")},
            r"^unknown baselines \['prophet', 'snaive'\]; choose from \['naive', "
            r"'seasonal_naive', 'ets', 'arima'\]; did you mean 'naive' for "
            r"'snaive'\?$",
        ),
        (
            {"total_levels": ("state", "national")},
            r"^unknown total_levels \['state'\] for the tourism panel; choose from "
            r"\['Region', 'State', 'Purpose', 'national'\] \(its key columns, or "
            r"'national' for the grand total\); did you mean 'State' for 'state'\?$",
        ),
        ({"sampler_config": {"draw": 10}}, r"unknown sampler_config keys \['draw'\]"),
    ],
)
def test_benchmark_settings_are_checked_before_reading_or_fitting(kwargs, match):
    """folds=0 raised pandas' "No objects to concatenate", folds=1.5 a
    TypeError, an unknown baseline or total level a KeyError after every fit:
    now a SpecificationError before the panel is read (the path does not
    exist) or anything fitted."""
    from terrakit.benchmarks.forecasting import benchmark_forecast_panel

    args = {"horizon": 2, "folds": 1} | kwargs
    with pytest.raises(SpecificationError, match=match):
        benchmark_forecast_panel("tourism", "no_such_panel.csv", **args)


def test_benchmark_takes_whole_float_counts_and_records_provenance(
    tiny_tourism_csv, mock_sampling
):
    """horizon=2.0 raised a TypeError after the fit (the checked horizon was
    thrown away); the results carried no provenance."""
    from terrakit.benchmarks.forecasting import benchmark_forecast_panel
    from terrakit.forecast.backtest import backtest_panel

    bench = benchmark_forecast_panel(
        "tourism",
        tiny_tourism_csv,
        horizon=2.0,
        folds=2.0,
        seed=7,
        baselines=("naive", "ets"),
        total_levels=("State",),
        sampler_config=mock_sampling,
    )
    assert (bench.bottom.horizon, bench.bottom.folds) == (2, 2)
    assert list(bench.bottom.table().index) == ["terrakit", "naive", "ets"]
    assert set(bench.totals["level"]) == {"State"}
    prov = bench.provenance
    assert bench.bottom.provenance == prov
    assert (prov["seed"], prov["fit_seed"], prov["noise_seed"]) == (7, 7, 7)
    assert prov["panel"] == "tourism"
    assert prov["methods"] == ["terrakit", "naive", "ets"]
    assert (prov["horizon"], prov["folds"], prov["step"]) == (2, 2, 2)
    assert prov["origins"] == ["2012Q4", "2013Q2"]
    assert prov["total_levels"] == ["State"]
    assert prov["config"]["sampler"]["draws"] == mock_sampling["draws"]
    assert prov["config"]["model"]["residual"]  # the merged model config
    assert "statsforecast" in prov["versions"] and prov["terrakit_version"]
    # the same folds and keys as backtest_panel's provenance
    ref = backtest_panel(
        read_forecast_panel("tourism", tiny_tourism_csv).panel,
        horizon=2,
        folds=2,
        methods=["naive"],
    ).provenance
    assert prov["origins"] == ref["origins"]
    assert set(ref) - {"method"} <= set(prov)


def test_benchmark_refuses_folds_no_series_can_be_scored_before_fitting(
    tiny_tourism_csv, monkeypatch
):
    """A quarter without a row for any series (a lost extract) in a fold's
    test window: backtest_panel refused it before fitting, the benchmark fit
    every fold first."""
    import pandas as pd

    import terrakit.benchmarks.forecasting as bf
    from terrakit.benchmarks.forecasting import benchmark_forecast_panel
    from terrakit.exceptions import DataValidationError, TerrakitWarning

    df = pd.read_csv(tiny_tourism_csv)
    df[df["Quarter"] != "2013 Q3"].to_csv(tiny_tourism_csv, index=False)

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before the folds were checked")

    monkeypatch.setattr(bf, "fit_panel", no_fit)
    with (
        pytest.warns(TerrakitWarning, match=r"\(2013Q3\); they are treated as unobs"),
        pytest.raises(DataValidationError) as info,
    ):
        benchmark_forecast_panel(
            "tourism", tiny_tourism_csv, horizon=2, folds=1, baselines=("naive",)
        )
    assert str(info.value).startswith(
        "history.period: fold 1 (origin 2013Q2, test window 2013Q3..2013Q4) would "
        "score no series: 2013Q3 has no sales row for any series"
    )


def test_benchmark_bottom_has_backtest_panels_rows(tiny_tourism_csv, mock_sampling):
    """The benchmark's ``bottom`` result left out the period, the interval
    bounds and ``filled`` that a BacktestResult documents (and that
    backtest_panel's has): its baseline rows are now backtest_panel's."""
    from terrakit.benchmarks.forecasting import benchmark_forecast_panel
    from terrakit.forecast.backtest import backtest_panel

    bench = benchmark_forecast_panel(
        "tourism",
        tiny_tourism_csv,
        horizon=2,
        folds=2,
        baselines=("naive",),
        total_levels=("national",),
        sampler_config=mock_sampling,
    )
    ref = backtest_panel(
        read_forecast_panel("tourism", tiny_tourism_csv).panel,
        horizon=2,
        folds=2,
        methods=["naive"],
    )
    fc, ref_fc = bench.bottom.forecasts, ref.forecasts
    assert (
        list(fc.columns)
        == list(ref_fc.columns)
        == [
            "method",
            "fold",
            "series",
            "period",
            "actual",
            "mean",
            "lo80",
            "hi80",
            "lo95",
            "hi95",
        ]
    )
    naive = fc[fc["method"] == "naive"].reset_index(drop=True)
    pd.testing.assert_frame_equal(naive, ref_fc)
    assert list(bench.bottom.scores.columns) == list(ref.scores.columns)
    assert bench.bottom.scores["filled"].tolist() == [0, 0, 0, 0]
    tk = fc[fc["method"] == "terrakit"]
    assert (tk["lo95"] <= tk["lo80"]).all() and (tk["hi80"] <= tk["hi95"]).all()
    assert tk["period"].tolist()[:2] == ["2013Q1", "2013Q2"]


def test_benchmark_totals_leave_months_before_a_series_starts_unobserved(
    tiny_tourism_csv, mock_sampling, monkeypatch
):
    """ETS on totals (and every total's MASE scale) read the quarters before
    a State's series start as 0 sales: Tasmania's total began with four
    zeros and a jump.  They are NaN now, as baseline_forecasts leaves out
    the months before a series' first observation."""
    from terrakit.benchmarks.forecasting import benchmark_forecast_panel

    # the module (terrakit.forecast.backtest is also the name of a function)
    bt = importlib.import_module("terrakit.forecast.backtest")

    df = pd.read_csv(tiny_tourism_csv)
    late = (df["State"] == "Tasmania") & df["Quarter"].str.startswith("2010")
    df[~late].to_csv(tiny_tourism_csv, index=False)
    seen: list[np.ndarray] = []
    real = bt.baseline_forecasts

    def spy(train, horizon, season_length, methods=bt.BASELINES):
        if tuple(methods) == ("ets",):
            seen.append(np.array(train))
        return real(train, horizon, season_length, methods)

    monkeypatch.setattr(bt, "baseline_forecasts", spy)
    bench = benchmark_forecast_panel(
        "tourism",
        tiny_tourism_csv,
        horizon=2,
        folds=1,
        baselines=("naive",),
        total_levels=("State",),
        sampler_config=mock_sampling,
    )
    (state,) = seen
    panel = read_forecast_panel("tourism", tiny_tourism_csv).panel
    tas = np.asarray(panel.series.str.contains("Tasmania"))
    assert np.isnan(state[1, :4]).all()
    np.testing.assert_allclose(state[1, 4:], panel.values[tas, 4:14].sum(axis=0))
    np.testing.assert_allclose(state[0], panel.values[~tas, :14].sum(axis=0))
    # the total's MASE scale leaves the unobserved quarters out too
    ets = bench.totals[bench.totals["method"] == "ets (fitted on totals)"]
    fc, _ = real(state, 2, 4, ["ets"])["ets"]
    actual = np.stack([panel.values[~tas, 14:].sum(0), panel.values[tas, 14:].sum(0)])
    assert ets["mase"].item() == pytest.approx(score(actual, fc, state, 4)["mase"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon": 0}, r"^horizon must be at least 1 period, got 0"),
        ({"horizon": -3}, r"^horizon must be at least 1 period, got -3"),
        ({"horizon": 2.5}, r"^horizon must be a whole number of periods, got 2\.5"),
        ({"seed": -1}, r"^seed must be a non-negative integer, got -1"),
        ({"sampler_config": {"draw": 10}}, r"unknown sampler_config keys \['draw'\]"),
    ],
)
def test_run_forecast_checks_its_settings_before_reading_or_fitting(
    kwargs, match, monkeypatch
):
    """A bad horizon was only refused by simulate_paths, after the fit
    (minutes of sampling); now before the panel is read (the path does not
    exist) or anything fitted."""
    import terrakit.benchmarks.forecasting as bf

    def no_fit(*args, **kw):
        raise AssertionError("fitted before the settings were checked")

    monkeypatch.setattr(bf, "fit_panel", no_fit)
    with pytest.raises(SpecificationError, match=match):
        run_forecast("tourism", "no_such_panel.csv", **({"horizon": 2} | kwargs))


def test_benchmark_window_too_short_says_what_fits(tiny_tourism_csv, monkeypatch):
    """It said "3 folds × horizon 6 leave only -2 periods before the first
    origin; at least 8 are needed": now backtest_panel's message, with the
    periods needed and present and the designs that fit, before any fit."""
    import terrakit.benchmarks.forecasting as bf
    from terrakit.benchmarks.forecasting import benchmark_forecast_panel

    def no_fit(*args, **kw):
        raise AssertionError("fitted before the window was checked")

    monkeypatch.setattr(bf, "fit_panel", no_fit)
    with pytest.raises(
        SpecificationError,
        match=r"^a backtest of 3 folds × horizon 6 needs at least 26 periods of "
        r"history \(two years, 8 periods, before the first origin\); the history "
        r"has 16 \(2010Q1..2013Q4\): horizon 6 fits at most 1 fold; 3 folds fit a "
        r"horizon of at most 2\. Use fewer folds or a shorter horizon$",
    ):
        benchmark_forecast_panel(
            "tourism", tiny_tourism_csv, horizon=6, folds=3, baselines=("naive",)
        )

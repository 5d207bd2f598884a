"""Rolling-origin backtests and their scores."""

from __future__ import annotations

import importlib
import itertools
import types

import numpy as np
import pytest

from terrakit.exceptions import SpecificationError
from terrakit.forecast import backtest
from terrakit.forecast.backtest import score


def test_score_by_hand():
    """Two series, horizon 2, season length 1 (so the scale is the mean |Δy|)."""
    train = np.array([[1.0, 2.0, 3.0], [2.0, 2.0, 4.0]])  # scales 1 and 1
    actual = np.array([[4.0, 5.0], [0.0, 4.0]])
    fc = {
        "mean": np.array([[4.0, 4.0], [0.0, 2.0]]),
        "lo80": np.array([[3.0, 3.0], [0.0, 3.0]]),
        "hi80": np.array([[5.0, 4.5], [1.0, 5.0]]),
    }
    fc["lo95"], fc["hi95"] = fc["lo80"] - 1, fc["hi80"] + 1
    s = score(actual, fc, train, 1)
    assert s["mase"] == pytest.approx((0.5 / 1 + 1.0 / 1) / 2)
    # sMAPE terms: 0, 200/9, 0 (both zero), 200*2/6
    assert s["smape"] == pytest.approx((200 / 9 + 400 / 6) / 4)
    assert s["coverage80"] == pytest.approx(3 / 4)
    assert s["coverage95"] == pytest.approx(1.0)


def test_backtest_table_has_every_method(toy_study, mock_sampling):
    bt = backtest(
        toy_study,
        horizon=3,
        folds=2,
        methods=("terrakit", "naive", "seasonal_naive"),
        sampler_config=mock_sampling,
    )
    t = bt.table()
    assert list(t.index) == ["terrakit", "naive", "seasonal_naive"]
    assert list(t.columns) == ["MASE", "sMAPE", "coverage80", "coverage95", "seconds"]
    assert (bt.scores.groupby("method").size() == 2).all()
    assert set(bt.forecasts["fold"]) == {1, 2}
    assert "Backtest: 2 folds × horizon 3" in bt.summary()
    # the new account (6 months) is not observed at the first origin: not scored
    assert bt.scores["n_series"].max() == 4


@pytest.mark.parametrize(
    ("horizon", "folds", "match"),
    [
        (0, 3, "horizon must be at least 1"),
        (6, 0, "folds must be a whole number"),
        (12, 2, "needs at least 48 periods"),
    ],
)
def test_bad_backtest_designs(toy_study, horizon, folds, match):
    with pytest.raises(SpecificationError, match=match):
        backtest(toy_study, horizon=horizon, folds=folds)


def test_short_series_fall_back_to_naive():
    """ETS refuses 3 points and seasonal naive needs a season: both use naive."""
    from terrakit.forecast.backtest import baseline_forecasts

    train = np.full((2, 30), np.nan)
    train[0] = np.arange(30) + 10.0
    train[1, -3:] = [5.0, 6.0, 7.0]
    out = baseline_forecasts(train, 4, 12, ["naive", "seasonal_naive", "ets"])
    naive = out["naive"][0]
    for method in ("seasonal_naive", "ets"):
        arrays = out[method][0]
        np.testing.assert_allclose(arrays["mean"][1], naive["mean"][1])
        np.testing.assert_allclose(arrays["hi95"][1], naive["hi95"][1])
    # the long series keeps its own seasonal-naive forecast (a year back)
    np.testing.assert_allclose(out["seasonal_naive"][0]["mean"][0], [28, 29, 30, 31])


def test_too_short_history_says_what_fits(toy_study):
    with pytest.raises(
        SpecificationError,
        match=r"needs at least 42 periods .* the history has 36 \(2023-01..2025-12\): "
        r"horizon 6 fits at most 2 folds; 3 folds fit a horizon of at most 4",
    ):
        backtest(toy_study, horizon=6, folds=3, methods=["naive"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"methods": []}, "methods is empty; choose from"),
        ({"methods": ["naïve"]}, r"unknown methods \['naïve'\]"),
        ({"sampler_config": {"draw": 10}}, r"unknown sampler_config keys \['draw'\]"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_design_is_checked_before_the_history_is_read(kwargs, match):
    """``study=None`` would fail on reading: the settings are checked first
    (an empty method list used to raise pandas' "No objects to concatenate")."""
    with pytest.raises(SpecificationError, match=match):
        backtest(None, horizon=3, folds=1, **kwargs)


@pytest.mark.parametrize("step", [0, -1, 1.5])
def test_bad_step_is_explained(step):
    """It was reported as a history too short for the folds."""
    from terrakit.forecast import backtest_panel

    from .conftest import small_panel

    with pytest.raises(SpecificationError, match=f"step must be .*, got {step}"):
        backtest_panel(small_panel(36), horizon=3, folds=2, step=step)


def test_one_method_by_name_and_provenance(toy_study):
    """``methods="naive"`` used to be read letter by letter."""
    bt = backtest(toy_study, horizon=3, folds=1, methods="naive")
    assert list(bt.table().index) == ["naive"]
    assert bt.provenance["methods"] == ["naive"]
    assert bt.provenance["origins"] == ["2025-09"]
    assert bt.provenance["seed"] is None  # no random step


def test_default_design_fits_a_36_month_history(toy_study):
    """The documented defaults (3 folds × 6) needed 42 months: the sample has 36."""
    bt = backtest(toy_study, methods="naive")
    assert (bt.folds, bt.horizon) == (2, 6)
    assert bt.provenance["origins"] == ["2024-12", "2025-06"]


def _panel_without(month: str):
    """Three monthly series over 2021-01..2023-12 with ``month`` lost for all."""
    import pandas as pd

    from terrakit.forecast import make_panel

    per = pd.period_range("2021-01", periods=36, freq="M")
    rng = np.random.default_rng(0)
    long = pd.DataFrame(
        {
            "k": np.repeat(["a", "b", "c"], 36),
            "period": np.tile(per, 3),
            "sales": rng.uniform(10, 20, 108),
        }
    )
    with pytest.warns(UserWarning, match="no row for any series|no sales row"):
        return make_panel(long[long.period != pd.Period(month, "M")], key="k")


@pytest.mark.parametrize(
    ("month", "methods"),
    [
        ("2023-06", ["naive"]),  # the origin of fold 1: "No objects to concatenate"
        ("2023-06", ["seasonal_naive", "ets"]),
        ("2023-09", ["naive", "seasonal_naive"]),  # test window: NaN scores, 0 series
    ],
)
def test_a_month_lost_for_every_series_is_named_with_its_fold(month, methods):
    from terrakit.exceptions import DataValidationError
    from terrakit.forecast import backtest_panel

    panel = _panel_without(month)
    with pytest.raises(
        DataValidationError,
        match=rf"history\.period: fold 1 \(origin 2023-06, test window "
        rf"2023-07..2023-12\) would score no series: {month} has no sales row for "
        rf"any series .*Fix: if nothing was sold in {month}, add a row with sales 0",
    ):
        backtest_panel(panel, horizon=6, folds=1, methods=methods)
    # folds that avoid the month still run
    bt = backtest_panel(panel, horizon=2, folds=1, methods=["naive"])
    assert bt.scores["n_series"].tolist() == [3]


def test_baselines_with_no_series_at_the_origin_are_nan():
    """``pd.concat([])`` used to raise "No objects to concatenate"."""
    from terrakit.forecast.backtest import baseline_forecasts

    train = np.full((2, 30), 5.0)
    train[:, -1] = np.nan
    out = baseline_forecasts(train, 3, 12, ["naive", "ets"])
    assert set(out) == {"naive", "ets"}
    for arrays, _ in out.values():
        assert arrays["mean"].shape == (2, 3)
        assert np.isnan(arrays["mean"]).all() and np.isnan(arrays["hi95"]).all()


def test_baseline_point_forecasts_are_clipped_at_zero_inside_their_intervals():
    """A declining series: ETS's point forecast ran to -26 under an interval at 0."""
    from terrakit.forecast.backtest import baseline_forecasts

    rng = np.random.default_rng(0)
    t = np.arange(36)
    train = np.maximum(200 - 5.5 * t + rng.normal(0, 3, (3, 36)), 0)
    out = baseline_forecasts(train[:, :34], 6, 12, ["ets", "arima"])
    for arrays, _ in out.values():
        mean = arrays["mean"]
        assert (mean >= 0).all()
        assert (arrays["lo95"] <= mean).all() and (mean <= arrays["hi95"]).all()
        assert (arrays["lo80"] <= mean).all() and (mean <= arrays["hi80"]).all()


def test_a_fold_where_every_series_misses_some_month_is_refused():
    """No month is lost for all, but no series is complete in the fold."""
    import pandas as pd

    from terrakit.exceptions import DataValidationError
    from terrakit.forecast import backtest_panel, make_panel

    per = pd.period_range("2021-01", periods=36, freq="M")
    long = pd.DataFrame(
        {"k": np.repeat(["a", "b"], 36), "period": np.tile(per, 2), "sales": 5.0}
    )
    lost = ((long.k == "a") & (long.period == per[-2])) | (
        (long.k == "b") & (long.period == per[-1])
    )
    panel = make_panel(long[~lost], key="k")
    with pytest.raises(
        DataValidationError,
        match=r"fold 1 \(origin 2023-09, .*every series misses one of these months"
        r".*Fix: fill the missing months",
    ):
        backtest_panel(panel, horizon=3, folds=1, methods=["naive"])


# the stand-in posterior of seed 7 has an R-hat of 1.057: irrelevant here
@pytest.mark.filterwarnings("ignore::terrakit.exceptions.ConvergenceWarning")
def test_backtest_provenance_names_the_seed_of_the_fits_and_the_noise(
    toy_study, mock_sampling
):
    """One seed serves both the folds' samplers and their simulated noise;
    the provenance says so with the keys a forecast's provenance has."""
    bt = backtest(
        toy_study,
        horizon=3,
        folds=2,
        methods=("terrakit", "naive"),
        sampler_config=mock_sampling,
        seed=7,
    )
    prov = bt.provenance
    assert (prov["seed"], prov["fit_seed"], prov["noise_seed"]) == (7, 7, 7)
    base = backtest(toy_study, horizon=3, folds=2, methods=("naive",), seed=7)
    p = base.provenance
    assert (p["seed"], p["fit_seed"], p["noise_seed"]) == (None, None, None)


def test_whole_float_horizon_folds_and_step_are_counts(toy_study):
    """horizon=3.0 was refused as "not a whole number of periods" while every
    config count takes 500.0 as 500; 1.5 and True are still refused."""
    from terrakit.forecast.backtest import _check_horizon, backtest_panel
    from terrakit.forecast.forecaster import study_panel

    assert _check_horizon(12.0) == 12 and type(_check_horizon(12.0)) is int
    bt = backtest(toy_study, horizon=3.0, folds=2.0, methods=("naive",))
    ref = backtest(toy_study, horizon=3, folds=2, methods=("naive",))
    assert (bt.horizon, bt.folds) == (3, 2)
    assert bt.provenance["origins"] == ref.provenance["origins"]
    panel, _ = study_panel(toy_study, level="unit")
    stepped = backtest_panel(panel, horizon=3.0, folds=2, methods=("naive",), step=2.0)
    assert stepped.provenance["step"] == 2
    for bad, match in [
        (1.5, r"^horizon must be a whole number of periods, got 1\.5"),
        (True, r"^horizon must be a whole number of periods, got True"),
        (0.0, r"^horizon must be at least 1 period, got 0\.0"),
    ]:
        with pytest.raises(SpecificationError, match=match):
            backtest(toy_study, horizon=bad, folds=2, methods=("naive",))
    with pytest.raises(
        SpecificationError, match=r"^folds must be a whole number ≥ 1, got 1\.5"
    ):
        backtest(toy_study, horizon=3, folds=1.5, methods=("naive",))
    with pytest.raises(
        SpecificationError, match=r"^step must be a whole number .* got 1\.5"
    ):
        backtest_panel(panel, horizon=3, folds=2, methods=("naive",), step=1.5)


def _gamma_panel_values(lengths: list[int], t_n: int = 30, seed: int = 0):
    """``(len(lengths), t_n)`` positive sales (gamma(5, 20), mean 100); series
    ``i`` is observed in its last ``lengths[i]`` periods only (NaN before)."""
    rng = np.random.default_rng(seed)
    train = rng.gamma(5.0, 20.0, (len(lengths), t_n))
    for i, n in enumerate(lengths):
        train[i, : t_n - n] = np.nan
    return train


def test_a_series_shorter_than_a_season_gets_the_naive_forecast_throughout():
    """statsforecast's seasonal naive gave NaN for steps 1-4 of an 8-month
    series (the steps with no value a year back) and a zero-width interval
    for steps 5-6; only all-NaN rows fell back, and score() read the NaN
    forecasts as perfect (sMAPE 0)."""
    from terrakit.forecast.backtest import baseline_forecasts

    train = _gamma_panel_values([30, 30, 8])
    out = baseline_forecasts(train, 6, 12, ["naive", "seasonal_naive"])
    naive, snaive = out["naive"][0], out["seasonal_naive"][0]
    for k in ("mean", "lo80", "hi80", "lo95", "hi95"):
        assert np.isfinite(snaive[k]).all()
        np.testing.assert_array_equal(snaive[k][2], naive[k][2])
    # the full series keep their own forecast: a year back
    np.testing.assert_allclose(snaive["mean"][:2], train[:2, 18:24])


def test_score_refuses_a_nan_forecast():
    """A NaN point forecast used to score sMAPE 0 (a perfect forecast)."""
    from terrakit.exceptions import DataValidationError

    train = _gamma_panel_values([30, 30])
    actual = np.array([[100.0, 110.0], [90.0, 95.0]])
    fc = {k: np.full((2, 2), 100.0) for k in ("mean", "lo80", "hi80")}
    fc["lo95"], fc["hi95"] = fc["lo80"] - 50, fc["hi80"] + 50
    fc["lo80"], fc["hi80"] = fc["lo80"] - 20, fc["hi80"] + 20
    assert score(actual, fc, train, 12)["smape"] > 0
    fc["mean"][1, 0] = np.nan
    with pytest.raises(
        DataValidationError,
        match=r"^forecast\.mean: 1 of 4 entries are NaN or infinite in 1 of 2 "
        r"series; a missing forecast cannot be scored \(its sMAPE term would read "
        r"0 %, a perfect forecast, and its intervals a miss\) \(rows: 1\)\. Fix: ",
    ):
        score(actual, fc, train, 12)


def test_ets_on_a_tiny_series_gets_naive_intervals_in_order():
    """ETS refuses 3 points; statsforecast's fallback_model wrote Naive's
    bounds in Naive's column order (lo80, lo95) under ETS's (lo95, lo80), so
    the fallback series had lo95 > lo80."""
    from terrakit.forecast.backtest import BASELINES, baseline_forecasts

    train = _gamma_panel_values([30, 30, 3])
    out = baseline_forecasts(train, 3, 12, BASELINES)
    naive = out["naive"][0]
    ets = out["ets"][0]
    for k in ("mean", "lo80", "hi80", "lo95", "hi95"):
        np.testing.assert_array_equal(ets[k][2], naive[k][2])
    assert (naive["lo95"][2, 0] < naive["lo80"][2, 0]) and naive["lo95"][2, 0] > 0
    for arrays, _ in out.values():
        chain = [arrays[k] for k in ("lo95", "lo80", "mean", "hi80", "hi95")]
        for lo, hi in itertools.pairwise(chain):
            assert (lo <= hi).all()


def test_baseline_intervals_out_of_order_are_refused(monkeypatch):
    """The nesting guard: a model whose lower bounds come back swapped."""
    bt = importlib.import_module("terrakit.forecast.backtest")

    class Swapped:
        def forecast(self, y, h, level):
            last = float(y[-1])
            return {
                "mean": np.full(h, last),
                "lo-80": np.full(h, last - 20),
                "lo-95": np.full(h, last - 10),
                "hi-80": np.full(h, last + 20),
                "hi-95": np.full(h, last + 40),
            }

    monkeypatch.setattr(bt, "_sf_models", lambda methods, m: [Swapped()])
    train = np.full((2, 30), 100.0)
    with pytest.raises(
        RuntimeError,
        match=r"^the ets baseline's forecast is not nested \(lo95 ≤ lo80 ≤ mean ≤ "
        r"hi80 ≤ hi95\) in 2 series: first at series row 0, step 1, lo95 = 90 > "
        r"lo80 = 80$",
    ):
        bt.baseline_forecasts(train, 2, 12, ["ets"])


def test_a_nan_terrakit_forecast_is_named_with_its_method_fold_and_series(
    monkeypatch,
):
    """A failed simulation (an infinite draw) scored NaN or, as NaN, 0 %."""
    from terrakit.exceptions import DataValidationError

    from .conftest import small_panel

    bt = importlib.import_module("terrakit.forecast.backtest")

    def broken(panel, horizon, *args):
        fc = {k: np.full((panel.n_series, horizon), 50.0) for k in bt._FORECAST_ARRAYS}
        fc["mean"][1, 2] = np.inf
        return fc, 0.0

    monkeypatch.setattr(bt, "_terrakit_forecast", broken)
    with pytest.raises(
        DataValidationError,
        match=r"^terrakit forecast\.mean: 1 of 9 entries are NaN or infinite in 1 "
        r"of 3 series of fold 1 \(origin 2022-09\); .* \(rows: 's1'\)\. Fix: a NaN "
        r"or infinite forecast is a failed fit or simulation",
    ):
        bt.backtest_panel(small_panel(36), horizon=3, folds=1)


def _score_inputs():
    """Two series (sales ~10 and ~100), horizon 3, four training months."""
    actual = np.array([[10.0, 10.0, 10.0], [100.0, 100.0, 100.0]])
    train = np.array([[9.0, 11.0, 10.0, 12.0], [90.0, 110.0, 95.0, 105.0]])
    fc = {
        k: np.vstack([np.full(3, 10.0), np.full(3, 100.0)])
        for k in "mean lo80 hi80".split()
    }
    fc["lo95"], fc["hi95"] = fc["lo80"] - 1, fc["hi80"] + 1
    return actual, fc, train


_SHAPES = (
    r"^score needs actual and every forecast array \(mean, lo80, hi80, lo95, "
    r"hi95\) of one shape \(S, H\), S series × H steps, and train of shape "
    r"\(S, T\) for the same S series: {}\.  Pass one row per series in each, in "
    r"the same order \(one series as a 1 × H array, a\[None, :\]\); a forecast "
    r"is never broadcast over the series$"
)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        # a forecast of ONE series was broadcast over both (MASE 3.0, no error)
        (
            lambda a, f, t: (a, {k: v[0] for k, v in f.items()}, t),
            r"forecast mean, lo80, hi80, lo95, hi95 are \(3,\), not actual's "
            r"\(2, 3\)",
        ),
        (
            lambda a, f, t: (a, f | {"hi95": f["hi95"][:, :2]}, t),
            r"forecast hi95 is \(2, 2\), not actual's \(2, 3\)",
        ),
        # numpy's bare "IndexError: boolean index did not match"
        (
            lambda a, f, t: (a, f, t[:1]),
            r"train is \(1, 4\): 1 row for the 2 series of actual",
        ),
        (lambda a, f, t: (a, f, t[0]), r"train is \(4,\), not 2-D"),
        (
            lambda a, f, t: (a[0], {k: v[0] for k, v in f.items()}, t),
            r"actual is \(3,\), not 2-D",
        ),
        (
            lambda a, f, t: (a, {k: v for k, v in f.items() if k != "lo95"}, t),
            r"forecast lacks \['lo95'\]",
        ),
    ],
)
def test_score_refuses_arrays_of_different_shapes(change, problem):
    actual, fc, train = change(*_score_inputs())
    with pytest.raises(SpecificationError, match=_SHAPES.format(problem)):
        score(actual, fc, train, 1)


@pytest.mark.parametrize("season_length", [0, -12, 1.5, True, None])
def test_score_refuses_a_season_length_that_is_not_a_count(season_length):
    """0 gave numpy's bare "operands could not be broadcast together"."""
    actual, fc, train = _score_inputs()
    with pytest.raises(
        SpecificationError,
        match=r"^season_length must be a whole number of periods ≥ 1, got "
        rf"{season_length}; it is the lag of the MASE scale \(12 for monthly data, "
        r"4 for quarterly, 1 for no season\)$",
    ):
        score(actual, fc, train, season_length)
    # a whole float is a count, as everywhere
    assert score(actual, fc, train, 1.0) == score(actual, fc, train, 1)


def test_baseline_seconds_leave_out_the_import_and_compilation(monkeypatch):
    """statsforecast's lazy import and numba compilation were charged to the
    first baseline timed (a naive forecast of 4 series: 3.7 s in fold 1,
    0.009 s in fold 2), and the naive fallback's to the method it served.
    A stand-in clock: each forecast takes 1 s, a model's first one 100 s more."""
    bt = importlib.import_module("terrakit.forecast.backtest")
    now = [0.0]
    compiled: set[str] = set()

    class Model:
        def __init__(self, method):
            self.method = method

        def forecast(self, y, h, level):
            if self.method not in compiled:
                compiled.add(self.method)
                now[0] += 100.0
            now[0] += 1.0
            if self.method == "ets" and len(y) < 5:
                raise ValueError("tiny datasets")
            last = float(y[-1])
            return {
                "mean": np.full(h, last),
                "lo-80": np.full(h, last - 1),
                "hi-80": np.full(h, last + 1),
                "lo-95": np.full(h, last - 2),
                "hi-95": np.full(h, last + 2),
            }

    monkeypatch.setattr(
        bt, "_sf_models", lambda methods, m: [Model(k) for k in methods]
    )
    monkeypatch.setattr(bt, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    monkeypatch.setattr(bt, "_WARM", set(), raising=False)
    train = _gamma_panel_values([30, 3])  # the second is too short for ETS
    out = bt.baseline_forecasts(train, 2, 12, ["ets", "seasonal_naive"])
    # ETS: 2 series (one refused), then naive on both for the refused one
    assert out["ets"][1] == 4.0
    assert out["seasonal_naive"][1] == 2.0
    np.testing.assert_array_equal(out["ets"][0]["mean"][1], np.full(2, train[1, -1]))
    # warmed up once per process: a second call is not charged either
    now[0] = 0.0
    assert bt.baseline_forecasts(train, 2, 12, ["ets"])["ets"][1] == 4.0


def test_a_month_missing_inside_a_series_is_interpolated_for_the_baselines():
    """It was filled with 0 sales: seasonal naive forecast 0 a year later for
    an actual of 190 (MASE 0.68 → 1.56), while terrakit's model treats the
    month as unobserved."""
    from terrakit.forecast.backtest import baseline_forecasts

    train = _gamma_panel_values([30, 30, 20])
    train[0, 20] = np.nan  # a year before the first forecast step (t = 32)
    train[1, 22:24] = np.nan  # two months in a row
    out = baseline_forecasts(train, 6, 12, ["seasonal_naive"])["seasonal_naive"][0]
    expected = train[:, 18:24].copy()
    expected[0, 2] = (train[0, 19] + train[0, 21]) / 2
    expected[1, 4:] = (
        train[1, 21] + (train[1, 24] - train[1, 21]) * np.array([1, 2]) / 3
    )
    np.testing.assert_allclose(out["mean"], expected)
    # the series that starts late is fitted from its first row, as before
    short = baseline_forecasts(train[2:, 10:], 6, 12, ["seasonal_naive"])
    np.testing.assert_array_equal(out["mean"][2], short["seasonal_naive"][0]["mean"][0])


def test_a_backtest_counts_the_months_filled_for_the_baselines():
    """``scores["filled"]``: holes in the scored series' training windows."""
    import pandas as pd

    from terrakit.forecast import backtest_panel, make_panel

    per = pd.period_range("2020-01", periods=36, freq="M")
    rng = np.random.default_rng(0)
    long = pd.DataFrame(
        {
            "k": np.repeat(["a", "b", "c"], 36),
            "period": np.tile(per, 3),
            "sales": rng.uniform(150, 250, 108),
        }
    )
    lost = (
        ((long.k == "a") & long.period.isin(per[[18, 19]]))  # both folds
        | ((long.k == "b") & (long.period == per[27]))  # fold 2 only
        | ((long.k == "c") & (long.period < per[5]))  # a late start: not a hole
    )
    bt = backtest_panel(
        make_panel(long[~lost], key="k"),
        horizon=6,
        folds=2,
        methods=["naive", "seasonal_naive"],
    )
    got = bt.scores.set_index(["method", "fold"])["filled"]
    assert got.to_dict() == {
        ("naive", 1): 2,
        ("seasonal_naive", 1): 2,
        ("naive", 2): 3,
        ("seasonal_naive", 2): 3,
    }
    f = bt.forecasts
    a = f[(f.method == "seasonal_naive") & (f.fold == 2) & (f.series == "a")]
    assert (a["mean"] > 100).all()  # 2021-07 and -08 were read as 0 sales


def test_a_series_of_exactly_one_season_gets_the_naive_forecast():
    """statsforecast's seasonal naive gave a series of exactly 12 months
    (m = 12) zero-width 80 % and 95 % intervals (no seasonal difference to
    size them by): no NaN step, so no naive fallback, and every actual of
    the series counted as an interval miss.  11 and 13 months were fine."""
    from terrakit.forecast.backtest import baseline_forecasts

    train = _gamma_panel_values([30, 12, 13])
    out = baseline_forecasts(train, 3, 12, ["naive", "seasonal_naive"])
    naive, snaive = out["naive"][0], out["seasonal_naive"][0]
    for k in ("mean", "lo80", "hi80", "lo95", "hi95"):
        np.testing.assert_array_equal(snaive[k][1], naive[k][1])
    assert (snaive["hi80"] - snaive["lo80"] > 0).all()
    assert (snaive["hi95"] - snaive["lo95"] > 0).all()
    # 13 months keep their own forecast: a year back
    np.testing.assert_allclose(snaive["mean"][[0, 2]], train[[0, 2], 18:21])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"methods": ["ETS"]},
            r"^unknown methods \['ETS'\]; choose from \['naive', 'seasonal_naive', "
            r"'ets', 'arima'\]; did you mean 'ets' for 'ETS'\?$",
        ),
        (
            {"methods": ["snaive", "prophet"]},
            r"^unknown methods \['snaive', 'prophet'\]; .*; did you mean 'naive' "
            r"for 'snaive'\?$",
        ),
        ({"methods": []}, r"^methods is empty; choose from \['naive'"),
        ({"horizon": 0}, r"^horizon must be at least 1 period, got 0"),
        ({"horizon": -2}, r"^horizon must be at least 1 period, got -2"),
        ({"horizon": 2.5}, r"^horizon must be a whole number of periods, got 2\.5"),
        (
            {"season_length": 0},
            r"^season_length must be a whole number of periods ≥ 1, got 0; it is "
            r"the period of the seasonal models",
        ),
        ({"season_length": 12.5}, r"^season_length must be .*, got 12\.5;"),
        (
            {"train": np.arange(30.0)},
            r"^train must be 2-D \(S, T\), S series × T periods, got shape \(30,\); "
            r"pass one row per series",
        ),
    ],
)
def test_baseline_forecasts_checks_its_settings(kwargs, match):
    """A misspelt method was a bare KeyError, horizon 0 returned empty arrays,
    -2 numpy's "negative dimensions", season_length 0 or 12.5 was used as
    given and a 1-D train an IndexError."""
    from terrakit.forecast.backtest import baseline_forecasts

    args = {
        "train": 100 + np.arange(30.0)[None, :] + np.zeros((2, 1)),
        "horizon": 3,
        "season_length": 12,
        "methods": ["naive"],
    } | kwargs
    with pytest.raises(SpecificationError, match=match):
        baseline_forecasts(**args)


def test_baseline_forecasts_reads_one_method_name_as_a_list_of_one():
    """``methods="ets"`` was read letter by letter (a bare KeyError 'e')."""
    from terrakit.forecast.backtest import baseline_forecasts

    train = _gamma_panel_values([30, 30])
    one = baseline_forecasts(train, 3, 12.0, "naive")
    ref = baseline_forecasts(train, 3, 12, ["naive"])
    assert list(one) == ["naive"]
    for k in ("mean", "lo80", "hi80", "lo95", "hi95"):
        np.testing.assert_array_equal(one["naive"][0][k], ref["naive"][0][k])


def test_backtest_provenance_records_the_level_and_pooling_groups(toy_study):
    """A unit-level and an account-level backtest of one study carried the
    same provenance (apart from its time stamp)."""
    from terrakit.forecast.backtest import backtest_panel
    from terrakit.forecast.forecaster import study_panel

    unit = backtest(toy_study, horizon=3, folds=1, methods="naive").provenance
    acct = backtest(
        toy_study, horizon=3, folds=1, level="account", methods="naive"
    ).provenance
    assert (unit["level"], unit["n_series"]) == ("unit", 4)
    assert unit["groups"] == {"column": None, "names": ["all"]}
    assert (acct["level"], acct["n_series"]) == ("account", 8)
    assert acct["groups"] == {"column": "segment", "names": ["A", "B"]}
    # a bare panel: its series and groups, no level (the column is not known)
    panel, _ = study_panel(toy_study, level="account")
    p = backtest_panel(panel, horizon=3, folds=1, methods="naive").provenance
    assert "level" not in p and p["n_series"] == 8
    assert p["groups"] == {"column": None, "names": ["A", "B"]}

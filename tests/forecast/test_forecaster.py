"""SalesForecaster, SalesForecast.by(alignment), TerritoryForecast (mocked MCMC)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from terrakit.data import Alignment
from terrakit.exceptions import (
    DataValidationError,
    NotFittedError,
    SpecificationError,
    TerrakitWarning,
)
from terrakit.forecast import (
    DEFAULT_MODEL_CONFIG,
    SalesForecaster,
    TerritoryForecast,
    make_panel,
    study_panel,
)


@pytest.fixture
def account_forecast(toy_study, mock_sampling):
    """6-month account-level forecast of ``toy_study`` from the mocked posterior."""
    fitted = SalesForecaster(sampler_config=mock_sampling).fit(
        toy_study, level="account", seed=0
    )
    return fitted.predict(horizon=6)


def test_draws_have_series_and_future_months(account_forecast):
    d = account_forecast.draws
    assert d.dims == ("draw", "series", "period")
    assert d.sizes == {"draw": 200, "series": 8, "period": 6}
    assert str(d["period"].to_numpy()[0]) == "2026-01"
    assert (d.to_numpy() >= 0).all()


def test_by_sums_draws_not_means(toy_study, account_forecast):
    al = toy_study.alignments["current"]
    tf = account_forecast.by(al)
    d = account_forecast.draws
    t1 = d.sel(series=["a1", "a2", "a3", "a4"]).sum("series")
    np.testing.assert_allclose(tf.draws.sel(territory="T1"), t1, rtol=1e-5)
    frame = tf.to_frame()
    assert list(frame.columns) == [
        "territory_id",
        "period",
        "mean",
        "lo80",
        "hi80",
        "lo95",
        "hi95",
    ]
    # the interval of a sum is narrower than the sum of the intervals
    per_series = account_forecast.to_frame()
    t1_rows = per_series[per_series.series.isin(["a1", "a2", "a3", "a4"])]
    width_sum = (t1_rows.hi80 - t1_rows.lo80).groupby(t1_rows.period).sum()
    t1_frame = frame[frame.territory_id == "T1"].set_index("period")
    assert ((t1_frame.hi80 - t1_frame.lo80) < width_sum.to_numpy()).all()
    np.testing.assert_allclose(
        t1_frame["mean"].to_numpy(),
        t1_rows.groupby("period")["mean"].sum().to_numpy(),
        rtol=1e-4,
    )


def test_unit_level_history_is_the_sum_of_accounts(toy_study):
    panel, series_unit = study_panel(toy_study, level="unit")
    hist = toy_study.history
    acc_unit = toy_study.accounts["unit_id"]
    want = (
        hist.assign(unit=acc_unit.reindex(hist.account_id).to_numpy())
        .groupby(["unit", "period"])["sales"]
        .sum()
        .unstack()
    )
    np.testing.assert_allclose(panel.values, want.to_numpy())
    assert list(series_unit) == ["u1", "u2", "u3", "u4"]


def test_an_active_account_missing_a_month_leaves_its_unit_month_unobserved(
    toy_study,
):
    """a1 has no row for 2024-06 (a hole in the extract): unobserved at account
    level, but at unit level u1 read a2's 134.4 alone, a fake 48 % drop
    between 259.3 and 221.6 that the model fitted as a real month."""
    h = toy_study.history
    hole = (h.account_id == "a1") & (h.period == pd.Period("2024-06", "M"))
    s = toy_study.replace(history=h[~hole])
    full, _ = study_panel(toy_study, level="unit")
    with pytest.warns(
        TerrakitWarning,
        match=r"^1 accounts have months without a history row although they were "
        r"active then \(from their first row to the history's last period, "
        r"2025-12, or to their last row when they have ended: no row in the last "
        r"12 months\): a1 2024-06 \(1 account-months\)\. The 1 unit-months they "
        r"fall in are left unobserved "
        r"\(NaN\), not summed over the other accounts.* Fix: add rows with "
        r"sales 0 for the months an account sold nothing",
    ) as rec:
        panel, _ = study_panel(s, level="unit")
    assert rec[0].filename == __file__  # points at the caller of study_panel
    j = list(panel.periods).index(pd.Period("2024-06", "M"))
    assert np.isnan(panel.values[0, j])  # u1, 2024-06
    # everything else as before: u1's other months, the other units
    rest = np.ones(panel.values.shape, dtype=bool)
    rest[0, j] = False
    np.testing.assert_array_equal(panel.values[rest], full.values[rest])
    acc, _ = study_panel(s, level="account")
    assert np.isnan(acc.values[list(acc.series).index("a1"), j])


def test_months_before_a_new_account_starts_are_still_observed(toy_study):
    """a7 (unit u4) starts 6 months before the end: u4's earlier months are
    a8's sales alone, observed, and nothing is reported."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)
        panel, _ = study_panel(toy_study, level="unit")
    assert np.isfinite(panel.values).all()


def test_unit_level_refuses_rows_without_a_period(toy_study):
    """Summing accounts by unit and month dropped a NaT row with its 101.3."""
    h = toy_study.history
    h.loc[0, "period"] = pd.NaT
    s = toy_study.replace(history=h)
    for level in ("unit", "account"):
        with pytest.raises(
            DataValidationError,
            match=r"history\.period: 1 of 258 rows have no period \(NaT.*carry "
            r"101\.265 of the sales .*\(rows: 0\)",
        ):
            study_panel(s, level=level)


def test_new_account_gets_a_forecast(account_forecast):
    """a7 has 6 months of history: it still gets a positive, finite forecast."""
    f = account_forecast.to_frame().set_index("series").loc["a7"]
    assert np.isfinite(f["mean"]).all() and (f["mean"] > 0).all()
    hist = account_forecast.history.sel(series="a7").to_numpy()
    assert np.isnan(hist[:30]).all() and np.isfinite(hist[30:]).all()


def test_all_zero_account_is_forecast_at_zero(account_forecast):
    f = account_forecast.draws.sel(series="a8").to_numpy()
    assert (f == 0).all()


@pytest.mark.parametrize("horizon", [0, -3, 1.5, True, "12"])
def test_bad_horizons_are_explained(toy_study, mock_sampling, horizon):
    fitted = SalesForecaster(sampler_config=mock_sampling).fit(toy_study, seed=0)
    with pytest.raises(SpecificationError, match="horizon must"):
        fitted.predict(horizon=horizon)


def test_alignment_missing_units_is_a_data_error(toy_study, account_forecast):
    partial = Alignment.from_mapping(
        {"u1": "T1", "u2": "T1", "u3": "T2"}, name="partial"
    )
    with pytest.raises(
        DataValidationError, match="1 units with a sales forecast are not in alignment"
    ):
        account_forecast.by(partial)


def test_any_alignment_works(toy_study, account_forecast):
    whatif = Alignment.from_mapping(
        {"u1": "X", "u2": "Y", "u3": "Y", "u4": "Y"}, name="whatif"
    )
    tf = account_forecast.by(whatif)
    assert tf.territories == ["X", "Y"]
    total = account_forecast.draws.sum("series")
    np.testing.assert_allclose(tf.draws.sum("territory"), total, rtol=1e-5)


def test_posterior_attrs_and_config_merge(toy_study, mock_sampling):
    fc = SalesForecaster(
        model_config={"history_cycles": 2}, sampler_config=mock_sampling
    )
    assert fc.model_config == DEFAULT_MODEL_CONFIG | {"history_cycles": 2}
    fitted = fc.fit(toy_study, seed=3)
    attrs = fitted.idata.attrs
    assert {
        "model_config",
        "sampler_config",
        "terrakit_version",
        "config_hash",
        "seed",
    } <= set(attrs)
    assert '"history_cycles": 2' in attrs["model_config"]
    assert attrs["seed"] == 3


def test_unknown_config_key_is_rejected(toy_study, mock_sampling):
    """Checked when the forecaster is made, before any data is read: a typo
    such as ``"draw"`` would otherwise be ignored."""
    with pytest.raises(SpecificationError, match=r"unknown model_config keys \['seas"):
        SalesForecaster(model_config={"seasonality": 12}, sampler_config=mock_sampling)
    with pytest.raises(
        SpecificationError, match=r"unknown sampler_config keys \['draw'\]"
    ):
        SalesForecaster(sampler_config={"draw": 10})
    with pytest.raises(SpecificationError, match="'nutpie', 'pymc' or 'advi'"):
        SalesForecaster(sampler_config={"method": "gibbs"})
    with pytest.raises(SpecificationError, match="seed must be a non-negative"):
        SalesForecaster(sampler_config=mock_sampling).fit(toy_study, seed="x")


def test_same_seed_same_draws(toy_study, mock_sampling):
    fc = SalesForecaster(sampler_config=mock_sampling)
    a = fc.fit(toy_study, seed=1).predict(3).draws
    b = fc.fit(toy_study, seed=1).predict(3).draws
    np.testing.assert_array_equal(a, b)


def test_predict_before_fit_raises():
    with pytest.raises(NotFittedError, match=r"call \.fit"):
        SalesForecaster().predict(3)


def test_account_level_needs_account_history(toy_study):
    hist = toy_study.history
    unit_hist = (
        hist.assign(
            unit_id=toy_study.accounts["unit_id"].reindex(hist.account_id).to_numpy()
        )
        .groupby(["unit_id", "period"], as_index=False)["sales"]
        .sum()
    )
    s = toy_study.replace(history=unit_hist)
    with pytest.raises(DataValidationError, match="history is kept per unit"):
        study_panel(s, level="account")
    panel, _ = study_panel(s, level="unit")
    assert panel.n_series == 4


def test_make_panel_checks_sales_and_frequency():
    per = pd.period_range("2020Q1", periods=8, freq="Q")
    long = pd.DataFrame({"k": "s", "period": per, "sales": np.arange(8.0)})
    assert make_panel(long, key="k").season_length == 4
    with pytest.raises(DataValidationError, match="8 sales values are negative"):
        make_panel(long.assign(sales=-1.0), key="k")
    weekly = long.assign(period=pd.period_range("2020-01-01", periods=8, freq="W"))
    with pytest.raises(DataValidationError, match="monthly or quarterly"):
        make_panel(weekly, key="k")


def test_make_panel_warns_of_periods_missing_from_every_series():
    """A month with no row in any series was silently kept as unobserved; a
    month missing from some series only stays silent."""
    per = pd.period_range("2021-01", periods=24, freq="M")
    long = pd.DataFrame(
        {"k": np.repeat(["a", "b"], 24), "period": np.tile(per, 2), "sales": 5.0}
    )
    gap = long["period"].isin(per[[2, 3]])  # 2021-03, 2021-04 from both
    some = (long["k"] == "b") & (long["period"] == per[5])  # 2021-06 from b only
    with pytest.warns(TerrakitWarning) as rec:
        panel = make_panel(long[~gap & ~some], key="k")
    assert len(rec) == 1
    assert str(rec[0].message) == (
        "2 of the 24 months from 2021-01 to 2022-12 have no sales row for any "
        "series (2021-03, 2021-04); they are treated as unobserved (skipped when "
        "fitting, not read as 0 sales). If nothing was sold in those months, add "
        "rows with sales 0 for them; otherwise check the extract, which may have "
        "lost them"
    )
    assert rec[0].filename == __file__  # points at the caller of make_panel
    assert list(panel.periods) == list(per)  # the gap is kept, as NaN
    assert np.isnan(panel.values[:, [2, 3]]).all()
    assert np.isnan(panel.values[1, 5]) and panel.values[0, 5] == 5.0
    assert np.isfinite(np.delete(panel.values, [2, 3, 5], axis=1)).all()

    # a period missing from some series only: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_panel(long[~some], key="k")

    # many periods: the first five and the count; quarters are called quarters
    q = pd.period_range("2018Q1", periods=16, freq="Q")
    keep = [0, 1, 9, 15]
    longq = pd.DataFrame({"k": "s", "period": q[keep], "sales": 1.0})
    with pytest.warns(TerrakitWarning) as rec:
        make_panel(longq, key="k")
    assert str(rec[0].message).startswith(
        "12 of the 16 quarters from 2018Q1 to 2021Q4 have no sales row for any "
        "series (2018Q3, 2018Q4, 2019Q1, 2019Q2, 2019Q3 and 7 more); they are "
        "treated as unobserved"
    )
    assert "If nothing was sold in those quarters, add rows with sales 0" in str(
        rec[0].message
    )


def test_study_panel_warns_of_a_month_missing_from_the_whole_history(toy_study):
    hist = toy_study.history
    s = toy_study.replace(history=hist[hist["period"] != pd.Period("2024-02", "M")])
    with pytest.warns(
        TerrakitWarning,
        match=r"^1 of the 36 months from 2023-01 to 2025-12 have no sales row for "
        r"any series \(2024-02\); they are treated as unobserved",
    ):
        panel, _ = study_panel(s, level="account")
    assert np.isnan(panel.values[:, 13]).all()


def test_summary_is_stable_text(toy_study, account_forecast):
    tf = account_forecast.by(toy_study.alignments["current"])
    text = tf.summary()
    assert text.startswith(
        "Territory forecast (current): 2 territories, 2026-01..2026-06"
    )
    assert "s)" not in text  # no timings


def test_zero_atom_intervals_for_intermittent_series(toy_study, account_forecast):
    """A series with a point mass at zero gets [0, q80] / [0, q95] under
    ``intervals="zero_atom"`` (the central [q10, q90] would hold 90 % of
    its draws); series without one keep their central intervals."""
    import dataclasses

    d = account_forecast.draws.copy()
    a1 = d.sel(series="a1").to_numpy()
    a1[: int(0.3 * d.sizes["draw"])] = 0.0  # 30 % of the draws sell nothing
    d.loc[{"series": "a1"}] = a1
    fc = dataclasses.replace(account_forecast, draws=d)
    central = fc.to_frame().set_index(["series", "period"])
    atom = fc.to_frame(intervals="zero_atom").set_index(["series", "period"])
    q = np.quantile(a1, [0.8, 0.95], axis=0)
    np.testing.assert_allclose(atom.loc["a1", "lo80"], 0.0)
    np.testing.assert_allclose(atom.loc["a1", "hi80"], q[0])
    np.testing.assert_allclose(atom.loc["a1", "hi95"], q[1])
    assert (central.loc["a1", "hi80"] > atom.loc["a1", "hi80"]).all()
    others = central.index.get_level_values("series") != "a1"
    others &= central.index.get_level_values("series") != "a8"  # all zero
    pd.testing.assert_frame_equal(central[others], atom[others])
    tf = fc.by(toy_study.alignments["current"])
    assert list(tf.total(intervals="zero_atom").columns) == list(tf.total().columns)
    with pytest.raises(SpecificationError, match="intervals must be"):
        fc.to_frame(intervals="hdi")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_draws": 0}, r"n_draws must be a whole number ≥ 1, got 0"),
        ({"n_draws": 2.5}, r"n_draws must be a whole number ≥ 1, got 2.5"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"seed": 1.5}, "seed must be a non-negative integer, got 1.5"),
    ],
)
def test_predict_checks_draws_and_seed(toy_study, mock_sampling, kwargs, match):
    """``n_draws=0`` used to give every draw and ``2.5`` two; ``seed=1.5``
    was truncated and ``seed=-1`` raised numpy's error."""
    fitted = SalesForecaster(sampler_config=mock_sampling).fit(toy_study, seed=0)
    with pytest.raises(SpecificationError, match=match):
        fitted.predict(3, **kwargs)


def test_horizon_is_compared_with_the_modelled_window(toy_study, mock_sampling):
    """With history_cycles=1 the model sees the last 12 of the 36 months, yet a
    24-month forecast did not warn and summary() named only 2023-01..2025-12."""
    fitted = SalesForecaster(
        model_config={"history_cycles": 1}, sampler_config=mock_sampling
    ).fit(toy_study, level="account", seed=0)
    with pytest.warns(
        TerrakitWarning,
        match=r"^horizon 24 is longer than the 12 periods of history the model was "
        r"fitted on \(2025-01..2025-12 \(the last 12 of the 36 periods of "
        r"history: model_config history_cycles=1\)\).* Use a horizon ≤ 12 or "
        r"raise history_cycles$",
    ):
        fitted.predict(24)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)
        fitted.predict(12)
    assert fitted.summary() == (
        "SalesForecaster fitted at account level: 8 series, 2023-01..2025-12 "
        "(modelled: the last 12 months, 2025-01..2025-12), method nutpie, seed 0"
    )


def test_horizon_longer_than_the_history_warns(toy_study, mock_sampling):
    short = toy_study.replace(history=toy_study.history.query("period >= '2025-07'"))
    fitted = SalesForecaster(sampler_config=mock_sampling).fit(short, seed=0)
    with pytest.warns(
        TerrakitWarning, match=r"horizon 12 is longer than the 6 periods of history"
    ):
        fitted.predict(12)


def test_all_zero_history_is_refused_before_sampling(toy_study, monkeypatch):
    import terrakit.forecast.model as model_mod

    def must_not_sample(*args, **kwargs):
        raise AssertionError("sampled an all-zero history")

    monkeypatch.setattr(model_mod, "_sample", must_not_sample)
    zero = toy_study.replace(history=toy_study.history.assign(sales=0.0))
    with pytest.raises(
        DataValidationError,
        match=r"history\.sales: all 258 sales values are 0 \(2023-01..2025-12\)",
    ):
        SalesForecaster().fit(zero, seed=0)


def test_by_an_alignment_name_names_the_fix(account_forecast):
    with pytest.raises(
        TypeError, match=r"got str 'current'; .* study\.alignments\['current'\]"
    ):
        account_forecast.by("current")  # type: ignore[arg-type]


def test_by_keeps_territories_without_history(toy_study, mock_sampling):
    """Units u3, u4 have no history: territory T2 used to vanish from the
    territory forecast (and from quota tables)."""
    hist = toy_study.history
    only_t1 = toy_study.replace(history=hist[hist.account_id.isin(["a1", "a3"])])
    fc = (
        SalesForecaster(sampler_config=mock_sampling)
        .fit(only_t1, level="unit", seed=0)
        .predict(3)
    )
    with pytest.warns(TerrakitWarning, match=r"1 of the 2 territories .* \['T2'\]"):
        tf = fc.by(toy_study.alignments["current"])
    assert tf.territories == ["T1", "T2"]
    assert float(tf.draws.sel(territory="T2").sum()) == 0.0
    np.testing.assert_allclose(
        tf.draws.sel(territory="T1"), fc.draws.sum("series"), rtol=1e-5
    )


def test_forecasts_carry_their_provenance(toy_study, account_forecast):
    prov = account_forecast.provenance
    assert prov["seed"] == 0 and prov["horizon"] == 6 and prov["n_draws"] == 200
    assert len(prov["config_hash"]) == 16 and prov["terrakit_version"]
    tf = account_forecast.by(toy_study.alignments["current"])
    assert tf.provenance["seed"] == 0
    assert tf.provenance["alignment"] == "current"


def test_the_pooling_groups_are_recorded(toy_study, mock_sampling):
    """groups=None and groups="segment" fit different models, yet their
    forecasts had the same provenance and config hash."""
    fc = SalesForecaster(sampler_config=mock_sampling)
    fits = {
        g: fc.fit(toy_study, level="account", seed=0, groups=g)
        for g in (None, "segment", "auto")
    }
    prov = {g: f.predict(3).provenance for g, f in fits.items()}
    assert prov[None]["groups"] == {"column": None, "names": ["all"]}
    assert prov["segment"]["groups"] == {"column": "segment", "names": ["A", "B"]}
    assert prov["auto"]["groups"] == prov["segment"]["groups"]  # auto: segment
    assert prov[None]["config_hash"] != prov["segment"]["config_hash"]
    assert prov["auto"]["config_hash"] == prov["segment"]["config_hash"]
    attrs = fits["segment"].idata.attrs
    assert json.loads(attrs["groups"]) == {"column": "segment", "names": ["A", "B"]}
    assert attrs["config_hash"] == prov["segment"]["config_hash"]


@pytest.mark.parametrize(
    ("study", "groups", "error", "match"),
    [
        (
            "history",
            "auto",
            DataValidationError,
            r"^history: expected a Study with a sales history, got DataFrame \(a "
            r"table, e\.g\. the study's history: pass the Study itself\)\. Fix: "
            r"pass the Study, e\.g\. fit\(study\)",
        ),
        (
            "study",
            ["segment"],
            SpecificationError,
            r"^groups must be the name of one column, 'auto' or None, got "
            r"\['segment'\] \(list\)\. Fix: pass e\.g\. groups='segment'",
        ),
    ],
)
def test_wrong_typed_fit_arguments_are_explained(
    toy_study, mock_sampling, study, groups, error, match
):
    """fit(study.history) gave "AttributeError: 'DataFrame' object has no
    attribute 'history'", groups=["segment"] "TypeError: unhashable type"."""
    arg = toy_study if study == "study" else toy_study.history
    fc = SalesForecaster(sampler_config=mock_sampling)
    with pytest.raises(error, match=match):
        fc.fit(arg, level="account", groups=groups)
    with pytest.raises(error, match=match):
        study_panel(arg, level="account", groups=groups)


# 300 iterations are too few on purpose (speed): the ConvergenceWarning that says
# so is tested in test_model.py
@pytest.mark.filterwarnings("ignore::terrakit.exceptions.ConvergenceWarning")
def test_advi_is_seeded_and_quiet_without_a_progress_bar(toy_study, caplog, capsys):
    """The mean-field ADVI path (real, not mocked): the same seed gives the
    same draws, and with the progress bar off nothing is printed or logged
    (PyMC logs "Finished [100%]: Average Loss" at INFO otherwise)."""
    import logging

    cfg = {
        "method": "advi",
        "advi_iterations": 300,
        "advi_draws": 50,
        "progressbar": False,
    }
    caplog.set_level(logging.INFO)
    level = logging.getLogger("pymc").level
    runs = [
        SalesForecaster(sampler_config=cfg)
        .fit(toy_study, level="unit", seed=3)
        .predict(horizon=2, seed=1)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].draws, runs[1].draws)
    assert not [r for r in caplog.records if r.name.startswith("pymc")]
    out = capsys.readouterr()
    assert "Average Loss" not in out.out + out.err
    assert logging.getLogger("pymc").level == level  # restored


def test_unit_potential_falls_back_on_the_accounts_sales(toy_grid_3x3):
    """share_of_potential quotas take sales per unit from
    study.unit_measures() (summed from the accounts) when the units table has
    neither potential nor sales, as the rest of the package does."""
    from terrakit.forecast.forecaster import _unit_potential

    s = toy_grid_3x3
    study = s.replace(units=s.units.drop(columns="potential"))
    pot = _unit_potential(study)
    assert pot is not None and pot.name == "sales"
    expected = s.accounts.groupby("unit_id")["annual_sales"].sum()
    assert pot.loc["u5"] == pytest.approx(expected.loc["u5"])
    none = study.replace(accounts=s.accounts.drop(columns="annual_sales"))
    assert _unit_potential(none) is None


def test_by_refuses_draws_that_are_not_finite(toy_study, account_forecast):
    """One NaN draw of one account used to turn that draw of every territory
    into NaN (0 × NaN in the territory sum), and the summaries then skipped
    it: every territory's forecast changed without a word."""
    import dataclasses

    from terrakit.exceptions import DataValidationError

    a = account_forecast.draws.to_numpy().copy()
    a[5, 2, 3] = np.nan  # draw 5, account a3 (unit u2), 2026-04
    a[9, 2, 0] = np.nan
    bad = dataclasses.replace(
        account_forecast, draws=account_forecast.draws.copy(data=a)
    )
    al = toy_study.alignments["current"]
    with pytest.raises(DataValidationError) as err:
        bad.by(al)
    assert str(err.value) == (
        "forecast.draws: 2 of 200 draws hold NaN sales, in 1 of 8 series and 2 "
        "of 6 periods (2026-01, 2026-04); summed by territory, they would make "
        "that draw of every territory NaN (rows: 'a3 (unit u2)'). Fix: predict "
        "again (check the fit's diagnostics), or drop the draws that are not "
        "finite: dataclasses.replace(forecast, draws=forecast.draws.where("
        "np.isfinite(forecast.draws)).dropna('draw'))"
    )
    # the fix as written works: 198 clean draws, the other territory untouched
    forecast = bad
    fixed = dataclasses.replace(
        forecast, draws=forecast.draws.where(np.isfinite(forecast.draws)).dropna("draw")
    )
    tf = fixed.by(al)
    assert tf.draws.sizes["draw"] == 198 and np.isfinite(tf.draws).all()
    a[..., 0] = np.inf
    with pytest.raises(DataValidationError, match=r"200 of 200 draws hold NaN or inf"):
        dataclasses.replace(
            account_forecast, draws=account_forecast.draws.copy(data=a)
        ).by(al)


def test_forecast_provenance_records_the_fit_seed_and_the_noise_seed(
    toy_study, mock_sampling
):
    """Forecasts from fits with seeds 0 and 5, both predicted with seed 5,
    used to carry the same provenance (``seed: 5``): the sampler's seed was
    lost."""
    fits = {
        s: SalesForecaster(sampler_config=mock_sampling).fit(
            toy_study, level="unit", seed=s
        )
        for s in (0, 5)
    }
    a, b = (fits[s].predict(3, seed=5).provenance for s in (0, 5))
    assert (a["fit_seed"], a["noise_seed"], a["seed"]) == (0, 5, 5)
    assert (b["fit_seed"], b["noise_seed"], b["seed"]) == (5, 5, 5)
    # predict's seed defaults to the fit's
    c = fits[0].predict(3).provenance
    assert (c["fit_seed"], c["noise_seed"], c["seed"]) == (0, 0, 0)
    # kept through the territory sums; NUTS/mocked fits have no ADVI check
    tf = fits[0].predict(3, seed=5).by(toy_study.alignments["current"])
    assert (tf.provenance["fit_seed"], tf.provenance["noise_seed"]) == (0, 5)
    assert a["advi_check"] is None


def _gappy_forecast():
    """Unit forecast of u1, u2 (T1) and u3 (T2), five months of history with
    holes: neither T1 unit has a row in month 1, u1 none in month 3, u3 none
    in month 0.  Sales: u1 10/month, u2 20, u3 5."""
    import xarray as xr

    from terrakit.forecast import SalesForecast

    nan = np.nan
    y = np.array(
        [
            [10.0, nan, 10.0, nan, 10.0],
            [20.0, nan, 20.0, 20.0, 20.0],
            [nan, 5.0, 5.0, 5.0, 5.0],
        ]
    )
    series = ["u1", "u2", "u3"]
    past = pd.period_range("2025-01", periods=5, freq="M")
    future = pd.period_range("2025-06", periods=2, freq="M")
    draws = xr.DataArray(
        np.ones((4, 3, 2)),
        dims=("draw", "series", "period"),
        coords={"draw": np.arange(4), "series": series, "period": future},
    )
    history = xr.DataArray(
        y, dims=("series", "period"), coords={"series": series, "period": past}
    )
    al = Alignment.from_mapping({"u1": "T1", "u2": "T1", "u3": "T2"}, name="now")
    return SalesForecast(draws, history, pd.Series(series, index=series)), al


def test_by_keeps_unobserved_months_unobserved():
    """A month without a history row for any series of a territory was summed
    as 0 sales (np.nan_to_num), so the fan chart drew a CRM outage as a
    collapse of sales.  It is NaN now; a month with only some series observed
    is their sum, and history_observed counts them."""
    f, al = _gappy_forecast()
    tf = f.by(al)
    nan = np.nan
    np.testing.assert_array_equal(
        tf.history.sel(territory="T1").to_numpy(), [30.0, nan, 30.0, 20.0, 30.0]
    )
    np.testing.assert_array_equal(
        tf.history.sel(territory="T2").to_numpy(), [nan, 5.0, 5.0, 5.0, 5.0]
    )
    obs = tf.history_observed
    assert obs is not None and obs.dims == ("territory", "period")
    assert obs["n_series"].to_numpy().tolist() == [2, 1]
    assert obs.sel(territory="T1").to_numpy().tolist() == [2, 0, 2, 1, 2]
    assert obs.sel(territory="T2").to_numpy().tolist() == [0, 1, 1, 1, 1]
    # the company as one territory (the report's total chart): a month no
    # territory was observed in is NaN, and the observed series are counted
    tot = tf.combined()
    assert tot.territories == ["all"]
    np.testing.assert_allclose(
        tot.draws.sel(territory="all").to_numpy(), tf.draws.sum("territory")
    )
    np.testing.assert_array_equal(
        tot.history.sel(territory="all").to_numpy(), [30.0, 5.0, 35.0, 25.0, 35.0]
    )
    assert tot.history_observed.sel(territory="all").to_numpy().tolist() == [
        2,
        1,
        3,
        2,
        3,
    ]
    assert tot.history_observed["n_series"].to_numpy().tolist() == [3]
    dark = TerritoryForecast(
        tf.draws, tf.history.where(tf.history["period"] != tf.history["period"][1])
    ).combined()
    assert np.isnan(dark.history.to_numpy()[0, 1])  # was 0 sales
    assert dark.history_observed is None
    # summed over the territories where observed: what the history holds
    np.testing.assert_allclose(
        tf.history.sum("territory").to_numpy(), np.nansum(f.history, axis=0)
    )


def _hand_forecast(units, *, value: float = 10.0, months: int = 6):
    """A forecast built by hand: one series per unit of ``units``, selling
    ``value`` a month over 12 months of history and ``months`` ahead."""
    import xarray as xr

    from terrakit.forecast import SalesForecast

    past = pd.period_range("2025-01", periods=12, freq="M")
    fut = pd.period_range("2026-01", periods=months, freq="M")
    n = len(units)
    return SalesForecast(
        xr.DataArray(
            np.full((4, n, months), value),
            dims=("draw", "series", "period"),
            coords={"draw": range(4), "series": units, "period": fut},
        ),
        xr.DataArray(
            np.full((n, 12), value),
            dims=("series", "period"),
            coords={"series": units, "period": past},
        ),
        pd.Series(units, index=pd.Index(units, name="series")),
    )


def test_by_orders_territories_of_mixed_types_as_metrics_does(toy_study):
    """Rep ids 101, 102 and a 'vacant' territory (ids Alignment accepts and
    terrakit.metrics sorts as text) crashed by() with a bare TypeError."""
    import terrakit as tk

    fc = _hand_forecast(["u1", "u2", "u3", "u4"])
    mixed = Alignment.from_mapping(
        {"u1": 101, "u2": 101, "u3": 102, "u4": "vacant"}, name="mixed"
    )
    tf = fc.by(mixed)
    assert tf.territories == [101, 102, "vacant"]
    assert tf.territories == tk.metrics.territory_kpis(toy_study, mixed).index.tolist()
    np.testing.assert_allclose(tf.draws.sum("period")[0], [120.0, 60.0, 60.0])
    numbers = Alignment.from_mapping({"u1": 10, "u2": 2, "u3": 1, "u4": 1})
    assert fc.by(numbers).territories == [1, 2, 10]


def test_by_reads_unit_ids_given_as_text_as_metrics_does():
    """Integer unit ids given as text ('1' for 1), which terrakit.metrics
    matches, were refused as 'not in alignment' with rows np.int64(1) and no
    word about the id type."""
    fc = _hand_forecast([1, 2, 3, 4])
    as_int = Alignment.from_mapping({1: "A", 2: "A", 3: "B", 4: "B"})
    as_text = Alignment.from_mapping({"1": "A", "2": "A", "3": "B", "4": "B"})
    np.testing.assert_allclose(fc.by(as_text).draws, fc.by(as_int).draws)
    other = Alignment.from_mapping({f"u{i}": "A" for i in range(1, 5)}, name="other")
    with pytest.raises(DataValidationError) as err:
        fc.by(other)
    assert str(err.value) == (
        "alignment.unit_id: 4 units with a sales forecast are not in alignment "
        "'other' (rows: 1, 2, 3, 4). Fix: use an alignment that covers every unit "
        "of the study (check the id type: the alignment's unit ids are text "
        "(e.g. 'u1'), the forecast's are numbers (e.g. 1), and 'u1' is not 1)"
    )


def test_territory_summary_separates_thousands_of_billions():
    """Totals of 1e9 or more printed in scientific notation (1.082996e+09)."""
    import xarray as xr

    tf = TerritoryForecast(
        xr.DataArray(
            np.full((10, 2, 12), 1e8),
            dims=("draw", "territory", "period"),
            coords={
                "territory": ["T1", "T2"],
                "period": pd.period_range("2026-01", periods=12, freq="M"),
            },
        ),
        xr.DataArray(np.ones((2, 2)), dims=("territory", "period")),
    )
    lines = tf.combined().summary().splitlines()
    assert lines[0] == (
        "Territory forecast (alignment): 1 territories, 2026-01..2026-12, 10 draws"
    )
    assert lines[-1].split() == ["all"] + ["2,400,000,000.0"] * 5


def test_an_account_missing_its_last_months_leaves_its_unit_months_unobserved(
    toy_study,
):
    """a1 (unit u1) has no rows for 2025-10..12 but has not ended (a late
    extract): at unit level u1's last 3 months were a2's sales alone, read as
    a ~50 % drop without a word, although a1's months are unobserved at
    account level.  A partial last month (2025-12 extracted for a1 only)
    shortened the panel or read as a drop; an account that has ended (no row
    in the last 12 months) is still summed as 0 sales."""
    h = toy_study.history
    late = (h.account_id == "a1") & (h.period > pd.Period("2025-09", "M"))
    full, _ = study_panel(toy_study, level="unit")
    with pytest.warns(TerrakitWarning) as rec:
        panel, _ = study_panel(toy_study.replace(history=h[~late]), level="unit")
    assert str(rec[0].message).startswith(
        "1 accounts have months without a history row although they were active "
        "then (from their first row to the history's last period, 2025-12, or to "
        "their last row when they have ended: no row in the last 12 months): a1 "
        "2025-10, a1 2025-11, a1 2025-12 (3 account-months; 3 of them after the "
        "account's last row: a late or partial extract?). The 3 unit-months they "
        "fall in are left unobserved (NaN)"
    )
    assert rec[0].filename == __file__
    assert np.isnan(panel.values[0, -3:]).all()  # u1, 2025-10..12
    np.testing.assert_array_equal(panel.values[0, :-3], full.values[0, :-3])
    np.testing.assert_array_equal(panel.values[1:], full.values[1:])
    acc, _ = study_panel(toy_study.replace(history=h[~late]), level="account")
    assert np.isnan(acc.values[list(acc.series).index("a1"), -3:]).all()

    # a partial last month: 2025-12 is in the extract for a1 only
    dec = (h.period == pd.Period("2025-12", "M")) & (h.account_id != "a1")
    with pytest.warns(TerrakitWarning, match=r"^7 accounts have months"):
        panel, _ = study_panel(toy_study.replace(history=h[~dec]), level="unit")
    assert str(panel.periods[-1]) == "2025-12" and len(panel.periods) == 36
    assert np.isnan(panel.values[:, -1]).all()  # every unit misses an account
    np.testing.assert_array_equal(panel.values[:, :-1], full.values[:, :-1])

    # a1 lost 14 months before the end (ended): u1 is a2's sales, no warning
    lost = (h.account_id == "a1") & (h.period > pd.Period("2024-10", "M"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)
        panel, _ = study_panel(toy_study.replace(history=h[~lost]), level="unit")
    a2 = h[h.account_id == "a2"].set_index("period")["sales"]
    np.testing.assert_allclose(panel.values[0, -14:], a2.to_numpy()[-14:])


@pytest.mark.parametrize(
    ("level", "groups", "fix"),
    [
        (
            "unit",
            "segment",
            "'segment' is a column of the accounts table: fit level='account' to "
            "pool accounts by it, add the column to the units table, or pass a "
            "column of the units table, 'auto' or None (one group)",
        ),
        (
            "account",
            "potential",
            "'potential' is a column of the units table: fit level='unit' to pool "
            "units by it, add the column to the accounts table, or pass a column "
            "of the accounts table, 'auto' or None (one group)",
        ),
        (
            "account",
            "sector",
            "pass a column of the accounts table, 'auto' or None (one group)",
        ),
    ],
)
def test_a_pooling_column_of_the_other_table_names_the_level(
    toy_study, level, groups, fix
):
    """groups='segment' at unit level said "... is not in the table; columns
    are [...]", naming neither the table searched nor the fix."""
    table = "units" if level == "unit" else "accounts"
    cols = list((toy_study.units if level == "unit" else toy_study.accounts).columns)
    with pytest.raises(SpecificationError) as err:
        study_panel(toy_study, level=level, groups=groups)
    assert str(err.value) == (
        f"pooling group column {groups!r} is not in the {table} table, whose "
        f"columns group the series at level={level!r}; columns are {cols}. "
        f"Fix: {fix}"
    )


def test_by_refuses_units_the_study_does_not_have(toy_study, mock_sampling):
    """A stale alignment with u9 (not a unit of the study) was accepted: its
    territory T3 got a forecast of 0 and a warning about 'no unit with a sales
    history'.  The study's units are recorded at fit(); a forecaster made by
    hand falls back on the units of its unit_potential."""
    from terrakit.forecast.forecaster import FittedSalesForecaster

    fitted = SalesForecaster(sampler_config=mock_sampling).fit(
        toy_study, level="unit", seed=0
    )
    stale = Alignment.from_mapping(
        {"u1": "T1", "u2": "T1", "u3": "T2", "u4": "T2", "u9": "T3"}, name="stale"
    )
    by_hand = FittedSalesForecaster(
        fitted.fit, fitted.series_unit, "unit", toy_study.units["potential"]
    )
    for fc in (fitted.predict(3), by_hand.predict(3)):
        with pytest.raises(DataValidationError) as err:
            fc.by(stale)
        assert str(err.value) == (
            "alignment.unit_id: alignment 'stale' names 1 units that are not in "
            "the study the forecast was fitted on (4 units) (rows: 'u9'). Fix: "
            "drop those units from the alignment, or fit the forecast on a study "
            "whose units table has them"
        )
    assert list(fitted.unit_ids) == ["u1", "u2", "u3", "u4"]
    # units of the study without a history stay welcome (forecast 0)
    hist = toy_study.history
    only_t1 = toy_study.replace(history=hist[hist.account_id.isin(["a1", "a3"])])
    fc = (
        SalesForecaster(sampler_config=mock_sampling)
        .fit(only_t1, level="unit", seed=0)
        .predict(3)
    )
    assert list(fc.unit_ids) == ["u1", "u2", "u3", "u4"]
    with pytest.warns(TerrakitWarning, match="have no unit with a sales history"):
        assert fc.by(toy_study.alignments["current"]).territories == ["T1", "T2"]


def test_territory_sums_are_exact_for_float32_draws():
    """Draws in float32 were summed in float32: on ~77 M a year the company
    total differed by alignment (76,948,665.44 vs .96), a territory draw was
    up to 16.6 off the sum of its unit draws, and summary() printed a total
    1.2 below the draws'."""
    import xarray as xr

    from terrakit.forecast import SalesForecast

    rng = np.random.default_rng(0)
    units = [f"u{i:03d}" for i in range(200)]
    past = pd.period_range("2025-01", periods=12, freq="M")
    fut = pd.period_range("2026-01", periods=12, freq="M")
    d = rng.gamma(50, 6e3, size=(50, 200, 12)).astype(np.float32)
    fc = SalesForecast(
        xr.DataArray(
            d,
            dims=("draw", "series", "period"),
            coords={"draw": range(50), "series": units, "period": fut},
        ),
        xr.DataArray(
            np.full((200, 12), 3e5),
            dims=("series", "period"),
            coords={"series": units, "period": past},
        ),
        pd.Series(units, index=pd.Index(units, name="series")),
    )
    exact = d.astype(np.float64).sum(axis=(1, 2))  # company total per draw
    means = []
    for al in (
        Alignment.from_mapping({u: f"R{i % 20:02d}" for i, u in enumerate(units)}),
        Alignment.from_mapping({u: f"R{i * 7 % 20:02d}" for i, u in enumerate(units)}),
        Alignment.from_mapping(dict.fromkeys(units, "ALL")),
    ):
        tf = fc.by(al)
        np.testing.assert_allclose(
            tf.draws.sum(("territory", "period")), exact, rtol=1e-12
        )
        assert tf.draws.dtype == np.float64
        means.append(float(tf.combined().total()["mean"].iloc[0]))
    np.testing.assert_allclose(means, exact.mean(), rtol=1e-12)
    assert fc.summary().splitlines()[1].startswith(f"total {exact.mean():,.1f} (")


def test_history_and_series_unit_are_matched_to_the_draws_by_id():
    """Only the count of series_unit was checked: a history in another order
    gave each territory another's history (and growth base), and a forecast
    subset with draws.sel(series=...) met a bare numpy matmul error."""
    import dataclasses

    fc = _hand_forecast(["u1", "u2", "u3", "u4"])
    levels = np.repeat([[10.0], [20.0], [30.0], [40.0]], 12, axis=1)
    fc = dataclasses.replace(fc, history=fc.history.copy(data=levels))
    al = Alignment.from_mapping({"u1": "A", "u2": "A", "u3": "B", "u4": "B"})
    shuffled = dataclasses.replace(
        fc,
        history=fc.history.isel(series=[3, 1, 0, 2]),
        series_unit=fc.series_unit.iloc[::-1],
    )
    assert list(shuffled.history["series"].to_numpy()) == ["u1", "u2", "u3", "u4"]
    assert list(shuffled.series_unit.index) == ["u1", "u2", "u3", "u4"]
    np.testing.assert_array_equal(
        shuffled.by(al).history.to_numpy()[:, -1], [30.0, 70.0]
    )
    # a subset of the draws: the history of the other series is left out
    sub = dataclasses.replace(
        fc,
        draws=fc.draws.sel(series=["u1", "u2", "u3"]),
        series_unit=fc.series_unit.loc[["u1", "u2", "u3"]],
    )
    np.testing.assert_array_equal(sub.by(al).history.to_numpy()[:, -1], [30.0, 30.0])
    with pytest.raises(DataValidationError) as err:
        dataclasses.replace(fc, history=fc.history.sel(series=["u1", "u2", "u3"]))
    assert str(err.value) == (
        "forecast.history: 1 of the 4 series of the draws have no history "
        "(history holds 3 series, matched to the draws' by id) (rows: 'u4'). "
        "Fix: give the history of every series of the draws, e.g. "
        "dataclasses.replace(forecast, draws=..., "
        "history=forecast.history.sel(series=...))"
    )
    with pytest.raises(DataValidationError, match=r"^forecast\.series_unit: 1 of"):
        dataclasses.replace(fc, series_unit=fc.series_unit.iloc[:3])

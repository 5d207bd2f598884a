"""Territory quotas with their probability of attainment."""

from __future__ import annotations

import numpy as np
import pytest

from terrakit.exceptions import DataValidationError, SpecificationError
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


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"total": -5.0}, "total must be a positive company target, got -5.0"),
        ({"total": float("nan")}, "total must be a positive company target, got nan"),
        ({"total": "1e6"}, "total must be a positive company target, got '1e6'"),
        (
            {"method": "growth", "growth": "5%"},
            r"growth must be a rate above -1 \(0.05 = \+5 %\), got '5%'",
        ),
        ({"method": "growth", "growth": -2.0}, "growth must be a rate above -1"),
        ({"growth": 0.1}, r"growth=0.1 is only used by method='growth'"),
        (
            {"method": "growth", "total": 1e6},
            r"total=1000000.0 is only used by method='share_of_potential'",
        ),
    ],
)
def test_bad_total_and_growth_are_explained(toy_study, unit_forecast, kwargs, match):
    """These were ignored, taken as given (negative targets) or raised a raw
    ValueError."""
    with pytest.raises(SpecificationError, match=match):
        quota(unit_forecast, toy_study.alignments["current"], **kwargs)


@pytest.mark.parametrize("bad", [np.nan, -10.0])
def test_missing_or_negative_potential_lists_the_units(toy_study, unit_forecast, bad):
    """A NaN potential used to count as 0 and a negative one as a negative
    share."""
    pot = toy_study.units["potential"].copy()
    pot["u2"] = bad
    with pytest.raises(DataValidationError) as err:
        quota(unit_forecast, toy_study.alignments["current"], potential=pot)
    assert err.value.rows == ["u2"] and err.value.column == "potential"
    assert "missing, non-numeric or negative potential" in str(err.value)


def test_potential_must_be_a_series(toy_study, unit_forecast):
    with pytest.raises(SpecificationError, match="Series indexed by unit_id, got list"):
        quota(unit_forecast, toy_study.alignments["current"], potential=[1, 2, 3, 4])


def test_growth_without_last_year_sales_is_explained(toy_study, mock_sampling):
    """The toy history holds a 36-month history; with no sales in the year
    before the horizon growth is undefined (it was a ZeroDivisionError)."""
    hist = toy_study.history
    hist = hist.assign(sales=hist.sales.where(hist.period < "2025-01", 0.0))
    fc = (
        SalesForecaster(sampler_config=mock_sampling)
        .fit(toy_study.replace(history=hist), seed=0)
        .predict(12)
    )
    with pytest.raises(
        SpecificationError, match=r"sales of 2025-01..2025-12, but the 2 territories"
    ):
        quota(fc, toy_study.alignments["current"], method="growth")


def test_quotas_carry_the_forecast_provenance(toy_study, unit_forecast):
    q = quota(unit_forecast, toy_study.alignments["current"], method="growth")
    assert q.provenance["seed"] == 0
    assert q.provenance["alignment"] == "current"
    assert q.provenance["quota"]["method"] == "growth"


@pytest.mark.parametrize("horizon", [1, 3])
def test_growth_without_last_year_in_the_history_names_the_real_fix(horizon):
    """With 6 months of history the error used to recommend "a horizon ≤ 12",
    which cannot help: the same months a year earlier are not in the history
    whatever the horizon."""
    import pandas as pd
    import xarray as xr

    from terrakit.data import Alignment
    from terrakit.forecast import SalesForecast

    hist_p = pd.period_range("2025-07", periods=6, freq="M")
    fut_p = pd.period_range("2026-01", periods=horizon, freq="M")
    draws = xr.DataArray(
        np.full((10, 2, horizon), 50.0, dtype="float32"),
        dims=("draw", "series", "period"),
        coords={"draw": np.arange(10), "series": ["u1", "u2"], "period": fut_p},
    )
    hist = xr.DataArray(
        np.full((2, 6), 100.0),
        dims=("series", "period"),
        coords={"series": ["u1", "u2"], "period": hist_p},
    )
    fc = SalesForecast(draws, hist, pd.Series(["u1", "u2"], index=["u1", "u2"]))
    al = Alignment.from_mapping({"u1": "T1", "u2": "T2"}, name="a")
    end = fut_p[-1]
    with pytest.raises(SpecificationError) as err:
        quota(fc, al, method="growth")
    msg = str(err.value)
    assert msg.startswith(
        f"growth quotas compare the forecast's {horizon} months (2026-01..{end}) "
        f"with the same months a year earlier (2025-01..{end - 12}), but the "
        f"history covers 2025-07..2025-12 (6 months) and lacks {horizon} of them"
    )
    assert msg.endswith(
        "Fix: fit on a history that reaches back to 2025-01 (12 months before "
        "the forecast start), or use method='share_of_potential'"
    )
    assert "horizon ≤" not in msg


def _flat_forecast_with_gaps():
    """4 units selling a flat 100/month, forecast at 100/month: u4 starts in
    2025-07 (half the base year), u3 misses 2025-03 (a hole)."""
    import pandas as pd
    import xarray as xr

    from terrakit.data import Alignment
    from terrakit.forecast import SalesForecast

    rng = np.random.default_rng(0)
    units = ["u1", "u2", "u3", "u4"]
    past = pd.period_range("2024-01", periods=24, freq="M")
    fut = pd.period_range("2026-01", periods=12, freq="M")
    hist = np.full((4, 24), 100.0)
    hist[3, :18] = np.nan
    hist[2, 14] = np.nan
    draws = rng.gamma(50, 2.0, size=(500, 4, 12)).astype(np.float32)
    fc = SalesForecast(
        xr.DataArray(
            draws,
            dims=("draw", "series", "period"),
            coords={"draw": range(500), "series": units, "period": fut},
        ),
        xr.DataArray(
            hist,
            dims=("series", "period"),
            coords={"series": units, "period": past},
        ),
        pd.Series(units, index=pd.Index(units, name="series")),
        "unit",
        {"seed": 0},
    )
    al = Alignment.from_mapping({"u1": "A", "u2": "A", "u3": "B", "u4": "C"}, name="c")
    return fc, al


def test_growth_bases_do_not_read_unobserved_months_as_zero_sales():
    """Flat sales: true growth 0.  The base used to read u4's six months
    before its start and u3's hole as 0 sales (B 1,100, C 600), so the
    default growth came out at +17 % and p_attain 0.00 / 0.04 / 1.00."""
    from terrakit.exceptions import TerrakitWarning

    fc, al = _flat_forecast_with_gaps()
    with pytest.warns(TerrakitWarning) as rec:
        q = quota(fc, al, method="growth")
    msg = str(rec[0].message)
    assert "of 2 of the 3 territories has unobserved months" in msg
    assert "B (u3: 11 of 12 observed); C (u4: 6 of 12 observed)" in msg
    assert "the 2 series observed in every base month" in msg
    t = q.table
    forecast_growth = t.loc["A", "forecast_mean"] / 2400.0 - 1
    assert abs(forecast_growth) < 0.01
    # like-for-like growth: from u1 and u2 only; bases A 2,400, B and C 1,200
    np.testing.assert_allclose(
        t["target"].to_numpy(),
        np.array([2400.0, 1200.0, 1200.0]) * (1 + forecast_growth),
        rtol=1e-5,
    )
    assert t["p_attain"].between(0.4, 0.6).all()
    assert t["p_attain"].max() - t["p_attain"].min() < 0.1
    # a given growth scales the same bases
    with pytest.warns(TerrakitWarning):
        q2 = quota(fc, al, method="growth", growth=0.05)
    np.testing.assert_allclose(q2.table["target"].to_numpy(), [2520.0, 1260.0, 1260.0])


def test_summary_rounds_once_and_separates_thousands():
    """p_attain was rounded to 2 decimals, then to 1 (0.015 showed 0.0), and
    amounts printed as 5182590.0."""
    import pandas as pd

    from terrakit.forecast import QuotaResult

    q = QuotaResult(
        table=pd.DataFrame(
            {
                "target": [5182590.0, 3983485.9],
                "forecast_mean": [5227635.5, 3744720.75],
                "p_attain": [0.705, 0.015],
            },
            index=pd.Index(["R01", "R02"], name="territory_id"),
        ),
        method="share_of_potential",
        company_target=9166075.9,
    )
    text = q.summary()
    assert "company target 9,166,076" in text
    assert "5,182,590" in text and "3,744,721" in text
    assert "70.5 %" in text and "1.5 %" in text
    assert "5182590" not in text


def test_a_nan_draw_is_refused_not_spread_to_every_territory(toy_study, unit_forecast):
    """One NaN in one unit's draw made that draw NaN for every territory, and
    the sums skipped it: every target and P(attain) changed silently."""
    import dataclasses

    a = unit_forecast.draws.to_numpy().copy()
    a[3, 1, 2] = np.nan  # draw 3, unit u2 (T1), 2026-03
    bad = dataclasses.replace(unit_forecast, draws=unit_forecast.draws.copy(data=a))
    for method in ("share_of_potential", "growth"):
        with pytest.raises(DataValidationError) as err:
            quota(bad, toy_study.alignments["current"], method=method)
        assert str(err.value).startswith(
            "forecast.draws: 1 of 200 draws hold NaN sales, in 1 of 4 series and "
            "1 of 12 periods (2026-03); summed by territory, they would make that "
            "draw of every territory NaN (rows: 'u2'). Fix: predict again"
        )


def test_a_unit_given_twice_in_the_potential_is_named(toy_study, unit_forecast):
    """It was pandas' bare 'cannot reindex on an axis with duplicate labels'."""
    import pandas as pd

    pot = toy_study.units["potential"]
    pot = pd.concat([pot, pot.iloc[1:2]])
    with pytest.raises(DataValidationError) as err:
        quota(unit_forecast, toy_study.alignments["current"], potential=pot)
    assert str(err.value) == (
        "potential.unit_id: 1 ids occur more than once (rows: 'u2'). "
        "Fix: make unit_id unique (merge or rename the duplicated rows)"
    )


def test_zero_potential_is_explained_and_a_territory_without_it_warned(
    toy_study, unit_forecast
):
    """All-zero potential said 'the total potential is 0; shares are
    undefined' with no fix; a selling territory with potential 0 silently got
    a target of 0 and P(attain) 1."""
    from terrakit.exceptions import TerrakitWarning

    al = toy_study.alignments["current"]
    pot = toy_study.units["potential"] * 0.0
    with pytest.raises(DataValidationError) as err:
        quota(unit_forecast, al, potential=pot)
    assert str(err.value) == (
        "potential: the potential of all 4 units of alignment 'current' is 0, so "
        "it gives no shares to split the company target by. Fix: pass the units' "
        "potential (e.g. potential=PotentialResult.to_frame('unit')"
        "['potential_mean']), or use method='growth'"
    )
    pot = toy_study.units["potential"].copy()
    pot[["u1", "u2"]] = 0.0  # T1
    with pytest.warns(TerrakitWarning) as rec:
        q = quota(unit_forecast, al, potential=pot)
    msg = str(rec[0].message)
    sales = unit_forecast.by(al).history.isel(period=slice(-12, None)).sum("period")
    assert msg == (
        "share_of_potential: territories with a potential of 0 or below their "
        "sales of the last 12 months (1 of 2): T1 (potential 0 vs sales "
        f"{float(sales.sel(territory='T1')):,.0f}); their targets are a cut on "
        "what they sell (0 for no potential) and their P(attain) near 1. Check "
        "the potential (a missing estimate filled with 0?) or use method='growth'"
    )
    assert q.table.loc["T1", "target"] == 0.0
    # potential on another scale (an index) gives shares alone: no warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)
        quota(unit_forecast, al)


def test_growth_in_percent_is_refused(toy_study, unit_forecast):
    """growth=5 (meant 5 %) was taken as +500 %: P(attain) 0 everywhere."""
    with pytest.raises(SpecificationError) as err:
        quota(unit_forecast, toy_study.alignments["current"], method="growth", growth=5)
    assert str(err.value) == (
        "growth must be a rate below 1 (0.05 = +5 %), got 5; did you mean 0.05? "
        "For a target of double last year's sales or more, use "
        "method='share_of_potential' with total=..."
    )


def test_forecast_mean_is_the_forecast_tables_mean_on_float32_draws():
    """The mean over the draws was taken in float32: on sales in the millions
    the quota table's forecast_mean was up to 1.5 off the forecast table's
    (TerritoryForecast.total()), and the targets did not sum to the forecast
    total (74,810,288 against 74,810,289.1 on the sample)."""
    import pandas as pd
    import xarray as xr

    from terrakit.data import Alignment
    from terrakit.forecast import SalesForecast

    rng = np.random.default_rng(0)
    units = [f"u{i}" for i in range(6)]
    past = pd.period_range("2024-01", periods=24, freq="M")
    fut = pd.period_range("2026-01", periods=12, freq="M")
    draws = rng.gamma(50, 6e3, size=(1000, 6, 12)).astype(np.float32)
    fc = SalesForecast(
        xr.DataArray(
            draws,
            dims=("draw", "series", "period"),
            coords={"draw": range(1000), "series": units, "period": fut},
        ),
        xr.DataArray(
            np.full((6, 24), 3e5),
            dims=("series", "period"),
            coords={"series": units, "period": past},
        ),
        pd.Series(units, index=pd.Index(units, name="series")),
        "unit",
        {"seed": 0},
    )
    al = Alignment.from_mapping({u: "ABC"[i // 2] for i, u in enumerate(units)})
    tf = fc.by(al)
    assert tf.draws.dtype == np.float64  # summed in float64 (was float32)
    total = tf.total()["mean"]
    q = quota(fc, al, potential=pd.Series(1.0, index=pd.Index(units, name="unit_id")))
    np.testing.assert_allclose(
        q.table["forecast_mean"].to_numpy(), total.to_numpy(), rtol=1e-9, atol=0
    )
    assert q.table["target"].sum() == pytest.approx(total.sum(), rel=1e-12)


def _hand_forecast(units, *, months: int = 12):
    """A unit-level forecast built by hand: unit ``i`` (0-based) sells
    ``10 (i + 1)`` a month over 2023-01..2025-12, forecast at the same."""
    import pandas as pd
    import xarray as xr

    from terrakit.forecast import SalesForecast

    past = pd.period_range("2023-01", periods=36, freq="M")
    fut = pd.period_range("2026-01", periods=months, freq="M")
    level = 10.0 * np.arange(1, len(units) + 1)
    return SalesForecast(
        xr.DataArray(
            np.broadcast_to(level[None, :, None], (4, len(units), months)).copy(),
            dims=("draw", "series", "period"),
            coords={"draw": range(4), "series": units, "period": fut},
        ),
        xr.DataArray(
            np.broadcast_to(level[:, None], (len(units), 36)).copy(),
            dims=("series", "period"),
            coords={"series": units, "period": past},
        ),
        pd.Series(units, index=pd.Index(units, name="series")),
        "unit",
        {"seed": 0},
    )


def test_territories_of_mixed_types_get_quotas():
    """Territory ids 101, 102 and 'vacant' crashed quota() with a bare
    TypeError from sorting."""
    import pandas as pd

    from terrakit.data import Alignment

    fc = _hand_forecast(["u1", "u2", "u3", "u4"])
    al = Alignment.from_mapping({"u1": 101, "u2": 101, "u3": 102, "u4": "vacant"})
    pot = pd.Series([10.0, 20.0, 30.0, 40.0], index=["u1", "u2", "u3", "u4"])
    q = quota(fc, al, potential=pot)
    assert q.table.index.tolist() == [101, 102, "vacant"]
    # forecast total 12 × (10 + 20 + 30 + 40) split 30 : 30 : 40
    np.testing.assert_allclose(q.table["target"], [360.0, 360.0, 480.0])
    g = quota(fc, al, method="growth")
    np.testing.assert_allclose(g.table["base"], [360.0, 360.0, 480.0])


def test_unit_ids_given_as_text_are_read_as_the_forecasts():
    """Integer unit ids given as text ('1' for 1) in the alignment or the
    potential, which terrakit.metrics matches, were refused as missing."""
    import pandas as pd

    from terrakit.data import Alignment

    fc = _hand_forecast([1, 2, 3, 4])
    al = Alignment.from_mapping({1: "A", 2: "A", 3: "B", 4: "B"})
    as_text = Alignment.from_mapping({"1": "A", "2": "A", "3": "B", "4": "B"})
    pot = pd.Series([10.0, 20.0, 30.0, 40.0], index=[1, 2, 3, 4])
    text_pot = pd.Series([10.0, 20.0, 30.0, 40.0], index=["1", "2", "3", "4"])
    want = quota(fc, al, potential=pot).table
    np.testing.assert_allclose(want["target"], [360.0, 840.0])
    for a, p in [(as_text, pot), (al, text_pot), (as_text, text_pot)]:
        pd.testing.assert_frame_equal(quota(fc, a, potential=p).table, want)
    np.testing.assert_allclose(
        quota(fc, as_text, method="growth").table["base"], [360.0, 840.0]
    )
    other = pd.Series([10.0, 20.0, 30.0, 40.0], index=["u1", "u2", "u3", "u4"])
    with pytest.raises(DataValidationError) as err:
        quota(fc, al, potential=other)
    assert str(err.value) == (
        "units.potential: 4 units of the alignment have no potential (rows: 1, "
        "2, 3, 4). Fix: give every unit a potential (0 if none) (check the id "
        "type: the potential's unit ids are text (e.g. 'u1'), the forecast's are "
        "numbers (e.g. 1), and 'u1' is not 1)"
    )


def test_growth_quotas_record_the_base_and_the_growth_applied(toy_study, unit_forecast):
    """With the default growth the rate applied (target / base − 1) was
    recorded nowhere: provenance said growth None, and neither the table nor
    the summary showed the base or the rate."""
    al = toy_study.alignments["current"]
    last_year = (
        unit_forecast.by(al).history.isel(period=slice(-12, None)).sum("period")
    ).to_numpy()
    q = quota(unit_forecast, al, method="growth")
    t = q.table
    assert t.columns.tolist() == [
        "base",
        "target",
        "forecast_mean",
        "forecast_lo80",
        "forecast_hi80",
        "p_attain",
    ]
    np.testing.assert_allclose(t["base"], last_year)
    g = q.provenance["quota"]["growth"]
    # every unit is observed throughout: the company's forecast growth
    assert g == pytest.approx(t["forecast_mean"].sum() / last_year.sum() - 1)
    np.testing.assert_allclose(t["target"] / t["base"] - 1, g, rtol=1e-12)
    assert q.provenance["quota"]["growth_from"] == "forecast"
    assert q.summary().splitlines()[0] == (
        f"Quotas (growth): company target {q.company_target:,.0f}; growth "
        f"{100 * g:+.1f} % on the base {last_year.sum():,.0f}"
    )
    given = quota(unit_forecast, al, method="growth", growth=0.05)
    assert given.provenance["quota"]["growth"] == 0.05
    assert given.provenance["quota"]["growth_from"] == "given"
    assert "; growth +5.0 % on the base" in given.summary()
    share = quota(unit_forecast, al)
    assert "base" not in share.table.columns
    assert share.provenance["quota"]["growth"] is None
    assert share.provenance["quota"]["growth_from"] is None


def test_growth_over_a_horizon_beyond_a_year_names_the_real_fix():
    """An 18-month forecast was told to fit on a history reaching back to
    2025-01, which it already did: the missing base months are the forecast's
    own first months."""
    from terrakit.data import Alignment

    fc = _hand_forecast(["u1", "u2"], months=18)
    al = Alignment.from_mapping({"u1": "A", "u2": "B"})
    with pytest.raises(SpecificationError) as err:
        quota(fc, al, method="growth")
    assert str(err.value) == (
        "growth quotas compare the forecast with the same months a year "
        "earlier, so they need a horizon of at most 12 months; the forecast's "
        "18 months (2026-01..2027-06) would compare 2027-01..2027-06 with "
        "2026-01..2026-06, the forecast's own first months, not history. Fix: "
        "predict(horizon=12) for growth quotas, or use "
        "method='share_of_potential'"
    )


def test_a_territory_forecast_is_refused_with_the_fix(toy_study, unit_forecast):
    """quota(forecast.by(alignment), ...) was a bare AttributeError ('no
    attribute by')."""
    al = toy_study.alignments["current"]
    with pytest.raises(TypeError) as err:
        quota(unit_forecast.by(al), al)
    assert str(err.value) == (
        "quota() takes the series-level SalesForecast "
        "(fitted.predict(horizon=12)), got TerritoryForecast; that is a forecast "
        "already summed by territory (forecast.by(alignment)); pass the forecast "
        "before .by(): quota(forecast, alignment)"
    )


def test_potential_with_growth_is_refused(toy_study, unit_forecast):
    """potential= was silently ignored by method='growth' (total= was
    refused)."""
    with pytest.raises(SpecificationError) as err:
        quota(
            unit_forecast,
            toy_study.alignments["current"],
            method="growth",
            potential=toy_study.units["potential"],
        )
    assert str(err.value) == (
        "potential=... is only used by method='share_of_potential'; growth "
        "quotas are last year's sales × (1 + growth) and take no potential: "
        "drop potential=, or use method='share_of_potential'"
    )


def test_a_lost_accounts_base_is_its_observed_sales(toy_study, mock_sampling):
    """Account a1 (T1) stops 8 months before the end: ended, forecast at 0.
    Its 4 observed base months used to be scaled up to a year, so T1's
    target held ~3 times what a1 bought (target 6,116 on a base of 5,157,
    P(attain) 0.00)."""
    import warnings

    import pandas as pd

    from terrakit.exceptions import TerrakitWarning

    h = toy_study.history
    h = h[~((h.account_id == "a1") & (h.period > pd.Period("2025-04", "M")))]
    fitted = SalesForecaster(sampler_config=mock_sampling).fit(
        toy_study.replace(history=h), level="account", seed=0
    )
    al = toy_study.alignments["current"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)  # a1 is forecast at 0
        fc = fitted.predict(12, ended_after=6)
    assert [e["series"] for e in fc.provenance["ended_series"]] == ["a1"]
    base_t1 = float(
        h[
            h.account_id.isin(["a1", "a2", "a3", "a4"]) & (h.period >= "2025-01")
        ].sales.sum()
    )
    with pytest.warns(TerrakitWarning) as rec:
        q = quota(fc, al, method="growth", growth=0.0)
    assert q.table.loc["T1", "target"] == pytest.approx(base_t1, rel=1e-9)
    assert q.table.loc["T1", "base"] == pytest.approx(base_t1, rel=1e-9)
    msg = str(rec[0].message)
    assert "of 1 of the 2 territories has unobserved months: T2 (a7: 6 of 12" in msg
    assert "a1" not in msg
    # forecast like the others, a1 is a series with unobserved months again
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        active = fitted.predict(12, ended_after=6, forecast_ended=True)
    with pytest.warns(TerrakitWarning, match=r"T1 \(a1: 4 of 12 observed\)"):
        q2 = quota(active, al, method="growth", growth=0.0)
    assert q2.table.loc["T1", "target"] > base_t1 + 500


def test_warnings_of_by_point_at_the_callers_line(toy_study, mock_sampling):
    """by()'s warning about territories without history pointed into
    quota.py when quota() called it."""
    from terrakit.exceptions import TerrakitWarning

    hist = toy_study.history
    only_t1 = toy_study.replace(history=hist[hist.account_id.isin(["a1", "a3"])])
    fc = (
        SalesForecaster(sampler_config=mock_sampling)
        .fit(only_t1, level="unit", seed=0)
        .predict(3)
    )
    with pytest.warns(
        TerrakitWarning, match="have no unit with a sales history"
    ) as rec:
        quota(fc, toy_study.alignments["current"])
    assert [w.filename for w in rec] == [__file__] * len(rec)


def test_an_alignment_with_units_the_study_lacks_is_refused(toy_study, unit_forecast):
    """A stale alignment (u10, not a unit of the study, as territory T3) gave
    T3 a target of 0 with P(attain) 100 %, and share_of_potential asked for
    a potential of the unit that does not exist."""
    from terrakit.data import Alignment

    stale = Alignment.from_mapping(
        {"u1": "T1", "u2": "T1", "u3": "T2", "u4": "T2", "u10": "T3"}, name="stale"
    )
    for method in ("share_of_potential", "growth"):
        with pytest.raises(DataValidationError) as err:
            quota(unit_forecast, stale, method)
        assert str(err.value) == (
            "alignment.unit_id: alignment 'stale' names 1 units that are not in "
            "the study the forecast was fitted on (4 units) (rows: 'u10'). Fix: "
            "drop those units from the alignment, or fit the forecast on a study "
            "whose units table has them"
        )


def test_share_of_potential_records_the_column_it_split_by(toy_study, mock_sampling):
    """The provenance said "study units" and the summary nothing, whether the
    target was split by the units' potential or by last year's sales summed
    from the accounts."""
    al = toy_study.alignments["current"]
    units = toy_study.units.drop(columns="potential")
    annual = toy_study.accounts.assign(annual_sales=[1e3, 2e3, 3e3, 4e3] * 2)
    studies = {
        "units.potential": toy_study,
        "units.sales": toy_study.replace(units=units.assign(sales=[4.0, 3, 2, 1])),
        "accounts.annual_sales": toy_study.replace(units=units, accounts=annual),
    }
    heads = {
        "units.potential": "units.potential",
        "units.sales": "units.sales",
        "accounts.annual_sales": "accounts.annual_sales (summed by unit)",
    }
    fc = SalesForecaster(sampler_config=mock_sampling)
    for source, study in studies.items():
        f = fc.fit(study, level="unit", seed=0).predict(3)
        q = quota(f, al)
        assert q.provenance["quota"]["potential"] == source
        assert q.summary().splitlines()[0] == (
            f"Quotas (share_of_potential): company target {q.company_target:,.0f}; "
            f"split by {heads[source]}"
        )
    # accounts a1..a8 sell 1,2,3,4,1,2,3,4 thousand: T1 3 + 7, T2 3 + 7
    assert q.table["target"].iloc[0] == pytest.approx(q.company_target / 2)
    given = quota(f, al, potential=toy_study.units["potential"])
    assert given.provenance["quota"]["potential"] == "given"
    assert given.summary().splitlines()[0].endswith("; split by the potential given")
    assert quota(f, al, "growth").provenance["quota"]["potential"] is None


def test_summary_targets_add_up_to_the_company_target():
    """Each target was rounded on its own: 3 × 333,333 = 999,999 under
    "company target 1,000,000"; growth bases likewise."""
    import pandas as pd

    from terrakit.forecast import QuotaResult

    idx = pd.Index(["North", "South", "West"], name="territory_id")
    third = 1_000_000 / 3
    q = QuotaResult(
        pd.DataFrame(
            {"target": [third] * 3, "forecast_mean": [third] * 3, "p_attain": 0.5},
            index=idx,
        ),
        "share_of_potential",
        1_000_000.0,
    )
    lines = q.summary().splitlines()
    assert lines[0] == "Quotas (share_of_potential): company target 1,000,000"
    assert [ln.split()[1] for ln in lines[3:]] == ["333,334", "333,333", "333,333"]
    assert lines[3].split()[2] == "333,333"  # forecast_mean: rounded on its own
    base = [1000.3, 2000.45, 3000.4]  # 6,001.15, each rounded: 6,000
    target = [1.1 * b for b in base]  # 1,100.33 2,200.495 3,300.44: 6,601.265
    g = QuotaResult(
        pd.DataFrame(
            {
                "base": base,
                "target": target,
                "forecast_mean": target,
                "p_attain": 0.5,
            },
            index=idx,
        ),
        "growth",
        sum(target),
        {"quota": {"growth": 0.1}},
    )
    lines = g.summary().splitlines()
    assert lines[0] == (
        "Quotas (growth): company target 6,601; growth +10.0 % on the base 6,001"
    )
    rows = [ln.split() for ln in lines[3:]]
    assert [r[1] for r in rows] == ["1,000", "2,001", "3,000"]
    assert [r[2] for r in rows] == ["1,100", "2,201", "3,300"]

"""The course's answer checks accept right answers and explain wrong ones."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from terrakit import teaching
from terrakit.data import Alignment
from terrakit.forecast import SalesForecast


@pytest.fixture
def toy_calls(toy_grid_3x3):
    """``toy_grid_3x3`` with a call plan on its 10 accounts, checkable by hand.

    a1..a5: segment A, 24 calls a year of 60 min; a6..a10: segment B, 12 calls
    of 30 min.  Total calls 5·24 + 5·12 = 180; call hours 5·24·1 + 5·12·0.5 =
    150; with 20 travel minutes per call 150 + 180·20/60 = 210 h, i.e. 2.1
    reps of 100 h → 3 reps (2 without travel: 1.5 → 2).
    """
    acc = toy_grid_3x3.accounts.copy()
    a_seg = acc.index.isin([f"a{k}" for k in range(1, 6)])
    acc["segment"] = np.where(a_seg, "A", "B")
    acc["calls_per_year"] = np.where(a_seg, 24.0, 12.0)
    acc["call_minutes"] = np.where(a_seg, 60.0, 30.0)
    return toy_grid_3x3.replace(accounts=acc)


@pytest.fixture
def toy_forecast(toy_grid_3x3):
    """A 2-month forecast of the 9 grid units with 400 draws, built by hand.

    Every unit sells N(100, 10²) a month independently, so a territory of
    ``u`` units has horizon total mean 200·u; R1 has 5 units (mean 1000).
    """
    rng = np.random.default_rng(0)
    units = [f"u{k}" for k in range(1, 10)]
    periods = pd.period_range("2025-01", "2025-02", freq="M").astype(str)
    draws = xr.DataArray(
        rng.normal(100.0, 10.0, size=(400, 9, 2)),
        dims=("draw", "series", "period"),
        coords={"draw": np.arange(400), "series": units, "period": periods},
    )
    history = xr.DataArray(
        np.full((9, 3), 100.0),
        dims=("series", "period"),
        coords={"series": units, "period": ["2024-10", "2024-11", "2024-12"]},
    )
    series_unit = pd.Series(units, index=pd.Index(units, name="series"))
    return SalesForecast(draws, history, series_unit)


# -- the Feedback object ------------------------------------------------------------
def test_feedback_is_truthy_only_when_right(toy_grid_3x3):
    right = teaching.check_mean_workload(toy_grid_3x3, 225.0)
    wrong = teaching.check_mean_workload(toy_grid_3x3, 1.0)
    assert right and not wrong
    assert str(right).startswith("[mean workload] correct")
    assert repr(wrong) == str(wrong)


@pytest.mark.parametrize(
    ("check", "args"),
    [
        (teaching.check_mean_workload, ()),
        (teaching.check_max_rel_dev, ()),
        (teaching.check_most_loaded, ()),
        (teaching.check_tightest_band, ()),
    ],
)
def test_none_means_not_answered_and_never_raises(toy_grid_3x3, check, args):
    fb = check(toy_grid_3x3, None, *args)
    assert not fb
    assert not fb.answered
    assert "not answered yet: replace None with" in fb.message


def test_non_numbers_get_a_hint_not_an_exception(toy_grid_3x3):
    fb = teaching.check_mean_workload(toy_grid_3x3, "lots")
    assert not fb and fb.answered
    assert "expected one number" in fb.message
    fb = teaching.check_mean_workload(toy_grid_3x3, [1.0, 2.0])
    assert "expected one number" in fb.message


# -- lesson 1 ----------------------------------------------------------------------
def test_mean_workload(toy_grid_3x3):
    """R1 190 h, R2 260 h: mean 225 h."""
    assert teaching.check_mean_workload(toy_grid_3x3, 225.0)
    assert teaching.check_mean_workload(toy_grid_3x3, np.float64(225.5))  # within 1 %
    assert teaching.check_mean_workload(toy_grid_3x3, pd.Series([225.0]))
    total = teaching.check_mean_workload(toy_grid_3x3, 450.0)
    assert not total and "total workload" in total.message
    per_unit = teaching.check_mean_workload(toy_grid_3x3, 50.0)
    assert not per_unit and "mean per unit" in per_unit.message
    other = teaching.check_mean_workload(toy_grid_3x3, 300.0)
    assert "expected 225.0 (hours per year per territory" in other.message


def test_max_rel_dev(toy_grid_3x3):
    """|190/225 − 1| = |260/225 − 1| = 35/225 = 0.1556."""
    assert teaching.check_max_rel_dev(toy_grid_3x3, 35 / 225)
    pct = teaching.check_max_rel_dev(toy_grid_3x3, 100 * 35 / 225)
    assert not pct and "fraction, not a percentage" in pct.message
    hours = teaching.check_max_rel_dev(toy_grid_3x3, 35.0)
    assert not hours and "in hours" in hours.message


def test_most_loaded(toy_grid_3x3):
    assert teaching.check_most_loaded(toy_grid_3x3, "R2")
    light = teaching.check_most_loaded(toy_grid_3x3, "R1")
    assert not light and "lightest" in light.message
    unknown = teaching.check_most_loaded(toy_grid_3x3, "R9")
    assert not unknown and "not a territory id" in unknown.message


# -- lesson 2 ----------------------------------------------------------------------
def test_total_calls(toy_calls):
    assert teaching.check_total_calls(toy_calls, 180)
    mean = teaching.check_total_calls(toy_calls, 18)
    assert not mean and "mean per account" in mean.message
    monthly = teaching.check_total_calls(toy_calls, 15)
    assert not monthly and "per month" in monthly.message


def test_call_hours(toy_calls):
    assert teaching.check_call_hours(toy_calls, 150.0)
    minutes = teaching.check_call_hours(toy_calls, 9_000.0)
    assert not minutes and "in minutes" in minutes.message
    # 180 calls × mean 45 min / 60 = 135 h: forgot that call lengths differ
    avg = teaching.check_call_hours(toy_calls, 135.0)
    assert not avg and "own call_minutes" in avg.message


def test_reps_needed(toy_calls):
    """210 h of work ÷ 100 h per rep = 2.1 reps → hire 3."""
    kw = {"travel_minutes": 20.0, "hours_per_rep": 100.0}
    right = teaching.check_reps_needed(toy_calls, 3, **kw)
    assert right and "2.10 full-time reps of work -> hire 3" in right.message
    frac = teaching.check_reps_needed(toy_calls, 2.1, **kw)
    assert not frac and "round up" in frac.message
    down = teaching.check_reps_needed(toy_calls, 2, **kw)
    assert not down and "rounding down" in down.message
    no_travel = teaching.check_reps_needed(toy_calls, 1.5, **kw)
    assert not no_travel and "left out travel" in no_travel.message
    far = teaching.check_reps_needed(toy_calls, 7, **kw)
    assert not far and "expected 3 reps" in far.message
    assert not teaching.check_reps_needed(toy_calls, None, **kw).answered


# -- lesson 3 ----------------------------------------------------------------------
def test_tightest_band(toy_grid_3x3):
    """9 territories: mean 50 h, heaviest unit 90 h → τ ≥ 0.8; 2 territories → 0."""
    assert teaching.check_tightest_band(toy_grid_3x3, 0.8, n_territories=9)
    ratio = teaching.check_tightest_band(toy_grid_3x3, 1.8, n_territories=9)
    assert not ratio and "minus 1" in ratio.message
    assert teaching.check_tightest_band(toy_grid_3x3, 0.0)


def test_gap():
    """objective 120, bound 90: gap 30/120 = 0.25."""
    res = types.SimpleNamespace(objective=120.0, lower_bound=90.0)
    assert teaching.check_gap(res, 0.25)
    pct = teaching.check_gap(res, 25.0)
    assert not pct and "not a percentage" in pct.message
    by_bound = teaching.check_gap(res, 30 / 90)
    assert not by_bound and "not by the bound" in by_bound.message
    absolute = teaching.check_gap(res, 30.0)
    assert not absolute and "absolute gap" in absolute.message
    nobound = types.SimpleNamespace(objective=120.0, lower_bound=-np.inf)
    assert "no lower bound" in teaching.check_gap(nobound, 0.1).message


def test_contiguous_count(toy_grid_3x3):
    assert teaching.check_contiguous_count(toy_grid_3x3, 2, "current")
    # R1 = {u1, u9}: two opposite corners, 2 pieces; R2 = the other 7: 1 piece
    split = Alignment.from_mapping(
        {f"u{k}": "R1" if k in (1, 9) else "R2" for k in range(1, 10)}, name="split"
    )
    right = teaching.check_contiguous_count(toy_grid_3x3, 1, split)
    assert right and "1 of 2 are contiguous" in right.message
    pieces = teaching.check_contiguous_count(toy_grid_3x3, 3, split)
    assert not pieces and "total number of pieces" in pieces.message
    fb = teaching.check_contiguous_count(toy_grid_3x3, 99, split)
    assert not fb and "99 cannot be a count of the 2 territories" in fb.message


def test_contiguous_count_names_the_typical_wrong_answers(toy_grid_3x3):
    """The count of split territories (or of all territories) got 'expected a
    count between 0 and 3', although it is between 0 and 3."""
    from terrakit.metrics import contiguity

    # R1 = {u1, u9} and R2 = {u3, u7}: opposite corners, 2 pieces each; R3 = the
    # plus-shaped rest, 1 piece
    two = {"u1": "R1", "u9": "R1", "u3": "R2", "u7": "R2"}
    al = Alignment.from_mapping(
        {f"u{k}": two.get(f"u{k}", "R3") for k in range(1, 10)}, name="split"
    )
    assert contiguity(toy_grid_3x3.units, al).to_dict() == {"R1": 2, "R2": 2, "R3": 1}
    assert teaching.check_contiguous_count(toy_grid_3x3, np.int64(1), al)
    for answer, hint in [
        (3, "that is the number of territories; count only those in one piece"),
        (5, "that is the total number of pieces"),
        (2, "that is the number of territories in more than one piece"),
        (0, "0 is not the number of territories in one piece"),
        (-1, "-1 cannot be a count of the 3 territories"),
        (1.5, "1.5 cannot be a count of the 3 territories"),
        ("one", "expected one number (a count of territories), got str"),
    ]:
        fb = teaching.check_contiguous_count(toy_grid_3x3, answer, al)
        assert not fb and fb.answered, answer
        assert hint in fb.message, (answer, fb.message)
        assert "between 0 and" not in fb.message


# -- lesson 4 ----------------------------------------------------------------------
def test_territory_mean(toy_grid_3x3, toy_forecast):
    al = toy_grid_3x3.alignments["current"]
    exact = float(
        toy_forecast.by(al).draws.sum("period").sel(territory="R1").mean().item()
    )
    assert abs(exact - 1000.0) < 15
    assert teaching.check_territory_mean(toy_forecast, al, "R1", exact)
    monthly = teaching.check_territory_mean(toy_forecast, al, "R1", exact / 2)
    assert not monthly and "per month" in monthly.message


def test_territory_interval(toy_grid_3x3, toy_forecast):
    """Summed draws: sd √10·10 ≈ 31.6 for R1; summed unit intervals are ~√10 wider."""
    al = toy_grid_3x3.alignments["current"]
    tot = toy_forecast.by(al).draws.sum("period").sel(territory="R1").to_numpy()
    lo, hi = np.quantile(tot, [0.1, 0.9])
    right = teaching.check_territory_interval(toy_forecast, al, "R1", (lo, hi))
    assert right and right.message.startswith("correct")
    per_unit = toy_forecast.draws.sum("period").sel(
        series=["u1", "u2", "u4", "u5", "u7"]
    )
    q = np.quantile(per_unit.to_numpy(), [0.1, 0.9], axis=0).sum(axis=1)
    summed = teaching.check_territory_interval(toy_forecast, al, "R1", tuple(q))
    assert not summed and "sums of quantiles are too wide" in summed.message
    bad = teaching.check_territory_interval(toy_forecast, al, "R1", 5.0)
    assert not bad and "expected a pair" in bad.message
    assert not teaching.check_territory_interval(toy_forecast, al, "R1", None).answered


def test_territory_interval_tells_summed_unit_ends_at_a_realistic_level(toy_grid_3x3):
    """At sales levels like the sample's, the summed unit ends are only ~1.5 %
    from the right ones: a tolerance relative to the level called them
    correct (lesson 4 promises to catch them)."""
    rng = np.random.default_rng(1)
    units = [f"u{k}" for k in range(1, 10)]
    draws = xr.DataArray(
        rng.normal(10_000.0, 300.0, size=(2000, 9, 2)),
        dims=("draw", "series", "period"),
        coords={"draw": np.arange(2000), "series": units, "period": ["a", "b"]},
    )
    history = xr.DataArray(
        np.full((9, 1), 10_000.0),
        dims=("series", "period"),
        coords={"series": units, "period": ["z"]},
    )
    f = SalesForecast(draws, history, pd.Series(units, index=pd.Index(units)))
    al = toy_grid_3x3.alignments["current"]
    tot = draws.sum("period").sel(series=["u1", "u2", "u4", "u5", "u7"]).sum("series")
    lo, hi = np.quantile(tot.to_numpy(), [0.1, 0.9])
    per_unit = draws.sum("period").sel(series=["u1", "u2", "u4", "u5", "u7"])
    q = np.quantile(per_unit.to_numpy(), [0.1, 0.9], axis=0).sum(axis=1)
    assert abs(q[0] / lo - 1) < 0.02 and abs(q[1] / hi - 1) < 0.02  # near, relatively
    summed = teaching.check_territory_interval(f, al, "R1", tuple(q))
    assert not summed and "sums of quantiles are too wide" in summed.message
    assert teaching.check_territory_interval(f, al, "R1", (lo, hi))


# -- answers and arguments of the wrong kind ------------------------------------------
def test_most_loaded_takes_a_one_element_answer_and_explains_a_column(toy_grid_3x3):
    """A whole workload column was echoed back as 'is not a territory id';
    ['R2'] (a one-row selection) was refused."""
    from terrakit.metrics import territory_kpis

    wl = territory_kpis(toy_grid_3x3, "current")["workload"]
    assert teaching.check_most_loaded(toy_grid_3x3, ["R2"])
    assert teaching.check_most_loaded(toy_grid_3x3, wl.index[wl == wl.max()])
    col = teaching.check_most_loaded(toy_grid_3x3, wl)
    assert not col and col.answered
    assert "expected one territory id such as 'R1', got a Series of 2 rows" in (
        col.message
    )
    assert ".idxmax()" in col.message


def test_most_loaded_takes_a_0d_array_and_a_one_row_table(toy_grid_3x3):
    """np.array('R2') raised TypeError (iteration over a 0-d array); a one-row
    DataFrame (nlargest(1)) was 'a DataFrame of 11 values' (its columns)."""
    from terrakit.metrics import territory_kpis

    k = territory_kpis(toy_grid_3x3, "current")
    assert teaching.check_most_loaded(toy_grid_3x3, np.array(k["workload"].idxmax()))
    assert teaching.check_most_loaded(toy_grid_3x3, k.nlargest(1, "workload"))
    assert teaching.check_most_loaded(toy_grid_3x3, k["workload"].nlargest(1))
    assert teaching.check_most_loaded(toy_grid_3x3, pd.Series(["R2"]))
    assert teaching.check_most_loaded(toy_grid_3x3, [np.array("R2")])
    light = teaching.check_most_loaded(toy_grid_3x3, k.nsmallest(1, "workload"))
    assert not light and "lightest territory" in light.message
    table = teaching.check_most_loaded(toy_grid_3x3, k)
    assert not table and "got a DataFrame of 2 rows" in table.message
    for odd in (np.array(["R1", "R2"]), np.array(3.0), object(), {"R2": 1}):
        fb = teaching.check_most_loaded(toy_grid_3x3, odd)  # never raises
        assert not fb or odd == {"R2": 1}


def test_gap_of_something_that_is_not_a_design_result_is_feedback(toy_grid_3x3):
    """Was an AttributeError: 'Alignment' object has no attribute 'objective'."""
    fb = teaching.check_gap(toy_grid_3x3.alignments["current"], 0.1)
    assert not fb
    assert fb.message.startswith(
        "not quite: check_gap needs the design result (res = tk.design.align(...))"
    )
    assert fb.message.endswith("got Alignment")


def test_teacher_arguments_are_named(toy_grid_3x3):
    """check_contiguous_count(..., "nope") was a bare KeyError('nope');
    activity="wrkload" a bare KeyError; n_territories=0 silently meant 'one per
    rep'."""
    from terrakit.exceptions import DataValidationError, SpecificationError

    with pytest.raises(KeyError, match="no alignment named 'nope'; the study has"):
        teaching.check_contiguous_count(toy_grid_3x3, 2, "nope")
    with pytest.raises(
        DataValidationError, match="measure 'wrkload' is not a column of the units"
    ):
        teaching.check_tightest_band(toy_grid_3x3, 0.1, activity="wrkload")
    with pytest.raises(
        SpecificationError, match="n_territories must be a whole number >= 1, got 0"
    ):
        teaching.check_tightest_band(toy_grid_3x3, 0.1, n_territories=0)

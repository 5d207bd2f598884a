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
    assert "300.0 is clearly too high (hours per year per territory; answers" in (
        other.message
    )


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
    assert not far and "7 reps is far too many (hours = calls" in far.message
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


def test_tightest_band_names_the_reps_instead_of_the_territories(toy_grid_3x3):
    """With 9 territories the mean is 450 / 9 = 50 h and τ = 90 / 50 − 1 = 0.8;
    dividing by the 2 reps instead gives 90 / 225 − 1 = −0.6 (or 0 when
    clipped): that mistake was only told 'too low by roughly 1'."""
    fb = teaching.check_tightest_band(toy_grid_3x3, 90 / 225 - 1, n_territories=9)
    assert not fb
    assert fb.message == (
        "not quite: that is the band for the 2 reps' territories; this exercise "
        "asks for 9 territories: the mean is the total / 9"
    )
    clipped = teaching.check_tightest_band(toy_grid_3x3, 0, n_territories=9)
    assert clipped.message == fb.message
    # with the reps' territories 0 is the right answer, −0.6 a negative band
    assert teaching.check_tightest_band(toy_grid_3x3, 0)


@pytest.mark.parametrize(("answer", "k"), [(-0.6, 2), (-0.8, 9), (-0.1, 9)])
def test_tightest_band_explains_a_negative_band(toy_grid_3x3, answer, k):
    """A negative τ was 'too low by roughly 0.9' (or 'right size, wrong sign')."""
    fb = teaching.check_tightest_band(toy_grid_3x3, answer, n_territories=k)
    assert not fb and fb.answered
    assert fb.message == (
        "not quite: a band cannot be negative: ±τ lets a territory be up to τ × "
        "the mean above or below the mean, so τ is 0 or more (a heaviest unit "
        "lighter than the mean forces no band)"
    )


def test_tightest_band_is_called_a_necessary_limit_not_the_tightest_band():
    """The docstring called max_unit / m − 1 'the tightest band that whole
    units allow'; contiguity can require more (align proves ±4 % impossible on
    the sample where the formula gives 0)."""
    doc = teaching.check_tightest_band.__doc__
    assert doc.startswith(
        "A lower limit τ on the ``±τ`` balance band: no band narrower than τ can hold."
    )
    assert "necessary condition" in doc
    assert "contiguity and whole units can require more" in doc


def test_hints_give_a_direction_and_a_size_class_never_a_number(toy_grid_3x3):
    """'0.300 is too low by roughly 0.09, about 20 %': adding the hinted
    difference to the wrong answer passed the 1 % tolerance (10 % of wrong
    answers after one retry, 63 % after two).  Now the hint is one of six
    phrases: nothing to add."""
    import re

    # mean workload 225 h: 230 is 2 % off, 300 is 33 %, 500 is 122 %
    for answer, said in [
        (230.0, "230.0 is a little too high"),
        (200.0, "200.0 is clearly too low"),
        (300.0, "300.0 is clearly too high"),
        (500.0, "500.0 is far too high"),
        (100.0, "100.0 is far too low"),
    ]:
        fb = teaching.check_mean_workload(toy_grid_3x3, answer)
        assert fb.message == (
            f"not quite: {said} (hours per year per territory; answers within "
            "1 % count)"
        )
    # τ = 0.8 with 9 territories: every wrong answer's hint is one of the six
    # phrases, so no retry computed from the hint can land on 0.8
    phrases = set()
    for answer in np.linspace(0.0, 2.5, 251):
        fb = teaching.check_tightest_band(toy_grid_3x3, answer, n_territories=9)
        if fb or not fb.message.startswith(f"not quite: {answer:.3f} is "):
            continue
        rest = fb.message.removeprefix(f"not quite: {answer:.3f} is ")
        said = rest.split(" (")[0]
        phrases.add(said)
        assert not re.search(r"\d", said), fb.message
        assert "roughly" not in fb.message
    assert phrases == {
        f"{size} too {way}"
        for size in ("a little", "clearly", "far")
        for way in ("high", "low")
    }


def test_gap_takes_the_gap_as_printed_and_rounded():
    """The notebook's result: gap 0.04117, printed 'gap 4.1%'.  0.04 ('4 %')
    was 'too low by roughly 0.001'; 4 (a rounded percentage) was 'too high by
    roughly 4, about 10,000 %' instead of 'give a fraction'."""
    from decimal import Decimal
    from fractions import Fraction

    res = types.SimpleNamespace(objective=68_269_387.37, lower_bound=65_458_815.41)
    g = (res.objective - res.lower_bound) / res.objective
    for answer in (
        g,
        round(g, 3),
        round(g, 2),
        0.04,
        "0.0412",
        np.float32(g),
        pd.Series([g]),
        [g],
        Fraction(g),
        Decimal(str(round(g, 4))),
        1 - res.lower_bound / res.objective,
    ):
        fb = teaching.check_gap(res, answer)
        assert fb, (answer, fb.message)
        assert fb.message == "correct: 0.0412 (a fraction, e.g. 0.12 for 12 %)"
    for pct in (4, 4.1, 4.12, 100 * g):
        fb = teaching.check_gap(res, pct)
        assert fb.message == "not quite: give a fraction, not a percentage", pct
    # by the bound: 0.04294, 0.0018 away: a hint, not 'correct'
    by_bound = (res.objective - res.lower_bound) / res.lower_bound
    for answer in (by_bound, round(by_bound, 3)):
        fb = teaching.check_gap(res, answer)
        assert fb.message == (
            "not quite: divide by the objective (the plan you have), not by the bound"
        )
    far = teaching.check_gap(res, 0.045)
    assert far.message == (
        "not quite: 0.0450 is a little too high (a fraction, e.g. 0.12 for 12 %; "
        "answers within 1 % or 0.0015 count)"
    )


def test_gap_names_the_bound_even_within_the_tolerance():
    """At a 1 % gap dividing by the bound is only 0.0001 away: within the
    absolute tolerance, but the exact value of the wrong formula is named."""
    res = types.SimpleNamespace(objective=100.0, lower_bound=99.0)
    assert teaching.check_gap(res, 0.01)
    assert teaching.check_gap(res, 0.011)  # the printed 1.0 % ± rounding
    fb = teaching.check_gap(res, 1 / 99)
    assert not fb and "not by the bound" in fb.message


def test_contiguous_count_hint_does_not_give_the_code(toy_grid_3x3):
    """The generic hint ended with the solution, 'int((pieces == 1).sum())'."""
    two = {"u1": "R1", "u9": "R1", "u3": "R2", "u7": "R2"}
    al = Alignment.from_mapping(
        {f"u{k}": two.get(f"u{k}", "R3") for k in range(1, 10)}, name="split"
    )
    fb = teaching.check_contiguous_count(toy_grid_3x3, 0, al)
    assert fb.message == (
        "not quite: 0 is not the number of territories in one piece; "
        "tk.metrics.contiguity gives the number of pieces of each territory: "
        "count the territories that have exactly one"
    )
    assert ".sum()" not in fb.message


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


def test_territory_interval_takes_every_standard_quantile_definition(toy_grid_3x3):
    """With 100-200 draws the quantile definitions (weibull = Excel PERCENTILE.EXC,
    sort(t)[int(p * n)], lower/higher) differ by more than 2 % of the width:
    right intervals were rejected; the summed unit ends must still be told."""
    rng = np.random.default_rng(3)
    units = [f"u{k}" for k in range(1, 10)]
    draws = xr.DataArray(
        rng.gamma(4.0, 2_500.0, size=(100, 9, 12)),
        dims=("draw", "series", "period"),
        coords={"draw": np.arange(100), "series": units, "period": np.arange(12)},
    )
    history = xr.DataArray(
        np.full((9, 1), 10_000.0),
        dims=("series", "period"),
        coords={"series": units, "period": [-1]},
    )
    f = SalesForecast(draws, history, pd.Series(units, index=pd.Index(units)))
    al = toy_grid_3x3.alignments["current"]
    t = f.by(al).draws.sum("period").sel(territory="R1").to_numpy().astype(float)
    s, n = np.sort(t), len(t)
    lo, hi = np.quantile(t, [0.1, 0.9])
    answers = {
        "weibull": tuple(np.quantile(t, [0.1, 0.9], method="weibull")),
        "order statistics": (s[int(0.1 * n)], s[int(0.9 * n)]),
        "lower/higher": (
            np.quantile(t, 0.1, method="lower"),
            np.quantile(t, 0.9, method="higher"),
        ),
        "nearest": tuple(np.quantile(t, [0.1, 0.9], method="nearest")),
    }
    # the test is only a test if some definition is off by more than 2 % of the width
    assert max(max(abs(a - lo), abs(b - hi)) for a, b in answers.values()) > 0.02 * (
        hi - lo
    )
    for name, answer in answers.items():
        fb = teaching.check_territory_interval(f, al, "R1", answer)
        assert fb, (name, fb.message)
    per_unit = draws.sum("period").sel(series=["u1", "u2", "u4", "u5", "u7"])
    q = np.quantile(per_unit.to_numpy(), [0.1, 0.9], axis=0).sum(axis=1)
    summed = teaching.check_territory_interval(f, al, "R1", tuple(q))
    assert not summed and "sums of quantiles are too wide" in summed.message


def test_territory_interval_tells_every_way_of_summing_interval_ends(
    toy_grid_3x3, toy_forecast
):
    """The lesson says the check recognises summed county intervals; summing
    the monthly lo80/hi80 of to_frame() (counties or the territory) was
    answered 'expected about ...'."""
    al = toy_grid_3x3.alignments["current"]
    r1 = ["u1", "u2", "u4", "u5", "u7"]
    fr = toy_forecast.to_frame()
    fr = fr[fr["series"].isin(r1)]
    counties = teaching.check_territory_interval(
        toy_forecast, al, "R1", (fr["lo80"].sum(), fr["hi80"].sum())
    )
    assert not counties and "sums of quantiles are too wide" in counties.message
    assert "units' monthly interval ends" in counties.message
    tfr = toy_forecast.by(al).to_frame().query("territory_id == 'R1'")
    months = teaching.check_territory_interval(
        toy_forecast, al, "R1", (tfr["lo80"].sum(), tfr["hi80"].sum())
    )
    assert not months and "sums of quantiles are too wide" in months.message
    assert "territory's monthly interval ends" in months.message


def test_territory_interval_does_not_give_the_answer_away(toy_grid_3x3, toy_forecast):
    """A wrong pair was told 'expected about 960 – 1,041': the answer itself."""
    al = toy_grid_3x3.alignments["current"]
    tot = toy_forecast.by(al).draws.sum("period").sel(territory="R1").to_numpy()
    lo, hi = np.quantile(tot, [0.1, 0.9])
    fb = teaching.check_territory_interval(toy_forecast, al, "R1", (lo, hi + 300))
    assert not fb
    assert "lo is right; hi is clearly too high (the 80% interval" in fb.message
    assert f"{hi:,.0f}" not in fb.message and f"{lo:,.0f}" not in fb.message
    fb = teaching.check_territory_interval(toy_forecast, al, "R1", (0, 1))
    assert "lo is far too low; hi is far too low (the 80% interval" in fb.message


def test_territory_mean_takes_only_the_mean(toy_grid_3x3, toy_forecast):
    """The tolerance was 1 % of the level (sd of R1's total: ~3 %): a single
    draw or a 45 % / 60 % quantile passed as the mean."""
    al = toy_grid_3x3.alignments["current"]
    t = toy_forecast.by(al).draws.sum("period").sel(territory="R1").to_numpy()
    t = t.astype(float)
    m = t.mean()
    se = t.std(ddof=1) / np.sqrt(len(t))
    assert teaching.check_territory_mean(toy_forecast, al, "R1", round(m))
    assert teaching.check_territory_mean(toy_forecast, al, "R1", np.float32(m))
    # answers within 1 % of the mean but several standard errors away
    near = t[(np.abs(t - m) > 3 * se) & (np.abs(t - m) < 0.009 * m)]
    assert len(near) > 20
    for wrong in [*near[:20], *np.quantile(t, [0.4, 0.6])]:
        assert abs(wrong - m) < 0.01 * m
        fb = teaching.check_territory_mean(toy_forecast, al, "R1", wrong)
        assert not fb, (wrong, m, fb.message)
        assert "too high" in fb.message or "too low" in fb.message
        assert f"{m:,.0f}" not in fb.message


def test_unrecognised_answers_get_a_direction_not_the_answer(toy_grid_3x3, toy_calls):
    """'you gave 0.0, expected 225.0' handed over the answer; common mistakes
    (a forgotten .abs(), deviation in hours, travel in 2.2, travel once per
    account in 2.3) had no hint."""
    zero = teaching.check_mean_workload(toy_grid_3x3, 0)
    assert not zero and "0.0 is far too low (hours per year" in zero.message
    assert "225" not in zero.message
    # R1 190 h, R2 260 h, mean 225: (x / mean - 1).min() = -35/225
    neg = teaching.check_max_rel_dev(toy_grid_3x3, -35 / 225)
    assert not neg and ".abs()" in neg.message
    kw = {"travel_minutes": 20.0, "hours_per_rep": 100.0}
    # 150 call hours + 180 calls × 20 min = 210 h
    travel = teaching.check_call_hours(toy_calls, 210.0)
    assert not travel and "includes 20 minutes of travel per call" in travel.message
    # travel once per account: 150 + 10 × 20 / 60 = 153.3 h → 1.53 → 2 reps
    once = teaching.check_reps_needed(toy_calls, 1.5333, **kw)
    assert not once and "once per account" in once.message
    zero_reps = teaching.check_reps_needed(toy_calls, 0, **kw)
    assert not zero_reps and "0 reps is far too few (hours" in zero_reps.message
    assert "expected" not in zero_reps.message


def test_max_rel_dev_names_an_absolute_deviation_below_the_mean(toy_grid_3x3):
    """max |x − mean| in hours got 'you gave 140, expected 0.933' when the
    lightest territory is the farthest (max − mean only named the heaviest)."""
    # R1 = {u1}: 10 h; R2 = {u2, u3, u8, u9}: 220 h; R3 = the rest: 220 h; mean 150
    terr = {"u1": "R1", "u2": "R2", "u3": "R2", "u8": "R2", "u9": "R2"}
    al = Alignment.from_mapping(
        {f"u{k}": terr.get(f"u{k}", "R3") for k in range(1, 10)}, name="light"
    )
    assert teaching.check_max_rel_dev(toy_grid_3x3, 140 / 150, al)
    hours = teaching.check_max_rel_dev(toy_grid_3x3, 140.0, al)
    assert not hours and "largest deviation in hours" in hours.message
    neg = teaching.check_max_rel_dev(toy_grid_3x3, -140 / 150, al)
    assert not neg and ".abs()" in neg.message


def test_reps_needed_takes_a_float_a_hair_off_the_whole_number(toy_calls):
    """18.0000005 (per-segment reps added up) got 'you gave 18; expected 18'."""
    kw = {"travel_minutes": 20.0, "hours_per_rep": 100.0}
    assert teaching.check_reps_needed(toy_calls, 3 + 5e-7, **kw)
    assert teaching.check_reps_needed(toy_calls, 3 - 1e-9, **kw)
    down = teaching.check_reps_needed(toy_calls, 2 + 1e-9, **kw)
    assert not down and "rounding down" in down.message
    assert not teaching.check_reps_needed(toy_calls, 3.01, **kw)


@pytest.mark.parametrize("check", ["check_territory_mean", "check_territory_interval"])
def test_unknown_territory_lists_the_ids(toy_grid_3x3, toy_forecast, check):
    """A wrong TERRITORY was a bare xarray KeyError ('not all values found in
    index')."""
    al = toy_grid_3x3.alignments["current"]
    with pytest.raises(
        KeyError,
        match=r"no territory 'r1' in alignment 'current' \(did you mean 'R1'\?\); "
        r"its 2 territories are \['R1', 'R2'\]",
    ):
        getattr(teaching, check)(toy_forecast, al, "r1", (1.0, 2.0))


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


def test_most_loaded_names_an_account_or_unit_id(toy_grid_3x3):
    """``accounts['workload'].idxmax()`` gives an account id; it was called
    'not a territory id' with no word on what went wrong."""
    acc = toy_grid_3x3.accounts
    heaviest = acc["workload"].idxmax() if "workload" in acc else acc.index[0]
    got = teaching.check_most_loaded(toy_grid_3x3, heaviest)
    assert not got
    assert got.message.startswith(
        "not quite: that is the id of one account, not of a territory: sum the "
        "accounts' workload per territory first"
    )
    unit = teaching.check_most_loaded(toy_grid_3x3, toy_grid_3x3.units.index[0])
    assert "that is the id of one unit, not of a territory" in unit.message


# -- round 11: the median, one-row tables, most accounts, wide intervals, 17.1 --------
def _normal_forecast(seed: int, mean: float, sd: float, n_draws: int = 200):
    """Toy-grid units selling N(mean, sd²) a month for 12 months, independently."""
    rng = np.random.default_rng(seed)
    units = [f"u{k}" for k in range(1, 10)]
    draws = xr.DataArray(
        rng.normal(mean, sd, size=(n_draws, 9, 12)),
        dims=("draw", "series", "period"),
        coords={"draw": np.arange(n_draws), "series": units, "period": np.arange(12)},
    )
    history = xr.DataArray(
        np.full((9, 1), mean),
        dims=("series", "period"),
        coords={"series": units, "period": [-1]},
    )
    return SalesForecast(draws, history, pd.Series(units, index=pd.Index(units)))


def test_territory_mean_names_the_median(toy_grid_3x3):
    """The median of symmetric draws lies ~0.76 standard errors from the mean,
    inside the one-standard-error tolerance: it passed as the expected sales in
    31 of 40 forecasts.  The mean rounded as printed or to thousands passes."""
    al = toy_grid_3x3.alignments["current"]
    for seed in range(10):
        f = _normal_forecast(seed, 150_000.0, 30_000.0)
        t = f.by(al).draws.sum("period").sel(territory="R1").to_numpy()
        m, med = float(t.mean()), float(np.median(t))
        for answer in (m, round(m), round(m, -3)):
            assert teaching.check_territory_mean(f, al, "R1", answer), (seed, answer)
        for answer in (med, round(med)):
            fb = teaching.check_territory_mean(f, al, "R1", answer)
            assert not fb, (seed, answer)
            assert fb.message == (
                "not quite: that is the median of the draws; the expected sales "
                "are their mean — average the summed draws (.mean())"
            )


def test_most_loaded_takes_a_reset_index_row_and_names_the_workload(toy_grid_3x3):
    """A one-row table of kpis.reset_index() was 'np.int64(1) is not a
    territory id'; wl.max() got the same about a number never typed."""
    from terrakit.metrics import territory_kpis

    flat = territory_kpis(toy_grid_3x3, "current").reset_index()
    assert teaching.check_most_loaded(toy_grid_3x3, flat.nlargest(1, "workload"))
    top = flat.sort_values("workload", ascending=False).head(1)
    assert teaching.check_most_loaded(toy_grid_3x3, top)
    wl = flat["workload"]
    value = teaching.check_most_loaded(toy_grid_3x3, wl.max())
    assert value.message == (
        "not quite: that is the workload, not the territory id; use .idxmax() "
        "(not .max()) for the id of the largest"
    )
    position = teaching.check_most_loaded(toy_grid_3x3, wl.to_numpy().argmax())
    assert position.message == (
        "not quite: that is the position of the territory in the table, not its "
        "id; use .idxmax() (not .argmax()) for the id"
    )
    other = teaching.check_most_loaded(toy_grid_3x3, np.int64(7))
    # R2 is the answer: the example ids leave it out (round 21)
    assert other.message == "not quite: 7 is not a territory id; ids look like ['R1']"


def test_most_loaded_names_the_most_accounts_and_another_alignment(toy_grid_3x3):
    """On the sample the territory with most accounts was also the most loaded,
    so 'sorted by accounts' passed; a territory with most accounts that is not
    the most loaded got only 'another territory carries more'."""
    # R1 {u1,u2,u5}: 80 h, 4 accounts; R2 {u8,u9}: 170 h; R3 {u3,u6,u7}: 160 h;
    # R4 {u4}: 40 h (the lightest)
    terr = {"u1": "R1", "u2": "R1", "u5": "R1", "u8": "R2", "u9": "R2", "u4": "R4"}
    al = Alignment.from_mapping(
        {f"u{k}": terr.get(f"u{k}", "R3") for k in range(1, 10)}, name="proposal"
    )
    assert teaching.check_most_loaded(toy_grid_3x3, "R2", al)
    acc = teaching.check_most_loaded(toy_grid_3x3, "R1", al)
    assert acc.message == (
        "not quite: that is the territory with the most accounts; accounts "
        "differ in calls and call length, so take the largest workload"
    )
    # R1 {u7,u8,u9}: 240 h; R2 {u6}: 60 h; R3 {u1,u2,u3,u5}: 110 h, 5 accounts;
    # R4 {u4}: 40 h.  "R2" is the most loaded of the study's "current"
    terr = {"u7": "R1", "u8": "R1", "u9": "R1", "u6": "R2", "u4": "R4"}
    al = Alignment.from_mapping(
        {f"u{k}": terr.get(f"u{k}", "R3") for k in range(1, 10)}, name="proposal"
    )
    assert teaching.check_most_loaded(toy_grid_3x3, "R1", al)
    stale = teaching.check_most_loaded(toy_grid_3x3, "R2", al)
    assert stale.message == (
        "not quite: that is the most loaded territory of alignment 'current'; "
        "compute the KPIs of the alignment asked ('proposal')"
    )


def test_territory_interval_tells_summed_ends_only_when_they_are_the_answer(
    toy_grid_3x3,
):
    """Units sharing a common factor: their summed 80 % ends lie within 0.01 sd
    of the normal 90 % interval mean ± 1.645 sd, which was told 'you added up
    the units' interval ends'.  It gets a generic 'too wide' instead; the
    summed ends themselves are still named."""
    rng = np.random.default_rng(0)
    units = [f"u{k}" for k in range(1, 10)]
    common = rng.normal(0.0, 100.0, size=(2000, 1, 1))
    draws = xr.DataArray(
        10_000.0 + common + rng.normal(0.0, 100.0, size=(2000, 9, 1)),
        dims=("draw", "series", "period"),
        coords={"draw": np.arange(2000), "series": units, "period": [0]},
    )
    history = xr.DataArray(
        np.full((9, 1), 10_000.0),
        dims=("series", "period"),
        coords={"series": units, "period": [-1]},
    )
    f = SalesForecast(draws, history, pd.Series(units, index=pd.Index(units)))
    al = toy_grid_3x3.alignments["current"]
    t = f.by(al).draws.sum("period").sel(territory="R1").to_numpy()
    m, sd = t.mean(), t.std(ddof=1)
    wide = teaching.check_territory_interval(
        f, al, "R1", (m - 1.645 * sd, m + 1.645 * sd)
    )
    assert not wide
    assert wide.message.startswith(
        "not quite: that interval is too wide (lo is a little too low; hi is a "
        "little too high); check the level and the quantiles — the 80% interval"
    )
    per_unit = draws.sum("period").sel(series=["u1", "u2", "u4", "u5", "u7"])
    q = np.quantile(per_unit.to_numpy(), [0.1, 0.9], axis=0).sum(axis=1)
    summed = teaching.check_territory_interval(f, al, "R1", tuple(q))
    assert not summed and "you added up the units' interval ends" in summed.message


def test_reps_needed_calls_the_workload_printed_with_one_decimal_almost(toy_calls):
    """210 h ÷ 12.3 h = 17.07 reps: 17.07 was 'almost: round up', 17.1 (the
    same number with one decimal) 'a little too few'."""
    kw = {"travel_minutes": 20.0, "hours_per_rep": 12.3}
    for answer in (210 / 12.3, 17.07, 17.1):
        fb = teaching.check_reps_needed(toy_calls, answer, **kw)
        assert fb.message == (
            "almost: 17.07 is the workload in reps; you cannot hire a fraction "
            "of a rep — round up"
        ), answer
    assert teaching.check_reps_needed(toy_calls, 18, **kw)
    far = teaching.check_reps_needed(toy_calls, 17.5, **kw)
    assert far.message.startswith("not quite: 17.5 reps is a little too few")


# -- round 15: no reps, integer ids, float counts, NaN ends, zero gaps, example ids ---
def test_tightest_band_without_reps_needs_n_territories(toy_grid_3x3):
    """A study without reps raised a bare TypeError (len(None)), even with
    n_territories given, where τ needs no reps."""
    from terrakit.exceptions import SpecificationError

    study = toy_grid_3x3.replace(reps=None)
    assert study.reps is None
    right = teaching.check_tightest_band(study, 0.8, n_territories=9)
    assert right and right.message.startswith("correct: 0.800")
    ratio = teaching.check_tightest_band(study, 1.8, n_territories=9)
    assert not ratio and "minus 1" in ratio.message
    with pytest.raises(SpecificationError) as err:
        teaching.check_tightest_band(study, 0.8)
    assert str(err.value) == (
        "check_tightest_band needs the number of territories: the study has no "
        "reps to count them by; pass n_territories=..."
    )


@pytest.mark.parametrize("first", [0, 1])
def test_most_loaded_matches_integer_ids_by_value(toy_grid_3x3, first):
    """With integer territory ids a one-row table after reset_index() came back
    as floats (2 -> 2.0), did not match the id '2' as text, and the check
    judged the row's position label 0: 'that is the lightest territory' (ids
    0, 1) or '0 is not a territory id' (ids 1, 2)."""
    from terrakit.metrics import territory_kpis

    terr = toy_grid_3x3.alignments["current"].assignment
    al = Alignment(terr.map({"R1": first, "R2": first + 1}), name="numbered")
    kpis = territory_kpis(toy_grid_3x3, al)
    assert kpis["workload"].idxmax() == first + 1  # R2, 260 h
    top = kpis[["workload"]].nlargest(1, "workload")
    answers = {
        "[['workload']].nlargest(1)": top,
        "[['workload']].nlargest(1).reset_index()": top.reset_index(),
        "nlargest(1).reset_index()": kpis.nlargest(1, "workload").reset_index(),
        "reset_index().nlargest(1)": kpis.reset_index().nlargest(1, "workload"),
        "territory_id column": kpis.reset_index().nlargest(1, "workload")[
            "territory_id"
        ],
        "pd.Series([id])": pd.Series([first + 1]),
        "float id": float(first + 1),
        "np.float64 id": np.float64(first + 1),
        "[float id]": [float(first + 1)],
    }
    for name, answer in answers.items():
        fb = teaching.check_most_loaded(toy_grid_3x3, answer, al)
        assert fb.message == f"correct: {first + 1} carries 260 h per year", name
    light = teaching.check_most_loaded(
        toy_grid_3x3, kpis.nsmallest(1, "workload").reset_index(), al
    )
    assert light.message == (
        "not quite: that is the lightest territory; look for the max"
    )


def test_contiguous_count_takes_a_float_a_hair_off_the_count(toy_grid_3x3):
    """18.000000000000004 (shares added up) was '18 cannot be a count of the
    20 territories' while 18 was right: the count was compared with ==, and
    printed with {:g}, which hid the difference."""
    # R1 = {u1, u9}, R2 = {u3, u7}: 2 pieces each; R3 = the rest, 1 piece
    two = {"u1": "R1", "u9": "R1", "u3": "R2", "u7": "R2"}
    al = Alignment.from_mapping(
        {f"u{k}": two.get(f"u{k}", "R3") for k in range(1, 10)}, name="split"
    )
    share = sum([0.1] * 10)  # 0.9999999999999999
    assert share != 1
    right = teaching.check_contiguous_count(toy_grid_3x3, share, al)
    assert right.message == "correct: 1 of 3 are contiguous"
    assert teaching.check_contiguous_count(toy_grid_3x3, 1 + 4e-16, al)
    n = teaching.check_contiguous_count(toy_grid_3x3, 0.1 * 3 * 10, al)
    assert 0.1 * 3 * 10 != 3
    assert n.message.startswith("not quite: that is the number of territories")
    for answer, said in [
        (2.00001234, "2.00001234 cannot be a count of the 3 territories"),
        (1.25, "1.25 cannot be a count of the 3 territories"),
        (-1.0, "-1 cannot be a count of the 3 territories"),
        (1e-9, "0 is not the number of territories in one piece"),
    ]:
        fb = teaching.check_contiguous_count(toy_grid_3x3, answer, al)
        assert not fb and fb.message.startswith(f"not quite: {said};"), fb.message


def test_territory_interval_refuses_a_nan_or_infinite_end(toy_grid_3x3, toy_forecast):
    """(nan, hi) was 'lo is far too low; hi is right': a missing end judged as
    a number, while every scalar check refuses NaN as not a number."""
    al = toy_grid_3x3.alignments["current"]
    t = toy_forecast.by(al).draws.sum("period").sel(territory="R1").to_numpy()
    lo, hi = (float(v) for v in np.quantile(t, [0.1, 0.9]))
    assert teaching.check_territory_interval(toy_forecast, al, "R1", (lo, hi))
    for answer, got in [
        ((np.nan, hi), f"(nan, {hi!r})"),
        ((np.float64(np.nan), np.nan), "(nan, nan)"),
        ((lo, np.inf), f"({lo!r}, inf)"),
        ([-np.inf, hi], f"(-inf, {hi!r})"),
    ]:
        fb = teaching.check_territory_interval(toy_forecast, al, "R1", answer)
        assert not fb and fb.answered
        assert fb.message == (
            f"not quite: expected a pair of finite numbers (lo, hi), got {got}"
        )


def test_gap_of_a_zero_optimum_a_blank_and_no_plan_or_bound():
    """Objective = bound = 0 (proven optimal, gap 0) was 'this result has no
    lower bound'; a blank answer got that too and counted as answered."""
    zero = types.SimpleNamespace(objective=0.0, lower_bound=0.0, status="optimal")
    assert teaching.check_gap(zero, 0.0).message == (
        "correct: 0.0000 (a fraction, e.g. 0.12 for 12 %)"
    )
    assert teaching.check_gap(zero, 0)
    far = teaching.check_gap(zero, 0.5)
    assert not far and far.message.startswith("not quite: 0.5000 is too high")
    nobound = types.SimpleNamespace(objective=120.0, lower_bound=-np.inf)
    noplan = types.SimpleNamespace(
        objective=np.inf, lower_bound=90.0, status="time_limit"
    )
    for res in (zero, nobound, noplan):
        blank = teaching.check_gap(res, None)
        assert not blank and not blank.answered
        assert blank.message == (
            "not answered yet: replace None with your answer (a fraction, e.g. "
            "0.12 for 12 %)"
        )
    assert teaching.check_gap(nobound, 0.1).message == (
        "not quite: this result has no lower bound (lower_bound -inf), so no gap "
        "can be computed"
    )
    assert teaching.check_gap(noplan, 0.1).message == (
        "not quite: this result has no plan (objective inf, status 'time_limit'), "
        "so no gap can be computed"
    )


def test_most_loaded_example_id_is_never_the_answer(toy_grid_3x3):
    """The blank text always said "such as 'R07'" and the wrong-shape hint named
    the first territory id: the answer itself when that one is the most
    loaded.  The example is the lightest territory."""
    # R1 {u7,u8,u9}: 240 h (the most loaded, and the first id); R2 {u6}: 60 h;
    # R3 {u1,u2,u3,u5}: 110 h; R4 {u4}: 40 h (the lightest)
    terr = {"u7": "R1", "u8": "R1", "u9": "R1", "u6": "R2", "u4": "R4"}
    al = Alignment.from_mapping(
        {f"u{k}": terr.get(f"u{k}", "R3") for k in range(1, 10)}, name="proposal"
    )
    blank = teaching.check_most_loaded(toy_grid_3x3, None, al)
    assert blank.message == (
        "not answered yet: replace None with your answer (a territory id such as 'R4')"
    )
    shape = teaching.check_most_loaded(toy_grid_3x3, ["R1", "R3"], al)
    assert shape.message == (
        "not quite: expected one territory id such as 'R4', got a list of 2 "
        "values; .idxmax() of the workload column gives the id of the largest"
    )
    # one territory: the lightest is the answer, so no example at all
    one = Alignment.from_mapping({f"u{k}": "T" for k in range(1, 10)}, name="one")
    blank = teaching.check_most_loaded(toy_grid_3x3, None, one)
    assert blank.message == (
        "not answered yet: replace None with your answer (a territory id)"
    )
    assert "'T'" not in teaching.check_most_loaded(toy_grid_3x3, [1, 2], one).message


def test_most_loaded_names_the_position_when_the_ids_are_1_to_k(toy_grid_3x3):
    """With territory ids 1..k the .argmax() position is itself an id, so the
    position test never ran: 'another territory carries more'."""
    from terrakit.metrics import territory_kpis

    # 1 {u4}: 40 h (the lightest); 2 {u7}: 70 h; 3 {u8,u9}: 170 h (the most
    # loaded, at position 2); 4 {u1,u2,u3,u5}: 110 h, 5 accounts (the most);
    # 5 {u6}: 60 h
    terr = {"u4": 1, "u7": 2, "u8": 3, "u9": 3, "u6": 5}
    al = Alignment.from_mapping(
        {f"u{k}": terr.get(f"u{k}", 4) for k in range(1, 10)}, name="numbered"
    )
    wl = territory_kpis(toy_grid_3x3, al)["workload"]
    assert list(wl.index) == [1, 2, 3, 4, 5]
    assert teaching.check_most_loaded(toy_grid_3x3, 3, al)
    assert teaching.check_most_loaded(toy_grid_3x3, wl.idxmax(), al)
    for position in (wl.argmax(), 2, 2.0, "2"):
        fb = teaching.check_most_loaded(toy_grid_3x3, position, al)
        assert fb.message == (
            "not quite: that is the position of the territory in the table, not "
            "its id; use .idxmax() (not .argmax()) for the id"
        )
    light = teaching.check_most_loaded(toy_grid_3x3, 1, al)
    assert (
        light.message == "not quite: that is the lightest territory; look for the max"
    )
    acc = teaching.check_most_loaded(toy_grid_3x3, 4, al)
    assert acc.message.startswith("not quite: that is the territory with the most")
    other = teaching.check_most_loaded(toy_grid_3x3, 5, al)
    assert other.message == (
        "not quite: 5 carries 60 h, but another territory carries more (sort the "
        "workload column)"
    )


# -- round 21: infeasible gaps, example ids, quantiles, tables, rows, settings -------
def test_gap_of_a_plan_that_breaks_constraints_is_no_gap():
    """A result with status 'infeasible' (summary: "gap: none (the plan breaks
    constraints)") got "correct" for (objective − bound) / objective, and for
    0 when the bound was clipped to the objective (a proven optimum)."""
    said = (
        "not quite: this plan breaks constraints (status 'infeasible'), so it has "
        "no gap; a gap measures a plan that meets every constraint"
    )
    broken = types.SimpleNamespace(
        objective=120.0, lower_bound=90.0, status="infeasible"
    )
    clipped = types.SimpleNamespace(
        objective=120.0, lower_bound=120.0, status="infeasible"
    )
    for res, answer in [(broken, 0.25), (broken, 25.0), (clipped, 0.0)]:
        fb = teaching.check_gap(res, answer)
        assert not fb and fb.answered
        assert fb.message == said
    assert not teaching.check_gap(broken, None).answered
    # the same numbers with a plan that meets the constraints have a gap
    feasible = types.SimpleNamespace(
        objective=120.0, lower_bound=90.0, status="feasible"
    )
    assert teaching.check_gap(feasible, 0.25)


def test_most_loaded_example_ids_leave_out_the_answer(toy_grid_3x3):
    """An answer that is no id got "ids look like" the first three ids, the
    answer among them when it is one of those."""
    # R1 {u7,u8,u9}: 240 h (the most loaded, and the first id); R2 {u6}: 60 h;
    # R3 {u1,u2,u3,u5}: 110 h; R4 {u4}: 40 h (the lightest)
    terr = {"u7": "R1", "u8": "R1", "u9": "R1", "u6": "R2", "u4": "R4"}
    al = Alignment.from_mapping(
        {f"u{k}": terr.get(f"u{k}", "R3") for k in range(1, 10)}, name="proposal"
    )
    for answer in ("T1", "north", 7):
        fb = teaching.check_most_loaded(toy_grid_3x3, answer, al)
        assert fb.message == (
            f"not quite: {answer!r} is not a territory id; ids look like "
            "['R4', 'R2', 'R3']"
        )
    one = Alignment.from_mapping({f"u{k}": "T" for k in range(1, 10)}, name="one")
    fb = teaching.check_most_loaded(toy_grid_3x3, "north", one)
    assert fb.message == "not quite: 'north' is not a territory id"


def test_territory_interval_hint_names_the_quantiles_of_the_level(
    toy_grid_3x3, toy_forecast
):
    """The hint printed the quantiles with two decimals ("0.03 and 0.97" for
    the 95 % interval) and the level rounded ("98%" for 97.5 %)."""
    al = toy_grid_3x3.alignments["current"]
    for level, pct, q in [
        (0.95, "95%", "0.025 and 0.975"),
        (0.99, "99%", "0.005 and 0.995"),
        (0.975, "97.5%", "0.0125 and 0.9875"),
        (0.8, "80%", "0.1 and 0.9"),
    ]:
        fb = teaching.check_territory_interval(
            toy_forecast, al, "R1", (0.0, 1.0), level=level
        )
        assert fb.message == (
            "not quite: lo is far too low; hi is far too low (the "
            f"{pct} interval of the horizon total: quantiles {q} of the "
            "territory's draws summed over the months)"
        )
        blank = teaching.check_territory_interval(
            toy_forecast, al, "R1", None, level=level
        )
        assert blank.message.endswith(f"(a pair (lo, hi) of the {pct} interval)")


def test_territory_interval_takes_a_table_of_two_cells(toy_grid_3x3, toy_forecast):
    """A one-row table (total().loc[[id], ["lo80", "hi80"]]) or a one-column
    one (.quantile([0.1, 0.9])) was refused with its repr cut off: the check
    iterated over the column names."""
    al = toy_grid_3x3.alignments["current"]
    tf = toy_forecast.by(al)
    t = tf.draws.sum("period").sel(territory="R1").to_numpy()
    lo, hi = (float(v) for v in np.quantile(t, [0.1, 0.9]))
    right = f"correct: {lo:,.0f} – {hi:,.0f}"
    answers = {
        "1x2 of total()": tf.total().loc[["R1"], ["lo80", "hi80"]],
        "1x2": pd.DataFrame([[lo, hi]], index=["R1"], columns=["lo80", "hi80"]),
        "2x1 quantile": pd.DataFrame({"R1": t}).quantile([0.1, 0.9]),
        "2x1 array": np.array([[lo], [hi]]),
    }
    for name, answer in answers.items():
        fb = teaching.check_territory_interval(toy_forecast, al, "R1", answer)
        assert fb.message == right, name
    four = pd.DataFrame([[lo, hi], [lo, hi]], columns=["lo80", "hi80"])
    fb = teaching.check_territory_interval(toy_forecast, al, "R1", four)
    assert fb.message == (
        "not quite: expected a pair (lo, hi), got a DataFrame of 2 rows and 2 columns"
    )


def test_most_loaded_takes_the_territory_row(toy_grid_3x3):
    """kpis.sort_values(...).iloc[0], the most loaded territory's row, was "a
    Series of 11 rows" (its KPI columns); a row of one column was "the
    workload, not the territory id"."""
    from terrakit.metrics import territory_kpis

    kpis = territory_kpis(toy_grid_3x3, "current")
    by_load = kpis.sort_values("workload", ascending=False)
    right = "correct: R2 carries 260 h per year"
    for answer in (by_load.iloc[0], kpis.loc["R2"], kpis[["workload"]].loc["R2"]):
        assert teaching.check_most_loaded(toy_grid_3x3, answer).message == right
    light = teaching.check_most_loaded(toy_grid_3x3, by_load.iloc[-1])
    assert (
        light.message == "not quite: that is the lightest territory; look for the max"
    )
    # integer ids 1, 2: a row of reset_index() is named by its position, 1
    # for R2's row, which is the id of the lightest; its territory_id cell wins
    terr = toy_grid_3x3.alignments["current"].assignment
    al = Alignment(terr.map({"R1": 1, "R2": 2}), name="numbered")
    flat = territory_kpis(toy_grid_3x3, al).reset_index()
    row = flat.sort_values("workload", ascending=False).iloc[0]
    assert row.name == 1 and row["territory_id"] == 2
    fb = teaching.check_most_loaded(toy_grid_3x3, row, al)
    assert fb.message == "correct: 2 carries 260 h per year"


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (
            lambda s, f, al: teaching.check_territory_interval(
                f, al, "R1", None, level=80
            ),
            "level must be a fraction between 0 and 1 (0.8 for the 80 % interval), "
            "got 80; did you mean level=0.80?",
        ),
        (
            lambda s, f, al: teaching.check_territory_interval(
                f, al, "R1", (1.0, 2.0), level=1.0
            ),
            "level must be a fraction between 0 and 1 (0.8 for the 80 % interval), "
            "got 1.0",
        ),
        (
            lambda s, f, al: teaching.check_territory_interval(
                f, al, "R1", (1.0, 2.0), level="0.8"
            ),
            "level must be a fraction between 0 and 1 (0.8 for the 80 % interval), "
            "got '0.8' (str)",
        ),
        (
            lambda s, f, al: teaching.check_reps_needed(s, 3, travel_minutes="model"),
            "travel_minutes must be a number of minutes >= 0, got 'model'",
        ),
        (
            lambda s, f, al: teaching.check_call_hours(s, 150, travel_minutes=None),
            "travel_minutes must be a number of minutes >= 0, got None",
        ),
        (
            lambda s, f, al: teaching.check_call_hours(s, 150, travel_minutes=-5),
            "travel_minutes must be >= 0, got -5",
        ),
        (
            lambda s, f, al: teaching.check_mean_workload(s, 225.0, rtol=-0.01),
            "rtol must be a number >= 0, got -0.01; it is a relative tolerance: "
            "0.01 lets answers within 1 % of the expected value pass",
        ),
        (
            lambda s, f, al: teaching.check_territory_mean(
                f, al, "R1", None, rtol=None
            ),
            "rtol must be a number >= 0, got None (NoneType); it is a relative "
            "tolerance: 0.01 lets answers within 1 % of the expected value pass",
        ),
        (
            lambda s, f, al: teaching.check_gap(
                types.SimpleNamespace(objective=120.0, lower_bound=90.0), 0.25, atol=-1
            ),
            "atol must be a number >= 0, got -1; it is an absolute tolerance in "
            "the answer's own units",
        ),
    ],
)
def test_teacher_settings_are_refused_by_name(toy_calls, toy_forecast, call, said):
    """level=80 was "the 8000% interval" for a blank and numpy's bare
    "Quantiles must be in the range [0, 1]" for an answer; travel_minutes
    "model" or None bare float() errors; a negative rtol math's bare
    "tolerances must be non-negative"."""
    from terrakit.exceptions import SpecificationError

    al = toy_calls.alignments["current"]
    with pytest.raises(SpecificationError) as err:
        call(toy_calls, toy_forecast, al)
    assert str(err.value) == said


def test_a_huge_whole_number_answer_is_feedback(toy_calls, toy_forecast):
    """2**1100 (no float holds it) raised OverflowError from every check."""
    huge = 2**1100
    al = toy_calls.alignments["current"]
    res = types.SimpleNamespace(objective=120.0, lower_bound=90.0)
    for fb in (
        teaching.check_mean_workload(toy_calls, huge),
        teaching.check_total_calls(toy_calls, huge),
        teaching.check_reps_needed(toy_calls, huge),
        teaching.check_most_loaded(toy_calls, huge),
        teaching.check_contiguous_count(toy_calls, huge, "current"),
        teaching.check_gap(res, huge),
        teaching.check_territory_mean(toy_forecast, al, "R1", huge),
    ):
        assert not fb and fb.answered
    fb = teaching.check_territory_interval(toy_forecast, al, "R1", (1.0, huge))
    assert fb.message.startswith("not quite: expected a pair (lo, hi), got (1.0, 1")


def test_band_lower_limit_is_labelled_so(toy_grid_3x3):
    """Lesson 3.1's feedback read "[tightest band] correct: ..." for a lower
    limit that the lesson calls a necessary condition only."""
    for answer in (None, 0.8, 0.2):
        fb = teaching.check_tightest_band(toy_grid_3x3, answer, n_territories=9)
        assert str(fb).startswith("[band lower limit] ")
        assert "tightest" not in str(fb)

"""Headcount curve: frontier optimality, profit bookkeeping, best size, errors."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest

from terrakit.exceptions import SpecificationError
from terrakit.plot.headcount import headcount_curve as plot_headcount
from terrakit.sizing import ResponseCurves, frontier, headcount_curve, hill


def _curves(lo, hi, c50, gamma, n_accounts, hours, calls=None, n_draws=1):
    S = len(lo)
    d = {
        k: np.tile(np.asarray(v, float), (n_draws, 1))
        for k, v in zip(("lo", "hi", "c50", "gamma"), (lo, hi, c50, gamma), strict=True)
    }
    return ResponseCurves(
        segments=tuple("ABCD"[:S]),
        draws=d,
        n_accounts=np.asarray(n_accounts, float),
        current_calls=np.asarray(calls or [10.0] * S, float),
        current_sales=np.asarray(lo, float),
        hours_per_call=np.asarray(hours, float),
        method="judgement",
    )


def test_one_segment_frontier_is_the_curve():
    """One concave segment: sales(B) = N·S(B / (N t)) at grid points."""
    rc = _curves([100.0], [300.0], [10.0], [1.0], [50], [2.0], calls=[10.0])
    # max calls 40, grid step 0.2 calls; B = 50 accounts × 2 h × 8 calls = 800 h
    sales, calls = frontier(rc, np.array([0.0, 800.0, 1e9]))
    assert sales[0, 0] == pytest.approx(50 * 100.0)
    assert calls[0, 1, 0] == pytest.approx(8.0)
    assert sales[0, 1] == pytest.approx(50 * float(hill(8.0, 100, 300, 10, 1)))
    assert calls[0, 2, 0] == pytest.approx(40.0)  # capped at 4 × today


def test_identical_segments_split_evenly_and_s_curves_are_handled():
    rc = _curves(
        [0.0, 0.0], [100.0, 100.0], [5.0, 5.0], [1.0, 1.0], [10, 10], [1.0, 1.0]
    )
    _, calls = frontier(rc, np.array([100.0]))
    assert calls[0, 0, 0] == pytest.approx(calls[0, 0, 1])
    s_shape = _curves([0.0], [100.0], [5.0], [3.0], [1], [1.0])
    sales, calls = frontier(s_shape, np.array([1.0, 30.0]))
    # with 1 hour an S-curve is better left at the (envelope) tangent point line
    assert sales[0, 0] <= float(hill(1.0, 0, 100, 5, 3)) + 100.0 / 5
    assert calls[0, 1, 0] == pytest.approx(30.0)


def test_headcount_profit_bands_and_best():
    rng = np.random.default_rng(0)
    D = 200
    rc = ResponseCurves(
        segments=("A", "B"),
        draws={
            "lo": np.full((D, 2), [20_000.0, 5_000.0]),
            "hi": rng.normal([60_000.0, 12_000.0], [5_000.0, 1_000.0], (D, 2)),
            "c50": np.full((D, 2), [20.0, 8.0]),
            "gamma": np.ones((D, 2)),
        },
        n_accounts=np.array([500.0, 2_000.0]),
        current_calls=np.array([24.0, 8.0]),
        current_sales=np.array([40_000.0, 9_000.0]),
        hours_per_call=np.array([1.5, 1.0]),
        method="judgement",
    )
    cur = headcount_curve(rc, reps=range(5, 41), cost_per_rep=120_000, margin=0.3)
    df = cur.to_frame()
    assert np.allclose(df["profit"], 0.3 * df["sales"] - 120_000 * df.index)
    assert (df["sales"].diff().dropna() >= -1e-6).all()  # more reps sell more
    assert (df["profit_2.5%"] <= df["profit_10%"]).all()
    assert (df["profit_10%"] <= df["profit"]).all()
    assert (df["profit_90%"] <= df["profit_97.5%"]).all()
    best = cur.best()
    assert best.reps == int(df["profit"].idxmax())
    assert best.interval_95[0] <= best.interval_80[0] <= best.reps
    assert best.reps <= best.interval_80[1] <= best.interval_95[1]
    assert "best" in cur.summary()
    ax = plot_headcount(cur)
    assert ax.get_xlabel() == "reps"
    plt.close(ax.figure)


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"cost_per_rep": -1}, "cost_per_rep must be >= 0, got -1"),
        ({"margin": 0}, "margin must be in \\(0, 1\\], got 0"),
        ({"hours_per_rep": 0}, "hours_per_rep must be positive, got 0"),
        ({"reps": []}, "reps must be a non-empty"),
        # these used to be truncated or read digit by digit, or a TypeError
        ({"reps": [1.5, 2.7]}, r"reps must be whole numbers of reps, got \[1\.5"),
        ({"reps": "10"}, r"reps must be the sizes to try, .*got '10'"),
        ({"reps": 10}, r"reps must be the sizes to try, .*got 10"),
        # unknown segment names used to be ignored, NaN hours used silently
        (
            {"hours_per_call": {"Z": 2.0}},
            r"hours_per_call names segments \['Z'\] that the response curves do "
            r"not have; they cover \['A'\]",
        ),
        ({"hours_per_call": {"A": np.nan}}, r"hours per call must be positive"),
        ({"max_calls": {"Z": 5.0}}, r"max_calls names segments \['Z'\]"),
        # these used to be a bare TypeError from float(None)
        ({"hours_per_rep": None}, r"hours_per_rep must be a number, got None"),
        ({"margin": None}, r"margin must be a number, got None; 0\.35 means"),
        ({"cost_per_rep": "1k"}, r"cost_per_rep must be a number, got '1k'"),
    ],
)
def test_bad_input_explains(kw, msg):
    rc = _curves([1.0], [2.0], [1.0], [1.0], [1], [1.0])
    with pytest.raises(SpecificationError, match=msg):
        headcount_curve(rc, **kw)


def test_best_at_the_edge_warns():
    """A curve that still pays at the largest size says so."""
    from terrakit.exceptions import TerrakitWarning

    rc = _curves([0.0], [1e9], [1e6], [1.0], [10], [1.0])
    cur = headcount_curve(
        rc, reps=range(1, 4), cost_per_rep=1.0, margin=0.5, hours_per_rep=10
    )
    with pytest.warns(TerrakitWarning, match="at the edge of the sizes tried"):
        best = cur.best()
    assert best.reps == 3 and best.at_edge


def test_frontier_refuses_negative_or_missing_budgets():
    """Negative or NaN budgets used to give NaN sales silently."""
    rc = _curves([1.0], [2.0], [1.0], [1.0], [1], [1.0])
    with pytest.raises(SpecificationError, match=r"budgets must be selling hours"):
        frontier(rc, np.array([-5.0, np.nan]))


def test_provenance_records_reps_max_calls_and_the_curves():
    """max_calls changed the profits but was not recorded, nor the sizes
    tried nor the curves' provenance (seed None)."""
    from terrakit.sizing import ResponseModel

    ref = {
        "A": {
            "accounts": 10,
            "calls_per_year": 5,
            "annual_sales": 100,
            "hours_per_call": 1,
        }
    }
    rc = ResponseModel.from_judgement(
        {"A": [0.5, 0.8, 1, 1.1, 1.2]}, reference=ref, seed=3, n_draws=20
    )
    p = headcount_curve(rc, reps=range(1, 5), max_calls=2).provenance
    assert p["config"]["max_calls"] == {"A": 2.0}
    assert p["config"]["reps"] == [1, 2, 3, 4]
    assert p["seed"] == 3
    assert p["curves"]["method"] == "response/judgement"
    assert p["curves"]["config"]["reference"]["A"]["annual_sales"] == 100.0
    default = headcount_curve(rc, reps=range(1, 5)).provenance
    assert default["config"]["max_calls"] == {"A": 20.0}  # 4 x today's 5


def test_frontier_spends_hours_on_cheap_calls_first_like_a_plan():
    """The frontier used to cost every call of a segment its call-weighted
    mean hours, so a concrete allocate_calls plan of the same size sold more
    than the frontier in every draw (1.2 % on the sample study); with the
    segment split into classes of hours per call it is at least the plan,
    up to 0.1 %, in (nearly) every draw, and not far above it.  (The classes'
    mean hours leave the frontier 0.07 % below this greedy plan when the
    draws are one curve, uncertainty 0; judgement draws that were too wide
    used to hide that behind the plan's loss on each draw.)"""
    import terrakit as tk
    from terrakit.data import Study
    from terrakit.sizing import ResponseModel, allocate_calls, workload

    base = tk.load_sample("southeast")
    acc = base.accounts.groupby("segment").head(150).copy()
    st = Study(units=base.units, accounts=acc, reps=base.reps)
    j = {s: [0.4, 0.7, 1.0, 1.15, 1.3] for s in "ABC"}
    rc = ResponseModel.from_judgement(j, study=st, n_draws=200, seed=1)
    assert all(len(rc.hours_classes[s][0]) > 1 for s in rc.segments)
    hours = 0.8 * workload(st).total_hours
    plan = allocate_calls(
        rc, st, n_reps=1, hours_per_rep=hours, method="greedy", travel="model"
    )
    tab = plan.table
    per_draw = sum(
        rc.sales(tab.loc[tab["segment"] == s, "calls"].to_numpy(), s).sum(axis=1)
        for s in rc.segments
    )
    curve = headcount_curve(rc, reps=[1], hours_per_rep=hours, cost_per_rep=0)
    diff = (curve.sales[:, 0] - per_draw) / per_draw
    assert np.mean(diff >= -1e-3) >= 0.95, np.quantile(diff, [0, 0.05, 0.5])
    assert np.median(diff) < 0.01


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        # a bare TypeError: only 0-dimensional arrays can be converted ...
        (
            {"max_calls": np.array([40.0])},
            "max_calls must have one value per segment ['A', 'B'] (2 values), got "
            "1: array([40.]); give a mapping for some segments instead, e.g. "
            "max_calls={'A': 40}",
        ),
        # bare ValueErrors: could not convert string to float
        (
            {"hours_per_call": {"A": "1,5"}},
            "hours_per_call['A'] must be a number, got '1,5'; e.g. "
            "hours_per_call={'A': 1.5}",
        ),
        (
            {"max_calls": {"B": "x"}},
            "max_calls['B'] must be a number, got 'x'; e.g. max_calls={'A': 40}",
        ),
        (
            {"hours_per_call": [1.0]},
            "hours_per_call must have one value per segment ['A', 'B'] (2 values), "
            "got 1: [1.0]; give a mapping for some segments instead, e.g. "
            "hours_per_call={'A': 1.5}",
        ),
        (
            {"max_calls": "40"},
            "max_calls must be one number, a mapping by segment or one value per "
            "segment ['A', 'B'], got '40'; e.g. max_calls=40 or max_calls={'A': 40}",
        ),
    ],
)
def test_bad_per_segment_settings_name_the_segment(kw, msg):
    rc = _curves([1.0, 1.0], [2.0, 2.0], [1.0, 1.0], [1.0, 1.0], [1, 1], [1.0, 1.0])
    with pytest.raises(SpecificationError) as err:
        headcount_curve(rc, reps=range(1, 5), **kw)
    assert str(err.value) == msg


def test_per_segment_settings_as_arrays_still_work():
    rc = _curves([1.0, 1.0], [2.0, 2.0], [1.0, 1.0], [1.0, 1.0], [1, 1], [1.0, 1.0])
    a = headcount_curve(
        rc, reps=range(1, 5), max_calls=np.array([30.0, 20.0]), hours_per_call=[2, 1]
    )
    b = headcount_curve(
        rc,
        reps=range(1, 5),
        max_calls={"A": 30, "B": 20.0},
        hours_per_call={"A": 2.0, "B": np.float32(1.0)},
    )
    np.testing.assert_allclose(a.sales, b.sales)
    assert a.provenance["config"]["max_calls"] == {"A": 30.0, "B": 20.0}
    c = headcount_curve(rc, reps=range(1, 5), max_calls=np.float64(25.0))
    assert c.provenance["config"]["max_calls"] == {"A": 25.0, "B": 25.0}


def test_a_looser_cap_never_lowers_the_sales():
    """The curves were evaluated at 200 points from 0 to max_calls, so a looser
    cap made the grid coarser and lowered the sales: at 20 reps 70.6 M with a
    cap of 100 calls, 67.4 M at 1,000 and 49.3 M at 10,000 (the bend of the
    curves fell between the first two points)."""
    from terrakit.sizing import ResponseModel

    ref = {
        "A": {"accounts": 600, "calls_per_year": 18, "annual_sales": 62_000},
        "B": {"accounts": 1800, "calls_per_year": 7, "annual_sales": 13_000},
        "C": {"accounts": 3600, "calls_per_year": 2.5, "annual_sales": 2_800},
    }
    for s, h in zip("ABC", (1.3, 0.9, 0.8), strict=True):
        ref[s]["hours_per_call"] = h
    j = {s: [0.3, 0.75, 1, 1.15, 1.3] for s in ref}
    rc = ResponseModel.from_judgement(
        j, reference=ref, uncertainty=0, n_draws=1, seed=0
    )
    reps = range(5, 41)
    sales = [
        headcount_curve(rc, reps=reps, cost_per_rep=120_000, max_calls=cap).sales[0]
        for cap in (None, 100, 365, 1_000, 10_000)
    ]
    for tight, loose in itertools.pairwise(sales):
        assert (loose >= tight * (1 - 1e-12)).all(), (tight - loose).max()
    assert sales[4][15] / sales[1][15] == pytest.approx(1.0, abs=1e-9)  # 20 reps
    # the default cap (4 x today's calls) keeps its 200 equal steps; a looser
    # cap adds steps of 2 % above it
    from terrakit.sizing.headcount import _call_levels

    levels = _call_levels(rc, np.array([72.0, 1_000.0, 10.0]), 200)
    assert levels[0, :201] == pytest.approx(np.linspace(0, 72, 201))
    assert levels[2, :201] == pytest.approx(np.linspace(0, 10, 201))
    assert (levels[[0, 2], 201:] == [[72.0], [10.0]]).all()  # padded
    above = levels[1, 201:]
    assert above[-1] == 1_000.0
    assert above[:-1] / np.r_[28.0, above[:-2]] == pytest.approx(1.02)


def test_a_max_calls_mapping_keeps_the_default_cap_of_the_others():
    """Naming one segment in max_calls gave the others 4 x today's calls
    without the floor of 1 of the default: a segment called 0.2 times a year
    went from a cap of 1 to 0.8 (0 whole calls in allocate_calls)."""
    rc = _curves(
        [10.0, 2.0],
        [20.0, 4.0],
        [6.0, 1.0],
        [1.0, 1.0],
        [4, 10],
        [1.0, 1.0],
        calls=[6.0, 0.2],
    )
    default = headcount_curve(rc, reps=range(1, 3)).provenance["config"]
    named = headcount_curve(rc, reps=range(1, 3), max_calls={"A": 24.0})
    assert default["max_calls"] == {"A": 24.0, "B": 1.0}
    assert named.provenance["config"]["max_calls"] == {"A": 24.0, "B": 1.0}
    assert headcount_curve(rc, reps=range(1, 3), max_calls={"B": 2.0}).provenance[
        "config"
    ]["max_calls"] == {"A": 24.0, "B": 2.0}


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        *(
            (
                {"grid": g},
                f"grid must be a whole number of steps per segment >= 2 (default "
                f"200), got {g!r}; with fewer steps each curve becomes its chord "
                "from 0 to the cap",
            )
            for g in (0, 1, True, -3, 2.5, "200")
        ),
        (
            {"budgets": np.array([[10.0, 100.0]])},
            "budgets must be a 1-d array of selling hours, one per sales-force "
            "size, got an array of shape (1, 2); pass e.g. "
            "np.array([16_000.0, 32_000.0]) for 10 and 20 reps of 1,600 h",
        ),
        (
            {"budgets": 10.0},
            "budgets must be a 1-d array of selling hours, one per sales-force "
            "size, got an array of shape (); pass e.g. "
            "np.array([16_000.0, 32_000.0]) for 10 and 20 reps of 1,600 h",
        ),
    ],
)
def test_frontier_refuses_a_grid_below_two_steps_and_budgets_not_1d(kw, msg):
    """grid=0 or True replaced every curve by its chord from 0 to the cap
    (sales 35 % low at 10 h) in silence; grid=-3 and 2-D budgets ended in
    bare numpy errors."""
    rc = _curves(
        [10.0, 10.0],
        [100.0, 100.0],
        [5.0, 5.0],
        [0.8, 0.8],
        [10, 20],
        [1.0, 2.0],
        calls=[5.0, 2.0],
        n_draws=2,
    )
    budgets = kw.pop("budgets", np.array([10.0]))
    with pytest.raises(SpecificationError) as e:
        frontier(rc, budgets, **kw)
    assert str(e.value) == msg


def test_frontier_takes_any_whole_grid_of_two_steps_or_more():
    rc = _curves([10.0], [100.0], [5.0], [1.0], [10], [1.0], calls=[5.0])
    fine = frontier(rc, np.array([0.0, 50.0, 1e6]))[0]
    for g in (2, np.int64(50)):
        s = frontier(rc, np.array([0.0, 50.0, 1e6]), grid=g)[0]
        assert s[0, 0] == fine[0, 0] and s[0, 2] == pytest.approx(fine[0, 2])
        assert s[0, 1] <= fine[0, 1] + 1e-9  # a coarser grid sells no more

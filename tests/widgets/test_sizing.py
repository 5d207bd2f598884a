"""HeadcountExplorer: sliders recompute the headcount curve."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

from terrakit.sizing import ResponseModel
from terrakit.widgets import HeadcountExplorer


@pytest.fixture
def curves():
    """Judgement curves for two segments, 200 draws (cheap, no MCMC)."""
    judged = {
        "A": {
            "zero": 0.3,
            "minus50": 0.75,
            "current": 1.0,
            "plus50": 1.12,
            "saturation": 1.25,
        },
        "B": {
            "zero": 0.5,
            "minus50": 0.85,
            "current": 1.0,
            "plus50": 1.06,
            "saturation": 1.1,
        },
    }
    ref = {
        "A": {
            "accounts": 400,
            "calls_per_year": 12,
            "annual_sales": 120_000,
            "hours_per_call": 2.0,
        },
        "B": {
            "accounts": 1600,
            "calls_per_year": 4,
            "annual_sales": 20_000,
            "hours_per_call": 1.5,
        },
    }
    return ResponseModel.from_judgement(judged, reference=ref, n_draws=200, seed=1)


def test_sliders_redraw_the_curve(curves):
    ex = HeadcountExplorer(curves, reps=range(2, 30), cost_per_rep=150_000)
    first = ex.curve
    assert first.cost_per_rep == 150_000
    assert 'data-reps="' in ex.best_box.value
    png = ex.image.value
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    ex.cost.value = 250_000
    assert ex.curve.cost_per_rep == 250_000
    # profit = m·S(n) − C·n: a dearer rep never raises the best size
    assert ex.curve.best().reps <= first.best().reps
    ex.margin.value = 0.6
    assert ex.curve.margin == 0.6
    b_cheap = ex.curve.best().reps
    ex.hours.value = ex.hours.value * 1.5  # more selling hours per rep
    assert ex.curve.hours_per_rep == pytest.approx(1600 * 1.5)
    assert ex.curve.best().reps <= b_cheap
    assert ex.image.value != png


def test_rejects_other_inputs():
    with pytest.raises(TypeError, match="curves must be ResponseCurves"):
        HeadcountExplorer({"A": 1})


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"margin": 35}, r"margin must be in \(0, 1\], got 35"),
        ({"margin": 0}, r"margin must be in \(0, 1\], got 0"),
        ({"cost_per_rep": -1}, "cost_per_rep must be >= 0"),
        ({"cost_per_rep": "180k"}, "cost_per_rep must be a number, got '180k'"),
        ({"hours_per_rep": 0}, "hours_per_rep must be positive"),
        ({"reps": [2.5, 3]}, "reps must be whole numbers of reps"),
        ({"reps": 30}, "reps must be the sizes to try"),
    ],
)
def test_bad_starting_values_are_refused_not_clamped(curves, kw, fragment):
    """The sliders clamped a margin of 35 (meant: 35 %) to 100 % and a negative
    cost to 0 without a word, truncated 2.5 reps to 2, and raised TraitError
    for hours <= 0."""
    from terrakit.exceptions import SpecificationError

    args = {"reps": range(2, 30), **kw}
    with pytest.raises(SpecificationError, match=fragment):
        HeadcountExplorer(curves, **args)


def test_values_set_in_code_are_honoured_not_clamped(curves):
    """cost.value = 500_000 stored the slider's max (2 × the start) and the
    explorer showed the best size for that cost; margin 0 became 0.01."""
    from terrakit.exceptions import SpecificationError
    from terrakit.sizing import headcount_curve

    ex = HeadcountExplorer(curves, reps=range(2, 30), cost_per_rep=150_000)
    assert ex.cost.max == 300_000
    ex.cost.value = 500_000
    assert ex.cost.value == 500_000 and ex.cost.max == 500_000
    ref = headcount_curve(curves, reps=range(2, 30), cost_per_rep=500_000)
    assert ex.curve.cost_per_rep == 500_000
    assert ex.curve.best().reps == ref.best().reps
    ex.margin.value = 0.005  # below the slider's 1 %, still a valid margin
    assert ex.margin.value == 0.005 and ex.margin.min == 0.005
    assert ex.curve.margin == 0.005
    ex.hours.value = 100.0  # below the slider's start / 4
    assert ex.curve.hours_per_rep == 100.0
    for slider, value, fragment in (
        (ex.margin, 0.0, r"margin must be in \(0, 1\], got 0.0"),
        (ex.margin, 1.5, r"margin must be in \(0, 1\], got 1.5"),
        (ex.cost, -1.0, "cost_per_rep must be >= 0, got -1.0"),
        (ex.hours, 0.0, "hours_per_rep must be positive, got 0.0"),
    ):
        before = slider.value
        with pytest.raises(SpecificationError, match=fragment):
            slider.value = value
        assert slider.value == before
    assert ex.curve.margin == 0.005 and ex.curve.cost_per_rep == 500_000

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


_START_SCRIPT = """
import json, warnings
from terrakit.sizing import ResponseModel
from terrakit.widgets import HeadcountExplorer

judged = {"A": {"zero": 0.3, "minus50": 0.75, "current": 1.0, "plus50": 1.12,
                "saturation": 1.25},
          "B": {"zero": 0.5, "minus50": 0.85, "current": 1.0, "plus50": 1.06,
                "saturation": 1.1}}
ref = {"A": {"accounts": 400, "calls_per_year": 12, "annual_sales": 120_000,
             "hours_per_call": 2.0},
       "B": {"accounts": 1600, "calls_per_year": 4, "annual_sales": 20_000,
             "hours_per_call": 1.5}}
rc = ResponseModel.from_judgement(judged, reference=ref, n_draws=200, seed=1)
warnings.simplefilter("ignore")
ex = HeadcountExplorer(rc, reps=range(2, 30), cost_per_rep=8_000, margin=0.005,
                       hours_per_rep=0.5)
out = {"margin": [ex.margin.value, ex.margin.min, ex.curve.margin],
       "hours": [ex.hours.value, ex.hours.min, ex.hours.max,
                 ex.curve.hours_per_rep],
       "best": ex.curve.best().reps}
ex.cost.value = 8_000 + 100  # touch a slider: the others keep their values
ex.cost.value = 8_000
out["after"] = [ex.margin.value, ex.curve.margin, ex.curve.hours_per_rep,
                ex.curve.best().reps]
print(json.dumps(out))
"""


def test_starting_values_below_the_default_range_survive_any_hash_seed():
    """A valid margin of 0.5 % (below the slider's 1 % minimum) and hours of
    0.5 (below its minimum of 1) were clamped or not depending on the order in
    which traitlets validated value and min, which follows the hash seed: with
    PYTHONHASHSEED=0 the first curve used 0.5 % while the slider read 1 %, and
    touching any slider recomputed at 1 % (best 12 → 18 reps) without a word."""
    import json
    import os
    import subprocess
    import sys

    seen = []
    for seed in ("0", "1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "MPLBACKEND": "Agg"}
        run = subprocess.run(
            [sys.executable, "-c", _START_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
        got = json.loads(run.stdout.strip().splitlines()[-1])
        assert got["margin"] == [0.005, 0.005, 0.005], (seed, got)
        assert got["hours"] == [0.5, 0.5, 1.0, 0.5], (seed, got)
        assert got["after"][:3] == [0.005, 0.005, 0.5], (seed, got)
        assert got["after"][3] == got["best"], (seed, got)
        seen.append(got["best"])
    assert len(set(seen)) == 1, seen


def test_zero_starting_cost_gets_a_usable_cost_slider(curves):
    """cost_per_rep=0 gave a cost slider from 0 to 1 in steps of 1: it could
    not be dragged to any real cost."""
    ex = HeadcountExplorer(curves, reps=range(2, 30), cost_per_rep=0)
    assert (ex.cost.min, ex.cost.max, ex.cost.step) == (0.0, 500_000.0, 1_000.0)
    assert ex.cost.value == 0.0 and ex.curve.cost_per_rep == 0.0
    ex.cost.value = 120_000
    assert ex.curve.cost_per_rep == 120_000
    # a non-zero start keeps its range: 0 to twice the start in 100 steps
    ex = HeadcountExplorer(curves, reps=range(2, 30), cost_per_rep=180_000)
    assert (ex.cost.min, ex.cost.max, ex.cost.step) == (0.0, 360_000.0, 1_800.0)
    assert (ex.margin.min, ex.margin.max, ex.margin.step) == (0.01, 1.0, 0.01)
    assert (ex.hours.min, ex.hours.max, ex.hours.step) == (400.0, 3_200.0, 10.0)

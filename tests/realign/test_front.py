"""Tests of terrakit.realign.disruption_front and its plot."""

from __future__ import annotations

import math

import pytest

from terrakit.data.study import Study
from terrakit.exceptions import SpecificationError
from terrakit.realign import DisruptionFront, disruption_front
from tests.realign.test_rebalance import strip_study


@pytest.fixture
def strip() -> Study:
    """``strip_2x4`` (see tests/realign/test_rebalance.py): R1 60 h, R2 20 h,
    mean 40 h.  Least sales moved with contiguity: ±50 % → 0 (R1 at +50 %),
    ±25 % → 5 (one unit; ``c2r0`` is the cheapest unit touching R2),
    ±0 % → 6 (``c2r0`` + ``c1r0``)."""
    return strip_study()


def test_front_matches_the_known_optima(strip: Study) -> None:
    front = disruption_front(
        strip, "current", [0.0, 0.5, 0.25], time_limit=20, tie_break=0.0
    )
    t = front.to_frame()
    assert t["tolerance"].tolist() == [0.5, 0.25, 0.0]
    assert t["moved"].tolist() == pytest.approx([0.0, 5.0, 6.0])
    assert t["moved_share"].tolist() == pytest.approx([0.0, 5 / 28, 6 / 28])
    assert (t["status"] == "optimal").all()
    assert (t["max_deviation"] <= t["tolerance"] + 1e-9).all()
    assert front.current_deviation == pytest.approx(0.5)
    assert front.alignment(0.0)["c2r0"] == "R2"


def test_front_is_monotone_and_bounds_lie_below(strip: Study) -> None:
    front = disruption_front(strip, tolerances=[0.5, 0.25, 0.1, 0.0], time_limit=20)
    t = front.table
    ok = t[~t["status"].isin(["infeasible", "not_found"])]
    assert ok["moved_share"].is_monotonic_increasing
    assert (ok["lower_bound_share"] <= ok["moved_share"] + 1e-9).all()


def test_infeasible_tolerance_is_kept_with_its_reason(strip: Study) -> None:
    # max_moved 20 % of sales (5.6) admits ±25 % (5) but not ±0 % (6)
    front = disruption_front(
        strip, tolerances=[0.25, 0.0], max_moved=0.20, time_limit=20
    )
    t = front.table.set_index("tolerance")
    assert t.loc[0.25, "status"] != "infeasible"
    assert t.loc[0.0, "status"] == "infeasible"
    assert math.isnan(t.loc[0.0, "moved_share"])
    assert "max_moved = 20 %" in front.reasons[0.0]
    assert "infeasible" in front.summary()


def test_summary_is_stable_text(strip: Study) -> None:
    front = disruption_front(strip, tolerances=[0.5, 0.0], time_limit=20, tie_break=0)
    text = front.summary()
    assert text.splitlines()[0] == "DisruptionFront: sales moved vs ±workload balance"
    assert "current plan: max deviation 50.00 %" in text
    assert "21.43" in text
    assert "seconds" not in text


def test_bad_tolerances_are_explained(strip: Study) -> None:
    with pytest.raises(SpecificationError, match="tolerances must be in"):
        disruption_front(strip, tolerances=[1.5])
    with pytest.raises(SpecificationError, match="at least one tolerance"):
        disruption_front(strip, tolerances=[])


def test_bad_tolerance_lists_are_explained(strip: Study) -> None:
    with pytest.raises(SpecificationError, match="must be a list of balance tol"):
        disruption_front(strip, tolerances=0.1)  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="numbers in \\[0, 1\\), got 'x'"):
        disruption_front(strip, tolerances=["x"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"time_limit": 0}, "time_limit must be a positive number of seconds"),
        ({"hops": 0}, "hops must be at least 1"),
        # "2" passed and failed in the first solve with a bare TypeError
        ({"hops": "2"}, r"hops must be at least 1, .* got '2' \(str\)"),
        ({"hops": True}, r"hops must be at least 1, .* got True \(bool\)"),
        ({"contiguity": "no"}, r"contiguity must be True or False, got 'no'"),
        ({"contiguity": None}, r"contiguity must be True or False, got None"),
        ({"backend": "gurobi"}, "unknown MIP backend 'gurobi'"),
        ({"solver": "exact"}, "solver must be 'auto', 'mip' or 'heuristic'"),
        ({"max_moved": 10}, "max_moved is a share .* got 10; for 10 % write 0.10"),
    ],
)
def test_bad_run_settings_raise_instead_of_infeasible_rows(
    strip: Study, kw, message
) -> None:
    # a setting shared by every point is not the infeasibility of a tolerance:
    # it used to come back as a front whose every row read "infeasible"
    with pytest.raises(SpecificationError, match=message):
        disruption_front(strip, tolerances=[0.5, 0.0], **{"time_limit": 5, **kw})


def test_plot_draws_points_bounds_and_current(strip: Study) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from terrakit.plot.disruption import disruption_front as plot_front

    front = disruption_front(strip, tolerances=[0.5, 0.25, 0.0], time_limit=20)
    ax = plot_front(front)
    line = ax.get_lines()[0]
    assert len(line.get_xdata()) == 3
    assert "sales moved" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["±50 %", "±25 %", "±0 %"]
    assert isinstance(front, DisruptionFront)
    plt.close(ax.figure)


def test_a_tolerance_without_a_plan_in_time_is_a_reason_not_a_point(
    strip: Study, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tolerance at which the search returns no plan in the band (made so
    here: it returns today's alignment) is left out of the front with the
    closest plan's breaches as its reason, and no warning escapes.  It is
    'not_found' (no proof that none exists), as in design.pareto: it was
    labelled 'infeasible' although its reason says it is not a proof."""
    import importlib
    import warnings

    import numpy as np

    from terrakit.design.result import AlignmentResult

    rb = importlib.import_module("terrakit.realign.rebalance")
    real = rb._search_and_solve

    def stuck_at_zero(setup, problem, *, t0, time_limit, seed, **kw):
        if problem.tolerance.get("workload", 1.0) > 0:
            return real(setup, problem, t0=t0, time_limit=time_limit, seed=seed, **kw)
        cols = np.asarray(setup.cur_col, dtype=np.int64)
        res = AlignmentResult.from_columns(
            problem, cols, status="infeasible", lower_bound=-math.inf,
            method="local-search", seconds=0.1, seed=seed,
        )  # fmt: skip
        return res, [], [], -math.inf

    monkeypatch.setattr(rb, "_search_and_solve", stuck_at_zero)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        front = disruption_front(strip, tolerances=(0.5, 0.0), time_limit=10)
    row = front.table.set_index("tolerance").loc[0.0]
    assert row["status"] == "not_found" and math.isnan(row["moved"])
    assert "breaks 2 constraints" in front.reasons[0.0]
    assert front.table["status"].tolist() == ["optimal", "not_found"]
    assert 0.0 not in front.results and 0.5 in front.results

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from terrakit.plot.disruption import disruption_front as plot_front

    ax = plot_front(front)
    # the line holds the one plan; the tolerance without one is a marked level
    assert len(ax.get_lines()[0].get_xdata()) == 1
    marked = [ln for ln in ax.get_lines() if ln.get_label() == "no plan found in time"]
    assert len(marked) == 1 and marked[0].get_ydata()[0] == 0.0
    plt.close(ax.figure)


def test_a_looser_tolerance_takes_a_tighter_plan_that_moves_less(
    strip: Study, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each solve stops at its time limit, so a looser band can come back
    with a worse plan than a tighter one (made so here: ±50 % returns the
    ±0 % plan, 6 moved); the tighter ±25 % plan (5 moved) meets ±50 % too and
    the front must give it to ±50 %, so that it never rises as τ grows."""
    import dataclasses
    import importlib

    fr = importlib.import_module("terrakit.realign.front")
    real = fr._solve

    def worse_when_loose(setup, *, balance, **kw):
        if balance["workload"] == 0.5:
            r = real(setup, balance={"workload": 0.0}, **kw)
            return dataclasses.replace(r, lower_bound=0.0, gap=1.0)
        return real(setup, balance=balance, **kw)

    monkeypatch.setattr(fr, "_solve", worse_when_loose)
    front = disruption_front(
        strip, "current", [0.5, 0.25, 0.0], time_limit=20, tie_break=0.0
    )
    t = front.table.set_index("tolerance")
    assert t["moved"].tolist() == pytest.approx([5.0, 5.0, 6.0])
    assert t["from_tolerance"].tolist() == [0.25, 0.25, 0.0]
    assert t.loc[0.5, "status"] == "feasible"
    assert t.loc[0.5, "lower_bound_share"] == 0.0  # its own bound, still valid
    assert front.alignment(0.5).same_assignment(front.alignment(0.25))
    assert "from_%" in front.summary()


@pytest.mark.parametrize("bad", ["0.05", b"0.1", 0.05, None, {"workload": 0.1}])
def test_a_tolerance_list_that_is_no_list_is_refused_alike_by_pareto(
    strip: Study, bad: object
) -> None:
    """disruption_front and design.pareto share one check: text was split into
    characters by pareto, a number or None gave a bare TypeError there."""
    from terrakit.design import pareto

    for call, name in (
        (lambda: disruption_front(strip, tolerances=bad), "tolerances"),
        (lambda: pareto(strip, values=bad), "values"),
    ):
        with pytest.raises(SpecificationError) as err:
            call()
        assert str(err.value) == (
            f"{name} must be a list of balance tolerances such as "
            f"[0.2, 0.1, 0.05], got {bad!r}"
        )


def test_new_units_without_a_current_territory_are_placed(strip: Study) -> None:
    """The docstring says 'study, current: as for rebalance', and rebalance
    places units the current alignment leaves without a territory; the front
    refused them while tabulating the current balance.  The current deviation
    is now over the placed units, as rebalance's ``balance_before``."""
    from terrakit.data.alignment import Alignment
    from terrakit.realign import rebalance

    cur = strip.alignments["current"].assignment
    part = Alignment(cur.drop(["c3r1"]), name="part")  # a new unit of R2's column
    front = disruption_front(strip, part, [0.5], time_limit=10, contiguity=False)
    r = rebalance(
        strip, part, balance={"workload": 0.5}, time_limit=10, contiguity=False
    )
    # placed: R1 60 h, R2 10 h, mean 35 h
    assert front.current_deviation == pytest.approx(60 / 35 - 1)
    assert front.current_deviation == pytest.approx(r.max_deviation_before)
    row = front.table.iloc[0]
    assert row["status"] == "optimal" and row["moved"] == pytest.approx(r.moved)
    assert front.alignment(0.5).assignment["c3r1"] == "R2"  # placed, not moved
    empty = Alignment(cur.iloc[:0], name="none")
    front = disruption_front(strip, empty, [0.5], time_limit=10, contiguity=False)
    assert math.isnan(front.current_deviation)
    assert front.table["moved"].tolist() == [0.0]


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            {"R1": 1, "R2": 1},
            "targets must sum to 1 (they are shares of the total), they sum to 2; "
            "divide them by their sum",
        ),
        (
            {"R1": 1.5, "R2": -0.5},
            "targets must be finite positive shares; 'R2' has -0.5",
        ),
    ],
)
def test_bad_targets_raise_before_any_solve_instead_of_infeasible_rows(
    strip: Study, monkeypatch, targets, message
) -> None:
    """Targets summing to 2 came back as a front whose every row read
    'infeasible' (proven impossible); a negative target got the balance
    table's message, which says shares are normalised to sum 1 (the solver
    refuses them unless they sum to 1).  Now the error rebalance raises."""
    import importlib

    from terrakit.realign import rebalance

    with pytest.raises(SpecificationError) as err:
        rebalance(strip, balance={"workload": 0.5}, targets=targets, time_limit=5)
    assert str(err.value) == message
    front_module = importlib.import_module("terrakit.realign.front")

    def no_solve(*args, **kwargs):
        raise AssertionError("solved although the specification is wrong")

    monkeypatch.setattr(front_module, "_solve", no_solve)
    with pytest.raises(SpecificationError) as err:
        disruption_front(strip, tolerances=[0.5, 0.0], targets=targets, time_limit=5)
    assert str(err.value) == message


def test_the_same_specification_error_at_every_tolerance_is_raised(
    strip: Study,
) -> None:
    """A balanced measure that totals 0 fails every tolerance alike: raised, as
    design.pareto does, not one 'infeasible' row per tolerance."""
    study = strip.replace(units=strip.units.assign(potential=0.0))
    with pytest.raises(SpecificationError) as err:
        disruption_front(
            study, tolerances=[0.5, 0.0], measure="potential", time_limit=5
        )
    assert str(err.value) == (
        "balance on 'potential' is meaningless: its total over all units is 0"
    )


def test_the_provenance_records_every_setting_that_changes_the_plans(
    strip: Study,
) -> None:
    """The front's provenance lacked backend and hops (fronts run with other
    ones carried the same config) and recorded the loosest tolerance as the
    balance of every point."""
    front = disruption_front(
        strip, tolerances=[0.0, 0.5], time_limit=5, hops=3, tie_break=0.01
    )
    cfg = front.provenance["config"]
    assert cfg["backend"] == "highs" and cfg["hops"] == 3
    assert cfg["tie_break"] == 0.01
    assert cfg["balance"] == {"workload": [0.5, 0.0]}
    assert cfg["tolerances"] == [0.5, 0.0]
    assert front.results[0.5].provenance["config"]["hops"] == 3


def test_the_deviations_of_a_column_named_units_are_that_columns() -> None:
    """measure="units" on a unit column named ``units``: current_deviation
    and max_deviation were those of the unit counts (R1 holds 6 of 8 units:
    +50 %), not of the column (+33 %)."""
    study = strip_study()
    units = study.units
    units["units"] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    study = study.replace(units=units)
    front = disruption_front(
        study, tolerances=[0.2], measure="units", contiguity=False, time_limit=10
    )
    # today: R1 = 1+2+3+5+6+7 = 24, R2 = 4+8 = 12, mean 18
    assert front.current_deviation == pytest.approx(1 / 3)
    al = front.alignment(0.2)
    tot = units["units"].groupby(al.assignment.reindex(units.index)).sum()
    true = float((tot / tot.mean() - 1.0).abs().max())
    assert front.table["max_deviation"].iloc[0] == pytest.approx(true)
    assert true <= 0.2 + 1e-9

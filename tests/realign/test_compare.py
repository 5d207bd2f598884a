"""compare(): side-by-side KPIs of solved scenarios, and the diff maps."""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from terrakit.exceptions import SpecificationError
from terrakit.plot.compare import diff_map
from terrakit.realign.compare import Comparison, compare
from terrakit.realign.scenario import Scenario


@pytest.fixture(scope="module")
def solved(make_grid, cell_lonlat):
    """Three solved scenarios on the 6 × 4 grid: status quo, R4 leaves, a hire."""
    grid6x4 = make_grid()
    kw = dict(balance={"workload": 0.3}, time_limit=20)
    same = Scenario.from_study(grid6x4, name="status-quo").solve(
        method="design", contiguity=False, **kw
    )
    leave = Scenario.from_study(grid6x4, name="leave").remove_rep("R4").solve(**kw)
    hire = (
        Scenario.from_study(grid6x4, name="hire")
        .add_rep("R5", home=cell_lonlat(5, 3))
        .solve(**kw)
    )
    return same, leave, hire


def test_table_is_indicators_by_scenario(solved):
    cmp = compare(solved)
    assert isinstance(cmp, Comparison)
    t = cmp.to_frame()
    assert list(t.columns) == ["status-quo", "leave", "hire"]
    for ind in (
        "territories",
        "reps",
        "workload_max_dev",
        "potential_max_dev",
        "units_moved_share",
        "sales_moved_share",
        "mean_travel_km",
        "noncontiguous",
        "over_capacity",
    ):
        assert ind in t.index
    assert t.loc["territories"].tolist() == [4.0, 3.0, 5.0]
    assert t.loc["reps"].tolist() == [4.0, 3.0, 5.0]
    # R4 leaves: its 6 units of 24 must move at least
    assert t.loc["units_moved_share", "leave"] >= 0.25 - 1e-12
    # every solution meets the workload band it was solved for
    assert (t.loc["workload_max_dev"] <= 0.3 + 1e-9).all()
    # units moved: the same number as the diff lists
    for r in solved:
        assert t.loc["units_moved_share", r.name] == pytest.approx(len(r.diff()) / 24)
    # the table is exactly the scenarios' indicators
    pd.testing.assert_series_equal(
        t["hire"], solved[2].indicators().rename("hire"), check_names=False
    )


def test_best_and_summary(solved):
    cmp = compare(solved)
    best = cmp.best()
    t = cmp.to_frame()
    assert best["units_moved_share"] == t.loc["units_moved_share"].idxmin()
    # a shared lowest value is a tie, not the first scenario (it named one
    # for noncontiguous = 0 everywhere); over_capacity is lower-is-better too
    assert "over_capacity" in best.index
    for ind, winner in best.items():
        row = t.loc[ind].dropna()
        at = list(row.index[row == row.min()])
        assert winner == (at[0] if len(at) == 1 else "tie: " + ", ".join(at))
    assert best["noncontiguous"].startswith("tie: ")
    text = cmp.summary()
    assert text.splitlines()[0] == "Scenario comparison"
    assert "units_moved_share" in text and "leave" in text
    assert text == compare(solved).summary()  # stable


def test_diff_map_draws_moved_units(solved):
    cmp = compare(solved)
    ax = cmp.diff_map("leave")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    n = len(solved[1].diff())
    assert labels == [f"moved ({n})", f"kept ({24 - n})"]
    assert ax.get_title() == "leave"
    fig = cmp.diff_maps()
    assert len(fig.axes) == 3
    plt.close("all")


def test_diff_map_function_on_alignments(grid6x4):
    cur = grid6x4.alignments["current"]
    moved = cur.replace({"c0r0": "R2", "c1r0": "R2"}, name="after")
    ax = diff_map(grid6x4, cur, moved)
    assert ax.get_title() == "after: 2 units moved"
    assert len(ax.texts) == 2  # each moved unit labelled with its new territory
    plt.close("all")


def test_bad_inputs(solved, grid6x4):
    with pytest.raises(SpecificationError, match="at least one solved scenario"):
        compare([])
    with pytest.raises(SpecificationError, match="unsolved scenario 'x'"):
        compare([Scenario.from_study(grid6x4, name="x")])
    with pytest.raises(SpecificationError, match=r"names repeat \(\['leave'\]\)"):
        compare([solved[1], solved[1]])
    with pytest.raises(KeyError, match="no scenario 'nope'"):
        compare(solved).diff_map("nope")
    assert np.isfinite(compare(solved[:1]).to_frame().to_numpy(float)).all()


def test_compare_wants_a_list(solved):
    with pytest.raises(SpecificationError, match="takes a list of solved scenarios, "):
        compare(solved[0])  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="got a NoneType"):
        compare(None)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match=r"no scenario at position 5; compared 3"):
        compare(solved).diff_map(5)


def test_a_numpy_integer_position_picks_a_scenario(solved):
    """diff_map(np.int64(0)) (a position from numpy, e.g. np.argmin of a
    table row) raised KeyError 'no scenario 0'; a bool is no position."""
    cmp = compare(solved)
    assert cmp._get(np.int64(1)) is solved[1]
    assert cmp._get(np.int32(-1)) is solved[2]
    ax = cmp.diff_map(np.int64(1))
    assert ax.get_title() == "leave"
    plt.close("all")
    with pytest.raises(KeyError, match=r"no scenario at position 3; compared 3"):
        cmp._get(np.int64(3))
    with pytest.raises(KeyError, match="no scenario True"):
        cmp._get(True)


def test_summary_shows_names_that_share_a_long_prefix_apart(solved):
    """Column headers were cut to 14 characters: "north-hire-2026-v1" and
    "north-hire-2026-v2" both showed as "north-hire-202"."""
    a = dataclasses.replace(
        solved[1], scenario=solved[1].scenario.renamed("north-hire-2026-v1")
    )
    b = dataclasses.replace(
        solved[2], scenario=solved[2].scenario.renamed("north-hire-2026-v2")
    )
    lines = compare([solved[0], a, b]).summary().splitlines()
    assert lines[1].split() == [
        "status-quo",
        "north-hire-2026-v1",
        "north-hire-2026-v2",
    ]
    # each column as wide as its name (at least 14): the rows stay aligned
    assert len({len(line) for line in lines[1:]}) == 1
    assert lines[1].endswith("      status-quo  north-hire-2026-v1  north-hire-2026-v2")
    units = next(line for line in lines if line.startswith("units_moved_share"))
    shares = [
        f"{v:.1%}"
        for v in (r.indicators()["units_moved_share"] for r in (solved[0], a, b))
    ]
    assert units.split()[1:] == shares


def test_diff_map_of_a_hire_taking_a_leavers_id_shows_the_leavers_units(
    grid6x4, cell_lonlat
):
    """The map is drawn from what the disruption was measured from: with the
    leaver's territory renamed, every unit of the leaver counts as moved, as
    in ScenarioResult.diff() (from the study's own base, the hire's id
    matched the leaver's and the map showed fewer moves)."""
    res = (
        Scenario.from_study(grid6x4, name="replace")
        .remove_rep("R2", reason="resigned")
        .add_rep("R2", home=cell_lonlat(0, 3))
        .solve(balance={"workload": 0.3}, time_limit=10)
    )
    ax = compare([res]).diff_map(0)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    n = len(res.diff())
    assert labels == [f"moved ({n})", f"kept ({24 - n})"]
    plt.close("all")

"""Scenarios: edits as data, JSON round trip, replay, persistence, solving."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from terrakit.data.alignment import Alignment
from terrakit.exceptions import DataValidationError, SpecificationError
from terrakit.realign.scenario import (
    AddRep,
    LockUnits,
    RemoveRep,
    ScaleMeasure,
    Scenario,
    ScenarioResult,
)


def _all_edits(study, cell_lonlat):
    return (
        Scenario.from_study(study, name="mix")
        .remove_rep("R4", reason="retires")
        .add_rep("R5", home=cell_lonlat(5, 3), skills=["logistics", "retail"])
        .scale("potential", region="East", by=1.15)
        .lock(["c0r3"], "R1", reason="key account")
    )


def test_edits_are_records_in_order(grid6x4, cell_lonlat):
    s = _all_edits(grid6x4, cell_lonlat)
    assert [type(e) for e in s.edits] == [RemoveRep, AddRep, ScaleMeasure, LockUnits]
    assert [e["op"] for e in s.to_dict()["edits"]] == [
        "remove_rep",
        "add_rep",
        "scale",
        "lock",
    ]
    # builders never change the scenario they are called on
    base = Scenario.from_study(grid6x4)
    base.remove_rep("R1")
    assert base.edits == ()


def test_json_round_trip_is_exact(grid6x4, cell_lonlat):
    s = _all_edits(grid6x4, cell_lonlat)
    text = s.to_json()
    back = Scenario.from_json(text)
    assert back == s
    assert back.to_json() == text
    assert json.loads(text)["edits"][2] == {
        "op": "scale",
        "column": "potential",
        "by": 1.15,
        "where": {"region": "East"},
        "units": None,  # no unit filter ([] is an empty selection, refused)
    }


def test_apply_replays_every_edit(grid6x4, cell_lonlat):
    s = _all_edits(grid6x4, cell_lonlat)
    ed = s.apply()
    assert sorted(ed.reps.index) == ["R1", "R2", "R3", "R5"]
    assert ed.reps.loc["R5", "capacity_hours"] == 700.0  # median of the reps
    assert ed.reps.loc["R5", "skills"] == "logistics;retail"
    # East potential scaled by 1.15, West untouched, input study unchanged
    pot = ed.units["potential"]
    east = ed.units["region"] == "East"
    assert np.allclose(pot[east], 11_500.0) and np.allclose(pot[~east], 10_000.0)
    assert np.allclose(grid6x4.units["potential"], 10_000.0)
    start = ed.alignments[s.start_name]
    assert "R4" not in start.territories
    assert start["c5r3"] == "R5"  # the new rep's home unit seeds its territory
    assert start["c0r3"] == "R1"  # locked
    # R4's units went to the nearest remaining rep: R2 or R5 (by home distance)
    old_r4 = grid6x4.alignments["current"].units_of("R4")
    assert set(start.assignment[old_r4]) <= {"R2", "R3", "R5"}
    # accounts of the removed rep now belong to the owner of their unit
    acc = ed.accounts
    assert not (acc["rep_id"] == "R4").any()
    assert (
        (acc["rep_id"] == acc["unit_id"].map(start.assignment))
        .loc[acc["unit_id"].isin(old_r4)]
        .all()
    )
    # the base alignment is kept for disruption measures
    assert ed.alignments["current"].same_assignment(grid6x4.alignments["current"])
    assert ed.metadata["scenario"] == s.to_dict()


def test_removed_rep_units_go_to_nearest_rep(grid6x4):
    """Without R4, its quadrant (east-north) is nearest R2 (south) or R3 (west)."""
    ed = Scenario.from_study(grid6x4).remove_rep("R4").apply()
    start = ed.alignments["scenario:start"]
    # c3r2 to R2's home (c3r0) 20 km, to R3's home (c0r2) 30 km
    assert start["c3r2"] == "R2"
    # c5r3: to R2 home 3 cells north + 2 east = ~36 km, to R3 home ~51 km
    assert start["c5r3"] == "R2"


def test_replay_on_new_data(grid6x4, make_grid):
    s = Scenario.from_study(grid6x4).scale("workload", by=2.0, units=["c0r0"])
    other = make_grid(seed=7)  # same units, other history
    ed = s.with_study(other).apply()
    assert ed.units.loc["c0r0", "workload"] == 200.0
    assert ed.history["sales"].equals(other.history["sales"])


def test_scenario_persists_in_the_study_file(grid6x4, cell_lonlat, tmp_path):
    s = _all_edits(grid6x4, cell_lonlat)
    st = s.save_to()
    path = st.save(tmp_path / "study.gpkg")
    from terrakit.data.study import Study

    loaded = Study.load(path)
    assert list(loaded.scenarios) == ["mix"]
    back = Scenario.load(loaded, "mix")
    assert back == s
    assert back.apply().reps.equals(s.apply().reps)
    assert "scenario 'mix': 4 edits" in loaded.summary()
    with pytest.raises(KeyError, match="no scenario named 'nope'"):
        Scenario.load(loaded, "nope")


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda s: s.remove_rep("R9"), "reps.rep_id: edit 0 (remove_rep): rep 'R9'"),
        (lambda s: s.add_rep("R1", home=(-80.9, 33.4)), "rep id 'R1' is already taken"),
        (lambda s: s.add_rep("R7", home=(33.4, -181.0)), "is not a lon/lat position"),
        (lambda s: s.scale("nope", by=1.1), "has no column 'nope' to scale"),
        (lambda s: s.scale("region", by=1.1), "column 'region' is not numeric"),
        (lambda s: s.scale("potential", region="Mars", by=1.1), "matches no unit"),
        (lambda s: s.scale("potential", zone="A", by=1.1), "cannot filter on 'zone'"),
        (lambda s: s.lock(["c9r9"], "R1", reason="x"), "1 units to lock are not in"),
        (lambda s: s.lock(["c0r0"], "R8", reason="x"), "territory 'R8'"),
    ],
)
def test_bad_edits_raise_clear_errors(grid6x4, build, fragment):
    s = build(Scenario.from_study(grid6x4))
    with pytest.raises(DataValidationError, match=re.escape(fragment)):
        s.apply()


def test_bad_specs(grid6x4):
    with pytest.raises(SpecificationError, match="factor must be a positive number"):
        Scenario().scale("potential", by=0.0)
    with pytest.raises(SpecificationError, match="say why the units are locked"):
        Scenario().lock("c0r0", "R1", reason=" ")
    with pytest.raises(SpecificationError, match="not bound to a study"):
        Scenario().apply()
    with pytest.raises(DataValidationError, match="no alignment 'future'"):
        Scenario.from_study(grid6x4, base="future")
    with pytest.raises(DataValidationError, match="unknown edit 'teleport'"):
        Scenario.from_dict({"edits": [{"op": "teleport"}]})
    with pytest.raises(SpecificationError, match="choose 'rebalance' or 'design'"):
        Scenario.from_study(grid6x4).solve(method="magic")


@pytest.mark.parametrize("home", [None, "Atlanta", (1.0, 2.0, 3.0), ("x", 33.0)])
def test_a_hire_needs_a_lon_lat_home(home):
    with pytest.raises(
        SpecificationError,
        match=re.escape("add_rep('R9'): home must be (lon, lat) in degrees, got "),
    ):
        Scenario().add_rep("R9", home=home)


def test_bad_numbers_in_edits_are_explained():
    with pytest.raises(SpecificationError, match="factor must be a positive number, "):
        Scenario().scale("potential", by=None)  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="got by='lots'"):
        Scenario().scale("potential", by="lots")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="add_rep\\('R9'\\): fte must be a "):
        Scenario().add_rep("R9", home=(-80.0, 33.0), fte="full")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="home must be \\(lon, lat\\)"):
        Scenario.from_dict({"edits": [{"op": "add_rep", "rep_id": "R9", "home": "x"}]})


@pytest.mark.parametrize(
    "home", [(2.35, 48.85), (33.4, -80.5)], ids=["paris", "lat-lon-swapped"]
)
def test_a_hire_far_outside_the_study_is_refused(grid6x4, home):
    s = Scenario.from_study(grid6x4).add_rep("R9", home=home)
    with pytest.raises(DataValidationError) as err:
        s.apply()
    msg = str(err.value)
    assert msg.startswith(
        f"reps.home_lon/home_lat: edit 0 (add_rep): the home ({home[0]:g}, "
        f"{home[1]:g}) of new rep 'R9' lies in no unit and "
    )
    assert "a new rep may live at most 100 km from the study's units" in msg
    assert "Fix: give home=(lon, lat) in degrees, longitude first" in msg
    assert err.value.rows == ["R9"]
    assert grid6x4.reps.index.tolist() == ["R1", "R2", "R3", "R4"]


def test_a_hire_just_outside_the_study_starts_in_the_nearest_unit(grid6x4, cell_lonlat):
    """Two cells (20 km) east of the grid: the nearest unit is ``c5r1``."""
    ed = Scenario.from_study(grid6x4).add_rep("R9", home=cell_lonlat(7, 1)).apply()
    assert ed.alignments["scenario:start"]["c5r1"] == "R9"


def test_bad_records_are_explained():
    with pytest.raises(DataValidationError, match="'edits' must be a list of edit"):
        Scenario.from_dict({"edits": 5})
    with pytest.raises(DataValidationError, match=r"scenarios\.edits: edit 1 is a str"):
        Scenario.from_dict({"edits": [{"op": "remove_rep", "rep_id": "R1"}, "R2"]})
    with pytest.raises(DataValidationError, match="scenarios: the scenario text is "):
        Scenario.from_json("{name: 'x'}")


def test_an_unknown_method_is_refused_before_the_edits_run(grid6x4):
    s = Scenario.from_study(grid6x4).remove_rep("R9")  # would fail in apply()
    with pytest.raises(SpecificationError, match="choose 'rebalance' or 'design'"):
        s.solve(method="magic")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "kw", "message"),
    [
        ("rebalance", {"balanse": {}}, "did you mean 'balance' for 'balanse'?"),
        ("design", {"n_territorie": 3}, "did you mean 'n_territories'"),
    ],
)
def test_a_misspelt_solver_keyword_is_refused_before_the_edits_run(
    grid6x4, method, kw, message
):
    """It reached the solver as a bare TypeError naming an inner function
    (build_problem() got an unexpected keyword argument)."""
    s = Scenario.from_study(grid6x4).remove_rep("R9")  # would fail in apply()
    with pytest.raises(SpecificationError) as info:
        s.solve(method, **kw)
    assert message in str(info.value) and "it takes [" in str(info.value)


def test_a_failing_replay_leaves_the_study_as_it_was(grid6x4, cell_lonlat):
    before = {t: getattr(grid6x4, t).copy() for t in ("units", "reps", "accounts")}
    s = _all_edits(grid6x4, cell_lonlat).scale("potential", by=1.1, region="Mars")
    with pytest.raises(DataValidationError, match="edit 4 \\(scale\\)"):
        s.apply()
    for t, df in before.items():
        pd.testing.assert_frame_equal(getattr(grid6x4, t), df)
    assert list(grid6x4.alignments) == ["current"]


def test_solve_design_replay_reproduces_the_alignment(grid6x4, cell_lonlat, tmp_path):
    """A scenario saved, loaded and solved again gives the same alignment."""
    s = (
        Scenario.from_study(grid6x4, name="hire")
        .add_rep("R5", home=cell_lonlat(5, 3))
        .lock(["c0r0"], "R1", reason="head office")
    )
    kw = dict(balance={"workload": 0.25}, time_limit=20)
    r1 = s.solve(method="design", seed=3, **kw)
    assert isinstance(r1, ScenarioResult)
    assert r1.alignment.n_territories == 5
    assert r1.alignment["c0r0"] == "R1"
    assert r1.alignment.name == "hire"
    assert r1.alignment.provenance["scenario"] == s.to_dict()
    # every unit exactly once, balance within the band
    assert len(r1.alignment) == 24
    assert r1.balance.loc["workload", "max_rel_dev"] <= 0.25 + 1e-9
    st = Scenario.load(
        type(grid6x4).load(s.save_to().save(tmp_path / "s.gpkg")), "hire"
    )
    r2 = st.solve(method="design", seed=3, **kw)
    assert r2.alignment.same_assignment(r1.alignment)
    text = r1.summary()
    assert "Scenario 'hire' (2 edits on 'current')" in text
    assert "lock 1 units to R1 (head office)" in text
    assert r1.to_frame().index.tolist() == ["R1", "R2", "R3", "R4", "R5"]


def test_solve_rebalance_after_a_rep_leaves(grid6x4):
    s = Scenario.from_study(grid6x4, name="leave").remove_rep("R4")
    res = s.solve(balance={"workload": 0.2}, time_limit=20)
    assert "R4" not in res.alignment.territories
    assert res.alignment.n_territories == 3
    ind = res.indicators()
    # all of R4's 6 units (of 24) had to move, at least
    assert ind["units_moved_share"] >= 6 / 24 - 1e-12
    assert ind["workload_max_dev"] <= 0.2 + 1e-9
    assert ind["noncontiguous"] == 0
    d = res.diff()
    assert set(d.loc[d["before"] == "R4", "unit_id"]) == set(
        grid6x4.alignments["current"].units_of("R4")
    )


def test_study_keeps_scenarios_as_checked_records(grid6x4):
    st = grid6x4.with_scenario("a", {"name": "a", "base": "current", "edits": []})
    assert dict(st.scenarios) == {"a": {"name": "a", "base": "current", "edits": []}}
    assert grid6x4.scenarios == {}  # the input study is unchanged
    with pytest.raises(DataValidationError, match="scenario 'b' must be a JSON-able"):
        grid6x4.replace(scenarios={"b": ["not", "a", "dict"]})
    with pytest.raises(DataValidationError, match="scenario 'c' is not JSON-able"):
        grid6x4.with_scenario("c", {"edits": [object()]})


def test_flat_namespace():
    import terrakit as tk

    assert tk.Scenario is Scenario
    assert tk.compare.__module__ == "terrakit.realign.compare"
    assert tk.realign.assign_leads.__module__ == "terrakit.realign.leads"
    assert tk.realign.performance.__module__ == "terrakit.realign.performance"
    assert tk.realign.impact.__module__ == "terrakit.realign.impact"


def test_sales_moved_share_is_the_one_the_solver_and_diff_report(grid6x4):
    # scaling the units' sales leaves the accounts' annual_sales as they were:
    # the scenario must report the sales the solver counted (the units')
    s = (
        Scenario.from_study(grid6x4, name="east x3")
        .scale("sales", by=3.0, region="East")
        .remove_rep("R4")
    )
    res = s.solve(balance={"workload": 0.2}, moved_measure="sales", time_limit=20)
    ind = res.indicators()
    d = res.solver_result.diff()
    assert ind["sales_moved_share"] == pytest.approx(d.moved_share("sales"))
    assert ind["sales_moved_share"] == pytest.approx(res.solver_result.moved_share)
    assert ind["units_moved_share"] == pytest.approx(d.moved_share("units"))
    assert ind["accounts_moved_share"] == pytest.approx(d.moved_share("accounts"))
    moved = res.diff()["unit_id"]
    units = res.study.unit_measures()
    assert ind["sales_moved_share"] == pytest.approx(
        units.loc[moved, "sales"].sum() / units["sales"].sum()
    )


def test_a_half_time_hire_gets_half_the_capacity_and_half_a_share(grid6x4, cell_lonlat):
    s = Scenario.from_study(grid6x4, name="half").add_rep(
        "R5", home=cell_lonlat(5, 3), fte=0.5
    )
    reps = s.apply().reps
    assert reps.loc["R5", "capacity_hours"] == pytest.approx(350.0)  # 700 per FTE
    res = s.solve(balance={"workload": 0.25}, targets="fte", time_limit=20)
    wl = res.kpis["workload"]
    # targets by FTE: R5 gets 0.5 / 4.5 of the workload, each full-timer 1 / 4.5
    full = wl.drop("R5")
    assert wl["R5"] <= 0.5 / 4.5 * wl.sum() * 1.25 + 1e-9
    assert wl["R5"] < 0.75 * full.min()
    # territories are equal by default, as with rebalance itself
    res0 = s.solve(balance={"workload": 0.25}, time_limit=20)
    assert res0.kpis["workload"]["R5"] >= 0.75 * 0.2 * wl.sum() - 1e-9
    # targets="fte" on reps without a usable fte is explained
    no_fte = grid6x4.replace(reps=grid6x4.reps.drop(columns="fte", errors="ignore"))
    with pytest.raises(DataValidationError, match="needs the reps' fte column"):
        Scenario.from_study(no_fte).solve(targets="fte", time_limit=5)
    # explicit targets are used as given
    even = {r: 0.2 for r in ["R1", "R2", "R3", "R4", "R5"]}
    res2 = s.solve(balance={"workload": 0.25}, targets=even, time_limit=20)
    assert res2.kpis["workload"]["R5"] >= 0.75 * 0.2 * wl.sum() - 1e-9


@pytest.mark.parametrize("fte", [0, -0.5, float("nan")])
def test_a_hire_without_a_positive_fte_is_refused(grid6x4, cell_lonlat, fte):
    # fte scales the hire's capacity and share: 0 or less gave a hire with no
    # (or negative) hours
    with pytest.raises(SpecificationError, match="fte must be a positive share"):
        Scenario.from_study(grid6x4, name="bad").add_rep(
            "R5", home=cell_lonlat(5, 3), fte=fte
        )


def test_a_hire_keeps_its_fte_and_hours_in_integer_columns(grid6x4, cell_lonlat):
    """Integer fte / capacity_hours columns (as read from a CRM export) cast
    the hire's fte=0.5 to 0 and 1234.7 h to 1234."""
    reps = grid6x4.reps.assign(fte=1, capacity_hours=700)
    st = grid6x4.replace(reps=reps)
    home = cell_lonlat(5, 3)
    out = (
        Scenario.from_study(st)
        .add_rep("R5", home=home, fte=0.5, capacity_hours=1234.7)
        .apply()
        .reps
    )
    assert out.loc["R5", "fte"] == 0.5
    assert out.loc["R5", "capacity_hours"] == pytest.approx(1234.7)
    assert out.loc["R1", "fte"] == 1 and out.loc["R1", "capacity_hours"] == 700
    default = Scenario.from_study(st).add_rep("R5", home=home, fte=0.5).apply().reps
    assert default.loc["R5", ["fte", "capacity_hours"]].tolist() == [0.5, 350.0]
    # nothing lost: the table keeps its integer dtypes
    whole = Scenario.from_study(st).add_rep("R5", home=home).apply().reps
    assert whole["fte"].dtype == np.int64
    assert whole["capacity_hours"].dtype == np.int64
    assert whole.loc["R5", "capacity_hours"] == 700


def test_removing_a_rep_that_units_are_locked_to_is_refused(grid6x4):
    """lock(["c0r0"], "R2") then remove_rep("R2") handed c0r0 to another rep
    in the start alignment while locked() still said R2."""
    s = Scenario.from_study(grid6x4, name="s").lock(
        ["c0r0", "c1r0"], "R2", reason="key account"
    )
    with pytest.raises(SpecificationError) as err:
        s.remove_rep("R2").apply()
    msg = str(err.value)
    assert msg.startswith(
        "edit 1 (remove_rep): rep 'R2' leaves, but 2 units are locked to 'R2' "
        "(edit 0: 'c0r0', 'c1r0')"
    )
    assert "Fix: remove the lock, or lock them to another rep before" in msg
    # re-locked to another rep first: fine
    ok = s.lock(["c0r0", "c1r0"], "R1", reason="key account").remove_rep("R2")
    assert ok.apply().alignments["s:start"].assignment["c0r0"] == "R1"


def test_a_second_hire_in_the_seed_unit_of_the_first_is_refused(grid6x4, cell_lonlat):
    """Two new reps whose homes fall in the same unit: the first silently
    started without units."""
    lon, lat = cell_lonlat(5, 3)
    s = Scenario.from_study(grid6x4, name="s").add_rep("R5", home=(lon, lat))
    with pytest.raises(SpecificationError) as err:
        s.add_rep("R6", home=(lon + 0.001, lat)).apply()
    msg = str(err.value)
    assert msg.startswith(
        "edit 1 (add_rep): the home of new rep 'R6' lies in unit 'c5r3', which "
        "already seeds new rep 'R5' (edit 0)"
    )
    assert "Fix: give 'R6' a home in another unit" in msg
    # replacing the first hire is fine
    ok = s.remove_rep("R5").add_rep("R6", home=(lon, lat)).apply()
    assert ok.alignments["s:start"].assignment["c5r3"] == "R6"


def test_a_locked_home_unit_keeps_its_lock_whatever_the_order(grid6x4, cell_lonlat):
    """A lock before the hire was overwritten by the hire's seed unit."""
    home = cell_lonlat(5, 3)
    lock_first = (
        Scenario.from_study(grid6x4, name="a")
        .lock(["c5r3"], "R4", reason="key account")
        .add_rep("R5", home=home)
    )
    hire_first = (
        Scenario.from_study(grid6x4, name="b")
        .add_rep("R5", home=home)
        .lock(["c5r3"], "R4", reason="key account")
    )
    for s in (lock_first, hire_first):
        ed = s.apply()
        assert ed.alignments[s.start_name].assignment["c5r3"] == "R4"
        assert "R5" in ed.reps.index


def test_solve_takes_locks_as_a_series_and_a_tolerance_as_text(grid6x4):
    """rebalance takes ``locked=`` as a Series, but Scenario.solve crashed on
    one ("The truth value of a Series is ambiguous"); a tolerance given as
    text was kept as text and the solver's summary() crashed."""
    s = Scenario.from_study(grid6x4, name="x").lock(["c0r3"], "R3", reason="key")
    res = s.solve(
        balance={"workload": "0.3"},
        locked=pd.Series({"c3r0": "R1"}),
        time_limit=20,
    )
    plan = res.alignment.assignment
    assert plan["c3r0"] == "R1" and plan["c0r3"] == "R3"
    assert dict(res.solver_result.tolerance) == {"workload": 0.3}
    assert "  balance: workload ±30 %" in res.solver_result.summary().splitlines()
    with pytest.raises(SpecificationError) as err:
        s.solve(locked=[("c3r0", "R1")], time_limit=5)
    assert str(err.value) == (
        "Scenario.solve(locked=...) must map unit ids to reps ({unit_id: rep_id}, "
        "{unit_id: (rep_id, reason)} or a Series), got a list: [('c3r0', 'R1')]"
    )


# -- QA round 19 --------------------------------------------------------------------
def test_the_kpis_measure_against_the_targets_the_scenario_was_solved_with(
    grid6x4, cell_lonlat
):
    """A half-time hire solved with targets="fte" met its bands (the solver's
    balance_after), but ScenarioResult.balance, indicators(), summary() and
    compare() measured it against equal shares: a large deviation for a plan
    on target."""
    from terrakit.metrics import balance

    s = Scenario.from_study(grid6x4, name="half").add_rep(
        "R5", home=cell_lonlat(5, 3), fte=0.5
    )
    kw = {"balance": {"workload": 0.1}, "contiguity": False, "time_limit": 20}
    res = s.solve(targets="fte", **kw)
    solver = res.solver_result.balance_after.loc["workload", "max_rel_dev"]
    assert solver <= 0.1 + 1e-9
    assert res.balance.loc["workload", "max_rel_dev"] == pytest.approx(solver)
    assert res.indicators()["workload_max_dev"] == pytest.approx(solver)
    assert f"  workload: max deviation {solver:.1%}, " in res.summary()
    want = {r: 1 / 4.5 for r in ["R1", "R2", "R3", "R4"]} | {"R5": 0.5 / 4.5}
    assert res.targets == pytest.approx(want)
    pd.testing.assert_frame_equal(
        res.balance,
        balance(res.study, res.alignment, list(res.balance.index), targets=want),
    )
    # a fresh design with the same targets, and no targets: equal shares
    design = s.solve("design", targets="fte", **kw)
    assert design.targets == pytest.approx(want)
    assert design.balance.loc["workload", "max_rel_dev"] <= 0.1 + 1e-9
    assert s.solve(**kw).targets is None


def test_solve_records_the_locks_it_was_solved_with(grid6x4):
    """The scenario's own provenance (config) left out locked=, and a
    (rep, reason) pair read from JSON, a list, reached the solver as a
    list."""
    s = Scenario.from_study(grid6x4, name="x").lock(["c0r3"], "R3", reason="key")
    res = s.solve(
        balance={"workload": 0.3},
        locked={"c3r0": ["R1", "from a json file"]},
        contiguity=False,
        time_limit=20,
    )
    plan = res.alignment.assignment
    assert plan["c3r0"] == "R1" and plan["c0r3"] == "R3"
    assert res.alignment.provenance["config"]["locked"] == {
        "c0r3": "R3",
        "c3r0": "R1",
    }
    assert res.solver_result.locked["c3r0"] == "from a json file"


@pytest.mark.parametrize("form", ["index", "array", "series"])
def test_scale_takes_array_likes_of_units_and_values(grid6x4, form):
    """scale(units=study.units.index[mask]) died in a bare "The truth value of
    a Index is ambiguous"; region=units['region'].unique()[...] (an array, what
    the filter's own fix suggests) matched no unit."""
    u = grid6x4.units
    east = u.index[u["region"] == "East"]
    values = u["region"].unique()
    values = values[values == "East"]
    as_form = {
        "index": lambda v: pd.Index(v),
        "array": lambda v: np.asarray(v),
        "series": lambda v: pd.Series(v),
    }[form]
    by_units = Scenario.from_study(grid6x4, name="a").scale(
        "potential", by=2.0, units=as_form(east)
    )
    by_region = Scenario.from_study(grid6x4, name="b").scale(
        "potential", by=2.0, region=as_form(values)
    )
    for s in (by_units, by_region):
        pot = s.apply().units["potential"]
        assert (pot[east] == 20_000.0).all()
        assert (pot.drop(index=east) == 10_000.0).all()
        assert Scenario.from_json(s.to_json()) == s
    assert by_units.edits[0].units == tuple(east)
    assert by_region.edits[0].where == {"region": ["East"]}


# -- QA round 21 --------------------------------------------------------------------
def test_an_empty_unit_selection_is_refused_not_read_as_every_unit(grid6x4):
    """scale(units=study.units.index[mask]) with a mask that matched nothing
    was recorded as "no unit filter" and scaled every unit (on replay too)."""
    u = grid6x4.units
    none = u.index[u["region"] == "North"]
    s = Scenario.from_study(grid6x4, name="x").scale("potential", by=1.5, units=none)
    assert s.edits[0].units == ()
    assert s.to_dict()["edits"][0]["units"] == []
    for replay in (s, Scenario.from_json(s.to_json(), grid6x4)):
        with pytest.raises(DataValidationError) as err:
            replay.apply()
        assert str(err.value).startswith(
            "units.unit_id: edit 0 (scale): the filter units=[] (an empty "
            "selection) matches no unit, nothing would be scaled. Fix: "
        )
    # no unit filter is None, in the edit and in the record
    every = Scenario.from_study(grid6x4, name="y").scale("potential", by=1.5)
    assert every.edits[0].units is None
    assert every.to_dict()["edits"][0]["units"] is None
    assert (every.apply().units["potential"] == 15_000.0).all()
    # a record written by format 1 meant no unit filter by "units": []
    edit = {"op": "scale", "column": "potential", "by": 1.5, "where": {}, "units": []}
    old = {"format": 1, "name": "y", "base": "current", "edits": [edit]}
    assert Scenario.from_dict(old).edits[0].units is None


def test_a_hire_who_takes_a_leavers_id_starts_without_the_leavers_units(
    grid6x4, cell_lonlat
):
    """remove_rep("R2").add_rep("R2", home=...) (what add_rep's own error
    advises) was solved from the base alignment, where territory R2 still
    held the leaver's units: the hire, living in the north-west, kept the
    south-east quadrant and nothing counted as moved."""
    s = (
        Scenario.from_study(grid6x4, name="replace")
        .remove_rep("R2", reason="resigned")
        .add_rep("R2", home=cell_lonlat(0, 3))
    )
    res = s.solve(balance={"workload": 0.3}, time_limit=10)
    leaver = grid6x4.alignments["current"].units_of("R2")
    config = res.alignment.provenance["solver"]["config"]
    assert config["removed_reps"] == ["R2 (left)"]
    assert config["new_reps"] == ["R2"]
    # the hire's territory grows from its home unit (R3's today)
    assert res.alignment.assignment["c0r3"] == "R2"
    assert set(res.before.units_of("R2 (left)")) == set(leaver)
    # every unit of the leaver moved, to the hire too; the scenario reports
    # the share the solver minimised
    ind = res.indicators()
    assert ind["units_moved_share"] >= 6 / 24 - 1e-12
    assert ind["sales_moved_share"] == pytest.approx(res.solver_result.moved_share)
    assert set(leaver) <= set(res.diff()["unit_id"])
    # the base alignment of the edited study is unchanged
    assert res.study.alignments["current"].same_assignment(
        grid6x4.alignments["current"]
    )


def test_a_locked_keyword_that_contradicts_a_lock_edit_is_refused(grid6x4):
    """lock(c2r1 → R1) and solve(locked={"c2r1": "R3"}) were merged silently:
    the keyword won, and the summary still listed the R1 lock."""
    s = Scenario.from_study(grid6x4, name="x").lock(["c2r1"], "R1", reason="key")
    with pytest.raises(SpecificationError) as err:
        s.solve(locked={"c2r1": "R3", "c0r3": "R3"}, time_limit=5)
    assert str(err.value).startswith(
        "Scenario.solve(locked=...) contradicts the scenario's lock edits for 1 "
        "unit(s): 'c2r1' to 'R3' here but to 'R1' by edit 0 (key). Fix: drop those "
        "units from locked=, or change the scenario's lock edit"
    )
    # the same lock again is fine, and keeps the edit's reason
    res = s.solve(
        locked={"c2r1": "R1"},
        balance={"workload": 0.3},
        contiguity=False,
        time_limit=5,
    )
    assert res.alignment.assignment["c2r1"] == "R1"
    assert res.solver_result.locked["c2r1"] == "key"


def test_accounts_go_to_the_rep_of_the_territory(grid6x4):
    """apply() wrote territory ids into accounts.rep_id: a lock to an open
    territory blamed the accounts table ('unknown: ['OPEN']'), and with
    territory '2' for rep 2 remove_rep(2) handed over nothing."""
    st = grid6x4
    # (a) R4 left: its quadrant is the open territory 'OPEN'
    acc = st.accounts.copy()
    acc["rep_id"] = acc["rep_id"].where(acc["rep_id"] != "R4", None)
    cur = st.alignments["current"].assignment.replace({"R4": "OPEN"})
    st_a = st.replace(
        reps=st.reps.drop("R4"),
        accounts=acc,
        alignments={"current": Alignment(cur, name="current")},
    )
    ed = (
        Scenario.from_study(st_a, name="a")
        .lock(["c2r2"], "OPEN", reason="stays open")
        .apply()
    )
    owners = ed.accounts.loc[ed.accounts["unit_id"] == "c2r2", "rep_id"]
    assert len(owners) == 2 and owners.isna().all()
    assert ed.alignments["a:start"].assignment["c2r2"] == "OPEN"
    # (b) territory ids '1'..'4' (text) for reps 1..4
    reps = st.reps.set_axis(pd.Index([1, 2, 3, 4], name="rep_id"))
    acc_b = st.accounts.assign(rep_id=st.accounts["rep_id"].str[1:].astype(int))
    cur_b = st.alignments["current"].assignment.str[1:]
    st_b = st.replace(
        reps=reps,
        accounts=acc_b,
        alignments={"current": Alignment(cur_b, name="current")},
    )
    ed = Scenario.from_study(st_b, name="b").remove_rep(2).apply()
    start = ed.alignments["b:start"].assignment
    assert start.tolist().count("2") == 0
    assert set(start) == {"1", "3", "4"}  # handed over under the ids in use
    moved = cur_b.index[cur_b == "2"]
    new_owner = ed.accounts.set_index("unit_id")["rep_id"]
    assert set(new_owner[moved]) <= {1, 3, 4}
    # a lock to territory '2' holds rep 2 as a lock to 2 does
    with pytest.raises(SpecificationError, match="rep 2 leaves, but 1 units are"):
        Scenario.from_study(st_b).lock("c0r0", "2", reason="x").remove_rep(2).apply()


def test_a_part_time_hire_keeps_its_fte_without_an_fte_column(grid6x4, cell_lonlat):
    """add_rep(fte=0.5) on reps without an fte column halved the capacity but
    dropped the fte, so solve(targets="fte") was refused."""
    st = grid6x4.replace(reps=grid6x4.reps.drop(columns=["fte"]))
    home = cell_lonlat(5, 3)
    s = Scenario.from_study(st, name="half").add_rep("R5", home=home, fte=0.5)
    reps = s.apply().reps
    assert reps["fte"].tolist() == [1.0, 1.0, 1.0, 1.0, 0.5]
    assert reps.loc["R5", "capacity_hours"] == pytest.approx(350.0)
    res = s.solve(
        targets="fte", balance={"workload": 0.3}, contiguity=False, time_limit=5
    )
    assert res.targets["R5"] == pytest.approx(0.5 / 4.5)
    # a full-time hire adds no column
    whole = Scenario.from_study(st).add_rep("R5", home=home).apply().reps
    assert "fte" not in whole.columns


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"op": "scale", "column": "potential", "where": {"region": "East"}},
            "scenarios.by: edit 0 (scale): the required field 'by' is missing",
        ),
        (
            {"op": "add_rep", "rep_id": "R9"},
            "scenarios.home: edit 0 (add_rep): the required field 'home' is missing",
        ),
        (
            {"op": "lock", "units": ["c0r0"], "reason": "x"},
            "scenarios.territory: edit 0 (lock): the required field 'territory'",
        ),
        (
            {"op": "scale", "column": "potential", "by": 1.1, "where": "East"},
            "scenarios.where: edit 0 (scale): where must be a {column: value or "
            "[values]} record, got str 'East'",
        ),
        (
            {"op": "lock", "units": 7, "territory": "R1", "reason": "x"},
            "scenarios.units: edit 0 (lock): units must be a list of unit ids, "
            "got int 7",
        ),
        (
            {"op": "lock", "units": "c0r0", "territory": "R1", "reason": "x"},
            "scenarios.units: edit 0 (lock): units must be a list of unit ids, "
            "got str 'c0r0'",
        ),
        (
            {"op": "lock", "units": [["c0r0"]], "territory": "R1", "reason": "x"},
            "scenarios.units: edit 0 (lock): 1 unit ids are not ids",
        ),
        (
            {"op": "scale", "column": "potential", "by": 1.1, "where": None},
            "scenarios.where: edit 0 (scale): where must be a",
        ),
        (
            {"op": "remove_rep", "rep_id": ["R1"]},
            "scenarios.rep_id: edit 0 (remove_rep): rep_id must be one id (text "
            "or a whole number), got list ['R1']",
        ),
        (
            {"op": "scale", "column": 3, "by": 1.1},
            "scenarios.column: edit 0 (scale): column must be text, got int 3",
        ),
    ],
)
def test_damaged_edit_records_are_refused_naming_the_edit_and_field(edit, message):
    """A missing field took its default silently (scale x1, a hire at
    (0, 0)); a wrong-typed one failed in a bare ValueError or TypeError."""
    record = {"name": "x", "base": "current", "edits": [edit]}
    with pytest.raises(DataValidationError) as err:
        Scenario.from_dict(record)
    assert str(err.value).startswith(message)


def test_a_table_or_a_path_instead_of_a_study_is_refused(grid6x4):
    """Scenario.from_study / apply / solve given the units table died in a
    bare AttributeError ('GeoDataFrame' object has no attribute ...)."""
    from terrakit.exceptions import NotAStudyError

    units = grid6x4.units
    with pytest.raises(NotAStudyError) as err:
        Scenario.from_study(units)
    assert str(err.value) == (
        "tk.Scenario.from_study takes a Study (tk.Study), got GeoDataFrame; wrap "
        "the units table in a Study: tk.Study(units, reps=reps), or "
        "tk.Study.load(path) for a saved study"
    )
    s = Scenario(name="x").remove_rep("R1")
    with pytest.raises(NotAStudyError, match=r"^Scenario\.apply takes a Study"):
        s.apply(units)
    with pytest.raises(
        NotAStudyError, match=r"^Scenario.solve takes a Study \(tk.Study\), got str"
    ):
        s.solve(study="study.gpkg")
    with pytest.raises(NotAStudyError, match=r"^Scenario\(study=...\) takes a Study"):
        Scenario(name="x", study=units)


def test_without_a_reps_table_no_account_changes_owner_for_nothing(grid6x4):
    """Without reps every owned account counted as a departed rep's: a
    scale-only scenario re-owned a000 (owned by R3 in R1's unit) to R1."""
    acc = grid6x4.accounts.copy()
    acc.loc["a000", "rep_id"] = "R3"
    st = grid6x4.replace(reps=None, accounts=acc)
    ed = (
        Scenario.from_study(st, name="grow")
        .scale("potential", by=1.2, region="East")
        .apply()
    )
    pd.testing.assert_series_equal(ed.accounts["rep_id"], acc["rep_id"])
    # a lock still hands its units' accounts to the territory
    ed = Scenario.from_study(st).lock("c0r0", "R2", reason="x").apply()
    assert ed.accounts.loc[["a000", "a001"], "rep_id"].tolist() == ["R2", "R2"]

"""TerritoryMap driven through its widget models: no browser needed."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ipyleaflet")

from terrakit.data.alignment import Alignment
from terrakit.exceptions import DataValidationError, SpecificationError
from terrakit.widgets import TerritoryMap
from terrakit.widgets._display import UNCHANGED
from terrakit.widgets._measure import record_messages

CLICK = {"event": "interaction", "type": "click", "coordinates": [0.0, 0.0]}


@pytest.fixture
def tmap(toy_grid_3x3):
    """A TerritoryMap of ``toy_grid_3x3`` (R1 workload 190, R2 260), ±10 %."""
    return TerritoryMap(toy_grid_3x3, "current", tolerance=0.10, time_limit=10)


def click(m: TerritoryMap, unit: str) -> None:
    """Deliver the message the front end sends when a unit is clicked."""
    i = m.state.unit_ids.get_loc(unit)
    m.unit_layers[i]._handle_mouse_events(None, dict(CLICK), [])


def totals(m: TerritoryMap) -> dict[str, float]:
    """Territory totals as written in the balance panel's rows."""
    out = {}
    for t, row in m.panel.rows.items():
        out[t] = float(re.search(r'data-total="([^"]+)"', row.value).group(1))
    return out


def test_builds_one_polygon_per_unit(tmap):
    assert len(tmap.unit_layers) == 9
    assert len(tmap.homes_layer.layers) == 2
    assert all(lay.locations for lay in tmap.unit_layers)
    # no tile layer: the map draws without network
    assert not any(type(lay).__name__ == "TileLayer" for lay in tmap.map.layers)
    assert totals(tmap) == {"R1": 190.0, "R2": 260.0}
    assert tmap.alignment.same_assignment(tmap.study.alignments["current"])


def test_click_moves_to_the_picked_territory(tmap):
    tmap.picker.value = "R2"
    click(tmap, "u5")
    assert tmap.alignment["u5"] == "R2"
    assert totals(tmap) == {"R1": 140.0, "R2": 310.0}
    assert "move 1 unit to R2" in tmap.status.value
    i = tmap.state.unit_ids.get_loc("u5")
    assert tmap.unit_layers[i].fill_color == tmap.colors["R2"]
    assert "u5" in tmap.hover.value and "<b>R2</b>" in tmap.hover.value
    assert not tmap.undo_button.disabled and tmap.redo_button.disabled


def test_a_click_sends_only_what_changed(tmap):
    tmap.picker.value = "R2"
    polygons = {lay.model_id for lay in tmap.unit_layers}
    with record_messages() as sent:
        click(tmap, "u5")
    updates = [m for m in sent if m.msg_type == "comm_msg"]
    touched = {m.model_id for m in updates} & polygons
    u5 = tmap.unit_layers[tmap.state.unit_ids.get_loc("u5")].model_id
    assert touched == {u5}
    assert not any("locations" in m.data.get("state", {}) for m in updates)
    rows = {r.model_id for r in tmap.panel.rows.values()}
    assert {m.model_id for m in updates} & rows == rows  # both rows changed
    assert sum(m.nbytes for m in updates) < 20_000


def test_undo_redo_buttons(tmap):
    tmap.picker.value = "R2"
    click(tmap, "u5")
    click(tmap, "u4")
    tmap.undo_button.click()
    assert tmap.alignment["u4"] == "R1" and tmap.alignment["u5"] == "R2"
    tmap.undo_button.click()
    assert totals(tmap) == {"R1": 190.0, "R2": 260.0}
    assert tmap.undo_button.disabled and not tmap.redo_button.disabled
    tmap.redo_button.click()
    assert tmap.alignment["u5"] == "R2"
    i = tmap.state.unit_ids.get_loc("u5")
    assert tmap.unit_layers[i].fill_color == tmap.colors["R2"]


def test_lock_by_click_then_move_is_refused(tmap):
    tmap.mode.value = "lock"
    tmap.reason.value = "key account"
    click(tmap, "u5")
    assert tmap.state.locked() == {"u5": ("R1", "key account")}
    i = tmap.state.unit_ids.get_loc("u5")
    assert tmap.unit_layers[i].dash_array == "4 3"
    tmap.mode.value = "move"
    tmap.picker.value = "R2"
    click(tmap, "u5")
    assert tmap.alignment["u5"] == "R1"
    assert "locked unit(s) not moved: u5" in tmap.status.value
    tmap.mode.value = "unlock"
    click(tmap, "u5")
    assert tmap.state.locks == {} and tmap.unit_layers[i].dash_array is None


def test_box_select_moves_units_inside(tmap, toy_grid_3x3):
    """A rectangle over the middle row's two left cells (u4, u5) moves both."""
    pts = toy_grid_3x3.units.loc[["u4", "u5"]].centroid.to_crs("EPSG:4326")
    x0, x1 = pts.x.min() - 0.01, pts.x.max() + 0.01
    y0, y1 = pts.y.min() - 0.01, pts.y.max() + 0.01
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    tmap.picker.value = "R2"
    msg = {
        "event": "draw:created",
        "geo_json": {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        },
    }
    tmap.draw._handle_leaflet_event(None, msg, [])
    assert tmap.state.undo_stack[-1].label == "move 2 units to R2"
    assert tmap.alignment["u4"] == "R2" and tmap.alignment["u5"] == "R2"
    assert "R1 is in 2 pieces" in tmap.contiguity_box.value


def test_colour_by_kpi_and_by_change(tmap):
    tmap.set_color_by("kpi:workload")
    fills = [lay.fill_color for lay in tmap.unit_layers]
    assert len(set(fills)) > 1
    lo = int(np.argmin(tmap._units["workload"].to_numpy()))
    hi = int(np.argmax(tmap._units["workload"].to_numpy()))
    assert fills[lo] != fills[hi]
    assert "workload" in tmap.legend.value
    tmap.set_color_by("change:current")
    assert {lay.fill_color for lay in tmap.unit_layers} == {UNCHANGED}
    tmap.picker.value = "R2"
    click(tmap, "u5")
    i = tmap.state.unit_ids.get_loc("u5")
    assert tmap.unit_layers[i].fill_color == tmap.colors["R2"]
    assert "<b>1</b> units" in tmap.legend.value
    tmap.color_picker.value = "territory"
    assert tmap.unit_layers[0].fill_color == tmap.colors[tmap.alignment["u1"]]
    with pytest.raises(SpecificationError, match="color_by must be"):
        tmap.set_color_by("rainbow")
    with pytest.raises(SpecificationError, match="no alignment named 'x'"):
        tmap.set_color_by("change:x")


def test_save_as_stores_provenance(tmap):
    tmap.picker.value = "R2"
    click(tmap, "u5")
    tmap.lock(["u1"], "home county")
    study = tmap.save_as("edited")
    al = study.alignments["edited"]
    assert al.same_assignment(tmap.alignment) and al.name == "edited"
    assert al.provenance["method"] == "manual/widget"
    assert al.provenance["steps"] == ["move 1 unit to R2"]
    assert al.provenance["locked"] == {"u1": "home county"}
    assert ("change vs edited", "change:edited") in tmap.color_picker.options
    with pytest.raises(SpecificationError, match="already has an alignment"):
        tmap.save_as("edited")
    tmap.save_name.value = ""
    tmap.save_button.click()
    assert "save failed" in tmap.status.value


def test_optimise_with_align_keeps_locks_and_undoes(tmap):
    tmap.lock(["u9"], "customer asked")
    before = tmap.alignment
    ch = tmap.optimise("align", time_limit=10, seed=0)
    al = tmap.alignment
    assert al["u9"] == "R2"
    assert tmap.state.balance_table()["in_band"].all()  # ±10 % now holds
    assert ch.label == "optimise (align)"
    assert tmap.progress.value == 1.0
    assert tmap.last_result.status in ("optimal", "feasible", "time_limit")
    saved = tmap.save_as("opt").alignments["opt"]
    assert "optimised_with" in saved.provenance
    tmap.undo()
    assert tmap.alignment.same_assignment(before)


def test_optimise_with_a_callable_and_errors(tmap):
    def everything_to_r2(study, alignment, *, locked, time_limit, seed):
        changes = {u: "R2" for u in alignment.unit_ids if u not in locked}
        return alignment.replace(changes)

    tmap.lock(["u1"], "stay")
    tmap.optimise(everything_to_r2)
    assert tmap.alignment.sizes().to_dict() == {"R1": 1, "R2": 8}

    def broken(study, alignment):
        raise RuntimeError("solver exploded")

    with pytest.raises(RuntimeError, match="solver exploded"):
        tmap.optimise(broken)
    assert tmap.progress.bar_style == "danger"
    with pytest.raises(SpecificationError, match="method must be"):
        tmap.optimise("simulated-annealing")


def test_rejects_non_study():
    with pytest.raises(TypeError, match="needs a terrakit Study"):
        TerritoryMap({"units": None})


def test_current_alignment_is_an_alignment(tmap):
    assert isinstance(tmap.alignment, Alignment)
    assert tmap.alignment.provenance["config"]["tolerance"] == 0.10


def test_optimise_with_rebalance_keeps_locks(tmap):
    pytest.importorskip("terrakit.realign.rebalance")
    tmap.lock(["u5"], "key account")
    ch = tmap.optimise("rebalance", time_limit=10, seed=0)
    assert ch.label == "optimise (rebalance)"
    assert tmap.alignment["u5"] == "R1"
    assert tmap.state.balance_table()["in_band"].all()


def test_a_given_adjacency_drives_the_contiguity_warnings(toy_grid_3x3):
    """With u4 moved to R2, u7 touches the rest of R1 (u5) and u4 the rest of
    R2 (u8) only at corners: both territories are whole under the default
    queen graph and in two pieces under a rook graph passed to the map."""
    from terrakit.data.geo import adjacency

    queen = TerritoryMap(toy_grid_3x3, "current", tolerance=0.5, time_limit=10)
    queen.move(["u4"], "R2")
    assert queen.state.contiguity_warnings() == []
    rook = adjacency(toy_grid_3x3.units, "rook")
    m = TerritoryMap(
        toy_grid_3x3, "current", tolerance=0.5, time_limit=10, adjacency=rook
    )
    m.move(["u4"], "R2")
    assert m.state.contiguity_warnings() == ["R1 is in 2 pieces", "R2 is in 2 pieces"]
    m.optimise(method="align")  # designs on the map's graph: whole under rook
    assert m.state.contiguity_warnings() == []
    seen = {}

    def solver(study, alignment, **kw):
        seen.update(kw)
        return alignment

    m.optimise(method=solver)  # a callable gets only what it asked for
    assert "adjacency" not in seen


def test_one_unit_id_is_one_unit_not_its_characters(tmap):
    """``move("u5", ...)`` was read as the units 'u' and '5'."""
    ch = tmap.move("u5", "R2")
    assert ch.n_units == 1 and tmap.state.territory_of("u5") == "R2"
    tmap.lock("u5", "key account")
    assert list(tmap.state.locked()) == ["u5"]
    tmap.unlock("u5")
    assert tmap.state.locked() == {}


def test_bad_settings_are_explained_at_construction(toy_grid_3x3):
    """A bad color_by was a traitlets TraitError; time_limit=0 failed only at
    the first Optimise click; a text tolerance was a bare float() ValueError."""
    with pytest.raises(
        SpecificationError, match=r"cannot colour by 'nope': not a numeric unit column"
    ):
        TerritoryMap(toy_grid_3x3, "current", color_by="kpi:nope")
    with pytest.raises(SpecificationError, match="time_limit must be a positive"):
        TerritoryMap(toy_grid_3x3, "current", time_limit=0)
    with pytest.raises(
        SpecificationError, match=r"tolerance must be in \(0, 1\), got '5%'"
    ):
        TerritoryMap(toy_grid_3x3, "current", tolerance="5%")
    m = TerritoryMap(toy_grid_3x3, "current", color_by="kpi:workload")
    assert m.color_by == "kpi:workload"


def test_save_as_and_colour_by_refuse_non_text(tmap):
    """save_as(None) stored an alignment named 'None'; set_color_by(None) was an
    AttributeError."""
    with pytest.raises(SpecificationError, match="the alignment's name must be text"):
        tmap.save_as(None)
    assert sorted(tmap.study.alignments) == ["current"]
    with pytest.raises(SpecificationError, match="color_by must be 'territory'"):
        tmap.set_color_by(None)


def test_undo_with_nothing_to_undo_says_so(tmap):
    assert tmap.undo() is None and "nothing to undo" in tmap.status.value
    assert tmap.redo() is None and "nothing to redo" in tmap.status.value


def test_undo_and_redo_keep_locked_units_and_say_so(tmap):
    """Undo moved a unit locked after the move back, and locked() then reported
    the old territory; the panel, layers and saved plan follow the partial undo."""
    tmap.move(["u4", "u5"], "R2")
    tmap.lock(["u5"], "key account stays with R2")
    tmap.undo()
    assert tmap.alignment["u5"] == "R2" and tmap.alignment["u4"] == "R1"
    assert tmap.state.locked() == {"u5": ("R2", "key account stays with R2")}
    assert "1 locked unit(s) kept in place: u5" in tmap.status.value
    assert totals(tmap) == {"R1": 140.0, "R2": 310.0}
    for u, t in (("u4", "R1"), ("u5", "R2")):
        i = tmap.state.unit_ids.get_loc(u)
        assert tmap.unit_layers[i].fill_color == tmap.colors[t]
    saved = tmap.save_as("partly undone").alignments["partly undone"]
    assert saved.same_assignment(tmap.alignment)
    assert saved.provenance["locked"] == {"u5": "key account stays with R2"}
    assert saved.provenance["units_moved_from_base"] == 1
    tmap.unlock(["u5"])
    tmap.redo()  # u4 only: what the undo changed
    assert tmap.alignment["u4"] == "R2" and "kept in place" not in tmap.status.value
    tmap.undo()
    tmap.lock(["u4"], "home county")
    tmap.redo()
    assert tmap.alignment["u4"] == "R1"
    assert "1 locked unit(s) kept in place: u4" in tmap.status.value


def test_optimise_balances_unit_counts(toy_grid_3x3):
    """With measures=["units"] the solver ran without any balance band and the
    map reported 'optimal' with its territories outside the band."""
    skewed = toy_grid_3x3.alignments["current"].replace(
        {"u3": "R1", "u8": "R1"}, name="skewed"
    )
    study = toy_grid_3x3.with_alignment(skewed)
    m = TerritoryMap(study, "skewed", measures=["units"], tolerance=0.15)
    assert m.alignment.sizes().to_dict() == {"R1": 7, "R2": 2}
    m.optimise("align", time_limit=10, seed=0)
    assert m.last_result.provenance["config"]["balance"] == {"units": 0.15}
    assert sorted(m.alignment.sizes().tolist()) == [4, 5]
    assert m.state.balance_table()["in_band"].all()
    assert "units" not in m.study.units.columns  # the study itself is unchanged


def test_save_as_records_the_solver_only_while_its_step_is_applied(tmap):
    """After optimise and undo, save_as still wrote optimised_with."""
    tmap.optimise("align", time_limit=10, seed=0)
    assert "optimised_with" in tmap.save_as("solved").alignments["solved"].provenance
    tmap.undo()
    prov = tmap.save_as("undone").alignments["undone"].provenance
    assert prov["steps"] == [] and "optimised_with" not in prov
    tmap.redo()
    prov = tmap.save_as("redone").alignments["redone"].provenance
    assert prov["optimised_with"]["config"]["balance"] == {"workload": 0.10}
    tmap.move(["u1"], "R2")  # a hand edit on top keeps the solver record
    prov = tmap.save_as("edited").alignments["edited"].provenance
    assert prov["steps"] == ["optimise (align)", "move 1 unit to R2"]
    assert prov["optimised_with"]["method"] == tmap.last_result.provenance["method"]


def test_optimise_on_territories_that_are_not_reps_is_refused_before_solving(
    toy_grid_3x3, monkeypatch
):
    """The error came after the full solve and suggested territories=[...],
    which TerritoryMap does not take."""
    import terrakit.design
    import terrakit.realign

    named = toy_grid_3x3.alignments["current"]
    named = Alignment(named.assignment.map({"R1": "West", "R2": "East"}), name="named")
    m = TerritoryMap(toy_grid_3x3.with_alignment(named), "named", time_limit=10)
    solved = []
    for mod, fn in ((terrakit.design, "align"), (terrakit.realign, "rebalance")):
        monkeypatch.setattr(mod, fn, lambda *a, **k: solved.append(a))
    for method in ("align", "rebalance"):
        with pytest.raises(SpecificationError) as err:
            m.optimise(method)
        msg = str(err.value)
        assert msg.startswith(
            f"optimise({method!r}) gives each rep of the study a territory named "
            "by its rep id, but the reps ['R1', 'R2'] are not territories of this "
            "map (its territories: ['East', 'West']); nothing was solved."
        )
        assert "Alignment(al.assignment.map({'East': <its rep id>" in msg
        assert "territories=[" not in msg
    assert solved == [] and m.last_result is None and m.state.undo_stack == []

    def to_reps(study, alignment):
        return Alignment(alignment.assignment.map({"West": "R1", "East": "R2"}))

    with pytest.raises(
        SpecificationError,
        match=r"optimise \(to_reps\) returned territories \['R1', 'R2'\] that are "
        r"not on this map \(its territories: \['East', 'West'\]\); nothing was "
        "changed",
    ):
        m.optimise(to_reps)
    with pytest.raises(SpecificationError) as err:
        m.move(["u1"], "R9")
    assert "territories=[" not in str(err.value)
    assert "add the rep to the study's reps table" in str(err.value)


def test_balance_panel_header_shows_the_band_to_a_tenth(toy_grid_3x3):
    """tolerance=0.025 was shown as 'band ±2 %'."""
    m = TerritoryMap(toy_grid_3x3, "current", tolerance=0.025, contiguity=False)
    assert "band ±2.5 % of the mean" in m.panel.header.value
    assert "(band ±2.5 %)" in m.state.summary()


def test_optimise_rebalance_balances_unit_counts(toy_grid_3x3):
    """With measures=["units"] rebalance crashed: 'cannot insert units_before,
    already exists' (its count column clashed with the measure's)."""
    skewed = toy_grid_3x3.alignments["current"].replace(
        {"u3": "R1", "u8": "R1"}, name="skewed"
    )
    study = toy_grid_3x3.with_alignment(skewed)
    m = TerritoryMap(study, "skewed", measures=["units"], tolerance=0.15)
    m.optimise("rebalance", time_limit=10, seed=0)
    assert sorted(m.alignment.sizes().tolist()) == [4, 5]
    t = m.last_result.territories
    assert t["n_units_after"].tolist() == t["units"].tolist()
    assert "units" not in m.study.units.columns


def test_optimise_button_rebalances_units_without_sales(toy_grid_3x3):
    """The Optimise button with 'rebalance' failed on every study whose units
    carry no sales: rebalance's default moved_measure='sales' was not a
    column.  The map now counts its own measure moved (workload here); with
    sales (from the accounts) rebalance keeps its default."""
    pytest.importorskip("terrakit.realign.rebalance")
    plain = toy_grid_3x3.replace(accounts=None, history=None)
    assert "sales" not in plain.units.columns
    m = TerritoryMap(plain, "current", tolerance=0.10, time_limit=10)
    m.method.value = "rebalance"
    m._optimise_clicked()  # what clicking "Optimise" does
    assert "optimise (rebalance): " in m.status.value
    assert "failed" not in m.status.value
    assert m.last_result.moved_measure == "workload"
    assert m.state.balance_table()["in_band"].all()  # R1 190 / R2 260 before
    with_sales = TerritoryMap(toy_grid_3x3, "current", tolerance=0.10, time_limit=10)
    with_sales.optimise("rebalance", seed=0)
    assert with_sales.last_result.moved_measure == "sales"
    # a measure given by the caller wins
    m.undo()
    m.optimise("rebalance", seed=0, moved_measure="units")
    assert m.last_result.moved_measure == "units"


def test_integer_territory_ids_survive_the_map_and_save_as(toy_grid_3x3):
    """With int64 territory ids the map's alignment and the saved plan came
    back as object: the exported plan was not equal to the loaded one."""
    ints = toy_grid_3x3.alignments["current"].assignment.map({"R1": 1, "R2": 2})
    study = toy_grid_3x3.with_alignment(Alignment(ints, name="numbered"))
    m = TerritoryMap(study, "numbered", tolerance=0.10)
    loaded = study.alignments["numbered"].assignment
    assert loaded.dtype == np.dtype("int64")
    assert m.alignment.assignment.equals(loaded)  # no edit: the same plan
    m.move(["u5"], 2)
    saved = m.save_as("copy").alignments["copy"].assignment
    assert saved.dtype == np.dtype("int64")
    assert saved.equals(loaded.where(loaded.index != "u5", 2))


def test_panel_data_total_is_the_exact_total(toy_grid_3x3):
    """data-total was written to 6 significant digits: 1,111,110.3 read back
    as 1.11111e+06, so scripted checks of the panel failed above a million."""
    units = toy_grid_3x3.units.assign(workload=[250_000.07] * 9)
    study = toy_grid_3x3.replace(units=units)
    m = TerritoryMap(study, "current", tolerance=0.10)
    m.move(["u5"], "R2")  # R2: 5 units, 1,250,000.35
    shown = totals(m)
    exact = m.state.totals()
    assert shown == exact.to_dict()  # bit for bit
    assert shown["R2"] == pytest.approx(1_250_000.35, abs=1e-6)
    assert f'data-total="{float(exact["R2"])!r}"' in m.panel.rows["R2"].value


def test_save_as_keeps_the_colouring_and_refreshes_the_change_view(tmap):
    """Save as with a new name switched the view to territory colours; an
    overwrite left 'change vs <name>' comparing with the old plan."""
    tmap.set_color_by("change:current")
    tmap.move(["u5"], "R2")
    with record_messages() as sent:  # no detour through territory colours
        tmap.save_as("plan")
    assert not [m for m in sent if "fill_color" in m.data.get("state", {})]
    assert tmap.color_by == tmap.color_picker.value == "change:current"
    fills = [lay.fill_color for lay in tmap.unit_layers]
    assert fills.count(UNCHANGED) == 8 and "<b>1</b> units" in tmap.legend.value
    tmap.set_color_by("change:plan")
    tmap.move(["u1"], "R2")
    assert "<b>1</b> units" in tmap.legend.value
    tmap.save_as("plan", overwrite=True)
    assert tmap.color_by == tmap.color_picker.value == "change:plan"
    assert "<b>0</b> units" in tmap.legend.value and "plan" in tmap.legend.value
    assert {lay.fill_color for lay in tmap.unit_layers} == {UNCHANGED}
    tmap.set_color_by("kpi:workload")
    tmap.save_as("again")
    assert tmap.color_by == "kpi:workload" and "workload" in tmap.legend.value


def test_reopening_a_saved_plan_restores_its_locks(tmap):
    """The locks a plan records in its provenance were lost on reopening, so
    Optimise could move those units."""
    tmap.lock(["u1"], "home county")
    tmap.lock(["u9"], "signed contract")
    study = tmap.save_as("workshop")
    m = TerritoryMap(study, "workshop", tolerance=0.10, time_limit=10)
    assert m.state.locked() == {
        "u1": ("R1", "home county"),
        "u9": ("R2", "signed contract"),
    }
    status = html.unescape(m.status.value)
    assert "2 unit(s) locked again as recorded in 'workshop'" in status
    i = m.state.unit_ids.get_loc("u9")
    assert m.unit_layers[i].dash_array is not None  # drawn as locked
    m.optimise("align", time_limit=10, seed=0)
    assert m.alignment["u1"] == "R1" and m.alignment["u9"] == "R2"
    assert m.save_as("again").alignments["again"].provenance["locked"] == {
        "u1": "home county",
        "u9": "signed contract",
    }
    # a solver's record of its locks counts as well; unknown ids are named
    solved = Alignment(
        study.alignments["current"].assignment,
        name="solved",
        provenance={"locked_reasons": {"u5": "key account", "u99": "gone"}},
    )
    m2 = TerritoryMap(study.with_alignment(solved), "solved", contiguity=False)
    assert m2.state.locked() == {"u5": ("R1", "key account")}
    assert "1 recorded lock(s) not on the map: ['u99']" in html.unescape(
        m2.status.value
    )
    fresh = TerritoryMap(study, "current", contiguity=False)
    assert fresh.state.locks == {} and "locked again" not in fresh.status.value


def test_locking_again_with_an_empty_reason_keeps_the_reason(tmap):
    """A lock box with an empty reason replaced the recorded reason, and the
    status counted the already locked unit as locked."""
    tmap.lock(["u5"], "key-account headquarters")
    tmap.mode.value = "lock"
    tmap.reason.value = ""
    tmap.select(["u5", "u6"])
    assert tmap.state.locked() == {
        "u5": ("R1", "key-account headquarters"),
        "u6": ("R2", "locked in the map"),
    }
    status = re.sub("<[^>]+>", "", tmap.status.value)
    assert status == "locked 1 unit(s); 1 already locked, reason kept"
    tmap.lock(["u5"], "moved HQ")
    assert "locked 0 unit(s); new reason for 1 already locked" in tmap.status.value


def test_touching_territories_get_distinct_colours_everywhere():
    """Colours repeated after 20 territories, so touching territories could
    share one; swatches and home markers follow the map's colours."""
    import terrakit as tk

    s = tk.datasets.synthetic_region(n_units=80, n_reps=22, seed=0)
    m = TerritoryMap(s, "current")
    st = m.state
    assert len(st.territories) == 22
    assert len(set(m.colors.values())) == 22
    coo = st._adj_matrix.tocoo()
    t = st.territories
    touching = {
        (t[a], t[b])
        for a, b in zip(st.codes[coo.row], st.codes[coo.col], strict=True)
        if a != b
    }
    assert touching and all(m.colors[a] != m.colors[b] for a, b in touching)
    for k, lay in enumerate(m.unit_layers):
        assert lay.fill_color == m.colors[t[st.codes[k]]]
    for tid, row in m.panel.rows.items():
        assert f"background:{m.colors[tid]};flex:none" in row.value
    homes = {lay.name: lay.fill_color for lay in m.homes_layer.layers}
    assert homes == {f"home {r}": m.colors[r] for r in s.reps.index}


def test_save_button_overwrites_only_when_ticked(tmap):
    """The button's error said 'pass overwrite=True', which the UI cannot do."""
    tmap.move(["u5"], "R2")
    tmap.save_name.value = "workshop"
    tmap.save_button.click()
    tmap.move(["u1"], "R2")
    tmap.save_button.click()
    status = html.unescape(re.sub("<[^>]+>", "", tmap.status.value))
    assert status == (
        "save failed: the study already has an alignment named 'workshop'; "
        "type another name, or tick 'overwrite' to replace it"
    )
    assert "overwrite=True" not in status
    assert tmap.study.alignments["workshop"]["u1"] == "R1"
    assert tmap.save_overwrite in tmap.children[2].children
    tmap.save_overwrite.value = True
    tmap.save_button.click()
    assert "saved as" in tmap.status.value
    assert tmap.study.alignments["workshop"]["u1"] == "R2"
    assert tmap.save_overwrite.value is False  # the next overwrite is asked again


def test_optimise_uses_the_given_adjacency_without_contiguity(
    toy_grid_3x3, monkeypatch
):
    """contiguity=False dropped a given adjacency, so Optimise ran on the
    queen graph and ignored the island links the docstring promises."""
    import terrakit.design
    from terrakit.data.geo import adjacency

    adj = adjacency(toy_grid_3x3.units).with_links([("u1", "u9")])
    seen = {}

    def spy(study, **kw):
        seen.update(kw)
        return study.alignments["current"]

    monkeypatch.setattr(terrakit.design, "align", spy)
    m = TerritoryMap(toy_grid_3x3, "current", adjacency=adj, contiguity=False)
    assert m.state.adjacency is None  # no contiguity warnings
    assert m.contiguity_box.value == ""
    m.optimise("align", time_limit=5)
    got = seen.get("adjacency")
    assert got is not None, "Optimise did not get the given adjacency"
    assert bool(got.subgraph(["u1", "u9"]).matrix[0, 1])  # the island link


def test_edits_through_state_redraw_the_map(tmap):
    """Edits through the public m.state left colours, panel, lock outlines
    and the undo/redo buttons stale."""
    from terrakit.widgets._display import LOCK_COLOR

    i1 = tmap.state.unit_ids.get_loc("u5")
    i2 = tmap.state.unit_ids.get_loc("u6")
    tmap.state.move(["u5"], "R2")
    assert totals(tmap) == {"R1": 140.0, "R2": 310.0}
    assert tmap.unit_layers[i1].fill_color == tmap.colors["R2"]
    assert tmap.undo_button.disabled is False
    tmap.state.lock(["u6"], "HQ")
    assert tmap.unit_layers[i2].color == LOCK_COLOR
    tmap.state.unlock(["u6"])
    assert tmap.unit_layers[i2].color == "#ffffff"
    tmap.state.undo()
    assert totals(tmap) == {"R1": 190.0, "R2": 260.0}
    assert tmap.unit_layers[i1].fill_color == tmap.colors["R1"]
    assert tmap.undo_button.disabled is True
    assert tmap.redo_button.disabled is False
    tmap.state.redo()
    assert totals(tmap) == {"R1": 140.0, "R2": 310.0}


def test_map_methods_redraw_once(tmap, monkeypatch):
    """The map's own edits go through the state's notification: one refresh
    of the panels per step, not two."""
    calls = []
    orig = tmap._refresh_panels
    monkeypatch.setattr(tmap, "_refresh_panels", lambda: (calls.append(1), orig()))
    tmap.move(["u5"], "R2")
    assert len(calls) == 1
    tmap.undo()
    tmap.redo()
    assert len(calls) == 3
    tmap.move(["u5"], "R2")  # already there: nothing to redraw
    assert len(calls) == 3


def test_set_alignment_loads_a_plan_as_one_undoable_step(tmap):
    """There was no widget-level set_alignment to load an external plan."""
    base = tmap.alignment
    plan = Alignment(base.assignment.where(base.assignment.index != "u5", "R2"), "p")
    ch = tmap.set_alignment(plan)
    assert ch.label == "load p" and ch.n_units == 1
    assert totals(tmap) == {"R1": 140.0, "R2": 310.0}
    i = tmap.state.unit_ids.get_loc("u5")
    assert tmap.unit_layers[i].fill_color == tmap.colors["R2"]
    status = html.unescape(re.sub("<[^>]+>", "", tmap.status.value))
    assert status == "load p: 1 units changed territory"
    tmap.undo()
    assert tmap.alignment.same_assignment(base)
    ch = tmap.set_alignment("current", label="back")  # a name in the study
    assert ch.label == "back" and ch.n_units == 0  # already that plan
    assert len(tmap.state.redo_stack) == 1  # an empty step is not recorded


def test_move_accepts_a_selection_of_the_units_table(tmap, toy_grid_3x3):
    """A GeoDataFrame selection reported its column names as unknown unit ids,
    a boolean mask True/False."""
    units = toy_grid_3x3.units
    ch = tmap.move(units.loc[["u5", "u1"]], "R2")
    assert ch.label == "move 2 units to R2"
    assert tmap.alignment["u1"] == tmap.alignment["u5"] == "R2"
    tmap.undo()
    ch = tmap.move(units.index.isin(["u5"]), "R2")
    assert ch.label == "move 1 unit to R2"
    tmap.mode.value = "lock"
    tmap.select(pd.Series(units.index == "u1", index=units.index))
    assert list(tmap.state.locked()) == ["u1"]


def test_wrong_adjacency_type_says_how_to_build_one(toy_grid_3x3):
    """A str or a scipy matrix gave a bare AttributeError ('subgraph')."""
    import scipy.sparse as sp

    for bad, name in [("queen", "builtins.str"), (sp.identity(9), "scipy.sparse")]:
        with pytest.raises(TypeError) as e:
            TerritoryMap(toy_grid_3x3, "current", adjacency=bad)
        msg = str(e.value)
        assert msg.startswith(
            "adjacency must be a terrakit.data.geo.Adjacency over the units, "
            f"got {name}"
        )
        assert msg.endswith(
            "; build it with tk.data.geo.adjacency(units) (add links to islands "
            "with .with_links([(a, b), ...])) or leave it None"
        )


def test_reopened_plan_keeps_its_colours():
    """Colours depended on the touching-territories graph of the plan, so
    reopening a saved plan after a few moves recoloured most territories."""
    import terrakit as tk

    s = tk.datasets.synthetic_region(n_units=80, n_reps=22, seed=0)
    m = TerritoryMap(s, "current")
    before = dict(m.colors)
    ids = m.state.unit_ids
    m.move([ids[3]], m.state.territories[5])
    m.move([ids[10], ids[40]], m.state.territories[0])
    assert m.colors == before  # stable while editing
    m2 = TerritoryMap(m.save_as("edited"), "edited")
    diff = [t for t in m.colors if m.colors[t] != m2.colors[t]]
    assert diff == []
    assert m.colors[m.state.territories[0]] == "#1f77b4"


def test_a_missing_potential_shows_as_a_dash(toy_grid_3x3):
    """A NaN potential (a KPI that is not balanced) refused to open the map."""
    from terrakit.exceptions import TerrakitWarning

    units = toy_grid_3x3.units.copy()
    units.loc["u1", "potential"] = np.nan
    study = toy_grid_3x3.replace(units=units)
    with pytest.warns(TerrakitWarning, match=r"units.potential: 1 of 9 units"):
        m = TerritoryMap(study, "current", tolerance=0.10)
    rows = dict(re.findall(r'<tr data-territory="(R\d)">(.*?)</tr>', m.kpi_table.value))
    head = re.findall(r"<th>(\w+)</th>", m.kpi_table.value)
    cells = {t: re.findall(r"<td[^>]*>([^<]*)</td>", r) for t, r in rows.items()}
    col = {c: k for k, c in enumerate(head[1:])}  # after "territory"
    assert cells["R1"][col["potential"]] == "–"
    assert cells["R1"][col["penetration"]] == "–"
    assert cells["R2"][col["potential"]] == "40.0 k"
    assert m._hover_text[0].endswith("potential –")
    assert totals(m) == {"R1": 190.0, "R2": 260.0}
    m.set_color_by("kpi:potential")
    assert m.unit_layers[0].fill_color == UNCHANGED  # no value: no class
    m.move(["u1"], "R2")
    assert m.state.kpis()["potential"].isna().tolist() == [False, True]


def test_colour_by_change_refuses_ids_equal_only_as_text(toy_grid_3x3):
    """'change vs' an alignment with ids '1'/'2' on a map with 1/2 showed
    every unit as moved."""
    ints = toy_grid_3x3.alignments["current"].assignment.map({"R1": 1, "R2": 2})
    study = toy_grid_3x3.with_alignment(Alignment(ints, name="numbered"))
    study = study.with_alignment(Alignment(ints.astype(str), name="texts"))
    m = TerritoryMap(study, "numbered", tolerance=0.10)
    m.set_color_by("change:numbered")
    with pytest.raises(DataValidationError, match="no territory id of 'texts' is a"):
        m.set_color_by("change:texts")
    assert m.color_by == "change:numbered" and m._ref.name == "numbered"
    m.color_picker.value = "change:texts"  # the picker says so and goes back
    assert m.color_by == m.color_picker.value == "change:numbered"
    assert "colour by failed: alignment.territory_id: no territory id of" in (
        html.unescape(m.status.value)
    )
    m.move(["u5"], 2)  # the change view still follows the edits
    i = m.state.unit_ids.get_loc("u5")
    assert m.unit_layers[i].fill_color == m.colors[2]
    assert "<b>1</b> units" in m.legend.value


def test_panel_and_kpi_rows_follow_the_numeric_order(toy_grid_3x3):
    """Ids 5, 10, 20 were listed as text: 10, 20, 5."""
    ids = toy_grid_3x3.alignments["current"].assignment.index
    al = Alignment(pd.Series([5, 5, 10, 10, 20, 20, 5, 10, 20], index=ids), name="n")
    m = TerritoryMap(toy_grid_3x3.with_alignment(al), "n", tolerance=0.10)
    assert list(m.panel.rows) == [5, 10, 20]
    assert re.findall(r'<tr data-territory="(\d+)">', m.kpi_table.value) == [
        "5",
        "10",
        "20",
    ]


def test_optimise_checks_its_time_limit_like_the_constructor(tmap):
    """``optimise(time_limit="5s")`` was a bare 'could not convert string to
    float' ValueError; the constructor explains the same value."""
    for bad in ("5s", 0, float("nan")):
        with pytest.raises(SpecificationError) as e:
            tmap.optimise("align", time_limit=bad)
        assert str(e.value) == (
            f"time_limit must be a positive number of seconds, got {bad!r}"
        )
    assert tmap.state.undo_stack == [] and tmap.last_result is None


def test_simplify_m_is_checked_at_construction(toy_grid_3x3):
    """``simplify_m="100"`` was a bare TypeError from a comparison, -5 and NaN a
    ValueError naming 'tolerance_m', a parameter the user never passed."""
    for bad in (-5, float("nan"), "100 m", True):
        with pytest.raises(SpecificationError) as e:
            TerritoryMap(toy_grid_3x3, "current", simplify_m=bad)
        assert str(e.value) == (
            f"simplify_m must be a number of metres >= 0, got {bad!r}; e.g. "
            "simplify_m=100 draws the shapes simplified to 100 m, 0 draws them as "
            "they are and None chooses from the map's extent"
        )
    # text that reads as a number counts, as for tolerance and time_limit
    assert TerritoryMap(toy_grid_3x3, "current", simplify_m="100").simplify_m == 100.0
    assert TerritoryMap(toy_grid_3x3, "current", simplify_m=0).simplify_m == 0.0


def test_lock_with_reason_none_is_no_reason(tmap):
    """``lock(ids, None)`` saved the reason 'None' in the plan's provenance and
    replaced the recorded reason of a unit already locked."""
    tmap.lock(["u1"], None)
    tmap.lock(["u2"], "key account")
    tmap.lock(["u2"], None)
    assert "1 already locked, reason kept" in tmap.status.value
    study = tmap.save_as("edited")
    assert study.alignments["edited"].provenance["locked"] == {
        "u1": "locked in the map",
        "u2": "key account",
    }


def test_move_by_a_one_column_boolean_frame(tmap, toy_grid_3x3):
    """``m.move(units[["workload"]] > 60, "R2")`` moved every unit of R1."""
    units = toy_grid_3x3.units
    ch = tmap.move(units[["workload"]] > 60, "R2")  # u7; u8, u9 are in R2
    assert ch.positions.tolist() == [6]
    assert totals(tmap) == {"R1": 120.0, "R2": 330.0}

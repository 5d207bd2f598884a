"""EditorState: the widget-free core (moves, undo/redo, locks, balance)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from terrakit import metrics
from terrakit.data.alignment import Alignment
from terrakit.data.geo import adjacency
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)
from terrakit.widgets.state import EditorState


@pytest.fixture
def state(toy_grid_3x3):
    """Editing state of ``toy_grid_3x3`` (R1 workload 190, R2 260), ±10 %."""
    units = toy_grid_3x3.unit_measures()
    return EditorState(
        units,
        toy_grid_3x3.alignments["current"],
        measures=["workload"],
        tolerance=0.10,
        adjacency=adjacency(units),
    )


def test_initial_totals_match_the_hand_count(state):
    assert state.totals().to_dict() == {"R1": 190.0, "R2": 260.0}
    tab = state.balance_table()
    assert tab.loc["R1", "rel_dev"] == pytest.approx(190 / 225 - 1)
    assert not tab["in_band"].any()  # 190 and 260 are both > 10 % off 225


def test_move_undo_redo(state, toy_grid_3x3):
    ch = state.move(["u5"], "R2")
    assert ch.n_units == 1 and ch.label == "move 1 unit to R2"
    assert state.alignment["u5"] == "R2"
    assert state.totals().to_dict() == {"R1": 140.0, "R2": 310.0}
    assert state.undo() is ch
    assert state.alignment.same_assignment(toy_grid_3x3.alignments["current"])
    assert state.redo() is ch
    assert state.alignment["u5"] == "R2"
    # a new step clears the redo stack
    state.undo()
    state.move(["u1"], "R2")
    assert state.redo() is None
    assert state.alignment["u5"] == "R1" and state.alignment["u1"] == "R2"
    assert state.undo() is not None and state.undo() is None


def test_moving_to_own_territory_records_nothing(state):
    ch = state.move(["u1", "u2"], "R1")
    assert ch.n_units == 0 and state.undo_stack == []


def test_bad_ids_are_named(state):
    with pytest.raises(SpecificationError, match="unknown territory 'R9'"):
        state.move(["u1"], "R9")
    with pytest.raises(DataValidationError, match="not in the map"):
        state.move(["u1", "nope"], "R2")


def test_locked_units_stay(state):
    state.lock(["u5"], "key account")
    assert state.locked() == {"u5": ("R1", "key account")}
    ch = state.move(["u4", "u5"], "R2")
    assert ch.skipped == ("u5",)
    assert state.alignment["u5"] == "R1" and state.alignment["u4"] == "R2"
    assert state.unlock(["u5"]).tolist() == [4]
    assert state.move(["u5"], "R2").n_units == 1


def test_set_alignment_refuses_to_move_locks(state):
    state.lock(["u9"], "customer asked")
    other = state.alignment.replace({"u9": "R1", "u1": "R2"})
    with pytest.raises(DataValidationError, match="moves 1 locked units"):
        state.set_alignment(other)
    ok = state.alignment.replace({"u1": "R2"})
    ch = state.set_alignment(ok, label="optimise")
    assert ch.n_units == 1 and state.undo_stack[-1].label == "optimise"


def test_balance_summary_equals_metrics_balance(state, toy_grid_3x3):
    state.move(["u5", "u8"], "R1")
    ours = state.balance_summary()
    ref = metrics.balance(toy_grid_3x3, state.alignment, measures=["workload"])
    pd.testing.assert_frame_equal(ours, ref, check_exact=False, rtol=1e-12)


def test_pieces_equal_metrics_contiguity(state, toy_grid_3x3):
    assert state.pieces().to_dict() == {"R1": 1, "R2": 1}
    state.move(["u4", "u5"], "R2")  # R1 = {u1, u2, u7}: u7 is cut off
    p = state.pieces()
    assert p["R1"] == 2
    ref = metrics.contiguity(toy_grid_3x3.units, state.alignment, state.adjacency)
    assert p.to_dict() == ref.to_dict()
    assert state.contiguity_warnings() == ["R1 is in 2 pieces"]


def test_kpis(state):
    k = state.kpis()
    assert k["units"].to_dict() == {"R1": 5, "R2": 4}
    # sales: a_k = 1000 k in u_k plus 500 in u5
    assert k.loc["R1", "sales"] == 1000 * (1 + 2 + 4 + 5 + 7) + 500
    assert k.loc["R2", "penetration"] == pytest.approx(1000 * (3 + 6 + 8 + 9) / 40_000)


def test_alignment_provenance(state):
    state.move(["u5"], "R2")
    state.lock(["u1"], "home county")
    al = state.alignment
    prov = al.provenance
    assert prov["method"] == "manual/widget"
    assert prov["steps"] == ["move 1 unit to R2"]
    assert prov["units_moved_from_base"] == 1
    assert prov["locked"] == {"u1": "home county"}
    assert al.name == "current (edited)"


def test_extra_territory_and_bad_parameters(toy_grid_3x3):
    units, al = toy_grid_3x3.unit_measures(), toy_grid_3x3.alignments["current"]
    st = EditorState(units, al, territories=["R3"])
    assert st.territories == ["R1", "R2", "R3"]
    assert st.totals().to_dict()["R3"] == 0.0
    st.move(["u9"], "R3")
    summ = st.balance_summary().loc["workload"]  # empty territories count too
    assert (summ["mean"], summ["min"], summ["max"]) == (150.0, 90.0, 190.0)
    with pytest.raises(SpecificationError, match="tolerance must be in"):
        EditorState(units, al, tolerance=1.5)
    with pytest.raises(DataValidationError, match="measure 'nope'"):
        EditorState(units, al, measures=["nope"])
    with pytest.raises(DataValidationError, match="leaves 1 of 9 units"):
        EditorState(units, _drop(al, "u9"))


def _drop(al, unit):
    from terrakit.data.alignment import Alignment

    return Alignment(al.assignment.drop(unit), name=al.name)


def test_summary_is_stable(state):
    state.move(["u4", "u5"], "R2")
    text = state.summary()
    assert "units moved from base 2" in text
    assert "workload: max deviation" in text
    assert "not contiguous: R1 is in 2 pieces" in text
    assert np.isfinite(state.balance_summary()["cv"]).all()


def test_undo_leaves_locked_units_where_they_are(state, toy_grid_3x3):
    """Undo put a unit locked after the move back in its old territory, and
    locked() then reported that territory with the lock's reason."""
    state.move(["u4", "u5"], "R2")
    state.lock(["u5"], "key account stays with R2")
    done = state.undo()
    assert done.skipped == ("u5",)
    assert done.label == "move 2 units to R2, less 1 locked unit"
    assert state.unit_ids[done.positions].tolist() == ["u4"]
    assert state.alignment["u5"] == "R2" and state.alignment["u4"] == "R1"
    assert state.locked() == {"u5": ("R2", "key account stays with R2")}
    # the totals and the exported alignment agree after the partial undo
    assert state.totals().to_dict() == {"R1": 140.0, "R2": 310.0}
    ref = metrics.balance(toy_grid_3x3, state.alignment, measures=["workload"])
    pd.testing.assert_frame_equal(
        state.balance_summary(), ref, check_exact=False, rtol=1e-12
    )
    assert state.alignment.provenance["steps"] == []
    assert state.alignment.provenance["units_moved_from_base"] == 1
    # redo brings back what the undo changed: u4 only, and skips nothing
    again = state.redo()
    assert again.positions.tolist() == done.positions.tolist()
    assert again.label == done.label and again.skipped == ()
    assert state.alignment["u4"] == "R2" and state.alignment["u5"] == "R2"
    assert state.alignment.provenance["steps"] == [done.label]
    assert state.undo() is again and state.alignment["u4"] == "R1"


def test_redo_leaves_units_locked_since_the_undo(state):
    state.move(["u5"], "R2")
    state.undo()
    state.lock(["u5"], "home county")
    done = state.redo()
    assert done.n_units == 0 and done.skipped == ("u5",)
    assert state.alignment["u5"] == "R1"
    assert state.locked() == {"u5": ("R1", "home county")}
    assert state.undo_stack == [] and state.redo_stack == []
    assert state.redo() is None


def test_undo_of_a_step_whose_units_are_all_locked(state):
    """The step leaves the history; nothing moves; nothing is left to redo."""
    state.move(["u5"], "R2")
    state.lock(["u5"], "stays")
    done = state.undo()
    assert done is not None and done.n_units == 0 and done.skipped == ("u5",)
    assert state.alignment["u5"] == "R2"
    assert state.undo_stack == [] and state.redo_stack == []
    assert state.alignment.provenance["steps"] == []


def test_lock_records_its_territory_and_refreshes_the_provenance(state):
    """locked() read the unit's current territory; a lock set after the
    alignment was read did not reach its provenance (cached)."""
    state.move(["u5"], "R2")
    assert state.alignment.provenance["locked"] == {}
    state.lock(["u5"], "key account")
    assert state.alignment.provenance["locked"] == {"u5": "key account"}
    assert state.lock_codes == {4: state.code("R2")}
    state.lock(["u5"], "another reason")  # a new reason keeps the territory
    assert state.locked() == {"u5": ("R2", "another reason")}
    state.unlock(["u5"])
    assert state.lock_codes == {} and state.alignment.provenance["locked"] == {}


def test_locking_again_without_a_reason_keeps_the_recorded_one(state):
    """An empty reason box replaced a locked unit's reason by the default."""
    state.lock(["u5"], "key account")
    changed = state.lock(["u5", "u9"], "  ")
    assert changed.tolist() == [8]  # only u9 is new; u5 is untouched
    assert state.locked() == {
        "u5": ("R1", "key account"),
        "u9": ("R2", "locked in the map"),
    }
    assert state.lock(["u5"], "").tolist() == []
    assert state.lock(["u5"], "signed contract").tolist() == [4]
    assert state.locked()["u5"] == ("R1", "signed contract")


def test_positions_accept_a_table_selection_and_boolean_masks(state, toy_grid_3x3):
    """A DataFrame selection reported its column names as unknown unit ids,
    a boolean mask its True/False values."""
    units = toy_grid_3x3.units
    assert state.positions(units.loc[["u5", "u2"]]).tolist() == [4, 1]
    assert state.positions(units.index.isin(["u2", "u9"])).tolist() == [1, 8]
    assert state.positions([False] * 8 + [True]).tolist() == [8]
    mask = pd.Series(units.index.isin(["u3"]), index=units.index)
    assert state.positions(mask).tolist() == [2]
    assert state.positions(mask.iloc[::-1]).tolist() == [2]  # aligned by id
    ch = state.move(units[units.index == "u5"], "R2")
    assert ch.label == "move 1 unit to R2"
    with pytest.raises(DataValidationError) as e:
        state.positions(np.array([True, False]))
    assert str(e.value) == (
        "units.unit_id: a boolean mask has one value per unit, but this one has 2 "
        "values for 9 units. Fix: build the mask from the study's units table "
        "(units['workload'] > 2000) or pass unit ids"
    )
    with pytest.raises(DataValidationError) as e:
        state.lock(mask.reset_index(drop=True), "x")
    assert str(e.value).startswith(
        "units.unit_id: the boolean mask is indexed by 9 values that are not unit "
        "ids of the map (rows: 0, 1, 2, 3, 4 and 4 more). Fix: build the mask"
    )


def test_observers_are_called_once_per_change(state):
    """Edits through the state had no notification, so a map drawing it
    went stale."""
    seen = []

    def cb(kind, pos):
        seen.append((kind, pos.tolist()))

    state.subscribe(cb)
    state.subscribe(cb)  # twice: still one call per change
    state.move(["u5", "u6"], "R2")  # u6 is in R2 already
    state.move(["u5"], "R2")  # nothing changes: no call
    state.lock(["u1"], "HQ")
    state.lock(["u1"], "HQ")  # same reason: no change
    state.undo()
    state.redo()
    state.unlock(["u1"])
    state.set_alignment(state.base, label="reset")
    state.unsubscribe(cb)
    state.undo()
    assert seen == [
        ("move", [4]),
        ("lock", [0]),
        ("undo", [4]),
        ("redo", [4]),
        ("unlock", [0]),
        ("set_alignment", [4]),
    ]
    with pytest.raises(TypeError, match="callback must be callable, got str"):
        state.subscribe("refresh")


def test_wrong_adjacency_type_is_a_type_error(toy_grid_3x3):
    """A scipy matrix gave AttributeError: 'csr_matrix' ... 'on_units'."""
    import scipy.sparse as sp

    units = toy_grid_3x3.unit_measures()
    with pytest.raises(TypeError) as e:
        EditorState(
            units,
            toy_grid_3x3.alignments["current"],
            adjacency=sp.identity(9, format="csr"),
        )
    assert str(e.value) == (
        "adjacency must be a terrakit.data.geo.Adjacency over the units, got "
        "scipy.sparse._csr.csr_matrix; build it with tk.data.geo.adjacency(units) "
        "(add links to islands with .with_links([(a, b), ...])) or leave it None"
    )


def test_balance_of_a_measure_that_is_zero_everywhere(toy_grid_3x3):
    """All totals 0: equal, so in the band with deviation 0 (not NaN and out)."""
    units = toy_grid_3x3.unit_measures().assign(new_sales=0.0)
    st = EditorState(
        units,
        toy_grid_3x3.alignments["current"],
        measures=["workload", "new_sales"],
        tolerance=0.10,
    )
    tab = st.balance_table("new_sales")
    assert tab["total"].tolist() == [0.0, 0.0]
    assert tab["rel_dev"].tolist() == [0.0, 0.0]
    assert tab["in_band"].all()


def test_integer_territory_ids_keep_their_dtype():
    """Integer territory ids came back as object, so an unedited state's
    alignment was not equal to its base (the exported plan != the loaded one);
    a move keeps int64 as Alignment.replace does."""
    units = pd.DataFrame(
        {"workload": [1.0, 2.0, 3.0, 4.0]},
        index=pd.Index([101, 102, 103, 104], name="unit_id"),
    )
    base = Alignment(
        pd.Series([1, 1, 2, 2], index=units.index, dtype="int64"), name="current"
    )
    st = EditorState(units, base, tolerance=0.5)
    assert st.alignment.assignment.dtype == np.dtype("int64")
    assert st.alignment.assignment.equals(base.assignment)
    st.move([102], 2)
    assert st.alignment.assignment.dtype == np.dtype("int64")
    assert st.alignment.assignment.equals(base.replace(changes={102: 2}).assignment)
    # text ids stay text; ids that no longer fit the base's dtype stay object
    st2 = EditorState(units, base, tolerance=0.5, territories=["new"])
    st2.move([101], "new")
    assert st2.alignment.assignment.dtype == object
    assert st2.alignment.assignment.tolist() == ["new", 1, 2, 2]


def test_pieces_with_territory_ids_of_mixed_types(toy_grid_3x3):
    """Ids 101, 102 and 'vacant' became a text array: the pieces were filed
    under '101'/'102', so 101 and 102 showed 0 pieces and no warning."""
    units = toy_grid_3x3.unit_measures()
    m = {f"u{k}": 101 if k in (1, 9) else 102 for k in range(1, 10)}
    m["u5"] = "vacant"  # u1 and u9 (opposite corners) are apart
    st = EditorState(units, Alignment.from_mapping(m), adjacency=adjacency(units))
    assert st.pieces().to_dict() == {101: 2, 102: 1, "vacant": 1}
    assert st.kpis()["pieces"].to_dict() == {101: 2, 102: 1, "vacant": 1}
    assert st.contiguity_warnings() == ["101 is in 2 pieces"]
    ref = metrics.contiguity(units, st.alignment, st.adjacency)
    assert st.pieces().to_dict() == ref.to_dict()


def test_moved_from_refuses_ids_equal_only_as_text(toy_grid_3x3):
    """A reference with ids '1'/'2' against a map with 1/2 marked every unit
    moved, silently (tk.plot.diff_map refuses the same pair)."""
    units = toy_grid_3x3.unit_measures()
    ints = Alignment.from_mapping(
        {f"u{k}": 1 if k <= 5 else 2 for k in range(1, 10)}, name="ints"
    )
    texts = Alignment(ints.assignment.astype(str), name="texts")
    st = EditorState(units, ints)
    with pytest.raises(DataValidationError) as e:
        st.moved_from(texts)
    assert str(e.value) == (
        "alignment.territory_id: no territory id of 'texts' is a territory id of "
        "'ints', but 2 are equal as text (e.g. '1' (str) in 'texts' and 1 (int) in "
        "'ints'): territory ids keep their type: '1' is not 1 (rows: '1', '2'). "
        "Fix: give both alignments territory ids of one type, e.g. "
        "Alignment(al.assignment.astype(str), name=al.name)"
    )
    st.move(["u5"], 2)
    assert st.moved_from(ints).tolist() == [False] * 4 + [True] + [False] * 4


def test_territories_follow_the_package_order(toy_grid_3x3):
    """Integer ids were sorted as text (1, 10, 11, 12, 2, ...), so the tables,
    the balance panel and the map colours disagreed with Alignment.territories
    and tk.plot.territory_map."""
    units = toy_grid_3x3.unit_measures()
    al = Alignment.from_mapping({f"u{k}": 3 * k for k in range(1, 10)})
    st = EditorState(units, al, territories=[30, 12])
    want = [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    assert st.territories == want
    assert st.totals().index.tolist() == want
    assert st.kpis().index.tolist() == want
    assert st.balance_table().index.tolist() == want
    assert st.territories[:9] == al.territories
    assert st.code(12) == 3


def test_a_missing_value_in_a_kpi_column_that_is_not_balanced(toy_grid_3x3):
    """A NaN potential (no estimate yet) refused the whole editor, with the
    fix 'fill them (0 if there is none)', which would falsify the KPI."""
    units = toy_grid_3x3.unit_measures()
    units.loc["u1", "potential"] = np.nan
    al = toy_grid_3x3.alignments["current"]
    with pytest.warns(TerrakitWarning) as w:
        st = EditorState(units, al, measures=["workload"], tolerance=0.10)
    assert [str(x.message) for x in w] == [
        "units.potential: 1 of 9 units have no value ('u1'); potential (and "
        "penetration) is NaN for every territory that holds one of them. An "
        "unknown potential is not 0: fill them only with real figures"
    ]
    k = st.kpis()
    assert np.isnan(k.loc["R1", "potential"]) and np.isnan(k.loc["R1", "penetration"])
    assert k.loc["R2", "potential"] == 40_000.0
    assert st.totals().to_dict() == {"R1": 190.0, "R2": 260.0}
    st.move(["u1"], "R2")  # the unknown value goes with its unit
    k = st.kpis()
    assert k.loc["R1", "potential"] == 40_000.0 and np.isnan(k.loc["R2", "potential"])
    assert "workload: max deviation" in st.summary()
    # a balanced measure must be complete; text in a KPI column is refused
    with pytest.raises(DataValidationError) as e:
        EditorState(units, al, measures=["workload", "potential"])
    assert str(e.value) == (
        "units.potential: 1 values are missing or not numbers (rows: 'u1'). "
        "Fix: fill them (0 if there is none)"
    )
    units["sales"] = units["sales"].astype(object)
    units.loc["u2", "sales"] = "n/a"
    with pytest.raises(DataValidationError, match="measure 'sales' is a text column"):
        EditorState(units, al)


def test_a_one_column_boolean_frame_is_a_mask(state, toy_grid_3x3):
    """``units[["workload"]] > 60`` (double brackets) was read as a selection of
    the units table: its index is every unit, so every unit moved."""
    units = toy_grid_3x3.unit_measures()
    mask = units[["workload"]] > 60  # u7, u8, u9; u8 and u9 are in R2 already
    assert state.positions(mask).tolist() == [6, 7, 8]
    ch = state.move(mask, "R2")
    assert ch.label == "move 1 unit to R2" and ch.positions.tolist() == [6]
    assert state.totals().to_dict() == {"R1": 120.0, "R2": 330.0}
    # a selection of rows still counts by its index, whatever its columns
    assert state.positions(
        units.loc[units["workload"] > 60, ["workload"]]
    ).tolist() == [
        6,
        7,
        8,
    ]
    two = pd.DataFrame({"big": units["workload"] > 60, "far": units["sales"] > 0})
    with pytest.raises(DataValidationError) as e:
        state.move(two, "R1")
    assert str(e.value).startswith(
        "units.unit_id: the boolean mask is a DataFrame with 2 columns ('big', "
        "'far'); it is not clear whether a unit is selected when all of them or "
        "any of them are True. Fix: combine them into one mask, e.g. "
        "mask.all(axis=1)"
    )
    assert state.alignment["u1"] == "R1"  # nothing moved


def test_lock_with_reason_none_keeps_the_recorded_reason(state):
    """``lock(ids, None)`` recorded the reason as the text 'None' (NaN as
    'nan') and replaced the reason of units already locked."""
    state.lock(["u5"], "key account")
    assert state.lock(["u5"], None).tolist() == []
    assert state.lock(["u1"], None).tolist() == [0]
    assert state.lock(["u2"], float("nan")).tolist() == [1]
    assert state.locked() == {
        "u1": ("R1", "locked in the map"),
        "u2": ("R1", "locked in the map"),
        "u5": ("R1", "key account"),
    }
    assert state.alignment.provenance["locked"]["u1"] == "locked in the map"


def test_territories_given_as_an_index_or_one_id(toy_grid_3x3):
    """``territories=study.reps.index`` failed with pandas' 'truth value of an
    Index is ambiguous'; ``territories="R3"`` added 'R' and '3'."""
    units, al = toy_grid_3x3.unit_measures(), toy_grid_3x3.alignments["current"]
    reps = pd.Index(["R1", "R2", "R3"], name="rep_id")
    assert EditorState(units, al, territories=reps).territories == ["R1", "R2", "R3"]
    ser = pd.Series(["R3", "R4"])
    assert EditorState(units, al, territories=ser).territories == [
        "R1",
        "R2",
        "R3",
        "R4",
    ]
    assert EditorState(units, al, territories="R3").territories == ["R1", "R2", "R3"]


def test_set_alignment_and_moved_from_refuse_what_is_not_an_alignment(state):
    """A plan's name or a dict failed with a bare AttributeError ('str' object
    has no attribute 'assignment')."""
    fix = (
        "; pass study.alignments[name] for a plan of the study (TerritoryMap."
        "set_alignment also takes the name) or Alignment.from_mapping(...) for a "
        "dict of unit id -> territory"
    )
    with pytest.raises(TypeError) as e:
        state.set_alignment("current")
    assert str(e.value) == "alignment must be an Alignment, got str" + fix
    with pytest.raises(TypeError, match="alignment must be an Alignment, got dict"):
        state.set_alignment({"u1": "R2"})
    with pytest.raises(TypeError) as e:
        state.moved_from("current")
    assert str(e.value) == "other must be an Alignment, got str" + fix
    assert state.undo_stack == [] and state.alignment["u1"] == "R1"

"""diff_alignments(): what changes hands, with any choice of measures."""

from __future__ import annotations

import numpy as np
import pytest

from terrakit.data.alignment import Alignment
from terrakit.exceptions import SpecificationError
from terrakit.realign import diff_alignments


@pytest.fixture
def moved_one(grid6x4) -> Alignment:
    """The grid's current alignment with ``c2r0`` (R1 → R2) moved: 1 of 24
    units, 2 of 48 accounts, sales 4,000 of 96,000."""
    return grid6x4.alignments["current"].replace({"c2r0": "R2"}, name="moved")


def test_a_single_measure_keeps_the_continuity(grid6x4, moved_one) -> None:
    full = diff_alignments(grid6x4, "current", moved_one)
    for measures in (["sales"], "sales"):
        d = diff_alignments(grid6x4, "current", moved_one, measures=measures)
        assert d.measures == ["sales"]
        assert d.moved("sales") == pytest.approx(4_000.0)
        # continuity counts accounts whatever the measures
        assert d.continuity_kept == pytest.approx(full.continuity_kept)
        assert d.continuity_kept == pytest.approx(1 - 2 / 48)


def test_bad_measures_are_explained(grid6x4, moved_one) -> None:
    with pytest.raises(SpecificationError, match=r"measures=\[\]\): give at least"):
        diff_alignments(grid6x4, "current", moved_one, measures=[])
    d = diff_alignments(grid6x4, "current", moved_one)
    with pytest.raises(KeyError, match=r"no measure 'revenue'; it compared \['units'"):
        d.moved_share("revenue")


def test_numeric_unit_ids_are_read_as_the_study_ids(make_grid) -> None:
    """An alignment whose ids were read as numbers, on a study with text ids."""
    st = make_grid()
    names = {u: str(i) for i, u in enumerate(st.units.index)}
    study = st.replace(
        units=st.units.rename(index=names),
        accounts=st.accounts.assign(unit_id=st.accounts["unit_id"].map(names)),
        history=None,
        alignments={},
    )
    cur = st.alignments["current"].assignment
    before = Alignment.from_mapping({names[u]: t for u, t in cur.items()})
    after = Alignment.from_mapping(
        {int(names[u]): ("R2" if u == "c2r0" else t) for u, t in cur.items()}
    )
    d = diff_alignments(study, before, after)
    assert d.n_moved == 1
    assert d.moves.index.tolist() == [names["c2r0"]]


def test_the_readme_name_diff_is_the_function(grid6x4, moved_one) -> None:
    """The README lists ``tk.realign.diff``; it was the submodule ('module'
    object is not callable).  The submodule stays importable by name."""
    import importlib

    import terrakit as tk
    import terrakit.realign as realign

    assert realign.diff is diff_alignments and "diff" in realign.__all__
    d = tk.realign.diff(grid6x4, "current", moved_one)
    assert d.moved("units") == 1
    module = importlib.import_module("terrakit.realign.diff")
    assert module.diff_alignments is diff_alignments
    from terrakit.realign.diff import AlignmentDiff

    assert isinstance(d, AlignmentDiff)


def test_integer_territory_ids_stay_integers_with_a_partial_before(grid6x4) -> None:
    """A 'before' alignment that leaves units out turned 101 into 101.0."""
    ids = {"R1": 101, "R2": 102, "R3": 103, "R4": 104}
    a = grid6x4.alignments["current"].assignment.map(ids)
    before = Alignment(a.iloc[:8], name="before_partial")
    d = diff_alignments(grid6x4, before, Alignment(a, name="after"))
    assert d.per_territory.index.dtype.kind == "i"
    assert sorted(d.per_territory.index.tolist()) == [101, 102, 103, 104]
    assert d.moves["to"].tolist() == a.iloc[8:].tolist()
    assert all(type(v) is not float for v in d.moves["to"])
    moved = before.assignment.copy()
    moved.iloc[0] = 102
    d = diff_alignments(grid6x4, Alignment(moved, name="b"), Alignment(a, name="after"))
    assert d.moves.loc[moved.index[0], "from"] == 102
    assert isinstance(d.moves.loc[moved.index[0], "from"], (int, np.integer))


def test_a_mistyped_alignment_name_is_a_data_validation_error(grid6x4) -> None:
    """Was a bare KeyError with a repr-quoted message; now the same error as
    Scenario.from_study for the same mistake, with a did-you-mean."""
    from terrakit.exceptions import DataValidationError
    from terrakit.realign import rebalance

    with pytest.raises(DataValidationError) as err:
        diff_alignments(grid6x4, "current", "plan")
    assert str(err.value) == (
        "alignment: the study has no alignment 'plan' to use as the after "
        "alignment (it has ['current']). Fix: pass one of ['current'] or an "
        "Alignment, or add one with study.with_alignment(...)"
    )
    assert err.value.table == "alignment" and err.value.column is None
    with pytest.raises(DataValidationError) as err:
        rebalance(grid6x4, "currnet", time_limit=5)
    assert str(err.value) == (
        "alignment: the study has no alignment 'currnet' to use as the current "
        "alignment (it has ['current']). Fix: pass one of ['current'] or an "
        "Alignment, or add one with study.with_alignment(...); did you mean "
        "'current' for 'currnet'?"
    )


def test_territory_ids_that_match_only_as_text_are_refused(grid6x4) -> None:
    """The same plan with ids 1 (built in Python) and '1' (read from a CSV)
    was reported as 100 % moved; metrics.disruption refuses it, and so does
    the diff now, with the same message."""
    from terrakit.exceptions import DataValidationError
    from terrakit.metrics import disruption

    cur = grid6x4.alignments["current"].assignment
    ids = {"R1": 1, "R2": 2, "R3": 3, "R4": 4}
    before = Alignment(cur.map(ids).astype("int64"), name="before_int")
    after = Alignment(cur.map(lambda r: str(ids[r])), name="after_text")
    with pytest.raises(DataValidationError) as err:
        diff_alignments(grid6x4, before, after)
    assert str(err.value) == (
        "alignment.territory_id: no territory id of 'after_text' is a territory "
        "id of 'before_int', but 4 are equal as text (e.g. '1' (str) in "
        "'after_text' and 1 (int) in 'before_int'): territory ids keep their "
        "type: '1' is not 1 (rows: '1', '2', '3', '4'). Fix: give both alignments "
        "territory ids of one type, e.g. Alignment(al.assignment.astype(str), "
        "name=al.name)"
    )
    with pytest.raises(DataValidationError) as same:
        disruption(grid6x4, before, after)
    assert str(same.value) == str(err.value)
    # one type on both sides: nothing moves
    d = diff_alignments(grid6x4, before, Alignment(cur.map(ids), name="again"))
    assert d.n_moved == 0 and d.continuity_kept == 1.0


def test_a_missing_measure_value_is_refused_with_its_rows(grid6x4, moved_one) -> None:
    """A NaN potential made the total NaN while the per-territory sums skipped
    it as 0; each requested measure is now checked like metrics' measures."""
    from terrakit.exceptions import DataValidationError

    units = grid6x4.units.copy()
    units.loc["c3r2", "potential"] = np.nan
    st = grid6x4.replace(units=units)
    with pytest.raises(DataValidationError) as err:
        diff_alignments(st, "current", moved_one, measures=["units", "potential"])
    assert str(err.value) == (
        "units.potential: 1 values are missing (NaN) (rows: 'c3r2'). Fix: fill "
        "the missing values (0 if there is none)"
    )
    assert err.value.table == "units" and err.value.column == "potential"
    # a measure not asked for is not checked; the totals stay numbers
    d = diff_alignments(st, "current", moved_one, measures=["units", "sales"])
    assert np.isfinite(d.totals.to_numpy(float)).all()

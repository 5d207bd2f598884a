"""Alignment: an immutable unit → territory mapping with provenance."""

from __future__ import annotations

import pandas as pd
import pytest

from terrakit.data.alignment import Alignment, make_provenance
from terrakit.exceptions import DataValidationError


def test_from_mapping_and_queries():
    a = Alignment.from_mapping({"u1": "T1", "u2": "T1", "u3": "T2"}, name="demo")
    assert a.territories == ["T1", "T2"]
    assert a.n_territories == 2
    assert list(a.units_of("T1")) == ["u1", "u2"]
    assert a.sizes().to_dict() == {"T1": 2, "T2": 1}
    assert a.provenance["method"] == "manual"
    assert "terrakit_version" in a.provenance


def test_replace_returns_new_alignment_and_keeps_old():
    a = Alignment.from_mapping({"u1": "T1", "u2": "T2"}, name="a")
    b = a.replace({"u1": "T2"}, name="b")
    assert a["u1"] == "T1"
    assert b["u1"] == "T2"
    assert list(a.moved_units(b)) == ["u1"]
    assert b.provenance["edits"] == 1


def test_assignment_is_read_only():
    a = Alignment.from_mapping({"u1": "T1", "u2": "T2"})
    with pytest.raises((ValueError, TypeError)):
        a.assignment.iloc[0] = "T9"
    with pytest.raises(AttributeError):
        a.name = "x"  # type: ignore[misc]


def test_duplicate_units_rejected_with_ids():
    s = pd.Series(["T1", "T2", "T1"], index=["u1", "u1", "u2"])
    with pytest.raises(DataValidationError) as err:
        Alignment(s)
    assert "alignment.unit_id" in str(err.value)
    assert "'u1'" in str(err.value)
    assert err.value.rows == ["u1"]


def test_missing_territory_rejected():
    s = pd.Series(["T1", None], index=["u1", "u2"])
    with pytest.raises(DataValidationError, match=r"1 units have no territory.*'u2'"):
        Alignment(s)


def test_replace_unknown_unit_names_it():
    a = Alignment.from_mapping({"13121": "T1"})
    with pytest.raises(DataValidationError, match=r"13121.*'13121' is not 13121"):
        a.replace({13121: "T2"})


def test_provenance_must_be_json_able():
    with pytest.raises(TypeError, match="not JSON-able"):
        make_provenance("x", config={"f": object()})


def test_unknown_territory_and_unit_are_named():
    """A typo'd territory is an error, not an empty territory."""
    a = Alignment.from_mapping({"u1": "R05", "u2": "R06"}, name="now")
    with pytest.raises(
        KeyError,
        match=r"alignment 'now' has no territory 'R5' \(did you mean 'R05'\?\); "
        r"its territories are \['R05', 'R06'\]",
    ):
        a.units_of("R5")
    with pytest.raises(KeyError, match="unit 'u9' is not in alignment 'now'"):
        a["u9"]


def test_from_mapping_gives_the_territory_ids_their_dtype():
    """A dict of integer ids makes the same alignment as the Series or table
    it came from (it once made an object Series, which a study could save
    but not load); a mix of kinds is kept as given."""
    units = ["u1", "u2", "u3"]
    ints = Alignment.from_mapping({"u1": 1, "u2": 1, "u3": 2})
    assert ints.assignment.dtype == "int64"
    frame = pd.DataFrame({"unit_id": units, "territory_id": [1, 1, 2]})
    assert Alignment.from_frame(frame).assignment.dtype == "int64"
    assert Alignment.from_mapping({"u1": 0.5}).assignment.dtype == "float64"
    assert Alignment.from_mapping({"u1": True}).assignment.dtype == "bool"
    assert Alignment.from_mapping({"u1": "T1"}).assignment.dtype == object
    mixed = Alignment.from_mapping({"u1": 1, "u2": 2.5, "u3": "T"})
    assert mixed.assignment.dtype == object
    assert [type(v) for v in mixed.assignment] == [int, float, str]


def test_provenance_names_the_library_versions(monkeypatch):
    """Provenance used to record terrakit's version only; the numbers also
    depend on numpy, pandas and, where used, pymc, nutpie, arviz..."""
    import json
    import sys
    import types

    import numpy as np

    monkeypatch.setitem(sys.modules, "nutpie", types.SimpleNamespace(__version__="9.9"))
    monkeypatch.delitem(sys.modules, "statsforecast", raising=False)
    prov = make_provenance("manual")
    versions = prov["versions"]
    assert versions["numpy"] == np.__version__
    assert versions["pandas"] == pd.__version__
    assert versions["nutpie"] == "9.9"  # read from the loaded module
    assert "statsforecast" not in versions  # not loaded: not imported to ask
    assert json.loads(json.dumps(prov))["versions"] == versions
    a = Alignment.from_mapping({"u1": "T1"}, name="a")
    assert a.provenance["versions"]["numpy"] == np.__version__


def test_from_frame_missing_column_names_the_argument_and_close_match():
    frame = pd.DataFrame({"FIPS": ["01001"], "Territory": ["T1"]})
    with pytest.raises(DataValidationError) as err:
        Alignment.from_frame(frame, unit_column="FIPS", territory_column="Territroy")
    msg = str(err.value)
    assert "(did you mean 'Territory'?)" in msg
    assert "Fix: pass territory_column='Territory'" in msg
    assert "Territroy_column" not in msg
    with pytest.raises(DataValidationError, match="Fix: pass unit_column="):
        Alignment.from_frame(frame, territory_column="Territory")


def test_alignment_ids_that_lost_zeros_get_a_fix_that_restores_them():
    import geopandas as gpd
    from shapely.geometry import box

    from terrakit.data import Study

    units = gpd.GeoDataFrame(
        {"unit_id": ["01001", "01003"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs="EPSG:4326",
    ).set_index("unit_id")
    al = Alignment.from_mapping(pd.Series({"1001": "T1", "1003": "T2"}), name="current")
    with pytest.raises(DataValidationError) as err:
        Study(units).with_alignment(al)
    msg = str(err.value)
    assert "the alignment file lost its leading zeros" in msg
    assert "drop those units" not in msg
    assert "Fix: read the ids as text" in msg


def test_provenance_is_not_shared_or_mutable_through_views():
    a = Alignment.from_mapping(
        {"u1": 1, "u2": 1, "u3": 2},
        name="cur",
        provenance=make_provenance("mip/highs", seed=1, config={"balance": 0.05}),
    )
    b = a.replace({"u3": 1}, name="prop")
    b.provenance["config"]["balance"] = 0.5
    assert a.provenance["config"] == {"balance": 0.05}
    assert b.provenance["config"] == {"balance": 0.05}
    cfg = {"nested": {"x": [1, 2]}}
    c = Alignment.from_mapping({"u1": 1}, provenance=make_provenance("m", config=cfg))
    cfg["nested"]["x"].append(3)
    dict(c.provenance)["config"]["nested"]["x"].append(4)
    assert c.provenance["config"] == {"nested": {"x": [1, 2]}}
    with pytest.raises(TypeError):
        c.provenance["method"] = "edited"  # type: ignore[index]


def test_moved_units_refuses_alignments_of_other_units():
    cur = Alignment.from_mapping({13121: "T1", 13089: "T1"}, name="current")
    new = Alignment.from_mapping({"13121": "T1", "13089": "T2"}, name="csv")
    with pytest.raises(
        DataValidationError,
        match=r"alignments 'current' and 'csv' do not cover the same units \(2 only "
        r"in 'current'; 2 only in 'csv'; ids are int in 'current' but str in "
        r"'csv'\).*Fix: make the id types agree",
    ):
        cur.moved_units(new)
    part = Alignment.from_mapping({1: "A", 2: "A"}, name="part")
    full = Alignment.from_mapping({1: "A", 2: "A", 3: "B", 4: "B"}, name="full")
    with pytest.raises(
        DataValidationError, match=r"\(2 only in 'full'\) \(rows: 3, 4\)"
    ):
        full.moved_units(part)
    # same units in another order
    shuffled = Alignment.from_mapping({2: "B", 1: "A", 4: "B", 3: "B"})
    assert list(full.moved_units(shuffled)) == [2]


def test_replace_takes_a_series_and_keeps_the_territory_dtype():
    cur = Alignment.from_mapping({13121: "T1", 13089: "T1", 13067: "T2"})
    moved = cur.replace(pd.Series({13067: "T1"}))
    assert moved.to_dict() == {13121: "T1", 13089: "T1", 13067: "T1"}
    assert moved.provenance["edits"] == 1
    assert cur.replace(pd.Series(dtype=object)).same_assignment(cur)
    ints = Alignment.from_mapping({"u1": 1, "u2": 2})
    assert ints.replace({"u2": 1}).assignment.dtype == "int64"
    assert ints.replace({"u2": "T9"}).assignment.dtype == object
    with pytest.raises(
        KeyError,
        match=r"no territory '1' \(str\) \(did you mean 1 "
        r"\(int\)\? territory ids keep their type",
    ):
        ints.units_of("1")


def test_same_assignment_with_ids_of_mixed_types():
    a = Alignment.from_mapping({13121: "T1", "13089": "T1", "013067": "T2"})
    b = Alignment.from_mapping({"013067": "T2", 13121: "T1", "13089": "T1"})
    assert a.same_assignment(b) and b.same_assignment(a)
    assert not a.same_assignment(a.replace({"13089": "T2"}))
    assert not a.same_assignment(
        Alignment.from_mapping({"13121": "T1", "13089": "T1", "013067": "T2"})
    )


def test_equal_alignments_hash_equal_whatever_the_unit_order():
    """__eq__ matches units by id but __hash__ hashed the pairs in order: two
    equal alignments were two keys of a dict (a KeyError) or a set."""
    a = Alignment.from_mapping({"u1": "T1", "u2": "T2", "u3": "T1"}, name="plan")
    b = Alignment.from_mapping({"u3": "T1", "u2": "T2", "u1": "T1"}, name="plan")
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1 and {a: 1}[b] == 1
    # the provenance is not compared, so it is not hashed either
    c = Alignment(b.assignment, name="plan", provenance=make_provenance("mip"))
    assert c == a and hash(c) == hash(a)
    # the name is compared, and hashed
    assert a != a.rename("other") and len({a, a.rename("other")}) == 2
    # 1 == 1.0: equal territory ids of two dtypes
    ints = Alignment.from_mapping({"u1": 1, "u2": 2})
    floats = Alignment.from_mapping({"u2": 2.0, "u1": 1.0})
    assert ints == floats and hash(ints) == hash(floats)


def test_integer_territories_sort_as_numbers_in_the_alignment_and_metrics():
    """territories and sizes() sorted integer ids as text ([1, 10, 5]), the
    metrics as numbers ([1, 5, 10]): two tables of one alignment in two
    orders."""
    from terrakit import metrics

    al = Alignment.from_mapping(
        {f"u{k}": 1 if k <= 4 else (10 if k <= 7 else 5) for k in range(1, 10)}
    )
    assert al.territories == [1, 5, 10]
    assert al.sizes().to_dict() == {1: 4, 5: 2, 10: 3}
    assert list(al.sizes().index) == [1, 5, 10]
    assert metrics._territory_order(al.assignment) == al.territories
    assert Alignment.from_mapping({"a": 2.5, "b": 10.0}).territories == [2.5, 10.0]
    assert Alignment.from_mapping({"a": "R10", "b": "R2"}).territories == [
        "R10",
        "R2",
    ]  # text: as text
    assert Alignment.from_mapping({"a": 10, "b": "R2", "c": 2}).territories == [
        10,
        2,
        "R2",
    ]  # mixed: as text


def test_extension_dtypes_become_numpy_as_documented():
    """from_mapping said 'A Series keeps its dtype', but a categorical or
    pandas 'string' Series became object at construction; the docstring now
    says so, and that a categorical's unused categories are not kept."""
    idx = pd.Index(["u1", "u2", "u3"], name="unit_id")
    cat = pd.Series(
        pd.Categorical(["R1", "R2", "R1"], categories=["R1", "R2", "R3"]), index=idx
    )
    a = Alignment.from_mapping(cat)
    assert a.assignment.dtype == object
    assert a.territories == ["R1", "R2"]  # R3, declared but empty, is not kept
    assert a.to_dict() == {"u1": "R1", "u2": "R2", "u3": "R1"}
    txt = Alignment.from_mapping(
        pd.Series(pd.array(["R1", "R2", "R1"], dtype="string"), index=idx)
    )
    assert txt.assignment.dtype == object
    assert [type(v) for v in txt.assignment] == [str, str, str]
    assert txt == a and txt.replace({"u2": "R1"}).assignment.dtype == object
    ints = Alignment.from_mapping(pd.Series(pd.Categorical([10, 5, 10]), index=idx))
    assert ints.assignment.dtype == "int64"
    assert ints.replace({"u2": 10}).assignment.dtype == "int64"
    nullable = Alignment.from_mapping(pd.Series(pd.array([1, 2, 1], "Int64"), idx))
    assert nullable.assignment.dtype == "int64"
    doc = Alignment.from_mapping.__doc__ or ""
    assert "A Series keeps its dtype." not in doc
    assert "unused categories are not kept" in " ".join(doc.split())


# -- round 19 -------------------------------------------------------------------------
def test_replace_counts_the_units_that_move_as_edits():
    """edits counted the units given: a change that moves nothing was 1 edit,
    the whole new assignment with one unit moved was 4 (the report then said
    '4 edits after the design')."""
    a = Alignment.from_mapping(
        {"u1": "T1", "u2": "T1", "u3": "T2", "u4": "T2"},
        name="p",
        provenance={"method": "design", "edits": 2},
    )
    assert a.replace({"u1": "T1"}).provenance["edits"] == 2
    whole = a.to_dict() | {"u3": "T1"}
    moved = a.replace(whole)
    assert list(a.moved_units(moved)) == ["u3"]
    assert moved.provenance["edits"] == 3
    assert a.replace(pd.Series({"u1": "T2", "u2": "T1"})).provenance["edits"] == 3


def test_from_frame_reads_the_unit_ids_from_the_index() -> None:
    """A table indexed by unit_id (as terrakit's tables are) was refused with
    "required column is missing ... rename your column"."""
    df = pd.DataFrame(
        {"territory_id": ["R1", "R2", "R1"]},
        index=pd.Index(["u1", "u2", "u3"], name="unit_id"),
    )
    al = Alignment.from_frame(df, name="given")
    assert al.assignment.to_dict() == {"u1": "R1", "u2": "R2", "u3": "R1"}
    assert al.assignment.index.name == "unit_id"
    # a column of that name wins over the index
    both = df.assign(unit_id=["u7", "u8", "u9"])
    assert list(Alignment.from_frame(both).assignment.index) == ["u7", "u8", "u9"]
    with pytest.raises(DataValidationError, match=r"^alignment\.unit_id: required"):
        Alignment.from_frame(df.reset_index(drop=True))

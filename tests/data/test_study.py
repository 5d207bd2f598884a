"""Study file round trip: save then load returns exactly what was saved."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, box

from terrakit.data import Alignment, Study, make_provenance
from terrakit.exceptions import DataValidationError

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=8
)
FLOAT = st.floats(allow_nan=True, allow_infinity=False, width=64) | st.just(np.nan)


def _assert_same(a: Study, b: Study) -> None:
    for name in ("units", "accounts", "reps", "history"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            pd.testing.assert_frame_equal(x, y, check_exact=True, obj=name)
    assert a.crs == b.crs
    assert list(a.alignments) == list(b.alignments)
    for k, al in a.alignments.items():
        other = b.alignments[k]
        pd.testing.assert_series_equal(al.assignment, other.assignment)
        assert dict(al.provenance) == dict(other.provenance)
    assert dict(a.metadata) == dict(b.metadata)
    assert a.equals(b)


@st.composite
def studies(draw) -> Study:
    n = draw(st.integers(1, 6))
    int_ids = draw(st.booleans())
    if int_ids:
        ids = draw(
            st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n, unique=True)
        )
    else:
        ids = draw(st.lists(TEXT.filter(bool), min_size=n, max_size=n, unique=True))
    index = pd.Index(ids, name="unit_id")
    geoms = [box(i, 0, i + 1, 1) for i in range(n)]
    if n > 1 and draw(st.booleans()):
        geoms[0] = MultiPolygon([box(0, 0, 0.4, 1), box(0.6, 0, 1, 1)])
    cols: dict[str, object] = {
        "workload": draw(
            st.lists(st.floats(0, 1e9) | st.just(np.nan), min_size=n, max_size=n)
        ),
        "accounts": draw(st.lists(st.integers(0, 2**31), min_size=n, max_size=n)),
        "flag": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "name": draw(st.lists(TEXT | st.none(), min_size=n, max_size=n)),
        "score": draw(st.lists(FLOAT, min_size=n, max_size=n)),
    }
    if draw(st.booleans()):
        cats = ["A", "B", "C"]
        cols["segment"] = pd.Categorical(
            draw(st.lists(st.sampled_from(cats), min_size=n, max_size=n)),
            categories=cats,
            ordered=draw(st.booleans()),
        )
    if draw(st.booleans()):
        cols["opened"] = pd.to_datetime(
            draw(
                st.lists(
                    st.datetimes(
                        min_value=pd.Timestamp("1990-01-01"),
                        max_value=pd.Timestamp("2030-01-01"),
                    ),
                    min_size=n,
                    max_size=n,
                )
            )
        ).as_unit("ms")
    if draw(st.booleans()):
        cols["nullable"] = pd.array(
            draw(
                st.lists(st.integers(-1000, 1000) | st.none(), min_size=n, max_size=n)
            ),
            dtype="Int64",
        )
    units = gpd.GeoDataFrame(cols, geometry=geoms, index=index, crs="EPSG:4326")

    n_acc = draw(st.integers(0, 5))
    accounts = history = None
    if n_acc:
        acc_ids = [f"A{i:03d}" for i in range(n_acc)]
        accounts = pd.DataFrame(
            {
                "unit_id": draw(
                    st.lists(st.sampled_from(ids), min_size=n_acc, max_size=n_acc)
                ),
                "annual_sales": draw(
                    st.lists(
                        st.floats(0, 1e7) | st.just(np.nan),
                        min_size=n_acc,
                        max_size=n_acc,
                    )
                ),
                "industry": draw(
                    st.lists(TEXT | st.none(), min_size=n_acc, max_size=n_acc)
                ),
            },
            index=pd.Index(acc_ids, name="account_id"),
        )
        if draw(st.booleans()):
            months = pd.period_range("2024-01", periods=3, freq="M")
            rows = [(a, p) for a in acc_ids for p in months]
            history = pd.DataFrame(
                {
                    "account_id": [r[0] for r in rows],
                    "period": pd.PeriodIndex([r[1] for r in rows], freq="M"),
                    "sales": draw(
                        st.lists(
                            st.floats(0, 1e6), min_size=len(rows), max_size=len(rows)
                        )
                    ),
                }
            )
    terr = draw(
        st.lists(
            st.sampled_from(["T1", "T2"]) | st.integers(1, 3), min_size=n, max_size=n
        )
    )
    if len({type(t) for t in terr}) > 1:
        terr = [str(t) for t in terr]
    alignments = {
        "current": Alignment(
            pd.Series(terr, index=index),
            name="current",
            provenance=make_provenance(
                "manual", seed=draw(st.integers(0, 99)), config={"k": 2}
            ),
        ),
    }
    metadata = draw(
        st.dictionaries(
            TEXT, st.integers() | TEXT | st.lists(st.integers(), max_size=3), max_size=3
        )
    )
    return Study(units, accounts, None, history, alignments, metadata)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(study=studies())
def test_round_trip_property(study, tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "study.gpkg"
    study.save(path)
    _assert_same(study, Study.load(path))


def test_round_trip_projected_crs_points_and_reps(tmp_path):
    units = gpd.GeoDataFrame(
        {"population": [100, 200, 300]},
        geometry=[
            Point(500_000, 3_700_000),
            Point(510_000, 3_700_000),
            Point(520_000, 3_710_000),
        ],
        index=pd.Index([13001, 13003, 13005], name="unit_id"),
        crs="EPSG:32617",
    )
    reps = pd.DataFrame(
        {
            "name": ["Ann", "Bo"],
            "home_lon": [-84.4, -81.1],
            "home_lat": [33.7, 32.1],
            "capacity_hours": [1600.0, 1200.0],
            "fte": [1.0, 0.75],
            "skills": ["pharma;devices", None],
        },
        index=pd.Index(["R01", "R02"], name="rep_id"),
    )
    al = Alignment.from_mapping(
        {13001: "R01", 13003: "R01", 13005: "R02"}, name="current"
    )
    s = Study(
        units,
        reps=reps,
        alignments={"current": al},
        metadata={"client": "Acme", "year": 2026},
    )
    s.save(tmp_path / "s.gpkg")
    t = Study.load(tmp_path / "s.gpkg")
    _assert_same(s, t)
    assert t.units.index.dtype == np.int64
    assert t.crs.to_epsg() == 32617


def test_save_is_atomic_and_load_rejects_foreign_files(tmp_path, monkeypatch):
    units = gpd.GeoDataFrame(
        {"w": [1.0]},
        geometry=[box(0, 0, 1, 1)],
        index=pd.Index(["u"], name="unit_id"),
        crs="EPSG:4326",
    )
    s = Study(units)
    path = s.save(tmp_path / "s.gpkg")
    before = path.read_bytes()

    import terrakit.data.study as study_mod

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(study_mod, "_write_attributes", boom)
    with pytest.raises(OSError, match="disk full"):
        s.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.gpkg"]
    monkeypatch.undo()

    units.to_file(tmp_path / "plain.gpkg", layer="units")
    with pytest.raises(DataValidationError, match="not a terrakit study file"):
        Study.load(tmp_path / "plain.gpkg")
    with pytest.raises(FileNotFoundError):
        Study.load(tmp_path / "nope.gpkg")
    with pytest.raises(ValueError, match=r"use a \.gpkg path"):
        s.save(tmp_path / "s.csv")


def test_with_alignment_and_replace_return_new_studies():
    units = gpd.GeoDataFrame(
        {"w": [1.0, 2.0]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        index=pd.Index(["u1", "u2"], name="unit_id"),
        crs="EPSG:4326",
    )
    s = Study(units)
    t = s.with_alignment(Alignment.from_mapping({"u1": "A", "u2": "B"}), "x")
    assert list(s.alignments) == [] and list(t.alignments) == ["x"]
    assert t.alignments["x"].name == "x"
    with pytest.raises(TypeError, match="unknown parts"):
        s.replace(foo=1)
    assert list(t.without_alignment("x").alignments) == []


@pytest.fixture
def one_unit_study() -> Study:
    """One lon/lat square ``'u'`` and an alignment ``a`` with tuple-valued
    metadata and provenance (JSON turns tuples into lists)."""
    units = gpd.GeoDataFrame(
        {"w": [1.0]},
        geometry=[box(0, 0, 1, 1)],
        index=pd.Index(["u"], name="unit_id"),
        crs="EPSG:4326",
    )
    al = Alignment.from_mapping(
        {"u": "T1"},
        name="a",
        provenance=make_provenance("manual", config={"k": (1, 2)}),
    )
    return Study(units, alignments={"a": al}, metadata={"range": (1, 2)})


def test_tuples_in_metadata_and_provenance_round_trip(one_unit_study, tmp_path):
    s = one_unit_study
    assert s.metadata["range"] == [1, 2]
    assert s.alignments["a"].provenance["config"] == {"k": [1, 2]}
    back = Study.load(s.save(tmp_path / "s.gpkg"))
    _assert_same(s, back)
    # the library versions of the provenance survive the round trip
    assert back.alignments["a"].provenance["versions"]["numpy"] == np.__version__


def test_provenance_that_cannot_be_saved_is_refused_at_the_door(one_unit_study):
    al = Alignment.from_mapping(
        {"u": "T2"}, name="b", provenance={"made": pd.Timestamp("2024-01-01")}
    )
    with pytest.raises(
        DataValidationError,
        match=r"alignment: alignment 'b': the provenance is not JSON-able",
    ):
        one_unit_study.with_alignment(al)


def test_save_never_replaces_a_file_that_is_not_a_study(one_unit_study, tmp_path):
    """A user's own GeoPackage (the units they loaded) is not overwritten."""
    own = tmp_path / "units.gpkg"
    one_unit_study.units.to_file(own, layer="counties")
    before = own.read_bytes()
    with pytest.raises(FileExistsError, match="exists and is not a terrakit study"):
        one_unit_study.save(own)
    assert own.read_bytes() == before
    path = one_unit_study.save(tmp_path / "s.gpkg")
    one_unit_study.save(path)  # replacing a study file is fine
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"'.*f' is a file, not a folder"):
        one_unit_study.save(tmp_path / "f" / "s.gpkg")


def test_load_names_what_is_not_a_study(one_unit_study, tmp_path):
    (tmp_path / "junk.gpkg").write_text("not sqlite")
    with pytest.raises(
        DataValidationError,
        match=r"^study: junk\.gpkg is not a terrakit study file: it is not a "
        r"GeoPackage",
    ):
        Study.load(tmp_path / "junk.gpkg")
    (tmp_path / "d.gpkg").mkdir()
    with pytest.raises(DataValidationError, match="is a folder, not a study file"):
        Study.load(tmp_path / "d.gpkg")


def test_load_refuses_a_newer_format(one_unit_study, tmp_path, monkeypatch):
    import terrakit.data.study as study_mod

    monkeypatch.setattr(study_mod, "FORMAT_VERSION", 99)
    path = one_unit_study.save(tmp_path / "s.gpkg")
    monkeypatch.undo()
    with pytest.raises(
        DataValidationError, match=r"s\.gpkg has study format 99.*Fix: upgrade"
    ):
        Study.load(path)


def test_rep_home_unit_must_be_a_unit(toy_grid_3x3) -> None:
    """A rep's home_unit that is not a unit is named (the design used to root
    the territory at the nearest unit instead, silently); an empty home_unit
    stays allowed, and the caller's reps table is unchanged."""
    s = toy_grid_3x3
    reps = s.reps.assign(home_unit=["u4", "u99"])
    before = reps.copy()
    with pytest.raises(
        DataValidationError,
        match=r"reps\.home_unit: 1 reps have a home_unit that is not in the units "
        r"table \(unknown: \['u99'\]\)",
    ):
        Study(s.units, reps=reps)
    pd.testing.assert_frame_equal(reps, before)
    ok = Study(s.units, reps=s.reps.assign(home_unit=["u4", None]))
    assert ok.reps["home_unit"].tolist()[0] == "u4"


def test_account_owner_must_be_a_rep(toy_grid_3x3) -> None:
    """An account owned by a rep the reps table lacks is named; empty owners
    stay allowed."""
    s = toy_grid_3x3
    acc = s.accounts.assign(rep_id=["R1"] * (len(s.accounts) - 1) + ["R9"])
    with pytest.raises(
        DataValidationError,
        match=r"accounts\.rep_id: 1 accounts are owned by reps that are not in the "
        r"reps table \(unknown: \['R9'\]\)",
    ):
        Study(s.units, accounts=acc, reps=s.reps)
    free = acc.assign(rep_id=["R1"] * (len(acc) - 1) + [None])
    assert (
        Study(s.units, accounts=free, reps=s.reps).accounts["rep_id"].isna().sum() == 1
    )


@pytest.fixture
def three_unit_study() -> Study:
    """Three lon/lat squares 'u1'..'u3' with accounts and reps whose columns
    are not in the order a GeoPackage layer keeps (geometry first, an id
    column last), and the alignment 'current' (reps as territories)."""
    units = gpd.GeoDataFrame(
        {"population": [10, 20, 30]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        index=pd.Index(["u1", "u2", "u3"], name="unit_id"),
        crs="EPSG:4326",
    )
    units = units[["geometry", "population"]]
    units["hint"] = 1.0
    accounts = pd.DataFrame(
        {"annual_sales": [1.0, 2.0], "unit_id": ["u1", "u3"]},
        index=pd.Index(["a1", "a2"], name="account_id"),
    )
    reps = pd.DataFrame(
        {
            "capacity_hours": [1600.0, 1200.0],
            "name": ["Ann", "Bo"],
            "home_lon": [0.5, 2.5],
            "home_lat": [0.5, 0.5],
        },
        index=pd.Index(["R1", "R2"], name="rep_id"),
    )
    al = Alignment.from_mapping({"u1": "R1", "u2": "R1", "u3": "R2"}, name="current")
    return Study(units, accounts, reps, alignments={"current": al})


def test_round_trip_keeps_the_column_order(three_unit_study, tmp_path):
    """The geometry is stored last in the layer; it comes back where it was
    (it once came back last, so the loaded study was not equal)."""
    s = three_unit_study
    assert list(s.units.columns) == ["geometry", "population", "hint"]
    t = Study.load(s.save(tmp_path / "s.gpkg"))
    assert list(t.units.columns) == ["geometry", "population", "hint"]
    assert list(t.accounts.columns) == ["annual_sales", "unit_id"]
    _assert_same(s, t)


@pytest.mark.parametrize(
    "territories",
    [
        {"u1": 1, "u2": 1, "u3": 2},
        pd.Series([1, 1, 2], index=["u1", "u2", "u3"], dtype=object),
        {"u1": 1.5, "u2": 1.5, "u3": 2.0},
        {"u1": True, "u2": True, "u3": False},
        {"u1": "T1", "u2": 7, "u3": 2.5},
        {"u1": 1, "u2": "1", "u3": True},
        {"u1": 2**70, "u2": 1, "u3": 1},
    ],
    ids=["int", "object-int", "float", "bool", "mixed", "same-text", "huge-int"],
)
def test_territory_ids_of_any_kind_round_trip(three_unit_study, tmp_path, territories):
    """Integer territory ids once saved but could not be loaded (they were
    JSON-decoded twice); every kind now comes back with its values, their
    types and the Series' dtype."""
    al = Alignment.from_mapping(territories, name="n")
    s = three_unit_study.with_alignment(al)
    t = Study.load(s.save(tmp_path / "s.gpkg"))
    _assert_same(s, t)
    back = t.alignments["n"].assignment
    assert back.dtype == al.assignment.dtype
    assert [type(v) for v in back] == [type(v) for v in al.assignment]


def test_alignments_layer_holds_plain_territory_ids(three_unit_study, tmp_path):
    """The layer QGIS shows joins to the reps layer: text ids without JSON
    quotes, integer ids as integers where every alignment has them."""
    path = three_unit_study.save(tmp_path / "s.gpkg")
    layer = pyogrio.read_dataframe(path, layer="alignments")
    assert layer["territory_id"].tolist() == ["R1", "R1", "R2"]

    units = three_unit_study.units
    by_number = Alignment.from_mapping({"u1": 1, "u2": 1, "u3": 2}, name="current")
    path = Study(units, alignments={"current": by_number}).save(tmp_path / "i.gpkg")
    layer = pyogrio.read_dataframe(path, layer="alignments")
    assert layer["territory_id"].dtype == np.int64
    assert layer["territory_id"].tolist() == [1, 1, 2]

    both = three_unit_study.with_alignment(by_number, "numbers")
    path = both.save(tmp_path / "b.gpkg")
    layer = pyogrio.read_dataframe(path, layer="alignments")
    assert layer["territory_id"].tolist() == ["R1", "R1", "R2", "1", "1", "2"]
    _assert_same(both, Study.load(path))


def _as_format_1(path) -> None:
    """Rewrite a study file the way format 1 stored it: territory ids as JSON
    text in the alignments layer (``'"R1"'``, ``'1'``), no column order (the
    geometry was last) and no territory encoding in the metadata."""
    meta = pyogrio.read_dataframe(path, layer="terrakit_metadata")
    rows = {k: json.loads(v) for k, v in zip(meta["key"], meta["value"], strict=True)}
    study = Study.load(path)
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "alignment": name,
                    "unit_id": al.assignment.index,
                    "territory_id": [json.dumps(v) for v in al.assignment.tolist()],
                }
            )
            for name, al in study.alignments.items()
        ],
        ignore_index=True,
    )
    pyogrio.write_dataframe(
        long,
        path,
        layer="alignments",
        driver="GPKG",
        layer_options={"OVERWRITE": "YES"},
    )
    rows["format_version"] = 1
    for table in rows["schema"].values():
        table.pop("column_order")
    rows["schema"]["alignments"]["columns"][2] = {
        "name": "territory_id",
        "dtype": "object",
        "encoding": "str",
    }
    for spec in rows["alignments"]:
        spec.pop("territory_encoding")
        spec.pop("territories", None)
    meta["value"] = [json.dumps(rows[k]) for k in meta["key"]]
    pyogrio.write_dataframe(
        meta,
        path,
        layer="terrakit_metadata",
        driver="GPKG",
        layer_options={"OVERWRITE": "YES"},
    )


def test_files_of_format_1_still_load(three_unit_study, tmp_path):
    s = three_unit_study.with_alignment(
        Alignment.from_mapping(
            pd.Series([1, 1, 2], index=["u1", "u2", "u3"], dtype=object), name="n"
        )
    )
    path = s.save(tmp_path / "s.gpkg")
    _as_format_1(path)
    layer = pyogrio.read_dataframe(path, layer="alignments")
    assert layer["territory_id"].tolist()[:2] == ['"R1"', '"R1"']
    t = Study.load(path)
    for name, al in s.alignments.items():
        back = t.alignments[name].assignment
        pd.testing.assert_series_equal(back, al.assignment, check_exact=True)
        assert [type(v) for v in back] == [type(v) for v in al.assignment]
    # format 1 kept no column order: the geometry comes back last
    assert list(t.units.columns) == ["population", "hint", "geometry"]


def test_reserved_and_case_clashing_column_names_round_trip(tmp_path):
    """A GeoPackage keeps its own 'fid' and 'geom' and compares names ignoring
    case: a QGIS export's 'fid' column saved but could not be loaded (KeyError
    'fid'), and 'FID', 'geom', 'Region' + 'region' or 'UNIT_ID' next to the
    unit_id index failed to save; saving over a good study file destroyed it."""
    units = gpd.GeoDataFrame(
        {
            "fid": [7, 9],
            "FID_": ["a", "b"],
            "geom": ["x", "y"],
            "Region": ["N", "S"],
            "region": ["n", "s"],
            "UNIT_ID": ["one", "two"],
            "tk_col5": [1.5, 2.5],
        },
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        index=pd.Index(["u1", "u2"], name="unit_id"),
        crs="EPSG:4326",
    )
    accounts = pd.DataFrame(
        {"FID": [1, 2], "unit_id": ["u1", "u2"], "Account_ID": ["x", "y"]},
        index=pd.Index(["a1", "a2"], name="account_id"),
    )
    study = Study(units, accounts=accounts)
    path = tmp_path / "s.gpkg"
    Study(units.drop(columns=["fid", "geom"])).save(path)
    study.save(path)  # over a good study file
    back = Study.load(path)
    _assert_same(study, back)
    assert list(back.units.columns) == list(units.columns)


def test_names_that_collide_as_text_are_refused(one_unit_study):
    units = one_unit_study.units
    uid = units.index[0]
    a = Alignment.from_mapping({uid: "T1"}, name="plan_2024")
    b = Alignment.from_mapping({uid: "T2"}, name="plan_2024_v2")
    with pytest.raises(
        DataValidationError,
        match=r"alignments: names collide once made text \(2024 and '2024'\)",
    ):
        Study(units, alignments={2024: a, "2024": b})
    with pytest.raises(
        DataValidationError,
        match=r"scenarios: names collide once made text \(1 and '1'\)",
    ):
        Study(units, scenarios={1: {"kind": "a"}, "1": {"kind": "b"}})


def test_alignment_takes_its_key_as_name_through_save_and_load(
    one_unit_study, tmp_path
):
    units = one_unit_study.units
    al = Alignment.from_mapping({units.index[0]: "T1"}, name="mip_2025_03")
    s = Study(units, alignments={"proposed": al})
    assert s.alignments["proposed"].name == "proposed"
    back = Study.load(s.save(tmp_path / "s.gpkg"))
    assert back.alignments["proposed"] == s.alignments["proposed"]
    assert back.equals(s)


def test_equals_compares_alignment_names(one_unit_study):
    units = one_unit_study.units
    al = Alignment.from_mapping({units.index[0]: "T1"}, name="a")
    s = Study(units, alignments={"a": al})
    twin = Alignment(al.assignment, name="a", provenance=al.provenance)
    other = Study(units, alignments={"a": twin})
    assert s.equals(other)
    # a study keeps names equal to keys; only a forced edit can make them differ
    object.__setattr__(twin, "name", "b")
    assert not s.equals(other)


def test_study_alignment_provenance_cannot_be_edited_through_the_view(
    one_unit_study, tmp_path
):
    units = one_unit_study.units
    prov = make_provenance("mip", config={"target_max_deviation": 0.5})
    s = Study(
        units,
        alignments={"a": Alignment.from_mapping({units.index[0]: 1}, provenance=prov)},
    )
    s.alignments["a"].provenance["config"]["target_max_deviation"] = 0.01
    assert s.alignments["a"].provenance["config"] == {"target_max_deviation": 0.5}
    back = Study.load(s.save(tmp_path / "p.gpkg"))
    assert back.alignments["a"].provenance["config"] == {"target_max_deviation": 0.5}


def test_durations_round_trip_exactly(three_unit_study, tmp_path):
    """A timedelta column was accepted by Study and save() died inside pyogrio
    (NotImplementedError: field type is not supported timedelta64[ns])."""
    s = three_unit_study
    units = s.units.assign(
        drive=pd.to_timedelta([12, None, 25], unit="min"),
        # beyond 2**53 ns (104 days), where a float would round
        long=pd.to_timedelta([2**62 + 1, -7, None], unit="ns"),
        coarse=pd.to_timedelta([3, 4, 5], unit="D").astype("timedelta64[s]"),
    )
    accounts = s.accounts.assign(wait=pd.to_timedelta([None, 2.5], unit="h"))
    t = s.replace(units=units, accounts=accounts)
    back = Study.load(t.save(tmp_path / "s.gpkg"))
    _assert_same(t, back)
    assert back.units["long"].to_numpy().view(np.int64)[:2].tolist() == [
        2**62 + 1,
        -7,
    ]
    assert back.units["coarse"].dtype == "timedelta64[s]"
    # stored as integer nanoseconds, NaT as null: what QGIS shows
    raw = pyogrio.read_dataframe(tmp_path / "s.gpkg", layer="units")
    assert raw["drive"].tolist()[0] == 12 * 60 * 10**9 and np.isnan(raw["drive"][1])
    # float16 is stored too
    h = s.replace(units=s.units.assign(h=np.array([1.5, 2, 3], dtype=np.float16)))
    _assert_same(h, Study.load(h.save(tmp_path / "h.gpkg")))


@pytest.mark.parametrize(
    ("table", "values", "dtype"),
    [
        ("units", np.array([1 + 2j, 3, 4]), "complex128"),
        (
            "accounts",
            pd.arrays.IntervalArray.from_breaks([0, 1, 2]),
            "interval[int64, right]",
        ),
    ],
)
def test_unsupported_dtypes_are_refused_at_save(
    three_unit_study, tmp_path, table, values, dtype
):
    """A complex column died inside pyogrio; an interval column was saved and
    then could not be loaded.  The error names the table and the column, and
    no file is left (an existing study stays as it was)."""
    s = three_unit_study
    path = s.save(tmp_path / "s.gpkg")
    before = path.read_bytes()
    bad = s.replace(**{table: getattr(s, table).assign(odd=values)})
    with pytest.raises(DataValidationError) as info:
        bad.save(path)
    assert str(info.value) == (
        f"{table}.odd: a column of dtype {dtype} cannot be saved in a study file "
        "(it holds numbers, text, booleans, dates, durations, categories and "
        "periods). Fix: convert it before saving (e.g. df['odd'].astype(str), or "
        "split complex numbers into .real and .imag columns), or drop it"
    )
    assert info.value.table == table and info.value.column == "odd"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.gpkg"]
    with pytest.raises(DataValidationError, match=r"^units\.odd: a column of dtype"):
        s.replace(units=s.units.assign(odd=np.array([1j, 2, 3]))).save(
            tmp_path / "new.gpkg"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.gpkg"]


# -- QA round 17 ------------------------------------------------------------------
def test_account_owners_take_the_type_of_the_rep_ids(three_unit_study):
    """Owners read as text ('7', as read_accounts reads rep_id) were checked
    against integer rep ids after conversion, but kept as text: no account's
    rep_id was in reps.index, so every account looked re-assigned."""
    s = three_unit_study
    reps = s.reps.set_axis(pd.Index([7, 8], name="rep_id"))
    acc = s.accounts.assign(rep_id=["7", "8"])
    study = Study(s.units, accounts=acc, reps=reps)
    assert study.accounts["rep_id"].dtype == "int64"
    assert study.accounts["rep_id"].tolist() == [7, 8]
    assert study.accounts["rep_id"].isin(study.reps.index).all()
    assert acc["rep_id"].tolist() == ["7", "8"]  # the caller's table unchanged


def test_owners_as_text_with_empty_cells_match_integer_rep_ids(
    three_unit_study, tmp_path
):
    """Owners read as text with an empty cell ('7', '' as read_accounts reads
    a CSV) against integer rep ids were refused as "owned by reps that are not
    in the reps table (unknown: ['7'])"; whole-number owners against text rep
    ids (7.0) likewise."""
    s = three_unit_study
    reps = s.reps.set_axis(pd.Index([7, 8], name="rep_id"))
    acc = s.accounts.assign(rep_id=pd.Series(["7", None], dtype=object).to_numpy())
    study = Study(s.units, accounts=acc, reps=reps)
    owners = study.accounts["rep_id"]
    assert owners.isna().tolist() == [False, True]
    assert owners.iloc[0] == 7 and owners.iloc[0] in study.reps.index
    study.save(tmp_path / "s.gpkg")
    back = Study.load(tmp_path / "s.gpkg").accounts["rep_id"]
    assert back.isna().tolist() == [False, True] and back.iloc[0] == 7
    with pytest.raises(DataValidationError, match=r"unknown: \['9'\]"):
        Study(s.units, accounts=acc.assign(rep_id=["9", None]), reps=reps)

    text_reps = s.reps.set_axis(pd.Index(["7", "8"], name="rep_id"))
    study = Study(s.units, accounts=acc.assign(rep_id=[7.0, np.nan]), reps=text_reps)
    assert study.accounts["rep_id"].iloc[0] == "7"
    assert study.accounts["rep_id"].isna().tolist() == [False, True]


def test_nullable_integers_round_trip_exactly(three_unit_study, tmp_path):
    """Int64 columns and ids were stored as floats: 2**53 + 1 came back 2**53,
    and 18-digit account ids collided, so the saved study could not be
    loaded ('ids occur more than once')."""
    s = three_unit_study
    units = s.units.assign(
        code=pd.array([2**53 + 1, None, -(2**62)], dtype="Int64"),
        small=pd.array([1, None, 3], dtype="UInt8"),
        mid=pd.array([None, 2**31 - 1, 0], dtype="Int32"),
        whole=pd.array([1, 2, 3], dtype="Int64"),
    )
    ids = pd.Index(
        pd.array([100000000000000001, 100000000000000002], dtype="Int64"),
        name="account_id",
    )
    t = s.replace(units=units, accounts=s.accounts.set_axis(ids))
    back = Study.load(t.save(tmp_path / "s.gpkg"))
    _assert_same(t, back)
    assert back.units["code"].tolist()[0] == 2**53 + 1
    assert back.accounts.index.tolist() == [100000000000000001, 100000000000000002]
    assert str(back.units["small"].dtype) == "UInt8"
    # stored as integers (with nulls) that QGIS shows as such
    info = pyogrio.read_info(tmp_path / "s.gpkg", layer="units")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert [types[c] for c in ("code", "small", "mid", "whole")] == ["int64"] * 4


def test_nullable_uint64_above_int64_is_refused_at_save(three_unit_study, tmp_path):
    s = three_unit_study
    big = s.replace(units=s.units.assign(u=pd.array([2**63, None, 1], dtype="UInt64")))
    with pytest.raises(DataValidationError) as info:
        big.save(tmp_path / "s.gpkg")
    assert str(info.value) == (
        "units.u: 1 values are above 9223372036854775807 (the largest integer a "
        "GeoPackage holds). Fix: store them as text (df['u'].astype(str)) or floats"
    )


def test_decimals_are_numbers_at_the_door(three_unit_study, tmp_path):
    """Decimal values (Parquet decimal128, from SQL NUMERIC columns) were
    accepted, and save() then died with "provenance value Decimal('1') ...
    is not JSON-able": whole-number ids become int64, other columns floats."""
    from decimal import Decimal as D

    s = three_unit_study
    units = s.units.set_axis(
        pd.Index([D(1), D(2), D(3)], dtype=object, name="unit_id")
    ).assign(income=[D("1.5"), None, D("2.25")])
    acc = s.accounts.set_axis(
        pd.Index([D(10), D(11)], dtype=object, name="account_id")
    ).assign(unit_id=[D(1), D(3)], annual_sales=[D("1.10"), D(2)])
    t = Study(units, accounts=acc)
    assert t.units.index.dtype == "int64" and t.units.index.tolist() == [1, 2, 3]
    assert t.units["income"].dtype == "float64"
    assert t.units["income"].isna().tolist() == [False, True, False]
    assert t.accounts.index.tolist() == [10, 11]
    assert t.accounts["unit_id"].tolist() == [1, 3]
    assert t.accounts["annual_sales"].tolist() == [1.1, 2.0]
    _assert_same(t, Study.load(t.save(tmp_path / "s.gpkg")))


def test_values_json_cannot_hold_are_refused_at_save(three_unit_study, tmp_path):
    """A column mixing Decimals and floats stays objects: save() named a
    'provenance value' in a bare TypeError; now the table, column and rows."""
    from decimal import Decimal as D

    s = three_unit_study
    bad = s.replace(accounts=s.accounts.assign(odd=[D("1.5"), 2.0]))
    with pytest.raises(DataValidationError) as info:
        bad.save(tmp_path / "s.gpkg")
    assert str(info.value) == (
        "accounts.odd: 1 values cannot be saved in a study file, e.g. "
        "Decimal('1.5') of type Decimal (it holds numbers, text, booleans, dates, "
        "durations, categories and periods) (rows: 'a1'). Fix: convert them before "
        "saving (e.g. df['odd'].astype(float) or .astype(str)), or drop the column"
    )
    assert list(tmp_path.iterdir()) == []


def test_stored_periods_are_restored_with_missing_months():
    """Periods are parsed once per distinct month (Study.load parsed ~200k
    history strings one by one); the result, NaT included, is unchanged."""
    from terrakit.data.study import _restore_dtype

    stored = pd.Series(
        ["2024-01", None, "2023-12", "2024-01", np.nan, "2023-12"],
        index=[5, 4, 3, 2, 1, 0],
        dtype=object,
    )
    got = _restore_dtype(stored, {"dtype": "period", "period_dtype": "period[M]"})
    expected = pd.Series(
        pd.PeriodIndex(
            ["2024-01", None, "2023-12", "2024-01", None, "2023-12"], freq="M"
        ),
        index=[5, 4, 3, 2, 1, 0],
    )
    pd.testing.assert_series_equal(got, expected)
    empty = _restore_dtype(
        pd.Series([], dtype=object), {"dtype": "period", "period_dtype": "period[M]"}
    )
    assert str(empty.dtype) == "period[M]" and empty.empty


# -- QA round 21 ------------------------------------------------------------------
def test_pyarrow_columns_round_trip(three_unit_study, tmp_path):
    """A bool[pyarrow] column with a missing value was saved as the texts
    'True'/'<NA>', and Study.load then died with a bare ArrowInvalid;
    string[pyarrow] came back as string[python]; Arrow timestamps and dates
    were refused.  Arrow columns are stored as their numpy / nullable
    equivalents and read back in their Arrow dtype."""
    pa = pytest.importorskip("pyarrow")

    def arrow(values, pa_type):
        return pd.array(pa.array(values, type=pa_type), dtype=pd.ArrowDtype(pa_type))

    s = three_unit_study
    ts = pd.Timestamp("2024-03-01 10:30", tz="UTC")
    units = s.units.assign(
        urban=arrow([True, None, False], pa.bool_()),
        code=arrow([2**53 + 1, None, -7], pa.int64()),
        share=arrow([0.5, None, 1.5], pa.float64()),
        label=arrow(["x", None, "z"], pa.string()),
        opened=arrow([ts, None, ts], pa.timestamp("ms", tz="Europe/Berlin")),
        since=arrow([pd.Timestamp("2020-01-31").date(), None, None], pa.date32()),
        drive=arrow([pd.Timedelta(minutes=5), None, pd.Timedelta(0)], pa.duration("s")),
        name=pd.array(["a", None, "c"], dtype="string[pyarrow]"),
    )
    t = s.replace(units=units)
    back = Study.load(t.save(tmp_path / "s.gpkg"))
    _assert_same(t, back)
    assert back.units["urban"].isna().tolist() == [False, True, False]
    assert back.units["code"].iloc[0] == 2**53 + 1
    assert str(back.units["urban"].dtype) == "bool[pyarrow]"
    assert back.units["name"].dtype == pd.StringDtype("pyarrow")
    assert back.units["label"].dtype == pd.ArrowDtype(pa.string())
    assert str(back.units["since"].dtype) == "date32[day][pyarrow]"
    # what QGIS shows: numbers and dates, not the texts 'True' and '<NA>'
    raw = pyogrio.read_dataframe(tmp_path / "s.gpkg", layer="units")
    assert raw["urban"].tolist()[::2] == [1.0, 0.0] and np.isnan(raw["urban"][1])
    assert str(raw["since"][0]) == "2020-01-31 00:00:00"
    # a type the file cannot hold is refused at save, naming the column
    odd = s.replace(
        units=s.units.assign(odd=arrow([[1], None, [2]], pa.list_(pa.int64())))
    )
    with pytest.raises(DataValidationError) as info:
        odd.save(tmp_path / "odd.gpkg")
    assert info.value.table == "units" and info.value.column == "odd"
    assert str(info.value).endswith(
        "Fix: convert it before saving (e.g. df['odd'].astype(float) or "
        ".astype(str)), or drop it"
    )
    assert not (tmp_path / "odd.gpkg").exists()


def test_numeric_categories_are_stored_as_their_values(three_unit_study, tmp_path):
    """Categoricals of numbers were stored as their category codes: QGIS and
    read_units on the saved study showed 2, 0, 1 where the units held 30,
    10, 20.  Files written so (format 2) still load."""
    from terrakit.data import read_units

    s = three_unit_study
    units = s.units.assign(
        region=pd.Categorical([30, 10, 20], categories=[10, 20, 30]),
        big=pd.Categorical([2**60 + 1, None, 5], categories=[5, 2**60 + 1]),
        rate=pd.Categorical([0.5, None, 1.5], categories=[1.5, 0.5], ordered=True),
        flag=pd.Categorical([True, False, None]),
        size=pd.Categorical(["S", None, "L"], categories=["S", "L"]),
    )
    t = s.replace(units=units)
    path = t.save(tmp_path / "s.gpkg")
    _assert_same(t, Study.load(path))
    raw = pyogrio.read_dataframe(path, layer="units")
    assert raw["region"].tolist() == [30, 10, 20]
    assert raw["rate"].tolist()[::2] == [0.5, 1.5]
    assert read_units(path)["region"].tolist() == [30, 10, 20]
    info = pyogrio.read_info(path, layer="units")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert types["region"] == types["big"] == "int64"

    # format 2 stored the codes, and no category_encoding in the schema
    meta = pyogrio.read_dataframe(path, layer="terrakit_metadata")
    rows = {k: json.loads(v) for k, v in zip(meta["key"], meta["value"], strict=True)}
    rows["format_version"] = 2
    for col in rows["schema"]["units"]["columns"]:
        col.pop("category_encoding", None)
    meta["value"] = [json.dumps(rows[k]) for k in meta["key"]]
    for name in ("region", "big", "rate", "flag"):
        codes = units[name].cat.codes.astype(float)
        raw[name] = codes.where(codes >= 0).to_numpy()
    pyogrio.write_dataframe(
        raw, path, layer="units", driver="GPKG", layer_options={"OVERWRITE": "YES"}
    )
    pyogrio.write_dataframe(
        meta,
        path,
        layer="terrakit_metadata",
        driver="GPKG",
        layer_options={"OVERWRITE": "YES"},
    )
    assert pyogrio.read_dataframe(path, layer="units")["region"].tolist() == [2, 0, 1]
    _assert_same(t, Study.load(path))


@pytest.mark.parametrize(
    ("values", "shown", "plain"),
    [
        (
            pd.cut([1.0, 5.0, 9.0], [0, 3, 6, 10]),
            "interval[int64, right] (e.g. Interval(0, 3, closed='right'))",
            "",
        ),
        (
            pd.Categorical(pd.PeriodIndex(["2024-01", "2024-02", "2024-01"], freq="M")),
            "period[M] (e.g. Period('2024-01', 'M'))",
            ", or df['band'].astype('period[M]') keeps them as a plain column",
        ),
        (
            pd.Categorical(pd.to_datetime(["2024-01-01", "2024-02-01", None])),
            "datetime64[ns] (e.g. Timestamp('2024-01-01 00:00:00'))",
            ", or df['band'].astype('datetime64[ns]') keeps them as a plain column",
        ),
    ],
)
def test_categories_the_file_cannot_hold_are_refused_at_save(
    three_unit_study, tmp_path, values, shown, plain
):
    """A pd.cut band (categories of intervals), or a categorical of dates or
    periods, was accepted and save() died with a bare TypeError about a
    'provenance value'.  Refused, naming the table and column and the fix
    (stored as text they could not be read back as what the study held)."""
    s = three_unit_study.replace(units=three_unit_study.units.assign(band=values))
    with pytest.raises(DataValidationError) as info:
        s.save(tmp_path / "s.gpkg")
    assert str(info.value) == (
        f"units.band: a categorical column whose categories are {shown} cannot "
        "be saved in a study file (it holds categories of numbers or of text). "
        "Fix: convert it before saving: df['band'].astype(str) keeps the labels "
        f"as text{plain}; or drop it"
    )
    assert list(tmp_path.iterdir()) == []
    fixed = s.replace(units=s.units.assign(band=s.units["band"].astype(str)))
    back = Study.load(fixed.save(tmp_path / "s.gpkg")).units["band"]
    assert back.tolist()[:2] == fixed.units["band"].tolist()[:2]


def test_date_objects_round_trip(three_unit_study, tmp_path):
    """A Parquet DATE column (read as datetime.date objects) was accepted at
    the door and refused at save ("it holds ... dates ... Fix: astype(float)").
    Stored as dates, read back as the same date objects."""
    import datetime as dt

    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    from terrakit.data import read_accounts

    pq.write_table(
        pa.table(
            {
                "account_id": ["a1", "a2"],
                "unit_id": ["u1", "u3"],
                "annual_sales": [1.0, 2.0],
                "since": pa.array([dt.date(2020, 1, 31), None], type=pa.date32()),
            }
        ),
        tmp_path / "acc.parquet",
    )
    s = three_unit_study
    t = s.replace(
        accounts=read_accounts(tmp_path / "acc.parquet"),
        units=s.units.assign(
            opened=np.array(
                [dt.date(1800, 1, 1), None, dt.date(2024, 2, 29)], dtype=object
            )
        ),
    )
    back = Study.load(t.save(tmp_path / "s.gpkg"))
    _assert_same(t, back)
    assert back.accounts["since"].tolist() == [dt.date(2020, 1, 31), None]
    assert back.units["opened"].tolist() == [
        dt.date(1800, 1, 1),
        None,
        dt.date(2024, 2, 29),
    ]
    # datetimes left as objects are refused with the conversion that stores them
    aware = np.array(
        [
            dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            None,
        ],
        dtype=object,
    )
    with pytest.raises(DataValidationError) as info:
        s.replace(units=s.units.assign(at=aware)).save(tmp_path / "aware.gpkg")
    assert str(info.value).endswith(
        "Fix: convert them before saving with pd.to_datetime(df['at']) (pass "
        "utc=True where they mix time zones)"
    )


def test_save_keeps_the_tables_that_are_not_the_studys(three_unit_study, tmp_path):
    """Study.save replaced the file with a new one holding only the study's
    layers: the table tk.sweep streams its rows into (in the study file, so
    that an interrupted sweep resumes), a layer or a table added in QGIS,
    were deleted.  They are copied as they were, with their indexes."""
    import sqlite3
    from contextlib import closing

    from shapely.geometry import Point

    path = three_unit_study.save(tmp_path / "s.gpkg")
    pyogrio.write_dataframe(
        pd.DataFrame({"key": ["k1", "k2"], "seed": [1, 2], "row": ['{"y": 2}', None]}),
        path,
        layer="sweep",
        driver="GPKG",
    )
    gpd.GeoDataFrame(
        {"note": ["here", None]}, geometry=[Point(1, 2), None], crs="EPSG:3857"
    ).to_file(path, layer="notes")
    with closing(sqlite3.connect(path)) as con, con:
        con.execute('CREATE UNIQUE INDEX "sweep_key" ON "sweep"(key)')
        con.execute("CREATE TABLE qgis_projects(name TEXT PRIMARY KEY, content BLOB)")
        con.execute("INSERT INTO qgis_projects VALUES ('p', x'0102')")

    def contents() -> dict:
        with closing(sqlite3.connect(path)) as con:
            return {
                "sweep": con.execute("SELECT * FROM sweep").fetchall(),
                "projects": con.execute("SELECT * FROM qgis_projects").fetchall(),
                "indexes": con.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                    "sql IS NOT NULL"
                ).fetchall(),
                "registered": con.execute(
                    "SELECT table_name, data_type FROM gpkg_contents WHERE "
                    "table_name IN ('sweep', 'notes') ORDER BY table_name"
                ).fetchall(),
            }

    before = contents()
    assert before["indexes"] == [
        ("sweep_key", 'CREATE UNIQUE INDEX "sweep_key" ON "sweep"(key)')
    ]
    t = Study.load(path).without_alignment("current")
    t.save(path)
    assert contents() == before
    assert sorted(str(n) for n, _ in pyogrio.list_layers(path)) == [
        "accounts",
        "notes",
        "reps",
        "sweep",
        "terrakit_metadata",
        "units",
    ]
    notes = pyogrio.read_dataframe(path, layer="notes")
    assert notes["note"].tolist() == ["here", None]
    assert notes.crs == "EPSG:3857" and notes.geometry.iloc[0] == Point(1, 2)
    _assert_same(t, Study.load(path))


def test_entry_points_refuse_wrong_types_with_the_fix(three_unit_study):
    """alignments=[a] or alignments=a, scenarios=['x'], with_alignment(dict)
    and with_scenario(name, Scenario) died with bare AttributeError and
    TypeError."""
    s = three_unit_study
    al = s.alignments["current"]
    cases = [
        (
            lambda: Study(s.units, alignments=[al]),
            "alignments: alignments must be a dict of name → Alignment, got a "
            "list. Fix: pass alignments={a.name: a for a in alignments} (the key "
            "is the alignment's name in the study)",
        ),
        (
            lambda: Study(s.units, alignments=al),
            "alignments: alignments must be a dict of name → Alignment, got one "
            "Alignment ('current'). Fix: pass alignments={alignment.name: "
            "alignment}, or add it with study.with_alignment(alignment)",
        ),
        (
            lambda: Study(s.units, scenarios=["x"]),
            "scenarios: scenarios must be a dict of name → scenario record, got a "
            "list. Fix: pass scenarios={name: scenario.to_dict()}, or add one with "
            "study.with_scenario(name, scenario.to_dict())",
        ),
        (
            lambda: s.with_alignment({"u1": 1, "u2": 1, "u3": 2}),
            "alignment: with_alignment() takes an Alignment, got a dict. Fix: wrap "
            "a dict of unit → territory with tk.Alignment.from_mapping(mapping, "
            "name='...')",
        ),
        (
            lambda: s.with_scenario("x", object()),
            "scenarios: scenario 'x' must be a JSON-able dict, got object (rows: "
            "'x'). Fix: store scenario.to_dict() (or use scenario.save_to(study))",
        ),
    ]
    for call, message in cases:
        with pytest.raises(DataValidationError) as info:
            call()
        assert str(info.value) == message


def test_a_tilde_path_is_the_home_folder(three_unit_study, tmp_path, monkeypatch):
    """Study.save('~/client.gpkg') wrote ./~/client.gpkg (a folder named '~'
    in the working folder); Study.load('~/...') found no file."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    assert three_unit_study.save("~/client.gpkg") == home / "client.gpkg"
    assert (home / "client.gpkg").is_file() and list(work.iterdir()) == []
    _assert_same(three_unit_study, Study.load("~/client.gpkg"))


def test_a_whole_number_cell_blanked_outside_terrakit_loads_as_missing(
    tmp_path,
) -> None:
    """A cell of an integer column blanked in the file (in QGIS, say) made
    Study.load fail with a bare pandas casting error, so nothing loaded; the
    column now comes back nullable, the other values kept and the gap missing."""
    import sqlite3

    from terrakit.data.synthetic import toy_grid

    path = tmp_path / "edited.gpkg"
    toy_grid().save(path)
    stored = Study.load(path).accounts["calls_per_year"]
    assert stored.dtype == np.int64
    with sqlite3.connect(path) as con:
        con.execute("UPDATE accounts SET calls_per_year = NULL WHERE rowid = 2")
    back = Study.load(path).accounts["calls_per_year"]
    assert back.dtype == "Int64"
    assert back.isna().tolist() == [i == 1 for i in range(len(back))]
    assert back.drop(back.index[1]).tolist() == stored.drop(stored.index[1]).tolist()

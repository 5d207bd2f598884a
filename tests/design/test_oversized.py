"""Oversized and stuck units: splitting rule, merged multi-rep territories."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from terrakit.data.geo import adjacency
from terrakit.design import align, split_oversized
from terrakit.design.oversized import split_blocking, stuck_units
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)


@pytest.fixture
def strip_6() -> gpd.GeoDataFrame:
    """Six unit squares in a row, population 6, 1, 1, 1, 1, 2 (total 12).

    With 4 territories the mean is 3 and the ±10 % limit 3.3: unit ``a``
    (6) needs ⌈6 / 3.3⌉ = 2 parts of 3 — each part alone is a territory.
    """
    return gpd.GeoDataFrame(
        {"population": [6.0, 1.0, 1.0, 1.0, 1.0, 2.0], "area": [1.0] * 6},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(6)],
        index=pd.Index(list("abcdef"), name="unit_id"),
        crs="EPSG:4326",
    )


def test_split_rule_and_additive_columns(strip_6: gpd.GeoDataFrame) -> None:
    s = split_oversized(strip_6, "population", 4, 0.10)
    assert s.upper_limit == pytest.approx(3.3)
    assert s.units.index.tolist() == ["a#1", "a#2", "b", "c", "d", "e", "f"]
    assert s.units["population"].tolist() == [3.0, 3.0, 1, 1, 1, 1, 2]
    assert s.units["area"].tolist() == [0.5, 0.5, 1, 1, 1, 1, 1]
    assert s.units["population"].sum() == strip_6["population"].sum()
    assert s.parts["unit_id"].tolist() == ["a", "a"]
    assert "a: 6 = 1.818 × limit -> 2 parts of 3" in s.summary()
    none = split_oversized(strip_6, "population", 2, 0.10)
    assert none.parts.empty and none.units.index.equals(strip_6.index)


def test_unsplit_spec_is_refused_and_split_one_is_solved(
    strip_6: gpd.GeoDataFrame,
) -> None:
    with pytest.raises(SpecificationError, match="unit 'a' alone carries 6"):
        align(strip_6, n_territories=4, balance={"population": 0.1}, time_limit=10)
    adj = adjacency(strip_6, warn=False)
    s = split_oversized(strip_6, "population", 4, 0.10, adjacency=adj)
    # the parts touch each other and a's neighbour b
    nb = s.adjacency.neighbors
    assert sorted(nb["a#1"]) == ["a#2", "b"]
    res = align(
        s.units,
        n_territories=4,
        balance={"population": 0.1},
        adjacency=s.adjacency,
        time_limit=20,
        seed=0,
    )
    assert res.status != "infeasible"
    sums = res.territories["population"].to_numpy()
    assert np.all(sums >= 2.7 - 1e-9) and np.all(sums <= 3.3 + 1e-9)
    groups = s.groups(res.alignment.assignment)
    # a's two parts lie in two territories: one 2-rep territory with 6 people
    assert groups["reps"].tolist() == [2]
    assert groups["population"].tolist() == [6.0]
    assert groups["per_rep_dev"].tolist() == [0.0]
    served = s.unit_territories(res.alignment.assignment)
    assert len(served["a"]) == 2 and len(served["b"]) == 1


def test_stuck_unit_on_a_path() -> None:
    """Path x(5) – y(2) – z(5): band [6.5, 7.5].  ``y`` alone is 2, y+x = 7 is
    in the band, so nothing is stuck; in band [7.5, 8] x+y = 7 is under and
    x+y+z = 12 over, so x, y and z are all stuck."""
    units = gpd.GeoDataFrame(
        {"w": [5.0, 2.0, 5.0]},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(3)],
        index=pd.Index(["x", "y", "z"]),
        crs="EPSG:4326",
    )
    adj = adjacency(units, warn=False)
    assert stuck_units(units["w"], adj, 6.5, 7.5, candidates=list("xyz")).empty
    st = stuck_units(units["w"], adj, 7.5, 8.0, candidates=list("xyz"))
    assert st.index.tolist() == ["x", "y", "z"]
    assert st.loc["y", "best_below"] == 7.0
    assert st.loc["y", "best_above"] == 12.0


def test_split_blocking_clears_stuck_units() -> None:
    """Path x(5) – y(2) – z(5), k = 2 (mean 6, ±10 % band [5.4, 6.6]):
    every unit is stuck (5 or 2 alone, 7 or 12 with others); after splitting
    them into parts of at most 2τ · mean = 1.2 nothing is stuck."""
    units = gpd.GeoDataFrame(
        {"w": [5.0, 2.0, 5.0]},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(3)],
        index=pd.Index(["x", "y", "z"]),
        crs="EPSG:4326",
    )
    adj = adjacency(units, warn=False)
    split, stuck0 = split_blocking(units, "w", 2, 0.10, adjacency=adj)
    assert set(stuck0.index) == {"x", "y", "z"}
    assert split.n_split == 3
    assert len(split.units) == 5 + 2 + 5
    assert (split.units["w"] <= 1.2 + 1e-12).all()
    assert stuck_units(
        split.units["w"], split.adjacency, 5.4, 6.6, candidates=split.units.index
    ).empty


def test_split_errors(strip_6: gpd.GeoDataFrame) -> None:
    with pytest.raises(SpecificationError, match="no 'sales' column"):
        split_oversized(strip_6, "sales", 4, 0.1)
    with pytest.raises(
        SpecificationError, match=r"tolerance must be a number in \[0, 1\)"
    ):
        split_oversized(strip_6, "population", 4, 1.5)
    with pytest.raises(SpecificationError, match="got '5%'"):
        split_oversized(strip_6, "population", 4, "5%")
    # 2.5 territories were split as 2
    with pytest.raises(
        SpecificationError, match=r"whole number of at least 1, got 2\.5"
    ):
        split_oversized(strip_6, "population", 2.5, 0.1)
    # the refusal said what was wrong but not how to build the graph
    with pytest.raises(TypeError) as err:
        split_oversized(
            strip_6, "population", 4, 0.1, adjacency=adjacency(strip_6).to_frame()
        )
    assert str(err.value) == (
        "adjacency must be a terrakit.data.geo.Adjacency over the units, got "
        "pandas.core.frame.DataFrame; build it with tk.data.geo.adjacency(units) "
        "(add links to islands with .with_links([(a, b), ...])) or leave it None"
    )


def _strip(values, ids) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"population": values},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(len(values))],
        index=pd.Index(ids, name="unit_id"),
        crs="EPSG:4326",
    )


def test_integer_unit_ids_map_to_their_own_unit() -> None:
    """Integer ids: part ids are looked up as labels, never as positions
    (``Series.get(0)`` used to return the unit of part 0)."""
    s = split_oversized(
        _strip([10.0, 10, 10, 10, 10, 80], range(6)), "population", 3, 0.1
    )
    a = pd.Series(
        {0: "T01", 1: "T02", 2: "T03", 3: "T03", 4: "T01", "5#1": "T01", "5#2": "T02"}
    )
    served = s.unit_territories(a)
    assert served.to_dict() == {
        0: ("T01",),
        1: ("T02",),
        2: ("T03",),
        3: ("T03",),
        4: ("T01",),
        5: ("T01", "T02"),
    }


def test_split_blocking_splits_stuck_integer_units() -> None:
    """The same strip with text and integer ids splits the same units."""
    vals = [60.0, 50, 50, 40, 150]
    got = []
    for ids in (list("abcde"), [0, 1, 2, 3, 4]):
        u = _strip(vals, ids)
        split, stuck0 = split_blocking(
            u, "population", 3, 0.05, adjacency=adjacency(u, warn=False)
        )
        # by the ids of the first split, text where it split integer ids
        assert stuck0.index.tolist() == [str(i) for i in ids[:3]]
        got.append(sorted(split.parts["unit_id"].unique().tolist(), key=str))
    # c is not split: stuck beside e's two parts of 75, it is not beside
    # e's parts of at most 2τ · mean, into which split_blocking cuts e
    assert got == [["a", "b", "e"], [0, 1, 4]]


def test_numbers_stored_as_text_are_divided() -> None:
    s = split_oversized(_strip(["10", "2", "3"], list("abc")), "population", 2, 0.05)
    assert s.units["population"].tolist() == [5.0, 5.0, 2.0, 3.0]
    assert s.units["population"].sum() == 15.0


@pytest.mark.parametrize(
    ("values", "ids", "message"),
    [
        (
            [0.0, 0.0, 0.0],
            None,
            "units.population: every one of the 3 units has population 0, so the "
            "band (1 ± τ) · total / k is 0 and there is nothing to split (rows: "
            "'u0', 'u1', 'u2'). Fix: fill the population column, or split on an "
            "activity with positive values",
        ),
        (
            [],
            None,
            "units: the table has no rows: there is no unit to split. Fix: pass "
            "the units the design runs on",
        ),
        (
            [1.0, np.nan, 3.0],
            None,
            "units.population: 1 values are missing (NaN) (rows: 'u1'). Fix: fill "
            "the missing values (0 if there is none)",
        ),
        (
            [1.0, 2.0, 3.0],
            ["a", "a", "b"],
            "units.unit_id: 1 ids occur more than once (rows: 'a'). Fix: make "
            "unit_id unique (merge or rename the duplicated rows)",
        ),
        (
            ["1,000", "2", "3"],
            None,
            "units.population: 1 values are not numbers (e.g. '1,000') (rows: "
            "'u0'). Fix: if the commas group thousands (1,600 is 1600), pass "
            'decimal="." to the loader (tk.data.read_...) or remove the separators; '
            'if the comma is the decimal mark (1,600 is 1.6), pass decimal=","',
        ),
    ],
)
def test_split_data_errors_name_the_rows(values, ids, message) -> None:
    u = _strip(values, ids or [f"u{i}" for i in range(len(values))])
    with pytest.raises(DataValidationError) as err:
        split_oversized(u, "population", 2, 0.05)
    assert str(err.value) == message


def test_stuck_units_names_a_missing_unit() -> None:
    u = _strip([1.0, 2.0, 3.0], ["u0", "u1", "u2"])
    with pytest.raises(DataValidationError) as err:
        stuck_units(
            pd.Series([1.0, 3.0], index=["u0", "u2"]), adjacency(u, warn=False), 2, 3
        )
    assert str(err.value) == (
        "units.values: 1 units of the adjacency have no value (rows: 'u1'). Fix: "
        "pass a value for every unit of the adjacency (0 for a unit that carries "
        "nothing)"
    )


def test_parts_keep_their_coordinates_and_the_kept_columns() -> None:
    """Parts stated their location at half the coordinates: every numeric
    column was divided, ``lon``/``lat`` included."""
    lon, lat = [-84.39, -84.20, -84.00], [33.75, 33.80, 33.85]
    units = gpd.GeoDataFrame(
        {
            "lon": lon,
            "lat": lat,
            "population": [900.0, 100.0, 100.0],
            "density": [50.0, 5.0, 5.0],
            "area": [18.0, 20.0, 20.0],
        },
        geometry=gpd.points_from_xy(lon, lat),
        index=pd.Index(list("abc"), name="unit_id"),
        crs="EPSG:4326",
    )
    parts = split_oversized(units, "population", 2, 0.05).units.loc[["a#1", "a#2"]]
    assert parts["lon"].tolist() == [-84.39, -84.39]
    assert parts["lat"].tolist() == [33.75, 33.75]
    assert parts["population"].tolist() == [450.0, 450.0]
    assert parts["area"].tolist() == [9.0, 9.0]  # divided: additive
    assert parts["density"].tolist() == [25.0, 25.0]  # divided unless kept
    s = split_oversized(units, "population", 2, 0.05, keep="density")
    parts = s.units.loc[["a#1", "a#2"]]
    assert parts["density"].tolist() == [50.0, 50.0]
    assert parts["lon"].tolist() == [-84.39, -84.39]
    with pytest.raises(SpecificationError) as err:
        split_oversized(units, "population", 2, 0.05, keep=["densty"])
    assert str(err.value) == (
        "keep= names ['densty'], which are not columns of the units; columns: "
        "['lon', 'lat', 'population', 'density', 'area', 'geometry']"
    )
    with pytest.raises(SpecificationError, match="keep= names the activity"):
        split_oversized(units, "population", 2, 0.05, keep="population")


def test_max_part_above_the_limit_and_unknown_also_ids_are_refused() -> None:
    """max_part 100 left the unit of 10 whole (limit 6.695) while summary()
    said no unit was above the limit; also=['u9'] was ignored; also='u1' was
    read as the ids 'u' and '1'."""
    u = _strip([10.0, 1.0, 1.0, 1.0], ["u0", "u1", "u2", "u3"])
    with pytest.raises(SpecificationError) as err:
        split_oversized(u, "population", 2, 0.03, max_part=100)
    assert str(err.value) == (
        "max_part 100 is above the upper limit 6.695 = (1 + 0.03) × 13 / 2 "
        "territories: parts that large could leave a unit above the limit whole; "
        "pass a max_part of at most 6.695, or leave it None (the limit)"
    )
    with pytest.raises(DataValidationError) as err:
        split_oversized(u, "population", 2, 0.03, also=["u9"])
    assert str(err.value) == (
        "also: 1 id is not in the units (rows: 'u9'). Fix: pass ids of the "
        "units (check the id type: '13121' is not 13121)"
    )
    s = split_oversized(u, "population", 2, 0.03, also="u1", max_part=5.0)
    assert s.units.index.tolist() == ["u0#1", "u0#2", "u1", "u2", "u3"]
    s = split_oversized(u, "population", 2, 0.03, also="u1", max_part=0.5)
    assert s.parts.loc["u1#2", "unit_id"] == "u1"
    assert s.units.loc[["u1#1", "u1#2"], "population"].tolist() == [0.5, 0.5]


def test_stuck_units_refuses_unknown_candidates_and_an_inverted_band() -> None:
    """candidates=[13001] for the unit '13001' checked and reported the last
    unit (get_indexer's -1); lower > upper reported every small unit stuck."""
    u = _strip([1.0, 1.0, 1.0, 3.0], ["13001", "13003", "13005", "13007"])
    adj = adjacency(u, warn=False)
    with pytest.raises(DataValidationError) as err:
        stuck_units(u["population"], adj, 3.5, 3.6, candidates=[13001])
    assert str(err.value) == (
        "candidates: 1 id is not in the adjacency: candidates= gives numbers "
        "(e.g. 13001) where the units' ids are text (e.g. '13001'), and 13001 is "
        "not '13001' (rows: 13001). Fix: pass the ids as the units have them, "
        "e.g. '13001' for 13001"
    )
    one = stuck_units(u["population"], adj, 3.5, 3.6, candidates="13001")
    assert one.index.tolist() == ["13001"]
    with pytest.raises(SpecificationError) as err:
        stuck_units(u["population"], adj, 5.0, 4.0)
    assert str(err.value) == (
        "the band must be two finite numbers with lower <= upper, got lower=5, "
        "upper=4; pass one territory's band, e.g. (1 - τ) · mean and (1 + τ) · mean"
    )


def test_split_blocking_refuses_zero_tolerance_and_a_missing_adjacency() -> None:
    """tolerance 0 was refused as 'max_part must be positive, got 0.0' (a
    setting never passed); adjacency=None crashed with an AttributeError."""
    u = _strip([3.0, 2.0, 1.0, 2.0], list("abcd"))
    with pytest.raises(SpecificationError) as err:
        split_blocking(u, "population", 2, 0.0, adjacency=adjacency(u, warn=False))
    assert str(err.value) == (
        "split_blocking needs a band of positive width: with tolerance 0 every "
        "territory must hold exactly total / k = 4 population, and parts of at "
        "most the band's width 2τ · mean = 0 cannot fill it; pass a tolerance "
        "above 0 (0.05 is ±5 %), or use split_oversized"
    )
    with pytest.raises(TypeError) as err:
        split_blocking(u, "population", 2, 0.05, adjacency=None)
    assert str(err.value) == (
        "split_blocking(adjacency=...) must be a terrakit.data.geo.Adjacency over "
        "the units, got None; build it with tk.data.geo.adjacency(units) (add "
        "links to islands with .with_links([(a, b), ...]))"
    )
    with pytest.raises(TypeError) as err:
        split_blocking(u, "population", 2, 0.05, adjacency=pd.DataFrame())
    # None is not allowed here, so the advice does not offer it
    assert str(err.value).endswith(
        "got pandas.core.frame.DataFrame; build it with "
        "tk.data.geo.adjacency(units) (add links to islands with "
        ".with_links([(a, b), ...]))"
    )


def test_numbers_stored_as_text_in_other_columns_are_refused() -> None:
    """A workload of "10" (an Excel export) was copied whole into both parts
    of the split unit: read as numbers, as the design reads it, the total
    went from 20 to 30."""
    u = _strip([10.0, 1, 1, 2, 3, 3], list("abcdef")).assign(
        workload=["10", "1", "1", "2", "3", "3"], fips=["01001"] * 6, name="x"
    )
    with pytest.raises(DataValidationError) as err:
        split_oversized(u, "population", 3, 0.3, keep="fips")
    assert str(err.value) == (
        "units.workload: numbers stored as text (e.g. '10'), which every part of "
        "the split units listed would copy whole instead of dividing (rows: 'a'). "
        "Fix: convert it to numbers to divide it among the parts: "
        "units['workload'] = pd.to_numeric(units['workload']); or name it in "
        "keep= if every part keeps the value whole (a code, such as a FIPS or ZIP "
        "code)"
    )
    with pytest.raises(DataValidationError) as err:
        split_oversized(u, "population", 3, 0.3)
    assert str(err.value).startswith(
        "units: columns 'workload', 'fips' hold numbers stored as text (e.g. '10' "
        "in 'workload'), which every part"
    )
    assert "units[['workload', 'fips']] = units[['workload', 'fips']].apply(" in (
        str(err.value)
    )
    fixed = u.assign(workload=pd.to_numeric(u["workload"]))
    s = split_oversized(fixed, "population", 3, 0.3, keep="fips")
    assert s.units["workload"].tolist() == [5.0, 5.0, 1, 1, 2, 3, 3]
    assert s.units["fips"].tolist() == ["01001"] * 7  # a code, kept whole
    kept = split_oversized(u, "population", 3, 0.3, keep=["workload", "fips"])
    assert kept.units.loc[["a#1", "a#2"], "workload"].tolist() == ["10", "10"]
    # nothing split, nothing copied: the table comes back as it was
    assert split_oversized(u, "population", 1, 0.3).units.equals(u)


def test_integer_ids_become_text_when_a_unit_is_split() -> None:
    """Integer ids beside the part ids '0#1' mixed kinds, which the Study
    refuses; the original ids still come back from the split's methods."""
    from terrakit.data.study import Study

    u = gpd.GeoDataFrame(
        {"population": [10.0, 1, 1, 2, 3, 3]},
        geometry=[
            shapely.box(-84 + i / 100, 33, -84 + (i + 1) / 100, 33.01) for i in range(6)
        ],
        index=pd.Index(range(6), name="unit_id"),
        crs="EPSG:4326",
    )
    adj = adjacency(u, warn=False)
    s = split_oversized(Study(units=u).units, "population", 3, 0.3, adjacency=adj)
    assert s.units.index.tolist() == ["0#1", "0#2", "1", "2", "3", "4", "5"]
    assert s.units.index.name == "unit_id"
    assert Study(units=s.units).units.index.equals(s.units.index)
    assert s.unit_ids.tolist() == [0, 0, 1, 2, 3, 4, 5]
    assert s.ids_as_text and s.parts["unit_id"].tolist() == [0, 0]
    assert s.adjacency.ids.equals(s.units.index)
    assert sorted(s.adjacency.neighbors["0#1"]) == ["0#2", "1"]
    assert s.summary().splitlines()[-1] == (
        "unit ids turned into text (0 -> '0'), of one kind with the part ids; "
        "unit_territories() and groups() give the original ids"
    )
    a = pd.Series(["T1", "T2", "T1", "T2", "T3", "T3", "T3"], index=s.units.index)
    assert s.unit_territories(a).to_dict() == {
        0: ("T1", "T2"),
        1: ("T1",),
        2: ("T2",),
        3: ("T3",),
        4: ("T3",),
        5: ("T3",),
    }
    g = s.groups(a)
    assert g["units"].tolist() == [(0,)] and g["population"].tolist() == [12.0]
    # the original id of an unsplit unit is read as its text id
    assert s.groups(a.rename({"1": 1, "2": 2})).equals(g)
    # nothing split: the ids stay integers
    none = split_oversized(u, "population", 1, 0.3)
    assert none.units.index.tolist() == list(range(6)) and not none.ids_as_text
    assert "turned into text" not in none.summary()


def test_split_blocking_splits_the_neighbour_that_blocks_a_stuck_unit() -> None:
    """Path x(9.5) – y(3) – z(9.5) – w(8), k = 3, ±20 % (band [8, 12], 2τ ·
    mean = 4): y is stuck (3 alone, 12.5 with x or z) and no larger than a
    part, so "splitting" it changed nothing and split_blocking returned with
    y still stuck, in silence.  x, which jumps over the band, is split: y +
    two parts of x is 9.33.  With no round left, the warning names y."""
    u = _strip([9.5, 3.0, 9.5, 8.0], list("xyzw"))
    adj = adjacency(u, warn=False)
    split, stuck0 = split_blocking(u, "population", 3, 0.2, adjacency=adj)
    assert stuck0.index.tolist() == ["y"]
    assert split.parts["unit_id"].tolist() == ["x"] * 3
    assert split.parts["reason"].tolist() == ["blocking"] * 3
    assert split.stuck is not None and split.stuck.empty
    assert stuck_units(split.units["population"], split.adjacency, 8, 12).empty
    assert "  x: 9.5 = 0.792 × limit -> 3 parts of 3.16667 (blocking)" in (
        split.summary()
    )
    with pytest.warns(TerrakitWarning) as rec:
        split, _ = split_blocking(u, "population", 3, 0.2, adjacency=adj, rounds=0)
    assert str(rec[0].message).startswith(
        "split_blocking: 1 units are still stuck after 0 rounds of splitting "
        "(band [8, 12] population): 'y' (3: best below 3, best above 12.5); "
    )
    assert split.stuck is not None and split.stuck.index.tolist() == ["y"]
    assert split.summary().splitlines()[-1] == (
        "1 units still stuck: 'y' (3: best below 3, best above 12.5)"
    )


def test_split_blocking_cuts_every_oversized_unit_to_the_band_width(
    strip_6: gpd.GeoDataFrame,
) -> None:
    """k = 4, ±10 %: the documented part size is 2τ · mean = 0.6, but with
    nothing stuck a stayed in 2 parts of 3, and a stuck unit elsewhere cut
    it into 10: a unit's parts depended on other units.  Now 10 parts of
    0.6 either way, with max_part and the reason recorded."""
    adj = adjacency(strip_6, warn=False)
    s, stuck0 = split_blocking(strip_6, "population", 4, 0.10, adjacency=adj)
    assert stuck0.empty
    assert s.max_part == pytest.approx(0.6)
    assert s.units.loc[s.parts.index, "population"].tolist() == pytest.approx(
        [0.6] * 10
    )
    assert set(s.parts["reason"]) == {"oversized"}
    assert s.summary().splitlines()[:2] == [
        "1 units split into equal parts of at most 0.6 (one territory may hold "
        "at most 3.3 population: (1 + 0.1) × mean, 4 territories):",
        "  a: 6 = 1.818 × limit -> 10 parts of 0.6 (oversized)",
    ]
    plain = split_oversized(strip_6, "population", 4, 0.10)
    assert plain.max_part == pytest.approx(3.3) and plain.stuck is None
    assert plain.parts["reason"].tolist() == ["oversized"] * 2


def test_groups_refuse_an_assignment_that_does_not_match_the_split() -> None:
    """The assignment of the unsplit units gave no groups and 'a' served by
    one territory; naming 'd' instead of its parts was a bare IndexError."""
    u = _strip([6.0, 1.0, 1.0, 6.0, 1, 1], list("abcdef"))
    s = split_oversized(u, "population", 5, 0.1)
    unsplit = pd.Series(["T1", "T2", "T2", "T3", "T4", "T5"], index=u.index)
    for method in (s.groups, s.unit_territories):
        with pytest.raises(DataValidationError) as err:
            method(unsplit)
        assert str(err.value) == (
            "assignment: the assignment does not match the split: 2 of its ids "
            "are not rows of split.units ('a', 'd') and 4 rows of split.units are "
            "missing ('a#1', 'a#2', 'd#1', 'd#2'; 4 of them parts of split units); "
            "'a' was split into 'a#1', 'a#2': design on split.units, not on the "
            "unsplit units. Fix: pass the assignment of the design on split.units "
            "(result.alignment.assignment of align(split.units, ...)), one "
            "territory for every part and unit"
        )
    mixed = pd.Series(
        ["T1", "T2", "T2", "T3", "T4", "T5", "T5"],
        index=["a#1", "a#2", "b", "c", "d", "e", "f"],
    )
    with pytest.raises(DataValidationError, match=r"\('d'\) and 2 rows .*'d#1'"):
        s.groups(mixed)


def test_duration_columns_stay_durations() -> None:
    """A Timedelta column became float nanoseconds for every unit (b's 1 h
    read 3.6e12); parts get their share as a duration."""
    u = _strip([6.0, 1, 1, 1, 1, 2], list("abcdef")).assign(
        drive=pd.to_timedelta([6, 1, 1, 1, 1, 2], unit="h")
    )
    s = split_oversized(u, "population", 4, 0.1)
    assert s.units["drive"].dtype == u["drive"].dtype
    assert (
        s.units["drive"].tolist()
        == pd.to_timedelta([3, 3, 1, 1, 1, 1, 2], unit="h").tolist()
    )


def test_counts_of_the_stuck_search_are_checked() -> None:
    """max_sets=0 made every unit undecided and reported nothing stuck (as
    for a fine instance); rounds=2.5 failed in range()."""
    u = _strip([5.0, 2.0, 5.0], list("xyz"))
    adj = adjacency(u, warn=False)
    for ms in (0, -5, 2.5):
        with pytest.raises(SpecificationError) as err:
            stuck_units(u["population"], adj, 7.5, 8.0, max_sets=ms)
        assert str(err.value) == (
            f"max_sets must be a whole number of at least 1, got {ms!r}; pass "
            "e.g. 20_000, the default"
        )
    with pytest.raises(SpecificationError, match=r"max_sets .* got 0;"):
        split_blocking(u, "population", 2, 0.1, adjacency=adj, max_sets=0)
    with pytest.raises(SpecificationError) as err:
        split_blocking(u, "population", 2, 0.1, adjacency=adj, rounds=2.5)
    assert str(err.value) == (
        "rounds must be a whole number of at least 0, got 2.5; pass e.g. 5, the default"
    )


def test_split_oversized_takes_a_study_and_keep_none_and_names_clashes() -> None:
    """A Study (align takes one) was an AttributeError, keep=None a
    TypeError, and a part id clashing with a unit id was not named."""
    from terrakit.data.study import Study

    u = gpd.GeoDataFrame(
        {"population": [6.0, 1.0, 1.0]},
        geometry=[
            shapely.box(-84 + i / 100, 33, -84 + (i + 1) / 100, 33.01) for i in range(3)
        ],
        index=pd.Index(["a", "b", "c"], name="unit_id"),
        crs="EPSG:4326",
    )
    s = split_oversized(Study(units=u), "population", 2, 0.1, keep=None)
    assert s.units.index.tolist() == ["a#1", "a#2", "b", "c"]
    assert s.units["population"].tolist() == [3.0, 3.0, 1.0, 1.0]
    with pytest.raises(DataValidationError, match=r"pass study\.units"):
        split_oversized(None, "population", 2, 0.1)
    clash = _strip([6.0, 1.0, 1.0], ["a", "a#2", "c"])
    with pytest.raises(SpecificationError) as err:
        split_oversized(clash, "population", 2, 0.1)
    assert str(err.value) == (
        "1 part ids '<unit>#<p>' collide with existing unit ids: 'a#2'; rename "
        "those units (units.rename(index={...})) before splitting"
    )

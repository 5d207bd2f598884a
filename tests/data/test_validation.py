"""Every check at the door: the message names table, column, rows and the fix."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from terrakit.data import Alignment, Study
from terrakit.exceptions import DataValidationError


@pytest.fixture
def two_units() -> gpd.GeoDataFrame:
    """Two unit squares side by side in lon/lat, ids 'u1', 'u2'."""
    return gpd.GeoDataFrame(
        {"workload": [10.0, 20.0]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        index=pd.Index(["u1", "u2"], name="unit_id"),
        crs="EPSG:4326",
    )


@pytest.fixture
def accounts() -> pd.DataFrame:
    """Three accounts, two in u2."""
    return pd.DataFrame(
        {
            "unit_id": ["u1", "u2", "u2"],
            "annual_sales": [1.0, 2.0, 3.0],
            "calls_per_year": [12, 12, 4],
            "call_minutes": [30, 45, 60],
            "lon": [0.5, 1.5, 1.6],
            "lat": [0.5, 0.5, 0.5],
        },
        index=pd.Index(["a1", "a2", "a3"], name="account_id"),
    )


def _err(fn, *args, **kw) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        fn(*args, **kw)
    return info.value


def test_duplicate_unit_ids(two_units):
    units = two_units.rename(index={"u2": "u1"})
    e = _err(Study, units)
    assert (e.table, e.column, e.rows) == ("units", "unit_id", ["u1"])
    assert "occur more than once" in str(e) and "Fix: make unit_id unique" in str(e)


def test_missing_crs(two_units):
    e = _err(Study, two_units.set_crs(None, allow_override=True))
    assert e.table == "units" and "has no CRS" in str(e)
    assert "set_crs('EPSG:4326')" in str(e)


def test_geographic_crs_with_projected_numbers(two_units):
    units = two_units.copy()
    units.geometry = [
        box(500_000, 3_700_000, 501_000, 3_701_000),
        box(501_000, 3_700_000, 502_000, 3_701_000),
    ]
    e = _err(Study, units)
    assert "look projected" in str(e) and "does not match" in str(e)


def test_projected_crs_with_degree_numbers(two_units):
    units = two_units.set_crs("EPSG:32617", allow_override=True)
    e = _err(Study, units)
    assert "look like lon/lat degrees" in str(e)


def test_missing_geometry(two_units):
    units = two_units.copy()
    units.loc["u2", "geometry"] = None
    e = _err(Study, units)
    assert e.rows == ["u2"] and "no geometry" in str(e)


def test_non_numeric_workload(two_units):
    units = two_units.copy()
    units["workload"] = ["10", "20 h"]
    e = _err(Study, units)
    assert (e.column, e.rows) == ("workload", ["u2"])
    assert "'20 h'" in str(e)


def test_numeric_text_is_converted(two_units):
    units = two_units.copy()
    units["workload"] = ["10", "20.5"]
    s = Study(units)
    assert s.units["workload"].tolist() == [10.0, 20.5]


def test_negative_workload(two_units):
    units = two_units.copy()
    units["workload"] = [10.0, -3.0]
    e = _err(Study, units)
    assert e.rows == ["u2"] and "negative (min -3)" in str(e)


def test_accounts_unknown_unit(two_units, accounts):
    acc = accounts.copy()
    acc.loc["a3", "unit_id"] = "u9"
    e = _err(Study, two_units, acc)
    assert (e.table, e.column, e.rows) == ("accounts", "unit_id", ["a3"])
    assert "unknown unit ids: ['u9']" in str(e)


def test_accounts_in_no_unit(two_units, accounts):
    acc = accounts.copy()
    acc["unit_id"] = ["u1", None, "u2"]
    e = _err(Study, two_units, acc)
    assert e.rows == ["a2"] and "lie in no unit" in str(e)


def test_accounts_bad_coordinates(two_units, accounts):
    acc = accounts.copy()
    acc.loc["a1", "lat"] = np.nan
    acc.loc["a2", "lon"] = 250.0
    e = _err(Study, two_units, acc)
    assert e.column == "lon" and e.rows == ["a2"] and "outside [-180, 180]" in str(e)
    acc.loc["a2", "lon"] = 1.5
    e = _err(Study, two_units, acc)
    assert e.column == "lat" and e.rows == ["a1"] and "missing" in str(e)


def test_accounts_far_from_their_unit(two_units, accounts):
    """An account must lie within 50 km of its unit's box: 0.3° (~33 km) off
    passes, 1° (~111 km) does not; swapped coordinates are recognised."""
    near = accounts.copy()
    near.loc["a1", "lat"] = -0.3
    Study(two_units, near)  # geocoding noise: accepted
    far = accounts.copy()
    far.loc["a3", "lat"] = 2.0
    e = _err(Study, two_units, far)
    assert e.column == "lon/lat" and e.rows == ["a3"]
    assert "1 accounts lie more than 50 km outside their unit" in str(e)
    assert "correct their coordinates or their unit_id" in str(e)
    # a study in the northern hemisphere with lon and lat swapped
    units = two_units.set_geometry(two_units.geometry.translate(-85.0, 34.0))
    acc = accounts.assign(lon=accounts["lon"] - 85.0, lat=accounts["lat"] + 34.0)
    Study(units, acc)
    swapped = acc.assign(lon=acc["lat"], lat=acc["lon"])
    e = _err(Study, units, swapped)
    assert (
        "3 accounts lie more than 50 km outside their unit; swapping lon and " in str(e)
    )
    assert e.fix == "swap the lon and lat columns"
    # projected units (metres): the same test in their CRS
    Study(units.to_crs("EPSG:32616"), acc)
    with pytest.raises(DataValidationError, match="swapping lon and lat puts"):
        Study(units.to_crs("EPSG:32616"), swapped)
    # units given as points (centroids) have no extent: not checked
    points = gpd.points_from_xy([-84.5, -83.5], [34.5, 34.5], crs=units.crs)
    Study(
        units.set_geometry(points),
        far.assign(lon=far["lon"] - 85.0, lat=far["lat"] + 34.0),
    )


def test_duplicate_account_ids_list_at_most_five(two_units):
    n = 8
    acc = pd.DataFrame(
        {"unit_id": ["u1"] * (2 * n)},
        index=pd.Index([f"a{i}" for i in range(n)] * 2, name="account_id"),
    )
    e = _err(Study, two_units, acc)
    assert len(e.rows) == 5 and e.n_bad == n
    assert "and 3 more" in str(e)


def test_missing_required_column(two_units):
    acc = pd.DataFrame({"sales": [1.0]}, index=pd.Index(["a1"], name="account_id"))
    e = _err(Study, two_units, acc)
    assert e.column == "unit_id" and "required column" in str(e)


def test_reps_negative_capacity_and_missing_home():
    reps = pd.DataFrame(
        {
            "home_lon": [-84.4, -80.8],
            "home_lat": [33.7, 35.2],
            "capacity_hours": [1600, -5],
        },
        index=pd.Index(["R1", "R2"], name="rep_id"),
    )
    units = gpd.GeoDataFrame(
        geometry=[Point(-84, 33)],
        index=pd.Index(["u"], name="unit_id"),
        crs="EPSG:4326",
    )
    e = _err(Study, units, reps=reps)
    assert (e.table, e.column, e.rows) == ("reps", "capacity_hours", ["R2"])
    e = _err(Study, units, reps=reps.drop(columns="home_lat"))
    assert e.column == "home_lat"


def test_accounts_owned_by_unknown_rep(two_units, accounts):
    acc = accounts.assign(rep_id=["R1", "R1", "R7"])
    reps = pd.DataFrame(
        {"home_lon": [0.5], "home_lat": [0.5], "capacity_hours": [1600.0]},
        index=pd.Index(["R1"], name="rep_id"),
    )
    e = _err(Study, two_units, acc, reps)
    assert e.rows == ["a3"] and "unknown: ['R7']" in str(e)


def test_history_period_does_not_parse(two_units, accounts):
    hist = pd.DataFrame(
        {
            "account_id": ["a1", "a1"],
            "period": ["2024-01", "Q3 24"],
            "sales": [1.0, 2.0],
        }
    )
    e = _err(Study, two_units, accounts, history=hist)
    assert e.column == "period" and "'Q3 24'" in str(e) and "YYYY-MM" in str(e)


def test_period_format_is_advised_only_where_it_reads_every_text_cell():
    """The advice 'pass period_format=... (it reads all of them)' was made
    from the months refused alone: '%m.%Y' read '03.2024' and then refused
    the months written '2024-05', which had parsed without it."""
    from terrakit.data.validation import parse_periods

    mixed = pd.Series(["2024-05", "03.2024", "04.2024"], dtype=object)
    with pytest.raises(DataValidationError) as info:
        parse_periods(mixed)
    assert str(info.value) == (
        "history.period: 2 periods do not parse as months (e.g. '03.2024') "
        "(rows: 'row 1', 'row 2'). Fix: the column mixes formats: "
        "period_format='%m.%Y' reads these but not others such as '2024-05'; "
        "write every month in one format, e.g. as YYYY-MM (2024-03)"
    )
    with pytest.raises(DataValidationError, match=r"\(e\.g\. '2024-05'\) with"):
        parse_periods(mixed, fmt="%m.%Y")
    # date cells are dates whatever the format: it applies to the text cells
    cells = pd.Series([pd.Timestamp("2024-01-01").date(), "02.2024"], dtype=object)
    got = parse_periods(cells, fmt="%m.%Y")
    assert got.astype(str).tolist() == ["2024-01", "2024-02"]


def test_history_unknown_account_and_duplicates(two_units, accounts):
    hist = pd.DataFrame(
        {
            "account_id": ["a1", "zz"],
            "period": ["2024-01", "2024-01"],
            "sales": [1.0, 2.0],
        }
    )
    e = _err(Study, two_units, accounts, history=hist)
    assert e.rows == ["zz"]
    hist = pd.DataFrame(
        {
            "account_id": ["a1", "a1"],
            "period": ["2024-01", "2024-01"],
            "sales": [1.0, 2.0],
        }
    )
    e = _err(Study, two_units, accounts, history=hist)
    assert "occur more than once" in str(e) and e.rows == ["a1 2024-01"]


def test_alignment_must_cover_units(two_units):
    partial = Alignment.from_mapping({"u1": "T1"})
    e = _err(Study, two_units, alignments={"cur": partial})
    assert e.rows == ["u2"] and "leaves 1 of 2 units" in str(e)
    extra = Alignment.from_mapping({"u1": "T1", "u2": "T1", "u3": "T2"})
    e = _err(Study, two_units, alignments={"cur": extra})
    assert e.rows == ["u3"]


def test_bad_input_leaves_inputs_untouched(two_units, accounts):
    units_before = two_units.copy()
    acc = accounts.copy()
    acc.loc["a3", "unit_id"] = "u9"
    acc_before = acc.copy()
    with pytest.raises(DataValidationError):
        Study(two_units, acc)
    pd.testing.assert_frame_equal(two_units, units_before)
    pd.testing.assert_frame_equal(acc, acc_before)


def test_study_tables_are_copies(two_units, accounts):
    s = Study(two_units, accounts)
    u = s.units
    u.loc["u1", "workload"] = 999.0
    assert s.units.loc["u1", "workload"] == 10.0
    with pytest.raises(TypeError):
        s.alignments["x"] = Alignment.from_mapping({"u1": "a", "u2": "b"})  # type: ignore[index]


def test_unit_measures_aggregates_accounts(two_units, accounts):
    s = Study(two_units.drop(columns="workload"), accounts)
    m = s.unit_measures()
    assert m["accounts"].tolist() == [1, 2]
    # u1: 12 × 30 min = 6 h; u2: 12 × 45 + 4 × 60 = 780 min = 13 h
    assert m["workload"].tolist() == [6.0, 13.0]
    assert m["sales"].tolist() == [1.0, 5.0]


def test_duplicated_months_name_the_key_and_the_fix(two_units, accounts):
    """Two dates in one month collide; the fix is runnable code (it once
    printed ``[key, 'period']`` literally) and each pair is listed once."""
    hist = pd.DataFrame(
        {
            "account_id": ["a1", "a1", "a1"],
            "period": ["2024-01-01", "2024-01-15", "2024-01-31"],
            "sales": [1.0, 2.0, 3.0],
        }
    )
    e = _err(Study, two_units, accounts, history=hist)
    assert e.rows == ["a1 2024-01"] and e.n_bad == 1
    assert "1 (account_id, month) pairs occur more than once (2 extra rows" in str(e)
    assert str(e).endswith(
        "Fix: sum the duplicated months first: "
        "history.groupby(['account_id', 'period'], as_index=False).sum()"
    )


def test_mixed_day_first_and_month_first_dates(two_units, accounts):
    hist = pd.DataFrame(
        {
            "account_id": ["a1", "a1"],
            "period": ["13/01/2024", "01/13/2024"],
            "sales": [1.0, 2.0],
        }
    )
    e = _err(Study, two_units, accounts, history=hist)
    assert e.column == "period"
    assert "the dates mix day-first and month-first: '13/01/2024' has the day " in str(
        e
    )
    assert e.rows == ["row 0", "row 1"]


def test_empty_units_table_is_refused(two_units):
    e = _err(Study, two_units.iloc[:0])
    assert str(e).startswith("units: the table has no rows")


@pytest.mark.parametrize(
    ("column", "measure"),
    [
        ("calls_per_year", "workload"),
        ("call_minutes", "workload"),
        ("annual_sales", "sales"),
    ],
)
def test_unit_measures_refuse_missing_account_values(
    two_units, accounts, column, measure
):
    """A missing value summed into a unit measure once counted as 0 (the
    design then balanced the wrong numbers); it is named instead."""
    acc = accounts.copy()
    acc.loc[["a2", "a3"], column] = np.nan
    s = Study(two_units.drop(columns="workload"), acc)
    e = _err(s.unit_measures)
    assert (e.table, e.column, e.rows, e.n_bad) == (
        "accounts",
        column,
        ["a2", "a3"],
        2,
    )
    assert str(e).startswith(
        f"accounts.{column}: 2 accounts have no {column} (NaN), so the {measure} "
        "of their 1 unit ('u2') cannot be summed from the accounts"
    )
    assert str(e).endswith(
        f"Fix: fill accounts.{column} (0 where there is none) or drop those "
        f"accounts, or give the units table its own {measure!r} column"
    )


def test_unit_measures_ignore_account_columns_they_do_not_sum(two_units, accounts):
    """Units that carry their own workload and sales do not need the
    accounts' call data or sales."""
    acc = accounts.copy()
    acc.loc["a2", ["calls_per_year", "annual_sales"]] = np.nan
    s = Study(two_units.assign(sales=[1.0, 2.0]), acc)
    m = s.unit_measures()
    assert m["workload"].tolist() == [10.0, 20.0]
    assert m["sales"].tolist() == [1.0, 2.0]
    assert m["accounts"].tolist() == [1, 2]


def test_accounts_far_from_point_units_are_refused() -> None:
    """With units as points (ZIP centroids) an account in Seattle or with lon
    and lat swapped was accepted for a Georgia unit thousands of km away."""
    from terrakit.data.validation import check_account_locations, point_unit_reach_km

    units = gpd.GeoDataFrame(
        {"workload": [1.0, 1.0, 1.0]},
        geometry=[Point(-84.39, 33.75), Point(-83.37, 33.96), Point(-81.09, 32.08)],
        index=pd.Index(["30303", "30601", "31401"], name="unit_id"),
        crs="EPSG:4326",
    )
    reach = point_unit_reach_km(units)
    assert 50 <= reach < 1000
    near = pd.DataFrame(
        {"unit_id": ["30303"], "lon": [-84.40], "lat": [33.76]},
        index=pd.Index(["A1"], name="account_id"),
    )
    check_account_locations(near, units)
    far = pd.DataFrame(
        {"unit_id": ["30303", "30303"], "lon": [-122.33, 33.76], "lat": [47.61, -84.4]},
        index=pd.Index(["A2", "A3"], name="account_id"),
    )
    with pytest.raises(DataValidationError, match=r"2 accounts lie more than") as err:
        check_account_locations(far, units)
    msg = str(err.value)
    assert "'A2': 3,50" in msg and "'A3'" in msg
    assert "swapping lon and lat puts 1 of them near a unit" in msg
    with pytest.raises(DataValidationError, match=r"lon/lat"):
        Study(units, accounts=pd.concat([near, far]))


def test_quarterly_periods_are_refused_not_relabelled():
    """Quarters were relabelled as months (asfreq), so a quarterly history's
    calls and sales were read as one month's: calls per year came out 3x."""
    from terrakit.data.validation import parse_periods

    quarters = pd.Series(pd.period_range("2024Q1", periods=4, freq="Q"))
    with pytest.raises(DataValidationError, match=r"period\[Q-DEC\], not months"):
        parse_periods(quarters)
    months = pd.Series(pd.period_range("2024-01", periods=3, freq="M"))
    assert parse_periods(months).tolist() == months.tolist()


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_coordinates_are_named_before_make_valid():
    from shapely.geometry import Polygon

    idx = pd.Index(["u1", "u2", "u3"], name="unit_id")
    for shapes in (
        [Point(-84, 33), Point(np.nan, np.nan), Point(-83, 34)],
        [
            box(-84, 33, -83, 34),
            Polygon([(-83, 33), (np.nan, 33), (-82, 34)]),
            box(-82, 33, -81, 34),
        ],
    ):
        units = gpd.GeoDataFrame(geometry=shapes, index=idx, crs="EPSG:4326")
        with pytest.raises(
            DataValidationError,
            match=r"units\.geometry: 1 geometries have a missing \(NaN\) or infinite "
            r"coordinate .*\(rows: 'u2'\)\. Fix: repair or drop",
        ):
            Study(units)


def test_ids_mixing_numbers_and_text_are_refused(two_units):
    units = gpd.GeoDataFrame(
        {"workload": [1.0, 2.0, 3.0]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        index=pd.Index([13121, "13089", "013067"], dtype=object, name="unit_id"),
        crs="EPSG:4326",
    )
    with pytest.raises(
        DataValidationError,
        match=r"units\.unit_id: ids mix kinds \(2 text, 1 number\).*\(rows: 13121\)"
        r"\. Fix: make every id text, e\.g\. df\.index = df\.index\.astype\(str\)",
    ):
        Study(units)
    fixed = units.set_axis(units.index.astype(str))
    assert list(Study(fixed).unit_ids) == ["13121", "13089", "013067"]
    acc = pd.DataFrame(
        {"unit_id": ["u1", "u2"], "revenue": [1.0, 2.0]},
        index=pd.Index([1, "a2"], dtype=object, name="account_id"),
    )
    with pytest.raises(DataValidationError, match=r"accounts\.account_id: ids mix"):
        Study(two_units, accounts=acc)


@pytest.mark.parametrize("text", ["2024Q2", "2024-Q2", "Q2 2024", "q2/2024"])
def test_quarters_written_as_text_are_refused(text):
    """'2024Q2' parsed as April 2024: a quarter's sales were read as one
    month's, and a 12-month forecast came out about 3 times too high."""
    from terrakit.data.validation import parse_periods

    with pytest.raises(DataValidationError, match="periods are quarters, not months"):
        parse_periods(pd.Series(["2024-01", text]))


def test_quarter_start_dates_over_a_year_warn():
    import warnings

    from terrakit.data.validation import parse_periods
    from terrakit.exceptions import TerrakitWarning

    starts = pd.Series(pd.date_range("2023-01-01", periods=6, freq="QS"))
    with pytest.warns(TerrakitWarning, match="first month of a quarter"):
        out = parse_periods(starts)
    assert out.dt.month.tolist() == [1, 4, 7, 10, 1, 4]
    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)
        parse_periods(pd.Series(pd.date_range("2023-01-01", periods=15, freq="MS")))
        parse_periods(pd.Series(["2023-01", "2023-04", "2023-07"]))  # under a year


def test_negative_history_sales_suggest_netting_credit_notes():
    """The fix said 'correct the sign or drop the rows': for a credit note
    either overstates the net sales (by 120 or 240 in the QA's case)."""
    from terrakit.data.validation import _check_numeric

    hist = pd.DataFrame({"sales": [342.89, -120.0]}, index=[101, 102])
    with pytest.raises(DataValidationError) as info:
        _check_numeric(hist, "history", ["sales"], required=True)
    assert "net them into their account's month" in str(info.value)
    assert "groupby(['account_id', 'period']" in str(info.value)


def test_units_mixing_geometry_kinds_are_refused_naming_the_rows(two_units):
    """A point among polygons failed later, in the adjacency, naming no row; a
    line became a silent island (no area, no border)."""
    from shapely.geometry import LineString, MultiPoint, Polygon

    three = pd.concat(
        [
            two_units,
            gpd.GeoDataFrame(
                {"workload": [1.0]},
                geometry=[Point(2.5, 0.5)],
                index=pd.Index(["u3"], name="unit_id"),
                crs=two_units.crs,
            ),
        ]
    )
    e = _err(Study, three)
    assert str(e) == (
        "units.geometry: units mix polygons (2) and points (1); they must all be "
        "one or the other, and the rows listed are the points (rows: 'u3'). Fix: "
        "supply the polygons of these units (or buffer their points in a "
        "projected CRS, in metres), or give every unit as a point "
        "(units.geometry.representative_point())"
    )
    # a polygon among points: the polygon is the odd one
    points = three.set_geometry([Point(0.5, 0.5), Point(1.5, 0.5), box(2, 0, 3, 1)])
    e = _err(Study, points)
    assert e.rows == ["u3"]
    assert e.problem.endswith("the rows listed are the polygons")
    assert e.fix.startswith("use the representative points of these polygons")
    line = three.set_geometry(
        [box(0, 0, 1, 1), box(1, 0, 2, 1), LineString([(2, 0.2), (2, 0.8)])]
    )
    e = _err(Study, line)
    assert str(e) == (
        "units.geometry: units must all be polygons or all be points, but 1 are "
        "LineString (2 polygon, 1 LineString) (rows: 'u3'). Fix: drop these rows, "
        "or replace them by the polygons of the areas they stand for: a line has "
        "no area and borders no unit, so it would be an island no territory can "
        "reach"
    )
    multi = three.set_geometry(
        [Point(0.5, 0.5), Point(1.5, 0.5), MultiPoint([(2.5, 0.5), (2.6, 0.5)])]
    )
    e = _err(Study, multi)
    assert e.rows == ["u3"] and "1 are MultiPoint" in e.problem
    assert e.fix.startswith("give each of these units one point")
    # all points, or all polygons, pass; so does a polygon make_valid repairs
    # into a collection (a polygon and its spike), when it is cleaned again
    Study(points.set_geometry([Point(0.5, 0.5), Point(1.5, 0.5), Point(2.5, 0.5)]))
    spike = Polygon([(0, 0), (1, 0), (1, 1), (1.5, 1), (1, 1), (0, 1)])
    repaired = Study(two_units.set_geometry([spike, box(1, 0, 2, 1)])).units
    assert repaired.geom_type.tolist() == ["GeometryCollection", "Polygon"]
    assert Study(repaired).units.geom_type.tolist() == ["GeometryCollection", "Polygon"]


def test_accounts_with_no_unit_id_and_no_coordinates(two_units, accounts):
    """'lie in no unit ... check their coordinates' was said of accounts that
    have no coordinates at all (no spatial join was made)."""
    acc = accounts.drop(columns=["lon", "lat"]).assign(unit_id=["u1", None, "u2"])
    e = _err(Study, two_units, acc)
    assert str(e) == (
        "accounts.unit_id: 1 accounts have no unit_id (rows: 'a2'). Fix: fill "
        "unit_id for these accounts, or give accounts lon/lat columns and load "
        "them with tk.data.read_accounts(path, units=units) to join them to the "
        "unit they lie in"
    )
    from terrakit.data.validation import clean_accounts

    # coordinates but no units to join them to
    e = _err(clean_accounts, accounts.assign(unit_id=["u1", None, "u2"]), None)
    assert e.problem == (
        "1 accounts have no unit_id, and no units were given to join them by "
        "their lon/lat"
    )
    # after a join (units known), they lie in no unit, as before
    e = _err(Study, two_units, accounts.assign(unit_id=["u1", None, "u2"]))
    assert e.problem == "1 accounts lie in no unit" and e.rows == ["a2"]


def test_text_numbers_with_a_decimal_comma_suggest_decimal(two_units, accounts):
    """'-86,6' as a coordinate was reported as missing ('geocode these rows');
    '1600,5' as a number only said to remove units or thousands separators."""
    acc = accounts.astype({"lon": object}).assign(lon=["0,5", "1,5", 1.6])
    e = _err(Study, two_units, acc)
    assert str(e) == (
        "accounts.lon: 2 coordinates are text, not numbers (e.g. '0,5') (rows: "
        "'a1', 'a2'). Fix: these numbers have a decimal comma: pass decimal=\",\" "
        "to the loader (tk.data.read_...), or write them with a decimal point"
    )
    e = _err(Study, two_units, accounts.assign(lon=["0.5 W", "1.5", "1.6"]))
    assert e.problem == "1 coordinates are text, not numbers (e.g. '0.5 W')"
    assert e.fix.startswith("write them as numbers in degrees")
    # blank and missing coordinates are still missing
    e = _err(Study, two_units, accounts.assign(lon=["", "1.5", "1.6"]))
    assert e.problem == "1 coordinates are missing, infinite or not numbers"
    e = _err(Study, two_units, accounts.assign(annual_sales=["1600,5", "2", "3"]))
    assert e.fix.startswith("these numbers have a decimal comma: pass decimal=")
    # '1,600' may group thousands or hold a decimal comma: both named, the
    # thousands first (decimal="," alone read it as 1.6; round 19)
    e = _err(Study, two_units, accounts.assign(annual_sales=["1,600", "2", "3"]))
    assert e.fix == (
        'if the commas group thousands (1,600 is 1600), pass decimal="." to the '
        "loader (tk.data.read_...) or remove the separators; if the comma is the "
        'decimal mark (1,600 is 1.6), pass decimal=","'
    )
    e = _err(Study, two_units, accounts.assign(annual_sales=["12 EUR", "2", "3"]))
    assert e.fix == "remove text such as units or thousands separators from the column"


@pytest.mark.parametrize("years", [["2023", "2024"], [2023, 2024]])
def test_years_are_refused_not_read_as_january(years):
    """'2024' parsed as January 2024: a year's sales were read as one month's
    (12 times too high per month), with no error and, under four years, no
    warning; quarters were already refused."""
    from terrakit.data.validation import parse_periods

    with pytest.raises(DataValidationError) as info:
        parse_periods(pd.Series(["2022-12", *years]))
    assert str(info.value) == (
        "history.period: 2 periods are years, not months (e.g. '2023'): terrakit "
        "reads one row per account and month (rows: 'row 1', 'row 2'). Fix: give "
        "monthly rows (split or re-aggregate the figures by month); if the four "
        "digits are a month (e.g. '0124', January 2024), pass period_format='%m%y' "
        "to the loader"
    )
    # four digits read with a format the user gives are months
    got = parse_periods(pd.Series(["0124", "0224"]), fmt="%m%y")
    assert got.astype(str).tolist() == ["2024-01", "2024-02"]


# -- round 19 -------------------------------------------------------------------------
def test_thousands_hint_suggests_the_decimal_point(two_units, accounts):
    """'1,600' suggested decimal=",", which reads it as 1.6 without a word;
    a coordinate never has thousands: '-84,388' keeps the decimal comma."""
    e = _err(
        Study,
        two_units,
        accounts.assign(annual_sales=["1,234,567", "1,600.5", "3"]),
    )
    assert e.rows == ["a1", "a2"]
    assert e.fix.startswith(
        'the commas group thousands (1,600 is 1600): pass decimal="."'
    )
    assert 'decimal=","' not in e.fix
    acc = accounts.astype({"lon": object}).assign(lon=["0,500", 1.5, 1.6])
    e = _err(Study, two_units, acc)
    assert e.fix.startswith('these numbers have a decimal comma: pass decimal=","')


@pytest.mark.parametrize("table", ["units", "accounts", "reps", "history"])
def test_a_column_given_twice_is_refused_by_name(two_units, accounts, table):
    """A table with a column twice (pd.concat(axis=1)) died with a bare
    AttributeError ('DataFrame' object has no attribute 'dtype')."""
    reps = pd.DataFrame(
        {"home_lon": [0.5], "home_lat": [0.5], "capacity_hours": [1600.0]},
        index=pd.Index(["r1"], name="rep_id"),
    )
    history = pd.DataFrame(
        {"account_id": ["a1"], "period": ["2024-01"], "sales": [1.0]}
    )
    tables = {"units": two_units, "accounts": accounts, "reps": reps}
    tables["history"] = history
    col = {"units": "workload", "accounts": "unit_id", "reps": "home_lon"}.get(
        table, "sales"
    )
    frame = tables[table]
    tables[table] = pd.concat([frame, frame[[col]]], axis=1)
    if table == "units":
        tables["units"] = gpd.GeoDataFrame(
            tables["units"], geometry="geometry", crs=two_units.crs
        )
    e = _err(
        Study,
        tables["units"],
        accounts=tables["accounts"],
        reps=tables["reps"],
        history=tables["history"],
    )
    assert (e.table, e.column) == (table, col)
    assert e.problem == (
        f"1 column name(s) occur more than once ({col!r} 2 times), so which "
        "column is meant cannot be told"
    )
    assert e.fix.startswith("keep one column of each name, e.g. df = df.loc[:, ")

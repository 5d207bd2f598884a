"""Territory metrics on the hand-checkable 3×3 grid (see ``toy_grid_3x3``).

Hand numbers (grid km; R1 = {u1, u2, u4, u5, u7}, R2 = {u3, u6, u8, u9}):
unit centres (5 + 10·col, 5 + 10·row), workload u_k = 10·k.  Distances in
the tests are geodesic, which differ from UTM grid distances by the zone's
scale factor (≈ 0.9996 on the central meridian), hence ``rel=1e-3``.
"""

from __future__ import annotations

import math
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from shapely.geometry import Point

from terrakit import metrics
from terrakit.data.alignment import Alignment
from terrakit.data.geo import adjacency
from terrakit.exceptions import DataValidationError, TerrakitWarning

HAND = 1e-3  # relative tolerance for geodesic vs grid distances


@pytest.fixture
def current(toy_grid_3x3):
    return toy_grid_3x3.alignments["current"]


# -- KPIs ----------------------------------------------------------------------
def test_territory_kpis_by_hand(toy_grid_3x3):
    k = metrics.territory_kpis(toy_grid_3x3, "current")
    assert list(k.index) == ["R1", "R2"] and k.index.name == "territory_id"
    assert k["units"].tolist() == [5, 4]
    assert k["accounts"].tolist() == [6, 4]  # a10 sits in u5 (R1)
    assert k["workload"].tolist() == [190.0, 260.0]
    assert k["sales"].tolist() == [19_500.0, 26_000.0]
    assert k["potential"].tolist() == [50_000.0, 40_000.0]
    assert k["penetration"].tolist() == pytest.approx([0.39, 0.65])
    assert k["growth"].tolist() == pytest.approx([0.10, -0.05])
    assert k["rep_id"].tolist() == ["R1", "R2"]
    # R1 home = centre of u4: Σ w·d / Σ w = (10·10 + 20·√200 + 50·10 + 70·10) / 190
    r1 = (100 + 20 * math.sqrt(200) + 500 + 700) / 190
    r2 = (30 * 20 + 60 * 10 + 80 * 10) / 260  # R2 home = centre of u9
    assert k["travel_to_center_km"].tolist() == pytest.approx([r1, r2], rel=HAND)


def test_territory_ids_as_text_find_their_integer_reps(toy_grid_3x3, current):
    """Territory '1' (an alignment read from a CSV) beside rep 1 measured the
    travel to the territory's centroid instead of the rep's home."""
    s = toy_grid_3x3
    as_int = {"R1": 1, "R2": 2}
    reps = s.reps.rename(index=as_int)

    def relabel(mapping):
        return Alignment.from_mapping(current.assignment.map(mapping).to_dict())

    want = metrics.territory_kpis(
        s.units, relabel(as_int), accounts=s.accounts, reps=reps
    )
    got = metrics.territory_kpis(
        s.units, relabel({"R1": "1", "R2": "2"}), accounts=s.accounts, reps=reps
    )
    assert got["rep_id"].tolist() == [1, 2]
    assert got["travel_to_center_km"].tolist() == pytest.approx(
        want["travel_to_center_km"].tolist(), rel=1e-12
    )


def test_territory_kpis_on_plain_tables_and_without_reps(toy_grid_3x3, current):
    s = toy_grid_3x3
    k = metrics.territory_kpis(
        s.units, current, ["potential"], accounts=s.accounts, history=s.history
    )
    assert k["sales"].tolist() == [19_500.0, 26_000.0]
    assert k["growth"].tolist() == pytest.approx([0.10, -0.05])
    assert k["rep_id"].isna().all()
    # no rep: distance to the workload-weighted centroid of R2
    x = np.array([25, 25, 15, 25.0])
    y = np.array([5, 15, 25, 25.0])
    w = np.array([30, 60, 80, 90.0])
    cx, cy = np.average(x, weights=w), np.average(y, weights=w)
    expect = np.average(np.hypot(x - cx, y - cy), weights=w)
    assert k.loc["R2", "travel_to_center_km"] == pytest.approx(expect, rel=HAND)
    bare = metrics.territory_kpis(s.units, current)
    assert bare["sales"].isna().all() and bare["growth"].isna().all()


def test_growth_needs_24_months(toy_grid_3x3, current):
    s = toy_grid_3x3
    short = s.history[s.history["period"] >= pd.Period("2023-06", "M")]
    k = metrics.territory_kpis(s.units, current, accounts=s.accounts, history=short)
    assert k["growth"].isna().all()


# -- balance -------------------------------------------------------------------
def test_balance_by_hand(toy_grid_3x3, current):
    b = metrics.balance(toy_grid_3x3, current, ["workload", "units", "accounts"])
    w = b.loc["workload"]
    # totals 190 and 260: mean 225, deviations ±35
    assert (w["mean"], w["min"], w["max"]) == (225.0, 190.0, 260.0)
    assert w["max_rel_dev"] == pytest.approx(35 / 225)
    assert w["cv"] == pytest.approx(35 / 225)  # population std = 35
    # Gini = Σ_i Σ_j |x_i - x_j| / (2 n² mean) = 2·70 / (2·4·225)
    assert w["gini"] == pytest.approx(140 / 1800)
    assert b.loc["units", "max_rel_dev"] == pytest.approx(0.5 / 4.5)
    assert b.loc["accounts", "gini"] == pytest.approx(2 * 2 / (2 * 4 * 5))


def test_balance_against_targets(toy_grid_3x3, current):
    on_target = metrics.balance(
        toy_grid_3x3, current, "workload", targets={"R1": 19, "R2": 26}
    )
    assert on_target.loc[
        "workload", ["max_rel_dev", "cv", "gini"]
    ].tolist() == pytest.approx([0, 0, 0], abs=1e-12)
    half = metrics.balance(
        toy_grid_3x3, current, "workload", targets=pd.Series({"R1": 1.0, "R2": 1.0})
    )
    assert half.loc["workload", "max_rel_dev"] == pytest.approx(35 / 225)
    with pytest.raises(DataValidationError, match="1 territories have no target"):
        metrics.balance(toy_grid_3x3, current, targets={"R1": 1.0})


def test_gini_formula():
    assert metrics.gini([5, 5, 5, 5]) == 0.0
    assert metrics.gini([0, 0, 0, 4]) == pytest.approx(3 / 4)
    x = np.array([1.0, 2.0, 7.0])
    brute = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert metrics.gini(x) == pytest.approx(brute)


def test_unknown_measure_is_named(toy_grid_3x3, current):
    with pytest.raises(DataValidationError, match="measure 'revenue' is not a column"):
        metrics.balance(toy_grid_3x3, current, "revenue")


# -- compactness ---------------------------------------------------------------
def test_moment_of_inertia_by_hand(toy_grid_3x3, current):
    c = metrics.compactness(toy_grid_3x3, current, weight=None)
    # R1 centroid (9, 13): d² = 80 + 100 + 20 + 40 + 160
    # R2 centroid (22.5, 17.5): d² = 162.5 + 12.5 + 112.5 + 62.5
    assert c["moment_of_inertia"].tolist() == pytest.approx([400.0, 350.0], rel=HAND)
    at_homes = metrics.compactness(toy_grid_3x3, current, centers=toy_grid_3x3.reps)
    # homes at u4 and u9 centres, workload weights:
    # R1: 10·100 + 20·200 + 40·0 + 50·100 + 70·100; R2: 30·400 + 60·100 + 80·100
    assert at_homes["moment_of_inertia"].tolist() == pytest.approx(
        [17_000.0, 26_000.0], rel=HAND
    )


def test_polsby_popper_by_hand(toy_grid_3x3, current):
    c = metrics.compactness(toy_grid_3x3, current)
    # R1: area 500 km², perimeter 100 km; R2: area 400 km², perimeter 100 km
    assert c["polsby_popper"].tolist() == pytest.approx(
        [4 * math.pi * 500 / 100**2, 4 * math.pi * 400 / 100**2]
    )


def test_compactness_centers_must_cover_territories(toy_grid_3x3, current):
    with pytest.raises(DataValidationError, match="1 territories have no center"):
        metrics.compactness(toy_grid_3x3, current, centers={"R1": (-81.0, 33.5)})


def test_point_units_have_no_polsby_popper(toy_grid_3x3, current):
    u = toy_grid_3x3.units
    pts = gpd.GeoDataFrame(u.drop(columns="geometry"), geometry=u.centroid, crs=u.crs)
    c = metrics.compactness(pts, current, weight=None)
    assert c["polsby_popper"].isna().all()
    assert c["moment_of_inertia"].tolist() == pytest.approx([400.0, 350.0], rel=HAND)


# -- contiguity ----------------------------------------------------------------
def test_contiguity_counts_components(toy_grid_3x3, current):
    assert metrics.contiguity(toy_grid_3x3, current).tolist() == [1, 1]
    assert metrics.is_contiguous(toy_grid_3x3, current)
    split = Alignment.from_mapping(
        {u: ("A" if u in ("u1", "u3") else "B") for u in toy_grid_3x3.unit_ids}
    )
    c = metrics.contiguity(toy_grid_3x3, split)
    assert c.to_dict() == {"A": 2, "B": 1}
    assert not metrics.is_contiguous(toy_grid_3x3, split)


def test_contiguity_rook_vs_queen_corner_touch(toy_grid_3x3):
    """u5 and u9 touch at a corner only: one piece for queen, two for rook."""
    units = toy_grid_3x3.units
    al = Alignment.from_mapping(
        {u: ("A" if u in ("u1", "u2", "u5", "u9") else "B") for u in units.index}
    )
    queen = metrics.contiguity(units, al, adjacency(units, "queen"))
    rook = metrics.contiguity(units, al, adjacency(units, "rook"))
    assert queen["A"] == 1 and rook["A"] == 2


def test_contiguity_rejects_foreign_adjacency(toy_grid_3x3, current):
    adj = adjacency(toy_grid_3x3.units.iloc[:4])
    with pytest.raises(
        DataValidationError,
        match=r"the adjacency has 4 units, the units table 9: 5 units of the units "
        r"table are not in it \('",
    ):
        metrics.contiguity(toy_grid_3x3, current, adj)
    bigger = adjacency(toy_grid_3x3.units).with_links([])
    more = type(bigger)(
        bigger.ids.append(pd.Index(["extra"])),
        sp.block_diag([bigger.matrix, sp.csr_array((1, 1))], format="csr"),
    )
    with pytest.raises(
        DataValidationError,
        match=r"1 of its units is not in the units table \('extra'\)",
    ):
        metrics.contiguity(toy_grid_3x3, current, more)


# -- disruption ----------------------------------------------------------------
def test_disruption_counts(toy_grid_3x3, current):
    after = current.replace({"u5": "R2", "u3": "R1"})
    d = metrics.disruption(toy_grid_3x3, current, after)
    assert d["units_moved"] == 2 and d["units_moved_share"] == pytest.approx(2 / 9)
    # u5 holds a5 and a10, u3 holds a3
    assert d["accounts_moved"] == 3 and d["accounts_moved_share"] == pytest.approx(0.3)
    assert d["sales_moved"] == 8_500.0
    assert d["sales_moved_share"] == pytest.approx(8_500 / 45_500)
    same = metrics.disruption(toy_grid_3x3, "current", current)
    assert same[["units_moved", "accounts_moved", "sales_moved"]].tolist() == [0, 0, 0]


def test_disruption_on_units_only(toy_grid_3x3, current):
    units = toy_grid_3x3.units.assign(accounts=[1] * 9)
    d = metrics.disruption(units, current, current.replace({"u1": "R2"}))
    assert d["accounts_moved"] == 1 and np.isnan(d["sales_moved"])


# -- validation ----------------------------------------------------------------
def test_alignment_missing_units_is_named(toy_grid_3x3, current):
    partial = Alignment.from_mapping(current.assignment.drop(["u2", "u7"]))
    with pytest.raises(
        DataValidationError,
        match=r"leaves 2 of 9 units without a "
        r"territory \(rows: 'u2', 'u7'\). Fix: assign every unit",
    ):
        metrics.balance(toy_grid_3x3, partial)


@pytest.mark.parametrize(
    "func",
    [
        metrics.territory_kpis,
        metrics.balance,
        metrics.compactness,
        metrics.contiguity,
        lambda s, al: metrics.balance_on_draws(s, al, np.ones((9, 2)), 0.1),
    ],
)
def test_alignment_with_extra_units_is_named(toy_grid_3x3, current, func):
    extra = Alignment.from_mapping({**current.to_dict(), "u99": "R1"})
    with pytest.raises(
        DataValidationError,
        match=r"names 1 units that are not in "
        r"the units table \(rows: 'u99'\)",
    ):
        func(toy_grid_3x3, extra)


def test_disruption_validates_both_alignments(toy_grid_3x3, current):
    partial = Alignment.from_mapping(current.assignment.drop(["u9"]))
    with pytest.raises(DataValidationError, match="after alignment"):
        metrics.disruption(toy_grid_3x3, current, partial)


def test_integer_ids_given_as_text_are_matched():
    units = gpd.GeoDataFrame(
        {"workload": [1.0, 3.0]},
        geometry=[Point(-80, 35), Point(-79, 35)],
        index=pd.Index([1, 2], name="unit_id"),
        crs="EPSG:4326",
    )
    al = Alignment.from_mapping({"1": "A", "2": "B"})
    assert metrics.balance(units, al).loc["workload", "max_rel_dev"] == 0.5


def test_unknown_alignment_name(toy_grid_3x3):
    """A mistyped name was a bare KeyError; it is a data error naming the
    fix (and still a KeyError, as a lookup by name)."""
    with pytest.raises(DataValidationError) as err:
        metrics.balance(toy_grid_3x3, "curent")
    assert isinstance(err.value, KeyError)
    assert str(err.value) == (
        "alignment: no alignment named 'curent'; the study has ['current']. Fix: "
        "pass one of ['current'] or an Alignment, or add one with "
        "study.with_alignment(...); did you mean 'current' for 'curent'?"
    )


def test_targets_for_territories_without_units_are_refused(toy_grid_3x3, current):
    """A target for a territory with no unit (an empty territory, or a typo) was
    dropped and its share handed to the others without a word."""
    with pytest.raises(
        DataValidationError,
        match=r"targets: 1 territories with a target have no unit in the alignment; "
        r"their share would silently go to the others \(rows: 'R3'\)",
    ):
        metrics.balance(
            toy_grid_3x3, current, targets={"R1": 1.0, "R2": 1.0, "R3": 1.0}
        )
    with pytest.raises(
        DataValidationError, match=r"target shares must be numbers \(rows: 'R2'\)"
    ):
        metrics.balance(toy_grid_3x3, current, targets={"R1": 1.0, "R2": "one"})
    with pytest.raises(
        DataValidationError, match="targets must map territory id → share, got list"
    ):
        metrics.balance(toy_grid_3x3, current, targets=[1.0, 1.0])
    with pytest.raises(DataValidationError, match="no measure to compare"):
        metrics.balance(toy_grid_3x3, current, None)


def test_one_extra_measure_as_text_is_one_column(toy_grid_3x3, current):
    """territory_kpis(..., "potential") was read as the columns 'p', 'o', ..."""
    one = metrics.territory_kpis(toy_grid_3x3, current, "potential")
    assert one["potential"].tolist() == [50_000.0, 40_000.0]


def test_compactness_center_that_is_not_a_pair_is_named(toy_grid_3x3, current):
    """Was a bare float() ValueError."""
    with pytest.raises(
        DataValidationError,
        match=r"the center of territory 'R2' is not a \(lon, lat\) pair: 'x'",
    ):
        metrics.compactness(
            toy_grid_3x3, current, centers={"R1": (-81.0, 33.5), "R2": "x"}
        )


@pytest.mark.parametrize(
    ("column", "measure"), [("calls_per_year", "workload"), ("annual_sales", "sales")]
)
def test_plain_tables_refuse_missing_account_values(
    toy_grid_3x3, current, column, measure
):
    """On plain tables NaN account values used to be summed as 0 (the Study
    path refuses them); disruption's sales share became NaN."""
    s = toy_grid_3x3
    units = s.units.drop(columns=measure, errors="ignore")  # derive it
    acc = s.accounts.assign(calls_per_year=12.0, call_minutes=30.0)
    clean = metrics.territory_kpis(units, current, accounts=acc)
    assert clean[measure].sum() == pytest.approx(
        acc.eval(
            "calls_per_year * call_minutes / 60"
            if measure == "workload"
            else "annual_sales"
        ).sum()
    )
    acc.loc[acc.index[0], column] = np.nan
    msg = rf"accounts\.{column}: 1 accounts have no {column} \(NaN\), so the {measure}"
    for f in (metrics.territory_kpis, metrics.balance):
        with pytest.raises(DataValidationError, match=msg):
            f(units, current, accounts=acc)
    after = current.replace({"u5": "R2"})
    if column == "annual_sales":
        with pytest.raises(DataValidationError, match=msg):
            metrics.disruption(s.units, current, after, accounts=acc)
        with pytest.raises(DataValidationError, match=msg):
            metrics.disruption(s.replace(accounts=acc), current, after)


def test_gini_refuses_negative_values():
    """gini([-1, 1, 2]) used to return 1.0 though defined for values >= 0."""
    with pytest.raises(ValueError, match="non-negative values; got 1 negative"):
        metrics.gini([-1, 1, 2])
    b = metrics.balance_table({"change": np.array([-1.0, 2.0, 5.0])})
    assert np.isnan(b.loc["change", "gini"])
    assert b.loc["change", "mean"] == pytest.approx(2.0)


def test_gini_of_equal_values_is_never_negative():
    """Float rounding gave -3.1e-17 for 37 equal territories."""
    x = np.full(37, 0.7)
    assert metrics.gini(x / x.mean()) == 0.0
    b = metrics.balance_table({"workload": x})
    assert b.loc["workload", "gini"] >= 0.0


def test_a_text_measure_is_called_text(toy_grid_3x3, current):
    """A text column given as a measure was reported as 'values are missing or
    not numbers ... fill them (0 if there is none)'."""
    units = toy_grid_3x3.units.assign(state="GA")
    study = toy_grid_3x3.replace(units=units)
    with pytest.raises(DataValidationError) as err:
        metrics.balance(study, current, "state")
    msg = str(err.value)
    assert "measure 'state' is a text column (e.g. 'GA')" in msg
    assert "'workload'" in msg and "'units'" in msg  # the numeric columns
    assert "fill them" not in msg


def test_missing_potential_is_nan_not_an_error_nor_zero(toy_grid_3x3, current):
    """Two units without a potential stopped territory_kpis (and the whole KPI
    report, even when only workload was balanced) with the advice "fill them
    (0 if there is none)", which inflates penetration. A territory with a unit
    whose potential is unknown now has NaN potential and penetration, and a
    warning names the units."""
    from terrakit.exceptions import TerrakitWarning

    s = toy_grid_3x3
    units = s.units.copy()
    units.loc[["u8", "u9"], "potential"] = np.nan  # both in R2
    study = s.replace(units=units)
    msg = (
        r"units\.potential: 2 of 9 units have no value \('u8', 'u9'\); potential "
        r"and penetration are NaN for territories R2\. An unknown potential is "
        r"not 0: fill them only with real figures"
    )
    with pytest.warns(TerrakitWarning, match=msg):
        k = metrics.territory_kpis(study, "current")
    assert k.loc["R1", "potential"] == 50_000.0
    assert k.loc["R1", "penetration"] == pytest.approx(0.39)
    assert np.isnan(k.loc["R2", "potential"])
    assert np.isnan(k.loc["R2", "penetration"])
    # the other columns are the full figures
    assert k["workload"].tolist() == [190.0, 260.0]
    assert k["sales"].tolist() == [19_500.0, 26_000.0]
    # asked for as an extra measure too: the same NaN, not an error
    with pytest.warns(TerrakitWarning, match=msg):
        k2 = metrics.territory_kpis(study, "current", ["potential"])
    pd.testing.assert_frame_equal(k, k2)
    # the other measures' checks are unchanged: a missing workload is refused
    units.loc["u1", "workload"] = np.nan
    with pytest.raises(
        DataValidationError,
        match=r"units\.workload: 1 values are missing or not numbers \(rows: 'u1'\)",
    ):
        metrics.territory_kpis(s.replace(units=units), "current")


def test_potential_as_text_is_still_refused(toy_grid_3x3, current):
    units = toy_grid_3x3.units.copy()
    units["potential"] = units["potential"].astype(object)
    units.loc["u2", "potential"] = "n/a"
    units.loc["u3", "potential"] = np.nan
    with pytest.raises(
        DataValidationError,
        match=r"units\.potential: measure 'potential' is a text column "
        r"\(e\.g\. 'n/a'\)",
    ):  # text is refused before missing values are looked at
        metrics.territory_kpis(units, current)


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([10, 2, 1, 20, 3], [1, 2, 3, 10, 20]),
        ([2.5, 10.0, 1.0], [1.0, 2.5, 10.0]),
        ([np.int64(11), np.int64(9)], [9, 11]),
        (["R10", "R2", "R1"], ["R1", "R10", "R2"]),  # text: as text
        ([10, "R2", 2], [10, 2, "R2"]),  # mixed types: as text
        ([True, False, 2], [2, False, True]),  # bools are not numbers here
    ],
)
def test_territory_order_numeric_ids_sort_as_numbers(ids, expected):
    """Integer territory ids listed 1, 10, 11, …, 2, 20 (sorted as text)."""
    labels = pd.Series(ids, dtype=object)
    assert metrics._territory_order(labels) == expected


def test_integer_territories_in_numeric_order(toy_grid_3x3):
    s = toy_grid_3x3
    cur = s.alignments["current"].assignment
    ids = cur.map({"R1": 10, "R2": 2})
    k = metrics.territory_kpis(s, Alignment(ids, name="ints"))
    assert list(k.index) == [2, 10]
    assert k["workload"].tolist() == [260.0, 190.0]


# -- round 12: ids, NaN history, weights, signs, coordinates, numerics ---------
def _text_digit_ids(s):
    """The toy grid with unit ids '101'..'109' (digits as text, as read from a
    file that keeps them as strings)."""
    ren = {f"u{k}": str(100 + k) for k in range(1, 10)}
    units = s.units.rename(index=ren)
    acc = s.accounts.assign(unit_id=s.accounts["unit_id"].map(ren))
    cur = Alignment(
        s.alignments["current"].assignment.rename(index=ren), name="current"
    )
    return units, acc, cur


def test_disruption_matches_account_unit_ids_by_value_and_refuses_unknown(
    toy_grid_3x3,
):
    """Integer account unit_ids against text unit ids matched nothing: 0
    accounts and 0 % of sales moved, silently; an unknown unit_id was ignored."""
    units, acc, cur = _text_digit_ids(toy_grid_3x3)
    after = cur.replace({"105": "R2", "103": "R1"})
    as_text = metrics.disruption(units, cur, after, accounts=acc)
    acc_int = acc.assign(unit_id=acc["unit_id"].astype(int))
    as_int = metrics.disruption(units, cur, after, accounts=acc_int)
    assert as_int["accounts_moved"] == 3 and as_int["sales_moved"] == 8_500.0
    pd.testing.assert_series_equal(as_int, as_text)
    # territory_kpis derives the same unit figures from them (it refused them)
    k = metrics.territory_kpis(units, cur, accounts=acc_int)
    assert k["sales"].tolist() == [19_500.0, 26_000.0]
    typo = acc.copy()
    typo.loc["a3", "unit_id"] = "999"
    msg = (
        "accounts.unit_id: 1 accounts point to units that are not in the units "
        "table (unknown unit ids: ['999']) (rows: 'a3'). Fix: pass the units "
        "table the accounts were joined to"
    )
    for f in (metrics.disruption, metrics.territory_kpis):
        with pytest.raises(DataValidationError, match=re.escape(msg)):
            f(units, cur, after, accounts=typo)


def test_disruption_refuses_territory_ids_that_differ_only_in_type(
    toy_grid_3x3, current
):
    """1 and '1' counted every unit as moved; diff_map refuses them."""
    ints = Alignment(current.assignment.map({"R1": 1, "R2": 2}), name="ints")
    text = Alignment(current.assignment.map({"R1": "1", "R2": "2"}), name="text")
    with pytest.raises(
        DataValidationError,
        match=re.escape(
            "alignment.territory_id: no territory id of 'text' is a territory id "
            "of 'ints', but 2 are equal as text (e.g. '1' (str) in 'text' and 1 "
            "(int) in 'ints'): territory ids keep their type: '1' is not 1"
        ),
    ):
        metrics.disruption(toy_grid_3x3, ints, text)
    relabelled = Alignment(current.assignment.map({"R1": "A", "R2": "B"}), name="x")
    assert metrics.disruption(toy_grid_3x3, current, relabelled)["units_moved"] == 9


def test_growth_refuses_missing_sales_and_unknown_history_ids(toy_grid_3x3, current):
    """NaN history sales were summed as 0 (a fall in sales that never happened)
    and history ids that matched nothing gave NaN growth, both silently."""
    s = toy_grid_3x3
    h = s.history.copy()
    gap = (h["account_id"] == "a1") & (h["period"] >= pd.Period("2024-07", "M"))
    h.loc[gap, "sales"] = np.nan
    with pytest.raises(
        DataValidationError,
        match=re.escape(
            "history.sales: 6 rows of the latest 24 months have no sales (NaN), "
            "so the growth of territories R1 cannot be computed (summed as 0, a "
            "missing month would look like a fall in sales)"
        ),
    ):
        metrics.territory_kpis(s, current, history=h)
    upper = s.history.assign(account_id=s.history["account_id"].str.upper())
    with pytest.raises(
        DataValidationError,
        match=re.escape(
            "history.account_id: 240 rows refer to accounts that are not in the "
            "accounts table; their sales would be left out of the growth (rows: "
            "'A1', 'A2', 'A3'"
        ),
    ):
        metrics.territory_kpis(s, current, history=upper)
    # by unit: integer ids against the units' text ids are matched
    units, acc, cur = _text_digit_ids(s)
    by_unit = s.history.assign(
        unit_id=s.history["account_id"].map(acc["unit_id"]).astype(int)
    ).drop(columns="account_id")
    k = metrics.territory_kpis(units, cur, accounts=acc, history=by_unit)
    assert k["growth"].tolist() == pytest.approx([0.10, -0.05])
    with pytest.raises(
        DataValidationError,
        match=re.escape(
            "history.unit_id: 24 rows refer to units that are not in the units "
            "table; their sales would be left out of the growth (rows: '999')"
        ),
    ):
        metrics.territory_kpis(
            units,
            cur,
            accounts=acc,
            history=by_unit.assign(
                unit_id=by_unit["unit_id"].astype(str).replace("101", "999")
            ),
        )


def test_negative_weights_are_refused(toy_grid_3x3, current):
    """A negative weight gave a negative moment of inertia and a travel
    distance beyond every unit's distance."""
    units = toy_grid_3x3.units.assign(margin=[1.0, -2, 1, 1, 1, 1, 1, -0.5, 1])
    msg = re.escape(
        "units.margin: 2 weights are negative or infinite (e.g. -2); a weight is "
        "an amount of activity and must be >= 0 (rows: 'u2', 'u8'). Fix: weight "
        "by a non-negative column, or weight=None for 1 per unit"
    )
    with pytest.raises(DataValidationError, match=msg):
        metrics.compactness(units, current, weight="margin")
    with pytest.raises(DataValidationError, match=msg):
        metrics.compactness(units, current, "margin", centers=toy_grid_3x3.reps)
    with pytest.raises(DataValidationError, match=msg):
        metrics.territory_kpis(units, current, weight="margin")


def test_balance_of_negative_totals_has_no_gini_and_a_positive_cv():
    """gini was computed on x / mean, whose signs turn for a negative mean."""
    x = np.array([-4.0, -14.0, -24.0])
    b = metrics.balance_table({"change": x}).loc["change"]
    assert np.isnan(b["gini"])
    assert b["cv"] == pytest.approx(x.std() / 14.0)  # σ / |mean|
    assert b["max_rel_dev"] == pytest.approx(10 / 14)


def test_centers_and_rep_homes_must_be_lon_lat(toy_grid_3x3, current):
    """Impossible or missing centre coordinates gave NaN silently."""
    with pytest.raises(
        DataValidationError,
        match=re.escape(
            "centers.lon: 1 longitudes outside [-180, 180] (e.g. -184); "
            "coordinates must be WGS84 degrees (rows: 'R1')"
        ),
    ):
        metrics.compactness(
            toy_grid_3x3, current, centers={"R1": (-184.0, 33.5), "R2": (-81, 33.5)}
        )
    reps = toy_grid_3x3.reps.copy()
    reps.loc["R2", "home_lat"] = np.nan
    msg = "home_lat: 1 coordinates are missing, infinite or not numbers (rows: 'R2')"
    with pytest.raises(DataValidationError, match=re.escape("centers." + msg)):
        metrics.compactness(toy_grid_3x3, current, centers=reps)
    with pytest.raises(DataValidationError, match=re.escape("reps." + msg)):
        metrics.territory_kpis(toy_grid_3x3.units, current, reps=reps)


def test_gini_refuses_infinite_and_multidimensional_values():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "gini is defined for finite, non-negative values; got 1 negative, NaN "
            "or infinite (e.g. [inf])"
        ),
    ):
        metrics.gini([1, np.inf])
    with pytest.raises(
        ValueError,
        match=re.escape(
            "gini takes a one-dimensional sequence of values (e.g. one total per "
            "territory), got an array of shape (2, 2)"
        ),
    ):
        metrics.gini([[1, 2], [3, 4]])


def test_balance_of_an_all_zero_measure_warns_nothing(toy_grid_3x3, current):
    """numpy's 'invalid value encountered in divide' leaked out."""
    units = toy_grid_3x3.units.assign(workload=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = metrics.balance(units, current)
        t = metrics.balance_table({"w": np.zeros(2)}, np.array([0.5, 0.5]))
    for row in (b.loc["workload"], t.loc["w"]):
        assert row[["max_rel_dev", "cv", "gini"]].isna().all()


# -- round 17: repeated ids, non-monthly history, shares, slivers, repairs -----
DUP_MSG = (
    "units.unit_id: 1 ids occur more than once (rows: 'u1'). Fix: make unit_id "
    "unique (merge or rename the duplicated rows)"
)


@pytest.mark.parametrize(
    "call",
    [
        lambda u, al: metrics.balance(u, al),
        lambda u, al: metrics.territory_kpis(u, al),
        lambda u, al: metrics.compactness(u, al),
        lambda u, al: metrics.disruption(u, al, al.replace({"u1": "R2"})),
        lambda u, al: metrics.contiguity(u, al),
        lambda u, al: metrics.balance_on_draws(u, al, np.ones((10, 3)), 0.1),
    ],
    ids=[
        "balance",
        "territory_kpis",
        "compactness",
        "disruption",
        "contiguity",
        "balance_on_draws",
    ],
)
def test_repeated_unit_ids_are_refused_by_every_metric(toy_grid_3x3, current, call):
    """A unit twice in a plain units table (a bad concat) counted twice: R1's
    workload 200 instead of 190, 2 units moved instead of 1; only contiguity
    refused it."""
    units = toy_grid_3x3.units
    twice = pd.concat([units, units.iloc[[0]]])
    with pytest.raises(DataValidationError) as err:
        call(twice, current)
    assert str(err.value) == DUP_MSG


@pytest.mark.parametrize(
    ("freq", "dtype"), [("Q", "period[Q-DEC]"), ("D", "period[D]")]
)
def test_growth_refuses_a_history_that_is_not_monthly(
    toy_grid_3x3, current, freq, dtype
):
    """A quarterly history gave the last 12 quarters over the 12 before
    (growth 0.033 for a true +10 %), a daily one the last 12 days: growth is
    12 months over 12 months, so periods must be months, as at the Study door."""
    s = toy_grid_3x3
    per = pd.period_range("2018Q1", "2024Q4", freq="Q")
    h = pd.DataFrame(
        [
            (uid, p, 110.0 if p.year == 2024 else 100.0)
            for uid in s.units.index
            for p in per
        ],
        columns=["unit_id", "period", "sales"],
    )
    h["period"] = h["period"].dt.asfreq(freq, how="end")
    with pytest.raises(DataValidationError) as err:
        metrics.territory_kpis(s.units, current, history=h)
    first = str(h["period"].iloc[0])
    assert str(err.value) == (
        f"history.period: the periods are {dtype}, not months (e.g. {first!r}): "
        "terrakit reads one row per account and month. Fix: give monthly rows "
        "(split or re-aggregate the figures by month), or, if the values are "
        "monthly, convert them with values.dt.to_timestamp().dt.to_period('M')"
    )
    # the same sales by month (a third of each quarter's in each of its
    # months; rows in every month, since a month without a row is missing):
    # 2024 over 2023 is +10 %
    months = pd.period_range("2018-01", "2024-12", freq="M")
    monthly = pd.DataFrame(
        [
            (uid, p, (110.0 if p.year == 2024 else 100.0) / 3)
            for uid in s.units.index
            for p in months
        ],
        columns=["unit_id", "period", "sales"],
    )
    k = metrics.territory_kpis(s.units, current, history=monthly)
    assert k["growth"].tolist() == pytest.approx([0.10, 0.10])


def test_balance_table_normalises_shares_and_checks_their_length():
    """Shares as FTE (1.0, 1.5), which balance() normalises, scored an
    allocation exactly on target 60 % off; a share of the wrong length was a
    bare numpy broadcasting error."""
    totals = {"workload": np.array([180.0, 270.0])}  # exactly 1.0 : 1.5
    fte = metrics.balance_table(totals, np.array([1.0, 1.5]))
    norm = metrics.balance_table(totals, np.array([0.4, 0.6]))
    assert fte.loc["workload", ["max_rel_dev", "cv", "gini"]].tolist() == (
        pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    )
    pd.testing.assert_frame_equal(fte, norm)
    with pytest.raises(DataValidationError) as err:
        metrics.balance_table(totals, np.array([0.4, 0.3, 0.3]))
    assert str(err.value) == (
        "share: share has 3 values for 2 territories (the totals of 'workload'): "
        "one target share per territory is needed. Fix: give one share per "
        "territory, in the order of the totals"
    )
    with pytest.raises(DataValidationError) as err:
        metrics.balance_table(totals, [1.0, np.nan])
    assert str(err.value) == (
        "share: 1 target shares are not positive numbers (e.g. nan) (rows: "
        "'position 1'). Fix: use positive shares (they are normalised to sum 1)"
    )
    with pytest.raises(DataValidationError, match=r"\(e\.g\. 0\.0\)"):
        metrics.balance_table(totals, [0.0, 1.0])


def _t_junction_cells():
    """Two 0.2° cells near Atlanta, one above the other, drawn in lon/lat; the
    lower one has 5 extra vertices on the shared edge (a T-junction)."""
    from shapely.geometry import Polygon, box

    x0, y0, s = -84.4, 33.6, 0.2
    xs = np.linspace(x0, x0 + s, 7)
    bottom = Polygon(
        [(x0, y0), (x0 + s, y0), (x0 + s, y0 + s)]
        + [(x, y0 + s) for x in xs[::-1][1:-1]]
        + [(x0, y0 + s)]
    )
    top = box(x0, y0 + s, x0 + s, y0 + 2 * s)
    return gpd.GeoDataFrame(
        {"workload": [1.0, 1.0]},
        geometry=[bottom, top],
        index=pd.Index(["a", "b"], name="unit_id"),
        crs="EPSG:4326",
    )


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:5070", "EPSG:32617", "EPSG:3857"])
def test_polsby_popper_closes_reprojection_slivers(crs):
    """Merged after reprojection, the lower cell's extra vertices on the
    curved parallel and the upper cell's straight chord left a 4.5 m sliver:
    the territory became two pieces and its Polsby-Popper fell from 0.653 to
    0.390, while contiguity saw one piece."""
    units = _t_junction_cells()
    # truth: merge where the edges were drawn (lon/lat), then project
    merged = gpd.GeoSeries([units.union_all()], crs=units.crs)
    proj = merged.to_crs(metrics.projected_crs(units))
    truth = 4 * math.pi * proj.area.iloc[0] / proj.length.iloc[0] ** 2
    assert truth == pytest.approx(0.6527, abs=1e-4)
    pp = metrics.compactness(units.to_crs(crs), {"a": "T", "b": "T"})
    assert pp.loc["T", "polsby_popper"] == pytest.approx(truth, rel=1e-9)


def test_polsby_popper_of_an_l_shape_and_a_ring_is_unchanged(toy_grid_3x3):
    """Closing the slivers keeps corners and holes: the L-shape (500 km²,
    perimeter 100 km) and the ring of 8 squares around u5 (800 km², outer
    perimeter 120 km + hole 40 km)."""
    units = toy_grid_3x3.units
    al = Alignment.from_mapping(
        {u: ("hole" if u == "u5" else "ring") for u in units.index}
    )
    pp = metrics.compactness(units, al)["polsby_popper"]
    assert pp["ring"] == pytest.approx(4 * math.pi * 800 / 160**2, rel=1e-9)
    assert round(pp["ring"], 4) == 0.3927
    assert pp["hole"] == pytest.approx(math.pi / 4, rel=1e-9)
    lshape = metrics.compactness(units, toy_grid_3x3.alignments["current"])
    assert lshape.loc["R1", "polsby_popper"] == pytest.approx(
        4 * math.pi * 500 / 100**2, rel=1e-9
    )
    assert round(lshape.loc["R1", "polsby_popper"], 4) == 0.6283


def test_compactness_repairs_invalid_polygons_as_the_study_does():
    """A self-intersecting (bow-tie) polygon in a plain units table was a bare
    GEOSException 'side location conflict'; the Study make_valid()s it."""
    from shapely.geometry import Polygon, box

    x0, y0, s = 500_000.0, 3_700_000.0, 10_000.0
    bow = Polygon([(x0, y0), (x0 + s, y0 + s), (x0 + s, y0), (x0, y0 + s)])
    units = gpd.GeoDataFrame(
        {"workload": [1.0, 1.0]},
        geometry=[bow, box(x0 + s, y0, x0 + 2 * s, y0 + s)],
        index=pd.Index(["a", "b"], name="unit_id"),
        crs="EPSG:32617",
    )
    al = {"a": "T", "b": "T"}
    got = metrics.compactness(units, al)
    pd.testing.assert_frame_equal(
        got, metrics.compactness(units.set_geometry(units.make_valid()), al)
    )
    # two triangles of 25 km² (touching at their tips) and a 100 km² square
    # the right triangle leans on: perimeter 40 + 20·√2 km
    area, per = 150.0, 40 + 20 * math.sqrt(2)
    assert got.loc["T", "polsby_popper"] == pytest.approx(
        4 * math.pi * area / per**2, rel=1e-4
    )


def test_contiguity_refuses_an_adjacency_of_the_wrong_type(toy_grid_3x3, current):
    """A numpy matrix as adjacency was a bare AttributeError ('numpy.ndarray'
    object has no attribute 'on_units')."""
    with pytest.raises(TypeError) as err:
        metrics.contiguity(toy_grid_3x3.units, current, adjacency=np.ones((9, 9)))
    assert str(err.value) == (
        "adjacency must be a terrakit.data.geo.Adjacency over the units, got "
        "numpy.ndarray; build it with tk.data.geo.adjacency(units) (add links to "
        "islands with .with_links([(a, b), ...])) or leave it None"
    )
    with pytest.raises(TypeError, match=r"got numpy\.ndarray"):
        metrics.is_contiguous(toy_grid_3x3, current, np.ones((9, 9)))


def test_metrics_order_territories_as_the_alignment_does(toy_grid_3x3):
    """Alignment.territories sorted integer ids as text ([1, 10, 5]) while
    the metrics sorted them as numbers ([1, 5, 10])."""
    units = toy_grid_3x3.units
    al = Alignment.from_mapping(
        {f"u{k}": 1 if k <= 4 else (10 if k <= 7 else 5) for k in range(1, 10)}
    )
    k = metrics.territory_kpis(units, al)
    assert list(k.index) == al.territories == [1, 5, 10]
    assert k["units"].tolist() == al.sizes().tolist() == [4, 2, 3]


def test_targets_with_a_repeated_territory_are_refused(toy_grid_3x3, current):
    """targets = reps.set_index('territory')['fte'] with a job share repeats a
    territory id: a bare pandas 'truth value of a Series is ambiguous'."""
    from terrakit.plot import balance_chart

    targets = pd.Series([1.0, 0.5, 0.5], index=["R1", "R2", "R2"])
    msg = (
        "targets: 1 territories have more than one target (e.g. reps['fte'] "
        "indexed by territory, with two reps sharing one) (rows: 'R2'). "
        "Fix: sum them: targets.groupby(level=0).sum()"
    )
    for call in (metrics.balance, balance_chart):
        with pytest.raises(DataValidationError) as e:
            call(toy_grid_3x3, current, targets=targets)
        assert str(e.value) == msg
    summed = metrics.balance(
        toy_grid_3x3, current, targets=targets.groupby(level=0).sum()
    )
    want = metrics.balance(toy_grid_3x3, current, targets={"R1": 1.0, "R2": 1.0})
    pd.testing.assert_frame_equal(summed, want)


# -- balance on draws ----------------------------------------------------------
@pytest.fixture
def grid3():
    """``toy_grid(3, 3, n_reps=3)``: 9 units in three territories of unequal
    size (R1 = {u1, u2, u3, u5, u6}, R2 = {u4, u7, u8}, R3 = {u9})."""
    from terrakit.data.synthetic import toy_grid

    return toy_grid(3, 3, n_reps=3, seed=0)


def _lognormal_draws(units, n_draws=40, seed=0):
    """Draws of a potential around 10,000 per unit, a DataFrame by unit id."""
    rng = np.random.default_rng(seed)
    values = 10_000 * rng.lognormal(0.0, 0.3, size=(len(units), n_draws))
    return pd.DataFrame(values, index=units.index)


def test_balance_on_draws_by_hand(grid3):
    s = grid3
    draws = _lognormal_draws(s.units)
    lab = s.alignments["current"].assignment.reindex(s.units.index).to_numpy()
    v = draws.to_numpy()
    for targets, w in [
        (None, [1 / 3] * 3),
        ({"R1": 2, "R2": 1, "R3": 1}, [0.5, 0.25, 0.25]),
    ]:
        got = metrics.balance_on_draws(s, "current", draws, 0.25, targets=targets)
        assert list(got.index) == ["R1", "R2", "R3"]
        assert got.index.name == "territory_id"
        sums = np.array([v[lab == t].sum(axis=0) for t in ["R1", "R2", "R3"]])
        dev = sums / (np.array(w)[:, None] * v.sum(axis=0)) - 1
        q = [0.05, 0.5, 0.95]
        np.testing.assert_allclose(
            got[["q05", "q50", "q95"]], np.quantile(sums, q, axis=1).T
        )
        np.testing.assert_allclose(
            got[["rel_dev_q05", "rel_dev_q50", "rel_dev_q95"]],
            np.quantile(dev, q, axis=1).T,
        )
        inside = np.abs(dev) <= 0.25
        np.testing.assert_allclose(got["share_within_band"], inside.mean(axis=1))
        assert got.attrs == {
            "tolerance": 0.25,
            "n_draws": 40,
            "share_all_within_band": inside.all(axis=0).mean(),
        }
    # a units table, an Alignment and the draws as an array in the units' order
    al = s.alignments["current"]
    plain = metrics.balance_on_draws(s.units, al, v, 0.25)
    pd.testing.assert_frame_equal(plain, metrics.balance_on_draws(s, al, draws, 0.25))
    # rows in another order are matched by unit id
    shuffled = draws.iloc[::-1]
    pd.testing.assert_frame_equal(
        metrics.balance_on_draws(s, al, shuffled, 0.25), plain
    )


def test_balance_on_draws_keeps_a_territory_on_the_band_edge(toy_grid_3x3, current):
    """R1 = 110 and R2 = 90 around a mean of 100 lie on the ±10 % band's edges;
    ``|110 / 100 - 1| <= 0.1`` is False in floating point (0.10000000000000009),
    the band test of the design holds them within."""
    units = toy_grid_3x3.units
    one = pd.Series(0.0, index=units.index)
    one[["u1", "u3"]] = [110.0, 90.0]  # u1 in R1, u3 in R2
    got = metrics.balance_on_draws(toy_grid_3x3, current, one.to_frame(), 0.1)
    assert abs(110.0 / 100.0 - 1) > 0.1
    assert got["share_within_band"].tolist() == [1.0, 1.0]
    assert got["rel_dev_q50"].tolist() == pytest.approx([0.1, -0.1])


@pytest.mark.parametrize("targets", [None, {"R1": 0.4, "R2": 0.6}])
def test_balance_on_draws_agrees_with_the_design_intervals(toy_grid_3x3, targets):
    """Same plan, same draws, same tolerance: the design's ``intervals`` (its
    quantiles and share of draws within the band) and the metric agree."""
    from terrakit.design import align

    draws = _lognormal_draws(toy_grid_3x3.units, n_draws=30, seed=1)
    res = align(
        toy_grid_3x3,
        balance={"workload": 0.3, "potential": 0.3},
        targets=targets,
        balance_on_draws=draws,
        draws_share=0.5,
        draws_tolerance=0.3,
        solver="mip",
        time_limit=20,
        seed=0,
    )
    got = metrics.balance_on_draws(
        toy_grid_3x3, res.alignment, draws, 0.3, targets=targets
    )
    want = res.intervals
    assert want is not None
    pd.testing.assert_frame_equal(
        got[list(want.columns)], want.reindex(got.index), check_exact=False, rtol=1e-12
    )
    good, need = res.info["draws_met"], res.info["draws_needed"]
    assert got.attrs["share_all_within_band"] == good / 30 and good >= need


def test_balance_on_draws_refuses_draws_that_do_not_match_the_units(
    toy_grid_3x3, current
):
    s = toy_grid_3x3
    draws = _lognormal_draws(s.units, n_draws=5)
    with pytest.raises(DataValidationError) as err:
        metrics.balance_on_draws(s, current, draws.drop("u5"), 0.2)
    assert (err.value.table, err.value.column, err.value.rows) == (
        "draws",
        "index",
        ["u5"],
    )
    assert str(err.value).startswith("draws.index: 1 units have no draws (rows: 'u5')")
    assert "Fix: give one row of draws per unit id" in str(err.value)
    extra = pd.concat([draws, draws.iloc[[0]].rename(index={"u1": "u99"})])
    with pytest.raises(
        DataValidationError, match=r"draws\.index: 1 rows are not units"
    ):
        metrics.balance_on_draws(s, current, extra, 0.2)
    with pytest.raises(DataValidationError, match=r"laid out draws × units.*\.T"):
        metrics.balance_on_draws(s, current, draws.T, 0.2)
    with pytest.raises(
        DataValidationError,
        match=r"^draws: expected \(n_units=9, n_draws\), got shape \(5, 9\)\. Fix: "
        r".*\(transpose it: \.T\)",
    ):
        metrics.balance_on_draws(s, current, draws.to_numpy().T, 0.2)


def test_balance_on_draws_refuses_missing_draws_and_a_fitted_potential(
    toy_grid_3x3, current
):
    s = toy_grid_3x3
    draws = _lognormal_draws(s.units, n_draws=5)
    draws.loc["u3", 2] = np.nan
    with pytest.raises(DataValidationError) as err:
        metrics.balance_on_draws(s, current, draws, 0.2)
    assert str(err.value) == (
        "draws: 1 draws are missing, infinite or negative (in 1 units) (rows: "
        "'u3'). Fix: pass draws of a non-negative activity (e.g. potential) for "
        "every unit"
    )

    class FittedPotential:
        idata = None

        def draws(self, level="unit", n_draws=None, seed=0):
            raise AssertionError("not called")

    with pytest.raises(
        DataValidationError,
        match=r"^draws: got the FittedPotential itself, not its draws\. Fix: pass "
        r"its draws by unit: potential\.draws\('unit'\)",
    ):
        metrics.balance_on_draws(s, current, FittedPotential(), 0.2)


@pytest.mark.parametrize(
    ("tolerance", "hint"),
    [(25, r"; for ±25 % pass 0\.25$"), (1.0, "$"), (-0.1, ""), (True, "")],
)
def test_balance_on_draws_refuses_a_bad_tolerance(
    toy_grid_3x3, current, tolerance, hint
):
    from terrakit.exceptions import SpecificationError

    draws = _lognormal_draws(toy_grid_3x3.units, n_draws=5)
    with pytest.raises(
        SpecificationError,
        match=r"^tolerance must be a number in \[0, 1\) \(0\.25 is ±25 %\), got "
        + re.escape(repr(tolerance))
        + r"; it is the ±band around each territory's mean \(or target\) in every "
        r"draw" + hint,
    ):
        metrics.balance_on_draws(toy_grid_3x3, current, draws, tolerance)


def test_balance_on_draws_refuses_an_alignment_that_does_not_cover_the_units(
    toy_grid_3x3, current
):
    draws = _lognormal_draws(toy_grid_3x3.units, n_draws=5)
    partial = Alignment.from_mapping(current.assignment.drop(["u9"]))
    with pytest.raises(DataValidationError) as err:
        metrics.balance_on_draws(toy_grid_3x3, partial, draws, 0.2)
    assert (err.value.table, err.value.column, err.value.rows) == (
        "alignment",
        "unit_id",
        ["u9"],
    )
    assert "leaves 1 of 9 units without a territory" in str(err.value)
    with pytest.raises(DataValidationError, match=r"^targets: 1 territories have no"):
        metrics.balance_on_draws(toy_grid_3x3, current, draws, 0.2, targets={"R1": 1})


# -- round 21: given tables as the Study checks them, gaps, inf, empty, ids ---
def test_given_accounts_override_the_studys_in_every_figure(toy_grid_3x3, current):
    """With a Study, accounts= (here 4 of its 10 accounts) drove growth only:
    the accounts and sales per territory still came from the study's own
    accounts (6 and 4 accounts instead of 3 and 1)."""
    s = toy_grid_3x3
    key = s.accounts.loc[["a1", "a2", "a3", "a10"]]  # u1, u2, u3, u5
    hist = s.history[s.history["account_id"].isin(key.index)]
    k = metrics.territory_kpis(s, current, accounts=key, history=hist)
    assert k["accounts"].tolist() == [3, 1]
    assert k["sales"].tolist() == [3_500.0, 3_000.0]  # 1000 + 2000 + 500; 3000
    assert k["growth"].tolist() == pytest.approx([0.10, -0.05])
    b = metrics.balance(s, current, ["accounts", "sales"], accounts=key)
    assert b.loc["accounts", ["mean", "min", "max"]].tolist() == [2.0, 1.0, 3.0]
    assert b.loc["sales", ["min", "max"]].tolist() == [3_000.0, 3_500.0]
    # R2's only weight is u3's: its centroid is u3's centre, its inertia 0
    c = metrics.compactness(s, current, weight="sales", accounts=key)
    assert c.loc["R2", "moment_of_inertia"] == pytest.approx(0.0, abs=1e-6)
    assert c.equals(metrics.compactness(s.units, current, "sales", accounts=key))


def test_growth_is_nan_when_a_month_of_the_24_is_missing(toy_grid_3x3, current):
    """Six months of 2023 without a row gave growth +120 % for R1 (12 months
    of 110 over 6 of 100) instead of the documented NaN."""
    s = toy_grid_3x3
    gap = s.history["period"].between(pd.Period("2023-03", "M"), pd.Period("2023-08"))
    with pytest.warns(TerrakitWarning) as rec:
        k = metrics.territory_kpis(s, current, history=s.history[~gap])
    assert k["growth"].isna().all()
    assert str(rec[0].message).startswith(
        "history: 6 of the latest 24 months (2023-01 to 2024-12) have no row at "
        "all (2023-03, 2023-04, 2023-05, 2023-06, 2023-07, 2023-08); growth "
        "compares 12 whole months with the 12 before, so it is NaN"
    )


def test_infinite_and_date_measures_are_refused(toy_grid_3x3, current):
    """An infinite value gave balance a mean of inf, KPIs inf, and
    disruption 1 unit's accounts moved with a share of 0; a duration was
    summed as nanoseconds."""
    units = toy_grid_3x3.units.assign(accounts=1.0)
    units.loc["u2", ["workload", "accounts"]] = np.inf
    tail = (
        "1 values are infinite (e.g. inf); a measure is summed per territory, so "
        "every value must be a finite number (rows: 'u2'). Fix: replace infinite "
        "values by real numbers (often a ratio divided by 0)"
    )
    with pytest.raises(DataValidationError, match=re.escape("units.workload: " + tail)):
        metrics.balance(units, current)
    with pytest.raises(DataValidationError, match=re.escape("units.workload: " + tail)):
        metrics.territory_kpis(units.drop(columns="accounts"), current, weight=None)
    with pytest.raises(DataValidationError, match=re.escape("units.accounts: " + tail)):
        metrics.disruption(units, current, current.replace({"u2": "R2"}))
    hours = pd.to_timedelta(np.arange(1, 10), unit="h")
    for col in (hours, pd.Timestamp("2024-01-01") + hours):
        with pytest.raises(DataValidationError, match="holds dates or durations"):
            metrics.balance(toy_grid_3x3.units.assign(t=col), current, "t")


def test_repeated_account_rep_and_center_ids_are_refused(toy_grid_3x3, current):
    """A repeated account counted twice (R1: 7 accounts instead of 6); a
    repeated rep or center gave a bare TypeError."""
    s = toy_grid_3x3
    units = s.units.drop(columns="workload")
    twice = pd.concat([s.accounts, s.accounts.loc[["a1"]]])
    msg = re.escape(
        "accounts.account_id: 1 ids occur more than once (rows: 'a1'). Fix: make "
        "account_id unique (merge or rename the duplicated rows)"
    )
    for call in (
        lambda: metrics.territory_kpis(units, current, accounts=twice),
        lambda: metrics.balance(units, current, "accounts", accounts=twice),
        lambda: metrics.balance(s, current, "accounts", accounts=twice),
        lambda: metrics.disruption(units, current, current, accounts=twice),
    ):
        with pytest.raises(DataValidationError, match=msg):
            call()
    reps = pd.concat([s.reps, s.reps.loc[["R1"]]])
    with pytest.raises(DataValidationError, match=r"^reps\.rep_id: 1 ids occur"):
        metrics.territory_kpis(s, current, reps=reps)
    with pytest.raises(DataValidationError, match=r"^centers\.rep_id: 1 ids occur"):
        metrics.compactness(s, current, centers=reps)


def test_side_table_columns_are_checked_as_the_study_checks_them(toy_grid_3x3, current):
    """A history without sales gave a bare KeyError, text in history.sales or
    in a summed account column a bare ValueError or TypeError."""
    s = toy_grid_3x3
    units = s.units.drop(columns="workload")
    with pytest.raises(
        DataValidationError,
        match=r"^history\.sales: required column\(s\) \['sales'\] missing",
    ):
        metrics.territory_kpis(
            s, current, history=s.history.rename(columns={"sales": "revenue"})
        )
    hist = s.history.astype({"sales": object})
    hist.loc[hist.index[-1], "sales"] = "1,200.50"
    with pytest.raises(
        DataValidationError,
        match=r"^history\.sales: 1 values are not numbers \(e\.g\. '1,200\.50'\)",
    ):
        metrics.territory_kpis(s, current, history=hist)
    acc = s.accounts.assign(calls_per_year=12.0, call_minutes=30.0).astype(
        {"annual_sales": object, "call_minutes": object}
    )
    acc.loc["a4", "annual_sales"] = "1,200.50"
    acc.loc["a5", "call_minutes"] = "45 min"
    sales = r"^accounts\.annual_sales: 1 values are not numbers .*\(rows: 'a4'\)"
    with pytest.raises(DataValidationError, match=sales):
        metrics.territory_kpis(
            units, current, accounts=acc.drop(columns="call_minutes")
        )
    with pytest.raises(DataValidationError, match=r"^accounts\.call_minutes: 1 values"):
        metrics.balance(units, current, accounts=acc)
    with pytest.raises(DataValidationError, match=sales):
        metrics.disruption(units, current, current, accounts=acc)


EMPTY_MSG = (
    "units: the table is empty (no rows), so there are no territories to measure. "
    "Fix: check the filter that selected the units (a metric needs at least one "
    "unit)"
)


@pytest.mark.parametrize(
    "call",
    [
        lambda u, al: metrics.balance(u, al),
        lambda u, al: metrics.territory_kpis(u, al),
        lambda u, al: metrics.compactness(u, al),
        lambda u, al: metrics.disruption(u, al, al),
        lambda u, al: metrics.contiguity(u, al),
        lambda u, al: metrics.balance_on_draws(u, al, np.zeros((0, 3)), 0.1),
    ],
    ids=[
        "balance",
        "territory_kpis",
        "compactness",
        "disruption",
        "contiguity",
        "balance_on_draws",
    ],
)
def test_an_empty_units_table_is_refused_by_every_metric(toy_grid_3x3, call):
    """A filter that selected no unit gave numpy's 'zero-size array', a
    ZeroDivisionError, or a CRS diagnosis."""
    units = toy_grid_3x3.units.iloc[:0]
    with pytest.raises(DataValidationError) as err:
        call(units, Alignment.from_mapping({}))
    assert str(err.value) == EMPTY_MSG


def test_balance_table_refuses_empty_totals():
    with pytest.raises(
        DataValidationError,
        match=r"^totals\.workload: the totals of 'workload' are empty \(no territory\)",
    ):
        metrics.balance_table({"workload": np.array([])})


def test_accounts_without_unit_id_are_refused_with_the_join(toy_grid_3x3, current):
    """Accounts with lon/lat but no unit_id were ignored silently: every
    account figure NaN, disruption's accounts moved NaN."""
    s = toy_grid_3x3
    units = s.units.drop(columns="workload")
    acc = s.accounts.drop(columns="unit_id").assign(lon=-81.0, lat=33.5)
    msg = re.escape(
        "accounts.unit_id: the accounts have lon/lat but no unit_id column, so "
        "they cannot be summed per unit (the metrics do not join accounts to "
        "units). Fix: join them to the units first: accounts = "
        "tk.data.io.join_to_units(accounts, units), or read them with "
        "tk.data.read_accounts(path, units=units)"
    )
    with pytest.raises(DataValidationError, match=msg):
        metrics.territory_kpis(units, current, accounts=acc)
    with pytest.raises(DataValidationError, match=msg):
        metrics.disruption(units, current, current, accounts=acc)
    with pytest.raises(
        DataValidationError, match=r"^accounts\.unit_id: required column\(s\)"
    ):
        metrics.balance(s, current, accounts=acc.drop(columns=["lon", "lat"]))


def test_centers_and_targets_match_territory_ids_equal_as_text(toy_grid_3x3):
    """Territories 1, 2 (an alignment read from a CSV) beside reps '1', '2':
    territory_kpis matched them, compactness said '2 territories have no
    center' and balance '2 territories with a target have no unit'."""
    s = toy_grid_3x3
    al = Alignment.from_mapping(
        s.alignments["current"].assignment.map({"R1": 1, "R2": 2})
    )
    text = s.reps.rename(index={"R1": "1", "R2": "2"}).assign(fte=[1.0, 3.0])
    ints = text.rename(index={"1": 1, "2": 2})
    got = metrics.compactness(s, al, centers=text)
    assert got.equals(metrics.compactness(s, al, centers=ints))
    assert metrics.territory_kpis(s, al, reps=text)["rep_id"].tolist() == ["1", "2"]
    b = metrics.balance(s, al, targets=text["fte"])
    assert b.equals(metrics.balance(s, al, targets=ints["fte"]))
    # R1 holds 190 of 450 hours for a target of 1/4: 190 / 112.5 - 1
    assert b.loc["workload", "max_rel_dev"] == pytest.approx(190 / 112.5 - 1)

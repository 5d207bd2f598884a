"""assign_leads(): rules in order, capacity headroom, expertise, reasons, errors.

On the 6 × 4 grid (see conftest): capacity 700 h per rep, territory workloads
R1 600, R2 900, R3 600, R4 900, so R1 and R3 have 100 h headroom and R2, R4
are 200 h over.  Hours per unit of sales = 3000 h / 96,000 = 0.03125, so a
lead of size 1,000 needs 31.25 h.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from terrakit.data.alignment import Alignment
from terrakit.data.study import Study
from terrakit.exceptions import DataValidationError, SpecificationError
from terrakit.realign.leads import LeadAssignment, assign_leads


@pytest.fixture
def lead_at(cell_lonlat):
    """Build a leads table: ``lead_at([(col, row, industry), ...], size=...)``."""

    def build(cells, size=1_000.0):
        rows = []
        for k, (c, r, ind) in enumerate(cells):
            lon, lat = cell_lonlat(c, r)
            rows.append(
                {
                    "lead_id": f"L{k}",
                    "lon": lon,
                    "lat": lat,
                    "size": size,
                    "industry": ind,
                }
            )
        return pd.DataFrame(rows)

    return build


def test_territory_rule_alone_keeps_the_home_territory(grid6x4, lead_at):
    res = assign_leads(
        lead_at([(4, 0, "Retail"), (0, 3, "Retail")]), grid6x4, rules=["territory"]
    )
    assert isinstance(res, LeadAssignment)
    t = res.to_frame()
    assert t["rep_id"].tolist() == ["R2", "R3"]
    assert t.loc["L0", "unit_id"] == "c4r0"
    assert t.loc["L0", "reason"] == "lies in unit c4r0 of territory R2; stays with R2"
    assert t.loc["L0", "hours"] == pytest.approx(31.25)
    assert len(res.moved) == 0


def test_capacity_routes_to_the_nearest_neighbour_with_headroom(grid6x4, lead_at):
    res = assign_leads(
        lead_at([(3, 0, "Retail")]), grid6x4, rules=["territory", "capacity"]
    )
    row = res.to_frame().loc["L0"]
    # R1 (home 30 km away) and R3 (36 km) have headroom; R1 is nearer
    assert row["rep_id"] == "R1" and row["home_territory"] == "R2"
    assert "R2 lacks headroom (-200.0 h left, lead needs 31.2 h)" in row["reason"]
    assert "routed to adjacent territory R1 (rep home 30 km away)" in row["reason"]
    assert list(res.moved) == ["L0"]


def test_headroom_is_used_up_in_order(grid6x4, lead_at):
    res = assign_leads(
        lead_at([(3, 0, "Retail")] * 4), grid6x4, rules=["territory", "capacity"]
    )
    # R1 takes 3 × 31.25 = 93.75 h of its 100 h, the 4th lead goes to R3
    assert res.to_frame()["rep_id"].tolist() == ["R1", "R1", "R1", "R3"]
    h = res.headroom
    assert h.loc["R1", "lead_hours"] == pytest.approx(93.75)
    assert h.loc["R1", "headroom_after"] == pytest.approx(6.25)
    assert h.loc["R2", "workload"] == pytest.approx(900.0)
    assert h.loc["R2", "headroom_after"] == pytest.approx(-200.0)


def test_expertise_prefers_a_skilled_neighbour(grid6x4, lead_at):
    res = assign_leads(
        lead_at([(0, 0, "Healthcare"), (0, 0, "Retail")]),
        grid6x4,
        rules=["territory", "expertise"],
    )
    t = res.to_frame()
    # R1 knows retail only; R2 and R3 know healthcare, R3's home is nearer
    assert t.loc["L0", "rep_id"] == "R3"
    assert "R2, R3 know 'Healthcare'" in t.loc["L0", "reason"]
    assert t.loc["L1", "rep_id"] == "R1"
    assert "stays with R1" in t.loc["L1", "reason"]


def test_rule_order_decides_conflicts(grid6x4, lead_at):
    """A logistics lead in over-capacity R2: only R4 knows logistics, but R4 is
    over capacity too.  Capacity first -> R1; expertise first -> R4."""
    leads = lead_at([(3, 0, "Logistics")])
    cap_first = assign_leads(
        leads, grid6x4, rules=["territory", "capacity", "expertise"]
    )
    exp_first = assign_leads(
        leads, grid6x4, rules=["territory", "expertise", "capacity"]
    )
    assert cap_first.to_frame().loc["L0", "rep_id"] == "R1"
    assert "expertise rule skipped" in cap_first.to_frame().loc["L0", "reason"]
    assert exp_first.to_frame().loc["L0", "rep_id"] == "R4"
    assert "capacity rule skipped" in exp_first.to_frame().loc["L0", "reason"]


def test_unit_id_instead_of_position_and_explicit_hours(grid6x4):
    leads = pd.DataFrame(
        {
            "lead_id": ["A", "B"],
            "unit_id": ["c5r3", "c1r1"],
            "size": [10.0, 10.0],
            "hours": [500.0, 1.0],
            "industry": ["Retail", "Retail"],
        }
    )
    res = assign_leads(leads, grid6x4)
    t = res.to_frame()
    # A needs 500 h: no rep within reach of R4 has that -> capacity skipped;
    # R4 knows logistics only, R1 and R3 know retail, R3's home is nearer
    assert t.loc["A", "rep_id"] == "R3"
    assert t.loc["A", "reason"] == (
        "lies in unit c5r3 of territory R4; no rep within reach has 500.0 h "
        "headroom; capacity rule skipped; R1, R3 know 'Retail'; routed to "
        "adjacent territory R3 (rep home 51 km away)"
    )
    assert t.loc["B", "rep_id"] == "R1"
    text = res.summary()
    assert text.startswith("Lead assignment (territory, capacity, expertise): 2 leads")
    assert "reps over capacity after assignment: 3 (R2, R3, R4)" in text


def test_lead_outside_every_territory_is_a_clear_error(grid6x4, lead_at):
    leads = lead_at([(0, 0, "Retail"), (1, 1, "Retail")])
    leads.loc[1, ["lon", "lat"]] = [-60.0, 10.0]
    with pytest.raises(DataValidationError) as err:
        assign_leads(leads, grid6x4)
    msg = str(err.value)
    assert "leads.lon/lat: 1 leads lie outside every territory" in msg
    assert "(rows: 'L1')" in msg and "Fix: check that lon/lat are not swapped" in msg
    assert err.value.rows == ["L1"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d.drop(columns="size"), "leads.size: required column is missing"),
        (lambda d: d.assign(size=[-1.0, 5.0]), "leads have a missing, non-numeric"),
        (lambda d: d.assign(lead_id=["X", "X"]), "1 lead ids repeat"),
        (lambda d: d.drop(columns="lead_id"), "no lead_id column or index"),
        (lambda d: d.assign(lat=[95.0, 33.0]), "out-of-range coordinates"),
        (lambda d: d.drop(columns=["lon", "lat"]), "neither lon/lat nor unit_id"),
        (lambda d: d.assign(unit_id=["zz", None]), "name units that are not in"),
        (lambda d: d.drop(columns="industry"), "expertise rule needs the leads' indus"),
        (lambda d: d.assign(hours=[None, 1.0]), "missing, non-numeric, infinite or"),
    ],
)
def test_bad_leads(grid6x4, lead_at, change, fragment):
    with pytest.raises(DataValidationError, match=re.escape(fragment)):
        assign_leads(change(lead_at([(0, 0, "Retail"), (1, 1, "Retail")])), grid6x4)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d.assign(lead_id=["L0", None]), "leads.lead_id: 1 leads have no id"),
        (
            lambda d: d.assign(size=[float("inf"), 5.0]),
            "leads.size: 1 leads have a missing, non-numeric, infinite or negative",
        ),
        (
            lambda d: d.assign(hours=[float("inf"), 1.0]),
            "leads.hours: 1 leads have missing, non-numeric, infinite or negative "
            "hours",
        ),
    ],
)
def test_bad_leads_found_by_a_demanding_user(grid6x4, lead_at, change, fragment):
    leads = change(lead_at([(0, 0, "Retail"), (1, 1, "Retail")]))
    before = leads.copy()
    with pytest.raises(DataValidationError, match=re.escape(fragment)):
        assign_leads(leads, grid6x4)
    pd.testing.assert_frame_equal(leads, before)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"hours_per_sales": -0.1}, "hours_per_sales must be a number ≥ 0"),
        ({"hours_per_sales": float("nan")}, "hours_per_sales must be a number ≥ 0"),
        ({"max_load": "all"}, "max_load must be a share of capacity in"),
    ],
)
def test_bad_settings(grid6x4, lead_at, kw, message):
    with pytest.raises(SpecificationError, match=message):
        assign_leads(lead_at([(0, 0, "Retail")]), grid6x4, **kw)


def test_one_rule_may_be_given_as_a_string(grid6x4, lead_at):
    res = assign_leads(lead_at([(4, 0, "Retail")]), grid6x4, rules="territory")
    assert res.rules == ("territory",)
    assert res.to_frame().loc["L0", "rep_id"] == "R2"


def test_a_lead_without_industry_skips_expertise_and_says_so(grid6x4, lead_at):
    leads = lead_at([(0, 0, None)])
    res = assign_leads(leads, grid6x4, rules=["territory", "expertise"])
    assert res.to_frame().loc["L0", "reason"] == (
        "lies in unit c0r0 of territory R1; the lead has no industry; expertise "
        "rule skipped; stays with R1"
    )


def test_unit_ids_read_as_text_match_numeric_unit_ids(make_grid):
    st = make_grid()
    num = {u: i for i, u in enumerate(st.units.index)}
    cur = st.alignments["current"].assignment
    study = st.replace(
        units=st.units.rename(index=num),
        accounts=st.accounts.assign(unit_id=st.accounts["unit_id"].map(num)),
        history=None,
        alignments={"current": Alignment(cur.rename(index=num), name="current")},
    )
    leads = pd.DataFrame(
        {"lead_id": ["A"], "unit_id": [str(num["c4r0"])], "size": [10.0]}
    )
    res = assign_leads(leads, study, rules=["territory"])
    assert res.to_frame().loc["A", "rep_id"] == "R2"
    assert res.to_frame().loc["A", "unit_id"] == num["c4r0"]


def test_bad_rules(grid6x4, lead_at):
    leads = lead_at([(0, 0, "Retail")])
    for rules in (["capacity"], ["territory", "luck"], ["territory", "territory"], []):
        with pytest.raises(SpecificationError, match="must start with 'territory'"):
            assign_leads(leads, grid6x4, rules=rules)
    no_skills = grid6x4.replace(reps=grid6x4.reps.drop(columns="skills"))
    with pytest.raises(DataValidationError, match=r"reps\.skills: the expertise rule"):
        assign_leads(leads, no_skills)
    no_cap = grid6x4.replace(reps=grid6x4.reps.drop(columns="capacity_hours"))
    with pytest.raises(DataValidationError, match=r"reps\.capacity_hours"):
        assign_leads(leads, no_cap, rules=["territory", "capacity"])


@pytest.mark.parametrize("rules", [None, 3])
def test_rules_that_are_not_rule_names_say_what_rules_look_like(
    grid6x4, lead_at, rules
):
    """``rules=None`` was a bare ``TypeError: 'NoneType' object is not iterable``."""
    with pytest.raises(
        SpecificationError,
        match=re.escape(
            f"assign_leads(rules={rules!r}): rules are rule names in priority "
            "order, starting with 'territory', e.g. ['territory', 'capacity', "
            "'expertise'] (the default) or ['territory', 'capacity']; a single "
            "rule may be given as a string"
        ),
    ):
        assign_leads(lead_at([(0, 0, "Retail")]), grid6x4, rules=rules)


def test_a_lead_without_unit_id_or_position_is_named(grid6x4):
    """Leads by unit_id (no lon/lat columns) with one unit_id missing was a
    bare ``KeyError: 'lon'``."""
    leads = pd.DataFrame(
        {"lead_id": ["A", "B"], "unit_id": ["c0r0", None], "size": [10.0, 10.0]}
    )
    with pytest.raises(DataValidationError) as err:
        assign_leads(leads, grid6x4, rules=["territory"])
    msg = str(err.value)
    assert msg.startswith("leads.unit_id: 1 leads have no unit_id and there are no")
    assert "(rows: 'B')" in msg and "Fix: give unit_id or lon/lat" in msg
    assert err.value.rows == ["B"]


def test_an_adjacency_of_other_units_is_refused(grid6x4, make_grid, lead_at):
    """An adjacency built on another units table was a bare ``KeyError(nan)``
    (more units) or silently lost neighbours (fewer units)."""
    from terrakit.data.geo import adjacency

    leads = lead_at([(3, 0, "Retail")])
    bigger = adjacency(make_grid(n_cols=7).units)
    with pytest.raises(DataValidationError) as err:
        assign_leads(leads, grid6x4, rules=["territory", "capacity"], adjacency=bigger)
    msg = str(err.value)
    assert "adjacency.unit_id: the adjacency has 28 units, the study 24: " in msg
    assert "4 of its units are not in the study ('c6r0'" in msg
    assert "Fix: build the adjacency from the study's units" in msg
    smaller = adjacency(grid6x4.units.drop(index=["c2r0"]))
    with pytest.raises(
        DataValidationError,
        match=re.escape("1 unit of the study is not in it ('c2r0')"),
    ):
        assign_leads(leads, grid6x4, rules=["territory", "capacity"], adjacency=smaller)
    same = adjacency(grid6x4.units)
    res = assign_leads(leads, grid6x4, rules=["territory", "capacity"], adjacency=same)
    assert res.to_frame().loc["L0", "rep_id"] == "R1"
    # a bare matrix was refused without saying how to build the graph
    with pytest.raises(SpecificationError) as err:
        assign_leads(
            leads, grid6x4, rules=["territory", "capacity"], adjacency=same.matrix
        )
    assert str(err.value) == (
        "assign_leads(adjacency=...) must be a terrakit.data.geo.Adjacency over the "
        "study's units, got scipy.sparse._csr.csr_array; build it with "
        "tk.data.geo.adjacency(study.units) (add links to islands with "
        ".with_links([(a, b), ...])) or leave it None"
    )


def test_headroom_is_filled_whatever_the_rules(grid6x4, lead_at):
    """With rules=['territory'] the headroom table was all NaN and the summary
    said 0 reps over capacity although R2 and R4 are 200 h over."""
    leads = lead_at([(0, 0, "Retail")])
    res = assign_leads(leads, grid6x4, rules=["territory"])
    h = res.headroom
    assert h.loc["R2", "capacity"] == pytest.approx(700.0)
    assert h.loc["R2", "workload"] == pytest.approx(900.0)
    assert h.loc["R1", "headroom_after"] == pytest.approx(700 - 600 - 31.25)
    assert "reps over capacity after assignment: 2 (R2, R4)" in res.summary()
    with_rule = assign_leads(leads, grid6x4, rules=["territory", "capacity"])
    pd.testing.assert_frame_equal(h, with_rule.headroom)
    # without capacity data the summary does not claim a number
    no_cap = grid6x4.replace(reps=grid6x4.reps.drop(columns="capacity_hours"))
    res = assign_leads(leads, no_cap, rules=["territory"])
    assert res.headroom["headroom_after"].isna().all()
    assert "reps over capacity after assignment: unknown" in res.summary()


def test_a_lead_on_a_border_goes_to_the_nearest_rep_whatever_the_unit_order(
    grid6x4,
):
    """A lead on a shared border went to the first spatial-index hit, silently.

    Units in degrees, so the corner is exactly on both squares.  c2r0 (R1) and
    c3r0 (R2) share the corner at the bottom; R2 lives in c3r0, R1 two cells
    further west.  c0r0 and c1r0 are both R1's: the lowest unit id wins.
    """
    import shapely

    units = grid6x4.units.to_crs(4326)
    corner = [
        tuple(c)
        for c in shapely.get_coordinates(units.geometry["c2r0"].exterior)
        if shapely.Point(c).intersects(units.geometry["c3r0"])
    ]
    west = [
        tuple(c)
        for c in shapely.get_coordinates(units.geometry["c0r0"].exterior)
        if shapely.Point(c).intersects(units.geometry["c1r0"])
    ]
    (x, y) = min(corner, key=lambda c: c[1])
    (wx, wy) = min(west, key=lambda c: c[1])
    leads = pd.DataFrame(
        {"lead_id": ["L0", "L1"], "lon": [x, wx], "lat": [y, wy], "size": [10.0] * 2}
    )
    for order in (units.index, units.index[::-1]):
        st = grid6x4.replace(units=units.loc[order])
        t = assign_leads(leads, st, rules=["territory"]).to_frame()
        assert t.loc["L0", "unit_id"] == "c3r0" and t.loc["L0", "rep_id"] == "R2"
        assert t.loc["L0", "reason"] == (
            "lies on the border of units c2r0 (R1) and c3r0 (R2); placed in unit "
            "c3r0 of territory R2 (rep R2's home is nearest); stays with R2"
        )
        assert t.loc["L1", "unit_id"] == "c0r0"
        assert t.loc["L1", "reason"].startswith(
            "lies on the border of units c0r0 (R1) and c1r0 (R1); placed in unit "
            "c0r0 of territory R1 (lowest unit id)"
        )


def test_a_lead_in_overlapping_units_says_so(grid6x4, cell_lonlat):
    """Overlapping polygons (as in county samples): the lead lies inside both."""
    from shapely.geometry import box

    units = grid6x4.units.copy()
    # widen c3r0 (R2) 2 km west, over c2r0 (R1)
    x0, y0, x1, y1 = units.geometry["c3r0"].bounds
    units.loc["c3r0", "geometry"] = box(x0 - 2_000, y0, x1, y1)
    st = grid6x4.replace(units=units)
    lon, lat = cell_lonlat(2.4, 0)  # 1 km west of the old border
    leads = pd.DataFrame({"lead_id": ["L0"], "lon": [lon], "lat": [lat], "size": [1.0]})
    t = assign_leads(leads, st, rules=["territory"]).to_frame()
    assert t.loc["L0", "rep_id"] == "R2"
    assert t.loc["L0", "reason"].startswith(
        "lies in the overlap of units c2r0 (R1) and c3r0 (R2); placed in unit c3r0"
    )


def test_territory_ids_that_are_rep_ids_as_text_keep_their_reps(grid6x4, lead_at):
    """Reps 1..4 with an alignment of territories '1'..'4' (read from a CSV):
    every territory was repless, so the capacity and expertise rules were
    silently off (rep_id NaN, capacity NaN, the lead stayed in over-capacity
    '2').  Routed as with ids 'R1'..'R4'."""
    m = {"R1": 1, "R2": 2, "R3": 3, "R4": 4}
    cur = grid6x4.alignments["current"].assignment
    study = Study(
        grid6x4.units,
        accounts=grid6x4.accounts.assign(rep_id=grid6x4.accounts["rep_id"].map(m)),
        reps=grid6x4.reps.rename(index=m),
        history=grid6x4.history,
        alignments={"current": Alignment(cur.map(lambda t: str(m[t])), name="current")},
    )
    leads = lead_at([(3, 0, "Retail"), (0, 0, "Healthcare")])
    t = assign_leads(leads, study).to_frame()
    ref = assign_leads(leads, grid6x4).to_frame()
    assert ref["rep_id"].tolist() == ["R1", "R3"]
    assert t["territory_id"].tolist() == ["1", "3"]
    assert t["rep_id"].tolist() == [1, 3]
    assert t.loc["L0", "reason"] == (
        "lies in unit c3r0 of territory 2; 2 lacks headroom (-200.0 h left, lead "
        "needs 31.2 h); routed to adjacent territory 1 (rep home 30 km away)"
    )
    for lid in t.index:  # the same reasons, with ids '1'..'4' for 'R1'..'R4'
        assert t.loc[lid, "reason"] == re.sub(
            r"\bR(\d)\b", r"\1", ref.loc[lid, "reason"]
        )
    h = assign_leads(leads, study).headroom
    assert h["capacity"].tolist() == pytest.approx([700.0] * 4)
    assert h.loc["1", "headroom_after"] == pytest.approx(700 - 600 - 31.25)


def test_lead_hours_are_refused_when_the_units_have_no_sales(grid6x4, lead_at):
    """Σ sales = 0 made hours_per_sales inf: lead hours inf / NaN, the capacity
    rule skipped for each lead and headroom -inf, silently."""
    no_sales = Study(
        grid6x4.units.assign(sales=0.0),
        accounts=grid6x4.accounts.assign(annual_sales=0.0),
        reps=grid6x4.reps,
        history=grid6x4.history,
        alignments=dict(grid6x4.alignments),
    )
    leads = lead_at([(1, 1, "Retail"), (1, 1, "Retail")])
    with pytest.raises(DataValidationError) as err:
        assign_leads(leads, no_sales)
    assert str(err.value) == (
        "units.sales: cannot estimate the hours of a lead from its size: the "
        "units' sales total 0 (workload 3000), so hours per unit of sales "
        "(Σ workload / Σ sales) is undefined. Fix: pass hours_per_sales=... or "
        "give the leads an hours column"
    )
    # either way out works
    res = assign_leads(leads, no_sales, hours_per_sales=0.01)
    assert res.to_frame()["hours"].tolist() == pytest.approx([10.0, 10.0])
    res = assign_leads(leads.assign(hours=[5.0, 6.0]), no_sales)
    assert res.to_frame()["hours"].tolist() == pytest.approx([5.0, 6.0])


@pytest.mark.parametrize(
    ("skills", "retail"),
    [
        (
            [["retail"], ["healthcare"], ["healthcare", "retail"], ["logistics"]],
            "R1, R3 know 'Retail'; ",
        ),
        (
            [("Retail",), {" HealthCare "}, np.array(["healthcare", "retail"]), []],
            "R1, R3 know 'Retail'; ",
        ),
        (
            [["retail"], ["healthcare"], ["healthcare"], ["logistics"]],
            "R1 knows 'Retail'; ",
        ),
    ],
)
def test_skills_given_as_lists_are_read(grid6x4, lead_at, skills, retail):
    """List-valued skills (as Scenario.add_rep takes them) were a bare
    'truth value of an array is ambiguous' ValueError (two skills) or the
    text "['retail']" as one skill (one skill each: nothing matched, the
    expertise rule silently skipped)."""
    reps = grid6x4.reps.copy()
    reps["skills"] = pd.Series(skills, index=reps.index, dtype=object)
    study = grid6x4.replace(reps=reps)
    leads = lead_at([(1, 1, "Healthcare"), (1, 1, "Retail")])
    t = assign_leads(leads, study, rules=["territory", "expertise"]).to_frame()
    assert t["rep_id"].tolist() == ["R3", "R1"]
    assert t.loc["L0", "reason"] == (
        "lies in unit c1r1 of territory R1; R2, R3 know 'Healthcare'; routed to "
        "adjacent territory R3 (rep home 14 km away)"
    )
    assert t.loc["L1", "reason"] == (
        f"lies in unit c1r1 of territory R1; {retail}stays with R1"
    )


def test_a_unit_id_column_made_float_by_an_empty_cell_gives_the_study_ids(
    make_grid, cell_lonlat
):
    """unit_id [101.0, NaN] (a CSV column of integers with an empty cell):
    the table said 101.0 and 110.0 for units 101 and 110."""
    st = make_grid()
    num = {u: 100 + i for i, u in enumerate(st.units.index)}
    cur = st.alignments["current"].assignment
    study = st.replace(
        units=st.units.rename(index=num),
        accounts=st.accounts.assign(unit_id=st.accounts["unit_id"].map(num)),
        history=None,
        alignments={"current": Alignment(cur.rename(index=num), name="current")},
    )
    lon, lat = cell_lonlat(4, 1)
    leads = pd.DataFrame(
        {
            "lead_id": ["a", "b"],
            "unit_id": [101.0, np.nan],
            "lon": [np.nan, lon],
            "lat": [np.nan, lat],
            "size": [1.0, 2.0],
        }
    )
    t = assign_leads(leads, study, rules=["territory"]).to_frame()
    assert t["unit_id"].tolist() == [num["c1r0"], num["c4r1"]]
    assert t["unit_id"].dtype == np.int64
    assert t.loc["a", "reason"] == "lies in unit 101 of territory R1; stays with R1"


@pytest.mark.parametrize("column", ["size", "hours"])
def test_true_is_no_size_or_hours(grid6x4, lead_at, column):
    """size=True / hours=True were taken as 1.0."""
    leads = lead_at([(0, 0, "Retail"), (1, 1, "Retail")]).assign(hours=1.0)
    leads[column] = pd.Series([True, 2.0], dtype=object)
    with pytest.raises(DataValidationError) as err:
        assign_leads(leads, grid6x4)
    what = (
        "a missing, non-numeric, infinite or negative size"
        if column == "size"
        else "missing, non-numeric, infinite or negative hours"
    )
    assert str(err.value).startswith(
        f"leads.{column}: 1 leads have {what} (rows: 'L0')"
    )
    leads[column] = [False, True]  # a bool column alike
    with pytest.raises(DataValidationError, match=f"2 leads have {what}"):
        assign_leads(leads, grid6x4)


# -- QA round 21 --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "what"),
    [
        (lambda st: st.units, "GeoDataFrame; wrap the units table in a Study: "),
        (lambda st: "study.gpkg", "str; build one with "),
    ],
    ids=["units", "path"],
)
def test_a_table_or_a_path_instead_of_a_study_is_refused(grid6x4, lead_at, given, what):
    """The units table or a file path died in a bare AttributeError
    ("'GeoDataFrame' object has no attribute 'unit_measures'")."""
    from terrakit.exceptions import NotAStudyError

    with pytest.raises(NotAStudyError) as err:
        assign_leads(lead_at([(3, 0, "Retail")]), given(grid6x4), "current")
    assert str(err.value).startswith(
        "tk.realign.assign_leads takes a Study (tk.Study), got " + what
    )
    assert "tk.Study.load(path) for a saved study" in str(err.value)

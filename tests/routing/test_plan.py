"""Call plans: frequencies, hours, lunch, windows, dropped visits, determinism."""

from __future__ import annotations

import re
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from terrakit.data import Study
from terrakit.exceptions import SpecificationError
from terrakit.routing import CallPlan, plan_all, plan_calls
from terrakit.routing.vrp import Backend

sys.path.insert(0, str(Path(__file__).parent))
from toy_studies import make_study

KW = {"weeks": 2, "time_limit": 30, "seed": 0}


@pytest.fixture(scope="module")
def plan() -> CallPlan:
    """24 accounts (weekly / every 2 weeks / every 4 weeks), 2-week cycle."""
    study = make_study(24, windows=True)
    return plan_calls(study, "current", "R01", **KW)


def _visits(plan: CallPlan) -> pd.DataFrame:
    return plan.routes[plan.routes["kind"] == "visit"]


def test_frequencies_honoured(plan: CallPlan) -> None:
    """48/yr → 2 visits in 2 weeks on the same weekday; 24/yr → 1; 12/yr → 0–1."""
    sch = plan.schedule
    weekly = sch[sch["calls_per_year"] == 48]
    assert (weekly["visits"] == 2).all()
    for days in weekly["days"]:
        d1, d2 = days.split(";")
        assert d1.split("-")[1] == d2.split("-")[1]  # same weekday
        assert d1.startswith("W1") and d2.startswith("W2")
    assert (sch.loc[sch["calls_per_year"] == 24, "visits"] == 1).all()
    assert sch.loc[sch["calls_per_year"] == 12, "visits"].isin([0, 1]).all()
    # every planned visit is routed or reported dropped, on its planned day
    v = _visits(plan)
    assert len(v) + len(plan.dropped) == sch["visits"].sum()
    for acc, row in sch.iterrows():
        routed = sorted(v.loc[v["account_id"] == acc, "day"])
        dropped = sorted(plan.dropped.loc[plan.dropped["account_id"] == acc, "day"])
        planned = sorted(row["days"].split(";")) if row["days"] else []
        assert sorted(routed + dropped) == planned


def test_working_hours_lunch_and_windows(plan: CallPlan) -> None:
    r = plan.routes
    home = r[r["kind"] == "home"]
    assert (home["depart"].dropna() >= 8 * 60 - 1e-6).all()
    assert (home["arrive"].dropna() <= 17 * 60 + 1e-6).all()
    lunch = r[r["kind"] == "lunch"]
    dt = plan.day_table
    busy = dt.index[dt["visits"] > 0]
    assert lunch["day"].is_unique and set(lunch["day"]) <= set(busy)
    # a day without the break starts after the lunch hour or ends before it
    # (the break is taken at home, outside the working day); the others hold it
    off = dt.loc[busy.difference(pd.Index(lunch["day"]))]
    assert ((off["start"] >= 13 * 60 - 1e-6) | (off["end"] <= 12 * 60 + 1e-6)).all()
    assert np.allclose(lunch["start"], 12 * 60)
    assert np.allclose(lunch["depart"], 13 * 60)
    v = _visits(plan)
    overlap = (v["start"] < 13 * 60 - 1e-6) & (v["depart"] > 12 * 60 + 1e-6)
    assert not overlap.any()
    assert (v["start"] >= v["arrive"] - 1e-6).all()
    # accounts A000, A004, ... only take visits 14:00-16:00
    win = v[v["account_id"].isin([f"A{k:03d}" for k in range(0, 24, 4)])]
    assert len(win)
    assert (win["start"] >= 14 * 60 - 1e-6).all()
    assert (win["start"] <= 16 * 60 + 1e-6).all()


def test_result_outputs(plan: CallPlan, tmp_path: Path) -> None:
    s = plan.summary()
    assert s.startswith("Call plan: territory R01 (rep R01), 10 days")
    assert " s)" not in s and " s)" in str(plan)
    f = plan.to_frame()
    assert set(f["status"]) <= {"routed", "dropped"}
    assert len(f) == plan.schedule["visits"].sum()
    out = plan.to_excel(tmp_path / "plan.xlsx")
    sheets = pd.read_excel(out, sheet_name=None)
    assert list(sheets) == ["summary", "days", "schedule", "routes", "dropped"]
    assert plan.route("W1-Mon")["stop"].tolist() == list(
        range(len(plan.route("W1-Mon")))
    )
    with pytest.raises(KeyError, match="no day 'W9-Mon'"):
        plan.route("W9-Mon")
    assert plan.provenance["seed"] == 0


def test_deterministic_with_seed() -> None:
    study = make_study(24)
    a = plan_calls(study, "current", "R01", **KW)
    b = plan_calls(study, "current", "R01", **KW)
    pd.testing.assert_frame_equal(a.routes, b.routes)
    assert a.summary() == b.summary()


def test_overfull_days_report_dropped_visits() -> None:
    """24 weekly 2-hour visits: 4.8 visits a day cannot fit in 8 working hours."""
    from terrakit.exceptions import TerrakitWarning

    study = make_study(24, calls=(48.0,), call_minutes=120.0, spread_deg=0.1)
    with pytest.warns(TerrakitWarning, match="territory overloaded"):
        p = plan_calls(study, "current", "R01", weeks=1, time_limit=30, seed=0)
    assert len(p.dropped) >= 4
    assert p.dropped["reason"].str.startswith("day overfull").all()
    assert p.n_visits + len(p.dropped) == 24
    assert "dropped (" in p.summary()


def test_unreachable_account_dropped_with_reason() -> None:
    """An account 900 km away (in a unit of its own, far north of the rep's
    other units) cannot be served in a day from home."""
    import geopandas as gpd
    from shapely.geometry import box

    from terrakit.data.alignment import Alignment

    study = make_study(6)
    units = pd.concat(
        [
            study.units,
            gpd.GeoDataFrame(
                {"name": ["north"]},
                geometry=[box(-85.0, 41.5, -84.0, 42.5)],
                index=pd.Index(["u9"], name="unit_id"),
                crs=study.units.crs,
            ),
        ]
    )
    acc = study.accounts
    acc.loc["A000", ["lon", "lat"]] = (-84.4, 42.0)
    acc.loc["A000", "unit_id"] = "u9"
    current = Alignment.from_mapping({u: "R01" for u in units.index}, name="current")
    far = study.replace(units=units, accounts=acc, alignments={"current": current})
    p = plan_calls(far, "current", "R01", weeks=1, time_limit=10)
    why = p.dropped.loc[p.dropped["account_id"] == "A000", "reason"]
    assert len(why) and why.str.startswith("cannot be reached").all()


@pytest.mark.parametrize("backend", ["ortools"])
def test_other_backend_and_matrix(backend: str) -> None:
    """OR-Tools backend with a user-given minutes matrix (home first)."""
    study = make_study(8)
    n = 9
    m = np.full((n, n), 20.0)
    np.fill_diagonal(m, 0.0)
    p = plan_calls(
        study, "current", "R01", weeks=1, travel=m, backend=backend, time_limit=10
    )
    legs = p.routes.loc[p.routes["stop"] > 0, "drive_min"]
    assert set(np.round(legs, 6)) <= {0.0, 20.0}
    assert p.provenance["method"] == "routing/ortools"


def test_plan_all_travel_hours() -> None:
    study = make_study(12)
    plans = plan_all(study, "current", progress=False, weeks=1, time_limit=10)
    th = plans.travel_hours()
    assert list(th.index) == ["R01"]
    assert th.iloc[0] == pytest.approx(plans.plans["R01"].drive_hours * 48)
    assert "Call plans: 1 territories" in plans.summary()
    # any other period used to return the cycle's hours labelled as asked
    with pytest.raises(SpecificationError, match=r"per must be 'year' or 'cycle'"):
        plans.travel_hours(per="month")


def _first_and_last(plan: CallPlan) -> tuple[pd.Series, pd.Series]:
    """Working day (from cycle 0's first day) of each account's first and last
    routed visit in ``plan``'s cycle."""
    v = _visits(plan)
    n_days = len(plan.days)
    day = v["day"].map({d: k for k, d in enumerate(plan.days)})
    day = day + plan.provenance["config"]["cycle"] * n_days
    g = day.groupby(v["account_id"].to_numpy())
    return g.min(), g.max()


def test_previous_cycle_keeps_visits_apart_across_the_boundary() -> None:
    """Accounts every 6, 4 and 2 weeks over two 4-week cycles: planned with
    the cycle before, an account's first visit of cycle 1 lies at least half
    its interval (15, 10 and 5 working days) after its last visit of cycle 0;
    planned on its own, cycle 1 puts some of them closer (the defect)."""
    study = make_study(30, calls=(8.0, 12.0, 24.0), spread_deg=0.2)
    kw: dict[str, Any] = {"weeks": 4, "time_limit": 10, "seed": 0}
    p0 = plan_calls(study, "current", "R01", cycle=0, **kw)
    p1 = plan_calls(study, "current", "R01", cycle=1, previous=p0, **kw)
    alone = plan_calls(study, "current", "R01", cycle=1, **kw)
    need = np.ceil(0.5 * 5 * 48 / study.accounts["calls_per_year"])
    _, last0 = _first_and_last(p0)
    pd.testing.assert_series_equal(
        p0.schedule["last_visit"].dropna(), last0.astype(float), check_names=False
    )

    def gaps(p: CallPlan) -> pd.Series:
        first1, _ = _first_and_last(p)
        both = first1.index.intersection(last0.index)
        return (first1[both] - last0[both]) / need[both]

    assert len(gaps(p1)) >= 10
    assert (gaps(p1) >= 1).all(), gaps(p1)[gaps(p1) < 1]
    assert (gaps(alone) < 1).any()  # without previous the boundary is ignored
    # the last visit so far carries over the cycles without a visit
    _, last1 = _first_and_last(p1)
    lv = p1.schedule["last_visit"]
    assert (lv[last1.index] == last1).all()
    rest = lv.index.difference(last1.index)
    pd.testing.assert_series_equal(lv[rest], p0.schedule["last_visit"][rest])
    # and plan_all hands each territory its own plan of the cycle before
    all0 = plan_all(study, "current", progress=False, cycle=0, **kw)
    all1 = plan_all(study, "current", progress=False, cycle=1, previous=all0, **kw)
    pd.testing.assert_frame_equal(all1.plans["R01"].routes, p1.routes)
    with pytest.raises(SpecificationError, match="plan of the cycle before"):
        plan_calls(study, "current", "R01", cycle=2, previous=p0, **kw)
    with pytest.raises(SpecificationError, match=r"weeks 4 \(needs 2\)"):
        plan_calls(study, "current", "R01", weeks=2, cycle=1, previous=p0)
    with pytest.raises(SpecificationError, match="TerritoryPlans"):
        plan_all(study, "current", progress=False, cycle=1, previous=p0)


def test_specification_errors() -> None:
    study = make_study(4)
    with pytest.raises(SpecificationError, match="weekday names"):
        plan_calls(study, "current", "R01", days=("Monday",))
    with pytest.raises(SpecificationError, match="lunch"):
        plan_calls(study, "current", "R01", lunch=(7, 8))
    with pytest.raises(KeyError, match="no territory 'T9'"):
        plan_calls(study, "current", "T9")
    with pytest.raises(SpecificationError, match="time_limit must be a positive"):
        plan_calls(study, "current", "R01", time_limit=0)
    with pytest.raises(SpecificationError, match="seed must be a non-negative int"):
        plan_calls(study, "current", "R01", seed="x")
    with pytest.raises(SpecificationError, match=r"tolerance must be in \[0, 1\)"):
        plan_calls(study, "current", "R01", tolerance=-1)


def test_plot_routes(plan: CallPlan) -> None:
    from terrakit.plot.routes import routes

    study = make_study(24, windows=True)
    ax = routes(plan, study, day="W1-Tue")
    assert ax.get_title().startswith("R01: W1-Tue")
    ax2 = routes(plan)
    assert "all days" in ax2.get_title()
    with pytest.raises(KeyError, match="no day"):
        routes(plan, day="W7-Sun")


def test_overloaded_territory_warns_with_numbers() -> None:
    """24 weekly 2-hour visits in one 5-day week: 48 h of calls, 40 h available."""
    from terrakit.exceptions import TerrakitWarning

    study = make_study(24, calls=(48.0,), call_minutes=120.0, spread_deg=0.1)
    with pytest.warns(TerrakitWarning, match=r"need 48 h of calls") as rec:
        p = plan_calls(study, "current", "R01", weeks=1, time_limit=10, seed=0)
    assert "5 days × 8 h = 40 h are available" in str(rec[0].message)
    assert p.workload["overloaded"]
    assert p.workload["service_hours"] == pytest.approx(48.0)
    assert p.workload["available_hours"] == pytest.approx(40.0)
    assert "OVERLOADED" in p.summary()
    assert p.dropped["reason"].str.contains("territory overloaded").all()


def test_feasible_territory_not_overloaded(plan: CallPlan) -> None:
    assert not plan.workload["overloaded"]
    assert plan.workload["needed_hours"] < plan.workload["available_hours"]
    assert len(plan.dropped) == 0


def test_plan_all_one_warning_for_overloaded_territories() -> None:
    from terrakit.exceptions import TerrakitWarning

    study = make_study(24, calls=(48.0,), call_minutes=120.0, spread_deg=0.1)
    with pytest.warns(
        TerrakitWarning, match=r"1 of 1 territories are overloaded: R01"
    ) as rec:
        plans = plan_all(study, "current", progress=False, weeks=1, time_limit=5)
    assert len(rec) == 1
    df = plans.to_frame()
    assert df.loc["R01", "overloaded"]
    assert df.loc["R01", "available_hours"] == pytest.approx(40.0)
    assert "overloaded (visits need more hours" in plans.summary()


# -- bad input: clear errors before any solving -------------------------------------
@pytest.fixture
def no_solving(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the day router is reached."""
    from terrakit.routing import plan as pl

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("solving started before the input was checked")

    monkeypatch.setattr(pl, "solve_routing", boom)
    monkeypatch.setattr(pl, "_solve_day", boom)


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"weeks": 2.5}, r"weeks must be a whole number of weeks >= 1 .*got 2\.5"),
        ({"weeks": "2"}, r"weeks must be a whole number of weeks >= 1 .*got '2'"),
        ({"weeks_per_year": 0}, r"weeks_per_year must be a positive number .*got 0"),
        ({"weeks_per_year": np.nan}, r"weeks_per_year must be a positive .*got nan"),
        ({"cycle": -1}, r"cycle must be a whole number >= 0 .*got -1"),
        ({"days": ("Mon", "Mon")}, r"days names \['Mon'\] more than once"),
        ({"days": "Mon"}, r"sequence of weekday names .*got the text 'Mon'"),
        ({"backend": "gurobi"}, r"unknown routing backend 'gurobi'"),
        ({"travel": "osrm"}, r"travel of type str is not understood"),
        (
            {"lunch": None, "lunch_minutes": 30},
            r"lunch_minutes=30 is given but lunch=None \(no lunch break\); fix: "
            r"give the window",
        ),
    ],
)
def test_bad_settings_are_refused(
    kw: dict[str, object], msg: str, no_solving: None
) -> None:
    """weeks_per_year=0 used to hang (infinite visits per cycle); a float or
    text ``weeks`` and a text ``travel`` gave raw TypeError/AttributeError."""
    study = make_study(6)
    with pytest.raises(SpecificationError, match=msg):
        plan_calls(study, "current", "R01", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("col", ["calls_per_year", "call_minutes"])
def test_missing_call_data_is_named(col: str, no_solving: None) -> None:
    """NaN calls or minutes used to become 0 silently (a visit of 0 minutes)."""
    from terrakit.exceptions import DataValidationError

    study = make_study(6)
    acc = study.accounts
    acc.loc[["A001", "A003"], col] = np.nan
    bad = study.replace(accounts=acc)
    before = bad.accounts
    with pytest.raises(
        DataValidationError,
        match=rf"accounts\.{col}: 2 values are missing \(NaN\) "
        r"\(rows: 'A001', 'A003'\)\. Fix: fill the missing values",
    ):
        plan_calls(bad, "current", "R01")
    pd.testing.assert_frame_equal(bad.accounts, before)


@pytest.mark.parametrize(
    ("start", "end", "msg"),
    [
        (
            16.0,
            10.0,
            r"accounts\.tw_start/tw_end: 2 time windows open after they "
            r"close \(e\.g\. 16:00-10:00\) \(rows: 'A000', 'A003'\)\. Fix: swap",
        ),
        (
            930.0,
            1100.0,
            r"accounts\.tw_start: 2 values are not hours of the day "
            r"0\.\.24 \(e\.g\. 930\) .*e\.g\. 9\.5 for 9:30",
        ),
        (
            "9am",
            "5pm",
            r"accounts\.tw_start: 2 time-window values are not numbers "
            r"\(e\.g\. '9am'\)",
        ),
        (
            18.0,
            20.0,
            r"accounts\.tw_start/tw_end: 2 accounts can only be visited "
            r"outside the working day 08:00-17:00 \(e\.g\. window 18:00-20:00\) "
            r"\(rows: 'A000', 'A003'\)\. Fix: .*widen day_hours",
        ),
    ],
)
def test_bad_time_windows_are_named(
    start: object, end: object, msg: str, no_solving: None
) -> None:
    """Reversed, out-of-day, HHMM and text windows used to be silently
    ignored (text) or turned into dropped visits with a misleading reason."""
    from terrakit.exceptions import DataValidationError

    study = make_study(6)
    acc = study.accounts.astype({"call_minutes": float})
    acc["tw_start"] = pd.Series(np.nan, index=acc.index, dtype=object)
    acc["tw_end"] = pd.Series(np.nan, index=acc.index, dtype=object)
    acc.loc[["A000", "A003"], "tw_start"] = start
    acc.loc[["A000", "A003"], "tw_end"] = end
    bad = study.replace(accounts=acc)
    before = bad.accounts
    with pytest.raises(DataValidationError, match=msg):
        plan_calls(bad, "current", "R01", weeks=1)
    pd.testing.assert_frame_equal(bad.accounts, before)


def _with_window(
    study: Study, accounts: list[str], window: tuple[float, float]
) -> Study:
    """``study`` with ``accounts`` open only ``window`` (hours), the rest any time."""
    acc = study.accounts
    assert acc is not None
    acc["tw_start"] = np.nan
    acc["tw_end"] = np.nan
    acc.loc[accounts, ["tw_start", "tw_end"]] = window
    return study.replace(accounts=acc)


@pytest.mark.parametrize(
    ("window", "lunch", "msg"),
    [
        (
            (12.0, 12.5),
            {},
            r"accounts\.tw_start/tw_end: 2 accounts' calls cannot be held outside "
            r"the fixed lunch break 12:00-13:00 \(e\.g\. window 12:00-12:30: a "
            r"30-min call starting then always overlaps the break\) \(rows: "
            r"'A000', 'A003'\)\. Fix: widen their tw_start/tw_end beyond the "
            r"break, or move the break \(lunch=\)",
        ),
        (
            (11.75, 12.5),  # 11:45 + 30 min already runs into the break
            {},
            r"cannot be held outside the fixed lunch break 12:00-13:00 "
            r"\(e\.g\. window 11:45-12:30",
        ),
        (
            (12.0, 12.5),  # the 90-min break starts 11:30-12:00
            {"lunch": (11.5, 13.5), "lunch_minutes": 90},
            r"cannot be held outside the 90-min lunch break taken within "
            r"11:30-13:30",
        ),
        (
            (16.75, 17.0),
            {},
            r"accounts\.tw_start/tw_end: 2 accounts' calls cannot end by 17:00, "
            r"the end of the working day \(e\.g\. window 16:45-17:00: a 30-min "
            r"call starting then ends after 17:00\) \(rows: 'A000', 'A003'\)",
        ),
        (
            (10.0, 10.25),  # tw_end is the closing time: 10:00 + 30 min > 10:15
            {},
            r"accounts\.tw_start/tw_end: 2 accounts' calls cannot be held within "
            r"their window: the call must end by tw_end, the closing time \(e\.g\. "
            r"window 10:00-10:15: a 30-min call starting then ends after the "
            r"window closes\) \(rows: 'A000', 'A003'\)\. Fix: close their windows "
            r"later \(tw_end\)",
        ),
    ],
    ids=[
        "inside-fixed-lunch",
        "runs-into-lunch",
        "inside-movable-lunch",
        "day-end",
        "closes-before-call-ends",
    ],
)
def test_window_with_no_room_for_the_call_is_refused(
    window: tuple[float, float],
    lunch: dict[str, Any],
    msg: str,
    no_solving: None,
) -> None:
    """A window inside the lunch break used to drop its visits as "day
    overfull" (the route solver could not place them, rebalancing neither),
    with nothing pointing at the break."""
    from terrakit.exceptions import DataValidationError

    bad = _with_window(make_study(6), ["A000", "A003"], window)
    with pytest.raises(DataValidationError, match=msg):
        plan_calls(bad, "current", "R01", weeks=1, **lunch)


def test_window_inside_a_movable_lunch_is_planned() -> None:
    """A 60-min break to be taken within 11:00-14:00 moves away from a
    12:00-12:30 window: nothing is refused or dropped."""
    study = _with_window(make_study(6, calls=(48.0,)), ["A000"], (12.0, 12.5))
    p = plan_calls(
        study,
        "current",
        "R01",
        weeks=1,
        lunch=(11, 14),
        lunch_minutes=60,
        time_limit=5,
    )
    assert len(p.dropped) == 0
    v = _visits(p).set_index("day")
    r = p.routes
    for day, row in v[v["account_id"] == "A000"].iterrows():
        assert 12 * 60 - 1e-6 <= row["start"] <= 12.5 * 60 + 1e-6
        brk = r[(r["day"] == day) & (r["kind"] == "lunch")].iloc[0]
        assert row["depart"] <= brk["start"] + 1e-6 or row["start"] >= brk["depart"]


@pytest.mark.parametrize("backend", ["pyvrp", "ortools"])
def test_window_partly_over_lunch_is_planned(backend: Backend) -> None:
    """Windows 11:30-13:30 for 30-min calls overlap the 12:00-13:00 break but
    leave 11:30 and 13:00-13:30: the weekly visits are all routed, none
    during the break."""
    study = _with_window(make_study(6, calls=(48.0,)), ["A000", "A003"], (11.5, 13.5))
    p = plan_calls(
        study,
        "current",
        "R01",
        weeks=1,
        backend=backend,
        time_limit=5,
    )
    assert len(p.dropped) == 0
    v = _visits(p)
    win = v[v["account_id"].isin(["A000", "A003"])]
    assert len(win) == 2
    assert (win["start"] >= 11.5 * 60 - 1e-6).all()
    assert (win["start"] <= 13.5 * 60 + 1e-6).all()
    overlap = (v["start"] < 13 * 60 - 1e-6) & (v["depart"] > 12 * 60 + 1e-6)
    assert not overlap.any()


def test_day_too_short_is_explained_before_solving(no_solving: None) -> None:
    """A one-hour day cannot hold a 30-minute call 18 minutes from home each
    way: the numbers come before solving (it used to drop every visit)."""
    study = make_study(12)
    with pytest.raises(
        SpecificationError,
        match=r"no visit of territory 'R01' fits in a working day: the day "
        r"08:00-09:00 lasts 60 min, but the quickest of its 12 accounts due this "
        r"cycle \('A007'\) needs 66 min \(18 min driving there, a 30-min call, "
        r"18 min back\); fix: widen day_hours",
    ):
        plan_calls(study, "current", "R01", day_hours=(8, 9), lunch=None)


def test_bad_travel_matrix_is_named(no_solving: None) -> None:
    """A NaN matrix used to drop every visit silently; a wrong shape printed
    ``{m.shape}`` literally."""
    from terrakit.exceptions import DataValidationError

    study = make_study(4)
    m = np.full((5, 5), 10.0)
    np.fill_diagonal(m, 0.0)
    m[2, 3] = np.nan
    with pytest.raises(
        DataValidationError,
        match=r"travel_matrix: 1 travel times are missing \(NaN\) or negative "
        r"\(rows: 'A001', 'A002'\)",
    ):
        plan_calls(study, "current", "R01", travel=m)
    with pytest.raises(DataValidationError, match=r"must be 5×5 .*got shape \(3, 3\)"):
        plan_calls(study, "current", "R01", travel=np.zeros((3, 3)))


def test_unreachable_pairs_in_matrix_are_planned_around() -> None:
    """``numpy.inf`` marks a pair without a direct road (TravelTimeModel.
    from_matrix allows it); between two accounts of one day it used to stop
    planning with 'duration must be finite and non-negative'.  Such a pair is
    driven through another place (10 + 10 min), never in 0 or 1e6 min."""
    study = make_study(4, calls=(48.0,))
    m = np.full((5, 5), 10.0)
    np.fill_diagonal(m, 0.0)
    m[1, 2] = m[2, 1] = np.inf  # no road between A000 and A001
    p = plan_calls(
        study, "current", "R01", weeks=1, days=("Mon",), travel=m, time_limit=5
    )
    assert p.n_visits == 4 and len(p.dropped) == 0
    legs = p.routes.loc[p.routes["stop"] > 0, "drive_min"]
    assert set(np.round(legs, 6)) <= {0.0, 10.0, 20.0}


def test_account_without_home_road_is_reached_via_others() -> None:
    """Only home <-> A004 is infinite: the rep drives to A004 through another
    account's place, so A004 is planned (it used to be dropped before solving
    as "needs 2000090 min from home and back").  An account with no finite
    leg at all is dropped with the true reason and no placeholder number."""
    study = make_study(6, calls=(48.0,))
    n = 7
    rng = np.random.default_rng(0)
    m = rng.uniform(10.0, 30.0, (n, n))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 0.0)
    m[0, 5] = m[5, 0] = np.inf  # home <-> A004
    via = min(m[0, k] + m[k, 5] for k in range(1, n) if k != 5)
    p = plan_calls(
        study, "current", "R01", weeks=1, days=("Mon",), travel=m, time_limit=5
    )
    assert len(p.dropped) == 0 and p.n_visits == 6
    route = p.route("W1-Mon")
    first = route.iloc[1]
    if first["account_id"] == "A004":  # driven straight from home: the chain
        assert first["drive_min"] == pytest.approx(via)
    assert (route["drive_min"] < 100).all()
    m[5, :] = m[:, 5] = np.inf  # A004 cut off from every place
    m[5, 5] = 0.0
    p = plan_calls(
        study, "current", "R01", weeks=1, days=("Mon",), travel=m, time_limit=5
    )
    assert p.dropped["account_id"].tolist() == ["A004"]
    why = p.dropped["reason"].iloc[0]
    assert why.startswith("cannot be reached from home: no route from/to home in ")
    assert "travel matrix" in why and "2000" not in why
    assert p.n_visits == 5
    assert p.workload["drive_hours_estimate"] < 20  # no 1e6 placeholder in it


def test_accounts_at_home_are_all_routed_and_overflow_is_true() -> None:
    """Accounts at the rep's home (travel 0) used to be dropped from empty
    days as "day overfull": the drop penalty was capped by the (zero) travel
    costs, below what a visit's service adds to the day.  Six weekly
    120-min calls on one day: 08:00-17:00 less the lunch hour holds 4, so
    exactly 4 are routed and 2 dropped as day overfull, on both backends;
    60-min calls over two days all fit."""
    base = make_study(6, calls=(48.0,), call_minutes=120.0)
    acc = base.accounts
    acc["lon"], acc["lat"] = -84.4, 33.75  # the rep's home
    study = base.replace(accounts=acc)
    for backend in ("pyvrp", "ortools"):
        with pytest.warns(Warning):  # overloaded: 12 h of calls in 8 h
            p = plan_calls(
                study,
                "current",
                "R01",
                weeks=1,
                days=("Mon",),
                backend=backend,  # type: ignore[arg-type]
                time_limit=5,
            )
        assert p.n_visits == 4, backend
        assert len(p.dropped) == 2
        assert p.dropped["reason"].str.startswith("day overfull").all()
        assert len(p.route("W1-Mon").query("kind == 'lunch'")) == 1
        small = plan_calls(
            base.replace(accounts=acc.assign(call_minutes=60.0)),
            "current",
            "R01",
            weeks=1,
            days=("Mon", "Tue"),
            backend=backend,  # type: ignore[arg-type]
            time_limit=5,
        )
        assert len(small.dropped) == 0 and small.n_visits == 6, backend


class _Clock:
    """``time`` for the plan module whose clock a fake search can advance."""

    def __init__(self) -> None:
        self.extra = 0.0

    def perf_counter(self) -> float:
        return time.perf_counter() + self.extra


def _searches_use_their_time(
    monkeypatch: pytest.MonkeyPatch, given: list[float]
) -> None:
    """Each day's search takes (on the simulated clock) all the time it gets."""
    from terrakit.routing import plan as pl

    clock = _Clock()
    real = pl.solve_routing

    def search(prob, **kw):  # type: ignore[no-untyped-def]
        given.append(kw["time_limit"])
        clock.extra += kw["time_limit"]
        return real(prob, **{**kw, "time_limit": 0.05})

    monkeypatch.setattr(pl, "time", clock)
    monkeypatch.setattr(pl, "solve_routing", search)


def test_time_limit_covers_the_whole_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """The days' searches share one deadline: their time limits add up to at
    most ``time_limit`` (they used to get at least 0.2 s each, 2 s for 10
    days of time_limit=1).  No timing: searches that use all their time are
    simulated on a fake clock."""
    given: list[float] = []
    _searches_use_their_time(monkeypatch, given)
    p = plan_calls(make_study(12), "current", "R01", weeks=2, time_limit=1.0)
    assert len(given) == (p.day_table["visits"] + p.day_table["dropped"] > 0).sum()
    assert len(given) >= 8
    assert sum(given) <= 1.0


def test_plan_longer_than_time_limit_warns_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the minimum a day's search needs exceeds the time left, the plan
    says by how much it overran and why (simulated clock: no timing)."""
    from terrakit.exceptions import TimeLimitWarning
    from terrakit.routing import plan as pl

    given: list[float] = []
    _searches_use_their_time(monkeypatch, given)
    monkeypatch.setattr(pl, "MIN_DAY_SECONDS", 0.5, raising=False)
    with pytest.warns(
        TimeLimitWarning,
        match=r"R01: .*the plan needed 1\.\d+ s more than time_limit=1 s: its 5 "
        r"days with visits need at least 0\.5 s each for their route search "
        r"\(2\.5 s in all\), more than time_limit=1 s left them \(fix: raise "
        r"time_limit\)",
    ):
        p = plan_calls(make_study(12), "current", "R01", weeks=1, time_limit=1)
    assert given == [0.5] * 5
    assert p.provenance["overrun_seconds"] >= 1.5 - 1e-6


def test_unknown_rep_lists_the_reps() -> None:
    study = make_study(4)
    with pytest.raises(
        KeyError,
        match=r"rep 'R99' is not in the reps table "
        r"\(reps: R01\); pass rep= one of them",
    ):
        plan_calls(study, "current", "R01", rep="R99")


def test_plan_all_checks_every_territory_before_solving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bad window in the second territory is reported before the first
    territory is solved (it used to surface only after solving the others)."""
    from terrakit.data import Alignment
    from terrakit.exceptions import DataValidationError
    from terrakit.routing import plan as pl

    study = make_study(12)
    al = Alignment.from_mapping(
        {"u0": "R01", "u1": "R01", "u2": "T2", "u3": "T2"}, name="two"
    )
    acc = study.accounts
    last = acc.index[acc["unit_id"] == "u3"][0]
    acc["tw_start"] = np.nan
    acc["tw_end"] = np.nan
    acc.loc[last, ["tw_start", "tw_end"]] = (15.0, 9.0)
    bad = study.replace(accounts=acc, alignments={"two": al})
    solved: list[object] = []
    monkeypatch.setattr(pl, "_solve", lambda prep: solved.append(prep))
    with pytest.raises(DataValidationError, match=rf"open after they close .*'{last}'"):
        plan_all(bad, "two", progress=False, weeks=1)
    assert solved == []
    with pytest.raises(TypeError, match=r"unknown keyword arguments \['wekes'\]"):
        plan_all(study, "current", progress=False, wekes=2)


def test_route_search_at_time_limit_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A day whose search ran out of time (rather than reaching its iteration
    cap) used to pass silently; the plan still holds every visit."""
    import dataclasses

    from terrakit.exceptions import TimeLimitWarning
    from terrakit.routing import plan as pl

    real = pl.solve_routing

    def out_of_time(prob, **kw):  # type: ignore[no-untyped-def]
        return dataclasses.replace(real(prob, **kw), time_limit_reached=True)

    monkeypatch.setattr(pl, "solve_routing", out_of_time)
    study = make_study(12)
    with pytest.warns(
        TimeLimitWarning,
        match=r"R01: the routes of \d+ of 5 days stopped at their time limit "
        r".*\(fix: raise time_limit\)",
    ):
        p = plan_calls(study, "current", "R01", weeks=1, time_limit=5)
    assert p.provenance["days_at_time_limit"] == (p.day_table["visits"] > 0).sum()
    assert p.n_visits + len(p.dropped) == p.schedule["visits"].sum()
    with pytest.warns(TimeLimitWarning, match=r"1 of 1 territories stopped"):
        plan_all(study, "current", progress=False, weeks=1, time_limit=5)


def _two_clusters_matrix() -> np.ndarray:
    """Home + 6 accounts: two triangles of accounts 5 min apart, 200 min from
    each other, each account 100 min from home."""
    m = np.full((7, 7), 200.0)
    m[0, :] = m[:, 0] = 100.0
    for grp in ([1, 2, 3], [4, 5, 6]):
        m[np.ix_(grp, grp)] = 5.0
    np.fill_diagonal(m, 0.0)
    return m


def test_drops_the_workload_check_missed_warn_with_the_driving() -> None:
    """The check estimates 6.8 h of calls and driving (nearest neighbours 5 min
    apart, one 200-min home round trip) in an 8-h day: not overloaded; but
    the two clusters are 200 min apart, so 3 visits are dropped.  That used
    to pass without a warning, and the reason quoted only the call minutes."""
    from terrakit.exceptions import TerrakitWarning

    study = make_study(6, calls=(48.0,))
    kw: dict[str, Any] = {
        "weeks": 1,
        "days": ("Mon",),
        "travel": _two_clusters_matrix(),
        "time_limit": 5,
        "seed": 0,
    }
    with pytest.warns(
        TerrakitWarning,
        match=r"R01: 3 of 6 visits were dropped from overfull days although the "
        r"workload check before solving found the territory not overloaded "
        r"\(6\.8 h needed: 3\.0 h of calls \+ about 3\.8 h of driving "
        r"estimated, 8\.0 h available\); the routes drive 3\.5 h for the 3 "
        r"visits routed; see plan\.dropped",
    ):
        p = plan_calls(study, "current", "R01", **kw)
    assert not p.workload["overloaded"] and len(p.dropped) == 3
    why = p.dropped["reason"].iloc[0]
    assert why.startswith("day overfull")
    assert (
        "the route of the 3 visits kept takes 90 min of calls + 210 min of "
        "driving = 300 min" in why
    )
    with pytest.warns(
        TerrakitWarning,
        match=r"1 of 1 territories dropped visits that the workload check did not "
        r"foresee: R01: 3 of 6 visits were dropped",
    ):
        plan_all(study, "current", progress=False, **kw)


def test_alone_reason_gives_the_times() -> None:
    """The reason used to quote the round trip with the lunch break ("needs
    169 min from home and back") and the window clipped to the day; it now
    gives the earliest start, the call's end, the return and what they pass."""
    study = make_study(6, calls=(48.0,), call_minutes=40.0)
    acc = study.accounts
    acc["tw_start"] = [np.nan] * 4 + [8.0, 15.0]
    acc["tw_end"] = [np.nan] * 4 + [9.0, 17.0]
    m = np.full((7, 7), 20.0)
    np.fill_diagonal(m, 0.0)
    m[0, 5] = m[5, 0] = 50.0  # A004: arrives 08:50, call to 09:30
    m[0, 6] = m[6, 0] = 35.0  # A005: 15:00 + 40 min, home at 16:15
    p = plan_calls(
        study.replace(accounts=acc),
        "current",
        "R01",
        weeks=1,
        days=("Mon",),
        day_hours=(8, 16),
        travel=m,
        time_limit=5,
    )
    why = p.dropped.set_index("account_id")["reason"]
    assert why["A004"] == (
        "cannot be reached and served within working hours: the earliest start "
        "is 08:50 (leaving home at 08:00, 50 min drive; window 08:00-09:00); the "
        "40-min call ends at 09:30, after it closes at 09:00"
    )
    assert why["A005"] == (
        "cannot be reached and served within working hours: the earliest start "
        "is 15:00, when it opens (window 15:00-17:00); the 40-min call ends at "
        "15:40 and the 35-min drive home returns at 16:15, after the day ends "
        "at 16:00"
    )


@pytest.mark.parametrize(
    ("home", "match"),
    [
        (
            (33.75, -84.4),  # Atlanta typed lat, lon
            r"reps\.home_lon/home_lat: the home of rep 'R01' \(33\.75, -84\.4\) "
            r"lies 1\d,\d{3} km from the nearest of the 6 accounts of territory "
            r"'R01' \(1\d,\d{3} km from their centroid .*\), more than a day's "
            r"drive: the nearest is \d+ min away, the working day 08:00-17:00 "
            r"lasts 540 min; swapping home_lon and home_lat puts the home \d+ km "
            r"from the nearest",
        ),
        (
            (2.35, 48.85),  # Paris
            r"the home of rep 'R01' \(2\.35, 48\.85\) lies 7,\d{3} km .*lasts 540 "
            r"min \(rows: 'R01'\)\. Fix: correct home_lon/home_lat",
        ),
    ],
)
def test_home_far_from_every_account_is_named(
    home: tuple[float, float], match: str, no_solving: None
) -> None:
    """It used to be blamed on the working day, lunch or call length."""
    from terrakit.exceptions import DataValidationError

    study = make_study(6)
    reps = study.reps
    reps.loc["R01", ["home_lon", "home_lat"]] = home
    with pytest.raises(DataValidationError, match=match):
        plan_calls(study.replace(reps=reps), "current", "R01", weeks=1)


def _split_study() -> Study:
    """R01's units split into territories T1 and T2 (ids that are not reps)."""
    from terrakit.data import Alignment

    study = make_study(12)
    al = Alignment.from_mapping(
        {"u0": "T1", "u1": "T1", "u2": "T2", "u3": "T2"}, name="split"
    )
    return study.replace(alignments={"split": al})


def test_plan_all_refuses_one_inferred_rep_for_several_territories(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both territories were routed from R01's home without a word, and
    travel_hours() listed R01 twice."""
    from terrakit.routing import plan as pl

    study = _split_study()
    solved: list[object] = []
    monkeypatch.setattr(pl, "_solve", lambda prep: solved.append(prep))
    with pytest.raises(
        SpecificationError,
        match=r"one rep is inferred for several territories \(rep 'R01' for 'T1', "
        r"'T2'\).*fix: pass rep= a mapping naming each territory's rep, e\.g\. "
        r"rep=\{'T1': \.\.\., 'T2': \.\.\.\}",
    ):
        plan_all(study, "split", progress=False, weeks=1)
    with pytest.raises(SpecificationError, match=r"rep 'R01' for 'T1' \(given\), 'T2'"):
        plan_all(study, "split", progress=False, weeks=1, rep={"T1": "R01"})
    assert solved == []


@pytest.mark.parametrize(
    ("rep", "err", "match"),
    [
        (
            {"T9": "R01"},
            SpecificationError,
            r"rep= names territories that are not planned: \['T9'\]; its keys "
            r"must be territory ids",
        ),
        (
            {"T1": "R99"},
            KeyError,
            r"rep= maps 1 territory to reps that are not in the reps table "
            r"\('T1': 'R99'\); reps: R01",
        ),
        ({"T1": ["R01"]}, KeyError, r"\('T1': \['R01'\]\)"),
    ],
)
def test_plan_all_rep_mapping_is_checked(
    rep: dict[str, object], err: type[Exception], match: str, no_solving: None
) -> None:
    """A mapping used to raise a bare TypeError (unhashable type: 'dict')."""
    with pytest.raises(err, match=match):
        plan_all(_split_study(), "split", progress=False, weeks=1, rep=rep)


def test_plan_all_takes_a_rep_per_territory() -> None:
    study = _split_study()
    plans = plan_all(
        study,
        "split",
        progress=False,
        weeks=1,
        time_limit=2,
        rep={"T1": "R01", "T2": "R01"},
    )
    assert plans.to_frame()["rep_id"].tolist() == ["R01", "R01"]
    with pytest.raises(SpecificationError, match=r"a territory → rep mapping is "):
        plan_calls(study, "split", "T1", rep={"T1": "R01"})  # type: ignore[arg-type]


def test_plan_all_refuses_no_territories() -> None:
    """territories=[] returned plans whose to_frame/summary/travel_hours raised
    a bare KeyError."""
    from terrakit.routing import TerritoryPlans

    with pytest.raises(
        SpecificationError,
        match=r"territories is empty: there is nothing to plan; give territory "
        r"ids of alignment 'current', or territories=None",
    ):
        plan_all(make_study(5), "current", territories=[], progress=False)
    empty = TerritoryPlans(plans={}, weeks=1, weeks_per_year=48)
    frame = empty.to_frame()
    assert frame.empty and frame.index.name == "territory_id"
    assert {"rep_id", "drive_hours_year", "overloaded"} <= set(frame.columns)
    assert empty.travel_hours().empty
    assert empty.summary() == "Call plans: 0 territories, 1-week cycle"


def test_excel_keeps_text_that_looks_like_a_formula(
    plan: CallPlan, tmp_path: Path
) -> None:
    """A territory or account named like '=HYPERLINK(...)' was stored as a
    live formula (openpyxl's rule for strings starting with '=')."""
    import dataclasses

    import openpyxl

    evil = '=HYPERLINK("http://example.invalid","x")'
    routes = plan.routes.assign(account_id=evil)
    out = dataclasses.replace(plan, routes=routes).to_excel(tmp_path / "p.xlsx")
    ws = openpyxl.load_workbook(out)["routes"]
    col = [c.value for c in ws[1]].index("account_id") + 1
    cells = [ws.cell(r, col) for r in range(2, ws.max_row + 1)]
    assert cells and all(c.data_type == "s" and c.value == evil for c in cells)
    back = pd.read_excel(out, sheet_name="routes")
    assert (back["account_id"] == evil).all()


def test_window_clash_is_spread_and_named() -> None:
    """Accounts with one 14-16 window: no 'day overfull' on days with room, and
    no warning blaming driving; the reason names the clashing account."""
    import warnings

    st = make_study(45, calls=(48.0, 24.0, 12.0), call_minutes=50, seed=7, windows=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        p = plan_calls(st, "current", "R01", time_limit=12, seed=0, backend="ortools")
    texts = [str(x.message) for x in w]
    assert not any("driving" in t and "overfull" in t for t in texts)
    assert any("dropped by time-window conflicts" in t for t in texts)
    assert p.n_visits == 100
    assert p.dropped["reason"].str.startswith("time-window conflict").all()
    a024 = p.dropped[p.dropped.account_id == "A024"].reason.iloc[0]
    assert "as must A012 (50 min, window 14:00-16:00" in a024
    assert (
        "50 + 50 = 100 min of calls + at least 21 min of driving between them = "
        "121 min > the 120-min window" in a024
    )


def test_more_than_one_visit_a_day_warns_before_solving() -> None:
    st = make_study(10, seed=2)
    a = st.accounts.copy()
    a.loc["A000", "calls_per_year"] = 500.0
    st = Study(st.units, a, st.reps, alignments=st.alignments)
    with pytest.warns(UserWarning) as rec:
        plan_calls(st, "current", "R01", time_limit=3, backend="ortools")
    assert (
        "R01: 1 account is due more than once per working day: A000 (500 calls a "
        "year = 41.7 visits per 20-day cycle); at most one visit a day is planned, "
        "the other 22 visits of this cycle are dropped"
    ) in str(rec[0].message)


def test_year_shorter_than_a_cycle_or_not_whole_cycles() -> None:
    st = make_study(6, calls=(23.0,), seed=1)
    with pytest.raises(SpecificationError, match=r"weeks_per_year=3 is shorter"):
        plan_calls(st, "current", "R01", weeks=4, weeks_per_year=3, time_limit=2)
    with pytest.warns(UserWarning) as rec:
        plan_calls(st, "current", "R01", weeks_per_year=46, time_limit=2)
    assert str(rec[0].message) == (
        "weeks_per_year=46 is not a whole number of 4-week cycles (46 / 4 = 11.5 "
        "cycles a year): the visits of whole cycles cannot add up to the "
        "accounts' calls_per_year in a year; fix: a multiple of weeks, e.g. "
        "weeks_per_year=44 or 48"
    )


def test_territory_without_accounts_warns() -> None:
    st = make_study(10, seed=2)
    st0 = Study(st.units, st.accounts.iloc[:0], st.reps, alignments=st.alignments)
    with pytest.warns(UserWarning) as rec:
        p = plan_calls(st0, "current", "R01", time_limit=2, backend="ortools")
    assert p.n_visits == 0
    assert str(rec[0].message) == (
        "R01: the territory has no accounts: the plan is empty (check the "
        "alignment, or the accounts' unit_id)"
    )


def test_days_at_their_time_limit_warn_once_for_the_plan(monkeypatch) -> None:
    """solve_routing warns when its search stops at the time limit; a plan
    counts its days that did and warns once, not once more per day."""
    import time as _time
    import warnings

    from terrakit.exceptions import TimeLimitWarning
    from terrakit.routing import vrp

    real = vrp._solve_pyvrp

    def slow(p, time_limit, seed, max_iterations):  # type: ignore[no-untyped-def]
        out = real(p, time_limit, seed, max_iterations)
        _time.sleep(time_limit)  # the search ran to its limit
        return out

    monkeypatch.setattr(vrp, "_solve_pyvrp", slow)
    study = make_study(12)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        p = plan_calls(study, "current", "R01", weeks=1, time_limit=1, seed=0)
    texts = [str(w.message) for w in rec if w.category is TimeLimitWarning]
    busy = int((p.day_table["visits"] > 0).sum())
    assert p.provenance["days_at_time_limit"] == busy > 0
    assert len(texts) == 1
    assert texts[0].startswith(f"R01: the routes of {busy} of 5 days stopped")


def test_one_account_that_cannot_fit_is_named_in_the_singular(
    no_solving: None,
) -> None:
    """The count read "1 accounts' calls cannot end by 17:00"."""
    from terrakit.exceptions import DataValidationError

    bad = _with_window(make_study(6), ["A003"], (16.75, 17.0))
    with pytest.raises(DataValidationError) as err:
        plan_calls(bad, "current", "R01", weeks=1)
    assert str(err.value).startswith(
        "accounts.tw_start/tw_end: 1 account's calls cannot end by 17:00, the end "
        "of the working day (e.g. window 16:45-17:00: a 30-min call starting then "
        "ends after 17:00) (rows: 'A003')"
    )


def test_integer_account_ids_keep_their_values(tmp_path: Path) -> None:
    """Integer ids became floats in ``routes`` (ints beside the None of the
    home rows): 18-digit ids merged into one (1e+17), so ``last_visit`` was
    looked up by the wrong keys, and 103 read 103.0."""
    study = make_study(6, seed=1)
    acc = study.accounts.copy()
    ids = [10**17 + k for k in range(6)]
    acc.index = pd.Index(ids, name="account_id")
    st = Study(study.units, acc, study.reps, alignments=study.alignments)
    p = plan_calls(st, "current", "R01", weeks=2, time_limit=5, seed=0)
    r = p.routes
    assert r["account_id"].dtype == "Int64"
    assert r.loc[r["kind"] != "visit", "account_id"].isna().all()
    v = r[r["kind"] == "visit"]
    assert v["account_id"].value_counts().to_dict() == {
        a: n for a, n in p.schedule["visits"].items() if n
    }
    day_no = {d: k for k, d in enumerate(p.days)}
    last = v.groupby("account_id")["day"].agg(lambda d: max(map(day_no.get, d)))
    seen = p.schedule["last_visit"].dropna()
    assert seen.to_dict() == {a: float(d) for a, d in last.items()}
    assert p.schedule.index.tolist() == ids
    assert p.to_frame()["account_id"].tolist() == v["account_id"].tolist()
    # Excel holds 15 digits: longer ids are written as text, every digit kept
    out = p.to_excel(tmp_path / "plan.xlsx")
    sheet = pd.read_excel(out, sheet_name="routes", dtype={"account_id": str})
    shown = sheet.loc[sheet["kind"] == "visit", "account_id"]
    assert shown.tolist() == [str(a) for a in v["account_id"]]


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        (
            {"day_hours": ("8:00", "17:00")},
            r"day_hours must be \(start, end\) in hours, e\.g\. \(8, 17\); got "
            r"\('8:00', '17:00'\) \(fix: give hours as numbers, 8\.5 for 8:30\)",
        ),
        (
            {"day_hours": (8,)},
            r"day_hours must be \(start, end\) in hours, e\.g\. \(8, 17\); got \(8,\)",
        ),
        ({"day_hours": None}, r"day_hours must be \(start, end\) .*; got None"),
        (
            {"lunch": 12},
            r"lunch must be \(start, end\) in hours, e\.g\. \(12, 13\), or None "
            r"for no break; got 12",
        ),
        ({"lunch": (12,)}, r"lunch must be \(start, end\) .*; got \(12,\)"),
        ({"tolerance": None}, r"tolerance must be in \[0, 1\) .*got None"),
        ({"tolerance": "0.1"}, r"tolerance must be in \[0, 1\) .*got '0\.1'"),
    ],
)
def test_malformed_hours_and_tolerance_are_named(
    kw: dict[str, object], msg: str, no_solving: None
) -> None:
    """They raised bare ValueError ('could not convert string to float'),
    IndexError or TypeError, naming neither the setting nor its form."""
    with pytest.raises(SpecificationError, match=msg):
        plan_calls(make_study(6), "current", "R01", **kw)  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore:R01. territory overloaded")
def test_insertion_of_left_out_visits_stops_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On an overfull day every visit the search left out was tried again at
    every place of the route with no deadline (d2: 11 s at time_limit=3).
    Each insertion takes 1 s here (simulated clock): a day stops after its
    share, and the visits not tried are dropped saying so."""
    from terrakit.exceptions import TimeLimitWarning
    from terrakit.routing import plan as pl

    clock = _Clock()
    real = pl._try_insert
    tried: list[int] = []

    def slow_insert(tokens, k, ctx):  # type: ignore[no-untyped-def]
        tried.append(k)
        clock.extra += 1.0
        return real(tokens, k, ctx)

    monkeypatch.setattr(pl, "time", clock)
    monkeypatch.setattr(pl, "_try_insert", slow_insert)
    study = make_study(24, calls=(48.0,), call_minutes=120.0, spread_deg=0.1)
    with pytest.warns(
        TimeLimitWarning,
        match=r"on \d days the time ran out before \d+ visits that the route search "
        r"left out were tried again by insertion; they are dropped \('time limit "
        r"up' in plan\.dropped\)",
    ):
        p = plan_calls(
            study, "current", "R01", weeks=1, time_limit=3, rebalance=False, seed=0
        )
    busy = int((p.day_table["visits"] + p.day_table["dropped"] > 0).sum())
    assert len(tried) <= busy  # one insertion a day, then the deadline
    late = p.dropped[p.dropped["reason"].str.startswith("time limit up: ")]
    assert len(late) == p.provenance["repair_stopped"] > 0
    assert late["reason"].str.contains("fix: raise time_limit").all()
    assert p.n_visits + len(p.dropped) == p.schedule["visits"].sum()


def test_overrun_names_the_step_that_ran_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """Choosing the visit days took 5 s of a 2-s plan (simulated clock); the
    warning blamed the days' minimum search time (0.1 s in all) instead."""
    from terrakit.exceptions import TimeLimitWarning
    from terrakit.routing import plan as pl

    clock = _Clock()
    real = pl.assign_patterns

    def slow_patterns(*args, **kw):  # type: ignore[no-untyped-def]
        clock.extra += 5.0
        return real(*args, **kw)

    monkeypatch.setattr(pl, "time", clock)
    monkeypatch.setattr(pl, "assign_patterns", slow_patterns)
    with pytest.warns(TimeLimitWarning) as rec:
        p = plan_calls(make_study(12), "current", "R01", weeks=1, time_limit=2)
    text = str(rec[-1].message)
    assert re.search(
        r"the plan needed \d(\.\d)? s more than time_limit=2 s: choosing the visit "
        r"days took 5(\.\d)? s, 0\.4 s were set aside for it",
        text,
    ), text
    assert p.provenance["step_seconds"]["visit_days"] >= 5.0
    # the step's own account of what its clock cut is quoted
    import dataclasses

    said = "(time_limit=0.4 s: no time left for the MIP)"

    def cut_patterns(*args, **kw):  # type: ignore[no-untyped-def]
        clock.extra += 5.0
        return dataclasses.replace(real(*args, **kw), status=f"heuristic {said}")

    monkeypatch.setattr(pl, "assign_patterns", cut_patterns)
    with pytest.warns(TimeLimitWarning) as rec:
        plan_calls(make_study(12), "current", "R01", weeks=1, time_limit=2)
    assert f"0.4 s were set aside for it {said}" in str(rec[-1].message)


# -- QA round 18 ---------------------------------------------------------------------
def _with_windows(study: Study, start: float, end: float) -> Study:
    """``study`` with every account open only ``start``-``end`` (hours)."""
    acc = study.accounts.assign(tw_start=start, tw_end=end)
    return study.replace(accounts=acc)


@pytest.mark.parametrize(
    ("window", "before"), [((8.0, 10.0), True), ((15.0, 17.0), False)]
)
def test_no_waiting_for_the_lunch_break_counts_as_work(
    window: tuple[float, float], before: bool
) -> None:
    """Calls all before the lunch hour (08:00-10:00) or all after it
    (15:00-17:00): the route used to drive home and wait there for the break
    (or take it at home at 12:00 and then wait at the account), and the
    waiting counted as work: 13.0 work hours for 2.5 h of calls and 1.0 h of
    driving.  Now the break falls at home outside the working day."""
    study = _with_windows(make_study(5, calls=(48.0,), spread_deg=0.05), *window)
    p = plan_calls(study, "current", "R01", weeks=1, time_limit=2)
    dt = p.day_table[p.day_table["visits"] > 0]
    assert len(dt) >= 3
    assert np.allclose(dt["work_min"], dt["service_min"] + dt["drive_min"])
    assert p.work_hours == pytest.approx(p.service_hours + p.drive_hours)
    assert p.work_hours < 4.0
    assert not (p.routes["kind"] == "lunch").any()
    if before:  # back home before the break
        assert (dt["end"] <= 12 * 60 + 1e-6).all()
    else:  # leaving home after the break, just in time for the first call
        assert (dt["start"] >= 13 * 60 - 1e-6).all()
        first = p.routes[p.routes["stop"] == 1]
        assert np.allclose(first["arrive"], first["start"])


def test_territory_without_work_has_no_drive_share() -> None:
    """A territory whose unit has no accounts got drive_share 0.0, which halved
    the summary's mean driving share (34 % where the work done was 67 %)."""
    from terrakit.data import Alignment

    base = make_study(16)
    reps = pd.DataFrame(
        {"home_lon": [-84.4, -84.0], "home_lat": [33.75, 33.5]},
        index=pd.Index(["R01", "R02"], name="rep_id"),
    )
    al = Alignment.from_mapping(
        {"u0": "R01", "u1": "R01", "u2": "R01", "u3": "R02"}, name="current"
    )
    acc = base.accounts[base.accounts["unit_id"] != "u3"]
    study = Study(base.units, acc, reps, alignments={"current": al})
    with pytest.warns(Warning, match="R02: the territory has no accounts"):
        tp = plan_all(study, "current", weeks=2, time_limit=2, progress=False)
    f = tp.to_frame()
    assert f.loc["R02", "work_hours"] == 0 and np.isnan(f.loc["R02", "drive_share"])
    share = tp.plans["R01"].drive_hours / tp.plans["R01"].work_hours
    assert f.loc["R01", "drive_share"] == pytest.approx(share)
    assert tp.summary().splitlines()[3] == (
        f"  driving share of work time: mean {100 * share:.0f} % (of the 1 "
        "territory with work)"
    )


def test_travel_hours_sums_a_rep_with_several_territories() -> None:
    """plan_all(rep="R01") for two territories listed R01 twice in
    travel_hours() (a duplicate index: reindex on the reps table failed)."""
    tp = plan_all(
        _split_study(), "split", weeks=1, time_limit=1, progress=False, rep="R01"
    )
    th = tp.travel_hours()
    drive = tp.plans["T1"].drive_hours + tp.plans["T2"].drive_hours
    assert th.index.tolist() == ["R01"] and th.index.name == "rep_id"
    assert th["R01"] == pytest.approx(drive * 48)
    assert tp.travel_hours("cycle")["R01"] == pytest.approx(drive)
    assert tp.summary().splitlines()[2] == (
        f"  driving per rep and year: mean {drive * 48:.0f} h, range "
        f"{drive * 48:.0f}-{drive * 48:.0f} h"
    )


def test_weekdays_out_of_calendar_order_are_sorted() -> None:
    """Days given Fri..Mon were used in that order: the visit spacing counted
    list positions, so an account due every 7 working days got gaps of 3 and
    13.  They are taken in calendar order: the same plan as Mon..Fri."""
    study = make_study(8, calls=(36.0,), spread_deg=0.1)
    kw: dict[str, Any] = {"weeks": 4, "time_limit": 10, "seed": 0}
    a = plan_calls(study, "current", "R01", **kw)
    b = plan_calls(
        study, "current", "R01", days=("Fri", "Thu", "Wed", "Tue", "Mon"), **kw
    )
    assert b.days == a.days and b.days[:2] == ("W1-Mon", "W1-Tue")
    assert b.provenance["config"]["days"] == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    pd.testing.assert_frame_equal(b.schedule, a.schedule)
    pd.testing.assert_frame_equal(b.routes, a.routes)


def _seconds_matrix() -> pd.DataFrame:
    """make_study(6)'s rep home and accounts, in seconds (as OSRM's table
    service returns them) of the default travel model's minutes."""
    from terrakit.data.geo import TravelTimeModel

    acc = make_study(6).accounts
    ids = ["R01", *acc.index]
    pts = pd.DataFrame(
        {"lon": np.r_[-84.4, acc["lon"]], "lat": np.r_[33.75, acc["lat"]]}
    )
    minutes = np.asarray(TravelTimeModel().matrix(pts))
    return pd.DataFrame(minutes * 60.0, index=ids, columns=ids)


def test_travel_matrix_in_seconds_is_named(no_solving: None) -> None:
    """A matrix in seconds was blamed on the rep's home ("correct
    home_lon/home_lat", though it lies 10 km from the accounts)."""
    from terrakit.exceptions import DataValidationError
    from terrakit.routing import plan as pl

    seconds = _seconds_matrix()
    msg = (
        "travel_matrix: the travel times look like seconds, not minutes: over the "
        "42 pairs of places at least 1 km apart they imply a median straight-line "
        "speed of 0.77 km/h, slower than walking (5 km/h); e.g. 'R01' to 'A000': "
        "10.4 km in 812 min (13.5 min if these are seconds). Fix: divide the "
        "matrix by 60 (OSRM's table service returns seconds), or check its ids and "
        "the places' lon/lat"
    )
    study = make_study(6)
    with pytest.raises(DataValidationError, match=f"^{re.escape(msg)}$"):
        plan_calls(study, "current", "R01", weeks=1, travel=seconds)
    with pytest.raises(DataValidationError, match=f"^{re.escape(msg)}$"):
        plan_calls(study, "current", "R01", weeks=1, travel=seconds.to_numpy())
    # the same matrix in minutes passes
    acc = study.accounts
    m, reach = pl._travel_matrix(
        seconds / 60.0,
        list(seconds.index),
        np.r_[-84.4, acc["lon"]],
        np.r_[33.75, acc["lat"]],
    )
    assert reach.all() and np.allclose(m, seconds.to_numpy() / 60.0)


def test_first_import_of_scipy_takes_no_time_of_the_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SciPy's first import in a process (simulated here: 5 s on a fake clock)
    used to eat the visit days' share of the first plan: no MIP, other visit
    days than the next plan's, and no warning.  It now comes before the
    clock starts."""
    import builtins

    from terrakit.exceptions import TimeLimitWarning
    from terrakit.routing import periodic
    from terrakit.routing import plan as pl

    study = make_study(15)
    kw: dict[str, Any] = {"weeks": 2, "time_limit": 2, "seed": 0}
    ref = plan_calls(study, "current", "R01", **kw)
    clock = _Clock()
    real_import = builtins.__import__
    first = [True]

    def slow_first_import(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "scipy.optimize" and first[0]:
            first[0] = False
            clock.extra += 5.0
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(pl, "time", clock)
    monkeypatch.setattr(periodic, "time", clock)
    monkeypatch.setattr(builtins, "__import__", slow_first_import)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        p = plan_calls(study, "current", "R01", **kw)
    assert not first[0]  # the slow import happened
    assert [w for w in rec if issubclass(w.category, TimeLimitWarning)] == []
    assert p.provenance["patterns"] == ref.provenance["patterns"] == "optimal"
    pd.testing.assert_frame_equal(p.schedule, ref.schedule)


def test_visit_days_cut_by_the_clock_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pattern step cut short by its share of time_limit (its clock moves 1 s
    at every reading here) set ``cut_by_clock`` but gave no TimeLimitWarning."""
    from terrakit.exceptions import TimeLimitWarning
    from terrakit.routing import periodic

    class Clock:
        now = 0.0

        def perf_counter(self) -> float:
            self.now += 1.0
            return self.now

    monkeypatch.setattr(periodic, "time", Clock())
    study = make_study(12)
    with pytest.warns(
        TimeLimitWarning,
        match=r"^R01: choosing the visit days was cut short in its 1 s share of "
        r"time_limit=5 s \(the greedy construction of (\d+) accounts took 1 s, the "
        r"setting up before it 1 s; no time left for the MIP; relocation stopped "
        r"in pass 1 of 3, after 0 of \1 accounts\); the visit days may differ from "
        r"run to run \(fix: raise time_limit\)$",
    ):
        p = plan_calls(study, "current", "R01", weeks=1, time_limit=5)
    assert p.provenance["patterns_cut"] is True
    with pytest.warns(
        TimeLimitWarning,
        match=r"^1 of 1 plans were cut short or ran past time_limit: R01: choosing "
        r"the visit days was cut short",
    ):
        plan_all(study, "current", weeks=1, time_limit=5, progress=False)


def _visit_days(plans: Sequence[CallPlan]) -> pd.DataFrame:
    """Every routed visit of ``plans`` (consecutive cycles) on the working day
    counted from cycle 0's first day."""
    rows = []
    for p in plans:
        base = p.provenance["config"]["cycle"] * len(p.days)
        v = _visits(p)
        day = v["day"].map({d: k for k, d in enumerate(p.days)}) + base
        rows.append(pd.DataFrame({"account": v["account_id"], "day": day}))
    return pd.concat(rows, ignore_index=True).sort_values(["account", "day"])


def test_gap_across_cycles_is_bounded_from_above() -> None:
    """Six 4-week cycles planned one after the other with previous=: the gap
    from an account's last visit to its next was bounded only from below
    (a monthly account, due every 20 working days, went 35 days without a
    visit).  It now stays within 0.5-1.5 times the interval."""
    calls = (4.0, 6.0, 8.0, 12.0, 18.0, 24.0, 36.0, 48.0, 5.0, 10.0, 3.0, 1.0)
    study = make_study(12, calls=calls, spread_deg=0.15)
    plans: list[CallPlan] = []
    for c in range(6):
        plans.append(
            plan_calls(
                study,
                "current",
                "R01",
                weeks=4,
                time_limit=1,
                cycle=c,
                previous=plans[-1] if plans else None,
            )
        )
        assert len(plans[-1].dropped) == 0
    df = _visit_days(plans)
    interval = 5 * 48 / study.accounts["calls_per_year"]
    gap = df.groupby("account")["day"].diff().dropna()
    ratio = gap / interval[df.loc[gap.index, "account"]].to_numpy()
    assert len(ratio) >= 60
    assert ratio.max() <= 1.5 + 1e-9 and ratio.min() >= 0.5 - 1e-9, ratio.describe()


def test_overdue_account_is_planned_first_and_named() -> None:
    """An account whose last visit lies so far back that this cycle starts
    after the day it was due by gets its first visit on the cycle's first
    days, with a warning giving the days."""
    import dataclasses

    from terrakit.exceptions import TerrakitWarning

    study = make_study(12, calls=(48.0, 12.0), spread_deg=0.15)
    kw: dict[str, Any] = {"weeks": 4, "time_limit": 2, "seed": 0}
    p0 = plan_calls(study, "current", "R01", cycle=0, **kw)
    # A002, weekly, as if its visits after the cycle's first day were dropped
    sched = p0.schedule.copy()
    sched.loc["A002", "last_visit"] = 0.0
    p0 = dataclasses.replace(p0, schedule=sched)
    with pytest.warns(
        TerrakitWarning,
        match=r"^R01: 1 account due before this cycle's first day \(working day "
        r"20, counted from cycle 0's first day\) cannot have its first visit "
        r"within 1\.5× the interval of the last visit: A002 \(last visit on day "
        r"0, every 5 working days: due by day 7\); the first visit is planned as "
        r"early as the spacing allows",
    ):
        p1 = plan_calls(study, "current", "R01", cycle=1, previous=p0, **kw)
    assert p1.schedule.loc["A002", "days"].split(";")[0] == "W1-Mon"


# -- QA round 21 -------------------------------------------------------------------
def _window_clash_study() -> Study:
    """25 accounts (QA round 21, repro d1): A015 (window 15:00-16:30) and A019
    (14:45-17:00), called 96 times a year (4 visits in 10 days), can never
    share a day once the drive home by 17:00 is counted."""
    rng = np.random.default_rng(103)
    minutes = float(rng.choice([20, 30, 45]))
    base = make_study(25, seed=3, calls=(48.0, 24.0, 12.0, 96.0), call_minutes=minutes)
    acc = base.accounts
    has = rng.random(len(acc)) < 0.4
    a = rng.uniform(8, 15, len(acc))
    b = a + rng.uniform(1, 4, len(acc))
    acc["tw_start"] = np.where(has, np.round(a * 4) / 4, np.nan)
    acc["tw_end"] = np.where(has, np.minimum(np.round(b * 4) / 4, 17), np.nan)
    return base.replace(accounts=acc)


def test_window_groups_count_the_drives_from_and_to_home() -> None:
    """Two 30-min calls, windows 15:00-16:30 and 14:45-17:00 (the day ends at
    17:00), 59 min apart and 40 min from home: 30 + 59 + 30 = 119 min fit the
    135-min window, so no group was formed, yet the second call ends at 16:59
    at the earliest and the rep is home at 17:39.  Cut by the drive home, the
    windows end at 16:20 and the pair is a group (95 + 59 = 154 min < 178)."""
    from terrakit.routing import plan as pl

    t = np.array([[0.0, 40.0, 40.0], [40.0, 0.0, 59.0], [40.0, 59.0, 0.0]])
    ctx = pl._DayContext(
        tmat=t,
        minutes=np.array([30.0, 30.0]),
        cpy=np.array([96.0, 96.0]),
        win_lo=np.array([900.0, 885.0]),
        win_hi=np.array([990.0, 1020.0]),
        d0=480.0,
        d1=1020.0,
        lunch=None,
        tw_open=np.array([900.0, 885.0]),
        tw_close=np.array([990.0, 1020.0]),
    )
    groups = pl._window_groups(ctx)
    assert len(groups) == 1
    members, weights, cap = groups[0]
    assert members == [0, 1]
    assert weights.tolist() == [89.0, 89.0] and cap == 154.0


def test_accounts_that_never_share_a_day_are_not_stacked() -> None:
    """QA round 21 (d1): the visit days put A015 and A019 on the same days and
    2 of A015's visits were dropped as 'time-window conflict' on days with
    200-300 min free; disjoint patterns exist and are now chosen."""
    study = _window_clash_study()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = plan_calls(study, "current", "R01", weeks=2, time_limit=5, seed=3)
    days = [set(p.schedule.at[a, "days"].split(";")) for a in ("A015", "A019")]
    assert not days[0] & days[1]
    conflict = p.dropped["reason"].str.startswith("time-window conflict")
    assert not conflict.any(), p.dropped[conflict]


def test_travel_matrix_diagonal_is_read_as_zero() -> None:
    """A matrix with a 5-min overhead on every cell, its diagonal too, passed
    every check and then failed in PyVRP with a bare 'Distance matrix
    diagonals must be all zero'.  A place to itself costs nothing: the
    diagonal is read as 0, the other cells as given, for both backends."""
    from terrakit.data.geo import TravelTimeModel
    from terrakit.routing import plan as pl

    study = make_study(6, seed=1)
    acc = study.accounts
    lon, lat = np.r_[-84.4, acc["lon"]], np.r_[33.75, acc["lat"]]
    m = np.asarray(TravelTimeModel().matrix(pd.DataFrame({"lon": lon, "lat": lat})))
    given = m + 5.0
    got, _ = pl._travel_matrix(given, ["R01", *acc.index], lon, lat)
    assert np.diag(got).tolist() == [0.0] * 7
    off = ~np.eye(7, dtype=bool)
    assert np.array_equal(got[off], given[off])
    assert given[0, 0] == 5.0  # the caller's array is left as it was
    for backend in ("pyvrp", "ortools"):
        p = plan_calls(
            study,
            "current",
            "R01",
            weeks=1,
            days=("Mon", "Tue"),
            travel=given,
            backend=backend,  # type: ignore[arg-type]
            time_limit=2,
        )
        assert len(p.dropped) == 0 and p.n_visits > 0
        legs = p.routes[p.routes["stop"] > 0]
        assert set(np.round(legs["drive_min"], 9)) <= set(np.round(got.ravel(), 9))


def _far_account_study() -> tuple[Study, pd.DataFrame]:
    """10 accounts; A009 weekly and 280 min from home and from every other
    place (QA round 21, repro d6): 280 + 30 + 280 min > the 540-min day."""
    from terrakit.data.geo import TravelTimeModel

    base = make_study(10, seed=1)
    acc = base.accounts.copy()
    acc.loc["A009", "calls_per_year"] = 48.0
    ids = ["R01", *acc.index]
    pts = pd.DataFrame(
        {"lon": np.r_[-84.4, acc["lon"]], "lat": np.r_[33.75, acc["lat"]]}
    )
    m = np.asarray(TravelTimeModel().matrix(pts), dtype=float)
    m[10, :] = m[:, 10] = 280.0
    m[10, 10] = 0.0
    return base.replace(accounts=acc), pd.DataFrame(m, index=ids, columns=ids)


def test_accounts_no_day_can_serve_are_named_before_solving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA round 21 (d6): A009's 4 visits were dropped without a warning, and
    the workload check counted their call hours.  Now plan_calls and plan_all
    warn before solving with the times, and leave them out of the check."""
    from terrakit.exceptions import TerrakitWarning
    from terrakit.routing import plan as pl

    study, travel = _far_account_study()
    kw: dict[str, Any] = {"weeks": 4, "travel": travel, "time_limit": 3, "seed": 0}
    prep = pl._prepare(study, "current", "R01", **kw)
    k = list(prep.acc.index).index("A009")
    assert prep.visits[k] == 4 and prep.work[k] == 0.0
    assert prep.workload["visits"] == int(prep.visits.sum()) - 4
    assert prep.workload["service_hours"] == pytest.approx(
        float((prep.visits * prep.acc["call_minutes"]).sum() - 4 * 30) / 60
    )

    class Stop(Exception):
        pass

    def stop(prep: Any) -> None:
        raise Stop

    monkeypatch.setattr(pl, "_solve", stop)
    msg = (
        r"^R01: 1 account due this cycle cannot be served on any working day, so "
        r"its 4 visits are dropped and left out of the workload check: 'A009' \(4 "
        r"visits\): cannot be reached and served within working hours: the "
        r"earliest start is 12:40 \(leaving home at 08:00, 280 min drive\); the "
        r"30-min call ends at 13:10 and the 280-min drive home returns at 17:50, "
        r"after the day ends at 17:00 \(fix: "
    )
    for run in (
        lambda: plan_calls(study, "current", "R01", **kw),
        lambda: plan_all(study, "current", progress=False, **kw),
    ):
        with pytest.warns(TerrakitWarning, match=msg), pytest.raises(Stop):
            run()


def test_provenance_records_the_travel_model() -> None:
    """QA round 21 (d5): plans on TravelTimeModel() and on speed_kmh=30 drove
    4.8 h and 9.5 h with identical provenance.  The model is recorded as the
    design solvers record it: a formula's repr, a table's shape and sha256."""
    from terrakit.data.geo import TravelTimeModel
    from terrakit.routing import plan as pl

    study = make_study(6, seed=2)
    slow = TravelTimeModel(speed_kmh=30.0)
    p = plan_calls(
        study, "current", "R01", weeks=1, days=("Mon",), travel=slow, time_limit=2
    )
    assert p.provenance["config"]["travel"] == (
        "TravelTimeModel(circuity=1.3, speed_kmh=30.0, stop_minutes=0.0)"
    )
    assert pl._travel_record(None) == repr(TravelTimeModel())
    ids = ["R01", *study.accounts.index]
    m = np.arange(49.0).reshape(7, 7)
    df = pd.DataFrame(m, index=ids, columns=ids)
    rec = pl._travel_record(df)
    assert rec == pl._travel_record(TravelTimeModel.from_matrix(df))
    assert isinstance(rec, dict) and rec["kind"] == "table" and rec["shape"] == [7, 7]
    assert rec != pl._travel_record(df + 1.0)
    arr = pl._travel_record(m)
    assert isinstance(arr, dict) and arr["kind"] == "array" and arr["shape"] == [7, 7]
    assert arr["sha256"] != pl._travel_record(m + 1.0)["sha256"]  # type: ignore[index]


def test_seed_near_the_top_plans() -> None:
    """QA round 21 (d2): seed=2**32-1 passed the check and then failed mid-solve
    on day 1's seed 2**32, a number never given.  Day seeds wrap into range,
    unchanged below the wrap."""
    from terrakit.routing import plan as pl

    assert [pl._day_seed(7, d) for d in range(3)] == [7, 8, 9]
    assert [pl._day_seed(2**32 - 2, d) for d in range(4)] == [
        2**32 - 2,
        2**32 - 1,
        0,
        1,
    ]
    study = make_study(6, seed=1)
    p = plan_calls(
        study,
        "current",
        "R01",
        weeks=1,
        days=("Mon", "Tue"),
        seed=2**32 - 1,
        time_limit=2,
    )
    assert p.provenance["seed"] == 2**32 - 1 and p.n_visits > 0


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        (
            {"weeks_per_year": True},
            r"^weeks_per_year must be a positive number of working weeks, got True "
            r"\(bool\); e\.g\. 48",
        ),
        (
            {"weeks_per_year": "48"},
            r"^weeks_per_year must be a positive number of working weeks, got '48' "
            r"\(str\)",
        ),
        (
            {"lunch": (11, 14), "lunch_minutes": True},
            r"^lunch_minutes must be a number of minutes \(or None: the whole lunch "
            r"window\), got True \(bool\); e\.g\. lunch_minutes=30$",
        ),
        (
            {"lunch_minutes": "30"},
            r"^lunch_minutes must be a number of minutes .*got '30' \(str\)",
        ),
        (
            {"rebalance": "no"},
            r"^rebalance must be True or False, got 'no' \(str\); True moves visits",
        ),
        ({"rebalance": None}, r"^rebalance must be True or False, got None"),
    ],
)
def test_bools_and_text_settings_are_refused(
    kw: dict[str, object], msg: str, no_solving: None
) -> None:
    """QA round 21 (d7): weeks_per_year=True was a 1-week year (255 of 300
    visits dropped), lunch_minutes=True a 1-minute break, and rebalance='no'
    rebalanced; their siblings (weeks, tolerance, day_hours) refuse them."""
    study = make_study(6)
    with pytest.raises(SpecificationError, match=msg):
        plan_calls(study, "current", "R01", weeks=1, **kw)  # type: ignore[arg-type]


def test_plan_all_takes_one_territory_id() -> None:
    """QA round 21 (d4): territories='R01' iterated its characters (KeyError
    "no territory 'R'") and territories=5 raised a bare TypeError.  One id
    plans that territory alone; an unknown one is named."""
    from terrakit.data import Alignment

    study = make_study(6, seed=1)
    kw: dict[str, Any] = {"weeks": 1, "days": ("Mon",), "time_limit": 1}
    out = plan_all(study, "current", territories="R01", progress=False, **kw)
    assert list(out.plans) == ["R01"]
    al = Alignment.from_mapping(dict.fromkeys(study.units.index, 5), name="current")
    s5 = Study(
        study.units,
        study.accounts.assign(rep_id=5),
        study.reps.rename(index={"R01": 5}),
        alignments={"current": al},
    )
    out = plan_all(s5, "current", territories=5, progress=False, **kw)
    assert list(out.plans) == [5]
    with pytest.raises(KeyError, match=r"no territory 'R9' in alignment 'current'"):
        plan_all(study, "current", territories="R9", progress=False, **kw)

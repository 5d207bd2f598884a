"""align() on a Study: the geo path reduces to the matrix path."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from terrakit.design import align, build_problem, choose_solver, pareto, solve
from terrakit.exceptions import InfeasibleError, SpecificationError, TerrakitWarning


def test_align_toy_grid_fixed_centers(toy_grid_3x3):
    """Reps live in u4 (R1) and u9 (R2); workload 10·k, total 450, mean 225."""
    res = align(toy_grid_3x3, balance={"workload": 0.2}, time_limit=20, solver="mip")
    assert res.status == "optimal" and res.method == "mip/highs"
    a = res.alignment
    assert sorted(a.territories) == ["R1", "R2"]
    assert a["u4"] == "R1" and a["u9"] == "R2"  # the homes stay home
    w = toy_grid_3x3.units["workload"]
    sums = w.groupby(a.assignment).sum()
    assert ((sums >= 180 - 1e-9) & (sums <= 270 + 1e-9)).all()
    assert res.gap == pytest.approx(0.0, abs=1e-6)
    text = res.summary()
    assert "optimal" in text and " s" not in text.split("\n")[0]
    gdf = res.to_geodataframe(toy_grid_3x3.units)
    assert gdf["territory_id"].notna().all()
    held = res.to_geodataframe()  # the units align() designed on
    assert held.geometry.equals(gdf.geometry)
    assert held["territory_id"].equals(gdf["territory_id"])


def test_align_locked_with_reason(toy_grid_3x3):
    res = align(
        toy_grid_3x3,
        balance={"workload": 0.2},
        time_limit=20,
        solver="mip",
        locked={"u7": ("R2", "customer asked for R2")},
    )
    assert res.alignment["u7"] == "R2"
    assert res.provenance["locked_reasons"] == {"u7": "customer asked for R2"}
    # the alignment carries the whole specification it was designed to
    config = res.alignment.provenance["config"]
    assert config["balance"] == {"workload": 0.2}
    assert config["locked"] == {"u7": "R2"}
    assert (config["objective"], config["contiguity"]) == ("compactness", True)
    assert (config["solver"], config["time_limit"]) == ("mip", 20)
    assert res.provenance == res.alignment.provenance


def test_align_unknown_lock_target(toy_grid_3x3):
    with pytest.raises(SpecificationError, match="locked to 'R9'"):
        align(toy_grid_3x3, locked={"u1": "R9"}, time_limit=5)


def test_align_chosen_centers(toy_grid_3x3):
    res = align(
        toy_grid_3x3,
        n_territories=3,
        balance={"workload": 0.5},
        time_limit=20,
        solver="mip",
    )
    assert res.alignment.n_territories == 3
    assert set(res.alignment.territories) == {"T01", "T02", "T03"}


def test_balance_on_draws_reports_intervals(toy_grid_3x3):
    rng = np.random.default_rng(0)
    draws = 10_000 * rng.lognormal(0, 0.1, size=(9, 20))
    res = align(
        toy_grid_3x3,
        balance={"workload": 0.3, "potential": 0.2},
        balance_on_draws=draws,
        draws_share=0.9,
        time_limit=20,
        solver="mip",
    )
    iv = res.intervals
    assert list(iv.columns) == ["q05", "q50", "q95", "share_within_band"]
    p = build_problem(
        toy_grid_3x3,
        balance={"workload": 0.3, "potential": 0.2},
        balance_on_draws=draws,
    )
    lo, hi = p.draw_limits()
    from terrakit.design.problem import DesignProblem

    assert isinstance(p, DesignProblem)
    terr, _ = p.territory_index(res.columns)
    sums = np.zeros((2, 20))
    np.add.at(sums, terr, draws)
    ok = ((sums >= lo.T - 1e-6) & (sums <= hi.T + 1e-6)).all(axis=0)
    assert ok.mean() >= 0.9


def test_auto_rule(toy_grid_3x3):
    p = build_problem(toy_grid_3x3)
    assert choose_solver(p, 60) == "mip"


def test_auto_records_why_it_chose_the_mip(toy_grid_3x3):
    """D3: solver="auto" records the rule behind its path (n × m against the
    threshold) in the provenance and the notes; an explicit solver records
    no auto decision."""
    res = align(toy_grid_3x3, balance={"workload": 0.2}, time_limit=20, seed=0)
    rule = (
        "n_units × n_centers = 18 ≤ 5,000 (AUTO_MIP_MAX_PAIRS = 20,000, / 4 "
        "with contiguity)"
    )
    auto = {"path": "mip", "rule": rule, "pairs": 18, "limit": 5000}
    assert res.method == "mip/highs"
    assert res.provenance["config"]["solver"] == "auto"
    assert res.provenance["config"]["solver_config"]["auto"] == auto
    assert res.alignment.provenance["config"]["solver_config"]["auto"] == auto
    assert res.info["notes"][0] == f'solver="auto" ran the MIP: {rule}'
    p = build_problem(toy_grid_3x3, balance={"workload": 0.2})
    assert solve(p, time_limit=20).provenance["config"]["auto"] == auto
    long = solve(p, time_limit=300).provenance["config"]["auto"]
    assert long["limit"] == 10_000 and long["rule"] == (
        "n_units × n_centers = 18 ≤ 10,000 (AUTO_MIP_MAX_PAIRS = 20,000, × 2 with "
        "time_limit ≥ 300 s, / 4 with contiguity)"
    )
    mip = solve(p, solver="mip", time_limit=20)
    assert "auto" not in mip.provenance["config"]
    assert not any("auto" in n for n in mip.info.get("notes", []))


def test_auto_records_why_it_chose_the_heuristic(toy_grid_3x3, monkeypatch):
    """D3: above the pairs threshold (lowered here to 8, so 18 pairs exceed
    8 / 4 = 2) the heuristic runs, and the rule says so with the numbers."""
    import sys

    # the module (terrakit.design.align is also the name of the function)
    monkeypatch.setattr(sys.modules["terrakit.design.align"], "AUTO_MIP_MAX_PAIRS", 8)
    res = align(
        toy_grid_3x3, balance={"workload": 0.2}, time_limit=20, seed=0, max_iter=200
    )
    rule = "n_units × n_centers = 18 > 2 (AUTO_MIP_MAX_PAIRS = 8, / 4 with contiguity)"
    assert res.method == "heuristic"
    assert res.provenance["config"]["solver_config"]["auto"] == {
        "path": "heuristic",
        "rule": rule,
        "pairs": 18,
        "limit": 2,
    }
    assert res.info["notes"][0] == f'solver="auto" ran the heuristic: {rule}'


def test_pareto_frame(toy_grid_3x3):
    front = pareto(toy_grid_3x3, values=[0.0, 0.2, 0.4], time_limit=10, solver="mip")
    assert list(front.columns) == [
        "value",
        "objective",
        "lower_bound",
        "max_deviation",
        "status",
        "gap",
        "reason",
        "from_tolerance",
    ]
    assert front.loc[0, "status"] == "infeasible"
    assert "±0 %" in front.loc[0, "reason"]  # the numbers of the failure kept
    assert (front.loc[1:, "reason"] == "").all()
    ok = front[front["status"] != "infeasible"]
    assert (ok["objective"].diff().dropna() <= 1e-6).all()  # looser → no worse
    from terrakit.plot.pareto import plot_pareto

    ax = plot_pareto(front)
    assert ax.get_xlabel().startswith("balance tolerance")


def test_max_iter_makes_the_heuristic_reproducible(toy_grid_3x3):
    """Same seed and iteration budget → the same plan, whatever the clock says."""
    from terrakit.design import align

    kw = dict(balance={"workload": 0.5}, solver="heuristic", seed=3, max_iter=200)
    a = align(toy_grid_3x3, time_limit=30, **kw)
    b = align(toy_grid_3x3, time_limit=30, **kw)
    assert a.alignment.assignment.equals(b.alignment.assignment)
    assert a.objective == b.objective
    # the provenance holds every setting the plan depends on
    config = a.alignment.provenance["config"]
    assert config["max_iter"] == 200
    assert config["weight"] is None and config["candidates"] is None
    c = align(
        toy_grid_3x3,
        n_territories=3,
        weight="workload",
        candidates=["u1", "u5", "u9"],
        time_limit=30,
        **kw,
    )
    config = c.alignment.provenance["config"]
    assert config["weight"] == "workload" and config["candidates"] == ["u1", "u5", "u9"]


def test_heuristic_without_a_plan_in_band_warns_with_what_is_broken(toy_grid_3x3):
    """±1 % on workloads that are multiples of 10 around a mean of 225: every
    split is 220/230, so no plan meets the band.  The heuristic cannot prove
    that; it returns its closest plan as "infeasible" and warns with the
    broken bands, named by territory, and the fixes (not silently)."""
    with pytest.warns(TerrakitWarning) as caught:
        res = align(
            toy_grid_3x3,
            balance={"workload": 0.01},
            solver="heuristic",
            time_limit=3,
        )
    assert res.status == "infeasible" and not res.is_feasible()
    low = "(1.23 % below the band)"
    high = "(1.21 % above the band)"
    ways = [
        [
            f"workload of territory 'R1' is 220, outside [222.75, 227.25] {low}",
            f"workload of territory 'R2' is 230, outside [222.75, 227.25] {high}",
        ],
        [
            f"workload of territory 'R1' is 230, outside [222.75, 227.25] {high}",
            f"workload of territory 'R2' is 220, outside [222.75, 227.25] {low}",
        ],
    ]
    assert list(res.info["violations"]) in ways
    msgs = [str(w.message) for w in caught if "no alignment" in str(w.message)]
    assert len(msgs) == 1
    assert "(this is not a proof that none exists)" in msgs[0]
    assert (
        "the closest plan, returned with status 'infeasible', breaks 2 constraints: "
        + "; ".join(res.info["violations"])
        + ". Fix: "
    ) in msgs[0]
    assert msgs[0].endswith(
        "widen the tolerance named, or, on a small problem, use solver='mip', "
        "which finds a plan or proves that none exists"
    )
    text = res.summary()
    assert "gap: none (the plan breaks constraints)" in text
    assert "broken constraints: 2\n    " + res.info["violations"][0] in text
    # the exact path proves what the heuristic could only suspect
    with pytest.raises(InfeasibleError, match="infeasible"):
        align(toy_grid_3x3, balance={"workload": 0.01}, solver="mip", time_limit=4)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.nan, r"units\.workload: 1 values are missing \(NaN\) \(rows: 'u3'\)"),
        (-5.0, r"units\.workload: 1 values are negative \(min -5\).*\(rows: 'u3'\)"),
        ("1,200", r"units\.workload: 1 values are not numbers \(e\.g\. '1,200'\)"),
    ],
)
def test_bad_balance_column_names_table_column_and_rows(toy_grid_3x3, value, message):
    """A units table passed straight to align() is checked like one at the
    door: the balanced column's bad rows are named, and the caller's table is
    left as it was."""
    from terrakit.exceptions import DataValidationError

    units = toy_grid_3x3.units.copy()
    units["workload"] = units["workload"].astype(object)
    units.loc["u3", "workload"] = value
    before = units.copy()
    with pytest.raises(DataValidationError, match=message):
        align(units, toy_grid_3x3.reps, balance={"workload": 0.2}, time_limit=5)
    assert units.equals(before)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"time_limit": 0}, "time_limit must be a positive number of seconds, got 0"),
        ({"time_limit": -1}, "time_limit must be a positive number of seconds"),
        ({"time_limit": float("nan")}, "time_limit must be a positive number"),
        ({"seed": "a"}, "seed must be a non-negative integer, got 'a'"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"seed": 1.5}, "seed must be a non-negative integer, got 1.5"),
        ({"backend": "gurobi"}, "unknown MIP backend 'gurobi'; choose 'highs'"),
        ({"max_distance_km": -5}, "max_distance_km must be a positive distance"),
        (
            {"balance": {"workload": "5%"}},
            r"tolerance for 'workload' must be a number in \[0, 1\) \(0\.05 is ±5 %\), "
            "got '5%'",
        ),
        ({"balance": {"workload": True}}, "must be a number in .*got True"),
        (
            {"n_territories": 2.5},
            "n_territories must be a whole number of "
            "territories \\(1 or more\\), got 2.5; leave it None",
        ),
        ({"n_territories": "3"}, "n_territories must be a whole number"),
        ({"n_territories": 0}, "n_territories must be a whole number"),
    ],
)
def test_bad_run_settings_are_refused_before_solving(toy_grid_3x3, kw, message):
    with pytest.raises(SpecificationError, match=message):
        align(
            toy_grid_3x3,
            **{"balance": {"workload": 0.2}, "solver": "mip", "time_limit": 5, **kw},
        )


def test_backend_spellings(toy_grid_3x3):
    """``"CP-SAT"`` is OR-Tools' own spelling of the ``"cpsat"`` backend."""
    res = align(
        toy_grid_3x3,
        balance={"workload": 0.2},
        solver="mip",
        backend="CP-SAT",
        time_limit=20,
        seed=np.int64(0),
    )
    assert res.method == "cpsat" and res.status == "optimal"


def test_pareto_refuses_bad_values_and_a_reason_that_is_not_the_tolerance(
    toy_grid_3x3,
):
    with pytest.raises(SpecificationError, match=r"tolerances in \[0, 1\).*\[-0\.1\]"):
        pareto(toy_grid_3x3, values=[-0.1, 0.2], time_limit=5)
    with pytest.raises(SpecificationError, match=r"tolerances in .*\['5%'\]"):
        pareto(toy_grid_3x3, values=["5%", 0.1], time_limit=5)
    with pytest.raises(SpecificationError, match="got none"):
        pareto(toy_grid_3x3, values=[], time_limit=5)
    with pytest.raises(ValueError, match=r"use tk\.realign\.disruption_front\("):
        pareto(toy_grid_3x3, vary="disruption", values=[0.1], time_limit=5)
    # a misspelt column fails at every tolerance: raised, not a front of NaNs
    with pytest.raises(SpecificationError, match="no 'hours' column"):
        pareto(toy_grid_3x3, values=[0.1, 0.2], balance={"hours": 0.1}, time_limit=5)


def test_diameter_objective_on_geography_reaches_the_enumerated_optimum(toy_grid_3x3):
    """``objective="diameter"`` through align(): the largest km between two
    units of one territory, minimised.  On the 3×3 grid every plan with the
    homes fixed (2^7) is enumerated; the search reaches the best one."""
    import itertools

    from terrakit.data import geo

    kw = {"balance": {"workload": 0.2}, "objective": "diameter"}
    problem = build_problem(toy_grid_3x3, **kw)
    homes = {int(c): t for t, c in enumerate(problem.center_units)}
    free = [i for i in range(9) if i not in homes]
    best = np.inf
    for bits in itertools.product((0, 1), repeat=len(free)):
        cols = np.zeros(9, dtype=np.int64)
        for i, t in homes.items():
            cols[i] = t
        cols[free] = bits
        if not problem.violations(cols):
            best = min(best, problem.evaluate(cols))
    # a budget that fits the time limit (20,000 steps took 3.7 s of its 5 s:
    # on a loaded machine the clock cut the run, now reported as "time_limit")
    res = align(toy_grid_3x3, time_limit=30, seed=0, max_iter=2_000, **kw)
    assert res.method == "heuristic" and res.status in ("feasible", "optimal")
    assert res.objective == pytest.approx(best)
    # the value is the largest great-circle km inside a territory
    lon, lat = geo.lonlat(toy_grid_3x3.units)
    km = geo.haversine_matrix(lon, lat, lon, lat)
    a = res.alignment.assignment.reindex(toy_grid_3x3.units.index).to_numpy()
    widest = max(km[np.ix_(a == t, a == t)].max() for t in np.unique(a))
    assert res.objective == pytest.approx(widest)


def test_draws_by_unit_id_and_bad_draws_named(toy_grid_3x3):
    """A DataFrame of draws is matched to the units by id, not by position;
    missing units and negative or NaN draws are refused by unit."""
    import pandas as pd
    import xarray as xr

    from terrakit.exceptions import DataValidationError

    rng = np.random.default_rng(1)
    ids = toy_grid_3x3.units.index
    draws = pd.DataFrame(10_000 * rng.lognormal(0, 0.1, size=(9, 5)), index=ids)
    kw = {"balance": {"workload": 0.3, "potential": 0.2}}
    in_order = build_problem(toy_grid_3x3, balance_on_draws=draws.to_numpy(), **kw)
    shuffled = draws.iloc[[4, 0, 8, 2, 6, 1, 3, 7, 5]]
    by_id = build_problem(toy_grid_3x3, balance_on_draws=shuffled, **kw)
    np.testing.assert_array_equal(by_id.draws, in_order.draws)
    array = xr.DataArray(shuffled, dims=("unit_id", "draw"))
    by_array = build_problem(toy_grid_3x3, balance_on_draws=array, **kw)
    np.testing.assert_array_equal(by_array.draws, in_order.draws)
    with pytest.raises(DataValidationError, match=r"1 units have no draws.*'u5'"):
        build_problem(toy_grid_3x3, balance_on_draws=draws.drop("u5"), **kw)
    bad = draws.copy()
    bad.loc["u2", 3] = -1.0
    bad.loc["u7", 0] = np.nan
    with pytest.raises(
        DataValidationError,
        match=r"2 draws are missing, infinite or negative \(in 2 units\) "
        r"\(rows: 'u2', 'u7'\)",
    ):
        build_problem(toy_grid_3x3, balance_on_draws=bad, **kw)

    class FittedPotential:
        idata = None

        def draws(self, level="unit", n_draws=None, seed=0):
            raise AssertionError("not called")

    with pytest.raises(
        DataValidationError,
        match=r"^balance_on_draws: got the FittedPotential itself, not its draws",
    ):
        build_problem(toy_grid_3x3, balance_on_draws=FittedPotential(), **kw)


def test_units_table_checked_at_the_door(toy_grid_3x3):
    import pandas as pd

    from terrakit.exceptions import DataValidationError

    reps = toy_grid_3x3.reps
    units = toy_grid_3x3.units
    with pytest.raises(DataValidationError, match=r"units: expected a Study or a"):
        align(pd.DataFrame(units.drop(columns="geometry")), reps, time_limit=5)
    twice = units.rename(index={"u2": "u1"})
    with pytest.raises(
        DataValidationError, match=r"units\.unit_id: 1 ids occur more than once"
    ):
        align(twice, reps, time_limit=5)
    with pytest.raises(SpecificationError, match=r"balance must map each balanced"):
        align(toy_grid_3x3, balance=["workload"], time_limit=5)
    with pytest.raises(SpecificationError, match=r"targets name \['R9'\], which are"):
        align(toy_grid_3x3, targets={"R9": 1.0}, time_limit=5)
    # a share that is not a number is named (was float(None): TypeError; NaN
    # passed every check, since NaN <= 0 and |NaN - 1| > 1e-6 are both false)
    with pytest.raises(
        SpecificationError, match=r"no number for 'R2' \(1 of 2\): give every"
    ):
        align(toy_grid_3x3, targets={"R1": 0.5, "R2": None}, time_limit=5)
    with pytest.raises(SpecificationError, match=r"no number for 'position 1'"):
        align(toy_grid_3x3, targets=[0.5, float("nan")], time_limit=5)
    with pytest.raises(SpecificationError, match=r"positive shares; 'R1' has 0$"):
        align(toy_grid_3x3, targets={"R1": 0.0, "R2": 1.0}, time_limit=5)


def test_misspelt_weight_is_refused_with_the_closest_columns(toy_grid_3x3):
    """``weight="wrkload"`` was read as uniform weights (a different answer,
    recorded as if the column had been used); it is now refused before
    solving, with the numeric columns closest in spelling first."""
    with pytest.raises(
        SpecificationError,
        match=r"weight='wrkload' is not a column of the units; numeric columns "
        r"\(closest first\): \['workload', .*leave weight None",
    ):
        align(toy_grid_3x3, weight="wrkload", solver="mip", time_limit=5)
    with pytest.raises(SpecificationError, match="weight='' is not a column"):
        build_problem(toy_grid_3x3, weight="")


@pytest.mark.parametrize("max_iter", [0, -5, 2.5, True, "100"])
def test_bad_max_iter_is_refused_before_solving(toy_grid_3x3, max_iter):
    message = f"max_iter must be a whole number ≥ 1, got {max_iter!r}"
    with pytest.raises(SpecificationError, match=re.escape(message)):
        align(toy_grid_3x3, solver="heuristic", time_limit=5, max_iter=max_iter)
    problem = build_problem(toy_grid_3x3, balance={"workload": 0.5})
    with pytest.raises(SpecificationError, match=re.escape(message)):
        solve(problem, solver="heuristic", time_limit=5, max_iter=max_iter)


@pytest.mark.parametrize(
    "locked", [{"u7": ("R2",)}, {"u7": ("R2", "asked", "extra")}, ["u7"]]
)
def test_malformed_locks_name_the_two_accepted_forms(toy_grid_3x3, locked):
    """A one-element tuple was a bare ``ValueError: not enough values to
    unpack``; a list of units an ``AttributeError``."""
    forms = r"give \{unit: territory\} or \{unit: \(territory, reason\)\}"
    what = "locked must map" if isinstance(locked, list) else "locked unit 'u7'"
    with pytest.raises(SpecificationError, match=f"{what}.*{forms}"):
        align(toy_grid_3x3, locked=locked, solver="mip", time_limit=5)


def test_provenance_keeps_the_callers_settings_and_seconds_the_whole_call(
    toy_grid_3x3, monkeypatch
):
    """A MIP that finds no plan in its time hands over to the heuristic for a
    tenth of it: the provenance says ``time_limit=5`` as the caller gave it
    (the heuristic's 0.5 s is kept under ``solver_config``), and ``seconds``
    counts the MIP's time too, not only the heuristic's."""
    import time

    import terrakit.design.mip as mip
    from terrakit.design.heuristic import solve_heuristic

    def no_incumbent_then_heuristic(problem, *, time_limit, seed, backend, **kw):
        time.sleep(0.3)  # the MIP's search, ended without an incumbent
        return solve_heuristic(
            problem, time_limit=0.1 * time_limit, seed=seed, max_iter=50
        )

    monkeypatch.setattr(mip, "solve_mip", no_incumbent_then_heuristic)
    t0 = time.perf_counter()
    res = align(toy_grid_3x3, balance={"workload": 0.5}, solver="mip", time_limit=5)
    wall = time.perf_counter() - t0
    assert res.method == "heuristic"
    config = res.alignment.provenance["config"]
    assert (config["time_limit"], config["solver"]) == (5, "mip")
    assert config["solver_config"]["time_limit"] == pytest.approx(0.5)
    assert 0.3 <= res.seconds <= wall
    direct = solve(build_problem(toy_grid_3x3), solver="mip", time_limit=5)
    assert direct.seconds >= 0.3


def test_targets_series_is_matched_by_rep_id(toy_grid_3x3):
    """A Series of shares keyed by rep id (e.g. from ``reps["fte"]``), in
    another order than the reps, is matched by its index as
    ``tk.metrics.balance`` does (it was applied by position: R1 got R2's
    share); unknown, missing and repeated ids are refused; a list stays
    positional, and the provenance keeps the shares by territory."""
    import pandas as pd

    assert list(toy_grid_3x3.reps.index) == ["R1", "R2"]
    series = pd.Series({"R2": 0.6, "R1": 0.4})
    p = build_problem(toy_grid_3x3, targets=series)
    assert p.targets.tolist() == [0.4, 0.6]
    assert build_problem(toy_grid_3x3, targets=[0.6, 0.4]).targets.tolist() == [
        0.6,
        0.4,
    ]
    res = align(
        toy_grid_3x3,
        balance={"workload": 0.2},
        targets=series,
        solver="mip",
        time_limit=10,
    )
    assert res.alignment.provenance["config"]["targets"] == {"R1": 0.4, "R2": 0.6}
    lower = res.territories["workload_lower"]
    assert lower["R1"] == pytest.approx(0.8 * 0.4 * 450)
    assert lower["R2"] == pytest.approx(0.8 * 0.6 * 450)
    with pytest.raises(
        SpecificationError,
        match=r"targets name \['R9'\], which are not territories; the territories "
        r"are the rep ids \['R1', 'R2'\]; a Series is matched by its index",
    ):
        build_problem(toy_grid_3x3, targets=pd.Series({"R9": 0.5, "R1": 0.5}))
    with pytest.raises(SpecificationError, match=r"targets name \[0, 1\]"):
        build_problem(toy_grid_3x3, targets=pd.Series([0.4, 0.6]))
    with pytest.raises(SpecificationError, match=r"targets miss territories \['R2'\]"):
        build_problem(toy_grid_3x3, targets=pd.Series({"R1": 1.0}))
    with pytest.raises(SpecificationError, match=r"\['R1'\] more than one share"):
        build_problem(
            toy_grid_3x3, targets=pd.Series([0.3, 0.3, 0.4], index=["R1", "R1", "R2"])
        )


def test_targets_with_chosen_centers_name_the_T_territories(toy_grid_3x3):
    """With chosen centers (n_territories differs from the number of reps)
    the territories are T01…Tk: targets keyed by rep id are refused with
    that said (the message called T01, T02 "the rep ids")."""
    with pytest.raises(SpecificationError) as err:
        build_problem(toy_grid_3x3, n_territories=3, targets={"R1": 0.5, "R2": 0.5})
    assert str(err.value) == (
        "targets name ['R1', 'R2'], which are not territories; with chosen "
        "centers (n_territories=3 differs from the 2 reps) the territories are "
        "T01…T03 and the reps are not used; key targets by T01…T03, or give a "
        "list of 3 shares"
    )
    units = toy_grid_3x3.units
    with pytest.raises(SpecificationError, match=r"the territories are T01…T02; key"):
        build_problem(units, n_territories=2, targets={"R1": 0.5, "R2": 0.5})
    p = build_problem(units, n_territories=2, targets={"T02": 0.5, "T01": 0.5})
    assert p.territory_ids == ("T01", "T02")


def _no_solve(monkeypatch):
    """Make any solve fail loudly: an error raised instead came before solving."""
    import importlib

    align_module = importlib.import_module("terrakit.design.align")

    def solve(*args, **kwargs):
        raise AssertionError("solved before the settings were checked")

    monkeypatch.setattr(align_module, "solve", solve)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"draws_tolerance": float("nan")},
            r"draws_tolerance must be a number in \[0, 1\) \(0\.05 is ±5 %\), got nan",
        ),
        ({"draws_tolerance": -0.1}, r"draws_tolerance must be .*, got -0\.1;"),
        ({"draws_tolerance": 1.5}, r"draws_tolerance must be .*, got 1\.5;"),
        ({"draws_tolerance": True}, r"draws_tolerance must be .*, got True;"),
        ({"draws_tolerance": "x"}, r"draws_tolerance must be .*, got 'x';"),
        (
            {"draws_share": "0.9"},
            r"draws_share must be a number in \(0, 1\] \(0\.9: the band holds in "
            r"90 % of the draws\), got '0\.9'; pass the number 0\.9, not text",
        ),
        ({"draws_share": True}, r"draws_share must be .*, got True$"),
        ({"draws_share": 0}, r"draws_share must be .*, got 0$"),
    ],
)
def test_bad_draw_settings_are_refused_before_solving(
    toy_grid_3x3, monkeypatch, kw, message
):
    """draws_tolerance follows the rule of the balance tolerances ([0, 1), no
    bool): NaN passed as "optimal" with no draw in band, a negative one
    raised InfeasibleError after solving, 1.5 was accepted; draws_share as
    text raised a bare TypeError and True counted as 1.0."""
    _no_solve(monkeypatch)
    draws = 10_000 * np.random.default_rng(0).lognormal(0, 0.1, size=(9, 10))
    with pytest.raises(SpecificationError, match=message):
        align(
            toy_grid_3x3,
            balance={"workload": 0.3, "potential": 0.2},
            balance_on_draws=draws,
            time_limit=5,
            **kw,
        )


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((10, 9), r"expected \(n_units=9, n_draws\), got shape \(10, 9\)\. Fix: give"),
        ((9, 9, 1), r"got shape \(9, 9, 1\)\. Fix: give one row per unit and one"),
        ((9,), r"got shape \(9,\)\. Fix: .*or a DataFrame indexed by unit id"),
        ((5, 9), r"got shape \(5, 9\)\. Fix: .*per draw \(transpose it: \.T\)"),
        ((9, 0), r"no draws: shape \(9, 0\), 9 units × 0 draws\. Fix: give at least"),
    ],
)
def test_bad_draw_shapes_name_balance_on_draws(
    toy_grid_3x3, monkeypatch, shape, message
):
    """A transposed, 1-D, 3-D or wrongly sized array of draws, or one with no
    draw (it failed with IndexError after solving), is a DataValidationError
    naming balance_on_draws, the shape and the fix, before solving."""
    from terrakit.exceptions import DataValidationError

    _no_solve(monkeypatch)
    draws = np.full(shape, 10_000.0)
    with pytest.raises(DataValidationError, match=r"^balance_on_draws: .*" + message):
        align(toy_grid_3x3, balance_on_draws=draws, time_limit=5)


def test_empty_draws_frame_is_refused(toy_grid_3x3, monkeypatch):
    import pandas as pd

    from terrakit.exceptions import DataValidationError

    _no_solve(monkeypatch)
    empty = pd.DataFrame(index=toy_grid_3x3.units.index)
    with pytest.raises(DataValidationError, match=r"balance_on_draws: no draws"):
        align(toy_grid_3x3, balance_on_draws=empty, time_limit=5)


def test_balance_on_draws_with_chosen_centers_runs_the_heuristic(toy_grid_3x3):
    """Only the heuristic balances on draws with chosen centers: "auto" runs
    it and says so in the notes, "mip" refuses with the reason and the fixes
    (both raised a terse "needs fixed centers")."""
    draws = 10_000 * np.random.default_rng(0).lognormal(0, 0.05, size=(9, 10))
    kw = dict(
        n_territories=3,
        balance={"workload": 0.5, "potential": 0.3},
        balance_on_draws=draws,
        draws_tolerance=0.3,
        # max_iter ends the run; the limit only caps it, with room for a first
        # call's compilation on a loaded machine (10 s was cut by the clock)
        time_limit=120,
        max_iter=500,
    )
    p = build_problem(toy_grid_3x3, **{a: kw[a] for a in list(kw)[:4]})
    assert choose_solver(p, 10) == "heuristic"
    res = align(toy_grid_3x3, **kw)
    assert res.method == "heuristic"
    assert res.info["notes"][0] == (
        'solver="auto" ran the heuristic: balance_on_draws with chosen centers is '
        "not modelled by the MIP"
    )
    # the same rule in the provenance, as for every auto decision
    auto = res.provenance["config"]["solver_config"]["auto"]
    assert (auto["path"], auto["rule"]) == (
        "heuristic",
        "balance_on_draws with chosen centers is not modelled by the MIP",
    )
    good, need = p.draws_met(res.columns)
    assert res.status in ("feasible", "optimal") and good >= need
    with pytest.raises(
        SpecificationError,
        match=r"the exact MIP does not model balance_on_draws with centers chosen "
        r"among the units.*pass reps without n_territories for fixed centers, or "
        r'use solver="heuristic"',
    ):
        align(toy_grid_3x3, solver="mip", **kw)


def test_travel_table_model_is_looked_up_by_unit_and_rep_ids(toy_grid_3x3):
    """``objective="travel"`` with ``TravelTimeModel.from_matrix``: minutes by
    unit id × rep id (fixed centers) or unit id × unit id (chosen centers),
    in any row/column order (it was called with coordinates and refused);
    a table without the ids needed says which and what shape it needs."""
    import pandas as pd

    from terrakit.data.geo import TravelTimeModel
    from terrakit.exceptions import DataValidationError

    units = list(toy_grid_3x3.units.index)
    ids = [*units, "R1", "R2"]
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.uniform(5, 60, (11, 11)), index=ids, columns=ids)
    for i in ids:
        table.loc[i, i] = 0.0
    w = toy_grid_3x3.units["workload"].to_numpy()
    shuffled = table.iloc[::-1, ::-1]
    tm = TravelTimeModel.from_matrix(shuffled)
    p = build_problem(toy_grid_3x3, objective="travel", travel_model=tm)
    np.testing.assert_allclose(
        p.cost, w[:, None] * table.loc[units, ["R1", "R2"]].to_numpy()
    )
    res = align(
        toy_grid_3x3,
        balance={"workload": 0.2},
        objective="travel",
        travel_model=tm,
        solver="mip",
        time_limit=10,
    )
    assert res.objective == pytest.approx(p.evaluate(res.columns))
    # chosen centers: a unit × unit table; a unit to itself takes no stop
    stop = TravelTimeModel.from_matrix(table.loc[units, units], stop_minutes=5.0)
    q = build_problem(
        toy_grid_3x3, n_territories=3, objective="travel", travel_model=stop
    )
    want = table.loc[units, units].to_numpy() + 5.0
    np.fill_diagonal(want, 0.0)
    np.testing.assert_allclose(q.cost, w[:, None] * want)
    reps_only = TravelTimeModel.from_matrix(table.loc[units, ["R1", "R2"]])
    with pytest.raises(
        DataValidationError,
        match=r"travel_model\.table: objective='travel' looks up the minutes from "
        r"every unit to every candidate center in the model's table \(9×2\); 9 "
        r"unit ids are missing from its columns .*Fix: give "
        r"TravelTimeModel\.from_matrix a table of units × units",
    ):
        build_problem(
            toy_grid_3x3, n_territories=3, objective="travel", travel_model=reps_only
        )
    no_r2 = TravelTimeModel.from_matrix(table.drop(columns="R2"))
    with pytest.raises(
        DataValidationError,
        match=r"1 rep ids are missing from its columns \(rows: 'R2'\)",
    ):
        build_problem(toy_grid_3x3, objective="travel", travel_model=no_r2)


def test_unreachable_pairs_in_a_travel_table_are_forbidden(toy_grid_3x3):
    """``TravelTimeModel.from_matrix`` takes infinite minutes for unreachable
    pairs (its own fix for NaN says so); align then refused the table with
    "cost matrix has non-finite entries", naming nothing.  Such pairs are now
    forbidden like pairs beyond max_distance_km; a unit with no route to any
    rep, or a lock across a missing route, is named."""
    import pandas as pd

    from terrakit.data.geo import TravelTimeModel
    from terrakit.exceptions import DataValidationError, SpecificationError

    units = list(toy_grid_3x3.units.index)
    table = pd.DataFrame(30.0, index=units, columns=["R1", "R2"])
    table.loc["u1", "R1"] = np.inf  # u1 can only be served by R2
    tm = TravelTimeModel.from_matrix(table)
    p = build_problem(toy_grid_3x3, objective="travel", travel_model=tm)
    assert np.isfinite(p.cost).all()
    assert p.allowed is not None and not p.allowed[units.index("u1"), 0]
    for solver in ("mip", "heuristic"):
        res = align(
            toy_grid_3x3,
            balance={"workload": 0.3},
            objective="travel",
            travel_model=tm,
            contiguity=False,
            solver=solver,
            time_limit=5,
            seed=0,
        )
        assert res.alignment.assignment["u1"] == "R2", solver
    with pytest.raises(SpecificationError, match="no route between them"):
        build_problem(
            toy_grid_3x3, objective="travel", travel_model=tm, locked={"u1": "R1"}
        )
    table.loc["u1", "R2"] = np.inf
    with pytest.raises(
        DataValidationError,
        match=r"1 units have no route \(infinite minutes\) to any rep home "
        r"\(rows: 'u1'\)",
    ):
        build_problem(
            toy_grid_3x3,
            objective="travel",
            travel_model=TravelTimeModel.from_matrix(table),
            contiguity=False,
        )


def test_diameter_without_contiguity_gets_its_graph(toy_grid_3x3):
    """The diameter search moves units along the unit graph; without
    contiguity none was built and align failed with a bare AssertionError."""
    res = align(
        toy_grid_3x3,
        balance={"workload": 0.3},
        objective="diameter",
        contiguity=False,
        time_limit=5,
        seed=0,
        max_iter=2_000,
    )
    assert res.status in ("feasible", "optimal")
    assert res.objective > 0


def _pmedian_problem():
    from terrakit.design.problem import DesignProblem

    xy = np.array([[0, 0], [1, 0], [5, 5], [6, 5], [0, 1], [5, 6]], dtype=float)
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    return DesignProblem(
        unit_ids=np.arange(1, 7),
        activities={"demand": np.ones(6)},
        n_territories=2,
        cost=d,
        center_mode="choose",
        center_units=np.arange(6),
    )


def test_unknown_solve_keyword_is_refused_with_the_closest(monkeypatch):
    """``tme_limit=30`` was dropped silently on the p-median path."""
    problem = _pmedian_problem()
    with pytest.raises(
        TypeError, match=r"\['tme_limit'\].*'time_limit' for 'tme_limit'"
    ):
        solve(problem, time_limit=5, tme_limit=30)
    with pytest.raises(TypeError, match=r"'mip_gap' for 'mipgap'"):
        solve(problem, solver="heuristic", time_limit=5, mipgap=0.5)


def test_mip_keywords_on_another_path_warn():
    """``mip_gap`` is a MIP setting: the p-median path ignores it, and says so;
    with ``solver="mip"`` it is used, without a warning."""
    problem = _pmedian_problem()
    with pytest.warns(TerrakitWarning, match=r"\['mip_gap'\] only apply to the MIP"):
        res = solve(problem, time_limit=5, mip_gap=0.5)
    assert res.method.startswith("pmedian")
    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)
        res = solve(problem, solver="mip", time_limit=5, mip_gap=0.5)
    assert res.method.startswith("mip")


def test_lock_beyond_the_maximum_distance_gives_the_km(toy_grid_3x3):
    # u1's centre is 28.3 km from R2's home (the centre of u9)
    with pytest.raises(
        SpecificationError,
        match=r"unit 'u1' is locked to 'R2' beyond the maximum distance: it lies "
        r"28.3 km from the home of 'R2', above max_distance_km=25",
    ):
        build_problem(toy_grid_3x3, locked={"u1": "R2"}, max_distance_km=25)


def test_home_unit_beyond_the_maximum_distance_gives_the_km(toy_grid_3x3):
    reps = toy_grid_3x3.reps.assign(home_unit=["u3", "u9"])  # u3: 22.3 km from R1
    with pytest.raises(
        SpecificationError,
        match=r"the home unit 'u3' of rep 'R1' .* lies 22.3 km from the home of "
        r"'R1', beyond max_distance_km=21; .* or set contiguity=False",
    ):
        build_problem(toy_grid_3x3.units, reps, max_distance_km=21)
    build_problem(toy_grid_3x3.units, reps, max_distance_km=21, contiguity=False)


def test_unknown_lock_ids_get_a_hint(toy_grid_3x3):
    with pytest.raises(SpecificationError, match=r"did you mean 'R2'\?"):
        build_problem(toy_grid_3x3, locked={"u1": "r2"})
    units = toy_grid_3x3.units.set_axis(range(1, 10), axis=0)
    with pytest.raises(
        SpecificationError,
        match=r"unit ids are int \(1\), not str: give 1",
    ):
        build_problem(units, toy_grid_3x3.reps, locked={"1": "R1"})
    with pytest.raises(
        SpecificationError,
        match=r"with chosen centers a lock names the unit that hosts the center",
    ):
        build_problem(toy_grid_3x3, n_territories=3, locked={"u1": "R1"})


def test_home_inside_a_large_unit_is_rooted_there():
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    geoms = {
        "BIG": box(-84.0, 33.0, -83.6, 33.4),
        "W1": box(-84.1, 33.2, -84.0, 33.3),
        "W2": box(-84.1, 33.1, -84.0, 33.2),
        "E1": box(-83.6, 33.0, -83.5, 33.4),
    }
    units = gpd.GeoDataFrame(
        {"workload": [40.0, 10, 10, 40]},
        geometry=list(geoms.values()),
        index=pd.Index(list(geoms), name="unit_id"),
        crs=4326,
    )
    # A lives inside BIG, nearer to W1's representative point than to BIG's
    reps = pd.DataFrame(
        {"home_lon": [-83.99, -83.55], "home_lat": [33.25, 33.2]},
        index=pd.Index(["A", "B"], name="rep_id"),
    )
    p = build_problem(units, reps, balance={"workload": 0.5})
    assert list(units.index[np.asarray(p.center_units)]) == ["BIG", "E1"]


def test_pareto_looser_tolerance_takes_a_tighter_plan(toy_grid_3x3, monkeypatch):
    """A plan within ±20 % is within ±40 % and ±60 %: a looser point whose own
    run is worse (±40 %) or finds nothing (±60 %) takes it, and says so."""
    import math

    from terrakit.design.result import AlignmentResult

    mod = __import__("terrakit.design.align", fromlist=["solve"])
    real = mod.solve
    current = toy_grid_3x3.alignments["current"].assignment.to_dict()

    def fake(problem, **kw):
        tol = problem.tolerance["workload"]
        if tol < 0.3:
            return real(problem, **kw)
        if tol > 0.5:  # nothing found, nothing proven
            cols = np.zeros(problem.n_units, dtype=np.int64)
            status, lb = "infeasible", -math.inf
        else:  # the hand-drawn plan with u5 moved to R2: in band, worse
            cids = list(problem.center_ids)
            plan = {**current, "u5": "R2"}
            cols = np.array([cids.index(plan[u]) for u in problem.unit_ids])
            status, lb = "feasible", 1.0
        return AlignmentResult.from_columns(
            problem, cols, status=status, lower_bound=lb, method="heuristic",
            seconds=0.1, seed=0, info={"violations": problem.violations(cols)},
        )  # fmt: skip

    monkeypatch.setattr(mod, "solve", fake)
    front = pareto(
        toy_grid_3x3, values=[0.6, 0.2, 0.4], time_limit=10, solver="mip"
    ).set_index("value")
    tight = front.loc[0.2]
    assert tight["status"] == "optimal" and tight["from_tolerance"] == 0.2
    for v in (0.4, 0.6):
        row = front.loc[v]
        assert row["objective"] == tight["objective"]
        assert row["from_tolerance"] == 0.2 and row["reason"] == ""
        assert row["status"] == "feasible"
    assert front.loc[0.4, "lower_bound"] == 1.0  # its own bound, gap recomputed
    assert front.loc[0.4, "gap"] == pytest.approx(1 - 1 / tight["objective"])
    assert math.isnan(front.loc[0.6, "gap"])


def test_stop_minutes_same_for_formula_and_table_models(toy_grid_3x3):
    """Chosen centers: a unit to the center it hosts takes no trip, so no
    stop overhead, for a formula model as for a from_matrix table."""
    import pandas as pd

    from terrakit.data import geo

    units = toy_grid_3x3.units
    formula = geo.TravelTimeModel(stop_minutes=10)
    minutes = geo.TravelTimeModel().matrix(units)  # no stop: the raw minutes
    table = geo.TravelTimeModel.from_matrix(
        pd.DataFrame(minutes, index=units.index, columns=units.index),
        stop_minutes=10,
    )
    kw = dict(n_territories=3, balance={"workload": 0.5}, objective="travel")
    c1 = build_problem(units, travel_model=formula, **kw).cost
    c2 = build_problem(units, travel_model=table, **kw).cost
    np.testing.assert_allclose(c1, c2, atol=1e-9)
    assert np.allclose(np.diag(c1), 0.0)


def test_tighter_plan_sources_keep_the_front_from_rising():
    """The rule pareto and disruption_front share: a point whose own plan
    costs more than a tighter one's, or that has none, takes the cheapest
    tighter plan; the first plan found stays its own."""
    from terrakit.design.result import tighter_plan_sources

    nan = float("nan")
    assert tighter_plan_sources([5.0, nan, 6.0, 4.0, 7.0, 4.0]) == [
        None,
        0,
        0,
        None,
        3,
        None,
    ]
    assert tighter_plan_sources([nan, nan, 3.0]) == [None, None, None]


def test_duplicated_draw_ids_and_scalar_targets_are_refused(toy_grid_3x3):
    """Draws with a unit id twice (two runs stacked) name the ids; a scalar
    ``targets`` says what targets must be (both were bare pandas/Python
    errors)."""
    import pandas as pd

    from terrakit.exceptions import DataValidationError

    ids = toy_grid_3x3.units.index
    draws = pd.DataFrame(np.random.default_rng(0).uniform(1, 2, (9, 4)), index=ids)
    twice = pd.concat([draws, draws.loc[["u4", "u6"]]])
    kw = {"balance": {"potential": 0.25}, "contiguity": False}
    with pytest.raises(
        DataValidationError,
        match=r"balance_on_draws.index: 2 unit ids have more than one row of "
        r"draws \(rows: 'u4', 'u6'\)",
    ):
        build_problem(toy_grid_3x3, balance_on_draws=twice, **kw)
    with pytest.raises(
        SpecificationError,
        match=r"targets must be a mapping \{territory: share\}, a pandas Series "
        r"indexed by territory or a list of 2 shares .*not float 0.3",
    ):
        build_problem(toy_grid_3x3, targets=0.3, **kw)


def test_max_iter_reaches_the_mip_path(toy_grid_3x3, monkeypatch):
    """align(solver="mip", max_iter=...) dropped max_iter, so the MIP's
    heuristic start and fallback followed the clock and a fixed seed gave
    three plans in three calls (QA round 8)."""
    import terrakit.design.mip as mip

    seen = []
    real = mip.solve_mip

    def spy(problem, **kw):
        seen.append(kw.get("max_iter"))
        return real(problem, **kw)

    monkeypatch.setattr(mip, "solve_mip", spy)
    align(toy_grid_3x3, balance={"workload": 0.3}, solver="mip", max_iter=50)
    assert seen == [50]
    from terrakit.design.align import solve

    with pytest.raises(TypeError) as info:
        solve(build_problem(toy_grid_3x3), solver="mip", max_iterr=5)
    assert str(info.value).count("'max_iter'") == 2  # listed once, and suggested


def test_align_passes_mip_settings_and_names_unknown_keywords(
    toy_grid_3x3, monkeypatch
):
    """align(threads=1) failed with "build_problem() got an unexpected keyword
    argument 'threads'", a function the caller never called; the MIP's own
    settings now reach solve_mip (and the provenance), and an unknown keyword
    lists what align takes, with the close name."""
    import functools

    import terrakit.design.mip as mip

    seen = []
    real = mip.solve_mip

    @functools.wraps(real)  # keeps solve_mip's signature, which align reads
    def spy(problem, **kw):
        seen.append({k: kw.get(k) for k in ("threads", "mip_gap")})
        return real(problem, **kw)

    monkeypatch.setattr(mip, "solve_mip", spy)
    res = align(
        toy_grid_3x3,
        balance={"workload": 0.3},
        solver="mip",
        threads=1,
        mip_gap=0.01,
        weight="workload",
    )
    assert seen == [{"threads": 1, "mip_gap": 0.01}]
    assert res.alignment.provenance["config"]["mip"] == {"threads": 1, "mip_gap": 0.01}
    with pytest.raises(TypeError) as info:
        align(toy_grid_3x3, threadz=2)
    msg = str(info.value)
    assert msg.startswith("align() got unknown keyword(s) ['threadz']")
    assert "did you mean 'threads' for 'threadz'?" in msg and "'weight'" in msg


@pytest.mark.parametrize("bad", ["0.05", 0.05, None])
def test_pareto_values_that_are_no_list_are_explained(toy_grid_3x3, bad):
    """values='0.05' was split into characters ("got ['.', '5']"), 0.05 and
    None raised bare TypeErrors; the message is disruption_front's."""
    with pytest.raises(SpecificationError) as err:
        pareto(toy_grid_3x3, values=bad, time_limit=5)
    assert str(err.value) == (
        "values must be a list of balance tolerances such as [0.2, 0.1, 0.05], "
        f"got {bad!r}"
    )


def test_duplicate_rep_ids_are_refused(toy_grid_3x3):
    """Two reps both labelled R1 were taken as two territories of one name:
    every unit went to "R1", the territory table had two R1 rows and
    to_geodataframe crashed."""
    from terrakit.exceptions import DataValidationError

    reps = toy_grid_3x3.reps.set_axis(["R1", "R1"], axis=0).rename_axis("rep_id")
    with pytest.raises(
        DataValidationError,
        match=r"^reps\.rep_id: 1 ids occur more than once \(rows: 'R1'\)\. Fix: "
        r"make rep_id unique",
    ):
        align(toy_grid_3x3.units, reps, solver="mip", time_limit=5)


@pytest.mark.parametrize(
    ("change", "contiguity", "message"),
    [
        # no travel model: was an error about travel_model.table
        (
            lambda r: r.assign(home_lon=[np.nan, r.home_lon.iloc[1]]),
            True,
            r"^reps\.home_lon: 1 coordinates are missing, infinite or not numbers "
            r"\(rows: 'R1'\)",
        ),
        # was an error about a maximum distance that was never given
        (
            lambda r: r.assign(home_lon=[np.nan, r.home_lon.iloc[1]]),
            False,
            r"^reps\.home_lon: 1 coordinates are missing",
        ),
        # was a bare KeyError
        (
            lambda r: r.drop(columns="home_lat"),
            True,
            r"^reps\.home_lat: required column\(s\) \['home_lat'\] missing .* Fix: "
            r"each rep's territory is centred at the rep's home",
        ),
        # was rooted at the unit nearest the home, silently
        (
            lambda r: r.assign(home_unit=["u33", "u9"]),
            True,
            r"^reps\.home_unit: 1 reps have a home_unit that is not in the units "
            r"table \(unknown: \['u33'\]\) \(rows: 'R1'\)",
        ),
        (
            lambda r: r.iloc[:0],
            True,
            r"^reps: the table has no rows: one territory per rep needs at least "
            r"one rep",
        ),
    ],
    ids=["nan-home", "nan-home-no-contiguity", "no-home-lat", "home-typo", "no-reps"],
)
def test_reps_table_checked_at_the_door(toy_grid_3x3, change, contiguity, message):
    from terrakit.exceptions import DataValidationError

    reps = change(toy_grid_3x3.reps)
    with pytest.raises(DataValidationError, match=message):
        align(
            toy_grid_3x3.units,
            reps,
            contiguity=contiguity,
            solver="mip",
            time_limit=5,
        )


def test_empty_units_table_is_refused(toy_grid_3x3):
    """An empty units table was a numpy ``argmin`` error."""
    from terrakit.exceptions import DataValidationError

    with pytest.raises(
        DataValidationError, match=r"^units: the table has no rows: there is nothing"
    ):
        align(toy_grid_3x3.units.iloc[:0], toy_grid_3x3.reps, time_limit=5)


def test_a_given_home_unit_roots_its_rep_when_another_is_empty(toy_grid_3x3):
    """A rep's home_unit is used where given, the others located from their
    homes (R1 lives in u4, R2 in u9); one empty home_unit used to discard
    them all."""
    units = toy_grid_3x3.units
    reps = toy_grid_3x3.reps.assign(home_unit=["u1", None])
    p = build_problem(units, reps, balance={"workload": 0.5})
    assert list(units.index[np.asarray(p.center_units)]) == ["u1", "u9"]
    p = build_problem(units, reps.assign(home_unit=None), balance={"workload": 0.5})
    assert list(units.index[np.asarray(p.center_units)]) == ["u4", "u9"]


def test_diameter_with_the_mip_is_refused_before_any_work(toy_grid_3x3, monkeypatch):
    """objective="diameter" with solver="mip" was refused by the MIP's model
    build, after its heuristic start had run (a quarter of time_limit)."""
    import terrakit.design.mip as mip

    def no_work(*args, **kwargs):
        raise AssertionError("the MIP path ran")

    monkeypatch.setattr(mip, "_heuristic_start", no_work)
    monkeypatch.setattr(mip, "solve_mip", no_work)
    msg = r'^the MIP does not model objective="diameter"; use solver="heuristic"'
    with pytest.raises(SpecificationError, match=msg):
        align(toy_grid_3x3, objective="diameter", solver="mip", time_limit=30)
    p = build_problem(toy_grid_3x3, objective="diameter", balance={"workload": 0.2})
    with pytest.raises(SpecificationError, match=msg):
        solve(p, solver="mip", time_limit=30)
    monkeypatch.undo()
    monkeypatch.setattr(mip, "_heuristic_start", no_work)
    with pytest.raises(SpecificationError, match=msg):  # called directly
        mip.solve_mip(p, time_limit=30)


def _int_id_tables(toy_grid_3x3):
    """The toy grid's units with integer ids 1..9 (as read from a CSV)."""
    import pandas as pd

    units = toy_grid_3x3.units.set_axis(pd.Index(range(1, 10), name="unit_id"))
    reps = toy_grid_3x3.reps.drop(columns=["home_unit"], errors="ignore")
    return units, reps


@pytest.mark.parametrize(
    ("n_draws", "seen"),
    [
        # draw numbers 0..19 hold every unit id 1..9: reindexing picked draw
        # rows 1..9 as the units' draws, silently
        (
            20,
            "9 of 9 unit ids are among its columns, 9 among its index (shape (20, 9))",
        ),
        # draw numbers 0..3 hold unit ids 1..3: "6 units have no draws"
        (4, "9 of 9 unit ids are among its columns, 3 among its index (shape (4, 9))"),
    ],
)
def test_draws_frame_laid_out_draws_by_units_is_refused(toy_grid_3x3, n_draws, seen):
    """A DataFrame of draws × units (unit ids in the columns) with integer
    unit ids is refused with the transpose fix, whether or not its draw
    numbers collide with unit ids."""
    import pandas as pd

    from terrakit.exceptions import DataValidationError

    units, reps = _int_id_tables(toy_grid_3x3)
    rng = np.random.default_rng(1)
    good = pd.DataFrame(
        10_000 * rng.lognormal(0, 0.1, size=(9, n_draws)), index=units.index
    )
    kw = {"balance": {"workload": 0.3, "potential": 0.2}, "contiguity": False}
    right = build_problem(units, reps, balance_on_draws=good, **kw)
    np.testing.assert_array_equal(right.draws, good.to_numpy())
    with pytest.raises(DataValidationError) as err:
        build_problem(units, reps, balance_on_draws=good.T, **kw)
    assert str(err.value) == (
        f"balance_on_draws: the draws are laid out draws × units: {seen}. Fix: "
        "transpose it: .T, one row per unit id and one column per draw"
    )


def test_draws_rows_that_are_not_units_are_refused(toy_grid_3x3):
    """Rows of draws for ids that are not units were dropped without a word."""
    import pandas as pd

    from terrakit.exceptions import DataValidationError

    ids = toy_grid_3x3.units.index
    draws = pd.DataFrame(np.random.default_rng(0).uniform(1, 2, (9, 4)), index=ids)
    more = pd.concat([draws, draws.loc[["u4", "u6"]].set_axis(["u10", "u11"])])
    with pytest.raises(DataValidationError) as err:
        build_problem(toy_grid_3x3, balance={"potential": 0.25}, balance_on_draws=more)
    assert str(err.value) == (
        "balance_on_draws.index: 2 rows are not units of the study and would be "
        "dropped (rows: 'u10', 'u11'). Fix: give draws for the study's units "
        "only (draws.loc[units.index]), and check that the index holds unit "
        "ids, not draw numbers"
    )


def test_draws_with_text_ids_name_the_id_type(toy_grid_3x3):
    """Draws indexed by "1".."9" where the unit ids are 1..9 (read back from
    a CSV): the units-without-draws error says int, not str."""
    import pandas as pd

    from terrakit.exceptions import DataValidationError

    units, reps = _int_id_tables(toy_grid_3x3)
    draws = pd.DataFrame(
        np.random.default_rng(0).uniform(1, 2, (9, 4)),
        index=units.index.astype(str),
    )
    with pytest.raises(DataValidationError) as err:
        build_problem(units, reps, balance={"potential": 0.25}, balance_on_draws=draws)
    assert str(err.value) == (
        "balance_on_draws.index: 9 units have no draws; the unit ids are int "
        "(1), not str: give 1 (rows: 1, 2, 3, 4, 5 and 4 more). Fix: give one "
        "row of draws per unit id (the index of potential.draws(...).to_pandas())"
    )


def _posterior(draws):
    """Draws (9 units × 10) as a posterior DataArray (chain, draw, unit_id)."""
    import xarray as xr

    return xr.DataArray(
        draws.to_numpy().T.reshape(2, 5, 9),
        dims=("chain", "draw", "unit_id"),
        coords={"unit_id": draws.index},
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            _posterior,
            "balance_on_draws: a DataArray of 3 dims ('chain', 'draw', "
            "'unit_id'); expected 2 (unit, draw). Fix: stack chain and draw "
            "into one dim, units first: draws.stack(sample=('chain', 'draw'))"
            ".transpose('unit_id', 'sample'), or use PotentialResult.draws(), "
            "which does this",
        ),
        (
            lambda d: d.assign(city="Atlanta"),
            "balance_on_draws.city: 1 column not numeric: 'city' ('Atlanta' in "
            "unit 'u1') (rows: 'u1', 'u2', 'u3', 'u4', 'u5' and 4 more). Fix: "
            "drop the columns that are not draws (draws.drop(columns=[...])): "
            "every column must be one numeric draw",
        ),
        (
            lambda d: d.astype("Float64").mask(
                (d.index == "u4")[:, None] & (np.arange(10) == 2), pd.NA
            ),
            "balance_on_draws: 1 draws are missing, infinite or negative (in 1 "
            "units) (rows: 'u4'). Fix: pass draws of a non-negative activity "
            "(e.g. potential) for every unit",
        ),
    ],
    ids=["posterior-chain-draw-unit", "text-column", "Float64-NA"],
)
def test_draws_of_the_wrong_kind_are_named(toy_grid_3x3, make, message):
    """A posterior DataArray (chain, draw, unit), a text column and a
    nullable-Float64 pd.NA were bare xarray / numpy errors."""
    from terrakit.exceptions import DataValidationError

    ids = toy_grid_3x3.units.index
    rng = np.random.default_rng(1)
    draws = pd.DataFrame(10_000 * rng.lognormal(0, 0.1, size=(9, 10)), index=ids)
    with pytest.raises(DataValidationError) as err:
        build_problem(
            toy_grid_3x3,
            balance={"workload": 0.3, "potential": 0.2},
            balance_on_draws=make(draws),
            contiguity=False,
        )
    assert str(err.value) == message


@pytest.mark.parametrize(
    "setting",
    [
        {"mip_gap": -1.0},
        {"mip_gap": float("nan")},
        {"mip_gap": 1.0},
        {"mip_gap": True},
        {"mip_gap": "0.01"},
        {"threads": -2},
        {"threads": 0},
        {"threads": 2.5},
    ],
    ids=repr,
)
def test_bad_mip_gap_and_threads_are_refused_naming_the_setting(toy_grid_3x3, setting):
    """Regression (QA round 19): mip_gap and threads were passed on unchecked:
    CBC with threads=-2 ended in a bare PulpSolverError, CP-SAT with
    threads=-2 or mip_gap=nan in a false "no feasible alignment within 5 s"
    (status time_limit), HiGHS ignored mip_gap=-1; the bad value was
    recorded in the provenance as if used.  align and solve refuse them."""
    ((name, value),) = setting.items()
    want = (
        r"mip_gap must be a relative optimality gap in \[0, 1\), got "
        if name == "mip_gap"
        else r"threads must be a whole number of solver threads ≥ 1, got "
    ) + re.escape(repr(value))
    with pytest.raises(SpecificationError, match=want):
        align(toy_grid_3x3, balance={"workload": 0.2}, solver="mip", **setting)
    problem = build_problem(toy_grid_3x3, balance={"workload": 0.2})
    for backend in ("highs", "cbc", "cpsat"):
        with pytest.raises(SpecificationError, match=want):
            solve(problem, solver="mip", backend=backend, time_limit=5, **setting)
    # the edges of the ranges are taken
    res = solve(
        problem, solver="mip", backend="cpsat", time_limit=5, mip_gap=0, threads=1
    )
    assert res.status == "optimal"


def test_table_stop_minutes_on_every_pair_when_unit_and_rep_ids_coincide(
    toy_grid_3x3,
):
    """Regression (QA round 19): with fixed centers and a from_matrix table,
    a unit whose id equals a rep id (integer ids of both, as CRM exports
    have) lost its stop_minutes, as if it were that rep's home: units 1 and
    2 cost 10 minutes for reps 1 and 2, every other pair 15, and the plan
    followed the ids.  Rep ids are not unit ids: every pair is charged the
    stop, whatever the ids."""
    from terrakit.data.geo import TravelTimeModel

    units = toy_grid_3x3.units.copy()
    units.index = pd.Index(range(1, 10), name="unit_id")  # reps live in 4 and 9
    w = units["workload"].to_numpy()
    costs = []
    for rep_ids in ([1, 2], ["R1", "R2"]):
        reps = toy_grid_3x3.reps.set_axis(pd.Index(rep_ids, name="rep_id"))
        table = pd.DataFrame(10.0, index=units.index, columns=reps.index)
        tm = TravelTimeModel.from_matrix(table, stop_minutes=5)
        p = build_problem(
            units,
            reps,
            balance={"workload": 0.3},
            objective="travel",
            travel_model=tm,
            contiguity=False,
        )
        np.testing.assert_allclose(p.cost, np.outer(w, [15.0, 15.0]))
        costs.append(p.cost)
    np.testing.assert_array_equal(costs[0], costs[1])


def test_to_geodataframe_refuses_units_that_are_not_the_results(toy_grid_3x3):
    """Regression (QA round 19): to_geodataframe(units) reindexed without a
    check, so the same units with their ids as text (read back from a CSV or
    GeoPackage) got territory NaN everywhere, silently.  Ids that are not
    the result's are refused and named, the text/number mix with the
    conversion; a subset of the result's units is fine."""
    from terrakit.exceptions import DataValidationError

    units = toy_grid_3x3.units.copy()
    units.index = pd.Index(range(13101, 13110), name="unit_id")
    res = align(
        units,
        toy_grid_3x3.reps,
        balance={"workload": 0.2},
        solver="mip",
        time_limit=10,
    )
    as_text = units.set_axis(units.index.astype(str))
    with pytest.raises(DataValidationError) as err:
        res.to_geodataframe(as_text)
    msg = str(err.value)
    assert msg.startswith(
        "units: none of the 9 unit ids is a unit of this result, 9 of them "
        "equal to one only as text (e.g. '13101' (str) in the table and 13101 "
        "(int) in the result)"
    )
    assert msg.endswith(
        "(rows: '13101', '13102', '13103', '13104', '13105' and 4 more). Fix: "
        "convert the ids first: units.index = units.index.astype('int64')"
    )
    extra = pd.concat([units, units.iloc[[0]].set_axis(pd.Index([99999]))])
    with pytest.raises(
        DataValidationError,
        match=r"^units: 1 of the 10 unit ids are not units of this result \(it "
        r"has 9 units\); those units would get no territory \(rows: 99999\)",
    ):
        res.to_geodataframe(extra)
    part = res.to_geodataframe(units.iloc[:4])
    assert part["territory_id"].notna().all() and len(part) == 4


def test_heuristic_never_puts_a_unit_on_a_pair_without_a_route():
    """Regression (QA round 19): with contiguity, growing territories from
    their roots (least loaded first) and the band repair put u2 with r1,
    which the travel table gives no route to (infinite minutes), and no
    later step took it back: status 'infeasible' with '1 units at a
    forbidden center' for every seed and time limit, where the MIP proves
    the optimum 1475.14.  The heuristic now finds a feasible plan."""
    import geopandas as gpd
    import shapely

    from terrakit.data.geo import TravelTimeModel

    rng = np.random.default_rng(3)
    w = rng.integers(1, 10, 9).astype(float)
    col, row = np.tile(np.arange(3), 3), np.repeat(np.arange(3), 3)
    units = gpd.GeoDataFrame(
        {"workload": w},
        geometry=shapely.box(
            -84 + col * 0.1, 33 + row * 0.1, -84 + (col + 1) * 0.1, 33 + (row + 1) * 0.1
        ),
        crs="EPSG:4326",
        index=pd.Index([f"u{i}" for i in range(9)], name="unit_id"),
    )
    homes = units.geometry.iloc[[0, 5, 7]].representative_point()
    reps = pd.DataFrame(
        {"home_lon": homes.x.to_numpy(), "home_lat": homes.y.to_numpy()},
        index=pd.Index(["r0", "r1", "r2"], name="rep_id"),
    )
    minutes = pd.DataFrame(
        rng.uniform(5, 60, (9, 3)), index=units.index, columns=reps.index
    )
    minutes.loc["u2", "r1"] = np.inf  # no route from u2 to r1
    p = build_problem(
        units,
        reps,
        balance={"workload": 0.3},
        objective="travel",
        travel_model=TravelTimeModel.from_matrix(minutes, stop_minutes=3),
    )
    assert p.allowed is not None and not p.allowed[2, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = solve(p, solver="heuristic", time_limit=5, seed=0, max_iter=50)
    assert res.status != "infeasible", res.info.get("violations")
    assert res.alignment.assignment["u2"] != "r1"
    assert not res.info.get("violations")
    assert 1475.14 - 1e-2 <= res.objective < 1600


def test_candidates_given_as_an_iterator_are_recorded(toy_grid_3x3):
    """candidates= as a generator: the run chooses among them and the
    provenance records them (it recorded [], the iterator being consumed by
    build_problem)."""
    ids = [f"u{k}" for k in range(1, 10)]
    picked = ["u2", "u5", "u8"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = align(toy_grid_3x3.units, n_territories=2, balance={},
                    contiguity=False, time_limit=5,
                    candidates=(u for u in ids if u in picked))  # fmt: skip
    assert set(res.to_frame()["center"]) <= set(picked)
    config = res.alignment.provenance["config"]
    assert config["candidates"] == picked
    assert res.provenance["config"]["candidates"] == config["candidates"]


def test_reps_living_in_a_split_unit_are_rooted_at_distinct_parts():
    """Strip a(6) b c d e(1) f(2), 4 reps, ±10 %: a is split into a#1, a#2
    (3 each) with a's geometry.  Reps r1 and r2 live inside a: both were
    rooted at a#1 and the design refused ("2 centers sit in the same unit
    'a#1'"), though a#1 / a#2 is solved to 3, 3, 3, 3.  A given home_unit
    keeps its part: r1 located in a gets the other one."""
    import geopandas as gpd
    import shapely

    from terrakit.data.geo import adjacency
    from terrakit.design import split_oversized

    u = gpd.GeoDataFrame(
        {"population": [6.0, 1, 1, 1, 1, 2]},
        geometry=[
            shapely.box(-84 + 0.1 * i, 33, -84 + 0.1 * (i + 1), 33.1) for i in range(6)
        ],
        index=pd.Index(list("abcdef"), name="unit_id"),
        crs="EPSG:4326",
    )
    s = split_oversized(u, "population", 4, 0.1, adjacency=adjacency(u, warn=False))
    reps = pd.DataFrame(
        {"home_lon": [-83.97, -83.93, -83.75, -83.45], "home_lat": [33.05] * 4},
        index=pd.Index(["r1", "r2", "r3", "r4"], name="rep_id"),
    )
    kw = dict(
        balance={"population": 0.1},
        adjacency=s.adjacency,
        time_limit=10,
        seed=0,
        solver="mip",
    )
    res = align(s.units, reps, **kw)
    assert res.status == "optimal"
    a = res.alignment
    assert (a["a#1"], a["a#2"]) == ("r1", "r2")
    assert res.territories["population"].tolist() == [3.0, 3.0, 3.0, 3.0]
    given = reps.assign(home_unit=[None, "a#1", None, None])
    res = align(s.units, given, **kw)
    assert (res.alignment["a#1"], res.alignment["a#2"]) == ("r2", "r1")


def test_targets_without_a_balanced_activity_are_refused(toy_grid_3x3):
    """targets only move the bands' midpoints: with balance={} they changed
    nothing and were recorded as applied (QA20 d2)."""
    with pytest.raises(
        SpecificationError,
        match=r"^targets shape the balance bands, but balance=\{\} balances no "
        r"activity, so they would change nothing; give balance=\{\.\.\.\}",
    ):
        align(toy_grid_3x3, balance={}, targets=[0.6, 0.4], time_limit=5)
    # the band on draws is shaped by them too: taken there
    draws = np.ones((9, 4))
    p = build_problem(
        toy_grid_3x3, balance={}, targets=[0.6, 0.4], balance_on_draws=draws
    )
    assert p.targets.tolist() == [0.6, 0.4]


def test_max_deviation_is_none_without_a_balanced_activity(toy_grid_3x3):
    """It was 0.0 and summary() printed "0.00 %" next to workloads far
    apart (QA20 d3)."""
    res = align(
        toy_grid_3x3, balance={}, weight="workload", time_limit=10, solver="mip"
    )
    assert math.isnan(res.max_deviation)
    lines = res.summary().splitlines()
    assert lines[4] == "  max deviation from target: none (no balanced activity)"
    banded = align(toy_grid_3x3, balance={"workload": 0.2}, time_limit=10)
    dev = banded.territories["workload_dev"].abs().max()
    assert banded.max_deviation == pytest.approx(dev)
    line = banded.summary().splitlines()[4]
    assert line == f"  max deviation from target: {100 * dev:.2f} %"


def test_pareto_takes_a_list_of_activity_names(toy_grid_3x3):
    """pareto sets every tolerance itself; a list of names ended in
    "dictionary update sequence element #0 has length 8" (QA20 d5)."""
    kw = dict(values=[0.2, 0.4], time_limit=10, solver="mip")
    named = pareto(toy_grid_3x3, balance=["workload"], **kw)
    mapped = pareto(toy_grid_3x3, balance={"workload": 0.03}, **kw)
    pd.testing.assert_frame_equal(named, mapped)
    for bad in ("workload", 0.1):
        with pytest.raises(
            SpecificationError,
            match=r"^balance must map each balanced activity to its tolerance, "
            r'.*a list of activity names such as \["workload", "accounts"\] will '
            r"do\); got ",
        ):
            pareto(toy_grid_3x3, balance=bad, **kw)


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("no", "'no' (str)"),
        ("False", "'False' (str)"),
        (None, "None (NoneType)"),
        (1, "1"),
    ],
)
def test_contiguity_must_be_true_or_false(toy_grid_3x3, given, shown):
    """bool("no") is True: text from a config file switched contiguity on,
    None off, in silence (QA20 d6)."""
    with pytest.raises(
        SpecificationError,
        match=r"^contiguity must be True or False, got "
        + re.escape(shown)
        + "; True keeps every territory one connected piece",
    ):
        align(toy_grid_3x3, contiguity=given, balance={"workload": 0.5})
    with pytest.raises(SpecificationError, match=r"^contiguity must be True or"):
        build_problem(toy_grid_3x3, contiguity=given)


def test_contiguity_takes_numpy_bools(toy_grid_3x3):
    assert build_problem(toy_grid_3x3, contiguity=np.False_).contiguity is False
    assert build_problem(toy_grid_3x3, contiguity=np.True_).contiguity is True


@pytest.mark.parametrize("given", [True, np.True_])
def test_time_limit_true_is_refused(toy_grid_3x3, given):
    """check_time_limit took True as 1 s, while seed=True and max_iter=True
    are refused (QA20 d6)."""
    from terrakit._runargs import check_time_limit

    message = rf"^time_limit must be a positive number of seconds, got {given!r}$"
    with pytest.raises(SpecificationError, match=message):
        check_time_limit(given)
    with pytest.raises(SpecificationError, match=message):
        align(toy_grid_3x3, balance={"workload": 0.5}, time_limit=given)
    assert check_time_limit(1) == 1.0 and check_time_limit("2.5") == 2.5


def test_draws_settings_without_balance_on_draws_warn(toy_grid_3x3):
    """They were ignored in silence, and draws_tolerance recorded as if a
    band on draws had been enforced (QA20 d7)."""
    kw = dict(balance={"workload": 0.2}, time_limit=10, solver="mip")
    with pytest.warns(
        TerrakitWarning,
        match=r"^draws_tolerance=0\.1 and draws_share=0\.5 set the band of the "
        r"balance on draws; without balance_on_draws there is none and they are "
        r"ignored",
    ):
        res = align(toy_grid_3x3, draws_tolerance=0.1, draws_share=0.5, **kw)
    cfg = res.provenance["config"]
    assert cfg["draws_tolerance"] is None and cfg["draws_share"] is None
    with pytest.warns(TerrakitWarning, match=r"^draws_tolerance=0\.1 set the band"):
        align(toy_grid_3x3, draws_tolerance=0.1, **kw)
    # with the draws they are used, recorded, and nothing is said
    draws = np.tile(toy_grid_3x3.units[["workload"]].to_numpy(float), (1, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)
        used = align(
            toy_grid_3x3,
            balance_on_draws=draws,
            draws_tolerance=0.1,
            draws_share=0.5,
            **kw,
        )
    cfg = used.provenance["config"]
    assert cfg["draws_tolerance"] == 0.1 and cfg["draws_share"] == 0.5


def test_candidates_with_one_territory_per_rep_name_the_fix(toy_grid_3x3):
    """n_territories equal to the number of reps means one territory per
    rep; the message told the caller to pass n_territories, which they had
    (QA20 d8).  The fix it gives works."""
    cand = ["u1", "u5", "u9"]
    kw = dict(balance={"workload": 0.5}, time_limit=10)
    with pytest.raises(SpecificationError) as err:
        align(toy_grid_3x3, n_territories=2, candidates=cand, **kw)
    assert str(err.value) == (
        "n_territories=2 equals the number of reps (2), which means one territory "
        "per rep, centered at the reps' homes: candidates= has no centers to "
        "pick; to choose 2 centers among the candidates, pass the units table "
        "without reps, e.g. align(study.unit_measures(), n_territories=2, "
        "candidates=[...])"
    )
    res = align(toy_grid_3x3.unit_measures(), n_territories=2, candidates=cand, **kw)
    assert set(res.centers) <= set(cand) and len(res.centers) == 2

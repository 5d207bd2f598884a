"""What the engine says when a specification cannot be met."""

from __future__ import annotations

import numpy as np
import pytest

import terrakit as tk
from terrakit.design import align, build_problem
from terrakit.design import pareto as align_pareto
from terrakit.design.problem import DesignProblem
from terrakit.exceptions import InfeasibleError, SpecificationError


def test_fixed_centers_with_an_infeasible_balance_lp_raise_with_the_bands() -> None:
    """Georgia's ten reps at ±1 % workload and ±2 % sales, contiguous: even
    split units cannot meet both bands with each rep's home county in its own
    territory (the LP relaxation of the MIP says so too).  The heuristic used
    to return a 'closest plan' with all 159 counties in one territory; it now
    raises InfeasibleError naming the bands."""
    from terrakit.design._model import solve_model
    from terrakit.design.mip import build_model

    st = tk.load_sample("southeast")
    ga = st.units[st.units.state == "GA"]
    reps = st.reps[st.reps.state == "GA"]
    bal = {"workload": 0.01, "sales": 0.02}
    with pytest.raises(InfeasibleError) as err:
        align(ga, reps, balance=bal, solver="heuristic", time_limit=5)
    msg = str(err.value)
    assert "the bands on 'workload' within [822.505, 839.121] and 'sales'" in msg
    assert "cannot be met together with each rep's home unit in its own" in msg
    assert "even if units could be split" in msg
    p = build_problem(ga, reps, balance=bal)
    out = solve_model(build_model(p).model, relax=True, time_limit=30)
    assert out.status == "infeasible"


def test_violations_name_the_empty_territories_of_chosen_centers() -> None:
    """A chosen-centers plan that uses fewer centers than territories: the
    empty ones are listed (this raised IndexError, e.g. with
    max_distance_km)."""
    cost = np.abs(np.subtract.outer(np.arange(6.0), np.arange(6.0)))
    p = DesignProblem.from_cost_matrix(
        cost, {"w": np.ones(6)}, 3, tolerance={"w": 0.1}, center_mode="choose"
    )
    broken = p.violations(np.zeros(6, dtype=np.int64))
    assert any("(empty territory 2) is 0, outside [1.8, 2.2]" in v for v in broken)
    assert any("(empty territory 3) is 0" in v for v in broken)


def test_chosen_centers_with_max_distance_return_a_plan() -> None:
    """The sample's NC Piedmont at three chosen centers within 80 km: a
    result comes back (it raised IndexError), every unit at an allowed
    center."""
    import warnings

    st = tk.load_sample("southeast")
    units = st.units[st.units.region.isin(["NC-Piedmont", "NC-Central"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = align(
            units, n_territories=3, balance={"workload": 0.1}, max_distance_km=80,
            solver="heuristic", max_iter=100, time_limit=4,
        )  # fmt: skip
    assert res.alignment.assignment.notna().all()
    assert res.status in ("feasible", "time_limit", "infeasible")


def test_locks_with_the_home_unit_over_a_band_are_refused_before_solving() -> None:
    """With contiguity each rep's home unit is in its own territory: locks
    that add units to it are checked with the home unit counted (R01: home
    Fulton 604.42 + locked 13063 260.92 and 13045 166.75 = 1032.09 >
    955.435 at ±15 %)."""
    st = tk.load_sample("southeast")
    ga = st.unit_measures().loc[st.units.state == "GA"]
    reps = st.reps[st.reps.state == "GA"]
    locked = {"13063": ("R01", "key"), "13045": ("R01", "key")}
    with pytest.raises(SpecificationError) as err:
        align(ga, reps, balance={"workload": 0.15}, locked=locked,
              solver="mip", time_limit=4)  # fmt: skip
    msg = str(err.value)
    assert "locked to territory 'R01' and its home unit already carry 1032.09" in msg
    assert (
        "('13063' 260.92 + '13045' 166.75 + '13121' 604.42 (home unit)), above its "
        "upper" in msg
    )
    # without contiguity the home unit is not forced in: allowed
    p = build_problem(
        ga, reps, balance={"workload": 0.15}, locked=locked, contiguity=False
    )
    p.check()
    # a lock of another rep's home unit (DeKalb, R04's) is refused first
    with pytest.raises(SpecificationError, match="it is the home unit of 'R04'"):
        build_problem(ga, reps, balance={"workload": 0.15},
                      locked={"13089": "R01"}).check()  # fmt: skip


def test_pareto_keeps_a_closest_plan_off_the_front(
    toy_grid_3x3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tolerance at which the heuristic only finds a plan that breaks a band
    (made so here) is a row of NaNs with what the closest plan breaks as its
    reason, as pareto's docstring says; it used to be a point of the front
    with gap inf, and the warning leaked."""
    import importlib
    import math
    import warnings

    from terrakit.design.result import AlignmentResult

    mod = importlib.import_module("terrakit.design.align")
    real = mod.solve

    def fake(problem, **kw):
        if problem.tolerance.get("workload", 1.0) > 0.15:
            return real(problem, **kw)
        cols = np.zeros(problem.n_units, dtype=np.int64)
        return AlignmentResult.from_columns(
            problem, cols, status="infeasible", lower_bound=-math.inf,
            method="heuristic", seconds=0.1, seed=0,
            info={"violations": problem.violations(cols)},
        )  # fmt: skip

    monkeypatch.setattr(mod, "solve", fake)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        front = align_pareto(toy_grid_3x3, values=[0.1, 0.3], solver="heuristic",
                             time_limit=5, max_iter=200)  # fmt: skip
    row = front.set_index("value").loc[0.1]
    # no plan found, and none proven impossible
    assert row["status"] == "not_found" and math.isnan(row["objective"])
    assert "the closest breaks 3 constraint(s): workload of territory" in row["reason"]
    assert front.set_index("value").loc[0.3, "status"] != "infeasible"


@pytest.mark.parametrize(
    ("candidates", "message"),
    [
        (["u1", "u1", "u5"], r"candidates list \['u1'\] more than once"),
        (["u1", "u5"], "2 candidates for 3 territories: give at least 3"),
    ],
)
def test_bad_candidate_lists_are_refused(toy_grid_3x3, candidates, message) -> None:
    with pytest.raises(SpecificationError, match=message):
        align(toy_grid_3x3, n_territories=3, candidates=candidates, time_limit=5)


def test_units_beyond_every_home_are_named_with_their_distance() -> None:
    """Fixed centers: the units no rep home reaches within max_distance_km
    are named, farthest first, with the km to their nearest home and the
    least limit that reaches them all."""
    st = tk.load_sample("southeast")
    units = st.units[st.units.region.isin(["NC-Piedmont", "NC-Central"])]
    reps = st.reps.loc[["R12", "R13", "R14", "R15"]]
    with pytest.raises(SpecificationError) as err:
        align(units, reps, balance={"workload": 0.9}, max_distance_km=30, time_limit=4)
    msg = str(err.value)
    assert msg.startswith("max_distance_km=30 leaves 40 units beyond every rep home")
    assert "(nearest: '37019' 191.1 km, '37047' 173.9 km" in msg
    assert "raise max_distance_km to at least 191.1 or add reps near them" in msg


def test_chosen_centers_that_cannot_reach_every_unit_blame_the_distance() -> None:
    """Three chosen centers cannot reach every unit within 20 km: the MIP's
    diagnosis names the distance limit (it blamed the ±90 % workload band)."""
    st = tk.load_sample("southeast")
    units = st.units[st.units.region.isin(["NC-Piedmont", "NC-Central"])]
    with pytest.raises(
        InfeasibleError,
        match="no 3 territories reach every unit "
        "within max_distance_km, whatever the bands; raise "
        "max_distance_km or n_territories",
    ):
        align(units, n_territories=3, balance={"workload": 0.9}, contiguity=False,
              max_distance_km=20, solver="mip", time_limit=10)  # fmt: skip


@pytest.mark.parametrize(
    ("solver", "balance"),
    [("auto", {}), ("mip", {"workload": 0.5}), ("heuristic", {"workload": 0.5})],
)
def test_chosen_center_locks_are_refused_before_any_solver(solver, balance) -> None:
    """Locks to three chosen centers with two territories: every path says so
    (the heuristic raised a bare IndexError, the MIP blamed the band); a
    center's own unit locked to another center is refused naming both locks
    (the MIP blamed the band or max_distance_km)."""
    from terrakit.data import synthetic

    units = synthetic.toy_grid(4, 4, n_reps=2, seed=5).units
    kw = dict(contiguity=False, solver=solver, time_limit=3)
    with pytest.raises(SpecificationError) as err:
        align(units, n_territories=2, balance=balance,
              locked={"u1": "u1", "u8": "u8", "u16": "u16"}, **kw)  # fmt: skip
    assert str(err.value) == (
        "units are locked to 3 different centers (u1, u8, u16) but only 2 "
        "territories are chosen; unlock units or use n_territories ≥ 3"
    )
    with pytest.raises(SpecificationError) as err:
        align(units, n_territories=3, balance=balance,
              locked={"u1": "u3", "u3": "u11"}, **kw)  # fmt: skip
    assert str(err.value) == (
        "the locks contradict each other: unit 'u1' is locked to center 'u3', "
        "which sits in unit 'u3', but 'u3' is locked to center 'u11'; a chosen "
        "center serves its own unit: unlock 'u1', or lock 'u3' to 'u3' instead "
        "of 'u11'"
    )


def _strip_with_crossed_locks(balance: dict[str, float]) -> DesignProblem:
    """1 × 5 strip u0..u4, reps 'west' (home u0) and 'east' (home u4); u1
    locked to east and u3 to west: each territory would have to cross the
    other's locked unit, whatever the band."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    units = gpd.GeoDataFrame(
        {"workload": np.ones(5)},
        geometry=[
            shapely.box(-84 + c * 0.1, 33, -84 + (c + 1) * 0.1, 33.1) for c in range(5)
        ],
        crs="EPSG:4326",
        index=pd.Index([f"u{i}" for i in range(5)], name="unit_id"),
    )
    pts = units.geometry.iloc[[0, 4]].representative_point()
    reps = pd.DataFrame(
        {"home_lon": pts.x.values, "home_lat": pts.y.values},
        index=pd.Index(["west", "east"], name="rep_id"),
    )
    locked = {"u1": ("east", "key account"), "u3": ("west", "key account")}
    return build_problem(units, reps, balance=balance, locked=locked, contiguity=True)


@pytest.mark.parametrize("balance", [{"workload": 0.5}, {}])
def test_locks_contiguity_cannot_honour_are_blamed_not_the_band(balance) -> None:
    """The MIP's diagnosis names the locks when contiguity cannot honour them
    whatever the bands (it blamed the ±50 % band, or with no band told to
    loosen the tolerances).  Solved without the pre-solve checks, which
    may refuse this strip before any solve: the diagnosis is tested."""
    from terrakit.design.mip import solve_mip

    p = _strip_with_crossed_locks(balance)
    with pytest.raises(InfeasibleError) as err:
        solve_mip(p, time_limit=10, check=False)
    msg = str(err.value)
    assert (
        "the locks ('u1' to 'east', 'u3' to 'west') cannot be honoured with "
        "contiguous territories, whatever the bands:" in msg
    )
    assert "unlock or re-lock those units, or set contiguity=False" in msg
    assert "tolerance" not in msg and "band on" not in msg


def test_locks_that_each_reach_their_home_but_not_together_are_named() -> None:
    """3 × 3 rook grid, homes in the top corners (west u0, east u2), u8
    (bottom right) locked to west and u6 (bottom left) to east: each locked
    unit alone reaches its home through free units, but the two territories
    would have to cross.  The diagnosis names the locks, not the band."""
    from terrakit.design.mip import solve_mip

    from .conftest import grid_adjacency, grid_xy

    xy = grid_xy(3, 3)
    centers = np.array([0, 2])
    p = DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(9)]),
        activities={"workload": np.ones(9)},
        tolerance={"workload": 0.5},
        n_territories=2,
        cost=((xy[:, None, :] - xy[centers][None, :, :]) ** 2).sum(-1),
        center_units=centers,
        center_ids=("west", "east"),
        adjacency=grid_adjacency(3, 3),
        contiguity=True,
        locked={8: 0, 6: 1},
        name="crossed",
    )
    with pytest.raises(InfeasibleError) as err:
        solve_mip(p, time_limit=10)
    assert str(err.value) == (
        "the design problem 'crossed' is infeasible (mip/highs): the locks "
        "('u6' to 'east', 'u8' to 'west') cannot be honoured with contiguous "
        "territories, whatever the bands: a territory must reach each unit "
        "locked to it from its center's unit (the rep's home unit) without "
        "crossing units locked to other territories or their centers' units; "
        "unlock or re-lock those units, or set contiguity=False"
    )


def test_max_distance_without_a_band_is_named() -> None:
    """Chosen centers, no band: three towns about 111 km apart cannot be
    served by two centers within 20 km.  The diagnosis names
    max_distance_km as it does with a band (it said only 'no alignment
    meets all constraints')."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    lon = [0.0, 0.05, 1.0, 1.05, 2.0, 2.05]
    units = gpd.GeoDataFrame(
        {"workload": np.ones(6)},
        geometry=[Point(x, 0.0) for x in lon],
        index=pd.Index([f"u{i}" for i in range(6)], name="unit_id"),
        crs=4326,
    )
    for balance in ({}, {"workload": 0.9}):
        with pytest.raises(InfeasibleError) as err:
            align(units, n_territories=2, balance=balance, contiguity=False,
                  max_distance_km=20, time_limit=5)  # fmt: skip
        assert str(err.value).endswith(
            "no 2 territories reach every unit within max_distance_km, whatever "
            "the bands; raise max_distance_km or n_territories"
        ), balance

"""The exact path: hand-checkable optima, bands, contiguity, locks, time limits."""

from __future__ import annotations

import math
import re
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from terrakit.design.mip import solve_mip
from terrakit.design.problem import DesignProblem
from terrakit.exceptions import InfeasibleError, SpecificationError, TimeLimitWarning

from .conftest import grid_adjacency, grid_xy


@pytest.mark.parametrize("backend", ["highs", "pulp-highs", "cbc", "cpsat"])
def test_grid3x3_optimum_every_backend(grid3x3_problem, backend):
    res = solve_mip(grid3x3_problem, backend=backend, time_limit=20)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(14.0)
    assert res.lower_bound == pytest.approx(14.0, abs=1e-6)
    assert res.gap == pytest.approx(0.0, abs=1e-6)
    assert grid3x3_problem.violations(res.columns) == []
    sizes = res.territories["n_units"].tolist()
    assert sorted(sizes) == [4, 5]


def test_grid3x3_cut_edges(grid3x3_problem):
    """Two contiguous territories of 4 and 5 cells cut at least 4 grid edges."""
    res = solve_mip(grid3x3_problem.replace(objective="cut_edges"), time_limit=20)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(4.0)


def test_grid3x3_chosen_centers_cuts_equal_flow(grid3x3_problem):
    xy = grid_xy(3, 3)
    p = grid3x3_problem.replace(
        center_mode="choose",
        cost=((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1),
        center_units=np.arange(9),
        center_ids=None,
        territory_ids=None,
    )
    flow = solve_mip(p, contiguity_method="flow", time_limit=20)
    cuts = solve_mip(p, contiguity_method="cuts", time_limit=20)
    assert flow.objective == pytest.approx(cuts.objective)
    assert p.violations(flow.columns) == [] and p.violations(cuts.columns) == []


def test_infeasible_band_is_named(grid3x3_problem):
    """9 unit workloads cannot split into two halves of exactly 4.5."""
    p = grid3x3_problem.replace(tolerance={"workload": 0.0})
    with pytest.raises(InfeasibleError, match=r"the band on 'workload' \(±0 %\)"):
        solve_mip(p, time_limit=10)


def test_nothing_found_in_time_says_infeasibility_was_not_proved(
    grid3x3_problem, monkeypatch
):
    """The MIP stopped at its limit with no alignment and the heuristic
    fallback found none either: InfeasibleError says it proved nothing and how
    to give the search more room (not that the problem is infeasible)."""
    from terrakit.design import mip
    from terrakit.design._model import SolveOutcome

    def stopped(*args, **kwargs):
        return SolveOutcome("time_limit", None, math.inf, 0.0, 0.0, 1.0)

    monkeypatch.setattr(mip, "solve_model", stopped)
    monkeypatch.setattr(mip, "_fallback", lambda *args: None)
    with pytest.raises(
        InfeasibleError,
        match=r"found no feasible alignment within 1 s \(it stopped after .* s\) "
        r"and did not prove "
        r'infeasibility; raise time_limit or use solver="heuristic"',
    ):
        solve_mip(grid3x3_problem, time_limit=1)


def test_nothing_found_in_time_returns_the_heuristics_closest_plan(
    grid3x3_problem, monkeypatch
):
    """The MIP stopped at its limit with no alignment, and the heuristic found
    only a plan that breaks a band: that closest plan comes back with status
    'infeasible' and a TimeLimitWarning saying what it breaks (an
    InfeasibleError, which means a proof, was raised before)."""
    from terrakit.design import mip
    from terrakit.design._model import SolveOutcome
    from terrakit.design.result import AlignmentResult

    def stopped(*args, **kwargs):
        return SolveOutcome("time_limit", None, math.inf, 0.0, 0.0, 1.0)

    cols = np.zeros(grid3x3_problem.n_units, dtype=np.int64)
    closest = AlignmentResult.from_columns(
        grid3x3_problem, cols, status="infeasible", lower_bound=-math.inf,
        method="heuristic", seconds=0.1, seed=0,
        info={"violations": grid3x3_problem.violations(cols)},
    )  # fmt: skip
    monkeypatch.setattr(mip, "solve_model", stopped)
    monkeypatch.setattr(mip, "_fallback", lambda *args: closest)
    with pytest.warns(
        TimeLimitWarning,
        match=r"did not prove infeasibility, and the "
        r"heuristic found none in .*breaks: workload of territory",
    ):
        res = solve_mip(grid3x3_problem, time_limit=1)  # fmt: skip
    assert res.status == "infeasible" and res is closest


def test_locks_honoured(grid3x3_problem):
    p = grid3x3_problem.replace(locked={2: 0, 6: 0}, lock_reasons={2: "key account"})
    res = solve_mip(p, time_limit=20)
    assert res.columns[2] == 0 and res.columns[6] == 0
    assert res.provenance["locked_reasons"] == {"u2": "key account"}
    assert p.violations(res.columns) == []
    # u0, u1, u2, u3, u4, u6 is too many for ±20 % with the 0/1 tie units
    assert res.objective >= 14.0


def _ring_with_hole() -> DesignProblem:
    """3×3 grid without its middle cell u4 (a hole): a ring of 8 units."""
    keep = [0, 1, 2, 3, 5, 6, 7, 8]
    adj = grid_adjacency(3, 3, skip=(4,))[keep][:, keep]
    xy = grid_xy(3, 3)[keep]
    centers = np.array([0, 7])  # u0 and u8 in the kept order
    return DesignProblem(
        unit_ids=np.array([f"u{i}" for i in keep]),
        activities={"workload": np.ones(8)},
        tolerance={"workload": 0.0},
        n_territories=2,
        cost=((xy[:, None, :] - xy[centers][None, :, :]) ** 2).sum(-1),
        center_units=centers,
        adjacency=adj,
        contiguity=True,
    )


def test_contiguity_around_a_hole():
    p = _ring_with_hole()
    res = solve_mip(p, time_limit=20)
    assert res.status == "optimal"
    for t in range(2):
        idx = np.flatnonzero(res.columns == t)
        assert idx.size == 4
        n_pieces, _ = connected_components(p.adjacency[idx][:, idx], directed=False)
        assert n_pieces == 1


def test_island_raises_before_solving():
    p = _ring_with_hole()
    n = p.n_units + 1
    adj = sp.block_diag([p.adjacency, sp.csr_matrix((1, 1))]).tocsr()
    q = DesignProblem(
        unit_ids=np.append(p.unit_ids, "island"),
        activities={"workload": np.ones(n)},
        tolerance={"workload": 0.2},
        n_territories=2,
        cost=np.vstack([p.cost, [[9.0, 9.0]]]),
        center_units=p.center_units,
        adjacency=adj,
        contiguity=True,
    )
    with pytest.raises(SpecificationError, match="unit 'island' lies in an island"):
        solve_mip(q, time_limit=5)
    # explicit handling: without contiguity it is assigned like any unit
    res = solve_mip(q.replace(contiguity=False), time_limit=5)
    assert res.status == "optimal"


def test_determinism(grid3x3_problem):
    a = solve_mip(grid3x3_problem, seed=3, time_limit=20)
    b = solve_mip(grid3x3_problem, seed=3, time_limit=20)
    np.testing.assert_array_equal(a.columns, b.columns)
    assert a.summary() == b.summary()


@pytest.mark.parametrize("backend", ["highs", "cbc"])
def test_time_limit_returns_best_feasible(backend):
    """A capacitated choose-centers instance that neither backend closes in
    0.5 s (CBC gets 1 s, its least): the best plan comes back with a valid
    bound.  The optimum is 947 (HiGHS proves it in about 13 s)."""
    rng = np.random.default_rng(7)
    n = 80
    xy = rng.uniform(0, 100, size=(n, 2))
    d = np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)))
    dem = rng.integers(1, 20, size=n).astype(float)
    p = DesignProblem(
        unit_ids=np.arange(n),
        activities={"demand": dem},
        n_territories=8,
        cost=d,
        center_mode="choose",
        upper={"demand": dem.sum() / 8 * 1.05},
        center_units=np.arange(n),
    )
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            res = solve_mip(p, time_limit=0.5, backend=backend)
        except InfeasibleError as e:  # no feasible answer at all in 0.5 s
            pytest.skip(f"no incumbent within the limit on this machine: {e}")
    if res.status == "optimal":
        pytest.skip("solved to optimality within 0.5 s on this machine")
    assert res.status == "time_limit"
    assert any(issubclass(w.category, TimeLimitWarning) for w in rec)
    assert p.violations(res.columns) == []
    assert res.lower_bound <= res.objective and res.gap > 0
    # a valid, finite bound (CBC's read from its log, not -inf); when the MIP
    # returned the plan after its root node (not the heuristic fallback, and
    # not stopped inside the root LP on a loaded machine, where the bound is
    # still the trivial 0), its own bound
    assert 0 <= res.lower_bound <= 947
    if res.method == f"mip/{backend}" and res.info.get("nodes", 1) > 0:
        assert res.lower_bound >= 900


def test_cbc_bound_from_its_log():
    """The bound comes from the summary line, else the last partial-search
    line, less half a unit of the last printed digit (CBC rounds)."""
    from terrakit.design._model import _cbc_bound

    log = (
        "Cbc0005I Partial search - best objective 5130 (best possible 5094.3724),"
        " took 9435 iterations\n"
        "Result - Stopped on time limit\n\n"
        "Objective value:                5130.00000000\n"
        "Lower bound:                    5094.372\n"
    )
    assert _cbc_bound(log) == pytest.approx(5094.3715)
    assert _cbc_bound(log.split("Result")[0]) == pytest.approx(5094.37235)
    assert _cbc_bound("Lower bound: 33.000\n") < 33  # may be 32.9996 unrounded
    assert _cbc_bound("Lower bound: 7.1229e+07\n") == pytest.approx(71228500)
    assert _cbc_bound("Result - Optimal solution found\n") == -math.inf


def _mip_without_incumbent(monkeypatch, *, sleep: bool) -> list[float]:
    """Make the MIP end without an alignment (after its whole limit when
    ``sleep``) and record the time limits the heuristic is given."""
    import terrakit.design.heuristic as heuristic
    import terrakit.design.mip as mip
    from terrakit.design._model import SolveOutcome

    def no_incumbent(model, *, time_limit, **kw):
        if sleep:
            time.sleep(time_limit)
        return SolveOutcome("no_solution", None, math.inf, -math.inf, 0.0, time_limit)

    given: list[float] = []
    real = heuristic.solve_heuristic

    def recording(problem, *, time_limit, seed, max_iter=None):
        given.append(time_limit)
        return real(problem, time_limit=time_limit, seed=seed, max_iter=max_iter)

    monkeypatch.setattr(mip, "solve_model", no_incumbent)
    monkeypatch.setattr(heuristic, "solve_heuristic", recording)
    return given


def test_no_incumbent_falls_back_within_the_time_left(grid3x3_problem, monkeypatch):
    """When the MIP ends its limit without any alignment, the heuristic's
    answer comes back with a TimeLimitWarning, and the heuristic only gets
    the time left (at least a tenth of the limit), not a second full limit."""
    given = _mip_without_incumbent(monkeypatch, sleep=True)
    with pytest.warns(TimeLimitWarning, match="returning the heuristic's answer"):
        res = solve_mip(grid3x3_problem, time_limit=1.0, heuristic_start=False)
    assert given and given[0] == pytest.approx(0.1, abs=1e-9)
    # the heuristic proves this tiny grid optimal; otherwise "time_limit"
    assert res.status in ("optimal", "time_limit")
    assert grid3x3_problem.violations(res.columns) == []


def test_no_incumbent_after_the_heuristic_start_reuses_its_run(
    grid3x3_problem, monkeypatch
):
    """When the heuristic already ran for the MIP start, a MIP that finds
    nothing returns that run's answer: the heuristic does not run again past
    the limit."""
    given = _mip_without_incumbent(monkeypatch, sleep=False)
    with pytest.warns(TimeLimitWarning, match="returning the heuristic's answer"):
        res = solve_mip(grid3x3_problem, time_limit=4.0, heuristic_start=True)
    assert given == [pytest.approx(1.0)]  # the start's quarter, once
    assert grid3x3_problem.violations(res.columns) == []


def test_heuristic_start_is_handed_to_the_mip(grid3x3_problem, monkeypatch):
    """Contiguous with fixed centers: the heuristic runs first (a quarter of
    the limit at most) and its plan is the MIP's start; the MIP's answer is
    no worse."""
    import terrakit.design.mip as mip

    starts: list[object] = []
    real = mip.solve_model

    def recording(model, **kw):
        starts.append(kw.get("start"))
        return real(model, **kw)

    monkeypatch.setattr(mip, "solve_model", recording)
    res = solve_mip(grid3x3_problem, time_limit=20)
    assert res.status == "optimal" and res.objective == pytest.approx(14.0)
    assert res.info["heuristic_start"] >= res.objective - 1e-9
    assert starts and starts[0]  # a non-empty warm start
    starts.clear()
    res = solve_mip(grid3x3_problem, time_limit=20, heuristic_start=False)
    assert "heuristic_start" not in res.info and starts == [None]
    # neither contiguity nor a band: no start unless asked for
    res = solve_mip(
        grid3x3_problem.replace(contiguity=False, tolerance={}), time_limit=20
    )
    assert "heuristic_start" not in res.info


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(4, 9),
    tau=st.sampled_from([0.1, 0.25, 0.5]),
    seed=st.integers(0, 10_000),
    contiguity=st.booleans(),
)
def test_bands_respected_on_random_instances(n, tau, seed, contiguity):
    rng = np.random.default_rng(seed)
    xy = grid_xy(n, 1)
    w = rng.uniform(1, 5, size=n)
    centers = np.array([0, n - 1])
    p = DesignProblem(
        unit_ids=np.arange(n),
        activities={"workload": w, "potential": rng.uniform(1, 5, size=n)},
        tolerance={"workload": tau, "potential": 0.5},
        n_territories=2,
        cost=w[:, None] * ((xy[:, None, :] - xy[centers][None, :, :]) ** 2).sum(-1),
        center_units=centers,
        adjacency=grid_adjacency(n, 1),
        contiguity=contiguity,
    )
    try:
        res = solve_mip(p, time_limit=5)
    except (SpecificationError, InfeasibleError):
        return
    assert p.violations(res.columns) == []
    assert res.lower_bound <= res.objective + 1e-6


def _two_grids(seed: int) -> DesignProblem:
    """Two 4×3 grids side by side but not adjacent (24 units), two fixed
    centers in each, random workloads, ±15 %."""
    rng = np.random.default_rng(seed)
    a = grid_adjacency(4, 3)
    adj = sp.block_diag([a, a]).tocsr()
    xy = np.vstack([grid_xy(4, 3), grid_xy(4, 3) + np.array([10.0, 0.0])])
    centers = np.array([0, 11, 12, 23])
    return DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(24)]),
        activities={"workload": rng.uniform(0.5, 1.5, 24)},
        tolerance={"workload": 0.15},
        n_territories=4,
        cost=((xy[:, None, :] - xy[centers][None, :, :]) ** 2).sum(-1),
        center_units=centers,
        adjacency=adj,
        contiguity=True,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pieces_solved_apart_give_the_joint_optimum(seed):
    """Each connected piece is its own MIP; the answer is the joint model's."""
    from terrakit.design._model import solve_model
    from terrakit.design.mip import build_model

    p = _two_grids(seed)
    joint = solve_model(build_model(p).model, backend="highs", time_limit=60)
    assert joint.status == "optimal"
    res = solve_mip(p, time_limit=30)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(joint.objective, rel=1e-6)
    assert res.lower_bound == pytest.approx(res.objective, rel=1e-4)
    assert p.violations(res.columns) == []
    rows = res.info["pieces"]
    assert [r["units"] for r in rows] == [12, 12]
    assert sum(r["objective"] for r in rows) == pytest.approx(res.objective)
    # no territory leaves its piece
    assert set(res.columns[:12]) <= {0, 1} and set(res.columns[12:]) <= {2, 3}


def test_infeasible_piece_is_named():
    """The pieces' totals fit their bands, but one piece cannot be split."""
    p = _two_grids(0)
    w = np.ones(24)
    w[17] = 10.0  # the second piece: 11 + 10 = 21 for two bands of exactly 10.5
    q = p.replace(
        activities={"workload": w},
        lower={"workload": [6, 6, 10.5, 10.5]},
        upper={"workload": [6, 6, 10.5, 10.5]},
        tolerance={},
    )
    q.check()
    with pytest.raises(InfeasibleError) as e:
        solve_mip(q, time_limit=30)
    msg = str(e.value)
    assert msg == (
        "no territory can leave its connected piece, and in the piece of 12 units "
        "holding territories 'u12', 'u23': the design problem 'problem (piece 2 "
        "of 2)' is infeasible (mip/highs): the band on 'workload' cannot be met "
        "on its own, even without contiguity"
    )
    # the first piece alone (6 + 6 of unit weights) is solvable
    ok = q.replace(
        activities={"workload": np.ones(24)},
        lower={"workload": [6, 6, 6, 6]},
        upper={"workload": [6, 6, 6, 6]},
    )
    assert solve_mip(ok, time_limit=30).status == "optimal"


def test_fallback_keeps_the_bound_the_mip_proved(grid3x3_problem, monkeypatch):
    """The MIP stopped without an alignment but with a bound of 13.99: the
    heuristic's answer (here given a weak bound of 5) comes back with the
    MIP's bound (the grid's optimum is 14)."""
    import dataclasses

    from terrakit.design import mip
    from terrakit.design._model import SolveOutcome
    from terrakit.design.heuristic import solve_heuristic

    def stopped(*args, **kwargs):
        return SolveOutcome("time_limit", None, math.inf, 13.99, 0.0, 1.0)

    def weak(problem, time_limit, seed, max_iter=None):
        r = solve_heuristic(problem, time_limit=time_limit, seed=seed)
        return dataclasses.replace(r, status="feasible", lower_bound=5.0, gap=0.6)

    monkeypatch.setattr(mip, "solve_model", stopped)
    monkeypatch.setattr(mip, "_fallback", weak)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        res = solve_mip(grid3x3_problem, time_limit=2)
    assert res.method == "heuristic" and res.status == "time_limit"
    assert res.objective == pytest.approx(14.0)
    assert res.lower_bound == pytest.approx(13.99)
    assert res.gap == pytest.approx(0.01 / 14)
    assert res.info["bound"] == "mip/highs (no incumbent)"


def test_diagnosis_tells_a_band_impossible_on_its_own_from_contiguity():
    """Five units on a line, homes at both ends, bands of exactly half the
    total.  Workloads 1, 1, 1, 2, 3: {0, 1, 3} and {2, 4} meet the bands, but
    no contiguous split does (prefix sums 1, 2, 3, 5), so contiguity is the
    cause.  Workloads 1, 1, 1, 1, 3 (total 7): no split of whole units meets
    3.5, with or without contiguity, and the message no longer blames it."""
    x = np.arange(5.0)
    base = DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(5)]),
        activities={"workload": np.array([1.0, 1, 1, 2, 3])},
        tolerance={"workload": 0.0},
        n_territories=2,
        cost=(x[:, None] - np.array([0.0, 4.0])[None, :]) ** 2,
        center_units=np.array([0, 4]),
        adjacency=grid_adjacency(5, 1),
        contiguity=True,
    )
    assert solve_mip(base.replace(contiguity=False), time_limit=10).status == "optimal"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        with pytest.raises(InfeasibleError) as err:
            solve_mip(base, time_limit=10)
    assert str(err.value).endswith(
        "the band on 'workload' (±0 %) cannot be met together with contiguity"
    )
    odd = base.replace(activities={"workload": np.array([1.0, 1, 1, 1, 3])})
    for contiguity, tail in ((True, ", even without contiguity"), (False, "")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TimeLimitWarning)
            with pytest.raises(InfeasibleError) as err:
                solve_mip(odd.replace(contiguity=contiguity), time_limit=10)
        assert str(err.value).endswith(
            "the band on 'workload' (±0 %) cannot be met on its own" + tail
        )


def test_plan_that_breaks_a_rule_is_never_optimal(grid3x3_problem):
    # unchecked, the home unit u0 of R1 locked to R2: the model's answer puts
    # u0 in R2, which breaks the contiguity rule (its root must be in R1)
    p = grid3x3_problem.replace(locked={0: 1})
    with pytest.warns(UserWarning, match="breaks .* rule"):
        res = solve_mip(p, time_limit=10, check=False)
    assert res.status == "infeasible"
    assert any("the root of 'R1'" in v for v in res.info["violations"])
    with pytest.raises(SpecificationError, match="home unit of 'R1'"):
        solve_mip(p, time_limit=10)


def _line_with_draws(**kw) -> DesignProblem:
    """8 units on a line (path graph), reps at both ends, ±10 % workload and
    a balance on 6 draws of it."""
    xy = np.array([[float(i), 0.0] for i in range(8)])
    work = np.array([3.0, 5, 2, 4, 6, 1, 5, 4])
    centers = np.array([0, 7])
    cost = ((xy[:, None, :] - xy[centers][None, :, :]) ** 2).sum(-1)
    draws = work[:, None] * np.random.default_rng(5).lognormal(0, 0.3, (8, 6))
    adj = sp.diags([np.ones(7), np.ones(7)], [-1, 1], format="csr")
    return DesignProblem(
        unit_ids=np.arange(8),
        activities={"workload": work},
        tolerance={"workload": 0.1},
        n_territories=2,
        cost=cost,
        center_units=centers,
        center_ids=("A", "B"),
        adjacency=adj,
        draws=draws,
        draws_tolerance=0.1,
        draws_share=0.5,
        **kw,
    )


@pytest.mark.parametrize("contiguity", [False, True])
def test_diagnosis_says_undecided_when_a_sub_solve_runs_out_of_time(
    monkeypatch, contiguity
) -> None:
    """A sub-solve of the diagnosis that ends without a plan and without a
    proof decides nothing: the diagnosis used to count it as 'can be met'
    (and advise contiguity=False, or blame 'all together'), and it showed the
    internal name '__draws__'."""
    import terrakit.design.mip as mip
    from terrakit.design._model import SolveOutcome

    def undecided(model, **kw):
        return SolveOutcome("no_solution", None, math.inf, -math.inf, 0.0, 0.0)

    monkeypatch.setattr(mip, "solve_model", undecided)
    msg = mip._diagnose(_line_with_draws(contiguity=contiguity), "highs", 4.0, 0)
    assert "__draws__" not in msg
    assert "can be met" not in msg and "contiguity=False" not in msg
    assert msg.startswith(
        "no alignment meets all constraints; could not be decided in 1 s: the "
        "band on 'workload' (±10 %) on its own, the balance on draws (±10 % in "
        "50 % of draws) on its own"
    )


def test_diagnosis_names_the_balance_on_draws_in_words(monkeypatch) -> None:
    """Each band alone met (a plan found), all together not: the draws are
    'the balance on draws', not '__draws__'."""
    import terrakit.design.mip as mip

    real = mip.solve_model

    def alone_ok(model, **kw):
        out = real(model, **kw)
        assert out.values is not None  # every sub-solve here finds a plan
        return out

    monkeypatch.setattr(mip, "solve_model", alone_ok)
    msg = mip._diagnose(_line_with_draws(contiguity=False), "highs", 4.0, 0)
    assert msg == (
        "each band alone can be met, but not all together (the band on "
        "'workload' (±10 %), the balance on draws (±10 % in 50 % of draws))"
    )


def test_mip_reports_the_joint_share_of_draws() -> None:
    """The MIP path reports the joint share that draws_share constrains
    (every territory in band in the same draw) in info and in summary()."""
    p = _line_with_draws(contiguity=False)
    res = solve_mip(p, time_limit=20)
    good, need = p.draws_met(np.asarray(res.columns))
    assert (res.info["draws_met"], res.info["draws_needed"]) == (good, need)
    assert res.info["n_draws"] == 6 and good >= need == 3
    assert (
        f"band on draws holds in {good} of 6 draws (need 3; every territory in "
        "band in the same draw)" in res.summary()
    )


@pytest.mark.parametrize("method", ["cutz", "Flow", ""])
def test_unknown_contiguity_method_is_refused(grid3x3_problem, method):
    """A misspelt contiguity_method is an error naming the choices, not a
    model without contiguity."""
    with pytest.raises(SpecificationError, match="'auto', 'flow', 'cuts'"):
        solve_mip(grid3x3_problem, time_limit=5, contiguity_method=method)


@pytest.mark.parametrize("backend", ["pulp-highs", "cbc"])
def test_pulp_build_counts_against_the_time_limit(
    grid3x3_problem, backend, monkeypatch
):
    """A PuLP model that takes longer to build than the limit is not solved
    past it: no plan, at once."""
    import terrakit.design._model as _model
    from terrakit.design.mip import build_model

    real = _model._to_pulp

    def slow(*args, **kwargs):
        time.sleep(1.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(_model, "_to_pulp", slow)
    layout = build_model(grid3x3_problem, contiguity_method="flow")
    t0 = time.perf_counter()
    out = _model.solve_model(layout.model, backend=backend, time_limit=1.0)
    assert out.status == "no_solution" and out.values is None
    assert time.perf_counter() - t0 < 2.0


def test_cbc_is_stopped_at_the_time_limit(grid3x3_problem, tmp_path, monkeypatch):
    """A CBC that runs on past its -sec (its root LP, its preprocessing) is
    killed shortly after the time left: no plan, no hang, no orphan."""
    import pulp

    import terrakit.design._model as _model
    from terrakit.design.mip import build_model

    fake = tmp_path / "cbc"
    fake.write_text("#!/bin/sh\nsleep 6\n")
    fake.chmod(0o755)
    monkeypatch.setattr(pulp.PULP_CBC_CMD, "pulp_cbc_path", str(fake))
    layout = build_model(grid3x3_problem, contiguity_method="flow")
    t0 = time.perf_counter()
    out = _model.solve_model(layout.model, backend="cbc", time_limit=1.0)
    assert out.status == "no_solution" and out.values is None
    assert time.perf_counter() - t0 < 4.0


def test_max_iter_reaches_the_heuristic_start_and_fallback(
    grid3x3_problem, monkeypatch
):
    """max_iter goes to every heuristic run of the MIP path (the start and
    the fallback), so that a fixed seed gives them back each time."""
    import terrakit.design.heuristic as heuristic
    import terrakit.design.mip as mip
    from terrakit.design._model import SolveOutcome

    seen: list[object] = []
    real = heuristic.solve_heuristic

    def spy(problem, **kwargs):
        seen.append(kwargs.get("max_iter"))
        return real(problem, **kwargs)

    monkeypatch.setattr(heuristic, "solve_heuristic", spy)
    monkeypatch.setattr(
        mip,
        "solve_model",
        lambda *a, **k: SolveOutcome("time_limit", None, math.inf, -math.inf, 0, 0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        solve_mip(grid3x3_problem, time_limit=2, heuristic_start=True, max_iter=40)
        solve_mip(grid3x3_problem, time_limit=2, heuristic_start=False, max_iter=40)
    assert seen == [40, 40]


def test_mip_plan_worse_than_the_start_gives_way(grid3x3_problem, monkeypatch):
    """A solver that takes the start as a hint (CP-SAT) and stops at a worse
    plan: the heuristic's start, which meets every band, comes back."""
    import terrakit.design.mip as mip
    from terrakit.design._model import SolveOutcome

    real_decode = mip._decode
    worse: list[np.ndarray] = []

    def stopped(model, **kwargs):
        return SolveOutcome(
            "time_limit", np.zeros(model.n_cols), 0.0, -math.inf, 0.0, 0.0
        )

    def decode(layout, values, n):
        # all x at 0: every unit to the first center, worse than the start
        cols = real_decode(layout, values, n)
        worse.append(cols)
        return cols

    monkeypatch.setattr(mip, "solve_model", stopped)
    monkeypatch.setattr(mip, "_decode", decode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = solve_mip(grid3x3_problem, time_limit=5, heuristic_start=True, seed=0)
    start_obj = res.info.get("heuristic_start")
    assert start_obj is not None and worse
    assert grid3x3_problem.evaluate(worse[0]) > start_obj
    assert res.objective == pytest.approx(start_obj)
    assert res.info.get("kept_heuristic_start") is True


@pytest.mark.parametrize("backend", ["highs", "pulp-highs"])
def test_threads_after_the_scheduler_started_is_said_not_a_failure(
    grid3x3_problem, backend
):
    """HiGHS fixes its thread count when its scheduler first starts in a
    process; a later run asking for another count returned an error that the
    MIP took for 'no feasible alignment' and fell back to the heuristic.  It
    now runs with the scheduler's count and says that threads= was not
    applied."""
    from terrakit.exceptions import TerrakitWarning

    solve_mip(grid3x3_problem, time_limit=10)  # the scheduler is running now
    with pytest.warns(TerrakitWarning, match=r"threads=7 was not applied"):
        res = solve_mip(grid3x3_problem, time_limit=10, threads=7, backend=backend)
    assert res.status == "optimal" and res.method == f"mip/{backend}"
    assert res.objective == pytest.approx(14.0)


@pytest.mark.parametrize(("mip_bound", "start_bound"), [(-math.inf, 13.5), (3.0, 13.0)])
def test_mip_plan_at_the_time_limit_keeps_the_heuristic_starts_bound(
    grid3x3_problem, monkeypatch, mip_bound, start_bound
):
    """The solver stops at its limit with its own plan (here the start, of
    objective 14) and a weak bound (-inf, or a root bound of 3): the bound the
    heuristic start already computed stands, at most the objective, as in the
    fallback branch (the MIP path reported a gap of ~100 %)."""
    import dataclasses

    import terrakit.design.mip as mip
    from terrakit.design._model import SolveOutcome
    from terrakit.design.heuristic import solve_heuristic

    def start_with_bound(problem, time_limit, seed, max_iter=None):
        r = solve_heuristic(problem, time_limit=time_limit, seed=seed)
        info = {**r.info, "bound": "lp"}
        return dataclasses.replace(r, lower_bound=start_bound, info=info)

    def stopped(model, **kwargs):
        values = np.zeros(model.n_cols)
        for p, v in kwargs["start"].items():
            values[p] = v
        return SolveOutcome("time_limit", values, 14.0, mip_bound, 0.0, 0.0)

    monkeypatch.setattr(mip, "_fallback", start_with_bound)
    monkeypatch.setattr(mip, "solve_model", stopped)
    with pytest.warns(TimeLimitWarning, match=r"objective 14, bound 13\.?5?\)"):
        res = solve_mip(grid3x3_problem, time_limit=5, heuristic_start=True, seed=0)
    assert res.method == "mip/highs" and res.status == "time_limit"
    assert res.objective == pytest.approx(14.0)
    assert res.lower_bound == pytest.approx(min(start_bound, 14.0))
    assert res.gap == pytest.approx((14.0 - min(start_bound, 14.0)) / 14.0)
    assert res.info["bound"] == "heuristic start (lp)"


def test_share_within_band_counts_a_territory_on_the_edge_as_draws_met_does():
    """A territory whose drawn sum is on the band's upper edge (115 M against
    1.15 × 100 M, which rounds to 114999999.99999999) is in band for
    draws_met (relative allowance) and now in share_within_band too: the
    joint share was 1.0 and a territory's share 0.5."""
    from terrakit.design.mip import draw_intervals

    draws = np.array([[60e6, 50e6], [55e6, 50e6], [45e6, 50e6], [40e6, 50e6]])
    p = DesignProblem(
        unit_ids=np.array(["a", "b", "c", "d"]),
        activities={"workload": np.ones(4)},
        tolerance={"workload": 0.5},
        n_territories=2,
        cost=np.zeros((4, 2)),
        center_units=np.array([0, 3]),
        draws=draws,
        draws_tolerance=0.15,
        draws_share=0.5,
    )
    cols = np.array([0, 0, 1, 1])
    assert p.draws_met(cols) == (2, 1)
    iv = draw_intervals(p, cols)
    assert iv is not None
    assert iv["share_within_band"].tolist() == [1.0, 1.0]
    just_out = p.replace(draws=draws + np.array([[1.0, 0], [0, 0], [0, 0], [0, 0]]))
    assert just_out.draws_met(cols) == (1, 1)
    iv = draw_intervals(just_out, cols)
    assert iv is not None
    assert iv["share_within_band"].tolist() == [0.5, 0.5]


def test_diagnosis_gives_the_band_and_share_of_draws_that_cannot_be_met():
    """A draw of 4, 4, ..., 4, 1 (total 29) cannot be split within ±10 % of
    14.5 (sums 12, 13, 16 or 17): the diagnosis names the ±band and the share
    of draws, and the fix (it said only 'the balance on draws cannot be met on
    its own')."""
    import terrakit.design.mip as mip

    p = _line_with_draws(contiguity=False)
    fours = np.array([[4.0]] * 7 + [[1.0]])
    p = p.replace(draws=np.hstack([np.asarray(p.draws), fours]), draws_share=1.0)
    msg = mip._diagnose(p, "highs", 4.0, 0)
    assert msg == (
        "the balance on draws (±10 % in 100 % of draws) cannot be met on its "
        "own; loosen draws_tolerance or lower draws_share"
    )
    with pytest.raises(InfeasibleError, match=re.escape(msg)):
        solve_mip(p, time_limit=20)


def test_fallback_status_is_the_status_of_its_provenance(grid3x3_problem, monkeypatch):
    """The MIP found no alignment and the heuristic's 'feasible' answer comes
    back relabelled 'time_limit': the provenance of the result and of its
    Alignment (what a study saves) say 'time_limit' too (they kept
    'feasible')."""
    from terrakit.design import mip
    from terrakit.design._model import SolveOutcome
    from terrakit.design.result import AlignmentResult

    def stopped(*args, **kwargs):
        return SolveOutcome("time_limit", None, math.inf, -math.inf, 0.0, 1.0)

    cols = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    found = AlignmentResult.from_columns(
        grid3x3_problem, cols, status="feasible", lower_bound=-math.inf,
        method="heuristic", seconds=0.1, seed=0,
    )  # fmt: skip
    monkeypatch.setattr(mip, "solve_model", stopped)
    monkeypatch.setattr(mip, "_fallback", lambda *args: found)
    with pytest.warns(TimeLimitWarning, match="returning the heuristic's answer"):
        res = solve_mip(grid3x3_problem, time_limit=1, heuristic_start=False)
    assert res.method == "heuristic" and res.status == "time_limit"
    assert res.provenance["status"] == "time_limit"
    assert res.alignment.provenance["status"] == "time_limit"
    assert found.provenance["status"] == "feasible"  # the heuristic's own, as is


def test_fixed_centers_with_a_band_start_from_the_heuristic(grid3x3_problem):
    """Fixed centers with a band start the MIP from the heuristic's plan by
    default, with or without contiguity (only contiguous problems did: a
    1000-unit, two-band design then returned no plan at all in 10 s); with
    neither a band nor contiguity there is nothing to start from."""
    free = grid3x3_problem.replace(contiguity=False)
    res = solve_mip(free, time_limit=20)
    assert res.status == "optimal" and res.objective == pytest.approx(14.0)
    assert res.info["heuristic_start"] >= res.objective - 1e-9
    res = solve_mip(free.replace(tolerance={}), time_limit=20)
    assert "heuristic_start" not in res.info
    assert res.objective == pytest.approx(14.0)  # each unit at its nearest


@pytest.mark.parametrize("backend", ["highs", "cbc"])
def test_start_that_breaks_a_rule_is_said_not_used(grid3x3_problem, backend):
    """A start breaking the band (all nine units in one territory) was
    dropped without a word: it is refused with a warning naming what it
    breaks, and ``info["start"]`` says so; a start that meets every rule is
    ``"used"``."""
    from terrakit.exceptions import TerrakitWarning

    bad = np.zeros(9, dtype=int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = solve_mip(grid3x3_problem, backend=backend, time_limit=10, start=bad)
    said = [
        str(w.message)
        for w in caught
        if issubclass(w.category, TerrakitWarning)
        and "was not used as a warm start" in str(w.message)
    ]
    assert len(said) == 1 and "workload of territory" in said[0]
    assert res.info["start"].startswith("rejected: workload of territory")
    assert res.status == "optimal" and res.objective == pytest.approx(14.0)
    good = np.asarray(res.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = solve_mip(grid3x3_problem, backend=backend, time_limit=10, start=good)
    assert again.info["start"] == "used"


def test_start_better_than_the_solvers_optimum_stands(grid3x3_problem, monkeypatch):
    """A user's start that beats the plan a backend calls optimal (a backend
    that ignores the start, or a false optimum) is the answer, and the
    optimum is not claimed: status time_limit, bound at most the start."""
    import math

    from terrakit.design import mip
    from terrakit.design._model import SolveOutcome

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = solve_mip(grid3x3_problem, time_limit=10)
    start = np.asarray(best.columns)
    wrong: list[np.ndarray] = []
    real_decode = mip._decode

    def false_optimum(model, **kwargs):
        return SolveOutcome("optimal", np.zeros(model.n_cols), 99.0, 99.0, 0.0, 0.0)

    def decode(layout, values, n):
        # x at 0: every unit to the first center, worse than the start
        cols = real_decode(layout, values, n)
        wrong.append(cols)
        return cols

    monkeypatch.setattr(mip, "solve_model", false_optimum)
    monkeypatch.setattr(mip, "_decode", decode)
    with pytest.warns(TimeLimitWarning, match="proved no optimum"):
        res = solve_mip(grid3x3_problem, time_limit=5, start=start)
    assert wrong and grid3x3_problem.evaluate(wrong[0]) > 14.0
    assert res.objective == pytest.approx(14.0)
    assert list(res.columns) == list(start)
    assert res.status == "time_limit"
    assert res.lower_bound <= 14.0 and not math.isnan(res.lower_bound)
    assert res.info.get("kept_start") is True


def test_pulp_highs_hands_the_start_to_highs(grid3x3_problem, monkeypatch):
    """PuLP passes initial values to CBC only: ``"pulp-highs"`` ran without
    the start.  HiGHS now gets it (``setSolution``) on PuLP's columns."""
    import highspy

    from terrakit.design import _model
    from terrakit.design.mip import _start_values, build_model

    given: list[tuple[list[int], list[float]]] = []

    class Spy(highspy.Highs):  # type: ignore[misc]
        def setSolution(self, *args):
            if len(args) == 3:
                given.append((list(args[1]), list(args[2])))
            return super().setSolution(*args)

    layout = build_model(grid3x3_problem)
    start = np.array([0, 0, 1, 0, 0, 1, 1, 1, 1])
    warm = _start_values(layout, grid3x3_problem, start)
    monkeypatch.setattr(highspy, "Highs", Spy)
    out = _model.solve_model(
        layout.model, backend="pulp-highs", time_limit=10, start=warm
    )
    assert out.status == "optimal" and out.objective == pytest.approx(14.0)
    assert len(given) == 1
    idx, val = given[0]
    # HiGHS's column i is PuLP's i-th variable; the model's column j is "v{j}"
    prob, _ = _model._to_pulp(layout.model)
    col = {v.name: i for i, v in enumerate(prob.variables())}
    expected = {col[f"v{j}"]: v for j, v in warm.items()}
    assert dict(zip(map(int, idx), val, strict=True)) == expected


def test_a_false_infeasible_with_a_valid_start_returns_the_start(
    grid3x3_problem, monkeypatch
):
    """A backend's "infeasible" (CP-SAT's presolve cut off feasible plans) was
    raised as InfeasibleError although the start handed to it meets every
    rule: the start comes back, unproven, with a warning that says why."""
    import math

    from terrakit.design import mip
    from terrakit.design._model import SolveOutcome

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = solve_mip(grid3x3_problem, time_limit=10)
    start = np.asarray(best.columns)

    def false_infeasible(model, **kwargs):
        return SolveOutcome("infeasible", None, math.inf, math.inf, 0.0, 0.0)

    monkeypatch.setattr(mip, "solve_model", false_infeasible)
    with pytest.warns(TimeLimitWarning, match="proved nothing: it reported"):
        res = solve_mip(grid3x3_problem, time_limit=5, start=start)
    assert list(res.columns) == list(start)
    assert res.status == "time_limit" and res.objective == pytest.approx(14.0)
    assert res.lower_bound == -math.inf
    assert "meets every rule" in res.info["infeasibility_refuted"]
    # without a start (not even the heuristic's) the backend's answer stands
    with pytest.raises(InfeasibleError):
        solve_mip(grid3x3_problem, time_limit=5, diagnose=False, heuristic_start=False)

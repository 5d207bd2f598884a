"""The capacitated p-median engine: its kernels against brute force, its
bound against the exact MIP, a known optimum and the time-limit contract."""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import numpy as np
import pytest

from terrakit.design._cpmp import (
    fractional_knapsacks,
    knapsacks,
    lagrangian,
    repair_assignment,
)
from terrakit.design.capacitated import is_capacitated_pmedian, solve_capacitated
from terrakit.design.mip import solve_mip
from terrakit.design.problem import DesignProblem
from terrakit.exceptions import SpecificationError, TimeLimitWarning

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"


def _instance(n: int, k: int, capacity: float, seed: int) -> DesignProblem:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    d = np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)))
    return DesignProblem(
        unit_ids=np.arange(1, n + 1),
        activities={"demand": rng.integers(1, 10, size=n).astype(float)},
        n_territories=k,
        cost=d,
        center_mode="choose",
        center_units=np.arange(n),
        upper={"demand": np.full(k, capacity)},
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_knapsacks_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, m, q = 9, 4, 12
    w = rng.normal(size=(n, m)) * 5
    d = rng.integers(0, 6, size=n)
    vals, items = knapsacks(w, d, q, items=True)
    assert items is not None
    for j in range(m):
        best = min(
            sum(w[i, j] for i in sub)
            for r in range(n + 1)
            for sub in itertools.combinations(range(n), r)
            if sum(d[i] for i in sub) <= q
        )
        assert vals[j] == pytest.approx(best)
        # the returned items realise the value within capacity
        assert d[items[:, j]].sum() <= q
        assert w[items[:, j], j].sum() == pytest.approx(best)
    assert np.all(fractional_knapsacks(w, d, q) <= vals + 1e-9)


def test_lagrangian_bounds_the_exact_optimum():
    p = _instance(25, 3, 50.0, 5)
    c = np.asarray(p.cost)
    d = np.asarray(p.activities["demand"]).astype(np.int64)
    exact = solve_mip(p, time_limit=30, mip_gap=1e-9)
    assert exact.status == "optimal"
    rng = np.random.default_rng(0)
    for _ in range(5):
        u = rng.uniform(0, 40, size=25)
        val, s, _items, rho, is_exact = lagrangian(c, d, 50, 3, u)
        assert val <= exact.objective + 1e-9
        assert s.size == 3 and is_exact[s].all()
        # the skipped columns' fractional values cannot enter the 3 smallest
        assert np.all(rho[~is_exact] >= np.sort(rho[s]).max() - 1e-9)


def test_repair_makes_an_overloaded_assignment_feasible():
    rng = np.random.default_rng(3)
    cs = rng.uniform(0, 10, size=(30, 3))
    d = rng.integers(1, 5, size=30)
    q = float(np.ceil(d.sum() / 3 * 1.1))
    start = np.zeros(30, dtype=np.int64)  # everything on center 0
    pos, value = repair_assignment(cs, d, q, start)
    assert pos is not None
    assert np.bincount(pos, weights=d, minlength=3).max() <= q
    assert value == pytest.approx(cs[np.arange(30), pos].sum())
    # no single shift improves it
    load = np.bincount(pos, weights=d, minlength=3)
    for i in range(30):
        for j in range(3):
            if j != pos[i] and load[j] + d[i] <= q:
                assert cs[i, j] >= cs[i, pos[i]] - 1e-9


def test_small_instance_matches_mip():
    p = _instance(30, 4, 45.0, 7)
    assert is_capacitated_pmedian(p)
    res = solve_capacitated(p, time_limit=10)
    exact = solve_mip(p, time_limit=60, mip_gap=1e-9)
    assert exact.status == "optimal"
    assert res.objective == pytest.approx(exact.objective)
    assert res.lower_bound <= res.objective + 1e-9
    assert p.violations(res.columns) == []


@pytest.mark.skipif(
    not (SHARED / "pmedcap").exists(), reason="shared benchmark folder not present"
)
def test_pmedcap04_reaches_its_known_optimum():
    """Osman–Christofides 4 (n = 50, p = 5, truncated distances): 651."""
    from terrakit.benchmarks import pmedcap

    inst = pmedcap.read_instance(SHARED / "pmedcap" / "pmedcap04.txt")
    res = solve_capacitated(pmedcap.to_problem(inst), time_limit=10, seed=0)
    assert res.objective == 651
    assert res.lower_bound <= 651
    cols = np.asarray(res.columns)
    value, problems = pmedcap.check_solution(
        inst, sorted(int(j) + 1 for j in np.unique(cols)), (cols + 1).tolist()
    )
    assert value == 651 and problems == []


def test_time_limit_returns_an_answer_with_a_finite_bound():
    p = _instance(120, 12, 60.0, 11)
    # compile (or load) the numba kernel outside the timed call
    repair_assignment(np.ones((2, 1)), np.ones(2), 2.0, np.zeros(2, dtype=np.int64))
    t0 = time.perf_counter()
    with pytest.warns(TimeLimitWarning, match="capacitated p-median stopped"):
        res = solve_capacitated(p, time_limit=1.0)
    assert time.perf_counter() - t0 < 4.0
    assert res.status == "time_limit"
    assert np.isfinite(res.lower_bound) and res.lower_bound <= res.objective
    assert p.violations(res.columns) == []


def _loose(n: int = 60, k: int = 5) -> DesignProblem:
    """Real-valued distances, a 2 % capacity slack: the bound does not close."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 100, size=(n, 2))
    d = rng.integers(1, 20, size=n).astype(float)
    return DesignProblem(
        unit_ids=np.arange(n),
        activities={"demand": d},
        n_territories=k,
        cost=np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)),
        center_mode="choose",
        center_units=np.arange(n),
        upper={"demand": np.full(k, np.ceil(d.sum() / k * 1.02))},
    )


def test_max_iter_makes_the_answer_the_seeds_alone():
    """With ``max_iter`` no step runs to a share of the clock: the same seed
    gives the same plan (it differed between calls in one process, the
    first one slowed by compilation), and the result says the clock cut
    nothing; without it the unproven run's last search ends at the clock."""
    p = _loose()
    runs = [solve_capacitated(p, time_limit=30, seed=3, max_iter=10) for _ in range(2)]
    assert runs[0].columns.tolist() == runs[1].columns.tolist()
    assert runs[0].objective == runs[1].objective
    assert runs[0].lower_bound == runs[1].lower_bound
    assert runs[0].status == "feasible" and runs[0].info["cut_by_clock"] is False
    assert runs[0].provenance["config"]["max_iter"] == 10
    with pytest.warns(TimeLimitWarning):
        clocked = solve_capacitated(p, time_limit=0.5, seed=3)
    assert clocked.status == "time_limit" and clocked.info["cut_by_clock"] is True
    assert "final local search" in clocked.info["clock_stopped"]


def test_bound_closed_by_integrality_is_rounded_up():
    """Integer costs, objective 128, Lagrangian bound 127.09: optimal
    because no integer lies between, so the bound reported is 128 (it was
    127.09 with a 0.71 % gap beside status 'optimal')."""
    rng = np.random.default_rng(1)
    n, k = 9, 3
    xy = rng.uniform(0, 100, size=(n, 2))
    p = DesignProblem(
        unit_ids=np.arange(n),
        activities={"demand": rng.integers(1, 10, n).astype(float)},
        n_territories=k,
        cost=np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))),
        center_mode="choose",
        center_units=np.arange(n),
        upper={"demand": np.full(k, 20.0)},
    )
    res = solve_capacitated(p, time_limit=5, seed=0)
    assert res.method == "cpmp-ils+lagrangian" and res.status == "optimal"
    assert (res.objective, res.lower_bound, res.gap) == (128.0, 128.0, 0.0)


def test_solve_passes_max_iter_to_the_capacitated_path():
    """``solve(problem, max_iter=...)`` reaches the capacitated path's searches
    (align's dispatcher dropped it, so the answer followed the clock)."""
    from terrakit.design.align import solve

    res = solve(_loose(), time_limit=30, seed=3, max_iter=10)
    assert res.method.startswith("cpmp")
    assert res.provenance["config"]["max_iter"] == 10
    assert res.info["cut_by_clock"] is False


# --- a chosen center serves its own unit (CPMP: x_jj = y_j) -----------------


def _brute_cpmp(dist: np.ndarray, dem: np.ndarray, k: int, cap: float) -> float:
    """Brute-force CPMP optimum, each median serving itself (x_jj = y_j)."""
    n = len(dem)
    best = np.inf
    for med in itertools.combinations(range(n), k):
        meds = np.array(med)
        free = [i for i in range(n) if i not in med]
        for a in itertools.product(range(k), repeat=len(free)):
            lab = np.empty(n, dtype=np.int64)
            lab[free] = a
            lab[meds] = np.arange(k)
            if np.bincount(lab, weights=dem, minlength=k).max() <= cap:
                best = min(best, float(dist[np.arange(n), meds[lab]].sum()))
    return best


def _cpmp(xy: np.ndarray, dem: np.ndarray, k: int, cap: float) -> DesignProblem:
    dist = np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)))
    n = len(dem)
    return DesignProblem(
        unit_ids=np.arange(1, n + 1),
        activities={"demand": np.asarray(dem, dtype=float)},
        n_territories=k,
        cost=dist,
        center_mode="choose",
        center_units=np.arange(n),
        upper={"demand": np.full(k, float(cap))},
        objective="travel",
    )


#: QA round 14's 6-customer Osman–Christofides-format instance (p = 2, Q = 9):
#: opening median 4 (id) but assigning it to median 1 costs 32; with every
#: median serving itself the optimum is 33
D4_XY = np.array([[18, 3], [18, 3], [6, 19], [9, 13], [13, 3], [14, 6]], float)
D4_DEMAND = np.array([2, 2, 2, 2, 3, 7], float)


def _tiny(seed: int) -> tuple[np.ndarray, np.ndarray, int, float]:
    """7 customers, 2 or 3 medians, 5 % capacity slack (seed 10: the rule
    binds, 41 with it against 40 without)."""
    rng = np.random.default_rng(seed)
    k = 2 + seed % 2
    xy = rng.integers(0, 20, (7, 2)).astype(float)
    dem = rng.choice([1, 2, 3, 8], 7).astype(float)
    return xy, dem, k, float(np.ceil(dem.sum() / k * 1.05))


def _serves_itself(p: DesignProblem, columns: np.ndarray) -> bool:
    cols = np.asarray(columns)
    cu = np.asarray(p.center_units)
    return all(cols[cu[j]] == j for j in np.unique(cols))


def test_d4_medians_serve_themselves_capacitated_and_mip():
    """The capacitated path and the exact MIP give 33 (they gave 32,
    'optimal', with median 4 in the cluster of median 1)."""
    p = _cpmp(D4_XY, D4_DEMAND, 2, 9)
    dist = np.asarray(p.cost)
    assert _brute_cpmp(dist, D4_DEMAND, 2, 9) == 33
    # compile (or load) the numba kernel outside the solve: the time limit
    # is for the search, a cold compile could take it all
    repair_assignment(np.ones((2, 1)), np.ones(2), 2.0, np.zeros(2, dtype=np.int64))
    res = solve_capacitated(p, time_limit=30, seed=0)
    assert res.status == "optimal"
    assert res.objective == 33 and res.lower_bound <= 33
    assert _serves_itself(p, res.columns)
    exact = solve_mip(p, time_limit=20, mip_gap=1e-9)
    assert exact.status == "optimal" and exact.objective == 33
    assert _serves_itself(p, exact.columns)


@pytest.mark.parametrize("seed", [10, 0, 1, 3])
def test_tiny_cpmp_matches_brute_force_with_self_service(seed):
    xy, dem, k, cap = _tiny(seed)
    p = _cpmp(xy, dem, k, cap)
    best = _brute_cpmp(np.asarray(p.cost), dem, k, cap)
    repair_assignment(np.ones((2, 1)), np.ones(2), 2.0, np.zeros(2, dtype=np.int64))
    res = solve_capacitated(p, time_limit=30, seed=0)
    assert res.objective == best
    assert res.lower_bound <= best + 1e-9
    assert _serves_itself(p, res.columns)
    assert p.violations(res.columns) == []


def test_knapsack_with_home_forces_the_home_unit():
    """``home``: the column's own unit is in, the rest share what it leaves."""
    rng = np.random.default_rng(4)
    n, m, q = 8, 5, 11
    w = rng.normal(size=(n, m)) * 5
    d = rng.integers(0, 6, size=n)
    home = np.array([0, 3, -1, 7, 2])
    d[2] = q + 1  # column 4's home unit alone is above the capacity
    vals, items = knapsacks(w, d, q, items=True, home=home)
    assert items is not None
    for j in range(m):
        h = int(home[j])
        subsets = (
            sub
            for r in range(n + 1)
            for sub in itertools.combinations(range(n), r)
            if (h < 0 or h in sub) and sum(d[i] for i in sub) <= q
        )
        best = min((sum(w[i, j] for i in sub) for sub in subsets), default=np.inf)
        assert vals[j] == pytest.approx(best)
        if np.isfinite(best):
            assert d[items[:, j]].sum() <= q and (h < 0 or items[h, j])
            assert w[items[:, j], j].sum() == pytest.approx(best)
    assert np.all(fractional_knapsacks(w, d, q, home) <= vals + 1e-9)
    assert vals[4] == np.inf


def test_lagrangian_with_home_is_a_stronger_valid_bound():
    p = _cpmp(D4_XY, D4_DEMAND, 2, 9)
    c = np.asarray(p.cost)
    d = D4_DEMAND.astype(np.int64)
    rng = np.random.default_rng(0)
    for _ in range(20):
        u = rng.uniform(0, 15, size=6)
        plain = lagrangian(c, d, 9, 2, u)[0]
        val, s, items, _rho, _ex = lagrangian(c, d, 9, 2, u, home=np.arange(6))
        assert plain - 1e-9 <= val <= 33 + 1e-9
        assert items[s, np.arange(2)].all()  # each center holds its own unit


def test_repair_keeps_each_center_at_its_home_unit():
    rng = np.random.default_rng(3)
    cs = rng.uniform(0, 10, size=(30, 3))
    home = np.array([4, 11, 20])
    cs[home, :] = 0.0
    cs[home, np.arange(3)] = 9.0  # each home unit would rather go elsewhere
    d = rng.integers(1, 5, size=30)
    q = float(np.ceil(d.sum() / 3 * 1.1))
    pos, _ = repair_assignment(cs, d, q, np.zeros(30, dtype=np.int64), home=home)
    assert pos is not None
    assert pos[home].tolist() == [0, 1, 2]
    assert np.bincount(pos, weights=d, minlength=3).max() <= q


def test_check_solution_flags_a_median_outside_its_cluster(tmp_path):
    from terrakit.benchmarks import pmedcap

    f = tmp_path / "pmedcap99.txt"
    f.write_text(
        " 99 0\n 6 2 9\n"
        + "".join(
            f" {i + 1} {x:g} {y:g} {q:g}\n"
            for i, ((x, y), q) in enumerate(zip(D4_XY, D4_DEMAND, strict=True))
        )
    )
    inst = pmedcap.read_instance(f)
    value, problems = pmedcap.check_solution(inst, [1, 4], [1, 1, 4, 1, 1, 4])
    assert value == 32
    assert problems == [
        "1 median(s) not assigned to themselves, first: median 4 assigned to 1 "
        "(a median serves itself, x_jj = y_j)"
    ]
    repair_assignment(np.ones((2, 1)), np.ones(2), 2.0, np.zeros(2, dtype=np.int64))
    row = pmedcap.solve_file(f, time_limit=30, seed=0)
    assert (row["value"], row["status"], row["problems"]) == (33.0, "optimal", "")


def test_the_greedy_start_gets_the_start_deadline(monkeypatch):
    """Regression (QA round 19): the greedy start (``k`` passes over the
    ``n × m`` costs) ignored the clock, here and in the p-median path (21.5 s
    of a 3 s limit on 4,000 units); it now stops at the start's share of the
    limit (5 %) and adds the missing centers by the stochastic greedy."""
    from terrakit.design import pmedian

    seen: list[float] = []
    plain = pmedian.greedy

    def spy(c, k, forced=None, **kw):
        seen.append(kw.get("deadline", np.inf))
        return plain(c, k, forced, **kw)

    monkeypatch.setattr(pmedian, "greedy", spy)
    p = _instance(30, 3, 60.0, 0)
    before = time.perf_counter()
    res = solve_capacitated(p, time_limit=10, seed=0)
    after = time.perf_counter()
    assert len(seen) == 1
    assert before + 0.5 <= seen[0] <= after + 0.5
    assert p.violations(res.columns) == []


# --- QA round 20 -------------------------------------------------------------


def test_knapsacks_with_a_deadline_keep_what_is_done(monkeypatch):
    """With a deadline the table runs in chunks of columns: the values match
    the plain program, and a deadline already past leaves every column
    ``nan`` (no items) instead of running on."""
    from terrakit.design import _cpmp

    rng = np.random.default_rng(4)
    n, m, q = 12, 7, 15
    w = rng.normal(size=(n, m)) * 5
    d = rng.integers(0, 6, size=n)
    home = np.array([0, 3, -1, 5, 7, 11, 2])
    plain, plain_items = knapsacks(w, d, q, items=True, home=home)
    monkeypatch.setattr(_cpmp, "CHUNK_CELLS", 2 * (q + 1))  # 2 columns a chunk
    vals, items = knapsacks(w, d, q, items=True, home=home, deadline=math.inf)
    assert vals.tolist() == plain.tolist()
    assert items is not None and plain_items is not None
    assert (items == plain_items).all()
    late, late_items = knapsacks(w, d, q, items=True, home=home, deadline=0.0)
    assert np.isnan(late).all()
    assert late_items is not None and not late_items.any()


def test_reduced_pairs_cut_by_the_clock_keep_a_valid_superset():
    """Regression (QA round 20): the reduced-cost fixing ran the exact
    knapsack of every candidate with no clock check (24 s of a 5 s limit at
    capacity 18,392).  With a deadline already past it keeps the fractional
    bounds (weaker, still valid): it says it is incomplete and keeps every
    pair the complete fixing keeps."""
    from terrakit.design.capacitated import _reduced_pairs

    p = _loose()
    c = np.asarray(p.cost, dtype=float)
    d = np.asarray(p.activities["demand"]).astype(np.int64)
    q, k, n = int(p.upper["demand"][0]), 5, 60
    u = np.sort(c, axis=1)[:, 12]
    ub = lagrangian(c, d, q, k, u, home=np.arange(n))[0] + 40  # 885.1 + 40
    args = (c, d, q, k, u, ub, False, True, 1e9, np.arange(n))
    full, done = _reduced_pairs(*args, deadline=math.inf)
    assert done and (full == _reduced_pairs(*args)[0]).all()
    assert 0 < full.sum() < n * n  # the exact bounds fix some pairs
    cut, done = _reduced_pairs(*args, deadline=0.0)
    assert not done
    assert (cut | full == cut).all() and cut.sum() > full.sum()


def test_lagrangian_past_its_deadline_is_still_a_bound():
    """A Lagrangian whose knapsacks the clock stopped keeps the fractional
    values: a lower bound of the complete one, with items for every column."""
    p = _instance(25, 3, 50.0, 5)
    c = np.asarray(p.cost)
    d = np.asarray(p.activities["demand"]).astype(np.int64)
    u = np.random.default_rng(0).uniform(0, 40, size=25)
    full = lagrangian(c, d, 50, 3, u, home=np.arange(25))
    val, s, items, _rho, is_exact = lagrangian(
        c, d, 50, 3, u, home=np.arange(25), deadline=0.0
    )
    assert not is_exact.any() and val < full[0]
    assert items.shape == (25, 3) and items[s, np.arange(3)].all()


def test_every_knapsack_table_of_a_solve_has_the_clock(monkeypatch):
    """Regression (QA round 20): the Lagrangian and the reduced-cost fixing
    ran the knapsack table with no deadline; every call now gets one within
    the time limit."""
    from terrakit.design import _cpmp

    seen: list[float | None] = []
    plain = _cpmp.knapsacks

    def spy(*a, **kw):
        seen.append(kw.get("deadline"))
        return plain(*a, **kw)

    monkeypatch.setattr(_cpmp, "knapsacks", spy)
    solve_capacitated(_loose(), time_limit=30, seed=3, max_iter=200)
    after = time.perf_counter()
    assert seen and None not in seen
    assert max(seen) <= after + 30  # type: ignore[type-var]


def test_a_fixing_stopped_by_the_clock_skips_the_reduced_mip(monkeypatch):
    """When the clock stops the reduced-cost fixing, the pairs left are not
    worth a MIP: the answer says which step the clock stopped (the same
    problem is proven optimal by the reduced MIP otherwise)."""
    from terrakit.design import capacitated

    plain = capacitated._reduced_pairs

    def late(*a, **kw):
        return plain(*a, **{**kw, "deadline": 0.0})

    p = _loose()
    res = solve_capacitated(p, time_limit=30, seed=3, max_iter=200)
    assert res.method.endswith("+mip/highs") and res.status == "optimal"
    monkeypatch.setattr(capacitated, "_reduced_pairs", late)
    with pytest.warns(TimeLimitWarning, match="reduced-cost fixing"):
        cut = solve_capacitated(p, time_limit=30, seed=3, max_iter=200)
    assert cut.method == "cpmp-ils+lagrangian" and cut.status == "time_limit"
    assert "reduced-cost fixing" in cut.info["clock_stopped"]
    assert p.violations(cut.columns) == []


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        (
            {"upper": {"demand": 3.0}, "lower": {"demand": 2.0}},
            "the band on 'demand' has a lower limit (2); a capacity is an upper "
            "limit only",
        ),
        ({}, "it has 0 banded activities (none), not one capacity"),
        (
            {"upper": {"demand": 3.0, "other": 3.0}},
            "it has 2 banded activities ('demand', 'other'), not one capacity",
        ),
        (
            {"upper": {"demand": 3.0}, "activities": {"demand": [1, 1, 1.5, 1]}},
            "1 unit(s) have a 'demand' that is not a whole number (unit 2: 1.5; the "
            "knapsack bound needs integers: scale the activity)",
        ),
    ],
)
def test_solve_capacitated_refuses_a_problem_that_is_not_cpmp(kw, why):
    """Regression (QA round 20): solve_capacitated did not check its
    precondition: a lower band of 2 was dropped (a territory of 1 reported
    optimal), no band or two bands failed with a bare unpacking ValueError."""
    x = np.array([0.0, 1.0, 2.0, 100.0])
    kw.setdefault("activities", {"demand": np.ones(4), "other": np.ones(4)})
    p = DesignProblem(
        unit_ids=np.arange(4),
        n_territories=2,
        cost=np.abs(x[:, None] - x[None]),
        center_mode="choose",
        center_units=np.arange(4),
        **kw,
    )
    assert not is_capacitated_pmedian(p)
    with pytest.raises(SpecificationError) as err:
        solve_capacitated(p, time_limit=2)
    assert str(err.value) == (
        "solve_capacitated needs a capacitated p-median problem (chosen centers, "
        "one capacity on an activity of whole numbers; see is_capacitated_pmedian)"
        f": {why}; use terrakit.design.solve, which picks the path for any design "
        "problem"
    )

"""The p-median and capacitated p-median engines agree with the plain MIP."""

from __future__ import annotations

import math

import numpy as np
import pytest

from terrakit.design import choose_solver, solve
from terrakit.design.capacitated import is_capacitated_pmedian, solve_capacitated
from terrakit.design.mip import solve_mip
from terrakit.design.pmedian import is_pmedian, solve_pmedian
from terrakit.design.problem import DesignProblem


def _random_instance(
    n: int, k: int, seed: int, capacity: float | None = None
) -> DesignProblem:
    """``n`` random points in a 100 × 100 square, truncated integer distances."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    d = np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)))
    dem = rng.integers(1, 10, size=n).astype(float)
    upper = {} if capacity is None else {"demand": np.full(k, capacity)}
    return DesignProblem(
        unit_ids=np.arange(1, n + 1),
        activities={"demand": dem},
        n_territories=k,
        cost=d,
        center_mode="choose",
        center_units=np.arange(n),
        upper=upper,
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_pmedian_matches_mip(seed):
    p = _random_instance(30, 4, seed)
    assert is_pmedian(p) and choose_solver(p, 10) == "pmedian"
    fast = solve_pmedian(p, time_limit=10, seed=seed)
    exact = solve_mip(p, time_limit=30)
    assert fast.status == "optimal" and exact.status == "optimal"
    assert fast.objective == pytest.approx(exact.objective)
    assert fast.lower_bound <= fast.objective + 1e-9


def test_capacitated_matches_mip():
    p = _random_instance(25, 3, 5, capacity=50.0)
    assert is_capacitated_pmedian(p) and choose_solver(p, 10) == "capacitated"
    res = solve_capacitated(p, time_limit=10)
    exact = solve_mip(p, time_limit=30, mip_gap=1e-9)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(exact.objective)
    assert p.violations(res.columns) == []


def test_solve_dispatch_names_the_method():
    p = _random_instance(20, 3, 2)
    assert solve(p, time_limit=5).method.startswith("pmedian")
    assert solve(p, solver="mip", backend="cbc", time_limit=20).method == "mip/cbc"


@pytest.fixture
def euclid100_k10() -> DesignProblem:
    """100 random points (seed 2), real Euclidean distances, k = 10: the
    Lagrangian bound stays a little below the best interchange answer, so the
    reduced MIP is needed to prove optimality."""
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 100, size=(100, 2))
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    return DesignProblem(
        unit_ids=np.arange(100),
        activities={"demand": np.ones(100)},
        n_territories=10,
        cost=d,
        center_mode="choose",
        center_units=np.arange(100),
    )


def test_reduced_mip_closes_the_gap(euclid100_k10: DesignProblem) -> None:
    res = solve_pmedian(euclid100_k10, time_limit=20, seed=0)
    assert res.status == "optimal"
    assert res.method == "pmedian+mip/highs"
    assert res.lower_bound == pytest.approx(res.objective)


def test_reduced_mip_skipped_when_it_cannot_finish(
    euclid100_k10: DesignProblem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No time for the reduced MIP: the interchange answer comes back with the
    Lagrangian bound within the budget.  It ends with time left, so it is
    'feasible' with the reason, not 'time_limit' with a warning that the
    whole limit was used (it said so after 5 of 10 s on pmed16)."""
    import warnings

    import terrakit.design.pmedian as pm

    monkeypatch.setattr(pm, "PAIRS_PER_SECOND", 0)
    monkeypatch.setattr(pm, "SMALL_REDUCED_PAIRS", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pm.TimeLimitWarning)
        res = solve_pmedian(euclid100_k10, time_limit=4, seed=0)
    assert res.status == "feasible" and res.method == "pmedian"
    assert res.seconds < 0.95 * 4
    assert res.info["mip_skipped"]
    assert res.info["unproven"].endswith(res.info["mip_skipped"])
    assert res.lower_bound == pytest.approx(res.info["lagrangian_bound"])
    assert res.lower_bound < res.objective


def test_reduced_mip_stopped_by_the_clock_warns(
    euclid100_k10: DesignProblem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reduced MIP stopped at the limit: status 'time_limit' with a
    TimeLimitWarning giving the seconds used (it came back silent)."""
    import dataclasses

    import terrakit.design._model as model
    import terrakit.design.pmedian as pm

    real = model.solve_model

    def stopped(*args, **kw):
        # the MIP stops at its time limit, unproven, at its start
        out = real(*args, **kw)
        return dataclasses.replace(out, status="time_limit", bound=-math.inf)

    monkeypatch.setattr(model, "solve_model", stopped)
    monkeypatch.setattr(pm, "SMALL_REDUCED_PAIRS", 0)
    with pytest.warns(pm.TimeLimitWarning, match=r"stopped at its 10-s limit"):
        res = solve_pmedian(euclid100_k10, time_limit=10, seed=0)
    assert res.status == "time_limit" and res.info["mip_status"] == "time_limit"
    assert res.lower_bound < res.objective


@pytest.mark.parametrize("capacity", [None, 16.0])
def test_budgets_keep_the_plain_mip(capacity):
    """A disruption budget is a constraint only the MIP models: neither
    special path takes the problem (solver='mip' returned a p-median plan
    of 176 using 10 of a budget of 2; the optimum is 260)."""
    from terrakit.exceptions import InfeasibleError

    rng = np.random.default_rng(0)
    n, k = 10, 3
    xy = rng.uniform(0, 100, size=(n, 2))
    d = rng.integers(1, 10, n).astype(float)
    bcost = np.ones((n, n))
    bcost[:, 0] = 0.0
    p = DesignProblem(
        unit_ids=np.arange(n),
        activities={"demand": d},
        n_territories=k,
        cost=np.round(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))),
        center_mode="choose",
        center_units=np.arange(n),
        budgets={"disruption": (bcost, 2.0)},
        upper={} if capacity is None else {"demand": np.full(k, capacity)},
    )
    assert not is_pmedian(p) and not is_capacitated_pmedian(p)
    assert choose_solver(p, 3) == "mip"
    if capacity is None:
        res = solve(p, solver="mip", time_limit=10)
        assert res.method == "mip/highs" and res.status == "optimal"
        assert res.objective == 260.0 and p.violations(res.columns) == []
    else:
        with pytest.raises(InfeasibleError, match="the budget 'disruption'"):
            solve(p, solver="mip", time_limit=10)


def test_no_k_centers_within_reach_goes_to_the_mip():
    """Unit 0 may only use center 0, unit 3 only center 3, one territory:
    no plan exists (the p-median path returned one, 'optimal', with a
    unit at a forbidden center)."""
    from terrakit.exceptions import InfeasibleError

    n = 4
    allowed = np.ones((n, n), dtype=bool)
    allowed[0, 1:] = False
    allowed[3, :3] = False
    p = DesignProblem(
        unit_ids=np.arange(n),
        activities={"d": np.ones(n)},
        n_territories=1,
        cost=np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(float),
        center_mode="choose",
        center_units=np.arange(n),
        allowed=allowed,
    )
    with pytest.raises(InfeasibleError, match=r"\(mip/highs\)"):
        solve_pmedian(p, time_limit=5)


def test_locks_to_more_centers_than_territories():
    from terrakit.exceptions import SpecificationError

    n = 4
    p = DesignProblem(
        unit_ids=np.arange(n),
        activities={"d": np.ones(n)},
        n_territories=1,
        cost=np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(float),
        center_mode="choose",
        center_units=np.arange(n),
        locked={0: 0, 3: 3},
    )
    with pytest.raises(SpecificationError) as err:
        solve_pmedian(p, time_limit=5)
    assert str(err.value) == (
        "units are locked to 2 different centers (0, 3) but only 1 territories "
        "are chosen; unlock units or use n_territories ≥ 2"
    )


@pytest.mark.parametrize("time_limit", [1.0, 2.0])
def test_short_limit_still_searches(time_limit):
    """Under 2 s the reduced MIP cannot run, so the perturbations must (both
    were skipped: 523.85 against the optimum 513.84, worse than exact=False)."""
    import itertools

    rng = np.random.default_rng(9)
    n = int(rng.integers(8, 15))
    k = int(rng.integers(2, 5))
    xy = rng.uniform(0, 100, size=(n, 2))
    w = rng.integers(1, 9, n)
    c = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) * w[:, None]
    p = DesignProblem(
        unit_ids=np.arange(n),
        activities={"demand": w.astype(float)},
        n_territories=k,
        cost=c,
        center_mode="choose",
        center_units=np.arange(n),
    )
    opt = min(c[:, list(s)].min(1).sum() for s in itertools.combinations(range(n), k))
    res = solve_pmedian(p, time_limit=time_limit, seed=0, exact=True)
    assert res.objective == pytest.approx(opt)
    assert res.status == "optimal"


def test_bound_closed_by_integrality_is_rounded_up():
    """Integer costs, objective 10, Lagrangian bound 9.5: optimal because no
    integer lies between, so the bound reported is 10 (it was 9.5, a 5 %
    gap beside status 'optimal')."""
    rng = np.random.default_rng(25)
    n, k = int(rng.integers(8, 25)), int(rng.integers(2, 5))
    xy = rng.uniform(0, 100, size=(n, 2))
    p = DesignProblem(
        unit_ids=np.arange(n),
        activities={"d": np.ones(n)},
        n_territories=k,
        cost=np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) / 25),
        center_mode="choose",
        center_units=np.arange(n),
    )
    res = solve_pmedian(p, time_limit=5, seed=0)
    assert res.method == "pmedian" and res.status == "optimal"
    assert res.info["lagrangian_bound"] < 9.6
    assert (res.objective, res.lower_bound, res.gap) == (10.0, 10.0, 0.0)


@pytest.mark.parametrize(("n_dup", "k"), [(3, 4), (4, 6), (5, 8)])
def test_medians_at_duplicate_points_serve_themselves(n_dup: int, k: int) -> None:
    """Two medians at one point are both nearest (distance 0) to each other's
    unit; the nearest-median rule gave both units to the first, so a median
    served nobody and the plan had fewer than k territories (3 of 4)."""
    xy = np.array([[0.0, 0.0]] * n_dup + [[100.0, 0.0]] * n_dup + [[50.0, 80.0]])
    n = len(xy)
    d = np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)))
    p = DesignProblem(
        unit_ids=np.arange(1, n + 1),
        activities={"demand": np.ones(n)},
        n_territories=k,
        cost=d,
        center_mode="choose",
        center_units=np.arange(n),
    )
    res = solve_pmedian(p, time_limit=5, seed=0)
    cols = np.asarray(res.columns)
    medians = np.unique(cols)
    assert res.objective == 0.0 and len(medians) == k
    assert all(cols[j] == j for j in medians)
    assert p.violations(cols) == []


def test_candidate_whose_unit_is_locked_elsewhere_never_opens() -> None:
    """Regression (QA round 19): six units in two clusters (x = 0, 1, 2 and
    100, 101, 102), unit 1 locked to the center in unit 4.  The p-median
    path opened the center in unit 1 anyway (10004, 'optimal', bound met)
    although an open center serves its own unit: violations() named it; the
    true optimum, centers 0 or 2 and 4, is 10006."""
    x = np.array([0.0, 1, 2, 100, 101, 102])
    p = DesignProblem(
        unit_ids=np.array(["a0", "a1", "a2", "b0", "b1", "b2"]),
        activities={"w": np.ones(6)},
        n_territories=2,
        cost=(x[:, None] - x[None, :]) ** 2,
        center_mode="choose",
        center_units=np.arange(6),
        locked={1: 4},
    )
    res = solve_pmedian(p, time_limit=5, seed=0)
    assert p.violations(res.columns) == []
    assert 1 not in set(np.asarray(res.columns).tolist())
    assert (res.status, res.objective) == ("optimal", 10006.0)
    assert res.lower_bound <= res.objective
    assert solve_mip(p, time_limit=30).objective == pytest.approx(10006.0)


@pytest.mark.parametrize("m", [20, 21])
def test_perturbations_with_few_closed_candidates(monkeypatch, m: int) -> None:
    """Regression (QA round 19): the perturbation drew up to max(2, k // 5)
    new centers from the m - k closed candidates without looking how many
    there are: a bare numpy ValueError ('Cannot take a larger sample than
    population').  A bound that never closes the gap keeps them running."""
    import itertools

    from terrakit.design import pmedian

    monkeypatch.setattr(
        pmedian, "lagrangian", lambda c, k, upper, **kw: (0.0, c.min(axis=1))
    )
    rng = np.random.default_rng(3)
    n, k = 60, 20
    xy = rng.uniform(0, 100, size=(n, 2))
    cu = rng.choice(n, m, replace=False)
    c = np.floor(np.sqrt(((xy[:, None] - xy[cu][None]) ** 2).sum(-1)))
    p = DesignProblem(
        unit_ids=np.arange(n),
        activities={"w": np.ones(n)},
        n_territories=k,
        cost=c,
        center_mode="choose",
        center_units=cu,
    )
    res = solve_pmedian(p, time_limit=0.5, seed=0, exact=False)
    best = min(c[:, list(s)].min(1).sum() for s in itertools.combinations(range(m), k))
    assert res.objective == best
    assert res.lower_bound == 0.0 and res.status != "optimal"


def test_lagrangian_never_below_the_cheapest_assignment_bound() -> None:
    """Regression (QA round 19): the first Lagrangian call came after its
    deadline (ran zero steps: bound -inf) and its start, each unit's
    (k+1)-th cheapest cost, lies far below Σ_i min_j c_ij (here 0: every
    unit may be its own center), a bound at no cost."""
    from terrakit.design.pmedian import lagrangian

    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 100, size=(100, 2))
    c = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    trivial = float(c.min(axis=1).sum())
    assert trivial == 0.0
    lb, u = lagrangian(c, 33, 1e6, deadline=0.0)  # deadline long past
    assert lb == 0.0 and u.tolist() == c.min(axis=1).tolist()
    lb, _ = lagrangian(c, 33, 1e6, iterations=1)
    assert lb == 0.0
    lb, _ = lagrangian(c, 33, 1e6, iterations=200)
    assert lb >= 0.0


def test_greedy_past_its_deadline_fills_the_centers_cheaply() -> None:
    """Regression (QA round 19): the greedy start (k passes over n × m) did
    not look at the clock: 21.5 s of a 3 s limit for 4,000 units and 300
    centers.  Past its deadline it adds the missing centers by the
    stochastic greedy (locks kept); without one it is the plain greedy."""
    from terrakit.design.pmedian import greedy

    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 100, size=(50, 2))
    c = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    fill = greedy(c, 8, np.array([7]), deadline=0.0, rng=np.random.default_rng(0))
    assert fill.size == 8 and np.unique(fill).size == 8 and 7 in fill
    assert fill.tolist() == sorted(fill.tolist())
    again = greedy(c, 8, np.array([7]), deadline=0.0, rng=np.random.default_rng(0))
    assert again.tolist() == fill.tolist()
    full = greedy(c, 8, np.array([7]))
    assert greedy(c, 8, np.array([7]), deadline=math.inf).tolist() == full.tolist()
    # the plain greedy: each step the center that lowers the total most
    chosen, cur = [7], c[:, 7].copy()
    while len(chosen) < 8:
        tot = np.minimum(cur[:, None], c).sum(axis=0)
        tot[chosen] = np.inf
        chosen.append(int(np.argmin(tot)))
        cur = np.minimum(cur, c[:, chosen[-1]])
    assert full.tolist() == sorted(chosen)

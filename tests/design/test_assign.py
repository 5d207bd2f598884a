"""The balanced assignment LP (:mod:`terrakit.design._assign`)."""

from __future__ import annotations

import numpy as np
import pytest

from terrakit.design._assign import lagrangian_bound, solve_assignment_lp


def _points(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random units with weights 1..9 and ``k`` random centers in the
    unit square; cost = weight × squared distance."""
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2))
    w = rng.integers(1, 10, n).astype(float)
    c = rng.random((k, 2))
    cost = w[:, None] * ((xy[:, None, :] - c[None]) ** 2).sum(-1)
    return cost, w[:, None]


def test_two_units_two_centers_optimum() -> None:
    """Hand-checkable: each unit at its own center when the band allows it."""
    cost = np.array([[0.0, 4.0], [4.0, 0.0]])
    a = np.ones((2, 1))
    lo, hi = np.ones((2, 1)), np.ones((2, 1))
    lp = solve_assignment_lp(cost, a, lo, hi)
    assert lp.status == "optimal"
    assert lp.objective == pytest.approx(0.0)
    assert lp.labels.tolist() == [0, 1]


def test_truly_infeasible_bands_say_so() -> None:
    """Bands that cannot hold the total (3 units, each territory exactly 1)."""
    cost = np.zeros((3, 2))
    a = np.ones((3, 1))
    lp = solve_assignment_lp(cost, a, np.ones((2, 1)), np.ones((2, 1)))
    assert lp.status == "infeasible"
    assert (lp.labels == -1).all()


def test_time_limited_lp_is_not_infeasible() -> None:
    """A run cut by its time limit keeps an answer for every unit.

    Before, any non-optimal HiGHS status was read as "infeasible" (labels
    −1); the caller then gave up on a feasible instance.
    """
    cost, a = _points(4000, 80, seed=0)
    mean = a.sum() / 80
    lo = np.full((80, 1), 0.99 * mean)
    hi = np.full((80, 1), 1.01 * mean)
    lp = solve_assignment_lp(cost, a, lo, hi, q=4, time_limit=1e-3)
    assert lp.status == "time_limit"
    assert (lp.labels >= 0).all() and (lp.labels < 80).all()
    assert lp.objective == pytest.approx(cost[np.arange(4000), lp.labels].sum())
    # the same LP with time is solved to optimality, and its bound holds
    full = solve_assignment_lp(cost, a, lo, hi, q=4, time_limit=60)
    assert full.status == "optimal"
    lb = lagrangian_bound(cost, a, lo, hi, full.duals)
    assert lb == pytest.approx(full.objective, rel=1e-6)


def test_time_limit_is_respected() -> None:
    """The whole call (HiGHS and column generation) stops near its limit."""
    import time

    cost, a = _points(6000, 120, seed=1)
    mean = a.sum() / 120
    t0 = time.perf_counter()
    lp = solve_assignment_lp(
        cost,
        a,
        np.full((120, 1), 0.995 * mean),
        np.full((120, 1), 1.005 * mean),
        q=2,
        time_limit=0.2,
    )
    assert time.perf_counter() - t0 < 5.0
    assert lp.status in ("optimal", "time_limit")
    assert (lp.labels >= 0).all()


def _brute_force_banded(cost, act, lower, upper):
    """Cheapest assignment meeting every band, by enumerating all k^n plans."""
    import itertools

    n, k = cost.shape
    best = (np.inf, None)
    for plan in itertools.product(range(k), repeat=n):
        lab = np.array(plan)
        sums = np.stack([act[lab == j].sum(axis=0) for j in range(k)])
        if np.all(sums >= lower - 1e-9) and np.all(sums <= upper + 1e-9):
            c = cost[np.arange(n), lab].sum()
            if c < best[0]:
                best = (c, lab)
    return best


def test_round_by_mip_weighs_moves_against_their_cost() -> None:
    """Without polish, ``move_cost`` turns "fewest moves" into "fewest moves
    plus w × cost over the start's mean cost": the MIP reaches the
    brute-force optimum of that objective (3^9 plans), has as few or one
    more move than the plan of the count alone, and is cheaper than it."""
    import itertools

    from terrakit.design._assign import round_by_mip

    rng = np.random.default_rng(3)
    n, k = 9, 3
    cost = rng.uniform(0, 10, size=(n, k))
    act = np.column_stack([rng.uniform(1, 3, n), rng.uniform(1, 3, n)])
    act[0, 0], act[1, 1] = 6.0, 6.0
    mean = act.sum(axis=0) / k
    lower = np.tile(0.8 * mean, (k, 1))
    upper = np.tile(1.2 * mean, (k, 1))
    start = np.argmin(cost, axis=1)
    ref = cost[np.arange(n), start].mean()
    w = 0.3

    def score(lab: np.ndarray) -> tuple[int, float]:
        return int((lab != start).sum()), float(cost[np.arange(n), lab].sum())

    plans = [np.array(p) for p in itertools.product(range(k), repeat=n)]
    ok = [
        lab
        for lab in plans
        if all(
            np.all(lower[j] - 1e-9 <= act[lab == j].sum(axis=0))
            and np.all(act[lab == j].sum(axis=0) <= upper[j] + 1e-9)
            for j in range(k)
        )
    ]
    best = min(score(lab)[0] + w * score(lab)[1] / ref for lab in ok)
    fewest = min(score(lab)[0] for lab in ok)
    kw = {"q": k, "time_limit": 30, "polish": False}
    count = round_by_mip(cost, act, lower, upper, start, **kw)
    weighed = round_by_mip(cost, act, lower, upper, start, move_cost=w, **kw)
    assert count is not None and weighed is not None
    assert score(count)[0] == fewest
    moves, c = score(weighed)
    assert moves + w * c / ref == pytest.approx(best)
    assert fewest <= moves <= fewest + 1
    assert c < score(count)[1]


def test_round_by_mip_reaches_the_banded_optimum() -> None:
    """Two activities with one heavy unit per band: the rounding MIP returns
    a plan inside every band at the brute-force optimum (3^9 plans), from a
    start that breaks the bands; impossible bands give None."""
    from terrakit.design._assign import round_by_mip

    rng = np.random.default_rng(3)
    n, k = 9, 3
    cost = rng.uniform(0, 10, size=(n, k))
    act = np.column_stack([rng.uniform(1, 3, n), rng.uniform(1, 3, n)])
    act[0, 0], act[1, 1] = 6.0, 6.0  # a heavy unit on each activity
    mean = act.sum(axis=0) / k
    lower = np.tile(0.8 * mean, (k, 1))
    upper = np.tile(1.2 * mean, (k, 1))
    opt, _ = _brute_force_banded(cost, act, lower, upper)
    assert np.isfinite(opt)
    start = np.argmin(cost, axis=1)  # cheapest centers: breaks the bands
    sums = np.stack([act[start == j].sum(axis=0) for j in range(k)])
    assert np.any(sums < lower) or np.any(sums > upper)
    lab = round_by_mip(cost, act, lower, upper, start, q=2, time_limit=30)
    assert lab is not None
    sums = np.stack([act[lab == j].sum(axis=0) for j in range(k)])
    assert np.all(sums >= lower - 1e-6) and np.all(sums <= upper + 1e-6)
    assert cost[np.arange(n), lab].sum() == pytest.approx(opt)
    # a lock is kept
    locked = np.full(n, -1)
    locked[0] = 2
    lab = round_by_mip(cost, act, lower, upper, start, locked=locked, time_limit=30)
    assert lab is not None and lab[0] == 2
    # bands no integral plan meets (every unit weighs 1, each band asks 2.5-2.9)
    ones = np.ones((n, 1))
    none = round_by_mip(
        cost, ones, np.full((k, 1), 2.5), np.full((k, 1), 2.9), start, time_limit=30
    )
    assert none is None


def test_round_by_mip_maps_a_seed_past_31_bits(monkeypatch) -> None:
    """HiGHS takes seeds below 2**31: 2**31 + 5 (a valid terrakit seed) was
    refused by setOptionValue and HiGHS ran with its default seed 0."""
    import highspy

    from terrakit.design._assign import round_by_mip
    from terrakit.design._model import backend_seed

    seen: list[object] = []
    real = highspy.Highs.setOptionValue

    def spy(self, name, value):  # type: ignore[no-untyped-def]
        if name == "random_seed":
            seen.append(value)
        return real(self, name, value)

    monkeypatch.setattr(highspy.Highs, "setOptionValue", spy)
    cost = np.array([[0.0, 5.0], [5.0, 0.0], [1.0, 2.0], [2.0, 1.0]])
    act = np.ones((4, 1))
    lower, upper = np.full((2, 1), 2.0), np.full((2, 1), 2.0)
    start = np.array([0, 1, 0, 0])
    lab = round_by_mip(cost, act, lower, upper, start, q=2, seed=2**31 + 5)
    assert lab is not None and np.bincount(lab, minlength=2).tolist() == [2, 2]
    assert seen and all(s == backend_seed(2**31 + 5) < 2**31 for s in seen)

"""Visit rates, evenly spaced patterns and the pattern assignment."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from terrakit.routing.periodic import (
    PatternAssignment,
    assign_patterns,
    day_seeds,
    frequency_label,
    patterns,
    visits_per_cycle,
)


def test_patterns_evenly_spaced() -> None:
    assert patterns(4, 20)[0] == (0, 5, 10, 15)
    assert len(patterns(4, 20)) == 5
    assert all(b - a == 10 for a, b in patterns(2, 20))
    for p in patterns(3, 20):  # gaps 6 or 7 days, wrapping round the cycle
        gaps = np.diff([*p, p[0] + 20])
        assert set(gaps) <= {6, 7}


def test_fractional_rates_rotate_over_cycles() -> None:
    """Over 12 cycles each account gets rate × 12 visits, at most ceil(rate)."""
    cpy = np.array([4.0, 5.0, 12.0, 24.0, 36.0, 6.0])
    order = np.arange(len(cpy))
    total = np.zeros(len(cpy))
    for c in range(12):
        v, rate = visits_per_cycle(
            cpy, weeks=4, weeks_per_year=48, cycle=c, order=order
        )
        assert (v <= np.ceil(rate)).all()
        total += v
    assert np.allclose(total, cpy, atol=1.0)
    assert np.allclose(rate, cpy / 12)


def test_assignment_balances_days() -> None:
    """40 weekly accounts on 5 days: each on one fixed weekday, 8 ± 1 per day."""
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-10, 10, 40), rng.uniform(-10, 10, 40)
    visits = np.full(40, 4)
    work = np.full(40, 30.0)
    seeds = day_seeds(x, y, visits * work, n_weekdays=5, weeks=4)
    pa = assign_patterns(
        visits, work, x, y, seeds, capacity=480, tolerance=0.0, time_limit=2
    )
    assert all(len(p) == 4 and len({d % 5 for d in p}) == 1 for p in pa.days)
    assert np.abs(pa.load - 8 * 30.0).max() <= 30.0 + 1e-9
    assert pa.load.sum() == pytest.approx(40 * 4 * 30.0)


def test_assignment_keeps_the_earliest_first_day() -> None:
    """``earliest`` removes the patterns that start too early; when none
    starts late enough, the latest-starting pattern is taken."""
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-10, 10, 12), rng.uniform(-10, 10, 12)
    visits = np.array([1, 2, 1, 2, 4, 1, 1, 2, 1, 1, 4, 1])
    work = np.full(12, 30.0)
    seeds = day_seeds(x, y, visits * work, n_weekdays=5, weeks=4)
    earliest = np.zeros(12, dtype=np.int64)
    earliest[[0, 1, 4]] = [14, 6, 3]  # all reachable by some pattern
    earliest[3] = 15  # two visits 10 days apart cannot start on day 15
    pa = assign_patterns(
        visits, work, x, y, seeds, capacity=480, time_limit=2, earliest=earliest
    )
    assert pa.days[0][0] >= 14
    assert pa.days[1][0] >= 6
    assert pa.days[4][0] >= 3
    assert pa.days[3] == (9, 19)
    assert [len(p) for p in pa.days] == visits.tolist()


def test_frequency_label() -> None:
    assert frequency_label(4, 4) == "weekly"
    assert frequency_label(2, 4) == "every 2 weeks"
    assert frequency_label(1, 4) == "every 4 weeks"
    assert frequency_label(1 / 3, 4) == "every 12 weeks"


def test_phases_spread_within_each_rate() -> None:
    """Ten 4-a-year accounts in one sector fall due evenly, not all together.

    The phases used to be spread over all 30 accounts by angle, so the ten
    accounts of rate 1/3 (first in the sweep) all had phases below 1/3 and
    fell due in every third cycle together: ``[0, 0, 10, 0, 0, 10, ...]``.
    """
    cpy = np.full(30, 48.0)
    cpy[:10] = 4.0
    order = np.arange(30)
    per_cycle, weekly = [], []
    for c in range(12):
        v, _ = visits_per_cycle(cpy, weeks=4, weeks_per_year=48, cycle=c, order=order)
        per_cycle.append(int(v[:10].sum()))
        weekly.append(v[10:].tolist())
    assert per_cycle == [3, 4, 3, 3, 4, 3, 3, 4, 3, 3, 4, 3]
    assert sum(per_cycle) == 40  # the yearly total stays exact
    assert all(w == [4] * 20 for w in weekly)  # integer rates unchanged


def test_accounts_sharing_a_window_are_spread_over_days() -> None:
    """Two 50-min calls bound to 14:00-16:00, 21 min apart, need 121 min: the
    visit days put them on different days (they used to share the nearer one)."""
    from terrakit.routing.periodic import window_groups

    travel = np.array([[0.0, 21.0], [21.0, 0.0]])
    groups = window_groups(
        np.array([840.0, 840.0]),
        np.array([960.0, 960.0]),
        np.array([True, True]),
        np.array([50.0, 50.0]),
        travel,
        lunch=(720.0, 780.0, 60.0),
    )
    assert [(g, w.tolist(), c) for g, w, c in groups] == [([0, 1], [71.0, 71.0], 141.0)]
    args = (
        np.array([1, 1]),
        np.array([60.0, 60.0]),
        np.zeros(2),
        np.zeros(2),
        np.array([[0.0, 0.0], [100.0, 0.0]]),
    )
    kw = {"capacity": 480.0, "tolerance": 0.99}
    assert assign_patterns(*args, **kw).days == ((0,), (0,))
    assert assign_patterns(*args, **kw, windows=groups).days == ((0,), (1,))


@pytest.fixture
def six_near_day0() -> dict[str, Any]:
    """Six one-visit accounts of 10 min, all nearest to day 0's seed, on 3 days.

    Mean load 20 min, band ``mean ± w_max`` = [10, 30] (``tolerance=0``).  The
    greedy construction (largest work first, ties by index; each account on
    its cheapest day, work above 30 min costing ``λ`` a minute) puts accounts
    0-2 on day 0 (30 min) and 3-5 on day 1, their next nearest day, leaving
    day 2 empty (below the band); a relocation pass then moves one of them to
    day 2.  Each account is nearer to day 1 than to day 2, so the hand
    derivation holds.
    """
    seeds = np.array([[0.0, 0.0], [6.0, 0.0], [-12.0, 0.0]])
    x = np.array([0.0, 0.4, -1.5, 1.2, 2.5, 2.8])
    y = np.array([0.3, -0.9, 0.5, -0.2, 0.7, -1.4])
    dist = np.hypot(x[:, None] - seeds[None, :, 0], y[:, None] - seeds[None, :, 1])
    assert (dist[:, 0] < dist[:, 1]).all() and (dist[:, 1] < dist[:, 2]).all()
    return {
        "args": (np.ones(6, dtype=np.int64), np.full(6, 10.0), x, y, seeds),
        "kw": {"capacity": 480.0, "tolerance": 0.0},
        "dist": dist,
    }


def _assert_valid(
    pa: PatternAssignment,
    visits: np.ndarray,
    n_days: int,
    earliest: np.ndarray | None = None,
) -> None:
    """Every account has exactly its visits, on one of its evenly spaced
    patterns that starts no earlier than ``earliest`` (or the latest start)."""
    for i, (p, v) in enumerate(zip(pa.days, visits, strict=True)):
        ps = patterns(int(v), n_days)
        if earliest is not None and earliest[i] > 0 and v > 0:
            ps = [q for q in ps if q[0] >= min(earliest[i], max(q[0] for q in ps))]
        assert len(p) == v and (v == 0 or p in ps), (i, p, v)


def test_ample_time_gives_the_brute_force_optimum(
    six_near_day0: dict[str, Any],
) -> None:
    """With time to spare the MIP's optimum is kept, and nothing is cut: the
    same answer as the brute-force minimum of imbalance, then distance."""
    import itertools

    dist = six_near_day0["dist"]
    best = sorted(
        (
            np.maximum(
                np.abs(np.bincount(c, minlength=3) * 10.0 - 20.0) - 10.0, 0.0
            ).sum(),
            dist[range(6), c].sum(),
            c,
        )
        for c in itertools.product(range(3), repeat=6)
    )
    # unique, and more than the MIP's 2 % gap ahead of the next answer
    assert best[0][0] == 0 and best[1][1] > 1.02 * best[0][1]
    pa = assign_patterns(*six_near_day0["args"], **six_near_day0["kw"], time_limit=30)
    assert pa.days == tuple((d,) for d in best[0][2])
    assert pa.status == "optimal" and not pa.cut_by_clock


def test_deadline_already_passed_keeps_the_construction(
    six_near_day0: dict[str, Any],
) -> None:
    """``time_limit=0``: no MIP, no relocation; the complete greedy
    construction derived by hand in the fixture, and a status that says so
    with the seconds (it used to run the relocation passes regardless)."""
    pa = assign_patterns(*six_near_day0["args"], **six_near_day0["kw"], time_limit=0)
    assert pa.days == ((0,), (0,), (0,), (1,), (1,), (1,))
    assert pa.load.tolist() == [30.0, 30.0, 0.0]
    assert pa.cut_by_clock
    assert re.fullmatch(
        r"heuristic \(time_limit=0 s: the greedy construction of 6 accounts took "
        r"\S+ s, the setting up before it \S+ s; "
        r"no time left for the MIP; relocation stopped in pass 1 of 3, after 0 of "
        r"6 accounts\)",
        pa.status,
    ), pa.status


def test_deadline_passed_assignment_is_complete_and_valid() -> None:
    """40 accounts of 1-4 visits with first-day limits and a window group,
    ``time_limit=0``: every account still gets exactly its visits on one of
    its allowed evenly spaced patterns."""
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-10, 10, 40), rng.uniform(-10, 10, 40)
    visits = rng.choice([0, 1, 2, 4], 40)
    work = rng.uniform(20, 60, 40)
    seeds = day_seeds(x, y, visits * work, n_weekdays=5, weeks=4)
    earliest = rng.integers(0, 8, 40)
    group = [(list(range(0, 40, 5)), np.full(8, 50.0), 120.0)]
    pa = assign_patterns(
        visits,
        work,
        x,
        y,
        seeds,
        capacity=480,
        time_limit=0,
        earliest=earliest,
        windows=group,
    )
    _assert_valid(pa, visits, 20, earliest)
    assert pa.load.sum() == pytest.approx(float((visits * work).sum()))
    assert pa.cut_by_clock and pa.status.startswith("heuristic (time_limit=0 s: ")


def test_relocation_passes_stop_at_the_clock(
    six_near_day0: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clock that moves 1 s at every reading, ``time_limit=7``: the
    relocation passes stop part-way through their first pass (the greedy used
    to run its passes, and the MIP its full time limit, unclocked)."""
    from terrakit.routing import periodic

    class Clock:
        now = 0.0

        def perf_counter(self) -> float:
            self.now += 1.0
            return self.now

    clock = Clock()
    monkeypatch.setattr(periodic, "time", clock, raising=False)
    pa = assign_patterns(*six_near_day0["args"], **six_near_day0["kw"], time_limit=7)
    m = re.search(r"relocation stopped in pass 1 of 3, after (\d) of 6", pa.status)
    assert m is not None and int(m[1]) < 6, pa.status
    assert pa.cut_by_clock and clock.now < 12
    _assert_valid(pa, np.ones(6, dtype=np.int64), 3)


def test_assignment_keeps_the_first_day_in_its_range() -> None:
    """``latest`` (QA round 18: across cycles the gap to the last visit was
    bounded only from below) removes the patterns that start too late; with
    ``earliest`` the first day stays in the range; when none starts early
    enough (``latest < 0``: the account is overdue) the earliest start is
    taken, when none starts late enough the latest."""
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-10, 10, 12), rng.uniform(-10, 10, 12)
    visits = np.array([1, 2, 1, 2, 4, 1, 1, 2, 1, 1, 4, 1])
    work = np.full(12, 30.0)
    seeds = day_seeds(x, y, visits * work, n_weekdays=5, weeks=4)
    earliest = np.zeros(12, dtype=np.int64)
    latest = np.full(12, 20, dtype=np.int64)
    latest[[0, 1, 2]] = [3, 1, -4]
    earliest[[5, 6]] = [8, 12]
    latest[[5, 6]] = [9, 12]
    earliest[3], latest[3] = 12, 30  # two visits 10 days apart start by day 9
    pa = assign_patterns(
        visits,
        work,
        x,
        y,
        seeds,
        capacity=480,
        time_limit=2,
        earliest=earliest,
        latest=latest,
    )
    assert pa.days[0][0] <= 3
    assert pa.days[1][0] <= 1
    assert pa.days[2] == (0,)
    assert pa.days[5][0] in (8, 9)
    assert pa.days[6] == (12,)
    assert pa.days[3] == (9, 19)
    assert [len(p) for p in pa.days] == visits.tolist()

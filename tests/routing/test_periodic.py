"""Visit rates, evenly spaced patterns and the pattern assignment."""

from __future__ import annotations

import numpy as np
import pytest

from terrakit.routing.periodic import (
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

"""Moving visits dropped from an overfull day to a nearby day with room."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from terrakit.routing import plan as pl


def context(n_acc: int, minutes: float, *, lunch: bool = True) -> pl._DayContext:
    """``n_acc`` accounts 10 min from home and from each other, 8:00-17:00."""
    m = np.full((n_acc + 1, n_acc + 1), 10.0)
    np.fill_diagonal(m, 0.0)
    return pl._DayContext(
        tmat=m,
        minutes=np.full(n_acc, minutes),
        cpy=np.full(n_acc, 12.0),
        win_lo=np.full(n_acc, 480.0),
        win_hi=np.full(n_acc, 1020.0),
        d0=480.0,
        d1=1020.0,
        lunch=(720.0, 780.0, 60.0) if lunch else None,
    )


def labels(n: int) -> list[str]:
    return [f"D{d}" for d in range(n)]


def overfull_day(ctx: pl._DayContext, accs: list[int]) -> tuple[list, list]:
    tokens, dropped = pl._solve_day(accs, ctx, backend="ortools", time_limit=5, seed=0)
    return tokens, dropped


def test_dropped_visit_moves_to_a_day_with_room() -> None:
    """Day 0 holds three 150-min visits; 8 h minus lunch fit two.  Monthly
    accounts (1 visit in 20 days) may move ±5 days: the third goes to day 1."""
    ctx = context(3, 150.0)
    tokens0, dropped0 = overfull_day(ctx, [0, 1, 2])
    assert len(dropped0) == 1 and dropped0[0][1].startswith("day overfull")
    k = dropped0[0][0]
    n_days = 20
    day_tokens = [tokens0] + [[] for _ in range(n_days - 1)]
    day_dropped = [dropped0] + [[] for _ in range(n_days - 1)]
    final = [[0], [0], [0]]
    moved = np.zeros(3, dtype=np.int64)
    pl._rebalance(
        day_tokens, day_dropped, final, moved, np.ones(3, int), ctx, labels(n_days)
    )
    assert day_dropped[0] == []
    assert moved[k] == 1 and final[k] == [1]
    assert ("visit", k) in day_tokens[1]
    _, info = pl._day_output(day_tokens[1], ctx)  # exact times, within hours
    assert info["start"] >= 480 - 1e-9 and info["end"] <= 1020 + 1e-9
    # lunch taken 12:00-13:00 and never during the visit
    stops, _ = pl._day_output(day_tokens[1], ctx)
    lunch = [s for s in stops if s["kind"] == "lunch"]
    assert len(lunch) == 1 and lunch[0]["start"] == pytest.approx(720.0)


def test_weekly_visit_cannot_move_and_says_why() -> None:
    """Weekly accounts in a 5-day cycle have spacing 5 → may move ±1 day; with
    every other day full the visit stays dropped and the reason names it."""
    ctx = context(3, 150.0)
    tokens0, dropped0 = overfull_day(ctx, [0, 1, 2])
    n_days = 2
    full = [("visit", 0), ("lunch", 0), ("visit", 1)]
    day_tokens = [tokens0, full]
    day_dropped = [dropped0, []]
    final = [[0, 1], [0, 1], [0]]
    moved = np.zeros(3, dtype=np.int64)
    visits = np.array([2, 2, 1])
    pl._rebalance(day_tokens, day_dropped, final, moved, visits, ctx, labels(n_days))
    assert len(day_dropped[0]) == 1
    why = day_dropped[0][0][1]
    assert why.startswith("day overfull")
    assert "frequency leaves no other day" in why or "had room" in why
    assert moved.sum() == 0


def test_try_insert_respects_windows() -> None:
    """An account open only 16:30-17:00 for 60 min fits nowhere."""
    ctx = context(2, 60.0, lunch=False)
    ctx = pl._DayContext(
        tmat=ctx.tmat,
        minutes=ctx.minutes,
        cpy=ctx.cpy,
        win_lo=np.array([480.0, 990.0]),
        win_hi=np.array([1020.0, 1020.0]),
        d0=ctx.d0,
        d1=ctx.d1,
        lunch=None,
    )
    assert pl._try_insert([("visit", 0)], 1, ctx) is None
    res = pl._try_insert([], 0, ctx)
    assert res is not None and res[0] == [("visit", 0)]


def test_infeasible_solver_route_is_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the search returns a route that breaks a window (cut short on a busy
    machine), the day is rebuilt by feasible insertion instead of failing."""
    from terrakit.routing import vrp

    ctx = pl._DayContext(
        tmat=context(2, 30.0).tmat,
        minutes=np.full(2, 30.0),
        cpy=np.full(2, 12.0),
        win_lo=np.array([480.0, 900.0]),  # account 1 only from 15:00
        win_hi=np.array([600.0, 960.0]),  # account 0 only until 10:00
        d0=480.0,
        d1=1020.0,
        lunch=None,
    )

    def wrong_order(prob, **kw):  # type: ignore[no-untyped-def]
        chk = vrp.evaluate_routes(prob, [[2, 1]])
        assert not chk.feasible
        return vrp.RoutingSolution(
            routes=((2, 1),),
            dropped=(),
            cost=chk.cost,
            feasible=False,
            status="infeasible",
            backend="pyvrp",
            seconds=0.0,
            check=chk,
        )

    monkeypatch.setattr(pl, "solve_routing", wrong_order)
    tokens, dropped = pl._solve_day([0, 1], ctx, backend="pyvrp", time_limit=1, seed=0)
    assert tokens == [("visit", 0), ("visit", 1)]
    assert dropped == []
    _, info = pl._day_output(tokens, ctx)
    assert info["visits"] == 2


def test_lunch_at_a_place_not_visited_that_day() -> None:
    """A solver may take the break at the place of a visit it then dropped;
    the day's times and a later insertion still work."""
    ctx = context(3, 30.0)
    tokens = [("visit", 0), ("lunch", 2)]
    stops, info = pl._day_output(tokens, ctx)
    assert info["visits"] == 1
    assert [s["kind"] for s in stops] == ["home", "visit", "lunch", "home"]
    res = pl._try_insert(tokens, 1, ctx)
    assert res is not None
    assert sorted(k for kind, k in res[0] if kind == "visit") == [0, 1]


def far_context(travel: float, window: tuple[float, float]) -> pl._DayContext:
    """One 30-min account ``travel`` min from home, open ``window`` (minutes),
    8:00-17:00 with the fixed break 12:00-13:00."""
    return pl._DayContext(
        tmat=np.array([[0.0, travel], [travel, 0.0]]),
        minutes=np.array([30.0]),
        cpy=np.array([48.0]),
        win_lo=np.array([window[0]]),
        win_hi=np.array([window[1]]),
        d0=480.0,
        d1=1020.0,
        lunch=(720.0, 780.0, 60.0),
    )


def test_fits_alone_counts_where_the_break_falls() -> None:
    """220 min away, open 11:40-13:30: the call fits 11:40-12:10 (over the
    break) or from 13:00 (back at 17:10).  It used to count as fitting and
    then be dropped as "day overfull"; the reason now names the break."""
    ctx = far_context(220.0, (700.0, 810.0))
    assert not ctx.fits_alone(0)
    assert pl._try_insert([], 0, ctx) is None
    tokens, dropped = pl._solve_day([0], ctx, backend="ortools", time_limit=5, seed=0)
    assert tokens == []
    assert len(dropped) == 1
    why = dropped[0][1]
    assert why.startswith("cannot be reached and served within working hours")
    assert "lunch break taken within 12:00-13:00" in why
    no_lunch = dataclasses.replace(ctx, lunch=None)
    assert no_lunch.fits_alone(0)  # 11:40-12:10, back at 15:50


@pytest.mark.parametrize("backend", ["pyvrp", "ortools"])
def test_break_at_the_account_before_its_call(backend: str) -> None:
    """120 min away, open 12:30-13:30: only arriving before 12:00, taking the
    break there and calling at 13:00 works; inserting into an empty day used
    to miss that order."""
    ctx = far_context(120.0, (750.0, 810.0))
    assert ctx.fits_alone(0)
    res = pl._try_insert([], 0, ctx)
    assert res is not None and res[0] == [("lunch", 0), ("visit", 0)]
    tokens, dropped = pl._solve_day([0], ctx, backend=backend, time_limit=5, seed=0)
    assert dropped == []
    stops, info = pl._day_output(tokens, ctx)
    visit = next(s for s in stops if s["kind"] == "visit")
    assert visit["start"] == pytest.approx(780.0)
    assert info["end"] <= 1020.0 + 1e-9


def test_call_ends_by_the_closing_time() -> None:
    """``tw_end`` is the closing time: a 90-min call in a 13:00-15:00 window
    starts by 13:30 (it used to be allowed to start at 15:00 and end 16:30),
    and a 30-min call cannot fit a 10:00-10:15 window at all."""
    ctx = dataclasses.replace(
        context(2, 90.0, lunch=False),
        win_lo=np.array([780.0, 600.0]),
        win_hi=np.array([900.0, 615.0]),
        minutes=np.array([90.0, 30.0]),
    )
    prob, _, _ = pl._day_problem([0], ctx)
    assert prob.late[1] == pytest.approx(900.0 - 90.0)
    assert ctx.fits_alone(0)
    assert not ctx.fits_alone(1)
    tokens, _ = pl._solve_day([0], ctx, backend="pyvrp", time_limit=1, seed=0)
    stops, _ = pl._day_output(tokens, ctx)
    visit = next(s for s in stops if s["kind"] == "visit")
    assert 780.0 - 1e-9 <= visit["start"] and visit["depart"] <= 900.0 + 1e-9


def windowed(lo: float, hi: float) -> pl._DayContext:
    """One account 10 min from home, a 30-min call, open ``lo``-``hi``
    (minutes); 08:00-17:00, lunch 12:00-13:00."""
    return dataclasses.replace(
        context(1, 30.0), win_lo=np.array([lo]), win_hi=np.array([hi])
    )


def test_break_at_home_before_or_after_the_day_is_no_work() -> None:
    """QA round 18: a morning call (open 08:00-10:00) then the break at home
    counted the wait at home until 12:00 as work (160 min for a 30-min call
    and 20 min of driving); the break at home first, then an afternoon call
    (open 15:00-17:00), counted the wait at the account from 13:10."""
    ctx = windowed(480.0, 600.0)
    stops, info = pl._day_output([("visit", 0), ("lunch", -1)], ctx)
    assert [s["kind"] for s in stops] == ["home", "visit", "home"]
    assert stops[0]["depart"] == pytest.approx(560.0)  # 09:20
    assert stops[1]["start"] == pytest.approx(570.0)
    assert stops[2]["arrive"] == pytest.approx(610.0)  # home 10:10
    assert (info["start"], info["end"]) == pytest.approx((560.0, 610.0))
    assert info["work"] == pytest.approx(50.0) and info["drive"] == pytest.approx(20.0)
    ctx = windowed(900.0, 1020.0)
    stops, info = pl._day_output([("lunch", -1), ("visit", 0)], ctx)
    assert [s["kind"] for s in stops] == ["home", "visit", "home"]
    assert stops[1]["arrive"] == pytest.approx(900.0) == stops[1]["start"]
    assert (info["start"], info["end"]) == pytest.approx((890.0, 940.0))
    assert info["work"] == pytest.approx(50.0) and info["drive"] == pytest.approx(20.0)
    # a break taken during the day is still left out of the work
    _, info = pl._day_output([("visit", 0), ("lunch", 0)], windowed(480.0, 1020.0))
    assert info["work"] == pytest.approx(info["end"] - info["start"] - 60.0)


def test_insertion_costs_no_waiting_for_a_break_at_home() -> None:
    """The insertion cost is driving plus the working day: 20 + 50 min for a
    morning call with the break at home after it (it used to count the wait
    for the break: 20 + 220)."""
    res = pl._try_insert([], 0, windowed(480.0, 600.0))
    assert res is not None
    assert res[0] == [("visit", 0), ("lunch", -1)]
    assert res[1] == pytest.approx(70.0)


def test_moved_first_visit_stays_within_its_latest_day() -> None:
    """A dropped visit that is its account's first of the cycle is not moved
    past its ``latest`` day (the largest gap to the last visit of the cycle
    before); within it, it moves as before."""
    ctx = context(3, 150.0)
    tokens0, dropped0 = overfull_day(ctx, [0, 1, 2])
    k = dropped0[0][0]
    n_days = 20
    for latest, day in ((0, None), (1, 1)):
        day_tokens = [list(tokens0)] + [[] for _ in range(n_days - 1)]
        day_dropped = [list(dropped0)] + [[] for _ in range(n_days - 1)]
        final = [[0], [0], [0]]
        moved = np.zeros(3, dtype=np.int64)
        pl._rebalance(
            day_tokens,
            day_dropped,
            final,
            moved,
            np.ones(3, int),
            ctx,
            labels(n_days),
            latest=np.full(3, latest),
        )
        if day is None:
            assert moved[k] == 0 and final[k] == [0]
            assert day_dropped[0][0][1].endswith(
                "no day within ±5 days of D0 had room (0 tried)"
            )
        else:
            assert moved[k] == 1 and final[k] == [day] and day_dropped[0] == []

"""The periodic layer of call planning: how many visits, and on which days.

Open VRP libraries route one day at a time; a rep's call plan spans a cycle
of several weeks in which an account called 24 times a year is visited every
second week, on days spaced evenly, while each day's work stays about equal
and each day's accounts lie close together.  This module decides those days;
:mod:`terrakit.routing.plan` then routes every day.

Steps (all deterministic for a given seed):

1. :func:`visits_per_cycle` turns ``calls_per_year`` into whole visits in
   this cycle.  Fractions rotate over cycles: an account called 4 times a
   year in a 48-week year with 4-week cycles gets ``1/3`` visit per cycle, so
   one visit in every third cycle; which cycle is set by a phase spread
   evenly over the accounts of that rate (so each cycle carries its share).
2. :func:`patterns` lists the evenly spaced visit-day patterns for ``n``
   visits in ``D`` working days (day ``s + round(k·D/n) mod D``).
3. :func:`day_seeds` sweeps the accounts by angle around the rep's home and
   cuts the sweep into ``D`` slices of equal work; slice ``j`` belongs to
   weekday ``j // weeks`` and week ``j % weeks``, so the days of one weekday
   form one angular sector (weekly accounts), halves of it (bi-weekly) and
   quarters (monthly).  Each day's seed is the work-weighted centre of its
   slice.
4. :func:`assign_patterns` picks one pattern per account: minimise the
   distance from every visit to its day's seed plus a penalty on daily work
   outside ``±tolerance`` of the mean, by a small MIP (SciPy's HiGHS
   interface, node- and time-limited) and by a deterministic greedy
   construction with relocation passes; the better answer is kept (the
   plan's provenance says which: ``optimal``, ``limit`` or ``heuristic``,
   followed by what the clock cut short when ``time_limit`` ran out).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Branch-and-bound nodes for the pattern MIP; a node limit (not the time
#: limit) ends the search on typical territories, so plans reproduce.
NODE_LIMIT = 300
#: Relocation passes of the greedy in :func:`assign_patterns` (fewer when a
#: pass changes nothing, or when the time is up).
RELOCATION_PASSES = 3
#: Time :func:`assign_patterns` keeps for the relocation passes, in multiples
#: of the greedy construction's time (a pass takes one to two): the MIP gets
#: the time left after the construction less this, but at least half of it.
RELOCATION_RESERVE = 6.0
#: Least seconds worth starting the MIP with (HiGHS takes about this long to
#: set up even a small model).
_MIN_MIP_SECONDS = 0.01
_DISP = False

__all__ = [
    "PatternAssignment",
    "assign_patterns",
    "day_seeds",
    "frequency_label",
    "local_xy",
    "patterns",
    "visits_per_cycle",
    "window_groups",
]


def local_xy(
    lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float
) -> tuple[np.ndarray, np.ndarray]:
    """Kilometres east/north of ``(lon0, lat0)`` (equirectangular, fine locally)."""
    x = (np.asarray(lon, dtype=float) - lon0) * 111.320 * math.cos(math.radians(lat0))
    y = (np.asarray(lat, dtype=float) - lat0) * 110.574
    return x, y


def visits_per_cycle(
    calls_per_year: np.ndarray,
    *,
    weeks: int,
    weeks_per_year: float,
    cycle: int,
    order: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Whole visits of every account in cycle ``cycle`` (0, 1, ...).

    Parameters
    ----------
    calls_per_year
        Calls per year of each account.
    weeks, weeks_per_year
        Cycle length and working weeks per year.
    cycle
        Which cycle of the year to plan.
    order
        A permutation of the accounts (e.g. by angle around home); the
        accounts of each rate get phases spread evenly along it (ranked
        within their rate), so every cycle carries its share of each rate.

    Returns
    -------
    visits, rate
        ``visits`` (int) in this cycle and the exact ``rate`` per cycle.

    Notes
    -----
    With rate ``f = calls · weeks / weeks_per_year`` and phase ``φ``, the
    visits in cycle ``c`` are ``⌊(c+1)f + φ⌋ − ⌊cf + φ⌋``: on average ``f``,
    and never more than ``⌈f⌉``.
    """
    cpy = np.nan_to_num(np.asarray(calls_per_year, dtype=float), nan=0.0)
    rate = np.clip(cpy, 0.0, None) * weeks / weeks_per_year
    n = len(rate)
    # phases are spread within each group of equal rate, in ``order``: the
    # accounts called 4 times a year fall due evenly over the cycles even
    # when they all lie in one sector of the sweep
    order = np.asarray(order, dtype=np.int64)
    key = np.round(rate, 9)[order]
    phase = np.empty(n)
    for r in np.unique(key):
        members = order[key == r]
        phase[members] = (np.arange(len(members)) + 0.5) / len(members)
    eps = 1e-9
    visits = (
        np.floor((cycle + 1) * rate + phase + eps)
        - np.floor(cycle * rate + phase + eps)
    ).astype(np.int64)
    return visits, rate


def patterns(n: int, n_days: int) -> list[tuple[int, ...]]:
    """Evenly spaced visit-day patterns for ``n`` visits in ``n_days`` days.

    Examples
    --------
    >>> patterns(4, 20)[:2]
    [(0, 5, 10, 15), (1, 6, 11, 16)]
    >>> len(patterns(2, 20)), len(patterns(1, 20)), len(patterns(3, 20))
    (10, 20, 20)
    """
    if n <= 0:
        return [()]
    if n > n_days:
        raise ValueError(f"{n} visits do not fit in {n_days} days")
    seen: dict[tuple[int, ...], None] = {}
    for s in range(n_days):
        days = tuple(sorted({(s + round(k * n_days / n)) % n_days for k in range(n)}))
        if len(days) == n:
            seen.setdefault(days, None)
    return list(seen)


def day_seeds(
    x: np.ndarray, y: np.ndarray, load: np.ndarray, *, n_weekdays: int, weeks: int
) -> np.ndarray:
    """Seed point (km) of every day, from an angular sweep around home (0, 0).

    Returns
    -------
    numpy.ndarray
        ``(weeks · n_weekdays, 2)``: row ``week · n_weekdays + weekday``.
    """
    n_days = n_weekdays * weeks
    seeds = np.zeros((n_days, 2))
    if len(x) == 0:
        return seeds
    ang = np.arctan2(y, x)
    order = np.argsort(ang, kind="stable")
    a = ang[order]
    # start the sweep after the widest empty angle, so no slice straddles it
    gaps = np.diff(np.concatenate([a, [a[0] + 2 * np.pi]]))
    start = (int(np.argmax(gaps)) + 1) % len(a)
    order = np.roll(order, -start)
    w = np.asarray(load, dtype=float)[order]
    w = np.where(w > 0, w, 1e-6)
    cum = np.cumsum(w) - w / 2
    slice_of = np.minimum((cum / w.sum() * n_days).astype(np.int64), n_days - 1)
    radius = float(np.median(np.hypot(x, y))) if len(x) else 0.0
    for j in range(n_days):
        sel = order[slice_of == j]
        day = (j % weeks) * n_weekdays + j // weeks
        if len(sel):
            ww = np.asarray(load, dtype=float)[sel] + 1e-9
            seeds[day] = (
                np.average(x[sel], weights=ww),
                np.average(y[sel], weights=ww),
            )
        else:  # empty slice: the angle of its neighbours at the median radius
            k = int(order[min(int(np.searchsorted(slice_of, j)), len(order) - 1)])
            t = ang[k]
            seeds[day] = (radius * math.cos(t), radius * math.sin(t))
    return seeds


@dataclass(frozen=True)
class PatternAssignment:
    """Chosen visit days per account and how the day loads came out.

    ``status`` is ``"optimal"`` or ``"limit"`` (the MIP's answer was kept,
    solved or stopped at a limit), ``"heuristic"`` (the greedy's) or
    ``"empty"`` (no visits); when the time limit cut a step short
    (``cut_by_clock``) it goes on with what was cut and the seconds, e.g.
    ``"heuristic (time_limit=0.6 s: no time left for the MIP; relocation
    stopped in pass 2 of 3, after 120 of 300 accounts)"``.
    """

    days: tuple[tuple[int, ...], ...]
    load: np.ndarray
    status: str
    cut_by_clock: bool = False


def assign_patterns(
    visits: np.ndarray,
    work: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    seeds: np.ndarray,
    *,
    capacity: float,
    tolerance: float = 0.1,
    time_limit: float = 5.0,
    earliest: np.ndarray | None = None,
    latest: np.ndarray | None = None,
    windows: Sequence[tuple[Sequence[int], Any, float]] = (),
) -> PatternAssignment:
    """Pick one evenly spaced pattern per account (small MIP vs greedy, best kept).

    Every account always gets a pattern: the greedy construction runs to its
    end whatever the clock says; only the MIP and the relocation passes stop
    at ``time_limit``.

    Parameters
    ----------
    visits
        Visits of each account in the cycle (≤ number of days).
    work
        Minutes one visit takes (service + an estimate of the travel it adds).
    x, y
        Account positions (km around home); ``seeds`` the day seeds.
    capacity
        Minutes of work a day can hold.
    tolerance
        Daily work beyond ``(1 ± tolerance) × mean`` is penalised.
    time_limit
        Seconds for the whole step: the greedy construction first (always
        completed), then the MIP (the time left, less
        :data:`RELOCATION_RESERVE` constructions' time for the relocation
        passes, but at least half of it; skipped when none is left), then
        the relocation passes until the time is up.  When the time is ample
        (the MIP stops at its gap or :data:`NODE_LIMIT`, the passes at
        :data:`RELOCATION_PASSES` or when nothing moves) the answer does not
        depend on it.
    earliest, latest
        Per account, the first and the last day of the cycle its first visit
        may take (e.g. so that it stays neither too close to nor too far from
        its last visit in the cycle before); patterns that start outside are
        left out, unless none starts inside: then only the patterns starting
        nearest to it remain (the latest-starting ones when none starts late
        enough, the earliest-starting ones when none starts early enough,
        e.g. ``latest < 0``).  ``None`` (default), ``earliest <= 0`` or
        ``latest >=`` the number of days: no limit.
    windows
        Time-window groups ``(accounts, minutes per visit, minutes)``: the
        accounts whose calls must all fall within one window, what a visit
        of each takes of it and how much the window holds on a day (see
        :func:`window_groups`).  A day's minutes of a group beyond what it
        holds are penalised like work beyond the daily band, so accounts
        with the same narrow window are spread over the days instead of
        stacked on one.

    Returns
    -------
    PatternAssignment
        With ``cut_by_clock`` and a ``status`` that says what was cut (and
        the seconds, including a construction that alone took longer than
        ``time_limit``) when the time ran out.

    Notes
    -----
    With ``x_{ip} ∈ {0,1}`` choosing pattern ``p`` of account ``i``, ``c_{ip}
    = Σ_{d∈p} ‖(x_i, y_i) − s_d‖`` and ``W_d = Σ_{i,p∋d} w_i x_{ip}``:

    .. math::

        \\min \\sum c_{ip} x_{ip} + λ \\sum_d (o_d + u_d)
        \\quad\\text{s.t.}\\quad \\sum_p x_{ip} = 1,\\;
        W_d - o_d \\le \\min(U, C),\\; W_d + u_d \\ge L,\\;
        \\sum_{i∈g,\\,p∋d} w_i x_{ip} - v_{gd} \\le M_g

    with ``U, L = (1 ± τ)·mean`` (widened to ``mean ± max_i w_i`` when that
    band is narrower than one visit, which whole visits could not meet) and
    ``C`` the day capacity, ``M_g`` the minutes of window group ``g`` (its
    overflow ``v_{gd}`` costs ``λ`` as well); ``λ`` is large (a minute of
    imbalance costs more than any detour in km).
    """
    # SciPy's first import can take most of a second: before the clock
    # starts, so that it takes no step's time (a first call in a process
    # would otherwise choose other days than the next ones)
    import scipy.optimize  # noqa: F401

    t0 = time.perf_counter()
    deadline = t0 + float(time_limit)
    n_days = len(seeds)
    acc: list[int] = np.flatnonzero(visits > 0).tolist()
    pats: list[tuple[int, tuple[int, ...]]] = []
    for a in acc:
        ps = patterns(int(visits[a]), n_days)
        if earliest is not None or latest is not None:
            # the first visit neither too close to nor too far from the cycle
            # before: the patterns starting in [lo, hi], else nearest to it
            lo = 0 if earliest is None else int(earliest[a])
            hi = n_days if latest is None else int(latest[a])
            off = [max(lo - p[0], 0, p[0] - hi) for p in ps]
            ps = [p for p, o in zip(ps, off, strict=True) if o == min(off)]
        for p in ps:
            pats.append((a, p))
    n_acc = len(visits)
    out_days: list[tuple[int, ...]] = [() for _ in range(n_acc)]
    if not pats:
        return PatternAssignment(tuple(out_days), np.zeros(n_days), "empty")
    total = float((visits * work).sum())
    mean = total / n_days
    # a band narrower than one visit cannot be met with whole visits; widen it
    # to one visit's work so the MIP stays feasible (and its bound tight)
    w_max = float(work[acc].max()) if acc else 0.0
    # (an overloaded territory, mean > capacity, is balanced rather than
    # packed: every day then drops a little instead of some days a lot)
    upper = min(max((1 + tolerance) * mean, mean + w_max), max(capacity, mean + w_max))
    lower = min(max(0.0, min((1 - tolerance) * mean, mean - w_max)), upper)
    dist = np.hypot(x[:, None] - seeds[None, :, 0], y[:, None] - seeds[None, :, 1])
    cost = np.array([dist[i, list(p)].sum() for i, p in pats])
    lam = 10.0 * (float(dist.max()) + 1.0) * max(1.0, float(visits.max()))
    n_x = len(pats)
    # window groups: {account: minutes of the window a visit takes}, minutes
    groups = [
        (
            {
                int(i): float(w)
                for i, w in zip(g, ws, strict=True)
                if visits[int(i)] > 0
            },
            m,
        )
        for g, ws, m in windows
    ]
    groups = [(g, float(m)) for g, m in groups if g]
    n_g = len(groups)
    by_acc: dict[int, list[int]] = {}
    for j, (i, _) in enumerate(pats):
        by_acc.setdefault(i, []).append(j)

    def objective(ch: dict[int, tuple[int, ...]]) -> float:
        ld = np.zeros(n_days)
        wl = np.zeros((n_g, n_days))
        tot = 0.0
        for i, p in ch.items():
            ld[list(p)] += work[i]
            for g, (members, _) in enumerate(groups):
                if i in members:
                    wl[g, list(p)] += members[i]
            tot += float(dist[i, list(p)].sum())
        pen = np.maximum(ld - upper, 0.0).sum() + np.maximum(lower - ld, 0.0).sum()
        pen += _window_excess(wl, groups)
        return tot + lam * float(pen)

    # the construction always runs to its end: every account gets a pattern
    t_start = time.perf_counter()
    greedy = _Greedy(
        acc, pats, by_acc, visits, work, cost, n_days, upper, lower, lam, groups
    )
    t_built = time.perf_counter()
    cut: list[str] = []
    if t_built > deadline:
        cut.append(
            f"the greedy construction of {len(acc)} accounts took "
            f"{t_built - t_start:.2g} s, the setting up before it "
            f"{t_start - t0:.2g} s"
        )
    # the MIP gets the time left but what the relocation passes likely need
    # (at least half of it); the passes then get what the MIP leaves
    left = max(0.0, deadline - t_built)
    reserve = RELOCATION_RESERVE * (t_built - t_start)
    mip_end = t_built + max(0.5 * left, left - reserve)
    res = None
    if mip_end - t_built >= _MIN_MIP_SECONDS:
        res = _solve_mip(
            pats, acc, work, cost, lam, groups, n_days, upper, lower, mip_end
        )
    t_mip = time.perf_counter() - t_built
    chosen: dict[int, tuple[int, ...]] = {}
    if res is None:
        status = "heuristic"
        cut.append("no time left for the MIP")
    else:
        status = "optimal" if res.status == 0 else "limit"
        if res.status != 0 and "time limit" in str(res.message).lower():
            cut.append(f"the MIP stopped after {t_mip:.2g} s")
        if res.x is not None:
            xv = res.x[:n_x]
            for a in acc:
                js = by_acc[a]
                best = max(js, key=lambda j: xv[j])
                if xv[best] > 0.5:
                    chosen[a] = pats[best][1]
    greedy.relocate(deadline)
    if greedy.stopped is not None:
        k, done = greedy.stopped
        cut.append(
            f"relocation stopped in pass {k} of {RELOCATION_PASSES}, after "
            f"{done} of {len(acc)} accounts"
        )
    if len(chosen) < len(acc) or objective(greedy.chosen) < objective(chosen) - 1e-9:
        chosen, status = greedy.chosen, "heuristic"
    if cut:
        status += f" (time_limit={float(time_limit):.2g} s: {'; '.join(cut)})"
    load = np.zeros(n_days)
    for i, p in chosen.items():
        out_days[i] = p
        load[list(p)] += work[i]
    return PatternAssignment(tuple(out_days), load, status, cut_by_clock=bool(cut))


def _solve_mip(
    pats: list[tuple[int, tuple[int, ...]]],
    acc: list[int],
    work: np.ndarray,
    cost: np.ndarray,
    lam: float,
    groups: Sequence[tuple[dict[int, float], float]],
    n_days: int,
    upper: float,
    lower: float,
    deadline: float,
) -> Any:
    """The pattern MIP of :func:`assign_patterns` until ``deadline``, as
    :func:`scipy.optimize.milp` returns it (``None``: no time left once the
    model was built)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    n_x = len(pats)
    n_g = len(groups)
    n_v = 2 * n_days + n_g * n_days  # slack columns after the patterns
    c = np.concatenate([cost, np.full(n_v, lam)])
    rows, cols, vals = [], [], []
    row_of = {a: k for k, a in enumerate(acc)}
    for j, (i, p) in enumerate(pats):
        rows.append(row_of[i])
        cols.append(j)
        vals.append(1.0)
        for d in p:
            rows.append(len(acc) + d)
            cols.append(j)
            vals.append(float(work[i]))
    r0 = len(acc)
    for d in range(n_days):  # overflow o_d (upper) in block 1
        rows.append(r0 + d)
        cols.append(n_x + d)
        vals.append(-1.0)
    a_main = coo_array((vals, (rows, cols)), shape=(r0 + n_days, n_x + n_v))
    # lower-band rows: W_d + u_d >= lower
    lr, lc, lv = [], [], []
    for j, (i, p) in enumerate(pats):
        for d in p:
            lr.append(d)
            lc.append(j)
            lv.append(float(work[i]))
    for d in range(n_days):
        lr.append(d)
        lc.append(n_x + n_days + d)
        lv.append(1.0)
    a_low = coo_array((lv, (lr, lc)), shape=(n_days, n_x + n_v))
    cons = [
        LinearConstraint(
            a_main.tocsr(),
            np.concatenate([np.ones(r0), np.full(n_days, -np.inf)]),
            np.concatenate([np.ones(r0), np.full(n_days, upper)]),
        ),
        LinearConstraint(a_low.tocsr(), np.full(n_days, lower), np.inf),
    ]
    if n_g:  # window rows: a group's work on day d - v_gd <= its minutes
        wr, wc, wv = [], [], []
        for j, (i, p) in enumerate(pats):
            for g, (members, _) in enumerate(groups):
                if i in members:
                    for d in p:
                        wr.append(g * n_days + d)
                        wc.append(j)
                        wv.append(members[i])
        for r in range(n_g * n_days):
            wr.append(r)
            wc.append(n_x + 2 * n_days + r)
            wv.append(-1.0)
        a_win = coo_array((wv, (wr, wc)), shape=(n_g * n_days, n_x + n_v))
        caps = np.repeat([m for _, m in groups], n_days)
        cons.append(LinearConstraint(a_win.tocsr(), -np.inf, caps))
    integrality = np.concatenate([np.ones(n_x), np.zeros(n_v)])
    bounds = Bounds(
        np.zeros(n_x + n_v),
        np.concatenate([np.ones(n_x), np.full(n_v, np.inf)]),
    )
    left = deadline - time.perf_counter()
    if left < _MIN_MIP_SECONDS:
        return None
    return milp(
        c,
        constraints=cons,
        integrality=integrality,
        bounds=bounds,
        options={
            "time_limit": float(left),
            "mip_rel_gap": 0.02,
            "node_limit": NODE_LIMIT,
            "disp": _DISP,
        },
    )


class _Greedy:
    """Deterministic construction (largest work first) plus relocation passes.

    The construction runs in ``__init__`` and always completes;
    :meth:`relocate` then moves one account at a time to a better pattern
    until a deadline, so ``chosen`` holds one pattern per account whenever
    it stops.
    """

    def __init__(
        self,
        acc: list[int],
        pats: list[tuple[int, tuple[int, ...]]],
        by_acc: dict[int, list[int]],
        visits: np.ndarray,
        work: np.ndarray,
        cost: np.ndarray,
        n_days: int,
        upper: float,
        lower: float,
        lam: float,
        groups: Sequence[tuple[dict[int, float], float]] = (),
    ) -> None:
        self.acc, self.pats, self.by_acc, self.work = acc, pats, by_acc, work
        self.cost, self.upper, self.lower, self.lam = cost, upper, lower, lam
        self.groups = groups
        #: where the clock stopped the passes: (pass, accounts done in it)
        self.stopped: tuple[int, int] | None = None
        self.idx = [np.array(p, dtype=np.int64) for _, p in pats]
        self.load = np.zeros(n_days)
        # work of every window group per day, and the groups of each account
        self.wload = np.zeros((len(groups), n_days))
        self.mine: dict[int, list[tuple[int, float]]] = {}
        for g, (members, _) in enumerate(groups):
            for i, w in members.items():
                self.mine.setdefault(i, []).append((g, w))
        self.pick: dict[int, int] = {}  # account -> its pattern's column
        load, wload = self.load, self.wload
        self.order = sorted(acc, key=lambda i: (-visits[i] * work[i], i))
        for i in self.order:
            best_j, best_v = -1, math.inf
            for j in by_acc[i]:
                ld = load.copy()
                ld[self.idx[j]] += work[i]
                v = lam * float(np.maximum(ld - upper, 0.0).sum()) + float(cost[j])
                if i in self.mine:
                    v += lam * _window_excess(self._with(wload, i, j, 1.0), groups)
                if v < best_v - 1e-12:
                    best_j, best_v = j, v
            assert best_j >= 0
            self.pick[i] = best_j
            load[self.idx[best_j]] += work[i]
            wload = self._with(wload, i, best_j, 1.0)
        self.wload = wload

    @property
    def chosen(self) -> dict[int, tuple[int, ...]]:
        """The pattern of every account (in the order of the construction)."""
        return {i: self.pats[self.pick[i]][1] for i in self.order}

    def _with(self, wl: np.ndarray, i: int, j: int, sign: float) -> np.ndarray:
        """``wl`` with account ``i``'s visits on pattern ``j`` added (``sign``
        1) or taken off (-1)."""
        out = wl.copy()
        for g, w in self.mine.get(i, ()):
            out[g, self.idx[j]] += sign * w
        return out

    def _pen(self, ld: np.ndarray) -> float:
        return float(
            np.maximum(ld - self.upper, 0.0).sum()
            + np.maximum(self.lower - ld, 0.0).sum()
        )

    def relocate(self, deadline: float) -> None:
        """Up to :data:`RELOCATION_PASSES` passes moving each account to its
        best pattern given the others, stopping early when a pass moves
        nothing or, before any account, when ``deadline`` has passed
        (``stopped`` then says where)."""
        work, cost, lam, groups = self.work, self.cost, self.lam, self.groups
        load, wload = self.load, self.wload
        for k in range(1, RELOCATION_PASSES + 1):
            improved = False
            for done, i in enumerate(self.acc):
                if time.perf_counter() >= deadline:
                    self.load, self.wload, self.stopped = load, wload, (k, done)
                    return
                cur = self.pick[i]
                base = load.copy()
                base[self.idx[cur]] -= work[i]
                wbase = self._with(wload, i, cur, -1.0)
                cur_v = lam * (self._pen(load) + _window_excess(wload, groups)) + float(
                    cost[cur]
                )
                for j in self.by_acc[i]:
                    if j == cur:
                        continue
                    ld = base.copy()
                    ld[self.idx[j]] += work[i]
                    wl = self._with(wbase, i, j, 1.0)
                    v = lam * (self._pen(ld) + _window_excess(wl, groups)) + float(
                        cost[j]
                    )
                    if v < cur_v - 1e-9:
                        cur, cur_v, load, wload = j, v, ld, wl
                        improved = True
                self.pick[i] = cur
            if not improved:
                break
        self.load, self.wload = load, wload


def _window_excess(
    wload: np.ndarray, groups: Sequence[tuple[dict[int, float], float]]
) -> float:
    """Work of window groups beyond their minutes, summed over groups and days."""
    if not len(groups):
        return 0.0
    caps = np.array([m for _, m in groups], dtype=float)[:, None]
    return float(np.maximum(wload - caps, 0.0).sum())


def window_groups(
    win_lo: np.ndarray,
    win_hi: np.ndarray,
    has_window: np.ndarray,
    minutes: np.ndarray,
    travel: np.ndarray,
    *,
    lunch: tuple[float, float, float] | None = None,
) -> list[tuple[list[int], np.ndarray, float]]:
    """Groups of accounts whose calls must share one time window on a day.

    For every distinct window ``[a, b]`` of an account with a window, the
    group is the accounts with a window inside ``[a, b]``: on a day their
    calls and the drives between them must fit in ``L = b − a`` minutes
    (less the part of the lunch break that cannot avoid the window).  Each
    member's visit takes its call plus ``t_i``, the drive to the nearest other
    member; the group holds ``L + min t_i`` of those minutes (one drive fewer
    than calls), which is exact for two accounts.  Only groups whose members
    together exceed that (a day could be overfilled) are returned.

    Parameters
    ----------
    win_lo, win_hi
        Earliest start and latest end of each account's call (minutes).
    has_window
        Whether the account has a time window of its own.
    minutes
        Call minutes.
    travel
        ``(n, n)`` driving minutes between the accounts.
    lunch
        The lunch window and minutes ``(start, end, minutes)``, or ``None``.

    Returns
    -------
    list of (accounts, minutes per visit, minutes of the window)
        For :func:`assign_patterns`'s ``windows``.
    """
    lo = np.asarray(win_lo, dtype=float)
    hi = np.asarray(win_hi, dtype=float)
    own = np.flatnonzero(np.asarray(has_window, dtype=bool))
    mins = np.asarray(minutes, dtype=float)
    out: list[tuple[list[int], np.ndarray, float]] = []
    for a, b in sorted({(float(lo[i]), float(hi[i])) for i in own}):
        members = [int(i) for i in own if lo[i] >= a - 1e-9 and hi[i] <= b + 1e-9]
        if len(members) < 2:
            continue
        forced = 0.0
        if lunch is not None:  # the break cannot avoid the window entirely
            l0, l1, lm = lunch
            forced = max(0.0, lm - max(a - l0, 0.0, l1 - b))
        length = b - a - forced
        t = np.asarray(travel, dtype=float)[np.ix_(members, members)]
        t = np.maximum(t, t.T) + np.diag(np.full(len(members), np.inf))
        drive = np.minimum(t.min(axis=1), length)
        weights = mins[members] + drive
        cap = length + float(drive.min())
        if float(weights.sum()) > cap + 1e-9:
            out.append((members, weights, cap))
    return out


def frequency_label(rate: float, weeks: int) -> str:
    """Words for a visit rate per cycle (``"weekly"``, ``"every 2 weeks"``...)."""
    if rate <= 0:
        return "none"
    per_week = rate / weeks
    wk = 1.0 / per_week
    for w, name in ((1, "weekly"), (2, "every 2 weeks"), (4, "every 4 weeks")):
        if abs(wk - w) < 1e-6:
            return name
    if per_week > 1:
        return f"{per_week:.2g} per week"
    return f"every {wk:.3g} weeks"

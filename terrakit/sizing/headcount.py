"""How many reps: expected sales and profit against sales-force size, with bands."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from terrakit.exceptions import SpecificationError, TerrakitWarning
from terrakit.sizing.response import ResponseCurves, hill

__all__ = ["BestHeadcount", "HeadcountCurve", "frontier", "headcount_curve"]

_GRID = 200
#: Above the default cap, the ratio of consecutive call levels evaluated.
_CALL_RATIO = 1.02


def _call_levels(rc: ResponseCurves, cmax: np.ndarray, grid: int) -> np.ndarray:
    """Call levels ``(n_segments, K + 1)`` at which :func:`frontier` evaluates
    each segment's curve; rows padded with their last level.

    Per segment, a fixed set of levels that depends on the curves only --
    ``grid`` equal steps from 0 to the default cap ``max(4 × today's calls,
    1)``, then steps of :data:`_CALL_RATIO` -- cut at the segment's cap,
    plus the cap.  A looser cap therefore keeps every level below the tighter
    one and only adds levels above it.  (``grid`` points from 0 to the cap,
    as before, made the grid coarser as the cap grew: at a cap of 10,000
    calls a year the bend of the curves fell between the first two points
    and the sales at 20 reps fell by 30 %.)  With the default cap the levels
    are ``grid`` equal steps to it.
    """
    base = np.maximum(4.0 * rc.current_calls, 1.0)
    rows = []
    for b, cap in zip(base, cmax, strict=True):
        levels = b * np.linspace(0.0, 1.0, grid + 1)
        if cap > b:
            n = int(np.ceil(np.log(cap / b) / np.log(_CALL_RATIO)))
            levels = np.concatenate([levels, b * _CALL_RATIO ** np.arange(1, n + 1)])
        rows.append(np.append(levels[levels < cap], cap))
    width = max(len(r) for r in rows)
    return np.array([np.pad(r, (0, width - len(r)), mode="edge") for r in rows])


def _per_segment(name: str, given: Mapping[str, Any], segments: Sequence[str]) -> None:
    """Refuse keys of a per-segment mapping that name no segment of the curves."""
    unknown = [k for k in given if str(k) not in segments]
    if unknown:
        raise SpecificationError(
            f"{name} names segments {unknown} that the response curves do not "
            f"have; they cover {list(segments)}"
        )


def _real(name: str, value: Any, fix: str) -> float:
    """``value`` as a float, or a :class:`SpecificationError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecificationError(f"{name} must be a number, got {value!r}; {fix}")
    return float(value)


def check_cost_per_rep(value: Any) -> float:
    """``cost_per_rep`` as a float ≥ 0, or a :class:`SpecificationError`
    (the rule of :func:`headcount_curve`, also the explorer's sliders')."""
    cost = _real("cost_per_rep", value, "the yearly cost of one rep, e.g. 180_000")
    if not np.isfinite(cost) or cost < 0:
        raise SpecificationError(
            f"cost_per_rep must be >= 0, got {value!r}; give the yearly cost "
            "of one rep, e.g. 180_000"
        )
    return cost


def check_margin(value: Any) -> float:
    """``margin`` as a float in (0, 1], or a :class:`SpecificationError`."""
    m = _real("margin", value, "0.35 means 35 % of sales")
    if not np.isfinite(m) or not 0 < m <= 1:
        raise SpecificationError(
            f"margin must be in (0, 1], got {value!r}; 0.35 means 35 % of sales"
        )
    return m


def check_hours_per_rep(value: Any) -> float:
    """``hours_per_rep`` as a positive float, or a :class:`SpecificationError`."""
    h = _real("hours_per_rep", value, "one rep's selling hours per year, e.g. 1_600")
    if not np.isfinite(h) or h <= 0:
        raise SpecificationError(
            f"hours_per_rep must be positive, got {value!r}; give one rep's "
            "selling hours per year, e.g. 1_600"
        )
    return h


def _per_segment_values(
    name: str, given: Any, segments: Sequence[str], example: str
) -> dict[str, float]:
    """A per-segment setting (a mapping for some segments, or a sequence with
    one value per segment) as ``{segment: float}``, or a
    :class:`SpecificationError` naming the segment and giving ``example``."""
    if isinstance(given, Mapping):
        _per_segment(name, given, segments)
        return {
            str(k): _real(f"{name}[{str(k)!r}]", v, f"e.g. {name}={example}")
            for k, v in given.items()
        }
    if isinstance(given, str) or not isinstance(given, Iterable):
        raise SpecificationError(
            f"{name} must be a mapping by segment or one value per segment "
            f"{list(segments)}, got {given!r}; e.g. {name}={example}"
        )
    values = list(np.asarray(given, dtype=object).ravel())
    if np.ndim(np.asarray(given, dtype=object)) != 1 or len(values) != len(segments):
        raise SpecificationError(
            f"{name} must have one value per segment {list(segments)} "
            f"({len(segments)} values), got {len(values)}: {given!r}; give a mapping "
            f"for some segments instead, e.g. {name}={example}"
        )
    return {
        s: _real(f"{name}[{s!r}]", v, f"e.g. {name}={example}")
        for s, v in zip(segments, values, strict=True)
    }


def _max_calls(
    rc: ResponseCurves, max_calls: float | Mapping[str, float] | np.ndarray | None
) -> np.ndarray:
    example = f"{{{rc.segments[0]!r}: 40}}" if len(rc.segments) else "{'A': 40}"
    if isinstance(max_calls, np.ndarray) and max_calls.ndim == 0:
        max_calls = max_calls.item()
    default = np.maximum(4.0 * rc.current_calls, 1.0)
    if max_calls is None:
        out = default
    elif isinstance(max_calls, numbers.Real) and not isinstance(max_calls, bool):
        out = np.full(len(rc.segments), float(max_calls))
    elif isinstance(max_calls, Mapping | np.ndarray | list | tuple):
        # segments not named keep the default cap, max(4 x today's calls, 1)
        given = _per_segment_values("max_calls", max_calls, rc.segments, example)
        out = np.array(
            [given.get(s, d) for s, d in zip(rc.segments, default, strict=True)]
        )
    else:
        raise SpecificationError(
            f"max_calls must be one number, a mapping by segment or one value "
            f"per segment {list(rc.segments)}, got {max_calls!r}; e.g. "
            f"max_calls=40 or max_calls={example}"
        )
    if not np.isfinite(out).all() or (out <= 0).any():
        raise SpecificationError(f"max_calls must be positive, got {out.tolist()}")
    return out


def frontier(
    rc: ResponseCurves,
    budgets: np.ndarray,
    *,
    hours_per_call: np.ndarray | Mapping[str, float] | None = None,
    max_calls: float | Mapping[str, float] | np.ndarray | None = None,
    grid: int = _GRID,
) -> tuple[np.ndarray, np.ndarray]:
    """Best total sales for each selling-hours budget, for every draw.

    Parameters
    ----------
    rc
        Response curves.
    budgets
        Selling hours of the whole sales force (any 1-d array).
    hours_per_call
        Hours per call: an array for every segment, or a mapping for some
        (the others keep theirs).  Default: the curves' own, by classes of
        accounts (``rc.hours_classes``, else ``rc.hours_per_call``); a
        segment given here is one class at the value given.
    max_calls
        Most calls per account and year (default 4 × today's calls, at least
        1): one number, a mapping by segment (segments not named keep the
        default) or an array in the curves' segment order.
    grid
        Grid steps per segment between 0 and the default cap, 4 × today's
        calls (at least 1); a whole number >= 2.  Above the default cap the
        grid goes on in steps of 2 % up to ``max_calls`` (see Notes).

    Returns
    -------
    sales, calls
        ``sales`` ``(n_draws, n_budgets)`` — Σ over segments of accounts ×
        the concave envelope of the sales per account (see Notes);
        ``calls`` ``(n_draws, n_budgets, n_segments)`` average calls per
        account and year of that allocation.

    Raises
    ------
    SpecificationError
        When ``budgets`` is not a 1-d array of hours >= 0, ``grid`` is not a
        whole number >= 2 (one step would replace every curve by its chord
        from 0 to the cap), or ``hours_per_call`` / ``max_calls`` are not
        positive numbers for segments of the curves.

    Notes
    -----
    Per draw, the problem :math:`\\max \\sum_s N_s S_s(c_s)` s.t.
    :math:`\\sum_s N_s t_s c_s \\le B`, :math:`0 \\le c_s \\le \\bar c_s` is
    solved for all budgets at once: each curve is evaluated on a grid and
    replaced by its upper concave envelope (for S-shaped curves a straight
    line from 0 to the tangent point), the envelope increments of all
    segments are sorted by sales per hour, and their running sums trace the
    optimal sales-versus-budget frontier (greedy by ratio solves the
    continuous concave knapsack exactly; see :func:`allocate_calls`).
    The grid of a segment does not depend on its cap: ``grid`` equal steps
    from 0 to 4 × today's calls, then steps of 2 %, cut at the cap (which is
    added).  A looser cap keeps the grid below the tighter one, so the
    sales do not fall when a cap is loosened (up to the 2 % step's chord
    where the tighter cap bound the calls).

    Each segment is split into its classes of accounts with similar hours
    per call (:attr:`ResponseCurves.hours_classes`, up to 16 quantile bins):
    each class is a sub-segment with the segment's curve, its own accounts
    :math:`N_{sk}` and hours :math:`t_{sk}`, so extra hours go to the
    cheapest calls first, as in :func:`allocate_calls`, which plans account
    by account.  With one class at the segment's call-weighted mean hours
    the frontier lay below a concrete plan at the same size (on the sample
    study 1.2 % at 22 reps, in every draw).

    The sales are those of the envelope, which on an S-shaped curve's
    straight part is a *mixed* allocation: a share of the segment's accounts
    is called at the tangent point and the rest not at all (or, between grid
    points, accounts at the two neighbouring call levels).  ``calls`` is
    the average calls per account of that mix, so where the envelope lies
    above the curve, ``N_s S_s(calls)`` (every account called the average)
    is less than the sales reported.  On a concave curve the envelope is
    the curve (up to the grid) and every account of a segment gets the same
    calls.  The curves describe the segment's average account.
    """
    budgets = np.asarray(budgets, dtype=float)
    if budgets.ndim != 1:
        raise SpecificationError(
            f"budgets must be a 1-d array of selling hours, one per sales-force "
            f"size, got an array of shape {budgets.shape}; pass e.g. "
            "np.array([16_000.0, 32_000.0]) for 10 and 20 reps of 1,600 h"
        )
    if not np.isfinite(budgets).all() or (budgets < 0).any():
        raise SpecificationError(
            f"budgets must be selling hours >= 0, got {budgets.tolist()[:10]}"
        )
    if (
        isinstance(grid, bool | np.bool_)
        or not isinstance(grid, numbers.Integral)
        or grid < 2
    ):
        raise SpecificationError(
            f"grid must be a whole number of steps per segment >= 2 (default "
            f"{_GRID}), got {grid!r}; with fewer steps each curve becomes its "
            "chord from 0 to the cap"
        )
    grid = int(grid)
    own = _own_hours(rc, hours_per_call)
    t = np.array([rc.hours_per_call[j] if o else np.nan for j, o in enumerate(own)])
    if hours_per_call is not None:
        given = _hours_per_call(rc, hours_per_call)
        t = np.array([given.get(s, t[j]) for j, s in enumerate(rc.segments)])
    if not np.isfinite(t).all() or (t <= 0).any():
        raise SpecificationError(
            f"hours per call must be positive for every segment, got {t.tolist()}; "
            "check call_minutes in the accounts table or the hours_per_call passed"
        )
    cmax = _max_calls(rc, max_calls)
    # each segment split into classes of accounts with similar hours per call
    # (ResponseCurves.hours_classes): the same curve, its own accounts and hours
    cls_seg: list[np.ndarray] = []
    cls_n: list[np.ndarray] = []
    cls_t: list[np.ndarray] = []
    for j, s in enumerate(rc.segments):
        klass = rc.hours_classes.get(s)
        if not own[j] or klass is None or klass[0].sum() <= 0:
            n_k, t_k = np.array([rc.n_accounts[j]]), np.array([t[j]])
        else:  # scale to the curves' accounts (the market they apply to)
            n_k = klass[0] * (rc.n_accounts[j] / klass[0].sum())
            t_k = klass[1]
        cls_seg.append(np.full(len(n_k), j))
        cls_n.append(n_k)
        cls_t.append(t_k)
    cseg = np.concatenate(cls_seg)
    S0 = len(rc.segments)
    S, D = len(cseg), rc.n_draws
    t = np.concatenate(cls_t)
    # envelope increments per account, once per segment (D, S0, K)
    c = _call_levels(rc, cmax, grid)  # (S0, K+1)
    grid = c.shape[1] - 1  # K: steps per segment, above the default cap too
    p = [np.asarray(rc.draws[k])[:, :, None] for k in ("lo", "hi", "c50", "gamma")]
    v = hill(c[None], *p)  # (D, S0, K+1) sales per account
    avg = (v[:, :, 1:] - v[:, :, :1]) / c[None, :, 1:]
    kt = np.argmax(avg, axis=2) + 1  # tangent index (D, S0)
    kk = np.arange(1, grid + 1)[None, None, :]
    dv = np.diff(v, axis=2)
    dc = np.broadcast_to(np.diff(c, axis=1)[None], dv.shape)
    first = kk == kt[:, :, None]
    vt = np.take_along_axis(v, kt[:, :, None], axis=2)
    ct = np.take_along_axis(np.broadcast_to(c[None], v.shape), kt[:, :, None], axis=2)
    before = kk < kt[:, :, None]
    gain1 = np.where(before, 0.0, np.where(first, vt - v[:, :, :1], dv))
    dcall1 = np.where(before, 0.0, np.where(first, ct, dc))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio1 = np.where(dcall1 > 0, gain1 / dcall1, -np.inf)  # sales per call
    # ... expanded to the classes: N_k accounts at t_k hours per call
    Nk = np.concatenate(cls_n)
    base = (v[:, cseg, 0] * Nk[None, :]).sum(axis=1)  # (D,)
    seg = np.repeat(np.arange(S), grid)
    unit_cost = np.repeat(Nk * t, grid)[None, :]
    # a segment's classes' calls weighted by their share of its accounts
    share = Nk / rc.n_accounts[cseg]
    sales = np.empty((D, budgets.size))
    calls = np.zeros((D, budgets.size, S0))
    step = max(1, 2_000_000 // max(S * grid, 1))  # draws per block (cache)
    for d0 in range(0, D, step):
        blk = slice(d0, min(D, d0 + step))
        sales[blk], calls[blk] = _fill(
            base[blk],
            (gain1[blk][:, cseg] * Nk[None, :, None]).reshape(-1, S * grid),
            dcall1[blk][:, cseg].reshape(-1, S * grid),
            (ratio1[blk][:, cseg] / t[None, :, None]).reshape(-1, S * grid),
            unit_cost,
            seg,
            share,
            cseg,
            budgets,
            S0,
        )
    return sales, calls


def _fill(
    base: np.ndarray,
    gain: np.ndarray,
    dcall: np.ndarray,
    ratio: np.ndarray,
    unit_cost: np.ndarray,
    seg: np.ndarray,
    share: np.ndarray,
    cseg: np.ndarray,
    budgets: np.ndarray,
    n_segments: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy-by-ratio frontier of a block of draws (see :func:`frontier`)."""
    D = gain.shape[0]
    cost = dcall * unit_cost
    order = np.argsort(-ratio, axis=1, kind="stable")
    g = np.take_along_axis(gain, order, axis=1)
    w = np.take_along_axis(cost, order, axis=1)
    dcs = np.take_along_axis(dcall, order, axis=1)
    sg = seg[order]
    cw = np.cumsum(w, axis=1)
    cg = np.cumsum(g, axis=1)
    K = cw.shape[1]
    rows = np.arange(D)[:, None]
    # per budget: increments bought in full (cw <= B), then a share of the next
    n_full = np.stack(
        [np.searchsorted(row, budgets, side="right") for row in cw]
    )  # (D, nB); cw never falls along a row (costs >= 0)
    last = np.maximum(n_full - 1, 0)
    has = n_full > 0
    nxt = np.minimum(n_full, K - 1)
    part = n_full < K
    spent = np.where(has, cw[rows, last], 0.0)
    wn = w[rows, nxt]
    frac = np.where(
        part & (wn > 0), (budgets[None, :] - spent) / np.where(wn > 0, wn, 1.0), 0.0
    )
    frac = np.clip(frac, 0.0, 1.0)
    sales = base[:, None] + np.where(has, cg[rows, last], 0.0) + frac * g[rows, nxt]
    # average calls per account of each segment, accumulated along the sorted
    # increments one segment at a time
    calls = np.zeros((D, budgets.size, n_segments))
    for j in range(n_segments):
        wd = dcs * np.where(cseg[sg] == j, share[sg], 0.0)
        cum = np.cumsum(wd, axis=1)
        calls[:, :, j] = np.where(has, cum[rows, last], 0.0) + frac * wd[rows, nxt]
    return sales, calls


def _hours_per_call(
    rc: ResponseCurves, hours_per_call: np.ndarray | Mapping[str, float]
) -> dict[str, float]:
    """``hours_per_call`` as ``{segment: hours}`` (a mapping for some segments
    or one value per segment), or a :class:`SpecificationError`."""
    example = f"{{{rc.segments[0]!r}: 1.5}}" if len(rc.segments) else "{'A': 1.5}"
    return _per_segment_values("hours_per_call", hours_per_call, rc.segments, example)


def _own_hours(
    rc: ResponseCurves, hours_per_call: np.ndarray | Mapping[str, float] | None
) -> np.ndarray:
    """Per segment, whether the curves' own hours (and classes) are used."""
    if hours_per_call is None:
        return np.ones(len(rc.segments), dtype=bool)
    given = _hours_per_call(rc, hours_per_call)
    return np.array([s not in given for s in rc.segments])


@dataclass(frozen=True)
class BestHeadcount:
    """The profit-maximising sales-force size and its credible intervals."""

    reps: int
    expected_profit: float
    interval_80: tuple[int, int]
    interval_95: tuple[int, int]
    profit_80: tuple[float, float]
    probability: float
    at_edge: bool = False

    def summary(self) -> str:
        edge = " - at the edge of the sizes tried: widen reps" if self.at_edge else ""
        return (
            f"best {self.reps} reps{edge} (80 % interval {self.interval_80[0]}-"
            f"{self.interval_80[1]}, 95 % {self.interval_95[0]}-"
            f"{self.interval_95[1]}); expected profit {self.expected_profit:,.0f} "
            f"(80 %: {self.profit_80[0]:,.0f} to {self.profit_80[1]:,.0f}); "
            f"P(best) {self.probability:.2f}"
        )


@dataclass(frozen=True)
class HeadcountCurve:
    """Expected sales and profit for each sales-force size, with posterior bands.

    Attributes
    ----------
    reps
        Sales-force sizes evaluated.
    sales, profit
        Draws ``(n_draws, len(reps))``: total annual sales and
        ``margin × sales − cost_per_rep × reps``.
    calls
        Posterior-mean *average* calls per account and year ``(len(reps),
        n_segments)`` of the allocation behind ``sales``: for S-shaped
        curves a mix of accounts called at the tangent point and accounts
        not called (see :func:`frontier`), so the sales are not the curve
        at these calls.
    """

    reps: np.ndarray
    sales: np.ndarray
    profit: np.ndarray
    calls: np.ndarray
    segments: tuple[str, ...]
    cost_per_rep: float
    margin: float
    hours_per_rep: float
    provenance: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        r = np.asarray(self.reps)
        if r.ndim != 1 or r.size == 0:
            raise ValueError("reps must be a non-empty 1-d array")
        for name in ("sales", "profit"):
            a = np.asarray(getattr(self, name))
            if a.ndim != 2 or a.shape[1] != r.size:
                raise ValueError(f"{name} must be (n_draws, {r.size}), got {a.shape}")

    def to_frame(self) -> pd.DataFrame:
        """Per size: mean, 80 % and 95 % bands of sales and profit, and calls."""
        q = [0.025, 0.10, 0.90, 0.975]
        out: dict[str, Any] = {}
        for name in ("sales", "profit"):
            a = np.asarray(getattr(self, name))
            out[name] = a.mean(axis=0)
            qs = np.quantile(a, q, axis=0)
            for lab, row in zip(("2.5%", "10%", "90%", "97.5%"), qs, strict=True):
                out[f"{name}_{lab}"] = row
        for j, s in enumerate(self.segments):
            out[f"calls_{s}"] = self.calls[:, j]
        return pd.DataFrame(out, index=pd.Index(self.reps, name="reps"))

    def best(self) -> BestHeadcount:
        """Size with the highest expected profit, and where each draw's best lies."""
        prof = np.asarray(self.profit)
        mean = prof.mean(axis=0)
        j = int(np.argmax(mean))
        per_draw = np.asarray(self.reps)[np.argmax(prof, axis=1)]

        def iv(a: float, b: float) -> tuple[int, int]:
            lo, hi = np.quantile(per_draw, [a, b], method="inverted_cdf")
            return int(lo), int(hi)

        p80 = np.quantile(prof[:, j], [0.10, 0.90])
        at_edge = bool(len(self.reps) > 1 and j in (0, len(self.reps) - 1))
        if at_edge:
            warnings.warn(
                f"the most profitable size, {int(self.reps[j])} reps, is at the edge "
                f"of the sizes tried ({int(self.reps[0])}-{int(self.reps[-1])}); "
                "widen reps= to find the optimum",
                TerrakitWarning,
                stacklevel=2,
            )
        return BestHeadcount(
            reps=int(self.reps[j]),
            expected_profit=float(mean[j]),
            interval_80=iv(0.10, 0.90),
            interval_95=iv(0.025, 0.975),
            profit_80=(float(p80[0]), float(p80[1])),
            probability=float(np.mean(per_draw == self.reps[j])),
            at_edge=at_edge,
        )

    def summary(self) -> str:
        """Rounded, stable text."""
        df = self.to_frame()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TerrakitWarning)
            best = self.best()
        lines = [
            f"Headcount curve: {len(self.reps)} sizes, cost/rep "
            f"{self.cost_per_rep:,.0f}, margin {self.margin:.0%}, "
            f"{self.hours_per_rep:,.0f} h/rep",
            "  " + best.summary(),
        ]
        step = max(1, len(df) // 8)
        for n, r in df.iloc[::step].iterrows():
            lines.append(
                f"  {n:>4} reps  sales {r['sales']:>14,.0f}  profit "
                f"{r['profit']:>13,.0f} [{r['profit_10%']:,.0f}, "
                f"{r['profit_90%']:,.0f}]"
            )
        return "\n".join(lines)


def headcount_curve(
    rc: ResponseCurves,
    reps: Iterable[int] = range(10, 41),
    cost_per_rep: float = 180_000,
    margin: float = 0.35,
    *,
    hours_per_rep: float = 1_600,
    hours_per_call: Mapping[str, float] | None = None,
    max_calls: float | Mapping[str, float] | None = None,
) -> HeadcountCurve:
    """Sales and profit against the number of reps, with credible bands.

    Parameters
    ----------
    rc
        Response curves (:class:`~terrakit.sizing.ResponseModel`).
    reps
        Sales-force sizes to evaluate.
    cost_per_rep
        Fully loaded yearly cost of one rep (salary, bonus, car, expenses).
    margin
        Contribution margin on sales (0–1).
    hours_per_rep
        Selling hours of one rep per year.
    hours_per_call
        Hours per call by segment (a mapping for some segments, or one value
        per segment), overriding ``rc.hours_per_call``.
    max_calls
        Most calls per account and year (default 4 × today's calls, at least
        1): one number, a mapping by segment (segments not named keep the
        default) or one value per segment.

    Returns
    -------
    HeadcountCurve

    Raises
    ------
    SpecificationError
        For costs, margin or hours that are not numbers (e.g. ``None``),
        negative costs, a margin outside (0, 1], zero, negative or
        missing hours, an empty/negative ``reps`` or one that is not whole
        numbers, or ``hours_per_call`` / ``max_calls`` naming segments the
        curves do not have, holding values that are not numbers (e.g.
        ``'1,5'``; the error names the segment), or given as an array whose
        length is not the number of segments.

    Notes
    -----
    For each size :math:`n` and each posterior draw, the sales force's
    :math:`n H` hours are spread over segments to maximise sales
    (:func:`frontier`); profit is :math:`m\\,\\text{sales}(n) - C n`.  The
    bands are posterior quantiles; :meth:`HeadcountCurve.best` picks the size
    with the highest posterior-mean profit and reports the spread of each
    draw's own optimum as its credible interval.

    Examples
    --------
    >>> curve = headcount_curve(rc, reps=range(10, 41))  # doctest: +SKIP
    >>> curve.best().reps  # doctest: +SKIP
    """
    if isinstance(reps, str) or not isinstance(reps, Iterable):
        raise SpecificationError(
            f"reps must be the sizes to try, e.g. range(10, 41), got {reps!r}"
        )
    sizes = list(reps)
    frac = [
        x
        for x in sizes
        if isinstance(x, bool)
        or not isinstance(x, int | np.integer | float | np.floating)
        or not float(x).is_integer()
    ]
    if frac:
        raise SpecificationError(
            f"reps must be whole numbers of reps, got {frac[:5]}; try e.g. "
            "range(10, 41)"
        )
    r = np.array(sorted({int(x) for x in sizes}), dtype=int)
    if r.size == 0 or (r < 0).any():
        raise SpecificationError(
            f"reps must be a non-empty range of sizes >= 0, got {r.tolist()[:10]}"
        )
    cost = check_cost_per_rep(cost_per_rep)
    m = check_margin(margin)
    H = check_hours_per_rep(hours_per_rep)
    t = rc.hours_per_call.copy()
    if hours_per_call is not None:
        hours_per_call = _hours_per_call(rc, hours_per_call)
        t = np.array(
            [hours_per_call.get(s, tt) for s, tt in zip(rc.segments, t, strict=True)]
        )
    cmax = _max_calls(rc, max_calls)
    sales, calls = frontier(rc, r * H, hours_per_call=hours_per_call, max_calls=cmax)
    profit = m * sales - cost * r[None, :]
    from terrakit.data.alignment import make_provenance

    prov = make_provenance(
        "headcount_curve",
        seed=rc.provenance.get("seed"),
        config={
            "reps": r.tolist(),
            "cost_per_rep": cost,
            "margin": m,
            "hours_per_rep": H,
            "hours_per_call": t.tolist(),
            "max_calls": dict(zip(rc.segments, cmax.tolist(), strict=True)),
            "response": rc.method,
        },
        curves=dict(rc.provenance),
    )
    return HeadcountCurve(
        reps=r,
        sales=sales,
        profit=profit,
        calls=calls.mean(axis=0),
        segments=rc.segments,
        cost_per_rep=cost,
        margin=m,
        hours_per_rep=H,
        provenance=prov,
    )

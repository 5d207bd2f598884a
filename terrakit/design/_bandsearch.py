"""Band repair and improvement for an assignment without contiguity (numba).

:func:`band_search` takes labels for fixed centers (e.g. a rounded flow, some
territories just outside their band) and, on ``cost + P · violation`` with a
large ``P``, applies

- *repair* moves at out-of-band territories: a member leaves for one of its
  ``q`` cheapest territories, or a unit that lists an under-band territory
  joins it; or a *chain* of two such moves (``i: t → b``, ``j: b → c``,
  including the swap ``c = t``), which ships load through a territory that
  is at its band limit — single moves cannot, because every neighbour of a
  rounded LP territory tends to be at a limit too;
- then *improvement* moves everywhere: shifts and swaps that lower the cost
  without raising the violation.

Compiled with numba; moves only to each unit's option list (its current
territory is always one of its options).  One pass can be long (with few
territories every unit lists most of them, and a chain scans the entrants of
two territories), so the kernel reads the clock (in object mode, after
about ``_CHECK_EVERY`` candidate moves) and stops at ``deadline``: a search
the clock does not stop does exactly the same moves as one without one.
"""

from __future__ import annotations

import time

import numba
import numpy as np

__all__ = ["band_search"]

# candidate moves between two readings of the clock (counted per scan of a
# territory's entrants, outside the innermost loops): about a millisecond
_CHECK_EVERY = 1 << 16


@numba.njit(cache=True)
def _now() -> float:  # pragma: no cover - compiled
    with numba.objmode(t="float64"):
        t = time.perf_counter()
    return t


@numba.njit(cache=True)
def _viol(x: float, lo: float, hi: float) -> float:  # pragma: no cover
    return max(x - hi, 0.0) + max(lo - x, 0.0)


@numba.njit(cache=True)
def _opt_cost(
    opts: np.ndarray, oc: np.ndarray, i: int, t: int
) -> float:  # pragma: no cover
    for r in range(opts.shape[1]):
        if opts[i, r] == t:
            return oc[i, r]
    return np.inf


@numba.njit(cache=True)
def _kernel(
    labels: np.ndarray,
    a: np.ndarray,
    opts: np.ndarray,
    oc: np.ndarray,
    movable: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    ent_start: np.ndarray,
    ent: np.ndarray,
    pen: float,
    max_passes: int,
    deadline: float,
) -> tuple[int, bool]:  # pragma: no cover - compiled
    """``(moves, stopped by the clock)``; ``labels`` changed in place."""
    n, q = opts.shape
    k = lo.shape[0]
    load = np.zeros(k)
    for i in range(n):
        load[labels[i]] += a[i]
    cur = np.empty(n)
    for i in range(n):
        cur[i] = _opt_cost(opts, oc, i, labels[i])
    moves = 0
    work = 0  # candidate moves scanned; the clock is read past ``check``
    check = _CHECK_EVERY
    late = False
    # -- repair ---------------------------------------------------------------
    for _ in range(max_passes):
        changed = False
        for t in range(k):
            vt = _viol(load[t], lo[t], hi[t])
            if vt <= 0.0:
                continue
            over = load[t] > hi[t]
            best = 0.0
            bi = -1
            bb = -1
            bj = -1
            bc = -1
            # i moves between t and s (out of t when over, into t when under)
            for e in range(ent_start[t], ent_start[t + 1]):
                i = ent[e]
                if not movable[i]:
                    continue
                li = labels[i]
                if over and li != t:
                    continue
                if (not over) and li == t:
                    continue
                for r in range(q):
                    if over:
                        s = opts[i, r]
                        if s == t:
                            continue
                        dc = oc[i, r] - cur[i]
                        src = t
                        dst = s
                    else:
                        if r > 0:
                            break
                        s = li
                        dc = _opt_cost(opts, oc, i, t) - cur[i]
                        src = s
                        dst = t
                    ai = a[i]
                    v0 = _viol(load[src], lo[src], hi[src]) + _viol(
                        load[dst], lo[dst], hi[dst]
                    )
                    v1 = _viol(load[src] - ai, lo[src], hi[src]) + _viol(
                        load[dst] + ai, lo[dst], hi[dst]
                    )
                    d = dc + pen * (v1 - v0)
                    if d < best:
                        best, bi, bb, bj, bc = d, i, dst, -1, -1
                    # chain: the other end passes a unit j on
                    mid = s
                    work += ent_start[mid + 1] - ent_start[mid]
                    if work > check:
                        check = work + _CHECK_EVERY
                        if _now() > deadline:
                            # the best move found so far still lowers
                            # cost + P · violation: it is applied below
                            late = True
                            break
                    for e2 in range(ent_start[mid], ent_start[mid + 1]):
                        j = ent[e2]
                        if j == i or not movable[j]:
                            continue
                        if over:
                            # j leaves s (which received i) for c
                            if labels[j] != s:
                                continue
                            for r2 in range(q):
                                c = opts[j, r2]
                                if c == s:
                                    continue
                                dc2 = dc + oc[j, r2] - cur[j]
                                aj = a[j]
                                if c == t:
                                    lt = load[t] - ai + aj
                                    ls = load[s] + ai - aj
                                    v0b = _viol(load[t], lo[t], hi[t]) + _viol(
                                        load[s], lo[s], hi[s]
                                    )
                                    v1b = _viol(lt, lo[t], hi[t]) + _viol(
                                        ls, lo[s], hi[s]
                                    )
                                else:
                                    v0b = (
                                        _viol(load[t], lo[t], hi[t])
                                        + _viol(load[s], lo[s], hi[s])
                                        + _viol(load[c], lo[c], hi[c])
                                    )
                                    v1b = (
                                        _viol(load[t] - ai, lo[t], hi[t])
                                        + _viol(load[s] + ai - aj, lo[s], hi[s])
                                        + _viol(load[c] + aj, lo[c], hi[c])
                                    )
                                d2 = dc2 + pen * (v1b - v0b)
                                if d2 < best:
                                    best, bi, bb, bj, bc = d2, i, s, j, c
                        else:
                            # i left s for t; j joins s from its territory c
                            c = labels[j]
                            if c == s:
                                continue
                            cs_ = _opt_cost(opts, oc, j, s)
                            if not np.isfinite(cs_):
                                continue
                            dc2 = dc + cs_ - cur[j]
                            aj = a[j]
                            if c == t:
                                lt = load[t] + ai - aj
                                ls = load[s] - ai + aj
                                v0b = _viol(load[t], lo[t], hi[t]) + _viol(
                                    load[s], lo[s], hi[s]
                                )
                                v1b = _viol(lt, lo[t], hi[t]) + _viol(ls, lo[s], hi[s])
                            else:
                                v0b = (
                                    _viol(load[t], lo[t], hi[t])
                                    + _viol(load[s], lo[s], hi[s])
                                    + _viol(load[c], lo[c], hi[c])
                                )
                                v1b = (
                                    _viol(load[t] + ai, lo[t], hi[t])
                                    + _viol(load[s] - ai + aj, lo[s], hi[s])
                                    + _viol(load[c] - aj, lo[c], hi[c])
                                )
                            d2 = dc2 + pen * (v1b - v0b)
                            if d2 < best:
                                best, bi, bb, bj, bc = d2, i, t, j, s
                if late:
                    break
            if bi < 0:
                if late:
                    break
                continue
            # apply: i → bb, then (chain) j → bc
            src_i = labels[bi]
            load[src_i] -= a[bi]
            load[bb] += a[bi]
            labels[bi] = bb
            cur[bi] = _opt_cost(opts, oc, bi, bb)
            if bj >= 0:
                src_j = labels[bj]
                load[src_j] -= a[bj]
                load[bc] += a[bj]
                labels[bj] = bc
                cur[bj] = _opt_cost(opts, oc, bj, bc)
            moves += 1
            changed = True
            if late:
                break
        if not changed or late:
            break
    # -- improvement: shifts and swaps that keep the violation ----------------
    for _ in range(0 if late else max_passes):
        changed = False
        for i in range(n):
            if not movable[i]:
                continue
            t = labels[i]
            ai = a[i]
            for r in range(q):
                b = opts[i, r]
                if b == t:
                    continue
                dc = oc[i, r] - cur[i]
                v0 = _viol(load[t], lo[t], hi[t]) + _viol(load[b], lo[b], hi[b])
                v1 = _viol(load[t] - ai, lo[t], hi[t]) + _viol(
                    load[b] + ai, lo[b], hi[b]
                )
                if v1 <= v0 + 1e-9 and dc < -1e-12 * (1.0 + abs(cur[i])):
                    load[t] -= ai
                    load[b] += ai
                    labels[i] = b
                    cur[i] = oc[i, r]
                    moves += 1
                    changed = True
                    break
                if dc >= 0.0:
                    # a swap must win back dc from a unit of b moving to t
                    pass
                work += ent_start[t + 1] - ent_start[t]
                if work > check:
                    check = work + _CHECK_EVERY
                    if _now() > deadline:
                        late = True
                        break
                for e in range(ent_start[t], ent_start[t + 1]):
                    j = ent[e]
                    if labels[j] != b or not movable[j]:
                        continue
                    dj = _opt_cost(opts, oc, j, t) - cur[j]
                    if dc + dj >= -1e-12 * (1.0 + abs(cur[i]) + abs(cur[j])):
                        continue
                    aj = a[j]
                    v1s = _viol(load[t] - ai + aj, lo[t], hi[t]) + _viol(
                        load[b] + ai - aj, lo[b], hi[b]
                    )
                    if v1s <= v0 + 1e-9:
                        load[t] += aj - ai
                        load[b] += ai - aj
                        labels[i] = b
                        labels[j] = t
                        cur[i] = oc[i, r]
                        cur[j] = cur[j] + dj
                        moves += 1
                        changed = True
                        break
                if labels[i] != t:
                    break
            if late:
                break
        if not changed or late:
            break
    return moves, late


def band_search(
    cost: np.ndarray,
    act: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    labels: np.ndarray,
    locked: np.ndarray,
    *,
    q: int = 8,
    reach: int = 0,
    extra: int = 2,
    max_passes: int = 50,
    deadline: float | None = None,
    clock_cut: list[bool] | None = None,
) -> np.ndarray:
    """Repair, then improve, ``labels`` (see the module docstring).

    ``cost`` ``(n, k)`` (``inf`` forbidden), ``act`` ``(n,)`` the one banded
    activity, ``lower``/``upper`` ``(k,)``, ``locked[i] >= 0`` keeps unit
    ``i`` where it is.  Options: each unit's ``q`` cheapest territories, plus
    up to ``extra`` territories that count the unit among their ``reach``
    cheapest units.  ``deadline`` (a :func:`time.perf_counter` time; ``None``:
    none) stops the search with the moves made so far, each of which lowered
    ``cost + P · violation``; ``True`` is then appended to ``clock_cut``
    (where given).  Returns new labels (the input is not changed).
    """
    n, k = cost.shape
    lab = np.array(labels, dtype=np.int64)
    qq = min(q, k)
    c = np.where(np.isfinite(cost), cost, np.inf)
    near = (
        np.argpartition(c, qq - 1, axis=1)[:, :qq]
        if qq < k
        else np.broadcast_to(np.arange(k), (n, k)).copy()
    )
    # the current territory is always an option (replacing the dearest)
    has = (near == lab[:, None]).any(axis=1)
    if not has.all():
        oc0 = np.take_along_axis(c, near, axis=1)
        worst = np.argmax(oc0, axis=1)
        rows = np.flatnonzero(~has)
        near[rows, worst[rows]] = lab[rows]
    if reach > 0 and qq < k:
        # each territory also reaches its ``reach`` cheapest units (per unit
        # of activity): a remote territory (Alaska) can take people from a
        # region whose units list only their own nearby centers
        per_a = c / np.maximum(np.abs(np.asarray(act, dtype=float)), 1e-12)[:, None]
        r = min(reach, n)
        near_t = np.argpartition(per_a, r - 1, axis=0)[:r]
        pu = near_t.ravel()
        pt = np.broadcast_to(np.arange(k), near_t.shape).ravel()
        new = ~(near[pu] == pt[:, None]).any(axis=1)
        pu, pt = pu[new], pt[new]
        order = np.lexsort((per_a[pu, pt], pu))
        pu, pt = pu[order], pt[order]
        rank = np.arange(len(pu)) - np.searchsorted(pu, pu, side="left")
        keep = rank < extra
        extra_cols = np.repeat(lab[:, None], extra, axis=1)
        extra_cols[pu[keep], rank[keep]] = pt[keep]
        near = np.concatenate([near, extra_cols], axis=1)
    opts = np.ascontiguousarray(near, dtype=np.int64)
    oc = np.ascontiguousarray(np.take_along_axis(c, opts, axis=1), dtype=np.float64)
    oc = np.where(np.isfinite(oc), oc, 1e300)
    aa = np.ascontiguousarray(np.asarray(act, dtype=np.float64).reshape(-1))
    # entrants of each territory: the units listing it
    flat_t = opts.ravel()
    flat_u = np.repeat(np.arange(n), opts.shape[1])
    order = np.argsort(flat_t, kind="stable")
    ent = np.ascontiguousarray(flat_u[order], dtype=np.int64)
    ent_start = np.searchsorted(flat_t[order], np.arange(k + 1)).astype(np.int64)
    per = oc[oc < 1e299] / np.maximum(
        np.repeat(aa, opts.shape[1])[oc.ravel() < 1e299], 1e-12
    )
    pen = 10.0 * float(per.max()) if per.size else 1.0
    lo = np.ascontiguousarray(
        np.where(np.isfinite(lower), lower, -1e300), dtype=np.float64
    )
    hi = np.ascontiguousarray(
        np.where(np.isfinite(upper), upper, 1e300), dtype=np.float64
    )
    _, late = _kernel(
        lab,
        aa,
        opts,
        oc,
        np.ascontiguousarray(locked < 0),
        lo,
        hi,
        ent_start,
        ent,
        pen,
        int(max_passes),
        np.inf if deadline is None else float(deadline),
    )
    if late and clock_cut is not None:
        clock_cut.append(True)
    return lab

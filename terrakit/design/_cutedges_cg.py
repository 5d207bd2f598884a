"""Set-partitioning lower bound for cut-edge districting (column generation).

A partition into ``k`` contiguous districts that meet the bands is a choice of
``k`` columns ``D`` (connected unit sets within the bands) covering every unit
once.  With column cost :math:`c_D = w(\\delta(D))/2` (half the weight of the
edges leaving ``D``: every cut edge leaves two districts) the number of cut
edges is :math:`\\sum_D c_D \\lambda_D` and its LP relaxation

.. math::

    \\min \\sum_D c_D \\lambda_D \\quad\\text{s.t.}\\quad
    \\sum_{D \\ni i} \\lambda_D = 1 \\;(\\forall i), \\quad
    \\sum_D \\lambda_D = k, \\quad \\lambda \\ge 0

is far stronger than the assignment MIP's LP, whose fractional solutions spread
each unit over several territories: a column is a whole connected district.

*Bound.*  For any multipliers :math:`\\pi`,
:math:`LB(\\pi) = \\sum_i \\pi_i + k \\min_D (c_D - \\pi(D))` is a valid lower
bound (Lagrangian relaxation of the cover rows, keeping
:math:`\\sum_D \\lambda_D = k`).  The minimum over columns is the *pricing
problem*: a connected set within the bands minimising half its boundary
weight minus its multipliers, solved as a small MIP (binary members and root,
single-commodity flow from the root for connectivity, the rooted model's
fixing: a set rooted at ``j`` holds only units that may join ``j``).  Any
lower bound of that MIP (its dual bound at a time limit) still gives a valid
:math:`LB`.

*Pricing root by root* (``pricing="roots"``, the default).  A district's
root is its member of highest rank, so the minimum is :math:`\\min_j z_j`
over the possible roots ``j`` (``ok[j, j]``), each :math:`z_j` a smaller MIP
with the root fixed (:class:`_RootPricer`: one persistent HiGHS model per
root, only the members' costs change between calls).  The roots are priced
with a cutoff (HiGHS ``objective_bound``) at the best value a pool column or
a local search reaches for them, so most roots are settled at their root
node.  Because the ``k`` districts of a partition have ``k`` distinct roots,
and a root that is the only possible root of some unit (e.g. the unit of
highest rank) is used by every partition,

.. math::

    LB_{roots}(\\pi) = \\sum_i \\pi_i + \\sum_{j \\in M} z_j
    + \\text{(sum of the } k - |M| \\text{ least } z_j, j \\notin M)

is a valid lower bound too, never below :math:`LB(\\pi)`.  Its maximum over
:math:`\\pi` is the same LP optimum (one column per root is implied by the
cover rows), but it is higher at the multipliers met on the way, so a proof
needs fewer exact calls.  A root stopped by the time limit contributes its
MIP dual bound, so every bound stays valid at any time.  ``pricing="flow"``
keeps the single MIP over all roots.

*Early stop* (``early_stop=True``, with a ``target``).  While the roots'
upper bounds (pool columns, local search, roots already priced) still allow
a total that proves ``target``, each root's cutoff is lowered by its share of
that slack: a root whose sets cannot go below the lowered cutoff is settled
at once, without proving its exact minimum.  If the proof then fails, the
roots settled early are priced again to their exact minimum, so the call's
bound is the same as without the early stop (unless time runs out).

*Root elimination* (with a ``target`` :math:`T` and early stop).  With
integral weights, proving :math:`T` means showing that no partition costs
:math:`\\theta = T - 1` or less (otherwise :math:`\\theta = T`).  A partition
whose ``k`` districts have the root set ``S`` costs at least
:math:`\\sum_i \\pi_i + \\sum_{j \\in S} z_j`; where that exceeds
:math:`\\theta` at any multipliers, no partition at or below :math:`\\theta`
has root set ``S``, whatever the multipliers later, so ``S`` is ruled out for
good (the reduced-cost fixing of branch-and-price, on the roots; the sets are
listed while the free roots allow at most ``_MAX_COMBOS`` choices, single
roots are tested beyond).  A root in no allowed set is dropped and its
columns leave the master, a unit left with one root makes that root
mandatory, and the bound is then :math:`\\min(LB_{restricted}, T)`: every
partition through a ruled-out set costs at least :math:`T`.  A free root's
cutoff is raised to the value that would drop it.  On OK counties the first
two exact calls take the roots from 23 to 10.

*Hand-over* (``handoff``).  After ``handoff`` seconds the generation stops
as soon as the root sets left can be listed and returns them, with every
exact call's multipliers and per-root bounds (:class:`RootSets`), for the
branch on the root sets of :mod:`terrakit.design._cutedges_sets`: with the
roots fixed, the rooted model plus those bounds as cuts closes the last
steps that the generation makes slowly (OK counties: 38.2-39 -> 40).

*Search.*  Columns come from the heuristic partitions, then from a local
search on the pricing objective (add, remove or swap boundary units, keeping
the set connected and within the bands) started from the pool's columns of
least reduced cost; the exact pricing MIP runs only when the local search finds
nothing, with the multipliers smoothed towards the best-bound ones (Wentges)
against the restricted master's degeneracy.  At the end a set-partitioning
MIP over the pool may find a better partition than the heuristics.

Used by :func:`terrakit.benchmarks.districting.solve_file` (``bound="cg"``).
Set ``TERRAKIT_CG_DEBUG=1`` to print one line per exact pricing call.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from terrakit.design._model import ArrayModel

__all__ = ["ColumnBound", "RootSets", "column_generation_bound"]

_DEBUG = bool(os.environ.get("TERRAKIT_CG_DEBUG"))
# a root's cutoff is raised this far past its elimination threshold, so the
# threshold, recomputed from the final bounds of the other roots, is met
_ELIMINATE_MARGIN = 0.01
# root choices listed by _RootPricer.eliminate (beyond: single roots only)
_MAX_COMBOS = 5000


@dataclass(frozen=True)
class RootSets:
    """What the root pricing proved, for a branch on the root sets.

    Attributes
    ----------
    roots
        Unit index of each possible root (the units ``j`` with ``ok[j, j]``).
    active, mandatory
        Per root: still possible in a partition below the target, and used
        by every such partition.
    history
        ``(multipliers, lower bounds)`` of each exact pricing call: for every
        district ``D`` rooted at ``roots[t]``,
        :math:`c_D - \\pi(D) \\ge` ``bounds[t]`` at those multipliers.
    sets
        The root sets (sorted indices into ``roots``) a partition below the
        target may still use, or ``None`` when too many to list.
    """

    roots: np.ndarray
    active: np.ndarray
    mandatory: np.ndarray
    history: list[tuple[np.ndarray, np.ndarray]]
    sets: list[tuple[int, ...]] | None


@dataclass(frozen=True)
class ColumnBound:
    """Result of :func:`column_generation_bound`.

    Attributes
    ----------
    bound
        Valid lower bound on the weighted number of cut edges (``-inf`` when
        no exact pricing finished).
    lp_value
        Value of the last restricted master LP (an upper bound on the LP).
    converged
        Whether the exact pricing proved that no column has a negative
        reduced cost (``bound`` is then the LP optimum).
    labels
        Territory index per unit of the best partition found in the pool (or
        ``None``), with ``objective`` its weighted cut.
    objective
        Weighted cut of ``labels`` (``inf`` without labels).
    info
        Counters: iterations, columns, exact pricing calls, seconds.
    root_sets
        With root pricing and a ``target`` not reached: the roots and root
        sets left, and each call's per-root bounds (:class:`RootSets`).
    """

    bound: float
    lp_value: float
    converged: bool
    labels: np.ndarray | None
    objective: float
    info: dict[str, float] = field(default_factory=dict)
    root_sets: RootSets | None = None


class _Graph:
    """Dense adjacency helpers for the local search (n ≤ a few hundred)."""

    def __init__(self, adjacency: sp.spmatrix, values: np.ndarray) -> None:
        a = sp.csr_matrix(adjacency)
        a = sp.triu(a, k=1)
        a = (a + a.T).tocsr()
        self.n = a.shape[0]
        self.w = np.asarray(a.todense(), dtype=float)
        self.deg = self.w.sum(axis=1)
        self.nbrs = [a.indices[a.indptr[i] : a.indptr[i + 1]] for i in range(self.n)]
        e = sp.triu(a, k=1).tocoo()
        self.eu = e.row.astype(np.int64)
        self.ev = e.col.astype(np.int64)
        self.ew = e.data.astype(float)
        self.values = values  # (n, b) banded activities

    def cost(self, mask: np.ndarray) -> float:
        """Half the weight of the edges leaving ``mask``."""
        return 0.5 * float(self.ew[mask[self.eu] != mask[self.ev]].sum())

    def connected(self, mask: np.ndarray) -> bool:
        idx = np.flatnonzero(mask)
        if idx.size <= 1:
            return idx.size == 1
        seen = np.zeros(self.n, dtype=bool)
        stack = [int(idx[0])]
        seen[idx[0]] = True
        count = 1
        while stack:
            u = stack.pop()
            for v in self.nbrs[u]:
                if mask[v] and not seen[v]:
                    seen[v] = True
                    count += 1
                    stack.append(int(v))
        return count == idx.size


def _local_search(
    g: _Graph,
    mask: np.ndarray,
    pi: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    allowed: np.ndarray,
    contiguity: bool,
    max_steps: int = 200,
) -> np.ndarray:
    """Best-improvement add/remove/swap descent on ``c(D) - pi(D)``."""
    mask = mask.copy()
    tot = g.values[mask].sum(axis=0)
    for _ in range(max_steps):
        win = g.w[:, mask].sum(axis=1)
        wout = g.deg - win
        add_gain = (wout - win) / 2 - pi  # Δ objective when adding v
        rem_gain = (win - wout) / 2 + pi  # Δ objective when removing u
        inside = np.flatnonzero(mask)
        outside = np.flatnonzero(~mask & allowed & ((win > 0) | (not contiguity)))
        cands: list[tuple[float, int, int]] = []
        for v in outside.tolist():
            t = tot + g.values[v]
            if (
                np.all(t >= lo - 1e-9)
                and np.all(t <= hi + 1e-9)
                and add_gain[v] < -1e-9
            ):
                cands.append((float(add_gain[v]), v, -1))
        for u in inside.tolist():
            t = tot - g.values[u]
            if (
                np.all(t >= lo - 1e-9)
                and np.all(t <= hi + 1e-9)
                and rem_gain[u] < -1e-9
            ):
                cands.append((float(rem_gain[u]), -1, u))
        if outside.size and inside.size:
            sw = add_gain[outside][:, None] + rem_gain[inside][None, :]
            sw = sw + g.w[np.ix_(outside, inside)]
            t = tot[None, None, :] + (
                g.values[outside][:, None, :] - g.values[inside][None, :, :]
            )
            fit = np.all((t >= lo - 1e-9) & (t <= hi + 1e-9), axis=2)
            a_idx, r_idx = np.nonzero(fit & (sw < -1e-9))
            for a, r in zip(a_idx.tolist(), r_idx.tolist(), strict=True):
                cands.append((float(sw[a, r]), int(outside[a]), int(inside[r])))
        if not cands:
            break
        cands.sort()
        moved = False
        for _gain, v, u in cands[:50]:
            new = mask.copy()
            if v >= 0:
                new[v] = True
            if u >= 0:
                new[u] = False
            if not new.any():
                continue
            if contiguity and not g.connected(new):
                continue
            mask = new
            tot = g.values[mask].sum(axis=0)
            moved = True
            break
        if not moved:
            break
    return mask


def _anneal(
    g: _Graph,
    mask: np.ndarray,
    pi: np.ndarray,
    mu: float,
    lo: np.ndarray,
    hi: np.ndarray,
    allowed: np.ndarray,
    contiguity: bool,
    rng: np.random.Generator,
    steps: int = 1500,
) -> list[np.ndarray]:
    """Annealing on ``c(D) - pi(D)`` with the bands as a penalty.

    Moves add a unit next to the set or drop one (keeping it connected); the
    band violation is penalised in band widths.  Returns the distinct sets
    within the bands with a negative reduced cost ``c(D) - pi(D) - mu`` that
    were visited.
    """
    mask = mask.copy()
    width = np.maximum(hi - lo, 1e-9)
    width = np.where(np.isfinite(width), width, 1.0)
    tot = g.values[mask].sum(axis=0)
    win = g.w[:, mask].sum(axis=1)

    def viol(t: np.ndarray) -> float:
        return float(
            (np.clip(lo - t, 0, None) + np.clip(t - hi, 0, None)) @ (1 / width)
        )

    rho = 1.0
    cur_v = viol(tot)
    found: dict[bytes, np.ndarray] = {}
    temp = 0.5
    for step in range(steps):
        if step % 100 == 99:
            temp *= 0.85
        if rng.random() < 0.5:
            cand = np.flatnonzero(~mask & allowed & (win > 0))
            if cand.size == 0:
                continue
            v = int(cand[rng.integers(cand.size)])
            d_cost = (g.deg[v] - 2 * win[v]) / 2 - pi[v]
            t = tot + g.values[v]
            sign = 1
        else:
            cand = np.flatnonzero(mask)
            if cand.size <= 1:
                continue
            v = int(cand[rng.integers(cand.size)])
            d_cost = (2 * win[v] - g.deg[v]) / 2 + pi[v]
            t = tot - g.values[v]
            sign = -1
        nv = viol(t)
        delta = d_cost + rho * (nv - cur_v)
        if delta > 0 and rng.random() >= math.exp(-delta / max(temp, 1e-6)):
            continue
        if sign < 0 and contiguity:
            new = mask.copy()
            new[v] = False
            if not g.connected(new):
                continue
        mask[v] = sign > 0
        tot = t
        cur_v = nv
        win += sign * g.w[:, v]
        if nv == 0.0:
            rc = g.cost(mask) - float(pi[mask].sum()) - mu
            if rc < -1e-6:
                key = np.packbits(mask).tobytes()
                if key not in found:
                    found[key] = mask.copy()
    return list(found.values())


def _kick(
    g: _Graph,
    mask: np.ndarray,
    rng: np.random.Generator,
    lo: np.ndarray,
    hi: np.ndarray,
    contiguity: bool,
    allowed: np.ndarray,
    moves: int = 3,
) -> np.ndarray:
    """A few random boundary swaps that keep the set within the bands."""
    mask = mask.copy()
    tot = g.values[mask].sum(axis=0)
    for _ in range(moves):
        win = g.w[:, mask].sum(axis=1)
        out = np.flatnonzero(~mask & allowed & (win > 0))
        inside = np.flatnonzero(mask)
        if out.size == 0 or inside.size <= 1:
            break
        t = tot[None, None, :] + (
            g.values[out][:, None, :] - g.values[inside][None, :, :]
        )
        fit = np.all((t >= lo - 1e-9) & (t <= hi + 1e-9), axis=2)
        pairs = np.argwhere(fit)
        for q in rng.permutation(len(pairs))[:10].tolist():
            new = mask.copy()
            new[out[pairs[q, 0]]] = True
            new[inside[pairs[q, 1]]] = False
            if not contiguity or g.connected(new):
                mask = new
                tot = g.values[mask].sum(axis=0)
                break
    return mask


def _set_rows(
    rows_of: ArrayModel,
    iy: int,
    iz: int,
    eu: np.ndarray,
    ev: np.ndarray,
    values: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> None:
    """Rows shared by both pricing models: ``z_e ≥ |y_u − y_v|`` for every
    edge (the cut indicator) and ``lo_b ≤ Σ_i values_ib y_i ≤ hi_b`` for
    every activity ``b`` (the set's bands)."""
    m = eu.size
    e = np.arange(m)
    for su, sv in ((-1.0, 1.0), (1.0, -1.0)):
        rows_of.add_rows(
            m,
            np.repeat(e, 3),
            np.column_stack([iz + e, iy + eu, iy + ev]).ravel(),
            np.tile([1.0, su, sv], m),
            np.zeros(m),
            np.full(m, np.inf),
        )
    n = values.shape[0]
    for b in range(values.shape[1]):
        rows_of.add_rows(
            1,
            np.zeros(n, dtype=np.int64),
            iy + np.arange(n),
            values[:, b].astype(float),
            np.array([lo[b]]),
            np.array([hi[b]]),
        )


def _arc_capacity_rows(
    rows_of: ArrayModel, jf: int, iy: int, arcs: np.ndarray, big: float
) -> None:
    """Flow on arc ``(s, t)`` only between members: ``f_a ≤ big · y_s`` and
    ``f_a ≤ big · y_t``."""
    na = arcs.shape[0]
    a = np.arange(na)
    for end in (arcs[:, 0], arcs[:, 1]):
        rows_of.add_rows(
            na,
            np.repeat(a, 2),
            np.column_stack([jf + a, iy + end]).ravel(),
            np.tile([1.0, -big], na),
            np.full(na, -np.inf),
            np.zeros(na),
        )


class _Pricer:
    """The exact pricing MIP: min c(D) - pi(D) over feasible connected sets."""

    def __init__(
        self,
        g: _Graph,
        ok: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        contiguity: bool,
    ) -> None:
        n = g.n
        m = g.eu.size
        self.n, self.m = n, m
        arcs = np.concatenate(
            [np.column_stack([g.eu, g.ev]), np.column_stack([g.ev, g.eu])]
        )
        na = arcs.shape[0] if contiguity else 0
        iy, ir, iz, jf = 0, n, 2 * n, 2 * n + m
        nv = 2 * n + m + na
        rows_of = ArrayModel()  # only its rows: the bounds are set below
        rows_of.add_vars(nv)

        def add(
            rows: np.ndarray,
            cols: np.ndarray,
            vals: np.ndarray,
            rlo: np.ndarray,
            rhi: np.ndarray,
        ) -> None:
            rows_of.add_rows(rlo.size, rows, cols, vals, rlo, rhi)

        _set_rows(rows_of, iy, iz, g.eu, g.ev, g.values, lo, hi)
        add(
            np.zeros(n, dtype=np.int64),
            ir + np.arange(n),
            np.ones(n),
            np.ones(1),
            np.ones(1),
        )
        # y_i <= sum_{j: ok[i, j]} r_j ; r_i <= y_i
        ii, jj = np.nonzero(ok)
        add(
            np.concatenate([np.arange(n), ii]),
            np.concatenate([iy + np.arange(n), ir + jj]),
            np.concatenate([np.ones(n), -np.ones(ii.size)]),
            np.full(n, -np.inf),
            np.zeros(n),
        )
        add(
            np.repeat(np.arange(n), 2),
            np.column_stack([ir + np.arange(n), iy + np.arange(n)]).ravel(),
            np.tile([1.0, -1.0], n),
            np.full(n, -np.inf),
            np.zeros(n),
        )
        # and, disaggregated (a much tighter LP): y_i + r_j <= 1 where i may
        # not join j
        roots = np.flatnonzero(np.diag(ok))
        bi, bj = np.nonzero(~ok[:, roots])
        nb = bi.size
        if nb:
            add(
                np.repeat(np.arange(nb), 2),
                np.column_stack([iy + bi, ir + roots[bj]]).ravel(),
                np.ones(2 * nb),
                np.full(nb, -np.inf),
                np.ones(nb),
            )
        # the most units a set within the upper band can hold
        most = n
        for b in range(g.values.shape[1]):
            v = np.sort(np.clip(g.values[:, b], 0, None))
            if np.isfinite(hi[b]) and np.all(g.values[:, b] >= 0):
                most = min(
                    most, int(np.searchsorted(np.cumsum(v), hi[b] + 1e-9, "right"))
                )
        big = float(max(most - 1, 1))
        if contiguity:
            a = np.arange(na)
            _arc_capacity_rows(rows_of, jf, iy, arcs, big)
            # inflow - outflow >= y_i - n r_i
            add(
                np.concatenate([arcs[:, 1], arcs[:, 0], np.arange(n), np.arange(n)]),
                np.concatenate([jf + a, jf + a, iy + np.arange(n), ir + np.arange(n)]),
                np.concatenate(
                    [np.ones(na), -np.ones(na), -np.ones(n), np.full(n, big + 1)]
                ),
                np.zeros(n),
                np.full(n, np.inf),
            )
        self.constraints = LinearConstraint(*rows_of.matrix())
        self.integrality = np.zeros(nv)
        self.integrality[: 2 * n] = 1
        ub = np.ones(nv)
        ub[ir : ir + n] = np.diag(ok).astype(float)
        ub[jf:] = big
        self.bounds = Bounds(np.zeros(nv), ub)
        self.cost = np.zeros(nv)
        self.cost[iz : iz + m] = 0.5 * g.ew
        self.nv = nv

    def solve(
        self, pi: np.ndarray, time_limit: float
    ) -> tuple[np.ndarray | None, float]:
        """(best set or None, lower bound on min c(D) - pi(D))."""
        c = self.cost.copy()
        c[: self.n] = -pi
        res = milp(
            c,
            constraints=self.constraints,
            integrality=self.integrality,
            bounds=self.bounds,
            options={"time_limit": max(time_limit, 0.05), "disp": False},
        )
        if res.status == 2:  # no set meets the bands
            return None, math.inf
        lb = getattr(res, "mip_dual_bound", None)
        if res.status == 0 and res.x is not None:
            lb = float(res.fun) if lb is None else min(float(lb), float(res.fun))
        if lb is None or not np.isfinite(lb):
            lb = -math.inf
        if res.x is None:
            return None, float(lb)
        return res.x[: self.n] > 0.5, float(lb)


class _RootPricer:
    """Exact pricing root by root, one persistent HiGHS model per root.

    A district's *root* is its member of highest rank (``ok[:, j]`` lists the
    units that may join a district rooted at ``j``), so
    :math:`\\min_D (c_D - \\pi(D)) = \\min_j z_j` with :math:`z_j` the pricing
    problem over the sets rooted at ``j``.  Each :math:`z_j` is a small MIP
    (the root fixed in the set, only the units of ``ok[:, j]``, edges to the
    units outside counted as cut, connectivity by a single-commodity flow
    from the root plus the rows ``y_i <= sum of its neighbours``).  The models
    are built once; a call only changes the members' costs.

    The roots are priced in order of the least reduced cost of a pool column
    rooted there, each with the least value found so far (over the pool's
    columns and the roots done) as a cutoff (HiGHS ``objective_bound``): a
    root whose sets cannot beat it is proved so quickly, and its lower bound
    is the cutoff.  Any root stopped by the time limit contributes its dual
    bound, so the minimum over the roots' bounds stays valid at any time.

    ``workers`` roots (default: up to 2, the cores of a small machine) are
    priced at once on threads, one HiGHS run each (HiGHS releases the GIL);
    a root's cutoff is read when its run starts, so the order in which runs
    finish changes only how tight, never how valid, the bounds are.  The
    models branch without strong branching: their trees are many cheap nodes
    and strong branching took ~80 % of their LP iterations.
    """

    def __init__(
        self,
        g: _Graph,
        ok: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        contiguity: bool,
        workers: int | None = None,
        eliminate: bool = True,
    ) -> None:
        self.n = g.n
        # rule out roots and root sets when a proof fails (:meth:`eliminate`)
        self.eliminating = bool(eliminate)
        self.g, self.lo, self.hi, self.contiguity = g, lo, hi, contiguity
        # roots priced at once, one HiGHS run per thread (default: up to 2)
        self.workers = max(1, int(workers or min(2, os.cpu_count() or 1)))
        self.allowed = np.asarray(ok.any(axis=1), dtype=bool)
        self.roots = np.flatnonzero(np.diag(ok))
        self.members: list[np.ndarray] = []
        self.models: list[Any] = []
        self.fixed: list[np.ndarray] = []
        # the most units a set within the upper band can hold
        most = g.n
        for b in range(g.values.shape[1]):
            v = np.sort(np.clip(g.values[:, b], 0, None))
            if np.isfinite(hi[b]) and np.all(g.values[:, b] >= 0):
                most = min(
                    most, int(np.searchsorted(np.cumsum(v), hi[b] + 1e-9, "right"))
                )
        self.okm = ok[:, self.roots].T.copy()  # (roots, n)
        self.is_root = np.zeros(g.n, dtype=bool)
        self.is_root[self.roots] = True
        self.root_index = np.full(g.n, -1, dtype=np.int64)
        self.root_index[self.roots] = np.arange(self.roots.size)
        # roots still possible in a partition below the caller's threshold
        # (see :meth:`eliminate`); ``closed``: some unit has no root left
        self.active = np.ones(self.roots.size, dtype=bool)
        self.closed = False
        # root sets (sorted indices into ``roots``) ruled out by eliminate()
        self.forbidden: set[tuple[int, ...]] = set()
        self._combo_cache: tuple[Any, list[tuple[int, ...]]] = (None, [])
        self.mandatory = np.zeros(self.roots.size, dtype=bool)
        self._mandatory()
        # seconds each root's last complete run took: the first pass gives a
        # root at least about that much, as a run cut short restarts from
        # scratch in the second pass
        self.last_seconds = np.zeros(self.roots.size)
        # (multipliers, per-root lower bounds) of every call
        self.history: list[tuple[np.ndarray, np.ndarray]] = []
        for j in self.roots.tolist():
            u = np.flatnonzero(ok[:, j])
            self.members.append(u)
            model, fixed = self._build(g, u, j, lo, hi, contiguity, most)
            self.models.append(model)
            self.fixed.append(fixed)

    def _mandatory(self) -> None:
        """Mark the roots every remaining partition uses.

        A unit that only one active root may take makes that root every
        partition's (e.g. the unit of highest rank is its own root); a unit
        that no active root may take leaves no partition (``closed``).
        """
        okm = self.okm[self.active]  # (active roots, n)
        count = okm.sum(axis=0)
        used = self.allowed
        self.closed = (
            self.closed or bool(np.any(count[used] == 0)) or not self.active.any()
        )
        only = used & (count == 1)
        self.mandatory[:] = False
        act = np.flatnonzero(self.active)
        if only.any():
            self.mandatory[act[np.argmax(okm[:, only], axis=0)]] = True

    def _combos(self, k: int) -> list[tuple[int, ...]] | None:
        """The allowed choices of ``k - |M|`` free roots (indices into
        ``roots``), or ``None`` when there are too many to list."""
        idx = np.flatnonzero(self.active & ~self.mandatory)
        need = k - int(self.mandatory.sum())
        if need <= 0 or idx.size < need or math.comb(idx.size, need) > _MAX_COMBOS:
            return None
        # the list changes only when roots or sets are ruled out (the
        # forbidden set only grows, so its size versions it)
        key = (self.active.tobytes(), self.mandatory.tobytes(), len(self.forbidden))
        if self._combo_cache[0] != key:
            base = tuple(np.flatnonzero(self.mandatory).tolist())
            allowed = [
                c
                for c in itertools.combinations(idx.tolist(), need)
                if tuple(sorted(base + c)) not in self.forbidden
            ]
            self._combo_cache = (key, allowed)
        return self._combo_cache[1]

    def least_total(self, vals: np.ndarray, k: int) -> float:
        """Least :math:`\\sum_{j \\in S} z_j` over the root sets ``S`` a
        partition may still use (``vals``: per-root values, ``inf`` where no
        set is left): the mandatory roots plus the ``k - |M|`` least free ones,
        or, once root sets were ruled out (:meth:`eliminate`), the least
        allowed set."""
        if self.closed:
            return math.inf
        out = float(vals[self.mandatory].sum())
        free = self.active & ~self.mandatory
        need = k - int(self.mandatory.sum())
        if need <= 0:
            return out
        allowed = self._combos(k) if self.forbidden else None
        if allowed is None:
            rest = np.sort(vals[free])
            return math.inf if rest.size < need else out + float(rest[:need].sum())
        if not allowed:
            return math.inf
        with np.errstate(invalid="ignore"):
            sums = vals[np.asarray(allowed, dtype=np.int64)].sum(axis=1)
        sums = np.where(np.isnan(sums), -math.inf, sums)
        return out + float(sums.min())

    def eliminate(self, lbs: np.ndarray, k: int, proof: float) -> int:
        """Rule out the roots and root sets no partition below a threshold uses.

        ``lbs``: a lower bound on each root's :math:`z_j` at multipliers
        :math:`\\pi`, and ``proof`` the threshold minus :math:`\\sum_i \\pi_i`.
        A partition's ``k`` districts have ``k`` distinct roots ``S``, and
        :math:`\\sum_D (c_D - \\pi(D)) \\ge \\sum_{j \\in S} z_j`; where that
        exceeds ``proof``, every partition with root set ``S`` costs more
        than the threshold, whatever the multipliers, so a proof that no
        partition is at or below it may leave ``S`` out for good (the
        reduced-cost fixing of branch-and-price, on the roots).  The sets
        are listed while there are at most ``_MAX_COMBOS`` choices of the free
        roots (otherwise a root ``j`` is tested with the least other free
        roots); a root in no allowed set is dropped, which may make others
        mandatory (a unit left with one root), and the test repeats.  When no
        set is left, ``closed`` is set: no partition is at or below the
        threshold.  Returns how many roots were dropped.
        """
        dropped = 0
        while not self.closed:
            base = float(lbs[self.mandatory].sum())
            if not math.isfinite(base):
                return dropped
            allowed = self._combos(k)
            free = np.flatnonzero(self.active & ~self.mandatory)
            need = k - int(self.mandatory.sum())
            if need <= 0:
                if base > proof:
                    self.closed = True
                return dropped
            if allowed is not None:
                keep = np.zeros(self.roots.size, dtype=bool)
                mand = tuple(np.flatnonzero(self.mandatory).tolist())
                for c in allowed:
                    if base + float(lbs[list(c)].sum()) > proof:
                        self.forbidden.add(tuple(sorted(mand + c)))
                    else:
                        keep[list(c)] = True
                drop = free[~keep[free]]
                if drop.size == free.size:
                    self.closed = True
                    return dropped + int(drop.size)
            else:
                if free.size < need:
                    self.closed = True
                    return dropped
                # with root q in: its value plus the need - 1 least others
                vals = lbs[free]
                with np.errstate(invalid="ignore"):
                    totals = base + vals + _least_others(vals, need - 1)
                drop = free[np.isfinite(totals) & (totals > proof)]
            if drop.size == 0:
                return dropped
            self.active[drop] = False
            dropped += int(drop.size)
            self._mandatory()
        return dropped

    @staticmethod
    def _build(
        g: _Graph,
        u: np.ndarray,
        j: int,
        lo: np.ndarray,
        hi: np.ndarray,
        contiguity: bool,
        most: int,
    ) -> tuple[Any, np.ndarray]:
        import highspy

        from terrakit.design._highs import new_highs

        nu = u.size
        local = np.full(g.n, -1, dtype=np.int64)
        local[u] = np.arange(nu)
        inner = (local[g.eu] >= 0) & (local[g.ev] >= 0)
        eu, ev, ew = local[g.eu[inner]], local[g.ev[inner]], g.ew[inner]
        m = eu.size
        # edges from a member to a unit outside ok[:, j] are always cut
        out_w = np.zeros(nu)
        for a, b in ((g.eu, g.ev), (g.ev, g.eu)):
            edge = (local[a] >= 0) & (local[b] < 0)
            np.add.at(out_w, local[a[edge]], g.ew[edge])
        fixed = 0.5 * out_w
        arcs = np.concatenate([np.column_stack([eu, ev]), np.column_stack([ev, eu])])
        na = arcs.shape[0] if contiguity else 0
        iy, iz, jf = 0, nu, nu + m
        nv = nu + m + na
        rows_of = ArrayModel()  # only its rows: the bounds are set below
        rows_of.add_vars(nv)

        def add(
            r: np.ndarray,
            c: np.ndarray,
            v: np.ndarray,
            lo_: np.ndarray,
            hi_: np.ndarray,
        ) -> None:
            rows_of.add_rows(lo_.size, r, c, v, lo_, hi_)

        _set_rows(rows_of, iy, iz, eu, ev, g.values[u], lo, hi)
        jl = int(local[j])
        if contiguity:
            big = float(max(min(most, nu) - 1, 1))
            a = np.arange(na)
            _arc_capacity_rows(rows_of, jf, iy, arcs, big)
            # inflow - outflow >= y_i (i not the root); no flow into the root
            others = np.setdiff1d(np.arange(nu), [jl])
            keep = np.isin(arcs[:, 1], others)
            keep_o = np.isin(arcs[:, 0], others)
            pos = np.full(nu, -1, dtype=np.int64)
            pos[others] = np.arange(others.size)
            add(
                np.concatenate(
                    [pos[arcs[keep, 1]], pos[arcs[keep_o, 0]], np.arange(others.size)]
                ),
                np.concatenate([jf + a[keep], jf + a[keep_o], iy + others]),
                np.concatenate(
                    [
                        np.ones(int(keep.sum())),
                        -np.ones(int(keep_o.sum())),
                        -np.ones(others.size),
                    ]
                ),
                np.zeros(others.size),
                np.full(others.size, np.inf),
            )
            # a member other than the root has a member neighbour
            nb_r = np.concatenate([arcs[:, 0], np.arange(nu)])
            nb_c = np.concatenate([iy + arcs[:, 1], iy + np.arange(nu)])
            nb_v = np.concatenate([np.ones(2 * m), -np.ones(nu)])
            sel = np.isin(nb_r, others)
            add(
                pos[nb_r[sel]],
                nb_c[sel],
                nb_v[sel],
                np.zeros(others.size),
                np.full(others.size, np.inf),
            )
        csr, row_lo, row_hi = rows_of.matrix()
        mat = csr.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_ = nv
        lp.num_row_ = rows_of.n_rows
        cost = np.zeros(nv)
        cost[iz : iz + m] = 0.5 * ew
        lp.col_cost_ = cost
        lower = np.zeros(nv)
        upper = np.ones(nv)
        lower[iy + jl] = 1.0
        upper[iz : iz + m] = 1.0
        if contiguity:
            upper[jf:] = big
            # no flow into the root
            upper[jf + np.flatnonzero(arcs[:, 1] == jl)] = 0.0
        lp.col_lower_ = lower
        lp.col_upper_ = upper
        lp.row_lower_ = row_lo
        lp.row_upper_ = row_hi
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
        lp.a_matrix_.index_ = mat.indices.astype(np.int32)
        lp.a_matrix_.value_ = mat.data.astype(float)
        integ = [highspy.HighsVarType.kContinuous] * nv
        for i in range(nu):
            integ[i] = highspy.HighsVarType.kInteger
        lp.integrality_ = integ
        h = new_highs()
        h.passModel(lp)
        h.setOptionValue("mip_rel_gap", 1e-6)
        h.setOptionValue("mip_abs_gap", 1e-6)
        # no strong branching: these trees are many cheap nodes, and strong
        # branching took ~80 % of the LP iterations (WV, OK: 1.1-1.4x faster)
        h.setOptionValue("mip_pscost_minreliable", 0)
        # cuts at the root node only: the node cuts cost more LP time than
        # they save nodes; and no restarts after the root (captured AR / IA
        # calls, one thread: 67.0 / 50.7 s -> 49.0 / 39.0 s, the same optima)
        h.setOptionValue("mip_allow_cut_separation_at_nodes", False)
        h.setOptionValue("mip_allow_restart", False)
        return h, fixed

    def solve(
        self,
        pi: np.ndarray,
        time_limit: float,
        pool: list[np.ndarray],
        pool_costs: np.ndarray,
        k: int,
        proof: float | None = None,
    ) -> tuple[list[np.ndarray], float, float]:
        """Price every root within ``time_limit`` seconds.

        ``proof``: the value the distinct-roots total must exceed for the
        caller's proof.  While the roots' upper bounds still allow it, each
        root is priced with its cutoff lowered by an equal share of the slack
        (the upper-bound total minus ``proof``), so a root whose sets cannot
        beat that is settled without proving its exact minimum (early stop).

        Returns
        -------
        sets, least, total
            Sets found (each the best of its root below its cutoff); a lower
            bound on :math:`\\min_j z_j`; and a lower bound on
            :math:`\\sum_{j \\in M} z_j` plus the ``k - |M|`` least other
            :math:`z_j` (``M``: the roots every partition uses), which every
            partition's :math:`\\sum_D (c_D - \\pi(D))` is at least (its ``k``
            districts have ``k`` distinct roots).  ``-inf`` where a root got
            no bound in time.
        """
        import highspy

        t0 = time.perf_counter()
        nr = self.roots.size
        # upper bounds per root: the pool's columns are feasible sets
        ub = np.full(nr, math.inf)
        for q, col in enumerate(pool):
            t = self._root_of(col)
            if t >= 0:
                ub[t] = min(ub[t], float(pool_costs[q] - pi[col].sum()))
        found: list[np.ndarray] = []
        # a local search on these multipliers from the best pool columns
        rc = pool_costs - np.array([pi[c].sum() for c in pool])
        for q in np.argsort(rc)[:6].tolist():
            new = _local_search(
                self.g, pool[q], pi, self.lo, self.hi, self.allowed, self.contiguity
            )
            t = self._root_of(new)
            r = self.g.cost(new) - float(pi[new].sum())
            if t >= 0 and r < ub[t] - 1e-9:
                ub[t] = r
                found.append(new)
        free = self.active & ~self.mandatory
        need = k - int(self.mandatory.sum())
        order = np.lexsort((ub, free))  # the mandatory roots first
        order = order[self.active[order]]
        lbs = np.full(nr, -math.inf)
        lbs[~self.active] = math.inf
        final = ~self.active

        def total_of(vals: np.ndarray) -> float:
            """Least total over the root sets still allowed."""
            return self.least_total(vals, k)

        early = np.zeros(nr, dtype=bool)  # settled below a lowered cutoff
        aim = [proof is not None]

        def early_share() -> float:
            """Cutoff reduction per open root that still allows the proof."""
            if proof is None or not aim[0]:
                return 0.0
            est = total_of(np.where(final, lbs, ub))
            if not math.isfinite(est):
                return 0.0
            n_open = int((~final & self.mandatory).sum())
            n_open += min(need, int((~final & free).sum()))
            # each settled root's bound sits up to 1e-5 below its cutoff
            slack = est - proof - 2e-5 * (n_open + 1)
            return slack / n_open if slack > 0 and n_open else 0.0

        def price(t: int, limit: float) -> bool:
            """Price root ``t``; whether it finished (bound final)."""
            cutoff = ub[t]
            if free[t] and need > 0:
                others = np.sort(ub[free])
                cutoff = min(cutoff, float(others[min(need, others.size) - 1]))
            elif free[t]:
                final[t] = True
                return True  # no free root is needed: only the least matters
            share = early_share()
            cutoff -= share
            raise_ok = self.eliminating and bool(free[t])
            if proof is not None and raise_ok and need > 0 and ub[t] > cutoff:
                # raise the cutoff to where the root would be eliminated
                # (see :meth:`eliminate`): proving no set below it drops the
                # root for good, at the price of a slightly larger tree
                est = np.where(final, lbs, ub)
                base = float(est[self.mandatory].sum())
                idx = np.flatnonzero(free)
                head = _least_others(est[idx], need - 1)[np.searchsorted(idx, t)]
                drop_at = proof - base - head + _ELIMINATE_MARGIN
                if math.isfinite(drop_at) and cutoff < drop_at < ub[t]:
                    cutoff = drop_at
            cutoff = cutoff + 1e-7 if math.isfinite(cutoff) else math.inf
            u = self.members[t]
            h = self.models[t]
            nu = u.size
            h.changeColsCost(nu, np.arange(nu, dtype=np.int32), self.fixed[t] - pi[u])
            h.setOptionValue("objective_bound", cutoff)
            h.setOptionValue("time_limit", max(limit, 0.02))
            tr = time.perf_counter()
            h.run()
            st = h.getModelStatus()
            if st in (
                highspy.HighsModelStatus.kOptimal,
                highspy.HighsModelStatus.kInfeasible,
            ):
                self.last_seconds[t] = time.perf_counter() - tr
            info = h.getInfo()
            if _DEBUG:
                print(
                    f"  root {int(self.roots[t])} units={nu} ub={ub[t]:.3f} "
                    f"cutoff={cutoff:.3f} {st.name} "
                    f"obj={info.objective_function_value:.3f} "
                    f"dual={info.mip_dual_bound:.3f} nodes={info.mip_node_count} "
                    f"{time.perf_counter() - t0:.2f}s",
                    flush=True,
                )
            # HiGHS prunes within its tolerances of the cutoff
            cut = cutoff - 1e-5
            if st == highspy.HighsModelStatus.kInfeasible:
                lbs[t] = max(lbs[t], cut)  # no set below the cutoff (or none)
                final[t] = True
                early[t] = share > 0
                return True
            done = st == highspy.HighsModelStatus.kOptimal
            final[t] = done
            dual = float(info.mip_dual_bound)
            if done:
                dual = min(dual, float(info.objective_function_value))
            if math.isfinite(dual):
                lbs[t] = max(lbs[t], min(dual, cut))
            # capped by a lowered cutoff: settled early, not exact
            early[t] = share > 0 and done and dual > cut
            value = float(info.objective_function_value)
            if math.isfinite(value) and value < ub[t]:
                x = np.asarray(h.getSolution().col_value[:nu])
                mask = np.zeros(self.n, dtype=bool)
                mask[u[x > 0.5]] = True
                found.append(mask)
                ub[t] = value
            return done

        def run_pass(items: list[int], first: bool) -> list[int]:
            """Price ``items`` on ``self.workers`` threads (HiGHS releases the
            GIL); returns the roots stopped by their time share.  First pass:
            each root its share of the time left (at least 1.5x its last
            complete run; what a root does not use goes to the later ones);
            later passes: each root all the time left."""
            from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

            stopped: list[int] = []
            pending: dict[Any, int] = {}
            nxt = 0
            with ThreadPoolExecutor(self.workers) as pool_ex:
                while True:
                    while len(pending) < self.workers and nxt < len(items):
                        left = time_limit - (time.perf_counter() - t0)
                        if left <= 0.02:
                            nxt = len(items)
                            break
                        t = items[nxt]
                        share = left
                        if first:
                            share = max(
                                self.workers * left / (len(items) - nxt),
                                1.5 * float(self.last_seconds[t]),
                            )
                        nxt += 1
                        pending[pool_ex.submit(price, t, min(share, left))] = t
                    if not pending:
                        break
                    done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                    for fut in done:
                        t = pending.pop(fut)
                        if not fut.result():
                            stopped.append(t)
            return stopped

        # the roots stopped by their share in the first pass get the rest,
        # the weakest bound first
        stopped = run_pass(order.tolist(), True)
        run_pass(sorted(stopped, key=lambda s: lbs[s]), False)
        if proof is not None and early.any() and total_of(lbs) < proof:
            # the proof failed (a root beat its upper bound by more than the
            # slack): the roots settled early get their exact minimum
            aim[0] = False
            again = np.flatnonzero(early).tolist()
            early[again] = False
            final[again] = False
            run_pass(again, False)
        if proof is not None and self.eliminating and total_of(lbs) <= proof:
            # the proof failed: drop the roots that no partition at or below
            # the threshold uses (the rest must still be proved)
            self.eliminate(lbs, k, proof)
        self.history.append((pi.copy(), lbs.copy()))
        least = float(lbs[self.active].min()) if self.active.any() else math.inf
        # fewer roots than districts: no partition (inf)
        return found, least, total_of(lbs)

    def _root_of(self, mask: np.ndarray) -> int:
        """Index (in ``roots``) of the set's root, or -1."""
        inside = np.flatnonzero(mask)
        cand = np.flatnonzero(self.is_root[inside])
        if cand.size == 0:
            return -1
        # the member of highest rank: its ok column holds every member
        for c in cand.tolist():
            t = int(self.root_index[inside[c]])
            if not np.any(mask & ~self.okm[t]):
                return t
        return -1


def _least_others(vals: np.ndarray, count: int) -> np.ndarray:
    """For each entry, the sum of the ``count`` least *other* entries
    (``inf`` when fewer than ``count`` others exist)."""
    out = np.zeros(vals.size)
    if count <= 0:
        return out
    if vals.size <= count:
        return np.full(vals.size, math.inf)
    order = np.argsort(vals)
    least = vals[order]
    head = float(least[:count].sum())
    out[:] = head
    # an entry among the count least is replaced by the next one
    with np.errstate(invalid="ignore"):
        out[order[:count]] = head - least[:count] + least[count]
    return out


def _master(
    cols: list[np.ndarray], costs: np.ndarray, n: int, k: int
) -> tuple[float, np.ndarray, float]:
    """Restricted master LP: value, multipliers pi (cover rows), mu (count)."""
    c_count = len(cols)
    rows = np.concatenate([np.flatnonzero(c) for c in cols])
    cidx = np.concatenate([np.full(int(c.sum()), q) for q, c in enumerate(cols)])
    a = sp.csr_matrix((np.ones(rows.size), (rows, cidx)), shape=(n, c_count))
    a = sp.vstack([a, sp.csr_matrix(np.ones((1, c_count)))])
    art = sp.hstack([sp.eye(n + 1), -sp.eye(n + 1)])
    big = float(costs.sum() + 1.0) if costs.size else 1.0
    cost = np.concatenate([costs, np.full(2 * (n + 1), big)])
    res = linprog(
        cost,
        A_eq=sp.hstack([a, art]).tocsc(),
        b_eq=np.concatenate([np.ones(n), [float(k)]]),
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:
        raise RuntimeError(f"restricted master LP failed: {res.message}")
    duals = np.asarray(res.eqlin.marginals, dtype=float)
    return float(res.fun), duals[:n], float(duals[n])


def _best_partition(
    cols: list[np.ndarray], costs: np.ndarray, n: int, k: int, time_limit: float
) -> tuple[np.ndarray | None, float]:
    """Set-partitioning MIP over the pool: (labels, weighted cut) or None."""
    rows = np.concatenate([np.flatnonzero(c) for c in cols])
    cidx = np.concatenate([np.full(int(c.sum()), q) for q, c in enumerate(cols)])
    a = sp.csr_matrix((np.ones(rows.size), (rows, cidx)), shape=(n, len(cols)))
    a = sp.vstack([a, sp.csr_matrix(np.ones((1, len(cols))))])
    b = np.concatenate([np.ones(n), [float(k)]])
    res = milp(
        costs,
        constraints=LinearConstraint(a, b, b),
        integrality=np.ones(len(cols)),
        bounds=Bounds(0, 1),
        options={"time_limit": max(time_limit, 0.05), "disp": False},
    )
    if res.x is None:
        return None, math.inf
    pick = np.flatnonzero(res.x > 0.5)
    labels = np.full(n, -1, dtype=np.int64)
    for t, q in enumerate(pick.tolist()):
        labels[cols[q]] = t
    if (labels < 0).any():
        return None, math.inf
    return labels, float(costs[pick].sum())


def column_generation_bound(
    adjacency: sp.spmatrix,
    values: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    k: int,
    ok: np.ndarray,
    *,
    contiguity: bool = True,
    partitions: list[np.ndarray] | None = None,
    target: float | None = None,
    time_limit: float = 30.0,
    seed: int = 0,
    smoothing: float = 0.5,
    pricing_limit: float = 15.0,
    share_start: bool = False,
    pool_mip: float = 3.0,
    pricing: str = "roots",
    early_stop: bool = True,
    eliminate: bool = True,
    handoff: float | None = None,
) -> ColumnBound:
    """Lower bound on the cut edges by column generation (see the module Notes).

    Parameters
    ----------
    adjacency
        Symmetric ``(n, n)`` adjacency with edge weights.
    values
        ``(n, b)`` banded activities; ``lower``/``upper`` ``(b,)`` bands.
    k
        Number of districts.
    ok
        ``ok[i, j]``: unit ``i`` may join the district rooted at ``j``
        (:func:`terrakit.design.cutedges._pairs`); the pricing respects it.
    contiguity
        Whether districts must be connected (pricing and local search).
    partitions
        Feasible partitions (territory index per unit) whose districts seed
        the pool; at least one is needed for a feasible master.
    target
        Stop as soon as the bound reaches ``target`` (rounded up for integral
        weights): the incumbent's value proves it optimal.
    time_limit
        Seconds in all.
    seed
        Seed of the local search's random restarts.
    smoothing
        Wentges smoothing factor in ``[0, 1)`` for the exact pricing.
    pricing_limit
        Seconds per exact pricing call (all roots together) at most.
    pricing
        ``"roots"`` (default: one MIP per possible root, distinct-roots
        bound) or ``"flow"`` (one MIP over all roots, the earlier method).
    early_stop
        With ``pricing="roots"`` and a ``target``: settle each root as soon
        as its share of the bound that proves ``target`` is certified,
        instead of proving its exact minimum, while a proof is within reach
        of the call (see :meth:`_RootPricer.solve`).
    eliminate
        With ``pricing="roots"``, early stop and a ``target``: rule out the
        roots and root sets that no partition below the target uses (see the
        module Notes); ``False`` keeps every root.
    handoff
        Seconds after which the generation stops as soon as the root sets
        left can be listed, and returns them in ``root_sets`` for
        :func:`terrakit.design._cutedges_sets.prove_root_sets` (with root
        pricing, elimination and a ``target``); ``None``: never.
    share_start
        Start the smoothing centre at the incumbent's per-unit cost shares.
    pool_mip
        Seconds kept for the set-partitioning MIP over the pool at the end
        (run when the master LP is below the best partition's value).

    Returns
    -------
    ColumnBound

    Raises
    ------
    ValueError
        ``pricing`` is not ``"roots"`` or ``"flow"``.
    """
    if pricing not in ("roots", "flow"):
        raise ValueError(f"pricing must be 'roots' or 'flow', got {pricing!r}")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    values = np.asarray(values, dtype=float).reshape(ok.shape[0], -1)
    lo = np.asarray(lower, dtype=float).reshape(-1)
    hi = np.asarray(upper, dtype=float).reshape(-1)
    g = _Graph(adjacency, values)
    n = g.n
    integral = bool(np.allclose(g.ew, np.round(g.ew)))
    pool: dict[bytes, int] = {}
    cols: list[np.ndarray] = []
    costs_l: list[float] = []

    pricer: _Pricer | _RootPricer | None = None

    def add_col(mask: np.ndarray) -> bool:
        key = np.packbits(mask).tobytes()
        if key in pool:
            return False
        if isinstance(pricer, _RootPricer) and not pricer.active.all():
            t = pricer._root_of(mask)
            if t >= 0 and not pricer.active[t]:
                return False  # its root was eliminated (see below)
        pool[key] = len(cols)
        cols.append(mask.copy())
        costs_l.append(g.cost(mask))
        return True

    best_labels: np.ndarray | None = None
    best_value = math.inf
    for lab in partitions or []:
        lab = np.asarray(lab)
        value = sum(g.cost(lab == t) for t in range(k))  # halves add up
        if value < best_value:
            best_labels, best_value = lab.copy(), value
        for t in range(k):
            add_col(lab == t)
    info: dict[str, float] = {"iterations": 0.0, "exact_pricing": 0.0}
    if not cols:
        return ColumnBound(-math.inf, math.inf, False, None, math.inf, info)
    allowed_any = np.asarray(ok.any(axis=1), dtype=bool)
    bound = -math.inf
    pi_best: np.ndarray | None = None
    if best_labels is not None and share_start:
        # start the smoothing centre at the incumbent's cost shares: every
        # district's reduced cost is 0 there
        pi_best = np.zeros(n)
        for t in range(k):
            d = best_labels == t
            pi_best[d] = g.cost(d) / max(int(d.sum()), 1)
    lp_value = math.inf
    converged = False
    alpha = float(smoothing)

    def enough() -> bool:
        if bound == math.inf:
            return True  # no partition (below the target) is left
        if target is None or not math.isfinite(bound):
            return False
        b = math.ceil(bound - 1e-6) if integral else bound
        return b >= target - 1e-9

    def handed_off() -> bool:
        if handoff is None or target is None or not isinstance(pricer, _RootPricer):
            return False
        if time.perf_counter() - t0 < handoff or not pricer.history:
            return False
        need = k - int(pricer.mandatory.sum())
        return need <= 0 or pricer._combos(k) is not None

    cg_limit = time_limit - pool_mip
    while time.perf_counter() - t0 < cg_limit and not enough() and not handed_off():
        info["iterations"] += 1
        costs = np.asarray(costs_l)
        lp_value, pi, mu = _master(cols, costs, n, k)
        # heuristic pricing from the columns of least reduced cost
        rc = costs - np.array([pi[c].sum() for c in cols]) - mu
        seeds = np.argsort(rc)[:8].tolist()
        seeds += rng.choice(len(cols), size=min(4, len(cols)), replace=False).tolist()
        found = 0
        starts = [cols[q] for q in seeds]
        for q in seeds[:6]:
            starts.append(_kick(g, cols[q], rng, lo, hi, contiguity, allowed_any))
        for start in starts:
            new = _local_search(g, start, pi, lo, hi, allowed_any, contiguity)
            if g.cost(new) - pi[new].sum() - mu < -1e-6 and add_col(new):
                found += 1
        if not found:
            for q in seeds[:4]:
                for new in _anneal(
                    g, cols[q], pi, mu, lo, hi, allowed_any, contiguity, rng
                ):
                    found += add_col(new)
        if found:
            continue
        # exact pricing with smoothed multipliers
        if pricer is None:
            if pricing == "roots":
                pricer = _RootPricer(g, ok, lo, hi, contiguity, eliminate=eliminate)
            else:
                pricer = _Pricer(g, ok, lo, hi, contiguity)
        left = cg_limit - (time.perf_counter() - t0)
        if left <= 0.05:
            break
        sep = pi if pi_best is None else alpha * pi_best + (1 - alpha) * pi
        info["exact_pricing"] += 1
        tp = time.perf_counter()
        if isinstance(pricer, _RootPricer):
            proof = None
            if early_stop and target is not None:
                # the distinct-roots total that makes ceil(bound) reach target
                need_lb = target - 1 + 1e-5 if integral else target
                proof = float(need_lb - sep.sum())
            n_active = int(pricer.active.sum())
            sets, lb_price, lb_roots = pricer.solve(
                sep, min(pricing_limit, left), cols, np.asarray(costs_l), k, proof
            )
            if _DEBUG:
                print(
                    f"  roots active: {int(pricer.active.sum())} "
                    f"root sets ruled out: {len(pricer.forbidden)}",
                    flush=True,
                )
            if pricer.active.sum() < n_active:
                # roots that no partition below the target uses: their
                # columns leave the master, which then steers the
                # multipliers for the partitions that may still beat it
                info["roots_eliminated"] = float((~pricer.active).sum())
                keep = [
                    q
                    for q, c in enumerate(cols)
                    if (t := pricer._root_of(c)) < 0 or pricer.active[t]
                ]
                cols[:] = [cols[q] for q in keep]
                costs_l[:] = [costs_l[q] for q in keep]
                pool.clear()
                pool.update((np.packbits(c).tobytes(), q) for q, c in enumerate(cols))
            if pricer.closed:
                # no root set (or no root for some unit) is left: no
                # partition beats the target
                bound = float(target if target is not None else math.inf)
                break
            rcs = [g.cost(s) - pi[s].sum() - mu for s in sets]
            mask = sets[int(np.argmin(rcs))] if sets else None
            for s, r in zip(sets, rcs, strict=True):
                if r < -1e-6:
                    add_col(s)
        else:
            mask, lb_price = pricer.solve(sep, min(pricing_limit, left))
            lb_roots = -math.inf
        # Lagrangian bound: sum(pi) + k * min_D (c_D - pi(D)), or with the
        # k districts' distinct roots: sum(pi) + the least k root minima
        lb_lp = float(sep.sum()) + k * lb_price if lb_price > -math.inf else -math.inf
        lb = max(lb_lp, float(sep.sum()) + lb_roots)
        if _DEBUG:
            print(
                f"exact pricing: alpha={alpha} lp={lp_value:.3f} "
                f"lb_price={lb_price:.3f} mu={mu:.3f} LB={lb_lp:.3f} "
                f"LB(roots)={lb:.3f} "
                f"columns={len(cols)} {time.perf_counter() - tp:.2f}s "
                f"(at {time.perf_counter() - t0:.1f}s, "
                f"iteration {info['iterations']:.0f})",
                flush=True,
            )
        if lb > bound:
            bound, pi_best = lb, sep.copy()
        added = False
        if mask is not None and mask.any():
            if g.cost(mask) - pi[mask].sum() - mu < -1e-6:
                added = add_col(mask) or isinstance(pricer, _RootPricer)
                if added:
                    for new in _anneal(
                        g, mask, pi, mu, lo, hi, allowed_any, contiguity, rng, 600
                    ):
                        add_col(new)
        if not added:
            if alpha > 0 and pi_best is not None and sep is not pi:
                alpha = 0.0  # mis-pricing: price the master's own duals next
                continue
            # the master's duals price out: the LP is solved
            # (the per-root bounds sit up to 1e-5 below HiGHS's cutoffs)
            slack = 1e-6 + (2e-5 * k if isinstance(pricer, _RootPricer) else 0.0)
            if lb_lp >= lp_value - slack:
                converged = True
                bound = max(bound, min(lp_value, lb_lp))
                break
        else:
            alpha = float(smoothing)
    info["columns"] = float(len(cols))
    left = time_limit - (time.perf_counter() - t0)
    if pool_mip > 0 and lp_value < best_value - 1e-6 and left > 0.1 and not enough():
        labels, value = _best_partition(cols, np.asarray(costs_l), n, k, left)
        if labels is not None and value < best_value - 1e-9:
            best_labels, best_value = labels, value
            info["pool_improved"] = 1.0
    if isinstance(pricer, _RootPricer) and target is not None:
        if not pricer.active.all() or pricer.forbidden:
            # partitions through a root or root set ruled out cost at least
            # the target
            bound = min(bound, float(target))
    if integral and math.isfinite(bound):
        bound = float(math.ceil(bound - 1e-6))
    info["seconds"] = time.perf_counter() - t0
    state = None
    if isinstance(pricer, _RootPricer) and pricer.history and not enough():
        mand = tuple(np.flatnonzero(pricer.mandatory).tolist())
        need = k - len(mand)
        free = pricer._combos(k) if need > 0 else ([()] if need == 0 else [])
        state = RootSets(
            pricer.roots.copy(),
            pricer.active.copy(),
            pricer.mandatory.copy(),
            list(pricer.history),
            None if free is None else [tuple(sorted(mand + c)) for c in free],
        )
    return ColumnBound(
        float(bound),
        float(lp_value),
        converged,
        best_labels,
        float(best_value),
        info,
        state,
    )

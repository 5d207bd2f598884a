"""The territory design problem in matrix form, shared by every solver.

:class:`DesignProblem` is what :func:`terrakit.design.align` builds from a
Study (the geo path) and what the benchmark readers build from their files;
the exact MIP (:mod:`terrakit.design.mip`), CP-SAT and the heuristic
(:mod:`terrakit.design.heuristic`) all consume it and nothing else.

Fields (``n`` units, ``m`` center columns, ``k`` territories)
-------------------------------------------------------------
unit_ids : array (n,)
    The units' ids (any hashable), in matrix order.
activities : {name: float array (n,)}
    Activity measures per unit (workload, potential, demand...).
tolerance : {name: float}
    ``±τ`` balance band per activity (0.03 = ±3 % of the mean or target); an
    activity named here is banded, others are carried for reporting.
targets : float array (k,) or None
    Per-territory target shares (sum 1); ``None`` means ``1/k`` each.  The band
    of territory ``t`` is ``(1 ± τ) · share_t · total``.
lower, upper : {name: float array (k,)}
    Explicit absolute band limits; they override the tolerance band for that
    activity.  ``-inf`` / ``inf`` mean "no limit" (a capacity is an upper band
    with no lower band).
n_territories : int
    ``k``.
center_mode : "fixed" or "choose"
    ``"fixed"``: ``m == k`` and column ``t`` of ``cost`` is territory ``t``'s
    center (rep homes).  ``"choose"``: pick ``k`` of the ``m`` candidate
    columns (p-median style); territories are the chosen columns in increasing
    column order.  In ``"choose"`` mode bands must be equal for every territory.
cost : float array (n, m)
    Assignment cost of unit ``i`` to center column ``j``: activity-weighted
    squared distance (``objective="compactness"``) or travel time / distance
    (``"travel"``).  Also used to seed and order heuristics for the graph
    objectives.
center_units : int array (m,) or None
    The unit each center column sits in (its root for contiguity).  A unit
    that hosts an open center belongs to that center's territory when
    contiguity is on, and always with chosen centers (``"choose"``: an open
    center serves its own unit, :math:`x_{jj} = y_j`).  Required when
    ``contiguity`` is true.
center_ids : tuple (m,)
    Labels of the center columns (rep ids, or unit ids of candidates).
territory_ids : tuple (k,) or None
    Labels of the territories.  Fixed mode: defaults to ``center_ids``;
    choose mode: ``None`` means the chosen centers' ids are used.
adjacency : scipy.sparse CSR (n, n) or None
    Symmetric unit adjacency without self loops; values are edge weights
    (1 for plain contiguity).
contiguity : bool
    Every territory must be one connected piece of ``adjacency``.
locked : {unit index: center column}
    Units that must go to a center column (= territory in fixed mode).
lock_reasons : {unit index: str}
    Why (manager knowledge), kept in the provenance.
allowed : bool array (n, m) or None
    ``allowed[i, j]`` false forbids unit ``i`` at center ``j`` (max distance).
objective : "compactness" | "travel" | "cut_edges" | "diameter"
    What to minimise: ``Σ cost[i, center(i)]`` for the first two, the
    (weighted) number of adjacency edges between territories, or the largest
    ``unit_distance`` between two units of the same territory.
unit_distance : float array (n, n) or None
    Unit-to-unit distance, needed for ``"diameter"``.
coords : float array (n, 2) or None
    Planar coordinates (for plots and heuristic seeding only).
draws, draws_tolerance, draws_share
    Optional scenario balance: an array ``(n, S)`` of activity draws; the
    ``±draws_tolerance`` band must hold in at least ``draws_share`` of draws.
name : str
    Instance name.
budgets : {name: (cost (n, m), cap)}
    Side constraints ``Σ_i cost[i, center(i)] ≤ cap`` (a disruption budget:
    ``cost[i, j]`` is what moving unit ``i`` to center ``j`` disrupts).  The
    MIP adds one row each; the heuristic does not optimise them, but a
    solution that breaks one is reported as a violation (status
    ``"infeasible"``).  Empty by default.

A *solution* is an int array ``columns`` (n,) of center columns (0..m-1);
:meth:`DesignProblem.territory_index` maps it to territories ``0..k-1``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from terrakit._runargs import as_number, is_tolerance, whole_number
from terrakit.data.validation import check_draws_shape, first_few
from terrakit.exceptions import SpecificationError

__all__ = ["CenterMode", "DesignProblem", "Objective"]

#: how to join pieces of the unit graph, named in the contiguity errors
_LINK_HINT = (
    "Adjacency.with_links, or tk.data.geo.adjacency(units, snap_m=500) where "
    "polygons from different sources almost touch"
)

Objective = Literal["compactness", "travel", "cut_edges", "diameter"]
CenterMode = Literal["fixed", "choose"]
_OBJECTIVES = ("compactness", "travel", "cut_edges", "diameter")


def _frozen(a: Any, dtype: Any = None) -> np.ndarray:
    """A read-only array of ``a``: a copy, except when ``a`` already is a
    read-only array of that dtype owning its data (then nobody changes it
    behind the problem's back, and a large
    cost matrix, 0.5 GB for 32,845 units × 2,000 candidates, is not held
    twice)."""
    if (
        isinstance(a, np.ndarray)
        and not a.flags.writeable
        and a.base is None
        and (dtype is None or a.dtype == np.dtype(dtype))
    ):
        return a
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def _rid(v: Any) -> str:
    """repr of an id, numpy scalars shown as plain Python values."""
    return repr(v.item() if isinstance(v, np.generic) else v)


def _pct(x: float) -> str:
    return f"{100 * x:.3g} %"


def _check_draws_tolerance(value: Any) -> float:
    """``draws_tolerance`` as a float in ``[0, 1)``, the rule of the balance
    tolerances; a :class:`SpecificationError` otherwise (NaN, negative, ≥ 1,
    text that is no number, a bool)."""
    if not is_tolerance(value):
        raise SpecificationError(
            f"draws_tolerance must be a number in [0, 1) (0.05 is ±5 %), got "
            f"{value!r}; it is the ±band of the balance on draws around each "
            "territory's mean (None: the potential's balance tolerance)"
        )
    return as_number(value)


def _check_draws_share(value: Any) -> float:
    """``draws_share`` as a float in ``(0, 1]``; a :class:`SpecificationError`
    otherwise (text, a bool, NaN, out of range)."""
    number = isinstance(value, int | float | np.integer | np.floating)
    share = float(value) if number and not isinstance(value, bool) else math.nan
    if not 0.0 < share <= 1.0:
        text = isinstance(value, str) and 0.0 < as_number(value) <= 1.0
        raise SpecificationError(
            f"draws_share must be a number in (0, 1] (0.9: the band holds in 90 % "
            f"of the draws), got {value!r}"
            + (f"; pass the number {as_number(value):g}, not text" if text else "")
        )
    return share


def _unit_pairs(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, ids: Any) -> str:
    """The first three pairs of units named by id, with their values."""
    shown = ", ".join(
        f"{_rid(ids[i])}–{_rid(ids[j])}: {v:g}"
        for i, j, v in zip(
            rows[:3].tolist(), cols[:3].tolist(), vals[:3].tolist(), strict=True
        )
    )
    return shown + (", ..." if len(rows) > 3 else "")


def _find(parent: dict[int, int], x: int) -> int:
    """Root of ``x`` in the union-find ``parent`` (path halving)."""
    parent.setdefault(x, x)
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _union(parent: dict[int, int], a: int, b: int) -> None:
    parent[_find(parent, a)] = _find(parent, b)


def _check_edge_weights(adj: sp.csr_matrix, ids: np.ndarray) -> None:
    """Every stored edge weight of ``adj`` (diagonal and zeros dropped) finite
    and positive, or a :class:`SpecificationError` naming the first pairs:
    the cut-edge objective sums the weights, so a NaN made it NaN and a
    negative weight made cutting that edge pay."""
    w = adj.data
    bad = ~np.isfinite(w) | (w < 0)
    if not bad.any():
        return
    e = sp.triu(adj, k=1).tocoo()
    sel = ~np.isfinite(e.data) | (e.data < 0)
    if not sel.any():  # only below the diagonal: an asymmetric matrix
        e = sp.tril(adj, k=-1).tocoo()
        sel = ~np.isfinite(e.data) | (e.data < 0)
    raise SpecificationError(
        f"adjacency has {int(sel.sum())} edge weight(s) that are not finite "
        f"numbers > 0 ({_unit_pairs(e.row[sel], e.col[sel], e.data[sel], ids)}); "
        "edge weights count in the cut-edge objective and must be finite and "
        "positive. Fix: give those edges a weight > 0 (1 for plain "
        "contiguity), or drop them (0 or no entry: not adjacent)"
    )


def _check_unit_distance(dist: np.ndarray, ids: np.ndarray) -> None:
    """``unit_distance`` finite and ``>= 0``, or a :class:`SpecificationError`
    naming the first pairs (a NaN pair never conflicted in the diameter
    search, whatever its distance)."""
    bad = ~np.isfinite(dist) | (dist < 0)
    if not bad.any():
        return
    rows, cols = np.nonzero(bad)
    raise SpecificationError(
        f"unit_distance has {int(bad.sum())} entr{'y' if bad.sum() == 1 else 'ies'} "
        "that are not finite numbers >= 0 "
        f"({_unit_pairs(rows, cols, dist[rows, cols], ids)}); the diameter "
        "objective reads every pair. Fix: give every pair of units its "
        "distance (finite, >= 0; e.g. the shortest-path or great-circle km)"
    )


@dataclass(frozen=True, eq=False)
class DesignProblem:
    """A territory design problem in matrix form (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> p = DesignProblem(
    ...     unit_ids=np.array(["a", "b", "c", "d"]),
    ...     activities={"workload": np.array([1.0, 1.0, 1.0, 1.0])},
    ...     tolerance={"workload": 0.0},
    ...     n_territories=2,
    ...     cost=np.array([[0.0, 4.0], [1.0, 1.0], [1.0, 1.0], [4.0, 0.0]]),
    ... )
    >>> p.band_limits("workload")
    (array([2., 2.]), array([2., 2.]))
    >>> p.check()
    >>> p.evaluate(np.array([0, 0, 1, 1]))
    2.0
    """

    unit_ids: np.ndarray
    activities: Mapping[str, np.ndarray]
    n_territories: int
    cost: np.ndarray
    tolerance: Mapping[str, float] = field(default_factory=dict)
    targets: np.ndarray | None = None
    lower: Mapping[str, np.ndarray] = field(default_factory=dict)
    upper: Mapping[str, np.ndarray] = field(default_factory=dict)
    center_mode: CenterMode = "fixed"
    center_units: np.ndarray | None = None
    center_ids: tuple[Hashable, ...] | None = None
    territory_ids: tuple[Hashable, ...] | None = None
    adjacency: sp.csr_matrix | None = None
    contiguity: bool = False
    locked: Mapping[int, int] = field(default_factory=dict)
    lock_reasons: Mapping[int, str] = field(default_factory=dict)
    allowed: np.ndarray | None = None
    objective: Objective = "compactness"
    unit_distance: np.ndarray | None = None
    coords: np.ndarray | None = None
    draws: np.ndarray | None = None
    draws_tolerance: float | None = None
    draws_share: float = 0.9
    name: str = "problem"
    budgets: Mapping[str, tuple[np.ndarray, float]] = field(default_factory=dict)

    # -- validation of shapes and types (not of feasibility: see check()) ----------
    def __post_init__(self) -> None:
        ids = np.asarray(self.unit_ids)
        n = len(ids)
        object.__setattr__(self, "unit_ids", _frozen(ids))
        acts = {}
        for name, v in dict(self.activities).items():
            a = np.asarray(v, dtype=float).reshape(-1)
            if a.shape != (n,):
                raise ValueError(f"activity {name!r} has {a.size} values, expected {n}")
            if not np.all(np.isfinite(a)):
                raise SpecificationError(
                    f"activity {name!r} has non-finite values; fill or drop them"
                )
            acts[str(name)] = _frozen(a)
        object.__setattr__(self, "activities", acts)
        k = int(self.n_territories)
        if k < 1:
            raise SpecificationError(f"n_territories must be at least 1, got {k}")
        object.__setattr__(self, "n_territories", k)
        cost = np.asarray(self.cost, dtype=float)
        if cost.ndim != 2 or cost.shape[0] != n:
            raise ValueError(f"cost must be (n_units={n}, n_centers), got {cost.shape}")
        if not np.all(np.isfinite(cost)):
            raise SpecificationError("cost matrix has non-finite entries")
        object.__setattr__(self, "cost", _frozen(cost))
        m = cost.shape[1]
        if self.center_mode not in ("fixed", "choose"):
            raise ValueError(
                f"center_mode must be 'fixed' or 'choose', got {self.center_mode!r}"
            )
        if self.center_mode == "fixed" and m != k:
            raise SpecificationError(
                f"fixed centers need one cost column per territory: {m} columns "
                f"for {k} territories"
            )
        if self.objective not in _OBJECTIVES:
            raise ValueError(
                f"objective must be one of {_OBJECTIVES}, got {self.objective!r}"
            )
        given = {str(a): t for a, t in dict(self.tolerance).items()}
        tol = {a: as_number(t) for a, t in given.items()}
        for an in tol:
            if an not in acts:
                raise SpecificationError(
                    f"balance on {an!r} requested but there is no such activity; "
                    f"available: {sorted(acts)}"
                )
            if not is_tolerance(given[an]):
                raise SpecificationError(
                    f"tolerance for {an!r} must be a number in [0, 1) (0.05 is "
                    f"±5 %), got {given[an]!r}"
                )
        object.__setattr__(self, "tolerance", tol)
        for attr in ("lower", "upper"):
            d = {}
            for an, v in dict(getattr(self, attr)).items():
                if an not in acts:
                    raise SpecificationError(f"{attr} band on unknown activity {an!r}")
                arr = np.broadcast_to(np.asarray(v, dtype=float), (k,))
                if np.isnan(arr).any():
                    bad = np.flatnonzero(np.isnan(arr))
                    raise SpecificationError(
                        f"{attr} band on {an!r} is NaN for {bad.size} of the {k} "
                        f"territories (positions {', '.join(map(str, bad[:5]))}"
                        + (" ..." if bad.size > 5 else "")
                        + "); give a number, or "
                        + ("-inf" if attr == "lower" else "inf")
                        + " for no limit"
                    )
                d[str(an)] = _frozen(arr)
            object.__setattr__(self, attr, d)
        if self.targets is not None:
            tg = np.asarray(self.targets, dtype=float).reshape(-1)
            if tg.shape != (k,):
                raise SpecificationError(
                    f"targets has {tg.size} shares but there are {k} territories"
                )
            object.__setattr__(self, "targets", _frozen(tg))
        cu = self.center_units
        if cu is not None:
            cu = np.asarray(cu, dtype=np.int64).reshape(-1)
            if cu.shape != (m,):
                raise ValueError(f"center_units must have {m} entries, got {cu.size}")
            if cu.size and (cu.min() < 0 or cu.max() >= n):
                raise ValueError("center_units must be unit indices in [0, n)")
            object.__setattr__(self, "center_units", _frozen(cu))
        cids = self.center_ids
        if cids is None:
            if cu is not None:
                cids = tuple(ids[cu].tolist())
            else:
                cids = tuple(f"C{j + 1}" for j in range(m))
        cids = tuple(cids)
        if len(cids) != m:
            raise ValueError(f"center_ids must have {m} entries, got {len(cids)}")
        object.__setattr__(self, "center_ids", cids)
        tids = self.territory_ids
        if tids is None and self.center_mode == "fixed":
            tids = cids
        if tids is not None:
            tids = tuple(tids)
            if len(tids) != k:
                raise ValueError(
                    f"territory_ids must have {k} entries, got {len(tids)}"
                )
        object.__setattr__(self, "territory_ids", tids)
        if self.adjacency is not None:
            adj = sp.csr_matrix(self.adjacency, dtype=float)
            if adj.shape != (n, n):
                raise ValueError(f"adjacency must be ({n}, {n}), got {adj.shape}")
            adj = adj.tolil()
            adj.setdiag(0)
            adj = adj.tocsr()
            adj.eliminate_zeros()
            _check_edge_weights(adj, ids)
            if (abs(adj - adj.T) > 1e-12).nnz:
                raise ValueError("adjacency must be symmetric")
            adj.sort_indices()
            object.__setattr__(self, "adjacency", adj)
        if self.contiguity:
            if self.adjacency is None:
                raise SpecificationError("contiguity=True needs an adjacency matrix")
            if self.center_units is None:
                raise SpecificationError(
                    "contiguity=True needs center_units (the unit of each center)"
                )
        locked = {int(i): int(j) for i, j in dict(self.locked).items()}
        for i, j in locked.items():
            if not (0 <= i < n) or not (0 <= j < m):
                raise SpecificationError(
                    f"lock {i} → {j} is out of range ({n} units, {m} centers)"
                )
        object.__setattr__(self, "locked", locked)
        object.__setattr__(
            self, "lock_reasons", {int(i): str(r) for i, r in self.lock_reasons.items()}
        )
        if self.allowed is not None:
            al = np.asarray(self.allowed, dtype=bool)
            if al.shape != (n, m):
                raise ValueError(f"allowed must be ({n}, {m}), got {al.shape}")
            object.__setattr__(self, "allowed", _frozen(al))
        for attr, shape in (("unit_distance", (n, n)), ("coords", (n, 2))):
            v = getattr(self, attr)
            if v is not None:
                arr = np.asarray(v, dtype=float)
                if arr.shape != shape:
                    raise ValueError(f"{attr} must be {shape}, got {arr.shape}")
                if attr == "unit_distance":
                    _check_unit_distance(arr, ids)
                object.__setattr__(self, attr, _frozen(arr))
        if self.objective == "diameter" and self.unit_distance is None:
            raise SpecificationError('objective="diameter" needs unit_distance')
        if self.objective == "cut_edges" and self.adjacency is None:
            raise SpecificationError('objective="cut_edges" needs an adjacency')
        if self.draws is not None:
            dr = np.asarray(self.draws, dtype=float)
            check_draws_shape(dr, n)
            if self.draws_tolerance is None:
                raise SpecificationError("draws given without draws_tolerance")
            object.__setattr__(
                self, "draws_tolerance", _check_draws_tolerance(self.draws_tolerance)
            )
            object.__setattr__(
                self, "draws_share", _check_draws_share(self.draws_share)
            )
            object.__setattr__(self, "draws", _frozen(dr))
        budgets = {}
        for bn, spec in dict(self.budgets).items():
            bcost, cap = spec
            bc = np.asarray(bcost, dtype=float)
            if bc.shape != (n, m):
                raise ValueError(
                    f"budget {bn!r}: cost must be ({n}, {m}), got {bc.shape}"
                )
            if not np.all(np.isfinite(bc)):
                raise SpecificationError(f"budget {bn!r} has non-finite costs")
            cap = float(cap)
            if not np.isfinite(cap):
                raise SpecificationError(f"budget {bn!r} needs a finite cap, got {cap}")
            budgets[str(bn)] = (_frozen(bc), cap)
        object.__setattr__(self, "budgets", budgets)

    # -- sizes --------------------------------------------------------------------
    @property
    def n_units(self) -> int:
        """Number of units ``n``."""
        return len(self.unit_ids)

    @property
    def n_centers(self) -> int:
        """Number of center columns ``m``."""
        return int(self.cost.shape[1])

    @property
    def banded(self) -> list[str]:
        """Activities with a band (tolerance or explicit limits), in a stable order."""
        names = list(self.tolerance)
        names += [a for a in self.lower if a not in names]
        names += [a for a in self.upper if a not in names]
        return names

    @property
    def shares(self) -> np.ndarray:
        """Target share per territory (``1/k`` each without targets)."""
        if self.targets is None:
            return np.full(self.n_territories, 1.0 / self.n_territories)
        return np.asarray(self.targets)

    def replace(self, **changes: Any) -> DesignProblem:
        """A copy with some fields changed (the problem itself is immutable)."""
        return dataclasses.replace(self, **changes)

    def pieces(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Independent parts of a contiguous problem with fixed centers.

        With contiguity every territory lies inside one connected piece of the
        adjacency, so the pieces are separate problems, coupled only by
        side budgets or scenario draws.  Returns ``(units, centers)`` index
        arrays per piece that holds a center (sorted), or one part holding
        everything when the problem does not split.
        """
        n, m = self.n_units, self.n_centers
        whole = [(np.arange(n), np.arange(m))]
        if (
            not self.contiguity
            or self.center_mode != "fixed"
            or self.budgets
            or self.draws is not None
        ):
            return whole
        assert self.adjacency is not None and self.center_units is not None
        ncomp, comp = connected_components(self.adjacency, directed=False)
        if ncomp == 1:
            return whole
        ccomp = comp[np.asarray(self.center_units)]
        out = []
        for c in np.unique(ccomp):
            out.append((np.flatnonzero(comp == c), np.flatnonzero(ccomp == c)))
        return out if len(out) > 1 else whole

    def restrict(self, units: np.ndarray, centers: np.ndarray) -> DesignProblem:
        """The problem on some units and fixed centers, bands kept as absolute limits.

        Each kept territory keeps its own lower and upper limits (computed on
        the whole problem, explicit in the part; the tolerances stay for the
        messages), so an alignment of the part meets exactly the bands it
        meets in the whole.  Used to solve the pieces of
        :meth:`pieces` one by one.
        """
        if self.center_mode != "fixed":
            raise ValueError("restrict() needs fixed centers")
        if self.budgets or self.draws is not None:
            raise ValueError(
                "restrict() cannot split side budgets or scenario draws, which "
                "couple every territory"
            )
        units = np.asarray(units, dtype=np.int64)
        centers = np.asarray(centers, dtype=np.int64)
        pos = np.full(self.n_units, -1, dtype=np.int64)
        pos[units] = np.arange(units.size)
        cpos = np.full(self.n_centers, -1, dtype=np.int64)
        cpos[centers] = np.arange(centers.size)
        limits = {a: self.band_limits(a) for a in self.banded}
        ix = np.ix_(units, units)
        locked = {
            int(pos[i]): int(cpos[j])
            for i, j in self.locked.items()
            if pos[i] >= 0 and cpos[j] >= 0
        }
        return dataclasses.replace(
            self,
            unit_ids=self.unit_ids[units],
            activities={a: v[units] for a, v in self.activities.items()},
            n_territories=int(centers.size),
            cost=self.cost[np.ix_(units, centers)],
            targets=None,
            lower={a: lo[centers] for a, (lo, _) in limits.items()},
            upper={a: hi[centers] for a, (_, hi) in limits.items()},
            center_units=None
            if self.center_units is None
            else pos[np.asarray(self.center_units)[centers]],
            center_ids=tuple(self.center_ids[j] for j in centers),  # type: ignore[index]
            territory_ids=None
            if self.territory_ids is None
            else tuple(self.territory_ids[j] for j in centers),
            adjacency=None if self.adjacency is None else self.adjacency[ix],
            locked=locked,
            lock_reasons={
                int(pos[i]): r for i, r in self.lock_reasons.items() if pos[i] >= 0
            },
            allowed=None
            if self.allowed is None
            else self.allowed[np.ix_(units, centers)],
            unit_distance=None
            if self.unit_distance is None
            else self.unit_distance[ix],
            coords=None if self.coords is None else self.coords[units],
        )

    # -- bands ----------------------------------------------------------------------
    def band_limits(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper limit per territory (k,) for activity ``name``.

        Explicit ``lower``/``upper`` win; else ``(1 ± τ) · share_t · total``;
        an unbanded activity gets ``(-inf, inf)``.
        """
        k = self.n_territories
        lo = np.full(k, -np.inf)
        hi = np.full(k, np.inf)
        if name in self.tolerance:
            tau = self.tolerance[name]
            mean = self.shares * float(self.activities[name].sum())
            lo, hi = (1.0 - tau) * mean, (1.0 + tau) * mean
        if name in self.lower:
            lo = np.asarray(self.lower[name], dtype=float).copy()
        if name in self.upper:
            hi = np.asarray(self.upper[name], dtype=float).copy()
        return lo, hi

    def bands(self) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        """``(name, values (n,), lower (k,), upper (k,))`` for every banded activity."""
        out = []
        for a in self.banded:
            lo, hi = self.band_limits(a)
            out.append((a, np.asarray(self.activities[a]), lo, hi))
        return out

    def draw_limits(self) -> tuple[np.ndarray, np.ndarray]:
        """Scenario band ``(lower, upper)`` arrays ``(S, k)`` for ``draws``."""
        if self.draws is None or self.draws_tolerance is None:
            raise ValueError("this problem has no draws")
        tot = np.asarray(self.draws).sum(axis=0)  # (S,)
        mean = tot[:, None] * self.shares[None, :]
        tau = float(self.draws_tolerance)
        return (1 - tau) * mean, (1 + tau) * mean

    # -- solutions ----------------------------------------------------------------
    def check_start(self, start: Any) -> np.ndarray:
        """A warm start (a center column per unit) as an int array, checked.

        Raises
        ------
        SpecificationError
            ``start`` is not one entry per unit (its length and the number of
            units are named), or an entry is not a whole number in
            ``[0, n_centers)`` (the first units and values are named): a
            plan of the wrong length crashed the cut-edge model and was
            dropped without a word by the others.

        Examples
        --------
        >>> import numpy as np
        >>> p = DesignProblem.from_cost_matrix(np.zeros((3, 2)), {"w": [1, 1, 1]})
        >>> p.check_start([0, 1.0, 1]).tolist()
        [0, 1, 1]
        """
        n, m = self.n_units, self.n_centers
        fix = (
            f"Fix: pass a center column (0..{m - 1}) per unit in the problem's "
            "unit order, e.g. the columns of an earlier result (result.columns)"
        )
        try:
            raw = np.asarray(start)
        except ValueError:
            raw = np.asarray(start, dtype=object)
        if raw.ndim != 1 or raw.shape[0] != n:
            size = raw.size if raw.ndim != 1 else raw.shape[0]
            shape = "" if raw.ndim == 1 else f" (shape {raw.shape})"
            raise SpecificationError(
                f"start has {size} entries{shape} for the {n} units of problem "
                f"{self.name!r}: it must give one center column per unit. {fix}"
            )
        if raw.dtype.kind in "iu":
            cols = raw.astype(np.int64)
            bad = (cols < 0) | (cols >= m)
        else:
            whole = [whole_number(v) for v in raw.tolist()]
            bad = np.array([w is None or not 0 <= w < m for w in whole], dtype=bool)
            cols = np.array([-1 if w is None else w for w in whole], dtype=np.int64)
        if bad.any():
            where = np.flatnonzero(bad)
            # the entries as given (a list [0, 9, 1.5] is not shown as floats)
            given = raw if isinstance(start, np.ndarray) else list(start)
            shown = ", ".join(
                f"unit {_rid(self.unit_ids[i])}: {_rid(given[i])}"
                for i in where[:3].tolist()
            )
            cids = set(self.center_ids or ())
            named = any(given[i] in cids for i in where[:3].tolist())
            raise SpecificationError(
                f"start must hold whole center columns in [0, {m}); "
                f"{where.size} of its {n} entries are not ({shown}"
                f"{', ...' if where.size > 3 else ''})"
                + ("; those are center ids, not their columns" if named else "")
                + f". {fix}"
            )
        return cols

    def territory_index(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Territory index (n,) and the center column of each territory (k,).

        Fixed mode: the territory is the column.  Choose mode: the used columns,
        sorted, are territories ``0..k'-1``.
        """
        cols = np.asarray(columns, dtype=np.int64)
        if self.center_mode == "fixed":
            return cols, np.arange(self.n_territories)
        used = np.unique(cols)
        return np.searchsorted(used, cols), used

    def territory_names(self, used: np.ndarray) -> list[Hashable]:
        """Ids of the territories whose center columns are ``used`` (as
        :meth:`territory_index` returns them): ``territory_ids`` when every
        territory is used, else the used centers' ids."""
        if self.territory_ids is not None and len(used) == self.n_territories:
            return list(self.territory_ids)
        cids = self.center_ids or ()
        return [cids[j] for j in used]

    def territory_sums(self, columns: np.ndarray, name: str) -> np.ndarray:
        """Activity ``name`` summed per territory (k,) for a solution."""
        terr, used = self.territory_index(columns)
        k = max(self.n_territories, len(used))
        return np.bincount(terr, weights=self.activities[name], minlength=k)

    def evaluate(self, columns: np.ndarray) -> float:
        """Objective value of a solution (``columns``: center column per unit)."""
        cols = np.asarray(columns, dtype=np.int64)
        if self.objective in ("compactness", "travel"):
            return float(self.cost[np.arange(self.n_units), cols].sum())
        terr, _ = self.territory_index(cols)
        if self.objective == "cut_edges":
            assert self.adjacency is not None
            a = sp.triu(self.adjacency, k=1).tocoo()
            diff = terr[a.row] != terr[a.col]
            return float(a.data[diff].sum())
        assert self.unit_distance is not None
        d = np.asarray(self.unit_distance)
        best = 0.0
        for t in np.unique(terr):
            idx = np.flatnonzero(terr == t)
            best = max(best, float(d[np.ix_(idx, idx)].max()))
        return best

    def violations(self, columns: np.ndarray, *, rtol: float = 1e-9) -> list[str]:
        """Human-readable list of broken constraints (empty: feasible)."""
        cols = np.asarray(columns, dtype=np.int64)
        out: list[str] = []
        n, m, k = self.n_units, self.n_centers, self.n_territories
        if cols.shape != (n,) or (n and (cols.min() < 0 or cols.max() >= m)):
            return [f"columns must be {n} center indices in [0, {m})"]
        terr, used = self.territory_index(cols)
        names = [_rid(t) for t in self.territory_names(used)]
        if self.center_mode == "choose" and len(used) > k:
            out.append(f"{len(used)} centers used, at most {k} allowed")
        # chosen centers, fewer used than territories: the rest are empty
        names += [f"(empty territory {t + 1})" for t in range(len(names), k)]
        for a, _v, lo, hi in self.bands():
            s = self.territory_sums(cols, a)
            for t in range(min(len(s), k)):
                slack = rtol * max(1.0, abs(hi[t]) if np.isfinite(hi[t]) else 1.0)
                if s[t] > hi[t] + slack or s[t] < lo[t] - slack:
                    off = s[t] - hi[t] if s[t] > hi[t] else lo[t] - s[t]
                    edge = hi[t] if s[t] > hi[t] else lo[t]
                    how = "above" if s[t] > hi[t] else "below"
                    rel = f"{_pct(off / abs(edge))} " if edge else ""
                    out.append(
                        f"{a} of territory {names[t]} is {s[t]:.6g}, outside "
                        f"[{lo[t]:.6g}, {hi[t]:.6g}] ({rel}{how} the band)"
                    )
        cids = self.center_ids or ()
        for i, j in self.locked.items():
            if cols[i] != j:
                out.append(
                    f"unit {_rid(self.unit_ids[i])} is locked to {_rid(cids[j])} "
                    f"but assigned to {_rid(cids[cols[i]])}"
                )
        if self.allowed is not None:
            bad = ~self.allowed[np.arange(n), cols]
            if bad.any():
                out.append(f"{int(bad.sum())} units at a forbidden center")
        for bn, used_, cap in self.budget_use(cols):
            if used_ > cap + rtol * max(1.0, abs(cap)):
                out.append(f"budget {bn!r} used {used_:.6g}, above its cap {cap:.6g}")
        if self.draws is not None and self.draws_tolerance is not None:
            good, need = self.draws_met(cols)
            if good < need:
                out.append(
                    f"scenario balance (±{_pct(self.draws_tolerance)} on draws) holds "
                    f"in {good} of {np.asarray(self.draws).shape[1]} draws, fewer "
                    f"than the {need} required by draws_share={self.draws_share:g}"
                )
        if self.contiguity:
            assert self.adjacency is not None and self.center_units is not None
            for t in range(len(used)):
                idx = np.flatnonzero(terr == t)
                sub = self.adjacency[idx][:, idx]
                nc, _ = connected_components(sub, directed=False)
                if nc > 1:
                    out.append(f"territory {names[t]} has {nc} pieces")
        if self.center_units is not None and (
            self.contiguity or self.center_mode == "choose"
        ):
            # the root of a contiguous territory; a chosen center serves its unit
            what = "the root" if self.contiguity else "the chosen center"
            for j in used:
                root = int(self.center_units[j])
                if cols[root] != j:
                    out.append(
                        f"center unit {_rid(self.unit_ids[root])} ({what} of "
                        f"{_rid(cids[j])}) not in its territory: assigned to "
                        f"{_rid(cids[cols[root]])}"
                    )
        return out

    def draws_met(self, columns: np.ndarray, *, rtol: float = 1e-9) -> tuple[int, int]:
        """``(good, need)``: draws in which every territory is within the draw
        band, and how many ``draws_share`` requires (``(0, 0)`` without draws)."""
        if self.draws is None or self.draws_tolerance is None:
            return 0, 0
        _, ok = self.draw_sums(columns, rtol=rtol)
        need = int(np.ceil(self.draws_share * ok.shape[1] - 1e-9))
        return int(ok.all(axis=0).sum()), need

    def draw_sums(
        self, columns: np.ndarray, *, rtol: float = 1e-9
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(sums, within)``, both ``(n_territories, draws)``: each
        territory's drawn activity per draw, and whether it lies in the draw
        band (with an allowance of ``rtol`` relative to the band's upper
        edge).  Requires draws."""
        terr, used = self.territory_index(np.asarray(columns, dtype=np.int64))
        draws = np.asarray(self.draws)
        k = max(self.n_territories, len(used))
        sums = np.zeros((k, draws.shape[1]))
        np.add.at(sums, terr, draws)
        sums = sums[: self.n_territories]
        lo, hi = self.draw_limits()
        slack = rtol * np.maximum(1.0, np.abs(hi.T))
        return sums, (sums >= lo.T - slack) & (sums <= hi.T + slack)

    def budget_use(self, columns: np.ndarray) -> list[tuple[str, float, float]]:
        """``(name, used, cap)`` of every budget for a solution."""
        cols = np.asarray(columns, dtype=np.int64)
        rows = np.arange(self.n_units)
        return [
            (bn, float(np.asarray(bc)[rows, cols].sum()), float(cap))
            for bn, (bc, cap) in self.budgets.items()
        ]

    # -- pre-solve checks -----------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`SpecificationError` when the problem is impossible on its face.

        Checks, each with the numbers in the message: more territories than
        units (or candidate centers); target shares not summing to 1; with
        chosen centers, locks to more distinct centers than territories, a
        locked-to center whose own unit is locked elsewhere, fewer
        candidates that may open (their own unit not locked to another
        center) than territories, and a band (lower or upper limits) that
        differs between territories; a budget that the locks and allowed
        centers alone exceed; a banded activity whose total is 0; one unit
        above the upper band of every territory it may join (naming its lock
        or the maximum distance when they restrict it); locked units already
        above a territory's upper band (with its home unit under contiguity,
        or, with chosen centers, the locked-to center's own unit); a fixed
        center whose allowed units and locks carry less than its lower band;
        the total outside what the bands can hold; with chosen centers, more
        units above half the upper band than territories (no two of them fit
        in one); a unit with no allowed center; with contiguity, a fixed
        center's root unit (its home unit) locked to another center or
        beyond its own center's maximum distance, a unit (island or
        detached piece) whose connected component holds no center it may
        reach, a locked unit that cannot reach its center's root unit but
        through units locked elsewhere (or other territories' roots), and
        more fixed centers than units in a component can host.
        """
        n, m, k = self.n_units, self.n_centers, self.n_territories
        if k > n:
            raise SpecificationError(
                f"{k} territories requested but there are only {n} units; "
                f"use n_territories ≤ {n}"
            )
        if self.center_mode == "choose" and k > m:
            raise SpecificationError(
                f"{k} territories requested but only {m} candidate centers"
            )
        if self.targets is not None:
            tg = np.asarray(self.targets)
            if not np.all(np.isfinite(tg)) or np.any(tg <= 0):
                bad = np.flatnonzero(~(np.isfinite(tg) & (tg > 0)))
                names = self.territory_ids or tuple(range(tg.size))
                raise SpecificationError(
                    "targets must be finite positive shares; "
                    + ", ".join(f"{_rid(names[j])} has {tg[j]:.4g}" for j in bad[:5])
                    + (" ..." if bad.size > 5 else "")
                )
            if abs(tg.sum() - 1.0) > 1e-6:
                raise SpecificationError(
                    f"targets must sum to 1 (they are shares of the total), "
                    f"they sum to {tg.sum():.6g}; divide them by their sum"
                )
            if self.center_mode == "choose" and np.ptp(tg) > 1e-12:
                raise SpecificationError(
                    "unequal targets need fixed centers (one per territory); "
                    "with chosen centers every territory has the same band"
                )
        if self.center_mode == "choose" and self.locked:
            self._check_chosen_locks()
        allowed = np.ones((n, m), dtype=bool) if self.allowed is None else self.allowed
        if self.contiguity and self.center_mode == "fixed":
            self._check_roots(allowed)
        for i, j in self.locked.items():
            if not allowed[i, j]:
                raise SpecificationError(
                    f"unit {_rid(self.unit_ids[i])} is locked to center "
                    f"{_rid(self.center_ids[j])} beyond the maximum distance"  # type: ignore[index]
                )
        allowed = allowed.copy()
        for i, j in self.locked.items():
            allowed[i, :] = False
            allowed[i, j] = True
        none_ok = np.flatnonzero(~allowed.any(axis=1))
        if none_ok.size:
            ids = ", ".join(_rid(x) for x in self.unit_ids[none_ok[:5]])
            raise SpecificationError(
                f"{none_ok.size} units cannot be assigned to any center within the "
                f"maximum distance (e.g. {ids}); raise max_distance_km"
            )
        for bn, (bc, cap) in self.budgets.items():
            least = float(np.where(allowed, bc, np.inf).min(axis=1).sum())
            if least > cap * (1 + 1e-12) + 1e-12:
                raise SpecificationError(
                    f"budget {bn!r} is impossible: the locks and allowed centers "
                    f"alone use {least:.6g}, above its cap {cap:.6g}; raise the cap "
                    "or unlock units"
                )
        for a, v, lo, hi in self.bands():
            total = float(v.sum())
            if a in self.tolerance and total == 0.0:
                raise SpecificationError(
                    f"balance on {a!r} is meaningless: its total over all units is 0"
                )
            if self.center_mode == "choose":
                for side, lim in (("lower", lo), ("upper", hi)):
                    if (
                        np.ptp(lim) > 1e-9 * max(1, abs(lim[0]))
                        if np.all(np.isfinite(lim))
                        else np.any(np.isfinite(lim))
                    ):
                        raise SpecificationError(
                            f"band on {a!r} differs between territories (its "
                            f"{side} limits run from {lim.min():.6g} to "
                            f"{lim.max():.6g}); with chosen centers every "
                            "territory needs the same band: give every "
                            f"territory the same {side} limit, or use fixed "
                            "centers (one per territory)"
                        )
            tau = self.tolerance.get(a)
            band_txt = f"±{_pct(tau)} {a} balance" if tau is not None else f"{a} band"
            # a unit alone above the upper band of every center it may join
            if self.center_mode == "fixed":
                hi_unit = np.where(allowed, hi[None, :], -np.inf).max(axis=1)
            else:
                hi_unit = np.full(n, hi.max())
            over = v > hi_unit * (1 + 1e-12) + 1e-12
            if over.any():
                i = int(np.argmax(np.where(over, v / np.maximum(hi_unit, 1e-300), -1)))
                mean = total / k
                explicit = a in self.upper
                limit = (
                    f"the {1 + tau:.4g} × mean limit ({hi_unit[i]:.6g})"
                    if tau is not None and self.targets is None and not explicit
                    else f"the largest upper band {hi_unit[i]:.6g}"
                )
                # an explicit capacity is absolute: no tolerance to loosen, and
                # it does not grow with fewer territories
                fix = (
                    f"raise the capacity (upper) to ≥ {v[i]:.6g}"
                    + (
                        " for a territory it may join"
                        if self.center_mode == "fixed"
                        else ""
                    )
                    + " or split the unit"
                    if explicit
                    else "loosen the tolerance, split the unit or use fewer territories"
                )
                may = np.flatnonzero(allowed[i])
                if self.center_mode == "fixed" and may.size < m:
                    # a lock or the maximum distance leaves it fewer territories
                    # than all: name them and the way to widen them
                    tids = self.territory_ids or ()
                    if i in self.locked:
                        t = self.locked[i]
                        limit = (
                            f"the upper limit {hi[t]:.6g} of territory "
                            f"{_rid(tids[t])}, to which it is locked"
                        )
                        widen = "unlock it"
                    elif may.size == 1:
                        t = int(may[0])
                        limit = (
                            f"the upper limit {hi[t]:.6g} of territory "
                            f"{_rid(tids[t])}, the only one within the maximum "
                            "distance"
                        )
                        widen = "raise max_distance_km"
                    else:
                        limit = (
                            f"the largest upper limit {hi_unit[i]:.6g} of the "
                            f"{may.size} territories within the maximum distance"
                        )
                        widen = "raise max_distance_km"
                    fix = (
                        f"{widen}, raise the capacity (upper) to ≥ {v[i]:.6g} or "
                        "split the unit"
                        if explicit
                        else f"{widen}, loosen the tolerance or split the unit"
                    )
                raise SpecificationError(
                    f"{band_txt} is impossible: unit {_rid(self.unit_ids[i])} alone "
                    f"carries {v[i]:.6g} {a} ({_pct(v[i] / total) if total else '-'} "
                    f"of the total, {v[i] / mean:.4g} × the mean), above {limit}; "
                    f"{fix}"
                )
            # locked units already above a band (with contiguity each
            # territory also holds its center's unit, the root of its flow;
            # with chosen centers a locked-to center is open and serves its
            # own unit)
            if self.locked or (
                self.center_mode == "fixed"
                and self.contiguity
                and self.center_units is not None
            ):
                pinned, roots = self._pinned()
                fixed = self.center_mode == "fixed"
                # with chosen centers every territory has the same band
                hi_col = hi if fixed else np.full(m, hi.max())
                sums = np.zeros(m)
                for i, j in pinned.items():
                    sums[j] += v[i]
                bad = np.flatnonzero(sums > hi_col * (1 + 1e-12) + 1e-12)
                if bad.size:
                    t = int(bad[0])
                    if fixed:
                        tid = self.territory_ids[t]  # type: ignore[index]
                        where, own = f"territory {_rid(tid)}", "home unit"
                    else:
                        cid = (self.center_ids or ())[t]
                        where, own = f"center {_rid(cid)}", "own unit"
                    mine = [i for i, j in pinned.items() if j == t]
                    nl = sum(1 for i in mine if i not in roots)
                    home = [i for i in mine if i in roots]
                    parts = " + ".join(
                        f"{_rid(self.unit_ids[i])} {v[i]:.6g}"
                        + (f" ({own})" if i in roots else "")
                        for i in mine
                    )
                    if nl:
                        who = f"the {nl} units locked to {where}" + (
                            f" and its {own}" if home else ""
                        )
                        fix = "unlock some of them or loosen the tolerance"
                        if not fixed and a in self.upper:
                            fix = (
                                "unlock some of them or raise the capacity "
                                f"(upper) to ≥ {sums[t]:.6g}"
                            )
                    else:
                        who = f"the home unit of territory {_rid(tid)}"
                        fix = (
                            "with contiguity a territory holds its home unit; "
                            "raise its target, loosen the tolerance, move its "
                            "home or set contiguity=False"
                        )
                    raise SpecificationError(
                        f"{band_txt} is impossible: {who} already carr"
                        + ("ies" if len(mine) == 1 else "y")
                        + f" {sums[t]:.6g} {a} ({parts}), above its upper limit "
                        f"{hi_col[t]:.6g}; {fix}"
                    )
            # what a center may reach (its allowed units and its locks)
            # below its lower limit
            if self.center_mode == "fixed" and (
                self.allowed is not None or self.locked
            ):
                reach = np.where(allowed, np.maximum(v, 0.0)[:, None], 0.0).sum(axis=0)
                short = np.flatnonzero(reach < lo * (1 - 1e-12) - 1e-12)
                if short.size:
                    j = int(short[np.argmax((lo - reach)[short])])
                    tid = self.territory_ids[j]  # type: ignore[index]
                    nr = int(allowed[:, j].sum())
                    nl = sum(1 for c in self.locked.values() if c == j)
                    # the maximum distance and its fixes only where there is one
                    far = self.allowed is not None
                    raise SpecificationError(
                        f"{band_txt} is impossible: {_rid(tid)} may reach only "
                        f"{nr} units ({nl} of them locked to it) "
                        + (
                            "within the maximum distance and the locks"
                            if far
                            else "not locked to other territories"
                        )
                        + f", carrying {reach[j]:.6g} {a} "
                        f"({_pct(reach[j] / total) if total else '-'} of the total "
                        f"{total:.6g}), below its lower limit {lo[j]:.6g}; "
                        + (
                            "raise max_distance_km, move its home, unlock units "
                            "locked elsewhere or loosen the tolerance"
                            if far
                            else "unlock some of the units locked to other "
                            "territories or loosen the tolerance"
                        )
                    )
            # a territory whose lower limit is above 0 but which no unit it
            # may take fits under its upper limit (or whose fitting units
            # carry too little together)
            if self.center_mode == "fixed":
                fits = allowed & (v[:, None] <= hi[None, :] * (1 + 1e-12) + 1e-12)
                reach_fit = np.where(fits, np.maximum(v, 0.0)[:, None], 0.0).sum(axis=0)
                short = np.flatnonzero(reach_fit < lo * (1 - 1e-12) - 1e-12)
                if short.size:
                    j = int(short[0])
                    tid = self.territory_ids[j]  # type: ignore[index]
                    cand = np.flatnonzero(allowed[:, j])
                    i = int(cand[np.argmin(v[cand])])
                    smallest = (
                        f"the smallest unit it may take, {_rid(self.unit_ids[i])}, "
                        f"carries {v[i]:.6g}"
                    )
                    if not (fits[:, j] & (v > 0)).any():
                        why = f"no unit fits in it: {smallest}"
                    else:
                        why = (
                            f"the units that fit under its upper limit carry only "
                            f"{reach_fit[j]:.6g} together ({smallest})"
                        )
                    raise SpecificationError(
                        f"{band_txt} is impossible: territory {_rid(tid)} must "
                        f"hold between {lo[j]:.6g} and {hi[j]:.6g} {a}, but {why}; "
                        "raise its target, loosen the tolerance or use fewer "
                        "territories"
                    )
            # can the bands hold the total at all?
            if self.center_mode == "fixed":
                cap_hi, cap_lo = float(hi.sum()), float(lo.sum())
            else:
                cap_hi, cap_lo = float(k * hi.max()), float(k * lo.min())
            if total > cap_hi * (1 + 1e-12) + 1e-12:
                raise SpecificationError(
                    f"{band_txt} is impossible: the total {a} {total:.6g} exceeds "
                    f"what {k} territories may hold ({cap_hi:.6g}); add territories "
                    "or raise the upper limits"
                )
            if total < cap_lo * (1 - 1e-12) - 1e-12:
                raise SpecificationError(
                    f"{band_txt} is impossible: the total {a} {total:.6g} is below "
                    f"the sum of the lower limits ({cap_lo:.6g})"
                )
            if self.center_mode == "choose" and math.isfinite(cap_hi):
                self._check_halves(a, v, float(hi.max()), band_txt)
        if self.draws is not None and self.draws_tolerance is not None:
            # a draw in which some unit alone exceeds every upper draw band
            # can never count; too many such draws make the share impossible
            dr = np.asarray(self.draws)
            _dlo, dhi = self.draw_limits()
            lone = dr > dhi.max(axis=1)[None, :] * (1 + 1e-12)
            lost = lone.any(axis=0)
            n_draws = dr.shape[1]
            need = int(np.ceil(self.draws_share * n_draws - 1e-9))
            if n_draws - int(lost.sum()) < need:
                i = int(np.argmax(lone.sum(axis=1)))
                raise SpecificationError(
                    f"±{_pct(self.draws_tolerance)} balance on the draws in "
                    f"{_pct(self.draws_share)} of draws is impossible: in "
                    f"{int(lost.sum())} of {n_draws} draws a single unit alone is "
                    f"above the upper draw band (unit {_rid(self.unit_ids[i])} in "
                    f"{int(lone[i].sum())} draws), so at most "
                    f"{n_draws - int(lost.sum())} draws can meet it, fewer than the "
                    f"{need} required; loosen draws_tolerance or lower draws_share"
                )
        if self.contiguity:
            self._check_contiguity(allowed)

    def _pinned(self) -> tuple[dict[int, int], set[int]]:
        """Units whose center column is fixed before solving: ``({unit:
        column}, roots)``.  The locks, and the roots: with fixed centers and
        contiguity every center's home unit (the root of its territory), with
        chosen centers the own unit of every center a lock opens (an open
        center serves its own unit).  ``roots`` are the home / own units not
        locked themselves."""
        pinned = dict(self.locked)
        roots: set[int] = set()
        if self.center_units is None:
            return pinned, roots
        cu = np.asarray(self.center_units).tolist()
        if self.center_mode == "fixed":
            cols = list(range(len(cu))) if self.contiguity else []
        else:
            cols = sorted(set(self.locked.values()))
        for j in cols:
            i = int(cu[j])
            if i >= 0 and pinned.setdefault(i, j) == j and i not in self.locked:
                roots.add(i)
        return pinned, roots

    def _check_halves(self, a: str, v: np.ndarray, cap: float, band_txt: str) -> None:
        """Chosen centers: units above half the upper band cannot share a
        territory (two of them exceed it, whatever the negative values that
        could offset them), so more of them than territories is impossible."""
        k = self.n_territories
        neg = float(np.minimum(v, 0.0).sum())
        half = (cap - neg) / 2
        # the allowance of violations(): two of them still break the band
        big = np.flatnonzero(v > half + 1e-9 * max(1.0, abs(cap)))
        if big.size <= k:
            return
        top = big[np.argsort(-v[big], kind="stable")]
        shown = ", ".join(f"{_rid(self.unit_ids[i])} ({v[i]:.6g})" for i in top[:5])
        # at most k units may lie above half the capacity
        need = 2 * float(v[top[k]]) + neg
        fix = (
            f"raise the capacity (upper) to ≥ {need:.6g}, use n_territories ≥ "
            f"{big.size} or split these units"
            if a in self.upper
            else "loosen the tolerance or split these units"
        )
        raise SpecificationError(
            f"{band_txt} is impossible: {big.size} units carry more than "
            f"{half:.6g} {a}, half the upper limit {cap:.6g}"
            + (f" plus the {-neg:.6g} {a} of negative units" if neg < 0 else "")
            + f" (units {shown}"
            + (" ..." if big.size > 5 else "")
            + f"), so no two of them fit in one territory and they need "
            f"{big.size} territories, but there are {k}; {fix}"
        )

    def _check_chosen_locks(self) -> None:
        """Chosen centers: a lock to a center column opens that center, so the
        locks may name at most ``n_territories`` distinct centers, and an open
        center serves its own unit (``center_units[j]``), which therefore may
        not be locked to another center; nor may a candidate whose own unit
        is locked elsewhere open, so at least ``n_territories`` must be
        left."""
        k = self.n_territories
        cids = self.center_ids or ()
        forced = sorted(set(self.locked.values()))
        if len(forced) > k:
            shown = ", ".join(str(cids[j]) for j in forced[:5])
            raise SpecificationError(
                f"units are locked to {len(forced)} different centers ({shown}"
                f"{' ...' if len(forced) > 5 else ''}) but only {k} territories are "
                f"chosen; unlock units or use n_territories ≥ {len(forced)}"
            )
        if self.center_units is None:
            return
        cu = np.asarray(self.center_units)
        for j in forced:
            home = int(cu[j])
            other = self.locked.get(home, j)
            if other == j:
                continue
            i = next(i for i, c in self.locked.items() if c == j and i != home)
            uid, hid = _rid(self.unit_ids[i]), _rid(self.unit_ids[home])
            raise SpecificationError(
                f"the locks contradict each other: unit {uid} is locked to center "
                f"{_rid(cids[j])}, which sits in unit {hid}, but {hid} is locked to "
                f"center {_rid(cids[other])}; a chosen center serves its own unit: "
                f"unlock {uid}, or lock {hid} to {_rid(cids[j])} instead of "
                f"{_rid(cids[other])}"
            )
        # a candidate whose own unit is locked to another center cannot open
        barred = [
            j
            for j, i in enumerate(cu.tolist())
            if i >= 0 and self.locked.get(int(i), j) != j
        ]
        if self.n_centers - len(barred) < k:
            shown = ", ".join(_rid(cids[j]) for j in barred[:5])
            can = self.n_centers - len(barred)
            raise SpecificationError(
                f"{k} territories requested but only {can} of the "
                f"{self.n_centers} candidate centers may open: {len(barred)} "
                f"({shown}{' ...' if len(barred) > 5 else ''}) sit in units locked "
                "to other centers, and a chosen center serves its own unit; "
                f"unlock those units or use n_territories ≤ {can}"
            )

    def _check_roots(self, allowed: np.ndarray) -> None:
        """Fixed centers with contiguity: each center's root unit (its home
        unit, ``center_units[j]``) must be in its territory, so it may be
        neither locked to another center nor beyond its own center's maximum
        distance."""
        assert self.center_units is not None
        cids = self.center_ids or ()
        for j, i in enumerate(np.asarray(self.center_units).tolist()):
            uid, rep = _rid(self.unit_ids[i]), _rid(cids[j])
            other = self.locked.get(int(i), j)
            if other != j:
                raise SpecificationError(
                    f"unit {uid} is locked to {_rid(cids[other])}, but it is the "
                    f"home unit of {rep} (the root of its territory), which with "
                    "contiguity must stay in that territory; lock it to "
                    f"{rep}, move the home_unit of {rep}, or set contiguity=False"
                )
            if not allowed[i, j]:
                raise SpecificationError(
                    f"the home unit {uid} of {rep} (the root of its territory, "
                    "which with contiguity it must hold) is beyond the maximum "
                    f"distance from the center of {rep}; raise max_distance_km, "
                    f"move the home_unit of {rep}, or set contiguity=False"
                )

    def _check_contiguity(self, allowed: np.ndarray) -> None:
        assert self.adjacency is not None and self.center_units is not None
        n, k = self.n_units, self.n_territories
        ncomp, comp = connected_components(self.adjacency, directed=False)
        cu = np.asarray(self.center_units)
        for c in range(ncomp):
            members = np.flatnonzero(comp == c)
            cols = np.flatnonzero(comp[cu] == c)  # centers rooted in this piece
            reach = (
                allowed[np.ix_(members, cols)].any(axis=1)
                if cols.size
                else (np.zeros(members.size, dtype=bool))
            )
            if not reach.all():
                bad = members[~reach]
                lk = [int(i) for i in bad if int(i) in self.locked]
                if lk:
                    i = lk[0]
                    j = self.locked[i]
                    label = (self.territory_ids or self.center_ids or ())[j]
                    raise SpecificationError(
                        f"contiguity is impossible: unit {_rid(self.unit_ids[i])} is "
                        f"locked to {_rid(label)}, whose center "
                        f"{_rid(self.unit_ids[cu[j]])} lies in another connected piece "
                        "of the unit graph (no adjacency path between them); lock it "
                        "to a territory of its own piece, link the pieces "
                        f"({_LINK_HINT}) or set contiguity=False"
                    )
                ids = ", ".join(_rid(x) for x in self.unit_ids[bad[:5]])
                what = (
                    "an island"
                    if members.size == 1
                    else (f"a detached piece of {members.size} units")
                )
                raise SpecificationError(
                    f"contiguity is impossible: unit {ids} lies in {what} with no "
                    "center it can join (no adjacency path to any center); link it "
                    f"to a neighbour ({_LINK_HINT}), give it its own center, "
                    "or set contiguity=False"
                )
        if self.center_mode == "fixed":
            counts = np.bincount(comp[cu], minlength=ncomp)
            sizes = np.bincount(comp, minlength=ncomp)
            bad_c = np.flatnonzero(counts > sizes)
            if bad_c.size:
                c = int(bad_c[0])
                raise SpecificationError(
                    f"contiguity is impossible: {counts[c]} centers sit in a "
                    f"connected piece of only {sizes[c]} units"
                )
            dup = np.bincount(cu, minlength=n)
            if dup.max() > 1 and k > 1:
                u = int(np.argmax(dup))
                raise SpecificationError(
                    f"contiguity is impossible: {dup[u]} centers sit in the same "
                    f"unit {_rid(self.unit_ids[u])}; each territory needs its own root"
                )
        if self.locked:
            self._check_lock_paths()
        if ncomp > 1:
            self._check_piece_totals(comp, allowed)

    def _check_lock_paths(self) -> None:
        """With contiguity a unit locked to a center joins it through units
        that territory may hold: every locked unit must reach its center's
        root unit (``center_units``) through units not pinned elsewhere
        (:meth:`_pinned`: locked to another center, or another territory's
        root).  The units in the way are named, the fewest on one path.

        Free units are grouped once (components of the graph on them); for
        each locked-to center a union-find joins its pinned units and the
        free groups they touch, ``O(Σ degree of the pinned units)``.
        """
        assert self.adjacency is not None and self.center_units is not None
        n = self.n_units
        adj = sp.csr_matrix(self.adjacency)
        cu = np.asarray(self.center_units)
        pinned, roots = self._pinned()
        free = np.ones(n, dtype=bool)
        free[list(pinned)] = False
        group = np.full(n, -1, dtype=np.int64)
        fi = np.flatnonzero(free)
        if fi.size:
            group[fi] = connected_components(adj[fi][:, fi], directed=False)[1]
        by_col: dict[int, list[int]] = {}
        for i, j in pinned.items():
            by_col.setdefault(j, []).append(i)
        ptr, nbr = adj.indptr, adj.indices
        for j in sorted(set(self.locked.values())):
            root = int(cu[j])
            if root < 0 or pinned.get(root, j) != j:
                continue  # no root, or one locked elsewhere: checked before
            parent: dict[int, int] = {}  # union-find: units, n + free group
            for p in by_col[j]:
                for q in nbr[ptr[p] : ptr[p + 1]].tolist():
                    if free[q]:
                        _union(parent, p, n + int(group[q]))
                    elif pinned[q] == j:
                        _union(parent, p, q)
            cut = [
                i
                for i, c in self.locked.items()
                if c == j and i != root and _find(parent, i) != _find(parent, root)
            ]
            if cut:
                self._raise_lock_path(cut[0], j, root, pinned, roots)

    def _raise_lock_path(
        self,
        i: int,
        j: int,
        root: int,
        pinned: dict[int, int],
        roots: set[int],
    ) -> None:
        """The lock-path error of :meth:`_check_lock_paths` for unit ``i``
        locked to column ``j`` (root unit ``root``): the units pinned
        elsewhere on a path from ``root`` to ``i`` crossing the fewest."""
        from scipy.sparse.csgraph import dijkstra

        n = self.n_units
        fixed = self.center_mode == "fixed"
        labels = (self.territory_ids if fixed else None) or self.center_ids or ()
        kind = "territory" if fixed else "center"
        others = "other territories" if fixed else "other centers' territories"
        # entering a unit pinned elsewhere costs more than any path of free
        # ones: the path found crosses the fewest of them
        step = np.where([pinned.get(x, j) != j for x in range(n)], float(n + 1), 1.0)
        g = sp.coo_matrix(self.adjacency)
        w = sp.csr_matrix((step[g.col], (g.row, g.col)), shape=(n, n))
        dist, pred = dijkstra(w, indices=root, return_predecessors=True)
        uid = _rid(self.unit_ids[i])
        tid, rid = _rid(labels[j]), _rid(self.unit_ids[root])
        if not np.isfinite(dist[i]):
            return  # another connected piece: _check_contiguity names it
        way: list[int] = []
        x = int(pred[i])
        while x >= 0 and x != root:
            if pinned.get(x, j) != j:
                way.append(x)
            x = int(pred[x])
        way.reverse()

        def what(x: int) -> str:
            other = _rid(labels[pinned[x]])
            if x in roots:
                own = "home unit" if fixed else "own unit"
                return f"{_rid(self.unit_ids[x])} ({own} of {other})"
            return f"{_rid(self.unit_ids[x])} (locked to {other})"

        shown = ", ".join(what(x) for x in way[:5]) + (" ..." if len(way) > 5 else "")
        fixes = [
            "unlock "
            + " or ".join(
                [uid] + [_rid(self.unit_ids[x]) for x in way if x not in roots]
            )
        ]
        homes = [_rid(labels[pinned[x]]) for x in way if x in roots]
        if homes and fixed:
            fixes.append(f"move the home_unit of {', '.join(homes)}")
        raise SpecificationError(
            f"contiguity is impossible with the locks: unit {uid} is locked to "
            f"{kind} {tid}, but every adjacency path from it to {rid}, the root "
            f"unit of {tid}, crosses units of {others}: {shown}; "
            f"{', '.join(fixes)}, or set contiguity=False"
        )

    def _check_piece_totals(self, comp: np.ndarray, allowed: np.ndarray) -> None:
        """With contiguity a territory stays inside one connected piece, so each
        piece's total must fit the bands of the territories it can hold.

        Fixed centers: the piece's centers' lower limits sum to at most its
        total, their upper limits to at least it.  Chosen centers: some whole
        number of territories ``k_c`` per piece, ``k_c · lower ≤ total ≤
        k_c · upper``, with the ``k_c`` adding up to ``k``.
        """
        assert self.center_units is not None
        k = self.n_territories
        ncomp = int(comp.max()) + 1
        bands = self.bands()
        cu = np.asarray(self.center_units)
        totals = {
            a: np.bincount(comp, weights=v, minlength=ncomp) for a, v, _, _ in bands
        }
        sizes = np.bincount(comp, minlength=ncomp)

        def where(c: int) -> str:
            first = _rid(self.unit_ids[int(np.flatnonzero(comp == c)[0])])
            return f"the connected piece of {sizes[c]} units containing unit {first}"

        if self.center_mode == "fixed":
            for a, _v, lo, hi in bands:
                tau = self.tolerance.get(a)
                band_txt = (
                    f"±{_pct(tau)} {a} balance" if tau is not None else f"{a} band"
                )
                for c in range(ncomp):
                    js = np.flatnonzero(comp[cu] == c)
                    if js.size == 0:
                        continue
                    tot = float(totals[a][c])
                    clo, chi = float(lo[js].sum()), float(hi[js].sum())
                    if clo * (1 - 1e-9) - 1e-9 <= tot <= chi * (1 + 1e-9) + 1e-9:
                        continue
                    names = first_few(self.territory_ids[j] for j in js)  # type: ignore[index]
                    side, lim = (
                        ("below the sum of their lower limits", clo)
                        if tot < clo
                        else ("above the sum of their upper limits", chi)
                    )
                    raise SpecificationError(
                        f"{band_txt} is impossible with contiguity: {where(c)} "
                        f"carries {tot:.6g} {a} and holds the {js.size} territories "
                        f"{names}; {tot:.6g} is {side} ({lim:.6g}; they may "
                        f"hold {clo:.6g}–{chi:.6g}). A territory cannot leave its "
                        "piece: loosen the tolerance, move a center between pieces, "
                        f"link the pieces ({_LINK_HINT}) or set contiguity=False"
                    )
            return
        # chosen centers: a whole number of territories per piece
        cand = np.flatnonzero(allowed.any(axis=0))
        ncand = np.bincount(comp[cu[cand]], minlength=ncomp)
        kmin = np.ones(ncomp, dtype=np.int64)
        kmax = np.minimum(ncand, sizes).astype(np.int64)
        why: dict[int, str] = {}
        for a, _v, lo, hi in bands:
            lo1, hi1 = float(lo.min()), float(hi.max())
            for c in range(ncomp):
                tot = float(totals[a][c])
                need = math.ceil(tot / hi1 * (1 - 1e-9)) if hi1 < np.inf else 1
                room = math.floor(tot / lo1 * (1 + 1e-9)) if lo1 > 0 else kmax[c]
                if need > kmin[c] or room < kmax[c]:
                    why[c] = f"{tot:.6g} {a} with band [{lo1:.6g}, {hi1:.6g}]"
                kmin[c] = max(kmin[c], need)
                kmax[c] = min(kmax[c], room)
        bad = np.flatnonzero(kmin > kmax)
        if bad.size:
            c = int(bad[0])

            def terr(x: int) -> str:
                return f"{x} territor{'y' if x == 1 else 'ies'}"

            raise SpecificationError(
                f"the bands are impossible with contiguity: {where(c)} carries "
                f"{why.get(c, 'too little')}, so it needs at least {terr(kmin[c])} "
                f"but can hold at most {kmax[c]}. A territory cannot "
                "leave its piece: loosen the tolerance, link the pieces "
                f"({_LINK_HINT}) or set contiguity=False"
            )
        if not kmin.sum() <= k <= kmax.sum():
            raise SpecificationError(
                f"the bands are impossible with contiguity: the {ncomp} connected "
                f"pieces need between {kmin.sum()} and {kmax.sum()} territories in "
                f"all (each piece a whole number of territories within the bands), "
                f"not {k}; change n_territories, loosen the tolerance or link the "
                f"pieces ({_LINK_HINT})"
            )

    # -- constructors ---------------------------------------------------------------
    @classmethod
    def from_cost_matrix(
        cls,
        cost: np.ndarray,
        activities: Mapping[str, Sequence[float] | np.ndarray],
        n_territories: int | None = None,
        *,
        tolerance: Mapping[str, float] | None = None,
        center_mode: CenterMode = "fixed",
        **kwargs: Any,
    ) -> DesignProblem:
        """Problem from a cost matrix (units × centers), ids ``0..n-1``."""
        cost = np.asarray(cost, dtype=float)
        k = cost.shape[1] if n_territories is None else int(n_territories)
        return cls(
            unit_ids=np.arange(cost.shape[0]),
            activities={a: np.asarray(v, dtype=float) for a, v in activities.items()},
            n_territories=k,
            cost=cost,
            tolerance=dict(tolerance or {}),
            center_mode=center_mode,
            **kwargs,
        )

"""``ensemble``: many feasible, balanced, contiguous alignments of a study.

An ensemble is a reference distribution: "what do alignments that meet the
same rules look like when nobody optimises anything?".  :func:`audit
<terrakit.design.audit.audit>` places a hand-made plan in it.

Two samplers:

``method="recom"`` (default)
    A Markov chain of *recombination* moves on the unit adjacency graph, in
    the style of DeFord, Duchin & Solomon's ReCom (written for terrakit from
    the published description).  One step:

    1. pick an edge uniformly among the edges that join two different
       territories; its two territories ``a`` and ``b`` are merged;
    2. draw a random spanning tree of the merged piece (independent uniform
       edge weights, then the minimum spanning tree);
    3. list the tree edges whose removal leaves two parts that are both
       inside every balance band; if there are none, draw a new tree (up to
       ``max_attempts`` trees), and if there are still none the chain stays
       where it is (the step counts as rejected);
    4. cut one of those edges chosen uniformly; the part that overlaps ``a``
       more keeps the label ``a``.

    Every territory stays connected by construction (each part of a cut tree
    is connected) and every band holds at every step, so every member is
    feasible.  Several independent chains (``chains``) start from the same
    feasible plan, each seeded from ``SeedSequence(seed).spawn(chains)``;
    with a Dask client they run in parallel and give exactly the chains a
    serial run gives.
``method="restarts"``
    Independent runs of the design heuristic
    (:func:`terrakit.design.heuristic.solve_heuristic`), each with its own
    seed from ``SeedSequence(seed)`` and its own random perturbation of the
    costs (every unit–center cost times :math:`e^{\\varepsilon}`,
    :math:`\\varepsilon \\sim N(0, 0.3^2)`, drawn from that seed): with one
    territory per rep the centers are the reps' homes and the heuristic is
    deterministic, so without it every restart would return the same plan.
    The heuristic meets the bands (and contiguity) for the perturbed costs;
    single unit moves that lower the true cost and keep every band then make
    the plan locally optimal for the true costs.  Every member is feasible
    and locally optimal: this is a sample of *good* plans, not a neutral one.
    Restarts may still end in the same local optimum; when the members hold
    fewer distinct plans than ``n`` (partitions, whatever their territories'
    labels) a :class:`~terrakit.exceptions.TerrakitWarning` gives the count.

Known biases of the ReCom chain
    - The chain is not reversible and has no Metropolis correction: its
      stationary distribution is not uniform over balanced contiguous plans.
      Random-weight minimum spanning trees are not uniform spanning trees, and
      choosing the cut among balanced edges of one tree favours partitions
      with many spanning trees — ReCom is known to favour compact plans
      (few cut edges) compared with the uniform distribution.
    - Choosing the pair through a random cut edge picks pairs sharing long
      boundaries more often.
    - Consecutive plans differ in two territories: members are correlated.
      ``burn_in`` steps are dropped from the start of each chain and every
      ``thin``-th plan is kept; the effective sample size is smaller than
      ``n``.  The start plan (the design heuristic's answer, or the one given)
      is an optimised plan; a short chain stays near it.
    - Tight bands on chunky units (counties) leave few balanced cuts: the
      acceptance rate falls and the chain mixes slowly.  ``acceptance_rate``
      is reported; below ~0.2 treat the ensemble with care.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from terrakit._runargs import (
    check_seed,
    check_time_limit,
    is_count,
    is_tolerance,
    whole_number,
)
from terrakit.data.validation import first_few
from terrakit.design._recom import induced, random_tree_csr, subtree, subtree_sums
from terrakit.exceptions import SpecificationError, TerrakitWarning, TimeLimitWarning

if TYPE_CHECKING:
    from distributed import Client

    from terrakit.data.geo import Adjacency

__all__ = ["Ensemble", "RecomRun", "ensemble", "recom_chain"]

Method = Literal["recom", "restarts"]


# -- the chain on arrays --------------------------------------------------------------
@dataclass(frozen=True)
class RecomRun:
    """What one ReCom chain did (see :func:`recom_chain`).

    Attributes
    ----------
    plans
        ``(n_kept, n_units)`` territory index per unit of every kept plan.
    steps
        Steps run (burn-in included).
    accepted
        Steps that changed the plan.
    trees
        Spanning trees drawn (``trees / steps`` ≥ 1).
    seconds
        Wall time of the chain.
    """

    plans: np.ndarray
    steps: int
    accepted: int
    trees: int
    seconds: float


def _band_violations(
    labels: np.ndarray, act: np.ndarray, lower: np.ndarray, upper: np.ndarray, k: int
) -> list[str]:
    out = []
    for a in range(act.shape[1]):
        s = np.bincount(labels, weights=act[:, a], minlength=k)
        for t in np.flatnonzero((s < lower[a] - 1e-9) | (s > upper[a] + 1e-9)):
            out.append(
                f"territory {int(t)} activity {a}: {s[t]:.6g} outside "
                f"[{lower[a]:.6g}, {upper[a]:.6g}]"
            )
    return out


def recom_chain(
    adjacency: sp.spmatrix | sp.sparray,
    activities: np.ndarray,
    lower: Sequence[float] | np.ndarray,
    upper: Sequence[float] | np.ndarray,
    start: np.ndarray,
    n_steps: int,
    *,
    seed: int | np.random.SeedSequence | None = 0,
    burn_in: int = 0,
    thin: int = 1,
    max_attempts: int = 10,
) -> RecomRun:
    """Run one ReCom chain on a graph (the array form behind :func:`ensemble`).

    Parameters
    ----------
    adjacency
        Symmetric ``(n, n)`` sparse adjacency of the units: every non-zero
        entry is an edge, a zero (stored or not) is none, as in
        :class:`~terrakit.data.geo.Adjacency`.
    activities
        ``(n,)`` or ``(n, A)`` activity values balanced by the bands.
    lower, upper
        ``(A,)`` band of every territory's activity total.
    start
        ``(n,)`` territory index ``0..k-1`` per unit (whole numbers ≥ 0;
        ``2.0`` is 2): a plan meeting every band with every territory
        connected.
    n_steps
        Steps after the burn-in; ``n_steps // thin`` plans are kept.  It,
        ``burn_in``, ``thin`` and ``max_attempts`` are whole numbers (``5.0``
        is 5).
    seed
        Seed (an int in ``[0, 2**32 - 1]``, a ``SeedSequence`` or ``None``)
        of the chain.
    burn_in
        Steps run and dropped first.
    thin
        Keep every ``thin``-th plan.
    max_attempts
        Spanning trees tried per step before the step is rejected.

    Returns
    -------
    RecomRun

    Raises
    ------
    SpecificationError
        If the adjacency is not square, not symmetric (a link stored one way
        only; symmetrise with ``adj.maximum(adj.T)``) or holds an entry that
        is NaN or infinite, a start label is
        negative or not a whole number, a count is not a
        whole number in its range, the seed is not one, an activity is not
        finite (NaN), a band has ``lower > upper``, the start plan breaks a
        band or a territory is not connected, or no edge
        joins two territories (one territory, or every territory an island of
        the graph): no move exists.

    Examples
    --------
    A path 0-1-2-3-4-5 split in two halves of exactly 3 units has a single
    balanced plan, so the chain never moves:

    >>> import scipy.sparse as sp
    >>> path = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6)).tocsr()
    >>> run = recom_chain(path, np.ones(6), [3], [3], np.array([0, 0, 0, 1, 1, 1]),
    ...                   5, seed=0)
    >>> run.plans.shape, run.accepted, run.plans[-1].tolist()
    ((5, 6), 0, [0, 0, 0, 1, 1, 1])
    """
    t0 = time.perf_counter()
    adj = _edges_only(adjacency)
    n = adj.shape[0]
    _check_symmetric(adj)
    act = np.asarray(activities, dtype=float)
    if act.ndim == 1:
        act = act[:, None]
    lo = np.asarray(lower, dtype=float).reshape(-1)
    hi = np.asarray(upper, dtype=float).reshape(-1)
    raw = np.asarray(start)
    if act.shape[0] != n or raw.shape != (n,):
        raise SpecificationError(
            f"activities ({act.shape[0]} rows) and start ({raw.size}) must have "
            f"one entry per unit of the adjacency ({n})"
        )
    values = raw.tolist()
    index = [whole_number(v) for v in values]
    wrong = [i for i, w in enumerate(index) if w is None or w < 0]
    if wrong:
        listed = first_few((f"unit {i}: {values[i]!r}" for i in wrong), show=str)
        raise SpecificationError(
            f"start must give each unit a territory index 0..k-1 (a whole "
            f"number >= 0), got {listed}; number the territories 0, 1, ... "
            "(e.g. pandas.factorize(territory_ids)[0])"
        )
    labels = np.array(index, dtype=np.int64)
    counts: dict[str, int] = {}
    for key, v, low in (
        ("n_steps", n_steps, 1),
        ("burn_in", burn_in, 0),
        ("thin", thin, 1),
        ("max_attempts", max_attempts, 1),
    ):
        w = whole_number(v)
        if w is None or w < low:
            raise SpecificationError(
                f"{key} must be a whole number >= {low}, got {v!r}"
            )
        counts[key] = w
    n_steps, burn_in, thin = counts["n_steps"], counts["burn_in"], counts["thin"]
    max_attempts = counts["max_attempts"]
    if not (seed is None or isinstance(seed, np.random.SeedSequence)):
        seed = check_seed(seed)
    if lo.shape != (act.shape[1],) or hi.shape != (act.shape[1],):
        raise SpecificationError(
            f"lower/upper need one value per activity ({act.shape[1]})"
        )
    nonfinite = np.flatnonzero(~np.isfinite(act).all(axis=1))
    if len(nonfinite):
        shown = nonfinite[:5].tolist()
        more = len(nonfinite) - len(shown)
        raise SpecificationError(
            f"activities are not finite (NaN or infinite) for {len(nonfinite)} "
            f"units (indices {shown}{f' and {more} more' if more > 0 else ''}): "
            "no band can be checked on them; fill the missing values (0 if there "
            "is none)"
        )
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()) or np.any(lo > hi):
        bad_band = [
            f"activity {a}: [{lo[a]:.6g}, {hi[a]:.6g}]"
            for a in range(len(lo))
            if not (math.isfinite(lo[a]) and math.isfinite(hi[a]) and lo[a] <= hi[a])
        ]
        raise SpecificationError(
            f"every band needs finite limits with lower <= upper; got "
            f"{'; '.join(bad_band)}"
        )
    k = int(labels.max()) + 1
    bad = _band_violations(labels, act, lo, hi, k)
    if bad:
        raise SpecificationError(
            f"the start plan breaks {len(bad)} band(s), e.g. {bad[0]}; start from a "
            "balanced plan (the design heuristic's) or widen the tolerance"
        )
    pieces = _pieces(adj, labels)
    if pieces:
        raise SpecificationError(
            f"the start plan has territories in several pieces ({pieces[:5]}); "
            "ReCom needs a contiguous start"
        )
    rng = np.random.default_rng(seed)
    coo = sp.triu(adj, k=1).tocoo()
    e0, e1 = coo.row.astype(np.int64), coo.col.astype(np.int64)
    if not np.any(labels[e0] != labels[e1]):
        # a move merges two territories joined by an edge; every move keeps
        # such an edge, so a chain that starts with one never runs out
        raise SpecificationError(
            f"no ReCom move exists: no edge of the adjacency joins two different "
            f"territories (the start plan has {k} territor"
            f"{'y' if k == 1 else 'ies'}"
            + (
                ""
                if k == 1
                else ", each a whole island of the graph with no neighbour in "
                "another territory"
            )
            + "); use 2 or more territories, and link islands to the mainland "
            "(terrakit.data.geo.Adjacency.with_links) so that territories touch"
        )
    indptr, indices = adj.indptr.astype(np.int64), adj.indices.astype(np.int64)
    local = np.full(n, -1, dtype=np.int64)
    kept = []
    accepted = trees = 0
    total = burn_in + n_steps
    for step in range(total):
        cut = np.flatnonzero(labels[e0] != labels[e1])
        e = int(cut[rng.integers(len(cut))])
        a, b = int(labels[e0[e]]), int(labels[e1[e]])
        nodes = np.flatnonzero((labels == a) | (labels == b))
        sub = induced(indptr, indices, nodes, local)
        moved = False
        for _ in range(max_attempts):
            trees += 1
            order, pred = random_tree_csr(sub[0], sub[1], 0, rng)
            if len(order) != len(nodes):  # cannot happen for connected parts
                break
            sums = subtree_sums(order, pred, act[nodes])
            whole = sums[order[0]]
            rest = whole - sums
            ok = np.all((sums >= lo - 1e-9) & (sums <= hi + 1e-9), axis=1) & np.all(
                (rest >= lo - 1e-9) & (rest <= hi + 1e-9), axis=1
            )
            ok[order[0]] = False
            cand = np.flatnonzero(ok)
            if len(cand) == 0:
                continue
            v = int(cand[rng.integers(len(cand))])
            # descendants of v: a contiguous block of the DFS preorder
            part = subtree(order, pred, v, len(nodes))
            in_a = labels[nodes] == a
            keep_a = np.count_nonzero(part & in_a) >= np.count_nonzero(~part & in_a)
            new = np.where(part == keep_a, a, b)
            if not np.array_equal(new, labels[nodes]):
                moved = True
            labels[nodes] = new
            break
        accepted += int(moved)
        if step >= burn_in and (step - burn_in) % thin == thin - 1:
            kept.append(labels.copy())
    plans = (
        np.vstack(kept).astype(np.int32) if kept else np.zeros((0, n), dtype=np.int32)
    )
    return RecomRun(plans, total, accepted, trees, time.perf_counter() - t0)


def _canonical(plans: np.ndarray) -> np.ndarray:
    """``(n_plans, n_units)`` plans with their territories renumbered in order
    of first appearance (the first unit's territory is 0, the next new one 1,
    ...): two plans are the same partition when their rows are equal."""
    plans = np.asarray(plans, dtype=np.int64)
    if plans.ndim != 2 or plans.size == 0:
        return plans
    p, n = plans.shape
    k = int(plans.max()) + 1
    first = np.full((p, k), n, dtype=np.int64)  # first unit of each territory
    rows = np.arange(p)
    for unit in range(n - 1, -1, -1):  # backwards: the first unit writes last
        first[rows, plans[:, unit]] = unit
    # territory -> its place in order of first appearance (absent ones last)
    new = np.argsort(np.argsort(first, axis=1, kind="stable"), axis=1, kind="stable")
    return np.take_along_axis(new, plans, axis=1)


def _n_partitions(plans: np.ndarray) -> int:
    """Number of different partitions among ``plans`` (labels ignored)."""
    canon = np.ascontiguousarray(_canonical(np.asarray(plans)), dtype=np.int32)
    return len({row.tobytes() for row in canon})


def _edges_only(adjacency: Any) -> sp.csr_matrix:
    """The adjacency as a float CSR matrix (a copy) holding its edges only.

    As in :class:`~terrakit.data.geo.Adjacency`, every non-zero entry is an
    edge and a zero is none, stored or not: the stored zeros are dropped here,
    before the symmetry check and the chain, whose moves, trees and
    contiguity checks read every stored entry (a one-way stored zero passed
    the check and joined territories in two pieces).  An entry that is NaN or
    infinite is refused (:func:`terrakit.data.geo.check_edge_weights`).
    """
    from terrakit.data.geo import check_edge_weights

    adj = sp.csr_matrix(adjacency, dtype=float, copy=True)
    try:
        check_edge_weights(adj)
    except ValueError as err:
        raise SpecificationError(str(err)) from None
    adj.eliminate_zeros()
    return adj


def _check_symmetric(adj: sp.csr_matrix) -> None:
    """Refuse an adjacency that is not square or not symmetric.

    A move picks its pair among the edges above the diagonal while the trees
    and the contiguity check read both halves: an edge stored one way only is
    half seen (a lower-triangular path looks like islands; a one-sided link
    leaves the chain with no visible cut edge in mid-run).  Only where the
    entries are matters (their values are not used); stored zeros are no
    entries (:func:`_edges_only` drops them first).
    """
    if adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
        raise SpecificationError(
            f"the adjacency must be square, (n, n) over the n units, got shape "
            f"{adj.shape}; build it over the units (row i and column i are "
            "unit i), e.g. terrakit.data.geo.adjacency(units).matrix"
        )
    pattern = adj.copy()
    pattern.eliminate_zeros()
    pattern.data[:] = 1.0
    one_way = (pattern - pattern.T).tocoo()
    one_way.eliminate_zeros()
    if one_way.nnz:
        first = int(np.argmax(one_way.data > 0))
        i, j = int(one_way.row[first]), int(one_way.col[first])
        raise SpecificationError(
            f"the adjacency is not symmetric: {one_way.nnz // 2} pair(s) of units "
            f"are linked one way only, e.g. unit {i} to unit {j} but not {j} to "
            f"{i}; ReCom needs each link stored both ways: symmetrise it, e.g. "
            "adj.maximum(adj.T)"
        )


def _pieces(adj: sp.csr_matrix, labels: np.ndarray) -> list[int]:
    """Territories (indices) that are not one connected piece."""
    coo = adj.tocoo()
    keep = labels[coo.row] == labels[coo.col]
    inner = sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=adj.shape
    )
    _, comp = connected_components(inner, directed=False)
    k = int(labels.max()) + 1
    n_comp = np.array([len(np.unique(comp[labels == t])) for t in range(k)])
    return [int(t) for t in np.flatnonzero(n_comp > 1)]


# -- the result ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Ensemble:
    """A sample of feasible alignments of one study (see :func:`ensemble`).

    Parameters
    ----------
    plans
        ``(n_plans, n_units)`` int array: territory index per unit.
    unit_ids
        The units, in column order of ``plans``.
    territory_ids
        Label of each territory index, inherited from the start plan (rep ids
        when it is rep-based; with ``method="restarts"`` and a start labelled
        by rep, in the order of the study's reps, as the restarts'
        territories are).  ReCom moves carry labels along but do not keep
        a rep's home inside its territory: compare territories by rank, as
        :func:`~terrakit.design.audit.audit` does, not by label.
    measures
        ``{name: (n_units,)}``: the balanced activities and the opportunity
        measures (``workload``, ``potential``, ``accounts``, ``sales`` when
        present with a value for every unit) used by
        :func:`~terrakit.design.audit.audit`.
    balance
        ``{activity: τ}`` bands that every member meets.
    lower, upper
        ``{activity: band limit}`` (absolute totals).
    xy_km
        ``(n_units, 2)`` planar coordinates (km) of the units' representative
        points in the study's projected CRS.
    edges
        ``(n_edges, 2)`` unit adjacency (indices, ``i < j``).
    start
        ``(n_units,)`` the start plan.
    reference
        ``(n_units,)`` territory id per unit of the study's ``"current"``
        alignment (``None`` if it has none): the default baseline of the
        audit's disruption.
    method
        ``"recom"`` or ``"restarts"``.
    seed, chains, burn_in, thin
        How it was drawn.
    steps, accepted, trees
        Totals over the chains (ReCom); ``acceptance_rate = accepted/steps``.
    weight
        Measure weighting the moment of inertia.
    seconds
        Wall time.
    provenance
        Seed, method and settings (``config``: ``n_territories``, ``weight``,
        ``time_limit``, ``start`` — the start alignment's name, ``"given"``,
        or ``"heuristic"`` / ``"tree_partition"`` for the plan ``start=None``
        built — and ``start_hash``, a hash of the start plan; with a given
        ``adjacency``, its kind and ``adjacency_edges``: ``n_edges`` and a
        ``sha256`` of its edges, as :func:`~terrakit.design.align.align`
        records them), and
        ``time_limit_stops``: the design heuristic runs (the start plan's,
        the restarts) that stopped at the time limit — their plans depend on
        the clock, not only on the seed.  ``measures_left_out`` (when there
        are any): the opportunity measures left out because units have no
        value, and which.
    """

    plans: np.ndarray
    unit_ids: tuple[Hashable, ...]
    territory_ids: tuple[Hashable, ...]
    measures: Mapping[str, np.ndarray]
    balance: Mapping[str, float]
    lower: Mapping[str, float]
    upper: Mapping[str, float]
    xy_km: np.ndarray
    edges: np.ndarray
    start: np.ndarray
    reference: np.ndarray | None
    method: str
    seed: int
    chains: int
    burn_in: int
    thin: int
    steps: int
    accepted: int
    trees: int
    weight: str
    seconds: float = 0.0
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        plans = np.asarray(self.plans)
        n = len(self.unit_ids)
        if plans.ndim != 2 or plans.shape[1] != n:
            raise ValueError(f"plans must be (n_plans, {n}), got {plans.shape}")
        k = len(self.territory_ids)
        if plans.size and (plans.min() < 0 or plans.max() >= k):
            raise ValueError(f"plans must hold territory indices 0..{k - 1}")
        for name, v in self.measures.items():
            if np.shape(v) != (n,):
                raise ValueError(f"measure {name!r} must have {n} values")
        for name in ("plans", "xy_km", "edges", "start"):
            arr = np.array(getattr(self, name))
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(
            self,
            "measures",
            MappingProxyType(
                {k_: np.asarray(v, float) for k_, v in self.measures.items()}
            ),
        )
        for name in ("balance", "lower", "upper", "provenance"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def n_plans(self) -> int:
        """Number of members."""
        return int(self.plans.shape[0])

    @property
    def n_distinct(self) -> int:
        """Number of different partitions among the members.

        Two members that group the units alike count once, whatever labels
        their territories carry: ReCom's labels are arbitrary, and every
        measure of :func:`~terrakit.design.audit.audit` reads a plan the same
        under any relabelling.
        """
        return _n_partitions(self.plans)

    @property
    def n_territories(self) -> int:
        """Territories per plan."""
        return len(self.territory_ids)

    @property
    def acceptance_rate(self) -> float:
        """Share of ReCom steps that changed the plan (1.0 for restarts)."""
        return self.accepted / self.steps if self.steps else math.nan

    def alignment(self, i: int) -> Any:
        """Member ``i`` as an :class:`~terrakit.data.Alignment`.

        Territory ids are in the dtype of :attr:`territory_ids` (``int64``
        when they are whole numbers, as the start plan's or the reps' were).

        Raises
        ------
        SpecificationError
            If ``i`` is not a whole number (a string, a float, a bool).
        IndexError
            If ``i`` is outside ``-n_plans .. n_plans - 1``.
        """
        from terrakit.data import Alignment
        from terrakit.data.alignment import _fit_dtype

        n = self.n_plans
        valid = f"0 to {n - 1}, or -{n} to -1 from the end" if n else "none"
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise SpecificationError(
                f"i must be a whole number, the member's position (valid i: "
                f"{valid}), got {i!r}; pass e.g. alignment(0) for the first member"
            )
        if not -n <= i < n:
            raise IndexError(
                f"member i={i} is out of range: the ensemble has {n} plans "
                f"(valid i: {valid}); pass an index in that range, e.g. "
                "alignment(-1) for the last member"
            )
        member = int(i) % n  # -1: the last member, named by its position
        labels = pd.Series(
            np.array(self.territory_ids, dtype=object)[self.plans[member]],
            index=pd.Index(self.unit_ids, name="unit_id"),
            dtype=object,
        )
        return Alignment(
            # the ids' own dtype (int64 rep ids stay int64, as in the start plan)
            _fit_dtype(labels, pd.Index(self.territory_ids).dtype),
            name=f"ensemble_{member}",
            provenance={**dict(self.provenance), "member": member},
        )

    def metrics(self) -> pd.DataFrame:
        """Per member: ``cut_edges``, ``moment_of_inertia`` and band deviations.

        ``moment_of_inertia`` is :math:`\\sum_t \\sum_{i \\in t} w_i
        \\lVert p_i - c_t \\rVert^2` (weight × km²) with :math:`c_t` the
        weighted centroid in the projected plane; ``<a>_max_dev`` is
        :math:`\\max_t |x_t / \\bar x - 1|`.
        """
        from terrakit.design.audit import plan_metrics

        return plan_metrics(self, self.plans)

    def to_frame(self) -> pd.DataFrame:
        """Units × members: territory id of every unit in every member."""
        labels = np.array(self.territory_ids, dtype=object)[self.plans.T]
        return pd.DataFrame(
            labels,
            index=pd.Index(self.unit_ids, name="unit_id"),
            columns=pd.RangeIndex(self.n_plans, name="member"),
        )

    def summary(self) -> str:
        """Rounded, stable text (no timings)."""
        m = self.metrics()
        bands = ", ".join(f"{a} ±{100 * t:g} %" for a, t in self.balance.items())
        contiguous = self.provenance.get("config", {}).get("contiguity", True)
        lines = [
            f"Ensemble ({self.method}): {self.n_plans} plans of "
            f"{self.n_territories} territories over {len(self.unit_ids)} units",
            f"  bands: {bands}; contiguous: {'yes' if contiguous else 'no'}",
            f"  chains {self.chains}, burn-in {self.burn_in}, thin {self.thin}, "
            f"seed {self.seed}",
        ]
        if self.method == "recom":
            lines.append(
                f"  steps {self.steps}, acceptance rate "
                f"{self.acceptance_rate:.3f}, trees per step "
                f"{self.trees / max(self.steps, 1):.2f}"
            )
        lines.append(f"  distinct plans: {self.n_distinct}")
        stops = int(self.provenance.get("time_limit_stops", 0))
        if stops:
            lines.append(
                f"  heuristic runs stopped at the time limit: {stops} (the members "
                "may differ between runs of the same seed; raise time_limit)"
            )
        q = m.quantile([0.05, 0.5, 0.95]).T
        q.columns = ["p5", "p50", "p95"]
        lines.append(q.map(lambda v: f"{v:.4g}").to_string())
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.summary()}\n  sampled in {self.seconds:.1f} s"


# -- the study-level entry point ----------------------------------------
def _check_start(
    labels: np.ndarray,
    act: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    adjacency: sp.csr_matrix,
    tids: Sequence[Any],
    activities: Sequence[str],
    method: str = "recom",
    contiguity: bool = True,
) -> None:
    """A given start plan meets the bands and (with ``contiguity``) is
    contiguous; names what is not, in the words of the ``method`` in use.

    With ``contiguity=False`` (restarts only: ReCom refuses it) the restarts
    sample plans whose territories may be in pieces, and the start only
    names the territories: a start in pieces is taken.
    """
    k = len(tids)
    bad = []
    for j, a in enumerate(activities):
        s = np.bincount(labels, weights=act[:, j], minlength=k)
        for t in np.flatnonzero((s < lower[j] - 1e-9) | (s > upper[j] + 1e-9)):
            band = f"[{lower[j]:.6g}, {upper[j]:.6g}]"
            bad.append(f"{tids[int(t)]!r} {a} {s[t]:.6g} outside {band}")
    if bad:
        raise SpecificationError(
            f"the start plan breaks {len(bad)} band(s): {'; '.join(bad[:3])}"
            + (" ..." if len(bad) > 3 else "")
            + "; start from a balanced plan (start=None: the design heuristic's) "
            "or widen the tolerance"
        )
    if not contiguity:
        return
    pieces = _pieces(adjacency, labels)
    if pieces:
        why = (
            "ReCom needs a contiguous start"
            if method == "recom"
            else "the restarts sample contiguous plans (contiguity=True): pass a "
            "contiguous start, or contiguity=False to sample plans whose "
            "territories may be in pieces"
        )
        raise SpecificationError(
            f"the start plan has {len(pieces)} territories in several pieces "
            f"({[tids[t] for t in pieces[:5]]}); {why}"
        )


_OPPORTUNITY = ("workload", "potential", "accounts", "sales")


def _no_value(ids: pd.Index, values: np.ndarray) -> str | None:
    """Which units have no (finite) value of a measure, in words; ``None``
    when every unit has one."""
    v = np.asarray(values, dtype=float)
    bad = ~np.isfinite(v)
    if not bad.any():
        return None
    which = [ids[i] for i in np.flatnonzero(bad)]
    shown = first_few(which)
    kind = "value" if np.isnan(v[bad]).all() else "finite value"
    return f"{len(which)} of {len(ids)} units have no {kind} ({shown})"


def _check_totals(
    balance: Mapping[str, float], weight: str, measures: Mapping[str, np.ndarray]
) -> None:
    """Refuse a balanced activity or a weight whose total over the units is 0.

    :meth:`DesignProblem.check <terrakit.design.problem.DesignProblem.check>`
    refuses such a band, in the same words, when ``start=None`` builds the
    start plan; a given start skipped it.  A band of ``[0, 0]`` holds every
    plan (its deviations are NaN), and a weight of 0 gives every plan a
    moment of inertia of 0: the audit would compare nothing.
    """
    for a in balance:
        if float(np.sum(measures[a])) == 0.0:
            raise SpecificationError(
                f"balance on {a!r} is meaningless: its total over all units is 0; "
                "balance an activity with a positive total, or leave it out of balance="
            )
    if float(np.sum(measures[weight])) == 0.0:
        first = next(iter(balance))
        raise SpecificationError(
            f"weight {weight!r} is meaningless: its total over all units is 0, so "
            "every plan's moment of inertia is 0 and no plan is more compact "
            f"than another; weight by a measure with a positive total, e.g. "
            f"weight={first!r} (the default: the first balanced activity)"
        )


def _plan_hash(ids: pd.Index, tids: Sequence[Any], labels: np.ndarray) -> str:
    """A short hash of a plan (unit id → territory id, in the units' order):
    equal for equal plans, so that the provenance tells two starts apart."""
    import hashlib

    terr = np.asarray([str(t) for t in tids], dtype=object)[labels]
    text = "\x1e".join(f"{u}\x1f{t}" for u, t in zip(ids, terr, strict=True))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _names(names: Mapping[str, Any] | Sequence[str]) -> str:
    """``'potential'`` or ``'potential' and 'sales'``."""
    quoted = [repr(m) for m in names]
    return (
        quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    )


def _one_territory(what: str, method: str) -> str:
    """Why an ensemble of one-territory plans is refused."""
    why = (
        "ReCom has no move (a move recombines two neighbouring territories)"
        if method == "recom"
        else "every restart would return that plan"
    )
    return (
        f"{what}: one territory holds every unit, so there is exactly one plan "
        f"and nothing to sample — {why}, and audit needs 2 or more distinct "
        "plans; use n_territories >= 2"
    )


def _chain_task(
    adjacency: sp.csr_matrix,
    act: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    start: np.ndarray,
    n_steps: int,
    seed: np.random.SeedSequence,
    burn_in: int,
    thin: int,
    max_attempts: int,
) -> RecomRun:
    return recom_chain(
        adjacency,
        act,
        lower,
        upper,
        start,
        n_steps,
        seed=seed,
        burn_in=burn_in,
        thin=thin,
        max_attempts=max_attempts,
    )


#: Log-scale standard deviation of the random cost factors of each restart
#: (``cost × exp(N(0, σ²))`` per unit and center): enough for the design
#: heuristic to end in different local optima when its own seed changes
#: nothing (one territory per rep: fixed centers, a deterministic LP).
RESTART_NOISE = 0.3


def _stopped_at_time_limit(res: Any, caught: list[warnings.WarningMessage]) -> bool:
    """Whether a design heuristic run ended at its time limit: its status says
    so, it warned (:class:`~terrakit.exceptions.TimeLimitWarning`), or its
    ``info["cut_by_clock"]`` does — a run that the clock stopped before it met
    the bands ends ``"infeasible"`` with no warning, and with more time it
    might have met them."""
    return (
        res.status == "time_limit"
        or bool(res.info.get("cut_by_clock", False))
        or any(issubclass(w.category, TimeLimitWarning) for w in caught)
    )


def _restart_task(
    problem: Any, seed: int, time_limit: float, max_iter: int, noise: float
) -> tuple[np.ndarray, bool]:
    """One restart: the heuristic on seeded, perturbed costs, then single
    boundary moves on the true costs.

    Returns the territory index per unit (``-1`` everywhere when it failed)
    and whether the clock ended the run (the heuristic at ``time_limit``, or
    the moves at what was left of it): its plan then depends on the clock,
    not only on ``seed``.
    """
    from terrakit.design.heuristic import solve_heuristic

    failed = np.full(problem.n_units, -1, dtype=np.int32)
    rng = np.random.default_rng(seed)
    cost = np.asarray(problem.cost, dtype=float)
    noisy = problem
    if noise > 0 and problem.objective in ("compactness", "travel"):
        noisy = problem.replace(
            cost=cost * np.exp(noise * rng.standard_normal(cost.shape))
        )
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        # recorded, not shown: ensemble() warns once, with the count
        warnings.simplefilter("always")
        res = solve_heuristic(
            noisy, time_limit=time_limit, seed=seed, max_iter=max_iter
        )
    stopped = _stopped_at_time_limit(res, caught)
    if res.columns is None or problem.violations(res.columns):
        return failed, stopped
    columns = np.asarray(res.columns, dtype=np.int64)
    if noisy is not problem:
        deadline = time.perf_counter() + max(
            time_limit - (time.perf_counter() - t0), 0.1
        )
        columns = _descend(problem, columns, deadline)
        # the moves stop at the deadline when they have not run out first
        stopped = stopped or time.perf_counter() > deadline
    lab, _ = problem.territory_index(columns)
    return lab.astype(np.int32), stopped


def _descend(problem: Any, columns: np.ndarray, deadline: float) -> np.ndarray:
    """Single moves that lower the problem's own cost and keep every band,
    lock and (with contiguity) connected territory, until none does: the
    restart's plan made locally optimal for the true costs.  The plan comes
    back unchanged where the search does not apply (forbidden pairs) or its
    answer breaks a constraint."""
    from terrakit.design._core import _improve_free
    from terrakit.design._search import SearchSpace, improve_single_moves
    from terrakit.design.heuristic import _spec

    spec, _ = _spec(problem)
    lab, centers = problem.territory_index(columns)
    k = len(centers)
    if spec.allowed is not None or k != problem.n_territories:
        return columns
    col_to_t = np.full(problem.n_centers, -1, dtype=np.int64)
    col_to_t[centers] = np.arange(k)
    locked = np.full(problem.n_units, -1, dtype=np.int64)
    if spec.locked is not None:
        pinned = spec.locked >= 0
        locked[pinned] = col_to_t[spec.locked[pinned]]
    contiguous = spec.contiguity and spec.adjacency is not None
    if contiguous and spec.center_units is not None:
        locked[np.asarray(spec.center_units)[centers]] = np.arange(k)
    cost = np.asarray(spec.cost, dtype=float)[:, centers]
    if contiguous:
        space = SearchSpace.from_adjacency(
            spec.adjacency,
            spec.activities,
            spec.lower,
            spec.upper,
            cost=cost,
            locked=locked,
        )
        new, _ = improve_single_moves(lab, space, deadline=deadline)
    else:
        space = SearchSpace(
            [[] for _ in range(problem.n_units)],
            np.zeros((0, 2), dtype=np.int64),
            spec.activities,
            spec.lower,
            spec.upper,
            cost=cost,
            locked=locked,
        )
        new = _improve_free(lab, space, deadline)
    out = centers[new]
    if problem.violations(out) or problem.evaluate(out) > problem.evaluate(columns):
        return columns
    return out


def ensemble(
    study: Any,
    n: int = 1_000,
    *,
    balance: Mapping[str, float] | None = None,
    contiguity: bool = True,
    n_territories: int | None = None,
    start: Any = None,
    adjacency: Adjacency | None = None,
    method: Method = "recom",
    chains: int = 4,
    burn_in: int | None = None,
    thin: int = 1,
    max_attempts: int = 10,
    weight: str | None = None,
    client: Client | None = None,
    seed: int = 0,
    time_limit: float = 30.0,
    progress: bool = True,
) -> Ensemble:
    """Sample ``n`` feasible, balanced, contiguous alignments of a study.

    Parameters
    ----------
    study
        A :class:`~terrakit.data.Study` (polygon or point units; the
        adjacency is :func:`terrakit.data.geo.adjacency`).
    n
        Members to keep (over all chains).
    balance
        ``{activity: τ}``: every territory's total within ``(1 ± τ)`` of the
        mean (``None``: ``{"workload": 0.05}``); at least one band (``{}`` is
        refused).
    contiguity
        Must be true for ``method="recom"`` (its moves keep every territory
        connected); ``"restarts"`` honours either value.
    n_territories
        Territories per plan, 2 or more; default: the start plan's, else the
        number of reps.  One territory is refused for both methods: it holds
        every unit, so there is exactly one plan — ReCom has no move (a move
        recombines two neighbouring territories) and restarts would return
        that plan every time.
    start
        The chain's start: an Alignment, the name of one of the study's
        alignments, a Series unit_id → territory, or ``None`` — a plan from
        the design heuristic (rep-home centers when ``n_territories`` equals
        the number of reps).  It must give each unit of the study exactly one
        territory, name no other unit (the checks of
        :func:`~terrakit.design.audit.audit`) and meet the bands.  It must
        be contiguous too, except with ``method="restarts"`` and
        ``contiguity=False``: the restarts' plans may then be in pieces, and
        the start only names their territories.
    adjacency
        A :class:`~terrakit.data.geo.Adjacency` over the study's units used
        instead of the one computed from the geometry, e.g. with ferry links
        to islands from ``Adjacency.with_links``: ReCom moves only between
        territories that touch, so territories that are each a whole island
        need such links.
    method
        ``"recom"`` or ``"restarts"`` (see the module notes; restarts warn
        when they give fewer distinct plans than ``n``).
    chains
        Independent ReCom chains (each keeps ``n / chains`` plans); part of the
        result's definition, so a Dask run and a serial run agree.
    burn_in
        Steps dropped at the start of each chain (default
        ``10 × n_territories``).
    thin
        Keep every ``thin``-th step.
    max_attempts
        Spanning trees tried per step before a step is rejected.
    weight
        Measure weighting compactness (default: the first balanced activity).
    client
        A ``distributed.Client``: chains (or restarts) run as tasks on it.
    seed
        Seed of everything random.
    time_limit
        Seconds per design heuristic run (start plan, restarts).  Each run
        has an iteration budget, so for a seed it gives the same plan on any
        machine when it ends within ``time_limit``; a run that the clock
        ends first is counted and warned about (below).
    progress
        Show a progress bar over chains / restarts.

    Returns
    -------
    Ensemble

    Raises
    ------
    TypeError
        ``study`` is not a :class:`~terrakit.data.Study` (e.g. its units
        table).
    SpecificationError
        Unknown activity, ``balance={}`` (no band), a balanced activity or
        the weight whose total over the units is 0, a band that no plan can
        meet (a unit above the upper band), a start plan that breaks a band,
        is not contiguous (but with restarts and ``contiguity=False``), misses
        units of the study or names others, ``contiguity=False`` with ReCom,
        one territory, no two territories touching (ReCom: no move exists),
        or bad counts.
    DataValidationError
        A start plan that gives a unit more than one territory, or none; a
        balanced activity or the weight missing (NaN), infinite or negative
        for some units.

    Warns
    -----
    TimeLimitWarning
        Once, with the count, when design heuristic runs (the start plan's,
        restarts) stopped at ``time_limit`` — also those the clock stopped
        before they met the bands (``info["cut_by_clock"]``), whose start plan
        then comes from spanning-tree splits or whose restart is dropped: the
        members may then differ between runs with the same seed.  The count
        is kept as
        ``provenance["time_limit_stops"]`` and shown by
        :meth:`Ensemble.summary`.
    TerrakitWarning
        When restarts give fewer distinct plans than ``n``; when an
        opportunity measure (``potential``, ``accounts``, ``sales``) has
        units with no value: it is left out of :attr:`Ensemble.measures`
        (an unknown value is not 0), so audit does not compare on it.

    Notes
    -----
    ReCom is a Markov chain, not an independent sample; see the module
    docstring for its known biases.  ``acceptance_rate`` and the number of
    distinct plans are reported in :meth:`Ensemble.summary`.

    Examples
    --------
    >>> ens = ensemble(study, n=200, balance={"accounts": 0.1})  # doctest: +SKIP
    >>> ens.metrics().describe()  # doctest: +SKIP
    """
    from terrakit.data import geo
    from terrakit.data.validation import check_measures, require_study
    from terrakit.design.align import _balance_columns
    from terrakit.metrics import _alignment

    require_study(
        study,
        table="units",
        fix="tk.Study(units, reps=reps)",
        caller="tk.design.ensemble",
    )
    if method not in ("recom", "restarts"):
        raise SpecificationError(
            f"method must be 'recom' or 'restarts', got {method!r}"
        )
    if method == "recom" and not contiguity:
        raise SpecificationError(
            "ReCom samples contiguous plans only; use method='restarts' for "
            "contiguity=False"
        )
    counts = {"n": n, "chains": chains, "thin": thin, "max_attempts": max_attempts}
    if burn_in is not None:
        counts["burn_in"] = burn_in
    for key, v in counts.items():
        low = 0 if key == "burn_in" else 1
        if not is_count(v, low):
            raise SpecificationError(
                f"{key} must be a whole number >= {low}, got {v!r}"
            )
    if n_territories is not None and not is_count(n_territories):
        raise SpecificationError(
            "n_territories must be a whole number of territories (2 or more), got "
            f"{n_territories!r}; leave it None for one territory per rep"
        )
    if n_territories == 1:
        raise SpecificationError(_one_territory("n_territories=1", method))
    check_time_limit(time_limit)
    check_seed(seed)
    # what the chain starts from, for the provenance: the alignment's name,
    # "given" (a Series or an unnamed plan), or how start=None built one
    start_kind = "heuristic"
    if isinstance(start, str):
        start_al = _alignment(study, start)
        start_kind = start
    elif start is None or hasattr(start, "assignment"):
        start_al = start
        if start is not None:
            start_kind = str(getattr(start, "name", None) or "given")
    elif isinstance(start, pd.Series):
        from terrakit.data.alignment import Alignment

        start_al = Alignment.from_mapping(start, name="start")
        start_kind = "given"
    else:
        raise SpecificationError(
            "start must be an Alignment, the name of one of the study's alignments "
            f"{sorted(study.alignments)}, a Series unit_id → territory or None, got "
            f"{type(start).__name__}"
        )
    t0 = time.perf_counter()
    start_stopped = False  # the design heuristic's start plan ended at time_limit
    restarts_stopped = 0  # restarts that ended at time_limit
    units = study.unit_measures() if study.accounts is not None else study.units
    if isinstance(balance, Mapping) and not balance:
        # every member meets the bands: with none there is nothing that
        # makes a plan feasible, and no default band stands in for "none"
        raise SpecificationError(
            "balance={} gives no band, and an ensemble needs at least one band, "
            "e.g. {'workload': 0.05} (its members are the plans within the "
            "bands); leave balance=None for ±5 % workload"
        )
    spec = _balance_columns(units, balance, {"workload": 0.05})
    for a, t in spec.items():
        if not is_tolerance(t):
            raise SpecificationError(
                f"tolerance for {a!r} must be a number in [0, 1) (0.05 is ±5 %), "
                f"got {t!r}"
            )
    balance = {str(a): float(t) for a, t in spec.items()}
    weight = weight or next(iter(balance))
    if weight not in units.columns:
        num = [
            c
            for c in units.columns
            if c != "geometry" and pd.api.types.is_numeric_dtype(units[c])
        ]
        raise SpecificationError(
            f"weight {weight!r} is not a column of the units; numeric columns: {num}"
        )
    # the balanced activities and the weight are summed: none may be missing
    units = check_measures(units, "units", dict.fromkeys([*balance, weight]))
    names = list(
        dict.fromkeys(
            [*balance, weight, *[m for m in _OPPORTUNITY if m in units.columns]]
        )
    )
    measures = {m: units[m].to_numpy(dtype=float, na_value=np.nan) for m in names}
    _check_totals(balance, weight, measures)
    ids = pd.Index(units.index)
    # an opportunity measure with units of unknown value would give NaN
    # territory totals (and ranks) in every audit: left out, with a warning
    left_out: dict[str, str] = {}
    for m in names:
        why = _no_value(ids, measures[m])
        if why:
            left_out[m] = why
            del measures[m]
    if left_out:
        warnings.warn(
            "; ".join(f"units.{m}: {why}" for m, why in left_out.items())
            + f". The ensemble leaves {_names(left_out)} out, so audit compares "
            "no territory on it. An unknown value is not 0: fill the missing "
            "values with real figures and sample again to compare on it",
            TerrakitWarning,
            stacklevel=2,
        )
    links = adjacency
    if links is None:
        adj_obj = geo.adjacency(units, warn=False)
    elif isinstance(links, geo.Adjacency):
        adj_obj = links.on_units(
            ids,
            name="the study",
            fix="build the adjacency on the study's units "
            "(terrakit.data.geo.adjacency(study.units))",
        )
    else:
        geo.require_adjacency(
            links, over="the study's units", build="tk.data.geo.adjacency(study.units)"
        )
    pos = adj_obj.ids.get_indexer(ids)
    adjacency = sp.csr_matrix(adj_obj.matrix)[pos][:, pos]
    proj = units.geometry.to_crs(geo.projected_crs(units)).representative_point()
    xy_km = np.column_stack([proj.x.to_numpy(), proj.y.to_numpy()]) / 1000.0
    coo = sp.triu(adjacency, k=1).tocoo()
    edges = np.column_stack([coo.row, coo.col]).astype(np.int64)

    # -- the start plan
    if start_al is not None:
        from terrakit.design.audit import _on_units

        lab_s = _on_units(
            start_al.assignment,
            ids,
            "the start alignment",
            "the study",
            "give every unit of the study one territory, and no other id",
        )
        tids = tuple(pd.unique(lab_s.to_numpy()))
        tids = tuple(sorted(tids, key=str))
        start_lab = pd.Index(tids).get_indexer(lab_s.to_numpy()).astype(np.int64)
        if n_territories is not None and n_territories != len(tids):
            raise SpecificationError(
                f"n_territories={n_territories} but the start plan has {len(tids)}"
            )
        problem = None
    else:
        from terrakit.design.align import build_problem

        k = n_territories or (None if study.reps is None else len(study.reps))
        if k is None:
            raise SpecificationError("give n_territories (the study has no reps)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem = build_problem(
                study,
                n_territories=k,
                balance=balance,
                contiguity=contiguity,
                weight=weight,
                adjacency=links,
            )
        problem.check()
        from terrakit.design.heuristic import solve_heuristic

        with warnings.catch_warnings(record=True) as caught:
            # recorded, not shown: one warning below counts every run cut short
            warnings.simplefilter("always")
            res = solve_heuristic(
                problem, time_limit=time_limit, seed=seed, max_iter=5_000
            )
        start_stopped = _stopped_at_time_limit(res, caught)
        tree = None
        if (res.status == "infeasible" or res.columns is None) and contiguity:
            # narrow bands: recursive spanning-tree splits often find a start
            # where annealing from a grown plan does not.  The first plan
            # found, not the best of those found before the clock ran out, so
            # the start depends on the seed alone
            from terrakit.design.cutedges import tree_partition

            tree = tree_partition(
                problem, seed=seed, time_limit=time_limit, max_plans=1
            )
        if tree is not None:
            start_kind = "tree_partition"
            start_lab = np.asarray(tree, dtype=np.int64)
            tids = tuple(
                problem.territory_ids
                or (f"T{t + 1:02d}" for t in range(problem.n_territories))
            )
        elif res.status == "infeasible" or res.columns is None:
            raise SpecificationError(
                "the design heuristic found no plan meeting the bands "
                f"({'; '.join(res.info.get('violations', [])[:2])})"
                + (
                    f", nor did spanning-tree splits within {time_limit:g} s"
                    if contiguity
                    else ""
                )
                + "; widen the tolerance, raise time_limit or pass a feasible "
                "start alignment"
            )
        else:
            lab, _ = problem.territory_index(res.columns)
            start_lab = lab.astype(np.int64)
            tids = tuple(res.territories.index)
    k = len(tids)
    if k == 1:
        raise SpecificationError(
            _one_territory("the start plan has 1 territory", method)
        )
    act = np.column_stack([measures[a] for a in balance])
    tot = act.sum(axis=0)
    lower = (1 - np.array(list(balance.values()))) * tot / k
    upper = (1 + np.array(list(balance.values()))) * tot / k
    for j, a in enumerate(balance):
        big = int(np.argmax(act[:, j]))
        if act[big, j] > upper[j]:
            raise SpecificationError(
                f"±{100 * balance[a]:g} % {a} balance is impossible: unit "
                f"{ids[big]!r} alone carries {act[big, j]:.6g} "
                f"({act[big, j] / tot[j]:.2%} of the total), above the upper band "
                f"{upper[j]:.6g}; widen the tolerance or use fewer territories"
            )
    if start_al is not None:
        _check_start(
            start_lab,
            act,
            lower,
            upper,
            adjacency,
            tids,
            list(balance),
            method=method,
            contiguity=contiguity,
        )
    burn = 10 * k if burn_in is None else int(burn_in)
    reference = None
    if "current" in study.alignments:
        reference = (
            study.alignments["current"].assignment.reindex(ids).to_numpy(dtype=object)
        )

    if method == "recom" and not np.any(
        start_lab[edges[:, 0]] != start_lab[edges[:, 1]]
    ):
        raise SpecificationError(
            f"no ReCom move exists: none of the start plan's {k} territories "
            "touches another (no edge of the unit adjacency joins two territories: "
            "each is a whole island), and a move recombines two neighbouring "
            "territories; link the islands to the mainland, e.g. "
            "adjacency=terrakit.data.geo.adjacency(study.units).with_links("
            "[(island_unit, mainland_unit), ...])"
        )
    if method == "recom":
        chains = min(chains, n)
        per = [n // chains + (1 if c < n % chains else 0) for c in range(chains)]
        seqs = np.random.SeedSequence(seed).spawn(chains)
        jobs = [
            (
                adjacency,
                act,
                lower,
                upper,
                start_lab,
                per[c] * thin,
                seqs[c],
                burn,
                thin,
                max_attempts,
            )
            for c in range(chains)
        ]
        runs: list[RecomRun] = _map(_chain_task, jobs, client, progress, "ensemble")
        plans = np.vstack([r.plans for r in runs])
        steps = sum(r.steps for r in runs)
        accepted = sum(r.accepted for r in runs)
        trees = sum(r.trees for r in runs)
    else:
        if problem is None:
            from terrakit.design.align import build_problem

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                problem = build_problem(
                    study,
                    n_territories=k,
                    balance=balance,
                    contiguity=contiguity,
                    weight=weight,
                    adjacency=links,
                )
            if problem.center_mode == "fixed" and set(
                problem.territory_ids or ()
            ) == set(tids):
                # a restart's territory t is the problem's territory t (a rep,
                # in the reps' order, its home the center): the start's labels
                # (sorted above) are put in that order too, so that start and
                # members name each rep's territory alike
                order = tuple(problem.territory_ids or ())
                by_label = np.asarray(tids, dtype=object)[start_lab]
                start_lab = pd.Index(order).get_indexer(by_label).astype(np.int64)
                tids = order
        seeds = np.random.SeedSequence(seed).generate_state(n, dtype=np.uint32)
        jobs2 = [(problem, int(s), time_limit, 5_000, RESTART_NOISE) for s in seeds]
        got = _map(_restart_task, jobs2, client, progress, "restarts")
        plans = np.vstack([labels for labels, _ in got])
        restarts_stopped = sum(bool(stopped) for _, stopped in got)
        ok = np.all(plans >= 0, axis=1)
        # restarts that met no band because the clock stopped them: with more
        # time they might have, so the members depend on the clock
        failed_cut = sum(
            bool(stopped) and not good
            for (_, stopped), good in zip(got, np.asarray(ok).tolist(), strict=True)
        )
        cut_note = f", {failed_cut} of them stopped by the clock" if failed_cut else ""
        if not ok.any():
            raise SpecificationError(
                f"no restart of the heuristic met the bands ({n} restarts"
                f"{cut_note}); widen the tolerance"
                + (
                    f", raise time_limit (time_limit={time_limit:g} s per run)"
                    if failed_cut
                    else ""
                )
                + " or use method='recom'"
            )
        plans = plans[ok]
        distinct = _n_partitions(plans)
        if distinct < n:
            failed = n - len(plans)
            warnings.warn(
                f"restarts gave {distinct} distinct plans for the {n} requested"
                + (f" ({failed} restarts met no band{cut_note})" if failed else "")
                + ": the heuristic's local optima coincide; an audit against "
                f"this ensemble compares with {distinct} plans only. Use "
                "method='recom' for many distinct feasible plans",
                TerrakitWarning,
                stacklevel=2,
            )
        steps = accepted = len(plans)
        trees = 0
        chains = 0
        burn = 0
    stops = int(start_stopped) + restarts_stopped
    if stops:
        who = " and ".join(
            ([f"{restarts_stopped} of the {n} restarts"] if restarts_stopped else [])
            + (
                [
                    "the design heuristic run for the start plan (the clock "
                    "stopped it before it met the bands; spanning-tree splits "
                    "built the start instead)"
                    if start_kind == "tree_partition"
                    else "the design heuristic that built the start plan"
                ]
                if start_stopped
                else []
            )
        )
        warnings.warn(
            f"{who} stopped at the time limit (time_limit={time_limit:g} s per "
            "run) before their search was done: where the clock, not the seed, "
            "ends a run, the members may differ between runs with the same seed "
            f"(seed={seed}). Fix: raise time_limit so that every run ends on its "
            "own iteration budget"
            + (", or pass a feasible start alignment" if start_stopped else ""),
            TimeLimitWarning,
            stacklevel=2,
        )
    from terrakit.data.alignment import make_provenance

    prov = make_provenance(
        f"ensemble/{method}",
        seed=seed,
        config={
            "n": n,
            "balance": balance,
            "n_territories": k,
            "weight": weight,
            "start": start_kind,
            "start_hash": _plan_hash(ids, tids, start_lab),
            "chains": chains,
            "burn_in": burn,
            "thin": thin,
            "max_attempts": max_attempts,
            "contiguity": contiguity,
            "time_limit": time_limit,
            # a given graph (links, snapping...) is more than its kind: its
            # edges, recorded as align records them
            **(
                {}
                if links is None
                else {
                    "adjacency": str(adj_obj.kind),
                    "adjacency_edges": {
                        "n_edges": adj_obj.n_edges,
                        "sha256": adj_obj.edge_hash(),
                    },
                }
            ),
        },
        time_limit_stops=stops,
        **({"measures_left_out": left_out} if left_out else {}),
    )
    return Ensemble(
        plans=plans.astype(np.int32),
        unit_ids=tuple(ids.tolist()),
        territory_ids=tids,
        measures=measures,
        balance=balance,
        lower=dict(zip(balance, lower.tolist(), strict=True)),
        upper=dict(zip(balance, upper.tolist(), strict=True)),
        xy_km=xy_km,
        edges=edges,
        start=start_lab,
        reference=reference,
        method=method,
        seed=int(seed),
        chains=chains,
        burn_in=burn,
        thin=thin,
        steps=steps,
        accepted=accepted,
        trees=trees,
        weight=weight,
        seconds=time.perf_counter() - t0,
        provenance=prov,
    )


def _map(
    fn: Any, jobs: list[tuple[Any, ...]], client: Any, progress: bool, desc: str
) -> list[Any]:
    """``[fn(*job) for job in jobs]``, on a Dask client when one is given."""
    from tqdm.auto import tqdm

    if client is None:
        return [
            fn(*job) for job in tqdm(jobs, desc=desc, disable=not progress, leave=False)
        ]
    from distributed import wait

    shared = client.scatter(jobs[0][0], broadcast=True, hash=False)
    futs = [client.submit(fn, shared, *job[1:], pure=False) for job in jobs]
    wait(futs)
    return client.gather(futs)

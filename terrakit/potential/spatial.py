"""The graph side of the BYM2 spatial effect: components, islands, scaling.

:func:`bym2_graph` turns an :class:`~terrakit.data.geo.Adjacency` into the
arrays the unit-level model needs: the edge list of the intrinsic CAR (ICAR)
part, which units are islands (no neighbour), the connected component of each
unit, and the per-component scaling factor of Riebler et al. (2016) that gives
the scaled ICAR a generalised marginal variance of one.

Disconnected graphs follow Freni-Sterrantino, Ventrucci & Rue (2018):

* every connected component with two or more units gets its own sum-to-zero
  constraint and its own scaling factor;
* islands (components of one unit) get no structured effect at all, only the
  unstructured part, with the full variance ``sigma**2``.

When every connected component is small enough (default up to 5,000 units),
:func:`bym2_graph` also computes the eigen-decomposition of each component's
graph Laplacian (:class:`IcarSpectrum`).  In that basis the BYM2 covariance is
diagonal, which lets the unit-level model integrate the spatial field out
exactly instead of sampling it (see
:func:`terrakit.potential.build_unit_model`), and gives the exact scaling
factors.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import eigh
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

from terrakit._runargs import check_seed, is_count
from terrakit.data.geo import Adjacency, check_edge_weights, require_adjacency
from terrakit.exceptions import SpecificationError

__all__ = ["IcarSpectrum", "SpatialGraph", "bym2_graph", "icar_scaling_factor"]

#: At most this many nodes per component are used to estimate the geometric
#: mean of the marginal variances (all nodes when the component is smaller).
_MAX_SCALE_NODES = 1000

#: Default size limit of a connected component for the spectral (integrated)
#: BYM2: the dense eigen-decomposition costs O(n^3) time and 8 n^2 bytes.
SPECTRAL_MAX_UNITS = 5000

#: Eigen-decompositions of recently seen components (refits of the same study,
#: e.g. NUTS then ADVI, skip the O(n^3) step); keyed by a hash of the edges.
_EIGH_CACHE: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_EIGH_CACHE_SIZE = 4


#: Exact scaling factors of recently seen components (same key).
_SCALE_CACHE: OrderedDict[str, float] = OrderedDict()


def _edges(matrix: sp.sparray | np.ndarray) -> sp.csr_array:
    """The 0/1 (int8) matrix of the edges: every non-zero entry is an edge,
    its weight ignored (as :class:`~terrakit.data.geo.Adjacency` does)."""
    m = sp.csr_array(matrix)
    out = sp.csr_array(m != 0, dtype=np.int8)
    out.eliminate_zeros()
    out.sort_indices()
    return out


def _graph_key(sub: sp.sparray | np.ndarray) -> str:
    """A hash of the edges of an adjacency matrix (its non-zero pattern: the
    cached results are computed from that pattern, never from weights)."""
    sub = _edges(sub)
    return hashlib.sha1(
        np.asarray(sub.shape, dtype=np.int64).tobytes()
        + sub.indptr.astype(np.int64).tobytes()
        + sub.indices.astype(np.int64).tobytes()
    ).hexdigest()


def _laplacian_eigh(sub: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of ``D - W`` of a component
    (``W`` its 0/1 edges)."""
    sub = _edges(sub)
    key = _graph_key(sub)
    hit = _EIGH_CACHE.get(key)
    if hit is not None:
        _EIGH_CACHE.move_to_end(key)
        return hit
    w = sub.astype(float).toarray()
    lap = np.diag(w.sum(axis=1)) - w
    lam, vec = eigh(lap, driver="evd", overwrite_a=True, check_finite=False)
    lam[0] = 0.0  # the constant vector: exactly in the null space
    lam.flags.writeable = False
    vec.flags.writeable = False
    _EIGH_CACHE[key] = (lam, vec)
    while len(_EIGH_CACHE) > _EIGH_CACHE_SIZE:
        _EIGH_CACHE.popitem(last=False)
    return lam, vec


@dataclass(frozen=True, eq=False)
class IcarSpectrum:
    """Eigen-basis in which the BYM2 covariance of ``n`` units is diagonal.

    The graph Laplacian ``Q = D - W`` is block diagonal over connected
    components; ``Q_c = V_c diag(λ) V_cᵀ`` per component ``c``.  A *mode* is
    one eigenvector; the modes of all components come first (component by
    component, eigenvalues ascending, so the constant null vector first), then
    one mode per island (the unit vector of that island).

    With total variance ``σ²`` and spatial share ``ρ``, the BYM2 log-sales
    residual of the units has covariance ``σ² V diag((1 − ρ) + ρ w) Vᵀ``
    where ``w`` (:attr:`weight`) is ``1 / (s_c λ_k)`` for the non-constant
    modes of component ``c`` (scaling factor ``s_c``), ``0`` for its constant
    mode (the sum-to-zero constraint) and ``1`` for islands (no structured
    effect: variance ``σ²``).

    Attributes
    ----------
    blocks
        ``(members, vectors)`` per connected component with two or more units:
        positions of its units (into the model's unit order) and the
        orthonormal eigenvectors (columns).
    islands
        Positions of the islands.
    weight
        ``w`` per mode (length ``n``).
    structured
        ``True`` for the modes that carry structured (spatial) variance.
    """

    n: int
    blocks: tuple[tuple[np.ndarray, np.ndarray], ...]
    islands: np.ndarray
    weight: np.ndarray
    structured: np.ndarray

    def rotate(self, values: np.ndarray) -> np.ndarray:
        """``Vᵀ values`` (unit order → mode order); ``values`` is ``(n, ...)``."""
        v = np.asarray(values, dtype=float)
        out = np.empty_like(v)
        start = 0
        for members, vec in self.blocks:
            out[start : start + len(members)] = vec.T @ v[members]
            start += len(members)
        out[start:] = v[self.islands]
        return out

    def unrotate(self, modes: np.ndarray) -> np.ndarray:
        """``V modes`` (mode order → unit order); ``modes`` is ``(n, ...)``."""
        m = np.asarray(modes, dtype=float)
        out = np.empty_like(m)
        start = 0
        for members, vec in self.blocks:
            out[members] = vec @ m[start : start + len(members)]
            start += len(members)
        out[self.islands] = m[start:]
        return out


@dataclass(frozen=True, eq=False)
class SpatialGraph:
    """Arrays of the BYM2 effect over ``n`` units (in the order of ``ids``).

    Attributes
    ----------
    ids
        Unit ids.
    component
        Component number of every unit (0, 1, ...).
    island
        Boolean, ``True`` for units without neighbours.
    struct_index
        Positions (into ``ids``) of the units that carry a structured effect,
        i.e. all non-islands, in increasing order.
    node1, node2
        The ICAR edges as positions into ``struct_index`` (each edge once).
    struct_component
        Component number (renumbered 0..k-1) of every structured unit.
    scale
        Scaling factor of every structured unit's component (geometric mean
        of the marginal variances of the unscaled ICAR on that component).
    spectrum
        Eigen-basis of the BYM2 covariance (:class:`IcarSpectrum`), or
        ``None`` when a component is larger than the spectral size limit.
    """

    ids: pd.Index
    component: np.ndarray
    island: np.ndarray
    struct_index: np.ndarray
    node1: np.ndarray
    node2: np.ndarray
    struct_component: np.ndarray
    scale: np.ndarray
    spectrum: IcarSpectrum | None = None

    @property
    def n_units(self) -> int:
        return len(self.ids)

    @property
    def n_struct(self) -> int:
        return len(self.struct_index)

    @property
    def n_struct_components(self) -> int:
        return int(self.struct_component.max()) + 1 if self.n_struct else 0

    def summary(self) -> str:
        return (
            f"BYM2 graph: {self.n_units} units, {len(self.node1)} edges, "
            f"{self.n_struct_components} connected components with a structured "
            f"effect, {int(self.island.sum())} islands (unstructured only)"
        )


def _spectrum(
    m: sp.csr_array, blocks: list[np.ndarray], islands: np.ndarray
) -> tuple[IcarSpectrum, list[float]]:
    """The spectrum of the components ``blocks`` and their scaling factors."""
    out_blocks = []
    weights, struct, scales = [], [], []
    for members in blocks:
        lam, vec = _laplacian_eigh(m[members][:, members])
        inv = np.zeros_like(lam)
        inv[1:] = 1.0 / lam[1:]
        # marginal variances under sum-to-zero: diag(Q+) = sum_k V_ik^2 / λ_k
        s_c = float(np.exp(np.mean(np.log((vec**2) @ inv))))
        scales.append(s_c)
        out_blocks.append((members, vec))
        weights.append(inv / s_c)
        struct.append(inv > 0)
    weights.append(np.ones(len(islands)))
    struct.append(np.zeros(len(islands), dtype=bool))
    n = sum(len(b) for b in blocks) + len(islands)
    spec = IcarSpectrum(
        n=n,
        blocks=tuple(out_blocks),
        islands=islands.astype(np.int64),
        weight=np.concatenate(weights),
        structured=np.concatenate(struct),
    )
    return spec, scales


#: Largest grounded Laplacian whose inverse diagonal is computed with the
#: Takahashi recursions (dense work array of n² floats: 200 MB at 5,000).
_DENSE_MAX = SPECTRAL_MAX_UNITS


def _selected_inverse_diag(lu: Any, seed: int = 0) -> np.ndarray | None:
    r"""``diag(A⁻¹)`` from a symmetric, unpivoted sparse LU of an SPD ``A``.

    With ``P A Pᵀ = L D Lᵀ`` (SuperLU in symmetric mode: ``U = D Lᵀ``), the
    Takahashi recursions give :math:`\Sigma = (PAP^\top)^{-1}` on the
    pattern of ``L``, column by column from the last:
    :math:`\Sigma_{J,i} = -\Sigma_{J,J} L_{J,i}`,
    :math:`\Sigma_{ii} = 1/d_i - L_{J,i}^\top \Sigma_{J,i}` with ``J`` the
    rows below the diagonal of column ``i``.  About 0.1 s for 3,000 nodes
    instead of 3,000 solves.  Three diagonal entries are checked against
    solves; ``None`` (use solves) when the factorisation is not symmetric or
    the check fails.
    """
    if not np.array_equal(lu.perm_r, lu.perm_c):
        return None
    m = lu.shape[0]
    low = sp.csc_array(lu.L)
    d = lu.U.diagonal()
    ptr, idx, val = low.indptr, low.indices, low.data
    sig = np.zeros((m, m))
    for i in range(m - 1, -1, -1):
        rows, vals = idx[ptr[i] : ptr[i + 1]], val[ptr[i] : ptr[i + 1]]
        below = rows > i
        rows, vals = rows[below], vals[below]
        if len(rows):
            col = -(sig[np.ix_(rows, rows)] @ vals)
            sig[rows, i] = col
            sig[i, rows] = col
            sig[i, i] = 1.0 / d[i] - vals @ col
        else:
            sig[i, i] = 1.0 / d[i]
    out = np.diag(sig)[lu.perm_c]  # node j of A is row perm_c[j] of P A Pᵀ
    for i in np.random.default_rng(seed).choice(m, min(3, m), replace=False):
        e = np.zeros(m)
        e[i] = 1.0
        if not np.isclose(lu.solve(e)[i], out[i], rtol=1e-8, atol=0.0):
            return None  # pragma: no cover - safety net
    return out


def _check_component(edges: sp.csr_array) -> None:
    """Refuse a 0/1 matrix that is not one symmetric connected component of
    two or more nodes (:func:`icar_scaling_factor`)."""
    n_row, n_col = edges.shape
    if n_row != n_col:
        raise ValueError(
            "the adjacency matrix must be square (a row and a column per "
            f"node), got shape {n_row} × {n_col}"
        )
    if n_row < 2:
        raise ValueError("a scaling factor needs a component of at least 2 nodes")
    # +1 where i → j is an edge but j → i is not
    one_way = sp.coo_array(edges.astype(np.int16) - edges.T.astype(np.int16))
    fwd = one_way.data > 0
    if fwd.any():
        i, j = int(one_way.row[fwd][0]), int(one_way.col[fwd][0])
        raise ValueError(
            f"the adjacency matrix is not symmetric: {int(fwd.sum())} edges are "
            f"listed in one direction only (e.g. {i} → {j} but not {j} → {i}); "
            "an ICAR needs every edge both ways. If each edge is listed once "
            "(np.triu of the matrix, a one-sided edge list), pass "
            "matrix + matrix.T"
        )
    n_comp, labels = connected_components(edges, directed=False)
    if n_comp > 1:
        sizes = np.sort(np.bincount(labels))[::-1]
        shown = ", ".join(str(int(k)) for k in sizes[:5])
        more = f" and {n_comp - 5} more" if n_comp > 5 else ""
        n_iso = int((sizes == 1).sum())
        iso = f", {n_iso} of them isolated nodes" if n_iso else ""
        raise ValueError(
            f"the graph is not connected: it has {n_comp} connected components "
            f"(sizes {shown}{more}{iso}), and a scaling factor is defined per "
            "connected component. Use bym2_graph(adjacency), which scales "
            "every component separately and gives isolated nodes (islands) no "
            "ICAR effect, or pass one component: matrix[members][:, members]"
        )


def icar_scaling_factor(
    matrix: sp.sparray | np.ndarray,
    *,
    seed: int = 0,
    max_nodes: int | None = _MAX_SCALE_NODES,
) -> float:
    """Geometric mean of the marginal variances of an ICAR on a connected graph.

    Parameters
    ----------
    matrix
        Symmetric adjacency of ONE connected component with at least two
        nodes.  Every non-zero entry is an edge and its value is ignored (as
        in :class:`~terrakit.data.geo.Adjacency`): the ICAR of BYM2 is
        defined on the 0/1 graph, so a weighted or row-standardised matrix
        gives the factor of its 0/1 pattern.
    seed
        Seed of the node subsample used for components with more than
        ``max_nodes`` nodes, an integer in ``[0, 2**32 - 1]``: the same seed
        gives the same estimate.
    max_nodes
        Estimate the geometric mean from this many randomly chosen nodes, a
        whole number ≥ 2 (default 1,000); ``None``: every node (exact; up
        to 5,000 nodes the whole diagonal comes from the Takahashi
        recursions on the sparse LU, about 0.3 s for 3,000 nodes, beyond
        that one sparse solve per node).

    Returns
    -------
    float
        ``exp(mean(log(diag(Q⁺))))`` with ``Q = D − W`` and ``Q⁺`` its
        generalised inverse (the covariance under the sum-to-zero constraint).

    Raises
    ------
    ValueError
        A matrix that is not square or not symmetric (an edge listed in one
        direction only, e.g. ``np.triu`` of the adjacency: pass
        ``matrix + matrix.T``), has NaN or infinite entries, has fewer than
        two nodes, or is a graph of more than one connected component
        (:func:`bym2_graph` scales each component of a disconnected graph
        separately).
    SpecificationError
        ``max_nodes`` neither ``None`` nor a whole number ≥ 2, or ``seed``
        not an integer in ``[0, 2**32 - 1]`` (a :class:`ValueError` too).

    Notes
    -----
    The last node is grounded (its row and column removed): the reduced
    Laplacian ``G⁻¹`` is positive definite and, with ``G`` padded by zeros,
    ``Q⁺ = (I − J/n) G (I − J/n)``, so
    ``Q⁺_ii = G_ii − 2 (G1)_i / n + 1ᵀG1 / n²`` — exact, from a sparse LU.
    Above ``max_nodes`` nodes the geometric mean is estimated from
    ``max_nodes`` randomly chosen nodes.

    Examples
    --------
    >>> round(icar_scaling_factor(np.array([[0, 1], [1, 0]])), 4)
    0.25
    """
    seed = check_seed(seed)  # None gave a different estimate on every call
    if max_nodes is not None and not is_count(max_nodes, 2):
        # 0 gave NaN, True one node, 2.5 two, -1 a bare numpy error
        raise SpecificationError(
            f"max_nodes must be None (every node: exact) or a whole number ≥ 2 "
            f"(the nodes the geometric mean is estimated from), got "
            f"{max_nodes!r}; the default is {_MAX_SCALE_NODES}"
        )
    check_edge_weights(matrix)
    edges = _edges(matrix)
    _check_component(edges)
    w = sp.csc_array(edges, dtype=float)
    n = w.shape[0]
    exact = max_nodes is None or n <= max_nodes
    key = _graph_key(edges) if exact else ""
    if exact and key in _SCALE_CACHE:
        _SCALE_CACHE.move_to_end(key)
        return _SCALE_CACHE[key]
    deg = np.asarray(w.sum(axis=1)).ravel()
    # ground the last node: the reduced Laplacian is positive definite, and
    # the sum-to-zero covariance is C = (I - J/n) G (I - J/n), G padded by 0
    q = sp.csc_array(sp.diags_array(deg) - w)[: n - 1, : n - 1]
    # symmetric positive definite: a symmetric fill-reducing order, no pivoting
    lu = splu(
        sp.csc_array(q),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    g1 = np.r_[lu.solve(np.ones(n - 1)), 0.0]
    total = float(g1.sum())
    rng = np.random.default_rng(seed)
    nodes = (
        np.arange(n)
        if max_nodes is None or n <= max_nodes
        else np.sort(rng.choice(n, int(max_nodes), replace=False))
    )
    full = _selected_inverse_diag(lu, seed) if exact and n <= _DENSE_MAX else None
    if full is not None:
        gdiag = np.r_[full, 0.0][nodes]
    else:
        gdiag = np.zeros(len(nodes))
        e = np.zeros(n - 1)
        for k, i in enumerate(nodes):
            if i == n - 1:  # the grounded node: G_ii = 0
                continue
            e[i] = 1.0
            gdiag[k] = lu.solve(e)[i]  # one vector at a time: multi-RHS is slow
            e[i] = 0.0
    var = gdiag - 2.0 * g1[nodes] / n + total / n**2
    if (var <= 0).any():  # pragma: no cover - numerical safety net
        raise ValueError("ICAR marginal variances are not positive; check the graph")
    out = float(np.exp(np.mean(np.log(var))))
    if exact:
        _SCALE_CACHE[key] = out
        while len(_SCALE_CACHE) > 4 * _EIGH_CACHE_SIZE:
            _SCALE_CACHE.popitem(last=False)
    return out


def bym2_graph(
    adj: Adjacency,
    ids: pd.Index | None = None,
    *,
    spectral_max_units: int = SPECTRAL_MAX_UNITS,
    spectrum: bool = True,
) -> SpatialGraph:
    """The BYM2 arrays of an adjacency, optionally reordered to ``ids``.

    Parameters
    ----------
    adj
        Neighbour graph (:func:`terrakit.data.geo.adjacency`).
    ids
        Unit order of the model (default: the adjacency's order).
    spectral_max_units
        Compute the eigen-basis (:class:`IcarSpectrum`, exact scaling factors)
        when no connected component has more units than this (a whole number
        ≥ 0); otherwise ``spectrum`` is ``None`` and the scaling factors come
        from :func:`icar_scaling_factor`: exact for every component up to
        this size, estimated from a subsample of 1,000 units for the larger
        ones.
    spectrum
        ``False``: never compute the eigen-basis (it costs O(n³) per
        component; the sparse approximate path does not need it); the
        scaling factors of components up to ``spectral_max_units`` units are
        then computed exactly by sparse solves, so the model is the same.

    Returns
    -------
    SpatialGraph

    Raises
    ------
    SpecificationError
        ``adj`` not an :class:`~terrakit.data.geo.Adjacency` (a scipy or
        numpy matrix: wrap it as ``Adjacency(ids, matrix)``), or
        ``spectral_max_units`` not a whole number ≥ 0.
    """
    # a bare matrix met AttributeError: 'csr_array' object has no 'matrix'
    require_adjacency(
        adj,
        what="adj",
        build="tk.data.geo.adjacency(units), or Adjacency(ids, matrix) for a "
        "matrix with rows and columns in the order of ids",
        optional=False,
    )
    if not is_count(spectral_max_units, 0):
        # "5" met a bare TypeError, -1 made every component approximate
        raise SpecificationError(
            "spectral_max_units must be a whole number ≥ 0 (the largest "
            "connected component, in units, whose eigen-basis and exact "
            f"scaling factor are computed), got {spectral_max_units!r}; the "
            f"default is {SPECTRAL_MAX_UNITS}"
        )
    if ids is not None:
        adj = adj.subgraph(ids)
    m = sp.csr_array(adj.matrix, dtype=np.int8)
    n = m.shape[0]
    _, comp = connected_components(m, directed=False)
    deg = np.diff(m.indptr)
    island = deg == 0
    struct = np.flatnonzero(~island)
    pos = np.full(n, -1, dtype=np.int64)
    pos[struct] = np.arange(len(struct))
    up = sp.triu(m, k=1, format="coo")
    node1 = pos[up.row.astype(np.int64)]
    node2 = pos[up.col.astype(np.int64)]
    order = np.lexsort((node2, node1))
    node1, node2 = node1[order], node2[order]
    _, renum = np.unique(comp[struct], return_inverse=True)
    renum = renum.astype(np.int64)
    n_comp = int(renum.max()) + 1 if len(struct) else 0
    blocks = [struct[renum == k] for k in range(n_comp)]
    scale = np.ones(len(struct))
    spec = None
    small = all(len(b) <= spectral_max_units for b in blocks)
    if small and spectrum:
        spec, scales = _spectrum(m, blocks, np.flatnonzero(island))
        for k, s_c in enumerate(scales):
            scale[renum == k] = s_c
    else:
        # per component: one larger than the limit must not make the factors
        # of the others estimates (the model of a component would then
        # depend on an unrelated component elsewhere)
        for k, members in enumerate(blocks):
            within = len(members) <= spectral_max_units
            scale[renum == k] = icar_scaling_factor(
                m[members][:, members], max_nodes=None if within else _MAX_SCALE_NODES
            )
    return SpatialGraph(
        ids=pd.Index(adj.ids, name="unit_id"),
        component=comp.astype(np.int64),
        island=island,
        struct_index=struct.astype(np.int64),
        node1=node1.astype(np.int64),
        node2=node2.astype(np.int64),
        struct_component=renum,
        scale=scale,
        spectrum=spec,
    )

"""BYM2 graph preparation: scaling factors, components, islands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from terrakit.data.geo import Adjacency
from terrakit.potential.spatial import bym2_graph, icar_scaling_factor


def _pinv_scale(w: np.ndarray) -> float:
    q = np.diag(w.sum(axis=1)) - w
    return float(np.exp(np.mean(np.log(np.diag(np.linalg.pinv(q))))))


def test_scaling_factor_two_nodes_is_a_quarter():
    """Q = [[1, -1], [-1, 1]]: under sum-to-zero phi = (t, -t), var = 1/4."""
    assert icar_scaling_factor(np.array([[0, 1], [1, 0]])) == pytest.approx(0.25)


@pytest.mark.parametrize("n", [3, 7, 30])
def test_scaling_factor_matches_dense_pseudo_inverse(n):
    rng = np.random.default_rng(n)
    w = np.zeros((n, n))
    for i in range(1, n):  # a random tree keeps it connected
        j = rng.integers(0, i)
        w[i, j] = w[j, i] = 1
    extra = rng.integers(0, n, (n, 2))
    for i, j in extra:
        if i != j:
            w[i, j] = w[j, i] = 1
    assert icar_scaling_factor(w) == pytest.approx(_pinv_scale(w), rel=1e-9)


def test_scaling_factor_rejects_disconnected_input():
    with pytest.raises(ValueError, match="isolated"):
        icar_scaling_factor(np.zeros((3, 3)))


def _path(n: int) -> np.ndarray:
    w = np.zeros((n, n))
    for i in range(n - 1):
        w[i, i + 1] = w[i + 1, i] = 1.0
    return w


def test_scaling_factor_ignores_weights_whatever_was_called_before():
    """Weighted input gives the factor of its 0/1 graph, in either call order
    (the cache once answered for the weights of the previous call)."""
    from terrakit.potential import spatial

    w = _path(5)
    want = _pinv_scale(w)
    for first, second in [(0.5 * w, w), (w, 0.5 * w)]:
        spatial._SCALE_CACHE.clear()
        assert icar_scaling_factor(first) == pytest.approx(want, rel=1e-9)
        assert icar_scaling_factor(second) == pytest.approx(want, rel=1e-9)
    row_std = w / w.sum(axis=1, keepdims=True)  # not even symmetric as values
    assert icar_scaling_factor(row_std) == pytest.approx(want, rel=1e-9)


def test_scaling_factor_names_a_disconnected_graph():
    w = np.zeros((6, 6))
    w[:3, :3] = _path(3)
    w[3:, 3:] = _path(3)
    with pytest.raises(ValueError) as err:
        icar_scaling_factor(w)
    assert str(err.value) == (
        "the graph is not connected: it has 2 connected components (sizes 3, 3), "
        "and a scaling factor is defined per connected component. Use "
        "bym2_graph(adjacency), which scales every component separately and "
        "gives isolated nodes (islands) no ICAR effect, or pass one component: "
        "matrix[members][:, members]"
    )


def test_scaling_factor_names_edges_listed_in_one_direction():
    w = _path(4)
    with pytest.raises(ValueError) as err:
        icar_scaling_factor(np.triu(w))
    assert str(err.value) == (
        "the adjacency matrix is not symmetric: 3 edges are listed in one "
        "direction only (e.g. 0 → 1 but not 1 → 0); an ICAR needs every edge "
        "both ways. If each edge is listed once (np.triu of the matrix, a "
        "one-sided edge list), pass matrix + matrix.T"
    )
    half = np.triu(w)
    assert icar_scaling_factor(half + half.T) == pytest.approx(_pinv_scale(w))


def test_bym2_graph_handles_components_and_islands():
    """a-b-c path, d-e pair, f island: two scaled components and one island."""
    ids = pd.Index(list("abcdef"))
    w = np.zeros((6, 6), dtype=int)
    for i, j in [(0, 1), (1, 2), (3, 4)]:
        w[i, j] = w[j, i] = 1
    g = bym2_graph(Adjacency(ids, sp.csr_array(w), kind="manual"))
    assert g.island.tolist() == [False] * 5 + [True]
    assert g.struct_index.tolist() == [0, 1, 2, 3, 4]
    assert g.n_struct_components == 2
    assert g.struct_component.tolist() == [0, 0, 0, 1, 1]
    path = w[:3, :3].astype(float)
    assert g.scale[:3] == pytest.approx([_pinv_scale(path)] * 3)
    assert g.scale[3:] == pytest.approx([0.25, 0.25])
    assert sorted(zip(g.node1.tolist(), g.node2.tolist(), strict=True)) == [
        (0, 1),
        (1, 2),
        (3, 4),
    ]
    assert "1 islands" in g.summary()


def test_bym2_graph_reorders_to_model_ids():
    ids = pd.Index(list("abc"))
    w = sp.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]))
    g = bym2_graph(Adjacency(ids, w, kind="manual"), pd.Index(list("cba")))
    assert g.ids.tolist() == ["c", "b", "a"]
    assert sorted(zip(g.node1.tolist(), g.node2.tolist(), strict=True)) == [
        (0, 1),
        (1, 2),
    ]


def _components_graph() -> Adjacency:
    """a-b-c path, d-e pair, f island (as in the test above)."""
    ids = pd.Index(list("abcdef"))
    w = np.zeros((6, 6), dtype=int)
    for i, j in [(0, 1), (1, 2), (3, 4)]:
        w[i, j] = w[j, i] = 1
    return Adjacency(ids, sp.csr_array(w), kind="manual")


def test_spectrum_diagonalises_the_bym2_covariance():
    """sigma^2 V diag(1 - rho + rho w) V' equals the BYM2 covariance built densely."""
    g = bym2_graph(_components_graph())
    spec = g.spectrum
    assert spec is not None and spec.n == 6
    # orthonormal: unrotate(rotate(v)) == v
    v = np.random.default_rng(0).normal(size=(6, 3))
    assert np.allclose(spec.unrotate(spec.rotate(v)), v)
    # constant modes carry no structured variance, islands carry sigma^2
    assert spec.structured.tolist() == [False, True, True, False, True, False]
    assert spec.weight[[0, 3]].tolist() == [0.0, 0.0] and spec.weight[5] == 1.0
    sigma, rho = 0.8, 0.4
    dense = np.zeros((6, 6))
    for members in ([0, 1, 2], [3, 4]):
        w = _components_graph().matrix.toarray()[np.ix_(members, members)]
        qplus = np.linalg.pinv(np.diag(w.sum(axis=1)) - w)
        dense[np.ix_(members, members)] = rho * qplus / _pinv_scale(w)
    dense += np.diag([1 - rho] * 5 + [1.0])
    dense *= sigma**2
    eye = np.eye(6)
    v_mat = spec.unrotate(eye)  # columns: the modes in unit order
    cov = sigma**2 * v_mat @ np.diag(1 - rho + rho * spec.weight) @ v_mat.T
    assert np.allclose(cov, dense)


def test_spectral_and_sparse_scaling_factors_agree():
    """Above the size limit the sparse-LU path is used; both give the same s."""
    rng = np.random.default_rng(5)
    n = 40
    w = np.zeros((n, n), dtype=int)
    for i in range(1, n):
        j = rng.integers(0, i)
        w[i, j] = w[j, i] = 1
    adj = Adjacency(pd.RangeIndex(n), sp.csr_array(w), kind="manual")
    spectral = bym2_graph(adj)
    sparse = bym2_graph(adj, spectral_max_units=10)
    assert spectral.spectrum is not None and sparse.spectrum is None
    assert np.allclose(spectral.scale, sparse.scale, rtol=1e-9)


def test_selected_inverse_diagonal_matches_dense_inverse():
    """Takahashi recursions on a sparse LU: diag(A⁻¹) of a grounded Laplacian."""
    from scipy.sparse.linalg import splu

    from terrakit.potential.spatial import _selected_inverse_diag

    side = 15  # a 15 x 15 grid with diagonals (queen), last node grounded
    w = np.zeros((side * side, side * side))
    for r in range(side):
        for c in range(side):
            for dr, dc in [(0, 1), (1, 0), (1, 1), (1, -1)]:
                if 0 <= r + dr < side and 0 <= c + dc < side:
                    i, j = r * side + c, (r + dr) * side + c + dc
                    w[i, j] = w[j, i] = 1
    assert w.sum(axis=1).max() == 8
    q = (np.diag(w.sum(axis=1)) - w)[:-1, :-1]
    lu = splu(
        sp.csc_array(q),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    got = _selected_inverse_diag(lu)
    assert got is not None
    np.testing.assert_allclose(got, np.diag(np.linalg.inv(q)), rtol=1e-10)
    # and the scaling factor through it equals the pseudo-inverse one
    assert icar_scaling_factor(w, max_nodes=None) == pytest.approx(
        _pinv_scale(w), rel=1e-10
    )


@pytest.mark.parametrize("max_nodes", [0, 1, -1, True, 2.5, "5"])
def test_scaling_factor_checks_max_nodes(max_nodes):
    """``max_nodes`` was not checked: 0 gave NaN, True one node, 2.5 two
    nodes (silent estimates) and -1 numpy's bare "negative dimensions are
    not allowed"."""
    from terrakit.exceptions import SpecificationError

    w = np.diag(np.ones(5), 1)
    w = w + w.T  # a path of 6 nodes
    with pytest.raises(SpecificationError) as err:
        icar_scaling_factor(w, max_nodes=max_nodes)
    assert str(err.value) == (
        "max_nodes must be None (every node: exact) or a whole number ≥ 2 (the "
        f"nodes the geometric mean is estimated from), got {max_nodes!r}; the "
        "default is 1000"
    )
    exact = icar_scaling_factor(w, max_nodes=None)
    assert exact == pytest.approx(_pinv_scale(w), rel=1e-9)
    assert icar_scaling_factor(w, max_nodes=6) == exact
    assert np.isfinite(icar_scaling_factor(w, max_nodes=np.int64(2)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_scaling_factor_refuses_nan_and_infinite_entries(bad):
    """``m != 0`` holds for NaN and inf, so they counted as edges: a 3-node
    path with a NaN weight gave a plausible 0.4093 while Adjacency refused
    the same matrix."""
    w = _path(3)
    w[0, 1] = w[1, 0] = bad
    with pytest.raises(ValueError) as err:
        icar_scaling_factor(w)
    assert str(err.value) == (
        "the adjacency matrix must be finite: 2 entries are NaN or infinite "
        f"(e.g. [0, 1] is {bad}); every non-zero entry is an "
        "edge, so write 1 (or any finite weight) where two nodes are "
        "neighbours and 0 where they are not"
    )
    with pytest.raises(ValueError, match="2 entries are NaN or infinite"):
        icar_scaling_factor(sp.csr_array(w))


@pytest.mark.parametrize("seed", [None, -1, 1.5, True, 2**32, "0"])
def test_scaling_factor_checks_seed(seed):
    """``seed`` went to numpy unchecked: None gave a different estimate on
    every call, -1 and 1.5 bare numpy errors."""
    from terrakit.exceptions import SpecificationError

    w = _path(50)
    with pytest.raises(SpecificationError) as err:
        icar_scaling_factor(w, seed=seed, max_nodes=10)
    assert str(err.value) == (
        f"seed must be a non-negative integer, got {seed!r}; seeds run from 0 "
        "to 4294967295 (2**32 - 1), and the same seed gives the same answer"
    )
    first = icar_scaling_factor(w, seed=np.int64(7), max_nodes=10)
    assert icar_scaling_factor(w, seed=7, max_nodes=10) == first


@pytest.mark.parametrize("matrix", ["scipy", "numpy"])
def test_bym2_graph_refuses_a_bare_matrix(matrix):
    """A matrix instead of an Adjacency met AttributeError: 'csr_array'
    object has no attribute 'matrix'."""
    from terrakit.exceptions import SpecificationError

    w = _components_graph().matrix
    m = w if matrix == "scipy" else w.toarray()
    with pytest.raises(SpecificationError) as err:
        bym2_graph(m)
    got = f"{type(m).__module__}.{type(m).__name__}"
    assert str(err.value) == (
        f"adj must be a terrakit.data.geo.Adjacency over the units, got {got}; "
        "build it with tk.data.geo.adjacency(units), or Adjacency(ids, matrix) "
        "for a matrix with rows and columns in the order of ids (add links to "
        "islands with .with_links([(a, b), ...]))"
    )


@pytest.mark.parametrize("limit", ["5", -1, 2.5, True, None])
def test_bym2_graph_checks_spectral_max_units(limit):
    """The text "5" met a bare TypeError and -1 was taken silently (every
    component over the limit)."""
    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError) as err:
        bym2_graph(_components_graph(), spectral_max_units=limit)
    assert str(err.value) == (
        "spectral_max_units must be a whole number ≥ 0 (the largest connected "
        "component, in units, whose eigen-basis and exact scaling factor are "
        f"computed), got {limit!r}; the default is 5000"
    )
    g = bym2_graph(_components_graph(), spectral_max_units=np.int64(0))
    assert g.spectrum is None
    assert g.scale[3:] == pytest.approx([0.25, 0.25])  # 2 nodes: exact anyway


@pytest.mark.parametrize("spectrum", [True, False])
def test_bym2_graph_scales_components_within_the_limit_exactly(monkeypatch, spectrum):
    """One flag for the whole graph: a component over spectral_max_units made
    the factors of all the others estimates (a 1,200-unit path beside a
    1,600-unit grid got 180.4604 instead of 181.3926).  Here the subsample
    is 5 nodes: a 12-node path over the limit of 10, an 8-node path within."""
    from terrakit.potential import spatial

    monkeypatch.setattr(spatial, "_MAX_SCALE_NODES", 5)
    big, small = _path(12), _path(8)
    w = np.zeros((20, 20))
    w[:12, :12] = big
    w[12:, 12:] = small
    adj = Adjacency(pd.RangeIndex(20), sp.csr_array(w), kind="manual")
    g = bym2_graph(adj, spectral_max_units=10, spectrum=spectrum)
    assert g.spectrum is None
    assert g.struct_component.tolist() == [0] * 12 + [1] * 8
    exact_small = _pinv_scale(small)
    assert g.scale[12:] == pytest.approx([exact_small] * 8, rel=1e-9)
    # the component over the limit is still estimated from 5 of its nodes
    estimate = icar_scaling_factor(big, max_nodes=5)
    assert estimate != pytest.approx(_pinv_scale(big), rel=1e-6)
    assert g.scale[:12].tolist() == [estimate] * 12

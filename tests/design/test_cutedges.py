"""Exact cut-edge districting model and the spanning-tree feasibility search."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from terrakit.design.cutedges import applies, solve_cut_edges, tree_partition
from terrakit.design.problem import DesignProblem

from .conftest import grid_adjacency, grid_xy


def districting_problem(
    adj: sp.csr_matrix,
    pop: np.ndarray,
    k: int,
    lo: float,
    hi: float,
    *,
    contiguity: bool = True,
) -> DesignProblem:
    """Cut-edge districting in the form the benchmark reader builds."""
    n = adj.shape[0]
    xy = np.column_stack([np.arange(n), np.zeros(n)]).astype(float)
    return DesignProblem(
        unit_ids=np.arange(n),
        activities={"pop": np.asarray(pop, dtype=float)},
        n_territories=k,
        cost=((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1),
        lower={"pop": np.full(k, lo)},
        upper={"pop": np.full(k, hi)},
        center_mode="choose",
        center_units=np.arange(n),
        adjacency=adj,
        contiguity=contiguity,
        objective="cut_edges",
        name="toy",
    )


def cut(adj: sp.csr_matrix, labels: np.ndarray) -> int:
    e = sp.triu(adj, k=1).tocoo()
    return int(np.count_nonzero(labels[e.row] != labels[e.col]))


def assert_valid(problem: DesignProblem, labels: np.ndarray) -> None:
    """k districts, every band met, each district connected."""
    pop = problem.activities["pop"]
    lo, hi = problem.band_limits("pop")
    assert sorted(np.unique(labels).tolist()) == list(range(problem.n_territories))
    adj = sp.csr_matrix(problem.adjacency)
    for t in range(problem.n_territories):
        members = np.flatnonzero(labels == t)
        assert lo[0] - 1e-9 <= pop[members].sum() <= hi[0] + 1e-9
        nc, _ = connected_components(adj[members][:, members], directed=False)
        assert nc == 1


@pytest.fixture
def grid4x4_k4() -> DesignProblem:
    """4×4 grid, unit population, 4 districts of exactly 4 cells.

    A 4-cell polyomino has at most 4 inner edges (the 2×2 square), so at least
    24 − 4·4 = 8 of the 24 edges are cut; the four 2×2 blocks cut exactly 8.
    """
    return districting_problem(grid_adjacency(4, 4), np.ones(16), 4, 4.0, 4.0)


@pytest.fixture
def grid3x3_k3() -> DesignProblem:
    """3×3 grid, unit population, 3 districts of 3 cells: a tromino has at most
    2 inner edges, so ≥ 12 − 6 = 6 cuts; three rows cut exactly 6."""
    return districting_problem(grid_adjacency(3, 3), np.ones(9), 3, 3.0, 3.0)


def test_applies_only_to_plain_cut_edge_problems(grid4x4_k4: DesignProblem) -> None:
    assert applies(grid4x4_k4)
    assert not applies(grid4x4_k4.replace(objective="compactness"))
    assert not applies(grid4x4_k4.replace(locked={0: 0}))


@pytest.mark.parametrize(
    ("fixture", "optimum"), [("grid4x4_k4", 8.0), ("grid3x3_k3", 6.0)]
)
def test_known_optimum_is_proven(
    fixture: str, optimum: float, request: pytest.FixtureRequest
) -> None:
    problem = request.getfixturevalue(fixture)
    out = solve_cut_edges(problem, time_limit=30, seed=0)
    assert out.status == "optimal"
    assert out.objective == optimum
    assert out.bound == optimum
    assert out.labels is not None
    assert cut(sp.csr_matrix(problem.adjacency), out.labels) == optimum
    assert_valid(problem, out.labels)


def test_without_contiguity_the_optimum_can_only_drop() -> None:
    """Path 0-1-2-3 with populations 2, 1, 1, 2 and two districts of 3: the
    contiguous plans {0,1},{2,3} cut 1 edge; without contiguity {0,3} is
    allowed too, but it cuts 3, so the optimum stays 1 (bound proven)."""
    adj = grid_adjacency(4, 1)
    pop = np.array([2.0, 1.0, 1.0, 2.0])
    for contiguity in (True, False):
        p = districting_problem(adj, pop, 2, 3.0, 3.0, contiguity=contiguity)
        out = solve_cut_edges(p, time_limit=20, seed=0)
        assert (out.status, out.objective, out.bound) == ("optimal", 1.0, 1.0)


def test_proves_infeasibility_of_an_impossible_band() -> None:
    """Path of 3 with populations 1, 1, 10 and two districts of 5.5–6.5: no
    district can hold the 10 alone, so no plan exists."""
    p = districting_problem(grid_adjacency(3, 1), np.array([1, 1, 10]), 2, 5.5, 6.5)
    out = solve_cut_edges(p, time_limit=20, seed=0)
    assert out.status == "infeasible"
    assert out.labels is None


def test_warm_start_is_accepted_and_kept(grid4x4_k4: DesignProblem) -> None:
    rows = np.repeat(np.arange(4), 4)  # 4 horizontal strips: 12 cuts, feasible
    out = solve_cut_edges(grid4x4_k4, time_limit=30, seed=0, start_labels=rows)
    assert out.objective <= 12
    assert out.status == "optimal" and out.objective == 8


def test_tree_partition_meets_narrow_bands() -> None:
    """5×5 grid with uneven populations and a ±2 % band: every plan returned
    is contiguous and inside the band (the search is randomised; several
    seeds)."""
    rng = np.random.default_rng(3)
    pop = rng.integers(50, 150, size=25).astype(float)
    k = 3
    mean = pop.sum() / k
    p = districting_problem(grid_adjacency(5, 5), pop, k, 0.98 * mean, 1.02 * mean)
    found = 0
    for seed in range(3):
        labels = tree_partition(p, seed=seed, time_limit=5)
        if labels is not None:
            found += 1
            assert_valid(p, labels)
    assert found >= 1


def test_tree_partition_returns_none_when_impossible() -> None:
    p = districting_problem(grid_adjacency(3, 1), np.array([1, 1, 10]), 2, 5.5, 6.5)
    assert tree_partition(p, seed=0, time_limit=0.5) is None


def _write_instance(folder: Path, name: str, pop: list[int], k: int) -> Path:
    """A path graph as networkx adjacency data, plus the reference row."""
    n = len(pop)
    data = {
        "directed": False,
        "multigraph": False,
        "graph": {},
        "nodes": [
            {"id": i, "TOTPOP": p, "C_X": float(i), "C_Y": 0.0}
            for i, p in enumerate(pop)
        ],
        "adjacency": [
            [{"id": j} for j in (i - 1, i + 1) if 0 <= j < n] for i in range(n)
        ],
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    ref = folder / "reference.csv"
    header = "instance,n_nodes,k_districts,variant,min_cut_edges_best\n"
    text = ref.read_text() if ref.exists() else header
    ref.write_text(text + f"{name},{n},{k},with_contiguity,1\n")
    return path


def test_solve_file_statuses(tmp_path: Path) -> None:
    """Regression (LA_county was reported "infeasible" when nothing feasible had
    been found in time): "infeasible" now needs a proof, and a plan that breaks
    a band is never reported as the answer."""
    from terrakit.benchmarks import districting

    ok = districting.solve_file(
        _write_instance(tmp_path, "OK_path", [200, 100, 100, 200], 2), time_limit=10
    )
    assert ok["feasible"] and ok["status"] == "optimal" and ok["value"] == 1.0
    # only the non-contiguous {0, 2}, {1, 3} balances 100, 100, 300, 300
    bad = districting.solve_file(
        _write_instance(tmp_path, "BAD_path", [100, 100, 300, 300], 2), time_limit=10
    )
    assert not bad["feasible"]
    assert bad["status"] == "infeasible"  # proven by the exact model


@pytest.mark.slow
def test_maine_counties_closed() -> None:
    """ME_county (16 nodes, k = 2): proven optimum 16 (Validi & Buchanan)."""
    from terrakit.benchmarks import districting
    from terrakit.benchmarks._graphs import to_problem

    folder = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
    path = folder / "districting" / "ME_county.json"
    if not path.exists():
        pytest.skip("shared benchmarks not present")
    out = solve_cut_edges(to_problem(districting.read_instance(path)), time_limit=60)
    assert (out.status, out.objective, out.bound) == ("optimal", 16.0, 16.0)


def test_grid_xy_helper_shape() -> None:
    assert grid_xy(2, 2).shape == (4, 2)


def test_solve_mip_proves_the_grid_optimum(grid4x4_k4: DesignProblem) -> None:
    """``solve_mip`` (what ``align(objective="cut_edges")`` runs on small
    problems) takes the districting path: column-generation bound ≤ 100 units."""
    from terrakit.design.mip import solve_mip

    res = solve_mip(grid4x4_k4, time_limit=30, seed=0)
    assert res.status == "optimal" and res.objective == 8.0
    assert res.lower_bound == 8.0
    assert res.info["model"] == "set-partitioning bound by column generation"
    assert grid4x4_k4.violations(res.columns) == []


@pytest.mark.parametrize("bound", ["cg", "mip"])
def test_solve_districting_both_bounds_prove_the_grid(
    grid4x4_k4: DesignProblem, bound: str
) -> None:
    from terrakit.design.cutedges import solve_districting

    out = solve_districting(grid4x4_k4, time_limit=20, seed=0, bound=bound)
    assert (out.status, out.objective, out.bound) == ("optimal", 8.0, 8.0)
    step = "+cg-bound" if bound == "cg" else "+cutedges-mip"
    assert out.info["method"].endswith(step)
    assert out.labels is not None and np.bincount(out.labels).tolist() == [4] * 4


def test_solve_districting_rejects_an_unknown_bound(grid4x4_k4: DesignProblem) -> None:
    from terrakit.design.cutedges import solve_districting

    with pytest.raises(ValueError, match="bound must be 'cg' or 'mip', got 'lp'"):
        solve_districting(grid4x4_k4, time_limit=1, bound="lp")


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("exact_nodes", -1, "exact_nodes must be a whole number >= 0, got -1"),
        ("exact_nodes", 2.5, "exact_nodes must be a whole number >= 0, got 2.5"),
        (
            "exact_share",
            -3,
            "exact_share must be a share of the time in [0, 1], got -3",
        ),
        (
            "tree_share",
            1.5,
            "tree_share must be a share of the time in [0, 1], got 1.5",
        ),
        (
            "recom_share",
            "half",
            "recom_share must be a share of the time in [0, 1], got 'half'",
        ),
        (
            "mip_gap",
            -1,
            "mip_gap must be a relative gap >= 0 (1e-6: proven within 0.0001 %), "
            "got -1",
        ),
    ],
)
def test_solve_districting_names_a_setting_out_of_range(
    grid4x4_k4: DesignProblem,
    tmp_path: Path,
    setting: str,
    value: object,
    message: str,
) -> None:
    """mip_share=-3 or mip_nodes=-1 quietly gave 'no_solution' (no exact
    step, or a negative heuristic share); a negative mip_gap was passed on."""
    import re

    from terrakit.benchmarks import districting
    from terrakit.design.cutedges import solve_districting
    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError, match=re.escape(message)):
        solve_districting(grid4x4_k4, time_limit=1, **{setting: value})
    if setting in ("exact_nodes", "exact_share"):
        # the benchmark reader's mip_nodes / mip_share are these settings
        given = {"exact_nodes": "mip_nodes", "exact_share": "mip_share"}[setting]
        path = _write_instance(tmp_path, "P", [1, 1], 2)
        with pytest.raises(SpecificationError, match=re.escape(message)):
            districting.solve_file(path, time_limit=1, **{given: value})


def test_solve_mip_names_proven_infeasibility() -> None:
    from terrakit.design.mip import solve_mip
    from terrakit.exceptions import InfeasibleError

    pop = np.array([100.0, 100.0, 300.0, 300.0])
    p = districting_problem(grid_adjacency(4, 1), pop, 2, 398.0, 402.0)
    with pytest.raises(InfeasibleError, match="contiguous territories"):
        solve_mip(p, time_limit=20, seed=0)


@pytest.mark.parametrize(
    ("pop", "lo", "hi", "contiguity", "why"),
    [
        # {0, 2} and {1, 3} hold 400 each; no contiguous split holds 398-402
        (
            [100, 100, 300, 300],
            398.0,
            402.0,
            True,
            " with contiguous territories; the band on 'pop' cannot be met "
            "together with contiguity",
        ),
        # no set of 2, 2, 2, 3 sums to 4.4-4.6
        ([2, 2, 2, 3], 4.4, 4.6, False, "; the band on 'pop' cannot be met on its own"),
        (
            [2, 2, 2, 3],
            4.4,
            4.6,
            True,
            " with contiguous territories; the band on 'pop' cannot be met on its "
            "own, even without contiguity",
        ),
    ],
)
def test_proven_infeasibility_names_the_band(
    pop: list[int], lo: float, hi: float, contiguity: bool, why: str
) -> None:
    """Regression (QA round 17): the rooted cut-edge model's infeasibility
    named no band, while solve_mip's other objectives are diagnosed."""
    from terrakit.design.mip import solve_mip
    from terrakit.exceptions import InfeasibleError

    p = districting_problem(
        grid_adjacency(4, 1), np.array(pop, float), 2, lo, hi, contiguity=contiguity
    )
    with pytest.raises(InfeasibleError) as err:
        solve_mip(p, time_limit=20, seed=0)
    assert str(err.value) == (
        "the design problem 'toy' is infeasible (mip/highs, rooted cut-edge model): "
        "no partition into 2 territories meets every band" + why
    )


def _banded_labellings(
    adj: sp.csr_matrix, pop: np.ndarray, k: int, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every labelling of the units into ``k`` parts within the band (all
    ``k**n``; small graphs only) and its number of cut edges."""
    import itertools

    n = adj.shape[0]
    lab = np.array(list(itertools.product(range(k), repeat=n)), dtype=np.int8)
    tot = np.stack([(lab == t) @ pop for t in range(k)], axis=1)
    lab = lab[np.all((tot >= lo - 1e-9) & (tot <= hi + 1e-9), axis=1)]
    e = sp.triu(adj, k=1).tocoo()
    return lab, (lab[:, e.row] != lab[:, e.col]).sum(axis=1)


def brute_force_optimum(
    adj: sp.csr_matrix, pop: np.ndarray, k: int, lo: float, hi: float
) -> int | None:
    """Fewest cut edges over every labelling into k contiguous, banded
    districts."""
    lab, cuts = _banded_labellings(adj, pop, k, lo, hi)
    for q in np.argsort(cuts, kind="stable").tolist():
        parts = [np.flatnonzero(lab[q] == t) for t in range(k)]
        if all(
            connected_components(adj[m][:, m], directed=False)[0] == 1 for m in parts
        ):
            return int(cuts[q])
    return None


def random_grid_instance(seed: int) -> tuple[sp.csr_matrix, np.ndarray, float, float]:
    """4×3 grid, populations 50–149, 3 districts within ±5 % of the mean."""
    rng = np.random.default_rng(seed)
    pop = rng.integers(50, 150, size=12).astype(float)
    mean = pop.sum() / 3
    return grid_adjacency(4, 3), pop, 0.95 * mean, 1.05 * mean


def grid_cg_case(
    seed: int, *, plan_seed: int = 0, time_limit: float = 2, plans: int = 10
):
    """:func:`random_grid_instance` with its problem, up to ``plans``
    spanning-tree plans and the unit–root pairs ``ok`` of the column
    generation."""
    from terrakit.design.cutedges import _order, _pairs, tree_partitions

    adj, pop, lo, hi = random_grid_instance(seed)
    p = districting_problem(adj, pop, 3, lo, hi)
    found = tree_partitions(p, seed=plan_seed, time_limit=time_limit, max_plans=plans)
    ok, _ = _pairs(p, _order(p))
    return adj, pop, lo, hi, p, found, ok


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_column_generation_proves_the_brute_force_optimum(seed: int) -> None:
    """The set-partitioning bound equals the optimum found by enumerating all
    3**12 labellings, and the partition found has that many cut edges."""
    from terrakit.design._cutedges_cg import column_generation_bound

    adj, pop, lo, hi, p, plans, ok = grid_cg_case(seed)
    optimum = brute_force_optimum(adj, pop, 3, lo, hi)
    assert optimum is not None
    assert plans
    for plan in plans:
        assert_valid(p, plan)
    out = column_generation_bound(
        adj, pop, [lo], [hi], 3, ok, partitions=plans, time_limit=20, seed=0
    )
    assert out.bound == optimum
    assert out.objective == optimum
    assert out.labels is not None and cut(adj, out.labels) == optimum
    assert_valid(p, out.labels)


def test_column_generation_bound_never_exceeds_the_optimum() -> None:
    """Stopped after a single exact pricing call, the bound is still valid
    (a Lagrangian bound at whatever multipliers it has)."""
    from terrakit.design._cutedges_cg import column_generation_bound

    for seed in (4, 5):
        adj, pop, lo, hi, _p, plans, ok = grid_cg_case(
            seed, plan_seed=1, time_limit=1, plans=1
        )
        optimum = brute_force_optimum(adj, pop, 3, lo, hi)
        assert optimum is not None
        out = column_generation_bound(
            adj, pop, [lo], [hi], 3, ok, partitions=plans, time_limit=0.3, seed=0
        )
        assert out.bound <= optimum
        assert out.objective >= optimum


def _write_grid_instance(folder: Path, name: str, pop: np.ndarray, k: int) -> Path:
    """A 4×3 grid as networkx adjacency data, plus its reference row."""
    adj = grid_adjacency(4, 3)
    n = adj.shape[0]
    data = {
        "directed": False,
        "multigraph": False,
        "graph": {},
        "nodes": [
            {"id": i, "TOTPOP": int(p), "C_X": float(i % 4), "C_Y": float(i // 4)}
            for i, p in enumerate(pop)
        ],
        "adjacency": [
            [{"id": int(j)} for j in adj.indices[adj.indptr[i] : adj.indptr[i + 1]]]
            for i in range(n)
        ],
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    (folder / "reference.csv").write_text(
        "instance,n_nodes,k_districts,variant,min_cut_edges_best\n"
        f"{name},{n},{k},with_contiguity,0\n"
    )
    return path


def test_solve_file_proves_the_brute_force_optimum(tmp_path: Path) -> None:
    """The benchmark path (trees, heuristic, column-generation bound) reports
    "optimal" only with the value that enumeration confirms, under the
    benchmark's own ±0.5 % band."""
    from terrakit.benchmarks import districting

    # populations of 1000-2500 in steps of 500 (seed 4: a total of 24,000, so
    # a district must hold 7,960-8,040, and balanced plans exist)
    pop = np.random.default_rng(4).choice([1000, 1500, 2000, 2500], size=12)
    lo, hi = districting.population_bounds(int(pop.sum()), 3)
    optimum = brute_force_optimum(
        grid_adjacency(4, 3), pop.astype(float), 3, float(lo), float(hi)
    )
    assert optimum == 8
    path = _write_grid_instance(tmp_path, "GRID_county", pop, 3)
    out = districting.solve_file(path, time_limit=10, seed=0)
    assert out["feasible"] and out["value"] == optimum
    assert out["status"] == "optimal" and out["lower_bound"] == optimum
    with pytest.raises(ValueError, match="bound must be 'cg' or 'mip'"):
        districting.solve_file(path, time_limit=1, bound="lp")


def test_tree_partitions_are_distinct_valid_and_sorted() -> None:
    from terrakit.design.cutedges import tree_partitions

    adj, pop, lo, hi = random_grid_instance(0)
    p = districting_problem(adj, pop, 3, lo, hi)
    plans = tree_partitions(p, seed=0, time_limit=2, max_plans=15)
    assert len(plans) >= 2
    cuts = [cut(adj, plan) for plan in plans]
    assert cuts == sorted(cuts)
    seen = set()
    for plan in plans:
        assert_valid(p, plan)
        # the same partition under other labels counts once
        key = frozenset(frozenset(np.flatnonzero(plan == t).tolist()) for t in range(3))
        assert key not in seen
        seen.add(key)


def _feasible_sets(
    adj: sp.csr_matrix, pop: np.ndarray, lo: float, hi: float
) -> list[np.ndarray]:
    """Every connected unit set of a small graph within the band."""
    n = adj.shape[0]
    out = []
    for code in range(1, 2**n):
        mask = (code >> np.arange(n)) & 1 == 1
        if not lo - 1e-9 <= pop[mask].sum() <= hi + 1e-9:
            continue
        idx = np.flatnonzero(mask)
        nc, _ = connected_components(adj[idx][:, idx], directed=False)
        if nc == 1:
            out.append(mask)
    return out


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("seed", [0, 1])
def test_root_pricing_matches_enumeration(seed: int, workers: int) -> None:
    """Per-root pricing, on one thread or two: its least value is the least
    reduced cost over every connected banded set, and its distinct-roots bound
    equals ``sum of the mandatory roots' minima + the least other ones``
    computed by enumeration, and is at most every partition's reduced cost."""
    from terrakit.design._cutedges_cg import _Graph, _RootPricer
    from terrakit.design.cutedges import _order

    adj, pop, lo, hi, p, plans, ok = grid_cg_case(seed, plans=3)
    g = _Graph(adj, pop.reshape(-1, 1))
    pricer = _RootPricer(g, ok, np.array([lo]), np.array([hi]), True, workers)
    pool = [plan == t for plan in plans for t in range(3)]
    costs = np.array([g.cost(c) for c in pool])
    sets = _feasible_sets(adj, pop, lo, hi)
    rank = np.empty(12, dtype=np.int64)
    rank[_order(p)] = np.arange(12)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        pi = rng.uniform(0.0, 1.5, size=12)
        found, least, total = pricer.solve(pi, 30.0, pool, costs, 3)
        z = _root_minima(g, sets, rank, pi)
        assert least == pytest.approx(min(z.values()), abs=1e-4)
        top = int(_order(p)[0])  # the unit of highest rank is always a root
        others = sorted(v for j, v in z.items() if j != top)
        assert total == pytest.approx(z[top] + sum(others[:2]), abs=1e-4)
        for s in found:
            assert any(np.array_equal(s, t) for t in sets)
        # every partition into 3 feasible sets costs at least the bound
        best = min(
            sum(g.cost(d) - float(pi[d].sum()) for d in part)
            for part in _three_partitions(sets)
        )
        assert np.isfinite(best) and total <= best + 1e-6


def _set_root(mask: np.ndarray, rank: np.ndarray) -> int:
    """The set's member of highest rank (rank 0 first): its root."""
    idx = np.flatnonzero(mask)
    return int(idx[np.argmin(rank[idx])])


def _root_minima(g, sets: list[np.ndarray], rank: np.ndarray, pi: np.ndarray):
    """Each root's least reduced cost over the enumerated sets."""
    z: dict[int, float] = {}
    for s in sets:
        root = _set_root(s, rank)
        z[root] = min(z.get(root, np.inf), g.cost(s) - float(pi[s].sum()))
    return z


def test_least_others_matches_sorting() -> None:
    """For every entry, the sum of the ``count`` least other entries (inf
    when there are too few), against deleting the entry and sorting."""
    from terrakit.design._cutedges_cg import _least_others

    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(1, 8))
        count = int(rng.integers(0, n + 1))
        vals = rng.integers(0, 5, n).astype(float)  # ties on purpose
        got = _least_others(vals, count)
        for q in range(n):
            rest = np.sort(np.delete(vals, q))
            assert got[q] == (np.inf if rest.size < count else rest[:count].sum())


def _three_partitions(sets: list[np.ndarray]) -> list[tuple[np.ndarray, ...]]:
    """Every partition of the units into three of ``sets``, once each."""
    by_key = {np.packbits(s).tobytes() for s in sets}
    out = []
    for a in sets:
        if not a[0]:
            continue
        for b in sets:
            if (a & b).any() or not b[int(np.argmin(a))]:
                continue
            c = ~(a | b)
            if np.packbits(c).tobytes() in by_key:
                out.append((a, b, c))
    return out


@pytest.mark.parametrize("seed", [0, 4, 5])
def test_root_elimination_keeps_every_partition_below_the_threshold(seed: int) -> None:
    """With a proof threshold out of reach, the pricing drops roots and rules
    out root sets: every partition whose reduced cost is at most the
    threshold uses active roots in an allowed set, the returned total is at
    most every such partition's reduced cost, and roots and sets do get
    ruled out (so the check has something to check).  Seeds 1-3 are left
    out: each has a single feasible root set, and no root can be dropped."""
    from terrakit.design._cutedges_cg import _Graph, _RootPricer
    from terrakit.design.cutedges import _order

    adj, pop, lo, hi, p, plans, ok = grid_cg_case(seed, plans=3)
    g = _Graph(adj, pop.reshape(-1, 1))
    pool = [plan == t for plan in plans for t in range(3)]
    costs = np.array([g.cost(c) for c in pool])
    sets = _feasible_sets(adj, pop, lo, hi)
    parts = _three_partitions(sets)
    rank = np.empty(12, dtype=np.int64)
    rank[_order(p)] = np.arange(12)
    rng = np.random.default_rng(seed)
    dropped = ruled_out = 0
    for _ in range(4):
        pi = rng.uniform(0.0, 1.5, size=12)
        value = np.array(
            [sum(g.cost(d) - float(pi[d].sum()) for d in part) for part in parts]
        )
        roots = [{_set_root(d, rank) for d in part} for part in parts]
        z = _root_minima(g, sets, rank, pi)
        # thresholds the distinct-roots total cannot reach: the least
        # partition's value and a higher one
        for proof in (float(value.min()), float(np.quantile(value, 0.2))):
            pricer = _RootPricer(g, ok, np.array([lo]), np.array([hi]), True)
            _, _, total = pricer.solve(pi, 30.0, pool, costs, 3, proof)
            active = set(pricer.roots[pricer.active].tolist())
            dropped += int((~pricer.active).sum())
            ruled_out += len(pricer.forbidden)
            assert not pricer.closed
            # a set is ruled out only if its roots' exact minima exceed it
            for key in pricer.forbidden:
                least = sum(z.get(int(pricer.roots[t]), np.inf) for t in key)
                assert least > proof - 1e-6
            for v, r in zip(value, roots, strict=True):
                key = tuple(sorted(int(pricer.root_index[j]) for j in r))
                allowed = r <= active and key not in pricer.forbidden
                if v <= proof:
                    assert allowed
                if allowed:
                    assert total <= v + 1e-6
    assert dropped > 0 and ruled_out > 0


def test_column_generation_flow_pricing_and_bad_pricing() -> None:
    """The single-model pricing (``pricing="flow"``) still proves the optimum;
    an unknown pricing is refused by name."""
    from terrakit.design._cutedges_cg import column_generation_bound

    adj, pop, lo, hi, _p, plans, ok = grid_cg_case(2)
    optimum = brute_force_optimum(adj, pop, 3, lo, hi)
    out = column_generation_bound(
        adj, pop, [lo], [hi], 3, ok, partitions=plans, time_limit=20, pricing="flow"
    )
    assert out.bound == optimum
    with pytest.raises(ValueError, match="pricing must be 'roots' or 'flow'"):
        column_generation_bound(
            adj, pop, [lo], [hi], 3, ok, partitions=plans, pricing="dp"
        )


def brute_force_no_contiguity(
    adj: sp.csr_matrix, pop: np.ndarray, k: int, lo: float, hi: float
) -> int | None:
    """Fewest cut edges over every labelling into k banded parts, contiguous or
    not."""
    _, cuts = _banded_labellings(adj, pop, k, lo, hi)
    return int(cuts.min()) if len(cuts) else None


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_no_contiguity_bound_is_the_relaxed_optimum(seed: int) -> None:
    """The no-contiguity bound equals the optimum over all 3**12 banded
    labellings (contiguous or not) and never exceeds the contiguous optimum."""
    from terrakit.design.cutedges import no_contiguity_bound

    adj, pop, lo, hi = random_grid_instance(seed)
    relaxed = brute_force_no_contiguity(adj, pop, 3, lo, hi)
    optimum = brute_force_optimum(adj, pop, 3, lo, hi)
    assert relaxed is not None and optimum is not None
    p = districting_problem(adj, pop, 3, lo, hi)
    bound = no_contiguity_bound(p, time_limit=20, seed=0)
    assert bound == relaxed
    assert bound <= optimum


def test_no_contiguity_bound_where_no_contiguous_plan_exists() -> None:
    """Path 0-1-2-3-4 with populations 1, 2, 2, 2, 1 and two parts of exactly
    4: no contiguous plan exists (the prefixes hold 1, 3, 5), but {0,1,4} |
    {2,3} and {1,2} | {0,3,4} cut 2 edges without contiguity, so the
    relaxation's bound is 2; with parts of 4.5 nothing is possible at all
    (inf); a non-districting problem is refused."""
    from terrakit.design.cutedges import no_contiguity_bound

    adj = grid_adjacency(5, 1)
    pop = np.array([1.0, 2.0, 2.0, 2.0, 1.0])
    assert brute_force_optimum(adj, pop, 2, 4.0, 4.0) is None
    assert brute_force_no_contiguity(adj, pop, 2, 4.0, 4.0) == 2
    p = districting_problem(adj, pop, 2, 4.0, 4.0)
    assert no_contiguity_bound(p, time_limit=20, seed=0) == 2.0
    impossible = districting_problem(adj, pop, 2, 4.5, 4.5)
    assert no_contiguity_bound(impossible, time_limit=20, seed=0) == np.inf
    with pytest.raises(ValueError, match="plain cut-edge districting problem"):
        no_contiguity_bound(p.replace(objective="compactness"), time_limit=5)


def test_solve_districting_with_the_no_contiguity_bound(
    grid4x4_k4: DesignProblem,
) -> None:
    """On the 4×4 grid the relaxation's bound (8: a part of 4 cells keeps at
    most 4 inner edges, contiguous or not) proves the optimum by itself, so
    the column generation is skipped."""
    from terrakit.design.cutedges import solve_districting

    out = solve_districting(grid4x4_k4, time_limit=20, seed=0, no_contiguity_share=0.5)
    assert out.status == "optimal" and out.objective == 8 and out.bound == 8
    assert out.info["no_contiguity_bound"] == 8
    assert "nocontig-bound" in out.info["method"]
    assert "cg-bound" not in out.info["method"]


@pytest.mark.parametrize("seed", [0, 1])
def test_root_pricing_early_stop_keeps_the_bound_valid(seed: int) -> None:
    """With a proof threshold within reach, the per-root pricing certifies it
    (total >= threshold) without exceeding the exact distinct-roots total;
    with a threshold out of reach it returns the exact total."""
    from terrakit.design._cutedges_cg import _Graph, _RootPricer

    adj, pop, lo, hi, _p, plans, ok = grid_cg_case(seed, plans=3)
    g = _Graph(adj, pop.reshape(-1, 1))
    pool = [plan == t for plan in plans for t in range(3)]
    costs = np.array([g.cost(c) for c in pool])
    rng = np.random.default_rng(seed)
    for _ in range(3):
        pi = rng.uniform(0.0, 1.5, size=12)
        exact = _RootPricer(g, ok, np.array([lo]), np.array([hi]), True)
        _, _, total = exact.solve(pi, 30.0, pool, costs, 3)
        for proof in (total - 0.75, total - 0.01):
            early = _RootPricer(g, ok, np.array([lo]), np.array([hi]), True)
            _, _, got = early.solve(pi, 30.0, pool, costs, 3, proof)
            # a root settled at a cutoff sits up to 1e-5 below it, and with
            # two roots priced at once the cutoffs depend on the order
            assert proof <= got <= total + 1e-4
        # out of reach: the exact total, or more where roots were dropped
        # (see test_root_elimination_keeps_every_partition_below_the_threshold)
        again = _RootPricer(g, ok, np.array([lo]), np.array([hi]), True)
        _, _, got = again.solve(pi, 30.0, pool, costs, 3, total + 2.0)
        if again.active.all():
            assert got == pytest.approx(total, abs=1e-4)
        else:
            assert got >= total - 1e-4


def test_column_generation_with_a_target_above_the_optimum() -> None:
    """Asked to prove a value above the optimum (early stop aiming too high),
    the bound still stops at the enumerated optimum."""
    from terrakit.design._cutedges_cg import column_generation_bound

    for seed in (0, 3):
        adj, pop, lo, hi, _p, plans, ok = grid_cg_case(seed)
        optimum = brute_force_optimum(adj, pop, 3, lo, hi)
        assert optimum is not None
        bounds = [
            column_generation_bound(
                adj,
                pop,
                [lo],
                [hi],
                3,
                ok,
                partitions=plans,
                target=target,
                time_limit=20,
                seed=0,
            ).bound
            for target in (optimum + 2, optimum)
        ]
        assert bounds[0] <= optimum
        assert bounds[1] == optimum


def _root_sets_case(seed: int):
    """A grid case with one exact root pricing at random multipliers, as the
    :class:`RootSets` the column generation hands over (every root active,
    every root set allowed)."""
    import itertools

    from terrakit.design._cutedges_cg import RootSets, _Graph, _RootPricer

    adj, pop, lo, hi, p, plans, ok = grid_cg_case(seed, plans=3)
    g = _Graph(adj, pop.reshape(-1, 1))
    pricer = _RootPricer(g, ok, np.array([lo]), np.array([hi]), True)
    pool = [plan == t for plan in plans for t in range(3)]
    pi = np.random.default_rng(seed).uniform(0.0, 1.5, size=12)
    pricer.solve(pi, 30.0, pool, np.array([g.cost(c) for c in pool]), 3)
    mand = tuple(np.flatnonzero(pricer.mandatory).tolist())
    free = np.flatnonzero(~pricer.mandatory).tolist()
    sets = [
        tuple(sorted(mand + c)) for c in itertools.combinations(free, 3 - len(mand))
    ]
    state = RootSets(
        pricer.roots, pricer.active, pricer.mandatory, list(pricer.history), sets
    )
    return adj, pop, lo, hi, p, ok, g, pi, state


@pytest.mark.parametrize("seed", [0, 1])
def test_lagrangian_cuts_hold_for_every_district(seed: int) -> None:
    """Each cut, evaluated at every connected banded district rooted at its
    root (x and s at their integer values), equals the district's reduced
    cost minus the root's bound, so it is at least 0."""
    from terrakit.design._cutedges_sets import _cuts
    from terrakit.design.cutedges import _build, _edge_pairs, _order

    adj, pop, lo, hi, p, ok, g, pi, state = _root_sets_case(seed)
    model, ii, jj, x0, _const = _build(p, ok)
    eu, ev, ew, es, js = _edge_pairs(p, ok)
    r, c, v, count = _cuts(p, state, ii, jj, x0, x0 + ii.size, es, js, ew)
    assert count == int(np.isfinite(state.history[0][1]).sum())
    rows = sp.csr_matrix((v, (r, c)), shape=(count, model.n_cols))
    row_root = [int(jj[c[r == q][0] - x0]) for q in range(count)]
    rank = np.empty(12, dtype=np.int64)
    rank[_order(p)] = np.arange(12)
    lbs = state.history[0][1]
    checked: set[int] = set()
    for d in _feasible_sets(adj, pop, lo, hi):
        j = _set_root(d, rank)
        vec = np.zeros(model.n_cols)
        vec[x0 + np.flatnonzero((jj == j) & d[ii])] = 1.0
        inside = np.flatnonzero((js == j) & d[eu[es]] & d[ev[es]])
        vec[x0 + ii.size + inside] = 1.0
        for q in np.flatnonzero(np.array(row_root) == j).tolist():
            lhs = float(rows[q].toarray().ravel() @ vec)
            assert lhs >= -1e-6
            # the left side is the district's reduced cost minus the bound
            t = int(np.flatnonzero(state.roots == j)[0])
            assert lhs == pytest.approx(g.cost(d) - pi[d].sum() - lbs[t], abs=1e-6)
            checked.add(q)
    assert checked == set(range(count))


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_root_set_branch_proves_the_optimum_and_finds_what_beats_a_target(
    seed: int,
) -> None:
    """With the target at the enumerated optimum the branch over the root
    sets proves it; with the target one above, it must not claim it: it
    returns a valid partition at the optimum and a bound at most that."""
    from terrakit.design._cutedges_sets import prove_root_sets

    adj, pop, lo, hi, p, ok, _g, _pi, state = _root_sets_case(seed)
    optimum = brute_force_optimum(adj, pop, 3, lo, hi)
    assert optimum is not None
    proof = prove_root_sets(p, ok, state, optimum, time_limit=30)
    assert proof.bound == optimum
    assert proof.labels is None
    assert proof.info["root_sets_proved"] == proof.info["root_sets"] == len(state.sets)
    beaten = prove_root_sets(p, ok, state, optimum + 1, time_limit=30)
    assert beaten.labels is not None
    assert beaten.objective == cut(adj, beaten.labels) == optimum
    assert_valid(p, beaten.labels)
    assert beaten.bound <= optimum


def test_generation_hands_over_root_sets_that_keep_the_optimum() -> None:
    """``handoff=0``: the generation stops after its first exact call and
    hands over the root sets left against a target one above the optimum.
    Every optimal partition (enumerated) uses active roots in a listed set,
    the branch with that target returns one, and with the optimum as target
    it proves it."""
    from terrakit.design._cutedges_cg import column_generation_bound
    from terrakit.design._cutedges_sets import prove_root_sets
    from terrakit.design.cutedges import _order

    handed = 0
    for seed in (0, 4, 5):
        adj, pop, lo, hi, p, plans, ok = grid_cg_case(seed, plans=3)
        optimum = brute_force_optimum(adj, pop, 3, lo, hi)
        assert optimum is not None
        out = column_generation_bound(
            adj,
            pop,
            [lo],
            [hi],
            3,
            ok,
            partitions=plans,
            target=optimum + 1,
            time_limit=20,
            seed=0,
            handoff=0.0,
        )
        state = out.root_sets
        assert state is not None and state.sets is not None
        handed += int(not state.active.all() or len(state.sets) > 0)
        rank = np.empty(12, dtype=np.int64)
        rank[_order(p)] = np.arange(12)
        lab, cuts = _banded_labellings(adj, pop, 3, lo, hi)
        optimal = 0
        for q in np.flatnonzero(cuts == optimum).tolist():
            parts = [lab[q] == t for t in range(3)]
            if all(
                connected_components(adj[m][:, m], directed=False)[0] == 1
                for m in parts
            ):
                optimal += 1
                idx = [
                    int(np.flatnonzero(state.roots == _set_root(m, rank))[0])
                    for m in parts
                ]
                assert state.active[idx].all()
                assert tuple(sorted(idx)) in state.sets
        assert optimal > 0
        beaten = prove_root_sets(p, ok, state, optimum + 1, time_limit=30)
        assert beaten.labels is not None and beaten.objective == optimum
        assert_valid(p, beaten.labels)
        proof = prove_root_sets(p, ok, state, optimum, time_limit=30)
        assert proof.bound == optimum
    assert handed == 3


def test_recombination_reaches_the_grid_optimum(grid4x4_k4: DesignProblem) -> None:
    """From four rows (12 cut edges) the recombination of two rows into two
    2×2 blocks leads to the optimum 8 (see the fixture)."""
    import time

    from terrakit.design.cutedges import recombine

    rows = np.repeat(np.arange(4), 4)
    assert cut(grid4x4_k4.adjacency, rows) == 12
    for seed in (0, 1):
        out = recombine(grid4x4_k4, rows, seed=seed, deadline=time.perf_counter() + 0.5)
        assert_valid(grid4x4_k4, out)
        assert cut(grid4x4_k4.adjacency, out) == 8


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_recombination_reaches_the_brute_force_optimum(seed: int) -> None:
    """From the worst tree plan of a random banded 4×3 grid, the annealing
    ends at the enumerated optimum with every band met."""
    import time

    from terrakit.design.cutedges import recombine, tree_partitions

    adj, pop, lo, hi = random_grid_instance(seed)
    p = districting_problem(adj, pop, 3, lo, hi)
    plans = tree_partitions(p, seed=seed, time_limit=1, max_plans=20)
    out = recombine(p, plans[-1], seed=seed, deadline=time.perf_counter() + 0.5)
    assert_valid(p, out)
    assert cut(adj, out) == brute_force_optimum(adj, pop, 3, lo, hi)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recombination_keeps_bands_and_weights(seed: int) -> None:
    """Weighted edges, several activities, a hot annealing: every plan that
    comes back meets both bands, is connected, and weighs no more than the
    start; with no temperature and a step budget the result depends only on
    the seed."""
    import time

    from terrakit.design._recom import recombine_cut_edges
    from terrakit.design.cutedges import tree_partitions

    rng = np.random.default_rng(seed)
    adj = grid_adjacency(6, 5).tocoo()
    w = rng.uniform(0.2, 3.0, adj.nnz)
    upper = adj.row < adj.col
    weights = sp.coo_matrix(
        (w[upper], (adj.row[upper], adj.col[upper])), shape=adj.shape
    )
    weights = (weights + weights.T).tocsr()
    vals = rng.uniform(10, 30, size=(30, 2))
    mean = vals.sum(axis=0) / 3
    lo, hi = 0.85 * mean, 1.15 * mean
    p = DesignProblem(
        unit_ids=np.arange(30),
        activities={"a": vals[:, 0], "b": vals[:, 1]},
        n_territories=3,
        cost=np.zeros((30, 30)),
        lower={"a": np.full(3, lo[0]), "b": np.full(3, lo[1])},
        upper={"a": np.full(3, hi[0]), "b": np.full(3, hi[1])},
        center_mode="choose",
        center_units=np.arange(30),
        adjacency=weights,
        objective="cut_edges",
    )
    start = tree_partitions(p, seed=seed, time_limit=2, max_plans=5)[-1]

    def weight(labels: np.ndarray) -> float:
        e = sp.triu(weights, k=1).tocoo()
        return float(e.data[labels[e.row] != labels[e.col]].sum())

    def run(seconds: float, **kw: float) -> tuple[np.ndarray, int]:
        return recombine_cut_edges(
            weights,
            vals,
            lo,
            hi,
            start,
            np.random.default_rng(seed),
            deadline=time.perf_counter() + seconds,
            **kw,
        )

    out, _ = run(0.3, temperature=5.0)
    assert weight(out) <= weight(start) + 1e-9
    for t in range(3):
        members = np.flatnonzero(out == t)
        assert np.all(vals[members].sum(axis=0) >= lo - 1e-9)
        assert np.all(vals[members].sum(axis=0) <= hi + 1e-9)
        sub = weights[members][:, members]
        assert connected_components(sub, directed=False)[0] == 1
    runs = [run(60, patience=300) for _ in range(2)]
    assert np.array_equal(runs[0][0], runs[1][0]) and runs[0][1] == runs[1][1]
    assert weight(runs[0][0]) <= weight(start) + 1e-9


def test_trivial_bound_counts_components_and_weights() -> None:
    """``k`` parts of a graph with ``c`` components are joined by at least
    ``k - c`` edges: the lightest ones."""
    from terrakit.design.cutedges import _trivial_bound

    adj = grid_adjacency(3, 3, skip=(4,))  # the centre cell is an island
    p = districting_problem(adj, np.ones(9), 3, 3.0, 3.0)
    assert _trivial_bound(p) == 1.0
    p = districting_problem(0.5 * adj, np.ones(9), 4, 2.0, 3.0)
    assert _trivial_bound(p) == 1.0  # two edges of 0.5
    p = districting_problem(adj, np.ones(9), 2, 4.0, 5.0)
    assert _trivial_bound(p) == 0.0


def test_solve_districting_anneals_the_tree_plan(grid4x4_k4: DesignProblem) -> None:
    from terrakit.design.cutedges import solve_districting

    out = solve_districting(grid4x4_k4, time_limit=10, seed=0, bound="cg")
    assert out.info["method"].startswith("tree+recom")
    assert out.info["recom_value"] == 8.0


def test_large_graph_path_recombines_then_moves_units() -> None:
    """Above ``exact_nodes`` no exact bound runs: the tree plan is annealed by
    recombination, then the heuristic continues from it; the plan meets every
    band and the bound is the valid trivial one."""
    from terrakit.design.cutedges import solve_districting

    adj, pop, lo, hi = random_grid_instance(1)
    p = districting_problem(adj, pop, 3, lo, hi)
    out = solve_districting(p, time_limit=3, seed=0, exact_nodes=5)
    assert out.info["method"] == "tree+recom+heuristic"
    assert out.status == "feasible" and out.bound == 2.0
    assert out.labels is not None
    assert_valid(p, out.labels)
    assert out.objective == cut(adj, out.labels) <= out.info["recom_value"]


def test_no_solution_warns_and_says_it_is_no_proof() -> None:
    """Path 1-2-2-2-1 in two parts of exactly 4: no contiguous plan exists;
    without an exact bound (exact_nodes=0) nothing proves it, so the status
    is "no_solution" with a TimeLimitWarning that says so (there was none)."""
    import re

    from terrakit.design.cutedges import solve_districting
    from terrakit.exceptions import TimeLimitWarning

    p = districting_problem(
        grid_adjacency(5, 1), np.array([1.0, 2.0, 2.0, 2.0, 1.0]), 2, 4.0, 4.0
    )
    with pytest.warns(TimeLimitWarning) as seen:
        out = solve_districting(p, time_limit=1, seed=0, exact_nodes=0)
    assert out.status == "no_solution" and out.labels is None
    texts = [str(w.message) for w in seen if w.category is TimeLimitWarning]
    assert len(texts) == 1
    assert re.fullmatch(
        r"status 'no_solution': no partition meeting every band was found in "
        r"[0-9.]+ s of the 1 s time limit \(this is not a proof that none "
        r"exists\)\. Fix: raise time_limit",
        texts[0],
    )
    # the exact model, given the time on this small graph, proves it
    out = solve_districting(p, time_limit=5, seed=0)
    assert out.status == "infeasible"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"time_limit": float("nan")},
            "time_limit must be a positive number of seconds, got nan",
        ),
        ({"time_limit": 0}, "time_limit must be a positive number of seconds, got 0"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"seed": None}, "seed must be a non-negative integer, got None"),
    ],
)
def test_solve_districting_checks_time_limit_and_seed(
    grid4x4_k4: DesignProblem, kw: dict, message: str
) -> None:
    import re

    from terrakit.design.cutedges import solve_districting
    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError, match="^" + re.escape(message)):
        solve_districting(grid4x4_k4, **kw)


# -- QA round 19 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (np.zeros(12, dtype=int), "start has 12 entries for the 9 units"),
        (["u1"] * 9, "start must hold whole center columns in [0, 9)"),
    ],
)
def test_a_bad_warm_start_is_refused_by_name(
    grid3x3_k3: DesignProblem, start: object, message: str
) -> None:
    """Regression (QA round 19): solve_mip's cut-edge path crashed with a bare
    IndexError (12 entries for 9 units) or ValueError (unit ids)."""
    from terrakit.design.cutedges import solve_as_result, solve_districting
    from terrakit.design.mip import solve_mip
    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError, match=re.escape(message)):
        solve_mip(grid3x3_k3, time_limit=5, start=start)
    with pytest.raises(SpecificationError, match=re.escape(message)):
        solve_as_result(grid3x3_k3, time_limit=5, start=start)  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="start_labels has 12 entries"):
        solve_districting(grid3x3_k3, time_limit=5, start_labels=np.zeros(12))


def test_a_short_time_limit_still_runs_the_exact_bound(
    grid3x3_k3: DesignProblem,
) -> None:
    """Regression (QA round 19): at time_limit=2 the fixed 1 s reserve left
    time for neither the column generation nor the rooted model, so no exact
    bound ran and the 9-unit problem came back as "time_limit" (bound 2,
    optimum 6) with a warning that the clock had stopped it.  The rooted
    model now gets the time (its proof takes ~0.1 s)."""
    import warnings

    from terrakit.design.mip import solve_mip

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no TimeLimitWarning
        res = solve_mip(grid3x3_k3, time_limit=2, seed=0)
    assert (res.status, res.objective, res.lower_bound) == ("optimal", 6.0, 6.0)
    assert res.info["method"].endswith("+cutedges-mip")


# -- QA round 20 --------------------------------------------------------------------


def _edge_problem(
    edges: list[tuple[int, int]], pop: list[float], lo: float, hi: float, **kw: bool
) -> DesignProblem:
    """A 2-district problem on the graph of ``edges``."""
    n = len(pop)
    e = np.array(edges)
    adj = sp.coo_matrix(
        (np.ones(2 * len(e)), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
        shape=(n, n),
    ).tocsr()
    return districting_problem(adj, np.array(pop), 2, lo, hi, **kw)


@pytest.fixture
def gap_graph_8() -> DesignProblem:
    """8 units, 16 edges, 2 districts in [14, 26]: optimum 6 cut edges (brute
    force); at mip_gap=0.3 HiGHS stops at a 7-cut plan with its bound at 6."""
    edges = [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6), (0, 7), (1, 3)]
    edges += [(1, 7), (2, 3), (2, 4), (2, 6), (3, 5), (3, 6), (3, 7), (6, 7)]
    return _edge_problem(edges, [7, 3, 1, 9, 1, 8, 2, 9], 14.0, 26.0)


def test_a_mip_gap_stop_is_not_called_optimal(gap_graph_8: DesignProblem) -> None:
    """Regression (QA round 20): HiGHS says "optimal" once the gap is within
    mip_gap, and solve_cut_edges then set bound = objective (7 > optimum 6)."""
    adj = sp.csr_matrix(gap_graph_8.adjacency)
    pop = gap_graph_8.activities["pop"]
    assert brute_force_optimum(adj, pop, 2, 14.0, 26.0) == 6
    out = solve_cut_edges(gap_graph_8, time_limit=10, mip_gap=0.3)
    assert (out.status, out.objective, out.bound) == ("feasible", 7.0, 6.0)
    assert out.info["stopped_at_gap"] == 1.0
    # the default gap closes it
    out = solve_cut_edges(gap_graph_8, time_limit=10)
    assert (out.status, out.objective, out.bound) == ("optimal", 6.0, 6.0)


def test_solve_districting_keeps_the_true_bound_of_a_gap_stop() -> None:
    """Regression (QA round 20): solve_districting took the rooted model's
    bound = objective for a proof: "optimal" 11/11 where the optimum is 8.
    The start plan (11 cuts) is all it has (exact_share=1: no tree search)."""
    import warnings

    from terrakit.design.cutedges import solve_districting

    edges = [(0, 1), (0, 2), (0, 4), (0, 6), (0, 8), (1, 3), (1, 7), (1, 8)]
    edges += [(2, 3), (2, 4), (2, 5), (2, 7), (3, 4), (3, 5), (3, 6), (3, 7)]
    edges += [(4, 5), (4, 7), (4, 8), (5, 6), (5, 7), (5, 8), (6, 8), (7, 8)]
    p = _edge_problem(edges, [4, 1, 9, 6, 1, 4, 3, 4, 2], 12.0, 22.0)
    assert (
        brute_force_optimum(
            sp.csr_matrix(p.adjacency), p.activities["pop"], 2, 12.0, 22.0
        )
        == 8
    )
    start = np.array([0, 0, 1, 1, 1, 1, 0, 0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a gap stop is asked for: no warning
        out = solve_districting(
            p,
            time_limit=5,
            bound="mip",
            exact_share=1.0,
            mip_gap=0.9,
            start_labels=start,
        )
    assert (out.status, out.objective, out.bound) == ("feasible", 11.0, 6.0)


@pytest.mark.parametrize("contiguity", [True, False])
def test_a_negative_activity_does_not_rule_out_roots(contiguity: bool) -> None:
    """Regression (QA round 20): 4-cycle, activity [3, -1, 2.5, 0] (net sales
    after returns), band [2, 3]: {0, 1} = 2 and {2, 3} = 2.5 cut 2 edges, but
    the root filter summed the whole piece after a root (1.5 < 2) and the
    model "proved" infeasibility: solve_mip raised InfeasibleError."""
    from terrakit.design.cutedges import solve_districting
    from terrakit.design.mip import solve_mip

    p = _edge_problem(
        [(0, 1), (1, 2), (2, 3), (0, 3)],
        [3, -1, 2.5, 0],
        2.0,
        3.0,
        contiguity=contiguity,
    )
    out = solve_cut_edges(p, time_limit=5)
    assert (out.status, out.objective, out.bound) == ("optimal", 2.0, 2.0)
    out = solve_districting(p, time_limit=3, seed=0)
    assert (out.status, out.objective, out.bound) == ("optimal", 2.0, 2.0)
    res = solve_mip(p, time_limit=3, seed=0)
    assert (res.status, res.objective) == ("optimal", 2.0)


def test_a_lower_band_of_zero_binds_with_a_negative_activity() -> None:
    """Regression (QA round 20): with L = 0 the lower band rows were left out
    (no territory can fall below 0 when every value is >= 0): the plan {6}
    against the rest (cut 1) has a territory at -1 < 0; optimum 3 (brute
    force)."""
    edges = [(0, 1), (0, 3), (0, 4), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6)]
    pop = [2.0, -3.0, -1.0, 0.0, 3.0, -2.0, 2.0]
    p = _edge_problem(edges, pop, 0.0, 3.0)
    assert (
        brute_force_optimum(sp.csr_matrix(p.adjacency), np.array(pop), 2, 0.0, 3.0) == 3
    )
    out = solve_cut_edges(p, time_limit=5)
    assert (out.status, out.objective, out.bound) == ("optimal", 3.0, 3.0)
    assert_valid(p, out.labels)


def test_solve_districting_keeps_a_plan_the_rooted_model_calls_infeasible(
    monkeypatch: pytest.MonkeyPatch, grid3x3_k3: DesignProblem
) -> None:
    """Regression (QA round 20): an "infeasible" from the rooted model threw
    away the plan meeting every band that the tree search had found."""
    from terrakit.design import cutedges

    def wrong(*args: object, **kw: object) -> cutedges.CutEdgeOutcome:
        return cutedges.CutEdgeOutcome(None, np.inf, np.inf, "infeasible", {})

    monkeypatch.setattr(cutedges, "solve_cut_edges", wrong)
    out = cutedges.solve_districting(grid3x3_k3, time_limit=3, bound="mip", warn=False)
    assert out.status != "infeasible" and out.objective == 6.0
    assert out.info["cutedges_mip_contradicted"] is True
    assert_valid(grid3x3_k3, out.labels)


def test_solve_cut_edges_stops_at_its_time_limit(grid4x4_k4: DesignProblem) -> None:
    """Regression (QA round 20): the fixing and the build were never checked
    against time_limit and HiGHS got at least 0.05 s after it (NV tracts at
    time_limit=1: 10 s, no solution).  Now the model is not solved, with a
    warning naming the step."""
    from terrakit.exceptions import TimeLimitWarning

    with pytest.warns(TimeLimitWarning, match="the fixing used it up, so the rooted"):
        out = solve_cut_edges(grid4x4_k4, time_limit=1e-9)
    assert (out.status, out.labels, out.bound) == ("no_solution", None, 0.0)
    assert out.info["skipped_solve"] == 1.0


def test_solve_cut_edges_skips_a_model_too_large_for_the_time_left(
    monkeypatch: pytest.MonkeyPatch, grid4x4_k4: DesignProblem
) -> None:
    """The size check (about 5 s per million columns and rows) made to fire
    on the grid: no HiGHS run, a warning with the model's size."""
    from terrakit.design import cutedges
    from terrakit.exceptions import TimeLimitWarning

    monkeypatch.setattr(cutedges, "_SIZE_PER_SECOND", 1.0)
    with pytest.warns(TimeLimitWarning, match=r"HiGHS needs about [0-9.e+]+ s to load"):
        out = solve_cut_edges(grid4x4_k4, time_limit=60)
    assert out.status == "no_solution" and "solve_seconds" not in out.info

"""The benchmarks' side-by-side baseline (``benchmarks/plain_mip.py``) solves
the same problem as terrakit: CBC's optima equal enumerated optima."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from terrakit.design.problem import DesignProblem

from .conftest import grid_adjacency
from .test_cutedges import brute_force_optimum, districting_problem


def _load_plain_mip() -> Any:
    """``benchmarks/plain_mip.py`` by file: putting ``benchmarks/`` on
    ``sys.path`` would let its ``distributed.py`` shadow dask's package."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "plain_mip.py"
    spec = importlib.util.spec_from_file_location("terrakit_bench_plain_mip", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plain_pulp_cbc = _load_plain_mip().plain_pulp_cbc


def _enumerated_optimum(problem: DesignProblem) -> float:
    """Least objective over every assignment that breaks no constraint."""
    best = np.inf
    for cols in itertools.product(range(problem.n_centers), repeat=problem.n_units):
        c = np.array(cols)
        if not problem.violations(c):
            best = min(best, problem.evaluate(c))
    return best


def _grid3x3(seed: int) -> tuple[sp.csr_matrix, np.ndarray, float, float]:
    """3×3 grid, populations 50–149, 3 districts within ±10 % of the mean
    (CBC proves these in about a second; a 4×3 grid takes it over 30 s)."""
    pop = np.random.default_rng(seed).integers(50, 150, size=9).astype(float)
    mean = pop.sum() / 3
    return grid_adjacency(3, 3), pop, 0.9 * mean, 1.1 * mean


@pytest.mark.parametrize("seed", [0, 1])
def test_plain_cut_edge_model_finds_the_brute_force_optimum(seed: int) -> None:
    adj, pop, lo, hi = _grid3x3(seed)
    out = plain_pulp_cbc(districting_problem(adj, pop, 3, lo, hi), time_limit=30)
    assert out["status"] == "optimal"
    assert out["violations"] == []
    assert out["value"] == brute_force_optimum(adj, pop, 3, lo, hi)
    assert out["bound"] == out["value"]


def test_plain_model_meets_the_grid_optimum(grid3x3_problem: DesignProblem) -> None:
    out = plain_pulp_cbc(grid3x3_problem, time_limit=30)
    assert (out["status"], out["value"], out["violations"]) == ("optimal", 14.0, [])


def test_plain_model_keeps_territories_connected() -> None:
    """On a path 0-1-2-3-4 with centers at both ends, units 1 and 3 prefer
    the far center: without contiguity the plan would be {0, 3} / {1, 2, 4}
    (cost 0); connected, the enumerated optimum is dearer."""
    cost = np.array([[0, 9], [5, 0], [0, 0], [0, 5], [9, 0]], dtype=float)
    p = DesignProblem(
        unit_ids=np.arange(5),
        activities={"workload": np.ones(5)},
        tolerance={"workload": 0.5},
        n_territories=2,
        cost=cost,
        center_units=np.array([0, 4]),
        adjacency=grid_adjacency(5, 1),
        contiguity=True,
        name="path",
    )
    best = _enumerated_optimum(p)
    assert best > 0
    out = plain_pulp_cbc(p, time_limit=30)
    assert (out["status"], out["value"], out["violations"]) == ("optimal", best, [])
    free = plain_pulp_cbc(p.replace(contiguity=False), time_limit=30)
    assert free["value"] == 0.0


def test_plain_model_reports_an_impossible_band() -> None:
    adj, pop, _lo, _hi = _grid3x3(0)
    mean = pop.sum() / 3
    out = plain_pulp_cbc(
        districting_problem(adj, pop, 3, mean + 1, mean + 2), time_limit=30
    )
    assert out["status"] == "infeasible"
    assert np.isnan(out["value"])

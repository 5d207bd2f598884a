"""Reader and checker of the dtdp benchmark (Aly, Gabor & Sleptchenko 2024)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from terrakit.benchmarks import dtdp

FOLDER = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "dtdp"
pytestmark = pytest.mark.skipif(
    not (FOLDER / "planar500_G0.graphml").exists(),
    reason="shared benchmarks not present",
)


@pytest.fixture(scope="module")
def g0() -> dtdp.GraphInstance:
    """planar500_G0: 500 nodes, Delaunay graph, 10 districts, ±5 %."""
    return dtdp.read_instance(FOLDER / "planar500_G0.graphml")


def test_reader(g0: dtdp.GraphInstance) -> None:
    assert g0.n_nodes == 500
    assert g0.node_ids[0] == "0"
    assert g0.activity_names == ("workload", "n_customers", "demand")
    total = g0.activities.sum(axis=0)
    # integer bands: ceil(0.95 T/10), floor(1.05 T/10)
    assert np.all(g0.lower >= 0.95 * total / 10)
    assert np.all(g0.lower - 1 < 0.95 * total / 10)
    assert np.all(g0.upper <= 1.05 * total / 10)
    assert g0.reference["best_feasible_objective"] == pytest.approx(46.1106)


def test_checker_diameter_uses_whole_graph_paths(g0: dtdp.GraphInstance) -> None:
    """One district = all nodes: diameter = graph diameter; band violations."""
    dist = dtdp.shortest_path_lengths(g0)
    labels = np.zeros(g0.n_nodes, dtype=int)
    value, problems = dtdp.check_solution(g0, g0.labels_to_solution(labels), dist)
    assert value == pytest.approx(float(dist.max()))
    assert any("expected 10" in p for p in problems)
    assert any("outside ±5%" in p for p in problems)


def test_solve_is_feasible_and_checked(g0: dtdp.GraphInstance) -> None:
    """The engine's answer passes the independent checker; value recomputed."""
    row = dtdp.solve_file(
        # max_iter decides (about 5 s); the limit leaves room for a loaded machine
        FOLDER / "planar500_G0.graphml",
        time_limit=30,
        seed=0,
        max_iter=20_000,
    )
    solution = json.loads(json.dumps(row["solution"]))
    value, problems = dtdp.check_solution(g0, solution)
    assert problems == []
    assert value == pytest.approx(row["value"])
    assert row["lower_bound"] <= value
    assert 0 < row["cpu_seconds"]
    assert row["load_1min"] >= 0


def test_truncated_graphml_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "planar500_G0.graphml"
    f.write_text((FOLDER / "planar500_G0.graphml").read_text()[:5000])
    with pytest.raises(
        ValueError,
        match=r"planar500_G0\.graphml: not a valid dtdp instance: not well-formed "
        r"GraphML",
    ):
        dtdp.read_instance(f)


class _Solved(Exception):
    """Raised by a stand-in solver with what it got."""


def test_solve_file_passes_n_districts_and_delta_to_the_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import terrakit as tk
    from terrakit.design import heuristic

    def fake(problem, **kw):
        raise _Solved(problem.n_territories)

    monkeypatch.setattr(heuristic, "solve_heuristic", fake)
    with pytest.raises(_Solved) as seen:
        tk.benchmarks.run(
            "dtdp", [FOLDER / "planar500_G0.graphml"], time_limit=1, n_districts=5
        )
    assert seen.value.args == (5,)
    with pytest.raises(ValueError, match=r"delta must be a number in \[0, 1\)"):
        tk.benchmarks.run(
            "dtdp", [FOLDER / "planar500_G0.graphml"], time_limit=1, delta=1.5
        )

"""Reader and checker of the dtdp benchmark (Aly, Gabor & Sleptchenko 2024)."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest

from terrakit.benchmarks import dtdp

FOLDER = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "dtdp"
# only the tests on the published files need them; the others write their own
needs_folder = pytest.mark.skipif(
    not (FOLDER / "planar500_G0.graphml").exists(),
    reason="shared benchmarks not present",
)


@pytest.fixture(scope="module")
def g0() -> dtdp.GraphInstance:
    """planar500_G0: 500 nodes, Delaunay graph, 10 districts, ±5 %."""
    return dtdp.read_instance(FOLDER / "planar500_G0.graphml")


@needs_folder
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


@needs_folder
def test_checker_diameter_uses_whole_graph_paths(g0: dtdp.GraphInstance) -> None:
    """One district = all nodes: diameter = graph diameter; band violations."""
    dist = dtdp.shortest_path_lengths(g0)
    labels = np.zeros(g0.n_nodes, dtype=int)
    value, problems = dtdp.check_solution(g0, g0.labels_to_solution(labels), dist)
    assert value == pytest.approx(float(dist.max()))
    assert any("expected 10" in p for p in problems)
    assert any("outside ±5%" in p for p in problems)


@needs_folder
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


@needs_folder
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


@needs_folder
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


def _write_path_graphml(path: Path, workloads: list[int]) -> Path:
    """A path graph 0-1-2-... whose three activities all equal ``workloads``."""
    keys = "".join(
        f'<key id="{a}" for="node" attr.name="{a}" attr.type="int"/>'
        for a in dtdp.ACTIVITIES
    )
    nodes = "".join(
        f'<node id="{i}">'
        + "".join(f'<data key="{a}">{w}</data>' for a in dtdp.ACTIVITIES)
        + "</node>"
        for i, w in enumerate(workloads)
    )
    edges = "".join(
        f'<edge source="{i}" target="{i + 1}"/>' for i in range(len(workloads) - 1)
    )
    path.write_text(
        '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/'
        f'xmlns">{keys}<graph edgedefault="undirected">{nodes}{edges}</graph>'
        "</graphml>"
    )
    return path


def test_a_run_without_a_feasible_plan_is_no_solution(tmp_path: Path) -> None:
    """Regression (QA round 9): a heuristic run that found no feasible plan
    was labelled "infeasible" (which needs a proof).  Path 1-3-1-1, two
    districts of exactly 3: only {0, 2, 3} | {1} balances, and it is not
    connected."""
    f = _write_path_graphml(tmp_path / "path4.graphml", [1, 3, 1, 1])
    row = dtdp.solve_file(f, time_limit=1, seed=0, n_districts=2)
    assert row["feasible"] is False
    assert row["status"] == "no_solution"
    assert "outside ±5% of 3.0" in row["problems"]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"time_limit": -1}, "time_limit must be a positive number of seconds, got -1"),
        ({"seed": None}, "seed must be a non-negative integer, got None"),
    ],
)
def test_solve_file_checks_time_limit_and_seed_first(
    tmp_path: Path, kw: dict, message: str
) -> None:
    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError, match="^" + re.escape(message)):
        dtdp.solve_file(tmp_path / "never_read.graphml", **kw)


def test_repeated_node_ids_are_refused(tmp_path: Path) -> None:
    """Regression (QA round 17): a repeated id rewired the graph (an edge of
    the first node of that id went to the last one, and one edge was lost)."""
    g = tmp_path / "planar6_G0.graphml"
    data = "".join(
        f'<data key="d{i}">{v}</data>' for i, v in enumerate((5, 1, 10, 0.0, 0.0))
    )
    keys = "".join(
        f'<key id="d{i}" for="node" attr.name="{a}" attr.type="double"/>'
        for i, a in enumerate(("workload", "n_customers", "demand", "x", "y"))
    )
    nodes = "".join(f'<node id="{i}">{data}</node>' for i in "012344")
    edges = "".join(
        f'<edge source="{a}" target="{b}"/>' for a, b in ("01", "12", "34", "03")
    )
    g.write_text(
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<graphml xmlns="http://graphml.graphdrawing.org/xmlns">{keys}'
        f'<graph edgedefault="undirected">{nodes}{edges}</graph></graphml>'
    )
    with pytest.raises(ValueError) as err:
        dtdp.read_instance(g, n_districts=2)
    assert str(err.value) == (
        f"{g}: not a valid dtdp instance: repeated node ids '4'; each <node> "
        "needs its own id (the edges name their ends by id)"
    )


def _write_graphml(path: Path, keys: str, nodes: str, edges: str) -> Path:
    path.write_text(
        '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/'
        f'xmlns">{keys}<graph edgedefault="undirected">{nodes}{edges}</graph>'
        "</graphml>"
    )
    return path


_ACT_KEYS = "".join(
    f'<key id="{a}" for="node" attr.name="{a}" attr.type="int"/>'
    for a in dtdp.ACTIVITIES
)
_NODES4 = "".join(
    f'<node id="{i}">'
    + "".join(f'<data key="{a}">10</data>' for a in dtdp.ACTIVITIES)
    + "</node>"
    for i in range(4)
)


@pytest.mark.parametrize("bad", ["-2.0", "nan", "inf", "far"])
def test_a_negative_or_nan_distance_is_refused(tmp_path: Path, bad: str) -> None:
    """Regression (QA round 18): a negative or NaN edge distance was read,
    and the shortest paths then ran forever whatever the time limit."""
    keys = _ACT_KEYS + '<key id="d5" for="edge" attr.name="distance"/>'
    edges = "".join(
        f'<edge source="{i}" target="{i + 1}"><data key="d5">{d}</data></edge>'
        for i, d in enumerate(("1", bad, bad))
    )
    f = _write_graphml(tmp_path / "neg.graphml", keys, _NODES4, edges)
    with pytest.raises(ValueError) as err:
        dtdp.read_instance(f, n_districts=2)
    assert str(err.value) == (
        f"{f}: not a valid dtdp instance: edge 1–2 ({bad!r}) has a distance that "
        "is not a finite number ≥ 0, and 1 more edge(s); edge distances are "
        "lengths of 0 or more (a sign typo?)"
    )


def test_graphml_key_defaults_hold_where_an_element_has_no_data(
    tmp_path: Path,
) -> None:
    """Regression (QA round 18): a key's <default> was ignored, so an edge
    without a distance got 1.0 instead of the file's default (2.5), and a
    node without a workload was refused although the key gives one."""
    keys = (
        '<key id="d5" for="edge" attr.name="distance" attr.type="double">'
        "<default>2.5</default></key>"
        '<key id="w" for="node" attr.name="workload" attr.type="int">'
        "<default>7</default></key>"
        + "".join(
            f'<key id="{a}" for="node" attr.name="{a}" attr.type="int"/>'
            for a in ("n_customers", "demand")
        )
    )
    nodes = "".join(
        f'<node id="{i}"><data key="n_customers">1</data><data key="demand">2'
        "</data>" + ('<data key="w">3</data>' if i == 0 else "") + "</node>"
        for i in range(3)
    )
    edges = (
        '<edge source="0" target="1"/>'
        '<edge source="1" target="2"><data key="d5">4</data></edge>'
    )
    f = _write_graphml(tmp_path / "dflt.graphml", keys, nodes, edges)
    inst = dtdp.read_instance(f, n_districts=2)
    assert inst.edge_length.tolist() == [2.5, 4.0]
    assert inst.activities[:, 0].tolist() == [3.0, 7.0, 7.0]
    # no <default>: an edge without a distance is 1.0, as before
    g = _write_path_graphml(tmp_path / "path3.graphml", [1, 1, 1])
    assert dtdp.read_instance(g, n_districts=2).edge_length.tolist() == [1.0, 1.0]


# -- QA round 21 ----------------------------------------------------------------------


def _node(nid: int, data: dict[str, object]) -> str:
    return (
        f'<node id="{nid}">'
        + "".join(f'<data key="{k}">{v}</data>' for k, v in data.items())
        + "</node>"
    )


def test_a_graph_in_pieces_is_read_and_checked_but_not_solved(tmp_path: Path) -> None:
    """Regression (QA round 21): two 5-node paths were solved until the
    infinite distances between them failed as "cost matrix has non-finite
    entries", naming nothing.  The checker works on such a graph (each
    district connected, diameters finite); solve_file names the pieces."""
    from terrakit.exceptions import SpecificationError

    nodes = "".join(_node(i, dict.fromkeys(dtdp.ACTIVITIES, 10)) for i in range(10))
    edges = "".join(
        f'<edge source="{i}" target="{i + 1}"/>' for i in range(9) if i != 4
    )
    f = _write_graphml(tmp_path / "pieces.graphml", _ACT_KEYS, nodes, edges)
    inst = dtdp.read_instance(f, n_districts=2)
    plan = inst.labels_to_solution(np.array([0] * 5 + [1] * 5))
    assert dtdp.check_solution(inst, plan) == (4.0, [])
    with pytest.raises(SpecificationError) as err:
        dtdp.solve_file(f, time_limit=5, seed=0, n_districts=2)
    assert str(err.value) == (
        f"{f}: graph has 2 connected components (sizes 5, 5; e.g. nodes '0', "
        "'5'); the search needs one connected graph (a district's diameter is "
        "measured along shortest paths of the whole graph): add the missing "
        "edges, or solve each component as an instance of its own"
    )


_XY_KEYS = _ACT_KEYS + "".join(
    f'<key id="{c}" for="node" attr.name="{c}" attr.type="double"/>' for c in "xy"
)


@pytest.mark.parametrize(
    ("node", "data", "message"),
    [
        (
            2,
            {"workload": 10, "n_customers": 10},
            "node '2' has no demand, and 1 more missing value(s); every node "
            "needs the whole-number activities ['workload', 'n_customers', "
            "'demand'] (a <data> each, or a <default> in the activity's <key>)",
        ),
        (
            2,
            {"workload": "abc", "n_customers": 10, "demand": 10},
            "node '2' has workload 'abc', not a whole number, and 1 more such "
            "value(s); every node needs the whole-number activities "
            "['workload', 'n_customers', 'demand']",
        ),
        (
            2,
            {"workload": -500, "n_customers": 10, "demand": 10},
            "node '2' has workload -500, and 1 more negative value(s); "
            "activities are counts of 0 or more (a sign typo?)",
        ),
        (
            2,
            {**dict.fromkeys(dtdp.ACTIVITIES, 10), "x": "abc"},
            "node '2' has x 'abc', not a finite number, and 1 more such "
            "coordinate(s); node coordinates x, y are finite numbers (or left "
            "out: 0)",
        ),
    ],
)
def test_node_values_are_checked_node_by_node(
    tmp_path: Path, node: int, data: dict[str, object], message: str
) -> None:
    """Regression (QA round 21): a missing activity was refused as
    "(KeyError('demand'))" naming no node, a coordinate "abc" failed with
    float()'s bare ValueError, and a negative workload was read (the bands
    came out skewed and the solver then blamed another node).  The first
    node at fault (here '2' and '3', in file order) is named, with the
    attribute and its value."""
    nodes = "".join(
        _node(i, data if i in (node, node + 1) else dict.fromkeys(dtdp.ACTIVITIES, 10))
        for i in range(4)
    )
    edges = "".join(f'<edge source="{i}" target="{i + 1}"/>' for i in range(3))
    f = _write_graphml(tmp_path / "nodes.graphml", _XY_KEYS, nodes, edges)
    with pytest.raises(ValueError) as err:
        dtdp.read_instance(f, n_districts=2)
    assert str(err.value) == f"{f}: not a valid dtdp instance: {message}"


def test_a_repeated_edge_keeps_its_shortest_length(tmp_path: Path) -> None:
    """Regression (QA round 21): the last of two edges 0–1 won (length 9
    over 1), so the path 0→3 was 11, not 3.  networkx.read_graphml (the
    published source's reader) keeps both in a multigraph, and shortest
    paths take the shorter; so does the reader now, in either order."""
    keys = _ACT_KEYS + '<key id="d" for="edge" attr.name="distance"/>'
    for first, second in (("1", "9"), ("9", "1")):
        edges = (
            f'<edge source="0" target="1"><data key="d">{first}</data></edge>'
            '<edge source="1" target="2"><data key="d">1</data></edge>'
            '<edge source="2" target="3"><data key="d">1</data></edge>'
            f'<edge source="1" target="0"><data key="d">{second}</data></edge>'
        )
        f = _write_graphml(tmp_path / "twice.graphml", keys, _NODES4, edges)
        inst = dtdp.read_instance(f, n_districts=2)
        assert inst.edges.tolist() == [[0, 1], [1, 2], [2, 3]]
        assert inst.edge_length.tolist() == [1.0, 1.0, 1.0]
        assert float(dtdp.shortest_path_lengths(inst)[0, 3]) == 3.0


#: 10-node planar graph (QA round 21): node activities and edges (i, j, distance)
_PLANAR10_ACT = [
    (84, 14, 154), (19, 17, 102), (22, 4, 154), (40, 19, 378), (52, 8, 152),
    (27, 4, 175), (78, 19, 388), (88, 4, 57), (16, 14, 177), (97, 13, 212),
]  # fmt: skip
_PLANAR10_EDGES = [
    (0, 1, 20.248), (0, 3, 26.401), (0, 5, 27.857), (0, 6, 14.142),
    (0, 8, 26.926), (1, 3, 14.318), (1, 5, 43.932), (1, 9, 22.804),
    (2, 4, 79.649), (2, 7, 19.416), (2, 8, 41.11), (2, 9, 54.562),
    (3, 7, 11.18), (3, 8, 30.067), (3, 9, 32.016), (4, 5, 43.6),
    (4, 6, 31.064), (4, 8, 38.601), (5, 6, 24.331), (5, 9, 57.706),
    (6, 8, 25.0), (7, 8, 35.903), (7, 9, 36.056),
]  # fmt: skip


def _enumerated_optimum(inst: dtdp.GraphInstance) -> float:
    """Least largest diameter over every labelling in 3 connected districts
    within the bands (3^10 labellings, the bands checked at once)."""
    n, k = inst.n_nodes, inst.n_districts
    labs = np.array(list(itertools.product(range(k), repeat=n)))
    sums = np.stack([(labs == t) @ inst.activities for t in range(k)], axis=1)
    ok = ((sums >= inst.lower) & (sums <= inst.upper)).all(axis=(1, 2))
    dist = dtdp.shortest_path_lengths(inst)
    best = np.inf
    for lab in labs[ok]:
        value, problems = dtdp.check_solution(inst, inst.labels_to_solution(lab), dist)
        if not problems:
            best = min(best, value)
    return float(best)


def test_solve_file_reaches_the_optimum_wider_than_its_start(tmp_path: Path) -> None:
    """Regression (QA round 21): the diameter search's threshold started at
    the diameter of a start out of band and only a conflict-free balanced
    plan lowered it; every balanced plan here is wider than that start, so
    the first one met was kept: 88.258 at any budget, the enumerated
    optimum being 65.454."""
    keys = _ACT_KEYS + '<key id="d" for="edge" attr.name="distance"/>'
    nodes = "".join(
        _node(i, dict(zip(dtdp.ACTIVITIES, a, strict=True)))
        for i, a in enumerate(_PLANAR10_ACT)
    )
    edges = "".join(
        f'<edge source="{i}" target="{j}"><data key="d">{d}</data></edge>'
        for i, j, d in _PLANAR10_EDGES
    )
    f = _write_graphml(tmp_path / "planar10.graphml", keys, nodes, edges)
    inst = dtdp.read_instance(f, n_districts=3, delta=0.15)
    optimum = _enumerated_optimum(inst)
    assert optimum == pytest.approx(65.454)
    row = dtdp.solve_file(
        f, time_limit=30, seed=0, n_districts=3, delta=0.15, max_iter=2000
    )
    assert row["feasible"] and row["problems"] == ""
    assert row["value"] == pytest.approx(optimum)

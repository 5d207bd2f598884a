"""Reader and checker of the districting benchmark (Validi & Buchanan 2022)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from terrakit.benchmarks import districting

FOLDER = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "districting"
pytestmark = pytest.mark.skipif(
    not (FOLDER / "ME_county.json").exists(), reason="shared benchmarks not present"
)


@pytest.fixture(scope="module")
def me_county() -> districting.GraphInstance:
    """Maine counties: 16 nodes, 34 edges, k = 2; optimum 16 cut edges."""
    return districting.read_instance(FOLDER / "ME_county.json")


def test_reader_matches_reference_row(me_county: districting.GraphInstance) -> None:
    ref = me_county.reference
    assert me_county.n_nodes == ref["n_nodes"] == 16
    assert len(me_county.edges) == ref["n_edges"] == 34
    assert me_county.n_districts == 2
    assert (me_county.lower[0], me_county.upper[0]) == (
        ref["pop_lower_L"],
        ref["pop_upper_U"],
    )


def test_population_bounds_exact() -> None:
    """L = ceil(0.995·P/k), U = floor(1.005·P/k) in exact arithmetic."""
    assert districting.population_bounds(1000, 2) == (498, 502)
    assert districting.population_bounds(1001, 2) == (498, 503)  # 503.0025


@pytest.mark.parametrize(
    ("total", "k", "message"),
    [
        (100, 0, "k must be a whole number >= 1, got 0"),
        (100, -2, "k must be a whole number >= 1, got -2"),
        (100, 2.5, "k must be a whole number >= 1, got 2.5"),
        (100, True, "k must be a whole number >= 1, got True"),
        (100.9, 2, "total must be a whole population >= 0, got 100.9"),
        (-100, 2, "total must be a whole population >= 0, got -100"),
    ],
)
def test_population_bounds_refuses_what_it_would_truncate(
    total: object, k: object, message: str
) -> None:
    """Regression (QA round 20): k=0 raised a bare ZeroDivisionError, k=2.5
    and total=100.9 were truncated, k=-2 gave L > U, k=True meant 1."""
    import re

    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError, match="^" + re.escape(message)):
        districting.population_bounds(total, k)  # type: ignore[arg-type]
    # whole floats are whole numbers
    assert districting.population_bounds(1000.0, 2.0) == (498, 502)  # type: ignore[arg-type]


def test_checker_flags_violations(me_county: districting.GraphInstance) -> None:
    labels = np.zeros(me_county.n_nodes, dtype=int)
    value, problems = districting.check_solution(
        me_county, me_county.labels_to_solution(labels)
    )
    assert value == 0
    assert any("1 districts, expected 2" in p for p in problems)
    bad = {"district": {"no-such-node": 0}}
    _, problems = districting.check_solution(me_county, bad)
    assert any("unknown node ids" in p for p in problems)
    assert any("unassigned" in p for p in problems)


def test_enumerated_optimum_matches_reference(
    me_county: districting.GraphInstance,
) -> None:
    """All 2^15 two-district splits of Maine: the checker's best feasible value
    is the published optimum (16 cut edges with contiguity)."""
    n = me_county.n_nodes
    pop = me_county.activities[:, 0]
    lo, hi = me_county.lower[0], me_county.upper[0]
    codes = np.arange(2 ** (n - 1))
    bits = ((codes[:, None] >> np.arange(n - 1)) & 1).astype(np.int64)
    labels = np.column_stack([np.zeros(len(codes), dtype=np.int64), bits])
    p1 = labels @ pop
    ok = (p1 >= lo) & (p1 <= hi) & (pop.sum() - p1 >= lo) & (pop.sum() - p1 <= hi)
    best = np.inf
    for lab in labels[ok]:
        value, problems = districting.check_solution(
            me_county, me_county.labels_to_solution(lab)
        )
        if not problems:
            best = min(best, value)
    assert best == me_county.reference["min_cut_edges_best"] == 16


@pytest.mark.slow
def test_solve_reaches_the_proven_optimum(me_county: districting.GraphInstance) -> None:
    """ME_county (k=2): the engine finds 16 cut edges, the published optimum;
    the solution survives a JSON round trip and the independent checker."""
    row = districting.solve_file(FOLDER / "ME_county.json", time_limit=30, seed=0)
    solution = json.loads(json.dumps(row["solution"]))
    value, problems = districting.check_solution(me_county, solution)
    assert problems == []
    assert value == row["value"] == me_county.reference["min_cut_edges_best"] == 16
    assert row["lower_bound"] <= value


def test_run_without_contiguity_uses_its_own_reference() -> None:
    """ME_county with ``contiguity=False``: the reference is the
    ``no_contiguity`` optimum (8 cut edges), not the contiguous one (16)."""
    import terrakit as tk

    f = FOLDER / "ME_county.json"
    row = tk.benchmarks.run("districting", f, time_limit=10, contiguity=False).iloc[0]
    assert row["reference"] == 8
    inst = districting.read_instance(f, contiguity=False)
    value, problems = districting.check_solution(inst, row["solution"])
    assert problems == [] and value == row["value"]
    # 16 counties without contiguity: the rooted model proves the optimum in
    # about a second; the column generation stopped early and the time it
    # left was not used (13 cut edges, bound 1, after 1.5 s of 4)
    assert row["status"] == "optimal" and value == 8
    assert row["gap_pct"] == pytest.approx(100 * (value - 8) / 8)


def test_truncated_json_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "ME_county.json"
    f.write_text((FOLDER / "ME_county.json").read_text()[:3000])
    with pytest.raises(
        ValueError,
        match=r"ME_county\.json: not a valid districting instance: not readable as "
        r"\(gzipped\) JSON",
    ):
        districting.read_instance(f)
    g = tmp_path / "XX_county.json"
    g.write_text(json.dumps({"nodes": [{"id": 1}], "adjacency": [[]]}))
    with pytest.raises(ValueError, match=r"XX_county\.json: .*whole 'TOTPOP'"):
        districting.read_instance(g, n_districts=1)


class _Solved(Exception):
    """Raised by a stand-in solver with the number of territories it got."""


def test_n_districts_reaches_the_reader_without_a_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without reference.csv the error says "pass n_districts="; run() and
    solve_file take it (it used to fall into the solver's **kw)."""
    import terrakit as tk
    from terrakit.design import cutedges

    def fake(problem, **kw):
        raise _Solved(problem.n_territories)

    monkeypatch.setattr(cutedges, "solve_districting", fake)
    f = tmp_path / "ME_county.json"
    f.write_text((FOLDER / "ME_county.json").read_text())
    with pytest.raises(
        ValueError, match=r"ME_county\.json: number of districts unknown"
    ):
        tk.benchmarks.run("districting", [f], time_limit=1)
    with pytest.raises(_Solved) as seen:
        tk.benchmarks.run("districting", [f], time_limit=1, n_districts=3)
    assert seen.value.args == (3,)


def test_maine_at_three_seconds_gets_the_exact_model() -> None:
    """Regression (QA round 9): at time_limit=3 ME_county ended "no_solution"
    after 2.9 s: neither the tree splits nor the heuristic find a plan, and
    the rooted model (it proves 16 in about a second) ran only with more than
    a second left after a 10 % and 1-s reserve.  On a small graph without a
    plan it now gets the time left."""
    import warnings

    from terrakit.exceptions import TimeLimitWarning

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        row = districting.solve_file(FOLDER / "ME_county.json", time_limit=3, seed=0)
    assert (row["status"], row["value"], row["lower_bound"]) == ("optimal", 16, 16)
    assert row["method"] == "heuristic+cutedges-mip"
    assert not [w for w in seen if issubclass(w.category, TimeLimitWarning)]


def test_a_run_cut_by_the_clock_warns_with_its_status() -> None:
    """ME_county at 1 s: the rooted model is cut by the clock ("time_limit",
    16 cut edges) or, on a loaded machine, finds nothing ("no_solution"); the
    TimeLimitWarning names the status."""
    import warnings

    from terrakit.exceptions import TimeLimitWarning

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        row = districting.solve_file(FOLDER / "ME_county.json", time_limit=1, seed=0)
    texts = [str(w.message) for w in seen if issubclass(w.category, TimeLimitWarning)]
    if row["status"] == "optimal":  # a fast machine
        assert texts == []
        return
    assert row["status"] in ("time_limit", "no_solution")
    assert len(texts) == 1 and texts[0].startswith(f"status '{row['status']}': ")
    if row["status"] == "time_limit":
        assert (
            "the exact bound stopped at the 1 s time limit; the best partition's "
            f"cut is {row['value']:g}, the proven lower bound {row['lower_bound']:g}"
        ) in texts[0]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"time_limit": float("nan")},
            "time_limit must be a positive number of seconds, got nan",
        ),
        ({"seed": 1.5}, "seed must be a non-negative integer, got 1.5"),
    ],
)
def test_solve_file_checks_time_limit_and_seed_first(
    tmp_path: Path, kw: dict, message: str
) -> None:
    import re

    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError, match="^" + re.escape(message)):
        districting.solve_file(tmp_path / "never_read.json", **kw)


@pytest.mark.parametrize("totpop", [1.5, 99.9, -5, "12.7", True, float("nan"), None])
def test_totpop_must_be_a_whole_number_of_zero_or_more(
    tmp_path: Path, totpop: object
) -> None:
    """Regression (QA round 14): TOTPOP 1.5 was read as 1 and -5 as -5 (int()
    of a number), while the text "12.7" was refused."""
    g = tmp_path / "XX_county.json"
    nodes = [{"id": "a", "TOTPOP": 10}, {"id": "b", "TOTPOP": totpop}]
    adjacency = [[{"id": "b"}], [{"id": "a"}]]
    g.write_text(json.dumps({"nodes": nodes, "adjacency": adjacency}))
    with pytest.raises(ValueError) as err:
        districting.read_instance(g, n_districts=1)
    assert str(err.value) == (
        f"{g}: not a valid districting instance: node 'b' has TOTPOP {totpop!r}; "
        "a population is a whole number of 0 or more (0, 1, 2, ...)"
    )


@pytest.mark.parametrize("totpop", [12, 12.0, "12", 0])
def test_whole_totpop_is_read_exactly(tmp_path: Path, totpop: object) -> None:
    g = tmp_path / "XX_county.json"
    nodes = [{"id": "a", "TOTPOP": 10}, {"id": "b", "TOTPOP": totpop}]
    adjacency = [[{"id": "b"}], [{"id": "a"}]]
    g.write_text(json.dumps({"nodes": nodes, "adjacency": adjacency}))
    inst = districting.read_instance(g, n_districts=1)
    assert inst.activities[:, 0].tolist() == [10.0, float(int(float(totpop)))]


def test_repeated_node_ids_are_refused(tmp_path: Path) -> None:
    """Regression (QA round 17): a repeated id rewired the graph (the last
    node of that id took every edge naming it: 9 edges read for a 2x3 grid's
    7) and check_solution always found a node unassigned."""
    g = tmp_path / "XX_county.json"
    ids = [0, 1, 2, 3, 4, 4, 6, 6, 7, 8, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    nodes = [{"id": i, "TOTPOP": 100} for i in ids]
    adjacency: list[list[dict]] = [[] for _ in ids]
    g.write_text(json.dumps({"nodes": nodes, "adjacency": adjacency}))
    with pytest.raises(ValueError) as err:
        districting.read_instance(g, n_districts=2)
    assert str(err.value) == (
        f"{g}: not a valid districting instance: repeated node ids 4, 6, 10, 11, "
        "12 and 1 more; each node needs its own 'id' (the adjacency lists name "
        "nodes by id)"
    )


def test_node_ids_that_differ_only_by_type_are_refused(tmp_path: Path) -> None:
    """Regression (QA round 18): ids 1 and "1" are two nodes of the file but
    one key once a solution went through JSON, so decode_solution put both
    in one district and reported the other unassigned."""
    g = tmp_path / "XX_county.json"
    ids = [0, 1, "1", 2]
    nodes = [{"id": i, "TOTPOP": 100} for i in ids]
    adjacency: list[list[dict]] = [[] for _ in ids]
    g.write_text(json.dumps({"nodes": nodes, "adjacency": adjacency}))
    with pytest.raises(ValueError) as err:
        districting.read_instance(g, n_districts=2)
    assert str(err.value) == (
        f"{g}: not a valid districting instance: node ids 1 and '1' are the same "
        "text (1 such group(s)); a solution names nodes by id and reads them as "
        "text (JSON keys): give every node an id of its own"
    )

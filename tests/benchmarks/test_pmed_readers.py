"""pmed / pmedcap readers on one small instance each, through the shared engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from terrakit.benchmarks import pmed, pmedcap, run

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
pytestmark = pytest.mark.skipif(
    not (SHARED / "pmed").exists(), reason="shared benchmark folder not present"
)


def test_pmedcap01_optimum():
    """Osman–Christofides 1 with truncated distances: optimum 713."""
    df = run("pmedcap", [SHARED / "pmedcap" / "pmedcap01.txt"], time_limit=10)
    row = df.iloc[0]
    assert row["value"] == 713
    assert row["status"] == "optimal"
    assert row["reference"] == 713 and row["gap_pct"] == 0
    sol = row["solution"]
    assert len(sol["medians"]) == 5 and len(sol["assignment"]) == 50
    inst = pmedcap.read_instance(SHARED / "pmedcap" / "pmedcap01.txt")
    value, problems = pmedcap.check_solution(inst, sol["medians"], sol["assignment"])
    assert value == 713 and problems == []


def test_pmed1_optimum():
    df = run("pmed", [SHARED / "pmed" / "pmed1.txt"], time_limit=20)
    row = df.iloc[0]
    assert row["value"] == 5819 and row["reference"] == 5819
    assert row["status"] == "optimal"
    assert min(row["solution"]["assignment"]) >= 1


def test_pmed_reader_last_edge_wins(tmp_path):
    f = tmp_path / "tiny.txt"
    f.write_text("3 3 1\n1 2 5\n2 3 1\n1 2 2\n")
    inst = pmed.read_instance(f)
    assert inst.distance[0, 1] == 2 and inst.distance[0, 2] == 3
    assert pmed.value_of(inst, [2]) == 3


def test_sjc_reader_real_distances():
    inst = pmedcap.read_instance(SHARED / "pmedcap" / "sjc" / "SJC1.dat")
    assert (inst.n, inst.p, inst.capacity) == (100, 10, 720)
    assert not inst.truncate


@pytest.mark.filterwarnings("ignore::terrakit.exceptions.TimeLimitWarning")
def test_run_sjc1_against_the_parent_reference():
    """SJC1 (n=100, p=10, real distances): ``run`` takes the ``.dat`` file and
    its reference (17288.99) from ``pmedcap/reference.csv``, the parent of
    ``sjc/``; the value is the README's objective of the solution returned."""
    f = SHARED / "pmedcap" / "sjc" / "SJC1.dat"
    row = run("pmedcap", f, time_limit=3).iloc[0]
    assert row["instance"] == "SJC1" and row["reference"] == 17288.99
    sol = row["solution"]
    value, problems = pmedcap.check_solution(
        pmedcap.read_instance(f), sol["medians"], sol["assignment"]
    )
    assert problems == [] and row["value"] == pytest.approx(value, rel=1e-12)
    assert row["gap_pct"] == pytest.approx(100 * (value - 17288.99) / 17288.99)
    assert row["gap_pct"] < 0.5


def test_pmedcap_folders_hold_their_own_set():
    """The ``sjc`` folder gives the four SJC files (references from the parent
    folder), the ``pmedcap`` folder its fourteen Osman–Christofides files."""
    import importlib

    runner = importlib.import_module("terrakit.benchmarks.run")
    fam = runner.FAMILIES["pmedcap"]
    sjc = runner._checked("pmedcap", fam, SHARED / "pmedcap" / "sjc")
    assert [p.name for p in sjc] == ["SJC1.dat", "SJC2.dat", "SJC3b.dat", "SJC4a.dat"]
    oc = runner._checked("pmedcap", fam, SHARED / "pmedcap")
    assert len(oc) == 14 and all(p.suffix == ".txt" for p in oc)
    refs = pmedcap.reference_values(SHARED / "pmedcap" / "sjc")
    assert (refs["SJC4a"], refs["pmedcap01"]) == (61925.51, 713)


def test_pmed_reader_refuses_truncated_and_foreign_files(tmp_path):
    """The header's edge count is checked: a truncated file or another
    family's file is named, with what is wrong, not a reshape error."""
    cut = tmp_path / "pmed1.txt"
    cut.write_text((SHARED / "pmed" / "pmed1.txt").read_text()[:1500])
    with pytest.raises(
        ValueError,
        match=r"pmed1\.txt: not a valid pmed instance: the header announces 200 "
        r"edges, so 3 \+ 3·200 = 603 numbers, but the file has \d+",
    ):
        pmed.read_instance(cut)
    with pytest.raises(ValueError, match=r"pmedcap01\.txt: not a valid pmed instance"):
        pmed.read_instance(SHARED / "pmedcap" / "pmedcap01.txt")
    far = tmp_path / "pmed9.txt"
    far.write_text("3 2 1\n1 2 5\n2 7 1\n")
    with pytest.raises(
        ValueError, match=r"edge\(s\) \[2\] join vertices outside 1\.\.3"
    ):
        pmed.read_instance(far)


def test_pmedcap_reader_refuses_truncated_and_foreign_files(tmp_path):
    lines = (SHARED / "pmedcap" / "pmedcap01.txt").read_text().splitlines()
    cut = tmp_path / "pmedcap01.txt"
    cut.write_text("\n".join(lines[:30]) + "\n")
    with pytest.raises(
        ValueError,
        match=r"pmedcap01\.txt: not a valid pmedcap instance: the header announces "
        r"50 customers, the file has 28 rows",
    ):
        pmedcap.read_instance(cut)
    with pytest.raises(ValueError, match=r"pmed1\.txt: not a valid pmedcap instance"):
        pmedcap.read_instance(SHARED / "pmed" / "pmed1.txt")
    short = tmp_path / "SJC9.dat"
    short.write_text("2 1\n1 2 10 3\n4 5 10\n")
    with pytest.raises(
        ValueError, match=r"1 customer row\(s\) do not have 4 numbers .* row 2 '4 5 10'"
    ):
        pmedcap.read_instance(short)


def test_pmedcap_reference_falls_back_to_the_generic_columns(tmp_path):
    """A reference.csv with the generic columns (instance, optimal_value)
    serves pmedcap too, instead of a KeyError after the solve."""
    (tmp_path / "reference.csv").write_text("instance,optimal_value\npmedcap01,713\n")
    assert pmedcap.reference_values(tmp_path) == {"pmedcap01": 713.0}


def test_pmedcap_plan_over_capacity_is_no_solution_and_unproven_passes(
    tmp_path, monkeypatch
):
    """Regression (QA round 9): a plan that breaks a capacity was labelled
    "infeasible" (the engine raises InfeasibleError when it proves that), and
    the engine's info["unproven"] was dropped."""
    import importlib
    from types import SimpleNamespace

    import numpy as np

    align = importlib.import_module("terrakit.design.align")  # the module

    f = tmp_path / "pmedcap99.txt"
    f.write_text("1 0\n3 1 5\n1 0 0 3\n2 1 0 3\n3 5 0 3\n")
    res = SimpleNamespace(
        columns=np.zeros(3, dtype=int),
        lower_bound=1.0,
        status="infeasible",
        method="heuristic",
        info={"unproven": "the local search stopped"},
    )
    monkeypatch.setattr(align, "solve", lambda problem, **kw: res)
    row = pmedcap.solve_file(f, time_limit=1)
    assert row["status"] == "no_solution"
    assert row["problems"] == "capacity exceeded: load 9 > 5"
    assert row["unproven"] == "the local search stopped"


def test_pmed_row_passes_the_engines_unproven_reason(tmp_path, monkeypatch):
    """A pmed run stopped without a proof said only 'feasible' (QA round 10):
    the engine's info["unproven"] was dropped by pmed.solve_file."""
    import importlib
    from types import SimpleNamespace

    import numpy as np

    align = importlib.import_module("terrakit.design.align")  # the module
    res = SimpleNamespace(
        columns=np.zeros(200, dtype=int),
        lower_bound=1.0,
        status="feasible",
        method="pmedian",
        info={"unproven": "ended after 2.0 of 2 s without a proof"},
    )
    monkeypatch.setattr(align, "solve", lambda problem, **kw: res)
    row = pmed.solve_file(SHARED / "pmed" / "pmed1.txt", time_limit=2)
    assert row["unproven"] == "ended after 2.0 of 2 s without a proof"
    res.info = {}
    assert "unproven" not in pmed.solve_file(SHARED / "pmed" / "pmed1.txt")


def test_pmed_reader_refuses_a_negative_edge_cost(tmp_path):
    """Regression (QA round 14): an edge cost of -3 (a sign typo) made the
    shortest-path step run forever, whatever the time limit."""
    f = tmp_path / "pmed9.txt"
    f.write_text("3 3 1\n1 2 4\n\n1 2 -3\n2 3 -5\n")
    with pytest.raises(ValueError) as err:
        pmed.read_instance(f)
    assert str(err.value) == (
        f"{f}: not a valid pmed instance: edge 2 '1 2 -3' (line 4) has a negative "
        "cost, and 1 more edge(s); edge costs are lengths of 0 or more (a sign "
        "typo?)"
    )


def test_pmed_graph_in_pieces(tmp_path):
    """Regression (QA round 14): a graph of two pieces stopped the run with
    "cost matrix has non-finite entries", naming no file; with p = 2 it has
    a plan (medians 1 and 3: 5 + 7 = 12), with three pieces it has none."""
    from terrakit.exceptions import SpecificationError

    two = tmp_path / "pmed2.txt"
    two.write_text("4 2 2\n1 2 5\n3 4 7\n")
    row = pmed.solve_file(two, time_limit=2)
    assert (row["value"], row["status"]) == (12.0, "optimal")
    assert row["solution"]["medians"] in ([1, 3], [1, 4], [2, 3], [2, 4])
    three = tmp_path / "pmed3.txt"
    three.write_text("4 1 2\n1 2 5\n")
    with pytest.raises(SpecificationError) as err:
        pmed.read_instance(three)
    assert str(err.value) == (
        f"{three}: the graph has 3 connected pieces but p = 2 medians, so the "
        "vertices of at least 1 piece(s) cannot reach any median (the smallest "
        "piece: vertices [3]); no plan exists. Fix: add the missing edges or "
        "raise p"
    )


def test_sjc_reader_refuses_capacities_that_differ(tmp_path):
    """Regression (QA round 18): only row 1's capacity was kept, so a file
    whose rows give 10, 100, 100 was 'proven' infeasible (demand 15 > 10)
    although median 2 (capacity 100) serves everyone.  The model has one
    capacity Q for every median: the file is refused, naming the rows."""
    f = tmp_path / "SJCx.dat"
    f.write_text("3 1\n0 0 10 5\n10 0 100 5\n20 0 100 5\n")
    with pytest.raises(ValueError) as err:
        pmedcap.read_instance(f)
    assert str(err.value) == (
        f"{f}: not a valid pmedcap instance: the capacity column differs between "
        "rows: row 1 has 10, row 2 has 100 (2 row(s) differ from row 1, rows 2, "
        "3); the capacitated p-median model has one capacity Q for every median, "
        "so give every row the same capacity"
    )


def test_pmedcap_solution_uses_the_files_customer_ids(tmp_path):
    """Regression (QA round 18): the id column was ignored and the solution
    given in row numbers.  Ids 3, 1, 2 at x = 0, 10, 20 (p = 1): the best
    median is the middle customer, id 1; its cluster is everyone (cost 20)."""
    f = tmp_path / "pmedcapX.txt"
    f.write_text("1 20\n3 1 120\n3 0 0 10\n1 10 0 10\n2 20 0 10\n")
    inst = pmedcap.read_instance(f)
    assert inst.ids.tolist() == [3, 1, 2]
    row = pmedcap.solve_file(f, time_limit=2)
    assert row["solution"] == {"medians": [1], "assignment": [1, 1, 1]}
    assert (row["value"], row["problems"]) == (20.0, "")
    # the checker reads the same ids: median 3 (x = 0) costs 10 + 20 = 30
    assert pmedcap.check_solution(inst, [3], [3, 3, 3]) == (30.0, [])
    assert pmedcap.check_solution(inst, [4], [4, 4, 4])[1] == [
        "id(s) [4] are not customers of the file"
    ]


def test_pmedcap_reader_refuses_repeated_ids_and_negative_demands(tmp_path):
    """Regression (QA round 18): ids 1, 1, 1 and a demand of -10 were read
    without a word."""
    dup = tmp_path / "pmedcapD.txt"
    dup.write_text("1 20\n3 1 120\n1 0 0 10\n2 10 0 10\n1 20 0 10\n")
    with pytest.raises(ValueError) as err:
        pmedcap.read_instance(dup)
    assert str(err.value) == (
        f"{dup}: not a valid pmedcap instance: customer id 1 is repeated on rows "
        "1, 3 (1 id(s) repeated); each customer needs its own id (the solution "
        "names customers by id)"
    )
    neg = tmp_path / "pmedcapN.txt"
    neg.write_text("1 20\n3 1 120\n1 0 0 10\n2 10 0 -10\n3 20 0 10\n")
    with pytest.raises(ValueError) as err:
        pmedcap.read_instance(neg)
    assert str(err.value) == (
        f"{neg}: not a valid pmedcap instance: 1 customer row(s) have a negative "
        "demand, first: row 2 '2 10 0 -10' (line 4); demands are 0 or more (a "
        "sign typo?)"
    )
    sjc = tmp_path / "SJCn.dat"
    sjc.write_text("2 1\n0 0 10 -1\n1 0 10 3\n")
    with pytest.raises(ValueError, match=r"row 1 '0 0 10 -1' \(line 2\)"):
        pmedcap.read_instance(sjc)


@pytest.mark.parametrize("capacity", ["nan", "inf", "0", "-120"])
def test_pmedcap_reader_refuses_a_capacity_that_is_not_a_positive_number(
    tmp_path, capacity
):
    """Regression (QA round 20): a header "50 5 nan" was read, the NaN
    capacity then ignored: pmedcap01 was solved uncapacitated (693, a load
    of 134 > 120) and reported optimal with no problems."""
    lines = (SHARED / "pmedcap" / "pmedcap01.txt").read_text().splitlines()
    lines[1] = f" 50 5 {capacity}"
    f = tmp_path / "pmedcap01.txt"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError) as err:
        pmedcap.read_instance(f)
    assert str(err.value) == (
        f"{f}: not a valid pmedcap instance: line 2 ('n p capacity') gives the "
        f"capacity {capacity!r}; a capacity is a finite number above 0 (a bad "
        "export?)"
    )
    sjc = tmp_path / "SJC0.dat"
    sjc.write_text("2 1\n0 0 0 1\n1 0 0 3\n")
    with pytest.raises(ValueError) as err:
        pmedcap.read_instance(sjc)
    assert str(err.value) == (
        f"{sjc}: not a valid pmedcap instance: the capacity column holds 0 (row 1 "
        "'0 0 0 1'); a capacity is a number above 0"
    )

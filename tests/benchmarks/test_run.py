"""``tk.benchmarks.run`` checks every path before the first instance is solved."""

from __future__ import annotations

import re

import pytest

from terrakit.benchmarks import run
from terrakit.exceptions import SpecificationError


def _no_solving(monkeypatch):
    """Any solve would be a failure of the up-front checks."""
    import importlib

    runner = importlib.import_module("terrakit.benchmarks.run")  # the module

    def fail(*args, **kwargs):
        raise AssertionError("an instance was solved before the paths were checked")

    monkeypatch.setattr(runner, "_resolve", lambda ref: fail)


def test_missing_file_is_named_before_any_solve(tmp_path, monkeypatch):
    _no_solving(monkeypatch)
    good = tmp_path / "pmed1.txt"
    good.write_text("1 0 1\n")
    with pytest.raises(
        FileNotFoundError, match=r"1 pmed instance file\(s\) not found: \[.*pmed2\.txt"
    ):
        run("pmed", [good, tmp_path / "pmed2.txt"], time_limit=1)


def test_files_of_another_family_are_refused(tmp_path, monkeypatch):
    _no_solving(monkeypatch)
    f = tmp_path / "pmed1.txt"
    f.write_text("1 0 1\n")
    with pytest.raises(SpecificationError, match=r"are not dtdp files \(\*\.graphml\)"):
        run("dtdp", [f], time_limit=1)


def test_an_empty_folder_is_an_error(tmp_path, monkeypatch):
    _no_solving(monkeypatch)
    (tmp_path / "notes.md").write_text("nothing to solve")
    with pytest.raises(
        SpecificationError, match=r"no tsplib instance in .* \(files matching \*\.tsp\)"
    ):
        run("tsplib", tmp_path, time_limit=1)


def test_unknown_family():
    with pytest.raises(KeyError, match=r"unknown benchmark family 'pmedx'; known: \["):
        run("pmedx", [], time_limit=1)


def test_a_family_with_two_file_types(tmp_path, monkeypatch):
    """pmedcap reads ``*.txt`` and SJC ``*.dat``; anything else is named."""
    _no_solving(monkeypatch)
    f = tmp_path / "SJC9.csv"
    f.write_text("1 1\n")
    with pytest.raises(
        SpecificationError, match=r"are not pmedcap files \(\*\.txt, \*\.dat\)"
    ):
        run("pmedcap", [f], time_limit=1)
    with pytest.raises(
        SpecificationError, match=r"\(files matching pmedcap\*\.txt, SJC\*\.dat\)"
    ):
        run("pmedcap", tmp_path, time_limit=1)


def _pmed_solves_fail(monkeypatch):
    """Only the pmed family's solve fails: the readers and references run."""
    from terrakit.benchmarks import pmed

    def fail(*args, **kwargs):
        raise AssertionError("an instance was solved before every file was read")

    monkeypatch.setattr(pmed, "solve_file", fail)


def test_every_file_is_read_before_the_first_solve(tmp_path, monkeypatch):
    """A bad second file is named before the first is solved (no row lost)."""
    _pmed_solves_fail(monkeypatch)
    good = tmp_path / "pmed1.txt"
    good.write_text("3 2 1\n1 2 5\n2 3 1\n")
    bad = tmp_path / "pmed2.txt"
    bad.write_text("3 2 1\n1 2 5\n2 3\n")
    with pytest.raises(
        ValueError, match=r"pmed2\.txt: not a valid pmed instance: the header announces"
    ):
        run("pmed", [good, bad], time_limit=1)


def test_a_bad_reference_file_fails_before_the_first_solve(tmp_path, monkeypatch):
    _pmed_solves_fail(monkeypatch)
    (tmp_path / "pmed1.txt").write_text("3 2 1\n1 2 5\n2 3 1\n")
    (tmp_path / "reference.csv").write_text("name,optimal_value\npmed1,5\n")
    with pytest.raises(
        SpecificationError,
        match=r"reference\.csv: a reference file needs the column 'instance' and one "
        r"of \['reference_value', 'optimal_value'.*it has \['name', 'optimal_value'\]",
    ):
        run("pmed", tmp_path, time_limit=1)


def test_generic_reference_prefers_the_family_column(tmp_path):
    from terrakit.benchmarks.run import generic_reference

    f = tmp_path / "reference.csv"
    f.write_text("instance,optimal_value,own\na,1,10\nb,2,\n")
    assert generic_reference(tmp_path) == {"a": 1.0, "b": 2.0}
    assert generic_reference(tmp_path, ("own",)) == {"a": 10.0}
    # another family's references (no value column known): none, no error
    f.write_text("instance,n_customers\na,100\n")
    assert generic_reference(tmp_path) == {}


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"time_limit": float("nan")},
            "time_limit must be a positive number of seconds, got nan",
        ),
        ({"time_limit": -1}, "time_limit must be a positive number of seconds, got -1"),
        (
            {"seed": 1.5},
            "seed must be a non-negative integer, got 1.5; seeds run "
            "from 0 to 4294967295",
        ),
        ({"seed": None}, "seed must be a non-negative integer, got None"),
    ],
)
@pytest.mark.parametrize("family", ["districting", "dtdp", "pmed"])
def test_time_limit_and_seed_are_checked_before_any_solve(
    tmp_path, monkeypatch, family, kw, message
):
    """Regression (QA round 9): NaN ran until killed, -1 gave "no_solution" or
    a bare AssertionError, seed=None ran dtdp unseeded."""
    _no_solving(monkeypatch)
    kw = {"time_limit": 1, "seed": 0, **kw}
    with pytest.raises(SpecificationError, match="^" + re.escape(message)):
        run(family, [tmp_path / "never_read.txt"], **kw)


def _fake_pmed_rows(monkeypatch, rows):
    """pmed's solve returns the given rows in turn (the reader still runs)."""
    from terrakit.benchmarks import pmed

    it = iter(rows)
    monkeypatch.setattr(pmed, "solve_file", lambda path, **kw: dict(next(it)))


def test_rows_carry_seed_time_limit_and_the_run_provenance(tmp_path, monkeypatch):
    import terrakit as tk

    for i in (1, 2):
        (tmp_path / f"pmed{i}.txt").write_text("3 2 1\n1 2 5\n2 3 1\n")
    (tmp_path / "reference.csv").write_text("instance,optimal_value\np1,10\np2,10\n")
    base = {"lower_bound": 1.0, "solution": {}}
    _fake_pmed_rows(
        monkeypatch,
        [
            {
                **base,
                "instance": "p1",
                "value": 11.0,
                "status": "feasible",
                "unproven": "the reduced MIP did not run",
            },
            {**base, "instance": "p2", "value": 12.0, "status": "time_limit"},
        ],
    )
    df = run("pmed", tmp_path, time_limit="2.5", seed=7, note=True)
    assert df["seed"].tolist() == [7, 7]
    assert df["time_limit"].tolist() == [2.5, 2.5]
    assert df["gap_pct"].tolist() == pytest.approx([10.0, 20.0])
    assert df["unproven"].iloc[0] == "the reduced MIP did not run"
    prov = df.attrs["provenance"]
    assert prov["method"] == "benchmarks.run/pmed"
    assert prov["seed"] == 7
    assert prov["terrakit_version"] == tk.__version__
    assert prov["config"] == {
        "family": "pmed",
        "time_limit": 2.5,
        "files": [str(tmp_path / "pmed1.txt"), str(tmp_path / "pmed2.txt")],
        "options": {"note": True},
    }


def test_rows_without_a_feasible_plan_get_no_gap(tmp_path, monkeypatch):
    """Regression (QA round 9): a dtdp row without a feasible plan got
    gap_pct 162.68 % against the best known feasible value."""
    for i in (1, 2, 3):
        (tmp_path / f"pmed{i}.txt").write_text("3 2 1\n1 2 5\n2 3 1\n")
    (tmp_path / "reference.csv").write_text(
        "instance,optimal_value\np1,10\np2,10\np3,10\n"
    )
    base = {"lower_bound": 1.0, "solution": {}}
    _fake_pmed_rows(
        monkeypatch,
        [
            {**base, "instance": "p1", "value": 26.268, "status": "no_solution"},
            {**base, "instance": "p2", "value": 26.0, "status": "infeasible"},
            {
                **base,
                "instance": "p3",
                "value": 15.0,
                "status": "feasible",
                "feasible": False,
            },
        ],
    )
    df = run("pmed", tmp_path, time_limit=1)
    assert df["reference"].tolist() == [10.0, 10.0, 10.0]
    assert df["gap_pct"].isna().all()


def test_an_impossible_instance_is_a_row_and_the_run_goes_on(tmp_path, monkeypatch):
    """Regression (QA round 14): an instance the engine proves impossible
    raised a SpecificationError from the middle of the run, naming no file,
    and the rows already solved were lost.  Now: a proof (the reader's, or a
    SpecificationError of the checks before solving, or a solver's
    InfeasibleError) is a row with status "infeasible"; a search that found
    nothing and says it is no proof is "no_solution"; the file is named."""
    from terrakit.benchmarks import pmed
    from terrakit.exceptions import InfeasibleError

    files = [tmp_path / f"pmed{i}.txt" for i in (1, 2, 3, 4, 5)]
    for f in files:
        f.write_text("3 2 1\n1 2 5\n2 3 1\n")
    files[1].write_text("3 1 1\n1 2 5\n")  # 2 pieces, 1 median: the reader proves
    (tmp_path / "reference.csv").write_text(
        "instance,optimal_value\n" + "".join(f"pmed{i},6\n" for i in range(1, 6))
    )
    raised = {
        "pmed3": SpecificationError("the bands are impossible: 7 > 5"),
        "pmed4": InfeasibleError("the design problem 'x' is infeasible (mip)"),
        "pmed5": InfeasibleError("no plan found in 1 s (not a proof)"),
    }
    solved = []

    def solve_file(path, **kw):
        solved.append(path.stem)
        if path.stem in raised:
            raise raised[path.stem]
        return {"instance": path.stem, "value": 6.0, "status": "optimal"}

    monkeypatch.setattr(pmed, "solve_file", solve_file)
    df = run("pmed", tmp_path, time_limit=1)
    assert solved == ["pmed1", "pmed3", "pmed4", "pmed5"]  # pmed2: not solved
    assert df["instance"].tolist() == [f"pmed{i}" for i in range(1, 6)]
    assert df["status"].tolist() == [
        "optimal",
        "infeasible",
        "infeasible",
        "infeasible",
        "no_solution",
    ]
    assert df["gap_pct"].iloc[0] == 0.0 and df["gap_pct"].iloc[1:].isna().all()
    assert df["value"].iloc[1:].isna().all() and df["solution"].iloc[1:].isna().all()
    msg = df["message"].tolist()
    assert msg[1].startswith(f"{files[1]}: the graph has 2 connected pieces but p = 1")
    assert msg[2:] == [f"{files[i]}: {raised[f'pmed{i + 1}']}" for i in (2, 3, 4)]


def test_a_bad_engine_option_is_raised_not_a_row(tmp_path):
    """The engine checks its options with a SpecificationError too ("max_iter
    must be ..., got -1"): a bad option is no proof about an instance."""
    (tmp_path / "pmed1.txt").write_text("3 2 1\n1 2 5\n2 3 1\n")
    with pytest.raises(SpecificationError, match=r"^max_iter must be .*, got -1"):
        run("pmed", tmp_path, time_limit=1, max_iter=-1)


def test_family_gaps_of_a_row_without_a_plan_are_nan(tmp_path, monkeypatch):
    """Regression (QA round 14): run() kept the gaps a family computed itself
    (Solomon's gap_pct, gap_bks_pct) for a row without a feasible plan."""
    (tmp_path / "pmed1.txt").write_text("3 2 1\n1 2 5\n2 3 1\n")
    (tmp_path / "pmed2.txt").write_text("3 2 1\n1 2 5\n2 3 1\n")
    own = {"gap_pct": 0.9, "gap_bks_pct": 0.4, "gap_exact_pct": 1.2, "gaps": 3}
    base = {"lower_bound": 1.0, "solution": {}, "value": 10.0, **own}
    _fake_pmed_rows(
        monkeypatch,
        [
            {**base, "instance": "p1", "status": "no_solution"},
            {**base, "instance": "p2", "status": "feasible"},
        ],
    )
    df = run("pmed", tmp_path, time_limit=1)
    gaps = ["gap_pct", "gap_bks_pct", "gap_exact_pct"]
    assert df[gaps].iloc[0].isna().all() and df["gaps"].iloc[0] == 3
    assert df[gaps].iloc[1].tolist() == [0.9, 0.4, 1.2]

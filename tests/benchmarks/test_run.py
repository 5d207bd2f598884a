"""``tk.benchmarks.run`` checks every path before the first instance is solved."""

from __future__ import annotations

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

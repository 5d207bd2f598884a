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

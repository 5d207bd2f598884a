"""The HTML study report: sections, self-containment, tables and bad input."""

from __future__ import annotations

import base64
import os
import re

import pytest

import terrakit as tk
from terrakit.exceptions import DataValidationError
from terrakit.report import SECTIONS, StudyReport, compare_alignments, study_report


def _sections_in(html: str) -> list[str]:
    return re.findall(r'<section id="([a-z]+)"><h2>', html)


def _assert_self_contained(html: str) -> None:
    assert "http://" not in html and "https://" not in html
    for attr, value in re.findall(r'(src|href)="([^"]*)"', html):
        if attr == "href":
            assert value.startswith("#"), value  # only links inside the page
        else:
            assert value.startswith("data:image/png;base64,"), value[:40]
            png = base64.b64decode(value.split(",", 1)[1])
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            assert len(png) > 5_000  # a drawn figure, not an empty canvas
    assert "<link" not in html and "<script" not in html


def test_units_and_one_alignment_still_report(toy_grid_3x3, tmp_path):
    """A study with only units and an alignment gets the core sections."""
    study = tk.Study(
        toy_grid_3x3.units, alignments={"current": toy_grid_3x3.alignments["current"]}
    )
    path = study_report(study, out=tmp_path / "r.html")
    html = path.read_text(encoding="utf-8")
    assert _sections_in(html) == [
        "summary",
        "maps",
        "balance",
        "kpis",
        "methods",
        "provenance",
    ]
    _assert_self_contained(html)
    assert html.count("<img ") == 2  # one map, one balance chart
    # workload 190 (R1) and 260 (R2) around a mean of 225: 15.6 % deviation
    assert "largest workload deviation from the mean 15.6 %" in html


def test_every_section_with_every_result(
    small_study,
    small_proposal,
    small_forecast,
    small_headcount,
    small_quotas,
    tmp_path,
):
    """All optional sections appear, in page order, with their headings."""
    wl = tk.sizing.workload(small_study, travel=None)
    plan = tk.routing.plan_calls(
        small_study, "current", "R08", weeks=1, time_limit=3, seed=0
    )
    report = StudyReport(
        small_study,
        ["current", small_proposal],
        workload=wl,
        headcount=small_headcount,
        forecast=small_forecast,
        quotas=small_quotas,
        call_plan=plan,
        notes={"Data": "Sample data, three south-Georgia territories."},
    )
    html = report.save(tmp_path / "r.html").read_text(encoding="utf-8")
    expected = [s for s in SECTIONS if s != "potential"]
    assert _sections_in(html) == expected
    for sid in expected:
        assert f"<h2>{SECTIONS[sid]}</h2>" in html
    _assert_self_contained(html)
    assert "Sample data, three south-Georgia territories." in html
    assert report.primary.name == "proposed" and report.baseline.name == "current"
    assert "sections: " + ", ".join(expected) in report.summary()


def test_comparison_counts_what_moves(small_study, small_proposal):
    """Two counties move from R09 to R08: the comparison says so, by hand."""
    cur = small_study.alignments["current"]
    df = compare_alignments(small_study, [cur, small_proposal], ["workload"])
    assert list(df.index) == ["current", "proposed"]
    assert df.loc["current", "units_moved"] == 0
    assert df.loc["proposed", "units_moved"] == 2
    moved = small_proposal.moved_units(cur)
    acc = small_study.accounts
    share = acc["unit_id"].isin(moved).mean()
    assert df.loc["proposed", "accounts_moved_share"] == pytest.approx(share)
    # balance figures are metrics.balance's
    bal = tk.metrics.balance(small_study, small_proposal, ["workload"])
    assert df.loc["proposed", "workload_max_dev"] == pytest.approx(
        bal.loc["workload", "max_rel_dev"]
    )
    assert (df["noncontiguous"] >= 0).all()


def test_unknown_alignment_name_is_named(small_study):
    with pytest.raises(DataValidationError, match="no alignment 'proposal'"):
        StudyReport(small_study, ["current", "proposal"])


def test_alignment_of_other_units_is_refused(small_study, toy_grid_3x3):
    other = toy_grid_3x3.alignments["current"]
    n = len(small_study.units)
    with pytest.raises(DataValidationError, match=f"leaves {n} units of the study"):
        StudyReport(small_study, [other])


def test_repeated_names_are_refused(small_study):
    cur = small_study.alignments["current"]
    with pytest.raises(DataValidationError, match="alignment names repeat"):
        StudyReport(small_study, [cur, cur])


def test_no_alignment_at_all(toy_grid_3x3):
    study = tk.Study(toy_grid_3x3.units)
    with pytest.raises(DataValidationError, match="needs at least one alignment"):
        StudyReport(study)


def test_one_alignment_name_is_not_read_letter_by_letter(toy_grid_3x3):
    """``alignments="current"`` once looked for alignments 'c', 'u', 'r'..."""
    report = StudyReport(toy_grid_3x3, "current")
    assert [a.name for a in report.aligned] == ["current"]
    report = StudyReport(toy_grid_3x3, toy_grid_3x3.alignments["current"])
    assert [a.name for a in report.aligned] == ["current"]


def test_a_measure_the_units_lack_is_named(toy_grid_3x3):
    col = next(c for c in toy_grid_3x3.units.columns if c.startswith("work"))
    typo = col[:-1]
    with pytest.raises(
        DataValidationError,
        match=rf"units\.{typo}: measures \['{typo}'\] are not columns of the "
        rf"study's units \(did you mean '{col}'\?\)",
    ):
        StudyReport(toy_grid_3x3, measures=[col, typo])
    # the default measures: the ones the study lacks are left out, no error
    assert set(StudyReport(toy_grid_3x3).measures) <= {"workload", "sales", "accounts"}


def test_output_names_are_checked_and_a_failed_write_keeps_the_old_file(
    toy_grid_3x3, tmp_path, monkeypatch
):
    report = StudyReport(toy_grid_3x3)
    with pytest.raises(
        ValueError, match=r"an HTML page: use a \.html path, got 'r\.xlsx'"
    ):
        report.save(tmp_path / "r.xlsx")
    with pytest.raises(
        ValueError, match=r"an Excel workbook: use a \.xlsx path, got 'r\.xls'"
    ):
        report.to_excel(tmp_path / "r.xls")
    with pytest.raises(IsADirectoryError, match="is a folder; give the file's name"):
        report.to_excel(tmp_path)
    path = report.to_excel(tmp_path / "new" / "r.xlsx")
    before = path.read_bytes()

    import terrakit.report.study as report_mod

    calls = []
    sheet_name = report_mod._sheet_name

    def fails_on_the_second_sheet(name, taken):
        calls.append(name)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return sheet_name(name, taken)

    monkeypatch.setattr(report_mod, "_sheet_name", fails_on_the_second_sheet)
    with pytest.raises(RuntimeError, match="disk full"):
        report.to_excel(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.xlsx"]


@pytest.fixture
def umask_027():
    """The process umask set to 027 (group read, others nothing), then restored."""
    old = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("fmt", ["html", "xlsx"])
def test_reports_get_the_permissions_of_a_plain_open(
    toy_grid_3x3, tmp_path, umask_027, fmt
):
    """Reports were written ``-rw-------`` (``mkstemp``) whatever the umask."""
    report = StudyReport(toy_grid_3x3)
    write = report.save if fmt == "html" else report.to_excel
    path = write(tmp_path / f"r.{fmt}")
    with open(tmp_path / "plain.txt", "w") as f:
        f.write("x")
    assert os.stat(tmp_path / "plain.txt").st_mode & 0o777 == 0o640
    assert os.stat(path).st_mode & 0o777 == 0o640
    # a report written again keeps the mode of the file it replaces
    os.chmod(path, 0o644)
    write(path)
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.txt", f"r.{fmt}"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_study_report_and_to_excel_follow_the_umask(toy_grid_3x3, tmp_path):
    old = os.umask(0o022)
    try:
        html = study_report(toy_grid_3x3, out=tmp_path / "r.html")
        xlsx = tk.report.to_excel(toy_grid_3x3, out=tmp_path / "r.xlsx")
    finally:
        os.umask(old)
    assert os.stat(html).st_mode & 0o777 == 0o644
    assert os.stat(xlsx).st_mode & 0o777 == 0o644

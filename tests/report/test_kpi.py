"""The short KPI report: text and HTML of one alignment, given or named."""

from __future__ import annotations

import pytest

from terrakit.report import kpi_report, kpi_text


def test_kpi_text_takes_an_alignment_name(toy_grid_3x3):
    """``kpi_text(study, "current")`` once failed on ``'str'.name``."""
    text = kpi_text(toy_grid_3x3, "current")
    assert text.startswith("Alignment 'current': 2 territories, 9 units")
    assert text == kpi_text(toy_grid_3x3, toy_grid_3x3.alignments["current"])


def test_kpi_report_takes_an_alignment_name(toy_grid_3x3, tmp_path):
    path = kpi_report(toy_grid_3x3, "current", out=tmp_path / "kpi.html")
    page = path.read_text(encoding="utf-8")
    assert "<h1>Territory KPIs — current</h1>" in page
    assert "2 territories, 9 units" in page


@pytest.mark.parametrize("write", ["text", "html"])
def test_unknown_alignment_name_lists_the_study_s(toy_grid_3x3, tmp_path, write):
    with pytest.raises(
        KeyError, match=r"no alignment named 'curent'; the study has \['current'\]"
    ):
        if write == "text":
            kpi_text(toy_grid_3x3, "curent")
        else:
            kpi_report(toy_grid_3x3, "curent", out=tmp_path / "kpi.html")
    assert not (tmp_path / "kpi.html").exists()


def test_one_measure_name_is_one_measure(toy_grid_3x3, tmp_path):
    """``measures="workload"`` was split into letters ("measure 'w' is not a
    column"), though ``metrics.balance`` takes one name as one measure."""
    text = kpi_text(toy_grid_3x3, "current", measures="workload")
    assert text == kpi_text(toy_grid_3x3, "current", measures=["workload"])
    path = kpi_report(
        toy_grid_3x3, "current", measures="workload", out=tmp_path / "k.html"
    )
    assert "workload" in path.read_text(encoding="utf-8")


def test_kpi_report_formats_its_tables_like_the_study_report(toy_grid_3x3, tmp_path):
    """kpi_report printed raw 'NaN'/'None', fractions and '-0' where the
    study report shows '–', percentages and thousands separators."""
    import re

    import pandas as pd

    from terrakit.data.alignment import Alignment

    units = toy_grid_3x3.units.index
    vacant = Alignment(
        pd.Series(["NEW"] * 4 + ["R2"] * (len(units) - 4), index=units), name="v"
    )
    page = kpi_report(toy_grid_3x3, vacant, out=tmp_path / "k.html").read_text(
        encoding="utf-8"
    )
    text = re.sub(r"<[^>]+>", " ", page.split("<h2", 1)[1])
    assert re.search(r"\b(nan|NaN|None)\b", text) is None
    assert re.search(r"\d\.?\d*e[+-]\d+", text) is None
    assert " %" in text  # max_rel_dev and cv as percentages
    row = re.search(r"<th>NEW</th>(.*?)</tr>", page, re.S)
    assert row is not None and "<td>–</td>" in row.group(1)


def test_kpi_text_shows_a_vacancy_as_a_dash(toy_grid_3x3):
    """The console text printed 'NaN' for a territory without a rep."""
    import re

    import pandas as pd

    from terrakit.data.alignment import Alignment

    units = toy_grid_3x3.units.index
    vacant = Alignment(
        pd.Series(["NEW"] * 4 + ["R2"] * (len(units) - 4), index=units), name="v"
    )
    text = kpi_text(toy_grid_3x3, vacant)
    new = next(line for line in text.splitlines() if line.startswith("NEW"))
    assert "–" in new and re.search(r"\b(nan|NaN|None)\b", text) is None


def test_missing_potential_does_not_stop_the_report(toy_grid_3x3, tmp_path):
    """NaN potential in two units stopped kpi_text and kpi_report (even with
    only workload balanced); the territory's potential and penetration are now
    shown as unknown ('–') and a warning names the units."""
    import numpy as np

    from terrakit.exceptions import TerrakitWarning

    units = toy_grid_3x3.units.copy()
    units.loc[["u8", "u9"], "potential"] = np.nan
    study = toy_grid_3x3.replace(units=units)
    with pytest.warns(TerrakitWarning, match=r"2 of 9 units have no value"):
        text = kpi_text(study, "current", measures=["workload"])
    row = next(line for line in text.splitlines() if line.startswith("R2 "))
    assert row.split()[5:7] == ["–", "–"]  # potential, penetration
    row1 = next(line for line in text.splitlines() if line.startswith("R1 "))
    assert row1.split()[5:7] == ["50000.0", "0.39"]
    with pytest.warns(TerrakitWarning, match=r"territories R2\."):
        kpi_report(study, "current", measures="workload", out=tmp_path / "k.html")


def test_kpi_page_fits_a_phone(toy_grid_3x3, tmp_path):
    """The page had no viewport tag and its provenance table was outside the
    scroll container (the page was 435 px wide on a 390 px phone); the
    browser check is in tests/report/test_browser.py."""
    page = kpi_report(toy_grid_3x3, "current", out=tmp_path / "k.html").read_text(
        encoding="utf-8"
    )
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in (
        page
    )
    assert page.count("<table") == 3
    assert page.count('<div class="table-scroll" style="overflow-x: auto"><table') == 3


def test_one_territory_is_singular(toy_grid_3x3, tmp_path):
    """A one-territory alignment read '1 territories' in the text and the page."""
    import pandas as pd

    from terrakit.data.alignment import Alignment

    solo = Alignment(pd.Series("R1", index=toy_grid_3x3.units.index), name="solo")
    assert kpi_text(toy_grid_3x3, solo).startswith(
        "Alignment 'solo': 1 territory, 9 units"
    )
    page = kpi_report(toy_grid_3x3, solo, out=tmp_path / "k.html").read_text(
        encoding="utf-8"
    )
    assert "<p>1 territory, 9 units.</p>" in page


def test_a_hand_edit_s_provenance_is_labelled_as_its_parent_s(toy_grid_3x3, tmp_path):
    """The page listed the provenance a hand edit keeps from the alignment it
    was made from (its measured balance, its method) as the edit's own."""
    cur = toy_grid_3x3.alignments["current"]
    edited = cur.replace({"u5": "R2", "u2": "R2"}).rename("edited")
    page = kpi_report(toy_grid_3x3, edited, out=tmp_path / "k.html").read_text(
        encoding="utf-8"
    )
    assert (
        "<p>edited was edited by hand (2 edits): the entries below, except "
        "edits, are those of the alignment it was made from, as designed" in page
    )
    page = kpi_report(toy_grid_3x3, cur, out=tmp_path / "c.html").read_text(
        encoding="utf-8"
    )
    assert "edited by hand" not in page


def test_kpi_report_writes_only_an_html_page(toy_grid_3x3, tmp_path):
    """kpi_report(study, 'current', 'client_study.gpkg') wrote its HTML over
    the study file; StudyReport.save refuses such a path."""
    gpkg = tmp_path / "client_study.gpkg"
    toy_grid_3x3.save(gpkg)
    before = gpkg.read_bytes()
    with pytest.raises(ValueError) as err:
        kpi_report(toy_grid_3x3, "current", gpkg)
    assert str(err.value) == (
        "the file is an HTML page: use a .html path, got 'client_study.gpkg' "
        f"(e.g. {str(tmp_path / 'client_study.html')!r})"
    )
    assert gpkg.read_bytes() == before
    with pytest.raises(IsADirectoryError) as err:
        kpi_report(toy_grid_3x3, "current", tmp_path)
    assert str(err.value) == (
        f"{str(tmp_path)!r} is a folder; give the file's name, e.g. "
        f"{str(tmp_path / 'kpi.html')!r}"
    )
    page = kpi_report(toy_grid_3x3, "current", tmp_path / "kpi.htm")
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_default_measures_the_study_lacks_are_skipped(toy_grid_3x3, tmp_path):
    """A workload-only study failed with the default measures ("measure
    'sales' is not a column"), though StudyReport skips the missing ones."""
    from terrakit import Study
    from terrakit.exceptions import DataValidationError

    cur = toy_grid_3x3.alignments["current"]
    study = Study(toy_grid_3x3.units[["workload", "geometry"]], alignments={"c": cur})
    text = kpi_text(study, "c")
    assert text == kpi_text(study, "c", measures="workload")
    balance = text.split("Territory KPIs:")[0]
    assert "workload" in balance and "sales" not in balance
    page = kpi_report(study, "c", tmp_path / "k.html").read_text(encoding="utf-8")
    assert "<th>workload</th>" in page
    with pytest.raises(DataValidationError) as err:
        kpi_text(study, "c", measures=["workload", "sales"])
    assert str(err.value) == (
        "units.sales: measures ['sales'] are not columns of the study's units; "
        "its numeric columns are ['units', 'workload']. Fix: pass measures= "
        "from these columns (or add the column to the units table)"
    )

"""The HTML study report: sections, self-containment, tables and bad input."""

from __future__ import annotations

import base64
import os
import re
import warnings

import pandas as pd
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


def test_an_empty_alignment_list_lists_the_study_alignments(toy_grid_3x3, tmp_path):
    """``[]`` is not the default (None: every alignment); it used to say the
    study has no alignment although it has ``current``."""
    with pytest.raises(
        DataValidationError,
        match=r"the alignments passed are an empty list; a report needs at least "
        r"one \(the study has \['current'\]\)\. Fix: name some of them, e\.g\. "
        r"alignments=\['current'\], or leave alignments out \(None\)",
    ):
        study_report(toy_grid_3x3, [], out=tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def _allocation() -> tk.sizing.CallPlan:
    """A two-account call allocation of ``tk.sizing`` (the other CallPlan)."""
    table = pd.DataFrame(
        {
            "segment": ["A", "A"],
            "pool": ["all", "all"],
            "current_calls": [6.0, 6.0],
            "calls": [8.0, 4.0],
            "hours": [8.0, 4.0],
            "expected_sales": [1_000.0, 600.0],
            "current_expected_sales": [900.0, 650.0],
        },
        index=pd.Index(["a1", "a2"], name="account_id"),
    )
    return tk.sizing.CallPlan(
        table=table,
        budgets=pd.Series({"all": 12.0}),
        objective=1_600.0,
        upper_bound=1_600.0,
        method="greedy",
        status="optimal",
    )


def test_a_sizing_call_allocation_is_not_a_routing_call_plan(toy_grid_3x3, tmp_path):
    """Both are called CallPlan; the report's call_plan= is the routing one.
    Passing the sizing one failed with a bare AttributeError ('territory')."""
    with pytest.raises(TypeError) as info:
        study_report(toy_grid_3x3, call_plan=_allocation(), out=tmp_path / "r.html")
    msg = str(info.value)
    assert (
        "call_plan= takes a tk.routing.CallPlan (one territory's visit days and "
        "routes, from tk.routing.plan_calls), got tk.sizing.CallPlan; that is a "
        "call allocation (calls per account, from tk.sizing.allocate_calls), "
        "which the report has no section for; show it in the method notes with "
        "notes={'Call allocation': allocation.summary()}"
    ) in msg
    # the advice works
    path = study_report(
        toy_grid_3x3,
        notes={"Call allocation": _allocation().summary()},
        out=tmp_path / "r.html",
    )
    assert "Call allocation" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("arg", "wanted"),
    [
        ("workload", "a tk.sizing.WorkloadResult (from tk.sizing.workload)"),
        ("headcount", "a tk.sizing.HeadcountCurve (from tk.sizing.headcount_curve)"),
        ("potential", "a tk.potential.PotentialResult"),
        ("forecast", "a tk.forecast.TerritoryForecast (forecast.by(alignment))"),
        ("quotas", "a tk.forecast.QuotaResult (from tk.forecast.quota) or a "),
        ("call_plan", "a tk.routing.CallPlan"),
    ],
)
def test_a_result_of_the_wrong_type_is_named(toy_grid_3x3, arg, wanted):
    """Each typed result is checked when the report is made, not when its
    section is drawn (a bare AttributeError deep in the HTML)."""
    with pytest.raises(TypeError, match=r"got pandas\.core\.frame\.DataFrame") as info:
        StudyReport(toy_grid_3x3, **{arg: pd.DataFrame({"x": [1.0]})})
    assert str(info.value).startswith(f"{arg}= takes {wanted}")


def test_look_alike_results_get_their_fix(toy_grid_3x3, small_headcount):
    """A headcount curve's best point or response curves as headcount=."""
    with pytest.raises(TypeError, match=r"pass the whole curve, not its best\(\)"):
        StudyReport(toy_grid_3x3, headcount=small_headcount.best())
    curves = tk.sizing.ResponseModel.from_judgement(
        {
            "A": {
                "zero": 0.4,
                "minus50": 0.8,
                "current": 1.0,
                "plus50": 1.1,
                "saturation": 1.2,
            }
        },
        reference={
            "A": {
                "accounts": 10,
                "calls_per_year": 12,
                "annual_sales": 1_000,
                "hours_per_call": 1.0,
            }
        },
    )
    with pytest.raises(TypeError, match=r"pass tk\.sizing\.headcount_curve\(curves"):
        StudyReport(toy_grid_3x3, headcount=curves)


@pytest.mark.parametrize("hours", [float("nan"), float("inf"), 0, "1600"])
def test_hours_per_rep_must_be_positive_and_finite(toy_grid_3x3, hours):
    """A NaN here failed only when the sizing section was drawn."""
    with pytest.raises(ValueError, match="hours_per_rep must be a positive, finite"):
        StudyReport(toy_grid_3x3, hours_per_rep=hours)


def _section_text(html: str, section: str) -> str:
    import html as H

    body = re.search(rf'<section id="{section}">(.*?)</section>', html, re.S)
    assert body is not None, section
    return re.sub(r"\s+", " ", H.unescape(re.sub(r"<[^>]+>", " ", body.group(1))))


@pytest.fixture(scope="module")
def small_potential(small_study):
    """A unit-level potential fit of the small study (Laplace, a few seconds)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tk.potential.PotentialModel(
            sampler_config={"method": "laplace", "progressbar": False, "draws": 50}
        ).fit(small_study, level="unit", seed=0)


def test_kpis_show_the_model_potential_beside_the_input_column(
    small_study, small_potential, tmp_path
):
    """The KPI table's potential is the units' input column while the Market
    potential section shows the model, and nothing said which was which."""
    report = StudyReport(small_study, ["current"], potential=small_potential)
    k = report.kpi_table()
    cur = small_study.alignments["current"]
    labels = cur.assignment.reindex(small_study.units.index)
    mean = small_potential.to_frame()["potential_mean"].reindex(labels.index)
    model = mean.groupby(labels).sum().reindex(k.index)
    inputs = tk.metrics.territory_kpis(small_study, cur)
    assert k["potential"].to_numpy() == pytest.approx(inputs["potential"].to_numpy())
    assert k["potential_model"].to_numpy() == pytest.approx(model.to_numpy())
    assert k["penetration_model"].to_numpy() == pytest.approx(
        (k["sales"] / model).to_numpy()
    )
    cols = list(k.columns)
    assert cols.index("potential_model") == cols.index("potential") + 1
    assert cols.index("penetration_model") == cols.index("penetration") + 1
    html = report.to_html()
    kpis = _section_text(html, "kpis")
    assert "potential is the units table's input column potential" in kpis
    assert "potential_model is the potential model's posterior-mean potential" in kpis
    methods = _section_text(html, "methods")
    assert "the units table's input column, not the potential model's" in methods
    assert "potential_model sums the potential model's posterior-mean" in methods
    # the workbook holds the same columns as the page
    sheet = report.tables()["KPIs current"]
    assert {"potential", "potential_model", "penetration_model"} <= set(sheet)


def test_the_potential_method_note_reads_the_fit(small_study):
    """The method note said "the 90th percentile" and "a BYM2 spatial effect"
    whatever the fit's quantile and spatial setting."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tk.potential.PotentialModel(
            model_config={"potential_quantile": 0.75, "spatial": "none"},
            sampler_config={"method": "laplace", "progressbar": False, "draws": 50},
        ).fit(small_study, level="unit", seed=0)
    methods = _section_text(
        StudyReport(small_study, ["current"], potential=res).to_html(), "methods"
    )
    assert "Potential is the 75 % quantile of the peer group's sales" in methods
    assert "(no spatial effect)" in methods


def test_kpis_without_a_potential_fit_label_the_input_column(small_study):
    report = StudyReport(small_study, ["current"])
    assert "potential_model" not in report.kpi_table().columns
    kpis = _section_text(report.to_html(), "kpis")
    assert "potential is the units table's input column potential" in kpis
    assert "potential_model" not in kpis


def test_comparison_table_formats_shares_and_counts(small_study, small_proposal):
    """The comparison was formatted after a transpose: shares as raw fractions
    and counts as '3.00', unlike the Balance table of the same page."""
    html = StudyReport(small_study, ["current", small_proposal]).to_html()
    rows = {}
    body = re.search(r'<section id="comparison">(.*?)</section>', html, re.S)
    for tr in re.findall(r"<tr.*?</tr>", body.group(1), re.S):
        cells = [c.strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
        rows[cells[0]] = cells[1:]
    assert rows["territories"] == ["3", "3"]
    assert rows["units_moved"] == ["0", "2"]
    assert re.fullmatch(r"\d+", rows["noncontiguous"][1])
    assert rows["accounts_moved_share"][0] == "0.0 %"
    assert rows["accounts_moved_share"][1].endswith(" %")
    assert rows["workload_max_dev"][0].endswith(" %")


def test_a_measure_that_totals_zero_gets_a_note_instead_of_a_chart(small_study):
    units = small_study.units.assign(potential=0.0)
    study = small_study.replace(units=units)
    html = StudyReport(study, ["current"], measures=["potential"]).to_html()
    balance = _section_text(html, "balance")
    assert "No balance chart of current: measure 'potential' totals 0" in balance


def test_number_columns_are_formatted_alike():
    """Float noise printed as '1.2e-17', tiny negatives as '-0.0 %', and one
    column mixed '166' with '58.81'; cv and p_* were formatted by name luck."""
    from terrakit.report.study import _fmt_column

    gini = _fmt_column("gini", pd.Series([1.2e-17, 0.25, -1e-12])).tolist()
    assert gini == ["0.000", "0.250", "0.000"]
    assert _fmt_column("growth", pd.Series([-0.0004, -1e-9, 0.05])).tolist() == [
        "0.0 %",
        "0.0 %",
        "5.0 %",
    ]
    assert _fmt_column("drive_min", pd.Series([166.2, 58.81, 0.5])).tolist() == [
        "166.20",
        "58.81",
        "0.50",
    ]
    assert _fmt_column("sales", pd.Series([1234567.8, 250.4])).tolist() == [
        "1,234,568",
        "250",
    ]
    assert _fmt_column("p_buy", pd.Series([0.961])).tolist() == ["96.1 %"]
    assert _fmt_column("p_attain", pd.Series([0.961])).tolist() == ["96.1 %"]
    assert _fmt_column("cv", pd.Series([0.2418])).tolist() == ["24.2 %"]
    assert _fmt_column("workload_cv", pd.Series([0.2418])).tolist() == ["24.2 %"]
    for text in _fmt_column("x", pd.Series([3e-05, 1e-7, 2e-05])):
        assert "e" not in text


def test_a_territory_without_a_rep_shows_a_dash(small_study):
    """A vacant territory's rep_name showed 'nan'."""
    cur = small_study.alignments["current"]
    a = cur.assignment.copy()
    a.iloc[:4] = "NEW-HIRE"
    html = StudyReport(small_study, [tk.Alignment(a, name="vacancy")]).to_html()
    row = re.search(r"<th>NEW-HIRE</th>\s*<td class=\"text\">([^<]*)</td>", html)
    assert row is not None and row.group(1) == "–"
    assert re.search(r"\bnan\b|\bNone\b", _section_text(html, "kpis")) is None


def test_quotas_are_shown_once(small_study, small_quotas):
    """The quota table was shown twice: a raw <pre> summary rounding p_attain
    to 0.0 above the formatted table."""
    html = StudyReport(small_study, ["current"], quotas=small_quotas).to_html()
    body = re.search(r'<section id="quotas">(.*?)</section>', html, re.S).group(1)
    assert "<pre>" not in body
    assert body.count("<table") == 1
    assert "company target" in body


def test_names_with_dollars_are_drawn_as_text(small_study):
    """A '$' in an alignment name was read as mathtext: the report crashed."""
    cur = small_study.alignments["current"]
    for name in ["East_$1M_West_$2M", "Tier#1 >$1M & #2 <$1M"]:
        html = StudyReport(small_study, [cur.rename(name)]).to_html()
        assert html.count("data:image/png;base64,") >= 2


def test_balance_figure_grows_with_the_territories(sample_study):
    """Sixty territories were squeezed into the 8 in of a dozen."""
    from terrakit.report.study import _balance_size

    units = sample_study.units.index
    sixty = tk.Alignment(
        pd.Series([f"T{i % 60:02d}" for i in range(len(units))], index=units),
        name="sixty",
    )
    assert _balance_size(sample_study.alignments["current"])[0] >= 8
    assert (
        _balance_size(sixty)[0] > _balance_size(sample_study.alignments["current"])[0]
    )


def test_an_alignment_named_id_keeps_its_column(small_study, small_proposal):
    """An alignment named 'id' got column territory_id, which the primary's
    territory_id then overwrote."""
    from terrakit.exceptions import TerrakitWarning
    from terrakit.report.tables import unit_assignments

    cur = small_study.alignments["current"].rename("id")
    with pytest.warns(TerrakitWarning, match="'territory_id_alignment' instead"):
        ua = unit_assignments(small_study, [cur, small_proposal])
    assert list(ua.columns).count("territory_id") == 1
    ids = ua.set_index("unit_id")
    assert (
        ids["territory_id_alignment"].to_numpy()
        == cur.assignment.reindex(small_study.units.index).to_numpy()
    ).all()
    assert (
        ids["territory_id"].to_numpy()
        == small_proposal.assignment.reindex(small_study.units.index).to_numpy()
    ).all()


def test_comparison_counts_pieces_on_the_graph_the_design_used(toy_grid_3x3):
    """With snapped gaps (``[data] snap_m``) the design works on a graph where
    more units touch than in the geometry; the comparison counted pieces on
    the geometry's graph and called such a plan broken.  Here u1 (a corner)
    is moved to R2, whose other units are on the far side: 1 territory in 2
    pieces on the touching graph, none on a graph in which every unit touches
    every other."""
    import numpy as np
    import scipy.sparse as sp

    from terrakit.data.geo import Adjacency

    study = toy_grid_3x3
    split = study.alignments["current"].replace({"u1": "R2"}).rename("split")
    ids = study.units.index
    n = len(ids)
    everyone = Adjacency(ids, sp.csr_array(np.ones((n, n)) - np.eye(n)))
    plain = StudyReport(study, ["current", split]).comparison_table()
    snapped = StudyReport(study, ["current", split], adjacency=everyone)
    assert plain.loc["split", "noncontiguous"] == 1
    assert snapped.comparison_table().loc["split", "noncontiguous"] == 0


def test_tables_scroll_in_a_container_and_text_columns_align_left(small_study):
    """Wide tables overflowed the page (no scroll container) and rep_name was
    right-aligned like the numbers, wrapping in its cell."""
    html = StudyReport(
        small_study, ["current"], provenance={"note": "x" * 50}
    ).to_html()
    assert ".table-scroll { overflow-x: auto;" in html
    assert "td.text, th.text, tbody th { text-align: left; }" in html
    wrap = '<div class="table-scroll" style="overflow-x: auto"><table'
    assert html.count("<table") == html.count(wrap) == 4

    def section(sid: str) -> str:
        return re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S).group(1)

    kpis = section("kpis")
    head = re.search(r"<thead>.*?</thead>", kpis, re.S).group(0)
    assert re.findall(r'<th class="text">(\w+)</th>', head) == ["rep_name", "rep_id"]
    assert "<th>units</th>" in head and "<th>sales</th>" in head
    row = re.search(r"<th>R08</th>(.*?)</tr>", kpis, re.S).group(1)
    cells = re.findall(r"<td([^>]*)>([^<]*)</td>", row)
    rep_name = small_study.reps.loc["R08", "name"]
    assert cells[0] == (' class="text"', rep_name)
    assert cells[-1] == (' class="text"', "R08")
    assert all(attrs == "" for attrs, _ in cells[1:-1])  # the numbers
    # a long value may wrap; the provenance's source and key columns are text
    prov = section("provenance")
    assert f'<td class="text long">"{"x" * 50}"</td>' in prov
    assert '<th class="text">source</th>' in prov


def test_an_unwritable_folder_is_named_not_the_temporary_file(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """A PermissionError named the hidden temporary file
    ('/sys/.tmp-....xlsx'), not the path asked for."""
    import errno

    import terrakit.report.study as report_mod

    real_open, real_replace = os.open, os.replace

    def denied_temp_files(path, *args, **kwargs):
        if os.path.basename(path).startswith(".tmp-"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    report = StudyReport(toy_grid_3x3)
    monkeypatch.setattr(os, "open", denied_temp_files)
    for name in ("r.xlsx", "r.html"):
        with pytest.raises(PermissionError) as err:
            report_mod._new_temp_file(tmp_path / name)
        assert str(err.value) == (
            f"[Errno 13] cannot write {str(tmp_path / name)!r}: its folder "
            f"{str(tmp_path)!r} is not writable; write to another folder (or get "
            "write access to this one)"
        )
    with pytest.raises(PermissionError, match=r"cannot write '.*r\.xlsx': its folder"):
        report.to_excel(tmp_path / "r.xlsx")
    monkeypatch.setattr(os, "open", real_open)

    def locked(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(src), None, dst)

    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(PermissionError) as err:
        with report_mod._replacing(tmp_path / "r.html") as tmp:
            tmp.write_text("page")
    monkeypatch.setattr(os, "replace", real_replace)
    assert str(err.value) == (
        f"[Errno 13] cannot replace {str(tmp_path / 'r.html')!r}: it is open in "
        "another program (e.g. Excel) or may not be overwritten; close it, or "
        "write to another file"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_advi_fit_that_had_not_converged_is_said_so(small_study):
    """An ADVI potential flagged as not converged (``advi_check``) went
    unmentioned in the provenance, the method note and the workbook."""
    import json
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = tk.potential.PotentialModel(
            model_config={"spatial": "none"},
            sampler_config={"method": "laplace", "progressbar": False, "draws": 50},
        ).fit(small_study, level="unit", seed=0)
    check = {
        "iterations": 3000,
        "window": 300,
        "loss_before": 292.7431,
        "loss_last": 292.0,
        "change_per_value": 0.0014163,
        "max_change": 0.1,
        "drift": 35.7712,
        "drift_at": "mean of h_alpha",
        "max_drift": 3.0,
        "jitter": 0.2113,
        "jitter_at": "sigma_log__",
        "max_jitter": 2.5,
        "converged": False,
        "learning_rate": 0.01,
    }
    res.idata.attrs["method"] = "advi"
    res.idata.attrs["advi_check"] = json.dumps(check)
    report = StudyReport(small_study, ["current"], potential=res)
    methods = _section_text(report.to_html(), "methods")
    assert (
        "fitted with ADVI, which had NOT converged at 3,000 iterations (its "
        "parameters were still moving): treat the potentials as rough; raise "
        "vi_iterations or use nutpie." in methods
    )
    prov = report.provenance_table().set_index(["source", "key"])["value"]
    assert prov["potential", "advi_check"] == (
        '{"change_per_value":0.001416,"converged":false,"drift":35.77,'
        '"drift_at":"mean of h_alpha","iterations":3000,"jitter":0.2113,'
        '"jitter_at":"sigma_log__","learning_rate":0.01,"loss_before":292.7,'
        '"loss_last":292.0,"max_change":0.1,"max_drift":3.0,"max_jitter":2.5,'
        '"window":300}'
    )
    # the workbook's Provenance sheet is this table
    assert report.tables()["Provenance"].equals(report.provenance_table())
    # a converged run says so; a Laplace fit has no check
    res.idata.attrs["advi_check"] = json.dumps({**check, "converged": True})
    methods = _section_text(
        StudyReport(small_study, ["current"], potential=res).to_html(), "methods"
    )
    assert "fitted with ADVI, which had converged in 3,000 iterations." in methods
    res.idata.attrs["method"] = "laplace"
    report = StudyReport(small_study, ["current"], potential=res)
    assert "fitted with laplace." in _section_text(report.to_html(), "methods")
    prov = report.provenance_table()
    assert prov[prov["key"] == "advi_check"].empty


def _forecast_of(territories, periods=12, name="current"):
    """A TerritoryForecast of ``territories`` from seeded lognormal draws."""
    import numpy as np
    import xarray as xr

    from terrakit.forecast import TerritoryForecast

    future = list(pd.period_range("2025-01", periods=periods, freq="M"))
    past = list(pd.period_range("2024-11", periods=2, freq="M"))
    rng = np.random.default_rng(0)
    n = len(territories)
    return TerritoryForecast(
        draws=xr.DataArray(
            rng.lognormal(7.0, 0.1, (50, n, periods)),
            dims=("draw", "territory", "period"),
            coords={"territory": list(territories), "period": future},
        ),
        history=xr.DataArray(
            np.full((n, 2), 1_000.0),
            dims=("territory", "period"),
            coords={"territory": list(territories), "period": past},
        ),
        alignment_name=name,
    )


def _quotas_of(territories):
    """Hand-written quotas (target 100 each) for ``territories``."""
    n = len(territories)
    return tk.forecast.QuotaResult(
        table=pd.DataFrame(
            {"target": [100.0] * n, "forecast_mean": [90.0] * n, "p_attain": [0.5] * n},
            index=pd.Index(list(territories), name="territory_id"),
        ),
        method="share_of_potential",
        company_target=100.0 * n,
    )


def test_balance_caption_keeps_the_tolerance_as_given(toy_grid_3x3):
    """tolerance=0.025 was captioned 'band ±2 %' (rounded to a whole
    percent) while the chart itself says ±2.5 %."""
    html = StudyReport(toy_grid_3x3, ["current"], tolerance=0.025).to_html()
    caps = re.findall(r"<figcaption>([^<]*band[^<]*)</figcaption>", html)
    assert caps == [
        "workload per territory, alignment current (band ±2.5 % of the mean)"
    ]


def test_one_of_something_is_singular(toy_grid_3x3):
    """'changes the territory of 1 units', '1 territories' and 'over the next
    1 months' on the page and the Summary sheet."""
    from terrakit.data.alignment import Alignment

    cur = toy_grid_3x3.alignments["current"]
    one = cur.replace({"u5": "R2"}).rename("one_move")
    summary = _section_text(StudyReport(toy_grid_3x3, [cur, one]).to_html(), "summary")
    assert "changes the territory of 1 unit (" in summary
    solo = Alignment.from_mapping(
        pd.Series("R1", index=toy_grid_3x3.units.index), name="solo"
    )
    report = StudyReport(
        toy_grid_3x3, [solo], forecast=_forecast_of(["R1"], periods=1, name="solo")
    )
    html = report.to_html()
    summary = _section_text(html, "summary")
    assert "solo : 1 territory;" in summary
    assert "Forecast sales over the next month: median" in summary
    assert "<figcaption>Alignment solo: 1 territory</figcaption>" in html
    sheet = report.tables()["Summary"].set_index("item")["value"]
    assert sheet["alignments"] == "solo (1 territory)"
    assert "9 units, 10 accounts, 2 reps" in report.summary()
    assert re.search(r"\b1 (territories|units|months)\b", html) is None


def test_headcount_table_keeps_the_best_and_the_last_size(toy_grid_3x3):
    """The thinned table (every 2nd of 30 sizes) left out both the best size
    (5) that the text above it names and the largest size tried (31)."""
    from terrakit.sizing import headcount_curve

    from .conftest import judged_response

    rc = judged_response()
    hc = headcount_curve(rc, reps=range(2, 32))
    best = hc.best().reps
    html = StudyReport(toy_grid_3x3, ["current"], headcount=hc).to_html()
    body = re.search(r'<section id="sizing">(.*?)</section>', html, re.S).group(1)
    shown = [int(x) for x in re.findall(r"<tr>\s*<th>(\d+)</th>", body)]
    assert best == 5 and best in shown and 31 in shown
    assert shown == sorted(set(shown)) and len(shown) < 20  # still thinned
    assert set(range(2, 32, 2)) <= set(shown)


def test_a_forecast_or_quotas_of_another_alignment_are_refused(toy_grid_3x3):
    """A forecast and quotas of territories R1/R2 were reported silently
    beside an alignment whose territories are T1/T2."""
    from terrakit.data.alignment import Alignment

    cur = toy_grid_3x3.alignments["current"]
    other = Alignment.from_mapping(
        cur.assignment.map({"R1": "T1", "R2": "T2"}), name="renamed"
    )
    with pytest.raises(DataValidationError) as err:
        StudyReport(toy_grid_3x3, [other], forecast=_forecast_of(["R1", "R2"]))
    assert str(err.value) == (
        "forecast.territory: the forecast (of 'current') is for 2 territories, "
        "none of which the reported alignments ['renamed'] have (their "
        "territories: 'T1', 'T2'): it was made for another alignment (rows: "
        "'R1', 'R2'). Fix: pass forecast=fitted.predict(...).by(alignment) of "
        "one of the reported alignments, or report the alignment it was made for"
    )
    with pytest.raises(DataValidationError) as err:
        StudyReport(toy_grid_3x3, [other], quotas=_quotas_of(["R1", "R2"]))
    assert str(err.value).startswith(
        "quotas.territory_id: the quotas are for 2 territories, none of which "
        "the reported alignments ['renamed'] have"
    )
    assert err.value.rows == ["R1", "R2"]
    # a forecast and quotas of the baseline beside a renamed proposal are fine,
    # and the quota section says whose territories they are
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = StudyReport(
            toy_grid_3x3,
            [cur, other],
            forecast=_forecast_of(["R1", "R2"]),
            quotas=_quotas_of(["R1", "R2"]),
        )
    assert (
        "Quotas per territory of alignment 'current'. Method: share_of_potential"
        in _section_text(report.to_html(), "quotas")
    )
    # some territories in no reported alignment: a warning naming them
    with pytest.warns(
        tk.exceptions.TerrakitWarning,
        match=r"^1 of the 3 territories of the forecast \('R3'\) is in none of "
        r"the reported alignments \['current'\]",
    ):
        StudyReport(toy_grid_3x3, [cur], forecast=_forecast_of(["R1", "R2", "R3"]))


def test_the_crm_sheet_is_promised_only_when_there_is_one(toy_grid_3x3):
    """A study without accounts was told its workbook held 'the account
    assignments ready to load into a CRM'; it has no such sheet."""
    units_only = tk.Study(
        toy_grid_3x3.units, alignments={"current": toy_grid_3x3.alignments["current"]}
    )
    report = StudyReport(units_only, ["current"])
    assert "Account assignments" not in report.tables()
    summary = _section_text(report.to_html(), "summary")
    assert "the Excel workbook holds the full tables." in summary
    assert "CRM" not in summary
    report = StudyReport(toy_grid_3x3, ["current"])
    assert "Account assignments" in report.tables()
    assert (
        "the Excel workbook holds the full tables and the account assignments "
        "ready to load into a CRM." in _section_text(report.to_html(), "summary")
    )


def test_a_hand_edit_does_not_claim_its_parent_s_provenance(toy_grid_3x3):
    """A hand edit (Alignment.replace keeps the provenance) showed its parent's
    measured workload_max_deviation and method as its own, contradicting the
    balance table of the same page."""
    from terrakit.data.alignment import Alignment, make_provenance

    cur = toy_grid_3x3.alignments["current"]
    designed = Alignment.from_mapping(
        cur.assignment,
        name="designed",
        provenance=make_provenance("mip/highs", workload_max_deviation=0.1556),
    )
    edited = designed.replace({"u5": "R2"}).rename("edited")
    report = StudyReport(toy_grid_3x3, [designed, edited])
    prov = report.provenance_table()
    mine = prov[prov["source"] == "alignment edited"]
    assert mine[["key", "value"]].values.tolist() == [["edits", "1"]]
    parent = prov[prov["source"] == "alignment edited as designed, before 1 edit"]
    assert parent.set_index("key").loc["workload_max_deviation", "value"] == "0.1556"
    assert set(parent["key"]) == set(designed.provenance)
    # the unedited alignment keeps its own label
    own = prov[prov["source"] == "alignment designed"]
    assert own.set_index("key").loc["workload_max_deviation", "value"] == "0.1556"
    methods = _section_text(report.to_html(), "methods")
    assert (
        "Methods of the reported alignments: hand edits of mip/highs (edited: "
        "1 edit after the design), mip/highs." in methods
    )


def test_the_provenance_holds_every_result_s_and_the_report_s_settings(
    toy_grid_3x3,
):
    """The quotas' provenance (seed, method, weight) was left out, and the
    forecast's seed and config hash; hours_per_rep (which sets the Reps needed
    table), the tolerance and the measures were not recorded at all."""
    import dataclasses
    import json

    study = toy_grid_3x3.replace(
        accounts=toy_grid_3x3.accounts.assign(calls_per_year=12.0, call_minutes=30.0)
    )
    cur = study.alignments["current"]
    q = tk.sizing.quotas(study, cur, method="blend", weight=0.3, seed=7)
    tf = dataclasses.replace(
        _forecast_of(["R1", "R2"]),
        provenance={"seed": 123, "config_hash": "abc123", "alignment": "current"},
    )
    report = StudyReport(
        study,
        [cur],
        quotas=q,
        forecast=tf,
        workload=tk.sizing.workload(study, travel=None),
        hours_per_rep=1_500,
        tolerance=0.1,
    )
    prov = report.provenance_table()
    value = prov.set_index(["source", "key"])["value"]
    assert value["report", "measures"] == '["workload", "sales", "accounts"]'
    assert value["report", "tolerance"] == "0.1"
    assert value["report", "hours_per_rep"] == "1500.0"
    assert value["quotas", "seed"] == "7"
    assert value["quotas", "alignment"] == '"current"'
    cfg = json.loads(value["quotas", "config"])
    assert (cfg["method"], cfg["weight"]) == ("blend", 0.3)
    assert value["forecast", "seed"] == "123"
    assert value["forecast", "config_hash"] == '"abc123"'
    # the forecast's alignment is one row, not two
    forecast = prov[prov["source"] == "forecast"]
    assert forecast["key"].tolist() == ["alignment", "draws", "seed", "config_hash"]
    assert prov.duplicated(["source", "key"]).sum() == 0
    # without a workload, hours_per_rep sets nothing and is not listed
    keys = StudyReport(study, [cur]).provenance_table()["key"]
    assert "hours_per_rep" not in set(keys) and "tolerance" in set(keys)


def test_a_first_measure_that_totals_zero_is_not_nan_percent(toy_grid_3x3):
    """The summary said 'largest new_products deviation from the mean nan %'."""
    units = toy_grid_3x3.units.copy()
    units["new_products"] = 0.0
    study = toy_grid_3x3.replace(units=units)
    report = StudyReport(study, None, measures=["new_products", "workload"])
    summary = _section_text(report.to_html(), "summary")
    assert (
        "current : 2 territories; largest new_products deviation from the mean "
        "undefined (new_products totals 0)." in summary
    )
    assert "nan" not in summary.lower()


def _without_alignment_record(quotas):
    """``quotas`` as made before tk.sizing.quotas recorded its alignment."""
    import dataclasses

    prov = {k: v for k, v in quotas.provenance.items() if k != "alignment"}
    return dataclasses.replace(quotas, provenance=prov)


def test_quotas_of_an_alignment_not_reported_are_not_claimed_by_another(
    toy_grid_3x3,
):
    """Quotas set for a proposal were reported beside today's alignment only,
    under 'Quotas per territory of alignment current', though their sales and
    potential per territory were the proposal's (the KPI table disagreed)."""
    from terrakit.exceptions import TerrakitWarning

    cur = toy_grid_3x3.alignments["current"]
    proposed = cur.replace({"u5": "R2"}, name="proposed")
    q = tk.sizing.quotas(toy_grid_3x3, proposed)
    fix = (
        " Fix: report the alignment the quotas were set for, or pass quotas set "
        "for one of the reported alignments (tk.sizing.quotas(study, alignment) "
        "or tk.forecast.quota(forecast, alignment))"
    )
    with pytest.warns(TerrakitWarning) as rec:
        report = StudyReport(toy_grid_3x3, [cur], quotas=q)
    assert [str(w.message) for w in rec] == [
        "the quotas were set for alignment 'proposed' (their provenance records "
        "it), which is not one of the reported alignments ['current']: their "
        "figures per territory are those of 'proposed', not of the report's KPI "
        "tables." + fix
    ]
    assert (
        " Quotas per territory of alignment 'proposed', which this report does "
        "not show: their sales, potential and quotas per territory are those of "
        "'proposed', not of the reported alignments. Method: potential_share"
        in _section_text(report.to_html(), "quotas")
    )
    # reported with the proposal: named, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = StudyReport(toy_grid_3x3, [cur, proposed], quotas=q)
    assert report._quota_owner() == "Quotas per territory of alignment 'proposed'."
    # quotas that do not record it: their sales per territory tell
    # (R1 sold 6 x 1,320 under current; without u5's two accounts 4 x 1,320)
    old = _without_alignment_record(q)
    with pytest.warns(TerrakitWarning) as rec:
        report = StudyReport(toy_grid_3x3, [cur], quotas=old)
    assert [str(w.message) for w in rec] == [
        "the quotas have the territory ids of ['current'] but not their sales "
        "per territory ('R1': sales 5,280 in the quotas, 7,920 under 'current'; "
        "1 more territory differs): they were set for another alignment (the "
        "quotas do not record which)." + fix
    ]
    assert report._quota_owner() == (
        "Quotas per territory of an alignment this report does not show: their "
        "sales per territory are not those of ['current']."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = StudyReport(toy_grid_3x3, [cur, proposed], quotas=old)
    assert report._quota_owner() == "Quotas per territory of alignment 'proposed'."


def test_a_misspelt_weight_is_refused(toy_grid_3x3):
    """weight='Sales' (no such column) was taken silently as weight=None."""
    cur = toy_grid_3x3.alignments["current"]
    proposed = cur.replace({"u5": "R2"}, name="proposed")
    with pytest.raises(DataValidationError) as err:
        compare_alignments(toy_grid_3x3, [cur, proposed], weight="Sales")
    assert str(err.value) == (
        "units.Sales: weight 'Sales' is not a column of the study's units (did "
        "you mean 'sales'?); its numeric columns are ['workload', 'potential', "
        "'accounts', 'sales']. Fix: pass weight= one of these columns, or "
        "weight=None to count every unit 1"
    )
    named = compare_alignments(toy_grid_3x3, [cur, proposed], weight="sales")
    plain = compare_alignments(toy_grid_3x3, [cur, proposed], weight=None)
    assert not named["moment_of_inertia"].equals(plain["moment_of_inertia"])
    # the default weight is skipped where the units have no workload
    units = toy_grid_3x3.units.drop(columns=["workload"])
    study = tk.Study(units, alignments={"current": cur})
    pd.testing.assert_frame_equal(
        compare_alignments(study, [cur, proposed], measures=["units"]),
        compare_alignments(study, [cur, proposed], measures=["units"], weight=None),
    )


def test_one_measure_name_is_one_measure_in_the_comparison(toy_grid_3x3):
    """measures='sales' was split into letters ("measure 's' is not a column")."""
    cur = toy_grid_3x3.alignments["current"]
    proposed = cur.replace({"u5": "R2"}, name="proposed")
    pd.testing.assert_frame_equal(
        compare_alignments(toy_grid_3x3, [cur, proposed], measures="sales"),
        compare_alignments(toy_grid_3x3, [cur, proposed], measures=["sales"]),
    )

"""The Excel workbook: one sheet per table, account assignments for a CRM."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

import terrakit as tk
from terrakit.report import account_assignments, to_excel


@pytest.fixture(scope="module")
def workbook(small_study, small_proposal, small_forecast, tmp_path_factory):
    """The workbook of the current and the proposed alignment, with a forecast."""
    path = tmp_path_factory.mktemp("xlsx") / "study.xlsx"
    return to_excel(
        small_study,
        ["current", small_proposal],
        out=path,
        workload=tk.sizing.workload(small_study, travel=None),
        forecast=small_forecast,
    )


def test_one_sheet_per_table(workbook):
    wb = openpyxl.load_workbook(workbook, read_only=True)
    assert wb.sheetnames == [
        "Summary",
        "Account assignments",
        "Unit assignments",
        "Balance",
        "KPIs current",
        "KPIs proposed",
        "Comparison",
        "Workload",
        "Reps needed",
        "Forecast totals",
        "Forecast monthly",
        "Provenance",
    ]


def test_account_assignments_ready_for_a_crm(workbook, small_study, small_proposal):
    df = pd.read_excel(workbook, sheet_name="Account assignments", dtype=str)
    assert list(df.columns) == [
        "account_id",
        "unit_id",
        "segment",
        "territory_id",
        "rep_id",
        "rep_name",
        "current_rep_id",
        "previous_territory_id",
        "changed",
    ]
    acc = small_study.accounts
    assert len(df) == len(acc) and df["account_id"].is_unique
    df = df.set_index("account_id")
    # every account's territory is its unit's territory under the proposal
    expect = acc["unit_id"].map(small_proposal.assignment)
    assert (df["territory_id"] == expect.reindex(df.index)).all()
    # the rep name is the reps table's name of that territory's rep
    names = small_study.reps["name"]
    assert (df["rep_name"] == df["rep_id"].map(names)).all()
    # changed: exactly the accounts of the two counties that moved
    moved = small_proposal.moved_units(small_study.alignments["current"])
    n_moved = int(acc["unit_id"].isin(moved).sum())
    assert (df["changed"] == "True").sum() == n_moved > 0
    # unit ids keep their text form (leading zeros would survive)
    assert df["unit_id"].str.len().eq(5).all()


def test_unit_sheet_has_every_alignment(workbook, small_study):
    df = pd.read_excel(workbook, sheet_name="Unit assignments", dtype=str)
    for col in ("unit_id", "territory_current", "territory_proposed", "rep_name"):
        assert col in df.columns
    assert len(df) == len(small_study.units)


def test_forecast_sheet_reads_back(workbook, small_forecast):
    df = pd.read_excel(workbook, sheet_name="Forecast totals", index_col=0)
    assert df["mean"].to_numpy() == pytest.approx(
        small_forecast.total()["mean"].to_numpy()
    )


def test_unowned_accounts_and_vacant_territories(small_study):
    """A territory without a rep of that id gets no rep name, and says changed."""
    cur = small_study.alignments["current"]
    vacant = cur.replace({u: "VACANT" for u in cur.units_of("R10")}).rename("v")
    df = account_assignments(small_study, vacant, previous=cur)
    sel = df["territory_id"] == "VACANT"
    assert sel.any()
    assert df.loc[sel, "rep_id"].isna().all() and df.loc[sel, "rep_name"].isna().all()
    assert df.loc[sel, "changed"].all()
    assert not df.loc[~sel, "changed"].any()


def test_kpi_sheets_name_their_alignment(small_study, tmp_path):
    """Sheet names are cut to 31 characters: two alignments whose names share
    their first 26 gave 'KPIs <26 characters>' and '... (2)' and nothing in
    the sheets said which alignment each one was."""
    cur = small_study.alignments["current"]
    a = cur.rename("designed_tolerance_0.05_version_A")
    b = cur.replace({cur.units_of("R09")[0]: "R08"}).rename(
        "designed_tolerance_0.05_version_B"
    )
    path = to_excel(small_study, [a, b], out=tmp_path / "k.xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    kpi_sheets = [n for n in wb.sheetnames if n.startswith("KPIs")]
    assert len(kpi_sheets) == 2
    names = []
    for sheet in kpi_sheets:
        df = pd.read_excel(path, sheet_name=sheet)
        assert df.columns[0] == "alignment"
        assert df["alignment"].nunique() == 1
        names.append(df["alignment"].iloc[0])
    assert names == [a.name, b.name]


def test_text_that_starts_with_equals_stays_text(small_study, tmp_path):
    """'=A' or '=HYPERLINK(...)' in the data were written as live formulas:
    the segment read back empty and the rep name became a link."""
    reps = small_study.reps.copy()
    rid = reps.index[0]
    evil = '=HYPERLINK("http://evil.example","Dana")'
    reps.loc[rid, "name"] = evil
    acc = small_study.accounts.copy()
    acc["segment"] = "=A"
    study = small_study.replace(reps=reps, accounts=acc)
    cur = study.alignments["current"].rename("=id")
    path = to_excel(study, [cur], out=tmp_path / "f.xlsx")
    wb = openpyxl.load_workbook(path)
    formulas = [
        (ws.title, c.coordinate)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type in ("f", "e")
    ]
    assert formulas == []
    back = pd.read_excel(path, sheet_name="Account assignments", dtype=str)
    assert (back["segment"] == "=A").all()
    kpis = pd.read_excel(path, sheet_name="KPIs =id", dtype=str)
    assert (kpis["alignment"] == "=id").all()
    assert evil in set(kpis["rep_name"])


def test_numbers_carry_excel_formats(workbook):
    """Fractions were bare numbers in 'General' format (24.4 % read 0.2436)."""
    wb = openpyxl.load_workbook(workbook)

    def fmt(sheet, col):
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        return ws.cell(2, header.index(col) + 1).number_format

    assert fmt("KPIs proposed", "penetration") == "0.0%"
    assert fmt("KPIs proposed", "growth") == "0.0%"
    assert fmt("Balance", "max_rel_dev") == "0.0%"
    assert fmt("Balance", "cv") == "0.0%"
    assert fmt("Comparison", "sales_moved_share") == "0.0%"
    assert fmt("KPIs proposed", "units") == "#,##0"
    assert fmt("KPIs proposed", "sales") == "#,##0"
    assert fmt("KPIs proposed", "travel_to_center_km") in ("#,##0", "#,##0.00")
    assert fmt("Balance", "gini") == "#,##0.000"
    # text stays in General
    assert fmt("KPIs proposed", "rep_name") == "General"


def _judged_headcount(segments):
    """A headcount curve over judgement-calibrated segments (no MCMC)."""
    from terrakit.sizing import ResponseModel, headcount_curve

    judgement = {
        "zero": 0.4,
        "minus50": 0.8,
        "current": 1.0,
        "plus50": 1.1,
        "saturation": 1.2,
    }
    ref = {
        s: {
            "accounts": 100 * (k + 1),
            "calls_per_year": 12,
            "annual_sales": 50_000,
            "hours_per_call": 1.5,
        }
        for k, s in enumerate(segments)
    }
    rc = ResponseModel.from_judgement({s: judgement for s in segments}, reference=ref)
    return headcount_curve(rc, reps=range(1, 6))


def test_columns_named_from_user_data_are_not_percentages(small_study, tmp_path):
    """Percent formatting was chosen by a word anywhere in the name: the
    headcount curve's calls_Develop and calls_Growth (1.9 calls) showed as
    190.0 %."""
    from terrakit.report.study import _fmt_column, _is_percent

    hc = _judged_headcount(["Maintain", "Develop", "Growth", "cv"])
    path = to_excel(small_study, ["current"], out=tmp_path / "hc.xlsx", headcount=hc)
    ws = openpyxl.load_workbook(path)["Headcount curve"]
    header = [c.value for c in ws[1]]
    formats = {
        col: ws.cell(2, header.index(col) + 1).number_format
        for col in ("calls_Maintain", "calls_Develop", "calls_Growth", "calls_cv")
    }
    assert formats == dict.fromkeys(formats, "#,##0.00")
    # the HTML tables follow the same rule
    assert _fmt_column("calls_Develop", pd.Series([1.9])).tolist() == ["1.90"]
    # the report's own fraction columns, and only those, are percentages
    for name in (
        "max_rel_dev",
        "cv",
        "penetration",
        "penetration_model",
        "growth",
        "workload_max_dev",
        "sales_cv",
        "accounts_moved_share",
        "quota_share",
        "p_attain",
        "p_buy",
    ):
        assert _is_percent(name), name
    for name in ("calls_Develop", "calls_Growth", "sales_gap", "revenue_growth_k"):
        assert not _is_percent(name), name


def test_accounts_without_an_owner_before_and_after_have_not_changed(small_study):
    """A vacant territory that stays vacant flagged all its 376 accounts
    'changed' (None != None): 387 flagged where 11 accounts moved."""
    cur = small_study.alignments["current"]
    vacant_units = cur.units_of("R10")
    today = cur.replace({u: "VACANT" for u in vacant_units}).rename("today")
    acc = small_study.accounts.copy()
    acc.loc[acc["unit_id"].isin(vacant_units), "rep_id"] = float("nan")
    study = small_study.replace(accounts=acc)
    proposal = today.replace({today.units_of("R09")[0]: "R08"}).rename("proposal")
    df = account_assignments(study, proposal, previous=today)
    vacant = df["territory_id"] == "VACANT"
    assert int(vacant.sum()) == 376 and int(df.loc[vacant, "changed"].sum()) == 0
    moved = df["territory_id"] != df["previous_territory_id"]
    assert int(moved.sum()) == 11
    assert df["changed"].equals(moved)
    # without owners the territory decides, missing on both sides is no change
    no_owner = study.replace(accounts=acc.drop(columns="rep_id"))
    df = account_assignments(no_owner, proposal, previous=today)
    assert int(df["changed"].sum()) == 11


def test_sheet_names_never_start_or_end_with_an_apostrophe(small_study, tmp_path):
    """'KPIs ' + a name cut to 31 characters ended in an apostrophe, which
    Excel refuses."""
    from terrakit.report.study import _sheet_name

    a = small_study.alignments["current"].rename("2024/Q3 [baseline]: today's map")
    path = to_excel(small_study, [a], out=tmp_path / "q.xlsx")
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    assert names[4] == "KPIs 2024_Q3 _baseline__ today"
    taken: set[str] = set()
    assert _sheet_name("'quoted'", taken) == "quoted"
    assert _sheet_name("quoted", taken) == "quoted (2)"
    assert _sheet_name("'''", taken) == "Sheet"
    assert _sheet_name("a\x0bb", taken) == "ab"


def test_control_characters_are_removed_with_a_warning(small_study, tmp_path):
    """A vertical tab in a rep name (pasted from a CRM export) crashed the
    workbook with openpyxl's IllegalCharacterError."""
    reps = small_study.reps.copy()
    reps.loc["R08", "name"] = "Walt\x0bPruitt"
    study = small_study.replace(reps=reps)
    with pytest.warns(tk.exceptions.TerrakitWarning) as record:
        path = to_excel(study, ["current"], out=tmp_path / "c.xlsx")
    texts = [str(w.message) for w in record]
    assert (
        "Excel workbook, sheet 'KPIs current', column 'rep_name': removed control "
        "characters a workbook cannot store ('\\x0b') from 1 cell (row 2: "
        "territory_id 'R08'); clean the input table (e.g. a vertical tab pasted "
        "from a CRM export) to keep the text as it is"
    ) in texts
    acc = [t for t in texts if "'Account assignments', column 'rep_name'" in t]
    assert len(acc) == 1 and "from 219 cells (rows 224, 225, 226, 227, 228: " in acc[0]
    assert "account_id 'ACC00446', 'ACC00447'" in acc[0] and "and 214 more" in acc[0]
    kpis = pd.read_excel(path, sheet_name="KPIs current", index_col="territory_id")
    assert kpis.loc["R08", "rep_name"] == "WaltPruitt"


def test_a_macro_enabled_name_is_refused(toy_grid_3x3, tmp_path):
    """A .xlsm path got a plain workbook's content type: Excel refused to open it."""
    with pytest.raises(ValueError) as err:
        to_excel(toy_grid_3x3, out=tmp_path / "r.xlsm")
    assert str(err.value) == (
        "the report workbook has no macros, and Excel refuses to open a macro-free "
        "workbook named .xlsm; got 'r.xlsm': use a .xlsx path (e.g. "
        f"{str(tmp_path / 'r.xlsx')!r})"
    )
    assert list(tmp_path.iterdir()) == []


def test_forecast_months_are_excel_dates(workbook, small_study, small_forecast):
    """Months were written as the text '2026-01'."""
    from terrakit.report import StudyReport
    from terrakit.report.study import _fmt_column

    ws = openpyxl.load_workbook(workbook)["Forecast monthly"]
    assert ws["B1"].value == "period"
    cell = ws["B2"]
    assert cell.is_date and cell.number_format == "yyyy-mm"
    assert cell.value == pd.Timestamp("2026-01-01").to_pydatetime()
    back = pd.read_excel(workbook, sheet_name="Forecast monthly")
    expect = small_forecast.to_frame()["period"].dt.to_timestamp()
    assert back["period"].tolist() == expect.tolist()
    # the table itself keeps the months, shown '2026-01' in HTML tables
    table = StudyReport(small_study, ["current"], forecast=small_forecast).tables()
    months = table["Forecast monthly"]["period"]
    assert _fmt_column("period", months.head(2)).tolist() == ["2026-01", "2026-02"]


def test_summary_sheet_has_items_and_values(workbook):
    """The summary's text lines were pasted into 'item', 'value' left empty."""
    ws = openpyxl.load_workbook(workbook)["Summary"]
    assert list(ws.iter_rows(values_only=True)) == [
        ("item", "value"),
        ("title", "Territory study — south-georgia"),
        ("units", 67),
        ("accounts", 928),
        ("reps", 3),
        ("alignments", "current (3 territories), proposed (3 territories)"),
        ("primary alignment", "proposed"),
        ("baseline alignment", "current"),
        (
            "sections",
            "summary, maps, balance, kpis, comparison, sizing, forecast, "
            "methods, provenance",
        ),
    ]


def _integer_reps(study):
    """``study`` with reps 1 and 2 for R1 and R2 (integer ids, as from a CSV)."""
    from terrakit.data.alignment import Alignment

    ids = {"R1": 1, "R2": 2}
    cur = study.alignments["current"].assignment.map(ids).astype("int64")
    return tk.Study(
        study.units,
        accounts=study.accounts.assign(rep_id=study.accounts["rep_id"].map(ids)),
        reps=study.reps.rename(index=ids),
        history=study.history,
        alignments={"current": Alignment(cur, name="current")},
    )


def test_territory_ids_as_text_find_their_integer_reps(toy_grid_3x3):
    """Territory ids '1', '2' (text, from a CSV) beside reps 1, 2 left every
    account without rep_id and rep_name and flagged it changed, silently,
    though the plan was today's alignment."""
    from terrakit.data.alignment import Alignment
    from terrakit.report import StudyReport, unit_assignments

    study = _integer_reps(toy_grid_3x3)
    cur = study.alignments["current"]
    as_text = Alignment(cur.assignment.astype(str), name="text")
    df = account_assignments(study, as_text, previous=cur)
    assert df["territory_id"].tolist() == [str(r) for r in df["current_rep_id"]]
    assert df["rep_id"].tolist() == df["current_rep_id"].tolist()
    assert set(df["rep_name"]) == {"Rep One", "Rep Two"}
    assert not df["changed"].any()
    units = unit_assignments(study, [cur, as_text])
    assert units["rep_name"].notna().all()
    kpis = StudyReport(study, [as_text]).kpi_table()
    assert kpis["rep_name"].to_dict() == {"1": "Rep One", "2": "Rep Two"}
    # a vacant territory stays without a rep; text reps find integer ids too
    vacant = Alignment(
        cur.assignment.astype(str).where(cur.assignment == 1, "NEW"), name="v"
    )
    df = account_assignments(study, vacant)
    new = df["territory_id"] == "NEW"
    assert df.loc[new, "rep_id"].isna().all() and df.loc[new, "changed"].all()
    assert (df.loc[~new, "rep_id"] == 1).all() and not df.loc[~new, "changed"].any()
    text_reps = tk.Study(
        study.units, accounts=study.accounts, reps=study.reps.rename(index=str)
    )
    df = account_assignments(text_reps, cur)
    assert df["rep_id"].tolist() == df["current_rep_id"].tolist()
    assert set(df["rep_id"]) == {"1", "2"} and not df["changed"].any()


def test_without_the_new_owners_no_unmoved_account_is_changed(toy_grid_3x3):
    """Without a reps table (or with territory ids that are no rep ids) the new
    owner is unknown: every account with an owner was flagged 'changed',
    6,000 of 6,000 on the sample study with its own alignment."""
    s = toy_grid_3x3
    cur = s.alignments["current"]
    no_reps = s.replace(reps=None)
    # territories named like today's owners: the owners compared
    for previous in (cur, None):
        df = account_assignments(no_reps, cur, previous=previous)
        assert df["changed"].dtype == bool and not df["changed"].any()
        assert df["rep_id"].isna().all()
    moved = cur.replace({"u5": "R2"}).rename("moved")
    df = account_assignments(no_reps, moved, previous=cur).set_index("account_id")
    assert sorted(df.index[df["changed"]]) == ["a10", "a5"]
    # territory ids that are no owner's id: the territory decides ...
    ids = {"R1": "T1", "R2": "T2"}
    today = cur.replace({u: ids[t] for u, t in cur.assignment.items()}).rename("t")
    plan = today.replace({"u5": "T2"}).rename("plan")
    for study in (no_reps, s):  # with reps too: T1, T2 are no rep ids
        df = account_assignments(study, plan, previous=today).set_index("account_id")
        assert sorted(df.index[df["changed"]]) == ["a10", "a5"]
        # ... and without the previous territories nothing tells: missing
        df = account_assignments(study, plan)
        assert str(df["changed"].dtype) == "boolean" and df["changed"].isna().all()

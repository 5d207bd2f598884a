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

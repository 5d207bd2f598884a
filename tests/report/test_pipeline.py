"""run_pipeline on a reduced study, and loading a study through study.toml."""

from __future__ import annotations

import os
import re
import signal
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import terrakit as tk
from terrakit.exceptions import DataValidationError, SpecificationError
from terrakit.report import load_config, pipeline, run_pipeline
from terrakit.report.config import ConfigError, StudyConfig
from terrakit.report.pipeline import load_study

from ..conftest import swallow_ctrl_c

#: settings of the quick pipeline: no MCMC steps, short time limits
QUICK = """
[study]
name = "south-georgia"
seed = 3

[design]
balance = { workload = 0.25 }
time_limit = 10

[realign]
balance = { workload = 0.25 }
max_moved = 0.5
time_limit = 10

[sizing]
response_curves = false

[potential]
enabled = false

[forecast]
enabled = false

[routing]
territory = "R08"
weeks = 1
time_limit = 3

[report]
title = "South Georgia"
"""


@pytest.fixture(scope="module")
def small_files(small_study, tmp_path_factory):
    """The small study written as a CRM would export it: other column names.

    units.gpkg (id column ``GEOID``), accounts.csv (``Account``, ``County``,
    ``Owner``), reps.csv (``Rep``), history.csv (``Account``, ``Month`` as
    ``MM/YYYY``, ``Revenue``, ``calls``), current.csv (``County``, ``Rep``).
    """
    folder = tmp_path_factory.mktemp("client")
    units = small_study.units.rename_axis("GEOID").reset_index()
    units.to_file(folder / "units.gpkg", layer="counties")
    small_study.accounts.rename_axis("Account").reset_index().rename(
        columns={"unit_id": "County", "rep_id": "Owner"}
    ).to_csv(folder / "accounts.csv", index=False)
    small_study.reps.rename_axis("Rep").reset_index().to_csv(
        folder / "reps.csv", index=False
    )
    h = small_study.history.rename(
        columns={"account_id": "Account", "sales": "Revenue"}
    )
    h["Month"] = h.pop("period").dt.strftime("%m/%Y")
    h.to_csv(folder / "history.csv", index=False)
    small_study.alignments["current"].to_frame().reset_index().rename(
        columns={"unit_id": "County", "territory_id": "Rep"}
    ).to_csv(folder / "current.csv", index=False)
    return folder


DATA = """
[data]
units = "units.gpkg"
units_layer = "counties"
accounts = "accounts.csv"
reps = "reps.csv"
history = "history.csv"
period_format = "%m/%Y"
alignment = "current.csv"

[columns.units]
GEOID = "unit_id"

[columns.accounts]
Account = "account_id"
County = "unit_id"
Owner = "rep_id"

[columns.reps]
Rep = "rep_id"

[columns.history]
Account = "account_id"
Month = "period"
Revenue = "sales"

[columns.alignment]
County = "unit_id"
Rep = "territory_id"
"""


def _config(folder: Path, text: str, name: str = "study.toml") -> Path:
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def test_column_mappings_load_the_same_study(small_files, small_study):
    study = load_study(load_config(_config(small_files, DATA + QUICK)))
    assert study.units.index.equals(small_study.units.index)
    pd.testing.assert_frame_equal(
        study.accounts.sort_index(),
        small_study.accounts.sort_index(),
        check_like=True,
        check_dtype=False,
    )
    assert study.reps.index.tolist() == ["R08", "R09", "R10"]
    assert len(study.history) == len(small_study.history)
    assert study.history["sales"].sum() == pytest.approx(
        small_study.history["sales"].sum()
    )
    assert study.alignments["current"].same_assignment(
        small_study.alignments["current"]
    )
    assert study.metadata["name"] == "south-georgia"


def test_a_bad_row_names_the_file_and_the_key(small_files, tmp_path):
    acc = pd.read_csv(small_files / "accounts.csv", dtype=str)
    acc.loc[3, "County"] = "99999"
    acc.to_csv(tmp_path / "accounts.csv", index=False)
    for name in ("units.gpkg", "reps.csv", "history.csv", "current.csv"):
        (tmp_path / name).write_bytes((small_files / name).read_bytes())
    cfg = load_config(_config(tmp_path, DATA + QUICK))
    with pytest.raises(DataValidationError) as info:
        load_study(cfg)
    assert acc.loc[3, "Account"] in str(info.value)  # the offending account
    assert "unit_id" in str(info.value)
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "while reading [data] accounts" in notes and "study.toml" in notes


def test_quick_pipeline_end_to_end(small_files, tmp_path):
    """design → realign → workload → route R08 → study, HTML and Excel files."""
    cfg = load_config(_config(small_files, DATA + QUICK))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_pipeline(None, cfg, tmp_path / "out", progress=False, fast=True)
    assert res.fast
    assert list(res.study.alignments) == ["current", "designed", "rebalanced"]
    assert res.steps_run == ("design", "realign", "sizing", "routing")
    assert res.skipped == {"potential": "switched off", "forecast": "switched off"}
    assert res.headcount is None and res.workload is not None
    assert res.call_plan.territory == "R08"
    # the bands asked for hold in the alignments made
    for name in ("designed", "rebalanced"):
        bal = tk.metrics.balance(res.study, name, ["workload"])
        assert bal.loc["workload", "max_rel_dev"] <= 0.25 + 1e-6, name
    moved = res.rebalance.moved_share
    assert moved <= 0.5 + 1e-9
    # the files
    saved = tk.Study.load(res.files["study"])
    assert set(saved.alignments) == {"current", "designed", "rebalanced"}
    graph = saved.alignments["designed"].provenance["config"]["adjacency"]
    assert graph == "queen"
    html = res.files["html"].read_text(encoding="utf-8")
    for sid in ("summary", "maps", "comparison", "sizing", "routing", "provenance"):
        assert f'<section id="{sid}">' in html
    assert "Fast mode" in html and "South Georgia" in html
    sheets = pd.ExcelFile(res.files["excel"]).sheet_names
    assert "Account assignments" in sheets and "Call schedule" in sheets
    acc = pd.read_excel(res.files["excel"], "Account assignments", dtype=str)
    reb = res.study.alignments["rebalanced"].assignment
    assert (acc["territory_id"] == acc["unit_id"].map(reb)).all()
    # summary is stable text; str() adds the timings
    assert "steps run: design, realign, sizing, routing" in res.summary()
    assert re.search(r"\d s\b", res.summary()) is None  # no timings in summary()
    assert "Wall time per step" in str(res) and "total" in str(res)


def test_a_failing_step_is_named(small_files, tmp_path, monkeypatch):
    """An error inside a step keeps its message and gains a note naming the
    step and the settings section it ran with."""

    def align(*args, **kwargs):
        raise SpecificationError("no plan for these bands")

    monkeypatch.setattr(tk.design, "align", align)
    cfg = load_config(_config(small_files, DATA + QUICK, "typo.toml"))
    with pytest.raises(SpecificationError) as info:
        run_pipeline(None, cfg, tmp_path, progress=False, fast=True)
    assert str(info.value) == "no plan for these bands"
    notes = " ".join(info.value.__notes__)
    assert "step 'design' failed (settings: [design] in typo.toml)" in notes


def test_snap_m_gives_design_and_realign_the_snapped_graph(
    small_files, tmp_path, monkeypatch
):
    """``[data] snap_m`` builds the unit graph once with snapping; the design
    records it in its provenance, and both plans are contiguous on it.  The
    report counts pieces on that graph too: it used the touching graph, and
    on the sample with ``snap_m = 500`` called 2 designed and 1 rebalanced
    territories broken."""
    from terrakit.report import study as study_report

    given = []
    real = study_report.StudyReport

    def spy(*args, **kw):
        given.append(kw.get("adjacency"))
        return real(*args, **kw)

    monkeypatch.setattr(tk.report, "StudyReport", spy)
    text = DATA.replace(
        'alignment = "current.csv"\n', 'alignment = "current.csv"\nsnap_m = 500\n'
    )
    assert "snap_m = 500" in text
    cfg = load_config(_config(small_files, text + QUICK, name="snapped.toml"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_pipeline(
            None,
            cfg.without("sizing", "routing"),
            tmp_path / "out",
            progress=False,
            fast=True,
        )
    config = res.study.alignments["designed"].provenance["config"]
    assert config["adjacency"] == "queen+snap500m"
    from terrakit.data.geo import adjacency

    graph = adjacency(res.study.units, snap_m=500, warn=False)
    for name in ("designed", "rebalanced"):
        pieces = tk.metrics.contiguity(res.study, name, adjacency=graph)
        assert (pieces == 1).all(), name
    # the report counts pieces on that graph too (it used the touching graph
    # and called 2 designed and 1 rebalanced territories broken on the sample)
    comp = pd.read_excel(
        res.files["excel"], sheet_name="Comparison", index_col="alignment"
    )
    assert comp.loc["designed", "noncontiguous"] == 0
    assert comp.loc["rebalanced", "noncontiguous"] == 0
    assert len(given) == 1 and given[0] is not None
    assert given[0].kind == graph.kind and (given[0].matrix != graph.matrix).nnz == 0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "balance = { workload = 0.25 }\ntime_limit = 10",
            "balance = { workloads = 0.25 }\ntime_limit = 10",
            "[design] balance.workloads: 'workloads' is not a numeric column of "
            "the study's units (did you mean 'workload'?)",
        ),
        (
            "max_moved = 0.5\n",
            'max_moved = 0.5\nmoved_measure = "salez"\n',
            "[realign] moved_measure: 'salez' is not a numeric column of the "
            "study's units (did you mean 'sales'?)",
        ),
        (
            'territory = "R08"',
            'territory = "R8"',
            "[routing] territory: 'R8' is not a territory of the 'rebalanced' "
            "alignment, which the routing plans (the realign step makes it: one "
            "territory per rep id) (did you mean 'R08'?)",
        ),
        (
            'title = "South Georgia"',
            'title = "South Georgia"\nmeasures = ["workload", "revenue"]',
            "[report] measures: 'revenue' is not a numeric column",
        ),
    ],
)
def test_settings_that_name_the_data_fail_before_any_step(
    small_files, tmp_path, old, new, message
):
    """A typo in a later step's settings used to surface only when that step
    ran, after the design (or after everything, for the report)."""
    assert old in QUICK
    cfg = load_config(_config(small_files, DATA + QUICK.replace(old, new, 1)))
    with pytest.raises(ConfigError) as info:
        run_pipeline(None, cfg, tmp_path / "out", progress=False, fast=True)
    assert message in str(info.value) and "Fix:" in str(info.value)
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_routing_territory_matches_number_ids(toy_grid_3x3, tmp_path):
    """``territory = 2`` in study.toml is read as text; territories numbered
    like their reps (rep_id 1, 2) must still be found."""
    s = toy_grid_3x3
    num = {"R1": 1, "R2": 2}
    acc = s.accounts.assign(
        rep_id=s.accounts["rep_id"].map(num), calls_per_year=12, call_minutes=30
    )
    current = tk.Alignment.from_mapping(
        {u: num[t] for u, t in s.alignments["current"].to_dict().items()},
        name="current",
    )
    study = s.replace(
        accounts=acc, reps=s.reps.rename(index=num), alignments={"current": current}
    )
    off = {"enabled": False}
    cfg = StudyConfig.from_dict(
        {
            "study": {"name": "numbers"},
            **{step: off for step in ("design", "realign", "sizing")},
            **{step: off for step in ("potential", "forecast")},
            "routing": {"territory": 2, "weeks": 1, "time_limit": 2},
        },
        require_data=False,
    )
    res = run_pipeline(study, cfg, tmp_path, progress=False, fast=True)
    assert res.call_plan is not None and res.call_plan.territory == 2


@pytest.mark.parametrize(
    ("potential", "message"),
    [
        (
            {"level": "account", "method": "advi"},
            "[report] measures: 'potential_model' is a unit column made only by "
            'the unit-level potential step, but [potential] level = "account": an '
            "account-level fit adds no unit column. Fix: set [potential] level = "
            '"unit"',
        ),
        (
            {"enabled": False},
            "[report] measures: 'potential_model' is a unit column made only by "
            "the unit-level potential step, but the potential step is switched off",
        ),
    ],
)
def test_potential_model_measure_needs_the_unit_level_potential(
    toy_grid_3x3, tmp_path, potential, message
):
    """Only the unit-level fit adds ``potential_model`` to the units; with an
    account-level fit the report step failed after the long potential fit."""
    off = {"enabled": False}
    cfg = StudyConfig.from_dict(
        {
            "study": {"name": "levels"},
            **{s: off for s in ("design", "realign", "sizing", "forecast", "routing")},
            "potential": potential,
            "report": {"measures": ["workload", "potential_model"]},
        },
        require_data=False,
    )
    with pytest.raises(ConfigError) as info:
        run_pipeline(toy_grid_3x3, cfg, tmp_path / "out", progress=False, fast=True)
    assert message in str(info.value)
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_potential_model_measure_of_a_study_that_has_the_column(toy_grid_3x3, tmp_path):
    """A study saved by an earlier run already carries ``potential_model``: the
    report may show it whatever the potential step does."""
    units = toy_grid_3x3.units.assign(potential_model=10_000.0)
    study = toy_grid_3x3.replace(units=units)
    off = {"enabled": False}
    cfg = StudyConfig.from_dict(
        {
            "study": {"name": "levels"},
            **{s: off for s in ("design", "realign", "sizing", "potential")},
            **{s: off for s in ("forecast", "routing")},
            "report": {"measures": ["workload", "potential_model"]},
        },
        require_data=False,
    )
    res = run_pipeline(study, cfg, tmp_path, progress=False, fast=True)
    assert "potential_model" in res.files["html"].read_text(encoding="utf-8")


def _all_off(**sections):
    off = {"enabled": False}
    raw = {"study": {"name": "checks"}}
    raw.update({s: off for s in ("design", "realign", "sizing", "potential")})
    raw.update({s: off for s in ("forecast", "routing")})
    raw.update(sections)
    return StudyConfig.from_dict(raw, require_data=False)


def test_misspelt_mapping_target_fails_at_load(small_files):
    text = DATA.replace(
        'Owner = "rep_id"\n', 'Owner = "rep_id"\nannual_sales = "anual_sales"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(_config(small_files, text + QUICK, "target.toml"))
    assert "(did you mean 'annual_sales'?)" in str(info.value)


def test_a_default_measure_the_study_cannot_build_is_named(toy_grid_3x3, tmp_path):
    """The default measures are shown where the study has them; one that is
    left out (the accounts' sales column mapped to another name) is said, with
    the column it lacks."""
    s = toy_grid_3x3
    study = s.replace(accounts=s.accounts.rename(columns={"annual_sales": "revenue"}))
    res = run_pipeline(study, _all_off(), tmp_path, progress=False, fast=True)
    said = [w for w in res.warnings if "'sales'" in w]
    assert said and "the accounts have no 'annual_sales' column" in said[0]
    assert "[columns.accounts]" in said[0]


def test_a_failed_output_step_leaves_the_previous_outputs(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """The study file, the HTML page and the workbook are swapped in together:
    a run failing after 'save study' left the folder mixing two runs."""
    cfg = _all_off()
    res = run_pipeline(toy_grid_3x3, cfg, tmp_path, progress=False, fast=True)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == {p.name for p in res.files.values()}

    def boom(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tk.report.StudyReport, "save", boom)
    study = toy_grid_3x3.replace(
        units=toy_grid_3x3.units.assign(workload=toy_grid_3x3.units["workload"] * 2)
    )
    with pytest.raises(OSError, match="No space left"):
        run_pipeline(study, cfg, tmp_path, progress=False, fast=True)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # untouched, and no partial files left behind


def test_potential_columns_are_checked_before_any_step(toy_grid_3x3, tmp_path):
    """The unit model's covariates and sales column are [potential] keys,
    checked against the units before the design runs."""
    cfg = _all_off(design={"balance": {"workload": 0.5}}, potential={})
    with pytest.raises(ConfigError) as info:
        run_pipeline(toy_grid_3x3, cfg, tmp_path / "out", progress=False, fast=True)
    msg = str(info.value)
    assert "[potential] unit_covariates: 'population' is not a column" in msg
    assert '[potential] unit_covariates = ["income"]' in msg
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    cfg = _all_off(potential={"unit_covariates": [], "unit_sales": "salez"})
    with pytest.raises(ConfigError) as info:
        run_pipeline(toy_grid_3x3, cfg, tmp_path / "out", progress=False, fast=True)
    assert "[potential] unit_sales: 'salez' is not a column" in str(info.value)
    assert "(did you mean 'sales'?)" in str(info.value)


def test_potential_keys_reach_the_model(toy_grid_3x3, tmp_path, monkeypatch):
    seen = {}

    class Model:
        def __init__(self, model_config=None, sampler_config=None):
            seen.update(model_config)

        def fit(self, *args, **kwargs):
            raise RuntimeError("stop here")

    monkeypatch.setattr(tk.potential, "PotentialModel", Model)
    cfg = _all_off(potential={"unit_covariates": [], "unit_sales": "potential"})
    with pytest.raises(RuntimeError, match="stop here"):
        run_pipeline(toy_grid_3x3, cfg, tmp_path, progress=False, fast=True)
    assert seen == {"unit_covariates": [], "unit_sales": "potential"}


def test_share_of_potential_quota_without_potential_fails_before_any_step(
    toy_grid_3x3, tmp_path
):
    s = toy_grid_3x3
    study = s.replace(
        units=s.units.drop(columns="potential"),
        accounts=s.accounts.drop(columns="annual_sales"),
    )
    cfg = _all_off(forecast={"quota": "share_of_potential"})
    with pytest.raises(ConfigError) as info:
        run_pipeline(study, cfg, tmp_path / "out", progress=False, fast=True)
    msg = str(info.value)
    assert "[forecast] quota:" in msg and "the potential step is switched off" in msg
    assert 'Fix: set [forecast] quota = "growth"' in msg
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_accounts_on_another_sheet_load_with_accounts_sheet(small_files, tmp_path):
    for name in ("units.gpkg", "reps.csv", "history.csv", "current.csv"):
        (tmp_path / name).write_bytes((small_files / name).read_bytes())
    acc = pd.read_csv(
        small_files / "accounts.csv", dtype={"Account": str, "County": str}
    )
    with pd.ExcelWriter(tmp_path / "crm.xlsx") as xw:
        pd.DataFrame({"Export": ["CRM"]}).to_excel(xw, sheet_name="Cover", index=False)
        acc.to_excel(xw, sheet_name="Accounts", index=False)
    text = DATA.replace(
        'accounts = "accounts.csv"',
        'accounts = "crm.xlsx"\naccounts_sheet = "Accounts"',
    )
    study = load_study(load_config(_config(tmp_path, text + QUICK)))
    assert len(study.accounts) == len(acc)


def test_alignment_mapping_key_absent_from_the_file(small_files):
    """[columns.alignment] keys are checked like the other tables' keys."""
    text = DATA.replace('Rep = "territory_id"\n', 'Rpe = "territory_id"\n')
    with pytest.raises(DataValidationError) as info:
        load_study(load_config(_config(small_files, text + QUICK, "al.toml")))
    assert (
        "[columns.alignment] maps 'Rpe', but current.csv has no such column "
        "(did you mean 'Rep'?)" in str(info.value)
    )


def test_alignment_default_column_names_the_toml_key(small_files):
    text = DATA.replace(
        '[columns.alignment]\nCounty = "unit_id"\nRep = "territory_id"\n', ""
    ).replace(
        'alignment = "current.csv"\n',
        'alignment = "current.csv"\nalignment_territory_column = "Rep"\n',
    )
    with pytest.raises(DataValidationError) as info:
        load_study(load_config(_config(small_files, text + QUICK, "al.toml")))
    msg = str(info.value)
    assert (
        "current.csv has no column 'unit_id' (the column [data] "
        "alignment_unit_column names, by default)" in msg
    )
    assert "Fix: set [data] alignment_unit_column" in msg
    assert "unit_column=" not in msg


def test_alignment_column_typo_gets_did_you_mean(small_files):
    text = DATA.replace(
        '[columns.alignment]\nCounty = "unit_id"\nRep = "territory_id"\n', ""
    )
    text = text.replace(
        'alignment = "current.csv"\n',
        'alignment = "current.csv"\nalignment_unit_column = "Conty"\n'
        'alignment_territory_column = "Rep"\n',
    )
    with pytest.raises(DataValidationError) as info:
        load_study(load_config(_config(small_files, text + QUICK, "al2.toml")))
    assert "did you mean 'County'?" in str(info.value)
    assert 'Fix: set [data] alignment_unit_column = "County"' in str(info.value)


def test_account_potential_columns_are_checked_before_any_step(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """[potential] level = "account" read the accounts' 'employees', 'segment'
    and 'industry' (the model's defaults), which study.toml could neither name
    nor drop; a study without them failed in the potential step, after the
    steps before it had run, with a fix in Python terms (model_config=...)."""

    def no_design(*args, **kwargs):
        raise AssertionError("the design ran")

    monkeypatch.setattr(tk.design, "align", no_design)
    s = toy_grid_3x3
    cols = "['unit_id', 'annual_sales', 'rep_id']"

    def refused(study, **potential):
        cfg = _all_off(
            design={"balance": {"workload": 0.5}},
            potential={"level": "account", **potential},
        )
        with pytest.raises(ConfigError) as info:
            run_pipeline(study, cfg, tmp_path / "out", progress=False, fast=True)
        assert not (tmp_path / "out").exists()
        return str(info.value)

    assert refused(s) == (
        "<config>: [potential] account_covariates: 'employees' is not a column of "
        f"the study's accounts; they have {cols}. Fix: add the column to the "
        'accounts file (or map it under [columns.accounts] as "Your column" = '
        '"employees"), or leave it out with [potential] account_covariates = []'
    )
    assert refused(s, account_covariates=[]) == (
        "<config>: [potential] segment_column: 'segment' is not a column of the "
        f"study's accounts; they have {cols}. Fix: name the accounts' column in "
        "[potential] segment_column (or map it under [columns.accounts] as "
        '"Your column" = "segment"), or fit without segment effects with '
        "[potential] segment_column = false"
    )
    assert refused(s, account_covariates=[], segment_column=False) == (
        "<config>: [potential] industry_column: 'industry' is not a column of the "
        f"study's accounts; they have {cols}. Fix: name the accounts' column in "
        "[potential] industry_column (or map it under [columns.accounts] as "
        '"Your column" = "industry"), or fit without industry pooling with '
        "[potential] industry_column = false"
    )
    sized = s.replace(
        accounts=s.accounts.assign(size=["1-10"] * 5 + ["11-50"] * 5, staff=1.0)
    )
    assert refused(sized, account_covariates=["staff", "size"]) == (
        "<config>: [potential] account_covariates: 'size' is a text column of the "
        "study's accounts (10 of 10 values are not numbers, e.g. '1-10', '11-50'); "
        "the potential model needs numbers. Fix: encode it as numbers in the "
        "accounts file (e.g. a 0/1 column per category), or leave it out with "
        '[potential] account_covariates = ["staff"]'
    )
    no_sales = s.replace(accounts=s.accounts.drop(columns="annual_sales"))
    assert refused(no_sales, account_covariates=[]) == (
        '<config>: [potential] level: "account" fits each account\'s sales, '
        "'annual_sales', which is not a column of the study's accounts; they have "
        "['unit_id', 'rep_id']. Fix: map your yearly sales column (numbers) under "
        '[columns.accounts] as "Your column" = "annual_sales", or set [potential] '
        'level = "unit"'
    )
    cfg = _all_off(
        potential={
            "level": "account",
            "account_covariates": ["staff"],
            "segment_column": False,
            "industry_column": False,
        }
    )
    assert pipeline._check_against_study(cfg, sized) == []


def test_account_potential_keys_reach_the_model(toy_grid_3x3, tmp_path, monkeypatch):
    """[potential] account_covariates, segment_column and industry_column are
    the account model's model_config keys (false: None)."""
    seen = {}

    class Model:
        def __init__(self, model_config=None, sampler_config=None):
            seen.update(model_config)

        def fit(self, *args, **kwargs):
            raise RuntimeError("stop here")

    monkeypatch.setattr(tk.potential, "PotentialModel", Model)
    s = toy_grid_3x3
    study = s.replace(accounts=s.accounts.assign(sector=["a", "b"] * 5))
    cfg = _all_off(
        potential={
            "level": "account",
            "account_covariates": [],
            "segment_column": False,
            "industry_column": "sector",
        }
    )
    with pytest.raises(RuntimeError, match="stop here"):
        run_pipeline(study, cfg, tmp_path, progress=False, fast=True)
    assert seen == {
        "account_covariates": [],
        "segment_column": None,
        "industry_column": "sector",
    }


def _alignment_folder(small_files: Path, folder: Path) -> None:
    for name in ("units.gpkg", "accounts.csv", "reps.csv", "history.csv"):
        (folder / name).write_bytes((small_files / name).read_bytes())


@pytest.mark.parametrize(
    ("name", "write", "warned"),
    [
        ("semicolon.csv", lambda c, p: c.to_csv(p, sep=";", index=False), None),
        ("tab.tsv", lambda c, p: c.to_csv(p, sep="\t", index=False), None),
        (
            "cp1252.csv",
            lambda c, p: c.assign(Région="Géorgie").to_csv(
                p, index=False, encoding="cp1252"
            ),
            "alignment: cp1252.csv is not UTF-8 text (byte 0xe9 is not UTF-8), so "
            "it was read as Windows-1252",
        ),
        (
            "utf16.csv",
            lambda c, p: c.to_csv(p, index=False, encoding="utf-16"),
            None,
        ),
        (
            "spaces.csv",
            lambda c, p: c.assign(Rep=c["Rep"] + " ").to_csv(p, index=False),
            "alignment.Rep: ",
        ),
    ],
)
def test_the_alignment_is_read_like_the_other_tables(
    small_files, small_study, tmp_path, name, write, warned
):
    """[data] alignment was read with a bare pd.read_csv: ';'- and
    tab-delimited files were refused ('no column County'), .tsv was an
    unknown file type, Windows-1252 and UTF-16 files raised a bare
    UnicodeDecodeError, and ids with spaces around them matched no rep."""
    _alignment_folder(small_files, tmp_path)
    write(pd.read_csv(small_files / "current.csv", dtype=str), tmp_path / name)
    text = DATA.replace('alignment = "current.csv"', f'alignment = "{name}"')
    cfg = load_config(_config(tmp_path, text + QUICK))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = load_study(cfg)
    said = [str(w.message) for w in caught]
    if warned is None:
        assert not said
    else:
        assert len(said) == 1 and said[0].startswith(warned)
    current = study.alignments["current"]
    assert current.same_assignment(small_study.alignments["current"])
    assert set(current.territories) == {"R08", "R09", "R10"} == set(study.reps.index)


@pytest.mark.parametrize(
    ("reps_as", "alignment_as", "ids"),
    [
        ("csv", "parquet", ["8", "9", "10"]),
        ("parquet", "parquet", [8, 9, 10]),
        ("parquet", "csv", [8, 9, 10]),
    ],
)
def test_numeric_territory_ids_match_the_reps_in_any_format(
    small_files, tmp_path, reps_as, alignment_as, ids
):
    """A Parquet alignment kept its numeric territory ids while the reps' ids
    from a CSV were text, so the realignment found none of its territories a
    rep ('every rep left'); the same alignment as CSV worked.  The ids are
    now text from every format, and territory ids take the reps' id type
    where that loses nothing."""
    _alignment_folder(small_files, tmp_path)

    def number(s: pd.Series) -> pd.Series:  # a CRM's numeric rep ids: R08 -> 8
        return s.str[1:].astype(int)

    reps = pd.read_csv(small_files / "reps.csv", dtype=str)
    reps["Rep"] = number(reps["Rep"])
    reps["capacity_hours"] = reps["capacity_hours"].astype(float)
    reps[["home_lon", "home_lat"]] = reps[["home_lon", "home_lat"]].astype(float)
    getattr(reps, f"to_{reps_as}")(tmp_path / f"reps.{reps_as}", index=False)
    acc = pd.read_csv(small_files / "accounts.csv", dtype=str)
    acc["Owner"] = number(acc["Owner"])
    acc.to_csv(tmp_path / "accounts.csv", index=False)
    cur = pd.read_csv(small_files / "current.csv", dtype=str)
    cur["Rep"] = number(cur["Rep"])
    getattr(cur, f"to_{alignment_as}")(
        tmp_path / f"current.{alignment_as}", index=False
    )
    text = DATA.replace('"reps.csv"', f'"reps.{reps_as}"').replace(
        '"current.csv"', f'"current.{alignment_as}"'
    )
    study = load_study(load_config(_config(tmp_path, text + QUICK)))
    territories = sorted(study.alignments["current"].territories, key=str)
    assert territories == sorted(ids, key=str)
    assert set(territories) == set(study.reps.index)


def test_the_alignment_sheet_is_checked_like_the_other_tables(small_files, tmp_path):
    """A misspelt [data] alignment_sheet gave pandas' bare "Worksheet named
    'Alignmnt' not found"; a workbook whose alignment is not on its first
    sheet was read from the cover sheet.  The fix offers a sheet's position,
    which [data] *_sheet now takes."""
    _alignment_folder(small_files, tmp_path)
    cur = pd.read_csv(small_files / "current.csv", dtype=str)
    with pd.ExcelWriter(tmp_path / "current.xlsx") as xw:
        pd.DataFrame({"Export": ["CRM"]}).to_excel(xw, sheet_name="Cover", index=False)
        cur.to_excel(xw, sheet_name="Alignment", index=False)
    base = DATA.replace('alignment = "current.csv"', 'alignment = "current.xlsx"')

    def load(extra: str) -> Any:
        text = base.replace(
            'alignment = "current.xlsx"\n', f'alignment = "current.xlsx"\n{extra}'
        )
        return load_study(load_config(_config(tmp_path, text + QUICK)))

    with pytest.raises(DataValidationError) as info:
        load('alignment_sheet = "Alignmnt"\n')
    assert str(info.value) == (
        "alignment: current.xlsx has no sheet 'Alignmnt' (did you mean "
        "'Alignment'?); its sheets are ['Cover', 'Alignment']. Fix: set [data] "
        "alignment_sheet = one of these names (or its position, 0 = first)"
    )
    assert "while reading [data] alignment" in " ".join(info.value.__notes__)
    with pytest.raises(DataValidationError) as info:
        load("")
    assert str(info.value) == (
        "alignment.County: the first sheet 'Cover' of current.xlsx has no 'County' "
        "column (columns seen: ['Export']); the workbook has the sheets ['Cover', "
        "'Alignment'], and sheet 'Alignment' has that column. Fix: set [data] "
        "alignment_sheet = 'Alignment'"
    )
    with pytest.raises(DataValidationError) as info:
        load("alignment_sheet = 2\n")
    assert str(info.value) == (
        "alignment: current.xlsx has 2 sheet(s) ['Cover', 'Alignment'], so there "
        "is no sheet at position 2 ([data] alignment_sheet = 2). Fix: set [data] "
        "alignment_sheet = a name or position (0 = first) of these sheets"
    )
    for extra in ('alignment_sheet = "Alignment"\n', "alignment_sheet = 1\n"):
        study = load(extra)
        assert set(study.alignments["current"].territories) == {"R08", "R09", "R10"}


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (
            'Account = "account_id"\n',
            '"Account Number" = "account_id"\n',
            "Fix: correct the keys of [columns.accounts]: they are the names in "
            "your file",
        ),
        (
            'units_layer = "counties"',
            'units_layer = "countys"',
            "Fix: set [data] units_layer = one of these names",
        ),
    ],
)
def test_load_errors_speak_of_the_config_file(small_files, old, new, said):
    """Were explained in Python-API terms: 'correct the keys of columns={...}',
    'pass layer= one of these names'."""
    assert old in DATA
    cfg = load_config(_config(small_files, DATA.replace(old, new) + QUICK, "t.toml"))
    with pytest.raises(DataValidationError) as info:
        load_study(cfg)
    msg = str(info.value)
    assert said in msg
    assert "columns={" not in msg and "pass layer" not in msg
    assert "while reading [data]" in " ".join(info.value.__notes__)


def test_api_terms_become_config_terms():
    from terrakit.report.pipeline import _in_config_terms

    said = _in_config_terms(
        "pass sheet='Accounts' ([data] accounts_sheet in study.toml)", "accounts"
    )
    assert said == "set [data] accounts_sheet = 'Accounts'"
    said = _in_config_terms("write 'Rev': 'sales' in columns={...} (or", "history")
    assert said == "write 'Rev' = 'sales' under [columns.history] (or"
    said = _in_config_terms("drop crs=... (the file has its own)", "units")
    assert said == "remove [data] crs (the file has its own)"


def test_a_load_error_is_marked_as_found_before_any_step(small_files):
    from terrakit.report.pipeline import LOAD_FAILED

    text = DATA.replace('Owner = "rep_id"\n', 'Ownr = "rep_id"\n')
    cfg = load_config(_config(small_files, text + QUICK, "mark.toml"))
    with pytest.raises(DataValidationError) as info:
        run_pipeline(None, cfg, small_files / "mark_out", progress=False)
    assert LOAD_FAILED in info.value.__notes__
    assert not (small_files / "mark_out").exists()


@pytest.mark.parametrize("has_reps", [True, False])
def test_a_study_without_any_alignment_fails_before_any_step(
    toy_grid_3x3, tmp_path, has_reps
):
    """No current alignment and no design (no reps, or the design off): was a
    bare StopIteration after sizing, potential and forecast had run."""
    s = toy_grid_3x3
    if has_reps:
        study = tk.Study(s.units, accounts=s.accounts, reps=s.reps)
        cfg = _all_off()  # the design is off
        fix = "switch the design on, or give [data] alignment"
    else:
        study = tk.Study(s.units, accounts=s.accounts.drop(columns="rep_id"))
        cfg = _all_off(design={})  # on, but there are no reps to design for
        fix = "give [data] alignment or reps"
    with pytest.raises(ConfigError) as info:
        run_pipeline(study, cfg, tmp_path / "out", progress=False, fast=True)
    msg = str(info.value)
    assert "the study has no alignment: [data] gives no current alignment" in msg
    assert f"Fix: {fix}" in msg
    assert not (tmp_path / "out").exists()


def test_an_output_that_is_an_input_file_is_refused_before_any_step(
    small_files, tmp_path, monkeypatch
):
    """A CRM export named report.xlsx, with --out its folder, was overwritten
    by the workbook."""
    for name in ("units.gpkg", "reps.csv", "current.csv"):
        (tmp_path / name).write_bytes((small_files / name).read_bytes())
    crm = tmp_path / "report.xlsx"
    crm.write_bytes(b"the client's CRM export")
    text = DATA.replace('accounts = "accounts.csv"', 'accounts = "report.xlsx"')
    text = text.replace('history = "history.csv"\n', "")
    text = (
        text.split("[columns.accounts]")[0]
        + "[columns.alignment]"
        + text.split("[columns.alignment]")[1]
    )
    cfg = load_config(_config(tmp_path, text))
    called = []
    monkeypatch.setattr(tk.data.io, "read_units", lambda *a, **k: called.append(1))
    with pytest.raises(ConfigError) as info:
        run_pipeline(None, cfg, tmp_path, progress=False, fast=True)
    msg = str(info.value)
    assert "[report] excel_file = 'report.xlsx' in the output folder" in msg
    assert "(--out) is the [data] accounts input file" in msg
    assert 'Fix: set [report] excel_file = "another.xlsx", or choose another' in msg
    assert not called  # refused before the data were read
    assert crm.read_bytes() == b"the client's CRM export"


def test_a_foreign_study_file_is_refused_before_any_step(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """A GeoPackage of one's own at the study file's path was found only after
    every step had run."""
    out = tmp_path / "out"
    out.mkdir()
    toy_grid_3x3.units.to_file(out / "study.gpkg")
    called = []
    monkeypatch.setattr(tk.design, "align", lambda *a, **k: called.append(1))
    cfg = _all_off(design={"balance": {"workload": 0.5}})
    with pytest.raises(ConfigError) as info:
        run_pipeline(toy_grid_3x3, cfg, out, progress=False, fast=True)
    msg = str(info.value)
    assert "[report] study_file = 'study.gpkg' in the output folder" in msg
    assert "is not a terrakit study file" in msg and "(--out)" in msg
    assert not called


def test_the_design_bound_and_gap_reach_every_output(toy_grid_3x3, tmp_path):
    """The design's lower bound, gap and status were in none of the outputs."""
    cfg = _all_off(design={"balance": {"workload": 0.5}, "time_limit": 5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_pipeline(toy_grid_3x3, cfg, tmp_path, progress=False, fast=True)
    d = res.design
    prov = res.study.alignments["designed"].provenance
    assert prov["method"] == d.method and prov["status"] == d.status
    assert prov["lower_bound"] == pytest.approx(d.lower_bound)
    assert prov["gap"] == pytest.approx(d.gap)
    saved = tk.Study.load(res.files["study"]).alignments["designed"].provenance
    assert saved["gap"] == pytest.approx(d.gap)
    sheet = pd.read_excel(res.files["excel"], sheet_name="Provenance")
    keys = sheet[sheet.source == "alignment designed"].key.tolist()
    assert {"method", "status", "lower_bound", "gap"} <= set(keys)


def test_a_fast_run_records_the_capped_settings_it_used(toy_grid_3x3, tmp_path):
    """The run's provenance recorded the configured settings (time limit 60 s,
    4 weeks, 30 s) although fast mode ran with the caps (10 s, 2 weeks, 5 s),
    and the report named no cap."""
    import json

    s = toy_grid_3x3
    study = s.replace(accounts=s.accounts.assign(calls_per_year=12, call_minutes=30))
    off = {"enabled": False}
    cfg = StudyConfig.from_dict(
        {
            "study": {"name": "capped"},
            "design": {"balance": {"workload": 0.5}, "time_limit": 60},
            **{step: off for step in ("realign", "sizing", "potential", "forecast")},
            "routing": {"territory": "R1", "weeks": 4, "time_limit": 30},
        },
        require_data=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_pipeline(study, cfg, tmp_path, progress=False, fast=True)
    assert res.call_plan.provenance["config"]["weeks"] == 2
    pv = pd.read_excel(res.files["excel"], sheet_name="Provenance")
    run = pv[pv["source"] == "run"].set_index("key")["value"]
    used = json.loads(run["config"])
    assert used["design"]["time_limit"] == 10
    assert (used["routing"]["weeks"], used["routing"]["time_limit"]) == (2, 5)
    assert (used["forecast"]["draws"], used["forecast"]["tune"]) == (100, 150)
    assert json.loads(run["fast_limits"]) == {
        "time_limit": 10.0,
        "response_draws": 200,
        "potential_iterations": 3000,
        "potential_draws": 200,
        "forecast_draws": 100,
        "forecast_tune": 150,
        "routing_time_limit": 5.0,
        "routing_weeks": 2,
    }
    html = res.files["html"].read_text(encoding="utf-8")
    assert (
        "The caps (FAST_LIMITS): design and realignment time limit 10 s; response "
        "curves 200 draws and tune; potential 3000 iterations and 200 draws; "
        "forecast 100 draws and 150 tune; routing 2 weeks and 5 s. Settings "
        "lowered (configured → used): [design] time_limit 60 → 10, [routing] "
        "weeks 4 → 2, [routing] time_limit 30 → 5. The run&#x27;s config in the "
        "provenance holds the values used; fast_limits holds the caps." in html
    )


def test_warnings_of_the_excel_step_are_listed_in_the_report(toy_grid_3x3, tmp_path):
    """Control characters removed while writing the workbook were warned
    about after the page was written: the page never listed them, though the
    CLI says the warnings are "also listed in the report"."""
    import html as H

    reps = toy_grid_3x3.reps.copy()
    reps.loc["R1", "name"] = "Rep\x0bOne"
    study = toy_grid_3x3.replace(reps=reps)
    res = run_pipeline(study, _all_off(), tmp_path, progress=False, fast=True)
    kpis = (
        "excel: TerrakitWarning: Excel workbook, sheet 'KPIs current', column "
        "'rep_name': removed control characters a workbook cannot store ('\\x0b') "
        "from 1 cell (row 2: territory_id 'R1'); clean the input table (e.g. a "
        "vertical tab pasted from a CRM export) to keep the text as it is"
    )
    assert res.warnings.count(kpis) == 1
    page = H.unescape(res.files["html"].read_text(encoding="utf-8"))
    note = re.search(r"Warnings during the run.*?</(?:p|li|dd|div)>", page, re.S)
    assert note is not None
    assert note.group(0).count(kpis) == 1
    assert page.count("sheet 'KPIs current', column 'rep_name'") == 1


def test_routing_day_hours_and_lunch_reach_plan_calls(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """The routing error's fix says "widen day_hours", which [routing] refused."""
    seen = {}

    def plan_calls(*args, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(tk.routing, "plan_calls", plan_calls)
    acc = toy_grid_3x3.accounts.assign(calls_per_year=12, call_minutes=30)
    study = toy_grid_3x3.replace(accounts=acc)
    routing = {"day_hours": [7, 19.5], "lunch": [11, 14], "lunch_minutes": 45}
    with pytest.raises(RuntimeError, match="stop here"):
        run_pipeline(study, _all_off(routing=routing), tmp_path, progress=False)
    assert (seen["day_hours"], seen["lunch"], seen["lunch_minutes"]) == (
        (7, 19.5),
        (11, 14),
        45,
    )
    seen.clear()
    with pytest.raises(RuntimeError, match="stop here"):
        run_pipeline(study, _all_off(routing={}), tmp_path, progress=False)
    # the defaults are plan_calls' own
    assert (seen["day_hours"], seen["lunch"], seen["lunch_minutes"]) == (
        (8, 17),
        (12, 13),
        None,
    )


def test_potential_columns_holding_text_are_refused_before_any_step(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """A text column of the units named in [potential] unit_covariates or
    unit_sales passed the check before the first step; the potential step
    then failed after the design had run, in Python-API terms
    ("model_config['unit_covariates']")."""

    def no_design(*args, **kwargs):
        raise AssertionError("the design ran")

    monkeypatch.setattr(tk.design, "align", no_design)
    s = toy_grid_3x3
    units = s.units.assign(
        state=["GA"] * 5 + ["FL"] * 4, income=range(9), region="south"
    )
    study = s.replace(units=units)
    cfg = _all_off(
        design={"balance": {"workload": 0.5}},
        potential={"unit_covariates": ["income", "state"], "unit_sales": "sales"},
    )
    with pytest.raises(ConfigError) as info:
        run_pipeline(study, cfg, tmp_path / "out", progress=False, fast=True)
    assert str(info.value) == (
        "<config>: [potential] unit_covariates: 'state' is a text column of the "
        "study's units (9 of 9 values are not numbers, e.g. 'GA', 'FL'); the "
        "potential model needs numbers. Fix: encode it as numbers in the units "
        "file (e.g. a 0/1 column per category), or leave it out with "
        '[potential] unit_covariates = ["income"]'
    )
    cfg = _all_off(potential={"unit_covariates": [], "unit_sales": "region"})
    with pytest.raises(ConfigError) as info:
        run_pipeline(study, cfg, tmp_path / "out", progress=False, fast=True)
    assert str(info.value).startswith(
        "<config>: [potential] unit_sales: 'region' is a text column of the study's "
        "units (9 of 9 values are not numbers, e.g. 'south')"
    )
    assert not (tmp_path / "out").exists()
    # numbers stored as text are numbers to the model: not refused
    study = s.replace(units=units.assign(income=units["income"].astype(str)))
    cfg = _all_off(potential={"unit_covariates": ["income"]})
    assert pipeline._check_against_study(cfg, study) == []


def test_realign_balance_on_units_is_refused_before_any_step(toy_grid_3x3):
    """rebalance() balances numeric columns only, as align(): 'units' under
    [realign] balance passed the check and failed in the realign step."""
    cfg = _all_off(realign={"balance": {"units": 0.1}})
    with pytest.raises(ConfigError) as info:
        pipeline._check_against_study(cfg, toy_grid_3x3)
    assert str(info.value).startswith(
        "<config>: [realign] balance.units: 'units' is not a numeric column of "
        "the study's units (did you mean 'accounts'?); they have ['workload', "
        "'potential', 'accounts', 'sales']"
    )
    # the share of units moved stays a moved_measure
    ok = _all_off(realign={"balance": {"workload": 0.1}, "moved_measure": "units"})
    assert pipeline._check_against_study(ok, toy_grid_3x3) == []


@pytest.fixture
def toy_with_calls(toy_grid_3x3):
    """toy_grid_3x3 with what the sizing step's response curves read: calls
    per account and year, minutes per call, a segment (A: a1-a5, B: a6-a10)
    and calls in the history, account coordinates, and the units' own sales."""
    s = toy_grid_3x3
    where = s.units.geometry.to_crs("EPSG:4326").centroid
    acc = s.accounts.assign(
        calls_per_year=12.0,
        call_minutes=30.0,
        segment=["A"] * 5 + ["B"] * 5,
        lon=where.x.reindex(s.accounts["unit_id"]).to_numpy(),
        lat=where.y.reindex(s.accounts["unit_id"]).to_numpy(),
    )
    # the units' own sales: the potential's measure needs no annual_sales
    units = s.units.assign(sales=1000.0)
    return s.replace(units=units, accounts=acc, history=s.history.assign(calls=1.0))


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda a: a.drop(columns="segment"),
            "the accounts have no 'segment' column (one curve is fitted per "
            "segment). Fix: map your segment column under [columns.accounts] "
            '(e.g. "Tier" = "segment"), or set [sizing] response_curves = false',
        ),
        (
            lambda a: a.drop(columns="annual_sales"),
            "the accounts have no 'annual_sales' column (each segment's curve is "
            "anchored at its sales today). Fix: map your yearly sales column under "
            '[columns.accounts] (e.g. "Revenue" = "annual_sales"), or set [sizing] '
            "response_curves = false",
        ),
        (
            lambda a: a.assign(annual_sales=[1.0] * 5 + [float("nan")] * 5),
            "no account of the segment(s) ['B'] has an annual_sales value (each "
            "segment's curve is anchored at its sales today). Fix: fill "
            "annual_sales (today's yearly sales per account), or set [sizing] "
            "response_curves = false",
        ),
    ],
    ids=["no segment", "no annual_sales", "a segment without sales"],
)
def test_response_curves_without_segment_or_sales_are_skipped_with_the_reason(
    toy_with_calls, tmp_path, monkeypatch, change, said
):
    """Accounts without segment or annual_sales passed every check; the
    design and realignment ran, then the sizing step died with "pass
    segment=<column>", which study.toml cannot express.  As for a history
    without calls, the step sizes the workload and says why there are no
    curves."""

    def no_fit(self, *args, **kwargs):
        raise AssertionError("the response curves were fitted")

    monkeypatch.setattr(tk.sizing.ResponseModel, "fit", no_fit)
    s = toy_with_calls
    study = s.replace(accounts=change(s.accounts))
    res = run_pipeline(study, _all_off(sizing={}), tmp_path, progress=False)
    assert res.workload is not None and res.headcount is None
    assert f"sizing: no response curves / headcount curve: {said}" in res.warnings


def test_a_ctrl_c_a_step_swallowed_stops_the_run_and_writes_nothing(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """PyMC's NUTS and ADVI (the forecast's, the response curves') catch the
    KeyboardInterrupt and return what they had; the run carried on and
    failed later, or wrote a report from a truncated posterior."""

    def design_then_ctrl_c(*args, **kwargs):
        swallow_ctrl_c()  # as the sampler does
        raise IndexError("index -1 is out of bounds for axis 0 with size 0")

    monkeypatch.setattr(tk.design, "align", design_then_ctrl_c)
    out = tmp_path / "new" / "out"
    cfg = _all_off(design={"balance": {"workload": 0.5}})
    with pytest.raises(KeyboardInterrupt) as info:
        run_pipeline(toy_grid_3x3, cfg, out, progress=False, fast=True)
    assert pipeline.WRITTEN not in "".join(getattr(info.value, "__notes__", []))
    assert not (tmp_path / "new").exists()


def test_an_interrupted_output_step_removes_the_folder_it_made(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """The output folder is made for the files: a run interrupted (or failed)
    while writing them left it behind, empty."""

    def ctrl_c(self, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(tk.report.StudyReport, "save", ctrl_c)
    out = tmp_path / "a" / "b"
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(toy_grid_3x3, _all_off(), out, progress=False, fast=True)
    assert list(tmp_path.iterdir()) == []


def test_a_ctrl_c_while_the_outputs_are_swapped_in_waits_for_all_three(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """The three files are swapped in together; a Ctrl-C between two renames
    left the folder mixing two runs.  It is held until all three are in, and
    the KeyboardInterrupt then says the files were written."""
    cfg = _all_off()
    run_pipeline(toy_grid_3x3, cfg, tmp_path, progress=False, fast=True)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    replace = os.replace
    done = []

    def replace_then_ctrl_c(src, dst):
        replace(src, dst)
        if Path(dst).name in before:  # the swap (the writers rename too)
            done.append(dst)
            if len(done) == 1:
                signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_ctrl_c)
    study = toy_grid_3x3.replace(
        units=toy_grid_3x3.units.assign(workload=toy_grid_3x3.units["workload"] * 2)
    )
    with pytest.raises(KeyboardInterrupt) as info:
        run_pipeline(study, cfg, tmp_path, progress=False, fast=True)
    assert len(done) == 3
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(after) == set(before)  # no partial files
    assert all(after[n] != before[n] for n in before)  # all three new
    assert any(n.startswith(pipeline.WRITTEN) for n in info.value.__notes__)


@pytest.mark.parametrize(
    ("value", "fast"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("", False),
    ],
)
def test_terrakit_fast_reads_the_usual_words(monkeypatch, value, fast):
    """TERRAKIT_FAST=true ran the full mode without a word."""
    monkeypatch.setenv("TERRAKIT_FAST", value)
    assert pipeline._is_fast(None) is fast
    assert pipeline._is_fast(not fast) is (not fast)  # the argument wins


def test_terrakit_fast_with_another_value_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("TERRAKIT_FAST", "on")
    with pytest.raises(ConfigError) as info:
        run_pipeline(None, _all_off(), tmp_path / "out", progress=False)
    assert str(info.value) == (
        "the environment variable TERRAKIT_FAST='on' is not understood; it is 1, "
        "true or yes for fast mode (fewer draws, shorter time limits) and 0, "
        "false or no for full mode. Fix: set TERRAKIT_FAST=1 or TERRAKIT_FAST=0, "
        "or unset it"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("method", "given"), [("growth", False), ("share_of_potential", True)]
)
def test_quota_gets_the_potential_only_for_share_of_potential(
    toy_grid_3x3, tmp_path, monkeypatch, method, given
):
    """The forecast step passed the units' potential_model to every quota;
    growth quotas ignored it, and now refuse it."""
    seen = {}

    class Fitted:
        def predict(self, horizon):
            return "forecast"

    class Forecaster:
        def __init__(self, sampler_config=None):
            pass

        def fit(self, *args, **kwargs):
            return Fitted()

    def quota(forecast, alignment, method, *, potential=None):
        seen.update(method=method, potential=potential)
        raise RuntimeError("stop here")

    monkeypatch.setattr(tk.forecast, "SalesForecaster", Forecaster)
    monkeypatch.setattr(tk.forecast, "quota", quota)
    units = toy_grid_3x3.units.assign(potential_model=10_000.0)
    cfg = _all_off(forecast={"quota": method})
    with pytest.raises(RuntimeError, match="stop here"):
        run_pipeline(
            toy_grid_3x3.replace(units=units), cfg, tmp_path, progress=False, fast=True
        )
    assert seen["method"] == method
    assert (seen["potential"] is not None) is given
    if given:
        assert (seen["potential"] == 10_000.0).all()


def _no_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every long step fails the test: the checks must refuse before them."""

    def ran(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a step ran")

    monkeypatch.setattr(tk.design, "align", ran)
    monkeypatch.setattr(tk.forecast, "SalesForecaster", ran)
    monkeypatch.setattr(tk.potential, "PotentialModel", ran)


def test_growth_quotas_the_forecast_cannot_give_are_refused_before_any_step(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """Growth quotas over more than 12 months, or over a history shorter
    than the year before the forecast, failed in quota() after the forecast's
    sampling (and every step before it) had run."""
    import dataclasses

    _no_step(monkeypatch)
    s = toy_grid_3x3
    cfg = _all_off(design={"balance": {"workload": 0.5}}, forecast={"quota": "growth"})
    short = s.replace(history=s.history[s.history["period"] >= pd.Period("2024-05")])
    with pytest.raises(ConfigError) as info:
        run_pipeline(short, cfg, tmp_path / "out", progress=False, fast=True)
    assert str(info.value) == (
        '<config>: [forecast] quota: "growth" compares the forecast from 2025-01 '
        "on with the same months a year earlier (2024-01..2024-12), but the "
        "history covers 2024-05..2024-12 (8 months) and starts 4 months too late. "
        "Fix: give [data] history reaching back to 2024-01 (12 months before the "
        'forecast starts), or set [forecast] quota = "share_of_potential" (or '
        '"none")'
    )
    assert not (tmp_path / "out").exists()
    # a configuration built in code skips load_config's check of the horizon
    long = dataclasses.replace(
        cfg, forecast=dataclasses.replace(cfg.forecast, horizon=18)
    )
    with pytest.raises(ConfigError, match=r"\[forecast\] horizon: is 18 months"):
        run_pipeline(s, long, tmp_path / "out", progress=False, fast=True)
    # a year of history is enough
    year = s.replace(history=s.history[s.history["period"] >= pd.Period("2024-01")])
    assert pipeline._check_against_study(cfg, year) == []


def test_missing_values_in_the_potential_columns_are_refused_before_any_step(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """A blank cell in a [potential] column passed the checks before the first
    step ("missing values are the model's to report"); the model refused it
    only at the potential step, in Python terms (model_config[...])."""
    _no_step(monkeypatch)
    s = toy_grid_3x3
    income = [float(k) for k in range(9)]
    income[2] = float("nan")
    units = s.units.assign(income=income, sales=1000.0)
    study = s.replace(units=units)

    def refused(study, **potential):
        cfg = _all_off(design={"balance": {"workload": 0.5}}, potential=potential)
        with pytest.raises(ConfigError) as info:
            run_pipeline(study, cfg, tmp_path / "out", progress=False, fast=True)
        assert not (tmp_path / "out").exists()
        return str(info.value)

    assert refused(study, unit_covariates=["income"]) == (
        "<config>: [potential] unit_covariates: 'income' has 1 missing value(s) of "
        "9 in the study's units (rows: 'u3'); the potential model needs a number "
        "in every row. Fix: fill them in the units file (e.g. with the column's "
        "median), or leave it out with [potential] unit_covariates = []"
    )
    no_sales = s.replace(units=units.assign(income=1.0, sales=[None, 1.0] * 4 + [2]))
    assert refused(no_sales, unit_covariates=[]).startswith(
        "<config>: [potential] unit_sales: 'sales' has 4 missing value(s) of 9 in "
        "the study's units (rows: 'u1', 'u3', 'u5', 'u7'); the potential model "
        "needs a number in every row. Fix: fill them in the units file (0 for a "
        "unit without sales)"
    )
    # the units' own sales: the accounts' are not summed into them
    acc = s.accounts.assign(staff=1.0, segment="A", industry="x")
    account = {"level": "account", "account_covariates": ["staff"]}
    blank = study.replace(accounts=acc.assign(annual_sales=[None] + [1.0] * 9))
    assert refused(blank, **account) == (
        "<config>: [potential] level: 'annual_sales' has 1 missing value(s) of 10 "
        "in the study's accounts (rows: 'a1'); the potential model needs a number "
        "in every row. Fix: fill annual_sales in the accounts file (0 for an "
        'account without sales), or set [potential] level = "unit"'
    )
    blank = study.replace(accounts=acc.assign(staff=[1.0] * 9 + [None]))
    assert refused(blank, **account).startswith(
        "<config>: [potential] account_covariates: 'staff' has 1 missing value(s) "
        "of 10 in the study's accounts (rows: 'a10')"
    )
    blank = study.replace(accounts=acc.assign(segment=["A"] * 8 + [None] * 2))
    assert refused(blank, **account) == (
        "<config>: [potential] segment_column: 'segment' is empty in 2 of 10 rows "
        "of the study's accounts (rows: 'a9', 'a10'); the potential model groups "
        "every account by it. Fix: fill them in the accounts file (e.g. with "
        "'unknown'), or fit without segment effects with [potential] "
        "segment_column = false"
    )
    ok = _all_off(potential={**account})
    assert pipeline._check_against_study(ok, study.replace(accounts=acc)) == []


def test_a_data_error_of_the_checks_after_loading_is_marked_as_found_before_any_step(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """A bad input found by the checks right after loading (here: a blank
    annual_sales, summed into units without a sales column) had no
    LOAD_FAILED note, so terrakit run exited 1 ("a step failed"), not 2."""
    from terrakit.report.pipeline import LOAD_FAILED

    _no_step(monkeypatch)
    s = toy_grid_3x3
    acc = s.accounts.assign(annual_sales=[None] + [1000.0] * 9)
    cfg = _all_off(design={"balance": {"workload": 0.5}})
    with pytest.raises(DataValidationError) as info:
        run_pipeline(
            s.replace(accounts=acc), cfg, tmp_path / "out", progress=False, fast=True
        )
    assert "annual_sales" in str(info.value)
    assert info.value.__notes__ == [LOAD_FAILED]
    assert not (tmp_path / "out").exists()


def test_the_primary_alignment_is_the_one_this_run_makes(
    toy_grid_3x3, tmp_path, monkeypatch
):
    """A study holding a 'rebalanced' alignment (an earlier run's study file
    read back) kept it as the primary when the realign step was off: the
    report, the CRM sheet, the forecast and the routing used the stale plan,
    not the one this run designed, though the checks before the steps judged
    the primary to be 'designed'."""
    import types

    s = toy_grid_3x3
    cur = s.alignments["current"]
    study = s.with_alignment(cur.rename("rebalanced"))  # the earlier run's
    new = cur.replace({"u5": "R2"})

    def design(study, **kwargs):
        return types.SimpleNamespace(
            alignment=new, method="stub", status="feasible", objective=1.0,
            lower_bound=1.0, gap=0.0,
        )  # fmt: skip

    monkeypatch.setattr(tk.design, "align", design)
    cfg = _all_off(design={"balance": {"workload": 0.5}})
    assert pipeline._primary_name(cfg, study) == ("designed", "design")
    res = run_pipeline(study, cfg, tmp_path, progress=False, fast=True)
    summary = pd.read_excel(res.files["excel"], sheet_name="Summary")
    assert summary.set_index("item").loc["primary alignment", "value"] == "designed"
    crm = pd.read_excel(res.files["excel"], sheet_name="Account assignments")
    assert crm.set_index("account_id").loc[["a5", "a10"], "territory_id"].eq("R2").all()
    said = [w for w in res.warnings if "'rebalanced' alignment" in w]
    assert said == [
        "report: the study's 'rebalanced' alignment was given with the data (e.g. "
        "an earlier run's study file), not made by this run (its realign step "
        "does not run); it is reported for comparison only, and the forecast, "
        "the routing and the assignments use this run's 'designed'. Fix: rename "
        "it in the data (e.g. alignment.rename('rebalanced_before')), or run the "
        "realign step"
    ]
    # with no step making one, the study's own primary is kept, as before
    res = run_pipeline(study, _all_off(), tmp_path / "b", progress=False, fast=True)
    summary = pd.read_excel(res.files["excel"], sheet_name="Summary")
    assert summary.set_index("item").loc["primary alignment", "value"] == "rebalanced"
    assert not [w for w in res.warnings if "'rebalanced' alignment" in w]

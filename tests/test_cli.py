"""The ``terrakit`` command: ``demo`` and ``run study.toml``."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from terrakit import Study
from terrakit.cli import main

from .conftest import swallow_ctrl_c

SAMPLE_TOML = Path(__file__).resolve().parents[1] / "data/samples/southeast/study.toml"


def test_cli_needs_a_command():
    with pytest.raises(SystemExit):
        main([])


def test_unknown_step_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", str(SAMPLE_TOML), "--skip", "plotting"])
    assert info.value.code == 2
    assert "invalid choice: 'plotting'" in capsys.readouterr().err


def test_bad_config_exits_2_with_the_key_named(tmp_path, capsys):
    cfg = tmp_path / "client.toml"
    cfg.write_text(
        f'[data]\nunits = "{SAMPLE_TOML.parent / "units.gpkg"}"\n'
        "[routing]\nweeks = 4\nday_start = 9\n",
        encoding="utf-8",
    )
    assert main(["run", str(cfg), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("terrakit: error: client.toml: [routing]: unknown key")
    assert "'day_start'; allowed keys are enabled, territory, weeks, time_limit" in err
    assert not (tmp_path / "out").exists()  # nothing started


@pytest.mark.parametrize(
    ("section", "line"),
    [("sizing", "hours_per_rep = nan"), ("report", "tolerance = nan")],
)
def test_nan_in_the_config_exits_2_before_any_work(tmp_path, capsys, section, line):
    """Was a run of every step, the study file written, then a failure at the
    HTML report naming no file, section or key."""
    cfg = tmp_path / "study.toml"
    cfg.write_text(
        f'[data]\nunits = "{SAMPLE_TOML.parent / "units.gpkg"}"\n[{section}]\n{line}\n',
        encoding="utf-8",
    )
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--fast"]) == 2
    err = capsys.readouterr().err
    key = line.split(" = ")[0]
    assert err.startswith(
        f"terrakit: error: study.toml: [{section}] {key}: must be a finite number, "
        "got nan"
    )
    assert not (tmp_path / "out").exists()  # nothing started


def test_missing_config_exits_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "study.toml")]) == 2
    assert "no study configuration at" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["file", "below a file"])
def test_out_that_is_a_file_exits_2_before_any_work(tmp_path, capsys, where):
    """Was a NotADirectoryError traceback from mkdir."""
    blocker = tmp_path / "report.html"
    blocker.write_text("not a folder", encoding="utf-8")
    out = blocker if where == "file" else blocker / "out"
    assert main(["run", str(SAMPLE_TOML), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"terrakit: error: --out {str(out)!r}")
    assert "is a file, not a folder" in err
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_out_permission_is_judged_on_the_folder_itself(tmp_path, capsys, monkeypatch):
    """An existing --out was judged by its parent's permission: a writable
    output folder inside a read-only one (a shared drive) was refused, a
    read-only --out inside a writable folder passed and the run failed only
    when writing, after every step.  (Tests may run as root, who may write
    anywhere: os.access says what a user without the folders' rights hears.)"""
    import os

    from terrakit import cli

    shared, mine = tmp_path / "shared", tmp_path / "mine"
    (shared / "out").mkdir(parents=True)
    (mine / "locked").mkdir(parents=True)
    no_write = {shared, mine / "locked"}
    monkeypatch.setattr(
        cli.os, "access", lambda path, mode: Path(path).absolute() not in no_write
    )
    cli._check_out(shared / "out")  # writable, in a read-only folder: accepted
    cli._check_out(mine / "new" / "deeper")  # made inside mine, writable
    with pytest.raises(PermissionError) as info:
        cli._check_out(mine / "locked")
    assert str(info.value) == (
        f"--out {str(mine / 'locked')!r} is a folder you have no permission to "
        "write in; choose a folder you can write to"
    )
    # a folder still to make is judged by the nearest folder that exists
    with pytest.raises(PermissionError) as info:
        cli._check_out(shared / "new" / "deeper")
    assert str(info.value) == (
        f"--out {str(shared / 'new' / 'deeper')!r} cannot be made: no permission "
        f"to write in {str(shared)!r}; choose a folder you can write to"
    )
    assert main(["run", str(SAMPLE_TOML), "--out", str(mine / "locked")]) == 2
    assert capsys.readouterr().err.startswith(
        f"terrakit: error: --out {str(mine / 'locked')!r} is a folder you have no "
        "permission to write in"
    )
    assert os.listdir(mine / "locked") == []


def test_python_dash_m_terrakit_is_the_command():
    """``python -m terrakit`` was 'No module named terrakit.__main__'."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "terrakit", "run", "no/such/study.toml"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("terrakit: error: no study configuration at")
    assert "Traceback" not in proc.stderr


def test_run_the_shipped_example_design_only(tmp_path, capsys):
    """`terrakit run` on the example file, fast, every optional step but design off."""
    out = tmp_path / "out"
    argv = ["run", str(SAMPLE_TOML), "--out", str(out), "--fast", "--no-progress"]
    for step in ("realign", "sizing", "potential", "forecast", "routing"):
        argv += ["--skip", step]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "terrakit run finished in" in printed and "fast mode" in printed
    assert "Wall time per step:" in printed
    for step in ("load", "design", "save study", "html report", "excel", "total"):
        assert f"\n  {step} " in printed, step
    assert "Skipped forecast: switched off" in printed
    for name in ("southeast.gpkg", "report.html", "report.xlsx"):
        assert str(out / name) in printed
    study = Study.load(out / "southeast.gpkg")
    assert list(study.alignments) == ["current", "designed"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Southeast territory study (sample data)" in html
    assert '<section id="comparison">' in html
    wb = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    assert "Account assignments" in wb.sheetnames


@pytest.mark.slow
def test_run_the_shipped_example_fast(tmp_path, capsys):
    """The whole example study in fast mode: every step runs."""
    out = tmp_path / "out"
    assert main(["run", str(SAMPLE_TOML), "--out", str(out), "--fast"]) == 0
    printed = capsys.readouterr().out
    for step in ("design", "realign", "sizing", "potential", "forecast", "routing"):
        assert f"\n  {step} " in printed, step
    assert "Skipped" not in printed
    study = Study.load(out / "southeast.gpkg")
    assert list(study.alignments) == ["current", "designed", "rebalanced"]
    assert "potential_model" in study.units.columns
    html = (out / "report.html").read_text(encoding="utf-8")
    for sid in ("potential", "forecast", "quotas", "routing", "sizing"):
        assert f'<section id="{sid}">' in html


def _sample_config(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    p = tmp_path / name
    p.write_text(text.replace("SAMPLE/", f"{SAMPLE_TOML.parent}/"), encoding="utf-8")
    return p


SAMPLE_DATA = (
    '[data]\nunits = "SAMPLE/units.gpkg"\naccounts = "SAMPLE/accounts.csv"\n'
    'reps = "SAMPLE/reps.csv"\nalignment = "SAMPLE/alignment_current.csv"\n'
)


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (
            '[columns.accounts]\n"Account Number" = "account_id"\n',
            "Fix: correct the keys of [columns.accounts]: they are the names in "
            "your file",
        ),
        (
            'units_layer = "unitz"\n',
            "Fix: set [data] units_layer = one of these names",
        ),
    ],
)
def test_a_data_mistake_at_load_exits_2_in_the_files_terms(
    tmp_path, capsys, extra, said
):
    """Was exit 1, explained in Python-API terms ('columns={...}', 'pass
    layer='), with an empty --out folder left behind."""
    cfg = _sample_config(tmp_path, SAMPLE_DATA + extra)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("terrakit: error: ")
    assert said in err and "columns={" not in err and "pass layer" not in err
    assert not out.exists()


def test_account_potential_without_employees_exits_2_before_any_step(tmp_path, capsys):
    """[potential] level = "account" on accounts without 'employees' (the
    account model's default covariate): was exit 1 in the potential step,
    after the steps before it, with a fix in Python terms (model_config=...),
    and account_covariates = [] was refused as an unknown key."""
    import pandas as pd

    acc = pd.read_csv(SAMPLE_TOML.parent / "accounts.csv", dtype=str)
    acc.drop(columns="employees").to_csv(tmp_path / "accounts.csv", index=False)
    data = SAMPLE_DATA.replace("SAMPLE/accounts.csv", "accounts.csv")
    cfg = _sample_config(tmp_path, data + '[potential]\nlevel = "account"\n')
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "terrakit: error: study.toml: [potential] account_covariates: 'employees' "
        "is not a column of the study's accounts; they have ["
    )
    assert err.rstrip().endswith(
        "or leave it out with [potential] account_covariates = []"
    )
    assert "step 'potential' failed" not in err and "model_config" not in err
    assert not out.exists()


def test_a_study_with_no_alignment_exits_2_before_any_step(tmp_path, capsys):
    """No alignment and no reps: was a bare StopIteration after the steps."""
    cfg = _sample_config(
        tmp_path,
        '[data]\nunits = "SAMPLE/units.gpkg"\naccounts = "SAMPLE/accounts.csv"\n',
    )
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "the study has no alignment" in err
    assert "Fix: give [data] alignment or reps" in err
    assert "StopIteration" not in err and not out.exists()


def test_an_output_over_an_input_exits_2_before_any_step(tmp_path, capsys):
    """--out the data folder, whose units file is study.gpkg: the clash was
    found only after every step had run, naming no [report] key."""
    units = tmp_path / "study.gpkg"
    units.write_bytes((SAMPLE_TOML.parent / "units.gpkg").read_bytes())
    cfg = _sample_config(
        tmp_path,
        SAMPLE_DATA.replace('"SAMPLE/units.gpkg"', '"study.gpkg"')
        + "[report]\nstudy_file = 'study.gpkg'\n",
    )
    assert main(["run", str(cfg), "--out", str(tmp_path), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert "[report] study_file = 'study.gpkg' in the output folder" in captured.err
    assert "(--out) is the [data] units input file" in captured.err
    assert "load" not in captured.out  # no step ran
    assert units.read_bytes() == (SAMPLE_TOML.parent / "units.gpkg").read_bytes()


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("# ±10 %\n".encode("cp1252"), "(line 1)"),
        ("# ±10 %\n".encode("utf-16"), "starts like UTF-16"),
    ],
)
def test_a_config_not_in_utf8_exits_2(tmp_path, capsys, raw, said):
    """Was a bare codec error and exit 1."""
    cfg = tmp_path / "study.toml"
    cfg.write_bytes(raw)
    assert main(["run", str(cfg), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("terrakit: error: study.toml: not UTF-8 text: byte ")
    assert said in err and "Fix: save it as UTF-8" in err


def _today_as_t(tmp_path: Path) -> Path:
    """The sample study with today's territories renamed T01..T20 (the reps
    stay R01..R20), routing asked for today's 'T05', the design on."""
    import pandas as pd

    a = pd.read_csv(SAMPLE_TOML.parent / "alignment_current.csv", dtype=str)
    a["territory_id"] = a["territory_id"].str.replace("R", "T")
    a.to_csv(tmp_path / "alignment.csv", index=False)
    return _sample_config(
        tmp_path,
        SAMPLE_DATA.replace('"SAMPLE/alignment_current.csv"', '"alignment.csv"')
        + '[design]\ntime_limit = 5\n[routing]\nterritory = "T05"\n',
    )


SKIP_LONG = ["--skip", "realign", "--skip", "sizing", "--skip", "potential"]


def test_a_routing_territory_not_of_the_primary_alignment_exits_2_before_any_step(
    tmp_path, capsys, monkeypatch
):
    """'T05' is today's territory, but the routing plans the designed
    alignment (rep ids): the check before the first step accepted it (reps or
    today's territories), so the design ran and the run ended with exit 2 and
    no step named."""
    import terrakit as tk

    def no_design(*args, **kw):
        raise AssertionError("the design ran")

    monkeypatch.setattr(tk.design, "align", no_design)
    cfg = _today_as_t(tmp_path)
    out = tmp_path / "out"
    args = ["run", str(cfg), "--out", str(out), "--no-progress", "--fast"]
    assert main([*args, *SKIP_LONG]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "terrakit: error: study.toml: [routing] territory: 'T05' is not a "
        "territory of the 'designed' alignment, which the routing plans (the "
        "design step makes it: one territory per rep id) (did you mean 'R05'?); "
        "it has ['R01', 'R02', 'R03', 'R04', 'R05', 'R06', 'R07', 'R08', 'R09', "
        "'R10'] ...; 'T05' is a territory of the 'current' alignment, but the "
        "routing plans the primary one: 'rebalanced' when the realign step runs, "
        "else 'designed' when the design step runs, else 'current'. Fix: give "
        "one of those ids or leave territory out"
    )
    assert not out.exists()


def test_the_late_routing_territory_check_names_the_step_and_exits_1(
    tmp_path, capsys, monkeypatch
):
    """The check after the steps stays as a safety net: a step failure (exit
    1, the routing step named), no longer a configuration error (exit 2,
    documented as 'before any step')."""
    from terrakit.report import pipeline

    monkeypatch.setattr(pipeline, "_check_against_study", lambda cfg, study: [])
    cfg = _today_as_t(tmp_path)
    out = tmp_path / "out"
    args = ["run", str(cfg), "--out", str(out), "--no-progress", "--fast"]
    assert main([*args, *SKIP_LONG, "--skip", "forecast"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "terrakit: error: study.toml: [routing] territory: 'T05' is not a "
        "territory of the 'designed' alignment, which the routing plans; it has "
        "['R01', 'R02', 'R03', 'R04', 'R05', 'R06', 'R07', 'R08', 'R09', 'R10'] "
        "and 10 more. Fix: give one of those ids or leave territory out (the "
        "typical territory is planned)\n"
    )
    assert "(terrakit pipeline: step 'routing' failed (settings: [routing] in " in err


ALL_BUT_DESIGN = [
    *("--skip", "realign", "--skip", "sizing", "--skip", "potential"),
    *("--skip", "forecast", "--skip", "routing"),
]


def test_ctrl_c_exits_130_and_says_nothing_was_written(tmp_path, capsys, monkeypatch):
    """nutpie and PyMC catch the KeyboardInterrupt of a Ctrl-C and return a
    truncated posterior: the run carried on and ended in a bare IndexError
    traceback (or wrote a report from it)."""
    import terrakit as tk

    def sampler_swallowing_ctrl_c(*args, **kwargs):
        swallow_ctrl_c()  # as the sampler does
        raise IndexError("index -1 is out of bounds for axis 0 with size 0")

    monkeypatch.setattr(tk.design, "align", sampler_swallowing_ctrl_c)
    cfg = _sample_config(tmp_path, SAMPLE_DATA)
    out = tmp_path / "out"
    args = ["run", str(cfg), "--out", str(out), "--no-progress", "--fast"]
    assert main([*args, *ALL_BUT_DESIGN]) == 130
    captured = capsys.readouterr()
    assert captured.err == "terrakit: interrupted; nothing written\n"
    assert "Wrote:" not in captured.out and not out.exists()


def test_an_unexpected_error_keeps_its_traceback_and_says_it_is_a_bug(
    tmp_path, capsys, monkeypatch
):
    """An error terrakit did not foresee came out as a bare traceback."""
    import terrakit as tk

    def broken(*args, **kwargs):
        raise IndexError("index -1 is out of bounds for axis 0 with size 0")

    monkeypatch.setattr(tk.design, "align", broken)
    cfg = _sample_config(tmp_path, SAMPLE_DATA)
    out = tmp_path / "out"
    args = ["run", str(cfg), "--out", str(out), "--no-progress", "--fast"]
    assert main([*args, *ALL_BUT_DESIGN]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n")
    assert err.endswith(
        "\nterrakit: internal error in step 'design': IndexError: index -1 is out "
        "of bounds for axis 0 with size 0\n  (an unexpected error, a bug in "
        "terrakit: please report it with the traceback above)\n"
    )
    assert not out.exists()


def test_bad_data_found_by_the_checks_after_loading_exits_2(tmp_path, capsys):
    """A blank annual_sales on units without a sales column is refused by the
    checks right after loading (the sales summed into the units), before any
    step: was exit 1, documented for a failed step, with no step named."""
    import geopandas as gpd
    import pandas as pd

    units = gpd.read_file(SAMPLE_TOML.parent / "units.gpkg", layer="units")
    units.drop(columns=["workload", "sales", "accounts"]).to_file(
        tmp_path / "units.gpkg", layer="units", driver="GPKG"
    )
    acc = pd.read_csv(SAMPLE_TOML.parent / "accounts.csv", dtype={"unit_id": str})
    acc.loc[5, "annual_sales"] = None  # one blank cell in a CRM export
    acc.to_csv(tmp_path / "accounts.csv", index=False)
    data = SAMPLE_DATA.replace("SAMPLE/units.gpkg", "units.gpkg").replace(
        "SAMPLE/accounts.csv", "accounts.csv"
    )
    cfg = _sample_config(tmp_path, data + "[potential]\nenabled = false\n")
    out = tmp_path / "out"
    args = ["run", str(cfg), "--out", str(out), "--no-progress", "--fast"]
    assert main([*args, *ALL_BUT_DESIGN]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "terrakit: error: accounts.annual_sales: 1 accounts have no annual_sales"
    )
    assert "(terrakit pipeline: the study's data failed their checks; no step ran)" in (
        err
    )
    assert "failed (settings:" not in err and not out.exists()


def test_python_demo_and_run_read_fast_and_skip_as_the_command_does(
    monkeypatch, tmp_path
):
    """cli.demo(fast="false") ran the fast mode (bool("false") is True, while
    TERRAKIT_FAST=false is full mode); cli.run(skip="forecast") was split into
    letters: "unknown step 'f'"."""
    from terrakit import cli
    from terrakit.report import pipeline
    from terrakit.report.config import STEPS, ConfigError

    seen = {}

    def fake_run_pipeline(study, cfg, out, *, progress, fast):
        # what the pipeline makes of the arguments; no study is run
        seen["fast"] = pipeline._is_fast(fast)
        seen["off"] = [s for s in STEPS if not getattr(cfg, s).enabled]

    monkeypatch.setattr(pipeline, "run_pipeline", fake_run_pipeline)
    monkeypatch.delenv("TERRAKIT_FAST", raising=False)
    out = tmp_path / "never"
    for value, fast in [
        ("false", False),
        ("0", False),
        ("No", False),
        ("1", True),
        (" yes ", True),
        (0, False),
        (1, True),
        (False, False),
        (True, True),
    ]:
        cli.demo(out, fast=value, progress=False)
        assert seen["fast"] is fast, value
    for bad in ("on", 2, 0.5):
        with pytest.raises(ConfigError) as err:
            cli.demo(out, fast=bad, progress=False)
        assert str(err.value) == (
            f"fast={bad!r} is not understood; it is True (or 1, 'true', 'yes') "
            "for fast mode (fewer draws, shorter time limits) and False (or 0, "
            "'false', 'no') for full mode. Fix: pass fast=True or fast=False, or "
            "fast=None to read TERRAKIT_FAST"
        )
    cli.run(SAMPLE_TOML, out, skip="forecast", progress=False)
    assert seen["off"] == ["forecast"]
    cli.run(SAMPLE_TOML, out, skip=["forecast", "routing"], progress=False)
    assert seen["off"] == ["forecast", "routing"]
    assert not out.exists()

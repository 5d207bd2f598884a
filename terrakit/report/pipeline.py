"""The whole study end to end: what ``terrakit demo`` and ``terrakit run`` do.

:func:`run_pipeline` loads the data (or takes a study), designs territories,
rebalances today's alignment, sizes the sales force, estimates the market
potential (the sparse Laplace fast path by default), forecasts sales by territory with
quotas, plans one territory's calls and routes, and writes the study
GeoPackage, the HTML report and the Excel workbook.  Each step can be
switched off in the configuration; steps whose data are missing are skipped
with the reason recorded, never silently.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from terrakit._sampling import interruptible
from terrakit.report.config import (
    _TABLES,
    STEPS,
    ConfigError,
    DataConfig,
    StudyConfig,
    load_config,
)

__all__ = [
    "DEMO_CONFIG",
    "LOAD_FAILED",
    "WRITTEN",
    "PipelineResult",
    "demo_config",
    "load_study",
    "run_pipeline",
]

#: The sample study's settings; ``data/samples/southeast/study.toml`` holds the
#: same values (a test keeps them equal).  The greenfield design and the
#: realignment of today's (±49 %) plan both ask for ±10 % workload balance, the
#: realignment moving at most a quarter of sales.
DEMO_CONFIG: dict[str, Any] = {
    "study": {"name": "southeast", "seed": 0},
    "design": {"balance": {"workload": 0.10}, "contiguity": True, "time_limit": 60},
    "realign": {
        "balance": {"workload": 0.10},
        "max_moved": 0.25,
        "moved_measure": "sales",
        "time_limit": 60,
    },
    "sizing": {
        "hours_per_rep": 1600,
        "cost_per_rep": 180000,
        "margin": 0.35,
        "min_reps": 10,
        "max_reps": 50,
        "step": 2,
    },
    "potential": {"level": "unit", "method": "laplace", "draws": 1000},
    "forecast": {"horizon": 12, "method": "nutpie", "draws": 250, "tune": 300},
    "routing": {"weeks": 4, "time_limit": 30},
    "report": {
        "title": "Southeast territory study (sample data)",
        "measures": ["workload", "sales", "accounts"],
        "tolerance": 0.30,
        "study_file": "southeast.gpkg",
        "html_file": "report.html",
        "excel_file": "report.xlsx",
    },
}

#: Caps applied in fast mode (``fast=True`` or ``TERRAKIT_FAST=1``).
FAST_LIMITS: dict[str, float] = {
    "time_limit": 10.0,
    "response_draws": 200,
    "potential_iterations": 3000,
    "potential_draws": 200,
    "forecast_draws": 100,
    "forecast_tune": 150,
    "routing_time_limit": 5.0,
    "routing_weeks": 2,
}


#: ``(section, key)`` of a setting → the :data:`FAST_LIMITS` entry that caps it.
_CAPPED: dict[tuple[str, str], str] = {
    ("design", "time_limit"): "time_limit",
    ("realign", "time_limit"): "time_limit",
    ("potential", "iterations"): "potential_iterations",
    ("potential", "draws"): "potential_draws",
    ("forecast", "draws"): "forecast_draws",
    ("forecast", "tune"): "forecast_tune",
    ("routing", "weeks"): "routing_weeks",
    ("routing", "time_limit"): "routing_time_limit",
}


def _used_settings(cfg: StudyConfig, fast: bool) -> dict[tuple[str, str], Any]:
    """The settings :data:`FAST_LIMITS` caps, as the steps use them.

    In fast mode each is the smaller of the configured value and its cap
    (counts as whole numbers, time limits in seconds); otherwise the
    configured value.  The steps read them from here and the report's
    provenance records them, so the two cannot disagree.
    """
    out: dict[tuple[str, str], Any] = {}
    for (section, key), cap in _CAPPED.items():
        value = getattr(getattr(cfg, section), key)
        if fast:
            limit = FAST_LIMITS[cap]
            value = min(value, limit if "time_limit" in cap else int(limit))
        out[section, key] = value
    return out


def _fast_note(
    cfg: StudyConfig, used: Mapping[tuple[str, str], Any], ran: Collection[str]
) -> str:
    """The report's "Fast mode" note: the caps' values and the settings of
    the steps that ran (``ran``) they lowered (configured → used)."""
    f = FAST_LIMITS
    lowered = [
        f"[{section}] {key} {getattr(getattr(cfg, section), key):g} → {v:g}"
        for (section, key), v in used.items()
        if section in ran and v != getattr(getattr(cfg, section), key)
    ]
    return (
        "This report was made in fast mode (fewer draws and iterations, "
        "shorter time limits): use it to check the set-up, not for decisions. "
        f"The caps (FAST_LIMITS): design and realignment time limit "
        f"{f['time_limit']:g} s; response curves {f['response_draws']:g} draws and "
        f"tune; potential {f['potential_iterations']:g} iterations and "
        f"{f['potential_draws']:g} draws; forecast {f['forecast_draws']:g} draws "
        f"and {f['forecast_tune']:g} tune; routing {f['routing_weeks']:g} weeks "
        f"and {f['routing_time_limit']:g} s. "
        + (
            "Settings lowered (configured → used): " + ", ".join(lowered) + ". "
            if lowered
            else "No setting was above its cap. "
        )
        + "The run's config in the provenance holds the values used; "
        "fast_limits holds the caps."
    )


def demo_config() -> StudyConfig:
    """The :data:`DEMO_CONFIG` as a validated :class:`StudyConfig` (no files)."""
    return StudyConfig.from_dict(DEMO_CONFIG, source="demo", require_data=False)


@dataclass(frozen=True, eq=False)
class PipelineResult:
    """What :func:`run_pipeline` made.

    Attributes
    ----------
    study
        The study with every alignment made (``current``, ``designed``,
        ``rebalanced``) and, after the potential step, a ``potential_model``
        unit column.
    files
        ``"study"``, ``"html"``, ``"excel"`` → written path.
    timings
        Step → wall-clock seconds (shown by ``str()``, never by
        :meth:`summary`).
    skipped
        Step → why it did not run.
    warnings
        Text of the warnings raised during the run (convergence and the like).
    config
        The configuration it ran with; ``fast`` whether fast mode was on.
    design, rebalance, workload, headcount, potential, forecast, quotas, call_plan
        The step results (``None`` for a step that did not run).
    """

    study: Any
    files: Mapping[str, Path]
    timings: Mapping[str, float]
    skipped: Mapping[str, str]
    warnings: tuple[str, ...]
    config: StudyConfig
    fast: bool
    design: Any = None
    rebalance: Any = None
    workload: Any = None
    headcount: Any = None
    potential: Any = None
    forecast: Any = None
    quotas: Any = None
    call_plan: Any = None

    def __post_init__(self) -> None:
        missing = {"study", "html", "excel"} - set(self.files)
        if missing:
            raise ValueError(f"a pipeline result needs files {sorted(missing)}")
        object.__setattr__(self, "files", dict(self.files))
        object.__setattr__(self, "timings", dict(self.timings))
        object.__setattr__(self, "skipped", dict(self.skipped))

    @property
    def steps_run(self) -> tuple[str, ...]:
        return tuple(s for s in STEPS if s in self.timings)

    def summary(self) -> str:
        """Rounded, stable text: steps run and skipped, alignments, files."""
        lines = [
            f"Pipeline {self.config.name!r} ({'fast' if self.fast else 'full'} mode)",
            "  steps run: " + (", ".join(self.steps_run) or "none"),
        ]
        for s, why in self.skipped.items():
            lines.append(f"  skipped {s}: {why}")
        lines.append(
            "  alignments: "
            + ", ".join(
                f"{n} ({a.n_territories})" for n, a in self.study.alignments.items()
            )
        )
        for k, p in self.files.items():
            lines.append(f"  {k}: {Path(p).name}")
        return "\n".join(lines)

    def timing_table(self) -> str:
        """Seconds per step and in total."""
        width = max(len(s) for s in self.timings) if self.timings else 5
        rows = [f"  {s:<{width}}  {t:8.1f} s" for s, t in self.timings.items()]
        total = sum(self.timings.values())
        rows.append(f"  {'total':<{width}}  {total:8.1f} s")
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.summary() + "\nWall time per step:\n" + self.timing_table()


# -- loading ---------------------------------------------------------------------------
#: The file types of ``[data] alignment``: the tables terrakit.data.io reads.
_ALIGNMENT_SUFFIXES = (
    ".csv",
    ".txt",
    ".tsv",
    ".xlsx",
    ".xlsm",
    ".xls",
    ".parquet",
    ".pq",
)


def _read_alignment(d: DataConfig, rep_ids: pd.Index | None = None) -> Any:
    """Today's alignment, ``[data] alignment``, as ``current``.

    Read by terrakit.data.io's reader, as the other tables: the delimiter
    and encoding of delimited text found, a sheet checked by name or
    position, spaces around ids removed (with a warning) and the ids text
    from every format (a Parquet file's numbers too).  Territory ids are
    then brought to the reps' id type where that loses nothing (``'7'``
    for rep ``7``), as the accounts' owners are.
    """
    import difflib

    from terrakit.data.alignment import Alignment, make_provenance
    from terrakit.data.io import _read
    from terrakit.data.validation import _align_id_dtype
    from terrakit.exceptions import DataValidationError

    p = d.alignment
    assert p is not None
    suffix = p.suffix.lower()
    if suffix not in _ALIGNMENT_SUFFIXES:
        raise DataValidationError(
            "alignment",
            None,
            f"cannot read {p.name!r}: unknown file type {suffix!r}",
            fix="give the current alignment as CSV (.csv, .txt, .tsv), Excel or "
            "Parquet",
        )
    mapping = dict(d.columns.get("alignment", {}))
    inverse = {v: k for k, v in mapping.items()}
    # the id columns by their names in the file: the mapping is applied below
    ids = tuple(
        inverse.get(c, c)
        for c in (d.alignment_unit_column, d.alignment_territory_column)
    )
    frame = _read(
        p, "alignment", None, id_columns=ids, sheet=d.alignment_sheet, layer=None
    )
    text = pd.Index([], dtype=object)
    for c in ids:
        if c in frame.columns:
            # CSV and Excel ids are read as text; a Parquet file keeps numbers
            frame[c] = _align_id_dtype(frame[c], text)
    seen = [str(c) for c in frame.columns]
    for src in mapping:
        if src not in seen:
            close = difflib.get_close_matches(src, seen, n=1)
            raise DataValidationError(
                "alignment",
                src,
                f"[columns.alignment] maps {src!r}, but {p.name} has no such column"
                + (f" (did you mean {close[0]!r}?)" if close else "")
                + f" (columns seen: {seen[:15]})",
                fix="correct the keys of [columns.alignment]: they are the names in "
                "your file",
            )
    frame = frame.rename(columns=mapping)
    renamed = [str(c) for c in frame.columns]
    for key in ("alignment_unit_column", "alignment_territory_column"):
        col = getattr(d, key)
        if col not in renamed:
            close = difflib.get_close_matches(col, renamed, n=1)
            default = col == ("unit_id" if "unit" in key else "territory_id")
            raise DataValidationError(
                "alignment",
                col,
                f"{p.name} has no column {col!r} (the column [data] {key} names"
                + (", by default" if default else "")
                + ")"
                + (f"; did you mean {close[0]!r}?" if close else "")
                + f" (columns seen: {renamed[:15]})",
                fix=f'set [data] {key} = "{close[0]}"'
                if close
                else f'set [data] {key} = "your column" (or map it under '
                f'[columns.alignment] as "your column" = "{col}")',
            )
    if rep_ids is not None:
        col = d.alignment_territory_column
        frame[col] = _align_id_dtype(frame[col], rep_ids)
    return Alignment.from_frame(
        frame,
        unit_column=d.alignment_unit_column,
        territory_column=d.alignment_territory_column,
        name="current",
        provenance=make_provenance("file", config={"path": p.name}),
    )


def _in_config_terms(text: str, key: str) -> str:
    """A loader's message, which speaks of the Python API (``columns={...}``,
    ``pass layer=``), in the terms of the configuration file: the
    ``[columns.<table>]`` section and the ``[data]`` keys."""
    layer = (
        (r"pass layer= ?", "set [data] units_layer = ")
        if key == "units"
        else (
            r"pass layer=.*",
            f"save the table as the first layer of the {key} file (study.toml "
            "chooses a layer only for the units: [data] units_layer)",
        )
    )
    rules = [
        (
            r"write ('[^']*'): ('[^']*') in columns=\{\.\.\.\}",
            rf"write \1 = \2 under [columns.{key}]",
        ),
        (r"columns=\{\.\.\.\}", f"[columns.{key}]"),
        (r"the columns mapping", f"[columns.{key}]"),
        (
            r"pass sheet=('[^']*') \(\[data\] (\w+) in study\.toml\)",
            r"set [data] \2 = \1",
        ),
        (
            r"pass sheet='\.\.\.' \(\[data\] (\w+) in study\.toml\)",
            r"set [data] \1 = '...'",
        ),
        (
            r"so there is no sheet=(-?\d+)",
            rf"so there is no sheet at position \1 ([data] {key}_sheet = \1)",
        ),
        (r"pass sheet= ?", f"set [data] {key}_sheet = "),
        layer,
        (r"\bcrs=(\S+) was passed", r"[data] crs = \1 was given"),
        (r"drop crs=\.\.\.", "remove [data] crs"),
    ]
    for pattern, repl in rules:
        text = re.sub(pattern, repl, text)
    return text


def _config_terms(err: Exception, key: str) -> Exception:
    """``err`` again, its problem and fix in the configuration file's terms
    (:func:`_in_config_terms`); ``err`` itself when it says nothing of the API."""
    from terrakit.exceptions import DataValidationError

    if not isinstance(err, DataValidationError):
        return err
    problem = _in_config_terms(err.problem, key)
    fix = _in_config_terms(err.fix, key)
    if (problem, fix) == (err.problem, err.fix):
        return err
    new = DataValidationError(
        err.table, err.column, problem, rows=err.rows, fix=fix, n_bad=err.n_bad
    )
    for note in getattr(err, "__notes__", []):
        new.add_note(note)
    return new.with_traceback(err.__traceback__)


def load_study(config: StudyConfig) -> Any:
    """Read the study described by ``config.data`` (with its column mappings).

    The current alignment, when given, is added as ``"current"``.

    Raises
    ------
    ConfigError
        When the configuration has no ``[data]`` section.
    DataValidationError
        From the loaders, naming the table, column, rows and fix in the
        configuration file's terms (``[columns.accounts]``, ``[data]
        units_layer``); a note says which ``[data]`` entry of the
        configuration file was being read.
    """
    from terrakit.data.io import read_accounts, read_history, read_reps, read_units
    from terrakit.data.study import Study

    d = config.data
    if d is None:
        raise ConfigError(
            f"{config.source}: no [data] section, so there is no study to load. "
            "Fix: add [data] with units = ... (and accounts, reps, history)"
        )
    cols = d.columns

    def step(key: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as err:
            said = _config_terms(err, key)
            said.add_note(
                f"while reading [data] {key} = {str(getattr(d, key))!r} of "
                f"{config.source}"
            )
            if said is err:
                raise
            raise said from None

    units = step(
        "units",
        lambda: read_units(
            d.units,
            columns=cols.get("units"),
            layer=d.units_layer,
            sheet=d.units_sheet,
            crs=d.crs,
        ),
    )
    accounts = reps = history = None
    if (acc_path := d.accounts) is not None:
        accounts = step(
            "accounts",
            lambda: read_accounts(
                acc_path,
                columns=cols.get("accounts"),
                sheet=d.accounts_sheet,
                units=units,
            ),
        )
    if (rep_path := d.reps) is not None:
        reps = step(
            "reps",
            lambda: read_reps(rep_path, columns=cols.get("reps"), sheet=d.reps_sheet),
        )
    if (hist_path := d.history) is not None:
        history = step(
            "history",
            lambda: read_history(
                hist_path,
                columns=cols.get("history"),
                period_format=d.period_format,
                sheet=d.history_sheet,
                accounts=accounts,
            ),
        )
    study = Study(
        units,
        accounts=accounts,
        reps=reps,
        history=history,
        metadata={"name": config.name, "config": config.source},
    )
    if d.alignment is not None:
        rep_ids = None if reps is None else reps.index
        current = step("alignment", lambda: _read_alignment(d, rep_ids))
        study = step("alignment", lambda: study.with_alignment(current))
    return study


def _measure_source(measure: str, study: Any) -> str:
    """Why the unit measure ``measure`` cannot be built, naming the columns."""
    acc = study.accounts
    acc_cols = [] if acc is None else [str(c) for c in acc.columns]
    needs = {
        "sales": ["annual_sales"],
        "workload": ["calls_per_year", "call_minutes"],
        "accounts": ["unit_id"],
    }.get(measure)
    if needs is None:
        return f"the units have no {measure!r} column"
    if acc is None:
        return (
            f"the units have no {measure!r} column and the study has no accounts "
            "to sum it from. Fix: add the column to the units file (map it under "
            f'[columns.units] as "Your column" = "{measure}") or give [data] accounts'
        )
    lacking = [c for c in needs if c not in acc_cols]
    return (
        f"the units have no {measure!r} column and the accounts have no "
        f"{' / '.join(repr(c) for c in lacking)} column to sum it from (accounts "
        f"columns: {acc_cols[:12]}). Fix: map your column under [columns.accounts] "
        f'as "Your column" = "{lacking[0] if lacking else needs[0]}", or add '
        f"{measure!r} to the units file"
    )


def _missing_column(
    cfg: StudyConfig,
    key: str,
    value: str,
    have: list[str],
    fix: str,
    table: str = "units",
) -> ConfigError:
    import difflib

    close = difflib.get_close_matches(value, have, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(
        f"{cfg.source}: [potential] {key}: {value!r} is not a column of the "
        f"study's {table}{hint}; they have {have}. Fix: {fix}"
    )


def _check_potential(cfg: StudyConfig, study: Any, have: list[str]) -> None:
    """The potential model's columns, checked before any step runs (at
    ``level = "account"`` by :func:`_check_account_potential`).

    The unit-level model reads ``unit_sales`` and ``unit_covariates`` from
    the units table, or from :meth:`~terrakit.data.Study.unit_measures`
    (sales summed from the accounts) where the table lacks the sales column.
    Each must be a column of numbers, one in every unit: a column holding
    text (a state code) or missing values is refused here, naming the key,
    the column and the values or rows, not after the steps before the
    potential have run.
    """
    p = cfg.potential
    if not p.enabled:
        return
    if p.level == "account":
        _check_account_potential(cfg, study)
        return
    units = study.units
    cols = [str(c) for c in units.columns if c != units.geometry.name]
    if p.unit_sales not in cols and study.accounts is not None:
        # the model reads unit_measures(): the units' columns and the
        # measures summed from the accounts
        cols += [c for c in have if c != "units" and c not in cols]
    if p.unit_sales not in cols:
        raise _missing_column(
            cfg,
            "unit_sales",
            p.unit_sales,
            cols,
            "name the units' sales column in [potential] unit_sales (or map it "
            f'under [columns.units] as "Your column" = "{p.unit_sales}"), give '
            "[data] accounts with annual_sales to sum, or switch the step off "
            "with [potential] enabled = false",
        )
    for c in p.unit_covariates:
        rest = [x for x in p.unit_covariates if x != c]
        leave_out = f"leave it out with [potential] unit_covariates = {rest!r}".replace(
            "'", '"'
        )
        if c not in cols:
            raise _missing_column(
                cfg,
                "unit_covariates",
                c,
                cols,
                f"add the column to the units file (or map it under [columns.units] "
                f'as "Your column" = "{c}"), or {leave_out}',
            )
        _check_numbers(
            cfg,
            "unit_covariates",
            c,
            units.get(c),
            f"encode it as numbers in the units file (e.g. a 0/1 column per "
            f"category), or {leave_out}",
            fill=f"fill them in the units file (e.g. with the column's median), "
            f"or {leave_out}",
        )
    _check_numbers(
        cfg,
        "unit_sales",
        p.unit_sales,
        units.get(p.unit_sales),
        "name the units' sales column (numbers) in [potential] unit_sales",
        fill="fill them in the units file (0 for a unit without sales), or name "
        "another sales column in [potential] unit_sales",
    )


def _check_account_potential(cfg: StudyConfig, study: Any) -> None:
    """The account-level potential model's columns, checked before any step
    runs: the accounts' ``annual_sales`` (the outcome), the columns of
    ``[potential] account_covariates`` (numbers) and the grouping columns
    ``segment_column`` and ``industry_column`` unless switched off, each
    with a value in every account.  Without accounts the step is skipped, so
    there is nothing to check."""
    p = cfg.potential
    acc = study.accounts
    if acc is None:
        return
    cols = [str(c) for c in acc.columns]
    if "annual_sales" not in cols:
        raise ConfigError(
            f'{cfg.source}: [potential] level: "account" fits each account\'s '
            "sales, 'annual_sales', which is not a column of the study's "
            f"accounts; they have {cols}. Fix: map your yearly sales column "
            '(numbers) under [columns.accounts] as "Your column" = '
            '"annual_sales", or set [potential] level = "unit"'
        )
    _check_numbers(
        cfg,
        "level",
        "annual_sales",
        acc["annual_sales"],
        "map your yearly sales column (numbers) under [columns.accounts] as "
        '"Your column" = "annual_sales", or set [potential] level = "unit"',
        table="accounts",
        fill="fill annual_sales in the accounts file (0 for an account without "
        'sales), or set [potential] level = "unit"',
    )
    for c in p.account_covariates:
        rest = [x for x in p.account_covariates if x != c]
        leave_out = (
            f"leave it out with [potential] account_covariates = {rest!r}".replace(
                "'", '"'
            )
        )
        if c not in cols:
            raise _missing_column(
                cfg,
                "account_covariates",
                c,
                cols,
                "add the column to the accounts file (or map it under "
                f'[columns.accounts] as "Your column" = "{c}"), or {leave_out}',
                table="accounts",
            )
        _check_numbers(
            cfg,
            "account_covariates",
            c,
            acc[c],
            f"encode it as numbers in the accounts file (e.g. a 0/1 column per "
            f"category), or {leave_out}",
            table="accounts",
            fill="fill them in the accounts file (e.g. with the segment's "
            f"median), or {leave_out}",
        )
    for key, what in (
        ("segment_column", "segment effects"),
        ("industry_column", "industry pooling"),
    ):
        col = getattr(p, key)
        if col is not None and col not in cols:
            raise _missing_column(
                cfg,
                key,
                col,
                cols,
                f"name the accounts' column in [potential] {key} (or map it under "
                f'[columns.accounts] as "Your column" = "{col}"), or fit without '
                f"{what} with [potential] {key} = false",
                table="accounts",
            )
        if col is not None and acc[col].isna().any():
            from terrakit.data.validation import first_few

            empty = acc[col].isna().to_numpy()
            raise ConfigError(
                f"{cfg.source}: [potential] {key}: {col!r} is empty in "
                f"{int(empty.sum())} of {len(acc)} rows of the study's accounts "
                f"(rows: {first_few(acc.index[empty])}); the potential model "
                f"groups every account by it. Fix: fill them in the accounts "
                f"file (e.g. with 'unknown'), or fit without {what} with "
                f"[potential] {key} = false"
            )


def _check_numbers(
    cfg: StudyConfig,
    key: str,
    column: str,
    values: pd.Series | None,
    fix: str,
    table: str = "units",
    *,
    fill: str | None = None,
) -> None:
    """Refuse a column of ``table`` named by ``[potential] key`` that holds
    text or misses values: the model reads a number in every row (text that
    reads as a number is taken, as the model takes it).  ``None``: a column
    summed from the accounts, numbers by construction (the sums check their
    accounts).

    ``fill`` is the fix for missing values (default: fill them in, or ``fix``).
    """
    import numpy as np

    from terrakit.data.validation import first_few

    if values is None:
        return
    if not pd.api.types.is_numeric_dtype(values):
        given = values.dropna().astype(object)
        bad = given[pd.to_numeric(given, errors="coerce").isna()]
        if not bad.empty:
            shown = ", ".join(repr(v) for v in list(dict.fromkeys(map(str, bad)))[:3])
            raise ConfigError(
                f"{cfg.source}: [potential] {key}: {column!r} is a text column of "
                f"the study's {table} ({len(bad)} of {len(values)} values are not "
                f"numbers, e.g. {shown}); the potential model needs numbers. "
                f"Fix: {fix}"
            )
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    missing = ~np.isfinite(numbers)
    if not missing.any():
        return
    rows = first_few(values.index[missing])
    how = fill or (
        f"fill them in the {table} file (e.g. with the column's median), or {fix}"
    )
    raise ConfigError(
        f"{cfg.source}: [potential] {key}: {column!r} has {int(missing.sum())} "
        f"missing value(s) of {len(values)} in the study's {table} (rows: {rows}); "
        f"the potential model needs a number in every row. Fix: {how}"
    )


def _check_quota(cfg: StudyConfig, study: Any, have: list[str]) -> None:
    """``[forecast] quota = "share_of_potential"`` needs a potential per unit:
    the unit-level potential step's, else the units' ``potential`` or
    ``sales`` (summed from the accounts where the units lack it).
    ``quota = "growth"`` compares each forecast month with the same month a
    year earlier: a horizon of at most 12 months, and a history that covers
    the 12 months before the forecast starts (the month after its last)."""
    f = cfg.forecast
    hist = study.history
    if not f.enabled or hist is None or not len(hist):
        return
    if f.quota == "growth":
        _check_growth_quota(cfg, hist)
        return
    if f.quota != "share_of_potential":
        return
    p = cfg.potential
    if p.enabled and p.level == "unit":
        return
    if "potential" in have or "sales" in have:
        return
    why = (
        "the potential step is switched off ([potential] enabled = false or "
        "--skip potential)"
        if not p.enabled
        else f'[potential] level = "{p.level}" gives no potential per unit'
    )
    raise ConfigError(
        f'{cfg.source}: [forecast] quota: "share_of_potential" splits the target '
        f"by each unit's potential, but {why} and the units have neither a "
        "'potential' nor a 'sales' column (nor accounts with annual_sales to sum). "
        'Fix: set [forecast] quota = "growth" (or "none"), run the potential step '
        '([potential] enabled = true, level = "unit"), or add potential or sales '
        "to the units file"
    )


def _check_growth_quota(cfg: StudyConfig, hist: pd.DataFrame) -> None:
    """Refuse growth quotas that :func:`terrakit.forecast.quota` would refuse
    only after the forecast's sampling: a horizon over 12 months (also
    refused by :func:`~terrakit.report.config.load_config`; a configuration
    built in code may skip it), or a history that does not reach back 12
    months before the forecast starts."""
    from terrakit.report.config import GROWTH_HORIZON, growth_horizon_problem

    f = cfg.forecast
    problem = growth_horizon_problem(f.horizon)
    if problem is not None:
        raise ConfigError(f"{cfg.source}: [forecast] horizon: {problem}")
    per = hist["period"]
    if not isinstance(per.dtype, pd.PeriodDtype) or per.isna().all():
        return  # the forecast refuses it, with the fix
    first, last = per.min(), per.max()
    start = last + 1
    need = start - GROWTH_HORIZON
    if first <= need:
        return
    months = (last - first).n + 1
    raise ConfigError(
        f'{cfg.source}: [forecast] quota: "growth" compares the forecast from '
        f"{start} on with the same months a year earlier ({need}.."
        f"{need + f.horizon - 1}), but the history covers {first}..{last} "
        f"({months} months) and starts {(first - need).n} months too late. "
        f"Fix: give [data] history reaching back to {need} ({GROWTH_HORIZON} "
        "months before the forecast starts), or set [forecast] quota = "
        '"share_of_potential" (or "none")'
    )


def _check_against_study(cfg: StudyConfig, study: Any) -> list[str]:
    """Settings that name the study's columns or territories, checked once the
    study is loaded, before any long step runs (a typo must not cost a run).
    The design runs first and checks its own balance measures.

    Returns
    -------
    list of str
        Warnings for the run: a default report measure the study cannot
        build (named with the column it lacks).

    Raises
    ------
    ConfigError
        Naming the file, section and key, the value, the close match and
        what the study has.
    """
    import difflib

    from terrakit.report.study import DEFAULT_MEASURES

    notes: list[str] = []

    units = study.unit_measures()
    geom = units.geometry.name
    numeric = [
        str(c)
        for c in units.columns
        if c != geom and pd.api.types.is_numeric_dtype(units[c])
    ]
    have = ["units", *numeric]

    def check(
        section: str, key: str, value: str, extra: tuple[str, ...] = (), units=True
    ) -> None:
        ok = [*have, *extra] if units else [*numeric, *extra]
        if value in ok:
            return
        close = difflib.get_close_matches(value, ok, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"{cfg.source}: [{section}] {key}: {value!r} is not a numeric column "
            f"of the study's units{hint}; they have {ok}. Fix: name one of "
            "those columns, or add the column to the units file"
        )

    reps = study.reps
    current = study.alignments.get("current")
    if cfg.design.enabled and reps is not None:
        for m in cfg.design.balance:
            check("design", f"balance.{m}", m, units=False)
    if cfg.realign.enabled and current is not None and reps is not None:
        # rebalance balances numeric columns only (as the design); 'units'
        # (how many units moved) is a moved_measure
        for m in cfg.realign.balance:
            check("realign", f"balance.{m}", m, units=False)
        check("realign", "moved_measure", cfg.realign.moved_measure)
    if tuple(cfg.report.measures) != DEFAULT_MEASURES:
        # the potential step adds the unit column potential_model only at unit
        # level; an account-level fit adds no unit column
        p_cfg = cfg.potential
        makes_column = p_cfg.enabled and p_cfg.level == "unit"
        if (
            "potential_model" in cfg.report.measures
            and "potential_model" not in have
            and not makes_column
        ):
            why = (
                f'[potential] level = "{p_cfg.level}": an account-level fit adds '
                "no unit column"
                if p_cfg.enabled
                else "the potential step is switched off ([potential] enabled = "
                "false or --skip potential)"
            )
            raise ConfigError(
                f"{cfg.source}: [report] measures: 'potential_model' is a unit "
                f"column made only by the unit-level potential step, but {why}. "
                'Fix: set [potential] level = "unit" (and enabled = true), or '
                "remove 'potential_model' from [report] measures"
            )
        made = ("potential_model",) if makes_column else ()
        for m in cfg.report.measures:
            check("report", "measures", m, made)
    else:
        # the default measures are reported where the study has them: say
        # which one is left out and for want of which column
        for m in cfg.report.measures:
            if m not in have:
                notes.append(
                    f"report: the measure {m!r} is left out of the balance tables: "
                    f"{_measure_source(m, study)}"
                )
    _check_potential(cfg, study, have)
    _check_quota(cfg, study, have)
    terr = cfg.routing.territory
    acc = study.accounts
    if (
        cfg.routing.enabled
        and terr is not None
        and acc is not None
        and reps is not None
    ):
        name, made_by = _primary_name(cfg, study)
        if made_by is None:
            known = [str(t) for t in study.alignments[name].territories]
            made_note = ""
        else:
            # the design and the realignment make one territory per rep
            known = [str(r) for r in reps.index]
            made_note = f" (the {made_by} step makes it: one territory per rep id)"
        if terr not in known:
            close = difflib.get_close_matches(terr, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            elsewhere = [
                n
                for n, a in study.alignments.items()
                if n != name and terr in {str(t) for t in a.territories}
            ]
            also = (
                f"; {terr!r} is a territory of the {elsewhere[0]!r} alignment, but "
                "the routing plans the primary one: 'rebalanced' when the realign "
                "step runs, else 'designed' when the design step runs, else "
                "'current'"
                if elsewhere
                else ""
            )
            raise ConfigError(
                f"{cfg.source}: [routing] territory: {terr!r} is not a territory of "
                f"the {name!r} alignment, which the routing plans{made_note}{hint}; it "
                f"has {known[:10]}"
                f"{' ...' if len(known) > 10 else ''}{also}. Fix: give one of "
                "those ids or leave territory out (the typical territory is "
                "planned)"
            )
    return notes


def _response_curves_missing(study: Any) -> str | None:
    """Why the sizing step cannot fit response curves to the study, or
    ``None``.

    :class:`~terrakit.sizing.ResponseModel` fits one curve per segment of
    the accounts from the history's calls per account, anchored at each
    segment's sales today: it needs history with ``account_id`` and
    ``calls``, and accounts with ``segment`` and ``annual_sales`` (numbers
    in every segment).  Where one is missing the step sizes the workload
    only and the run says why (a warning), as it skips the whole step for
    accounts without ``calls_per_year`` / ``call_minutes``.
    """
    hist, acc = study.history, study.accounts
    if hist is None or not {"calls", "account_id"} <= set(hist.columns):
        return "the history has no per-account calls column"
    if acc is None:
        return None  # the step is skipped: no accounts to size
    off = "or set [sizing] response_curves = false"
    if "segment" not in acc.columns:
        return (
            "the accounts have no 'segment' column (one curve is fitted per "
            "segment). Fix: map your segment column under [columns.accounts] "
            f'(e.g. "Tier" = "segment"), {off}'
        )
    if "annual_sales" not in acc.columns:
        return (
            "the accounts have no 'annual_sales' column (each segment's curve "
            "is anchored at its sales today). Fix: map your yearly sales column "
            f'under [columns.accounts] (e.g. "Revenue" = "annual_sales"), {off}'
        )
    sales = pd.to_numeric(acc["annual_sales"], errors="coerce")
    seg = acc["segment"]
    given = sales.notna().groupby(seg[seg.notna()].astype(str)).sum()
    empty = sorted(given.index[given == 0])
    if empty:
        return (
            f"no account of the segment(s) {empty} has an annual_sales value "
            "(each segment's curve is anchored at its sales today). Fix: fill "
            f"annual_sales (today's yearly sales per account), {off}"
        )
    return None


def _primary_name(cfg: StudyConfig, study: Any) -> tuple[str, str | None]:
    """The name of the alignment :func:`run_pipeline` will take as primary
    (the one the forecast and the routing use), judged before any step runs.

    ``rebalanced`` when the realign step will run (on, with a ``current``
    alignment and reps), else ``designed`` when the design step will run (on,
    with reps), else the first of ``rebalanced``, ``designed``, ``current``
    and the study's other alignments that the study already has.

    Returns
    -------
    tuple
        The name, and the step that makes it (``"realign"``, ``"design"``) or
        ``None`` for an alignment the study already has.
    """
    has_reps = study.reps is not None
    if cfg.realign.enabled and has_reps and "current" in study.alignments:
        return "rebalanced", "realign"
    if cfg.design.enabled and has_reps:
        return "designed", "design"
    return _primary_of(study.alignments), None


def _stale_alignments(
    cfg: StudyConfig, study: Any, primary: str, made_by: str | None
) -> list[str]:
    """Warnings for the run: the study's ``designed`` / ``rebalanced``
    alignments (an earlier run's, read back from its study file) that this
    run does not make again while it makes another primary.  They are
    reported for comparison under their names, so the report must say they
    are not this run's."""
    if made_by is None:
        return []  # the run makes no alignment: the study's own are reported
    makes = {"design": "designed", "realign": "rebalanced"}
    has_reps = study.reps is not None
    runs = {
        "design": cfg.design.enabled and has_reps,
        "realign": cfg.realign.enabled and has_reps and "current" in study.alignments,
    }
    notes = []
    for step, name in makes.items():
        if name in study.alignments and not runs[step]:
            notes.append(
                f"report: the study's {name!r} alignment was given with the data "
                f"(e.g. an earlier run's study file), not made by this run (its "
                f"{step} step does not run); it is reported for comparison only, "
                f"and the forecast, the routing and the assignments use this "
                f"run's {primary!r}. Fix: rename it in the data (e.g. "
                f"alignment.rename('{name}_before')), or run the {step} step"
            )
    return notes


def _primary_of(alignments: Any) -> str:
    """The primary among a study's alignment names: the first of
    ``rebalanced``, ``designed``, ``current`` and the others it has."""
    return next(
        n for n in ("rebalanced", "designed", "current", *alignments) if n in alignments
    )


def _check_alignment_source(cfg: StudyConfig, study: Any = None) -> None:
    """Refuse a study that can have no alignment, before any step runs.

    The forecast, the routing and the report are by territory: the study
    needs today's alignment (``[data] alignment``) or a design, which needs
    reps (one territory per rep).  Without ``study`` the configuration's
    ``[data]`` files are judged, else the loaded study.
    """
    if study is None:
        if cfg.data is None:
            return
        has_current = cfg.data.alignment is not None
        has_reps = cfg.data.reps is not None
    else:
        has_current = bool(study.alignments)
        has_reps = study.reps is not None
    if has_current or (has_reps and cfg.design.enabled):
        return
    why = (
        "the design step, which would make one, is switched off ([design] "
        "enabled = false or --skip design)"
        if has_reps
        else "no reps for the design to make one from (one territory per rep)"
    )
    fix = (
        "switch the design on, or give [data] alignment"
        if has_reps
        else "give [data] alignment or reps"
    )
    raise ConfigError(
        f"{cfg.source}: the study has no alignment: [data] gives no current "
        f"alignment and there are {why}; the forecast, the routing and the report "
        f"are by territory. Fix: {fix} ([data] alignment = "
        '"alignment.csv", a table of unit_id and territory_id; [data] reps = '
        '"reps.csv")'
    )


def _output_files(cfg: StudyConfig, outdir: Path) -> dict[str, Path]:
    """The final paths of the three outputs, checked before any step runs.

    Nothing is created.  Refused: a path that is an input file of ``[data]``
    (writing the output would destroy it), a folder, a path whose folder is
    a file, and a study file path holding a GeoPackage that is no terrakit
    study file.

    Raises
    ------
    ConfigError
        Naming the ``[report]`` key, the output folder (``--out``), the
        input it would overwrite and the fix.
    """
    from terrakit.data.study import check_study_path

    rc = cfg.report
    keys = {"study": "study_file", "html": "html_file", "excel": "excel_file"}
    final = {k: outdir / getattr(rc, key) for k, key in keys.items()}
    inputs = {}
    if cfg.data is not None:
        inputs = {t: p for t in _TABLES if (p := getattr(cfg.data, t)) is not None}
    for k, path in final.items():
        key = keys[k]
        where = (
            f"{cfg.source}: [report] {key} = {path.name!r} in the output folder "
            f"{str(outdir)!r} (--out)"
        )
        fix = (
            f'Fix: set [report] {key} = "another{path.suffix}", or choose another '
            "output folder (--out)"
        )
        for table, src in inputs.items():
            if path.exists() and os.path.samefile(path, src):
                raise ConfigError(
                    f"{where} is the [data] {table} input file {str(src)!r}: "
                    f"writing the output would overwrite it. {fix}"
                )
        problem = None
        if path.is_dir():
            problem = "is a folder"
        elif path.parent.exists() and not path.parent.is_dir():
            problem = f"cannot be written: {str(path.parent)!r} is a file"
        elif k == "study":
            try:
                check_study_path(path)
            except (OSError, ValueError) as err:
                problem = f"cannot be written: {err}"
        if problem is not None:
            raise ConfigError(f"{where} {problem}. {fix}")
    return final


# -- the pipeline ----------------------------------------------------------------------
#: The note :func:`run_pipeline` adds to an error of its load step: the input
#: data (or the configuration's ``[data]`` and ``[columns]``) failed their checks
#: before any step of the study ran (``terrakit run`` exits with status 2).
LOAD_FAILED = "terrakit pipeline: the study's data failed their checks; no step ran"


#: The note :func:`run_pipeline` adds to a ``KeyboardInterrupt`` that arrived
#: after the outputs were swapped in (before it, nothing was written and a
#: previous run's files are as they were).
WRITTEN = "terrakit pipeline: the outputs were written before the interrupt"


@contextlib.contextmanager
def _interrupt_held() -> Iterator[None]:
    """Hold a Ctrl-C back until the block is done, then raise it (only in
    the main thread, where signals arrive, and when SIGINT has a Python
    handler)."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(
        previous
    ):
        yield
        return
    held: list[tuple[int, Any]] = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append((signum, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        previous(*held[0])


def _designed(result: Any) -> Any:
    """The design's alignment, named ``designed``, its provenance holding how
    good it is: ``method``, ``status``, ``objective``, ``lower_bound`` and
    ``gap`` (``None`` where not finite, e.g. no bound) for the study file,
    the report's provenance and the workbook's Provenance sheet."""
    import math

    from terrakit.data.alignment import Alignment

    def finite(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    prov = dict(result.alignment.provenance)
    prov.update(
        method=result.method,
        status=result.status,
        objective=finite(result.objective),
        lower_bound=finite(result.lower_bound),
        gap=finite(result.gap),
    )
    return Alignment(result.alignment.assignment, name="designed", provenance=prov)


#: The values of ``TERRAKIT_FAST`` understood (case-insensitive); unset or
#: empty is full mode.
_FAST_VALUES = {"1": True, "true": True, "yes": True}
_FAST_VALUES |= {"0": False, "false": False, "no": False, "": False}


def _is_fast(fast: Any) -> bool:
    """``fast``, or with ``None`` the ``TERRAKIT_FAST`` environment variable:
    ``1``/``true``/``yes`` or ``0``/``false``/``no`` (any case); another
    value is a :class:`ConfigError` (``TERRAKIT_FAST=on`` must not run the
    full mode silently).

    ``fast`` itself is a bool, or 0/1 or one of those words, read as
    ``TERRAKIT_FAST`` reads them (``bool("false")`` ran the fast mode);
    anything else is a :class:`ConfigError` naming ``fast``."""
    if fast is not None:
        import numpy as np

        if isinstance(fast, bool | np.bool_) or (
            isinstance(fast, int | np.integer) and fast in (0, 1)
        ):
            return bool(fast)
        word = fast.strip().lower() if isinstance(fast, str) else None
        value = None if word is None else _FAST_VALUES.get(word)
        if value is None:
            raise ConfigError(
                f"fast={fast!r} is not understood; it is True (or 1, 'true', "
                "'yes') for fast mode (fewer draws, shorter time limits) and "
                "False (or 0, 'false', 'no') for full mode. Fix: pass fast=True "
                "or fast=False, or fast=None to read TERRAKIT_FAST"
            )
        return value
    raw = os.environ.get("TERRAKIT_FAST", "")
    value = _FAST_VALUES.get(raw.strip().lower())
    if value is None:
        raise ConfigError(
            f"the environment variable TERRAKIT_FAST={raw!r} is not understood; "
            "it is 1, true or yes for fast mode (fewer draws, shorter time "
            "limits) and 0, false or no for full mode. Fix: set TERRAKIT_FAST=1 "
            "or TERRAKIT_FAST=0, or unset it"
        )
    return value


def _typical_territory(study: Any, alignment: Any) -> Any:
    """The territory (with a rep) whose workload is closest to the mean."""
    from terrakit import metrics

    kpis = metrics.territory_kpis(study, alignment)
    reps = study.reps
    cand = kpis[kpis.index.isin(reps.index)] if reps is not None else kpis
    if cand.empty:
        cand = kpis
    col = "workload" if kpis["workload"].notna().any() else "units"
    dist = (cand[col] - kpis[col].mean()).abs()
    return dist.idxmin()


def run_pipeline(
    study: Any = None,
    config: StudyConfig | str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] = "out",
    *,
    progress: bool = True,
    fast: bool | None = None,
) -> PipelineResult:
    """Run a territory study end to end and write its files into ``out``.

    Parameters
    ----------
    study
        The :class:`~terrakit.data.Study`; ``None`` loads it from
        ``config.data`` or, for a configuration without data (the demo's),
        loads the sample study named ``config.name``.
    config
        A :class:`StudyConfig`, the path of a ``study.toml``, or ``None`` for
        the sample study's settings (:data:`DEMO_CONFIG`).
    out
        Output folder (created when the outputs are written, after the
        last step).
    progress
        Show a progress bar over the steps and each step's time when done.
    fast
        Cap draws, iterations and time limits (:data:`FAST_LIMITS`) for a
        quick run; ``None`` reads ``TERRAKIT_FAST=1`` from the environment.

    Returns
    -------
    PipelineResult

    Raises
    ------
    ConfigError
        A bad configuration (file, section and key named), found before any
        step runs: also an output path that is a ``[data]`` input file or
        cannot be written, and a study that can have no alignment (no
        ``[data] alignment`` and no design).
    DataValidationError, SpecificationError, InfeasibleError
        From the step that failed; a note names the step and the
        configuration section to change (for the load step also
        :data:`LOAD_FAILED`).

    Notes
    -----
    Steps, in order: load, design (:func:`terrakit.design.align`, alignment
    ``designed``), realign (:func:`terrakit.realign.rebalance` of
    ``current``, alignment ``rebalanced``), sizing
    (:func:`terrakit.sizing.workload`, :class:`~terrakit.sizing.ResponseModel`
    and :func:`~terrakit.sizing.headcount_curve`), potential
    (:class:`~terrakit.potential.PotentialModel`), forecast
    (:class:`~terrakit.forecast.SalesForecaster` summed by the primary
    alignment, with :func:`~terrakit.forecast.quota`), routing
    (:func:`~terrakit.routing.plan_calls` of the territory whose workload is
    closest to the mean, or ``[routing] territory``), then the study file,
    the HTML report and the Excel workbook.  The *primary* alignment — the
    proposal the forecast, routing and assignments use — is the one this
    run makes: ``rebalanced`` when the realign step runs, else ``designed``
    when the design step runs; when neither runs, the first of
    ``rebalanced``, ``designed`` and ``current`` that the study has.  A
    ``rebalanced`` or ``designed`` alignment the study already has (e.g.
    from :meth:`~terrakit.data.Study.load` of an earlier run's study file)
    that this run does not make again is reported beside the others, never
    as the primary, and a warning says so.  Every random step uses
    ``[study] seed``.

    Examples
    --------
    >>> res = run_pipeline(config="study.toml", out="out")  # doctest: +SKIP
    >>> print(res)  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    import terrakit as tk
    from terrakit.exceptions import DataValidationError, SpecificationError

    if config is None:
        cfg = demo_config()
    elif isinstance(config, StudyConfig):
        cfg = config
    else:
        cfg = load_config(config)
    is_fast = _is_fast(fast)
    used = _used_settings(cfg, is_fast)
    seed = cfg.seed
    outdir = Path(out)
    # every check that needs no data, before any work: a clash must not cost
    # a run, and a bad configuration leaves no output folder behind
    final = _output_files(cfg, outdir)
    if study is None:
        _check_alignment_source(cfg)

    timings: dict[str, float] = {}
    written = False  # the outputs swapped in
    skipped: dict[str, str] = {}
    caught: list[str] = []
    res: dict[str, Any] = {}
    names = ["load", *STEPS, "save study", "html report", "excel"]
    bar = tqdm(total=len(names), desc="terrakit", unit="step", disable=not progress)
    try:

        def run(name: str, fn: Callable[[], Any], *, done: bool = True) -> Any:
            # done=False: a first part of the step (its time adds to the step's,
            # the progress bar moves when the step is done)
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as ws:
                warnings.simplefilter("always")
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                warnings.filterwarnings("ignore", category=FutureWarning)
                warnings.filterwarnings("ignore", message=".*BLAS.*")
                # a Ctrl-C that a sampler swallowed (PyMC's NUTS and ADVI in the
                # forecast and the response curves) stops the run here
                with interruptible(f"the {name} step"):
                    try:
                        value = fn()
                    except Exception as err:
                        section = (
                            f" (settings: [{name}] in {cfg.source})"
                            if name in STEPS
                            else ""
                        )
                        err.add_note(
                            f"terrakit pipeline: step {name!r} failed{section}"
                        )
                        if name == "load":
                            # the input data failed its checks: no step ran
                            err.add_note(LOAD_FAILED)
                        raise
            for w in ws:
                text = f"{name}: {w.category.__name__}: {w.message}"
                if text not in caught:
                    caught.append(text)
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
            if not done:
                return value
            if progress:
                bar.write(f"  {name:<12} {timings[name]:7.1f} s")
            bar.update(1)
            return value

        def skip(name: str, why: str) -> None:
            skipped[name] = why
            bar.update(1)

        # -- load
        if study is None and cfg.data is None:
            # no [data]: the settings are a sample study's (``terrakit demo``)
            study = run("load", lambda: tk.load_sample(cfg.name))
        elif study is None:
            study = run("load", lambda: load_study(cfg))
        else:
            bar.update(1)
        try:
            # the checks of the loaded study, before any step: a data error
            # found here is the input data's, as the load step's are
            _check_alignment_source(cfg, study)
            caught.extend(_check_against_study(cfg, study))
            # why the sizing step cannot fit response curves (None: it can),
            # judged before the first step: the step then sizes the workload only
            no_curves = _response_curves_missing(study)
            # the unit graph of the design and the realignment: None = from the
            # geometry
            graph = None
            if cfg.data is not None and cfg.data.snap_m is not None:
                from terrakit.data.geo import adjacency

                graph = adjacency(study.units, snap_m=cfg.data.snap_m, warn=False)
        except DataValidationError as err:
            if LOAD_FAILED not in getattr(err, "__notes__", ()):
                err.add_note(LOAD_FAILED)
            raise
        current = study.alignments.get("current")
        # the alignment the forecast, the routing and the assignments use: the
        # one this run makes, judged as the checks above judged it
        primary_name, made_by = _primary_name(cfg, study)
        caught.extend(_stale_alignments(cfg, study, primary_name, made_by))

        # -- design
        if not cfg.design.enabled:
            skip("design", "switched off")
        elif study.reps is None:
            skip("design", "the study has no reps (one territory per rep)")
        else:
            d = cfg.design
            tl = used["design", "time_limit"]

            def design() -> Any:
                r = tk.design.align(
                    study,
                    balance=dict(d.balance),
                    contiguity=d.contiguity,
                    time_limit=tl,
                    seed=seed,
                    solver=d.solver,  # type: ignore[arg-type]
                    adjacency=graph,
                )
                return r

            res["design"] = run("design", design)
            study = study.with_alignment(_designed(res["design"]))

        # -- realign
        r_cfg = cfg.realign
        if not r_cfg.enabled:
            skip("realign", "switched off")
        elif current is None:
            skip("realign", "the study has no 'current' alignment to start from")
        elif study.reps is None:
            skip("realign", "the study has no reps")
        else:
            tl = used["realign", "time_limit"]

            def realign() -> Any:
                from terrakit.realign import rebalance

                return rebalance(
                    study,
                    current,
                    balance=dict(r_cfg.balance),
                    max_moved=r_cfg.max_moved,
                    moved_measure=r_cfg.moved_measure,
                    adjacency=graph,
                    time_limit=tl,
                    seed=seed,
                )

            res["rebalance"] = run("realign", realign)
            study = study.with_alignment(
                res["rebalance"].alignment.rename("rebalanced")
            )

        # -- sizing
        s_cfg = cfg.sizing
        acc = study.accounts
        if not s_cfg.enabled:
            skip("sizing", "switched off")
        elif acc is None or not {"calls_per_year", "call_minutes"} <= set(acc.columns):
            skip("sizing", "the accounts have no calls_per_year / call_minutes")
        else:
            fit_curves = s_cfg.response_curves and no_curves is None

            def sizing() -> tuple[Any, Any]:
                wl = tk.sizing.workload(study)
                curve = None
                if fit_curves:
                    n = FAST_LIMITS["response_draws"] if is_fast else 1000
                    rc = tk.sizing.ResponseModel(
                        draws=int(n), tune=int(n), chains=2, progressbar=False
                    ).fit(study, seed=seed)
                    curve = tk.sizing.headcount_curve(
                        rc,
                        reps=range(s_cfg.min_reps, s_cfg.max_reps + 1, s_cfg.step),
                        cost_per_rep=s_cfg.cost_per_rep,
                        margin=s_cfg.margin,
                        hours_per_rep=s_cfg.hours_per_rep,
                    )
                return wl, curve

            res["workload"], res["headcount"] = run("sizing", sizing)
            if not fit_curves and s_cfg.response_curves:
                caught.append(
                    f"sizing: no response curves / headcount curve: {no_curves}"
                )

        # -- potential
        p_cfg = cfg.potential
        if not p_cfg.enabled:
            skip("potential", "switched off")
        elif p_cfg.level == "account" and acc is None:
            skip("potential", "account level needs accounts")
        else:
            it = used["potential", "iterations"]
            dr = used["potential", "draws"]
            sampler = {
                "method": p_cfg.method,
                "progressbar": False,
                "vi_iterations": it,
                "vi_draws": dr,
                "draws": dr,
                "tune": dr,
            }

            def potential() -> Any:
                # the level's columns ([potential] keys of the same names)
                model: dict[str, Any] = (
                    {
                        "account_covariates": list(p_cfg.account_covariates),
                        "segment_column": p_cfg.segment_column,
                        "industry_column": p_cfg.industry_column,
                    }
                    if p_cfg.level == "account"
                    else {
                        "unit_sales": p_cfg.unit_sales,
                        "unit_covariates": list(p_cfg.unit_covariates),
                    }
                )
                return tk.potential.PotentialModel(
                    model_config=model, sampler_config=sampler
                ).fit(study, level=p_cfg.level, seed=seed)

            res["potential"] = run("potential", potential)
            if p_cfg.level == "unit":
                units = study.units.copy()
                mean = res["potential"].to_frame()["potential_mean"]
                units["potential_model"] = mean.reindex(units.index).to_numpy(float)
                study = study.replace(units=units)

        # _check_alignment_source made sure there is one; the step that makes
        # it (made_by) ran or raised
        primary = study.alignments[primary_name]

        # -- forecast
        f_cfg = cfg.forecast
        if not f_cfg.enabled:
            skip("forecast", "switched off")
        elif study.history is None or len(study.history) == 0:
            skip("forecast", "the study has no sales history")
        else:
            draws, tune = used["forecast", "draws"], used["forecast", "tune"]

            def forecast() -> tuple[Any, Any]:
                sampler = {
                    "method": f_cfg.method,
                    "draws": draws,
                    "tune": tune,
                    "progressbar": False,
                }
                fitted = tk.forecast.SalesForecaster(sampler_config=sampler).fit(
                    study, level="unit", seed=seed
                )
                fc = fitted.predict(horizon=f_cfg.horizon)
                quotas = None
                if f_cfg.quota != "none":
                    # growth quotas take no potential (quota() refuses one)
                    pot = (
                        study.units.get("potential_model")
                        if f_cfg.quota == "share_of_potential"
                        else None
                    )
                    quotas = tk.forecast.quota(
                        fc,
                        primary,
                        method=f_cfg.quota,
                        potential=pot,
                    )
                return fc.by(primary), quotas

            res["forecast"], res["quotas"] = run("forecast", forecast)

        # -- routing
        ro = cfg.routing
        if not ro.enabled:
            skip("routing", "switched off")
        elif acc is None or study.reps is None:
            skip("routing", "routing needs accounts and reps")
        elif not {"calls_per_year", "call_minutes"} <= set(acc.columns):
            skip("routing", "the accounts have no calls_per_year / call_minutes")
        else:
            terr: Any = ro.territory
            if terr is not None:
                # the file gives text; territory ids may be numbers (rep_id = 7)
                terr = next((t for t in primary.territories if str(t) == terr), terr)
            if terr is not None and terr not in primary.territories:
                # the check before the first step judged the primary alignment
                # to come; a safety net, should the two ever disagree
                known = [str(t) for t in primary.territories]
                bad = terr

                def refuse() -> None:
                    raise SpecificationError(
                        f"{cfg.source}: [routing] territory: {bad!r} is not a "
                        f"territory of the {primary.name!r} alignment, which the "
                        f"routing plans; it has {known[:10]}"
                        f"{f' and {len(known) - 10} more' if len(known) > 10 else ''}"
                        ". Fix: give one of "
                        "those ids or leave territory out (the typical territory "
                        "is planned)"
                    )

                run("routing", refuse)
            if terr is None:
                terr = _typical_territory(study, primary)
            weeks = used["routing", "weeks"]
            tl = used["routing", "time_limit"]
            res["call_plan"] = run(
                "routing",
                lambda: tk.routing.plan_calls(
                    study,
                    primary,
                    terr,
                    weeks=weeks,
                    day_hours=ro.day_hours,
                    lunch=ro.lunch,
                    lunch_minutes=ro.lunch_minutes,
                    time_limit=tl,
                    seed=seed,
                ),
            )

        # -- outputs
        rc = cfg.report
        # The three files are written under temporary names next to their final
        # ones and swapped in only when all three are complete: a failed run
        # leaves the previous run's files as they were, never a mix of two runs.
        # The paths were checked before the first step; again now, as the files
        # may have changed while the steps ran.
        final = _output_files(cfg, outdir)
        # the folders this run creates, deepest first: removed again (when
        # empty) if the run fails or is interrupted before the swap
        made = [d for d in (outdir, *outdir.absolute().parents) if not d.exists()]
        outdir.mkdir(parents=True, exist_ok=True)
        token = f"{os.getpid()}-{time.time_ns()}"
        staged = {
            k: p.with_name(f".{p.stem}.partial-{token}{p.suffix}")
            for k, p in final.items()
        }
        order = [
            study.alignments[n]
            for n in ("current", "designed", "rebalanced")
            if n in study.alignments
        ]
        order += [a for n, a in study.alignments.items() if a not in order]
        order.remove(primary)
        order.append(primary)
        # the settings the steps used: in fast mode after the caps
        ran_with = cfg.to_dict()
        for (section, key), value in used.items():
            ran_with[section][key] = value
        report = tk.report.StudyReport(
            study,
            order,
            title=rc.title,
            measures=rc.measures,
            tolerance=rc.tolerance,
            workload=res.get("workload"),
            hours_per_rep=cfg.sizing.hours_per_rep,
            headcount=res.get("headcount"),
            potential=res.get("potential"),
            forecast=res.get("forecast"),
            quotas=res.get("quotas"),
            call_plan=res.get("call_plan"),
            provenance={
                "config": ran_with,
                "fast": is_fast,
                **({"fast_limits": dict(FAST_LIMITS)} if is_fast else {}),
                "skipped": dict(skipped),
            },
            # contiguity compared on the graph the design and realign used
            adjacency=graph,
        )
        try:
            run("save study", lambda: study.save(staged["study"]))
            # the workbook's sheets are built before the page is written, so the
            # page lists what they cannot store (control characters in a rep
            # name); the workbook is written from these sheets afterwards
            sheets = run("excel", report._excel_sheets, done=False)
            notes = {}
            if caught:
                notes["Warnings during the run"] = "; ".join(caught)
            if is_fast:
                notes["Fast mode"] = _fast_note(cfg, used, timings)
            report = dataclasses.replace(report, notes=notes)
            run("html report", lambda: report.save(staged["html"]))
            run("excel", lambda: report._write_excel(staged["excel"], sheets))
            # all three or none: a Ctrl-C is held back until they are swapped
            with _interrupt_held():
                for k, tmp in staged.items():
                    os.replace(tmp, final[k])
                written = True
        finally:
            for tmp in staged.values():
                tmp.unlink(missing_ok=True)
            if not written:
                for folder in made:
                    try:
                        folder.rmdir()
                    except OSError:
                        break
        files = dict(final)
        return PipelineResult(
            study=study,
            files=files,
            timings=timings,
            skipped=skipped,
            warnings=tuple(caught),
            config=cfg,
            fast=is_fast,
            **{
                k: res.get(k)
                for k in (
                    "design",
                    "rebalance",
                    "workload",
                    "headcount",
                    "potential",
                    "forecast",
                    "quotas",
                    "call_plan",
                )
            },
        )
    except KeyboardInterrupt as exc:
        # what ``terrakit`` says: nothing written, or the files
        if written:
            exc.add_note(f"{WRITTEN}: {', '.join(str(p) for p in final.values())}")
        raise
    finally:
        bar.close()

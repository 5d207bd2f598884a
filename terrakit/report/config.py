"""The study configuration file (``study.toml``) behind ``terrakit run``.

A consultant describes a client study once — where the files are, how their
columns map to terrakit's names, the balance criteria, the sizing economics —
and re-runs it headless with ``terrakit run study.toml``.  The file is read
with :mod:`tomllib` into a frozen, validated :class:`StudyConfig`; every
mistake is reported with the file, the ``[section]`` and key, the value seen
and the fix, before anything long starts.

Example (paths are relative to the folder of the file)::

    [study]
    name = "southeast"
    seed = 0

    [data]
    units = "units.gpkg"
    accounts = "accounts.csv"
    reps = "reps.csv"
    history = "history.parquet"
    alignment = "alignment_current.csv"
    snap_m = 500              # optional: join polygons within 500 m
    accounts_sheet = "Customers"  # optional: sheet of an Excel workbook, by
                              # name or position (0 = first); also units_,
                              # reps_, history_, alignment_sheet

    [columns.accounts]        # "name in your file" = "terrakit name"
    "Account ID" = "account_id"

    [design]
    balance = { workload = 0.30 }

    [realign]
    balance = { workload = 0.30 }
    max_moved = 0.10

    [potential]
    unit_covariates = ["population", "income"]   # units' columns (may be [])
    unit_sales = "sales"      # units' sales (default: summed from the accounts)
    # level = "account": the accounts' columns the account model reads
    account_covariates = ["employees"]           # (may be [])
    segment_column = "segment"                   # false: no segment effects
    industry_column = "industry"                 # false: no industry pooling
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terrakit.exceptions import SpecificationError

__all__ = [
    "STEPS",
    "ConfigError",
    "DataConfig",
    "DesignConfig",
    "ForecastConfig",
    "PotentialConfig",
    "RealignConfig",
    "ReportConfig",
    "RoutingConfig",
    "SizingConfig",
    "StudyConfig",
    "load_config",
]

#: The largest ``[study] seed``: the solvers' random generators take 32 bits.
MAX_SEED = 2**32 - 1

#: The optional steps of the pipeline, in the order they run.
STEPS = ("design", "realign", "sizing", "potential", "forecast", "routing")


class ConfigError(SpecificationError):
    """A study configuration file is wrong; the message names the file and key."""


def _where(source: str, section: str, key: str | None = None) -> str:
    sec = f"[{section}]" if section else "top level"
    return f"{source}: {sec}" + (f" {key}" if key is not None else "")


def _fail(source: str, section: str, key: str | None, problem: str, fix: str) -> None:
    raise ConfigError(f"{_where(source, section, key)}: {problem}. Fix: {fix}")


def _check_keys(
    raw: Mapping[str, Any], allowed: list[str], source: str, section: str
) -> None:
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key).lower(), allowed, n=1)
            _fail(
                source,
                section,
                None,
                f"unknown key {key!r}"
                + (f" (did you mean {close[0]!r}?)" if close else "")
                + f"; allowed keys are {', '.join(allowed)}",
                f"write {close[0]!r}"
                if close
                else "correct the spelling or remove the key",
            )


def _number(
    raw: Mapping[str, Any],
    key: str,
    default: float,
    source: str,
    section: str,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    strict_low: bool = False,
    strict_high: bool = False,
    name: str | None = None,
    fix: str | None = None,
) -> Any:
    """Read one numeric setting: a finite number (never a bool) within bounds.

    Every numeric setting of the file is read here.  TOML has ``nan`` and
    ``inf``, and a NaN passes any range check written as a comparison, so
    finiteness is checked first, once for all keys.  No setting takes an
    infinite value (time limits are finite seconds, see
    :func:`terrakit._runargs.check_time_limit`), so ``inf`` is refused too.

    ``name`` is the key as the messages show it (default ``key``; e.g.
    ``balance.workload`` for an entry of an inline table), ``fix`` replaces
    the generic fix of a value out of range.
    """
    label = key if name is None else name
    v = raw.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(
            source,
            section,
            label,
            f"must be a number, got {v!r} ({type(v).__name__})",
            f"write a plain number, e.g. {label} = {default}",
        )
    if isinstance(v, float) and not math.isfinite(v):
        _fail(
            source,
            section,
            label,
            f"must be a finite number, got {v!r} (TOML reads nan and inf as "
            "numbers, but no setting takes them)",
            f"write a plain number, e.g. {label} = {default}",
        )
    if integer and (not isinstance(v, int) and not float(v).is_integer()):
        _fail(
            source,
            section,
            label,
            f"must be a whole number, got {v!r}",
            f"e.g. {label} = {int(default)}",
        )
    bad_low = low is not None and (v <= low if strict_low else v < low)
    bad_high = high is not None and (v >= high if strict_high else v > high)
    if bad_low or bad_high:
        if high is None:
            rng = f"{'>' if strict_low else '>='} {low}"
        elif low is None:
            rng = f"{'<' if strict_high else '<='} {high}"
        else:
            rng = (
                f"in {'(' if strict_low else '['}{low}, "
                f"{high}{')' if strict_high else ']'}"
            )
        _fail(
            source,
            section,
            label,
            f"must be {rng}, got {v!r}",
            fix if fix is not None else f"use a value {rng}",
        )
    return int(v) if integer else float(v)


def _bool(
    raw: Mapping[str, Any], key: str, default: bool, source: str, section: str
) -> bool:
    v = raw.get(key, default)
    if not isinstance(v, bool):
        _fail(
            source,
            section,
            key,
            f"must be true or false, got {v!r}",
            f"write {key} = true or {key} = false (no quotes)",
        )
    return bool(v)


def _str(
    raw: Mapping[str, Any],
    key: str,
    default: str | None,
    source: str,
    section: str,
    choices: tuple[str, ...] | None = None,
) -> Any:
    v = raw.get(key, default)
    if v is None:
        return None
    if not isinstance(v, str):
        _fail(
            source,
            section,
            key,
            f"must be text, got {v!r}",
            f'put the value in quotes, e.g. {key} = "{default or "..."}"',
        )
    if choices is not None and v not in choices:
        _fail(
            source,
            section,
            key,
            f"must be one of {', '.join(map(repr, choices))}, got {v!r}",
            "choose one of the allowed values",
        )
    return v


def _tolerances(
    raw: Mapping[str, Any],
    key: str,
    default: Mapping[str, float],
    source: str,
    section: str,
) -> dict[str, float]:
    v = raw.get(key, default)
    if not isinstance(v, Mapping) or not v:
        _fail(
            source,
            section,
            key,
            f"must be a table of measure = tolerance, got {v!r}",
            f"e.g. {key} = {{ workload = 0.10 }} (±10 % of the mean)",
        )
    return {
        str(m): _number(
            v,
            m,
            0.10,
            source,
            section,
            low=0,
            high=1,
            strict_low=True,
            strict_high=True,
            name=f"{key}.{m}",
            fix=f"write {m} = 0.10 for a balance tolerance of ±10 % of the mean",
        )
        for m in v
    }


# -- the sections --------------------------------------------------------------------
@dataclass(frozen=True)
class DataConfig:
    """Where the study's files are and how their columns map to terrakit's.

    Attributes
    ----------
    units, accounts, reps, history, alignment
        Absolute paths (``None``: not given).  ``alignment`` is a table with
        a unit and a territory column: today's alignment, named ``current``.
    columns
        Per table, ``{"name in your file": "terrakit name"}``.
    units_layer
        Layer of a multi-layer units file (GeoPackage, or a zip's member);
        refused for a file without layers (CSV, Excel, Parquet).
    units_sheet, accounts_sheet, reps_sheet, history_sheet, alignment_sheet
        Sheet of an Excel workbook that holds the table: its name, or its
        position (``0`` = first); ``None``: the first sheet.
    crs
        CRS of unit coordinates when the file has none (e.g. ``"EPSG:4326"``).
    period_format
        ``strftime`` format of the history's period column when not ISO.
    alignment_unit_column, alignment_territory_column
        Column names of the alignment table.
    snap_m
        Units whose polygons come within this many metres are neighbours in
        the design and the realignment (``tk.data.geo.adjacency(units,
        snap_m=...)``): for polygons from different sources whose shared
        borders leave slivers.  ``None``: shared vertices only.
    """

    units: Path
    accounts: Path | None = None
    reps: Path | None = None
    history: Path | None = None
    alignment: Path | None = None
    columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    units_layer: str | None = None
    units_sheet: str | int | None = None
    accounts_sheet: str | int | None = None
    reps_sheet: str | int | None = None
    history_sheet: str | int | None = None
    alignment_sheet: str | int | None = None
    crs: str | None = None
    period_format: str | None = None
    alignment_unit_column: str = "unit_id"
    alignment_territory_column: str = "territory_id"
    snap_m: float | None = None


@dataclass(frozen=True)
class DesignConfig:
    """Greenfield design (:func:`terrakit.design.align`)."""

    enabled: bool = True
    balance: Mapping[str, float] = field(default_factory=lambda: {"workload": 0.10})
    contiguity: bool = True
    time_limit: float = 60.0
    solver: str = "auto"


@dataclass(frozen=True)
class RealignConfig:
    """Disruption-aware rebalancing of the current alignment."""

    enabled: bool = True
    balance: Mapping[str, float] = field(default_factory=lambda: {"workload": 0.10})
    max_moved: float = 0.10
    moved_measure: str = "sales"
    time_limit: float = 60.0


@dataclass(frozen=True)
class SizingConfig:
    """Workload build-up, response curves and the headcount curve."""

    enabled: bool = True
    response_curves: bool = True
    hours_per_rep: float = 1_600.0
    cost_per_rep: float = 180_000.0
    margin: float = 0.35
    min_reps: int = 10
    max_reps: int = 150
    step: int = 5


@dataclass(frozen=True)
class PotentialConfig:
    """Bayesian market potential (:class:`terrakit.potential.PotentialModel`).

    ``unit_covariates`` and ``unit_sales`` name the units' columns the
    unit-level model reads, ``account_covariates``, ``segment_column`` and
    ``industry_column`` the accounts' columns the account-level model reads
    (``None``: no segment effects / industry pooling; ``false`` in the
    file): its ``model_config`` keys of the same names, with its defaults.
    They are checked against the study before any step runs.  ``method``
    defaults to ``"laplace"`` at ``level = "unit"`` and to ``"advi"`` at
    ``level = "account"``, where ``"laplace"`` is refused.
    """

    enabled: bool = True
    level: str = "unit"
    method: str = "laplace"
    iterations: int = 20_000
    draws: int = 500
    unit_covariates: tuple[str, ...] = ("population", "income")
    unit_sales: str = "sales"
    account_covariates: tuple[str, ...] = ("employees",)
    segment_column: str | None = "segment"
    industry_column: str | None = "industry"


@dataclass(frozen=True)
class ForecastConfig:
    """Bayesian sales forecast (:class:`terrakit.forecast.SalesForecaster`).

    ``quota = "growth"`` compares each forecast month with the same month a
    year earlier, so it takes a ``horizon`` of at most
    :data:`GROWTH_HORIZON` (12) months; a longer one is refused at load.
    """

    enabled: bool = True
    horizon: int = 12
    method: str = "nutpie"
    draws: int = 250
    tune: int = 300
    quota: str = "share_of_potential"


@dataclass(frozen=True)
class RoutingConfig:
    """Call plan and daily routes of one territory."""

    enabled: bool = True
    territory: str | None = None
    weeks: int = 4
    time_limit: float = 30.0
    #: leave home no earlier than the first hour, be back by the second
    day_hours: tuple[float, float] = (8, 17)
    #: the window the lunch break is taken in (hours); ``None``: no break
    #: (``lunch = false`` in the file)
    lunch: tuple[float, float] | None = (12, 13)
    #: how long the break lasts (default: the whole window)
    lunch_minutes: float | None = None


@dataclass(frozen=True)
class ReportConfig:
    """Outputs: titles, measures, file names."""

    title: str | None = None
    measures: tuple[str, ...] = ("workload", "sales", "accounts")
    tolerance: float = 0.05
    study_file: str = "study.gpkg"
    html_file: str = "report.html"
    excel_file: str = "report.xlsx"


@dataclass(frozen=True)
class StudyConfig:
    """A whole study configuration (see the module docstring for the file).

    Build it with :func:`load_config` (from a file) or :meth:`from_dict`.
    Every field is validated; the sections are frozen dataclasses with the
    defaults shown in their definitions.
    """

    name: str
    data: DataConfig | None
    seed: int = 0
    design: DesignConfig = field(default_factory=DesignConfig)
    realign: RealignConfig = field(default_factory=RealignConfig)
    sizing: SizingConfig = field(default_factory=SizingConfig)
    potential: PotentialConfig = field(default_factory=PotentialConfig)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    source: str = "<config>"

    @classmethod
    def from_dict(
        cls,
        raw: Mapping[str, Any],
        base_dir: str | os.PathLike[str] | None = None,
        *,
        source: str = "<config>",
        require_data: bool = True,
    ) -> StudyConfig:
        """Validate a parsed configuration.

        Parameters
        ----------
        raw
            The parsed TOML (nested dicts).
        base_dir
            Folder that relative data paths are resolved against (default:
            the working directory).
        source
            Name used in error messages (the file name).
        require_data
            Whether ``[data]`` (with at least ``units``) must be present;
            ``False`` for the sample study, whose data are built in.

        Raises
        ------
        ConfigError
            Naming the file, section and key, the value seen and the fix.
        """
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        top = ["study", "data", "columns", "report", *STEPS]
        _check_keys(raw, top, source, "")
        for key in top:
            if key in raw and not isinstance(raw[key], Mapping):
                _fail(
                    source,
                    "",
                    key,
                    f"must be a [{key}] table, got {raw[key]!r}",
                    f"write the settings under a [{key}] header",
                )
        study = raw.get("study", {})
        _check_keys(study, ["name", "seed"], source, "study")
        name = _str(study, "name", "study", source, "study")
        seed = _number(
            study,
            "seed",
            0,
            source,
            "study",
            low=0,
            high=MAX_SEED,
            integer=True,
            fix=f"use a whole number from 0 to {MAX_SEED} (2**32 - 1), e.g. seed = 0; "
            "the same seed gives the same answer",
        )
        data = _data(raw, base, source, require_data)
        return cls(
            name=name,
            seed=seed,
            data=data,
            design=_design(raw.get("design", {}), source),
            realign=_realign(raw.get("realign", {}), source),
            sizing=_sizing(raw.get("sizing", {}), source),
            potential=_potential(raw.get("potential", {}), source),
            forecast=_forecast(raw.get("forecast", {}), source),
            routing=_routing(raw.get("routing", {}), source),
            report=_report(raw.get("report", {}), source),
            source=source,
        )

    def enabled_steps(self) -> tuple[str, ...]:
        """The optional steps that are switched on, in pipeline order."""
        return tuple(s for s in STEPS if getattr(self, s).enabled)

    def without(self, *steps: str) -> StudyConfig:
        """A copy with some steps switched off (``terrakit run --skip``).

        Raises
        ------
        ConfigError
            For a step name that does not exist.
        """
        changes = {}
        for s in steps:
            if s not in STEPS:
                raise ConfigError(
                    f"unknown step {s!r}; the steps are {', '.join(STEPS)}"
                )
            changes[s] = dataclasses.replace(getattr(self, s), enabled=False)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (paths as text), kept in the report's provenance."""

        def plain(v: Any) -> Any:
            if isinstance(v, Path):
                return str(v)
            if isinstance(v, Mapping):
                return {str(k): plain(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            return v

        out = {
            f.name: plain(
                dataclasses.asdict(getattr(self, f.name))
                if dataclasses.is_dataclass(getattr(self, f.name))
                else getattr(self, f.name)
            )
            for f in dataclasses.fields(self)
        }
        return out


_TABLES = ("units", "accounts", "reps", "history", "alignment")


def _data(
    raw: Mapping[str, Any], base: Path, source: str, required: bool
) -> DataConfig | None:
    data = raw.get("data")
    columns = raw.get("columns", {})
    if data is None:
        if required:
            _fail(
                source,
                "data",
                None,
                "the section is missing",
                'add a [data] section with at least units = "your_units.gpkg"',
            )
        if columns:
            _fail(
                source,
                "columns",
                None,
                "column mappings need a [data] section",
                "add [data] with your files, or remove [columns]",
            )
        return None
    allowed = [
        *_TABLES,
        "units_layer",
        *(f"{t}_sheet" for t in _TABLES),
        "crs",
        "period_format",
        "alignment_unit_column",
        "alignment_territory_column",
        "snap_m",
    ]
    _check_keys(data, allowed, source, "data")
    if "units" not in data:
        _fail(
            source,
            "data",
            "units",
            "is required (the units file: polygons or points)",
            'add units = "units.gpkg" (or .geojson, .shp, .csv with lon/lat)',
        )
    paths: dict[str, Path | None] = {}
    for t in _TABLES:
        v = _str(data, t, None, source, "data")
        if v is None:
            paths[t] = None
            continue
        p = Path(v).expanduser()
        p = p if p.is_absolute() else (base / p)
        if not p.exists():
            _fail(
                source,
                "data",
                t,
                f"no file at {str(p)!r} (given as {v!r}; relative paths are read "
                f"from the config file's folder {str(base)!r})",
                "correct the path or move the file there",
            )
        if p.is_dir():
            _fail(
                source,
                "data",
                t,
                f"{str(p)!r} is a folder, not a file (given as {v!r})",
                f"give the path of the {t} file",
            )
        paths[t] = p.resolve()
    units_path = paths["units"]
    if data.get("units_layer") is not None and units_path is not None:
        # the loader reads a layer only from the files GDAL reads (a zip: the
        # member); from any other file it would ignore the key silently
        from terrakit.data.io import _SPATIAL

        if units_path.suffix.lower() not in _SPATIAL:
            _fail(
                source,
                "data",
                "units_layer",
                f"names a layer, but the units file {units_path.name!r} has no "
                f"layers (layers are read from {', '.join(sorted(_SPATIAL))} "
                "files)",
                "remove units_layer, or give units = a GeoPackage (.gpkg) or "
                "a zip holding the layer",
            )
    for t in _TABLES:
        tp = paths[t]
        if data.get(f"{t}_sheet") is not None and (
            tp is None or tp.suffix.lower() not in (".xlsx", ".xlsm", ".xls")
        ):
            _fail(
                source,
                "data",
                f"{t}_sheet",
                f"names a sheet, but the {t} file is "
                + (f"{tp.name!r}, not an Excel workbook" if tp else "not given"),
                f"remove {t}_sheet, or give {t} = an .xlsx workbook",
            )
    _check_keys(columns, list(_TABLES), source, "columns")
    cols: dict[str, dict[str, str]] = {}
    for t, mapping in columns.items():
        if not isinstance(mapping, Mapping):
            _fail(
                source,
                f"columns.{t}",
                None,
                f"must be a table of column names, got {mapping!r}",
                f'write [columns.{t}] and lines like "Your column" = "terrakit_name"',
            )
        if paths.get(t) is None:
            _fail(
                source,
                f"columns.{t}",
                None,
                f"maps columns of the {t} file, but [data] has no {t} file",
                f"add {t} = ... under [data] or remove [columns.{t}]",
            )
        for k, v in mapping.items():
            if not isinstance(v, str):
                _fail(
                    source,
                    f"columns.{t}",
                    repr(k),
                    f"must map to a terrakit column name (text), got {v!r}",
                    f'write "{k}" = "terrakit_name"',
                )
        cols[t] = {str(k): str(v) for k, v in mapping.items()}
    _check_targets(cols, data, source)
    return DataConfig(
        units=paths["units"],  # type: ignore[arg-type]
        accounts=paths["accounts"],
        reps=paths["reps"],
        history=paths["history"],
        alignment=paths["alignment"],
        columns=cols,
        units_layer=_str(data, "units_layer", None, source, "data"),
        **{f"{t}_sheet": _sheet(data, f"{t}_sheet", source) for t in _TABLES},
        crs=_crs(data, source),
        period_format=_str(data, "period_format", None, source, "data"),
        alignment_unit_column=_str(
            data, "alignment_unit_column", "unit_id", source, "data"
        ),
        alignment_territory_column=_str(
            data, "alignment_territory_column", "territory_id", source, "data"
        ),
        snap_m=None
        if data.get("snap_m") is None
        else _number(data, "snap_m", 500, source, "data", low=0, strict_low=True),
    )


def _check_targets(
    cols: Mapping[str, Mapping[str, str]], data: Mapping[str, Any], source: str
) -> None:
    """Refuse a mapping target that looks like a misspelt terrakit name: it
    would be read as an extra column and the data under it silently unused."""
    from terrakit.data.validation import misspelt_targets

    for t, mapping in cols.items():
        known: tuple[str, ...] = ()
        if t == "alignment":
            known = tuple(
                str(data[k])
                for k in ("alignment_unit_column", "alignment_territory_column")
                if isinstance(data.get(k), str)
            )
        typos = misspelt_targets(t, mapping.values(), known)
        if typos:
            bad, close = typos[0]
            src = next(k for k, v in mapping.items() if v == bad)
            _fail(
                source,
                f"columns.{t}",
                repr(src),
                f"maps to {bad!r}, which is no column terrakit knows for the {t} "
                f"table (did you mean {close!r}?); the column would be read as an "
                "extra one and its data left unused",
                f'write "{src}" = "{close}" (or, for an extra column of your own, '
                f"a name less like {close!r})",
            )


def _sheet(data: Mapping[str, Any], key: str, source: str) -> str | int | None:
    """A ``[data] *_sheet``: a sheet's name (text) or position (a whole
    number, ``0`` = first, ``-1`` = last), as the loaders' ``sheet=``."""
    v = data.get(key)
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool) or not isinstance(v, int):
        _fail(
            source,
            "data",
            key,
            f"must be a sheet's name (text) or position (a whole number, 0 = "
            f"first), got {v!r}",
            f'write {key} = "Sheet name" or {key} = 0 (the first sheet)',
        )
    return v


def _crs(data: Mapping[str, Any], source: str) -> str | None:
    v = _str(data, "crs", None, source, "data")
    if v is not None:
        import pyproj

        try:
            pyproj.CRS.from_user_input(v)
        except pyproj.exceptions.CRSError:
            _fail(
                source,
                "data",
                "crs",
                f"{v!r} is not a coordinate reference system",
                'write an EPSG code, e.g. crs = "EPSG:4326" (lon/lat degrees)',
            )
    return v


def _design(raw: Mapping[str, Any], source: str) -> DesignConfig:
    s = "design"
    d = DesignConfig()
    _check_keys(raw, [f.name for f in dataclasses.fields(d)], source, s)
    return DesignConfig(
        enabled=_bool(raw, "enabled", d.enabled, source, s),
        balance=_tolerances(raw, "balance", d.balance, source, s),
        contiguity=_bool(raw, "contiguity", d.contiguity, source, s),
        time_limit=_number(
            raw, "time_limit", d.time_limit, source, s, low=0, strict_low=True
        ),
        solver=_str(
            raw, "solver", d.solver, source, s, choices=("auto", "mip", "heuristic")
        ),
    )


def _realign(raw: Mapping[str, Any], source: str) -> RealignConfig:
    s = "realign"
    d = RealignConfig()
    _check_keys(raw, [f.name for f in dataclasses.fields(d)], source, s)
    return RealignConfig(
        enabled=_bool(raw, "enabled", d.enabled, source, s),
        balance=_tolerances(raw, "balance", d.balance, source, s),
        max_moved=_number(
            raw, "max_moved", d.max_moved, source, s, low=0, high=1, strict_low=True
        ),
        moved_measure=_str(raw, "moved_measure", d.moved_measure, source, s),
        time_limit=_number(
            raw, "time_limit", d.time_limit, source, s, low=0, strict_low=True
        ),
    )


def _sizing(raw: Mapping[str, Any], source: str) -> SizingConfig:
    s = "sizing"
    d = SizingConfig()
    _check_keys(raw, [f.name for f in dataclasses.fields(d)], source, s)
    cfg = SizingConfig(
        enabled=_bool(raw, "enabled", d.enabled, source, s),
        response_curves=_bool(raw, "response_curves", d.response_curves, source, s),
        hours_per_rep=_number(
            raw, "hours_per_rep", d.hours_per_rep, source, s, low=0, strict_low=True
        ),
        cost_per_rep=_number(raw, "cost_per_rep", d.cost_per_rep, source, s, low=0),
        margin=_number(
            raw, "margin", d.margin, source, s, low=0, high=1, strict_low=True
        ),
        min_reps=_number(raw, "min_reps", d.min_reps, source, s, low=1, integer=True),
        max_reps=_number(raw, "max_reps", d.max_reps, source, s, low=1, integer=True),
        step=_number(raw, "step", d.step, source, s, low=1, integer=True),
    )
    if cfg.max_reps < cfg.min_reps:
        _fail(
            source,
            s,
            "max_reps",
            f"({cfg.max_reps}) is below min_reps ({cfg.min_reps})",
            "give a range of sales-force sizes with min_reps <= max_reps",
        )
    return cfg


def _potential(raw: Mapping[str, Any], source: str) -> PotentialConfig:
    s = "potential"
    d = PotentialConfig()
    _check_keys(raw, [f.name for f in dataclasses.fields(d)], source, s)
    covariates = _names(raw, "unit_covariates", d.unit_covariates, "unit", source)
    account_covariates = _names(
        raw, "account_covariates", d.account_covariates, "account", source
    )
    level = _str(raw, "level", d.level, source, s, choices=("unit", "account"))
    # the account model has no Laplace path (terrakit.potential refuses it):
    # there the default method is ADVI
    method = _str(
        raw,
        "method",
        "advi" if level == "account" else d.method,
        source,
        s,
        choices=("laplace", "advi", "nutpie", "pymc"),
    )
    if level == "account" and method == "laplace":
        _fail(
            source,
            s,
            "method",
            '"laplace" is not available with level = "account" (a Gaussian at '
            "the mode misjudges the account model's pooling scales)",
            'method = "advi" (the default at account level) or "nutpie", or '
            'level = "unit"',
        )
    return PotentialConfig(
        enabled=_bool(raw, "enabled", d.enabled, source, s),
        level=level,
        method=method,
        iterations=_number(
            raw, "iterations", d.iterations, source, s, low=1, integer=True
        ),
        draws=_number(raw, "draws", d.draws, source, s, low=1, integer=True),
        unit_covariates=covariates,
        unit_sales=_str(raw, "unit_sales", d.unit_sales, source, s),
        account_covariates=account_covariates,
        segment_column=_column_or_off(raw, "segment_column", d.segment_column, source),
        industry_column=_column_or_off(
            raw, "industry_column", d.industry_column, source
        ),
    )


def _names(
    raw: Mapping[str, Any],
    key: str,
    default: tuple[str, ...],
    table: str,
    source: str,
) -> tuple[str, ...]:
    """A ``[potential]`` list of column names (may be empty)."""
    v = raw.get(key, list(default))
    if not isinstance(v, list) or not all(isinstance(c, str) and c for c in v):
        example = ", ".join(f'"{c}"' for c in default)
        _fail(
            source,
            "potential",
            key,
            f"must be a list of {table} column names (may be empty), got {v!r}",
            f"e.g. {key} = [{example}]",
        )
    return tuple(v)


def _column_or_off(
    raw: Mapping[str, Any], key: str, default: str | None, source: str
) -> str | None:
    """A ``[potential]`` grouping column of the accounts, or ``false`` for
    none (``None``; TOML has no null)."""
    v = raw.get(key, default)
    if v is False:
        return None
    if not isinstance(v, str) or not v:
        _fail(
            source,
            "potential",
            key,
            f"must be a column name of the accounts, or false for none, got {v!r}",
            f'e.g. {key} = "{default}", or {key} = false (no quotes)',
        )
    return str(v)


#: The longest ``[forecast] horizon`` (months) a growth quota takes: it compares
#: each forecast month with the same month a year earlier, which must be history.
GROWTH_HORIZON = 12


def growth_horizon_problem(horizon: int) -> str | None:
    """Why ``[forecast] quota = "growth"`` cannot go with ``horizon``
    months (``None``: it can), in the terms of the configuration file."""
    if horizon <= GROWTH_HORIZON:
        return None
    return (
        f'is {horizon} months, but quota = "growth" compares each forecast '
        "month with the same month a year earlier, which must be history: "
        f"its last {horizon - GROWTH_HORIZON} month(s) would be compared with "
        "the forecast's own first months (the quota step would fail after the "
        f"forecast's sampling). Fix: set [forecast] horizon = {GROWTH_HORIZON} "
        '(or less) for growth quotas, or quota = "share_of_potential" (or "none")'
    )


def _forecast(raw: Mapping[str, Any], source: str) -> ForecastConfig:
    s = "forecast"
    d = ForecastConfig()
    _check_keys(raw, [f.name for f in dataclasses.fields(d)], source, s)
    horizon = _number(
        raw, "horizon", d.horizon, source, s, low=1, high=60, integer=True
    )
    quota = _str(
        raw,
        "quota",
        d.quota,
        source,
        s,
        choices=("share_of_potential", "growth", "none"),
    )
    problem = growth_horizon_problem(horizon) if quota == "growth" else None
    if problem is not None:
        raise ConfigError(f"{_where(source, s, 'horizon')}: {problem}")
    method = _str(
        raw, "method", d.method, source, s, choices=("nutpie", "pymc", "advi")
    )
    return ForecastConfig(
        enabled=_bool(raw, "enabled", d.enabled, source, s),
        horizon=horizon,
        method=method,
        draws=_number(raw, "draws", d.draws, source, s, low=1, integer=True),
        # nutpie cannot sample without tuning steps (the forecast refuses it,
        # but only when the step starts)
        tune=_number(
            raw,
            "tune",
            d.tune,
            source,
            s,
            low=1 if method == "nutpie" else 0,
            integer=True,
        ),
        quota=quota,
    )


def _routing(raw: Mapping[str, Any], source: str) -> RoutingConfig:
    s = "routing"
    d = RoutingConfig()
    _check_keys(raw, [f.name for f in dataclasses.fields(d)], source, s)
    terr = raw.get("territory")
    # a TOML bool is no id (territory = true was read as "True")
    if terr is not None and (isinstance(terr, bool) or not isinstance(terr, str | int)):
        _fail(
            source,
            s,
            "territory",
            f"must be a territory id, got {terr!r}",
            'e.g. territory = "R01"',
        )
    day = _hours(raw, "day_hours", d.day_hours, source, s)
    lunch = (
        None if raw.get("lunch") is False else _hours(raw, "lunch", d.lunch, source, s)
    )
    minutes = raw.get("lunch_minutes")
    if minutes is not None:
        if lunch is None:
            _fail(
                source,
                s,
                "lunch_minutes",
                f"is {minutes!r} but lunch = false (no lunch break)",
                "give the window the break is taken in, e.g. lunch = [12, 13], "
                "or remove lunch_minutes",
            )
        minutes = _number(raw, "lunch_minutes", 60, source, s, low=0, strict_low=True)
    if lunch is not None:
        length = 60 * (lunch[1] - lunch[0]) if minutes is None else minutes
        if not (day[0] <= lunch[0] and lunch[1] <= day[1]) or length > 60 * (
            lunch[1] - lunch[0]
        ):
            _fail(
                source,
                s,
                "lunch",
                f"the lunch break {list(lunch)} of {length:g} minutes must lie "
                f"within day_hours {list(day)} and last at most its window",
                "move the window inside day_hours, shorten lunch_minutes, or "
                "write lunch = false for no break",
            )
    return RoutingConfig(
        enabled=_bool(raw, "enabled", d.enabled, source, s),
        territory=None if terr is None else str(terr),
        weeks=_number(raw, "weeks", d.weeks, source, s, low=1, high=12, integer=True),
        time_limit=_number(
            raw, "time_limit", d.time_limit, source, s, low=0, strict_low=True
        ),
        day_hours=day,
        lunch=lunch,
        lunch_minutes=minutes,
    )


def _hours(
    raw: Mapping[str, Any],
    key: str,
    default: tuple[float, float] | None,
    source: str,
    section: str,
) -> tuple[float, float]:
    """Read a ``[start, end]`` pair of hours of the day, ``0 <= start < end <= 24``."""
    v = raw.get(key, default)
    example = f"e.g. {key} = [{', '.join(f'{h:g}' for h in (default or (8, 17)))}]"
    if (
        not isinstance(v, (list, tuple))
        or len(v) != 2
        or any(isinstance(h, bool) or not isinstance(h, (int, float)) for h in v)
    ):
        _fail(
            source,
            section,
            key,
            f"must be [start, end] in hours of the day, got {v!r}",
            f"write two numbers, {example}",
        )
    start, end = v[0], v[1]
    if not (0 <= start < end <= 24):
        _fail(
            source,
            section,
            key,
            f"must be [start, end] with 0 <= start < end <= 24, got {list(v)!r}",
            f"write the hours in order, {example}",
        )
    return start, end


def _tolerance(raw: Mapping[str, Any], default: float, source: str, s: str) -> float:
    """The report's band half-width, in (0, 1) as the report requires."""
    return float(
        _number(
            raw,
            "tolerance",
            default,
            source,
            s,
            low=0,
            high=1,
            strict_low=True,
            strict_high=True,
            fix="write tolerance = 0.05 for a ±5 % band",
        )
    )


def _report(raw: Mapping[str, Any], source: str) -> ReportConfig:
    s = "report"
    d = ReportConfig()
    _check_keys(raw, [f.name for f in dataclasses.fields(d)], source, s)
    measures = raw.get("measures", list(d.measures))
    if (
        not isinstance(measures, list)
        or not measures
        or not all(isinstance(m, str) for m in measures)
    ):
        _fail(
            source,
            s,
            "measures",
            f"must be a list of unit column names, got {measures!r}",
            'e.g. measures = ["workload", "sales", "accounts"]',
        )
    files = {}
    suffixes = {
        "study_file": (".gpkg",),
        "html_file": (".html", ".htm"),
        "excel_file": (".xlsx",),
    }
    for key, ok in suffixes.items():
        v = _str(raw, key, getattr(d, key), source, s)
        if Path(v).name != v or not v.strip():
            _fail(
                source,
                s,
                key,
                f"must be a plain file name, got {v!r}",
                "give a name without folders; the folder is terrakit run --out",
            )
        if Path(v).suffix.lower() not in ok:
            _fail(
                source,
                s,
                key,
                f"must end in {' or '.join(ok)}, got {v!r}",
                f'e.g. {key} = "{Path(v).stem or "report"}{ok[0]}"',
            )
        files[key] = v
    return ReportConfig(
        title=_str(raw, "title", None, source, s),
        measures=tuple(measures),
        tolerance=_tolerance(raw, d.tolerance, source, s),
        **files,
    )


def load_config(path: str | os.PathLike[str]) -> StudyConfig:
    """Read and validate a ``study.toml`` file.

    Parameters
    ----------
    path
        The TOML file; relative data paths in it are read from its folder.

    Returns
    -------
    StudyConfig

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    ConfigError
        When the file is not UTF-8 text (a byte-order mark is fine) or not
        valid TOML, or a key is unknown, missing or has
        a bad value (the message names the section, the key and the fix).

    Examples
    --------
    >>> cfg = load_config("data/samples/southeast/study.toml")  # doctest: +SKIP
    >>> cfg.design.balance  # doctest: +SKIP
    {'workload': 0.3}
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(
            f"no study configuration at {str(p)!r}; give the path of a study.toml "
            "(an example: data/samples/southeast/study.toml)"
        )
    data = p.read_bytes()
    try:
        # utf-8-sig: Notepad and Excel save UTF-8 with a byte-order mark
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        raise ConfigError(
            f"{p.name}: not UTF-8 text: byte {err.start} (line {line}) is "
            f"{data[err.start : err.start + 1]!r}"
            + (
                ", and the file starts like UTF-16"
                if utf16
                else " (saved as Windows-1252 / Latin-1?)"
            )
            + ". Fix: save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(
            f"{p.name}: not valid TOML ({err}). Fix: check quotes, '=' signs and "
            "[section] headers on that line"
        ) from None
    return StudyConfig.from_dict(raw, p.resolve().parent, source=p.name)

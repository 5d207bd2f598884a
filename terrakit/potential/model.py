"""Hierarchical Bayesian market-potential models (PyMC).

Two models share one result type (:class:`~terrakit.potential.PotentialResult`):

* :func:`build_account_model` — log-sales of every account on its
  firmographics with partial pooling by unit (or region) and industry, plus a
  hurdle (logistic) part for accounts that do not buy yet;
* :func:`build_unit_model` — log-sales of every unit on its demographics with
  a BYM2 spatial effect over the unit adjacency graph, plus a hurdle part for
  units without sales.

:class:`PotentialModel` merges the user's configuration over the defaults
(``DEFAULT_MODEL_CONFIG | user``), validates the study, builds the model,
samples it (:mod:`terrakit._sampling`) and returns the frozen result.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from terrakit._runargs import check_flag, check_seed, is_count
from terrakit._sampling import (
    SampleRun,
    diagnose,
    merge_sampler_config,
    sample,
)
from terrakit._versions import library_versions
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)
from terrakit.potential.spatial import SpatialGraph, bym2_graph

if TYPE_CHECKING:
    import pymc as pm

    from terrakit.data.geo import Adjacency
    from terrakit.data.study import Study
    from terrakit.potential.result import PotentialResult

__all__ = [
    "DEFAULT_MODEL_CONFIG",
    "PotentialModel",
    "build_account_model",
    "build_unit_model",
    "config_hash",
]

Level = Literal["account", "unit"]

#: Default model configuration; ``model_config`` is merged on top.
DEFAULT_MODEL_CONFIG: dict[str, Any] = {
    # potential = this quantile of the peer group's sales distribution
    "potential_quantile": 0.9,
    # account level
    "account_sales": "annual_sales",
    "account_covariates": ["employees"],
    "segment_column": "segment",
    "industry_column": "industry",
    "group_column": "unit_id",  # partial pooling of intercepts (unit or region)
    # unit level
    "unit_sales": "sales",
    "unit_covariates": ["population", "income"],
    "spatial": "bym2",  # "bym2" | "none"
    "adjacency": "queen",  # "queen" | "rook"; unused when fit gets an adjacency
    # integrate the BYM2 field out (exact, eigen-basis) up to this component
    # size; larger components sample the ICAR field (slower mixing)
    "spectral_max_units": 5000,
    # covariates enter as standardised log(x + c): c = 0 without zeros, else
    # half the smallest positive value (so the unit of a covariate is immaterial)
    "log_covariates": True,
    # priors (log-sales scale, centred on the buyers' mean log-sales)
    "prior_intercept_sd": 2.0,
    "prior_beta_sd": 1.0,
    "prior_segment_sd": 1.0,
    "prior_group_sd": 0.5,
    "prior_sigma": 1.0,
    "prior_rho": [1.0, 1.0],
    "prior_hurdle_sd": 2.5,
    # data checks
    "min_buyers": 3,
}

_ACCOUNT_PARAMS = [
    "alpha",
    "b_segment",
    "beta",
    "tau_industry",
    "z_industry",
    "tau_group",
    "z_group",
    "sigma",
    "h_alpha",
    "h_segment",
    "h_beta",
]
_UNIT_PARAMS = [
    "alpha",
    "beta",
    "sigma",
    "rho",
    "phi",
    "log_sales_missing",
    "h_alpha",
    "h_beta",
]


#: Sampler settings that change what is shown, not the posterior.
_DISPLAY_KEYS = ("progressbar",)


def config_hash(
    model_config: Mapping[str, Any],
    sampler_config: Mapping[str, Any],
    level: str,
    graph: Mapping[str, Any] | None = None,
) -> str:
    """Short, stable hash of the configuration a posterior was made with.

    Parameters
    ----------
    model_config, sampler_config
        The merged configurations; display-only sampler settings
        (``progressbar``) are left out.
    level
        ``"account"`` or ``"unit"``.
    graph
        The adjacency the BYM2 effect used (``_graph_record``): its
        ``edge_hash`` enters the hash, so that fits over different graphs
        get different hashes (and the same graph, given or built, the same).
    """
    payload: dict[str, Any] = {
        "model": dict(model_config),
        "sampler": {k: v for k, v in sampler_config.items() if k not in _DISPLAY_KEYS},
        "level": level,
    }
    if graph is not None:
        payload["graph"] = str(graph["edge_hash"])
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _graph_record(adjacency: Adjacency, source: str) -> dict[str, Any]:
    """Provenance of the adjacency a unit-level fit used (JSON-ready).

    Parameters
    ----------
    adjacency
        The graph over the model's units, in their order.
    source
        ``"built"`` (contiguity of ``study.units`` per
        ``model_config['adjacency']``) or ``"given"`` (passed to ``fit``).

    Returns
    -------
    dict
        ``source``, ``kind`` (how the graph was built, e.g. ``"queen"`` or
        ``"rook+links"``), ``n_units``, ``n_edges``, ``n_islands``,
        ``n_components`` and ``edge_hash`` (a hash of the unit ids and of
        the edges as unit-id pairs, both sorted: the row order of the units
        does not change it).
    """
    return {
        "source": source,
        "kind": adjacency.kind,
        "n_units": adjacency.n_units,
        "n_edges": adjacency.n_edges,
        "n_islands": len(adjacency.islands),
        "n_components": adjacency.n_components,
        "edge_hash": adjacency.edge_hash(),
    }


def _merge_model_config(user: Mapping[str, Any] | None) -> dict[str, Any]:
    if user is not None and not isinstance(user, Mapping):
        raise SpecificationError(
            f"model_config must be a dict of settings, got {user!r} "
            f"({type(user).__name__}). Fix: pass e.g. "
            "model_config={'potential_quantile': 0.9, 'account_covariates': "
            "['employees']}, or leave it out for the defaults"
        )
    cfg = DEFAULT_MODEL_CONFIG | dict(user or {})
    unknown = sorted(set(cfg) - set(DEFAULT_MODEL_CONFIG))
    if unknown:
        raise SpecificationError(
            f"unknown model_config keys {unknown}; known keys are "
            f"{sorted(DEFAULT_MODEL_CONFIG)}"
        )
    q = _config_number(cfg, "potential_quantile")
    if not 0.5 <= q < 1.0:
        raise SpecificationError(
            f"model_config['potential_quantile'] must be in [0.5, 1), got {q}; "
            "0.9 means 'what the best tenth of comparable accounts buy'"
        )
    for key, allowed in (("spatial", ("bym2", "none")), ("adjacency", _ADJACENCY)):
        if cfg[key] not in allowed:
            raise SpecificationError(
                f"model_config[{key!r}] must be "
                f"{' or '.join(repr(a) for a in allowed)}, got {cfg[key]!r}"
            )
    for key in ("account_covariates", "unit_covariates"):
        cov = cfg[key]
        if isinstance(cov, str):
            cov = [cov]
        if cov is not None and not isinstance(cov, Sequence):
            raise SpecificationError(
                f"model_config[{key!r}] must be a list of column names, got {cov!r}"
            )
        cfg[key] = list(cov or [])
        _check_covariate_names(key, cfg[key])
    for key in _COLUMN_KEYS:
        optional = key.endswith("_column")
        if not (isinstance(cfg[key], str) or (optional and cfg[key] is None)):
            raise SpecificationError(
                f"model_config[{key!r}] must be a column name"
                f"{' or None (no grouping)' if optional else ''}, got {cfg[key]!r}"
            )
    _check_distinct_groupings(cfg, set(dict(user or {})))
    check_flag(cfg["log_covariates"], "model_config['log_covariates']")
    for key in _PRIOR_SCALES:
        if not _positive(cfg[key]):
            raise SpecificationError(
                f"model_config[{key!r}] is a prior scale and must be > 0, got "
                f"{cfg[key]!r}; the default is {DEFAULT_MODEL_CONFIG[key]}"
            )
    for key, low in (("min_buyers", 1), ("spectral_max_units", 0)):
        v = cfg[key]
        if not is_count(v, low):
            raise SpecificationError(
                f"model_config[{key!r}] must be a whole number ≥ {low}, got {v!r}"
            )
    rho = cfg["prior_rho"]
    if (
        isinstance(rho, str)
        or not isinstance(rho, Sequence)
        or len(rho) != 2
        or not all(_positive(r) for r in rho)
    ):
        raise SpecificationError(
            f"model_config['prior_rho'] must be two positive Beta parameters, got "
            f"{cfg['prior_rho']!r}; e.g. [1.0, 1.0]"
        )
    cfg["prior_rho"] = [float(r) for r in rho]
    return cfg


def _flat_names(entries: Sequence[Any]) -> list[str]:
    """The column names in ``entries``, one level of lists or dicts opened
    (``[['a', 'b']]`` or ``[{'a': 1}]`` give ``['a', 'b']`` and ``['a']``)."""
    out: list[str] = []
    for e in entries:
        if isinstance(e, str):
            out.append(e)
        elif isinstance(e, Mapping | Sequence | set | frozenset):
            out.extend(s for s in e if isinstance(s, str))
    return list(dict.fromkeys(out))


def _check_covariate_names(key: str, names: Sequence[Any]) -> None:
    """Refuse covariate entries that are not column names.

    A nested list (``[cols]`` built from a list) or a dict passed the
    configuration and failed at fit with pandas' bare ``TypeError:
    unhashable type``.

    Raises
    ------
    SpecificationError
        Naming ``key``, the first bad entry and a flat list to use instead.
    """
    for i, name in enumerate(names):
        if isinstance(name, str):
            continue
        flat = _flat_names(names) or list(DEFAULT_MODEL_CONFIG[key])
        raise SpecificationError(
            f"model_config[{key!r}] must be a flat list of column names, but "
            f"entry {i} is {name!r} ({type(name).__name__}), not a column name. "
            f"Fix: list the columns themselves, e.g. model_config={{{key!r}: "
            f"{flat}}}"
        )


#: The grouping keys of the account model and the effect each one adds.
_GROUPINGS = {
    "segment_column": "the segment effect b_segment",
    "industry_column": "the pooled intercepts tau_industry * z_industry",
    "group_column": "the pooled intercepts tau_group * z_group",
}


def _check_distinct_groupings(cfg: Mapping[str, Any], given: set[str]) -> None:
    """Refuse one column named by two grouping keys.

    The same groups would enter the account model twice (e.g. as
    ``b_segment`` and as ``tau_group * z_group``) and only the sum of the
    two effects is identified: NUTS wandered along it (16 divergences,
    R-hat 1.07 on data where each grouping once gave none), like a
    covariate named twice.  ``given`` are the keys the user set: the fix
    switches off one the user left at its default.

    Raises
    ------
    SpecificationError
        Naming the keys, the column and the fix (set one of them to None).
    """
    by_column: dict[str, list[str]] = {}
    for key in _GROUPINGS:
        if cfg[key] is not None:
            by_column.setdefault(str(cfg[key]), []).append(key)
    for column, keys in by_column.items():
        if len(keys) < 2:
            continue
        named = " and ".join(
            f"model_config[{k!r}]" + ("" if k in given else f" ({column!r} by default)")
            for k in keys
        )
        off = next((k for k in keys if k not in given), keys[0])
        keep = next(k for k in keys if k != off)
        raise SpecificationError(
            f"{named} {'both' if len(keys) == 2 else 'all'} name the column "
            f"{column!r}: its groups would enter the model twice (as "
            + " and as ".join(_GROUPINGS[k] for k in keys)
            + "), and only the sum of these effects can be estimated, so the "
            "sampler wanders along it (divergences, poor R-hat). Fix: set one of "
            f"them to None, e.g. model_config={{{keep!r}: {column!r}, {off!r}: "
            "None}"
        )


_ADJACENCY = ("queen", "rook")
_COLUMN_KEYS = (
    "account_sales",
    "unit_sales",
    "segment_column",
    "industry_column",
    "group_column",
)
_PRIOR_SCALES = (
    "prior_intercept_sd",
    "prior_beta_sd",
    "prior_segment_sd",
    "prior_group_sd",
    "prior_sigma",
    "prior_hurdle_sd",
)


def _positive(v: Any) -> bool:
    """``v`` is a finite number > 0 (not a bool, not a string)."""
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        return False
    return bool(np.isfinite(v) and v > 0)


def _config_number(cfg: Mapping[str, Any], key: str) -> float:
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        raise SpecificationError(
            f"model_config[{key!r}] must be a number, got {v!r}; the default is "
            f"{DEFAULT_MODEL_CONFIG[key]}"
        )
    return float(v)


# -- data preparation ----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PreparedData:
    """Arrays a potential model is built from (one row per account or unit).

    Attributes
    ----------
    level
        ``"account"`` or ``"unit"``.
    ids
        Entity ids (account or unit ids).
    sales
        Observed annual sales (zeros for non-buyers).
    log_center
        Mean log-sales of the buyers; the model works on ``log(sales) -
        log_center``.
    x
        Standardised covariates, ``(n, k)``.
    covariates
        Covariate names.
    x_center, x_scale
        How ``x`` was standardised (after the log, when configured).
    x_offset
        The offset ``c`` of each covariate's ``log(x + c)`` (0 when it has
        no zeros, else half its smallest positive value; 0 without
        ``log_covariates``), so that new data can be transformed the same way.
    unit_ids
        All unit ids of the study (for aggregation).
    unit_index
        Position of every entity's unit in ``unit_ids``.
    index
        Categorical codes: ``segment``, ``industry``, ``group`` (account
        level), each with its ``levels`` in ``levels``.
    graph
        BYM2 arrays (unit level with ``spatial="bym2"``).
    graph_record
        Provenance of the adjacency behind ``graph`` (``_graph_record``),
        or ``None`` without a spatial effect.
    """

    level: str
    ids: pd.Index
    sales: np.ndarray
    log_center: float
    x: np.ndarray
    covariates: list[str]
    x_center: np.ndarray
    x_scale: np.ndarray
    x_offset: np.ndarray
    unit_ids: pd.Index
    unit_index: np.ndarray
    index: dict[str, np.ndarray] = field(default_factory=dict)
    levels: dict[str, list[Hashable]] = field(default_factory=dict)
    graph: SpatialGraph | None = None
    graph_record: dict[str, Any] | None = None

    @property
    def buyers(self) -> np.ndarray:
        return self.sales > 0

    @property
    def log_sales(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.where(
                self.sales > 0,
                np.log(np.where(self.sales > 0, self.sales, 1.0)) - self.log_center,
                np.nan,
            )


def _check_sales(
    table: str, column: str, frame: pd.DataFrame, min_buyers: int
) -> np.ndarray:
    if column not in frame.columns:
        raise DataValidationError(
            table,
            column,
            "the sales column is missing",
            fix=f"add annual sales as {column!r} or set model_config"
            f"['{'account' if table == 'accounts' else 'unit'}_sales'] to the "
            f"column that holds them (columns seen: {list(frame.columns)[:12]})",
        )
    level = "account" if table == "accounts" else "unit"
    _refuse_non_amounts(
        table,
        frame,
        column,
        role="sales",
        fix=f"set model_config['{level}_sales'] to the column that holds the "
        f"annual sales (numeric columns of the {table} table: "
        f"{_numeric_columns(frame, exclude=())[:12]})",
    )
    raw = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(raw) | (raw < 0)
    if bad.any():
        raise DataValidationError(
            table,
            column,
            f"{int(bad.sum())} sales values are missing, not numeric or negative",
            rows=list(frame.index[bad]),
            n_bad=int(bad.sum()),
            fix="fill missing sales with 0 for non-buyers and correct negative "
            "values (credit notes) before fitting",
        )
    n_buy = int((raw > 0).sum())
    if n_buy < max(int(min_buyers), 2):
        what = (
            "all sales are zero"
            if n_buy == 0
            else (f"only {n_buy} of {len(raw)} rows have positive sales")
        )
        raise DataValidationError(
            table,
            column,
            f"{what}; the potential model needs at least "
            f"{max(int(min_buyers), 2)} buyers to learn what comparable customers "
            "buy",
            fix="check that the sales column is filled (units: annual sales, not "
            "a share), or use the sample data to try the model",
        )
    buyers = raw > 0
    log_sales = np.log(raw[buyers])
    # equal values have a spread of exactly 0; allow for rounding noise only
    if np.ptp(log_sales) <= 1e-9 * max(1.0, float(np.abs(log_sales).max())):
        entity = "account" if table == "accounts" else "unit"
        raise DataValidationError(
            table,
            column,
            f"all {n_buy} {entity}s with sales have the same sales "
            f"({float(raw[buyers][0]):g}): with no spread among the buyers the "
            "scale of the potential (how far the best comparable buyers sell "
            "above the typical one) cannot be estimated",
            rows=list(frame.index[buyers]),
            n_bad=n_buy,
            fix=f"check that {column!r} holds each {entity}'s own annual sales, "
            "not a placeholder, a flat plan value or a share, and fill it from "
            "the invoices"
            + (
                " (or drop the column from the units table: the sales are then "
                "summed from the accounts)"
                if table == "units"
                else ""
            ),
        )
    return raw


def _numeric_columns(frame: pd.DataFrame, exclude: Sequence[str]) -> list[str]:
    """Names of the numeric (not True/False) columns of ``frame``, less
    ``exclude`` and the geometry."""
    return [
        str(c)
        for c in frame.columns
        if c not in exclude
        and c != getattr(frame, "_geometry_column_name", None)
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def _refuse_non_amounts(
    table: str, frame: pd.DataFrame, column: str, *, role: str, fix: str
) -> None:
    """Refuse a column whose dtype holds no amounts (dates, durations, periods,
    intervals, categories; for the sales, also True/False).

    ``pd.to_numeric`` reads dates and durations as nanoseconds (a date in
    2020 becomes ~1.6e18) and the categories of a categorical as numbers,
    so without this check such a column would be fitted silently.

    Raises
    ------
    DataValidationError
        Naming the table, the column, its dtype and ``fix``.
    """
    dtype = frame[column].dtype
    ptypes = pd.api.types
    why = ""
    if ptypes.is_datetime64_any_dtype(dtype):
        what, why = "dates", ": they would enter as nanoseconds since 1970 (~1.6e18)"
        how = (
            "e.g. years since the date: "
            "(pd.Timestamp('2025-01-01') - col).dt.days / 365.25"
        )
    elif ptypes.is_timedelta64_dtype(dtype):
        what, why = "durations", ": they would enter as nanoseconds"
        how = "e.g. col.dt.days"
    elif isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype):
        what = "periods" if isinstance(dtype, pd.PeriodDtype) else "intervals"
        how = "e.g. the number each stands for"
    elif isinstance(dtype, pd.CategoricalDtype):
        what, why = "categories", ": labels, not amounts"
        how = "col.astype(float) where the categories are amounts"
    elif role == "sales" and ptypes.is_bool_dtype(dtype):
        what, how = "True/False flags", ""
    else:
        return
    turn = f"; or turn it into numbers first ({how})" if how else ""
    raise DataValidationError(
        table,
        column,
        f"the {role} column holds {what} (dtype {dtype}), not numbers{why}",
        fix=fix + turn,
    )


def _log_offset(v: np.ndarray) -> float:
    """The ``c`` of a covariate's ``log(v + c)``: 0 when no value is 0, else
    half the smallest positive value.

    The offset scales with the values, so the unit a covariate is measured in
    (persons or millions) only shifts its log, which the standardising
    removes: ``log(1 + v)`` is ~``v`` for values below 1 and ~``log v`` above,
    so with it the model depended on the unit."""
    pos = v[v > 0]
    if not (v == 0).any():
        return 0.0
    # all zeros: any offset gives a constant column, refused by the caller
    return 0.5 * float(pos.min()) if pos.size else 1.0


def _covariates(
    table: str,
    frame: pd.DataFrame,
    names: Sequence[str],
    key: str,
    log: bool,
    outcome: str,
    buyers: np.ndarray,
    groupings: Mapping[str, str | None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardised covariate matrix, its centre, scale and log offset.

    With ``log``, covariate ``v`` enters as ``log(v + c)`` with ``c`` from
    :func:`_log_offset` (0 without zeros), then standardised: the result does
    not depend on the unit of ``v``.  ``outcome`` is the sales column the
    model explains: it cannot be one of its own covariates, and no covariate
    may be named twice.  Columns of dates, durations or categories are
    refused (:func:`_refuse_non_amounts`), text (:func:`_refuse_text`, with
    ``groupings`` the account model's grouping keys and columns) and missing
    values too.  A covariate with a single value is refused, in all
    rows or among the ``buyers`` (the rows with sales): the sales part of the
    model sees only the buyers, so the effect of a covariate that is the same
    for all of them comes from its prior alone, and it would move the
    potential of the rows without sales by ``exp(beta * their difference)``
    (8x the prospects' potential on a flag that was 1 for every customer).
    """
    n = len(frame)
    if not names:
        return np.zeros((n, 0)), np.zeros(0), np.ones(0), np.zeros(0)
    allowed = _numeric_columns(frame, exclude=(outcome,))
    twice = sorted({str(c) for c in names if list(names).count(c) > 1})
    if twice:
        raise SpecificationError(
            f"model_config[{key!r}] names {twice} more than once: a covariate "
            "entered twice has no separate effect (the two coefficients only "
            f"share one). Fix: list each once, e.g. {list(dict.fromkeys(names))}; "
            f"numeric columns of the {table} table: {allowed[:20]}"
        )
    if outcome in names:
        raise SpecificationError(
            f"model_config[{key!r}] includes {outcome!r}, the sales column the "
            "model explains: with the outcome as its own covariate the model "
            "predicts the sales from themselves, so the potential of the buyers "
            "collapses onto their own sales and those without sales get no "
            f"potential of their own. Fix: leave {outcome!r} out, e.g. "
            f"{[c for c in names if c != outcome]}; numeric columns of the "
            f"{table} table: {allowed[:20]}"
        )
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise DataValidationError(
            table,
            missing[0],
            f"covariate column(s) {missing} are missing",
            fix=f"add them to the {table} table, or leave them out with "
            f"model_config={{'{key}': {[c for c in names if c not in missing]}}} "
            f"(columns seen: {list(frame.columns)[:12]})",
        )
    cols, offsets = [], []
    for c in names:
        _refuse_non_amounts(
            table,
            frame,
            c,
            role="covariate",
            fix=f"leave {c!r} out of model_config['{key}'] (numeric columns of "
            f"the {table} table: {allowed[:20]})",
        )
        _refuse_text(table, frame, c, names, key, groupings or {})
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        for bad, what in ((np.isnan(v), "missing (NaN)"), (np.isinf(v), "infinite")):
            if bad.any():
                raise DataValidationError(
                    table,
                    c,
                    f"{int(bad.sum())} covariate values are {what}",
                    rows=list(frame.index[bad]),
                    n_bad=int(bad.sum()),
                    fix="impute them (e.g. the segment median) or drop the "
                    f"covariate from model_config['{key}']",
                )
        offset = 0.0
        if log:
            neg = v < 0
            if neg.any():
                raise DataValidationError(
                    table,
                    c,
                    f"{int(neg.sum())} values are negative, but the "
                    "covariate enters on the log scale",
                    rows=list(frame.index[neg]),
                    n_bad=int(neg.sum()),
                    fix="correct them or set model_config['log_covariates']=False",
                )
            offset = _log_offset(v)
            v = np.log(v + offset)
        cols.append(v)
        offsets.append(offset)
    x = np.column_stack(cols)
    center = x.mean(axis=0)
    scale = x.std(axis=0)
    flat = _flat(x)
    if flat.any():
        const = [c for c, f in zip(names, flat, strict=True) if f]
        first = pd.to_numeric(frame[const[0]], errors="coerce").iloc[0]
        raise SpecificationError(
            f"covariate(s) {const} of the {table} table take a single value "
            f"({const[0]!r} is {float(first):g} in all {n} rows), so "
            f"their effect cannot be estimated; drop them from "
            f"model_config['{key}']"
        )
    _refuse_constant_among_buyers(table, frame, names, key, x, buyers)
    return (x - center) / scale, center, scale, np.asarray(offsets, dtype=float)


def _refuse_text(
    table: str,
    frame: pd.DataFrame,
    column: str,
    names: Sequence[str],
    key: str,
    groupings: Mapping[str, str | None],
) -> None:
    """Refuse a covariate that holds text, with a fix that fits the text.

    Numbers written with thousands separators or a decimal comma
    (``'1,200'``) get the loaders' hint (as in
    :func:`terrakit.data.validation._check_numeric`), a column of labels
    (no value a number) the advice to use it as a grouping (account level,
    ``groupings``: the grouping keys and their columns) or to encode it;
    blank text counts as missing (refused by the caller).

    Raises
    ------
    DataValidationError
        Naming the table, the column, the rows, an example value and the fix.
    """
    from terrakit.data.validation import _decimal_comma_hint

    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return
    conv = pd.to_numeric(raw, errors="coerce")
    blank = raw.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
    text = (conv.isna() & raw.notna() & ~blank).to_numpy()
    if not text.any():
        return
    n = int(text.sum())
    example = raw[text].iloc[0]
    rest = [c for c in names if c != column]
    leave_out = f"leave {column!r} out: model_config={{{key!r}: {rest}}}"
    hint = _decimal_comma_hint(raw[text])
    if hint:
        problem = f"{n} covariate values are not numbers (e.g. {example!r})"
        fix = f"{hint}; or {leave_out}"
    elif conv.notna().any():
        problem = f"{n} covariate values are not numbers (e.g. {example!r})"
        fix = (
            "remove text such as units or thousands separators from the "
            f"column; or {leave_out}"
        )
    else:
        problem = (
            f"the covariate holds labels, not amounts: none of its {len(raw)} "
            f"values is a number (e.g. {example!r})"
        )
        used = [k for k, col in groupings.items() if col == column]
        if used:
            fix = (
                f"it already enters the model as a grouping "
                f"(model_config[{used[0]!r}]), so {leave_out}"
            )
        elif groupings:
            fix = (
                f"use it as a grouping instead, e.g. model_config="
                f"{{'industry_column': {column!r}, {key!r}: {rest}}} (partially "
                "pooled levels; 'segment_column' gives each its own level and "
                "spread), or encode it as numbers (a 0/1 column per label)"
            )
        else:
            fix = f"encode it as numbers (a 0/1 column per label), or {leave_out}"
    raise DataValidationError(
        table,
        column,
        problem,
        rows=list(frame.index[text]),
        n_bad=n,
        fix=fix,
    )


def _flat(x: np.ndarray) -> np.ndarray:
    """Which columns of ``x`` take a single value (their std is rounding
    noise, ~1e-16 × their value, not 0)."""
    center, scale = x.mean(axis=0), x.std(axis=0)
    return np.asarray(~(scale > 1e-9 * np.maximum(1.0, np.abs(center))))


def _refuse_constant_among_buyers(
    table: str,
    frame: pd.DataFrame,
    names: Sequence[str],
    key: str,
    x: np.ndarray,
    buyers: np.ndarray,
) -> None:
    """Refuse covariates that take a single value among the rows with sales.

    Raises
    ------
    SpecificationError
        Naming the covariates, the single value of the first among the buyers
        and the fix (drop them).
    """
    const = [c for c, f in zip(names, _flat(x[buyers]), strict=True) if f]
    if not const:
        return
    entity = "account" if table == "accounts" else "unit"
    first = pd.to_numeric(frame[const[0]], errors="coerce")[buyers].iloc[0]
    n_buy, n_other = int(buyers.sum()), int((~buyers).sum())
    raise SpecificationError(
        f"covariate(s) {const} of the {table} table take a single value among "
        f"the {entity}s with sales ({const[0]!r} is {float(first):g} for all "
        f"{n_buy} of them; other values occur only among the {n_other} without "
        "sales): "
        "the sales part of the model sees only the buyers, so their effect on "
        "the sales cannot be estimated (it would be the prior's alone) and "
        "would move the potential of those without sales by an arbitrary "
        "factor. A column that marks who buys (a contract, a customer-since "
        f"date) describes the buyers, not their size. Fix: drop them from "
        f"model_config['{key}']"
    )


def _codes(
    table: str, frame: pd.DataFrame, column: str | None, key: str
) -> tuple[np.ndarray, list[Hashable]]:
    if column is None:
        return np.zeros(len(frame), dtype=np.int64), ["all"]
    if column not in frame.columns:
        raise DataValidationError(
            table,
            column,
            "the grouping column is missing",
            fix=f"add it, or switch the grouping off with model_config={{'{key}': "
            "None}",
        )
    vals = frame[column]
    if vals.isna().any():
        bad = vals.isna().to_numpy()
        raise DataValidationError(
            table,
            column,
            f"{int(bad.sum())} rows have no {column}",
            rows=list(frame.index[bad]),
            n_bad=int(bad.sum()),
            fix=f"fill them (e.g. with 'unknown') or switch the grouping off with "
            f"model_config={{'{key}': None}}",
        )
    # a categorical column keeps the categories no row has (accounts filtered
    # to one industry): as levels they got sampled effects without data
    cat = pd.Categorical(vals).remove_unused_categories()
    return np.asarray(cat.codes, dtype=np.int64), list(cat.categories)


def _unit_join_fix(accounts: pd.DataFrame) -> str:
    """How to give ``accounts`` the unit_id of the study's units (a fix text)."""
    how = (
        "study = study.replace(accounts=tk.data.io.join_to_units("
        "study.accounts, study.units))"
    )
    if {"lon", "lat"} <= set(accounts.columns):
        return (
            "join the accounts to the unit their lon/lat lie in: "
            f"{how} (or read them with tk.data.read_accounts(path, "
            "units=study.units))"
        )
    return (
        "give the accounts a unit_id column holding ids of study.units, or "
        f"lon/lat columns and join them with {how}"
    )


def _check_study(study: Any, level: str) -> None:
    """Refuse anything but a :class:`~terrakit.data.Study` (e.g. its units or
    accounts table), naming the fix; it failed with a bare AttributeError."""
    from terrakit.data.validation import require_study

    require_study(
        study,
        table="accounts" if level == "account" else "units",
        tables="units or accounts",
        fix=f"pass the Study, e.g. fit(study, level={level!r}), or wrap the "
        "tables in one: tk.Study(units, accounts=accounts)",
    )


def prepare_account_data(study: Study, cfg: Mapping[str, Any]) -> PreparedData:
    """Validate the accounts of ``study`` and turn them into model arrays.

    Raises
    ------
    DataValidationError
        ``study`` is not a :class:`~terrakit.data.Study` (e.g. its accounts
        table); no accounts, missing or bad sales / covariates / grouping
        columns (dates, durations or categories as sales or covariates; text
        in a covariate, with an example and the fix that fits it)
        (no ``unit_id`` with ``group_column="unit_id"``: with how to join the
        accounts to the units), fewer than ``min_buyers`` buyers.
    SpecificationError
        A constant covariate, in all rows or among the buyers (the sales
        part of the model sees only them).

    Warns
    -----
    TerrakitWarning
        When a segment has fewer than 2 buyers: its effect then comes mostly
        from the prior (shrunk to the overall mean) and its interval is wide;
        when no account lies in a unit of the study (no unit totals).
    """
    _check_study(study, "account")
    acc = study.accounts
    if acc is None or len(acc) == 0:
        raise DataValidationError(
            "accounts",
            None,
            "the study has no accounts",
            fix="load accounts into the study, or fit level='unit'",
        )
    sales = _check_sales("accounts", cfg["account_sales"], acc, cfg["min_buyers"])
    x, xc, xs, xo = _covariates(
        "accounts",
        acc,
        cfg["account_covariates"],
        "account_covariates",
        bool(cfg["log_covariates"]),
        cfg["account_sales"],
        sales > 0,
        {k: cfg[k] for k in _GROUPINGS},
    )
    seg, seg_lv = _codes("accounts", acc, cfg["segment_column"], "segment_column")
    ind, ind_lv = _codes("accounts", acc, cfg["industry_column"], "industry_column")
    if cfg["group_column"] == "unit_id" and "unit_id" not in acc.columns:
        raise DataValidationError(
            "accounts",
            "unit_id",
            "the accounts have no unit_id column, so they can neither be pooled "
            "by unit (model_config['group_column'] is 'unit_id') nor summed "
            "into unit potentials",
            fix=_unit_join_fix(acc)
            + "; model_config={'group_column': None} fits without the unit "
            "pooling, but gives account potentials only (no unit totals)",
        )
    grp, grp_lv = _codes("accounts", acc, cfg["group_column"], "group_column")
    buy = sales > 0
    n_seg = np.bincount(seg, minlength=len(seg_lv))
    b_seg = np.bincount(seg[buy], minlength=len(seg_lv))
    small = [
        (lv, int(n), int(b))
        for lv, n, b in zip(seg_lv, n_seg, b_seg, strict=True)
        if b < 2
    ]
    if small:
        shown = ", ".join(f"{lv!r}: {n} accounts, {b} buyers" for lv, n, b in small)
        warnings.warn(
            f"{len(small)} segment(s) have fewer than 2 buyers ({shown}); their "
            "effect is estimated mostly from the prior (shrunk toward the overall "
            "mean), so their potentials carry wide intervals. Merge small "
            "segments or set model_config={'segment_column': None} to pool them",
            TerrakitWarning,
            stacklevel=3,
        )
    unit_ids = pd.Index(study.units.index, name="unit_id")
    if "unit_id" in acc.columns:
        upos = unit_ids.get_indexer(acc["unit_id"].to_numpy())
    else:
        upos = np.full(len(acc), -1, dtype=np.int64)
    if len(upos) and (upos < 0).all():
        # checked before sampling: unit totals of this fit would fail later
        why = (
            "have no unit_id column"
            if "unit_id" not in acc.columns
            else "have unit_ids that are not units of the study (e.g. "
            f"{list(acc['unit_id'].iloc[:3])}, units e.g. {list(unit_ids[:3])})"
        )
        warnings.warn(
            f"none of the {len(acc)} accounts lies in a unit of the study: they "
            f"{why}. The fit gives account potentials only; unit totals "
            "(result.draws('unit'), result.to_frame('unit')) will fail. Fix: "
            + _unit_join_fix(acc),
            TerrakitWarning,
            stacklevel=3,
        )
    log_center = float(np.log(sales[buy]).mean())
    return PreparedData(
        level="account",
        ids=pd.Index(acc.index, name="account_id"),
        sales=sales,
        log_center=log_center,
        x=x,
        covariates=list(cfg["account_covariates"]),
        x_center=xc,
        x_scale=xs,
        x_offset=xo,
        unit_ids=unit_ids,
        unit_index=upos.astype(np.int64),
        index={"segment": seg, "industry": ind, "group": grp},
        levels={"segment": seg_lv, "industry": ind_lv, "group": grp_lv},
    )


def prepare_unit_data(
    study: Study,
    cfg: Mapping[str, Any],
    adjacency: Adjacency | None = None,
    *,
    spectrum: bool = True,
) -> PreparedData:
    """Validate the units of ``study`` and turn them into model arrays.

    Sales come from ``units[unit_sales]``, or where the units table lacks
    them, are summed from the accounts' ``annual_sales`` (as
    :meth:`~terrakit.data.Study.unit_measures` does; other measures, such as
    the workload, are derived only when they are covariates).  With
    ``spatial="bym2"`` the adjacency (queen/rook, or the one given) is
    turned into BYM2 arrays; islands get no structured effect.
    ``spectrum=False`` skips the eigen-decomposition of the graph Laplacian
    (:func:`~terrakit.potential.spatial.bym2_graph`), which only the MCMC
    paths use.

    Raises
    ------
    DataValidationError
        ``study`` is not a :class:`~terrakit.data.Study` (e.g. its units
        table); missing or bad sales/covariates (dates, durations,
        categories or text among them), fewer than ``min_buyers`` units with
        sales, buyers that all have the same sales, or an adjacency over other
        units.
    SpecificationError
        ``adjacency`` is not a :class:`~terrakit.data.geo.Adjacency`; a
        constant covariate, in all rows or among the units with sales.

    Warns
    -----
    TerrakitWarning
        When the adjacency leaves units without neighbours (islands): they get
        no spatial smoothing; when it has no edges at all, the BYM2 model has
        no spatial part.  :attr:`PreparedData.graph_record` holds the graph's
        counts either way.  When no more units have sales than the sales
        model has coefficients (intercept + covariates): ``sigma`` then comes
        from its prior alone.
    """
    adjacency = _check_adjacency(adjacency, "unit")
    _check_study(study, "unit")
    col = cfg["unit_sales"]
    units = _units_with_sales(study, col, cfg["unit_covariates"])
    sales = _check_sales("units", col, units, cfg["min_buyers"])
    x, xc, xs, xo = _covariates(
        "units",
        units,
        cfg["unit_covariates"],
        "unit_covariates",
        bool(cfg["log_covariates"]),
        col,
        sales > 0,
    )
    _warn_few_buyers(col, sales, list(cfg["unit_covariates"]))
    ids = pd.Index(units.index, name="unit_id")
    graph = None
    record = None
    if cfg["spatial"] != "bym2" and adjacency is not None:
        warnings.warn(
            "the adjacency passed to the unit model is not used: "
            "model_config['spatial'] is 'none', so the model has no spatial "
            "effect. Leave adjacency out, or set model_config={'spatial': 'bym2'}",
            TerrakitWarning,
            stacklevel=3,
        )
    if cfg["spatial"] == "bym2":
        source = "given"
        if adjacency is None:
            from terrakit.data.geo import adjacency as build_adjacency

            # islands are reported below, in the terms of the model
            adjacency = build_adjacency(units, kind=cfg["adjacency"], warn=False)
            source = "built"
        _check_adjacency_ids(adjacency, ids)
        sub = adjacency.subgraph(ids)
        graph = bym2_graph(
            sub,
            spectral_max_units=int(cfg["spectral_max_units"]),
            spectrum=spectrum,
        )
        record = _graph_record(sub, source)
        _warn_islands(sub, record)
    buy = sales > 0
    return PreparedData(
        level="unit",
        ids=ids,
        sales=sales,
        log_center=float(np.log(sales[buy]).mean()),
        x=x,
        covariates=list(cfg["unit_covariates"]),
        x_center=xc,
        x_scale=xs,
        x_offset=xo,
        unit_ids=ids,
        unit_index=np.arange(len(ids), dtype=np.int64),
        graph=graph,
        graph_record=record,
    )


def _units_with_sales(
    study: Study, column: str, covariates: Sequence[str]
) -> pd.DataFrame:
    """The units table, with the measures summed from the accounts that the
    unit model reads where the units table lacks its sales ``column``.

    Added, as :meth:`~terrakit.data.Study.unit_measures` derives them:
    ``sales`` (Σ ``annual_sales``, checked for missing values), the
    ``accounts`` count and, only when it is one of the ``covariates``,
    ``workload``.  The workload was derived (and its ``calls_per_year``
    checked) for every fit: prospects without a call plan yet refused a
    model that never reads the workload.
    """
    from terrakit.data.study import _refuse_missing_inputs

    units = study.units
    acc = study.accounts
    if column in units.columns or acc is None or "unit_id" not in acc.columns:
        return units
    if "workload" in covariates and "workload" not in units.columns:
        return study.unit_measures()  # the workload is read: its inputs checked
    units = units.copy()
    g = acc.groupby("unit_id", sort=False)
    if "accounts" not in units.columns:
        units["accounts"] = g.size().reindex(units.index, fill_value=0).astype(np.int64)
    if "sales" not in units.columns and "annual_sales" in acc.columns:
        _refuse_missing_inputs(acc, "annual_sales", "sales")
        units["sales"] = g["annual_sales"].sum().reindex(units.index, fill_value=0.0)
    return units


def _check_adjacency_ids(adjacency: Adjacency, ids: pd.Index) -> None:
    """Refuse an adjacency that lacks units of the study.

    Ids that are the units' ids in another type (``'1'`` for ``1``, e.g. an
    edge list read from a CSV as text) are named as such with the conversion
    that fixes them, ids that lost (or gained) leading zeros as that.

    Raises
    ------
    DataValidationError
        Naming the units that are not nodes of the adjacency.
    """
    from terrakit.data.validation import _id_kind, _leading_zeros

    missing = ids[adjacency.ids.get_indexer(ids) < 0]
    if not len(missing):
        return
    n = len(missing)
    build = (
        "build the adjacency on study.units (terrakit.data.geo.adjacency(study.units))"
    )
    problem = f"{n} units are not nodes of the adjacency"
    fix = build
    as_text = {str(v): v for v in adjacency.ids}
    typed = [u for u in missing if str(u) in as_text]
    if typed:
        unit = typed[0]
        node = as_text[str(unit)]
        unit = unit.item() if isinstance(unit, np.generic) else unit
        node = node.item() if isinstance(node, np.generic) else node
        node_kind, unit_kind = (
            k + "s" if k == "number" else k for k in (_id_kind(node), _id_kind(unit))
        )
        if isinstance(unit, str):
            to = "str"
        elif isinstance(unit, int):
            to = "'int64'"
        else:
            to = "'float64'"
        share = "they" if len(typed) == n else f"{len(typed)} of them"
        problem += (
            f": {share} differ from a node only in type, the adjacency's ids are "
            f"{node_kind} (e.g. {node!r}) where the study's unit ids are "
            f"{unit_kind} (e.g. {unit!r}), and {node!r} is not {unit!r}"
        )
        fix = (
            "convert the adjacency's ids to the type of the unit ids: adj = "
            f"Adjacency(adj.ids.astype({to}), adj.matrix, kind=adj.kind); or " + build
        )
    else:
        zeros, zero_fix = _leading_zeros(
            list(missing), adjacency.ids, table="units", ref="adjacency"
        )
        if zeros:
            problem += zeros
            fix = f"{zero_fix}; or {build}"
    raise DataValidationError(
        "units", "unit_id", problem, rows=list(missing), n_bad=n, fix=fix
    )


def _check_adjacency(adjacency: Any, level: str) -> Adjacency | None:
    """``adjacency`` if it is an :class:`~terrakit.data.geo.Adjacency` (or None).

    Raises
    ------
    SpecificationError
        Any other type (with how to turn it into an ``Adjacency``), or an
        adjacency for the account-level model, which has no spatial effect.
    """
    from terrakit.data.geo import Adjacency

    if adjacency is None:
        return None
    if level == "account":
        raise SpecificationError(
            "adjacency is used by the unit-level BYM2 model only; the account "
            "model has no spatial effect (it pools by "
            "model_config['group_column']). Fit level='unit', or leave "
            "adjacency out"
        )
    if isinstance(adjacency, Adjacency):
        return adjacency
    import scipy.sparse as sp

    kind = type(adjacency)
    name = f"{kind.__module__}.{kind.__qualname__}"
    if sp.issparse(adjacency) or isinstance(adjacency, np.ndarray):
        how = (
            "wrap the matrix as Adjacency(study.units.index, matrix), rows and "
            "columns in the order of the units (any non-zero entry is an edge)"
        )
    elif isinstance(adjacency, pd.DataFrame):
        how = (
            "build it from the edge list: Adjacency(study.units.index, "
            "scipy.sparse.csr_array((n, n))).with_links(zip(edges['unit_id'], "
            "edges['neighbor_id']))"
        )
    elif hasattr(adjacency, "unique_ids") and hasattr(adjacency, "sparse"):
        how = (
            "convert the libpysal Graph: Adjacency(graph.unique_ids, "
            "graph.sparse), with graph.unique_ids equal to the unit ids"
        )
    elif isinstance(adjacency, Mapping):
        how = (
            "build it from the neighbour lists: Adjacency(study.units.index, "
            "scipy.sparse.csr_array((n, n))).with_links((i, j) for i, js in "
            "neighbors.items() for j in js)"
        )
    else:
        how = "build it with tk.data.geo.adjacency(study.units)"
    raise SpecificationError(
        f"adjacency must be a terrakit.data.geo.Adjacency, got {name}; "
        f"{how}. tk.data.geo.adjacency(study.units, kind='queen' or 'rook', "
        "snap_m=...) builds the contiguity graph of the units"
    )


def _check_method(level: str, method: str) -> None:
    """Refuse ``method="laplace"`` for the account-level model.

    The account model is hierarchical (non-centred ``tau * z`` effects by
    group and industry).  A single Gaussian at the joint posterior mode
    (:func:`terrakit._sampling.laplace_approximation`) misjudges the
    pooling scales there: the mode of such a model sits where the scales are
    far from their posterior bulk.  The unit-level ``"laplace"`` integrates
    its hyperparameters on a grid (:mod:`terrakit.potential.approx`) and is
    calibrated; the account level has no such path.

    Raises
    ------
    SpecificationError
        ``level="account"`` with ``method="laplace"``.
    """
    if level == "account" and method == "laplace":
        raise SpecificationError(
            "sampler_config['method']='laplace' is not available at "
            "level='account': one Gaussian at the joint mode of the account "
            "model misjudges its pooling scales (tau_group, tau_industry); on a "
            "simulation with group effects of sd 0.30 it put tau_group at 2.0 and "
            "gave prospects in units without buyers about 6x their true "
            "potential. Fix: sampler_config={'method': 'advi'} (fast) or "
            "{'method': 'nutpie'} (full MCMC), or level='unit' with 'laplace' "
            "(its hyperparameters are integrated on a grid)"
        )


def _warn_few_buyers(column: str, sales: np.ndarray, covariates: list[str]) -> None:
    """Warn when the units with sales are no more than the sales coefficients.

    The regression of the log-sales (intercept + covariates) then fits the
    buyers exactly: the data hold no information on the residual scale
    ``sigma``, which its prior alone sets.
    """
    n_buy, n_coef = int((sales > 0).sum()), 1 + len(covariates)
    if n_buy > n_coef:
        return
    warnings.warn(
        f"units[{column!r}]: only {n_buy} of {len(sales)} units have sales, no "
        f"more than the {n_coef} coefficients of the sales model (intercept + "
        f"{len(covariates)} covariates {covariates}): the regression fits their "
        "sales exactly, so the sales scale sigma comes from its prior "
        "(model_config['prior_sigma']) alone and the potentials carry wide "
        "intervals. Fix: add units with sales, or use fewer covariates "
        "(model_config['unit_covariates'])",
        TerrakitWarning,
        stacklevel=4,
    )


def _warn_islands(adj: Adjacency, record: Mapping[str, Any]) -> None:
    """Warn when units of the BYM2 graph have no neighbour."""
    n, n_isl = int(record["n_units"]), int(record["n_islands"])
    if not n_isl:
        return
    what = (
        f"the given adjacency ({record['kind']})"
        if record["source"] == "given"
        else f"the {record['kind']} adjacency of the units"
    )
    fix = (
        "If neighbouring polygons leave slivers or gaps between them, build the "
        "graph with tk.data.geo.adjacency(study.units, snap_m=...) (e.g. "
        "snap_m=50 metres) and pass it as adjacency=...; link real islands by "
        "hand with adjacency.with_links([(island, mainland_unit), ...])"
    )
    if record["n_edges"] == 0:
        warnings.warn(
            f"{what} has no edges: all {n} units are islands, so the BYM2 "
            "model has NO spatial part and fits as with model_config="
            f"{{'spatial': 'none'}} (no spatial smoothing at all). {fix}, or set "
            "model_config={'spatial': 'none'} to fit without a spatial effect "
            "on purpose",
            TerrakitWarning,
            stacklevel=4,
        )
        return
    isl = adj.islands
    shown = ", ".join(repr(i) for i in isl[:5])
    more = f" and {n_isl - 5} more" if n_isl > 5 else ""
    warnings.warn(
        f"{n_isl} of {n} units have no neighbour in {what} (islands): "
        f"{shown}{more}; they get no spatial smoothing (their potential comes "
        f"from their covariates only). {fix}",
        TerrakitWarning,
        stacklevel=4,
    )


# -- models -------------------------------------------------------------------------
def _account_model(data: PreparedData, cfg: Mapping[str, Any]) -> pm.Model:
    import pymc as pm

    buy = data.buyers
    seg, ind, grp = (data.index[k] for k in ("segment", "industry", "group"))
    coords = {
        "account": data.ids.to_numpy(),
        "buyer": data.ids[buy].to_numpy(),
        "segment": np.asarray(data.levels["segment"], dtype=object),
        "industry": np.asarray(data.levels["industry"], dtype=object),
        "group": np.asarray(data.levels["group"], dtype=object),
        "covariate": np.asarray(data.covariates, dtype=object),
    }
    n_seg = len(data.levels["segment"])
    with pm.Model(coords=coords) as model:
        x = pm.Data("x", data.x, dims=("account", "covariate"))
        alpha = pm.Normal("alpha", 0.0, cfg["prior_intercept_sd"])
        if n_seg > 1:
            b_seg = pm.ZeroSumNormal(
                "b_segment", sigma=cfg["prior_segment_sd"], dims="segment"
            )
        else:
            b_seg = pm.Deterministic("b_segment", pm.math.zeros(1), dims="segment")
        beta = pm.Normal("beta", 0.0, cfg["prior_beta_sd"], dims="covariate")
        tau_i, z_i = _pooled_intercepts("industry", len(data.levels["industry"]), cfg)
        tau_g, z_g = _pooled_intercepts("group", len(data.levels["group"]), cfg)
        sigma = pm.HalfNormal("sigma", cfg["prior_sigma"], dims="segment")
        mu = (
            alpha
            + b_seg[seg]
            + pm.math.dot(x, beta)
            + tau_i * z_i[ind]
            + tau_g * z_g[grp]
        )
        pm.Normal(
            "log_sales",
            mu=mu[buy],
            sigma=sigma[seg[buy]],
            observed=data.log_sales[buy],
            dims="buyer",
        )
        # hurdle: who buys at all
        h_alpha = pm.Normal("h_alpha", 0.0, cfg["prior_hurdle_sd"])
        if n_seg > 1:
            h_seg = pm.ZeroSumNormal(
                "h_segment", sigma=cfg["prior_segment_sd"], dims="segment"
            )
        else:
            h_seg = pm.Deterministic("h_segment", pm.math.zeros(1), dims="segment")
        h_beta = pm.Normal("h_beta", 0.0, cfg["prior_beta_sd"], dims="covariate")
        pm.Bernoulli(
            "buys",
            logit_p=h_alpha + h_seg[seg] + pm.math.dot(x, h_beta),
            observed=buy.astype(np.int8),
            dims="account",
        )
    return model


def _pooled_intercepts(
    dim: str, n_levels: int, cfg: Mapping[str, Any]
) -> tuple[Any, Any]:
    """``tau_<dim>`` and ``z_<dim>`` of the partially pooled intercepts by
    ``dim`` (``"industry"`` or ``"group"``), inside the account model.

    With one level (the grouping switched off with ``None``, or a column with
    a single value) the effect ``tau * z[0]`` would only duplicate the
    intercept ``alpha``: NUTS on that non-identified funnel diverged and
    failed R-hat even on data simulated from the model.  Both are then
    constant zeros (``Deterministic``, like ``b_segment`` with one segment),
    so results keep the same variables and the diagnostics skip them.
    """
    import pymc as pm

    if n_levels > 1:
        tau = pm.HalfNormal(f"tau_{dim}", cfg["prior_group_sd"])
        z = pm.Normal(f"z_{dim}", 0.0, 1.0, dims=dim)
    else:
        tau = pm.Deterministic(f"tau_{dim}", pm.math.constant(0.0))
        z = pm.Deterministic(f"z_{dim}", pm.math.zeros(1), dims=dim)
    return tau, z


def _unit_model(data: PreparedData, cfg: Mapping[str, Any]) -> pm.Model:
    g = data.graph
    if g is not None and g.n_struct and g.spectrum is not None:
        return _unit_model_spectral(data, cfg)
    return _unit_model_sampled_field(data, cfg)


def _unit_hurdle(data: PreparedData, cfg: Mapping[str, Any], x: Any) -> None:
    import pymc as pm

    h_alpha = pm.Normal("h_alpha", 0.0, cfg["prior_hurdle_sd"])
    h_beta = pm.Normal("h_beta", 0.0, cfg["prior_beta_sd"], dims="covariate")
    pm.Bernoulli(
        "buys",
        logit_p=h_alpha + pm.math.dot(x, h_beta),
        observed=data.buyers.astype(np.int8),
        dims="unit",
    )


def _unit_model_spectral(data: PreparedData, cfg: Mapping[str, Any]) -> pm.Model:
    """BYM2 with the spatial field integrated out in the Laplacian eigen-basis.

    The log-sales of units without sales are latent parameters
    (``log_sales_missing``).
    """
    import pymc as pm
    import pytensor.tensor as pt

    g = data.graph
    assert g is not None and g.spectrum is not None
    spec = g.spectrum
    buy = data.buyers
    miss = np.flatnonzero(~buy)
    y0 = np.where(buy, np.nan_to_num(data.log_sales), 0.0)
    coords: dict[str, Any] = {
        "unit": data.ids.to_numpy(),
        "mode": np.arange(spec.n),
        "non_buyer": data.ids[miss].to_numpy(),
        "covariate": np.asarray(data.covariates, dtype=object),
    }
    # everything the likelihood needs, rotated once: V'y, V'1, V'X, V'E_miss
    y_rot = spec.rotate(y0)
    one_rot = spec.rotate(np.ones(len(y0)))
    x_rot = spec.rotate(data.x) if data.x.shape[1] else np.zeros((spec.n, 0))
    with pm.Model(coords=coords) as model:
        x = pm.Data("x", data.x, dims=("unit", "covariate"))
        alpha = pm.Normal("alpha", 0.0, cfg["prior_intercept_sd"])
        beta = pm.Normal("beta", 0.0, cfg["prior_beta_sd"], dims="covariate")
        sigma = pm.HalfNormal("sigma", cfg["prior_sigma"])
        a, b = cfg["prior_rho"]
        rho = pm.Beta("rho", a, b)
        mu_rot = alpha * one_rot + pt.dot(x_rot, beta)
        var = sigma**2 * ((1.0 - rho) + rho * spec.weight)
        if len(miss):
            # log-sales of units without sales: latent, imputed by the model
            y_miss = pm.Flat("log_sales_missing", dims="non_buyer")
            mu_rot = mu_rot - pt.dot(_missing_rotation(spec, miss), y_miss)
        pm.Normal(
            "log_sales",
            mu=mu_rot,
            sigma=pt.sqrt(var),
            observed=y_rot,
            dims="mode",
        )
        _unit_hurdle(data, cfg, x)
    return model


def _missing_rotation(spec: Any, miss: np.ndarray) -> np.ndarray:
    """``Vᵀ E`` with ``E`` the unit vectors of the units without sales."""
    e_miss = np.zeros((spec.n, len(miss)))
    e_miss[miss, np.arange(len(miss))] = 1.0
    return np.asarray(spec.rotate(e_miss))


def _spectral_draws(data: PreparedData, idata: Any) -> tuple[Any, Any, Any, tuple]:
    """Graph, spectrum, posterior and stacked ``alpha, beta, sigma, rho`` draws."""
    g = data.graph
    assert g is not None and g.spectrum is not None
    post = idata.posterior
    alpha = _stacked(post, "alpha")
    beta = _stacked(post, "beta").reshape(len(alpha), data.x.shape[1])
    return (
        g,
        g.spectrum,
        post,
        (alpha, beta, _stacked(post, "sigma"), _stacked(post, "rho")),
    )


def _unit_model_sampled_field(data: PreparedData, cfg: Mapping[str, Any]) -> pm.Model:
    """BYM2 with the ICAR field sampled (large components, or no spatial part)."""
    import pymc as pm
    import pytensor.tensor as pt

    buy = data.buyers
    g = data.graph
    coords: dict[str, Any] = {
        "unit": data.ids.to_numpy(),
        "buyer": data.ids[buy].to_numpy(),
        "covariate": np.asarray(data.covariates, dtype=object),
    }
    if g is not None and g.n_struct:
        coords["spatial_unit"] = data.ids[g.struct_index].to_numpy()
    with pm.Model(coords=coords) as model:
        x = pm.Data("x", data.x, dims=("unit", "covariate"))
        alpha = pm.Normal("alpha", 0.0, cfg["prior_intercept_sd"])
        beta = pm.Normal("beta", 0.0, cfg["prior_beta_sd"], dims="covariate")
        sigma = pm.HalfNormal("sigma", cfg["prior_sigma"])
        mu = alpha + pm.math.dot(x, beta)
        sd: Any = sigma * pt.ones(len(data.ids))
        if g is not None and g.n_struct:
            a, b = cfg["prior_rho"]
            rho = pm.Beta("rho", a, b)
            phi = pm.Flat("phi", dims="spatial_unit")
            # ICAR(1) density: pairwise differences + soft sum-to-zero per component
            diff = phi[g.node1] - phi[g.node2]
            comp_sum = pt.inc_subtensor(
                pt.zeros(g.n_struct_components)[g.struct_component], phi
            )
            comp_n = np.bincount(g.struct_component).astype(float)
            pm.Potential(
                "icar",
                -0.5 * pt.sum(diff**2)
                - 0.5 * pt.sum((comp_sum / (0.001 * comp_n)) ** 2),
            )
            effect = sigma * pt.sqrt(rho) * phi / np.sqrt(g.scale)
            mu = pt.inc_subtensor(mu[g.struct_index], effect)
            noise = pt.where(g.island, sigma, sigma * pt.sqrt(1.0 - rho))
            sd = noise
        pm.Normal(
            "log_sales",
            mu=mu[buy],
            sigma=sd[buy],
            observed=data.log_sales[buy],
            dims="buyer",
        )
        _unit_hurdle(data, cfg, x)
    return model


def _stacked(post: Any, name: str) -> np.ndarray:
    """``(sample, ...)`` draws of a posterior variable (chains concatenated).

    The sample count is explicit: ``-1`` cannot be inferred for a variable
    with an empty dimension (``beta`` of a model without covariates)."""
    arr = post[name].transpose("chain", "draw", ...).to_numpy()
    return arr.reshape((arr.shape[0] * arr.shape[1], *arr.shape[2:]))


def draw_spatial_field(
    idata: Any, data: PreparedData, seed: int, *, batch: int = 500
) -> Any:
    r"""Draws of the ICAR field ``phi`` given each posterior draw (spectral BYM2).

    The spectral model integrates the field out; this puts it back: for each
    posterior draw of :math:`(\alpha, \beta, \sigma, \rho)` and the imputed
    log-sales it draws :math:`\phi` from its exact Gaussian conditional, so
    the pairs are draws from the joint posterior.  In the eigen-basis, with
    residual :math:`\tilde r_k` of mode :math:`k` and weight :math:`w_k`
    (:class:`~terrakit.potential.spatial.IcarSpectrum`), the scaled structured
    effect :math:`u = \text{effect}/(\sigma\sqrt\rho)` is independent per
    mode:

    .. math::

        \tilde u_k \mid \cdot \sim \mathcal N\left(
            \frac{\sqrt\rho\, w_k}{\rho w_k + 1 - \rho}\,
            \frac{\tilde r_k}{\sigma},\;
            \frac{w_k (1 - \rho)}{\rho w_k + 1 - \rho}\right)

    (zero for constant modes and islands) and
    :math:`\phi = \sqrt{s}\, V \tilde u` on the structured units.

    Returns
    -------
    xarray.DataArray
        ``(chain, draw, spatial_unit)``.
    """
    import xarray as xr

    g, spec, post, (alpha, beta, sigma, rho) = _spectral_draws(data, idata)
    n_chain, n_draw = int(post.sizes["chain"]), int(post.sizes["draw"])
    buy = data.buyers
    y = np.where(buy, np.nan_to_num(data.log_sales), 0.0)
    ys = np.repeat(y[:, None], len(alpha), axis=1)  # (unit, sample)
    if (~buy).any():
        ys[~buy] = _stacked(post, "log_sales_missing").T
    resid = ys - alpha[None, :] - data.x @ beta.T
    w = spec.weight[:, None]
    rng = np.random.default_rng([int(seed), 7919])
    phi = np.empty((len(alpha), g.n_struct))
    for lo in range(0, len(alpha), batch):
        sl = slice(lo, lo + batch)
        r, sd_, ro = spec.rotate(resid[:, sl]), sigma[None, sl], rho[None, sl]
        den = ro * w + (1.0 - ro)
        mean = np.sqrt(ro) * w / den * r / sd_
        sdev = np.sqrt(w * (1.0 - ro) / den)
        u = np.where(spec.structured[:, None], mean, 0.0)
        u = u + sdev * rng.standard_normal(u.shape) * spec.structured[:, None]
        phi[sl] = (spec.unrotate(u)[g.struct_index] * np.sqrt(g.scale)[:, None]).T
    return xr.DataArray(
        phi.reshape(n_chain, n_draw, g.n_struct),
        dims=("chain", "draw", "spatial_unit"),
        coords={
            "chain": post["chain"].to_numpy(),
            "draw": post["draw"].to_numpy(),
            "spatial_unit": data.ids[g.struct_index].to_numpy(),
        },
        name="phi",
    )


def build_account_model(
    study: Study, model_config: Mapping[str, Any] | None = None
) -> pm.Model:
    """The account-level potential model of ``study`` as a ``pymc.Model``.

    Parameters
    ----------
    study
        A study with accounts.
    model_config
        Overrides of :data:`DEFAULT_MODEL_CONFIG`.

    Returns
    -------
    pymc.Model

    Notes
    -----
    For account :math:`a` with segment :math:`s`, industry :math:`j`, group
    (unit or region) :math:`g` and standardised covariates :math:`x_a`, and
    :math:`y_a` its annual sales centred on the buyers' mean log-sales
    :math:`c`:

    .. math::

        \\mu_a &= \\alpha + b_s + x_a^\\top\\beta + \\tau_I z_j + \\tau_G z_g \\\\
        \\log y_a - c \\mid y_a > 0 &\\sim \\mathcal N(\\mu_a, \\sigma_s) \\\\
        \\Pr(y_a > 0) &= \\operatorname{logit}^{-1}(\\gamma_0 + h_s +
            x_a^\\top\\gamma)

    with :math:`b, h` zero-sum over segments, :math:`z \\sim \\mathcal N(0, 1)`
    (partial pooling, non-centred), half-normal :math:`\\tau, \\sigma`.  A
    grouping with a single level (switched off with ``None``, or a column
    with one value) has no effect of its own: its :math:`\\tau` and
    :math:`z` (and, with one segment, :math:`b` and :math:`h`) are constant
    zeros, as :math:`\\alpha` already holds the common level.
    """
    cfg = _merge_model_config(model_config)
    return _account_model(prepare_account_data(study, cfg), cfg)


def build_unit_model(
    study: Study,
    model_config: Mapping[str, Any] | None = None,
    adjacency: Adjacency | None = None,
) -> pm.Model:
    """The unit-level potential model of ``study`` as a ``pymc.Model``.

    Parameters
    ----------
    study
        A study whose units carry sales (or accounts to sum them from) and
        the covariates of ``model_config['unit_covariates']``.
    model_config
        Overrides of :data:`DEFAULT_MODEL_CONFIG`.
    adjacency
        Neighbour graph to use instead of the queen/rook contiguity (e.g. with
        ferry links added by :meth:`~terrakit.data.geo.Adjacency.with_links`).

    Returns
    -------
    pymc.Model

    Notes
    -----
    BYM2 (Riebler et al. 2016) with the unstructured part folded into the
    Gaussian likelihood of the log-sales.  For unit :math:`i`:

    .. math::

        \\log y_i - c \\mid y_i > 0 \\sim \\mathcal N\\left(\\alpha +
            x_i^\\top\\beta + \\sigma\\sqrt{\\rho}\\,\\phi_i/\\sqrt{s_{k(i)}},\\;
            \\sigma\\sqrt{1-\\rho}\\right)

    where :math:`\\phi` is an ICAR(1) field
    (:math:`-\\tfrac12\\sum_{i\\sim j}(\\phi_i-\\phi_j)^2`) with a soft
    sum-to-zero constraint on every connected component :math:`k` and
    :math:`s_k` the component's scaling factor
    (:func:`~terrakit.potential.spatial.icar_scaling_factor`), so that
    :math:`\\sigma^2` is the total variance and :math:`\\rho` its spatial
    share.  Islands (units without neighbours) have no :math:`\\phi`; their
    log-sales are :math:`\\mathcal N(\\alpha + x_i^\\top\\beta, \\sigma)`
    (Freni-Sterrantino et al. 2018).  A logistic hurdle
    :math:`\\Pr(y_i>0)=\\operatorname{logit}^{-1}(\\gamma_0+x_i^\\top\\gamma)`
    covers units without sales.

    **How it is sampled.**  Sampling :math:`\\phi` directly mixes badly: the
    ICAR precision is ill-conditioned (its smallest non-zero eigenvalue is
    ~1e-3 on a 3,000-unit map, its largest ~10), so NUTS with a diagonal mass
    matrix crawls along the smooth modes (R-hat 1.13, bulk ESS 13 at 500
    draws on the benchmark).  When every connected component has at most
    ``spectral_max_units`` units (default 5,000), the field is instead
    integrated out exactly: with the Laplacian eigen-decomposition
    :math:`Q_k = V \\Lambda V^\\top` per component
    (:class:`~terrakit.potential.spatial.IcarSpectrum`), the rotated
    log-sales residuals :math:`V^\\top(\\log y - c - \\alpha - X\\beta)` are
    independent with variances
    :math:`\\sigma^2(1 - \\rho + \\rho/(s_k\\lambda_j))` (:math:`\\sigma^2(1-\\rho)`
    for the constant mode, i.e. the sum-to-zero constraint, and
    :math:`\\sigma^2` for islands).  Units without sales get latent
    log-sales (``log_sales_missing``) so the rotation stays exact.  NUTS then
    samples a handful of well-conditioned parameters, and :math:`\\phi` is
    drawn afterwards from its exact Gaussian conditional
    (:func:`draw_spatial_field`), so the posterior still holds ``phi``.
    Larger components fall back to sampling :math:`\\phi` with the pairwise
    ICAR density and a soft sum-to-zero constraint.
    """
    cfg = _merge_model_config(model_config)
    return _unit_model(prepare_unit_data(study, cfg, adjacency), cfg)


# -- the model class -------------------------------------------------------------------
class PotentialModel:
    """Bayesian market potential per account or per unit.

    Parameters
    ----------
    model_config
        Overrides of :data:`DEFAULT_MODEL_CONFIG` (merged as
        ``DEFAULT_MODEL_CONFIG | model_config``).
    sampler_config
        Overrides of :data:`terrakit._sampling.DEFAULT_SAMPLER_CONFIG`:
        ``method`` ``"nutpie"`` (default), ``"pymc"``, ``"advi"`` or
        ``"laplace"`` (fast approximations for interactive use), ``draws``,
        ``tune``, ``chains``, ``progressbar`` ...  At ``level="unit"``,
        ``"laplace"`` is the sparse nested Laplace approximation of
        :func:`terrakit.potential.approx.sample_unit_posterior` (seconds on
        3,000 units, no compilation; ``vi_draws`` draws).  At
        ``level="account"`` ``"laplace"`` is refused (a Gaussian at the mode
        misjudges the hierarchical pooling scales): use ``"advi"`` for a
        fast fit.

    Notes
    -----
    **What "potential" means.**  For an account (or unit) with linear
    predictor :math:`\\mu` and residual scale :math:`\\sigma` (see
    :func:`build_account_model` and :func:`build_unit_model`), its *peer
    group* is every account with the same firmographics, industry and unit
    (every unit with the same demographics and neighbourhood).  The
    potential is the sales level that the best :math:`1-q` of that peer
    group reach — the :math:`q`-quantile of the peer group's sales
    distribution, for every posterior draw:

    .. math::

        \\text{potential}^{(d)} = \\exp\\left(c + \\mu^{(d)} +
            \\Phi^{-1}(q)\\,\\sigma^{(d)}\\right),
        \\qquad q = \\texttt{potential\\_quantile} = 0.9

    so its posterior (draws :math:`d`) carries the parameter uncertainty.
    Prospects (no sales yet) get a potential from their firmographics in the
    same way — the sales they would reach as a well-served customer — and
    the hurdle part gives the probability ``p_buy`` that such an account
    buys at all.  ``whitespace = potential − sales`` and
    ``penetration = sales / potential`` use the posterior mean.

    Examples
    --------
    >>> import terrakit as tk  # doctest: +SKIP
    >>> study = tk.datasets.synthetic_region(300, seed=1)  # doctest: +SKIP
    >>> res = PotentialModel(sampler_config={"progressbar": False}).fit(
    ...     study, level="unit", seed=0)  # doctest: +SKIP
    >>> res.to_frame().columns[:4].tolist()  # doctest: +SKIP
    ['potential_mean', 'potential_q05', 'potential_q50', 'potential_q95']
    """

    def __init__(
        self,
        model_config: Mapping[str, Any] | None = None,
        sampler_config: Mapping[str, Any] | None = None,
    ) -> None:
        # checked now, so that a typo fails before any data is read
        _merge_model_config(model_config)
        merge_sampler_config(sampler_config)
        self.model_config = dict(model_config or {})
        self.sampler_config = dict(sampler_config or {})

    def build_model(
        self, study: Study, level: Level = "account", adjacency: Adjacency | None = None
    ) -> pm.Model:
        """The ``pymc.Model`` that :meth:`fit` would sample."""
        if level == "account":
            _check_adjacency(adjacency, level)
            return build_account_model(study, self.model_config)
        if level == "unit":
            return build_unit_model(study, self.model_config, adjacency)
        raise SpecificationError(f"level must be 'account' or 'unit', got {level!r}")

    def fit(
        self,
        study: Study,
        level: Level = "account",
        seed: int = 0,
        *,
        adjacency: Adjacency | None = None,
    ) -> PotentialResult:
        """Sample the posterior and return the potentials.

        Parameters
        ----------
        study
            The study (accounts for ``level="account"``, unit sales and
            demographics for ``level="unit"``).
        level
            ``"account"`` or ``"unit"``.
        seed
            Seed of the sampler; equal seeds give identical results.
        adjacency
            Unit level only: the neighbour graph, a
            :class:`~terrakit.data.geo.Adjacency` (default: the
            ``model_config['adjacency']`` contiguity of ``study.units``).
            The graph used is recorded in ``idata.attrs['adjacency']``
            (:attr:`PotentialResult.adjacency`) and in the config hash.

        Returns
        -------
        PotentialResult

        Raises
        ------
        DataValidationError
            ``study`` is not a :class:`~terrakit.data.Study` (e.g. its units
            table: wrap it, ``tk.Study(units, accounts=accounts)``); bad or
            missing data (see :func:`prepare_account_data`,
            :func:`prepare_unit_data`).
        SpecificationError
            Bad configuration (also covariate entries that are not column
            names, or one column named by two of ``segment_column``,
            ``industry_column`` and ``group_column``; both refused already by
            the constructor), a constant covariate (see
            :func:`prepare_account_data`), an ``adjacency`` that is not an
            ``Adjacency``,
            or one given for ``level="account"``; ``method="laplace"`` with
            ``level="account"`` (use ``"advi"`` or ``"nutpie"``); an ADVI run
            whose approximation became NaN (``vi_learning_rate`` too large).

        Warns
        -----
        ConvergenceWarning
            When R-hat, ESS or divergences are poor (MCMC methods); with
            ``method="advi"``, when the approximation had not converged by
            the last of the ``vi_iterations`` (still drifting, or jumping
            about with too large a ``vi_learning_rate``; see
            :func:`terrakit._sampling.advi_convergence`).  The check is
            recorded in ``idata.attrs["advi_check"]``
            (:attr:`PotentialResult.advi_check`) and in
            :meth:`PotentialResult.diagnostics`.
        TerrakitWarning
            When the adjacency leaves units without neighbours (they get no
            spatial smoothing) or has no edges at all (no spatial part); when
            no more units have sales than the unit model has coefficients.
        """
        from terrakit import __version__
        from terrakit.potential.result import PotentialResult, _constant_data

        mcfg = _merge_model_config(self.model_config)
        scfg = merge_sampler_config(self.sampler_config)
        seed = check_seed(seed)
        adjacency = _check_adjacency(adjacency, level)
        _check_method(level, scfg["method"])
        # unit level, method "laplace": sparse nested Laplace (no PyMC model)
        fast = level == "unit" and scfg["method"] == "laplace"
        model = None
        if level == "account":
            data = prepare_account_data(study, mcfg)
            model = _account_model(data, mcfg)
            params = _ACCOUNT_PARAMS
        elif level == "unit":
            data = prepare_unit_data(study, mcfg, adjacency, spectrum=not fast)
            model = None if fast else _unit_model(data, mcfg)
            params = _UNIT_PARAMS
        else:
            raise SpecificationError(
                f"level must be 'account' or 'unit', got {level!r}"
            )
        t0 = time.perf_counter()
        if model is None:
            from terrakit.potential.approx import sample_unit_posterior

            idata, t_setup, t_draw = sample_unit_posterior(
                data, mcfg, int(scfg["vi_draws"]), seed
            )
            run = SampleRun(idata, "laplace", t_setup, t_draw)
        else:
            run = sample(model, scfg, seed, var_names=params)
        idata = run.idata
        g = data.graph
        if (
            not fast
            and level == "unit"
            and g is not None
            and g.n_struct
            and g.spectrum is not None
        ):
            idata.posterior["phi"] = draw_spatial_field(idata, data, seed)
        for grp in ("observed_data", "constant_data", "log_likelihood"):
            if grp in idata.groups():
                delattr(idata, grp)
        idata.add_groups({"constant_data": _constant_data(data)})
        record = data.graph_record
        if record is not None:
            # which graph the BYM2 effect used (not only model_config's
            # 'adjacency', which a given graph overrides)
            idata.attrs["adjacency"] = json.dumps(record, sort_keys=True)
        idata.attrs.update(
            {
                "level": level,
                "model_config": json.dumps(mcfg, sort_keys=True, default=str),
                "sampler_config": json.dumps(scfg, sort_keys=True, default=str),
                "terrakit_version": __version__,
                # numpy, pandas, pymc, pytensor, nutpie, arviz...: JSON text,
                # as netCDF attributes hold no dicts
                "versions": json.dumps(library_versions(), sort_keys=True),
                "config_hash": config_hash(mcfg, scfg, level, record),
                "seed": int(seed),
                "method": run.method,
                "log_center": float(data.log_center),
            }
        )
        diag = diagnose(
            idata,
            params,
            method=run.method,
            rhat_max=float(scfg["rhat_max"]),
            ess_min=float(scfg["ess_min"]),
            warn=True,
            stacklevel=3,
            advi_check=run.advi_check,
        )
        return PotentialResult(
            idata=idata,
            level=level,
            diagnostics_=diag,
            compile_seconds=run.compile_seconds,
            sample_seconds=run.sample_seconds,
            fit_seconds=time.perf_counter() - t0,
        )

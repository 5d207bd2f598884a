"""Territory metrics: KPIs, balance, compactness, contiguity and disruption.

Pure functions.  Each takes either a :class:`~terrakit.data.Study` (then the
alignment may also be given by name) or explicit tables: a units
GeoDataFrame plus ``accounts=``, ``reps=``, ``history=`` keywords where they
are needed.  The alignment must cover exactly the units of the table;
otherwise :class:`~terrakit.exceptions.DataValidationError` names the ids.
Tables given as keywords override the study's (the figures derived from
accounts included) and are checked as the Study checks its own: unique ids,
accounts joined to units by ``unit_id``, numeric columns.
:func:`balance_on_draws` measures the balance across draws of an activity
(e.g. posterior draws of potential) instead of its one value per unit.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> from terrakit.data.alignment import Alignment
>>> units = gpd.GeoDataFrame(
...     {"workload": [10.0, 20.0, 30.0]},
...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
...     index=pd.Index(["a", "b", "c"], name="unit_id"), crs="EPSG:4326")
>>> al = Alignment.from_mapping({"a": "T1", "b": "T1", "c": "T2"})
>>> b = balance(units, al)  # totals T1 = 30, T2 = 30
>>> b.loc["workload", ["mean", "max_rel_dev", "gini"]].tolist()
[30.0, 0.0, 0.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from terrakit._runargs import (
    as_number,
    did_you_mean,
    is_tolerance,
    percent_as_fraction,
)
from terrakit.data.alignment import Alignment, _sorted_territories
from terrakit.data.geo import Adjacency, lonlat, projected_crs, require_adjacency
from terrakit.data.geo import adjacency as build_adjacency
from terrakit.data.validation import (
    _check_numeric,
    check_geometries,
    check_unique_ids,
    draws_by_unit,
    first_few,
    rep_of_territories,
    repair_polygons,
    require_columns,
)
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)

__all__ = [
    "balance",
    "balance_on_draws",
    "balance_table",
    "compactness",
    "contiguity",
    "disruption",
    "gini",
    "is_contiguous",
    "territory_kpis",
]

_GEOD = pyproj.Geod(ellps="WGS84")

AlignmentLike: TypeAlias = Alignment | Mapping[Hashable, Hashable] | pd.Series | str


# -- input handling ------------------------------------------------------------
@dataclass(frozen=True)
class _Tables:
    units: gpd.GeoDataFrame  # with account aggregates where derivable
    accounts: pd.DataFrame | None
    reps: pd.DataFrame | None
    history: pd.DataFrame | None


def _is_study(obj: Any) -> bool:
    return not isinstance(obj, pd.DataFrame) and hasattr(obj, "units")


def _units_of(obj: Any, fix: str = "pass study or study.units") -> gpd.GeoDataFrame:
    """The units table of a Study, or ``obj`` itself when it is a units
    GeoDataFrame; anything else is refused (``fix``: what to pass)."""
    if _is_study(obj):
        units: gpd.GeoDataFrame = obj.units
        return units
    if not isinstance(obj, gpd.GeoDataFrame):
        raise DataValidationError(
            "units",
            None,
            f"expected a Study or a units GeoDataFrame, got {type(obj).__name__}",
            fix=fix,
        )
    return obj


def _tables(
    obj: Any,
    accounts: pd.DataFrame | None = None,
    reps: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
) -> _Tables:
    """The tables a metric works on; those given override the study's.

    Given accounts also override the study's in the figures summed per unit
    (``accounts``, ``workload``, ``sales`` where the units lack them), so
    that every figure of a metric comes from the same accounts.  Given
    tables are checked as the Study checks its own at the door (unique ids,
    accounts joined to units).
    """
    if not _is_study(obj):
        _units_of(
            obj, "pass study or study.units (with accounts=..., reps=... as needed)"
        )
        _check_not_empty(obj.index)
        _check_unit_ids(obj.index)
    if accounts is not None:
        _check_given_accounts(accounts)
    if reps is not None:
        check_unique_ids(reps, "reps", str(reps.index.name or "rep_id"))
    if _is_study(obj):
        if accounts is not None:  # the given accounts, not the study's
            units = _unit_measures(obj.units, accounts)
        elif hasattr(obj, "unit_measures"):
            units = obj.unit_measures()
        else:
            units = obj.units
        return _Tables(
            units,
            obj.accounts if accounts is None else accounts,
            getattr(obj, "reps", None) if reps is None else reps,
            getattr(obj, "history", None) if history is None else history,
        )
    return _Tables(_unit_measures(obj, accounts), accounts, reps, history)


def _check_not_empty(index: pd.Index) -> None:
    """Refuse a units table without rows (a filter that selected nothing),
    as the Study does, before any figure fails on it with a library error."""
    if len(index) == 0:
        raise DataValidationError(
            "units",
            None,
            "the table is empty (no rows), so there are no territories to measure",
            fix="check the filter that selected the units (a metric needs at "
            "least one unit)",
        )


def _check_given_accounts(accounts: pd.DataFrame) -> None:
    """Given accounts (plain tables, or overriding the study's) must be joined
    to units and hold each account once, as the Study checks its own.

    Without ``unit_id`` they cannot be summed per unit and were ignored
    silently (every account figure NaN); a repeated account would count
    twice in every sum.  The metrics do not place accounts in units
    themselves: a point-in-polygon join done silently in every call would
    hide the accounts that lie in no unit, which the join reports.
    """
    if "unit_id" not in accounts.columns:
        if {"lon", "lat"} <= set(accounts.columns):
            raise DataValidationError(
                "accounts",
                "unit_id",
                "the accounts have lon/lat but no unit_id column, so they "
                "cannot be summed per unit (the metrics do not join accounts "
                "to units)",
                fix="join them to the units first: accounts = "
                "tk.data.io.join_to_units(accounts, units), or read them with "
                "tk.data.read_accounts(path, units=units)",
            )
        require_columns(
            accounts,
            "accounts",
            ["unit_id"],
            hint="give accounts the unit_id of the unit each lies in, or lon/lat "
            "columns and join them with tk.data.io.join_to_units(accounts, units)",
        )
    check_unique_ids(accounts, "accounts", str(accounts.index.name or "account_id"))


def _check_unit_ids(index: pd.Index) -> None:
    """Refuse a units table whose ids repeat, naming them, as the Study does
    when it loads the units (and :func:`contiguity` when it builds the
    adjacency): a repeated unit would count twice in every sum per territory.
    """
    check_unique_ids(pd.DataFrame(index=index), "units", "unit_id")


def _unit_measures(
    units: gpd.GeoDataFrame, accounts: pd.DataFrame | None
) -> gpd.GeoDataFrame:
    """Add ``accounts``, ``workload``, ``sales`` from accounts where units lack them.

    Like :meth:`terrakit.data.Study.unit_measures`, refuses (with a
    :class:`~terrakit.exceptions.DataValidationError`) missing values in the
    account columns a derived measure sums, rather than counting them as 0;
    text, infinite or negative values in them are refused as the Study
    refuses them when it loads accounts.
    """
    units = units.copy()
    if accounts is None or "unit_id" not in accounts.columns:
        return units
    uid = _account_units(accounts, units.index)
    from terrakit.data.study import _refuse_missing_inputs

    derive_workload = "workload" not in units.columns and {
        "calls_per_year",
        "call_minutes",
    } <= set(accounts.columns)
    derive_sales = "sales" not in units.columns and "annual_sales" in accounts.columns
    summed = [
        col
        for col, derive in (
            ("calls_per_year", derive_workload),
            ("call_minutes", derive_workload),
            ("annual_sales", derive_sales),
        )
        if derive
    ]
    # numbers, finite and >= 0, as at the Study's door (text counted nothing)
    accounts = _check_numeric(accounts, "accounts", summed, required=False)
    for col, measure, derive in (  # as Study.unit_measures: NaN is not 0
        ("calls_per_year", "workload", derive_workload),
        ("call_minutes", "workload", derive_workload),
        ("annual_sales", "sales", derive_sales),
    ):
        if derive:
            _refuse_missing_inputs(accounts, col, measure)
    if "accounts" not in units.columns:
        units["accounts"] = (
            uid.value_counts().reindex(units.index, fill_value=0).astype(np.int64)
        )
    if derive_workload:
        hours = accounts["calls_per_year"] * accounts["call_minutes"] / 60.0
        units["workload"] = (
            hours.groupby(uid).sum().reindex(units.index, fill_value=0.0)
        )
    if derive_sales:
        units["sales"] = (
            accounts["annual_sales"]
            .groupby(uid)
            .sum()
            .reindex(units.index, fill_value=0.0)
        )
    return units


def _account_units(accounts: pd.DataFrame, units_index: pd.Index) -> pd.Series:
    """``accounts.unit_id`` in the dtype of the units' ids; every one a unit.

    Integer ids written as text (or text ids read as integers) are matched
    when that loses nothing, as the Study does when it loads accounts.

    Raises
    ------
    DataValidationError
        Naming the accounts whose unit is not in the units table (a missing
        ``unit_id`` included): counted nowhere, they would silently drop out
        of every figure summed per unit.
    """
    from terrakit.data.validation import account_units

    return account_units(
        accounts["unit_id"],
        units_index,
        fix="pass the units table the accounts were joined to (check the id "
        "type: '13121' is not 13121)",
    )


class _UnknownAlignment(DataValidationError, KeyError):
    """An alignment name the study does not have: a data error that is also
    the KeyError a lookup by name (``study.alignments[name]``) gives."""

    __str__ = Exception.__str__  # not KeyError's quoted text


def _alignment(obj: Any, alignment: AlignmentLike) -> Alignment:
    if isinstance(alignment, Alignment):
        return alignment
    if isinstance(alignment, str):
        if _is_study(obj) and alignment in getattr(obj, "alignments", {}):
            al: Alignment = obj.alignments[alignment]
            return al
        if not _is_study(obj):
            raise _UnknownAlignment(
                "alignment",
                None,
                f"no alignment named {alignment!r}: plain tables hold no alignments",
                fix="pass an Alignment object (or a mapping unit_id → territory_id)",
            )
        have = sorted(obj.alignments)
        raise _UnknownAlignment(
            "alignment",
            None,
            f"no alignment named {alignment!r}; the study has {have}",
            fix=f"pass one of {have} or an Alignment, or add one with "
            f"study.with_alignment(...){did_you_mean([alignment], have)}",
        )
    if isinstance(alignment, (pd.Series, Mapping)):
        return Alignment.from_mapping(
            alignment, name="alignment", provenance={"method": "manual"}
        )
    raise TypeError(
        f"alignment must be an Alignment, a mapping unit_id → territory_id or a "
        f"name, got {type(alignment).__name__}"
    )


def _labels(units_index: pd.Index, al: Alignment, what: str = "alignment") -> pd.Series:
    """Territory of every unit, in the order of ``units_index``; checks that
    the unit ids are unique and that the alignment covers them."""
    _check_unit_ids(units_index)
    s = al.assignment
    idx = s.index
    if idx.dtype != units_index.dtype and len(idx.intersection(units_index)) == 0:
        from terrakit.data.validation import _align_id_dtype

        conv = _align_id_dtype(pd.Series(idx), units_index)
        s = pd.Series(s.to_numpy(), index=pd.Index(conv, name="unit_id"))
        idx = s.index
    extra = idx.difference(units_index, sort=False)
    if len(extra):
        raise DataValidationError(
            "alignment",
            "unit_id",
            f"{what} {al.name!r} names {len(extra)} units that are not in the units "
            "table",
            rows=list(extra),
            n_bad=len(extra),
            fix="drop them from the alignment or pass the units table it was made "
            "for (check the id type: '13121' is not 13121)",
        )
    missing = units_index.difference(idx, sort=False)
    if len(missing):
        raise DataValidationError(
            "alignment",
            "unit_id",
            f"{what} {al.name!r} leaves {len(missing)} of {len(units_index)} units "
            "without a territory",
            rows=list(missing),
            n_bad=len(missing),
            fix="assign every unit to a territory (alignment.replace({unit: "
            "territory}))",
        )
    return s.reindex(units_index).rename("territory_id")


def _territory_order(labels: pd.Series) -> list[Any]:
    """The territories of ``labels``, sorted: numerically when every id is a
    number (1, 2, …, 10, not 1, 10, 2), as text otherwise (mixed types): the
    order of :attr:`~terrakit.data.alignment.Alignment.territories`."""
    return _sorted_territories(pd.unique(labels.to_numpy()).tolist())


def _measure(units: pd.DataFrame, name: str) -> pd.Series:
    if name == "units":
        return pd.Series(1.0, index=units.index, name="units")
    if name not in units.columns:
        num = [
            c
            for c in units.columns
            if c != "geometry" and pd.api.types.is_numeric_dtype(units[c])
        ]
        raise DataValidationError(
            "units",
            name,
            f"measure {name!r} is not a column of the units table (numeric columns: "
            f"{num[:12]})",
            fix="choose one of those columns, 'units' for unit counts, or add the "
            "column (accounts/workload/sales are derived from an accounts table)",
        )
    col = units[name]
    if (
        isinstance(col.dtype, pd.PeriodDtype)
        or pd.api.types.is_datetime64_any_dtype(col)
        or pd.api.types.is_timedelta64_dtype(col)
    ):
        raise DataValidationError(
            "units",
            name,
            f"measure {name!r} holds dates or durations ({col.dtype}), not "
            "amounts to sum per territory (summed, they count nanoseconds)",
            fix="convert it to numbers in the unit you mean (e.g. hours: "
            f"units[{name!r}].dt.total_seconds() / 3600) or choose another column",
        )
    if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
        as_num = pd.to_numeric(col, errors="coerce")
        text = col.notna() & as_num.isna()
        if text.any():
            num = [
                str(c)
                for c in units.columns
                if c != "geometry"
                and pd.api.types.is_numeric_dtype(units[c])
                and not pd.api.types.is_bool_dtype(units[c])
            ]
            sample = col[text].iloc[0]
            raise DataValidationError(
                "units",
                name,
                f"measure {name!r} is a text column (e.g. {sample!r}), not "
                f"numbers; a measure is summed per territory, so it must be "
                f"numeric (numeric columns: {['units', *num][:13]})",
                rows=list(units.index[text.to_numpy()]),
                n_bad=int(text.sum()),
                fix="choose one of those columns, 'units' for unit counts, or "
                "convert the column to numbers first",
            )
    vals = pd.to_numeric(col, errors="coerce")
    if vals.isna().any():
        bad = vals.isna()
        raise DataValidationError(
            "units",
            name,
            f"{int(bad.sum())} values are missing or not numbers",
            rows=list(units.index[bad.to_numpy()]),
            n_bad=int(bad.sum()),
            fix="fill them (0 if there is none)",
        )
    return vals.astype(float)


def _finite_measure(units: pd.DataFrame, name: str) -> pd.Series:
    """:func:`_measure`, infinite values refused (naming the units) as the
    Study refuses them: a total, a mean, a share of inf are no figures (an
    infinite accounts value moved 10 accounts for a share of 0 %)."""
    out = _measure(units, name)
    inf = np.isinf(out.to_numpy())
    if inf.any():
        raise DataValidationError(
            "units",
            name,
            f"{int(inf.sum())} values are infinite (e.g. {out[inf].iloc[0]:g}); a "
            "measure is summed per territory, so every value must be a finite "
            "number",
            rows=list(units.index[inf]),
            n_bad=int(inf.sum()),
            fix="replace infinite values by real numbers (often a ratio divided by 0)",
        )
    return out


def _check_weights(index: pd.Index, w: np.ndarray, name: str) -> None:
    """Refuse negative or infinite weights, naming the column and the units.

    A weight is an amount of activity: a negative one would push the center
    away from its unit, make a moment of inertia negative and a weighted
    mean distance exceed every distance.
    """
    w = np.asarray(w, dtype=float)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise DataValidationError(
            "units",
            name,
            f"{int(bad.sum())} weights are negative or infinite (e.g. "
            f"{w[bad][0]:g}); a weight is an amount of activity and must be "
            ">= 0",
            rows=list(index[bad]),
            n_bad=int(bad.sum()),
            fix="weight by a non-negative column, or weight=None for 1 per unit",
        )


def _weights(units: pd.DataFrame, name: str) -> np.ndarray:
    """The unit column ``name`` as weights (see :func:`_check_weights`)."""
    w = _measure(units, name).to_numpy()
    _check_weights(units.index, w, name)
    return w


def _centroids(
    units: gpd.GeoDataFrame,
    labels: pd.Series,
    w: np.ndarray,
    weight: str | None = None,
) -> pd.DataFrame:
    """Weighted centroid (lon, lat) per territory, computed in a projected CRS.

    ``weight`` names the column of ``w`` in the message refusing negative
    weights.
    """
    _check_weights(units.index, w, weight or "weight")
    lon, lat = lonlat(units)
    crs = projected_crs(units)
    fwd = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = fwd.transform(lon, lat)
    df = pd.DataFrame({"x": x, "y": y, "w": w, "t": labels.to_numpy()})
    out = {}
    for t, g in df.groupby("t", sort=False):
        ww = g["w"].to_numpy()
        if ww.sum() <= 0:
            ww = np.ones_like(ww)
        out[t] = (np.average(g["x"], weights=ww), np.average(g["y"], weights=ww))
    xy = pd.DataFrame(out, index=["x", "y"]).T
    inv = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    clon, clat = inv.transform(xy["x"].to_numpy(), xy["y"].to_numpy())
    return pd.DataFrame({"lon": clon, "lat": clat}, index=xy.index)


def _center_table(centers: Any, territories: Sequence[Any]) -> pd.DataFrame:
    """The (lon, lat) center of every territory, indexed by ``territories``.

    A center's key is matched to its territory as
    :func:`~terrakit.data.validation.rep_of_territories` matches reps (as
    :func:`territory_kpis` does): exactly, or, where no key equals the
    territory, as text (``'7'`` is territory ``7``'s).  A centers table
    whose ids repeat is refused.
    """
    cols = ("lon", "lat")
    if isinstance(centers, pd.DataFrame):
        # a repeated id (a reps table with a rep twice) has two centers
        check_unique_ids(centers, "centers", str(centers.index.name or "territory_id"))
        for cx, cy in (("lon", "lat"), ("home_lon", "home_lat")):
            if {cx, cy} <= set(centers.columns):
                tab = pd.DataFrame(
                    {
                        "lon": pd.to_numeric(centers[cx], errors="coerce"),
                        "lat": pd.to_numeric(centers[cy], errors="coerce"),
                    }
                ).astype(float)
                cols = (cx, cy)
                break
        else:
            raise DataValidationError(
                "centers",
                None,
                "no lon/lat (or home_lon/home_lat) columns",
                fix="index the centers by territory id with lon and lat columns",
            )
    else:
        pairs = {}
        for t, v in dict(centers).items():
            try:
                lon, lat = (float(x) for x in v)
            except (TypeError, ValueError):
                raise DataValidationError(
                    "centers",
                    None,
                    f"the center of territory {t!r} is not a (lon, lat) pair: {v!r}",
                    rows=[t],
                    fix="give every territory a (lon, lat) pair of numbers",
                ) from None
            pairs[t] = (lon, lat)
        tab = pd.DataFrame(pairs, index=["lon", "lat"]).T
    terr = list(territories)
    # territory 7 is center '7''s (an alignment read from a CSV beside reps)
    key = rep_of_territories(pd.Series(terr, index=terr, dtype=object), tab.index)
    missing = [t for t, k in zip(terr, key, strict=True) if pd.isna(k)]
    if missing:
        raise DataValidationError(
            "centers",
            None,
            f"{len(missing)} territories have no center",
            rows=missing,
            fix="give a (lon, lat) center for every territory, or "
            "centers=None for weighted centroids",
        )
    from terrakit.data.validation import check_lonlat_values

    used = tab.loc[key.tolist()]  # rows named as the centers name them
    check_lonlat_values(
        used["lon"].to_numpy(), used["lat"].to_numpy(), "centers", cols, used.index
    )
    return used.set_axis(pd.Index(terr, name="territory_id"))


def _geodesic_km(
    lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float
) -> np.ndarray:
    """Geodesic distance (km, WGS84 ellipsoid) from each point to one center."""
    n = len(lon)
    _, _, metres = _GEOD.inv(lon, lat, np.full(n, float(lon0)), np.full(n, float(lat0)))
    return np.asarray(metres, dtype=float) / 1000.0


# -- formulas ------------------------------------------------------------------
def gini(values: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = all equal).

    Notes
    -----
    :math:`G = \\frac{\\sum_i \\sum_j |x_i - x_j|}{2 n^2 \\bar x}`; at most
    :math:`(n-1)/n` (everything in one territory).  NaN if the mean is 0.

    Raises
    ------
    ValueError
        When a value is negative, NaN or infinite (the coefficient is defined
        for finite non-negative values only; a negative one used to give
        1.0), or when ``values`` is not one-dimensional.

    Examples
    --------
    >>> gini([1, 1, 1])
    0.0
    >>> gini([0, 0, 3])
    0.6666666666666666
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(
            f"gini takes a one-dimensional sequence of values (e.g. one total per "
            f"territory), got an array of shape {x.shape}; pass one row, or "
            "np.ravel(values) to pool them"
        )
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        raise ValueError(
            f"gini is defined for finite, non-negative values; got {int(bad.sum())} "
            f"negative, NaN or infinite (e.g. {x[bad][:3].tolist()}); shift or drop "
            "them, or measure spread with the coefficient of variation"
        )
    if x.size == 0 or x.mean() == 0:
        return float("nan")
    xs = np.sort(x)
    n = xs.size
    # Σ_i Σ_j |x_i - x_j| = 2 Σ_k (2k - n - 1) x_(k) for sorted x, k = 1..n
    k = np.arange(1, n + 1)
    g = float(2.0 * np.sum((2 * k - n - 1) * xs) / (2.0 * n * n * xs.mean()))
    # float rounding of equal values can give -1e-17: the coefficient is ≥ 0
    return max(g, 0.0)


# -- KPIs ----------------------------------------------------------------------
def _potential_sums(
    units: pd.DataFrame, labels: pd.Series, terr: list[Any]
) -> pd.Series:
    """Sum of the units' ``potential`` per territory; NaN (with a warning naming
    the units) for a territory with a unit whose potential is missing — an
    unknown potential is not 0, and counting it as 0 would inflate penetration.
    Text in the column is refused as for any measure."""
    miss = units["potential"].isna().to_numpy()
    if not miss.any():
        return _finite_measure(units, "potential").groupby(labels).sum().reindex(terr)
    known = _finite_measure(units.loc[~miss], "potential")
    sums = known.groupby(labels[~miss]).sum().reindex(terr)
    gone = pd.unique(labels[miss].to_numpy()).tolist()
    sums[sums.index.isin(gone)] = np.nan
    bad = list(units.index[miss])
    shown = first_few(bad)
    hit = [t for t in terr if t in set(gone)]
    hit_shown = first_few(hit, 10, show=str)
    warnings.warn(
        f"units.potential: {len(bad)} of {len(units)} units have no value "
        f"({shown}); potential and penetration are NaN for territories "
        f"{hit_shown}. An unknown potential is not 0: fill them only with real "
        "figures",
        TerrakitWarning,
        stacklevel=3,
    )
    return sums


def territory_kpis(
    study: Any,
    alignment: AlignmentLike,
    measures: Sequence[str] | None = None,
    *,
    accounts: pd.DataFrame | None = None,
    reps: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    weight: str | None = "workload",
) -> pd.DataFrame:
    """Key figures of every territory.

    Parameters
    ----------
    study
        A Study, or a units GeoDataFrame (then pass the other tables as
        keywords).
    alignment
        The alignment (or its name in the study).
    measures
        Further numeric unit columns to sum per territory (e.g.
        ``["population"]``).
    accounts, reps, history
        Tables for the plain-table form (override the study's when given:
        ``accounts``, ``workload`` and ``sales`` per unit are then summed from
        the given accounts, where the units table lacks them, as is growth).
        Accounts must have a ``unit_id`` (join lon/lat to units first with
        :func:`terrakit.data.io.join_to_units`) and, as reps, unique ids.
    weight
        Activity that weights ``travel_to_center_km``; ``None`` or a missing
        column weighs every unit equally.  Its values must be >= 0.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``territory_id`` (sorted), columns ``units``, ``accounts``,
        ``workload``, ``sales``, ``potential``, the extra measures,
        ``penetration``, ``growth``, ``travel_to_center_km``, ``rep_id``.
        Columns whose data are absent are NaN.

    Notes
    -----
    * ``potential`` sums the units' input column ``potential`` — the study's
      own figure, as loaded (e.g. from a data vendor) — not a fitted model.
      For the model's estimate, sum ``potential_mean`` of
      :meth:`terrakit.potential.PotentialResult.to_frame` over the
      territory's units (the study report shows it as ``potential_model``).
    * ``penetration = sales / potential`` (of that input column).
    * ``growth = S_last12 / S_prev12 - 1`` where ``S_last12`` sums the history
      of the 12 latest months of the whole history and ``S_prev12`` the 12
      before; NaN when the history has fewer than 24 months, or lacks any
      of these 24 months (no row at all that month: then with a warning
      naming the months, since a missing month is not a month without
      sales).
    * ``travel_to_center_km = Σ w_i d_i / Σ w_i``, with ``d_i`` the
      geodesic (WGS84 ellipsoid) distance from the unit's representative
      point to the territory's rep home — the rep whose ``rep_id`` equals the territory
      id (as text where no rep id equals it: territory ``'7'`` is rep ``7``'s)
      — or, without such a rep, to the territory's weighted centroid.

    Raises
    ------
    DataValidationError
        Among others: negative weights; a rep home that is missing or not
        lon/lat degrees; history rows whose ``unit_id``/``account_id`` is
        not in the units/accounts table, or whose ``sales`` of the latest 24
        months are missing (an unknown sale is not 0); a history without
        ``period`` or ``sales``, or whose sales are text, infinite or
        negative (as the Study refuses them); history periods that
        are not months (quarters, days: as
        :func:`terrakit.data.validation.parse_periods` refuses them); unit,
        account or rep ids that occur more than once; accounts without
        ``unit_id``; an empty units table; measures that are infinite,
        text, dates or durations.
    """
    if isinstance(measures, str):
        measures = [measures]
    tabs = _tables(study, accounts, reps, history)
    units = tabs.units
    al = _alignment(study, alignment)
    labels = _labels(units.index, al)
    terr = _territory_order(labels)
    out = pd.DataFrame(index=pd.Index(terr, name="territory_id"))
    out["units"] = labels.value_counts().reindex(terr).astype(np.int64)
    cols = dict.fromkeys(
        ("accounts", "workload", "sales", "potential", *(measures or ()))
    )
    for col in cols:
        if col == "potential" and col in units.columns:
            out[col] = _potential_sums(units, labels, terr)
        elif col in units.columns or col in (measures or ()):
            out[col] = _finite_measure(units, col).groupby(labels).sum().reindex(terr)
        else:
            out[col] = np.nan
    if "accounts" in units.columns:
        out["accounts"] = out["accounts"].round().astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        pen = out["sales"] / out["potential"].where(out["potential"] > 0)
    out["penetration"] = pen
    out["growth"] = _growth(tabs, labels).reindex(terr)
    # travel to center
    if weight is not None and weight in units.columns:
        w = _weights(units, weight)
    else:
        w = np.ones(len(units))
    lon, lat = lonlat(units)
    cent = _centroids(units, labels, w, weight)
    rep_of = pd.Series([None] * len(terr), index=terr, dtype=object)
    if tabs.reps is not None and {"home_lon", "home_lat"} <= set(tabs.reps.columns):
        from terrakit.data.validation import check_lonlat_values

        # territory '7' is rep 7's too (an alignment read from a CSV)
        found = rep_of_territories(
            pd.Series(terr, index=terr, dtype=object), tabs.reps.index
        )
        found = found[found.notna()]
        used = list(dict.fromkeys(found.to_numpy()))
        home = tabs.reps.loc[used, ["home_lon", "home_lat"]].apply(
            pd.to_numeric, errors="coerce"
        )
        # a missing or impossible home would make the travel NaN silently
        check_lonlat_values(
            home["home_lon"].to_numpy(dtype=float),
            home["home_lat"].to_numpy(dtype=float),
            "reps",
            ("home_lon", "home_lat"),
            pd.Index(used),
        )
        for t, r in found.items():
            rep_of[t] = r
            cent.loc[t, "lon"] = float(home.loc[r, "home_lon"])
            cent.loc[t, "lat"] = float(home.loc[r, "home_lat"])
    lab = labels.to_numpy()
    travel = {}
    for t in terr:
        sel = lab == t
        d = _geodesic_km(lon[sel], lat[sel], cent.loc[t, "lon"], cent.loc[t, "lat"])
        ww = w[sel] if w[sel].sum() > 0 else np.ones(int(sel.sum()))
        travel[t] = float(np.average(d, weights=ww))
    out["travel_to_center_km"] = pd.Series(travel)
    out["rep_id"] = rep_of
    return out


def _growth(tabs: _Tables, labels: pd.Series) -> pd.Series:
    h = tabs.history
    empty = pd.Series(np.nan, index=pd.Index(pd.unique(labels.to_numpy())))
    if h is None or len(h) == 0:
        return empty
    # the columns and numbers the Study requires of a history at its door
    key = "account_id" if "account_id" in h.columns else "unit_id"
    require_columns(
        h,
        "history",
        [key, "period", "sales"],
        hint="history needs account_id (or unit_id), period and sales columns; "
        "rename yours, e.g. history.rename(columns={'revenue': 'sales'})",
    )
    h = _check_numeric(h, "history", ["sales"], required=False)
    if "unit_id" in h.columns:
        unit = _history_ids(h, "unit_id", labels.index, "units")
    elif (
        "account_id" in h.columns
        and tabs.accounts is not None
        and "unit_id" in tabs.accounts.columns
    ):
        acc_unit = _account_units(tabs.accounts, labels.index)
        unit = _history_ids(h, "account_id", tabs.accounts.index, "accounts").map(
            acc_unit
        )
    else:
        return empty
    from terrakit.data.validation import parse_periods

    # months, as the Study reads a history: 12 quarters or 12 days are no year
    per = parse_periods(h["period"], "history")
    last = per.max()
    if per.min() > last - 23:
        return empty
    window = pd.period_range(last - 23, last, freq="M")
    absent = window.difference(pd.PeriodIndex(per.unique()))
    if len(absent):  # a month with no row at all is missing, not a month of 0
        shown = first_few([str(m) for m in absent], 6, show=str)
        warnings.warn(
            f"history: {len(absent)} of the latest 24 months ({window[0]} to "
            f"{last}) have no row at all ({shown}); growth compares 12 whole "
            "months with the 12 before, so it is NaN for every territory (a "
            "missing month summed as 0 would look like a fall in sales). Add "
            "the missing months (0 where nothing was sold) to compute it",
            TerrakitWarning,
            stacklevel=3,
        )
        return empty
    terr = unit.map(labels)
    recent = (per > last - 12).to_numpy()
    prev = ((per <= last - 12) & (per > last - 24)).to_numpy()
    s = h["sales"].astype(float)
    gap = s.isna().to_numpy() & (recent | prev)
    if gap.any():  # NaN is not 0: summed as 0, it would fake a fall in sales
        hit = [t for t in _territory_order(terr[gap]) if pd.notna(t)]
        shown = first_few(hit, 10, show=str)
        raise DataValidationError(
            "history",
            "sales",
            f"{int(gap.sum())} rows of the latest 24 months have no sales (NaN), "
            f"so the growth of territories {shown} cannot be computed (summed as "
            "0, a missing month would look like a fall in sales)",
            rows=list(h.index[gap]),
            n_bad=int(gap.sum()),
            fix="fill history.sales (0 only where nothing was sold) or drop those rows",
        )
    s_last = s[recent].groupby(terr[recent]).sum()
    s_prev = s[prev].groupby(terr[prev]).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (
            s_last.reindex(empty.index, fill_value=0.0)
            / s_prev.reindex(empty.index, fill_value=0.0).where(lambda v: v > 0)
            - 1.0
        )
    return g


def _history_ids(h: pd.DataFrame, key: str, ids: pd.Index, what: str) -> pd.Series:
    """``h[key]`` in the dtype of ``ids``; every value one of ``ids``.

    As :func:`terrakit.data.validation.clean_history` does on load: a history
    row of an unknown unit or account would silently leave its sales out of
    the growth of every territory.
    """
    from terrakit.data.validation import _align_id_dtype, _ids, _leading_zeros

    k = _align_id_dtype(h[key], ids)
    unknown = ~k.isin(ids)
    if unknown.any():
        shown = list(dict.fromkeys(_ids(k[unknown])))
        zeros, zero_fix = _leading_zeros(shown, ids, table="history", ref=what)
        raise DataValidationError(
            "history",
            key,
            f"{int(unknown.sum())} rows refer to {what} that are not in the "
            f"{what} table{zeros}; their sales would be left out of the growth",
            rows=shown,
            n_bad=len(shown),
            fix=zero_fix
            or f"pass the {what} table the history belongs to, or drop those "
            "rows (check the id type: '13121' is not 13121)",
        )
    return k


# -- balance -------------------------------------------------------------------
def balance(
    study_or_units: Any,
    alignment: AlignmentLike,
    measures: Sequence[str] | str = ("workload",),
    targets: Mapping[Hashable, float] | pd.Series | None = None,
    *,
    accounts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """How evenly each measure is spread over the territories.

    Parameters
    ----------
    study_or_units
        A Study or a units GeoDataFrame.
    alignment
        The alignment (or its name in the study).
    measures
        Unit columns to compare (``"units"`` counts units).
    targets
        Optional target share per territory (e.g. FTE); normalised to sum 1.
    accounts
        Accounts table to derive ``accounts``/``workload``/``sales`` from
        where the units lack them (plain-table form, or instead of the
        study's accounts).

    Returns
    -------
    pandas.DataFrame
        One row per measure (index ``measure``): ``mean``, ``min``, ``max``
        (territory totals), ``max_rel_dev``, ``cv``, ``gini``.

    Notes
    -----
    With territory totals :math:`x_t` and mean :math:`\\bar x`:
    ``max_rel_dev`` :math:`= \\max_t |x_t/\\bar x - 1|`,
    ``cv`` :math:`= \\sigma / |\\bar x|` (population standard deviation,
    ``ddof=0``; the absolute mean keeps the spread of a falling measure,
    whose totals are negative, a positive number), ``gini`` as :func:`gini`
    (NaN when a territory total is negative, where it is undefined).  All
    three are NaN when the mean is 0.  With targets :math:`s_t`, the
    three dispersion measures use the attainment ratios
    :math:`r_t = x_t / (s_t \\sum_u x_u)` instead (``max |r_t - 1|``,
    ``σ(r)/|mean(r)|``, Gini of ``r``), so an allocation exactly on target
    scores 0.
    """
    tabs = _tables(study_or_units, accounts)
    units = tabs.units
    al = _alignment(study_or_units, alignment)
    labels = _labels(units.index, al)
    terr = _territory_order(labels)
    if isinstance(measures, str):
        measures = (measures,)
    if measures is None or not len(measures):
        raise DataValidationError(
            "units",
            None,
            f"no measure to compare (measures={measures!r})",
            fix="name the unit columns, e.g. measures=['workload']",
        )
    share = None if targets is None else _target_shares(targets, terr)
    totals = {
        m: _finite_measure(units, m).groupby(labels).sum().reindex(terr).to_numpy()
        for m in measures
    }
    return balance_table(totals, share)


def balance_table(
    totals: Mapping[str, np.ndarray], share: np.ndarray | None = None
) -> pd.DataFrame:
    """The :func:`balance` table from per-territory totals, one array per measure.

    ``share`` (optional) gives each territory's target share, in the order of
    the totals: positive numbers, normalised to sum 1 as :func:`balance`'s
    ``targets`` are (FTE ``[1.0, 1.5]`` is ``[0.4, 0.6]``); without it every
    territory's target is the mean.  Widgets and reports that hold totals
    already (e.g. with empty territories) use this directly.  The columns are
    those of :func:`balance` (see its Notes: ``cv`` divides by the absolute
    mean; ``gini`` is NaN when a total is negative).

    Raises
    ------
    DataValidationError
        When ``share`` has not one value per territory (the lengths named),
        or a share is not a positive number; when a measure has no total
        (no territory).
    """
    share = None if share is None else _positive_shares(share)
    rows = {}
    for m, x in totals.items():
        x = np.asarray(x, dtype=float)
        if x.size == 0:
            raise DataValidationError(
                "totals",
                str(m),
                f"the totals of {m!r} are empty (no territory), so there is no "
                "balance to measure",
                fix="give one total per territory (an alignment of at least one "
                "unit; check the filter that selected the units)",
            )
        if share is not None and x.shape != share.shape:
            raise DataValidationError(
                "share",
                None,
                f"share has {share.size} values for {x.size} territories (the "
                f"totals of {m!r}): one target share per territory is needed",
                fix="give one share per territory, in the order of the totals",
            )
        mean = float(x.mean())
        with np.errstate(divide="ignore", invalid="ignore"):
            r = x / mean if share is None else x / (share * x.sum())
        if mean == 0:
            r = np.full_like(x, np.nan)
        rows[m] = {
            "mean": mean,
            "min": float(x.min()),
            "max": float(x.max()),
            "max_rel_dev": float(np.max(np.abs(r - 1.0))),
            "cv": float(np.std(r) / abs(np.mean(r))) if mean else float("nan"),
            # undefined when a total is negative (e.g. a falling measure): the
            # totals are tested, not r = x / mean, whose signs turn when the
            # mean is negative
            "gini": (
                gini(r)
                if mean and np.isfinite(r).all() and (x >= 0).all()
                else float("nan")
            ),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "measure"
    return out


def _positive_shares(share: Any) -> np.ndarray:
    """``share`` (one per territory, positive) normalised to sum 1."""
    raw = np.asarray(share, dtype=object)
    if raw.ndim != 1:
        raise DataValidationError(
            "share",
            None,
            f"share must be one value per territory, got an array of shape {raw.shape}",
            fix="give one share per territory, in the order of the totals",
        )
    v = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(v) & (v > 0))
    if bad.any():
        raise DataValidationError(
            "share",
            None,
            f"{int(bad.sum())} target shares are not positive numbers (e.g. "
            f"{raw[bad][0]!r})",
            rows=[f"position {i}" for i in np.flatnonzero(bad)],
            n_bad=int(bad.sum()),
            fix="use positive shares (they are normalised to sum 1)",
        )
    return np.asarray(v / v.sum(), dtype=float)


def _target_shares(
    targets: Mapping[Hashable, float] | pd.Series, terr: list[Any]
) -> np.ndarray:
    if not isinstance(targets, Mapping | pd.Series):
        raise DataValidationError(
            "targets",
            None,
            f"targets must map territory id → share, got {type(targets).__name__}",
            fix="e.g. targets={'R01': 1.0, 'R02': 0.5} (or reps['fte'])",
        )
    raw = pd.Series(targets) if not isinstance(targets, pd.Series) else targets
    repeated = raw.index[raw.index.duplicated()].unique().tolist()
    if repeated:
        raise DataValidationError(
            "targets",
            None,
            f"{len(repeated)} territories have more than one target (e.g. "
            "reps['fte'] indexed by territory, with two reps sharing one)",
            rows=repeated,
            fix="sum them: targets.groupby(level=0).sum()",
        )
    t = pd.to_numeric(raw, errors="coerce").astype(float)
    bad_text = [k for k in raw.index if pd.isna(t[k]) and not pd.isna(raw[k])]
    if bad_text:
        raise DataValidationError(
            "targets",
            None,
            "target shares must be numbers",
            rows=bad_text,
            fix="give a positive number per territory (they are normalised to sum 1)",
        )
    # territory 7 has the target of '7' (reps['fte'] beside an alignment read
    # from a CSV), as territory_kpis finds its rep
    key = rep_of_territories(pd.Series(terr, index=terr, dtype=object), t.index)
    found = {k for k in key.tolist() if not pd.isna(k)}
    unknown = [k for k in t.index if k not in found]
    if unknown:
        raise DataValidationError(
            "targets",
            None,
            f"{len(unknown)} territories with a target have no unit in the "
            "alignment; their share would silently go to the others",
            rows=unknown,
            fix="drop them from targets, or give them units (an empty territory "
            "is the worst imbalance of all)",
        )
    missing = [k for k, r in zip(terr, key, strict=True) if pd.isna(r)]
    if missing:
        raise DataValidationError(
            "targets",
            None,
            f"{len(missing)} territories have no target",
            rows=missing,
            fix="give a target share for every territory",
        )
    v = t.loc[key.tolist()].to_numpy()
    if (v <= 0).any() or not np.isfinite(v).all():
        raise DataValidationError(
            "targets",
            None,
            "target shares must be positive numbers",
            rows=[k for k, x in zip(terr, v, strict=True) if not x > 0],
            fix="use positive shares (they are normalised to sum 1)",
        )
    return np.asarray(v / v.sum(), dtype=float)


# -- balance on draws ----------------------------------------------------------
def balance_on_draws(
    study: Any,
    alignment: AlignmentLike,
    draws: Any,
    tolerance: float,
    *,
    targets: Mapping[Hashable, float] | pd.Series | None = None,
) -> pd.DataFrame:
    """How balanced each territory stays across draws of an activity.

    Sums every draw (e.g. of the posterior potential) per territory and
    measures each territory against the draw's mean, or its target share of
    the draw's total: the spread of its total, and how often it lies within
    ``±tolerance`` of that mean.  This is the balance that
    :func:`terrakit.design.align` enforces with ``balance_on_draws=``, for
    any alignment: on a plan the design returns, with the same draws and
    ``tolerance=draws_tolerance``, the figures equal its
    :attr:`~terrakit.design.AlignmentResult.intervals`.

    Parameters
    ----------
    study
        A Study, or a units GeoDataFrame (only its unit ids are used).
    alignment
        The alignment (or its name in the study).
    draws
        ``units × draws``, as the design's ``balance_on_draws=`` takes them:
        a DataFrame or a 2-D xarray DataArray indexed by unit id (e.g.
        ``potential.draws("unit", n_draws=200, seed=0)``), or an array in the
        units' order.  Finite and non-negative, at least one draw.
    tolerance
        The ``±`` band around each territory's mean (or target), a number in
        ``[0, 1)``: ``0.25`` is ±25 %.
    targets
        Optional target share per territory (e.g. FTE), normalised to sum 1
        as in :func:`balance`; without it every territory's target is the
        draw's mean.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``territory_id`` (sorted), one row per territory of the
        alignment:

        * ``q05``, ``q50``, ``q95`` — quantiles of the territory's drawn
          total, in the unit of the draws (the columns of ``intervals``);
        * ``rel_dev_q05``, ``rel_dev_q50``, ``rel_dev_q95`` — quantiles of
          its relative deviation from the draw's mean (or target),
          :math:`x_{ts} / m_{ts} - 1`: ``0.3`` is 30 % above it;
        * ``share_within_band`` — share of draws in which the territory is
          within ``±tolerance``.

        ``attrs`` holds ``tolerance``, ``n_draws`` and
        ``share_all_within_band``, the share of draws in which every
        territory is within the band at once (the share that the design's
        ``draws_share`` constrains).

    Raises
    ------
    DataValidationError
        ``draws`` whose rows do not match the units (ids missing, extra or
        repeated; a shape other than ``(n_units, n_draws ≥ 1)``; laid out
        draws × units), draws that are missing, infinite, negative or text,
        a fitted potential given instead of its draws; an alignment that
        does not cover exactly the units; targets as :func:`balance`
        refuses them.
    SpecificationError
        ``tolerance`` is not a number in ``[0, 1)``.

    Notes
    -----
    With draws :math:`v_{us}` of unit :math:`u` in draw :math:`s`, the
    territory totals :math:`x_{ts} = \\sum_{u \\in t} v_{us}`, the target
    shares :math:`w_t` (:math:`1/k` without targets) and
    :math:`m_{ts} = w_t \\sum_u v_{us}`, territory :math:`t` is within the
    band in draw :math:`s` when
    :math:`(1 - \\tau) m_{ts} \\le x_{ts} \\le (1 + \\tau) m_{ts}`, with an
    allowance of :math:`10^{-9} \\max(1, (1 + \\tau) m_{ts})` at both edges:
    the test of :meth:`terrakit.design.problem.DesignProblem.draw_sums`, so
    a territory on the band's edge is within it here and in the design.
    Quantiles are numpy's (linear interpolation).  The relative deviation
    is NaN in a draw whose total is 0 (the territory is then within the
    band).  The territories are those holding units: a design territory
    left empty is not one, and the mean is taken over the others.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from terrakit.data.alignment import Alignment
    >>> units = gpd.GeoDataFrame(
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
    ...     index=pd.Index(["a", "b", "c"], name="unit_id"), crs="EPSG:4326")
    >>> al = Alignment.from_mapping({"a": "T1", "b": "T1", "c": "T2"})
    >>> draws = np.array([[10.0, 10.0], [20.0, 10.0], [30.0, 40.0]])
    >>> b = balance_on_draws(units, al, draws, 0.25)  # T1: 30, 20; T2: 30, 40
    >>> b["share_within_band"].tolist(), b.attrs["share_all_within_band"]
    ([0.5, 0.5], 0.5)
    >>> b["rel_dev_q50"].round(3).tolist()  # medians of (0, -1/3) and (0, 1/3)
    [-0.167, 0.167]
    """
    if not is_tolerance(tolerance):
        pct = as_number(tolerance)
        hint = (
            f"; for ±{pct:g} % pass {percent_as_fraction(pct)}"
            if 1.0 < pct < 100.0 and not isinstance(tolerance, bool)
            else ""
        )
        raise SpecificationError(
            f"tolerance must be a number in [0, 1) (0.25 is ±25 %), got "
            f"{tolerance!r}; it is the ±band around each territory's mean (or "
            f"target) in every draw{hint}"
        )
    tau = as_number(tolerance)
    ids = _units_of(study).index  # no measure derived
    _check_not_empty(ids)
    al = _alignment(study, alignment)
    labels = _labels(ids, al)
    terr = _territory_order(labels)
    v = draws_by_unit(draws, ids, table="draws")
    k = len(terr)
    share = np.full(k, 1.0 / k) if targets is None else _target_shares(targets, terr)
    sums = np.zeros((k, v.shape[1]))
    np.add.at(sums, pd.Index(terr).get_indexer(labels.to_numpy()), v)
    # the band and edge allowance of DesignProblem.draw_limits / draw_sums
    mean = share[:, None] * v.sum(axis=0)[None, :]
    lo, hi = (1 - tau) * mean, (1 + tau) * mean
    slack = 1e-9 * np.maximum(1.0, np.abs(hi))
    within = (sums >= lo - slack) & (sums <= hi + slack)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(mean != 0, sums / mean - 1.0, np.nan)
    q = (0.05, 0.5, 0.95)
    tq = np.quantile(sums, q, axis=1)
    dq = np.quantile(dev, q, axis=1)
    out = pd.DataFrame(
        {
            "q05": tq[0],
            "q50": tq[1],
            "q95": tq[2],
            "rel_dev_q05": dq[0],
            "rel_dev_q50": dq[1],
            "rel_dev_q95": dq[2],
            "share_within_band": within.mean(axis=1),
        },
        index=pd.Index(terr, name="territory_id"),
    )
    out.attrs.update(
        tolerance=tau,
        n_draws=int(v.shape[1]),
        share_all_within_band=float(within.all(axis=0).mean()),
    )
    return out


# -- compactness ---------------------------------------------------------------
def compactness(
    units: Any,
    alignment: AlignmentLike,
    weight: str | None = "workload",
    centers: Mapping[Hashable, tuple[float, float]] | pd.DataFrame | None = None,
    *,
    accounts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Shape and spread of every territory.

    Parameters
    ----------
    units
        A Study or a units GeoDataFrame.
    alignment
        The alignment (or its name in the study).
    weight
        Activity column weighting the moment of inertia (``None``: 1 per unit);
        its values must be >= 0.
    centers
        Optional center per territory: a mapping ``territory → (lon, lat)`` or
        a DataFrame indexed by territory with ``lon``/``lat`` or
        ``home_lon``/``home_lat`` columns (a reps table whose ids are the
        territory ids works).  Default: the weighted centroid.
    accounts
        Accounts table for derived measures (plain-table form, or instead of
        the study's accounts).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``territory_id``: ``moment_of_inertia`` (weight × km²),
        ``polsby_popper`` (NaN for point units).

    Notes
    -----
    * Moment of inertia :math:`I_t = \\sum_{i \\in t} w_i d_i^2`, with
      :math:`d_i` the geodesic distance (km, WGS84) from the unit's
      representative point to the center; the weighted centroid is the
      weighted mean of the points in :func:`~terrakit.data.geo.projected_crs`.
    * Polsby–Popper :math:`4\\pi A / P^2` of the dissolved territory in the
      projected CRS: 1 for a disc, about 0.785 for a square, towards 0 for
      elongated or ragged shapes.  A territory in several pieces uses their
      total area and perimeter.  The units are merged in the projected CRS,
      where an edge drawn straight in another CRS (lon/lat above all) is a
      chord of the curve its neighbour's extra vertices follow: the slivers
      this leaves between units (metres wide; they would split a territory
      and add their length twice to its perimeter) are closed, as is any
      gap narrower than :math:`2 r`, with :math:`r` the most an edge of the
      territory's units bows between lon/lat and the projected CRS (at
      least 0.5 m).  The result does not depend on the CRS the units are
      stored in.
    * Invalid polygons (a self-intersecting ring, common in exported
      shapefiles) are repaired with ``make_valid``, as the Study does when
      it loads units.
    """
    tabs = _tables(units, accounts)
    u = _valid_polygons(tabs.units)
    al = _alignment(units, alignment)
    labels = _labels(u.index, al)
    terr = _territory_order(labels)
    w = np.ones(len(u)) if weight is None else _weights(u, weight)
    if centers is None:
        cent = _centroids(u, labels, w, weight)
    else:
        cent = _center_table(centers, terr)
    lon, lat = lonlat(u)
    lab = labels.to_numpy()
    moi = {}
    for t in terr:
        sel = lab == t
        d = _geodesic_km(lon[sel], lat[sel], cent.loc[t, "lon"], cent.loc[t, "lat"])
        moi[t] = float(np.sum(w[sel] * d**2))
    out = pd.DataFrame(index=pd.Index(terr, name="territory_id"))
    out["moment_of_inertia"] = pd.Series(moi)
    geom = u.geometry
    if (geom.geom_type == "Point").all():
        out["polsby_popper"] = np.nan
    else:
        diss = _dissolve(geom, lab, terr)
        area, per = diss.area, diss.length
        out["polsby_popper"] = (4.0 * np.pi * area / per**2).where(per > 0)
    return out


#: The least radius (m) of the closing that merges units: rounding of
#: coordinates (6 decimals of a degree is ~0.1 m) leaves slivers this thin.
_MIN_SLIVER_M = 0.5


def _dissolve(geom: gpd.GeoSeries, lab: np.ndarray, terr: list[Any]) -> gpd.GeoSeries:
    """The territories' merged polygons in :func:`projected_crs`, slivers closed.

    The units' vertices are projected and their union per territory is
    closed (buffered out, then in, with mitred corners, which keeps corners
    and holes wider than twice the radius) with radius the territory's
    largest :func:`_edge_bows_m` (at least ``_MIN_SLIVER_M``): gaps left
    by edges that bow differently in the CRS the units were drawn in close,
    whatever CRS they are stored in.
    """
    import shapely

    proj = geom.to_crs(projected_crs(geom))
    bows = _edge_bows_m(proj)
    parts = proj.to_numpy()
    merged = []
    for t in terr:
        sel = lab == t
        r = max(_MIN_SLIVER_M, float(bows[sel].max()))
        union = shapely.union_all(parts[sel])
        merged.append(
            shapely.buffer(
                shapely.buffer(union, r, join_style="mitre"), -r, join_style="mitre"
            )
        )
    return gpd.GeoSeries(
        merged, index=pd.Index(terr, name="territory_id"), crs=proj.crs
    )


def _edge_bows_m(proj: gpd.GeoSeries) -> np.ndarray:
    """Per polygon of ``proj``, the most (m) one of its edges bows between
    being drawn straight in the CRS of ``proj`` and straight in lon/lat.

    That is the width of the sliver between a unit drawn in lon/lat with two
    vertices on a shared edge and its neighbour with more (a T-junction:
    ~4.5 m for an edge of 18.5 km at 34° N, growing as the square of the
    edge's length), or the reverse.  Edges shorter than 1 km (which bow
    less than ~1 cm) are skipped; points bow 0.
    """
    import shapely

    out = np.zeros(len(proj))
    parts, unit = shapely.get_parts(proj.to_numpy(), return_index=True)
    poly = shapely.get_type_id(parts) == 3  # make_valid may give collections
    rings, ring_part = shapely.get_rings(parts[poly], return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    a, b = xy[:-1][same], xy[1:][same]
    long = np.hypot(*(b - a).T) > 1_000.0
    if not long.any():
        return out
    a, b = a[long], b[long]
    edge_unit = unit[poly][ring_part][ring[:-1][same][long]]
    inv = pyproj.Transformer.from_crs(proj.crs, "EPSG:4326", always_xy=True)
    fwd = pyproj.Transformer.from_crs("EPSG:4326", proj.crs, always_xy=True)
    lon_a, lat_a = inv.transform(a[:, 0], a[:, 1])
    lon_b, lat_b = inv.transform(b[:, 0], b[:, 1])
    dlon = (np.asarray(lon_b) - lon_a + 180.0) % 360.0 - 180.0  # antimeridian
    mx, my = fwd.transform(lon_a + dlon / 2.0, (np.asarray(lat_a) + lat_b) / 2.0)
    bow = np.hypot(mx - (a[:, 0] + b[:, 0]) / 2.0, my - (a[:, 1] + b[:, 1]) / 2.0)
    np.maximum.at(out, edge_unit, np.nan_to_num(bow, nan=0.0, posinf=0.0))
    return out


def _valid_polygons(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``units`` with invalid polygons (a self-intersecting ring, common in
    exported shapefiles) repaired by ``make_valid``, as
    :func:`terrakit.data.validation.clean_units` does at the Study's door;
    NaN or infinite vertices, which GEOS cannot repair, are refused first
    (:func:`~terrakit.data.validation.check_geometries`)."""
    check_geometries(units.geometry, "units")
    return repair_polygons(units)


# -- contiguity ----------------------------------------------------------------
def contiguity(
    units: Any,
    alignment: AlignmentLike,
    adjacency: Adjacency | None = None,
) -> pd.Series:
    """Number of connected pieces of every territory (1 = contiguous).

    Parameters
    ----------
    units
        A Study or a units GeoDataFrame.
    alignment
        The alignment (or its name in the study).
    adjacency
        The unit graph; default queen contiguity of the units
        (:func:`terrakit.data.geo.adjacency`).

    Returns
    -------
    pandas.Series
        ``components`` per territory, indexed by ``territory_id``.

    Raises
    ------
    TypeError
        When ``adjacency`` is neither ``None`` nor an
        :class:`~terrakit.data.geo.Adjacency`.
    """
    require_adjacency(adjacency, error=TypeError)
    u = units.units if _is_study(units) else units
    _check_not_empty(u.index)
    al = _alignment(units, alignment)
    labels = _labels(u.index, al)
    terr = _territory_order(labels)
    if adjacency is None:
        m = build_adjacency(u).on_units(u.index).matrix
    else:
        m = adjacency.on_units(u.index).matrix
    lab = labels.to_numpy()
    # keep only edges inside a territory, then count components per territory
    coo = sp.coo_array(m)
    keep = lab[coo.row] == lab[coo.col]
    inner = sp.csr_array(
        (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=m.shape
    )
    _, comp = connected_components(inner, directed=False)
    counts = pd.Series(comp).groupby(lab).nunique()
    return (
        counts.reindex(terr)
        .astype(np.int64)
        .rename("components")
        .rename_axis("territory_id")
    )


def is_contiguous(
    units: Any, alignment: AlignmentLike, adjacency: Adjacency | None = None
) -> bool:
    """``True`` when every territory is in one piece (see :func:`contiguity`)."""
    return bool((contiguity(units, alignment, adjacency) == 1).all())


# -- disruption ----------------------------------------------------------------
def disruption(
    study: Any,
    before: AlignmentLike,
    after: AlignmentLike,
    *,
    accounts: pd.DataFrame | None = None,
) -> pd.Series:
    """How much changes between two alignments.

    Parameters
    ----------
    study
        A Study or a units GeoDataFrame.
    before, after
        The two alignments (or their names in the study).
    accounts
        Accounts table (plain-table form); moved accounts are counted through
        ``accounts.unit_id``, moved sales through ``accounts.annual_sales``.
        Without accounts, the units' ``accounts``/``sales`` columns are used
        when present.

    Returns
    -------
    pandas.Series
        ``units_moved``, ``units_moved_share``, ``accounts_moved``,
        ``accounts_moved_share``, ``sales_moved``, ``sales_moved_share``
        (shares of the totals; NaN where the data are absent).

    Raises
    ------
    DataValidationError
        When ``accounts.annual_sales`` has missing values (the moved share
        of sales cannot be computed) or values that are text, infinite or
        negative, when given accounts have no ``unit_id`` column or repeat
        an id, when an account's ``unit_id`` is not a
        unit of the table (integer ids given as text, or the reverse, are
        matched), or when the two alignments' territory ids differ only in
        type (``'1'`` and ``1``), as :func:`terrakit.plot.diff_map` refuses
        them.

    Notes
    -----
    Territory ids are compared as given: relabelling every territory counts
    as moving everything.
    """
    units = _units_of(study, "pass study or study.units with accounts=...")
    _check_not_empty(units.index)
    if accounts is not None:
        _check_given_accounts(accounts)
    acc = (
        accounts
        if accounts is not None
        else (study.accounts if _is_study(study) else None)
    )
    a_al, b_al = _alignment(study, before), _alignment(study, after)
    from terrakit.realign.impact import check_territory_ids

    # '1' and 1 would count every unit as moved
    check_territory_ids(a_al.territories, b_al.territories, a_al.name, b_al.name)
    a = _labels(units.index, a_al, "before alignment")
    b = _labels(units.index, b_al, "after alignment")
    moved = a.to_numpy() != b.to_numpy()
    moved_units = units.index[moved]
    out: dict[str, float] = {
        "units_moved": float(moved.sum()),
        "units_moved_share": float(moved.mean()) if len(moved) else float("nan"),
    }
    if acc is not None and "unit_id" in acc.columns:
        # int ids against text ids matched nothing: 0 accounts moved, silently
        am = _account_units(acc, units.index).isin(moved_units).to_numpy()
        out["accounts_moved"] = float(am.sum())
        out["accounts_moved_share"] = float(am.mean()) if len(am) else float("nan")
        if "annual_sales" in acc.columns:
            from terrakit.data.study import _refuse_missing_inputs

            # text, infinite or negative sales refused as at the Study's door
            acc = _check_numeric(acc, "accounts", ["annual_sales"], required=False)
            # a missing sale would make every share NaN (or, as 0, too small)
            _refuse_missing_inputs(acc, "annual_sales", "sales")
            s = acc["annual_sales"].astype(float).to_numpy()
            out["sales_moved"] = float(s[am].sum())
            out["sales_moved_share"] = (
                float(s[am].sum() / s.sum()) if s.sum() else float("nan")
            )
        else:
            out["sales_moved"] = out["sales_moved_share"] = float("nan")
    else:
        for col in ("accounts", "sales"):
            if col in units.columns:
                v = _finite_measure(units, col).to_numpy()
                out[f"{col}_moved"] = float(v[moved].sum())
                out[f"{col}_moved_share"] = (
                    float(v[moved].sum() / v.sum()) if v.sum() else float("nan")
                )
            else:
                out[f"{col}_moved"] = out[f"{col}_moved_share"] = float("nan")
    return pd.Series(out, name="disruption")

"""Sales forecasts per unit or account that add up along any alignment."""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from terrakit._runargs import check_seed
from terrakit._sampling import Diagnostics
from terrakit.data.alignment import Alignment, make_provenance
from terrakit.data.validation import (
    _align_id_dtype,
    _id_kind,
    _leading_zeros,
    require_study,
)
from terrakit.exceptions import (
    DataValidationError,
    NotFittedError,
    SpecificationError,
    TerrakitWarning,
)
from terrakit.forecast.model import (
    Panel,
    PanelFit,
    _pooling,
    _refuse_rows_without_period,
    _simulate_paths,
    _window_length,
    fit_panel,
    forecast_diagnostics,
    make_panel,
    merge_configs,
    summarise_draws,
)
from terrakit.metrics import _territory_order

__all__ = [
    "FittedSalesForecaster",
    "SalesForecast",
    "SalesForecaster",
    "TerritoryForecast",
    "study_panel",
]

Level = Literal["unit", "account"]
#: interval rule of the summaries (see :func:`terrakit.forecast.model.summarise_draws`)
Intervals = Literal["central", "zero_atom"]


def study_panel(
    study: Any, level: Level = "unit", groups: str | None = "auto"
) -> tuple[Panel, pd.Series]:
    """Map a study's history onto a :class:`~terrakit.forecast.model.Panel`.

    Parameters
    ----------
    study
        A :class:`~terrakit.data.Study` with a history.
    level
        ``"unit"``: one series per unit (account sales summed by the account's
        unit); ``"account"``: one series per account.  A unit's month in
        which one of its accounts that was active then has no row is
        unobserved (``NaN``), as that account's month is at account level:
        the other accounts' sum would read the missing month as 0 sales.
        An account is active from its first history row to the history's
        last period (a late extract, a partial last month), or to its last
        row when it has ended: no row in the history's last season (12
        months, 4 quarters; the rule by which
        :func:`~terrakit.forecast.model.ended_series` forecasts it at 0).
    groups
        Column used as pooling group: of ``accounts`` at account level, of
        ``units`` at unit level.  ``"auto"`` uses ``segment`` for accounts and
        ``region`` / ``state`` for units when present; ``None`` pools all
        series in one group.

    Returns
    -------
    panel, series_unit
        The panel and the unit of every series (for :meth:`SalesForecast.by`).

    Raises
    ------
    DataValidationError
        When ``study`` is not a :class:`~terrakit.data.Study` (e.g. its
        history), the study has no history, history rows have no period
        (``NaT``), its sales are all 0, or account level is asked of a
        history kept per unit.
    SpecificationError
        On an unknown ``level``, or ``groups`` that is not a column name,
        ``"auto"`` or ``None``, or names no column of the level's table
        (``accounts`` at account level, ``units`` at unit level; a column of
        the other table is named as such, with the level to use).

    Warns
    -----
    TerrakitWarning
        At unit level, when active accounts have months without a row: the
        accounts and months are named, and their units' months are left
        unobserved (the panel still reaches the history's last period).
    """
    return _study_panel(study, level, groups, stacklevel=3)[:2]


def _study_panel(
    study: Any, level: Level, groups: str | None, *, stacklevel: int
) -> tuple[Panel, pd.Series, str | None]:
    """:func:`study_panel` and the pooling column it resolved (``None``: one
    group); its own warnings are raised ``stacklevel`` frames up."""
    require_study(
        study,
        "a Study with a sales history",
        table="history",
        tables="history",
        fix="pass the Study, e.g. fit(study), or build one with "
        "tk.data.Study(units, accounts=accounts, history=history)",
    )
    if groups is not None and not isinstance(groups, str):
        raise SpecificationError(
            f"groups must be the name of one column, 'auto' or None, got "
            f"{groups!r} ({type(groups).__name__}). Fix: pass e.g. "
            "groups='segment'; the series of one group are pooled together"
        )
    if level not in ("unit", "account"):
        raise SpecificationError(f"level must be 'unit' or 'account', got {level!r}")
    hist = study.history
    if hist is None or len(hist) == 0:
        raise DataValidationError(
            "history",
            None,
            "the study has no sales history to forecast from",
            fix="build the study with history=... (account_id, period, sales)",
        )
    accounts = study.accounts
    units = study.units
    if "account_id" in hist.columns:
        if accounts is None or "unit_id" not in accounts.columns:
            raise DataValidationError(
                "accounts",
                "unit_id",
                "the history is kept per account but accounts have no unit_id",
                fix="load accounts with a unit_id column",
            )
        acc_unit = accounts["unit_id"]
        if level == "account":
            long = hist[["account_id", "period", "sales"]].rename(
                columns={"account_id": "series"}
            )
            series_unit = acc_unit
            gcol = _group_column(
                accounts, groups, ("segment",), level, other=("units", units)
            )
            gser = None if gcol is None else accounts[gcol]
        else:
            # a unit's sales in a month: the sum over its accounts (rows
            # without a period would be dropped by the sum without a word)
            _refuse_rows_without_period(hist, "account_id", "sales")
            long = (
                pd.DataFrame(
                    {
                        "series": acc_unit.reindex(hist["account_id"]).to_numpy(),
                        "period": hist["period"].to_numpy(),
                        "sales": hist["sales"].to_numpy(),
                    }
                )
                .groupby(["series", "period"], as_index=False, sort=True)["sales"]
                .sum()
            )
            long = _drop_partial_unit_months(
                long, hist, acc_unit, stacklevel=stacklevel + 1
            )
            series_unit = pd.Series(units.index, index=units.index)
            gcol = _group_column(
                units, groups, ("region", "state"), level, other=("accounts", accounts)
            )
            gser = None if gcol is None else units[gcol]
    else:
        if level == "account":
            raise DataValidationError(
                "history",
                "account_id",
                "account-level forecasts need a history per account, but the "
                "history is kept per unit",
                fix="use level='unit' or load an account-level history",
            )
        long = hist[["unit_id", "period", "sales"]].rename(
            columns={"unit_id": "series"}
        )
        series_unit = pd.Series(units.index, index=units.index)
        gcol = _group_column(units, groups, ("region", "state"), level)
        gser = None if gcol is None else units[gcol]
    panel = _through(
        make_panel(long, key="series", value="sales", groups=gser), hist["period"]
    )
    if not (np.nan_to_num(panel.values) > 0).any():
        raise DataValidationError(
            "history",
            "sales",
            f"all {len(hist)} sales values are 0 ({panel.periods[0]}.."
            f"{panel.periods[-1]}), so every forecast would be 0",
            fix="check that the history's sales column holds the sales (not "
            "e.g. a flag), and that it was read with the right units",
        )
    series_unit = series_unit.reindex(panel.series)
    series_unit.index.name = "series"
    return panel, series_unit, gcol


def _drop_partial_unit_months(
    long: pd.DataFrame, hist: pd.DataFrame, acc_unit: pd.Series, *, stacklevel: int
) -> pd.DataFrame:
    """``long`` (unit, period, summed sales) without the unit-months in which
    an account active then has no row of ``hist``: such a month is
    unobserved for the unit, as it is for the account, not the other
    accounts' sum (which reads it as 0 sales).  An account is active from its
    first row to the history's last period, or to its last row when it has
    ended (no row in the history's last season, as
    :func:`~terrakit.forecast.model.ended_series` decides at the default
    ``ended_after``): the months an account that has not ended misses at the
    end (a late extract, a partial last month) are unobserved at account
    level, and the account is forecast as usual.  A :class:`TerrakitWarning`
    names the accounts and months."""
    per = hist["period"]
    if not isinstance(per.dtype, pd.PeriodDtype):
        return long  # make_panel refuses it, with the fix
    freq = per.dtype.freq.name
    if not freq.startswith(("M", "Q")):
        return long  # make_panel refuses it, with the fix
    season = 12 if freq.startswith("M") else 4
    what = "months" if season == 12 else "quarters"
    ordinal = per.array.asi8
    end = int(ordinal.max())
    rows = pd.DataFrame({"a": hist["account_id"].to_numpy(), "o": ordinal})
    span = rows.groupby("a", sort=True)["o"].agg(["min", "max", "size"])
    # an account that has not ended is active up to the history's last period
    stop = span["max"].where(end - span["max"] >= season, end)
    gappy = span[stop - span["min"] + 1 > span["size"]]
    if gappy.empty:
        return long
    stop = stop[gappy.index]
    length = (stop - gappy["min"] + 1).to_numpy()
    start = np.repeat(np.cumsum(length) - length, length)
    full = pd.MultiIndex.from_arrays(
        [
            np.repeat(gappy.index.to_numpy(), length),
            np.repeat(gappy["min"].to_numpy(), length)
            + (np.arange(int(length.sum())) - start),
        ]
    )
    seen = pd.MultiIndex.from_arrays([rows["a"].to_numpy(), rows["o"].to_numpy()])
    holes = full[~full.isin(seen)]
    acc = holes.get_level_values(0)
    ords = holes.get_level_values(1).to_numpy()
    months = pd.PeriodIndex.from_ordinals(ords, freq=per.dtype.freq)
    units = acc_unit.reindex(acc).to_numpy()
    lost = pd.MultiIndex.from_arrays([units, months])
    keep = ~pd.MultiIndex.from_frame(long[["series", "period"]]).isin(lost)
    n_um = len(lost.unique())
    n_late = int((ords > span["max"].reindex(acc).to_numpy()).sum())
    late = (
        f"; {n_late} of them after the account's last row: a late or partial extract?"
        if n_late
        else ""
    )
    last = pd.Period(ordinal=end, freq=per.dtype.freq)
    shown = ", ".join(f"{a} {p}" for a, p in list(zip(acc, months, strict=True))[:5])
    more = f" and {len(holes) - 5} more" if len(holes) > 5 else ""
    warnings.warn(
        f"{len(gappy)} accounts have {what} without a history row although "
        f"they were active then (from their first row to the history's last "
        f"period, {last}, or to their last row when they have ended: no row in "
        f"the last {season} {what}): {shown}{more} ({len(holes)} account-"
        f"{what}{late}). The {n_um} unit-{what} they fall in are left unobserved "
        "(NaN), not summed over the other accounts, which would read them as 0 "
        f"sales. Fix: add rows with sales 0 for the {what} an account sold "
        "nothing, or complete the extract",
        TerrakitWarning,
        stacklevel=stacklevel,
    )
    return long[keep].reset_index(drop=True)


def _through(panel: Panel, periods: pd.Series) -> Panel:
    """``panel`` reaching the history's last period: its last periods are
    kept as unobserved (NaN) when every unit-month of them was left
    unobserved (:func:`_drop_partial_unit_months`, e.g. a partial last month
    extracted for a few accounts only), so that the forecast starts after the
    history at unit level as at account level."""
    if not isinstance(periods.dtype, pd.PeriodDtype) or not len(periods):
        return panel
    last = periods.max()
    if panel.periods[-1] >= last:
        return panel
    span = pd.period_range(panel.periods[0], last, freq=panel.periods.freq)
    pad = np.full((panel.n_series, len(span) - len(panel.periods)), np.nan)
    return dataclasses.replace(
        panel,
        values=np.concatenate([panel.values, pad], axis=1),
        periods=pd.PeriodIndex(span),
    )


def _group_column(
    table: pd.DataFrame,
    groups: str | None,
    auto: tuple[str, ...],
    level: str,
    *,
    other: tuple[str, pd.DataFrame | None] | None = None,
) -> str | None:
    """The pooling column of ``table`` (the units at unit level, the accounts
    at account level); ``other``, the other table by name, says which level
    a column of it would need."""
    if groups is None:
        return None
    if groups == "auto":
        return next((c for c in auto if c in table.columns), None)
    if groups not in table.columns:
        name = "units" if level == "unit" else "accounts"
        fix = f"pass a column of the {name} table, 'auto' or None (one group)"
        if other is not None and other[1] is not None and groups in other[1].columns:
            to = "account" if level == "unit" else "unit"
            fix = (
                f"{groups!r} is a column of the {other[0]} table: fit "
                f"level={to!r} to pool {other[0]} by it, add the column to the "
                f"{name} table, or {fix}"
            )
        raise SpecificationError(
            f"pooling group column {groups!r} is not in the {name} table, "
            f"whose columns group the series at level={level!r}; columns are "
            f"{list(table.columns)}. Fix: {fix}"
        )
    return groups


@dataclass(frozen=True)
class TerritoryForecast:
    """Forecast draws summed by territory.

    Attributes
    ----------
    draws
        ``(draw, territory, period)`` DataArray of territory sales — sums of
        the series' draws (taken in float64), so intervals are exact for any
        alignment and the company total is the same for every alignment.
    history
        ``(territory, period)`` DataArray of past sales (for plots, quotas):
        the sum of the territory's observed series; NaN in a period in which
        none of them was observed (no history row), never 0 sales.
    alignment_name
        The alignment the series were summed by.
    provenance
        The series forecast's provenance (seed, configuration, versions)
        with the alignment's name and provenance added.
    history_observed
        ``(territory, period)`` DataArray: how many of the territory's series
        were observed in each period, with the territory's number of series
        as the coordinate ``n_series``.  Where it is above 0 and below
        ``n_series``, ``history`` is a partial total (the observed series
        only).  ``None`` when not known (a forecast built by hand).
    """

    draws: xr.DataArray
    history: xr.DataArray
    alignment_name: str = "alignment"
    provenance: Mapping[str, Any] = field(default_factory=dict)
    history_observed: xr.DataArray | None = None

    def __post_init__(self) -> None:
        if self.draws.dims != ("draw", "territory", "period"):
            raise ValueError(
                f"draws must have dims (draw, territory, period), got {self.draws.dims}"
            )

    @property
    def territories(self) -> list[Any]:
        return list(self.draws["territory"].to_numpy())

    def to_frame(self, intervals: Intervals = "central") -> pd.DataFrame:
        """Long frame: territory, period, mean, lo80, hi80, lo95, hi95.

        ``intervals="zero_atom"`` gives ``[0, q80]`` / ``[0, q95]`` where a
        territory-month has a point mass at zero (see
        :func:`~terrakit.forecast.model.summarise_draws`)."""
        return _summarise(self.draws, "territory", intervals)

    def total(self, intervals: Intervals = "central") -> pd.DataFrame:
        """Mean and intervals of each territory's sales over the whole horizon
        (summed in float64, whatever the draws' dtype)."""
        tot = self.draws.sum("period", dtype=np.float64)
        s = summarise_draws(tot.to_numpy().astype(float), intervals=intervals)
        out = pd.DataFrame(
            {k: s[k] for k in ("mean", "lo80", "hi80", "lo95", "hi95")},
            index=pd.Index(tot["territory"].to_numpy(), name="territory_id"),
        )
        return out

    def combined(self, name: Any = "all") -> TerritoryForecast:
        """The company as one territory ``name``: draws and history summed.

        Draws are summed draw by draw (in float64), so the intervals are
        exact and the company total does not depend on the alignment.  A month in
        which no territory was observed stays unobserved (NaN), not 0 sales;
        ``history_observed`` (when known) counts the observed series of every
        territory, so a partial total is told apart as in :meth:`by`.
        """
        seen = self.history_observed
        if seen is not None:
            n_all = int(seen["n_series"].sum())
            seen = (
                seen.drop_vars("n_series")
                .sum("territory")
                .expand_dims(territory=[name])
                .assign_coords(n_series=("territory", [n_all]))
            )
        return TerritoryForecast(
            draws=self.draws.sum("territory", dtype=np.float64)
            .expand_dims(territory=[name])
            .transpose("draw", "territory", "period"),
            history=self.history.sum("territory", min_count=1).expand_dims(
                territory=[name]
            ),
            alignment_name=self.alignment_name,
            provenance=self.provenance,
            history_observed=seen,
        )

    def summary(self) -> str:
        """Rounded, stable text: horizon totals per territory (one decimal,
        thousands separated)."""
        p = self.draws["period"].to_numpy()
        head = (
            f"Territory forecast ({self.alignment_name}): "
            f"{len(self.territories)} territories, {p[0]}..{p[-1]}, "
            f"{self.draws.sizes['draw']} draws"
        )
        tot = self.total().map(lambda x: f"{(round(float(x), 1) or 0.0):,.1f}")
        return head + "\n" + tot.to_string()


@dataclass(frozen=True)
class SalesForecast:
    """Posterior-predictive sales draws per series (unit or account).

    Attributes
    ----------
    draws
        ``(draw, series, period)`` DataArray of future sales.
    history
        ``(series, period)`` DataArray of the past sales the model saw.
    series_unit
        Unit of every series (identity at unit level), indexed by series id.
    level
        ``"unit"`` or ``"account"``.
    provenance
        Seed, configuration, versions.
    unit_potential
        The units' ``potential`` (or ``sales``) column, for quotas.
    unit_ids
        The ids of the study's units (recorded by
        :meth:`SalesForecaster.fit`): :meth:`by` and
        :func:`~terrakit.forecast.quota` refuse an alignment that names other
        units.  ``None`` (a forecast built by hand): the units of
        ``unit_potential``, else the units are not checked.

    ``history`` and ``series_unit`` are matched to ``draws["series"]`` by
    series id: given in another order they are put in the draws' order, and
    entries for series without draws (e.g. a forecast subset with
    ``draws.sel(series=...)``) are left out.

    Raises
    ------
    ValueError
        When ``draws`` or ``history`` do not have the dims above.
    DataValidationError
        When series of the draws have no history or no unit, or the history
        or ``series_unit`` hold a series id twice.
    """

    draws: xr.DataArray
    history: xr.DataArray
    series_unit: pd.Series
    level: str = "unit"
    provenance: Mapping[str, Any] = field(default_factory=dict)
    unit_potential: pd.Series | None = None
    unit_ids: pd.Index | None = None

    def __post_init__(self) -> None:
        if self.draws.dims != ("draw", "series", "period"):
            raise ValueError(
                f"draws must have dims (draw, series, period), got {self.draws.dims}"
            )
        if set(self.history.dims) != {"series", "period"}:
            raise ValueError(
                f"history must have dims (series, period), got {self.history.dims}"
            )
        ids = pd.Index(self.draws["series"].to_numpy())
        hist = self.history
        if hist.dims != ("series", "period"):
            hist = hist.transpose("series", "period")
        have = pd.Index(hist["series"].to_numpy())
        if not have.equals(ids):
            _check_series_ids(have, ids, "history")
            hist = hist.sel(series=ids.to_numpy())
        if hist is not self.history:
            object.__setattr__(self, "history", hist)
        have = pd.Index(self.series_unit.index)
        if not have.equals(ids):
            _check_series_ids(have, ids, "series_unit")
            su = self.series_unit.reindex(ids)
            su.index.name = self.series_unit.index.name
            object.__setattr__(self, "series_unit", su)

    @property
    def horizon(self) -> int:
        return int(self.draws.sizes["period"])

    def to_frame(self, intervals: Intervals = "central") -> pd.DataFrame:
        """Long frame per series: series, period, mean, lo80, hi80, lo95, hi95.

        ``intervals="zero_atom"`` suits intermittent series (see
        :func:`~terrakit.forecast.model.summarise_draws`)."""
        return _summarise(self.draws, "series", intervals)

    def by(self, alignment: Alignment) -> TerritoryForecast:
        """Sum the draws by the territories of ``alignment``.

        Parameters
        ----------
        alignment
            Any alignment of the study's units (current, proposed, what-if).

        Returns
        -------
        TerritoryForecast
            Its ``history`` sums the observed series of each territory: a
            period in which none of them was observed (no history row: before
            a series starts, a gap in the data) is NaN, not 0 sales; one in
            which only some were is the sum of those, and
            ``history_observed`` counts them so that it can be told apart
            (the fan chart marks it).

        Raises
        ------
        DataValidationError
            When units that carry forecasts are missing from the alignment,
            the alignment names units that are not in the study the forecast
            was fitted on (see ``unit_ids``), or draws are NaN or infinite
            (summed by territory, one such draw would turn that draw of every
            territory into NaN).
        TypeError
            When ``alignment`` is not an :class:`~terrakit.data.Alignment`
            (e.g. its name).

        Warns
        -----
        TerrakitWarning
            When territories have no unit with a sales history; they are
            kept with a forecast of 0.

        Notes
        -----
        Each draw is summed over the series of a territory (in float64, so
        that the territories of any alignment add up to the same company
        total), and the summary is taken over the summed draws; intervals
        therefore include the
        dependence between series that the posterior carries (shared
        parameters), and are never the (wrong) sum of the series' intervals.
        """
        return self._by(alignment, stacklevel=3)

    def _by(self, alignment: Alignment, *, stacklevel: int) -> TerritoryForecast:
        """:meth:`by`, its warnings ``stacklevel`` frames up (the user's line
        when called through :func:`~terrakit.forecast.quota`)."""
        if not isinstance(alignment, Alignment):
            hint = (
                f"pass the alignment itself, e.g. study.alignments[{alignment!r}]"
                if isinstance(alignment, str)
                else "pass e.g. study.alignments['current']"
            )
            raise TypeError(
                f"by() takes an Alignment, got {type(alignment).__name__} "
                f"{alignment!r}; {hint}"
            )
        check_finite_draws(self)
        units = self.series_unit.to_numpy()
        assignment = _unit_keyed(alignment.assignment, pd.Index(units))
        terr = assignment.reindex(pd.Index(units))
        missing = terr.isna().to_numpy()
        if missing.any():
            bad = list(dict.fromkeys(units[missing]))
            raise DataValidationError(
                "alignment",
                "unit_id",
                f"{len(bad)} units with a sales forecast are not in alignment "
                f"{alignment.name!r}",
                rows=[_plain(u) for u in bad],
                n_bad=len(bad),
                fix="use an alignment that covers every unit of the study"
                + _id_type_hint(assignment.index, pd.Index(units), "the alignment"),
            )
        self._refuse_unknown_units(assignment.index, alignment.name)
        # territories in terrakit.metrics' order: numbers numerically, ids of
        # mixed types (101, 102, 'vacant') as text, which sorting could not
        names = pd.Index(_territory_order(assignment))
        codes = names.get_indexer(terr.to_numpy())
        # territories whose units have no sales history carry no series: they
        # are kept with zero sales (left out, a quota table would lack them)
        empty = list(names[np.bincount(codes, minlength=len(names)) == 0])
        if len(empty):
            warnings.warn(
                f"{len(empty)} of the {len(names)} territories of alignment "
                f"{alignment.name!r} have no unit with a sales history (e.g. "
                f"{[_plain(t) for t in empty[:5]]}); their forecast is 0",
                TerrakitWarning,
                stacklevel=stacklevel,
            )
        k = len(names)
        ind = np.zeros((len(units), k), dtype=np.float64)
        ind[np.arange(len(units)), codes] = 1.0
        # in float64: float32 sums of draws in the millions were off by up to
        # 16 for the company, differently for each alignment (a few draws at a
        # time: a float64 copy of every account's draws would double them)
        d = self.draws.to_numpy()
        summed = np.empty((d.shape[0], k, d.shape[2]))
        for i in range(0, d.shape[0], 64):
            summed[i : i + 64] = ind.T @ d[i : i + 64].astype(np.float64)
        draws = xr.DataArray(
            summed,
            dims=("draw", "territory", "period"),
            coords={
                "draw": self.draws["draw"].to_numpy(),
                "territory": names,
                "period": self.draws["period"].to_numpy(),
            },
            name="sales",
        )
        # an unobserved series-month (NaN: no history row) is not 0 sales: a
        # territory none of whose series was observed has no history that
        # month (NaN); one with some observed gets their sum, and the count of
        # observed series says it is partial
        y = np.asarray(self.history.to_numpy(), dtype=float)
        seen = ~np.isnan(y)
        member = ind.T.astype(np.int64)
        n_seen = member @ seen.astype(np.int64)
        hist = np.where(n_seen > 0, ind.T @ np.where(seen, y, 0.0), np.nan)
        past = {"territory": names, "period": self.history["period"].to_numpy()}
        history = xr.DataArray(
            hist, dims=("territory", "period"), coords=past, name="sales"
        )
        observed = xr.DataArray(
            n_seen,
            dims=("territory", "period"),
            coords=past | {"n_series": ("territory", member.sum(axis=1))},
            name="observed_series",
        )
        prov = dict(
            self.provenance,
            alignment=alignment.name,
            alignment_provenance=dict(alignment.provenance),
        )
        return TerritoryForecast(draws, history, alignment.name, prov, observed)

    def _refuse_unknown_units(self, ids: pd.Index, name: str) -> None:
        """A :class:`DataValidationError` for alignment unit ``ids`` that are
        not units of the study (``unit_ids``, as
        :class:`~terrakit.data.Study` refuses them): a territory of such units
        would get a forecast and a target of 0, and a P(attain) of 100 %."""
        known = self.unit_ids
        if known is None and self.unit_potential is not None:
            known = pd.Index(self.unit_potential.index)
        if known is None:
            return
        known = known.union(pd.Index(self.series_unit.to_numpy()))
        extra = ids.difference(known)
        if not len(extra):
            return
        zeros, zero_fix = _leading_zeros(
            list(extra), known, table="alignment", ref="units"
        )
        raise DataValidationError(
            "alignment",
            "unit_id",
            f"alignment {name!r} names {len(extra)} units that are not in the "
            f"study the forecast was fitted on ({len(known)} units){zeros}",
            rows=[_plain(u) for u in extra],
            n_bad=len(extra),
            fix=zero_fix
            or "drop those units from the alignment, or fit the forecast on a "
            "study whose units table has them"
            + _id_type_hint(ids, known, "the alignment"),
        )

    def summary(self) -> str:
        """Rounded, stable text: totals over the horizon (summed in float64)."""
        tot = self.draws.sum(("series", "period"), dtype=np.float64).to_numpy()
        lo, hi = np.quantile(tot, [0.1, 0.9])
        p = self.draws["period"].to_numpy()
        return (
            f"Sales forecast ({self.level} level): "
            f"{self.draws.sizes['series']} series, {p[0]}..{p[-1]}, "
            f"{self.draws.sizes['draw']} draws\n"
            f"total {tot.mean():,.1f} (80 % interval {lo:,.1f} – {hi:,.1f})"
        )


def _check_series_ids(have: pd.Index, ids: pd.Index, what: str) -> None:
    """Refuse a :class:`SalesForecast` ``history`` or ``series_unit`` whose
    series ids (``have``) lack some of the draws' (``ids``) or repeat one:
    they are matched to the draws by id, never by position."""
    missing = ids.difference(have)
    if len(missing):
        part = "no history" if what == "history" else "no unit in series_unit"
        raise DataValidationError(
            "forecast",
            what,
            f"{len(missing)} of the {len(ids)} series of the draws have {part} "
            f"({what} holds {len(have)} series, matched to the draws' by id)",
            rows=[_plain(x) for x in missing],
            n_bad=len(missing),
            fix=f"give the {what} of every series of the draws, e.g. "
            f"dataclasses.replace(forecast, draws=..., {what}=forecast.{what}"
            + (".sel(series=...))" if what == "history" else ".loc[...])"),
        )
    if not have.is_unique:
        dup = list(dict.fromkeys(have[have.duplicated()]))
        raise DataValidationError(
            "forecast",
            what,
            f"{len(dup)} series ids occur more than once in the {what}",
            rows=[_plain(x) for x in dup],
            n_bad=len(dup),
            fix=f"give each series once in the {what}",
        )


def check_finite_draws(forecast: SalesForecast) -> None:
    """Refuse a forecast whose draws hold NaN or infinite sales.

    Raises
    ------
    DataValidationError
        Naming the series (with their units), the periods and how many draws
        are affected.  Summed by territory, one NaN turned that draw of every
        territory into NaN (0 × NaN), and the summaries then skipped it, so
        every target and P(attain) changed without a word.
    """
    a = np.asarray(forecast.draws.to_numpy(), dtype=float)
    bad = ~np.isfinite(a)
    if not bad.any():
        return
    series = forecast.draws["series"].to_numpy()
    periods = forecast.draws["period"].to_numpy()
    units = forecast.series_unit.to_numpy()
    s_bad = np.flatnonzero(bad.any(axis=(0, 2)))
    p_bad = [str(periods[j]) for j in np.flatnonzero(bad.any(axis=(0, 1)))]
    n_draws = int(bad.any(axis=(1, 2)).sum())
    rows = [
        _plain(series[i])
        if forecast.level == "unit" or series[i] == units[i]
        else f"{_plain(series[i])} (unit {_plain(units[i])})"
        for i in s_bad
    ]
    what = "NaN" if np.isnan(a).any() and not np.isinf(a).any() else "NaN or infinite"
    raise DataValidationError(
        "forecast",
        "draws",
        f"{n_draws} of {a.shape[0]} draws hold {what} sales, in "
        f"{len(s_bad)} of {a.shape[1]} series and {len(p_bad)} of "
        f"{a.shape[2]} periods ({', '.join(p_bad[:5])}"
        f"{' ...' if len(p_bad) > 5 else ''}); summed by territory, they would "
        "make that draw of every territory NaN",
        rows=rows,
        n_bad=len(s_bad),
        fix="predict again (check the fit's diagnostics), or drop the draws "
        "that are not finite: dataclasses.replace(forecast, "
        "draws=forecast.draws.where(np.isfinite(forecast.draws)).dropna('draw'))",
    )


def _unit_keyed(values: pd.Series, unit_ids: pd.Index) -> pd.Series:
    """``values`` (indexed by unit id) with ids of another type that are the
    same ids (``'13121'`` for ``13121``) turned into the type of ``unit_ids``,
    as :mod:`terrakit.metrics` reads an alignment; other ids are kept as given.
    """
    idx = values.index
    if idx.dtype != unit_ids.dtype and len(idx.intersection(unit_ids)) == 0:
        conv = _align_id_dtype(pd.Series(idx), unit_ids)
        values = pd.Series(
            values.to_numpy(),
            index=pd.Index(conv, name=idx.name),
            name=values.name,
        )
    return values


def _id_type_hint(given: pd.Index, unit_ids: pd.Index, what: str) -> str:
    """`` (check the id type: ...)`` when ``given`` holds ids of another type
    than ``unit_ids`` (text for numbers), else ``""``."""
    if not len(given) or not len(unit_ids):
        return ""
    g, u = _plain(given[0]), _plain(unit_ids[0])
    kind, unit_kind = (
        "numbers" if k == "number" else k for k in (_id_kind(g), _id_kind(u))
    )
    if kind == unit_kind:
        return ""
    return (
        f" (check the id type: {what}'s unit ids are {kind} (e.g. {g!r}), the "
        f"forecast's are {unit_kind} (e.g. {u!r}), and {g!r} is not {u!r})"
    )


def _plain(x: Any) -> Any:
    """A series id as a plain Python value (for JSON provenance)."""
    return x.item() if isinstance(x, np.generic) else x


def _summarise(
    draws: xr.DataArray, dim: str, intervals: Intervals = "central"
) -> pd.DataFrame:
    a = draws.to_numpy().astype(float)
    s = summarise_draws(a, intervals=intervals)
    ids = draws[dim].to_numpy()
    periods = draws["period"].to_numpy()
    n_i, n_p = a.shape[1], a.shape[2]
    out = pd.DataFrame(
        {
            dim if dim != "territory" else "territory_id": np.repeat(ids, n_p),
            "period": np.tile(periods, n_i),
        }
    )
    for k in ("mean", "lo80", "hi80", "lo95", "hi95"):
        out[k] = s[k].ravel()
    return out


@dataclass(frozen=True)
class FittedSalesForecaster:
    """A fitted forecast model (returned by :meth:`SalesForecaster.fit`).

    Attributes
    ----------
    fit
        The underlying :class:`~terrakit.forecast.model.PanelFit` (posterior in
        ``fit.idata``, with config, version and config hash in its attrs).
    series_unit
        Unit of every series.
    level
        ``"unit"`` or ``"account"``.
    unit_potential
        The units' ``potential`` (or ``sales``) column, for quotas.
    unit_ids
        The ids of the study's units, passed on to the forecasts (see
        :attr:`SalesForecast.unit_ids`).
    """

    fit: PanelFit
    series_unit: pd.Series
    level: str
    unit_potential: pd.Series | None = None
    unit_ids: pd.Index | None = None

    @property
    def idata(self) -> Any:
        return self.fit.idata

    def predict(
        self,
        horizon: int = 12,
        *,
        n_draws: int | None = None,
        seed: int | None = None,
        ended_after: int | None = None,
        forecast_ended: bool = False,
    ) -> SalesForecast:
        """Draws of future sales per series.

        Parameters
        ----------
        horizon
            Months ahead (≥ 1).
        n_draws
            Posterior draws to use (default: all).
        seed
            Seed of the simulated noise and of the choice of posterior
            draws (default: the fit's seed).  The posterior itself was
            drawn with the fit's seed (:meth:`SalesForecaster.fit`); both
            are recorded in the provenance.
        ended_after
            A series with no row in the history's last ``ended_after``
            periods has ended (default: the season length, 12 months).
        forecast_ended
            ``False`` (default): ended series (lost accounts) are forecast
            at 0, with a warning; ``True``: forecast them at their past
            level like the others (see
            :func:`~terrakit.forecast.model.simulate_paths`).

        Returns
        -------
        SalesForecast
            Its ``provenance`` holds the seeds, configuration, config hash,
            the pooling groups (``groups``: the ``column`` used, ``None`` for
            one group, and the group ``names``), horizon, number of draws,
            the ended series (``ended_series``:
            id and last period of each, ``ended_after``,
            ``forecast_ended``) and the versions of terrakit and the
            libraries it used; an ADVI fit adds ``advi_check``, whether
            its loss had flattened
            (:func:`~terrakit.forecast.model.advi_convergence`; ``None`` for
            NUTS).  The seeds: ``fit_seed``, the sampler's
            seed (the posterior), ``noise_seed``, this call's ``seed`` (the
            simulated noise), and ``seed``, equal to ``noise_seed`` (kept
            for readers of older provenance); the same ``fit_seed`` and
            ``noise_seed`` on the same data and configuration give the same
            draws.

        Raises
        ------
        SpecificationError
            When ``horizon`` or ``n_draws`` is not a whole number ≥ 1,
            ``seed`` is not a non-negative integer, or ``ended_after`` is
            not a whole number ≥ 1.

        Warns
        -----
        TerrakitWarning
            When ``horizon`` is longer than the history the model saw (the
            last ``history_cycles`` years of it), and when ended series are
            forecast at 0.
        """
        s = self.fit.seed if seed is None else check_seed(seed)
        draws, ended = _simulate_paths(
            self.fit,
            horizon,
            n_draws=n_draws,
            seed=s,
            ended_after=ended_after,
            forecast_ended=forecast_ended,
            stacklevel=3,
        )
        horizon = int(draws.sizes["period"])  # checked: 12.0 is 12
        panel = self.fit.panel
        n_seen = _window_length(panel, self.fit.model_config)
        if horizon > n_seen:
            n_hist = len(panel.periods)
            cut = (
                f" (the last {n_seen} of the {n_hist} periods of history: "
                f"model_config history_cycles="
                f"{self.fit.model_config['history_cycles']})"
                if n_seen < n_hist
                else ""
            )
            fix = (
                "or raise history_cycles" if n_seen < n_hist else "or a longer history"
            )
            warnings.warn(
                f"horizon {horizon} is longer than the {n_seen} periods of "
                f"history the model was fitted on ({panel.periods[-n_seen]}.."
                f"{panel.periods[-1]}{cut}); the forecast reaches further ahead "
                "than the data reach back, so its trend and seasonality are "
                f"mostly extrapolation. Use a horizon ≤ {n_seen} {fix}",
                TerrakitWarning,
                stacklevel=2,
            )
        history = xr.DataArray(
            panel.values,
            dims=("series", "period"),
            coords={"series": panel.series.to_numpy(), "period": panel.periods},
            name="sales",
        )
        prov = make_provenance(
            "forecast/hierarchical-ar1",
            seed=s,
            fit_seed=int(self.fit.seed),
            noise_seed=int(s),
            config={
                "model": dict(self.fit.model_config),
                "sampler": json.loads(
                    json.dumps(dict(self.fit.sampler_config), default=str)
                ),
            },
            level=self.level,
            # the pooling groups: the column (None: one group) and its labels
            groups=_pooling(panel, self.fit.group_column),
            horizon=int(horizon),
            n_draws=int(draws.sizes["draw"]),
            config_hash=self.fit.idata.attrs.get("config_hash")
            if self.fit.idata is not None
            else None,
            # method="advi": did its loss flatten (model.advi_convergence)?
            advi_check=json.loads(self.fit.idata.attrs["advi_check"])
            if self.fit.idata is not None and "advi_check" in self.fit.idata.attrs
            else None,
            ended_after=int(
                panel.season_length if ended_after is None else ended_after
            ),
            forecast_ended=bool(forecast_ended),
            ended_series=[
                {"series": _plain(k), "last_period": str(p)} for k, p in ended.items()
            ],
        )
        return SalesForecast(
            draws,
            history,
            self.series_unit,
            self.level,
            prov,
            self.unit_potential,
            self.unit_ids,
        )

    def diagnostics(self, warn: bool = True) -> Diagnostics:
        """R-hat, bulk/tail ESS and divergences of the forecast model's
        parameters (the table :meth:`PotentialResult.diagnostics
        <terrakit.potential.PotentialResult.diagnostics>` gives).

        R-hat needs at least two chains: with ``chains=1`` its column is
        NaN and only ESS and divergences are checked.  ADVI fits have no
        MCMC diagnostics (an all-NaN table); their ``problems`` say when
        ADVI's loss had not flattened by its last iteration
        (:func:`~terrakit.forecast.model.advi_convergence`).

        Parameters
        ----------
        warn
            Emit a :class:`~terrakit.exceptions.ConvergenceWarning` when a
            threshold (``rhat_max``, ``ess_min`` of the sampler config) is
            crossed or transitions diverged.

        Returns
        -------
        terrakit._sampling.Diagnostics

        Raises
        ------
        SpecificationError
            When nothing was sampled (every series' sales are 0).
        """
        if self.fit.idata is None:
            raise SpecificationError(
                "nothing was sampled: every series' sales are 0 in the modelled "
                "window, so there are no diagnostics"
            )
        return forecast_diagnostics(
            self.fit.idata, self.fit.sampler_config, warn=warn, stacklevel=3
        )

    def summary(self) -> str:
        """Level, series, the history and (when shorter) the modelled window,
        sampler method and seed."""
        p = self.fit.panel
        w = _window_length(p, self.fit.model_config)
        what = "months" if p.season_length == 12 else "quarters"
        window = (
            f" (modelled: the last {w} {what}, {p.periods[-w]}..{p.periods[-1]})"
            if w < len(p.periods)
            else ""
        )
        return (
            f"SalesForecaster fitted at {self.level} level: {p.n_series} series, "
            f"{p.periods[0]}..{p.periods[-1]}{window}, method "
            f"{self.fit.sampler_config['method']}, seed {self.fit.seed}"
        )

    def __str__(self) -> str:
        return self.summary() + f" ({self.fit.fit_seconds:.1f} s)"


def _unit_potential(study: Any) -> pd.Series | None:
    """The units' ``potential``, else ``sales``, for share-of-potential quotas.

    Sales per unit come from :meth:`~terrakit.data.Study.unit_measures`, which
    sums the accounts' ``annual_sales`` where the units table has no sales
    column.  When those account sales have gaps, the forecast still fits and
    no potential is kept (a quota then asks for ``potential=``).  The column
    used is recorded in the Series' ``attrs["source"]``
    (``"units.potential"``, ``"units.sales"`` or ``"accounts.annual_sales"``),
    which quotas record in their provenance.
    """
    units = study.units
    derived = False
    if not {"potential", "sales"} & set(units.columns):
        try:
            units = study.unit_measures()
        except DataValidationError:
            return None
        derived = True
    col = next((c for c in ("potential", "sales") if c in units.columns), None)
    if col is None:
        return None
    out = units[col].copy()
    out.attrs = {
        "source": "accounts.annual_sales"
        if derived and col == "sales"
        else f"units.{col}"
    }
    return out


class SalesForecaster:
    """Hierarchical Bayesian sales forecasts that add up along any alignment.

    Parameters
    ----------
    model_config
        Overrides of :data:`~terrakit.forecast.model.DEFAULT_MODEL_CONFIG`
        (merged as ``defaults | model_config``).
    sampler_config
        Overrides of :data:`~terrakit.forecast.model.DEFAULT_SAMPLER_CONFIG`:
        ``method`` (``"nutpie"`` default, ``"pymc"``, ``"advi"``), ``draws``,
        ``tune``, ``chains``, ``cores``, ``progressbar``.

    Notes
    -----
    The model (see :func:`~terrakit.forecast.model.build_forecast_model`) is
    a shifted-log level + trend + yearly seasonality per series with AR(1)
    residuals, all partially pooled across series within groups (segments
    at account level, regions/states at unit level), fitted in one
    vectorised PyMC model.

    Months without a history row are unobserved, not zero sales.  A series
    (account or unit) with no row in the last 12 months of the history has
    *ended* — a lost account — and :meth:`FittedSalesForecaster.predict`
    forecasts it at 0 with a :class:`~terrakit.exceptions.TerrakitWarning`
    that names it; the forecast's provenance lists it under
    ``ended_series``.  Give an active account rows with sales 0 for its
    months without sales, drop a lost one from the history, or pass
    ``predict(..., forecast_ended=True)`` to forecast ended series anyway
    (``ended_after`` changes the 12 months).  A series missing only the
    last few months is forecast as usual.

    Examples
    --------
    >>> import terrakit as tk  # doctest: +SKIP
    >>> study = tk.load_sample("southeast")  # doctest: +SKIP
    >>> fitted = SalesForecaster().fit(study, level="unit", seed=0)  # doctest: +SKIP
    >>> f = fitted.predict(horizon=12)  # doctest: +SKIP
    >>> f.by(study.alignments["current"]).to_frame()  # doctest: +SKIP
    """

    def __init__(
        self,
        model_config: Mapping[str, Any] | None = None,
        sampler_config: Mapping[str, Any] | None = None,
    ) -> None:
        # checked now, so that a typo fails before the history is read
        self.model_config, self.sampler_config = merge_configs(
            model_config, sampler_config
        )
        self._fitted: FittedSalesForecaster | None = None

    def fit(
        self,
        study: Any,
        level: Level = "unit",
        seed: int = 0,
        *,
        groups: str | None = "auto",
    ) -> FittedSalesForecaster:
        """Fit the model to a study's history.

        Parameters
        ----------
        study
            A :class:`~terrakit.data.Study` with a history.
        level
            ``"unit"`` or ``"account"``.
        seed
            Sampler seed; the same seed gives the same posterior.
        groups
            Pooling group column (see :func:`study_panel`): a column name,
            ``"auto"`` or ``None``.  The column used (``None``: one group)
            and its groups are recorded in the posterior's attrs, its
            config hash and the forecasts' provenance.

        Returns
        -------
        FittedSalesForecaster
            With ``predict(horizon)``; also kept, so ``self.predict`` works.

        Raises
        ------
        DataValidationError
            When ``study`` is not a :class:`~terrakit.data.Study` (e.g. its
            history DataFrame), or its history cannot be forecast (see
            :func:`study_panel`).
        SpecificationError
            On an unknown ``level``, ``groups`` that is not a column name,
            ``"auto"`` or ``None``, or a bad ``seed``.
        """
        check_seed(seed)
        panel, series_unit, gcol = _study_panel(study, level, groups, stacklevel=3)
        fit = fit_panel(
            panel,
            model_config=self.model_config,
            sampler_config=self.sampler_config,
            seed=seed,
            group_column=gcol,
        )
        pot = _unit_potential(study)
        self._fitted = FittedSalesForecaster(
            fit, series_unit, level, pot, pd.Index(study.units.index)
        )
        return self._fitted

    @property
    def fitted(self) -> FittedSalesForecaster:
        if self._fitted is None:
            raise NotFittedError(
                "this SalesForecaster has not been fitted; call .fit(study) first"
            )
        return self._fitted

    def predict(self, horizon: int = 12, **kwargs: Any) -> SalesForecast:
        """Shortcut for ``self.fit(...).predict(horizon)`` on the last fit."""
        return self.fitted.predict(horizon, **kwargs)

    @property
    def idata(self) -> Any:
        return self.fitted.idata

    def __repr__(self) -> str:
        return (
            f"SalesForecaster(model_config={self.model_config!r}, "
            f"sampler_config={self.sampler_config!r})"
        )

"""Maps and charts of a Bayesian potential fit (:mod:`terrakit.potential`)."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import Colormap
from matplotlib.patches import Patch

from terrakit._runargs import is_count
from terrakit.data.validation import _id_kind
from terrakit.exceptions import DataValidationError, SpecificationError, TerrakitWarning
from terrakit.plot._check import colormap, expect, is_a
from terrakit.plot._text import plain

__all__ = ["potential_map", "whitespace"]

_COLUMNS = ("potential_mean", "whitespace", "penetration", "uncertainty")


def _check_result(res: Any, func: str) -> None:
    """A :class:`TypeError` naming the fix unless ``res`` is a PotentialResult."""
    if isinstance(res, pd.DataFrame):
        hint = "pass the PotentialResult itself, not its to_frame() table"
    elif is_a(res, "terrakit.data.study", "Study"):
        hint = f"pass the fit first: {func}(result, ...)"
    else:
        hint = "make one with tk.potential.PotentialModel().fit(study, seed=0)"
    expect(
        res,
        "terrakit.potential.result",
        "PotentialResult",
        func=func,
        wanted="a PotentialResult (tk.potential.PotentialModel().fit)",
        hint=hint,
    )


def _kinds(ids: pd.Index) -> str:
    """The kinds of ids in ``ids`` (``"text"``, ``"number"``...), in words."""
    plural = {"number": "numbers", "boolean": "booleans"}
    kinds = sorted({_id_kind(v) for v in ids})
    return " and ".join(plural.get(k, k) for k in kinds) or "none"


def _examples(ids: pd.Index) -> str:
    return ", ".join(repr(v) for v in ids[:3].tolist()) + (
        " ..." if len(ids) > 3 else ""
    )


def _check_unit_ids(fit_ids: pd.Index, unit_ids: pd.Index) -> None:
    """Refuse a fit none of whose units is a unit of the study; warn when only
    some are.  ``'13001'`` (text, a units table read back from a file) is not
    ``13001`` (a number): without this the map was all grey, silently."""
    found = fit_ids.isin(unit_ids)
    if found.all():
        return
    as_text = set(map(str, unit_ids))
    lost = fit_ids[~found]
    by_text = [v for v in lost if str(v) in as_text]
    fit_kind, study_kind = _kinds(fit_ids), _kinds(unit_ids)
    typed = ""
    fix = "pass the study the fit was made on"
    if by_text:
        typed = (
            f"; {len(by_text)} of them are equal as text: the fit's ids are "
            f"{fit_kind} ({_examples(fit_ids)}) and the study's are {study_kind} "
            f"({_examples(unit_ids)}), and unit ids keep their type: '13001' is "
            "not 13001"
        )
        cast = "str" if fit_kind == "text" else "int"
        fix = (
            f"give the study's units ids of the fit's type ({fit_kind}), e.g. "
            f"units.index = units.index.astype({cast}) before building the "
            "study (read the file with dtype={'unit_id': str} to keep text ids), "
            "or pass the study the fit was made on"
        )
    if not found.any():
        raise DataValidationError(
            "units",
            "unit_id",
            f"none of the fit's {len(fit_ids)} unit ids is a unit id of the "
            f"study ({len(unit_ids)} units), so the map would be all grey"
            + (
                typed
                or f" (the fit's: {fit_kind}, {_examples(fit_ids)}; the "
                f"study's: {study_kind}, {_examples(unit_ids)})"
            ),
            rows=lost.tolist(),
            n_bad=len(lost),
            fix=fix,
        )
    warnings.warn(
        f"{len(lost)} of the fit's {len(fit_ids)} units are not units of the "
        f"study and are not drawn (e.g. {_examples(lost)}){typed}; fix: {fix}",
        TerrakitWarning,
        stacklevel=3,
    )


def _units_with_accounts(res: Any) -> pd.Index:
    """Units holding at least one account of an account-level fit."""
    cd = res.idata.constant_data
    idx = cd["unit_index"].to_numpy()
    units = cd["all_unit"].to_numpy()
    return pd.Index(units[np.unique(idx[idx >= 0])])


def potential_map(
    res: Any,
    study: Any,
    ax: Axes | None = None,
    *,
    column: Literal[
        "potential_mean", "whitespace", "penetration", "uncertainty"
    ] = "potential_mean",
    cmap: str | Colormap = "viridis",
    legend: bool = True,
) -> Axes:
    """Choropleth of unit potentials (account fits are summed per unit).

    Parameters
    ----------
    res
        A :class:`~terrakit.potential.PotentialResult`.
    study
        The study it was fitted on (or its units GeoDataFrame), for the unit
        geometry.
    ax
        Axes to draw on; a new figure when ``None``.
    column
        ``"potential_mean"``, ``"whitespace"``, ``"penetration"`` or
        ``"uncertainty"`` (width of the 90 % interval relative to the mean).
    cmap
        Matplotlib colormap: a name (``"viridis"``) or a
        :class:`~matplotlib.colors.Colormap`.
    legend
        Draw a colour bar, and a legend entry for the grey units.

    Returns
    -------
    matplotlib.axes.Axes
        One polygon collection with a colour per unit; units that the fit
        does not cover are drawn in light grey: for an account-level fit,
        units holding none of its accounts (their summed potential reads 0 in
        ``res.to_frame("unit")``, an absence of accounts rather than an
        estimate); for a unit fit, units it was not fitted on.  Units whose
        ``column`` is undefined (penetration of a potential of 0) are grey
        too.  The legend counts them.

    Raises
    ------
    TypeError
        If ``res`` is not a PotentialResult or ``study`` not a study or a
        units GeoDataFrame.
    SpecificationError
        For an unknown ``column``.
    TypeError, ValueError
        When ``cmap`` is not a colormap or the name of one.
    DataValidationError
        When none of the fit's unit ids is a unit id of the study (e.g. text
        ids ``'13001'`` in the fit, numbers ``13001`` in the study).

    All are raised before a figure is made.

    Warns
    -----
    TerrakitWarning
        When only some of the fit's units are units of the study.
    """
    _check_result(res, "tk.plot.potential_map")
    if is_a(study, "terrakit.data.study", "Study"):
        units = study.units
    elif isinstance(study, gpd.GeoDataFrame):
        units = study
    else:
        raise TypeError(
            "tk.plot.potential_map takes the study the fit was made on (or its "
            f"units GeoDataFrame) for the unit geometry, got {type(study).__name__}"
            "; pass e.g. tk.plot.potential_map(result, study)"
        )
    if column not in _COLUMNS:
        raise SpecificationError(
            f"column must be one of {list(_COLUMNS)}, got {column!r}"
        )
    cm = colormap(cmap)
    frame = res.to_frame("unit")
    _check_unit_ids(frame.index, units.index)
    if column == "uncertainty":
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["uncertainty"] = (
                frame["potential_q95"] - frame["potential_q05"]
            ) / frame["potential_mean"]
    account_fit = res.level == "account"
    covered = _units_with_accounts(res) if account_fit else frame.index
    gdf = units[["geometry"]].join(frame[[column]], how="left")
    outside = ~gdf.index.isin(covered)
    gdf.loc[outside, column] = np.nan
    missing = gdf[column].isna().to_numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    grey = "#dddddd"
    if missing.any():
        gdf[missing].plot(ax=ax, color=grey, edgecolor="white", linewidth=0.2)
    if (~missing).any():
        gdf[~missing].plot(
            column=column,
            ax=ax,
            cmap=cm,
            legend=legend,
            edgecolor="white",
            linewidth=0.2,
        )
    if legend and missing.any():
        n_out, n_nan = int(outside.sum()), int((missing & ~outside).sum())
        what = "with no account in the fit" if account_fit else "not in the fit"
        parts = [f"{n_out} units {what}"] if n_out else []
        parts += [f"{n_nan} units without a {column} value"] if n_nan else []
        ax.legend(
            handles=[Patch(facecolor=grey, label="; ".join(parts))],
            loc="lower left",
            fontsize=8,
            frameon=False,
        )
    labels = {
        "potential_mean": "potential (posterior mean)",
        "whitespace": "whitespace = potential − sales",
        "penetration": "penetration = sales / potential",
        "uncertainty": "90 % interval width / mean",
    }
    ax.set_title(f"{labels[column]} per unit ({res.level} model)")
    ax.set_axis_off()
    return ax


def whitespace(
    res: Any, ax: Axes | None = None, *, top: int = 20, level: str | None = None
) -> Axes:
    """Horizontal bars of the largest whitespace, with 90 % intervals.

    Parameters
    ----------
    res
        A :class:`~terrakit.potential.PotentialResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    top
        Number of accounts (units) shown, largest whitespace first.
    level
        ``"account"`` or ``"unit"`` (default: the fitted level).

    Returns
    -------
    matplotlib.axes.Axes
        One bar per shown account or unit; error bars span the whitespace
        between the 5 % and 95 % potential quantiles.

    Raises
    ------
    TypeError
        If ``res`` is not a PotentialResult (e.g. its ``to_frame()`` table).
    SpecificationError
        For a ``top`` that is not a whole number ≥ 1, or an unknown level.
    """
    _check_result(res, "tk.plot.whitespace")
    if not is_count(top, 1):
        raise SpecificationError(
            f"top must be at least 1 (a whole number of bars), got {top!r}"
        )
    f = res.to_frame(level).sort_values("whitespace", ascending=False).head(top)
    f = f.iloc[::-1]
    lo = (f["potential_q05"] - f["sales"]).to_numpy()
    hi = (f["potential_q95"] - f["sales"]).to_numpy()
    mid = f["whitespace"].to_numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, max(3.0, 0.3 * len(f) + 1)))
    y = np.arange(len(f))
    ax.barh(y, mid, color="#4c78a8")
    ax.errorbar(
        mid,
        y,
        xerr=[np.maximum(mid - lo, 0), np.maximum(hi - mid, 0)],
        fmt="none",
        ecolor="#333333",
        capsize=2,
        linewidth=0.8,
    )
    ax.set_yticks(y)
    ax.set_yticklabels([plain(i) for i in f.index])
    ax.axvline(0.0, color="#999999", linewidth=0.8)
    ax.set_xlabel("whitespace = potential − sales (90 % interval)")
    ax.set_title(plain(f"Top {len(f)} whitespace ({f.index.name or 'id'})"))
    return ax

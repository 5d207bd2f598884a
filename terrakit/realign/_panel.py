"""Monthly sales panels per territory (shared by performance and impact)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from terrakit._runargs import as_number
from terrakit.exceptions import DataValidationError, SpecificationError


def to_period(value: Any, what: str) -> pd.Period:
    """A month as ``pd.Period`` ('2025-07', a date or a Period)."""
    try:
        p = pd.Period(value, freq="M")
    except (ValueError, TypeError):
        p = pd.NaT
    if pd.isna(p):  # pd.Period(None) is NaT, not an error
        raise DataValidationError(
            "history",
            "period",
            f"{what} {value!r} is not a month",
            fix="write months as 'YYYY-MM' (e.g. '2025-07')",
        )
    return p


def month_range(value: Any, what: str) -> tuple[pd.Period, pd.Period]:
    """``(first, last)`` months of a period given as a pair, checked in order."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        n = None
    else:
        n = len(value)
    if n != 2:
        raise SpecificationError(
            f"{what} must be a pair (first, last) of months such as "
            f"('2025-01', '2025-12'), got {value!r}"
        )
    first = to_period(value[0], f"{what} start")
    last = to_period(value[1], f"{what} end")
    if last < first:
        raise SpecificationError(
            f"{what} ends ({last}) before it starts ({first}); give (first, last)"
        )
    return first, last


def unit_history(study: Any) -> pd.DataFrame:
    """History as ``unit_id``, ``period`` (Period[M]), ``sales`` rows."""
    h = study.history
    if h is None or len(h) == 0:
        raise DataValidationError(
            "history",
            None,
            "the study has no sales history",
            fix="add monthly history (account_id or unit_id, period, sales)",
        )
    if "sales" not in h.columns:
        raise DataValidationError(
            "history",
            "sales",
            f"required column is missing (columns seen: {list(h.columns)})",
            fix="add the monthly sales column",
        )
    if "unit_id" in h.columns:
        unit = h["unit_id"]
    else:
        acc = study.accounts
        if acc is None or "unit_id" not in acc.columns:
            raise DataValidationError(
                "history",
                "account_id",
                "the history is per account but the accounts have no unit_id",
                fix="join the accounts to units (unit_id) or give a unit history",
            )
        unit = h["account_id"].map(acc["unit_id"])
    per = h["period"]
    if not isinstance(per.dtype, pd.PeriodDtype):
        per = pd.PeriodIndex(pd.to_datetime(per), freq="M").to_series(index=h.index)
    return pd.DataFrame(
        {
            "unit_id": unit.to_numpy(),
            "period": per.to_numpy(),
            "sales": h["sales"].astype(float).to_numpy(),
        }
    )


def territory_panel(
    hist: pd.DataFrame, labels: pd.Series, months: pd.PeriodIndex
) -> pd.DataFrame:
    """Territories × months table of summed sales (0 where nothing sold).

    Raises
    ------
    DataValidationError
        If a month of ``months`` has no history at all.
    """
    have = pd.PeriodIndex(hist["period"].unique(), freq="M")
    missing = months.difference(have)
    if len(missing):
        raise DataValidationError(
            "history",
            "period",
            f"{len(missing)} months of the analysis window have no history "
            f"(history covers {have.min()}..{have.max()})",
            rows=[str(p) for p in missing],
            n_bad=len(missing),
            fix="choose a window inside the history",
        )
    sel = hist["period"].isin(months).to_numpy()
    sub = hist[sel]
    terr = sub["unit_id"].map(labels)
    panel = (
        sub["sales"]
        .groupby([terr.to_numpy(), sub["period"].to_numpy()])
        .sum()
        .unstack(fill_value=0.0)
    )
    order = sorted(pd.unique(labels.to_numpy()).tolist(), key=str)
    panel = panel.reindex(index=order, columns=months, fill_value=0.0)
    panel.index.name = "territory_id"
    return panel.astype(float)


def check_positive(panel: pd.DataFrame, what: str) -> None:
    bad = (panel <= 0).any(axis=1) | ~np.isfinite(panel).all(axis=1)
    if bad.any():
        raise DataValidationError(
            "history",
            "sales",
            f"{int(bad.sum())} territories have months with zero or negative "
            f"sales; the {what} model works on log sales",
            rows=list(panel.index[bad.to_numpy()]),
            n_bad=int(bad.sum()),
            fix="drop territories without sales from the alignment or choose a "
            "window in which every territory sells every month",
        )


def check_interval(interval: Any) -> float:
    """``interval`` as a probability mass in (0, 1), or a SpecificationError."""
    p = as_number(interval)
    if not 0 < p < 1:
        raise SpecificationError(
            f"interval must be in (0, 1), got {interval!r}; for a 90 % interval "
            "write 0.9"
        )
    return p


def quantiles(x: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed interval over the first axis (draws)."""
    lo, hi = (1 - interval) / 2, 1 - (1 - interval) / 2
    q = np.quantile(x, [lo, hi], axis=0)
    return q[0], q[1]

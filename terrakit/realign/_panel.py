"""Monthly sales panels per territory (shared by performance and impact)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from terrakit._runargs import as_number
from terrakit.data.validation import _A_B_YEAR, _QUARTER, parse_periods
from terrakit.exceptions import DataValidationError, SpecificationError

#: A bare year ('2025'): a month is needed.
_YEAR = re.compile(r"\s*(\d{4})\s*")

#: A month's name ('Jul', 'July'): without a year it is no month.
_MONTH_NAME = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b", re.IGNORECASE
)

#: How a month is written in the fixes.
_MONTH_FORM = "write the month as 'YYYY-MM'"


def months_text(n: int) -> str:
    """``'1 month'``, ``'12 months'``."""
    return f"{n} month" if n == 1 else f"{n} months"


def _year_of(text: str) -> int:
    y = int(text)
    return y if len(text) == 4 else y + 2000 - 100 * (y > 68)


def _not_a_month(value: Any) -> tuple[str, str]:
    """Why ``value`` (refused by :func:`parse_periods`) is no month, and the fix."""
    text = str(value)
    quarter = re.fullmatch(_QUARTER, text, flags=re.IGNORECASE)
    if quarter is not None or (
        isinstance(value, pd.Period) and value.freqstr.startswith("Q")
    ):
        year = re.search(r"\d{4}", text)
        q = re.search(r"Q([1-4])", text, flags=re.IGNORECASE)
        first = f"{year.group(0)}-{3 * int(q.group(1)) - 2:02d}" if year and q else ""
        example = f", e.g. '{first}' for the first month of {text}" if first else ""
        return "is a quarter, not a month", _MONTH_FORM + example
    a_b = _A_B_YEAR.match(text)
    if a_b is not None and max(int(a_b.group(1)), int(a_b.group(2))) <= 12:
        yyyy = _year_of(a_b.group(3))
        day_first = f"{yyyy:04d}-{int(a_b.group(2)):02d}"
        month_first = f"{yyyy:04d}-{int(a_b.group(1)):02d}"
        return (
            f"can be read day-first ({day_first}) or month-first ({month_first})",
            f"{_MONTH_FORM}: '{day_first}' or '{month_first}'",
        )
    if _MONTH_NAME.search(text) and not re.search(r"\d{4}", text):
        return "has no year", _MONTH_FORM + ", e.g. '2025-07' for July 2025"
    return "is not a month", _MONTH_FORM + " (e.g. '2025-07') or give a date"


def _number_not_a_month(x: float) -> tuple[str, str]:
    """Why the number ``x`` is no month, and the fix.

    A month kept as a number ``YYYY.MM`` (a spreadsheet cell '2025.10') has
    lost its trailing zero: 2025.10 is the number 2025.1, which read as text
    was January.
    """
    parts = re.fullmatch(r"(\d{4})\.(\d{1,2})", repr(x))
    if parts is None:
        return "is a number, not a month", _MONTH_FORM + " (e.g. '2025-07')"
    y, digits = parts.groups()
    as_text = "write the month as the text 'YYYY-MM'"
    months = [int(digits)] + ([10 * int(digits)] if len(digits) == 1 else [])
    valid = [m for m in dict.fromkeys(months) if 1 <= m <= 12]
    if not valid:
        return "is a number, not a month", f"{as_text}, e.g. '{y}-01'"
    shown = " or ".join(f"'{y}-{m:02d}'" for m in valid)
    if len(valid) == 1:
        return "is a number, not a month", f"{as_text}: {shown}"
    return (
        f"is a number, not a month: {y}.{valid[1]} and {y}.{valid[0]} are the "
        "same number, so the month cannot be told",
        f"{as_text}: {shown}",
    )


def to_period(
    value: Any, what: str, *, part: str | None = None, whole: Any = None
) -> pd.Period:
    """A month as ``pd.Period`` ('2025-07', a date or a monthly Period).

    Text is read by :func:`terrakit.data.validation.parse_periods`, the rules
    of ``history.period``: dates written ``a/b/yyyy`` whose order cannot be
    told (``'1/7/2025'``), quarters, and month names without a year are
    refused; a bare year (``'2025'``) is refused too, not read as January,
    and so is a number such as ``2025.10`` (the number 2025.1, which read
    as text was January).

    Parameters
    ----------
    value
        The month.
    what
        The argument it came from (``"change_date"``, ``"window"``), named in
        the error.
    part, whole
        For one end of a pair: ``"start"`` or ``"end"`` and the whole pair.

    Raises
    ------
    SpecificationError
        ``value`` is not one month; the message names the argument.
    """
    shown = f"{what}={value!r}" if part is None else f"{what}={whole!r}: its {part}"
    shown += "" if part is None else f" {value!r}"

    def refuse(problem: str, fix: str) -> SpecificationError:
        return SpecificationError(f"{shown} {problem}. Fix: {fix}")

    if isinstance(value, pd.Period):
        first, last = value.start_time.to_period("M"), value.end_time.to_period("M")
        if first == last:
            return first
        if value.freqstr.startswith("Q"):
            raise refuse(*_not_a_month(value))
        raise refuse(
            f"spans {first}..{last}, not one month",
            f"{_MONTH_FORM}, e.g. '{first}'",
        )
    if isinstance(value, (float, np.floating)):
        # 2025.10 is the number 2025.1: read as text it became January
        raise refuse(*_number_not_a_month(float(value)))
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    year = _YEAR.fullmatch(str(value)) if is_int or isinstance(value, str) else None
    if year is not None:
        y = year.group(1)
        raise refuse(
            "is a year, not a month",
            f"{_MONTH_FORM}, e.g. '{y}-01' for January {y}",
        )
    try:
        return parse_periods(pd.Series([value]), table=what).iloc[0]
    except DataValidationError:
        raise refuse(*_not_a_month(value)) from None


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
    first = to_period(value[0], what, part="start", whole=value)
    last = to_period(value[1], what, part="end", whole=value)
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
    hist: pd.DataFrame,
    labels: pd.Series,
    months: pd.PeriodIndex,
    *,
    span: str = "the window",
    outside_fix: str = "choose a window inside the history",
    avoid: str = "a window",
) -> pd.DataFrame:
    """Territories × months table of summed sales (0 where nothing sold).

    Parameters
    ----------
    hist
        :func:`unit_history` rows.
    labels
        Territory per unit.
    months
        The months of the table.
    span, outside_fix
        What ``months`` are, for the error (``"the window 2025-01..2025-12"``),
        and its fix when some of them lie outside the history.
    avoid
        What to choose so that a gap in the history is avoided (``"a window"``).

    Raises
    ------
    DataValidationError
        If a month of ``months`` has no history at all: it lies outside the
        history, or in a gap inside it.
    """
    have = pd.PeriodIndex(hist["period"].unique(), freq="M")
    missing = months.difference(have)
    if len(missing):
        h0, h1 = have.min(), have.max()
        outside = missing[(missing < h0) | (missing > h1)]
        if len(outside):
            raise DataValidationError(
                "history",
                "period",
                f"{months_text(len(outside))} of {span} "
                f"{'lies' if len(outside) == 1 else 'lie'} outside the history "
                f"(history covers {h0}..{h1})",
                rows=[str(p) for p in outside],
                n_bad=len(outside),
                fix=outside_fix,
            )
        one = len(missing) == 1
        raise DataValidationError(
            "history",
            "period",
            f"the history has a gap: {months_text(len(missing))} between {h0} and "
            f"{h1} {'has' if one else 'have'} no rows at all",
            rows=[str(p) for p in missing],
            n_bad=len(missing),
            fix=f"add the sales of {'that month' if one else 'those months'} to the "
            "history (0 where a unit sold nothing), or choose "
            f"{avoid} that avoids {'it' if one else 'them'}",
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

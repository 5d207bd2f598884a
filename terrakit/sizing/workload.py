"""Workload build-up: how many reps the call plan needs.

The classic sizing arithmetic (Talley, 1961): every account needs a number of
calls per year; each call costs its face-to-face time plus the travel to reach
it; the sum divided by one rep's selling hours is the number of reps.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from terrakit.data.geo import EARTH_RADIUS_KM, TravelTimeModel
from terrakit.data.validation import check_given_ids
from terrakit.exceptions import DataValidationError, SpecificationError

__all__ = ["RepsNeeded", "WorkloadResult", "workload"]

Travel: TypeAlias = (
    Literal["model"] | TravelTimeModel | pd.DataFrame | pd.Series | float | None
)


def _positive(name: str, value: Any, fix: str) -> float:
    """``value`` as a positive finite float; None, bools and strings (even
    numeric ones such as ``"1600"``) are refused with the same message."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise SpecificationError(
            f"{name} must be a positive number, got {value!r}; {fix}"
        )
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise SpecificationError(
            f"{name} must be a positive number, got {value!r}; {fix}"
        )
    return v


def _minutes(name: str, value: Any, *, column: bool = False) -> float:
    """``value`` as minutes: a finite float >= 0; bools, None and strings are
    refused (``column``: a string, handled by the caller, names a column)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        also = " (or the accounts column that holds them)" if column else ""
        raise SpecificationError(
            f"{name} must be a number of minutes >= 0{also}, got {value!r}"
        )
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise SpecificationError(f"{name} must be >= 0, got {value!r}")
    return v


@dataclass(frozen=True)
class RepsNeeded:
    """Reps required by a workload, in total and by segment.

    Attributes
    ----------
    by_segment
        Index ``segment`` (plus a ``"total"`` row); columns ``accounts``,
        ``calls``, ``hours`` and ``reps`` (fractional full-time reps).
    basis
        ``"hours"`` (hours ÷ selling hours per rep) or ``"calls"`` (calls ÷
        calls per rep).
    capacity
        Selling hours (or calls) of one rep per year.
    """

    by_segment: pd.DataFrame
    basis: Literal["hours", "calls"]
    capacity: float

    def __post_init__(self) -> None:
        if "total" not in self.by_segment.index:
            raise ValueError("by_segment needs a 'total' row")
        if self.capacity <= 0:
            raise ValueError(f"capacity must be positive, got {self.capacity}")

    @property
    def total(self) -> float:
        """Fractional number of full-time reps."""
        return float(self.by_segment.loc["total", "reps"])

    @property
    def reps(self) -> int:
        """Whole reps to hire: the total rounded up (to 1e-9 tolerance)."""
        return math.ceil(self.total - 1e-9)

    def __int__(self) -> int:
        return self.reps

    def to_frame(self) -> pd.DataFrame:
        """The by-segment table (copy)."""
        return self.by_segment.copy()

    def summary(self) -> str:
        """Rounded, stable text."""
        unit = "h" if self.basis == "hours" else "calls"
        lines = [
            f"Reps needed: {self.total:.2f} -> {self.reps} "
            f"({self.capacity:,.0f} {unit} per rep)"
        ]
        for seg, r in self.by_segment.iterrows():
            lines.append(
                f"  {seg!s:<8} accounts {r['accounts']:>8,.0f}  calls "
                f"{r['calls']:>10,.0f}  hours {r['hours']:>10,.0f}  "
                f"reps {r['reps']:>7.2f}"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class WorkloadResult:
    """Yearly workload per account: calls × (call time + travel per call).

    Attributes
    ----------
    table
        Index ``account_id`` (or ``segment`` for :meth:`from_segments`);
        columns ``segment``, ``accounts`` (1 per account row), ``calls``
        (per year, per row), ``call_minutes``, ``travel_minutes`` (per call)
        and ``hours`` (= calls × (call_minutes + travel_minutes) / 60).
    travel
        How travel per call was estimated (text).
    """

    table: pd.DataFrame
    travel: str = "none"
    provenance: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        need = {
            "segment",
            "accounts",
            "calls",
            "call_minutes",
            "travel_minutes",
            "hours",
        }
        missing = need - set(self.table.columns)
        if missing:
            raise ValueError(f"workload table lacks columns {sorted(missing)}")
        if (self.table[["calls", "hours"]].to_numpy() < 0).any():
            raise ValueError("workload calls and hours must be >= 0")

    @classmethod
    def from_segments(
        cls,
        segments: pd.DataFrame | Mapping[str, Mapping[str, float]],
        *,
        call_minutes: float = 0.0,
        travel_minutes: float = 0.0,
    ) -> WorkloadResult:
        """Workload from a segment table (the textbook form, no study needed).

        Parameters
        ----------
        segments
            Index segment; columns ``accounts`` and ``calls_per_year`` (per
            account), optional ``call_minutes`` and ``travel_minutes``.
        call_minutes, travel_minutes
            Defaults for segments without those columns.

        Raises
        ------
        DataValidationError
            When ``accounts`` or ``calls_per_year`` is missing, a value is not
            a finite number >= 0 (the column and the segments named), or two
            segment labels are the same as text (``1`` and ``'1'``; the table
            keys segments by their text).
        SpecificationError
            When the default ``call_minutes`` or ``travel_minutes`` is not a
            finite number >= 0.

        Examples
        --------
        Talley's case: 1,000 accounts × 36 calls + 2,000 × 12, 1,000 calls
        per rep and year:

        >>> wl = WorkloadResult.from_segments(
        ...     {"A": {"accounts": 1000, "calls_per_year": 36},
        ...      "B": {"accounts": 2000, "calls_per_year": 12}})
        >>> wl.reps_needed(calls_per_rep=1_000).total
        60.0
        """
        df = (
            pd.DataFrame(segments).T
            if isinstance(segments, Mapping)
            else pd.DataFrame(segments).copy()
        )
        for col in ("accounts", "calls_per_year"):
            if col not in df.columns:
                raise DataValidationError(
                    "segments",
                    col,
                    f"column missing (columns seen: {list(df.columns)})",
                    fix="give one row per segment with accounts and calls_per_year",
                )
        if "call_minutes" not in df.columns:
            df["call_minutes"] = _minutes("call_minutes", call_minutes)
        if "travel_minutes" not in df.columns:
            df["travel_minutes"] = _minutes("travel_minutes", travel_minutes)
        cols = ["accounts", "calls_per_year", "call_minutes", "travel_minutes"]
        num = df[cols].apply(pd.to_numeric, errors="coerce").astype(float)
        for col in cols:
            x = num[col].to_numpy()
            bad = ~(np.isfinite(x) & (x >= 0))
            if bad.any():
                raise DataValidationError(
                    "segments",
                    col,
                    f"{int(bad.sum())} segment{'s have' if bad.sum() > 1 else ' has'} "
                    f"{col} that is not a finite number >= 0: "
                    f"{df[col].to_numpy()[bad][:5].tolist()}",
                    rows=list(df.index[bad]),
                    fix=f"give {col} as a number >= 0 for every segment",
                )
        # the table keys segments by their text: different labels equal as
        # text (1 and '1') would be taken for one segment (a label repeated as
        # such is rows of one segment, which by_segment sums)
        labels = pd.Index([str(k) for k in df.index])
        given: dict[str, list[Any]] = {}
        for text, key in zip(labels, df.index, strict=True):
            keys = given.setdefault(text, [])
            if not any(key == k for k in keys):
                keys.append(key)
        same = np.array([len(given[text]) > 1 for text in labels], dtype=bool)
        if same.any():
            raise DataValidationError(
                "segments",
                None,
                f"{int(same.sum())} segment labels differ but are the same as "
                f"text ({sorted(set(labels[same]))}); segments are keyed by their "
                "text, so they would be taken for one segment",
                rows=list(df.index[same]),
                fix="give different segments labels that differ as text, or one "
                "segment the same label throughout",
            )
        acc_n, cpy = num["accounts"].to_numpy(), num["calls_per_year"].to_numpy()
        cmin, tmin = num["call_minutes"].to_numpy(), num["travel_minutes"].to_numpy()
        calls = acc_n * cpy
        table = pd.DataFrame(
            {
                "segment": labels.to_numpy(),
                "accounts": acc_n,
                "calls": calls,
                "call_minutes": cmin,
                "travel_minutes": tmin,
                "hours": calls * (cmin + tmin) / 60.0,
            },
            index=labels,
        )
        from terrakit.data.alignment import make_provenance

        prov = make_provenance(
            "workload/from_segments",
            config={
                "segments": list(table.index),
                "call_minutes": call_minutes,
                "travel_minutes": travel_minutes,
            },
        )
        return cls(table, travel="fixed minutes per call", provenance=prov)

    # -- aggregates -----------------------------------------------------------
    def by_segment(self) -> pd.DataFrame:
        """Accounts, calls, call hours, travel hours and hours by segment."""
        t = self.table
        call_h = t["calls"] * t["call_minutes"] / 60.0
        travel_h = t["calls"] * t["travel_minutes"] / 60.0
        df = pd.DataFrame(
            {
                "segment": t["segment"],
                "accounts": t["accounts"],
                "calls": t["calls"],
                "call_hours": call_h,
                "travel_hours": travel_h,
                "hours": t["hours"],
            }
        )
        out = df.groupby("segment", sort=True).sum(numeric_only=True)
        return out

    @property
    def total_hours(self) -> float:
        """Σ calls × (call + travel minutes) / 60."""
        return float(self.table["hours"].sum())

    @property
    def total_calls(self) -> float:
        return float(self.table["calls"].sum())

    def hours_per_call(self) -> pd.Series:
        """Mean hours per call (call + travel) by segment.

        Weighted by each account's calls; a segment with no calls at all
        (every ``calls_per_year`` 0, e.g. accounts not planned today) takes
        the unweighted mean of its accounts' (call + travel minutes) / 60,
        what a call would cost there, instead of 0 hours or NaN.
        """
        seg = self.by_segment()
        per_call = seg["hours"] / seg["calls"].where(seg["calls"] > 0)
        t = self.table
        plain = (
            ((t["call_minutes"] + t["travel_minutes"]) / 60.0)
            .groupby(t["segment"], sort=True)
            .mean()
        )
        return per_call.fillna(plain.reindex(per_call.index)).rename("hours_per_call")

    def reps_needed(
        self, hours_per_rep: float = 1_600, *, calls_per_rep: float | None = None
    ) -> RepsNeeded:
        """Reps = workload ÷ one rep's capacity, by segment.

        Parameters
        ----------
        hours_per_rep
            Selling hours of a full-time rep per year (after holidays,
            training, admin).  Ignored when ``calls_per_rep`` is given.
        calls_per_rep
            The textbook form: calls one rep makes per year.

        Raises
        ------
        SpecificationError
            When the capacity is zero, negative or not a number.
        DataValidationError
            When a segment is named ``"total"``: the name of the total row,
            which would overwrite that segment's row.
        """
        seg = self.by_segment()
        if "total" in seg.index:
            self._refuse_total_segment()
        if calls_per_rep is not None:
            cap = _positive(
                "calls_per_rep",
                calls_per_rep,
                "give the calls one rep makes per year, e.g. 1_000",
            )
            reps = seg["calls"] / cap
            basis: Literal["hours", "calls"] = "calls"
        else:
            cap = _positive(
                "hours_per_rep",
                hours_per_rep,
                "give one rep's selling hours per year, e.g. 1_600 (or "
                "calls_per_rep=... for the calls one rep makes)",
            )
            reps = seg["hours"] / cap
            basis = "hours"
        out = seg[["accounts", "calls", "hours"]].copy()
        out["reps"] = reps
        out.loc["total"] = out.sum()
        return RepsNeeded(out, basis, cap)

    def _refuse_total_segment(self) -> None:
        """The error for a segment named ``"total"`` (see :meth:`reps_needed`)."""
        t = self.table
        rows = list(t.index[(t["segment"] == "total").to_numpy()])
        if self.provenance.get("method") == "workload/from_segments":
            table, col = "segments", None
            fix = "rename the segment in the segment table, e.g. to 'Total'"
        else:
            table = "accounts"
            col = str(self.provenance.get("config", {}).get("segment", "segment"))
            fix = (
                f"rename the segment, e.g. accounts[{col!r}] = "
                f"accounts[{col!r}].replace({{'total': 'Total'}})"
            )
        raise DataValidationError(
            table,
            col,
            "a segment is named 'total', as is the total row of reps_needed(), "
            "which would overwrite the segment's own row",
            rows=rows,
            fix=fix,
        )

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        seg = self.by_segment()
        lines = [
            f"Workload: {self.total_calls:,.0f} calls, {self.total_hours:,.0f} h "
            f"per year (travel: {self.travel})"
        ]
        for s, r in seg.iterrows():
            lines.append(
                f"  {s!s:<8} accounts {r['accounts']:>8,.0f}  calls "
                f"{r['calls']:>10,.0f}  call h {r['call_hours']:>9,.0f}  "
                f"travel h {r['travel_hours']:>9,.0f}"
            )
        return "\n".join(lines)


#: Default segment column; when the accounts lack it every account is "all".
_DEFAULT_SEGMENT = "segment"


def _missing_column(acc: pd.DataFrame, col: str, what: str) -> DataValidationError:
    """The error for a named accounts column that does not exist.

    Lists the columns seen, close matches to ``col`` first (at most 12).
    """
    names = [str(c) for c in acc.columns]
    close = difflib.get_close_matches(str(col), names, n=3)
    seen = (close + [c for c in names if c not in close])[:12]
    fix = f"add {col!r} to the accounts table or pass {what}=<column name>"
    if close:
        fix = (
            f"pass {what}={close[0]!r} (the closest column) or another column, "
            f"or add {col!r} to the accounts table"
        )
    return DataValidationError(
        "accounts",
        col,
        f"no {what} column {col!r} (columns seen, closest first: {seen})",
        fix=fix,
    )


def _require_call_minutes(acc: pd.DataFrame | None, fix: str) -> None:
    """Refuse accounts without a ``call_minutes`` column (hours need call time).

    Shared by :func:`~terrakit.sizing.allocate_calls` and the response
    curves' hours per call, so that neither falls back to travel-only or a
    made-up hour per call.
    """
    if acc is not None and "call_minutes" not in acc.columns:
        raise DataValidationError(
            "accounts",
            "call_minutes",
            "no call_minutes column: the time a call takes is needed to "
            "budget rep hours",
            fix=fix,
        )


def _account_column(acc: pd.DataFrame, col: str, what: str) -> pd.Series:
    if col not in acc.columns:
        raise _missing_column(acc, col, what)
    s = pd.to_numeric(acc[col], errors="coerce")
    bad = s.isna() | (s < 0)
    if bad.any():
        raise DataValidationError(
            "accounts",
            col,
            f"{int(bad.sum())} accounts have missing or negative {what}",
            rows=list(acc.index[bad.to_numpy()]),
            n_bad=int(bad.sum()),
            fix=f"fill {col!r} with numbers >= 0 (0 for accounts not called)",
        )
    return s.astype(float)


def _chord_to_km(chord: np.ndarray) -> np.ndarray:
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def _xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack(
        [np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]
    )


def _travel_per_call(
    acc: pd.DataFrame,
    reps: pd.DataFrame | None,
    model: TravelTimeModel,
    calls_per_day: float,
) -> pd.Series:
    """Day-tour estimate of travel minutes per call (see :func:`workload`)."""
    if reps is None or len(reps) == 0:
        raise DataValidationError(
            "reps",
            None,
            "travel='model' needs rep home bases and the study has no reps",
            fix="add a reps table, or pass travel=None or a number of minutes per call",
        )
    if not {"lon", "lat"} <= set(acc.columns):
        raise DataValidationError(
            "accounts",
            "lon",
            "travel='model' needs account coordinates lon/lat",
            fix="add lon/lat to the accounts, or pass travel=None or minutes per call",
        )
    ids = acc.index
    owner = (
        acc["rep_id"]
        if "rep_id" in acc.columns
        else pd.Series(np.nan, index=ids, dtype=object)
    )
    known = owner.notna() & owner.isin(reps.index)
    # Nearest home for unowned accounts.
    home = owner.where(known)
    if (~known).any():
        tree = cKDTree(
            _xyz(reps["home_lon"].to_numpy(float), reps["home_lat"].to_numpy(float))
        )
        sub = acc.loc[~known.to_numpy()]
        _, j = tree.query(_xyz(sub["lon"].to_numpy(float), sub["lat"].to_numpy(float)))
        home.loc[~known.to_numpy()] = reps.index.to_numpy()[j]
    if model.table is not None:
        home_min = np.array(
            [model.matrix([h], [a])[0, 0] for h, a in zip(home, ids, strict=True)]
        )
        nn_min = np.empty(len(ids))
        for _, grp in pd.Series(np.arange(len(ids)), index=ids).groupby(
            home.to_numpy()
        ):
            m = model.matrix(list(grp.index))
            np.fill_diagonal(m, np.inf)
            row = m.min(axis=1) if len(grp) > 1 else np.zeros(1)
            nn_min[grp.to_numpy()] = row
    else:
        h = reps.loc[home.to_numpy(), ["home_lon", "home_lat"]].to_numpy(float)
        a = acc[["lon", "lat"]].to_numpy(float)
        km_home = _chord_to_km(
            np.linalg.norm(_xyz(h[:, 0], h[:, 1]) - _xyz(a[:, 0], a[:, 1]), axis=1)
        )
        home_min = np.asarray(model.minutes(km_home), dtype=float)
        nn_min = np.zeros(len(ids))
        for _, grp in pd.Series(np.arange(len(ids)), index=ids).groupby(
            home.to_numpy()
        ):
            pos = grp.to_numpy()
            if len(pos) < 2:
                continue
            xyz = _xyz(a[pos, 0], a[pos, 1])
            d, _ = cKDTree(xyz).query(xyz, k=2)
            nn_min[pos] = np.asarray(model.minutes(_chord_to_km(d[:, 1])), dtype=float)
    k = float(calls_per_day)
    # one call a day has no leg between accounts (0 x inf would be NaN)
    nn_legs = (k - 1.0) * nn_min if k > 1 else np.zeros(len(ids))
    per_call = (2.0 * home_min + nn_legs) / k
    cut = ~np.isfinite(per_call)
    if cut.any():
        # an unreachable pair (numpy.inf in a minutes matrix) on the day tour
        far = ~np.isfinite(home_min)
        i = int(np.flatnonzero(cut)[0])
        leg = (
            f"e.g. {home.iloc[i]!r} -> {ids[i]!r} is infinite"
            if far[i]
            else f"e.g. {ids[i]!r} reaches no other account of rep {home.iloc[i]!r}"
        )
        raise DataValidationError(
            "travel",
            None,
            f"{int(cut.sum())} account{'s' if cut.sum() > 1 else ''} cannot be "
            "reached: the travel minutes from the rep's home, or to every other "
            f"account of the same rep, are infinite ({leg}), so the travel per "
            "call and the workload hours would be infinite",
            rows=list(ids[cut]),
            n_bad=int(cut.sum()),
            fix="give a finite detour for those pairs in the travel matrix, or "
            "drop those accounts or reassign them to a rep who can reach them",
        )
    return pd.Series(per_call, index=ids, name="travel_minutes")


def workload(
    study: Any,
    calls_per_year: str = "calls_per_year",
    call_minutes: str | float = "call_minutes",
    travel: Travel = "model",
    *,
    calls_per_day: float = 5.0,
    segment: str = "segment",
) -> WorkloadResult:
    """Yearly workload of a study's accounts: calls × (call time + travel).

    Parameters
    ----------
    study
        A :class:`~terrakit.data.Study` with an accounts table.
    calls_per_year
        Accounts column with the calls each account needs per year.
    call_minutes
        Accounts column with the face-to-face minutes per call, or one number
        for all accounts.
    travel
        Travel minutes per call: ``"model"`` (default
        :class:`~terrakit.data.geo.TravelTimeModel`, great-circle × 1.3 at
        60 km/h), a ``TravelTimeModel`` (possibly built from an OSRM-style
        matrix with ``from_matrix``; its ids must cover rep and account ids),
        a DataFrame minutes matrix (same), a Series of minutes per call by
        account, one number for every call, or ``None`` (no travel).
    calls_per_day
        Calls a rep makes on a typical field day, used by the day-tour travel
        estimate.
    segment
        Accounts column with the segment.  When the default ``"segment"``
        column is missing every account is in one segment ``"all"``; a column
        named otherwise must exist.

    Returns
    -------
    WorkloadResult

    Raises
    ------
    DataValidationError
        When call data are missing or negative, accounts have no segment
        (NaN), a named column (other than the default ``"segment"``) is not
        in the accounts, or travel needs coordinates or reps that the study
        lacks.  A ``travel`` Series must give minutes >= 0 for every account
        and for no account the study lacks, once per account (an id given
        twice is named, with the fix: aggregate per account); one keyed by
        the account ids in the other type (``1`` for ``'1'``) is named so,
        with the conversion.  Accounts whose travel per call is infinite (a
        Series giving ``inf``, or a matrix with ``numpy.inf`` from the rep's
        home or to every other account of the rep) are named: they would get
        infinite workload hours.
    SpecificationError
        When ``calls_per_day`` is below 1, or ``call_minutes`` is neither a
        column name nor a finite number >= 0 (``True`` is refused).

    Notes
    -----
    **Travel per call (day-tour estimate).**  A rep leaves home, makes
    :math:`k` = ``calls_per_day`` calls among neighbouring accounts and drives
    back.  For account :math:`i` with owning rep home :math:`h` (nearest rep
    home for unowned accounts) the day's driving is approximated by
    :math:`2\\,t(h, i) + (k-1)\\,t_{nn}(i)`, where :math:`t_{nn}(i)` is the
    drive to the nearest other account of the same rep, and each of the
    :math:`k` calls carries a :math:`1/k` share:

    .. math:: \\tau_i = \\frac{2\\,t(h, i) + (k-1)\\,t_{nn}(i)}{k}.

    The out-and-back legs are a slight over-estimate (days start at the
    nearest account of a cluster, not at every one) and the nearest-neighbour
    legs a slight under-estimate of a real route; routing (``tk.routing``)
    gives exact day routes once territories exist.  Workload hours are
    :math:`\\sum_i n_i (m_i + \\tau_i) / 60` with :math:`n_i` calls per year
    and :math:`m_i` minutes per call.

    Examples
    --------
    >>> wl = workload(study, travel=None)  # doctest: +SKIP
    >>> wl.reps_needed(hours_per_rep=1_600).reps  # doctest: +SKIP
    """
    acc = study.accounts
    if acc is None or len(acc) == 0:
        raise DataValidationError(
            "accounts",
            None,
            "the study has no accounts",
            fix="build the study with an accounts table (tk.data.read_accounts)",
        )
    calls = _account_column(acc, calls_per_year, "calls_per_year")
    if segment in acc.columns:
        missing = acc[segment].isna().to_numpy()
        if missing.any():  # astype(str) would make them a segment "nan"
            raise DataValidationError(
                "accounts",
                segment,
                f"{int(missing.sum())} accounts have no {segment} (NaN)",
                rows=list(acc.index[missing]),
                n_bad=int(missing.sum()),
                fix=f"fill {segment!r} for those accounts (e.g. 'C' for the "
                "smallest) or drop them",
            )
        seg = acc[segment].astype(str)
    elif segment == _DEFAULT_SEGMENT:
        seg = pd.Series("all", index=acc.index)
    else:
        raise _missing_column(acc, segment, "segment")
    if isinstance(call_minutes, str):
        minutes = _account_column(acc, call_minutes, "call_minutes")
    else:
        m = _minutes("call_minutes", call_minutes, column=True)
        minutes = pd.Series(m, index=acc.index)
    k = _positive("calls_per_day", calls_per_day, "e.g. 5 calls per field day")
    if k < 1:
        raise SpecificationError(
            f"calls_per_day must be at least 1 (a field day has at least one "
            f"call), got {calls_per_day!r}; below 1 the day-tour estimate gives "
            "negative travel minutes"
        )
    how: str
    if travel is None:
        tmin = pd.Series(0.0, index=acc.index)
        how = "none"
    elif isinstance(travel, pd.Series):
        check_given_ids(travel.index, acc.index, table="travel", what="account")
        twice = travel.index.duplicated(keep=False)
        if twice.any():
            ids = list(dict.fromkeys(travel.index[twice]))
            raise DataValidationError(
                "travel",
                None,
                f"{len(ids)} account id{'s appear' if len(ids) > 1 else ' appears'} "
                f"more than once ({int(twice.sum())} rows): travel must give one "
                "number of minutes per call for each account",
                rows=ids,
                n_bad=len(ids),
                fix="aggregate per account first, e.g. "
                "travel.groupby(level=0).mean() for minutes taken from a visit log",
            )
        tmin = pd.to_numeric(travel.reindex(acc.index), errors="coerce")
        bad = tmin.isna() | (tmin < 0)
        if bad.any():
            raise DataValidationError(
                "travel",
                None,
                f"{int(bad.sum())} accounts have no travel minutes",
                rows=list(acc.index[bad.to_numpy()]),
                n_bad=int(bad.sum()),
                fix="give minutes >= 0 per call for every account_id",
            )
        tmin = tmin.astype(float)
        inf = ~np.isfinite(tmin.to_numpy())
        if inf.any():
            raise DataValidationError(
                "travel",
                None,
                f"{int(inf.sum())} account{'s have' if inf.sum() > 1 else ' has'} "
                "infinite travel minutes per call (unreachable), which would "
                "make their workload hours infinite",
                rows=list(acc.index[inf]),
                n_bad=int(inf.sum()),
                fix="give a finite detour in minutes per call for those accounts, "
                "or drop them or reassign them to a rep who can reach them",
            )
        how = "given per account"
    elif isinstance(travel, numbers.Real) and not isinstance(travel, bool):
        t = float(travel)
        if not np.isfinite(t) or t < 0:
            raise SpecificationError(f"travel minutes must be >= 0, got {travel!r}")
        tmin = pd.Series(t, index=acc.index)
        how = f"{t:g} min per call"
    else:
        if isinstance(travel, str):
            if travel != "model":
                raise SpecificationError(
                    f"travel={travel!r} is not understood; use 'model', a "
                    "TravelTimeModel, a minutes matrix, minutes per call or None"
                )
            model = TravelTimeModel()
        elif isinstance(travel, pd.DataFrame):
            model = TravelTimeModel.from_matrix(travel)
        elif isinstance(travel, TravelTimeModel):
            model = travel
        else:
            raise SpecificationError(
                f"travel of type {type(travel).__name__} is not understood"
            )
        tmin = _travel_per_call(acc, study.reps, model, k)
        how = f"day tour, {k:g} calls/day, " + (
            "matrix"
            if model.table is not None
            else f"circuity {model.circuity:g} at {model.speed_kmh:g} km/h"
        )
    table = pd.DataFrame(
        {
            "segment": seg,
            "accounts": 1.0,
            "calls": calls,
            "call_minutes": minutes,
            "travel_minutes": tmin,
            "hours": calls * (minutes + tmin) / 60.0,
        },
        index=acc.index,
    )
    from terrakit.data.alignment import make_provenance

    prov = make_provenance(
        "workload",
        config={
            "calls_per_year": calls_per_year,
            "call_minutes": str(call_minutes),
            "travel": how,
            "calls_per_day": k,
            "segment": segment,
        },
    )
    return WorkloadResult(table, travel=how, provenance=prov)

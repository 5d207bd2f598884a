"""Call plans: which accounts a rep visits on which day, and the route of each day.

:func:`plan_calls` plans one territory over a cycle of weeks;
:func:`plan_all` plans every territory and reports travel hours per rep, the
number that sizing and design need.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from terrakit._runargs import (
    MAX_SEED,
    as_number,
    check_flag,
    check_seed,
    check_time_limit,
    shown,
    whole_number,
)
from terrakit.data.alignment import Alignment, make_provenance
from terrakit.data.io import excel_sheet_as_text
from terrakit.data.study import Study
from terrakit.data.validation import check_measures
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
    TimeLimitWarning,
)
from terrakit.routing.periodic import (
    assign_patterns,
    day_seeds,
    frequency_label,
    local_xy,
    visits_per_cycle,
    window_groups,
)
from terrakit.routing.vrp import (
    Backend,
    RouteCheck,
    RoutingProblem,
    evaluate_routes,
    resolve_backend,
    solve_routing,
)

__all__ = ["CallPlan", "TerritoryPlans", "plan_all", "plan_calls"]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Iterations of the daily search per node (PyVRP: ILS iterations; OR-Tools:
#: accepted solutions), plus a base: enough for days of ~30 stops, few enough
#: that the per-day time cap rarely binds, which keeps plans reproducible.
DAY_ITERATIONS = {"pyvrp": (100, 25), "ortools": (50, 10)}
#: Least seconds a day's route search gets, however short ``time_limit``:
#: building the solver's model and a first route takes about this long on a
#: day of ~20 stops (a plan whose days need more than ``time_limit`` warns).
MIN_DAY_SECONDS = 0.02
#: Share of ``time_limit`` for choosing the visit days (the pattern MIP of
#: :func:`~terrakit.routing.periodic.assign_patterns`, which usually stops
#: earlier at its node limit), and the least seconds it gets.
PATTERN_SHARE = 0.2
MIN_PATTERN_SECONDS = 0.1
#: Share of ``time_limit`` kept for moving dropped visits to other days, and
#: the least seconds that step gets.
REBALANCE_SHARE = 0.05
MIN_REBALANCE_SECONDS = 0.05
#: Seconds past ``time_limit`` (or 5 % of it, if more) that count as noise
#: rather than an overrun worth a warning.
OVERRUN_SLACK = 0.1
#: A visit's drop penalty in day lengths (× (1 + its share of the top
#: frequency)); above the 2 day lengths that serving it can cost at most, so
#: that a visit is dropped only when the day cannot hold it.
_DROP_PENALTY_DAYS = 3.0
_UNREACHABLE = 1e6  # minutes standing in for an infinite travel time
#: Across a cycle boundary (``previous``), the visit days are chosen so that
#: an account's first visit lies at least this share of its nominal interval
#: (working days between calls) after its last visit and at most ``2 −`` this
#: share of it, the ±50 % that rebalancing keeps within a cycle; rebalancing
#: may then move that visit by up to a quarter spacing, as within a cycle,
#: but not below half this share nor beyond ``2 −`` half of it.
MIN_GAP_SHARE = 0.5


def _hhmm(minutes: float) -> str:
    if minutes is None or not np.isfinite(minutes):
        return ""
    m = round(float(minutes))
    return f"{m // 60:02d}:{m % 60:02d}"


@dataclass(frozen=True, eq=False)
class CallPlan:
    """A territory's call plan over one cycle.

    Attributes
    ----------
    territory, rep_id
        The territory and the rep who works it.
    days
        Day labels of the cycle (``"W1-Mon"``, ...).
    schedule
        One row per account (index ``account_id``): ``calls_per_year``,
        ``call_minutes``, ``frequency`` (in words), ``visits`` (planned in
        this cycle), ``days`` (``;``-separated day labels), ``dropped``
        (visits that did not fit) and ``last_visit`` (working day of the
        account's last routed visit so far, counted from the first day of
        cycle 0, ``cycle × len(days) + day``; carried over from the
        ``previous`` plan when this cycle routes none; NaN when unknown), and
        ``lon``/``lat`` (where the plan placed the account, visited or not).
    routes
        One row per stop, in visit order per day: ``day``, ``stop`` (0 = leave
        home), ``kind`` (``home``, ``visit``, ``lunch``), ``account_id``,
        ``lon``, ``lat``, ``arrive``, ``start``, ``depart`` (minutes after
        midnight), ``drive_min`` (driving to this stop), and the times as
        ``HH:MM`` text.  ``account_id`` keeps the ids' values and kind
        (integer ids as the nullable ``Int64``, text as objects), missing on
        the ``home`` and ``lunch`` rows.  A day that ends before the lunch
        window or starts after it has no ``lunch`` row: the break is taken
        at home, outside the working day.
    day_table
        One row per day: ``visits``, ``service_min``, ``drive_min``,
        ``start``/``end`` (minutes: leaving home and coming back),
        ``work_min`` (end − start − the lunch break when taken in between),
        ``dropped``.
    dropped
        Visits that could not be fitted, with ``day`` and ``reason``; never
        left out silently.  A reason starting ``time limit up`` marks a visit
        that the time limit left no time to try again (see ``time_limit`` of
        :func:`plan_calls`).
    workload
        The check made before solving: ``visits``, ``service_hours``,
        ``drive_hours_estimate``, ``needed_hours``, ``available_hours``,
        ``overloaded``, ``far_accounts`` / ``far_visits`` (more than a quarter
        of the working day from home each way) and ``reason`` (text).  The
        visits of accounts that no working day can serve on their own (and
        those beyond one a day) are left out: they are dropped whatever the
        other visits.
    provenance
        Method, seed, backend, time limit and settings (``config``; its
        ``travel`` records the travel model the routes were built on).
    seconds
        Wall-clock time (shown by ``str()``, never by :meth:`summary`).
    """

    territory: Hashable
    rep_id: Hashable
    days: tuple[str, ...]
    schedule: pd.DataFrame
    routes: pd.DataFrame
    day_table: pd.DataFrame
    dropped: pd.DataFrame
    workload: Mapping[str, Any] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        need = {
            "schedule": ("visits", "days"),
            "routes": ("day", "kind", "stop"),
            "day_table": ("visits", "drive_min"),
            "dropped": ("account_id", "day", "reason"),
        }
        for name, cols in need.items():
            df = getattr(self, name)
            if not isinstance(df, pd.DataFrame):
                raise TypeError(f"CallPlan.{name} must be a DataFrame")
            miss = [c for c in cols if c not in df.columns]
            if miss:
                raise ValueError(f"CallPlan.{name} lacks columns {miss}")
        visits = self.routes[self.routes["kind"] == "visit"]
        planned = int(self.schedule["visits"].sum())
        if len(visits) + len(self.dropped) != planned:
            raise ValueError(
                f"{len(visits)} routed + {len(self.dropped)} dropped visits != "
                f"{planned} planned"
            )
        object.__setattr__(self, "days", tuple(self.days))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        object.__setattr__(self, "workload", MappingProxyType(dict(self.workload)))

    # -- numbers ------------------------------------------------------------------
    @property
    def n_visits(self) -> int:
        """Visits routed in the cycle."""
        return int((self.routes["kind"] == "visit").sum())

    @property
    def drive_hours(self) -> float:
        """Hours of driving in the cycle."""
        return float(self.day_table["drive_min"].sum()) / 60.0

    @property
    def service_hours(self) -> float:
        return float(self.day_table["service_min"].sum()) / 60.0

    @property
    def work_hours(self) -> float:
        """Hours from leaving home to coming back, lunch excluded."""
        return float(self.day_table["work_min"].sum()) / 60.0

    def route(self, day: str) -> pd.DataFrame:
        """The stops of one day, in order."""
        if day not in self.days:
            raise KeyError(f"no day {day!r}; days are {self.days[0]}..{self.days[-1]}")
        return self.routes[self.routes["day"] == day].reset_index(drop=True)

    # -- output -------------------------------------------------------------------
    def summary(self) -> str:
        """Rounded, stable text (no run times)."""
        dt = self.day_table
        busy = dt[dt["visits"] > 0]
        lines = [
            f"Call plan: territory {self.territory} (rep {self.rep_id}), "
            f"{len(self.days)} days",
            f"  accounts {int((self.schedule['visits'] > 0).sum())} of "
            f"{len(self.schedule)} due this cycle, visits {self.n_visits} routed, "
            f"{len(self.dropped)} dropped",
            f"  service {self.service_hours:.1f} h, driving {self.drive_hours:.1f} h,"
            f" work {self.work_hours:.1f} h",
        ]
        if len(busy):
            lines.append(
                f"  visits/day {busy['visits'].min():.0f}-{busy['visits'].max():.0f},"
                f" work/day {busy['work_min'].min() / 60:.1f}-"
                f"{busy['work_min'].max() / 60:.1f} h"
            )
        wl = self.workload
        if wl:
            lines.append(
                f"  workload: needs about {wl['needed_hours']:.0f} h (calls "
                f"{wl['service_hours']:.0f} h + driving ~"
                f"{wl['drive_hours_estimate']:.0f} h), "
                f"{wl['available_hours']:.0f} h available"
                + (" -> OVERLOADED" if wl["overloaded"] else "")
            )
            if wl["far_accounts"]:
                lines.append(
                    f"  far from home: {wl['far_accounts']} accounts "
                    f"({wl['far_visits']} visits) more than a quarter of the "
                    "working day away each way"
                )
        moved = int(self.schedule["moved"].sum()) if "moved" in self.schedule else 0
        if moved:
            lines.append(f"  visits moved to another day to fit: {moved}")
        if len(self.dropped):
            reasons = self.dropped["reason"].str.split(":").str[0].value_counts()
            for r, k in sorted(reasons.items()):
                lines.append(f"  dropped ({k}): {r}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.summary()}\n  ({self.seconds:.1f} s)"

    def __repr__(self) -> str:
        return (
            f"<CallPlan {self.territory}: {self.n_visits} visits, "
            f"{len(self.dropped)} dropped, {self.drive_hours:.1f} h driving>"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per visit: routed visits in order, then dropped ones."""
        v = self.routes[self.routes["kind"] == "visit"].copy()
        v["status"] = "routed"
        d = self.dropped.copy()
        d["status"] = "dropped"
        cols = [
            "account_id",
            "day",
            "stop",
            "status",
            "arrive",
            "start",
            "depart",
            "drive_min",
            "reason",
        ]
        out = pd.concat([v, d], ignore_index=True, sort=False)
        for c in cols:
            if c not in out.columns:
                out[c] = np.nan
        return out[cols]

    def to_excel(self, path: str | Path) -> Path:
        """Write summary, days, schedule, routes and dropped visits, one sheet each.

        Integer account ids of more than 15 digits (an Excel number's
        precision) are written as text, which keeps every digit.
        """
        path = Path(path)
        summ = pd.DataFrame({"summary": self.summary().splitlines()})
        schedule = self.schedule.set_axis(_excel_ids(self.schedule.index))
        routes, dropped = self.routes.copy(), self.dropped.copy()
        for df in (routes, dropped):
            df["account_id"] = _excel_ids(pd.Index(df["account_id"]))
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            summ.to_excel(xw, sheet_name="summary", index=False)
            self.day_table.to_excel(xw, sheet_name="days")
            schedule.to_excel(xw, sheet_name="schedule")
            routes.to_excel(xw, sheet_name="routes", index=False)
            dropped.to_excel(xw, sheet_name="dropped", index=False)
            # account names such as '=Smith & Co' stay text, never formulas
            for ws in xw.sheets.values():
                excel_sheet_as_text(ws)
        return path


#: Significant digits an Excel number holds: longer integer ids are written as
#: text, or Excel would round them (100000000000000001 to 1E+17).
_EXCEL_DIGITS = 15


def _excel_ids(ids: pd.Index) -> pd.Index:
    """``ids`` as :meth:`CallPlan.to_excel` writes them: integer ids with more
    than :data:`_EXCEL_DIGITS` digits as text (missing ones left empty)."""
    if not pd.api.types.is_integer_dtype(ids.dtype):
        return ids
    known = ids[ids.notna()]
    if not len(known) or int(abs(known).max()) < 10**_EXCEL_DIGITS:
        return ids
    return pd.Index(
        [None if pd.isna(v) else str(v) for v in ids], dtype=object, name=ids.name
    )


# -- input preparation -------------------------------------------------------------
def _day_labels(weeks: int, days: Sequence[str]) -> list[str]:
    return [f"W{w + 1}-{d}" for w in range(weeks) for d in days]


def _territory_accounts(
    study: Study, alignment: Alignment | str, territory: Hashable
) -> pd.DataFrame:
    acc = study.accounts
    if acc is None:
        raise DataValidationError(
            "accounts",
            None,
            "the study has no accounts",
            fix="build the study with an accounts table",
        )
    for col in ("calls_per_year", "call_minutes"):
        if col not in acc.columns:
            raise DataValidationError(
                "accounts",
                col,
                "call planning needs this column",
                fix="add calls_per_year and call_minutes (e.g. from "
                "tk.sizing call frequencies)",
            )
    terr = study.account_territories(alignment)
    al = study._get_alignment(alignment)
    if territory not in set(al.territories):
        raise KeyError(
            f"no territory {territory!r} in alignment {al.name!r}; "
            f"it has {al.territories[:8]}..."
        )
    sub = acc.loc[terr.to_numpy() == territory].copy()
    if not {"lon", "lat"} <= set(sub.columns) or sub[["lon", "lat"]].isna().any(
        axis=None
    ):
        from terrakit.data.geo import lonlat

        lon, lat = lonlat(study.units)
        pts = pd.DataFrame({"lon": lon, "lat": lat}, index=study.units.index)
        fill = pts.reindex(sub["unit_id"].to_numpy())
        for c in ("lon", "lat"):
            base = sub[c] if c in sub.columns else pd.Series(np.nan, index=sub.index)
            sub[c] = base.fillna(pd.Series(fill[c].to_numpy(), index=sub.index))
    return sub


def _rep_of(
    study: Study, territory: Hashable, accounts: pd.DataFrame, rep: Hashable | None
) -> tuple[Hashable, float, float]:
    reps = study.reps
    if reps is None:
        raise DataValidationError(
            "reps",
            None,
            "the study has no reps table",
            fix="add reps with home_lon/home_lat",
        )
    if isinstance(rep, Mapping):
        raise SpecificationError(
            f"rep must be one rep id for territory {territory!r}, got a mapping; "
            "a territory → rep mapping is taken by plan_all"
        )
    if rep is None:
        if territory in reps.index:
            rep = territory
        elif "rep_id" in accounts.columns and accounts["rep_id"].notna().any():
            rep = accounts["rep_id"].value_counts().index[0]
        else:
            raise SpecificationError(
                f"territory {territory!r} is not a rep id and its accounts name no "
                "owner; pass rep=... to say whose home the routes start from"
            )
    if rep not in reps.index:
        known = ", ".join(map(str, reps.index[:8])) + (" ..." if len(reps) > 8 else "")
        raise KeyError(
            f"rep {rep!r} is not in the reps table (reps: {known}); pass rep= one "
            "of them, or add the rep with home_lon/home_lat"
        )
    return rep, float(reps.at[rep, "home_lon"]), float(reps.at[rep, "home_lat"])


def _travel_matrix(
    travel: Any, ids: list[Hashable], lon: np.ndarray, lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes between home (first) and the accounts, checked.

    Missing (NaN) or negative minutes are refused with the ids named, and a
    matrix given in seconds by the speed it implies (:func:`_check_minutes`).
    Infinite minutes (no direct road, as ``TravelTimeModel.from_matrix``
    allows) become the quickest chain of finite legs through other places of
    the matrix (home and the accounts), since a rep can drive through them
    (:func:`_fill_unreachable`); pairs that no chain joins become
    :data:`_UNREACHABLE`, so that such a visit is dropped with its reason
    instead of breaking the day's route.  The diagonal is read as 0, whatever
    a given matrix holds there: a place to itself costs nothing (as
    ``TravelTimeModel``'s ``stop_minutes``, left off a point to itself).
    Returns the matrix and whether each account can be reached from home and
    left for home.
    """
    from terrakit.data.geo import TravelTimeModel

    if travel is None:
        travel = TravelTimeModel()
    if isinstance(travel, pd.DataFrame):
        travel = TravelTimeModel.from_matrix(travel)
    n = len(ids)
    # a matrix given by the user (not minutes computed from coordinates)
    given = isinstance(travel, np.ndarray) or (
        isinstance(travel, TravelTimeModel) and travel.table is not None
    )
    if isinstance(travel, np.ndarray):
        m = np.asarray(travel, dtype=float)
        if m.shape != (n, n):
            raise DataValidationError(
                "travel_matrix",
                None,
                f"the array must be {n}×{n} (the rep's home first, then the "
                f"territory's {n - 1} accounts in their table order), got shape "
                f"{m.shape}",
                fix="pass TravelTimeModel.from_matrix(matrix, ids=...) or a "
                "DataFrame labelled with the rep and account ids",
            )
    elif isinstance(travel, TravelTimeModel):
        if travel.table is not None:
            m = np.asarray(travel.matrix(ids), dtype=float)
        else:
            pts = pd.DataFrame({"lon": lon, "lat": lat})
            m = np.asarray(travel.matrix(pts), dtype=float)
    else:
        raise SpecificationError(
            f"travel of type {type(travel).__name__} is not understood; pass a "
            "TravelTimeModel, a DataFrame of minutes labelled with the rep and "
            "account ids, a square array (home first) or None"
        )
    bad = np.isnan(m) | (m < 0)
    if bad.any():
        r = np.flatnonzero(bad.any(axis=1) | bad.any(axis=0))
        raise DataValidationError(
            "travel_matrix",
            None,
            f"{int(bad.sum())} travel times are missing (NaN) or negative",
            rows=[ids[i] for i in r],
            n_bad=len(r),
            fix="fill unreachable pairs with numpy.inf and check the units "
            "(minutes, not seconds)",
        )
    if given:
        _check_minutes(m, ids, lon, lat)
    # a place to itself costs nothing (TravelTimeModel's stop_minutes spares
    # it too): a matrix with a per-trip overhead on its diagonal as well is
    # read with 0 there (the lunch break at the account just visited)
    m = m.copy()
    np.fill_diagonal(m, 0.0)
    m = _fill_unreachable(m)
    reach = np.isfinite(m[0, 1:]) & np.isfinite(m[1:, 0])
    return np.where(np.isinf(m), _UNREACHABLE, m), reach


#: Straight-line speed (km/h) that a travel matrix's median over places at
#: least :data:`_SPEED_MIN_KM` apart must reach: walking pace.  Road minutes
#: imply about 15-80 km/h; seconds taken for minutes (OSRM's table service
#: returns seconds) imply 60 times less, 0.3-1.3 km/h.
_SLOWEST_KMH = 5.0
_SPEED_MIN_KM = 1.0


def _check_minutes(
    m: np.ndarray, ids: Sequence[Hashable], lon: np.ndarray, lat: np.ndarray
) -> None:
    """Refuse a travel matrix whose times are too long to be minutes.

    The median straight-line speed it implies over the pairs of places at
    least :data:`_SPEED_MIN_KM` apart (great-circle km of their lon/lat)
    below :data:`_SLOWEST_KMH` is a matrix in seconds, which would otherwise
    be blamed on the rep's home (:func:`_check_home_near`) or drop the
    visits as out of reach.
    """
    from terrakit.data.geo import haversine_matrix

    km = haversine_matrix(lon, lat)
    use = (km >= _SPEED_MIN_KM) & np.isfinite(m)
    if not use.any():
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        kmh = np.where(use, km / np.maximum(m, 0.0) * 60.0, np.nan)
    speed = float(np.nanmedian(kmh))
    if speed >= _SLOWEST_KMH:
        return
    # the pair whose speed is the median's, as the example: the first such
    # pair, so that speeds equal but for rounding (a matrix made from
    # distances) name the same pair whatever the last digits
    near = np.isclose(kmh, speed, rtol=1e-9, atol=0.0)
    flat = (
        int(np.flatnonzero(near)[0])
        if near.any()
        else int(np.nanargmin(abs(kmh - speed)))
    )
    i, j = (int(v) for v in np.unravel_index(flat, km.shape))
    raise DataValidationError(
        "travel_matrix",
        None,
        f"the travel times look like seconds, not minutes: over the "
        f"{int(use.sum())} pairs of places at least {_SPEED_MIN_KM:g} km apart "
        f"they imply a median straight-line speed of {speed:.2g} km/h, slower "
        f"than walking ({_SLOWEST_KMH:g} km/h); e.g. {ids[i]!r} to {ids[j]!r}: "
        f"{km[i, j]:.1f} km in {m[i, j]:.0f} min ({m[i, j] / 60:.1f} min if "
        "these are seconds)",
        fix="divide the matrix by 60 (OSRM's table service returns seconds), "
        "or check its ids and the places' lon/lat",
    )


def _fill_unreachable(m: np.ndarray) -> np.ndarray:
    """Infinite entries of ``m`` replaced by the shortest chain of finite legs.

    Finite entries stay as given; an infinite one becomes the shortest path
    through the other places (Floyd–Warshall), or stays infinite when no
    chain of finite legs joins the pair.
    """
    inf = np.isinf(m)
    if not inf.any():
        return m
    d = m.copy()
    for k in range(len(d)):
        np.minimum(d, d[:, k : k + 1] + d[k : k + 1, :], out=d)
    return np.where(inf, d, m)


def _travel_record(travel: Any) -> str | dict[str, Any]:
    """The travel times a plan was routed on, for its provenance.

    As the design solvers record theirs
    (:meth:`terrakit.data.geo.TravelTimeModel.record`): a formula model's
    ``repr`` (``None``: the default ``TravelTimeModel()``), a table's kind,
    shape, sha256 and ``stop_minutes`` (a DataFrame as
    ``TravelTimeModel.from_matrix`` reads it); an array's shape and sha256.
    """
    from terrakit.data.alignment import frame_sha256
    from terrakit.data.geo import TravelTimeModel

    if travel is None:
        travel = TravelTimeModel()
    if isinstance(travel, pd.DataFrame):
        travel = TravelTimeModel.from_matrix(travel)
    if isinstance(travel, np.ndarray):
        m = np.asarray(travel, dtype=float)
        return {
            "kind": "array",
            "shape": [int(v) for v in m.shape],
            "sha256": frame_sha256(pd.DataFrame(m)),
        }
    record: str | dict[str, Any] = travel.record()
    return record


def _day_seed(seed: int, day: int) -> int:
    """The seed of day ``day``'s route search: ``seed + day``, wrapped into
    the seeds the solvers take (``0..MAX_SEED``), so that a seed near
    ``2**32 - 1`` plans as any other (the same day seeds as before below the
    wrap)."""
    return (int(seed) + int(day)) % (MAX_SEED + 1)


def _unservable_text(
    ids: Sequence[Hashable], visits: np.ndarray, ctx: _DayContext, alone: np.ndarray
) -> str:
    """The accounts due this cycle that no working day can serve, even on
    their own (:meth:`_DayContext.fits_alone`), with why in times
    (:meth:`_DayContext.alone_reason`), or ``""``."""
    bad = np.flatnonzero((visits > 0) & ~alone)
    if not len(bad):
        return ""
    n, n_vis = len(bad), int(visits[bad].sum())
    listed = "; ".join(
        f"{ids[k]!r} ({int(visits[k])} visit{'s' if visits[k] > 1 else ''}): "
        f"{ctx.alone_reason(int(k))}"
        for k in bad[:3]
    )
    rest = ", ".join(repr(ids[k]) for k in bad[3:8]) + (" ..." if n > 8 else "")
    return (
        f"{n} account{'s' if n > 1 else ''} due this cycle cannot be served on "
        f"any working day, so {'their' if n > 1 else 'its'} {n_vis} visit"
        f"{'s are' if n_vis > 1 else ' is'} dropped and left out of the workload "
        f"check: {listed}{'; also ' + rest if rest else ''} (fix: check their "
        "travel times, time windows and call_minutes, widen day_hours, or plan "
        "them from another rep's home)"
    )


# -- main entry --------------------------------------------------------------------
def plan_calls(
    study: Study,
    alignment: Alignment | str,
    territory: Hashable,
    *,
    weeks: int = 4,
    days: Sequence[str] = ("Mon", "Tue", "Wed", "Thu", "Fri"),
    day_hours: tuple[float, float] = (8, 17),
    lunch: tuple[float, float] | None = (12, 13),
    lunch_minutes: float | None = None,
    travel: Any = None,
    rep: Hashable | None = None,
    weeks_per_year: float = 48,
    cycle: int = 0,
    previous: CallPlan | None = None,
    tolerance: float = 0.1,
    rebalance: bool = True,
    backend: Backend = "auto",
    time_limit: float = 10,
    seed: int = 0,
) -> CallPlan:
    """Plan a territory's calls over a cycle of weeks and route every day.

    Parameters
    ----------
    study
        Accounts need ``calls_per_year``, ``call_minutes`` and ``lon``/``lat``
        (else their unit's representative point); reps need
        ``home_lon``/``home_lat``.  Optional ``tw_start``/``tw_end`` columns
        (hours, e.g. ``9.5``) are its opening hours: a call starts at
        ``tw_start`` or later and ends by ``tw_end`` (the closing time).
    alignment
        An :class:`~terrakit.data.Alignment` or the name of one in the study.
    territory
        The territory to plan.
    weeks, days
        Cycle length in weeks and working days of a week, taken in calendar
        order whatever order they are given in (``("Fri", "Mon")`` plans
        Mondays, then Fridays: the day labels and the visit spacing follow
        the calendar).
    day_hours
        Leave home no earlier than ``day_hours[0]`` and be back by
        ``day_hours[1]`` (hours as numbers, e.g. ``(8.5, 17)`` for
        08:30-17:00; text such as ``"8:30"`` is refused).
    lunch
        Window ``(start, end)`` in hours (numbers, as ``day_hours``) in which
        the lunch break is taken, or ``None``.  The break lasts
        ``lunch_minutes`` (default: the whole window, i.e. a fixed break),
        taken wherever the rep is, never during a visit; ``lunch_minutes``
        without a ``lunch`` window is refused.
    travel
        A :class:`~terrakit.data.geo.TravelTimeModel` (default: great-circle
        × 1.3 at 60 km/h), one built with ``TravelTimeModel.from_matrix`` (ids
        = rep id and account ids, e.g. from OSRM), a DataFrame of minutes
        with such ids, or a square array (home first, then the accounts in
        the order of the territory's accounts).  Infinite minutes mark pairs
        without a direct road: they are driven through the other places of
        the matrix where a chain of finite legs joins them (that time is the
        leg's ``drive_min``), and an account that no chain joins to home is
        dropped with that reason.  A matrix's diagonal is read as 0 (a place
        to itself costs nothing, as ``TravelTimeModel`` leaves its
        ``stop_minutes`` off a point to itself), whatever it holds.  The
        model is recorded in ``plan.provenance["config"]["travel"]`` (a
        formula model's ``repr``; a table's or array's shape and sha256).
    rep
        Whose home the routes start from (default: the rep whose id is the
        territory id, else the accounts' most common owner).
    weeks_per_year
        Working weeks per year, a positive number: visits per cycle =
        calls_per_year × weeks / weeks_per_year (fractions rotate over
        cycles, see :func:`~terrakit.routing.periodic.visits_per_cycle`).
    cycle
        Which cycle of the year (0, 1, ...) to plan.
    previous
        The plan of the cycle before (same territory, ``weeks``, ``days``
        and ``weeks_per_year``; its ``cycle`` one less), to keep the spacing
        across the boundary: an account's first visit in this cycle then
        is planned at least half its nominal interval and at most one and a
        half (:data:`MIN_GAP_SHARE`; ``5 · weeks_per_year / calls_per_year``
        working days in a 5-day week) after its last visit routed so far
        (``schedule["last_visit"]`` of ``previous``), as far as the cycle
        allows, and rebalancing keeps it within a quarter to one and three
        quarters of the interval after it.  An account whose last visit lies
        so far back that this cycle starts after the latest day (e.g. a
        dropped visit, or an account called less than once a cycle) gets its
        first visit as early as its spacing allows, with a warning.  Without
        it (default) the cycle's visit days are chosen on their own: the
        spacing holds within the cycle, not across the boundary with the
        cycle before.  Plan a horizon cycle by cycle, each with the one
        before.
    tolerance
        Daily work beyond ``±tolerance`` of the mean is penalised when the
        visit days are chosen; a number in ``[0, 1)``.
    rebalance
        ``True`` or ``False``: move visits dropped from an overfull day to a
        nearby day with room, as far as the account's visit spacing allows
        (see Notes).
    backend
        Daily router: ``"pyvrp"``, ``"ortools"`` or ``"auto"`` (PyVRP: on the
        Solomon and TSPLIB benchmarks at equal time it found shorter routes
        than OR-Tools' guided local search, see ``benchmarks/README.md``;
        OR-Tools when PyVRP is not installed).
    time_limit
        Seconds for the whole plan, checks included: one deadline; choosing
        the visit days gets up to 20 % (at least :data:`MIN_PATTERN_SECONDS`),
        each day's route search an equal share of the time left (less 5 %
        kept for rebalancing) and also stops after a fixed number of iterations,
        so that plans reproduce for a seed when the time is ample.  The
        visits a day's search left out are tried again by insertion within
        the same share; those the time leaves untried are dropped with the
        reason ``time limit up``.  A day's search, and its insertion, get at
        least :data:`MIN_DAY_SECONDS` each; when a step takes longer than its
        share (or that floor makes the plan take longer than ``time_limit``)
        it warns with the numbers.
    seed
        Seed of the routing search (day ``d`` of the cycle searches with
        ``(seed + d) mod 2**32``).

    Returns
    -------
    CallPlan

    Warns
    -----
    TerrakitWarning
        Before solving, when the visits need more hours (calls plus an
        estimate of driving) than the cycle's working days hold; the message
        gives both numbers (also in ``plan.workload`` and the summary).
        Before solving, when accounts due this cycle cannot be served on any
        working day even on their own (the drive there and back, the call,
        the window and the lunch break do not fit in ``day_hours``), with
        the times; their visits are dropped and left out of that check.
        After solving, when visits were dropped from overfull days although
        that check found the territory not overloaded (the routes drove more
        than estimated); the message gives the estimate and the actual
        driving.
    TimeLimitWarning
        When some days' route searches ran out of time before their
        iteration cap (the plan holds the best routes found; the count is
        ``plan.provenance["days_at_time_limit"]``), when visits that the
        searches left out were dropped untried
        (``plan.provenance["repair_stopped"]``), when the clock cut short
        the choice of the visit days (its MIP or relocation passes;
        ``plan.provenance["patterns_cut"]``, what was cut in
        ``["patterns"]``), when rebalancing stopped at
        the deadline, or when the plan took longer than ``time_limit``
        (``plan.provenance["overrun_seconds"]``), saying which steps ran over
        their share and by how much (``plan.provenance["step_seconds"]`` and
        ``["step_allotted"]``), e.g. choosing the visit days, or the days'
        searches, which need at least :data:`MIN_DAY_SECONDS` each.

    Raises
    ------
    SpecificationError
        Before any solving: ``day_hours`` or ``lunch`` that are not two
        numbers of hours, a ``tolerance`` that is not a number in ``[0, 1)``,
        working hours shorter than the lunch break, a ``lunch_minutes``
        that is not a number, unknown or repeated weekday names, ``weeks`` /
        ``cycle`` not whole numbers, ``weeks_per_year`` not a positive
        number (``True`` and text too), ``rebalance`` not ``True`` or
        ``False`` (``"no"`` too), an unknown backend, a
        ``travel`` of an unknown kind, and a working day too short to hold
        any of the territory's visits (the message gives the minutes).
    DataValidationError
        Missing columns (``calls_per_year``, ``call_minutes``, rep homes);
        missing or negative calls or call minutes; time windows that are
        not hours of the day, open after they close or lie outside
        ``day_hours``; calls that cannot be held within their window and
        the working day without overlapping the lunch break (e.g. a window
        inside the fixed break), whatever the travel; travel matrices of
        the wrong size, with missing or negative minutes, or in seconds
        (their median straight-line speed between places at least 1 km
        apart below walking pace, 5 km/h).  The accounts are named.  A rep
        home more than a day's drive from every account of the territory
        (e.g. ``home_lon``/``home_lat`` swapped), with the distance in km.
    KeyError
        An unknown territory or ``rep``.

    Notes
    -----
    Periodic layer: see :mod:`terrakit.routing.periodic` (visits per cycle,
    evenly spaced patterns, angular day seeds, pattern MIP balancing daily
    work within ``±tolerance``).  Daily layer: a
    one-vehicle VRP with time windows from home to home, ``day_hours`` as the
    vehicle's window, every visit optional with a penalty above what serving
    it can cost in any route of the day (so a visit is left out only when
    the day cannot hold it; a visit the search leaves out is tried again by
    cheapest feasible insertion, and the reason is recorded), and the lunch
    break as a group of break options, one at home and one at each visit's
    location, of which exactly one is taken (duration ``lunch_minutes``,
    start within the lunch window).  The solver minimises driving time plus the
    length of the working day (so idle waiting is avoided as well).  A break
    at home before the first call or after the last lies outside the working
    day: the rep leaves home after it, as late as the calls allow, or is
    done on coming home, and waiting for it is no work (the route search
    itself counts such waiting in the day's length; the insertion of visits,
    the free time of a day and the reported hours do not).

    Rebalancing: a visit dropped from an overfull day is inserted (cheapest
    feasible place, exact times) into another day of the cycle within
    ``⌊s/4⌋`` days of its planned day, where ``s`` is the account's spacing
    in days (weekly: ±1 day, every 2 weeks: ±2, every 4 weeks: ±5), and at
    least ``⌈s/2⌉`` days from its other visits.  Visits that still do not
    fit are listed in ``plan.dropped`` with the reason (the day's load, the
    days tried, and the territory's workload when it is overloaded).

    Examples
    --------
    >>> plan = plan_calls(study, "current", "R03")  # doctest: +SKIP
    >>> print(plan.summary())  # doctest: +SKIP
    """
    prep = _prepare(
        study,
        alignment,
        territory,
        weeks=weeks,
        days=days,
        day_hours=day_hours,
        lunch=lunch,
        lunch_minutes=lunch_minutes,
        travel=travel,
        rep=rep,
        weeks_per_year=weeks_per_year,
        cycle=cycle,
        previous=previous,
        tolerance=tolerance,
        rebalance=rebalance,
        backend=backend,
        time_limit=time_limit,
        seed=seed,
    )
    text = _cycles_text(weeks, weeks_per_year)
    if text:
        warnings.warn(text, TerrakitWarning, stacklevel=2)
    for note in prep.notes:
        warnings.warn(f"{territory}: {note}", TerrakitWarning, stacklevel=2)
    if prep.workload["overloaded"]:
        warnings.warn(
            f"{territory}: {prep.workload['reason']}; expect dropped visits (fix: "
            "fewer calls_per_year, more days or hours, or rebalance the territories)",
            TerrakitWarning,
            stacklevel=2,
        )
    plan = _solve(prep)
    text = _unforeseen_drops_text(plan)
    if text:
        warnings.warn(
            f"{territory}: {text}; see plan.dropped (fix: fewer calls_per_year, "
            "more days or hours, or rebalance the territories)",
            TerrakitWarning,
            stacklevel=2,
        )
    text = _window_drops_text(plan)
    if text:
        warnings.warn(f"{territory}: {text}", TerrakitWarning, stacklevel=2)
    text = _time_limit_text(plan)
    if text:
        warnings.warn(f"{territory}: {text}", TimeLimitWarning, stacklevel=2)
    return plan


def _warn_territories(
    plans: Mapping[Hashable, CallPlan],
    text_of: Callable[[CallPlan], str],
    what: str,
    tail: str = "",
) -> None:
    """One warning for the territories whose plan has a ``text_of`` text
    (the first three quoted), from :func:`plan_all`."""
    found = [(t, txt) for t, p in plans.items() if (txt := text_of(p))]
    if found:
        warnings.warn(
            f"{len(found)} of {len(plans)} territories {what}: "
            + "; ".join(f"{t}: {txt}" for t, txt in found[:3])
            + f"{' ...' if len(found) > 3 else ''}{tail}",
            TerrakitWarning,
            stacklevel=3,
        )


def _window_drops_text(plan: CallPlan) -> str:
    """Visits dropped by clashing time windows on days with room, or ``""``."""
    if not len(plan.dropped):
        return ""
    hit = plan.dropped[plan.dropped["reason"].str.startswith(WINDOW_CONFLICT)]
    if not len(hit):
        return ""
    accounts = list(dict.fromkeys(hit["account_id"]))
    return (
        f"{len(hit)} visits ({', '.join(map(str, accounts[:5]))}"
        f"{' ...' if len(accounts) > 5 else ''}) were dropped by time-window "
        "conflicts: their days had time, but their calls clash with other calls "
        "bound to the same window; see plan.dropped (fix: widen the windows or "
        "shorten the calls)"
    )


def _unforeseen_drops_text(plan: CallPlan) -> str:
    """Visits dropped from overfull days although the workload check before
    solving found the territory not overloaded, with the numbers, or ``""``.

    The check estimates driving; the routes give the actual figure, which can
    be larger (e.g. accounts spread thinly, or time windows making detours).
    """
    w = plan.workload
    if not w or w.get("overloaded"):
        return ""
    n_over = int(plan.dropped["reason"].str.startswith("day overfull").sum())
    if not n_over:
        return ""
    planned = int(plan.schedule["visits"].sum())
    return (
        f"{n_over} of {planned} visits were dropped from overfull days although "
        f"the workload check before solving found the territory not overloaded "
        f"({w['needed_hours']:.1f} h needed: {w['service_hours']:.1f} h of calls "
        f"+ about {w['drive_hours_estimate']:.1f} h of driving estimated, "
        f"{w['available_hours']:.1f} h available); the routes drive "
        f"{plan.drive_hours:.1f} h for the {plan.n_visits} visits routed"
        + (
            ", more than estimated"
            if plan.drive_hours > w["drive_hours_estimate"]
            else ""
        )
    )


def _overran(prov: Mapping[str, Any]) -> bool:
    """Whether a plan ran noticeably past its time limit."""
    limit = float(prov["config"]["time_limit"])
    return bool(prov["overrun_seconds"] > max(OVERRUN_SLACK, 0.05 * limit))


def _time_limit_text(plan: CallPlan) -> str:
    """What the time limit cut short, or ``""`` (see :func:`plan_calls`)."""
    prov = plan.provenance
    limit = float(prov["config"]["time_limit"])
    parts = []
    if prov["days_at_time_limit"]:
        parts.append(
            f"the routes of {prov['days_at_time_limit']} of {len(plan.days)} days "
            f"stopped at their time limit ({prov['seconds_per_day']:.2g} s a day "
            f"of time_limit={limit:g} s) before the search's iteration cap; each "
            "is the best route found, but the plan may differ from run to run"
        )
    if prov.get("repair_stopped"):
        parts.append(
            f"on {prov['repair_stopped_days']} days the time ran out before "
            f"{prov['repair_stopped']} visits that the route search left out were "
            f"tried again by insertion; they are dropped ({TIME_UP!r} in "
            "plan.dropped)"
        )
    if prov.get("patterns_cut"):
        how = str(prov["patterns"])
        # the step's own account of what the clock cut, after "(time_limit=..: "
        said = how[how.find("(") + 1 : how.rfind(")")].split(": ", 1)[-1]
        given = prov.get("step_allotted", {}).get("visit_days", math.nan)
        parts.append(
            f"choosing the visit days was cut short in its {given:.2g} s share of "
            f"time_limit={limit:g} s ({said}); the visit days may differ from run "
            "to run"
        )
    if prov["rebalance_stopped"]:
        parts.append(
            f"rebalancing stopped at the time limit with "
            f"{prov['rebalance_stopped']} dropped visits not tried on other days"
        )
    if _overran(prov):
        parts.append(
            f"the plan needed {prov['overrun_seconds']:.2g} s more than "
            f"time_limit={limit:g} s: {_overrun_why(prov, limit)}"
        )
    if not parts:
        return ""
    return "; ".join(parts) + " (fix: raise time_limit)"


def _overrun_why(prov: Mapping[str, Any], limit: float) -> str:
    """The steps of a plan that ran past the time they were given, with the
    seconds, largest overrun first (see :func:`_time_limit_text`)."""
    used = prov.get("step_seconds", {})
    given = prov.get("step_allotted", {})
    slack = max(OVERRUN_SLACK, 0.05 * limit) / 2
    over = {k: used[k] - given.get(k, limit) for k in used}
    why = []
    for step in sorted(over, key=lambda k: -over[k]):
        if over[step] <= slack:
            continue
        u, g = used[step], given.get(step, limit)
        if step == "checks":
            why.append(f"the checks before solving took {u:.2g} s")
        elif step == "visit_days":
            how = str(prov.get("patterns", ""))
            # the step's own account of what the clock cut ("heuristic
            # (time_limit=...: ...)"), where it gives one
            said = how[how.index("(") :] if "(" in how else ""
            why.append(
                f"choosing the visit days took {u:.2g} s, {g:.2g} s were set "
                f"aside for it{' ' + said if said else ''}"
            )
        elif (
            step == "routes"
            and prov["busy_days"] * prov["min_seconds_per_day"] > g + slack
        ):
            need = prov["busy_days"] * prov["min_seconds_per_day"]
            why.append(
                f"its {prov['busy_days']} days with visits need at least "
                f"{prov['min_seconds_per_day']:g} s each for their route search "
                f"({need:.2g} s in all), more than time_limit={limit:g} s left them"
            )
        elif step == "routes":
            why.append(
                f"routing the {prov['busy_days']} days with visits took {u:.2g} s, "
                f"{g:.2g} s were left for it"
                + (
                    f" (a day's route search, and the insertion of the visits it "
                    f"left out, get at least {prov['min_seconds_per_day']:g} s each)"
                    if prov["days_at_minimum"]
                    else ""
                )
            )
        else:
            why.append(f"rebalancing took {u:.2g} s, {g:.2g} s were left for it")
    return (
        ", and ".join(why)
        or "the checks, visit days, routes and rebalancing ran over together"
    )


@dataclass(frozen=True, eq=False)
class _Prepared:
    """A territory's checked inputs and the numbers computed before solving."""

    territory: Hashable
    rep_id: Hashable
    hlon: float
    hlat: float
    acc: pd.DataFrame
    labels: list[str]
    days: list[str]
    day_hours: tuple[Any, ...]  # as given, for the provenance
    lunch: tuple[Any, ...] | None
    weeks: int
    weeks_per_year: Any
    cycle: Any
    tolerance: Any
    rebalance: bool
    backend: str
    time_limit: float
    seed: int
    travel: str | dict[str, Any]  # the travel model's record, for the provenance
    x: np.ndarray
    y: np.ndarray
    visits: np.ndarray
    over: np.ndarray
    rate: np.ndarray
    work: np.ndarray
    capacity: float
    ctx: _DayContext
    workload: dict[str, Any]
    seconds: float
    earliest: np.ndarray | None = None
    earliest_move: np.ndarray | None = None
    latest: np.ndarray | None = None
    latest_move: np.ndarray | None = None
    last_before: np.ndarray | None = None
    #: warnings to give before solving (the territory is prefixed)
    notes: tuple[str, ...] = ()


def _check_settings(
    *,
    weeks: Any,
    days: Sequence[str],
    day_hours: tuple[float, float],
    lunch: tuple[float, float] | None,
    lunch_minutes: float | None,
    weeks_per_year: Any,
    cycle: Any,
    tolerance: float,
) -> tuple[int, list[str], float, float, tuple[float, float, float] | None]:
    """The run settings of :func:`plan_calls`, checked before any data is read.

    Returns ``weeks``, the weekdays, the day's start and end (minutes) and the
    lunch ``(start, end, minutes)`` or ``None``.
    """
    if isinstance(days, str):
        raise SpecificationError(
            f"days must be a sequence of weekday names such as ('Mon', 'Tue'), "
            f"got the text {days!r}"
        )
    day_list = list(days)
    bad_days = [d for d in day_list if d not in WEEKDAYS]
    if bad_days or not day_list:
        raise SpecificationError(
            f"days must be weekday names from {WEEKDAYS}, got {day_list}"
        )
    twice = sorted({d for d in day_list if day_list.count(d) > 1})
    if twice:
        raise SpecificationError(
            f"days names {twice} more than once; give each working weekday once"
        )
    # the visit spacing counts working days in list order: in calendar order
    # whatever order they are given in (("Fri", "Mon") is Mon, Fri)
    day_list.sort(key=WEEKDAYS.index)
    n_weeks = whole_number(weeks)
    if n_weeks is None or n_weeks < 1:
        raise SpecificationError(
            f"weeks must be a whole number of weeks >= 1 (the cycle length), "
            f"got {weeks!r}"
        )
    # a real number, as tolerance: True read as a 1-week year (every account
    # due more than once a day) and "48" as text are refused by name
    wpy = as_number(weeks_per_year) if _is_real(weeks_per_year) else math.nan
    if not (math.isfinite(wpy) and wpy > 0):
        raise SpecificationError(
            f"weeks_per_year must be a positive number of working weeks, got "
            f"{shown(weeks_per_year)}; e.g. 48 (52 weeks less holidays)"
        )
    if wpy < n_weeks:
        raise SpecificationError(
            f"weeks_per_year={weeks_per_year!r} is shorter than one cycle of "
            f"weeks={n_weeks}: a year must hold at least one whole cycle; fix: "
            "the working weeks of a year, e.g. weeks_per_year=48"
        )
    n_cycle = whole_number(cycle)
    if n_cycle is None or n_cycle < 0:
        raise SpecificationError(
            f"cycle must be a whole number >= 0 (0 = the year's first cycle), "
            f"got {cycle!r}"
        )
    if not (_is_real(tolerance) and 0.0 <= float(tolerance) < 1.0):
        raise SpecificationError(
            f"tolerance must be in [0, 1) (0.1: days within ±10 % of the mean), "
            f"got {tolerance!r}"
        )
    d0, d1 = (60.0 * h for h in _hours_pair(day_hours, "day_hours", "(8, 17)"))
    if not 0 <= d0 < d1 <= 24 * 60:
        raise SpecificationError(
            f"day_hours must be (start, end) with start < end "
            f"within 0..24, got {day_hours}"
        )
    if lunch is None:
        if lunch_minutes is not None:
            raise SpecificationError(
                f"lunch_minutes={lunch_minutes!r} is given but lunch=None (no "
                "lunch break); fix: give the window the break is taken in, e.g. "
                "lunch=(12, 13), or leave lunch_minutes out"
            )
        return n_weeks, day_list, d0, d1, None
    l0, l1 = (
        60.0 * h for h in _hours_pair(lunch, "lunch", "(12, 13), or None for no break")
    )
    if lunch_minutes is not None and not _is_real(lunch_minutes):
        # True read as a 1-minute break, text as a bare float() error
        raise SpecificationError(
            f"lunch_minutes must be a number of minutes (or None: the whole "
            f"lunch window), got {shown(lunch_minutes)}; e.g. lunch_minutes=30"
        )
    lmin = (l1 - l0) if lunch_minutes is None else float(lunch_minutes)
    if not (d0 <= l0 and l0 + lmin <= l1 <= d1) or lmin <= 0:
        raise SpecificationError(
            f"lunch {lunch} with {lmin:g} minutes must lie inside day_hours "
            f"{day_hours} and last at most the window"
        )
    return n_weeks, day_list, d0, d1, (l0, l1, lmin)


def _is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (an int or float, not a bool or text)."""
    return not isinstance(value, bool | np.bool_) and isinstance(
        value, int | float | np.integer | np.floating
    )


def _hours_pair(value: Any, name: str, example: str) -> tuple[float, float]:
    """``value`` as ``(start, end)`` hours, or a :class:`SpecificationError`
    naming the setting ``name`` and the accepted form (``example``).

    Two real numbers are accepted (a tuple, list or array); text such as
    ``"8:00"``, a single number and ``None`` are refused (``day_hours=None``
    used to raise a bare ``TypeError``).  Their order and range are checked
    by the caller.
    """
    pair = (
        list(value)
        if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str)
        else None
    )
    if pair is None or len(pair) != 2 or not all(_is_real(h) for h in pair):
        texts = isinstance(pair, list) and any(isinstance(h, str) for h in pair)
        raise SpecificationError(
            f"{name} must be (start, end) in hours, e.g. {example}; got "
            f"{value!r}"
            + (" (fix: give hours as numbers, 8.5 for 8:30)" if texts else "")
        )
    start, end = float(pair[0]), float(pair[1])
    if not (math.isfinite(start) and math.isfinite(end)):
        raise SpecificationError(
            f"{name} must be (start, end) in hours, e.g. {example}; got {value!r}"
        )
    return start, end


def _cycles_text(weeks: Any, weeks_per_year: Any) -> str:
    """Why a year of ``weeks_per_year`` is no whole number of cycles, or ``""``."""
    n, wpy = as_number(weeks), as_number(weeks_per_year)
    if not (math.isfinite(n) and math.isfinite(wpy) and n >= 1 and wpy >= n):
        return ""
    k = wpy / n
    if abs(k - round(k)) < 1e-9:
        return ""
    lo, hi = math.floor(k) * n, math.ceil(k) * n
    return (
        f"weeks_per_year={weeks_per_year:g} is not a whole number of {n:g}-week "
        f"cycles ({wpy:g} / {n:g} = {k:.3g} cycles a year): the visits of whole "
        "cycles cannot add up to the accounts' calls_per_year in a year; fix: "
        f"a multiple of weeks, e.g. weeks_per_year={lo:g} or {hi:g}"
    )


def _check_call_data(
    acc: pd.DataFrame,
    d0: float,
    d1: float,
    lunch: tuple[float, float, float] | None = None,
) -> pd.DataFrame:
    """Calls, call minutes and time windows of a territory's accounts.

    ``calls_per_year`` and ``call_minutes`` must be numbers >= 0 without
    gaps; ``tw_start``/``tw_end`` (optional, hours) numbers within 0..24,
    opening no later than closing and overlapping the working day
    ``d0..d1`` (minutes); and every visited account's call must fit its
    window, the day and the ``lunch`` break ``(start, end, minutes)`` (see
    :func:`_check_calls_fit_windows`).  Returns the accounts with
    ``tw_lo``/``tw_hi`` (opening and closing time in minutes, clipped to the
    day: a call starts at ``tw_lo`` or later and ends by ``tw_hi``) added.
    """
    acc = check_measures(acc, "accounts", ["calls_per_year", "call_minutes"])
    hours: dict[str, np.ndarray] = {}
    for col in ("tw_start", "tw_end"):
        if col not in acc.columns:
            hours[col] = np.full(len(acc), np.nan)
            continue
        raw = acc[col]
        num = pd.to_numeric(raw, errors="coerce")
        text = num.isna() & raw.notna()
        if text.any():
            raise DataValidationError(
                "accounts",
                col,
                f"{int(text.sum())} time-window values are not numbers "
                f"(e.g. {raw[text].iloc[0]!r})",
                rows=list(acc.index[text.to_numpy()]),
                n_bad=int(text.sum()),
                fix="give hours of the day as numbers, e.g. 9.5 for 9:30",
            )
        v = num.to_numpy(dtype=float)
        off = ~np.isnan(v) & ~((v >= 0) & (v <= 24))
        if off.any():
            raise DataValidationError(
                "accounts",
                col,
                f"{int(off.sum())} values are not hours of the day 0..24 "
                f"(e.g. {v[off][0]:g})",
                rows=list(acc.index[off]),
                n_bad=int(off.sum()),
                fix="give hours as numbers from 0 to 24, e.g. 9.5 for 9:30 (not 930)",
            )
        hours[col] = v * 60.0
    lo, hi = hours["tw_start"], hours["tw_end"]
    rev = ~np.isnan(lo) & ~np.isnan(hi) & (lo > hi)
    if rev.any():
        k = int(np.flatnonzero(rev)[0])
        raise DataValidationError(
            "accounts",
            "tw_start/tw_end",
            f"{int(rev.sum())} time windows open after they close (e.g. "
            f"{_hhmm(lo[k])}-{_hhmm(hi[k])})",
            rows=list(acc.index[rev]),
            n_bad=int(rev.sum()),
            fix="swap tw_start and tw_end where they are reversed",
        )
    eff_lo = np.where(np.isnan(lo), d0, np.maximum(lo, d0))
    eff_hi = np.where(np.isnan(hi), d1, np.minimum(hi, d1))
    outside = eff_lo > eff_hi
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        shown = f"{_hhmm(lo[k]) or 'any time'}-{_hhmm(hi[k]) or 'any time'}"
        raise DataValidationError(
            "accounts",
            "tw_start/tw_end",
            f"{int(outside.sum())} accounts can only be visited outside the working "
            f"day {_hhmm(d0)}-{_hhmm(d1)} (e.g. window {shown})",
            rows=list(acc.index[outside]),
            n_bad=int(outside.sum()),
            fix="correct their tw_start/tw_end, or widen day_hours",
        )
    _check_calls_fit_windows(acc, lo, hi, d0, d1, lunch)
    acc["tw_lo"] = eff_lo
    acc["tw_hi"] = eff_hi
    return acc


def _check_calls_fit_windows(
    acc: pd.DataFrame,
    lo: np.ndarray,
    hi: np.ndarray,
    d0: float,
    d1: float,
    lunch: tuple[float, float, float] | None,
) -> None:
    """Refuse visited accounts whose call cannot be held in its window at all.

    An account is open from ``lo`` to ``hi`` (minutes, NaN: open): a call of
    ``m`` minutes starts at ``max(lo, d0)`` or later and ends by
    ``min(hi, d1)``, the closing time or the end of the day.  A lunch break of
    ``lm`` minutes starting within ``l0..l1 − lm`` can be put before or after
    any call except one starting strictly between ``l1 − lm − m`` and
    ``l0 + lm`` (for a fixed break, ``l0 − m`` and ``l1``).  Time arithmetic
    only, no travel: whatever the route, such an account cannot be visited,
    so it is bad data like a window outside the working day (accounts that
    only travel puts out of reach are dropped with their reason instead).
    """
    due = acc["calls_per_year"].to_numpy(dtype=float) > 0
    m = acc["call_minutes"].to_numpy(dtype=float)
    s0 = np.where(np.isnan(lo), d0, np.maximum(lo, d0))
    close = np.minimum(np.where(np.isnan(hi), d1, hi), d1)
    s1 = close - m  # latest start
    has_window = ~(np.isnan(lo) & np.isnan(hi))

    def example(k: int) -> str:
        if has_window[k]:
            shown = f"{_hhmm(lo[k]) or 'any time'}-{_hhmm(hi[k]) or 'any time'}"
            return f"window {shown}: a {m[k]:g}-min call starting then"
        return f"a {m[k]:g}-min call in the working day {_hhmm(d0)}-{_hhmm(d1)}"

    def refuse(bad: np.ndarray, what: str, fixes: tuple[str, str]) -> None:
        # ``what`` names the first bad account's call as ``{example}``;
        # ``fixes``: with a window among them, without
        if not bad.any():
            return
        k = int(np.flatnonzero(bad)[0])
        windowed = bool(has_window[bad].any())
        n = int(bad.sum())
        accounts = f"{n} account's" if n == 1 else f"{n} accounts'"
        raise DataValidationError(
            "accounts",
            "tw_start/tw_end" if windowed else "call_minutes",
            what.format(accounts=accounts, example=example(k)),
            rows=list(acc.index[bad]),
            n_bad=n,
            fix=fixes[0] if windowed else fixes[1],
        )

    refuse(
        due & (s0 > d1 - m + 1e-9),
        f"{{accounts}} calls cannot end by {_hhmm(d1)}, the end of the "
        f"working day (e.g. {{example}} ends after {_hhmm(d1)})",
        (
            "open their windows earlier, shorten call_minutes, or widen day_hours",
            "shorten call_minutes, or widen day_hours",
        ),
    )
    refuse(
        due & (s0 > s1 + 1e-9),
        "{accounts} calls cannot be held within their window: the "
        "call must end by tw_end, the closing time (e.g. {example} ends after "
        "the window closes)",
        (
            "close their windows later (tw_end), open them earlier (tw_start), "
            "or shorten call_minutes",
            "shorten call_minutes",
        ),
    )
    if lunch is None:
        return
    l0, l1, lm = lunch
    # starts strictly inside (b0, b1) overlap every placement of the break
    b0, b1 = l1 - lm - m, l0 + lm
    if abs(l1 - l0 - lm) < 1e-9:
        brk = f"the fixed lunch break {_hhmm(l0)}-{_hhmm(l1)}"
    else:
        brk = f"the {lm:g}-min lunch break taken within {_hhmm(l0)}-{_hhmm(l1)}"
    refuse(
        due & (s0 > b0 + 1e-9) & (s1 < b1 - 1e-9),
        f"{{accounts}} calls cannot be held outside {brk} (e.g. "
        "{example} always overlaps the break)",
        (
            "widen their tw_start/tw_end beyond the break, or move the break "
            "(lunch=) or shorten it (lunch_minutes=)",
            "shorten call_minutes, or move the break (lunch=) or shorten it "
            "(lunch_minutes=)",
        ),
    )


def _check_home_near(
    territory: Hashable,
    rep_id: Hashable,
    hlon: float,
    hlat: float,
    lon: np.ndarray,
    lat: np.ndarray,
    ctx: _DayContext,
) -> None:
    """Refuse a rep home more than a day's drive from every account.

    Such a home is a data error (e.g. lon and lat swapped, or the wrong rep)
    rather than a working day too short, so it is named with its distance in
    km, and with where swapping its lon and lat would put it.
    """
    reach = np.ones(len(lon), dtype=bool) if ctx.reach is None else ctx.reach
    there = ctx.tmat[0, 1:]
    day = ctx.d1 - ctx.d0
    if not reach.any() or not (there[reach] > day).all():
        return
    from terrakit.data.geo import haversine_matrix

    km = haversine_matrix([hlon], [hlat], lon, lat)[0]
    clon, clat = float(np.mean(lon)), float(np.mean(lat))
    km_c = float(haversine_matrix([hlon], [hlat], [clon], [clat])[0, 0])
    hint = ""
    if abs(hlat) <= 180 and abs(hlon) <= 90:
        km_sw = haversine_matrix([hlat], [hlon], lon, lat)[0]
        if km_sw.min() < 0.1 * km.min():
            hint = (
                f"; swapping home_lon and home_lat puts the home "
                f"{km_sw.min():,.0f} km from the nearest"
            )
    raise DataValidationError(
        "reps",
        "home_lon/home_lat",
        f"the home of rep {rep_id!r} ({hlon:g}, {hlat:g}) lies {km.min():,.0f} km "
        f"from the nearest of the {len(lon)} accounts of territory {territory!r} "
        f"({km_c:,.0f} km from their centroid ({clon:.4g}, {clat:.4g})), more "
        f"than a day's drive: the nearest is {there[reach].min():.0f} min away, "
        f"the working day {_hhmm(ctx.d0)}-{_hhmm(ctx.d1)} lasts {day:.0f} "
        f"min{hint}",
        rows=[rep_id],
        fix="correct home_lon/home_lat (longitude first, in degrees), or plan "
        "the territory from another rep's home (rep=)",
    )


def _check_day_fits(
    territory: Hashable,
    ids: Sequence[Hashable],
    visits: np.ndarray,
    ctx: _DayContext,
) -> None:
    """An impossible day, explained before solving: no due visit fits alone."""
    due = np.flatnonzero(visits > 0)
    if not len(due) or any(ctx.fits_alone(int(k)) for k in due):
        return
    reachable = [int(k) for k in due if ctx.reachable(int(k))]
    if not reachable:
        raise SpecificationError(
            f"no visit of territory {territory!r} can be made: none of its "
            f"{len(due)} accounts due this cycle has a route from/to the rep's "
            "home in the travel matrix (infinite minutes, also via the other "
            "accounts' places); fix: check the travel matrix (its home row and "
            "column) and the rep"
        )
    due = np.asarray(reachable)
    lmin = ctx.lunch[2] if ctx.lunch else 0.0
    there = ctx.tmat[0, due + 1]
    back = ctx.tmat[due + 1, 0]
    need = there + ctx.minutes[due] + back + lmin
    j = int(np.argmin(need))
    k = int(due[j])
    lunch_txt = f" and a {lmin:.0f}-min lunch break" if lmin else ""
    length = ctx.d1 - ctx.d0
    why = (
        f"no visit of territory {territory!r} fits in a working day: the day "
        f"{_hhmm(ctx.d0)}-{_hhmm(ctx.d1)} lasts {length:.0f} min, but the "
        f"quickest of its {len(due)} accounts due this cycle ({ids[k]!r}) needs "
        f"{need[j]:.0f} min ({there[j]:.0f} min driving there, a "
        f"{ctx.minutes[k]:.0f}-min call, {back[j]:.0f} min back{lunch_txt})"
    )
    if need[j] <= length:
        brk = " and the lunch break" if lmin else ""
        why += f", and the time windows{brk} leave no room for it"
    raise SpecificationError(
        f"{why}; fix: widen day_hours, shorten the lunch break or "
        "call_minutes, or check the travel times and time windows"
    )


def _prepare(
    study: Study,
    alignment: Alignment | str,
    territory: Hashable,
    *,
    weeks: int = 4,
    days: Sequence[str] = ("Mon", "Tue", "Wed", "Thu", "Fri"),
    day_hours: tuple[float, float] = (8, 17),
    lunch: tuple[float, float] | None = (12, 13),
    lunch_minutes: float | None = None,
    travel: Any = None,
    rep: Hashable | None = None,
    weeks_per_year: float = 48,
    cycle: int = 0,
    previous: CallPlan | None = None,
    tolerance: float = 0.1,
    rebalance: bool = True,
    backend: Backend = "auto",
    time_limit: float = 10,
    seed: int = 0,
) -> _Prepared:
    """Every check of :func:`plan_calls` and the numbers it needs, before solving."""
    # SciPy's first import (for the visit days' MIP) can take most of a
    # second: done before the clock starts, so that the first plan of a
    # process gets the same time for its steps, and so the same plan, as
    # the next ones
    import scipy.optimize  # noqa: F401

    # (the travel model's record comes from the design package, whose first
    # import takes a moment as well)
    import terrakit.design.align  # noqa: F401

    t0 = time.perf_counter()
    n_weeks, day_list, d0, d1, lunch_min = _check_settings(
        weeks=weeks,
        days=days,
        day_hours=day_hours,
        lunch=lunch,
        lunch_minutes=lunch_minutes,
        weeks_per_year=weeks_per_year,
        cycle=cycle,
        tolerance=tolerance,
    )
    time_limit = check_time_limit(time_limit)
    seed = check_seed(seed)
    rebalance = check_flag(
        rebalance,
        "rebalance",
        "True moves visits dropped from an overfull day to a nearby day with "
        "room, False leaves them dropped",
    )
    name = resolve_backend(backend)
    acc = _territory_accounts(study, alignment, territory)
    acc = _check_call_data(acc, d0, d1, lunch_min)
    rep_id, hlon, hlat = _rep_of(study, territory, acc, rep)
    lmin = lunch_min[2] if lunch_min else 0.0
    labels = _day_labels(n_weeks, day_list)
    n_days = len(labels)
    ids = list(acc.index)
    lon = acc["lon"].to_numpy(dtype=float)
    lat = acc["lat"].to_numpy(dtype=float)
    minutes = acc["call_minutes"].to_numpy(dtype=float)
    cpy = acc["calls_per_year"].to_numpy(dtype=float)
    tmat, reach = _travel_matrix(
        travel, [rep_id, *ids], np.r_[hlon, lon], np.r_[hlat, lat]
    )
    travel_record = _travel_record(travel)
    x, y = local_xy(lon, lat, hlon, hlat)
    order = np.argsort(np.arctan2(y, x), kind="stable")
    visits, rate = visits_per_cycle(
        cpy,
        weeks=n_weeks,
        weeks_per_year=float(weeks_per_year),
        cycle=int(cycle),
        order=order,
    )
    over = np.maximum(visits - n_days, 0)
    visits = np.minimum(visits, n_days)
    notes: list[str] = []
    if not len(ids):
        notes.append(
            "the territory has no accounts: the plan is empty (check the "
            "alignment, or the accounts' unit_id)"
        )
    elif not (cpy > 0).any():
        notes.append(
            f"none of the territory's {len(ids)} accounts has calls_per_year > 0: "
            "the plan is empty"
        )
    busy = np.flatnonzero(rate > n_days + 1e-9)
    if len(busy):
        listed = ", ".join(
            f"{ids[a]} ({cpy[a]:g} calls a year = {rate[a]:.1f} visits per "
            f"{n_days}-day cycle)"
            for a in busy[:5]
        )
        notes.append(
            f"{len(busy)} account{'s are' if len(busy) > 1 else ' is'} due more "
            f"than once per working day: "
            f"{listed}{' ...' if len(busy) > 5 else ''}; at most one visit a day "
            f"is planned, the other {int(over.sum())} visits of this cycle are "
            "dropped and left out of the workload check (fix: check "
            "calls_per_year, e.g. 500 typed for 50)"
        )
    last_before, earliest, earliest_move, latest, latest_move = _after_previous(
        previous,
        territory,
        ids,
        cpy,
        weeks=n_weeks,
        days=day_list,
        weeks_per_year=float(weeks_per_year),
        cycle=int(cycle),
    )
    if latest is not None and last_before is not None:
        text = _overdue_text(
            ids,
            visits,
            last_before,
            latest,
            per_year=len(day_list) * float(weeks_per_year),
            calls=cpy,
            first_day=int(cycle) * n_days,
        )
        if text:
            notes.append(text)
    # work per visit: service + the travel it adds (half the way to and from
    # its nearest neighbours, a standard estimate for dense routes)
    n = len(ids)
    if n > 1:
        tt = np.where(tmat[1:, 1:] < _UNREACHABLE, tmat[1:, 1:], np.inf)
        tt = tt + np.diag(np.full(n, np.inf))
        near = np.sort(tt, axis=1)[:, :2].mean(axis=1)
        near = np.where(np.isfinite(near) & reach, near, 0.0)
    else:
        near = np.zeros(n)
    work = minutes + near
    day_min = d1 - d0 - lmin
    rt = tmat[0, 1:] + tmat[1:, 0]
    mean_home = float(np.median(rt[reach])) if reach.any() else 0.0
    ctx = _DayContext(
        tmat=tmat,
        minutes=minutes,
        cpy=cpy,
        win_lo=acc["tw_lo"].to_numpy(dtype=float),
        win_hi=acc["tw_hi"].to_numpy(dtype=float),
        d0=d0,
        d1=d1,
        lunch=lunch_min,
        reach=reach,
        tw_open=_minutes_of(acc, "tw_start"),
        tw_close=_minutes_of(acc, "tw_end"),
        ids=tuple(ids),
    )
    _check_home_near(territory, rep_id, hlon, hlat, lon, lat, ctx)
    _check_day_fits(territory, ids, visits, ctx)
    # accounts that no working day can serve (their visits are all dropped):
    # said before solving, and left out of the workload and the day balance
    alone = np.array(
        [visits[k] <= 0 or ctx.fits_alone(k) for k in range(n)], dtype=bool
    )
    text = _unservable_text(ids, visits, ctx, alone)
    if text:
        notes.append(text)
    work = np.where(alone, work, 0.0)
    workload = _workload(
        np.where(alone, visits, 0),
        minutes,
        near,
        np.where(reach, rt, np.nan),
        weeks=n_weeks,
        n_days=n_days,
        day_min=day_min,
    )
    return _Prepared(
        territory=territory,
        rep_id=rep_id,
        hlon=hlon,
        hlat=hlat,
        acc=acc,
        labels=labels,
        days=day_list,
        day_hours=tuple(day_hours),
        lunch=None if lunch is None else tuple(lunch),
        weeks=n_weeks,
        weeks_per_year=weeks_per_year,
        cycle=cycle,
        tolerance=tolerance,
        rebalance=rebalance,
        backend=name,
        time_limit=time_limit,
        seed=seed,
        travel=travel_record,
        x=x,
        y=y,
        visits=visits,
        over=over,
        rate=rate,
        work=work,
        capacity=max(day_min - mean_home, 0.0),
        ctx=ctx,
        workload=workload,
        seconds=time.perf_counter() - t0,
        earliest=earliest,
        earliest_move=earliest_move,
        latest=latest,
        latest_move=latest_move,
        last_before=last_before,
        notes=tuple(notes),
    )


def _minutes_of(acc: pd.DataFrame, col: str) -> np.ndarray:
    """A checked time-window column in minutes (NaN where absent)."""
    if col not in acc.columns:
        return np.full(len(acc), np.nan)
    return pd.to_numeric(acc[col], errors="coerce").to_numpy(dtype=float) * 60.0


def _after_previous(
    previous: Any,
    territory: Hashable,
    ids: list[Hashable],
    cpy: np.ndarray,
    *,
    weeks: int,
    days: list[str],
    weeks_per_year: float,
    cycle: int,
) -> tuple[np.ndarray | None, ...]:
    """Last visits so far and the first day's range in this cycle, per account.

    Returns ``(last, earliest, earliest_move, latest, latest_move)``, all
    ``None`` without ``previous``.  With ``I`` an account's nominal interval
    (``len(days) · weeks_per_year / calls_per_year`` working days) and ``s``
    :data:`MIN_GAP_SHARE`, ``earliest`` and ``latest`` (for choosing the
    visit days) keep its first visit between ``s · I`` and ``(2 − s) · I``
    after its last visit, ``earliest_move`` and ``latest_move`` (for
    rebalancing) between ``s/2 · I`` and ``(2 − s/2) · I``.  Days count from
    this cycle's first day: ``earliest`` is at least 0, ``latest`` is
    negative when the cycle starts after it (the account is overdue), and
    for accounts never visited they are 0 and ``len(days) · weeks`` (no
    limit).
    """
    if previous is None:
        return None, None, None, None, None
    if not isinstance(previous, CallPlan):
        raise SpecificationError(
            f"previous must be the CallPlan of the cycle before, got "
            f"{type(previous).__name__}"
        )
    cfg = previous.provenance.get("config", {})
    want = {
        "territory": (str(previous.provenance.get("territory")), str(territory)),
        "weeks": (cfg.get("weeks"), weeks),
        "days": (list(cfg.get("days", [])), list(days)),
        "weeks_per_year": (as_number(cfg.get("weeks_per_year")), weeks_per_year),
        "cycle": (cfg.get("cycle"), cycle - 1),
    }
    bad = [
        f"{k} {got!r} (needs {need!r})"
        for k, (got, need) in want.items()
        if got != need
    ]
    if bad:
        raise SpecificationError(
            f"previous must be the plan of the cycle before (this one: territory "
            f"{territory!r}, cycle {cycle}); it has " + ", ".join(bad)
        )
    sched = previous.schedule
    if "last_visit" in sched.columns:
        last = sched["last_visit"].reindex(ids).to_numpy(dtype=float)
    else:
        last = np.full(len(ids), np.nan)
    n_days = weeks * len(days)
    with np.errstate(divide="ignore"):
        interval = np.where(cpy > 0, len(days) * weeks_per_year / cpy, np.inf)
    known = np.isfinite(last) & np.isfinite(interval)

    def first_day(share: float) -> np.ndarray:
        gap = np.where(known, np.ceil(share * interval - 1e-9), 0.0)
        day = np.where(known, last + gap, 0.0)
        return np.maximum(day - cycle * n_days, 0.0).astype(np.int64)

    def last_day(share: float) -> np.ndarray:
        gap = np.where(known, np.floor((2.0 - share) * interval + 1e-9), 0.0)
        day = np.where(known, last + gap - cycle * n_days, n_days)
        return np.minimum(day, n_days).astype(np.int64)

    return (
        last,
        first_day(MIN_GAP_SHARE),
        first_day(MIN_GAP_SHARE / 2),
        last_day(MIN_GAP_SHARE),
        last_day(MIN_GAP_SHARE / 2),
    )


def _overdue_text(
    ids: Sequence[Hashable],
    visits: np.ndarray,
    last: np.ndarray,
    latest: np.ndarray,
    *,
    per_year: float,
    calls: np.ndarray,
    first_day: int,
) -> str:
    """The accounts visited this cycle whose first visit cannot come within
    ``2 − MIN_GAP_SHARE`` intervals of their last (the cycle starts after
    that day, see :func:`_after_previous`), with the numbers, or ``""``.

    ``per_year`` is the working days of a year, ``calls`` the calls per year
    and ``first_day`` this cycle's first working day from cycle 0's.
    """
    late = np.flatnonzero((visits > 0) & (latest < 0))
    if not len(late):
        return ""
    n = len(late)
    listed = "; ".join(
        f"{ids[a]} (last visit on day {last[a]:.0f}, every "
        f"{per_year / calls[a]:.3g} working days: due by day "
        f"{first_day + latest[a]})"
        for a in late[:5]
    )
    return (
        f"{n} account{'s' if n > 1 else ''} due before this cycle's first day "
        f"(working day {first_day}, counted from cycle 0's first day) cannot "
        f"have {'their' if n > 1 else 'its'} first visit within "
        f"{2.0 - MIN_GAP_SHARE:g}× the interval of the last visit: "
        f"{listed}{' ...' if n > 5 else ''}; the first visit is planned as early "
        "as the spacing allows (an earlier visit was dropped, or the account is "
        "called less than once a cycle and the cycle before had no visit of it)"
    )


def _solve(prep: _Prepared) -> CallPlan:
    """Choose the visit days and route every day of a prepared territory."""
    t0 = time.perf_counter() - prep.seconds  # the time limit counts the checks too
    acc, ctx, labels = prep.acc, prep.ctx, prep.labels
    territory, rep_id, hlon, hlat = prep.territory, prep.rep_id, prep.hlon, prep.hlat
    visits, over, rate, workload = prep.visits, prep.over, prep.rate, prep.workload
    name, seed, time_limit = prep.backend, prep.seed, prep.time_limit
    n_days = len(labels)
    ids = list(acc.index)
    n = len(ids)
    lon = acc["lon"].to_numpy(dtype=float)
    lat = acc["lat"].to_numpy(dtype=float)
    minutes, cpy = ctx.minutes, ctx.cpy
    lmin = ctx.lunch[2] if ctx.lunch else 0.0
    # one deadline for the whole plan (checks and visit days included)
    deadline = t0 + float(time_limit)
    # seconds each step took and was given, for the warning when it overran
    used: dict[str, float] = {"checks": prep.seconds}
    given: dict[str, float] = {}
    t_step = time.perf_counter()
    seeds = day_seeds(
        prep.x, prep.y, visits * prep.work, n_weekdays=len(prep.days), weeks=prep.weeks
    )
    t_pat = max(
        MIN_PATTERN_SECONDS,
        min(PATTERN_SHARE * float(time_limit), deadline - time.perf_counter()),
    )
    pa = assign_patterns(
        visits,
        prep.work,
        prep.x,
        prep.y,
        seeds,
        capacity=prep.capacity,
        tolerance=prep.tolerance,
        time_limit=t_pat,
        earliest=prep.earliest,
        latest=prep.latest,
        windows=_window_groups(ctx),
    )
    used["visit_days"], given["visit_days"] = time.perf_counter() - t_step, t_pat
    route_rows: list[dict[str, Any]] = []
    day_rows: list[dict[str, Any]] = []
    drop_rows: list[dict[str, Any]] = []
    for a in np.flatnonzero(over).tolist():
        for _ in range(int(over[a])):
            drop_rows.append(
                {
                    "account_id": a,  # a position: the ids are put in below
                    "day": "",
                    "reason": "frequency above one visit per day: "
                    f"{rate[a]:.1f} visits per {n_days}-day cycle",
                }
            )
    on_day: list[list[int]] = [[] for _ in range(n_days)]
    for i, p in enumerate(pa.days):
        for d in p:
            on_day[d].append(i)
    # each day's search and the insertion of the visits it left out get an
    # equal share of what is left of the time (less a share kept for
    # rebalancing), but never less than the minimum a search needs
    reserve = REBALANCE_SHARE * float(time_limit) if prep.rebalance else 0.0
    n_busy = sum(1 for d in range(n_days) if on_day[d])
    day_tokens: list[list[Token]] = []
    day_dropped: list[list[tuple[int, str]]] = []
    at_limit: list[bool] = []
    allotted: list[float] = []
    at_floor = False
    t_step = time.perf_counter()
    given["routes"] = max(0.0, deadline - reserve - t_step)
    for d in range(n_days):
        t_day = time.perf_counter()
        if on_day[d]:
            left = n_busy - len(allotted)
            share = (deadline - reserve - t_day) / left
            at_floor |= share < MIN_DAY_SECONDS
            allotted.append(max(MIN_DAY_SECONDS, share))
        day_limit = allotted[-1] if on_day[d] else MIN_DAY_SECONDS
        tokens, dropped = _solve_day(
            on_day[d],
            ctx,
            backend=name,
            time_limit=day_limit,
            seed=_day_seed(seed, d),
            at_limit=at_limit,
            deadline=t_day + day_limit,
        )
        day_tokens.append(tokens)
        day_dropped.append(dropped)
    used["routes"] = time.perf_counter() - t_step
    repair_cut = [
        sum(1 for _, why in dd if why.startswith(TIME_UP)) for dd in day_dropped
    ]
    final_days = [list(p) for p in pa.days]
    moved = np.zeros(n, dtype=np.int64)
    rebalance_cut = 0
    if prep.rebalance:
        t_step = time.perf_counter()
        reb_deadline = max(deadline, t_step + MIN_REBALANCE_SECONDS)
        given["rebalance"] = reb_deadline - t_step
        rebalance_cut = _rebalance(
            day_tokens,
            day_dropped,
            final_days,
            moved,
            visits,
            ctx,
            labels,
            deadline=reb_deadline,
            earliest=prep.earliest_move,
            latest=prep.latest_move,
        )
        used["rebalance"] = time.perf_counter() - t_step
    for d, label in enumerate(labels):
        stops, info = _day_output(day_tokens[d], ctx)
        for s_ in stops:
            k = s_["acc"]
            route_rows.append(
                {
                    "day": label,
                    "stop": s_["stop"],
                    "kind": s_["kind"],
                    "account_id": k,  # a position (-1: none), as above
                    "lon": lon[s_["loc"] - 1] if s_["loc"] > 0 else hlon,
                    "lat": lat[s_["loc"] - 1] if s_["loc"] > 0 else hlat,
                    "arrive": s_["arrive"],
                    "start": s_["start"],
                    "depart": s_["depart"],
                    "drive_min": s_["drive"],
                }
            )
        for k, why in day_dropped[d]:
            if workload["overloaded"] and why.startswith("day overfull"):
                why = f"{why}; {workload['reason']}"
            drop_rows.append({"account_id": k, "day": label, "reason": why})
        day_rows.append(
            {
                "day": label,
                "visits": info["visits"],
                "service_min": info["service"],
                "drive_min": info["drive"],
                "start": info["start"],
                "end": info["end"],
                "work_min": info["work"],
                "dropped": len(day_dropped[d]),
            }
        )
    routes = pd.DataFrame(
        route_rows,
        columns=[
            "day",
            "stop",
            "kind",
            "account_id",
            "lon",
            "lat",
            "arrive",
            "start",
            "depart",
            "drive_min",
        ],
    )
    route_pos = routes["account_id"].to_numpy(dtype=np.int64)
    routes["account_id"] = _ids_at(acc.index, route_pos)
    for c in ("arrive", "start", "depart"):
        routes[c + "_hhmm"] = routes[c].map(_hhmm)
    day_table = pd.DataFrame(day_rows).set_index("day")
    day_table["start_hhmm"] = day_table["start"].map(_hhmm)
    day_table["end_hhmm"] = day_table["end"].map(_hhmm)
    dropped_df = pd.DataFrame(drop_rows, columns=["account_id", "day", "reason"])
    # the ids themselves, in the index's dtype (also when no visit is dropped)
    dropped_df["account_id"] = acc.index.take(
        dropped_df["account_id"].to_numpy(dtype=np.int64)
    ).array
    nd = (
        dropped_df.groupby("account_id").size()
        if len(dropped_df)
        else pd.Series(dtype=np.int64)
    )
    schedule = pd.DataFrame(
        {
            "calls_per_year": cpy,
            "call_minutes": minutes,
            "frequency": [frequency_label(r, prep.weeks) for r in rate],
            "visits": visits + over,
            "days": [";".join(labels[dd] for dd in sorted(p)) for p in final_days],
            "moved": moved,
            "lon": lon,
            "lat": lat,
        },
        index=acc.index.rename("account_id"),
    )
    schedule["dropped"] = nd.reindex(schedule.index, fill_value=0).astype(np.int64)
    # the last routed visit so far (working days from cycle 0's first day)
    last = np.full(n, np.nan) if prep.last_before is None else prep.last_before.copy()
    base = int(prep.cycle) * n_days
    is_visit = (routes["kind"] == "visit").to_numpy()
    day_no = {lab: d for d, lab in enumerate(labels)}
    for i, lab in zip(route_pos[is_visit], routes["day"][is_visit], strict=True):
        v = base + day_no[lab]
        if not v <= last[i]:  # NaN or earlier
            last[i] = v
    schedule["last_visit"] = last
    if "segment" in acc.columns:
        schedule.insert(0, "segment", acc["segment"].to_numpy())
    prov = make_provenance(
        f"routing/{name}",
        seed=seed,
        config={
            "weeks": prep.weeks,
            "days": list(prep.days),
            "day_hours": list(prep.day_hours),
            "lunch": None if prep.lunch is None else list(prep.lunch),
            "lunch_minutes": lmin,
            "weeks_per_year": prep.weeks_per_year,
            "cycle": prep.cycle,
            "tolerance": prep.tolerance,
            "rebalance": prep.rebalance,
            "time_limit": time_limit,
            "travel": prep.travel,
        },
        territory=str(territory),
        rep_id=str(rep_id),
        patterns=pa.status,
        patterns_cut=bool(pa.cut_by_clock),
        seconds_per_day=float(np.mean(allotted)) if allotted else 0.0,
        min_seconds_per_day=MIN_DAY_SECONDS,
        busy_days=n_busy,
        days_at_time_limit=int(sum(at_limit)),
        days_at_minimum=bool(at_floor),
        repair_stopped=int(sum(repair_cut)),
        repair_stopped_days=int(sum(1 for c in repair_cut if c)),
        rebalance_stopped=int(rebalance_cut),
        step_seconds=used,
        step_allotted=given,
        overrun_seconds=max(0.0, time.perf_counter() - t0 - float(time_limit)),
    )
    return CallPlan(
        territory=territory,
        rep_id=rep_id,
        days=tuple(labels),
        schedule=schedule,
        routes=routes,
        day_table=day_table,
        dropped=dropped_df,
        workload=workload,
        provenance=prov,
        seconds=time.perf_counter() - t0,
    )


def _ids_at(index: pd.Index, pos: np.ndarray) -> Any:
    """The ids of ``index`` at positions ``pos`` (-1: no account), for a column.

    The ids keep their values and kind: integer ids become the matching
    nullable integer dtype (``Int64``, ``UInt64``, ...) with ``<NA>`` where
    there is no account, never floats (which merged ids above 2**53 such as
    18-digit account numbers, and turned 103 into 103.0); object ids (text)
    stay objects with ``None``; other kinds use their own missing value.
    """
    pos = np.asarray(pos, dtype=np.int64)
    if index.dtype.kind in "iub":
        return pd.array(index.to_numpy()).take(pos, allow_fill=True)
    if index.dtype == object:
        vals = index.to_numpy()
        column = [vals[k] if k >= 0 else None for k in pos]
        return pd.Series(column, dtype=object).to_numpy()
    return index.array.take(pos, allow_fill=True)


def _has_window(ctx: _DayContext) -> np.ndarray:
    """Whether each account has a time window of its own (opening or closing)."""
    n = len(ctx.minutes)
    opened = np.full(n, np.nan) if ctx.tw_open is None else ctx.tw_open
    closes = np.full(n, np.nan) if ctx.tw_close is None else ctx.tw_close
    return ~(np.isnan(opened) & np.isnan(closes))


def _window_groups(ctx: _DayContext) -> list[tuple[list[int], np.ndarray, float]]:
    """The time-window groups the visit days must respect (see
    :func:`terrakit.routing.periodic.window_groups`).

    Each account's window is where its call can fall on a day: from its
    opening, but not before the rep can be there (leaving home at the start
    of the day), to its closing, but not so late that the rep is back home
    after the end of the day.  Accounts with a window of their own that no
    day can serve alone (their visits are dropped anyway) are left out.
    """
    t = ctx.tmat
    lo = np.maximum(ctx.win_lo, ctx.d0 + t[0, 1:])
    hi = np.minimum(ctx.win_hi, ctx.d1 - t[1:, 0])
    reach = np.ones(len(lo), dtype=bool) if ctx.reach is None else ctx.reach
    own = _has_window(ctx) & reach & (hi - lo >= ctx.minutes - 1e-9)
    return window_groups(
        lo,
        hi,
        own,
        ctx.minutes,
        t[1:, 1:],
        lunch=ctx.lunch,
    )


def _iterations(backend: str, n_nodes: int) -> int:
    base, per = DAY_ITERATIONS.get(backend, (100, 25))
    return base + per * n_nodes


@dataclass(frozen=True, eq=False)
class _DayContext:
    """What every day of a territory shares (matrices in minutes).

    ``win_lo``/``win_hi`` are the accounts' opening and closing times
    (clipped to the day): a call starts at ``win_lo`` or later and ends by
    ``win_hi``.  ``reach`` says whether the travel matrix has a route from
    home to the account and back (default: all).  ``tw_open``/``tw_close``
    are the opening and closing times as given, before clipping to the day
    (minutes, NaN: none; default: none), and ``ids`` the account ids, for the
    reasons shown to the user.
    """

    tmat: np.ndarray
    minutes: np.ndarray
    cpy: np.ndarray
    win_lo: np.ndarray
    win_hi: np.ndarray
    d0: float
    d1: float
    lunch: tuple[float, float, float] | None
    reach: np.ndarray | None = None
    tw_open: np.ndarray | None = None
    tw_close: np.ndarray | None = None
    ids: tuple[Hashable, ...] = ()
    _alone: dict[int, bool] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def reachable(self, k: int) -> bool:
        return self.reach is None or bool(self.reach[k])

    def latest_start(self, k: int) -> float:
        """Latest start of account ``k``'s call: it ends by closing and day end."""
        return float(min(self.win_hi[k], self.d1) - self.minutes[k])

    def _fits_without_lunch(self, k: int) -> bool:
        if not self.reachable(k):
            return False
        t = self.tmat
        lo = max(self.d0 + t[0, k + 1], self.win_lo[k])
        hi = min(self.latest_start(k), self.d1 - self.minutes[k] - t[k + 1, 0])
        return bool(lo <= hi + 1e-9)

    def fits_alone(self, k: int) -> bool:
        """Whether account ``k`` can be served in a day on its own.

        Exact: the day's schedule is checked with the lunch break taken at
        home or at the account, before or after the call (a visit that
        fits its window only by overlapping the break does not fit).
        """
        hit = self._alone.get(k)
        if hit is None:
            hit = self._fits_without_lunch(k)
            if hit and self.lunch:
                prob, _, lunch_acc = _day_problem([k], self)
                v: Token = ("visit", k)
                orders: list[list[Token]] = [
                    [v, ("lunch", k)],
                    [("lunch", -1), v],
                    [("lunch", k), v],
                    [v, ("lunch", -1)],
                ]
                hit = any(
                    evaluate_routes(prob, [_nodes_of(o, [k], lunch_acc)]).feasible
                    for o in orders
                )
            self._alone[k] = hit
        return hit

    def alone_reason(self, k: int) -> str:
        """Why account ``k`` cannot be served in a day on its own, in times.

        Leaving home at the start of the day, the call starts at the
        earliest on arrival or at opening time; the reason names that start,
        the call's end, the return home and what they break (closing time,
        end of the day or, when the visit fits without it, the lunch break).
        """
        if not self.reachable(k):
            return (
                "cannot be reached from home: no route from/to home in the "
                "travel matrix (infinite minutes, also via the other accounts' "
                "places)"
            )
        there, back = float(self.tmat[0, k + 1]), float(self.tmat[k + 1, 0])
        m = float(self.minutes[k])
        arrive = self.d0 + there
        start = max(arrive, float(self.win_lo[k]))
        end = start + m
        home = end + back
        opened = self._raw(self.tw_open, k)
        closes = self._raw(self.tw_close, k)
        window = ""
        if not (math.isnan(opened) and math.isnan(closes)):
            window = (
                f"window {_hhmm(opened) or 'any time'}-{_hhmm(closes) or 'any time'}"
            )
        if start > arrive + 1e-9:
            first = f"the earliest start is {_hhmm(start)}, when it opens ({window})"
        else:
            first = (
                f"the earliest start is {_hhmm(start)} (leaving home at "
                f"{_hhmm(self.d0)}, {there:.0f} min drive"
                f"{'; ' + window if window else ''})"
            )
        call = f"{first}; the {m:g}-min call ends at {_hhmm(end)}"
        lead = "cannot be reached and served within working hours: "
        if not math.isnan(closes) and end > closes + 1e-9:
            return f"{lead}{call}, after it closes at {_hhmm(closes)}"
        if end > self.d1 + 1e-9:
            return f"{lead}{call}, after the day ends at {_hhmm(self.d1)}"
        if home > self.d1 + 1e-9:
            return (
                f"{lead}{call} and the {back:.0f}-min drive home returns at "
                f"{_hhmm(home)}, after the day ends at {_hhmm(self.d1)}"
            )
        why = f"{lead}{call} and the drive home returns at {_hhmm(home)}"
        if self.lunch:
            l0, l1, lm = self.lunch
            why += (
                f" (the day ends at {_hhmm(self.d1)}), but with the drive the "
                f"call cannot be placed before or after the {lm:g}-min lunch "
                f"break taken within {_hhmm(l0)}-{_hhmm(l1)}"
            )
        return why

    @staticmethod
    def _raw(values: np.ndarray | None, k: int) -> float:
        return math.nan if values is None else float(values[k])


#: A day's route as tokens: ``("visit", k)`` for account ``k``, ``("lunch",
#: k)`` for the break at account ``k``'s place (``-1``: at home).
Token = tuple[str, int]


def _day_problem(
    accs: Sequence[int], ctx: _DayContext, lunch_at: Sequence[int] = ()
) -> tuple[RoutingProblem, list[int], list[int]]:
    """One day's VRP: node ``j`` (1..m) visits ``accs[j-1]``; lunch options after.

    Lunch can be taken at home and at every visit's place, and also at the
    places in ``lunch_at`` (accounts not visited that day, which a solver's
    route may have chosen).  Returns the problem, the matrix row of every
    node and the account (or -1 for home) of every lunch option ``m+1..``.
    """
    loc = [0, *[k + 1 for k in accs]]
    nodes_loc = list(loc)
    service = [0.0, *[float(ctx.minutes[k]) for k in accs]]
    early = [ctx.d0, *[float(ctx.win_lo[k]) for k in accs]]
    late = [ctx.d1, *[ctx.latest_start(k) for k in accs]]
    cmax = float(ctx.cpy.max()) if len(ctx.cpy) else 1.0
    # leaving a visit out must cost more than serving it in any route of the
    # day: a feasible route drives at most the day's length and lasts at most
    # that long, so serving adds at most 2 × (d1 − d0) to the objective
    # (driving + day length); frequent accounts are worth up to twice more
    base = _DROP_PENALTY_DAYS * (ctx.d1 - ctx.d0) + 1.0
    penalty = [
        0.0,
        *[base * (1.0 + float(ctx.cpy[k]) / max(cmax, 1e-9)) for k in accs],
    ]
    groups: tuple[tuple[int, ...], ...] = ()
    lunch_acc: list[int] = []
    if ctx.lunch:
        l0, l1, lm = ctx.lunch
        first = len(nodes_loc)
        lunch_acc = [-1, *accs]
        lunch_acc += [k for k in dict.fromkeys(lunch_at) if k not in lunch_acc]
        nodes_loc += [0 if k < 0 else k + 1 for k in lunch_acc]
        n_l = len(lunch_acc)
        service += [lm] * n_l
        early += [l0] * n_l
        late += [l1 - lm] * n_l
        penalty += [math.inf] * n_l
        groups = (tuple(range(first, first + n_l)),)
    idx = np.asarray(nodes_loc)
    prob = RoutingProblem(
        duration=ctx.tmat[np.ix_(idx, idx)],
        service=np.array(service),
        early=np.array(early),
        late=np.array(late),
        penalty=np.array(penalty),
        groups=groups,
        scale=60.0,
        duration_cost=1,
    )
    return prob, nodes_loc, lunch_acc


def _nodes_of(
    tokens: Sequence[Token], accs: Sequence[int], lunch_acc: Sequence[int]
) -> list[int]:
    """Node ids of ``tokens`` in the problem of :func:`_day_problem`."""
    node = {k: j for j, k in enumerate(accs, start=1)}
    lunch_node = {k: len(accs) + 1 + j for j, k in enumerate(lunch_acc)}
    return [node[k] if kind == "visit" else lunch_node[k] for kind, k in tokens]


def _tokens_of(
    route: Sequence[int], accs: Sequence[int], lunch_acc: list[int]
) -> list[Token]:
    m = len(accs)
    out: list[Token] = []
    for j in route:
        if j <= m:
            out.append(("visit", accs[j - 1]))
        else:
            out.append(("lunch", lunch_acc[j - m - 1]))
    return out


def _solve_day(
    accs: list[int],
    ctx: _DayContext,
    *,
    backend: str,
    time_limit: float,
    seed: int,
    at_limit: list[bool] | None = None,
    deadline: float = math.inf,
) -> tuple[list[Token], list[tuple[int, str]]]:
    """Route one day; returns the route tokens and dropped (account, reason).

    ``at_limit``, when given, gets whether the search stopped at its time
    limit appended.  The visits the search left out are inserted until
    ``deadline`` (``time.perf_counter()`` seconds; at least
    :data:`MIN_DAY_SECONDS` after the search); those not tried by then are
    dropped with a :data:`TIME_UP` reason.
    """
    dropped: list[tuple[int, str]] = []
    feasible: list[int] = []
    # visits that cannot fit even alone (windows, hours, lunch) are dropped first
    for k in accs:
        if ctx.fits_alone(k):
            feasible.append(k)
        else:
            dropped.append((k, ctx.alone_reason(k)))
    if not feasible:
        return [], dropped
    prob, _, lunch_acc = _day_problem(feasible, ctx)
    with warnings.catch_warnings():
        # a day stopped by its time limit is counted (at_limit) and reported
        # once for the whole plan (_time_limit_text)
        warnings.simplefilter("ignore", TimeLimitWarning)
        sol = solve_routing(
            prob,
            backend=backend,  # type: ignore[arg-type]
            time_limit=time_limit,
            seed=seed,
            max_iterations=_iterations(backend, prob.n_nodes),
        )
    if at_limit is not None:
        at_limit.append(sol.time_limit_reached)
    order: list[int] = []
    tokens: list[Token] = []
    if sol.routes and sol.status != "no_solution":
        tokens = _tokens_of(sol.routes[0], feasible, lunch_acc)
        if not sol.feasible:
            # the search stopped on a route that breaks a window or skips the
            # break (possible when its time is cut short): rebuild by cheapest
            # feasible insertion in the solver's order
            order = [k for kind, k in tokens if kind == "visit"]
            tokens = []
    # every visit the search left out (all of them when it found no route in
    # its time) goes in wherever it still fits, by cheapest feasible insertion
    # with exact times: a visit is dropped only when the route has no room
    kept = {k for kind, k in tokens if kind == "visit"}
    order += sorted(
        (k for k in feasible if k not in kept and k not in order),
        key=lambda k: (-ctx.cpy[k], ctx.minutes[k], k),
    )
    # (each insertion tries every place of the route: on an overfull day of
    # many visits this takes longer than the search, so it stops at the
    # deadline, given at least the least time a day's search gets)
    deadline = max(deadline, time.perf_counter() + MIN_DAY_SECONDS)
    untried: set[int] = set()
    for q, k in enumerate(order):
        if time.perf_counter() > deadline:
            untried = set(order[q:])
            break
        res = _try_insert(tokens, k, ctx)
        if res is not None:
            tokens = res[0]
    used = {k for kind, k in tokens if kind == "visit"}
    if len(used) < len(feasible):
        lmin = ctx.lunch[2] if ctx.lunch else 0.0
        day_min = ctx.d1 - ctx.d0 - lmin
        stops, info = _day_output(tokens, ctx)
        kept_text = (
            f"the route of the {len(used)} visits kept takes "
            f"{info['service']:.0f} min of calls + {info['drive']:.0f} min of "
            f"driving = {info['service'] + info['drive']:.0f} min"
        )
        why = (
            "day overfull: the day's other visits and travel leave no room "
            f"({sum(ctx.minutes[a] for a in accs):.0f} min of visits planned "
            f"in {day_min:.0f} working minutes; {kept_text})"
        )
        free = day_min - info["service"] - info["drive"]
        has = _has_window(ctx)
        relaxed = None
        if has[[*used, *feasible]].any():
            # the same day with every window opened to the working hours
            relaxed = dataclasses.replace(
                ctx,
                win_lo=np.full_like(ctx.win_lo, ctx.d0),
                win_hi=np.full_like(ctx.win_hi, ctx.d1),
            )
        for k in feasible:
            if k in used:
                continue
            if k in untried:
                dropped.append(
                    (
                        k,
                        f"{TIME_UP}: the day's route search left it out and the "
                        f"day's {time_limit:.2g} s share of time_limit ran out "
                        f"before it was tried again by insertion ({kept_text}); "
                        "fix: raise time_limit",
                    )
                )
                continue
            windows = relaxed is not None and free >= ctx.minutes[k] - 1e-9
            if windows and time.perf_counter() > deadline:
                dropped.append(
                    (
                        k,
                        f"{why}; whether time windows were in the way was not "
                        "checked: the time limit was up",
                    )
                )
            elif (
                windows
                and relaxed is not None
                and _try_insert(tokens, k, relaxed) is not None
            ):
                # the day has room for the call: only the windows are in the way
                dropped.append((k, _window_conflict(k, stops, ctx, free, kept_text)))
            else:
                dropped.append((k, why))
    return tokens, dropped


#: How a visit dropped although its day had room for it is reported (and
#: recognised by rebalancing and the warnings).
WINDOW_CONFLICT = "time-window conflict"
#: How a visit is reported that the day's route search left out and the time
#: limit left no time to insert again (counted in the plan's provenance as
#: ``repair_stopped``; never moved to another day by rebalancing).
TIME_UP = "time limit up"


def _window_conflict(
    k: int, stops: list[dict[str, Any]], ctx: _DayContext, free: float, kept: str
) -> str:
    """Why account ``k``'s call found no place in a day that had time for it.

    Names the kept calls with windows of their own that overlap ``k``'s
    window (else every call and the lunch break held in it), with their
    times, and the minutes of calls and driving against the window's.
    """
    lo, hi = float(ctx.win_lo[k]), float(ctx.latest_start(k) + ctx.minutes[k])
    has = _has_window(ctx)
    m = float(ctx.minutes[k])
    inside = [
        s_
        for s_ in stops
        if s_["kind"] in ("visit", "lunch")
        and s_["start"] < hi - 1e-9
        and s_["depart"] > lo + 1e-9
    ]
    # the calls bound to this window like k's (the clash), else all held in it
    bound = [
        s_
        for s_ in stops
        if s_["kind"] == "visit"
        and has[s_["acc"]]
        and ctx.win_lo[s_["acc"]] < hi - 1e-9
        and ctx.win_hi[s_["acc"]] > lo + 1e-9
    ]

    def name(s_: dict[str, Any]) -> str:
        when = f"{_hhmm(s_['start'])}-{_hhmm(s_['depart'])}"
        if s_["kind"] == "lunch":
            return f"the lunch break ({when})"
        a = s_["acc"]
        w = f", window {_hhmm(ctx.win_lo[a])}-{_hhmm(ctx.win_hi[a])}" if has[a] else ""
        who = ctx.ids[a] if ctx.ids else f"account {a}"
        return f"{who} ({ctx.minutes[a]:g} min{w}, {when})"

    own = f"window {_hhmm(lo)}-{_hhmm(hi)}" if has[k] else "working hours"
    text = (
        f"{WINDOW_CONFLICT}: the {m:g}-min call must fall within its {own} "
        f"({hi - lo:.0f} min)"
    )
    if bound:
        calls = [m, *(float(ctx.minutes[s_["acc"]]) for s_ in bound)]
        t = ctx.tmat
        drive = min(
            min(float(t[k + 1, s_["acc"] + 1]), float(t[s_["acc"] + 1, k + 1]))
            for s_ in bound
        )
        text += (
            f", as must {', '.join(name(s_) for s_ in bound)}: "
            f"{' + '.join(f'{c:g}' for c in calls)} = {sum(calls):.0f} min of "
            f"calls + at least {drive:.0f} min of driving between them = "
            f"{sum(calls) + drive:.0f} min"
        )
        if sum(calls) + drive > hi - lo + 1e-9:
            text += f" > the {hi - lo:.0f}-min window"
        else:
            text += " (with the other stops around them no gap is left)"
    elif inside:
        busy = sum(min(s_["depart"], hi) - max(s_["start"], lo) for s_ in inside)
        text += (
            f", where {', '.join(name(s_) for s_ in inside)} take {busy:.0f} min "
            f"and the drives between them leave no {m:g}-min gap"
        )
    else:
        text += ", but the route's fixed times leave no gap for it there"
    return (
        f"{text}; the day has {free:.0f} min free ({kept}); fix: visit one of "
        "these accounts on another day, or widen the windows"
    )


def _try_insert(
    tokens: list[Token], k: int, ctx: _DayContext
) -> tuple[list[Token], float] | None:
    """Cheapest feasible insertion of account ``k`` into a day's route.

    Every position is tried with the exact schedule (with the lunch break where
    it was, or just before or after the new visit, at its place or the
    previous one); the cheapest
    (driving plus working time, :func:`_working_day`) feasible route is
    returned with its cost, or ``None`` when ``k`` fits nowhere.
    """
    if not ctx.fits_alone(k):
        return None
    visits = [a for kind, a in tokens if kind == "visit"]
    accs = [*visits, k]
    lunch_at = [a for kind, a in tokens if kind == "lunch"]
    prob, _, lunch_acc = _day_problem(accs, ctx, lunch_at)
    base = [t for t in tokens if t[0] == "visit"]
    lunches: list[Token] = [t for t in tokens if t[0] == "lunch"]
    lmin = ctx.lunch[2] if ctx.lunch else 0.0
    best: tuple[list[Token], float] | None = None
    for pos in range(len(base) + 1):
        seq = [*base[:pos], ("visit", k), *base[pos:]]
        if ctx.lunch and lunches:
            # the break where it was, or just before / after the new visit
            # (before it: at the previous place, or at k's on arrival)
            lk = lunches[0]
            before = sum(1 for t in tokens[: tokens.index(lk)] if t[0] == "visit")
            before += 1 if pos < before else 0
            prev = -1 if pos == 0 else seq[pos - 1][1]
            options = [
                [*seq[:before], lk, *seq[before:]],
                [*seq[:pos], ("lunch", prev), *seq[pos:]],
                [*seq[: pos + 1], ("lunch", k), *seq[pos + 1 :]],
                [*seq[:pos], ("lunch", k), *seq[pos:]],
            ]
        elif ctx.lunch:  # an empty day: the break after or before the visit
            options = [
                [*seq, ("lunch", k)],
                [("lunch", -1), *seq],
                [("lunch", k), *seq],
                [*seq, ("lunch", -1)],
            ]
        else:
            options = [seq]
        for cand in options:
            nodes = _nodes_of(cand, accs, lunch_acc)
            chk = evaluate_routes(prob, [nodes])
            if not chk.feasible:
                continue
            # driving plus the working day (no waiting for a break at home
            # before leaving or after coming back, see _working_day)
            _, _, _, start, end, lunch_in = _working_day(cand, prob, nodes, chk)
            value = chk.cost + end - start - (lmin if lunch_in else 0.0)
            if best is None or value < best[1] - 1e-9:
                best = (cand, value)
    return best


def _rebalance(
    day_tokens: list[list[Token]],
    day_dropped: list[list[tuple[int, str]]],
    final_days: list[list[int]],
    moved: np.ndarray,
    visits: np.ndarray,
    ctx: _DayContext,
    labels: Sequence[str],
    *,
    deadline: float = math.inf,
    earliest: np.ndarray | None = None,
    latest: np.ndarray | None = None,
) -> int:
    """Move visits dropped from overfull days to nearby days that have room.

    A visit of an account seen ``v`` times in ``D`` days (spacing ``s = D/v``)
    may move by up to ``⌊s/4⌋`` days (weekly in a 5-day week: 1 day; every 2
    weeks: 2; every 4 weeks: 5), and never closer than ``⌈s/2⌉`` days to the
    account's other visits, so gaps stay within ±50 % of the spacing, and
    never before the account's ``earliest`` day (the least gap to its last
    visit in the cycle before, see :data:`MIN_GAP_SHARE`), nor so that its
    first visit falls after its ``latest`` day (the largest gap; or after
    its planned first day, where that is later).
    Candidate days are tried nearest first; a visit is inserted at the
    cheapest feasible place of the day's route (exact times, windows, lunch).
    Higher-frequency accounts go first.  Changes the lists in place; visits
    that stay dropped get the reason extended.  Stops at ``deadline``
    (``time.perf_counter()`` seconds) and returns how many dropped visits
    were not tried then.
    """
    n_days = len(labels)
    lmin = ctx.lunch[2] if ctx.lunch else 0.0
    day_min = ctx.d1 - ctx.d0 - lmin

    def free(d: int) -> float:
        if not day_tokens[d]:
            return day_min
        _, info = _day_output(day_tokens[d], ctx)
        return day_min - info["work"]

    room = [free(d) for d in range(n_days)]
    queue = [
        (d, k)
        for d in range(n_days)
        for k, why in day_dropped[d]
        if why.startswith(("day overfull", WINDOW_CONFLICT))
    ]
    queue.sort(key=lambda dk: (-ctx.cpy[dk[1]], ctx.minutes[dk[1]], dk[0], dk[1]))

    def still_dropped(d: int, k: int, extra: str) -> None:
        """Extend the reason of account ``k``'s visit dropped on day ``d``."""
        day_dropped[d] = [
            (a, f"{w}; {extra}" if a == k else w) for a, w in day_dropped[d]
        ]

    for q, (d, k) in enumerate(queue):
        if time.perf_counter() > deadline:
            for d_, k_ in queue[q:]:
                still_dropped(d_, k_, "not tried on other days: the time limit was up")
            return len(queue) - q
        spacing = n_days / max(int(visits[k]), 1)
        shift = int(spacing // 4)
        others = [e for e in final_days[k] if e != d]
        near = math.ceil(spacing / 2)
        lo = 0 if earliest is None else int(earliest[k])
        hi = n_days if latest is None else max(int(latest[k]), min(final_days[k]))
        cands = [
            d2
            for off in range(1, shift + 1)
            for d2 in (d - off, d + off)
            if lo <= d2 < n_days
            and min([*others, d2]) <= hi
            and d2 not in final_days[k]
            and all(abs(d2 - e) >= near for e in others)
        ]
        placed = False
        for d2 in cands:
            if room[d2] < ctx.minutes[k] - 1e-9:
                continue
            res = _try_insert(day_tokens[d2], k, ctx)
            if res is None:
                continue
            day_tokens[d2] = res[0]
            room[d2] = free(d2)
            final_days[k] = sorted([*others, d2])
            moved[k] += 1
            day_dropped[d] = [(a, w) for a, w in day_dropped[d] if a != k]
            placed = True
            break
        if not placed:
            if shift < 1:
                extra = "its frequency leaves no other day to move it to"
            else:
                extra = (
                    f"no day within ±{shift} days of {labels[d]} had room "
                    f"({len(cands)} tried)"
                )
            still_dropped(d, k, extra)
    return 0


def _workload(
    visits: np.ndarray,
    minutes: np.ndarray,
    near: np.ndarray,
    rt: np.ndarray,
    *,
    weeks: int,
    n_days: int,
    day_min: float,
) -> dict[str, Any]:
    """Hours the cycle's visits need against the hours available, before solving.

    Driving is estimated as each visit's share of the way between neighbours
    (mean of its two nearest accounts) plus one home round trip per day (the
    median over the accounts due); it is an estimate, the routes give the
    actual figure.  ``rt`` is every account's round trip from home (NaN:
    no route in the travel matrix; such accounts are left out of the
    driving estimate and dropped with that reason).
    """
    due = visits > 0
    n_vis = int(visits.sum())
    service_h = float((visits * minutes).sum()) / 60.0
    ok = due & np.isfinite(rt)
    home_h = float(np.median(rt[ok])) * n_days / 60.0 if ok.any() else 0.0
    drive_h = float((visits * near).sum()) / 60.0 + home_h
    avail_h = n_days * day_min / 60.0
    far = ok & (rt > day_min / 2)
    out: dict[str, Any] = {
        "visits": n_vis,
        "service_hours": service_h,
        "drive_hours_estimate": drive_h,
        "needed_hours": service_h + drive_h,
        "available_hours": avail_h,
        "overloaded": bool(service_h + drive_h > avail_h),
        "far_accounts": int(far.sum()),
        "far_visits": int(visits[far].sum()),
        "reason": "",
    }
    if out["overloaded"]:
        why = (
            f"territory overloaded: its {n_vis} visits need {service_h:.0f} h of "
            f"calls + about {drive_h:.0f} h of driving in {weeks} "
            f"week{'s' if weeks != 1 else ''}, but "
            f"{n_days} days × {day_min / 60:g} h = {avail_h:.0f} h are available"
        )
        if far.any():
            why += (
                f"; {int(far.sum())} accounts ({int(visits[far].sum())} visits) lie "
                f"more than {day_min / 4:.0f} min from home each way"
            )
        out["reason"] = why
    return out


def _working_day(
    tokens: Sequence[Token],
    prob: RoutingProblem,
    route: Sequence[int],
    chk: RouteCheck,
) -> tuple[list[int], list[float], list[float], float, float, bool]:
    """The working day of a routed day: its stops and their times.

    A lunch break at home first or last in the route lies outside the
    working day: the rep has it at home before leaving, and then leaves as
    late as the calls allow (no waiting at the first account), or after
    coming back (no waiting at home for the lunch window, which a day of
    morning calls had to do before).  Returns the positions in ``tokens`` of
    the day's stops, their arrival and start times, the departure from home,
    the return home and whether the lunch break falls in the day.
    """
    arr, st = list(chk.arrival[0]), list(chk.start[0])
    keep = list(range(len(tokens)))
    start, end = float(chk.depart[0]), float(chk.back[0])
    home: Token = ("lunch", -1)
    if not tokens or home not in (tokens[0], tokens[-1]):
        return keep, arr, st, start, end, any(k == "lunch" for k, _ in tokens)
    if tokens[-1] == home:  # back home before the break: the day ends there
        return keep[:-1], arr[:-1], st[:-1], start, float(arr[-1]), False
    # the break at home first: leave after it, later by the waiting that the
    # calls allow (the forward time slack, as evaluate_routes does)
    leave = float(st[0] + prob.service[route[0]])
    nodes = list(route[1:])
    waits = np.maximum(np.subtract(st[1:], arr[1:]), 0.0)
    cum = np.cumsum(waits)
    slack = [c + prob.late[j] - s_ for c, j, s_ in zip(cum, nodes, st[1:], strict=True)]
    delay = max(0.0, min([*slack, float(cum[-1]), cum[-1] + prob.late[0] - end]))
    t, prev = leave + delay, 0  # home and the break at home: the same place
    arr, st = [], []
    for j in nodes:
        arr.append(float(t + prob.duration[prev, j]))
        st.append(max(arr[-1], float(prob.early[j])))
        t, prev = st[-1] + float(prob.service[j]), j
    return keep[1:], arr, st, leave + delay, float(t + prob.duration[prev, 0]), False


def _day_output(
    tokens: list[Token], ctx: _DayContext
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Stops (with exact times) and totals of a routed day.

    The day runs from leaving home to coming back (:func:`_working_day`: a
    lunch break at home before the first call or after the last lies
    outside it and is no stop); ``work`` is that time less the lunch break
    taken in it.
    """
    info = {
        "visits": 0,
        "service": 0.0,
        "drive": 0.0,
        "start": math.nan,
        "end": math.nan,
        "work": 0.0,
    }
    accs = [k for kind, k in tokens if kind == "visit"]
    if not accs:
        return [], info
    lunch_at = [k for kind, k in tokens if kind == "lunch"]
    prob, nodes_loc, lunch_acc = _day_problem(accs, ctx, lunch_at)
    route = _nodes_of(tokens, accs, lunch_acc)
    chk = evaluate_routes(prob, [route])
    if not chk.feasible:  # pragma: no cover - guarded by the solver and inserts
        raise RuntimeError(f"internal error: infeasible day route {chk.violations}")
    keep, arrive, begin, start, end, lunch_in = _working_day(tokens, prob, route, chk)
    dur = prob.duration
    stops: list[dict[str, Any]] = [
        {
            "stop": 0,
            "kind": "home",
            "acc": -1,
            "loc": 0,
            "arrive": math.nan,
            "start": math.nan,
            "depart": start,
            "drive": 0.0,
        }
    ]
    prev = 0
    drive = 0.0
    for s, (i, arr, st) in enumerate(zip(keep, arrive, begin, strict=True), start=1):
        node, tok = route[i], tokens[i]
        dmin = float(dur[prev, node])
        drive += dmin
        stops.append(
            {
                "stop": s,
                "kind": tok[0],
                "acc": tok[1] if tok[0] == "visit" else -1,
                "loc": int(nodes_loc[node]),
                "arrive": arr,
                "start": st,
                "depart": st + float(prob.service[node]),
                "drive": dmin,
            }
        )
        prev = node
    back = float(dur[prev, 0])
    drive += back
    stops.append(
        {
            "stop": len(keep) + 1,
            "kind": "home",
            "acc": -1,
            "loc": 0,
            "arrive": end,
            "start": math.nan,
            "depart": math.nan,
            "drive": back,
        }
    )
    lmin = ctx.lunch[2] if (ctx.lunch and lunch_in) else 0.0
    info = {
        "visits": len(accs),
        "service": float(sum(ctx.minutes[k] for k in accs)),
        "drive": drive,
        "start": start,
        "end": end,
        "work": end - start - lmin,
    }
    return stops, info


# -- all territories -----------------------------------------------------------------
_PLANS_COLUMNS = [
    "territory_id",
    "rep_id",
    "accounts",
    "visits",
    "dropped",
    "service_hours",
    "drive_hours",
    "work_hours",
    "drive_hours_year",
    "work_hours_year",
    "drive_share",
    "needed_hours",
    "available_hours",
    "overloaded",
]


@dataclass(frozen=True, eq=False)
class TerritoryPlans:
    """Call plans of every territory, with travel hours per rep.

    Attributes
    ----------
    plans
        ``territory → CallPlan``.
    weeks, weeks_per_year
        Cycle length and working weeks per year (to annualise hours).
    """

    plans: Mapping[Hashable, CallPlan]
    weeks: int
    weeks_per_year: float
    seconds: float = 0.0

    def __post_init__(self) -> None:
        for k, v in self.plans.items():
            if not isinstance(v, CallPlan):
                raise TypeError(f"plan of {k!r} is not a CallPlan")
        object.__setattr__(self, "plans", MappingProxyType(dict(self.plans)))

    def to_frame(self) -> pd.DataFrame:
        """One row per territory: visits, dropped, hours per cycle and per year.

        ``drive_share`` is driving hours over work hours, NaN for a
        territory without work (no visits routed).  ``needed_hours`` /
        ``available_hours`` / ``overloaded`` are the workload check made
        before solving (calls plus estimated driving against the cycle's
        working hours).
        """
        f = self.weeks_per_year / self.weeks
        rows = []
        for t, p in self.plans.items():
            rows.append(
                {
                    "territory_id": t,
                    "rep_id": p.rep_id,
                    "accounts": int((p.schedule["visits"] > 0).sum()),
                    "visits": p.n_visits,
                    "dropped": len(p.dropped),
                    "service_hours": p.service_hours,
                    "drive_hours": p.drive_hours,
                    "work_hours": p.work_hours,
                    "drive_hours_year": p.drive_hours * f,
                    "work_hours_year": p.work_hours * f,
                    # no work, no share (NaN, not 0 %: left out of means)
                    "drive_share": p.drive_hours / p.work_hours
                    if p.work_hours
                    else np.nan,
                    "needed_hours": p.workload.get("needed_hours", np.nan),
                    "available_hours": p.workload.get("available_hours", np.nan),
                    "overloaded": bool(p.workload.get("overloaded", False)),
                }
            )
        return pd.DataFrame(rows, columns=_PLANS_COLUMNS).set_index("territory_id")

    def travel_hours(self, per: str = "year") -> pd.Series:
        """Driving hours per rep (``per="year"`` or ``"cycle"``), for sizing/design.

        One row per rep, in the order the reps first appear: a rep who works
        several territories (``plan_all(rep=...)``) gets their sum.
        """
        if per not in ("year", "cycle"):
            raise SpecificationError(
                f"per must be 'year' or 'cycle' ({self.weeks} weeks), got {per!r}"
            )
        df = self.to_frame()
        col = "drive_hours_year" if per == "year" else "drive_hours"
        hours = df.groupby("rep_id", sort=False)[col].sum()
        return pd.Series(
            hours.to_numpy(dtype=float),
            index=pd.Index(hours.index, name="rep_id"),
            name=f"travel_hours_{per}",
        )

    def summary(self) -> str:
        df = self.to_frame()
        if df.empty:
            return f"Call plans: 0 territories, {self.weeks}-week cycle"
        per_rep = self.travel_hours("year")
        idle = int(df["drive_share"].isna().sum())
        lines = [
            f"Call plans: {len(df)} territories, {self.weeks}-week cycle",
            f"  visits {int(df['visits'].sum())}, dropped {int(df['dropped'].sum())}",
            f"  driving per rep and year: mean "
            f"{per_rep.mean():.0f} h, range "
            f"{per_rep.min():.0f}-{per_rep.max():.0f} h",
            "  driving share of work time: "
            + (
                "none (no work)"
                if idle == len(df)
                else f"mean {100 * df['drive_share'].mean():.0f} %"
                + (
                    f" (of the {len(df) - idle} "
                    f"territor{'y' if len(df) - idle == 1 else 'ies'} with work)"
                    if idle
                    else ""
                )
            ),
        ]
        over = df.index[df["overloaded"]].tolist()
        if over:
            lines.append(
                f"  overloaded (visits need more hours than the cycle holds): "
                f"{len(over)} ({', '.join(str(t) for t in over)})"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.summary()}\n  ({self.seconds:.1f} s)"


def _reps_by_territory(
    study: Study, terrs: list[Hashable], rep: Any
) -> dict[Hashable, Hashable]:
    """``plan_all``'s ``rep=``: one rep id for all, or a territory → rep mapping.

    Returns the rep given for each territory (territories left out of a
    mapping get their rep inferred, as :func:`plan_calls` does).
    """
    if rep is None:
        return {}
    if not isinstance(rep, Mapping):
        return dict.fromkeys(terrs, rep)
    planned = set(terrs)
    unknown = [t for t in rep if t not in planned]
    if unknown:
        raise SpecificationError(
            f"rep= names territories that are not planned: {unknown[:8]}"
            f"{' ...' if len(unknown) > 8 else ''}; its keys must be territory "
            f"ids among those planned ({terrs[:8]}{' ...' if len(terrs) > 8 else ''})"
        )
    known = set() if study.reps is None else set(study.reps.index)
    bad = {}
    for t, r in rep.items():
        try:
            ok = r in known
        except TypeError:  # unhashable
            ok = False
        if not ok:
            bad[t] = r
    if bad:
        listed = ", ".join(f"{t!r}: {r!r}" for t, r in list(bad.items())[:8])
        shown = ", ".join(map(str, sorted(known, key=str)[:8]))
        raise KeyError(
            f"rep= maps {len(bad)} territor{'y' if len(bad) == 1 else 'ies'} to "
            "reps that are not in the reps "
            f"table ({listed}); reps: {shown}{' ...' if len(known) > 8 else ''}; "
            "fix: map each territory to a rep id of the reps table"
        )
    return dict(rep)


def _check_inferred_reps(
    rep_of: Mapping[Hashable, Hashable], inferred: Sequence[Hashable]
) -> None:
    """Refuse a rep inferred for a territory that another territory also gets."""
    by_rep: dict[Hashable, list[Hashable]] = {}
    for t, r in rep_of.items():
        by_rep.setdefault(r, []).append(t)
    guessed = set(inferred)
    shared = {
        r: ts for r, ts in by_rep.items() if len(ts) > 1 and guessed.intersection(ts)
    }
    if not shared:
        return
    listed = "; ".join(
        f"rep {r!r} for "
        + ", ".join(f"{t!r}{'' if t in guessed else ' (given)'}" for t in ts)
        for r, ts in shared.items()
    )
    example = ", ".join(f"{t!r}: ..." for t in next(iter(shared.values())))
    raise SpecificationError(
        f"one rep is inferred for several territories ({listed}): the rep whose "
        "id is the territory id, else the accounts' most common owner; each "
        "would be routed from the same home and travel_hours() would list the "
        "rep more than once; fix: pass rep= a mapping naming each territory's "
        f"rep, e.g. rep={{{example}}}"
    )


def _territory_list(territories: Any, al: Alignment) -> list[Hashable]:
    """``plan_all``'s ``territories``: all of the alignment's (``None``), one
    id (text, a number or a territory id of the alignment) as a list of one,
    or the ids of a list."""
    if territories is None:
        return list(al.territories)
    try:
        one = territories in set(al.territories)  # e.g. a tuple id
    except TypeError:  # unhashable: a list of ids
        one = False
    if one or isinstance(territories, str | bytes):
        return [territories]
    if not isinstance(territories, Iterable):  # one id, e.g. 5
        return [territories]
    return list(territories)


def plan_all(
    study: Study,
    alignment: Alignment | str,
    *,
    territories: Sequence[Hashable] | Hashable | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> TerritoryPlans:
    """:func:`plan_calls` for every territory (with a tqdm progress bar).

    Parameters
    ----------
    study, alignment
        As for :func:`plan_calls`.
    territories
        Subset to plan (default: all of the alignment); one territory id
        (``"R01"``, ``5``) plans that territory alone.
    progress
        Show a progress bar (``False`` or ``TQDM_DISABLE=1`` to hide).
    **kwargs
        Passed to :func:`plan_calls` (``weeks``, ``time_limit``, ``seed``...);
        ``previous`` is the :class:`TerritoryPlans` of the cycle before, each
        territory getting its own plan from it (none for a territory it
        lacks); ``rep`` is one rep id for every territory or a mapping
        ``territory → rep id`` (territories it leaves out get their rep
        inferred as :func:`plan_calls` does).

    Returns
    -------
    TerritoryPlans
        With :meth:`TerritoryPlans.travel_hours` per rep for sizing and design.

    Warns
    -----
    TerrakitWarning
        Once, listing the territories whose visits need more hours than the
        cycle holds (instead of one warning per territory); once more,
        listing those that dropped visits from overfull days although that
        check found them not overloaded.
    TimeLimitWarning
        Once, listing the territories whose day routes ran out of time; once
        more, listing those whose choice of visit days or rebalancing was cut
        short or whose plan took longer than ``time_limit`` (each territory
        gets ``time_limit``).

    Raises
    ------
    SpecificationError, DataValidationError, KeyError
        As :func:`plan_calls`, for any territory, before the first territory
        is solved; also for an empty ``territories``, a ``rep`` mapping with
        keys that are not planned territories (SpecificationError) or values
        that are not reps (KeyError), and one rep inferred for several
        territories (SpecificationError naming them: pass ``rep`` as a
        mapping).
    TypeError
        A keyword that :func:`plan_calls` does not take.
    """
    import inspect

    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    known = set(inspect.signature(plan_calls).parameters) - {
        "study",
        "alignment",
        "territory",
    }
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(
            f"plan_all got unknown keyword arguments {unknown}; plan_calls takes "
            f"{sorted(known)}"
        )
    al = study._get_alignment(alignment)
    terrs = _territory_list(territories, al)
    if not terrs:
        raise SpecificationError(
            f"territories is empty: there is nothing to plan; give territory ids "
            f"of alignment {al.name!r}, or territories=None for all of them"
        )
    prev = kwargs.pop("previous", None)
    if prev is not None and not isinstance(prev, TerritoryPlans):
        raise SpecificationError(
            f"previous must be the TerritoryPlans of the cycle before, got "
            f"{type(prev).__name__}"
        )
    reps = _reps_by_territory(study, terrs, kwargs.pop("rep", None))

    def args(t: Hashable) -> dict[str, Any]:
        out = {**kwargs, "rep": reps.get(t)}
        return out if prev is None else {**out, "previous": prev.plans.get(t)}

    # every territory's data and settings are checked before the first is
    # solved, so that a bad account in the last territory costs no solving
    rep_of = {t: _prepare(study, al, t, **args(t)).rep_id for t in terrs}
    _check_inferred_reps(rep_of, inferred=[t for t in terrs if reps.get(t) is None])
    text = _cycles_text(kwargs.get("weeks", 4), kwargs.get("weeks_per_year", 48))
    if text:
        warnings.warn(text, TerrakitWarning, stacklevel=2)
    plans = {}
    for t in tqdm(terrs, desc="call plans", disable=not progress):
        prep = _prepare(study, al, t, **args(t))
        for note in prep.notes:
            warnings.warn(f"{t}: {note}", TerrakitWarning, stacklevel=2)
        plans[t] = _solve(prep)
    over = [(t, p.workload) for t, p in plans.items() if p.workload.get("overloaded")]
    if over:
        listed = ", ".join(
            f"{t} ({w['needed_hours']:.0f} h needed, {w['available_hours']:.0f} h "
            "available)"
            for t, w in over[:8]
        )
        warnings.warn(
            f"{len(over)} of {len(plans)} territories are overloaded: {listed}"
            f"{' ...' if len(over) > 8 else ''}; their plans drop visits (see "
            "to_frame()['overloaded'] and each plan's workload)",
            TerrakitWarning,
            stacklevel=2,
        )
    _warn_territories(
        plans, _window_drops_text, "dropped visits by time-window conflicts"
    )
    _warn_territories(
        plans,
        _unforeseen_drops_text,
        "dropped visits that the workload check did not foresee",
        tail=" (see to_frame()['dropped'] and each plan's dropped)",
    )
    limited = [t for t, p in plans.items() if p.provenance["days_at_time_limit"]]
    if limited:
        listed = "; ".join(
            f"{t}: {plans[t].provenance['days_at_time_limit']} days"
            for t in limited[:8]
        )
        warnings.warn(
            f"the day routes of {len(limited)} of {len(plans)} territories stopped "
            f"at their time limit before the search's iteration cap ({listed}"
            f"{' ...' if len(limited) > 8 else ''}); each is the best route found, "
            "but the plans may differ from run to run (fix: raise time_limit)",
            TimeLimitWarning,
            stacklevel=2,
        )
    # other cuts (rebalancing stopped, a plan longer than time_limit)
    late = [
        (t, _time_limit_text(p))
        for t, p in plans.items()
        if _overran(p.provenance)
        or p.provenance["rebalance_stopped"]
        or p.provenance.get("patterns_cut")
    ]
    if late:
        warnings.warn(
            f"{len(late)} of {len(plans)} plans were cut short or ran past "
            f"time_limit: " + "; ".join(f"{t}: {txt}" for t, txt in late[:3]),
            TimeLimitWarning,
            stacklevel=2,
        )
    return TerritoryPlans(
        plans=plans,
        weeks=int(kwargs.get("weeks", 4)),
        weeks_per_year=float(kwargs.get("weeks_per_year", 48)),
        seconds=time.perf_counter() - t0,
    )

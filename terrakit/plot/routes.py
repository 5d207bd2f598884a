"""A map of one day's route (or a whole call plan) with stops numbered in order."""

from __future__ import annotations

import warnings
from typing import Any

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from terrakit.exceptions import DataValidationError, TerrakitWarning
from terrakit.plot._check import expect, is_a
from terrakit.plot._palette import distinct_colours
from terrakit.plot._text import plain

__all__ = ["routes"]


def routes(
    plan: Any,
    study: Any = None,
    day: str | None = None,
    ax: Axes | None = None,
    *,
    numbers: bool = True,
    others: bool = True,
) -> Axes:
    """Draw the route of ``day`` (or every day, one colour each) of a call plan.

    Parameters
    ----------
    plan
        A :class:`~terrakit.routing.CallPlan`.
    study
        Optional: a Study, or a units GeoDataFrame (with a CRS).  The
        territory's units are drawn as a light backdrop: the units of the
        plan's accounts (the study's ``accounts.unit_id``; for a units table
        or a study without accounts, the units in which an account of the
        plan lies).
    day
        A day label such as ``"W1-Tue"``; ``None`` draws every day.
    ax
        Axes to draw on; a new figure when ``None``.
    numbers
        Number the stops of a single day in visit order.
    others
        Show the territory's accounts not visited that day (or, with
        ``day=None``, on any day) as grey dots: every account of the plan's
        ``schedule``, those without a visit this cycle too, at the schedule's
        ``lon``/``lat``.  A schedule without those columns (a plan built by
        hand) is completed from the plan's routes and ``study`` (its accounts'
        ``lon``/``lat``, else their units' points); accounts still without a
        place are named in a :class:`~terrakit.exceptions.TerrakitWarning`.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        If ``plan`` is not a :class:`~terrakit.routing.CallPlan` (e.g. the
        :class:`~terrakit.routing.TerritoryPlans` of every territory).
    KeyError
        If ``day`` is not a day of the plan.
    DataValidationError
        If ``study`` is neither a Study nor a units GeoDataFrame, or is a
        units table without a CRS.

    All are raised before a figure is made.
    """
    _check_plan(plan)
    if day is not None and day not in plan.days:
        raise KeyError(f"no day {day!r}; days are {plan.days[0]}..{plan.days[-1]}")
    units, accounts = _tables(study)
    backdrop = None if units is None else _backdrop(plan, units, accounts)
    r = plan.routes
    if day is not None:
        days = [day]
    else:
        days = [d for d in plan.days if (r["day"] == d).any()]
    rest = None
    if others:
        vis = r[r["kind"] == "visit"]
        on = set(vis.loc[vis["day"].isin(days), "account_id"])
        pts = _account_points(plan, units, accounts)
        rest = pts[~pts.index.isin(on)]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 7))
    if backdrop is not None and len(backdrop):
        backdrop.plot(ax=ax, color="0.95", edgecolor="0.8", linewidth=0.5, zorder=1)
    if rest is not None:
        ax.scatter(
            rest["lon"], rest["lat"], s=8, c="0.75", zorder=2, label="other accounts"
        )
    # a colour of its own for every day, however many days
    palette = distinct_colours(len(days))
    lunch_labelled = False
    for k, d in enumerate(days):
        s = r[r["day"] == d]
        if s.empty:
            continue
        color = "tab:blue" if len(days) == 1 else palette[k]
        ax.plot(
            s["lon"],
            s["lat"],
            "-",
            color=color,
            lw=1.2,
            zorder=3,
            label=plain(d) if len(days) <= 10 else None,
        )
        v = s[s["kind"] == "visit"]
        ax.scatter(
            v["lon"],
            v["lat"],
            s=22,
            color=color,
            zorder=4,
            edgecolor="white",
            linewidth=0.5,
        )
        lunch = s[s["kind"] == "lunch"]
        if len(lunch):
            ax.scatter(
                lunch["lon"],
                lunch["lat"],
                marker="*",
                s=90,
                c="orange",
                zorder=5,
                # one legend entry, on the first day that has a lunch stop
                label=None if lunch_labelled else "lunch",
            )
            lunch_labelled = True
        if numbers and len(days) == 1:
            for n, (x, y) in enumerate(zip(v["lon"], v["lat"], strict=True), 1):
                ax.annotate(
                    str(n),
                    (x, y),
                    xytext=(3, 3),
                    textcoords="offset points",
                    fontsize=8,
                    zorder=6,
                )
    home = r[r["kind"] == "home"]
    if len(home):
        ax.scatter(
            home["lon"].iloc[:1],
            home["lat"].iloc[:1],
            marker="s",
            s=80,
            c="black",
            zorder=6,
            label=plain(f"home ({plan.rep_id})"),
        )
    title = f"{plan.territory}: {day}" if day else f"{plan.territory}: all days"
    if day is not None:
        dt = plan.day_table.loc[day]
        title += (
            f" - {int(dt['visits'])} visits, {float(dt['drive_min']):.0f} min driving"
        )
    ax.set_title(plain(title))
    ax.set_xlabel("lon")
    ax.set_ylabel("lat")
    ax.set_aspect(
        1.0 / max(np.cos(np.radians(float(r["lat"].mean()))), 0.1)
        if len(r)
        else "equal"
    )
    ax.legend(loc="best", fontsize=8)
    return ax


def _check_plan(plan: Any) -> None:
    """A :class:`TypeError` naming the fix unless ``plan`` is a routing CallPlan."""
    if is_a(plan, "terrakit.routing.plan", "TerritoryPlans"):
        terrs = list(plan.plans)
        first = repr(terrs[0]) if terrs else "'R01'"
        hint = (
            f"it holds the plans of {len(terrs)} "
            f"territor{'y' if len(terrs) == 1 else 'ies'} "
            f"({', '.join(map(repr, terrs[:5]))}{' ...' if len(terrs) > 5 else ''}); "
            f"draw one of them: pass plans.plans[{first}]"
        )
    elif is_a(plan, "terrakit.sizing.allocation", "CallPlan"):
        hint = (
            "that is tk.sizing.allocate_calls's allocation of calls per account, "
            "with no routes; plan the routes with tk.routing.plan_calls(study, "
            "'current', territory)"
        )
    else:
        hint = "make one with tk.routing.plan_calls(study, 'current', territory)"
    expect(
        plan,
        "terrakit.routing.plan",
        "CallPlan",
        func="tk.plot.routes",
        wanted="one territory's CallPlan (tk.routing.plan_calls)",
        hint=hint,
    )


def _tables(study: Any) -> tuple[gpd.GeoDataFrame | None, pd.DataFrame | None]:
    """The units and accounts of ``study``: a Study's, or a units
    GeoDataFrame and no accounts, or ``(None, None)`` without a study; anything
    else, and units without a CRS (the map is in lon/lat), are refused."""
    from terrakit.metrics import _is_study, _units_of

    if study is None:
        return None, None
    units = _units_of(
        study,
        "pass the study (tk.plot.routes(plan, study)), its units GeoDataFrame "
        "or no study",
    )
    if units.crs is None:
        raise DataValidationError(
            "units",
            "geometry",
            "the geometry has no CRS, so the units cannot be drawn under the "
            "routes, which are in lon/lat",
            fix="set it with units.set_crs('EPSG:4326') (lon/lat) or the CRS the "
            "coordinates are in",
        )
    accounts = getattr(study, "accounts", None) if _is_study(study) else None
    return units, accounts


def _backdrop(
    plan: Any, units: gpd.GeoDataFrame, accounts: pd.DataFrame | None
) -> gpd.GeoDataFrame | None:
    """The territory's units in lon/lat: those of the plan's accounts (by the
    accounts' ``unit_id``; without an accounts table, those in which a known
    account place lies), or ``None`` when they cannot be told."""
    ids = pd.Index(plan.schedule.index)
    if accounts is not None:
        if "unit_id" not in accounts.columns:
            return None
        uid = set(accounts.loc[accounts.index.isin(ids), "unit_id"])
        return units[units.index.isin(uid)].to_crs("EPSG:4326")
    pts = _account_points(plan, None, None, warn=False)
    if pts.empty:
        return None
    ll = units.to_crs("EPSG:4326")
    places = gpd.GeoSeries(gpd.points_from_xy(pts["lon"], pts["lat"]), crs=ll.crs)
    _, hit = ll.sindex.query(places, predicate="intersects")
    return ll.iloc[np.unique(hit)]


def _account_points(
    plan: Any,
    units: gpd.GeoDataFrame | None,
    accounts: pd.DataFrame | None,
    *,
    warn: bool = True,
) -> pd.DataFrame:
    """``lon``/``lat`` of every account of ``plan.schedule`` that can be placed.

    From the schedule's own ``lon``/``lat``, then the plan's routes (visits,
    and lunch breaks at an account's place), then ``accounts``
    (``lon``/``lat``), then the representative point of the account's unit
    in ``units``; accounts still without a place are left out, with a
    warning when ``warn``.
    """
    sched = plan.schedule
    ids = pd.Index(sched.index)
    pts = pd.DataFrame(np.nan, index=ids, columns=["lon", "lat"])
    if {"lon", "lat"} <= set(sched.columns):
        pts = pts.fillna(sched[["lon", "lat"]].astype(float))
    r = plan.routes
    known = r[r["account_id"].notna()].drop_duplicates("account_id")
    known = known.set_index("account_id")[["lon", "lat"]]
    pts = pts.fillna(known.reindex(ids))
    acc = accounts
    if acc is not None and pts.isna().any(axis=None):
        sub = acc.reindex(ids)
        if {"lon", "lat"} <= set(acc.columns):
            pts = pts.fillna(sub[["lon", "lat"]].astype(float))
        if units is not None and "unit_id" in acc.columns and pts.isna().any(axis=None):
            from terrakit.data.geo import lonlat

            lon, lat = lonlat(units)
            unit = pd.DataFrame({"lon": lon, "lat": lat}, index=units.index)
            at = unit.reindex(sub["unit_id"].to_numpy())
            pts = pts.fillna(at.set_axis(ids))
    missing = pts.index[pts.isna().any(axis=1)].tolist()
    if missing and warn:
        warnings.warn(
            f"{len(missing)} of the territory's {len(ids)} accounts are not drawn: "
            f"no route of the plan reaches them and their places are unknown "
            f"({', '.join(map(str, missing[:5]))}"
            f"{' ...' if len(missing) > 5 else ''}); fix: pass the study "
            "(routes(plan, study, ...)) to draw every account",
            TerrakitWarning,
            stacklevel=3,
        )
    return pts.dropna()

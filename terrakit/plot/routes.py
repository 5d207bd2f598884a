"""A map of one day's route (or a whole call plan) with stops numbered in order."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

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
        Optional study: its territory units are drawn as a light backdrop.
    day
        A day label such as ``"W1-Tue"``; ``None`` draws every day.
    ax
        Axes to draw on; a new figure when ``None``.
    numbers
        Number the stops of a single day in visit order.
    others
        Show the territory's accounts not visited that day as grey dots.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    KeyError
        If ``day`` is not a day of the plan.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 7))
    if study is not None:
        _backdrop(ax, plan, study)
    r = plan.routes
    if day is not None:
        if day not in plan.days:
            raise KeyError(f"no day {day!r}; days are {plan.days[0]}..{plan.days[-1]}")
        days = [day]
    else:
        days = [d for d in plan.days if (r["day"] == d).any()]
    if others:
        vis = r[r["kind"] == "visit"]
        on = set(vis.loc[vis["day"].isin(days), "account_id"])
        rest = vis[~vis["account_id"].isin(on)].drop_duplicates("account_id")
        ax.scatter(
            rest["lon"], rest["lat"], s=8, c="0.75", zorder=2, label="other accounts"
        )
    cmap = plt.get_cmap("tab20")
    for k, d in enumerate(days):
        s = r[r["day"] == d]
        if s.empty:
            continue
        color = "tab:blue" if len(days) == 1 else cmap(k % 20)
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
                label="lunch" if k == 0 else None,
            )
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


def _backdrop(ax: Axes, plan: Any, study: Any) -> None:
    units = study.units
    acc = study.accounts
    if acc is None or "unit_id" not in acc.columns:
        return
    ids = set(plan.schedule.index)
    uid = set(acc.loc[acc.index.isin(ids), "unit_id"])
    sub = units[units.index.isin(uid)]
    if len(sub):
        sub.to_crs("EPSG:4326").plot(
            ax=ax, color="0.95", edgecolor="0.8", linewidth=0.5, zorder=1
        )

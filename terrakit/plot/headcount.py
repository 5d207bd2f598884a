"""Headcount curve: expected profit against sales-force size, with bands."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from terrakit.plot._check import expect, is_a


def headcount_curve(curve: Any, ax: Any = None, *, show_sales: bool = False) -> Any:
    """Plot a :class:`~terrakit.sizing.HeadcountCurve`.

    Parameters
    ----------
    curve
        The result of :func:`terrakit.sizing.headcount_curve`.
    ax
        Matplotlib Axes (default: a new figure).
    show_sales
        Also draw expected sales (× margin) on the same axis.

    Returns
    -------
    matplotlib.axes.Axes
        Profit mean line, 80 % and 95 % bands, and the best size with its 80 %
        interval shaded.

    Raises
    ------
    TypeError
        If ``curve`` is not a :class:`~terrakit.sizing.HeadcountCurve` (e.g.
        its ``best()`` or its ``to_frame()``), before a figure is made.
    """
    import matplotlib.pyplot as plt

    if is_a(curve, "terrakit.sizing.headcount", "BestHeadcount"):
        hint = "pass the curve itself: curve.best() is only its best size"
    elif isinstance(curve, pd.DataFrame):
        hint = "pass the HeadcountCurve itself, not its to_frame() table"
    else:
        hint = "make one with tk.sizing.headcount_curve(response_curves, reps=...)"
    expect(
        curve,
        "terrakit.sizing.headcount",
        "HeadcountCurve",
        func="tk.plot.headcount_curve",
        wanted="a HeadcountCurve (tk.sizing.headcount_curve)",
        hint=hint,
    )
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    df = curve.to_frame()
    x = df.index.to_numpy()
    ax.fill_between(
        x,
        df["profit_2.5%"],
        df["profit_97.5%"],
        color="C0",
        alpha=0.15,
        label="95 % band",
    )
    ax.fill_between(
        x, df["profit_10%"], df["profit_90%"], color="C0", alpha=0.3, label="80 % band"
    )
    ax.plot(x, df["profit"], color="C0", lw=2, label="expected profit")
    if show_sales:
        ax.plot(
            x,
            curve.margin * df["sales"],
            color="C2",
            lw=1,
            ls="--",
            label="margin × sales",
        )
    best = curve.best()
    ax.axvspan(
        best.interval_80[0] - 0.5,
        best.interval_80[1] + 0.5,
        color="C1",
        alpha=0.12,
        label="80 % interval of the best size",
    )
    ax.axvline(best.reps, color="C1", lw=1.5, label=f"best: {best.reps} reps")
    ax.set_xlabel("reps")
    ax.set_ylabel("profit per year")
    ax.set_xlim(float(np.min(x)), float(np.max(x)))
    ax.legend(loc="best", fontsize="small")
    ax.set_title("Headcount curve")
    return ax

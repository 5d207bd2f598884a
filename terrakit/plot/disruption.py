"""The disruption front: share of business moved against the balance reached."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from terrakit.plot._check import expect
from terrakit.plot._text import plain

if TYPE_CHECKING:
    from terrakit.realign.front import DisruptionFront

__all__ = ["disruption_front"]


def disruption_front(front: DisruptionFront, ax: Axes | None = None) -> Axes:
    """Plot a :class:`~terrakit.realign.DisruptionFront`.

    x: share of the moved measure that changes rep (%); y: largest deviation
    from target after rebalancing (%).  Each point is labelled with its
    tolerance; the proven lower bound on the share moved is drawn as a grey
    bar to the left of each point; the current plan sits at x = 0;
    infeasible tolerances are drawn as dotted horizontal lines.

    Parameters
    ----------
    front
        The front from :func:`terrakit.realign.disruption_front`.
    ax
        Axes to draw on (a new figure if ``None``).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        If ``front`` is not a :class:`~terrakit.realign.DisruptionFront` (e.g.
        its ``table``), before a figure is made.
    """
    expect(
        front,
        "terrakit.realign.front",
        "DisruptionFront",
        func="tk.plot.disruption_front",
        wanted="a DisruptionFront (tk.realign.disruption_front)",
        hint=(
            "pass the DisruptionFront itself, not its table"
            if isinstance(front, pd.DataFrame)
            else "make one with tk.realign.disruption_front(study, tolerances=...)"
        ),
    )
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    t = front.table
    # tolerances without a plan: proven impossible, or none found in time
    ok = t[~t["status"].isin(["infeasible", "not_found"])]
    x = 100 * ok["moved_share"]
    y = 100 * ok["max_deviation"]
    ax.plot(x, y, marker="o", color="#4c78a8", label="rebalanced")
    lb = 100 * ok["lower_bound_share"]
    ax.hlines(y, lb, x, color="grey", lw=2, alpha=0.6, label="bound → found")
    for xi, yi, tol in zip(x, y, ok["tolerance"], strict=True):
        ax.annotate(
            f"±{100 * tol:g} %",
            (xi, yi),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
        )
    ax.scatter(
        [0.0],
        [100 * front.current_deviation],
        marker="s",
        color="#e45756",
        zorder=3,
        label="current plan",
    )
    marks = {
        "infeasible": ("#e45756", ":", "impossible (proven)"),
        "not_found": ("#f58518", "--", "no plan found in time"),
    }
    for status, (colour, style, label) in marks.items():
        for i, tol in enumerate(t.loc[t["status"] == status, "tolerance"]):
            ax.axhline(
                100 * tol,
                color=colour,
                lw=0.8,
                ls=style,
                label=label if i == 0 else None,
            )
    ax.set_xlabel(plain(f"{front.moved_measure} moved (% of total)"))
    ax.set_ylabel(plain(f"max {front.measure} deviation (%)"))
    ax.set_title("Disruption front")
    ax.set_xlim(left=-0.5)
    ax.legend(frameon=False, fontsize=8)
    return ax

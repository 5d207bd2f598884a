"""Trade-off front: compactness against the balance tolerance."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from terrakit.plot._check import is_a

__all__ = ["plot_pareto"]

#: How a tolerance without a plan is marked: proven impossible, or none found
#: in the time (no proof; any other status without a plan is drawn so too).
_NO_PLAN: dict[str, dict[str, Any]] = {
    "infeasible": {
        "color": "#e45756",
        "lw": 0.8,
        "ls": ":",
        "label": "infeasible (proven)",
    },
    "not_found": {
        "color": "#f58518",
        "lw": 0.8,
        "ls": "--",
        "label": "no plan found in time",
    },
}


def plot_pareto(front: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Plot a :func:`terrakit.design.pareto` frame: objective against tolerance.

    The tolerances are drawn in increasing order whatever the order of the
    rows.  A tolerance without a plan (NaN objective) is a vertical line:
    dotted red when proven ``"infeasible"``, dashed orange when the search
    found none in its time (``"not_found"``, no proof).

    Parameters
    ----------
    front
        Columns ``value`` (tolerance), ``objective``, ``status`` and optionally
        ``lower_bound``.
    ax
        Axes to draw on (a new figure if ``None``).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        For a :class:`~terrakit.realign.DisruptionFront`, which
        :func:`terrakit.plot.disruption_front` draws.
    ValueError
        For anything else that is not such a frame.

    Both are raised before a figure is made.
    """
    if is_a(front, "terrakit.realign.front", "DisruptionFront"):
        raise TypeError(
            "tk.plot.pareto takes the DataFrame of tk.design.pareto, got "
            "DisruptionFront; draw a disruption front with "
            "tk.plot.disruption_front(front)"
        )
    missing = (
        sorted({"value", "objective", "status"} - set(front.columns))
        if isinstance(front, pd.DataFrame)
        else None
    )
    if missing is None or missing:
        disruption_table = missing and {"tolerance", "moved_share"} <= set(
            front.columns
        )
        raise ValueError(
            "front must be the DataFrame of terrakit.design.pareto with columns "
            "value, objective and status"
            + (f"; it lacks {missing}" if missing else f", got {type(front).__name__}")
            + (
                "; that is the table of a DisruptionFront: draw the front with "
                "tk.plot.disruption_front(front)"
                if disruption_table
                else ""
            )
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    t = front.sort_values("value", kind="stable")  # one line, tight to loose
    has_plan = t["objective"].notna()
    ok = t[has_plan]
    ax.plot(100 * ok["value"], ok["objective"], marker="o", label="alignment")
    if "lower_bound" in ok:
        ax.plot(
            100 * ok["value"],
            ok["lower_bound"],
            ls="--",
            marker=".",
            color="grey",
            label="lower bound",
        )
    labelled: set[str] = set()
    failed = t[~has_plan]
    for v, status in zip(failed["value"], failed["status"], strict=True):
        kind = "infeasible" if status == "infeasible" else "not_found"
        style = dict(_NO_PLAN[kind])
        if kind in labelled:
            style.pop("label")
        labelled.add(kind)
        ax.axvline(100 * v, **style)
    ax.set_xlabel("balance tolerance (± % of mean)")
    ax.set_ylabel("objective (lower is more compact)")
    ax.set_title("Compactness vs balance tolerance")
    ax.legend(frameon=False)
    return ax

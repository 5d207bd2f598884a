"""Trade-off front: compactness against the balance tolerance."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

__all__ = ["plot_pareto"]


def plot_pareto(front: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Plot a :func:`terrakit.design.pareto` frame: objective against tolerance.

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
    """
    missing = (
        sorted({"value", "objective", "status"} - set(front.columns))
        if isinstance(front, pd.DataFrame)
        else None
    )
    if missing is None or missing:
        raise ValueError(
            "front must be the DataFrame of terrakit.design.pareto with columns "
            "value, objective and status"
            + (f"; it lacks {missing}" if missing else f", got {type(front).__name__}")
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    ok = front[front["status"] != "infeasible"]
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
    bad = front[front["status"] == "infeasible"]
    for v in bad["value"]:
        ax.axvline(100 * v, color="#e45756", lw=0.8, ls=":")
    ax.set_xlabel("balance tolerance (± % of mean)")
    ax.set_ylabel("objective (lower is more compact)")
    ax.set_title("Compactness vs balance tolerance")
    ax.legend(frameon=False)
    return ax

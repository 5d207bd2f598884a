"""The disruption front: share of business moved against the balance reached."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from terrakit.plot._check import expect
from terrakit.plot._text import plain

# the words with which rebalance says that a proof of impossibility (an
# "infeasible" row's reason) or a bound (info["bound"]) holds only for the plans
# in which each rep keeps its root (home) unit
from terrakit.realign.rebalance import ROOTED_PROOF as _ROOTED

if TYPE_CHECKING:
    from terrakit.realign.front import DisruptionFront

__all__ = ["disruption_front"]


def disruption_front(front: DisruptionFront, ax: Axes | None = None) -> Axes:
    """Plot a :class:`~terrakit.realign.DisruptionFront`.

    x: share of the moved measure that changes rep (%); y: largest deviation
    from target after rebalancing (%).  Each point is labelled with its
    tolerance; the lower bound on the share moved is drawn as a grey bar to
    the left of each point; the current plan sits at x = 0; infeasible
    tolerances are drawn as dotted horizontal lines.

    Only what was proven is claimed.  With contiguity, the bound of a
    tolerance, or its proof of impossibility, may come from the MIP over
    every unit–rep pair, which covers only the plans in which each rep keeps
    its root (home) unit (``front.reasons[τ]``, ``front.results[τ].info``):
    such bars are dashed ("bound keeping each rep's root unit → found"),
    such tolerances dash-dotted ("impossible keeping each rep's root unit
    (proven)"); a bar whose bound cannot be told (its row took the plan of a
    tighter tolerance) counts as such.  The others are "bound → found" and
    "impossible (proven)".

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
        hint=_hint(front),
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
    rooted = np.array([_rooted_bound(front, row) for _, row in ok.iterrows()], bool)
    bars: list[tuple[np.ndarray, Literal["solid", "dashed"], str]] = [
        (~rooted, "solid", "bound → found"),
        (rooted, "dashed", "bound keeping each rep's root unit → found"),
    ]
    for part, dashes, label in bars:
        if part.any():
            ax.hlines(
                y[part],
                lb[part],
                x[part],
                color="grey",
                lw=2,
                alpha=0.6,
                linestyles=dashes,
                label=label,
            )
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
    impossible = t.loc[t["status"] == "infeasible", "tolerance"]
    by_root = [_ROOTED in str(_at(front.reasons, tol, "")) for tol in impossible]
    marks = [
        (
            [tol for tol, r in zip(impossible, by_root, strict=True) if not r],
            ("#e45756", ":", "impossible (proven)"),
        ),
        (
            [tol for tol, r in zip(impossible, by_root, strict=True) if r],
            ("#e45756", "-.", "impossible keeping each rep's root unit (proven)"),
        ),
        (
            t.loc[t["status"] == "not_found", "tolerance"].tolist(),
            ("#f58518", "--", "no plan found in time"),
        ),
    ]
    for tols, (colour, style, label) in marks:
        for i, tol in enumerate(tols):
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


def _hint(front: Any) -> str:
    """The fix for a ``front`` that is no DisruptionFront."""
    if isinstance(front, pd.DataFrame) and {"value", "objective"} <= set(front.columns):
        return (
            "that is a frame of tk.design.pareto (columns value, objective): "
            "draw it with tk.plot.pareto(front)"
        )
    if isinstance(front, pd.DataFrame):
        return "pass the DisruptionFront itself, not its table"
    return "make one with tk.realign.disruption_front(study, tolerances=...)"


def _at(by_tolerance: Mapping[float, Any], tol: float, default: Any) -> Any:
    """The value of ``by_tolerance`` for tolerance ``tol`` (floats compared
    with :func:`math.isclose`, as :meth:`DisruptionFront.alignment` does)."""
    for key, value in by_tolerance.items():
        if math.isclose(key, tol):
            return value
    return default


def _rooted_bound(front: DisruptionFront, row: pd.Series) -> bool:
    """Whether the lower bound of ``row`` may hold only for the plans that
    keep each rep's root unit: its result names the MIP over contiguous
    territories as the bound, or (with contiguity, ``info["roots"]``) the
    row holds the plan of a tighter tolerance, whose result does not say
    where the row's own bound came from."""
    res = _at(front.results, row["tolerance"], None)
    info = getattr(res, "info", None) or {}
    if not info.get("roots"):
        return _ROOTED in str(info.get("bound", ""))
    src = row.get("from_tolerance", row["tolerance"])
    own = pd.isna(src) or math.isclose(src, row["tolerance"])
    return not own or _ROOTED in str(info.get("bound", ""))

"""Where a plan sits in an ensemble's distributions (``tk.design.audit``)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from terrakit.plot._check import expect, is_a
from terrakit.plot._text import plain

__all__ = ["audit"]


def _ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th`` ... ``11th``, ``12th``, ``13th``,
    ``21st``, ``22nd``, ``101st``, ``111th``."""
    if n % 100 in (11, 12, 13):
        return f"{n}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _box(values: np.ndarray, lo: float, mid: float, hi: float) -> dict[str, Any]:
    """Box statistics for :meth:`~matplotlib.axes.Axes.bxp`: quartiles of
    ``values``, the median ``mid`` and whiskers at ``lo`` and ``hi``."""
    q1, q3 = np.quantile(values, [0.25, 0.75])
    return {
        "med": mid,
        "q1": float(q1),
        "q3": float(q3),
        "whislo": lo,
        "whishi": hi,
        "fliers": [],
    }


def _bounds(table: Any, values: np.ndarray) -> tuple[float, float, float]:
    """The report's ``p2_5``, ``p50`` and ``p97_5`` of a row; computed from
    ``values`` as :func:`terrakit.design.audit.audit` does where the row lacks
    them (a report built by hand)."""
    if all(c in table for c in ("p2_5", "p50", "p97_5")):
        return float(table["p2_5"]), float(table["p50"]), float(table["p97_5"])
    from terrakit.design.audit import OUTLIER_LEVEL

    lo, mid, hi = np.quantile(values, [OUTLIER_LEVEL, 0.5, 1 - OUTLIER_LEVEL])
    return float(lo), float(mid), float(hi)


def audit(report: Any, ax: Axes | None = None, *, measure: str | None = None) -> Axes:
    """Draw an :class:`~terrakit.design.audit.AuditReport`.

    Parameters
    ----------
    report
        From :func:`terrakit.design.audit.audit`.
    ax
        Axes to draw on (a new figure if ``None``).
    measure
        ``None``: one row per metric — the ensemble's distribution as a box
        on a common scale (each metric's ensemble range mapped to [0, 1])
        with the plan as a red diamond and its percentile written beside it.
        A measure name (``"potential"``, ``"workload"``): boxes of the
        ensemble's territory totals by rank (smallest to largest) with the
        plan's territories as red diamonds.

    Returns
    -------
    matplotlib.axes.Axes
        Boxes span the quartiles with a line at the report's ``p50``; the
        whiskers end at the report's ``p2_5`` and ``p97_5`` (the central 95 %
        that flags outliers), so a plan drawn beyond a whisker is one the
        report flags.

    Raises
    ------
    TypeError
        If ``report`` is not an :class:`~terrakit.design.audit.AuditReport`.
    KeyError
        If ``measure`` is not one of the report's measures.

    Both are raised before a figure is made.
    """
    if is_a(report, "terrakit.design.ensemble", "Ensemble"):
        hint = "audit a plan against it first: tk.design.audit(plan, ensemble)"
    else:
        hint = "make one with tk.design.audit(plan, ensemble)"
    expect(
        report,
        "terrakit.design.audit",
        "AuditReport",
        func="tk.plot.audit",
        wanted="an AuditReport (tk.design.audit)",
        hint=hint,
    )
    if measure is None:
        dist = report.distributions
        names = list(report.metrics.index)
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.55 * len(names) + 1.2))
        stats, marks = [], []
        for name in names:
            v = dist[name].to_numpy(dtype=float)
            row = report.metrics.loc[name]
            x = float(row["plan"])
            lo, hi = float(min(v.min(), x)), float(max(v.max(), x))
            span = hi - lo if hi > lo else 1.0
            p_lo, p_mid, p_hi = _bounds(row, v)
            stats.append(
                _box(
                    (v - lo) / span,
                    (p_lo - lo) / span,
                    (p_mid - lo) / span,
                    (p_hi - lo) / span,
                )
            )
            marks.append((x - lo) / span)
        pos = np.arange(len(names))[::-1]
        ax.bxp(
            stats,
            positions=pos,
            orientation="horizontal",
            widths=0.5,
            showfliers=False,
        )
        ax.scatter(marks, pos, marker="D", color="#d62728", zorder=3, label="plan")
        for p, m, name in zip(pos, marks, names, strict=True):
            q = 100 * float(report.metrics.loc[name, "percentile"])
            ax.annotate(
                f"{_ordinal(round(q))} pct" if np.isfinite(q) else "no pct",
                (m, p),
                xytext=(6, 6),
                textcoords="offset points",
                fontsize=8,
            )
        ax.set_yticks(pos, [plain(n) for n in names])
        ax.set_xlabel("position in the ensemble's range (0 = lowest, 1 = highest)")
        ax.set_title(
            plain(f"{report.plan_name!r} against {report.n_plans} feasible plans")
        )
        ax.legend(frameon=False, loc="lower right")
        return ax
    if measure not in report.ordered:
        raise KeyError(
            f"measure {measure!r} not in the report; it has {sorted(report.ordered)}"
        )
    ordered = report.ordered[measure]
    k = ordered.shape[1]
    r = report.reps[report.reps["measure"] == measure]
    by_rank = r.set_index("rank")
    stats = []
    for rank in range(1, k + 1):
        v = ordered[:, rank - 1]
        row = by_rank.loc[rank] if rank in by_rank.index else {}
        stats.append(_box(v, *_bounds(row, v)))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(5, 0.35 * k + 2), 3.5))
    ax.bxp(stats, positions=np.arange(1, k + 1), showfliers=False)
    ax.scatter(
        r["rank"], r["value"], marker="D", color="#d62728", zorder=3, label="plan"
    )
    for _, row in r[r["outlier"]].iterrows():
        ax.annotate(
            plain(row["territory_id"]),
            (row["rank"], row["value"]),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=7,
        )
    ax.set_xlabel("territory rank (smallest to largest)")
    ax.set_ylabel(plain(measure))
    ax.set_title(plain(f"{measure} by territory rank: plan vs ensemble"))
    ax.legend(frameon=False)
    return ax

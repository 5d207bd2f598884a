"""Side-by-side comparison of solved scenarios.

:func:`compare` puts the scalar KPIs of several
:class:`~terrakit.realign.scenario.ScenarioResult` objects next to each other
(balance, disruption, compactness, contiguity, capacity) and draws diff maps
against the base alignment.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from terrakit.exceptions import SpecificationError
from terrakit.realign.scenario import Scenario, ScenarioResult

__all__ = ["Comparison", "compare"]

#: Indicators where smaller is better (all of them except none).
_LOWER_IS_BETTER_SUFFIXES = (
    "_max_dev",
    "_cv",
    "_share",
    "_km",
    "noncontiguous",
    "over_capacity",
)


@dataclass(frozen=True)
class Comparison:
    """Scalar KPIs of several solved scenarios, side by side.

    Attributes
    ----------
    results
        The compared :class:`ScenarioResult` objects, in order.
    table
        Indicators (rows) × scenarios (columns), see
        :meth:`ScenarioResult.indicators`.
    """

    results: tuple[ScenarioResult, ...]
    table: pd.DataFrame

    def __post_init__(self) -> None:
        names = [r.name for r in self.results]
        if list(self.table.columns) != names:
            raise ValueError("table columns must be the scenario names, in order")

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.results]

    def to_frame(self) -> pd.DataFrame:
        """Indicators × scenarios (a copy)."""
        return self.table.copy()

    def best(self) -> pd.Series:
        """Per indicator where lower is better, the scenario with the lowest
        value; ``"tie: a, b"`` when several share it (no false winner)."""
        rows = [
            i for i in self.table.index if str(i).endswith(_LOWER_IS_BETTER_SUFFIXES)
        ]
        sub = self.table.loc[rows].dropna(how="all")

        def winner(row: pd.Series) -> str:
            low = row.min()
            at = [str(c) for c, v in row.items() if v == low]
            return at[0] if len(at) == 1 else "tie: " + ", ".join(at)

        return sub.apply(winner, axis=1).rename("best")

    def diff_map(self, which: int | str, ax: Any = None, **kw: Any) -> Any:
        """Map of the units that scenario ``which`` moves away from its base.

        ``which`` is a position (any integer, ``numpy.int64`` included) or
        a scenario name; ``**kw`` go to
        :func:`terrakit.plot.compare.diff_map`.
        """
        from terrakit.plot.compare import diff_map

        r = self._get(which)
        # from what the disruption was measured (a leaver's territory renamed
        # when a hire takes the id), as ScenarioResult.diff() does
        before = r.before
        if before is None:
            before = r.study.alignments[r.scenario.base]
        return diff_map(
            r.study,
            before,
            r.alignment,
            ax=ax,
            title=kw.pop("title", r.name),
            **kw,
        )

    def diff_maps(self, **kw: Any) -> Any:
        """One diff map per scenario in a row of panels; returns the Figure."""
        import matplotlib.pyplot as plt

        n = len(self.results)
        fig, axes = plt.subplots(1, n, figsize=(5 * n, 5), squeeze=False)
        for i in range(n):
            self.diff_map(i, ax=axes[0, i], **kw)
        return fig

    def _get(self, which: int | str) -> ScenarioResult:
        if isinstance(which, numbers.Integral) and not isinstance(which, bool):
            which = int(which)
            if not -len(self.results) <= which < len(self.results):
                raise KeyError(
                    f"no scenario at position {which}; compared "
                    f"{len(self.results)}: {self.names}"
                )
            return self.results[which]
        for r in self.results:
            if r.name == which:
                return r
        raise KeyError(f"no scenario {which!r}; compared: {self.names}")

    def summary(self) -> str:
        """Rounded, stable text table.

        Each column is as wide as its scenario's name (at least 14
        characters): names are shown whole, so that two names sharing a
        long prefix (``"north-hire-2026-v1"``, ``"...-v2"``) stay apart.
        """
        t = self.table.copy()
        lines = ["Scenario comparison"]
        width = max(len(str(i)) for i in t.index)
        ws = [max(14, len(str(c))) for c in t.columns]
        head = " " * width + "".join(
            f"  {c!s:>{w}}" for c, w in zip(t.columns, ws, strict=True)
        )
        lines.append(head)
        for ind, row in t.iterrows():
            cells = []
            for v, w in zip(row, ws, strict=True):
                if pd.isna(v):
                    cells.append(f"  {'nan':>{w}}")
                elif str(ind).endswith(("_share", "_max_dev")):
                    cells.append(f"  {v:>{w}.1%}")
                elif float(v).is_integer():
                    cells.append(f"  {int(v):>{w}d}")
                else:
                    cells.append(f"  {v:>{w}.3f}")
            lines.append(f"{ind!s:<{width}}" + "".join(cells))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def compare(results: Sequence[ScenarioResult]) -> Comparison:
    """Compare solved scenarios side by side.

    Parameters
    ----------
    results
        Solved scenarios (what :meth:`Scenario.solve` returns), at least one;
        names must differ.

    Returns
    -------
    Comparison
        ``to_frame()``: indicators × scenarios (max deviation and CV per
        balanced measure, moved shares, mean travel km, non-contiguous
        territories, reps over capacity); ``diff_map(i)``: what scenario ``i``
        moves.

    Raises
    ------
    SpecificationError
        No results, an unsolved :class:`Scenario`, or repeated names.

    Examples
    --------
    >>> cmp = compare([s1.solve(), s2.solve()])  # doctest: +SKIP
    >>> cmp.to_frame().loc["workload_max_dev"]  # doctest: +SKIP
    """
    if isinstance(results, (ScenarioResult, Scenario)) or not isinstance(
        results, Sequence | Iterable
    ):
        raise SpecificationError(
            f"compare() takes a list of solved scenarios, got a "
            f"{type(results).__name__}. Fix: compare([s1.solve(), s2.solve()])"
        )
    results = list(results)
    if not results:
        raise SpecificationError("compare() needs at least one solved scenario")
    for i, r in enumerate(results):
        if isinstance(r, Scenario):
            raise SpecificationError(
                f"compare(): item {i} is the unsolved scenario {r.name!r}. Fix: pass "
                "scenario.solve(...) (a ScenarioResult)"
            )
        if not isinstance(r, ScenarioResult):
            raise SpecificationError(
                f"compare(): item {i} is a {type(r).__name__}, not a ScenarioResult"
            )
    names = [r.name for r in results]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SpecificationError(
            f"compare(): scenario names repeat ({dup}). Fix: give each scenario its "
            "own name, e.g. scenario.renamed('hire-2')"
        )
    table = pd.concat([r.indicators() for r in results], axis=1)
    table.columns = pd.Index(names, name="scenario")
    table.index.name = "indicator"
    return Comparison(tuple(results), table)

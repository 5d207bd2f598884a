"""Balance panel: one bar per territory against the tolerance band (ipywidgets HTML).

Each territory is its own small HTML widget, so a move that changes two
territories re-sends two rows of a few hundred bytes, not the whole panel.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as W
import numpy as np

from terrakit.widgets.state import EditorState

__all__ = ["BalancePanel"]

_ROW = (
    '<div class="tk-balance-row" data-territory="{tid}" data-total="{total}" '
    'style="display:flex;align-items:center;gap:6px;font:12px sans-serif;'
    'height:17px">'
    '<span style="width:10px;height:10px;background:{swatch};flex:none"></span>'
    '<span style="width:64px;overflow:hidden;white-space:nowrap">{label}</span>'
    '<span style="position:relative;width:{width}px;height:13px;background:#f2f2f2;'
    'flex:none">'
    '<span style="position:absolute;left:{lo:.2f}%;width:{bw:.2f}%;height:100%;'
    'background:#d4ecd4"></span>'
    '<span style="position:absolute;left:{mean:.2f}%;width:1px;height:100%;'
    'background:#555"></span>'
    '<span style="position:absolute;left:0;top:3px;width:{v:.2f}%;height:7px;'
    'background:{bar}"></span></span>'
    '<span class="tk-balance-value" style="width:120px;text-align:right">'
    "{text}</span></div>"
)


def _fmt(x: float) -> str:
    a = abs(x)
    if a >= 1e6:
        return f"{x / 1e6:,.2f} M"
    if a >= 1e4:
        return f"{x / 1e3:,.1f} k"
    return f"{x:,.0f}" if a >= 100 else f"{x:,.2f}"


class BalancePanel(W.VBox):
    """Bars of one measure per territory, with the ``±tolerance`` band shaded.

    Parameters
    ----------
    state
        The editing state to show.
    colors
        Territory → swatch colour.
    width
        Width of the bar area in pixels.

    Notes
    -----
    The scale is fixed when the panel is built (the larger of the largest
    total and the band's upper edge, plus 25 %) and widened only when a total
    outgrows it, so ordinary moves leave the other rows untouched.  Rows carry
    ``data-territory`` and ``data-total`` attributes for scripted checks;
    ``data-total`` is the exact total (``repr`` of the float: ``float()`` of it
    gives the total back, bit for bit).
    """

    def __init__(
        self, state: EditorState, colors: Mapping[Any, str], width: int = 220
    ) -> None:
        self.state = state
        self.colors = dict(colors)
        self.width = int(width)
        self.measure = state.measures[0]
        self.header = W.HTML()
        self.rows = {t: W.HTML() for t in state.territories}
        self.footer = W.HTML()
        self._scale = 0.0
        super().__init__(
            [self.header, *self.rows.values(), self.footer],
            layout=W.Layout(overflow="auto", max_height="560px"),
        )
        self.add_class("tk-balance")
        self.refresh()

    def set_measure(self, measure: str) -> None:
        """Show another measure (one of ``state.measures``)."""
        if measure not in self.state.measures:
            raise ValueError(
                f"measure {measure!r} is not balanced here; choose one of "
                f"{self.state.measures}"
            )
        self.measure = measure
        self._scale = 0.0
        self.refresh()

    def refresh(self) -> None:
        """Recompute the rows; unchanged rows are not re-sent (same value)."""
        st = self.state
        tab = st.balance_table(self.measure)
        tot = tab["total"].to_numpy()
        mean = float(tot.mean())
        hi = (1 + st.tolerance) * mean
        top = max(float(tot.max()), hi, 1e-12)
        if top > self._scale:
            self._scale = 1.25 * top
        s = self._scale
        for t, row in tab.iterrows():
            dev = row["rel_dev"]
            bar = "#4c9a4c" if bool(row["in_band"]) else "#d0612b"
            text = (
                f"{_fmt(row['total'])} ({100 * dev:+.1f} %)"
                if np.isfinite(dev)
                else _fmt(row["total"])
            )
            self.rows[t].value = _ROW.format(
                tid=html.escape(str(t), quote=True),
                total=repr(float(row["total"])),
                swatch=self.colors.get(t, "#999"),
                label=html.escape(str(t)),
                width=self.width,
                lo=100 * (1 - st.tolerance) * mean / s,
                bw=100 * 2 * st.tolerance * mean / s,
                mean=100 * mean / s,
                v=100 * max(float(row["total"]), 0.0) / s,
                bar=bar,
                text=text,
            )
        n_out = int((~tab["in_band"]).sum())
        self.header.value = (
            f'<div style="font:bold 12px sans-serif">{html.escape(self.measure)} '
            f"per territory, band ±{100 * st.tolerance:.1f} % of the mean "
            f"({_fmt(mean)})</div>"
        )
        dev = np.abs(tab["rel_dev"].to_numpy(dtype=float))
        if mean == 0 and not tot.any():
            # every total 0: equal, and no mean to measure a deviation from
            worst = f"nothing to balance, every {html.escape(self.measure)} total is 0"
        elif mean == 0:
            # totals of both signs that cancel out (a change measure): those
            # off 0 have no relative deviation (NaN), so neither has the
            # largest one (metrics.balance gives max_rel_dev NaN)
            worst = (
                "largest deviation – (the totals sum to 0: no mean to measure "
                "a deviation from)"
            )
        elif np.isfinite(dev).any():
            worst = f"largest deviation {100 * float(np.nanmax(dev)):.1f} %"
        else:
            worst = "largest deviation –"
        self.footer.value = (
            f'<div class="tk-balance-footer" data-out="{n_out}" '
            f'style="font:12px sans-serif">{n_out} of {len(tab)} outside the band; '
            f"{worst}</div>"
        )

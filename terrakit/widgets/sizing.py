"""``HeadcountExplorer``: sliders for rep cost, margin and hours over the curve."""

from __future__ import annotations

import html
import io
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
from traitlets import validate

from terrakit.exceptions import SpecificationError, TerrakitWarning
from terrakit.sizing import HeadcountCurve, ResponseCurves, headcount_curve
from terrakit.sizing.headcount import (
    check_cost_per_rep,
    check_hours_per_rep,
    check_margin,
)

__all__ = ["HeadcountExplorer"]


class _OpenSlider(W.FloatSlider):
    """A FloatSlider that honours a value set in code instead of clamping it.

    A value outside ``[min, max]`` widens the range to it; a value that
    ``check`` refuses (the rules of :func:`~terrakit.sizing.headcount_curve`)
    raises :class:`SpecificationError` and leaves the slider as it was.
    """

    def __init__(self, *, check: Callable[[float], float], **kw: Any) -> None:
        self._check = check
        super().__init__(**kw)

    @validate("value")
    def _validate_value(self, proposal: Any) -> float:
        v = float(proposal["value"])
        self._check(v)
        lo, hi = self.min, self.max  # type: ignore[has-type]
        if v > hi:
            self.max = v
        if v < lo:
            self.min = v
        return v


class HeadcountExplorer(W.VBox):
    """Explore how the profit-maximising sales-force size reacts to the economics.

    Moving a slider recomputes :func:`terrakit.sizing.headcount_curve` on the
    same response-curve draws and redraws the profit curve with its bands
    (:func:`terrakit.plot.headcount_curve`).

    Parameters
    ----------
    curves
        Response curves: the result of
        :meth:`terrakit.sizing.ResponseModel.fit` or
        :meth:`~terrakit.sizing.ResponseModel.from_judgement` (or a fitted
        :class:`~terrakit.sizing.ResponseModel`).
    reps
        Sales-force sizes on the curve.
    cost_per_rep, margin, hours_per_rep
        Starting slider values.
    max_calls
        Passed to :func:`~terrakit.sizing.headcount_curve`.

    Raises
    ------
    SpecificationError
        Starting values that :func:`~terrakit.sizing.headcount_curve` refuses
        (a margin outside (0, 1], a negative cost, hours <= 0, fractional or
        negative sizes): the sliders would otherwise clamp them silently.

    Attributes
    ----------
    curve : HeadcountCurve
        The curve for the current slider values.
    cost, margin, hours : ipywidgets.FloatSlider
        Setting ``.value`` in code is honoured: a value beyond the slider's
        range widens the range, and a value that
        :func:`~terrakit.sizing.headcount_curve` refuses (a negative cost, a
        margin outside (0, 1], hours <= 0) raises SpecificationError and
        leaves the slider unchanged.
    image : ipywidgets.Image
        The profit curve (PNG, redrawn on every change).

    Examples
    --------
    >>> rc = tk.sizing.ResponseModel().fit(study, seed=0)  # doctest: +SKIP
    >>> HeadcountExplorer(rc, reps=range(10, 41))           # doctest: +SKIP
    """

    def __init__(
        self,
        curves: ResponseCurves | Any,
        reps: Iterable[int] = range(10, 41),
        cost_per_rep: float = 180_000,
        margin: float = 0.35,
        hours_per_rep: float = 1_600,
        *,
        max_calls: float | None = None,
    ) -> None:
        if not isinstance(curves, ResponseCurves):
            curves = getattr(curves, "curves", curves)
        if not isinstance(curves, ResponseCurves):
            raise TypeError(
                "curves must be ResponseCurves (ResponseModel().fit(...) or "
                f"ResponseModel.from_judgement(...)), got {type(curves).__name__}"
            )
        self.curves = curves
        start = {
            "cost_per_rep": cost_per_rep,
            "margin": margin,
            "hours_per_rep": hours_per_rep,
        }
        for name, v in start.items():
            if isinstance(v, bool) or not isinstance(v, int | float | np.number):
                raise SpecificationError(f"{name} must be a number, got {v!r}")
        # the starting values are checked as headcount_curve checks them (a slider
        # would silently clamp a margin of 35 to 1.0, and fail on hours <= 0)
        first = headcount_curve(
            curves,
            reps=reps,
            cost_per_rep=cost_per_rep,
            margin=margin,
            hours_per_rep=hours_per_rep,
            max_calls=max_calls,
        )
        self.reps = [int(r) for r in first.reps]
        self.max_calls = max_calls
        style = {"description_width": "110px"}
        lay = W.Layout(width="420px")
        self.cost = _OpenSlider(
            check=check_cost_per_rep,
            value=float(cost_per_rep),
            min=0.0,
            max=max(2.0 * float(cost_per_rep), 1.0),
            step=max(float(cost_per_rep) / 100.0, 1.0),
            description="cost per rep",
            readout_format=",.0f",
            continuous_update=False,
            style=style,
            layout=lay,
        )
        self.margin = _OpenSlider(
            check=check_margin,
            value=float(margin),
            min=0.01,
            max=1.0,
            step=0.01,
            description="margin",
            readout_format=".0%",
            continuous_update=False,
            style=style,
            layout=lay,
        )
        self.hours = _OpenSlider(
            check=check_hours_per_rep,
            value=float(hours_per_rep),
            min=max(float(hours_per_rep) / 4.0, 1.0),
            max=2.0 * float(hours_per_rep),
            step=10.0,
            description="hours per rep",
            readout_format=",.0f",
            continuous_update=False,
            style=style,
            layout=lay,
        )
        self.best_box = W.HTML()
        self.image = W.Image(format="png", layout=W.Layout(width="640px"))
        self.curve: HeadcountCurve = first
        for s in (self.cost, self.margin, self.hours):
            s.observe(lambda _ch: self.update(), names="value")
        super().__init__(
            [W.VBox([self.cost, self.margin, self.hours]), self.best_box, self.image]
        )
        self.add_class("tk-headcount")
        self._draw()

    def _compute(self) -> HeadcountCurve:
        return headcount_curve(
            self.curves,
            reps=self.reps,
            cost_per_rep=self.cost.value,
            margin=self.margin.value,
            hours_per_rep=self.hours.value,
            max_calls=self.max_calls,
        )

    def update(self) -> HeadcountCurve:
        """Recompute the curve for the slider values and redraw it."""
        self.curve = self._compute()
        self._draw()
        return self.curve

    def _draw(self) -> None:
        from terrakit.plot import headcount_curve as plot_curve

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TerrakitWarning)
            best = self.curve.best()
        edge = [str(w.message) for w in caught]
        self.best_box.value = (
            f'<div class="tk-headcount-best" data-reps="{best.reps}" '
            f'style="font:13px sans-serif">{html.escape(best.summary())}'
            + (
                f'<br><span style="color:#b03a00">{html.escape(edge[0])}</span>'
                if edge
                else ""
            )
            + "</div>"
        )
        fig, ax = plt.subplots(figsize=(7, 3.6))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TerrakitWarning)
                plot_curve(self.curve, ax=ax)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        finally:
            plt.close(fig)
        self.image.value = buf.getvalue()

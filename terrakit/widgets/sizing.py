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


#: Range of the cost slider when the starting cost is 0 (2 × 0 is no range).
_COST_FALLBACK_MAX = 500_000.0
_COST_FALLBACK_STEP = 1_000.0


def _cost_range(start: float) -> tuple[float, float]:
    """``(max, step)`` of the cost slider: 0 to twice the start in 100 steps
    (at least 1), or 0 to 500,000 in steps of 1,000 when the start is 0."""
    if start <= 0:
        return _COST_FALLBACK_MAX, _COST_FALLBACK_STEP
    return max(2.0 * start, 1.0), max(start / 100.0, 1.0)


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
        Starting slider values. The cost slider spans 0 to twice the start
        (0 to 500,000 in steps of 1,000 when the start is 0), the margin
        slider 1 % to 100 % and the hours slider a quarter of the start (at
        least 1) to twice the start; a range widens to take in a starting
        value below it (a margin of 0.5 %, hours below 1), which is always
        the value of the first curve.
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
        # Every range includes its starting value: traitlets validates value,
        # min and max in an order that depends on the hash seed, and a default
        # min above a valid start (a margin of 0.5 % against the 1 % minimum)
        # would clamp the value in some orders and not in others.
        cost0, margin0, hours0 = (
            float(cost_per_rep),
            float(margin),
            float(hours_per_rep),
        )
        cost_hi, cost_step = _cost_range(cost0)
        hours_hi = 2.0 * hours0
        self.cost = _OpenSlider(
            check=check_cost_per_rep,
            value=cost0,
            min=0.0,
            max=cost_hi,
            step=cost_step,
            description="cost per rep",
            readout_format=",.0f",
            continuous_update=False,
            style=style,
            layout=lay,
        )
        self.margin = _OpenSlider(
            check=check_margin,
            value=margin0,
            min=min(0.01, margin0),
            max=1.0,
            step=0.01 if margin0 >= 0.01 else 0.001,
            description="margin",
            readout_format=".0%" if margin0 >= 0.01 else ".1%",
            continuous_update=False,
            style=style,
            layout=lay,
        )
        self.hours = _OpenSlider(
            check=check_hours_per_rep,
            value=hours0,
            min=min(max(hours0 / 4.0, 1.0), hours0),
            max=hours_hi,
            # below 1 hour the range is the start to twice it: 10 h would not move
            step=10.0 if hours0 >= 1 else hours_hi / 100.0,
            description="hours per rep",
            readout_format=",.0f" if hours0 >= 1 else ",.2f",
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

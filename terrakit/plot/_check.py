"""Checks the figures make of what they are given, before a figure is opened."""

from __future__ import annotations

import sys
from typing import Any

from matplotlib import colormaps
from matplotlib.colors import Colormap, to_rgba

from terrakit._runargs import did_you_mean

__all__ = ["colormap", "colour", "expect", "is_a"]


def is_a(obj: Any, module: str, name: str) -> bool:
    """Whether ``obj`` is an instance of ``module.name``.

    Looked up among the modules already imported: an object of a class whose
    module was never imported cannot be one of its instances, and a figure
    that refuses a table should not import a modelling sub-package (PyMC) to
    say so.
    """
    cls = getattr(sys.modules.get(module), name, None)
    return isinstance(cls, type) and isinstance(obj, cls)


def expect(
    obj: Any,
    module: str,
    name: str,
    *,
    func: str,
    wanted: str,
    hint: str,
) -> None:
    """Raise a :class:`TypeError` unless ``obj`` is a ``module.name``.

    Parameters
    ----------
    obj
        What the figure was given.
    module, name
        Where the expected class is defined.
    func
        The figure, as the user calls it (``"tk.plot.routes"``).
    wanted
        What it takes, in words (``"a CallPlan (tk.routing.plan_calls)"``).
    hint
        The fix for this ``obj``: what to pass instead.
    """
    if is_a(obj, module, name):
        return
    got = "None" if obj is None else type(obj).__name__
    raise TypeError(f"{func} takes {wanted}, got {got}; {hint}")


def colour(value: Any, name: str) -> tuple[float, float, float, float]:
    """``value`` as an RGBA tuple; a :class:`ValueError` naming the argument
    ``name`` unless it is a matplotlib colour.

    Checked before a figure is opened: matplotlib would refuse it only while
    drawing, with a figure left open and no word of which argument it was.

    Examples
    --------
    >>> colour("#ff0000", "moved_color")
    (1.0, 0.0, 0.0, 1.0)
    """
    try:
        return to_rgba(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} = {value!r} is not a matplotlib colour; give a name "
            "('tab:blue'), a hex string ('#1f77b4') or an RGB(A) tuple"
        ) from None


def colormap(value: Any, name: str = "cmap") -> Colormap:
    """The :class:`~matplotlib.colors.Colormap` ``value`` names (or is).

    Raises
    ------
    TypeError
        When ``value`` is neither a colormap name nor a Colormap.
    ValueError
        For a name matplotlib does not know (with the close ones).
    """
    if isinstance(value, Colormap):
        return value
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a matplotlib colormap name (e.g. 'viridis') or a "
            f"Colormap, got {type(value).__name__} {value!r:.40}"
        )
    if value not in colormaps:
        raise ValueError(
            f"{name} = {value!r} is not a matplotlib colormap; give a name "
            "such as 'viridis' or 'tab20' (list(matplotlib.colormaps) has them "
            f"all) or a Colormap{did_you_mean([value], colormaps)}"
        )
    return colormaps[value]

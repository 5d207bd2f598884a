"""Checks the figures make of what they are given, before a figure is opened."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["expect", "is_a"]


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

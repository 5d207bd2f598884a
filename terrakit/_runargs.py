"""Checks of the run settings every solver entry takes: time limit and seed.

They run before any work, so that a typo costs nothing and the error says
what to pass instead.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from terrakit.exceptions import SpecificationError

__all__ = [
    "MAX_SEED",
    "as_number",
    "check_flag",
    "check_seed",
    "check_time_limit",
    "did_you_mean",
    "is_count",
    "is_tolerance",
    "shown",
]


def as_number(value: Any) -> float:
    """``float(value)``, or NaN where ``float`` refuses it (text, None, a list):
    a setting checked with comparisons then fails them and gets its message."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def percent_as_fraction(value: float) -> str:
    """``value`` read as a percentage, written as a fraction (5 -> ``'0.05'``,
    10 -> ``'0.10'``, 12.5 -> ``'0.125'``): the "did you mean" of a rate given
    in percent."""
    text = f"{value / 100:.2f}"
    return text if float(text) == value / 100 else f"{value / 100:g}"


def check_time_limit(time_limit: Any) -> float:
    """``time_limit`` as positive finite seconds, or a :class:`SpecificationError`
    (``True`` too, as for ``seed`` and ``max_iter``: it is no number of seconds)."""
    seconds = (
        math.nan if isinstance(time_limit, bool | np.bool_) else as_number(time_limit)
    )
    if not (math.isfinite(seconds) and seconds > 0):
        raise SpecificationError(
            f"time_limit must be a positive number of seconds, got {time_limit!r}"
        )
    return seconds


#: The largest seed: the solvers' random generators (pyvrp, HiGHS) take 32 bits.
MAX_SEED = 2**32 - 1


def check_seed(seed: Any) -> int:
    """``seed`` as an int in ``[0, 2**32 - 1]``, or a :class:`SpecificationError`."""
    if (
        isinstance(seed, bool)
        or not isinstance(seed, int | np.integer)
        or not 0 <= seed <= MAX_SEED
    ):
        raise SpecificationError(
            f"seed must be a non-negative integer, got {seed!r}; seeds run from 0 "
            f"to {MAX_SEED} (2**32 - 1), and the same seed gives the same answer"
        )
    return int(seed)


def is_count(value: Any, low: int = 1) -> bool:
    """Whether ``value`` is a whole number (an int, not a bool or a float) ≥ ``low``."""
    return bool(
        not isinstance(value, bool)
        and isinstance(value, int | np.integer)
        and value >= low
    )


def whole_number(value: Any) -> int | None:
    """``value`` as an ``int`` when it is a whole number: an ``int``, or a
    finite float with an integer value (``500.0`` is 500); ``None`` for
    ``True``, ``2.7``, ``"10"``, NaN and ``None``, which are refused rather
    than converted (``int(2.7)`` would silently give 2)."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if (
        isinstance(value, float | np.floating)
        and math.isfinite(value)
        and float(value).is_integer()
    ):
        return int(value)
    return None


def is_tolerance(value: Any) -> bool:
    """Whether ``value`` is a balance tolerance: a number in ``[0, 1)`` (0.05
    is ±5 %; text that reads as one counts, a bool does not)."""
    return not isinstance(value, bool) and 0.0 <= as_number(value) < 1.0


def did_you_mean(unknown: Iterable[str], known: Iterable[str]) -> str:
    """``"; did you mean 'a' for 'b', 'c' for 'd'?"`` for the unknown names
    that have a close known one, or ``""``: the tail of an unknown-name error.

    A name that differs from a known one only in case gets that one
    (``'ets'`` for ``'ETS'``, which difflib's ratio does not find)."""
    choices = sorted(known)
    hints = []
    for u in unknown:
        text = str(u)
        m = [c for c in choices if c.lower() == text.lower()][:1]
        m = m or difflib.get_close_matches(text, choices, n=1)
        if m:
            hints.append(f"{m[0]!r} for {u!r}")
    return f"; did you mean {', '.join(hints)}?" if hints else ""


def shown(value: Any) -> str:
    """``repr(value)`` with its type where the repr hides it (``'10'``, ``True``)."""
    if isinstance(value, bool | np.bool_ | str) or value is None:
        return f"{value!r} ({type(value).__name__})"
    return repr(value)


def check_flag(value: Any, name: str, hint: str = "") -> bool:
    """``value`` as a ``bool``; anything but ``True`` or ``False`` is a
    :class:`SpecificationError` naming ``name`` (``bool("no")`` is ``True``:
    text from a config file would switch a setting on in silence, ``None``
    off).  ``hint``, when given, ends the message (what each value means)."""
    if not isinstance(value, bool | np.bool_):
        raise SpecificationError(
            f"{name} must be True or False, got {shown(value)}"
            + (f"; {hint}" if hint else "")
        )
    return bool(value)

"""Text of the user's data (names, ids) as matplotlib shows it: plain."""

from __future__ import annotations

from typing import Any

__all__ = ["plain"]


def plain(text: Any) -> str:
    """``text`` as a string matplotlib draws as it is, never as mathtext.

    Matplotlib reads text between two ``$`` as mathtext: an alignment named
    ``"Plan $1M-$5M"`` would lose its dollar signs, and ``"East_$1M_West_$2M"``
    fails to draw at all.  Every title, tick label, legend entry and
    annotation made of user text goes through here; an escaped ``\\$`` is
    drawn as ``$``.

    Examples
    --------
    >>> plain("Tier >$1M")
    'Tier >\\\\$1M'
    """
    return str(text).replace("$", r"\$")

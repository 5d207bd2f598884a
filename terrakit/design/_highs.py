"""A quiet ``highspy.Highs()``.

HiGHS prints its copyright banner to the C-level standard output when the
first ``Highs`` object of a process is built, before any option (such as
``output_flag``) can be set.  :func:`new_highs` builds that first object with
file descriptor 1 pointed at ``os.devnull`` so that notebooks, the command
line and reports stay free of solver chatter; later objects are built as is.
Set ``TK_HIGHS_LOG=1`` to see HiGHS's own log (banner included).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

__all__ = ["new_highs"]

_lock = threading.Lock()
_banner_done = False


def new_highs() -> Any:
    """A ``highspy.Highs`` with ``output_flag`` off (on when ``TK_HIGHS_LOG``)."""
    global _banner_done
    import highspy

    log = bool(os.environ.get("TK_HIGHS_LOG"))
    with _lock:
        if _banner_done or log:
            h = highspy.Highs()
        else:
            try:
                sys.stdout.flush()
            except (AttributeError, ValueError):
                pass
            saved = os.dup(1)
            try:
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), 1)
                    h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
        _banner_done = True
    h.setOptionValue("output_flag", log)
    return h

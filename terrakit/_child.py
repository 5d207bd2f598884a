"""Solver child processes under a wall clock of our own.

Some solver runs cannot be trusted to stop at their time limit (CBC ignores
``-sec`` in its root LP and preprocessing; HiGHS's presolve does not watch
the clock), so they run in a child process that the caller kills once its
time is up.  These two helpers are shared by the design engine's CBC path
and the call-allocation MILP.
"""

from __future__ import annotations

import signal


def kill_grace(left: float) -> float:
    """Seconds a solver child gets past its own time limit (``left``) to stop
    and write its answer before it is killed, so that a run which ignores
    its limit cannot run on far past the caller's."""
    return 1.0 + 0.1 * left


def die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the child gets SIGKILL when Python dies (no orphan solver)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass

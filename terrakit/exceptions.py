"""Errors and warnings raised by terrakit.

Every error says what was wrong, the value that was seen, and how to fix it
(DESIGN.md §4).  The data errors also carry the table, the column and the
offending rows as attributes so that programs can react to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CRSWarning",
    "ConvergenceWarning",
    "DataValidationError",
    "InfeasibleError",
    "NotAStudyError",
    "NotFittedError",
    "SpecificationError",
    "TerrakitError",
    "TerrakitWarning",
    "TimeLimitWarning",
]


class TerrakitError(Exception):
    """Base class of every error terrakit raises on purpose."""


class DataValidationError(TerrakitError, ValueError):
    """Input data failed a check at the door.

    Parameters
    ----------
    table
        The table that failed (``"units"``, ``"accounts"``, ``"reps"``,
        ``"history"``, ``"alignment"``).
    column
        The column that failed, or ``None`` for a table-wide problem.
    problem
        What is wrong, in words, with the numbers.
    rows
        Up to five offending ids or row labels (more are counted, not listed).
    fix
        What the user should do.
    n_bad
        How many rows are affected in total (defaults to ``len(rows)``).
    """

    def __init__(
        self,
        table: str,
        column: str | None,
        problem: str,
        *,
        rows: Sequence[Any] = (),
        fix: str = "",
        n_bad: int | None = None,
    ) -> None:
        self.table = table
        self.column = column
        self.problem = problem
        all_rows = list(rows)
        self.n_bad = len(all_rows) if n_bad is None else int(n_bad)
        self.rows = all_rows[:5]
        self.fix = fix
        where = f"{table}.{column}" if column else table
        msg = f"{where}: {problem}"
        if self.rows:
            shown = ", ".join(repr(r) for r in self.rows)
            more = self.n_bad - len(self.rows)
            suffix = f" and {more} more" if more > 0 else ""
            msg += f" (rows: {shown}{suffix})"
        if fix:
            msg += f". Fix: {fix}"
        super().__init__(msg)


class NotAStudyError(DataValidationError, TypeError):
    """Something else (a table, ``None``) was given where a Study is needed.

    A :class:`DataValidationError` (with the table and
    the fix as attributes) and a :class:`TypeError`, as Python names a
    wrong argument type: ``except`` either catches it.
    """


class SpecificationError(TerrakitError, ValueError):
    """The requested model or design cannot be met; the message has the numbers."""


class InfeasibleError(TerrakitError, RuntimeError):
    """No solution meets the constraints, or none was found in time.

    Raised when a solver proved that no solution meets the constraints (the
    message names the band or constraint that cannot be met), and also when
    an exact solver stopped at its time limit with no feasible answer and its
    heuristic fallback found none either; the message then says that
    infeasibility was not proved and how to give the search more room.
    """


class NotFittedError(TerrakitError, AttributeError):
    """A result was asked of a model that has not been fitted yet."""


class TerrakitWarning(UserWarning):
    """Base class of terrakit's warnings."""


class ConvergenceWarning(TerrakitWarning):
    """MCMC diagnostics (R-hat, ESS, divergences) indicate poor convergence."""


class TimeLimitWarning(TerrakitWarning):
    """A solver stopped at its time limit; the best feasible answer is returned."""


class CRSWarning(TerrakitWarning):
    """Coordinates were reprojected or a CRS was assumed."""

"""Exercise checks for the terrakit course (``notebooks/teaching/``).

Every ``check_*`` function takes the student's answer (``None`` while the
exercise is not done yet), computes the expected value from the study with the
package itself — nothing is hard-coded — and returns a :class:`Feedback`:
``bool(feedback)`` says whether the answer is right, its text says so in words
or gives a hint with the expected units.  A check never raises on a wrong or
missing answer, so the student notebooks run top to bottom with blanks (a
teacher's setting that is not understood — ``rtol=-0.01``, ``level=80``,
``travel_minutes="model"`` — raises a
:class:`~terrakit.exceptions.SpecificationError` naming it)::

    from terrakit import teaching
    answer = None  # your code here
    teaching.check_mean_workload(study, answer)
    # → not answered yet: replace None with ... (hours per year)

The course:

1. balance and KPIs of an alignment — :func:`check_mean_workload`,
   :func:`check_max_rel_dev`, :func:`check_most_loaded`;
2. workload build-up sizing — :func:`check_total_calls`,
   :func:`check_call_hours`, :func:`check_reps_needed`;
3. designing a balanced, contiguous alignment — :func:`check_tightest_band`,
   :func:`check_gap`, :func:`check_contiguous_count`;
4. forecasts summed by territory — :func:`check_territory_mean`,
   :func:`check_territory_interval`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Feedback",
    "check_call_hours",
    "check_contiguous_count",
    "check_gap",
    "check_max_rel_dev",
    "check_mean_workload",
    "check_most_loaded",
    "check_reps_needed",
    "check_territory_interval",
    "check_territory_mean",
    "check_tightest_band",
    "check_total_calls",
]

#: Default relative tolerance of numeric answers (1 %).
RTOL = 0.01


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer.

    Attributes
    ----------
    ok
        Whether the answer is right.
    message
        ``"correct: ..."``, ``"not answered yet: ..."``, ``"not quite: ..."``
        with a hint, or ``"almost: ..."`` (not right, but one step away: e.g.
        the workload in reps before rounding up).
    exercise
        Short name of the exercise.
    """

    ok: bool
    message: str
    exercise: str = ""

    @property
    def answered(self) -> bool:
        """Whether an answer was given at all."""
        return not self.message.startswith("not answered yet")

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = f"[{self.exercise}] " if self.exercise else ""
        return head + self.message

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


# -- helpers ------------------------------------------------------------------------
def _unanswered(exercise: str, what: str) -> Feedback:
    return Feedback(
        False,
        f"not answered yet: replace None with your answer ({what})",
        exercise=exercise,
    )


def _number(answer: Any) -> float | None:
    """The answer as a float, or ``None`` when it is not one number."""
    if isinstance(answer, bool):
        return None
    try:
        arr = np.asarray(answer, dtype=float)
    except (TypeError, ValueError, OverflowError):  # 2**1100: no float holds it
        return None
    if arr.size != 1:
        return None
    v = float(arr.reshape(-1)[0])
    return v if math.isfinite(v) else None


def _rounding_step(v: float) -> float:
    """The place value ``v`` is rounded to: ``1000.0`` for 4,723,000, ``1.0``
    for 4,723,007, ``0.01`` for 4,723,007.12; ``0.0`` when it has more than
    six decimals (not rounded) or is 0."""
    for k in range(15, -7, -1):
        step = 10.0**k
        if abs(v) >= step and abs(v - round(v / step) * step) <= 1e-12 * abs(v):
            return step
    return 0.0


def _real(value: Any) -> float:
    """``value`` as a float when it is a real number, else NaN (a bool, text
    such as ``"0.8"`` and ``None`` are no setting: they fail the range tests)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return math.nan
    return float(value)


def _check_tolerance(name: str, value: Any) -> float:
    """A teacher's ``rtol`` / ``atol`` as a float >= 0, or a
    :class:`~terrakit.exceptions.SpecificationError` naming it (a negative
    tolerance made every comparison raise math's bare ValueError)."""
    from terrakit._runargs import shown
    from terrakit.exceptions import SpecificationError

    v = _real(value)
    if not (math.isfinite(v) and v >= 0):
        what = (
            "a relative tolerance: 0.01 lets answers within 1 % of the expected "
            "value pass"
            if name == "rtol"
            else "an absolute tolerance in the answer's own units"
        )
        raise SpecificationError(
            f"{name} must be a number >= 0, got {shown(value)}; it is {what}"
        )
    return v


def _check_level(level: Any) -> float:
    """An interval's ``level`` as a fraction in (0, 1), or a
    :class:`~terrakit.exceptions.SpecificationError` naming it (``80`` is
    taken for a percentage: the message offers ``0.80``)."""
    from terrakit._runargs import percent_as_fraction, shown
    from terrakit.exceptions import SpecificationError

    v = _real(level)
    if not (0.0 < v < 1.0):
        fix = (
            f"; did you mean level={percent_as_fraction(v)}?" if 1.0 < v < 100.0 else ""
        )
        raise SpecificationError(
            f"level must be a fraction between 0 and 1 (0.8 for the 80 % "
            f"interval), got {shown(level)}{fix}"
        )
    return v


def _check_travel_minutes(travel_minutes: Any) -> float:
    """The lesson's flat drive per call as minutes >= 0, or a
    :class:`~terrakit.exceptions.SpecificationError` naming ``travel_minutes``
    (the day-tour ``"model"`` of :func:`terrakit.sizing.workload` is not a
    number of minutes)."""
    from terrakit.sizing.workload import _minutes

    return _minutes("travel_minutes", travel_minutes)


def _percent(level: float) -> str:
    """``"80%"`` for 0.8, ``"97.5%"`` for 0.975 (``:.0%`` printed ``"98%"``)."""
    return f"{100 * level:g}%"


def _close(a: float, b: float, rtol: float, atol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=max(atol, 1e-9))


#: Upper ends of the size classes of a wrong answer's relative error
#: ``|answer / expected - 1|``: "a little" up to 10 %, "clearly" up to 50 %,
#: "far" beyond.
_SIZE_CLASSES = ((0.10, "a little"), (0.50, "clearly"))


def _size(v: float, expected: float) -> str:
    """How far ``v`` is from ``expected``, in words: ``"a little"``, ``"clearly"``,
    ``"far"``; ``""`` when ``expected`` is 0 (no relative size)."""
    if not expected:
        return ""
    r = abs(v - expected) / abs(expected)
    return next((name for top, name in _SIZE_CLASSES if r <= top), "far")


def _how_far(
    v: float, expected: float, low: str = "too low", high: str = "too high"
) -> str:
    """``"clearly too high"``: a direction (``low``/``high``) and a coarse
    size, never a number.

    The size is a class of the relative error (see :data:`_SIZE_CLASSES`):
    *a little* within 10 %, *clearly* 10–50 %, *far* beyond.  A hint with the
    difference in it ("too low by roughly 0.09") gave the answer away: adding
    it to the wrong answer passed the 1 % tolerance.  A class says which way to
    look and how far, but there is nothing to add.
    """
    way = high if v > expected else low
    size = _size(v, expected)
    return f"{size} {way}" if size else way


def _tolerance(rtol: float, atol: float) -> str:
    """``"answers within 1 % count"`` (``"... or 0.0015 ..."`` with ``atol``)."""
    either = f" or {atol:g}" if atol else ""
    return f"answers within {100 * rtol:.2g} %{either} count"


def _check_number(
    exercise: str,
    answer: Any,
    expected: float,
    *,
    what: str,
    fmt: str,
    rtol: float = RTOL,
    atol: float = 0.0,
    hints: Sequence[tuple[float, str] | tuple[float, str, float]] = (),
    rules: Sequence[tuple[Callable[[float], bool], str]] = (),
) -> Feedback:
    """Compare a numeric answer with ``expected`` (within ``rtol`` or ``atol``).

    ``hints`` are (wrong value, explanation) pairs, matched within ``rtol`` or
    a third element, their own relative tolerance; ``rules`` are (test,
    explanation) pairs for wrong answers that no value names (a negative
    band).  Any other wrong answer is told which way it is off and a coarse
    size class (:func:`_how_far`), never the expected value or the difference.
    """
    if answer is None:
        return _unanswered(exercise, what)
    v = _number(answer)
    if v is None:
        return Feedback(
            False,
            f"not quite: expected one number ({what}), got "
            f"{type(answer).__name__} {answer!r:.60}",
            exercise=exercise,
        )
    if _close(v, expected, rtol, atol):
        return Feedback(True, f"correct: {format(expected, fmt)} ({what})", exercise)
    for wrong, hint, *own in hints:
        if math.isfinite(wrong) and _close(v, wrong, own[0] if own else rtol):
            return Feedback(False, f"not quite: {hint}", exercise)
    for test, hint in rules:
        if test(v):
            return Feedback(False, f"not quite: {hint}", exercise)
    if expected and _close(-v, expected, rtol, atol):
        return Feedback(
            False, "not quite: right size, wrong sign; check the signs", exercise
        )
    return Feedback(
        False,
        f"not quite: {format(v, fmt)} is {_how_far(v, expected)}"
        f" ({what}; {_tolerance(rtol, atol)})",
        exercise,
    )


def _territory_workload(study: Any, alignment: Any) -> Any:
    from terrakit.metrics import territory_kpis

    return territory_kpis(study, alignment)["workload"]


# -- lesson 1: balance and KPIs -----------------------------------------------------
def check_mean_workload(
    study: Any, answer: Any, alignment: Any = "current", *, rtol: float = RTOL
) -> Feedback:
    """Mean workload per territory (hours per year) of ``alignment``.

    Expected: the territories' total workload divided by their number, from
    :func:`terrakit.metrics.territory_kpis`.
    """
    rtol = _check_tolerance("rtol", rtol)
    wl = _territory_workload(study, alignment)
    expected = float(wl.mean())
    total = float(wl.sum())
    return _check_number(
        "mean workload",
        answer,
        expected,
        what="hours per year per territory",
        fmt=",.1f",
        rtol=rtol,
        hints=[
            (total, "that is the total workload; divide by the number of territories"),
            (
                float(study.unit_measures()["workload"].mean()),
                "that is the mean per unit (county); sum the units of each "
                "territory first, then average over territories",
            ),
        ],
    )


def check_max_rel_dev(
    study: Any, answer: Any, alignment: Any = "current", *, rtol: float = RTOL
) -> Feedback:
    """Largest relative deviation of a territory's workload from the mean.

    Expected: ``max_t |x_t / mean - 1|`` as a fraction (0.25 = 25 %), the
    ``max_rel_dev`` of :func:`terrakit.metrics.balance`.
    """
    from terrakit.metrics import balance

    rtol = _check_tolerance("rtol", rtol)
    expected = float(
        balance(study, alignment, ["workload"]).loc["workload", "max_rel_dev"]
    )
    wl = _territory_workload(study, alignment)
    mean = float(wl.mean())
    return _check_number(
        "max relative deviation",
        answer,
        expected,
        what="a fraction of the mean, e.g. 0.25 for 25 %",
        fmt=".3f",
        rtol=rtol,
        hints=[
            (100 * expected, "give a fraction, not a percentage (0.25, not 25)"),
            (
                float(wl.max() / mean - 1.0),
                "that is only the heaviest territory; the lightest one can be "
                "farther from the mean — take the largest |x / mean - 1|",
            ),
            (
                -expected,
                "that is negative: a territory below the mean has the largest "
                "deviation; take the absolute value |x / mean - 1| (.abs())",
            ),
            (
                float(wl.max() - mean),
                "that is a deviation in hours; divide by the mean",
            ),
            (
                float((wl - mean).abs().max()),
                "that is the largest deviation in hours; divide it by the mean "
                "for a relative deviation",
            ),
        ],
    )


def _one_id(answer: Any, ids: Any) -> tuple[Any, str | None]:
    """The one territory id an answer holds, or ``(None, what it is instead)``.

    A 0-d array is its value.  A one-row Series or DataFrame (``nlargest(1)``)
    is, in this order: the value under the name of ``ids`` (the index of the
    territory KPIs, ``territory_id``: a DataFrame's column after
    ``reset_index()``, or a Series of that name) when its own index is not so
    named; its index label when that is an id, unless the index is an
    unnamed ``RangeIndex`` (positions, as after ``reset_index()``, which with
    integer ids 0..k−1 would pass for ids); the first cell of its row that is
    an id, each cell with its column's dtype (``list(df.iloc[0])`` turns an
    integer id into a float when the other columns are floats); a Series'
    value, a DataFrame's index label.  Any other one-element container is its
    element.  The result is the id itself when it is one (:func:`_find_id`),
    else a plain Python value.

    One territory's row of the KPI table (``kpis.iloc[0]`` after sorting,
    ``kpis.loc[id]``: a Series indexed by the table's columns) is that
    territory, whatever its length (:func:`_territory_row_id`).
    """
    import pandas as pd

    id_name = getattr(ids, "name", None)
    if isinstance(answer, np.ndarray) and answer.ndim == 0:
        return _as_id(answer.item(), ids), None
    if isinstance(answer, pd.Series):
        row_id = _territory_row_id(answer, ids)
        if row_id is not None:
            return row_id, None
    if isinstance(answer, (pd.Series, pd.DataFrame)):
        kind = "Series" if isinstance(answer, pd.Series) else "DataFrame"
        if len(answer) != 1:
            return None, f"a {kind} of {len(answer)} rows"
        label = _plain(answer.index[0])
        if kind == "Series":
            row = [answer.iloc[0]]
            named = [answer.iloc[0]] if answer.name == id_name else []
        else:
            row = [answer.iloc[0, j] for j in range(answer.shape[1])]
            named = [
                answer.iloc[0, j]
                for j, c in enumerate(answer.columns)
                if id_name is not None and c == id_name
            ]
        if id_name is not None and answer.index.name != id_name and named:
            return _as_id(named[0], ids), None
        positions = isinstance(answer.index, pd.RangeIndex) and (
            answer.index.name is None
        )
        if not positions and _find_id(label, ids) is not None:
            return _as_id(label, ids), None
        in_row = [x for x in row if _find_id(x, ids) is not None]
        if in_row:
            return _as_id(in_row[0], ids), None
        if kind == "Series":
            return _plain(answer.iloc[0]), None
        return label, None
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__len__"):
        return _as_id(answer, ids), None
    try:
        items = list(answer)
    except Exception:  # a check never raises: describe what it got
        return None, f"a {type(answer).__name__}"
    if len(items) != 1:
        return None, f"a {type(answer).__name__} of {len(items)} values"
    item = items[0]
    if isinstance(item, np.ndarray) and item.ndim == 0:
        item = item.item()
    return _as_id(item, ids), None


def _territory_row_id(row: Any, ids: Any) -> Any:
    """The id of the territory whose table row ``row`` is, or ``None``.

    A row of the territory KPIs (``kpis.sort_values(...).iloc[0]``) is a
    Series indexed by the table's columns, named by its territory id; a row
    of ``kpis.reset_index()`` is named by its position and holds the id under
    the name of ``ids`` (``territory_id``), which wins.  A Series with a
    territory id among its index labels is no such row (a column of the
    table, such as the workload, is indexed by the ids), nor is one whose
    name is no id.
    """
    if any(_find_id(label, ids) is not None for label in row.index):
        return None
    id_name = getattr(ids, "name", None)
    if id_name is not None:
        cells = row[row.index == id_name]
        if len(cells) == 1 and _find_id(cells.iloc[0], ids) is not None:
            return _find_id(cells.iloc[0], ids)
    return _find_id(row.name, ids)


def _find_id(x: Any, ids: Any) -> Any:
    """The id among ``ids`` that ``x`` is, or ``None``.

    ``x`` is an id when its text is (``np.str_('R2')``, ``np.int64(7)``) or,
    for numeric ids, when it equals one by value (``19.0`` for ``19``).
    """
    if isinstance(x, (list, dict, set, tuple, np.ndarray)):
        return None
    x = _plain(x)
    for t in ids:
        if str(_plain(t)) == str(x):
            return _plain(t)
    # an int is finite as it is: math.isfinite(2**1100) overflows
    if not isinstance(x, bool) and (
        isinstance(x, int) or (isinstance(x, float) and math.isfinite(x))
    ):
        for t in ids:
            t = _plain(t)
            if isinstance(t, (int, float)) and not isinstance(t, bool) and t == x:
                return t
    return None


def _as_id(x: Any, ids: Any) -> Any:
    """The id ``x`` is (:func:`_find_id`), else ``x`` as a plain value."""
    found = _find_id(x, ids)
    return _plain(x) if found is None else found


def _id_level(study: Any, answer: Any) -> str:
    """``"account"`` or ``"unit"`` when ``answer`` is such an id, else ``""``."""
    tables = (("account", getattr(study, "accounts", None)), ("unit", study.units))
    for level, table in tables:
        if table is not None and str(answer) in set(map(str, table.index)):
            return level
    return ""


def check_most_loaded(study: Any, answer: Any, alignment: Any = "current") -> Feedback:
    """Id of the territory with the highest workload.

    The answer is one id (a string, a 0-d array, a one-element list), a
    one-row Series or DataFrame (``nlargest(1)``, also after
    ``reset_index()``) or the territory's row of the KPI table
    (``kpis.sort_values("workload", ascending=False).iloc[0]``: a Series
    named by the id).  Named mistakes: the lightest territory, the
    territory with the most accounts (when it is not the most loaded), the
    most loaded territory of another alignment of the study (the KPIs of the
    wrong alignment), an account or unit id, the largest workload itself and
    its position (``.argmax()``) instead of the id.  Numeric ids match by
    value (``19.0`` is territory ``19``).  Where a message shows example
    ids, the first is the lightest territory and none is the answer.
    """
    from terrakit.metrics import territory_kpis

    exercise = "most loaded territory"
    kpis = territory_kpis(study, alignment)
    wl = kpis["workload"]
    expected = wl.idxmax()
    # an example id that is never the answer: the lightest territory
    lightest = wl.idxmin()
    such_as = "" if lightest == expected else f" such as {_plain(lightest)!r}"
    if answer is None:
        return _unanswered(exercise, f"a territory id{such_as}")
    answer, got = _one_id(answer, wl.index)
    if got is not None:
        return Feedback(
            False,
            f"not quite: expected one territory id{such_as}, got {got}; "
            ".idxmax() of the workload column gives the id of the largest",
            exercise,
        )
    if str(answer) == str(expected):
        return Feedback(
            True, f"correct: {expected} carries {wl.max():,.0f} h per year", exercise
        )
    if str(answer) == str(wl.idxmin()):
        return Feedback(
            False,
            "not quite: that is the lightest territory; look for the max",
            exercise,
        )
    if "accounts" in kpis and str(answer) == str(kpis["accounts"].idxmax()):
        return Feedback(
            False,
            "not quite: that is the territory with the most accounts; accounts "
            "differ in calls and call length, so take the largest workload",
            exercise,
        )
    other = _other_alignments_most_loaded(study, alignment)
    if str(answer) in other:
        return Feedback(
            False,
            f"not quite: that is the most loaded territory of alignment "
            f"{other[str(answer)]!r}; compute the KPIs of the alignment asked "
            f"({getattr(alignment, 'name', alignment)!r})",
            exercise,
        )
    if str(answer) not in {str(t) for t in wl.index}:
        level = _id_level(study, answer)
        v = _number(answer)
        if level:
            why = (
                f"that is the id of one {level}, not of a territory: sum the "
                f"{level}s' workload per territory first (groupby the "
                "territory), then take the largest"
            )
        elif v is not None and _close(v, float(wl.max()), RTOL):
            why = (
                "that is the workload, not the territory id; use .idxmax() "
                "(not .max()) for the id of the largest"
            )
        elif _is_position_of(answer, wl.index, expected):
            why = _POSITION_NOT_ID
        else:
            why = f"{_plain(answer)!r} is not a territory id"
            examples = _example_ids(wl)
            if examples:
                why += f"; ids look like {examples}"
        return Feedback(False, f"not quite: {why}", exercise)
    # with ids 1..k the position (.argmax()) is also an id
    if _is_position_of(answer, wl.index, expected):
        return Feedback(False, f"not quite: {_POSITION_NOT_ID}", exercise)
    value = wl[next(t for t in wl.index if str(t) == str(answer))]
    return Feedback(
        False,
        f"not quite: {answer} carries {value:,.0f} h, but another territory "
        f"carries more (sort the workload column)",
        exercise,
    )


def _example_ids(wl: Any, n: int = 3) -> list[Any]:
    """Up to ``n`` territory ids to show as examples, never the answer (the
    most loaded): the lightest territory first, then the others in table
    order."""
    expected, lightest = wl.idxmax(), wl.idxmin()
    if lightest == expected:  # one territory, or all equally loaded
        return []
    rest = [t for t in wl.index if t != expected and t != lightest]
    return [_plain(t) for t in [lightest, *rest][:n]]


_POSITION_NOT_ID = (
    "that is the position of the territory in the table, not its id; use "
    ".idxmax() (not .argmax()) for the id"
)


def _is_position_of(answer: Any, index: Any, expected: Any) -> bool:
    """Whether ``answer`` is the position of ``expected`` in ``index`` (the
    ``.argmax()`` mistake) rather than the id ``expected`` itself."""
    v = _number(answer)
    return (
        v is not None
        and v == int(v)
        and 0 <= v < len(index)
        and str(index[int(v)]) == str(expected)
        and str(_plain(answer)) != str(expected)
    )


def _other_alignments_most_loaded(study: Any, alignment: Any) -> dict[str, str]:
    """``{id: name}`` of the most loaded territory of every other alignment of
    the study whose most loaded territory differs from ``alignment``'s."""
    alignments = getattr(study, "alignments", None) or {}
    asked = alignment if isinstance(alignment, str) else None
    mine = str(_territory_workload(study, alignment).idxmax())
    found: dict[str, str] = {}
    for name, al in alignments.items():
        if (
            name == asked
            or al is alignment
            or (not isinstance(alignment, str) and al == alignment)
        ):
            continue
        top = str(_territory_workload(study, al).idxmax())
        if top != mine:
            found.setdefault(top, str(name))
    return found


# -- lesson 2: workload build-up sizing ---------------------------------------------
def check_total_calls(study: Any, answer: Any, *, rtol: float = RTOL) -> Feedback:
    """Calls per year that all accounts need together (Σ ``calls_per_year``)."""
    from terrakit.sizing import workload

    rtol = _check_tolerance("rtol", rtol)
    expected = workload(study, travel=None).total_calls
    n = float(len(study.accounts))
    mean = float(study.accounts["calls_per_year"].mean())
    return _check_number(
        "total calls",
        answer,
        expected,
        what="calls per year, all accounts",
        fmt=",.0f",
        rtol=rtol,
        hints=[
            (mean, "that is the mean per account; sum over all accounts"),
            (expected / 12, "that is per month; the exercise asks per year"),
            (n, "that is the number of accounts; sum their calls_per_year"),
        ],
    )


def check_call_hours(
    study: Any, answer: Any, *, travel_minutes: float = 20.0, rtol: float = RTOL
) -> Feedback:
    """Face-to-face hours per year: Σ calls_per_year × call_minutes / 60.

    ``travel_minutes`` (the lesson's flat drive per call) only serves the hint
    for an answer that already includes travel.

    Raises
    ------
    SpecificationError
        When ``travel_minutes`` is not a number of minutes >= 0 (the day-tour
        ``"model"`` of :func:`terrakit.sizing.workload` is not) or ``rtol`` is
        not a number >= 0.
    """
    from terrakit.sizing import workload

    travel_minutes = _check_travel_minutes(travel_minutes)
    rtol = _check_tolerance("rtol", rtol)
    expected = workload(study, travel=None).total_hours
    with_travel = workload(study, travel=travel_minutes).total_hours
    return _check_number(
        "call hours",
        answer,
        expected,
        what="hours per year, without travel",
        fmt=",.0f",
        rtol=rtol,
        hints=[
            (60 * expected, "that is in minutes; divide by 60 for hours"),
            (
                with_travel,
                f"that includes {travel_minutes:g} minutes of travel per call; "
                "this exercise asks for face-to-face hours only (travel comes "
                "in exercise 2.3)",
            ),
            (
                float(
                    study.accounts["calls_per_year"].sum()
                    * study.accounts["call_minutes"].mean()
                    / 60.0
                ),
                "multiply each account's calls by its own call_minutes before "
                "summing (call lengths differ by segment)",
            ),
        ],
    )


#: Whole numbers of reps are compared within this absolute tolerance, so a float
#: such as 18.0000005 (the fractions of segments added up) counts as 18.
_REPS_ATOL = 1e-6

#: A fractional answer that rounds up to the right reps and lies within 0.5 %
#: of the workload in reps is that workload, printed with fewer decimals
#: (17.1 for 17.07): "almost, round up".
_ALMOST_REPS_RTOL = 0.005


def check_reps_needed(
    study: Any,
    answer: Any,
    *,
    travel_minutes: float = 20.0,
    hours_per_rep: float = 1_600.0,
) -> Feedback:
    """Whole reps needed: Σ calls × (call + travel minutes) / 60 ÷ hours per rep.

    Expected: :func:`terrakit.sizing.workload` with ``travel=travel_minutes``,
    then ``reps_needed(hours_per_rep).reps`` (rounded up to whole reps).
    Whole numbers are compared within 1e-6 (float sums of per-segment reps).

    Raises
    ------
    SpecificationError
        When ``travel_minutes`` is not a number of minutes >= 0 or
        ``hours_per_rep`` is not a positive number.
    """
    from terrakit.sizing import workload

    exercise = "reps needed"
    travel_minutes = _check_travel_minutes(travel_minutes)
    need = workload(study, travel=travel_minutes).reps_needed(hours_per_rep)
    no_travel_wl = workload(study, travel=None)
    no_travel = no_travel_wl.reps_needed(hours_per_rep)
    if answer is None:
        return _unanswered(exercise, "a whole number of reps")
    v = _number(answer)
    if v is None:
        return Feedback(
            False,
            f"not quite: expected a whole number of reps, got {answer!r:.60}",
            exercise,
        )

    def is_(x: float) -> bool:
        return abs(v - x) <= _REPS_ATOL

    if is_(need.reps):
        return Feedback(
            True,
            f"correct: {need.total:.2f} full-time reps of work -> hire {need.reps}",
            exercise,
        )
    fractional = abs(v - round(v)) > _REPS_ATOL
    if _close(v, need.total, 1e-3) or (
        fractional
        and math.ceil(v) == need.reps
        and _close(v, need.total, _ALMOST_REPS_RTOL)
    ):
        return Feedback(
            False,
            f"almost: {need.total:.2f} is the workload in reps; you cannot hire a "
            "fraction of a rep — round up",
            exercise,
        )
    if any(is_(x) for x in (math.floor(need.total), round(need.total))) and (
        v < need.total
    ):
        return Feedback(
            False,
            "not quite: rounding down leaves work undone; round the fractional "
            "number of reps up",
            exercise,
        )
    if (
        is_(no_travel.reps)
        or is_(round(no_travel.total, 2))
        or _close(v, no_travel.total, 1e-3)
    ):
        return Feedback(
            False,
            f"not quite: you left out travel; every call also costs "
            f"{travel_minutes:g} minutes of driving",
            exercise,
        )
    once = (
        no_travel_wl.total_hours + len(study.accounts) * float(travel_minutes) / 60.0
    ) / float(hours_per_rep)
    if is_(math.ceil(once)) or _close(v, once, 1e-3):
        return Feedback(
            False,
            f"not quite: you charged {travel_minutes:g} travel minutes once per "
            "account; every call costs a drive — add the travel minutes to each "
            "call (calls × (call + travel minutes))",
            exercise,
        )
    way = _how_far(v, need.reps, low="too few", high="too many")
    return Feedback(
        False,
        f"not quite: {v:g} reps is {way} (hours = calls × "
        f"(call + {travel_minutes:g} travel minutes) / 60, "
        f"÷ {hours_per_rep:,.0f} h per rep, rounded up)",
        exercise,
    )


# -- lesson 3: design ---------------------------------------------------------------
def check_tightest_band(
    study: Any,
    answer: Any,
    n_territories: int | None = None,
    *,
    activity: str = "workload",
    rtol: float = RTOL,
) -> Feedback:
    """A lower limit τ on the ``±τ`` balance band: no band narrower than τ can hold.

    The heaviest unit cannot be split, so it sits in some territory whose
    total is at least that unit's value; with the mean ``m = total / k`` no
    band narrower than ``τ = max_unit / m − 1`` can hold (0 when that is
    negative).  This is a necessary condition, not the tightest feasible band:
    contiguity and whole units can require more (on the ``southeast`` sample
    τ is 0 for its 20 territories, yet :func:`terrakit.design.align` proves
    ±4 % impossible with contiguity).  Expected as a fraction.

    Named hints: a percentage, the ratio ``max_unit / m`` (not minus 1), the
    mean per unit instead of per territory, the number of reps instead of
    ``n_territories`` territories, and a negative τ.  The feedback is
    labelled ``[band lower limit]``, never "tightest band", for the reason
    above.

    ``n_territories`` defaults to one territory per rep of the study's reps
    table; a study without reps needs it given.

    Raises
    ------
    SpecificationError
        When ``n_territories`` is not a whole number >= 1, or is not given for
        a study without reps, or ``rtol`` is not a number >= 0.
    """
    from terrakit._runargs import is_count
    from terrakit.exceptions import SpecificationError
    from terrakit.metrics import _measure

    rtol = _check_tolerance("rtol", rtol)
    units = study.unit_measures()
    reps = getattr(study, "reps", None)
    n_reps = 0 if reps is None else len(reps)
    if n_territories is None and not n_reps:
        raise SpecificationError(
            "check_tightest_band needs the number of territories: the study has "
            "no reps to count them by; pass n_territories=..."
        )
    k = n_reps if n_territories is None else n_territories
    if not is_count(k, 1):
        raise SpecificationError(
            f"n_territories must be a whole number >= 1, got {n_territories!r}"
        )
    x = _measure(units, activity)
    heaviest = float(x.max())
    mean = float(x.sum()) / k
    expected = max(heaviest / mean - 1.0, 0.0)
    hints: list[tuple[float, str]] = [
        (100 * expected, "give a fraction, not a percentage"),
        (heaviest / mean, "that is the ratio to the mean; τ is the ratio minus 1"),
        (
            heaviest / float(x.mean()) - 1.0,
            "compare with the mean per territory (total / number of "
            "territories), not the mean per unit",
        ),
    ]
    if n_reps and k != n_reps:
        by_reps = heaviest / (float(x.sum()) / n_reps) - 1.0
        hint = (
            f"that is the band for the {n_reps} reps' territories; this exercise "
            f"asks for {k} territories: the mean is the total / {k}"
        )
        hints += [(by_reps, hint)] + ([(0.0, hint)] if by_reps < 0 else [])
    return _check_number(
        "band lower limit",
        answer,
        expected,
        what=f"τ as a fraction of the mean {activity} per territory",
        fmt=".3f",
        rtol=rtol,
        hints=hints,
        rules=[
            (
                lambda v: v < 0,
                "a band cannot be negative: ±τ lets a territory be up to τ × the "
                "mean above or below the mean, so τ is 0 or more (a heaviest "
                "unit lighter than the mean forces no band)",
            )
        ],
    )


#: Absolute tolerance of a gap: 0.15 percentage points.  A gap is read off as a
#: percentage with one decimal (``f"gap {g:.1%}"``: "gap 4.1%" in the design
#: notebooks), so the printed value is within half a printed digit (0.05
#: points) of the true one; one and a half digits also let the analyst's round
#: figure pass ("4 %" for a true 4.12 %), while dividing by the bound instead of
#: the objective, ``g² / (1 − g)`` away (0.18 points at 4.1 %), does not.
GAP_ATOL = 0.0015

#: Relative window in which an answer counts as the gap given in percent
#: ("4" or "4.1" for 0.0412): wider than the 1 % of a right answer, so a
#: percentage rounded like the printed one is recognised too.
_PERCENT_RTOL = 0.05


def check_gap(
    result: Any, answer: Any, *, rtol: float = RTOL, atol: float = GAP_ATOL
) -> Feedback:
    """Relative optimality gap ``(objective − lower bound) / objective``.

    Right within ``rtol`` or ``atol`` (:data:`GAP_ATOL`, 0.15 percentage
    points: the gap as it is printed, ``4.1 %``, and rounded, ``4 %``, pass).
    A percentage (within 5 %), the gap divided by the bound and the absolute
    gap get their own hint; an answer that is exactly the gap divided by the
    bound is told so even when that lies within ``atol`` (small gaps).

    Expected: :func:`terrakit.design.result.relative_gap` (0 for a proven
    optimum, also one whose objective and bound are both 0).  A result
    without a plan (infinite objective), whose plan breaks constraints
    (status ``'infeasible'``: its ``summary()`` says "gap: none") or without
    a bound has no gap: any answer gets "not quite" with the reason.

    Raises
    ------
    SpecificationError
        When ``rtol`` or ``atol`` is not a number >= 0.
    """
    from terrakit.design.result import relative_gap

    rtol = _check_tolerance("rtol", rtol)
    atol = _check_tolerance("atol", atol)
    what = "a fraction, e.g. 0.12 for 12 %"
    if answer is None:
        return _unanswered("gap", what)
    if not (hasattr(result, "objective") and hasattr(result, "lower_bound")):
        return Feedback(
            False,
            "not quite: check_gap needs the design result (res = "
            "tk.design.align(...)), which has .objective and .lower_bound; got "
            f"{type(result).__name__}",
            "gap",
        )
    obj = float(result.objective)
    lb = float(result.lower_bound)
    status = getattr(result, "status", None)
    status = f", status {status!r}" if isinstance(status, str) else ""
    if not math.isfinite(obj):
        return Feedback(
            False,
            f"not quite: this result has no plan (objective {obj}{status}), so no "
            "gap can be computed",
            "gap",
        )
    if getattr(result, "status", None) == "infeasible":
        # the closest plan a search found: no gap (summary(): "gap: none"),
        # and a clipped bound would even make it 0, a proven optimum
        return Feedback(
            False,
            "not quite: this plan breaks constraints (status 'infeasible'), so it "
            "has no gap; a gap measures a plan that meets every constraint",
            "gap",
        )
    if not math.isfinite(lb):
        return Feedback(
            False,
            f"not quite: this result has no lower bound (lower_bound {lb}"
            f"{status}), so no gap can be computed",
            "gap",
        )
    expected = relative_gap(obj, lb)
    by_bound = (obj - lb) / abs(lb) if lb else math.inf
    by_bound_hint = "divide by the objective (the plan you have), not by the bound"
    v = _number(answer)
    if (
        v is not None
        and math.isfinite(by_bound)
        and _close(v, by_bound, 1e-4)
        and not _close(v, expected, 1e-4)
    ):
        return Feedback(False, f"not quite: {by_bound_hint}", "gap")
    return _check_number(
        "gap",
        answer,
        expected,
        what=what,
        fmt=".4f",
        rtol=max(rtol, 1e-6),
        atol=atol,
        hints=[
            (100 * expected, "give a fraction, not a percentage", _PERCENT_RTOL),
            (by_bound, by_bound_hint),
            (obj - lb, "that is the absolute gap; divide it by the objective"),
        ],
    )


#: A count is compared as the whole number within this absolute tolerance, so a
#: float such as 18.000000000000004 (shares of the territories added up) is 18.
_COUNT_ATOL = 1e-6


def check_contiguous_count(study: Any, answer: Any, alignment: Any) -> Feedback:
    """Number of territories of ``alignment`` that are one connected piece.

    A number within 1e-6 of a whole number is that whole number (a float sum
    of shares); a number that is not whole is shown as it is (``18.3``).

    Typical wrong answers get their own hint: the number of territories, the
    total number of pieces and the number of split territories.  Any other
    whole number in range is told how to count, not which way it is off (as
    the numeric checks are): among 0..n a direction would let the student
    find the count by halving the range.  When every
    territory is one piece, the answer equals the number of territories (and
    of pieces), so the check cannot tell them apart: set the exercise on an
    alignment with split territories.
    """
    from terrakit.metrics import contiguity

    exercise = "contiguous territories"
    if answer is None:
        return _unanswered(exercise, "a count of territories")
    from terrakit.metrics import _alignment

    pieces = contiguity(study.units, _alignment(study, alignment))
    n = len(pieces)
    expected = int((pieces == 1).sum())
    v = _number(answer)
    if v is None:
        return Feedback(
            False,
            f"not quite: expected one number (a count of territories), got "
            f"{type(answer).__name__} {answer!r:.60}",
            exercise,
        )
    whole = abs(v - round(v)) <= _COUNT_ATOL
    if whole:
        v = float(round(v))  # 18.000000000000004 from a float sum is the count 18
    shown = f"{v:.0f}" if whole else repr(v)
    if v == expected:
        return Feedback(True, f"correct: {expected} of {n} are contiguous", exercise)
    hints = [
        (
            n,
            "that is the number of territories; count only those in one piece "
            "(contiguity(...) == 1)",
        ),
        (
            int(pieces.sum()),
            "that is the total number of pieces; count the territories with "
            "exactly 1 piece",
        ),
        (
            int((pieces > 1).sum()),
            "that is the number of territories in more than one piece; count "
            "those in exactly 1 piece",
        ),
    ]
    for wrong, hint in hints:
        if v == wrong:
            return Feedback(False, f"not quite: {hint}", exercise)
    if not (whole and 0 <= v <= n):
        return Feedback(
            False,
            f"not quite: {shown} cannot be a count of the {n} territories; count "
            "those with tk.metrics.contiguity(study.units, alignment) == 1",
            exercise,
        )
    return Feedback(
        False,
        f"not quite: {shown} is not the number of territories in one piece; "
        "tk.metrics.contiguity gives the number of pieces of each territory: "
        "count the territories that have exactly one",
        exercise,
    )


# -- lesson 4: forecasts by territory -----------------------------------------------
def _territory_draws(forecast: Any, alignment: Any, territory: Hashable) -> Any:
    """``(draw, period)`` sales of ``territory``; a clear KeyError if unknown."""
    tf = forecast.by(alignment)
    ids = list(tf.draws["territory"].to_numpy())
    if territory not in ids:
        near = [t for t in ids if str(t).lower() == str(territory).lower()]
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        shown = ids if len(ids) <= 30 else [*ids[:30], "..."]
        raise KeyError(
            f"no territory {territory!r} in alignment "
            f"{getattr(alignment, 'name', 'alignment')!r}{hint}; its {len(ids)} "
            f"territories are {[_plain(t) for t in shown]}"
        )
    return tf.draws.sel(territory=territory)


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def _territory_totals(forecast: Any, alignment: Any, territory: Hashable) -> np.ndarray:
    tot = _territory_draws(forecast, alignment, territory).sum("period")
    return np.asarray(tot.to_numpy(), dtype=float)


def check_territory_mean(
    forecast: Any,
    alignment: Any,
    territory: Hashable,
    answer: Any,
    *,
    rtol: float = RTOL,
) -> Feedback:
    """Expected sales of one territory over the whole forecast horizon.

    Expected: the mean over draws of the territory's summed draws.  The
    answer must be within one Monte Carlo standard error of that mean
    (``sd / √n_draws``; ``rtol`` is only an upper bound): the student
    averages the same draws, so a right answer differs by rounding only, while
    a single draw or a 40 % / 60 % quantile is typically several standard
    errors away (the posterior sd itself is ~√n_draws times wider than that,
    so ``rtol`` = 1 % let a third of the single draws pass).

    The median is not: for symmetric draws it lies only ~0.76 standard errors
    from the mean, inside that tolerance in most forecasts.  So an answer
    closer to the median than to the mean is told that it is the median
    whenever the two differ by more than the answer's rounding
    (:func:`_rounding_step`: 1,000 for ``4,723,000``); the mean rounded as
    printed, or to thousands, is always closer to the mean and passes.

    Raises
    ------
    KeyError
        When ``territory`` is not a territory of ``alignment`` (the message
        lists them).
    """
    rtol = _check_tolerance("rtol", rtol)
    tot = _territory_totals(forecast, alignment, territory)
    expected = float(tot.mean())
    se = float(tot.std(ddof=1)) / math.sqrt(len(tot)) if len(tot) > 1 else 0.0
    tol = min(rtol, max(se / abs(expected), 1e-6)) if expected else rtol
    per_month = expected / float(forecast.horizon)
    v = _number(answer)
    if v is not None:
        median = float(np.median(tot))
        step = _rounding_step(v)
        near_median = abs(v - median) <= max(tol * abs(expected), step / 2)
        if (
            abs(median - expected) > step
            and abs(v - median) < abs(v - expected)
            and near_median
        ):
            return Feedback(
                False,
                "not quite: that is the median of the draws; the expected sales "
                "are their mean — average the summed draws (.mean())",
                "territory forecast",
            )
    return _check_number(
        "territory forecast",
        answer,
        expected,
        what=f"sales of {territory} summed over {forecast.horizon} months",
        fmt=",.0f",
        rtol=tol,
        hints=[
            (per_month, "that is per month; sum over the whole horizon"),
        ],
    )


def _end_tolerance(tot: np.ndarray, p: float, floor: float) -> float:
    """How far an answer's ``p`` quantile may be from ``np.quantile(tot, p)``.

    At least the spread of the order statistics around it,
    ``max |q(p ± 2/n) − q(p)|``: the quantile definitions in use (numpy's
    methods, Excel's PERCENTILE.EXC, ``sort(t)[int(p * n)]``) pick among
    neighbouring order statistics, so they differ by about that much.
    """
    n = len(tot)
    q = float(np.quantile(tot, p))
    around = np.quantile(tot, [max(p - 2 / n, 0.0), min(p + 2 / n, 1.0)])
    return max(floor, float(np.max(np.abs(around - q))))


def check_territory_interval(
    forecast: Any,
    alignment: Any,
    territory: Hashable,
    answer: Any,
    *,
    level: float = 0.8,
    rtol: float = 0.02,
) -> Feedback:
    """Central ``level`` interval (lo, hi) of a territory's horizon total.

    Expected: quantiles of the **summed draws** (each draw summed over the
    territory's units and months).  Adding up interval ends instead — the
    units' intervals of the horizon total, the units' monthly intervals
    (``forecast.to_frame()``) or the territory's monthly intervals
    (``forecast.by(alignment).to_frame()``) — gives an interval that is too
    wide; the hint says so when the answer is near such sums and
    :data:`_SUMMED_ENDS_MARGIN` times closer to them than to any other reading
    of the draws (quantile and normal ``mean ± z sd`` intervals at the usual
    levels, :func:`_other_readings`): on the sample the units' summed ends
    nearly coincide with the normal 90 % interval.  Any other interval wider
    (narrower) than the right one at both ends is told "too wide" ("too
    narrow"), with each end's direction and size class, never a number.
    Each end must be within ``rtol`` × the expected interval's width of the
    expected end, or within the spread of the order statistics around that
    quantile (``|q(p ± 2/n) − q(p)|``) where that is wider, so that every
    standard quantile definition passes.  A tolerance
    relative to the level would pass the too-wide answers: on the sample their
    ends are only 1 % away from the right ones.  A NaN or infinite end is
    refused as not a number, not judged as far too low or high.

    The pair may be a tuple, a list, an array, a Series (``.loc[id, ["lo80",
    "hi80"]]``) or a table of two cells: a one-row table
    (``.loc[[id], ["lo80", "hi80"]]``) or a one-column one (``.quantile([0.1,
    0.9])``), read row by row.

    Raises
    ------
    KeyError
        When ``territory`` is not a territory of ``alignment`` (the message
        lists them).
    SpecificationError
        When ``level`` is not a fraction in (0, 1) (``80`` for 80 % is refused
        with ``0.80`` offered) or ``rtol`` is not a number >= 0.
    """
    exercise = "territory interval"
    level = _check_level(level)
    rtol = _check_tolerance("rtol", rtol)
    if answer is None:
        return _unanswered(
            exercise, f"a pair (lo, hi) of the {_percent(level)} interval"
        )
    pair, got = _pair(answer)
    if pair is None:
        return Feedback(
            False, f"not quite: expected a pair (lo, hi), got {got}", exercise
        )
    lo_a, hi_a = pair
    if not (math.isfinite(lo_a) and math.isfinite(hi_a)):
        return Feedback(
            False,
            f"not quite: expected a pair of finite numbers (lo, hi), got "
            f"({lo_a!r}, {hi_a!r})",
            exercise,
        )
    q = (0.5 - level / 2, 0.5 + level / 2)
    terr = _territory_draws(forecast, alignment, territory)
    tot = np.asarray(terr.sum("period").to_numpy(), dtype=float)
    lo, hi = (float(v) for v in np.quantile(tot, q))
    floor = rtol * max(hi - lo, 1e-9)
    tol_lo = _end_tolerance(tot, q[0], floor)
    tol_hi = _end_tolerance(tot, q[1], floor)

    def near(a: float, b: float, tol: float) -> bool:
        return abs(a - b) <= tol

    if near(lo_a, lo, tol_lo) and near(hi_a, hi, tol_hi):
        return Feedback(True, f"correct: {lo:,.0f} – {hi:,.0f}", exercise)
    units = alignment.units_of(territory)
    mask = np.isin(np.asarray(forecast.series_unit), np.asarray(units))
    series = np.asarray(forecast.draws.to_numpy(), dtype=float)[:, mask, :]
    summed_ends = [
        ("the units' interval ends", np.quantile(series.sum(axis=2), q, axis=0)),
        (
            "the units' monthly interval ends (forecast.to_frame())",
            np.quantile(series, q, axis=0),
        ),
        (
            "the territory's monthly interval ends (forecast.by(alignment).to_frame())",
            np.quantile(np.asarray(terr.to_numpy(), dtype=float), q, axis=0),
        ),
    ]
    readings = [
        (what, tuple(float(e.sum()) for e in ends)) for what, ends in summed_ends
    ]
    readings += _other_readings(tot, level)
    readings.append(("right", (lo, hi)))

    def gap(ends: tuple[float, ...]) -> float:
        return max(abs(lo_a - ends[0]), abs(hi_a - ends[1]))

    for i, (what, (s_lo, s_hi)) in enumerate(readings[: len(summed_ends)]):
        others = min(gap(e) for j, (_, e) in enumerate(readings) if j != i)
        if (
            near(lo_a, s_lo, tol_lo)
            and near(hi_a, s_hi, tol_hi)
            and _SUMMED_ENDS_MARGIN * gap((s_lo, s_hi)) <= others
        ):
            return Feedback(
                False,
                f"not quite: you added up {what}; sum the draws over the "
                "territory and the months first, then take quantiles (sums of "
                "quantiles are too wide)",
                exercise,
            )
    if hi_a < lo_a:
        return Feedback(False, "not quite: give (lo, hi) with lo < hi", exercise)
    ends_said = []
    for name, a, e, tol in (("lo", lo_a, lo, tol_lo), ("hi", hi_a, hi, tol_hi)):
        ends_said.append(
            f"{name} is right" if near(a, e, tol) else f"{name} is {_how_far(a, e)}"
        )
    # :g, not .2f: the 95 % interval's quantiles are 0.025 and 0.975
    where = (
        f"the {_percent(level)} interval of the horizon total: quantiles "
        f"{q[0]:.6g} and {q[1]:.6g} of the territory's draws summed over the months"
    )
    wide = lo_a < lo - tol_lo and hi_a > hi + tol_hi
    narrow = lo_a > lo + tol_lo and hi_a < hi - tol_hi
    if wide or narrow:
        return Feedback(
            False,
            f"not quite: that interval is too {'wide' if wide else 'narrow'} "
            f"({'; '.join(ends_said)}); check the level and the quantiles — "
            f"{where}",
            exercise,
        )
    return Feedback(False, f"not quite: {'; '.join(ends_said)} ({where})", exercise)


def _pair(answer: Any) -> tuple[tuple[float, float] | None, str]:
    """``((lo, hi), "")`` from an interval answer, or ``(None, what it is)``.

    A DataFrame or an array of two or more dimensions counts by its cells
    (``to_numpy().ravel()``): a one-row or one-column table of two cells is
    a pair.  Anything else is iterated (a tuple, a list, a Series).
    """
    import pandas as pd

    got = f"{answer!r:.60}"
    cells = answer
    if isinstance(answer, pd.DataFrame):
        # its repr spans lines, and iterating it gives the column names
        got = "a DataFrame of {} rows and {} columns".format(*answer.shape)
        cells = answer.to_numpy().ravel()
    elif isinstance(answer, np.ndarray) and answer.ndim > 1:
        cells = answer.ravel()
    try:
        lo, hi = (float(v) for v in cells)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 2**1100
        return None, got
    return (lo, hi), ""


#: A too-wide interval is said to be summed interval ends only when it is this
#: many times closer to those sums than to any other reading of the draws
#: (:func:`_other_readings`, the right interval, the other sums): on the
#: sample the units' summed ends lie within 0.5 % of the width of the normal
#: 90 % interval ``mean ± 1.645 sd``, which no one adds up.
_SUMMED_ENDS_MARGIN = 3.0


def _other_readings(
    tot: np.ndarray, level: float
) -> list[tuple[str, tuple[float, float]]]:
    """Intervals a student may give instead of the right one: central
    quantile intervals of the summed draws at other usual levels and the
    normal ``mean ± z sd`` intervals at the level and those levels."""
    from statistics import NormalDist

    m = float(tot.mean())
    sd = float(tot.std(ddof=1)) if len(tot) > 1 else 0.0
    out: list[tuple[str, tuple[float, float]]] = []
    for lev in (0.5, 0.8, 0.9, 0.95, 0.99):
        q = np.quantile(tot, [0.5 - lev / 2, 0.5 + lev / 2])
        if not math.isclose(lev, level):
            out.append((f"quantiles {lev:.0%}", (float(q[0]), float(q[1]))))
        z = NormalDist().inv_cdf(0.5 + lev / 2)
        out.append((f"normal {lev:.0%}", (m - z * sd, m + z * sd)))
    return out

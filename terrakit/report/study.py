"""The client study report: one self-contained HTML page and one Excel workbook.

:class:`StudyReport` gathers what a study produced — alignments and,
optionally, the workload and headcount curve, the potential, the forecast,
quotas and a call plan — and renders it as sections.  Every section but the
summary, maps, balance, KPIs, method notes and provenance is optional: a
study with only units and one alignment still gives a complete report.

The HTML file carries its own CSS and its figures as base64 PNG, and links
to nothing, so it can be mailed or archived as it is and opens offline.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import difflib
import errno
import html
import io
import json
import math
import os
import platform
import re
import secrets
import stat
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from terrakit.data.alignment import Alignment
from terrakit.data.io import excel_text
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)

__all__ = ["SECTIONS", "Section", "StudyReport", "study_report", "to_excel"]

#: Every section a report can have: ``id → heading``, in page order.
SECTIONS: dict[str, str] = {
    "summary": "Summary",
    "maps": "Territory maps",
    "balance": "Balance",
    "kpis": "Territory KPIs",
    "comparison": "Scenario comparison",
    "sizing": "Sales-force sizing",
    "potential": "Market potential",
    "forecast": "Sales forecast",
    "quotas": "Quotas",
    "routing": "Call plan and routes",
    "methods": "Method notes",
    "provenance": "Provenance",
}

#: Measures a report shows by default (each where the study has it).
DEFAULT_MEASURES: tuple[str, ...] = ("workload", "sales", "accounts")

#: Columns of the report's tables that hold fractions (shown as percentages):
#: balance (``max_rel_dev``, ``cv``), KPIs (``penetration``,
#: ``penetration_model``, ``growth``), quotas (``growth``).
_PERCENT_COLUMNS = frozenset(
    {"max_rel_dev", "cv", "penetration", "penetration_model", "growth"}
)
#: Endings of the report's fraction columns: ``<measure>_max_dev`` and
#: ``<measure>_cv`` of the comparison, ``*_moved_share`` and the quota shares.
_PERCENT_SUFFIXES = ("_share", "_max_dev", "_cv")

_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --accent: #2f6f9f; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); margin: 0; line-height: 1.45; background: #fff; }
header { background: var(--accent); color: #fff; padding: 1.4em 2em; }
header h1 { margin: 0 0 .2em 0; font-size: 1.7em; }
header p { margin: 0; opacity: .9; }
nav { padding: .6em 2em; border-bottom: 1px solid var(--line); font-size: .92em; }
nav a { color: var(--accent); margin-right: 1.1em; text-decoration: none; }
main { padding: 0 2em 3em 2em; max-width: 1200px; }
@media (max-width: 600px) { main, nav, header { padding-left: 1em;
  padding-right: 1em; } }
section { margin-top: 2.2em; }
h2 { border-bottom: 2px solid var(--accent); padding-bottom: .2em; }
h3 { margin-bottom: .3em; color: var(--muted); font-size: 1.05em; }
table { border-collapse: collapse; margin: .6em 0 1.2em 0; font-size: .86em; }
.table-scroll { overflow-x: auto; max-width: 100%; margin: .6em 0 1.2em 0; }
.table-scroll > table { margin: 0 0 .3em 0; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: right;
  white-space: nowrap; }
th { background: #f0f4f8; }
td.text, th.text, tbody th { text-align: left; }
td.long { white-space: normal; overflow-wrap: anywhere; min-width: 24em; }
pre { background: #f5f7fa; padding: .8em; overflow-x: auto; font-size: .85em; }
figure { margin: .6em 0 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .88em; }
.grid { display: grid;
  grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr)); gap: 1em; }
.note { color: var(--muted); font-size: .92em; }
details summary { cursor: pointer; color: var(--accent); }
@media print { nav { display: none; } section { break-inside: avoid-page; } }
"""


@dataclass(frozen=True)
class Section:
    """One part of the report: an anchor id, a heading and its HTML body."""

    id: str
    title: str
    body: str


# -- small HTML helpers ----------------------------------------------------------------
def _esc(x: Any) -> str:
    return html.escape(str(x))


def _plural(
    n: int, word: str, plural: str | None = None, *, thousands: bool = False
) -> str:
    """``n`` and ``word``, singular for one (``1 unit``, ``2 units``).

    ``plural`` is the plural form where it is not ``word + "s"``
    (``_plural(n, "territory", "territories")``); ``thousands`` writes
    ``n`` with thousands separators (``1,234 units``).
    """
    count = f"{n:,}" if thousands else f"{n}"
    return f"{count} {word if n == 1 else (plural or word + 's')}"


def _territories(n: int) -> str:
    """``1 territory``, ``3 territories``."""
    return _plural(n, "territory", "territories")


def _fig_uri(fig: Any, dpi: int = 100) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(
        buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None}
    )
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _potential_method(res: Any) -> str:
    """The method note of a potential result: its level, spatial effect,
    quantile and fitting method, read from the result (not assumed)."""
    cfg = dict(getattr(res, "model_config", {}) or {})
    q = float(cfg.get("potential_quantile", math.nan))
    if getattr(res, "level", None) == "unit":
        on = "sales on demographics" + (
            " with a BYM2 spatial effect"
            if cfg.get("spatial") == "bym2"
            else " (no spatial effect)"
        )
    else:
        on = "sales on firmographics"
    pct = f"the {100 * q:g} % quantile" if math.isfinite(q) else "a high quantile"
    return (
        f"A hierarchical Bayesian model (PyMC) of {on}, with a hurdle for "
        f"non-buyers. Potential is {pct} of the peer group's sales, per "
        f"posterior draw; {_fitted_with(res)}."
    )


def _advi_check(res: Any) -> dict[str, Any] | None:
    """The ADVI convergence check of a potential fit (``None``: not ADVI, or
    not recorded)."""
    if getattr(res, "method", None) != "advi":
        return None
    check = getattr(res, "advi_check", None)
    return dict(check) if isinstance(check, Mapping) else None


def _fitted_with(res: Any) -> str:
    """How a potential fit was made, saying plainly when ADVI had not converged
    (:func:`terrakit._sampling.advi_convergence`)."""
    method = getattr(res, "method", "?")
    check = _advi_check(res)
    if check is None:
        return f"fitted with {method}"
    n = f"{int(check.get('iterations', 0)):,} iterations"
    if check.get("converged"):
        return f"fitted with ADVI, which had converged in {n}"
    change, drift, jitter = (
        check.get("change_per_value"),
        check.get("drift"),
        check.get("jitter"),
    )
    fix = "raise vi_iterations or use nutpie"
    if change is None or ("drift" in check and (drift is None or jitter is None)):
        why = "too few iterations to judge"
    elif jitter is not None and not jitter <= check.get("max_jitter", math.inf):
        why = "its parameters kept jumping: too large a learning rate"
        fix = "lower vi_learning_rate or use nutpie"
    else:
        moving = []
        if drift is not None and not drift <= check.get("max_drift", math.inf):
            moving.append("its parameters were still moving")
        if not abs(change) <= check.get("max_change", math.inf):
            moving.append(f"its loss was still {'falling' if change > 0 else 'rising'}")
        why = " and ".join(moving) or "see the run's warnings"
    return (
        f"fitted with ADVI, which had NOT converged at {n} ({why}): treat the "
        f"potentials as rough; {fix}"
    )


def _compact_json(check: Mapping[str, Any]) -> str:
    """``check`` as one short line of JSON (floats to 4 significant digits)."""

    def short(v: Any) -> Any:
        return float(f"{v:.4g}") if isinstance(v, float) and math.isfinite(v) else v

    return json.dumps(
        {k: short(v) for k, v in check.items()}, sort_keys=True, separators=(",", ":")
    )


def _edits(alignment: Alignment) -> int:
    """How many hand edits the alignment's provenance records (0: none).

    :meth:`Alignment.replace` keeps the provenance of the alignment it edits
    and counts the units it moved under ``edits``.
    """
    try:
        return max(0, int(alignment.provenance.get("edits", 0) or 0))
    except (TypeError, ValueError):
        return 0


def _method(alignment: Alignment) -> str:
    """How an alignment was made, for the method notes: its provenance's
    ``method``, or for a hand edit whose provenance is its parent's, that it
    is hand edits of an alignment made so."""
    method = str(alignment.provenance.get("method", "manual"))
    edits = _edits(alignment)
    if not edits:
        return method
    return (
        f"hand edits of {method} ({alignment.name}: "
        f"{_plural(edits, 'edit')} after the design)"
    )


def _figure(
    draw: Callable[..., Any], caption: str, size: tuple[float, float], dpi: int = 100
) -> str:
    """Draw with ``draw(ax=ax)`` on a new figure and return an inline ``<figure>``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            draw(ax=ax)
        uri = _fig_uri(fig, dpi)
    finally:
        plt.close(fig)
    return (
        f'<figure><img alt="{_esc(caption)}" src="{uri}">'
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


def _missing(v: Any) -> bool:
    """Whether one cell is missing (``None``, NaN, ``pd.NA``, ``NaT``)."""
    if v is None:
        return True
    try:
        return np.ndim(v) == 0 and bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _is_percent(name: Any) -> bool:
    """Whether a column holds fractions shown as percentages (HTML and Excel).

    Decided by the names the report's own tables use, exactly (not by a word
    anywhere in the name, which a column named from user data can contain):
    those of :data:`_PERCENT_COLUMNS`, names ending in one of
    :data:`_PERCENT_SUFFIXES` (shares, ``<measure>_max_dev``,
    ``<measure>_cv``) and probabilities (``p_*``).  The Gini coefficient
    stays a coefficient.  Columns named from user data that are not fractions
    (a headcount curve's ``calls_<segment>``) are excluded by the caller (see
    :meth:`StudyReport.to_excel`).
    """
    n = str(name)
    return n in _PERCENT_COLUMNS or n.startswith("p_") or n.endswith(_PERCENT_SUFFIXES)


def _decimals(values: np.ndarray) -> int:
    """Decimals that show one column of numbers alike.

    Chosen from the column's median magnitude (whole numbers: none; ≥ 100:
    none; ≥ 1: two; below: three, or enough for three significant digits of
    very small values); float noise below 1e-9 counts as zero.
    """
    v = np.asarray(values, dtype=float)
    a = np.abs(v[np.isfinite(v)])
    if not len(a) or np.all(a == np.round(a)):
        return 0
    a = a[a >= 1e-9]
    if not len(a):
        return 0
    m = float(np.median(a))
    if m >= 100:
        return 0
    if m >= 1:
        return 2
    if m >= 0.001:
        return 3
    return int(min(6, 2 - math.floor(math.log10(m))))


def _balance_size(alignment: Alignment) -> tuple[float, float]:
    """Figure size of a balance chart: wider with more (and longer) territory ids.

    From 8 in (a dozen territories) up to 16 in; the chart rotates or wraps
    what still does not fit (see :func:`terrakit.plot.balance_chart`).
    """
    from terrakit.plot.balance import chart_width

    terr = pd.unique(alignment.assignment.to_numpy())
    return (min(16.0, max(8.0, chart_width(list(terr)))), 3.6)


def _fmt_number(x: float, decimals: int, *, percent: bool = False) -> str:
    """One number with thousands separators and fixed decimals (never 'e').

    Values that round to zero show as zero (never ``-0``); percentages are
    shown with one decimal and `` %``.
    """
    if _missing(x) or not np.isfinite(x):
        return "–"
    y = round(100.0 * float(x), 1) if percent else round(float(x), decimals)
    if y == 0:
        y = 0.0  # no '-0.0'
    return f"{y:,.1f} %" if percent else f"{y:,.{decimals}f}"


def _fmt_column(name: str, s: pd.Series) -> pd.Series:
    """A column as text for reading: ``–`` where missing, numbers alike.

    Integers get thousands separators; percentage columns (see
    :func:`_is_percent`) one decimal and `` %``; other numbers the decimals
    of :func:`_decimals`, the same for the whole column.
    """
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return s.map(lambda v: "–" if _missing(v) else str(v))
    if pd.api.types.is_integer_dtype(s):
        return s.map(lambda x: "–" if _missing(x) else f"{int(x):,}")
    v = s.astype(float)
    if _is_percent(name):
        return v.map(partial(_fmt_number, decimals=1, percent=True))
    return v.map(partial(_fmt_number, decimals=_decimals(v.to_numpy())))


def _excel_format(
    name: str, s: pd.Series, *, percent: bool | None = None
) -> str | None:
    """The Excel number format of a column (``None``: not a number column).

    The same rules as the HTML tables: percentages ``0.0%``, whole numbers
    ``#,##0``, other numbers with the decimals of :func:`_decimals`.
    ``percent`` overrides :func:`_is_percent` (``False`` for a column named
    from user data).
    """
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return None
    if pd.api.types.is_integer_dtype(s):
        return "#,##0"
    if _is_percent(name) if percent is None else percent:
        return "0.0%"
    d = _decimals(s.astype(float).to_numpy())
    return "#,##0" if d == 0 else "#,##0." + "0" * d


def _table(
    df: pd.DataFrame,
    *,
    index: bool = True,
    max_rows: int = 60,
    transpose: bool = False,
    text_class: bool = False,
) -> str:
    """An HTML table with numbers formatted for reading (not for computing),
    in a container that scrolls sideways when the table is wider than the page.

    ``transpose`` formats by column first, then shows the columns as rows.
    ``text_class`` gives the text columns' cells ``class="text"`` (see
    :func:`_mark_text_columns`) for a page whose CSS aligns those left.
    """
    shown = df.head(max_rows)
    out = pd.DataFrame(
        {c: _fmt_column(str(c), shown[c]) for c in shown.columns}, index=shown.index
    )
    if transpose:
        out = out.T
    text = out.to_html(index=index, border=0, escape=True, na_rep="–")
    if text_class and not transpose:
        text = _mark_text_columns(text, shown, out)
    more = (
        f'<p class="note">First {max_rows} of {len(df)} rows; the Excel workbook '
        "has them all.</p>"
        if len(df) > max_rows
        else ""
    )
    return _scroll(text) + more


#: Where a text column's cells may wrap: above this many characters.
_LONG_TEXT = 40


def _scroll(table: str) -> str:
    """``table`` in a container that scrolls sideways when the table is wider
    than the page (the page itself never does); the inline style keeps it so
    on pages with their own CSS."""
    return f'<div class="table-scroll" style="overflow-x: auto">{table}</div>'


def _mark_text_columns(text: str, raw: pd.DataFrame, shown: pd.DataFrame) -> str:
    """Give the header and the cells of the text columns of ``raw``
    ``class="text"`` (left-aligned; the CSS aligns numbers right), and
    ``class="text long"`` where a value is longer than :data:`_LONG_TEXT`
    (those may wrap).

    ``text`` is ``shown.to_html(...)``, ``shown`` being ``raw`` formatted by
    :func:`_fmt_column`: data cells are the ``<td>`` of each body row, in
    column order; the column headers are the last ``<th>`` of the first
    header row.
    """
    kinds: list[str | None] = []
    for c in raw.columns:
        col = raw[c]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            kinds.append(None)
            continue
        width = int(shown[c].astype(str).str.len().max()) if len(shown) else 0
        kinds.append("text long" if width > _LONG_TEXT else "text")
    if not any(kinds):
        return text
    head, sep, body = text.partition("<tbody>")
    if sep:

        def cells(row: re.Match[str]) -> str:
            k = iter(kinds)
            return re.sub(
                r"<td>",
                lambda _: f'<td class="{c}">' if (c := next(k, None)) else "<td>",
                row.group(0),
            )

        body = re.sub(r"<tr>.*?</tr>", cells, body, flags=re.S)
    first = re.search(r"<tr[^>]*>(.*?)</tr>", head, re.S)
    ths = [] if first is None else list(re.finditer(r"<th(?=[ >])", first.group(1)))
    if first is not None and len(ths) >= len(kinds):
        row = first.group(1)
        cols = ths[len(ths) - len(kinds) :]
        for m, kind in reversed(list(zip(cols, kinds, strict=True))):
            if kind:
                row = row[: m.start()] + '<th class="text"' + row[m.end() :]
        head = head[: first.start(1)] + row + head[first.end(1) :]
    return head + sep + body


def _report_table(df: pd.DataFrame, **kw: Any) -> str:
    """:func:`_table` for the study report, whose CSS aligns text columns left."""
    return _table(df, text_class=True, **kw)


def _pre(text: str) -> str:
    return f"<pre>{_esc(text)}</pre>"


def _p(text: str, cls: str | None = None) -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<p{c}>{_esc(text)}</p>"


def _sheet_name(name: str, taken: set[str]) -> str:
    """A sheet name Excel accepts, unique (ignoring case) among ``taken``.

    ``[]:*?/\\`` become ``_``, control characters are dropped, the name is cut
    to 31 characters and loses a leading or trailing apostrophe (Excel
    refuses those); a name taken already gets `` (2)``, `` (3)``, ...
    """
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)
    clean = ILLEGAL_CHARACTERS_RE.sub("", clean)[:31].strip("'") or "Sheet"
    base, k = clean, 2
    while clean.lower() in taken:
        suffix = f" ({k})"
        clean = base[: 31 - len(suffix)] + suffix
        k += 1
    taken.add(clean.lower())
    return clean


def _json(v: Any) -> str:
    from terrakit.data.alignment import _json_default

    try:
        return json.dumps(v, default=_json_default, sort_keys=True)
    except TypeError:
        return str(v)


def _public_name(value: Any) -> str:
    """The type of ``value`` as a user writes it (``tk.sizing.CallPlan``)."""
    t = type(value)
    parts = t.__module__.split(".")
    if parts[0] == "terrakit" and len(parts) > 1:
        return f"tk.{parts[1]}.{t.__qualname__}"
    return (
        t.__qualname__
        if t.__module__ == "builtins"
        else f"{t.__module__}.{t.__qualname__}"
    )


def _is_instance(value: Any, *classes: str) -> bool:
    """Whether ``value`` is an instance of one of the ``module:Class`` names.

    A class whose module was never imported can have no instances, so
    nothing is imported here (the sub-packages stay lazy).
    """
    for spec in classes:
        module, name = spec.split(":")
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(value, cls):
            return True
    return False


#: The typed results a report takes: argument → (accepted classes, what to
#: pass, hints for look-alike results by their public type name).
_RESULTS: dict[str, tuple[tuple[str, ...], str, dict[str, str]]] = {
    "workload": (
        ("terrakit.sizing:WorkloadResult",),
        "a tk.sizing.WorkloadResult (from tk.sizing.workload)",
        {
            "tk.sizing.RepsNeeded": "pass the WorkloadResult itself; the report "
            "computes reps needed from it with hours_per_rep=",
        },
    ),
    "headcount": (
        ("terrakit.sizing:HeadcountCurve",),
        "a tk.sizing.HeadcountCurve (from tk.sizing.headcount_curve)",
        {
            "tk.sizing.ResponseCurves": "pass tk.sizing.headcount_curve(curves, "
            "reps=...) of these response curves",
            "tk.sizing.BestHeadcount": "pass the whole curve, not its best()",
        },
    ),
    "potential": (
        ("terrakit.potential:PotentialResult",),
        "a tk.potential.PotentialResult (from tk.potential.PotentialModel().fit)",
        {},
    ),
    "forecast": (
        ("terrakit.forecast:TerritoryForecast",),
        "a tk.forecast.TerritoryForecast (forecast.by(alignment))",
        {
            "tk.forecast.SalesForecast": "sum it by territory first: "
            "forecast=forecast.by(alignment)",
            "tk.forecast.FittedSalesForecaster": "pass "
            "fitted.predict(horizon=12).by(alignment)",
        },
    ),
    "quotas": (
        ("terrakit.forecast:QuotaResult", "terrakit.sizing:QuotaResult"),
        "a tk.forecast.QuotaResult (from tk.forecast.quota) or a "
        "tk.sizing.QuotaResult (from tk.sizing.quotas)",
        {},
    ),
    "call_plan": (
        ("terrakit.routing:CallPlan",),
        "a tk.routing.CallPlan (one territory's visit days and routes, from "
        "tk.routing.plan_calls)",
        {
            "tk.sizing.CallPlan": "that is a call allocation (calls per account, "
            "from tk.sizing.allocate_calls), which the report has no section "
            "for; show it in the method notes with notes={'Call allocation': "
            "allocation.summary()}",
            "tk.routing.TerritoryPlans": "pass one territory's plan, e.g. "
            "call_plan=plans.plans[territory_id]",
        },
    ),
}


def _report_measures(study: Any, measures: Sequence[str] | str) -> tuple[str, ...]:
    """The measures a report shows: those named, or the defaults the study has.

    One name is one measure.  Of :data:`DEFAULT_MEASURES`, those the study's
    units lack are skipped (a study without sales reports its workload); a
    measure named otherwise must be a unit column (or ``"units"``).  With
    none left, the report shows ``"units"`` (unit counts).

    Raises
    ------
    DataValidationError
        When a measure named (not the defaults) is not a unit column, with
        the closest column's name.
    """
    units = study.unit_measures() if hasattr(study, "unit_measures") else study
    cols = set(units.columns) | {"units"}
    requested = (measures,) if isinstance(measures, str) else tuple(measures)
    unknown = [m for m in requested if m not in cols]
    if unknown and requested != DEFAULT_MEASURES:
        geometry = getattr(units, "geometry", None)
        numeric = [
            str(c)
            for c in units.columns
            if c != getattr(geometry, "name", None)
            and pd.api.types.is_numeric_dtype(units[c])
        ]
        close = difflib.get_close_matches(str(unknown[0]), numeric, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DataValidationError(
            "units",
            str(unknown[0]),
            f"measures {unknown} are not columns of the study's units{hint}; "
            f"its numeric columns are {['units', *numeric]}",
            fix="pass measures= from these columns (or add the column to the "
            "units table)",
        )
    # the default measures are reported where the study has them
    return tuple(m for m in requested if m in cols) or ("units",)


def _provenance_of(result: Any) -> Mapping[str, Any]:
    """The ``provenance`` mapping of a result (empty without one)."""
    prov = getattr(result, "provenance", None)
    return prov if result is not None and isinstance(prov, Mapping) else {}


def _check_results(report: StudyReport) -> None:
    """Refuse a result of the wrong type before any section is drawn.

    Raises
    ------
    TypeError
        Naming the argument, the type it takes and where it comes from, the
        type received and, for a look-alike result, what to do with it.
    """
    for arg, (classes, wanted, hints) in _RESULTS.items():
        value = getattr(report, arg)
        if value is None or _is_instance(value, *classes):
            continue
        got = _public_name(value)
        hint = hints.get(got)
        raise TypeError(
            f"{arg}= takes {wanted}, got {got}" + (f"; {hint}" if hint else "")
        )


def _territory_ids(report: StudyReport, arg: str) -> list[Any]:
    """The territory ids of the forecast (``arg="forecast"``) or the quotas,
    in order, each once."""
    if arg == "forecast":
        ids = report.forecast.draws["territory"].to_numpy().tolist()
    else:
        ids = report.quotas.to_frame().index.tolist()
    return list(dict.fromkeys(ids))


def _owners(report: StudyReport, ids: Sequence[Any]) -> list[Alignment]:
    """The reported alignments that have every one of ``ids`` as a territory."""
    return [
        a for a in report.aligned if set(ids) <= set(a.assignment.unique().tolist())
    ]


def _check_territories(report: StudyReport) -> None:
    """Refuse a forecast or quotas made for another alignment.

    Their territory ids are compared with those of the reported alignments
    (all of them: a forecast of the baseline, not the primary, is fine).

    Raises
    ------
    DataValidationError
        When none of the forecast's (or the quotas') territories is a
        territory of a reported alignment, naming the ids on both sides.

    Warns
    -----
    TerrakitWarning
        When only some of them are not (e.g. a forecast of the study's
        current alignment beside a proposal that closes a territory), naming
        those ids: their rows are shown as they are.
    """
    names = [a.name for a in report.aligned]
    have: dict[Any, None] = {}
    for a in report.aligned:
        have.update(dict.fromkeys(a.assignment.unique().tolist()))
    fixes = {
        "forecast": "pass forecast=fitted.predict(...).by(alignment) of one of the "
        "reported alignments, or report the alignment it was made for",
        "quotas": "pass quotas set for one of the reported alignments "
        "(tk.forecast.quota(forecast, alignment) or tk.sizing.quotas(study, "
        "alignment)), or report the alignment they were set for",
    }
    for arg, fix in fixes.items():
        if getattr(report, arg) is None:
            continue
        ids = _territory_ids(report, arg)
        outside = [t for t in ids if t not in have]
        if not outside:
            continue
        column = "territory" if arg == "forecast" else "territory_id"
        what = "the forecast" if arg == "forecast" else "the quotas"
        shown = sorted(have, key=str)[:6]
        theirs = ", ".join(repr(t) for t in shown) + (" ..." if len(have) > 6 else "")
        if len(outside) == len(ids):
            of = (
                f" (of {report.forecast.alignment_name!r})" if arg == "forecast" else ""
            )
            raise DataValidationError(
                arg,
                column,
                f"{what}{of} {'is' if arg == 'forecast' else 'are'} for "
                f"{_territories(len(ids))}, none of which the reported alignments "
                f"{names} have (their territories: {theirs}): "
                f"{'it was' if arg == 'forecast' else 'they were'} made for "
                "another alignment",
                rows=outside,
                fix=fix,
            )
        listed = ", ".join(repr(t) for t in outside[:5])
        more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
        warnings.warn(
            f"{len(outside)} of the {_territories(len(ids))} of {what} "
            f"({listed}{more}) {'is' if len(outside) == 1 else 'are'} in none of "
            f"the reported alignments {names}; {what} may be for another "
            f"alignment. Fix: {fix}",
            TerrakitWarning,
            stacklevel=4,
        )


def _recorded_alignment(result: Any) -> str | None:
    """The alignment a result records in ``provenance["alignment"]`` (or ``None``)."""
    name = _provenance_of(result).get("alignment")
    return name if isinstance(name, str) and name else None


def _quota_sales_mismatch(report: StudyReport, alignment: Alignment) -> str | None:
    """Where the quotas' sales per territory are not ``alignment``'s, in words.

    Quotas of :func:`terrakit.sizing.quotas` hold each territory's sales of
    the last 12 months, summed from the study's units under the alignment
    they were set for: summed under ``alignment`` they must be the same.
    ``None`` when they are, or when that cannot be checked (quotas without
    a ``sales`` column, a study without sales).
    """
    q = report.quotas
    if not _is_instance(q, "terrakit.sizing:QuotaResult"):
        return None
    theirs = q.to_frame()
    if "sales" not in theirs.columns:
        return None
    from terrakit.sizing.quotas import _unit_sales

    try:
        per_unit = _unit_sales(report.study)
    except DataValidationError:
        return None
    labels = alignment.assignment.reindex(per_unit.index).to_numpy()
    mine = per_unit.groupby(labels).sum().reindex(theirs.index)
    given = theirs["sales"].astype(float)
    seen = mine.notna().to_numpy()  # ids of other alignments are checked apart
    close = np.isclose(given.to_numpy(), mine.to_numpy(dtype=float), rtol=1e-6)
    bad = np.flatnonzero(seen & ~close)
    if not len(bad):
        return None
    t = theirs.index[bad[0]]
    more = (
        f"; {len(bad) - 1} more {'territory differs' if len(bad) == 2 else 'differ'}"
        if len(bad) > 1
        else ""
    )
    return (
        f"{t!r}: sales {given.iloc[bad[0]]:,.0f} in the quotas, "
        f"{mine.iloc[bad[0]]:,.0f} under {alignment.name!r}{more}"
    )


def _quota_alignment(report: StudyReport) -> tuple[str, str | None]:
    """Whose territories the quotas are: a sentence, and what is wrong (or ``None``).

    The alignment the quotas record (``provenance["alignment"]``, which
    :func:`terrakit.forecast.quota` and :func:`terrakit.sizing.quotas`
    write) names them; without a record, the reported alignments whose
    territory ids they have.  Quotas of :func:`terrakit.sizing.quotas` are
    also checked against that alignment's sales per territory (see
    :func:`_quota_sales_mismatch`).  What is wrong: the recorded alignment
    is not reported (the quotas' figures are not those of the KPI tables),
    or the sales disagree.
    """
    names = [a.name for a in report.aligned]
    fix = (
        "report the alignment the quotas were set for, or pass quotas set for "
        "one of the reported alignments (tk.sizing.quotas(study, alignment) or "
        "tk.forecast.quota(forecast, alignment))"
    )
    recorded = _recorded_alignment(report.quotas)
    if recorded is not None and recorded not in names:
        return (
            f"Quotas per territory of alignment {recorded!r}, which this report "
            "does not show: their sales, potential and quotas per territory are "
            f"those of {recorded!r}, not of the reported alignments.",
            f"the quotas were set for alignment {recorded!r} (their provenance "
            f"records it), which is not one of the reported alignments {names}: "
            f"their figures per territory are those of {recorded!r}, not of the "
            f"report's KPI tables. Fix: {fix}",
        )
    if recorded is not None:
        al = report.aligned[names.index(recorded)]
        off = _quota_sales_mismatch(report, al)
        if off is None:
            return f"Quotas per territory of alignment {recorded!r}.", None
        return (
            f"Quotas per territory of an alignment named {recorded!r}, whose "
            f"sales per territory are not those of the reported {recorded!r}.",
            f"the quotas record alignment {recorded!r}, but their sales per "
            f"territory are not those of the reported alignment {recorded!r} "
            f"({off}): they were set for another alignment (or study) of that "
            f"name. Fix: {fix}",
        )
    owners = _owners(report, _territory_ids(report, "quotas"))
    matching = [a.name for a in owners if _quota_sales_mismatch(report, a) is None]
    if owners and not matching:
        off = _quota_sales_mismatch(report, owners[0])
        listed = [a.name for a in owners]
        return (
            "Quotas per territory of an alignment this report does not show: "
            f"their sales per territory are not those of {listed}.",
            f"the quotas have the territory ids of {listed} but not their sales "
            f"per territory ({off}): they were set for another alignment (the "
            f"quotas do not record which). Fix: {fix}",
        )
    if len(matching) == 1:
        return f"Quotas per territory of alignment {matching[0]!r}.", None
    if matching:
        listed_s = ", ".join(repr(n) for n in matching[:-1])
        return (
            f"Quotas per territory of alignments {listed_s} and {matching[-1]!r} "
            "(the same territory ids; the quotas do not record which "
            "alignment they were set for).",
            None,
        )
    return (
        "Quotas per territory; some of their territories are in none of the "
        "reported alignments.",
        None,
    )


def _check_quota_alignment(report: StudyReport) -> None:
    """Warn when quotas are reported beside alignments they were not set for.

    Warns
    -----
    TerrakitWarning
        When the quotas record an alignment that is not reported, or their
        sales per territory are not those of the alignment they name (or,
        without a record, of any reported alignment with their territory
        ids); see :func:`_quota_alignment`.
    """
    if report.quotas is None:
        return
    _, problem = _quota_alignment(report)
    if problem is not None:
        warnings.warn(problem, TerrakitWarning, stacklevel=4)


# -- the report ----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class StudyReport:
    """A study report: sections rendered to HTML (:meth:`save`) or Excel.

    Parameters
    ----------
    study
        The :class:`~terrakit.data.Study`.
    alignments
        Alignments to report (objects or names of the study's alignments);
        default (``None``) every alignment of the study; an empty list is an
        error.  The first is the baseline
        disruption is measured against, the last the *primary* alignment
        (the proposal whose KPIs, assignments and forecast lead).
    title
        Page title (default from the study's metadata name).
    measures
        Unit columns whose balance is reported.  Of the default measures,
        those the study lacks are skipped; a measure you name that the
        units do not have is an error.
    tolerance
        Half-width of the band drawn on balance charts (0.05 = ±5 %).
    workload
        A :class:`~terrakit.sizing.WorkloadResult` (sizing section).
    hours_per_rep
        Selling hours of one rep, for the reps-needed table.
    headcount
        A :class:`~terrakit.sizing.HeadcountCurve`.
    potential
        A :class:`~terrakit.potential.PotentialResult` at unit level (the
        KPI tables then add ``potential_model`` and ``penetration_model``
        beside the units' input column ``potential``; see
        :meth:`kpi_table`).
    forecast
        A :class:`~terrakit.forecast.TerritoryForecast` (``f.by(alignment)``)
        of one of the reported alignments (usually the primary, or the
        baseline): its territories are checked against theirs.
    quotas
        A :class:`~terrakit.forecast.QuotaResult` (``tk.forecast.quota``) or
        a :class:`~terrakit.sizing.QuotaResult` (``tk.sizing.quotas``) of one
        of the reported alignments, checked likewise; the Quotas section
        names the alignment (the one the quotas record, see Warns).
    call_plan
        A :class:`~terrakit.routing.CallPlan` of one territory
        (``tk.routing.plan_calls``).  A call allocation
        (:func:`terrakit.sizing.allocate_calls`) has no section of its own:
        put its ``summary()`` in ``notes``.
    notes
        Extra method notes ``{heading: text}`` (e.g. the data sources).
    provenance
        Extra facts for the provenance section (e.g. the run configuration).
    adjacency
        The unit graph the alignments were made on, on which the comparison
        counts territories in more than one piece (e.g.
        ``tk.data.geo.adjacency(units, snap_m=500)`` when the design snapped
        gaps between units); default: the graph of the units as they touch.

    Raises
    ------
    DataValidationError
        When an alignment is unknown to the study, does not cover its units,
        or two alignments share a name; when ``alignments`` is empty; when a
        measure is not a unit column; when none of the territories of
        ``forecast`` or ``quotas`` is a territory of a reported alignment
        (they were made for another alignment).
    TypeError
        When a result is not of the type named above (e.g. a
        :class:`terrakit.sizing.CallPlan` as ``call_plan``).
    ValueError
        When ``tolerance`` is not in (0, 1) or ``hours_per_rep`` is not a
        positive finite number.

    Warns
    -----
    TerrakitWarning
        When only some territories of ``forecast`` or ``quotas`` are in none
        of the reported alignments (named in the warning); when the quotas
        were set for an alignment that is not reported (their
        ``provenance["alignment"]``), or their sales per territory are not
        those of the alignment they name (or, without that record, of any
        reported alignment with their territory ids): the Quotas section
        then says whose they are.

    Notes
    -----
    A hand edit (:meth:`Alignment.replace`) keeps the provenance of the
    alignment it was made from and counts its ``edits``; the provenance
    table then lists those inherited entries under ``alignment <name> as
    designed, before N edits`` (they describe the parent, not the edit), and
    the method notes call it hand edits of that method.

    Examples
    --------
    >>> report = StudyReport(study, ["current", proposed])  # doctest: +SKIP
    >>> report.save("report.html"); report.to_excel("report.xlsx")  # doctest: +SKIP
    """

    study: Any
    alignments: Sequence[Alignment | str] | None = None
    title: str | None = None
    measures: Sequence[str] = DEFAULT_MEASURES
    tolerance: float = 0.05
    workload: Any = None
    hours_per_rep: float = 1_600.0
    headcount: Any = None
    potential: Any = None
    forecast: Any = None
    quotas: Any = None
    call_plan: Any = None
    notes: Mapping[str, str] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    adjacency: Any = None

    def __post_init__(self) -> None:
        study = self.study
        if not hasattr(study, "units") or not hasattr(study, "alignments"):
            raise TypeError(
                f"study must be a terrakit Study, got {type(study).__name__}"
            )
        given: Any = (
            list(study.alignments) if self.alignments is None else self.alignments
        )
        if isinstance(given, (str, Alignment)):
            given = [given]  # one alignment, not a sequence of names' letters
        als: list[Alignment] = []
        for a in given:
            if isinstance(a, str):
                if a not in study.alignments:
                    raise DataValidationError(
                        "alignments",
                        None,
                        f"the study has no alignment {a!r} "
                        f"(it has {list(study.alignments)})",
                        fix="pass an Alignment object or one of the study's names",
                    )
                a = study.alignments[a]
            if not isinstance(a, Alignment):
                raise TypeError(
                    f"alignments must be Alignment objects or names, got "
                    f"{type(a).__name__}"
                )
            missing = study.units.index.difference(a.assignment.index)
            if len(missing):
                raise DataValidationError(
                    "alignment",
                    "unit_id",
                    f"alignment {a.name!r} leaves {_plural(len(missing), 'unit')} "
                    "of the study "
                    "without a territory",
                    rows=list(missing),
                    fix="report alignments made for this study's units",
                )
            als.append(a)
        if not als and len(study.alignments):
            # an empty list is not the default (None: every alignment)
            raise DataValidationError(
                "alignments",
                None,
                f"the alignments passed are an empty {type(given).__name__}; a "
                "report needs at least one (the study has "
                f"{list(study.alignments)})",
                fix="name some of them, e.g. alignments=["
                f"{next(iter(study.alignments))!r}], or leave alignments out "
                "(None) to report every alignment of the study",
            )
        if not als:
            raise DataValidationError(
                "alignments",
                None,
                "a report needs at least one alignment and the study has none",
                fix="pass alignments=[...] or add one with study.with_alignment()",
            )
        names = [a.name for a in als]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise DataValidationError(
                "alignments",
                "name",
                f"alignment names repeat: {dup}",
                rows=dup,
                fix="give every alignment its own name (alignment.rename('...'))",
            )
        if not 0 < float(self.tolerance) < 1:
            raise ValueError(
                f"tolerance must be in (0, 1), got {self.tolerance!r}; 0.05 = ±5 %"
            )
        hours = self.hours_per_rep
        if (
            isinstance(hours, bool)
            or not isinstance(hours, (int, float, np.integer, np.floating))
            or not (np.isfinite(hours) and hours > 0)
        ):
            raise ValueError(
                "hours_per_rep must be a positive, finite number of selling hours "
                f"a year, got {hours!r}; e.g. hours_per_rep=1600"
            )
        _check_results(self)
        measures = _report_measures(study, self.measures)
        object.__setattr__(self, "alignments", tuple(als))
        object.__setattr__(self, "measures", measures)
        object.__setattr__(self, "notes", dict(self.notes))
        object.__setattr__(self, "provenance", dict(self.provenance))
        _check_territories(self)
        _check_quota_alignment(self)

    # -- properties --------------------------------------------------------------------
    @property
    def aligned(self) -> tuple[Alignment, ...]:
        """The reported alignments, as objects, in order."""
        return tuple(self.alignments)  # type: ignore[arg-type]

    @property
    def baseline(self) -> Alignment:
        """The first alignment: what disruption is measured against."""
        return self.aligned[0]

    @property
    def primary(self) -> Alignment:
        """The last alignment: the proposal."""
        return self.aligned[-1]

    @property
    def page_title(self) -> str:
        if self.title:
            return str(self.title)
        name = self.study.metadata.get("name")
        return f"Territory study — {name}" if name else "Territory study"

    def section_ids(self) -> list[str]:
        """Ids of the sections this report has, in page order."""
        have = {
            "summary": True,
            "maps": True,
            "balance": True,
            "kpis": True,
            "comparison": len(self.aligned) > 1,
            "sizing": self.workload is not None or self.headcount is not None,
            "potential": self.potential is not None,
            "forecast": self.forecast is not None,
            "quotas": self.quotas is not None,
            "routing": self.call_plan is not None,
            "methods": True,
            "provenance": True,
        }
        return [k for k in SECTIONS if have[k]]

    def summary(self) -> str:
        """Rounded, stable text: what the report holds (no timings, no dates)."""
        f = dict(self._summary_items())
        lines = [
            f"StudyReport: {f['title']}",
            f"  {_plural(f['units'], 'unit')}, {_plural(f['accounts'], 'account')}, "
            f"{_plural(f['reps'], 'rep')}",
            "  alignments: "
            + ", ".join(f"{a.name} ({a.n_territories})" for a in self.aligned),
            f"  primary: {f['primary alignment']}; baseline: {f['baseline alignment']}",
            f"  sections: {f['sections']}",
        ]
        return "\n".join(lines)

    def _summary_items(self) -> list[tuple[str, Any]]:
        """What :meth:`summary` states, as ``(item, value)`` pairs.

        ``title``, ``units``, ``accounts``, ``reps`` (counts, 0 where the
        study has no such table), ``alignments`` (names with their number of
        territories), ``primary alignment``, ``baseline alignment`` and
        ``sections``; the Summary sheet of :meth:`to_excel`.
        """
        s = self.study
        return [
            ("title", self.page_title),
            ("units", len(s.units)),
            ("accounts", 0 if s.accounts is None else len(s.accounts)),
            ("reps", 0 if s.reps is None else len(s.reps)),
            (
                "alignments",
                ", ".join(
                    f"{a.name} ({_territories(a.n_territories)})" for a in self.aligned
                ),
            ),
            ("primary alignment", self.primary.name),
            ("baseline alignment", self.baseline.name),
            ("sections", ", ".join(self.section_ids())),
        ]

    # -- tables (shared by HTML and Excel) ---------------------------------------------
    def balance_table(self) -> pd.DataFrame:
        """Balance of every measure under every alignment (long form)."""
        from terrakit import metrics

        frames = []
        for a in self.aligned:
            b = metrics.balance(self.study, a, measures=list(self.measures))
            b.insert(0, "alignment", a.name)
            frames.append(b.reset_index())
        return pd.concat(frames, ignore_index=True)

    def kpi_table(self, alignment: Alignment | None = None) -> pd.DataFrame:
        """Territory KPIs of one alignment (default: the primary), with rep names.

        ``potential`` and ``penetration`` (sales ÷ potential) come from the
        units' input column ``potential`` (see
        :func:`terrakit.metrics.territory_kpis`).  With a unit-level
        ``potential`` result the table adds ``potential_model`` — the
        model's posterior-mean potential summed over the territory's units,
        as in the Market potential section (NaN for a territory with a unit
        the fit does not cover) — and ``penetration_model`` (sales ÷
        ``potential_model``).  Columns without any data are left out.
        """
        from terrakit import metrics
        from terrakit.report.tables import _rep_names

        al = self.primary if alignment is None else alignment
        k = metrics.territory_kpis(self.study, al)
        reps = self.study.reps
        if reps is not None and "name" in reps.columns:
            # territory '7' is rep 7's, as in the assignment sheets
            _, names = _rep_names(self.study, pd.Series(k.index, index=k.index))
            k.insert(0, "rep_name", names.astype(object))
        k = k.drop(columns=[c for c in k.columns if k[c].isna().all()])
        model = self._model_potential(al)
        if model is not None:
            pot = model.reindex(k.index)
            sales = k["sales"] if "sales" in k.columns else np.nan
            with np.errstate(divide="ignore", invalid="ignore"):
                pen = sales / pot.where(pot > 0)
            after = "potential" if "potential" in k.columns else "sales"
            at = k.columns.get_loc(after) + 1 if after in k.columns else len(k.columns)
            k.insert(int(at), "potential_model", pot)
            after = "penetration" if "penetration" in k.columns else "potential_model"
            k.insert(int(k.columns.get_loc(after)) + 1, "penetration_model", pen)
            k = k.drop(columns=[c for c in k.columns if k[c].isna().all()])
        return k

    def _model_potential(self, alignment: Alignment) -> pd.Series | None:
        """The potential model's posterior mean summed per territory (unit fits).

        ``None`` without a unit-level ``potential`` result.  A territory with a
        unit the fit does not cover gets NaN (a partial sum would understate it).
        """
        res = self.potential
        if res is None or getattr(res, "level", None) != "unit":
            return None
        units = self.study.units.index
        mean = res.to_frame()["potential_mean"].astype(float)
        per_unit = mean.reindex(units)
        labels = alignment.assignment.reindex(units)
        total = per_unit.groupby(labels).sum()
        uncovered = per_unit.isna().groupby(labels).any()
        return total.where(~uncovered.reindex(total.index, fill_value=True))

    def comparison_table(self) -> pd.DataFrame:
        """:func:`~terrakit.report.tables.compare_alignments` of the alignments."""
        from terrakit.report.tables import compare_alignments

        return compare_alignments(
            self.study,
            self.aligned,
            self.measures,
            baseline=self.baseline,
            adjacency=self.adjacency,
        )

    def _has_account_assignments(self) -> bool:
        """Whether the workbook has an ``Account assignments`` sheet (a study
        with accounts joined to units)."""
        acc = self.study.accounts
        return acc is not None and "unit_id" in acc.columns

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the report, by sheet name (what :meth:`to_excel` writes)."""
        from terrakit.report.tables import account_assignments, unit_assignments

        s = self.study
        out: dict[str, pd.DataFrame] = {}
        out["Summary"] = pd.DataFrame(
            self._summary_items(), columns=["item", "value"], dtype=object
        )
        if self._has_account_assignments():
            prev = self.baseline if self.primary is not self.baseline else None
            out["Account assignments"] = account_assignments(
                s, self.primary, previous=prev
            )
        out["Unit assignments"] = unit_assignments(s, self.aligned, self.primary)
        out["Balance"] = self.balance_table()
        for a in self.aligned:
            # the sheet name is cut to 31 characters: the rows say whose they are
            kpis = self.kpi_table(a).reset_index()
            kpis.insert(0, "alignment", a.name)
            out[f"KPIs {a.name}"] = kpis
        if len(self.aligned) > 1:
            out["Comparison"] = self.comparison_table().reset_index()
        if self.workload is not None:
            out["Workload"] = self.workload.by_segment().reset_index()
            out["Reps needed"] = (
                self.workload.reps_needed(hours_per_rep=self.hours_per_rep)
                .to_frame()
                .reset_index()
            )
        if self.headcount is not None:
            out["Headcount curve"] = self.headcount.to_frame().reset_index()
        if self.potential is not None:
            out["Potential"] = self.potential.to_frame().reset_index()
        if self.forecast is not None:
            out["Forecast totals"] = self.forecast.total().reset_index()
            # months stay periods: the workbook writes them as dates (yyyy-mm)
            out["Forecast monthly"] = self.forecast.to_frame()
        if self.quotas is not None:
            out["Quotas"] = self.quotas.to_frame().reset_index()
        if self.call_plan is not None:
            out["Call schedule"] = self.call_plan.schedule.reset_index()
            out["Routes"] = self.call_plan.routes.reset_index(drop=True)
        out["Provenance"] = self.provenance_table()
        return out

    def provenance_table(self) -> pd.DataFrame:
        """Where every number came from: ``source``, ``key``, ``value``.

        ``report`` rows give the versions and the report's own settings
        (``measures``, ``tolerance`` and, with a workload, the
        ``hours_per_rep`` of the Reps needed table).  An alignment's
        provenance is under ``alignment <name>``; for a hand edit whose
        provenance records ``edits``, everything but ``edits`` is the
        parent's and is under ``alignment <name> as designed, before N
        edits``.  The provenance of every result (workload, headcount curve,
        forecast, quotas, call plan: seed, configuration, versions) is
        copied under its name; the potential fit's method, seed, level and
        config hash under ``potential``.
        """
        from terrakit import __version__

        rows: list[tuple[str, str, str]] = [
            ("report", "terrakit_version", __version__),
            ("report", "python", platform.python_version()),
            ("report", "numpy", np.__version__),
            ("report", "pandas", pd.__version__),
            # the settings the report's own figures depend on
            ("report", "measures", _json(list(self.measures))),
            ("report", "tolerance", _json(float(self.tolerance))),
        ]
        if self.workload is not None:  # it sets the Reps needed table
            rows.append(("report", "hours_per_rep", _json(float(self.hours_per_rep))))
        for k, v in self.study.metadata.items():
            if k in ("true_parameters",):
                continue
            rows.append(("study metadata", str(k), _json(v)))
        for a in self.aligned:
            own = f"alignment {a.name}"
            edits = _edits(a)
            # a hand edit keeps the provenance of the alignment it was made
            # from: those entries (method, measured balance, ...) are the
            # parent's as designed, not this alignment's
            parent = (
                f"{own} as designed, before {_plural(edits, 'edit')}" if edits else own
            )
            for k, v in a.provenance.items():
                src = own if k == "edits" else parent
                rows.append((src, str(k), _json(v)))
        for label, obj in (
            ("workload", self.workload),
            ("headcount curve", self.headcount),
            ("call plan", self.call_plan),
        ):
            for k, v in _provenance_of(obj).items():
                rows.append((label, str(k), _json(v)))
        if self.potential is not None:
            p = self.potential
            for k in ("method", "seed", "level", "config_hash"):
                v = getattr(p, k, None)
                if v is not None:
                    rows.append(("potential", k, _json(v)))
            check = _advi_check(p)
            if check is not None:
                rows.append(("potential", "advi_check", _compact_json(check)))
        if self.forecast is not None:
            tf = self.forecast
            rows.append(("forecast", "alignment", str(tf.alignment_name)))
            rows.append(("forecast", "draws", str(tf.draws.sizes["draw"])))
            for k, v in _provenance_of(tf).items():
                if k == "alignment" and v == tf.alignment_name:
                    continue  # the row above
                rows.append(("forecast", str(k), _json(v)))
        if self.quotas is not None:
            for k, v in _provenance_of(self.quotas).items():
                rows.append(("quotas", str(k), _json(v)))
        for k, v in self.provenance.items():
            rows.append(("run", str(k), _json(v)))
        return pd.DataFrame(rows, columns=["source", "key", "value"])

    # -- sections ----------------------------------------------------------------------
    def sections(self) -> list[Section]:
        """Render every section this report has (figures are drawn here)."""
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "cairo"):
            import matplotlib.pyplot as plt

            plt.switch_backend("Agg")
        build = {
            "summary": self._summary,
            "maps": self._maps,
            "balance": self._balance,
            "kpis": self._kpis,
            "comparison": self._comparison,
            "sizing": self._sizing,
            "potential": self._potential,
            "forecast": self._forecast,
            "quotas": self._quotas,
            "routing": self._routing,
            "methods": self._methods,
            "provenance": self._provenance,
        }
        return [Section(k, SECTIONS[k], build[k]()) for k in self.section_ids()]

    def _summary(self) -> str:
        from terrakit import metrics

        s = self.study
        facts = [
            ("Units", f"{len(s.units):,}"),
            ("Accounts", "–" if s.accounts is None else f"{len(s.accounts):,}"),
            ("Reps", "–" if s.reps is None else f"{len(s.reps):,}"),
        ]
        if s.history is not None and "period" in s.history.columns:
            per = s.history["period"]
            facts.append(("Sales history", f"{per.min()} to {per.max()}"))
        facts.append(("Alignments reported", ", ".join(a.name for a in self.aligned)))
        head = "".join(
            f'<tr><th class="text">{_esc(k)}</th><td class="text">{_esc(v)}</td></tr>'
            for k, v in facts
        )
        m0 = self.measures[0]
        bullets = []
        for a in self.aligned:
            b = metrics.balance(s, a, measures=[m0])
            dev = float(b.loc[m0, "max_rel_dev"])
            # NaN where the mean is 0: no deviation from it can be stated
            said = (
                _fmt_number(dev, 1, percent=True)
                if np.isfinite(dev)
                else f"undefined ({m0} totals 0)"
            )
            bullets.append(
                f"<li><b>{_esc(a.name)}</b>: {_territories(a.n_territories)}; "
                f"largest {_esc(m0)} deviation from the mean {_esc(said)}.</li>"
            )
        if self.primary is not self.baseline:
            d = metrics.disruption(s, self.baseline, self.primary)
            share = d.get("accounts_moved_share", np.nan)
            txt = _plural(int(d["units_moved"]), "unit")
            if np.isfinite(share):
                txt += f" ({100 * share:.1f} % of the accounts)"
            bullets.append(
                f"<li>Moving from <b>{_esc(self.baseline.name)}</b> to "
                f"<b>{_esc(self.primary.name)}</b> changes the territory of "
                f"{_esc(txt)}.</li>"
            )
        if self.headcount is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TerrakitWarning)
                best = self.headcount.best()
            bullets.append(f"<li>Sizing: {_esc(best.summary())}.</li>")
        elif self.workload is not None:
            need = self.workload.reps_needed(hours_per_rep=self.hours_per_rep)
            bullets.append(
                f"<li>Workload build-up: {need.total:.1f} full-time reps "
                f"({self.workload.total_hours:,.0f} hours a year).</li>"
            )
        if self.forecast is not None:
            tot = self.forecast.draws.sum(("territory", "period")).to_numpy()
            lo, med, hi = np.quantile(tot, [0.1, 0.5, 0.9])
            h = int(self.forecast.draws.sizes["period"])
            months = "month" if h == 1 else f"{h} months"
            bullets.append(
                f"<li>Forecast sales over the next {months}: median {med:,.0f} "
                f"(80 % interval {lo:,.0f} to {hi:,.0f}).</li>"
            )
        # the account assignments are promised only where the workbook has them
        crm = (
            " and the account assignments ready to load into a CRM"
            if self._has_account_assignments()
            else ""
        )
        return (
            _scroll(f"<table>{head}</table>")
            + f"<ul>{''.join(bullets)}</ul>"
            + _p(
                "Figures are rounded for reading; the Excel workbook holds the "
                f"full tables{crm}.",
                "note",
            )
        )

    def _maps(self) -> str:
        from terrakit import plot

        figs = []
        for a in self.aligned:
            figs.append(
                _figure(
                    partial(plot.territory_map, self.study, a),
                    f"Alignment {a.name}: {_territories(a.n_territories)}",
                    (7, 6),
                    dpi=90,
                )
            )
        return f'<div class="grid">{"".join(figs)}</div>'

    def _balance(self) -> str:
        from terrakit import plot

        m0 = self.measures[0]
        figs = []
        for a in self.aligned:
            try:
                figs.append(
                    _figure(
                        partial(
                            plot.balance_chart,
                            self.study,
                            a,
                            measure=m0,
                            tolerance=self.tolerance,
                        ),
                        f"{m0} per territory, alignment {a.name} "
                        f"(band ±{100 * self.tolerance:g} % of the mean)",
                        _balance_size(a),
                        dpi=90,
                    )
                )
            except SpecificationError as exc:  # a measure that totals 0: no chart
                figs.append(_p(f"No balance chart of {a.name}: {exc}.", "note"))
        bal = self.balance_table().set_index(["alignment", "measure"])
        return (
            _p(
                "max_rel_dev is the largest deviation of a territory from the mean; "
                "cv the coefficient of variation; gini the Gini coefficient "
                "(0 = perfectly even)."
            )
            + _report_table(bal)
            + f'<div class="grid">{"".join(figs)}</div>'
        )

    def _kpi_note(self, columns: Sequence[str]) -> str:
        """What the potential columns of the KPI table are (empty without any)."""
        parts = []
        if "potential" in columns:
            parts.append(
                "potential is the units table's input column potential summed per "
                "territory (the study's own figure, not the potential model's "
                "estimate); penetration = sales ÷ that potential."
            )
        if "potential_model" in columns:
            parts.append(
                "potential_model is the potential model's posterior-mean potential "
                "summed over the territory's units (as in the Market potential "
                "section); penetration_model = sales ÷ potential_model."
            )
        return _p(" ".join(parts), "note") if parts else ""

    def _kpis(self) -> str:
        first = self.kpi_table()
        body = (
            self._kpi_note(list(first.columns))
            + f"<h3>{_esc(self.primary.name)}</h3>"
            + _report_table(first)
        )
        for a in self.aligned[:-1]:
            body += (
                f"<details><summary>KPIs of {_esc(a.name)}</summary>"
                + _report_table(self.kpi_table(a))
                + "</details>"
            )
        return body

    def _comparison(self) -> str:
        df = self.comparison_table()
        return _p(
            f"Each alignment against the baseline {self.baseline.name!r}: "
            "balance, compactness (moment of inertia: lower is more compact; "
            "Polsby–Popper: 1 is a disc), territories in more than one piece, "
            "mean distance to the rep's home and what moves."
        ) + _report_table(df, transpose=True)

    def _sizing(self) -> str:
        from terrakit import plot

        body = ""
        if self.workload is not None:
            need = self.workload.reps_needed(hours_per_rep=self.hours_per_rep)
            body += (
                "<h3>Workload build-up</h3>"
                + _p(f"Travel per call: {self.workload.travel}.")
                + _report_table(self.workload.by_segment())
                + _p(
                    f"At {self.hours_per_rep:,.0f} selling hours per rep the "
                    f"workload needs {need.total:.1f} full-time reps "
                    f"({need.reps} when rounded up)."
                )
                + _report_table(need.to_frame())
            )
        if self.headcount is not None:
            hc = self.headcount
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TerrakitWarning)
                best = hc.best()
            body += (
                "<h3>Headcount curve</h3>"
                + _figure(
                    lambda ax: plot.headcount_curve(hc, ax=ax),
                    "Expected profit against the number of reps, with 80 % and "
                    "95 % credible bands",
                    (8, 4),
                )
                + _p(best.summary())
            )
            df = hc.to_frame()
            # about a dozen sizes, always with the best and the largest tried
            step = max(1, len(df) // 12)
            rows = set(range(0, len(df), step)) | {len(df) - 1}
            rows |= set(np.flatnonzero(df.index == best.reps).tolist())
            cols = [c for c in ("sales", "profit", "profit_10%", "profit_90%")]
            body += _report_table(df.iloc[sorted(rows)][cols])
        return body

    def _potential(self) -> str:
        from terrakit import plot

        res = self.potential
        body = _pre(res.summary())
        if getattr(res, "level", "unit") == "unit":
            body += '<div class="grid">'
            maps: list[tuple[Literal["potential_mean", "penetration"], str]] = [
                ("potential_mean", "Posterior-mean potential per unit"),
                ("penetration", "Penetration: sales ÷ potential"),
            ]
            for col, cap in maps:
                body += _figure(
                    partial(plot.potential_map, res, self.study, column=col),
                    cap,
                    (7, 6),
                    dpi=90,
                )
            body += "</div>"
        df = res.to_frame()
        if "whitespace" in df.columns:
            top = df.sort_values("whitespace", ascending=False).head(15)
            units = self.study.units
            if "name" in units.columns and top.index.isin(units.index).all():
                top.insert(0, "name", units.loc[top.index, "name"].to_numpy())
            body += "<h3>Largest whitespace (potential − sales)</h3>" + _report_table(
                top
            )
        return body

    def _forecast(self) -> str:
        from terrakit import plot

        tf = self.forecast
        # a month no territory was observed in stays unobserved, not 0 sales
        total = tf.combined("all")
        tot = tf.total()
        big = tot["mean"].idxmax()
        figs = (
            '<div class="grid">'
            + _figure(
                lambda ax: plot.forecast(total, "all", ax=ax),
                "Company sales: history, forecast mean, 80 % and 95 % intervals",
                (8, 4),
            )
            + _figure(
                lambda ax: plot.forecast(tf, big, ax=ax),
                f"Largest territory by forecast sales: {big}",
                (8, 4),
            )
            + "</div>"
        )
        return (
            _p(
                f"Forecast sales per territory of {tf.alignment_name!r} summed over "
                f"the {tf.draws.sizes['period']}-month horizon; intervals are "
                "posterior quantiles of the summed draws."
            )
            + figs
            + _report_table(tot)
        )

    def _quotas(self) -> str:
        q = self.quotas
        # the table below is the summary's table: one header line, not both
        total = getattr(q, "company_target", getattr(q, "total", None))
        head = f"{self._quota_owner()} Method: {getattr(q, 'method', '?')}"
        if total is not None and np.isfinite(total):
            head += f"; company target {float(total):,.0f}"
        return _p(head + ".") + _report_table(q.to_frame())

    def _quota_owner(self) -> str:
        """Which alignment's territories the quotas are for, in a sentence.

        The alignment the quotas record (``provenance["alignment"]``, as
        :func:`terrakit.forecast.quota` and :func:`terrakit.sizing.quotas`
        write it), else the reported alignments whose territories they are;
        see :func:`_quota_alignment`.
        """
        return _quota_alignment(self)[0]

    def _routing(self) -> str:
        from terrakit import plot

        plan = self.call_plan
        return (
            _figure(
                lambda ax: plot.routes(plan, self.study, ax=ax),
                f"Routes of territory {plan.territory} over the cycle",
                (7, 7),
                dpi=90,
            )
            + _pre(plan.summary())
            + "<h3>Days of the cycle</h3>"
            + _report_table(plan.day_table)
        )

    def _methods(self) -> str:
        kpi_text = (
            "Territory totals are sums of unit measures (accounts, workload in "
            "hours a year, sales of the last 12 months, potential — the units "
            "table's input column, not the potential model's estimate; "
            "penetration = sales ÷ that potential)."
        )
        if getattr(self.potential, "level", None) == "unit":
            kpi_text += (
                " potential_model sums the potential model's posterior-mean "
                "potential of the territory's units; penetration_model = sales ÷ "
                "potential_model."
            )
        notes: list[tuple[str, str]] = [
            (
                "Balance and KPIs",
                kpi_text + " Growth compares the last 12 months of history with "
                "the 12 before. Distances are geodesic from each unit's "
                "representative point to the rep's home.",
            )
        ]
        methods = sorted({_method(a) for a in self.aligned})
        notes.append(
            (
                "Alignments",
                "Methods of the reported alignments: "
                + ", ".join(methods)
                + ". Designed alignments minimise activity-weighted squared "
                "distance to the rep's home subject to hard balance bands "
                "(±τ of the mean) and contiguity, solved by a MIP (HiGHS) with a "
                "proven lower bound or by a heuristic (balanced transportation "
                "assignment, contiguity repair, local search) whose gap to a "
                "lower bound is reported. Rebalanced alignments start from "
                "today's and move as little as possible (at most the given "
                "share of sales) to meet the bands.",
            )
        )
        if self.workload is not None or self.headcount is not None:
            notes.append(
                (
                    "Sizing",
                    "Workload = Σ calls a year × (minutes per call + travel per "
                    "call) ÷ 60; reps needed = workload ÷ selling hours per rep. "
                    "The headcount curve spreads n reps' hours over segments "
                    "along Bayesian Hill (ADBUDG) response curves fitted to the "
                    "history of calls and sales; profit = margin × sales − cost "
                    "per rep × n, with posterior bands.",
                )
            )
        if self.potential is not None:
            notes.append(("Market potential", _potential_method(self.potential)))
        if self.forecast is not None:
            notes.append(
                (
                    "Forecast",
                    "A hierarchical Bayesian model per unit: level, damped trend, "
                    "yearly seasonality and AR(1) residuals, partially pooled by "
                    "region. Territory forecasts sum the units' posterior draws, "
                    "so intervals are exact for any alignment.",
                )
            )
        if self.quotas is not None:
            notes.append(
                (
                    "Quotas",
                    "Targets split the company target by potential (or by "
                    "last year's sales × growth); P(attain) is the posterior "
                    "probability that forecast sales reach the target.",
                )
            )
        if self.call_plan is not None:
            notes.append(
                (
                    "Call plan",
                    "Visits per cycle follow each account's calls a year; visit "
                    "days are spread evenly and balanced, then every day is "
                    "routed from the rep's home and back (vehicle routing with "
                    "working hours, lunch break and time windows). Visits that "
                    "do not fit are listed, never dropped silently.",
                )
            )
        notes.extend(self.notes.items())
        return "".join(f"<h3>{_esc(h)}</h3>{_p(t)}" for h, t in notes)

    def _provenance(self) -> str:
        now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
        return _p(f"Report generated {now}.") + _report_table(
            self.provenance_table(), index=False, max_rows=500
        )

    # -- output ------------------------------------------------------------------------
    def to_html(self) -> str:
        """The whole page as text (self-contained: CSS and images inline)."""
        secs = self.sections()
        nav = "".join(f'<a href="#{s.id}">{_esc(s.title)}</a>' for s in secs)
        body = "".join(
            f'<section id="{s.id}"><h2>{_esc(s.title)}</h2>{s.body}</section>'
            for s in secs
        )
        title = _esc(self.page_title)
        sub = _esc(
            _plural(len(self.study.units), "unit", thousands=True)
            + " · "
            + ", ".join(a.name for a in self.aligned)
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{title}</h1><p>{sub}</p></header>"
            f"<nav>{nav}</nav><main>{body}</main></body></html>\n"
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the HTML page; returns the path.

        The page is written to a temporary file next to ``path`` and moved
        into place when complete: a failed save leaves an existing report as
        it was.

        Raises
        ------
        ValueError
            When ``path`` does not end in ``.html`` (or ``.htm``).
        """
        p = _output_path(path, (".html", ".htm"), "report.html", "an HTML page")
        page = self.to_html()
        with _replacing(p) as tmp:
            tmp.write_text(page, encoding="utf-8")
        return p

    def to_excel(self, path: str | os.PathLike[str]) -> Path:
        """Write one sheet per table (see :meth:`tables`); returns the path.

        The ``Account assignments`` sheet (one row per account: ``account_id``,
        ``unit_id``, ``territory_id``, ``rep_id``, ``rep_name``, the current
        owner and whether it changes) is ready to load into a CRM.  Months
        (the forecast's ``period``) are Excel dates, the first of the month,
        shown ``yyyy-mm``.  The workbook is written to a temporary file and
        moved into place when complete, so a failure never leaves a
        half-written workbook.

        Raises
        ------
        ValueError
            When ``path`` does not end in ``.xlsx`` (a ``.xlsm`` workbook
            must hold macros, and the report has none).
        PermissionError
            When the folder of ``path`` is not writable.

        Warns
        -----
        TerrakitWarning
            When a text holds characters a workbook cannot store (control
            characters such as a vertical tab pasted from a CRM export):
            they are removed, and the warning names the sheet, the column
            and the first rows.
        """
        p = Path(path)
        if p.suffix.lower() == ".xlsm":
            raise ValueError(
                f"the report workbook has no macros, and Excel refuses to open a "
                f"macro-free workbook named .xlsm; got {p.name!r}: use a .xlsx "
                f"path (e.g. {str(p.with_suffix('.xlsx'))!r})"
            )
        p = _output_path(path, (".xlsx",), "report.xlsx", "an Excel workbook")
        return self._write_excel(p, self._excel_sheets())

    def _write_excel(
        self,
        p: Path,
        sheets: list[tuple[str, str, pd.DataFrame, pd.DataFrame, dict[int, str]]],
    ) -> Path:
        """Write the sheets of :meth:`_excel_sheets` to the checked path ``p``."""
        plain = self._user_named_columns()
        with _replacing(p) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for name, sheet, df, out, dates in sheets:
                out.to_excel(xw, sheet_name=sheet, index=False)
                ws = xw.sheets[sheet]
                ws.freeze_panes = "A2"
                for k, orig in enumerate(df.columns, start=1):
                    col = out.columns[k - 1]
                    width = min(40, max(10, len(str(col)) + 2))
                    ws.column_dimensions[ws.cell(1, k).column_letter].width = width
                    fmt = dates.get(k - 1) or _excel_format(
                        str(orig),
                        out.iloc[:, k - 1],
                        percent=False if orig in plain.get(name, ()) else None,
                    )
                    cells = ws.iter_rows(
                        min_row=2 if fmt else 1,
                        max_row=len(out) + 1 if fmt else ws.max_row,
                        min_col=k,
                        max_col=k,
                    )
                    for (cell,) in cells:
                        if fmt and cell.data_type in ("n", "d"):
                            cell.number_format = fmt
                        excel_text(cell)
                    excel_text(ws.cell(1, k))
        return p

    def _excel_sheets(
        self,
    ) -> list[tuple[str, str, pd.DataFrame, pd.DataFrame, dict[int, str]]]:
        """The workbook's sheets as :meth:`to_excel` writes them, without writing.

        One ``(table name, sheet name, table, frame as written, date formats)``
        per table of :meth:`tables` (see :func:`_excel_frame`); it warns, as
        :meth:`to_excel` does, about text a workbook cannot store, so a caller
        (``terrakit run``) can list those warnings in the report before it is
        written.
        """
        taken: set[str] = set()
        out = []
        for name, df in self.tables().items():
            sheet = _sheet_name(name, taken)
            out.append((name, sheet, df, *_excel_frame(df, sheet)))
        return out

    def _user_named_columns(self) -> dict[str, frozenset[Any]]:
        """Number columns named from user data that are not fractions, by table.

        The headcount curve's ``calls_<segment>`` (calls a year per segment):
        a segment named e.g. ``Growth`` or ``cv`` must not make them
        percentages (see :func:`_is_percent`).
        """
        out: dict[str, frozenset[Any]] = {}
        if self.headcount is not None:
            out["Headcount curve"] = frozenset(
                f"calls_{s}" for s in self.headcount.segments
            )
        return out


#: Excel number formats of dates by period frequency (default ``yyyy-mm-dd``).
_PERIOD_FORMATS = {"M": "yyyy-mm", "Y": "yyyy", "A": "yyyy"}

#: How many rows a warning about removed characters names.
_SHOWN_ROWS = 5


def _excel_frame(df: pd.DataFrame, sheet: str) -> tuple[pd.DataFrame, dict[int, str]]:
    """``df`` as written to a sheet, and the date formats of its period columns.

    Period columns become timestamps (the start of each period) with the
    format of :data:`_PERIOD_FORMATS` (by position of the column).  Text
    that a workbook cannot store (control characters, see
    ``openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE``) is removed from cells and
    column names, with a :class:`~terrakit.exceptions.TerrakitWarning`
    naming the sheet, the column and the first rows (Excel row numbers and
    the ids of the sheet's first ``*_id`` column, or of its first column).
    """
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE as bad

    out = df.copy()
    dates: dict[int, str] = {}
    names = list(out.columns)
    cols = [str(c) for c in df.columns]
    key = next((k for k, c in enumerate(cols) if c == "id" or c.endswith("_id")), 0)
    fix = (
        "; clean the input table (e.g. a vertical tab pasted from a CRM export) "
        "to keep the text as it is"
    )
    for k, c in enumerate(df.columns):
        col = out.iloc[:, k]
        if isinstance(col.dtype, pd.PeriodDtype):
            code = col.dtype.freq.freqstr.lstrip("0123456789")[:1]
            dates[k] = _PERIOD_FORMATS.get(code, "yyyy-mm-dd")
            out.isetitem(k, col.dt.to_timestamp(how="start"))
            continue
        if isinstance(c, str) and bad.search(c):
            names[k] = bad.sub("", c)
            warnings.warn(
                f"Excel workbook, sheet {sheet!r}: the column name {c!r} holds "
                "control characters a workbook cannot store; it is written as "
                f"{names[k]!r}" + fix,
                TerrakitWarning,
                stacklevel=4,
            )
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        vals = col.astype(object)
        hit = vals.map(lambda v: isinstance(v, str) and bad.search(v) is not None)
        if not hit.any():
            continue
        out.isetitem(k, vals.map(lambda v: bad.sub("", v) if isinstance(v, str) else v))
        pos = np.flatnonzero(hit.to_numpy(dtype=bool))
        shown = pos[:_SHOWN_ROWS]
        rows = ", ".join(str(i + 2) for i in shown)
        if k != key:
            ids = ", ".join(repr(df.iloc[i, key]) for i in shown)
            rows += f": {cols[key]} {ids}"
        more = f", and {len(pos) - len(shown)} more" if len(pos) > len(shown) else ""
        chars = sorted({ch for v in vals[hit] for ch in bad.findall(v)})
        warnings.warn(
            f"Excel workbook, sheet {sheet!r}, column {c!r}: removed control "
            f"characters a workbook cannot store ({', '.join(map(repr, chars))}) "
            f"from {len(pos)} cell{'s' if len(pos) > 1 else ''} "
            f"(row{'s' if len(pos) > 1 else ''} {rows}{more})" + fix,
            TerrakitWarning,
            stacklevel=4,
        )
    out.columns = pd.Index(names)
    return out, dates


def _output_path(
    path: str | os.PathLike[str], suffixes: tuple[str, ...], example: str, what: str
) -> Path:
    """Check an output file name (suffix, not a folder) and create its folder."""
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(
            f"{str(p)!r} is a folder; give the file's name, e.g. {str(p / example)!r}"
        )
    if p.suffix.lower() not in suffixes:
        raise ValueError(
            f"the file is {what}: use a {suffixes[0]} path, got {p.name!r} "
            f"(e.g. {str(p.with_suffix(suffixes[0]))!r})"
        )
    if p.parent.exists() and not p.parent.is_dir():
        raise NotADirectoryError(
            f"cannot write {str(p)!r}: {str(p.parent)!r} is a file, not a folder"
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def _new_temp_file(path: Path) -> Path:
    """Create an empty, uniquely named file next to ``path``.

    Unlike :func:`tempfile.mkstemp` (always ``0o600``), the file is created
    with mode ``0o666`` filtered by the umask (and the folder's default ACL),
    exactly as ``open(path, "w")`` would create ``path`` itself; a report is
    a deliverable that others on a shared drive must be able to read.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.parent / f".tmp-{secrets.token_hex(8)}{path.suffix}"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        except PermissionError as exc:
            # the error names the hidden temporary file: name the user's path
            raise PermissionError(
                exc.errno,
                f"cannot write {str(path)!r}: its folder {str(path.parent)!r} is "
                "not writable; write to another folder (or get write access to "
                "this one)",
            ) from None
        except OSError as exc:
            if exc.errno != errno.EROFS:
                raise
            raise OSError(
                exc.errno,
                f"cannot write {str(path)!r}: its folder {str(path.parent)!r} is "
                "on a read-only file system; write to another folder",
            ) from None
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary file name in {str(path.parent)!r}")


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary file next to ``path`` that replaces it when the block ends well.

    The new file gets the permissions a plain ``open(path, "w")`` gives: those
    of the file it replaces, or ``0o666`` less the umask for a new file.
    """
    tmp = _new_temp_file(path)
    try:
        yield tmp
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        try:
            os.replace(tmp, path)
        except PermissionError as exc:
            raise PermissionError(
                exc.errno,
                f"cannot replace {str(path)!r}: it is open in another program "
                "(e.g. Excel) or may not be overwritten; close it, or write to "
                "another file",
            ) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def study_report(
    study: Any,
    alignments: Sequence[Alignment | str] | None = None,
    out: str | os.PathLike[str] = "report.html",
    **kwargs: Any,
) -> Path:
    """Write a self-contained HTML client report of a study.

    Parameters
    ----------
    study
        The :class:`~terrakit.data.Study`.
    alignments
        Alignments (objects or names); default (``None``) every alignment of
        the study; an empty list is an error.  The first is the baseline, the
        last the proposal.
    out
        The HTML file to write.
    **kwargs
        Optional results and settings of :class:`StudyReport` (``workload``,
        ``headcount``, ``potential``, ``forecast``, ``quotas``,
        ``call_plan``, ``title``, ``measures``, ``tolerance``, ``notes``,
        ``provenance``).

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import terrakit as tk  # doctest: +SKIP
    >>> study = tk.load_sample("southeast")  # doctest: +SKIP
    >>> tk.report.study_report(study, ["current"], out="report.html")  # doctest: +SKIP
    """
    return StudyReport(study, alignments, **kwargs).save(out)


def to_excel(
    study: Any,
    alignments: Sequence[Alignment | str] | None = None,
    out: str | os.PathLike[str] = "report.xlsx",
    **kwargs: Any,
) -> Path:
    """Write the report's tables to an Excel workbook, one sheet per table.

    Same parameters as :func:`study_report`.  The ``Account assignments``
    sheet lists every account with its territory, rep id and rep name under
    the last alignment, ready to load into a CRM; ``Unit assignments`` gives
    every unit's territory under each alignment.

    Returns
    -------
    pathlib.Path
        The written workbook.
    """
    return StudyReport(study, alignments, **kwargs).to_excel(out)

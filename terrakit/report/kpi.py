"""A short KPI report of one alignment: text for the console, HTML for a browser."""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from terrakit.data.alignment import Alignment
from terrakit.metrics import _alignment
from terrakit.report.study import (
    DEFAULT_MEASURES,
    _balance_size,
    _edits,
    _output_path,
    _plural,
    _replacing,
    _report_measures,
    _scroll,
    _table,
    _territories,
)

__all__ = ["kpi_report", "kpi_text"]


def _tables(
    study: Any, alignment: Alignment, measures: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from terrakit import metrics

    kpis = metrics.territory_kpis(study, alignment)
    bal = metrics.balance(study, alignment, measures=list(measures))
    return kpis, bal


def kpi_text(
    study: Any,
    alignment: Alignment | str,
    measures: Sequence[str] | str = DEFAULT_MEASURES,
) -> str:
    """Rounded, stable text: balance per measure and the KPI table.

    Parameters
    ----------
    study
        The :class:`~terrakit.data.Study`.
    alignment
        An alignment, or the name of one of the study's alignments.
    measures
        Unit columns whose balance is shown (one name: one measure).  Of the
        default measures, those the study lacks are skipped; a measure you
        name that the units do not have is an error (as in
        :class:`~terrakit.report.StudyReport`).

    Raises
    ------
    KeyError
        When ``alignment`` names no alignment of the study (the message lists
        the names it has).
    DataValidationError
        When a measure named is not a unit column.
    """
    alignment = _alignment(study, alignment)  # a name → the study's alignment
    kpis, bal = _tables(study, alignment, _report_measures(study, measures))
    lines = [
        f"Alignment {alignment.name!r}: {_territories(alignment.n_territories)}, "
        f"{_plural(len(alignment), 'unit')}",
        "",
        "Balance (max deviation from the mean, coefficient of variation, Gini):",
        bal.round(3).astype(object).where(bal.notna(), "–").to_string(),
        "",
        "Territory KPIs:",
        kpis.round(2).astype(object).where(kpis.notna(), "–").to_string(),
    ]
    return "\n".join(lines)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def kpi_report(
    study: Any,
    alignment: Alignment | str,
    out: str | os.PathLike[str],
    *,
    measures: Sequence[str] | str = DEFAULT_MEASURES,
    tolerance: float = 0.05,
    title: str | None = None,
) -> Path:
    """Write a self-contained HTML page: map, balance chart, balance and KPI tables.

    Images are embedded (base64 PNG), so the file can be mailed as it is. The
    page fits the screen's width (a phone's too): each table scrolls sideways
    in its own container when it is wider.  For a hand edit
    (:meth:`Alignment.replace`, whose provenance is its parent's with
    ``edits`` counted) the page says that the provenance entries are those
    of the alignment as designed.

    Parameters
    ----------
    study
        The :class:`~terrakit.data.Study`.
    alignment
        An alignment, or the name of one of the study's alignments.
    out
        The HTML file to write (``.html`` or ``.htm``).  It is written to a
        temporary file next to it and moved into place when complete, so a
        failure leaves an existing page as it was.
    measures
        Unit columns whose balance is shown (the chart shows the first; one
        name: one measure).  Of the default measures, those the study lacks
        are skipped; a measure you name that the units do not have is an
        error (as in :class:`~terrakit.report.StudyReport`).
    tolerance
        Half-width of the band on the balance chart (0.05 = ±5 %).
    title
        Page title (default from the alignment's name).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    KeyError
        When ``alignment`` names no alignment of the study (the message lists
        the names it has).
    DataValidationError
        When a measure named is not a unit column.
    ValueError
        When ``out`` does not end in ``.html`` (or ``.htm``): the page would
        replace another kind of file (a workbook, the study's ``.gpkg``).
    IsADirectoryError
        When ``out`` is a folder.
    """
    import matplotlib.pyplot as plt

    from terrakit import plot

    alignment = _alignment(study, alignment)  # a name → the study's alignment
    names = _report_measures(study, measures)
    path = _output_path(out, (".html", ".htm"), "kpi.html", "an HTML page")
    kpis, bal = _tables(study, alignment, names)
    fig, ax = plt.subplots(figsize=(8, 7))
    plot.territory_map(study, alignment, ax=ax)
    map_png = _png(fig)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(max(9.0, _balance_size(alignment)[0]), 4))
    plot.balance_chart(study, alignment, measure=names[0], tolerance=tolerance, ax=ax)
    bal_png = _png(fig)
    plt.close(fig)
    prov = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in alignment.provenance.items()
    )
    edits = _edits(alignment)
    # a hand edit keeps its parent's provenance: say whose the entries are
    prov_note = (
        f"<p>{html.escape(alignment.name)} was edited by hand "
        f"({_plural(edits, 'edit')}): the entries below, except edits, are "
        "those of the alignment it was made from, as designed (its measured "
        "figures are not this alignment's; the balance table above is).</p>"
        if edits
        else ""
    )
    name = html.escape(title or f"Territory KPIs — {alignment.name}")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
th {{ background: #f3f3f3; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>{name}</h1>
<p>{_territories(alignment.n_territories)}, {_plural(len(alignment), "unit")}.</p>
<h2 id="map">Map</h2><img alt="territory map" src="data:image/png;base64,{map_png}">
<h2 id="balance">Balance</h2>
<img alt="balance chart" src="data:image/png;base64,{bal_png}">
{_table(bal, max_rows=len(bal))}
<h2 id="kpis">Territory KPIs</h2>
{_table(kpis, max_rows=len(kpis))}
<h2 id="provenance">Provenance</h2>
{prov_note}{_scroll(f"<table>{prov}</table>")}
</body></html>
"""
    with _replacing(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path

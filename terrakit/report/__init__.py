"""Study reports: self-contained HTML and plain text (``tk.report``)."""

from terrakit.report.kpi import kpi_report, kpi_text

__all__ = ["kpi_report", "kpi_text"]

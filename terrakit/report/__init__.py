"""Study reports and the end-to-end pipeline (``tk.report``).

- :func:`study_report` / :class:`StudyReport` — a self-contained HTML client
  report (maps, balance and KPI tables, scenario comparison, sizing,
  potential, forecast, quotas, call plan, method notes, provenance);
- :func:`to_excel` — the same tables, one sheet each, with account
  assignments ready to load into a CRM;
- :func:`run_pipeline` — the whole study end to end (``terrakit demo``,
  ``terrakit run study.toml``), configured by :class:`StudyConfig`
  (:func:`load_config`);
- :func:`kpi_text` / :func:`kpi_report` — a short KPI report of one alignment.
"""

from terrakit.report.config import ConfigError, StudyConfig, load_config
from terrakit.report.kpi import kpi_report, kpi_text
from terrakit.report.pipeline import PipelineResult, run_pipeline
from terrakit.report.study import SECTIONS, Section, StudyReport, study_report, to_excel
from terrakit.report.tables import (
    account_assignments,
    compare_alignments,
    unit_assignments,
)

__all__ = [
    "SECTIONS",
    "ConfigError",
    "PipelineResult",
    "Section",
    "StudyConfig",
    "StudyReport",
    "account_assignments",
    "compare_alignments",
    "kpi_report",
    "kpi_text",
    "load_config",
    "run_pipeline",
    "study_report",
    "to_excel",
    "unit_assignments",
]

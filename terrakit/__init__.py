"""terrakit — a Jupyter-centric research toolkit for sales territory management.

The flat namespace holds what a study uses most::

    import terrakit as tk
    study = tk.load_sample("southeast")
    tk.metrics.balance(study, study.alignments["current"], measures=["workload"])

Sub-packages (``tk.design``, ``tk.potential``, ``tk.forecast``, ...) are imported
on first use, so ``import terrakit`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from terrakit.data import Alignment, Study, make_provenance
from terrakit.exceptions import (
    ConvergenceWarning,
    CRSWarning,
    DataValidationError,
    InfeasibleError,
    NotAStudyError,
    NotFittedError,
    SpecificationError,
    TerrakitError,
    TerrakitWarning,
    TimeLimitWarning,
)

_SUBMODULES = {
    "benchmarks",
    "cli",
    "data",
    "datasets",
    "design",
    "exceptions",
    "forecast",
    "metrics",
    "plot",
    "potential",
    "realign",
    "report",
    "routing",
    "sizing",
    "teaching",
    "widgets",
}

#: Objects of sub-packages re-exported lazily in the flat namespace.
_LAZY = {
    "Scenario": "terrakit.realign.scenario",
    "compare": "terrakit.realign.compare",
    "sweep": "terrakit.sweeps",
}

__all__ = [
    "Alignment",
    "CRSWarning",
    "ConvergenceWarning",
    "DataValidationError",
    "InfeasibleError",
    "NotAStudyError",
    "NotFittedError",
    "SpecificationError",
    "Study",
    "TerrakitError",
    "TerrakitWarning",
    "Scenario",
    "TimeLimitWarning",
    "__version__",
    "compare",
    "load_sample",
    "make_provenance",
    "sweep",
    *sorted(_SUBMODULES),
]


def load_sample(name: str = "southeast") -> Study:
    """Load a sample study shipped with terrakit (see ``data/samples/``)."""
    from terrakit.data.samples import load_sample as _load

    return _load(name)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"terrakit.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'terrakit' has no attribute {name!r}")

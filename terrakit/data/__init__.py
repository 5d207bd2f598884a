"""Data model of a study: loaders, validation, :class:`Study`, :class:`Alignment`.

The geography helpers (``tk.data.geo``), the sample studies
(``tk.data.samples``) and the synthetic generator (``tk.data.synthetic``) are
imported on first use, so ``import terrakit`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from terrakit.data.alignment import Alignment, make_provenance
from terrakit.data.io import read_accounts, read_history, read_reps, read_units
from terrakit.data.study import Study

#: Sub-modules imported on first attribute access (``tk.data.geo.adjacency``).
_SUBMODULES = {"geo", "samples", "synthetic"}

__all__ = [
    "Alignment",
    "Study",
    "make_provenance",
    "read_accounts",
    "read_history",
    "read_reps",
    "read_units",
    *sorted(_SUBMODULES),
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"terrakit.data.{name}")
    raise AttributeError(f"module 'terrakit.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_SUBMODULES})

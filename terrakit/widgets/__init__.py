"""Interactive Jupyter controls (ipywidgets / ipyleaflet).

- :class:`TerritoryMap` — edit an alignment on a map: click or draw to move
  units, lock them, undo/redo, optimise with the locks, save with provenance;
  a live balance panel, KPI table and contiguity warnings.
- :class:`HeadcountExplorer` — sliders for cost per rep, margin and hours
  that redraw the headcount curve of fitted response curves.
- :class:`EditorState` — the widget-free editing core (alignment, history,
  locks, balance), usable and testable without a front end.

The widget classes need the ``widgets`` extra
(``pip install "terrakit[widgets]"``); :class:`EditorState` does not.
"""

from __future__ import annotations

import importlib
from typing import Any

from terrakit.widgets.state import Change, EditorState

__all__ = [
    "BalancePanel",
    "Change",
    "EditorState",
    "HeadcountExplorer",
    "TerritoryMap",
]

_LAZY = {
    "BalancePanel": "terrakit.widgets.panel",
    "HeadcountExplorer": "terrakit.widgets.sizing",
    "TerritoryMap": "terrakit.widgets.territory_map",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        try:
            import ipyleaflet  # noqa: F401
            import ipywidgets  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                f"terrakit.widgets.{name} needs ipywidgets and ipyleaflet ({exc}); "
                'install the extra: pip install "terrakit[widgets]" (or conda '
                "install -c conda-forge ipywidgets ipyleaflet jupyterlab)"
            ) from exc
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'terrakit.widgets' has no attribute {name!r}")

"""Bayesian market potential per account and per unit (PyMC).

::

    model = tk.potential.PotentialModel(sampler_config={"progressbar": False})
    res = model.fit(study, level="unit", seed=0)     # or level="account"
    res.to_frame()          # potential mean, 5/50/95 %, sales, whitespace, ...
    res.draws("unit")       # unit × draw, for uncertainty-aware design
    res.diagnostics()       # R-hat, ESS, divergences
    res.save("potential.nc"); tk.potential.PotentialResult.load("potential.nc")
"""

from terrakit.potential.model import (
    DEFAULT_MODEL_CONFIG,
    PotentialModel,
    build_account_model,
    build_unit_model,
    config_hash,
)
from terrakit.potential.result import PotentialResult, posterior_predictive_check
from terrakit.potential.spatial import SpatialGraph, bym2_graph, icar_scaling_factor

__all__ = [
    "DEFAULT_MODEL_CONFIG",
    "PotentialModel",
    "PotentialResult",
    "SpatialGraph",
    "build_account_model",
    "build_unit_model",
    "bym2_graph",
    "config_hash",
    "icar_scaling_factor",
    "posterior_predictive_check",
]

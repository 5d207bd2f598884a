"""Tiny studies and a fake sampler for the potential tests.

The fake sampler replaces MCMC in fast tests: it draws every model parameter
from a narrow normal around a plausible value (no compilation), so that
post-processing (potentials, draws, tables, storage) can be checked in
milliseconds.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from terrakit.data.study import Study

from ..conftest import sample_run


def fake_sample(
    model,
    sampler_config=None,
    seed=0,
    *,
    var_names=None,
    chains=2,
    draws=100,
    spread=0.05,
):
    """Draws around 0 (positive parameters around 0.6) for every parameter."""
    rng = np.random.default_rng(seed)
    post = {}
    for name in var_names or [v.name for v in model.free_RVs]:
        if name not in model.named_vars:
            continue
        shape = tuple(int(s) for s in model[name].shape.eval())
        base = 0.6 if name.startswith(("sigma", "tau", "rho")) else 0.0
        arr = base + spread * rng.standard_normal((chains, draws, *shape))
        if name in ("b_segment", "h_segment") and shape and shape[0] > 1:
            arr -= arr.mean(axis=-1, keepdims=True)
        post[name] = arr
    return sample_run(model, post, chains=chains, draws=draws)


@pytest.fixture
def no_mcmc(monkeypatch):
    """Replace sampling in terrakit.potential.model by :func:`fake_sample`."""
    import terrakit.potential.model as m

    monkeypatch.setattr(m, "sample", fake_sample)
    return fake_sample


def _square_units(cells, crs="EPSG:32617"):
    s = 10_000.0
    geoms = [
        box(
            500_000 + c * s,
            3_700_000 + r * s,
            500_000 + (c + 1) * s,
            3_700_000 + (r + 1) * s,
        )
        for r, c in cells
    ]
    return geoms


@pytest.fixture
def grid_with_island():
    """A 3×3 grid of 10 km squares plus one far-away square ``u10`` (island).

    Units u1..u9 (row by row) form one component; u10 sits 50 km east with no
    neighbour.  Population 1000·k, income 30,000 + 1,000·k, sales 100·k
    (u3 has no sales).  Two accounts per unit.
    """
    cells = [(r, c) for r in range(3) for c in range(3)] + [(0, 8)]
    ids = [f"u{k}" for k in range(1, 11)]
    k = np.arange(1, 11, dtype=float)
    sales = 100.0 * k
    sales[2] = 0.0
    units = gpd.GeoDataFrame(
        {"population": 1000 * k, "income": 30_000 + 1000 * k, "sales": sales},
        geometry=_square_units(cells),
        crs="EPSG:32617",
        index=pd.Index(ids, name="unit_id"),
    )
    acc_units = np.repeat(ids, 2)
    n = len(acc_units)
    accounts = pd.DataFrame(
        {
            "unit_id": acc_units,
            "segment": np.array(["A", "B", "C", "C"] * 5)[:n],
            "industry": np.array(["Retail", "Health"] * 10)[:n],
            "employees": np.arange(1, n + 1) * 3,
            "annual_sales": np.where(
                np.arange(n) % 5 == 0, 0.0, 1000.0 * np.arange(1, n + 1)
            ),
        },
        index=pd.Index([f"a{i}" for i in range(1, n + 1)], name="account_id"),
    )
    return Study(units, accounts=accounts)

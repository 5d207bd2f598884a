"""Tiny studies and a fake sampler for the realign tests.

Fixtures are small and hand-checkable; every one says what it holds.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from shapely.geometry import box

from terrakit._sampling import SampleRun
from terrakit.data.alignment import Alignment
from terrakit.data.study import Study

from ..conftest import sample_run

_X0, _Y0, _S = 500_000.0, 3_700_000.0, 10_000.0
_TO_LL = pyproj.Transformer.from_crs("EPSG:32617", "EPSG:4326", always_xy=True)


def cell_center_lonlat(col: int, row: int) -> tuple[float, float]:
    """Lon/lat of the centre of grid cell (col, row) of :func:`grid_study`."""
    return _TO_LL.transform(_X0 + (col + 0.5) * _S, _Y0 + (row + 0.5) * _S)


def grid_study(n_cols: int = 6, n_rows: int = 4, seed: int = 0) -> Study:
    """A grid of 10 km squares (UTM 17N) in four quadrant territories.

    Units ``c{col}r{row}``; territory ``R1`` = west-south, ``R2`` = east-south,
    ``R3`` = west-north, ``R4`` = east-north (quadrants of 6 units each on
    the default 6 × 4 grid).  Each unit: workload 100 h (east half 150 h),
    potential 10,000, sales 4,000, region ``"West"``/``"East"``.  Two
    accounts per unit (industries Retail and Healthcare, 2,000 each).  Reps
    live at the centre of the lower-left unit of their quadrant, capacity
    700 h (R2, R4 are therefore over capacity: 6 × 150 = 900 h), skills
    R1 ``retail``, R2 ``healthcare``, R3 ``healthcare;retail``, R4
    ``logistics``.  History: 24 months 2024-01..2025-12 of account sales
    (lognormal noise, seeded).
    """
    rng = np.random.default_rng(seed)
    ids, geoms, region, work, terr = [], [], [], [], []
    for r in range(n_rows):
        for c in range(n_cols):
            ids.append(f"c{c}r{r}")
            geoms.append(
                box(_X0 + c * _S, _Y0 + r * _S, _X0 + (c + 1) * _S, _Y0 + (r + 1) * _S)
            )
            east = c >= n_cols // 2
            region.append("East" if east else "West")
            work.append(150.0 if east else 100.0)
            north = r >= n_rows // 2
            terr.append(f"R{1 + int(east) + 2 * int(north)}")
    n = len(ids)
    units = gpd.GeoDataFrame(
        {
            "region": region,
            "workload": work,
            "potential": [10_000.0] * n,
            "sales": [4_000.0] * n,
        },
        geometry=geoms,
        index=pd.Index(ids, name="unit_id"),
        crs="EPSG:32617",
    )
    acc_units = np.repeat(ids, 2)
    industry = np.tile(["Retail", "Healthcare"], n)
    accounts = pd.DataFrame(
        {
            "unit_id": acc_units,
            "industry": industry,
            "annual_sales": [2_000.0] * (2 * n),
            "rep_id": [terr[ids.index(u)] for u in acc_units],
        },
        index=pd.Index([f"a{i:03d}" for i in range(2 * n)], name="account_id"),
    )
    homes = {
        "R1": (0, 0),
        "R2": (n_cols // 2, 0),
        "R3": (0, n_rows // 2),
        "R4": (n_cols // 2, n_rows // 2),
    }
    ll = {k: cell_center_lonlat(*v) for k, v in homes.items()}
    reps = pd.DataFrame(
        {
            "name": ["Ann", "Bob", "Cy", "Di"],
            "home_lon": [ll[k][0] for k in homes],
            "home_lat": [ll[k][1] for k in homes],
            "capacity_hours": [700.0] * 4,
            "fte": [1.0] * 4,
            "skills": ["retail", "healthcare", "healthcare;retail", "logistics"],
        },
        index=pd.Index(list(homes), name="rep_id"),
    )
    periods = pd.period_range("2024-01", "2025-12", freq="M")
    hist = pd.DataFrame(
        {
            "account_id": np.repeat(accounts.index.to_numpy(), len(periods)),
            "period": np.tile(periods.to_numpy(), len(accounts)),
        }
    )
    hist["sales"] = 2_000.0 / 12 * np.exp(rng.normal(0.0, 0.1, len(hist)))
    hist["period"] = hist["period"].astype(pd.PeriodDtype("M"))
    current = Alignment.from_mapping(dict(zip(ids, terr, strict=True)), name="current")
    return Study(
        units,
        accounts=accounts,
        reps=reps,
        history=hist,
        alignments={"current": current},
    )


@pytest.fixture
def grid6x4() -> Study:
    """:func:`grid_study` with its defaults: 24 units, 4 reps, 4 quadrants."""
    return grid_study()


def fake_posterior(
    model,
    values: dict,
    *,
    chains: int = 2,
    draws: int = 200,
    spread: float = 0.0,
    seed: int = 0,
) -> SampleRun:
    """A SampleRun whose posterior holds ``values`` (+ optional noise).

    Variables of the model that are not in ``values`` get zeros (positive
    ones 0.1), so post-processing can be checked without MCMC.
    """
    rng = np.random.default_rng(seed)
    post = {}
    for name in list(model.named_vars):
        var = model[name]
        if name in model.observed_RVs or var in model.observed_RVs:
            continue
        try:
            shape = tuple(int(s) for s in var.shape.eval())
        except Exception:
            continue
        if name in values:
            base = np.broadcast_to(np.asarray(values[name], dtype=float), shape)
        else:
            base = np.full(shape, 0.1 if name.startswith(("sigma", "tau")) else 0.0)
        arr = base + spread * rng.standard_normal((chains, draws, *shape))
        post[name] = arr
    return sample_run(model, post, chains=chains, draws=draws)


@pytest.fixture(scope="session")
def make_grid():
    """The :func:`grid_study` builder (for other sizes or seeds)."""
    return grid_study


@pytest.fixture(scope="session")
def cell_lonlat():
    """:func:`cell_center_lonlat`: lon/lat of a grid cell centre."""
    return cell_center_lonlat


@pytest.fixture
def fake_run():
    """:func:`fake_posterior`: a SampleRun holding chosen posterior values."""
    return fake_posterior

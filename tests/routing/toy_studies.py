"""Tiny synthetic studies for call-planning tests and benchmarks/routing.py."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from terrakit.data import Alignment, Study


def make_study(
    n_accounts: int = 40,
    *,
    seed: int = 0,
    calls: tuple[float, ...] = (48.0, 24.0, 12.0),
    call_minutes: float = 30.0,
    spread_deg: float = 0.3,
    windows: bool = False,
) -> Study:
    """One territory ``R01`` (2×2 units around Atlanta), home at the centre.

    Accounts are scattered uniformly within ``spread_deg`` of the home;
    frequencies cycle through ``calls`` per year (48 = weekly in a 48-week
    year, 24 = every 2 weeks, 12 = every 4 weeks).
    """
    rng = np.random.default_rng(seed)
    lon0, lat0 = -84.4, 33.75
    cells = [
        box(lon0 - 1 + i, lat0 - 1 + j, lon0 + i, lat0 + j)
        for i in range(2)
        for j in range(2)
    ]
    units = gpd.GeoDataFrame(
        {"name": [f"u{k}" for k in range(4)]},
        geometry=cells,
        index=pd.Index([f"u{k}" for k in range(4)], name="unit_id"),
        crs="EPSG:4326",
    )
    lon = lon0 + rng.uniform(-spread_deg, spread_deg, n_accounts)
    lat = lat0 + rng.uniform(-spread_deg, spread_deg, n_accounts)
    unit = [
        f"u{int(x >= lon0) * 2 + int(y >= lat0)}" for x, y in zip(lon, lat, strict=True)
    ]
    acc = pd.DataFrame(
        {
            "unit_id": unit,
            "lon": lon,
            "lat": lat,
            "calls_per_year": [calls[k % len(calls)] for k in range(n_accounts)],
            "call_minutes": call_minutes,
            "rep_id": "R01",
        },
        index=pd.Index([f"A{k:03d}" for k in range(n_accounts)], name="account_id"),
    )
    if windows:
        acc["tw_start"] = np.where(np.arange(n_accounts) % 4 == 0, 14.0, np.nan)
        acc["tw_end"] = np.where(np.arange(n_accounts) % 4 == 0, 16.0, np.nan)
    reps = pd.DataFrame(
        {
            "name": ["Ann"],
            "home_lon": [lon0],
            "home_lat": [lat0],
            "capacity_hours": [1600.0],
        },
        index=pd.Index(["R01"], name="rep_id"),
    )
    al = Alignment.from_mapping({u: "R01" for u in units.index}, name="current")
    return Study(units, acc, reps, alignments={"current": al})

"""Tiny studies for the sizing tests."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from terrakit.data.alignment import Alignment
from terrakit.data.study import Study


@pytest.fixture
def two_segment_study() -> Study:
    """2 units, 6 accounts (2 A, 4 B), 2 reps, by hand.

    * u1 = [0, 1]° × [0, 1]°, u2 = [1, 2]° × [0, 1]° (EPSG:4326).
    * A accounts a1, a2 in u1: 24 calls/year, 60 min per call, rep R1.
    * B accounts b1..b4 in u2: 6 calls/year, 30 min per call, rep R2.
    * Workload without travel: 2·24·1 h + 4·6·0.5 h = 48 + 12 = 60 h.
    * Rep R1 lives at (0.5, 0.5) with a1 at the same point and a2 0.1° of
      latitude north; R2 lives at (1.5, 0.5) with every B account 0.1° east.
    * annual_sales: A 100,000, B 20,000 (total 280,000).
    * Alignment "current": u1 → R1, u2 → R2.
    """
    units = gpd.GeoDataFrame(
        {"potential": [300_000.0, 100_000.0]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        index=pd.Index(["u1", "u2"], name="unit_id"),
        crs="EPSG:4326",
    )
    acc = pd.DataFrame(
        {
            "unit_id": ["u1", "u1", "u2", "u2", "u2", "u2"],
            "lon": [0.5, 0.5, 1.6, 1.6, 1.6, 1.6],
            "lat": [0.5, 0.6, 0.5, 0.5, 0.5, 0.5],
            "segment": ["A", "A", "B", "B", "B", "B"],
            "annual_sales": [100_000.0] * 2 + [20_000.0] * 4,
            "calls_per_year": [24.0, 24.0, 6.0, 6.0, 6.0, 6.0],
            "call_minutes": [60.0, 60.0, 30.0, 30.0, 30.0, 30.0],
            "rep_id": ["R1", "R1", "R2", "R2", "R2", "R2"],
        },
        index=pd.Index(["a1", "a2", "b1", "b2", "b3", "b4"], name="account_id"),
    )
    reps = pd.DataFrame(
        {
            "name": ["One", "Two"],
            "home_lon": [0.5, 1.5],
            "home_lat": [0.5, 0.5],
            "capacity_hours": [40.0, 20.0],
        },
        index=pd.Index(["R1", "R2"], name="rep_id"),
    )
    al = Alignment.from_mapping({"u1": "R1", "u2": "R2"}, name="current")
    return Study(units, accounts=acc, reps=reps, alignments={"current": al})


def simulate_history_study(
    params: dict[str, tuple[float, float, float]],
    n_accounts: int = 150,
    months: int = 24,
    seed: int = 1,
    noise: float = 0.1,
) -> Study:
    """A one-unit study whose monthly sales follow known Hill responses.

    ``params[segment] = (floor, k, h)``: sales = b_i (floor + (1 − floor)
    x^h / (k^h + x^h)) e^{N(0, noise²)} with x ~ Poisson(mean calls of the
    account), b_i log-normal (σ 0.6) — the generating model of
    :meth:`terrakit.sizing.ResponseModel.fit`.
    """
    rng = np.random.default_rng(seed)
    rows, acc = [], []
    periods = pd.period_range("2023-01", periods=months, freq="M")
    for s, (fl, k, h) in params.items():
        for i in range(n_accounts):
            aid = f"{s}{i:03d}"
            lam = k * np.exp(rng.normal(0, 0.4))
            b = 1000.0 * np.exp(rng.normal(0, 0.6))
            x = rng.poisson(lam, months).astype(float)
            r = fl + (1 - fl) * x**h / (k**h + x**h)
            y = b * r * np.exp(rng.normal(0, noise, months))
            rows += [
                (aid, p, yy, int(xx)) for p, yy, xx in zip(periods, y, x, strict=True)
            ]
            acc.append((aid, s, float(y[-12:].sum()), float(x[-12:].sum())))
    accounts = pd.DataFrame(
        acc, columns=["account_id", "segment", "annual_sales", "calls_per_year"]
    ).set_index("account_id")
    accounts["unit_id"] = "u1"
    accounts["call_minutes"] = 30.0
    hist = pd.DataFrame(rows, columns=["account_id", "period", "sales", "calls"])
    hist["period"] = hist["period"].astype(pd.PeriodDtype("M"))
    units = gpd.GeoDataFrame(
        geometry=[box(0, 0, 1, 1)],
        index=pd.Index(["u1"], name="unit_id"),
        crs="EPSG:4326",
    )
    return Study(units, accounts=accounts, history=hist)


@pytest.fixture
def make_history_study():
    """Factory: :func:`simulate_history_study` (see its docstring)."""
    return simulate_history_study

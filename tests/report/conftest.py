"""Fixtures of the report tests: a reduced sample study and ready-made results.

Results that would need MCMC (forecast draws, quotas) are built directly from
their frozen dataclasses with seeded synthetic draws, so the report's
rendering is tested in seconds; the real fits run in the slow pipeline test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import terrakit as tk

#: Three south-Georgia territories of the sample study (Columbus, Savannah,
#: Albany): 72 counties, 751 accounts, contiguous as a whole.
SMALL_REPS = ("R08", "R09", "R10")


@pytest.fixture(scope="session")
def sample_study():
    """The full "southeast" sample study (259 counties, 6,000 accounts, 20 reps)."""
    return tk.load_sample("southeast")


@pytest.fixture(scope="session")
def small_study(sample_study):
    """The sample restricted to the territories of reps R08, R09 and R10.

    Units, accounts, reps, history and the ``current`` alignment are cut to
    those territories, so every table is real sample data and the current
    alignment is the sample's own (unbalanced: R08 carries 687 workload hours
    against 1,297 and 1,209).
    """
    from terrakit import Study
    from terrakit.data.alignment import Alignment

    cur = sample_study.alignments["current"]
    keep = cur.assignment[cur.assignment.isin(SMALL_REPS)].index
    units = sample_study.units.loc[keep]
    acc = sample_study.accounts[sample_study.accounts["unit_id"].isin(keep)]
    reps = sample_study.reps.loc[list(SMALL_REPS)]
    hist = sample_study.history[sample_study.history["account_id"].isin(acc.index)]
    current = Alignment.from_mapping(
        cur.assignment.loc[keep], name="current", provenance=dict(cur.provenance)
    )
    return Study(
        units,
        accounts=acc,
        reps=reps,
        history=hist.reset_index(drop=True),
        alignments={"current": current},
        metadata={"name": "south-georgia"},
    )


@pytest.fixture(scope="session")
def small_proposal(small_study):
    """A hand-made proposal: the two largest-workload counties of R09 go to R08."""
    cur = small_study.alignments["current"]
    units = small_study.unit_measures()
    r09 = units.loc[cur.units_of("R09"), "workload"].sort_values(ascending=False)
    moves = {u: "R08" for u in r09.index[:2]}
    return cur.replace(moves).rename("proposed")


@pytest.fixture(scope="session")
def small_forecast(small_study):
    """A TerritoryForecast of the current alignment from seeded synthetic draws.

    History: the study's last 24 months summed by territory; draws: 12 future
    months, lognormal around the last year's monthly mean (200 draws).
    """
    import xarray as xr

    from terrakit.forecast import TerritoryForecast

    cur = small_study.alignments["current"]
    h = small_study.history
    terr = h["account_id"].map(small_study.accounts["unit_id"]).map(cur.assignment)
    hist = h.assign(territory=terr.to_numpy()).pivot_table(
        index="territory", columns="period", values="sales", aggfunc="sum"
    )
    hist = hist.iloc[:, -24:]
    rng = np.random.default_rng(7)
    future = pd.period_range(hist.columns[-1] + 1, periods=12, freq="M")
    level = hist.iloc[:, -12:].mean(axis=1).to_numpy()
    draws = level[None, :, None] * np.exp(rng.normal(0.0, 0.08, (200, len(level), 12)))
    return TerritoryForecast(
        draws=xr.DataArray(
            draws,
            dims=("draw", "territory", "period"),
            coords={"territory": list(hist.index), "period": list(future)},
        ),
        history=xr.DataArray(
            hist.to_numpy(),
            dims=("territory", "period"),
            coords={"territory": list(hist.index), "period": list(hist.columns)},
        ),
        alignment_name="current",
    )


def judged_response():
    """Response curves of one segment from judgement (no MCMC)."""
    from terrakit.sizing import ResponseModel

    return ResponseModel.from_judgement(
        {
            "A": {
                "zero": 0.4,
                "minus50": 0.8,
                "current": 1.0,
                "plus50": 1.1,
                "saturation": 1.2,
            }
        },
        reference={
            "A": {
                "accounts": 300,
                "calls_per_year": 12,
                "annual_sales": 50_000,
                "hours_per_call": 1.5,
            }
        },
    )


@pytest.fixture(scope="session")
def small_headcount():
    """A headcount curve from judgement-calibrated response curves (no MCMC)."""
    from terrakit.sizing import headcount_curve

    return headcount_curve(judged_response(), reps=range(1, 11))


@pytest.fixture(scope="session")
def small_quotas():
    """Hand-written quotas for R08–R10 (company target 44 M), no model fit."""
    return tk.forecast.QuotaResult(
        table=pd.DataFrame(
            {
                "target": [9e6, 18e6, 17e6],
                "forecast_mean": [9.1e6, 18e6, 16.8e6],
                "p_attain": [0.6, 0.5, 0.4],
            },
            index=pd.Index(["R08", "R09", "R10"], name="territory_id"),
        ),
        method="share_of_potential",
        company_target=44e6,
    )

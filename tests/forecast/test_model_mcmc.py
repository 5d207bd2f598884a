"""Real nutpie fits: recovery of a known trend/seasonality, aggregation vs direct fit.

Slow (numba compilation + sampling): run with ``--run-slow``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from terrakit.forecast import SalesForecaster, fit_panel, make_panel, simulate_paths

pytestmark = [pytest.mark.slow, pytest.mark.mcmc]

SAMPLER = {"draws": 300, "tune": 300, "chains": 2, "progressbar": False}


def simulated_panel(n_series: int = 12, years: int = 5, seed: int = 0):
    """Monthly series: 8 %/year growth, ±15 % seasonal wave, 5 % noise."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range("2019-01", periods=12 * years, freq="M")
    t = np.arange(len(periods))
    season = 0.15 * np.sin(2 * np.pi * (periods.month.to_numpy() - 1) / 12)
    rows = []
    for i in range(n_series):
        base = 50 * (1 + i)
        y = base * np.exp(0.08 * t / 12 + season + 0.05 * rng.standard_normal(len(t)))
        rows.append(pd.DataFrame({"s": f"s{i}", "period": periods, "sales": y}))
    return pd.concat(rows, ignore_index=True), season


def test_recovers_known_trend_and_seasonality():
    long, season = simulated_panel()
    panel = make_panel(long, key="s")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fit = fit_panel(panel, sampler_config=SAMPLER, seed=1)
    post = fit.idata.posterior
    # the offset-1 transform log(1 + y/s) has slope ≈ growth × s/(s + y) ≈ half
    slope = post["mu_slope"].to_numpy().ravel()
    lo, hi = np.quantile(slope, [0.025, 0.975])
    assert lo < 0.04 < hi or abs(np.median(slope) - 0.04) < 0.015
    # seasonal shape: correlation with the truth (scaled by the same factor)
    est = post["season"].mean(("chain", "draw")).to_numpy().mean(axis=0)
    truth = season[:12] - season[:12].mean()
    assert np.corrcoef(est, truth)[0, 1] > 0.95
    # 12-month forecast mean within 5 % of the simulated continuation
    draws = simulate_paths(fit, 12, seed=0).to_numpy()
    next_year = long.groupby("s")["sales"].apply(lambda s: s.iloc[-12:].sum())
    ratio = draws.sum(axis=2).mean(axis=0) / (next_year.to_numpy() * np.exp(0.08))
    assert np.all(np.abs(ratio - 1) < 0.08)


def test_territory_sum_of_draws_matches_direct_fit(toy_study):
    """Summed unit draws vs a fit on the territory totals: similar means/intervals."""
    al = toy_study.alignments["current"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fc = SalesForecaster(sampler_config=SAMPLER)
        summed = fc.fit(toy_study, level="unit", seed=0).predict(12).by(al)
        hist = toy_study.history
        terr = toy_study.account_territories(al)
        long = (
            hist.assign(t=terr.reindex(hist.account_id).to_numpy())
            .groupby(["t", "period"], as_index=False)["sales"]
            .sum()
        )
        direct_fit = fit_panel(
            make_panel(long, key="t"), sampler_config=SAMPLER, seed=0
        )
    direct = simulate_paths(direct_fit, 12, seed=0)
    a = summed.draws.sum("period").to_numpy()
    b = direct.sum("period").to_numpy()
    np.testing.assert_allclose(a.mean(axis=0), b.mean(axis=0), rtol=0.1)
    # the 80 % intervals overlap substantially
    qa, qb = np.quantile(a, [0.1, 0.9], axis=0), np.quantile(b, [0.1, 0.9], axis=0)
    overlap = np.minimum(qa[1], qb[1]) - np.maximum(qa[0], qb[0])
    assert (overlap > 0.5 * (qa[1] - qa[0])).all()


def test_the_default_sampler_starts_on_a_small_clean_panel():
    """nutpie (the default) on 5 clean monthly series × 48 months: every
    initial point used to fail ("All initialization points failed ... Logp
    function returned error") because of the reversed common-shock sum, while
    method="pymc" sampled.  Tiny run: the cost is nutpie's compilation."""
    rng = np.random.default_rng(1)
    periods = pd.period_range("2020-01", periods=48, freq="M")
    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(48) / 12)
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "k": f"s{k}",
                    "period": periods,
                    "sales": 100 * (k + 1) * season * rng.lognormal(0, 0.1, 48),
                }
            )
            for k in range(5)
        ],
        ignore_index=True,
    )
    tiny = {"draws": 10, "tune": 10, "chains": 1, "progressbar": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fit = fit_panel(make_panel(long, key="k"), sampler_config=tiny, seed=0)
    level = fit.idata.posterior["level"]
    assert level.shape == (1, 10, 5)
    assert np.isfinite(level.to_numpy()).all()

"""Cluster shocks and bridged common shocks of the forecast model.

The fast tests check the model graph and the simulation with a hand-made
posterior; the slow one fits simulated data with a known cluster share.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import arviz as az
import numpy as np
import pandas as pd
import pytest

from terrakit.forecast import fit_panel, make_panel, simulate_paths
from terrakit.forecast.model import (
    DEFAULT_MODEL_CONFIG,
    DEFAULT_SAMPLER_CONFIG,
    PanelFit,
    build_forecast_model,
)

from .conftest import cluster_series, grouped_panel


def clustered_long(
    n_clusters: int = 6,
    per_cluster: int = 3,
    months: int = 48,
    share: float = 0.7,
    sigma: float = 0.15,
    seed: int = 0,
) -> pd.DataFrame:
    """Monthly series whose log-scale shocks share ``share`` of their variance."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range("2019-01", periods=months, freq="M")
    u = rng.standard_normal((n_clusters, months))
    rows = []
    for k in range(n_clusters):
        for j in range(per_cluster):
            eps = rng.standard_normal(months)
            e = sigma * (np.sqrt(share) * u[k] + np.sqrt(1 - share) * eps)
            y = 100.0 * (1 + j) * np.exp(e)
            rows.append(cluster_series("c", k, j, periods, y))
    return pd.concat(rows, ignore_index=True)


def clustered_panel(**kw):
    return grouped_panel(clustered_long(**kw))


def test_make_panel_keeps_cluster_codes_through_truncate():
    panel = clustered_panel()
    assert panel.cluster_names == tuple(f"c{k}" for k in range(6))
    assert panel.clusters is not None
    assert list(panel.clusters[:4]) == [0, 0, 0, 1]
    short = panel.truncate(20)
    assert short.values.shape == (18, 20)
    np.testing.assert_array_equal(short.clusters, panel.clusters)
    with pytest.raises(ValueError, match="one cluster code per series"):
        type(panel)(
            panel.values,
            panel.series,
            panel.periods,
            panel.groups,
            panel.group_names,
            12,
            panel.clusters[:3],
            panel.cluster_names,
        )


def test_model_has_cluster_terms_only_with_clusters():
    panel = clustered_panel()
    with_c = build_forecast_model(panel)
    assert "cluster_share" in with_c.named_vars
    assert tuple(with_c["cluster_raw"].shape.eval()) == (6, 48)
    plain = build_forecast_model(replace(panel, clusters=None, cluster_names=()))
    assert "cluster_share" not in plain.named_vars
    assert "cluster_raw" not in plain.named_vars


def test_common_shock_paths_are_bridges():
    """The shared shock paths are 0 at both ends of the window (prior draws)."""
    import pymc as pm

    model = build_forecast_model(clustered_panel(months=24))
    eta, eta_g = pm.draw([model["eta"], model["eta_group"]], draws=5, random_seed=1)
    assert np.abs(eta[:, 0]).max() < 1e-9 and np.abs(eta[:, -1]).max() < 1e-9
    assert np.abs(eta_g[:, :, 0]).max() < 1e-9
    assert np.abs(eta[:, 1:-1]).max() > 1e-4  # not identically zero


def _hand_posterior(panel, share: float, n_draws: int = 400) -> PanelFit:
    """A posterior at known values: level log 2, sd 0.2, no AR, given share."""
    s_n, t_n = panel.n_series, panel.values.shape[1]
    g_n = len(panel.group_names)
    c, d = 1, n_draws

    def full(v, *shape):
        return np.full((c, d, *shape), float(v))

    post = {
        "level": full(np.log(2.0), s_n),
        "slope": full(0.0, s_n),
        "season": full(0.0, s_n, 12),
        "sigma": full(0.2, s_n),
        "phi": full(0.0, s_n),
        "common_sd": full(0.0),
        "group_sd": full(0.0),
        "eta": full(0.0, t_n),
        "eta_group": full(0.0, g_n, t_n),
        "cluster_share": full(share),
    }
    dims = {
        "level": ["series"],
        "slope": ["series"],
        "sigma": ["series"],
        "phi": ["series"],
        "season": ["series", "season_pos"],
        "eta": ["time"],
        "eta_group": ["group", "time"],
    }
    idata = az.from_dict(posterior=post, dims=dims)
    return PanelFit(panel, idata, DEFAULT_MODEL_CONFIG, DEFAULT_SAMPLER_CONFIG, 0, 0.0)


@pytest.mark.parametrize("share", [0.0, 0.8])
def test_simulated_draws_carry_the_cluster_correlation(share):
    panel = clustered_panel(months=24)
    draws = simulate_paths(_hand_posterior(panel, share), 3, seed=0).to_numpy()
    r = np.corrcoef(draws[:, :, 0].T)  # first future month
    same = [r[0, 1], r[0, 2], r[1, 2]]  # cluster c0
    other = [r[0, 3], r[0, 6], r[1, 4]]  # c0 vs c1 / c2
    if share == 0.0:
        assert max(abs(v) for v in same) < 0.2
    else:
        assert min(same) > 0.6  # ≈ 0.8 on the log scale
    assert max(abs(v) for v in other) < 0.2


@pytest.mark.slow
@pytest.mark.mcmc
def test_recovers_cluster_share_and_cluster_sum_intervals():
    """Fit simulated clusters (share 0.7): share recovered, cluster sums covered."""
    long = clustered_long(n_clusters=8, per_cluster=3, months=48, share=0.7, seed=3)
    first = long.drop_duplicates("s").set_index("s")
    panel = make_panel(long, key="s", groups=first["group"], clusters=first["cluster"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fit = fit_panel(
            panel,
            sampler_config={"draws": 300, "tune": 400, "progressbar": False},
            seed=2,
        )
    share = fit.idata.posterior["cluster_share"].to_numpy().ravel()
    lo, hi = np.quantile(share, [0.025, 0.975])
    assert lo < 0.7 < hi
    assert np.median(share) > 0.4
    # the spread of a cluster's summed draws matches the simulated truth
    draws = simulate_paths(fit, 1, seed=0).to_numpy()[:, :, 0]
    lab = np.asarray(panel.clusters)
    sums = np.stack([draws[:, lab == k].sum(axis=1) for k in range(8)], axis=1)
    rng = np.random.default_rng(9)
    truth = []
    for _ in range(4000):
        u = rng.standard_normal(8)
        eps = rng.standard_normal((8, 3))
        e = 0.15 * (np.sqrt(0.7) * u[:, None] + np.sqrt(0.3) * eps)
        truth.append((100.0 * np.arange(1, 4) * np.exp(e)).sum(axis=1))
    t = np.asarray(truth)
    ratio = np.std(np.log(sums), axis=0) / np.std(np.log(t), axis=0)
    assert np.all((ratio > 0.7) & (ratio < 1.4))

"""The drifting innovation scale (``model_config["sigma_trend"]``).

Fast tests: the likelihood against a plain loop with a per-period scale, the
option switched off (or at a zero drift) leaving the model unchanged, the
forecast using the scale at the origin, option validation.  Slow: a known
volatility drift recovered by MCMC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from terrakit.exceptions import SpecificationError
from terrakit.forecast import fit_panel, make_panel, simulate_paths
from terrakit.forecast.model import (
    build_forecast_model,
)

from .conftest import (
    constant_fit,
    local_level_loglik,
    perturbed_point,
    small_panel,
    tensor_values,
)


def test_sigma_trend_likelihood_matches_a_plain_loop():
    panel = small_panel()
    cfg = {"residual": "local_level", "sigma_trend": True}
    model = build_forecast_model(panel, cfg)
    point = perturbed_point(model, mu_sigma_trend=np.asarray(-0.4))
    logp = model.compile_logp(vars=model.observed_RVs)(point)
    names = ["level", "slope", "season", "sigma", "phi", "alpha", "eta", "sigma_trend"]
    vals = tensor_values(model, point, names)
    assert np.all(np.abs(vals["sigma_trend"]) > 0.05)  # a real drift is tested
    expected = local_level_loglik(panel, vals)
    np.testing.assert_allclose(logp, expected, rtol=1e-9)


def test_zero_drift_is_the_constant_scale():
    panel = small_panel()
    base_cfg = {"residual": "local_level", "common_shocks": "innovation"}
    base = build_forecast_model(panel, base_cfg)
    assert not {"sigma_trend", "mu_sigma_trend"} & set(base.named_vars)
    drift = build_forecast_model(panel, base_cfg | {"sigma_trend": True})
    point = perturbed_point(base)
    zero = perturbed_point(drift) | point
    zero |= {"mu_sigma_trend": np.asarray(0.0)}
    zero |= {"sigma_trend_raw": np.zeros(panel.n_series)}
    a = base.compile_logp(vars=base.observed_RVs)(point)
    b = drift.compile_logp(vars=drift.observed_RVs)(zero)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    moved = zero | {"mu_sigma_trend": np.asarray(0.3)}
    assert abs(drift.compile_logp(vars=drift.observed_RVs)(moved) - a) > 1.0


def test_forecast_uses_the_scale_at_the_origin():
    """A scale that fell 20-fold over the window: one step ahead it is sigma."""
    periods = pd.period_range("2020-01", periods=36, freq="M")
    long = pd.DataFrame({"s": "a", "period": periods, "sales": 100.0})
    panel = make_panel(long, key="s")
    cfg = {"residual": "local_level", "sigma_trend": True}
    kappa = -1.0  # per year: the scale 35 months before the end is e^2.9 larger
    same = {"draws": 4000, "level": np.log(2.0), "phi": 0.5, "alpha": 0.5}
    fit = constant_fit(panel, cfg, sigma=0.05, sigma_trend=kappa, **same)
    z = np.log(simulate_paths(fit, 1, seed=0).to_numpy()[:, 0, 0] / 100.0 + 1.0)
    assert z.std() == pytest.approx(0.05, rel=0.05)
    # without the drift key the draws are the constant-scale model's, exactly
    plain = constant_fit(panel, {"residual": "local_level"}, sigma=0.05, **same)
    zero = constant_fit(panel, cfg, sigma=0.05, sigma_trend=0.0, **same)
    np.testing.assert_array_equal(
        simulate_paths(plain, 3, seed=1).to_numpy(),
        simulate_paths(zero, 3, seed=1).to_numpy(),
    )


def test_bad_sigma_trend_is_explained():
    with pytest.raises(
        SpecificationError, match=r"sigma_trend'\] must be True or False, got 'yes'"
    ):
        fit_panel(small_panel(), model_config={"sigma_trend": "yes"})


@pytest.mark.slow
@pytest.mark.mcmc
def test_recovers_a_falling_innovation_scale():
    """Innovation sd falls from 0.12 to 0.04 over 6 years (kappa = -0.186/yr)."""
    rng = np.random.default_rng(3)
    months = 72
    periods = pd.period_range("2018-01", periods=months, freq="M")
    t_years = (np.arange(months) - (months - 1)) / 12
    kappa = np.log(0.12 / 0.04) / t_years[0]  # negative: the scale falls
    sd = 0.04 * np.exp(kappa * t_years)
    rows = []
    for i in range(16):
        season = 0.1 * np.sin(2 * np.pi * np.arange(months) / 12 + i)
        z = season + sd * rng.standard_normal(months)
        y = 100.0 * np.exp(z)
        rows.append(pd.DataFrame({"s": f"s{i}", "period": periods, "sales": y}))
    panel = make_panel(pd.concat(rows, ignore_index=True), key="s")
    fit = fit_panel(
        panel,
        model_config={"sigma_trend": True, "offset": 0.01},
        sampler_config={"progressbar": False, "tune": 600},
        seed=0,
    )
    post = fit.idata.posterior
    lo, hi = np.quantile(post["mu_sigma_trend"], [0.05, 0.95])
    assert lo < kappa < hi and hi < -0.05, (lo, hi, kappa)
    # the end-of-window scale (what forecasts use), not the window average
    assert 0.03 < float(post["sigma"].median()) < 0.055

"""The damped local level, innovation-share shocks and Student-t options.

Fast tests: the closed-form filter in the PyMC likelihood against a plain
loop, the AR(1) as the ``alpha -> 1`` limit, the forecast of a hand-made
posterior against the recursion done by hand, option validation and the
benchmark panels' settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from terrakit.benchmarks.forecasting import (
    FORECAST_PANELS,
    panel_model_config,
    panel_sampler_config,
)
from terrakit.exceptions import SpecificationError
from terrakit.forecast import fit_panel, make_panel, simulate_paths
from terrakit.forecast.model import (
    DEFAULT_MODEL_CONFIG,
    DEFAULT_SAMPLER_CONFIG,
    build_forecast_model,
)

from .conftest import (
    constant_fit,
    local_level_loglik,
    perturbed_point,
    small_panel,
    tensor_values,
)


def test_local_level_likelihood_matches_a_plain_loop():
    panel = small_panel()
    cfg = {"residual": "local_level"}
    model = build_forecast_model(panel, cfg)
    point = perturbed_point(model)
    logp = model.compile_logp(vars=model.observed_RVs)(point)
    names = ["level", "slope", "season", "sigma", "phi", "alpha", "eta"]
    vals = tensor_values(model, point, names)
    expected = local_level_loglik(panel, vals)
    np.testing.assert_allclose(logp, expected, rtol=1e-9)


def test_ar1_is_the_local_level_with_alpha_one():
    panel = small_panel()
    ar1 = build_forecast_model(panel, {"residual": "ar1"})
    ll = build_forecast_model(panel, {"residual": "local_level"})
    point = perturbed_point(ar1)
    ll_point = perturbed_point(ll) | point | {"mu_alpha": np.asarray(40.0)}
    a = ar1.compile_logp(vars=ar1.observed_RVs)(point)
    b = ll.compile_logp(vars=ll.observed_RVs)(ll_point)
    # equal up to the filter's floor on the per-step weight (e^-8 = 3e-4)
    np.testing.assert_allclose(a, b, rtol=3e-3)
    far = ll.compile_logp(vars=ll.observed_RVs)(ll_point | {"mu_alpha": -3.0})
    assert abs(far - a) > 100 * abs(b - a)  # a real local level differs


def test_forecast_follows_the_damped_level_by_hand():
    """Flat series, residual d every month, no noise: the level's fixed point."""
    periods = pd.period_range("2020-01", periods=36, freq="M")
    long = pd.DataFrame({"s": "a", "period": periods, "sales": 100.0})
    panel = make_panel(long, key="s")
    d, phi, alpha = 0.1, 0.9, 0.4
    fit = constant_fit(
        panel,
        {"residual": "local_level"},
        level=np.log(2.0) - d,
        phi=phi,
        alpha=alpha,
    )
    draws = simulate_paths(fit, 4, seed=0).to_numpy()[0, 0]
    lev = phi * alpha * d / (1 - phi * (1 - alpha))  # fixed point after 36 months
    e = lev * phi ** np.arange(4)  # no news: the level decays by phi
    expected = 100.0 * (np.exp(np.log(2.0) - d + e) - 1.0)
    np.testing.assert_allclose(draws, expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        ({"residual": "ar2"}, "residual'] must be 'ar1' or 'local_level'"),
        (
            {"innovation_nu": 2},
            r"innovation_nu'\] must be None \(Gaussian innovations\) or a number "
            r"> 2 .*got 2",
        ),
        ({"common_shocks": "iid"}, "common_shocks'] must be 'random_walk' or"),
    ],
)
def test_bad_model_options_are_explained(cfg, match):
    with pytest.raises(SpecificationError, match=match):
        fit_panel(small_panel(), model_config=cfg)


def test_innovation_shares_replace_the_random_walks():
    long = pd.DataFrame(
        {
            "s": np.repeat(["a", "b", "c", "d"], 24),
            "period": np.tile(pd.period_range("2020-01", periods=24, freq="M"), 4),
            "sales": 10.0 + np.arange(96) % 7,
        }
    )
    groups = pd.Series({"a": "g1", "b": "g1", "c": "g2", "d": "g2"})
    clusters = pd.Series({"a": "k1", "b": "k2", "c": "k1", "d": "k2"})
    panel = make_panel(long, key="s", groups=groups, clusters=clusters)
    model = build_forecast_model(
        panel, {"common_shocks": "innovation", "innovation_nu": 5}
    )
    free = {v.name for v in model.free_RVs}
    assert {"shock_shares", "common_raw_u", "group_raw_u", "cluster_raw_u"} <= free
    assert not {"common_sd", "common_raw", "cluster_share"} & free
    assert model.initial_point()["shock_shares_simplex__"].shape == (3,)  # 4 parts
    assert model["z"].owner.op.__class__.__name__.startswith("StudentT")


def test_panel_settings_merge_under_the_callers():
    for name in FORECAST_PANELS:
        own = FORECAST_PANELS[name].get("model_config", {})
        assert panel_model_config(name) == own
        assert set(own) <= set(DEFAULT_MODEL_CONFIG)
        merged = panel_model_config(name, {"residual": "ar1", "offset": 0.5})
        assert merged == own | {"residual": "ar1", "offset": 0.5}
        tuning = FORECAST_PANELS[name].get("sampler_config", {})
        assert set(tuning) <= set(DEFAULT_SAMPLER_CONFIG)
        assert panel_sampler_config(name, {"draws": 10}) == tuning | {"draws": 10}
        assert panel_sampler_config(name, {"tune": 5})["tune"] == 5


@pytest.mark.slow
@pytest.mark.mcmc
def test_recovers_the_smoothing_weight_of_a_damped_local_level():
    """Simulated damped local levels (alpha 0.3, phi 0.95): alpha is recovered."""
    rng = np.random.default_rng(1)
    periods = pd.period_range("2020-01", periods=48, freq="M")
    rows = []
    for i in range(20):
        lev, z = 0.0, []
        for _ in range(48):
            e = lev + 0.08 * rng.standard_normal()
            lev = 0.95 * (lev + 0.3 * (e - lev))
            z.append(e)
        season = 0.1 * np.sin(2 * np.pi * np.arange(48) / 12)
        y = 100.0 * np.exp(np.asarray(z) + season)
        rows.append(pd.DataFrame({"s": f"s{i}", "period": periods, "sales": y}))
    panel = make_panel(pd.concat(rows, ignore_index=True), key="s")
    fit = fit_panel(
        panel,
        model_config={"residual": "local_level"},
        sampler_config={"progressbar": False, "tune": 600},
        seed=0,
    )
    alpha = float(fit.idata.posterior["alpha"].mean())
    assert 0.15 < alpha < 0.5, alpha

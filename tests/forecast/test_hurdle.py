"""The hurdle for zero months (``zeros="hurdle"``) and zero-aware summaries.

Fast tests: the transformed data, the occurrence likelihood against a hand
computation, simulated occurrence with and without the shared cluster effect
(a hand-made posterior), interval rules on draws with a point mass at zero,
option validation and the superstore settings.  The slow test fits simulated
intermittent series whose clusters have their empty months together.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from terrakit.benchmarks.forecasting import FORECAST_PANELS
from terrakit.exceptions import SpecificationError
from terrakit.forecast import fit_panel, make_panel, simulate_paths
from terrakit.forecast.model import (
    DEFAULT_MODEL_CONFIG,
    _prepare,
    build_forecast_model,
    summarise_draws,
)

from .conftest import (
    cluster_series,
    constant_fit,
    grouped_panel,
    perturbed_point,
    tensor_values,
)

HURDLE = {"zeros": "hurdle"}


def intermittent_long(
    n_clusters: int = 2,
    per_cluster: int = 3,
    months: int = 24,
    p_sell: float = 0.5,
    kappa: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Series that sell 100 × lognormal(0, 0.3) in a month with probability
    ``expit(logit(p_sell) + kappa v)``, ``v ~ N(0, 1)`` shared per cluster and
    month; otherwise 0."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range("2020-01", periods=months, freq="M")
    v = rng.standard_normal((n_clusters, months))
    base = np.log(p_sell / (1 - p_sell))
    rows = []
    for k in range(n_clusters):
        p = expit(base + kappa * v[k])
        for j in range(per_cluster):
            sells = rng.random(months) < p
            y = np.where(sells, 100.0 * rng.lognormal(0.0, 0.3, months), 0.0)
            rows.append(cluster_series("k", k, j, periods, y))
    return pd.concat(rows, ignore_index=True)


def intermittent_panel(**kw):
    return grouped_panel(intermittent_long(**kw))


def test_hurdle_data_are_the_positive_months_and_their_occurrence():
    long = pd.DataFrame(
        {
            "s": "a",
            "period": pd.period_range("2020-01", periods=5, freq="M"),
            "sales": [0.0, 30.0, 0.0, 90.0, 60.0],
        }
    )
    panel = make_panel(long, key="s")
    prep = _prepare(panel, DEFAULT_MODEL_CONFIG | HURDLE)
    assert prep.scale[0] == pytest.approx(60.0)  # mean of the positive months
    np.testing.assert_array_equal(prep.occ[0], [0.0, 1.0, 0.0, 1.0, 1.0])
    c = DEFAULT_MODEL_CONFIG["hurdle_offset"]
    expected = np.log(np.array([30.0, 90.0, 60.0]) / 60.0 + c)
    np.testing.assert_allclose(prep.z[0, [1, 3, 4]], expected)
    assert np.isnan(prep.z[0, [0, 2]]).all()
    plain = _prepare(panel, DEFAULT_MODEL_CONFIG)  # the default: zeros on log(1)
    assert plain.occ is None
    assert plain.z[0, 0] == pytest.approx(0.0)


@pytest.mark.parametrize("link", ["logit", "cloglog"])
def test_occurrence_likelihood_matches_a_hand_computation(link):
    panel = intermittent_panel()
    model = build_forecast_model(panel, HURDLE | {"occurrence_link": link})
    assert {"occ_level", "occ_slope", "occ_season", "occ_cluster_sd"} <= set(
        model.named_vars
    )
    assert "occ_level" not in build_forecast_model(panel).named_vars
    point = perturbed_point(model, scale=0.4, seed=3)
    got = model.compile_logp(vars=[model["occurs"]])(point)
    names = ["occ_level", "occ_slope", "occ_season", "occ_cluster_sd"]
    names.append("occ_cluster_raw")
    vals = tensor_values(model, point, names)
    lev, slope, season, kappa, u = (vals[n] for n in names)
    y = panel.values
    t_years = (np.arange(24) - 23) / 12
    pos = np.mod(np.asarray(panel.periods.asi8), 12)
    expected = 0.0
    for i in range(panel.n_series):
        g, k = panel.groups[i], panel.clusters[i]
        for t in range(24):
            x = lev[i] + slope[i] * t_years[t] + season[g, pos[t]] + kappa * u[k, t]
            if link == "logit":
                log_p, log_q = np.log(expit(x)), np.log(expit(-x))
            else:  # P(sell) = 1 - exp(-e^x)
                log_p, log_q = np.log(-np.expm1(-np.exp(x))), -np.exp(x)
            expected += log_p if y[i, t] > 0 else log_q
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def _hurdle_fit(panel, p_sell: float, kappa: float, link: str = "logit"):
    """Positive months exactly at the series mean, occurrence as given."""
    c = DEFAULT_MODEL_CONFIG["hurdle_offset"]
    occ = (
        np.log(p_sell / (1 - p_sell)) if link == "logit" else np.log(-np.log1p(-p_sell))
    )
    return constant_fit(
        panel,
        HURDLE | {"occurrence_link": link},
        draws=4000,
        level=np.log(1.0 + c),
        sigma=0.0,
        occ_level=occ,
        occ_slope=0.0,
        occ_season=0.0,
        occ_cluster_sd=kappa,
    )


@pytest.mark.parametrize("kappa", [0.0, 3.0])
@pytest.mark.parametrize("link", ["logit", "cloglog"])
def test_simulated_zero_months_follow_the_occurrence_model(kappa, link):
    panel = intermittent_panel()
    fit = _hurdle_fit(panel, p_sell=0.4, kappa=kappa, link=link)
    draws = simulate_paths(fit, 2, seed=0).to_numpy()
    scale = _prepare(panel, fit.model_config).scale
    sold = draws > 0
    # a month that sells, sells the series' positive-month mean
    np.testing.assert_allclose(
        draws[sold], np.broadcast_to(scale[None, :, None], draws.shape)[sold], 1e-5
    )
    # P(sell) = E[expit(logit 0.4 + kappa v)], by quadrature
    v = np.linspace(-8, 8, 4001)
    w = np.exp(-0.5 * v**2) / np.sqrt(2 * np.pi) * (v[1] - v[0])
    if link == "logit":
        p = expit(np.log(0.4 / 0.6) + kappa * v)
    else:
        p = -np.expm1(-np.exp(np.log(-np.log(0.6)) + kappa * v))
    assert sold.mean() == pytest.approx(float(np.sum(w * p)), abs=0.01)
    # the 3 series of a cluster are empty together as often as the model says
    lab = np.asarray(panel.clusters)
    all_zero = np.mean([~sold[:, lab == k].any(axis=1) for k in range(2)])
    assert all_zero == pytest.approx(float(np.sum(w * (1 - p) ** 3)), abs=0.015)
    if kappa == 0.0:
        assert all_zero == pytest.approx(0.6**3, abs=0.015)
    else:
        assert all_zero > 0.35  # independent months would give 0.6^3 = 0.216


def test_zero_atom_intervals_hold_their_nominal_share():
    rng = np.random.default_rng(0)
    n = 200_000
    y = np.where(rng.random(n) < 0.6, 0.0, rng.lognormal(0.0, 1.0, n))
    central = summarise_draws(y[:, None])
    atom = summarise_draws(y[:, None], intervals="zero_atom")
    assert central["lo80"][0] == 0.0
    assert np.mean(y <= central["hi80"][0]) == pytest.approx(0.9, abs=0.003)
    assert atom["lo80"][0] == 0.0 and atom["lo95"][0] == 0.0
    assert np.mean(y <= atom["hi80"][0]) == pytest.approx(0.8, abs=0.003)
    assert np.mean(y <= atom["hi95"][0]) == pytest.approx(0.95, abs=0.003)
    assert atom["mean"][0] == pytest.approx(y.mean())
    assert summarise_draws(y[:, None], point="median")["mean"][0] == 0.0
    # without a point mass the rule is the central interval
    x = rng.lognormal(0.0, 1.0, (5000, 3))
    a, b = summarise_draws(x), summarise_draws(x, intervals="zero_atom")
    for key in ("lo80", "hi80", "lo95", "hi95"):
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"point": "mode"}, "point must be 'mean' or 'median', got 'mode'"),
        ({"intervals": "hpd"}, "intervals must be 'central' or 'zero_atom'"),
    ],
)
def test_bad_summaries_are_explained(kw, match):
    with pytest.raises(SpecificationError, match=match):
        summarise_draws(np.ones((10, 2)), **kw)


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        ({"zeros": "tweedie"}, "zeros'] must be 'offset' or 'hurdle', got 'tweedie'"),
        (HURDLE | {"occurrence_link": "probit"}, "must be 'logit' or 'cloglog'"),
        (
            HURDLE | {"hurdle_offset": -0.1},
            r"hurdle_offset'\] must be a number in \[0, 1\], got -0\.1",
        ),
    ],
)
def test_bad_hurdle_options_are_explained(cfg, match):
    with pytest.raises(SpecificationError, match=match):
        fit_panel(intermittent_panel(), model_config=cfg)


def test_superstore_settings_are_valid():
    spec = FORECAST_PANELS["superstore"]
    assert spec["model_config"]["zeros"] == "hurdle"
    out = summarise_draws(np.zeros((5, 2, 3)), **spec["summary"])
    assert out["hi80"].shape == (2, 3)
    for name, other in FORECAST_PANELS.items():
        if name != "superstore":  # the other panels keep the defaults
            assert other.get("model_config", {}).get("zeros", "offset") == "offset"


@pytest.mark.slow
@pytest.mark.mcmc
def test_fitted_hurdle_recovers_joint_empty_months():
    """Clusters empty together (kappa 2): kappa > 0, joint zeros reproduced."""
    long = intermittent_long(
        n_clusters=10, per_cluster=3, months=36, p_sell=0.5, kappa=2.0, seed=4
    )
    first = long.drop_duplicates("s").set_index("s")
    panel = make_panel(long, key="s", groups=first["group"], clusters=first["cluster"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fit = fit_panel(
            panel,
            model_config=HURDLE,
            sampler_config={"draws": 300, "tune": 500, "progressbar": False},
            seed=1,
        )
    kappa = fit.idata.posterior["occ_cluster_sd"].to_numpy().ravel()
    lo, hi = np.quantile(kappa, [0.025, 0.975])
    assert lo < 2.0 < hi and lo > 0.5
    draws = simulate_paths(fit, 1, seed=0).to_numpy()[:, :, 0]
    lab = np.asarray(panel.clusters)
    all_zero = np.mean([(draws[:, lab == k] == 0).all(axis=1) for k in range(10)])
    v = np.linspace(-8, 8, 4001)
    w = np.exp(-0.5 * v**2) / np.sqrt(2 * np.pi) * (v[1] - v[0])
    truth = float(np.sum(w * (1 - expit(2.0 * v)) ** 3))  # ≈ 0.30
    assert all_zero == pytest.approx(truth, abs=0.08)


def test_draws_to_frame_follows_the_summary_rules():
    import xarray as xr

    from terrakit.benchmarks.forecasting import draws_to_frame

    rng = np.random.default_rng(1)
    a = np.where(rng.random((1000, 2, 1)) < 0.5, 0.0, rng.lognormal(0, 1, (1000, 2, 1)))
    draws = xr.DataArray(
        a,
        dims=("draw", "series", "period"),
        coords={
            "series": ["x", "y"],
            "period": pd.period_range("2021-01", periods=1, freq="M"),
        },
    )
    plain = draws_to_frame(draws)
    assert list(plain.columns) == [
        "series",
        "period",
        "mean",
        *"lo80 hi80 lo95 hi95".split(),
    ]
    zero = draws_to_frame(draws, point="median", intervals="zero_atom")
    assert list(zero.columns)[:4] == ["series", "period", "mean", "median"]
    np.testing.assert_allclose(zero["mean"], a.mean(axis=0).ravel())
    np.testing.assert_allclose(zero["median"], np.median(a, axis=0).ravel())
    np.testing.assert_allclose(zero["hi80"], np.quantile(a, 0.8, axis=0).ravel())
    assert (zero["lo80"] == 0).all() and (plain["lo80"] == 0).all()

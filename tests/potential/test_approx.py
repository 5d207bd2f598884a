"""The sparse nested Laplace path of the unit-level model, against dense algebra."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from terrakit.exceptions import TerrakitWarning
from terrakit.potential import PotentialModel
from terrakit.potential.approx import UnitProblem, _Conditional
from terrakit.potential.model import _merge_model_config, prepare_unit_data


def _icar(study):
    """Structured units and the scaled ICAR covariance (dense pseudo-inverse).

    Per connected component: the pseudo-inverse of its Laplacian divided by
    the geometric mean of its diagonal (the BYM2 scaling).
    """
    from scipy.sparse.csgraph import connected_components

    from terrakit.data.geo import adjacency

    w = adjacency(study.units, warn=False).matrix.toarray().astype(float)
    struct = np.flatnonzero(w.sum(axis=1) > 0)
    ws = w[np.ix_(struct, struct)]
    _, comp = connected_components(ws, directed=False)
    cov = np.zeros_like(ws)
    for c in np.unique(comp):
        m = np.flatnonzero(comp == c)
        wc = ws[np.ix_(m, m)]
        qplus = np.linalg.pinv(np.diag(wc.sum(axis=1)) - wc)
        cov[np.ix_(m, m)] = qplus / np.exp(np.mean(np.log(np.diag(qplus))))
    return len(w), struct, cov


def _dense(study, sigma, rho, icar=None):
    """Dense BYM2 covariance of the units and the structured units."""
    n, struct, c_icar = icar or _icar(study)
    cov = np.full(n, 1.0)
    cov[struct] = 1.0 - rho
    cov = np.diag(cov)
    cov[np.ix_(struct, struct)] += rho * c_icar
    return sigma**2 * cov, struct


def _problem(study):
    cfg = _merge_model_config(None)
    data = prepare_unit_data(study, cfg, spectrum=False)
    return data, UnitProblem.from_data(data, cfg), cfg


def test_sparse_graph_has_the_exact_scaling_factor(grid_with_island):
    """No eigen-decomposition, same scaling factor as the spectral graph."""
    cfg = _merge_model_config(None)
    sparse = prepare_unit_data(grid_with_island, cfg, spectrum=False).graph
    spectral = prepare_unit_data(grid_with_island, cfg).graph
    assert sparse.spectrum is None and spectral.spectrum is not None
    np.testing.assert_allclose(sparse.scale, spectral.scale, rtol=1e-10)


def test_log_marginal_is_the_dense_marginal_likelihood(grid_with_island):
    """log p(y | sigma, rho), alpha and beta integrated out, up to one constant.

    Dense reference: the observed log-sales are normal with covariance
    ``X P⁻¹ Xᵀ + Σ_BYM2`` (rows and columns of the units with sales); u3 has
    no sales and u10 is an island.
    """
    data, prob, _ = _problem(grid_with_island)
    obs = data.buyers
    xt = prob.design
    prior = np.diag(1.0 / prob.prior_prec)
    diffs = []
    for sigma, rho in [(0.7, 0.6), (1.3, 0.2), (0.4, 0.9), (2.0, 0.5)]:
        u = np.array([np.log(sigma), np.log(rho / (1 - rho))])
        sparse = _Conditional(prob, u).log_marginal()
        cov, _ = _dense(grid_with_island, sigma, rho)
        full = cov + xt @ prior @ xt.T
        dense = multivariate_normal(np.zeros(obs.sum()), full[np.ix_(obs, obs)]).logpdf(
            prob.y[obs]
        )
        diffs.append(sparse - dense)
    assert np.ptp(diffs) < 1e-8, diffs


def test_component_without_sales_keeps_the_marginal_exact(grid_with_island):
    """A second component (two units far away) where no unit has sales.

    Its constant mode is unidentified by the data; the extra precision along
    it must not change ``log p(y | theta)`` (compared with the dense BYM2
    marginal at several hyperparameters) and the draws keep its sum at zero.
    """
    import geopandas as gpd
    from shapely.geometry import box

    units = grid_with_island.units
    far = [box(9e5 + 1e4 * c, 3.7e6, 9e5 + 1e4 * (c + 1), 3.7e6 + 1e4) for c in (0, 1)]
    extra = gpd.GeoDataFrame(
        {"population": [2500.0, 4000.0], "income": [31_000.0, 36_000.0]},
        geometry=far,
        crs=units.crs,
        index=pd.Index(["v1", "v2"], name="unit_id"),
    )
    extra["sales"] = 0.0
    study = grid_with_island.replace(units=pd.concat([units, extra]), accounts=None)
    data, prob, _ = _problem(study)
    assert len(prob.comp_size) == 2 and len(prob.no_buyer) == 1
    obs = data.buyers
    prior = prob.design @ np.diag(1.0 / prob.prior_prec) @ prob.design.T
    icar = _icar(study)
    diffs = []
    for sigma, rho in [(0.7, 0.6), (1.3, 0.2), (0.4, 0.9)]:
        u = np.array([np.log(sigma), np.log(rho / (1 - rho))])
        cond = _Conditional(prob, u)
        cov, _ = _dense(study, sigma, rho, icar)
        full = (cov + prior)[np.ix_(obs, obs)]
        dense = multivariate_normal(np.zeros(obs.sum()), full).logpdf(prob.y[obs])
        diffs.append(cond.log_marginal() - dense)
    assert np.ptp(diffs) < 1e-8, diffs
    f, _, _ = cond.draw(50, np.random.default_rng(1))
    assert np.abs(prob.constraint @ f).max() < 1e-9


def test_conditional_mean_and_draws_match_dense_gaussian(grid_with_island):
    """Given (sigma, rho): mean of (f, alpha, beta) and the draws' covariance.

    Dense reference: ``z = (effect on units, alpha, beta)`` is jointly normal
    with the observed log-sales; condition on them.
    """
    data, prob, _ = _problem(grid_with_island)
    sigma, rho = 0.8, 0.7
    cov, _ = _dense(grid_with_island, sigma, rho)
    n, p = prob.design.shape
    struct = prob.struct  # the structured units, in the solver's order
    # covariance of the structured effect alone (BYM2 minus its iid part)
    c_f = cov.copy()
    c_f[np.diag_indices(n)] -= np.where(prob.island, sigma**2, sigma**2 * (1 - rho))
    c_f = c_f[np.ix_(struct, struct)]
    c_g = np.diag(1.0 / prob.prior_prec)
    obs = data.buyers
    # joint covariance of (f, gamma, y_obs)
    e_s = np.zeros((n, len(struct)))
    e_s[struct, np.arange(len(struct))] = 1.0
    c_yf = (e_s @ c_f)[obs]
    c_yg = (prob.design @ c_g)[obs]
    c_yy = (cov + prob.design @ c_g @ prob.design.T)[np.ix_(obs, obs)]
    cross = np.hstack([c_yf, c_yg])  # (n_obs, n_s + p)
    prior = np.block(
        [[c_f, np.zeros((len(struct), p))], [np.zeros((p, len(struct))), c_g]]
    )
    gain = np.linalg.solve(c_yy, cross).T
    mean = gain @ prob.y[obs]
    post_cov = prior - gain @ cross
    u = np.array([np.log(sigma), np.log(rho / (1 - rho))])
    cond = _Conditional(prob, u)
    np.testing.assert_allclose(np.r_[cond.f, cond.g], mean, atol=1e-9)
    f, g, _ = cond.draw(20_000, np.random.default_rng(0))
    z = np.vstack([f, g])
    np.testing.assert_allclose(np.cov(z), post_cov, atol=0.03 * post_cov.max())
    # the draws satisfy the sum-to-zero constraint exactly
    assert np.abs(f.sum(axis=0)).max() < 1e-9


def test_fast_path_fits_and_keeps_the_result_shape(grid_with_island):
    """method='laplace' at unit level: same variables, tables and draws."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        res = PotentialModel(
            sampler_config={"method": "laplace", "vi_draws": 300, "progressbar": False}
        ).fit(grid_with_island, level="unit", seed=1)
    post = res.idata.posterior
    for name in ("alpha", "beta", "sigma", "rho", "phi", "log_sales_missing"):
        assert name in post, name
    assert post.sizes["chain"] == 1 and post.sizes["draw"] == 300
    assert post["phi"].sizes["spatial_unit"] == 9
    assert res.draws("unit").shape == (10, 300)
    assert list(res.to_frame().index) == list(grid_with_island.units.index)
    assert "laplace" in res.diagnostics(warn=False).summary()
    assert res.method == "laplace"


def _reference_log_potential(study, quantile=0.9):
    """Posterior mean and SD of log potential per unit by brute-force quadrature.

    For each (sigma, rho) of a fine grid in (log sigma, logit rho): the dense
    marginal likelihood of the observed log-sales (alpha, beta integrated
    out), and the Gaussian conditional of the linear predictor; the
    hyperparameters are then integrated with prior x likelihood weights.
    """
    from scipy.special import expit, ndtri

    data, prob, _ = _problem(study)
    obs = data.buyers
    x = prob.design
    c_g = x @ np.diag(1.0 / prob.prior_prec) @ x.T
    z_q = ndtri(quantile)
    log_s = np.linspace(-3.0, 2.5, 56)
    logit_r = np.linspace(-12.0, 12.0, 61)
    icar = _icar(study)
    logw, m1, m2 = [], [], []
    for ls in log_s:
        for lr in logit_r:
            sigma, rho = np.exp(ls), expit(lr)
            cov, _ = _dense(study, sigma, rho, icar)
            iid = np.where(prob.island, sigma**2, sigma**2 * (1 - rho))
            c_eta = c_g + cov - np.diag(iid)  # covariance of the linear predictor
            c_yy = (c_g + cov)[np.ix_(obs, obs)]
            chol = np.linalg.cholesky(c_yy)
            a = np.linalg.solve(chol, prob.y[obs])
            loglik = -np.log(np.diag(chol)).sum() - 0.5 * a @ a
            k = np.linalg.solve(c_yy, c_eta[:, obs].T).T
            mean = k @ prob.y[obs]
            var = np.diag(c_eta - k @ c_eta[obs, :])
            logp = data.log_center + mean + z_q * np.sqrt(iid)
            prior = -0.5 * sigma**2 + ls + np.log(rho) + np.log1p(-rho)
            logw.append(loglik + prior)
            m1.append(logp)
            m2.append(var + logp**2)
    w = np.exp(np.array(logw) - max(logw))
    w /= w.sum()
    mean = w @ np.array(m1)
    sd = np.sqrt(w @ np.array(m2) - mean**2)
    return mean, sd


def test_fast_path_means_match_brute_force_quadrature(grid_with_island):
    """Whole pipeline vs a closed-form reference on 10 units (9 with sales).

    The fixture's sales are exactly proportional to population (sigma -> 0),
    so they get a fixed log-normal disturbance (SD 0.5).  With 9
    observations the posterior of (sigma, rho) is far from Gaussian, which
    exercises the grid integration; the reference integrates it on a
    56 x 61 grid.  4,000 draws: Monte Carlo error of a mean ~0.016 SD.
    """
    units = grid_with_island.units.copy()
    noise = np.random.default_rng(5).normal(0.0, 0.5, len(units))
    units["sales"] = units["sales"] * np.exp(noise)
    study = grid_with_island.replace(units=units)
    mean, sd = _reference_log_potential(study)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        res = PotentialModel(
            sampler_config={"method": "laplace", "vi_draws": 4000, "progressbar": False}
        ).fit(study, level="unit", seed=0)
    logpot = np.log(res.draws("unit").to_numpy())
    z = np.abs(logpot.mean(axis=1) - mean) / sd
    assert z.max() < 0.1, z
    np.testing.assert_allclose(logpot.std(axis=1) / sd, 1.0, atol=0.08)


def test_fast_path_without_spatial_effect(grid_with_island):
    """spatial='none': one hyperparameter (sigma), no rho and no phi."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        res = PotentialModel(
            model_config={"spatial": "none"},
            sampler_config={"method": "laplace", "vi_draws": 200, "progressbar": False},
        ).fit(grid_with_island, level="unit", seed=0)
    post = res.idata.posterior
    assert "rho" not in post and "phi" not in post
    assert post["sigma"].sizes["draw"] == 200
    assert np.isfinite(res.to_frame()["potential_mean"]).all()


def test_fast_path_same_seed_same_draws(grid_with_island):
    """Equal seeds give identical draws; another seed gives other draws."""

    def fit(seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TerrakitWarning)
            cfg = {"method": "laplace", "vi_draws": 100, "progressbar": False}
            return PotentialModel(sampler_config=cfg).fit(
                grid_with_island, level="unit", seed=seed
            )

    a, b, c = fit(3), fit(3), fit(4)
    for name in ("alpha", "sigma", "rho", "phi", "log_sales_missing", "h_beta"):
        x = a.idata.posterior[name].to_numpy()
        assert np.array_equal(x, b.idata.posterior[name].to_numpy()), name
        assert not np.array_equal(x, c.idata.posterior[name].to_numpy()), name


def _three_buyers():
    """12 units on a 3 × 4 grid, 3 with sales: as many buyers as coefficients."""
    import geopandas as gpd
    from shapely.geometry import box

    from terrakit.data.study import Study

    rng = np.random.default_rng(0)
    s = 10_000.0
    cells = [(r, c) for r in range(3) for c in range(4)]
    sales = np.zeros(12)
    sales[[0, 3, 10]] = [5200.0, 800.0, 2100.0]
    units = gpd.GeoDataFrame(
        {
            "population": rng.integers(2_000, 50_000, 12).astype(float),
            "income": rng.integers(30_000, 60_000, 12).astype(float),
            "sales": sales,
        },
        geometry=[box(c * s, r * s, (c + 1) * s, (r + 1) * s) for r, c in cells],
        crs="EPSG:32617",
        index=pd.Index([f"u{k}" for k in range(12)], name="unit_id"),
    )
    return Study(units)


def test_exact_fit_of_few_buyers_finds_the_true_mode_of_sigma():
    """3 buyers, intercept + 2 covariates: least squares fits them exactly.

    The residual SD is rounding noise (~4e-16); started there, Newton used to
    settle on a spurious peak at sigma ~3e-16 (38 nats below the mode) and
    give the buyers zero-width intervals.  The mode must match a brute-force
    scan of log sigma, and the draws of sigma stay far from 0.
    """
    from terrakit.potential.approx import _grid

    study = _three_buyers()
    cfg = _merge_model_config({"spatial": "none"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        prob = UnitProblem.from_data(prepare_unit_data(study, cfg), cfg)
    grid = np.linspace(-4.0, 2.0, 601)
    lp = [
        _Conditional(prob, np.array([v])).log_marginal() + prob.log_prior(np.array([v]))
        for v in grid
    ]
    _, _, _, info = _grid(prob)
    assert info["optimizer_success"]
    assert abs(info["mode"][0] - grid[int(np.argmax(lp))]) < 0.02, info["mode"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        res = PotentialModel(
            model_config={"spatial": "none"},
            sampler_config={"method": "laplace", "vi_draws": 500, "progressbar": False},
        ).fit(study, level="unit", seed=0)
    assert float(res.idata.posterior["sigma"].min()) > 1e-3
    frame = res.to_frame().loc[["u0", "u3", "u10"]]
    assert (frame["potential_q95"] / frame["potential_q05"] > 2.0).all(), frame


def test_bym2_fit_of_few_buyers_runs():
    """The same data with the BYM2 effect (default): it used to crash with
    numpy's 'zero-size array to reduction operation maximum'."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        res = PotentialModel(
            sampler_config={"method": "laplace", "vi_draws": 500, "progressbar": False}
        ).fit(_three_buyers(), level="unit", seed=0)
    post = res.idata.posterior
    assert post.attrs["laplace_converged"] == 1
    assert float(post["sigma"].min()) > 1e-3
    assert np.isfinite(res.to_frame()["potential_mean"]).all()


_NO_MODE = (
    "the approximate fit (method='laplace') found no usable posterior mode of "
    "(sigma, rho): {what}. Likely cause: with 3 units with sales and 3 "
    "coefficients (intercept + 2 covariates) the regression fits the sales "
    "exactly, so the data say nothing about the sales scale sigma. Fix: fit with "
    "sampler_config={{'method': 'nutpie'}}, use fewer covariates "
    "(model_config['unit_covariates']) or add units with sales"
)


def test_unusable_log_posterior_is_a_specification_error(monkeypatch):
    """No finite density at the start, or a non-finite curvature at the mode:
    a SpecificationError that names the cause and the fix (no numpy error)."""
    import re

    import terrakit.potential.approx as ap
    from terrakit.exceptions import SpecificationError

    cfg = _merge_model_config(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        prob = UnitProblem.from_data(prepare_unit_data(_three_buyers(), cfg), cfg)
    with monkeypatch.context() as mp:
        mp.setattr(ap._Conditional, "log_marginal", lambda self: -np.inf)
        what = "the log posterior is not finite at the start"
        with pytest.raises(
            SpecificationError, match=re.escape(_NO_MODE.format(what=what))
        ):
            ap._grid(prob)
    with monkeypatch.context() as mp:
        mp.setattr(ap, "_newton", lambda f, u, h: (u, np.full((2, 2), np.inf), True))
        what = "the curvature of the log posterior at its mode is not finite"
        with pytest.raises(
            SpecificationError, match=re.escape(_NO_MODE.format(what=what))
        ):
            ap._grid(prob)

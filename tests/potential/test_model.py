"""PotentialModel with mocked sampling: configs, tables, draws, storage, bad input."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, ndtri
from scipy.stats import norm

from terrakit import __version__
from terrakit._sampling import merge_sampler_config
from terrakit.data import Study
from terrakit.exceptions import (
    ConvergenceWarning,
    DataValidationError,
    SpecificationError,
    TerrakitError,
    TerrakitWarning,
)
from terrakit.potential import (
    DEFAULT_MODEL_CONFIG,
    PotentialModel,
    PotentialResult,
    build_account_model,
    build_unit_model,
    posterior_predictive_check,
)
from terrakit.potential.result import _predictors


def _fit(study, level, **cfg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        return PotentialModel(model_config=cfg).fit(study, level=level, seed=3)


# -- configuration -------------------------------------------------------------------
def test_model_config_merges_over_defaults(no_mcmc, grid_with_island):
    res = _fit(grid_with_island, "unit", potential_quantile=0.8)
    cfg = res.model_config
    assert cfg["potential_quantile"] == 0.8
    assert cfg["unit_covariates"] == DEFAULT_MODEL_CONFIG["unit_covariates"]
    assert res.idata.attrs["terrakit_version"] == __version__
    assert len(res.config_hash) == 16


def test_unknown_config_keys_are_refused(grid_with_island):
    with pytest.raises(SpecificationError, match="unknown model_config keys"):
        PotentialModel(model_config={"quantile": 0.9}).fit(grid_with_island)
    with pytest.raises(SpecificationError, match="unknown sampler_config keys"):
        merge_sampler_config({"samples": 10})
    with pytest.raises(SpecificationError, match="must be one of"):
        merge_sampler_config({"method": "gibbs"})
    with pytest.raises(SpecificationError, match=r"\[0.5, 1\)"):
        PotentialModel(model_config={"potential_quantile": 1.2}).fit(grid_with_island)
    with pytest.raises(SpecificationError, match="level must be"):
        PotentialModel().fit(grid_with_island, level="territory")  # type: ignore
    # refused when the model is made, before any data is read
    with pytest.raises(
        SpecificationError, match=r"unknown sampler_config keys \['draw'"
    ):
        PotentialModel(sampler_config={"draw": 10})
    with pytest.raises(SpecificationError, match=r"unknown model_config keys \['quan"):
        PotentialModel(model_config={"quantile": 0.9})
    with pytest.raises(SpecificationError, match="seed must be a non-negative"):
        PotentialModel().fit(grid_with_island, level="unit", seed=-1)


def test_pathfinder_without_pymc_extras_names_the_fix(grid_with_island):
    pytest.importorskip("pymc")
    try:
        import pymc_extras  # noqa: F401
    except ImportError:
        with pytest.raises(SpecificationError, match="pip install pymc-extras"):
            PotentialModel(
                sampler_config={"method": "pathfinder", "progressbar": False}
            ).fit(grid_with_island, level="unit")
    else:  # pragma: no cover
        pytest.skip("pymc-extras is installed")


# -- the models ---------------------------------------------------------------------
def test_build_functions_return_pymc_models(grid_with_island):
    import pymc as pm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        acc = build_account_model(grid_with_island)
    unit = build_unit_model(grid_with_island)
    assert isinstance(acc, pm.Model) and isinstance(unit, pm.Model)
    assert {"alpha", "b_segment", "z_group", "h_alpha"} <= set(acc.named_vars)
    # default: the field is integrated out; u3 (no sales) has latent log-sales
    assert {"rho", "log_sales_missing"} <= set(unit.named_vars)
    assert "phi" not in unit.named_vars
    assert list(unit.coords["non_buyer"]) == ["u3"]
    sampled = build_unit_model(grid_with_island, {"spectral_max_units": 1})
    assert {"phi", "rho", "icar"} <= set(sampled.named_vars)
    # the island u10 carries no structured effect
    assert "u10" not in list(sampled.coords["spatial_unit"])
    no_sp = build_unit_model(grid_with_island, {"spatial": "none"})
    assert "phi" not in no_sp.named_vars and "rho" not in no_sp.named_vars


def _loglik_numpy(res, s):
    mu, sd, p = _predictors(res.idata)
    sales = res.sales.to_numpy()
    buy = sales > 0
    c = res.idata.attrs["log_center"]
    ll = norm.logpdf(np.log(sales[buy]) - c, mu[s, buy], sd[s, buy]).sum()
    return ll + np.log(np.where(buy, p[s], 1 - p[s])).sum()


@pytest.mark.parametrize(
    ("level", "cfg"),
    [
        ("account", {}),
        ("unit", {"spectral_max_units": 1}),  # sampled ICAR field
        ("unit", {"spatial": "none"}),
    ],
)
def test_numpy_predictors_match_the_pymc_likelihood(
    no_mcmc, grid_with_island, level, cfg
):
    """The potentials are computed in numpy; they must use the model's mu/sd."""
    import pytensor.tensor as pt

    res = _fit(grid_with_island, level, **cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        model = PotentialModel(model_config=cfg).build_model(grid_with_island, level)
    post = res.idata.posterior
    point = {}
    for rv in model.free_RVs:
        val = post[rv.name].isel(chain=0, draw=7).to_numpy()
        tr = model.rvs_to_transforms.get(rv)
        vv = model.rvs_to_values[rv]
        point[vv.name] = (
            tr.forward(pt.as_tensor(val), *rv.owner.inputs).eval()
            if tr is not None
            else val
        )
    logp = model.compile_logp(vars=model.observed_RVs)(point)
    assert float(logp) == pytest.approx(_loglik_numpy(res, 7), rel=1e-9)


def _dense_bym2(study, sigma, rho):
    """BYM2 covariance of the units of ``study`` built densely (pseudo-inverse)."""
    from terrakit.data.geo import adjacency

    w = adjacency(study.units, warn=False).matrix.toarray().astype(float)
    n = len(w)
    struct = np.flatnonzero(w.sum(axis=1) > 0)  # one component + islands here
    ws = w[np.ix_(struct, struct)]
    qplus = np.linalg.pinv(np.diag(ws.sum(axis=1)) - ws)
    scale = np.exp(np.mean(np.log(np.diag(qplus))))
    cov = np.diag(np.where(w.sum(axis=1) > 0, 1.0 - rho, 1.0))
    cov[np.ix_(struct, struct)] += rho * qplus / scale
    return sigma**2 * cov, struct, n


def test_spectral_likelihood_is_the_dense_bym2_marginal(grid_with_island):
    """The integrated model's log-sales density equals the dense MVN of BYM2."""
    from scipy.stats import multivariate_normal

    from terrakit.potential.model import _merge_model_config, prepare_unit_data

    model = build_unit_model(grid_with_island)
    data = prepare_unit_data(grid_with_island, _merge_model_config(None))
    alpha, beta, sigma, rho, y_u3 = 0.3, np.array([0.5, -0.2]), 0.7, 0.6, -0.4
    point = {
        "alpha": alpha,
        "beta": beta,
        "sigma_log__": np.log(sigma),
        "rho_logodds__": np.log(rho / (1 - rho)),
        "log_sales_missing": np.array([y_u3]),
        "h_alpha": 0.0,
        "h_beta": np.zeros(2),
    }
    logp = model.compile_logp(vars=[model["log_sales"]])(point)
    cov, _, _ = _dense_bym2(grid_with_island, sigma, rho)
    y = np.where(data.buyers, np.nan_to_num(data.log_sales), y_u3)
    expect = multivariate_normal(alpha + data.x @ beta, cov).logpdf(y)
    assert float(logp) == pytest.approx(expect, rel=1e-9)


def test_spatial_field_draws_follow_the_exact_conditional(grid_with_island):
    """Post-hoc phi draws: mean and covariance of the Gaussian conditional."""
    import arviz as az

    from terrakit.potential.model import (
        _merge_model_config,
        draw_spatial_field,
        prepare_unit_data,
    )

    data = prepare_unit_data(grid_with_island, _merge_model_config(None))
    g = data.graph
    alpha, beta, sigma, rho, y_u3 = 0.1, np.array([0.3, 0.2]), 0.5, 0.7, 0.2
    n_draw = 20_000
    idata = az.from_dict(
        posterior={
            "alpha": np.full((1, n_draw), alpha),
            "beta": np.tile(beta, (1, n_draw, 1)),
            "sigma": np.full((1, n_draw), sigma),
            "rho": np.full((1, n_draw), rho),
            "log_sales_missing": np.full((1, n_draw, 1), y_u3),
        }
    )
    phi = draw_spatial_field(idata, data, seed=1).to_numpy()[0]
    effect = sigma * np.sqrt(rho) * phi / np.sqrt(g.scale)  # (draw, struct unit)
    cov, struct, _ = _dense_bym2(grid_with_island, sigma, rho)
    c_b = np.zeros_like(cov)
    c_b[np.ix_(struct, struct)] = cov[np.ix_(struct, struct)] - sigma**2 * (
        1 - rho
    ) * np.eye(len(struct))
    y = np.where(data.buyers, np.nan_to_num(data.log_sales), y_u3)
    r = y - alpha - data.x @ beta
    gain = c_b @ np.linalg.inv(cov)
    mean = (gain @ r)[struct]
    post_cov = (c_b - gain @ c_b)[np.ix_(struct, struct)]
    se = np.sqrt(np.diag(post_cov) / n_draw)
    assert np.all(np.abs(effect.mean(axis=0) - mean) < 5 * se)
    assert np.allclose(np.cov(effect.T), post_cov, atol=0.05 * post_cov.max())
    assert abs(effect.sum(axis=1)).max() < 1e-9  # sum-to-zero on the component
    again = draw_spatial_field(idata, data, seed=1).to_numpy()
    assert np.array_equal(again[0], phi)


# -- results -----------------------------------------------------------------------
def test_account_fit_tables_and_draws(no_mcmc, grid_with_island):
    res = _fit(grid_with_island, "account")
    f = res.to_frame()
    assert list(f.columns) == [
        "unit_id",
        "potential_mean",
        "potential_q05",
        "potential_q50",
        "potential_q95",
        "sales",
        "whitespace",
        "penetration",
        "p_buy",
    ]
    assert len(f) == 20 and (f["potential_mean"] > 0).all()
    assert (f["potential_q05"] <= f["potential_q50"]).all()
    assert (f["potential_q50"] <= f["potential_q95"]).all()
    assert np.allclose(f["whitespace"], f["potential_mean"] - f["sales"])
    assert np.allclose(f["penetration"], f["sales"] / f["potential_mean"])
    assert f["p_buy"].between(0, 1).all()
    # prospects (no sales) get a potential too
    assert (f.loc[f["sales"] == 0, "potential_mean"] > 0).all()
    d_acc = res.draws("account")
    d_unit = res.draws("unit")
    assert d_acc.dims == ("account", "draw") and d_unit.dims == ("unit", "draw")
    assert d_unit.sizes == {"unit": 10, "draw": 200}
    u1 = f.index[f["unit_id"] == "u1"]
    assert np.allclose(
        d_unit.sel(unit="u1"), d_acc.sel(account=list(u1)).sum("account")
    )
    fu = res.to_frame("unit")
    assert fu.loc["u1", "sales"] == pytest.approx(f.loc[u1, "sales"].sum())
    assert res.draws("unit", n_draws=50).sizes["draw"] == 50


def test_potential_is_the_peer_quantile(no_mcmc, grid_with_island):
    """potential = exp(c + mu + z_q sd) per draw, z_q = Phi^-1(q)."""
    res = _fit(grid_with_island, "unit", potential_quantile=0.75)
    mu, sd, _ = _predictors(res.idata)
    c = res.idata.attrs["log_center"]
    expect = np.exp(c + mu + ndtri(0.75) * sd).T
    assert np.allclose(res.draws("unit").to_numpy(), expect)


def test_island_gets_only_the_unstructured_part(no_mcmc, grid_with_island):
    """Units without neighbours: no phi, residual sd = sigma (not sigma*sqrt(1-rho))."""
    res = _fit(grid_with_island, "unit")
    _, sd, _ = _predictors(res.idata)
    post = res.idata.posterior
    sigma = post["sigma"].to_numpy().ravel()
    rho = post["rho"].to_numpy().ravel()
    assert np.allclose(sd[:, 9], sigma)
    assert np.allclose(sd[:, 0], sigma * np.sqrt(1 - rho))
    assert res.idata.constant_data["island"].to_numpy().tolist() == [0] * 9 + [1]


def test_unit_draws_refuse_account_level(no_mcmc, grid_with_island):
    res = _fit(grid_with_island, "unit")
    with pytest.raises(SpecificationError, match="account-level fit"):
        res.draws("account")


def test_summary_is_stable_and_has_no_timings(no_mcmc, grid_with_island):
    a = _fit(grid_with_island, "unit")
    b = _fit(grid_with_island, "unit")
    assert a.summary() == b.summary()
    assert "unit level" in a.summary() and " s\n" not in a.summary()
    assert "compile" in str(a)


def test_save_and_load_round_trip(no_mcmc, grid_with_island, tmp_path):
    res = _fit(grid_with_island, "account")
    path = res.save(tmp_path / "pot.nc")
    back = PotentialResult.load(path)
    assert back.level == "account"
    assert back.config_hash == res.config_hash
    assert back.idata.attrs["terrakit_version"] == __version__
    pd.testing.assert_frame_equal(back.to_frame(), res.to_frame(), check_dtype=False)


def _with_ids(study, unit_ids, account_ids=None):
    """``study`` with its units renamed to ``unit_ids`` (held in an object
    index, as pandas keeps ids read from a mixed source), the accounts'
    ``unit_id`` following, and the accounts renamed to ``account_ids``."""
    rename = dict(zip(study.units.index, unit_ids, strict=True))
    units = study.units.set_axis(pd.Index(unit_ids, dtype=object, name="unit_id"))
    acc = study.accounts.copy()
    acc["unit_id"] = pd.array([rename[u] for u in acc["unit_id"]], dtype=object)
    if account_ids is not None:
        acc.index = pd.Index(account_ids, dtype=object, name="account_id")
    return study.replace(units=units, accounts=acc)


@pytest.mark.parametrize(
    "ids",
    [list(range(101, 111)), [k + 0.5 for k in range(10)], [f"u{k}" for k in range(10)]],
    ids=["int", "float", "text"],
)
def test_unit_results_keep_the_study_ids_in_memory_and_on_disk(
    no_mcmc, grid_with_island, tmp_path, ids
):
    """Ids come back as the study has them (101, not '101'), so the potentials
    join back onto every unit, before and after save/load."""
    study = _with_ids(grid_with_island, ids)
    res = _fit(study, "unit")
    back = PotentialResult.load(res.save(tmp_path / "ids.nc"))
    for r in (res, back):
        f = r.to_frame()
        assert f.index.tolist() == ids
        assert [type(v) for v in f.index] == [type(v) for v in ids]
        joined = study.units.join(f[["potential_mean"]])
        assert joined["potential_mean"].notna().all()
        assert r.ids.tolist() == ids and r.draws().indexes["unit"].tolist() == ids
    pd.testing.assert_frame_equal(back.to_frame(), res.to_frame())


def test_account_results_keep_the_study_ids_in_memory_and_on_disk(
    no_mcmc, grid_with_island, tmp_path
):
    units = list(range(101, 111))
    accounts = list(range(1, 21))
    study = _with_ids(grid_with_island, units, accounts)
    res = _fit(study, "account")
    back = PotentialResult.load(res.save(tmp_path / "acc.nc"))
    for r in (res, back):
        f = r.to_frame()
        assert f.index.tolist() == accounts and type(f.index[0]) is int
        assert f["unit_id"].tolist() == study.accounts["unit_id"].tolist()
        fu = r.to_frame("unit")
        assert fu.index.tolist() == units and type(fu.index[0]) is int
        assert study.units.join(fu[["potential_mean"]])["potential_mean"].notna().all()
        assert r.draws("unit").indexes["unit"].tolist() == units
        assert r.draws("account").indexes["account"].tolist() == accounts
    pd.testing.assert_frame_equal(back.to_frame("unit"), res.to_frame("unit"))


def test_ids_of_mixed_types_are_saved_and_read_back_as_they_were(
    no_mcmc, grid_with_island, tmp_path
):
    """An industry column with 1 and 'Retail' keeps both types in the file."""
    acc = grid_with_island.accounts.copy()
    acc["industry"] = pd.array([1, "Retail"] * 10, dtype=object)
    res = _fit(grid_with_island.replace(accounts=acc), "account")
    back = PotentialResult.load(res.save(tmp_path / "mixed.nc"))
    for r in (res, back):
        assert r.idata.constant_data["industry_level"].to_numpy().tolist() == [
            1,
            "Retail",
        ]
    assert "id_types" not in back.idata.attrs


def test_ids_that_netcdf_cannot_store_are_refused_at_save(
    no_mcmc, grid_with_island, tmp_path
):
    import arviz as az

    res = _fit(grid_with_island, "unit")
    groups = {g: res.idata[g] for g in res.idata.groups()}
    odd = np.empty(10, dtype=object)
    odd[:] = [(k, "a") for k in range(10)]
    groups["constant_data"] = groups["constant_data"].assign_coords(unit=odd)
    bad = PotentialResult(az.InferenceData(attrs=res.idata.attrs, **groups), "unit")
    with pytest.raises(DataValidationError) as err:
        bad.save(tmp_path / "odd.nc")
    assert str(err.value) == (
        "potential.unit: the 'unit' ids of this result (constant_data) include "
        "tuple values (e.g. (0, 'a')), which a netCDF file cannot store; only "
        "whole numbers, floats, True/False and text can be saved. Fix: give the "
        "study ids that are whole numbers or text (e.g. units.index = "
        "units.index.astype(str)) and fit again"
    )


def test_load_refuses_foreign_files(tmp_path):
    import arviz as az

    idata = az.from_dict(posterior={"a": np.zeros((1, 5))})
    p = tmp_path / "other.nc"
    idata.to_netcdf(str(p), engine="h5netcdf")
    with pytest.raises(DataValidationError, match="not a saved PotentialResult"):
        PotentialResult.load(p)


def test_diagnostics_warn_on_disagreeing_chains(no_mcmc, grid_with_island):
    # no spatial field: 200 fake draws of 10 phi's would put max R-hat near 1.03
    res = _fit(grid_with_island, "unit", spatial="none")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        d = res.diagnostics()
    assert d.ok and d.divergences == 0 and d.max_rhat < 1.05
    post = res.idata.posterior
    post["alpha"] = post["alpha"] + xr_chain_shift(post)
    with pytest.warns(ConvergenceWarning, match="R-hat"):
        bad = res.diagnostics()
    assert not bad.ok and "alpha" in bad.summary()


def _advi(study, **sampler):
    cfg = {"method": "advi", "vi_draws": 100, "progressbar": False} | sampler
    return PotentialModel(sampler_config=cfg).fit(study, level="account", seed=0)


_NOT_CONVERGED = (
    r". The approximation had not converged, so its estimates and intervals "
    r"can be far off. Fix: "
)
_OR_NUTS = r", or sample with method='nutpie' \(NUTS, checked by R-hat and ESS\)"


def test_advi_cut_short_warns_and_records_the_check(grid_with_island, tmp_path):
    """300 ADVI iterations: on 200 simulated accounts the total potential
    was 7x the truth and the 90 % intervals 24x too wide, with no warning
    and ``diagnostics().ok`` True (the loss looked flat: -0.02 per value).
    The approximation's parameters were still travelling."""
    drifted = (
        r"ADVI stopped at its iteration cap \(vi_iterations=300\) while its "
        r"approximation was still moving: the (mean|sd) of [a-z_]+(\[\d+\])? "
        r"moved [\d.]+ times its wobble about its trend between the last two "
        r"windows of 10% of the iterations \(at most 3 is taken as settled\)"
    )
    message = (
        r"the posterior may be unreliable: "
        + drifted
        + _NOT_CONVERGED
        + r"raise sampler_config\['vi_iterations'\] \(e.g. to 20000\)"
        + _OR_NUTS
    )
    with pytest.warns(ConvergenceWarning) as rec:
        res = _advi(grid_with_island, vi_iterations=300)
    said = [str(w.message) for w in rec if w.category is ConvergenceWarning]
    assert len(said) == 1 and re.fullmatch(message, said[0]), said
    check = res.advi_check
    assert check["iterations"] == 300 and check["learning_rate"] == 0.01
    assert not check["converged"] and check["drift"] > 3 and check["max_drift"] == 3
    assert check["drift_at"] in said[0]
    diag = res.diagnostics(warn=False)
    assert not diag.ok and len(diag.problems) == 1
    assert re.fullmatch(drifted, diag.problems[0])
    assert diag.summary().startswith(
        "Diagnostics (advi): variational approximation, 100 draws; no MCMC "
        "diagnostics -> POOR: ADVI stopped at its iteration cap"
    )
    with pytest.warns(ConvergenceWarning, match=r"vi_iterations=300\)"):
        res.diagnostics()
    # saved and loaded, the check is still there
    back = PotentialResult.load(res.save(tmp_path / "advi.nc"))
    assert back.advi_check == check and not back.diagnostics(warn=False).ok


def test_advi_learning_rate_too_large_warns_or_stops(grid_with_island):
    """``vi_learning_rate=1.0`` gave 28 % coverage of 90 % intervals
    silently; ``50`` crashed with PyMC's FloatingPointError "NaN occurred in
    optimization", then raised a plain TerrakitError where ``fit`` documents
    a SpecificationError (the cause is a setting).  How far the means wobble
    at 1.0 depends on the data (``3.39e+03`` since covariates enter as
    ``log(x + c)``), so any number is accepted."""
    with pytest.warns(ConvergenceWarning) as rec:
        res = _advi(grid_with_island, vi_iterations=500, vi_learning_rate=1.0)
    said = [str(w.message) for w in rec if w.category is ConvergenceWarning]
    assert len(said) == 1 and re.fullmatch(
        r"the posterior may be unreliable: ADVI's approximation did not settle: "
        r"over the last 10% of the iterations the mean of [a-z_]+(\[\d+\])? "
        r"wobbled by [\d.]+(e\+\d+)? times its own sd \(at most 2.5 is taken as "
        r"settled\), "
        r"the mark of too large a step \(vi_learning_rate=1\)"
        + _NOT_CONVERGED
        + r"lower sampler_config\['vi_learning_rate'\] \(e.g. to the default "
        r"0.01\)" + _OR_NUTS,
        said[0],
    ), said
    assert res.advi_check["jitter"] > 2.5 and not res.diagnostics(warn=False).ok
    with pytest.raises(SpecificationError) as err:
        _advi(grid_with_island, vi_iterations=300, vi_learning_rate=50.0)
    assert str(err.value) == (
        "ADVI diverged: its approximation became NaN during the optimisation "
        "with sampler_config['vi_learning_rate']=50 (PyMC: NaN occurred in "
        "optimization.). The model was not fitted. Fix: lower "
        "sampler_config['vi_learning_rate'] (e.g. to the default 0.01), or "
        "sample with method='nutpie'"
    )
    # still a TerrakitError, for code that catches those
    assert isinstance(err.value, TerrakitError)


def test_configs_that_are_not_dicts_are_refused_with_an_example():
    """``sampler_config="advi"`` crashed with "dictionary update sequence
    element #0 has length 1; 2 is required"."""
    with pytest.raises(SpecificationError) as err:
        PotentialModel(sampler_config="advi")
    assert str(err.value) == (
        "sampler_config must be a dict of settings, got 'advi' (str). Fix: pass "
        "e.g. sampler_config={'method': 'advi', 'vi_iterations': 20000}, or "
        "leave it out for the defaults (method 'nutpie')"
    )
    with pytest.raises(SpecificationError) as err:
        PotentialModel(model_config="employees")
    assert str(err.value) == (
        "model_config must be a dict of settings, got 'employees' (str). Fix: "
        "pass e.g. model_config={'potential_quantile': 0.9, "
        "'account_covariates': ['employees']}, or leave it out for the defaults"
    )


def xr_chain_shift(post):
    import xarray as xr

    return xr.DataArray(
        np.array([0.0, 5.0]), dims="chain", coords={"chain": post["chain"]}
    )


def test_posterior_predictive_check_table(no_mcmc, grid_with_island):
    res = _fit(grid_with_island, "account")
    ppc = posterior_predictive_check(res, n_draws=50, seed=1)
    assert list(ppc.index) == [
        "share_buyers",
        "mean_log_sales",
        "sd_log_sales",
        "q10_log_sales",
        "q90_log_sales",
        "max_log_sales",
    ]
    assert ppc["p_value"].between(0, 1).all()
    assert ppc.loc["share_buyers", "observed"] == pytest.approx(16 / 20)
    assert ppc.equals(posterior_predictive_check(res, n_draws=50, seed=1))
    # more replicates than the 200 posterior draws: n_draws were capped at
    # the draws (then 1000 and 2000 gave the same table)
    many = posterior_predictive_check(res, n_draws=1000, seed=1)
    assert not many.equals(posterior_predictive_check(res, n_draws=2000, seed=1))
    assert ((many["p_value"] * 1000).round(9) % 1 == 0).all()


def test_account_table_keeps_integer_unit_ids(no_mcmc, grid_with_island):
    """Integer unit ids came back as Python ints in an object column."""
    s = grid_with_island
    to_int = {f"u{k}": 100 + k for k in range(1, 11)}
    study = Study(
        s.units.rename(index=to_int),
        accounts=s.accounts.assign(unit_id=s.accounts["unit_id"].map(to_int)),
    )
    f = _fit(study, "account").to_frame()
    assert f["unit_id"].dtype == np.int64
    assert f["unit_id"].equals(study.accounts["unit_id"].loc[f.index])


def test_p_buy_is_the_hurdle(no_mcmc, grid_with_island):
    res = _fit(grid_with_island, "unit")
    post = res.idata.posterior
    x = res.idata.constant_data["x"].to_numpy()
    ha = post["h_alpha"].to_numpy().ravel()
    hb = post["h_beta"].to_numpy().reshape(len(ha), -1)
    expect = expit(ha[:, None] + hb @ x.T).mean(axis=0)
    assert np.allclose(res.p_buy().to_numpy(), expect)


# -- bad input ---------------------------------------------------------------------
def test_missing_covariate_names_the_fix(grid_with_island):
    with pytest.raises(
        DataValidationError,
        match=r"covariate column\(s\) "
        r"\['households'\] are missing.*unit_covariates",
    ):
        PotentialModel(
            model_config={"unit_covariates": ["population", "households"]}
        ).fit(grid_with_island, level="unit")


@pytest.mark.parametrize(
    ("level", "key", "names", "match"),
    [
        ("account", "account_covariates", ["annual_sales"], "the sales column"),
        ("account", "account_covariates", ["employees", "employees"], "more than"),
        ("unit", "unit_covariates", ["population", "sales"], "the sales column"),
        ("unit", "unit_covariates", ["income", "income"], "more than once"),
    ],
)
def test_outcome_or_repeated_covariates_are_refused(
    no_mcmc, grid_with_island, level, key, names, match
):
    """The sales column as its own covariate (buyers' potential collapses onto
    their sales) and a covariate named twice were fitted silently."""
    with pytest.raises(SpecificationError, match=match) as err:
        PotentialModel(model_config={key: names}).fit(grid_with_island, level=level)
    msg = str(err.value)
    assert f"model_config[{key!r}]" in msg and "Fix:" in msg
    # the columns that are allowed are listed, the sales column is not
    if level == "account":
        assert "numeric columns of the accounts table: ['employees']" in msg
    else:
        assert "table: ['population', 'income']" in msg


def test_nan_covariate_lists_rows(grid_with_island):
    units = grid_with_island.units.copy()
    units.loc["u4", "income"] = np.nan
    study = grid_with_island.replace(units=units)
    with pytest.raises(DataValidationError) as err:
        PotentialModel().fit(study, level="unit")
    assert err.value.rows == ["u4"] and err.value.column == "income"


def test_constant_covariate_is_a_specification_error(grid_with_island):
    units = grid_with_island.units.copy()
    units["income"] = 40_000.0
    with pytest.raises(SpecificationError, match="single value"):
        PotentialModel().fit(grid_with_island.replace(units=units), level="unit")


def test_all_zero_sales_is_refused(grid_with_island):
    acc = grid_with_island.accounts.copy()
    acc["annual_sales"] = 0.0
    with pytest.raises(DataValidationError, match="all sales are zero"):
        PotentialModel().fit(grid_with_island.replace(accounts=acc), level="account")
    units = grid_with_island.units.copy()
    units["sales"] = 0.0
    with pytest.raises(DataValidationError, match="all sales are zero"):
        PotentialModel().fit(grid_with_island.replace(units=units), level="unit")


def test_negative_sales_are_refused(grid_with_island):
    acc = grid_with_island.accounts.copy()
    acc.loc["a2", "annual_sales"] = -5.0
    with pytest.raises(DataValidationError, match="negative") as err:
        PotentialModel().fit(grid_with_island.replace(accounts=acc))
    assert err.value.rows == ["a2"]


def test_segment_with_one_account_warns_and_fits(no_mcmc, grid_with_island):
    acc = grid_with_island.accounts.copy()
    acc.loc["a2", "segment"] = "D"
    with pytest.warns(TerrakitWarning, match=r"'D': 1 accounts, 1 buyers"):
        res = PotentialModel().fit(grid_with_island.replace(accounts=acc))
    assert "D" in list(res.idata.posterior["segment"].to_numpy())
    assert np.isfinite(res.to_frame().loc["a2", "potential_mean"])


def test_missing_segment_column_can_be_switched_off(no_mcmc, grid_with_island):
    acc = grid_with_island.accounts.drop(columns="segment")
    study = grid_with_island.replace(accounts=acc)
    with pytest.raises(DataValidationError, match="segment_column': None"):
        PotentialModel().fit(study)
    res = PotentialModel(model_config={"segment_column": None}).fit(study)
    assert len(res.to_frame()) == 20


def test_study_without_accounts_points_to_unit_level(grid_with_island):
    study = grid_with_island.replace(accounts=None)
    with pytest.raises(DataValidationError, match="level='unit'"):
        PotentialModel().fit(study, level="account")


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        ({"potential_quantile": "high"}, r"\['potential_quantile'\] must be a number"),
        ({"prior_rho": 1.0}, r"\['prior_rho'\] must be two positive Beta parameters"),
        ({"unit_covariates": 5}, r"\['unit_covariates'\] must be a list of column"),
        (
            {"adjacency": "quen"},
            r"\['adjacency'\] must be 'queen' or 'rook', got 'quen'",
        ),
        ({"min_buyers": "x"}, r"\['min_buyers'\] must be a whole number ≥ 1, got 'x'"),
        ({"prior_sigma": -1}, r"\['prior_sigma'\] is a prior scale and must be > 0"),
        ({"segment_column": 3}, r"\['segment_column'\] must be a column name or None"),
        ({"log_covariates": "yes"}, r"\['log_covariates'\] must be True or False"),
    ],
)
def test_bad_config_values_are_refused_at_construction(cfg, match):
    """These raised raw ValueError/TypeError, or passed and failed while
    fitting (a typo of ``adjacency``, a negative prior scale)."""
    with pytest.raises(SpecificationError, match=match):
        PotentialModel(model_config=cfg)


def test_constant_covariate_with_rounding_noise_is_refused(grid_with_island):
    """``log1p(7.0)`` repeated has a std of ~4e-16, not 0: the covariate used
    to be standardised by that noise into a fake ±1 signal."""
    units = grid_with_island.units.copy()
    units["population"] = 7.0
    with pytest.raises(
        SpecificationError,
        match=r"\['population'\] of the units table take a single value "
        r"\('population' is 7 in all 10 rows\)",
    ):
        PotentialModel().fit(grid_with_island.replace(units=units), level="unit")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_draws": 2.5}, r"n_draws must be a whole number in \[1, 200\]"),
        ({"n_draws": "5"}, r"n_draws must be a whole number in \[1, 200\]"),
        ({"n_draws": 5, "seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_draws_check_their_arguments(no_mcmc, grid_with_island, kwargs, match):
    res = _fit(grid_with_island, "unit")
    with pytest.raises(SpecificationError, match=match):
        res.draws("unit", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_draws": 0}, r"n_draws must be a whole number ≥ 1 .*got 0"),
        ({"n_draws": -3}, r"n_draws must be a whole number ≥ 1 .*got -3"),
        ({"seed": -3}, "seed must be a non-negative integer"),
    ],
)
def test_posterior_predictive_check_checks_its_arguments(
    no_mcmc, grid_with_island, kwargs, match
):
    """``n_draws=0`` returned an all-NaN table; -3 and a negative seed raised
    numpy's errors."""
    res = _fit(grid_with_island, "unit")
    with pytest.raises(SpecificationError, match=match):
        posterior_predictive_check(res, **kwargs)


def test_unit_totals_of_accounts_without_units_are_refused(no_mcmc, grid_with_island):
    """Accounts with no ``unit_id`` used to give a potential of 0 to every unit."""
    acc = grid_with_island.accounts.drop(columns="unit_id")
    study = grid_with_island.replace(accounts=acc.assign(lon=-81.0, lat=33.5))
    res = _fit(study, "account", group_column=None)
    assert len(res.to_frame()) == 20  # account level still works
    for ask in (lambda: res.draws("unit"), lambda: res.to_frame("unit")):
        with pytest.raises(
            DataValidationError,
            match=r"accounts\.unit_id: none of the 20 accounts of this fit has a unit",
        ):
            ask()


def _accounts_at_lonlat(study):
    """The accounts of ``study`` with lon/lat at their unit's centre, no unit_id."""
    centre = study.units.geometry.centroid.to_crs("EPSG:4326")
    acc = study.accounts
    return acc.drop(columns="unit_id").assign(
        lon=centre.x.reindex(acc["unit_id"]).to_numpy(),
        lat=centre.y.reindex(acc["unit_id"]).to_numpy(),
    )


def test_accounts_without_unit_id_are_caught_before_sampling(no_mcmc, grid_with_island):
    """Accounts with lon/lat but no unit_id: the advice used to be
    group_column=None, whose fit then failed on unit totals after sampling with
    a hint ('lon/lat inside the units') that did not help."""
    import terrakit as tk

    study = grid_with_island.replace(accounts=_accounts_at_lonlat(grid_with_island))
    with pytest.raises(DataValidationError, match="no unit_id column") as err:
        PotentialModel().fit(study, level="account")
    assert "tk.data.io.join_to_units(study.accounts, study.units)" in str(err.value)
    # without the unit pooling: warned before sampling, with the same fix
    with pytest.warns(TerrakitWarning, match="none of the 20 accounts lies in a unit"):
        res = PotentialModel(model_config={"group_column": None}).fit(
            study, level="account"
        )
    with pytest.raises(DataValidationError, match="join_to_units") as err:
        res.draws("unit")
    assert "lon/lat inside" not in str(err.value)
    # the fix works: every account gets its unit back
    joined = tk.data.io.join_to_units(study.accounts, study.units)
    assert (joined["unit_id"] == grid_with_island.accounts["unit_id"]).all()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = PotentialModel().fit(study.replace(accounts=joined), level="account")
    assert not [w for w in caught if "lies in a unit" in str(w.message)]
    assert res.draws("unit").sizes["unit"] == 10


def test_laplace_is_refused_at_account_level(no_mcmc, grid_with_island):
    """A Gaussian at the joint mode of the hierarchical account model put
    tau_group at 2.0 (truth 0.3) and prospects at ~6x their potential."""
    m = PotentialModel(sampler_config={"method": "laplace"})
    with pytest.raises(
        SpecificationError, match="not available at level='account'"
    ) as err:
        m.fit(grid_with_island, level="account")
    msg = str(err.value)
    assert "tau_group" in msg and "'advi'" in msg and "'nutpie'" in msg
    # the unit level keeps its (grid-integrated) Laplace path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        assert m.fit(grid_with_island, level="unit").method == "laplace"


@pytest.mark.parametrize(
    ("level", "cfg"),
    [
        ("unit", {"unit_covariates": []}),
        ("unit", {"unit_covariates": [], "spatial": "none"}),
        ("account", {"account_covariates": []}),
    ],
)
def test_model_without_covariates_serves_every_result_method(
    no_mcmc, grid_with_island, level, cfg, tmp_path
):
    """``beta`` of shape ``(chain, draw, 0)`` could not be reshaped with ``-1``
    ("cannot reshape array of size 0"): summary, to_frame, draws and p_buy
    all crashed although the fit itself worked."""
    res = _fit(grid_with_island, level, **cfg)
    assert res.idata.posterior["beta"].shape[-1] == 0
    n = 10 if level == "unit" else 20
    mu, sd, p = _predictors(res.idata)
    # no covariate: every entity's log mean is the intercept (plus its groups)
    assert mu.shape == sd.shape == p.shape == (200, n)
    if level == "unit" and cfg.get("spatial") == "none":
        alpha = res.idata.posterior["alpha"].to_numpy().reshape(-1)
        assert np.allclose(mu, alpha[:, None])
    f = res.to_frame()
    assert len(f) == n and (f["potential_mean"] > 0).all()
    assert f["p_buy"].between(0, 1).all()
    assert res.draws("unit").sizes == {"unit": 10, "draw": 200}
    assert len(res.p_buy()) == n
    assert f"{n} {level}s" in res.summary()
    assert len(posterior_predictive_check(res, n_draws=20)) == 6
    assert res.diagnostics(warn=False).table.loc["beta", "size"] == 0
    back = PotentialResult.load(res.save(tmp_path / "nocov.nc"))
    pd.testing.assert_frame_equal(back.to_frame(), f, check_dtype=False)


def test_fit_records_library_versions(no_mcmc, grid_with_island, tmp_path):
    """The posterior's attrs named terrakit's version only."""
    import pymc

    res = _fit(grid_with_island, "unit")
    assert res.versions["numpy"] == np.__version__
    assert res.versions["pandas"] == pd.__version__
    assert res.versions["pymc"] == pymc.__version__
    back = PotentialResult.load(res.save(tmp_path / "v.nc"))
    assert back.versions == res.versions


# -- the adjacency of the unit model -------------------------------------------------
def _fit_warns(study, **kw):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = PotentialModel(
            model_config=kw.pop("cfg", {}),
            sampler_config=kw.pop("scfg", {}),
        ).fit(study, level="unit", seed=3, **kw)
    return res, [str(w.message) for w in rec if issubclass(w.category, TerrakitWarning)]


def test_islands_warn_and_the_graph_is_recorded(no_mcmc, grid_with_island, tmp_path):
    res, msgs = _fit_warns(grid_with_island)
    isl = [m for m in msgs if "islands" in m]
    assert len(isl) == 1
    assert "1 of 10 units have no neighbour in the queen adjacency" in isl[0]
    assert "'u10'" in isl[0] and "no spatial smoothing" in isl[0]
    assert "adjacency(study.units, snap_m=" in isl[0] and "with_links" in isl[0]
    g = res.adjacency
    assert g is not None and g["source"] == "built" and g["kind"] == "queen"
    assert (g["n_units"], g["n_edges"], g["n_islands"]) == (10, 20, 1)
    assert g["n_components"] == 2 and len(g["edge_hash"]) == 16
    assert "spatial effect: BYM2 over the built queen adjacency, 20 edges" in (
        res.summary()
    )
    assert PotentialResult.load(res.save(tmp_path / "g.nc")).adjacency == g
    assert _fit(grid_with_island, "unit", spatial="none").adjacency is None


def test_graph_without_edges_warns_that_there_is_no_spatial_part(
    no_mcmc, grid_with_island
):
    """Polygons with slivers between them: no edges, every unit an island."""
    units = grid_with_island.units.copy()
    units["geometry"] = units.geometry.buffer(-1.0)  # 2 m gaps between neighbours
    res, msgs = _fit_warns(grid_with_island.replace(units=units))
    none = [m for m in msgs if "no edges" in m]
    assert len(none) == 1 and "all 10 units are islands" in none[0]
    assert "NO spatial part" in none[0] and "snap_m=" in none[0]
    assert "phi" not in res.idata.posterior
    assert res.adjacency["n_edges"] == 0 and res.adjacency["n_islands"] == 10
    assert "spatial effect: NONE" in res.summary()


def test_given_adjacency_is_recorded_in_attrs_and_hash(no_mcmc, grid_with_island):
    import scipy.sparse as sp

    from terrakit.data.geo import Adjacency, adjacency

    units = grid_with_island.units
    queen = adjacency(units, warn=False)
    rook = adjacency(units, kind="rook", warn=False).with_links([("u9", "u10")])
    built, _ = _fit_warns(grid_with_island)
    given, msgs = _fit_warns(grid_with_island, adjacency=rook)
    assert not [m for m in msgs if "islands" in m]  # u10 is linked now
    g = given.adjacency
    assert g["source"] == "given" and g["kind"] == "rook+links"
    assert (g["n_edges"], g["n_islands"]) == (13, 0)
    assert given.config_hash != built.config_hash
    assert g["edge_hash"] != built.adjacency["edge_hash"]
    # the same graph gives the same hash, built or given, 0/1 or weights
    weights = Adjacency(queen.ids, sp.csr_array(queen.matrix * 0.25), kind="w")
    same, _ = _fit_warns(grid_with_island, adjacency=weights)
    assert same.adjacency["edge_hash"] == built.adjacency["edge_hash"]
    assert same.config_hash == built.config_hash
    # display-only settings stay out of the hash
    quiet, _ = _fit_warns(grid_with_island, scfg={"progressbar": False})
    assert quiet.config_hash == built.config_hash


def test_graph_hash_ignores_the_row_order_of_the_units(no_mcmc, grid_with_island):
    """The same units and edges in another row order: the same edge_hash and
    config_hash (the edges as sorted unit-id pairs); one edge less, another."""
    import scipy.sparse as sp

    from terrakit.data.geo import Adjacency, adjacency

    units = grid_with_island.units
    built, _ = _fit_warns(grid_with_island)
    flipped, _ = _fit_warns(grid_with_island.replace(units=units.iloc[::-1]))
    assert list(flipped.to_frame().index) == list(units.index[::-1])
    assert flipped.adjacency == built.adjacency
    assert flipped.config_hash == built.config_hash
    queen = adjacency(units, warn=False)
    w = sp.lil_array(queen.matrix)
    w[0, 1] = w[1, 0] = 0  # u1 - u2
    fewer = Adjacency(queen.ids, sp.csr_array(w), kind="queen")
    less, _ = _fit_warns(grid_with_island, adjacency=fewer)
    assert less.adjacency["edge_hash"] != built.adjacency["edge_hash"]


def test_no_more_buyers_than_coefficients_warns(no_mcmc, grid_with_island):
    """3 units with sales, intercept + 2 covariates: the regression fits them
    exactly and sigma comes from its prior; the warning says so, with the
    counts and the fix.  4 buyers: no warning."""
    units = grid_with_island.units.copy()
    units.loc[["u4", "u5", "u6", "u7", "u8", "u9"], "sales"] = 0.0
    _, msgs = _fit_warns(grid_with_island.replace(units=units, accounts=None))
    few = [m for m in msgs if "coefficients" in m]
    assert few == [
        "units['sales']: only 3 of 10 units have sales, no more than the 3 "
        "coefficients of the sales model (intercept + 2 covariates ['population', "
        "'income']): the regression fits their sales exactly, so the sales scale "
        "sigma comes from its prior (model_config['prior_sigma']) alone and the "
        "potentials carry wide intervals. Fix: add units with sales, or use fewer "
        "covariates (model_config['unit_covariates'])"
    ]
    units.loc["u4", "sales"] = 400.0
    _, msgs = _fit_warns(grid_with_island.replace(units=units, accounts=None))
    assert not [m for m in msgs if "coefficients" in m]


@pytest.mark.parametrize("form", ["csr", "ndarray", "edges", "dict", "libpysal"])
def test_adjacency_of_another_type_names_the_fix(grid_with_island, form):
    import scipy.sparse as sp

    from terrakit.data.geo import Adjacency, adjacency

    units = grid_with_island.units
    adj = adjacency(units, warn=False)
    if form == "libpysal":
        from libpysal.graph import Graph

        given: object = Graph.build_contiguity(units, rook=False)
    else:
        given = {
            "csr": adj.matrix,
            "ndarray": adj.matrix.toarray(),
            "edges": adj.to_frame(),
            "dict": adj.neighbors,
        }[form]
    hint = {
        "csr": "Adjacency(study.units.index, matrix)",
        "ndarray": "Adjacency(study.units.index, matrix)",
        "edges": "with_links(zip(edges['unit_id']",
        "dict": "neighbors.items()",
        "libpysal": "Adjacency(graph.unique_ids, graph.sparse)",
    }[form]
    m = PotentialModel(sampler_config={"method": "laplace"})
    for call in (
        lambda: m.fit(grid_with_island, level="unit", adjacency=given),
        lambda: build_unit_model(grid_with_island, adjacency=given),
    ):
        with pytest.raises(SpecificationError, match="must be a terrakit") as err:
            call()
        assert hint in str(err.value) and "tk.data.geo.adjacency(" in str(err.value)
    # the hints work
    n = len(units)
    if form == "edges":
        e = adj.to_frame()
        built = Adjacency(units.index, sp.csr_array((n, n))).with_links(
            zip(e["unit_id"], e["neighbor_id"], strict=True)
        )
    elif form == "dict":
        built = Adjacency(units.index, sp.csr_array((n, n))).with_links(
            (i, j) for i, js in adj.neighbors.items() for j in js
        )
    elif form == "libpysal":
        built = Adjacency(given.unique_ids, given.sparse)  # type: ignore[attr-defined]
    else:
        built = Adjacency(units.index, given)  # type: ignore[arg-type]
    assert built.edges() == adj.edges()


def test_adjacency_with_the_unit_ids_as_text_names_the_type(grid_with_island):
    """Unit ids 1..10 (numbers), adjacency ids '1'..'10' (text, as read from a
    CSV edge list): the error says they differ only in type, and its
    conversion works."""
    from terrakit.data.geo import Adjacency, adjacency

    units = grid_with_island.units.set_axis(pd.Index(range(1, 11), name="unit_id"))
    study = grid_with_island.replace(units=units, accounts=None)
    adj = adjacency(units, warn=False)
    text = Adjacency(pd.Index([str(i) for i in adj.ids]), adj.matrix, kind="manual")
    m = PotentialModel(sampler_config={"method": "laplace"})
    with pytest.raises(DataValidationError) as err:
        m.fit(study, level="unit", adjacency=text)
    assert str(err.value) == (
        "units.unit_id: 10 units are not nodes of the adjacency: they differ "
        "from a node only in type, the adjacency's ids are text (e.g. '1') where "
        "the study's unit ids are numbers (e.g. 1), and '1' is not 1 (rows: 1, "
        "2, 3, 4, 5 and 5 more). Fix: convert the adjacency's ids to the type of "
        "the unit ids: adj = Adjacency(adj.ids.astype('int64'), adj.matrix, "
        "kind=adj.kind); or build the adjacency on study.units "
        "(terrakit.data.geo.adjacency(study.units))"
    )
    fixed = Adjacency(text.ids.astype("int64"), text.matrix, kind=text.kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)
        res = m.fit(study, level="unit", adjacency=fixed)
    assert res.adjacency is not None and res.adjacency["n_edges"] == 20


def test_adjacency_whose_ids_lost_leading_zeros_says_so(grid_with_island):
    from terrakit.data.geo import Adjacency, adjacency

    ids = [f"{k:02d}" for k in range(1, 11)]
    units = grid_with_island.units.set_axis(pd.Index(ids, name="unit_id"))
    study = grid_with_island.replace(units=units, accounts=None)
    adj = adjacency(units, warn=False)
    short = Adjacency(pd.Index([i.lstrip("0") for i in ids]), adj.matrix)
    with pytest.raises(DataValidationError, match="without their leading zeros"):
        PotentialModel(sampler_config={"method": "laplace"}).fit(
            study, level="unit", adjacency=short
        )


def test_adjacency_outside_the_bym2_model_is_refused_or_warned(
    no_mcmc, grid_with_island
):
    from terrakit.data.geo import adjacency

    adj = adjacency(grid_with_island.units, warn=False)
    m = PotentialModel()
    with pytest.raises(SpecificationError, match="unit-level BYM2 model only"):
        m.fit(grid_with_island, level="account", adjacency=adj)
    with pytest.raises(SpecificationError, match="unit-level BYM2 model only"):
        m.build_model(grid_with_island, level="account", adjacency=adj)
    res, msgs = _fit_warns(grid_with_island, cfg={"spatial": "none"}, adjacency=adj)
    assert any("adjacency passed to the unit model is not used" in x for x in msgs)
    assert res.adjacency is None


@pytest.mark.parametrize("method", ["laplace", "nutpie"])
def test_buyers_with_equal_sales_are_refused(grid_with_island, method):
    """No spread among the buyers: the potential's scale cannot be estimated."""
    units = grid_with_island.units.copy()
    units["sales"] = np.where(units["sales"] > 0, 1000.0, 0.0)
    study = grid_with_island.replace(units=units)
    for spatial in ("bym2", "none"):
        with pytest.raises(DataValidationError, match="have the same sales") as err:
            PotentialModel(
                model_config={"spatial": spatial}, sampler_config={"method": method}
            ).fit(study, level="unit")
        assert err.value.table == "units" and err.value.column == "sales"
        assert "no spread among the buyers" in str(err.value)
        assert "'u1'" in str(err.value) and "'u3'" not in str(err.value)
    with pytest.raises(DataValidationError, match="have the same sales"):
        build_unit_model(study)  # the MCMC paths' model
    acc = grid_with_island.accounts.copy()
    acc["annual_sales"] = np.where(acc["annual_sales"] > 0, 250.0, 0.0)
    # the account level has no 'laplace' (refused); the data fail first either way
    m_acc = PotentialModel(sampler_config={"method": method.replace("laplace", "advi")})
    with pytest.raises(DataValidationError, match="accounts with sales have the same"):
        m_acc.fit(grid_with_island.replace(accounts=acc), level="account")
    # rounding noise is no spread; a real spread fits
    units["sales"] = np.where(
        units["sales"] > 0, 1000.0 * (1 + 1e-14 * np.arange(10)), 0
    )
    with pytest.raises(DataValidationError, match="have the same sales"):
        build_unit_model(grid_with_island.replace(units=units))
    units.loc["u1", "sales"] = 1500.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)  # u10 is an island
        build_unit_model(grid_with_island.replace(units=units))


# -- QA round 19 --------------------------------------------------------------------
def test_one_level_groupings_add_no_intercept_beside_alpha(grid_with_island):
    """``industry_column=None`` / ``group_column=None`` (or a column with one
    value) left ``tau * z[0]`` in the model: a second intercept beside
    ``alpha``, a funnel on which NUTS diverged (28 divergences, bulk ESS 54 on
    200 accounts simulated from the model itself).  They are now constant
    zeros, as ``b_segment`` is with one segment."""
    free = {"tau_industry", "z_industry", "tau_group", "z_group"}
    acc = grid_with_island.accounts.copy()
    acc["industry"] = "Retail"  # one value: one level
    for study, cfg in [
        (grid_with_island, {"industry_column": None, "group_column": None}),
        (grid_with_island.replace(accounts=acc), {"group_column": None}),
    ]:
        model = build_account_model(study, cfg)
        assert not free & {rv.name for rv in model.free_RVs}
        assert free <= {d.name for d in model.deterministics}
        assert model["tau_industry"].eval() == 0.0
        assert model["z_group"].eval().tolist() == [0.0]
        assert model["z_industry"].eval().tolist() == [0.0]
    # with more than one level both stay partially pooled
    model = build_account_model(grid_with_island)
    assert free <= {rv.name for rv in model.free_RVs}
    # a real (ADVI) fit keeps the variables, as zeros, and serves its tables
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = PotentialModel(
            {"industry_column": None, "group_column": None},
            {"method": "advi", "vi_iterations": 300, "vi_draws": 50},
        ).fit(grid_with_island, level="account", seed=0)
    post = res.idata.posterior
    for name in free:
        assert float(np.abs(post[name]).max()) == 0.0, name
    assert np.isfinite(res.to_frame()["potential_mean"]).all()


def test_load_refuses_files_that_are_not_netcdf(tmp_path):
    """A GeoPackage or CSV given to ``load`` raised h5py's bare OSError
    "Unable to synchronously open file (file signature not found)"."""
    csv = tmp_path / "potential.csv"
    csv.write_text("unit_id,potential_mean\nu1,1.0\n")
    with pytest.raises(DataValidationError) as err:
        PotentialResult.load(csv)
    assert str(err.value).startswith(
        f"potential: {str(csv)!r} is not a saved PotentialResult: it cannot be "
        "read as netCDF (OSError: "
    )
    assert str(err.value).endswith(". Fix: load files written by PotentialResult.save")
    assert isinstance(err.value.__cause__, OSError)
    # a file that is not there is still a FileNotFoundError
    with pytest.raises(FileNotFoundError):
        PotentialResult.load(tmp_path / "missing.nc")


def test_a_table_instead_of_the_study_names_the_fix(grid_with_island):
    """The units or accounts table given instead of the Study failed with a
    bare AttributeError ("'GeoDataFrame' object has no attribute 'units'")."""
    units, accounts = grid_with_island.units, grid_with_island.accounts
    fix = (
        "(a table, e.g. the study's units or accounts: pass the Study itself). "
        "Fix: pass the Study, e.g. fit(study, level={level!r}), or wrap the "
        "tables in one: tk.Study(units, accounts=accounts)"
    )
    model = PotentialModel(sampler_config={"method": "laplace"})
    for call, level, given in [
        (lambda: model.fit(units, level="unit"), "unit", "GeoDataFrame"),
        (lambda: model.build_model(units, level="unit"), "unit", "GeoDataFrame"),
        (lambda: build_unit_model(units), "unit", "GeoDataFrame"),
        (lambda: build_account_model(accounts), "account", "DataFrame"),
        (
            lambda: PotentialModel(sampler_config={"method": "advi"}).fit(
                accounts, level="account"
            ),
            "account",
            "DataFrame",
        ),
    ]:
        with pytest.raises(DataValidationError) as err:
            call()
        table = "accounts" if level == "account" else "units"
        assert str(err.value) == (
            f"{table}: expected a Study (tk.Study), got {given} "
            + fix.format(level=level)
        )
        assert err.value.table == table and err.value.column is None


@pytest.mark.parametrize("level", ["unit", "account"])
def test_the_unit_of_a_covariate_does_not_change_the_model(grid_with_island, level):
    """Covariates entered as standardised log(1 + x): ~x below 1, ~log x
    above, so the same market with population in millions instead of persons
    gave another model (total potential 2.9x the truth, 90 % intervals
    covering 41 % of the units).  Now log(x + c), c = 0 without zeros, else
    half the smallest positive value: a unit only shifts the log, which the
    standardising removes; c is recorded with the fit."""
    from terrakit.potential.model import (
        _merge_model_config,
        prepare_account_data,
        prepare_unit_data,
    )

    table, col = (
        ("units", "population") if level == "unit" else ("accounts", "employees")
    )
    cfg = _merge_model_config({"spatial": "none"})

    def prepared(scale, zero):
        frame = getattr(grid_with_island, table).copy()
        frame[col] = frame[col].astype(float) / scale
        if zero:
            frame.iloc[1, frame.columns.get_loc(col)] = 0.0
        study = grid_with_island.replace(**{table: frame})
        if level == "unit":
            return prepare_unit_data(study, cfg)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TerrakitWarning)
            return prepare_account_data(study, cfg)

    for zero in (False, True):
        base, tiny = prepared(1.0, zero), prepared(1e6, zero)
        np.testing.assert_allclose(tiny.x, base.x, rtol=0, atol=1e-9)
        k = base.covariates.index(col)
        smallest = 1000.0 if level == "unit" else 3.0  # u1, a1
        expect = 0.5 * smallest if zero else 0.0
        assert base.x_offset[k] == pytest.approx(expect)
        assert tiny.x_offset[k] == pytest.approx(expect / 1e6)
    # the offset of a covariate without zeros is 0: log(x) itself
    assert prepared(1.0, False).x_center[0] == pytest.approx(
        np.log(getattr(grid_with_island, table)[col]).mean()
    )


def test_population_in_millions_or_persons_gives_the_same_potentials(
    grid_with_island, tmp_path
):
    """The QA repro in small: the unit fit (sparse Laplace, seconds) with the
    population in persons and in millions gives the same potentials; the
    offsets travel with the saved result."""
    out = {}
    for name, scale in [("persons", 1.0), ("millions", 1e6)]:
        units = grid_with_island.units.copy()
        units["population"] = units["population"] / scale
        res = PotentialModel(
            {"unit_covariates": ["population", "income"], "spatial": "none"},
            {"method": "laplace", "vi_draws": 200},
        ).fit(grid_with_island.replace(units=units), level="unit", seed=0)
        out[name] = res.to_frame()["potential_mean"]
    np.testing.assert_allclose(out["millions"], out["persons"], rtol=1e-6)
    back = PotentialResult.load(res.save(tmp_path / "m.nc"))
    assert back.idata.constant_data["x_offset"].to_numpy().tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("dtype", "what"),
    [
        (
            "datetime",
            "dates (dtype datetime64[ns]), not numbers: they would enter "
            "as nanoseconds since 1970 (~1.6e18)",
        ),
        (
            "timedelta",
            "durations (dtype timedelta64[ns]), not numbers: they "
            "would enter as nanoseconds",
        ),
        ("category", "categories (dtype category), not numbers: labels, not amounts"),
    ],
)
def test_dates_durations_and_categories_are_refused(
    no_mcmc, grid_with_island, dtype, what
):
    """A date column as a covariate or as the sales was fitted silently:
    pd.to_numeric read it as nanoseconds (sales of 1.42e18, a covariate of
    log(1 + ns)); a categorical of numbers was read as its labels."""
    units = grid_with_island.units.copy()
    days = np.arange(1, 11)
    units["col"] = {
        "datetime": pd.Timestamp("2015-01-01") + pd.to_timedelta(90 * days, "D"),
        "timedelta": pd.to_timedelta(90 * days, "D"),
        "category": pd.Categorical(100.0 * days),
    }[dtype]
    study = grid_with_island.replace(units=units)
    for cfg, role in [
        ({"unit_covariates": ["population", "col"]}, "covariate"),
        ({"unit_sales": "col"}, "sales"),
    ]:
        with pytest.raises(DataValidationError) as err:
            PotentialModel(cfg).fit(study, level="unit")
        assert err.value.table == "units" and err.value.column == "col"
        assert str(err.value).startswith(f"units.col: the {role} column holds {what}")
        if role == "sales":
            assert "set model_config['unit_sales'] to the column that holds" in str(
                err.value
            )
        else:
            assert (
                "Fix: leave 'col' out of model_config['unit_covariates'] (numeric "
                "columns of the units table: ['population', 'income'])"
            ) in str(err.value)
    # accounts too
    acc = grid_with_island.accounts.copy()
    acc["annual_sales"] = acc["annual_sales"] > 0
    with pytest.raises(DataValidationError) as err:
        PotentialModel().fit(grid_with_island.replace(accounts=acc), level="account")
    assert str(err.value).startswith(
        "accounts.annual_sales: the sales column holds True/False flags (dtype "
        "bool), not numbers. Fix: set model_config['account_sales'] to the "
        "column that holds the annual sales (numeric columns of the accounts "
        "table: ['employees'])"
    )


def test_a_true_false_covariate_enters_as_an_indicator(no_mcmc, grid_with_island):
    """Not refused: a 0/1 flag takes two values whatever its transform, so it
    enters as an indicator (standardised)."""
    units = grid_with_island.units.copy()
    units["urban"] = np.arange(10) % 2 == 0
    res = _fit(grid_with_island.replace(units=units), "unit", unit_covariates=["urban"])
    x = res.idata.constant_data["x"].to_numpy()[:, 0]
    assert sorted(np.unique(np.round(x, 9)).tolist()) == [-1.0, 1.0]


# -- QA round 21 --------------------------------------------------------------------
def test_unused_categories_of_a_grouping_column_are_no_levels(grid_with_island):
    """A categorical column keeps the categories no row has (accounts filtered
    to one industry): they became levels, with sampled ``tau``/``z`` for a
    column of one value (20 divergences) and "'B': 0 accounts" warnings."""
    from terrakit.potential.model import _merge_model_config, prepare_account_data

    acc = grid_with_island.accounts.copy()
    acc["industry"] = pd.Categorical(["Retail"] * 20, categories=["Health", "Retail"])
    acc["segment"] = pd.Categorical(
        acc["segment"].to_numpy(), categories=["A", "B", "C", "D"]
    )
    study = grid_with_island.replace(accounts=acc)
    cfg = {"group_column": None}
    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)  # no "'D': 0 accounts"
        data = prepare_account_data(study, _merge_model_config(cfg))
        free = [rv.name for rv in build_account_model(study, cfg).free_RVs]
    assert data.levels["industry"] == ["Retail"]
    assert data.levels["segment"] == ["A", "B", "C"]
    assert data.index["segment"].tolist() == ([0, 1, 2, 2] * 5)
    plain = study.replace(accounts=acc.astype({"industry": object, "segment": object}))
    assert free == [rv.name for rv in build_account_model(plain, cfg).free_RVs]
    assert "tau_industry" not in free


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (
            {"group_column": "segment"},
            "model_config['segment_column'] ('segment' by default) and "
            "model_config['group_column'] both name the column 'segment': its "
            "groups would enter the model twice (as the segment effect b_segment "
            "and as the pooled intercepts tau_group * z_group), and only the sum "
            "of these effects can be estimated, so the sampler wanders along it "
            "(divergences, poor R-hat). Fix: set one of them to None, e.g. "
            "model_config={'group_column': 'segment', 'segment_column': None}",
        ),
        (
            {"industry_column": "unit_id"},
            "model_config['industry_column'] and model_config['group_column'] "
            "('unit_id' by default) both name the column 'unit_id': its groups "
            "would enter the model twice (as the pooled intercepts tau_industry "
            "* z_industry and as the pooled intercepts tau_group * z_group)",
        ),
        (
            {"segment_column": "region", "industry_column": "region"},
            "model_config['segment_column'] and model_config['industry_column'] "
            "both name the column 'region'",
        ),
    ],
)
def test_one_column_for_two_groupings_is_refused(cfg, message):
    """The same column as segment and group (or industry) entered twice; only
    the sum of the two effects is identified (16 divergences, R-hat 1.07)."""
    with pytest.raises(SpecificationError) as err:
        PotentialModel(model_config=cfg)
    assert str(err.value).startswith(message)
    assert "Fix: set one of them to None" in str(err.value)
    # one grouping per column is fine; None may repeat
    PotentialModel(model_config={"group_column": "segment", "segment_column": None})
    PotentialModel(model_config={"segment_column": None, "industry_column": None})


def test_true_false_grouping_levels_are_saved_and_loaded(
    no_mcmc, grid_with_island, tmp_path
):
    """A True/False segment column fitted, then save() refused its levels
    after sampling ("include boolean values ... give the study ids that are
    whole numbers or text"); netCDF stores bools."""
    acc = grid_with_island.accounts.copy()
    acc["key_account"] = acc["employees"] > 30
    acc["industry"] = pd.array([True, "Retail"] * 10, dtype=object)  # mixed
    res = _fit(
        grid_with_island.replace(accounts=acc), "account", segment_column="key_account"
    )
    back = PotentialResult.load(res.save(tmp_path / "bool.nc"))
    for r in (res, back):
        cd, post = r.idata.constant_data, r.idata.posterior
        assert post["segment"].to_numpy().tolist() == [False, True]
        assert post["segment"].dtype == res.idata.posterior["segment"].dtype
        assert cd["segment_level"].to_numpy().tolist() == [False, True]
        assert [type(v) for v in cd["segment_level"].to_numpy()] == [bool, bool]
        assert cd["industry_level"].to_numpy().tolist() == [True, "Retail"]
        assert [type(v) for v in cd["industry_level"].to_numpy()] == [bool, str]
    pd.testing.assert_frame_equal(back.to_frame(), res.to_frame())


def test_unit_sales_summed_from_accounts_need_no_call_plan(grid_with_island):
    """Without a units' sales column the unit fit derived every measure
    (unit_measures) and refused prospects without calls_per_year, although
    it reads only the sales; the workload is still checked when it is a
    covariate."""
    from terrakit.potential.model import _merge_model_config, prepare_unit_data

    acc = grid_with_island.accounts.copy()
    acc["call_minutes"] = 45.0
    acc["calls_per_year"] = np.where(acc["annual_sales"] > 0, 12.0, np.nan)
    study = grid_with_island.replace(
        units=grid_with_island.units.drop(columns="sales"), accounts=acc
    )
    data = prepare_unit_data(study, _merge_model_config({"spatial": "none"}))
    expect = acc.groupby("unit_id")["annual_sales"].sum()
    assert data.sales.tolist() == expect.loc[data.ids].tolist()
    with pytest.raises(DataValidationError, match="no calls_per_year") as err:
        prepare_unit_data(
            study,
            _merge_model_config(
                {"spatial": "none", "unit_covariates": ["population", "workload"]}
            ),
        )
    assert err.value.rows == ["a1", "a6", "a11", "a16"]
    acc.loc["a2", "annual_sales"] = np.nan
    with pytest.raises(DataValidationError) as err:
        prepare_unit_data(
            study.replace(accounts=acc), _merge_model_config({"spatial": "none"})
        )
    assert err.value.column == "annual_sales" and err.value.rows == ["a2"]
    assert "so the sales of their 1 unit ('u1')" in str(err.value)


def test_covariate_constant_among_the_buyers_is_refused(grid_with_island):
    """A flag that is 1 for every buyer passed the constant check (it varies
    among the prospects): its sales effect was the prior alone and it
    multiplied the prospects' potential 8x (their q95 22x)."""
    acc = grid_with_island.accounts.copy()
    acc["active"] = (acc["annual_sales"] > 0).astype(int)
    study = grid_with_island.replace(accounts=acc)
    with pytest.raises(SpecificationError) as err:
        PotentialModel({"account_covariates": ["employees", "active"]}).build_model(
            study, level="account"
        )
    assert str(err.value) == (
        "covariate(s) ['active'] of the accounts table take a single value among "
        "the accounts with sales ('active' is 1 for all 16 of them; other values "
        "occur only among the 4 without sales): the sales part of the model sees "
        "only the buyers, so their effect on the sales cannot be estimated (it "
        "would be the prior's alone) and would move the potential of those "
        "without sales by an arbitrary factor. A column that marks who buys (a "
        "contract, a customer-since date) describes the buyers, not their size. "
        "Fix: drop them from model_config['account_covariates']"
    )
    units = grid_with_island.units.copy()
    units["urban"] = np.where(units["sales"] > 0, 2.5, 0.0)  # u3 has no sales
    with pytest.raises(SpecificationError, match=r"\['urban'\] of the units table"):
        build_unit_model(
            grid_with_island.replace(units=units),
            {"unit_covariates": ["population", "urban"], "spatial": "none"},
        )


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("idata", "pass the PotentialResult itself, not its idata (a saved one: "),
        ("frame", "pass the PotentialResult itself, not its to_frame() table"),
        ("study", "pass the fit, not the study: posterior_predictive_check("),
        ("none", "make one with tk.potential.PotentialModel().fit(study, seed=0)"),
    ],
)
def test_posterior_predictive_check_refuses_what_is_not_a_result(
    no_mcmc, grid_with_island, given, hint
):
    """The InferenceData, the table or the study failed with a bare
    "AttributeError: ... has no attribute 'idata'"."""
    res = _fit(grid_with_island, "unit", spatial="none")
    obj = {
        "idata": res.idata,
        "frame": res.to_frame(),
        "study": grid_with_island,
        "none": None,
    }[given]
    name = {"idata": "InferenceData", "frame": "DataFrame", "study": "Study"}
    with pytest.raises(TypeError) as err:
        posterior_predictive_check(obj, n_draws=5)
    assert str(err.value).startswith(
        "posterior_predictive_check takes a PotentialResult (tk.potential."
        f"PotentialModel().fit), got {name.get(given, 'None')}; {hint}"
    )


def test_text_in_a_covariate_is_named_as_text(grid_with_island):
    """Text was reported as "missing or not numeric ... impute them", with no
    example: a label column, or numbers with thousands separators."""
    from terrakit.potential.model import (
        _merge_model_config,
        prepare_account_data,
        prepare_unit_data,
    )

    def refused(call):
        with pytest.raises(DataValidationError) as err:
            call()
        assert "impute" not in str(err.value)
        return err.value

    acc = grid_with_island.accounts.assign(channel=["web", "shop"] * 10)
    study = grid_with_island.replace(accounts=acc)
    for col, fix in [
        (
            "industry",
            "it already enters the model as a grouping "
            "(model_config['industry_column']), so leave 'industry' out: "
            "model_config={'account_covariates': ['employees']}",
        ),
        (
            "channel",
            "use it as a grouping instead, e.g. model_config={'industry_column': "
            "'channel', 'account_covariates': ['employees']}",
        ),
    ]:
        cfg = _merge_model_config({"account_covariates": ["employees", col]})
        err = refused(lambda cfg=cfg: prepare_account_data(study, cfg))
        example = study.accounts[col].iloc[0]
        assert str(err).startswith(
            f"accounts.{col}: the covariate holds labels, not amounts: none of "
            f"its 20 values is a number (e.g. {example!r})"
        )
        assert f"Fix: {fix}" in str(err) and err.n_bad == 20

    units = grid_with_island.units.copy()
    cfg = _merge_model_config({"unit_covariates": ["pop"], "spatial": "none"})
    units["pop"] = ["1,200", "3,400", "700"] + ["5,000"] * 7
    err = refused(lambda: prepare_unit_data(grid_with_island.replace(units=units), cfg))
    assert str(err).startswith(
        "units.pop: 9 covariate values are not numbers (e.g. '1,200') (rows: "
    )
    assert "thousands" in str(err) and err.rows[:2] == ["u1", "u2"]
    assert "u3" not in err.rows  # '700' is a number
    units["pop"] = ["12 kg"] + ["700"] * 9
    err = refused(lambda: prepare_unit_data(grid_with_island.replace(units=units), cfg))
    assert str(err) == (
        "units.pop: 1 covariate values are not numbers (e.g. '12 kg') (rows: "
        "'u1'). Fix: remove text such as units or thousands separators from the "
        "column; or leave 'pop' out: model_config={'unit_covariates': []}"
    )
    # missing values (NaN, or blank text) are still missing: impute them
    units["pop"] = [" "] + ["700"] * 8 + [None]
    with pytest.raises(DataValidationError) as err_info:
        prepare_unit_data(grid_with_island.replace(units=units), cfg)
    assert str(err_info.value).startswith(
        "units.pop: 2 covariate values are missing (NaN) (rows: 'u1', 'u10'). "
        "Fix: impute them"
    )


@pytest.mark.parametrize(
    ("key", "bad", "message"),
    [
        (
            "account_covariates",
            [["employees", "revenue"]],
            "model_config['account_covariates'] must be a flat list of column "
            "names, but entry 0 is ['employees', 'revenue'] (list), not a column "
            "name. Fix: list the columns themselves, e.g. "
            "model_config={'account_covariates': ['employees', 'revenue']}",
        ),
        (
            "unit_covariates",
            ["income", {"population": 1}],
            "model_config['unit_covariates'] must be a flat list of column names, "
            "but entry 1 is {'population': 1} (dict), not a column name. Fix: "
            "list the columns themselves, e.g. model_config={'unit_covariates': "
            "['income', 'population']}",
        ),
        (
            "unit_covariates",
            [None],
            "model_config['unit_covariates'] must be a flat list of column names, "
            "but entry 0 is None (NoneType), not a column name. Fix: list the "
            "columns themselves, e.g. model_config={'unit_covariates': "
            "['population', 'income']}",
        ),
    ],
)
def test_covariate_entries_must_be_column_names(key, bad, message):
    """A nested list or a dict passed the constructor and failed at fit with
    pandas' bare "TypeError: unhashable type: 'list'"."""
    with pytest.raises(SpecificationError) as err:
        PotentialModel(model_config={key: bad})
    assert str(err.value) == message

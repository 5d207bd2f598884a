"""The forecast model's checks at the door and its honest answers (mocked MCMC):
settings out of range, broken panels, ended series, one-chain diagnostics."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from terrakit.exceptions import (
    ConvergenceWarning,
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)
from terrakit.forecast import SalesForecaster, make_panel, quota
from terrakit.forecast.model import (
    ended_series,
    fit_panel,
    merge_configs,
    simulate_paths,
)

from .conftest import constant_fit, fake_sample


# -- settings ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model_config", "match"),
    [
        # each used to be accepted: IndexError, ComplexWarning, FloatingPointError
        # or a -inf log density later on
        ({"history_cycles": 0}, r"\['history_cycles'\] must be a whole number ≥ 1"),
        ({"history_cycles": -1}, r"\['history_cycles'\] must be .* got -1"),
        ({"history_cycles": 2.5}, r"\['history_cycles'\] must be .* got 2\.5"),
        ({"trend_damping": -0.5}, r"\['trend_damping'\] must be a number in \[0, 1\]"),
        ({"trend_damping": 1.2}, r"\['trend_damping'\] must be .* got 1\.2"),
        ({"phi_max": 1.5}, r"\['phi_max'\] must be a number in \(0, 1\), got 1\.5"),
        ({"phi_max": 1.0}, r"\['phi_max'\] must be a number in \(0, 1\)"),
        ({"prior_common_sd": -1.0}, r"\['prior_common_sd'\] must be a number > 0"),
        ({"prior_slope_sd": 0}, r"\['prior_slope_sd'\] must be a number > 0, got 0"),
        ({"prior_share_own": "3"}, r"\['prior_share_own'\] .* got '3' \(str\)"),
        ({"prior_sigma_mu": np.nan}, r"\['prior_sigma_mu'\] must be a number finite"),
        ({"offset": True}, r"\['offset'\] must be a number in \(0, 1\], got True"),
        ({"innovation_nu": "abc"}, r"\['innovation_nu'\] must be None .* got 'abc'"),
        ({"residual": None}, r"\['residual'\] must be 'ar1' or 'local_level'"),
    ],
)
def test_model_settings_are_range_checked(model_config, match):
    with pytest.raises(SpecificationError, match=match):
        SalesForecaster(model_config=model_config)


@pytest.mark.parametrize(
    ("sampler_config", "match"),
    [
        ({"tune": -5}, r"sampler_config\['tune'\] must be a whole number ≥ 0, got -5"),
        ({"cores": 0}, r"\['cores'\] must be a whole number ≥ 1, got 0"),
        ({"draws": "ten"}, r"\['draws'\] must be .* got 'ten' \(str\)\. Fix: pass"),
        ({"draws": None}, r"\['draws'\] must be a whole number ≥ 1, got None"),
        # used to be truncated to 2 draws
        ({"draws": 2.9}, r"\['draws'\] must be a whole number ≥ 1, got 2\.9"),
        ({"advi_draws": True}, r"\['advi_draws'\] must be .* got True \(bool\)"),
        ({"rhat_max": "x"}, r"\['rhat_max'\] must be a number ≥ 1, got 'x'"),
        ({"ess_min": -1}, r"\['ess_min'\] must be a number ≥ 0, got -1"),
        ({"progressbar": "no"}, r"\['progressbar'\] must be True or False"),
    ],
)
def test_sampler_settings_are_type_and_range_checked(sampler_config, match):
    with pytest.raises(SpecificationError, match=match):
        SalesForecaster(sampler_config=sampler_config)


@pytest.mark.parametrize(
    ("model_config", "sampler_config", "match"),
    [
        (
            None,
            "advi",
            r"sampler_config must be a dict of settings, got 'advi' "
            r"\(str\)\. Fix: pass e\.g\. sampler_config=\{'method': 'advi'\}",
        ),
        (
            None,
            500,
            r"sampler_config must be a dict of settings, got 500\. Fix: "
            r"pass e\.g\. sampler_config=\{'draws': 500\}",
        ),
        (
            "hurdle",
            None,
            r"model_config must be a dict of settings, got 'hurdle' "
            r"\(str\)\. Fix: pass e\.g\. model_config=\{'zeros': 'hurdle'\}",
        ),
        (
            [("zeros", "hurdle")],
            None,
            r"model_config must be a dict of settings, "
            r"got \[\('zeros', 'hurdle'\)\]\. .*DEFAULT_MODEL_CONFIG",
        ),
    ],
)
def test_configs_that_are_not_dicts_are_refused(model_config, sampler_config, match):
    """dict() of them gave "ValueError: dictionary update sequence element #0
    has length 1; 2 is required" or "TypeError: 'int' object is not iterable"
    (or, for a list of pairs, a config nobody meant)."""
    with pytest.raises(SpecificationError, match=match):
        merge_configs(model_config, sampler_config)
    with pytest.raises(SpecificationError, match=match):
        SalesForecaster(model_config=model_config, sampler_config=sampler_config)


def test_whole_float_counts_are_accepted_as_ints():
    mcfg, scfg = merge_configs({"history_cycles": 3.0}, {"draws": 500.0})
    assert mcfg["history_cycles"] == 3 and type(mcfg["history_cycles"]) is int
    assert scfg["draws"] == 500 and type(scfg["draws"]) is int


# -- make_panel ------------------------------------------------------------------
def _long(ids, periods, sales):
    return pd.DataFrame(
        {"s": ids, "period": pd.PeriodIndex(periods, freq="M"), "sales": sales}
    )


def test_rows_without_a_series_id_are_refused():
    """1000 of 1045 sales used to vanish with their NaN / None ids."""
    p = list(pd.period_range("2024-01", periods=3, freq="M"))
    long = _long(
        ["a", "a", "a", None, np.nan, "b", "b", "b"],
        p + p[:2] + p,
        [10, 10, 10, 500, 500, 5, 5, 5.0],
    )
    with pytest.raises(
        DataValidationError,
        match=r"history\.s: 2 of 8 rows have no series id \(missing s\); they "
        r"carry 1000 of the sales .*\(rows: 3, 4\)\. Fix: fill in the s",
    ):
        make_panel(long, key="s")


def test_rows_without_a_period_are_refused():
    """A row whose period is NaT (a date that did not parse) was dropped by
    the reshape with its sales: here the panel kept 300 of the 5,300."""
    p = list(pd.period_range("2024-01", periods=3, freq="M"))
    long = _long(["a", "a", "a", "a"], [*p, pd.NaT], [100.0, 100, 100, 5000])
    with pytest.raises(
        DataValidationError,
        match=r"history\.period: 1 of 4 rows have no period \(NaT, e\.g\. a date "
        r"that did not parse\); they carry 5000 of the sales \(s a\) and would be "
        r"dropped silently \(rows: 3\)\. Fix: fill in the period of those rows",
    ) as err:
        make_panel(long, key="s")
    assert err.value.rows == [3] and err.value.column == "period"


def test_duplicated_series_periods_are_refused_not_summed():
    """Two rows for (a, 2024-01) used to be summed silently into 20."""
    p = pd.period_range("2024-01", periods=2, freq="M")
    long = _long(["a", "a", "a", "b"], [p[0], p[0], p[1], p[0]], [10.0, 10, 7, 1])
    with pytest.raises(
        DataValidationError,
        match=r"history\.period: 1 \(s, period\) pairs occur more than once "
        r"\(1 extra rows\).*\(rows: 'a 2024-01'\)\. Fix: sum the duplicated "
        r"periods first .*long\.groupby\(\['s', 'period'\], as_index=False\)",
    ):
        make_panel(long, key="s")


def test_negative_sales_name_row_labels_and_series():
    """The series ids used to be listed as "rows", with ``np.float64(-2.0)``."""
    p = pd.period_range("2024-01", periods=2, freq="M")
    long = _long(["x", "x", "y", "y"], [p[0], p[1], p[0], p[1]], [5.0, -2, -1, 3])
    long.index = [101, 102, 103, 104]
    with pytest.raises(DataValidationError) as err:
        make_panel(long, key="s")
    msg = str(err.value)
    assert "np.float64" not in msg
    assert "2 sales values are negative (e.g. -2, min -2; series x, y)" in msg
    assert "(rows: 102, 103)" in msg
    assert err.value.rows == [102, 103]


def test_groups_that_match_no_series_are_refused_and_partial_ones_named():
    """A groups Series indexed by something else used to make every series
    'unknown' silently."""
    p = pd.period_range("2024-01", periods=3, freq="M")
    long = _long(np.repeat(["a", "b", "c"], 3), np.tile(p, 3), 1.0)
    with pytest.raises(
        DataValidationError,
        match=r"groups: none of the 3 series ids of the history is in the index "
        r"of groups .*Fix: index groups by the history's series ids",
    ):
        make_panel(long, key="s", groups=pd.Series({"x": "G1", "y": "G2"}))
    with pytest.raises(DataValidationError, match="clusters: none of the 3"):
        make_panel(long, key="s", clusters=pd.Series({"x": "K"}))
    with pytest.warns(
        TerrakitWarning,
        match=r"^1 of the 3 series have no entry in groups \(\['c'\]\); their "
        r"group is 'unknown'",
    ) as rec:
        panel = make_panel(long, key="s", groups=pd.Series({"a": "G1", "b": "G2"}))
    assert rec[0].filename == __file__
    assert panel.group_names == ("G1", "G2", "unknown")
    assert list(panel.groups) == [0, 1, 2]


# -- ended series ------------------------------------------------------------------
def _lost(study, account: str, months: int):
    """``study`` with ``account``'s rows of the last ``months`` months removed."""
    h = study.history
    end = h["period"].max()
    return study.replace(
        history=h[~((h["account_id"] == account) & (h["period"] > end - months))]
    )


def test_a_lost_account_is_forecast_at_zero_and_named(toy_study, mock_sampling):
    """a1's rows stop 18 months before the end: it used to get a full-strength
    forecast (~1543 a year, like an active account), silently."""
    study = _lost(toy_study, "a1", 18)
    fitted = SalesForecaster(sampler_config=mock_sampling).fit(
        study, level="account", seed=0
    )
    with pytest.warns(TerrakitWarning) as rec:
        fc = fitted.predict(horizon=12)
    msgs = [str(w.message) for w in rec if "row in the last" in str(w.message)]
    assert msgs == [
        "1 of the 8 series have no row in the last 12 months of the history (up "
        "to 2025-12): 'a1' (last 2024-06). They are treated as ended (e.g. lost "
        "accounts) and forecast at 0. Fix: if they are still active, add rows "
        "with sales 0 for the months they sold nothing; if they are lost, drop "
        "them from the history; to forecast them anyway, pass forecast_ended=True"
    ]
    assert rec[0].filename == __file__  # points at the predict call
    d = fc.draws
    assert (d.sel(series="a1").to_numpy() == 0).all()
    others = ["a2", "a3", "a4", "a5", "a6", "a7"]
    assert (d.sel(series=others).mean(("draw", "period")) > 0).all()
    prov = fc.provenance
    assert prov["ended_series"] == [{"series": "a1", "last_period": "2024-06"}]
    assert prov["ended_after"] == 12 and prov["forecast_ended"] is False
    json.dumps(prov)

    # territory totals, quotas: the lost account adds nothing
    al = study.alignments["current"]
    tf = fc.by(al)
    np.testing.assert_allclose(
        tf.draws.sel(territory="T1"),
        d.sel(series=["a2", "a3", "a4"]).sum("series"),
        rtol=1e-5,
    )
    assert tf.provenance["ended_series"] == prov["ended_series"]
    q = quota(fc, al, method="growth")
    assert q.provenance["ended_series"] == prov["ended_series"]

    # on request it is forecast like the others, without the warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)
        kept = fitted.predict(horizon=12, forecast_ended=True)
    assert float(kept.draws.sel(series="a1").mean()) > 0
    assert kept.provenance["forecast_ended"] is True
    # "no" would be True: refused, with its type shown
    with pytest.raises(
        SpecificationError,
        match=r"^forecast_ended must be True or False, got 'no' \(str\)$",
    ):
        fitted.predict(horizon=12, forecast_ended="no")


def test_a_series_missing_only_the_last_months_is_still_forecast(
    toy_study, mock_sampling
):
    study = _lost(toy_study, "a1", 6)
    fitted = SalesForecaster(sampler_config=mock_sampling).fit(
        study, level="account", seed=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)
        fc = fitted.predict(horizon=3)
    assert float(fc.draws.sel(series="a1").mean()) > 0
    assert fc.provenance["ended_series"] == []
    # a shorter threshold ends it
    with pytest.warns(TerrakitWarning, match=r"no row in the last 6 months"):
        short = fitted.predict(horizon=3, ended_after=6)
    assert (short.draws.sel(series="a1").to_numpy() == 0).all()
    assert short.provenance["ended_after"] == 6


def test_ended_series_counts_back_one_season():
    q = pd.period_range("2020Q1", periods=12, freq="Q")
    long = pd.DataFrame(
        {
            "k": ["on"] * 12 + ["late"] * 10 + ["gone"] * 8,
            "period": list(q) + list(q[:10]) + list(q[:8]),
            "sales": 1.0,
        }
    )
    panel = make_panel(long, key="k")
    assert ended_series(panel).to_dict() == {"gone": pd.Period("2021Q4", "Q")}
    assert set(ended_series(panel, 2).index) == {"gone", "late"}
    for bad in (0, 1.5, True, "4"):
        with pytest.raises(SpecificationError, match="ended_after must be a whole"):
            ended_series(panel, bad)
    fit = constant_fit(panel, level=0.5)
    with pytest.warns(TerrakitWarning, match=r"1 of the 3 series .* last 4 quarters"):
        draws = simulate_paths(fit, 2)
    assert (draws.sel(series="gone").to_numpy() == 0).all()
    assert (draws.sel(series=["on", "late"]).to_numpy() > 0).all()


# -- convergence --------------------------------------------------------------------
def _sticky_sample(model, scfg, seed):
    """:func:`fake_sample` with a random-walk ``tau_slope`` (bulk ESS far
    below 50) and one divergent transition."""
    idata = fake_sample(model, scfg, seed)
    post = idata.posterior
    c, d = post.sizes["chain"], post.sizes["draw"]
    walk = 0.05 + np.cumsum(np.full((c, d), 0.01), axis=1)
    post["tau_slope"] = (("chain", "draw"), walk)
    div = np.zeros((c, d), dtype=bool)
    div[0, 3] = True
    idata.add_groups(
        {
            "sample_stats": xr.Dataset(
                {"diverging": (("chain", "draw"), div)},
                coords={"chain": post["chain"], "draw": post["draw"]},
            )
        }
    )
    return idata


def test_one_chain_still_checks_ess_and_divergences(
    toy_study, mock_sampling, monkeypatch
):
    """With chains=1 every check was skipped: bulk ESS 23.5 < 50 and a
    divergence passed without a word."""
    import terrakit.forecast.model as model_mod

    monkeypatch.setattr(model_mod, "_sample", _sticky_sample)
    with pytest.warns(ConvergenceWarning) as rec:
        fitted = SalesForecaster(sampler_config=mock_sampling | {"chains": 1}).fit(
            toy_study, seed=0
        )
    msg = str(rec[0].message)
    assert "min bulk ESS" in msg and "(tau_slope)" in msg
    assert "1 divergent transitions" in msg
    assert "one chain: R-hat, which needs at least 2 chains, was not checked" in msg
    d = fitted.diagnostics(warn=False)
    assert d.chains == 1 and d.divergences == 1 and not d.ok
    assert np.isnan(d.table["r_hat"]).all()
    assert "1 chains x 100 draws): R-hat n/a (needs 2+ chains), min bulk ESS" in str(d)
    assert d.table.loc["tau_slope", "ess_bulk"] < 50
    with pytest.warns(ConvergenceWarning, match="min bulk ESS"):
        fitted.diagnostics()


def _stuck_chain(name: str):
    """:func:`fake_sample` with chain 1 of ``name`` stuck away from chain 0
    (R-hat far above 1.05); the shock paths, all 0 in :func:`fake_sample`,
    get some spread first."""

    def sample(model, scfg, seed):
        idata = fake_sample(model, scfg, seed)
        v = idata.posterior[name]
        x = np.abs(v.to_numpy()) + 0.01 * np.random.default_rng(7).random(v.shape)
        x[1] += 0.5
        idata.posterior[name] = (v.dims, x)
        return idata

    return sample


@pytest.mark.parametrize(
    "name", ["group_sd", "eta_group", "eta", "tau_level", "mu_phi"]
)
def test_every_kept_parameter_is_checked_for_convergence(
    toy_study, mock_sampling, monkeypatch, name
):
    """group_sd (the group shocks of every forecast step), the shock paths,
    tau_level and mu_phi were sampled and kept but never checked: chains
    that disagreed on group_sd (R-hat 1.68) were reported "ok"."""
    import terrakit.forecast.model as model_mod

    monkeypatch.setattr(model_mod, "_sample", _stuck_chain(name))
    with pytest.warns(
        ConvergenceWarning, match=rf"max R-hat [\d.]+ > 1\.05 \({name}\)"
    ):
        fitted = SalesForecaster(sampler_config=mock_sampling).fit(
            toy_study, level="account", seed=0, groups="segment"
        )
    d = fitted.diagnostics(warn=False)
    assert not d.ok and d.table.loc[name, "r_hat"] > 1.5


def test_diagnostics_table_of_a_good_fit(toy_study, mock_sampling):
    fitted = SalesForecaster(sampler_config=mock_sampling).fit(toy_study, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        d = fitted.diagnostics()
    assert d.ok and d.chains == 2 and d.draws == 100
    assert list(d.table.columns) == ["size", "r_hat", "ess_bulk", "ess_tail"]
    assert {"level", "slope", "season", "sigma", "phi"} <= set(d.table.index)
    assert d.table.loc["season", "size"] == 4 * 12
    assert d.max_rhat < 1.05 and d.min_ess_bulk > 50
    assert d.rhat_max == 1.05 and d.ess_min == 50


def test_fit_records_library_versions(toy_study, mock_sampling):
    import pymc

    fitted = SalesForecaster(sampler_config=mock_sampling).fit(toy_study, seed=0)
    versions = json.loads(fitted.idata.attrs["versions"])
    assert versions["numpy"] == np.__version__
    assert versions["pandas"] == pd.__version__
    assert versions["pymc"] == pymc.__version__
    prov = fitted.predict(horizon=2).provenance
    assert prov["versions"]["numpy"] == np.__version__
    assert prov["versions"]["pymc"] == pymc.__version__


def test_fit_panel_checks_before_sampling(monkeypatch):
    """Settings are refused before anything is compiled or sampled."""
    import terrakit.forecast.model as model_mod

    def boom(*a, **k):
        raise AssertionError("sampled")

    monkeypatch.setattr(model_mod, "_sample", boom)
    from .conftest import small_panel

    with pytest.raises(SpecificationError, match="phi_max"):
        fit_panel(small_panel(), model_config={"phi_max": 2.0})


def _clean_panel(n_series: int = 5, months: int = 48, grouped: bool = False):
    """Clean monthly series: level 100-500, ±30 % seasonality, 10 % noise."""
    rng = np.random.default_rng(1)
    periods = pd.period_range("2020-01", periods=months, freq="M")
    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(months) / 12)
    rows = [
        (f"s{k}", p, v)
        for k in range(n_series)
        for p, v in zip(
            periods,
            100 * (k + 1) * season * rng.lognormal(0, 0.1, months),
            strict=True,
        )
    ]
    long = pd.DataFrame(rows, columns=["k", "period", "sales"])
    groups = None
    if grouped:
        groups = pd.Series({f"s{k}": "ab"[k % 2] for k in range(n_series)})
    return make_panel(long, key="k", groups=groups)


@pytest.mark.parametrize("grouped", [False, True])
def test_the_model_evaluates_on_one_flat_parameter_vector(grouped):
    """nutpie hands the model one flat vector and slices each free variable
    out of it.  The common shock was a reverse cumulative sum written with
    ``[::-1]``; on the last slice of the vector PyTensor merged the two slices
    into an empty one, so every initial point failed and the default sampler
    crashed on a clean panel ("All initialization points failed")."""
    import pytensor
    import pytensor.tensor as pt

    from terrakit.forecast.model import build_forecast_model

    model = build_forecast_model(_clean_panel(grouped=grouped))
    point = model.initial_point()
    values = [model.rvs_to_values[rv] for rv in model.free_RVs]
    sizes = [int(np.size(point[v.name])) for v in values]
    ends = np.cumsum(sizes)
    flat = pt.TensorType("float64", shape=(int(ends[-1]),))("flat")
    logp = model.logp()
    grad = pt.concatenate([g.ravel() for g in pytensor.grad(logp, values)])
    replace = {
        v: flat[e - n : e].reshape(np.shape(point[v.name]))
        for v, n, e in zip(values, sizes, ends, strict=True)
    }
    logp, grad = pytensor.clone_replace([logp, grad], replace)
    f = pytensor.function([flat], [logp, grad], mode="FAST_COMPILE")
    x = np.concatenate([np.ravel(point[v.name]) for v in values])
    lp, g = f(x)
    assert np.isfinite(lp) and np.isfinite(g).all()
    # the same log density as PyMC's own evaluation
    assert float(lp) == pytest.approx(float(model.compile_logp()(point)), rel=1e-9)


@pytest.mark.parametrize(
    ("sales", "problem", "fix"),
    [
        (
            ["1,234.5", "980", "n/a"],
            r"2 sales values are text that does not read as a number "
            r"\(e\.g\. '1,234\.5', 'n/a'; series x\) \(rows: 0, 2\)",
            r"Fix: remove thousands separators and units \(e\.g\. "
            r"long\['sales'\]\.str\.replace\(',', ''\) for '1,234\.5'\), or pass "
            r'decimal="," when reading a file',
        ),
        (
            ["86,6", "90,1", "3"],
            r"2 sales values are text that does not read as a number "
            r"\(e\.g\. '86,6', '90,1'; series x\)",
            r'Fix: these numbers have a decimal comma: pass decimal=","',
        ),
        (
            [5.0, np.nan, 3.0],
            r"1 sales values are missing \(NaN; series x\) \(rows: 1\)",
            r"Fix: drop those rows \(a period without a row is unobserved, not 0 "
            r"sales\) or fill them with 0 where nothing was sold",
        ),
        (
            [5.0, np.inf, 3.0],
            r"1 sales values are infinite \(e\.g\. inf; series x\)",
            r"Fix: replace them by the period's real sales",
        ),
        (
            [5.0, -2.0, -4.0],
            r"2 sales values are negative \(e\.g\. -2, min -4; series x\)",
            r"Fix: net returns and credit notes into their period's sales \(one "
            r"row per s and period: long\.groupby\(\['s', 'period'\], "
            r"as_index=False\)\['sales'\]\.sum\(\)\)",
        ),
    ],
    ids=["text", "decimal-comma", "nan", "inf", "negative"],
)
def test_bad_sales_values_each_get_their_own_fix(sales, problem, fix):
    """Text such as '1,234.5' or 'n/a' used to be reported as "negative or not
    finite (e.g. nan)" with the fix "net returns"."""
    p = pd.period_range("2024-01", periods=3, freq="M")
    long = _long(["x"] * 3, p, pd.Series(sales, dtype=object))
    with pytest.raises(DataValidationError) as err:
        make_panel(long, key="s")
    msg = str(err.value)
    assert msg.startswith("history.sales: ")
    assert re.search(problem, msg), msg
    assert re.search(fix, msg), msg


def test_advi_convergence_judges_the_last_tenth_of_the_loss():
    """The median loss of the last 10 % of the iterations against the 10 %
    before, per observed value: a loss falling by 1 per iteration moves 100
    in 100 iterations, 0.1 per value of 1000 (flat enough), 0.1001 of 999."""
    from terrakit.forecast.model import advi_convergence

    loss = -np.arange(1000.0)
    ok = advi_convergence(loss, 1000)
    assert ok == {
        "iterations": 1000,
        "window": 100,
        "loss_before": -849.5,
        "loss_last": -949.5,
        "change_per_value": 0.1,
        "max_change": 0.1,
        "converged": True,
    }
    assert not advi_convergence(loss, 999)["converged"]
    # a rising loss has not settled either; noise around a flat loss has
    assert not advi_convergence(-loss, 999)["converged"]
    rng = np.random.default_rng(0)
    flat = 50.0 * np.exp(-np.arange(4000) / 200) + rng.normal(0, 30, 4000)
    assert advi_convergence(flat, 100)["converged"]
    assert not advi_convergence(flat[:400], 100)["converged"]
    # one iteration cannot be judged
    one = advi_convergence(np.array([5.0]), 10)
    assert one["change_per_value"] is None and not one["converged"]


def test_advi_cut_short_warns_and_records_the_check(toy_study):
    """Real ADVI, stopped after 300 iterations: its loss is still falling.
    The fit used to skip every check (an 8,000-iteration fit on 30 series
    forecast 20 % high with 80 % coverage 1.0, silently)."""
    cfg = {
        "method": "advi",
        "advi_iterations": 300,
        "advi_draws": 20,
        "progressbar": False,
    }
    with pytest.warns(ConvergenceWarning) as rec:
        fitted = SalesForecaster(sampler_config=cfg).fit(
            toy_study, level="unit", seed=0
        )
    msg = str(rec[0].message)
    check = json.loads(fitted.idata.attrs["advi_check"])
    assert check["iterations"] == 300 and check["window"] == 30
    assert not check["converged"] and abs(check["change_per_value"]) > 0.1
    assert msg.startswith(
        "the forecast posterior may be unreliable: ADVI stopped at its "
        "iteration cap (advi_iterations=300) before its loss (the negative "
        "ELBO) flattened: the median loss of the last 10% of the iterations is "
        f"{abs(check['change_per_value']):.3f} per observed value "
    )
    assert msg.endswith(
        "Fix: raise sampler_config['advi_iterations'] (e.g. to 30000), or "
        "sample with method='nutpie' (NUTS, checked by R-hat and ESS)"
    )
    d = fitted.diagnostics(warn=False)
    assert not d.ok and d.problems[0].startswith("ADVI stopped at its iteration cap")
    with pytest.warns(ConvergenceWarning, match=r"advi_iterations=300\)"):
        fitted.diagnostics()
    assert fitted.predict(2).provenance["advi_check"] == check


@pytest.mark.parametrize(
    ("horizon", "n_draws", "shape"),
    [(3.0, None, (200, 8, 3)), (3, 50.0, (50, 8, 3)), (np.float64(2.0), 7, (7, 8, 2))],
)
def test_whole_float_horizons_and_draws_count_like_config_counts(
    toy_study, mock_sampling, horizon, n_draws, shape
):
    """horizon=12.0 was refused as "not a whole number" while draws=500.0
    (every config count) is accepted."""
    fitted = SalesForecaster(sampler_config=mock_sampling).fit(
        toy_study, level="account", seed=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TerrakitWarning)  # the ended account
        fc = fitted.predict(horizon, n_draws=n_draws)
        paths = simulate_paths(fitted.fit, horizon, n_draws=n_draws)
    assert fc.draws.shape == shape and paths.shape == shape
    assert fc.horizon == shape[2] and fc.provenance["horizon"] == shape[2]
    assert type(fc.provenance["horizon"]) is int


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon": 1.5}, r"^horizon must be a whole number of periods, got 1\.5"),
        ({"horizon": True}, r"^horizon must be a whole number of periods, got True"),
        ({"horizon": "12"}, r"^horizon must be a whole number of periods, got '12'"),
        ({"horizon": 0.0}, r"^horizon must be at least 1 period, got 0\.0"),
        ({"n_draws": 2.5}, r"^n_draws must be a whole number ≥ 1, got 2\.5"),
        ({"n_draws": True}, r"^n_draws must be a whole number ≥ 1, got True"),
        ({"ended_after": 1.5}, r"^ended_after must be a whole number of periods"),
    ],
)
def test_counts_that_are_not_whole_are_still_refused(
    toy_study, mock_sampling, kwargs, match
):
    fitted = SalesForecaster(sampler_config=mock_sampling).fit(toy_study, seed=0)
    args = {"horizon": 3} | kwargs
    with pytest.raises(SpecificationError, match=match):
        fitted.predict(**args)


def test_tune_0_is_refused_for_nutpie_before_compiling():
    """nutpie cannot sample without tuning: tune=0 passed merge_configs and
    fit_panel ended, after compiling, in a Rust PanicException (a
    BaseException) that nutpie_sample's retry raised again."""
    with pytest.raises(SpecificationError) as info:
        merge_configs(None, {"tune": 0})
    assert str(info.value) == (
        "sampler_config['tune'] must be ≥ 1 with nutpie (nutpie cannot sample "
        "without tuning steps), got 0. Fix: pass e.g. tune=300 (the default), "
        "or method='pymc' (PyMC's NUTS, which can)"
    )
    with pytest.raises(SpecificationError, match=r"≥ 1 with nutpie"):
        SalesForecaster(sampler_config={"method": "nutpie", "tune": 0})
    for method in ("pymc", "advi"):
        assert merge_configs(None, {"method": method, "tune": 0})[1]["tune"] == 0


def test_the_nutpie_retry_warning_of_the_forecast_reaches_the_user(monkeypatch):
    """The forecast's _sample wrapped nutpie_sample in simplefilter("ignore",
    UserWarning), which swallowed its TerrakitWarning (a UserWarning) that the
    run was retried with cores=1 after a panic."""
    import arviz as az
    import pymc as pm

    from terrakit.forecast.model import _sample

    nutpie = pytest.importorskip("nutpie")

    class PanicException(BaseException):
        """Stands in for pyo3's PanicException (a BaseException)."""

    outcomes: list = [
        PanicException("expand error -2"),
        az.from_dict(posterior={"alpha": np.zeros((2, 10))}),
    ]
    cores: list[int] = []

    def sample(compiled, **kwargs):
        cores.append(kwargs["cores"])
        out = outcomes.pop(0)
        if isinstance(out, BaseException):
            raise out
        return out

    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda model, **kw: "compiled")
    monkeypatch.setattr(nutpie, "sample", sample)
    with pm.Model() as model:
        pm.Normal("alpha", 0.0, 1.0)
    scfg = merge_configs(
        None, {"draws": 10, "tune": 10, "chains": 2, "progressbar": False}
    )[1]
    with pytest.warns(TerrakitWarning, match="retrying once with the chains run"):
        idata = _sample(model, scfg, 0)
    assert list(idata.posterior.data_vars) == ["alpha"]
    assert cores == [2, 1]

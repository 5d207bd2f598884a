"""``terrakit._sampling``: the nutpie retry, the checks of the sampler settings
and the diagnostics of empty variables."""

from __future__ import annotations

import signal
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

import terrakit._sampling as sampling
from terrakit.exceptions import (
    ConvergenceWarning,
    SpecificationError,
    TerrakitError,
    TerrakitWarning,
)

from .conftest import swallow_ctrl_c


class PanicException(BaseException):
    """Stands in for pyo3's ``PanicException`` (a ``BaseException``)."""


def _fake_sample(outcomes: list):
    calls: list[dict] = []

    def sample(compiled, **kwargs):
        calls.append(kwargs)
        out = outcomes.pop(0)
        if isinstance(out, BaseException):
            raise out
        return out

    return sample, calls


def _posterior(chains: int, draws: int, padded: dict[int, int] | None = None):
    """A posterior of ``chains`` x ``draws`` draws of ``x`` (3 values) and
    ``n`` (an int), chain c's last ``padded[c]`` draws NaN, as nutpie pads
    the chains it stopped early."""
    x = np.random.default_rng(0).standard_normal((chains, draws, 3))
    for c, k in (padded or {}).items():
        x[c, draws - k :] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "more chains than draws"
        return az.from_dict(
            posterior={"x": x, "n": np.ones((chains, draws), dtype=int)},
            dims={"x": ["k"]},
        )


def test_a_ctrl_c_the_block_swallowed_is_raised_again():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match="interrupted during nutpie sampling"):
        with sampling.interruptible("nutpie sampling"):
            swallow_ctrl_c()
    assert signal.getsignal(signal.SIGINT) is before
    # the error a truncated result causes later in the block gives way to it
    with pytest.raises(KeyboardInterrupt) as info:
        with sampling.interruptible():
            swallow_ctrl_c()
            raise IndexError("index -1 is out of bounds for axis 0 with size 0")
    assert isinstance(info.value.__cause__, IndexError)
    assert signal.getsignal(signal.SIGINT) is before
    with sampling.interruptible():  # no Ctrl-C: nothing happens
        pass


def test_nutpie_interrupted_by_ctrl_c_raises_keyboard_interrupt(monkeypatch):
    """nutpie catches the KeyboardInterrupt (sampler.abort()) and returns the
    draws it had: `terrakit run` carried on with 0 or 78 draws per chain and
    failed later with a bare IndexError or a misleading message."""
    nutpie = pytest.importorskip("nutpie")

    def sample(compiled, **kwargs):
        swallow_ctrl_c()
        return _posterior(chains=2, draws=0)

    monkeypatch.setattr(nutpie, "sample", sample)
    with pytest.raises(KeyboardInterrupt):
        sampling.nutpie_sample("model", draws=500, chains=2, cores=2)


@pytest.mark.parametrize(
    ("idata", "said"),
    [
        (_posterior(2, 78), "it returned 2 chain(s) holding 78 and 78"),
        (_posterior(2, 500, {1: 422}), "it returned 2 chain(s) holding 500 and 78"),
        (_posterior(1, 500), "it returned 1 chain(s) holding 500"),
    ],
)
def test_a_truncated_nutpie_posterior_is_refused(monkeypatch, idata, said):
    """Without a Ctrl-C seen (a failed sampler thread, another thread's run):
    the draws are counted, nutpie's NaN padding as missing."""
    nutpie = pytest.importorskip("nutpie")
    monkeypatch.setattr(nutpie, "sample", lambda compiled, **kw: idata)
    with pytest.raises(TerrakitError) as info:
        sampling.nutpie_sample("model", draws=500, chains=2, cores=2)
    assert str(info.value) == (
        f"nutpie stopped early: {said} draws where 2 chains of 500 draws were asked "
        "for, so its posterior is incomplete and was not used. Fix: run again; "
        "if it stops early again, sample with sampler_config={'method': "
        "'pymc'} (PyMC's own NUTS)"
    )
    full = _posterior(2, 500)
    monkeypatch.setattr(nutpie, "sample", lambda compiled, **kw: full)
    assert sampling.nutpie_sample("model", draws=500, chains=2) is full


def _tiny_model():
    import pymc as pm

    with pm.Model() as model:
        x = pm.Normal("x", 0.0, 1.0)
        pm.Normal("y", x, 1.0, observed=np.zeros(5))
    return model


def test_advi_interrupted_raises_or_is_refused(monkeypatch):
    """PyMC's ADVI stops at a KeyboardInterrupt and returns the approximation
    as it was; sample() used it."""
    calls = []

    def interrupt_at_50(self, approx, hist, i):
        calls.append(i)
        if i == 50:
            if signal_it:
                signal.raise_signal(signal.SIGINT)
            raise KeyboardInterrupt  # as a Ctrl-C that missed the handler

    monkeypatch.setattr(sampling.AdviTracker, "__call__", interrupt_at_50)
    cfg = {"method": "advi", "vi_iterations": 300, "progressbar": False}
    signal_it = False
    with pytest.raises(TerrakitError) as info:
        sampling.sample(_tiny_model(), cfg, seed=0)
    # PyMC keeps the loss of the iterations before the interrupted one
    assert str(info.value) == (
        f"ADVI stopped early, after {calls[-1] - 1} of the 300 iterations asked "
        "for (sampler_config['vi_iterations']), so its approximation is "
        "unfinished and was not used. Fix: run again"
    )
    signal_it = True
    with pytest.raises(KeyboardInterrupt, match="interrupted during ADVI"):
        sampling.sample(_tiny_model(), cfg, seed=0)
    assert max(calls) == 50


def test_pymc_nuts_interrupted_raises_and_stops_the_next_chain(monkeypatch):
    """PyMC swallows the KeyboardInterrupt in each chain; chains sampled one
    after another went on with the next one."""
    import pymc as pm

    seen = {}

    def fake_sample(**kwargs):
        swallow_ctrl_c()  # chain 0 stops, as PyMC's _sample does
        with pytest.raises(KeyboardInterrupt):  # chain 1 stops at its first draw
            kwargs["callback"](trace=None, draw=None)
        seen["ran"] = True
        return _posterior(2, 3)

    monkeypatch.setattr(pm, "sample", fake_sample)
    with pytest.raises(KeyboardInterrupt, match="interrupted during PyMC sampling"):
        sampling.sample(_tiny_model(), {"method": "pymc", "progressbar": False})
    assert seen == {"ran": True}
    monkeypatch.setattr(pm, "sample", lambda **kw: _posterior(2, 3))
    with pytest.raises(TerrakitError, match="PyMC's NUTS stopped early: it returned"):
        sampling.sample(_tiny_model(), {"method": "pymc", "progressbar": False})


def test_the_forecast_and_response_curves_samplers_stop_at_ctrl_c(monkeypatch):
    """The forecast (PyMC NUTS, ADVI) and the response curves (PyMC NUTS)
    called pm.sample / pm.fit themselves: a Ctrl-C they swallowed let the
    run carry on with a truncated posterior or an unfinished ADVI."""
    from types import SimpleNamespace

    import pymc as pm

    from terrakit.forecast.model import _sample as forecast_sample
    from terrakit.sizing.response import ResponseModel

    def swallowing_sample(**kwargs):
        swallow_ctrl_c()
        return _posterior(2, 3)

    monkeypatch.setattr(pm, "sample", swallowing_sample)
    scfg = {
        "method": "pymc",
        "draws": 50,
        "tune": 50,
        "chains": 2,
        "cores": 1,
        "progressbar": False,
    }
    with pytest.raises(KeyboardInterrupt, match="interrupted during PyMC sampling"):
        forecast_sample(_tiny_model(), scfg, 0)
    curves = SimpleNamespace(
        build_model=lambda stats: _tiny_model(),
        sampler="pymc",
        draws=50,
        tune=50,
        chains=2,
        progressbar=False,
        target_accept=0.9,
    )
    with pytest.raises(KeyboardInterrupt, match="interrupted during PyMC sampling"):
        ResponseModel._sample(curves, [], 0)
    # no Ctrl-C, but fewer draws than asked for: refused
    monkeypatch.setattr(pm, "sample", lambda **kw: _posterior(2, 3))
    with pytest.raises(TerrakitError, match="PyMC's NUTS stopped early: it returned"):
        ResponseModel._sample(curves, [], 0)

    def short_fit(n, **kwargs):
        if ctrl_c:
            swallow_ctrl_c()
        return SimpleNamespace(hist=np.zeros(n // 2))

    monkeypatch.setattr(pm, "fit", short_fit)
    scfg = {
        "method": "advi",
        "advi_iterations": 400,
        "advi_draws": 10,
        "progressbar": False,
    }
    ctrl_c = True
    with pytest.raises(KeyboardInterrupt, match="interrupted during ADVI"):
        forecast_sample(_tiny_model(), scfg, 0)
    ctrl_c = False
    with pytest.raises(TerrakitError) as info:
        forecast_sample(_tiny_model(), scfg, 0)
    assert str(info.value) == (
        "ADVI stopped early, after 200 of the 400 iterations asked for "
        "(sampler_config['advi_iterations']), so its approximation is "
        "unfinished and was not used. Fix: run again"
    )


def test_a_panic_is_retried_once_with_sequential_chains(monkeypatch):
    nutpie = pytest.importorskip("nutpie")
    idata = _posterior(chains=4, draws=10)
    sample, calls = _fake_sample([PanicException("expand error -2"), idata])
    monkeypatch.setattr(nutpie, "sample", sample)
    with pytest.warns(TerrakitWarning, match="retrying once with the chains run"):
        out = sampling.nutpie_sample("model", draws=10, cores=2, seed=3)
    assert out is idata
    assert calls == [
        {"draws": 10, "cores": 2, "seed": 3},
        {"draws": 10, "cores": 1, "seed": 3},
    ]


def test_a_second_panic_and_other_errors_propagate(monkeypatch):
    nutpie = pytest.importorskip("nutpie")
    sample, calls = _fake_sample([PanicException("a"), PanicException("b")])
    monkeypatch.setattr(nutpie, "sample", sample)
    with pytest.warns(TerrakitWarning), pytest.raises(PanicException, match="b"):
        sampling.nutpie_sample("model", cores=2)
    sample, calls = _fake_sample([ValueError("bad model")])
    monkeypatch.setattr(nutpie, "sample", sample)
    with pytest.raises(ValueError, match="bad model"):
        sampling.nutpie_sample("model", cores=2)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("user", "match"),
    [
        # text and None used to give int()'s bare ValueError / TypeError
        (
            {"draws": "ten"},
            r"sampler_config\['draws'\] must be a whole number ≥ 1, "
            r"got 'ten' \(str\)\. Fix: pass an integer such as draws=500",
        ),
        ({"draws": None}, r"\['draws'\] must be a whole number ≥ 1, got None"),
        # fractions used to be truncated silently (vi_draws=2.7 -> 2 draws)
        ({"vi_draws": 2.7}, r"\['vi_draws'\] must be a whole number ≥ 1, got 2\.7"),
        ({"chains": True}, r"\['chains'\] must be a whole number ≥ 1, got True"),
        ({"tune": -5}, r"\['tune'\] must be a whole number ≥ 0, got -5"),
        ({"cores": 0}, r"\['cores'\] must be a whole number ≥ 1, got 0"),
        ({"rhat_max": "x"}, r"\['rhat_max'\] must be a number ≥ 1, got 'x'"),
        ({"ess_min": -1}, r"\['ess_min'\] must be a number ≥ 0, got -1"),
        ({"vi_learning_rate": 0}, r"\['vi_learning_rate'\] must be a number > 0"),
        (
            {"target_accept": "0.9"},
            r"\['target_accept'\] must be a number in \[0\.5, 1\)",
        ),
        ({"progressbar": "no"}, r"\['progressbar'\] must be True or False"),
    ],
)
def test_bad_sampler_settings_name_key_value_and_fix(user, match):
    with pytest.raises(SpecificationError, match=match):
        sampling.merge_sampler_config(user)


def test_whole_float_counts_are_taken_as_ints():
    cfg = sampling.merge_sampler_config({"draws": 500.0, "vi_draws": np.int64(7)})
    assert cfg["draws"] == 500 and type(cfg["draws"]) is int
    assert cfg["vi_draws"] == 7 and type(cfg["vi_draws"]) is int


def test_diagnose_skips_empty_variables():
    """``beta`` of a model without covariates has shape (chain, draw, 0); its
    R-hat / ESS used to crash diagnose with a zero-size reduction."""
    rng = np.random.default_rng(0)
    idata = az.from_dict(
        posterior={
            "alpha": rng.standard_normal((2, 200)),
            "beta": np.zeros((2, 200, 0)),
        },
        dims={"beta": ["covariate"]},
        coords={"covariate": np.array([], dtype=str)},
    )
    d = sampling.diagnose(idata, ["alpha", "beta"], ess_min=50.0, warn=False)
    assert d.table.loc["beta", "size"] == 0
    assert np.isnan(d.table.loc["beta", "ess_bulk"])
    assert d.ok, d.problems
    assert d.min_ess_bulk == pytest.approx(d.table.loc["alpha", "ess_bulk"])


def test_a_failed_nutpie_start_is_a_terrakit_error(monkeypatch):
    """nutpie's bare RuntimeError (a Rust stack trace) when no initial point
    can be evaluated names what failed and the way round it."""
    nutpie = pytest.importorskip("nutpie")
    err = RuntimeError(
        "All initialization points failed\n\nCaused by:\n    Logp function "
        "returned error: ErrorCode(1)"
    )
    sample, calls = _fake_sample([err])
    monkeypatch.setattr(nutpie, "sample", sample)
    with pytest.raises(TerrakitError, match="nutpie could not start sampling") as e:
        sampling.nutpie_sample("model", cores=2)
    assert "sampler_config={'method': 'pymc'}" in str(e.value)
    assert "ErrorCode(1)" in str(e.value)
    assert len(calls) == 1
    # other runtime errors are nutpie's own
    sample, calls = _fake_sample([RuntimeError("something else")])
    monkeypatch.setattr(nutpie, "sample", sample)
    with pytest.raises(RuntimeError, match="something else"):
        sampling.nutpie_sample("model", cores=2)


def test_advi_of_the_shared_sampler_is_quiet_without_a_progress_bar(caplog, capsys):
    """impact() and performance() sample through sampling.sample: its ADVI
    printed PyMC's "Finished [100%]: Average Loss" with the bar off (notebook
    50's stored outputs showed it)."""
    import logging

    import pymc as pm

    with pm.Model() as model:
        pm.Normal("x", 0.0, 1.0)
    cfg = sampling.merge_sampler_config(
        {"method": "advi", "vi_iterations": 200, "vi_draws": 20, "progressbar": False}
    )
    caplog.set_level(logging.INFO)
    level = logging.getLogger("pymc").level
    sampling.sample(model, cfg, seed=0, var_names=["x"])
    assert not [r for r in caplog.records if r.name.startswith("pymc")]
    out = capsys.readouterr()
    assert "Average Loss" not in out.out + out.err
    assert logging.getLogger("pymc").level == level  # restored


def test_a_sampler_config_that_is_not_a_dict_is_refused_with_an_example():
    """``sampler_config="advi"`` crashed in ``dict(user)`` with "dictionary
    update sequence element #0 has length 1; 2 is required"."""
    for user, shown in (("advi", "'advi' (str)"), ([("method", "advi")], None)):
        with pytest.raises(SpecificationError) as err:
            sampling.merge_sampler_config(user)
        assert str(err.value) == (
            f"sampler_config must be a dict of settings, got "
            f"{shown or repr(user)}. Fix: pass e.g. sampler_config={{'method': "
            "'advi', 'vi_iterations': 20000}, or leave it out for the defaults "
            "(method 'nutpie')"
        )


def _trace(n: int, mean, sd: float = 1.0) -> dict:
    """Snapshots as :class:`sampling.AdviTracker` keeps them: every 5th of
    the last 20 % of ``n`` iterations, one parameter."""
    it = np.arange(n - 2 * n // 10 + 5, n + 1, 5)
    m = np.asarray(mean(it), dtype=float).reshape(-1, 1)
    return {"iteration": it, "mean": m, "sd": np.full_like(m, sd), "names": ["x"]}


def test_advi_convergence_tests_the_parameters_not_only_the_loss():
    """The loss of a 300-iteration potential fit moved -0.02 per value
    (passed as flat) while its total potential was 7x the truth: the
    approximation's own parameters are checked too."""
    rng = np.random.default_rng(0)
    flat = rng.normal(100.0, 1.0, 1000)  # a flat, noisy loss
    loss_only = sampling.advi_convergence(flat, 100)
    assert set(loss_only) == {
        "iterations",
        "window",
        "loss_before",
        "loss_last",
        "change_per_value",
        "max_change",
        "converged",
    }
    assert loss_only["converged"]
    # noise about a fixed point: drift near 1, jitter 0.1 of the sd
    still = sampling.advi_convergence(
        flat, 100, _trace(1000, lambda it: 0.1 * rng.standard_normal(len(it)))
    )
    assert (
        still["converged"]
        and still["drift"] < 3
        and still["drift_at"]
        in (
            "mean of x",
            "sd of x",
        )
    )
    assert still["jitter"] == pytest.approx(0.1, abs=0.04)
    # a mean still travelling (0.001 per iteration, noise 0.01): the loss is
    # flat, the parameter is not
    drifting = sampling.advi_convergence(
        flat,
        100,
        _trace(1000, lambda it: 1e-3 * it + 0.01 * rng.standard_normal(len(it))),
    )
    assert not drifting["converged"]
    assert drifting["drift"] > 5 and drifting["drift_at"] == "mean of x"
    # a mean jumping 5 sds about: too large a step
    jumping = sampling.advi_convergence(
        flat, 100, _trace(1000, lambda it: 5.0 * rng.standard_normal(len(it)))
    )
    assert not jumping["converged"] and jumping["max_jitter"] == 2.5
    assert jumping["jitter"] == pytest.approx(5.0, rel=0.4)
    # too few snapshots per window cannot be judged
    short = sampling.advi_convergence(flat[:20], 100, _trace(20, lambda it: 0 * it))
    assert short["drift"] is None and not short["converged"]
    assert sampling._advi_problems(short) == [
        "ADVI's convergence cannot be judged after 20 iteration(s) (too few to "
        "compare the last two 10% windows), or its loss was not finite"
    ]


def test_advi_records_its_check_and_diagnose_judges_it():
    """A real ADVI run: converged after 3,000 iterations (no warning); a mean
    that must travel from 0 to 50 at the default learning rate has not
    converged after 300, and :func:`diagnose` says so (it used to report
    nothing for variational fits)."""
    import json
    import warnings

    import pymc as pm

    from terrakit.exceptions import ConvergenceWarning

    with pm.Model() as model:
        pm.Normal("x", 0.0, 1.0)
    cfg = {"method": "advi", "vi_draws": 20, "progressbar": False}
    run = sampling.sample(model, cfg | {"vi_iterations": 3000}, seed=0)
    assert json.loads(run.idata.attrs["advi_check"]) == run.advi_check
    assert run.advi_check["converged"] and run.advi_check["learning_rate"] == 0.01
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        diag = sampling.diagnose(
            run.idata, method="advi", advi_check=run.idata.attrs["advi_check"]
        )
    assert diag.ok and diag.advi_check == run.advi_check
    assert diag.summary().startswith(
        "Diagnostics (advi): variational approximation, 20 draws; no MCMC "
        "diagnostics; converged in 3000 iterations (loss change "
    )

    with pm.Model() as far:
        pm.Normal("x", 50.0, 1.0)
    run = sampling.sample(far, cfg | {"vi_iterations": 300}, seed=0)
    check = run.advi_check
    assert not check["converged"] and check["drift"] > 3
    assert check["drift_at"] == "mean of x"
    problem = (
        "ADVI stopped at its iteration cap (vi_iterations=300) while its "
        f"approximation was still moving: the mean of x moved {check['drift']:.3g} "
        "times its wobble about its trend between the last two windows of 10% "
        "of the iterations (at most 3 is taken as settled)"
    )
    with pytest.warns(ConvergenceWarning) as rec:
        diag = sampling.diagnose(run.idata, method="advi", advi_check=check)
    assert str(rec[0].message).startswith(f"the posterior may be unreliable: {problem}")
    assert str(rec[0].message).endswith(
        ". The approximation had not converged, so its estimates and intervals "
        "can be far off. Fix: raise sampler_config['vi_iterations'] (e.g. to "
        "20000), or sample with method='nutpie' (NUTS, checked by R-hat and ESS)"
    )
    assert not diag.ok
    assert diag.summary() == (
        "Diagnostics (advi): variational approximation, 20 draws; no MCMC "
        f"diagnostics -> POOR: {problem}"
    )
    # without the check (impact, performance) nothing changes
    assert sampling.diagnose(run.idata, method="advi").ok


def test_diagnose_leaves_constants_out_without_numpy_warnings():
    """A one-segment account fit stores ``b_segment`` as a constant 0: its
    R-hat (NaN) leaked numpy's "All-NaN slice encountered" twice and its ESS
    was reported as every draw (400), i.e. perfectly mixed.  Constants are
    now left out of the checks (size 0, NaN), as empty variables are."""
    rng = np.random.default_rng(0)
    idata = az.from_dict(
        posterior={
            "alpha": rng.standard_normal((2, 200)),
            "b_segment": np.zeros((2, 200, 1)),
            "tau_group": np.zeros((2, 200)),
        },
        dims={"b_segment": ["segment"]},
        coords={"segment": np.array(["A"])},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = sampling.diagnose(idata, ess_min=50.0, warn=True)
    assert d.ok, d.problems
    for name in ("b_segment", "tau_group"):
        row = d.table.loc[name]
        assert row["size"] == 0 and row[["r_hat", "ess_bulk", "ess_tail"]].isna().all()
    assert d.table.loc["alpha", "size"] == 1
    assert d.min_ess_bulk == pytest.approx(d.table.loc["alpha", "ess_bulk"])


def test_diagnose_flags_a_sampler_that_never_moved():
    """Constants are left out, but when every variable is constant the
    sampler did not move: that is a problem, not an empty check (one chain
    stuck at its start reported ESS = every draw and passed)."""
    idata = az.from_dict(
        posterior={"alpha": np.full((1, 100), 0.3), "beta": np.full((1, 100, 2), -1.2)}
    )
    with pytest.warns(ConvergenceWarning) as rec:
        d = sampling.diagnose(idata, ess_min=50.0)
    assert not d.ok
    assert d.problems[0] == (
        "no variable changed over the 1 x 100 draws (the sampler did not move)"
    )
    assert "the sampler did not move" in str(rec[0].message)
    assert not [w for w in rec if issubclass(w.category, RuntimeWarning)]


def _no_pandas_warnings(rec) -> None:
    """No FutureWarning (pandas' idxmax/idxmin of all-NaN, a ValueError in
    pandas 3) nor numpy RuntimeWarning among ``rec``."""
    leaked = [
        str(w.message)
        for w in rec
        if issubclass(w.category, FutureWarning | RuntimeWarning)
    ]
    assert not leaked, leaked


def test_diagnose_names_too_few_draws_not_nan():
    """With fewer than 4 draws per chain every R-hat and ESS is NaN: diagnose
    called pandas' idxmax/idxmin on the all-NaN columns (FutureWarning; a
    ValueError in pandas 3) and reported "max R-hat nan > 1.01 (nan)"."""
    x = np.random.default_rng(1).standard_normal((2, 3, 2))
    idata = az.from_dict(posterior={"x": x}, dims={"x": ["k"]})
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        d = sampling.diagnose(idata)
    _no_pandas_warnings(rec)
    assert d.problems == (
        "3 draws per chain are too few for R-hat and ESS (they need ≥ 4)",
    )
    said = [w for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert len(said) == 1 and "3 draws per chain are too few" in str(said[0].message)


def test_diagnose_of_a_stuck_sampler_with_two_chains_names_no_nan():
    """Two chains stuck at their start: the problem is that the sampler did
    not move, not "max R-hat nan > 1.01 (nan)" after pandas' warnings."""
    idata = az.from_dict(
        posterior={"alpha": np.full((2, 100), 0.3), "beta": np.full((2, 100, 2), -1.2)}
    )
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        d = sampling.diagnose(idata)
    _no_pandas_warnings(rec)
    assert d.problems == (
        "no variable changed over the 2 x 100 draws (the sampler did not move)",
    )


def test_diagnose_with_every_r_hat_nan_says_so():
    """A NaN R-hat for every variable (4+ draws) is named as such, not with
    a NaN variable name; the worst finite ESS is still named."""
    table = pd.Series([np.nan, np.nan], index=["a", "b"])
    assert sampling._threshold_problem(table, "max R-hat", ">", 1.01, "{:.3f}") == [
        "max R-hat could not be computed (NaN for every variable)"
    ]
    ess = pd.Series([np.nan, 40.0, 80.0], index=["a", "b", "c"])
    assert sampling._threshold_problem(ess, "min bulk ESS", "<", 100, "{:.0f}") == [
        "min bulk ESS 40 < 100 (b)"
    ]
    assert sampling._threshold_problem(ess, "min bulk ESS", "<", 30, "{:.0f}") == []


@pytest.mark.parametrize("method", ["nutpie", None])
def test_tune_0_is_refused_for_nutpie_up_front(method):
    """nutpie cannot sample without tuning: tune=0 was accepted and ended,
    after compiling, in a Rust PanicException (a BaseException) that the
    retry with cores=1 raised again."""
    user = {"tune": 0} | ({} if method is None else {"method": method})
    with pytest.raises(SpecificationError) as info:
        sampling.merge_sampler_config(user)
    assert str(info.value) == (
        "sampler_config['tune'] must be ≥ 1 with nutpie (nutpie cannot sample "
        "without tuning steps), got 0. Fix: pass e.g. tune=500 (the default), "
        "or method='pymc' (PyMC's NUTS, which can)"
    )
    # a model's own default tune is the one offered
    with pytest.raises(SpecificationError, match=r"e\.g\. tune=200 \(the default\)"):
        sampling.merge_sampler_config({"tune": 0}, {"tune": 200})
    for other in ("pymc", "advi"):
        assert sampling.merge_sampler_config({"tune": 0, "method": other})["tune"] == 0
    assert sampling.merge_sampler_config({"tune": 1})["tune"] == 1


def test_the_nutpie_retry_warning_reaches_the_user(monkeypatch):
    """sample() wrapped nutpie in simplefilter("ignore", UserWarning), which
    also swallowed nutpie_sample's TerrakitWarning (a UserWarning) that the
    run was retried with cores=1 after a panic."""
    nutpie = pytest.importorskip("nutpie")
    idata = _posterior(chains=2, draws=10)
    fake, calls = _fake_sample([PanicException("expand error -2"), idata])
    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda model, **kw: "compiled")
    monkeypatch.setattr(nutpie, "sample", fake)
    cfg = {"draws": 10, "tune": 10, "chains": 2, "progressbar": False}
    with pytest.warns(TerrakitWarning, match="retrying once with the chains run"):
        run = sampling.sample(_tiny_model(), cfg, seed=3)
    assert run.idata is idata
    assert [c["cores"] for c in calls] == [2, 1]


def test_library_user_warnings_are_still_ignored():
    """quiet_libraries ignores the libraries' UserWarnings, not terrakit's."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        with sampling.quiet_libraries():
            warnings.warn_explicit("lib", UserWarning, "x.py", 1, module="nutpie.x")
            warnings.warn_explicit("ours", TerrakitWarning, "y.py", 1, "terrakit.y")
    assert [str(w.message) for w in rec] == ["ours"]


def _logging_pymc_sample(**kwargs):
    """Stands in for pm.sample: logs at INFO as PyMC does, returns a full
    posterior."""
    import logging

    logging.getLogger("pymc.sampling.mcmc").info("Initializing NUTS ...")
    return _posterior(kwargs["chains"], kwargs["draws"])


def test_pymc_nuts_is_quiet_without_a_progress_bar(monkeypatch, caplog):
    """progressbar=False silenced ADVI but not PyMC's NUTS, which still
    logged "Initializing NUTS ...", "Sampling 2 chains ... took 1 seconds."
    (the shared sampler, the forecast and the response curves alike)."""
    import logging
    from types import SimpleNamespace

    import pymc as pm

    from terrakit.forecast.model import _sample as forecast_sample
    from terrakit.sizing.response import ResponseModel

    monkeypatch.setattr(pm, "sample", _logging_pymc_sample)
    caplog.set_level(logging.INFO)
    level = logging.getLogger("pymc").level

    def logged() -> list[str]:
        out = [r.getMessage() for r in caplog.records if r.name.startswith("pymc")]
        caplog.clear()
        return out

    scfg = {"method": "pymc", "draws": 10, "tune": 10, "chains": 2, "cores": 1}
    curves = SimpleNamespace(
        build_model=lambda stats: _tiny_model(),
        sampler="pymc",
        draws=10,
        tune=10,
        chains=2,
        target_accept=0.9,
    )
    for bar in (False, True):
        sampling.sample(_tiny_model(), scfg | {"progressbar": bar})
        forecast_sample(_tiny_model(), scfg | {"progressbar": bar}, 0)
        ResponseModel._sample(SimpleNamespace(**vars(curves), progressbar=bar), [], 0)
        assert logged() == ([] if not bar else ["Initializing NUTS ..."] * 3)
    assert logging.getLogger("pymc").level == level  # restored

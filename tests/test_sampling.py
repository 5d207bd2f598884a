"""``terrakit._sampling``: the nutpie retry, the checks of the sampler settings
and the diagnostics of empty variables."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

import terrakit._sampling as sampling
from terrakit.exceptions import SpecificationError, TerrakitError, TerrakitWarning


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


def test_a_panic_is_retried_once_with_sequential_chains(monkeypatch):
    nutpie = pytest.importorskip("nutpie")
    sample, calls = _fake_sample([PanicException("expand error -2"), "idata"])
    monkeypatch.setattr(nutpie, "sample", sample)
    with pytest.warns(TerrakitWarning, match="retrying once with the chains run"):
        out = sampling.nutpie_sample("model", draws=10, cores=2, seed=3)
    assert out == "idata"
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

"""``terrakit._sampling.nutpie_sample``: one retry after a sampler-thread panic."""

from __future__ import annotations

import pytest

import terrakit._sampling as sampling
from terrakit.exceptions import TerrakitWarning


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

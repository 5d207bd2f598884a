"""Response curves: the Hill formula, judgement calibration, history fit."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from terrakit.exceptions import (
    DataValidationError,
    NotFittedError,
    SpecificationError,
)
from terrakit.sizing import ResponseModel, hill
from terrakit.sizing.response import JUDGEMENT_KEYS, _within_stats

REF = {
    "A": {
        "accounts": 100,
        "calls_per_year": 12,
        "annual_sales": 50_000,
        "hours_per_call": 1.5,
    }
}


def test_hill_known_values():
    assert float(hill(0.0, 10, 30, 5, 2)) == 10.0
    assert float(hill(5.0, 10, 30, 5, 2)) == pytest.approx(20.0)
    assert float(hill(1e12, 10, 30, 5, 2)) == pytest.approx(30.0)
    c = np.linspace(0, 50, 101)
    assert np.all(np.diff(hill(c, 10, 30, 5, 0.7)) > 0)


def _adbudg_judgements(r0, rsat, gamma):
    """Judgements read off a true ADBUDG curve through (1, 1)."""
    delta = (rsat - 1) / (1 - r0)
    r = lambda x: r0 + (rsat - r0) * x**gamma / (delta + x**gamma)  # noqa: E731
    return [r0, r(0.5), 1.0, r(1.5), rsat], delta


def test_judgement_recovers_a_known_curve():
    vals, delta = _adbudg_judgements(0.4, 1.3, 1.6)
    rc = ResponseModel.from_judgement(
        {"A": vals}, reference=REF, uncertainty=0.0, n_draws=5
    )
    d = {k: v[0, 0] for k, v in rc.draws.items()}
    assert d["lo"] == pytest.approx(0.4 * 50_000)
    assert d["hi"] == pytest.approx(1.3 * 50_000)
    assert d["gamma"] == pytest.approx(1.6, rel=0.015)
    assert d["c50"] == pytest.approx(12 * delta ** (1 / 1.6), rel=0.02)
    # the curve passes through today's point and the judged ±50 %
    at = rc.expected_sales(np.array([6.0, 12.0, 18.0]), "A") / 50_000
    assert at == pytest.approx([vals[1], 1.0, vals[3]], rel=0.01)


def test_judgement_absolute_values_and_uncertainty():
    vals, _ = _adbudg_judgements(0.5, 1.2, 1.0)
    absolute = {
        k: v * 50_000
        for k, v in zip(
            ["zero", "minus50", "current", "plus50", "saturation"], vals, strict=True
        )
    }
    rc = ResponseModel.from_judgement(
        {"A": absolute}, reference=REF, uncertainty=0.05, n_draws=400, seed=3
    )
    assert rc.n_draws == 400 and rc.method == "judgement"
    lo, hi = np.quantile(rc.draws["hi"][:, 0], [0.05, 0.95])
    assert lo < 1.2 * 50_000 < hi and hi - lo > 0
    assert (rc.draws["lo"] < rc.draws["hi"]).all()
    again = ResponseModel.from_judgement(
        {"A": absolute}, reference=REF, uncertainty=0.05, n_draws=400, seed=3
    )
    assert np.array_equal(again.draws["c50"], rc.draws["c50"])


def test_judgement_from_study(two_segment_study):
    j = {"A": [0.5, 0.8, 1, 1.1, 1.2], "B": [0.6, 0.85, 1, 1.05, 1.1]}
    rc = ResponseModel.from_judgement(
        j, study=two_segment_study, n_draws=50, travel=None
    )
    assert rc.segments == ("A", "B")
    assert rc.n_accounts.tolist() == [2.0, 4.0]
    assert rc.current_calls.tolist() == [24.0, 6.0]
    assert rc.hours_per_call.tolist() == pytest.approx([1.0, 0.5])  # call time only
    assert "judgement" in rc.summary()


def test_judgement_hours_per_call_include_travel_as_in_workload(two_segment_study):
    """By default the hours per call are workload()'s: call time + travel."""
    from terrakit.sizing import workload

    j = {"A": [0.5, 0.8, 1, 1.1, 1.2], "B": [0.6, 0.85, 1, 1.05, 1.1]}
    rc = ResponseModel.from_judgement(j, study=two_segment_study, n_draws=20)
    expected = workload(two_segment_study).hours_per_call()
    assert rc.hours_per_call == pytest.approx(expected.loc[["A", "B"]].to_numpy())
    # travel adds to the 1 h (A) and 0.5 h (B) of call time
    assert (rc.hours_per_call > np.array([1.0, 0.5])).all()
    same = ResponseModel.from_judgement(
        j, study=two_segment_study, n_draws=20, travel="model"
    )
    assert np.array_equal(same.hours_per_call, rc.hours_per_call)


def test_bad_judgements_explain():
    with pytest.raises(SpecificationError, match="must increase with effort"):
        ResponseModel.from_judgement({"A": [0.5, 1.2, 1, 1.1, 1.3]}, reference=REF)
    with pytest.raises(SpecificationError, match="lacks \\['saturation'\\]"):
        ResponseModel.from_judgement(
            {"A": {"zero": 0.5, "minus50": 0.8, "current": 1, "plus50": 1.1}},
            reference=REF,
        )
    with pytest.raises(SpecificationError, match=r"needs study=\.\.\. or reference"):
        ResponseModel.from_judgement({"A": [0.5, 0.8, 1, 1.1, 1.3]})


def test_within_stats_equal_the_direct_sum_of_squares():
    """SS(f) from sufficient statistics == Σ (z̃ − f(x) + f̄_i)² computed directly."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(7):
        n = rng.integers(2, 9)
        x = rng.integers(0, 4, n)
        y = np.exp(rng.normal(size=n))
        rows += [(f"a{i}", xx, yy) for xx, yy in zip(x, y, strict=True)]
    df = pd.DataFrame(rows, columns=["account_id", "calls", "sales"])
    st = _within_stats(df)
    f = {v: rng.normal() for v in st["values"]}
    fv = np.array([f[v] for v in st["values"]])
    direct = 0.0
    for _, g in df.groupby("account_id"):
        z = np.log(g["sales"].to_numpy())
        fx = np.array([f[v] for v in g["calls"]])
        direct += float(np.sum(((z - z.mean()) - (fx - fx.mean())) ** 2))
    fast = st["zz"] - 2 * st["a"] @ fv + fv @ st["M"] @ fv
    assert fast == pytest.approx(direct)
    assert st["dof"] == len(df) - 7


def test_history_errors_explain(two_segment_study, make_history_study):
    with pytest.raises(DataValidationError, match="no history"):
        ResponseModel().fit(two_segment_study)
    st = make_history_study({"A": (0.5, 2.0, 1.5)}, n_accounts=5, months=6)
    no_calls = st.replace(history=st.history.drop(columns="calls"))
    with pytest.raises(DataValidationError, match="no calls column"):
        ResponseModel().fit(no_calls, travel=None)
    with pytest.raises(NotFittedError):
        _ = ResponseModel().curves
    with pytest.raises(SpecificationError, match="unknown priors"):
        ResponseModel(priors={"slope": (0, 1)})


@pytest.mark.slow
@pytest.mark.mcmc
def test_history_fit_recovers_true_parameters(make_history_study):
    """Simulated from the model: 99 % intervals cover floor, c50 and gamma."""
    truth = {"A": (0.5, 2.0, 1.5), "B": (0.6, 1.0, 1.0)}
    st = make_history_study(truth, n_accounts=150, months=24, seed=1)
    rc = ResponseModel(draws=500, tune=500).fit(st, seed=0, travel=None)
    for s, (fl, k, h) in truth.items():
        j = rc.segments.index(s)
        d = rc.draws
        for name, draws, true in (
            ("floor", d["lo"][:, j] / d["hi"][:, j], fl),
            ("c50", d["c50"][:, j], 12 * k),
            ("gamma", d["gamma"][:, j], h),
        ):
            lo, hi = np.quantile(draws, [0.005, 0.995])
            assert lo <= true <= hi, (s, name, lo, true, hi)
    assert rc.diagnostics["divergences"] == 0


def test_target_accept_out_of_range_is_refused():
    msg = r"target_accept must be in \[0.5, 1\), got 1.0"
    with pytest.raises(SpecificationError, match=msg):
        ResponseModel(target_accept=1.0)


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"seed": -1}, r"seed must be a non-negative integer, got -1"),
        ({"seed": "a"}, r"seed must be a non-negative integer, got 'a'"),
        ({"n_draws": 0}, r"n_draws must be a whole number >= 1, got 0"),
        ({"n_draws": -1}, r"n_draws must be a whole number >= 1, got -1"),
    ],
)
def test_judgement_run_settings_explain(kw, msg):
    """A bad seed used to raise numpy's ValueError/TypeError; n_draws=0
    returned curves with no draws at all."""
    j = {"A": [0.4, 0.8, 1.0, 1.1, 1.2]}
    with pytest.raises(SpecificationError, match=msg):
        ResponseModel.from_judgement(j, reference=REF, **kw)


def test_no_judgements_explain():
    with pytest.raises(SpecificationError, match=r"judgements must map each segment"):
        ResponseModel.from_judgement({}, reference=REF)


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"draws": 0}, r"draws must be a whole number >= 1, got 0"),
        ({"chains": 0}, r"chains must be a whole number >= 1, got 0"),
        ({"tune": -5}, r"tune must be a whole number >= 0, got -5"),
        ({"draws": "x"}, r"draws must be a whole number >= 1, got 'x'"),
    ],
)
def test_mcmc_settings_are_checked_at_construction(kw, msg):
    """draws=0 or chains=0 used to be accepted and fail inside the sampler."""
    with pytest.raises(SpecificationError, match=msg):
        ResponseModel(**kw)


def test_missing_sales_are_reported_before_sampling(make_history_study, monkeypatch):
    """Segments without annual_sales used to be found only after sampling."""
    st = make_history_study({"A": (0.5, 2.0, 1.5)}, n_accounts=5, months=6)
    acc = st.accounts
    acc["annual_sales"] = np.nan
    st = st.replace(accounts=acc)

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampling started before the input was checked")

    monkeypatch.setattr(ResponseModel, "_sample", no_sampling)
    with pytest.raises(
        DataValidationError,
        match=r"accounts\.annual_sales: segments without annual_sales: \['A'\]",
    ):
        ResponseModel().fit(st, travel=None)
    with pytest.raises(SpecificationError, match="seed must be a non-negative int"):
        ResponseModel().fit(st, seed=-1, travel=None)


@pytest.mark.parametrize("travel", ["model", None])
def test_study_without_call_minutes_is_refused_as_in_allocation(
    two_segment_study, make_history_study, monkeypatch, travel
):
    """No call_minutes used to give travel-only (or exactly 1 h) per call."""
    from terrakit.sizing import allocate_calls

    j = {"A": [0.5, 0.8, 1, 1.1, 1.2], "B": [0.6, 0.85, 1, 1.05, 1.1]}
    acc = two_segment_study.accounts.drop(columns="call_minutes")
    st = two_segment_study.replace(accounts=acc)
    msg = r"accounts\.call_minutes: no call_minutes column"
    with pytest.raises(DataValidationError, match=msg + r".*reference="):
        ResponseModel.from_judgement(j, study=st, n_draws=5, travel=travel)
    rc = ResponseModel.from_judgement(j, study=two_segment_study, n_draws=5)
    with pytest.raises(DataValidationError, match=msg):  # the same check
        allocate_calls(rc, st, n_reps=1, travel=travel)

    hist = make_history_study({"A": (0.5, 2.0, 1.5)}, n_accounts=5, months=6)
    hist = hist.replace(accounts=hist.accounts.drop(columns="call_minutes"))

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampling started before the input was checked")

    monkeypatch.setattr(ResponseModel, "_sample", no_sampling)
    with pytest.raises(DataValidationError, match=msg):
        ResponseModel().fit(hist, travel=travel)


def test_fit_refuses_accounts_without_segment(make_history_study, monkeypatch):
    """An account with no segment used to be fitted as a segment "nan"."""
    st = make_history_study({"A": (0.5, 2.0, 1.5)}, n_accounts=5, months=6)
    acc = st.accounts
    acc.loc[acc.index[0], "segment"] = np.nan
    st = st.replace(accounts=acc)

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampling started before the input was checked")

    monkeypatch.setattr(ResponseModel, "_sample", no_sampling)
    with pytest.raises(DataValidationError, match=r"accounts\.segment: 1 accounts"):
        ResponseModel().fit(st, travel=None)


def _posterior_at(truth: dict[str, tuple[float, float, float]], n: int = 400):
    """An InferenceData of 2 chains near the true (floor, k, h) per segment."""
    import arviz as az

    rng = np.random.default_rng(5)
    segs = list(truth)
    shape = (2, n // 2, len(segs))

    def near(i: int) -> np.ndarray:
        v = np.array([truth[s][i] for s in segs])
        return v * np.exp(rng.normal(0.0, 0.01, shape))

    return az.from_dict(
        posterior={
            "floor": near(0),
            "c50": near(1),
            "gamma": near(2),
            "sigma": 0.1 * np.exp(rng.normal(0.0, 0.01, shape)),
        }
    )


def _fit_with_true_shape(make_history_study, monkeypatch):
    """``(truth, study, curves)``: two segments simulated from known curves and
    fitted with the sampling replaced by the true shape, so that only the
    level's anchor is estimated."""
    import warnings

    truth = {"A": (0.3, 3.0, 1.0), "B": (0.5, 1.5, 0.8)}
    st = make_history_study(truth, n_accounts=200, months=24, seed=3)
    monkeypatch.setattr(
        ResponseModel, "_sample", lambda self, stats, seed: _posterior_at(truth)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = ResponseModel().fit(st, seed=0, travel=None)
    return truth, st, rc


def test_fitted_level_matches_the_data_at_the_observed_calls(
    make_history_study, monkeypatch
):
    """The level used to be anchored at the curve at the *mean* calls, so by
    Jensen (concave r: r(mean x) > mean r(x)) the curve lay 6-11 % below the
    data at every call level; it is now anchored at the mean of r over the
    recent account-months.  The shape is held at the truth (sampling
    replaced) to test the anchor alone."""
    truth, st, rc = _fit_with_true_shape(make_history_study, monkeypatch)
    h = st.history
    seg = st.accounts["segment"].reindex(h["account_id"]).to_numpy()
    for s in truth:
        hs = h[seg == s]
        obs = hs.groupby("calls")["sales"].agg(["mean", "size"])
        obs = obs[obs["size"] >= 200]
        assert len(obs) >= 3
        pred = np.array([float(rc.expected_sales(12 * c, s)) / 12 for c in obs.index])
        ratio = pred / obs["mean"].to_numpy()
        # weighted by the account-months at each level, and level by level
        # (the latter looser: each level's accounts are a sample of sizes)
        overall = (obs["size"] * pred).sum() / (obs["size"] * obs["mean"]).sum()
        assert abs(overall - 1) < 0.03, (s, overall, ratio.round(3))
        assert abs(np.median(ratio) - 1) < 0.03, (s, ratio.round(3))


def test_interval_at_todays_calls_carries_the_anchor_uncertainty(
    make_history_study, monkeypatch
):
    """Every draw used to pass exactly through today's mean sales, so the
    credible interval there had zero width and headcount bands were
    overconfident; the anchor now varies by its standard error."""
    _, st, rc = _fit_with_true_shape(make_history_study, monkeypatch)
    g = st.accounts.groupby("segment")["annual_sales"]
    rel_se = (g.std() / np.sqrt(g.count()) / g.mean()).to_dict()
    for j, s in enumerate(rc.segments):
        d = rc.sales(rc.current_calls[j], s).ravel()
        rel_sd = d.std() / d.mean()
        assert 0.8 * rel_se[s] < rel_sd < 1.5 * rel_se[s], (s, rel_sd, rel_se[s])
        lo, hi = np.quantile(d, [0.03, 0.97])
        assert (hi - lo) / d.mean() > 2.5 * rel_se[s]
    anchor = rc.provenance["anchor"]
    assert anchor["annual_sales_se"]["A"] == pytest.approx(
        g.std()["A"] / np.sqrt(g.count()["A"])
    )


def test_judgement_provenance_records_reference_and_travel(two_segment_study):
    """A different reference (or travel) gave different curves with the same
    provenance."""
    j = {"A": [0.5, 0.8, 1, 1.1, 1.2]}
    ref2 = {"A": {**REF["A"], "annual_sales": 77_700, "hours_per_call": 2.0}}
    p1 = ResponseModel.from_judgement(j, reference=REF, seed=3).provenance
    p2 = ResponseModel.from_judgement(j, reference=ref2, seed=3).provenance
    assert p1["config"]["reference"]["A"]["annual_sales"] == 50_000.0
    assert p2["config"]["reference"]["A"]["hours_per_call"] == 2.0
    assert p1["config"]["source"] == "reference" and p1["config"]["travel"] is None
    jab = {"A": [0.5, 0.8, 1, 1.1, 1.2], "B": [0.6, 0.85, 1, 1.05, 1.1]}
    for travel in (None, "model", 12.0):
        rc = ResponseModel.from_judgement(
            jab, study=two_segment_study, n_draws=5, travel=travel
        )
        assert rc.provenance["config"]["travel"] == travel
        assert rc.provenance["config"]["source"] == "study"


# -- round 12 (QA sizing D1-D7) ----------------------------------------------------
J5 = [0.5, 0.8, 1, 1.1, 1.2]


def test_judgement_with_numeric_segment_labels(two_segment_study):
    """Numeric labels (1/2 as judgement keys, reference keys or study segments)
    used to crash with a bare KeyError '1'; they are now compared as text, as
    the study's segments are."""
    ref = {1: REF["A"]}
    rc = ResponseModel.from_judgement({1: J5}, reference=ref, n_draws=20, seed=1)
    by_text = ResponseModel.from_judgement(
        {"1": J5}, reference={"1": REF["A"]}, n_draws=20, seed=1
    )
    assert rc.segments == ("1",)
    assert np.array_equal(rc.draws["c50"], by_text.draws["c50"])
    assert float(rc.expected_sales(12.0, 1)) == pytest.approx(50_000, rel=0.02)
    acc = two_segment_study.accounts.copy()
    acc["segment"] = acc["segment"].map({"A": 1, "B": 2})
    st = two_segment_study.replace(accounts=acc)
    rc = ResponseModel.from_judgement({1: J5, 2: J5}, study=st, n_draws=5, travel=None)
    assert rc.segments == ("1", "2")
    assert rc.current_calls.tolist() == [24.0, 6.0]
    assert sorted(rc.hours_classes) == ["1", "2"]
    msg = (
        r"judgements name segment '1' more than once \(\[1, '1'\]\); segment "
        r"labels are compared as text, as in the study: give each segment once"
    )
    with pytest.raises(SpecificationError, match=msg):
        ResponseModel.from_judgement({1: J5, "1": J5}, reference={"1": REF["A"]})


def test_judgement_from_study_checks_only_the_judged_segments(two_segment_study):
    """A segment nobody judged with no calls used to block the judged ones
    (and the error named annual_sales); a judged segment with no sales became
    a flat curve at 0."""
    acc = two_segment_study.accounts.copy()
    acc.loc[acc["segment"] == "B", "calls_per_year"] = 0.0
    st = two_segment_study.replace(accounts=acc)
    rc = ResponseModel.from_judgement({"A": J5}, study=st, n_draws=5, travel=None)
    assert rc.segments == ("A",) and rc.current_calls.tolist() == [24.0]
    with pytest.raises(DataValidationError) as err:
        ResponseModel.from_judgement(
            {"A": J5, "B": J5}, study=st, n_draws=5, travel=None
        )
    assert err.value.column == "calls_per_year"
    assert err.value.rows == ["b1", "b2", "b3", "b4"]
    assert str(err.value).startswith(
        "accounts.calls_per_year: judged segments with no calls today: ['B'] "
        "(calls_per_year is 0 on every account)"
    )
    acc = two_segment_study.accounts.copy()
    acc.loc[acc["segment"] == "B", "annual_sales"] = 0.0
    st = two_segment_study.replace(accounts=acc)
    with pytest.raises(DataValidationError) as err:
        ResponseModel.from_judgement(
            {"A": J5, "B": J5}, study=st, n_draws=5, travel=None
        )
    assert err.value.column == "annual_sales" and err.value.n_bad == 4
    assert (
        "judged segments with no sales today (mean annual_sales per account: "
        "'B' 0); the judgements are indices of today's sales, so the curve would "
        "be flat at 0" in str(err.value)
    )
    rc = ResponseModel.from_judgement({"A": J5}, study=st, n_draws=5, travel=None)
    assert rc.current_sales.tolist() == [100_000.0]
    st = two_segment_study.replace(
        accounts=two_segment_study.accounts.drop(columns="annual_sales")
    )
    with pytest.raises(DataValidationError, match=r"no annual_sales column"):
        ResponseModel.from_judgement({"A": J5}, study=st, n_draws=5, travel=None)


def test_judgement_takes_the_study_columns_as_fit_does(two_segment_study):
    """The errors suggested segment=<column> / calls_per_year=<column>, which
    from_judgement did not accept."""
    acc = two_segment_study.accounts.rename(
        columns={"segment": "tier", "calls_per_year": "calls"}
    )
    st = two_segment_study.replace(accounts=acc)
    with pytest.raises(DataValidationError, match=r"pass segment=<column>"):
        ResponseModel.from_judgement({"A": J5}, study=st, travel=None)
    rc = ResponseModel.from_judgement(
        {"A": J5, "B": J5},
        study=st,
        n_draws=5,
        travel=None,
        segment="tier",
        calls_per_year="calls",
    )
    assert rc.current_calls.tolist() == [24.0, 6.0]
    assert rc.provenance["config"]["segment"] == "tier"
    assert rc.provenance["config"]["calls_per_year"] == "calls"


KEYS = "['zero', 'minus50', 'current', 'plus50', 'saturation']"


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        (
            {"judgements": {"A": ["0,5", "0,8", "1", "1,1", "1,2"]}},
            "judgement for segment 'A': zero is '0,5', minus50 is '0,8', plus50 is "
            "'1,1', saturation is '1,2', not a number; give numbers with a decimal "
            "point (0.5, not '0,5'), e.g. {'A': [0.5, 0.8, 1.0, 1.1, 1.2]}",
        ),
        (
            {"judgements": {"A": 1.0}},
            f"judgement for segment 'A' must be a mapping with keys {KEYS} or a "
            "sequence of five numbers in that order, got 1.0; e.g. {'A': [0.5, "
            "0.8, 1.0, 1.1, 1.2]}",
        ),
        (
            {"judgements": {"A": "0.5 0.8 1 1.1 1.2"}},
            f"judgement for segment 'A' must be a mapping with keys {KEYS} or a "
            "sequence of five numbers in that order, got '0.5 0.8 1 1.1 1.2'; e.g. "
            "{'A': [0.5, 0.8, 1.0, 1.1, 1.2]}",
        ),
        (
            {"judgements": {"A": J5}, "uncertainty": None},
            "uncertainty must be a number >= 0 (the relative uncertainty of each "
            "step between consecutive judgements, 0.1 ≈ ±10 % of the step), got "
            "None",
        ),
        (
            {
                "judgements": {
                    "A": {
                        **dict(zip(JUDGEMENT_KEYS, J5, strict=True)),
                        "plus100": 5.0,
                    }
                }
            },
            f"judgement for segment 'A' has unknown keys ['plus100']; give only the "
            f"five judgements {KEYS}; did you mean 'plus50' for 'plus100'?",
        ),
        (
            {"judgements": {"A": J5}, "study": "a study"},
            "from_judgement takes study=... or reference=..., not both: the "
            "reference would replace the study's calls, sales and accounts; drop "
            "one of them",
        ),
    ],
    ids=[
        "decimal-comma",
        "one-number",
        "one-string",
        "uncertainty-None",
        "extra-key",
        "study-and-reference",
    ],
)
def test_bad_judgement_values_explain(kw, msg):
    """These used to raise bare ValueError/TypeError, or be accepted silently
    (an unknown key; a study next to a reference, which was ignored)."""
    with pytest.raises(SpecificationError) as err:
        ResponseModel.from_judgement(reference=REF, n_draws=2, **kw)
    assert str(err.value) == msg


def test_hill_and_sales_do_not_read_nan_or_negative_calls_as_zero():
    """NaN and negative calls used to return the zero-call floor ``lo``."""
    out = hill(np.array([np.nan, -5.0, 0.0, 5.0]), 10, 30, 5, 2)
    assert np.isnan(out[:2]).all() and out[2:].tolist() == pytest.approx([10.0, 20.0])
    assert np.isnan(float(hill(np.nan, 10, 30, 5, 2)))
    rc = ResponseModel.from_judgement(
        {"A": J5}, reference=REF, uncertainty=0.0, n_draws=2
    )
    got = rc.expected_sales(np.array([np.nan, 12.0]), "A")
    assert np.isnan(got[0]) and got[1] == pytest.approx(50_000)
    assert np.isnan(rc.sales(np.array([np.nan]))).all()
    msg = (
        "calls must be >= 0 (calls per account and year), got 1 negative value(s), "
        "e.g. -12.0; clip them at 0 or drop them"
    )
    for call in (
        lambda: rc.expected_sales(np.array([np.nan, -12.0, 12.0]), "A"),
        lambda: rc.sales(-12.0, "A"),
        lambda: rc.sales(np.array([-12.0])),
    ):
        with pytest.raises(SpecificationError) as err:
            call()
        assert str(err.value) == msg


def test_fit_provenance_records_the_sampler_settings(make_history_study, monkeypatch):
    """target_accept (and the sampler and the columns) used to be missing, so
    two fits with different settings had the same provenance."""
    truth = {"A": (0.5, 2.0, 1.5)}
    st = make_history_study(truth, n_accounts=6, months=12)
    monkeypatch.setattr(
        ResponseModel, "_sample", lambda self, stats, seed: _posterior_at(truth)
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p1 = ResponseModel(target_accept=0.8).fit(st, travel=None).provenance
        p2 = ResponseModel(target_accept=0.99, sampler="pymc").fit(st, travel=None)
    c1, c2 = p1["config"], p2.provenance["config"]
    assert (c1["target_accept"], c2["target_accept"]) == (0.8, 0.99)
    assert (c1["sampler"], c2["sampler"]) == ("nutpie", "pymc")
    assert c1["segment"] == "segment" and c1["calls_per_year"] == "calls_per_year"


def test_judgement_warns_when_the_curve_misses_the_judgements():
    """The least-squares curve could miss the judged ±50 % points by 20 %
    without a word; misses over 5 % (and a shape at its search bound) now warn,
    and the fit is in the provenance."""
    from terrakit.exceptions import TerrakitWarning

    msg = (
        "the response curve judged for segment 'A' (gamma 1.19) misses judged "
        "points by more than 5% (indices of today's sales): minus50 judged 0.900, "
        "fitted 0.715 (-20.5%); plus50 judged 1.500, fitted 1.158 (-22.8%): no "
        "ADBUDG curve through the judged zero, today and saturation sales meets "
        "them; revisit the -50 % / +50 % judgements against zero and saturation"
    )
    with pytest.warns(TerrakitWarning) as rec:
        rc = ResponseModel.from_judgement(
            {"A": [0.2, 0.9, 1.0, 1.5, 1.6]}, reference=REF, n_draws=20
        )
    assert [str(w.message) for w in rec] == [msg]
    fit = rc.provenance["config"]["fit"]["A"]
    assert fit["judged"] == {"minus50": 0.9, "plus50": 1.5}
    assert fit["residuals"]["minus50"] == pytest.approx(0.715 - 0.9, abs=5e-4)
    assert fit["relative_miss"]["plus50"] == pytest.approx(-0.228, abs=5e-4)
    assert fit["gamma_at_bound"] is False
    with pytest.warns(TerrakitWarning) as rec:
        ResponseModel.from_judgement(
            {"B": [0.5, 0.51, 1, 1.49, 1.5]}, reference={"B": REF["A"]}, n_draws=2
        )
    assert [str(w.message) for w in rec] == [
        "the response curve judged for segment 'B' (gamma 10.00) has its shape "
        "gamma at the bound 10 of the search range [0.05, 10] (a near step at "
        "today's calls); revisit the -50 % / +50 % judgements against zero and "
        "saturation"
    ]
    # reasonable judgements (the tests', the 70_interactive notebook's) fit
    # within 1.5 %: no warning
    import warnings

    good = {
        "A": [0.30, 0.75, 1.0, 1.12, 1.25],
        "B": [0.45, 0.82, 1.0, 1.08, 1.15],
        "C": [0.60, 0.90, 1.0, 1.04, 1.08],
        "D": J5,
        "E": [0.6, 0.85, 1, 1.05, 1.1],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rc = ResponseModel.from_judgement(
            good, reference={s: REF["A"] for s in good}, n_draws=5
        )
    misses = [
        abs(m)
        for f in rc.provenance["config"]["fit"].values()
        for m in f["relative_miss"].values()
    ]
    assert max(misses) < 0.015


# -- round 17 (QA sizing d2-d5) ----------------------------------------------------
def _two_curves(segments):
    """Two concave curves (lo 100/50, hi 300/80, c50 10/5, gamma 1), 3 draws."""
    from terrakit.sizing import ResponseCurves

    d = {
        k: np.tile(np.asarray(v, float), (3, 1))
        for k, v in zip(
            ("lo", "hi", "c50", "gamma"),
            ([100, 50], [300, 80], [10, 5], [1, 1]),
            strict=True,
        )
    }
    return ResponseCurves(
        segments=segments,
        draws=d,
        n_accounts=[10, 20],
        current_calls=[10, 5],
        current_sales=[200, 60],
        hours_per_call=[1, 1],
        method="judgement",
    )


def test_curves_segment_labels_are_text_and_given_once():
    """Numeric labels were kept as numbers, so expected_sales(5, 1) raised
    "KeyError: no segment 1; the curves have [1, 2]"; duplicate labels were
    accepted and HeadcountCurve.to_frame() lost one segment's calls column."""
    from terrakit.sizing import headcount_curve

    rc = _two_curves((1, 2))
    assert rc.segments == ("1", "2")
    assert float(rc.expected_sales(10.0, 1)) == pytest.approx(200.0)
    assert float(rc.expected_sales(10.0, "1")) == pytest.approx(200.0)
    cur = headcount_curve(rc, reps=[0, 1, 2], hours_per_rep=100, max_calls={2: 8})
    assert cur.provenance["config"]["max_calls"] == {"1": 40.0, "2": 8.0}
    assert [c for c in cur.to_frame().columns if c.startswith("calls_")] == [
        "calls_1",
        "calls_2",
    ]
    for given, shown in ((("A", "A"), "['A', 'A']"), ((1, "1"), "[1, '1']")):
        with pytest.raises(SpecificationError) as err:
            _two_curves(given)
        assert str(err.value) == (
            f"segments name ['{given[1]}'] more than once (given {shown}); segment "
            "labels are compared as text (1 and '1' are the same segment), and "
            "each column of the draws is one segment: give each segment once"
        )


def _flat_history(st, keep_varying=0):
    """``st`` with each account's calls fixed at its rounded mean, except the
    first ``keep_varying`` accounts."""
    h = st.history.copy()
    fixed = h.groupby("account_id")["calls"].transform(lambda x: round(x.mean()))
    vary = h["account_id"].isin(sorted(h["account_id"].unique())[:keep_varying])
    h["calls"] = h["calls"].where(vary, fixed)
    return st.replace(history=h)


def test_fit_refuses_history_without_calls_varying_within_accounts(
    make_history_study, monkeypatch
):
    """Calls that never change within an account (fixed call schedules, or one
    month per account) leave the within-account likelihood flat in floor, c50
    and gamma: fit used to sample the prior and return it as 'history' curves."""

    class Sampled(Exception):
        pass

    def sampled(self, stats, seed):
        raise Sampled

    monkeypatch.setattr(ResponseModel, "_sample", sampled)
    st = make_history_study({"A": (0.5, 2.0, 1.5)}, n_accounts=6, months=12)
    fix = (
        ". Fix: give history in which accounts' calls vary over time, or calibrate "
        "the curves with ResponseModel.from_judgement(...)"
    )

    def problem(n_vary, n_distinct):
        return (
            f"history.calls: segment 'A': {n_vary} of 6 accounts have calls that "
            "vary from period to period (2 or more distinct call counts in their "
            f"periods with sales; the segment has {n_distinct} distinct call "
            "counts across accounts); the curve is learnt from each account's own "
            "changes in calls, so it needs at least 2 such accounts"
        )

    for keep, rows in (
        (0, "'A000', 'A001', 'A002', 'A003', 'A004' and 1 more"),
        (1, "'A001', 'A002', 'A003', 'A004', 'A005'"),
    ):
        flat = _flat_history(st, keep_varying=keep)
        with pytest.raises(DataValidationError) as err:
            ResponseModel().fit(flat, travel=None)
        n_distinct = flat.history["calls"].nunique()
        assert n_distinct >= 2  # the old check (distinct counts) let it through
        assert str(err.value) == f"{problem(keep, n_distinct)} (rows: {rows}){fix}"
    # one month per account: no account can vary
    last = st.history[st.history["period"] == st.history["period"].max()]
    with pytest.raises(DataValidationError, match=r"'A': 0 of 6 accounts have"):
        ResponseModel().fit(st.replace(history=last), travel=None)
    # two accounts whose calls vary are enough to reach the sampler
    with pytest.raises(Sampled):
        ResponseModel().fit(_flat_history(st, keep_varying=2), travel=None)


@pytest.mark.parametrize(
    ("priors", "msg"),
    [
        (
            {"gamma": (0.0, -0.5)},
            "prior 'gamma' must be two finite numbers (mu, sigma) of a "
            "LogNormal(mu, sigma) with sigma > 0, got (0.0, -0.5); e.g. "
            "priors={'gamma': (0.0, 0.5)} (the default)",
        ),
        (
            {"floor": (0, 2)},
            "prior 'floor' must be two finite numbers (alpha, beta) of a "
            "Beta(alpha, beta) with both > 0, got (0, 2); e.g. priors={'floor': "
            "(2.0, 2.0)} (the default)",
        ),
        (
            {"gamma": "wide"},
            "prior 'gamma' must be two finite numbers (mu, sigma) of a "
            "LogNormal(mu, sigma) with sigma > 0, got 'wide'; e.g. "
            "priors={'gamma': (0.0, 0.5)} (the default)",
        ),
        (
            {"sigma": (float("nan"), 0)},
            "prior 'sigma' must be two finite numbers (sigma, unused) of a "
            "HalfNormal(sigma) with sigma > 0, got (nan, 0); e.g. "
            "priors={'sigma': (0.5, 0.0)} (the default)",
        ),
        (
            {"c50_rel": (0,)},
            "prior 'c50_rel' must be two finite numbers (mu, sigma) of a "
            "LogNormal(mu, sigma) with sigma > 0, got (0,); e.g. "
            "priors={'c50_rel': (0.0, 1.0)} (the default)",
        ),
        (
            [("gamma", (0.0, 0.5))],
            "priors must be a mapping of prior name to its two parameters, got "
            "[('gamma', (0.0, 0.5))]; e.g. priors={'gamma': (0.0, 0.5)}",
        ),
    ],
    ids=["negative-sigma", "beta-zero", "text", "nan", "one-number", "not-a-mapping"],
)
def test_prior_values_are_checked_at_construction(priors, msg):
    """Only the prior names were checked: a negative sigma, Beta(0, 2) or text
    failed in fit, after compiling (10-90 s), as PyMC's SamplingError or a bare
    NotImplementedError."""
    with pytest.raises(SpecificationError) as err:
        ResponseModel(priors=priors)
    assert str(err.value) == msg


def test_prior_values_as_numpy_numbers_are_accepted():
    m = ResponseModel(priors={"gamma": np.array([0.0, 0.3]), "floor": (1, 3)})
    assert m.priors["gamma"] == (0.0, 0.3) and m.priors["floor"] == (1.0, 3.0)
    assert m.priors["sigma"] == (0.5, 0.0)  # the default kept


@pytest.mark.parametrize("u", [0.1, 0.2])
def test_judgement_uncertainty_is_centred_on_the_judgements(u):
    """Draws that broke the judged order were redrawn, truncating the noise:
    at uncertainty 0.1 the median saturation was 1.169 for a judged 1.1 (the
    headroom +69 %), and the best headcount grew with the uncertainty."""
    judged = [0.7, 0.9, 1.0, 1.05, 1.1]
    calls = np.array([0.0, 6.0, 12.0, 18.0, 1e12])
    one = ResponseModel.from_judgement(
        {"A": judged}, reference=REF, uncertainty=0.0, n_draws=1
    )
    rc = ResponseModel.from_judgement(
        {"A": judged}, reference=REF, uncertainty=u, n_draws=4000, seed=0
    )
    med = np.median(rc.sales(calls, "A"), axis=0)
    # zero, today and saturation on the judgements; the +-50 % points on the
    # curve fitted to the judgements themselves
    expected = one.sales(calls, "A")[0]
    assert expected[[0, 2, 4]] / 50_000 == pytest.approx(judged[::2])
    assert med == pytest.approx(expected, rel=0.01)
    # the judged order holds in every draw: zero < today < saturation
    assert (rc.draws["lo"] < 50_000).all() and (rc.draws["hi"] > 50_000).all()
    lo, hi = np.quantile(rc.draws["hi"][:, 0] / 50_000, [0.1, 0.9])
    assert lo < 1.1 < hi


def test_judgement_draws_keep_the_order_by_construction():
    """Each step between judgements is scaled by exp(N(0, u^2)), so every draw
    is ordered, medians stay on the judgements, and a judged zero of 0 stays 0."""
    from terrakit.sizing.response import _judgement_draws, _ordered

    rng = np.random.default_rng(0)
    for r in ([0.0, 0.5, 1.0, 1.1, 1.2], [0.49, 0.5, 1.0, 1.0001, 3.0]):
        for u in (0.1, 0.2, 1.0):
            sim = _judgement_draws(np.array(r), u, 20_000, rng)
            assert _ordered(sim).all()
            assert (sim[:, 2] == 1.0).all()
            if u <= 0.2:
                assert np.median(sim, axis=0) == pytest.approx(r, rel=0.01)
        if r[0] == 0:
            assert (sim[:, 0] == 0).all()


# -- round 20 (QA sizing d3, d5, d6) -------------------------------------------------
def test_curves_that_fall_with_calls_or_sell_below_zero_are_refused():
    """hi < lo was accepted; frontier() then sold 8,448 at 100 h and 3,793 at
    400 h though making no calls (allowed at every budget) sells 10,000."""
    from terrakit.sizing import ResponseCurves

    def curves(lo, hi):
        return ResponseCurves(
            segments=("A", "B"),
            draws={
                "lo": np.array([[100.0, lo], [100.0, 50.0]]),
                "hi": np.array([[300.0, hi], [300.0, 80.0]]),
                "c50": np.full((2, 2), 10.0),
                "gamma": np.ones((2, 2)),
            },
            n_accounts=[10, 10],
            current_calls=[12, 12],
            current_sales=[200, 60],
            hours_per_call=[1, 1],
            method="judgement",
        )

    with pytest.raises(SpecificationError) as err:
        curves(1000.0, 100.0)
    assert str(err.value).startswith(
        "draws of segment 'B' give sales falling as calls grow (hi < lo) in 1 of "
        "2 draws (draw 0: lo 1000, hi 100); draws['hi'] must give 0 <= lo <= hi"
    )
    with pytest.raises(SpecificationError, match=r"'B' give negative sales at zero"):
        curves(-5.0, 100.0)
    flat = curves(80.0, 80.0)  # a flat curve (calls sell nothing more) is fine
    assert np.asarray(flat.sales(40.0, "B")).ravel()[0] == pytest.approx(80.0)


def test_judgement_draws_do_not_depend_on_the_order_of_the_segments():
    """One generator was shared by the segments in turn, so sorting the
    judgements differently changed segment A's draws for the same seed."""
    ref = REF | {
        "B": {
            "accounts": 300,
            "calls_per_year": 4,
            "annual_sales": 10_000,
            "hours_per_call": 0.8,
        }
    }
    ja, jb = [0.3, 0.7, 1, 1.2, 1.4], [0.5, 0.8, 1, 1.1, 1.2]
    kw = {"reference": ref, "n_draws": 50, "seed": 5}
    ab = ResponseModel.from_judgement({"A": ja, "B": jb}, **kw)
    ba = ResponseModel.from_judgement({"B": jb, "A": ja}, **kw)
    a = ResponseModel.from_judgement({"A": ja}, **kw)
    for k in ("lo", "hi", "c50", "gamma"):
        da = np.asarray(a.draws[k])[:, 0]
        np.testing.assert_array_equal(np.asarray(ab.draws[k])[:, 0], da)
        np.testing.assert_array_equal(np.asarray(ba.draws[k])[:, 1], da)


@pytest.mark.parametrize("bad", [None, "abc", [0.9], "0.9", True])
def test_target_accept_that_is_not_a_number_is_refused(bad):
    """None, text and lists raised bare TypeError / ValueError from float()."""
    msg = rf"target_accept must be in \[0.5, 1\), got {re.escape(repr(bad))}; e.g. 0.95"
    with pytest.raises(SpecificationError, match=msg):
        ResponseModel(target_accept=bad)


@pytest.mark.parametrize("bad", ["no", None, 1, "True"])
def test_progressbar_that_is_not_a_flag_is_refused(bad):
    """progressbar='no' or None was accepted: nutpie showed a bar for any
    truthy value, PyMC failed in the fit with its own ValueError."""
    with pytest.raises(SpecificationError) as info:
        ResponseModel(progressbar=bad)
    shown = f"{bad!r} ({type(bad).__name__})" if not isinstance(bad, int) else "1"
    assert str(info.value) == (
        f"progressbar must be True or False, got {shown}; e.g. progressbar=True "
        "to show the sampler's progress"
    )
    assert ResponseModel(progressbar=np.bool_(True)).progressbar is True


def test_tune_0_is_refused_for_nutpie_not_for_pymc():
    """nutpie cannot sample without tuning: tune=0 ended, after compiling, in
    a Rust PanicException (a BaseException) raised again by the retry."""
    with pytest.raises(SpecificationError) as info:
        ResponseModel(tune=0)
    assert str(info.value) == (
        "tune must be ≥ 1 with nutpie (nutpie cannot sample without tuning "
        "steps), got 0. Fix: pass e.g. tune=1_000 (the default), or "
        "sampler='pymc' (PyMC's NUTS, which can)"
    )
    assert ResponseModel(tune=0, sampler="pymc").tune == 0


def _one_chain_at(truth, n: int, step: float):
    """An InferenceData of one chain near the true (floor, k, h) per segment:
    independent draws (``step=0``) or a slow random walk (low ESS)."""
    import arviz as az

    rng = np.random.default_rng(7)
    segs = list(truth)
    shape = (1, n, len(segs))

    def noise() -> np.ndarray:
        if step:
            return np.exp(np.cumsum(rng.normal(0.0, step, shape), axis=1))
        return np.exp(rng.normal(0.0, 0.01, shape))

    def near(i: int) -> np.ndarray:
        return np.array([truth[s][i] for s in segs]) * noise()

    return az.from_dict(
        posterior={
            "floor": near(0),
            "c50": near(1),
            "gamma": near(2),
            "sigma": 0.1 * noise(),
        }
    )


def test_one_chain_fit_skips_r_hat_and_says_so(make_history_study, monkeypatch):
    """With one chain the response diagnostics took np.nanmax of an all-NaN
    R-hat (numpy's "All-NaN slice encountered", once per variable) and,
    when the ESS check fired, warned "max R-hat nan (want <= 1.01)"."""
    import warnings

    from terrakit.exceptions import ConvergenceWarning

    truth = {"A": (0.3, 3.0, 1.0)}
    st = make_history_study(truth, n_accounts=30, months=12, seed=1)
    for step, warned in ((0.0, False), (0.02, True)):
        monkeypatch.setattr(
            ResponseModel,
            "_sample",
            lambda self, stats, seed, step=step: _one_chain_at(truth, 400, step),
        )
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            rc = ResponseModel(chains=1).fit(st, seed=0, travel=None)
        leaked = [str(w.message) for w in rec if w.category is RuntimeWarning]
        assert not leaked, leaked
        assert np.isnan(rc.diagnostics["max_rhat"])
        said = [
            str(w.message) for w in rec if issubclass(w.category, ConvergenceWarning)
        ]
        assert bool(said) is warned, said
        if warned:
            assert said[0].startswith(
                "response-model sampling may not have converged: R-hat not "
                "checked (one chain), min bulk ESS "
            ), said

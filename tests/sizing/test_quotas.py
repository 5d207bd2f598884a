"""Quotas: shares, totals, equal chance, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from terrakit.exceptions import SpecificationError
from terrakit.sizing import quotas


def test_sales_share(two_segment_study):
    q = quotas(two_segment_study, "current", total=560_000, method="sales_share")
    t = q.to_frame()
    assert t.loc["R1", "quota"] == pytest.approx(400_000)  # 200k of 280k sales
    assert t.loc["R2", "quota"] == pytest.approx(160_000)
    assert t["growth"].tolist() == pytest.approx([1.0, 1.0])
    assert t["quota"].sum() == pytest.approx(560_000)


def test_potential_share_with_draws(two_segment_study):
    draws = pd.DataFrame(
        np.tile([[300_000.0], [100_000.0]], (1, 50)),
        index=pd.Index(["u1", "u2"], name="unit_id"),
    )
    draws.iloc[:, ::2] = draws.iloc[:, ::2].to_numpy() * np.array([[1.2], [0.8]])
    q = quotas(two_segment_study, "current", potential=draws, total=100.0)
    t = q.to_frame()
    pot = draws.mean(axis=1)
    assert t.loc["R1", "quota"] == pytest.approx(100 * pot["u1"] / pot.sum())
    assert ((t["p_attain"] >= 0) & (t["p_attain"] <= 1)).all()


def test_equal_chance_equalises_p_attain(two_segment_study):
    q = quotas(
        two_segment_study,
        "current",
        total=300_000,
        method="equal_chance",
        sales_cv=0.1,
        n_draws=4_000,
    )
    p = q.to_frame()["p_attain"]
    assert abs(p["R1"] - p["R2"]) < 0.02
    assert q.total == pytest.approx(300_000)


def test_bad_input(two_segment_study):
    with pytest.raises(
        SpecificationError, match="total must be a positive amount, got -5"
    ):
        quotas(two_segment_study, "current", total=-5)
    st = two_segment_study.replace(
        units=two_segment_study.units.drop(columns="potential")
    )
    with pytest.raises(SpecificationError, match="needs potential"):
        quotas(st, "current", method="potential_share")
    with pytest.raises(SpecificationError, match="method 'magic' is unknown"):
        quotas(two_segment_study, "current", method="magic")  # type: ignore[arg-type]


@pytest.mark.parametrize("cv", [0.05, 0.15, 0.3])
def test_p_attain_matches_the_stated_predictive_model(two_segment_study, cv):
    """weight=0: A_t = T s_t exp(cv z - cv^2/2), so P = 1 - Phi(cv/2).

    (With the default weight 0.5 the attainable share leans toward the
    potential share, which this study's units carry.)
    """
    from scipy.stats import norm

    q = quotas(
        two_segment_study,
        "current",
        method="sales_share",
        weight=0.0,
        sales_cv=cv,
        n_draws=200_000,
        seed=3,
    )
    expect = 1.0 - norm.cdf(cv / 2.0)
    assert q.to_frame()["p_attain"].to_numpy() == pytest.approx(
        [expect, expect], abs=0.005
    )


def test_p_attain_is_calibrated_on_outcomes_simulated_from_the_model(
    two_segment_study,
):
    """Outcomes drawn from the model land above the quota at the stated rate."""
    draws = pd.DataFrame(
        np.random.default_rng(0).lognormal(
            [[np.log(3e5)], [np.log(1e5)]], 0.3, (2, 400)
        ),
        index=pd.Index(["u1", "u2"], name="unit_id"),
    )
    cv, total = 0.1, 400_000.0
    q = quotas(
        two_segment_study,
        "current",
        potential=draws,
        total=total,
        method="potential_share",
        sales_cv=cv,
        n_draws=100_000,
        seed=1,
    ).to_frame()
    # simulate "next year" independently of the quota function, as documented
    rng = np.random.default_rng(9)
    n = 100_000
    col = rng.integers(0, draws.shape[1], n)
    shares = draws.to_numpy()[:, col] / draws.to_numpy()[:, col].sum(axis=0)
    sales_share = q["sales_share"].to_numpy()[:, None]
    pi = 0.5 * shares + 0.5 * sales_share
    outcome = total * pi * np.exp(cv * rng.standard_normal((2, n)) - cv**2 / 2)
    hit = (outcome >= q["quota"].to_numpy()[:, None]).mean(axis=1)
    assert hit == pytest.approx(q["p_attain"].to_numpy(), abs=0.01)


def test_bad_run_settings(two_segment_study):
    """A negative seed used to raise numpy's ValueError; n_draws=0 gave NaN
    P(attain) with RuntimeWarnings."""
    with pytest.raises(SpecificationError, match="seed must be a non-negative int"):
        quotas(two_segment_study, "current", seed=-1)
    with pytest.raises(SpecificationError, match=r"n_draws must be a whole number"):
        quotas(two_segment_study, "current", n_draws=0)


def test_zero_potential_or_sales_explain(two_segment_study):
    """All-zero potential or sales used to end in 'quotas sum to 0.00' from
    inside the result (or, for sales, in P(attain) = 0 everywhere)."""
    from terrakit.exceptions import DataValidationError

    units = two_segment_study.units
    units["potential"] = 0.0
    with pytest.raises(
        DataValidationError, match=r"potential: potential sums to 0 over all units"
    ):
        quotas(two_segment_study.replace(units=units), "current")
    acc = two_segment_study.accounts
    acc["annual_sales"] = 0.0
    no_sales = two_segment_study.replace(accounts=acc)
    with pytest.raises(
        SpecificationError,
        match=r"method='sales_share' splits the total by today's sales, but the "
        r"territories' sales sum to 0",
    ):
        quotas(no_sales, "current", total=1e6, method="sales_share")
    with pytest.raises(
        SpecificationError, match=r"by default it is the last 12 months' sales"
    ):
        quotas(no_sales, "current")
    q = quotas(no_sales, "current", total=1e6).to_frame()  # potential alone
    assert q["quota"].tolist() == pytest.approx([750_000, 250_000])
    assert q["p_attain"].between(0.3, 0.7).all()

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
    # it named the column as a row ('potential') and spoke of "1 of 1 draws"
    with pytest.raises(DataValidationError) as err:
        quotas(two_segment_study.replace(units=units), "current")
    assert str(err.value) == (
        "units.potential: the potential of all 2 units is 0, so it gives no "
        "shares to split the total by. Fix: check the potential estimates "
        "(missing ones filled with 0?), or use method='sales_share'"
    )
    draws = pd.DataFrame(
        [[3.0, 0.0, 1.0], [1.0, 0.0, 1.0]], index=pd.Index(["u1", "u2"])
    )
    with pytest.raises(DataValidationError) as err:
        quotas(two_segment_study, "current", potential=draws)
    assert str(err.value) == (
        "potential: the potential sums to 0 over all 2 units in 1 of 3 draws (1), "
        "which give no shares to split the total by. Fix: check the potential "
        "draws, drop the all-zero ones, or use method='sales_share'"
    )
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


def test_a_unit_given_twice_in_the_potential_is_named(two_segment_study):
    """It was pandas' bare 'cannot reindex on an axis with duplicate labels'."""
    from terrakit.exceptions import DataValidationError

    pot = two_segment_study.units["potential"]
    pot = pd.concat([pot, pot.iloc[:1]])
    with pytest.raises(DataValidationError) as err:
        quotas(two_segment_study, "current", potential=pot)
    assert str(err.value) == (
        "potential.unit_id: 1 ids occur more than once (rows: 'u1'). "
        "Fix: make unit_id unique (merge or rename the duplicated rows)"
    )


def test_potential_of_zero_or_below_sales_warns(two_segment_study):
    """A selling territory with potential 0 silently got quota 0, growth
    -100 % and P(attain) 1.0."""
    import warnings

    from terrakit.exceptions import TerrakitWarning

    pot = pd.Series([300_000.0, 0.0], index=["u1", "u2"])
    with pytest.warns(TerrakitWarning) as rec:
        q = quotas(two_segment_study, "current", potential=pot, total=280_000)
    assert str(rec[0].message) == (
        "quotas: territories with a potential of 0 or below their yearly sales "
        "(1 of 2): R2 (potential 0 vs sales 80,000); the potential share gives "
        "them a quota below what they sell (0 for no potential) and a P(attain) "
        "near 1. Check the potential (a missing estimate filled with 0?) or use "
        "method='sales_share' or 'blend'"
    )
    assert q.table.loc["R2", "quota"] == 0.0
    with pytest.warns(
        TerrakitWarning, match=r"R2 \(potential 50,000 vs sales 80,000\)"
    ):
        quotas(two_segment_study, "current", potential=pot.replace(0.0, 50_000.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TerrakitWarning)
        # a potential index on another scale: only its shares count
        quotas(two_segment_study, "current", potential=pot.replace(0.0, 1.0) / 1e5)
        # potential that is not used at all (sales shares, weight 0)
        quotas(
            two_segment_study, "current", potential=pot, method="sales_share", weight=0
        )


@pytest.mark.parametrize("method", ["blend", "equal_chance", "potential_share"])
def test_p_attain_is_exact_with_a_point_potential(two_segment_study, method):
    """With a point potential the attainable share is fixed and P(attain) has
    a closed form; it was a Monte-Carlo estimate called "exact" (0.4755 to
    0.5155 on the sample study where every territory has Phi(-sigma/2))."""
    from scipy.stats import norm

    cv = 0.1
    q = quotas(two_segment_study, "current", method=method, sales_cv=cv, total=300_000)
    t = q.to_frame()
    pi = 0.5 * t["potential_share"] + 0.5 * t["sales_share"]
    expect = norm.sf((np.log(t["quota"] / (300_000 * pi)) + cv**2 / 2) / cv)
    np.testing.assert_allclose(t["p_attain"], expect, rtol=1e-12)
    if method != "potential_share":
        np.testing.assert_allclose(t["p_attain"], norm.cdf(-cv / 2), rtol=1e-12)
        np.testing.assert_allclose(t["quota"], 300_000 * pi, rtol=1e-12)
    cfg = q.provenance["config"]
    assert (cfg["p_attain"], cfg["p_attain_se"]) == ("closed form", 0.0)


def test_p_attain_with_potential_draws_is_monte_carlo_with_its_error(
    two_segment_study,
):
    draws = pd.DataFrame(
        np.random.default_rng(0).lognormal(
            [[np.log(3e5)], [np.log(1e5)]], 0.3, (2, 50)
        ),
        index=pd.Index(["u1", "u2"], name="unit_id"),
    )
    q = quotas(two_segment_study, "current", potential=draws, n_draws=400)
    p = q.to_frame()["p_attain"].to_numpy()
    cfg = q.provenance["config"]
    assert cfg["p_attain"] == "Monte Carlo"
    assert cfg["p_attain_se"] == pytest.approx(np.sqrt(p * (1 - p) / 400).max())


def test_sales_cv_in_percent_is_refused(two_segment_study):
    """sales_cv=10 (meant 10 %) was taken as 1,000 %: P(attain) 0 everywhere."""
    with pytest.raises(SpecificationError) as err:
        quotas(two_segment_study, "current", sales_cv=10)
    assert str(err.value) == (
        "sales_cv must be in [0, 1], got 10; did you mean 0.10? 0.10 means a "
        "territory's yearly sales spread 10 % around their expectation"
    )
    with pytest.raises(
        SpecificationError, match=r"sales_cv must be in \[0, 1\], got -1;"
    ):
        quotas(two_segment_study, "current", sales_cv=-1)


def _digit_ids_study():
    """2 units with text ids '1', '2' (u '1' sells 100, '2' 50), one account
    each, territories T1, T2: ids that read as numbers."""
    import geopandas as gpd
    from shapely.geometry import box

    from terrakit.data.alignment import Alignment
    from terrakit.data.study import Study

    units = gpd.GeoDataFrame(
        {"x": [0, 0]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        index=pd.Index(["1", "2"], name="unit_id"),
        crs="EPSG:4326",
    )
    acc = pd.DataFrame(
        {
            "unit_id": ["1", "2"],
            "lon": [0.5, 1.5],
            "lat": [0.5, 0.5],
            "annual_sales": [100.0, 50.0],
            "calls_per_year": [12.0, 6.0],
            "call_minutes": [30.0, 30.0],
        },
        index=pd.Index(["10", "20"], name="account_id"),
    )
    al = Alignment.from_mapping({"1": "T1", "2": "T2"}, name="cur")
    return Study(units, accounts=acc, alignments={"cur": al})


def test_potential_for_ids_of_another_type_or_other_units_is_refused():
    """Keys 1, 2 for unit ids '1', '2' read '2 units have no potential',
    without a word on the type; a unit the study lacks (here holding 60 % of
    the potential given) was dropped in silence."""
    from terrakit.exceptions import DataValidationError

    st = _digit_ids_study()
    with pytest.raises(DataValidationError) as err:
        quotas(st, "cur", potential=pd.Series({1: 300.0, 2: 100.0}), total=1000)
    assert str(err.value) == (
        "potential: its 2 unit ids are numbers (e.g. 1) where the study's unit "
        "ids are text (e.g. '1'): 1 is not '1', so they match no unit (rows: 1, "
        "2). Fix: convert the ids first: potential.index = "
        "potential.index.astype(str)"
    )
    extra = pd.Series({"1": 300.0, "2": 100.0, "3": 600.0})
    with pytest.raises(DataValidationError) as err:
        quotas(st, "cur", potential=extra, total=1000)
    assert str(err.value) == (
        "potential: potential is given for 1 unit that the study does not have "
        "(60 % of the potential given); it would be left out in silence (rows: "
        "'3'). Fix: drop it from potential, or pass the study it belongs to "
        "(check the id type: '13121' is not 13121)"
    )
    q = quotas(st, "cur", potential=extra.iloc[:2], total=1000)
    assert q.table["quota"].to_dict() == pytest.approx({"T1": 750.0, "T2": 250.0})


def test_quotas_record_their_alignment(two_segment_study):
    """The quotas did not say whose territories they were (tk.forecast.quota
    records it), so a report named the wrong alignment for them."""
    q = quotas(two_segment_study, "current", method="sales_share")
    assert q.provenance["alignment"] == "current"
    renamed = two_segment_study.alignments["current"].rename("plan B")
    assert quotas(two_segment_study, renamed).provenance["alignment"] == "plan B"


# -- round 20 (QA sizing d2, d4) -----------------------------------------------------
@pytest.mark.parametrize(
    ("column", "values", "seen"),
    [
        ("pot", [np.nan, 300_000.0], "[nan]"),
        ("pot", [-100_000.0, 300_000.0], "[-100000.0]"),
        ("pot", ["lots", 300_000.0], "['lots']"),
        # the study refuses text and negatives in 'potential' itself, not NaN
        ("potential", [np.nan, 300_000.0], "[nan]"),
    ],
)
def test_a_units_potential_column_is_checked_as_a_series_is(
    two_segment_study, column, values, seen
):
    """A units column (named, or the default 'potential') skipped the checks: a
    NaN gave u1 a quota of 0, a negative one a bare ValueError from
    QuotaResult, text a bare astype error."""
    from terrakit.exceptions import DataValidationError

    units = two_segment_study.units.copy()
    units[column] = pd.Series(values, index=units.index, dtype=object)
    st = two_segment_study.replace(units=units)
    pot = column if column != "potential" else None
    with pytest.raises(DataValidationError) as err:
        quotas(st, "current", potential=pot, method="sales_share")
    e = err.value
    assert (e.table, e.column, e.rows) == ("units", column, ["u1"])
    assert str(e).startswith(
        f"units.{column}: potential must be numbers >= 0; 1 unit has a missing, "
        f"negative or non-numeric potential ({seen})"
    )


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"total": True}, "total must be a number, got True"),
        ({"total": [1e6]}, r"total must be a number, got \[1000000.0\]"),
        ({"total": "1e6"}, "total must be a number, got '1e6'"),
        ({"weight": None}, "weight must be a number, got None"),
        ({"weight": "abc"}, "weight must be a number, got 'abc'"),
        ({"weight": float("nan")}, r"weight must be in \[0, 1\], got nan"),
    ],
)
def test_total_and_weight_must_be_numbers(two_segment_study, kw, msg):
    """total=True was a target of 1.0; None, text and lists gave bare errors."""
    with pytest.raises(SpecificationError, match=msg):
        quotas(two_segment_study, "current", method="blend", **kw)

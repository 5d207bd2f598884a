"""performance(): territory KPIs with intervals and rank intervals.

Fast tests replace MCMC by a posterior with chosen values (the model's
post-processing is then checkable by hand); the slow test samples the real
model on simulated sales with known growth per territory.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pandas as pd
import pytest

from terrakit.exceptions import (
    ConvergenceWarning,
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)
from terrakit.realign.performance import (
    PerformanceResult,
    build_performance_model,
    performance,
)

#: The module (``terrakit.realign.performance`` the attribute is the function).
perf_mod = importlib.import_module("terrakit.realign.performance")

#: Known log levels and log growths of R1..R4 used by the fake posterior.
LEVEL = np.log([1000.0, 2000.0, 3000.0, 4000.0])
GROWTH = np.array([0.10, -0.05, 0.20, 0.0])


@pytest.fixture
def fixed_posterior(monkeypatch, fake_run):
    """Sampling returns LEVEL/GROWTH (sigma 0, no season) up to 1e-9 noise."""

    def fake(model, cfg=None, seed=0, *, var_names=None, spread=1e-9):
        return fake_run(
            model,
            {"level": LEVEL, "log_growth": GROWTH, "sigma": 0.0, "season": 0.0},
            spread=spread,
            seed=seed,
            draws=1000,
        )

    monkeypatch.setattr(perf_mod, "sample", fake)
    return fake


def test_kpis_from_known_posterior(grid6x4, fixed_posterior):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = performance(
            grid6x4,
            "current",
            ("2025-01", "2025-12"),
            quota={"R1": 11_000, "R2": 24_000, "R3": 36_000, "R4": 40_000},
        )
    assert isinstance(res, PerformanceResult)
    t = res.to_frame()
    assert res.prior == ("2024-01", "2024-12")
    # expected sales = 12 months x exp(level + growth)
    exp_sales = 12 * np.exp(LEVEL + GROWTH)
    np.testing.assert_allclose(t.loc[["R1", "R2", "R3", "R4"], "sales_mean"], exp_sales)
    np.testing.assert_allclose(
        t.loc[["R1", "R2", "R3", "R4"], "growth_mean"], np.expm1(GROWTH), atol=1e-8
    )
    # potential: 6 units x 10,000 per territory
    np.testing.assert_allclose(
        t.loc[["R1", "R2", "R3", "R4"], "penetration_mean"], exp_sales / 60_000
    )
    att = exp_sales / np.array([11_000, 24_000, 36_000, 40_000])
    np.testing.assert_allclose(t.loc[["R1", "R2", "R3", "R4"], "attainment_mean"], att)
    # ranked by attainment (quotas given): order of att descending
    order = np.array(["R1", "R2", "R3", "R4"])[np.argsort(-att)]
    assert list(t.index) == list(order)
    assert t["rank_mean"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert t["p_top"].tolist() == [1.0, 0.0, 0.0, 0.0]
    # observed figures are the sums of the history
    h = grid6x4.history
    r1_acc = grid6x4.accounts.index[grid6x4.accounts["rep_id"] == "R1"]
    obs = h[h["account_id"].isin(r1_acc) & (h["period"].dt.year == 2025)]["sales"]
    assert t.loc["R1", "sales"] == pytest.approx(obs.sum())
    assert res.rank_by == "attainment"


def test_rank_intervals_from_draws(grid6x4, monkeypatch, fake_run):
    def noisy(model, cfg=None, seed=0, *, var_names=None):
        return fake_run(
            model,
            {"level": np.log(1000.0), "log_growth": GROWTH, "sigma": 0.0},
            spread=0.05,
            seed=seed,
            draws=400,
        )

    monkeypatch.setattr(perf_mod, "sample", noisy)
    res = performance(grid6x4, period=("2025-01", "2025-12"), interval=0.9)
    t = res.to_frame()
    assert res.rank_by == "growth"
    assert t.index[0] == "R3"  # growth 0.20 stands out
    assert t["p_top"].sum() == pytest.approx(1.0)
    assert (t["rank_lo"] <= t["rank_mean"]).all()
    assert (t["rank_mean"] <= t["rank_hi"]).all()
    assert (t["growth_lo"] < t["growth_mean"]).all()
    assert (t["growth_mean"] < t["growth_hi"]).all()
    # R1 (0.10) and R4 (0.00) are 2 noise sd apart: their rank intervals differ
    assert t.loc["R2", "rank_hi"] == 4
    ranks = res.draws["rank"]
    assert sorted(np.unique(ranks.to_numpy())) == [1.0, 2.0, 3.0, 4.0]
    assert (ranks.sum(axis=1) == 10).all()  # a permutation in every draw
    text = res.summary()
    assert text.splitlines()[0] == (
        "Territory performance 2025-01..2025-12 vs 2024-01..2024-12 "
        "(4 territories, ranked by growth, 90% intervals)"
    )
    assert text == res.summary()


def test_model_structure(grid6x4):
    rng = np.random.default_rng(0)
    y0 = rng.normal(7, 0.1, (4, 6))
    m = build_performance_model(y0, y0 + 0.1, np.arange(6), ["a", "b", "c", "d"])
    names = {v.name for v in m.free_RVs}
    assert {"level", "mu_growth", "tau_growth", "season", "sigma"} <= (names)
    assert m["log_sales"].shape.eval().tolist() == [4, 2, 6]


def test_bad_inputs(grid6x4, fixed_posterior):
    with pytest.raises(SpecificationError, match="has 6 months, the analysis period"):
        performance(
            grid6x4, period=("2025-01", "2025-12"), prior=("2024-01", "2024-06")
        )
    with pytest.raises(
        DataValidationError, match=r"12 months of the period 2026-01\.\.2026-12 lie"
    ):
        performance(grid6x4, period=("2026-01", "2026-12"))
    with pytest.raises(
        SpecificationError,
        match=r"period=\('soon', '2025-12'\): its start 'soon' is not a month",
    ):
        performance(grid6x4, period=("soon", "2025-12"))
    with pytest.raises(DataValidationError, match="1 territories have no positive"):
        performance(grid6x4, quota={"R1": 1.0, "R2": 1.0, "R3": 1.0})
    with pytest.raises(SpecificationError, match="rank_by must be"):
        performance(grid6x4, rank_by="luck")
    with pytest.raises(SpecificationError, match="needs quota"):
        performance(grid6x4, rank_by="attainment")
    h = grid6x4.history
    zero = h.assign(
        sales=np.where(h["account_id"].isin(["a000", "a001"]), 0.0, h["sales"])
    )
    # R1 still sells through its other accounts; a territory without any sales:
    acc = grid6x4.accounts
    r4 = acc.index[acc["rep_id"] == "R4"]
    none = h.assign(sales=np.where(h["account_id"].isin(r4), 0.0, h["sales"]))
    performance(grid6x4.replace(history=zero))
    with pytest.raises(DataValidationError, match=r"\(rows: 'R4'\)"):
        performance(grid6x4.replace(history=none))


def test_bad_periods_quotas_and_seeds_are_explained(grid6x4, fixed_posterior):
    with pytest.raises(
        SpecificationError, match=r"period must be a pair .* got '2025'"
    ):
        performance(grid6x4, period="2025")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match=r"got \('2025-01',\)"):
        performance(grid6x4, period=("2025-01",))  # type: ignore[arg-type]
    with pytest.raises(
        SpecificationError,
        match=r"prior period 2025-01..2025-12 does not end before the analysis "
        r"period 2025-01..2025-12 starts.* e.g. \(2024-01, 2024-12\)",
    ):
        performance(grid6x4, prior=("2025-01", "2025-12"))
    terr = ["R1", "R2", "R3", "R4"]
    with pytest.raises(
        DataValidationError,
        match=r"quota: 1 quotas are not numbers \(e.g. '12k'\) \(rows: 'R2'\)",
    ):
        performance(grid6x4, quota=dict(zip(terr, [1e4, "12k", 1e4, 1e4], strict=True)))
    with pytest.raises(SpecificationError, match="quota must map territory ids"):
        performance(grid6x4, quota=[1e4, 1e4, 1e4, 1e4])  # type: ignore[arg-type]
    for seed in (-1, 1.5):
        with pytest.raises(SpecificationError, match="seed must be a non-negative"):
            performance(grid6x4, seed=seed)  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match=r"for a 90 % interval write 0\.9"):
        performance(grid6x4, interval=90)


def _growth_study(make_grid, growth, seed=1):
    """The 6 × 4 grid with account sales growing by ``growth[t]`` in 2025."""
    st = make_grid(seed=seed)
    rng = np.random.default_rng(seed)
    h = st.history
    owner = h["account_id"].map(st.accounts["rep_id"])
    g = owner.map(dict(zip(["R1", "R2", "R3", "R4"], growth, strict=True)))
    season = 1 + 0.1 * np.sin(2 * np.pi * h["period"].dt.month / 12)
    late = (h["period"].dt.year == 2025).to_numpy()
    sales = 200.0 * season * np.exp(np.where(late, g, 0.0))
    sales *= np.exp(rng.normal(0, 0.05, len(h)))
    return st.replace(history=h.assign(sales=sales))


@pytest.mark.slow
@pytest.mark.mcmc
def test_recovers_simulated_growth(make_grid):
    truth = np.array([0.15, -0.10, 0.05, 0.30])
    st = _growth_study(make_grid, truth)
    res = performance(
        st,
        period=("2025-01", "2025-12"),
        sampler_config={"progressbar": False, "draws": 500, "tune": 500},
        seed=2,
    )
    t = res.to_frame().loc[["R1", "R2", "R3", "R4"]]
    cover = (t["growth_lo"] <= np.expm1(truth)) & (np.expm1(truth) <= t["growth_hi"])
    assert cover.sum() >= 3
    assert res.to_frame().index[0] == "R4"  # the fastest grower ranks first
    assert res.diagnostics.ok


def _seasonal_study(make_grid, amplitude=0.3, seed=1):
    """The 6 × 4 grid with strongly seasonal sales and no growth at all."""
    st = make_grid(seed=seed)
    rng = np.random.default_rng(seed)
    h = st.history
    month = h["period"].dt.month.to_numpy()
    season = np.exp(amplitude * np.cos(2 * np.pi * (month - 10) / 12))
    sales = 200.0 * season * np.exp(rng.normal(0, 0.02, len(h)))
    return st.replace(history=h.assign(sales=sales))


def test_sub_annual_period_defaults_to_the_same_months_a_year_earlier(make_grid):
    # H2 sells ~50 % more than H1 by season alone; growth is zero
    st = _seasonal_study(make_grid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = performance(
            st,
            period=("2025-07", "2025-12"),
            sampler_config={"method": "advi", "vi_iterations": 3000},
            seed=0,
        )
    assert res.prior == ("2024-07", "2024-12")
    t = res.to_frame()
    assert np.abs(t["growth_obs"]).max() < 0.02
    assert np.abs(t["growth_mean"]).max() < 0.05  # the old default: +50 %


def test_prior_of_other_calendar_months_warns_and_keeps_their_own_seasons(
    make_grid, fixed_posterior
):
    st = _seasonal_study(make_grid)
    with pytest.warns(TerrakitWarning, match="shares no calendar month"):
        res = performance(
            st, period=("2025-07", "2025-12"), prior=("2025-01", "2025-06")
        )
    assert res.prior == ("2025-01", "2025-06")
    # every month keeps its own calendar-month season: 12 seasons, not 6
    assert res.idata.posterior["season"].shape[-1] == 12
    # a history that does not reach a year back: the adjacent months, with the warning
    late = st.replace(history=st.history[st.history["period"] >= "2025-01"])
    with pytest.warns(TerrakitWarning, match=r"prior=\(2024-07, 2024-12\)"):
        res = performance(late, period=("2025-07", "2025-12"))
    assert res.prior == ("2025-01", "2025-06")


def test_model_gives_prior_months_their_own_season():
    rng = np.random.default_rng(0)
    y0 = rng.normal(7, 0.1, (4, 6))
    m = build_performance_model(
        y0, y0 + 0.1, np.arange(6, 12), ["a", "b", "c", "d"], np.arange(6)
    )
    assert m.coords["month_of_year"] == tuple(range(1, 13))


@pytest.mark.filterwarnings("ignore:the prior period .* shares no calendar month")
def test_a_default_prior_outside_the_history_is_named(grid6x4, fixed_posterior):
    """Regression: the default prior period before the history was called 'the
    analysis window', with the fix 'choose a window inside the history',
    although the period given lay inside the history."""
    with pytest.raises(DataValidationError) as err:
        performance(grid6x4, period=("2024-01", "2024-12"))
    assert str(err.value) == (
        "history.period: 12 months of the prior period 2023-01..2023-12 (default: "
        "the 12 months before the period 2024-01..2024-12) lie outside the history "
        "(history covers 2024-01..2025-12) (rows: '2023-01', '2023-02', '2023-03', "
        "'2023-04', '2023-05' and 7 more). Fix: choose the later period "
        "2025-01..2025-12: it and the 12 months before it are in the history; or "
        "add the history of 2023-01..2023-12 (an explicit prior=(first, last) of "
        "12 months before 2024-01 cannot help: the history starts at 2024-01)"
    )
    with pytest.raises(DataValidationError) as err:
        performance(grid6x4, period=("2024-03", "2024-08"))
    assert str(err.value).startswith(
        "history.period: 4 months of the prior period 2023-09..2024-02 (default: "
        "the 6 months before the period 2024-03..2024-08) lie outside the history"
    )
    assert str(err.value).endswith(
        "Fix: choose a later period starting from 2024-07 to 2025-07: it and the "
        "6 months before it are in the history; or choose a shorter period of at "
        "most 2 months from 2024-03; or add the history of 2023-09..2023-12 (an "
        "explicit prior=(first, last) of 6 months before 2024-03 cannot help: the "
        "history starts at 2024-01)"
    )
    with pytest.raises(DataValidationError) as err:
        performance(grid6x4, prior=("2023-07", "2024-06"))
    assert str(err.value).endswith(
        "6 months of the prior period 2023-07..2024-06 lie outside the history "
        "(history covers 2024-01..2025-12) (rows: '2023-07', '2023-08', '2023-09', "
        "'2023-10', '2023-11' and 1 more). Fix: choose a prior period inside the "
        "history (2024-01..2025-12)"
    )


def test_a_gap_in_the_prior_period_is_called_a_gap(grid6x4, fixed_posterior):
    h = grid6x4.history
    st = grid6x4.replace(history=h[h["period"].astype(str) != "2024-06"])
    with pytest.raises(DataValidationError) as err:
        performance(st, period=("2025-01", "2025-12"))
    assert str(err.value) == (
        "history.period: the history has a gap: 1 month between 2024-01 and "
        "2025-12 has no rows at all (rows: '2024-06'). Fix: add the sales of that "
        "month to the history (0 where a unit sold nothing), or choose a "
        "prior=(first, last) that avoids it"
    )
    performance(st, period=("2025-07", "2025-12"), prior=("2024-07", "2024-12"))


def test_a_sampler_config_that_is_not_a_dict_is_refused(make_grid):
    """sampler_config='advi' crashed in dict() before any check."""
    st = _seasonal_study(make_grid)
    with pytest.raises(SpecificationError, match="sampler_config must be a dict"):
        performance(st, period=("2025-07", "2025-12"), sampler_config="advi")


def _periods_of_the_fix(text: str) -> list[tuple[tuple[str, str], tuple | None]]:
    """Every ``(period, prior)`` the "Fix:" of a short-history error proposes
    (prior None: the default), the ends of every range it names included."""
    import re

    fix = text[text.index("Fix:") :]
    out: list[tuple[tuple[str, str], tuple | None]] = []
    month = pd.Period

    m = re.search(
        r"later period starting from (\S+) to (\S+):.*? (\d+) months? befor", fix
    )
    if m:
        n = int(m.group(3))
        for start in (m.group(1), m.group(2)):
            out.append(((start, str(month(start, "M") + n - 1)), None))
    m = re.search(r"the later period (\S+)\.\.(\S+):", fix)
    if m:
        out.append(((m.group(1), m.group(2)), None))
    m = re.search(r"shorter period of at most (\d+) months? from (\S+?)[;( ]", fix)
    if m:
        start = m.group(2)
        out.append(((start, str(month(start, "M") + int(m.group(1)) - 1)), None))
    m = re.search(r"such as (\S+)\.\.(\S+) with the prior (\S+)\.\.([^;( ]+)", fix)
    if m:
        out.append(((m.group(1), m.group(2)), None))
        out.append(((m.group(1), m.group(2)), (m.group(3), m.group(4))))
    return out


@pytest.mark.filterwarnings("ignore:the prior period .* shares no calendar month")
@pytest.mark.parametrize(
    ("first", "period", "n_fixes"),
    [
        # 12 months of history: no 12-month period fits with its prior
        ("2025-01", ("2025-01", "2025-12"), 2),
        # 8 months from 2025-05: a later start would run past 2025-12
        ("2025-01", ("2025-05", "2025-12"), 3),
        # 24 months of history: later 6-month periods fit
        ("2024-01", ("2024-03", "2024-08"), 3),
    ],
)
def test_the_fix_for_a_short_history_names_periods_that_work(
    grid6x4, fixed_posterior, first, period, n_fixes
):
    """The fix for a default prior before the history proposed 'from 2026-01
    on' for a history ending 2025-12: every period it names now fits, with
    its prior, in the history, and running it works."""
    h = grid6x4.history
    st = grid6x4.replace(history=h[h["period"] >= first])
    with pytest.raises(DataValidationError, match="lie outside the history") as err:
        performance(st, period=period)
    fixes = _periods_of_the_fix(str(err.value))
    assert len(fixes) == n_fixes, str(err.value)
    for p, prior in fixes:
        res = performance(st, period=p, prior=prior)
        assert res.period == p
    if period == ("2025-01", "2025-12"):
        assert str(err.value).endswith(
            "Fix: choose a period of at most 6 months (half the history), such as "
            "2025-07..2025-12 with the prior 2025-01..2025-06; or add the history "
            "of 2024-01..2024-12 (an explicit prior=(first, last) of 12 months "
            "before 2025-01 cannot help: the history starts at 2025-01)"
        )
        # adding the history it names works too
        performance(grid6x4, period=period)


def test_a_missing_potential_makes_its_territory_penetration_nan(
    grid6x4, fixed_posterior
):
    """A NaN potential was summed as 0, overstating R1's penetration by 20 %
    silently; now R1's penetration is NaN with a warning naming the unit, as
    in metrics.territory_kpis."""
    units = grid6x4.units.copy()
    units.loc["c0r0", "potential"] = np.nan  # a unit of R1
    st = grid6x4.replace(units=units)
    with pytest.warns(TerrakitWarning) as rec:
        res = performance(st, period=("2025-01", "2025-12"))
    texts = [str(w.message) for w in rec]
    assert (
        "units.potential: 1 of 24 units have no value ('c0r0'); potential and "
        "penetration are NaN for territories R1. An unknown potential is not 0: "
        "fill them only with real figures"
    ) in texts
    assert all(w.filename == __file__ for w in rec)
    t = res.to_frame()
    assert np.isnan(t.loc["R1", "penetration_mean"])
    assert np.isnan(res.draws["penetration"]["R1"]).all()
    exp_sales = 12 * np.exp(LEVEL + GROWTH)
    np.testing.assert_allclose(
        t.loc[["R2", "R3", "R4"], "penetration_mean"], exp_sales[1:] / 60_000
    )
    assert t["rank_mean"].notna().all()  # ranked by growth: all ranked


def test_a_territory_without_potential_is_not_ranked_on_penetration(
    grid6x4, fixed_posterior
):
    """A zero potential (penetration NaN) ranked certainly last, [4, 4]."""
    units = grid6x4.units.copy()
    a = grid6x4.alignments["current"].assignment
    units.loc[a.index[a == "R2"], "potential"] = 0.0
    st = grid6x4.replace(units=units)
    with pytest.warns(TerrakitWarning) as rec:
        res = performance(st, period=("2025-01", "2025-12"), rank_by="penetration")
    assert [str(w.message) for w in rec] == [
        "performance: the penetration of 1 of 4 territories is not a number "
        "('R2') (their potential is 0 or missing), so they are not ranked: their "
        "rank_mean, rank_lo, rank_hi and p_top are NaN and the other 3 are ranked "
        "among themselves. Fix: give their units a potential > 0 "
        "(units.potential), or rank_by='growth' or 'sales'"
    ]
    assert rec[0].filename == __file__
    t = res.to_frame()
    assert t.loc["R2", ["rank_mean", "rank_lo", "rank_hi", "p_top"]].isna().all()
    # penetration ∝ exp(level + growth): R4 4,000, R3 3,664, R1 1,105
    assert list(t.index) == ["R4", "R3", "R1", "R2"]
    assert t.loc[["R4", "R3", "R1"], "rank_mean"].tolist() == [1.0, 2.0, 3.0]
    assert t["p_top"].sum() == pytest.approx(1.0)
    ranks = res.draws["rank"]
    assert ranks["R2"].isna().all()
    assert (ranks[["R1", "R3", "R4"]].sum(axis=1) == 6).all()
    assert "R2       rank  nan [nan, nan]" in res.summary()


def test_a_territory_given_two_quotas_is_named(grid6x4, fixed_posterior):
    """A territory entered twice (a revised row appended) crashed in pandas
    ('truth value of a Series is ambiguous')."""
    quota = pd.Series([1e4, 1e4, 1e4, 1e4, 2e4], index=["R1", "R2", "R3", "R4", "R4"])
    with pytest.raises(DataValidationError) as err:
        performance(grid6x4, period=("2025-01", "2025-12"), quota=quota)
    assert str(err.value) == (
        "quota.territory_id: 1 ids occur more than once (rows: 'R4'). Fix: make "
        "territory_id unique (merge or rename the duplicated rows)"
    )


def test_quota_ids_that_match_only_as_text_are_explained(grid6x4, fixed_posterior):
    """Quota ids '101' (read as text) for territories 101 were called 'no
    positive quota', although every quota was positive."""
    from terrakit.data.alignment import Alignment

    ids = {"R1": 101, "R2": 102, "R3": 103, "R4": 104}
    cur = grid6x4.alignments["current"].assignment
    num = Alignment(cur.map(ids).astype("int64"), name="num")
    text = pd.Series([1e4] * 4, index=["101", "102", "103", "104"])
    with pytest.raises(DataValidationError) as err:
        performance(grid6x4, num, ("2025-01", "2025-12"), quota=text)
    assert str(err.value) == (
        "quota.territory_id: 4 of the 4 territories match a quota id only as "
        "text (e.g. territory 101 (number) and quota id '101' (text)): territory "
        "ids keep their type, '101' is not 101 (rows: 101, 102, 103, 104). Fix: "
        "give the quotas the alignment's id type: quota.index = "
        "quota.index.astype(int)"
    )
    # following the fix works; text territories get the reverse advice
    text.index = text.index.astype(int)
    res = performance(grid6x4, num, ("2025-01", "2025-12"), quota=text)
    assert sorted(res.table.index) == [101, 102, 103, 104]
    with pytest.raises(DataValidationError, match=r"quota\.index\.astype\(str\)"):
        performance(
            grid6x4.replace(
                alignments={"current": Alignment(cur.map(lambda r: r[1:]))}
            ),
            period=("2025-01", "2025-12"),
            quota={1: 1e4, 2: 1e4, 3: 1e4, 4: 1e4},
        )


# -- QA round 21 --------------------------------------------------------------------
@pytest.mark.parametrize("table", ["units", "history"])
def test_a_table_instead_of_a_study_is_refused(grid6x4, table):
    """performance(study.units, ...) died in a bare AttributeError
    ("'GeoDataFrame' object has no attribute 'history'")."""
    from terrakit.exceptions import NotAStudyError

    given = getattr(grid6x4, table)
    with pytest.raises(NotAStudyError) as err:
        performance(given, "current", ("2025-01", "2025-12"))
    assert str(err.value).startswith(
        "tk.realign.performance takes a Study with a sales history, got "
        f"{type(given).__name__}; wrap the units table in a Study: "
        "tk.Study(units, accounts=accounts, history=history)"
    )

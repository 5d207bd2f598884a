"""impact(): Bayesian difference-in-differences of a realignment.

The simulated study has 20 territories of two units each (8 × 5 grid of
10 km squares).  At 2025-07 three pairs of neighbouring territories swap one
unit (6 treated territories, 14 controls); after the change every treated
territory sells ``exp(EFFECT)`` times as much.
"""

from __future__ import annotations

import importlib
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from terrakit.data.alignment import Alignment
from terrakit.data.study import Study
from terrakit.exceptions import (
    ConvergenceWarning,
    DataValidationError,
    SpecificationError,
)
from terrakit.realign.impact import ImpactResult, impact, treated_territories

#: The module (the package attribute ``impact`` is the function).
impact_mod = importlib.import_module("terrakit.realign.impact")

EFFECT = 0.12


def simulate_impact_study(
    effect: float = EFFECT, seed: int = 0, treated_growth: float = 0.0
) -> Study:
    """Unit-level monthly sales 2024-01..2025-12 with a known DiD effect.

    Territory ``Tk`` (k = 0..19) holds units ``u{2k}`` and ``u{2k+1}``
    before; after 2025-07, T0↔T1, T2↔T3 and T4↔T5 swap their second units.
    log sales = unit level + common month shock + ``effect`` (treated
    territories from 2025-07) + N(0, 0.03) noise; with ``treated_growth``
    the treated territories also grow that much faster per year (log) over
    the whole window: a difference in trends, not an effect.
    """
    rng = np.random.default_rng(seed)
    n = 40
    ids = [f"u{i}" for i in range(n)]
    geoms = [
        box(
            500_000 + (i % 8) * 1e4,
            3_700_000 + (i // 8) * 1e4,
            500_000 + (i % 8 + 1) * 1e4,
            3_700_000 + (i // 8 + 1) * 1e4,
        )
        for i in range(n)
    ]
    units = gpd.GeoDataFrame(
        {"workload": np.ones(n)},
        geometry=geoms,
        index=pd.Index(ids, name="unit_id"),
        crs="EPSG:32617",
    )
    before = {f"u{i}": f"T{i // 2:02d}" for i in range(n)}
    after = dict(before)
    for a, b in ((0, 1), (2, 3), (4, 5)):
        after[f"u{2 * a + 1}"], after[f"u{2 * b + 1}"] = (
            before[f"u{2 * b + 1}"],
            before[f"u{2 * a + 1}"],
        )
    treated = {f"T{k:02d}" for k in range(6)}
    periods = pd.period_range("2024-01", "2025-12", freq="M")
    shock = rng.normal(0, 0.05, len(periods))
    level = rng.normal(np.log(5_000), 0.4, n)
    rows = []
    for i, u in enumerate(ids):
        post_treated = after[u] in treated
        for m, p in enumerate(periods):
            eff = effect if (post_treated and p >= pd.Period("2025-07", "M")) else 0.0
            trend = treated_growth * (m / 12.0) if after[u] in treated else 0.0
            y = level[i] + shock[m] + eff + trend + rng.normal(0, 0.03)
            rows.append((u, p, float(np.exp(y))))
    hist = pd.DataFrame(rows, columns=["unit_id", "period", "sales"])
    hist["period"] = hist["period"].astype(pd.PeriodDtype("M"))
    return Study(
        units,
        history=hist,
        alignments={
            "before": Alignment.from_mapping(before, name="before"),
            "after": Alignment.from_mapping(after, name="after"),
        },
    )


@pytest.fixture(scope="module")
def sim():
    """:func:`simulate_impact_study` with EFFECT = 0.12 (+12.7 % sales)."""
    return simulate_impact_study()


def test_treated_and_controls(sim):
    t = treated_territories(sim.alignments["before"], sim.alignments["after"])
    assert sorted(t.index[t]) == ["T00", "T01", "T02", "T03", "T04", "T05"]
    assert int((~t).sum()) == 14


def test_effect_from_known_posterior(sim, monkeypatch, fake_run):
    def fake(model, cfg=None, seed=0, *, var_names=None):
        return fake_run(
            model, {"effect": 0.1, "sigma": 0.03}, spread=0.02, seed=seed, draws=500
        )

    monkeypatch.setattr(impact_mod, "sample", fake)
    res = impact(sim, "before", "after", change_date="2025-07")
    assert isinstance(res, ImpactResult)
    assert res.effect_mean == pytest.approx(0.1, abs=0.005)
    assert res.effect_lo < 0.1 < res.effect_hi
    assert res.lift_mean == pytest.approx(np.expm1(0.1), abs=0.006)
    assert res.p_positive == 1.0
    assert res.treated == ("T00", "T01", "T02", "T03", "T04", "T05")
    assert len(res.controls) == 14
    assert res.window == ("2024-01", "2025-12")
    assert res.panel.shape == (20, 24)
    # simulated trends are parallel before the change
    assert abs(res.pre_trend_gap) < 0.01
    f = res.to_frame()
    assert list(f.index) == ["log_effect", "lift"]
    text = res.summary()
    assert text.splitlines()[0] == (
        "Realignment impact at 2025-07 (2024-01..2025-12): 6 treated vs 14 "
        "control territories"
    )
    assert "P(lift > 0) = 1.00" in text


@pytest.mark.filterwarnings("ignore::terrakit.exceptions.ConvergenceWarning")
def test_panel_follows_the_after_territories(sim, monkeypatch, fake_run):
    monkeypatch.setattr(
        impact_mod,
        "sample",
        lambda m, c=None, seed=0, var_names=None: fake_run(
            m, {"effect": 0.0}, spread=0.01
        ),
    )
    res = impact(sim, "before", "after", "2025-07", window=("2025-01", "2025-12"))
    h = sim.history
    after = sim.alignments["after"]
    sel = h["unit_id"].isin(after.units_of("T00")) & (h["period"] == "2025-03")
    assert res.panel.loc["T00", pd.Period("2025-03", "M")] == pytest.approx(
        h.loc[sel, "sales"].sum()
    )
    assert res.panel.shape == (20, 12)


def test_bad_inputs(sim):
    with pytest.raises(SpecificationError, match="6 months before and 0 after"):
        impact(sim, "before", "after", "2026-01", window=("2025-07", "2025-12"))
    with pytest.raises(SpecificationError, match="0 territories changed"):
        impact(sim, "before", "before", "2025-07")
    moved_all = sim.alignments["before"].replace(
        {f"u{i}": f"X{i}" for i in range(40)}, name="all"
    )
    with pytest.raises(
        SpecificationError, match="40 territories changed their units and 0 kept them"
    ):
        impact(sim.with_alignment(moved_all), "before", "all", "2025-07")
    with pytest.raises(DataValidationError, match="is not a month"):
        impact(sim, "before", "after", "next spring")
    with pytest.raises(DataValidationError, match="months of the analysis window"):
        impact(sim, "before", "after", "2025-07", window=("2023-01", "2025-12"))
    with pytest.raises(SpecificationError, match="interval must be in"):
        impact(sim, "before", "after", "2025-07", interval=1.5)


@pytest.mark.parametrize(
    ("change", "window", "message"),
    [
        ("2024-02", None, "change_date 2024-02 leaves 1 months before and 23 after"),
        ("2025-12", None, "leaves 23 months before and 1 after it in the window"),
        (
            "2025-07",
            ("2025-06", "2025-07"),
            "needs at least 2 months on each side .* Fix: use a window of at "
            "least 4 months",
        ),
    ],
)
def test_too_few_months_around_the_change_are_explained(sim, change, window, message):
    with pytest.raises(SpecificationError, match=message):
        impact(sim, "before", "after", change, window=window)
    with pytest.raises(SpecificationError, match="choose a change_date from 2024-03 "):
        impact(sim, "before", "after", "2024-02")


def test_bad_dates_and_settings_are_refused_before_sampling(sim, monkeypatch):
    def no_sampling(*args, **kw):
        raise AssertionError("sampled although the input was bad")

    monkeypatch.setattr(impact_mod, "sample", no_sampling)
    with pytest.raises(DataValidationError, match="change_date None is not a month"):
        impact(sim, "before", "after", None)
    with pytest.raises(SpecificationError, match=r"window ends \(2025-01\) before"):
        impact(sim, "before", "after", "2025-07", window=("2025-12", "2025-01"))
    with pytest.raises(SpecificationError, match="window must be a pair"):
        impact(sim, "before", "after", "2025-07", window="2025")
    with pytest.raises(SpecificationError, match="seed must be a non-negative int"):
        impact(sim, "before", "after", "2025-07", seed=-1)


@pytest.mark.filterwarnings("ignore::terrakit.exceptions.ConvergenceWarning")
def test_numeric_ids_in_one_alignment_do_not_make_every_territory_treated(
    monkeypatch, fake_run
):
    st = simulate_impact_study()
    num = {f"u{i}": str(i) for i in range(40)}
    h = st.history
    study = Study(
        st.units.rename(index=num),
        history=h.assign(unit_id=h["unit_id"].map(num)),
        alignments={
            "after": Alignment(
                st.alignments["after"].assignment.rename(index=num), name="after"
            )
        },
    )
    before = Alignment(
        st.alignments["before"].assignment.rename(index=lambda u: int(u[1:])),
        name="before",
    )
    monkeypatch.setattr(
        impact_mod,
        "sample",
        lambda m, c=None, seed=0, var_names=None: fake_run(
            m, {"effect": 0.1}, spread=0.01
        ),
    )
    res = impact(study, before, "after", "2025-07")
    assert res.treated == ("T00", "T01", "T02", "T03", "T04", "T05")


@pytest.mark.slow
@pytest.mark.mcmc
def test_recovers_simulated_effect(sim):
    res = impact(
        sim, "before", "after", "2025-07", sampler_config={"progressbar": False}, seed=1
    )
    assert res.effect_lo <= EFFECT <= res.effect_hi
    assert res.effect_hi - res.effect_lo < 0.05
    assert res.p_positive > 0.99
    assert res.diagnostics.ok


@pytest.mark.slow
@pytest.mark.mcmc
def test_no_effect_gives_interval_around_zero():
    st = simulate_impact_study(effect=0.0, seed=3)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = impact(
            st,
            "before",
            "after",
            "2025-07",
            sampler_config={"progressbar": False},
            seed=1,
        )
    assert not [w for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert res.effect_lo <= 0.0 <= res.effect_hi


@pytest.mark.mcmc
@pytest.mark.filterwarnings("ignore::terrakit.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("effect", [0.0, EFFECT])
def test_territory_trends_are_not_taken_for_an_effect(effect):
    """Regression: territories grow at different rates, and the model with
    iid noise around common month effects took the treated territories'
    faster growth (8 % a year against none) for a sales lift, with an
    interval that excluded 0 on a placebo.  Territory trends (and a
    territory-level post-period deviation) keep the interval honest: it
    covers the true effect, 0 or not."""
    st = simulate_impact_study(effect=effect, seed=5, treated_growth=0.08)
    res = impact(
        st,
        "before",
        "after",
        "2025-07",
        sampler_config={"draws": 300, "tune": 300, "progressbar": False},
        seed=0,
    )
    assert res.effect_lo <= effect <= res.effect_hi
    assert res.effect_hi - res.effect_lo < 0.15

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
    with pytest.raises(SpecificationError, match="change_date='next spring' is not"):
        impact(sim, "before", "after", "next spring")
    with pytest.raises(
        DataValidationError,
        match=r"history.period: 12 months of the window 2023-01..2025-12 lie outside "
        r"the history \(history covers 2024-01..2025-12\) \(rows: '2023-01', .*"
        "Fix: choose a window inside the history",
    ):
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
    with pytest.raises(SpecificationError, match="change_date=None is not a month"):
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


def _renamed(st: Study, names: dict[str, str]) -> Study:
    """``st`` whose 'after' alignment renames territories (same units)."""
    after = st.alignments["after"].assignment.replace(names)
    return st.with_alignment(Alignment(after, name="after"))


def test_a_renamed_territory_is_a_control(sim):
    """Regression: a territory that was only renamed (the same units under a
    new id) counted as treated and pulled the estimate towards 0."""
    st = _renamed(
        sim, {"T10": "North-10", "T11": "North-11", "T12": "T13", "T13": "T12"}
    )
    t = treated_territories(st.alignments["before"], st.alignments["after"])
    assert sorted(t.index[t]) == ["T00", "T01", "T02", "T03", "T04", "T05"]
    assert not t["North-10"] and not t["North-11"] and not t["T12"]
    assert t.attrs["renamed"] == {
        "T10": "North-10",
        "T11": "North-11",
        "T12": "T13",
        "T13": "T12",
    }
    # a territory that changed its units and its id is treated
    st2 = _renamed(sim, {"T00": "South-0"})
    t2 = treated_territories(st2.alignments["before"], st2.alignments["after"])
    assert bool(t2["South-0"]) and t2.attrs["renamed"] == {}


def test_impact_reports_the_renamed_controls(sim, monkeypatch, fake_run):
    monkeypatch.setattr(
        impact_mod,
        "sample",
        lambda m, c=None, seed=0, var_names=None: fake_run(
            m, {"effect": 0.1}, spread=0.01
        ),
    )
    st = _renamed(sim, {"T10": "North-10", "T11": "North-11"})
    res = impact(st, "before", "after", "2025-07")
    assert res.treated == ("T00", "T01", "T02", "T03", "T04", "T05")
    assert len(res.controls) == 14 and "North-10" in res.controls
    assert res.renamed == {"T10": "North-10", "T11": "North-11"}
    assert res.provenance["renamed"] == [["T10", "North-10"], ["T11", "North-11"]]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"change_date": "1/7/2025"},
            "change_date='1/7/2025' can be read day-first (2025-07) or month-first "
            "(2025-01). Fix: write the month as 'YYYY-MM': '2025-07' or '2025-01'",
        ),
        (
            {"change_date": "July"},
            "change_date='July' has no year. Fix: write the month as 'YYYY-MM', "
            "e.g. '2025-07' for July 2025",
        ),
        (
            {"change_date": "2025"},
            "change_date='2025' is a year, not a month. Fix: write the month as "
            "'YYYY-MM', e.g. '2025-01' for January 2025",
        ),
        (
            {"change_date": "2025Q3"},
            "change_date='2025Q3' is a quarter, not a month. Fix: write the month "
            "as 'YYYY-MM', e.g. '2025-07' for the first month of 2025Q3",
        ),
        (
            {"change_date": "2025-07", "window": ("2024", "2025-12")},
            "window=('2024', '2025-12'): its start '2024' is a year, not a month. "
            "Fix: write the month as 'YYYY-MM', e.g. '2024-01' for January 2024",
        ),
        (
            {"change_date": "2025-07", "window": ("2024-01", "12/1/2025")},
            "window=('2024-01', '12/1/2025'): its end '12/1/2025' can be read "
            "day-first (2025-01) or month-first (2025-12)",
        ),
        (
            {"change_date": 2025.10},
            "change_date=2025.1 is a number, not a month: 2025.10 and 2025.1 are "
            "the same number, so the month cannot be told. Fix: write the month "
            "as the text 'YYYY-MM': '2025-01' or '2025-10'",
        ),
        (
            {"change_date": np.float64(2025.07)},
            f"change_date={np.float64(2025.07)!r} is a number, not a month. "
            "Fix: write the month as the text 'YYYY-MM': '2025-07'",
        ),
        (
            {"change_date": "2025-07", "window": (2024.01, 2025.12)},
            "window=(2024.01, 2025.12): its start 2024.01 is a number, not a "
            "month. Fix: write the month as the text 'YYYY-MM': '2024-01'",
        ),
    ],
)
def test_months_are_read_like_the_history_and_the_argument_is_named(
    sim, monkeypatch, kw, message
):
    """Regression: '1/7/2025' was read as January, 'July' as July of year 1
    and '2025' as January 2025, silently; so was the number 2025.10 (a month
    kept as a number YYYY.MM in a spreadsheet: it is 2025.1)."""

    def no_sampling(*args, **kw):
        raise AssertionError("sampled although the month was bad")

    monkeypatch.setattr(impact_mod, "sample", no_sampling)
    with pytest.raises(SpecificationError) as err:
        impact(sim, "before", "after", **kw)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        (
            ["2024-06"],
            "history.period: the history has a gap: 1 month between 2024-01 and "
            "2025-12 has no rows at all (rows: '2024-06'). Fix: add the sales of "
            "that month to the history (0 where a unit sold nothing), or choose a "
            "window=(first, last) that avoids it",
        ),
        (
            ["2024-06", "2024-09"],
            "history.period: the history has a gap: 2 months between 2024-01 and "
            "2025-12 have no rows at all (rows: '2024-06', '2024-09'). Fix: add the "
            "sales of those months to the history (0 where a unit sold nothing), or "
            "choose a window=(first, last) that avoids them",
        ),
    ],
)
def test_a_gap_in_the_history_is_called_a_gap(sim, drop, message):
    """Regression: a month missing inside the history was reported as months
    'of the analysis window' with the fix 'choose a window inside the
    history', although no window was given."""
    h = sim.history
    st = sim.replace(history=h[~h["period"].astype(str).isin(drop)])
    with pytest.raises(DataValidationError) as err:
        impact(st, "before", "after", "2025-07")
    assert str(err.value) == message
    # a window that avoids the gap works
    assert impact_mod.territory_panel(
        impact_mod.unit_history(st),
        st.alignments["after"].assignment,
        pd.period_range("2024-10", "2025-12", freq="M"),
    ).shape == (20, 15)


def test_territory_ids_of_different_types_are_explained(sim):
    """Regression: with int territory ids in one alignment and str ids in the
    other, every territory looked changed."""
    num = {f"T{k:02d}": k for k in range(20)}
    before = Alignment(sim.alignments["before"].assignment.map(num), name="before")
    after = Alignment(
        sim.alignments["after"].assignment.map(num).astype(str), name="after"
    )
    message = (
        "alignment.territory_id: no territory id of 'after' is a territory id of "
        "'before', but 20 are equal as text (e.g. '0' (str) in 'after' and 0 (int) "
        "in 'before'): territory ids keep their type: '1' is not 1 (rows: '0', "
        "'1', '10', '11', '12' and 15 more). Fix: give both alignments territory "
        "ids of one type, e.g. Alignment(al.assignment.astype(str), name=al.name)"
    )
    with pytest.raises(DataValidationError) as err:
        treated_territories(before, after)
    assert str(err.value) == message
    st = sim.with_alignment(before).with_alignment(after)
    with pytest.raises(DataValidationError, match="'1' is not 1"):
        impact(st, "before", "after", "2025-07")
    # ids of one type: fine
    t = treated_territories(before, Alignment(after.assignment.astype(int)))
    assert int(t.sum()) == 6

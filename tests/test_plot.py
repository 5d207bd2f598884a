"""Static figures: each returns an Axes, draws on a given one, counts add up."""

from __future__ import annotations

import itertools

import geopandas as gpd
import matplotlib.pyplot as plt
import pytest

from terrakit.data.alignment import Alignment
from terrakit.plot import balance_chart, territory_map


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_territory_map_colours_legend_and_reps(toy_grid_3x3):
    ax = territory_map(toy_grid_3x3, "current", labels=True)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["R1", "R2"]
    colours = {tuple(h.get_facecolor()) for h in legend.legend_handles}
    assert len(colours) == 2
    texts = {t.get_text() for t in ax.texts}
    assert {"R1", "R2"} <= texts  # territory labels and rep labels
    stars = [c for c in ax.collections if c.get_label() == "rep home"]
    assert len(stars) == 1 and len(stars[0].get_offsets()) == 2
    # rep homes are drawn in the units' CRS (UTM): inside the grid
    x, y = stars[0].get_offsets().T
    assert (500_000 < x).all() and (x < 530_000).all()
    assert (3_700_000 < y).all() and (y < 3_730_000).all()


def test_territory_map_accepts_ax_and_plain_tables(toy_grid_3x3):
    _, (ax1, ax2) = plt.subplots(1, 2)
    units = toy_grid_3x3.units
    al = toy_grid_3x3.alignments["current"]
    out = territory_map(units, al, ax=ax1, reps=False)
    assert out is ax1
    assert not [c for c in ax1.collections if c.get_label() == "rep home"]
    pts = gpd.GeoDataFrame(geometry=units.centroid, index=units.index, crs=units.crs)
    three = Alignment.from_mapping({u: f"T{i % 3}" for i, u in enumerate(units.index)})
    out2 = territory_map(pts, three, ax=ax2, reps=toy_grid_3x3.reps, labels=True)
    assert out2 is ax2 and len(ax2.get_legend().get_texts()) == 3


def test_balance_chart_bars_band_and_highlight(toy_grid_3x3):
    ax = balance_chart(toy_grid_3x3, "current", tolerance=0.05)
    bars = ax.containers[0]
    assert len(bars) == 2
    assert len(ax.patches) == 3  # two bars + the shaded band
    heights = [b.get_height() for b in bars]
    assert heights == pytest.approx([100 * 190 / 225, 100 * 260 / 225])
    # both bars are outside ±5 %: highlighted in the "outside" colour
    assert bars[0].get_facecolor() == bars[1].get_facecolor()
    assert "2 of 2 territories outside ±5 %" in ax.get_title()
    assert len(ax.get_legend().get_texts()) == 3


def test_balance_chart_tolerance_and_targets(toy_grid_3x3):
    _, ax = plt.subplots()
    out = balance_chart(toy_grid_3x3, "current", tolerance=0.2, ax=ax)
    assert out is ax
    assert "0 of 2 territories outside ±20 %" in ax.get_title()
    ax2 = balance_chart(toy_grid_3x3, "current", targets={"R1": 19, "R2": 26})
    assert [b.get_height() for b in ax2.containers[0]] == pytest.approx([100, 100])
    assert ax2.get_ylabel() == "workload, % of target"
    with pytest.raises(ValueError, match="tolerance must be a fraction"):
        balance_chart(toy_grid_3x3, "current", tolerance=5)


def test_balance_chart_highlights_only_bars_outside_the_band(toy_grid_3x3):
    units = toy_grid_3x3.units
    groups = {
        "A": ("u1", "u2", "u8"),
        "B": ("u3", "u9"),
        "C": ("u4", "u7"),
        "D": ("u5", "u6"),
    }
    al = Alignment.from_mapping({u: t for t, us in groups.items() for u in us})
    # totals 110, 120, 110, 110 → mean 112.5: only B (+6.7 %) is outside ±5 %
    ax = balance_chart(units, al, measure="workload", tolerance=0.05)
    cols = [tuple(b.get_facecolor()) for b in ax.containers[0]]
    assert cols[0] == cols[2] == cols[3] != cols[1]
    assert "1 of 4 territories outside ±5 %" in ax.get_title()


@pytest.mark.parametrize("value", [0.0, float("inf")])
def test_balance_chart_refuses_a_measure_that_totals_zero(toy_grid_3x3, value):
    """A measure of 0 (a potential column not filled yet) or inf drew NaN bars
    under the title '0 of 2 territories outside ±5 %'."""
    from terrakit.exceptions import SpecificationError

    units = toy_grid_3x3.units.assign(potential=value)
    al = toy_grid_3x3.alignments["current"]
    with pytest.raises(
        SpecificationError,
        match=r"measure 'potential' totals (0|inf) over the 2 territories of "
        r"'current'.*fill the units' 'potential' column",
    ):
        balance_chart(units, al, measure="potential")


def test_bad_settings_are_refused_before_a_figure_is_made(toy_grid_3x3):
    """A reps table without homes (or reps="R1") drew no homes without a word;
    tolerance="5" was a TypeError; a wrong pareto frame a KeyError after the
    figure was opened."""
    import pandas as pd

    from terrakit.exceptions import DataValidationError
    from terrakit.plot import plot_pareto

    plt.close("all")
    with pytest.raises(
        DataValidationError,
        match=r"the reps table to mark has no \['home_lat', 'home_lon'\] column",
    ):
        territory_map(toy_grid_3x3, "current", reps=pd.DataFrame({"x": [1]}))
    with pytest.raises(
        DataValidationError, match="reps must be True, False or a table"
    ):
        territory_map(toy_grid_3x3, "current", reps="R1")
    with pytest.raises(ValueError, match="tolerance must be a fraction in"):
        balance_chart(toy_grid_3x3, "current", tolerance="5")
    with pytest.raises(ValueError, match=r"it lacks \['objective', 'status'\]"):
        plot_pareto(pd.DataFrame({"value": [0.05]}))
    assert plt.get_fignums() == []


def _label_overlaps(ax):
    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in ax.get_xticklabels() if t.get_text()]
    return sum(a.overlaps(b) for a, b in itertools.pairwise(boxes))


@pytest.mark.parametrize("n, long", [(6, True), (60, False)])
def test_balance_chart_labels_never_overlap(toy_grid_3x3, n, long):
    """Long names (or many territories) overlapped: the rotation was decided
    by the number of territories, not by the labels' measured width."""
    import pandas as pd

    units = toy_grid_3x3.units
    # 60 territories need 60 units: repeat the grid's units
    idx = pd.Index([f"u{i}" for i in range(max(n, len(units)))])
    geo = gpd.GeoDataFrame(
        {"workload": range(1, len(idx) + 1)},
        geometry=[units.geometry.iloc[i % len(units)] for i in range(len(idx))],
        index=idx,
        crs=units.crs,
    )
    name = "Atlanta Metro North & Upstate Key Accounts {}" if long else "T{:02d}"
    al = Alignment(pd.Series([name.format(i % n) for i in range(len(idx))], index=idx))
    ax = balance_chart(geo, al, "workload")
    assert _label_overlaps(ax) == 0
    _, ax2 = plt.subplots(figsize=(8, 3.6))
    balance_chart(geo, al, "workload", ax=ax2)
    assert _label_overlaps(ax2) == 0
    # every territory is still named (wrapped or rotated, never cut)
    shown = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    assert shown[0] == name.format(0)


def test_user_text_with_dollars_is_not_mathtext(toy_grid_3x3):
    """'$' in names was parsed as mathtext: dollars vanished or drawing failed."""
    import pandas as pd

    units = toy_grid_3x3.units.index
    al = Alignment(
        pd.Series(["East_$1M"] * 4 + ["West_$2M"] * (len(units) - 4), index=units),
        name="Tier >$1M",
    )
    for ax in (
        territory_map(toy_grid_3x3, al, labels=True, reps=False),
        balance_chart(toy_grid_3x3, al),
    ):
        ax.figure.canvas.draw()  # used to raise ValueError (ParseException)
        texts = [ax.get_title()] + [t.get_text() for t in ax.get_xticklabels()]
        legend = ax.get_legend()
        texts += [t.get_text() for t in legend.get_texts()] if legend else []
        texts += [t.get_text() for t in ax.texts]
        for t in texts:
            if "$" in t:
                assert not t.replace("\\$", "").count("$"), t
        assert any("Tier >\\$1M" in t for t in texts)


def test_diff_map_explains_territory_ids_of_different_types(toy_grid_3x3):
    """Regression: int territory ids in one alignment and str ids in the other
    made every unit look moved ('after: 9 units moved')."""
    from terrakit.exceptions import DataValidationError
    from terrakit.plot.compare import diff_map

    cur = toy_grid_3x3.alignments["current"].assignment
    as_int = Alignment(cur.map({"R1": 1, "R2": 2}), name="ints")
    as_str = Alignment(cur.map({"R1": "1", "R2": "2"}), name="texts")
    with pytest.raises(DataValidationError) as err:
        diff_map(toy_grid_3x3, as_int, as_str)
    assert str(err.value) == (
        "alignment.territory_id: no territory id of 'texts' is a territory id of "
        "'ints', but 2 are equal as text (e.g. '1' (str) in 'texts' and 1 (int) "
        "in 'ints'): territory ids keep their type: '1' is not 1 (rows: '1', '2'). "
        "Fix: give both alignments territory ids of one type, e.g. "
        "Alignment(al.assignment.astype(str), name=al.name)"
    )
    back = Alignment(as_str.assignment.astype(int), name="back")
    assert diff_map(toy_grid_3x3, as_int, back).get_title() == "back: 0 units moved"


def test_audit_percentiles_have_correct_ordinals():
    """plot.audit wrote "1th", "2th", "3th", "82th", "93th"."""
    import numpy as np
    import pandas as pd

    from terrakit.design.audit import AuditReport
    from terrakit.plot.audit import audit as plot_audit

    q = [0.01, 0.02, 0.03, 0.04, 0.11, 0.12, 0.13, 0.21, 0.22, 0.23, 0.82, 0.93]
    names = [f"m{i}" for i in range(len(q))]
    metrics = pd.DataFrame(
        {"plan": 0.5, "percentile": q, "outlier": False}, index=names
    )
    dist = pd.DataFrame({n: np.linspace(0, 1, 11) for n in names})
    report = AuditReport("plan", metrics, pd.DataFrame(), dist, n_plans=11)
    ax = plot_audit(report)
    assert [t.get_text() for t in ax.texts] == [
        "1st pct",
        "2nd pct",
        "3rd pct",
        "4th pct",
        "11th pct",
        "12th pct",
        "13th pct",
        "21st pct",
        "22nd pct",
        "23rd pct",
        "82nd pct",
        "93rd pct",
    ]


def test_territory_map_colours_follow_the_territory_id(toy_grid_3x3):
    """Colours followed each alignment's sorted position: with R1 dissolved
    into R2, R2 took R1's colour in the "after" panel."""
    from matplotlib.colors import to_rgba

    from terrakit.widgets._display import territory_colors

    def legend_colours(ax):
        lg = ax.get_legend()
        return {
            t.get_text(): tuple(h.get_facecolor())
            for t, h in zip(lg.get_texts(), lg.legend_handles, strict=True)
        }

    s = toy_grid_3x3
    cur = s.alignments["current"]
    after = cur.replace({u: "R2" for u in s.units.index})
    _, (a, b) = plt.subplots(1, 2)
    before = legend_colours(territory_map(s, cur, ax=a))
    now = legend_colours(territory_map(s, after, ax=b))
    assert list(now) == ["R2"] and now["R2"] == before["R2"]
    palette = territory_colors(["R1", "R2"])  # the interactive map's palette
    assert before == {t: to_rgba(c) for t, c in palette.items()}
    ax = territory_map(s, after, colors={"R2": "black", "Rx": "red"})
    assert legend_colours(ax) == {"R2": (0.0, 0.0, 0.0, 1.0)}
    with pytest.raises(
        ValueError, match=r"colors\['R2'\] = 'nope' is not a matplotlib"
    ):
        territory_map(s, after, colors={"R2": "nope"})


def test_routes_others_include_accounts_without_a_visit_this_cycle():
    """plot.routes(others=True) drew the grey 'other accounts' from visit rows
    only, so accounts not due this cycle vanished (18 of the 22 expected dots
    on W1-Mon).  They now come from the plan's schedule, which carries every
    account's lon/lat; a schedule without them (built by hand) is completed
    from the study, and without the study a warning names the missing."""
    import dataclasses
    import sys
    import warnings
    from pathlib import Path

    import numpy as np
    from numpy.testing import assert_allclose

    from terrakit.exceptions import TerrakitWarning
    from terrakit.plot.routes import routes
    from terrakit.routing import plan_calls

    sys.path.insert(0, str(Path(__file__).parent / "routing"))
    from toy_studies import make_study

    study = make_study(24, windows=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = plan_calls(study, "current", "R01", weeks=2, time_limit=5.0, seed=0)
    idle = plan.schedule.index[plan.schedule["visits"] == 0].tolist()
    assert idle == ["A008", "A011", "A017", "A020"]
    day = plan.days[0]
    r = plan.routes
    on_day = set(r.loc[(r["day"] == day) & (r["kind"] == "visit"), "account_id"])

    def grey(ax):  # type: ignore[no-untyped-def]
        (dots,) = [c for c in ax.collections if c.get_label() == "other accounts"]
        return np.asarray(dots.get_offsets())

    dots = grey(routes(plan, study, day=day))
    assert len(dots) == len(plan.schedule) - len(on_day) == 22
    want = study.accounts.loc[idle, ["lon", "lat"]].to_numpy(dtype=float)
    assert all(np.isclose(dots, p).all(axis=1).any() for p in want)
    assert len(grey(routes(plan, study))) == 4  # every day: only the idle ones
    # the schedule carries every account's place, so the study is not needed
    # (without it the idle accounts were left out with a warning)
    assert_allclose(
        plan.schedule[["lon", "lat"]].to_numpy(dtype=float),
        study.accounts.loc[plan.schedule.index, ["lon", "lat"]].to_numpy(dtype=float),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dots = grey(routes(plan, day=day))
    assert len(dots) == 22
    assert all(np.isclose(dots, p).all(axis=1).any() for p in want)
    # a schedule built by hand without lon/lat: the accounts no route reaches
    # cannot be placed without the study, and a warning names them
    bare = dataclasses.replace(
        plan, schedule=plan.schedule.drop(columns=["lon", "lat"])
    )
    assert len(grey(routes(bare, study, day=day))) == 22
    with pytest.warns(TerrakitWarning) as rec:
        dots = grey(routes(bare, day=day))
    assert len(dots) == 18
    assert str(rec[0].message) == (
        "4 of the territory's 24 accounts are not drawn: no route of the plan "
        "reaches them and their places are unknown (A008, A011, A017, A020); "
        "fix: pass the study (routes(plan, study, ...)) to draw every account"
    )


def _forecast_with_gaps():
    """TerritoryForecast of T1 (u1, u2) and T2 (u3) over five months: no row
    of either T1 unit in 2025-02, none of u1 in 2025-04 (u1 sells 10, u2 20)."""
    import numpy as np
    import pandas as pd
    import xarray as xr

    from terrakit.forecast import SalesForecast

    nan = np.nan
    y = [[10.0, nan, 10.0, nan, 10.0], [20.0, nan, 20.0, 20.0, 20.0], [5.0] * 5]
    series = ["u1", "u2", "u3"]
    draws = xr.DataArray(
        np.random.default_rng(0).gamma(5.0, 6.0, (50, 3, 2)),
        dims=("draw", "series", "period"),
        coords={
            "draw": np.arange(50),
            "series": series,
            "period": pd.period_range("2025-06", periods=2, freq="M"),
        },
    )
    history = xr.DataArray(
        np.array(y),
        dims=("series", "period"),
        coords={
            "series": series,
            "period": pd.period_range("2025-01", periods=5, freq="M"),
        },
    )
    f = SalesForecast(draws, history, pd.Series(series, index=series))
    al = Alignment.from_mapping({"u1": "T1", "u2": "T1", "u3": "T2"}, name="now")
    return f, f.by(al)


def test_forecast_breaks_the_history_line_at_unobserved_months():
    """Months without any history row of the territory were drawn as 0 sales
    (6054, 0, 0, 0, 4712 for a three-month CRM outage); the line now breaks
    there, and a month with only some series observed is marked."""
    import numpy as np

    from terrakit.plot import forecast

    _, tf = _forecast_with_gaps()
    ax = forecast(tf, "T1", history_periods=None)
    (hist,) = [ln for ln in ax.lines if ln.get_label() == "history"]
    np.testing.assert_array_equal(hist.get_ydata(), [30.0, np.nan, 30.0, 20.0, 30.0])
    (part,) = [ln for ln in ax.lines if ln.get_label().startswith("partly")]
    assert part.get_label() == "partly observed (1 period)"
    assert list(part.get_ydata()) == [20.0]
    assert str(part.get_xdata()[0])[:7] == "2025-04"
    ax2 = forecast(tf, "T2", history_periods=None)  # fully observed: no mark
    assert not [ln for ln in ax2.lines if ln.get_label().startswith("partly")]


@pytest.mark.parametrize("bad", [2.5, "3", True, -1, float("nan")])
def test_forecast_refuses_history_periods_before_a_figure(bad):
    """2.5 drew 2 periods, "3" was a bare TypeError, and every refused call
    left a figure open."""
    from terrakit.plot import forecast

    _, tf = _forecast_with_gaps()
    plt.close("all")
    with pytest.raises(
        ValueError,
        match=r"history_periods must be a whole number of periods ≥ 0 or None "
        r"\(all\), got ",
    ):
        forecast(tf, "T1", history_periods=bad)
    assert plt.get_fignums() == []
    ax = forecast(tf, "T1", history_periods=3.0)  # a whole number as a float
    assert len(ax.lines[0].get_xdata()) == 3


def test_related_objects_get_a_type_error_naming_the_fix():
    """The neighbour of the expected object crashed inside terrakit with a
    bare AttributeError or KeyError, after a figure was opened."""
    import sys
    import warnings
    from pathlib import Path

    import pandas as pd

    from terrakit import plot
    from terrakit.routing import TerritoryPlans, plan_calls

    sys.path.insert(0, str(Path(__file__).parent / "routing"))
    from toy_studies import make_study

    study = make_study(6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = plan_calls(study, "current", "R01", weeks=1, time_limit=1.0, seed=0)
    f, _ = _forecast_with_gaps()
    frame = pd.DataFrame({"x": [1.0]})
    plt.close("all")
    cases = [
        (
            lambda: plot.routes(TerritoryPlans({"R01": plan}, 1, 48.0), study),
            "tk.plot.routes takes one territory's CallPlan (tk.routing.plan_calls), "
            "got TerritoryPlans; it holds the plans of 1 territory ('R01'); draw "
            "one of them: pass plans.plans['R01']",
        ),
        (
            lambda: plot.forecast(f, "u1"),
            "tk.plot.forecast takes a TerritoryForecast, got SalesForecast; this "
            "forecast is per unit: sum it by territory first, e.g. tk.plot."
            "forecast(f.by(study.alignments['current']), territory)",
        ),
        (
            lambda: plot.headcount_curve(frame),
            "tk.plot.headcount_curve takes a HeadcountCurve (tk.sizing."
            "headcount_curve), got DataFrame; pass the HeadcountCurve itself, not "
            "its to_frame() table",
        ),
        (
            lambda: plot.audit(None),
            "tk.plot.audit takes an AuditReport (tk.design.audit), got None; make "
            "one with tk.design.audit(plan, ensemble)",
        ),
        (
            lambda: plot.disruption_front(frame),
            "tk.plot.disruption_front takes a DisruptionFront (tk.realign."
            "disruption_front), got DataFrame; pass the DisruptionFront itself, "
            "not its table",
        ),
        (
            lambda: plot.whitespace(frame),
            "tk.plot.whitespace takes a PotentialResult (tk.potential."
            "PotentialModel().fit), got DataFrame; pass the PotentialResult "
            "itself, not its to_frame() table",
        ),
        (
            lambda: plot.potential_map(study, study),
            "tk.plot.potential_map takes a PotentialResult (tk.potential."
            "PotentialModel().fit), got Study; pass the fit first: "
            "tk.plot.potential_map(result, ...)",
        ),
    ]
    for call, message in cases:
        with pytest.raises(TypeError) as err:
            call()
        assert str(err.value) == message
    assert plt.get_fignums() == []
    with pytest.raises(KeyError, match="no day 'W9-Mon'"):
        plot.routes(plan, day="W9-Mon")
    assert plt.get_fignums() == []


def _whisker_ends(ax, pos, horizontal):
    """(low, high) ends of the whiskers of the box at ``pos``."""
    import numpy as np

    ends = []
    for ln in ax.lines:
        x, y = np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)
        along, across = (x, y) if horizontal else (y, x)
        if len(x) == 2 and np.allclose(across, pos) and along[0] != along[1]:
            ends += list(along)
    return min(ends), max(ends)


def test_audit_whiskers_end_at_the_reports_95_percent_bounds():
    """whis=(2.5, 97.5) ended each whisker at the last member inside the
    percentile, short of the report's p2_5 / p97_5: a plan between them was
    drawn outside the whisker but not flagged as an outlier."""
    import numpy as np
    import pandas as pd

    from terrakit.design.audit import AuditReport
    from terrakit.plot.audit import audit as plot_audit

    rng = np.random.default_rng(0)
    dist = pd.DataFrame({"a": rng.gamma(2.0, 1.0, 40), "b": rng.normal(0, 1, 40)})
    plan = {"a": 3.0, "b": -2.5}
    rows = {}
    for c in dist:
        lo, mid, hi = np.quantile(dist[c], [0.025, 0.5, 0.975])
        rows[c] = {"plan": plan[c], "p2_5": lo, "p50": mid, "p97_5": hi}
    metrics = pd.DataFrame.from_dict(rows, orient="index")
    metrics["percentile"], metrics["outlier"] = 0.5, False
    ordered = np.sort(rng.gamma(3.0, 10.0, (40, 3)), axis=1)
    reps = pd.DataFrame(
        {
            "measure": "workload",
            "territory_id": ["A", "B", "C"],
            "value": [10.0, 30.0, 50.0],
            "rank": [1, 2, 3],
            "p2_5": np.quantile(ordered, 0.025, axis=0),
            "p50": np.quantile(ordered, 0.5, axis=0),
            "p97_5": np.quantile(ordered, 0.975, axis=0),
            "percentile": 0.5,
            "outlier": False,
        }
    )
    report = AuditReport("plan", metrics, reps, dist, {"workload": ordered}, n_plans=40)
    ax = plot_audit(report)
    for name, pos in zip(["a", "b"], [1, 0], strict=True):
        v = dist[name].to_numpy()
        lo, hi = min(v.min(), plan[name]), max(v.max(), plan[name])
        got = np.array(_whisker_ends(ax, pos, horizontal=True)) * (hi - lo) + lo
        want = metrics.loc[name, ["p2_5", "p97_5"]].to_numpy(float)
        np.testing.assert_allclose(got, want)
        # the last member inside (what was drawn) differs from the quantile
        assert v[v <= want[1]].max() < want[1]
    ax = plot_audit(report, measure="workload")
    for rank in (1, 2, 3):
        row = reps.loc[rank - 1]
        np.testing.assert_allclose(
            _whisker_ends(ax, rank, horizontal=False), [row["p2_5"], row["p97_5"]]
        )


def test_diff_map_names_before_and_after_when_the_names_are_equal(toy_grid_3x3):
    """Two from_mapping alignments (both named 'alignment'): the message said
    'no territory id of 'alignment' is a territory id of 'alignment''."""
    from terrakit.exceptions import DataValidationError
    from terrakit.plot.compare import diff_map

    cur = toy_grid_3x3.alignments["current"].assignment
    before = cur.map({"R1": 1, "R2": 2}).to_dict()
    after = cur.map({"R1": "1", "R2": "2"}).to_dict()
    with pytest.raises(DataValidationError) as err:
        diff_map(toy_grid_3x3, before, after)
    assert str(err.value).startswith(
        "alignment.territory_id: no territory id of 'after' is a territory id of "
        "'before', but 2 are equal as text (e.g. '1' (str) in 'after' and 1 (int) "
        "in 'before')"
    )


@pytest.fixture
def potential_study(toy_grid_3x3):
    """toy_grid_3x3 with the potential model's covariates, and no account in u9."""
    import numpy as np

    s = toy_grid_3x3
    k = np.arange(1, 10)
    acc = s.accounts[s.accounts["unit_id"] != "u9"]
    acc = acc.assign(
        employees=3 * k, segment=["A", "B", "C"] * 3, industry=["R", "H", "R"] * 3
    )
    units = s.units.assign(population=1000.0 * k, income=30_000.0 + 1000.0 * k)
    return s.replace(units=units, accounts=acc, history=None)


def _fake_fit(monkeypatch, study, level):
    """A potential fit of ``study`` with the fake sampler (no MCMC)."""
    import warnings

    import terrakit.potential.model as m
    from terrakit.potential import PotentialModel

    from .potential.conftest import fake_sample

    monkeypatch.setattr(m, "sample", fake_sample)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PotentialModel().fit(study, level=level, seed=1)


def test_potential_map_greys_units_without_an_account_of_an_account_fit(
    potential_study, monkeypatch
):
    """u9 holds no account: its summed potential is 0 (q05 = q95 = 0), and
    the map coloured it as the lowest potential, though units the fit does
    not cover are documented as grey."""
    import numpy as np

    from terrakit.plot import potential_map

    res = _fake_fit(monkeypatch, potential_study, "account")
    frame = res.to_frame("unit")
    assert frame.loc["u9", "potential_mean"] == 0.0  # to_frame is unchanged
    ax = potential_map(res, potential_study)
    grey, coloured = ax.collections
    assert len(grey.get_paths()) == 1 and grey.get_array() is None
    assert (
        len(coloured.get_array()) == 8 and (np.asarray(coloured.get_array()) > 0).all()
    )
    (label,) = [t.get_text() for t in ax.get_legend().get_texts()]
    assert label == "1 units with no account in the fit"


def test_potential_map_refuses_unit_ids_of_another_type(potential_study, monkeypatch):
    """Fit on text ids ('u1'...), study with the same units under other ids:
    the map was all grey under a potential title, without a word."""
    import pandas as pd

    from terrakit.data import Study
    from terrakit.exceptions import DataValidationError, TerrakitWarning
    from terrakit.plot import potential_map

    units = potential_study.units.assign(sales=[1000.0 * k for k in range(1, 10)])
    units = units.set_axis(pd.Index([f"{k}" for k in range(1, 10)], name="unit_id"))
    res = _fake_fit(monkeypatch, Study(units), "unit")
    as_int = Study(units.set_axis(units.index.astype(int)))  # read back as numbers
    plt.close("all")
    with pytest.raises(DataValidationError) as err:
        potential_map(res, as_int)
    assert str(err.value) == (
        "units.unit_id: none of the fit's 9 unit ids is a unit id of the study "
        "(9 units), so the map would be all grey; 9 of them are equal as text: "
        "the fit's ids are text ('1', '2', '3' ...) and the study's are numbers "
        "(1, 2, 3 ...), and unit ids keep their type: '13001' is not 13001 "
        "(rows: '1', '2', '3', '4', '5' and 4 more). Fix: give the study's units "
        "ids of the fit's type (text), e.g. units.index = units.index.astype(str) "
        "before building the study (read the file with dtype={'unit_id': str} "
        "to keep text ids), or pass the study the fit was made on"
    )
    assert plt.get_fignums() == []
    some = units.set_axis(pd.Index([*"123", *"abcdef"], name="unit_id"))
    with pytest.warns(TerrakitWarning) as rec:
        ax = potential_map(res, Study(some))
    assert str(rec[0].message) == (
        "6 of the fit's 9 units are not units of the study and are not drawn "
        "(e.g. '4', '5', '6' ...); fix: pass the study the fit was made on"
    )
    assert sum(len(c.get_paths()) for c in ax.collections) == 9


def test_routes_lunch_legend_entry_when_the_first_day_has_no_lunch():
    """The 'lunch' legend entry was only given to the first drawn day's lunch
    stars: a plan whose first day has no lunch break drew orange stars with
    no legend entry."""
    import dataclasses
    import warnings

    from terrakit.data.synthetic import toy_grid
    from terrakit.plot.routes import routes
    from terrakit.routing import plan_calls

    study = toy_grid(4, 4, 2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = plan_calls(study, "current", "R1", weeks=2, time_limit=1.0, seed=0)
    r = plan.routes
    first = next(d for d in plan.days if (r["day"] == d).any())
    r = r[~((r["day"] == first) & (r["kind"] == "lunch"))]
    assert (r["kind"] == "lunch").any()  # a later day still has one
    ax = routes(dataclasses.replace(plan, routes=r), study)
    labels = ax.get_legend_handles_labels()[1]
    assert labels.count("lunch") == 1
    (stars,) = [c for c in ax.collections if c.get_label() == "lunch"]
    assert stars.get_facecolor()[0].tolist() == [1.0, 0.6470588235294118, 0.0, 1.0]


def test_territory_map_refuses_colors_keyed_by_ids_as_text(toy_grid_3x3):
    """colors={'1': ...} on territories 1, 2, 3 was silently ignored: the map
    came out in the default colours."""
    from terrakit.exceptions import DataValidationError

    u = toy_grid_3x3.units
    al = Alignment.from_mapping(
        {uid: (i % 3) + 1 for i, uid in enumerate(u.index)}, name="num"
    )
    plt.close("all")
    with pytest.raises(DataValidationError) as e:
        territory_map(u, al, reps=False, colors={"1": "red", "2": "black", "X": "b"})
    assert str(e.value) == (
        "colors: no key of colors is a territory id, but 2 are equal as text "
        "(e.g. '1' (str) in colors and territory 1 (int)), so every colour would "
        "be silently ignored: territory ids keep their type: '1' is not 1 "
        "(rows: '1', '2'). Fix: key colors by the territory ids, e.g. "
        "colors={1: 'red'}"
    )
    assert plt.get_fignums() == []
    # one key that is a territory id: the others may name other maps' ids
    ax = territory_map(u, al, reps=False, colors={1: "red", "2": "black"})
    (h1, *_) = ax.get_legend().legend_handles
    assert tuple(h1.get_facecolor()) == (1.0, 0.0, 0.0, 1.0)


def test_territory_map_refuses_reps_without_a_home(toy_grid_3x3):
    """A rep with a NaN home_lon was silently left off the map."""
    import numpy as np

    from terrakit.exceptions import DataValidationError

    s = toy_grid_3x3
    reps = s.reps.copy()
    reps.loc["R1", "home_lon"] = np.nan
    plt.close("all")
    with pytest.raises(DataValidationError) as e:
        territory_map(s.units, s.alignments["current"], reps=reps)
    assert str(e.value) == (
        "reps.home_lon: 1 coordinates are missing, infinite or not numbers "
        "(rows: 'R1'). Fix: geocode these rows or drop them"
    )
    reps.loc["R1", "home_lon"] = s.reps.loc["R1", "home_lon"]
    reps = reps.astype({"home_lat": object})
    reps.loc["R2", "home_lat"] = "n/a"
    with pytest.raises(DataValidationError, match=r"reps.home_lat: .*\(rows: 'R2'\)"):
        territory_map(s.units, s.alignments["current"], reps=reps)
    assert plt.get_fignums() == []


def test_territory_map_colours_do_not_depend_on_the_hash_seed():
    """With alignments of ids 1/2 and '1'/'2' in one study, the colour order
    came from a set sorted by str: ties 1 / '1' followed the hash seed, so the
    colours changed between runs of the same notebook."""
    import os
    import subprocess
    import sys

    child = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "import matplotlib; matplotlib.use('Agg')\n"
        "import matplotlib.colors as mc\n"
        "from terrakit.data.alignment import Alignment\n"
        "from terrakit.data.synthetic import toy_grid\n"
        "from terrakit.plot import territory_map\n"
        "s = toy_grid(3, 3, 2, seed=1)\n"
        "ids = list(s.units.index)\n"
        "a = Alignment.from_mapping({u: i % 2 + 1 for i, u in enumerate(ids)},"
        " name='solver')\n"
        "b = Alignment.from_mapping({u: str(i % 2 + 1) for i, u in enumerate(ids)},"
        " name='csv')\n"
        "s = s.with_alignment(a).with_alignment(b)\n"
        "for name in ('solver', 'csv'):\n"
        "    lg = territory_map(s, name, reps=False).get_legend()\n"
        "    print([mc.to_hex(h.get_facecolor()) for h in lg.legend_handles])\n"
    )
    out = set()
    for seed in ("1", "8", "29"):
        env = dict(os.environ, PYTHONHASHSEED=seed, MPLBACKEND="Agg")
        run = subprocess.run(
            [sys.executable, "-c", child],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        out.add(run.stdout)
    assert len(out) == 1
    # ids equal as text keep the order of the study's alignments: 'solver'
    # (1, 2) before 'csv' ('1', '2'), after 'current' (R1, R2)
    from matplotlib.colors import to_hex

    from terrakit.widgets._display import territory_colors

    pal = territory_colors([1, "1", 2, "2", "R1", "R2"])
    (text,) = out
    assert text.splitlines() == [
        str([to_hex(pal[1]), to_hex(pal[2])]),
        str([to_hex(pal["1"]), to_hex(pal["2"])]),
    ]


@pytest.mark.parametrize("bad", [True, "1", 3])
def test_forecast_refuses_a_territory_not_in_it_before_a_figure(bad):
    """territory=True passed the check (True == 1), then failed inside xarray
    with a bare KeyError after a figure was opened."""
    import numpy as np

    from terrakit.plot import forecast

    f, _ = _forecast_with_gaps()
    tf = f.by(Alignment.from_mapping({"u1": 1, "u2": 1, "u3": 2}, name="num"))
    plt.close("all")
    with pytest.raises(KeyError) as e:
        forecast(tf, bad)
    assert e.value.args[0] == (
        f"territory {bad!r} is not in this forecast; it has [1, 2]"
    )
    assert plt.get_fignums() == []
    ax = forecast(tf, np.int64(1))
    assert ax.get_title() == "Sales forecast — territory 1 (num)"


def _front(rows, results=None, reasons=None):
    """A DisruptionFront by hand from ``(tolerance, status, from_tolerance)``
    rows: each row with a plan moves 20 % (bound 10 %) at 4 % deviation."""
    import numpy as np
    import pandas as pd

    from terrakit.realign.front import DisruptionFront

    nan = np.nan
    table = pd.DataFrame(
        [
            {
                "tolerance": t,
                "moved": nan if s == "infeasible" else 2.0,
                "moved_share": nan if s == "infeasible" else 0.2,
                "lower_bound_share": nan if s == "infeasible" else 0.1,
                "gap": nan if s == "infeasible" else 0.5,
                "max_deviation": nan if s == "infeasible" else 0.04,
                "units_moved": nan if s == "infeasible" else 1.0,
                "status": s,
                "from_tolerance": src,
            }
            for t, s, src in rows
        ]
    )
    return DisruptionFront(
        table, "workload", "sales", 0.3, results or {}, reasons or {}
    )


def test_disruption_front_claims_only_what_was_proven(monkeypatch):
    """A 1x4 strip whose reps sit in u1 and u2, today R1 = {u1}: the front
    proves ±10 % impossible for contiguous plans in which each rep keeps its
    root unit, yet R1 = {u1, u2}, R2 = {u3, u4} is contiguous and exactly
    balanced.  The figure said "impossible (proven)"; likewise it called every
    grey bar the proven lower bound, though with contiguity it can be the
    rooted MIP's bound.  (The MIP's proof takes seconds of solver time, more
    under load: it is stood in for by the error rebalance raises with it.)"""
    import importlib
    import warnings
    from types import SimpleNamespace

    import terrakit as tk
    from terrakit.data.synthetic import toy_grid
    from terrakit.exceptions import InfeasibleError
    from terrakit.plot import disruption_front

    rb = importlib.import_module("terrakit.realign.rebalance")
    fr = importlib.import_module("terrakit.realign.front")

    def rooted_proof(setup, *, balance, max_moved, **kw):  # type: ignore[no-untyped-def]
        problem = setup.problem.replace(tolerance=dict(balance))
        raise InfeasibleError(rb._mip_infeasible(setup, problem, balance, max_moved, 0))

    monkeypatch.setattr(fr, "_solve", rooted_proof)
    s = toy_grid(1, 4, 2, seed=2)
    s = s.replace(units=s.units.assign(workload=[10.0, 10.0, 10.0, 10.0]))
    assert s.reps["home_unit"].tolist() == ["u1", "u2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        front = tk.realign.disruption_front(
            s, "current", [0.1], measure="workload", moved_measure="workload"
        )
    assert front.table["status"].tolist() == ["infeasible"]
    reason = front.reasons[0.1]
    assert "each rep keeping its root unit ({'R1': 'u1', 'R2': 'u2'}" in reason
    other = Alignment.from_mapping({"u1": "R1", "u2": "R1", "u3": "R2", "u4": "R2"})
    assert tk.metrics.is_contiguous(s, other)
    assert (
        tk.metrics.balance(s, other, ["workload"]).loc["workload", "max_rel_dev"] == 0
    )
    ax = disruption_front(front)
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("impossible")]
    assert line.get_label() == "impossible keeping each rep's root unit (proven)"
    assert line.get_linestyle() == "-." and line.get_ydata()[0] == 10.0

    # bars: the bound of a row is rooted when its result says so, or when
    # (with contiguity) the row took a tighter tolerance's plan; a proof that
    # is not the rooted MIP's stays "impossible (proven)"
    roots = {"R1": "u1", "R2": "u2"}
    mip = "mip (all pairs, with contiguity, each rep keeping its root unit)"
    lp = "lp relaxation (all pairs, without contiguity; root units free)"
    res = {
        0.3: SimpleNamespace(info={"bound": lp, "roots": roots}),
        0.2: SimpleNamespace(info={"bound": lp, "roots": roots}),
        0.15: SimpleNamespace(info={"bound": mip, "roots": roots}),
    }
    hand = _front(
        [
            (0.3, "feasible", 0.3),
            (0.2, "feasible", 0.15),
            (0.15, "optimal", 0.15),
            (0.01, "infeasible", float("nan")),
        ],
        res,
        {0.01: "no alignment meets ±1 % workload: the MIP over every pair proves it"},
    )
    ax = disruption_front(hand)
    bars = {c.get_label(): c for c in ax.collections if "bound" in c.get_label()}
    assert sorted(bars) == [
        "bound keeping each rep's root unit → found",
        "bound → found",
    ]
    assert [tuple(s[1]) for s in bars["bound → found"].get_segments()] == [(20.0, 4.0)]
    rooted = bars["bound keeping each rep's root unit → found"]
    assert len(rooted.get_segments()) == 2
    assert rooted.get_linestyle()[0][1] is not None  # dashed
    labels = ax.get_legend_handles_labels()[1]
    assert "impossible (proven)" in labels
    assert not [x for x in labels if "root unit (proven)" in x]
    # without contiguity nothing is qualified
    plain_front = _front(
        [(0.2, "feasible", 0.1), (0.1, "optimal", 0.1)],
        {0.2: SimpleNamespace(info={"bound": "mip (all pairs)"})},
    )
    labels = disruption_front(plain_front).get_legend_handles_labels()[1]
    assert labels == ["rebalanced", "bound → found", "current plan"]


def test_the_two_front_figures_name_each_other():
    """tk.plot.pareto(a DisruptionFront) said only what it takes, in a
    ValueError; tk.plot.disruption_front(a tk.design.pareto frame) said "pass
    the DisruptionFront itself, not its table", the wrong fix."""
    import pandas as pd

    from terrakit import plot

    front = _front([(0.1, "feasible", 0.1)])
    pareto_frame = pd.DataFrame(
        {"value": [0.05], "objective": [2.0], "status": ["optimal"]}
    )
    plt.close("all")
    with pytest.raises(TypeError) as err:
        plot.pareto(front)
    assert str(err.value) == (
        "tk.plot.pareto takes the DataFrame of tk.design.pareto, got "
        "DisruptionFront; draw a disruption front with "
        "tk.plot.disruption_front(front)"
    )
    with pytest.raises(ValueError) as err:
        plot.pareto(front.table)
    assert str(err.value).endswith(
        "; that is the table of a DisruptionFront: draw the front with "
        "tk.plot.disruption_front(front)"
    )
    with pytest.raises(TypeError) as err:
        plot.disruption_front(pareto_frame)
    assert str(err.value) == (
        "tk.plot.disruption_front takes a DisruptionFront (tk.realign."
        "disruption_front), got DataFrame; that is a frame of tk.design.pareto "
        "(columns value, objective): draw it with tk.plot.pareto(front)"
    )
    assert plt.get_fignums() == []


def test_territory_map_refuses_rep_homes_on_units_without_a_crs(toy_grid_3x3):
    """Units without a CRS (a shapefile without .prj): the rep homes, in
    lon/lat degrees, were drawn ~3,700 km from the units in metres."""
    from terrakit.exceptions import DataValidationError

    s = toy_grid_3x3
    units = s.units.set_crs(None, allow_override=True)
    al = s.alignments["current"]
    plt.close("all")
    with pytest.raises(DataValidationError) as err:
        territory_map(units, al, reps=s.reps)
    assert str(err.value) == (
        "units.geometry: the geometry has no CRS, so the rep homes (lon/lat) "
        "cannot be placed on the map. Fix: set it with "
        "units.set_crs('EPSG:4326') (lon/lat) or the CRS the coordinates are "
        "in, or pass reps=False"
    )
    assert plt.get_fignums() == []
    ax = territory_map(units, al, reps=False)  # nothing to place: drawn
    assert not [c for c in ax.collections if c.get_label() == "rep home"]


@pytest.mark.parametrize("table", ["frame", "name", None])
def test_maps_refuse_what_is_not_a_study_or_units_before_a_figure(toy_grid_3x3, table):
    """A plain DataFrame (units read from a CSV), a name or None gave a bare
    AttributeError (after opening a figure) where balance_chart refuses the
    same table naming the fix."""
    import pandas as pd

    from terrakit.exceptions import DataValidationError
    from terrakit.plot import diff_map

    al = toy_grid_3x3.alignments["current"]
    obj = {
        "frame": pd.DataFrame(toy_grid_3x3.units.drop(columns="geometry")),
        "name": "current",
        None: None,
    }[table]
    got = type(obj).__name__ if obj is not None else "NoneType"
    message = (
        f"units: expected a Study or a units GeoDataFrame, got {got}. Fix: pass "
        "study or study.units"
    )
    plt.close("all")
    with pytest.raises(DataValidationError) as err:
        balance_chart(obj, al)
    assert str(err.value).startswith(message)
    for call in (lambda: territory_map(obj, al), lambda: diff_map(obj, al, al)):
        with pytest.raises(DataValidationError) as err:
            call()
        assert str(err.value) == message
    assert plt.get_fignums() == []


def _toy_plan(weeks):
    import warnings

    from terrakit.data.synthetic import toy_grid
    from terrakit.routing import plan_calls

    study = toy_grid(4, 4, 2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = plan_calls(study, "current", "R1", weeks=weeks, time_limit=1.0, seed=0)
    return study, plan


def test_routes_takes_the_units_table_as_backdrop():
    """routes(plan, study.units), the form every other map takes, opened a
    figure and failed with 'GeoDataFrame' object has no attribute 'units'."""
    import numpy as np

    from terrakit.exceptions import DataValidationError
    from terrakit.plot import routes

    study, plan = _toy_plan(1)
    day = plan.days[0]

    def backdrop(ax):  # type: ignore[no-untyped-def]
        return [p.vertices for p in ax.collections[0].get_paths()]

    want = backdrop(routes(plan, study, day=day))
    assert len(want) == 10  # the units of R1's accounts
    got = backdrop(routes(plan, study.units, day=day))
    assert len(got) == len(want)
    assert all(np.allclose(a, b) for a, b in zip(got, want, strict=True))
    plt.close("all")
    with pytest.raises(DataValidationError) as err:
        routes(plan, "current", day=day)
    assert str(err.value) == (
        "units: expected a Study or a units GeoDataFrame, got str. Fix: pass the "
        "study (tk.plot.routes(plan, study)), its units GeoDataFrame or no study"
    )
    with pytest.raises(DataValidationError, match="the geometry has no CRS"):
        routes(plan, study.units.set_crs(None, allow_override=True), day=day)
    assert plt.get_fignums() == []


def test_routes_draws_every_day_in_its_own_colour():
    """With more than 20 routed days, days shared tab20's colours by position
    (W1-Mon and W7-Wed alike), though the docstring says one colour each."""
    from matplotlib.colors import to_hex

    from terrakit.plot import routes

    study, plan = _toy_plan(8)
    r = plan.routes
    days = [d for d in plan.days if (r["day"] == d).any()]
    assert len(days) == 24
    colours = [to_hex(ln.get_color()) for ln in routes(plan, study).lines]
    assert len(colours) == len(set(colours)) == 24

    from terrakit.plot._palette import distinct_colours

    assert colours == distinct_colours(24)
    many = distinct_colours(300)
    assert len(set(many)) == 300 and many[:24] == colours


def test_colour_arguments_are_checked_before_a_figure(
    toy_grid_3x3, potential_study, monkeypatch
):
    """moved_color, color and cmap were passed to matplotlib unchecked: a
    figure was opened and matplotlib's bare error did not name the argument
    (territory_map(cmap=3): "'int' object is not callable")."""
    from matplotlib import colormaps

    from terrakit.plot import diff_map, forecast, potential_map

    s = toy_grid_3x3
    al = s.alignments["current"]
    _, tf = _forecast_with_gaps()
    res = _fake_fit(monkeypatch, potential_study, "unit")

    def colour_error(name, value):  # type: ignore[no-untyped-def]
        return (
            f"{name} = {value!r} is not a matplotlib colour; give a name "
            "('tab:blue'), a hex string ('#1f77b4') or an RGB(A) tuple"
        )

    cmap_error = (
        "cmap = 'virids' is not a matplotlib colormap; give a name such as "
        "'viridis' or 'tab20' (list(matplotlib.colormaps) has them all) or a "
        "Colormap; did you mean 'viridis' for 'virids'?"
    )
    cases = [
        (ValueError, lambda: diff_map(s, al, al, moved_color="nope"),
         colour_error("moved_color", "nope")),
        (ValueError, lambda: diff_map(s, al, al, kept_color=(1, 2)),
         colour_error("kept_color", (1, 2))),
        (ValueError, lambda: forecast(tf, "T1", color="nope"),
         colour_error("color", "nope")),
        (ValueError, lambda: potential_map(res, potential_study, cmap="virids"),
         cmap_error),
        (ValueError, lambda: territory_map(s, al, cmap="virids"), cmap_error),
        (TypeError, lambda: territory_map(s, al, cmap=3),
         "cmap must be a matplotlib colormap name (e.g. 'viridis') or a "
         "Colormap, got int 3"),
        (ValueError, lambda: territory_map(s, al, colors={"R1": "nope"}),
         colour_error("colors['R1']", "nope")),
    ]  # fmt: skip
    plt.close("all")
    for kind, call, message in cases:
        with pytest.raises(kind) as err:
            call()
        assert str(err.value) == message
    assert plt.get_fignums() == []
    # a Colormap itself is a colormap
    ax = potential_map(res, potential_study, cmap=colormaps["magma"])
    assert ax.collections[-1].get_cmap().name == "magma"
    ax = territory_map(s, al, cmap=colormaps["Set1"], reps=False)
    face = [tuple(h.get_facecolor()) for h in ax.get_legend().legend_handles]
    assert face == [colormaps["Set1"](0), colormaps["Set1"](1)]

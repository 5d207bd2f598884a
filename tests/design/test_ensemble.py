"""ReCom ensembles, the audit of a plan against them, and its figure."""

from __future__ import annotations

import dataclasses
import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from terrakit.design.audit import audit, plan_metrics
from terrakit.design.ensemble import _pieces, ensemble, recom_chain
from terrakit.exceptions import SpecificationError, TerrakitWarning, TimeLimitWarning

from .conftest import grid_adjacency


@pytest.fixture(scope="module")
def region36():
    """36 Voronoi postal areas, 3 reps (synthetic_region seed 5)."""
    from terrakit.data.synthetic import synthetic_region

    return synthetic_region(n_units=36, n_reps=3, seed=5)


@pytest.fixture(scope="module")
def ens36(region36):
    """120 ReCom plans of region36, ±10 % workload, 3 chains."""
    return ensemble(
        region36, n=120, balance={"workload": 0.10}, chains=3, seed=1, progress=False
    )


def _connected_balanced_bipartitions(adj: sp.csr_matrix, size: int) -> set[tuple]:
    """Every split of the graph into two connected halves of ``size`` units,
    as label tuples with unit 0 in territory 0 (brute force)."""
    n = adj.shape[0]
    out = set()
    for part in itertools.combinations(range(1, n), size - 1):
        lab = np.ones(n, dtype=int)
        lab[[0, *part]] = 0
        if not _pieces(adj, lab):
            out.add(tuple(lab))
    return out


# -- the chain on arrays ----------------------------------------------------------
def test_chain_visits_exactly_the_balanced_contiguous_bipartitions_of_a_grid():
    adj = grid_adjacency(4, 2)  # 2 × 4 grid, 8 units, two halves of 4
    truth = _connected_balanced_bipartitions(adj, 4)
    start = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    run = recom_chain(adj, np.ones(8), [4], [4], start, 400, seed=3)
    seen = {tuple(p if p[0] == 0 else 1 - p) for p in run.plans}
    assert seen <= truth  # only feasible plans
    assert seen == truth  # and, on this tiny graph, all of them
    assert 0 < run.accepted <= run.steps == 400
    assert run.trees >= run.steps


def test_chain_keeps_every_band_and_every_territory_connected():
    adj = grid_adjacency(6, 6)
    rng = np.random.default_rng(0)
    w = rng.uniform(1, 3, 36)
    start = np.repeat(np.arange(3), 12).reshape(6, 6).T.ravel()  # three column pairs
    tot = w.sum()
    k = 3
    sums0 = np.bincount(start, weights=w, minlength=k)
    tau = np.abs(sums0 / (tot / k) - 1).max() + 0.02
    lo, hi = (1 - tau) * tot / k, (1 + tau) * tot / k
    run = recom_chain(adj, w, [lo], [hi], start, 300, seed=1, burn_in=20, thin=2)
    assert run.plans.shape == (150, 36)
    for p in run.plans:
        s = np.bincount(p, weights=w, minlength=k)
        assert np.all(s >= lo - 1e-9) and np.all(s <= hi + 1e-9)
        assert not _pieces(adj, p)
    assert len(np.unique(run.plans, axis=0)) > 20  # it moves


def test_chain_same_seed_same_plans_other_seed_other_plans():
    adj = grid_adjacency(5, 4)
    start = np.repeat([0, 1], 10).reshape(4, 5).ravel()  # rows 0-1 | rows 2-3
    a = recom_chain(adj, np.ones(20), [8], [12], start, 50, seed=7)
    b = recom_chain(adj, np.ones(20), [8], [12], start, 50, seed=7)
    c = recom_chain(adj, np.ones(20), [8], [12], start, 50, seed=8)
    assert np.array_equal(a.plans, b.plans)
    assert not np.array_equal(a.plans, c.plans)


def test_chain_rejects_a_bad_start_with_the_numbers():
    adj = grid_adjacency(4, 1)  # path of 4
    with pytest.raises(
        SpecificationError, match=r"breaks 2 band\(s\).*outside \[2, 2\]"
    ):
        recom_chain(adj, np.ones(4), [2], [2], np.array([0, 1, 1, 1]), 5)
    with pytest.raises(SpecificationError, match="several pieces"):
        recom_chain(adj, np.ones(4), [2], [2], np.array([0, 1, 1, 0]), 5)


# -- the study-level ensemble ----------------------------------------------------------
def test_every_member_is_feasible(region36, ens36):
    from terrakit.metrics import is_contiguous

    assert ens36.n_plans == 120 and ens36.n_territories == 3
    w = region36.units["workload"].to_numpy()
    lo, hi = ens36.lower["workload"], ens36.upper["workload"]
    assert lo == pytest.approx(0.9 * w.sum() / 3) and hi == pytest.approx(
        1.1 * w.sum() / 3
    )
    n = len(w)
    adj = sp.coo_matrix(
        (np.ones(len(ens36.edges)), (ens36.edges[:, 0], ens36.edges[:, 1])),
        shape=(n, n),
    ).tocsr()
    adj = adj + adj.T
    for p in ens36.plans:
        s = np.bincount(p, weights=w, minlength=3)
        assert np.all(s >= lo - 1e-6) and np.all(s <= hi + 1e-6)
        for t in range(3):
            sub = adj[p == t][:, p == t]
            assert connected_components(sub, directed=False)[0] == 1
    # cross-check two members with the metrics module's own adjacency
    assert is_contiguous(region36, ens36.alignment(0))
    assert is_contiguous(region36, ens36.alignment(-1))
    assert 0 < ens36.acceptance_rate <= 1
    assert "acceptance rate" in ens36.summary() and "sampled" not in ens36.summary()


def test_metrics_agree_with_the_metrics_module(region36, ens36):
    from terrakit.metrics import balance, compactness

    al = ens36.alignment(5)
    m = plan_metrics(ens36, ens36.plans[5])
    moi = compactness(region36, al, weight="workload")["moment_of_inertia"].sum()
    assert m.loc[0, "moment_of_inertia"] == pytest.approx(moi, rel=0.02)
    dev = balance(region36, al, measures=["workload"]).loc["workload", "max_rel_dev"]
    assert m.loc[0, "workload_max_dev"] == pytest.approx(dev)


def test_alignment_index_is_checked_and_named(ens36):
    """A string or float index raised a raw TypeError from the comparison, a bool
    was taken as 0/1, and the out-of-range message gave no valid range or fix."""
    valid = r"\(valid i: 0 to 119, or -120 to -1 from the end\)"
    for bad in ("a", 1.0, True, None):
        with pytest.raises(SpecificationError) as err:
            ens36.alignment(bad)
        assert str(err.value) == (
            "i must be a whole number, the member's position (valid i: 0 to 119, "
            f"or -120 to -1 from the end), got {bad!r}; pass e.g. alignment(0) "
            "for the first member"
        )
    for bad in (120, -121):
        with pytest.raises(
            IndexError,
            match=rf"^member i={bad} is out of range: the ensemble has 120 plans "
            rf"{valid}; pass an index in that range, e\.g\. alignment\(-1\) for "
            r"the last member$",
        ):
            ens36.alignment(bad)
    # the ends of the range, negative and numpy indices still work
    assert list(ens36.alignment(-120).assignment) == list(ens36.alignment(0).assignment)
    last = np.array(ens36.territory_ids, dtype=object)[ens36.plans[119]]
    assert list(ens36.alignment(-1).assignment) == list(last)
    assert list(ens36.alignment(np.int64(119)).assignment) == list(last)
    # a negative index names the member by its position
    assert ens36.alignment(-1).name == "ensemble_119"
    assert ens36.alignment(-1).provenance["member"] == 119


def test_ensemble_bad_specifications_are_explained(region36):
    with pytest.raises(SpecificationError, match="no 'revenue' column"):
        ensemble(region36, n=5, balance={"revenue": 0.1}, progress=False)
    with pytest.raises(SpecificationError, match="use method='restarts'"):
        ensemble(region36, n=5, contiguity=False, progress=False)
    with pytest.raises(SpecificationError, match=r"start plan breaks"):
        ensemble(
            region36, n=5, start="current", balance={"workload": 0.01}, progress=False
        )
    with pytest.raises(SpecificationError, match="balance is impossible"):
        ensemble(
            region36, n=5, n_territories=30, balance={"workload": 0.01}, progress=False
        )
    # run settings and names, refused before any work
    with pytest.raises(KeyError, match=r"no alignment named 'nope'; the study has"):
        ensemble(region36, n=5, start="nope", progress=False)
    with pytest.raises(SpecificationError, match="seed must be a non-negative"):
        ensemble(region36, n=5, seed="x", progress=False)
    with pytest.raises(SpecificationError, match="time_limit must be a positive"):
        ensemble(region36, n=5, time_limit=0, progress=False)
    with pytest.raises(SpecificationError, match="balance must map each balanced"):
        ensemble(region36, n=5, balance=["workload"], progress=False)
    # a tolerance written as text is explained, not a bare ValueError of float()
    with pytest.raises(
        SpecificationError,
        match=r"tolerance for 'workload' must be a number in \[0, 1\)",
    ):
        ensemble(region36, n=5, balance={"workload": "5%"}, progress=False)


def test_restarts_members_are_feasible(region36):
    ens = ensemble(
        region36,
        n=3,
        method="restarts",
        balance={"workload": 0.1},
        seed=2,
        progress=False,
        time_limit=10,
    )
    assert ens.method == "restarts" and 1 <= ens.n_plans <= 3
    w = region36.units["workload"].to_numpy()
    for p in ens.plans:
        s = np.bincount(p, weights=w, minlength=3)
        assert np.all(s <= ens.upper["workload"] + 1e-6)
        assert np.all(s >= ens.lower["workload"] - 1e-6)


@pytest.fixture(scope="module")
def region40():
    """40 postal areas, 200 accounts, 3 reps (synthetic_region seed 1): at
    ±20 % workload the bands bind, so the compact plans differ in where the
    band edges fall."""
    from terrakit.data.synthetic import synthetic_region

    return synthetic_region(n_units=40, n_accounts=200, n_reps=3, seed=1)


@pytest.fixture(scope="module")
def restarts40(region40):
    """3 restarts of region40, one territory per rep (fixed centers), seed 0."""
    return ensemble(
        region40,
        n=3,
        method="restarts",
        balance={"workload": 0.2},
        seed=0,
        progress=False,
        time_limit=5,
    )


def test_restarts_with_fixed_centers_differ_and_stay_feasible(region40, restarts40):
    """With the reps' homes as centers the heuristic ignores its seed: the
    restarts were n copies of one plan."""
    from terrakit.metrics import is_contiguous

    ens = restarts40
    assert ens.n_plans == 3 and ens.n_distinct == 3
    w = region40.unit_measures()["workload"].to_numpy()
    lo, hi = ens.lower["workload"], ens.upper["workload"]
    for i, p in enumerate(ens.plans):
        s = np.bincount(p, weights=w, minlength=3)
        assert np.all(s >= lo - 1e-6) and np.all(s <= hi + 1e-6)
        assert is_contiguous(region40, ens.alignment(i))
    assert set(ens.territory_ids) == set(region40.reps.index)
    # reproducible: the same seed gives the same members (a prefix for fewer)
    again = ensemble(
        region40,
        n=2,
        method="restarts",
        balance={"workload": 0.2},
        seed=0,
        progress=False,
        time_limit=5,
    )
    assert np.array_equal(again.plans, ens.plans[:2])


def test_restarts_that_coincide_warn_and_audit_refuses(region36, monkeypatch):
    import importlib

    # the module, not the function terrakit.design re-exports under its name
    ens_mod = importlib.import_module("terrakit.design.ensemble")
    # without the cost perturbation every restart is the same plan
    monkeypatch.setattr(ens_mod, "RESTART_NOISE", 0.0)
    with pytest.warns(
        TerrakitWarning, match=r"restarts gave 1 distinct plans for the 2 requested"
    ):
        ens = ensemble(
            region36,
            n=2,
            method="restarts",
            balance={"workload": 0.1},
            seed=0,
            progress=False,
            time_limit=5,
        )
    assert ens.n_plans == 2 and ens.n_distinct == 1
    with pytest.raises(
        SpecificationError, match=r"holds 1 distinct plan\(s\) in its 2 members"
    ):
        audit(ens.alignment(0), ens)


def test_audit_warns_when_the_ensemble_has_few_distinct_plans(restarts40):
    with pytest.warns(
        TerrakitWarning, match=r"only 3 distinct plans in its 3 members \(restarts\)"
    ):
        rep = audit(restarts40.alignment(0), restarts40, baseline=None)
    assert rep.n_distinct == 3
    assert "only 3 distinct plans in the ensemble" in rep.summary()


def test_dask_ensemble_equals_serial(region36, ens36):
    distributed = pytest.importorskip("distributed")
    import logging

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        par = ensemble(
            region36,
            n=120,
            balance={"workload": 0.10},
            chains=3,
            seed=1,
            client=client,
            progress=False,
        )
    assert np.array_equal(par.plans, ens36.plans)
    assert par.accepted == ens36.accepted


# -- audit ---------------------------------------------------------------------------
def test_audit_flags_the_unbalanced_current_plan(region36, ens36):
    rep = audit(region36.alignments["current"], ens36)
    cur_dev = rep.metrics.loc["workload_max_dev", "plan"]
    if cur_dev > 0.10:  # the nearest-rep plan breaks the band the ensemble keeps
        assert rep.metrics.loc["workload_max_dev", "percentile"] == 1.0
        assert "workload_max_dev" in rep.outliers
    assert "units_moved_share" not in rep.metrics.index  # plan == baseline
    r = rep.reps[rep.reps["measure"] == "potential"]
    assert sorted(r["rank"]) == [1, 2, 3]
    assert r["value"].sum() == pytest.approx(region36.units["potential"].sum())
    assert "Audit of 'current'" in rep.summary()
    # by name, as baseline= takes it: the same audit
    by_name = audit("current", ens36)
    pd.testing.assert_frame_equal(by_name.metrics, rep.metrics)
    with pytest.raises(SpecificationError, match=r"study.alignments\['proposal'\]"):
        audit("proposal", ens36)


def test_audit_names_series_plans_and_baselines_plan_and_baseline(region36, ens36):
    """A Series' name is no plan name: an unnamed plan was reported as 'None',
    a baseline Series as its column name 'territory_id', the plan 'current'
    given by name as 'None'."""
    from terrakit.data import Alignment

    plan = pd.Series(ens36.plans[5], index=list(ens36.unit_ids))  # no name
    base = region36.alignments["current"].assignment  # named 'territory_id'
    rep = audit(plan, ens36, baseline=base)
    assert (rep.plan_name, rep.baseline) == ("plan", "baseline")
    assert rep.summary().splitlines()[0] == (
        "Audit of 'plan' against 120 plans (recom); disruption vs 'baseline'"
    )
    named = audit(
        Alignment(plan, name="edited"), ens36, baseline=region36.alignments["current"]
    )
    assert (named.plan_name, named.baseline) == ("edited", "current")
    assert audit("current", ens36).plan_name == "current"


def test_a_member_is_not_an_outlier_of_its_own_ensemble(region36, ens36):
    member = ens36.alignment(60)
    rep = audit(member, ens36)
    assert rep.metrics["percentile"].between(0, 1).all()
    assert "units_moved_share" in rep.metrics.index
    moved = rep.metrics.loc["units_moved_share"]
    assert 0 <= moved["plan"] <= 1
    # a member's percentiles are spread, not all extreme
    assert not rep.metrics["outlier"].all()


def test_audit_bad_input_is_explained(region36, ens36):
    from terrakit.data import Alignment

    with pytest.raises(SpecificationError, match="misses 1 units"):
        audit(Alignment(region36.alignments["current"].assignment.iloc[1:]), ens36)
    one = Alignment.from_mapping({u: "T" for u in region36.units.index})
    with pytest.raises(SpecificationError, match="the plan has 1 territories"):
        audit(one, ens36)
    with pytest.raises(SpecificationError, match=r"measures \['margin'\]"):
        audit(region36.alignments["current"], ens36, measures=("margin",))


def test_plot_audit_both_views(region36, ens36):
    import matplotlib.pyplot as plt

    from terrakit.plot.audit import audit as plot_audit

    rep = audit(ens36.alignment(3), ens36)
    ax = plot_audit(rep)
    assert len(ax.get_yticklabels()) == len(rep.metrics)
    ax2 = plot_audit(rep, measure="potential")
    assert ax2.get_xlabel().startswith("territory rank")
    with pytest.raises(KeyError, match="'margin' not in the report"):
        plot_audit(rep, measure="margin")
    plt.close("all")


def test_start_falls_back_to_spanning_tree_splits(region36, monkeypatch):
    """When the design heuristic finds no start, tree partitions provide one."""
    import terrakit.design.heuristic as heuristic

    real = heuristic.solve_heuristic

    def no_start(problem, **kw):
        res = real(problem, **kw)
        return dataclasses.replace(res, status="infeasible")

    monkeypatch.setattr(heuristic, "solve_heuristic", no_start)
    ens = ensemble(
        region36, n=20, balance={"workload": 0.10}, chains=1, seed=2, progress=False
    )
    w = region36.units["workload"].to_numpy()
    lo, hi = ens.lower["workload"], ens.upper["workload"]
    for p in ens.plans:
        s = np.bincount(p, weights=w, minlength=3)
        assert np.all(s >= lo - 1e-6) and np.all(s <= hi + 1e-6)


def test_spanning_tree_start_depends_on_the_seed_not_the_clock(region36, monkeypatch):
    """The fallback start was the best of the tree plans found before the
    clock ran out, so a slower machine gave other members for the same seed.
    A fake clock in the tree search that runs out after 2 or after 12 plans
    must give the same ensemble."""
    import types

    import terrakit.design.cutedges as cutedges
    import terrakit.design.heuristic as heuristic

    real = heuristic.solve_heuristic

    def no_start(problem, **kw):
        res = real(problem, **kw)
        return dataclasses.replace(res, status="infeasible")

    monkeypatch.setattr(heuristic, "solve_heuristic", no_start)

    def fake_clock(step: float):
        now = [0.0]

        def perf_counter() -> float:
            now[0] += step
            return now[0]

        return types.SimpleNamespace(perf_counter=perf_counter)

    plans = []
    for step in (5.0, 0.8):  # time_limit 10: about 2, then about 12 plans
        monkeypatch.setattr(cutedges, "time", fake_clock(step))
        ens = ensemble(
            region36,
            n=10,
            balance={"workload": 0.10},
            chains=1,
            seed=3,
            time_limit=10,
            progress=False,
        )
        plans.append(ens.plans)
    np.testing.assert_array_equal(plans[0], plans[1])


def _far_move(ens, member: int):
    """Member ``member`` with one unit moved into a territory it does not touch:
    that territory is then in two pieces.  Returns (assignment, territory)."""
    al = ens.alignment(member).assignment.copy()
    lab = ens.plans[member]
    nbrs: dict[int, set[int]] = {}
    for i, j in ens.edges:
        nbrs.setdefault(int(i), set()).add(int(j))
        nbrs.setdefault(int(j), set()).add(int(i))
    for u in range(len(lab)):
        for t in range(ens.n_territories):
            if t != lab[u] and all(lab[v] != t for v in nbrs.get(u, ())):
                al.iloc[u] = ens.territory_ids[t]
                return al, ens.territory_ids[t]
    raise AssertionError("no unit far from another territory")


def test_ensemble_counts_weight_and_start_are_checked_and_named(region36, ens36):
    """Were TypeError/KeyError/AttributeError, or index numbers for territories."""
    from terrakit.data import Alignment

    kw = {"progress": False}
    with pytest.raises(
        SpecificationError, match=r"n must be a whole number >= 1, got 2\.5"
    ):
        ensemble(region36, n=2.5, **kw)
    with pytest.raises(
        SpecificationError, match="chains must be a whole number >= 1, got '2'"
    ):
        ensemble(region36, n=4, chains="2", **kw)
    with pytest.raises(
        SpecificationError, match=r"weight 'potentail' is not a column of the units"
    ):
        ensemble(region36, n=4, weight="potentail", **kw)
    with pytest.raises(
        SpecificationError, match="start must be an Alignment, the name"
    ):
        ensemble(region36, n=4, start=3, **kw)
    with pytest.raises(
        SpecificationError,
        match=r"start plan breaks \d+ band\(s\): '[^']+' workload [\d.]+ outside \[",
    ):
        ensemble(region36, n=4, start="current", balance={"workload": 0.01}, **kw)
    split, terr = _far_move(ens36, 0)
    with pytest.raises(
        SpecificationError,
        match=rf"1 territories in several pieces \(\['{terr}'\]\); ReCom needs",
    ):
        ensemble(region36, n=4, start=Alignment(split), balance={"workload": 0.9}, **kw)
    part = ens36.alignment(0).assignment.iloc[2:]
    with pytest.raises(
        SpecificationError, match=r"misses 2 units of the study \(e\.g\. \["
    ):
        ensemble(region36, n=4, start=Alignment(part), **kw)
    # a Series start works like the Alignment it holds
    s = ens36.alignment(0).assignment
    a = ensemble(region36, n=4, start=s, balance={"workload": 0.1}, seed=2, **kw)
    b = ensemble(
        region36, n=4, start=Alignment(s), balance={"workload": 0.1}, seed=2, **kw
    )
    assert np.array_equal(a.plans, b.plans)


def test_audit_names_extra_units_takes_one_measure_and_flags_pieces(region36, ens36):
    """A string measure was split into letters; extra units were dropped silently;
    a plan in pieces was audited as if it were one of the ensemble's kind."""
    from terrakit.data import Alignment

    plan = ens36.alignment(7)
    one = audit(plan, ens36, measures="potential")
    assert one.reps["measure"].unique().tolist() == ["potential"]
    assert one.noncontiguous == ()
    assert "not contiguous" not in one.summary()
    extra = plan.assignment.copy()
    extra.loc["zz-not-a-unit"] = extra.iloc[0]
    with pytest.raises(
        SpecificationError,
        match=r"the plan names 1 units that are not in the ensemble's study "
        r"\(e\.g\. \['zz-not-a-unit'\]\)",
    ):
        audit(Alignment(extra), ens36)
    split, terr = _far_move(ens36, 7)
    rep = audit(Alignment(split, name="edited"), ens36)
    assert rep.noncontiguous == (terr,)
    assert (
        f"not contiguous: 1 territories in several pieces ({terr}); the ensemble's "
        "plans are all contiguous" in rep.summary()
    )


# -- round 9: refusals that were numpy/pandas errors or silent -------------------------
def _two_islands():
    """Two 3 x 2 blocks of unit squares with a gap between them: two islands."""
    import geopandas as gpd
    from shapely.geometry import box

    from terrakit.data import Study

    geoms, ids = [], []
    for x0 in (0.0, 0.1):
        for r in range(2):
            for c in range(3):
                x = (-84 + x0 + c * 0.01, -84 + x0 + (c + 1) * 0.01)
                y = (34 + r * 0.01, 34 + (r + 1) * 0.01)  # shared vertices exact
                geoms.append(box(x[0], y[0], x[1], y[1]))
                ids.append(f"U{len(ids):02d}")
    units = gpd.GeoDataFrame(
        {"workload": np.ones(12)},
        geometry=geoms,
        index=pd.Index(ids, name="unit_id"),
        crs="EPSG:4326",
    )
    return Study(units)


def test_no_recom_move_without_two_touching_territories(region36):
    """Were numpy's bare ``ValueError: high <= 0`` from the first step."""
    path = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6)).tocsr()
    with pytest.raises(
        SpecificationError,
        match=r"^no ReCom move exists: no edge of the adjacency joins two different "
        r"territories \(the start plan has 1 territory\); use 2 or more territories",
    ):
        recom_chain(path, np.ones(6), [6], [6], np.zeros(6, dtype=int), 5)
    two = sp.block_diag([path[:3, :3], path[:3, :3]]).tocsr()  # two separate paths
    with pytest.raises(
        SpecificationError,
        match=r"the start plan has 2 territories, each a whole island of the graph "
        r"with no neighbour in another territory\); use 2 or more territories, and "
        r"link islands to the mainland \(terrakit\.data\.geo\.Adjacency\.with_links\)",
    ):
        recom_chain(two, np.ones(6), [3], [3], np.array([0, 0, 0, 1, 1, 1]), 5)
    one = (
        r"^n_territories=1: one territory holds every unit, so there is exactly one "
        r"plan and nothing to sample — {}, and audit needs 2 or more distinct plans; "
        r"use n_territories >= 2$"
    )
    recom_why = r"ReCom has no move \(a move recombines two neighbouring territories\)"
    with pytest.raises(SpecificationError, match=one.format(recom_why)):
        ensemble(region36, n=10, n_territories=1, progress=False)
    with pytest.raises(
        SpecificationError, match=one.format("every restart would return that plan")
    ):
        ensemble(region36, n=10, n_territories=1, method="restarts", progress=False)
    single = pd.Series("T", index=region36.units.index)
    with pytest.raises(
        SpecificationError, match=r"^the start plan has 1 territory: one territory"
    ):
        ensemble(region36, n=10, start=single, progress=False)
    islands = _two_islands()
    kw = {"n": 20, "balance": {"workload": 0.0}, "progress": False, "time_limit": 3}
    with pytest.raises(
        SpecificationError,
        match=r"^no ReCom move exists: none of the start plan's 2 territories touches "
        r"another .*adjacency=terrakit\.data\.geo\.adjacency\(study\.units\)"
        r"\.with_links\(\[\(island_unit, mainland_unit\), \.\.\.\]\)$",
    ):
        ensemble(islands, n_territories=2, **kw)
    # the suggested fix works: linked islands give a chain that moves
    from terrakit.data import geo

    links = geo.adjacency(islands.units).with_links([("U02", "U06"), ("U05", "U09")])
    ens = ensemble(islands, n_territories=2, adjacency=links, seed=0, **kw)
    assert ens.n_distinct > 1 and ens.accepted > 0
    assert ens.provenance["config"]["adjacency"] == "queen+links"
    assert (
        "adjacency" not in ensemble(region36, n=2, progress=False).provenance["config"]
    )
    with pytest.raises(SpecificationError) as err:
        ensemble(islands, n_territories=2, adjacency=links.matrix, **kw)
    assert str(err.value) == (
        "adjacency must be a terrakit.data.geo.Adjacency over the study's units, "
        "got scipy.sparse._csr.csr_array; build it with "
        "tk.data.geo.adjacency(study.units) (add links to islands with "
        ".with_links([(a, b), ...])) or leave it None"
    )


def test_summary_prints_the_configured_contiguity(ens36):
    """Was "contiguous: yes" whatever the ensemble was sampled with."""
    assert "  bands: workload ±10 %; contiguous: yes" in ens36.summary().splitlines()
    config = {**ens36.provenance["config"], "contiguity": False}
    free = dataclasses.replace(ens36, provenance={**ens36.provenance, "config": config})
    assert "  bands: workload ±10 %; contiguous: no" in free.summary().splitlines()


def test_audit_refuses_repeated_units_and_units_with_no_territory(ens36):
    """A repeated unit id crashed in pandas' reindex; a NaN territory was reported
    as a unit the plan misses."""
    from terrakit.exceptions import DataValidationError

    s = ens36.alignment(7).assignment
    other = "R02" if s.iloc[0] != "R02" else "R01"
    dup = pd.concat([s, pd.Series([other], index=s.index[:1])])
    with pytest.raises(
        DataValidationError,
        match=r"^alignment\.unit_id: 1 units are assigned more than once "
        r"\(rows: 'P00001'\)\. Fix: give every unit exactly one territory$",
    ):
        audit(dup, ens36)
    gap = s.copy()
    gap.iloc[2] = np.nan
    with pytest.raises(
        DataValidationError,
        match=r"^alignment\.territory_id: 1 units have no territory "
        rf"\(rows: '{s.index[2]}'\)",
    ):
        audit(gap, ens36)


@pytest.mark.parametrize("bad", [0, False, 2.5, -3])
def test_ensemble_n_territories_must_be_a_count(region36, bad):
    """0 and False were replaced silently by the number of reps."""
    with pytest.raises(
        SpecificationError,
        match=rf"^n_territories must be a whole number of territories \(2 or more\), "
        rf"got {bad!r}; leave it None for one territory per rep$",
    ):
        ensemble(region36, n=6, n_territories=bad, progress=False)


def test_start_and_audit_refuse_the_same_foreign_unit_ids(region36, ens36):
    """ensemble(start=Series) dropped ids that are not units of the study."""
    s = ens36.alignment(3).assignment.copy()
    s.loc["P99999"] = s.iloc[0]
    s.loc["p00002"] = s.iloc[1]
    ids = r"\(e\.g\. \['P99999', 'p00002'\]\)"
    with pytest.raises(
        SpecificationError,
        match=rf"^the start alignment names 2 units that are not in the study {ids}; "
        r"give every unit of the study one territory, and no other id \(check the "
        r"id type: '13121' is not 13121\)$",
    ):
        ensemble(region36, n=6, start=s, balance={"workload": 0.1}, progress=False)
    with pytest.raises(
        SpecificationError,
        match=rf"^the plan names 2 units that are not in the ensemble's study {ids}; "
        "audit a plan of the same study",
    ):
        audit(s, ens36)


def test_chain_refuses_non_finite_activities_and_inverted_bands():
    """A NaN activity passed the band check (NaN < lower is False): frozen chain."""
    path = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6)).tocsr()
    start = np.array([0, 0, 0, 1, 1, 1])
    act = np.array([1, np.nan, 1, 1, np.inf, 1.0])
    with pytest.raises(
        SpecificationError,
        match=r"^activities are not finite \(NaN or infinite\) for 2 units "
        r"\(indices \[1, 4\]\): no band can be checked on them",
    ):
        recom_chain(path, act, [2], [4], start, 20, seed=0)
    with pytest.raises(
        SpecificationError,
        match=r"^every band needs finite limits with lower <= upper; got "
        r"activity 0: \[4, 2\]$",
    ):
        recom_chain(path, np.ones(6), [4], [2], start, 20, seed=0)


def test_outlier_flag_agrees_with_the_quantile_columns(region36, ens36):
    """The flag read the mid-rank percentile: a plan above p97_5 went unflagged
    (q = 0.975 exactly), a territory equal to p2_5 was flagged (q = 0.021)."""
    ens60 = ensemble(
        region36, n=60, balance={"workload": 0.10}, chains=3, seed=1, progress=False
    )
    r = audit(ens60.alignment(7), ens60).metrics.loc["units_moved_share"]
    assert r["percentile"] == pytest.approx(0.975)
    assert r["plan"] > r["p97_5"] and bool(r["outlier"]) is True
    row = audit(ens36.alignment(114), ens36).reps.iloc[0]
    assert row["percentile"] == pytest.approx(1 / 48)
    assert row["value"] == row["p2_5"] and bool(row["outlier"]) is False
    for i in (0, 7, 60, 114):
        rep = audit(ens36.alignment(i), ens36)
        m, t = rep.metrics, rep.reps
        outside = (m["plan"] < m["p2_5"]) | (m["plan"] > m["p97_5"])
        assert m["outlier"].tolist() == outside.tolist()
        outside = (t["value"] < t["p2_5"]) | (t["value"] > t["p97_5"])
        assert t["outlier"].tolist() == outside.tolist()


@pytest.mark.filterwarnings("ignore:restarts gave:terrakit.exceptions.TerrakitWarning")
def test_restarts_from_a_start_keep_each_rep_home_in_its_own_territory(region36):
    """With the reps out of id order (R03, R01, R02) the start's labels were
    sorted by text while the restarts' plans follow the reps' order: every
    member gave each rep's home unit to another rep's territory."""
    from terrakit.data import Study
    from terrakit.design.align import build_problem

    st = Study(
        region36.units,
        accounts=region36.accounts,
        reps=region36.reps.iloc[[2, 0, 1]],
        history=region36.history,
        alignments=dict(region36.alignments),
    )
    assert list(st.reps.index) == ["R03", "R01", "R02"]
    bal = {"workload": 0.3}
    ens = ensemble(
        st,
        n=2,
        method="restarts",
        start="current",
        balance=bal,
        seed=0,
        progress=False,
        time_limit=5,
    )
    problem = build_problem(st, balance=bal)
    centers = st.units.index[list(problem.center_units)]
    homes = dict(zip(problem.territory_ids, centers, strict=True))
    start = pd.Series(
        np.asarray(ens.territory_ids, dtype=object)[ens.start], index=ens.unit_ids
    )
    assert start.equals(st.alignments["current"].assignment.reindex(start.index))
    assert {r: start[h] for r, h in homes.items()} == {r: r for r in homes}
    assert ens.n_plans == 2
    for i in range(ens.n_plans):
        a = ens.alignment(i).assignment
        assert {r: a[h] for r, h in homes.items()} == {r: r for r in homes}


@pytest.mark.parametrize(
    ("start", "kw", "message"),
    [
        (
            [-1, -1, -1, 0, 0, 0],
            {},
            "start must give each unit a territory index 0..k-1 (a whole number "
            ">= 0), got unit 0: -1, unit 1: -1, unit 2: -1; number the territories "
            "0, 1, ... (e.g. pandas.factorize(territory_ids)[0])",
        ),
        (
            [0.6, 0.6, 0.6, 1.6, 1.6, 1.6],
            {},
            "start must give each unit a territory index 0..k-1 (a whole number "
            ">= 0), got unit 0: 0.6, unit 1: 0.6, unit 2: 0.6, unit 3: 1.6, unit 4: "
            "1.6 and 1 more; number the territories 0, 1, ... "
            "(e.g. pandas.factorize(territory_ids)[0])",
        ),
        (
            [0, 0, 0, 1, 1, 1],
            {"n_steps": 5.5},
            "n_steps must be a whole number >= 1, got 5.5",
        ),
        (
            [0, 0, 0, 1, 1, 1],
            {"thin": 0},
            "thin must be a whole number >= 1, got 0",
        ),
        (
            [0, 0, 0, 1, 1, 1],
            {"seed": -1},
            "seed must be a non-negative integer, got -1; seeds run from 0 to "
            "4294967295 (2**32 - 1), and the same seed gives the same answer",
        ),
    ],
)
def test_chain_refuses_bad_labels_counts_and_seeds_naming_the_argument(
    start, kw, message
):
    """A label -1 or a seed -1 raised a bare numpy ValueError, n_steps=5.0 a
    bare TypeError, and labels 0.6/1.6 were truncated to 0/1 silently."""
    path = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6)).tocsr()
    args = {"n_steps": 5, **kw}
    n_steps = args.pop("n_steps")
    with pytest.raises(SpecificationError) as err:
        recom_chain(path, np.ones(6), [3], [3], np.array(start), n_steps, **args)
    assert str(err.value) == message


def test_chain_takes_whole_number_floats_as_counts():
    path = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6)).tocsr()
    start = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    run = recom_chain(path, np.ones(6), [3], [3], start, 5.0, seed=0, thin=1.0)
    assert run.plans.shape == (5, 6) and run.plans[-1].tolist() == [0, 0, 0, 1, 1, 1]


def _cut_by_the_clock(monkeypatch):
    """Make every design heuristic run end as one stopped at its time limit
    (status 'time_limit' and a TimeLimitWarning), whatever the machine."""
    import terrakit.design.heuristic as heuristic

    real = heuristic.solve_heuristic

    def cut(problem, **kw):
        res = real(problem, **kw)
        warnings.warn(
            "heuristic stopped at the time limit", TimeLimitWarning, stacklevel=2
        )
        return dataclasses.replace(res, status="time_limit")

    monkeypatch.setattr(heuristic, "solve_heuristic", cut)


def _time_limit_warnings(record) -> list[str]:
    return [str(w.message) for w in record if w.category is TimeLimitWarning]


def test_heuristic_runs_stopped_by_the_clock_are_counted_and_warned(
    region36, monkeypatch
):
    """The restarts' (and the start plan's) TimeLimitWarnings were silenced:
    members cut by the clock differ between runs of one seed, unsaid."""
    _cut_by_the_clock(monkeypatch)
    kw = {"balance": {"workload": 0.1}, "seed": 0, "progress": False}
    with pytest.warns(TimeLimitWarning) as record:
        ens = ensemble(region36, n=2, method="restarts", time_limit=5, **kw)
    assert _time_limit_warnings(record) == [
        "2 of the 2 restarts and the design heuristic that built the start plan "
        "stopped at the time limit (time_limit=5 s per run) before their search "
        "was done: where the clock, not the seed, ends a run, the members may "
        "differ between runs with the same seed (seed=0). Fix: raise time_limit "
        "so that every run ends on its own iteration budget, or pass a feasible "
        "start alignment"
    ]
    assert ens.provenance["time_limit_stops"] == 3
    assert ens.provenance["config"]["time_limit"] == 5
    assert (
        "  heuristic runs stopped at the time limit: 3 (the members may differ "
        "between runs of the same seed; raise time_limit)"
    ) in ens.summary()
    # restarts from a given start: no start plan to build, the restarts counted
    with pytest.warns(TimeLimitWarning) as record:
        ens = ensemble(
            region36, n=2, method="restarts", time_limit=5, start=ens.alignment(0), **kw
        )
    assert _time_limit_warnings(record) == [
        "2 of the 2 restarts stopped at the time limit (time_limit=5 s per run) "
        "before their search was done: where the clock, not the seed, ends a run, "
        "the members may differ between runs with the same seed (seed=0). Fix: "
        "raise time_limit so that every run ends on its own iteration budget"
    ]
    assert ens.provenance["time_limit_stops"] == 2
    # ReCom: the chains start from the heuristic's plan
    with pytest.warns(TimeLimitWarning) as record:
        ens = ensemble(region36, n=5, chains=1, time_limit=5, **kw)
    [text] = _time_limit_warnings(record)
    assert text.startswith(
        "the design heuristic that built the start plan stopped at the time limit"
    )
    assert ens.provenance["time_limit_stops"] == 1


def test_no_time_limit_stop_no_warning_and_nothing_in_the_summary(ens36):
    assert ens36.provenance["time_limit_stops"] == 0
    assert "stopped at the time limit" not in ens36.summary()


def test_audit_default_measures_are_those_the_ensemble_carries(region36, ens36):
    """The default measures=('potential', 'workload') raised on an ensemble
    without 'potential' although it carries 'workload'."""
    no_potential = dataclasses.replace(
        ens36, measures={m: v for m, v in ens36.measures.items() if m != "potential"}
    )
    plan = region36.alignments["current"]
    rep = audit(plan, no_potential)
    assert rep.reps["measure"].unique().tolist() == ["workload"]
    assert set(rep.ordered) == {"workload"}
    assert audit(plan, ens36).reps["measure"].unique().tolist() == [
        "potential",
        "workload",
    ]
    # a name the caller gives must be carried
    with pytest.raises(SpecificationError) as err:
        audit(plan, no_potential, measures=("potential", "workload"))
    assert str(err.value) == (
        "measures ['potential'] are not carried by the ensemble; available: "
        "['accounts', 'sales', 'workload']"
    )


@pytest.mark.filterwarnings("ignore:the ensemble holds only")
def test_audit_says_when_the_ensemble_carries_no_default_measure(region36):
    units = region36.units.drop(columns=["workload", "potential"])
    study = region36.replace(units=units, accounts=None, history=None)
    ens = ensemble(
        study, n=40, balance={"accounts": 0.2}, chains=2, seed=0, progress=False
    )
    assert sorted(ens.measures) == ["accounts", "sales"]
    plan = ens.alignment(0)
    with pytest.raises(SpecificationError) as err:
        audit(plan, ens)
    assert str(err.value) == (
        "the ensemble carries neither 'potential' nor 'workload' (the measures "
        "audit compares by default); it carries ['accounts', 'sales']: pass "
        "measures=, e.g. measures='accounts'"
    )
    assert audit(plan, ens, measures="accounts").reps["measure"].unique().tolist() == [
        "accounts"
    ]


def test_members_keep_integer_territory_ids(region36, ens36):
    """Ensemble.alignment(i) gave integer territory ids as object: a member
    was never equal to the same plan loaded with int64 ids."""
    number = {t: i + 1 for i, t in enumerate(ens36.territory_ids)}
    start = ens36.alignment(0).assignment.map(number).astype("int64")
    from terrakit.data.alignment import Alignment

    ens = ensemble(
        region36,
        n=4,
        balance={"workload": 0.10},
        start=Alignment(start, name="numbered"),
        chains=1,
        seed=0,
        progress=False,
    )
    assert ens.territory_ids == (1, 2, 3)
    member = ens.alignment(0).assignment
    assert member.dtype == np.dtype("int64")
    assert set(member) == {1, 2, 3}
    # text ids stay text
    assert ens36.alignment(0).assignment.dtype == object


# -- partitions, missing values, provenance, argument checks ---------------------
def _relabelled(plan: np.ndarray) -> np.ndarray:
    """The same partition with territories 0 and 1 swapped."""
    out = plan.copy()
    out[plan == 0], out[plan == 1] = 1, 0
    return out


def _partitions(plans: np.ndarray) -> int:
    """Distinct partitions, by pandas.factorize (labels in order of appearance)."""
    return len({tuple(pd.factorize(p)[0]) for p in plans})


def test_n_distinct_counts_partitions_not_labels(region36, ens36):
    """Relabelled copies of one partition counted as different plans, so
    audit's "too few distinct plans" guard did not fire."""
    p = ens36.plans[0]
    copies = dataclasses.replace(ens36, plans=np.vstack([p, _relabelled(p)] * 3))
    assert copies.n_plans == 6 and copies.n_distinct == 1
    assert "distinct plans: 1" in copies.summary()
    with pytest.raises(
        SpecificationError, match=r"holds 1 distinct plan\(s\) in its 6 members"
    ):
        audit(region36.alignments["current"], copies)
    assert ens36.n_distinct == _partitions(ens36.plans)


def test_grid_ensemble_counts_each_partition_once():
    """3 × 3 grid of square units, 3 territories of 3: ReCom relabels
    territories as it moves, so one partition appears under several labels."""
    import geopandas as gpd
    from shapely.geometry import box

    from terrakit.data import Alignment, Study

    ids = [f"u{i}" for i in range(9)]
    x0 = [5e5 + 1e4 * (i % 3) for i in range(9)]
    y0 = [3.7e6 + 1e4 * (i // 3) for i in range(9)]
    cells = [box(x, y, x + 1e4, y + 1e4) for x, y in zip(x0, y0, strict=True)]
    units = gpd.GeoDataFrame(
        {"workload": np.ones(9)},
        geometry=cells,
        index=pd.Index(ids, name="unit_id"),
        crs="EPSG:32617",
    )
    cur = Alignment.from_mapping({u: f"T{i % 3}" for i, u in enumerate(ids)})
    study = Study(units, alignments={"current": cur})
    ens = ensemble(
        study,
        n=200,
        balance={"workload": 0.0},
        start="current",
        chains=1,
        seed=0,
        progress=False,
    )
    labelled = len(np.unique(ens.plans, axis=0))
    assert ens.n_distinct == _partitions(ens.plans) < labelled
    assert ens.n_distinct < 40
    with pytest.warns(TerrakitWarning, match=rf"only {ens.n_distinct} distinct plans"):
        audit(ens.alignment(0), ens, baseline=None)


def test_restarts_that_differ_only_in_labels_warn(region36, monkeypatch):
    import importlib

    ens_mod = importlib.import_module("terrakit.design.ensemble")
    real = ens_mod._restart_task
    calls = []

    def relabel_every_other(*args):
        labels, stopped = real(*args)
        calls.append(1)
        if len(calls) == 1:
            calls.append(labels)
            return labels, stopped
        return _relabelled(calls[1]).astype(np.int32), stopped

    monkeypatch.setattr(ens_mod, "_restart_task", relabel_every_other)
    with pytest.warns(
        TerrakitWarning, match=r"restarts gave 1 distinct plans for the 2 requested"
    ):
        ens = ensemble(
            region36,
            n=2,
            method="restarts",
            balance={"workload": 0.1},
            seed=0,
            progress=False,
            time_limit=5,
        )
    assert ens.n_plans == 2 and ens.n_distinct == 1


@pytest.mark.filterwarnings("ignore:the ensemble holds only")
def test_opportunity_measure_with_missing_values_is_left_out_with_a_warning(region36):
    """NaN potentials made every audit row of potential NaN (or mis-ranked)
    with no word to the user."""
    units = region36.units.copy()
    units.loc[units.index[:2], "potential"] = np.nan
    study = region36.replace(units=units)
    with pytest.warns(TerrakitWarning) as record:
        ens = ensemble(
            study, n=20, balance={"workload": 0.1}, chains=1, seed=1, progress=False
        )
    [text] = [str(w.message) for w in record if "potential" in str(w.message)]
    assert text == (
        "units.potential: 2 of 36 units have no value ('P00001', 'P00002'). The "
        "ensemble leaves 'potential' out, so audit compares no territory on it. An "
        "unknown value is not 0: fill the missing values with real figures and "
        "sample again to compare on it"
    )
    assert "potential" not in ens.measures
    assert ens.provenance["measures_left_out"] == {
        "potential": "2 of 36 units have no value ('P00001', 'P00002')"
    }
    rep = audit("current", ens)
    assert rep.reps["measure"].unique().tolist() == ["workload"]
    assert np.isfinite(rep.reps[["value", "p2_5", "p97_5", "percentile"]]).all().all()
    with pytest.raises(SpecificationError) as err:
        audit("current", ens, measures="potential")
    assert str(err.value) == (
        "measures ['potential'] are not carried by the ensemble; available: "
        "['accounts', 'sales', 'workload'] (ensemble() left 'potential' out: 2 of "
        "36 units have no value ('P00001', 'P00002'); fill the missing values and "
        "sample the ensemble again)"
    )


def test_audit_of_an_ensemble_carrying_missing_values(region36, ens36):
    """An ensemble built by hand with a NaN measure: the default leaves it out
    with a warning, a measure asked for is refused."""
    pot = ens36.measures["potential"].copy()
    pot[[0, 5]] = np.nan
    ens = dataclasses.replace(ens36, measures={**ens36.measures, "potential": pot})
    plan = region36.alignments["current"]
    with pytest.warns(
        TerrakitWarning,
        match=r"potential: 2 of 36 units have no value \('P00001', 'P00006'\); "
        r"audit compares \['workload'\] only",
    ):
        rep = audit(plan, ens)
    assert rep.reps["measure"].unique().tolist() == ["workload"]
    with pytest.raises(
        SpecificationError,
        match=r"cannot compare territories on a measure with units of unknown value "
        r"\(potential: 2 of 36 units have no value",
    ):
        audit(plan, ens, measures=["workload", "potential"])


def test_balanced_activity_or_weight_with_missing_values_is_refused(region36, ens36):
    """With a start plan given, a NaN weight gave NaN moments of inertia."""
    from terrakit.exceptions import DataValidationError

    units = region36.units.copy()
    units.loc[units.index[:2], "potential"] = np.nan
    study = region36.replace(units=units)
    kw = {"n": 5, "start": ens36.alignment(0), "chains": 1, "progress": False}
    with pytest.raises(DataValidationError, match=r"units\.potential: 2 values are"):
        ensemble(study, balance={"workload": 0.1}, weight="potential", **kw)
    with pytest.raises(DataValidationError, match=r"units\.potential: 2 values are"):
        ensemble(study, balance={"workload": 0.1, "potential": 0.9}, **kw)


def test_provenance_records_the_start_territories_and_weight(region36, ens36):
    """Ensembles from different starts carried the same provenance config."""
    cfg = ens36.provenance["config"]
    assert cfg["n_territories"] == 3 and cfg["weight"] == "workload"
    assert cfg["start"] == "heuristic" and len(cfg["start_hash"]) == 16
    kw = {"n": 4, "balance": {"workload": 0.1}, "chains": 1, "progress": False}
    member = ens36.alignment(7)
    given = ensemble(region36, start=member, **kw).provenance["config"]
    assert given["start"] == "ensemble_7"
    assert given["start_hash"] != cfg["start_hash"]
    # the same plan, given as a Series: another name, the same hash
    series = ensemble(region36, start=member.assignment, **kw).provenance["config"]
    assert series["start"] == "given"
    assert series["start_hash"] == given["start_hash"]
    # members inherit it
    assert (
        ensemble(region36, start=member, **kw)
        .alignment(0)
        .provenance["config"]["start_hash"]
        == given["start_hash"]
    )
    other = ensemble(region36, weight="accounts", **kw).provenance["config"]
    assert other["weight"] == "accounts"


def test_start_heuristic_stopped_by_the_clock_before_the_bands_is_counted(
    region36, monkeypatch
):
    """A start heuristic that the clock stopped before it met the bands ends
    'infeasible' with no warning (info['cut_by_clock'] only): the fallback
    start was taken silently, time_limit_stops 0."""
    import terrakit.design.heuristic as heuristic

    real = heuristic.solve_heuristic

    def cut_infeasible(problem, **kw):
        # the clock stopped the run before it met the bands: no plan kept
        res = real(problem, **kw)
        info = {**res.info, "cut_by_clock": True}
        return dataclasses.replace(res, status="infeasible", columns=None, info=info)

    monkeypatch.setattr(heuristic, "solve_heuristic", cut_infeasible)
    kw = {"balance": {"workload": 0.1}, "seed": 0, "progress": False}
    with pytest.warns(TimeLimitWarning) as record:
        ens = ensemble(region36, n=4, chains=1, time_limit=5, **kw)
    [text] = _time_limit_warnings(record)
    assert text.startswith(
        "the design heuristic run for the start plan (the clock stopped it before "
        "it met the bands; spanning-tree splits built the start instead) stopped "
        "at the time limit (time_limit=5 s per run)"
    )
    assert ens.provenance["time_limit_stops"] == 1
    assert ens.provenance["config"]["start"] == "tree_partition"
    # restarts that the clock stopped before the bands are not "met no band"
    with pytest.raises(SpecificationError) as err:
        ensemble(region36, n=2, method="restarts", time_limit=5, **kw)
    assert str(err.value) == (
        "no restart of the heuristic met the bands (2 restarts, 2 of them stopped "
        "by the clock); widen the tolerance, raise time_limit (time_limit=5 s per "
        "run) or use method='recom'"
    )


def test_argument_mistakes_are_named(region36, ens36):
    """Bare AttributeError, IndexError and ValueError before."""
    cur = region36.alignments["current"]
    with pytest.raises(TypeError) as err:
        audit(ens36, cur)
    assert str(err.value) == (
        "tk.design.audit takes the plan, then an Ensemble (tk.design.ensemble), "
        "got Alignment for the ensemble; the arguments are swapped: call "
        "audit(plan, ensemble)"
    )
    with pytest.raises(TypeError, match=r"got None for the ensemble; sample one"):
        audit(cur, None)
    with pytest.raises(TypeError) as err:
        ensemble(region36.units, n=5, progress=False)
    assert str(err.value) == (
        "tk.design.ensemble takes a Study (tk.Study), got GeoDataFrame; wrap the "
        "units table in a Study: tk.Study(units, reps=reps)"
    )
    with pytest.raises(
        SpecificationError,
        match=r"plans must be \(n_plans, 36\).*got shape \(120, 30\)",
    ):
        plan_metrics(ens36, ens36.plans[:, :30])
    four = ens36.plans[0].copy()
    four[0] = 3
    with pytest.raises(SpecificationError) as err:
        plan_metrics(ens36, four)
    assert str(err.value).startswith(
        "plans must hold territory indices 0..2 (the ensemble's 3 territories), got "
        "3 in plan 0 for unit 'P00001' (1 such entries)"
    )
    with pytest.raises(SpecificationError, match=r"whole-number territory indices"):
        plan_metrics(ens36, ens36.plans[0] + 0.5)
    # whole-number floats and one plan as a row are taken
    np.testing.assert_array_equal(
        plan_metrics(ens36, ens36.plans[0].astype(float)).to_numpy(),
        ens36.metrics().iloc[[0]].to_numpy(),
    )


def test_chain_refuses_an_asymmetric_or_non_square_adjacency():
    """An edge stored one way only was half seen: a lower-triangular path was
    refused as 'islands', a one-sided link crashed mid-run (numpy high <= 0)."""
    path = sp.diags([1.0, 1.0], [-1, 1], shape=(9, 9)).tocsr()
    start = np.repeat([0, 1, 2], 3)
    assert recom_chain(path, np.ones(9), [2], [4], start, 50, seed=0).accepted > 0
    with pytest.raises(SpecificationError) as err:
        recom_chain(sp.tril(path).tocsr(), np.ones(9), [2], [4], start, 50, seed=0)
    assert str(err.value) == (
        "the adjacency is not symmetric: 8 pair(s) of units are linked one way "
        "only, e.g. unit 1 to unit 0 but not 0 to 1; ReCom needs each link stored "
        "both ways: symmetrise it, e.g. adj.maximum(adj.T)"
    )
    one_sided = sp.tril(path).tolil()
    one_sided[2, 3] = 1.0
    with pytest.raises(SpecificationError, match=r"7 pair\(s\) of units"):
        recom_chain(one_sided.tocsr(), np.ones(9), [2], [4], start, 300, seed=0)
    # weights may differ between the two directions: only the links count
    heavier = path.tolil()
    heavier[3, 2] = 5.0
    recom_chain(heavier.tocsr(), np.ones(9), [2], [4], start, 5, seed=0)
    with pytest.raises(
        SpecificationError, match=r"must be square, \(n, n\).*got shape \(6, 7\)"
    ):
        recom_chain(
            sp.csr_matrix(np.ones((6, 7))),
            np.ones(6),
            [2],
            [4],
            np.array([0, 0, 0, 1, 1, 1]),
            5,
        )


def test_audit_measures_empty_is_refused_and_repeats_are_compared_once(region36, ens36):
    """measures=[] compared nothing yet said 'every territory within the
    central 95 %'; a measure named twice gave every territory twice."""
    plan = region36.alignments["current"]
    with pytest.raises(SpecificationError) as err:
        audit(plan, ens36, measures=[])
    assert str(err.value) == (
        "measures is empty: audit compares the plan's territories on at least one "
        "measure; name some of ['accounts', 'potential', 'sales', 'workload'], or "
        "leave measures=None for those of 'potential' and 'workload' the "
        "ensemble carries"
    )
    rep = audit(plan, ens36, measures=["workload", "workload"])
    assert rep.reps["measure"].tolist() == ["workload"] * 3
    assert list(rep.ordered) == ["workload"]
    none = dataclasses.replace(rep, reps=rep.reps.iloc[:0])
    assert "every territory within" not in none.summary()
    assert "no territory compared (no opportunity measure)" in none.summary()


# -- round 21: zero totals, empty bands, stored zeros, provenance, baselines ---------
def _grid16(**columns):
    """4 × 4 grid of 10 km squares (UTM 17N), ``workload`` 1 per unit, the
    given extra columns, no reps and no alignment; and the plan ``halves``
    (rows 0-1 in A, rows 2-3 in B), balanced and contiguous."""
    import geopandas as gpd
    from shapely.geometry import box

    from terrakit.data import Alignment, Study

    s, x0, y0 = 10_000.0, 500_000.0, 3_700_000.0
    geoms = [
        box(x0 + c * s, y0 + r * s, x0 + (c + 1) * s, y0 + (r + 1) * s)
        for r in range(4)
        for c in range(4)
    ]
    ids = [f"u{i}" for i in range(16)]
    units = gpd.GeoDataFrame(
        {"workload": np.ones(16), **columns},
        geometry=geoms,
        crs="EPSG:32617",
        index=pd.Index(ids, name="unit_id"),
    )
    halves = Alignment.from_mapping(
        pd.Series(["A"] * 8 + ["B"] * 8, index=ids), name="halves"
    )
    return Study(units), halves


def test_zero_total_balance_or_weight_is_refused_on_every_path():
    """With a start given, DesignProblem.check never ran: bands of [0, 0] on
    'sales' were taken (every member's sales_max_dev NaN), and a weight of 0
    everywhere (any start) gave every plan a moment of inertia of 0."""
    study, halves = _grid16(sales=np.zeros(16))
    balance = (
        "balance on 'sales' is meaningless: its total over all units is 0; balance "
        "an activity with a positive total, or leave it out of balance="
    )
    weight = (
        "weight 'sales' is meaningless: its total over all units is 0, so every "
        "plan's moment of inertia is 0 and no plan is more compact than another; "
        "weight by a measure with a positive total, e.g. weight='workload' (the "
        "default: the first balanced activity)"
    )
    kw = {"n": 4, "seed": 0, "progress": False, "time_limit": 2}
    cases = [
        ({"balance": {"sales": 0.1}, "start": halves}, balance),
        ({"balance": {"sales": 0.1}, "n_territories": 2}, balance),
        ({"balance": {"sales": 0.1}, "start": halves, "method": "restarts"}, balance),
        ({"balance": {"workload": 0.1}, "start": halves, "weight": "sales"}, weight),
        ({"balance": {"workload": 0.1}, "n_territories": 2, "weight": "sales"}, weight),
    ]
    for extra, text in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(SpecificationError) as err:
                ensemble(study, **kw, **extra)
        assert str(err.value) == text, extra


def test_empty_balance_is_refused_not_replaced_by_the_default(region36):
    """balance={} became ±5 % workload without a word."""
    with pytest.raises(SpecificationError) as err:
        ensemble(region36, n=4, balance={}, chains=1, progress=False)
    assert str(err.value) == (
        "balance={} gives no band, and an ensemble needs at least one band, e.g. "
        "{'workload': 0.05} (its members are the plans within the bands); leave "
        "balance=None for ±5 % workload"
    )


def test_provenance_records_the_edges_of_a_given_graph():
    """Two link sets gave the same provenance: only the kind was kept."""
    from terrakit.data import geo

    islands = _two_islands()
    base = geo.adjacency(islands.units)
    g1 = base.with_links([("U02", "U06"), ("U05", "U09")])
    g2 = base.with_links([("U02", "U06")])
    start = pd.Series(["A"] * 6 + ["B"] * 6, index=islands.units.index)
    kw = {"n": 4, "start": start, "balance": {"workload": 0.0}, "seed": 0}
    e1 = ensemble(islands, adjacency=g1, chains=1, progress=False, **kw)
    e2 = ensemble(islands, adjacency=g2, chains=1, progress=False, **kw)
    c1, c2 = e1.provenance["config"], e2.provenance["config"]
    assert c1["adjacency"] == c2["adjacency"] == "queen+links"
    assert (g1.n_edges, g2.n_edges) == (24, 23)  # two 11-edge blocks, the links
    assert c1["adjacency_edges"] == {"n_edges": 24, "sha256": g1.edge_hash()}
    assert c2["adjacency_edges"] == {"n_edges": 23, "sha256": g2.edge_hash()}
    assert c1["adjacency_edges"]["sha256"] != c2["adjacency_edges"]["sha256"]
    # members carry it
    assert e1.alignment(0).provenance["config"]["adjacency_edges"]["n_edges"] == 24


def test_chain_drops_stored_zeros_before_the_check_and_the_moves():
    """A one-way stored zero 0 -> 5 on a path passed the symmetry check
    (zeros eliminated there) but the moves and trees used it as a link:
    113 of 200 plans had a territory in two pieces on the path."""
    rows = [0, 1, 1, 2, 2, 3, 3, 4, 4, 5]
    cols = [1, 0, 2, 1, 3, 2, 4, 3, 5, 4]
    path = sp.csr_matrix((np.ones(10), (rows, cols)), shape=(6, 6))
    zero = sp.csr_matrix(([1.0] * 10 + [0.0], ([*rows, 0], [*cols, 5])), shape=(6, 6))
    assert zero.nnz == 11
    start = np.array([0, 0, 0, 1, 1, 1])
    run = recom_chain(zero, np.ones(6), [3], [3], start, 200, seed=0)
    assert zero.nnz == 11  # the caller's matrix is left as it was
    assert not any(_pieces(path, p) for p in run.plans)
    # a zero stored both ways is no edge either: the run is the path's own
    both = sp.csr_matrix(
        ([1.0] * 10 + [0.0, 0.0], ([*rows, 0, 5], [*cols, 5, 0])), shape=(6, 6)
    )
    on_path = recom_chain(path, np.ones(6), [2], [4], start, 50, seed=3)
    on_both = recom_chain(both, np.ones(6), [2], [4], start, 50, seed=3)
    assert np.array_equal(on_path.plans, on_both.plans)
    # a NaN entry is refused, as terrakit.data.geo.Adjacency refuses it
    nan = path.tolil()
    nan[0, 5] = nan[5, 0] = np.nan
    with pytest.raises(SpecificationError, match=r"must be finite: 2 entries are NaN"):
        recom_chain(nan.tocsr(), np.ones(6), [3], [3], start, 5, seed=0)


def test_restarts_without_contiguity_take_a_start_in_pieces():
    """A start in pieces was refused with "ReCom needs a contiguous start"
    for restarts with contiguity=False too."""
    from terrakit.data import Alignment

    study, _ = _grid16()
    ids = list(study.units.index)
    stripes = ["A" if (i // 4) % 2 == 0 else "B" for i in range(16)]
    start = Alignment.from_mapping(pd.Series(stripes, index=ids), name="stripes")
    kw = {"n": 3, "start": start, "balance": {"workload": 0.1}, "seed": 0}
    kw |= {"progress": False, "time_limit": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens = ensemble(study, method="restarts", contiguity=False, **kw)
    assert ens.territory_ids == ("A", "B") and ens.n_plans >= 1
    assert ens.start.tolist() == [0 if t == "A" else 1 for t in stripes]
    with pytest.raises(SpecificationError) as err:
        ensemble(study, method="restarts", **kw)
    assert str(err.value) == (
        "the start plan has 2 territories in several pieces (['A', 'B']); the "
        "restarts sample contiguous plans (contiguity=True): pass a contiguous "
        "start, or contiguity=False to sample plans whose territories may be in "
        "pieces"
    )
    with pytest.raises(SpecificationError, match=r"; ReCom needs a contiguous start$"):
        ensemble(study, **kw)


def test_audit_report_carries_provenance_and_shows_the_seed(region36, ens36):
    """The report kept no provenance: nothing said which ensemble (seed,
    bands, start, graph) its percentiles came from."""
    cur = region36.alignments["current"]
    rep = audit(ens36.alignment(5), ens36, measures="workload")
    prov = rep.provenance
    assert prov["method"] == "audit" and prov["seed"] == 1
    assert prov["ensemble"]["seed"] == 1
    assert prov["ensemble"]["config"] == dict(ens36.provenance["config"])
    assert {k: prov["config"][k] for k in ("plan", "baseline", "measures")} == {
        "plan": "ensemble_5",
        "baseline": "current",
        "measures": ["workload"],
    }
    assert len(prov["config"]["plan_hash"]) == 16 and "terrakit_version" in prov
    # the same plan given as a Series: the same hash; the baseline's is its own
    again = audit(ens36.alignment(5).assignment, ens36, baseline=cur)
    assert again.provenance["config"]["plan_hash"] == prov["config"]["plan_hash"]
    assert (
        again.provenance["config"]["baseline_hash"] == (prov["config"]["baseline_hash"])
    )
    assert prov["config"]["baseline_hash"] != prov["config"]["plan_hash"]
    none = audit(cur, ens36, baseline=None).provenance["config"]
    assert (none["baseline"], none["baseline_hash"]) == (None, None)
    assert rep.summary().splitlines()[1] == "  ensemble seed 1"


def test_default_baseline_without_a_current_alignment_leaves_out_disruption(ens36):
    """The default baseline 'current' was refused when the study has none:
    the documented default call failed for a study with no current plan."""
    bare = dataclasses.replace(ens36, reference=None)  # a study with no current
    rep = audit(ens36.alignment(5), bare)
    assert rep.baseline is None
    assert not rep.metrics.index.str.endswith("_moved_share").any()
    assert (
        "  no disruption rows: the study has no 'current' alignment to measure the "
        "moves against (pass baseline= an Alignment)"
    ) in rep.summary().splitlines()
    # asked for by name, it is still refused
    with pytest.raises(SpecificationError) as err:
        audit(ens36.alignment(5), bare, baseline="current")
    assert str(err.value) == (
        "baseline 'current' is not known to the ensemble; pass an Alignment or None"
    )
    # with a current alignment, the default measures against it (no note)
    with_current = audit(ens36.alignment(5), ens36)
    assert with_current.baseline == "current" and not with_current.notes
    assert "units_moved_share" in with_current.metrics.index


@pytest.mark.parametrize("bad", [3, 0.5, [3], ["workload", None]])
def test_audit_measures_that_are_no_names_are_refused(region36, ens36, bad):
    """measures=3 was a bare "TypeError: 'int' object is not iterable"."""
    with pytest.raises(SpecificationError) as err:
        audit(region36.alignments["current"], ens36, measures=bad)
    assert str(err.value) == (
        f"measures must be a measure's name or a list of names, got {bad!r}; name "
        "some of ['accounts', 'potential', 'sales', 'workload'], e.g. "
        "measures='accounts', or leave measures=None for those of 'potential' and "
        "'workload' the ensemble carries"
    )

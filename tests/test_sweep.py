"""tk.sweep: scenarios, keys, seeds, serial == parallel, failures, resume, kills."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from terrakit.exceptions import SpecificationError, TerrakitWarning
from terrakit.sweeps import scenario_key, scenario_seed, scenarios, sweep

DESIGN_OPTS = {"solver": "heuristic", "time_limit": 20, "max_iter": 2000}


@pytest.fixture(scope="module")
def region40():
    """40 Voronoi postal areas, 3 reps (synthetic_region seed 3): small enough
    that one heuristic design takes a fraction of a second."""
    from terrakit.data.synthetic import synthetic_region

    return synthetic_region(n_units=40, n_reps=3, seed=3)


@pytest.fixture(scope="module")
def cluster_client():
    """A local Dask cluster of 2 single-threaded worker processes."""
    distributed = pytest.importorskip("distributed")
    import logging

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _noisy_task(delay: float = 0.0):
    """A cheap deterministic task f(study, seed, x): value from the seed."""

    def noisy(study: Any, *, seed: int, x: float) -> dict[str, Any]:
        if delay:
            time.sleep(delay)
        if x < 0:
            raise ValueError(f"x must be >= 0, got {x}")
        rng = np.random.default_rng(seed)
        return {"value": float(rng.normal()) + x, "n_units": len(study.units)}

    return noisy


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.drop(columns="seconds"), b.drop(columns="seconds"), check_exact=True
    )


# -- scenarios, keys, seeds -----------------------------------------------------------
def test_scenarios_product_order_first_parameter_slowest():
    sc = scenarios({"n_territories": range(2, 4), "tolerance": [0.05, 0.1]})
    assert sc == [
        {"n_territories": 2, "tolerance": 0.05},
        {"n_territories": 2, "tolerance": 0.1},
        {"n_territories": 3, "tolerance": 0.05},
        {"n_territories": 3, "tolerance": 0.1},
    ]


@pytest.mark.parametrize(
    ("grid", "fragment"),
    [
        ({}, "the grid is empty"),
        ({"tolerance": []}, "grid['tolerance'] has no values"),
        ({"tolerance": 0.05}, "must be a list of values"),
        ([{"a": 1}, {"a": 1}], "scenario 1 repeats scenario 0"),
        ([], "has no scenarios"),
        ({"a": [object()]}, "cannot be written as JSON"),
    ],
)
def test_scenarios_bad_grid_is_explained(grid, fragment):
    with pytest.raises(SpecificationError, match=fragment.replace("[", r"\[")):
        scenarios(grid)


def test_key_is_canonical_and_seed_depends_on_params_not_order():
    k1 = scenario_key("design", {"b": 1, "a": np.int64(2)}, 0)
    k2 = scenario_key("design", {"a": 2, "b": 1}, 0)
    assert k1 == k2
    assert json.loads(k1) == {"task": "design", "params": {"a": 2, "b": 1}, "seed": 0}
    assert scenario_seed(0, {"a": 2, "b": 1}) == scenario_seed(0, {"b": 1, "a": 2})
    seeds = {scenario_seed(s, {"a": a}) for s in range(3) for a in range(30)}
    assert len(seeds) == 90


def test_one_scenario_written_two_ways_is_a_repeat(region40):
    """30 and 30.0, or 0.1 and "0.1", ran as two scenarios with two seeds."""
    with pytest.raises(SpecificationError) as err:
        scenarios({"call_minutes": [30, 30.0]})
    assert str(err.value) == (
        'scenario 1 repeats scenario 0 ({"call_minutes":30}) '
        "({'call_minutes': 30} and {'call_minutes': 30.0} are the same: a whole "
        "number counts alike with or without '.0'); each scenario once"
    )
    assert scenario_key("sizing", {"call_minutes": 30.0}, 0) == scenario_key(
        "sizing", {"call_minutes": 30}, 0
    )
    assert scenario_seed(0, {"n": 30.0, "b": {"w": 2.0}}) == scenario_seed(
        0, {"n": 30, "b": {"w": 2}}
    )
    with pytest.raises(SpecificationError) as err:
        sweep(
            region40,
            {"tolerance": [0.1, "0.1"]},
            options=DESIGN_OPTS,
            client="serial",
            progress=False,
        )
    assert str(err.value) == (
        'scenario {"params":{"max_iter":2000,"solver":"heuristic","time_limit":20,'
        '"tolerance":"0.1"},"seed":0,"task":"design"}: tolerance=\'0.1\' is text, '
        "not a number. Fix: write tolerance=0.1 (as text it would run as a second "
        "scenario beside the number)"
    )


def test_bad_task_client_and_out_are_explained(region40, tmp_path):
    with pytest.raises(SpecificationError, match="task must be one of"):
        sweep(region40, {"x": [1]}, task="routing", client="serial")
    with pytest.raises(SpecificationError, match=r"must be a distributed\.Client"):
        sweep(region40, {"x": [1.0]}, task=_noisy_task(), client="local")
    with pytest.raises(SpecificationError, match=r"ending in \.gpkg"):
        sweep(region40, {"x": [1.0]}, task=_noisy_task(), out=tmp_path / "s.csv")
    with pytest.raises(
        SpecificationError, match=r"does not know the parameters \['k'\]"
    ):
        sweep(region40, {"k": [2]}, task="design", client="serial", progress=False)
    with pytest.raises(SpecificationError, match="seed must be a non-negative"):
        sweep(region40, {"x": [1.0]}, task=_noisy_task(), seed="x", client="serial")


# -- tasks --------------------------------------------------------------------------
def test_design_sweep_rows_respect_their_bands(region40):
    res = sweep(
        region40,
        {"n_territories": [2, 4], "tolerance": [0.05, 0.15]},
        options=DESIGN_OPTS,
        client="serial",
        progress=False,
    )
    t = res.to_frame()
    assert len(t) == 4 and list(t.columns[:2]) == ["n_territories", "tolerance"]
    total = region40.units["workload"].sum()
    for i, r in t.iterrows():
        assert r["status"] in ("optimal", "feasible"), r["error"]
        mean = total / r["n_territories"]
        assert r["workload_max"] <= (1 + r["tolerance"]) * mean * (1 + 1e-9)
        assert r["workload_min"] >= (1 - r["tolerance"]) * mean * (1 - 1e-9)
        al = res.alignment(i)
        assert al.n_territories == r["n_territories"]
        from terrakit.metrics import is_contiguous

        assert is_contiguous(region40, al)
    assert "seconds" not in res.summary()
    assert res.summary() == res.summary()


def _check_design_provenance(res, i: int) -> dict[str, Any]:
    """The provenance of scenario ``i``'s alignment is the design result's
    make_provenance record with the scenario's facts."""
    import terrakit

    row = res.to_frame().iloc[i]
    prov = dict(res.alignment(i).provenance)
    assert prov["method"] == row["method"] == "heuristic"
    assert prov["status"] == row["status"]
    assert prov["seed"] == row["seed"]  # the scenario's own seed, not the sweep's
    assert prov["terrakit_version"] == terrakit.__version__
    assert prov["created"]  # an ISO timestamp
    assert prov["config"]["tolerance"] == row["tolerance"]
    assert prov["config"]["solver"] == "heuristic"
    assert prov["config"]["max_iter"] == DESIGN_OPTS["max_iter"]
    assert prov["task"] == "design"
    assert prov["sweep_key"] == row["key"] and prov["sweep_seed"] == res.seed
    assert repr(res.alignment(i)).endswith("method='heuristic')")
    return prov


def test_design_sweep_alignment_keeps_its_provenance_also_when_resumed(
    region40, tmp_path
):
    """The alignment of a scenario had only ``{"sweep_key": ...}`` (method '?')."""
    out = tmp_path / "prov.gpkg"
    grid = {"tolerance": [0.1, 0.2]}
    kw = {"options": DESIGN_OPTS, "client": "serial", "progress": False, "seed": 3}
    res = sweep(region40, grid, out=out, **kw)
    made = [_check_design_provenance(res, i) for i in range(2)]
    assert made[0]["seed"] != made[1]["seed"]
    back = sweep(region40, grid, out=out, **kw)
    assert back.n_resumed == 2
    for i in range(2):
        assert _check_design_provenance(back, i) == made[i]  # timestamp included
    # rows stored before sweeps kept provenance: a make_provenance record
    with sqlite3.connect(out) as con:
        for key, body in con.execute('SELECT key, row FROM "sweep"').fetchall():
            r = json.loads(body)
            r.pop("provenance")
            con.execute(
                'UPDATE "sweep" SET row = ? WHERE key = ?', (json.dumps(r), key)
            )
    old = sweep(region40, grid, out=out, **kw)
    prov = old.alignment(1).provenance
    assert prov["method"] == "sweep/design" and prov["seed"] == old.table["seed"][1]
    assert prov["config"]["tolerance"] == 0.2
    assert prov["status"] == old.table["status"][1]
    assert prov["sweep_key"] == old.table["key"][1] and "terrakit_version" in prov


def test_callable_task_alignment_gets_a_provenance_record(region40):
    def split(study: Any, *, seed: int, cut: int) -> dict[str, Any]:
        ids = list(study.units.index)
        return {"assignment": ["A" if j < cut else "B" for j in range(len(ids))]}

    res = sweep(
        region40, {"cut": [10, 20]}, task=split, client="serial", progress=False
    )
    prov = res.alignment(1).provenance
    assert prov["method"].startswith("sweep/") and prov["method"].endswith("split")
    assert prov["seed"] == res.table["seed"][1] and prov["config"] == {"cut": 20}
    assert prov["status"] == "ok" and "created" in prov
    assert res.alignment(1).n_territories == 2


def test_failed_scenario_is_reported_while_others_complete(region40):
    res = sweep(
        region40,
        {"x": [1.0, -1.0, 2.0]},
        task=_noisy_task(),
        client="serial",
        progress=False,
    )
    t = res.to_frame()
    assert t["status"].tolist() == ["ok", "error", "ok"]
    assert t.loc[1, "error"] == "ValueError: x must be >= 0, got -1.0"
    assert res.n_failed == 1 and res.failed().index.tolist() == [1]
    assert (t.loc[[0, 2], "n_units"] == 40).all()
    # an impossible design specification is an error row too
    res2 = sweep(
        region40,
        {"n_territories": [3], "tolerance": [0.0001]},
        options={**DESIGN_OPTS, "contiguity": True},
        client="serial",
        progress=False,
    )
    row = res2.to_frame().iloc[0]
    assert row["status"] in ("error", "not_found")


def test_a_design_row_cut_by_the_clock_says_so_and_is_no_proof(region40):
    """A heuristic run the clock stopped before its iteration budget came back
    'infeasible', and nothing in the row said the clock stopped it (the
    warning is silenced in the workers).  The row now has ``cut_by_clock``
    (also in its alignment's provenance) and, as in design.pareto, a search
    that found no plan is 'not_found', not a proven 'infeasible'."""
    res = sweep(
        region40,
        {"tolerance": [0.0001]},
        options={"solver": "heuristic", "time_limit": 0.3, "max_iter": 10**7},
        client="serial",
        progress=False,
    )
    t = res.to_frame()
    assert t["status"].tolist() == ["not_found"]
    assert t["cut_by_clock"].tolist() == [True]
    prov = res.alignment(0).provenance
    assert prov["cut_by_clock"] is True and prov["status"] == "not_found"
    # a run that spends its whole budget is not cut
    done = sweep(
        region40,
        {"tolerance": [0.15]},
        options=DESIGN_OPTS,
        client="serial",
        progress=False,
    )
    assert done.to_frame()["cut_by_clock"].tolist() == [False]
    assert done.alignment(0).provenance["cut_by_clock"] is False


def test_sizing_sweep_matches_the_workload_build_up(region40):
    from terrakit.sizing import workload

    res = sweep(
        region40,
        {"hours_per_rep": [1200, 1600]},
        task="sizing",
        options={"travel": None},
        client="serial",
        progress=False,
    )
    hours = workload(region40, travel=None).total_hours
    t = res.to_frame()
    assert t["total_hours"].tolist() == pytest.approx([hours, hours])
    assert t["reps_fractional"].tolist() == pytest.approx([hours / 1200, hours / 1600])
    assert t["reps"].tolist() == [
        int(np.ceil(hours / 1200)),
        int(np.ceil(hours / 1600)),
    ]


def test_rebalance_sweep_rows_meet_their_tolerance(region40):
    pytest.importorskip("terrakit.realign.rebalance")
    res = sweep(
        region40,
        {"tolerance": [0.15, 0.3]},
        task="rebalance",
        options={"time_limit": 10},
        client="serial",
        progress=False,
    )
    t = res.to_frame()
    assert (t["status"] != "error").all(), t["error"].tolist()
    assert (t["max_deviation"] <= t["tolerance"] + 1e-9).all()
    assert t["moved_share"].between(0, 1).all()
    # the reported bound is a bound
    assert (t["lower_bound"] <= t["moved"] * (1 + 1e-9) + 1e-6).all()
    assert res.alignment(0).n_territories == 3
    prov = res.alignment(0).provenance
    assert prov["seed"] == t["seed"][0] and prov["config"]["tolerance"] == 0.15
    assert prov["method"] != "sweep/rebalance"  # the rebalance result's own record
    assert prov["sweep_key"] == t["key"][0]


# -- streaming and resume ---------------------------------------------------------
def test_rows_stream_into_a_geopackage_and_a_resume_runs_only_the_rest(
    region40, tmp_path
):
    import pyogrio

    out = tmp_path / "sweep.gpkg"
    grid = {"x": [0.0, 1.0, 2.0, 3.0, 4.0]}
    task = _noisy_task()
    seen: list[int] = []

    def stop_after_two(i: int, row: Any) -> None:
        seen.append(i)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(
            region40, grid, task=task, client="serial", out=out, on_row=stop_after_two
        )
    stored = pyogrio.read_dataframe(out, layer="sweep")
    assert len(stored) == 2 and set(stored["status"]) == {"ok"}

    ran: list[int] = []
    res = sweep(
        region40,
        grid,
        task=task,
        client="serial",
        out=out,
        on_row=lambda i, r: ran.append(i),
    )
    assert res.n_resumed == 2 and sorted(ran) == [2, 3, 4]
    fresh = sweep(region40, grid, task=task, client="serial", progress=False)
    _same_rows(res.to_frame(), fresh.to_frame())
    with sqlite3.connect(out) as con:
        n = con.execute('SELECT COUNT(*), COUNT(DISTINCT key) FROM "sweep"').fetchone()
    assert n == (5, 5)
    # a third run has nothing left to do
    again = sweep(region40, grid, task=task, client="serial", out=out)
    assert again.n_resumed == 5


def test_error_rows_are_run_again_on_resume(region40, tmp_path):
    out = tmp_path / "s.gpkg"
    first = sweep(
        region40,
        {"x": [1.0, -1.0]},
        task=_noisy_task(),
        out=out,
        client="serial",
        progress=False,
    )
    assert first.n_failed == 1
    ran: list[int] = []
    second = sweep(
        region40,
        {"x": [1.0, -1.0]},
        task=_noisy_task(),
        out=out,
        client="serial",
        progress=False,
        on_row=lambda i, r: ran.append(i),
    )
    assert ran == [1] and second.n_resumed == 1


def test_sweep_table_lives_beside_a_study_in_its_file(region40, tmp_path):
    from terrakit.data import Study

    path = region40.save(tmp_path / "study.gpkg")
    sweep(
        region40,
        {"x": [1.0]},
        task=_noisy_task(),
        out=path,
        table="scen",
        client="serial",
        progress=False,
    )
    back = Study.load(path)
    assert back.equals(region40)
    import pyogrio

    layers = {str(n) for n, _ in pyogrio.list_layers(path)}
    assert "scen" in layers and "units" in layers


# -- a real cluster ---------------------------------------------------------------
def test_parallel_design_sweep_equals_serial(region40, cluster_client):
    grid = {"n_territories": [2, 3], "tolerance": [0.05, 0.15]}
    ser = sweep(
        region40, grid, options=DESIGN_OPTS, client="serial", seed=7, progress=False
    )
    par = sweep(
        region40,
        grid,
        options=DESIGN_OPTS,
        client=cluster_client,
        seed=7,
        progress=False,
    )
    _same_rows(ser.to_frame(), par.to_frame())
    assert dict(ser.assignments) == dict(par.assignments)


def test_killed_worker_loses_no_scenario(region40, cluster_client, tmp_path):
    out = tmp_path / "kill.gpkg"
    grid = {"x": [float(v) for v in range(12)]}
    task = _noisy_task(delay=0.3)
    killed: list[str] = []

    def kill_one(i: int, row: Any) -> None:
        if killed:
            return
        busy = [w for w, keys in cluster_client.processing().items() if keys]
        if busy:
            killed.append(busy[0])
            pid = cluster_client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)  # a hard crash of the worker process

    res = sweep(
        region40,
        grid,
        task=task,
        client=cluster_client,
        out=out,
        on_row=kill_one,
        progress=False,
    )
    assert killed, "no worker was busy to be killed"
    serial = sweep(region40, grid, task=task, client="serial", progress=False)
    _same_rows(res.to_frame(), serial.to_frame())
    assert (res.to_frame()["status"] == "ok").all()
    with sqlite3.connect(out) as con:
        n = con.execute('SELECT COUNT(*), COUNT(DISTINCT key) FROM "sweep"').fetchone()
    assert n == (12, 12)


def _dying_task(marker_dir: str):
    """f(study, seed, x): x == 3 kills its worker process once (a transient
    crash, e.g. out of memory), x == 6 every time; the others take 0.2 s."""

    def dying(study: Any, *, seed: int, x: float) -> dict[str, Any]:
        marker = os.path.join(marker_dir, f"died_{x:g}")
        if x == 6 or (x == 3 and not os.path.exists(marker)):
            open(marker, "w").close()
            os._exit(3)
        time.sleep(0.2)
        return {"n": len(study.units) * x}

    return dying


def test_a_dying_worker_loses_only_its_own_scenario(region40, tmp_path):
    """One worker (so it is the only one holding the study): its death while
    running a scenario lost the scattered study and with it every scenario
    still to run ('FutureCancelledError: ... already forgotten').  The study
    now travels as a task result the scheduler computes again: a scenario
    whose worker died once runs again, one that kills its worker every time
    is reported as such, and the healthy ones complete."""
    distributed = pytest.importorskip("distributed")
    import logging

    import dask

    with dask.config.set(
        {
            "distributed.scheduler.allowed-failures": 1,
            # one task at a time on the worker: its death hits only that one
            "distributed.scheduler.worker-saturation": 1.0,
        }
    ):
        cluster = distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )
    try:
        with distributed.Client(cluster) as client:
            res = sweep(
                region40,
                {"x": [0.0, 3.0, 4.0, 6.0, 5.0]},
                task=_dying_task(str(tmp_path)),
                client=client,
                progress=False,
            )
    finally:
        cluster.close()
    t = res.to_frame()
    assert t["status"].tolist() == ["ok", "ok", "ok", "error", "ok"]
    assert t["n"].tolist()[:3] == [0.0, 120.0, 160.0] and t["n"][4] == 200.0
    assert t.loc[3, "error"] == (
        "the worker running this scenario died (memory/crash) on each of its 2 "
        "attempts; run it alone (client='serial') to see why, or give the "
        "workers more memory"
    )


def test_tk_sweep_is_the_function_after_the_module_is_imported(region40):
    import terrakit as tk
    import terrakit.sweeps  # the module is sweeps, the function sweep

    res = tk.sweep(
        region40, {"x": [1.0]}, task=_noisy_task(), client="serial", progress=False
    )
    assert res.to_frame()["status"].tolist() == ["ok"]


# -- bad input is refused before any scenario runs ------------------------------------
def test_a_grid_that_is_a_string_is_explained():
    with pytest.raises(
        SpecificationError, match=r"grid must be \{parameter: values\} or a list"
    ):
        scenarios("tolerance")


def test_parameter_typos_are_refused_before_any_scenario_runs(region40):
    """Were error rows, one per scenario, after each had been sent to run."""
    ran: list[int] = []
    kw: dict[str, Any] = {
        "client": "serial",
        "progress": False,
        "on_row": lambda i, r: ran.append(i),
    }
    with pytest.raises(
        SpecificationError,
        match=r"task='sizing' does not know the parameters \['hours_per_rp'\]; .*"
        r"did you mean 'hours_per_rep' for 'hours_per_rp'\?",
    ):
        sweep(region40, {"hours_per_rp": [1500, 1600]}, task="sizing", **kw)
    with pytest.raises(
        SpecificationError,
        match=r"does not know the parameters \['call_minute'\] \(from options\)",
    ):
        sweep(
            region40,
            {"hours_per_rep": [1500]},
            task="sizing",
            options={"call_minute": 30},
            **kw,
        )
    with pytest.raises(
        SpecificationError,
        match=r"task='rebalance' does not know the parameters \['tolerence'\]",
    ):
        sweep(region40, {"tolerence": [0.1]}, task="rebalance", **kw)
    with pytest.raises(
        SpecificationError,
        match=r"does not know the parameters \['y'\]; it takes \['x'\]",
    ):
        sweep(region40, {"y": [1.0]}, task=_noisy_task(), **kw)

    def no_seed(study: Any, x: float) -> dict[str, Any]:
        return {"x": x}

    with pytest.raises(SpecificationError, match="takes no seed keyword"):
        sweep(region40, {"x": [1.0]}, task=no_seed, **kw)
    assert ran == []


@pytest.mark.parametrize(
    ("grid", "options", "message"),
    [
        ({"tolerance": [0.1, "5%"]}, {}, "tolerance='5%' is not a number in [0, 1)"),
        ({"tolerance": [0.1]}, {"balance": ["workload"]}, "balance=['workload'] is"),
        ({"n_territories": ["eighteen"]}, {}, "n_territories='eighteen' is not a"),
    ],
)
def test_bad_design_values_are_refused_naming_the_scenario(
    region40, grid, options, message
):
    """One bad value stopped the whole sweep with a bare ValueError (e.g.
    "could not convert string to float: '5%'"), naming nothing."""
    with pytest.raises(SpecificationError) as info:
        sweep(
            region40,
            grid,
            options={**DESIGN_OPTS, **options},
            client="serial",
            progress=False,
        )
    assert message in str(info.value) and "Fix:" in str(info.value)
    assert str(info.value).startswith("scenario {")


def test_alignment_of_a_missing_scenario_says_how_many_there_are(region40):
    res = sweep(
        region40,
        {"tolerance": [0.2]},
        options=DESIGN_OPTS,
        client="serial",
        progress=False,
    )
    with pytest.raises(IndexError, match=r"no scenario at position 5; the sweep has 1"):
        res.alignment(5)
    assert res.alignment(-1).assignment.equals(res.alignment(0).assignment)


def test_options_that_make_two_scenarios_equal_are_refused_first(region40):
    """Was a ValueError from SweepResult after every scenario had run."""
    ran: list[int] = []
    with pytest.raises(
        SpecificationError, match="scenario 1 is scenario 0 once options are applied"
    ):
        sweep(
            region40,
            [{"hours_per_rep": 1500}, {"hours_per_rep": 1500, "travel": None}],
            task="sizing",
            options={"travel": None},
            client="serial",
            progress=False,
            on_row=lambda i, r: ran.append(i),
        )
    assert ran == []
    with pytest.raises(SpecificationError, match="retries must be a whole number"):
        sweep(region40, {"x": [1.0]}, task=_noisy_task(), retries=-1, client="serial")
    with pytest.raises(SpecificationError, match="options must be a dict"):
        sweep(
            region40,
            {"x": [1.0]},
            task=_noisy_task(),
            options=[("x", 1)],
            client="serial",
        )


def test_resuming_into_the_table_of_another_study_is_refused(region40, tmp_path):
    """Rows of a 40-unit study were read back as the results of a 30-unit one."""
    from terrakit.data.synthetic import synthetic_region

    other = synthetic_region(n_units=30, n_reps=3, seed=4)
    out = tmp_path / "s.gpkg"
    grid = {"x": [1.0, 2.0]}
    kw: dict[str, Any] = {"task": _noisy_task(), "client": "serial", "progress": False}
    first = sweep(region40, grid, out=out, **kw)
    with pytest.raises(
        SpecificationError,
        match=r"table 'sweep' of 's.gpkg' holds 2 of 2 rows of another study .*"
        r"Fix: write this sweep to another table",
    ):
        sweep(other, grid, out=out, **kw)
    # the same study resumes; the other one gets its own table
    assert sweep(region40, grid, out=out, **kw).n_resumed == 2
    res = sweep(other, grid, out=out, table="other", **kw)
    assert res.n_resumed == 0 and (res.to_frame()["n_units"] == 30).all()
    assert (first.to_frame()["n_units"] == 40).all()


def test_resume_runs_the_rows_of_a_changed_task_function_again(region40, tmp_path):
    """A task function fixed between two runs into the same file: its old rows
    were returned as resumed results (no warning).  Each row now carries a
    digest of the task's code; rows of another version are run again, with a
    warning, and an unchanged task resumes silently."""
    import warnings

    from terrakit.exceptions import TerrakitWarning

    out = tmp_path / "s.gpkg"
    grid = {"hours": [1500.0, 1600.0]}
    kw: dict[str, Any] = {"client": "serial", "progress": False, "out": out}

    def reps(study: Any, *, seed: int, hours: float) -> dict[str, Any]:
        return {"reps": float(study.units["workload"].sum() / 1000)}

    sweep(region40, grid, task=reps, **kw)

    def reps(study: Any, *, seed: int, hours: float) -> dict[str, Any]:
        return {"reps": float(study.units["workload"].sum() / hours)}

    with pytest.warns(
        TerrakitWarning,
        match=r"2 stored rows of table 'sweep' in 's.gpkg' \(task '.*reps'\) were "
        r"written by another version of the task's code; they are run again",
    ):
        res = sweep(region40, grid, task=reps, **kw)
    total = float(region40.units["workload"].sum())
    assert res.n_resumed == 0
    assert res.table["reps"].tolist() == [total / 1500.0, total / 1600.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = sweep(region40, grid, task=reps, **kw)
    assert again.n_resumed == 2
    _same_rows(again.to_frame(), res.to_frame())


def test_resume_runs_again_when_a_helper_of_the_task_changed(
    region40, tmp_path, monkeypatch
):
    """Only the task function's own source was hashed: after a helper function
    (or a constant) of its module changed, the stale rows were resumed
    silently.  The digest now covers the task's whole module; code elsewhere
    is covered by the user's task_version label."""
    import importlib
    import sys
    import warnings

    from terrakit.exceptions import TerrakitWarning

    src = "def price(x):\n    return {f} * x\n\n\ndef task(study, *, seed, x):\n"
    src += "    return {{'value': price(x)}}\n"
    monkeypatch.syspath_prepend(str(tmp_path))
    kw: dict[str, Any] = {"client": "serial", "progress": False}
    out = tmp_path / "h.gpkg"
    values = []
    for factor in (1, 100):
        (tmp_path / "sweephelper.py").write_text(src.format(f=factor))
        importlib.invalidate_caches()
        sys.modules.pop("sweephelper", None)
        mod = importlib.import_module("sweephelper")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = sweep(region40, {"x": [1, 2]}, task=mod.task, out=out, **kw)
        values.append((res.table["value"].tolist(), res.n_resumed))
    sys.modules.pop("sweephelper", None)
    assert values == [([1, 2], 0), ([100, 200], 0)]
    assert [str(w.message) for w in caught] == [
        "sweep: 2 stored rows of table 'sweep' in 'h.gpkg' (task "
        "'sweephelper.task') were written by another version of the task's "
        "code; they are run again and replaced"
    ]
    # the user's label: rows of another task_version run again
    grid = {"hours_per_rep": [1500]}
    kw.update(task="sizing", out=tmp_path / "v.gpkg")
    first = sweep(region40, grid, task_version="1", **kw)
    assert first.provenance["task_version"] == "1"
    assert sweep(region40, grid, task_version="1", **kw).n_resumed == 1
    with pytest.warns(
        TerrakitWarning,
        match=r"1 stored row of table 'sweep' in 'v.gpkg' \(task 'sizing'\) was "
        r"written for task_version='1' \(this is 2\); it is run again",
    ):
        assert sweep(region40, grid, task_version=2, **kw).n_resumed == 0
    with pytest.raises(
        SpecificationError,
        match=r"task_version must be a non-empty string or a whole number .*, "
        r"got 1\.5",
    ):
        sweep(region40, grid, task_version=1.5, **kw)


def test_sweeps_carry_provenance_and_rows_of_another_version_run_again(
    region40, tmp_path
):
    """A sizing sweep had no provenance (no terrakit or library versions), and
    rows written by another terrakit version were resumed as this run's."""
    import terrakit
    from terrakit.exceptions import TerrakitWarning

    out = tmp_path / "s.gpkg"
    grid = {"hours_per_rep": [1500, 1600]}
    kw: dict[str, Any] = {"task": "sizing", "client": "serial", "progress": False}
    res = sweep(region40, grid, out=out, seed=7, options={"call_minutes": 30}, **kw)
    assert (res.table["status"] == "ok").all()
    prov = res.provenance
    assert prov["terrakit_version"] == terrakit.__version__
    assert prov["libraries"]["numpy"] == np.__version__
    assert prov["seed"] == 7 and prov["options"] == {"call_minutes": 30}
    assert prov["task"] == "sizing" and prov["task_code"] is None
    assert prov["created"][:4].isdigit()
    with sqlite3.connect(out) as con:
        stored = [json.loads(r) for (r,) in con.execute('SELECT row FROM "sweep"')]
    assert len(stored) == 2 and all(r["_sweep"] == dict(prov) for r in stored)
    # the same version resumes; rows of another one are run again
    assert (
        sweep(
            region40, grid, out=out, seed=7, options={"call_minutes": 30}, **kw
        ).n_resumed
        == 2
    )
    with sqlite3.connect(out) as con:
        key, row = con.execute('SELECT key, row FROM "sweep"').fetchone()
        r = json.loads(row)
        r["_sweep"]["terrakit_version"] = "0.0.1"
        r["reps"] = -1.0
        con.execute('UPDATE "sweep" SET row=? WHERE key=?', (json.dumps(r), key))
    with pytest.warns(
        TerrakitWarning,
        match=rf"1 stored row .* was written by terrakit 0\.0\.1 \(this is "
        rf"{terrakit.__version__}\); it is run again",
    ):
        again = sweep(
            region40, grid, out=out, seed=7, options={"call_minutes": 30}, **kw
        )
    assert again.n_resumed == 1
    _same_rows(again.to_frame(), res.to_frame())


def test_out_that_is_no_sweep_table_or_no_geopackage_is_explained(region40, tmp_path):
    """A study layer as the table raised sqlite3.OperationalError, a text file
    named .gpkg sqlite3.DatabaseError; neither file is touched."""
    from terrakit.data import Study

    path = region40.save(tmp_path / "study.gpkg")
    kw: dict[str, Any] = {"task": "sizing", "client": "serial", "progress": False}
    for layer in ("alignments", "units"):
        with pytest.raises(
            SpecificationError,
            match=rf"table '{layer}' of 'study.gpkg' is not a sweep table \(its "
            r"columns: fid, .*Fix: pass another table name",
        ):
            sweep(region40, {"hours_per_rep": [1600]}, out=path, table=layer, **kw)
    assert Study.load(path).equals(region40)
    notes = tmp_path / "notes.gpkg"
    notes.write_text("not a database")
    with pytest.raises(
        SpecificationError,
        match=r"notes.gpkg' exists but is not a GeoPackage \(SQLite: file is not a "
        r"database\).*Fix: pass a new .gpkg path",
    ):
        sweep(region40, {"hours_per_rep": [1600]}, out=notes, **kw)
    assert notes.read_text() == "not a database"


# -- results named like parameters, whole-number floats, metadata ------------------
def test_a_design_objective_parameter_keeps_its_column(region40, tmp_path):
    """The design result ``objective`` overwrote the build parameter of that
    name: two ``objective`` columns, both numeric, and summary() crashed."""
    out = tmp_path / "s.gpkg"
    kw: dict[str, Any] = {"options": DESIGN_OPTS, "client": "serial", "progress": False}
    grid = {"objective": ["compactness", "cut_edges"]}
    res = sweep(region40, grid, out=out, **kw)
    t = res.table
    assert not t.columns.duplicated().any()
    assert t["objective"].tolist() == ["compactness", "cut_edges"]
    assert (t["status"] == "feasible").all()
    assert t["objective_value"].dtype == float and (t["objective_value"] > 0).all()
    assert t["objective_value"][1] == t["cut_edges"][1]  # the cut-edges objective
    assert "compactness" in res.summary()
    # a row stored before the rename resumes under the new name
    with sqlite3.connect(out) as con:
        key, row = con.execute('SELECT key, row FROM "sweep"').fetchone()
        r = {
            ("objective" if c == "objective_value" else c): v
            for c, v in json.loads(row).items()
        }
        con.execute('UPDATE "sweep" SET row=? WHERE key=?', (json.dumps(r), key))
    again = sweep(region40, grid, out=out, **kw)
    assert again.n_resumed == 2
    _same_rows(again.table, t)


def test_callable_results_named_like_a_parameter_or_seed_are_refused(
    region40, tmp_path
):
    """A task's ``x`` result replaced the parameter x and its ``seed`` result
    was silently replaced by the scenario's seed."""
    from terrakit.exceptions import TerrakitWarning

    def clash(study: Any, *, seed: int, x: int) -> dict[str, Any]:
        return {"x": 100 * x, "seed": 5} if x == 1 else {"value": 100 * x}

    res = sweep(region40, {"x": [1, 2]}, task=clash, client="serial", progress=False)
    t = res.table
    assert not t.columns.duplicated().any() and t["x"].tolist() == [1, 2]
    assert t["status"].tolist() == ["error", "ok"] and t["value"][1] == 200
    assert t["error"][0] == (
        "SpecificationError: the task returned results named like the scenario's "
        "parameters ['x'] and the sweep table's own columns ['seed']; a result may "
        "not replace those columns of the table. Fix: rename these keys of the "
        "dict the task returns (e.g. 'x' -> 'x_result')"
    )
    assert "scenario 0: SpecificationError" in res.summary()
    # a row stored with such a result (before they were refused) is run again
    out = tmp_path / "s.gpkg"
    kw: dict[str, Any] = {"task": _noisy_task(), "client": "serial", "out": out}
    first = sweep(region40, {"x": [1.0]}, **kw)
    with sqlite3.connect(out) as con:
        key, row = con.execute('SELECT key, row FROM "sweep"').fetchone()
        r = {**json.loads(row), "x": 7.0}
        con.execute('UPDATE "sweep" SET row=? WHERE key=?', (json.dumps(r), key))
    with pytest.warns(
        TerrakitWarning,
        match=r"1 stored row .* was holding results named like its parameters "
        r"\['x'\]; it is run again and replaced",
    ):
        again = sweep(region40, {"x": [1.0]}, **kw)
    assert again.n_resumed == 0
    _same_rows(again.table, first.table)

    def anything(study: Any, *, seed: int, **params: Any) -> dict[str, Any]:
        return {"value": 1}

    with pytest.raises(
        SpecificationError,
        match=r"^parameters \['key'\] are named like columns every sweep row has",
    ):
        sweep(region40, {"key": [1]}, task=anything, client="serial")


def test_design_n_territories_may_be_a_whole_float(region40):
    """4.0 was refused as "not a whole number", though it is the key of 4."""
    kw: dict[str, Any] = {"options": DESIGN_OPTS, "client": "serial", "progress": False}
    as_float = sweep(region40, {"n_territories": [np.float64(4.0)]}, **kw)
    as_int = sweep(region40, {"n_territories": [4]}, **kw)
    assert as_float.table["status"][0] == "feasible"
    assert as_float.table["key"][0] == as_int.table["key"][0]
    assert as_float.alignment(0).assignment.nunique() == 4
    assert as_float.alignment(0).assignment.equals(as_int.alignment(0).assignment)
    with pytest.raises(SpecificationError, match=r"n_territories=4\.5 is not a whole"):
        sweep(region40, {"n_territories": [4.5]}, **kw)


def test_resume_after_the_study_metadata_changed_is_refused(region40, tmp_path):
    """The metadata travels to a callable task but was not in the study's
    fingerprint: rows computed with the old metadata came back silently."""
    from terrakit.data import Study

    def task(study: Any, *, seed: int, x: float) -> dict[str, Any]:
        return {"v": x * float(study.metadata.get("hours_factor", 1))}

    out = tmp_path / "s.gpkg"
    kw: dict[str, Any] = {"task": task, "client": "serial", "progress": False}
    sweep(region40, {"x": [1.0, 2.0]}, out=out, **kw)
    changed = Study(
        region40.units,
        accounts=region40.accounts,
        reps=region40.reps,
        history=region40.history,
        alignments=dict(region40.alignments),
        metadata={**dict(region40.metadata), "hours_factor": 10},
    )
    with pytest.raises(SpecificationError) as err:
        sweep(changed, {"x": [1.0, 2.0]}, out=out, **kw)
    assert str(err.value) == (
        "table 'sweep' of 's.gpkg' holds 2 of 2 rows of another study (or of this "
        "study before its data changed: its metadata differ); resuming would report "
        "them as this study's results. Fix: write this sweep to another table "
        "(table='...') or another file"
    )
    assert sweep(region40, {"x": [1.0, 2.0]}, out=out, **kw).n_resumed == 2
    res = sweep(changed, {"x": [1.0, 2.0]}, out=out, table="changed", **kw)
    assert res.table["v"].tolist() == [10.0, 20.0]


def test_metadata_fingerprint_is_stable_for_numpy_values_dates_and_sets(region40):
    from types import SimpleNamespace

    from terrakit.sweeps import _study_fingerprint

    def fingerprint(metadata: dict[str, Any]) -> str | None:
        study = SimpleNamespace(
            units=region40.units,
            accounts=None,
            reps=None,
            history=None,
            alignments={},
            metadata=metadata,
        )
        return _study_fingerprint(study, True)[2]

    when = pd.Timestamp("2024-05-01T08:00", tz="UTC")
    a = fingerprint({"n": np.int64(2), "at": when, "tags": {"b", "a"}, "w": 1.0})
    b = fingerprint({"w": np.float64(1.0), "tags": {"a", "b"}, "at": when, "n": 2})
    assert a == b and a is not None
    assert fingerprint({"n": 3, "at": when, "tags": {"a", "b"}, "w": 1.0}) != a
    assert fingerprint({"n": 2, "at": when, "tags": {"a"}, "w": 1.0}) != a
    assert _study_fingerprint(region40, False)[1:] == (None, None, None)


# -- QA round 18 ------------------------------------------------------------------
def test_a_design_problem_that_cannot_be_built_is_an_error_row(region40, tmp_path):
    """max_distance_km=1 (no unit within 1 km of a rep home) raised from the
    problem build and stopped the whole sweep: the 100000 km scenario got no
    row.  The scenarios of a build group that cannot be built are error rows
    (stored, and run again on resume); the other groups run."""
    from terrakit.design.align import build_problem

    with pytest.raises(SpecificationError) as info:
        build_problem(region40, balance={"workload": 0.03}, max_distance_km=1)
    out = tmp_path / "s.gpkg"
    grid = {"max_distance_km": [1, 100_000], "tolerance": [0.1, 0.15]}
    kw: dict[str, Any] = {"options": DESIGN_OPTS, "client": "serial"}
    res = sweep(region40, grid, out=out, progress=False, **kw)
    t = res.to_frame()
    bad = t["max_distance_km"] == 1
    assert t.loc[bad, "error"].tolist() == [f"SpecificationError: {info.value}"] * 2
    assert t.loc[bad, "status"].tolist() == ["error", "error"]
    assert t.loc[bad, "seconds"].isna().all()
    assert t.loc[~bad, "status"].tolist() == ["feasible", "feasible"]
    assert res.alignment(2).n_territories == 3
    with sqlite3.connect(out) as con:
        stored = con.execute('SELECT status, COUNT(*) FROM "sweep" GROUP BY status')
        assert dict(stored.fetchall()) == {"error": 2, "feasible": 2}
    ran: list[int] = []
    again = sweep(region40, grid, out=out, on_row=lambda i, r: ran.append(i), **kw)
    assert again.n_resumed == 2 and sorted(ran) == [0, 1]
    # a study without reps needs n_territories: refused naming the scenario
    no_reps = region40.replace(reps=None, alignments={})
    with pytest.raises(SpecificationError) as err:
        sweep(no_reps, {"tolerance": [0.1]}, progress=False, **kw)
    key = scenario_key("design", {**DESIGN_OPTS, "tolerance": 0.1}, 0)
    assert str(err.value) == (
        f"scenario {key}: task='design' needs n_territories when the study has "
        "no reps. Fix: give n_territories (in the grid or in options)"
    )


def _score(study: Any, *, seed: int, a: float, scale: float = 1.0) -> dict[str, Any]:
    """A module-level task for the names of partials."""
    return {"value": a * scale + len(study.units)}


class _Scorer:
    """A callable instance with state."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def __call__(self, study: Any, *, seed: int, a: float) -> dict[str, Any]:
        return {"value": a * self.scale}


def test_partial_and_callable_instance_tasks_have_names_without_addresses(
    region40, tmp_path, monkeypatch
):
    """The name of a functools.partial or a callable instance was its repr,
    with a memory address ('<function score at 0x7f...>'): the keys differed
    in every process, so a sweep into ``out`` never resumed and piled up
    duplicate rows."""
    import functools
    import subprocess
    import sys
    import textwrap

    kw: dict[str, Any] = {"client": "serial", "progress": False}
    mod = _score.__module__
    res = sweep(region40, {"a": [1.0]}, task=functools.partial(_score, scale=2.0), **kw)
    assert res.task == f"functools.partial({mod}._score, scale=2.0)"
    assert json.loads(res.table["key"][0])["task"] == res.task
    assert res.table["value"][0] == 42.0
    inst = sweep(region40, {"a": [1.0]}, task=_Scorer(3.0), **kw)
    assert inst.task == f"{mod}._Scorer(scale=3.0)"
    assert sweep(region40, {"a": [1.0]}, task=_Scorer(4.0), **kw).task != inst.task
    # a second process finds the rows of the first
    (tmp_path / "sweep_task_qa18.py").write_text(
        textwrap.dedent(
            """
            def score(study, *, seed, a, scale=1.0):
                return {"value": a * scale + len(study.units)}
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import sweep_task_qa18

    out = tmp_path / "s.gpkg"
    grid = {"a": [1.0, 2.0]}
    first = sweep(
        region40,
        grid,
        task=functools.partial(sweep_task_qa18.score, scale=2.0),
        out=out,
        **kw,
    )
    assert first.n_resumed == 0
    code = textwrap.dedent(
        f"""
        import functools, sys, warnings
        warnings.simplefilter("ignore")
        sys.path.insert(0, {str(tmp_path)!r})
        import sweep_task_qa18
        from terrakit.data.synthetic import synthetic_region
        from terrakit.sweeps import sweep
        study = synthetic_region(n_units=40, n_reps=3, seed=3)
        task = functools.partial(sweep_task_qa18.score, scale=2.0)
        res = sweep(study, {grid!r}, task=task, client="serial", progress=False,
                    out={str(out)!r})
        print(res.n_resumed)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["2"], done.stderr[-2000:]
    with sqlite3.connect(out) as con:
        assert con.execute('SELECT COUNT(*) FROM "sweep"').fetchone() == (2,)
    del sys.modules["sweep_task_qa18"]


def test_a_callable_task_sees_the_study_scenarios_and_resume_checks_them(
    region40, tmp_path
):
    """The study rebuilt for the task lacked study.scenarios (Scenario.load
    failed in every row), and the resume fingerprint ignored them (rows
    computed with other scenarios were read back)."""
    from terrakit.realign.scenario import Scenario

    study = region40
    for rep in ["R01", "R02"]:
        what = Scenario.from_study(study, name=f"{rep}_leaves").remove_rep(rep)
        study = what.save_to(study)

    def what_if(study: Any, *, seed: int, scenario: str) -> dict[str, Any]:
        edits = Scenario.load(study, scenario).to_dict().get("edits", [])
        return {"edits": len(edits), "saved": ",".join(sorted(study.scenarios))}

    out = tmp_path / "s.gpkg"
    grid = {"scenario": ["R01_leaves", "R02_leaves"]}
    kw: dict[str, Any] = {"task": what_if, "client": "serial", "progress": False}
    res = sweep(study, grid, out=out, **kw)
    assert res.table["status"].tolist() == ["ok", "ok"]
    assert res.table["edits"].tolist() == [1, 1]
    assert res.table["saved"].tolist() == ["R01_leaves,R02_leaves"] * 2
    fewer = study.replace(scenarios={"R01_leaves": study.scenarios["R01_leaves"]})
    with pytest.raises(SpecificationError) as err:
        sweep(fewer, grid, out=out, **kw)
    assert str(err.value) == (
        "table 'sweep' of 's.gpkg' holds 2 of 2 rows of another study (or of this "
        "study before its data changed: its scenarios differ); resuming would "
        "report them as this study's results. Fix: write this sweep to another "
        "table (table='...') or another file"
    )
    assert sweep(study, grid, out=out, **kw).n_resumed == 2


def test_a_callable_task_assignment_is_checked_against_the_units(region40):
    """A dict {unit_id: territory} kept only its keys (the territories became
    unit ids) and a list of the wrong length was an 'ok' row whose
    alignment() failed with a bare pandas error."""
    cur = region40.alignments["current"].assignment
    units = list(region40.units.index)

    def returns(study: Any, *, seed: int, form: str) -> dict[str, Any]:
        forms: dict[str, Any] = {
            "dict": cur.to_dict(),
            "series": cur.iloc[::-1],
            "list": cur.tolist(),
            "short": cur.tolist()[:3],
            "missing": cur.drop(units[:2]).to_dict(),
            "unknown": {**cur.to_dict(), "X1": "R01"},
            "text": "R01",
            "nan": cur.where(cur.index != units[5]),
        }
        return {"assignment": forms[form]}

    res = sweep(
        region40,
        {
            "form": [
                "dict",
                "series",
                "list",
                "short",
                "missing",
                "unknown",
                "text",
                "nan",
            ]
        },
        task=returns,
        client="serial",
        progress=False,
    )
    t = res.to_frame()
    assert t["status"].tolist() == ["ok"] * 3 + ["error"] * 5
    for i in range(3):
        assert res.alignment(i).assignment.equals(cur.rename("territory_id"))
    fix = (
        "Fix: return 'assignment' as a Series or dict {unit_id: territory} "
        "covering every unit (e.g. alignment.assignment), or a list of 40 "
        "territories in the order of study.units"
    )
    assert t["error"][3:].tolist() == [
        "SpecificationError: the task's 'assignment' holds 3 territories but the "
        f"study has 40 units. {fix}",
        "SpecificationError: the task's 'assignment' gives no territory to 2 of "
        f"the study's 40 units ({units[0]!r}, {units[1]!r}). {fix}",
        "SpecificationError: the task's 'assignment' names 1 units that are not "
        f"in study.units ('X1'). {fix}",
        "SpecificationError: the task's 'assignment' is a str ('R01'), not one "
        f"territory per unit. {fix}",
        "SpecificationError: the task's 'assignment' gives no territory to 1 of "
        f"the study's 40 units ({units[5]!r}). {fix}",
    ]
    with pytest.raises(KeyError, match="scenario 3 has no alignment"):
        res.alignment(3)


@pytest.mark.parametrize(
    ("setting", "value"),
    [("max_iter", 2333.33), ("max_iter", 0), ("max_iter", True), ("time_limit", -5)],
)
def test_design_run_settings_are_checked_as_align_checks_them(region40, setting, value):
    """max_iter=2333.33 (np.linspace) ran as 2333 while the row said 2333.33;
    max_iter=0 or True and time_limit=-5 ran as result rows, though align()
    refuses each of them."""
    from terrakit._runargs import check_time_limit
    from terrakit.design.align import _check_max_iter

    check = _check_max_iter if setting == "max_iter" else check_time_limit
    with pytest.raises(SpecificationError) as refused:
        check(value)
    ran: list[int] = []
    params = {**DESIGN_OPTS, setting: value}
    with pytest.raises(SpecificationError) as err:
        sweep(
            region40,
            [{setting: value}],
            options=DESIGN_OPTS,
            client="serial",
            progress=False,
            on_row=lambda i, r: ran.append(i),
        )
    key = scenario_key("design", params, 0)
    assert str(err.value) == f"scenario {key}: {refused.value}" and ran == []


def test_design_max_iter_may_be_a_whole_float(region40):
    """2000.0 (from np.linspace) is the key of 2000 and runs as 2000."""
    kw: dict[str, Any] = {"client": "serial", "progress": False}
    opts = {"solver": "heuristic", "time_limit": 20}
    as_float = sweep(region40, {"max_iter": [np.float64(300.0)]}, options=opts, **kw)
    as_int = sweep(region40, {"max_iter": [300]}, options=opts, **kw)
    assert as_float.alignment(0).provenance["config"]["max_iter"] == 300
    assert as_float.alignment(0).assignment.equals(as_int.alignment(0).assignment)


def test_a_left_out_parameter_shows_what_the_scenario_ran_with(region40):
    """A parameter left out (sizing travel: the travel-time model) and the
    same parameter given as None (no travel) were both shown as None: two
    rows with the same parameter cells and different results."""
    kw: dict[str, Any] = {"client": "serial", "progress": False}
    sizing = sweep(
        region40,
        [{"hours_per_rep": 1600, "travel": None}, {"call_minutes": 30}],
        task="sizing",
        **kw,
    ).to_frame()
    assert sizing["travel"].tolist() == [None, "model"]
    assert sizing["hours_per_rep"].tolist() == [1600, 1600]
    assert sizing["call_minutes"].tolist() == ["call_minutes", 30]
    assert sizing["total_hours"][0] != sizing["total_hours"][1]
    # the design defaults: one territory per rep, the default band, budget
    design = sweep(
        region40,
        [{"n_territories": 4, "max_iter": 300}, {"tolerance": 0.15}],
        options={"solver": "heuristic", "time_limit": 1},
        **kw,
    ).to_frame()
    assert design["n_territories"].tolist() == [4, 3]
    assert design["tolerance"].tolist() == [0.03, 0.15]
    assert design["max_iter"].tolist() == [300, 5000]

    def task(study: Any, *, seed: int, x: float, y: Any = 7.0) -> dict[str, Any]:
        return {"v": x + (y or 0.0)}

    def open_task(study: Any, *, seed: int, **params: Any) -> dict[str, Any]:
        return {"v": sum(params.values())}

    # a callable's own default; a value from options; no single default
    own = sweep(region40, [{"x": 1.0, "y": None}, {"x": 2.0}], task=task, **kw)
    # (None in a numeric column is pandas' NaN there; in text columns None)
    assert own.table["y"].isna().tolist() == [True, False] and own.table["y"][1] == 7
    assert own.table["v"].tolist() == [1.0, 9.0]
    grid = [{"x": 1.0, "y": 1.0}, {"x": 2.0}]
    opts = sweep(region40, grid, options={"y": 5.0}, task=task, **kw)
    assert opts.table["y"].tolist() == [1.0, 5.0]
    free = sweep(region40, [{"x": 1.0, "z": 1.0}, {"x": 2.0}], task=open_task, **kw)
    assert free.table["z"].tolist() == [1.0, "(default)"]


def test_the_local_cluster_has_a_worker_per_usable_core(monkeypatch):
    """The local cluster started one worker per host core (os.cpu_count()),
    not per core this process may use (affinity, cgroup quota: a Slurm job,
    a container, taskset)."""
    distributed = pytest.importorskip("distributed")
    import dask.system

    from terrakit.sweeps import _local_client

    seen: dict[str, Any] = {}

    def cluster(**kw: Any) -> str:
        seen.update(kw)
        return "cluster"

    monkeypatch.setattr(distributed, "LocalCluster", cluster)
    monkeypatch.setattr(distributed, "Client", lambda c: ("client", c))
    monkeypatch.setattr(dask.system, "CPU_COUNT", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert _local_client(None) == ("client", "cluster")
    assert seen["n_workers"] == 1
    assert _local_client(3) and seen["n_workers"] == 3


# -- QA round 21 ----------------------------------------------------------------------
QUICK_OPTS = {"solver": "heuristic", "time_limit": 20, "max_iter": 300}


def test_a_design_balance_of_no_activity_has_no_band(region40):
    """balance={} (no band, as in align) ran with the default ±3 % workload
    band: `params.get("balance") or default` took {} for a left-out balance."""
    from terrakit.design import align
    from terrakit.sweeps import _rebalance_balance

    sc = {"balance": {}, "n_territories": 4, "contiguity": False}
    res = sweep(region40, [sc], options=QUICK_OPTS, client="serial", progress=False)
    row = res.table.iloc[0]
    direct = align(region40, seed=int(row["seed"]), **sc, **QUICK_OPTS)
    assert row["status"] == direct.status and row["error"] is None
    assert row["objective_value"] == pytest.approx(direct.objective, rel=1e-9)
    assert [c for c in res.table.columns if c.startswith("workload_")] == []
    assert row["balance"] == {}
    # rebalance: {} stays {} (which rebalance refuses), None is the default
    assert _rebalance_balance({"balance": {}, "tolerance": 0.1}) == {}
    assert _rebalance_balance({"balance": None, "tolerance": 0.1}) == {"workload": 0.1}


def test_the_order_of_a_design_balance_is_part_of_the_scenario(region40, tmp_path):
    """The first balanced activity is the default weight (and the search visits
    the activities in order), but the key sorted balance's activities: the
    two orders shared a key, a resume returned the other order's row, and a
    grid with both was refused as a repeat."""
    a = {"workload": 0.2, "sales": 0.3}
    b = {"sales": 0.3, "workload": 0.2}
    kw: dict[str, Any] = {"options": QUICK_OPTS, "client": "serial", "progress": False}
    both = sweep(region40, {"balance": [a, b]}, **kw)
    t = both.table
    assert [list(bal) for bal in t["balance"]] == [list(a), list(b)]
    assert t["key"][0] != t["key"][1]
    assert t["objective_value"][0] != t["objective_value"][1]
    # a balance in alphabetical order keeps the key it had; another order
    # is keyed as pairs in its order; rebalance likewise, a callable not
    assert scenario_key("design", {"balance": b}, 0) == (
        '{"params":{"balance":{"sales":0.3,"workload":0.2}},"seed":0,"task":"design"}'
    )
    assert json.loads(scenario_key("rebalance", {"balance": a}, 0))["params"] == {
        "balance": [["workload", 0.2], ["sales", 0.3]]
    }
    assert scenario_key("f", {"balance": a}, 0) == scenario_key("f", {"balance": b}, 0)
    # a resume finds the row of its own order
    out = tmp_path / "s.gpkg"
    sweep(region40, [{"balance": a}], out=out, **kw)
    again = sweep(region40, [{"balance": b}], out=out, **kw)
    assert again.n_resumed == 0
    assert again.table["objective_value"][0] == t["objective_value"][1]
    # for a task where the order makes no difference: one scenario, said so
    with pytest.raises(SpecificationError) as err:
        sweep(region40, [{"w": a}, {"w": b}], task=_weights_task, client="serial")
    assert str(err.value) == (
        'scenario 1 repeats scenario 0 ({"w":{"sales":0.3,"workload":0.2}}): they '
        "differ only in the order of a dict's entries, which makes no other "
        f"scenario for task '{_weights_task.__module__}._weights_task'; "
        "each scenario once"
    )


def _weights_task(study: Any, *, seed: int, w: dict[str, float]) -> dict[str, Any]:
    """A task taking a dict parameter."""
    return {"n": len(w)}


def _scaled_task(scale: float):
    """A closure: the same source for every scale."""

    def task(study: Any, *, seed: int, x: float) -> dict[str, Any]:
        return {"value": scale * x}

    return task


def _default_task(scale: float):
    """Functions whose defaults (positional and keyword-only) are computed."""

    def task(study: Any, seed: int, x: float, k: float = scale) -> dict[str, Any]:
        return {"value": k * x}

    def kw_task(study: Any, *, seed: int, x: float, k: float = scale) -> Any:
        return {"value": k * x}

    return task, kw_task


def test_a_closure_task_with_other_captured_values_runs_again(region40, tmp_path):
    """make_task(100) resumed make_task(1)'s rows: the digest of the task's
    code covered neither the values its closure captured nor its defaults
    (a partial's bound arguments it did)."""
    import warnings

    from terrakit.sweeps import _task_digest

    assert _task_digest(_scaled_task(1.0)) == _task_digest(_scaled_task(1.0))
    assert _task_digest(_scaled_task(1.0)) != _task_digest(_scaled_task(100.0))
    for one, hundred in zip(_default_task(1.0), _default_task(100.0), strict=True):
        assert _task_digest(one) != _task_digest(hundred)
    out = tmp_path / "s.gpkg"
    kw: dict[str, Any] = {"client": "serial", "progress": False, "out": out}
    grid = {"x": [1.0, 2.0]}
    first = sweep(region40, grid, task=_scaled_task(1.0), **kw)
    assert first.table["value"].tolist() == [1.0, 2.0]
    with pytest.warns(TerrakitWarning, match="another version of the task's code"):
        other = sweep(region40, grid, task=_scaled_task(100.0), **kw)
    assert other.n_resumed == 0 and other.table["value"].tolist() == [100.0, 200.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = sweep(region40, grid, task=_scaled_task(100.0), **kw)
    assert same.n_resumed == 2 and same.table["value"].tolist() == [100.0, 200.0]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("contiguity", "no"),
        ("contiguity", "False"),
        ("contiguity", None),
        ("backend", "gurobi"),
    ],
)
def test_design_contiguity_and_backend_are_checked_as_align_checks_them(
    region40, setting, value
):
    """contiguity="no" ran contiguous (bool("no") is True) and None not;
    backend="gurobi" with the heuristic ran without a word; align refuses
    each of them."""
    from terrakit.design import align

    with pytest.raises(SpecificationError) as refused:
        align(region40, **{**QUICK_OPTS, setting: value})
    ran: list[int] = []
    with pytest.raises(SpecificationError) as err:
        sweep(
            region40,
            [{"contiguity": True}, {setting: value}],
            options=QUICK_OPTS,
            client="serial",
            progress=False,
            on_row=lambda i, r: ran.append(i),
        )
    key = scenario_key("design", {**QUICK_OPTS, setting: value}, 0)
    assert str(err.value) == f"scenario {key}: {refused.value}" and ran == []


def test_design_solver_is_checked_before_any_scenario_runs(region40):
    """solver="gurobi" made an error row per scenario after each had been sent
    to run; solver="mip" with objective="diameter" likewise."""
    kw: dict[str, Any] = {"client": "serial", "progress": False}
    with pytest.raises(SpecificationError) as err:
        sweep(region40, [{"solver": "gurobi"}], **kw)
    key = scenario_key("design", {"solver": "gurobi"}, 0)
    assert str(err.value) == (
        f"scenario {key}: solver='gurobi' is not 'auto', 'mip' or 'heuristic'. "
        "Fix: pick one of these; a MIP backend such as 'cbc' is the backend "
        "parameter"
    )
    with pytest.raises(SpecificationError, match='does not model objective="diameter"'):
        sweep(region40, [{"solver": "mip", "objective": "diameter"}], **kw)


def test_each_number_of_territories_gets_its_own_build_with_targets(region40):
    """Chosen-center scenarios with targets shared one build made with the
    first member's n_territories: the valid (5, five shares) scenario got
    (4, five shares)'s error "targets has 5 shares but there are 4
    territories"."""
    from terrakit.design import align

    t4, t5 = [0.25] * 4, [0.2] * 5
    opts = {**QUICK_OPTS, "tolerance": 0.2}
    res = sweep(
        region40,
        {"n_territories": [4, 5], "targets": [t4, t5]},
        options=opts,
        client="serial",
        progress=False,
    )
    t = res.table
    assert t["error"][1:3].tolist() == [
        "SpecificationError: targets has 5 shares but there are 4 territories",
        "SpecificationError: targets has 4 shares but there are 5 territories",
    ]
    assert t["status"][0] != "error" and t["status"][3] != "error"
    direct = align(
        region40,
        n_territories=5,
        targets=t5,
        balance={"workload": 0.2},
        seed=int(t["seed"][3]),
        **QUICK_OPTS,
    )
    assert t["objective_value"][3] == pytest.approx(direct.objective, rel=1e-9)


def test_a_row_run_again_keeps_the_geopackage_feature_count(region40, tmp_path):
    """INSERT OR REPLACE fired GDAL's insert trigger but not its delete one:
    each resume that ran the error row again added one to the feature count
    in gpkg_ogr_contents (6 for a table of 3 rows after 3 resumes).  A count
    left too high by such a sweep is set right when the table is opened."""
    import pyogrio

    out = tmp_path / "s.gpkg"
    kw: dict[str, Any] = {"task": _noisy_task(), "client": "serial", "progress": False}
    grid = {"x": [1.0, -1.0, 2.0]}

    def count() -> int:
        with sqlite3.connect(out) as con:
            return con.execute(
                "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name='sweep'"
            ).fetchone()[0]

    for _ in range(3):  # each resume runs the error row again
        sweep(region40, grid, out=out, **kw)
    assert count() == 3 and pyogrio.read_info(out, layer="sweep")["features"] == 3
    with sqlite3.connect(out) as con:
        con.execute("UPDATE gpkg_ogr_contents SET feature_count = 7")
    assert sweep(region40, grid, out=out, **kw).n_resumed == 2
    assert count() == 3
    with sqlite3.connect(out) as con:
        assert con.execute('SELECT COUNT(*) FROM "sweep"').fetchone() == (3,)


def test_one_dict_given_as_the_values_of_a_grid_parameter_is_refused():
    """{"balance": {"workload": 0.05, "sales": 0.1}} became two scenarios,
    balance="workload" and balance="sales" (iterating a dict gives its keys)."""
    with pytest.raises(SpecificationError) as err:
        scenarios({"balance": {"workload": 0.05, "sales": 0.1}})
    assert str(err.value) == (
        "grid['balance'] is one dict value, not a list of values (its keys would "
        "become the scenarios); write {'balance': [{'workload': 0.05, 'sales': "
        "0.1}]} for this one value, or a list of several dicts"
    )
    assert scenarios({"balance": [{"workload": 0.05}]}) == [
        {"balance": {"workload": 0.05}}
    ]


def test_a_result_that_is_no_json_is_named_with_the_fix(region40):
    """A pandas Timestamp among a callable task's results made an error row
    blaming a "sweep parameter value" and naming no result."""
    from decimal import Decimal

    def task(study: Any, *, seed: int, x: float) -> dict[str, Any]:
        if x == 1.0:
            return {"total": x, "as_of": pd.Timestamp("2025-01-01")}
        return {"total": x, "parts": [1.0, Decimal("2.5")]}

    res = sweep(region40, {"x": [1.0, 2.0]}, task=task, client="serial")
    fix = (
        "which a sweep row cannot hold (rows are JSON, as stored in out and "
        "read back on resume). Fix: return {!r} as a number, string, boolean, "
        "None, list or dict, e.g. value.isoformat() for a date or float(value) "
        "for a Decimal"
    )
    assert res.table["error"].tolist() == [
        "SpecificationError: the task's result 'as_of' holds Timestamp('2025-01-01 "
        "00:00:00') of type Timestamp, " + fix.format("as_of"),
        "SpecificationError: the task's result 'parts' holds Decimal('2.5') of "
        "type Decimal, " + fix.format("parts"),
    ]

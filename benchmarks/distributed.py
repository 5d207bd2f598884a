"""Distributed sweeps and ReCom ensembles: speed, side by side in one run.

1. A design sweep on the sample study (``tk.load_sample("southeast")``, 259
   counties): ``n_territories`` 8..17 × workload tolerance 0.05..0.14 = 100
   scenarios, heuristic with an iteration budget, run serially
   (``client="serial"``) and on a local Dask cluster of one single-threaded
   worker process per core.  Reports both wall times, the speed-up (target
   ≥ 1.7× on 2 cores) and whether the two tables are identical row by row.
2. ReCom on real county graphs from ``../shared/benchmarks/districting/``
   (Validi & Buchanan instances, ±0.5 % population bands, the benchmark's
   ``k``): start from the design heuristic's feasible plan, run a chain and
   report milliseconds per step, acceptance rate and trees per step, against
   GerryChain's published 35–43 ms per ReCom step (Pennsylvania VTDs, 8,921
   nodes, 17 districts).  The graphs here are far smaller than Pennsylvania's,
   so the comparison is of orders of magnitude, not of like with like; a
   tract graph is added for scale.

Usage::

    .venv/bin/python benchmarks/distributed.py [--scenarios 100] [--workers N]
        [--steps 2000] [--quick]

``--quick``: 20 scenarios and 300 steps.  Note the machine load (``uptime``)
beside the numbers: the speed-up needs idle cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# this file is named like the ``distributed`` package: keep its folder off the
# import path so ``import distributed`` finds Dask's
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

ROOT = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "districting"
#: GerryChain's published ReCom speed (ms per step, Pennsylvania, 17 districts).
GERRYCHAIN_MS_PER_STEP = (35.0, 43.0)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime unavailable"


def markdown(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| " + " | ".join(str(v) for v in r) + " |" for r in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def sweep_benchmark(n_scenarios: int, workers: int) -> pd.DataFrame:
    import terrakit as tk
    from terrakit.sweeps import _local_client

    study = tk.load_sample("southeast")
    ks = list(range(8, 18))
    tols = [round(0.05 + 0.01 * i, 2) for i in range(10)]
    grid = [{"n_territories": k, "tolerance": t} for k in ks for t in tols][
        :n_scenarios
    ]
    opts = {"solver": "heuristic", "time_limit": 30, "max_iter": 2000}
    # warm the problem build (adjacency) once so both runs time the same work
    tk.sweep(study, grid[:1], options=opts, client="serial", progress=False)
    t0 = time.perf_counter()
    ser = tk.sweep(study, grid, options=opts, client="serial", progress=False)
    t_ser = time.perf_counter() - t0
    # the cluster tk.sweep starts when no client is given (one single-threaded
    # worker process per core, glibc trim threshold raised: see terrakit.sweeps)
    client = _local_client(workers)
    with client, client.cluster:
        # warm each worker exactly as the serial run was warmed: one scenario
        # each (imports, first-call set-up), outside the timed region
        tk.sweep(study, grid[:workers], options=opts, client=client, progress=False)
        t0 = time.perf_counter()
        par = tk.sweep(study, grid, options=opts, client=client, progress=False)
        t_par = time.perf_counter() - t0
    a = ser.to_frame().drop(columns="seconds")
    b = par.to_frame().drop(columns="seconds")
    same = a.equals(b)
    status = ser.to_frame()["status"].value_counts().to_dict()
    return pd.DataFrame(
        [
            {
                "scenarios": len(grid),
                "workers": workers,
                "serial_s": round(t_ser, 1),
                "cluster_s": round(t_par, 1),
                "speed_up": round(t_ser / t_par, 2),
                "identical_rows": "yes" if same else "NO",
                "statuses": ", ".join(f"{k} {v}" for k, v in sorted(status.items())),
            }
        ]
    )


def recom_benchmark(instances: list[str], steps: int) -> pd.DataFrame:
    from terrakit.benchmarks import districting
    from terrakit.benchmarks._graphs import territory_labels, to_problem
    from terrakit.design.cutedges import tree_partition
    from terrakit.design.ensemble import recom_chain
    from terrakit.design.heuristic import solve_heuristic

    rows = []
    for name in instances:
        path = next(ROOT.glob(f"{name}.json*"))
        inst = districting.read_instance(path)
        problem = to_problem(inst)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = solve_heuristic(problem, time_limit=20, seed=0)
        start = (
            territory_labels(problem, np.asarray(res.columns))
            if res.is_feasible()
            # ±0.5 % bands: recursive spanning-tree splits find a start where
            # annealing from a grown plan does not
            else tree_partition(problem, seed=0, time_limit=20)
        )
        if start is None:
            rows.append(
                {
                    "instance": name,
                    "nodes": inst.n_nodes,
                    "k": inst.n_districts,
                    "band": "±0.5 %",
                    "steps": 0,
                    "ms_per_step": "–",
                    "acceptance": "–",
                    "trees_per_step": "–",
                    "distinct_plans": 0,
                    "gerrychain_ms": "no feasible start in 40 s",
                }
            )
            continue
        run = recom_chain(
            inst.adjacency(),
            inst.activities[:, 0],
            inst.lower,
            inst.upper,
            start,
            steps,
            seed=0,
        )
        distinct = len(np.unique(run.plans, axis=0))
        rows.append(
            {
                "instance": name,
                "nodes": inst.n_nodes,
                "k": inst.n_districts,
                "band": "±0.5 %",
                "steps": run.steps,
                "ms_per_step": round(1000 * run.seconds / run.steps, 2),
                "acceptance": round(run.accepted / run.steps, 3),
                "trees_per_step": round(run.trees / run.steps, 2),
                "distinct_plans": distinct,
                "gerrychain_ms": "35–43 (PA, 8,921 nodes, k=17)",
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=100)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--part", choices=("all", "recom", "sweep"), default="all")
    args = ap.parse_args()
    if args.quick:
        args.scenarios, args.steps = 20, 300
    print(f"# distributed benchmarks — {platform.node()} {os.cpu_count()} cores")
    print(f"load before: {uptime()}\n")
    if args.part in ("all", "recom"):
        print("## ReCom speed on districting graphs\n")
        names = ["IA_county", "OK_county", "LA_county", "NV_tract"]
        print(markdown(recom_benchmark(names, args.steps)))
        print(f"\nload: {uptime()}\n")
    if args.part in ("all", "sweep"):
        print("## Design sweep on the sample study: serial vs local cluster\n")
        print(markdown(sweep_benchmark(args.scenarios, args.workers)))
    print(f"\nload after: {uptime()}")


if __name__ == "__main__":
    main()

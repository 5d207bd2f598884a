"""The sample study in fewer territories with chosen centers, two bands (issue 3).

``tk.design.align(load_sample("southeast"), n_territories=10,
balance={"workload": 0.05, "potential": 0.10}, contiguity=False)``: 259
counties, ten centers chosen among them.  Three Atlanta counties each carry
68–82 % of a territory's mean potential (Cobb 14.6 M, Fulton 13.2 M, DeKalb
12.1 M against 17.7 M), so a territory that holds one of them must fill its
workload band with low-potential counties: the rounded balance LP breaks
both bands, and single boundary moves cannot mend them.

One row per time limit and seed: status, objective (activity-weighted
squared km), lower bound, gap, broken bands, seconds, 1-minute load and the
last note (which repair met the bands).  Run it with ``PYTHONPATH`` set to an
older checkout to compare side by side.

Usage::

    .venv/bin/python benchmarks/design_chosen.py [--k 10] [--seeds 0,1,2]
        [--time-limits 20,60] [--workload 0.05] [--potential 0.10]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--time-limits", default="20,60")
    ap.add_argument("--workload", type=float, default=0.05)
    ap.add_argument("--potential", type=float, default=0.10)
    args = ap.parse_args()

    import terrakit as tk

    study = tk.load_sample("southeast")
    print(f"terrakit from {os.path.dirname(tk.__file__)}")
    print(
        "| time limit | seed | status | objective | lower bound | gap % "
        "| broken bands | seconds | load | last note |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for tl in (float(t) for t in args.time_limits.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = tk.design.align(
                    study,
                    n_territories=args.k,
                    balance={"workload": args.workload, "potential": args.potential},
                    contiguity=False,
                    time_limit=tl,
                    seed=seed,
                )
            secs = time.perf_counter() - t0
            broken = int(res.info.get("n_violations", 0))
            gap = f"{100 * res.gap:.1f}" if not broken else "–"
            note = (res.info.get("notes") or [""])[-1]
            print(
                f"| {tl:g} s | {seed} | {res.status} | {res.objective:.4g} "
                f"| {res.lower_bound:.4g} | {gap} | {broken} | {secs:.1f} "
                f"| {os.getloadavg()[0]:.1f} | {note} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

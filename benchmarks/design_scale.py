"""Synthetic scale benchmark of the design heuristic.

Issue-3 targets: 10,000 units → 50 territories, ±3 % workload, contiguous,
≤ 60 s, within 2 % of the lower bound; 100,000 units → 200 territories in
≤ 10 min and ≤ 8 GB.

Two center modes per size (``--mode``):

- ``reps``: one territory per rep, centers fixed at the reps' homes
  (``align(study)`` default); bound = Lagrangian dual of the band rows at the
  LP duals, home units at their territory (valid; relaxes contiguity and
  integrality).  From ``n · k ≥ 4e6`` (100,000 × 200) the multipliers come
  from a smoothed dual ascent instead of the LP (:mod:`terrakit.design._dual`),
  and the bound is the exact Lagrangian value at them (still valid);
- ``choose``: ``n_territories`` centers chosen among the units (a dense
  ``n × n`` cost matrix, so at most ~15,000 units); bound = capacitated
  k-median Lagrangian.

Usage::

    .venv/bin/python benchmarks/design_scale.py [--quick] [--sizes 10000:50]
        [--mode reps|choose|both] [--time-limit S] [--seed S | --seeds 0,1,2]

``--baseline`` (reps mode) then gives the same problem to the plain PuLP+CBC
model a user writes by hand (``benchmarks/plain_mip.py``) with the same time
limit for CBC, and prints its build time, value, CBC's bound, status and the
process's peak memory after it.

``--free``: no contiguity, workload and potential each ±5 % (the local
search without contiguity: moves, pairs, swaps and ejection chains on star
graphs; the instance names end in ``_free``).

``--quick``: 2,000 units → 20 territories, 20 s.  ``peak_rss_gb`` is the
process's peak resident memory (build included); ``load1`` the 1-minute load
average when the row finished (the machine is shared: timings scale with it).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np
from plain_mip import plain_pulp_cbc

from terrakit.data.synthetic import synthetic_region
from terrakit.design.align import build_problem
from terrakit.design.heuristic import solve_heuristic


def _row(
    n: int,
    k: int,
    mode: str,
    time_limit: float,
    seed: int,
    baseline: bool = False,
    free: bool = False,
) -> dict:
    t0 = time.perf_counter()
    study = synthetic_region(n_units=n, n_reps=k, seed=seed)
    spec: dict = (
        {"balance": {"workload": 0.05, "potential": 0.05}, "contiguity": False}
        if free
        else {"balance": {"workload": 0.03}, "contiguity": True}
    )
    if mode == "reps":
        problem = build_problem(study, **spec)
    else:
        problem = build_problem(study.units, n_territories=k, **spec)
    build = time.perf_counter() - t0
    res = solve_heuristic(problem, time_limit=time_limit, seed=seed)
    cols = np.asarray(res.columns)
    dev = float(res.max_deviation) if hasattr(res, "max_deviation") else float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # before CBC's
    plain = ""
    if baseline and mode == "reps":
        out = plain_pulp_cbc(problem, time_limit, build_counts=False)
        plain = (
            f"PuLP+CBC: {out['status']}, value {out['value']:.4g}, CBC bound "
            f"{out['bound']:.4g}, {out['variables']:,} variables and "
            f"{out['constraints']:,} rows built in {out['build_seconds']:.1f} s, "
            f"{out['seconds']:.1f} s in all, peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB"
        )
        if out["violations"]:
            plain += "; breaks: " + "; ".join(out["violations"][:2])
    return {
        "plain": plain,
        "instance": f"synthetic{n}_k{k}_{mode}" + ("_free" if free else ""),
        "value": res.objective,
        "lower_bound": res.lower_bound,
        "gap_pct": 100 * res.gap,
        "build_s": build,
        "seconds": res.seconds,
        "status": res.status,
        "feasible": not problem.violations(cols),
        "max_dev": dev,
        "peak_rss_gb": peak,
        "load1": os.getloadavg()[0],
        "bound": res.info.get("bound", ""),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", default=None, help="comma list of n:k")
    ap.add_argument("--mode", choices=["reps", "choose", "both"], default="both")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", default=None, help="comma list; overrides --seed")
    ap.add_argument("--baseline", action="store_true", help="plain PuLP+CBC too")
    ap.add_argument(
        "--free", action="store_true", help="no contiguity, two ±5 %% bands"
    )
    args = ap.parse_args()
    if args.sizes:
        sizes = [tuple(int(x) for x in s.split(":")) for s in args.sizes.split(",")]
    else:
        sizes = [(2000, 20)] if args.quick else [(10_000, 50)]
    tl = args.time_limit or (20.0 if args.quick else 60.0)
    modes = ["reps", "choose"] if args.mode == "both" else [args.mode]
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [args.seed]
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  "
        f"{platform.node()} {platform.machine()}  time_limit={tl:g}s "
        f"seeds={seeds}"
    )
    cols = [
        "instance",
        "value",
        "lower_bound",
        "gap_pct",
        "build_s",
        "seconds",
        "status",
        "feasible",
        "max_dev",
        "peak_rss_gb",
        "load1",
    ]
    print("| seed | " + " | ".join(cols) + " | bound |")
    print("|" + "---|" * (len(cols) + 2))
    for n, k in sizes:
        for mode in modes:
            if mode == "choose" and n > 15_000:
                continue
            for seed in seeds:
                r = _row(n, k, mode, tl, seed, args.baseline, args.free)
                vals = [
                    f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])
                    for c in cols
                ]
                print(
                    f"| {seed} | " + " | ".join(vals) + f" | {r['bound']} |",
                    flush=True,
                )
                if r["plain"]:
                    print(f"\n{r['instance']} seed {seed}: {r['plain']}\n", flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: disruption-aware rebalance after a market shock and a departure.

Instance: ``synthetic_region(n_units=2000, n_reps=20, seed=SEED)``; a
balanced plan (±3 % workload, contiguous) is designed first with the design
engine (not timed; an iteration budget, not the clock, so that the plan,
hence the instance, does not depend on the machine's speed).  Then
the shock: +10 % workload in the north-east quadrant of the region (units
whose representative point lies north and east of the medians) and the
departure of the rep whose home is nearest the region's centre (his accounts
become unowned).  The task: restore ±5 % workload balance, contiguous,
moving at most 10 % of the accounts, each remaining rep keeping its 5
largest accounts, within 10 s.  Then the disruption front over tolerances
20 / 10 / 5 / 3 %.

Reports, per run: accounts moved (share), the proven lower bound, status,
max deviation after, seconds; and the front table.  The adjacency (a
one-off geometry step, reused by every solve) is timed separately.

The base plan comes from the design heuristic, so the instance changes when
the heuristic does: compare engines on the same commit of ``terrakit.design``.
Three seeds (three regions, removed reps and shocks) by default.

Run: ``.venv/bin/python benchmarks/realign.py [--seeds 0 1 2] [--time-limit 10]``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from terrakit.data import geo
from terrakit.data.synthetic import synthetic_region
from terrakit.design.align import build_problem, solve
from terrakit.exceptions import InfeasibleError, TimeLimitWarning
from terrakit.realign import disruption_front, rebalance

#: iteration budget of the design heuristic that builds the balanced base plan
BASE_ITERS = 20_000


def make_instance(seed: int) -> tuple[object, object, str, int]:
    """The shocked study, its adjacency, the removed rep and the shocked units."""
    study = synthetic_region(n_units=2000, n_reps=20, seed=seed)
    adj = geo.adjacency(study.units, warn=False)
    p = build_problem(study, balance={"workload": 0.03}, contiguity=False)
    p = p.replace(adjacency=adj.matrix, contiguity=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        # an iteration budget (not the clock) decides the base plan, so the
        # instance is the same on every machine and under any load
        plan = solve(
            p, solver="heuristic", time_limit=600, seed=seed, max_iter=BASE_ITERS
        )
    study = study.with_alignment(plan.alignment.rename("current"), name="current")
    units = study.units.copy()
    lon, lat = geo.lonlat(units)
    shocked = (lon > np.median(lon)) & (lat > np.median(lat))
    units.loc[shocked, "workload"] *= 1.10
    reps = study.reps
    d = (reps["home_lon"] - lon.mean()) ** 2 + (reps["home_lat"] - lat.mean()) ** 2
    gone = str(d.idxmin())
    acc = study.accounts.copy()
    acc["rep_id"] = acc["rep_id"].where(acc["rep_id"] != gone)
    study = study.replace(units=units, reps=reps.drop(gone), accounts=acc)
    return study, adj, gone, int(shocked.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--front-time-limit", type=float, default=10.0)
    ap.add_argument("--no-front", action="store_true")
    args = ap.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    print()
    print(
        "| seed | removed rep | time limit | accounts moved | lower bound | status | "
        "max dev before → after | units moved | continuity kept | wall s | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    first = None
    for seed in args.seeds:
        study, adj, gone, _n_shock = make_instance(seed)
        if first is None:
            first = (study, adj, seed)
        for limit in (args.time_limit, 3 * args.time_limit):
            load = os.getloadavg()[0]
            t = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", TimeLimitWarning)
                    res = rebalance(
                        study,
                        "current",
                        balance={"workload": 0.05},
                        max_moved=0.10,
                        moved_measure="accounts",
                        keep_top_accounts=5,
                        adjacency=adj,
                        time_limit=limit,
                        seed=seed,
                    )
            except InfeasibleError as err:
                sec = time.perf_counter() - t
                print(
                    f"| {seed} | {gone} | {limit:g} s | not met: {err} | | | | | "
                    f"| {sec:.1f} | {load:.1f} |"
                )
                continue
            sec = time.perf_counter() - t
            d = res.diff()
            print(
                f"| {seed} | {gone} | {limit:g} s | {100 * res.moved_share:.2f} % | "
                f"{100 * res.lower_bound_share:.2f} % | {res.status} | "
                f"{100 * res.max_deviation_before:.1f} % → "
                f"{100 * res.max_deviation:.2f} % | {res.info['units_moved']} | "
                f"{100 * d.continuity_kept:.2f} % | {sec:.1f} | {load:.1f} |"
            )
    if args.no_front or first is None:
        return
    study, adj, seed = first
    t = time.perf_counter()
    front = disruption_front(
        study,
        "current",
        tolerances=[0.20, 0.10, 0.05, 0.03],
        moved_measure="accounts",
        keep_top_accounts=5,
        adjacency=adj,
        time_limit=args.front_time_limit,
        seed=seed,
    )
    print()
    print(
        f"disruption front, seed {seed} ({time.perf_counter() - t:.1f} s, "
        f"{args.front_time_limit:g} s per point, load "
        f"{os.getloadavg()[0]:.1f}):"
    )
    print(front.summary())


if __name__ == "__main__":
    main()

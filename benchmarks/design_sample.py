"""The sample study's own design task, at the VP's ±5 % and at ±10 % (issue 3).

``tk.design.align(load_sample("southeast"), balance={"workload": τ,
"accounts": 0.15}, contiguity=True, locked=<each rep's home county>)``:
259 counties, 20 reps.  Georgia and North Carolina do not touch in the unit
graph (the two files were digitised apart; see ``geo.adjacency(snap_m=)``), so each
state's ten territories share its own workload (Georgia 4.2 % below ten
mean territories): at ±5 % every Georgia territory needs at least 0.95 ×
the mean, which leaves 67 hours of slack in all.

One row per tolerance, solver and seed: status, objective, bound, gap,
largest deviation of each band, seconds, and the notes that say which
repair met the bands.

``--baseline`` adds, per tolerance, the plain PuLP+CBC model a user writes
by hand (``benchmarks/plain_mip.py``: the same problem, assignment variables
in loops, the bands, the locks and single-commodity flow contiguity) with the
same time limit; its ``lower bound`` is CBC's, read from its log.

Usage::

    .venv/bin/python benchmarks/design_sample.py [--tolerances 0.05,0.10]
        [--seeds 0,1,2] [--time-limit 60] [--solvers heuristic,mip]
        [--baseline]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

from plain_mip import plain_pulp_cbc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tolerances", default="0.05,0.10")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--solvers", default="heuristic")
    ap.add_argument("--baseline", action="store_true")
    args = ap.parse_args()

    import terrakit as tk
    from terrakit.design.align import build_problem

    study = tk.load_sample("southeast")
    locked = {r.home_unit: (rep, "home") for rep, r in study.reps.iterrows()}
    print(
        "| τ | solver | seed | status | objective | lower bound | gap % "
        "| workload dev % | accounts dev % | seconds | load | repair |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for tau in (float(t) for t in args.tolerances.split(",")):
        if args.baseline:
            problem = build_problem(
                study,
                balance={"workload": tau, "accounts": 0.15},
                contiguity=True,
                locked=locked,
            )
            out = plain_pulp_cbc(problem, args.time_limit)
            broken = "; ".join(out["violations"][:2])
            gap = (
                f"{100 * (out['value'] - out['bound']) / out['value']:.1f}"
                if out["value"] == out["value"]
                else ""
            )
            print(
                f"| {tau:g} | PuLP+CBC | – | {out['status']} | {out['value']:.4g} "
                f"| {out['bound']:.4g} | {gap} | | | {out['seconds']:.1f} "
                f"| {os.getloadavg()[0]:.1f} | {out['variables']} variables, "
                f"{out['constraints']} rows, built in {out['build_seconds']:.1f} s"
                f"{'; breaks: ' + broken if broken else ''} |",
                flush=True,
            )
        for solver in args.solvers.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        res = tk.design.align(
                            study,
                            balance={"workload": tau, "accounts": 0.15},
                            contiguity=True,
                            locked=locked,
                            solver=solver,
                            time_limit=args.time_limit,
                            seed=seed,
                        )
                    except (tk.InfeasibleError, tk.SpecificationError) as err:
                        sec = time.perf_counter() - t0
                        print(
                            f"| {tau:g} | {solver} | {seed} | {type(err).__name__} "
                            f"| | | | | | {sec:.1f} | {os.getloadavg()[0]:.1f} "
                            f"| {str(err)[:80]} |",
                            flush=True,
                        )
                        continue
                sec = time.perf_counter() - t0
                dev = tk.metrics.balance(
                    study, res.alignment, ["workload", "accounts"]
                )["max_rel_dev"]
                notes = [
                    n
                    for n in res.info.get("notes", [])
                    if "recombination" in n or "band repair round" in n
                ]
                pieces = res.info.get("pieces")
                if pieces:
                    notes += [
                        f"piece {p['units']} units: {p['status']}" for p in pieces
                    ]
                print(
                    f"| {tau:g} | {solver} | {seed} | {res.status} "
                    f"| {res.objective:.4g} | {res.lower_bound:.4g} "
                    f"| {100 * res.gap:.1f} | {100 * dev['workload']:.2f} "
                    f"| {100 * dev['accounts']:.1f} | {sec:.1f} "
                    f"| {os.getloadavg()[0]:.1f} | {'; '.join(notes)} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()

"""Placebo study of :func:`terrakit.realign.impact`: interval coverage of a known 0.

The sample study's sales are simulated without any effect of the alignment, so
a "realignment" that never changed anything has a true effect of exactly 0.
Each fit takes a rebalanced plan of the sample (seed ``i``, workload band
±15/20/25/30 %) as the alignment *before*, the sample's ``current`` as the one
*after*, and a change month among the 20 months 2024-02..2025-09, then asks
``impact()`` for the effect with its 90 % interval.  About 90 % of the
intervals should cover 0.

Run::

    .venv/bin/python benchmarks/impact_placebo.py --fits 160 --jobs 2

The fits share one sales panel and overlapping sets of "treated" territories,
so they are not independent: the table by change month shows how much of the
miss comes from a few months.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

MONTHS = [str(p) for p in pd.period_range("2024-02", "2025-09", freq="M")]
TOLERANCES = (0.15, 0.2, 0.25, 0.3)
SAMPLER = {"draws": 300, "tune": 300, "chains": 2, "progressbar": False}


def fit(i: int) -> dict[str, object]:
    """Placebo fit ``i``: its plan, change month and 90 % interval."""
    import terrakit as tk

    t0 = time.perf_counter()
    study = tk.load_sample("southeast")
    tol, month = TOLERANCES[i % len(TOLERANCES)], MONTHS[i % len(MONTHS)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = tk.realign.rebalance(
            study, "current", balance={"workload": tol}, time_limit=5, seed=i
        ).alignment
        imp = tk.realign.impact(
            study.with_alignment(plan.rename("before")),
            "before",
            "current",
            month,
            sampler_config=SAMPLER,
            seed=i,
        )
    return {
        "fit": i,
        "tolerance": tol,
        "month": month,
        "treated": len(imp.treated),
        "effect": imp.effect_mean,
        "lo90": imp.effect_lo,
        "hi90": imp.effect_hi,
        "covers_0": bool(imp.effect_lo <= 0 <= imp.effect_hi),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fits", type=int, default=160)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--csv", default=None, help="also write every fit to this CSV")
    args = ap.parse_args()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(fit, range(args.fits)))
    df = pd.DataFrame(rows)
    if args.csv:
        df.to_csv(args.csv, index=False)
    by = df.groupby("month")["covers_0"].agg(["sum", "count"])
    load = os.getloadavg()
    print(
        f"## impact() placebo coverage, {args.fits} fits "
        f"({time.perf_counter() - t0:.0f} s, load {load[0]:.1f})\n"
    )
    print("| change month | fits | 90 % intervals covering 0 |")
    print("|---|---:|---:|")
    for month, r in by.iterrows():
        print(f"| {month} | {int(r['count'])} | {int(r['sum'])} |")
    n, c = len(df), int(df["covers_0"].sum())
    print(
        f"\nall fits: {c} of {n} cover 0 ({100 * c / n:.1f} %, nominal 90 %); "
        f"months with every fit covering: {int((by['sum'] == by['count']).sum())} of "
        f"{len(by)}; effect estimates {df['effect'].min():+.4f} to "
        f"{df['effect'].max():+.4f}, "
        f"median interval width {(df['hi90'] - df['lo90']).median():.4f}"
    )
    print(json.dumps({"fits": n, "covering": c}))


if __name__ == "__main__":
    main()

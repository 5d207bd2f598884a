"""Routing benchmarks: Solomon VRPTW and TSPLIB, PyVRP vs OR-Tools side by side,
and the time of a 4-week call plan for a 300-account territory.

Usage::

    .venv/bin/python benchmarks/routing.py            # everything (~20 min)
    .venv/bin/python benchmarks/routing.py --quick    # a few instances (~2 min)
    .venv/bin/python benchmarks/routing.py --only solomon --time-limit 10

Instances are read from ``../shared/benchmarks/{solomon,tsplib}`` (never
copied).  Each instance is solved by both backends in the same process, one
after the other, single-threaded.  Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "benchmarks"
QUICK_SOLOMON = ["C101", "C201", "R101", "R201", "RC101", "RC201"]
QUICK_TSPLIB = ["burma14", "berlin52", "kroA100", "ch130", "d198", "pr299"]


def _md(df: pd.DataFrame, floatfmt: str = ".2f") -> str:
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float):
                cells.append("" if np.isnan(v) else format(v, floatfmt))
            else:
                cells.append(str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def solomon(names: list[str] | None, time_limit: float, seed: int) -> None:
    from terrakit.benchmarks import solomon as so

    folder = SHARED / "solomon"
    files = so.find_instances(folder)
    if names:
        files = [f for f in files if f.stem in names]
    refs = so.reference_values(folder)
    rows = []
    for f in files:
        row: dict[str, object] = {"instance": f.stem}
        for be in ("pyvrp", "ortools"):
            r = so.solve_file(f, time_limit=time_limit, seed=seed, backend=be)
            row[f"{be}_value"] = r["value"]
            row[f"{be}_veh"] = r["vehicles"]
            row[f"{be}_gap_tr1"] = r.get("gap_trunc1_pct", np.nan)
            row[f"{be}_ok"] = "yes" if r["status"] == "feasible" else "NO"
            row[f"{be}_s"] = r["seconds"]
            row["ref_opt_tr1"] = refs.get(f.stem, np.nan)
            row["bks"] = r.get("bks_distance", np.nan)
            row[f"{be}_gap_bks"] = r.get("gap_bks_pct", np.nan)
        print(
            f"  {f.stem}: pyvrp {row['pyvrp_value']:.2f} ortools "
            f"{row['ortools_value']:.2f}",
            file=sys.stderr,
            flush=True,
        )
        rows.append(row)
    df = pd.DataFrame(rows)
    show = df[
        [
            "instance",
            "ref_opt_tr1",
            "bks",
            "pyvrp_value",
            "pyvrp_veh",
            "pyvrp_gap_tr1",
            "pyvrp_gap_bks",
            "pyvrp_ok",
            "pyvrp_s",
            "ortools_value",
            "ortools_veh",
            "ortools_gap_tr1",
            "ortools_gap_bks",
            "ortools_ok",
            "ortools_s",
        ]
    ]
    print(f"\n### Solomon VRPTW, {time_limit:g} s per instance and backend\n")
    print(_md(show))
    t1 = df["ref_opt_tr1"].astype(float).notna()
    print(
        "\n| backend | mean gap to dist-only opt (trunc-1, type 1) | "
        "median | max | mean gap to hierarchical BKS (exact) | all feasible |"
    )
    print("|---|---|---|---|---|---|")
    for be in ("pyvrp", "ortools"):
        g = df.loc[t1, f"{be}_gap_tr1"].astype(float)
        b = df[f"{be}_gap_bks"].astype(float)
        print(
            f"| {be} | {g.mean():.2f} % | {g.median():.2f} % | {g.max():.2f} % | "
            f"{b.mean():.2f} % | {(df[f'{be}_ok'] == 'yes').all()} |"
        )
    r = (df["ortools_value"] / df["pyvrp_value"]).median()
    print(f"\nMedian ratio OR-Tools / PyVRP distance: {r:.4f}")


def tsplib(
    names: list[str] | None, time_limit: float, seed: int, extra_seeds: list[int]
) -> None:
    import os

    from terrakit.benchmarks import tsplib as ts

    folder = SHARED / "tsplib"
    files = ts.find_instances(folder)
    if names:
        files = [f for f in files if f.stem in names]
    refs = ts.reference_values(folder)
    rows = []
    load0 = os.getloadavg()
    for f in files:
        row: dict[str, object] = {
            "instance": f.stem,
            "optimum": refs.get(f.stem, np.nan),
        }
        for be in ("pyvrp", "ortools"):
            r = ts.solve_file(f, time_limit=time_limit, seed=seed, backend=be)
            row[f"{be}_value"] = float(r["value"])
            row[f"{be}_gap"] = 100 * (r["value"] - row["optimum"]) / row["optimum"]
            row[f"{be}_s"] = r["seconds"]
        for s in extra_seeds:  # the default backend only
            r = ts.solve_file(f, time_limit=time_limit, seed=s, backend="pyvrp")
            row[f"gap_s{s}"] = 100 * (r["value"] - row["optimum"]) / row["optimum"]
            row[f"s_s{s}"] = r["seconds"]
        print(
            f"  {f.stem}: pyvrp {row['pyvrp_gap']:.2f} % ortools "
            f"{row['ortools_gap']:.2f} %",
            file=sys.stderr,
            flush=True,
        )
        rows.append(row)
    load1 = os.getloadavg()
    df = pd.DataFrame(rows)
    print(f"\n### TSPLIB, {time_limit:g} s per instance and backend\n")
    print(
        f"Load average (1/5/15 min) at start {load0[0]:.1f}/{load0[1]:.1f}/"
        f"{load0[2]:.1f}, at end {load1[0]:.1f}/{load1[1]:.1f}/{load1[2]:.1f}.\n"
    )
    print(
        "`pyvrp` on a symmetric TSP = PyVRP's start (nearest neighbour + its "
        "local search), then terrakit.routing.tsp.improve (2-opt and depth-2 "
        "Lin-Kernighan chains on alpha-nearness candidates, double-bridge "
        "kicks), because PyVRP has no intra-route 2-opt; `ortools` = OR-Tools "
        "routing (cheapest insertion + guided local search).\n"
    )
    seed_cols = [c for s in extra_seeds for c in (f"gap_s{s}", f"s_s{s}")]
    print(
        _md(
            df[
                [
                    "instance",
                    "optimum",
                    "pyvrp_value",
                    "pyvrp_gap",
                    "pyvrp_s",
                    *seed_cols,
                    "ortools_value",
                    "ortools_gap",
                    "ortools_s",
                ]
            ],
            ".2f",
        )
    )
    print("\n| backend | seed | mean gap | median | max | instances ≤ 0.5 % | max s |")
    print("|---|---|---|---|---|---|---|")
    runs = [("pyvrp", seed, "pyvrp_gap", "pyvrp_s")]
    runs += [("pyvrp", s, f"gap_s{s}", f"s_s{s}") for s in extra_seeds]
    runs += [("ortools", seed, "ortools_gap", "ortools_s")]
    for be, s, gcol, scol in runs:
        g = df[gcol].astype(float)
        print(
            f"| {be} | {s} | {g.mean():.2f} % | {g.median():.2f} % | "
            f"{g.max():.2f} % | {int((g <= 0.5 + 1e-9).sum())}/{len(g)} | "
            f"{df[scol].max():.1f} |"
        )


def plan300(time_limit: float, seed: int) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "routing"))
    from toy_studies import make_study  # type: ignore[import-not-found]

    import terrakit.routing as rt

    st = make_study(
        300,
        calls=(30.0, 24.0, 12.0, 12.0, 12.0, 5.0, 5.0, 5.0, 4.0, 4.0),
        call_minutes=25.0,
        spread_deg=0.25,
    )
    print(
        f"\n### 4-week call plan, 300 accounts (synthetic), time_limit={time_limit:g}\n"
    )
    print("| backend | seconds | visits routed | dropped | drive h | work h |")
    print("|---|---|---|---|---|---|")
    for be in ("pyvrp", "ortools"):
        t0 = time.perf_counter()
        p = rt.plan_calls(
            st, "current", "R01", backend=be, time_limit=time_limit, seed=seed
        )
        secs = time.perf_counter() - t0
        print(
            f"| {be} | {secs:.1f} | {p.n_visits} | {len(p.dropped)} | "
            f"{p.drive_hours:.1f} | {p.work_hours:.1f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["solomon", "tsplib", "plan"], default=None)
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--tsplib-seeds",
        type=int,
        nargs="*",
        default=[],
        help="extra seeds for TSPLIB, default backend only (e.g. 1 2)",
    )
    a = ap.parse_args()
    print(
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; command: "
        f"{' '.join(['benchmarks/routing.py', *sys.argv[1:]])}; machine: "
        f"{platform.machine()}, {platform.processor() or '?'}, "
        f"{__import__('os').cpu_count()} cores (shared), Python "
        f"{platform.python_version()}"
    )
    if a.only in (None, "solomon"):
        solomon(QUICK_SOLOMON if a.quick else None, a.time_limit or 10.0, a.seed)
    if a.only in (None, "tsplib"):
        tsplib(
            QUICK_TSPLIB if a.quick else None,
            a.time_limit or 5.0,
            a.seed,
            a.tsplib_seeds,
        )
    if a.only in (None, "plan"):
        plan300(a.time_limit or 10.0, a.seed)


if __name__ == "__main__":
    main()

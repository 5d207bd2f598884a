"""p-median families through terrakit's design engine, next to a plain PuLP+CBC model.

Prints one markdown table per family: instance, reference, terrakit value,
gap %, seconds, status, method, and the plain model a user would write by hand
(PuLP ``lpSum`` in loops, CBC, the same time limit) with time and objective
ratios measured in the same process.

Usage::

    python benchmarks/design_pmed.py              # all instances
    python benchmarks/design_pmed.py --quick      # a few small ones, short limits
    python benchmarks/design_pmed.py --families pmedcap --no-baseline
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from terrakit.benchmarks import pmed, pmedcap
from terrakit.benchmarks import run as run_family
from terrakit.exceptions import TimeLimitWarning

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"

FAMILIES = {
    # name: (registry family, folder, glob, time limit, quick subset, quick limit)
    "pmedcap": (
        "pmedcap",
        SHARED / "pmedcap",
        "pmedcap*.txt",
        10.0,
        ["pmedcap01", "pmedcap02", "pmedcap11"],
        10.0,
    ),
    "sjc": ("pmedcap", SHARED / "pmedcap" / "sjc", "SJC*.dat", 60.0, ["SJC1"], 20.0),
    "pmed": (
        "pmed",
        SHARED / "pmed",
        "pmed*.txt",
        30.0,
        ["pmed1", "pmed2", "pmed16"],
        10.0,
    ),
}

#: |gap| below this (per cent) counts as "at reference": the SJC references
#: are printed with 2 decimals (relative rounding up to ~3e-7)
AT_REFERENCE_PCT = 1e-4

#: the plain model is skipped above this many x variables (n > 200): its
#: build in Python loops and CBC's run would dominate the benchmark's time
BASELINE_MAX_PAIRS = 40_000


def _sjc_reference(folder: Path) -> dict[str, float]:
    df = pd.read_csv(folder.parent / "reference.csv")
    return dict(zip(df["instance"], df["reference_value"].astype(float), strict=True))


def plain_pulp_cbc(
    cost: np.ndarray,
    p: int,
    demand: np.ndarray | None,
    capacity: float | None,
    time_limit: float,
) -> tuple[float, float, str]:
    """The model a user writes by hand: PuLP, loops, CBC.  (value, seconds, status)"""
    import pulp

    t0 = time.perf_counter()
    n, m = cost.shape
    prob = pulp.LpProblem("pmedian", pulp.LpMinimize)
    x = pulp.LpVariable.dicts("x", (range(n), range(m)), cat="Binary")
    y = pulp.LpVariable.dicts("y", range(m), cat="Binary")
    prob += pulp.lpSum(cost[i, j] * x[i][j] for i in range(n) for j in range(m))
    for i in range(n):
        prob += pulp.lpSum(x[i][j] for j in range(m)) == 1
    prob += pulp.lpSum(y[j] for j in range(m)) == p
    for i in range(n):
        for j in range(m):
            prob += x[i][j] <= y[j]
    if demand is not None and capacity is not None:
        for j in range(m):
            prob += pulp.lpSum(demand[i] * x[i][j] for i in range(n)) <= capacity * y[j]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=max(1, math.ceil(time_limit)))
    prob.solve(solver)
    seconds = time.perf_counter() - t0
    if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return math.nan, seconds, "no solution"
    xs = np.array([[x[i][j].varValue or 0.0 for j in range(m)] for i in range(n)])
    value = float(cost[np.arange(n), xs.argmax(axis=1)].sum())
    status = "optimal" if prob.sol_status == pulp.LpSolutionOptimal else "time_limit"
    return value, seconds, status


def _load() -> str:
    """The 1/5/15-minute load averages (the machine is shared)."""
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - platform without getloadavg
        return "n/a"


def _fmt(v: object, digits: int = 2) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.{digits}f}"
    return str(v)


def markdown(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(_fmt(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def bench_family(
    name: str, quick: bool, baseline: bool, time_limit: float | None
) -> pd.DataFrame:
    fam, folder, pattern, limit, quick_set, quick_limit = FAMILIES[name]
    files = sorted(
        folder.glob(pattern),
        key=lambda f: int("".join(ch for ch in f.stem if ch.isdigit()) or 0),
    )
    if quick:
        files = [f for f in files if f.stem in quick_set]
        limit = quick_limit
    if time_limit is not None:
        limit = time_limit
    refs = _sjc_reference(folder) if name == "sjc" else {}
    rows = []
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TimeLimitWarning)
            r = run_family(fam, [f], time_limit=limit, seed=0).iloc[0].to_dict()
        ref = r.get("reference", refs.get(r["instance"], math.nan))
        ref = float(ref) if ref is not None else math.nan
        value = float(r["value"])
        row = {
            "instance": r["instance"],
            "reference": ref,
            "terrakit": value,
            "gap %": 100 * (value - ref) / ref if ref == ref else math.nan,
            "bound": float(r["lower_bound"]),
            "seconds": float(r["seconds"]),
            "status": r["status"],
            "method": r["method"],
        }
        if baseline:
            if fam == "pmed":
                inst = pmed.read_instance(f)
                cost, dem, cap, p = inst.distance, None, None, inst.p
            else:
                ci = pmedcap.read_instance(f)
                cost, dem, cap, p = ci.distance, ci.demand, ci.capacity, ci.p
            if cost.size <= BASELINE_MAX_PAIRS:
                bv, bs, bst = plain_pulp_cbc(cost, p, dem, cap, limit)
            else:
                bv, bs, bst = math.nan, math.nan, "skipped (too large)"
            row.update(
                {
                    "PuLP+CBC": bv,
                    "CBC s": bs,
                    "CBC status": bst,
                    "time ratio": row["seconds"] / bs if bs == bs else math.nan,
                    "obj ratio": value / bv if bv == bv else math.nan,
                }
            )
        rows.append(row)
        print(
            f"  {name} {row['instance']}: {value:g} (ref {ref:g}) "
            f"{row['seconds']:.1f}s {row['status']}",
            file=sys.stderr,
            flush=True,
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few instances, short limits")
    ap.add_argument("--families", default="pmedcap,sjc,pmed")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--csv", default=None, help="also write all rows to this CSV")
    args = ap.parse_args(argv)
    print(
        f"# terrakit design: p-median families — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"python {platform.python_version()}; command: "
        f"python benchmarks/design_pmed.py {' '.join(argv or sys.argv[1:])}; "
        f"load average at start {_load()}\n"
    )
    frames = []
    for name in args.families.split(","):
        df = bench_family(name, args.quick, not args.no_baseline, args.time_limit)
        df.insert(0, "family", name)
        frames.append(df)
        print(f"## {name}\n")
        print(markdown(df.drop(columns=["family"])))
        gaps = df["gap %"].dropna()
        secs = df["seconds"]
        line = (
            f"\n{name}: {len(df)} instances, mean gap {gaps.mean():.3f} %, "
            f"max gap {gaps.max():.3f} %, at reference on "
            f"{int((gaps.abs() < AT_REFERENCE_PCT).sum())}/{len(gaps)}, proven "
            f"{int((df['status'] == 'optimal').sum())}/{len(df)}, median "
            f"{statistics.median(secs):.1f} s, max {secs.max():.1f} s"
        )
        if "time ratio" in df and df["time ratio"].notna().any():
            line += (
                f"; median time ratio terrakit/PuLP+CBC "
                f"{df['time ratio'].median():.2f}, median objective ratio "
                f"{df['obj ratio'].median():.4f}"
            )
        print(line + f"; load average {_load()}\n", flush=True)
    if args.csv:
        pd.concat(frames).to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

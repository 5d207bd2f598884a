"""Graph benchmark families through the design engine: districting and dtdp.

Prints one table per family (instance, reference, value, gap %, seconds,
status) and a summary of the issue-3 targets:

- districting (Validi & Buchanan 2022): county instances at the proven optimum
  (``with_contiguity``), tract instances feasible with a reported bound,
  each within the time limit;
- dtdp (Aly, Gabor & Sleptchenko 2024): feasible on every instance, at or
  below the best-known value on at least half.

Side by side (districting): the plain PuLP+CBC model a user writes by hand
(``benchmarks/plain_mip.py``: the Hess model with cut-edge rows and
single-commodity flow contiguity) gets the same time limit on every instance
with at most ``BASELINE_MAX_PAIRS`` unit pairs (the counties); the table adds
its value, CBC's lower bound, seconds and status, and the time and objective
ratios terrakit / plain.  dtdp has no plain model here: its min-max diameter
needs a row per unit pair and territory (over a million rows).

Usage::

    .venv/bin/python benchmarks/design_graphs.py [--quick] [--family F]
        [--time-limit S] [--seed N] [--no-baseline]

``--quick``: the two smallest instances per family at 10 s each.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import pandas as pd
from plain_mip import plain_pulp_cbc

from terrakit.benchmarks import districting, dtdp
from terrakit.benchmarks._graphs import to_problem
from terrakit.benchmarks.run import run

ROOT = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"

#: the plain model runs only up to this many unit pairs (n² x variables): the
#: county graphs (at most 99² = 9,801); the tracts would need 87,000–472,000
BASELINE_MAX_PAIRS = 10_000


def _baseline(path: Path, time_limit: float) -> dict[str, object]:
    """The plain PuLP+CBC model on one districting instance (columns ``plain_*``)."""
    inst = districting.read_instance(path)
    if inst.n_nodes**2 > BASELINE_MAX_PAIRS:
        return {"plain_status": "not run (size)"}
    out = plain_pulp_cbc(to_problem(inst), time_limit)
    if out["violations"]:  # never seen; kept visible rather than scored
        out["status"] += " (breaks: " + "; ".join(out["violations"][:2]) + ")"
    return {
        "plain_value": out["value"],
        "plain_bound": round(out["bound"], 3),
        "plain_s": round(out["seconds"], 1),
        "plain_status": out["status"],
    }


def markdown(df: pd.DataFrame) -> str:
    """A pipe table (no tabulate dependency)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| " + " | ".join(str(v) for v in row) + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def _table(df: pd.DataFrame) -> str:
    cols = [
        "instance",
        "reference",
        "value",
        "lower_bound",
        "gap_pct",
        "seconds",
        "status",
    ]
    extra = [
        c for c in ("method", "feasible", "cpu_seconds", "load_1min") if c in df.columns
    ]
    out = df[cols + extra].copy()
    out["gap_pct"] = out["gap_pct"].astype(float).round(2)
    out["seconds"] = out["seconds"].astype(float).round(1)
    out["value"] = out["value"].astype(float).round(4)
    out["lower_bound"] = out["lower_bound"].astype(float).round(4)
    for c in ("cpu_seconds", "load_1min"):
        if c in out.columns:
            out[c] = out[c].astype(float).round(1)
    return markdown(out)


def _side_by_side(df: pd.DataFrame) -> str:
    """terrakit next to the plain model, with time and objective ratios."""
    out = df[["instance", "value", "lower_bound", "seconds", "status"]].copy()
    for c in ("plain_value", "plain_bound", "plain_s", "plain_status"):
        out[c] = df[c] if c in df.columns else float("nan")
    out["seconds"] = out["seconds"].astype(float).round(1)
    out["time_ratio"] = (out["seconds"] / out["plain_s"].astype(float)).round(2)
    out["obj_ratio"] = (out["value"] / out["plain_value"].astype(float)).round(3)
    return markdown(out.fillna("–"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--family", choices=["districting", "dtdp", "all"], default="all")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--level", choices=["county", "tract", "all"], default="all")
    ap.add_argument(
        "--bound",
        choices=["cg", "mip"],
        default="cg",
        help="districting exact bound: column generation (cg) or the rooted MIP",
    )
    ap.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the plain PuLP+CBC model beside the districting instances",
    )
    args = ap.parse_args()
    tl = args.time_limit or (10.0 if args.quick else 60.0)
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  "
        f"{platform.node()} {platform.processor() or platform.machine()}  "
        f"time_limit={tl:g}s seed={args.seed}"
    )
    if args.family in ("districting", "all"):
        level = None if args.level == "all" else args.level
        files = districting.find_instances(ROOT / "districting", level=level)
        if args.quick:
            files = files[:2]
        load0 = os.getloadavg()
        rows = []
        for f in files:  # one by one, to record the load next to each row
            row = run(
                "districting", [f], time_limit=tl, seed=args.seed, bound=args.bound
            )
            row["load_1min"] = os.getloadavg()[0]
            if not args.no_baseline:
                for key, val in _baseline(f, tl).items():
                    row[key] = val
            rows.append(row)
        df = pd.concat(rows, ignore_index=True)
        load1 = os.getloadavg()
        print(
            "\n## districting (with_contiguity; reference = best published cut edges; "
            f"bound={args.bound})\n"
        )
        print(_table(df))
        if "plain_status" in df.columns:
            print("\nside by side: the plain PuLP+CBC model, same time limit\n")
            print(_side_by_side(df))
        print(
            "load average (1/5/15 min) before "
            + "/".join(f"{x:.1f}" for x in load0)
            + ", after "
            + "/".join(f"{x:.1f}" for x in load1)
        )
        # every claimed optimum must be the published proven value
        claimed = df[df["status"] == "optimal"]
        wrong = claimed[claimed["value"] != claimed["reference"]]
        bad_bound = df[df["lower_bound"] > df["reference"] + 1e-9]
        ref_opt = districting.read_reference(ROOT / "districting")
        proven = set(
            ref_opt.loc[
                (ref_opt["variant"] == "with_contiguity")
                & (ref_opt["status"] == "optimal"),
                "instance",
            ]
        )
        bad_bound = bad_bound[bad_bound["instance"].isin(proven)]
        if len(wrong) or len(bad_bound):
            print(
                "\nERROR: a claimed optimum or bound contradicts the published optimum:"
            )
            print(_table(pd.concat([wrong, bad_bound])))
            raise SystemExit(1)
        county = df[df["instance"].str.endswith("_county")]
        tract = df[df["instance"].str.endswith("_tract")]
        if len(county):
            hit = (county["value"] <= county["reference"]).sum()
            proven = (county["status"] == "optimal").sum()
            print(
                f"\ncounties: optimum value reached on {hit}/{len(county)}, "
                f"optimality proven on {proven}/{len(county)}"
            )
        if len(tract):
            print(
                f"tracts: feasible on {int(tract['feasible'].sum())}/{len(tract)}, "
                f"median gap to best known {tract['gap_pct'].median():.1f} %"
            )
        print(f"max seconds {df['seconds'].max():.1f}")
    if args.family in ("dtdp", "all"):
        files = dtdp.find_instances(ROOT / "dtdp")
        if args.quick:
            files = files[:2]
        load0 = os.getloadavg()
        df = run("dtdp", files, time_limit=tl, seed=args.seed, progress=True)
        load1 = os.getloadavg()
        print("\n## dtdp (reference = best known feasible objective)\n")
        print(_table(df))
        at_or_below = (df["value"] <= df["reference"] + 1e-6).sum()
        print(
            f"\ndtdp: feasible on {int(df['feasible'].sum())}/{len(df)}, at or "
            f"below best known on {at_or_below}/{len(df)}, median gap "
            f"{df['gap_pct'].median():.2f} %, max seconds {df['seconds'].max():.1f}"
        )
        print(
            "load average (1/5/15 min) before "
            + "/".join(f"{x:.1f}" for x in load0)
            + ", after "
            + "/".join(f"{x:.1f}" for x in load1)
        )


if __name__ == "__main__":
    main()

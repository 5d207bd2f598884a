"""National scale, real geography: US counties and ZCTAs (issue 3).

Targets: the US county polygons → 100 territories, ±3 % population,
contiguous; the ZCTA centroids → 300 territories, ±3 % population; each
≤ 120 s on the 2-core machine.  Data: ``../shared/benchmarks/geo/`` (read
through :mod:`terrakit.benchmarks.geo`).

The script first checks the specification and prints why the county target
is impossible as stated (the units heavier than one territory, and the
units that no contiguous territory can hold within the band), then runs
``tk.design.align(units, n_territories=..., balance={"population": 0.03},
contiguity=..., time_limit=..., seed=0)`` with centers chosen, on:

- ``counties``: 50 states + DC, contiguous (queen adjacency + 12 island /
  bridge links), oversized counties split into the fewest equal parts;
- ``counties_blocking``: as above, and every county that blocks the band
  (oversized or provably stuck) split into parts of at most ``2τ · mean``;
- ``counties_free``: oversized split, no contiguity;
- ``zctas``: 300 territories, no contiguity, centers among 2,000 candidates;
- ``zctas_contig`` (``--with-contig``): Voronoi adjacency of the ZCTA points.

Each instance runs in its own process (peak RSS per instance).

Usage::

    .venv/bin/python benchmarks/design_national.py [--time-limit 120]
        [--only counties,zctas] [--with-contig] [--tolerance 0.03] [--no-spec]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

GEO = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "geo"

INSTANCES = {
    "counties": {"file": "us_counties_fips.geojson", "split": "oversized"},
    "counties_blocking": {"file": "us_counties_fips.geojson", "split": "blocking"},
    "counties_free": {
        "file": "us_counties_fips.geojson",
        "split": "oversized",
        "contiguity": False,
    },
    "zctas": {"file": "zcta_2010_pop_area_centroid.csv"},
    "zctas_contig": {"file": "zcta_2010_pop_area_centroid.csv", "contiguity": True},
}


def _one(name: str, time_limit: float, seed: int, tolerance: float) -> None:
    """Solve one instance in this process and print one JSON line."""
    from terrakit.benchmarks.geo import solve_file
    from terrakit.exceptions import TimeLimitWarning

    spec = dict(INSTANCES[name])
    path = GEO / spec.pop("file")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        row = solve_file(
            path, time_limit=time_limit, seed=seed, tolerance=tolerance, **spec
        )
    row["seconds"] = time.perf_counter() - t0
    row.pop("solution")
    row["name"] = name
    row["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps(row, default=float), flush=True)


def _specification() -> None:
    """Print why the county target is impossible as stated."""
    import pandas as pd

    from terrakit import design
    from terrakit.benchmarks import geo as bg
    from terrakit.design.oversized import split_blocking
    from terrakit.exceptions import SpecificationError

    units = bg.us_counties(GEO)
    adj, links = bg.unit_adjacency(units)
    total = int(units["population"].sum())
    mean = total / 100
    print(
        f"\n## Specification: {len(units)} counties, population {total:,}, "
        f"100 territories → mean {mean:,.0f}, ±3 % band "
        f"[{0.97 * mean:,.0f}, {1.03 * mean:,.0f}]"
    )
    print(f"\nisland / bridge links ({len(links)}):")
    for a, b, km in links:
        print(
            f"  {a} {units.loc[a, 'name']} ({units.loc[a, 'state']}) – {b} "
            f"{units.loc[b, 'name']} ({units.loc[b, 'state']}): {km:,.0f} km"
        )
    try:
        design.align(
            units,
            n_territories=100,
            balance={"population": 0.03},
            contiguity=True,
            adjacency=adj,
            time_limit=5,
        )
        print("\nalign accepted the specification (unexpected)")
    except SpecificationError as err:
        print(f"\nalign raises SpecificationError:\n  {err}")
    over = units[units["population"] > 1.03 * mean].sort_values(
        "population", ascending=False
    )
    print(f"\ncounties above the {1.03 * mean:,.0f} upper limit ({len(over)}):")
    for uid, r in over.iterrows():
        print(
            f"  {uid} {r['name']} ({r['state']}): {r['population']:,} = "
            f"{r['population'] / mean:.2f} × mean"
        )
    split = design.split_oversized(units, "population", 100, 0.03, adjacency=adj)
    print("\n" + split.summary())
    blocking, stuck = split_blocking(units, "population", 100, 0.03, adjacency=adj)
    name = units["name"].to_dict()
    print(
        "\nafter that split, units that NO contiguous territory can hold within "
        f"the band ({len(stuck)}; exhaustive enumeration of connected sets):"
    )
    for uid, r in stuck.iterrows():
        base = str(uid).split("#")[0]
        below = ", ".join(str(x) for x in r["set_below"])
        above = ", ".join(str(x) for x in r["set_above"])
        print(
            f"  {uid} {name.get(base, '')}: {r['value']:,.0f}; largest set under "
            f"the band {r['best_below']:,.0f} ({below}); smallest over "
            f"{r['best_above']:,.0f} ({above})"
        )
    print("\nsplit='blocking' (oversized + stuck units, parts ≤ 2τ·mean):")
    print(blocking.summary())
    del pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tolerance", type=float, default=0.03)
    ap.add_argument("--only", default=None, help="comma list of instance names")
    ap.add_argument("--with-contig", action="store_true")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--no-spec", action="store_true")
    args = ap.parse_args()
    if args.one:
        _one(args.one, args.time_limit, args.seed, args.tolerance)
        return
    names = (
        args.only.split(",")
        if args.only
        else ["counties", "counties_blocking", "counties_free", "zctas"]
        + (["zctas_contig"] if args.with_contig else [])
    )
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  "
        f"{platform.node()} {platform.machine()} {os.cpu_count()} cores  "
        f"time_limit={args.time_limit:g}s seed={args.seed} "
        f"tolerance=±{100 * args.tolerance:g} %  "
        f"load {os.getloadavg()[0]:.2f}"
    )
    if not args.no_spec:
        _specification()
    cols = [
        "instance",
        "units",
        "territories",
        "max dev %",
        "contiguous",
        "objective",
        "lower bound",
        "gap %",
        "seconds",
        "peak RSS GB",
        "status",
        "load",
    ]
    print("\n| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for name in names:
        load0 = os.getloadavg()[0]
        cmd = [
            sys.executable,
            __file__,
            "--one",
            name,
            "--time-limit",
            str(args.time_limit),
            "--seed",
            str(args.seed),
            "--tolerance",
            str(args.tolerance),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        line = out.stdout.strip().splitlines()[-1:] or [""]
        try:
            r = json.loads(line[0])
        except json.JSONDecodeError:
            print(f"| {name} | failed: {out.stderr.strip().splitlines()[-1:]} |")
            continue
        load = f"{load0:.1f}→{os.getloadavg()[0]:.1f}"
        contig = r["contiguous"]
        vals = [
            r["instance"],
            f"{r['units']:,}",
            str(r["territories"]),
            f"{100 * r['max_deviation']:.2f}",
            "-" if contig is None else ("yes" if contig else "no"),
            f"{r['value']:.4g}",
            f"{r['lower_bound']:.4g}",
            f"{100 * r['gap']:.1f}",
            f"{r['seconds']:.1f}",
            f"{r['peak_rss_gb']:.2f}",
            r["status"],
            load,
        ]
        print("| " + " | ".join(vals) + " |", flush=True)
        extra = {
            k: r[k]
            for k in (
                "build_seconds",
                "solve_seconds",
                "split_units",
                "stuck_units",
                "multi_rep_groups",
                "multi_rep_reps",
                "links",
                "method",
                "notes",
            )
            if k in r
        }
        print(f"  {name}: {json.dumps(extra, default=float)}", file=sys.stderr)


if __name__ == "__main__":
    main()

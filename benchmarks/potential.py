"""Unit-level potential model (BYM2), synthetic region: nutpie vs PyMC vs fast paths.

Fits :class:`terrakit.potential.PotentialModel` at ``level="unit"`` on
``tk.datasets.synthetic_region(n_units)`` three times in one process, with
the same data, draws and seed:

- nutpie (default sampler, NUTS compiled with numba);
- PyMC's default NUTS;
- the fast approximate paths: the Laplace approximation (Gaussian at the
  mode) and mean-field ADVI.

and prints compile time, sampling time, minimum bulk ESS per second of
sampling, max R-hat and divergences per sampler, the nutpie / PyMC ratio of
min-ESS/s, and for each approximate path its wall time and the share of unit
potentials whose posterior mean lies within 0.25 posterior SD (of nutpie) of
nutpie's mean.  The adjacency is built once and passed to every fit (it is
data preparation shared by all methods; its time is printed separately).

Issue-4 targets: R-hat ≤ 1.01, no divergences, nutpie ≥ 2× the min-ESS/s of
PyMC, approximate path ≤ 10 s with ≥ 90 % of unit potentials within 0.25 SD.

Usage::

    .venv/bin/python benchmarks/potential.py [--quick] [--units N]
        [--draws D] [--tune T] [--seed S] [--skip-pymc] [--skip-advi]

``--quick``: 400 units, 300 draws and 300 tuning steps.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
import warnings

import numpy as np
import pandas as pd

from terrakit.data.geo import adjacency
from terrakit.data.synthetic import synthetic_region
from terrakit.exceptions import ConvergenceWarning
from terrakit.potential import PotentialModel


def markdown(df: pd.DataFrame) -> str:
    """A pipe table (no tabulate dependency)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| " + " | ".join(str(v) for v in row) + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--units", type=int, default=3000)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vi-iterations", type=int, default=10_000)
    ap.add_argument("--skip-pymc", action="store_true")
    ap.add_argument("--skip-advi", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.units, args.draws, args.tune = 400, 300, 300
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# potential benchmark {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.node()} {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load {load:.1f}"
    )
    t = time.perf_counter()
    study = synthetic_region(
        n_units=args.units, n_accounts=5 * args.units, n_reps=20, seed=args.seed
    )
    print(f"synthetic_region({args.units}): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    adj = adjacency(study.units, kind="queen", warn=False)
    print(f"queen adjacency: {time.perf_counter() - t:.1f} s", flush=True)
    base = {
        "draws": args.draws,
        "tune": args.tune,
        "chains": 2,
        "cores": 2,
        "progressbar": False,
    }
    rows = []
    results = {}
    methods = ["nutpie"] if args.skip_pymc else ["nutpie", "pymc"]
    for method in methods:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = PotentialModel(sampler_config=base | {"method": method}).fit(
                study, level="unit", seed=args.seed, adjacency=adj
            )
        total = time.perf_counter() - t0
        d = res.diagnostics(warn=False)
        results[method] = res
        rows.append(
            {
                "sampler": method,
                "compile s": round(res.compile_seconds, 1),
                "sample s": round(res.sample_seconds, 1),
                "total s": round(total, 1),
                "min bulk ESS": round(d.min_ess_bulk),
                "min ESS/s": round(d.min_ess_bulk / res.sample_seconds, 2),
                "max R-hat": round(d.max_rhat, 3),
                "divergences": d.divergences,
            }
        )
        print(rows[-1], flush=True)
    ref = results["nutpie"].draws("unit").to_numpy()
    fast: dict[str, tuple[float, float]] = {}
    approx_methods = ["laplace"] if args.skip_advi else ["laplace", "advi"]
    for method in approx_methods:
        t0 = time.perf_counter()
        res = PotentialModel(
            sampler_config={
                "method": method,
                "progressbar": False,
                "vi_iterations": args.vi_iterations,
                "vi_draws": 1000,
            }
        ).fit(study, level="unit", seed=args.seed, adjacency=adj)
        total = time.perf_counter() - t0
        approx = res.draws("unit").to_numpy()
        z = np.abs(approx.mean(axis=1) - ref.mean(axis=1)) / ref.std(axis=1)
        fast[method] = (total, float((z <= 0.25).mean()))
        rows.append(
            {
                "sampler": method,
                "compile s": round(res.compile_seconds, 1),
                "sample s": round(res.sample_seconds, 1),
                "total s": round(total, 1),
                "min bulk ESS": "-",
                "min ESS/s": "-",
                "max R-hat": "-",
                "divergences": "-",
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print()
    print(
        f"units {args.units}, draws {args.draws}, tune {args.tune}, chains 2, "
        f"seed {args.seed}"
    )
    print(markdown(table))
    print()
    nut = rows[0]
    checks = [
        ("nutpie R-hat <= 1.01", nut["max R-hat"] <= 1.01, nut["max R-hat"]),
        ("nutpie divergences == 0", nut["divergences"] == 0, nut["divergences"]),
    ]
    if "pymc" in results:
        py = rows[1]
        ratio = nut["min ESS/s"] / max(py["min ESS/s"], 1e-9)
        checks += [
            ("pymc R-hat <= 1.01", py["max R-hat"] <= 1.01, py["max R-hat"]),
            ("pymc divergences == 0", py["divergences"] == 0, py["divergences"]),
            ("nutpie min-ESS/s >= 2x pymc", ratio >= 2.0, f"{ratio:.2f}x"),
        ]
    for method, (total, within) in fast.items():
        checks += [
            (f"{method} total <= 10 s", total <= 10.0, f"{total:.1f} s"),
            (
                f"{method} means within 0.25 SD for >= 90 % units",
                within >= 0.9,
                f"{100 * within:.1f} %",
            ),
        ]
    print(
        markdown(
            pd.DataFrame(
                [
                    {"target": c, "met": "yes" if ok else "NO", "value": v}
                    for c, ok, v in checks
                ]
            )
        )
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average at the end: {load:.1f}")


if __name__ == "__main__":
    main()

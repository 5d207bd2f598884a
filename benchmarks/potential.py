"""Unit-level potential model (BYM2), synthetic region: nutpie vs PyMC vs fast paths.

Fits :class:`terrakit.potential.PotentialModel` at ``level="unit"`` on
``tk.datasets.synthetic_region(n_units)`` three times in one process, with
the same data, draws and seed:

- nutpie (default sampler, NUTS compiled with numba);
- PyMC's default NUTS;
- the fast approximate paths: ``method="laplace"`` (at unit level the
  sparse nested Laplace approximation of
  :mod:`terrakit.potential.approx`: no MCMC, no compilation, no
  eigen-decomposition) and mean-field ADVI.

and prints compile time, sampling time, minimum bulk ESS per second of
sampling, max R-hat and divergences per sampler, the nutpie / PyMC ratio of
min-ESS/s, and for each approximate path its wall time and the share of unit
potentials whose posterior mean lies within 0.25 posterior SD (of nutpie) of
nutpie's mean, the median of that distance in SDs and the median ratio of
the approximate to the nutpie posterior SD.  The fast path runs
``--repeats`` times (median reported), each time without the cached BYM2
scaling factors.  The adjacency is built once and
passed to every fit (it is data preparation shared by all methods; its time
is printed separately).

nutpie's unit potentials (mean and SD per unit) are cached in the temporary
directory; ``--fast-only`` compares the fast path against that cache
(running nutpie once if it is missing) instead of refitting NUTS.

Issue-4 targets: R-hat ≤ 1.01, no divergences, nutpie ≥ 2× the min-ESS/s of
PyMC, approximate path ≤ 10 s with ≥ 90 % of unit potentials within 0.25 SD.

Usage::

    .venv/bin/python benchmarks/potential.py [--quick] [--units N]
        [--draws D] [--tune T] [--seed S] [--skip-pymc] [--skip-advi]
        [--fast-only] [--repeats R]

``--quick``: 400 units, 300 draws and 300 tuning steps.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from terrakit.data.geo import adjacency
from terrakit.data.synthetic import synthetic_region
from terrakit.exceptions import ConvergenceWarning
from terrakit.potential import PotentialModel
from terrakit.potential.spatial import _SCALE_CACHE


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
    ap.add_argument(
        "--fast-only",
        action="store_true",
        help="only the fast path, against the cached nutpie reference",
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--fast-draws", type=int, default=1000)
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
    # a one-off cost of any potential fit in a fresh process, kept out of the
    # timings (ArviZ compiles numba functions when imported)
    t = time.perf_counter()
    import arviz  # noqa: F401

    print(f"import arviz: {time.perf_counter() - t:.1f} s", flush=True)
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
    cache = Path(tempfile.gettempdir()) / (
        f"terrakit_potential_nuts_u{args.units}_s{args.seed}_d{args.draws}"
        f"_t{args.tune}.npz"
    )
    if args.fast_only:
        methods = [] if cache.exists() else ["nutpie"]
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
    if "nutpie" in results:
        ref = results["nutpie"].draws("unit").to_numpy()
        np.savez(
            cache,
            mean=ref.mean(axis=1),
            sd=ref.std(axis=1),
            row=np.array([str(rows[0])]),
        )
        ref_mean, ref_sd = ref.mean(axis=1), ref.std(axis=1)
    else:
        with np.load(cache) as z:
            ref_mean, ref_sd = z["mean"], z["sd"]
            print(f"nutpie reference from {cache}: {z['row'][0]}")
    fast: dict[str, tuple[float, float]] = {}
    approx_methods = ["laplace"] if args.skip_advi else ["laplace", "advi"]
    acc_rows = []
    for method in approx_methods:
        repeats = args.repeats if method == "laplace" else 1
        times, comp, samp = [], [], []
        for _ in range(repeats):
            # cold every time: forget the cached exact BYM2 scaling factors
            _SCALE_CACHE.clear()
            t0 = time.perf_counter()
            res = PotentialModel(
                sampler_config={
                    "method": method,
                    "progressbar": False,
                    "vi_iterations": args.vi_iterations,
                    "vi_draws": args.fast_draws,
                }
            ).fit(study, level="unit", seed=args.seed, adjacency=adj)
            times.append(time.perf_counter() - t0)
            comp.append(res.compile_seconds)
            samp.append(res.sample_seconds)
            print(f"{method}: {times[-1]:.1f} s", flush=True)
        total = statistics.median(times)
        approx = res.draws("unit").to_numpy()
        z = np.abs(approx.mean(axis=1) - ref_mean) / ref_sd
        fast[method] = (total, float((z <= 0.25).mean()))
        attrs = res.idata.posterior.attrs
        acc_rows.append(
            {
                "method": method,
                "draws": approx.shape[1],
                "fit s (each repeat)": " / ".join(f"{t:.1f}" for t in times),
                "grid points": attrs.get("grid_points", "-"),
                "log-post evals": attrs.get("log_posterior_evaluations", "-"),
                "within 0.25 SD %": round(100 * float((z <= 0.25).mean()), 1),
                "median |dmean|/SD": round(float(np.median(z)), 3),
                "max |dmean|/SD": round(float(z.max()), 3),
                "median SD ratio": round(
                    float(np.median(approx.std(axis=1) / ref_sd)), 3
                ),
            }
        )
        rows.append(
            {
                "sampler": method,
                "compile s": round(statistics.median(comp), 1),
                "sample s": round(statistics.median(samp), 1),
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
    print("approximate unit potentials vs nutpie (mean and SD per unit):")
    print(markdown(pd.DataFrame(acc_rows)))
    print()
    checks = []
    if "nutpie" in results:
        nut = rows[0]
        checks += [
            ("nutpie R-hat <= 1.01", nut["max R-hat"] <= 1.01, nut["max R-hat"]),
            ("nutpie divergences == 0", nut["divergences"] == 0, nut["divergences"]),
        ]
    if "pymc" in results:
        nut, py = rows[0], rows[1]
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

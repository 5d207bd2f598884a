"""Sizing benchmark: Talley's workload case, and the sample study's headcount curve.

Run::

    .venv/bin/python benchmarks/sizing.py            # print the tables
    .venv/bin/python benchmarks/sizing.py --record   # also append to README.md

1. Talley (1961) workload build-up: 1,000 accounts × 36 calls + 2,000 × 12
   calls at 1,000 calls per rep and year must give exactly 60 reps (also in
   hours: 96 minutes per call, 1,600 hours per rep).
2. Sample study "southeast": workload build-up with the travel model, the
   Bayesian response-model fit (nutpie), its recovery of the simulation's true
   parameters, the headcount curve for 10–40 reps, the best size, and the
   seconds taken (target: fit + curve <= 60 s on the 2-core machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import terrakit as tk
from terrakit.sizing import (
    ResponseModel,
    WorkloadResult,
    allocate_calls,
    headcount_curve,
    workload,
)

HERE = Path(__file__).resolve().parent


def talley() -> list[str]:
    wl = WorkloadResult.from_segments(
        {
            "A": {"accounts": 1_000, "calls_per_year": 36},
            "B": {"accounts": 2_000, "calls_per_year": 12},
        }
    )
    by_calls = wl.reps_needed(calls_per_rep=1_000).total
    wl_h = WorkloadResult.from_segments(
        {
            "A": {"accounts": 1_000, "calls_per_year": 36},
            "B": {"accounts": 2_000, "calls_per_year": 12},
        },
        call_minutes=66.0,
        travel_minutes=30.0,
    )
    by_hours = wl_h.reps_needed(hours_per_rep=1_600).total
    ok = by_calls == 60.0 and abs(by_hours - 60.0) < 1e-9
    return [
        "| case | reference | terrakit | exact |",
        "|---|---|---|---|",
        f"| Talley, calls per rep (1,000) | 60 | {by_calls:g} | {by_calls == 60.0} |",
        f"| Talley, hours (96 min/call, 1,600 h/rep) | 60 | {by_hours:g} | "
        f"{abs(by_hours - 60.0) < 1e-9} |",
        "",
        f"Talley exact: {ok}",
    ]


def sample(sampler: str) -> list[str]:
    t = time.perf_counter()
    study = tk.load_sample("southeast")
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    need = workload(study).reps_needed(hours_per_rep=1_600)
    t_wl = time.perf_counter() - t
    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rc = ResponseModel(sampler=sampler).fit(study, seed=0)  # type: ignore[arg-type]
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    curve = headcount_curve(rc, reps=range(10, 41), cost_per_rep=180_000, margin=0.35)
    t_curve = time.perf_counter() - t
    t = time.perf_counter()
    plan = allocate_calls(rc, study, hours_per_rep=1_600, n_reps=22)
    t_alloc = time.perf_counter() - t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tk.TerrakitWarning)
        best = curve.best()
        t = time.perf_counter()
        wide = headcount_curve(
            rc, reps=range(10, 151), cost_per_rep=180_000, margin=0.35
        )
        best_wide = wide.best()
        t_wide = time.perf_counter() - t
    truth = study.metadata.get("true_parameters", {}).get("segments", {})
    lines = [
        f"Workload build-up (travel model, 1,600 h/rep): {need.total:.2f} reps -> "
        f"{need.reps} ({t_wl:.2f} s)",
        "",
        "Response-model recovery (94 % intervals; c50 in calls per year):",
        "",
        "| segment | floor true | floor fit | c50 true | c50 fit | gamma true | "
        "gamma fit |",
        "|---|---|---|---|---|---|---|",
    ]
    for j, s in enumerate(rc.segments):
        fl = rc.draws["lo"][:, j] / rc.draws["hi"][:, j]
        c50 = rc.draws["c50"][:, j]
        g = rc.draws["gamma"][:, j]
        tr = truth.get(s, {}).get("response", {})

        def iv(a: np.ndarray) -> str:
            lo, hi = np.quantile(a, [0.03, 0.97])
            return f"{a.mean():.2f} [{lo:.2f}, {hi:.2f}]"

        lines.append(
            f"| {s} | {tr.get('c', float('nan')):.2f} | {iv(fl)} | "
            f"{12 * tr.get('k', float('nan')):.1f} | {iv(c50)} | "
            f"{tr.get('h', float('nan')):.2f} | {iv(g)} |"
        )
    conv = [
        str(w.message).split(";")[0]
        for w in caught
        if issubclass(w.category, tk.ConvergenceWarning)
    ]
    lines += [
        "",
        f"Diagnostics: max R-hat {rc.diagnostics['max_rhat']:.3f}, min bulk "
        f"ESS {rc.diagnostics['min_ess']:.0f}, divergences "
        f"{rc.diagnostics['divergences']:.0f}"
        + (f" (ConvergenceWarning: {conv[0]})" if conv else ""),
        "",
        "Headcount curve (cost 180,000 per rep, margin 35 %, 1,600 h/rep):",
        "",
        "| reps | expected sales | expected profit | profit 80 % band | "
        "profit 95 % band |",
        "|---|---|---|---|---|",
    ]
    df = curve.to_frame()
    for n in (10, 15, 20, 22, 25, 30, 35, 40):
        r = df.loc[n]
        lines.append(
            f"| {n} | {r['sales']:,.0f} | {r['profit']:,.0f} | "
            f"{r['profit_10%']:,.0f} – {r['profit_90%']:,.0f} | "
            f"{r['profit_2.5%']:,.0f} – {r['profit_97.5%']:,.0f} |"
        )
    lines += [
        "",
        f"Best size in 10-40: {best.summary()}",
        "",
        f"Best size in 10-150 (not in the timing target, {t_wide:.1f} s): "
        f"{best_wide.summary()}",
        "",
        f"Call plan with 22 reps: {plan.summary().splitlines()[0]}",
        "",
        "| step | seconds |",
        "|---|---|",
        f"| load sample study | {t_load:.1f} |",
        f"| response-model fit ({sampler}, incl. compile) | {t_fit:.1f} |",
        f"| headcount curve (31 sizes × {rc.n_draws} draws) | {t_curve:.1f} |",
        f"| **fit + curve (target <= 60 s)** | **{t_fit + t_curve:.1f}** |",
        f"| call allocation (6,000 accounts, greedy) | {t_alloc:.1f} |",
    ]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--record",
        action="store_true",
        help="append the results to benchmarks/README.md under ## Sizing",
    )
    ap.add_argument("--sampler", default="nutpie", choices=["nutpie", "pymc"])
    ap.add_argument("--skip-sample", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()
    out = ["##### Talley workload build-up", "", *talley()]
    if not args.skip_sample:
        out += ["", "##### Sample study 'southeast'", "", *sample(args.sampler)]
    load_after = os.getloadavg()
    out += [
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; 1-min load average {load[0]:.1f} before, "
        f"{load_after[0]:.1f} after (other agents share the cores, so seconds "
        "are noisy).",
    ]
    text = "\n".join(out)
    print(text)
    if args.record:
        readme = HERE / "README.md"
        head = "" if readme.exists() else "# Benchmarks\n"
        body = readme.read_text() if readme.exists() else ""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        cmd = "`.venv/bin/python benchmarks/sizing.py " + " ".join(sys.argv[1:]) + "`"
        entry = f"\n#### {stamp} — {cmd}\n\n{text}\n"
        if "## Sizing" not in body:
            body = body + head + "\n## Sizing\n" + entry
        else:
            # insert at the end of the Sizing section (before the next "## ")
            start = body.index("## Sizing")
            nxt = body.find("\n## ", start + 1)
            body = body + entry if nxt < 0 else body[:nxt] + entry + body[nxt:]
        readme.write_text(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

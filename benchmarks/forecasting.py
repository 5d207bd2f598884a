"""Forecasting benchmark: terrakit vs statsforecast baselines on real panels.

Rolling-origin backtest INSIDE each panel's training window (the held-out test
windows are never read): MASE, sMAPE, 80/95 % interval coverage and wall time
for terrakit, naive, seasonal naive, ETS and ARIMA, side by side in one run;
then coherent totals (sums of terrakit draws) vs ETS fitted on the totals.

    .venv/bin/python benchmarks/forecasting.py --panel tourism
    .venv/bin/python benchmarks/forecasting.py --quick          # 1 fold each

Panels: ../shared/benchmarks/forecasting/ (see its README).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

from terrakit.benchmarks.forecasting import benchmark_forecast_panel
from terrakit.exceptions import ConvergenceWarning

SHARED = (
    Path(
        os.environ.get(
            "TERRAKIT_SHARED", Path(__file__).resolve().parents[2] / "shared"
        )
    )
    / "benchmarks"
    / "forecasting"
)

PANELS = {
    # name: (file, horizon, folds)
    "tourism": ("tourism_train_1998Q1-2015Q4.csv", 8, 3),
    "aus_retail": ("aus_retail_train_to_2016-12.csv", 12, 3),
    "superstore": ("superstore_orders_to_2018.csv", 6, 2),
}


def _md(df) -> str:
    """A pandas frame as a GitHub markdown table (no tabulate needed)."""
    df = df.reset_index()
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append(
            "| "
            + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row)
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--panel", choices=[*PANELS, "all"], default="all")
    ap.add_argument("--quick", action="store_true", help="one fold per panel")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-arima", action="store_true", help="skip AutoARIMA")
    args = ap.parse_args(argv)
    names = list(PANELS) if args.panel == "all" else [args.panel]
    baselines = ("naive", "seasonal_naive", "ets") + (
        () if args.no_arima else ("arima",)
    )
    print(
        f"machine: {platform.node()} {platform.machine()}, "
        f"{os.cpu_count()} cores; python {platform.python_version()}"
    )
    for name in names:
        file, horizon, folds = PANELS[name]
        if args.quick:
            folds = 1
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("ignore", UserWarning)
            # convergence is part of the result: keep those warnings
            warnings.simplefilter("always", ConvergenceWarning)
            res = benchmark_forecast_panel(
                name,
                SHARED / file,
                horizon=horizon,
                folds=folds,
                seed=args.seed,
                baselines=baselines,
                sampler_config={"progressbar": False},
            )
        table = res.bottom.table().round(3)
        snaive = table.loc["seasonal_naive", "MASE"]
        table["MASE vs snaive"] = (table["MASE"] / snaive).round(3)
        n = int(res.bottom.scores["n_series"].max())
        print(
            f"\n### {name}: {n} bottom series, {folds} folds × horizon {horizon} "
            f"(origins {', '.join(res.bottom.scores['origin'].unique())})"
        )
        print(_md(table))
        print(
            f"\nterrakit fit + predict per fold (s): "
            f"{', '.join(f'{s:.1f}' for s in res.fit_seconds)}"
        )
        print(f"\n#### {name}: coherent totals (sum of draws) vs ETS on totals")
        print(_md(res.totals_table()))
        conv = [str(w.message) for w in caught if w.category is ConvergenceWarning]
        print(f"\nConvergenceWarnings ({len(conv)}, one per fold at most):")
        for msg in conv:
            print(f"- {msg}")
        print(f"\n({name} total wall time {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

"""The ``terrakit`` command line: ``terrakit demo --out DIR``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

__all__ = ["demo", "main"]


def demo(out: str | Path = "out", *, progress: bool = True) -> dict[str, Path]:
    """Run the sample study end to end and write its files into ``out``.

    Writes ``southeast.gpkg`` (the study file), ``territory_map.png``,
    ``balance_workload.png``, ``kpis.txt`` and ``kpis.html`` for the current
    alignment.

    Returns
    -------
    dict
        Name → path of every file written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import terrakit as tk

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    steps = ["load sample", "save study", "map", "balance chart", "KPI report"]
    bar = tqdm(steps, desc="terrakit demo", disable=not progress, unit="step")
    files: dict[str, Path] = {}
    it = iter(bar)

    next(it)
    study = tk.load_sample("southeast")
    current = study.alignments["current"]

    next(it)
    files["study"] = study.save(out / "southeast.gpkg")

    next(it)
    fig, ax = plt.subplots(figsize=(9, 8))
    tk.plot.territory_map(study, current, ax=ax)
    files["map"] = out / "territory_map.png"
    fig.savefig(files["map"], dpi=120, bbox_inches="tight")
    plt.close(fig)

    next(it)
    fig, ax = plt.subplots(figsize=(10, 4))
    tk.plot.balance_chart(study, current, measure="workload", tolerance=0.05, ax=ax)
    files["balance"] = out / "balance_workload.png"
    fig.savefig(files["balance"], dpi=120, bbox_inches="tight")
    plt.close(fig)

    next(it)
    text = tk.report.kpi_text(study, current)
    files["kpis_txt"] = out / "kpis.txt"
    files["kpis_txt"].write_text(text + "\n", encoding="utf-8")
    files["kpis_html"] = tk.report.kpi_report(study, current, out / "kpis.html")
    bar.close()
    return files


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``terrakit`` command."""
    from terrakit import __version__

    parser = argparse.ArgumentParser(
        prog="terrakit",
        description="Sales territory studies in reproducible notebooks.",
    )
    parser.add_argument(
        "--version", action="version", version=f"terrakit {__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="run the sample study end to end")
    p_demo.add_argument("--out", default="out", help="output folder (default: out)")
    p_demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)

    if args.command == "demo":
        t0 = time.perf_counter()
        files = demo(args.out, progress=not args.no_progress)
        print(f"terrakit demo finished in {time.perf_counter() - t0:.1f} s; wrote:")
        for name, path in files.items():
            print(f"  {name:10s} {path}")
        return 0
    return 2  # pragma: no cover - argparse enforces the sub-command


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

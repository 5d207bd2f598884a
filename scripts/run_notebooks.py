"""Re-execute the curated notebooks in place, so their stored outputs are a full run.

``make test`` runs every notebook in the fast mode (``TERRAKIT_FAST=1``: fewer
draws, shorter time limits) and checks only that it runs. The outputs stored in
the repository are what a reader sees on GitHub and what the prose describes, so
they come from the full mode: this script unsets ``TERRAKIT_FAST``, runs each
notebook top to bottom in a fresh kernel, and saves it without the volatile
parts (timings, widget state), so a re-run changes only what the results
change.  Execution counts are kept, numbered 1, 2, ... in cell order: nbval
skips the output check of a cell without one ("unrun reference cell").

Usage::

    .venv/bin/python scripts/run_notebooks.py                 # every curated notebook
    .venv/bin/python scripts/run_notebooks.py notebooks/10_territory_design.ipynb
    .venv/bin/python scripts/run_notebooks.py --fast ...      # the test mode instead
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CURATED = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def strip(nb: nbformat.NotebookNode) -> None:
    """Drop what changes on every run but says nothing about the results."""
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)
    count = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        kept = []
        for out in cell.outputs:
            if "execution_count" in out:
                out["execution_count"] = count
            data = out.get("data", {})
            # ipywidgets' views point at a kernel that no longer exists
            data.pop("application/vnd.jupyter.widget-view+json", None)
            shown = out.get("output_type") in ("display_data", "execute_result")
            if shown and not data:
                continue
            kept.append(out)
        cell.outputs = kept


def run(path: Path, *, fast: bool, timeout: int) -> float:
    """Execute one notebook in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    env_fast = os.environ.pop("TERRAKIT_FAST", None)
    if fast:
        os.environ["TERRAKIT_FAST"] = "1"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    t0 = time.perf_counter()
    try:
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    finally:
        os.environ.pop("TERRAKIT_FAST", None)
        if env_fast is not None:
            os.environ["TERRAKIT_FAST"] = env_fast
    strip(nb)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: all curated")
    parser.add_argument("--fast", action="store_true", help="run in the test mode")
    parser.add_argument(
        "--timeout", type=int, default=1800, help="seconds per cell (default 1800)"
    )
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or CURATED
    for path in paths:
        if not path.is_file():
            parser.error(f"no notebook at {path}")
    for path in paths:
        seconds = run(path, fast=args.fast, timeout=args.timeout)
        mode = "fast" if args.fast else "full"
        print(f"{path.relative_to(ROOT)}: {mode} run in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``terrakit`` command line.

``terrakit demo --out DIR``
    Runs the sample study end to end (design, realignment, sizing, potential,
    forecast, routing of one territory) and writes the study GeoPackage, the
    HTML report and the Excel workbook.
``terrakit run study.toml --out DIR``
    The same pipeline on a user's own data, described by a configuration file
    (see ``data/samples/southeast/study.toml``).

Both print the wall time of every step.  ``--fast`` (or ``TERRAKIT_FAST=1``)
caps draws, iterations and time limits for a quick check.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["demo", "main", "run"]


def demo(
    out: str | os.PathLike[str] = "out",
    *,
    progress: bool = True,
    fast: bool | None = None,
) -> Any:
    """Run the sample study end to end into ``out``.

    Parameters
    ----------
    out
        Output folder.
    progress
        Show the progress bar and each step's time.
    fast
        Fast mode (``None``: ``TERRAKIT_FAST=1`` in the environment); the
        words ``TERRAKIT_FAST`` takes (``"1"``, ``"false"``...) are read as
        it reads them, other values refused.

    Returns
    -------
    terrakit.report.PipelineResult
        ``files`` holds ``southeast.gpkg``, ``report.html`` and ``report.xlsx``.
    """
    from terrakit.report.pipeline import demo_config, run_pipeline

    return run_pipeline(None, demo_config(), out, progress=progress, fast=fast)


def run(
    config: str | os.PathLike[str],
    out: str | os.PathLike[str] = "out",
    *,
    skip: str | Sequence[str] = (),
    progress: bool = True,
    fast: bool | None = None,
) -> Any:
    """Run the study described by a ``study.toml`` file into ``out``.

    Parameters
    ----------
    config
        The configuration file.
    out
        Output folder.
    skip
        Steps to leave out (``design``, ``realign``, ``sizing``,
        ``potential``, ``forecast``, ``routing``): a list, or one step's
        name.
    progress, fast
        As in :func:`demo`.

    Returns
    -------
    terrakit.report.PipelineResult
    """
    from terrakit.report.config import load_config
    from terrakit.report.pipeline import run_pipeline

    cfg = load_config(config)
    if isinstance(skip, str):
        # one step named as text, not its letters ("unknown step 'f'")
        skip = (skip,)
    if skip:
        cfg = cfg.without(*skip)
    return run_pipeline(None, cfg, out, progress=progress, fast=fast)


def _print_result(command: str, result: Any, seconds: float) -> None:
    load = ""
    if hasattr(os, "getloadavg"):
        one, five, _ = os.getloadavg()
        load = f" (load average {one:.1f} / {five:.1f}, {os.cpu_count()} cores)"
    mode = "fast mode" if result.fast else "full mode"
    print(f"terrakit {command} finished in {seconds:.1f} s, {mode}{load}")
    print("Wall time per step:")
    print(result.timing_table())
    for step, why in result.skipped.items():
        print(f"Skipped {step}: {why}")
    if result.warnings:
        print(f"{len(result.warnings)} warnings (also listed in the report):")
        for w in result.warnings:
            print(f"  {w[:300]}")
    print("Wrote:")
    for name, path in result.files.items():
        print(f"  {name:6s} {path}")


def _check_out(
    out: str | os.PathLike[str],
    *,
    what: str = "the study file and the reports",
    example: str = "out",
) -> None:
    """Refuse an output folder that cannot be made, before any work starts.

    Nothing is created here (a bad configuration must leave no folder behind).
    ``what`` (what goes into the folder) and ``example`` (an ``--out`` value)
    word the messages; ``scripts/build_samples.py`` uses them too.
    """
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(
            f"--out {str(out)!r} is a file, not a folder; give a folder to write "
            f"{what} into (e.g. --out {example})"
        )
    if path.is_dir():
        # an existing folder: the files are written into it, whatever its parent
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(
                f"--out {str(out)!r} is a folder you have no permission to write "
                "in; choose a folder you can write to"
            )
        return
    # a folder still to make: it is made inside the nearest folder that exists
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(
            f"--out {str(out)!r} cannot be made: {str(parent)!r} is a file, not a "
            f"folder; give a folder path (e.g. --out {example})"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(
            f"--out {str(out)!r} cannot be made: no permission to write in "
            f"{str(parent)!r}; choose a folder you can write to"
        )


def _error(err: BaseException) -> None:
    notes = getattr(err, "__notes__", [])
    print(f"terrakit: error: {err}", file=sys.stderr)
    for n in notes:
        print(f"  ({n})", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``terrakit`` command; returns the exit status.

    Exit status 0 on success, 2 for a bad command line, configuration file
    or input data (an error found before any step of the study runs: in the
    configuration, the output paths or the data files it names), 1 when a
    step of the study fails (the message names the step), 130 when the run
    was interrupted (Ctrl-C): the outputs are swapped in only once all are
    complete, so an interrupted run leaves nothing written (a previous
    run's files as they were, no output folder it created), which it says.

    An error terrakit did not expect (a bug: its checks should have caught
    the cause) is shown with its traceback, then a line saying so.
    """
    from terrakit import __version__
    from terrakit.exceptions import TerrakitError
    from terrakit.report.config import STEPS, ConfigError
    from terrakit.report.pipeline import LOAD_FAILED, WRITTEN

    parser = argparse.ArgumentParser(
        prog="terrakit",
        description="Sales territory studies in reproducible notebooks.",
    )
    parser.add_argument(
        "--version", action="version", version=f"terrakit {__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", default="out", help="output folder (default: out)")
        p.add_argument(
            "--fast",
            action="store_true",
            default=None,
            help="fewer draws, shorter time limits (also: TERRAKIT_FAST=1)",
        )
        p.add_argument(
            "--no-progress", action="store_true", help="hide the progress bar"
        )

    p_demo = sub.add_parser(
        "demo",
        help="run the sample study end to end",
        description="Run the sample study end to end: design, realignment, sizing, "
        "potential, forecast and routing; write the study GeoPackage, the HTML "
        "report and the Excel workbook.",
    )
    common(p_demo)
    p_run = sub.add_parser(
        "run",
        help="run a study from a configuration file",
        description="Run the study pipeline on your own data, described by a "
        "study.toml (example: data/samples/southeast/study.toml).",
    )
    p_run.add_argument("config", help="the study.toml file")
    common(p_run)
    p_run.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=list(STEPS),
        metavar="STEP",
        help=f"leave a step out (repeatable): {', '.join(STEPS)}",
    )
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    try:
        _check_out(args.out)
    except OSError as err:
        _error(err)
        return 2
    try:
        if args.command == "demo":
            result = demo(args.out, progress=not args.no_progress, fast=args.fast)
        else:
            result = run(
                Path(args.config),
                args.out,
                skip=args.skip,
                progress=not args.no_progress,
                fast=args.fast,
            )
    except (ConfigError, FileNotFoundError) as err:
        _error(err)
        return 2
    except (TerrakitError, ValueError, RuntimeError, OSError) as err:
        _error(err)
        # the data failed their checks at the door: no step of the study ran
        return 2 if LOAD_FAILED in getattr(err, "__notes__", ()) else 1
    except KeyboardInterrupt as err:
        written = [n for n in getattr(err, "__notes__", ()) if n.startswith(WRITTEN)]
        if written:
            files = written[0].split(": ", 1)[-1]
            print(f"terrakit: interrupted after writing {files}", file=sys.stderr)
        else:
            print("terrakit: interrupted; nothing written", file=sys.stderr)
        return 130
    except Exception as err:
        # not an error terrakit foresaw: a bug; keep its traceback
        traceback.print_exc()
        step = next(
            (
                n.split("step ", 1)[1].split(" failed")[0]
                for n in getattr(err, "__notes__", ())
                if n.startswith("terrakit pipeline: step ")
            ),
            None,
        )
        where = f" in step {step}" if step else ""
        print(
            f"terrakit: internal error{where}: {type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}\n  (an unexpected "
            "error, a bug in terrakit: please report it with the traceback above)",
            file=sys.stderr,
        )
        return 1
    try:
        _print_result(args.command, result, time.perf_counter() - t0)
    except KeyboardInterrupt:
        print("terrakit: interrupted; the files were written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

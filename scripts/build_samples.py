"""Rebuild the committed sample studies in ``data/samples/`` (``make samples``).

Deterministic: the default seed reproduces the committed files value for value.

Usage::

    python scripts/build_samples.py [--out data/samples] [--seed 20261123]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from terrakit.cli import _check_out
from terrakit.data.samples import DEFAULT_SEED, build_southeast, check_seed


def _seed(text: str) -> int:
    """argparse type of ``--seed``: a whole number >= 0."""
    try:
        return check_seed(int(text), "--seed")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number >= 0 (numpy seeds cannot be negative), "
            f"got {text!r}; the committed sample uses {DEFAULT_SEED}"
        ) from None


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=root / "data" / "samples",
        help="folder that receives southeast/ (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=DEFAULT_SEED,
        help="random seed, a whole number >= 0 (default: %(default)s)",
    )
    args = parser.parse_args()
    try:  # out, and out/southeast inside it: folders, or makeable
        for path in (args.out, args.out / "southeast"):
            _check_out(path, what="the sample", example="data/samples")
    except OSError as err:
        parser.error(str(err))  # one line, exit status 2
    files = build_southeast(args.out / "southeast", seed=args.seed)
    for name, path in files.items():
        print(f"{name:24s} {path.stat().st_size / 1024:8.1f} KiB")


if __name__ == "__main__":
    main()

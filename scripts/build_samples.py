"""Rebuild the committed sample studies in ``data/samples/`` (``make samples``).

Deterministic: the default seed reproduces the committed files value for value.

Usage::

    python scripts/build_samples.py [--out data/samples] [--seed 20261123]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from terrakit.data.samples import DEFAULT_SEED, build_southeast


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
        type=int,
        default=DEFAULT_SEED,
        help="random seed (default: %(default)s)",
    )
    args = parser.parse_args()
    files = build_southeast(args.out / "southeast", seed=args.seed)
    for name, path in files.items():
        print(f"{name:24s} {path.stat().st_size / 1024:8.1f} KiB")


if __name__ == "__main__":
    main()

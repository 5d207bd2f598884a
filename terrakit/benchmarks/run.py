"""Run a benchmark family through the design engine: one row per instance.

Families are registered in :data:`FAMILIES` by name.  A family is two plain
functions, referenced as ``"module:function"`` so nothing is imported before
it is used:

``solve(path, *, time_limit, seed, **kw) -> dict``
    Read one instance file, build a :class:`~terrakit.design.problem.DesignProblem`,
    solve it with the engine and return ``instance``, ``value`` (recomputed as
    the family's README defines the objective), ``lower_bound``, ``status``
    and ``solution`` (JSON-able); any further keys become columns.  A row may
    carry its own ``reference`` (``None``: none known) when the reference
    depends on the run's options (the districting variant), and its own
    ``gap_pct`` when the reference uses another convention than ``value``
    (Solomon's truncated distances); the runner then keeps them.
``reference(folder) -> dict[str, float]``
    Reference value per instance name from the ``reference.csv`` in
    ``folder`` (``None``: the generic reader below), for rows without their
    own ``reference``.

Add a family with :func:`register_family` or by adding an entry to
:data:`FAMILIES` in this file (helper D: ``"districting"`` and ``"dtdp"``).
"""

from __future__ import annotations

import fnmatch
import importlib
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from terrakit.exceptions import SpecificationError

__all__ = ["FAMILIES", "Family", "register_family", "run"]

_VALUE_COLUMNS = (
    "reference_value",
    "optimal_value",
    "best_known",
    "best_feasible_objective",
    "reference",
)


@dataclass(frozen=True)
class Family:
    """A benchmark family: how to solve one file and where its references are.

    Parameters
    ----------
    solve
        ``"module:function"`` solving one instance file (see the module doc).
    reference
        ``"module:function"`` reading reference values, or ``None`` for the
        generic ``reference.csv`` reader (columns ``instance`` and one of
        ``reference_value``, ``optimal_value``, ``best_known``...).
    pattern
        Glob (or globs, for a family with several file formats) used when a
        folder is passed as a path; their extensions are the file types the
        family accepts.
    """

    solve: str
    reference: str | None = None
    pattern: str | tuple[str, ...] = "*.txt"

    @property
    def patterns(self) -> tuple[str, ...]:
        """The globs as a tuple."""
        return (self.pattern,) if isinstance(self.pattern, str) else self.pattern

    @property
    def kinds(self) -> tuple[str, ...]:
        """The file types (``*.ext``) of the globs, without repeats."""
        out = ("*" + p[p.rfind(".") :] if "." in p else "*" for p in self.patterns)
        return tuple(dict.fromkeys(out))


FAMILIES: dict[str, Family] = {
    "pmed": Family("terrakit.benchmarks.pmed:solve_file", pattern="pmed*.txt"),
    # Osman–Christofides pmedcapNN.txt and Lorena–Senne SJC*.dat (in sjc/,
    # with their references in the parent folder's reference.csv)
    "pmedcap": Family(
        "terrakit.benchmarks.pmedcap:solve_file",
        reference="terrakit.benchmarks.pmedcap:reference_values",
        pattern=("pmedcap*.txt", "SJC*.dat"),
    ),
    "districting": Family(
        "terrakit.benchmarks.districting:solve_file",
        reference="terrakit.benchmarks.districting:reference_values",
        pattern="*_*.json*",
    ),
    "dtdp": Family(
        "terrakit.benchmarks.dtdp:solve_file",
        reference="terrakit.benchmarks.dtdp:reference_values",
        pattern="*.graphml",
    ),
    "solomon": Family(
        "terrakit.benchmarks.solomon:solve_file",
        reference="terrakit.benchmarks.solomon:reference_values",
        pattern="*.txt",
    ),
    "tsplib": Family(
        "terrakit.benchmarks.tsplib:solve_file",
        reference="terrakit.benchmarks.tsplib:reference_values",
        pattern="*.tsp",
    ),
    # the geo folder holds many files; this glob matches exactly the two
    # instances: us_counties_fips.geojson and zcta_2010_pop_area_centroid.csv
    "geo": Family("terrakit.benchmarks.geo:solve_file", pattern="[uz][sc]*[sd].[cg]*"),
}


def register_family(
    name: str,
    solve: str,
    reference: str | None = None,
    pattern: str | tuple[str, ...] = "*",
) -> None:
    """Register (or replace) a benchmark family under ``name``."""
    FAMILIES[name] = Family(solve=solve, reference=reference, pattern=pattern)


def _resolve(ref: str) -> Callable[..., Any]:
    mod, _, fn = ref.partition(":")
    f: Callable[..., Any] = getattr(importlib.import_module(mod), fn)
    return f


def _expand(
    paths: Iterable[str | Path] | str | Path, patterns: str | tuple[str, ...]
) -> list[Path]:
    if isinstance(patterns, str):
        patterns = (patterns,)
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = {f for pattern in patterns for f in p.glob(pattern)}
            out.extend(sorted(found, key=_natural))
        else:
            out.append(p)
    return out


def _checked(
    family: str, fam: Family, paths: Iterable[str | Path] | str | Path
) -> list[Path]:
    """The instance files, checked before the first is solved: none missing,
    each of the family's file type, at least one."""
    files = _expand(paths, fam.patterns)
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} {family} instance file(s) not found: {missing[:5]}"
        )
    # the file types (extensions) of the family's patterns, not the whole name
    kinds = fam.kinds
    foreign = [
        str(p) for p in files if not any(fnmatch.fnmatch(p.name, k) for k in kinds)
    ]
    if foreign:
        raise SpecificationError(
            f"{foreign[:5]} are not {family} files ({', '.join(kinds)}); pick the "
            "family of the files, or register_family() a reader for them"
        )
    if not files:
        raise SpecificationError(
            f"no {family} instance in {paths!s} (files matching "
            f"{', '.join(fam.patterns)})"
        )
    return files


def _natural(p: Path) -> tuple[Any, ...]:
    import re

    parts = re.split(r"(\d+)", p.name)
    return tuple(int(x) if x.isdigit() else x for x in parts)


def generic_reference(folder: str | Path) -> dict[str, float]:
    """``instance → value`` from ``folder/reference.csv`` ({} when absent)."""
    f = Path(folder) / "reference.csv"
    if not f.exists():
        return {}
    df = pd.read_csv(f)
    col = next((c for c in _VALUE_COLUMNS if c in df.columns), None)
    if col is None or "instance" not in df.columns:
        return {}
    df = df.drop_duplicates("instance")
    return {str(i): float(v) for i, v in zip(df["instance"], df[col], strict=True)}


def run(
    family: str,
    paths: Iterable[str | Path] | str | Path,
    time_limit: float = 60,
    seed: int = 0,
    *,
    progress: bool = False,
    **kw: Any,
) -> pd.DataFrame:
    """Solve every instance of a benchmark family; one row per instance.

    Parameters
    ----------
    family
        A key of :data:`FAMILIES` (``"pmed"``, ``"pmedcap"``, ``"districting"``,
        ``"dtdp"``, ``"solomon"``, ``"tsplib"``, ``"geo"``).
    paths
        Instance files and/or folders (folders are globbed with the family's
        patterns: ``pmedcap`` takes ``pmedcap*.txt`` and the SJC ``SJC*.dat``
        files, so pass the ``sjc`` folder for the SJC set).
    time_limit
        Seconds per instance.
    seed
        Seed passed to the solver.
    progress
        Print one line per instance as it finishes.
    **kw
        Passed to the family's solve function.

    Returns
    -------
    pandas.DataFrame
        Columns ``family, instance, value, lower_bound, seconds, status,
        solution`` and, where the family's ``reference.csv`` is found,
        ``reference`` and ``gap_pct`` (``100 · (value − reference) / reference``,
        both in the reference's convention: the ``no_contiguity`` districting
        optimum when ``contiguity=False``; for Solomon the routes measured
        with the reference's truncated distances, see
        :mod:`terrakit.benchmarks.solomon`).

    Raises
    ------
    KeyError
        Unknown family.
    FileNotFoundError
        A path that does not exist (checked before any instance is solved).
    SpecificationError
        No instance in ``paths``, or files of another type than the family's.
    """
    if family not in FAMILIES:
        raise KeyError(
            f"unknown benchmark family {family!r}; known: {sorted(FAMILIES)}"
        )
    fam = FAMILIES[family]
    solve = _resolve(fam.solve)
    ref_reader = _resolve(fam.reference) if fam.reference else generic_reference
    refs: dict[Path, Mapping[str, float]] = {}
    rows = []
    for path in _checked(family, fam, paths):
        t0 = time.perf_counter()
        row = dict(solve(path, time_limit=time_limit, seed=seed, **kw))
        seconds = time.perf_counter() - t0
        row.setdefault("seconds", seconds)
        row = {"family": family, **row}
        if "reference" in row:  # the family's own, for this run's options
            ref = row.pop("reference")
        else:
            folder = path.parent
            if folder not in refs:
                refs[folder] = ref_reader(folder)
            ref = refs[folder].get(str(row["instance"]))
        if ref is not None and not (isinstance(ref, float) and math.isnan(ref)):
            row["reference"] = ref
            v = row.get("value")
            row.setdefault(
                "gap_pct",
                100.0 * (v - ref) / abs(ref)
                if v is not None and math.isfinite(v) and ref
                else math.nan,
            )
        rows.append(row)
        if progress:
            print(
                f"{family} {row['instance']}: value={row.get('value')} "
                f"status={row.get('status')} {row['seconds']:.1f}s",
                flush=True,
            )
    cols = [
        "family",
        "instance",
        "value",
        "lower_bound",
        "seconds",
        "status",
        "solution",
    ]
    df = pd.DataFrame(rows)
    for c in cols:
        if c not in df.columns:
            df[c] = None
    rest = [c for c in df.columns if c not in cols]
    return df[cols + rest]

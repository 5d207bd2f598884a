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
    (Solomon's truncated distances); the runner then keeps them.  ``status``
    is one of ``"optimal"``, ``"time_limit"``, ``"feasible"`` (a feasible
    plan, proven optimal / cut by the clock / unproven), ``"infeasible"``
    (proven: no plan exists) or ``"no_solution"`` (no feasible plan found in
    the time, no proof); a row whose plan is not feasible gets ``gap_pct``
    and every other ``gap_*_pct`` column NaN, whatever the family returned.
    A row may carry ``unproven``: the engine's reason why a feasible row is
    not proven optimal (its ``info["unproven"]``).

    A solve that raises :class:`~terrakit.exceptions.SpecificationError`
    (the engine's checks before solving, with the numbers: a proof that no
    plan exists) or :class:`~terrakit.exceptions.InfeasibleError` (a
    solver's proof, or a search that found no plan and says it is no proof)
    gives its instance a row with status ``"infeasible"`` (proven) or
    ``"no_solution"`` (not proven) and the error, naming the file, in
    ``message``; the run goes on.  A family's solve therefore raises
    ``ValueError`` or ``TypeError``, not these, for a bad option (a solver or
    backend name): that is raised by :func:`run`, like the engine's checks of
    the options it is passed (``"<option> must be ..., got <value>"``).
``reference(folder) -> dict[str, float]``
    Reference value per instance name from the ``reference.csv`` in
    ``folder`` (``None``: the generic reader below), for rows without their
    own ``reference``.
``read(path, **kw)``
    Optional: read one instance file without solving it, raising
    ``ValueError`` (``"<file>: not a valid <family> instance: ..."``) for a
    file that is not one, and
    :class:`~terrakit.exceptions.SpecificationError` (naming the file, with
    the numbers) for a valid file of an instance that has no plan (a pmed
    graph with more connected pieces than medians); ``kw`` are the options
    of :func:`run` that the reader takes (e.g. ``n_districts``).  :func:`run`
    reads every file, and every folder's references, before it solves the
    first instance, so a bad file costs no solve and loses no row; an
    impossible instance is not solved and gets a row with status
    ``"infeasible"`` and the reason in ``message``.

Add a family with :func:`register_family` or by adding an entry to
:data:`FAMILIES` in this file (helper D: ``"districting"`` and ``"dtdp"``).
"""

from __future__ import annotations

import fnmatch
import importlib
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from terrakit._runargs import check_seed, check_time_limit
from terrakit.exceptions import InfeasibleError, SpecificationError

__all__ = [
    "FAMILIES",
    "Family",
    "generic_reference",
    "reference_file",
    "register_family",
    "run",
]

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
    read
        ``"module:function"`` reading (checking) one instance file without
        solving it, called on every file before the first solve; ``None``:
        no check.
    """

    solve: str
    reference: str | None = None
    pattern: str | tuple[str, ...] = "*.txt"
    read: str | None = None

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
    "pmed": Family(
        "terrakit.benchmarks.pmed:solve_file",
        pattern="pmed*.txt",
        read="terrakit.benchmarks.pmed:read_instance",
    ),
    # Osman–Christofides pmedcapNN.txt and Lorena–Senne SJC*.dat (in sjc/,
    # with their references in the parent folder's reference.csv)
    "pmedcap": Family(
        "terrakit.benchmarks.pmedcap:solve_file",
        reference="terrakit.benchmarks.pmedcap:reference_values",
        pattern=("pmedcap*.txt", "SJC*.dat"),
        read="terrakit.benchmarks.pmedcap:read_instance",
    ),
    "districting": Family(
        "terrakit.benchmarks.districting:solve_file",
        reference="terrakit.benchmarks.districting:reference_values",
        pattern="*_*.json*",
        read="terrakit.benchmarks.districting:read_instance",
    ),
    "dtdp": Family(
        "terrakit.benchmarks.dtdp:solve_file",
        reference="terrakit.benchmarks.dtdp:reference_values",
        pattern="*.graphml",
        read="terrakit.benchmarks.dtdp:read_instance",
    ),
    "solomon": Family(
        "terrakit.benchmarks.solomon:solve_file",
        reference="terrakit.benchmarks.solomon:reference_values",
        pattern="*.txt",
        read="terrakit.benchmarks.solomon:read_instance",
    ),
    "tsplib": Family(
        "terrakit.benchmarks.tsplib:solve_file",
        reference="terrakit.benchmarks.tsplib:reference_values",
        pattern="*.tsp",
        read="terrakit.benchmarks.tsplib:read_instance",
    ),
    # the geo folder holds many files; this glob matches exactly the two
    # instances: us_counties_fips.geojson and zcta_2010_pop_area_centroid.csv
    "geo": Family(
        "terrakit.benchmarks.geo:solve_file",
        pattern="[uz][sc]*[sd].[cg]*",
        read="terrakit.benchmarks.geo:check_file",
    ),
}


def register_family(
    name: str,
    solve: str,
    reference: str | None = None,
    pattern: str | tuple[str, ...] = "*",
    read: str | None = None,
) -> None:
    """Register (or replace) a benchmark family under ``name``."""
    FAMILIES[name] = Family(
        solve=solve, reference=reference, pattern=pattern, read=read
    )


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


def _read_all(
    family: str, read: Callable[..., Any], files: list[Path], kw: Mapping[str, Any]
) -> dict[Path, SpecificationError]:
    """Read every instance file with the family's reader, before any solve.

    The reader gets the options of ``kw`` it takes by name; an error that
    does not name its file is raised again with the file's name.  A
    :class:`SpecificationError` (a valid file whose instance has no plan) is
    not raised: it is returned per file, and that file is not solved.
    """
    import inspect

    params = inspect.signature(read).parameters
    given = {k: v for k, v in kw.items() if k in params}
    impossible: dict[Path, SpecificationError] = {}
    for path in files:
        try:
            read(path, **given)
        except SpecificationError as err:
            if _bad_setting(err):  # an option, not the instance
                raise
            impossible[path] = err
        except Exception as err:
            if _names(path, err):
                raise
            raise ValueError(
                f"{path}: not a valid {family} instance: {type(err).__name__}: {err}"
            ) from err
    return impossible


def _names(path: Path, err: BaseException) -> bool:
    """Whether the message of ``err`` names the file ``path``."""
    return str(path) in str(err) or path.name in str(err)


def _stem(path: Path) -> str:
    """The instance name of a file: its name less the extension(s) (a
    compressed ``ME_tract.json.gz`` is ``ME_tract``)."""
    name = path.name
    for packed in (".gz", ".bz2", ".xz", ".zip"):
        name = name.removesuffix(packed)
    return Path(name).stem


#: the engine's checks of a setting read "<setting> must be ..., got <value>"
#: or "unknown <kind> backend ...": a bad option, the same for every instance
_SETTING = re.compile(r"\bmust\b[^;]*\bgot\b|^unknown \S+ backend", re.DOTALL)


def _bad_setting(err: Exception) -> bool:
    """Whether ``err`` is a check of an option passed to the engine (e.g.
    ``max_iter``) rather than of the instance."""
    return isinstance(err, SpecificationError) and bool(_SETTING.search(str(err)))


def _unsolved_row(path: Path, err: Exception) -> dict[str, Any]:
    """The row of an instance whose solve (or reader) raised ``err``.

    ``"infeasible"`` when ``err`` is a proof that no plan exists (a
    :class:`SpecificationError` from the checks before solving, or an
    :class:`InfeasibleError` that does not say it is no proof), else
    ``"no_solution"``; the message names the file.
    """
    text = str(err)
    # the rule of terrakit.design.align.pareto: a search that found nothing
    # says so ("not a proof", "did not prove"); anything else is a proof
    proved = isinstance(err, SpecificationError) or not (
        "not a proof" in text or "did not prove" in text
    )
    return {
        "instance": _stem(path),
        "value": math.nan,
        "lower_bound": math.nan,
        "status": "infeasible" if proved else "no_solution",
        "solution": None,
        "message": text if _names(path, err) else f"{path}: {text}",
    }


def _natural(p: Path) -> tuple[Any, ...]:
    parts = re.split(r"(\d+)", p.name)
    return tuple(int(x) if x.isdigit() else x for x in parts)


def generic_reference(
    folder: str | Path, preferred: Sequence[str] = ()
) -> dict[str, float]:
    """``instance → value`` from ``folder/reference.csv`` ({} when absent).

    The value column is the first of ``preferred`` (a family's own column,
    e.g. ``optimal_tour_length``) and then of the generic columns
    (``reference_value``, ``optimal_value``, ``best_known``...) that the file
    has; rows without a value are left out.

    A file with an ``instance`` column but none of the value columns (another
    family's references, in a folder of several families) gives ``{}``.

    Raises
    ------
    SpecificationError
        The file cannot be read as a table, or it has no ``instance`` column
        (the message names the file and the columns it would take).
    """
    f = Path(folder) / "reference.csv"
    if not f.is_file():
        return {}
    return reference_file(f, preferred)


def reference_file(file: str | Path, preferred: Sequence[str] = ()) -> dict[str, float]:
    """``instance → value`` from one reference file (see :func:`generic_reference`)."""
    df = reference_table(file)
    cols = list(dict.fromkeys([*preferred, *_VALUE_COLUMNS]))
    col = next((c for c in cols if c in df.columns), None)
    if "instance" not in df.columns:
        raise SpecificationError(
            f"{file}: a reference file needs the column 'instance' and one of "
            f"{cols}; it has {list(df.columns)}; rename its columns, or move it "
            "out of the instances' folder to run without references"
        )
    if col is None:  # another family's references: none for this one
        return {}
    df = df.drop_duplicates("instance")
    values = pd.to_numeric(df[col], errors="coerce")
    text = df[col].notna() & values.isna()
    if text.any():
        raise SpecificationError(
            f"{file}: column {col!r} holds values that are not numbers for "
            f"instance(s) {df.loc[text, 'instance'].astype(str).tolist()[:5]}; "
            "leave the cell empty where no reference is known"
        )
    keep = values.notna()
    return {
        str(i): float(v)
        for i, v in zip(df.loc[keep, "instance"], values[keep], strict=True)
    }


def reference_table(file: str | Path) -> pd.DataFrame:
    """A reference CSV as a table; a file pandas cannot read is named."""
    try:
        return pd.read_csv(file)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise SpecificationError(
            f"{file}: not a readable reference table (CSV with the columns "
            f"'instance' and one of {list(_VALUE_COLUMNS)}): {err}"
        ) from None


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
        Seconds per instance (positive, finite).
    seed
        Seed passed to the solver (an int in ``[0, 2**32 - 1]``).
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
        :mod:`terrakit.benchmarks.solomon`; NaN, like every other
        ``gap_*_pct`` column, for a row whose status is ``"no_solution"`` or
        ``"infeasible"`` or whose ``feasible`` is false), ``seed`` and
        ``time_limit`` (the run's), and the family's own columns
        (``unproven``: why a feasible row is not proven optimal, where the
        engine says).

        ``status`` is ``"optimal"`` (value = proven bound), ``"time_limit"``
        (feasible, cut by the clock), ``"feasible"`` (feasible, unproven),
        ``"infeasible"`` (proven: no plan meets the family's constraints) or
        ``"no_solution"`` (no feasible plan found in the time; no proof).

        An instance that cannot be solved does not stop the run: when its
        reader or its solve raises
        :class:`~terrakit.exceptions.SpecificationError` (checks before
        solving, with the numbers: a proof that no plan exists) its row has
        status ``"infeasible"``; an
        :class:`~terrakit.exceptions.InfeasibleError` gives ``"infeasible"``
        when it is a solver's proof and ``"no_solution"`` when its message
        says it is no proof.  Such a row has ``value``, ``lower_bound`` NaN,
        ``solution`` ``None`` and the error, naming the file, in ``message``.

        ``df.attrs["provenance"]`` holds the run's record
        (:func:`terrakit.data.alignment.make_provenance`: ``method``
        ``"benchmarks.run/<family>"``, ``seed``, ``config`` with the family,
        the time limit, the files and the options passed in ``**kw``,
        ``terrakit_version``, library versions and the time it was made).

    Raises
    ------
    KeyError
        Unknown family.
    SpecificationError
        ``time_limit`` is not a positive finite number of seconds, or
        ``seed`` not an int in ``[0, 2**32 - 1]`` (checked first).
    FileNotFoundError
        A path that does not exist (checked before any instance is solved).
    SpecificationError
        No instance in ``paths``, files of another type than the family's, or
        a ``reference.csv`` without the columns its reader takes.
    ValueError
        A file that is not a valid instance of the family (``"<file>: not a
        valid <family> instance: ..."``).

    All of these are raised before the first instance is solved: every file
    and every folder's references are read first.  A bad option of the
    family (``ValueError`` or ``TypeError``, e.g. an unknown solver or
    backend) is raised by the first solve, and so is a
    :class:`~terrakit.exceptions.SpecificationError` of the engine's checks
    of an option passed in ``**kw`` (its message reads ``"<option> must be
    ..., got <value>"``, e.g. ``max_iter=-1``).
    """
    if family not in FAMILIES:
        raise KeyError(
            f"unknown benchmark family {family!r}; known: {sorted(FAMILIES)}"
        )
    time_limit = check_time_limit(time_limit)
    seed = check_seed(seed)
    fam = FAMILIES[family]
    solve = _resolve(fam.solve)
    ref_reader = _resolve(fam.reference) if fam.reference else generic_reference
    files = _checked(family, fam, paths)
    # references and instances are read before the first solve: a bad file
    # fails fast and no solved row is lost
    refs: dict[Path, Mapping[str, float]] = {
        folder: ref_reader(folder) for folder in dict.fromkeys(p.parent for p in files)
    }
    impossible: dict[Path, SpecificationError] = {}
    if fam.read is not None:
        impossible = _read_all(family, _resolve(fam.read), files, kw)
    rows = []
    for path in files:
        t0 = time.perf_counter()
        if path in impossible:  # the reader proved it: nothing to solve
            row = _unsolved_row(path, impossible[path])
        else:
            try:
                row = dict(solve(path, time_limit=time_limit, seed=seed, **kw))
            except (SpecificationError, InfeasibleError) as err:
                if _bad_setting(err):  # the options, not the instance
                    raise
                row = _unsolved_row(path, err)
        seconds = time.perf_counter() - t0
        row.setdefault("seconds", seconds)
        row = {"family": family, **row, "seed": seed, "time_limit": time_limit}
        if "reference" in row:  # the family's own, for this run's options
            ref = row.pop("reference")
        else:
            ref = refs[path.parent].get(str(row["instance"]))
        has_plan = row.get("status") not in _NOT_FEASIBLE and bool(
            row.get("feasible", True)
        )
        if ref is not None and not (isinstance(ref, float) and math.isnan(ref)):
            row["reference"] = ref
            v = row.get("value")
            row.setdefault(
                "gap_pct",
                100.0 * (v - ref) / abs(ref)
                if v is not None and math.isfinite(v) and ref and has_plan
                else math.nan,
            )
        if not has_plan:  # the family's own gaps too: no plan, no gap
            for c in row:
                if c == "gap_pct" or (c.startswith("gap_") and c.endswith("_pct")):
                    row[c] = math.nan
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
    out = df[cols + rest]
    out.attrs["provenance"] = _provenance(family, files, time_limit, seed, kw)
    return out


#: statuses of a row without a feasible plan: no gap is computed for them
_NOT_FEASIBLE = ("no_solution", "infeasible")


def _provenance(
    family: str,
    files: list[Path],
    time_limit: float,
    seed: int,
    kw: Mapping[str, Any],
) -> dict[str, Any]:
    """The run's provenance record (``df.attrs["provenance"]``)."""
    import json

    from terrakit.data.alignment import make_provenance

    def jsonable(value: Any) -> Any:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return repr(value)
        return value

    return make_provenance(
        f"benchmarks.run/{family}",
        seed=seed,
        config={
            "family": family,
            "time_limit": time_limit,
            "files": [str(f) for f in files],
            "options": {k: jsonable(v) for k, v in kw.items()},
        },
    )

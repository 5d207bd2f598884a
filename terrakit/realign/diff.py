"""What changes hands between two alignments: :class:`AlignmentDiff`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from terrakit._runargs import did_you_mean
from terrakit.data.alignment import Alignment, make_provenance
from terrakit.data.validation import _align_id_dtype, _check_numeric
from terrakit.exceptions import DataValidationError, SpecificationError

__all__ = ["AlignmentDiff", "diff_alignments"]

_DEFAULT_MEASURES = ("units", "accounts", "sales", "workload")


def _as_alignment(study: Any, a: Alignment | str, what: str) -> Alignment:
    if isinstance(a, Alignment):
        return a
    if isinstance(a, str):
        if a not in study.alignments:
            names = sorted(study.alignments)
            raise DataValidationError(
                "alignment",
                None,
                f"the study has no alignment {a!r} to use as the {what} alignment "
                f"(it has {names})",
                fix=f"pass one of {names} or an Alignment, or add one with "
                f"study.with_alignment(...){did_you_mean([a], names)}",
            )
        al: Alignment = study.alignments[a]
        return al
    raise TypeError(f"{what} must be an Alignment or a name, got {type(a).__name__}")


def unit_labels(units_index: pd.Index, al: Alignment, what: str) -> pd.Series:
    """The alignment's territory per unit of ``units_index`` (NaN: unassigned).

    Raises :class:`DataValidationError` when the alignment names units that
    the study does not have.
    """
    s = al.assignment
    if s.index.dtype != units_index.dtype and not s.index.isin(units_index).any():
        # ids read as numbers on one side and as text on the other
        conv = _align_id_dtype(pd.Series(s.index), units_index)
        s = pd.Series(s.to_numpy(), index=pd.Index(conv, name=s.index.name))
    extra = s.index.difference(units_index)
    if len(extra):
        raise DataValidationError(
            "alignment",
            "unit_id",
            f"the {what} alignment {al.name!r} assigns {len(extra)} units that are "
            "not in the study's units table",
            rows=list(extra),
            n_bad=len(extra),
            fix="drop those units from the alignment or add them to the study "
            "(check the id type: '13121' is not 13121)",
        )
    out = s.reindex(units_index)
    if out.dtype != s.dtype:
        # units left unassigned: keep the territory ids' own type (101, not
        # 101.0) instead of letting the NaN turn integers into floats
        out = s.astype(object).reindex(units_index)
    return out


@dataclass(frozen=True, eq=False)
class AlignmentDiff:
    """Units, accounts, sales and workload that change territory.

    Parameters
    ----------
    before, after
        Names of the two alignments compared.
    moves
        One row per unit whose territory changes (index ``unit_id``):
        ``from``, ``to`` and each measure.  A unit without a territory before
        has ``from`` NaN (newly assigned; not counted as moved).
    per_territory
        Index ``territory_id`` (union of both alignments): for each measure
        ``<m>_before``, ``<m>_after``, ``<m>_gained``, ``<m>_lost`` and
        ``continuity`` — the share of the territory's accounts (units when the
        study has no accounts) that stay with it.
    totals
        Index = measure: ``moved``, ``total``, ``share``.
    continuity_kept
        Share of all accounts (units without accounts) that keep their
        territory.
    provenance
        :func:`~terrakit.data.alignment.make_provenance` record.
    """

    before: str
    after: str
    moves: pd.DataFrame
    per_territory: pd.DataFrame
    totals: pd.DataFrame
    continuity_kept: float
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for col in ("moved", "total", "share"):
            if col not in self.totals.columns:
                raise ValueError(f"totals needs a {col!r} column")
        if not 0.0 <= self.continuity_kept <= 1.0 + 1e-12:
            raise ValueError(
                f"continuity_kept must be a share in [0, 1], got {self.continuity_kept}"
            )
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))

    @property
    def measures(self) -> list[str]:
        """The measures compared, in order."""
        return list(self.totals.index)

    @property
    def n_moved(self) -> int:
        """Number of units that change territory."""
        return int(self.moves["from"].notna().sum())

    def moved(self, measure: str = "units") -> float:
        """Total of ``measure`` that changes territory."""
        return float(self.totals.loc[self._measure(measure), "moved"])

    def moved_share(self, measure: str = "units") -> float:
        """Share of ``measure`` that changes territory."""
        return float(self.totals.loc[self._measure(measure), "share"])

    def _measure(self, measure: str) -> str:
        if measure not in self.totals.index:
            raise KeyError(
                f"the diff has no measure {measure!r}; it compared "
                f"{self.measures}. Fix: pass measures=[..., {measure!r}] to "
                "diff_alignments"
            )
        return measure

    def to_frame(self) -> pd.DataFrame:
        """The per-territory table (gained / lost / continuity per territory)."""
        return self.per_territory.copy()

    def summary(self) -> str:
        """Rounded, stable text: totals moved and the per-territory table."""
        lines = [f"AlignmentDiff {self.before!r} → {self.after!r}"]
        for m, row in self.totals.iterrows():
            lines.append(
                f"  {m} moved: {row['moved']:.6g} of {row['total']:.6g} "
                f"({100 * row['share']:.2f} %)"
            )
        lines.append(f"  continuity kept: {100 * self.continuity_kept:.2f} %")
        cols = ["units_before", "units_after", "units_gained", "units_lost"]
        for m in self.measures:
            if m != "units":
                cols += [f"{m}_gained", f"{m}_lost"]
        cols.append("continuity")
        t = self.per_territory[[c for c in cols if c in self.per_territory]].copy()
        num = t.select_dtypes("number").columns
        t[num] = t[num].round(4)
        lines.append(t.to_string())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def diff_alignments(
    study: Any,
    before: Alignment | str,
    after: Alignment | str,
    *,
    measures: Sequence[str] | None = None,
) -> AlignmentDiff:
    """Compare two alignments of a study unit by unit.

    Parameters
    ----------
    study
        The :class:`~terrakit.data.Study` (its ``unit_measures()`` give the
        measures).
    before, after
        Alignments or their names in the study.
    measures
        Unit columns to total (``"units"`` counts units); default the
        available ones of ``units, accounts, sales, workload``.

    Returns
    -------
    AlignmentDiff

    Raises
    ------
    SpecificationError
        A requested measure is not a numeric column of the units, or
        ``measures`` is empty (a single name may be given as a string).
    DataValidationError
        A name is not an alignment of the study, an alignment names units the
        study does not have, ``after`` leaves units unassigned, the two
        alignments' territory ids differ only in type (``'1'`` and ``1``: every
        unit would count as moved), or a requested measure (or the units'
        ``accounts``, which continuity counts) has missing or infinite
        values, as :func:`terrakit.metrics.disruption` refuses them.

    Notes
    -----
    A unit *moves* when it has a territory in both alignments and the two
    differ: :math:`\\text{moved}_m = \\sum_i m_i [b_i \\ne a_i]`.  Territory
    ids are compared as given (relabelling counts as moving), as in
    :func:`terrakit.metrics.disruption`.  Continuity of territory ``t`` is
    :math:`1 - \\text{accounts lost}_t / \\text{accounts before}_t`.

    Examples
    --------
    >>> from terrakit.data.synthetic import toy_grid  # doctest: +SKIP
    >>> d = diff_alignments(study, "current", proposed)  # doctest: +SKIP
    >>> d.moved_share("accounts")  # doctest: +SKIP
    0.04
    """
    from terrakit.realign.impact import check_territory_ids

    units = study.unit_measures()
    b_al = _as_alignment(study, before, "before")
    a_al = _as_alignment(study, after, "after")
    # '1' and 1 would count every unit as moved (as in metrics.disruption)
    check_territory_ids(b_al.territories, a_al.territories, b_al.name, a_al.name)
    b = unit_labels(units.index, b_al, "before")
    a = unit_labels(units.index, a_al, "after")
    if a.isna().any():
        miss = units.index[a.isna().to_numpy()]
        raise DataValidationError(
            "alignment",
            "territory_id",
            f"the after alignment {a_al.name!r} leaves {len(miss)} units unassigned",
            rows=list(miss),
            n_bad=len(miss),
            fix="assign every unit of the study",
        )
    if measures is None:
        measures = [m for m in _DEFAULT_MEASURES if m == "units" or m in units]
    elif isinstance(measures, str):
        measures = [measures]
    else:
        measures = list(dict.fromkeys(measures))
    if not measures:
        raise SpecificationError(
            "diff_alignments(measures=[]): give at least one measure, e.g. "
            "measures=['units', 'sales'] (or None for the default ones)"
        )
    for m in measures:
        if m != "units" and not (
            m in units.columns and pd.api.types.is_numeric_dtype(units[m])
        ):
            raise SpecificationError(
                f"measure {m!r} is not a numeric column of the units; available: "
                f"{['units', *units.select_dtypes('number').columns]}"
            )
    has_accounts = "accounts" in units.columns and pd.api.types.is_numeric_dtype(
        units["accounts"]
    )
    # a missing value would make a total NaN while the per-territory sums
    # skipped it as 0: refuse it, naming the rows (continuity sums accounts)
    summed = [m for m in measures if m != "units"]
    _check_numeric(
        units,
        "units",
        dict.fromkeys([*summed, *(["accounts"] if has_accounts else [])]),
        required=True,
    )
    vals: dict[str, np.ndarray] = {
        m: np.ones(len(units)) if m == "units" else units[m].to_numpy(dtype=float)
        for m in measures
    }
    bv = b.to_numpy(dtype=object)
    av = a.to_numpy(dtype=object)
    has_b = b.notna().to_numpy()
    moved = has_b & (bv != av)
    moves = pd.DataFrame(
        {"from": bv[moved], "to": av[moved]},
        index=pd.Index(units.index[moved], name="unit_id"),
    )
    newly = ~has_b
    if newly.any():
        new_rows = pd.DataFrame(
            {"from": np.full(int(newly.sum()), np.nan, dtype=object), "to": av[newly]},
            index=pd.Index(units.index[newly], name="unit_id"),
        )
        moves = pd.concat([moves, new_rows])
    for m, v in vals.items():
        moves[m] = pd.Series(v, index=units.index).reindex(moves.index).to_numpy()
    terr: list[Hashable] = list(
        dict.fromkeys([*b.dropna().unique().tolist(), *a.unique().tolist()])
    )
    tidx = pd.Index(terr, name="territory_id")
    per: dict[str, Any] = {}
    for m, v in vals.items():
        s = pd.Series(v, index=units.index)
        per[f"{m}_before"] = s[has_b].groupby(bv[has_b]).sum().reindex(tidx).fillna(0)
        per[f"{m}_after"] = s.groupby(av).sum().reindex(tidx).fillna(0)
        per[f"{m}_gained"] = (
            s[moved | newly].groupby(av[moved | newly]).sum().reindex(tidx).fillna(0)
        )
        per[f"{m}_lost"] = s[moved].groupby(bv[moved]).sum().reindex(tidx).fillna(0)
    table = pd.DataFrame(per, index=tidx)
    # continuity counts accounts (units without accounts), whatever the measures
    if has_accounts:
        cont = units["accounts"].to_numpy(dtype=float)
    else:
        cont = np.ones(len(units))
    cs = pd.Series(cont, index=units.index)
    before_c = cs[has_b].groupby(bv[has_b]).sum().reindex(tidx).fillna(0).to_numpy()
    lost_c = cs[moved].groupby(bv[moved]).sum().reindex(tidx).fillna(0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        table["continuity"] = np.where(before_c > 0, 1.0 - lost_c / before_c, np.nan)
    rows = {}
    for m, v in vals.items():
        tot = float(v[has_b].sum())
        mv = float(v[moved].sum())
        rows[m] = {"moved": mv, "total": tot, "share": mv / tot if tot else 0.0}
    totals = pd.DataFrame.from_dict(rows, orient="index")
    totals.index.name = "measure"
    cont_total = float(cont[has_b].sum())
    kept = 1.0 - (float(cont[moved].sum()) / cont_total if cont_total else 0.0)
    prov = make_provenance(
        "diff", config={"before": b_al.name, "after": a_al.name, "measures": measures}
    )
    return AlignmentDiff(
        before=b_al.name,
        after=a_al.name,
        moves=moves,
        per_territory=table,
        totals=totals,
        continuity_kept=min(max(kept, 0.0), 1.0),
        provenance=prov,
    )

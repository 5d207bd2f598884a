"""New-lead distribution: who gets each new lead, and why.

:func:`assign_leads` routes every lead to a territory and its rep by a list of
rules applied in order — ``"territory"`` (where the lead is), ``"capacity"``
(the rep has hours left) and ``"expertise"`` (the rep knows the lead's
industry) — and writes a reason per lead.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from terrakit.data.alignment import Alignment, make_provenance
from terrakit.data.geo import Adjacency, haversine_matrix, lonlat, require_adjacency
from terrakit.data.validation import (
    _align_id_dtype,
    rep_of_territories,
    require_study,
)
from terrakit.exceptions import DataValidationError, SpecificationError
from terrakit.realign.scenario import cached_adjacency

__all__ = ["RULES", "LeadAssignment", "assign_leads"]

#: Rules :func:`assign_leads` knows, in their usual order.
RULES = ("territory", "capacity", "expertise")

_COLUMNS = ["territory_id", "rep_id", "home_territory", "unit_id", "hours", "reason"]


def _as_float(x: Any) -> float:
    """``x`` as a float; NaN when it is not a number."""
    if isinstance(x, bool):
        return float("nan")
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _numbers(col: pd.Series) -> pd.Series:
    """``col`` as floats; NaN where a cell is no number (text that reads as
    one counts; True/False do not, they are no size or hours)."""
    is_bool = col.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
    out = pd.to_numeric(col.astype(object).where(~is_bool), errors="coerce")
    return out.astype(float)


def _norm_skill(s: Any) -> str:
    return re.sub(r"[\s_]+", "-", str(s).strip().lower())


def _skill_set(cell: Any) -> set[str]:
    """The skills in a ``reps.skills`` cell: semicolon-separated text, or a
    list (tuple, set, array) of skills as :meth:`Scenario.add_rep` takes them;
    an empty cell has none."""
    if isinstance(cell, list | tuple | set | frozenset | np.ndarray | pd.Series):
        items = [s for s in cell if not (pd.api.types.is_scalar(s) and pd.isna(s))]
    elif pd.api.types.is_scalar(cell) and pd.isna(cell):
        return set()
    else:
        items = str(cell).split(";")
    return {_norm_skill(s) for s in items if str(s).strip()}


@dataclass(frozen=True)
class LeadAssignment:
    """Who gets each lead, and why.

    Attributes
    ----------
    table
        One row per lead (index ``lead_id``, in the order given):
        ``territory_id``, ``rep_id`` (NaN where the territory has no rep),
        ``home_territory`` (where the lead lies), ``unit_id``, ``hours``
        (estimated yearly workload of the lead), ``reason``.
    headroom
        Per rep: ``capacity``, ``workload`` (territory workload before the
        leads), ``lead_hours`` (hours of the leads assigned),
        ``headroom_after``.  Filled whenever the reps have
        ``capacity_hours`` and the units ``workload``, whatever the rules;
        NaN otherwise (and for territories without a rep).
    rules
        The rules applied, in order.
    provenance
        :func:`~terrakit.data.alignment.make_provenance` record.
    """

    table: pd.DataFrame
    headroom: pd.DataFrame
    rules: tuple[str, ...]
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in _COLUMNS if c not in self.table.columns]
        if missing:
            raise ValueError(f"table lacks columns {missing}")

    @property
    def moved(self) -> pd.Index:
        """Leads routed away from the territory they lie in."""
        t = self.table
        return t.index[(t["territory_id"] != t["home_territory"]).to_numpy()]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        """Rounded, stable text."""
        t = self.table
        n = len(t)
        lines = [
            f"Lead assignment ({', '.join(self.rules)}): {n} leads, "
            f"{len(self.moved)} routed away from their home territory",
        ]
        counts = t["rep_id"].value_counts().sort_index()
        lines.append(
            "  leads per rep: " + ", ".join(f"{k} {v}" for k, v in counts.items())
        )
        after = self.headroom["headroom_after"]
        if after.notna().any():
            over = self.headroom.index[after < 0]
            lines.append(
                f"  reps over capacity after assignment: {len(over)}"
                + (f" ({', '.join(map(str, over))})" if len(over) else "")
            )
        else:
            lines.append(
                "  reps over capacity after assignment: unknown (no rep "
                "capacity_hours or no unit workload)"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _validate_leads(leads: pd.DataFrame, units: gpd.GeoDataFrame) -> pd.DataFrame:
    if not isinstance(leads, pd.DataFrame):
        raise DataValidationError(
            "leads",
            None,
            f"expected a DataFrame of leads, got {type(leads).__name__}",
            fix="pass a DataFrame with lead_id, lon/lat (or unit_id), size, industry",
        )
    df = leads.copy()
    if "lead_id" in df.columns:
        df = df.set_index("lead_id")
    elif df.index.name != "lead_id":
        raise DataValidationError(
            "leads",
            "lead_id",
            "the leads have no lead_id column or index",
            fix="add a lead_id column (or name the index 'lead_id')",
        )
    if df.index.hasnans:
        bad = np.flatnonzero(pd.isna(df.index))
        raise DataValidationError(
            "leads",
            "lead_id",
            f"{len(bad)} leads have no id",
            rows=[f"row {i}" for i in bad],
            n_bad=len(bad),
            fix="give every lead an id",
        )
    dup = df.index[df.index.duplicated()]
    if len(dup):
        raise DataValidationError(
            "leads",
            "lead_id",
            f"{len(dup)} lead ids repeat",
            rows=list(dict.fromkeys(dup)),
            fix="give every lead its own id",
        )
    if "size" not in df.columns:
        raise DataValidationError(
            "leads",
            "size",
            f"required column is missing (columns seen: {list(df.columns)})",
            fix="add 'size' = expected yearly sales of the lead",
        )
    size = _numbers(df["size"])
    bad = df.index[(~np.isfinite(size) | (size < 0)).to_numpy()]
    if len(bad):
        raise DataValidationError(
            "leads",
            "size",
            f"{len(bad)} leads have a missing, non-numeric, infinite or negative size",
            rows=list(bad),
            fix="give every lead its expected yearly sales (>= 0)",
        )
    df["size"] = size.astype(float)
    has_xy = {"lon", "lat"} <= set(df.columns)
    if not has_xy and "unit_id" not in df.columns:
        raise DataValidationError(
            "leads",
            "lon/lat",
            f"the leads have neither lon/lat nor unit_id (columns: {list(df.columns)})",
            fix="add the lead's position (lon, lat in degrees) or its unit_id",
        )
    if not has_xy and df["unit_id"].isna().any():
        bad_uid = df["unit_id"].isna().to_numpy()
        raise DataValidationError(
            "leads",
            "unit_id",
            f"{int(bad_uid.sum())} leads have no unit_id and there are no lon/lat "
            "columns to place them",
            rows=list(df.index[bad_uid]),
            n_bad=int(bad_uid.sum()),
            fix="give unit_id or lon/lat (degrees) for every lead",
        )
    if has_xy:
        lon = pd.to_numeric(df["lon"], errors="coerce")
        lat = pd.to_numeric(df["lat"], errors="coerce")
        bad_xy = (
            lon.isna() | lat.isna() | (lon.abs() > 180) | (lat.abs() > 90)
        ).to_numpy()
        if "unit_id" in df.columns:
            bad_xy &= df["unit_id"].isna().to_numpy()
        if bad_xy.any():
            raise DataValidationError(
                "leads",
                "lon/lat",
                f"{int(bad_xy.sum())} leads have missing or out-of-range coordinates",
                rows=list(df.index[bad_xy]),
                n_bad=int(bad_xy.sum()),
                fix="give lon in [-180, 180] and lat in [-90, 90] (degrees, WGS84)",
            )
        df["lon"], df["lat"] = lon.astype(float), lat.astype(float)
    if "unit_id" in df.columns:
        df["unit_id"] = _align_id_dtype(df["unit_id"], units.index)
        given = df["unit_id"].notna()
        unknown = given & ~df["unit_id"].isin(units.index)
        if unknown.any():
            raise DataValidationError(
                "leads",
                "unit_id",
                f"{int(unknown.sum())} leads name units that are not in the study",
                rows=list(df.index[unknown.to_numpy()]),
                n_bad=int(unknown.sum()),
                fix="check the ids (and their type: '13121' is not 13121) or give "
                "lon/lat instead",
            )
    return df


def _locate(
    df: pd.DataFrame, units: gpd.GeoDataFrame
) -> tuple[pd.Series, dict[Hashable, tuple[list[Hashable], bool]]]:
    """Unit of every lead (given unit_id first, else point in polygon).

    Returns the unit of every lead (NaN where none contains it; the first hit
    where several do) and, for the leads that lie in more than one unit, the
    units hit (in the order of the units table) and whether the lead lies
    inside more than one of them (overlapping polygons) rather than on their
    shared border.
    """
    unit = (
        df["unit_id"].astype(object).copy()
        if "unit_id" in df.columns
        else pd.Series([None] * len(df), index=df.index, dtype=object)
    )
    hits: dict[Hashable, tuple[list[Hashable], bool]] = {}
    todo = unit.isna().to_numpy()
    if todo.any():
        pts = gpd.GeoSeries(
            gpd.points_from_xy(df.loc[todo, "lon"], df.loc[todo, "lat"]),
            crs="EPSG:4326",
            index=df.index[todo],
        ).to_crs(units.crs)
        if bool((units.geometry.geom_type == "Point").all()):
            raise DataValidationError(
                "leads",
                "unit_id",
                "the study's units are points, so a lead's position cannot be "
                "placed inside one",
                rows=list(df.index[todo]),
                n_bad=int(todo.sum()),
                fix="give each lead the unit_id it belongs to",
            )
        left, right = units.sindex.query(pts.to_numpy(), predicate="intersects")
        order = np.lexsort((right, left))
        left, right = left[order], right[order]
        found = pd.Series(units.index.to_numpy()[right], index=pts.index[left])
        first = ~found.index.duplicated()
        unit.loc[found.index[first]] = found.to_numpy()[first]
        multi = found.index[found.index.duplicated()].unique()
        geoms = units.geometry.to_numpy()
        pt_arr = pts.to_numpy()
        for lid in multi:
            sel = found.index == lid
            k = int(left[sel][0])
            hit = right[sel]
            inside = shapely.contains_properly(geoms[hit], pt_arr[k])
            hits[lid] = ([units.index[j] for j in hit], int(inside.sum()) > 1)
    return unit, hits


def _check_adjacency(adjacency: Any, units: gpd.GeoDataFrame) -> None:
    """Raise unless ``adjacency`` is a graph over exactly the study's units."""
    require_adjacency(
        adjacency,
        what="assign_leads(adjacency=...)",
        over="the study's units",
        build="tk.data.geo.adjacency(study.units)",
    )
    adjacency.on_units(
        units.index,
        name="the study",
        fix="build the adjacency from the study's units "
        "(terrakit.data.geo.adjacency(study.units)) or leave adjacency=None",
    )


def _pick_unit(
    cands: list[Hashable],
    overlap: bool,
    labels: pd.Series,
    rep_home: dict[Hashable, tuple[float, float]],
    x: float,
    y: float,
) -> tuple[Hashable, str]:
    """Unit of a lead that lies in several units, and the reason's first part.

    The unit whose territory's rep lives nearest the lead wins; ties (same
    territory, no rep, no home) go to the lowest unit id.
    """

    def dist(u: Hashable) -> float:
        t = labels[u]
        if t in rep_home:
            hx, hy = rep_home[t]
            return float(haversine_matrix([x], [y], [hx], [hy])[0, 0])
        return float("inf")

    try:
        by_id = sorted(cands)  # type: ignore[type-var]
    except TypeError:
        by_id = sorted(cands, key=str)
    rank = {u: k for k, u in enumerate(by_id)}
    d = {u: dist(u) for u in cands}
    best = min(cands, key=lambda u: (d[u], rank[u]))
    others = [d[u] for u in cands if u != best]
    nearest = np.isfinite(d[best]) and all(o > d[best] for o in others)
    named = [f"{u} ({labels[u]})" for u in by_id]
    listed = ", ".join(named[:-1]) + " and " + named[-1]
    how = f"rep {labels[best]}'s home is nearest" if nearest else "lowest unit id"
    text = (
        f"lies {'in the overlap' if overlap else 'on the border'} of units "
        f"{listed}; placed in unit {best} of territory {labels[best]} ({how})"
    )
    return best, text


def assign_leads(
    leads: pd.DataFrame,
    study: Any,
    alignment: Alignment | str = "current",
    rules: Sequence[str] = RULES,
    *,
    hours_per_sales: float | None = None,
    max_load: float = 1.0,
    adjacency: Adjacency | None = None,
) -> LeadAssignment:
    """Route new leads to territories and reps, with a reason per lead.

    Parameters
    ----------
    leads
        DataFrame with ``lead_id`` (column or index), ``lon``/``lat``
        (degrees) or ``unit_id``, ``size`` (expected yearly sales), and
        ``industry`` (for the expertise rule); optional ``hours`` (yearly
        workload of the lead).  Leads are routed in the order given (e.g.
        arrival order): earlier leads use up headroom first.
    study
        The study (units with ``workload``, reps with ``capacity_hours`` and
        ``skills``: semicolon-separated text or a list of skills per rep).
    alignment
        The alignment (or its name in the study).  Territory ids that are rep
        ids are served by that rep; so is one that equals a rep id only as
        text (territory ``'2'`` of rep ``2``, an alignment read from a CSV),
        as :func:`~terrakit.data.validation.rep_of_territories` matches them.
    rules
        Rules in priority order; ``"territory"`` must come first:

        * ``"territory"`` — the lead's home territory (the territory of the
          unit it lies in) is preferred; alone, it decides;
        * ``"capacity"`` — keep only candidates whose rep has headroom for
          the lead's hours;
        * ``"expertise"`` — keep only candidates whose rep lists the lead's
          industry in ``skills``.

        Candidates are the home territory and the territories adjacent to it
        (sharing a unit border).  A rule that would leave no candidate is
        skipped and the reason says so.  Among the remaining candidates the
        home territory wins, else the rep whose home is nearest the lead.

        A lead that lies in more than one unit (on a shared border, or where
        unit polygons overlap) is placed in the unit whose territory's rep
        lives nearest the lead; ties (same territory, no rep or no rep home)
        go to the lowest unit id.  The reason names all the units.
    hours_per_sales
        Hours of yearly workload per unit of sales, for leads without
        ``hours``; default the study's ``Σ workload / Σ sales`` (refused when
        the units' sales total 0).
    max_load
        Share of a rep's ``capacity_hours`` that may be filled (1.0 = all).
    adjacency
        Unit graph over exactly the study's units (used when there is more
        than one rule); default queen contiguity of the units (built once and
        memoised).

    Returns
    -------
    LeadAssignment

    Raises
    ------
    NotAStudyError
        ``study`` is no Study (e.g. its units table, or a file path).
    DataValidationError
        Bad leads (missing columns, repeated ids, bad coordinates, unknown
        units, a ``size`` or ``hours`` that is no number ≥ 0, True/False
        included), leads that lie outside every territory (the message lists
        them), leads with neither ``unit_id`` nor ``lon``/``lat``, lead hours
        to estimate from units whose sales total 0 (or are missing), a capacity
        rule without ``capacity_hours`` or ``workload``, an expertise rule
        without ``industry`` or ``skills``, an ``adjacency`` built on other
        units (the message lists the extra and missing ids).
    SpecificationError
        ``rules`` not a rule name or a sequence of them (e.g. ``None``),
        unknown or repeated rules, or ``"territory"`` not first.

    Notes
    -----
    Headroom of rep :math:`r` serving territory :math:`T_r`:

    .. math:: h_r = \\lambda\\,C_r - \\sum_{i \\in T_r} w_i - \\sum_{l \\to r} H_l

    with capacity :math:`C_r`, load share :math:`\\lambda` (``max_load``),
    unit workloads :math:`w_i` and the hours :math:`H_l` of the leads routed
    to :math:`r` so far; :math:`H_l` = ``hours`` or ``size`` ×
    ``hours_per_sales``.  A territory without a rep has no headroom.

    Examples
    --------
    >>> res = assign_leads(leads, study, "current")  # doctest: +SKIP
    >>> res.to_frame()[["rep_id", "reason"]]  # doctest: +SKIP
    """
    from terrakit.metrics import _alignment, _labels

    # the units table or a file path died in a bare AttributeError
    require_study(
        study,
        table="units",
        fix="tk.Study(units, reps=reps), or tk.Study.load(path) for a saved study",
        caller="tk.realign.assign_leads",
    )
    try:
        rules = (rules,) if isinstance(rules, str) else tuple(rules)
    except TypeError:
        raise SpecificationError(
            f"assign_leads(rules={rules!r}): rules are rule names in priority "
            f"order, starting with 'territory', e.g. {list(RULES)} (the default) "
            "or ['territory', 'capacity']; a single rule may be given as a string"
        ) from None
    unknown = [r for r in rules if r not in RULES]
    if unknown or not rules or rules[0] != "territory" or len(set(rules)) < len(rules):
        raise SpecificationError(
            f"assign_leads(rules={list(rules)}): rules must start with 'territory' "
            f"and use each of {list(RULES)} at most once"
            + (f"; unknown: {unknown}" if unknown else "")
        )
    if not 0 < _as_float(max_load) <= 10:
        raise SpecificationError(
            f"max_load must be a share of capacity in (0, 10] (1.0 = all of it), "
            f"got {max_load!r}"
        )
    max_load = float(max_load)
    if hours_per_sales is not None:
        hps = _as_float(hours_per_sales)
        if not (np.isfinite(hps) and hps >= 0):
            raise SpecificationError(
                f"hours_per_sales must be a number ≥ 0 (yearly hours per unit of "
                f"sales), got {hours_per_sales!r}; leave it None to use the "
                "study's total workload / total sales"
            )
        hours_per_sales = hps
    units = study.unit_measures()
    reps = study.reps
    al = _alignment(study, alignment)
    labels = _labels(units.index, al)
    df = _validate_leads(leads, units)
    if adjacency is not None and len(rules) > 1:
        _check_adjacency(adjacency, units)
    unit, hits = _locate(df, units)
    outside = unit.isna().to_numpy()
    if outside.any():
        raise DataValidationError(
            "leads",
            "lon/lat",
            f"{int(outside.sum())} leads lie outside every territory (no unit "
            "contains them)",
            rows=list(df.index[outside]),
            n_bad=int(outside.sum()),
            fix="check that lon/lat are not swapped, drop leads outside the study "
            "area, or give them a unit_id",
        )
    terr_ids = al.territories
    # the rep of each territory: territory '2' is rep 2's too (an alignment
    # read from a CSV), as in metrics.territory_kpis and the report tables
    rep_of: dict[Hashable, Hashable] = {}
    if reps is not None:
        found = rep_of_territories(pd.Series(terr_ids, dtype=object), reps.index)
        rep_of = {t: r for t, r in zip(terr_ids, found, strict=True) if r is not None}
    # rep homes by territory
    rep_home: dict[Hashable, tuple[float, float]] = {}
    if reps is not None and {"home_lon", "home_lat"} <= set(reps.columns):
        rep_home = {
            t: (float(reps.at[r, "home_lon"]), float(reps.at[r, "home_lat"]))
            for t, r in rep_of.items()
        }
    where: dict[Hashable, str] = {}
    for lid, (cands, overlap) in hits.items():
        unit[lid], where[lid] = _pick_unit(
            cands,
            overlap,
            labels,
            rep_home,
            float(df.at[lid, "lon"]),
            float(df.at[lid, "lat"]),
        )
    # the study's own unit ids (a unit_id column made float by an empty cell
    # gave 101.0 for unit 101)
    unit = pd.Series(
        units.index[units.index.get_indexer(unit.to_numpy(dtype=object))],
        index=unit.index,
        dtype=object,
    )
    home = unit.map(labels)
    # hours
    if "hours" in df.columns:
        hours = _numbers(df["hours"])
        bad = df.index[(~np.isfinite(hours) | (hours < 0)).to_numpy()]
        if len(bad):
            raise DataValidationError(
                "leads",
                "hours",
                f"{len(bad)} leads have missing, non-numeric, infinite or negative "
                "hours",
                rows=list(bad),
                fix="give hours >= 0 or drop the column to estimate them from size",
            )
    else:
        if hours_per_sales is None:
            if not {"workload", "sales"} <= set(units.columns):
                raise DataValidationError(
                    "units",
                    "workload",
                    "cannot estimate the hours of a lead: the units carry no "
                    "workload and sales",
                    fix="pass hours_per_sales=... or give the leads an 'hours' column",
                )
            work, sales = float(units["workload"].sum()), float(units["sales"].sum())
            if not (np.isfinite(work) and np.isfinite(sales) and sales > 0):
                # Σ workload / Σ sales would be inf or NaN hours, silently
                raise DataValidationError(
                    "units",
                    "sales",
                    "cannot estimate the hours of a lead from its size: the "
                    f"units' sales total {sales:g} (workload {work:g}), so "
                    "hours per unit of sales (Σ workload / Σ sales) is undefined",
                    fix="pass hours_per_sales=... or give the leads an hours column",
                )
            hours_per_sales = work / sales
        hours = df["size"] * float(hours_per_sales)
    hours = hours.astype(float)
    # capacity
    need_cap = "capacity" in rules
    cap = pd.Series(np.nan, index=pd.Index(terr_ids, dtype=object))
    load = pd.Series(np.nan, index=cap.index)
    has_cap = (
        reps is not None
        and "capacity_hours" in reps.columns
        and "workload" in units.columns
    )
    if need_cap:
        if reps is None or "capacity_hours" not in reps.columns:
            raise DataValidationError(
                "reps",
                "capacity_hours",
                "the capacity rule needs the reps' capacity_hours",
                fix="add capacity_hours to the reps or drop 'capacity' from rules",
            )
        if "workload" not in units.columns:
            raise DataValidationError(
                "units",
                "workload",
                "the capacity rule needs unit workloads",
                fix="add a workload column (hours/year) or account calls",
            )
    if has_cap:
        # the headroom table is filled whenever the data allow; only the
        # routing depends on the capacity rule
        load = units["workload"].groupby(labels).sum().reindex(cap.index).fillna(0.0)
        for t, r in rep_of.items():
            c = reps.at[r, "capacity_hours"]
            cap[t] = (float(c) if need_cap else _as_float(c)) * max_load
    skills: dict[Hashable, set[str]] = {}
    if "expertise" in rules:
        if "industry" not in df.columns:
            raise DataValidationError(
                "leads",
                "industry",
                "the expertise rule needs the leads' industry",
                fix="add an industry column or drop 'expertise' from rules",
            )
        if reps is None or "skills" not in reps.columns:
            raise DataValidationError(
                "reps",
                "skills",
                "the expertise rule needs the reps' skills",
                fix="add skills (semicolon-separated industries) to the reps or "
                "drop 'expertise' from rules",
            )
        for t, r in rep_of.items():
            skills[t] = _skill_set(reps.at[r, "skills"])
    # territory graph
    neighbours: dict[Hashable, list[Hashable]] = {t: [] for t in terr_ids}
    if len(rules) > 1:
        adj = cached_adjacency(units) if adjacency is None else adjacency
        coo = adj.matrix.tocoo()
        lab = labels.reindex(adj.ids).to_numpy()
        a, b = lab[coo.row], lab[coo.col]
        for x, y in {(x, y) for x, y in zip(a, b, strict=True) if x != y}:
            neighbours[x].append(y)
        for t in neighbours:
            neighbours[t] = sorted(set(neighbours[t]), key=str)
    # positions for the nearest-rep tie break
    if "lon" in df.columns:
        llon, llat = df["lon"].to_numpy(float), df["lat"].to_numpy(float)
    else:
        llon, llat = np.full(len(df), np.nan), np.full(len(df), np.nan)
    ulon, ulat = lonlat(units)
    upos = pd.Series(np.arange(len(units)), index=units.index)
    assigned = pd.Series(0.0, index=cap.index)
    rows = []
    for k, lid in enumerate(df.index):
        t0 = home.iloc[k]
        h = float(hours.iloc[k])
        u = unit.iloc[k]
        x, y = llon[k], llat[k]
        if not np.isfinite(x):
            x, y = ulon[upos[u]], ulat[upos[u]]
        pool = [t0] + (neighbours.get(t0, []) if len(rules) > 1 else [])
        notes = [where.get(lid, f"lies in unit {u} of territory {t0}")]
        for rule in rules[1:]:
            if rule == "capacity":
                room = {t: cap[t] - load[t] - assigned[t] for t in pool}
                ok = [t for t in pool if np.isfinite(room[t]) and room[t] >= h]
                if not ok:
                    notes.append(
                        f"no rep within reach has {h:.1f} h headroom; capacity "
                        "rule skipped"
                    )
                    continue
                if t0 in pool and t0 not in ok:
                    r0 = room[t0]
                    notes.append(
                        f"{t0} lacks headroom ({r0:.1f} h left, lead needs {h:.1f} h)"
                        if np.isfinite(r0)
                        else f"{t0} has no rep"
                    )
                pool = ok
            elif rule == "expertise":
                if pd.isna(df["industry"].iloc[k]):
                    notes.append("the lead has no industry; expertise rule skipped")
                    continue
                ind = _norm_skill(df["industry"].iloc[k])
                ok = [t for t in pool if ind in skills.get(t, set())]
                if not ok:
                    notes.append(
                        f"no candidate rep has the {df['industry'].iloc[k]!r} skill; "
                        "expertise rule skipped"
                    )
                    continue
                if len(ok) < len(pool):
                    verb = "knows" if len(ok) == 1 else "know"
                    notes.append(
                        f"{', '.join(map(str, ok))} {verb} {df['industry'].iloc[k]!r}"
                    )
                pool = ok
        if t0 in pool:
            chosen = t0
            notes.append(f"stays with {t0}")
        else:

            def _dist(t: Hashable, x: float = x, y: float = y) -> float:
                if t in rep_home:
                    hx, hy = rep_home[t]
                    return float(haversine_matrix([x], [y], [hx], [hy])[0, 0])
                return float("inf")

            chosen = min(pool, key=lambda t: (_dist(t), str(t)))
            d = _dist(chosen)
            notes.append(
                f"routed to adjacent territory {chosen}"
                + (f" (rep home {d:.0f} km away)" if np.isfinite(d) else "")
            )
        if need_cap:
            assigned[chosen] += h
        rows.append(
            {
                "lead_id": lid,
                "territory_id": chosen,
                "rep_id": rep_of.get(chosen, np.nan),
                "home_territory": t0,
                "unit_id": u,
                "hours": h,
                "reason": "; ".join(notes),
            }
        )
    table = pd.DataFrame(rows, columns=["lead_id", *_COLUMNS]).set_index("lead_id")
    table.index = pd.Index(table.index, name="lead_id")
    head = pd.DataFrame(
        {
            "capacity": cap,
            "workload": load,
            "lead_hours": table["hours"]
            .astype(float)
            .groupby(table["territory_id"])
            .sum()
            .reindex(cap.index)
            .fillna(0.0),
        }
    )
    head["headroom_after"] = head["capacity"] - head["workload"] - head["lead_hours"]
    head.index.name = "territory_id"
    prov = make_provenance(
        "realign/assign_leads",
        config={
            "rules": list(rules),
            "alignment": al.name,
            "max_load": max_load,
            "hours_per_sales": hours_per_sales,
        },
    )
    return LeadAssignment(table, head, rules, prov)

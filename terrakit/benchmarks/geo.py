"""US counties and ZCTAs with population: national-scale territory design.

The folder ``../shared/benchmarks/geo/`` (its README and ``manifest.csv``)
holds the Census 2010 county polygons (``us_counties_fips.geojson``, 3,221
features, id = 5-digit FIPS), the 2010 county gazetteer with ``POP10``
(``census_gazetteer_2010_counties.txt``, TAB-separated, Latin-1: "Doña Ana")
and the derived ZCTA table (``zcta_2010_pop_area_centroid.csv``: ZCTA, 2010
population, land/water area, internal point lat/lon).

Readers
    :func:`us_counties` → county polygons with ``population`` (Census 2010
    ``POP10``) in :data:`CONUS_CRS`; :func:`us_zctas` → ZCTA points with
    ``population``.  ``region``: ``"states"`` (50 states + DC, default),
    ``"lower48"`` (48 contiguous states + DC) or ``"all"`` (adds Puerto Rico,
    whose ZCTAs have no population in the file).

Islands (:func:`island_links`)
    The county polygons' queen graph has 10 pieces for the 50 states + DC:
    the lower 48, Alaska (28 units, plus Aleutians West alone), four Hawaiian
    pieces, and Richmond County NY (Staten Island), Nantucket MA and San Juan
    WA.  Rule: pieces are first joined *within their state* (a minimum
    spanning tree over the pieces, edge length = shortest great-circle
    distance between the units' representative points: ferries and bridges
    such as Staten Island–Brooklyn), then every state block still detached
    is linked to the nearest unit of the largest piece (Alaska → Washington,
    Hawaii → California).  Step 1 also joins in-state pieces that touch only
    through another state (Michigan's peninsulas: Mackinac Bridge; Virginia's
    Eastern Shore: Chesapeake Bay Bridge-Tunnel).  12 links in all for the
    50 states + DC; they are returned so a study can show them.

Benchmark family ``"geo"`` (:func:`solve_file`)
    ``us_counties_fips.geojson``: 100 territories, ±3 % population,
    contiguous (with the island links), centers chosen among the counties;
    counties above one territory's upper band are split into equal parts
    (:func:`terrakit.design.split_oversized`).  ``zcta_2010_pop_area_centroid.csv``:
    300 territories, ±3 % population, no contiguity (ZCTAs are points),
    centers chosen among :func:`candidate_centers`.  ``value`` is the
    objective ``Σ population · km²`` to the territory center (great-circle
    km between representative points).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from terrakit.data import geo
from terrakit.exceptions import DataValidationError

__all__ = [
    "CONUS_CRS",
    "COUNTY_FILE",
    "COUNTY_POPULATION_FILE",
    "ZCTA_FILE",
    "candidate_centers",
    "check_file",
    "island_links",
    "solve_file",
    "unit_adjacency",
    "us_counties",
    "us_zctas",
]

#: NAD83 / Conus Albers (equal-area, metres): the usual projection for the
#: contiguous US; Alaska and Hawaii are distorted in it but stay valid
#: geometry (distances in the design are great-circle, not planar).
CONUS_CRS = "EPSG:5070"
COUNTY_FILE = "us_counties_fips.geojson"
COUNTY_POPULATION_FILE = "census_gazetteer_2010_counties.txt"
ZCTA_FILE = "zcta_2010_pop_area_centroid.csv"

Region = Literal["states", "lower48", "all"]
_REGIONS = ("states", "lower48", "all")

# ZIP prefixes (first three digits) outside the 50 states + DC and of AK / HI
_PR_VI = range(6, 10)
_HI = range(967, 969)
_AK = range(995, 1000)


def _file(path: str | Path, name: str) -> Path:
    p = Path(path)
    f = p / name if p.is_dir() else p
    if not f.exists():
        raise FileNotFoundError(
            f"{f} not found; pass the geo benchmark folder or the file {name}"
        )
    return f


def _check_region(region: str) -> None:
    if region not in _REGIONS:
        raise ValueError(f"region must be one of {_REGIONS}, got {region!r}")


def us_counties(
    path: str | Path,
    *,
    region: Region = "states",
    population_file: str | Path | None = None,
    crs: Any = CONUS_CRS,
) -> gpd.GeoDataFrame:
    """US county polygons with their Census 2010 population.

    Parameters
    ----------
    path
        The geo benchmark folder or ``us_counties_fips.geojson``.
    region
        ``"states"`` (50 states + DC: 3,143 counties, 308,745,538 people),
        ``"lower48"`` (without Alaska and Hawaii: 3,109 counties) or ``"all"``
        (adds Puerto Rico's 78 municipios: 3,221).
    population_file
        The 2010 county gazetteer (default: ``census_gazetteer_2010_counties.txt``
        beside the polygons).
    crs
        CRS of the returned geometry (default :data:`CONUS_CRS`).

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``unit_id`` (5-digit FIPS, string), columns ``name``, ``state``
        (USPS code), ``population`` (int), ``geometry``; sorted by FIPS.

    Raises
    ------
    DataValidationError
        A polygon without a population row (or the reverse), or duplicate
        FIPS codes.
    """
    _check_region(region)
    poly_file = _file(path, COUNTY_FILE)
    pop_file = (
        poly_file.parent / COUNTY_POPULATION_FILE
        if population_file is None
        else Path(population_file)
    )
    g = gpd.read_file(poly_file)
    fips = g["id"] if "id" in g.columns else g["STATE"] + g["COUNTY"]
    g = gpd.GeoDataFrame(
        {"geometry": g.geometry.to_numpy()},
        index=pd.Index(fips.astype(str).str.zfill(5), name="unit_id"),
        crs=g.crs or "EPSG:4326",
    )
    gz = pd.read_csv(pop_file, sep="\t", encoding="latin-1", dtype={"GEOID": str})
    gz.columns = [c.strip() for c in gz.columns]
    gz = gz.set_index(gz["GEOID"].str.strip().str.zfill(5))
    for what, ids in (("polygons", g.index), ("population rows", gz.index)):
        if ids.has_duplicates:
            raise DataValidationError(
                "counties",
                "FIPS",
                f"duplicate FIPS codes among the {what}",
                rows=list(dict.fromkeys(ids[ids.duplicated()])),
                fix="use one row per county",
            )
    missing = g.index.difference(gz.index)
    extra = gz.index.difference(g.index)
    if len(missing) or len(extra):
        raise DataValidationError(
            "counties",
            "FIPS",
            f"{len(missing)} polygons have no population row and {len(extra)} "
            "population rows have no polygon",
            rows=list(missing[:5]) + list(extra[:5]),
            fix="use the polygons and gazetteer of the same census vintage",
        )
    g["name"] = gz["NAME"].reindex(g.index).str.strip()
    g["state"] = gz["USPS"].reindex(g.index).str.strip()
    g["population"] = gz["POP10"].reindex(g.index).astype(np.int64)
    if region != "all":
        g = g[g["state"] != "PR"]
    if region == "lower48":
        g = g[~g["state"].isin(["AK", "HI"])]
    g = g.sort_index()[["name", "state", "population", "geometry"]]
    return g.to_crs(crs)


def us_zctas(
    path: str | Path,
    *,
    region: Region = "states",
    drop_empty: bool = True,
    crs: Any = CONUS_CRS,
) -> gpd.GeoDataFrame:
    """ZCTA internal points with their Census 2010 population.

    Parameters
    ----------
    path
        The geo benchmark folder or ``zcta_2010_pop_area_centroid.csv``.
    region
        ``"states"`` (50 states + DC), ``"lower48"`` (without AK, HI) or
        ``"all"``; ZIP prefixes decide (006–009 Puerto Rico / Virgin Islands,
        967–968 Hawaii, 995–999 Alaska).
    drop_empty
        Drop ZCTAs with no or zero population (they cannot change any
        territory's population; 276 rows in the file, 132 of them without a
        value).
    crs
        CRS of the returned points (default :data:`CONUS_CRS`).

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``unit_id`` (5-digit ZCTA, string), columns ``population``
        (int), ``aland_sqmi``, ``geometry`` (points); sorted by ZCTA.
    """
    _check_region(region)
    f = _file(path, ZCTA_FILE)
    _check_zcta_columns(f, pd.read_csv(f, nrows=0).columns)
    z = pd.read_csv(f, dtype={"zcta": str}).dropna(subset=["zcta", "lat", "lon"])
    z["zcta"] = z["zcta"].str.strip().str.zfill(5)
    if z["zcta"].duplicated().any():
        dup = z.loc[z["zcta"].duplicated(), "zcta"]
        raise DataValidationError(
            "zctas",
            "zcta",
            "duplicate ZCTA codes",
            rows=list(dict.fromkeys(dup)),
            fix="use one row per ZCTA",
        )
    prefix = z["zcta"].str[:3].astype(int)
    if region != "all":
        z = z[~prefix.isin(_PR_VI)]
    if region == "lower48":
        p = z["zcta"].str[:3].astype(int)
        z = z[~p.isin(_HI) & ~p.isin(_AK)]
    pop = z["pop2010"].fillna(0.0)
    if drop_empty:
        z, pop = z[pop > 0], pop[pop > 0]
    out = gpd.GeoDataFrame(
        {
            "population": pop.round().astype(np.int64).to_numpy(),
            "aland_sqmi": z["aland_sqmi"].to_numpy(dtype=float),
        },
        geometry=gpd.points_from_xy(z["lon"], z["lat"]),
        index=pd.Index(z["zcta"].to_numpy(), name="unit_id"),
        crs="EPSG:4326",
    ).sort_index()
    return out.to_crs(crs)


#: the columns :func:`us_zctas` reads
_ZCTA_COLUMNS = ("zcta", "pop2010", "aland_sqmi", "lat", "lon")


def _check_zcta_columns(f: Path, columns: pd.Index) -> None:
    missing = [c for c in _ZCTA_COLUMNS if c not in columns]
    if missing:
        raise ValueError(
            f"{f}: not a valid geo instance: the ZCTA table needs the columns "
            f"{list(_ZCTA_COLUMNS)}; {missing} are missing (it has "
            f"{list(columns)[:10]}); pass {ZCTA_FILE} or {COUNTY_FILE}"
        )


def check_file(path: str | Path, *, region: Region = "states") -> None:
    """Check one ``"geo"`` family file before any solve, cheaply.

    ``.csv``: the columns of the ZCTA table (its header only); ``.geojson``:
    the property names of its first feature (the county FIPS: a feature
    ``id`` or ``STATE`` and ``COUNTY``, as :func:`us_counties` reads them)
    and the county population file beside it.

    Raises
    ------
    ValueError
        ``"<file>: not a valid geo instance: ..."``.
    FileNotFoundError
        The county population file is missing.
    """
    _check_region(region)
    f = Path(path)
    if f.name.endswith(".csv"):
        try:
            columns = pd.read_csv(f, nrows=0).columns
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(f"{f}: not a valid geo instance: {err}") from None
        _check_zcta_columns(f, columns)
    elif f.name.endswith(".geojson"):
        try:
            first = gpd.read_file(f, rows=1).columns
        except Exception as err:  # pyogrio / fiona errors have no common base
            raise ValueError(
                f"{f}: not a valid geo instance: not readable as GeoJSON: {err}"
            ) from None
        if "id" not in first and not {"STATE", "COUNTY"} <= set(first):
            raise ValueError(
                f"{f}: not a valid geo instance: the county polygons need the "
                "county FIPS, as a feature 'id' or the properties 'STATE' and "
                f"'COUNTY'; its first feature has {list(first)[:10]}; pass "
                f"{COUNTY_FILE} or {ZCTA_FILE}"
            )
        if not (f.parent / COUNTY_POPULATION_FILE).is_file():
            raise FileNotFoundError(
                f"{f.parent / COUNTY_POPULATION_FILE} not found: the county "
                f"populations are read from it, beside {f.name}"
            )
    else:
        raise ValueError(
            f"{f}: not a valid geo instance: expected {COUNTY_FILE} or {ZCTA_FILE}"
        )


def island_links(
    units: gpd.GeoDataFrame,
    adjacency: geo.Adjacency,
    *,
    group: str | None = "state",
) -> list[tuple[Hashable, Hashable, float]]:
    """Links that join every detached piece of ``adjacency`` to the rest.

    Parameters
    ----------
    units
        The units (for their representative points and ``group`` column).
    adjacency
        Their graph (e.g. :func:`terrakit.data.geo.adjacency`).
    group
        Column whose pieces are joined among themselves first (``"state"``;
        ``None``: skip that step).

    Returns
    -------
    list of (unit_a, unit_b, km)
        Each link once: the closest pair of units (great-circle km between
        representative points) between two pieces.  Step 1 joins the pieces
        of each group by a minimum spanning tree; step 2 links each block
        still detached to the nearest unit of the largest piece.
    """
    from scipy.sparse.csgraph import connected_components

    ids = pd.Index(adjacency.ids)
    units = units.reindex(ids)
    lon, lat = geo.lonlat(units)
    m = adjacency.matrix
    links: list[tuple[Hashable, Hashable, float]] = []

    def closest(a: np.ndarray, b: np.ndarray) -> tuple[int, int, float]:
        d = geo.haversine_matrix(lon[a], lat[a], lon[b], lat[b])
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        return int(a[i]), int(b[j]), float(d[i, j])

    def add(i: int, j: int, km: float) -> None:
        nonlocal m
        links.append((ids[i], ids[j], km))
        m = m.tolil()
        m[i, j] = 1
        m[j, i] = 1
        m = m.tocsr()

    if group is not None:
        keys = units[group].to_numpy()
        for key in pd.unique(keys):
            members = np.flatnonzero(keys == key)
            while True:
                sub = m[members][:, members]
                nc, lab = connected_components(sub, directed=False)
                if nc <= 1:
                    break
                # Prim-like: join the piece of the first member to its nearest
                best = min(
                    (
                        closest(members[lab == 0], members[lab == c])
                        for c in range(1, nc)
                    ),
                    key=lambda t: t[2],
                )
                add(*best)
    nc, lab = connected_components(m, directed=False)
    if nc > 1:
        main = int(np.argmax(np.bincount(lab)))
        core = np.flatnonzero(lab == main)
        for c in range(nc):
            if c != main:
                add(*closest(np.flatnonzero(lab == c), core))
    return links


def unit_adjacency(
    units: gpd.GeoDataFrame, *, link_islands: bool = True
) -> tuple[geo.Adjacency, list[tuple[Hashable, Hashable, float]]]:
    """Queen adjacency (polygons) or Voronoi adjacency (points), islands linked.

    Returns
    -------
    (Adjacency, links)
        The graph with the :func:`island_links` added (``kind`` ends in
        ``"+links"`` when there were any) and the links themselves.
    """
    adj = geo.adjacency(units, warn=False)
    if not link_islands:
        return adj, []
    group = "state" if "state" in units.columns else None
    links = island_links(units, adj, group=group)
    return adj.with_links([(a, b) for a, b, _ in links]), links


def candidate_centers(
    units: gpd.GeoDataFrame, n_candidates: int, *, seed: int = 0
) -> pd.Index:
    """Candidate center units: the heaviest unit of each of ``n_candidates`` cells.

    A population-weighted k-means (Lloyd, k-means++ start with ``seed``,
    20 rounds) on the projected points groups the units into
    ``n_candidates`` clusters; each cluster offers its most populous unit.
    Candidates therefore follow the population, and every populated region
    has some.

    Returns
    -------
    pandas.Index
        Unit ids, sorted.
    """
    rng = np.random.default_rng(seed)
    pts = units.geometry.to_crs(geo.projected_crs(units))
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()]) / 1000.0
    w = units["population"].to_numpy(dtype=float)
    n = len(xy)
    c = min(int(n_candidates), n)
    centers = np.empty((c, 2))
    centers[0] = xy[rng.choice(n, p=w / w.sum())]
    d2 = ((xy - centers[0]) ** 2).sum(axis=1)
    for t in range(1, c):
        p = w * d2
        centers[t] = xy[rng.choice(n, p=p / p.sum())]
        d2 = np.minimum(d2, ((xy - centers[t]) ** 2).sum(axis=1))
    from scipy.spatial import cKDTree

    for _ in range(20):
        _, lab = cKDTree(centers).query(xy)
        ws = np.bincount(lab, weights=w, minlength=c)
        sx = np.bincount(lab, weights=w * xy[:, 0], minlength=c)
        sy = np.bincount(lab, weights=w * xy[:, 1], minlength=c)
        ok = ws > 0
        centers[ok, 0] = sx[ok] / ws[ok]
        centers[ok, 1] = sy[ok] / ws[ok]
    _, lab = cKDTree(centers).query(xy)
    order = np.lexsort((-w, lab))
    first = order[np.r_[True, lab[order][1:] != lab[order][:-1]]]
    return pd.Index(sorted(units.index[first]), name=units.index.name)


# -- benchmark family -----------------------------------------------------------
_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "counties": {"n_territories": 100, "contiguity": True, "n_candidates": None},
    "zctas": {"n_territories": 300, "contiguity": False, "n_candidates": 2000},
}


def solve_file(
    path: str | Path,
    *,
    time_limit: float = 120.0,
    seed: int = 0,
    n_territories: int | None = None,
    tolerance: float = 0.03,
    contiguity: bool | None = None,
    region: Region = "states",
    n_candidates: int | None = None,
    split: Literal["oversized", "blocking", "none"] = "oversized",
    **kw: Any,
) -> dict[str, Any]:
    """Design national territories on one geo file (the ``"geo"`` family).

    Parameters
    ----------
    path
        ``us_counties_fips.geojson`` or ``zcta_2010_pop_area_centroid.csv``.
    time_limit
        Wall-clock seconds for the whole call: :func:`terrakit.design.align`
        gets 98 % of it less what reading, adjacency and splitting took (at
        least a tenth).
    seed
        Passed to :func:`terrakit.design.align`.
    n_territories, contiguity, n_candidates
        Defaults: counties 100, contiguous, every county a candidate; ZCTAs
        300, not contiguous, 2,000 candidates (:func:`candidate_centers`).
    tolerance
        ``±τ`` population band.
    region
        See :func:`us_counties`.
    split
        ``"oversized"``: split units above the upper band into the fewest
        equal parts (:func:`terrakit.design.split_oversized`);
        ``"blocking"``: also split the units that no contiguous territory can
        hold within the band, into parts of at most ``2τ · mean``
        (:func:`terrakit.design.oversized.split_blocking`; needs contiguity);
        ``"none"``: let :class:`~terrakit.exceptions.SpecificationError`
        through.
    **kw
        Passed to :func:`terrakit.design.align`.

    Returns
    -------
    dict
        ``instance, value, lower_bound, status, solution`` (``{"territory":
        {unit_id: territory}, "centers": {territory: unit_id}}``, parts named
        ``"<fips>#<p>"``; ``value`` is the engine's objective, Σ population ·
        km² from each unit to its territory's center), ``units``,
        ``territories``, ``max_deviation``, ``contiguous``, ``split_units``,
        ``links``, ``build_seconds``, ``notes`` (the engine's).  ``status`` is
        the engine's for a plan within the band and ``"no_solution"`` for its
        closest plan that breaks it (the engine's ``"infeasible"``: it raises
        when it proves that no plan exists, so this is no proof); ``feasible``
        tells which.
    """
    import time

    from terrakit.design import align, split_oversized
    from terrakit.design.oversized import split_blocking, stuck_units

    t_start = time.perf_counter()
    path = Path(path)
    if path.name.endswith(".geojson"):
        kind = "counties"
        units = us_counties(path, region=region)
    elif path.name.endswith(".csv"):
        kind = "zctas"
        units = us_zctas(path, region=region)
    else:
        raise ValueError(
            f"{path}: not a valid geo instance: expected {COUNTY_FILE} or {ZCTA_FILE}"
        )
    d = _DEFAULTS[kind]
    k = int(n_territories or d["n_territories"])
    contig = bool(d["contiguity"] if contiguity is None else contiguity)
    n_cand = n_candidates if n_candidates is not None else d["n_candidates"]
    t0 = time.perf_counter()
    adj, links = unit_adjacency(units) if contig else (None, [])
    design_units, parts, n_stuck = units, None, None
    if split == "blocking":
        if adj is None:
            raise ValueError('split="blocking" needs contiguity')
        s, _ = split_blocking(units, "population", k, tolerance, adjacency=adj)
        design_units, adj, parts = s.units, s.adjacency, s
    elif split == "oversized":
        s = split_oversized(units, "population", k, tolerance, adjacency=adj)
        design_units, adj, parts = s.units, s.adjacency, s
    elif split != "none":
        raise ValueError(f"split must be oversized, blocking or none, got {split!r}")
    if adj is not None:
        mean = float(units["population"].sum()) / k
        n_stuck = len(
            stuck_units(
                design_units["population"],
                adj,
                (1 - tolerance) * mean,
                (1 + tolerance) * mean,
            )
        )
    cand = None
    if n_cand is not None and n_cand < len(design_units):
        cand = candidate_centers(design_units, n_cand, seed=seed)
    build = time.perf_counter() - t0
    # the budget is the whole call's: reading, adjacency and splitting count
    # against it (the targets are wall-clock seconds per instance), and 2 %
    # stay for building the result
    left = 0.98 * time_limit - (time.perf_counter() - t_start)
    res = align(
        design_units,
        n_territories=k,
        balance={"population": tolerance},
        contiguity=contig,
        time_limit=max(left, 0.1 * time_limit),
        seed=seed,
        adjacency=adj,
        candidates=cand,
        **kw,
    )
    assign = res.alignment.assignment
    groups = parts.groups(assign) if parts is not None else None
    return {
        "instance": f"us_{kind}_{region}_k{k}"
        + ("" if contig == d["contiguity"] else ("_contig" if contig else "_free"))
        + ("" if split == "oversized" else f"_{split}"),
        "value": res.objective,
        "lower_bound": res.lower_bound,
        "gap": res.gap,
        # align's "infeasible" is the closest plan, not a proof (a proof raises)
        "status": "no_solution" if res.status == "infeasible" else res.status,
        "feasible": res.status != "infeasible",
        "solution": {
            "territory": {str(u): str(t) for u, t in assign.items()},
            # the unit each territory's cost is measured to (value: Σ pop · km²)
            "centers": {str(t): str(c) for t, c in res.centers.items()},
        },
        "units": len(design_units),
        "territories": int(assign.nunique()),
        "max_deviation": res.max_deviation,
        "contiguous": _contiguous(assign, adj) if adj is not None else None,
        "split_units": 0 if parts is None else parts.n_split,
        "stuck_units": n_stuck,
        "multi_rep_groups": 0 if groups is None else len(groups),
        "multi_rep_reps": 0 if groups is None else int(groups["reps"].sum()),
        "links": len(links),
        "build_seconds": build,
        "solve_seconds": res.seconds,
        "method": res.method,
        "notes": [str(x) for x in res.info.get("notes", [])],
    }


def _contiguous(assign: pd.Series, adj: geo.Adjacency) -> bool:
    """Whether every territory is one connected piece of ``adj``."""
    from scipy.sparse.csgraph import connected_components

    m = adj.subgraph(assign.index).matrix
    lab = assign.to_numpy()
    for t in pd.unique(lab):
        idx = np.flatnonzero(lab == t)
        if connected_components(m[idx][:, idx], directed=False)[0] > 1:
            return False
    return True

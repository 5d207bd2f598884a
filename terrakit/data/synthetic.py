"""Synthetic territory studies of any size, for scale tests and teaching.

:func:`synthetic_region` draws "postal areas" (Voronoi cells) over a clustered
population — Gaussian "cities" on a rural background — and fills them with
accounts, reps and a nearest-rep current alignment.  It is vectorised and
builds 100,000 units in seconds.  :func:`toy_grid` makes tiny square grids
whose numbers can be checked by hand.

Everything random comes from ``numpy.random.default_rng(seed)``: the same
arguments give the same study (:meth:`~terrakit.data.Study.equals`), provenance
included: the alignment's ``created`` is the fixed date of this generator
version and its ``versions`` are those of the libraries the generator uses,
whatever else the session has imported.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree

from terrakit.data.alignment import Alignment, make_provenance
from terrakit.data.samples import _INDUSTRIES  # one list for sample and synthetic
from terrakit.data.study import Study
from terrakit.exceptions import TerrakitWarning

__all__ = ["synthetic_region", "toy_grid"]

# share, calls/year (low, high), call minutes (choices), median annual sales
_SEGMENTS = {
    "A": (0.10, (24, 36), (45, 60), 300_000.0),
    "B": (0.30, (12, 12), (20, 30), 60_000.0),
    "C": (0.60, (4, 6), (15, 20), 12_000.0),
}
# Fixed "created" stamp of the generated alignments' provenance (the date this
# generator version was written), so that equal arguments give equal studies.
_GENERATOR_DATE = "2026-11-23T00:00:00+00:00"
# The libraries the generators compute with; their versions (and only theirs)
# are recorded in the provenance, whatever else the session has imported.
_USED_LIBRARIES = ("numpy", "pandas", "scipy", "geopandas", "shapely", "pyproj")
# ADBUDG/Hill response of monthly sales to monthly calls (as in the samples)
_RESPONSE = {"A": (0.50, 2.0, 1.5), "B": (0.60, 1.0, 1.5), "C": (0.70, 0.6, 1.2)}


def synthetic_region(
    n_units: int = 1000,
    n_accounts: int | None = None,
    n_reps: int = 10,
    seed: int = 0,
    *,
    bbox: tuple[float, float, float, float] = (-84.5, 33.0, -80.5, 36.0),
    clusters: int = 8,
    rural_share: float | None = None,
    history_months: int = 0,
    capacity_hours: float = 1600.0,
) -> Study:
    """A synthetic study: Voronoi postal areas over a clustered population.

    Parameters
    ----------
    n_units
        Number of units (postal areas), at least ``n_reps`` and 2.
    n_accounts
        Number of accounts; default ``5 * n_units``.
    n_reps
        Number of reps (territories of the current alignment), at least 1.
    seed
        Seed of every random draw.
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` of the region (degrees).
    clusters
        Number of Gaussian "cities"; their sizes follow Zipf's law.
    rural_share
        Share of unit seeds drawn uniformly over the region (the rest come
        from the cities), in [0, 1]; default 0.25, and 1.0 when
        ``clusters=0`` (with no city every unit is rural: another value
        warns and is recorded as 1.0).
    history_months
        Months of account history ending 2025-12; 0 (default) for none.  With
        12 or more, the accounts' 2025 months sum to their ``annual_sales``
        (fewer keep the last months of that same year).
    capacity_hours
        Yearly capacity of every rep (FTE 1.0), a number > 0.

    Returns
    -------
    Study
        Units in EPSG:4326 with ``population``, ``income``, ``accounts``,
        ``workload``, ``sales``, ``potential``; accounts, reps, optional
        history and the alignment ``"current"`` (territory ids = rep ids).

    Raises
    ------
    ValueError
        For sizes, shares, capacities or a bounding box that make no sense.

    Warns
    -----
    TerrakitWarning
        For ``clusters=0`` with a ``rural_share`` below 1 (it cannot apply).

    Notes
    -----
    Unit seeds are drawn from the population density, a mixture of a uniform
    rural part and ``clusters`` isotropic Gaussians with Zipf weights
    ``1/r``; their Voronoi cells, clipped to the region, have similar
    populations, small in cities and large in the country, like ZIP areas.
    ``population = 8000 · LogNormal(0, 0.4)`` (× 0.6 for rural seeds);
    ``income = 28000 · (1 + 0.3 · city) · LogNormal(0, 0.15)``.  Accounts go
    to units in proportion to population, at points uniform inside the unit.
    Reps live in the units nearest to the centres of a workload-weighted
    k-means of the units; every unit goes to the nearest rep home.
    ``potential = κ · population · (income / mean)^1.3 · LogNormal(0, 0.2)``
    with κ making total potential 2.5 × total sales.  Geometry is built in a
    Lambert azimuthal equal-area projection centred on ``bbox`` and returned
    in EPSG:4326.

    Examples
    --------
    >>> study = synthetic_region(n_units=200, n_accounts=600, n_reps=4, seed=1)
    >>> len(study.units), len(study.accounts), len(study.reps)
    (200, 600, 4)
    >>> sorted(study.alignments["current"].territories)
    ['R01', 'R02', 'R03', 'R04']
    """
    n_units = _whole("n_units", n_units, minimum=2)
    n_reps = _whole("n_reps", n_reps, minimum=1, maximum=n_units)
    seed = _whole("seed", seed, minimum=0)
    clusters = _whole("clusters", clusters, minimum=0)
    history_months = _whole("history_months", history_months, minimum=0)
    n_accounts = (
        5 * n_units
        if n_accounts is None
        else _whole("n_accounts", n_accounts, minimum=0)
    )
    bbox = _bbox(bbox)
    if seed < 0:
        raise ValueError(f"synthetic_region: seed must be >= 0, got {seed}")
    given_share = rural_share is not None
    rural_share = _number(
        "rural_share", 0.25 if rural_share is None else rural_share, "in [0, 1]"
    )
    capacity_hours = _number("capacity_hours", capacity_hours, "> 0")
    _check_args(
        n_units,
        n_accounts,
        n_reps,
        bbox,
        clusters,
        rural_share,
        history_months,
        capacity_hours,
    )
    if clusters == 0:
        if given_share and rural_share != 1.0:
            warnings.warn(
                f"synthetic_region: clusters=0 draws no city, so every unit is "
                f"rural; rural_share={rural_share} cannot apply and is recorded "
                "as 1.0. Pass clusters >= 1 for cities, or leave rural_share out",
                TerrakitWarning,
                stacklevel=2,
            )
        rural_share = 1.0
    rng = np.random.default_rng(seed)
    min_lon, min_lat, max_lon, max_lat = bbox
    lon0, lat0 = (min_lon + max_lon) / 2.0, (min_lat + max_lat) / 2.0
    metric = pyproj.CRS.from_proj4(
        f"+proj=laea +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs"
    )
    fwd = pyproj.Transformer.from_crs("EPSG:4326", metric, always_xy=True)
    inv = pyproj.Transformer.from_crs(metric, "EPSG:4326", always_xy=True)
    region_ll = shapely.segmentize(shapely.box(*bbox), 0.05)
    region = _transform(region_ll, fwd)
    shapely.prepare(region)

    # -- unit seeds from the population density ----------------------------------
    scale = float(np.sqrt(region.area))
    centres = _uniform_in(region, clusters, rng)
    zipf = 1.0 / np.arange(1, clusters + 1)
    zipf /= max(zipf.sum(), 1.0)
    spread = 0.06 * scale * np.sqrt(zipf / zipf.max()) if clusters else zipf
    n_rural = int(rng.binomial(n_units, rural_share)) if clusters else n_units
    rural_xy = _uniform_in(region, n_rural, rng)
    city_of = (
        rng.choice(clusters, n_units - n_rural, p=zipf)
        if clusters
        else (np.empty(0, np.int64))
    )
    city_xy = _gaussian_in(region, centres, spread, city_of, rng)
    seeds = np.vstack([rural_xy, city_xy])
    is_city = np.r_[np.zeros(n_rural, bool), np.ones(n_units - n_rural, bool)]
    order = rng.permutation(n_units)
    seeds, is_city = seeds[order], is_city[order]
    city_id = np.r_[np.full(n_rural, -1), city_of][order]

    # -- Voronoi cells clipped to the region, back to lon/lat ---------------------
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(seeds), extend_to=region, ordered=True
        )
    )
    if len(cells) != n_units:  # duplicate seeds collapse; vanishingly rare
        raise RuntimeError("duplicate unit seeds; try another seed")
    cells = shapely.intersection(cells, region)
    geoms = _transform(cells, inv)

    # -- unit attributes -------------------------------------------------------------
    population = np.round(
        8000.0 * np.exp(rng.normal(0.0, 0.4, n_units)) * np.where(is_city, 1.0, 0.6)
    ).astype(np.int64)
    income = np.round(
        28000.0 * (1.0 + 0.3 * is_city) * np.exp(rng.normal(0.0, 0.15, n_units)), 0
    )
    width = max(5, len(str(n_units)))
    unit_ids = np.array(
        [f"P{i:0{width}d}" for i in range(1, n_units + 1)], dtype=object
    )

    # -- accounts --------------------------------------------------------------------
    p = population / population.sum()
    uidx = np.sort(rng.choice(n_units, n_accounts, p=p))
    acc = _accounts(uidx, geoms, rng)

    # -- reps and the current alignment --------------------------------------------
    hours = acc["calls_per_year"] * acc["call_minutes"] / 60.0
    workload = np.bincount(uidx, weights=hours, minlength=n_units)
    home_idx = _rep_homes(seeds, workload + 1e-9, n_reps, centres, zipf, rng)
    tree = cKDTree(seeds[home_idx])
    _, lab = tree.query(seeds)
    lab = np.asarray(lab, dtype=np.int64)
    lab[home_idx] = np.arange(n_reps)  # a rep always covers its home unit
    rwidth = max(2, len(str(n_reps)))
    rep_ids = np.array([f"R{i:0{rwidth}d}" for i in range(1, n_reps + 1)], dtype=object)
    home_pt = shapely.point_on_surface(geoms[home_idx])
    reps = pd.DataFrame(
        {
            "name": [f"Rep {i}" for i in range(1, n_reps + 1)],
            "home_lon": shapely.get_x(home_pt),
            "home_lat": shapely.get_y(home_pt),
            "home_unit": unit_ids[home_idx],
            "capacity_hours": np.full(n_reps, capacity_hours),
            "fte": np.ones(n_reps),
        },
        index=pd.Index(rep_ids, name="rep_id"),
    )

    acc_width = max(6, len(str(n_accounts)))
    accounts = pd.DataFrame(
        {
            "unit_id": unit_ids[uidx],
            "lon": acc["lon"],
            "lat": acc["lat"],
            "segment": acc["segment"],
            "industry": acc["industry"],
            "employees": acc["employees"],
            "annual_sales": acc["annual_sales"],
            "calls_per_year": acc["calls_per_year"],
            "call_minutes": acc["call_minutes"],
            "rep_id": rep_ids[lab[uidx]],
        },
        index=pd.Index(
            np.array(
                [f"A{i:0{acc_width}d}" for i in range(1, n_accounts + 1)], dtype=object
            ),
            name="account_id",
        ),
    )

    sales = np.round(
        np.bincount(uidx, weights=acc["annual_sales"], minlength=n_units), 2
    )
    raw = (
        population
        * (income / income.mean()) ** 1.3
        * np.exp(rng.normal(0.0, 0.2, n_units))
    )
    potential = np.round(raw / raw.sum() * 2.5 * max(sales.sum(), 1.0), 0)
    units = gpd.GeoDataFrame(
        {
            "population": population,
            "income": income,
            "city": city_id.astype(np.int64),
            "accounts": np.bincount(uidx, minlength=n_units).astype(np.int64),
            "workload": np.round(workload, 2),
            "sales": sales,
            "potential": potential,
        },
        geometry=geoms,
        crs="EPSG:4326",
        index=pd.Index(unit_ids, name="unit_id"),
    )

    history = None
    if history_months:
        history = _history(accounts, history_months, rng)
    config = {
        "n_units": n_units,
        "n_accounts": n_accounts,
        "n_reps": n_reps,
        "bbox": list(bbox),
        "clusters": clusters,
        "rural_share": rural_share,
        "history_months": history_months,
        "capacity_hours": capacity_hours,
    }
    current = Alignment.from_mapping(
        pd.Series(rep_ids[lab], index=units.index),
        name="current",
        provenance=_provenance(seed, config),
    )
    return Study(
        units,
        accounts=accounts,
        reps=reps,
        history=history,
        alignments={"current": current},
        metadata={
            "name": "synthetic_region",
            "seed": seed,
            "generator": "terrakit.data.synthetic.synthetic_region",
            "config": config,
        },
    )


def toy_grid(
    n_rows: int = 3,
    n_cols: int = 3,
    n_reps: int = 2,
    seed: int = 0,
) -> Study:
    """A tiny grid of 10 km squares (UTM 17N) with accounts, reps and history.

    Units ``u1`` … ``u{n}`` are numbered row by row from the south-west
    corner (origin 500 km E, 3,700 km N).  Every unit holds 1–3 accounts;
    reps live at the centres of ``n_reps`` distinct random cells and the
    ``"current"`` alignment gives each cell to the nearest home (ties to the
    lower rep id).  History: 12 months of 2025.

    Parameters
    ----------
    n_rows, n_cols
        Grid size, whole numbers >= 1.
    n_reps
        Number of reps, from 1 to ``n_rows * n_cols``.
    seed
        Seed of the random draws, a whole number >= 0 (``None`` is refused:
        the grid would differ on every call).

    Raises
    ------
    ValueError
        For an argument that is not a whole number (naming it) or out of range.

    Returns
    -------
    Study

    Examples
    --------
    >>> s = toy_grid(2, 3, n_reps=2, seed=0)
    >>> len(s.units), s.alignments["current"].n_territories
    (6, 2)
    """
    # the checks synthetic_region makes: whole numbers (2.0 passes), named
    n_rows = _whole("n_rows", n_rows, minimum=1, who="toy_grid")
    n_cols = _whole("n_cols", n_cols, minimum=1, who="toy_grid")
    n_reps = _whole(
        "n_reps", n_reps, minimum=1, who="toy_grid", maximum=n_rows * n_cols
    )
    seed = _whole("seed", seed, minimum=0, who="toy_grid")
    n = n_rows * n_cols
    if n_rows < 1 or n_cols < 1 or not 1 <= n_reps <= n:
        raise ValueError(
            f"toy_grid needs n_rows, n_cols >= 1 and 1 <= n_reps <= n_rows*n_cols; "
            f"got {n_rows}×{n_cols} with n_reps={n_reps}"
        )
    if seed < 0:
        raise ValueError(f"toy_grid: seed must be >= 0, got {seed}")
    rng = np.random.default_rng(seed)
    x0, y0, s = 500_000.0, 3_700_000.0, 10_000.0
    col = np.tile(np.arange(n_cols), n_rows)
    row = np.repeat(np.arange(n_rows), n_cols)
    geoms = shapely.box(
        x0 + col * s, y0 + row * s, x0 + (col + 1) * s, y0 + (row + 1) * s
    )
    ids = np.array([f"u{k}" for k in range(1, n + 1)], dtype=object)
    cx, cy = x0 + (col + 0.5) * s, y0 + (row + 0.5) * s
    k = rng.integers(1, 4, n)
    uidx = np.repeat(np.arange(n), k)
    m = len(uidx)
    seg = rng.choice(np.array(["A", "B", "C"], dtype=object), m, p=[0.2, 0.3, 0.5])
    cpy = np.select([seg == "A", seg == "B"], [24, 12], 6).astype(np.int64)
    minutes = np.select([seg == "A", seg == "B"], [60, 30], 20).astype(np.int64)
    annual = np.round(
        np.select([seg == "A", seg == "B"], [50_000.0, 20_000.0], 5_000.0)
        * np.exp(rng.normal(0, 0.3, m)),
        2,
    )
    ax = cx[uidx] + rng.uniform(-0.45, 0.45, m) * s
    ay = cy[uidx] + rng.uniform(-0.45, 0.45, m) * s
    to_ll = pyproj.Transformer.from_crs("EPSG:32617", "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(ax, ay)
    homes = np.sort(rng.choice(n, n_reps, replace=False))
    d2 = (cx[:, None] - cx[homes][None, :]) ** 2 + (
        cy[:, None] - cy[homes][None, :]
    ) ** 2
    lab = np.argmin(d2, axis=1)
    rep_ids = np.array([f"R{i}" for i in range(1, n_reps + 1)], dtype=object)
    hlon, hlat = to_ll.transform(cx[homes], cy[homes])
    hours = cpy * minutes / 60.0
    units = gpd.GeoDataFrame(
        {
            "population": rng.integers(1000, 5000, n).astype(np.int64),
            "accounts": k.astype(np.int64),
            "workload": np.bincount(uidx, weights=hours, minlength=n),
            "sales": np.round(np.bincount(uidx, weights=annual, minlength=n), 2),
            "potential": np.round(rng.uniform(50_000, 150_000, n), 0),
        },
        geometry=geoms,
        crs="EPSG:32617",
        index=pd.Index(ids, name="unit_id"),
    )
    accounts = pd.DataFrame(
        {
            "unit_id": ids[uidx],
            "lon": lon,
            "lat": lat,
            "segment": seg,
            "industry": rng.choice(np.array(_INDUSTRIES[:4], dtype=object), m),
            "annual_sales": annual,
            "calls_per_year": cpy,
            "call_minutes": minutes,
            "rep_id": rep_ids[lab[uidx]],
        },
        index=pd.Index([f"a{i}" for i in range(1, m + 1)], name="account_id"),
    )
    reps = pd.DataFrame(
        {
            "name": [f"Rep {i}" for i in range(1, n_reps + 1)],
            "home_lon": hlon,
            "home_lat": hlat,
            "home_unit": ids[homes],
            "capacity_hours": np.full(n_reps, 1600.0),
            "fte": np.ones(n_reps),
        },
        index=pd.Index(rep_ids, name="rep_id"),
    )
    history = _history(accounts, 12, rng)
    current = Alignment.from_mapping(
        pd.Series(rep_ids[lab], index=units.index),
        name="current",
        provenance=_provenance(
            seed, {"n_rows": n_rows, "n_cols": n_cols, "n_reps": n_reps}
        ),
    )
    return Study(
        units,
        accounts=accounts,
        reps=reps,
        history=history,
        alignments={"current": current},
        metadata={"name": "toy_grid", "seed": seed},
    )


# -- helpers ------------------------------------------------------------------------
def _provenance(seed: int, config: dict[str, Any]) -> dict[str, Any]:
    """The provenance of a generated alignment: equal arguments, equal record.

    ``created`` is the fixed date of this generator version and ``versions``
    lists only the libraries the generator computes with (all imported by
    this module), not whatever else the session happens to have imported.
    """
    from terrakit._versions import library_versions

    used = library_versions()
    return make_provenance(
        "synthetic/nearest-rep",
        seed=seed,
        config=config,
        created=_GENERATOR_DATE,
        versions={k: v for k, v in used.items() if k in _USED_LIBRARIES},
    )


def _whole(
    name: str,
    value: Any,
    minimum: int,
    who: str = "synthetic_region",
    maximum: float = math.inf,
) -> int:
    """``value`` as an int: ints and whole-number floats (``2e2``) pass.

    A fractional number gets the nearest whole numbers >= ``minimum`` as the
    suggested fix (the range itself is checked by :func:`_check_args`, or by
    the caller); ``who`` names the generator in the message.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{who}: {name} must be a whole number, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    hint = ""
    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        if float(value).is_integer():
            return int(value)
        near = [
            c for c in (math.floor(value), math.ceil(value)) if minimum <= c <= maximum
        ]
        hint = (
            "; pass " + " or ".join(f"{name}={c}" for c in near)
            if near
            else f"; it must be at least {minimum}"
            + (f" and at most {maximum:g}" if math.isfinite(maximum) else "")
        )
    raise ValueError(f"{who}: {name} must be a whole number, got {value!r}{hint}")


def _number(name: str, value: Any, wanted: str) -> float:
    """``value`` as a finite float, or a ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ValueError(
            f"synthetic_region: {name} must be a number {wanted}, got {value!r} "
            f"({type(value).__name__})"
        )
    if not np.isfinite(value):
        raise ValueError(
            f"synthetic_region: {name} must be a finite number {wanted}, got {value!r}"
        )
    return float(value)


def _bbox(bbox: Any) -> tuple[float, float, float, float]:
    """``bbox`` as 4 floats, or a ValueError saying what it should be."""
    msg = (
        "synthetic_region: bbox must be 4 numbers (min_lon, min_lat, max_lon, "
        f"max_lat) in degrees, got {bbox!r}"
    )
    try:
        values = [float(v) for v in bbox]
    except (TypeError, ValueError):
        raise ValueError(msg) from None
    if len(values) != 4 or any(isinstance(v, (str, bytes)) for v in bbox):
        raise ValueError(msg)
    x0, y0, x1, y1 = values
    return (x0, y0, x1, y1)


def _check_args(
    n_units: int,
    n_accounts: int,
    n_reps: int,
    bbox: tuple[float, float, float, float],
    clusters: int,
    rural_share: float,
    history_months: int,
    capacity_hours: float,
) -> None:
    problems = []
    if n_units < 2:
        problems.append(f"n_units must be at least 2, got {n_units}")
    if n_reps < 1 or n_reps > n_units:
        problems.append(f"n_reps must be in [1, n_units={n_units}], got {n_reps}")
    if n_accounts < 0:
        problems.append(f"n_accounts must be >= 0, got {n_accounts}")
    if clusters < 0:
        problems.append(f"clusters must be >= 0, got {clusters}")
    if not 0.0 <= rural_share <= 1.0:
        problems.append(f"rural_share must be in [0, 1], got {rural_share}")
    if history_months < 0:
        problems.append(f"history_months must be >= 0, got {history_months}")
    if not capacity_hours > 0:
        problems.append(
            f"capacity_hours (every rep's yearly hours) must be > 0, "
            f"got {capacity_hours:g}"
        )
    x0, y0, x1, y1 = bbox
    if not (
        -180 <= x0 < x1 <= 180
        and -90 < y0 < y1 < 90
        and MIN_BBOX_DEG <= x1 - x0 <= 40
        and MIN_BBOX_DEG <= y1 - y0 <= 40
    ):
        problems.append(
            f"bbox must be (min_lon, min_lat, max_lon, max_lat) in degrees with "
            f"min < max, at least {MIN_BBOX_DEG:g}° (about 10 m) and at most 40° "
            f"wide, got {bbox}"
        )
    if problems:
        raise ValueError("synthetic_region: " + "; ".join(problems))


def _transform(geom: Any, transformer: pyproj.Transformer) -> Any:
    def f(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, f)


#: The narrowest bbox side (degrees, about 10 m): in a box of 1e-8° the
#: units' polygons are too thin for the points drawn in them (the draws in
#: them never ended).
MIN_BBOX_DEG = 1e-4


def _uniform_in(region: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniform inside ``region`` (rejection in its bounding box)."""
    x0, y0, x1, y1 = region.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        m = max(16, int(1.3 * (n - len(out))))
        xy = np.column_stack([rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)])
        out = np.vstack([out, xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]])
    return out[:n]


def _gaussian_in(
    region: Any,
    centres: np.ndarray,
    spread: np.ndarray,
    which: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Points around ``centres[which]`` (isotropic normal), redrawn outside region."""
    out = np.empty((len(which), 2))
    todo = np.arange(len(which))
    while len(todo):
        c = which[todo]
        xy = centres[c] + rng.normal(size=(len(todo), 2)) * spread[c][:, None]
        ok = shapely.contains_xy(region, xy[:, 0], xy[:, 1])
        out[todo[ok]] = xy[ok]
        todo = todo[~ok]
    return out


def _points_in(
    geoms: np.ndarray, uidx: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One point uniform inside ``geoms[uidx[i]]`` for every i (vectorised)."""
    bounds = shapely.bounds(geoms)
    x = np.empty(len(uidx))
    y = np.empty(len(uidx))
    todo = np.arange(len(uidx))
    while len(todo):
        b = bounds[uidx[todo]]
        px = rng.uniform(b[:, 0], b[:, 2])
        py = rng.uniform(b[:, 1], b[:, 3])
        ok = shapely.contains_xy(geoms[uidx[todo]], px, py)
        x[todo[ok]], y[todo[ok]] = px[ok], py[ok]
        todo = todo[~ok]
    return x, y


def _accounts(
    uidx: np.ndarray, geoms: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    n = len(uidx)
    names = np.array(list(_SEGMENTS), dtype=object)
    seg = rng.choice(names, n, p=[v[0] for v in _SEGMENTS.values()])
    cpy = np.empty(n, np.int64)
    minutes = np.empty(n, np.int64)
    annual = np.empty(n)
    for s, (_, (lo, hi), mins, median) in _SEGMENTS.items():
        m = seg == s
        k = int(m.sum())
        cpy[m] = rng.integers(lo, hi + 1, k)
        minutes[m] = rng.choice(np.array(mins), k)
        annual[m] = median * np.exp(rng.normal(0.0, 0.6, k))
    employees = np.maximum(
        1, np.round(annual / 400.0 * np.exp(rng.normal(0.0, 0.3, n)))
    ).astype(np.int64)
    industry = rng.choice(np.array(_INDUSTRIES, dtype=object), n)
    lon, lat = _points_in(geoms, uidx, rng)
    return {
        "segment": seg,
        "calls_per_year": cpy,
        "call_minutes": minutes,
        "annual_sales": np.round(annual, 2),
        "employees": employees,
        "industry": industry,
        "lon": lon,
        "lat": lat,
    }


def _rep_homes(
    xy: np.ndarray,
    weight: np.ndarray,
    k: int,
    centres: np.ndarray,
    zipf: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Units nearest to the centres of a weighted k-means (biggest cities first)."""
    n_c = min(k, len(centres))
    start = centres[np.argsort(-zipf, kind="stable")[:n_c]]
    if k > n_c:
        extra = rng.choice(len(xy), k - n_c, replace=False, p=weight / weight.sum())
        start = np.vstack([start, xy[extra]])
    ctr = start.astype(float)
    for _ in range(8):
        _, lab = cKDTree(ctr).query(xy)
        w = np.bincount(lab, weights=weight, minlength=k)
        sx = np.bincount(lab, weights=weight * xy[:, 0], minlength=k)
        sy = np.bincount(lab, weights=weight * xy[:, 1], minlength=k)
        moved = w > 0
        ctr[moved] = np.column_stack([sx[moved] / w[moved], sy[moved] / w[moved]])
    tree = cKDTree(xy)
    homes = np.empty(k, np.int64)
    taken: set[int] = set()
    for j in range(k):  # distinct home units, nearest free unit to each centre
        _, cand = tree.query(ctr[j], k=min(len(xy), k + 1))
        for c in np.atleast_1d(cand):
            if int(c) not in taken:
                homes[j] = int(c)
                taken.add(int(c))
                break
    return homes


def _history(
    accounts: pd.DataFrame, months: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Monthly sales and calls ending 2025-12 (trend, season, ADBUDG response).

    The year 2025 is always simulated, also when fewer months are kept, and each
    account's level is set so that its 2025 sales sum to its ``annual_sales``
    (to the cent, before rounding each month): ``annual_sales`` is the 2025
    total, as in the southeast sample.  Within an account, sales follow the
    month's calls through the segment's response curve.
    """
    span = max(months, 12)
    periods = pd.period_range(end="2025-12", periods=span, freq="M")
    n = len(accounts)
    t = np.arange(span, dtype=float)
    season = 1.0 + 0.12 * np.cos(2 * np.pi * (periods.month.to_numpy() - 10) / 12)
    growth = rng.normal(0.04, 0.06, n)
    lam = accounts["calls_per_year"].to_numpy(float) / 12.0
    calls = rng.poisson(lam[:, None] * np.ones(span)[None, :])
    seg = accounts["segment"].to_numpy()
    c = np.select(
        [seg == "A", seg == "B"],
        [_RESPONSE["A"][0], _RESPONSE["B"][0]],
        _RESPONSE["C"][0],
    )
    k = np.select(
        [seg == "A", seg == "B"],
        [_RESPONSE["A"][1], _RESPONSE["B"][1]],
        _RESPONSE["C"][1],
    )
    h = np.select(
        [seg == "A", seg == "B"],
        [_RESPONSE["A"][2], _RESPONSE["B"][2]],
        _RESPONSE["C"][2],
    )
    xh = calls ** h[:, None]
    resp = c[:, None] + (1 - c[:, None]) * xh / (k[:, None] ** h[:, None] + xh)
    trend = (1.0 + growth[:, None]) ** ((t - t[-1])[None, :] / 12.0)
    shape = trend * season[None, :] * resp * np.exp(rng.normal(0.0, 0.15, (n, span)))
    level = accounts["annual_sales"].to_numpy(float) / shape[:, -12:].sum(axis=1)
    sales = (level[:, None] * shape)[:, span - months :]
    calls = calls[:, span - months :]
    periods = periods[span - months :]
    return pd.DataFrame(
        {
            "account_id": np.repeat(accounts.index.to_numpy(), months),
            "period": pd.Series(
                np.tile(periods.to_numpy(), n), dtype=pd.PeriodDtype("M")
            ),
            "sales": np.round(sales.ravel(), 2),
            "calls": calls.ravel().astype(np.int32),
        }
    )

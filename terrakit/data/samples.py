"""The "southeast" sample study: real GA and NC counties, synthetic sales.

:func:`load_sample` returns the study that ``data/samples/southeast/`` holds;
:func:`build_southeast` (run by ``scripts/build_samples.py`` / ``make samples``)
rebuilds those files deterministically from the seed.

What is real
------------
* **Geography**: Georgia's 159 counties (``libpysal/examples/georgia/G_utm.shp``;
  the shapefile has no ``.prj``: its coordinates are UTM zone 16N on NAD83,
  EPSG:26916, checked against the latitude/longitude columns shipped with it)
  and North Carolina's 100 counties (``libpysal/examples/sids2/sids2.shp``,
  longitude/latitude on NAD27, EPSG:4267).  Both are bundled with libpysal, so
  nothing is downloaded.  They are reprojected to EPSG:4326 with pinned
  transformations (NAD83 taken equal to WGS 84; NAD27 → WGS 84 by the EPSG:1173
  Helmert shift for the conterminous US), so the result does not depend on
  which PROJ grids a machine has.
* **Georgia population**: the 1990 census county population (``TotPop90``).
* **Unit ids**: 5-digit county FIPS codes as text (``"13121"`` = Fulton, GA).

What is a documented proxy
--------------------------
* **North Carolina population**: the libpysal file has births (1974–78 and
  1979–84) but no population, so ``population`` = (``BIR74`` + ``BIR79``)
  scaled so the state total equals North Carolina's 1990 census population
  (6,628,637), rounded to whole people.
* **Income** (per-capita, USD): Georgia
  ``13,600 · exp(0.025 · (PctBach − median) − 0.02 · (PctPov − median))``
  from the county's share of bachelor's degrees and of people in poverty;
  North Carolina ``12,900 · (density / median density)^0.08 · exp(ε)``,
  ε ~ N(0, 0.05²), from the population proxy per km².  These are indices with
  plausible levels, not census incomes.

What is synthetic (seeded)
--------------------------
* 6,000 accounts (segments A/B/C = 10/30/60 %), placed in counties in
  proportion to population^0.75 (segment A: population^0.75 × income), each
  state keeping its population share of every segment, so that no metro
  county outweighs a territory (the largest, Fulton, carries 0.70 × a
  territory's mean workload); points drawn uniformly (by area) inside the
  county polygon; 8 industries (agriculture weighted by rurality);
  ``calls_per_year`` A: 12–24, B: 6–8, C: 2–3; ``call_minutes`` A: 45/60,
  B: 20/30, C: 15/20.  About 32,000 calls a year: with travel, the workload
  build-up needs about 20 reps, the organisation's size.
* 36 months of history (2023-01 … 2025-12) per account, see Notes.
* ``potential`` per county = κ · population · (income / mean income)^1.3 ·
  exp(η), η ~ N(0, 0.2²), κ set so that total potential is 2.5 × total sales
  (40 % penetration overall).
* 20 reps ``R01`` … ``R20`` living in real cities (coordinates of the city
  centres, rounded to 0.001°), 1,600 capacity hours per FTE.
* The ``current`` alignment: every county goes to the rep of its state with
  the smallest ``d² − β_rep`` (a power diagram of the reps' homes, d the
  great-circle distance in km from the county's representative point), each
  rep keeps its home county, and detached pieces are merged into the
  neighbour they touch most.  The offsets β start at random values and are
  nudged towards balance only until the largest workload deviation from the
  mean falls to 50 % (the best of at most 200 rounds is kept), so the
  alignment is plausible and contiguous but visibly unbalanced, like real
  ones: against a mean of 867 hours a year, Greenville NC (``R19``) carries
  1,283 h (+48 %) and Augusta (``R06``) 441 h (−49 %).  Atlanta's four reps
  carry 1,013 h on average against 831 h for the other sixteen, but not
  each of them more: Lawrenceville (``R03``, 868 h) carries less than eight
  reps outside Atlanta.

Notes
-----
Monthly sales of account *i* in month *t* (t = 0 for 2023-01):

.. math::

    s_{it} = b_i \\,(1 + g_i)^{t/12}\\, S_{m(t)}\\,
             \\Bigl(c + (1 - c)\\,\\frac{x_{it}^h}{k^h + x_{it}^h}\\Bigr)\\,
             r_{it}\\, e^{\\sigma z_{it} - \\sigma^2/2}

with ``b_i`` the account's saturation level (log-normal by segment), ``g_i``
its yearly growth (region mean + N(0, 0.06²)), ``S_m = 1 + 0.12 cos(2π(m −
10)/12)`` the seasonality (peak in October), ``x_it`` the calls made that
month (Poisson with mean ``u_i · calls_per_year / 12``, ``u_i`` log-normal
call effort), ``(c, k, h)`` the per-segment ADBUDG/Hill response to calls
(no carry-over), ``r_it`` a ramp of 4 months for new accounts, and ``σ`` the
segment's noise.  New accounts (8 %) have no rows before their first month;
churned accounts (3 %) have rows with zero sales and calls from their churn
month on.  ``annual_sales`` is the account's 2025 total and the units'
``sales`` is the sum over their accounts.  The true parameters are in
:data:`TRUE_PARAMETERS` and in the study's ``metadata["true_parameters"]``.
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import json
import math
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from terrakit._runargs import is_count
from terrakit.exceptions import TerrakitWarning

__all__ = [
    "DEFAULT_SEED",
    "SAMPLES",
    "TRUE_PARAMETERS",
    "build_southeast",
    "load_sample",
    "sample_dir",
]

#: Seed of the committed sample files.
DEFAULT_SEED = 20261123
#: Names accepted by :func:`load_sample`.
SAMPLES = ("southeast",)
#: Version of the builder; bump it when the files' content changes.
BUILDER_VERSION = 2
# Fixed "created" stamp of the sample's alignment provenance (the date this
# builder version was written), so that rebuilding changes no value.
_BUILDER_DATE = "2026-11-23T00:00:00+00:00"
# The same date as GDAL's OGR_CURRENT_DATE (the GeoPackage's
# gpkg_contents.last_change), so that rebuilding changes no byte of units.gpkg.
_GPKG_DATE = (
    _dt.datetime.fromisoformat(_BUILDER_DATE)
    .astimezone(_dt.UTC)
    .strftime("%Y-%m-%dT%H:%M:%S.000Z")
)
# The libraries the build computes with; their versions at build time are
# recorded in metadata.json (``alignment.versions``).
_USED_LIBRARIES = (
    "numpy",
    "pandas",
    "scipy",
    "geopandas",
    "shapely",
    "pyproj",
    "libpysal",
)

_FIRST, _LAST = "2023-01", "2025-12"
_N_ACCOUNTS = 6000
_NC_POPULATION_1990 = 6_628_637
_CAPACITY_PER_FTE = 1600.0
_TARGET_MAX_DEVIATION = 0.50
# Accounts per county grow less than proportionally with population (weight =
# population ** exponent, each state keeping its population share), so no single
# metro county outweighs a territory (a ±5 % county-level band passes the check).
_DENSITY_EXPONENT = 0.75
# Monthly saturation sales per account relative to builder version 1, chosen so
# that 20 reps at 180,000 USD each and a 35 % margin are near the profitable size.
_SALES_SCALE = 0.2
_POTENTIAL_TO_SALES = 2.5
_FILES = (
    "units.gpkg",
    "accounts.csv",
    "reps.csv",
    "history.parquet",
    "alignment_current.csv",
    "metadata.json",
    "README.md",
)

#: The true parameters of the simulated sales (see the module Notes).
TRUE_PARAMETERS: dict[str, Any] = {
    "segments": {
        "A": {
            "share": 0.10,
            "calls_per_year": [12, 24],
            "call_minutes": [45, 60],
            "base_median": 30000.0 * _SALES_SCALE,
            "base_sigma": 0.6,
            "employees_median": 800.0,
            "noise_sigma": 0.10,
            "response": {"c": 0.50, "k": 2.0, "h": 1.5},
        },
        "B": {
            "share": 0.30,
            "calls_per_year": [6, 8],
            "call_minutes": [20, 30],
            "base_median": 6000.0 * _SALES_SCALE,
            "base_sigma": 0.6,
            "employees_median": 120.0,
            "noise_sigma": 0.15,
            "response": {"c": 0.60, "k": 1.0, "h": 1.5},
        },
        "C": {
            "share": 0.60,
            "calls_per_year": [2, 3],
            "call_minutes": [15, 20],
            "base_median": 1200.0 * _SALES_SCALE,
            "base_sigma": 0.6,
            "employees_median": 15.0,
            "noise_sigma": 0.22,
            "response": {"c": 0.70, "k": 0.6, "h": 1.2},
        },
    },
    "seasonality": {"amplitude": 0.12, "peak_month": 10},
    "growth": {
        "account_sigma": 0.06,
        "region_mean": {
            "GA-Metro": 0.07,
            "GA-North": 0.05,
            "GA-Central": 0.02,
            "GA-Southwest": 0.00,
            "GA-Southeast": 0.03,
            "NC-West": 0.02,
            "NC-Piedmont": 0.04,
            "NC-Central": 0.06,
            "NC-East": 0.01,
        },
    },
    "call_effort_sigma": 0.35,
    "new_accounts": {"share": 0.08, "first_month": [3, 30], "ramp_months": 4},
    "churned_accounts": {"share": 0.03, "churn_month": [12, 33]},
    "potential": {
        "income_elasticity": 1.3,
        "noise_sigma": 0.2,
        "potential_to_sales": _POTENTIAL_TO_SALES,
    },
}

_INDUSTRIES = (
    "Manufacturing",
    "Healthcare",
    "Retail",
    "Construction",
    "Agriculture",
    "Hospitality",
    "Professional Services",
    "Logistics",
)
# weight in a fully urban county, weight in a fully rural county
_INDUSTRY_WEIGHTS = np.array(
    [
        [0.16, 0.17],
        [0.16, 0.12],
        [0.18, 0.14],
        [0.12, 0.12],
        [0.01, 0.22],
        [0.10, 0.07],
        [0.18, 0.06],
        [0.09, 0.10],
    ]
)

# Georgia's county names by 3-digit county code (FIPS 13xxx); the libpysal file
# has codes but no names.
_GA_NAMES = dict(
    item.split(" ", 1)
    for item in (
        "001 Appling;003 Atkinson;005 Bacon;007 Baker;009 Baldwin;011 Banks;013 Barrow;"
        "015 Bartow;017 Ben Hill;019 Berrien;021 Bibb;023 Bleckley;025 Brantley;"
        "027 Brooks;029 Bryan;031 Bulloch;033 Burke;035 Butts;037 Calhoun;039 Camden;"
        "043 Candler;045 Carroll;047 Catoosa;049 Charlton;051 Chatham;"
        "053 Chattahoochee;055 Chattooga;057 Cherokee;059 Clarke;061 Clay;063 Clayton;"
        "065 Clinch;067 Cobb;069 Coffee;071 Colquitt;073 Columbia;075 Cook;077 Coweta;"
        "079 Crawford;081 Crisp;083 Dade;085 Dawson;087 Decatur;089 DeKalb;091 Dodge;"
        "093 Dooly;095 Dougherty;097 Douglas;099 Early;101 Echols;103 Effingham;"
        "105 Elbert;107 Emanuel;109 Evans;111 Fannin;113 Fayette;115 Floyd;"
        "117 Forsyth;119 Franklin;121 Fulton;123 Gilmer;125 Glascock;127 Glynn;"
        "129 Gordon;131 Grady;133 Greene;135 Gwinnett;137 Habersham;139 Hall;"
        "141 Hancock;143 Haralson;145 Harris;147 Hart;149 Heard;151 Henry;153 Houston;"
        "155 Irwin;157 Jackson;159 Jasper;161 Jeff Davis;163 Jefferson;165 Jenkins;"
        "167 Johnson;169 Jones;171 Lamar;173 Lanier;175 Laurens;177 Lee;179 Liberty;"
        "181 Lincoln;183 Long;185 Lowndes;187 Lumpkin;189 McDuffie;191 McIntosh;"
        "193 Macon;195 Madison;197 Marion;199 Meriwether;201 Miller;205 Mitchell;"
        "207 Monroe;209 Montgomery;211 Morgan;213 Murray;215 Muscogee;217 Newton;"
        "219 Oconee;221 Oglethorpe;223 Paulding;225 Peach;227 Pickens;229 Pierce;"
        "231 Pike;233 Polk;235 Pulaski;237 Putnam;239 Quitman;241 Rabun;243 Randolph;"
        "245 Richmond;247 Rockdale;249 Schley;251 Screven;253 Seminole;255 Spalding;"
        "257 Stephens;259 Stewart;261 Sumter;263 Talbot;265 Taliaferro;267 Tattnall;"
        "269 Taylor;271 Telfair;273 Terrell;275 Thomas;277 Tift;279 Toombs;281 Towns;"
        "283 Treutlen;285 Troup;287 Turner;289 Twiggs;291 Union;293 Upson;295 Walker;"
        "297 Walton;299 Ware;301 Warren;303 Washington;305 Wayne;307 Webster;"
        "309 Wheeler;311 White;313 Whitfield;315 Wilcox;317 Wilkes;319 Wilkinson;"
        "321 Worth"
    ).split(";")
)

# Atlanta metro counties (core of the 1990s Atlanta metropolitan area).
_GA_METRO = frozenset(
    {
        "13013",
        "13015",
        "13045",
        "13057",
        "13063",
        "13067",
        "13077",
        "13089",
        "13097",
        "13113",
        "13117",
        "13121",
        "13135",
        "13151",
        "13217",
        "13223",
        "13247",
        "13255",
        "13297",
    }
)

# rep id, name, base city, state, lon, lat (city centre), fte, skills
_REPS = (
    (
        "R01",
        "Dana Whitfield",
        "Atlanta",
        "GA",
        -84.388,
        33.749,
        1.0,
        "key-accounts;healthcare",
    ),
    ("R02", "Marcus Hale", "Marietta", "GA", -84.550, 33.953, 1.0, "manufacturing"),
    ("R03", "Priya Raman", "Lawrenceville", "GA", -83.988, 33.956, 1.0, "key-accounts"),
    ("R04", "Tom Kessler", "Decatur", "GA", -84.296, 33.775, 1.0, "healthcare"),
    ("R05", "Lena Ortiz", "Athens", "GA", -83.378, 33.961, 1.0, "manufacturing"),
    ("R06", "Grant Mayfield", "Augusta", "GA", -81.975, 33.471, 1.0, "logistics"),
    ("R07", "Keisha Boone", "Macon", "GA", -83.632, 32.841, 0.8, "retail"),
    ("R08", "Walt Pruitt", "Columbus", "GA", -84.988, 32.461, 1.0, "agriculture"),
    (
        "R09",
        "Sofia Marchetti",
        "Savannah",
        "GA",
        -81.091,
        32.081,
        1.0,
        "logistics;key-accounts",
    ),
    ("R10", "Hank Doyle", "Albany", "GA", -84.156, 31.578, 1.0, "agriculture"),
    (
        "R11",
        "Nadia Feld",
        "Charlotte",
        "NC",
        -80.843,
        35.227,
        1.0,
        "key-accounts;manufacturing",
    ),
    (
        "R12",
        "Owen Carraway",
        "Raleigh",
        "NC",
        -78.639,
        35.780,
        1.0,
        "key-accounts;professional-services",
    ),
    ("R13", "Jasmine Pope", "Greensboro", "NC", -79.792, 36.073, 1.0, "retail"),
    ("R14", "Eli Brandt", "Durham", "NC", -78.899, 35.994, 1.0, "healthcare"),
    (
        "R15",
        "Rosa Delgado",
        "Winston-Salem",
        "NC",
        -80.244,
        36.100,
        0.8,
        "manufacturing",
    ),
    ("R16", "Curtis Lamb", "Fayetteville", "NC", -78.878, 35.053, 1.0, "logistics"),
    ("R17", "Hannah Ward", "Wilmington", "NC", -77.945, 34.226, 1.0, "hospitality"),
    ("R18", "Ben Okafor", "Asheville", "NC", -82.551, 35.595, 1.0, "hospitality"),
    ("R19", "Mia Sorensen", "Greenville", "NC", -77.366, 35.613, 1.0, "agriculture"),
    ("R20", "Luke Barrett", "Hickory", "NC", -81.341, 35.733, 1.0, "manufacturing"),
)

_README = """\
# Sample study "southeast"

A realistic territory study to learn terrakit on: the 259 counties of Georgia
(159) and North Carolina (100), 6,000 synthetic accounts, 36 months of monthly
sales and calls, 20 reps and a current alignment that is plausible but visibly
unbalanced.  Load it with:

```python
import terrakit as tk
study = tk.load_sample("southeast")
```

## Files

* `units.gpkg`, layer `units`: county polygons (EPSG:4326), `unit_id`
  (5-digit county FIPS), `name`, `state`, `region`, `population`, `income`,
  `accounts`, `workload` (hours/year), `sales` (2025), `potential`.
* `accounts.csv`: `account_id`, `unit_id`, `lon`, `lat`, `segment` (A/B/C),
  `industry`, `employees`, `annual_sales` (2025), `calls_per_year`,
  `call_minutes`, `rep_id` (current owner).
* `reps.csv`: `rep_id` (R01..R20), `name`, `city`, `state`, `home_lon`,
  `home_lat`, `home_unit`, `capacity_hours`, `fte`, `skills`.
* `history.parquet`: `account_id`, `period` (monthly, 2023-01..2025-12),
  `sales` (USD, cents), `calls`.
* `alignment_current.csv`: `unit_id`, `territory_id` (= rep id).
* `metadata.json`: seed, builder version, sources, the true simulation
  parameters.

## What is real and what is not

* **Real**: the county boundaries of Georgia and North Carolina and Georgia's
  1990 census county population, as bundled with the libpysal package
  (`libpysal/examples/georgia`, from Fotheringham, Brunsdon & Charlton (2002),
  *Geographically Weighted Regression*; `libpysal/examples/sids2`, the North
  Carolina SIDS data of Cressie (1993), *Statistics for Spatial Data*, via the
  GeoDa Center).  The Georgia shapefile has no `.prj`; its coordinates are UTM
  zone 16N (NAD83, EPSG:26916).  North Carolina is lon/lat NAD27 (EPSG:4267).
  Both are reprojected to EPSG:4326 with pinned transformations.  The reps' home
  coordinates are the centres of real cities.
* **Proxies**: North Carolina's population is births (1974–84) scaled to the
  state's 1990 census total (6,628,637); `income` is a per-capita income index
  (Georgia: from the shares of bachelor's degrees and of poverty; North
  Carolina: from population density).  They have plausible levels but are not
  census incomes.
* **Synthetic**: accounts, their sizes, industries, call plans, owners, the
  sales and calls history, `potential`, the rep names and the current
  alignment.  Any resemblance to real businesses or people is accidental.
  The generating model and its true parameters are documented in
  `terrakit/data/samples.py` and in `metadata.json`, so that response curves,
  forecasts and potentials fitted on this data can be checked against the
  truth.

## Sources and licences

libpysal is BSD-3-Clause licensed; the county boundaries and census counts are
works of the US government (public domain).  The synthetic part is generated by
terrakit (BSD-3-Clause).

## Rebuild

```
make samples            # or: python scripts/build_samples.py
```

The build is deterministic: the same seed ({seed}) reproduces every file value
for value (`tests/data/test_samples.py` checks it).  Nothing is downloaded.
"""


# -- public API ---------------------------------------------------------------------
def sample_dir(name: str = "southeast") -> Path:
    """Folder of the committed files of sample ``name`` in a source checkout."""
    _check_name(name)
    return Path(__file__).resolve().parents[2] / "data" / "samples" / name


def load_sample(name: str = "southeast") -> Any:
    """Load a sample study.

    Parameters
    ----------
    name
        ``"southeast"``: 259 counties of Georgia and North Carolina, 6,000
        accounts, 20 reps, 36 months of history, alignment ``"current"``.

    Returns
    -------
    terrakit.data.Study

    Raises
    ------
    ValueError
        For an unknown sample name.
    OSError
        When the cache folder cannot be used (``TERRAKIT_CACHE_DIR`` names a
        file or a folder that cannot be written, or the home folder is
        read-only), or a damaged cached copy cannot be rebuilt.

    Warns
    -----
    TerrakitWarning
        When a cached copy was built by another builder version or from
        another seed, or cannot be read, and is rebuilt.

    Notes
    -----
    The files are read from ``data/samples/<name>/`` of a source checkout.
    Where that folder is missing (an installed wheel) they are built once into
    ``~/.cache/terrakit/samples/<name>`` (or ``$TERRAKIT_CACHE_DIR``), which
    needs no network.  A cached copy whose ``metadata.json`` records another
    builder version than :data:`BUILDER_VERSION` or another seed than
    :data:`DEFAULT_SEED` (left by an older terrakit), or whose files cannot
    be read (damaged), is rebuilt, with a warning.

    Examples
    --------
    >>> study = load_sample("southeast")  # doctest: +SKIP
    >>> len(study.units), len(study.accounts), len(study.reps)  # doctest: +SKIP
    (259, 6000, 20)
    """
    _check_name(name)
    folder = sample_dir(name)
    if _complete(folder):
        return _fresh(_load_cached(str(folder)))
    # an empty TERRAKIT_CACHE_DIR counts as unset (as XDG_CACHE_HOME does):
    # Path("") is the working directory, which would collect a samples/ folder
    env = os.environ.get("TERRAKIT_CACHE_DIR", "").strip()
    cache = Path(env) if env else Path.home() / ".cache" / "terrakit"
    folder = cache / "samples" / name
    if not _complete(folder):
        _build_atomically(folder)
    else:
        stale = _stale(folder)
        if stale:
            warnings.warn(
                f"load_sample: the cached sample in {folder} {stale}; "
                "rebuilding it (no network needed)",
                TerrakitWarning,
                stacklevel=2,
            )
            _build_atomically(folder)
            _load_cached.cache_clear()
    try:
        study = _load_cached(str(folder))
    except Exception as err:  # a damaged cached copy: any failure to read it
        warnings.warn(
            f"load_sample: the cached sample in {folder} cannot be read "
            f"({type(err).__name__}: {err}); rebuilding it (no network needed)",
            TerrakitWarning,
            stacklevel=2,
        )
        try:
            _build_atomically(folder)
            _load_cached.cache_clear()
            study = _load_cached(str(folder))
        except Exception as again:
            raise OSError(
                f"load_sample: the cached sample in {folder} cannot be read and "
                f"rebuilding it failed ({type(again).__name__}: {again}); delete "
                "that folder and try again, or set TERRAKIT_CACHE_DIR to another "
                "folder you can write to"
            ) from again
    return _fresh(study)


def _fresh(study: Any) -> Any:
    """A Study of its own for each caller, sharing the cached tables.

    The tables are safe to share (a Study hands out copies of them), and so
    are metadata and scenarios (``Study.metadata`` / ``.scenarios`` hand out
    deep copies), but an alignment's provenance could be changed in place;
    each call gets its own copies of the alignments' provenance, so an edit
    never reaches a later :func:`load_sample`.  A shallow copy costs
    microseconds where building the Study again (validation included) costs
    most of a second.
    """
    from terrakit.data.alignment import Alignment

    new = copy.copy(study)
    new._alignments = {
        name: Alignment(
            al.assignment, name=al.name, provenance=copy.deepcopy(dict(al.provenance))
        )
        for name, al in study._alignments.items()
    }
    return new


def read_southeast(folder: str | os.PathLike[str]) -> Any:
    """Read the files written by :func:`build_southeast` into a Study."""
    from terrakit.data.alignment import Alignment, make_provenance
    from terrakit.data.io import read_accounts, read_history, read_reps, read_units
    from terrakit.data.study import Study

    folder = Path(folder)
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    units = read_units(folder / "units.gpkg", layer="units")
    accounts = read_accounts(folder / "accounts.csv")
    reps = read_reps(folder / "reps.csv")
    history = read_history(folder / "history.parquet")
    frame = pd.read_csv(folder / "alignment_current.csv", dtype=str)
    # the terrakit and library versions recorded at build time (none in files
    # built before they were recorded), not those of the session that reads
    # the files
    prov = {"versions": {}, "terrakit_version": None, **meta["alignment"]}
    current = Alignment.from_frame(
        frame, name="current", provenance=make_provenance(**prov)
    )
    return Study(
        units,
        accounts=accounts,
        reps=reps,
        history=history,
        alignments={"current": current},
        metadata=meta["study"],
    )


def build_southeast(
    out_dir: str | os.PathLike[str], seed: int = DEFAULT_SEED
) -> dict[str, Path]:
    """Build the "southeast" sample files into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write (created if needed; the sample's files are replaced).
    seed
        Seed of every random draw, a whole number >= 0; the same seed gives
        the same files, value for value (``metadata.json`` also records the
        versions of terrakit and of the libraries the build used,
        ``alignment.terrakit_version`` and ``alignment.versions``, which
        differ between environments), and, with the same GDAL, byte for byte
        (``units.gpkg``'s ``last_change`` stamp is the builder's pinned date).

    Returns
    -------
    dict
        File name → path of each file written.

    Raises
    ------
    ValueError
        For a seed that is not a whole number >= 0.

    Examples
    --------
    >>> files = build_southeast("/tmp/southeast")  # doctest: +SKIP
    >>> sorted(files)  # doctest: +SKIP
    ['README.md', 'accounts.csv', 'alignment_current.csv', ...]
    """
    seed = check_seed(seed, "build_southeast")
    tables = _build_tables(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {f: out / f for f in _FILES}
    units = tables["units"]
    _write_gpkg(units.reset_index(), paths["units.gpkg"])
    tables["accounts"].reset_index().to_csv(
        paths["accounts.csv"], index=False, lineterminator="\n"
    )
    tables["reps"].reset_index().to_csv(
        paths["reps.csv"], index=False, lineterminator="\n"
    )
    tables["history"].to_parquet(
        paths["history.parquet"], index=False, compression="zstd"
    )
    tables["alignment"].to_csv(
        paths["alignment_current.csv"], index=False, lineterminator="\n"
    )
    paths["metadata.json"].write_text(
        json.dumps(tables["metadata"], indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    paths["README.md"].write_text(_README.format(seed=seed), encoding="utf-8")
    return paths


# -- loading helpers ------------------------------------------------------------------
def _check_name(name: str) -> None:
    if name not in SAMPLES:
        raise ValueError(f"unknown sample {name!r}; available samples: {list(SAMPLES)}")


def check_seed(seed: Any, where: str) -> int:
    """``seed`` as an int >= 0 (whole-number floats pass), else a ValueError.

    Parameters
    ----------
    seed
        The seed to check.
    where
        Who asks, for the message (``"build_southeast"``).

    Returns
    -------
    int
    """
    if (
        isinstance(seed, (float, np.floating))
        and math.isfinite(seed)
        and float(seed).is_integer()
    ):
        seed = int(seed)
    if not is_count(seed, low=0):
        raise ValueError(
            f"{where}: seed must be a whole number >= 0 (numpy seeds cannot be "
            f"negative or fractional), got {seed!r}; the committed sample uses "
            f"{DEFAULT_SEED}"
        )
    return int(seed)


def _write_gpkg(units: gpd.GeoDataFrame, path: Path) -> None:
    """Write layer ``units`` to ``path``, stamped with the builder's date.

    GDAL stamps ``gpkg_contents.last_change`` with the time of writing unless
    its ``OGR_CURRENT_DATE`` option is set; it is set to :data:`_BUILDER_DATE`
    for the write and restored afterwards.
    """
    import pyogrio

    if path.exists():
        path.unlink()
    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _GPKG_DATE})
    try:
        units.to_file(path, layer="units", driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})


def _complete(folder: Path) -> bool:
    return all((folder / f).exists() for f in _FILES)


def _stale(folder: Path) -> str:
    """Why ``folder`` holds no sample of this builder and seed ("" if it does)."""
    try:
        study = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))[
            "study"
        ]
        version, seed = study.get("builder_version"), study.get("seed")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "has an unreadable metadata.json"
    if version != BUILDER_VERSION or seed != DEFAULT_SEED:
        return (
            f"was built by builder version {version} with seed {seed}, not "
            f"version {BUILDER_VERSION} with seed {DEFAULT_SEED}"
        )
    return ""


def _build_atomically(folder: Path) -> None:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=folder.parent))
    except OSError as err:
        # same OSError subclass (PermissionError, NotADirectoryError...), a
        # message that names the folder and the fix
        why = err.strerror or str(err)
        if err.filename is not None:
            why += f": {str(err.filename)!r}"
        raise type(err)(
            f"load_sample: cannot use the cache folder {str(folder.parent)!r} "
            f"for the sample ({why}); set TERRAKIT_CACHE_DIR to a folder you can "
            "write to (e.g. TERRAKIT_CACHE_DIR=/tmp/terrakit-cache)"
        ) from err
    try:
        build_southeast(tmp)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


@functools.lru_cache(maxsize=4)
def _load_cached(folder: str) -> Any:
    # Never handed out as is: load_sample gives each caller a _fresh copy.
    return read_southeast(folder)


# -- the build ----------------------------------------------------------------------
def _build_tables(seed: int) -> dict[str, Any]:
    ss = np.random.SeedSequence(seed)
    rng_income, rng_acc, rng_pts, rng_hist, rng_pot, rng_align = (
        np.random.default_rng(s) for s in ss.spawn(6)
    )
    units = pd.concat([_georgia(), _north_carolina(rng_income)])
    units = units.sort_index()
    units["region"] = _regions(units)
    accounts = _accounts(units, rng_acc, rng_pts)
    history, annual = _history(accounts, units, rng_hist)
    accounts["annual_sales"] = annual
    units = _add_aggregates(units, accounts)
    units["potential"] = _potential(units, rng_pot)
    reps = _reps(units)
    assign, align_info = _current_alignment(units, reps, rng_align)
    accounts["rep_id"] = assign.reindex(accounts["unit_id"].to_numpy()).to_numpy()
    accounts = accounts[
        [
            "unit_id",
            "lon",
            "lat",
            "segment",
            "industry",
            "employees",
            "annual_sales",
            "calls_per_year",
            "call_minutes",
            "rep_id",
        ]
    ]
    units = gpd.GeoDataFrame(
        units[
            [
                "name",
                "state",
                "region",
                "population",
                "income",
                "accounts",
                "workload",
                "sales",
                "potential",
            ]
        ],
        geometry=units.geometry,
        crs="EPSG:4326",
    )
    alignment = pd.DataFrame(
        {"unit_id": assign.index.to_numpy(), "territory_id": assign.to_numpy()}
    )
    metadata = {
        "study": {
            "name": "southeast",
            "description": "Georgia and North Carolina counties (real), synthetic "
            "accounts, sales history, reps and current alignment",
            "seed": seed,
            "builder_version": BUILDER_VERSION,
            "periods": [_FIRST, _LAST],
            "sources": {
                "georgia": "libpysal/examples/georgia/G_utm.shp + GData_utm.csv "
                "(EPSG:26916 assumed; 1990 census TotPop90)",
                "north_carolina": "libpysal/examples/sids2/sids2.shp (EPSG:4267; "
                "population proxy from births)",
            },
            "true_parameters": TRUE_PARAMETERS,
        },
        "alignment": {
            "method": "synthetic/weighted-nearest-rep",
            "seed": seed,
            "config": {
                "target_max_deviation": _TARGET_MAX_DEVIATION,
                "same_state": True,
                "contiguity_repair": True,
            },
            "created": _BUILDER_DATE,
            "terrakit_version": _terrakit_version(),
            "versions": _build_versions(),
            **align_info,
        },
    }
    return {
        "units": units,
        "accounts": accounts,
        "reps": reps,
        "history": history,
        "alignment": alignment,
        "metadata": metadata,
    }


def _terrakit_version() -> str:
    """Version of the terrakit that builds the files."""
    from terrakit import __version__

    return __version__


def _build_versions() -> dict[str, str]:
    """Versions of the libraries the build computed with (all imported by now)."""
    from terrakit._versions import library_versions

    return {k: v for k, v in library_versions().items() if k in _USED_LIBRARIES}


def _area_km2(geoms: gpd.GeoSeries) -> np.ndarray:
    return np.asarray(geoms.to_crs("EPSG:5070").area.to_numpy() / 1e6)


def _georgia() -> gpd.GeoDataFrame:
    from libpysal.examples import get_path

    shp = gpd.read_file(get_path("G_utm.shp"))
    data = pd.read_csv(get_path("GData_utm.csv"))
    data = data.set_index(data["AreaKey"].astype(str))
    ids = shp["AreaKey"].astype(str).to_numpy()
    data = data.loc[ids]
    # UTM 16N (NAD83) → lon/lat; NAD83 is taken equal to WGS 84 (EPSG:1188).
    to_ll = pyproj.Transformer.from_crs("EPSG:26916", "EPSG:4269", always_xy=True)
    geom = shapely.transform(
        shp.geometry.to_numpy(),
        lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])),
    )
    bach = data["PctBach"].to_numpy(float)
    pov = data["PctPov"].to_numpy(float)
    income = 13600.0 * np.exp(
        0.025 * (bach - np.median(bach)) - 0.02 * (pov - np.median(pov))
    )
    out = gpd.GeoDataFrame(
        {
            "name": [_GA_NAMES[i[2:]] for i in ids],
            "state": "GA",
            "population": data["TotPop90"].to_numpy(np.int64),
            "income": np.round(income, 0),
            "rural": data["PctRural"].to_numpy(float) / 100.0,
        },
        geometry=geom,
        crs="EPSG:4326",
        index=pd.Index(ids, name="unit_id", dtype=object),
    )
    return out


def _north_carolina(rng: np.random.Generator) -> gpd.GeoDataFrame:
    from libpysal.examples import get_path

    shp = gpd.read_file(get_path("sids2.shp"))
    ids = shp["FIPS"].astype(str).str.zfill(5).to_numpy()
    # NAD27 → WGS 84 by the EPSG:1173 Helmert shift (grid-free, ~10 m accuracy).
    op = pyproj.Transformer.from_pipeline("urn:ogc:def:coordinateOperation:EPSG::1173")

    def _shift(xy: np.ndarray) -> np.ndarray:
        lat, lon = op.transform(xy[:, 1], xy[:, 0])  # the operation is lat, lon
        return np.column_stack([lon, lat])

    geom = gpd.GeoSeries(
        shapely.transform(shp.geometry.to_numpy(), _shift), crs="EPSG:4326"
    )
    births = (shp["BIR74"] + shp["BIR79"]).to_numpy(float)
    pop = _round_to_total(
        births / births.sum() * _NC_POPULATION_1990, _NC_POPULATION_1990
    )
    density = pop / _area_km2(geom)
    income = (
        12900.0
        * (density / np.median(density)) ** 0.08
        * np.exp(rng.normal(0.0, 0.05, len(ids)))
    )
    rural = 1.0 - np.clip((np.log10(density) - 1.0) / 2.0, 0.0, 1.0)
    return gpd.GeoDataFrame(
        {
            "name": shp["NAME"].astype(str).to_numpy(),
            "state": "NC",
            "population": pop,
            "income": np.round(income, 0),
            "rural": rural,
        },
        geometry=geom.to_numpy(),
        crs="EPSG:4326",
        index=pd.Index(ids, name="unit_id", dtype=object),
    )


def _round_to_total(x: np.ndarray, total: int) -> np.ndarray:
    """Round to integers that sum to ``total`` (largest remainders)."""
    base = np.floor(x).astype(np.int64)
    short = total - int(base.sum())
    order = np.argsort(-(x - base), kind="stable")
    base[order[:short]] += 1
    return base


def _regions(units: gpd.GeoDataFrame) -> pd.Series:
    """A few sales regions per state by deterministic geographic rules."""
    pt = units.geometry.representative_point()
    lon, lat = pt.x.to_numpy(), pt.y.to_numpy()
    ga = units["state"].to_numpy() == "GA"
    metro = units.index.isin(_GA_METRO)
    ga_region = np.where(
        metro,
        "GA-Metro",
        np.where(
            lat >= 33.6,
            "GA-North",
            np.where(
                lat >= 32.2,
                "GA-Central",
                np.where(lon < -83.3, "GA-Southwest", "GA-Southeast"),
            ),
        ),
    )
    nc_region = np.where(
        lon < -81.2,
        "NC-West",
        np.where(
            lon < -79.5, "NC-Piedmont", np.where(lon < -78.0, "NC-Central", "NC-East")
        ),
    )
    return pd.Series(
        np.where(ga, ga_region, nc_region), index=units.index, dtype=object
    )


def _sample_in_polygons(
    geoms: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform by area inside lon/lat polygons, rounded to 1e-6 degrees.

    Rejection sampling in each polygon's bounding box with acceptance
    cos(lat)/cos(lat_min) (equal-area on the sphere); a rounded point is
    kept only if it still lies strictly inside its polygon.
    """
    lon_out = np.empty(int(counts.sum()))
    lat_out = np.empty(int(counts.sum()))
    start = 0
    for geom, n in zip(geoms, counts, strict=True):
        if n == 0:
            continue
        x0, y0, x1, y1 = shapely.bounds(geom)
        cmax = np.cos(np.radians(min(abs(y0), abs(y1))))
        got_x: list[np.ndarray] = []
        got_y: list[np.ndarray] = []
        need = int(n)
        while need > 0:
            m = max(4 * need, 16)
            x = rng.uniform(x0, x1, m)
            y = rng.uniform(y0, y1, m)
            keep = rng.uniform(0.0, cmax, m) < np.cos(np.radians(y))
            x = np.round(x[keep], 6)
            y = np.round(y[keep], 6)
            inside = shapely.contains_xy(geom, x, y)
            x, y = x[inside][:need], y[inside][:need]
            got_x.append(x)
            got_y.append(y)
            need -= len(x)
        lon_out[start : start + n] = np.concatenate(got_x)
        lat_out[start : start + n] = np.concatenate(got_y)
        start += int(n)
    # values written to CSV and read back are these exact doubles
    return lon_out, lat_out


def _accounts(
    units: gpd.GeoDataFrame, rng: np.random.Generator, rng_pts: np.random.Generator
) -> pd.DataFrame:
    seg_cfg = TRUE_PARAMETERS["segments"]
    pop = units["population"].to_numpy(float)
    inc = units["income"].to_numpy(float)
    n_seg = {s: round(_N_ACCOUNTS * c["share"]) for s, c in seg_cfg.items()}
    # within a state, accounts of a segment grow as population ** exponent
    # (segment A also with income); each state keeps its population share of
    # every segment
    dens = pop**_DENSITY_EXPONENT
    state = units["state"].to_numpy()
    weights = {"A": dens * inc, "B": dens.copy(), "C": dens.copy()}
    for w in weights.values():
        for st in np.unique(state):
            m = state == st
            w[m] *= pop[m].sum() / w[m].sum()
    unit_idx_parts, seg_parts = [], []
    for s in ("A", "B", "C"):
        p = weights[s] / weights[s].sum()
        counts = rng.multinomial(n_seg[s], p)
        unit_idx_parts.append(np.repeat(np.arange(len(units)), counts))
        seg_parts.append(np.full(int(counts.sum()), s))
    uidx = np.concatenate(unit_idx_parts)
    seg = np.concatenate(seg_parts)
    order = np.lexsort((seg, uidx))
    uidx, seg = uidx[order], seg[order]
    n = len(uidx)

    counts_per_unit = np.bincount(uidx, minlength=len(units))
    lon, lat = _sample_in_polygons(units.geometry.to_numpy(), counts_per_unit, rng_pts)

    cpy = np.empty(n, dtype=np.int64)
    minutes = np.empty(n, dtype=np.int64)
    base = np.empty(n)
    employees = np.empty(n, dtype=np.int64)
    for s, c in seg_cfg.items():
        m = seg == s
        k = int(m.sum())
        lo, hi = c["calls_per_year"]
        cpy[m] = rng.integers(lo, hi + 1, k)
        minutes[m] = rng.choice(np.array(c["call_minutes"]), k)
        z = rng.normal(0.0, 1.0, k)
        base[m] = c["base_median"] * np.exp(c["base_sigma"] * z)
        emp = c["employees_median"] * np.exp(
            0.8 * c["base_sigma"] * z + rng.normal(0.0, 0.3, k)
        )
        employees[m] = np.maximum(1, np.round(emp)).astype(np.int64)

    rural = units["rural"].to_numpy(float)[uidx]
    w = (
        _INDUSTRY_WEIGHTS[:, 0][None, :] * (1.0 - rural[:, None])
        + _INDUSTRY_WEIGHTS[:, 1][None, :] * rural[:, None]
    )
    cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
    ind = (rng.uniform(size=n)[:, None] > cum).sum(axis=1)
    ind = np.minimum(ind, len(_INDUSTRIES) - 1)

    ids = pd.Index(
        [f"ACC{i:05d}" for i in range(1, n + 1)], name="account_id", dtype=object
    )
    out = pd.DataFrame(
        {
            "unit_id": units.index.to_numpy()[uidx],
            "lon": lon,
            "lat": lat,
            "segment": seg.astype(object),
            "industry": np.array(_INDUSTRIES, dtype=object)[ind],
            "employees": employees,
            "calls_per_year": cpy,
            "call_minutes": minutes,
            "_base": base,
        },
        index=ids,
    )
    return out


def _history(
    accounts: pd.DataFrame, units: gpd.GeoDataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    tp = TRUE_PARAMETERS
    periods = pd.period_range(_FIRST, _LAST, freq="M")
    n, t_n = len(accounts), len(periods)
    t = np.arange(t_n, dtype=float)
    month = periods.month.to_numpy()
    season = 1.0 + tp["seasonality"]["amplitude"] * np.cos(
        2 * np.pi * (month - tp["seasonality"]["peak_month"]) / 12.0
    )

    region = units["region"].reindex(accounts["unit_id"].to_numpy()).to_numpy()
    g = np.array([tp["growth"]["region_mean"][r] for r in region]) + rng.normal(
        0.0, tp["growth"]["account_sigma"], n
    )
    trend = (1.0 + g[:, None]) ** (t[None, :] / 12.0)

    seg = accounts["segment"].to_numpy()
    effort = np.exp(rng.normal(0.0, tp["call_effort_sigma"], n))
    lam = effort * accounts["calls_per_year"].to_numpy(float) / 12.0
    calls = rng.poisson(np.repeat(lam[:, None], t_n, axis=1)).astype(float)
    resp = np.empty((n, t_n))
    sigma = np.empty(n)
    for s, c in tp["segments"].items():
        m = seg == s
        r = c["response"]
        xh = calls[m] ** r["h"]
        resp[m] = r["c"] + (1.0 - r["c"]) * xh / (r["k"] ** r["h"] + xh)
        sigma[m] = c["noise_sigma"]
    noise = np.exp(
        sigma[:, None] * rng.normal(size=(n, t_n)) - sigma[:, None] ** 2 / 2.0
    )
    sales = (
        accounts["_base"].to_numpy()[:, None] * trend * season[None, :] * resp * noise
    )

    # new accounts: no rows before their first month, a short ramp-up
    new_cfg, churn_cfg = tp["new_accounts"], tp["churned_accounts"]
    status = rng.uniform(size=n)
    is_new = status < new_cfg["share"]
    is_churned = (status >= new_cfg["share"]) & (
        status < new_cfg["share"] + churn_cfg["share"]
    )
    first = np.where(
        is_new,
        rng.integers(new_cfg["first_month"][0], new_cfg["first_month"][1] + 1, n),
        0,
    )
    churn = np.where(
        is_churned,
        rng.integers(churn_cfg["churn_month"][0], churn_cfg["churn_month"][1] + 1, n),
        t_n,
    )
    age = t[None, :] - first[:, None]
    ramp = np.clip((age + 1.0) / new_cfg["ramp_months"], 0.0, 1.0)
    sales = np.where(is_new[:, None], sales * ramp, sales)
    gone = t[None, :] >= churn[:, None]
    sales[gone] = 0.0
    calls[gone] = 0.0
    sales = np.round(sales, 2)

    present = age >= 0
    rows_a, rows_t = np.nonzero(present)
    history = pd.DataFrame(
        {
            "account_id": pd.Series(accounts.index.to_numpy()[rows_a], dtype=object),
            "period": pd.Series(periods[rows_t], dtype=pd.PeriodDtype("M")),
            "sales": sales[rows_a, rows_t].astype(np.float64),
            "calls": calls[rows_a, rows_t].astype(np.int32),
        }
    )
    last12 = np.where(present[:, -12:], sales[:, -12:], 0.0).sum(axis=1)
    return history, np.round(last12, 2)


def _add_aggregates(
    units: gpd.GeoDataFrame, accounts: pd.DataFrame
) -> gpd.GeoDataFrame:
    units = units.copy()
    by = accounts.groupby("unit_id", sort=False)
    hours = accounts["calls_per_year"] * accounts["call_minutes"] / 60.0
    units["accounts"] = by.size().reindex(units.index, fill_value=0).astype(np.int64)
    units["workload"] = np.round(
        hours.groupby(accounts["unit_id"]).sum().reindex(units.index, fill_value=0.0), 2
    )
    units["sales"] = np.round(
        by["annual_sales"].sum().reindex(units.index, fill_value=0.0), 2
    )
    return units


def _potential(units: gpd.GeoDataFrame, rng: np.random.Generator) -> np.ndarray:
    cfg = TRUE_PARAMETERS["potential"]
    inc = units["income"].to_numpy(float)
    raw = (
        units["population"].to_numpy(float)
        * (inc / inc.mean()) ** cfg["income_elasticity"]
        * np.exp(rng.normal(0.0, cfg["noise_sigma"], len(units)))
    )
    total = cfg["potential_to_sales"] * units["sales"].sum()
    return np.round(raw / raw.sum() * total, 0)


def _reps(units: gpd.GeoDataFrame) -> pd.DataFrame:
    reps = pd.DataFrame(
        list(_REPS),
        columns=[
            "rep_id",
            "name",
            "city",
            "state",
            "home_lon",
            "home_lat",
            "fte",
            "skills",
        ],
    ).set_index("rep_id")
    pts = shapely.points(reps["home_lon"].to_numpy(), reps["home_lat"].to_numpy())
    home = []
    for p in pts:
        hit = units.index[units.geometry.contains(p).to_numpy()]
        home.append(str(hit[0]))
    reps["home_unit"] = pd.Series(home, index=reps.index, dtype=object)
    reps["capacity_hours"] = _CAPACITY_PER_FTE * reps["fte"]
    reps = reps[
        [
            "name",
            "city",
            "state",
            "home_lon",
            "home_lat",
            "home_unit",
            "capacity_hours",
            "fte",
            "skills",
        ]
    ]
    reps["fte"] = reps["fte"].astype(np.float64)
    reps["capacity_hours"] = reps["capacity_hours"].astype(np.float64)
    return reps


def _haversine_km(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    p1, p2 = np.radians(lat1)[:, None], np.radians(lat2)[None, :]
    dl = np.radians(lon2)[None, :] - np.radians(lon1)[:, None]
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * 6371.0088 * np.arcsin(np.sqrt(a)))


def _current_alignment(
    units: gpd.GeoDataFrame, reps: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.Series, dict[str, Any]]:
    """Weighted nearest-rep alignment within each state, unbalanced on purpose."""
    from libpysal.weights import Queen

    pt = units.geometry.representative_point()
    d = _haversine_km(
        pt.x.to_numpy(),
        pt.y.to_numpy(),
        reps["home_lon"].to_numpy(),
        reps["home_lat"].to_numpy(),
    )
    same = units["state"].to_numpy()[:, None] == reps["state"].to_numpy()[None, :]
    d = np.where(same, d, np.inf)
    load = units["workload"].to_numpy(float)
    rep_ids = reps.index.to_numpy()
    home_pos = units.index.get_indexer(reps["home_unit"].to_numpy())
    # power diagram (d² − β): convex cells, so territories stay in one piece
    d2 = d**2
    beta = rng.normal(0.0, 1500.0, len(reps))
    with np.errstate(all="ignore"):
        graph = Queen.from_dataframe(
            units.reset_index(drop=True), use_index=False, silence_warnings=True
        )
    neighbours = [
        np.asarray(graph.neighbors[i], dtype=np.int64) for i in range(len(units))
    ]

    def assign(b: np.ndarray) -> np.ndarray:
        lab = np.argmin(d2 - b[None, :], axis=1)
        lab[home_pos] = np.arange(len(reps))
        return _repair_contiguity(lab, neighbours, home_pos, same)

    best: tuple[float, np.ndarray] = (np.inf, np.zeros(len(units), np.int64))
    iterations = 0
    while True:
        lab = assign(beta)
        tot = np.bincount(lab, weights=load, minlength=len(reps))
        dev = float(np.max(np.abs(tot - tot.mean())) / tot.mean())
        if dev < best[0]:
            best = (dev, lab)
        if dev <= _TARGET_MAX_DEVIATION or iterations >= 200:
            break
        step = 400.0 / (1.0 + iterations / 25.0)
        beta = beta + step * (tot.mean() - tot) / tot.mean()
        iterations += 1
    dev, lab = best
    assignment = pd.Series(
        rep_ids[lab], index=units.index, name="territory_id", dtype=object
    )
    return assignment, {
        "workload_max_deviation": round(dev, 4),
        "balancing_iterations": iterations,
    }


def _repair_contiguity(
    lab: np.ndarray,
    neighbours: list[np.ndarray],
    home_pos: np.ndarray,
    allowed: np.ndarray,
) -> np.ndarray:
    """Merge every detached piece of a territory into the neighbour it touches most."""
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import connected_components

    lab = lab.copy()
    n = len(lab)
    rows = np.repeat(np.arange(n), [len(v) for v in neighbours])
    cols = np.concatenate(neighbours) if n else np.empty(0, np.int64)
    for _ in range(50):
        same = lab[rows] == lab[cols]
        g = csr_array(
            (np.ones(int(same.sum())), (rows[same], cols[same])), shape=(n, n)
        )
        _, comp = connected_components(g, directed=False)
        keep = set(comp[home_pos].tolist())
        stray = [c for c in np.unique(comp) if c not in keep]
        if not stray:
            return lab
        for c in stray:
            members = np.flatnonzero(comp == c)
            nb = np.concatenate([neighbours[i] for i in members])
            nb = nb[(comp[nb] != c) & allowed[members[0]][lab[nb]]]
            if len(nb):
                lab[members] = np.bincount(lab[nb]).argmax()
    return lab

"""Readers of the national geo benchmark (US counties and ZCTAs, Census 2010)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from terrakit.benchmarks import geo as bg
from terrakit.benchmarks.run import FAMILIES, _expand
from terrakit.design.oversized import stuck_units

FOLDER = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "geo"
pytestmark = pytest.mark.skipif(
    not (FOLDER / bg.COUNTY_FILE).exists(), reason="shared benchmarks not present"
)


@pytest.fixture(scope="module")
def counties() -> pd.DataFrame:
    """3,143 counties of the 50 states + DC with Census 2010 population."""
    return bg.us_counties(FOLDER)


def test_counties_match_census_totals(counties: pd.DataFrame) -> None:
    assert len(counties) == 3143
    assert int(counties["population"].sum()) == 308_745_538  # Census 2010
    assert counties.crs.to_epsg() == 5070
    assert counties.index.name == "unit_id"
    assert (counties.index.str.len() == 5).all()
    la = counties.loc["06037"]
    assert (la["name"], la["state"], la["population"]) == (
        "Los Angeles County",
        "CA",
        9_818_605,
    )
    assert counties.loc["35013", "name"] == "Doña Ana County"  # Latin-1 file


def test_county_regions() -> None:
    lower48 = bg.us_counties(FOLDER, region="lower48")
    every = bg.us_counties(FOLDER, region="all")
    assert len(lower48) == 3109
    assert not lower48["state"].isin(["AK", "HI"]).any()
    assert len(every) == 3221
    assert (every["state"] == "PR").sum() == 78
    with pytest.raises(ValueError, match="region must be one of"):
        bg.us_counties(FOLDER, region="mainland")  # type: ignore[arg-type]


def test_island_links_hawaii_to_california(counties: pd.DataFrame) -> None:
    """Hawaii's four pieces are joined among themselves first (3 links), then
    the island block is linked once to the nearest Californian county."""
    sub = counties[counties["state"].isin(["HI", "CA"])]
    adj, links = bg.unit_adjacency(sub)
    assert adj.n_components == 1
    assert len(links) == 4
    states = [(sub.loc[a, "state"], sub.loc[b, "state"]) for a, b, _ in links]
    assert states[:3] == [("HI", "HI")] * 3
    assert set(states[3]) == {"HI", "CA"}
    assert 3_000 < links[3][2] < 4_500  # km across the Pacific


def test_brooklyn_is_stuck_at_three_percent(counties: pd.DataFrame) -> None:
    """Kings County (2,504,700) can only join Staten Island (468,730, linked by
    the Verrazzano bridge), Manhattan or Queens: 2,973,430 is under the ±3 %
    band of 100 US territories and 4,090,573 above it."""
    adj, _ = bg.unit_adjacency(counties)
    mean = counties["population"].sum() / 100
    stuck = stuck_units(
        counties["population"], adj, 0.97 * mean, 1.03 * mean, candidates=["36047"]
    )
    assert stuck.index.tolist() == ["36047"]
    row = stuck.loc["36047"]
    assert row["best_below"] == 2_504_700 + 468_730
    assert set(row["set_below"]) == {"36047", "36085"}
    assert row["best_above"] == 2_504_700 + 1_585_873
    # at ±4 % Brooklyn + Staten Island fits (2,973,430 ≥ 0.96 × 3,087,455)
    ok = stuck_units(
        counties["population"], adj, 0.96 * mean, 1.04 * mean, candidates=["36047"]
    )
    assert ok.empty


def test_zctas() -> None:
    z = bg.us_zctas(FOLDER)
    assert len(z) == 32_845
    assert int(z["population"].sum()) == 308_739_931  # README: 308.74 M
    assert (z["population"] > 0).all()
    assert (z.geometry.geom_type == "Point").all()
    assert not z.index.str[:3].astype(int).isin(range(6, 10)).any()  # no PR
    lower48 = bg.us_zctas(FOLDER, region="lower48")
    pre = lower48.index.str[:3].astype(int)
    assert not (pre.isin(range(967, 969)) | pre.isin(range(995, 1000))).any()
    kept = bg.us_zctas(FOLDER, region="all", drop_empty=False)
    assert len(kept) == 33_120


def test_candidate_centers_follow_population_and_seed() -> None:
    z = bg.us_zctas(FOLDER, region="lower48")
    sub = z[z.index.str.startswith("0")]  # New England, NJ: ~2,100 ZCTAs
    a = bg.candidate_centers(sub, 50, seed=3)
    b = bg.candidate_centers(sub, 50, seed=3)
    assert a.equals(b)
    assert 40 <= len(a) <= 50 and a.isin(sub.index).all()
    # each candidate is the heaviest ZCTA of its cell: far above the median
    assert sub.loc[a, "population"].median() > 3 * sub["population"].median()


def test_geo_family_globs_exactly_the_two_instances() -> None:
    files = _expand(FOLDER, FAMILIES["geo"].pattern)
    assert [f.name for f in files] == [bg.COUNTY_FILE, bg.ZCTA_FILE]


def test_island_links_connect_every_piece(counties: pd.DataFrame) -> None:
    adj, links = bg.unit_adjacency(counties)
    assert adj.n_components == 1
    pairs = {frozenset((a, b)) for a, b, _ in links}
    assert frozenset(("36047", "36085")) in pairs  # Brooklyn – Staten Island
    km = np.array([d for *_, d in links])
    assert (km > 0).all()


def test_a_csv_without_the_zcta_columns_is_named(tmp_path: Path) -> None:
    """Another CSV of the folder (us_cities_top1k.csv) gave KeyError ['zcta']."""
    f = tmp_path / "us_cities.csv"
    f.write_text("city,state,population,lat,lon\nAustin,TX,1,30.2,-97.7\n")
    msg = (
        r"us_cities\.csv: not a valid geo instance: the ZCTA table needs the "
        r"columns \['zcta', 'pop2010', 'aland_sqmi', 'lat', 'lon'\]"
    )
    with pytest.raises(ValueError, match=msg):
        bg.us_zctas(f)
    with pytest.raises(ValueError, match=msg):
        bg.check_file(f)
    with pytest.raises(ValueError, match=msg):
        bg.solve_file(f, time_limit=1)


def test_a_geojson_without_the_county_fips_is_named_before_any_solve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (QA round 9): austin_tx_zipcodes.geojson passed check_file
    and the run died in us_counties with a bare KeyError 'STATE'."""
    import json

    import terrakit as tk

    monkeypatch.setattr(bg, "solve_file", lambda *a, **k: pytest.fail("solved"))
    f = tmp_path / "us_zipcodes.geojson"
    feature = {
        "type": "Feature",
        "properties": {"zipcode": "78754", "name": "AUSTIN"},
        "geometry": {"type": "Point", "coordinates": [-97.6, 30.4]},
    }
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    (tmp_path / bg.COUNTY_POPULATION_FILE).write_text("GEOID\tPOP10\n")
    msg = (
        f"{f}: not a valid geo instance: the county polygons need the county "
        "FIPS, as a feature 'id' or the properties 'STATE' and 'COUNTY'; its "
        "first feature has ['zipcode', 'name', 'geometry']; pass "
        "us_counties_fips.geojson or zcta_2010_pop_area_centroid.csv"
    )
    with pytest.raises(ValueError) as err:
        tk.benchmarks.run("geo", [f], time_limit=1)
    assert str(err.value) == msg
    # the real county file passes
    bg.check_file(FOLDER / bg.COUNTY_FILE)


def test_a_plan_outside_the_band_is_no_solution(
    counties: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's "infeasible" is its closest plan, not a proof (a proof
    raises): the row says "no_solution", as run() documents."""
    from types import SimpleNamespace

    import terrakit.design

    def fake(units, **kw):
        assign = pd.Series(0, index=units.index)
        return SimpleNamespace(
            alignment=SimpleNamespace(assignment=assign),
            centers=pd.Series([units.index[0]], index=[0]),
            objective=1.0,
            lower_bound=0.0,
            gap=1.0,
            status="infeasible",
            max_deviation=0.5,
            seconds=0.1,
            method="heuristic",
            info={},
        )

    monkeypatch.setattr(terrakit.design, "align", fake)
    row = bg.solve_file(
        FOLDER / bg.COUNTY_FILE, time_limit=5, contiguity=False, split="none"
    )
    assert (row["status"], row["feasible"]) == ("no_solution", False)


@pytest.mark.filterwarnings("ignore::terrakit.exceptions.TimeLimitWarning")
def test_the_solution_names_each_territorys_center(tmp_path: Path) -> None:
    """Regression (QA round 18): the row held only the territory of each unit,
    not the centers its value (Σ population · km² to the territory's center)
    is measured to, so the value could not be checked.  Los Angeles (ZCTAs
    900xx), 5 territories: the value is recomputed from the row alone."""
    from terrakit.data import geo

    f = tmp_path / bg.ZCTA_FILE
    lines = (FOLDER / bg.ZCTA_FILE).read_text().splitlines()
    f.write_text(
        "\n".join([lines[0]] + [x for x in lines[1:] if "90000" <= x[:5] < "91000"])
    )
    row = bg.solve_file(f, time_limit=5, n_territories=5, n_candidates=50)
    sol = row["solution"]
    assert sorted(sol["centers"]) == sorted(set(sol["territory"].values()))
    z = bg.us_zctas(f)
    ids = [str(u) for u in z.index]
    assert set(sol["centers"].values()) <= set(ids)
    ll = z.to_crs(4326).geometry
    km = geo.haversine_matrix(ll.x, ll.y, ll.x, ll.y)
    at = {u: i for i, u in enumerate(ids)}
    center = [at[sol["centers"][sol["territory"][u]]] for u in ids]
    value = float((z["population"].to_numpy() * km[range(len(ids)), center] ** 2).sum())
    assert value == pytest.approx(row["value"], rel=1e-9)

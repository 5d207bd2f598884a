"""Synthetic studies: sizes, consistency, determinism and scale."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from terrakit.data.study import Study
from terrakit.data.synthetic import synthetic_region, toy_grid
from terrakit.exceptions import TerrakitWarning


@pytest.fixture(scope="module")
def region_500() -> Study:
    """500 postal areas, 2,000 accounts, 5 reps, 6 months of history (seed 7)."""
    return synthetic_region(
        n_units=500, n_accounts=2000, n_reps=5, seed=7, history_months=6
    )


def _accounts_inside(study: Study) -> np.ndarray:
    acc = study.accounts
    geoms = study.units.geometry.reindex(acc["unit_id"]).to_numpy()
    return shapely.contains_xy(geoms, acc["lon"].to_numpy(), acc["lat"].to_numpy())


def test_sizes_and_ids(region_500: Study) -> None:
    s = region_500
    assert len(s.units) == 500 and s.units.index.is_unique
    assert len(s.accounts) == 2000 and s.accounts.index.is_unique
    assert len(s.reps) == 5 and s.reps.index.is_unique
    assert s.units.crs.to_epsg() == 4326
    assert (s.units.geom_type == "Polygon").all()
    assert set(s.alignments["current"].territories) == set(s.reps.index)


def test_accounts_inside_units_and_aggregates(region_500: Study) -> None:
    s = region_500
    assert _accounts_inside(s).all()
    count = s.accounts.groupby("unit_id").size().reindex(s.units.index, fill_value=0)
    assert (s.units["accounts"] == count).all()
    assert s.units["accounts"].sum() == 2000
    hours = s.accounts["calls_per_year"] * s.accounts["call_minutes"] / 60
    assert s.units["workload"].sum() == pytest.approx(hours.sum(), abs=1.0)


def test_units_tile_the_region(region_500: Study) -> None:
    """The Voronoi cells cover the bounding box without overlaps."""
    crs = "+proj=laea +lat_0=34.5 +lon_0=-82.5 +datum=WGS84 +units=m"
    units = region_500.units.to_crs(crs)
    box = gpd.GeoSeries(
        [shapely.segmentize(shapely.box(-84.5, 33.0, -80.5, 36.0), 0.05)],
        crs="EPSG:4326",
    ).to_crs(crs)
    union = shapely.union_all(units.geometry.to_numpy())
    assert units.area.sum() == pytest.approx(union.area, rel=1e-6)
    assert union.area == pytest.approx(box.area.iloc[0], rel=1e-4)


def test_owner_matches_current_alignment(region_500: Study) -> None:
    s = region_500
    terr = s.alignments["current"].assignment.reindex(s.accounts["unit_id"])
    assert (terr.to_numpy() == s.accounts["rep_id"].to_numpy()).all()
    homes = s.reps["home_unit"]
    assert all(s.alignments["current"][u] == r for r, u in homes.items())


def test_history(region_500: Study) -> None:
    h = region_500.history
    assert h["period"].dtype == pd.PeriodDtype("M")
    assert len(h) == 2000 * 6
    assert str(h["period"].max()) == "2025-12"
    assert (h["sales"] >= 0).all()


def test_same_seed_same_study() -> None:
    a = synthetic_region(n_units=300, n_accounts=900, n_reps=3, seed=11)
    b = synthetic_region(n_units=300, n_accounts=900, n_reps=3, seed=11)
    pd.testing.assert_frame_equal(a.units, b.units, check_exact=True)
    pd.testing.assert_frame_equal(a.accounts, b.accounts, check_exact=True)
    pd.testing.assert_frame_equal(a.reps, b.reps, check_exact=True)
    assert a.alignments["current"].same_assignment(b.alignments["current"])


def test_different_seed_different_study() -> None:
    a = synthetic_region(n_units=300, n_accounts=900, n_reps=3, seed=11)
    b = synthetic_region(n_units=300, n_accounts=900, n_reps=3, seed=12)
    assert not a.units.geometry.geom_equals(b.units.geometry).all()
    assert not np.array_equal(a.accounts["lon"], b.accounts["lon"])


def test_20k_units() -> None:
    s = synthetic_region(n_units=20_000, n_accounts=40_000, n_reps=40, seed=3)
    assert len(s.units) == 20_000
    assert s.alignments["current"].n_territories == 40
    assert _accounts_inside(s).all()


@pytest.mark.slow
def test_100k_units() -> None:
    s = synthetic_region(n_units=100_000, n_reps=200, seed=3)
    assert len(s.units) == 100_000 and len(s.accounts) == 500_000


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"n_units": 1}, "n_units must be at least 2"),
        ({"n_units": 10, "n_reps": 11}, "n_reps must be in [1, n_units=10]"),
        ({"rural_share": 1.5}, "rural_share must be in [0, 1]"),
        ({"bbox": (10.0, 5.0, 0.0, 6.0)}, "bbox must be"),
    ],
)
def test_bad_arguments(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[")):
        synthetic_region(**kwargs)


def test_no_clusters_is_uniform() -> None:
    s = synthetic_region(n_units=100, n_accounts=100, n_reps=2, clusters=0, seed=1)
    assert (s.units["city"] == -1).all()


def test_toy_grid() -> None:
    s = toy_grid(3, 4, n_reps=3, seed=0)
    assert list(s.units.index) == [f"u{k}" for k in range(1, 13)]
    assert s.units.crs.to_epsg() == 32617
    assert s.units.area.round().eq(1e8).all()
    assert s.alignments["current"].n_territories == 3
    assert s.accounts["unit_id"].isin(s.units.index).all()
    assert len(s.history) == 12 * len(s.accounts)
    with pytest.raises(ValueError, match="n_reps <= n_rows"):
        toy_grid(2, 2, n_reps=5)


def test_arguments_are_checked_up_front() -> None:
    """n_units=2e2 or n_reps=4.0 failed deep inside numpy; history_months=2.5,
    a bbox of 3 numbers and seed='2024' too, with unrelated messages."""
    a = synthetic_region(n_units=2e2, n_reps=4.0, seed=1, n_accounts=100.0)
    b = synthetic_region(n_units=200, n_reps=4, seed=1, n_accounts=100)
    assert a.equals(b)
    for kw, match in [
        ({"history_months": 2.5}, r"history_months must be a whole number, got 2\.5"),
        ({"n_units": 200.5}, r"n_units must be a whole number"),
        ({"bbox": (-84, 33, -80)}, r"bbox must be 4 numbers"),
        ({"bbox": "abcd"}, r"bbox must be 4 numbers"),
        ({"seed": "2024"}, r"seed must be a whole number, got '2024'"),
        ({"seed": -1}, r"seed must be >= 0"),
        ({"n_reps": True}, r"n_reps must be a whole number"),
    ]:
        args = {"n_units": 20, "n_reps": 2, "seed": 1, **kw}
        with pytest.raises(ValueError, match=match):
            synthetic_region(**args)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((3, 3, 2), {"seed": None}, "toy_grid: seed must be a whole number, got None"),
        (
            (2.5, 3, 2),
            {},
            "toy_grid: n_rows must be a whole number, got 2.5; pass n_rows=2 or "
            "n_rows=3",
        ),
        ((3, 3, 2, -1), {}, "toy_grid: seed must be >= 0, got -1"),
        ((3, "3", 2), {}, "toy_grid: n_cols must be a whole number, got '3'"),
        ((3, 3, True), {}, "toy_grid: n_reps must be a whole number, got True"),
    ],
)
def test_toy_grid_arguments_are_checked_like_synthetic_region(
    args: tuple, kwargs: dict, message: str
) -> None:
    """seed=None made a different grid on every call (provenance seed None);
    n_rows=2.5 or seed=-1 failed inside numpy naming no argument."""
    with pytest.raises(ValueError) as info:
        toy_grid(*args, **kwargs)
    assert str(info.value) == message
    # whole-number floats pass, as for synthetic_region
    assert toy_grid(3.0, 3, 2.0, seed=1).equals(toy_grid(3, 3, 2, seed=1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"rural_share": "0.3"},
            r"rural_share must be a number in \[0, 1\], got '0.3'",
        ),
        ({"rural_share": float("nan")}, r"rural_share must be a finite number"),
        ({"capacity_hours": -100}, r"capacity_hours \(every rep's yearly hours\)"),
        ({"capacity_hours": 0}, r"capacity_hours .* must be > 0, got 0"),
        ({"capacity_hours": float("nan")}, r"capacity_hours must be a finite number"),
        ({"capacity_hours": "1600"}, r"capacity_hours must be a number > 0"),
    ],
)
def test_share_and_capacity_checked_up_front(kwargs: dict, match: str) -> None:
    """rural_share='0.3' was a bare TypeError; capacity_hours=-100 or NaN was
    blamed on a 'reps' table the caller never passed, with 'drop the rows'."""
    with pytest.raises(ValueError, match=r"^synthetic_region: ") as err:
        synthetic_region(n_units=20, n_reps=2, seed=1, **kwargs)
    assert err.match(match)
    assert "reps." not in str(err.value) and "drop the rows" not in str(err.value)


def test_fractional_sizes_suggest_only_valid_numbers() -> None:
    """n_units=-2.5 suggested 'pass n_units=-2 or n_units=-1'."""
    with pytest.raises(ValueError, match="n_units must be a whole number") as err:
        synthetic_region(n_units=-2.5, n_reps=1, seed=1)
    assert "n_units=-" not in str(err.value)
    assert err.match("at least 2")
    with pytest.raises(ValueError, match=r"got 1\.5; pass n_units=2$"):
        synthetic_region(n_units=1.5, n_reps=1, seed=1)
    with pytest.raises(ValueError, match=r"pass n_reps=2 or n_reps=3$"):
        synthetic_region(n_units=20, n_reps=2.5, seed=1)
    # never a value the range check refuses next (suggested n_reps=11 of 10)
    with pytest.raises(ValueError, match=r"got 10\.5; pass n_reps=10$"):
        synthetic_region(n_units=10, n_reps=10.5, seed=1)
    with pytest.raises(ValueError, match=r"got 4\.5; pass n_reps=4$"):
        toy_grid(2, 2, n_reps=4.5)


@pytest.mark.parametrize("side", [1e-8, 5e-5])
def test_a_bbox_narrower_than_10_m_is_refused(side: float) -> None:
    """A box of 1e-8 degrees was accepted and the point draws never ended."""
    with pytest.raises(ValueError, match=r"at least 0\.0001° \(about 10 m\)"):
        synthetic_region(n_units=10, n_reps=2, seed=0, bbox=(0, 0, side, 1.0))


def test_no_clusters_records_the_real_rural_share() -> None:
    """clusters=0 with rural_share=0.0 gave an all-rural region, silently,
    while recording rural_share 0.0."""
    with pytest.warns(TerrakitWarning, match="clusters=0 draws no city"):
        s = synthetic_region(n_units=60, n_reps=2, seed=1, clusters=0, rural_share=0.0)
    assert (s.units["city"] == -1).all()
    assert s.metadata["config"]["rural_share"] == 1.0
    assert s.alignments["current"].provenance["config"]["rural_share"] == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default share: nothing to warn about
        t = synthetic_region(n_units=60, n_reps=2, seed=1, clusters=0)
    assert t.metadata["config"]["rural_share"] == 1.0
    default = synthetic_region(n_units=60, n_reps=2, seed=1)
    assert default.metadata["config"]["rural_share"] == 0.25
    assert default.equals(
        synthetic_region(n_units=60, n_reps=2, seed=1, rural_share=None)
    )


def test_capacity_hours_is_recorded() -> None:
    """capacity_hours changed the reps but neither metadata nor provenance."""
    a = synthetic_region(n_units=30, n_reps=2, seed=1, capacity_hours=1600)
    b = synthetic_region(n_units=30, n_reps=2, seed=1, capacity_hours=800)
    assert a.metadata["config"]["capacity_hours"] == 1600.0
    assert b.metadata["config"]["capacity_hours"] == 800.0
    assert b.alignments["current"].provenance["config"]["capacity_hours"] == 800.0
    assert (b.reps["capacity_hours"] == 800.0).all()
    assert not a.equals(b)


def test_same_arguments_equal_studies_provenance_included(monkeypatch) -> None:
    """Study.equals was False for equal arguments: provenance 'created' was the
    clock and 'versions' listed whatever the session had imported since."""
    import terrakit._versions as versions_mod

    a = synthetic_region(n_units=30, n_reps=2, seed=4)
    ta = toy_grid(2, 2, n_reps=2, seed=4)
    real = versions_mod.library_versions
    monkeypatch.setattr(
        versions_mod, "library_versions", lambda: {**real(), "pulp": "9.9"}
    )
    b = synthetic_region(n_units=30, n_reps=2, seed=4)
    assert a.equals(b)
    assert toy_grid(2, 2, n_reps=2, seed=4).equals(ta)
    prov = b.alignments["current"].provenance
    assert "pulp" not in prov["versions"] and "numpy" in prov["versions"]
    assert prov["created"] == a.alignments["current"].provenance["created"]


@pytest.mark.parametrize("months", [12, 30])
def test_history_2025_sums_to_annual_sales(months: int) -> None:
    """Each account's 2025 months sum to its annual_sales (they fell ~2 % short:
    the level was a December run-rate); the units' sales sum the same totals."""
    s = synthetic_region(
        n_units=60, n_accounts=240, n_reps=3, seed=3, history_months=months
    )
    h = s.history
    y2025 = h[h["period"].dt.year == 2025].groupby("account_id")["sales"].sum()
    want = s.accounts["annual_sales"]
    np.testing.assert_allclose(y2025.reindex(want.index), want, atol=0.07)
    assert len(h) == months * len(s.accounts)
    g = toy_grid(3, 4, n_reps=3, seed=0)
    tot = g.history.groupby("account_id")["sales"].sum()
    want = g.accounts["annual_sales"]
    np.testing.assert_allclose(tot.reindex(want.index), want, atol=0.07)


def test_short_history_is_the_end_of_2025() -> None:
    """Six months keep the last half of the simulated 2025, which falls short of
    the year's total by the January-June months."""
    s = synthetic_region(n_units=60, n_accounts=240, n_reps=3, seed=3, history_months=6)
    h = s.history
    assert sorted(h["period"].astype(str).unique()) == [
        f"2025-{m:02d}" for m in range(7, 13)
    ]
    share = h["sales"].sum() / s.accounts["annual_sales"].sum()
    assert 0.4 < share < 0.65

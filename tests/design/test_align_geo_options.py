"""``align`` keywords for national instances: ``adjacency`` and ``candidates``."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from terrakit.data.geo import adjacency
from terrakit.design import align, build_problem
from terrakit.design.align import MAX_CHOOSE_CELLS
from terrakit.exceptions import SpecificationError


@pytest.fixture
def two_islands() -> gpd.GeoDataFrame:
    """Two 2-unit islands far apart (lon/lat), population 1 each: k = 1
    contiguous is impossible on the geometry, possible with a ferry link."""
    boxes = [
        shapely.box(0, 0, 0.1, 0.1),
        shapely.box(0.1, 0, 0.2, 0.1),
        shapely.box(1, 0, 1.1, 0.1),
        shapely.box(1.1, 0, 1.2, 0.1),
    ]
    return gpd.GeoDataFrame(
        {"population": [1.0, 1.0, 1.0, 1.0]},
        geometry=boxes,
        index=pd.Index(["a", "b", "c", "d"], name="unit_id"),
        crs="EPSG:4326",
    )


def test_adjacency_with_links_makes_islands_joinable(
    two_islands: gpd.GeoDataFrame,
) -> None:
    # each island alone is lighter than the one territory: said before solving
    with pytest.raises(
        SpecificationError,
        match=r"the connected piece of 2 units containing unit 'a' carries 2 "
        r"population with band \[4, 4\], so it needs at least 1 territory but can "
        r"hold at most 0",
    ):
        align(two_islands, n_territories=1, balance={"population": 0.0}, time_limit=10)
    adj = adjacency(two_islands, warn=False).with_links([("b", "c")])
    res = align(
        two_islands,
        n_territories=1,
        balance={"population": 0.0},
        adjacency=adj,
        time_limit=10,
    )
    assert res.alignment.assignment.nunique() == 1


def test_candidates_restrict_chosen_centers(two_islands: gpd.GeoDataFrame) -> None:
    p = build_problem(
        two_islands,
        n_territories=2,
        balance={"population": 0.0},
        contiguity=False,
        candidates=["a", "d"],
    )
    assert p.n_centers == 2 and p.center_ids == ("a", "d")
    assert p.cost.shape == (4, 2)
    res = align(
        two_islands,
        n_territories=2,
        balance={"population": 0.0},
        contiguity=False,
        candidates=["a", "d"],
        time_limit=10,
    )
    assert sorted(res.centers.tolist()) == ["a", "d"]
    with pytest.raises(SpecificationError, match=r"candidates \['zz'\] are not"):
        build_problem(
            two_islands, n_territories=2, balance={"population": 0.1}, candidates=["zz"]
        )


def test_too_many_candidates_asks_for_a_subset() -> None:
    n = int(np.sqrt(MAX_CHOOSE_CELLS)) + 1
    pts = gpd.GeoDataFrame(
        {"population": np.ones(n)},
        geometry=gpd.points_from_xy(np.linspace(0, 1, n), np.zeros(n)),
        crs="EPSG:4326",
    )
    with pytest.raises(SpecificationError, match="pass candidates="):
        build_problem(
            pts, n_territories=3, balance={"population": 0.1}, contiguity=False
        )

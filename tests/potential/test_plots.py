"""tk.plot.potential_map and tk.plot.whitespace on a fit with mocked sampling."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from terrakit.exceptions import (
    ConvergenceWarning,
    SpecificationError,
    TerrakitWarning,
)
from terrakit.plot.potential import potential_map, whitespace
from terrakit.potential import PotentialModel


@pytest.fixture
def unit_fit(no_mcmc, grid_with_island):
    """Unit-level fit of the 3×3 grid + island, parameters from the fake sampler."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return PotentialModel().fit(grid_with_island, level="unit", seed=1)


@pytest.fixture
def account_fit(no_mcmc, grid_with_island):
    """Account-level fit of the same study (20 accounts, 2 per unit)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (TerrakitWarning, ConvergenceWarning))
        return PotentialModel().fit(grid_with_island, level="account", seed=1)


@pytest.mark.parametrize(
    "column", ["potential_mean", "whitespace", "penetration", "uncertainty"]
)
def test_potential_map_draws_every_unit(unit_fit, grid_with_island, column):
    fig, ax = plt.subplots()
    out = potential_map(unit_fit, grid_with_island, ax=ax, column=column)
    assert out is ax
    # one polygon per unit (10), coloured: none of them is missing
    n_polys = sum(len(c.get_paths()) for c in ax.collections)
    assert n_polys == 10
    assert "per unit (unit model)" in ax.get_title()
    plt.close(fig)


def test_potential_map_sums_accounts_and_greys_units_without(
    account_fit, grid_with_island
):
    """An account fit is summed per unit; every unit of the study is drawn."""
    ax = potential_map(account_fit, grid_with_island)
    frame = account_fit.to_frame("unit")
    assert len(frame) == 10 and (frame["potential_mean"] > 0).all()
    assert sum(len(c.get_paths()) for c in ax.collections) == 10
    assert "account model" in ax.get_title()
    plt.close(ax.figure)


def test_potential_map_refuses_unknown_columns(unit_fit, grid_with_island):
    with pytest.raises(ValueError, match="column must be one of"):
        potential_map(unit_fit, grid_with_island, column="sales")  # type: ignore


def test_whitespace_bars_are_the_top_whitespace_largest_on_top(unit_fit):
    ax = whitespace(unit_fit, top=4)
    f = unit_fit.to_frame().sort_values("whitespace", ascending=False).head(4)
    widths = [p.get_width() for p in ax.patches]
    assert np.allclose(widths, f["whitespace"].to_numpy()[::-1])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [str(i) for i in f.index[::-1]]
    assert "Top 4 whitespace" in ax.get_title()
    plt.close(ax.figure)


def test_whitespace_of_accounts_and_bad_top(account_fit):
    ax = whitespace(account_fit, top=3)
    assert len(ax.patches) == 3 and "account_id" in ax.get_title()
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="top must be at least 1"):
        whitespace(account_fit, top=0)


def test_top_that_is_not_a_whole_number_is_explained(account_fit):
    """``top="5"`` raised a raw TypeError from the comparison."""
    with pytest.raises(SpecificationError, match=r"top must be at least 1 .*got '5'"):
        whitespace(account_fit, top="5")  # type: ignore[arg-type]

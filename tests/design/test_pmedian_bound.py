"""The chosen-centers lower bound (terrakit.design._pmedian_bound): region
cuts and the banded Lagrangian against exact LP / MIP optima (HiGHS)."""

from __future__ import annotations

import numpy as np
import pytest

from terrakit.design._pmedian_bound import (
    band_gap,
    banded_kmedian_bound,
    region_cuts,
)


def _banded_kmedian(
    cost: np.ndarray, a: np.ndarray, k: int, lo: float, hi: float, *, integer: bool
) -> tuple[float, np.ndarray]:
    """Optimum of the banded k-median (``Σ_j x_ij = 1``, ``x_ij ≤ y_j``,
    ``Σ y = k``, ``lo·y_j ≤ Σ_i a_i x_ij ≤ hi·y_j``) by HiGHS: the MIP
    (``integer``) or its LP relaxation.  Returns the value and ``x``."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    n, m = cost.shape
    nx = n * m
    pair = np.arange(nx)
    ii, jj = pair // m, pair % m
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lb: list[np.ndarray] = []
    ub: list[np.ndarray] = []
    r0 = 0

    def add(
        r: np.ndarray, c: np.ndarray, v: np.ndarray, lo_: float, hi_: float, nr: int
    ):
        nonlocal r0
        rows.append(r0 + r)
        cols.append(c)
        vals.append(v)
        lb.append(np.full(nr, lo_))
        ub.append(np.full(nr, hi_))
        r0 += nr

    add(ii, pair, np.ones(nx), 1.0, 1.0, n)  # each unit assigned once
    add(pair, pair, np.ones(nx), -np.inf, 0.0, nx)  # x_ij - y_j <= 0
    rows[-1] = np.r_[rows[-1], r0 - nx + pair]
    cols[-1] = np.r_[cols[-1], nx + jj]
    vals[-1] = np.r_[vals[-1], -np.ones(nx)]
    for sign, limit in ((1.0, hi), (-1.0, lo)):  # bands, scaled by y_j
        add(
            np.r_[jj, np.arange(m)],
            np.r_[pair, nx + np.arange(m)],
            np.r_[sign * a[ii], np.full(m, -sign * limit)],
            -np.inf,
            0.0,
            m,
        )
    add(np.zeros(m, int), nx + np.arange(m), np.ones(m), k, k, 1)  # k centers
    mat = coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(r0, nx + m),
    ).tocsr()
    res = milp(
        np.r_[cost.ravel(), np.zeros(m)],
        constraints=LinearConstraint(mat, np.concatenate(lb), np.concatenate(ub)),
        integrality=np.full(nx + m, 1 if integer else 0),
        bounds=Bounds(0, 1),
        options={"time_limit": 60},
    )
    assert res.status == 0, res.message
    return float(res.fun), res.x[:nx].reshape(n, m)


def _island(seed: int) -> tuple[np.ndarray, np.ndarray, int, float, float]:
    """``island_k4``: 16 mainland units and 6 island units 7 away, every unit
    a candidate, 4 territories ±5 %; the island holds about 1.35
    territories, so some activity must cross the sea in every design (the LP
    opens 1.35 island centers instead)."""
    rng = np.random.default_rng(seed)
    xy = np.vstack([rng.normal(0.0, 0.4, (16, 2)), rng.normal(5.0, 0.2, (6, 2))])
    a = rng.integers(1, 10, 22).astype(float)
    a[16:] = rng.integers(6, 9, 6)
    cost = a[:, None] * ((xy[:, None] - xy[None]) ** 2).sum(-1)
    mean = a.sum() / 4
    return cost, a, 4, 0.95 * mean, 1.05 * mean


def test_band_gap_known_values() -> None:
    """Hawaii's 1.36 M against a ±3 % band around 1.03 M must send 0.30 M
    away; 2.0 M fits two territories; 0.71 M needs 0.288 M more."""
    lo, hi = 998_259.0, 1_060_007.0
    assert band_gap(1_360_301.0, lo, hi) == pytest.approx(300_294.0)
    assert band_gap(710_000.0, lo, hi) == pytest.approx(288_259.0)
    assert band_gap(2_000_000.0, lo, hi) == 0.0
    assert band_gap(0.0, lo, hi) == 0.0
    assert band_gap(50.0, 10.0, 10.0) == 0.0  # no gap without a band


def test_region_cuts_find_the_island() -> None:
    """The island is the one region: its units, its candidates, its gap and
    the cheapest crossing (the closest mainland–island pair per activity)."""
    cost, a, k, lo, hi = _island(0)
    cuts = region_cuts(cost, a, lo, hi, upper_bound=float(cost.sum()) / k)
    assert cuts is not None and cuts.n_regions == 1
    assert cuts.unit_region.tolist() == [0] * 16 + [1] * 6
    assert cuts.cand_region.tolist() == [0] * 16 + [1] * 6
    assert cuts.gap[1] == pytest.approx(band_gap(a[16:].sum(), lo, hi))
    d2 = cost / a[:, None]
    assert cuts.price[1] == pytest.approx(min(d2[16:, :16].min(), d2[:16, 16:].min()))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_region_cut_holds_in_the_optimal_design(seed: int) -> None:
    """In the MIP optimum, the activity crossing the island's border is at
    least its band gap, while the LP relaxation sends (almost) none."""
    cost, a, k, lo, hi = _island(seed)
    gap = band_gap(a[16:].sum(), lo, hi)
    assert gap > 0
    _, x = _banded_kmedian(cost, a, k, lo, hi, integer=True)
    cross = (a[16:, None] * x[16:, :16]).sum() + (a[:16, None] * x[:16, 16:]).sum()
    assert cross >= gap - 1e-6
    _, x_lp = _banded_kmedian(cost, a, k, lo, hi, integer=False)
    lp_cross = (a[16:, None] * x_lp[16:, :16]).sum()
    lp_cross += (a[:16, None] * x_lp[:16, 16:]).sum()
    assert lp_cross < 0.5 * gap


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_region_cuts_lift_the_bound_above_the_lp(seed: int) -> None:
    """With the island's cut the Lagrangian is still ≤ the MIP optimum
    (valid) but far above the LP optimum that bounds it without the cut
    (seed 0: LP 9.3, bound 491.9, MIP 583.5)."""
    cost, a, k, lo, hi = _island(seed)
    mip, _ = _banded_kmedian(cost, a, k, lo, hi, integer=True)
    lp, _ = _banded_kmedian(cost, a, k, lo, hi, integer=False)
    cuts = region_cuts(cost, a, lo, hi, upper_bound=mip)
    assert cuts is not None
    plain = banded_kmedian_bound(
        cost, k, mip, activity=a, lower=lo, upper=hi, iterations=3000
    )
    cut = banded_kmedian_bound(
        cost, k, mip, activity=a, lower=lo, upper=hi, cuts=cuts, iterations=3000
    )
    assert plain <= lp * (1 + 1e-9)
    assert cut <= mip * (1 + 1e-9)
    assert mip > 10 * lp  # the LP opens 1.35 island centers and pays nothing
    assert cut >= 0.6 * mip  # measured 0.73-0.84 (seeds 0-2)


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_banded_bound_with_cuts_below_the_mip_on_random_instances(seed: int) -> None:
    """Random points, random weights (a few heavy units), 4 territories ±3 %,
    whatever regions are found: the bound never exceeds the MIP optimum."""
    rng = np.random.default_rng(seed)
    n = 18
    xy = rng.random((n, 2)) * [4.0, 1.0]
    a = rng.integers(1, 20, n).astype(float)
    a[rng.choice(n, 3, replace=False)] *= 4
    cost = a[:, None] * ((xy[:, None] - xy[None]) ** 2).sum(-1)
    k = 4
    mean = a.sum() / k
    lo, hi = 0.97 * mean, 1.03 * mean
    try:
        mip, _ = _banded_kmedian(cost, a, k, lo, hi, integer=True)
    except AssertionError:
        pytest.skip("no banded design on this draw")
    cuts = region_cuts(cost, a, lo, hi, upper_bound=mip, min_share=0.0)
    bound = banded_kmedian_bound(
        cost, k, mip, activity=a, lower=lo, upper=hi, cuts=cuts, iterations=2000
    )
    assert bound <= mip * (1 + 1e-9)

"""Pre-solve checks of DesignProblem: each SpecificationError with its numbers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from terrakit.design.problem import DesignProblem
from terrakit.exceptions import SpecificationError


def _line(n: int, k: int = 2, **kw) -> DesignProblem:
    """``n`` units on a line, centers at both ends, unit ``i`` at x = i."""
    x = np.arange(n, dtype=float)
    centers = np.array([0, n - 1])[:k]
    kw.setdefault("activities", {"workload": np.ones(n)})
    kw.setdefault("tolerance", {"workload": 0.1})
    return DesignProblem(
        unit_ids=np.arange(n),
        n_territories=k,
        cost=(x[:, None] - x[centers][None, :]) ** 2,
        center_units=centers,
        **kw,
    )


def test_band_limits_with_targets():
    p = _line(
        4,
        activities={"w": np.array([1.0, 2, 3, 4])},
        tolerance={"w": 0.1},
        targets=[0.4, 0.6],
    )
    lo, hi = p.band_limits("w")
    np.testing.assert_allclose(lo, [3.6, 5.4])
    np.testing.assert_allclose(hi, [4.4, 6.6])


def test_unit_above_band():
    p = _line(4, activities={"workload": np.array([10.0, 1, 1, 1])})
    with pytest.raises(SpecificationError) as e:
        p.check()
    msg = str(e.value)
    assert "±10 % workload balance is impossible" in msg
    assert "unit 0 alone carries 10 workload" in msg
    assert "76.9 % of the total" in msg
    assert "1.1 × mean limit (7.15)" in msg


def test_locked_units_over_band():
    p = _line(
        6,
        activities={"workload": np.array([3.0, 3, 1, 1, 1, 3])},
        locked={1: 0, 2: 0, 3: 0},
    )
    with pytest.raises(
        SpecificationError,
        match=r"the 3 units locked to territory "
        r"0 already carry 7 workload, above its upper limit 6.6",
    ):
        p.replace(
            activities={"workload": np.array([3.0, 3, 1, 1, 1, 3])},
            locked={0: 0, 1: 0, 2: 0},
        ).check()
    p.check()  # 1+3+1 = 5 ≤ 6.6 is fine


def test_island_cannot_be_contiguous():
    adj = sp.csr_matrix(
        np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=float)
    )
    p = DesignProblem(
        unit_ids=np.array(["a", "b", "c", "d"]),
        activities={"workload": np.ones(4)},
        tolerance={"workload": 0.5},
        n_territories=2,
        cost=np.zeros((4, 2)),
        center_units=np.array([0, 2]),
        adjacency=adj,
        contiguity=True,
    )
    with pytest.raises(SpecificationError, match="unit 'd' lies in an island"):
        p.check()
    p.replace(contiguity=False).check()


def test_more_territories_than_units():
    p = DesignProblem(
        unit_ids=np.arange(2),
        activities={"w": np.ones(2)},
        n_territories=3,
        cost=np.zeros((2, 3)),
    )
    with pytest.raises(
        SpecificationError, match="3 territories requested but there are only 2 units"
    ):
        p.check()


def test_targets_must_sum_to_one():
    p = _line(4, targets=[0.5, 0.6])
    with pytest.raises(SpecificationError, match=r"they sum to 1\.1"):
        p.check()


def test_zero_total_activity():
    p = _line(4, activities={"workload": np.zeros(4)})
    with pytest.raises(SpecificationError, match="its total over all units is 0"):
        p.check()


def test_total_above_capacity():
    p = DesignProblem(
        unit_ids=np.arange(4),
        activities={"demand": np.full(4, 5.0)},
        n_territories=2,
        cost=np.zeros((4, 4)),
        center_mode="choose",
        upper={"demand": 8.0},
    )
    with pytest.raises(
        SpecificationError,
        match=r"total demand 20 exceeds what 2 territories may hold \(16\)",
    ):
        p.check()


def test_evaluate_and_violations():
    p = _line(4)
    cols = np.array([0, 0, 1, 1])
    assert p.evaluate(cols) == 2.0
    assert p.violations(cols) == []
    bad = p.violations(np.array([0, 0, 0, 1]))
    assert any("workload of territory 0 is 3" in b for b in bad)


def test_cost_matrix_copied_only_when_writeable() -> None:
    """A writeable cost is copied (changing it later does not change the
    problem); a read-only one is kept as is (no second large matrix)."""
    import numpy as np

    from terrakit.design.problem import DesignProblem

    cost = np.array([[0.0, 4.0], [4.0, 0.0]])
    p = DesignProblem.from_cost_matrix(cost, {"workload": [1.0, 1.0]})
    cost[0, 0] = 9.0
    assert p.cost[0, 0] == 0.0
    ro = np.array([[0.0, 4.0], [4.0, 0.0]])
    ro.setflags(write=False)
    q = DesignProblem.from_cost_matrix(ro, {"workload": [1.0, 1.0]})
    assert q.cost is ro
    assert not q.cost.flags.writeable

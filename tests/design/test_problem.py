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
        r"0 already carry 7 workload \(0 3 \+ 1 3 \+ 2 1\), above its upper "
        r"limit 6.6",
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


def test_unit_locked_across_pieces_names_the_lock():
    # {a, b} and {c, d} are two pieces, one center in each; d locked to the
    # center of the other piece
    adj = sp.csr_matrix(
        np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=float)
    )
    p = DesignProblem(
        unit_ids=np.array(["a", "b", "c", "d"]),
        activities={"workload": np.ones(4)},
        tolerance={"workload": 0.5},
        n_territories=2,
        cost=np.zeros((4, 2)),
        center_units=np.array([0, 2]),
        center_ids=("R1", "R2"),
        adjacency=adj,
        contiguity=True,
        locked={3: 0},
    )
    with pytest.raises(
        SpecificationError,
        match=r"unit 'd' is locked to 'R1', whose center 'a' lies in another "
        r"connected piece",
    ):
        p.check()
    p.replace(locked={3: 1}).check()


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


def _two_pieces(**kw) -> DesignProblem:
    """Two paths, 0-1-2 and 3-4-5-6-7 (no edge between them), unit weights,
    centers 0, 2 in the first and 3, 7 in the second."""
    n = 8
    e = np.array([[0, 1], [1, 2], [3, 4], [4, 5], [5, 6], [6, 7]])
    adj = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    x = np.arange(n, dtype=float)
    centers = np.array([0, 2, 3, 7])
    kw.setdefault("tolerance", {"workload": 0.1})
    return DesignProblem(
        unit_ids=np.arange(n),
        activities={"workload": np.ones(n)},
        n_territories=4,
        cost=(x[:, None] - x[centers][None, :]) ** 2,
        center_units=centers,
        adjacency=(adj + adj.T).tocsr(),
        contiguity=True,
        **kw,
    )


def test_piece_too_light_for_its_fixed_centers():
    # mean 2, band [1.8, 2.2]: the first piece carries 3, its two centers need 3.6
    with pytest.raises(SpecificationError) as e:
        _two_pieces().check()
    assert str(e.value) == (
        "±10 % workload balance is impossible with contiguity: the connected piece "
        "of 3 units containing unit 0 carries 3 workload and holds the 2 "
        "territories 0, 2; 3 is below the sum of their lower limits (3.6; they "
        "may hold 3.6–4.4). A territory cannot leave its piece: loosen the "
        "tolerance, move a center between pieces, link the pieces "
        "(Adjacency.with_links, or tk.data.geo.adjacency(units, snap_m=500) where "
        "polygons from different sources almost touch) or set contiguity=False"
    )
    # ±50 %: [1, 3] per territory, the first piece may hold 2-6 and the
    # second 2-6: both fit
    _two_pieces(tolerance={"workload": 0.5}).check()
    _two_pieces().replace(contiguity=False).check()


def test_pieces_need_whole_numbers_of_chosen_territories():
    p = _two_pieces().replace(
        center_mode="choose",
        cost=np.zeros((8, 8)),
        center_units=np.arange(8),
        center_ids=None,
        territory_ids=None,
        n_territories=2,
        tolerance={"workload": 0.2},
    )
    # mean 4, band [3.2, 4.8]: the piece of 3 cannot make a whole territory
    with pytest.raises(SpecificationError) as e:
        p.check()
    assert str(e.value) == (
        "the bands are impossible with contiguity: the connected piece of 3 units "
        "containing unit 0 carries 3 workload with band [3.2, 4.8], so it needs "
        "at least 1 territory but can hold at most 0. A territory cannot leave "
        "its piece: loosen the tolerance, link the pieces (Adjacency.with_links, "
        "or tk.data.geo.adjacency(units, snap_m=500) where polygons from "
        "different sources almost touch) or set contiguity=False"
    )
    # one territory for two pieces: each piece needs one of its own
    with pytest.raises(
        SpecificationError,
        match=r"the 2 connected pieces need between 2 and 8 territories in all "
        r"\(each piece a whole number of territories within the bands\), not 1",
    ):
        p.replace(n_territories=1, tolerance={}).check()
    # ±60 %: [1.6, 6.4]; the pieces hold 1 and 1-3 territories: 2 fit
    p.replace(tolerance={"workload": 0.6}).check()


def test_pieces_and_restrict_keep_every_band():
    p = _two_pieces(tolerance={"workload": 0.5})
    parts = p.pieces()
    assert [(u.tolist(), c.tolist()) for u, c in parts] == [
        ([0, 1, 2], [0, 1]),
        ([3, 4, 5, 6, 7], [2, 3]),
    ]
    units, centers = parts[1]
    sub = p.restrict(units, centers)
    lo, hi = p.band_limits("workload")
    np.testing.assert_allclose(sub.band_limits("workload"), (lo[2:], hi[2:]))
    assert sub.center_ids == (3, 7) and sub.center_units.tolist() == [0, 4]
    assert sub.adjacency.nnz == 8 and sub.cost.shape == (5, 2)
    # a plan of the part breaks exactly the bands it breaks in the whole,
    # and names the territories alike (by their ids, 3 and 7)
    whole = np.array([0, 0, 1, 2, 2, 2, 2, 3])
    assert (
        sub.violations(whole[units] - 2)
        == [
            v for v in p.violations(whole) if "territory 3 " in v or "territory 7 " in v
        ]
        != []
    )
    # side budgets couple the pieces: no split
    budget = {"b": (np.ones((8, 4)), 100.0)}
    assert len(p.replace(budgets=budget).pieces()) == 1
    with pytest.raises(ValueError, match="cannot split side budgets"):
        p.replace(budgets=budget).restrict(units, centers)
    assert len(p.replace(contiguity=False).pieces()) == 1


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"draws_tolerance": float("nan")}, r"draws_tolerance must be a number in \["),
        ({"draws_tolerance": -0.1}, r"draws_tolerance must be .*got -0\.1"),
        ({"draws_tolerance": 1.0}, r"draws_tolerance must be .*got 1\.0"),
        ({"draws_share": "0.9"}, r"draws_share must be a number in \(0, 1\]"),
        ({"draws_share": True}, r"draws_share must be .*got True"),
    ],
)
def test_draw_settings_checked_in_the_matrix_form(kw, message):
    """The matrix form checks the draw settings as align does (a NaN
    tolerance passed, and the draw band was then never met)."""
    draws = np.ones((4, 3))
    kw = {"draws_tolerance": 0.1, **kw}
    with pytest.raises(SpecificationError, match=message):
        _line(4, draws=draws, **kw)


def test_draws_need_one_column_per_draw_and_a_row_per_unit():
    from terrakit.exceptions import DataValidationError

    with pytest.raises(DataValidationError, match=r"^draws: no draws: shape \(4, 0\)"):
        _line(4, draws=np.ones((4, 0)), draws_tolerance=0.1)
    with pytest.raises(
        DataValidationError,
        match=r"^draws: expected \(n_units=4, n_draws\), got shape \(3, 4\)\. Fix: "
        r"give one row per unit and one column per draw \(transpose it: \.T\)",
    ):
        _line(4, draws=np.ones((3, 4)), draws_tolerance=0.1)
    p = _line(4, draws=np.ones((4, 3)), draws_tolerance="0.1", draws_share=1)
    assert p.draws_tolerance == 0.1 and p.draws_share == 1.0


def _path(n: int, **kw) -> DesignProblem:
    """``_line`` with contiguity on a path graph and rep ids ``A``/``B``."""
    adj = sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")
    kw.setdefault("center_ids", ("A", "B"))
    return _line(n, adjacency=adj, contiguity=True, **kw)


def test_home_unit_locked_to_another_rep_is_refused():
    # unit 0 is the root of A; locked to B it can never be in A's territory
    p = _path(6, locked={0: 1})
    with pytest.raises(
        SpecificationError,
        match=r"unit 0 is locked to 'B', but it is the home unit of 'A' .*lock "
        r"it to 'A', move the home_unit of 'A', or set contiguity=False",
    ):
        p.check()
    p.replace(locked={0: 0}).check()
    p.replace(contiguity=False).check()


def test_home_unit_beyond_its_centers_distance_is_refused():
    allowed = np.ones((6, 2), dtype=bool)
    allowed[0, 0] = False  # A's own root unit is too far from A
    p = _path(6, allowed=allowed)
    with pytest.raises(
        SpecificationError,
        match=r"the home unit 0 of 'A' .* is beyond the maximum distance from the "
        r"center of 'A'",
    ):
        p.check()
    p.replace(contiguity=False).check()


def test_too_little_reachable_activity_is_explained():
    # A may reach units 0 and 1 only (2 workload); its lower limit is 2.7
    allowed = np.ones((6, 2), dtype=bool)
    allowed[2:, 0] = False
    p = _line(6, allowed=allowed, center_ids=("A", "B"))
    with pytest.raises(
        SpecificationError,
        match=r"±10 % workload balance is impossible: 'A' may reach only 2 units "
        r"\(0 of them locked to it\) .* carrying 2 workload \(33.3 % of the total "
        r"6\), below its lower limit 2.7",
    ):
        p.check()
    allowed[2, 0] = True
    p.replace(allowed=allowed).check()


def test_violations_name_the_reps_not_columns():
    p = _path(4, locked={1: 0})
    bad = p.violations(np.array([1, 1, 1, 1]))
    assert "unit 1 is locked to 'A' but assigned to 'B'" in bad
    assert (
        "center unit 0 (the root of 'A') not in its territory: assigned to 'B'" in bad
    )


def test_home_unit_above_its_band_is_caught_without_locks():
    """With contiguity each territory holds its home unit, so a home unit
    above its territory's upper limit makes the bands impossible even with
    no lock (the check used to run only with locks)."""
    p = _path(6, activities={"workload": np.array([5.0, 1, 1, 1, 1, 1])})
    p = p.replace(targets=[0.4, 0.6])  # A's upper limit 1.1 × 0.4 × 10 = 4.4
    with pytest.raises(
        SpecificationError,
        match=r"±10 % workload balance is impossible: the home unit of territory "
        r"'A' already carries 5 workload \(0 5 \(home unit\)\), above its upper "
        r"limit 4.4; with contiguity a territory holds its home unit",
    ):
        p.check()
    p.replace(contiguity=False).check()


def test_territory_that_no_unit_fits_is_caught_with_the_numbers():
    """Targets that leave a territory no possible unit: every unit is above
    its upper limit while its lower limit is above 0."""
    p = _line(
        4,
        activities={"workload": np.array([10.0, 10, 10, 10])},
        targets=[0.95, 0.05],  # B: [1.8, 2.2], every unit carries 10
        center_ids=("A", "B"),
    )
    with pytest.raises(
        SpecificationError,
        match=r"±10 % workload balance is impossible: territory 'B' must hold "
        r"between 1.8 and 2.2 workload, but no unit fits in it: the smallest "
        r"unit it may take, 0, carries 10; raise its target",
    ):
        p.check()


def test_unit_above_an_explicit_capacity_names_the_capacity_fix():
    """An explicit upper (a capacity) has no tolerance and does not grow with
    fewer territories: the fix is raising it or splitting the unit."""
    n, k = 6, 3
    p = DesignProblem(
        unit_ids=np.arange(n),
        activities={"demand": np.array([3.0, 4, 5, 25, 2, 1])},
        n_territories=k,
        cost=np.ones((n, n)),
        center_mode="choose",
        center_units=np.arange(n),
        upper={"demand": np.full(k, 20.0)},
    )
    with pytest.raises(SpecificationError) as err:
        p.check()
    assert str(err.value) == (
        "demand band is impossible: unit 3 alone carries 25 demand (62.5 % of "
        "the total, 1.875 × the mean), above the largest upper band 20; raise "
        "the capacity (upper) to ≥ 25 or split the unit"
    )


def _chosen(n: int, k: int, locked: dict[int, int]) -> DesignProblem:
    """``n`` units on a line, each a candidate center, ``k`` chosen."""
    x = np.arange(n, dtype=float)
    return DesignProblem(
        unit_ids=np.array([f"u{i + 1}" for i in range(n)]),
        activities={"workload": np.ones(n)},
        tolerance={"workload": 0.5},
        n_territories=k,
        cost=(x[:, None] - x[None, :]) ** 2,
        center_mode="choose",
        center_units=np.arange(n),
        locked=locked,
    )


def test_locks_to_more_chosen_centers_than_territories_are_refused():
    """Locks open their centers: three locked centers cannot fit two chosen
    territories (the heuristic raised IndexError, the MIP blamed the band)."""
    p = _chosen(6, 2, {0: 0, 3: 3, 5: 5})
    with pytest.raises(SpecificationError) as err:
        p.check()
    assert str(err.value) == (
        "units are locked to 3 different centers (u1, u4, u6) but only 2 "
        "territories are chosen; unlock units or use n_territories ≥ 3"
    )
    p.replace(n_territories=3).check()


def test_a_chosen_centers_own_unit_locked_elsewhere_is_refused():
    """u2 locked to the center in u4 opens it, and an open center serves its
    own unit; u4 locked to the center in u6 contradicts that (the MIP blamed
    the band or max_distance_km)."""
    p = _chosen(6, 3, {1: 3, 3: 5})
    with pytest.raises(SpecificationError) as err:
        p.check()
    assert str(err.value) == (
        "the locks contradict each other: unit 'u2' is locked to center 'u4', "
        "which sits in unit 'u4', but 'u4' is locked to center 'u6'; a chosen "
        "center serves its own unit: unlock 'u2', or lock 'u4' to 'u4' instead "
        "of 'u6'"
    )
    p.replace(locked={1: 3, 3: 3}).check()


def test_unit_alone_above_the_band_of_the_territory_it_is_locked_to():
    """A lock leaves the unit one territory: the message quotes that
    territory's upper limit 4.4 (it was called 'the largest upper band';
    B's 6.6 would hold the unit) and names the lock."""
    p = _line(
        6,
        activities={"workload": np.array([1.0, 1, 5, 1, 1, 1])},
        targets=[0.4, 0.6],  # upper limits 4.4 and 6.6
        center_ids=("A", "B"),
        locked={2: 0},
    )
    with pytest.raises(SpecificationError) as err:
        p.check()
    assert str(err.value) == (
        "±10 % workload balance is impossible: unit 2 alone carries 5 workload "
        "(50 % of the total, 1 × the mean), above the upper limit 4.4 of "
        "territory 'A', to which it is locked; unlock it, loosen the tolerance "
        "or split the unit"
    )
    p.replace(locked={}).check()


def test_unit_alone_above_the_band_of_the_only_territory_in_reach():
    """The maximum distance leaves the unit one territory: the message names
    it and the fix is raising max_distance_km."""
    allowed = np.ones((6, 2), dtype=bool)
    allowed[2, 1] = False
    p = _line(
        6,
        activities={"workload": np.array([1.0, 1, 5, 1, 1, 1])},
        targets=[0.4, 0.6],
        center_ids=("A", "B"),
        allowed=allowed,
    )
    with pytest.raises(SpecificationError) as err:
        p.check()
    assert str(err.value) == (
        "±10 % workload balance is impossible: unit 2 alone carries 5 workload "
        "(50 % of the total, 1 × the mean), above the upper limit 4.4 of "
        "territory 'A', the only one within the maximum distance; raise "
        "max_distance_km, loosen the tolerance or split the unit"
    )


# -- QA round 19: edge weights, unit distances and warm starts checked -------------


def _grid_adjacency(weight: float) -> sp.csr_matrix:
    """3×3 rook grid of unit weights, the edge between units 0 and 1 at
    ``weight``."""
    a = sp.lil_matrix((9, 9))
    for y in range(3):
        for x in range(3):
            i = 3 * y + x
            if x < 2:
                a[i, i + 1] = a[i + 1, i] = 1
            if y < 2:
                a[i, i + 3] = a[i + 3, i] = 1
    a[0, 1] = a[1, 0] = weight
    return a.tocsr()


def _graph_problem(weight: float = 1.0, dist: np.ndarray | None = None, **kw):
    xy = np.array([(x, y) for y in range(3) for x in range(3)], float)
    return DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(9)]),
        activities={"pop": np.ones(9)},
        n_territories=3,
        cost=((xy[:, None] - xy[None]) ** 2).sum(-1),
        tolerance={"pop": 0.0},
        center_mode="choose",
        center_units=np.arange(9),
        adjacency=_grid_adjacency(weight),
        contiguity=True,
        unit_distance=dist,
        **kw,
    )


@pytest.mark.parametrize("weight", [np.nan, -5.0, np.inf])
def test_edge_weights_must_be_finite_and_positive(weight: float) -> None:
    """Regression (QA round 19): a NaN weight made the cut NaN (status
    "time_limit"), a negative one made cutting its edge pay ("optimal" at 0)."""
    with pytest.raises(SpecificationError) as err:
        _graph_problem(weight, objective="cut_edges")
    text = str(err.value)
    assert "adjacency has 1 edge weight(s) that are not finite numbers > 0" in text
    assert f"'u0'–'u1': {weight:g}" in text
    assert "Fix: give those edges a weight > 0" in text


@pytest.mark.parametrize("value", [np.nan, -1.0])
def test_unit_distance_must_be_finite_and_not_negative(value: float) -> None:
    """Regression (QA round 19): a NaN distance was accepted, and the
    diameter search treated that pair as never conflicting."""
    xy = np.array([(x, y) for y in range(3) for x in range(3)], float)
    d = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))
    d[0, 8] = d[8, 0] = value
    with pytest.raises(SpecificationError) as err:
        _graph_problem(dist=d, objective="diameter")
    text = str(err.value)
    assert "unit_distance has 2 entries that are not finite numbers >= 0" in text
    assert f"'u0'–'u8': {value:g}" in text
    assert "Fix: give every pair of units its distance" in text


def test_check_start_names_the_length_and_the_bad_entries() -> None:
    """Regression (QA round 19): a start of the wrong length crashed the
    cut-edge model (bare IndexError) and unit ids a bare int() ValueError."""
    p = _graph_problem(objective="cut_edges")
    plan = [0, 0, 0, 3, 3, 3, 6, 6, 6]
    assert p.check_start(np.array(plan, dtype=float)).tolist() == plan
    with pytest.raises(SpecificationError, match=r"start has 12 entries for the 9 "):
        p.check_start(np.zeros(12, dtype=int))
    with pytest.raises(SpecificationError, match=r"start has 5 entries for the 9 "):
        p.check_start([0] * 5)
    with pytest.raises(SpecificationError) as err:
        p.check_start(["u1"] * 9)
    text = str(err.value)
    assert "start must hold whole center columns in [0, 9); 9 of its 9" in text
    assert "unit 'u0': 'u1'" in text and "those are center ids" in text
    with pytest.raises(SpecificationError, match=r"unit 'u2': 9, unit 'u4': 1.5"):
        p.check_start([0, 0, 9, 3, 1.5, 3, 6, 6, 6])


def _chosen_line(n: int, k: int, **kw) -> DesignProblem:
    """``n`` units on a line, every unit a candidate center (chosen centers)."""
    x = np.arange(n, dtype=float)
    kw.setdefault("activities", {"w": np.ones(n)})
    return DesignProblem(
        unit_ids=np.arange(n),
        n_territories=k,
        cost=(x[:, None] - x[None, :]) ** 2,
        center_mode="choose",
        center_units=np.arange(n),
        **kw,
    )


@pytest.mark.parametrize(
    ("upper", "spread"), [([3.0, 100.0], "3 to 100"), ([3.0, np.inf], "3 to inf")]
)
def test_chosen_centers_refuse_unequal_upper_limits(upper, spread) -> None:
    """Regression (QA round 19): only the lower limits were compared, so
    upper=[3, 100] passed and the MIP then 'proved' infeasibility although a
    3 + 5 plan meets the limits (upper=[100, 3] solved optimal)."""
    p = _chosen_line(8, 2, upper={"w": upper})
    with pytest.raises(SpecificationError) as err:
        p.check()
    assert str(err.value) == (
        f"band on 'w' differs between territories (its upper limits run from "
        f"{spread}); with chosen centers every territory needs the same band: "
        "give every territory the same upper limit, or use fixed centers (one "
        "per territory)"
    )
    _chosen_line(8, 2, upper={"w": [5.0, 5.0]}).check()
    _chosen_line(8, 2, upper={"w": [np.inf, np.inf]}).check()


@pytest.mark.parametrize("explicit", [False, True])
def test_chosen_center_locks_above_the_upper_band(explicit: bool) -> None:
    """Regression (QA round 19): with chosen centers, four units of 10 locked
    to the center in unit 0 (which also serves its own unit: 50) above the
    ±10 % band (33) were not caught before solving: the MIP failed after
    solving without numbers, the heuristic returned an infeasible plan."""
    kw: dict = (
        {"upper": {"w": np.full(4, 33.0)}} if explicit else {"tolerance": {"w": 0.1}}
    )
    p = _chosen_line(
        12,
        4,
        activities={"w": np.full(12, 10.0)},
        locked={1: 0, 2: 0, 3: 0, 4: 0},
        **kw,
    )
    with pytest.raises(SpecificationError) as err:
        p.check()
    head = "±10 % w balance" if not explicit else "w band"
    fix = "raise the capacity (upper) to ≥ 50" if explicit else "loosen the tolerance"
    assert str(err.value) == (
        f"{head} is impossible: the 4 units locked to center 0 and its own unit "
        "already carry 50 w (1 10 + 2 10 + 3 10 + 4 10 + 0 10 (own unit)), above "
        f"its upper limit 33; unlock some of them or {fix}"
    )
    p.replace(locked={1: 0, 2: 0}).check()  # 30 ≤ 33 is fine


def test_chosen_centers_need_k_candidates_whose_unit_is_free() -> None:
    """A candidate whose own unit is locked to another center cannot open (an
    open center serves its own unit): with 3 units, 3 territories and unit 1
    locked to the center in unit 2, only 2 centers may open."""
    p = _chosen_line(3, 3, locked={1: 2})
    with pytest.raises(SpecificationError) as err:
        p.check()
    assert str(err.value) == (
        "3 territories requested but only 2 of the 3 candidate centers may open: "
        "1 (1) sit in units locked to other centers, and a chosen center serves "
        "its own unit; unlock those units or use n_territories ≤ 2"
    )
    _chosen_line(3, 2, locked={1: 2}).check()


def _strip(mode: str, locked: dict, n: int = 5) -> DesignProblem:
    """``n`` units in a row (rook adjacency), two territories: fixed centers
    'west' and 'east' rooted in the end units, or every unit a candidate."""
    a = sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")
    x = np.arange(n, dtype=float)
    cols = np.array([0, n - 1]) if mode == "fixed" else np.arange(n)
    return DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(n)]),
        activities={"workload": np.ones(n)},
        n_territories=2,
        cost=(x[:, None] - x[cols][None, :]) ** 2,
        center_mode=mode,
        center_units=cols,
        center_ids=("west", "east") if mode == "fixed" else None,
        adjacency=a,
        contiguity=True,
        locked=locked,
    )


def test_locks_that_contiguity_cannot_join_are_named() -> None:
    """Regression (QA round 19): on a 1 × 5 strip, u1 locked to the east rep
    and u3 to the west one cannot both reach their roots; the MIP blamed the
    band ('the band ... cannot be met together with contiguity and the
    locks', and with no band 'loosen the tolerances')."""
    with pytest.raises(SpecificationError) as err:
        _strip("fixed", {1: 1, 3: 0}).check()
    assert str(err.value) == (
        "contiguity is impossible with the locks: unit 'u3' is locked to "
        "territory 'west', but every adjacency path from it to 'u0', the root "
        "unit of 'west', crosses units of other territories: 'u1' (locked to "
        "'east'); unlock 'u3' or 'u1', or set contiguity=False"
    )
    _strip("fixed", {1: 0, 3: 1}).check()
    _strip("fixed", {2: 1, 3: 1}).check()


def test_lock_paths_name_a_home_unit_in_the_way() -> None:
    """The unit in the way may be another territory's root (its home unit):
    the fix is then to move that home, not to unlock it."""
    with pytest.raises(SpecificationError) as err:
        _strip("fixed", {4: 0}).replace(center_units=np.array([0, 2])).check()
    assert str(err.value) == (
        "contiguity is impossible with the locks: unit 'u4' is locked to "
        "territory 'west', but every adjacency path from it to 'u0', the root "
        "unit of 'west', crosses units of other territories: 'u2' (home unit of "
        "'east'); unlock 'u4', move the home_unit of 'east', or set "
        "contiguity=False"
    )


def test_lock_paths_with_chosen_centers() -> None:
    """Chosen centers: a lock opens its center, rooted in the center's unit."""
    with pytest.raises(SpecificationError) as err:
        _strip("choose", {1: 4, 3: 0}).check()
    assert str(err.value) == (
        "contiguity is impossible with the locks: unit 'u3' is locked to center "
        "'u0', but every adjacency path from it to 'u0', the root unit of 'u0', "
        "crosses units of other centers' territories: 'u1' (locked to 'u4'); "
        "unlock 'u3' or 'u1', or set contiguity=False"
    )
    _strip("choose", {1: 0, 3: 4}).check()


@pytest.mark.parametrize(
    ("side", "limit", "fix"),
    [("upper", [10.0, np.nan], "inf"), ("lower", np.nan, "-inf")],
)
def test_nan_band_limits_are_refused(side, limit, fix) -> None:
    """Regression (QA round 20): a NaN upper limit (a garbled capacity) was
    kept and then ignored (``load > nan`` is False), so the problem was
    solved as if unbounded and reported optimal."""
    with pytest.raises(SpecificationError) as err:
        _chosen_line(4, 2, **{side: {"w": limit}})
    where = (
        "1 of the 2 territories (positions 1)"
        if side == "upper"
        else ("2 of the 2 territories (positions 0, 1)")
    )
    assert str(err.value) == (
        f"{side} band on 'w' is NaN for {where}; give a number, or {fix} for no limit"
    )
    _chosen_line(4, 2, **{side: {"w": [-np.inf, np.inf][side == "upper"]}}).check()


@pytest.mark.parametrize("explicit", [True, False])
def test_chosen_centers_units_above_half_the_band_need_their_own_territory(
    explicit: bool,
) -> None:
    """Regression (QA round 20): units 6, 6, 6 with capacity 10 and 2 chosen
    centers passed check() (18 ≤ 2 × 10) although no two of them fit
    together; the MIP refused it only after solving, without numbers."""
    kw: dict = (
        {"upper": {"w": np.full(2, 10.0)}}
        if explicit
        else {"tolerance": {"w": 0.1}}  # 1.1 × 19 / 2 = 10.45
    )
    p = _chosen_line(4, 2, activities={"w": np.array([6.0, 6.0, 6.0, 1.0])}, **kw)
    with pytest.raises(SpecificationError) as err:
        p.check()
    head, cap, half = (
        ("w band", "10", "5")
        if explicit
        else (
            "±10 % w balance",
            "10.45",
            "5.225",
        )
    )
    fix = (
        "raise the capacity (upper) to ≥ 12, use n_territories ≥ 3 or split these units"
        if explicit
        else "loosen the tolerance or split these units"
    )
    assert str(err.value) == (
        f"{head} is impossible: 3 units carry more than {half} w, half the upper "
        f"limit {cap} (units 0 (6), 1 (6), 2 (6)), so no two of them fit in one "
        f"territory and they need 3 territories, but there are 2; {fix}"
    )
    if explicit:
        # exactly half the capacity: two of them share a territory
        p.replace(activities={"w": np.array([5.0, 5.0, 5.0, 1.0])}).check()
        # a unit of -2 makes room for two of them (6 + 6 - 2 = 10) ...
        p.replace(activities={"w": np.array([6.0, 6.0, 6.0, -2.0])}).check()
        # ... a unit of -1 does not (6 + 6 - 1 > 10)
        with pytest.raises(
            SpecificationError,
            match=r"more than 5\.5 w, half the "
            r"upper limit 10 plus the 1 w of negative units",
        ):
            p.replace(activities={"w": np.array([6.0, 6.0, 6.0, -1.0])}).check()

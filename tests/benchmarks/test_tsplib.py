"""TSPLIB reader, distance functions and tour checker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from terrakit.benchmarks import tsplib

FOLDER = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "tsplib"
BURMA = FOLDER / "burma14.tsp"


def test_distance_functions_by_hand() -> None:
    xy = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.2]])
    euc = tsplib.distance_matrix(xy, "EUC_2D")
    assert euc[0, 1] == 5 and euc[0, 2] == 2  # nint(1.562) = 2
    assert tsplib.distance_matrix(xy, "CEIL_2D")[0, 2] == 2
    att = tsplib.distance_matrix(xy, "ATT")
    # r = sqrt(25 / 10) = 1.58 -> nint 2 (t >= r, so 2)
    assert att[0, 1] == 2
    with pytest.raises(ValueError, match="not supported"):
        tsplib.distance_matrix(xy, "XRAY1")


def test_explicit_formats(tmp_path: Path) -> None:
    """Lower-diagonal and upper-row layouts of the same 3-node matrix."""
    full = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]])
    for fmt, body in (
        ("LOWER_DIAG_ROW", "0 1 0 2 3 0"),
        ("UPPER_ROW", "1 2 3"),
        ("FULL_MATRIX", "0 1 2 1 0 3 2 3 0"),
    ):
        f = tmp_path / f"t_{fmt}.tsp"
        f.write_text(
            f"NAME: t\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
            f"EDGE_WEIGHT_FORMAT: {fmt}\nEDGE_WEIGHT_SECTION\n{body}\nEOF\n"
        )
        inst = tsplib.read_instance(f)
        assert (inst.matrix == full).all(), fmt
        assert tsplib.tour_length(inst, [1, 2, 3]) == 6


@pytest.mark.skipif(not BURMA.exists(), reason="shared TSPLIB data absent")
def test_burma14_geo_and_optimum() -> None:
    inst = tsplib.read_instance(BURMA)
    assert inst.edge_weight_type == "GEO" and inst.dimension == 14
    assert inst.matrix[0, 1] == 153  # TSPLIB GEO distance of nodes 1-2
    with pytest.raises(ValueError, match="each of the 14 nodes once"):
        tsplib.tour_length(inst, [1, 2, 3])
    for backend in ("pyvrp", "ortools"):
        row = tsplib.solve_file(BURMA, time_limit=1, seed=0, backend=backend)
        assert row["status"] == "feasible"
        assert sorted(row["solution"]["tour"]) == list(range(1, 15))
        assert row["value"] == tsplib.tour_length(inst, row["solution"]["tour"])
        assert row["value"] == 3323  # proven optimum
    assert tsplib.reference_values(FOLDER)["burma14"] == 3323


@pytest.mark.skipif(not BURMA.exists(), reason="shared TSPLIB data absent")
def test_run_reaches_the_optimum_of_eil76() -> None:
    """The documented call, default backend: eil76 (EUC_2D) at its proven
    optimum 538 within the 5 s limit; the stall rule ends the search before
    the clock does, so the tour is the same in two runs."""
    import terrakit as tk

    f = FOLDER / "eil76.tsp"
    a = tk.benchmarks.run("tsplib", [f], time_limit=5, seed=0, backend="auto")
    b = tk.benchmarks.run("tsplib", [f], time_limit=5, seed=0, backend="auto")
    row = a.iloc[0]
    assert row["status"] == "feasible" and row["reference"] == 538
    assert row["value"] == 538 and row["gap_pct"] == 0.0
    assert row["seconds"] <= 5.5
    assert row["solution"] == b.iloc[0]["solution"]


def _explicit_file(tmp_path: Path, fmt: str, body: str, kind: str = "TSP") -> Path:
    f = tmp_path / "t.tsp"
    f.write_text(
        f"NAME: t\nTYPE: {kind}\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
        f"EDGE_WEIGHT_FORMAT: {fmt}\nEDGE_WEIGHT_SECTION\n{body}\nEOF\n"
    )
    return f


def test_too_many_matrix_entries_are_refused(tmp_path: Path) -> None:
    """LOWER_DIAG_ROW data (6 entries) declared UPPER_ROW (3) was read from
    its first 3 entries; now the count must match the format exactly."""
    f = _explicit_file(tmp_path, "UPPER_ROW", "0 1 0 2 3 0")
    with pytest.raises(
        ValueError,
        match=r"t\.tsp: not a valid tsplib instance: EDGE_WEIGHT_SECTION has 6 "
        r"entries, but UPPER_ROW for 3 nodes takes 3",
    ):
        tsplib.read_instance(f)
    with pytest.raises(ValueError, match=r"too short for 3 nodes .*2 entries, 3"):
        tsplib.read_instance(_explicit_file(tmp_path, "UPPER_ROW", "1 2"))


@pytest.mark.parametrize("kind", ["ATSP", "HCP", "CVRP"])
def test_only_symmetric_tsp_files_are_read(tmp_path: Path, kind: str) -> None:
    f = _explicit_file(tmp_path, "FULL_MATRIX", "0 1 2 5 0 3 2 3 0", kind=kind)
    with pytest.raises(
        ValueError, match=rf"t\.tsp: .*TYPE is '{kind}'; only symmetric"
    ):
        tsplib.read_instance(f)


def test_reference_falls_back_to_the_generic_columns(tmp_path: Path) -> None:
    """A reference.csv with the generic columns serves tsplib (no KeyError)."""
    (tmp_path / "reference.csv").write_text("instance,optimal_value\nburma14,3323\n")
    assert tsplib.reference_values(tmp_path) == {"burma14": 3323.0}

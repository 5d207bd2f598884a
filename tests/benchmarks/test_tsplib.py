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


def _matrix_file(tmp_path: Path, n: int, fmt: str, values: list[int]) -> Path:
    f = tmp_path / f"t_{fmt}.tsp"
    f.write_text(
        f"NAME: t\nTYPE: TSP\nDIMENSION: {n}\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
        f"EDGE_WEIGHT_FORMAT: {fmt}\nEDGE_WEIGHT_SECTION\n"
        f"{' '.join(map(str, values))}\nEOF\n"
    )
    return f


_N5 = 5
_D5 = np.zeros((_N5, _N5), dtype=int)
for _k, (_i, _j) in enumerate((i, j) for i in range(_N5) for j in range(i + 1, _N5)):
    _D5[_i, _j] = _D5[_j, _i] = 10 * (_k + 1)  # distinct distances


@pytest.mark.parametrize(
    ("fmt", "entries"),
    [
        # TSPLIB95 §1.1: *_COL lists a triangle column by column
        ("UPPER_COL", [(i, j) for j in range(_N5) for i in range(0, j)]),
        ("LOWER_COL", [(i, j) for j in range(_N5) for i in range(j + 1, _N5)]),
        ("UPPER_DIAG_COL", [(i, j) for j in range(_N5) for i in range(0, j + 1)]),
        ("LOWER_DIAG_COL", [(i, j) for j in range(_N5) for i in range(j, _N5)]),
    ],
)
def test_column_formats_read_column_by_column(
    tmp_path: Path, fmt: str, entries: list[tuple[int, int]]
) -> None:
    """A 5-node matrix with distinct distances written in each column format
    reads back identical (it was read as the same-named row format)."""
    inst = tsplib.read_instance(
        _matrix_file(tmp_path, _N5, fmt, [int(_D5[i, j]) for i, j in entries])
    )
    np.testing.assert_array_equal(inst.matrix, _D5)


def _coord_file(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "sq.tsp"
    f.write_text(
        "NAME: sq\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EUC_2D\n"
        f"NODE_COORD_SECTION\n{body}EOF\n"
    )
    return f


def test_coordinates_are_stored_by_node_id(tmp_path: Path) -> None:
    """Lines of NODE_COORD_SECTION in another order give the same instance."""
    shuffled = _coord_file(tmp_path, "2 10 0\n1 0 0\n4 0 10\n3 10 10\n")
    inst = tsplib.read_instance(shuffled)
    assert tsplib.tour_length(inst, [1, 2, 3, 4]) == 40
    np.testing.assert_array_equal(inst.coords, [[0, 0], [10, 0], [10, 10], [0, 10]])


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (
            "1 0 0\n1 10 0\n3 10 10\n4 0 10\n",
            r"line 7 of NODE_COORD_SECTION repeats "
            r"node id 1 \(first given on line 6\)",
        ),
        (
            "1 0 0\n2 10 0\n5 10 10\n6 0 10\n",
            r"node ids 1\.\.4 \(DIMENSION\) once "
            r"each; ids outside 1\.\.4: 5, 6 \(line 8 first\); ids missing: 3, 4",
        ),
        (
            "1 0 nan\n2 10 0\n3 10 10\n4 0 10\n",
            r"line 6 of NODE_COORD_SECTION has a "
            r"coordinate that is not a finite number: '1 0 nan'",
        ),
        ("1 0 0\n2 10 0\n3 10 inf\n4 0 10\n", r"line 8 .*not a finite number"),
    ],
)
def test_node_ids_must_be_one_to_n_and_coordinates_finite(
    tmp_path: Path, body: str, match: str
) -> None:
    with pytest.raises(ValueError, match=r"sq\.tsp: not a valid tsplib instance: "):
        tsplib.read_instance(_coord_file(tmp_path, body))
    with pytest.raises(ValueError, match=match):
        tsplib.read_instance(_coord_file(tmp_path, body))


@pytest.mark.parametrize(
    ("fmt", "body", "match"),
    [
        (
            "FULL_MATRIX",
            "0 1 2 3 0 4 5 6 0",
            r"FULL_MATRIX is not symmetric \(3 "
            r"pair\(s\) differ, e\.g\. d\(1,2\) = 1 but d\(2,1\) = 3\)",
        ),
        (
            "UPPER_ROW",
            "1 -2 3",
            r"line 7 of EDGE_WEIGHT_SECTION holds the weight "
            r"'-2'; weights are finite distances of 0 or more",
        ),
        (
            "UPPER_ROW",
            "1.4 2.5 3.5",
            r"weight '1\.4', which is not a whole number; "
            r"TSPLIB edge weights are integers",
        ),
        ("UPPER_ROW", "1 nan 3", r"weight 'nan'; weights are finite"),
    ],
)
def test_bad_weights_are_refused(
    tmp_path: Path, fmt: str, body: str, match: str
) -> None:
    with pytest.raises(ValueError, match=r"t\.tsp: not a valid tsplib instance: "):
        tsplib.read_instance(_explicit_file(tmp_path, fmt, body))
    with pytest.raises(ValueError, match=match):
        tsplib.read_instance(_explicit_file(tmp_path, fmt, body))
    # whole numbers written with a decimal point are integers
    f = _explicit_file(tmp_path, "UPPER_ROW", "1.0 2 3.00")
    assert tsplib.read_instance(f).matrix[1, 2] == 3


def test_a_binary_file_and_a_bad_dimension_name_the_file(tmp_path: Path) -> None:
    """A file that is not text raised a bare UnicodeDecodeError; a DIMENSION
    of 3.5 in a folder raised int()'s bare error from find_instances."""
    binary = tmp_path / "bin.tsp"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(
        ValueError, match=r"bin\.tsp: not a valid tsplib instance: not a text file"
    ):
        tsplib.read_instance(binary)
    with pytest.raises(ValueError, match=r"bin\.tsp: .*not a text file"):
        tsplib.find_instances(tmp_path)
    binary.unlink()
    (tmp_path / "dim.tsp").write_text(
        "NAME: a\nTYPE: TSP\nDIMENSION: 3.5\nEDGE_WEIGHT_TYPE: EUC_2D\n"
        "NODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nEOF\n"
    )
    match = r"dim\.tsp: not a valid tsplib instance: DIMENSION '3\.5' is not a whole"
    with pytest.raises(ValueError, match=match):
        tsplib.find_instances(tmp_path)
    with pytest.raises(ValueError, match=match):
        tsplib.run_family(tmp_path, time_limit=1)


@pytest.mark.parametrize("dim", ["0", "-3"])
def test_dimension_must_be_positive(tmp_path: Path, dim: str) -> None:
    """Regression (QA round 14): DIMENSION 0 said "expected 0 coordinates,
    got 0", DIMENSION -3 "expected -3 coordinates"."""
    f = tmp_path / "d.tsp"
    f.write_text(
        f"NAME: a\nTYPE: TSP\nDIMENSION: {dim}\nEDGE_WEIGHT_TYPE: EUC_2D\n"
        "NODE_COORD_SECTION\nEOF\n"
    )
    with pytest.raises(ValueError) as err:
        tsplib.read_instance(f)
    assert str(err.value) == (
        f"{f}: not a valid tsplib instance: DIMENSION {dim!r} is not a whole "
        "number of 1 or more (the number of nodes)"
    )


def test_an_answer_that_is_no_tour_is_no_solution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A solver answer that misses a node is no plan, and no proof that none
    exists: "no_solution", not "infeasible" (which run() reads as proven)."""
    from types import SimpleNamespace

    answer = SimpleNamespace(  # node 4 missing
        routes=[[1, 2]], backend="stub", seed=0, time_limit=1.0, versions={}
    )
    monkeypatch.setattr(tsplib, "solve_routing", lambda *a, **kw: answer)
    inst = tsplib.read_instance(
        _coord_file(tmp_path, "1 0 0\n2 10 0\n3 10 10\n4 0 10\n")
    )
    row = tsplib.solve_instance(inst, time_limit=1)
    assert row["status"] == "no_solution" and np.isnan(row["value"])


def test_rows_and_attrs_record_seed_time_limit_and_versions(tmp_path: Path) -> None:
    """Regression (QA round 20): TSPLIB rows carried no seed, time_limit or
    versions and ``df.attrs`` was empty; now the same provenance as Solomon's
    run_family."""
    f = _coord_file(tmp_path, "1 0 0\n2 10 0\n3 10 10\n4 0 10\n")
    df = tsplib.run_family(f, time_limit=0.5, seed=3, backend="pyvrp")
    row = df.iloc[0]
    assert (row["seed"], row["time_limit"], row["value"]) == (3, 0.5, 40)
    assert "numpy" in row["versions"] and "pyvrp" in row["versions"]
    assert df.attrs == {
        "seed": 3,
        "time_limit": 0.5,
        "backend": "pyvrp",
        "versions": row["versions"],
    }


@pytest.mark.skipif(not BURMA.exists(), reason="shared TSPLIB data absent")
def test_module_example_shows_what_it_returns() -> None:
    """Regression (QA round 20): the module docstring showed 4048 for the
    tour 1..14 of burma14; the call returns 4562 (TSPLIB's GEO rule).  The
    example runs here on the shared file (it is +SKIP in the doctests, which
    run without ../shared)."""
    import doctest

    text = tsplib.__doc__.split("Examples\n--------\n", 1)[1]
    text = text.replace("# doctest: +SKIP", "")
    text = text.replace("../shared/benchmarks/tsplib/burma14.tsp", str(BURMA))
    test = doctest.DocTestParser().get_doctest(text, {}, "tsplib", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False) == doctest.TestResults(0, 3)


def test_geo_coordinates_must_be_degrees_and_minutes(tmp_path: Path) -> None:
    """Regression (QA round 20): decimal degrees in a GEO file (Paris 48.85)
    were read as 48 degrees 85 minutes, every distance silently wrong
    (Paris-London 336 km, not 345).  Minutes of 60 or more are refused,
    naming the line, node and value; DDD.MM reads as before."""
    f = tmp_path / "geo3.tsp"
    head = "NAME: geo3\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: GEO\n"
    f.write_text(
        head + "NODE_COORD_SECTION\n1 48.85 2.35\n2 51.51 -0.13\n3 52.52 13.40\nEOF\n"
    )
    with pytest.raises(ValueError) as err:
        tsplib.read_instance(f)
    assert str(err.value) == (
        f"{f}: not a valid tsplib instance: line 6 of NODE_COORD_SECTION gives "
        "node 1 the latitude 48.85, whose minutes 85 are not below 60; GEO is "
        "DDD.MM (degrees and "
        "minutes); convert decimal degrees (fix: DDD + 0.6 x fraction, e.g. "
        "48.85 -> 48.51) or use EUC_2D for planar coordinates"
    )
    # the same places in DDD.MM: Paris 48°51' 2°21', London 51°30.6' -0°07.8'
    f.write_text(
        head + "NODE_COORD_SECTION\n1 48.51 2.21\n2 51.306 -0.078\n3 52.31 13.24\nEOF\n"
    )
    inst = tsplib.read_instance(f)
    assert inst.matrix[0, 1] == 345

"""Solomon VRPTW reader, solver wrapper and exact checker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from terrakit.benchmarks import solomon

FOLDER = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "solomon"
C101 = FOLDER / "C101.txt"

pytestmark = pytest.mark.skipif(not C101.exists(), reason="shared Solomon data absent")


def test_read_c101() -> None:
    inst = solomon.read_instance(C101)
    assert inst.name == "C101"
    assert (inst.n_customers, inst.n_vehicles, inst.capacity) == (100, 25, 200)
    assert (inst.x[0], inst.y[0], inst.due[0]) == (40, 50, 1236)
    assert (inst.demand[1], inst.ready[1], inst.due[1], inst.service[1]) == (
        10,
        912,
        967,
        90,
    )


def test_checker_finds_violations() -> None:
    """One route per customer is feasible for C101; a bad order breaks windows."""
    inst = solomon.read_instance(C101)
    singles = [[c] for c in range(1, 26)]
    chk = solomon.check_solution(inst, singles)
    assert chk["feasible"] is False  # 25 routes used but 75 customers unserved
    assert any("required nodes not visited" in v for v in chk["violations"])
    # customers 5 (window 15-67) and 1 (912-967): 1 then 5 is too late for 5
    bad = solomon.check_solution(inst, [[1, 5]])
    assert any("starts node" in v for v in bad["violations"])
    ok = solomon.check_solution(inst, [[5, 1]])
    assert not any("starts node" in v for v in ok["violations"])
    # depot (40, 50) -> 5 (42, 65) -> 1 (45, 68) -> depot
    assert ok["value"] == pytest.approx(
        np.hypot(2, 15) + np.hypot(3, 3) + np.hypot(5, 18)
    )


@pytest.mark.parametrize("backend", ["pyvrp", "ortools"])
def test_solve_c101_feasible(backend: str) -> None:
    """A short run gives a feasible solution within 5 % of the distance-only optimum."""
    row = solomon.solve_file(C101, time_limit=2, seed=0, backend=backend)
    assert row["status"] == "feasible"
    served = sorted(c for r in row["solution"]["routes"] for c in r)
    assert served == list(range(1, 101))
    chk = solomon.check_solution(solomon.read_instance(C101), row["solution"]["routes"])
    assert chk["feasible"] and chk["value"] == pytest.approx(row["value"])
    assert row["gap_trunc1_pct"] < 5.0
    assert row["value_trunc1"] <= row["value"]


def test_reference_values() -> None:
    ref = solomon.reference_values(FOLDER)
    assert ref["C101"] == 827.3
    assert "C201" not in ref  # no distance-only optimum for type 2


def test_run_gap_compares_like_with_like() -> None:
    """C101: the reference (827.3) uses arcs truncated to one decimal, so
    ``gap_pct`` measures the routes that way too; the exact length's gap to it
    is ``gap_exact_pct`` (larger: exact arcs are longer)."""
    import terrakit as tk

    row = tk.benchmarks.run("solomon", C101, time_limit=2, seed=0).iloc[0]
    chk = solomon.check_solution(solomon.read_instance(C101), row["solution"]["routes"])
    assert chk["feasible"] and row["reference"] == 827.3
    assert row["value"] == pytest.approx(chk["value"])
    assert row["value_trunc1"] == pytest.approx(chk["value_trunc1"])
    like = 100 * (chk["value_trunc1"] - 827.3) / 827.3
    assert row["gap_pct"] == pytest.approx(like) == row["gap_trunc1_pct"]
    exact = 100 * (chk["value"] - 827.3) / 827.3
    assert row["gap_exact_pct"] == pytest.approx(exact)
    assert row["gap_exact_pct"] > row["gap_pct"]


def _damaged(tmp_path: Path, lines: list[str], reference: bool = True) -> Path:
    f = tmp_path / "C101.txt"
    f.write_text("\n".join(lines) + "\n")
    if reference:
        (tmp_path / "reference.csv").write_text((FOLDER / "reference.csv").read_text())
    return f


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    """C101 cut after customer 50 was solved as a 50-customer instance and
    compared with the 100-customer optimum (gap −56 %)."""
    lines = C101.read_text().splitlines()
    f = _damaged(tmp_path, lines[:60])
    with pytest.raises(
        ValueError,
        match=r"C101\.txt: not a valid Solomon instance: 50 customers, but 100 "
        r"expected",
    ):
        solomon.read_instance(f)
    # a caller who means 50 customers says so
    assert solomon.read_instance(f, n_customers=50).n_customers == 50


def test_short_row_and_ids_out_of_order_are_refused(tmp_path: Path) -> None:
    lines = C101.read_text().splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["37"])
    short = [*lines]
    short[k] = " ".join(lines[k].split()[:6])
    with pytest.raises(
        ValueError,
        match=rf"1 customer row\(s\) are not 7 numbers .*: line {k + 1}: '37 ",
    ):
        solomon.read_instance(_damaged(tmp_path, short, reference=False))
    swapped = [*lines]
    swapped[k], swapped[k + 1] = lines[k + 1], lines[k]
    with pytest.raises(ValueError, match=r"has id 38, expected 37"):
        solomon.read_instance(_damaged(tmp_path, swapped, reference=False))


def test_generic_reference_file_is_no_key_error(tmp_path: Path) -> None:
    """A reference.csv with the generic columns: solve_file adds no Solomon
    columns, reference_values falls back to the generic column."""
    f = tmp_path / "C101.txt"
    f.write_text(C101.read_text())
    (tmp_path / "reference.csv").write_text("instance,optimal_value\nC101,827.3\n")
    assert solomon.reference_values(tmp_path) == {"C101": 827.3}
    row = solomon.solve_file(f, time_limit=1, seed=0)
    assert row["status"] == "feasible" and "bks_distance" not in row


def test_rows_record_seed_time_limit_and_versions() -> None:
    """Each row and the table's attrs carry the run settings and versions."""
    df = solomon.run_family([FOLDER / "C101.txt"], time_limit=1, seed=7)
    row = df.iloc[0]
    assert (row["seed"], row["time_limit"]) == (7, 1.0)
    assert "numpy" in row["versions"]
    assert df.attrs["seed"] == 7 and df.attrs["time_limit"] == 1
    assert df.attrs["versions"] == row["versions"]


def test_folder_without_instances_is_refused(tmp_path: Path) -> None:
    """A folder holding no *.txt is an error, like an empty list of files."""
    from terrakit.exceptions import SpecificationError

    with pytest.raises(SpecificationError) as err:
        solomon.run_family(tmp_path, time_limit=1)
    assert str(err.value).startswith(
        f"{tmp_path}: no Solomon instance files (*.txt) in this folder"
    )


def _tiny(tmp_path: Path, name: str, vehicles: int, customers: list[str]) -> Path:
    """A Solomon file of a few customers around a depot at (0, 0), open
    0..1000, capacity 100, with a ``reference.csv`` row (optimum 40.0, BKS
    40.0 with 1 vehicle) so that every gap column is computed."""
    f = tmp_path / f"{name}.txt"
    rows = ["0 0 0 0 0 1000 0", *customers]
    f.write_text(
        f"{name}\n\nVEHICLE\nNUMBER CAPACITY\n{vehicles} 100\n\nCUSTOMER\n"
        "CUST NO. XCOORD. YCOORD. DEMAND READY DUE SERVICE\n" + "\n".join(rows) + "\n"
    )
    ref = tmp_path / "reference.csv"
    if not ref.exists():
        ref.write_text(
            "instance,n_customers,bks_vehicles,bks_distance,"
            "opt_distance_min_dist_trunc1\n"
        )
    with ref.open("a") as fh:
        fh.write(f"{name},{len(customers)},1,40.0,40.0\n")
    return f


#: three customers 10 away, each to be served at time 10..12: one vehicle can
#: reach each of them alone, never all three (no plan; no pre-solve proof)
_CROWDED = ["1 10 0 1 10 12 0", "2 -10 0 1 10 12 0", "3 0 10 1 10 12 0"]


@pytest.mark.filterwarnings("ignore:(?s).*penalty parameter has reached")
def test_a_plan_that_breaks_windows_is_no_solution_without_gaps(
    tmp_path: Path,
) -> None:
    """Regression (QA round 14): R101 with the fleet cut to 12 came back
    'infeasible' (which means proven: no plan) with gap_pct 0.94 % and
    gap_bks_pct 0.42 % for routes with 61 late arrivals."""
    f = _tiny(tmp_path, "T1", 1, _CROWDED)
    row = solomon.solve_file(f, time_limit=1, seed=0)
    assert row["status"] == "no_solution"
    chk = solomon.check_solution(solomon.read_instance(f), row["solution"]["routes"])
    assert not chk["feasible"] and row["problems"].startswith(
        f"{len(chk['violations'])} broken: "
    )
    gaps = ["gap_pct", "gap_trunc1_pct", "gap_exact_pct", "gap_bks_pct"]
    assert row["reference"] == 40.0 and all(np.isnan(row[g]) for g in gaps)
    # three vehicles can: the same instance is feasible, its gaps numbers
    ok = solomon.solve_file(_tiny(tmp_path, "T3", 3, _CROWDED), time_limit=1)
    assert ok["status"] == "feasible" and "problems" not in ok
    assert ok["gap_pct"] == pytest.approx(100 * (ok["value_trunc1"] - 40) / 40)


def test_run_keeps_going_past_an_impossible_customer(tmp_path: Path) -> None:
    """Regression (QA round 14): a customer whose window closes before any
    vehicle can reach it raised a SpecificationError from the middle of
    tk.benchmarks.run, naming no file; now its row says so and the run goes
    on."""
    import terrakit as tk

    bad = _tiny(tmp_path, "T1", 1, ["1 10 0 1 0 1 0"])
    good = _tiny(tmp_path, "T2", 1, ["1 10 0 1 0 100 0", "2 -10 0 1 0 100 0"])
    df = tk.benchmarks.run("solomon", [bad, good], time_limit=1, seed=0)
    assert df["status"].tolist() == ["infeasible", "feasible"]
    first = df.iloc[0]
    assert first["message"].startswith(
        f"{bad}: the routing problem has no solution: node 1 cannot be reached "
        "before its window closes: late 1 < the earliest arrival 10"
    )
    assert np.isnan(first["value"]) and np.isnan(first["gap_pct"])
    assert df.iloc[1]["value"] == pytest.approx(40.0)


def test_an_unknown_backend_is_an_error_not_a_row(tmp_path: Path) -> None:
    """tk.benchmarks.run records an instance's SpecificationError as its
    proof of infeasibility, so a bad backend is a ValueError, raised."""
    import terrakit as tk

    f = _tiny(tmp_path, "T1", 1, ["1 10 0 1 0 100 0"])
    with pytest.raises(
        ValueError, match=r"^backend must be 'auto', 'pyvrp' or 'ortools', got 'x'$"
    ):
        tk.benchmarks.run("solomon", f, time_limit=1, backend="x")


def test_empty_best_known_cells_add_no_bks_columns(tmp_path: Path) -> None:
    """Regression (QA round 18): a reference.csv row without best-known values
    yet (empty bks_vehicles, bks_distance) crashed solve_file after solving
    with a bare 'cannot convert float NaN to integer'; now the row has no BKS
    columns, as without the file, and run() keeps the family's results."""
    import terrakit as tk

    f = tmp_path / "T5.txt"
    f.write_text(
        "T5\n\nVEHICLE\nNUMBER CAPACITY\n3 20\n\nCUSTOMER\n"
        "CUST NO. XCOORD. YCOORD. DEMAND READY DUE SERVICE\n"
        "0 0 0 0 0 1000 0\n1 10 0 10 0 500 10\n2 -10 0 5 0 500 10\n"
    )
    (tmp_path / "reference.csv").write_text(
        "instance,n_customers,bks_vehicles,bks_distance,opt_distance_min_dist_trunc1\n"
        "T5,2,,,\n"
    )
    row = solomon.solve_file(f, time_limit=1, seed=0)
    assert row["status"] == "feasible" and row["value"] == pytest.approx(40.0)
    assert not {"bks_vehicles", "bks_distance", "gap_bks_pct"} & set(row)
    df = tk.benchmarks.run("solomon", [f], time_limit=1, seed=0)
    assert df["status"].tolist() == ["feasible"]


@pytest.mark.parametrize(
    ("vehicles", "customers", "message"),
    [
        (
            1,
            ["1 nan 0 1 0 100 0"],
            "line 10 (customer 1) has XCOORD. nan; every value must be a finite "
            "number (fix: correct the row in the file)",
        ),
        (
            1,
            ["1 10 0 -10 0 100 0"],
            "line 10 (customer 1) has DEMAND -10; DEMAND, READY TIME, DUE DATE and "
            "SERVICE TIME must be >= 0 (fix: correct the row in the file)",
        ),
        (
            1,
            ["1 10 0 1 50 40 0"],
            "line 10 (customer 1) has DUE DATE 40; it is before READY TIME: a "
            "window must not close before it opens (fix: correct the row in the "
            "file)",
        ),
        (
            0,
            ["1 10 0 1 0 100 0"],
            "line 5: '0 100': the VEHICLE section must give NUMBER >= 1 (the "
            "fleet) and CAPACITY >= 0, got NUMBER 0 and CAPACITY 100",
        ),
    ],
)
def test_values_no_instance_can_have_are_refused(
    tmp_path: Path, vehicles: int, customers: list[str], message: str
) -> None:
    """Regression (QA round 20): a NaN coordinate or a negative demand read
    fine and tk.benchmarks.run then recorded the file as proven 'infeasible';
    0 vehicles aborted the run after solving the files before it, naming no
    file.  The reader now refuses them, naming the file, line and value, and
    run() stops before solving anything."""
    import terrakit as tk

    bad = _tiny(tmp_path, "BAD", vehicles, customers)
    with pytest.raises(ValueError) as err:
        solomon.read_instance(bad)
    assert str(err.value) == f"{bad}: not a valid Solomon instance: {message}"
    good = _tiny(tmp_path, "GOOD", 1, ["1 10 0 1 0 100 0"])
    with pytest.raises(ValueError, match=r"BAD\.txt: not a valid Solomon instance"):
        tk.benchmarks.run("solomon", [good, bad], time_limit=0.2)


def test_a_depot_with_demand_or_service_is_refused(tmp_path: Path) -> None:
    """The depot's row (customer 0) carries no demand and no service."""
    f = _tiny(tmp_path, "D", 1, ["1 10 0 1 0 100 0"])
    f.write_text(f.read_text().replace("0 0 0 0 0 1000 0", "0 0 0 0 0 1000 5"))
    with pytest.raises(ValueError) as err:
        solomon.read_instance(f)
    assert str(err.value).endswith(
        "line 9 (customer 0) has SERVICE TIME 5; the depot (customer 0) must "
        "have DEMAND 0 and SERVICE TIME 0: the vehicles load there and serve "
        "nothing (fix: correct the row in the file)"
    )

"""The shared message helpers of terrakit.data.validation: first_few, require_study."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from terrakit.data.validation import first_few, require_study
from terrakit.exceptions import DataValidationError, NotAStudyError


def test_first_few_lists_five_and_counts_the_rest():
    assert first_few([]) == ""
    assert first_few(["u1"]) == "'u1'"
    assert first_few(["a", "b", "c", "d", "e"]) == "'a', 'b', 'c', 'd', 'e'"
    assert first_few(list("abcdefg")) == "'a', 'b', 'c', 'd', 'e' and 2 more"


def test_first_few_takes_any_iterable_a_count_and_a_format():
    ids = pd.Index([f"t{i}" for i in range(12)])
    assert first_few(ids, 10, show=str) == (
        "t0, t1, t2, t3, t4, t5, t6, t7, t8, t9 and 2 more"
    )
    assert first_few((f"unit {i}" for i in range(3)), 2, show=str) == (
        "unit 0, unit 1 and 1 more"
    )


def test_first_few_shows_numpy_scalars_as_python_values():
    """repr(np.int64(3)) is 'np.int64(3)' under numpy 2: ids read as 3."""
    assert first_few(np.array([3, 4], dtype=np.int64)) == "3, 4"
    assert first_few([np.float64(0.5), np.str_("u1")]) == "0.5, 'u1'"


@pytest.fixture
def toy_study_stub():
    """A one-unit Study: the smallest thing require_study accepts."""
    import geopandas as gpd
    from shapely.geometry import box

    from terrakit.data.study import Study

    units = gpd.GeoDataFrame(
        {"accounts": [1.0]},
        geometry=[box(0, 0, 1, 1)],
        index=pd.Index(["u1"], name="unit_id"),
        crs="EPSG:4326",
    )
    return Study(units)


def test_require_study_passes_a_study(toy_study_stub):
    require_study(toy_study_stub)


def test_require_study_names_the_table_given_and_the_fix():
    with pytest.raises(NotAStudyError) as err:
        require_study(
            pd.DataFrame({"sales": [1.0]}),
            "a Study with a sales history",
            table="history",
            tables="history",
            fix="pass the Study, e.g. fit(study)",
        )
    assert str(err.value) == (
        "history: expected a Study with a sales history, got DataFrame (a table, "
        "e.g. the study's history: pass the Study itself). Fix: pass the Study, "
        "e.g. fit(study)"
    )
    assert err.value.table == "history" and err.value.column is None
    # one class for every caller: a data error and a wrong argument type
    assert isinstance(err.value, DataValidationError)
    assert isinstance(err.value, TypeError)
    with pytest.raises(NotAStudyError, match=r"^units: expected a Study \(tk\.Study"):
        require_study(None)
    with pytest.raises(NotAStudyError, match=r"got None\. Fix: pass the Study"):
        require_study(None)


def test_require_study_with_a_caller_reads_as_its_argument_errors():
    with pytest.raises(TypeError) as err:
        require_study(
            pd.DataFrame(), fix="tk.Study(units, reps=reps)", caller="tk.design.x"
        )
    assert str(err.value) == (
        "tk.design.x takes a Study (tk.Study), got DataFrame; wrap the units table "
        "in a Study: tk.Study(units, reps=reps)"
    )
    assert (
        err.value.fix == "wrap the units table in a Study: tk.Study(units, reps=reps)"
    )
    with pytest.raises(DataValidationError) as err:
        require_study([1, 2], fix="tk.Study(units, reps=reps)", caller="tk.design.x")
    assert str(err.value) == (
        "tk.design.x takes a Study (tk.Study), got list; build one with "
        "tk.Study(units, reps=reps)"
    )

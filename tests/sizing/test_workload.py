"""Workload build-up: Talley's textbook case and hand-computed studies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from terrakit.data.geo import TravelTimeModel, haversine_matrix
from terrakit.exceptions import DataValidationError, SpecificationError
from terrakit.sizing import WorkloadResult, workload

TALLEY = {
    "A": {"accounts": 1_000, "calls_per_year": 36},
    "B": {"accounts": 2_000, "calls_per_year": 12},
}


def test_talley_calls_per_rep_exactly_60():
    wl = WorkloadResult.from_segments(TALLEY)
    need = wl.reps_needed(calls_per_rep=1_000)
    assert need.total == 60.0
    assert need.reps == 60
    assert need.by_segment.loc["A", "reps"] == 36.0
    assert need.by_segment.loc["B", "reps"] == 24.0
    assert wl.total_calls == 60_000


def test_talley_in_hours_is_the_same_60():
    """1,600 selling hours at 96 minutes per call (call + travel) = 1,000 calls."""
    wl = WorkloadResult.from_segments(TALLEY, call_minutes=66.0, travel_minutes=30.0)
    assert wl.total_hours == pytest.approx(96_000.0)
    assert wl.reps_needed(hours_per_rep=1_600).total == pytest.approx(60.0)
    assert "60.00 -> 60" in wl.reps_needed(1_600).summary()


def test_study_without_travel_by_hand(two_segment_study):
    wl = workload(two_segment_study, travel=None)
    seg = wl.by_segment()
    assert seg.loc["A", "hours"] == pytest.approx(48.0)
    assert seg.loc["B", "hours"] == pytest.approx(12.0)
    need = wl.reps_needed(hours_per_rep=30)
    assert need.total == pytest.approx(2.0)
    assert need.reps == 2


def test_fixed_travel_minutes(two_segment_study):
    wl = workload(two_segment_study, travel=30.0)
    # 48 calls × 30 min + 24 calls × 30 min = 36 h extra
    assert wl.total_hours == pytest.approx(60.0 + 36.0)
    # numpy numbers (e.g. read from a table) used to be "not understood"
    for t in (np.int64(30), np.float32(30.0), 30):
        assert workload(two_segment_study, travel=t).total_hours == 96.0


def test_travel_model_day_tour_by_hand(two_segment_study):
    """τ = (2·home + (k−1)·nearest) / k with k calls per day."""
    model = TravelTimeModel(circuity=1.0, speed_kmh=60.0)  # 1 km = 1 minute
    wl = workload(two_segment_study, travel=model, calls_per_day=5)
    d01 = haversine_matrix([0.5], [0.5], [0.5], [0.6])[0, 0]  # a1–a2, R1–a2
    tr = wl.table["travel_minutes"]
    assert tr["a1"] == pytest.approx((2 * 0.0 + 4 * d01) / 5, rel=1e-6)
    assert tr["a2"] == pytest.approx((2 * d01 + 4 * d01) / 5, rel=1e-6)
    d_home_b = haversine_matrix([1.5], [0.5], [1.6], [0.5])[0, 0]
    assert tr["b1"] == pytest.approx(2 * d_home_b / 5, rel=1e-6)  # B accounts coincide


def test_travel_matrix_and_series(two_segment_study):
    ids = ["R1", "R2", "a1", "a2", "b1", "b2", "b3", "b4"]
    m = pd.DataFrame(10.0, index=ids, columns=ids)
    np.fill_diagonal(m.values, 0.0)
    wl = workload(two_segment_study, travel=m, calls_per_day=2)
    # (2·10 + 1·10) / 2 = 15 minutes per call for every account
    assert np.allclose(wl.table["travel_minutes"], 15.0)
    s = pd.Series(6.0, index=two_segment_study.accounts.index)
    assert np.allclose(
        workload(two_segment_study, travel=s).table["travel_minutes"], 6.0
    )


@pytest.mark.parametrize("bad", [0, -5, float("nan")])
def test_zero_or_negative_hours_is_an_error(two_segment_study, bad):
    wl = workload(two_segment_study, travel=None)
    with pytest.raises(SpecificationError, match="hours_per_rep must be a positive"):
        wl.reps_needed(hours_per_rep=bad)
    with pytest.raises(SpecificationError, match="calls_per_rep must be a positive"):
        wl.reps_needed(calls_per_rep=bad)


def test_missing_call_data_is_an_error(two_segment_study):
    acc = two_segment_study.accounts.drop(columns="calls_per_year")
    with pytest.raises(DataValidationError, match="no calls_per_year column"):
        workload(two_segment_study.replace(accounts=acc))
    acc = two_segment_study.accounts
    acc.loc["b2", "call_minutes"] = np.nan
    with pytest.raises(
        DataValidationError,
        match=r"missing or negative call_minutes"
        r".*'b2'.*Fix: fill",
    ):
        workload(two_segment_study.replace(accounts=acc), travel=None)


def test_travel_model_without_reps_explains(two_segment_study):
    st = two_segment_study.replace(
        reps=None, accounts=two_segment_study.accounts.drop(columns="rep_id")
    )
    with pytest.raises(DataValidationError, match="needs rep home bases"):
        workload(st)
    with pytest.raises(SpecificationError, match="travel='fast' is not understood"):
        workload(two_segment_study, travel="fast")  # type: ignore[arg-type]


def test_fewer_than_one_call_per_day_is_refused(two_segment_study):
    """calls_per_day=0.5 used to give a1 (at its rep's home) -14 travel
    minutes per call: the day-tour estimate needs at least one call a day."""
    with pytest.raises(
        SpecificationError, match=r"calls_per_day must be at least 1 .*got 0\.5"
    ):
        workload(two_segment_study, calls_per_day=0.5)
    wl = workload(two_segment_study, calls_per_day=1)
    assert (wl.table["travel_minutes"] >= 0).all()


def test_misspelt_segment_column_is_an_error(two_segment_study):
    """``segment="segmnt"`` once put every account into one segment ``all``."""
    with pytest.raises(
        DataValidationError,
        match=r"accounts\.segmnt: no segment column 'segmnt' \(columns seen, "
        r"closest first: \['segment', .*\. Fix: pass segment='segment' "
        r"\(the closest column\)",
    ) as err:
        workload(two_segment_study, segment="segmnt", travel=None)
    assert (err.value.table, err.value.column) == ("accounts", "segmnt")
    with pytest.raises(
        DataValidationError,
        match=r"no segment column 'region' .*Fix: add 'region' to the accounts "
        r"table or pass segment=<column name>",
    ):
        workload(two_segment_study, segment="region", travel=None)


def test_without_the_default_segment_column_all_accounts_are_one_segment(
    two_segment_study,
):
    acc = two_segment_study.accounts.drop(columns="segment")
    wl = workload(two_segment_study.replace(accounts=acc), travel=None)
    assert list(wl.by_segment().index) == ["all"]
    assert wl.total_hours == pytest.approx(60.0)
    # another column may serve as the segment
    wl = workload(two_segment_study, segment="rep_id", travel=None)
    assert wl.by_segment()["hours"].to_dict() == pytest.approx({"R1": 48.0, "R2": 12.0})


def test_misspelt_call_columns_list_the_closest_first(two_segment_study):
    with pytest.raises(
        DataValidationError,
        match=r"no calls_per_year column 'calls_per_yr' \(columns seen, closest "
        r"first: \['calls_per_year', ",
    ):
        workload(two_segment_study, calls_per_year="calls_per_yr", travel=None)
    with pytest.raises(
        DataValidationError,
        match=r"no call_minutes column 'call_minute' .*Fix: pass "
        r"call_minutes='call_minutes'",
    ):
        workload(two_segment_study, call_minutes="call_minute", travel=None)


def test_accounts_without_segment_are_refused(two_segment_study, judged_ab):
    """An account with no segment used to become a segment named "nan"."""
    from terrakit.sizing import ResponseModel, allocate_calls

    acc = two_segment_study.accounts
    acc.loc["b3", "segment"] = np.nan
    st = two_segment_study.replace(accounts=acc)
    msg = r"accounts\.segment: 1 accounts have no segment \(NaN\).*'b3'.*Fix: fill"
    with pytest.raises(DataValidationError, match=msg):
        workload(st, travel=None)
    with pytest.raises(DataValidationError, match=msg):
        ResponseModel.from_judgement(judged_ab, study=st, n_draws=5, travel=None)
    rc = ResponseModel.from_judgement(judged_ab, study=two_segment_study, n_draws=5)
    with pytest.raises(DataValidationError, match=msg):
        allocate_calls(rc, st, n_reps=1, travel=None)


@pytest.fixture
def judged_ab():
    """CALLPLAN judgements of segments A and B (concave)."""
    return {"A": [0.5, 0.8, 1, 1.1, 1.2], "B": [0.6, 0.85, 1, 1.05, 1.1]}


def test_hours_per_call_of_a_segment_without_calls(two_segment_study):
    """A segment whose accounts all had calls_per_year 0 used to get NaN
    hours per call (0 in the response curves, then an error blaming
    call_minutes in headcount_curve); it now costs its accounts' unweighted
    mean (call + travel minutes) / 60."""
    from terrakit.sizing import ResponseModel, headcount_curve

    acc = two_segment_study.accounts.copy()
    acc.loc[acc["segment"] == "B", "calls_per_year"] = 0.0
    acc.loc["b1", "call_minutes"] = 90.0  # B: 90, 30, 30, 30 -> mean 45 min
    st = two_segment_study.replace(accounts=acc)
    hpc = workload(st, travel=15.0).hours_per_call()
    assert hpc["A"] == pytest.approx((60.0 + 15.0) / 60.0)
    assert hpc["B"] == pytest.approx((45.0 + 15.0) / 60.0)
    # the response curves' facts use it: headcount_curve runs
    from terrakit.sizing.response import _segment_facts

    facts = _segment_facts(st, 15.0, "calls_per_year", "segment")
    assert facts.loc["B", "hours_per_call"] == pytest.approx(1.0)
    ref = facts.assign(calls_per_year=[24.0, 6.0])
    j = {"A": [0.5, 0.8, 1, 1.1, 1.2], "B": [0.6, 0.85, 1, 1.05, 1.1]}
    rc = ResponseModel.from_judgement(j, reference=ref, n_draws=5)
    assert rc.hours_per_call[1] == pytest.approx(1.0)
    assert headcount_curve(rc, reps=range(1, 3)).sales.shape == (5, 2)


@pytest.mark.parametrize("bad", [None, "1600", True])
def test_reps_needed_refuses_none_strings_and_bools(two_segment_study, bad):
    """None raised a bare TypeError; "1600" was accepted silently."""
    wl = workload(two_segment_study, travel=None)
    with pytest.raises(SpecificationError) as e:
        wl.reps_needed(hours_per_rep=bad)
    assert str(e.value) == (
        f"hours_per_rep must be a positive number, got {bad!r}; give one rep's "
        "selling hours per year, e.g. 1_600 (or calls_per_rep=... for the calls "
        "one rep makes)"
    )


def test_workload_provenance_from_segments_and_segment_column(two_segment_study):
    wl = WorkloadResult.from_segments(
        {"A": {"accounts": 1000, "calls_per_year": 36}},
    )
    assert wl.provenance["method"] == "workload/from_segments"
    assert wl.provenance["config"]["segments"] == ["A"]
    w2 = workload(two_segment_study, travel=None, segment="segment")
    assert w2.provenance["config"]["segment"] == "segment"


def test_travel_for_ids_of_another_type_or_other_accounts_is_refused(
    two_segment_study,
):
    """Keys 1..6 for account ids '1'..'6' read '6 accounts have no travel
    minutes' without a word on the type; minutes for an account the study
    lacks were dropped in silence."""
    from terrakit.exceptions import DataValidationError

    acc = two_segment_study.accounts.copy()
    acc.index = pd.Index([str(k) for k in range(1, 7)], name="account_id")
    st = two_segment_study.replace(accounts=acc)
    with pytest.raises(DataValidationError) as err:
        workload(st, travel=pd.Series(5.0, index=range(1, 7)))
    assert str(err.value) == (
        "travel: its 6 account ids are numbers (e.g. 1) where the study's "
        "account ids are text (e.g. '1'): 1 is not '1', so they match no account "
        "(rows: 1, 2, 3, 4, 5 and 1 more). Fix: convert the ids first: "
        "travel.index = travel.index.astype(str)"
    )
    extra = pd.Series(5.0, index=[*acc.index, "99"])
    with pytest.raises(DataValidationError) as err:
        workload(st, travel=extra)
    assert str(err.value) == (
        "travel: travel is given for 1 account that the study does not have; it "
        "would be left out in silence (rows: '99'). Fix: drop it from travel, or "
        "pass the study it belongs to (check the id type: '13121' is not 13121)"
    )
    assert workload(st, travel=extra.iloc[:6]).total_hours == pytest.approx(
        60.0 + 2 * 24 * 5 / 60 + 4 * 6 * 5 / 60
    )


def test_segments_coded_as_numbers_keep_their_numbers():
    """Segments coded 1, 2 (CRM exports) were re-indexed onto the labels '1',
    '2', matched nothing and became NaN: 0 hours and 0 reps, no error."""
    df = pd.DataFrame({"accounts": [1000, 2000], "calls_per_year": [36, 12]}, [1, 2])
    wl = WorkloadResult.from_segments(df, call_minutes=60)
    assert wl.table["segment"].tolist() == ["1", "2"]
    assert wl.table["calls"].tolist() == [36_000.0, 24_000.0]
    assert wl.total_hours == 60_000.0
    need = wl.reps_needed(calls_per_rep=1_000)
    assert need.total == 60.0
    assert need.by_segment.loc["1", "reps"] == 36.0
    as_mapping = WorkloadResult.from_segments(TALLEY)
    assert as_mapping.table["calls"].tolist() == [36_000.0, 24_000.0]
    # a label repeated as such is rows of one segment, summed by segment
    rows = pd.DataFrame({"accounts": [10, 5], "calls_per_year": [12, 10]}, [1, 1])
    one = WorkloadResult.from_segments(rows).reps_needed(calls_per_rep=100)
    assert one.by_segment.loc["1", "calls"] == 170.0 and one.total == 1.7


@pytest.mark.parametrize(
    ("segments", "kw", "error", "msg"),
    [
        (
            pd.DataFrame({"accounts": [10, 5], "calls_per_year": [12, 10]}, [1, "1"]),
            {},
            DataValidationError,
            "segments: 2 segment labels differ but are the same as text (['1']); "
            "segments are keyed by their text, so they would be taken for one "
            "segment (rows: 1, '1'). Fix: give different segments labels that "
            "differ as text, or one segment the same label throughout",
        ),
        (
            {"A": {"accounts": 10, "calls_per_year": np.inf}},
            {},
            DataValidationError,
            "segments.calls_per_year: 1 segment has calls_per_year that is not "
            "a finite number >= 0: [inf] (rows: 'A'). Fix: give calls_per_year "
            "as a number >= 0 for every segment",
        ),
        (
            {
                "A": {"accounts": 10, "calls_per_year": 3, "call_minutes": -1},
                "B": {"accounts": 10, "calls_per_year": 3, "call_minutes": "x"},
            },
            {},
            DataValidationError,
            "segments.call_minutes: 2 segments have call_minutes that is not a "
            "finite number >= 0: [-1, 'x'] (rows: 'A', 'B'). Fix: give "
            "call_minutes as a number >= 0 for every segment",
        ),
        (
            TALLEY,
            {"travel_minutes": np.inf},
            SpecificationError,
            "travel_minutes must be >= 0, got inf",
        ),
        (
            TALLEY,
            {"call_minutes": True},
            SpecificationError,
            "call_minutes must be a number of minutes >= 0, got True",
        ),
    ],
)
def test_segment_tables_refuse_labels_equal_as_text_and_infinite_values(
    segments, kw, error, msg
):
    """Labels 1 and '1' overwrote each other's numbers; calls_per_year=inf
    was accepted (a bare OverflowError in reps_needed().reps)."""
    with pytest.raises(error) as e:
        WorkloadResult.from_segments(segments, **kw)
    assert str(e.value) == msg


def test_travel_given_twice_for_an_account_is_refused(two_segment_study):
    """Minutes from a visit log (one row per visit) ended in pandas' bare
    'cannot reindex on an axis with duplicate labels'."""
    ids = ["a1", "a2", "b1", "b2", "b3", "b4", "a1", "b2", "b2"]
    travel = pd.Series(5.0, index=ids)
    with pytest.raises(DataValidationError) as e:
        workload(two_segment_study, travel=travel)
    assert str(e.value) == (
        "travel: 2 account ids appear more than once (5 rows): travel must give "
        "one number of minutes per call for each account (rows: 'a1', 'b2'). "
        "Fix: aggregate per account first, e.g. travel.groupby(level=0).mean() "
        "for minutes taken from a visit log"
    )
    once = workload(two_segment_study, travel=travel.groupby(level=0).mean())
    assert once.total_hours == pytest.approx(60.0 + 72 * 5 / 60)


def test_a_segment_named_total_is_refused_by_reps_needed(two_segment_study):
    """reps_needed() wrote its total row over the row of a segment named
    'total': that segment vanished from the table and the summary."""
    acc = two_segment_study.accounts.copy()
    acc.loc[["b1", "b2"], "segment"] = "total"
    wl = workload(two_segment_study.replace(accounts=acc), travel=None)
    assert wl.by_segment().loc["total", "accounts"] == 2.0  # the workload is kept
    with pytest.raises(DataValidationError) as e:
        wl.reps_needed(hours_per_rep=1_600)
    assert str(e.value) == (
        "accounts.segment: a segment is named 'total', as is the total row of "
        "reps_needed(), which would overwrite the segment's own row (rows: 'b1', "
        "'b2'). Fix: rename the segment, e.g. accounts['segment'] = "
        "accounts['segment'].replace({'total': 'Total'})"
    )
    seg = {"total": {"accounts": 10, "calls_per_year": 3}}
    with pytest.raises(DataValidationError) as e:
        WorkloadResult.from_segments(seg).reps_needed(calls_per_rep=1_000)
    assert str(e.value) == (
        "segments: a segment is named 'total', as is the total row of "
        "reps_needed(), which would overwrite the segment's own row (rows: "
        "'total'). Fix: rename the segment in the segment table, e.g. to 'Total'"
    )


@pytest.mark.parametrize("bad", [True, None, np.nan, -1.0])
def test_call_minutes_true_or_missing_is_refused(two_segment_study, bad):
    """call_minutes=True was read as 1 minute per call."""
    with pytest.raises(SpecificationError) as e:
        workload(two_segment_study, call_minutes=bad, travel=None)
    assert str(e.value) == (
        "call_minutes must be a number of minutes >= 0 (or the accounts column "
        f"that holds them), got {bad!r}"
        if bad is True or bad is None
        else f"call_minutes must be >= 0, got {bad!r}"
    )


# -- round 20 (QA sizing d1) ---------------------------------------------------------
def test_unreachable_travel_is_refused_not_infinite_hours(two_segment_study):
    """numpy.inf in a matrix (as its validation asks for unreachable pairs) or a
    travel Series gave b1 infinite hours, then reps_needed() an OverflowError."""
    ids = ["R1", "R2", "a1", "a2", "b1", "b2", "b3", "b4"]
    m = pd.DataFrame(10.0, index=ids, columns=ids)
    np.fill_diagonal(m.values, 0.0)
    m.loc["R2", "b1"] = np.inf
    with pytest.raises(DataValidationError) as err:
        workload(two_segment_study, travel=m)
    assert (err.value.table, err.value.rows) == ("travel", ["b1"])
    assert "1 account cannot be reached" in str(err.value)
    assert "'R2' -> 'b1' is infinite" in str(err.value)
    assert "reassign them to a rep who can reach them" in str(err.value)
    # b1 reaches none of R2's other accounts: infinite on the day tour too ...
    m.loc["R2", "b1"] = 10.0
    m.loc["b1", ["b2", "b3", "b4"]] = np.inf
    with pytest.raises(DataValidationError) as err:
        workload(two_segment_study, travel=m)
    assert err.value.rows == ["b1"]
    assert "'b1' reaches no other account of rep 'R2'" in str(err.value)
    # ... but not with one call a day (no leg between accounts; was NaN)
    wl = workload(two_segment_study, travel=m, calls_per_day=1)
    assert wl.table.loc["b1", "travel_minutes"] == pytest.approx(20.0)
    s = pd.Series(5.0, index=two_segment_study.accounts.index)
    s["b1"] = np.inf
    with pytest.raises(DataValidationError) as err:
        workload(two_segment_study, travel=s)
    assert (err.value.table, err.value.rows) == ("travel", ["b1"])
    assert "1 account has infinite travel minutes per call" in str(err.value)

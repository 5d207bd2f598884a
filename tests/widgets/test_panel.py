"""BalancePanel: the bars and footer of one measure per territory."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ipywidgets")

from terrakit.data.study import Alignment
from terrakit.widgets.panel import BalancePanel
from terrakit.widgets.state import EditorState


@pytest.fixture
def three_territories():
    """12 units in T0, T1, T2 (4 each): workload 1..12, new_sales 0 everywhere."""
    ids = [f"u{i}" for i in range(12)]
    units = pd.DataFrame(
        {"workload": np.arange(1, 13, dtype=float), "new_sales": np.zeros(12)},
        index=pd.Index(ids, name="unit_id"),
    )
    al = Alignment.from_mapping({u: f"T{i % 3}" for i, u in enumerate(ids)})
    return EditorState(units, al, measures=["workload", "new_sales"], tolerance=0.1)


def test_footer_counts_the_territories_outside_the_band(three_territories):
    p = BalancePanel(three_territories, {})
    # totals 22, 26, 30 around the mean 26: ±15.4 %, two outside ±10 %
    assert 'data-out="2"' in p.footer.value
    assert "2 of 3 outside the band; largest deviation 15.4 %" in p.footer.value


def test_measure_that_is_zero_everywhere_has_nothing_to_balance(three_territories):
    p = BalancePanel(three_territories, {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p.set_measure("new_sales")
    assert 'data-out="0"' in p.footer.value
    assert (
        "0 of 3 outside the band; nothing to balance, every new_sales total is 0"
    ) in p.footer.value
    assert "nan" not in p.footer.value


def test_footer_when_the_totals_cancel_out():
    """Totals +8, -8, 0 (a change measure): the footer read '2 of 3 outside the
    band; largest deviation 0.0 %', nanmax skipping the NaN deviations."""
    units = pd.DataFrame(
        {"growth": [5.0, -5, 0, 0, 3, -3]},
        index=pd.Index(list("abcdef"), name="unit_id"),
    )
    al = Alignment.from_mapping(
        {"a": "T1", "b": "T2", "c": "T3", "d": "T3", "e": "T1", "f": "T2"}
    )
    st = EditorState(units, al, measures=["growth"], tolerance=0.1)
    p = BalancePanel(st, {})
    assert 'data-out="2"' in p.footer.value
    assert (
        "2 of 3 outside the band; largest deviation – (the totals sum to 0: no "
        "mean to measure a deviation from)"
    ) in p.footer.value
    assert "0.0 %" not in p.footer.value

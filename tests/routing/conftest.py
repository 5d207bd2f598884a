"""Fixtures for the routing tests (the studies are built in toy_studies.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from toy_studies import make_study

from terrakit.data import Study


@pytest.fixture
def small_study() -> Study:
    """40 accounts, one rep, about 5 visits a day: every visit fits."""
    return make_study()

"""Shared fixtures and the ``--run-slow`` switch.

Fixtures are tiny, named, and documented: each one says what makes it
hand-checkable.
"""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("TQDM_DISABLE", "1")


def sample_run(model, post: dict, *, chains: int, draws: int):  # type: ignore[no-untyped-def]
    """A nutpie-labelled ``SampleRun`` holding the arrays ``post`` as its posterior.

    Shared by the fake samplers of the potential and realign tests: dims and
    coordinates come from the PyMC ``model``; no divergences are recorded.
    """
    import arviz as az
    import numpy as np

    from terrakit._sampling import SampleRun

    dims = {name: list(model.named_vars_to_dims.get(name, ())) for name in post}
    coords = {k: np.asarray(v) for k, v in model.coords.items()}
    idata = az.from_dict(
        posterior=post,
        dims=dims,
        coords=coords,
        sample_stats={"diverging": np.zeros((chains, draws), dtype=bool)},
    )
    return SampleRun(idata, "nutpie", 0.0, 0.0)


def swallow_ctrl_c() -> None:
    """A Ctrl-C as nutpie and PyMC take it: SIGINT raised, caught, sampling stopped.

    Shared by the Ctrl-C tests of sampling, the pipeline and ``terrakit run``.
    """
    import signal

    try:
        signal.raise_signal(signal.SIGINT)
    except KeyboardInterrupt:
        pass


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run tests marked slow (long MCMC, large instances)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def toy_grid_3x3():
    """A 3×3 grid of 10 km squares (UTM 17N) in two rep territories, by hand.

    Layout (unit ids, ``R1``/``R2`` = territory)::

        u7 R1 | u8 R2 | u9 R2        workload u_k = 10·k hours
        u4 R1 | u5 R1 | u6 R2        potential 10,000 per unit
        u1 R1 | u2 R1 | u3 R2        square k spans 10 km, origin (500 km, 3700 km)

    R1 = {u1, u2, u4, u5, u7} (workload 190), R2 = {u3, u6, u8, u9} (260).
    Accounts: ``a_k`` in ``u_k`` with annual_sales 1000·k, plus ``a10`` in u5
    (500).  Reps live at the centres of u4 (R1) and u9 (R2).  History: 24
    months, every account sells 100 a month in 2023 and 110 (R1) or 95 (R2)
    a month in 2024, so growth is +10 % and −5 %.  The study holds the
    alignment as ``"current"``.
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import pyproj
    from shapely.geometry import box

    from terrakit.data.alignment import Alignment
    from terrakit.data.study import Study

    x0, y0, s = 500_000.0, 3_700_000.0, 10_000.0
    ids = [f"u{k}" for k in range(1, 10)]
    geoms = [
        box(x0 + i * s, y0 + j * s, x0 + (i + 1) * s, y0 + (j + 1) * s)
        for j in range(3)
        for i in range(3)
    ]
    units = gpd.GeoDataFrame(
        {"workload": [10.0 * k for k in range(1, 10)], "potential": [10_000.0] * 9},
        geometry=geoms,
        index=pd.Index(ids, name="unit_id"),
        crs="EPSG:32617",
    )
    terr = {
        "u1": "R1",
        "u2": "R1",
        "u4": "R1",
        "u5": "R1",
        "u7": "R1",
        "u3": "R2",
        "u6": "R2",
        "u8": "R2",
        "u9": "R2",
    }
    acc_units = [*ids, "u5"]
    accounts = pd.DataFrame(
        {
            "unit_id": acc_units,
            "annual_sales": [1000.0 * k for k in range(1, 10)] + [500.0],
            "rep_id": [terr[u] for u in acc_units],
        },
        index=pd.Index([f"a{k}" for k in range(1, 11)], name="account_id"),
    )
    to_ll = pyproj.Transformer.from_crs("EPSG:32617", "EPSG:4326", always_xy=True)
    homes = [
        to_ll.transform(x0 + 0.5 * s, y0 + 1.5 * s),  # centre of u4
        to_ll.transform(x0 + 2.5 * s, y0 + 2.5 * s),
    ]  # centre of u9
    reps = pd.DataFrame(
        {
            "name": ["Rep One", "Rep Two"],
            "home_lon": [h[0] for h in homes],
            "home_lat": [h[1] for h in homes],
            "capacity_hours": [200.0, 200.0],
        },
        index=pd.Index(["R1", "R2"], name="rep_id"),
    )
    periods = pd.period_range("2023-01", "2024-12", freq="M")
    rows = []
    for a, u in zip(accounts.index, acc_units, strict=True):
        late = 110.0 if terr[u] == "R1" else 95.0
        for p in periods:
            rows.append((a, p, 100.0 if p.year == 2023 else late))
    history = pd.DataFrame(rows, columns=["account_id", "period", "sales"])
    history["period"] = history["period"].astype(pd.PeriodDtype("M"))
    current = Alignment.from_mapping(terr, name="current")
    assert np.isclose(units["workload"].sum(), 450.0)
    return Study(
        units,
        accounts=accounts,
        reps=reps,
        history=history,
        alignments={"current": current},
    )


@pytest.fixture(autouse=True)
def _python_sigint_handler():
    """Every test starts and ends with Python's own SIGINT handler.

    Tests that raise SIGINT (the Ctrl-C of terrakit run, of sampling) need
    it to raise KeyboardInterrupt; a handler another test or library left
    behind (or SIG_DFL, which would kill the pytest worker) must not leak.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(
            signal.SIGINT, before if callable(before) else signal.default_int_handler
        )

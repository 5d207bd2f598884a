"""Tiny studies with a known sales history for the forecast tests."""

from __future__ import annotations

import arviz as az
import geopandas as gpd
import numpy as np
import pandas as pd
import pytensor
import pytest
from shapely.geometry import box

from terrakit.data import Alignment, Study
from terrakit.forecast import make_panel
from terrakit.forecast.model import (
    DEFAULT_MODEL_CONFIG,
    DEFAULT_SAMPLER_CONFIG,
    PanelFit,
)


def make_toy_study(seed: int = 0, months: int = 36) -> Study:
    """4 units in a row, 8 accounts (2 per unit), ``months`` of monthly sales.

    Sales = 100 × 1.1^(years) × (1 + 0.2 sin(2π month/12)) × lognormal noise.
    Account ``a7`` is new (starts 6 months before the end); account ``a8`` never
    sold (all zeros).
    """
    rng = np.random.default_rng(seed)
    units = gpd.GeoDataFrame(
        {"potential": [10.0, 20.0, 30.0, 40.0]},
        geometry=[box(i, 0, i + 1, 1) for i in range(4)],
        index=pd.Index(["u1", "u2", "u3", "u4"], name="unit_id"),
        crs="EPSG:4326",
    )
    acc_ids = [f"a{i}" for i in range(1, 9)]
    accounts = pd.DataFrame(
        {
            "unit_id": ["u1", "u1", "u2", "u2", "u3", "u3", "u4", "u4"],
            "segment": ["A", "B", "A", "B", "A", "B", "A", "B"],
        },
        index=pd.Index(acc_ids, name="account_id"),
    )
    periods = pd.period_range("2023-01", periods=months, freq="M")
    rows = []
    for a in acc_ids:
        t = np.arange(months)
        mean = 100 * 1.1 ** (t / 12) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
        y = mean * rng.lognormal(0.0, 0.1, size=months)
        keep = np.ones(months, dtype=bool)
        if a == "a7":
            keep[: months - 6] = False
        if a == "a8":
            y = np.zeros(months)
        rows.append(
            pd.DataFrame({"account_id": a, "period": periods[keep], "sales": y[keep]})
        )
    history = pd.concat(rows, ignore_index=True)
    align = Alignment.from_mapping(
        {"u1": "T1", "u2": "T1", "u3": "T2", "u4": "T2"}, name="current"
    )
    return Study(
        units, accounts=accounts, history=history, alignments={"current": align}
    )


@pytest.fixture(scope="session")
def toy_study() -> Study:
    """4 units / 8 accounts / 36 months, one new account and one all-zero account."""
    return make_toy_study()


def fake_sample(model, scfg, seed):
    """Stand-in for MCMC: a posterior where every series sits at its own mean.

    ``level = log 2`` is the transformed series mean for the default offset 1,
    so forecasts are ≈ the series' mean, with a small slope and noise.
    """
    rng = np.random.default_rng(seed)
    n_s = len(model.coords["series"])
    m = len(model.coords["season_pos"])
    c, d = int(scfg["chains"]), int(scfg["draws"])

    def noisy(center: float, *shape: int) -> np.ndarray:
        return center + 0.01 * rng.standard_normal((c, d, *shape))

    post = {
        "level": noisy(np.log(2.0), n_s),
        "slope": noisy(0.0, n_s),
        "season": noisy(0.0, n_s, m),
        "sigma": np.abs(noisy(0.1, n_s)),
        "phi": noisy(0.3, n_s),
        "mu_slope": noisy(0.0),
        "tau_slope": np.abs(noisy(0.05)),
        "tau_level": np.abs(noisy(0.1)),
        "tau_season": np.abs(noisy(0.1)),
        "mu_sigma": noisy(-2.0),
        "mu_phi": noisy(0.0),
        "common_sd": np.abs(noisy(0.01)),
        "group_sd": np.abs(noisy(0.01)),
        "eta": np.zeros((c, d, len(model.coords["time"]))),
        "eta_group": np.zeros(
            (c, d, len(model.coords["group"]), len(model.coords["time"]))
        ),
    }
    dims = {
        "level": ["series"],
        "slope": ["series"],
        "sigma": ["series"],
        "phi": ["series"],
        "season": ["series", "season_pos"],
        "eta": ["time"],
        "eta_group": ["group", "time"],
    }
    coords = {k: np.asarray(v) for k, v in model.coords.items()}
    return az.from_dict(posterior=post, dims=dims, coords=coords)


MOCK_SAMPLER = {"draws": 100, "chains": 2, "progressbar": False}


@pytest.fixture
def mock_sampling(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Replace MCMC by :func:`fake_sample`; returns the sampler config to use."""
    import terrakit.forecast.model as model_mod

    monkeypatch.setattr(model_mod, "_sample", fake_sample)
    return dict(MOCK_SAMPLER)


def small_panel(months: int = 24, start_late: int = 5, seed: int = 0):
    """3 monthly series, one group; series ``s2`` starts ``start_late`` late."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range("2020-01", periods=months, freq="M")
    rows = []
    for j in range(3):
        y = 50.0 * (1 + j) * np.exp(0.2 * rng.standard_normal(months))
        first = start_late if j == 2 else 0
        rows.append(
            pd.DataFrame({"s": f"s{j}", "period": periods[first:], "sales": y[first:]})
        )
    return make_panel(pd.concat(rows, ignore_index=True), key="s")


def perturbed_point(model, scale: float = 0.3, seed: int = 1, **overrides):
    """The model's initial point moved by ``scale × N(0, 1)`` (away from the
    all-zero start), with ``overrides`` set."""
    point = model.initial_point()
    rng = np.random.default_rng(seed)
    for k, v in point.items():
        point[k] = v + scale * rng.standard_normal(np.shape(v))
    point.update(overrides)
    return point


def tensor_values(model, point, names):
    """Values of the named model variables at ``point``."""
    outs = model.replace_rvs_by_values([model[n] for n in names])
    fn = pytensor.function(model.value_vars, outs, on_unused_input="ignore")
    got = fn(**{v.name: point[v.name] for v in model.value_vars})
    return dict(zip(names, got, strict=True))


#: dims of the posterior variables a hand-made fit may set
_HAND_DIMS = {
    "level": ["series"],
    "slope": ["series"],
    "sigma": ["series"],
    "phi": ["series"],
    "alpha": ["series"],
    "sigma_trend": ["series"],
    "season": ["series", "season_pos"],
    "eta": ["time"],
    "eta_group": ["group", "time"],
    "occ_level": ["series"],
    "occ_slope": ["series"],
    "occ_season": ["group", "season_pos"],
}


def constant_fit(panel, cfg=None, *, draws: int = 4, **values) -> PanelFit:
    """A fit whose posterior draws all equal the given values (no parameter
    spread), so a forecast can be checked by hand.  Unset trend, season,
    level, phi and shared-shock variables are 0, ``sigma`` is ``1e-9``;
    ``alpha``, ``sigma_trend`` and the ``occ_*`` variables only when given."""
    s_n, t_n = panel.n_series, panel.values.shape[1]
    g_n = len(panel.group_names)
    shapes = {
        "series": s_n,
        "time": t_n,
        "group": g_n,
        "season_pos": 12,
    }
    base = {
        "level": 0.0,
        "slope": 0.0,
        "season": 0.0,
        "sigma": 1e-9,
        "phi": 0.0,
        "common_sd": 0.0,
        "group_sd": 0.0,
        "eta": 0.0,
        "eta_group": 0.0,
    }
    post = {
        name: np.full(
            (1, draws, *(shapes[d] for d in _HAND_DIMS.get(name, []))), float(v)
        )
        for name, v in (base | values).items()
    }
    dims = {k: v for k, v in _HAND_DIMS.items() if k in post}
    idata = az.from_dict(posterior=post, dims=dims)
    return PanelFit(
        panel,
        idata,
        DEFAULT_MODEL_CONFIG | dict(cfg or {}),
        DEFAULT_SAMPLER_CONFIG,
        0,
        0.0,
    )


def local_level_loglik(panel, vals) -> float:
    """The local-level likelihood by a plain loop over each series' months
    (default offset; ``vals`` from :func:`tensor_values`; a ``sigma_trend``
    entry, when given, makes the scale ``sigma · exp(kappa · t)``)."""
    w = panel.values.shape[1]
    scale = np.nanmean(panel.values, axis=1)
    z = np.log(panel.values / scale[:, None] + DEFAULT_MODEL_CONFIG["offset"])
    t_years = (np.arange(w) - (w - 1)) / 12
    pos = np.mod(np.asarray(panel.periods.asi8), 12)
    kappa = vals.get("sigma_trend", np.zeros(panel.n_series))
    total = 0.0
    for i in range(panel.n_series):
        phi, alpha = vals["phi"][i], vals["alpha"][i]
        lev, seen = 0.0, False
        for t in range(w):
            if not np.isfinite(z[i, t]):
                continue
            sd = vals["sigma"][i] * np.exp(kappa[i] * t_years[t])
            mu = (
                vals["level"][i]
                + vals["slope"][i] * t_years[t]
                + vals["season"][i, pos[t]]
                + vals["eta"][t]
            )
            e = z[i, t] - mu
            var = sd**2 * (1.0 if seen else 1 + (phi * alpha) ** 2 / (1 - phi**2))
            total += -0.5 * np.log(2 * np.pi * var) - 0.5 * (e - lev) ** 2 / var
            lev = phi * (lev + alpha * (e - lev))
            seen = True
    return total


def cluster_series(prefix: str, k: int, j: int, periods, sales) -> pd.DataFrame:
    """Long rows of series ``j`` of cluster ``k`` (``s = "{prefix}{k}-s{j}"``,
    ``cluster = "{prefix}{k}"``, ``group = "g{j}"``), for :func:`grouped_panel`."""
    return pd.DataFrame(
        {
            "s": f"{prefix}{k}-s{j}",
            "cluster": f"{prefix}{k}",
            "group": f"g{j}",
            "period": periods,
            "sales": sales,
        }
    )


def grouped_panel(long):
    """A panel keyed by ``s`` with the ``group`` and ``cluster`` columns of
    ``long`` (one value per series) as its groups and clusters."""
    first = long.drop_duplicates("s").set_index("s")
    return make_panel(long, key="s", groups=first["group"], clusters=first["cluster"])

"""The frozen result of a potential fit, its draws, checks and storage."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit, ndtri

from terrakit._runargs import check_seed, is_count
from terrakit._sampling import Diagnostics, diagnose
from terrakit.data.validation import _id_kind
from terrakit.exceptions import (
    DataValidationError,
    SpecificationError,
    TerrakitWarning,
)

if TYPE_CHECKING:
    from terrakit.potential.model import PreparedData

__all__ = ["PotentialResult", "posterior_predictive_check"]


def _constant_data(data: PreparedData) -> xr.Dataset:
    """Everything needed to recompute potentials from the posterior."""
    ent = "account" if data.level == "account" else "unit"
    ds = xr.Dataset(
        {
            "sales": ((ent,), data.sales.astype(float)),
            "x": ((ent, "covariate"), data.x.astype(float)),
            "x_center": (("covariate",), data.x_center.astype(float)),
            "x_scale": (("covariate",), data.x_scale.astype(float)),
            # the c of each covariate's log(x + c), for new data
            "x_offset": (("covariate",), data.x_offset.astype(float)),
            "unit_index": ((ent,), data.unit_index.astype(np.int64)),
        },
        coords={
            ent: _coord(data.ids),
            "covariate": np.asarray(data.covariates, dtype=str),
        },
    )
    if data.level == "account":
        ds = ds.assign_coords(all_unit=_coord(data.unit_ids))
        for k in ("segment", "industry", "group"):
            ds[f"{k}_index"] = ((ent,), data.index[k].astype(np.int64))
            ds = ds.assign_coords({f"{k}_level": _coord(pd.Index(data.levels[k]))})
    else:
        g = data.graph
        n = len(data.ids)
        island = np.ones(n, dtype=bool) if g is None else g.island
        ds["island"] = ((ent,), island.astype(np.int8))
        ds["spatial"] = ((), int(g is not None and g.n_struct > 0))
        if g is not None and g.n_struct:
            ds["struct_index"] = (("spatial_unit",), g.struct_index.astype(np.int64))
            ds["scale"] = (("spatial_unit",), g.scale.astype(float))
            ds["component"] = ((ent,), g.component.astype(np.int64))
    return ds


def _coord(ids: pd.Index) -> np.ndarray:
    """Ids as a coordinate, in the study's own type.

    Integer ids stay integers, text stays text and ids held as Python objects
    (ints or floats in an object index) stay those objects, so that the
    result's tables (:meth:`PotentialResult.to_frame`, :meth:`draws`) join
    back onto the study.  Only :meth:`PotentialResult.save` converts them, to
    what netCDF stores (see :func:`_storable`).
    """
    arr = ids.to_numpy()
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind in "fUSMm":
        return arr
    return arr.astype(object)


# key of ``idata.attrs`` under which :meth:`PotentialResult.save` records the
# type of the ids it converted for netCDF (popped again by ``load``)
_ID_TYPES = "id_types"
_KIND_CODE = {"int": "i", "float": "f", "text": "s", "bool": "b"}
_CODE_KIND = {c: k for k, c in _KIND_CODE.items()}


def _value_kind(v: Any) -> str:
    """``"int"``, ``"float"``, ``"text"``, ``"bool"`` or another word for one
    id."""
    kind = _id_kind(v)
    if kind == "boolean":
        return "bool"
    if kind == "number":
        if isinstance(v, int | np.integer):
            return "int"
        if isinstance(v, float | np.floating):
            return "float"
        return type(v).__name__
    return kind


def _storable(idata: Any) -> Any:
    """A copy of ``idata`` whose object-dtype coordinates netCDF can store.

    Ids held as Python objects (the study's ids in an object index) are
    written as int64 (ints), float64 (floats), bool (True/False: the levels
    of a True/False segment or industry column) or text, and their type is
    recorded in ``attrs["id_types"]`` (``"group/coordinate"`` → ``"int"``,
    ``"float"``, ``"bool"``, ``"text"``, or for ids of mixed types
    ``"mixed:"`` and one code per id, ``i``/``f``/``b``/``s``) so that
    :func:`_restored` gives the same ids back.

    Raises
    ------
    DataValidationError
        Ids of a type other than whole numbers, floats, True/False or text.
    """
    import arviz as az

    types: dict[str, str] = {}
    groups: dict[str, Any] = {}
    for g in idata.groups():
        ds = idata[g]
        new: dict[str, np.ndarray] = {}
        for name, c in ds.coords.items():
            arr = c.to_numpy()
            if arr.dtype != object:
                continue
            kinds = [_value_kind(v) for v in arr.ravel()]
            odd = sorted(set(kinds) - set(_KIND_CODE))
            if odd:
                first = next(
                    v for v, k in zip(arr.ravel(), kinds, strict=True) if k in odd
                )
                raise DataValidationError(
                    "potential",
                    str(name),
                    f"the {name!r} ids of this result ({g}) include "
                    f"{', '.join(odd)} values (e.g. {first!r}), which a netCDF "
                    "file cannot store; only whole numbers, floats, True/False "
                    "and text can be saved",
                    fix=_storable_fix(str(name)),
                )
            uniq = set(kinds)
            if uniq == {"int"}:
                kind = "int"
                try:
                    stored = arr.astype(np.int64)
                except OverflowError:  # beyond int64: kept exact as text
                    stored = np.array([str(v) for v in arr.ravel()]).reshape(arr.shape)
            elif uniq == {"float"}:
                kind, stored = "float", arr.astype(np.float64)
            elif uniq == {"bool"}:  # netCDF stores bool (as int8, read back)
                kind, stored = "bool", arr.astype(bool)
            else:  # text (or no ids), or ids of mixed types: text and their codes
                kind = (
                    "text"
                    if uniq <= {"text"}
                    else "mixed:" + "".join(_KIND_CODE[k] for k in kinds)
                )
                stored = np.array([str(v) for v in arr.ravel()], dtype=str).reshape(
                    arr.shape
                )
            types[f"{g}/{name}"] = kind
            new[str(name)] = stored
        groups[g] = ds.assign_coords(new) if new else ds
    attrs = dict(idata.attrs)
    if types:
        attrs[_ID_TYPES] = json.dumps(types, sort_keys=True)
    return az.InferenceData(attrs=attrs, **groups)


def _storable_fix(name: str) -> str:
    """How to fit again with ids of coordinate ``name`` that can be saved."""
    group = name.removesuffix("_level")
    if group in ("segment", "industry", "group"):
        # the levels of a grouping column, not the study's ids
        return (
            f"give the accounts' {group} column (model_config['{group}_column']) "
            "whole numbers or text (e.g. accounts[col] = accounts[col]."
            "astype(str)) and fit again"
        )
    return (
        "give the study ids that are whole numbers or text "
        "(e.g. units.index = units.index.astype(str)) and fit again"
    )


def _restored(idata: Any) -> Any:
    """``idata`` read from a file, with the ids :func:`_storable` converted
    back to their recorded type (files without the record are left as they
    are: results saved before it give text ids for ids that were held as
    Python objects)."""
    import arviz as az

    attrs = dict(idata.attrs)
    types = json.loads(attrs.pop(_ID_TYPES, "{}"))
    groups = {g: idata[g] for g in idata.groups()}
    for key, kind in types.items():
        g, name = key.split("/", 1)
        if g not in groups or name not in groups[g].coords:
            continue
        arr = groups[g][name].to_numpy()
        flat = arr.ravel()
        if kind.startswith("mixed:"):
            kinds = [_CODE_KIND[c] for c in kind[len("mixed:") :]]
        else:
            kinds = [kind] * flat.size
        conv: dict[str, Callable[[Any], Any]] = {
            "int": int,
            "float": float,
            "text": str,
            "bool": _as_bool,
        }
        vals = np.empty(flat.size, dtype=object)
        vals[:] = [
            conv[k](v.item() if isinstance(v, np.generic) else v)
            for k, v in zip(kinds, flat, strict=True)
        ]
        groups[g] = groups[g].assign_coords({name: vals.reshape(arr.shape)})
    return az.InferenceData(attrs=attrs, **groups)


def _as_bool(v: Any) -> bool:
    """A stored True/False id back as a bool (stored as bool, or as its text
    among ids of mixed types)."""
    return v == "True" if isinstance(v, str) else bool(v)


def _stack(post: xr.Dataset, name: str) -> np.ndarray:
    """``(sample, ...)`` array of a posterior variable (chains concatenated)."""
    v = post[name]
    arr = v.transpose("chain", "draw", ...).to_numpy()
    # the sample count is explicit: with ``-1`` a variable with an empty
    # dimension (``beta`` of a model with no covariates) cannot be reshaped
    return arr.reshape((arr.shape[0] * arr.shape[1], *arr.shape[2:]))


def _predictors(idata: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``mu``, ``sd`` and ``p_buy`` per (sample, entity), log-sales centred."""
    post, cd = idata.posterior, idata.constant_data
    level = idata.attrs["level"]
    x = cd["x"].to_numpy()
    alpha = _stack(post, "alpha")
    beta = _stack(post, "beta").reshape(len(alpha), x.shape[1])
    h_alpha = _stack(post, "h_alpha")
    h_beta = _stack(post, "h_beta").reshape(len(alpha), x.shape[1])
    mu = alpha[:, None] + beta @ x.T
    logit = h_alpha[:, None] + h_beta @ x.T
    if level == "account":
        seg = cd["segment_index"].to_numpy()
        ind = cd["industry_index"].to_numpy()
        grp = cd["group_index"].to_numpy()
        b_seg = _stack(post, "b_segment")
        mu = (
            mu
            + b_seg[:, seg]
            + _stack(post, "tau_industry")[:, None] * _stack(post, "z_industry")[:, ind]
            + _stack(post, "tau_group")[:, None] * _stack(post, "z_group")[:, grp]
        )
        sd = _stack(post, "sigma")[:, seg]
        logit = logit + _stack(post, "h_segment")[:, seg]
    else:
        sigma = _stack(post, "sigma")
        sd = np.repeat(sigma[:, None], x.shape[0], axis=1)
        if int(cd["spatial"]) and "phi" in post:
            rho = _stack(post, "rho")
            idx = cd["struct_index"].to_numpy()
            scale = cd["scale"].to_numpy()
            phi = _stack(post, "phi")
            mu[:, idx] += (sigma * np.sqrt(rho))[:, None] * phi / np.sqrt(scale)
            sd[:, idx] = (sigma * np.sqrt(1.0 - rho))[:, None]
    return mu, sd, expit(logit)


@dataclass(frozen=True, eq=False)
class PotentialResult:
    """Posterior market potential per account or unit.

    Build it with :meth:`terrakit.potential.PotentialModel.fit` or
    :meth:`load`.  The posterior, the data it was fitted to and the
    configuration (with its hash and the terrakit version) live in
    :attr:`idata`; every table is computed from it.

    Attributes
    ----------
    idata
        ArviZ ``InferenceData``: ``posterior`` (model parameters),
        ``constant_data`` (covariates, groups, sales) and ``attrs``
        (``level``, ``model_config``, ``sampler_config``, ``config_hash``,
        ``terrakit_version``, ``versions`` — JSON of the versions of
        numpy, pandas, pymc, pytensor, nutpie, arviz... that made it —,
        ``seed``, ``method``, ``log_center`` and, for ``method="advi"``,
        ``advi_check``: its convergence check as JSON text, see
        :attr:`advi_check`).
    level
        ``"account"`` or ``"unit"``.
    compile_seconds, sample_seconds, fit_seconds
        Timings (shown by ``str()``, never by :meth:`summary`).
    """

    idata: Any
    level: str
    diagnostics_: Diagnostics | None = field(default=None, repr=False)
    compile_seconds: float = field(default=float("nan"), compare=False)
    sample_seconds: float = field(default=float("nan"), compare=False)
    fit_seconds: float = field(default=float("nan"), compare=False)

    def __post_init__(self) -> None:
        if self.level not in ("account", "unit"):
            raise ValueError(f"level must be 'account' or 'unit', got {self.level!r}")
        for grp in ("posterior", "constant_data"):
            if grp not in self.idata.groups():
                raise ValueError(f"idata lacks the {grp!r} group")
        for key in ("level", "model_config", "config_hash", "log_center"):
            if key not in self.idata.attrs:
                raise ValueError(f"idata.attrs lacks {key!r}; not a potential fit")
        if self.idata.attrs["level"] != self.level:
            raise ValueError(
                f"idata was fitted at level {self.idata.attrs['level']!r}, not "
                f"{self.level!r}"
            )

    # -- configuration -------------------------------------------------------------
    @property
    def model_config(self) -> dict[str, Any]:
        return dict(json.loads(self.idata.attrs["model_config"]))

    @property
    def sampler_config(self) -> dict[str, Any]:
        return dict(json.loads(self.idata.attrs.get("sampler_config", "{}")))

    @property
    def config_hash(self) -> str:
        return str(self.idata.attrs["config_hash"])

    @property
    def adjacency(self) -> dict[str, Any] | None:
        """The graph the BYM2 effect used (unit level, ``spatial="bym2"``).

        ``source`` (``"built"`` from ``model_config['adjacency']`` or
        ``"given"`` to ``fit``), ``kind``, ``n_units``, ``n_edges``,
        ``n_islands``, ``n_components`` and ``edge_hash``; ``None`` without
        a spatial effect or for results saved before it was recorded.
        """
        text = self.idata.attrs.get("adjacency")
        return None if text is None else dict(json.loads(text))

    @property
    def versions(self) -> dict[str, str]:
        """Versions of the libraries the fit ran with (``{}`` for results
        saved before they were recorded); terrakit's is ``terrakit_version``
        in :attr:`idata`'s attrs."""
        return dict(json.loads(self.idata.attrs.get("versions", "{}")))

    @property
    def method(self) -> str:
        return str(self.idata.attrs.get("method", "nutpie"))

    @property
    def advi_check(self) -> dict[str, Any] | None:
        """``method="advi"``: whether the approximation had converged
        (:func:`terrakit._sampling.advi_convergence`: ``converged``, the
        loss ``change_per_value``, the parameters' ``drift`` and ``jitter``
        with the worst parameter and the thresholds, ``iterations``,
        ``learning_rate``); ``None`` for the other methods and for results
        saved before it was recorded."""
        text = self.idata.attrs.get("advi_check")
        return None if text is None else dict(json.loads(text))

    @property
    def seed(self) -> int:
        return int(self.idata.attrs.get("seed", 0))

    @property
    def quantile(self) -> float:
        return float(self.model_config["potential_quantile"])

    @property
    def ids(self) -> pd.Index:
        """The ids of the fitted accounts (units), as the study has them
        (``101`` stays ``101``, not ``'101'``), so tables join back onto it."""
        ent = self.level
        return pd.Index(self.idata.constant_data[ent].to_numpy(), name=f"{ent}_id")

    @property
    def sales(self) -> pd.Series:
        return pd.Series(
            self.idata.constant_data["sales"].to_numpy(), index=self.ids, name="sales"
        )

    @property
    def n_samples(self) -> int:
        post = self.idata.posterior
        return int(post.sizes["chain"] * post.sizes["draw"])

    # -- draws ---------------------------------------------------------------------
    def _potential_draws(self) -> np.ndarray:
        mu, sd, _ = _predictors(self.idata)
        c = float(self.idata.attrs["log_center"])
        return np.exp(c + mu + float(ndtri(self.quantile)) * sd)

    def _check_account_units(self) -> None:
        """Refuse (none) or warn about (some) accounts that lie in no unit."""
        idx = self.idata.constant_data["unit_index"].to_numpy()
        lost = idx < 0
        if lost.all():
            raise DataValidationError(
                "accounts",
                "unit_id",
                f"none of the {len(idx)} accounts of this fit has a unit of the "
                "study, so every unit potential would be 0",
                fix="give the accounts the unit_id of the unit they lie in and "
                "fit again: study = study.replace(accounts=tk.data.io."
                "join_to_units(study.accounts, study.units)) (from their "
                "lon/lat), or ask for level='account'",
            )
        if lost.any():
            warnings.warn(
                f"{int(lost.sum())} of {len(idx)} accounts have no unit of the "
                f"study (e.g. {list(self.ids[lost][:5])}); their potential is "
                "left out of the unit totals",
                TerrakitWarning,
                stacklevel=4,
            )

    def p_buy(self) -> pd.Series:
        """Posterior mean probability that the account (unit) buys at all."""
        _, _, p = _predictors(self.idata)
        return pd.Series(p.mean(axis=0), index=self.ids, name="p_buy")

    def draws(
        self, level: str = "unit", n_draws: int | None = None, seed: int = 0
    ) -> xr.DataArray:
        """Posterior draws of the potential.

        Parameters
        ----------
        level
            ``"unit"`` (for account fits: the sum of the unit's accounts; units
            without accounts get 0) or ``"account"`` (account fits only).
        n_draws
            Keep this many draws, chosen at random without replacement
            (default: all).
        seed
            Seed of that choice.

        Returns
        -------
        xarray.DataArray
            Dims ``(level, "draw")``, name ``"potential"``.

        Raises
        ------
        SpecificationError
            An unknown level, account draws of a unit fit, ``n_draws`` outside
            ``[1, n_samples]`` or a bad ``seed``.
        DataValidationError
            Unit draws of an account fit whose accounts have no unit.
        """
        if level not in ("unit", "account"):
            raise SpecificationError(
                f"level must be 'unit' or 'account', got {level!r}"
            )
        if level == "account" and self.level != "account":
            raise SpecificationError(
                "account draws need an account-level fit; this result is "
                "unit-level. Fix: PotentialModel().fit(study, level='account')"
            )
        if level == "unit" and self.level == "account":
            self._check_account_units()
        seed = check_seed(seed)
        if n_draws is not None:
            total = self.n_samples
            if (
                isinstance(n_draws, bool)
                or not isinstance(n_draws, int | np.integer)
                or not 1 <= n_draws <= total
            ):
                raise SpecificationError(
                    f"n_draws must be a whole number in [1, {total}] (the "
                    f"posterior holds {total} draws), got {n_draws!r}; leave it "
                    "out for all draws, or fit with more draws"
                )
        pot = self._potential_draws()
        if n_draws is not None:
            keep = np.sort(
                np.random.default_rng(seed).choice(pot.shape[0], n_draws, replace=False)
            )
            pot = pot[keep]
        cd = self.idata.constant_data
        if level == "unit" and self.level == "account":
            units = cd["all_unit"].to_numpy()
            idx = cd["unit_index"].to_numpy()
            ok = idx >= 0
            agg = np.zeros((pot.shape[0], len(units)))
            np.add.at(agg.T, idx[ok], pot[:, ok].T)
            pot, ids = agg, units
        else:
            ids = cd[self.level].to_numpy()
        return xr.DataArray(
            pot.T,
            dims=(level, "draw"),
            coords={level: ids, "draw": np.arange(pot.shape[0])},
            name="potential",
        )

    # -- tables ---------------------------------------------------------------------
    def to_frame(self, level: str | None = None) -> pd.DataFrame:
        """Per account (unit): potential mean, 5/50/95 % quantiles, sales, ...

        Parameters
        ----------
        level
            Default: the fitted level; ``"unit"`` aggregates an account fit.

        Returns
        -------
        pandas.DataFrame
            Columns ``potential_mean``, ``potential_q05``, ``potential_q50``,
            ``potential_q95``, ``sales``, ``whitespace`` (potential mean −
            sales), ``penetration`` (sales / potential mean), and for the
            fitted level ``p_buy``; account fits also have ``unit_id``.
        """
        lv = level or self.level
        d = self.draws(lv).to_numpy()
        q = np.quantile(d, [0.05, 0.5, 0.95], axis=1)
        mean = d.mean(axis=1)
        cd = self.idata.constant_data
        if lv == self.level:
            sales = cd["sales"].to_numpy()
            ids = self.ids
        else:
            units = cd["all_unit"].to_numpy()
            idx = cd["unit_index"].to_numpy()
            ok = idx >= 0
            sales = np.bincount(
                idx[ok], weights=cd["sales"].to_numpy()[ok], minlength=len(units)
            )
            ids = pd.Index(units, name="unit_id")
        with np.errstate(divide="ignore", invalid="ignore"):
            pen = np.where(mean > 0, sales / mean, np.nan)
        df = pd.DataFrame(
            {
                "potential_mean": mean,
                "potential_q05": q[0],
                "potential_q50": q[1],
                "potential_q95": q[2],
                "sales": sales,
                "whitespace": mean - sales,
                "penetration": pen,
            },
            index=ids,
        )
        if lv == self.level:
            df["p_buy"] = self.p_buy().to_numpy()
        if lv == "account":
            idx = cd["unit_index"].to_numpy()
            units = cd["all_unit"].to_numpy()
            df.insert(0, "unit_id", _unit_ids(units, idx))
        return df

    def diagnostics(self, warn: bool = True) -> Diagnostics:
        """R-hat, bulk/tail ESS and divergences of the model parameters; for
        ``method="advi"``, whether the approximation had converged
        (:attr:`advi_check`).

        Warns
        -----
        ConvergenceWarning
            When they are poor (see :func:`terrakit._sampling.diagnose`).
        """
        scfg = self.sampler_config
        return diagnose(
            self.idata,
            list(self.idata.posterior.data_vars),
            method=self.method,
            rhat_max=float(scfg.get("rhat_max", 1.01)),
            ess_min=float(scfg.get("ess_min", 100.0)),
            warn=warn,
            stacklevel=3,
            advi_check=self.idata.attrs.get("advi_check"),
        )

    def summary(self) -> str:
        """Rounded, stable text (no timings)."""
        f = self.to_frame()
        tot = self.draws(self.level).to_numpy().sum(axis=0)
        lo, hi = np.quantile(tot, [0.05, 0.95])
        sales = float(f["sales"].sum())
        mean = float(tot.mean())
        n = len(f)
        n_buy = int((f["sales"] > 0).sum())
        lines = [
            f"PotentialResult ({self.level} level, {self.method}, seed {self.seed},"
            f" q={self.quantile:g})",
            f"  {n} {self.level}s, {n_buy} with sales",
            f"  total potential {_sig(mean)} (90 % interval {_sig(lo)} – {_sig(hi)})",
            f"  total sales {_sig(sales)}, whitespace {_sig(mean - sales)}, "
            f"penetration {100 * sales / mean:.1f} %",
        ]
        g = self.adjacency
        if g is not None:
            graph = f"{g['source']} {g['kind']} adjacency"
            if int(g["n_edges"]) == 0:
                lines.append(
                    f"  spatial effect: NONE, the {graph} has no edges (all "
                    f"{g['n_units']} units are islands)"
                )
            else:
                isl = int(g["n_islands"])
                lines.append(
                    f"  spatial effect: BYM2 over the {graph}, {g['n_edges']} "
                    f"edges, {isl} islands"
                    + (" (no spatial smoothing there)" if isl else "")
                )
        return "\n".join(lines)

    def __str__(self) -> str:
        return (
            f"{self.summary()}\n  compile {self.compile_seconds:.1f} s, "
            f"sample {self.sample_seconds:.1f} s"
        )

    # -- storage ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the InferenceData (with config, version and hash) to netCDF.

        Ids that netCDF cannot store as they are (the study's ids held as
        Python ints, floats or text in an object index, the True/False levels
        of a grouping column) are written as int64, float64, bool or text,
        and their type is recorded in the file, so that
        :meth:`load` gives the same ids back (int ids as Python ints in an
        object index, float ids as floats, ids of mixed types each in its
        own type).

        Raises
        ------
        DataValidationError
            Ids that are neither whole numbers, floats, True/False nor text
            (they cannot be stored).
        """
        p = Path(path)
        _storable(self.idata).to_netcdf(str(p), engine="h5netcdf")
        return p

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PotentialResult:
        """Read a result written by :meth:`save`.

        The ids come back in the type they had in the fit (files saved
        before terrakit recorded it give ids that were Python objects in an
        object index as text).

        Raises
        ------
        DataValidationError
            When the file is not a terrakit potential result (also when it
            is not a netCDF file at all, e.g. a GeoPackage or a CSV).
        FileNotFoundError, PermissionError, IsADirectoryError
            When the file cannot be opened.
        """
        import arviz as az

        fix = "load files written by PotentialResult.save"
        try:
            idata = az.from_netcdf(str(path), engine="h5netcdf")
        except (FileNotFoundError, PermissionError, IsADirectoryError):
            raise
        except (OSError, ValueError) as err:
            # h5py: "Unable to synchronously open file (file signature not
            # found)" for a file that is not HDF5/netCDF4
            raise DataValidationError(
                "potential",
                None,
                f"{os.fspath(path)!r} is not a saved PotentialResult: it cannot "
                f"be read as netCDF ({type(err).__name__}: "
                f"{str(err).splitlines()[0] if str(err) else ''})",
                fix=fix,
            ) from err
        idata.load()
        idata = _restored(idata)
        level = idata.attrs.get("level")
        if level not in ("account", "unit") or "config_hash" not in idata.attrs:
            raise DataValidationError(
                "potential",
                None,
                f"{os.fspath(path)!r} is not a saved "
                "PotentialResult (no level/config_hash in its attributes)",
                fix=fix,
            )
        return cls(idata=idata, level=str(level))


def _sig(v: float) -> str:
    """Three significant digits, thousands separated."""
    if not np.isfinite(v):
        return f"{v:g}"
    if abs(v) >= 100:
        return f"{float(f'{v:.3g}'):,.0f}"
    return f"{v:.3g}"


def _unit_ids(units: np.ndarray, idx: np.ndarray) -> Any:
    """Each account's unit id (``idx`` −1: none) in the dtype of the study's
    ids: integers stay integers (nullable ``Int64`` where an account has no
    unit), not Python ints in an object column."""
    if (idx >= 0).all():
        return units[idx]
    if np.issubdtype(units.dtype, np.integer):
        return pd.array([None if i < 0 else units[i] for i in idx], dtype="Int64")
    return np.where(idx >= 0, units[np.maximum(idx, 0)], None)


def _require_result(res: Any, func: str) -> None:
    """A :class:`TypeError` naming the fix unless ``res`` is a
    :class:`PotentialResult` (as the potential plots refuse other objects);
    an InferenceData, a table or the study failed with a bare
    ``AttributeError: ... has no attribute 'idata'``."""
    if isinstance(res, PotentialResult):
        return
    from terrakit.data.study import Study

    if isinstance(res, pd.DataFrame):
        hint = "pass the PotentialResult itself, not its to_frame() table"
    elif isinstance(res, Study):
        hint = (
            f"pass the fit, not the study: {func}(tk.potential.PotentialModel()"
            ".fit(study, seed=0))"
        )
    elif hasattr(res, "groups") and hasattr(res, "posterior"):
        hint = (
            "pass the PotentialResult itself, not its idata (a saved one: "
            "PotentialResult.load(path))"
        )
    else:
        hint = "make one with tk.potential.PotentialModel().fit(study, seed=0)"
    got = "None" if res is None else type(res).__name__
    raise TypeError(
        f"{func} takes a PotentialResult (tk.potential.PotentialModel().fit), "
        f"got {got}; {hint}"
    )


def posterior_predictive_check(
    res: PotentialResult, n_draws: int = 200, seed: int = 0
) -> pd.DataFrame:
    """Compare data statistics with their posterior predictive distribution.

    Replicated data sets are simulated from the fitted hurdle model (who buys,
    then log-sales of the buyers) for ``n_draws`` posterior draws (drawn
    without replacement; when ``n_draws`` exceeds the posterior's draws, each
    draw serves ``n_draws / draws`` replicates, give or take one).

    Parameters
    ----------
    res
        A fitted result.
    n_draws
        Number of replicated data sets.
    seed
        Seed of the simulation.

    Returns
    -------
    pandas.DataFrame
        One row per statistic (``share_buyers``, ``mean_log_sales``,
        ``sd_log_sales``, ``q10_log_sales``, ``q90_log_sales``,
        ``max_log_sales``), columns ``observed``, ``replicated_mean``,
        ``replicated_q05``, ``replicated_q95`` and ``p_value``
        (share of replicates at or above the observed value; values near 0
        or 1 flag misfit).

    Raises
    ------
    TypeError
        When ``res`` is not a :class:`PotentialResult` (e.g. its ``idata``,
        its ``to_frame()`` table or the study), naming what to pass.
    SpecificationError
        When ``n_draws`` is not a whole number ≥ 1 or ``seed`` is bad.
    """
    _require_result(res, "posterior_predictive_check")
    seed = check_seed(seed)
    if not is_count(n_draws, 1):
        raise SpecificationError(
            f"n_draws must be a whole number ≥ 1 (replicated data sets), got "
            f"{n_draws!r}; e.g. n_draws=200"
        )
    rng = np.random.default_rng(seed)
    mu, sd, p = _predictors(res.idata)
    n_samp = mu.shape[0]
    if n_draws <= n_samp:
        take = rng.choice(n_samp, n_draws, replace=False)
    else:  # more replicates than draws: every draw as evenly as can be
        take = np.resize(rng.permutation(n_samp), n_draws)
    c = float(res.idata.attrs["log_center"])

    def stats(buy: np.ndarray, logy: np.ndarray) -> np.ndarray:
        ly = logy[buy]
        if ly.size == 0:
            return np.array([0.0, *([np.nan] * 5)])
        return np.array(
            [
                buy.mean(),
                ly.mean(),
                ly.std(),
                np.quantile(ly, 0.1),
                np.quantile(ly, 0.9),
                ly.max(),
            ]
        )

    sales = res.idata.constant_data["sales"].to_numpy()
    obs_buy = sales > 0
    obs = stats(obs_buy, np.log(np.where(obs_buy, sales, 1.0)))
    reps = np.empty((len(take), len(obs)))
    for r, s in enumerate(take):
        buy = rng.random(mu.shape[1]) < p[s]
        logy = c + mu[s] + sd[s] * rng.standard_normal(mu.shape[1])
        reps[r] = stats(buy, logy)
    names = [
        "share_buyers",
        "mean_log_sales",
        "sd_log_sales",
        "q10_log_sales",
        "q90_log_sales",
        "max_log_sales",
    ]
    return pd.DataFrame(
        {
            "observed": obs,
            "replicated_mean": np.nanmean(reps, axis=0),
            "replicated_q05": np.nanquantile(reps, 0.05, axis=0),
            "replicated_q95": np.nanquantile(reps, 0.95, axis=0),
            "p_value": (reps >= obs[None, :]).mean(axis=0),
        },
        index=pd.Index(names, name="statistic"),
    )

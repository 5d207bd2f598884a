"""One way to draw from a PyMC model everywhere in terrakit.

:func:`sample` runs nutpie (default: NUTS compiled once with numba), PyMC's own
NUTS, or a fast variational approximation (ADVI; Pathfinder when
``pymc-extras`` is installed), with an explicit seed and a switchable progress
bar, and reports how long compiling and sampling took.  :func:`diagnose`
computes R-hat, bulk/tail ESS and divergences and warns with
:class:`~terrakit.exceptions.ConvergenceWarning` when they are poor.

The configuration is a plain dict merged over :data:`DEFAULT_SAMPLER_CONFIG`
(``DEFAULT_SAMPLER_CONFIG | user``), as in pymc-marketing.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from terrakit.exceptions import (
    ConvergenceWarning,
    SpecificationError,
    TerrakitError,
    TerrakitWarning,
)

__all__ = [
    "DEFAULT_SAMPLER_CONFIG",
    "METHODS",
    "Diagnostics",
    "SampleRun",
    "config_count",
    "config_flag",
    "config_number",
    "diagnose",
    "laplace_approximation",
    "merge_sampler_config",
    "sample",
]

#: Sampling methods :func:`sample` knows.
METHODS = ("nutpie", "pymc", "advi", "laplace", "pathfinder")
#: The approximate (non-MCMC) methods: no R-hat / ESS to check.
APPROXIMATE = ("advi", "laplace", "pathfinder")

#: Defaults; a user's ``sampler_config`` is merged on top.
DEFAULT_SAMPLER_CONFIG: dict[str, Any] = {
    "method": "nutpie",  # "nutpie" | "pymc" | "advi" | "laplace" | "pathfinder"
    "draws": 500,
    "tune": 500,
    "chains": 2,
    "cores": 2,
    "target_accept": 0.8,
    "progressbar": True,
    # variational fast path
    "vi_iterations": 20_000,
    "vi_draws": 1000,
    "vi_learning_rate": 0.01,
    # convergence thresholds (ConvergenceWarning beyond them)
    "rhat_max": 1.01,
    "ess_min": 100.0,
}


def _shown(value: Any) -> str:
    """``repr(value)`` with its type where the repr hides it (``'10'``, ``True``)."""
    if isinstance(value, bool | np.bool_ | str) or value is None:
        return f"{value!r} ({type(value).__name__})"
    return repr(value)


def config_count(
    cfg: Mapping[str, Any],
    key: str,
    *,
    low: int = 1,
    table: str = "sampler_config",
    default: Any = None,
) -> int:
    """``cfg[key]`` as an ``int`` ≥ ``low``, or a :class:`SpecificationError`.

    Counts (draws, chains, iterations...) must be whole numbers: an ``int``,
    or a float with an integer value (``500.0``); ``True``, ``2.7``, ``"10"``
    and ``None`` are refused rather than converted (``int(2.7)`` would
    silently give 2).  The message names the table, the key, the value, the
    range and the fix.
    """
    value = cfg[key]
    ok = not isinstance(value, bool | np.bool_) and (
        isinstance(value, int | np.integer)
        or (
            isinstance(value, float | np.floating)
            and math.isfinite(value)
            and float(value).is_integer()
        )
    )
    if not ok or int(value) < low:
        example = max(low, 1) if default is None else default
        raise SpecificationError(
            f"{table}[{key!r}] must be a whole number ≥ {low}, got "
            f"{_shown(value)}. Fix: pass an integer such as {key}={example}"
            + ("" if default is None else " (the default)")
        )
    return int(value)


def config_number(
    cfg: Mapping[str, Any],
    key: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    table: str = "sampler_config",
    default: Any = None,
) -> float:
    """``cfg[key]`` as a finite ``float`` within the bounds, or a
    :class:`SpecificationError` naming the table, key, value and range.

    ``True``/``False`` are not numbers here, nor are text and ``None``.
    ``low_open``/``high_open`` exclude the bound itself.
    """
    value = cfg[key]
    ok = (
        not isinstance(value, bool | np.bool_)
        and isinstance(value, int | float | np.integer | np.floating)
        and math.isfinite(float(value))
    )
    if ok:
        v = float(value)
        if low is not None and (v < low or (low_open and v == low)):
            ok = False
        if high is not None and (v > high or (high_open and v == high)):
            ok = False
    if not ok:
        if low is not None and high is not None:
            rng = (
                f"in {'(' if low_open else '['}{low:g}, {high:g}"
                f"{')' if high_open else ']'}"
            )
        elif low is not None:
            rng = f"{'>' if low_open else '≥'} {low:g}"
        elif high is not None:
            rng = f"{'<' if high_open else '≤'} {high:g}"
        else:
            rng = "finite"
        hint = "" if default is None else f"; leave it out for the default {default!r}"
        raise SpecificationError(
            f"{table}[{key!r}] must be a number {rng}, got {_shown(value)}. "
            f"Fix: pass a number {rng}{hint}"
        )
    return float(value)


def config_flag(
    cfg: Mapping[str, Any], key: str, *, table: str = "sampler_config"
) -> bool:
    """``cfg[key]`` as a ``bool``; anything but ``True``/``False`` is refused."""
    value = cfg[key]
    if not isinstance(value, bool | np.bool_):
        raise SpecificationError(
            f"{table}[{key!r}] must be True or False, got {_shown(value)}"
        )
    return bool(value)


def merge_sampler_config(user: Mapping[str, Any] | None) -> dict[str, Any]:
    """``DEFAULT_SAMPLER_CONFIG | user``, checked.

    Counts come back as ``int`` (``500.0`` becomes 500).

    Raises
    ------
    SpecificationError
        Unknown keys, an unknown method, a count that is not a whole number
        (``draws``, ``tune``, ``chains``, ``cores``, ``vi_iterations``,
        ``vi_draws``; ``2.7`` is refused, not truncated) or out of range, or
        a threshold that is not a number in range; the message names the
        key, the value and the range.
    """
    cfg = DEFAULT_SAMPLER_CONFIG | dict(user or {})
    unknown = sorted(set(cfg) - set(DEFAULT_SAMPLER_CONFIG))
    if unknown:
        raise SpecificationError(
            f"unknown sampler_config keys {unknown}; known keys are "
            f"{sorted(DEFAULT_SAMPLER_CONFIG)}"
        )
    if cfg["method"] not in METHODS:
        raise SpecificationError(
            f"sampler_config['method'] must be one of {list(METHODS)}, got "
            f"{cfg['method']!r}"
        )
    d = DEFAULT_SAMPLER_CONFIG
    for key in ("draws", "chains", "cores", "vi_iterations", "vi_draws"):
        cfg[key] = config_count(cfg, key, low=1, default=d[key])
    cfg["tune"] = config_count(cfg, "tune", low=0, default=d["tune"])
    cfg["target_accept"] = config_number(
        cfg, "target_accept", low=0.5, high=1.0, high_open=True, default=0.8
    )
    cfg["vi_learning_rate"] = config_number(
        cfg, "vi_learning_rate", low=0.0, low_open=True, default=d["vi_learning_rate"]
    )
    cfg["rhat_max"] = config_number(cfg, "rhat_max", low=1.0, default=d["rhat_max"])
    cfg["ess_min"] = config_number(cfg, "ess_min", low=0.0, default=d["ess_min"])
    cfg["progressbar"] = config_flag(cfg, "progressbar")
    return cfg


@dataclass(frozen=True)
class SampleRun:
    """What :func:`sample` returns: the draws and how long they took.

    Attributes
    ----------
    idata
        ArviZ ``InferenceData`` with a ``posterior`` group (and
        ``sample_stats`` for MCMC).
    method
        The method that ran.
    compile_seconds, sample_seconds
        Wall time of compiling the model and of drawing.
    """

    idata: Any
    method: str
    compile_seconds: float
    sample_seconds: float


@contextlib.contextmanager
def quiet_pymc(progress: bool) -> Iterator[None]:
    """Silence PyMC's INFO log while the progress bar is off.

    PyMC logs "Finished [100%]: Average Loss = ..." after ADVI even with
    ``progressbar=False``; quiet means quiet.  The logger's level is restored
    on exit.
    """
    log = logging.getLogger("pymc")
    level = log.level
    if not progress:
        log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


def nutpie_sample(compiled: Any, **kwargs: Any) -> Any:
    """``nutpie.sample`` with one retry when a sampler thread panics.

    nutpie runs its chains in threads; on a loaded machine one of them has
    been seen to abort with a Rust ``PanicException`` ("Error during point
    expansion: Expand function returned error code -2", then a poisoned
    mutex) on a model that samples cleanly when run again with the same seed.
    Such a panic is retried once with the chains run one after another
    (``cores=1``; same seed, so the same draws) and reported with a
    :class:`~terrakit.exceptions.TerrakitWarning`; a second panic, or any
    other error, propagates.

    Raises
    ------
    TerrakitError
        When nutpie cannot start: every jittered initial point gave an error
        or a non-finite log density or gradient ("All initialization points
        failed").  Retrying with the same compiled model fails the same way,
        so the message names the failure and the way round it (PyMC's own
        NUTS, ``sampler_config={"method": "pymc"}``).
    """
    import nutpie

    try:
        return _nutpie_sample_once(nutpie, compiled, kwargs)
    except BaseException as exc:  # pyo3's PanicException is a BaseException
        if type(exc).__name__ != "PanicException":
            raise
        warnings.warn(
            f"nutpie's sampler thread panicked ({str(exc)[:120]}); retrying once "
            "with the chains run one after another (cores=1, same seed)",
            TerrakitWarning,
            stacklevel=2,
        )
        return _nutpie_sample_once(nutpie, compiled, kwargs | {"cores": 1})


def _nutpie_sample_once(nutpie: Any, compiled: Any, kwargs: dict[str, Any]) -> Any:
    """``nutpie.sample``, its failure to initialise turned into a
    :class:`~terrakit.exceptions.TerrakitError`."""
    try:
        return nutpie.sample(compiled, **kwargs)
    except RuntimeError as exc:
        text = str(exc)
        if "initialization points failed" not in text:
            raise
        detail = " ".join(text.split())
        if len(detail) > 300:
            detail = detail[:300] + " ..."
        raise TerrakitError(
            "nutpie could not start sampling: the model's log density or its "
            "gradient could not be evaluated at any of its jittered initial "
            f"points (nutpie: {detail}). The model was not sampled. Fix: pass "
            "sampler_config={'method': 'pymc'} (PyMC's own NUTS); if that "
            "fails too, check the data for extreme or non-finite values"
        ) from exc


def sample(
    model: Any,
    sampler_config: Mapping[str, Any] | None = None,
    seed: int = 0,
    *,
    var_names: Sequence[str] | None = None,
) -> SampleRun:
    """Draw from ``model`` with the configured method.

    Parameters
    ----------
    model
        A ``pymc.Model``.
    sampler_config
        Overrides of :data:`DEFAULT_SAMPLER_CONFIG`: ``method`` is
        ``"nutpie"`` (NUTS compiled with numba, the default), ``"pymc"``
        (PyMC's own NUTS), ``"advi"`` (mean-field ADVI, intervals somewhat
        too narrow), ``"laplace"`` (Gaussian at the posterior mode, see
        :func:`laplace_approximation`; fastest, good when the posterior is
        close to Gaussian in the unconstrained space) or ``"pathfinder"``
        (needs ``pymc-extras``).
    seed
        Seed of the sampler: equal seeds give identical draws.
    var_names
        Variables to keep in the posterior (default: all).

    Returns
    -------
    SampleRun

    Raises
    ------
    SpecificationError
        On a bad configuration, or ``"pathfinder"`` without ``pymc-extras``.
    """
    import pymc as pm

    cfg = merge_sampler_config(sampler_config)
    method = str(cfg["method"])
    seed = int(seed)
    progress = bool(cfg["progressbar"])
    draws, tune, chains = int(cfg["draws"]), int(cfg["tune"]), int(cfg["chains"])
    t0 = time.perf_counter()
    if method == "nutpie":
        import nutpie

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            compiled = nutpie.compile_pymc_model(model, backend="numba")
            t1 = time.perf_counter()
            idata = nutpie_sample(
                compiled,
                draws=draws,
                tune=tune,
                chains=chains,
                cores=int(cfg["cores"]),
                seed=seed,
                progress_bar=progress,
                save_warmup=False,
                target_accept=float(cfg["target_accept"]),
            )
    elif method == "pymc":
        with model, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            # PyMC compiles lazily inside pm.sample; logp/dlogp compile first
            model.compile_logp()
            model.compile_dlogp()
            t1 = time.perf_counter()
            idata = pm.sample(
                draws=draws,
                tune=tune,
                chains=chains,
                cores=int(cfg["cores"]),
                random_seed=seed,
                progressbar=progress,
                target_accept=float(cfg["target_accept"]),
                compute_convergence_checks=False,
                return_inferencedata=True,
            )
    elif method == "advi":
        t1 = time.perf_counter()
        with model, quiet_pymc(progress):
            approx = pm.fit(
                n=int(cfg["vi_iterations"]),
                method="advi",
                random_seed=seed,
                progressbar=progress,
                obj_optimizer=pm.adam(learning_rate=float(cfg["vi_learning_rate"])),
            )
            idata = approx.sample(int(cfg["vi_draws"]), random_seed=seed)
    elif method == "laplace":
        idata, t1 = laplace_approximation(model, int(cfg["vi_draws"]), seed)
    else:
        try:
            import pymc_extras as pmx
        except ImportError as err:
            raise SpecificationError(
                "sampler_config['method']='pathfinder' needs pymc-extras, which is "
                "not installed. Fix: pip install pymc-extras, or use method='advi' "
                "for the fast approximate path"
            ) from err
        t1 = time.perf_counter()
        with model:
            idata = pmx.fit(
                method="pathfinder",
                num_draws=int(cfg["vi_draws"]),
                random_seed=seed,
                progressbar=progress,
            )
    t2 = time.perf_counter()
    if var_names is not None:
        keep = [v for v in var_names if v in idata.posterior]
        idata.posterior = idata.posterior[keep]
    return SampleRun(idata, method, t1 - t0, t2 - t1)


def laplace_approximation(model: Any, draws: int, seed: int) -> tuple[Any, float]:
    r"""Draws from a Gaussian at the posterior mode (unconstrained space).

    Parameters
    ----------
    model
        A ``pymc.Model`` with continuous free variables only.
    draws
        Number of draws.
    seed
        Seed of the draws (the mode search is deterministic).

    Returns
    -------
    idata, t_compiled
        InferenceData with one chain, and the ``time.perf_counter()`` value
        when compiling had finished.

    Notes
    -----
    With :math:`\theta` the free parameters in PyMC's unconstrained space
    (logs of scales, logits of probabilities) and
    :math:`\ell(\theta)` the log posterior including the Jacobian of those
    transforms, the mode :math:`\hat\theta` is found with L-BFGS and
    :math:`H = -\nabla^2\ell(\hat\theta)` by central differences of the
    exact gradient; the approximation is
    :math:`\theta \sim \mathcal N(\hat\theta, H^{-1})`, mapped back to the
    constrained parameters draw by draw.  It is accurate when the posterior
    is nearly Gaussian in that space (many observations per parameter) and
    poor for funnels or multi-modal posteriors, where MCMC is needed.

    Raises
    ------
    SpecificationError
        When the model has discrete free variables.
    """
    import arviz as az
    import scipy.optimize as so
    from pymc.blocking import DictToArrayBijection, RaveledVars

    if model.discrete_value_vars:
        raise SpecificationError(
            "method='laplace' needs continuous parameters only; the model has "
            f"{[v.name for v in model.discrete_value_vars]}. Fix: use 'nutpie'"
        )
    logp_fn = model.compile_logp(jacobian=True)
    dlogp_fn = model.compile_dlogp(jacobian=True)
    outs = model.unobserved_value_vars
    to_constrained = model.compile_fn(
        outs, inputs=model.value_vars, on_unused_input="ignore", point_fn=False
    )
    t1 = time.perf_counter()
    start = model.initial_point()
    x0 = DictToArrayBijection.map({v.name: start[v.name] for v in model.value_vars})
    info = x0.point_map_info

    def point(x: np.ndarray) -> dict[str, np.ndarray]:
        return dict(DictToArrayBijection.rmap(RaveledVars(x, info)))

    def neg(x: np.ndarray) -> tuple[float, np.ndarray]:
        p = point(x)
        return -float(logp_fn(p)), -np.asarray(dlogp_fn(p), dtype=float)

    opt = so.minimize(
        neg, x0.data, jac=True, method="L-BFGS-B", options={"maxiter": 10_000}
    )
    mode = opt.x
    n = len(mode)
    hess = np.empty((n, n))
    for i in range(n):
        h = 1e-4 * max(1.0, abs(mode[i]))
        e = np.zeros(n)
        e[i] = h
        hess[i] = (neg(mode + e)[1] - neg(mode - e)[1]) / (2.0 * h)
    hess = 0.5 * (hess + hess.T)
    lam, vec = np.linalg.eigh(hess)
    if lam.min() <= 0:
        warnings.warn(
            f"the Laplace approximation found a non-positive curvature "
            f"({lam.min():.3g}) at the mode; those directions get unit variance "
            "and the draws are unreliable. Fix: use method='nutpie'",
            ConvergenceWarning,
            stacklevel=3,
        )
    lam = np.where(lam > 0, lam, 1.0)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((draws, n))
    xs = mode + (z / np.sqrt(lam)) @ vec.T
    names = [v.name for v in outs]
    vals: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for x in xs:
        p = point(x)
        res = to_constrained(**{v.name: p[v.name] for v in model.value_vars})
        for k, v in zip(names, res, strict=True):
            vals[k].append(np.asarray(v))
    rv_names = {model.rvs_to_values[rv].name: rv.name for rv in model.free_RVs}
    post, dims = {}, {}
    for k in names:
        name = rv_names.get(k, k)
        if name not in model.named_vars or name.endswith("__"):
            continue
        post[name] = np.stack(vals[k])[None]
        dims[name] = list(model.named_vars_to_dims.get(name, ()))
    idata = az.from_dict(
        posterior=post,
        dims=dims,
        coords={k: np.asarray(v) for k, v in model.coords.items()},
    )
    idata.posterior.attrs["laplace_converged"] = int(bool(opt.success))
    return idata, t1


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of an MCMC posterior.

    Attributes
    ----------
    table
        One row per variable: ``r_hat`` (worst element), ``ess_bulk`` and
        ``ess_tail`` (smallest element), ``size`` (number of elements).
    divergences
        Number of divergent transitions after tuning.
    method
        The sampling method; for variational methods the table is NaN and
        there is nothing to check.
    chains, draws
        Posterior shape.
    rhat_max, ess_min
        The thresholds that were applied.
    """

    table: pd.DataFrame
    divergences: int
    method: str
    chains: int
    draws: int
    rhat_max: float
    ess_min: float
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """No R-hat above ``rhat_max``, no ESS below ``ess_min``, no divergences."""
        return not self.problems

    @property
    def max_rhat(self) -> float:
        return float(self.table["r_hat"].max()) if len(self.table) else float("nan")

    @property
    def min_ess_bulk(self) -> float:
        return float(self.table["ess_bulk"].min()) if len(self.table) else float("nan")

    @property
    def min_ess_tail(self) -> float:
        return float(self.table["ess_tail"].min()) if len(self.table) else float("nan")

    def summary(self) -> str:
        """Rounded, stable text."""
        if self.method in APPROXIMATE:
            kind = "Laplace" if self.method == "laplace" else "variational"
            return (
                f"Diagnostics ({self.method}): {kind} approximation, "
                f"{self.draws} draws; no MCMC diagnostics"
            )
        status = "ok" if self.ok else "POOR: " + "; ".join(self.problems)
        rhat = (
            f"max R-hat {self.max_rhat:.3f}"
            if self.chains > 1
            else "R-hat n/a (needs 2+ chains)"
        )
        return (
            f"Diagnostics ({self.method}, {self.chains} chains x {self.draws} "
            f"draws): {rhat}, min bulk ESS "
            f"{self.min_ess_bulk:.0f}, min tail ESS {self.min_ess_tail:.0f}, "
            f"divergences {self.divergences} -> {status}"
        )

    def __str__(self) -> str:
        return self.summary()


def diagnose(
    idata: Any,
    var_names: Sequence[str] | None = None,
    *,
    method: str = "nutpie",
    rhat_max: float = 1.01,
    ess_min: float = 100.0,
    warn: bool = True,
    stacklevel: int = 2,
) -> Diagnostics:
    """R-hat, bulk/tail ESS and divergences; warn when poor.

    Parameters
    ----------
    idata
        InferenceData with a posterior (and ``sample_stats`` for divergences).
    var_names
        Variables to check (default: every posterior variable).
    method
        How the posterior was drawn; variational posteriors are not checked.
    rhat_max, ess_min
        Thresholds.
    warn
        Emit :class:`~terrakit.exceptions.ConvergenceWarning` when a threshold
        is crossed or a transition diverged.
    stacklevel
        Passed to :func:`warnings.warn`.

    Returns
    -------
    Diagnostics
    """
    import arviz as az

    post = idata.posterior
    names = [v for v in (var_names or list(post.data_vars)) if v in post]
    chains, draws = int(post.sizes.get("chain", 1)), int(post.sizes.get("draw", 0))
    variational = method in APPROXIMATE
    rows = []
    if not variational and names:
        sub = post[names]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rhat = az.rhat(sub) if chains > 1 else None
            ess_b = az.ess(sub, method="bulk")
            ess_t = az.ess(sub, method="tail")
        for n in names:
            size = int(
                np.prod(
                    [s for d, s in post[n].sizes.items() if d not in ("chain", "draw")]
                )
            )
            if size == 0:
                # an empty variable (``beta`` of a model without covariates)
                # has nothing to check
                rows.append(
                    {
                        "variable": n,
                        "size": 0,
                        "r_hat": np.nan,
                        "ess_bulk": np.nan,
                        "ess_tail": np.nan,
                    }
                )
                continue
            rows.append(
                {
                    "variable": n,
                    "size": size,
                    "r_hat": float(np.nanmax(rhat[n].values))
                    if rhat is not None
                    else float("nan"),
                    "ess_bulk": float(np.nanmin(ess_b[n].values)),
                    "ess_tail": float(np.nanmin(ess_t[n].values)),
                }
            )
    else:
        rows = [
            {
                "variable": n,
                "size": 0,
                "r_hat": np.nan,
                "ess_bulk": np.nan,
                "ess_tail": np.nan,
            }
            for n in names
        ]
    table = pd.DataFrame(
        rows, columns=["variable", "size", "r_hat", "ess_bulk", "ess_tail"]
    ).set_index("variable")
    div = 0
    stats = getattr(idata, "sample_stats", None)
    if stats is not None:
        for k in ("diverging", "divergences"):
            if k in stats:
                div = int(np.asarray(stats[k]).sum())
                break
    problems: list[str] = []
    checked = table[table["size"] > 0]
    if not variational and len(checked):
        worst = checked["r_hat"].max()
        if chains > 1 and (not np.isfinite(worst) or worst > rhat_max):
            problems.append(
                f"max R-hat {worst:.3f} > {rhat_max} ({checked['r_hat'].idxmax()})"
            )
        low = checked["ess_bulk"].min()
        if not np.isfinite(low) or low < ess_min:
            problems.append(
                f"min bulk ESS {low:.0f} < {ess_min:g} ({checked['ess_bulk'].idxmin()})"
            )
        low_t = checked["ess_tail"].min()
        if not np.isfinite(low_t) or low_t < ess_min:
            problems.append(f"min tail ESS {low_t:.0f} < {ess_min:g}")
        if div > 0:
            problems.append(f"{div} divergent transitions")
    diag = Diagnostics(
        table,
        div,
        method,
        chains,
        draws,
        float(rhat_max),
        float(ess_min),
        tuple(problems),
    )
    if warn and problems:
        warnings.warn(
            "the posterior may be unreliable: "
            + "; ".join(problems)
            + ". Fix: raise sampler_config 'tune' and 'draws' (e.g. 1000 each), "
            "raise 'target_accept' to 0.95 against divergences, or simplify the "
            "model",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return diag

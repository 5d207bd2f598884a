"""One way to draw from a PyMC model everywhere in terrakit.

:func:`sample` runs nutpie (default: NUTS compiled once with numba), PyMC's own
NUTS, or a fast variational approximation (ADVI; Pathfinder when
``pymc-extras`` is installed), with an explicit seed and a switchable progress
bar, and reports how long compiling and sampling took.  :func:`diagnose`
computes R-hat, bulk/tail ESS and divergences (for ADVI, whether it had
converged: :func:`advi_convergence`) and warns with
:class:`~terrakit.exceptions.ConvergenceWarning` when they are poor.

The configuration is a plain dict merged over :data:`DEFAULT_SAMPLER_CONFIG`
(``DEFAULT_SAMPLER_CONFIG | user``), as in pymc-marketing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import signal
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from terrakit._runargs import check_flag, shown, whole_number
from terrakit.exceptions import (
    ConvergenceWarning,
    SpecificationError,
    TerrakitError,
    TerrakitWarning,
)

__all__ = [
    "ADVI_MAX_CHANGE",
    "ADVI_MAX_DRIFT",
    "ADVI_MAX_JITTER",
    "ADVI_TAIL",
    "DEFAULT_SAMPLER_CONFIG",
    "METHODS",
    "AdviTracker",
    "Diagnostics",
    "SampleRun",
    "advi_convergence",
    "advi_fit",
    "check_draws",
    "check_nutpie_tune",
    "config_count",
    "config_flag",
    "config_number",
    "diagnose",
    "interruptible",
    "laplace_approximation",
    "merge_sampler_config",
    "pymc_sample",
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
    count = whole_number(value)
    if count is None or count < low:
        example = max(low, 1) if default is None else default
        raise SpecificationError(
            f"{table}[{key!r}] must be a whole number ≥ {low}, got "
            f"{shown(value)}. Fix: pass an integer such as {key}={example}"
            + ("" if default is None else " (the default)")
        )
    return count


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
            f"{table}[{key!r}] must be a number {rng}, got {shown(value)}. "
            f"Fix: pass a number {rng}{hint}"
        )
    return float(value)


def config_flag(
    cfg: Mapping[str, Any], key: str, *, table: str = "sampler_config"
) -> bool:
    """``cfg[key]`` as a ``bool``; anything but ``True``/``False`` is refused."""
    return check_flag(cfg[key], f"{table}[{key!r}]")


def check_nutpie_tune(
    tune: int,
    *,
    key: str = "sampler_config['tune']",
    default: Any = 500,
    other: str = "method='pymc'",
) -> None:
    """Refuse ``tune=0`` for nutpie with a :class:`SpecificationError`.

    nutpie cannot sample without tuning steps: its Rust core panics
    ("assertion failed: early_end < num_tune") with a ``PanicException``,
    which is a ``BaseException`` that ``except Exception`` does not catch,
    and only after the model was compiled.  PyMC's NUTS runs with
    ``tune=0``.  ``key`` names the setting in the message, ``default`` its
    default and ``other`` the setting that picks PyMC's NUTS.
    """
    if tune < 1:
        raise SpecificationError(
            f"{key} must be ≥ 1 with nutpie (nutpie cannot sample without "
            f"tuning steps), got {tune!r}. Fix: pass e.g. tune={default} (the "
            f"default), or {other} (PyMC's NUTS, which can)"
        )


def merge_sampler_config(
    user: Mapping[str, Any] | None, defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``DEFAULT_SAMPLER_CONFIG | defaults | user``, checked (``defaults``: a
    model's own overrides of the package defaults).

    Counts come back as ``int`` (``500.0`` becomes 500).

    Raises
    ------
    SpecificationError
        Unknown keys, an unknown method, a count that is not a whole number
        (``draws``, ``tune``, ``chains``, ``cores``, ``vi_iterations``,
        ``vi_draws``; ``2.7`` is refused, not truncated) or out of range
        (``tune=0`` with method ``"nutpie"``: :func:`check_nutpie_tune`), or
        a threshold that is not a number in range; the message names the
        key, the value and the range.  A ``user`` that is not a mapping
        (``"advi"`` for ``{"method": "advi"}``) is refused with an example.
    """
    if user is not None and not isinstance(user, Mapping):
        raise SpecificationError(
            f"sampler_config must be a dict of settings, got {shown(user)}. "
            "Fix: pass e.g. sampler_config={'method': 'advi', "
            "'vi_iterations': 20000}, or leave it out for the defaults "
            "(method 'nutpie')"
        )
    cfg = DEFAULT_SAMPLER_CONFIG | dict(defaults or {}) | dict(user or {})
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
    if cfg["method"] == "nutpie":
        base = DEFAULT_SAMPLER_CONFIG | dict(defaults or {})
        check_nutpie_tune(cfg["tune"], default=base["tune"])
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
    advi_check
        ``method="advi"``: whether the approximation had converged
        (:func:`advi_convergence`, also in ``idata.attrs["advi_check"]`` as
        JSON text); ``None`` for the other methods.
    """

    idata: Any
    method: str
    compile_seconds: float
    sample_seconds: float
    advi_check: dict[str, Any] | None = None


#: ADVI's loss check: the median loss of the last ``ADVI_TAIL`` of the
#: iterations against that of the ``ADVI_TAIL`` before may differ by at most
#: ``ADVI_MAX_CHANGE`` nats per observed value.  Calibrated on the forecast
#: model: on a 30-series, 36-month panel an 8,000-iteration fit (still
#: falling 0.15 per value; forecast 20 % high, 80 % coverage 1.0) is flagged,
#: the default 30,000 (0.016) is not; at 30,000 the tests' 4- and 8-series
#: panels reach 0.06 and 0.03, the southeast sample's 259 units 0.06 (all of
#: them 0.10 or more at 20,000).
ADVI_TAIL = 0.1
ADVI_MAX_CHANGE = 0.1
#: ADVI's parameter check (:class:`AdviTracker`, :func:`advi_convergence`):
#: the move of the approximation's mean (and log sd) from the ``ADVI_TAIL``
#: of the iterations before the last to the last (window mean against window
#: mean), in units of its wobble about a straight line through both windows,
#: may be at most ``ADVI_MAX_DRIFT`` (noise about a fixed point stays near 1;
#: a parameter still travelling in one direction gives far more); the
#: mean's wobble within the last window may be at most ``ADVI_MAX_JITTER``
#: times the approximation's sd (more means the optimiser jumps further than
#: the posterior is wide: too large a learning rate).  Calibrated on the
#: account potential model (23 parameters on 200 and 400 simulated accounts,
#: 17 on 40, 23 on the tests' 20, 280 on the southeast sample): at the
#: default 20,000 iterations the worst drift over 10 fits was 1.8 (southeast;
#: the simulations 0.8 to 1.4), the worst wobble 1.34 (20 accounts; the
#: others 0.18 to 0.83); at 300 iterations (7x the true total potential, 90 %
#: intervals 24x too wide) the drift was 44, 40 and 16, at 3,000 on the
#: southeast sample 49 (unit potentials up to 14 % high, intervals 2.75x too
#: wide); with ``vi_learning_rate=1.0`` (2,000 iterations: 28 % coverage of
#: 90 % intervals) the wobble was 4.0 and 4.9.  The loss test passed all of
#: these (the loss of the 300-iteration runs moved -0.02 per observed value).
ADVI_MAX_DRIFT = 3.0
ADVI_MAX_JITTER = 2.5
#: snapshots the tracker keeps per window
_ADVI_SNAPSHOTS = 20


class AdviTracker:
    """A :func:`pymc.fit` callback that keeps snapshots of the mean-field
    approximation (its mean and sd per parameter, in PyMC's unconstrained
    space) over the last two ``ADVI_TAIL`` windows of the iterations, for
    :func:`advi_convergence`.

    About ``_ADVI_SNAPSHOTS`` (20) snapshots are kept per window, so the
    memory does not grow with the number of iterations.

    Parameters
    ----------
    n
        The number of iterations :func:`pymc.fit` runs.
    """

    def __init__(self, n: int) -> None:
        self.n = int(n)
        window = max(int(self.n * ADVI_TAIL), 1)
        self.start = self.n - 2 * window
        self.every = max(window // _ADVI_SNAPSHOTS, 1)
        self.iterations: list[int] = []
        self.means: list[np.ndarray] = []
        self.rhos: list[np.ndarray] = []
        self.names: list[str] = []

    def __call__(self, approx: Any, hist: Any, i: int) -> None:
        if i <= self.start or (self.n - i) % self.every:
            return
        mu, rho = approx.params[:2]
        if not self.names:
            for name, info in approx.groups[0].ordering.items():
                size = len(range(int(np.size(mu.get_value())))[info[1]])
                self.names += (
                    [name] if size == 1 else [f"{name}[{j}]" for j in range(size)]
                )
        self.iterations.append(int(i))
        self.means.append(np.array(mu.get_value(), dtype=float).ravel())
        self.rhos.append(np.array(rho.get_value(), dtype=float).ravel())

    def trace(self) -> dict[str, Any]:
        """``iteration`` (k,), ``mean`` and ``sd`` (k, parameters) and the
        parameters' ``names``."""
        p = len(self.names)
        rho = np.reshape(np.asarray(self.rhos, dtype=float), (-1, p))
        with np.errstate(over="ignore"):
            sd = np.logaddexp(0.0, rho)  # PyMC's softplus(rho)
        return {
            "iteration": np.asarray(self.iterations, dtype=int),
            "mean": np.reshape(np.asarray(self.means, dtype=float), (-1, p)),
            "sd": sd,
            "names": list(self.names),
        }


def advi_convergence(
    hist: np.ndarray, n_obs: int, trace: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Whether an ADVI run had converged by its last iteration.

    **Loss test** (always).  ADVI's loss (the negative ELBO, one value per
    iteration) is smoothed by medians over windows of ``ADVI_TAIL`` (10 %)
    of the iterations: the last window against the one before.  Their
    difference per observed value (the loss is a sum over the observed
    values, so this does not depend on the size of the data, nor on where
    the loss crosses 0) must stay within ``ADVI_MAX_CHANGE``; a loss that
    still falls (or rises) more means the approximation was still moving
    when the iterations ran out.

    **Parameter test** (with ``trace``, from :class:`AdviTracker`).  The loss
    is noisy while the approximation is still wide, and can look flat on a
    run that has hardly started (a 300-iteration fit of the account
    potential model: -0.02 per value, total potential 7x the truth), so the
    approximation itself is checked, in the spirit of PyMC's
    ``CheckParametersConvergence``: for every parameter, the move of its
    approximation's mean (and of its log sd) from the window before the
    last to the last (mean of the snapshots in one against the other), in
    units of the snapshots' wobble about a straight line fitted through both
    windows, is its ``drift``; the worst may be at most ``ADVI_MAX_DRIFT``
    (noise about a fixed point stays near 1, a parameter still travelling
    gives far more).  The wobble of the mean in the last window, in units of
    the approximation's sd, is the ``jitter``, at most ``ADVI_MAX_JITTER``
    (more means each step jumps further than the posterior is wide: the
    learning rate is too large).

    Parameters
    ----------
    hist
        The loss per iteration (``approx.hist`` of :func:`pymc.fit`).
    n_obs
        Number of observed values in the model's likelihood.
    trace
        Snapshots of the approximation (:meth:`AdviTracker.trace`); without
        it only the loss is tested.

    Returns
    -------
    dict
        ``iterations``, ``window`` (iterations per window), ``loss_before``
        and ``loss_last`` (median loss of the two windows), ``change_per_value``
        (their difference per observed value, > 0 when the loss still
        falls; these three are ``None`` for fewer than 2 iterations or a
        non-finite loss), ``max_change`` (the threshold) and ``converged``.
        With ``trace`` also ``drift`` and ``drift_at`` (the worst one,
        ``"mean of sigma_log__[0]"`` or ``"sd of ..."``), ``max_drift``, ``jitter`` and
        ``jitter_at``, ``max_jitter`` (``drift``/``jitter`` are ``None``
        when fewer than 3 snapshots fall in a window, which fails the
        check), and ``converged`` requires all three tests.
    """
    loss = np.asarray(hist, dtype=float)
    n = len(loss)
    before: float | None
    last: float | None
    change: float | None
    window = max(int(n * ADVI_TAIL), 1)
    if n < 2 * window or not np.isfinite(loss[-2 * window :]).all():
        before = last = change = None
    else:
        before = float(np.median(loss[-2 * window : -window]))
        last = float(np.median(loss[-window:]))
        change = (before - last) / max(int(n_obs), 1)
    check: dict[str, Any] = {
        "iterations": int(n),
        "window": int(window),
        "loss_before": before,
        "loss_last": last,
        "change_per_value": change,
        "max_change": ADVI_MAX_CHANGE,
        # None (too few iterations, a non-finite loss) fails the check
        "converged": change is not None and abs(change) <= ADVI_MAX_CHANGE,
    }
    if trace is None:
        return check
    drift, drift_at, jitter, jitter_at = _parameter_drift(trace, n, window)
    check.update(
        {
            "drift": drift,
            "drift_at": drift_at,
            "max_drift": ADVI_MAX_DRIFT,
            "jitter": jitter,
            "jitter_at": jitter_at,
            "max_jitter": ADVI_MAX_JITTER,
        }
    )
    check["converged"] = bool(
        check["converged"]
        and drift is not None
        and jitter is not None
        and drift <= ADVI_MAX_DRIFT
        and jitter <= ADVI_MAX_JITTER
    )
    return check


def _parameter_drift(
    trace: Mapping[str, Any], n: int, window: int
) -> tuple[float | None, str | None, float | None, str | None]:
    """The worst drift and jitter of :func:`advi_convergence` and where."""
    it = np.asarray(trace["iteration"], dtype=int)
    mean = np.asarray(trace["mean"], dtype=float)
    sd = np.asarray(trace["sd"], dtype=float)
    names = list(trace["names"])
    last = it > n - window
    before = (it > n - 2 * window) & ~last
    if last.sum() < 3 or before.sum() < 3 or not names:
        return None, None, None, None
    both = last | before
    t = it[both].astype(float)
    t -= t.mean()
    with np.errstate(all="ignore"):
        drifts = []
        for part, x in (("mean", mean), ("sd", np.log(sd))):
            shift = np.abs(x[last].mean(0) - x[before].mean(0))
            # the wobble about a straight line through both windows
            y = x[both] - x[both].mean(0)
            resid = y - np.outer(t, t @ y / (t @ t))
            wobble = np.sqrt((resid**2).sum(0) / (len(t) - 2))
            # a parameter that did not move at all has not drifted
            r = np.where(shift == 0, 0.0, shift / wobble)
            drifts.append((part, np.where(np.isnan(r), np.inf, r)))
        jit = mean[last].std(0, ddof=1) / sd[last].mean(0)
        jit = np.where(np.isnan(jit), np.inf, jit)
    part, r = max(drifts, key=lambda pr: float(pr[1].max()))
    k, j = int(np.argmax(r)), int(np.argmax(jit))
    return float(r[k]), f"{part} of {names[k]}", float(jit[j]), names[j]


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


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """Ignore the libraries' ``UserWarning`` while they compile and sample
    (nutpie, PyMC, PyTensor), not terrakit's own.

    :class:`~terrakit.exceptions.TerrakitWarning` subclasses ``UserWarning``,
    so ``simplefilter("ignore", UserWarning)`` would also swallow what
    terrakit reports inside the block (:func:`nutpie_sample`'s retry after a
    panic); the filter here ignores only warnings raised from outside the
    ``terrakit`` package.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", category=UserWarning, module=r"(?!terrakit(\.|$))"
        )
        yield


class _Interrupts:
    """What :func:`interruptible` yields: ``caught`` turns true when a
    Ctrl-C arrived in its block."""

    caught: bool = False

    def stop(self, **_: Any) -> None:
        """A :func:`pymc.sample` callback: raise ``KeyboardInterrupt`` again
        at the next draw once a Ctrl-C was caught (PyMC swallows it in each
        chain, so chains run one after another would carry on)."""
        if self.caught:
            raise KeyboardInterrupt


@contextlib.contextmanager
def interruptible(what: str = "sampling") -> Iterator[_Interrupts]:
    """Raise ``KeyboardInterrupt`` after a block in which a Ctrl-C was
    swallowed.

    nutpie (``sampler.abort()``), PyMC's NUTS and ADVI catch the
    ``KeyboardInterrupt`` of a Ctrl-C and return the draws they had, so a
    run would carry on with a truncated posterior.  For the block, SIGINT's
    handler is wrapped: it records the signal and calls the previous handler
    (which raises ``KeyboardInterrupt`` in the sampler, so the sampler stops
    as it would); the previous handler is restored on exit, and
    ``KeyboardInterrupt`` is raised again after the block (also in place of
    an error the truncated result caused inside it).

    Only in the main thread (signals are delivered there) and when SIGINT
    has a Python handler; elsewhere the block runs unchanged.

    Parameters
    ----------
    what
        What the block does, for the ``KeyboardInterrupt``'s message.
    """
    state = _Interrupts()
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(
        previous
    ):
        yield state
        return

    def record(signum: int, frame: Any) -> None:
        try:
            previous(signum, frame)
        except KeyboardInterrupt:
            state.caught = True
            raise

    signal.signal(signal.SIGINT, record)
    try:
        yield state
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        if state.caught:
            raise KeyboardInterrupt(f"interrupted during {what}") from exc
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if state.caught:
        raise KeyboardInterrupt(f"interrupted during {what}")


def check_draws(
    idata: Any,
    draws: int,
    chains: int | None,
    what: str,
    fix: str = "run again; if it stops early again, sample with "
    "sampler_config={'method': 'pymc'} (PyMC's own NUTS)",
) -> None:
    """Refuse a posterior with fewer chains or draws per chain than asked for.

    A sampler that stopped early (an interrupt it swallowed, a failed
    thread) returns the draws it had: nutpie pads the shorter chains with
    NaN, which count as missing here (a draw whose every value is NaN).

    Raises
    ------
    TerrakitError
        Naming the sampler, the draws it returned per chain and the draws
        asked for.
    """
    post = idata.posterior
    n_chain, n_draw = int(post.sizes.get("chain", 0)), int(post.sizes.get("draw", 0))
    missing = None
    for var in post.data_vars.values():
        if not np.issubdtype(var.dtype, np.floating) or var.size == 0:
            continue
        values = var.transpose("chain", "draw", ...).values
        nan = np.isnan(values.reshape(n_chain, n_draw, -1)).all(axis=2)
        missing = nan if missing is None else missing & nan
    got = np.full(n_chain, n_draw) - (0 if missing is None else missing.sum(axis=1))
    if (chains is None or n_chain >= chains) and n_chain and got.min() >= draws:
        return
    counts = [str(int(g)) for g in got]
    held = " and ".join(
        [", ".join(counts[:-1]), *counts[-1:]] if counts[:-1] else counts
    )
    asked = chains if chains is not None else n_chain
    raise TerrakitError(
        f"{what} stopped early: it returned {n_chain} chain(s) holding "
        f"{held or 'no'} draws where {asked} chains of {draws} draws were asked "
        f"for, so its posterior is incomplete and was not used. Fix: {fix}"
    )


def pymc_sample(
    model: Any, *, draws: int, chains: int, progressbar: bool = True, **kwargs: Any
) -> Any:
    """PyMC's NUTS (:func:`pymc.sample`) that a Ctrl-C stops and that never
    returns a truncated posterior.

    PyMC catches the ``KeyboardInterrupt`` in each chain and returns the
    draws it had; here the interrupt is raised again (:func:`interruptible`,
    whose callback also stops chains run one after another), and a
    posterior with fewer draws than asked for is refused
    (:func:`check_draws`).  With ``progressbar=False`` PyMC's INFO log
    ("Initializing NUTS ...", "Sampling 2 chains ... took 3 seconds.") is
    silenced too (:func:`quiet_pymc`).  ``kwargs`` go to :func:`pymc.sample`.
    """
    import pymc as pm

    with (
        model,
        quiet_pymc(progressbar),
        interruptible("PyMC sampling") as ctrl_c,
    ):
        idata = pm.sample(
            draws=draws,
            chains=chains,
            progressbar=progressbar,
            compute_convergence_checks=False,
            return_inferencedata=True,
            callback=ctrl_c.stop,
            **kwargs,
        )
    check_draws(idata, draws, chains, "PyMC's NUTS", fix="run again")
    return idata


def advi_fit(
    model: Any,
    n: int,
    *,
    seed: int,
    progressbar: bool,
    setting: str,
    **kwargs: Any,
) -> Any:
    """Mean-field ADVI (:func:`pymc.fit`) that a Ctrl-C stops and that never
    returns an unfinished approximation.

    PyMC stops at a ``KeyboardInterrupt`` (or a callback's
    ``StopIteration``) and returns the approximation as it was; here the
    interrupt is raised again (:func:`interruptible`) and an approximation
    with fewer than ``n`` iterations is refused, naming ``setting`` (the
    option that sets ``n``).  ``kwargs`` go to :func:`pymc.fit`.

    Raises
    ------
    TerrakitError
        When ADVI ran fewer iterations than asked for.
    """
    import pymc as pm

    with model, quiet_pymc(progressbar), interruptible("ADVI"):
        approx = pm.fit(
            n=n, method="advi", random_seed=seed, progressbar=progressbar, **kwargs
        )
    done = len(approx.hist)
    if done < n:
        raise TerrakitError(
            f"ADVI stopped early, after {done:,} of the {n:,} iterations asked "
            f"for ({setting}), so its approximation is unfinished and was not "
            "used. Fix: run again"
        )
    return approx


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

    nutpie answers a Ctrl-C by stopping its chains and returning the draws
    it had; here the interrupt is raised again (:func:`interruptible`), and
    a result with fewer chains or draws than ``chains``/``draws`` is refused
    (:func:`check_draws`).

    Raises
    ------
    KeyboardInterrupt
        When Ctrl-C was pressed while nutpie sampled.
    TerrakitError
        When nutpie cannot start: every jittered initial point gave an error
        or a non-finite log density or gradient ("All initialization points
        failed").  Retrying with the same compiled model fails the same way,
        so the message names the failure and the way round it (PyMC's own
        NUTS, ``sampler_config={"method": "pymc"}``).  Also when nutpie
        returned fewer draws than asked for (:func:`check_draws`).
    """
    import nutpie

    with interruptible("nutpie sampling"):
        try:
            idata = _nutpie_sample_once(nutpie, compiled, kwargs)
        except BaseException as exc:  # pyo3's PanicException is a BaseException
            if type(exc).__name__ != "PanicException":
                raise
            warnings.warn(
                f"nutpie's sampler thread panicked ({str(exc)[:120]}); retrying "
                "once with the chains run one after another (cores=1, same seed)",
                TerrakitWarning,
                stacklevel=2,
            )
            idata = _nutpie_sample_once(nutpie, compiled, kwargs | {"cores": 1})
    if "draws" in kwargs:
        chains = kwargs.get("chains")
        check_draws(
            idata,
            int(kwargs["draws"]),
            None if chains is None else int(chains),
            "nutpie",
        )
    return idata


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
        On a bad configuration, or ``"pathfinder"`` without ``pymc-extras``;
        ``"advi"``: when the approximation became NaN (PyMC's "NaN occurred
        in optimization", typically too large a ``vi_learning_rate``); the
        message names the setting and a smaller value.
    TerrakitError
        When the sampler returned fewer draws (``"nutpie"``, ``"pymc"``) or
        ADVI ran fewer iterations than asked for.
    KeyboardInterrupt
        When Ctrl-C was pressed while nutpie, PyMC or ADVI ran (they catch
        it and return what they had: see Notes).

    Notes
    -----
    nutpie, PyMC's NUTS and ADVI catch the ``KeyboardInterrupt`` of a Ctrl-C
    and return what they had drawn so far; here the interrupt is raised
    again once the sampler has returned (:func:`interruptible`), and a
    posterior with fewer draws (or ADVI with fewer iterations) than asked for
    is refused, so a truncated posterior is never used.

    With ``"advi"`` the run's convergence is checked by
    :func:`advi_convergence` (its loss and, through :class:`AdviTracker`,
    the approximation's parameters over the last 20 % of the iterations),
    returned as :attr:`SampleRun.advi_check` and recorded in
    ``idata.attrs["advi_check"]``; :func:`diagnose` given it warns when the
    run had not converged.
    """
    import pymc as pm

    cfg = merge_sampler_config(sampler_config)
    method = str(cfg["method"])
    seed = int(seed)
    progress = bool(cfg["progressbar"])
    draws, tune, chains = int(cfg["draws"]), int(cfg["tune"]), int(cfg["chains"])
    advi_check: dict[str, Any] | None = None
    t0 = time.perf_counter()
    if method == "nutpie":
        import nutpie

        with quiet_libraries():
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
        with model, quiet_libraries():
            # PyMC compiles lazily inside pm.sample; logp/dlogp compile first
            model.compile_logp()
            model.compile_dlogp()
            t1 = time.perf_counter()
            idata = pymc_sample(
                model,
                draws=draws,
                tune=tune,
                chains=chains,
                cores=int(cfg["cores"]),
                random_seed=seed,
                progressbar=progress,
                target_accept=float(cfg["target_accept"]),
            )
    elif method == "advi":
        t1 = time.perf_counter()
        n_iter, rate = int(cfg["vi_iterations"]), float(cfg["vi_learning_rate"])
        tracker = AdviTracker(n_iter)
        with model:
            try:
                approx = advi_fit(
                    model,
                    n_iter,
                    seed=seed,
                    progressbar=progress,
                    setting="sampler_config['vi_iterations']",
                    obj_optimizer=pm.adam(learning_rate=rate),
                    callbacks=[tracker],
                )
            except FloatingPointError as exc:
                # the cause is a setting (the step size): a SpecificationError
                raise SpecificationError(
                    "ADVI diverged: its approximation became NaN during the "
                    "optimisation with sampler_config['vi_learning_rate']="
                    f"{rate:g} (PyMC: {str(exc).splitlines()[0].strip()}). The "
                    f"model was not fitted. Fix: {_lower_rate(rate)}, or sample "
                    "with method='nutpie'"
                ) from exc
            idata = approx.sample(int(cfg["vi_draws"]), random_seed=seed)
        n_obs = sum(
            int(np.size(model.rvs_to_values[rv].data)) for rv in model.observed_RVs
        )
        advi_check = advi_convergence(np.asarray(approx.hist), n_obs, tracker.trace())
        advi_check["learning_rate"] = rate
        # netCDF attributes hold no dicts: JSON text
        idata.attrs["advi_check"] = json.dumps(advi_check)
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
        with model, interruptible("Pathfinder"):
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
    return SampleRun(idata, method, t1 - t0, t2 - t1, advi_check)


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
        ``ess_tail`` (smallest element), ``size`` (number of elements
        checked).  Variables with nothing to check have ``size`` 0 and NaN
        values: empty ones, constants (every draw of every chain equal, e.g.
        the zero placeholder ``b_segment`` of a one-segment fit) and all
        variables of an approximate method.
    divergences
        Number of divergent transitions after tuning.
    method
        The sampling method; for approximate methods the table is NaN (no
        R-hat or ESS).
    chains, draws
        Posterior shape.
    rhat_max, ess_min
        The thresholds that were applied.
    problems
        What is poor (empty when :attr:`ok`).
    advi_check
        ``method="advi"``: the run's convergence check
        (:func:`advi_convergence`); ``None`` when it was not checked.
    """

    table: pd.DataFrame
    divergences: int
    method: str
    chains: int
    draws: int
    rhat_max: float
    ess_min: float
    problems: tuple[str, ...] = field(default=())
    advi_check: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """No R-hat above ``rhat_max``, no ESS below ``ess_min``, no
        divergences; for ADVI, a converged run."""
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
            text = (
                f"Diagnostics ({self.method}): {kind} approximation, "
                f"{self.draws} draws; no MCMC diagnostics"
            )
            check = self.advi_check
            if check is None:
                return text
            n = check["iterations"]
            if check["converged"]:
                how = f"loss change {check['change_per_value']:+.3f} per value"
                if check.get("drift") is not None:
                    how += (
                        f", drift {check['drift']:.2f} <= {check['max_drift']:g}"
                        f", wobble {check['jitter']:.2f} <= {check['max_jitter']:g}"
                    )
                return f"{text}; converged in {n} iterations ({how}) -> ok"
            return f"{text} -> POOR: " + "; ".join(self.problems)
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


def _advi_problems(check: Mapping[str, Any], key: str = "vi_iterations") -> list[str]:
    """What :func:`advi_convergence` found wrong, in words (``[]`` when it
    converged); ``key`` is the sampler setting of the iteration cap (the
    forecast's is ``advi_iterations``)."""
    if check["converged"]:
        return []
    n = check["iterations"]
    share = f"{check['window'] / max(n, 1):.0%}"
    change, drift, jitter = (
        check["change_per_value"],
        check.get("drift"),
        check.get("jitter"),
    )
    if change is None or ("drift" in check and (drift is None or jitter is None)):
        return [
            f"ADVI's convergence cannot be judged after {n} iteration(s) (too "
            f"few to compare the last two {share} windows), or its loss was not "
            "finite"
        ]
    if jitter is not None and not jitter <= check["max_jitter"]:
        # the step is too large: drift and loss say nothing more
        return [
            f"ADVI's approximation did not settle: over the last {share} of "
            f"the iterations the mean of {check['jitter_at']} wobbled by "
            f"{jitter:.3g} times its own sd (at most {check['max_jitter']:g} is "
            "taken as settled), the mark of too large a step "
            f"(vi_learning_rate={check.get('learning_rate', float('nan')):g})"
        ]
    out = []
    if drift is not None and not drift <= check["max_drift"]:
        out.append(
            f"ADVI stopped at its iteration cap ({key}={n}) while its "
            f"approximation was still moving: the {check['drift_at']} moved "
            f"{drift:.3g} times its wobble about its trend between the last "
            f"two windows of {share} of the iterations (at most "
            f"{check['max_drift']:g} is taken as settled)"
        )
    if not abs(change) <= check["max_change"]:
        out.append(
            f"ADVI stopped at its iteration cap ({key}={n}) before its "
            f"loss (the negative ELBO) flattened: the median loss of the last "
            f"{share} of the iterations is {abs(change):.3f} per observed value "
            f"{'below' if change > 0 else 'above'} that of the {share} before "
            f"({check['loss_before']:.1f} -> {check['loss_last']:.1f}; at most "
            f"{check['max_change']:g} is taken as flat)"
        )
    return out


def _lower_rate(rate: float) -> str:
    """'lower vi_learning_rate (e.g. to ...)' for a run at ``rate``."""
    default = float(DEFAULT_SAMPLER_CONFIG["vi_learning_rate"])
    to = min(rate / 10, default)
    return "lower sampler_config['vi_learning_rate'] (e.g. to " + (
        f"the default {default:g})"
        if to == default
        else f"{to:g}; the default is {default:g})"
    )


def _advi_fix(
    check: Mapping[str, Any], key: str = "vi_iterations", default: int | None = None
) -> str:
    """The fix for a run that :func:`advi_convergence` failed; ``key`` and
    ``default`` are the setting of the iteration cap and its default (the
    potential's ``vi_iterations`` unless given)."""
    n = int(check["iterations"])
    rate = check.get("learning_rate")
    jitter = check.get("jitter")
    nuts = ", or sample with method='nutpie' (NUTS, checked by R-hat and ESS)"
    if rate is not None and jitter is not None and not jitter <= check["max_jitter"]:
        return _lower_rate(float(rate)) + nuts
    if default is None:
        default = int(DEFAULT_SAMPLER_CONFIG[key])
    more = max(2 * n, default)
    return f"raise sampler_config[{key!r}] (e.g. to {more})" + nuts


def _constant(values: Any) -> bool:
    """Whether a posterior variable (an ``xarray.DataArray`` with ``chain``
    and ``draw`` dims) has the same value in every draw of every chain,
    element by element: a fixed placeholder, not a sampled parameter."""
    arr = values.transpose("chain", "draw", ...).to_numpy()
    if arr.size == 0 or arr.shape[0] * arr.shape[1] < 2:
        return False
    return bool(np.array_equal(arr, np.broadcast_to(arr[:1, :1], arr.shape)))


#: ArviZ computes R-hat and ESS from 4 draws per chain on (NaN below).
_MIN_DRAWS = 4


def _threshold_problem(
    values: pd.Series, what: str, op: str, limit: float, fmt: str
) -> list[str]:
    """``["max R-hat 1.050 > 1.01 (mu)"]`` when the worst of ``values`` (by
    variable) crosses ``limit`` (``op`` ``">"``: the largest is the worst,
    ``"<"``: the smallest), ``[]`` when it does not.  NaN values are left out
    of the worst (a variable with a NaN among sampled ones, as before); when
    every value is NaN, that is the problem."""
    known = values.dropna()
    if known.empty:
        return [f"{what} could not be computed (NaN for every variable)"]
    name = known.idxmax() if op == ">" else known.idxmin()
    worst = float(known[name])
    if (worst > limit) if op == ">" else (worst < limit):
        return [f"{what} {fmt.format(worst)} {op} {limit:g} ({name})"]
    return []


def diagnose(
    idata: Any,
    var_names: Sequence[str] | None = None,
    *,
    method: str = "nutpie",
    rhat_max: float = 1.01,
    ess_min: float = 100.0,
    warn: bool = True,
    stacklevel: int = 2,
    advi_check: Mapping[str, Any] | str | None = None,
) -> Diagnostics:
    """R-hat, bulk/tail ESS and divergences; warn when poor.

    Parameters
    ----------
    idata
        InferenceData with a posterior (and ``sample_stats`` for divergences).
    var_names
        Variables to check (default: every posterior variable).  Constants
        (every draw of every chain the same value: a model's fixed
        placeholders) are left out of the checks, with ``size`` 0 in the
        table; when every non-empty variable is constant the sampler never
        moved, which is a problem.
    method
        How the posterior was drawn; approximate posteriors have no R-hat or
        ESS to check.
    rhat_max, ess_min
        Thresholds.  R-hat needs 2+ chains (one chain: not checked); R-hat
        and ESS need ≥ 4 draws per chain (fewer: NaN, and that is the
        problem reported).
    warn
        Emit :class:`~terrakit.exceptions.ConvergenceWarning` when a threshold
        is crossed, a transition diverged or ADVI had not converged.
    stacklevel
        Passed to :func:`warnings.warn`.
    advi_check
        ``method="advi"``: the convergence check of the run
        (:func:`advi_convergence`, as :func:`sample` records it in
        ``idata.attrs["advi_check"]``, a dict or its JSON text); a run that
        had not converged is a problem, and the warning names
        ``vi_iterations`` or ``vi_learning_rate`` and the fix.  ``None``:
        not checked.

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
    stuck = False
    if not variational and names:
        constant = [n for n in names if _constant(post[n])]
        sampled = [n for n in names if n not in constant]
        # every non-empty variable constant: the sampler never moved
        stuck = bool(constant) and not any(post[n].size for n in sampled)
        if stuck:
            constant, sampled = [], names
        sub = post[sampled]
        rhat = ess_b = ess_t = None
        # below _MIN_DRAWS ArviZ logs a warning per call and gives NaN
        if draws >= _MIN_DRAWS:
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
            if size == 0 or n in constant:
                # an empty variable (``beta`` of a model without covariates)
                # or a constant (``b_segment`` of a one-segment fit, fixed at
                # 0) has nothing to check: its R-hat is NaN and its ESS the
                # number of draws
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
            with warnings.catch_warnings():
                # all-NaN (a stuck sampler): NaN, flagged below, not numpy's
                # "All-NaN slice encountered"
                warnings.simplefilter("ignore", RuntimeWarning)
                rows.append(
                    {
                        "variable": n,
                        "size": size,
                        "r_hat": float(np.nanmax(rhat[n].values))
                        if rhat is not None
                        else float("nan"),
                        "ess_bulk": float(np.nanmin(ess_b[n].values))
                        if ess_b is not None
                        else float("nan"),
                        "ess_tail": float(np.nanmin(ess_t[n].values))
                        if ess_t is not None
                        else float("nan"),
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
    if stuck:
        problems.append(
            f"no variable changed over the {chains} x {draws} draws (the "
            "sampler did not move)"
        )
    checked = table[table["size"] > 0]
    if not variational and len(checked):
        if draws < _MIN_DRAWS:
            # ArviZ gives NaN for every R-hat and ESS
            problems.append(
                f"{draws} draw{'s' if draws != 1 else ''} per chain "
                f"{'are' if draws != 1 else 'is'} too few for R-hat and ESS "
                f"(they need ≥ {_MIN_DRAWS})"
            )
        elif not stuck:
            # a stuck sampler's NaN say nothing more than "did not move"
            if chains > 1:
                problems += _threshold_problem(
                    checked["r_hat"], "max R-hat", ">", rhat_max, "{:.3f}"
                )
            problems += _threshold_problem(
                checked["ess_bulk"], "min bulk ESS", "<", ess_min, "{:.0f}"
            )
            problems += _threshold_problem(
                checked["ess_tail"], "min tail ESS", "<", ess_min, "{:.0f}"
            )
        if div > 0:
            problems.append(f"{div} divergent transitions")
    check = None
    if method == "advi" and advi_check is not None:
        check = dict(
            json.loads(advi_check) if isinstance(advi_check, str) else advi_check
        )
        problems += _advi_problems(check)
    diag = Diagnostics(
        table,
        div,
        method,
        chains,
        draws,
        float(rhat_max),
        float(ess_min),
        tuple(problems),
        check,
    )
    if warn and problems and check is not None and not check["converged"]:
        warnings.warn(
            "the posterior may be unreliable: "
            + "; ".join(problems)
            + ". The approximation had not converged, so its estimates and "
            "intervals can be far off. Fix: " + _advi_fix(check),
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    elif warn and problems:
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

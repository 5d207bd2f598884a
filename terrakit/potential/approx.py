r"""Fast approximate posterior of the unit-level model (nested Laplace, sparse).

The unit-level BYM2 model (:func:`~terrakit.potential.build_unit_model`) is a
*latent Gaussian model*: given the two hyperparameters :math:`\theta =
(\sigma, \rho)`, the intercept, the covariate effects and the structured
spatial effect are jointly Gaussian a posteriori, with a **sparse** precision
matrix.  :func:`sample_unit_posterior` uses that, in the spirit of INLA (Rue,
Martino & Chopin 2009), without MCMC, PyTensor compilation or the dense
eigen-decomposition of the graph Laplacian:

1. :math:`\log \pi(\theta \mid y)` is computed *exactly* (up to a constant)
   from one sparse LU factorisation (:func:`scipy.sparse.linalg.splu`) of the
   conditional precision of the spatial effect;
2. its mode is found (damped Newton, finite differences) in the
   unconstrained space :math:`u = (\log\sigma, \operatorname{logit}\rho)`
   and a grid with step 1.5 (Hessian-standardised) is laid around it,
   keeping the points whose log density is within 6 of the mode (INLA's grid
   strategy; on 3,000 units about 20 points from about 55 evaluations);
3. the draws are spread over the grid points in proportion to their
   posterior mass, and at each point the latent field is drawn *exactly*
   from its Gaussian conditional (perturb-and-solve, then conditioning on the
   sum-to-zero constraints by kriging);
4. the hurdle part (a logistic regression, independent of the rest) is
   approximated by a Gaussian at its mode (Laplace).

Only steps 2 and 4 approximate: :math:`\theta` takes the grid values (so the
draws of ``sigma`` and ``rho`` are discrete, weighted by their exact
posterior density), and the hurdle is Gaussian.  Everything else is exact
given :math:`\theta`.  On the 3,000-unit benchmark region the unit
potentials' posterior means agree with nutpie's to within 0.25 posterior SD
for every unit (median 0.03 SD; see ``benchmarks/README.md``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from scipy.special import expit

from terrakit.exceptions import ConvergenceWarning, SpecificationError

if TYPE_CHECKING:
    from terrakit.potential.model import PreparedData

__all__ = ["UnitProblem", "sample_unit_posterior"]

#: Grid step in Hessian-standardised units and the largest drop in log
#: density of a kept grid point (INLA's defaults are 0.75 and 6).  The
#: weights are the exact densities; a step of 1.5 integrates a Gaussian's
#: mass and variance to ~1e-4 (trapezoid rule: error ~exp(-2π²/h²)).
GRID_STEP = 1.5
GRID_DROP = 6.0


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` without BLAS: for the thin products here (one side has 1 + k
    rows or columns) single-threaded loops are fast, while multi-threaded
    BLAS stalls on a loaded machine (70 ms instead of 2 ms, measured)."""
    return np.einsum("ij,jk->ik", a, b)


@dataclass(frozen=True, eq=False)
class UnitProblem:
    """The arrays of the unit-level model as a latent Gaussian model.

    The latent vector is ``z = (f, gamma)``: ``f`` the structured spatial
    effect on the ``n_s`` non-island units (on the log-sales scale, i.e.
    ``sigma * sqrt(rho) * phi / sqrt(scale)``) and ``gamma = (alpha, beta)``.

    Attributes
    ----------
    y
        Centred log-sales, 0 for units without sales.
    obs
        ``True`` for units with sales (observed log-sales).
    design
        ``[1, x]``, ``(n, p)``.
    prior_prec
        Prior precision of ``gamma`` (diagonal), ``(p,)``.
    struct
        Positions of the units with a structured effect, in a fill-reducing
        order of the sparse factorisation.
    island
        ``True`` for units without neighbours.
    lap
        ``S^½ L S^½``: the graph Laplacian of the structured units scaled by
        the BYM2 scaling factors ``S`` (CSC, ``n_s × n_s``).
    incidence
        ``B S^½`` with ``B`` the edge–node incidence matrix (``Bᵀ B = L``).
    constraint
        ``A``: one row of ones per connected component (``A f = 0``).
    component
        Component number of every structured unit (0..C-1).
    comp_size
        Units per component.
    no_buyer
        Components without any unit with sales (their constant mode gets an
        extra, constraint-direction precision so the matrix stays invertible).
    scale
        BYM2 scaling factor of every structured unit.
    prior_sigma, prior_rho
        Half-normal scale of ``sigma``; Beta parameters of ``rho``.
    """

    y: np.ndarray
    obs: np.ndarray
    design: np.ndarray
    prior_prec: np.ndarray
    struct: np.ndarray
    island: np.ndarray
    lap: sp.csc_array
    incidence: sp.csr_array
    constraint: sp.csr_array
    component: np.ndarray
    comp_size: np.ndarray
    no_buyer: np.ndarray
    scale: np.ndarray
    prior_sigma: float
    prior_rho: tuple[float, float]

    @property
    def n_struct(self) -> int:
        return len(self.struct)

    @property
    def n_hyper(self) -> int:
        """1 (``sigma``) without a spatial effect, else 2 (``sigma``, ``rho``)."""
        return 2 if self.n_struct else 1

    @classmethod
    def from_data(cls, data: PreparedData, cfg: Mapping[str, Any]) -> UnitProblem:
        """Build the problem from prepared unit data and a model configuration."""
        n = len(data.ids)
        obs = data.buyers
        y = np.where(obs, np.nan_to_num(data.log_sales), 0.0)
        design = np.column_stack([np.ones(n), data.x])
        k = data.x.shape[1]
        prior_prec = np.r_[
            1.0 / float(cfg["prior_intercept_sd"]) ** 2,
            np.full(k, 1.0 / float(cfg["prior_beta_sd"]) ** 2),
        ]
        g = data.graph
        if g is None or not g.n_struct:
            struct = np.zeros(0, dtype=np.int64)
            island = np.ones(n, dtype=bool)
            comp = np.zeros(0, dtype=np.int64)
            scale = np.zeros(0)
        else:
            struct, island = g.struct_index, g.island
            comp, scale = g.struct_component, g.scale
        n_s = len(struct)
        n_edge = len(g.node1) if g is not None and n_s else 0
        if n_edge:
            assert g is not None
            rows = np.repeat(np.arange(n_edge), 2)
            cols = np.column_stack([g.node1, g.node2]).ravel()
            vals = np.tile([1.0, -1.0], n_edge) * np.sqrt(scale[cols])
            inc = sp.csr_array((vals, (rows, cols)), shape=(n_edge, n_s))
        else:
            inc = sp.csr_array((0, n_s))
        if n_s:
            # a fill-reducing order, once: every factorisation then keeps it
            # (the structured units are stored in that order)
            first = splu(
                sp.csc_array(inc.T @ inc + sp.eye_array(n_s)),
                permc_spec="MMD_AT_PLUS_A",
                diag_pivot_thresh=0.0,
                options={"SymmetricMode": True},
            )
            order = np.argsort(first.perm_c)
            struct, comp, scale = struct[order], comp[order], scale[order]
            inc = sp.csr_array(inc[:, order])
        lap = sp.csc_array(inc.T @ inc)
        n_comp = int(comp.max()) + 1 if n_s else 0
        comp_size = np.bincount(comp, minlength=n_comp)
        buyers = np.bincount(comp, weights=obs[struct], minlength=n_comp)
        a = sp.csr_array((np.ones(n_s), (comp, np.arange(n_s))), shape=(n_comp, n_s))
        return cls(
            y=y,
            obs=obs,
            design=design,
            prior_prec=prior_prec,
            struct=struct,
            island=island,
            lap=lap,
            incidence=inc,
            constraint=a,
            component=comp,
            comp_size=comp_size,
            no_buyer=np.flatnonzero(buyers == 0),
            scale=scale,
            prior_sigma=float(cfg["prior_sigma"]),
            prior_rho=(float(cfg["prior_rho"][0]), float(cfg["prior_rho"][1])),
        )

    def hyper(self, u: np.ndarray) -> tuple[float, float]:
        """``(sigma, rho)`` of the unconstrained point ``u``."""
        sigma = float(np.exp(u[0]))
        rho = float(expit(u[1])) if self.n_hyper == 2 else 0.0
        return sigma, rho

    def log_prior(self, u: np.ndarray) -> float:
        """Log prior density of ``u`` (with the Jacobians of the transforms)."""
        sigma, rho = self.hyper(u)
        out = -0.5 * (sigma / self.prior_sigma) ** 2 + float(u[0])
        if self.n_hyper == 2:
            a, b = self.prior_rho
            out += a * np.log(rho) + b * np.log1p(-rho)
        return float(out)


class _Conditional:
    """The Gaussian ``z | theta, y``: factorisation, mean and exact draws."""

    def __init__(self, prob: UnitProblem, u: np.ndarray) -> None:
        self.prob = prob
        self.sigma, self.rho = prob.hyper(u)
        sigma, rho = self.sigma, self.rho
        var_e = np.where(prob.island, sigma**2, sigma**2 * (1.0 - rho))
        self.tau = np.where(prob.obs, 1.0 / var_e, 0.0)
        self.var_e = var_e
        x, tau = prob.design, self.tau
        self.q_gg = np.diag(prob.prior_prec) + _mm(x.T, tau[:, None] * x)
        n_s = prob.n_struct
        self.logdet = 0.0
        if n_s:
            self.kappa = 1.0 / (sigma**2 * rho)
            q_ff = self.kappa * prob.lap + sp.diags_array(tau[prob.struct])
            if len(prob.no_buyer):
                q_ff = q_ff + self._no_buyer_block()
            self.lu = splu(
                sp.csc_array(q_ff),
                permc_spec="NATURAL",  # the units are in a fill-reducing order
                diag_pivot_thresh=0.0,
                options={"SymmetricMode": True},
            )
            self.logdet += float(np.log(np.abs(self.lu.U.diagonal())).sum())
            self.q_fg = (tau[:, None] * x)[prob.struct]
            self.w = self._lu_solve(self.q_fg)
            schur = self.q_gg - _mm(self.q_fg.T, self.w)
        else:
            self.kappa = 0.0
            schur = self.q_gg
        self.chol = sla.cho_factor(schur, lower=True)
        self.logdet += 2.0 * float(np.log(np.diag(self.chol[0])).sum())
        # unconstrained mean, then conditioning on A f = 0 (kriging)
        b = tau * prob.y
        f_u, g_u = self.solve(b[prob.struct, None], _mm(x.T, b[:, None]))
        if n_s:
            n_comp = len(prob.comp_size)
            a_t = prob.constraint.T.toarray()
            self.u_f, self.u_g = self.solve(a_t, np.zeros((x.shape[1], n_comp)))
            sig_a = self._constraint(self.u_f)
            self.sig_a = sla.cho_factor(sig_a, lower=True)
            self.logdet_a = 2.0 * float(np.log(np.diag(self.sig_a[0])).sum())
        else:
            self.logdet_a = 0.0
        self.f, self.g = self.constrain(f_u, g_u)
        self.f, self.g = self.f[:, 0], self.g[:, 0]

    def _no_buyer_block(self) -> sp.csc_array:
        """Precision ``K a_c a_cᵀ`` along the constant of buyer-less components."""
        prob = self.prob
        rows, cols, vals = [], [], []
        for c in prob.no_buyer:
            members = np.flatnonzero(prob.component == c)
            r, q = np.meshgrid(members, members, indexing="ij")
            rows.append(r.ravel())
            cols.append(q.ravel())
            vals.append(np.full(r.size, self.kappa / len(members)))
        n_s = prob.n_struct
        return sp.csc_array(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_s, n_s),
        )

    def _lu_solve(self, rhs: np.ndarray) -> np.ndarray:
        # column by column: SuperLU's multi-RHS solve is ~10x slower here
        out = np.empty_like(rhs, dtype=float)
        for j in range(rhs.shape[1]):
            out[:, j] = self.lu.solve(np.ascontiguousarray(rhs[:, j]))
        return out

    def _constraint(self, f: np.ndarray) -> np.ndarray:
        """``A f``: sums of ``f`` (columns) per component."""
        return np.asarray(self.prob.constraint @ f)

    def solve(self, r_f: np.ndarray, r_g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``Q⁻¹ r`` by block elimination (sparse LU + Schur complement)."""
        if self.prob.n_struct:
            w = self._lu_solve(r_f)
            g = sla.cho_solve(self.chol, r_g - _mm(self.q_fg.T, w))
            return w - _mm(self.w, g), g
        return np.zeros((0, r_g.shape[1])), sla.cho_solve(self.chol, r_g)

    def constrain(self, f: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Condition Gaussian draws (columns) on the sum-to-zero constraints."""
        if not self.prob.n_struct:
            return f, g
        corr = sla.cho_solve(self.sig_a, self._constraint(f))
        return f - _mm(self.u_f, corr), g - _mm(self.u_g, corr)

    def log_marginal(self) -> float:
        r"""``log p(y | theta)`` up to a constant.

        ``log p(y|z,θ) + log p(z|θ) − log p(z|y,θ)`` at the constrained
        conditional mean ``z*``, where the last term is
        ``½ log|Q| + ½ log|A Q⁻¹ Aᵀ|`` (the quadratic forms cancel).
        """
        prob = self.prob
        eta = _mm(prob.design, self.g[:, None])[:, 0]
        eta[prob.struct] += self.f
        obs = prob.obs
        res = prob.y[obs] - eta[obs]
        out = 0.5 * float(np.log(self.tau[obs]).sum())
        out -= 0.5 * float((self.tau[obs] * res**2).sum())
        out -= 0.5 * float((prob.prior_prec * self.g**2).sum())
        if prob.n_struct:
            n_free = prob.n_struct - len(prob.comp_size)
            out += 0.5 * n_free * np.log(self.kappa)
            out -= 0.5 * self.kappa * float(self.f @ (prob.lap @ self.f))
        return out - 0.5 * self.logdet - 0.5 * self.logdet_a

    def draw(
        self, m: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``m`` exact draws of ``(f, gamma)`` and of the latent log-sales.

        Perturb-and-solve: with ``η ~ N(0, Q)`` built from the square roots of
        the prior and likelihood precisions, ``z* + Q⁻¹ η`` (then conditioned
        on the constraints) is a draw of ``z | theta, y``.
        """
        prob = self.prob
        n, p = prob.design.shape
        xi = rng.standard_normal((n, m)) * np.sqrt(self.tau)[:, None]
        e_g = np.sqrt(prob.prior_prec)[:, None] * rng.standard_normal((p, m))
        e_g += _mm(prob.design.T, xi)
        if prob.n_struct:
            e_f = xi[prob.struct]
            n_edge = prob.incidence.shape[0]
            e_f += np.sqrt(self.kappa) * (
                prob.incidence.T @ rng.standard_normal((n_edge, m))
            )
            for c in prob.no_buyer:
                members = prob.component == c
                k = np.sqrt(self.kappa / members.sum())
                e_f[members] += k * rng.standard_normal((1, m))
        else:
            e_f = np.zeros((0, m))
        d_f, d_g = self.solve(e_f, e_g)
        d_f, d_g = self.constrain(d_f, d_g)
        f = self.f[:, None] + d_f
        g = self.g[:, None] + d_g
        eta = _mm(prob.design, g)
        eta[prob.struct] += f
        latent = eta + np.sqrt(self.var_e)[:, None] * rng.standard_normal((n, m))
        return f, g, latent


def _derivatives(
    fun: Any, u: np.ndarray, h: np.ndarray, f0: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of ``fun`` at ``u`` by finite differences.

    Central differences on the diagonal; the cross terms (``d = 2``) from
    one more point, ``(f(u+h₁e₁+h₂e₂) − f(u+h₁e₁) − f(u+h₂e₂) + f(u))/(h₁h₂)``.
    """
    d = len(u)
    eye = np.eye(d)
    up = np.array([fun(u + h[i] * eye[i]) for i in range(d)])
    dn = np.array([fun(u - h[i] * eye[i]) for i in range(d)])
    grad = (up - dn) / (2.0 * h)
    hess = np.diag((up - 2.0 * f0 + dn) / h**2)
    for i in range(d):
        for j in range(i + 1, d):
            both = fun(u + h[i] * eye[i] + h[j] * eye[j])
            hess[i, j] = hess[j, i] = (both - up[i] - up[j] + f0) / (h[i] * h[j])
    return grad, hess


def _newton(
    fun: Any, u0: np.ndarray, h0: np.ndarray, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximise ``fun`` by damped Newton steps with finite differences.

    Returns the mode, ``-∇²fun`` there and whether it converged (a Newton
    step that would gain less than 1e-3 at a negative definite Hessian).
    """
    u = np.asarray(u0, dtype=float).copy()
    h = np.asarray(h0, dtype=float).copy()
    f = fun(u)
    if not np.isfinite(f):
        raise RuntimeError("the log posterior is not finite at the start")
    for _ in range(max_iter):
        grad, hess = _derivatives(fun, u, h, f)
        neg = -hess
        lam = np.linalg.eigvalsh(neg)
        newton = bool(np.all(np.isfinite(neg)) and lam.min() > 0)
        if newton:
            step = np.linalg.solve(neg, grad)
            if 0.5 * float(grad @ step) < 1e-3:
                return u, neg, True
        else:  # not concave here: a gradient step scaled by the curvature
            step = grad / np.maximum(np.abs(np.diag(neg)), 1.0)
        big = float(np.abs(step).max())
        if big > 2.0:
            step *= 2.0 / big
        for _ in range(10):
            f_new = fun(u + step)
            if f_new > f:
                break
            step /= 2.0
        else:
            return u, neg, newton
        u, f = u + step, f_new
        if newton:
            h = np.clip(0.5 / np.sqrt(np.diag(neg).clip(min=1e-12)), 1e-4, 0.5)
    grad, hess = _derivatives(fun, u, h, f)
    return u, -hess, False


#: At most this many grid steps from the mode along an axis.
_MAX_STEPS = 40

#: The search for the mode starts at no smaller ``sigma`` than this fraction
#: of the prior's scale (below it the conditional precision is rounding noise).
_MIN_START = 1e-6


def _no_mode_error(prob: UnitProblem, what: str) -> SpecificationError:
    """The approximate fit cannot place its grid: why, with the counts."""
    n_obs, n_coef = int(prob.obs.sum()), prob.design.shape[1]
    if n_obs <= n_coef:
        cause = (
            f"with {n_obs} units with sales and {n_coef} coefficients (intercept "
            f"+ {n_coef - 1} covariates) the regression fits the sales exactly, "
            "so the data say nothing about the sales scale sigma"
        )
    else:
        cause = (
            f"the sales of the {n_obs} units with sales are (nearly) an exact "
            f"function of the {n_coef - 1} covariates"
        )
    return SpecificationError(
        f"the approximate fit (method='laplace') found no usable posterior mode "
        f"of (sigma, rho): {what}. Likely cause: {cause}. Fix: fit with "
        "sampler_config={'method': 'nutpie'}, use fewer covariates "
        "(model_config['unit_covariates']) or add units with sales"
    )


#: Keep the factorisations of the grid points for the draws while their LU
#: factors hold fewer non-zeros than this (about 12 bytes each).
_KEEP_NNZ = 30_000_000


def _grid(
    prob: UnitProblem,
) -> tuple[list[np.ndarray], np.ndarray, list[_Conditional | None], dict[str, Any]]:
    """Mode of ``log π(u | y)``, then the INLA grid around it.

    Returns the grid points, their log densities, their conditionals (kept
    within a memory budget, else ``None``) and a description.  Raises
    :class:`~terrakit.exceptions.SpecificationError` when the log density is
    not finite at the start or around the mode (no grid can be laid).
    """
    cache: dict[bytes, float] = {}
    kept: dict[bytes, _Conditional] = {}
    nnz = [0]

    def logpost(u: np.ndarray, keep: bool = False) -> float:
        key = np.asarray(u, dtype=float).tobytes()
        if key not in cache or (keep and key not in kept):
            try:
                cond = _Conditional(prob, u)
                val = cond.log_marginal() + prob.log_prior(u)
            except (np.linalg.LinAlgError, RuntimeError, ValueError):
                val = -np.inf
            cache[key] = val if np.isfinite(val) else -np.inf
            if keep and np.isfinite(val):
                size = cond.lu.L.nnz + cond.lu.U.nnz if prob.n_struct else 0
                if nnz[0] + size <= _KEEP_NNZ:
                    kept[key] = cond
                    nnz[0] += size
        return cache[key]

    d = prob.n_hyper

    def start(sigma: float) -> np.ndarray:
        u = np.r_[np.log(sigma), 0.0][:d]
        if d == 2:  # a coarse scan of logit rho first: the log density is flat-ish
            scan = [np.r_[u[0], r] for r in (-6.0, -3.0, 0.0, 3.0)]
            u = max(scan, key=logpost)
        return u

    # start: residual scale of least squares on the buyers, rho = 1/2.  With
    # no more buyers than coefficients the fit is exact (residuals of rounding
    # noise, ~1e-16): start at the prior's scale instead
    obs = prob.obs
    n_obs, n_coef = int(obs.sum()), prob.design.shape[1]
    coef, *_ = np.linalg.lstsq(prob.design[obs], prob.y[obs], rcond=None)
    s0 = float(np.std(prob.y[obs] - prob.design[obs] @ coef))
    if n_obs <= n_coef or not np.isfinite(s0):
        s0 = prob.prior_sigma
    s0 = max(s0, _MIN_START * prob.prior_sigma)
    u0 = start(s0)
    if not np.isfinite(logpost(u0)):
        u0 = start(prob.prior_sigma)
    if not np.isfinite(logpost(u0)):
        raise _no_mode_error(prob, "the log posterior is not finite at the start")
    # finite-difference steps ~ 1/2 posterior SD: log sigma ~ 1/sqrt(2 n)
    h0 = np.r_[0.5 / np.sqrt(2.0 * max(n_obs, 1)), 0.25][:d]
    mode, hess, converged = _newton(logpost, u0, h0)
    # a local peak (e.g. in rounding noise at a tiny sigma) can hold Newton:
    # where the prior's scale is better, search again from there; keep the
    # higher of the two modes
    alt = np.r_[np.log(prob.prior_sigma), mode[1:]]
    if logpost(alt) > logpost(mode):
        other = _newton(logpost, alt, h0)
        if logpost(other[0]) > logpost(mode):
            mode, hess, converged = other
    top = logpost(mode)
    if not (np.isfinite(top) and np.all(np.isfinite(hess))):
        raise _no_mode_error(
            prob, "the curvature of the log posterior at its mode is not finite"
        )
    lam, vec = np.linalg.eigh(hess)
    lam = np.where(np.isfinite(lam) & (lam > 0), lam, 1.0)
    axes = vec / np.sqrt(lam)[None, :]  # u = mode + axes @ t
    points: list[np.ndarray] = []
    dens: list[float] = []

    def walk(prefix: list[float]) -> None:
        """Explore the last axis both ways from ``prefix`` (recursive rows)."""
        level = len(prefix)
        for sign in (1.0, -1.0):
            k = 0 if sign > 0 else 1
            while k <= _MAX_STEPS:
                t = np.array([*prefix, sign * k * GRID_STEP, *[0.0] * (d - level - 1)])
                u = mode + axes @ t
                lp = logpost(u, keep=level == d - 1)
                if not top - lp < GRID_DROP:
                    break
                if level == d - 1:
                    points.append(u)
                    dens.append(lp)
                else:
                    walk([*prefix, sign * k * GRID_STEP])
                k += 1

    walk([])
    if not points:
        raise _no_mode_error(prob, "no grid point around the mode has a finite density")
    info = {
        "mode": mode,
        "hessian": hess,
        "evaluations": len(cache),
        "optimizer_success": converged,
    }
    conds = [kept.get(np.asarray(u, dtype=float).tobytes()) for u in points]
    return points, np.asarray(dens), conds, info


def _hurdle(
    prob: UnitProblem, cfg: Mapping[str, Any], draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Laplace approximation of the logistic hurdle ``Pr(sales > 0)``."""
    x = prob.design
    k = x.shape[1] - 1
    prec = np.r_[
        1.0 / float(cfg["prior_hurdle_sd"]) ** 2,
        np.full(k, 1.0 / float(cfg["prior_beta_sd"]) ** 2),
    ]
    yb = prob.obs.astype(float)
    w = np.zeros(k + 1)
    ok = False
    for _ in range(100):
        p = expit(_mm(x, w[:, None])[:, 0])
        grad = _mm(x.T, (yb - p)[:, None])[:, 0] - prec * w
        hess = _mm(x.T, (p * (1 - p))[:, None] * x) + np.diag(prec)
        step = np.linalg.solve(hess, grad)
        w = w + step
        if np.abs(step).max() < 1e-10:
            ok = True
            break
    p = expit(_mm(x, w[:, None])[:, 0])
    hess = _mm(x.T, (p * (1 - p))[:, None] * x) + np.diag(prec)
    chol = np.linalg.cholesky(hess)
    z = rng.standard_normal((k + 1, draws))
    return w[:, None] + sla.solve_triangular(chol.T, z, lower=False), ok


def sample_unit_posterior(
    data: PreparedData, cfg: Mapping[str, Any], draws: int, seed: int
) -> tuple[Any, float, float]:
    r"""Approximate posterior draws of the unit-level model (no MCMC).

    Parameters
    ----------
    data
        Prepared unit data (:func:`~terrakit.potential.model.prepare_unit_data`);
        its graph needs no spectrum.
    cfg
        Merged model configuration (priors).
    draws
        Number of draws.
    seed
        Seed of the draws (the mode and grid are deterministic).

    Returns
    -------
    idata, setup_seconds, sample_seconds
        InferenceData with one chain holding ``alpha``, ``beta``, ``sigma``,
        ``rho``, ``phi``, ``log_sales_missing``, ``h_alpha``, ``h_beta`` as
        the MCMC paths do (``rho`` and ``phi`` only with a spatial effect).

    Raises
    ------
    SpecificationError
        When no usable mode of :math:`\theta` exists (a log posterior that is
        not finite at the start or around the mode, e.g. with as many
        coefficients as units with sales); the message suggests
        ``method="nutpie"`` or fewer covariates.

    Notes
    -----
    See the module docstring.  With :math:`\tau_i` the likelihood precision
    of unit :math:`i` (:math:`1/(\sigma^2(1-\rho))`, islands
    :math:`1/\sigma^2`, 0 without sales), :math:`\kappa = 1/(\sigma^2\rho)`
    and :math:`S` the scaling factors, the conditional precision of
    :math:`z = (f, \alpha, \beta)` is

    .. math::

        Q = \begin{pmatrix} \kappa S^{1/2} L S^{1/2} + T_S & T_S X \\
            X^\top T_S & P + X^\top T X \end{pmatrix}

    and, at the conditional mean :math:`z^*` under :math:`A f = 0`,

    .. math::

        \log\pi(\theta\mid y) = \log\pi(\theta) + \log p(y\mid z^*,\theta)
          + \tfrac{n_s - C}{2}\log\kappa
          - \tfrac{\kappa}{2} f^{*\top} S^{1/2} L S^{1/2} f^*
          - \tfrac12\gamma^{*\top} P\gamma^*
          - \tfrac12\log|Q| - \tfrac12\log|A Q^{-1} A^\top| + \text{const}.
    """
    import arviz as az

    t0 = time.perf_counter()
    prob = UnitProblem.from_data(data, cfg)
    t1 = time.perf_counter()
    points, dens, conds, info = _grid(prob)
    weight = np.exp(dens - dens.max())
    weight /= weight.sum()
    rng = np.random.default_rng([int(seed), 31337])
    # systematic resampling: draws per grid point ~ posterior mass
    cum = np.cumsum(weight)
    cum[-1] = 1.0
    pos = (rng.random() + np.arange(draws)) / draws
    counts = np.bincount(np.searchsorted(cum, pos), minlength=len(points))
    n, p = prob.design.shape
    n_s = prob.n_struct
    f_all = np.empty((n_s, draws))
    g_all = np.empty((p, draws))
    lat_all = np.empty((n, draws))
    sig_all = np.empty(draws)
    rho_all = np.empty(draws)
    at = 0
    for u, c, cond in zip(points, counts, conds, strict=True):
        if not c:
            continue
        cond = cond or _Conditional(prob, u)
        f, g, lat = cond.draw(int(c), rng)
        sl = slice(at, at + c)
        f_all[:, sl], g_all[:, sl], lat_all[:, sl] = f, g, lat
        sig_all[sl], rho_all[sl] = cond.sigma, cond.rho
        at += c
    order = rng.permutation(draws)  # no runs of equal (sigma, rho)
    f_all, g_all, lat_all = f_all[:, order], g_all[:, order], lat_all[:, order]
    sig_all, rho_all = sig_all[order], rho_all[order]
    h, hurdle_ok = _hurdle(prob, cfg, draws, rng)
    if not (info["optimizer_success"] and hurdle_ok):
        what = "(sigma, rho)" if not info["optimizer_success"] else "the hurdle"
        warnings.warn(
            f"the approximate fit did not converge: the search for the mode of "
            f"{what} stopped early, so the draws may be off. Fix: check the "
            "data, or use sampler_config={'method': 'nutpie'}",
            ConvergenceWarning,
            stacklevel=3,
        )
    covs = np.asarray(data.covariates, dtype=object)
    post: dict[str, np.ndarray] = {
        "alpha": g_all[0][None],
        "beta": g_all[1:].T[None],
        "sigma": sig_all[None],
        "h_alpha": h[0][None],
        "h_beta": h[1:].T[None],
    }
    dims: dict[str, list[str]] = {"beta": ["covariate"], "h_beta": ["covariate"]}
    coords: dict[str, Any] = {"covariate": covs}
    if n_s:
        phi = f_all * np.sqrt(prob.scale)[:, None]
        phi /= (sig_all * np.sqrt(rho_all))[None, :]
        post["rho"] = rho_all[None]
        back = np.argsort(prob.struct)  # model order of the units
        post["phi"] = phi[back].T[None]
        dims["phi"] = ["spatial_unit"]
        coords["spatial_unit"] = data.ids[prob.struct[back]].to_numpy()
    miss = np.flatnonzero(~prob.obs)
    if len(miss):
        post["log_sales_missing"] = lat_all[miss].T[None]
        dims["log_sales_missing"] = ["non_buyer"]
        coords["non_buyer"] = data.ids[miss].to_numpy()
    idata = az.from_dict(posterior=post, dims=dims, coords=coords)
    idata.posterior.attrs.update(
        {
            "approximation": "nested Laplace: exact Gaussian latent field on a "
            "grid over (sigma, rho); Laplace hurdle",
            "grid_points": len(points),
            "grid_points_used": int((counts > 0).sum()),
            "log_posterior_evaluations": int(info["evaluations"]),
            "laplace_converged": int(info["optimizer_success"] and hurdle_ok),
        }
    )
    t2 = time.perf_counter()
    return idata, t1 - t0, t2 - t1

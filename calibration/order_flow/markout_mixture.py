"""Two-component Gaussian mixture of signed markouts: informed share and informed move.

``x ~ (1 - f) N(0, s^2) + f N(m, s^2)``: uninformed trades leave no expected move,
informed ones move the mid ``m`` bps their way, both under the same noise. Fitted by
maximum likelihood (L-BFGS-B) from several starts (screened on a subsample of a large
day, the best refined on every markout); standard errors from a HAC sandwich because
markouts overlap. Cost O(n) per likelihood pass, O(n k^2) for the sandwich (k = 3).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import optimize

from calibration.common.newey_west import hac_score_covariance
from calibration.errors import ConvergenceWarning, IdentifiabilityWarning
from calibration.types import Float64Array

__all__ = ["MarkoutMixture", "fit_markout_mixture"]

#: Starts: (informed share, informed mean as a multiple of the markout std). The last
#: start (multiple 0) sits near the one-Gaussian fit so the mixture never does worse.
_STARTS: tuple[tuple[float, float], ...] = (
    (0.5, 0.5), (0.5, 1.0), (0.3, 2.0), (0.1, 3.0), (0.5, -1.0), (0.98, 0.0)
)
_MAX_ITER = 500
#: Above twice this many markouts the starts are screened on a strided subsample of
#: about this size and the best ``_REFINED_STARTS`` of them refined on the full sample.
_SCREEN_SIZE = 100_000
_REFINED_STARTS = 2
#: L-BFGS-B tolerances on the per-markout objective: 1e-12 relative is ~1e-6 of total
#: log-likelihood on a 200,000-trade day, far under any likelihood-ratio margin.
_FTOL = 1e-12
_GTOL = 1e-8
#: Bound on logit f: shares within 1e-9 of 0 or 1 are a collapsed mixture anyway.
_MAX_LOGIT = 20.7
#: Bound on log s around the log of the markouts' std: s within a factor 1e4 of it. The
#: optimum never comes near (s^2 + f (1 - f) m^2 is the variance); without a bound a
#: line-search trial step could underflow s^2 to zero (a real SOL day did, from the
#: negative-m start).
_LOG_S_SPAN = math.log(1e4)
#: Informed shares this close to 0 or 1 mean the mixture collapsed to one component.
_DEGENERATE_SHARE = 0.005
#: Below this likelihood-ratio statistic the informed component is indistinguishable
#: from noise (the mixture LR null is non-standard; 2 is a deliberately lenient bar).
_MIN_LR = 2.0


@dataclass(frozen=True)
class MarkoutMixture:
    """Mixture estimates (bps) with sandwich-HAC standard errors.

    A standard error is None when its sandwich variance is not positive (the Hessian is
    not negative definite there: the parameter is not identified).

    Attributes
    ----------
    informed_share, informed_share_stderr : float
        ``f``, dimensionless.
    informed_markout_bps, informed_markout_stderr_bps : float
        ``m``, bps.
    noise_sd_bps, noise_sd_stderr_bps : float
        ``s``, bps.
    implied_mean_bps, implied_mean_stderr_bps : float
        ``f m``, bps.
    loglik, loglik_one_component, lr_statistic : float
        Mixture and one-Gaussian log-likelihoods and ``2 (loglik - loglik_one)``.
    em_iterations : int
        Optimiser iterations of the best start (the name predates the switch from EM).
    em_converged : bool
        Whether that start met the tolerance.
    """

    informed_share: float
    informed_share_stderr: float | None
    informed_markout_bps: float
    informed_markout_stderr_bps: float | None
    noise_sd_bps: float
    noise_sd_stderr_bps: float | None
    implied_mean_bps: float
    implied_mean_stderr_bps: float | None
    loglik: float
    loglik_one_component: float
    lr_statistic: float
    em_iterations: int
    em_converged: bool


def _component_densities(
    x: Float64Array, f: float, m: float, s: float
) -> tuple[Float64Array, Float64Array]:
    """Weighted densities of the uninformed and informed components."""
    norm = 1.0 / (s * math.sqrt(2.0 * math.pi))
    p0 = (1.0 - f) * norm * np.exp(-0.5 * (x / s) ** 2)
    p1 = f * norm * np.exp(-0.5 * ((x - m) / s) ** 2)
    return p0, p1


@njit(cache=True)
def _nll_grad(x: Float64Array, theta: Float64Array) -> tuple[float, Float64Array]:
    """Negative log-likelihood and its gradient in theta = (logit f, m, log s), one pass.

    Hand-fused (one exp and one log1p per markout): the numpy EM it replaces made ~10
    array passes per update and crawled for thousands of updates along the f-m ridge
    of a weak informed component (50 of the nightly job's 70 s on the BTC day).
    """
    f = 1.0 / (1.0 + math.exp(-theta[0]))
    f = min(max(f, 1e-12), 1.0 - 1e-12)
    m, s = theta[1], math.exp(theta[2])
    inv_v = 1.0 / (s * s)
    log_f, log_g = math.log(f), math.log(1.0 - f)
    n = x.size
    ll = 0.0
    s_r = 0.0
    s_rd = 0.0
    s_q = 0.0
    for i in range(n):
        xi = x[i]
        d = xi - m
        a = log_g - 0.5 * xi * xi * inv_v  # uninformed, up to the common normaliser
        b = log_f - 0.5 * d * d * inv_v  # informed
        hi = a if a > b else b
        lse = hi + math.log1p(math.exp(-abs(a - b)))
        r = math.exp(b - lse)
        ll += lse
        s_r += r
        s_rd += r * d
        s_q += (1.0 - r) * xi * xi + r * d * d
    ll -= n * (math.log(s) + 0.5 * math.log(2.0 * math.pi))
    grad = np.empty(3)
    grad[0] = -(s_r - n * f)
    grad[1] = -s_rd * inv_v
    grad[2] = -(-n + s_q * inv_v)
    return -ll, grad


def _fit_from(
    x: Float64Array, f0: float, m0: float, s0: float, sd: float
) -> tuple[float, float, float, float, int, bool]:
    """Maximise the mixture likelihood from one start by L-BFGS-B on (logit f, m, log s).

    ``sd`` is the markouts' std (bps); s is kept within a factor 1e4 of it. Returns f,
    m, s, loglik, iterations and whether the optimiser converged. The objective is
    scaled per markout so the tolerances do not depend on the sample size.
    """
    xs = np.ascontiguousarray(x, dtype=np.float64)
    n = float(xs.size)
    f0 = min(max(f0, 1e-6), 1.0 - 1e-6)
    log_sd = math.log(max(sd, 1e-9))
    log_s_bounds = (log_sd - _LOG_S_SPAN, log_sd + _LOG_S_SPAN)
    log_s0 = min(max(math.log(max(s0, 1e-9)), log_s_bounds[0]), log_s_bounds[1])
    start = np.array([math.log(f0 / (1.0 - f0)), m0, log_s0])

    def objective(theta: Float64Array) -> tuple[float, Float64Array]:
        value, grad = _nll_grad(xs, theta)
        return value / n, grad / n

    res = optimize.minimize(
        objective, start, jac=True, method="L-BFGS-B",
        bounds=[(-_MAX_LOGIT, _MAX_LOGIT), (None, None), log_s_bounds],
        options={"maxiter": _MAX_ITER, "ftol": _FTOL, "gtol": _GTOL},
    )
    f = 1.0 / (1.0 + math.exp(-float(res.x[0])))
    return (f, float(res.x[1]), math.exp(float(res.x[2])), -float(res.fun) * n,
            int(res.nit), bool(res.success))


def _scores(x: Float64Array, theta: Float64Array) -> Float64Array:
    """Per-observation score in theta = (logit f, m, log s), shape (n, 3)."""
    f = 1.0 / (1.0 + math.exp(-theta[0]))
    m, s = float(theta[1]), math.exp(theta[2])
    p0, p1 = _component_densities(x, f, m, s)
    resp = p1 / np.maximum(p0 + p1, 1e-300)
    d_logit = resp - f
    d_m = resp * (x - m) / s**2
    d_logs = -1.0 + ((1.0 - resp) * x * x + resp * (x - m) ** 2) / s**2
    return np.column_stack([d_logit, d_m, d_logs])


def _sandwich_cov(x: Float64Array, theta: Float64Array, n_lags: int) -> Float64Array:
    """HAC sandwich covariance of theta: H^-1 S H^-1 with a numerical Hessian of the scores."""
    k = theta.size
    hess = np.empty((k, k))
    for j in range(k):
        step = 1e-5 * max(1.0, abs(float(theta[j])))
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        hess[:, j] = (_scores(x, up).sum(axis=0) - _scores(x, down).sum(axis=0)) / (2 * step)
    hess = 0.5 * (hess + hess.T)
    if not np.all(np.linalg.eigvalsh(hess) < 0):
        warnings.warn(
            "markout mixture Hessian is not negative definite; standard errors unreliable",
            ConvergenceWarning,
            stacklevel=4,
        )
    bread = np.linalg.pinv(hess)
    meat = hac_score_covariance(_scores(x, theta), n_lags)
    return np.asarray(bread @ meat @ bread, dtype=np.float64)


def _gaussian_loglik(x: Float64Array) -> float:
    var = float(np.var(x))
    return float(-0.5 * x.size * (math.log(2.0 * math.pi * var) + 1.0))




def fit_markout_mixture(x: Float64Array, n_lags: int, *, mean_hint: float) -> MarkoutMixture:
    """Fit ``(1 - f) N(0, s^2) + f N(m, s^2)`` to markouts ``x`` (bps, time order).

    Parameters
    ----------
    x : Float64Array
        Signed markouts, bps, in trade order (the order matters for the HAC errors).
    n_lags : int
        HAC kernel width for the score covariance, trades.
    mean_hint : float
        Sample mean of ``x`` (seeds the near-one-Gaussian start).

    Returns
    -------
    MarkoutMixture

    Warns
    -----
    ConvergenceWarning
        The best start did not converge, or the Hessian is not negative definite.
    IdentifiabilityWarning
        The mixture collapsed (f near 0 or 1) or does not beat one Gaussian (LR < 2).
    """
    sd = float(np.std(x))
    # Large samples: the starts race on an evenly strided subsample and only the best
    # ones are refined on every markout, from where they stopped (each start costs ~40
    # full passes; on a 1,000,000-trade day the six of them were most of the fit).
    stride = math.ceil(x.size / _SCREEN_SIZE) if x.size > 2 * _SCREEN_SIZE else 1
    screen = np.ascontiguousarray(x[::stride]) if stride > 1 else x
    found = []
    for f0, mult in _STARTS:
        m0 = mean_hint / f0 if mult == 0.0 else mult * sd
        found.append(_fit_from(screen, f0, m0, sd, sd))
    if stride > 1:
        leaders = sorted(found, key=lambda c: c[3], reverse=True)[:_REFINED_STARTS]
        found = [_fit_from(x, c[0], c[1], c[2], sd) for c in leaders]
    best = max(found, key=lambda c: c[3])
    f, m, s, loglik, iters, em_converged = best
    if not em_converged:
        warnings.warn(
            f"markout mixture fit did not converge in {iters} iterations "
            "(a flat likelihood: f and m are weakly identified)",
            ConvergenceWarning,
            stacklevel=3,
        )
    if f < _DEGENERATE_SHARE or f > 1.0 - _DEGENERATE_SHARE:
        warnings.warn(
            f"markout mixture collapsed (informed share {f:.4f}); only f*m is identified",
            IdentifiabilityWarning,
            stacklevel=3,
        )
    ll_one = _gaussian_loglik(x)
    if 2.0 * (loglik - ll_one) < _MIN_LR:
        warnings.warn(
            "the markout mixture barely beats one Gaussian (LR "
            f"{2.0 * (loglik - ll_one):.2f}); f and m are not separately identified, "
            "only the mean markout f*m is",
            IdentifiabilityWarning,
            stacklevel=3,
        )
    theta = np.array([math.log(f / (1.0 - f)), m, math.log(s)])
    cov = _sandwich_cov(x, theta, n_lags)

    def se(jac: Float64Array) -> float | None:
        var = float(jac @ cov @ jac)
        return math.sqrt(var) if var > 0.0 and math.isfinite(var) else None

    return MarkoutMixture(
        informed_share=f,
        informed_share_stderr=se(np.array([f * (1.0 - f), 0.0, 0.0])),
        informed_markout_bps=m,
        informed_markout_stderr_bps=se(np.array([0.0, 1.0, 0.0])),
        noise_sd_bps=s,
        noise_sd_stderr_bps=se(np.array([0.0, 0.0, s])),
        implied_mean_bps=f * m,
        implied_mean_stderr_bps=se(np.array([f * (1.0 - f) * m, f, 0.0])),
        loglik=loglik,
        loglik_one_component=ll_one,
        lr_statistic=2.0 * (loglik - ll_one),
        em_iterations=iters,
        em_converged=em_converged,
    )

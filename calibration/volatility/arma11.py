"""ARMA(1,1) by conditional least squares with a heteroskedasticity-robust covariance.

Used by :mod:`calibration.volatility.stochastic_vol` on realised-variance series, whose innovations
are heteroskedastic (CIR: variance proportional to the level), so the covariance is the
White sandwich of the nonlinear least-squares problem rather than the Gaussian
information. The residual recursion ``e_t = u_t - ma e_{t-1}`` is a linear filter,
evaluated with ``scipy.signal.lfilter`` (no Python loop).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal, stats

from calibration.errors import CalibrationError, ConvergenceWarning
from calibration.types import Float64Array

__all__ = ["Arma11Fit", "fit_arma11", "ljung_box_p_value"]

#: Bounds keep the AR root stationary and the MA root invertible.
AR_BOUNDS = (-0.999, 0.999999)
MA_BOUNDS = (-0.999, 0.999)


@dataclass(frozen=True)
class Arma11Fit:
    """``y_t - mu = phi (y_{t-1} - mu) + e_t + ma e_{t-1}``, ``Var(e) = sigma2``.

    ``params`` is ``[mu, phi, ma, sigma2]``; ``cov`` its 4x4 robust covariance (sigma2
    taken independent of the others, with variance ``Var(e^2) / n``).
    """

    params: Float64Array
    cov: Float64Array
    residuals: Float64Array
    loglik: float
    n_obs: int
    converged: bool


def _residuals(beta: Float64Array, yc: Float64Array) -> Float64Array:
    phi, ma = beta
    out: Float64Array = signal.lfilter([1.0], [1.0, ma], yc[1:] - phi * yc[:-1])
    return out


def fit_arma11(y: Float64Array) -> Arma11Fit:
    """Conditional least squares ARMA(1,1) (conditioning on ``y_0`` and ``e_0 = 0``).

    ``mu`` is the sample mean: with ``phi`` near 1 the CLS intercept pins the mean down
    badly (it enters as ``mu (1 - phi)``). Its variance is the ARMA long-run variance
    ``sigma2 (1 + ma)^2 / (1 - phi)^2 / n``. Starting values: ``phi = rho_2 / rho_1``
    (for an ARMA(1,1) ``rho_k = phi rho_{k-1}`` for k >= 2) clipped to the bounds, ``ma = 0``.
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if n < 20:
        raise CalibrationError(f"ARMA(1,1) needs at least 20 observations; got {n}")
    mu = float(y.mean())
    yc = y - mu
    c0 = float(np.dot(yc, yc))
    if c0 <= 0:
        raise CalibrationError("the series is constant")
    r1 = float(np.dot(yc[1:], yc[:-1])) / c0
    r2 = float(np.dot(yc[2:], yc[:-2])) / c0
    phi0 = r2 / r1 if abs(r1) > 1e-8 else 0.0
    phi0 = min(max(phi0, AR_BOUNDS[0] + 1e-3), AR_BOUNDS[1] - 1e-4)
    res = optimize.least_squares(
        _residuals,
        np.array([phi0, 0.0]),
        args=(yc,),
        bounds=([AR_BOUNDS[0], MA_BOUNDS[0]], [AR_BOUNDS[1], MA_BOUNDS[1]]),
        x_scale=np.array([1e-3, 0.1]),
        method="trf",
    )
    if not res.success:
        warnings.warn(f"ARMA(1,1) CLS did not converge: {res.message}", ConvergenceWarning,
                      stacklevel=2)  # fmt: skip
    e = res.fun
    m = e.size
    sigma2 = float(np.dot(e, e)) / m
    phi, ma = (float(v) for v in res.x)
    jac = res.jac
    bread = np.linalg.pinv(jac.T @ jac)
    meat = (jac * (e * e)[:, None]).T @ jac
    cov = np.zeros((4, 4))
    cov[0, 0] = sigma2 * (1.0 + ma) ** 2 / (1.0 - phi) ** 2 / n
    cov[1:3, 1:3] = bread @ meat @ bread
    cov[3, 3] = float(np.var(e * e)) / m
    params = np.array([mu, phi, ma, sigma2])
    loglik = -0.5 * m * (math.log(2.0 * math.pi * sigma2) + 1.0)
    return Arma11Fit(params, cov, e, loglik, n, bool(res.success))


def ljung_box_p_value(residuals: Float64Array, lags: int = 10, n_params: int = 2) -> float:
    """Ljung-Box portmanteau p-value, ``lags - n_params`` degrees of freedom."""
    e = residuals - residuals.mean()
    n = e.size
    c0 = float(np.dot(e, e))
    q = (
        sum((float(np.dot(e[k:], e[:-k])) / c0) ** 2 / (n - k) for k in range(1, lags + 1))
        * n
        * (n + 2)
    )
    return float(stats.chi2.sf(q, max(lags - n_params, 1)))

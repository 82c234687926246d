"""Fat tails of returns: Student-t maximum likelihood with standard errors.

Touch probabilities downstream (fill_depth, the trader's quote placement) use the fitted
degrees of freedom instead of a Gaussian tail.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from calibration.errors import CalibrationError, ConvergenceWarning
from calibration.types import Float64Array
from calibration.volatility.realized import jsonable

__all__ = ["DF_BOUNDS", "DF_LOWER_LEVEL", "StudentTFit", "fit_student_t"]

#: Search bounds for the degrees of freedom; the upper bound stands for "Gaussian".
DF_BOUNDS = (0.5, 500.0)
#: One-sided level of the profile-likelihood lower limit ``df_lower`` (the fat-tail end).
DF_LOWER_LEVEL = 0.95


@dataclass(frozen=True)
class StudentTFit:
    """Location-zero Student-t fit of returns at one sampling scale.

    Attributes
    ----------
    df, df_stderr : degrees of freedom and its standard error (observed information);
        ``df_stderr`` is None when ``df`` sits on a search bound.
    scale_bps, scale_stderr_bps : t scale parameter of the returns, bps.
    sigma_bps : implied return standard deviation ``scale * sqrt(df / (df - 2))``, bps per
        return interval (None when ``df <= 2``: infinite variance).
    loglik : maximised log-likelihood; ``loglik_gaussian`` the N(0, s^2) MLE for comparison.
    ks_statistic, ks_p_value : Kolmogorov-Smirnov goodness of fit (p-value is optimistic:
        parameters were estimated; ties from price discreteness make it conservative).
    n_obs : number of returns; ``n_zero`` of them exactly zero (tick discreteness).
    df_lower : one-sided ``DF_LOWER_LEVEL`` profile-likelihood lower limit of ``df`` (the
        fattest tail the returns do not reject). The profile, not ``df -/+ z se``: the
        likelihood in ``df`` is strongly skewed (flat towards the Gaussian), and the limit
        exists even when ``df`` sits on its upper bound.
    """

    df: float
    df_stderr: float | None
    scale_bps: float
    scale_stderr_bps: float | None
    sigma_bps: float | None
    loglik: float
    loglik_gaussian: float
    ks_statistic: float
    ks_p_value: float
    n_obs: int
    n_zero: int
    at_bound: bool
    df_lower: float

    def to_dict(self) -> dict[str, Any]:
        return dict(jsonable(asdict(self)))


def _nll(params: Float64Array, x: Float64Array) -> float:
    # The t log-density written out: scipy's logpdf costs ~5x more per call, and the
    # profile limit calls this a few hundred times.
    df, scale = math.exp(params[0]), math.exp(params[1])
    const = special.gammaln((df + 1.0) / 2.0) - special.gammaln(df / 2.0)
    const -= 0.5 * math.log(df * math.pi) + math.log(scale)
    z2 = np.square(x / scale)
    return float(-(x.size * const - 0.5 * (df + 1.0) * np.sum(np.log1p(z2 / df))))


def _hessian(f: Any, p: Float64Array, rel_step: float = 1e-4) -> Float64Array:
    """Central-difference Hessian of ``f`` at ``p`` (small dimension only)."""
    k = p.size
    h = rel_step * np.maximum(np.abs(p), 1.0)
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.zeros(k), np.zeros(k)
            ei[i], ej[j] = h[i], h[j]
            val = (f(p + ei + ej) - f(p + ei - ej) - f(p - ei + ej) + f(p - ei - ej)) / (
                4.0 * h[i] * h[j]
            )
            hess[i, j] = hess[j, i] = val
    return hess


def _profile_nll(log_df: float, x: Float64Array, log_scale0: float) -> float:
    """Negative log-likelihood at ``df = exp(log_df)`` minimised over the scale."""
    res = optimize.minimize_scalar(
        lambda ls: _nll(np.array([log_df, ls]), x),
        bounds=(log_scale0 - 3.0, log_scale0 + 3.0),
        method="bounded",
        options={"xatol": 1e-7},
    )
    return float(res.fun)


def _df_lower_limit(x: Float64Array, log_df_hat: float, log_scale_hat: float, nll_hat: float,
                    level: float) -> float:
    """Smallest df whose profile deviance from the optimum stays under the one-sided
    chi-square(1) cut ``z_level^2``, by root finding on ``log df`` (Venzon-Moolgavkar)."""
    cut = float(stats.norm.ppf(level)) ** 2 / 2.0
    lo = math.log(DF_BOUNDS[0])

    def excess(log_df: float) -> float:
        return _profile_nll(log_df, x, log_scale_hat) - nll_hat - cut

    if log_df_hat <= lo + 1e-9 or excess(lo) <= 0.0:
        return DF_BOUNDS[0]
    return math.exp(optimize.brentq(excess, lo, log_df_hat, xtol=1e-4))


def fit_student_t(returns_bps: Any, *, min_obs: int = 50) -> StudentTFit:
    """Maximum-likelihood Student-t (location 0) fit of returns in bps.

    Parameters
    ----------
    returns_bps : log returns, bps, at one sampling scale; drift is negligible at these
        horizons so the location is fixed at zero.
    min_obs : fewer returns raise ``CalibrationError``.

    Notes
    -----
    Optimised over ``(log df, log scale)`` with L-BFGS-B from ``df = 5`` and the
    MAD-based scale; standard errors invert the observed information in ``(df, scale)``.
    ``df_lower`` is the one-sided profile-likelihood limit at ``DF_LOWER_LEVEL``.
    """
    x = np.asarray(returns_bps, dtype=np.float64)
    if x.ndim != 1 or x.size < min_obs:
        raise CalibrationError(f"need at least {min_obs} returns for a t fit; got {x.size}")
    if not np.all(np.isfinite(x)):
        raise CalibrationError("returns must be finite")
    n_zero = int(np.count_nonzero(x == 0.0))
    if n_zero > 0.9 * x.size:
        raise CalibrationError(f"{n_zero} of {x.size} returns are zero: sample at a coarser scale")
    mad = float(np.median(np.abs(x))) / 0.6745
    s0 = mad if mad > 0 else float(np.std(x))
    start = np.array([math.log(5.0), math.log(s0)])
    bounds = [
        (math.log(DF_BOUNDS[0]), math.log(DF_BOUNDS[1])),
        (math.log(s0) - 10, math.log(s0) + 10),
    ]
    res = optimize.minimize(_nll, start, args=(x,), method="L-BFGS-B", bounds=bounds)
    if not res.success:
        warnings.warn(
            f"Student-t MLE did not converge: {res.message}", ConvergenceWarning, stacklevel=2
        )
    df, scale = math.exp(res.x[0]), math.exp(res.x[1])
    at_bound = bool(res.x[0] <= bounds[0][0] + 1e-6 or res.x[0] >= bounds[0][1] - 1e-6)
    df_se: float | None = None
    scale_se: float | None = None
    p = np.array([df, scale])
    hess = _hessian(lambda q: _nll(np.log(np.maximum(q, 1e-12)), x), p)
    try:
        cov = np.linalg.inv(hess)
        if np.all(np.diag(cov) > 0):
            scale_se = math.sqrt(cov[1, 1])
            df_se = None if at_bound else math.sqrt(cov[0, 0])
    except np.linalg.LinAlgError:
        pass
    sd_gauss = math.sqrt(float(np.mean(x * x)))
    ll_gauss = float(np.sum(stats.norm.logpdf(x, scale=sd_gauss)))
    ks = stats.kstest(x / scale, stats.t(df).cdf)
    return StudentTFit(
        df=df,
        df_stderr=df_se,
        scale_bps=scale,
        scale_stderr_bps=scale_se,
        sigma_bps=scale * math.sqrt(df / (df - 2.0)) if df > 2.0 else None,
        loglik=-float(res.fun),
        loglik_gaussian=ll_gauss,
        ks_statistic=float(ks.statistic),
        ks_p_value=float(ks.pvalue),
        n_obs=int(x.size),
        n_zero=n_zero,
        at_bound=at_bound,
        df_lower=_df_lower_limit(x, float(res.x[0]), float(res.x[1]), float(res.fun),
                                 DF_LOWER_LEVEL),
    )

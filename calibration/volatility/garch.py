"""GARCH(1,1) on interval returns (``arch`` package), the benchmark beside Heston.

Units: returns in bps per interval; ``omega_bps2`` in bps^2 per interval; long-run
variance annualised (decimal, 365-day year); half-life in seconds.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from calibration.errors import CalibrationError, ConvergenceWarning
from calibration.volatility.realized import SECONDS_PER_YEAR, jsonable

__all__ = ["GarchFit", "fit_garch"]


@dataclass(frozen=True)
class GarchFit:
    """Zero-mean Gaussian GARCH(1,1): ``s2_t = omega + alpha r_{t-1}^2 + beta s2_{t-1}``.

    Attributes
    ----------
    omega_bps2, alpha, beta : estimates with standard errors (arch's robust covariance).
    persistence : ``alpha + beta``.
    long_run_variance_annualised : ``omega / (1 - alpha - beta)`` per interval, scaled to a
        year and to decimal variance (None when persistence >= 1).
    half_life_s : seconds for a variance shock to halve, ``ln 0.5 / ln(persistence)``
        intervals (None when persistence >= 1).
    kappa_implied : ``-ln(persistence) / interval`` in 1/yr, comparable to Heston's kappa.
    reason : why the long-run fields are None (persistence so close to 1 that the
        half-life exceeds the window: the sample cannot tell GARCH from IGARCH).
    """

    omega_bps2: float
    omega_stderr_bps2: float | None
    alpha: float
    alpha_stderr: float | None
    beta: float
    beta_stderr: float | None
    persistence: float
    long_run_variance_annualised: float | None
    long_run_vol_annualised: float | None
    half_life_s: float | None
    kappa_implied: float | None
    loglik: float
    n_obs: int
    interval_s: float
    converged: bool
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(jsonable(asdict(self)))


def fit_garch(returns_bps: Any, *, interval_s: float, min_obs: int = 100) -> GarchFit:
    """Fit GARCH(1,1) with ``arch`` to equally spaced returns.

    Parameters
    ----------
    returns_bps : log returns in bps, one per ``interval_s`` seconds (bps keep the
        variance in arch's well-scaled range for minute-scale crypto returns).
    interval_s : seconds per return, for annualising and the half-life.
    min_obs : fewer returns raise ``CalibrationError``.
    """
    from arch import arch_model  # heavy import, only when GARCH is wanted

    r = np.asarray(returns_bps, dtype=np.float64)
    if r.ndim != 1 or r.size < min_obs:
        raise CalibrationError(f"GARCH needs at least {min_obs} returns; got {r.size}")
    if not np.all(np.isfinite(r)) or float(np.dot(r, r)) <= 0:
        raise CalibrationError("returns must be finite and not all zero")
    model = arch_model(r, mean="Zero", vol="GARCH", p=1, q=1, dist="normal", rescale=False)
    res = model.fit(disp="off", show_warning=False)
    converged = int(res.convergence_flag) == 0
    if not converged:
        warnings.warn("GARCH(1,1) optimiser did not converge", ConvergenceWarning, stacklevel=2)
    omega, alpha, beta = (float(res.params[k]) for k in ("omega", "alpha[1]", "beta[1]"))
    se = res.std_err

    def _se(key: str) -> float | None:
        val = float(se[key])
        return val if math.isfinite(val) else None

    pers = alpha + beta
    per_year = SECONDS_PER_YEAR / interval_s
    window_s = r.size * interval_s
    stationary = 0.0 < pers < 1.0
    reason: str | None = None
    if stationary and math.log(0.5) / math.log(pers) * interval_s > window_s:
        stationary = False
    if not stationary:
        reason = (
            f"persistence alpha + beta = {pers:.6f}: the variance half-life exceeds the "
            f"{window_s / 3600:.1f} h window, long-run variance not identified"
        )
    lr_var = omega / (1.0 - pers) * per_year / 1e8 if stationary else None
    return GarchFit(
        omega_bps2=omega,
        omega_stderr_bps2=_se("omega"),
        alpha=alpha,
        alpha_stderr=_se("alpha[1]"),
        beta=beta,
        beta_stderr=_se("beta[1]"),
        persistence=pers,
        long_run_variance_annualised=lr_var,
        long_run_vol_annualised=math.sqrt(lr_var) if lr_var is not None else None,
        half_life_s=math.log(0.5) / math.log(pers) * interval_s if stationary else None,
        kappa_implied=-math.log(pers) * per_year if stationary else None,
        loglik=float(res.loglikelihood),
        n_obs=int(r.size),
        interval_s=float(interval_s),
        converged=converged,
        reason=reason,
    )

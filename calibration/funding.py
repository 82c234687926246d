"""Ornstein-Uhlenbeck model of a perpetual's funding rate, and the carry it implies.

The funding rate ``r`` is modelled as ``dr = kappa (theta - r) dt + sigma dW`` and fitted by
exact maximum likelihood on the (possibly irregular) published series, so a missed
funding print costs an observation, not a bias. The fit feeds the strategy's carry skew:
``expected_carry`` gives what a position expects to pay or receive over a horizon.

Conventions: rates are per funding interval as published (``interval_s``: 3600 on
Hyperliquid, 28800 on Binance); a long pays a positive rate, a short receives it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from calibration.errors import CalibrationError, ConvergenceWarning, IdentifiabilityWarning
from calibration.types import Float64Array

__all__ = ["SECONDS_PER_YEAR", "FundingCarry", "FundingOUFit", "expected_carry", "fit_funding_ou"]

SECONDS_PER_YEAR = 365.0 * 86_400.0
# The window must span this many half-lives for kappa to be called identified.
_MIN_HALF_LIVES_IN_WINDOW = 10.0
# Search range of the half-life, relative to the median spacing and to the window.
_MIN_HALF_LIFE_SPACINGS = 0.05
_MAX_HALF_LIFE_WINDOWS = 1000.0


@dataclass(frozen=True)
class FundingCarry:
    """Expected funding over a horizon for a position.

    Attributes
    ----------
    position : float
        Signed notional, quote currency (+ long, - short).
    horizon_s : float
        Horizon, seconds.
    current_rate : float
        Funding rate per interval now.
    expected_rate_sum : float
        Expected sum of per-interval rates accrued over the horizon (what a long pays per
        unit notional, as a fraction).
    carry_bps : float
        Expected funding P&L of the position, bps of notional (negative = it pays).
    carry_quote : float
        The same in quote currency.
    carry_std_bps : float
        Standard deviation of the funding P&L under the fitted OU, bps of notional.
    """

    position: float
    horizon_s: float
    current_rate: float
    expected_rate_sum: float
    carry_bps: float
    carry_quote: float
    carry_std_bps: float

    def to_dict(self) -> dict[str, float]:
        """JSON-serialisable form."""
        return {k: float(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class FundingOUFit:
    """Exact-likelihood OU fit of a funding-rate series.

    Attributes
    ----------
    kappa : float
        Mean-reversion speed, per year (365-day year).
    theta : float
        Long-run funding rate, per funding interval (fraction; 1e-4 = 1 bp per interval).
    sigma : float
        Diffusion of the rate, rate-per-interval units per sqrt(year).
    kappa_stderr, theta_stderr, sigma_stderr : float or None
        Asymptotic standard errors from the observed information (None if singular).
    half_life_s : float
        ``ln 2 / kappa``, seconds.
    stationary_std : float
        ``sigma / sqrt(2 kappa)``: standard deviation of the rate around theta, per interval.
    theta_annualised : float
        theta accrued over a year (fraction of notional per year).
    interval_s : float
        Funding interval the rates are quoted per, seconds.
    n_obs : int
        Rates used.
    window_s : float
        Time spanned by the series, seconds.
    loglik : float
        Maximised log-likelihood.
    residual_ks_pvalue : float
        K-S p-value of the standardised one-step residuals against N(0, 1) (goodness of fit).
    residual_lag1_autocorr : float or None
        Lag-1 autocorrelation of those residuals (near 0 if the OU captures the dynamics);
        None when the residuals are too few or constant.
    identifiable : bool
        False when the window spans fewer than 10 half-lives or kappa hit its search bound;
        then kappa is poorly determined and the carry leans on theta and the current rate.
    note : str
        Human-readable identifiability remark.
    """

    kappa: float
    theta: float
    sigma: float
    kappa_stderr: float | None
    theta_stderr: float | None
    sigma_stderr: float | None
    half_life_s: float
    stationary_std: float
    theta_annualised: float
    interval_s: float
    n_obs: int
    window_s: float
    loglik: float
    residual_ks_pvalue: float
    residual_lag1_autocorr: float | None
    identifiable: bool
    note: str

    def expected_rate(self, current_rate: float, horizon_s: float) -> float:
        """E[r(t + horizon_s) | r(t) = current_rate], per interval."""
        decay = math.exp(-self.kappa * horizon_s / SECONDS_PER_YEAR)
        return self.theta + (current_rate - self.theta) * decay

    def expected_carry(
        self, position: float, horizon_s: float, current_rate: float
    ) -> FundingCarry:
        """See :func:`expected_carry`."""
        return expected_carry(position, horizon_s, current_rate, fit=self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (units as in the attribute docs)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = value if value is None or isinstance(value, (bool, str)) else float(value)
        out["n_obs"] = self.n_obs
        return out


def expected_carry(
    position: float, horizon_s: float, current_rate: float, *, fit: FundingOUFit
) -> FundingCarry:
    """Expected funding paid or received by a position over a horizon under the OU fit.

    Parameters
    ----------
    position : float
        Signed notional in quote currency (+ long, - short), held constant.
    horizon_s : float
        Horizon, seconds (>= 0).
    current_rate : float
        Funding rate per interval now (the live predicted rate).
    fit : FundingOUFit
        The fitted OU.

    Returns
    -------
    FundingCarry

    Notes
    -----
    Funding accrues at ``r(t) / interval_s`` per second of notional, so a long pays
    ``I = (1 / interval_s) * integral_0^H r(t) dt``. Under the OU, with k = kappa per second,

    ``E[I] = [theta H + (r0 - theta) (1 - exp(-k H)) / k] / interval_s``

    ``Var[I] = sigma^2 / k^2 [H - 2 (1 - exp(-k H)) / k + (1 - exp(-2 k H)) / (2 k)]
    / interval_s^2`` (sigma per sqrt(second)).

    Venues settle at discrete times (every interval); the integral is the expected accrual,
    which is what a position held across many settlements pays.
    """
    if not (math.isfinite(horizon_s) and horizon_s >= 0):
        raise CalibrationError(f"horizon_s must be finite and >= 0, got {horizon_s}")
    if not (math.isfinite(position) and math.isfinite(current_rate)):
        raise CalibrationError("position and current_rate must be finite")
    k = fit.kappa / SECONDS_PER_YEAR
    sigma_s = fit.sigma / math.sqrt(SECONDS_PER_YEAR)
    kh = k * horizon_s
    # -expm1 keeps precision when k H is tiny (slow mean reversion, short horizons).
    decayed = -math.expm1(-kh) / k if k > 0 else horizon_s
    integral = fit.theta * horizon_s + (current_rate - fit.theta) * decayed
    if kh > 1e-6:
        var_integral = (sigma_s / k) ** 2 * (
            horizon_s - 2 * decayed - math.expm1(-2 * kh) / (2 * k)
        )
    else:  # small-kH limit: sigma^2 H^3 / 3
        var_integral = sigma_s**2 * horizon_s**3 / 3.0
    rate_sum = integral / fit.interval_s
    direction = math.copysign(1.0, position) if position != 0 else 0.0
    carry_bps = -direction * rate_sum * 1e4
    return FundingCarry(
        position=float(position),
        horizon_s=float(horizon_s),
        current_rate=float(current_rate),
        expected_rate_sum=float(rate_sum),
        carry_bps=float(carry_bps),
        carry_quote=float(carry_bps * abs(position) / 1e4),
        carry_std_bps=float(
            abs(direction) * math.sqrt(max(var_integral, 0.0)) / fit.interval_s * 1e4
        ),
    )


def _transition(k: float, dt: Float64Array) -> tuple[Float64Array, Float64Array]:
    """Exact OU transition: decay a = exp(-k dt) and unit-sigma variance (1 - a^2) / (2k)."""
    a = np.exp(-k * dt)
    unit_var = -np.expm1(-2.0 * k * dt) / (2.0 * k)
    return a, unit_var


def _profile(
    k: float, x0: Float64Array, x1: Float64Array, dt: Float64Array
) -> tuple[float, float, float]:
    """Given k (per second), the closed-form theta, sigma^2 and the log-likelihood."""
    a, unit_var = _transition(k, dt)
    w = 1.0 - a
    y = x1 - a * x0
    theta = float(np.sum(w * y / unit_var) / np.sum(w * w / unit_var))
    resid = y - theta * w
    sigma2 = float(np.mean(resid**2 / unit_var))
    loglik = -0.5 * float(np.sum(np.log(2 * np.pi * sigma2 * unit_var)) + x0.size)
    return theta, sigma2, loglik


def _loglik(params: Float64Array, x0: Float64Array, x1: Float64Array, dt: Float64Array) -> float:
    k, theta, sigma = math.exp(params[0]), params[1], math.exp(params[2])
    a, unit_var = _transition(k, dt)
    var = sigma**2 * unit_var
    resid = x1 - theta - (x0 - theta) * a
    return -0.5 * float(np.sum(np.log(2 * np.pi * var) + resid**2 / var))


def _hessian(fun: Any, x: Float64Array, step: Float64Array) -> Float64Array:
    """Central-difference Hessian."""
    n = x.size
    hess = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei = np.zeros(n)
            ej = np.zeros(n)
            ei[i] = step[i]
            ej[j] = step[j]
            value = (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)) / (
                4 * step[i] * step[j]
            )
            hess[i, j] = hess[j, i] = value
    return hess


def fit_funding_ou(
    ts_ns: Any,
    rates: Any,
    *,
    interval_s: float = 3600.0,
    min_obs: int = 30,
) -> FundingOUFit:
    """Fit an OU process to a funding-rate series by exact maximum likelihood.

    Parameters
    ----------
    ts_ns : array of int64
        Publication times, ns UTC, strictly increasing (spacing may be irregular).
    rates : array of float
        Funding rate per interval, as published (fraction: 1e-4 = 0.01%).
    interval_s : float
        Funding interval the rates are quoted per, seconds (3600 Hyperliquid, 28800 Binance).
    min_obs : int
        Fewer rates than this raise CalibrationError.

    Returns
    -------
    FundingOUFit

    Notes
    -----
    With ``a_i = exp(-k dt_i)`` the exact transition is
    ``r_{i+1} | r_i ~ N(theta + (r_i - theta) a_i, sigma^2 (1 - a_i^2) / (2k))``. For a given
    k, theta (weighted least squares) and sigma^2 have closed forms, so the likelihood is
    profiled over k alone (log-grid then bounded refinement) and the standard errors come
    from the numerical Hessian of the full likelihood in (log k, theta, log sigma).

    A series stuck at a clamp (Binance often prints exactly 0.01% for days) is not an OU;
    the fit raises on a constant series and the residual diagnostics show the misfit.
    """
    ts = np.asarray(ts_ns)
    x = np.asarray(rates, dtype=np.float64)
    if ts.ndim != 1 or x.shape != ts.shape:
        raise CalibrationError(
            f"ts_ns and rates must be 1-D of equal length; got {ts.shape}, {x.shape}"
        )
    if ts.size and not np.issubdtype(ts.dtype, np.integer):
        raise CalibrationError(f"ts_ns must be integer nanoseconds, got dtype {ts.dtype}")
    if not (math.isfinite(interval_s) and interval_s > 0):
        raise CalibrationError(f"interval_s must be finite and > 0, got {interval_s}")
    if ts.size < max(min_obs, 3):
        raise CalibrationError(
            f"funding OU needs at least {max(min_obs, 3)} rates, got {ts.size}: an hourly series "
            "needs a few days at least, and weeks before the mean reversion is identified"
        )
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise CalibrationError(f"rates must be finite; first violation at index {bad[0]}")
    dt = np.diff(ts.astype(np.int64)).astype(np.float64) / 1e9
    bad = np.flatnonzero(dt <= 0)
    if bad.size:
        raise CalibrationError(
            f"ts_ns must be strictly increasing; first violation at index {bad[0] + 1}"
        )
    if np.ptp(x) == 0:
        raise CalibrationError(
            f"funding rate is constant ({x[0]:.6g}) over {x.size} prints: no dynamics to fit"
        )

    x0, x1 = x[:-1], x[1:]
    window_s = float(dt.sum())
    median_dt = float(np.median(dt))
    k_lo = math.log(2) / (_MAX_HALF_LIFE_WINDOWS * window_s)
    k_hi = math.log(2) / (_MIN_HALF_LIFE_SPACINGS * median_dt)
    grid = np.geomspace(k_lo, k_hi, 81)
    profile_ll = np.array([_profile(k, x0, x1, dt)[2] for k in grid])
    best = int(np.argmax(profile_ll))
    lo, hi = math.log(grid[max(best - 1, 0)]), math.log(grid[min(best + 1, grid.size - 1)])
    refined = optimize.minimize_scalar(
        lambda logk: -_profile(math.exp(logk), x0, x1, dt)[2],
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-8},
    )
    log_k = float(refined.x) if refined.success else math.log(grid[best])
    if not refined.success:
        warnings.warn(
            f"funding OU: kappa refinement failed ({refined.message})",
            ConvergenceWarning,
            stacklevel=2,
        )
    k = math.exp(log_k)
    theta, sigma2, loglik = _profile(k, x0, x1, dt)
    sigma_s = math.sqrt(sigma2)

    at_bound = best in (0, grid.size - 1)
    half_life_s = math.log(2) / k
    identifiable = not at_bound and window_s >= _MIN_HALF_LIVES_IN_WINDOW * half_life_s
    if identifiable:
        note = f"window spans {window_s / half_life_s:.0f} half-lives"
    else:
        note = (
            f"kappa weakly identified: window {window_s / 3600:.1f} h spans "
            f"{window_s / half_life_s:.2g} half-lives (want >= {_MIN_HALF_LIVES_IN_WINDOW:.0f})"
            + ("; kappa at its search bound" if at_bound else "")
        )
        warnings.warn(f"funding OU: {note}", IdentifiabilityWarning, stacklevel=2)

    # Standard errors: observed information in (log k, theta / scale, log sigma).
    scale = float(np.std(x)) or 1.0
    params = np.array([log_k, theta / scale, math.log(sigma_s)])

    def negll(p: Float64Array) -> float:
        return -_loglik(np.array([p[0], p[1] * scale, p[2]]), x0, x1, dt)

    stderr: list[float | None] = [None, None, None]
    try:
        cov = np.linalg.inv(_hessian(negll, params, np.full(3, 1e-4)))
        var = np.diag(cov)
        if np.all(np.isfinite(var)) and np.all(var > 0):
            sd = np.sqrt(var)
            stderr = [k * sd[0], scale * sd[1], sigma_s * sd[2]]
    except np.linalg.LinAlgError:
        pass
    if stderr[0] is None:
        warnings.warn(
            "funding OU: information matrix is singular; no standard errors",
            ConvergenceWarning,
            stacklevel=2,
        )

    a, unit_var = _transition(k, dt)
    z = (x1 - theta - (x0 - theta) * a) / np.sqrt(sigma2 * unit_var)
    lag1 = float(np.corrcoef(z[:-1], z[1:])[0, 1]) if z.size > 2 and np.std(z) > 0 else math.nan
    per_year = SECONDS_PER_YEAR
    return FundingOUFit(
        kappa=k * per_year,
        theta=theta,
        sigma=sigma_s * math.sqrt(per_year),
        kappa_stderr=None if stderr[0] is None else float(stderr[0]) * per_year,
        theta_stderr=None if stderr[1] is None else float(stderr[1]),
        sigma_stderr=None if stderr[2] is None else float(stderr[2]) * math.sqrt(per_year),
        half_life_s=half_life_s,
        stationary_std=sigma_s / math.sqrt(2 * k),
        theta_annualised=theta * per_year / interval_s,
        interval_s=float(interval_s),
        n_obs=int(x.size),
        window_s=window_s,
        loglik=loglik,
        residual_ks_pvalue=float(stats.kstest(z, "norm").pvalue),
        residual_lag1_autocorr=lag1 if math.isfinite(lag1) else None,
        identifiable=identifiable,
        note=note,
    )

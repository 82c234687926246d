"""Heston parameters from high-frequency prices, aware of realised-variance measurement error.

Model (time in years, 365-day year)::

    d log S = -v/2 dt + sqrt(v) dW_S,   dv = kappa (theta - v) dt + xi sqrt(v) dW_v,
    d<W_S, W_v> = rho dt.

Realised variance over an interval of ``Delta`` years is integrated variance plus an error
(discretisation and microstructure noise). Integrated variance of a CIR process over
consecutive intervals is an ARMA(1, 1) with AR coefficient ``phi = exp(-kappa Delta)``
(Barndorff-Nielsen and Shephard 2002, "Econometric analysis of realized volatility", JRSS B
64, 253-280); a white measurement error keeps it ARMA(1, 1), moving only the MA part and
the lag-0 autocovariance. So we fit ARMA(1, 1) by conditional least squares (Gaussian
quasi-ML conditional on the first point) with a White-robust covariance to the annualised RV
series ``y_k = RV_k / Delta`` and read

* ``kappa = -ln(phi) / Delta``;
* ``theta = E[y]``;
* ``xi`` from the lag-1 autocovariance (free of the measurement error):
  ``gamma_1 = omega^2 (1 - phi)^2 / (kappa Delta)^2`` with ``omega^2 = xi^2 theta / (2 kappa)``
  the stationary variance of v;
* ``rho`` from ``Cov(R_k, y_{k+1} - y_{k-1}) = rho xi theta Delta ((1 - phi)/(kappa Delta))^2``
  where ``R_k`` is the interval log return: the variance shocks during interval k are
  fully inside ``y_{k+1}`` and absent from ``y_{k-1}``; dividing the covariance by the
  model-implied scale (instead of taking a correlation) removes the attenuation by the
  measurement error and by the within-interval averaging.

The naive Euler OLS of a CIR on the same series (``fit_cir_ols_naive``) treats the error
as signal: the AR coefficient is attenuated and kappa comes out many times too large.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from calibration.errors import CalibrationError, IdentifiabilityWarning
from calibration.types import Float64Array
from calibration.volatility.arma11 import fit_arma11, ljung_box_p_value
from calibration.volatility.garch import GarchFit, fit_garch
from calibration.volatility.realized import SECONDS_PER_YEAR, jsonable
from calibration.volatility.rv_series import (
    CirOlsFit,
    RealizedVarianceSeries,
    fit_cir_ols_naive,
    realized_variance_series,
    series_from_bars,
)

__all__ = [
    "CirOlsFit",
    "HestonFit",
    "RealizedVarianceSeries",
    "fit_cir_ols_naive",
    "fit_heston",
    "fit_heston_series",
    "realized_variance_series",
    "series_from_bars",
]

_Z95 = 1.959963984540054


@dataclass(frozen=True)
class HestonFit:
    """Heston parameters with 95 % intervals, or an honest "not identified".

    Attributes
    ----------
    kappa : mean-reversion speed, 1/yr (None when not identified).
    theta : long-run variance, annualised decimal (``sqrt(theta)`` is the vol).
    xi : vol of variance, annualised, in ``dv = ... + xi sqrt(v) dW`` (None if not identified).
    rho : correlation of price and variance shocks (None if not identified).
    *_stderr, *_ci : delta-method standard errors and 95 % intervals (kappa's interval is
        mapped from the AR coefficient's, so it is asymmetric).
    half_life_s : ``ln 2 / kappa`` in seconds. feller_ratio : ``2 kappa theta / xi^2``.
    ar_coef, ma_coef : ARMA(1,1) coefficients of the annualised RV series (``ar_coef_stderr``
        None when its variance is not positive).
    measurement_error_var_arma : ARMA-implied variance of the RV error (annualised var^2);
        compare ``measurement_error_var_rq`` (realised quarticity, discretisation only).
    ljung_box_p_value : residual whiteness at lag 10 (goodness of fit).
    identifiable, reason : False with the reason when the sample cannot pin kappa down.
    n_obs : number of RV intervals; garch : GARCH(1,1) on the interval returns.
    """

    kappa: float | None
    kappa_stderr: float | None
    kappa_ci: tuple[float, float] | None
    theta: float
    theta_stderr: float | None
    theta_ci: tuple[float, float] | None
    xi: float | None
    xi_stderr: float | None
    xi_ci: tuple[float, float] | None
    rho: float | None
    rho_stderr: float | None
    rho_ci: tuple[float, float] | None
    half_life_s: float | None
    feller_ratio: float | None
    sigma_bps: float
    ar_coef: float | None
    ar_coef_stderr: float | None
    ma_coef: float | None
    noise_var_bps2: float
    measurement_error_var_arma: float | None
    measurement_error_var_rq: float
    loglik: float | None
    ljung_box_p_value: float | None
    identifiable: bool
    reason: str | None
    n_obs: int
    rv_interval_s: float
    window_s: float
    garch: GarchFit | None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "garch"}
        out["garch"] = None if self.garch is None else self.garch.to_dict()
        return dict(jsonable(out))


def _heston_from_arma(
    p: Float64Array, mean: float, scale: float, delta: float
) -> tuple[float, float, float]:
    """(kappa, theta, xi) from standardised ARMA params ``[const, ar, ma, sigma2]``."""
    const, phi, ma, s2 = p
    theta = mean + scale * const
    kappa = -math.log(phi) / delta
    gamma1 = scale**2 * s2 * (1.0 + phi * ma) * (phi + ma) / (1.0 - phi**2)
    xi2 = 2.0 * kappa * gamma1 * (kappa * delta) ** 2 / (theta * (1.0 - phi) ** 2)
    return kappa, theta, math.sqrt(xi2) if xi2 > 0 else -math.sqrt(-xi2)


def _ci(est: float, se: float | None) -> tuple[float, float] | None:
    return None if se is None else (est - _Z95 * se, est + _Z95 * se)


def fit_heston(
    ts_ns: Any,
    prices: Any,
    *,
    rv_interval_s: float = 300.0,
    sample_interval_s: float = 1.0,
    noise_correction: str = "ac1",
    min_intervals: int = 100,
    min_half_lives: float = 5.0,
    min_half_life_intervals: float = 2.0,
    min_kappa_z: float = 1.645,
    bias_correction: bool = True,
    garch: bool = True,
) -> HestonFit:
    """Fit Heston (kappa, theta, xi, rho) to a high-frequency price series.

    Parameters
    ----------
    ts_ns : int64 ns, sorted; prices : trade prices or mids, positive.
    rv_interval_s : RV interval Delta, seconds (300 = 5-minute RV).
    sample_interval_s : previous-tick sampling step inside each interval, seconds.
    noise_correction : see :func:`realized_variance_series`.
    min_intervals : fewer RV intervals cannot identify the dynamics (theta only).
    min_half_lives : the window must cover this many variance half-lives for kappa.
    min_half_life_intervals : the half-life must span this many RV intervals: faster
        dynamics are averaged away inside an interval and the AR and MA roots of the
        ARMA(1, 1) can no longer be told apart.
    min_kappa_z : mean reversion must be visible: ``(1 - phi) / se(phi)`` at least this,
        and so must the lag-1 autocorrelation of the RV series that xi is read from
        (default: one-sided 5 % test of a unit root in the RV series, normal critical
        value). ``se(phi)`` is the White-robust standard error: the CIR innovations are
        heteroskedastic and the homoskedastic one understates it about two-fold.
        Set 0 to get estimates however weak (for simulation studies).
    bias_correction : add the first-order small-sample bias of an AR(1) coefficient with
        an estimated mean, ``(1 + 3 phi) / n`` (Kendall 1954; Marriott and Pope 1954), to
        the ARMA AR coefficient before mapping it to kappa and xi. Without it kappa is
        biased up by about ``4 / T`` per year on a window of T years (+14 % on 30 days
        at kappa = 365 in simulation).
    garch : also fit GARCH(1,1) to the interval returns (``HestonFit.garch``).

    Returns
    -------
    HestonFit
        With ``identifiable=False``, ``reason`` and kappa/xi/rho None when the sample is too
        short; an ``IdentifiabilityWarning`` is issued then.

    Raises
    ------
    CalibrationError
        Malformed prices, or less than one RV interval of data.
    """
    series = realized_variance_series(
        ts_ns,
        prices,
        rv_interval_s=rv_interval_s,
        sample_interval_s=sample_interval_s,
        noise_correction=noise_correction,
    )
    return fit_heston_series(
        series,
        min_intervals=min_intervals,
        min_half_lives=min_half_lives,
        min_half_life_intervals=min_half_life_intervals,
        min_kappa_z=min_kappa_z,
        bias_correction=bias_correction,
        garch=garch,
    )


def fit_heston_series(
    series: RealizedVarianceSeries,
    *,
    min_intervals: int = 100,
    min_half_lives: float = 5.0,
    min_half_life_intervals: float = 2.0,
    min_kappa_z: float = 1.645,
    bias_correction: bool = True,
    garch: bool = True,
) -> HestonFit:
    """Fit Heston to a realised-variance series already cut into consecutive intervals.

    The estimator of :func:`fit_heston` (same parameters, same result) for a series built
    elsewhere, e.g. from stored 5-minute bars over several days
    (:func:`~calibration.volatility.rv_series.series_from_bars`).

    Raises
    ------
    CalibrationError
        An empty series or a non-positive mean variance.
    """
    y, ret = series.variance_annualised, series.returns
    rv_interval_s = series.interval_s
    if y.size == 0:
        raise CalibrationError("the realised-variance series is empty: nothing to fit")
    n = y.size
    delta = series.delta_years
    window_s = n * rv_interval_s
    mean_y = float(np.mean(y))
    if mean_y <= 0:
        raise CalibrationError("mean realised variance is not positive: the price never moved")
    garch_fit: GarchFit | None = None
    if garch and n >= 100:
        garch_fit = fit_garch(ret * 1e4, interval_s=rv_interval_s)

    def _unidentified(reason: str, theta_se: float | None, **arma: Any) -> HestonFit:
        warnings.warn(
            f"Heston kappa/xi/rho not identified: {reason}", IdentifiabilityWarning, stacklevel=3
        )
        return HestonFit(
            kappa=None, kappa_stderr=None, kappa_ci=None,
            theta=mean_y, theta_stderr=theta_se, theta_ci=_ci(mean_y, theta_se),
            xi=None, xi_stderr=None, xi_ci=None, rho=None, rho_stderr=None, rho_ci=None,
            half_life_s=None, feller_ratio=None,
            sigma_bps=math.sqrt(mean_y / SECONDS_PER_YEAR) * 1e4,
            ar_coef=arma.get("ar"), ar_coef_stderr=arma.get("ar_se"), ma_coef=arma.get("ma"),
            noise_var_bps2=series.noise_var_bps2, measurement_error_var_arma=None,
            measurement_error_var_rq=series.measurement_error_var_rq,
            loglik=arma.get("loglik"), ljung_box_p_value=None, identifiable=False,
            reason=reason, n_obs=n, rv_interval_s=float(rv_interval_s),
            window_s=float(window_s), garch=garch_fit,
        )  # fmt: skip

    if n < min_intervals:
        se = float(np.std(y, ddof=1)) / math.sqrt(n) if n >= 2 else None
        return _unidentified(
            f"only {n} RV intervals of {rv_interval_s:g} s ({window_s:.0f} s of data); "
            f"the variance dynamics need at least {min_intervals}",
            se,
        )
    scale = float(np.std(y))
    if scale <= 0:
        raise CalibrationError("realised variance is constant: nothing to fit")
    z = (y - mean_y) / scale
    # xi is read off the lag-1 autocovariance: it must be there (heteroskedasticity-robust z)
    lag1 = z[1:] * z[:-1]
    lag1_z = float(lag1.sum()) / math.sqrt(float(np.dot(lag1, lag1)))
    if lag1_z < min_kappa_z:
        return _unidentified(
            f"RV series has no significant lag-1 autocorrelation (robust z = {lag1_z:.2f}): "
            "the variance does not move detectably at this interval, or measurement error "
            "swamps it",
            float(np.std(y, ddof=1)) / math.sqrt(n),
        )
    res = fit_arma11(z)
    p = res.params.copy()
    if bias_correction:
        p[1] = min(p[1] + (1.0 + 3.0 * p[1]) / n, 1.0 - 1e-9)
    cov = res.cov
    phi, ma = float(p[1]), float(p[2])
    phi_se = math.sqrt(cov[1, 1]) if cov[1, 1] > 0 else math.inf
    theta_se = scale * math.sqrt(cov[0, 0]) if cov[0, 0] > 0 else None
    ar_stderr = phi_se if math.isfinite(phi_se) else None
    arma_info = {"ar": phi, "ar_se": ar_stderr, "ma": ma, "loglik": res.loglik}
    if phi <= 0.0:
        return _unidentified(
            f"AR coefficient {phi:.4f} of the RV series is not positive: no persistent "
            f"variance dynamics at {rv_interval_s:g} s (constant variance, or a half-life "
            "far below the RV interval)",
            theta_se,
            **arma_info,
        )
    if phi >= 1.0 or (1.0 - phi) < min_kappa_z * phi_se:
        return _unidentified(
            f"AR coefficient {phi:.5f} (s.e. {phi_se:.5f}) of the RV series is not "
            f"significantly below 1 (z < {min_kappa_z:g}): no mean reversion visible "
            "in this window",
            theta_se,
            **arma_info,
        )
    kappa, theta, xi = _heston_from_arma(p, mean_y, scale, delta)
    half_life_s = math.log(2.0) / kappa * SECONDS_PER_YEAR
    if half_life_s < min_half_life_intervals * rv_interval_s:
        return _unidentified(
            f"variance half-life {half_life_s:.0f} s is shorter than "
            f"{min_half_life_intervals:g} RV intervals of {rv_interval_s:g} s: too fast for "
            "this interval to resolve (use a shorter rv_interval_s)",
            theta_se,
            **arma_info,
        )
    if window_s < min_half_lives * half_life_s:
        return _unidentified(
            f"variance half-life {half_life_s / 3600:.2f} h is comparable to the "
            f"{window_s / 3600:.2f} h window (need {min_half_lives:g} half-lives)",
            theta_se,
            **arma_info,
        )
    if xi <= 0 or theta <= 0:
        return _unidentified(
            "the RV series has no positive lag-1 autocovariance: vol of variance unidentified",
            theta_se,
            **arma_info,
        )
    jac = np.empty((3, 4))
    for j in range(4):
        h = 1e-6 * max(abs(p[j]), 1e-3)
        up, dn = p.copy(), p.copy()
        up[j] += h
        dn[j] -= h
        jac[:, j] = (
            np.array(_heston_from_arma(up, mean_y, scale, delta))
            - np.array(_heston_from_arma(dn, mean_y, scale, delta))
        ) / (2 * h)
    var = np.diag(jac @ cov @ jac.T)
    kappa_se, theta_se2, xi_se = (math.sqrt(v) if v > 0 else None for v in var)
    phi_lo, phi_hi = max(phi - _Z95 * phi_se, 1e-12), phi + _Z95 * phi_se
    kappa_ci = (-math.log(phi_hi) / delta, -math.log(phi_lo) / delta)
    rho, rho_se = _rho_from_leverage(y, ret, kappa=kappa, theta=theta, xi=xi, phi=phi,
                                     delta=delta, xi_se=xi_se)  # fmt: skip
    gamma0 = scale**2 * p[3] * (1.0 + 2.0 * phi * ma + ma**2) / (1.0 - phi**2)
    omega2 = xi**2 * theta / (2.0 * kappa)
    var_iv = 2.0 * omega2 * (phi - 1.0 + kappa * delta) / (kappa * delta) ** 2
    rho_ci = None if rho_se is None else (
        max(rho - _Z95 * rho_se, -1.0), min(rho + _Z95 * rho_se, 1.0)
    )  # fmt: skip
    return HestonFit(
        kappa=kappa,
        kappa_stderr=kappa_se,
        kappa_ci=kappa_ci,
        theta=theta,
        theta_stderr=theta_se2,
        theta_ci=_ci(theta, theta_se2),
        xi=xi,
        xi_stderr=xi_se,
        xi_ci=_ci(xi, xi_se),
        rho=rho,
        rho_stderr=rho_se,
        rho_ci=rho_ci,
        half_life_s=half_life_s,
        feller_ratio=2.0 * kappa * theta / xi**2,
        sigma_bps=math.sqrt(theta / SECONDS_PER_YEAR) * 1e4,
        ar_coef=phi,
        ar_coef_stderr=ar_stderr,
        ma_coef=ma,
        noise_var_bps2=series.noise_var_bps2,
        measurement_error_var_arma=float(gamma0 - var_iv),
        measurement_error_var_rq=series.measurement_error_var_rq,
        loglik=res.loglik,
        ljung_box_p_value=ljung_box_p_value(res.residuals),
        identifiable=True,
        reason=None,
        n_obs=n,
        rv_interval_s=float(rv_interval_s),
        window_s=float(window_s),
        garch=garch_fit,
    )


def _rho_from_leverage(
    y: Float64Array,
    ret: Float64Array,
    *,
    kappa: float,
    theta: float,
    xi: float,
    phi: float,
    delta: float,
    xi_se: float | None,
) -> tuple[float, float | None]:
    """rho from ``Cov(R_k, y_{k+1} - y_{k-1})`` scaled by its model value at rho = 1.

    The standard error combines the sampling error of the mean product (i.i.d. products)
    with the relative error of xi; rho is clipped to [-1, 1].
    """
    prod = ret[1:-1] * (y[2:] - y[:-2])
    unit = xi * theta * delta * ((1.0 - phi) / (kappa * delta)) ** 2
    rho = float(np.mean(prod)) / unit
    se_cov = float(np.std(prod, ddof=1)) / math.sqrt(prod.size) / unit
    se = math.hypot(se_cov, rho * xi_se / xi) if xi_se is not None else se_cov
    return min(max(rho, -1.0), 1.0), se

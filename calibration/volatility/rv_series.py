"""The realised-variance series behind the Heston fit, and the naive CIR OLS on it.

``realized_variance_series`` samples prices on a clock grid, sums squared returns per
interval and removes the i.i.d.-noise bias; ``fit_cir_ols_naive`` is the textbook Euler
OLS of a CIR on that series, kept to show (bench/bench_heston.py) how measurement error
biases it: see :mod:`calibration.volatility.stochastic_vol` for the estimator that accounts for it.
Units: variance annualised (decimal, 365-day year), time in seconds, noise in bps^2.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from calibration.errors import CalibrationError
from calibration.types import Float64Array
from calibration.volatility.realized import SECONDS_PER_YEAR, jsonable, validate_prices

__all__ = [
    "CirOlsFit",
    "RealizedVarianceSeries",
    "RvBars",
    "fit_cir_ols_naive",
    "realized_variance_series",
    "rv_bars",
    "series_from_bars",
]


@dataclass(frozen=True)
class RealizedVarianceSeries:
    """Per-interval realised variance, annualised, with the interval log returns.

    Attributes
    ----------
    variance_annualised : ``y_k = RV_k / Delta``, decimal variance per year, noise-corrected.
    returns : interval log returns ``R_k`` (decimal).
    interval_s, sample_interval_s : RV interval and intra-interval sampling step, seconds.
    noise_var_bps2 : i.i.d. noise variance on log price, ``-Cov(r_t, r_{t+1})`` (floored 0).
    measurement_error_var_rq : mean of ``(2/3) sum r^4 / Delta^2`` over intervals, the
        realised-quarticity estimate of the discretisation error variance of ``y``.
    """

    variance_annualised: Float64Array
    returns: Float64Array
    interval_s: float
    sample_interval_s: float
    noise_var_bps2: float
    measurement_error_var_rq: float

    @property
    def delta_years(self) -> float:
        return self.interval_s / SECONDS_PER_YEAR


def realized_variance_series(
    ts_ns: Any,
    prices: Any,
    *,
    rv_interval_s: float = 300.0,
    sample_interval_s: float = 1.0,
    noise_correction: str = "ac1",
) -> RealizedVarianceSeries:
    """Previous-tick sample every ``sample_interval_s``, sum squared returns per interval.

    Parameters
    ----------
    noise_correction : ``"ac1"`` subtracts ``2 m omega^2`` from each interval's RV, with the
        i.i.d. noise variance ``omega^2 = -Cov(r_t, r_{t+1})`` estimated on the whole
        sample (unbiased for i.i.d. noise; m returns per interval); ``"none"`` keeps raw RV.
    """
    ts, px = validate_prices(ts_ns, prices, min_points=3)
    if noise_correction not in ("ac1", "none"):
        raise CalibrationError(f"noise_correction must be 'ac1' or 'none'; got {noise_correction}")
    m = round(rv_interval_s / sample_interval_s)
    if m < 2 or abs(m * sample_interval_s - rv_interval_s) > 1e-9 * rv_interval_s:
        raise CalibrationError(
            f"rv_interval_s={rv_interval_s} must be a multiple (>= 2) of "
            f"sample_interval_s={sample_interval_s}"
        )
    step_ns = round(sample_interval_s * 1e9)
    n_ret = int((int(ts[-1]) - int(ts[0])) // step_ns)
    n_int = n_ret // m
    if n_int < 1:
        raise CalibrationError(
            f"prices span {(int(ts[-1]) - int(ts[0])) / 1e9:.1f} s: less than one "
            f"{rv_interval_s:g} s RV interval"
        )
    grid = int(ts[0]) + step_ns * np.arange(n_int * m + 1, dtype=np.int64)
    logp = np.log(px[np.searchsorted(ts, grid, side="right") - 1])
    r = np.diff(logp)
    noise = max(-float(np.mean(r[1:] * r[:-1])), 0.0) if noise_correction == "ac1" else 0.0
    blocks = r.reshape(n_int, m)
    delta = rv_interval_s / SECONDS_PER_YEAR
    rv = np.sum(blocks**2, axis=1) - 2.0 * m * noise
    err_rq = float(np.mean(2.0 / 3.0 * np.sum(blocks**4, axis=1))) / delta**2
    return RealizedVarianceSeries(
        variance_annualised=rv / delta,
        returns=blocks.sum(axis=1),
        interval_s=float(rv_interval_s),
        sample_interval_s=float(sample_interval_s),
        noise_var_bps2=noise * 1e8,
        measurement_error_var_rq=err_rq,
    )


@dataclass(frozen=True)
class RvBars:
    """Per-interval sufficient statistics of a regularly sampled log price, no correction.

    What :func:`realized_variance_series` needs of each interval, so that the series of
    many days can be assembled from small stored bars instead of rescanning quotes.

    Attributes
    ----------
    rv : sum of squared sample returns in the interval (decimal variance, not annualised).
    returns : interval log return (decimal).
    n_returns : sample returns in the interval.
    quarticity : sum of fourth powers of the sample returns.
    ac1 : sum of products of consecutive sample returns inside the interval.
    bipower : ``pi/2 sum |r_t||r_{t+1}|`` inside the interval (jump-robust variance).
    """

    rv: Float64Array
    returns: Float64Array
    n_returns: np.ndarray
    quarticity: Float64Array
    ac1: Float64Array
    bipower: Float64Array


def rv_bars(log_prices: Any, samples_per_interval: int) -> RvBars:
    """Cut a regular grid of log prices into intervals of ``samples_per_interval`` returns.

    ``log_prices`` holds ``n * samples_per_interval + 1`` points (the last interval's close
    included); a ragged tail is dropped.
    """
    logp = np.asarray(log_prices, dtype=np.float64)
    m = int(samples_per_interval)
    if m < 2:
        raise CalibrationError(f"an interval needs at least 2 returns, got {m}")
    if logp.ndim != 1 or not np.all(np.isfinite(logp)):
        raise CalibrationError("log prices must be a finite 1-d array")
    n_int = max(logp.size - 1, 0) // m
    r = np.diff(logp[: n_int * m + 1]).reshape(n_int, m)
    return RvBars(
        rv=np.sum(r**2, axis=1),
        returns=r.sum(axis=1),
        n_returns=np.full(n_int, m, dtype=np.int64),
        quarticity=np.sum(r**4, axis=1),
        ac1=np.sum(r[:, 1:] * r[:, :-1], axis=1),
        bipower=np.pi / 2.0 * np.sum(np.abs(r[:, 1:]) * np.abs(r[:, :-1]), axis=1),
    )


def series_from_bars(
    bars: RvBars,
    *,
    interval_s: float,
    sample_interval_s: float,
    noise_correction: str = "ac1",
    measure: str = "rv",
) -> RealizedVarianceSeries:
    """The realised-variance series of consecutive stored intervals (several days).

    Same estimator as :func:`realized_variance_series`: the i.i.d. noise variance
    ``-Cov(r_t, r_{t+1})`` is pooled over every pair of consecutive returns inside an
    interval (pairs straddling two intervals are not stored, a negligible loss) and
    ``2 m omega^2`` is subtracted from each interval's variance.

    ``measure="bipower"`` uses the bipower variation instead of the RV: it estimates the
    integrated (diffusive) variance without the jumps, which otherwise enter the series
    as isolated spikes that hide its persistence (Barndorff-Nielsen and Shephard 2004,
    "Power and bipower variation with stochastic volatility and jumps", J. Fin. Econ. 2).
    """
    if noise_correction not in ("ac1", "none"):
        raise CalibrationError(f"noise_correction must be 'ac1' or 'none'; got {noise_correction}")
    if measure not in ("rv", "bipower"):
        raise CalibrationError(f"measure must be 'rv' or 'bipower'; got {measure}")
    n = np.asarray(bars.n_returns, dtype=np.float64)
    if n.size == 0:
        raise CalibrationError("no realised-variance intervals: nothing to build a series from")
    if np.any(n < 2):
        raise CalibrationError("every interval needs at least 2 returns")
    pairs = float(np.sum(n - 1.0))
    noise = 0.0
    if noise_correction == "ac1":
        noise = max(-float(np.sum(bars.ac1)) / pairs, 0.0)
    delta = interval_s / SECONDS_PER_YEAR
    raw = bars.rv if measure == "rv" else bars.bipower
    rv = np.asarray(raw, dtype=np.float64) - 2.0 * n * noise
    err_rq = float(np.mean(2.0 / 3.0 * np.asarray(bars.quarticity, np.float64))) / delta**2
    return RealizedVarianceSeries(
        variance_annualised=rv / delta,
        returns=np.asarray(bars.returns, dtype=np.float64),
        interval_s=float(interval_s),
        sample_interval_s=float(sample_interval_s),
        noise_var_bps2=noise * 1e8,
        measurement_error_var_rq=err_rq,
    )


@dataclass(frozen=True)
class CirOlsFit:
    """Naive Euler OLS of a CIR on the RV series, for comparison only (biased: see module).

    Attributes
    ----------
    kappa : 1/yr; theta : annualised variance (None when the slope is exactly 0); xi :
        annualised vol of variance.
    n_floored : intervals whose RV was floored at 1 % of the mean to keep sqrt defined.
    r_squared : of the OLS (None when the target has no variation).
    """

    kappa: float
    theta: float | None
    xi: float
    half_life_s: float | None
    n_obs: int
    n_floored: int
    r_squared: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(jsonable(asdict(self)))


def fit_cir_ols_naive(
    ts_ns: Any,
    prices: Any,
    *,
    rv_interval_s: float = 300.0,
    sample_interval_s: float = 1.0,
    noise_correction: str = "ac1",
) -> CirOlsFit:
    """Euler-discretised CIR by OLS on RV, ignoring measurement error (the textbook recipe).

    ``(y_{k+1} - y_k)/sqrt(y_k) = kappa theta Delta / sqrt(y_k) - kappa Delta sqrt(y_k) + e``,
    ``xi = sd(e) / sqrt(Delta)``. Same RV series as :func:`fit_heston`.
    """
    series = realized_variance_series(
        ts_ns,
        prices,
        rv_interval_s=rv_interval_s,
        sample_interval_s=sample_interval_s,
        noise_correction=noise_correction,
    )
    y = series.variance_annualised
    if y.size < 10:
        raise CalibrationError(f"CIR OLS needs at least 10 RV intervals; got {y.size}")
    floor = 0.01 * max(float(np.mean(y)), 1e-300)
    n_floored = int(np.count_nonzero(y < floor))
    y = np.maximum(y, floor)
    delta = series.delta_years
    sq = np.sqrt(y[:-1])
    target = (y[1:] - y[:-1]) / sq
    design = np.column_stack([1.0 / sq, sq])
    beta, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ beta
    kappa = -float(beta[1]) / delta
    theta = -float(beta[0]) / float(beta[1]) if beta[1] != 0 else None
    ss_tot = float(np.sum((target - target.mean()) ** 2))
    return CirOlsFit(
        kappa=kappa,
        theta=theta,
        xi=float(np.std(resid, ddof=2)) / math.sqrt(delta),
        half_life_s=math.log(2.0) / kappa * SECONDS_PER_YEAR if kappa > 0 else None,
        n_obs=int(y.size),
        n_floored=n_floored,
        r_squared=1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else None,
    )

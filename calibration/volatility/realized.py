"""Realised measures: sampling, RV/BV/TQ, semivariance, two-scale RV, the BNS jump test.

Units (docs/architecture.md §4): returns are log returns in basis points; realised variances over a
window are in bps^2; rates are bps^2 per second; every ``sigma_*_bps`` is in bps per
sqrt(second); fields ending ``_annualised`` are decimal volatility on a 365-day year
(``sigma_annualised = sigma_bps * sqrt(365 * 86400) / 1e4``).

References
----------
Barndorff-Nielsen, O. E. and Shephard, N. (2004). Power and bipower variation with
stochastic volatility and jumps. J. Financial Econometrics 2, 1-37.
Barndorff-Nielsen, O. E. and Shephard, N. (2006). Econometrics of testing for jumps in
financial economics using bipower variation. J. Financial Econometrics 4, 1-30.
Huang, X. and Tauchen, G. (2005). The relative contribution of jumps to total price
variance. J. Financial Econometrics 3, 456-499 (ratio statistic with the max adjustment).
Zhang, L., Mykland, P. A. and Ait-Sahalia, Y. (2005). A tale of two time scales. JASA 100,
1394-1411.
Barndorff-Nielsen, O. E., Kinnebrock, S. and Shephard, N. (2010). Measuring downside risk:
realised semivariance. In Volatility and Time Series Econometrics, OUP.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from calibration.common.checks import finite_positive, sorted_ns
from calibration.errors import CalibrationError
from calibration.types import Float64Array

__all__ = [
    "SECONDS_PER_YEAR",
    "JumpTest",
    "SampledReturns",
    "TwoScaleRV",
    "bipower_variation",
    "clock_time_returns",
    "jsonable",
    "jump_test",
    "realized_semivariance",
    "realized_variance",
    "tripower_quarticity",
    "two_scale_realized_variance",
    "validate_prices",
    "volume_time_returns",
]

SECONDS_PER_YEAR = 365.0 * 86400.0
_BPS = 1e4
_MU1 = math.sqrt(2.0 / math.pi)  # E|Z|
# E|Z|^{4/3} for standard normal Z: 2^{2/3} Gamma(7/6) / Gamma(1/2)
_MU43 = 2.0 ** (2.0 / 3.0) * special.gamma(7.0 / 6.0) / special.gamma(0.5)
# Asymptotic variance constant of the BNS ratio statistic: pi^2/4 + pi - 5.
_THETA_BNS = math.pi**2 / 4.0 + math.pi - 5.0


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats to plain JSON values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


def annualise_sigma(sigma_bps: float) -> float:
    """bps per sqrt(second) -> decimal annualised volatility (365-day year)."""
    return sigma_bps * math.sqrt(SECONDS_PER_YEAR) / _BPS


def validate_prices(ts_ns: Any, prices: Any, *, min_points: int = 3) -> tuple[Any, Float64Array]:
    """Check a (ts_ns, price) series once at the boundary; return int64 ts and float prices.

    Raises
    ------
    CalibrationError
        Lengths differ, fewer than ``min_points`` points, timestamps not sorted, or a price
        that is not finite and positive.
    """
    ts = np.asarray(ts_ns, dtype=np.int64)
    px = np.asarray(prices, dtype=np.float64)
    if ts.ndim != 1 or px.ndim != 1 or ts.shape != px.shape:
        raise CalibrationError(
            f"ts_ns and prices must be 1-d of equal length; got {ts.shape} and {px.shape}"
        )
    if ts.size < min_points:
        raise CalibrationError(f"need at least {min_points} prices; got {ts.size}")
    return sorted_ns("ts_ns", ts), finite_positive("prices", px)


@dataclass(frozen=True)
class SampledReturns:
    """Log returns (bps) sampled on a clock-time or volume-time grid.

    Attributes
    ----------
    returns_bps : log returns in bps, one per bar.
    bar_end_ns : timestamp (ns) of the price closing each bar.
    duration_s : seconds spanned by the sampled bars.
    clock : ``"clock"`` (interval in seconds) or ``"volume"`` (interval in size units).
    interval : bar length in seconds or in traded volume.
    """

    returns_bps: Float64Array
    bar_end_ns: Any
    duration_s: float
    clock: str
    interval: float

    @property
    def label(self) -> str:
        """Short scale name, e.g. ``"10s"`` or ``"vol2.5"``."""
        if self.clock == "clock":
            return f"{self.interval:g}s"
        return f"vol{self.interval:g}"


def clock_time_returns(ts_ns: Any, prices: Any, interval_s: float) -> SampledReturns:
    """Previous-tick sampling on a regular clock grid starting at the first print.

    The price at grid time ``t0 + k * interval_s`` is the last price with timestamp
    ``<= t0 + k * interval_s``. Only complete intervals are used.

    Parameters
    ----------
    ts_ns : int64 nanoseconds, sorted. prices : positive floats.
    interval_s : float — bar length in seconds.
    """
    ts, px = validate_prices(ts_ns, prices, min_points=2)
    if not interval_s > 0:
        raise CalibrationError(f"interval_s must be positive; got {interval_s}")
    step_ns = round(interval_s * 1e9)
    n_bars = int((int(ts[-1]) - int(ts[0])) // step_ns)
    if n_bars < 1:
        raise CalibrationError(
            f"the series spans {(int(ts[-1]) - int(ts[0])) / 1e9:.3f} s, "
            f"shorter than one {interval_s:g} s interval"
        )
    grid = int(ts[0]) + step_ns * np.arange(n_bars + 1, dtype=np.int64)
    idx = np.searchsorted(ts, grid, side="right") - 1
    logp = np.log(px[idx])
    return SampledReturns(
        returns_bps=np.diff(logp) * _BPS,
        bar_end_ns=grid[1:],
        duration_s=n_bars * step_ns / 1e9,
        clock="clock",
        interval=float(interval_s),
    )


def volume_time_returns(
    ts_ns: Any, prices: Any, sizes: Any, volume_per_bar: float
) -> SampledReturns:
    """Sample the price each time another ``volume_per_bar`` units have traded.

    The bar closes at the trade whose cumulative size first reaches ``k * volume_per_bar``;
    volume-time returns are closer to Gaussian than clock-time ones (Ane and Geman 2000).
    """
    ts, px = validate_prices(ts_ns, prices, min_points=2)
    size = np.asarray(sizes, dtype=np.float64)
    if size.shape != px.shape:
        raise CalibrationError(f"sizes must match prices; got {size.shape} vs {px.shape}")
    if not np.all(np.isfinite(size) & (size >= 0.0)):
        raise CalibrationError("sizes must be finite and non-negative")
    if not volume_per_bar > 0:
        raise CalibrationError(f"volume_per_bar must be positive; got {volume_per_bar}")
    cum = np.cumsum(size)
    n_bars = int(cum[-1] // volume_per_bar)
    if n_bars < 2:
        raise CalibrationError(
            f"only {cum[-1]:g} units traded: fewer than two bars of {volume_per_bar:g}"
        )
    targets = volume_per_bar * np.arange(1, n_bars + 1, dtype=np.float64)
    idx = np.concatenate(([0], np.searchsorted(cum, targets, side="left")))
    idx = np.minimum(idx, px.size - 1)
    logp = np.log(px[idx])
    return SampledReturns(
        returns_bps=np.diff(logp) * _BPS,
        bar_end_ns=ts[idx[1:]],
        duration_s=(int(ts[idx[-1]]) - int(ts[0])) / 1e9,
        clock="volume",
        interval=float(volume_per_bar),
    )


def _as_returns(returns_bps: Any, min_n: int) -> Float64Array:
    r = np.asarray(returns_bps, dtype=np.float64)
    if r.ndim != 1 or r.size < min_n:
        raise CalibrationError(f"need a 1-d array of at least {min_n} returns; got {r.shape}")
    if not np.all(np.isfinite(r)):
        raise CalibrationError("returns must be finite")
    return r


def realized_variance(returns_bps: Any) -> float:
    """Realised variance ``sum r_i^2`` (bps^2 over the window). Estimates QV = IV + jumps."""
    r = _as_returns(returns_bps, 1)
    return float(np.dot(r, r))


def bipower_variation(returns_bps: Any) -> float:
    """Bipower variation ``mu1^-2 n/(n-1) sum |r_i||r_{i-1}|`` (bps^2); jump-robust IV.

    The ``n/(n-1)`` factor corrects for the lost term (BNS 2006, eq. 5).
    """
    r = np.abs(_as_returns(returns_bps, 2))
    n = r.size
    return float(np.dot(r[1:], r[:-1]) * n / (n - 1) / _MU1**2)


def tripower_quarticity(returns_bps: Any) -> float:
    """Tripower quarticity, jump-robust estimate of ``int sigma^4 dt`` in window units.

    ``n * mu_{4/3}^-3 * n/(n-2) * sum |r_i r_{i-1} r_{i-2}|^{4/3}`` (bps^4, scaled so that
    ``TQ / BV^2`` is the scale-free ratio the BNS test needs).
    """
    a = np.abs(_as_returns(returns_bps, 3)) ** (4.0 / 3.0)
    n = a.size
    return float(n * n / (n - 2) * np.sum(a[2:] * a[1:-1] * a[:-2]) / _MU43**3)


def realized_semivariance(returns_bps: Any) -> tuple[float, float]:
    """Upside and downside realised semivariance ``(sum r^2 1{r>0}, sum r^2 1{r<0})``, bps^2."""
    r = _as_returns(returns_bps, 1)
    sq = r * r
    return float(sq[r > 0].sum()), float(sq[r < 0].sum())


@dataclass(frozen=True)
class JumpTest:
    """BNS ratio jump test (Huang-Tauchen max-adjusted form) on one return series.

    Attributes
    ----------
    statistic : z statistic, N(0,1) under no jumps; large positive means jumps.
    p_value : one-sided p-value ``1 - Phi(statistic)``.
    rejects : ``p_value < alpha``.
    tq_ratio : ``TQ / BV^2`` (None when BV is 0).
    relative_jump : ``(RV - BV) / RV`` (can be negative in finite samples).
    jump_share : ``max(RV - BV, 0) / RV`` in [0, 1].
    jump_variation_bps2 : ``max(RV - BV, 0)``.
    up_jump_variation_bps2, down_jump_variation_bps2 : ``max(RS± - BV/2, 0)`` (BKS 2010).
    signed_jump_variation_bps2 : ``RS+ - RS-`` (Patton and Sheppard 2015); > 0 rally jumps.
    signed_jump_share : signed jump variation / RV, in [-1, 1].
    """

    statistic: float
    p_value: float
    rejects: bool
    alpha: float
    n_obs: int
    rv_bps2: float
    bv_bps2: float
    tq_ratio: float | None
    relative_jump: float
    jump_share: float
    jump_variation_bps2: float
    up_jump_variation_bps2: float
    down_jump_variation_bps2: float
    signed_jump_variation_bps2: float
    signed_jump_share: float

    def to_dict(self) -> dict[str, Any]:
        return dict(jsonable(asdict(self)))


def jump_test(returns_bps: Any, *, alpha: float = 0.01) -> JumpTest:
    """Barndorff-Nielsen-Shephard (2006) ratio test for jumps over the window.

    Parameters
    ----------
    returns_bps : equally spaced (in clock or volume time) log returns, bps; at least 10.
    alpha : test size for ``rejects``.

    Notes
    -----
    ``z = (1 - BV/RV) / sqrt(theta / n * max(1, TQ / BV^2))`` with
    ``theta = pi^2/4 + pi - 5``; ``z -> N(0, 1)`` under a continuous semimartingale.
    """
    r = _as_returns(returns_bps, 10)
    rv = realized_variance(r)
    if rv <= 0.0:
        raise CalibrationError("all returns are zero: the price never moved")
    bv = bipower_variation(r)
    tq = tripower_quarticity(r)
    n = r.size
    tq_ratio = tq / bv**2 if bv > 0 else math.inf
    rel = 1.0 - bv / rv
    z = rel / math.sqrt(_THETA_BNS / n * max(1.0, tq_ratio))
    up, down = realized_semivariance(r)
    jv = max(rv - bv, 0.0)
    return JumpTest(
        statistic=float(z),
        p_value=float(stats.norm.sf(z)),
        rejects=bool(stats.norm.sf(z) < alpha),
        alpha=float(alpha),
        n_obs=int(n),
        rv_bps2=rv,
        bv_bps2=bv,
        tq_ratio=float(tq_ratio) if math.isfinite(tq_ratio) else None,
        relative_jump=float(rel),
        jump_share=float(jv / rv),
        jump_variation_bps2=float(jv),
        up_jump_variation_bps2=float(max(up - bv / 2.0, 0.0)),
        down_jump_variation_bps2=float(max(down - bv / 2.0, 0.0)),
        signed_jump_variation_bps2=float(up - down),
        signed_jump_share=float((up - down) / rv),
    )


@dataclass(frozen=True)
class TwoScaleRV:
    """Two-scale realised variance (Zhang, Mykland and Ait-Sahalia 2005) on tick data.

    Attributes
    ----------
    tsrv_bps2 : noise-robust integrated variance over the window, bps^2.
    rv_all_bps2 : RV of every tick return (noise-dominated), bps^2.
    noise_var_bps2 : variance of the additive microstructure noise on log price, bps^2,
        ``(RV_all - TSRV) / (2 n)``.
    sigma_bps, sigma_stderr_bps : ``sqrt(TSRV / duration)``, bps per sqrt(second).
    """

    tsrv_bps2: float
    tsrv_stderr_bps2: float
    rv_all_bps2: float
    noise_var_bps2: float
    n_ticks: int
    n_subgrids: int
    duration_s: float
    sigma_bps: float
    sigma_stderr_bps: float
    sigma_annualised: float

    def to_dict(self) -> dict[str, Any]:
        return dict(jsonable(asdict(self)))


def two_scale_realized_variance(
    ts_ns: Any, prices: Any, *, n_subgrids: int | None = None
) -> TwoScaleRV:
    """Two-scale RV from every tick (trade or mid change), robust to i.i.d. noise.

    Parameters
    ----------
    ts_ns, prices : the tick series (ns, positive prices), sorted by time.
    n_subgrids : K, the number of sparse subgrids; default ``ceil(n^(2/3))`` (ZMA's rate
        with constant c = 1).

    Notes
    -----
    ``TSRV = (RV_avg^(K) - (nbar/n) RV_all) / (1 - nbar/n)`` with ``nbar = (n-K+1)/K``;
    ``RV_avg^(K)`` is the mean over the K offset subgrids of the RV of lag-K returns,
    which equals ``sum (x_{i+K} - x_i)^2 / K``. The standard error uses ZMA's asymptotic
    variance ``n^{-1/3} (8 omega^4 / c^2 + c (4/3) T int sigma^4)`` with constant
    volatility for the quarticity.
    """
    ts, px = validate_prices(ts_ns, prices, min_points=20)
    x = np.log(px) * _BPS
    n = x.size - 1
    k = int(n_subgrids) if n_subgrids is not None else math.ceil(n ** (2.0 / 3.0))
    if not 2 <= k < n // 2:
        raise CalibrationError(f"n_subgrids must be in [2, {n // 2}); got {k}")
    duration = (int(ts[-1]) - int(ts[0])) / 1e9
    if duration <= 0:
        raise CalibrationError("the ticks span zero time")
    d1 = np.diff(x)
    rv_all = float(np.dot(d1, d1))
    dk = x[k:] - x[:-k]
    rv_avg = float(np.dot(dk, dk)) / k
    nbar = (n - k + 1) / k
    tsrv = (rv_avg - nbar / n * rv_all) / (1.0 - nbar / n)
    if tsrv <= 0.0:
        raise CalibrationError(
            "two-scale RV is not positive: noise swamps the signal; use more subgrids"
        )
    noise = max((rv_all - tsrv) / (2.0 * n), 0.0)
    c = k / n ** (2.0 / 3.0)
    quarticity = tsrv**2 / duration  # int sigma^4 dt under constant volatility
    avar = n ** (-1.0 / 3.0) * (8.0 * noise**2 / c**2 + c * 4.0 / 3.0 * duration * quarticity)
    se = math.sqrt(avar)
    sigma = math.sqrt(tsrv / duration)
    return TwoScaleRV(
        tsrv_bps2=tsrv,
        tsrv_stderr_bps2=se,
        rv_all_bps2=rv_all,
        noise_var_bps2=noise,
        n_ticks=int(x.size),
        n_subgrids=k,
        duration_s=duration,
        sigma_bps=sigma,
        sigma_stderr_bps=se / (2.0 * duration * sigma),
        sigma_annualised=annualise_sigma(sigma),
    )

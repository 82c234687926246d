"""Burst toxicity: the extra adverse selection a passive fill suffers per unit of excess
Hawkes intensity, which sets how far the quoter steps back in a burst.

For every aggressive trade of side ``s`` at ``t`` the causal intensity of its own side
just before it, from the fitted bivariate exponential kernel
``lambda_s(t-) = mu_s + sum_j K_sj beta sum_{t_k < t, side j} exp(-beta (t - t_k))``,
is read over its stationary mean ``((I - K)^-1 mu)_s``: the same ratio the live trader
computes (``trader.strategy.live_inputs``). The passive side's markout over ``horizon_s``,
``adverse = s (mid(t + h) - mid(t-)) / mid(t-)`` in bps (positive: the passive side
lost), is regressed on ``[1, max(ratio - 1, 0)]`` by OLS with Newey-West standard errors.
The slope is the published toxicity, bps per unit excess intensity: a fill taken when
the intensity runs at twice its mean costs ``slope`` bps more than a calm one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import statsmodels.api as sm
from numba import njit

from calibration.common.asof import prevailing_index
from calibration.errors import CalibrationError
from calibration.types import Float64Array

__all__ = ["BurstToxicity", "causal_intensity_ratio", "fit_burst_toxicity"]

MIN_TRADES = 200
"""Fewest trades with a markout the regression needs."""


@dataclass(frozen=True)
class BurstToxicity:
    """Result of :func:`fit_burst_toxicity`.

    Attributes
    ----------
    slope_bps_per_excess : float
        Extra adverse selection per unit excess intensity ratio, bps.
    slope_stderr_bps : float
        Its Newey-West standard error, bps.
    intercept_bps : float
        Adverse selection of a calm fill (excess 0), bps.
    horizon_s : float
        Markout horizon, seconds.
    mean_excess : float
        Mean of ``max(ratio - 1, 0)`` over the trades.
    n_obs : int
        Trades in the regression.
    """

    slope_bps_per_excess: float
    slope_stderr_bps: float
    intercept_bps: float
    horizon_s: float
    mean_excess: float
    n_obs: int

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@njit(cache=True)
def _ratios(times_s: np.ndarray, marks: np.ndarray, mu: np.ndarray, k: np.ndarray,
            beta: float, base: np.ndarray) -> np.ndarray:
    out = np.empty(times_s.shape[0])
    exc0 = 0.0
    exc1 = 0.0
    t_last = times_s[0] if times_s.shape[0] else 0.0
    seen = np.full(2, -np.inf)  # time of each mark's last event: a sweep's prints are one
    for i in range(times_s.shape[0]):
        t = times_s[i]
        if t > t_last:
            d = math.exp(-beta * (t - t_last))
            exc0 *= d
            exc1 *= d
            t_last = t
        j = marks[i]
        out[i] = (mu[j] + (exc0 if j == 0 else exc1)) / base[j]
        if t == seen[j]:
            continue
        seen[j] = t
        exc0 += beta * k[0, j]
        exc1 += beta * k[1, j]
    return out


def causal_intensity_ratio(
    times_s: npt.ArrayLike, marks: npt.ArrayLike, mu: npt.ArrayLike, branching: npt.ArrayLike,
    decay_per_s: float,
) -> Float64Array:
    """Each event's own-component intensity just before it over its stationary mean.

    ``times_s`` sorted seconds, ``marks`` 0 (buy) / 1 (sell). Prints with the same time
    and mark are one event (one aggressive order sweeping levels), as the Hawkes fit
    merges them; events at one time see each other only after that time.
    """
    t = np.asarray(times_s, dtype=np.float64)
    m = np.asarray(marks, dtype=np.int64)
    mu_v = np.asarray(mu, dtype=np.float64)
    k = np.asarray(branching, dtype=np.float64)
    if mu_v.shape != (2,) or k.shape != (2, 2) or not decay_per_s > 0:
        raise CalibrationError("the burst ratio needs a bivariate kernel (mu 2, K 2x2, decay > 0)")
    if float(np.max(np.abs(np.linalg.eigvals(k)))) >= 1.0:
        raise CalibrationError("the kernel is explosive (spectral radius >= 1): no stationary mean")
    base = np.linalg.solve(np.eye(2) - k, mu_v)
    return np.asarray(_ratios(t, m, mu_v, k, float(decay_per_s), base), dtype=np.float64)


def fit_burst_toxicity(
    trade_ts_ns: npt.ArrayLike,
    trade_side: npt.ArrayLike,
    mid_ts_ns: npt.ArrayLike,
    mid: npt.ArrayLike,
    *,
    mu: npt.ArrayLike,
    branching: npt.ArrayLike,
    decay_per_s: float,
    horizon_s: float = 5.0,
) -> BurstToxicity:
    """Regress the passive side's markout on the excess intensity (module docstring).

    Parameters
    ----------
    trade_ts_ns, trade_side : arrays
        Trades (ns, sorted; +1 buy / -1 sell aggressor).
    mid_ts_ns, mid : arrays
        Mid updates (ns, sorted) and the mid after each, price units.
    mu, branching, decay_per_s
        The fitted kernel (buy, sell): baselines 1/s, 2x2 branching matrix, decay 1/s.
    horizon_s : float
        Markout horizon, seconds.

    Raises
    ------
    CalibrationError
        Too few trades with a markout, no variation in the excess, or a bad kernel.
    """
    ts = np.asarray(trade_ts_ns, dtype=np.int64)
    side = np.asarray(trade_side, dtype=np.int64)
    q_ts = np.asarray(mid_ts_ns, dtype=np.int64)
    q_mid = np.asarray(mid, dtype=np.float64)
    if ts.size == 0 or q_ts.size == 0:
        raise CalibrationError("burst toxicity needs trades and mids")
    ratio = causal_intensity_ratio((ts - ts[0]) / 1e9, (side < 0).astype(np.int64), mu,
                                   branching, decay_per_s)
    before = prevailing_index(q_ts, ts, strict=True)
    after = prevailing_index(q_ts, ts + round(horizon_s * 1e9), strict=False)
    ok = (before >= 0) & (ts + round(horizon_s * 1e9) <= q_ts[-1])
    if ok.sum() < MIN_TRADES:
        raise CalibrationError(
            f"burst toxicity needs {MIN_TRADES} trades with a {horizon_s:g} s markout, "
            f"got {int(ok.sum())}"
        )
    m0, m1 = q_mid[before[ok]], q_mid[after[ok]]
    adverse = side[ok] * (m1 - m0) / m0 * 1e4
    excess = np.maximum(ratio[ok] - 1.0, 0.0)
    if float(np.std(excess)) <= 0.0:
        raise CalibrationError("the intensity never exceeded its mean: no burst to measure")
    lags = max(1, round(4 * (excess.size / 100.0) ** (2.0 / 9.0)))
    fit = sm.OLS(adverse, sm.add_constant(excess)).fit(cov_type="HAC",
                                                      cov_kwds={"maxlags": lags})
    return BurstToxicity(
        slope_bps_per_excess=float(fit.params[1]),
        slope_stderr_bps=float(fit.bse[1]),
        intercept_bps=float(fit.params[0]),
        horizon_s=float(horizon_s),
        mean_excess=float(np.mean(excess)),
        n_obs=int(excess.size),
    )

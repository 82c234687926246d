"""Newey-West (HAC) standard errors for means and M-estimators of overlapping event series.

Markouts and short-horizon mid changes are measured over windows that overlap from one
event to the next, and order flow is persistent, so consecutive observations are
correlated. The plain i.i.d. standard error is then far too small. These helpers wrap
statsmodels' Bartlett-kernel HAC estimator (Newey & West, 1987) and choose the lag from
the overlap itself.
"""

from __future__ import annotations

import math

import numpy as np
from statsmodels.stats.sandwich_covariance import S_hac_simple

from calibration.errors import CalibrationError
from calibration.types import Float64Array

__all__ = ["hac_mean", "hac_score_covariance", "newey_west_rule_lags", "overlap_lags"]

#: Upper bound on the kernel width, as a fraction of the sample, so the estimator keeps
#: enough effectively independent blocks to be meaningful.
MAX_LAG_FRACTION = 0.25


def newey_west_rule_lags(n_obs: int) -> int:
    """Newey-West (1994) plug-in lag for a weakly dependent series, floor(4 (n/100)^(2/9)).

    Parameters
    ----------
    n_obs : int
        Number of observations.

    Returns
    -------
    int
        Number of lags (>= 0).
    """
    if n_obs <= 1:
        return 0
    return math.floor(4.0 * (n_obs / 100.0) ** (2.0 / 9.0))


def overlap_lags(event_times_s: Float64Array, horizon_s: float, *, quantile: float = 0.9) -> int:
    """HAC lag that spans the overlap of horizon-``horizon_s`` windows between events.

    Two events whose measurement windows overlap share part of the same price path, so
    their outcomes are correlated up to ``horizon_s`` apart in time. The lag (in events)
    is the ``quantile`` of the number of later events that fall within ``horizon_s`` of
    each event (a high quantile rather than the mean because flow is bursty), plus the
    Newey-West rule lag for the persistence that outlives the overlap, capped at
    ``MAX_LAG_FRACTION`` of the sample.

    Parameters
    ----------
    event_times_s : Float64Array
        Sorted event times, seconds.
    horizon_s : float
        Measurement horizon of each event's outcome, seconds.
    quantile : float
        Quantile of the per-event overlap count used as the lag.

    Returns
    -------
    int
        Number of lags (>= 0).
    """
    n_obs = int(event_times_s.size)
    if n_obs <= 1:
        return 0
    ends = np.searchsorted(event_times_s, event_times_s + horizon_s, side="right")
    overlap = ends - np.arange(n_obs) - 1
    lag = math.ceil(float(np.quantile(overlap, quantile))) + newey_west_rule_lags(n_obs)
    return int(min(lag, max(int(MAX_LAG_FRACTION * n_obs), 1)))


def hac_mean(values: Float64Array, n_lags: int) -> tuple[float, float]:
    """Sample mean and its Newey-West (Bartlett kernel) standard error.

    Parameters
    ----------
    values : Float64Array
        Observations in time order (any unit; the result is in the same unit).
    n_lags : int
        Kernel width in observations.

    Returns
    -------
    mean : float
        Sample mean.
    stderr : float
        HAC standard error of the mean.

    Raises
    ------
    CalibrationError
        With fewer than two observations.
    """
    n_obs = int(values.size)
    if n_obs < 2:
        raise CalibrationError(f"need at least 2 observations for a HAC mean, got {n_obs}")
    mean = float(np.mean(values))
    centred = values - mean
    long_run = float(S_hac_simple(centred, nlags=min(n_lags, n_obs - 1))[0, 0])
    return mean, math.sqrt(max(long_run, 0.0)) / n_obs


def hac_score_covariance(scores: Float64Array, n_lags: int) -> Float64Array:
    """Long-run covariance of per-observation scores, sum over the sample (the sandwich "meat").

    Parameters
    ----------
    scores : Float64Array
        Shape (n_obs, k): per-observation gradients of the objective, in time order.
    n_lags : int
        Kernel width in observations.

    Returns
    -------
    Float64Array
        Shape (k, k).
    """
    n_obs = scores.shape[0]
    meat = S_hac_simple(scores, nlags=min(n_lags, max(n_obs - 1, 0)))
    return np.asarray(meat, dtype=np.float64)

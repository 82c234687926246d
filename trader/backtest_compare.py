"""Two backtests of the same events compared: differences and their paired standard errors.

Two param sets replayed on the same events face the same market, so their P&L per
interval are strongly correlated: the standard error of a difference computed from the
paired per-interval differences is far smaller than the one that treats the runs as
independent (``sqrt(se_a^2 + se_b^2)``), and it is the one a publish gate or a
"does calibration pay" table needs (docs/architecture.md §5).

Units: P&L in quote currency; times in int64 ns UTC; scores dimensionless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from calibration.common.newey_west import hac_mean, newey_west_rule_lags

__all__ = [
    "PairedDifference",
    "bucket_pnl",
    "paired_mean_difference",
    "paired_score_difference",
]


@dataclass(frozen=True)
class PairedDifference:
    """``a - b`` of a statistic of two runs, with its standard error.

    ``stderr`` is None when it cannot be estimated (fewer than two common intervals);
    ``n`` counts the common intervals.
    """

    diff: float | None
    stderr: float | None
    n: int


def bucket_pnl(
    equity_ts_ns: np.ndarray, equity: np.ndarray, bucket_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """P&L per ``bucket_ns`` interval of an equity curve starting from 0.

    The curve is read at its last sample of each bucket ``(ts - 1) // bucket_ns`` (a
    sample on the boundary closes the bucket before it, as in
    ``trader.backtesting.risk_adjusted_score``) and differenced.

    Returns
    -------
    buckets : int64 array
        Bucket index ``(ts - 1) // bucket_ns`` of each interval.
    pnl : float64 array
        Equity change over each interval, quote currency.
    """
    ts = np.asarray(equity_ts_ns, dtype=np.int64)
    eq = np.asarray(equity, dtype=np.float64)
    if ts.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    buckets = (ts - 1) // bucket_ns
    last = np.flatnonzero(np.diff(buckets, append=buckets[-1] + 1) != 0)
    return buckets[last], np.diff(np.concatenate(([0.0], eq[last])))


def _aligned(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The two P&L series on their common buckets (same events give the same buckets)."""
    common, ia, ib = np.intersect1d(a[0], b[0], assume_unique=True, return_indices=True)
    if common.size == a[0].size == b[0].size:
        return a[1], b[1]
    # Re-difference the cumulated P&L on the common grid, so no P&L is dropped.
    ca, cb = np.cumsum(a[1])[ia], np.cumsum(b[1])[ib]
    return np.diff(np.concatenate(([0.0], ca))), np.diff(np.concatenate(([0.0], cb)))


def paired_mean_difference(pnl_a: np.ndarray, pnl_b: np.ndarray) -> PairedDifference:
    """Mean of ``pnl_a - pnl_b`` per interval and its Newey-West standard error.

    Inputs are P&L per interval on the same intervals (e.g. hourly), quote currency.
    """
    d = np.asarray(pnl_a, float) - np.asarray(pnl_b, float)
    n = int(d.size)
    if n == 0:
        return PairedDifference(None, None, 0)
    if n < 2:
        return PairedDifference(float(d[0]), None, n)
    mean, se = hac_mean(d, newey_west_rule_lags(n))
    return PairedDifference(float(mean), float(se), n)


def paired_score_difference(
    ts_a: np.ndarray, equity_a: np.ndarray, ts_b: np.ndarray, equity_b: np.ndarray,
    *, bucket_ns: int,
) -> PairedDifference:
    """Difference of the information ratios ``mean / std`` of two runs' bucket P&L.

    The ratio of each run is the one ``trader.backtesting.risk_adjusted_score`` reports
    (P&L per ``bucket_ns`` interval; 0 for a run whose P&L never moved). Its standard
    error is the delta method of Jobson and Korkie (1981) as corrected by Memmel (2003),
    with the first-order term made robust to autocorrelation (Newey-West on the paired
    standardised P&L, as the single-run score's error is):

    ``var(S_a - S_b) = var_hac(mean(x/s_x - y/s_y)) + (S_a^2 + S_b^2 - 2 S_a S_b rho^2) / (2n)``

    with ``rho`` the correlation of the two bucket P&L series. A run with constant P&L
    contributes no noise (its ratio is fixed at 0).
    """
    x, y = _aligned(bucket_pnl(ts_a, equity_a, bucket_ns), bucket_pnl(ts_b, equity_b, bucket_ns))
    n = int(x.size)
    if n < 2:
        return PairedDifference(None, None, n)
    sx, sy = float(np.std(x, ddof=1)), float(np.std(y, ddof=1))
    mx, my = float(np.mean(x)), float(np.mean(y))
    if (sx == 0.0 and mx != 0.0) or (sy == 0.0 and my != 0.0):
        return PairedDifference(None, None, n)  # constant non-zero P&L: no risk measure
    za = x / sx if sx > 0 else np.zeros(n)
    zb = y / sy if sy > 0 else np.zeros(n)
    score_a, score_b = (mx / sx if sx > 0 else 0.0), (my / sy if sy > 0 else 0.0)
    rho = float(np.corrcoef(x, y)[0, 1]) if sx > 0 and sy > 0 else 0.0
    _, se_first = hac_mean(za - zb, newey_west_rule_lags(n))
    second = (score_a**2 + score_b**2 - 2.0 * score_a * score_b * rho**2) / (2.0 * n)
    return PairedDifference(score_a - score_b, math.sqrt(se_first**2 + max(second, 0.0)), n)

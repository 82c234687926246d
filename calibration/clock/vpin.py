"""VPIN: volume-synchronised probability of informed trading over volume buckets.

Buckets are of fixed size or sized by an hour-of-week :class:`VolumeProfile`; volume is
split into buy and sell by the aggressor side or by bulk volume classification. Times are
ns UTC, volumes in base units, VPIN dimensionless in [0, 1]. Re-exported by
:mod:`calibration.clock.volume_clock`.

References
----------
Easley, D., Lopez de Prado, M. M., O'Hara, M. (2012). Flow toxicity and liquidity in a
high-frequency world. Review of Financial Studies 25(5), 1457-1493.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from calibration.clock.week_profile import VolumeProfile, check_sizes, check_ts
from calibration.errors import CalibrationError
from calibration.types import Float64Array

__all__ = [
    "VPINResult",
    "vpin",
]

# VPIN refuses sample/bucket combinations that would make absurdly many buckets.
_MAX_BUCKETS = 2_000_000


@dataclass(frozen=True)
class VPINResult:
    """VPIN over volume buckets (Easley, Lopez de Prado, O'Hara 2012).

    Attributes
    ----------
    vpin : tuple of float
        VPIN after each bucket once ``window`` buckets exist (dimensionless, in [0, 1]).
    bucket_end_ns : tuple of int
        Time (ns UTC) of the trade that completed each VPIN bucket.
    bucket_volumes : tuple of float
        Size of each bucket (base units); constant unless a profile sized them.
    latest : float
        Last VPIN value.
    latest_percentile : float
        Empirical CDF of the VPIN series at the latest value, in [0, 1].
    window : int
        Buckets per VPIN value.
    n_buckets : int
        Completed buckets.
    classification : str
        'side' (aggressor side given) or 'bvc' (bulk volume classification).
    n_obs : int
        Trades used.
    """

    vpin: tuple[float, ...]
    bucket_end_ns: tuple[int, ...]
    bucket_volumes: tuple[float, ...]
    latest: float
    latest_percentile: float
    window: int
    n_buckets: int
    classification: str
    n_obs: int

    def to_dict(self) -> dict[str, Any]:
        """Summary (the series itself stays on the object: it can be long)."""
        series = np.asarray(self.vpin)
        return {
            "latest": float(self.latest),
            "latest_percentile": float(self.latest_percentile),
            "mean": float(series.mean()),
            "p50": float(np.quantile(series, 0.5)),
            "p95": float(np.quantile(series, 0.95)),
            "window": self.window,
            "n_buckets": self.n_buckets,
            "mean_bucket_volume": float(np.mean(self.bucket_volumes)),
            "classification": self.classification,
            "n_obs": self.n_obs,
        }


def _bulk_classify(
    ts: np.ndarray, price: Float64Array, sizes: Float64Array, bar_s: float
) -> tuple[np.ndarray, Float64Array, Float64Array]:
    """Bulk volume classification on time bars: buy share = Phi(dlogP / sd(dlogP))."""
    bar = (ts - ts[0]) // round(bar_s * 1e9)
    starts = np.flatnonzero(np.r_[True, np.diff(bar) != 0])
    ends = np.r_[starts[1:], ts.size] - 1
    bar_volume = np.add.reduceat(sizes, starts)
    log_close = np.log(price[ends])
    change = np.diff(log_close, prepend=np.log(price[0]))
    sd = float(np.std(change[1:])) if change.size > 2 else 0.0
    buy_share = stats.norm.cdf(change / sd) if sd > 0 else np.full(change.size, 0.5)
    return ts[ends], bar_volume, bar_volume * buy_share


def vpin(
    ts_ns: Any,
    price: Any,
    size: Any,
    side: Any = None,
    *,
    bucket_volume: float | VolumeProfile,
    window: int = 50,
    bucket_frac: float = 0.1,
    bucket_horizon_s: float = 3600.0,
    bar_s: float = 1.0,
) -> VPINResult:
    """Volume-synchronised probability of informed trading over volume buckets.

    Parameters
    ----------
    ts_ns, price, size : arrays
        Trades: ns UTC (sorted), price (> 0), size (base units, >= 0).
    side : array of {+1, -1}, optional
        Aggressor side. Without it, volume is split by bulk volume classification on
        ``bar_s``-second bars (buy share = standard normal CDF of the bar's log price change
        over its standard deviation).
    bucket_volume : float or VolumeProfile
        Fixed bucket size (base units), or a profile: each bucket then holds
        ``bucket_frac`` of the volume the profile expects over ``bucket_horizon_s`` from the
        bucket's start, so the clock speeds up in busy sessions.
    window : int
        Buckets per VPIN value (the paper uses 50).

    Returns
    -------
    VPINResult

    Notes
    -----
    ``VPIN_k = sum_{j=k-n+1..k} |V_j^B - V_j^S| / sum_{j=k-n+1..k} V_j``. Trades are split
    across bucket boundaries in proportion to their size.
    """
    ts = check_ts(ts_ns)
    if ts.size < 2:
        raise CalibrationError(f"VPIN needs trades; got {ts.size}")
    sizes = check_sizes(size, ts.size)
    prices = np.asarray(price, dtype=np.float64)
    if prices.shape != ts.shape or not np.all(np.isfinite(prices) & (prices > 0)):
        raise CalibrationError("price must be finite, > 0 and the same length as ts_ns")
    if window < 1:
        raise CalibrationError(f"window must be >= 1, got {window}")
    if side is not None:
        sides = np.asarray(side)
        if sides.shape != ts.shape or not np.all(np.isin(sides, (-1, 1))):
            raise CalibrationError("side must be +1 (buy aggressor) or -1 for every trade")
        unit_ts, unit_vol, unit_buy = ts, sizes, np.where(sides > 0, sizes, 0.0)
        classification = "side"
    else:
        if not bar_s > 0:
            raise CalibrationError(f"bar_s must be > 0, got {bar_s}")
        unit_ts, unit_vol, unit_buy = _bulk_classify(ts, prices, sizes, bar_s)
        classification = "bvc"

    cum_vol = np.cumsum(unit_vol)
    total = float(cum_vol[-1])
    if total <= 0:
        raise CalibrationError("total traded volume is zero")
    if isinstance(bucket_volume, VolumeProfile):
        if not (bucket_frac > 0 and bucket_horizon_s > 0):
            raise CalibrationError("bucket_frac and bucket_horizon_s must be > 0")
        horizon_ns = round(bucket_horizon_s * 1e9)
        # Bucket size if a bucket started at each unit: frac of the next horizon's volume.
        size_at = bucket_frac * (
            bucket_volume.cumulative_volume(unit_ts + horizon_ns)
            - bucket_volume.cumulative_volume(unit_ts)
        )
        if not np.all(size_at > 0):
            raise CalibrationError("the profile expects zero volume somewhere in the sample")
        edges_list: list[float] = []
        edge = 0.0
        while True:
            step = float(
                size_at[min(int(np.searchsorted(cum_vol, edge, "right")), size_at.size - 1)]
            )
            if edge + step > total:
                break
            if len(edges_list) >= _MAX_BUCKETS:
                raise CalibrationError(
                    f"bucket_frac {bucket_frac} makes over {_MAX_BUCKETS} buckets"
                )
            edge += step
            edges_list.append(edge)
        edges = np.asarray(edges_list)
    else:
        if not (np.isfinite(bucket_volume) and bucket_volume > 0):
            raise CalibrationError(f"bucket_volume must be finite and > 0, got {bucket_volume}")
        n_full = int(total // bucket_volume)
        if n_full > _MAX_BUCKETS:
            raise CalibrationError(f"bucket_volume {bucket_volume} makes {n_full} buckets")
        edges = bucket_volume * np.arange(1, n_full + 1, dtype=np.float64)
    if edges.size < window:
        raise CalibrationError(
            f"only {edges.size} full volume buckets (total volume {total:.6g}); VPIN needs "
            f"window={window}: lower the bucket volume or the window, or give more trades"
        )
    cum_buy_at = np.interp(edges, np.r_[0.0, cum_vol], np.r_[0.0, np.cumsum(unit_buy)])
    bucket_vol = np.diff(edges, prepend=0.0)
    bucket_buy = np.diff(cum_buy_at, prepend=0.0)
    imbalance = np.abs(2.0 * bucket_buy - bucket_vol)
    kernel = np.ones(window)
    series = np.convolve(imbalance, kernel, "valid") / np.convolve(bucket_vol, kernel, "valid")
    series = np.clip(series, 0.0, 1.0)
    end_idx = np.minimum(np.searchsorted(cum_vol, edges, side="left"), unit_ts.size - 1)
    latest = float(series[-1])
    return VPINResult(
        vpin=tuple(float(v) for v in series),
        bucket_end_ns=tuple(int(t) for t in unit_ts[end_idx][window - 1 :]),
        bucket_volumes=tuple(float(v) for v in bucket_vol),
        latest=latest,
        latest_percentile=float(np.mean(series <= latest)),
        window=window,
        n_buckets=int(edges.size),
        classification=classification,
        n_obs=int(ts.size),
    )

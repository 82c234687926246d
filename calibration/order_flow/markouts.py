"""Trade markouts: the signed mid move after each trade, by horizon, side, size and vol regime.

A markout is what the aggressor's trade "knew": the move of the mid from just before the
trade to ``horizon_s`` later, signed by the aggressor side and expressed in bps of the
pre-trade mid. A market maker's passive fill suffers the same move with the opposite sign,
so the mean markout is the adverse-selection cost per fill (before spread capture).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from calibration.common.asof import (
    BPS,
    NS_PER_S,
    as_float_array,
    as_sorted_ns,
    prevailing_index,
    trailing_realized_vol,
)
from calibration.common.newey_west import hac_mean, overlap_lags
from calibration.errors import CalibrationError
from calibration.types import BoolArray, Float64Array, Int64Array

__all__ = [
    "DEFAULT_HORIZONS_S",
    "MarkoutCurve",
    "MarkoutTable",
    "TradeMarkouts",
    "markout_bps",
    "markouts",
]

DEFAULT_HORIZONS_S: tuple[float, ...] = (0.1, 1.0, 5.0, 30.0)
#: A curve point needs this many trades for a HAC standard error to mean anything.
MIN_TRADES_PER_POINT = 10


@dataclass(frozen=True)
class TradeMarkouts:
    """Per-trade markouts at one horizon (the raw series behind the curves).

    Attributes
    ----------
    horizon_s : float
        Horizon, seconds.
    markout_bps : Float64Array
        Signed mid move, bps of the pre-trade mid; NaN where the horizon runs past the
        last mid (``valid`` is False there).
    valid : BoolArray
        Trades whose horizon ends at or before the last mid update.
    mid_before : Float64Array
        Mid prevailing strictly before each trade (price units).
    """

    horizon_s: float
    markout_bps: Float64Array
    valid: BoolArray
    mid_before: Float64Array


@dataclass(frozen=True)
class MarkoutCurve:
    """Mean markout against horizon for one group of trades.

    Attributes
    ----------
    label : str
        Group name ("all", "buy", "sell", "size_q1", "vol_low", ...).
    horizons_s : tuple of float
        Horizons, seconds.
    mean_bps : tuple of float or None
        Mean signed markout per horizon, bps (None where fewer than 10 trades).
    mean_stderr_bps : tuple of float or None
        Newey-West standard error of each mean, bps (None where the mean is None).
    n_obs : tuple of int
        Trades used per horizon.
    hac_lags : tuple of int
        Kernel width used per horizon, in trades.
    """

    label: str
    horizons_s: tuple[float, ...]
    mean_bps: tuple[float | None, ...]
    mean_stderr_bps: tuple[float | None, ...]
    n_obs: tuple[int, ...]
    hac_lags: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable plain-Python view."""
        return {
            "label": self.label,
            "horizons_s": list(self.horizons_s),
            "mean_bps": list(self.mean_bps),
            "mean_stderr_bps": list(self.mean_stderr_bps),
            "n_obs": list(self.n_obs),
            "hac_lags": list(self.hac_lags),
        }


@dataclass(frozen=True)
class MarkoutTable:
    """Markout curves overall, by side, by size bucket and by volatility regime.

    Attributes
    ----------
    horizons_s : tuple of float
        Horizons, seconds.
    overall : MarkoutCurve
        All trades.
    by_side : tuple of MarkoutCurve
        "buy" (buy aggressor) then "sell".
    by_size : tuple of MarkoutCurve
        One per trade-size quantile bucket, smallest first.
    size_edges : tuple of float
        Bucket edges in trade-size units (len = buckets + 1; ties in the size distribution
        can merge buckets).
    by_vol_regime : tuple of MarkoutCurve
        One per trailing-realised-vol quantile bucket, calmest first.
    vol_edges_bps_per_sqrt_s : tuple of float
        Regime edges, bps per sqrt(second).
    vol_window_s : float
        Trailing window of the realised vol, seconds.
    n_obs : int
        Trades used (after merging sweeps if asked).
    n_no_vol_history : int
        Trades too early to have a full vol window (left out of the regime curves only).
    """

    horizons_s: tuple[float, ...]
    overall: MarkoutCurve
    by_side: tuple[MarkoutCurve, ...]
    by_size: tuple[MarkoutCurve, ...]
    size_edges: tuple[float, ...]
    by_vol_regime: tuple[MarkoutCurve, ...]
    vol_edges_bps_per_sqrt_s: tuple[float, ...]
    vol_window_s: float
    n_obs: int
    n_no_vol_history: int

    def curve(self, label: str) -> MarkoutCurve:
        """The curve with this label (KeyError if absent)."""
        for c in (self.overall, *self.by_side, *self.by_size, *self.by_vol_regime):
            if c.label == label:
                return c
        raise KeyError(label)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable plain-Python view."""
        return {
            "horizons_s": list(self.horizons_s),
            "overall": self.overall.to_dict(),
            "by_side": [c.to_dict() for c in self.by_side],
            "by_size": [c.to_dict() for c in self.by_size],
            "size_edges": list(self.size_edges),
            "by_vol_regime": [c.to_dict() for c in self.by_vol_regime],
            "vol_edges_bps_per_sqrt_s": list(self.vol_edges_bps_per_sqrt_s),
            "vol_window_s": self.vol_window_s,
            "n_obs": self.n_obs,
            "n_no_vol_history": self.n_no_vol_history,
        }


def _validated(
    trade_ts_ns: npt.ArrayLike,
    trade_side: npt.ArrayLike,
    mid_ts_ns: npt.ArrayLike,
    mid: npt.ArrayLike,
) -> tuple[Int64Array, Float64Array, Int64Array, Float64Array]:
    t_ns = as_sorted_ns("trade_ts_ns", trade_ts_ns)
    side = as_float_array("trade_side", trade_side, t_ns.size)
    if not np.all(np.abs(side) == 1.0):
        bad = int(np.flatnonzero(np.abs(side) != 1.0)[0])
        raise CalibrationError(
            f"trade_side must be +1 (buy) or -1 (sell); index {bad} is {side[bad]}"
        )
    m_ns = as_sorted_ns("mid_ts_ns", mid_ts_ns)
    mid_arr = as_float_array("mid", mid, m_ns.size)
    if np.any(mid_arr <= 0.0):
        bad = int(np.flatnonzero(mid_arr <= 0)[0])
        raise CalibrationError(f"mid must be positive; index {bad} is {mid_arr[bad]}")
    if m_ns[0] >= t_ns[0]:
        raise CalibrationError(
            "no mid strictly before the first trade "
            f"(first mid at {int(m_ns[0])} ns, first trade at {int(t_ns[0])} ns); "
            "drop trades before the first quote"
        )
    return t_ns, side, m_ns, mid_arr


def _markout_unchecked(
    t_ns: Int64Array, side: Float64Array, m_ns: Int64Array, mid: Float64Array, horizon_s: float
) -> TradeMarkouts:
    before = mid[prevailing_index(m_ns, t_ns, strict=True)]
    end_ns = t_ns + round(horizon_s * NS_PER_S)
    valid = end_ns <= m_ns[-1]
    after = mid[np.clip(prevailing_index(m_ns, end_ns, strict=False), 0, None)]
    value = np.where(valid, side * (after - before) / before * BPS, np.nan)
    return TradeMarkouts(
        horizon_s=float(horizon_s), markout_bps=value, valid=valid, mid_before=before
    )


def markout_bps(
    trade_ts_ns: npt.ArrayLike,
    trade_side: npt.ArrayLike,
    mid_ts_ns: npt.ArrayLike,
    mid: npt.ArrayLike,
    horizon_s: float,
) -> TradeMarkouts:
    """Per-trade signed markout at one horizon.

    Parameters
    ----------
    trade_ts_ns : array of int64
        Trade times, ns, sorted.
    trade_side : array
        +1 buy aggressor, -1 sell aggressor.
    mid_ts_ns : array of int64
        Mid update times, ns, sorted, on the same clock as the trades (exchange time).
    mid : array of float
        Mid after each update, price units.
    horizon_s : float
        Horizon, seconds.

    Returns
    -------
    TradeMarkouts

    Notes
    -----
    ``markout_i = side_i * (mid(t_i + h) - mid(t_i-)) / mid(t_i-) * 1e4`` where ``mid(t_i-)``
    is the last mid strictly before the trade (a quote stamped at the trade's own time may
    already reflect it) and ``mid(t_i + h)`` the last mid at or before ``t_i + h``.
    """
    if horizon_s < 0:
        raise CalibrationError(f"horizon_s must be >= 0, got {horizon_s}")
    t_ns, side, m_ns, mid_arr = _validated(trade_ts_ns, trade_side, mid_ts_ns, mid)
    return _markout_unchecked(t_ns, side, m_ns, mid_arr, horizon_s)


def _curve(
    label: str,
    horizons_s: tuple[float, ...],
    series: list[TradeMarkouts],
    times_s: Float64Array,
    mask: BoolArray,
    lag_quantile: float,
) -> MarkoutCurve:
    means: list[float | None] = []
    errs: list[float | None] = []
    counts: list[int] = []
    lags: list[int] = []
    for h, tm in zip(horizons_s, series, strict=True):
        use = mask & tm.valid
        n = int(use.sum())
        counts.append(n)
        if n < MIN_TRADES_PER_POINT:
            means.append(None)
            errs.append(None)
            lags.append(0)
            continue
        n_lags = overlap_lags(times_s[use], h, quantile=lag_quantile)
        mean, se = hac_mean(tm.markout_bps[use], n_lags)
        means.append(mean)
        errs.append(se)
        lags.append(n_lags)
    return MarkoutCurve(label, horizons_s, tuple(means), tuple(errs), tuple(counts), tuple(lags))


def _quantile_buckets(values: Float64Array, n_buckets: int) -> tuple[Int64Array, Float64Array]:
    """Bucket index per value (-1 for NaN) and the unique quantile edges."""
    finite = np.isfinite(values)
    edges = np.unique(np.quantile(values[finite], np.linspace(0.0, 1.0, n_buckets + 1)))
    if edges.size < 2:
        edges = np.array([edges[0], edges[0]])
    idx = np.searchsorted(edges[1:-1], values, side="right").astype(np.int64)
    idx[~finite] = -1
    return idx, edges


def _merge_sweeps(
    t_ns: Int64Array, side: Float64Array, size: Float64Array
) -> tuple[Int64Array, Float64Array, Float64Array]:
    """One row per (timestamp, side) run, sizes summed; time order kept."""
    new_run = np.ones(t_ns.size, dtype=bool)
    new_run[1:] = (t_ns[1:] != t_ns[:-1]) | (side[1:] != side[:-1])
    starts = np.flatnonzero(new_run)
    return t_ns[starts], side[starts], np.add.reduceat(size, starts)


def markouts(
    trade_ts_ns: npt.ArrayLike,
    trade_side: npt.ArrayLike,
    trade_size: npt.ArrayLike,
    mid_ts_ns: npt.ArrayLike,
    mid: npt.ArrayLike,
    *,
    horizons_s: tuple[float, ...] = DEFAULT_HORIZONS_S,
    n_size_buckets: int = 4,
    n_vol_regimes: int = 3,
    vol_window_s: float = 30.0,
    lag_quantile: float = 0.9,
    merge_sweeps: bool = False,
) -> MarkoutTable:
    """Markout curves with Newey-West standard errors, by side, size bucket and vol regime.

    Parameters
    ----------
    trade_ts_ns : array of int64
        Trade times, ns, sorted (exchange time).
    trade_side : array
        +1 buy aggressor, -1 sell aggressor.
    trade_size : array of float
        Trade quantity (base units); only its quantiles are used.
    mid_ts_ns : array of int64
        Mid update times, ns, sorted, same clock as the trades.
    mid : array of float
        Mid price after each update.
    horizons_s : tuple of float
        Markout horizons, seconds.
    n_size_buckets : int
        Size quantile buckets (ties can merge some).
    n_vol_regimes : int
        Realised-vol quantile buckets ("vol_low", "vol_mid", "vol_high" when 3).
    vol_window_s : float
        Trailing window for the realised vol, seconds (mid returns strictly before the
        trade only, so the regime is known when the trade happens).
    lag_quantile : float
        Quantile of the per-trade overlap count used as the HAC lag.
    merge_sweeps : bool
        Merge prints with the same timestamp and side into one trade (sizes summed):
        one aggressive order sweeping several levels prints many trades that all share
        one markout, so per-print means weight sweeps by their print count. Merged, each
        aggressive order counts once.

    Returns
    -------
    MarkoutTable

    Raises
    ------
    CalibrationError
        On unsorted or mismatched inputs, sides other than +-1, non-positive sizes or mids,
        no mid before the first trade, or no trade with a complete horizon.

    Notes
    -----
    Standard errors: markouts of trades less than ``h`` apart share part of the same mid
    path, and flow is persistent, so each mean gets a Bartlett-kernel HAC error whose lag
    (in trades) is the 90th percentile of the number of later trades within ``h`` of a
    trade in that group, plus the Newey-West rule lag floor(4 (n/100)^(2/9)), capped at a
    quarter of the group (``calibration.common.newey_west.overlap_lags``). Long horizons on busy
    symbols therefore use wide kernels, and their errors are honest but large.
    """
    t_ns, side, m_ns, mid_arr = _validated(trade_ts_ns, trade_side, mid_ts_ns, mid)
    size = as_float_array("trade_size", trade_size, t_ns.size)
    if np.any(size <= 0.0):
        bad = int(np.flatnonzero(size <= 0)[0])
        raise CalibrationError(f"trade_size must be positive; index {bad} is {size[bad]}")
    if merge_sweeps:
        t_ns, side, size = _merge_sweeps(t_ns, side, size)
    if not horizons_s or min(horizons_s) < 0:
        raise CalibrationError(f"horizons_s must be non-empty and >= 0, got {horizons_s}")
    if n_size_buckets < 1 or n_vol_regimes < 1:
        raise CalibrationError("n_size_buckets and n_vol_regimes must be >= 1")
    horizons = tuple(float(h) for h in horizons_s)
    series = [_markout_unchecked(t_ns, side, m_ns, mid_arr, h) for h in horizons]
    if not series[0].valid.any():
        raise CalibrationError("no trade has a mid update at or after trade time + horizon")
    times_s = (t_ns - t_ns[0]).astype(np.float64) / NS_PER_S
    everyone = np.ones(t_ns.size, dtype=bool)

    def curve(label: str, mask: BoolArray) -> MarkoutCurve:
        return _curve(label, horizons, series, times_s, mask, lag_quantile)

    size_idx, size_edges = _quantile_buckets(size, n_size_buckets)
    vol = trailing_realized_vol(m_ns, mid_arr, t_ns, vol_window_s)
    has_vol = np.isfinite(vol)
    vol_curves: list[MarkoutCurve] = []
    vol_edges: Float64Array = np.zeros(0)
    if has_vol.sum() >= n_vol_regimes:
        vol_idx, vol_edges = _quantile_buckets(vol, n_vol_regimes)
        names = ["low", "mid", "high"] if vol_edges.size - 1 == 3 else None
        for k in range(vol_edges.size - 1):
            name = names[k] if names else f"q{k + 1}"
            vol_curves.append(curve(f"vol_{name}", vol_idx == k))
    return MarkoutTable(
        horizons_s=horizons,
        overall=curve("all", everyone),
        by_side=(curve("buy", side > 0), curve("sell", side < 0)),
        by_size=tuple(curve(f"size_q{k + 1}", size_idx == k) for k in range(size_edges.size - 1)),
        size_edges=tuple(float(e) for e in size_edges),
        by_vol_regime=tuple(vol_curves),
        vol_edges_bps_per_sqrt_s=tuple(float(e) for e in vol_edges),
        vol_window_s=float(vol_window_s),
        n_obs=int(t_ns.size),
        n_no_vol_history=int((~has_vol).sum()),
    )

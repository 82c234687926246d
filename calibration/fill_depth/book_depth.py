"""Where fill depths come from: trades against the prevailing book, and the L2 depth profile.

- :func:`trade_depths_bps`: how far each aggressive order walked from the mid of the last
  book state strictly before it (bps), prints of one order grouped.
- :func:`intensity_curve`: empirical rate of orders reaching depth >= delta, per second.
- :func:`book_depth_kappa`: kappa from the shape of the resting book, the fallback when
  trades are too few (Avellaneda & Stoikov 2008, §2.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from calibration.common.checks import sorted_ns
from calibration.errors import CalibrationError
from calibration.types import Float64Array, Int64Array

__all__ = [
    "BookDepthFit",
    "TradeDepths",
    "book_depth_kappa",
    "intensity_curve",
    "trade_depths_bps",
]

_BPS = 1e4
_NS_PER_S = 1e9


@dataclass(frozen=True)
class TradeDepths:
    """Depth reached by each aggressive order.

    Attributes
    ----------
    depth_bps : array
        ``side * (deepest print price - mid) / mid * 1e4``; negative when the order printed
        on the near side of the prevailing mid (a stale book), see :meth:`usable`.
    side : array of int
        +1 buy aggressor (lifts asks: fills a maker's ask quote), -1 sell aggressor.
    ts_ns : array of int64
        Order time (the prints' common timestamp), ns UTC.
    n_prints : array of int
        Prints grouped into each order.
    mid_px : array
        Mid of the book state used.
    n_no_book : int
        Prints dropped because no book state preceded them.
    window_s : float
        Span of the kept trades, seconds (use your own window if the data extend further).
    """

    depth_bps: Float64Array
    side: Int64Array
    ts_ns: Int64Array
    n_prints: Int64Array
    mid_px: Float64Array
    n_no_book: int
    window_s: float

    @property
    def n_negative(self) -> int:
        return int(np.sum(self.depth_bps < 0.0))

    def usable(self) -> TradeDepths:
        """Only the orders at or beyond the prevailing mid (depth >= 0)."""
        ok = self.depth_bps >= 0.0
        return TradeDepths(self.depth_bps[ok], self.side[ok], self.ts_ns[ok],
                           self.n_prints[ok], self.mid_px[ok], self.n_no_book, self.window_s)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_orders": int(self.depth_bps.size),
            "n_prints": int(self.n_prints.sum()),
            "n_buy": int(np.sum(self.side > 0)),
            "n_sell": int(np.sum(self.side < 0)),
            "n_negative": self.n_negative,
            "n_no_book": self.n_no_book,
            "window_s": float(self.window_s),
            "median_depth_bps": float(np.median(self.depth_bps)) if self.depth_bps.size else None,
        }


def _as_1d(name: str, values: npt.ArrayLike, dtype: type) -> npt.NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise CalibrationError(f"{name} must be 1-D, got shape {arr.shape}")
    if dtype is np.int64:
        if not np.issubdtype(arr.dtype, np.integer):
            raise CalibrationError(f"{name} must be integer nanoseconds, got {arr.dtype}")
        return arr.astype(np.int64, copy=False)
    out = arr.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        raise CalibrationError(f"{name} has {bad.size} NaN/inf values; first at index {bad[0]}")
    return out


def _check_sorted(name: str, ts: Int64Array) -> None:
    sorted_ns(name, ts, allow_empty=True)


def trade_depths_bps(
    trade_ts_ns: npt.ArrayLike,
    trade_px: npt.ArrayLike,
    trade_side: npt.ArrayLike,
    book_ts_ns: npt.ArrayLike,
    *,
    book_mid_px: npt.ArrayLike | None = None,
    book_bid_px: npt.ArrayLike | None = None,
    book_ask_px: npt.ArrayLike | None = None,
    group_same_ts: bool = True,
) -> TradeDepths:
    """Depth in bps of mid reached by each aggressive order.

    Parameters
    ----------
    trade_ts_ns, trade_px, trade_side : arrays
        Prints in time order: exchange time (int64 ns), price, aggressor side (+1/-1).
    book_ts_ns : array of int64
        Book-state times (exchange time, sorted), ns.
    book_mid_px, book_bid_px, book_ask_px : arrays
        Either the mid, or the best bid and ask, of each book state.
    group_same_ts : bool
        Merge consecutive prints with the same timestamp and side into one order (an
        aggressive order sweeping several levels prints once per level); its depth is the
        deepest print.

    Returns
    -------
    TradeDepths

    Notes
    -----
    The reference mid is that of the last book state with time strictly before the print:
    the state the order was sent against. A state stamped at the print's own time may already
    include the order's effect. Prints with no earlier state are dropped (``n_no_book``).
    """
    t_ts = _as_1d("trade_ts_ns", trade_ts_ns, np.int64)
    t_px = _as_1d("trade_px", trade_px, np.float64)
    t_side = _as_1d("trade_side", trade_side, np.float64)
    b_ts = _as_1d("book_ts_ns", book_ts_ns, np.int64)
    if not (t_ts.size == t_px.size == t_side.size):
        raise CalibrationError("trade_ts_ns, trade_px and trade_side must have equal lengths")
    if not np.all(np.abs(t_side) == 1.0):
        raise CalibrationError("trade_side must be +1 (buy aggressor) or -1 (sell aggressor)")
    if book_mid_px is not None:
        mid = _as_1d("book_mid_px", book_mid_px, np.float64)
    elif book_bid_px is not None and book_ask_px is not None:
        mid = 0.5 * (_as_1d("book_bid_px", book_bid_px, np.float64)
                     + _as_1d("book_ask_px", book_ask_px, np.float64))
    else:
        raise CalibrationError("give book_mid_px, or both book_bid_px and book_ask_px")
    if mid.size != b_ts.size:
        raise CalibrationError("book prices and book_ts_ns must have equal lengths")
    if np.any(mid <= 0.0):
        raise CalibrationError("book mid prices must be positive")
    _check_sorted("trade_ts_ns", t_ts)
    _check_sorted("book_ts_ns", b_ts)

    idx = np.searchsorted(b_ts, t_ts, side="left") - 1  # strictly before the print
    has_book = idx >= 0
    n_no_book = int(np.sum(~has_book))
    t_ts, t_px, t_side, idx = t_ts[has_book], t_px[has_book], t_side[has_book], idx[has_book]
    side = t_side.astype(np.int64)
    ref_mid = mid[idx]
    depth = side * (t_px - ref_mid) / ref_mid * _BPS
    if t_ts.size == 0:
        raise CalibrationError("no trade has a book state before it")
    if group_same_ts:
        new = np.ones(t_ts.size, dtype=bool)
        new[1:] = (t_ts[1:] != t_ts[:-1]) | (side[1:] != side[:-1])
        starts = np.flatnonzero(new)
        depth_g = np.maximum.reduceat(depth, starts)
        n_prints = np.diff(np.append(starts, t_ts.size)).astype(np.int64)
        # the group's reference mid is its first print's (all share the timestamp)
        t_ts, side, ref_mid, depth = t_ts[starts], side[starts], ref_mid[starts], depth_g
    else:
        n_prints = np.ones(t_ts.size, dtype=np.int64)
    window_s = float(t_ts[-1] - t_ts[0]) / _NS_PER_S
    return TradeDepths(depth, side, t_ts, n_prints, ref_mid, n_no_book, window_s)


def intensity_curve(
    depths_bps: npt.ArrayLike, window_s: float, deltas_bps: npt.ArrayLike | None = None
) -> tuple[Float64Array, Float64Array]:
    """Empirical fill intensity: rate of orders reaching depth >= delta, per second.

    Parameters
    ----------
    depths_bps : array
        Order depths, bps.
    window_s : float
        Observation window, seconds.
    deltas_bps : array, optional
        Where to evaluate; default 50 points from 0 to the 99th percentile depth.

    Returns
    -------
    deltas_bps, rate_per_s : arrays
    """
    x = np.sort(_as_1d("depths_bps", depths_bps, np.float64))
    if not (math.isfinite(window_s) and window_s > 0.0):
        raise CalibrationError(f"window_s must be positive seconds, got {window_s}")
    if x.size == 0:
        raise CalibrationError("no depths")
    if deltas_bps is None:
        deltas = np.linspace(0.0, float(np.quantile(x, 0.99)), 50)
    else:
        deltas = _as_1d("deltas_bps", deltas_bps, np.float64)
    count = x.size - np.searchsorted(x, deltas, side="left")
    return deltas, count / window_s


@dataclass(frozen=True)
class BookDepthFit:
    """Fill-rate kappa implied by the resting book (Avellaneda & Stoikov 2008, §2.2).

    If an order of size Q moves the price by ``(ln Q - ln Q0) / K`` bps (the book's cumulative
    size grows like ``Q0 exp(K delta)``) and order sizes have a Pareto tail with exponent
    ``order_size_alpha``, orders reach depth delta at rate ``A exp(-alpha K delta)``:
    ``kappa = alpha K`` per bps.

    Attributes
    ----------
    kappa, kappa_bid, kappa_ask : float
        Pooled and per-side kappa, per bps.
    K, K_bid, K_ask : float
        Log-size growth per bps of depth (slope of ln cumulative size on depth).
    r2 : float
        R^2 of the pooled regression.
    A : float or None
        Rate of orders at the touch per second, if ``market_order_rate_per_s`` was given.
    n_snapshots : int
    n_points : int
        Level averages used (both sides).
    order_size_alpha : float
    """

    kappa: float
    kappa_bid: float
    kappa_ask: float
    K: float
    K_bid: float
    K_ask: float
    r2: float
    A: float | None
    n_snapshots: int
    n_points: int
    order_size_alpha: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "kappa_per_bps": self.kappa, "kappa_bid": self.kappa_bid,
            "kappa_ask": self.kappa_ask, "K": self.K, "K_bid": self.K_bid, "K_ask": self.K_ask,
            "r2": self.r2, "A_per_s": self.A, "n_snapshots": self.n_snapshots,
            "n_points": self.n_points, "order_size_alpha": self.order_size_alpha,
        }


def _side_points(
    px: Float64Array, sz: Float64Array, mid: Float64Array
) -> tuple[Float64Array, Float64Array]:
    """Mean depth (bps) and mean ln cumulative size of each level, over the snapshots.

    Averaging per level first fits the book's average shape; snapshot-to-snapshot noise in
    the sizes would otherwise dominate the R^2.
    """
    depth = np.abs(px - mid[:, None]) / mid[:, None] * _BPS
    ok = np.isfinite(px) & np.isfinite(sz) & (sz > 0.0)
    cum = np.cumsum(np.where(ok, sz, 0.0), axis=1)
    log_cum = np.log(np.where(ok, cum, 1.0))
    count = ok.sum(axis=0)
    keep = count > 0
    mean_depth = np.where(ok, depth, 0.0).sum(axis=0)[keep] / count[keep]
    mean_log_cum = np.where(ok, log_cum, 0.0).sum(axis=0)[keep] / count[keep]
    return mean_depth, mean_log_cum


def _slope(depth: Float64Array, log_cum: Float64Array, what: str) -> tuple[float, float]:
    if depth.size < 3 or np.ptp(depth) <= 0.0:
        raise CalibrationError(f"book_depth_kappa: {what} has fewer than 3 distinct depths")
    d = depth - depth.mean()
    y = log_cum - log_cum.mean()
    k = float(np.dot(d, y) / np.dot(d, d))
    resid = y - k * d
    r2 = 1.0 - float(np.dot(resid, resid) / max(np.dot(y, y), 1e-300))
    if not k > 0.0:
        raise CalibrationError(f"book_depth_kappa: {what} size does not grow with depth")
    return k, r2


def book_depth_kappa(
    bid_px: npt.ArrayLike,
    bid_sz: npt.ArrayLike,
    ask_px: npt.ArrayLike,
    ask_sz: npt.ArrayLike,
    mid: npt.ArrayLike | None = None,
    *,
    order_size_alpha: float = 1.5,
    market_order_rate_per_s: float | None = None,
) -> BookDepthFit:
    """kappa from the L2 depth profile: regress ln(cumulative size) on depth.

    Each level's depth and ln cumulative size are averaged over the snapshots, then
    ``ln C = c + K delta`` is fitted by least squares per side and pooled.

    Parameters
    ----------
    bid_px, bid_sz, ask_px, ask_sz : (levels,) or (snapshots, levels) arrays
        Book levels, best first; NaN or zero-size levels are ignored.
    mid : scalar or (snapshots,) array, optional
        Mid price; default the mean of the best bid and ask.
    order_size_alpha : float
        Pareto tail exponent of aggressive order sizes; 1.5 is the value Avellaneda & Stoikov
        take from Gopikrishnan et al. (2000). Estimate it from trade sizes when you can.
    market_order_rate_per_s : float, optional
        Aggressive orders per second (all of them reach the touch): reported as A.

    Returns
    -------
    BookDepthFit
    """
    arrs = [np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in (bid_px, bid_sz, ask_px,
                                                                      ask_sz)]
    shape = arrs[0].shape
    if any(a.shape != shape for a in arrs):
        raise CalibrationError("bid/ask price and size arrays must share one shape")
    if not (order_size_alpha > 0.0):
        raise CalibrationError(f"order_size_alpha must be positive, got {order_size_alpha}")
    b_px, b_sz, a_px, a_sz = arrs
    if mid is None:
        mid_arr = 0.5 * (b_px[:, 0] + a_px[:, 0])
    else:
        mid_arr = np.broadcast_to(np.asarray(mid, dtype=np.float64), (shape[0],)).copy()
    if not np.all(np.isfinite(mid_arr) & (mid_arr > 0.0)):
        raise CalibrationError("book_depth_kappa: mid must be finite and positive")
    d_b, l_b = _side_points(b_px, b_sz, mid_arr)
    d_a, l_a = _side_points(a_px, a_sz, mid_arr)
    k_b, _ = _slope(d_b, l_b, "bid side")
    k_a, _ = _slope(d_a, l_a, "ask side")
    k, r2 = _slope(np.concatenate([d_b, d_a]), np.concatenate([l_b, l_a]), "book")
    rate = None
    if market_order_rate_per_s is not None:
        if not (market_order_rate_per_s > 0.0):
            raise CalibrationError("market_order_rate_per_s must be positive")
        rate = float(market_order_rate_per_s)
    return BookDepthFit(
        kappa=order_size_alpha * k, kappa_bid=order_size_alpha * k_b,
        kappa_ask=order_size_alpha * k_a, K=k, K_bid=k_b, K_ask=k_a, r2=r2, A=rate,
        n_snapshots=int(shape[0]), n_points=int(d_b.size + d_a.size),
        order_size_alpha=float(order_size_alpha),
    )

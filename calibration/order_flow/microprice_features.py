"""Book and flow features for the micro-price, and the sampling grid they are read on.

Book snapshots are arrays of levels, best first: ``bid_px``, ``bid_sz``, ``ask_px``,
``ask_sz`` of shape (n_snapshots, n_levels), or 1-D for top of book only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from calibration.common.asof import BPS, NS_PER_S, as_float_array, as_sorted_ns, prevailing_index
from calibration.errors import CalibrationError
from calibration.types import Float64Array, Int64Array

__all__ = [
    "BookArrays",
    "SampledBook",
    "book_imbalance",
    "flow_imbalance",
    "sample_book",
    "validate_book",
]


@dataclass(frozen=True)
class BookArrays:
    """Validated book snapshots, always 2-D (n_snapshots, n_levels)."""

    ts_ns: Int64Array
    bid_px: Float64Array
    bid_sz: Float64Array
    ask_px: Float64Array
    ask_sz: Float64Array

    @property
    def mid(self) -> Float64Array:
        """Mid of the best level, price units."""
        return 0.5 * (self.bid_px[:, 0] + self.ask_px[:, 0])

    @property
    def n_levels(self) -> int:
        """Levels per side."""
        return int(self.bid_px.shape[1])


def _as_levels(name: str, values: npt.ArrayLike, n_rows: int) -> Float64Array:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    return as_float_array(name, arr, n_rows, ndim=2)


def validate_book(
    ts_ns: npt.ArrayLike,
    bid_px: npt.ArrayLike,
    bid_sz: npt.ArrayLike,
    ask_px: npt.ArrayLike,
    ask_sz: npt.ArrayLike,
) -> BookArrays:
    """Check shapes, finiteness, positive prices, non-negative sizes and an uncrossed touch.

    Raises
    ------
    CalibrationError
        Naming the first offending array and row.
    """
    t_ns = as_sorted_ns("book_ts_ns", ts_ns)
    n = t_ns.size
    bp, bs = _as_levels("bid_px", bid_px, n), _as_levels("bid_sz", bid_sz, n)
    ap, az = _as_levels("ask_px", ask_px, n), _as_levels("ask_sz", ask_sz, n)
    if not (bp.shape == bs.shape == ap.shape == az.shape):
        raise CalibrationError(
            f"book arrays disagree in shape: bid_px {bp.shape}, bid_sz {bs.shape}, "
            f"ask_px {ap.shape}, ask_sz {az.shape}"
        )
    if np.any(bp[:, 0] <= 0) or np.any(ap[:, 0] <= 0):
        raise CalibrationError("best bid and ask prices must be positive")
    if np.any(bs < 0) or np.any(az < 0):
        raise CalibrationError("book sizes must be non-negative")
    crossed = np.flatnonzero(bp[:, 0] >= ap[:, 0])
    if crossed.size:
        raise CalibrationError(f"crossed or locked book at row {int(crossed[0])}")
    return BookArrays(t_ns, bp, bs, ap, az)


def book_imbalance(bid_sz: npt.ArrayLike, ask_sz: npt.ArrayLike, levels: int) -> Float64Array:
    """Depth imbalance over the best ``levels`` levels, in [-1, 1].

    ``(sum bid_sz[:levels] - sum ask_sz[:levels]) / (sum bid + sum ask)``; 0 for an empty
    book. Positive means more resting bids: buying pressure.
    """
    bs = np.atleast_2d(np.asarray(bid_sz, dtype=np.float64))
    az = np.atleast_2d(np.asarray(ask_sz, dtype=np.float64))
    b = bs[:, :levels].sum(axis=1)
    a = az[:, :levels].sum(axis=1)
    total = b + a
    return np.where(total > 0, (b - a) / np.where(total > 0, total, 1.0), 0.0)


def flow_imbalance(
    query_ts_ns: Int64Array,
    trade_ts_ns: Int64Array,
    trade_side: Float64Array,
    trade_size: Float64Array,
    window_s: float,
) -> Float64Array:
    """Signed aggressor volume over the trailing window, normalised to [-1, 1].

    ``sum side*size / sum size`` over trades with time in ``(t - window_s, t]``; 0 with no
    trade in the window.
    """
    signed = np.concatenate(([0.0], np.cumsum(trade_side * trade_size)))
    gross = np.concatenate(([0.0], np.cumsum(trade_size)))
    hi = prevailing_index(trade_ts_ns, query_ts_ns, strict=False) + 1
    lo = prevailing_index(trade_ts_ns, query_ts_ns - round(window_s * NS_PER_S), strict=False) + 1
    vol = gross[hi] - gross[lo]
    return np.where(vol > 0, (signed[hi] - signed[lo]) / np.where(vol > 0, vol, 1.0), 0.0)


@dataclass(frozen=True)
class SampledBook:
    """The book read on a sampling grid, with the forward mid change as target.

    Attributes
    ----------
    ts_ns : Int64Array
        Sample times, ns.
    row : Int64Array
        Index of the prevailing snapshot at each sample.
    mid : Float64Array
        Mid at the sample, price units.
    target_bps : Float64Array
        Mid change to ``ts + horizon_s``, bps of the sample mid.
    """

    ts_ns: Int64Array
    row: Int64Array
    mid: Float64Array
    target_bps: Float64Array


def sample_book(
    book: BookArrays,
    horizon_s: float,
    sample_interval_s: float | None,
    target_mid: tuple[Int64Array, Float64Array] | None = None,
) -> SampledBook:
    """Read the prevailing book on a regular grid (or at every snapshot if interval is None).

    A regular grid weights calm and busy periods by time, as a quote is exposed by time;
    the target is the mid change to the last snapshot at or before ``t + horizon_s``, or,
    given ``target_mid`` (a finer mid series, e.g. the bbo, as (ts_ns, mid)), the change
    of that series from ``t`` to ``t + horizon_s``: L2 snapshots sparser than the horizon
    would otherwise leave most targets at zero.
    """
    if horizon_s <= 0:
        raise CalibrationError(f"horizon_s must be positive, got {horizon_s}")
    horizon_ns = round(horizon_s * NS_PER_S)
    last = int(book.ts_ns[-1]) - horizon_ns
    if last <= int(book.ts_ns[0]):
        raise CalibrationError("book spans less than one horizon")
    if sample_interval_s is None:
        ts = book.ts_ns[book.ts_ns <= last]
    else:
        if sample_interval_s <= 0:
            raise CalibrationError(f"sample_interval_s must be positive, got {sample_interval_s}")
        step = round(sample_interval_s * NS_PER_S)
        ts = np.arange(int(book.ts_ns[0]), last + 1, step, dtype=np.int64)
    row = prevailing_index(book.ts_ns, ts, strict=False)
    if target_mid is None:
        mid_all = book.mid
        mid = mid_all[row]
        after = mid_all[prevailing_index(book.ts_ns, ts + horizon_ns, strict=False)]
        return SampledBook(ts, row, mid, (after - mid) / mid * BPS)
    fine_ts, fine_mid = target_mid
    now = prevailing_index(fine_ts, ts, strict=False)
    keep = now >= 0  # samples before the first fine mid have no reference price
    ts, row, now = ts[keep], row[keep], now[keep]
    mid = fine_mid[now]
    after = fine_mid[prevailing_index(fine_ts, ts + horizon_ns, strict=False)]
    return SampledBook(ts, row, mid, (after - mid) / mid * BPS)

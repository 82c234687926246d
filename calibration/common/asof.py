"""As-of alignment of event series: input checks, prevailing values, trailing realised vol.

Shared by the markout and micro-price fits. Times are int64 nanoseconds at the boundary
and float seconds inside.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from calibration.common.checks import sorted_ns
from calibration.errors import CalibrationError
from calibration.types import Float64Array, Int64Array

__all__ = [
    "as_float_array",
    "as_sorted_ns",
    "prevailing_index",
    "trailing_realized_vol",
]

NS_PER_S = 1_000_000_000
BPS = 1e4


def as_sorted_ns(name: str, ts_ns: npt.ArrayLike) -> Int64Array:
    """Validate a 1-D array of int64 nanosecond timestamps sorted non-decreasing.

    Raises
    ------
    CalibrationError
        If the array is not 1-D, is empty, or is unsorted (the first violation is named).
    """
    return sorted_ns(name, ts_ns)


def as_float_array(
    name: str, values: npt.ArrayLike, n_expected: int, *, ndim: int = 1
) -> Float64Array:
    """Validate a finite float array whose first axis has ``n_expected`` rows."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != ndim:
        raise CalibrationError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.shape[0] != n_expected:
        raise CalibrationError(
            f"{name} has {arr.shape[0]} rows but its timestamps have {n_expected}"
        )
    if not np.all(np.isfinite(arr)):
        bad_rows = (~np.isfinite(arr.reshape(arr.shape[0], -1))).any(axis=1)
        first = int(np.flatnonzero(bad_rows)[0])
        raise CalibrationError(f"{name} has a non-finite value at row {first}")
    return arr


def prevailing_index(
    source_ts_ns: Int64Array, query_ts_ns: Int64Array, *, strict: bool
) -> Int64Array:
    """Index of the last source event at or before (``strict``: strictly before) each query.

    Returns -1 where no source event qualifies.
    """
    side: Literal["left", "right"] = "left" if strict else "right"
    return np.searchsorted(source_ts_ns, query_ts_ns, side=side).astype(np.int64) - 1


def trailing_realized_vol(
    mid_ts_ns: Int64Array, mid: Float64Array, query_ts_ns: Int64Array, window_s: float
) -> Float64Array:
    """Realised volatility of the mid over the trailing window before each query, bps/sqrt(s).

    sqrt(sum of squared log mid changes in (t - window_s, t]) / sqrt(window_s) * 1e4, using
    only mid updates strictly before the query (no look-ahead). NaN where the mid history
    is shorter than ``window_s``.
    """
    log_ret = np.diff(np.log(mid))
    cum_sq = np.concatenate(([0.0], np.cumsum(log_ret * log_ret)))
    window_ns = round(window_s * NS_PER_S)
    hi = prevailing_index(mid_ts_ns, query_ts_ns, strict=True)
    lo = prevailing_index(mid_ts_ns, query_ts_ns - window_ns, strict=False)
    vol = np.full(query_ts_ns.shape, np.nan)
    ok = (query_ts_ns - window_ns >= mid_ts_ns[0]) & (hi >= 0)
    lo_c = np.clip(lo, 0, None)
    hi_c = np.clip(hi, 0, None)
    sq = cum_sq[hi_c] - cum_sq[np.maximum(lo_c, 0)]
    vol[ok] = np.sqrt(np.maximum(sq[ok], 0.0) / window_s) * BPS
    return vol

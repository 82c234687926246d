"""A per-snapshot jump detector: the sign of a recent mid move far beyond the local volatility.

Lee and Mykland (2008): on a regular grid of ``step_s`` returns (bps), a return is a jump
when ``|r_k| > threshold * sigma_k``, ``sigma_k`` the local jump-robust volatility from the
bipower variation of the ``window`` returns *before* it, ``sigma_k^2 = pi/2 *
mean |r_j| |r_{j-1}|`` (a jump inflates the realised variance of its own window, not the
bipower products of the returns around it). A query time reads the sign (+1 up, -1 down)
of the latest jump whose return ended within ``hold_s`` before it, else 0: past data only.

Lee, S. S. and Mykland, P. A. (2008). Jumps in financial markets: a new nonparametric test
and jump dynamics. Review of Financial Studies 21, 2535-2563.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from calibration.common.asof import BPS, NS_PER_S, as_float_array, as_sorted_ns, prevailing_index
from calibration.errors import CalibrationError
from calibration.types import Float64Array

__all__ = ["JUMP_HOLD_S", "JUMP_STEP_S", "JUMP_THRESHOLD", "JUMP_WINDOW", "jump_signs"]

JUMP_STEP_S = 1.0
"""Return interval, seconds: long enough that a tick is small against a move."""
JUMP_WINDOW = 120
"""Returns in the local bipower window (2 minutes of 1 s returns)."""
JUMP_THRESHOLD = 5.0
"""|r| / sigma_local beyond which a return is a jump. The Gaussian probability of 5 sigma is
5.7e-7 per return, 0.05 false alarms a day at 1 s (Lee and Mykland's 1 % Gumbel critical
value for a day of 1 s returns is about 5.4)."""
JUMP_HOLD_S = 5.0
"""Seconds a detected jump's sign stays on (the state is "a jump in progress")."""


def jump_signs(
    mid_ts_ns: npt.ArrayLike,
    mid: npt.ArrayLike,
    query_ts_ns: npt.ArrayLike,
    *,
    step_s: float = JUMP_STEP_S,
    window: int = JUMP_WINDOW,
    threshold: float = JUMP_THRESHOLD,
    hold_s: float = JUMP_HOLD_S,
) -> Float64Array:
    """Sign of the latest detected jump within ``hold_s`` before each query, else 0.

    Parameters
    ----------
    mid_ts_ns, mid : array
        Mid updates (ns sorted; price units > 0); the mid prevailing at each grid time is
        read from them.
    query_ts_ns : array of int64
        Times to read the state at (ns sorted), e.g. book snapshots.
    step_s : float
        Return interval on the grid, seconds, starting at the first mid.
    window : int
        Returns before each one in its local bipower volatility (at least 3).
    threshold : float
        Jump when ``|r| > threshold * sigma_local``; a window with zero bipower (a mid
        that did not move) detects nothing.
    hold_s : float
        A jump stays signalled for this long after its return ends, seconds.

    Returns
    -------
    Float64Array
        +1, -1 or 0 per query (0 before the first full window).
    """
    ts = as_sorted_ns("mid_ts_ns", mid_ts_ns)
    px = as_float_array("mid", mid, ts.size)
    q = as_sorted_ns("query_ts_ns", query_ts_ns)
    if not (step_s > 0 and hold_s >= 0 and threshold > 0 and window >= 3):
        raise CalibrationError(
            f"need step_s > 0, hold_s >= 0, threshold > 0, window >= 3; got {step_s}, "
            f"{hold_s}, {threshold}, {window}"
        )
    out = np.zeros(q.size)
    if ts.size < 2 or np.any(px <= 0):
        if np.any(px <= 0):
            raise CalibrationError("mid prices must be positive")
        return out
    step_ns = round(step_s * NS_PER_S)
    grid = np.arange(int(ts[0]), int(ts[-1]) + 1, step_ns, dtype=np.int64)
    if grid.size < window + 2:
        return out
    level = px[prevailing_index(ts, grid, strict=False)]
    r = np.diff(np.log(level)) * BPS  # r[k - 1] ends at grid[k]
    prod = np.abs(r[1:]) * np.abs(r[:-1])  # prod[j - 1] = |r_j| |r_{j-1}|
    cum = np.concatenate(([0.0], np.cumsum(prod)))
    k = np.arange(r.size)
    # Products of the `window` returns before r_k: |r_j||r_{j-1}|, j in [k - window + 1, k - 1].
    hi = k - 1
    lo = k - window + 1
    ok = lo >= 1
    bv = np.full(r.size, np.nan)
    bv[ok] = (cum[hi[ok]] - cum[lo[ok] - 1]) / (window - 1) * (math.pi / 2.0)
    sigma = np.sqrt(bv)
    with np.errstate(invalid="ignore"):
        flagged = ok & (sigma > 0) & (np.abs(r) > threshold * sigma)
    sign = np.where(flagged, np.sign(r), 0.0)
    # For each grid return, the index of the latest flagged one at or before it.
    last = np.maximum.accumulate(np.where(flagged, k, -1))
    at = prevailing_index(grid[1:], q, strict=False)  # latest return ended at or before q
    valid = at >= 0
    j = np.where(valid, last[np.clip(at, 0, None)], -1)
    end_ns = grid[1:][np.clip(j, 0, None)]
    on = valid & (j >= 0) & (q - end_ns <= round(hold_s * NS_PER_S))
    out[on] = sign[j[on]]
    return out

"""The live inputs the calibration prepared, kept current from the events our side sees.

Three filters write the market-state slots the GLFT kernel reads
(:func:`trader.strategy.glft.quote_depths`):

- **Hawkes intensity.** The published bivariate exponential kernel (buy, sell) runs on
  the trades we see: ``lambda_i(t) = mu_i + sum_j K_ij beta sum_k exp(-beta (t - t_jk))``,
  and ``S_HAWKES_{BUY,SELL}_RATIO`` is ``lambda_i`` over its stationary mean
  ``((I - K)^-1 mu)_i``: 1 in a calm stretch, above 1 in a burst. Buyers arriving in a
  burst widen our ask, sellers our bid.
- **Realised vol.** Mid samples at least ``rv_sample_s`` apart feed an EWMA of
  ``r^2 / dt`` (bps^2/s); ``S_SIGMA_SCALE`` is its root over the calibrated diffusive
  sigma, held within ``[floor, cap]`` (floor 1 by default: never narrower than
  calibrated).
- **Jump regime.** A sampled return beyond ``jump_threshold_sigmas`` calibrated sigmas
  over its interval sets ``S_JUMP_REGIME`` for ``jump_hold_s``; the return enters the
  variance filter winsorised at the threshold (the regime already prices the jump).

Each filter is off when its calibrated numbers are absent or unusable
(``trader.strategy.live_params``): its slots keep their neutral values. The batch
backtest loop and the live step both call these, so they quote alike. Times are
seconds since the epoch in our clock.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from trader.market_state import (
    S_HAWKES_BUY_RATIO,
    S_HAWKES_SELL_RATIO,
    S_HK_EXC_BUY,
    S_HK_EXC_SELL,
    S_HK_LAST_BUY_T,
    S_HK_LAST_SELL_T,
    S_HK_T,
    S_JUMP_REGIME,
    S_JUMP_SIGN,
    S_JUMP_UNTIL,
    S_MID,
    S_RV_MID,
    S_RV_T,
    S_RV_VAR,
    S_SIGMA_SCALE,
)
from trader.strategy.live_params import (
    L_HAWKES_BASE_BUY,
    L_HAWKES_BASE_SELL,
    L_HAWKES_DECAY,
    L_HAWKES_K,
    L_HAWKES_MU_BUY,
    L_HAWKES_MU_SELL,
    L_HAWKES_ON,
    L_JUMP_HOLD_S,
    L_JUMP_THRESHOLD,
    L_RV_HALF_LIFE_S,
    L_RV_ON,
    L_RV_SAMPLE_S,
    L_SCALE_CAP,
    L_SCALE_FLOOR,
    L_SIGMA_REF,
)
from trader.strategy.microprice_live import write_fair_price
from trader.strategy.params import P_LIVE_0, P_MP_0

__all__ = ["observe_mid", "observe_trade", "refresh_live_inputs"]

_LN2 = math.log(2.0)


@njit(cache=True, inline="always")
def _decay_to(state: np.ndarray, params: np.ndarray, t_s: float) -> None:
    """Move the Hawkes excitation to ``t_s`` (never backwards: clocks may tie)."""
    t0 = state[S_HK_T]
    if t0 == t0 and t_s > t0:
        d = math.exp(-params[P_LIVE_0 + L_HAWKES_DECAY] * (t_s - t0))
        state[S_HK_EXC_BUY] *= d
        state[S_HK_EXC_SELL] *= d
    if math.isnan(t0) or t_s > t0:
        state[S_HK_T] = t_s


@njit(cache=True, inline="always")
def _write_ratios(state: np.ndarray, params: np.ndarray) -> None:
    base = P_LIVE_0
    state[S_HAWKES_BUY_RATIO] = (
        params[base + L_HAWKES_MU_BUY] + state[S_HK_EXC_BUY]
    ) / params[base + L_HAWKES_BASE_BUY]
    state[S_HAWKES_SELL_RATIO] = (
        params[base + L_HAWKES_MU_SELL] + state[S_HK_EXC_SELL]
    ) / params[base + L_HAWKES_BASE_SELL]


@njit(cache=True)
def observe_trade(state: np.ndarray, params: np.ndarray, t_s: float, side: int) -> None:
    """A trade reaches us (``side`` +1 buyer-initiated, -1 seller-initiated)."""
    base = P_LIVE_0
    if params[base + L_HAWKES_ON] != 1.0:
        return
    _decay_to(state, params, t_s)
    beta = params[base + L_HAWKES_DECAY]
    j = 0 if side > 0 else 1
    # The prints of one aggressive order share its time and side: one event, as fitted.
    last = S_HK_LAST_BUY_T if j == 0 else S_HK_LAST_SELL_T
    if state[last] == t_s:
        _write_ratios(state, params)
        return
    state[last] = t_s
    state[S_HK_EXC_BUY] += beta * params[base + L_HAWKES_K + j]
    state[S_HK_EXC_SELL] += beta * params[base + L_HAWKES_K + 2 + j]
    _write_ratios(state, params)


@njit(cache=True)
def observe_mid(state: np.ndarray, params: np.ndarray, t_s: float) -> None:
    """The state's mid changed (a book or bbo row): sample it for vol and jumps."""
    base = P_LIVE_0
    if params[base + L_RV_ON] != 1.0:
        return
    mid = state[S_MID]
    if not (mid > 0.0 and math.isfinite(mid)):
        return
    sigma = params[base + L_SIGMA_REF]
    if math.isnan(state[S_RV_T]):
        state[S_RV_MID] = mid
        state[S_RV_T] = t_s
        state[S_RV_VAR] = sigma * sigma
        return
    dt = t_s - state[S_RV_T]
    if dt < params[base + L_RV_SAMPLE_S]:
        return
    r = 1e4 * math.log(mid / state[S_RV_MID])
    threshold = params[base + L_JUMP_THRESHOLD] * sigma * math.sqrt(dt)
    if abs(r) > threshold:
        state[S_JUMP_UNTIL] = t_s + params[base + L_JUMP_HOLD_S]
        state[S_JUMP_SIGN] = 1.0 if r > 0.0 else -1.0
        r = math.copysign(threshold, r)
    w = 1.0 - math.exp(-_LN2 * dt / params[base + L_RV_HALF_LIFE_S])
    state[S_RV_VAR] += w * (r * r / dt - state[S_RV_VAR])
    scale = math.sqrt(state[S_RV_VAR]) / sigma
    state[S_SIGMA_SCALE] = min(
        max(scale, params[base + L_SCALE_FLOOR]), params[base + L_SCALE_CAP]
    )
    state[S_RV_MID] = mid
    state[S_RV_T] = t_s
    state[S_JUMP_REGIME] = 1.0 if t_s < state[S_JUMP_UNTIL] else 0.0


@njit(cache=True)
def refresh_live_inputs(state: np.ndarray, params: np.ndarray, t_s: float) -> None:
    """Bring the time-dependent slots to ``t_s`` before a quote: the Hawkes ratios decay
    towards calm between trades, the jump regime expires, and the micro-price fair price
    is computed (:mod:`trader.strategy.microprice_live`). A filter that is off (say,
    after a hot swap to a set without a usable kernel) leaves its slots neutral."""
    base = P_LIVE_0
    if params[base + L_HAWKES_ON] == 1.0:
        if state[S_HK_T] == state[S_HK_T]:
            _decay_to(state, params, t_s)
            _write_ratios(state, params)
    else:
        state[S_HAWKES_BUY_RATIO] = 1.0
        state[S_HAWKES_SELL_RATIO] = 1.0
    if params[base + L_RV_ON] == 1.0:
        state[S_JUMP_REGIME] = 1.0 if t_s < state[S_JUMP_UNTIL] else 0.0
    else:
        state[S_JUMP_REGIME] = 0.0
        state[S_SIGMA_SCALE] = 1.0
    write_fair_price(state, params, P_MP_0, t_s)

"""The market-state and quote vectors that the strategy reads and writes.

Flat float64 arrays with named slots, so one jitted quote function serves the numba
backtest loop and the live asyncio trader alike (numba cannot take Python objects).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FLOW_BUCKETS",
    "MP_MAX_FEATURES",
    "OUT_ASK_PX",
    "OUT_ASK_SZ",
    "OUT_BID_PX",
    "OUT_BID_SZ",
    "QUOTE_LEN",
    "STATE_LEN",
    "S_ASK_SZ",
    "S_BEST_ASK",
    "S_BEST_BID",
    "S_BID_SZ",
    "S_FAIR_PX",
    "S_FLOW_BUCKET",
    "S_FLOW_GROSS_0",
    "S_FLOW_SIGNED_0",
    "S_FUNDING_PER_HOUR",
    "S_HAWKES_BUY_RATIO",
    "S_HAWKES_SELL_RATIO",
    "S_HK_EXC_BUY",
    "S_HK_EXC_SELL",
    "S_HK_LAST_BUY_T",
    "S_HK_LAST_SELL_T",
    "S_HK_T",
    "S_INVENTORY",
    "S_JUMP_REGIME",
    "S_JUMP_SIGN",
    "S_JUMP_UNTIL",
    "S_MID",
    "S_MP_X_0",
    "S_RV_MID",
    "S_RV_T",
    "S_RV_VAR",
    "S_SIGMA_SCALE",
    "S_TS_S",
    "S_VOL_BUCKET",
    "S_VOL_LAST_MID",
    "S_VOL_SQ_0",
    "S_VOL_T0",
    "S_VPIN",
    "S_VPIN_SCALE_ASK",
    "S_VPIN_SCALE_BID",
    "S_VP_BUCKET_BUY",
    "S_VP_BUCKET_VOL",
    "S_VP_HEAD",
    "S_VP_IMB_0",
    "S_VP_TARGET",
    "S_VP_VOL_0",
    "VOL_BUCKETS",
    "VPIN_MAX_WINDOW",
    "new_quote",
    "new_state",
]

S_TS_S = 0
"""Exchange time of the state, seconds since the epoch."""
S_MID = 1
"""Mid price (quote currency)."""
S_BEST_BID = 2
S_BEST_ASK = 3
S_BID_SZ = 4
"""Displayed size at the best bid, base units."""
S_ASK_SZ = 5
S_FAIR_PX = 6
"""Micro-price fair value; NaN means centre on the mid."""
S_INVENTORY = 7
"""Signed position, base units."""
S_HAWKES_BUY_RATIO = 8
"""Live buy-arrival intensity over its fitted baseline (1 = calm; NaN = unknown, read as 1)."""
S_HAWKES_SELL_RATIO = 9
S_JUMP_REGIME = 10
"""1 while a price jump is in progress, else 0."""
S_FUNDING_PER_HOUR = 11
"""Live funding rate, fraction per hour; NaN means use the param set's."""
S_SIGMA_SCALE = 12
"""Live realised volatility over the calibrated sigma (1 = as calibrated)."""
S_VPIN = 13
"""Live VPIN on the volume clock, in [0, 1] (trader.strategy.vpin_live; NaN before seeding)."""
S_VPIN_SCALE_BID = 14
"""Live VPIN's sigma blend over the published one on the bid (1 = as calibrated)."""
S_VPIN_SCALE_ASK = 15
S_HK_EXC_BUY = 16
"""Hawkes excitation of the buy intensity at ``S_HK_T``, 1/s (trader.strategy.live_inputs)."""
S_HK_EXC_SELL = 17
S_HK_T = 18
"""Time of the last Hawkes update, seconds since the epoch (NaN before the first trade)."""
S_RV_VAR = 19
"""EWMA of the sampled realised variance, bps^2 per second (NaN before the first sample)."""
S_RV_MID = 20
"""Mid at the last realised-vol sample."""
S_RV_T = 21
"""Time of the last realised-vol sample, seconds since the epoch."""
S_JUMP_UNTIL = 22
"""The jump regime lasts until this time, seconds since the epoch."""
S_JUMP_SIGN = 23
"""Sign of the last jump return (+1 up, -1 down; 0 before any)."""
S_HK_LAST_BUY_T = 24
"""Time of the last buy print, seconds: prints at one time and side are one Hawkes event."""
S_HK_LAST_SELL_T = 25
S_VP_BUCKET_VOL = 26
"""Volume in the open VPIN bucket, base units."""
S_VP_BUCKET_BUY = 27
"""Buyer-initiated volume in the open VPIN bucket, base units."""
S_VP_TARGET = 28
"""Volume the open VPIN bucket closes at, base units (NaN: not seeded yet)."""
S_VP_HEAD = 29
"""Ring index the next closed VPIN bucket overwrites."""
S_MP_X_0 = 32
"""First of ``MP_MAX_FEATURES`` micro-price book features read at the last book row."""
S_FLOW_BUCKET = 40
"""Absolute index of the newest trade-flow bucket (trader.strategy.microprice_live)."""
S_VOL_BUCKET = 41
"""Absolute index of the newest regime-vol bucket."""
S_VOL_LAST_MID = 42
"""Mid of the last book row, for the regime vol's squared log changes."""
S_VOL_T0 = 43
"""Time of the first book row, seconds since the epoch (the regime vol needs a full window)."""
S_FLOW_SIGNED_0 = 48
"""``FLOW_BUCKETS`` buckets of signed aggressor volume over the flow window."""
S_FLOW_GROSS_0 = 68
"""``FLOW_BUCKETS`` buckets of aggressor volume."""
S_VOL_SQ_0 = 88
"""``VOL_BUCKETS`` buckets of squared log mid changes over the regime-vol window."""
FLOW_BUCKETS = 20
VOL_BUCKETS = 30
MP_MAX_FEATURES = 6
VPIN_MAX_WINDOW = 64
S_VP_IMB_0 = 128
"""``VPIN_MAX_WINDOW`` closed buckets' ``|V_buy - V_sell|``, base units (a ring)."""
S_VP_VOL_0 = S_VP_IMB_0 + VPIN_MAX_WINDOW
"""The same buckets' volumes, base units."""
STATE_LEN = S_VP_VOL_0 + VPIN_MAX_WINDOW
"""Slots 30-31, 38-39, 44-47 and 118-127 are reserved."""

OUT_BID_PX = 0
OUT_BID_SZ = 1
"""Size 0 means no bid wanted."""
OUT_ASK_PX = 2
OUT_ASK_SZ = 3
QUOTE_LEN = 4


def new_state() -> np.ndarray:
    """A state vector with neutral live inputs (no excitation, no jump, calibrated vol)."""
    state = np.full(STATE_LEN, np.nan)
    state[S_INVENTORY] = 0.0
    state[S_HAWKES_BUY_RATIO] = 1.0
    state[S_HAWKES_SELL_RATIO] = 1.0
    state[S_JUMP_REGIME] = 0.0
    state[S_SIGMA_SCALE] = 1.0
    state[S_VPIN_SCALE_BID] = 1.0
    state[S_VPIN_SCALE_ASK] = 1.0
    state[S_HK_EXC_BUY] = 0.0
    state[S_HK_EXC_SELL] = 0.0
    state[S_JUMP_UNTIL] = -np.inf
    state[S_JUMP_SIGN] = 0.0
    state[S_HK_LAST_BUY_T] = -np.inf
    state[S_HK_LAST_SELL_T] = -np.inf
    state[S_FLOW_SIGNED_0 : S_FLOW_SIGNED_0 + FLOW_BUCKETS] = 0.0
    state[S_FLOW_GROSS_0 : S_FLOW_GROSS_0 + FLOW_BUCKETS] = 0.0
    state[S_VOL_SQ_0 : S_VOL_SQ_0 + VOL_BUCKETS] = 0.0
    return state


def new_quote() -> np.ndarray:
    """An empty quote vector: no order on either side."""
    quote = np.zeros(QUOTE_LEN)
    quote[OUT_BID_PX] = np.nan
    quote[OUT_ASK_PX] = np.nan
    return quote

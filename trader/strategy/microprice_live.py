"""The published micro-price, computed live: the fair price the GLFT centre leans on.

The param set publishes a ridge forecast of the mid change over the next 300 ms, bps:
``intercept + coef . x`` on named features (``calibration.order_flow.microprice``), and
coefficients refitted per trailing-volatility regime. Live:

- ``imbalance_lK``: depth imbalance over the best K levels of the last book row;
- ``flow_imbalance``: signed over gross aggressor volume in the trailing flow window
  (``FLOW_BUCKETS`` time buckets: the window is covered to within one bucket);
- ``jump_sign``: the sign of the jump in progress (the live jump regime,
  :mod:`trader.strategy.live_inputs`), else 0;
- the regime: realised vol of the book mid over the trailing vol window (sum of squared
  log changes of every book row's mid, ``VOL_BUCKETS`` one-second buckets), bps/sqrt(s);
  the global coefficients until the window is full or where a regime was too thin.

The fair price ``mid * (1 + forecast / 1e4)`` goes to ``S_FAIR_PX`` before each quote;
the kernel clamps it inside the touch. Off (NaN fair, centre on the mid) when the set
falls back to the mid or a feature is unknown to this code. The windows are the fit's
defaults (``fit_microprice``); a test keeps them equal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from trader.market_state import (
    FLOW_BUCKETS,
    MP_MAX_FEATURES,
    S_FAIR_PX,
    S_FLOW_BUCKET,
    S_FLOW_GROSS_0,
    S_FLOW_SIGNED_0,
    S_JUMP_REGIME,
    S_JUMP_SIGN,
    S_MID,
    S_MP_X_0,
    S_VOL_BUCKET,
    S_VOL_LAST_MID,
    S_VOL_SQ_0,
    S_VOL_T0,
    VOL_BUCKETS,
)

__all__ = [
    "FLOW_WINDOW_S",
    "MAX_REGIMES",
    "MP_LEN",
    "VOL_WINDOW_S",
    "MicropriceLive",
    "microprice_from_quoting",
    "microprice_observe_book",
    "microprice_observe_trade",
    "write_fair_price",
]

FLOW_WINDOW_S = 1.0
"""Trailing window of ``flow_imbalance``, s (``fit_microprice(flow_window_s=...)``)."""
VOL_WINDOW_S = 30.0
"""Trailing window of the regime vol, s (``fit_microprice(vol_window_s=...)``)."""
MAX_REGIMES = 4

CODE_FLOW = -1.0
CODE_JUMP = -2.0

# Offsets from trader.strategy.params.P_MP_0.
M_ON = 0
M_N = 1
M_CODE_0 = 2
M_INTERCEPT = M_CODE_0 + MP_MAX_FEATURES
M_COEF_0 = M_INTERCEPT + 1
M_N_REGIMES = M_COEF_0 + MP_MAX_FEATURES
M_EDGE_0 = M_N_REGIMES + 1
M_RCOEF_0 = M_EDGE_0 + MAX_REGIMES + 1
MP_LEN = M_RCOEF_0 + MAX_REGIMES * MP_MAX_FEATURES


def _feature_code(name: str) -> float | None:
    if name == "flow_imbalance":
        return CODE_FLOW
    if name == "jump_sign":
        return CODE_JUMP
    if name.startswith("imbalance_l") and name.removeprefix("imbalance_l").isdigit():
        levels = int(name.removeprefix("imbalance_l"))
        return float(levels) if levels >= 1 else None
    return None


@dataclass(frozen=True)
class MicropriceLive:
    """The forecast's coefficients; ``feature_codes`` empty means off.

    ``feature_codes``: K > 0 is the imbalance over K levels, -1 the flow imbalance, -2
    the jump sign. Coefficients in bps per unit feature; regime edges in bps/sqrt(s);
    a regime's coefficients None where the fit left it to the global ones.
    """

    feature_codes: tuple[float, ...] = ()
    intercept_bps: float = 0.0
    coef_bps: tuple[float, ...] = ()
    regime_edges_bps_per_sqrt_s: tuple[float, ...] = ()
    regime_coef_bps: tuple[tuple[float, ...] | None, ...] = ()

    def pack(self) -> np.ndarray:
        out = np.full(MP_LEN, np.nan)
        n = len(self.feature_codes)
        out[M_ON] = 1.0 if n else 0.0
        out[M_N] = float(n)
        out[M_N_REGIMES] = 0.0
        if not n:
            return out
        out[M_CODE_0 : M_CODE_0 + n] = self.feature_codes
        out[M_INTERCEPT] = self.intercept_bps
        out[M_COEF_0 : M_COEF_0 + n] = self.coef_bps
        n_reg = len(self.regime_coef_bps)
        if n_reg and len(self.regime_edges_bps_per_sqrt_s) == n_reg + 1:
            out[M_N_REGIMES] = float(n_reg)
            out[M_EDGE_0 : M_EDGE_0 + n_reg + 1] = self.regime_edges_bps_per_sqrt_s
            for r, coef in enumerate(self.regime_coef_bps):
                if coef is not None:
                    start = M_RCOEF_0 + r * MP_MAX_FEATURES
                    out[start : start + n] = coef
        return out


def _floats(raw: Any, n: int | None = None) -> tuple[float, ...] | None:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return None
    try:
        values = tuple(float(v) for v in raw)
    except (TypeError, ValueError):
        return None
    if n is not None and len(values) != n:
        return None
    return values if all(math.isfinite(v) for v in values) else None


def microprice_from_quoting(quoting: Mapping[str, Any], use_microprice: bool) -> MicropriceLive:
    """The live forecast of a quoting block; off unless ``use_microprice`` (the block's
    reader decided the fit is trusted) and every feature and coefficient is usable."""
    off = MicropriceLive()
    names = quoting.get("microprice_feature_names")
    if not use_microprice or not isinstance(names, Sequence) or not names:
        return off
    if len(names) > MP_MAX_FEATURES:
        return off
    codes = [_feature_code(str(n)) for n in names]
    coef = _floats(quoting.get("microprice_coef_bps"), len(names))
    intercept = quoting.get("microprice_intercept_bps")
    if any(c is None for c in codes) or coef is None:
        return off
    if isinstance(intercept, bool) or not isinstance(intercept, int | float):
        return off
    if not math.isfinite(float(intercept)):
        return off
    edges = _floats(quoting.get("microprice_regime_edges_bps_per_sqrt_s")) or ()
    raw_regimes = quoting.get("microprice_regime_coef_bps") or ()
    regimes: list[tuple[float, ...] | None] = []
    if isinstance(raw_regimes, Sequence) and len(raw_regimes) <= MAX_REGIMES:
        regimes = [None if c is None else _floats(c, len(names)) for c in raw_regimes]
    if len(edges) != len(regimes) + 1:
        edges, regimes = (), []
    return MicropriceLive(
        feature_codes=tuple(float(c) for c in codes if c is not None),
        intercept_bps=float(intercept),
        coef_bps=coef,
        regime_edges_bps_per_sqrt_s=edges,
        regime_coef_bps=tuple(regimes),
    )


@njit(cache=True, inline="always")
def _advance(state: np.ndarray, bucket_slot: int, first: int, n_buckets: int, b: float,
             second: int) -> None:
    """Move a ring of time buckets to absolute bucket ``b``, clearing the skipped ones
    (``second`` < 0: a single ring)."""
    cur = state[bucket_slot]
    if cur == cur and b <= cur:
        return
    steps = n_buckets if cur != cur else int(min(b - cur, n_buckets))
    for k in range(steps):
        i = int((b - k) % n_buckets)
        state[first + i] = 0.0
        if second >= 0:
            state[second + i] = 0.0
    state[bucket_slot] = b


@njit(cache=True)
def microprice_observe_trade(
    state: np.ndarray, params: np.ndarray, base: int, t_s: float, side: int, size: float
) -> None:
    """A trade reaches us: into the flow ring (``base`` is ``P_MP_0``)."""
    if params[base + M_ON] != 1.0 or not (size > 0.0):
        return
    b = math.floor(t_s / (FLOW_WINDOW_S / FLOW_BUCKETS))
    _advance(state, S_FLOW_BUCKET, S_FLOW_SIGNED_0, FLOW_BUCKETS, b, S_FLOW_GROSS_0)
    i = int(b % FLOW_BUCKETS)
    state[S_FLOW_SIGNED_0 + i] += size if side > 0 else -size
    state[S_FLOW_GROSS_0 + i] += size


@njit(cache=True)
def microprice_observe_book(
    state: np.ndarray, params: np.ndarray, base: int, t_s: float, row: int,
    bid_sz: np.ndarray, ask_sz: np.ndarray,
) -> None:
    """A book row reaches us: the imbalance features and the regime vol's mid change."""
    if params[base + M_ON] != 1.0:
        return
    n_levels = bid_sz.shape[1]
    for f in range(int(params[base + M_N])):
        code = params[base + M_CODE_0 + f]
        if code <= 0.0:
            continue
        k = min(int(code), n_levels)
        b = 0.0
        a = 0.0
        for j in range(k):
            if bid_sz[row, j] == bid_sz[row, j]:
                b += bid_sz[row, j]
            if ask_sz[row, j] == ask_sz[row, j]:
                a += ask_sz[row, j]
        state[S_MP_X_0 + f] = (b - a) / (b + a) if b + a > 0.0 else 0.0
    mid = state[S_MID]
    if not (mid > 0.0 and math.isfinite(mid)):
        return
    if state[S_VOL_T0] != state[S_VOL_T0]:
        state[S_VOL_T0] = t_s
    bucket = math.floor(t_s / (VOL_WINDOW_S / VOL_BUCKETS))
    _advance(state, S_VOL_BUCKET, S_VOL_SQ_0, VOL_BUCKETS, bucket, -1)
    last = state[S_VOL_LAST_MID]
    if last > 0.0:
        r = math.log(mid / last)
        state[S_VOL_SQ_0 + int(bucket % VOL_BUCKETS)] += r * r
    state[S_VOL_LAST_MID] = mid


@njit(cache=True)
def write_fair_price(state: np.ndarray, params: np.ndarray, base: int, t_s: float) -> None:
    """``S_FAIR_PX`` at ``t_s`` from the features (NaN when the forecast is off)."""
    if params[base + M_ON] != 1.0:
        state[S_FAIR_PX] = math.nan
        return
    mid = state[S_MID]
    if not (mid > 0.0 and math.isfinite(mid)):
        state[S_FAIR_PX] = math.nan
        return
    flow = 0.0
    if state[S_FLOW_BUCKET] == state[S_FLOW_BUCKET]:
        b = math.floor(t_s / (FLOW_WINDOW_S / FLOW_BUCKETS))
        _advance(state, S_FLOW_BUCKET, S_FLOW_SIGNED_0, FLOW_BUCKETS, b, S_FLOW_GROSS_0)
        signed = 0.0
        gross = 0.0
        for i in range(FLOW_BUCKETS):
            signed += state[S_FLOW_SIGNED_0 + i]
            gross += state[S_FLOW_GROSS_0 + i]
        flow = signed / gross if gross > 0.0 else 0.0
    jump = state[S_JUMP_SIGN] if state[S_JUMP_REGIME] == 1.0 else 0.0
    coef0 = base + M_COEF_0
    n_reg = int(params[base + M_N_REGIMES])
    if n_reg > 0 and state[S_VOL_T0] == state[S_VOL_T0] and t_s - state[S_VOL_T0] >= VOL_WINDOW_S:
        bucket = math.floor(t_s / (VOL_WINDOW_S / VOL_BUCKETS))
        _advance(state, S_VOL_BUCKET, S_VOL_SQ_0, VOL_BUCKETS, bucket, -1)
        sq = 0.0
        for i in range(VOL_BUCKETS):
            sq += state[S_VOL_SQ_0 + i]
        vol = math.sqrt(sq / VOL_WINDOW_S) * 1e4
        # np.searchsorted(edges[1:-1], vol, side="right"), as the fit assigns regimes.
        r = 0
        for e in range(1, n_reg):
            if vol >= params[base + M_EDGE_0 + e]:
                r = e
        start = base + M_RCOEF_0 + r * MP_MAX_FEATURES
        if params[start] == params[start]:
            coef0 = start
    forecast = params[base + M_INTERCEPT]
    for f in range(int(params[base + M_N])):
        code = params[base + M_CODE_0 + f]
        if code == CODE_FLOW:
            x = flow
        elif code == CODE_JUMP:
            x = jump
        else:
            x = state[S_MP_X_0 + f]
            if x != x:
                x = 0.0
        forecast += params[coef0 + f] * x
    state[S_FAIR_PX] = mid * (1.0 + forecast * 1e-4)

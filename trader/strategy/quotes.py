"""A readable plain-Python front of the kernel, for tests, logs and notebooks."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trader.market_state import (
    OUT_ASK_PX,
    OUT_ASK_SZ,
    OUT_BID_PX,
    OUT_BID_SZ,
    S_BEST_ASK,
    S_BEST_BID,
    S_FAIR_PX,
    S_FUNDING_PER_HOUR,
    S_HAWKES_BUY_RATIO,
    S_HAWKES_SELL_RATIO,
    S_INVENTORY,
    S_JUMP_REGIME,
    S_MID,
    S_SIGMA_SCALE,
    S_TS_S,
    new_quote,
    new_state,
)
from trader.strategy.glft import glft_quote, quote_depths
from trader.strategy.params import StrategyParams

__all__ = ["Quotes", "compute_quotes", "market_state_vector"]


@dataclass(frozen=True)
class Quotes:
    """One requote's wanted orders and the depths behind them.

    Attributes
    ----------
    bid_px, ask_px : float
        Prices on the tick, quote currency; NaN when the side is off.
    bid_sz, ask_sz : float
        Sizes on the lot, base units; 0 when the side is off.
    centre_px : float
        Fair price or mid the depths are measured from (NaN when nothing is quoted).
    bid_depth_bps, ask_depth_bps : float
        Clamped depths from the centre before rounding, bps of mid.
    """

    bid_px: float
    bid_sz: float
    ask_px: float
    ask_sz: float
    centre_px: float
    bid_depth_bps: float
    ask_depth_bps: float

    @property
    def bid_on(self) -> bool:
        return self.bid_sz > 0.0

    @property
    def ask_on(self) -> bool:
        return self.ask_sz > 0.0

    @property
    def spread_bps(self) -> float:
        """Quoted spread after rounding, bps of the centre (NaN unless both sides are on)."""
        if not (self.bid_on and self.ask_on):
            return math.nan
        return (self.ask_px - self.bid_px) / self.centre_px * 1e4


def market_state_vector(
    *,
    mid: float,
    inventory: float = 0.0,
    best_bid: float = math.nan,
    best_ask: float = math.nan,
    fair_px: float = math.nan,
    hawkes_buy_ratio: float = 1.0,
    hawkes_sell_ratio: float = 1.0,
    jump_regime: bool = False,
    funding_per_hour: float = math.nan,
    sigma_scale: float = 1.0,
    ts_s: float = math.nan,
) -> np.ndarray:
    """A ``trader.market_state`` vector from named values (units as in that module)."""
    state = new_state()
    state[S_TS_S] = ts_s
    state[S_MID] = mid
    state[S_BEST_BID] = best_bid
    state[S_BEST_ASK] = best_ask
    state[S_FAIR_PX] = fair_px
    state[S_INVENTORY] = inventory
    state[S_HAWKES_BUY_RATIO] = hawkes_buy_ratio
    state[S_HAWKES_SELL_RATIO] = hawkes_sell_ratio
    state[S_JUMP_REGIME] = 1.0 if jump_regime else 0.0
    state[S_FUNDING_PER_HOUR] = funding_per_hour
    state[S_SIGMA_SCALE] = sigma_scale
    return state


def compute_quotes(params: StrategyParams | np.ndarray, state: np.ndarray) -> Quotes:
    """Run the jitted kernel once and return its quotes as a :class:`Quotes`.

    Parameters
    ----------
    params : StrategyParams or float64 array
        The params, or their packed vector (to feed deliberately broken values).
    state : float64 array
        A market-state vector, e.g. from :func:`market_state_vector`.
    """
    packed = params.to_array() if isinstance(params, StrategyParams) else params
    state = np.asarray(state, dtype=np.float64)
    out = new_quote()
    glft_quote(state, packed, out)
    centre, _, bid_depth, ask_depth = quote_depths(state, packed)
    return Quotes(
        bid_px=float(out[OUT_BID_PX]),
        bid_sz=float(out[OUT_BID_SZ]),
        ask_px=float(out[OUT_ASK_PX]),
        ask_sz=float(out[OUT_ASK_SZ]),
        centre_px=float(centre),
        bid_depth_bps=float(bid_depth),
        ask_depth_bps=float(ask_depth),
    )

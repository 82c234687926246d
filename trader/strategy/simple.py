"""The reference touch policy: one order at the best bid and one at the best ask.

The policy of the hftbacktest cross-check (bench/peer_hftbacktest/README.md, "Simple
policy"): whatever the book shows at the touch, quote it with a fixed size. It has no
model and no parameters worth fitting, which is what makes it useful as a reference:
two engines that disagree on its fills disagree on the venue, not on the strategy. Same
kernel signature as :func:`trader.strategy.glft.glft_quote`, so
:func:`trader.sim.run_backtest` runs it unchanged.

Units: prices in quote currency, sizes in base units.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trader.market_state import (
    OUT_ASK_PX,
    OUT_ASK_SZ,
    OUT_BID_PX,
    OUT_BID_SZ,
    S_BEST_ASK,
    S_BEST_BID,
)

__all__ = ["SIMPLE_LEN", "SP_ORDER_SIZE", "simple_params", "touch_quote"]

SP_ORDER_SIZE = 0
"""Size of each quote, base units."""
SIMPLE_LEN = 1


def simple_params(order_size: float) -> np.ndarray:
    """The packed params of :func:`touch_quote`.

    Parameters
    ----------
    order_size : float
        Size of each quote, base units (finite, > 0).
    """
    if not (np.isfinite(order_size) and order_size > 0):
        raise ValueError(f"order_size must be finite and > 0 (base units), got {order_size}")
    params = np.zeros(SIMPLE_LEN)
    params[SP_ORDER_SIZE] = order_size
    return params


@njit(cache=True)
def touch_quote(state: np.ndarray, params: np.ndarray, out: np.ndarray) -> None:
    """Bid at the best bid and ask at the best ask, ``params[SP_ORDER_SIZE]`` each.

    A missing side, or a crossed or locked book (bid >= ask), quotes nothing on both
    sides: the touch is not a price anyone can join then.
    """
    bid = state[S_BEST_BID]
    ask = state[S_BEST_ASK]
    size = params[SP_ORDER_SIZE]
    if bid < ask:  # False when either is NaN
        out[OUT_BID_PX] = bid
        out[OUT_ASK_PX] = ask
        out[OUT_BID_SZ] = size
        out[OUT_ASK_SZ] = size
    else:
        out[OUT_BID_PX] = np.nan
        out[OUT_ASK_PX] = np.nan
        out[OUT_BID_SZ] = 0.0
        out[OUT_ASK_SZ] = 0.0

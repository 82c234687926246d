"""What the venue session quotes: the GLFT kernel, or a fixed distance from the touch.

A quoter maps the market state vector (:mod:`trader.market_state`, inventory and funding
filled in by the session) to the wanted quote vector (``OUT_*`` slots); the order manager
turns it into places, modifies and cancels.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from trader.market_state import (
    OUT_ASK_PX,
    OUT_ASK_SZ,
    OUT_BID_PX,
    OUT_BID_SZ,
    S_BEST_ASK,
    S_BEST_BID,
    new_quote,
)
from trader.strategy import glft_quote

__all__ = ["GlftQuoter", "Quoter", "TouchQuoter"]


class Quoter(Protocol):
    def __call__(self, state: np.ndarray) -> np.ndarray: ...


class GlftQuoter:
    """The jitted GLFT kernel with a packed param array (``LoadedParams.array``)."""

    def __init__(self, params: np.ndarray) -> None:
        self.params = params
        self.out = new_quote()

    def __call__(self, state: np.ndarray) -> np.ndarray:
        glft_quote(state, self.params, self.out)
        return self.out


class TouchQuoter:
    """Bid ``offset_ticks`` below the best bid, ask as far above the best ask, ``size``
    each side (base units); ``tick`` in quote currency. For connectivity checks."""

    def __init__(self, tick: float, size: float, offset_ticks: float = 1.0) -> None:
        if not (tick > 0 and size > 0 and offset_ticks >= 0):
            raise ValueError("tick and size must be > 0, offset_ticks >= 0")
        self.tick, self.size, self.offset = tick, size, offset_ticks
        self.out = new_quote()

    def __call__(self, state: np.ndarray) -> np.ndarray:
        bid, ask = state[S_BEST_BID], state[S_BEST_ASK]
        ok = math.isfinite(bid) and math.isfinite(ask)
        self.out[OUT_BID_PX] = bid - self.offset * self.tick if ok else math.nan
        self.out[OUT_ASK_PX] = ask + self.offset * self.tick if ok else math.nan
        self.out[OUT_BID_SZ] = self.size if ok else 0.0
        self.out[OUT_ASK_SZ] = self.size if ok else 0.0
        return self.out

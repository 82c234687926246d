"""What the order manager asks a venue to do, and what the strategy asks of it.

The venue adapters (paper, Hyperliquid) turn these into messages; they carry the cloid on
every action and the lifecycle id for the log line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trader.market_state import OUT_ASK_PX, OUT_ASK_SZ, OUT_BID_PX, OUT_BID_SZ, QUOTE_LEN
from trader.orders.order import Side, Tif

__all__ = ["Cancel", "Modify", "Place", "VenueAction", "WantedQuotes"]


@dataclass(frozen=True)
class Place:
    """Send a new limit order. ``px`` in quote currency, ``sz`` in base units."""

    cloid: str
    lifecycle_id: str
    symbol: str
    side: Side
    px: float
    sz: float
    tif: Tif


@dataclass(frozen=True)
class Modify:
    """Amend a resting order in place; ``sz`` is the new size left to fill."""

    cloid: str
    lifecycle_id: str
    symbol: str
    oid: int
    side: Side
    px: float
    sz: float
    tif: Tif


@dataclass(frozen=True)
class Cancel:
    """Cancel an order: by ``oid`` when given, else by ``cloid`` (not yet acknowledged)."""

    cloid: str
    lifecycle_id: str
    symbol: str
    oid: int | None
    side: Side


VenueAction = Place | Modify | Cancel


@dataclass(frozen=True)
class WantedQuotes:
    """The quotes the strategy wants on one symbol; a size of 0 (or a NaN price) = side off.

    Prices in quote currency, sizes in base units.
    """

    bid_px: float
    bid_sz: float
    ask_px: float
    ask_sz: float

    def __post_init__(self) -> None:
        for name in ("bid_sz", "ask_sz"):
            size = getattr(self, name)
            if math.isnan(size) or size < 0.0:
                raise ValueError(f"{name} must be >= 0, got {size}")
        for name, size_name in (("bid_px", "bid_sz"), ("ask_px", "ask_sz")):
            px = getattr(self, name)
            if getattr(self, size_name) > 0.0 and not (px > 0.0 and math.isfinite(px)):
                raise ValueError(f"{name} must be positive and finite when quoting, got {px}")

    @classmethod
    def from_vector(cls, quote: np.ndarray) -> WantedQuotes:
        """From the strategy's quote vector (:mod:`trader.market_state` ``OUT_*`` slots)."""
        if quote.shape != (QUOTE_LEN,):
            raise ValueError(f"quote vector must have shape ({QUOTE_LEN},), got {quote.shape}")
        return cls(
            bid_px=float(quote[OUT_BID_PX]),
            bid_sz=float(quote[OUT_BID_SZ]),
            ask_px=float(quote[OUT_ASK_PX]),
            ask_sz=float(quote[OUT_ASK_SZ]),
        )

    def side(self, side: Side) -> tuple[float, float]:
        """``(px, sz)`` wanted on ``side``."""
        if side is Side.BUY:
            return self.bid_px, self.bid_sz
        return self.ask_px, self.ask_sz

"""How the order manager quotes one symbol: increments, modify threshold, timeouts, bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from trader.orders.order import Tif

__all__ = ["OrderManagerConfig"]


@dataclass(frozen=True)
class OrderManagerConfig:
    """How one symbol is quoted.

    Parameters
    ----------
    symbol : str
    tick, lot : float
        Price increment (quote currency) and size increment (base units). Wanted bids are
        rounded down and asks up to the tick (never more aggressive than asked), sizes
        down to the lot.
    max_modify_ticks : float
        Largest price move, in ticks, sent as a modify; larger moves cancel, then place
        once the cancel is acknowledged (never two live orders on a side).
    requote_tolerance_bps : float
        An open order of the wanted size within this many bps of the wanted price is kept
        (the backtest's rule, :func:`trader.order_policy.requote_action`).
    tif : Tif
        Time in force of the quotes.
    ack_timeout_ns : int
        How long a sent order, modify or cancel may wait for its reply before the order is
        treated as unknown and a cancel by cloid is sent (the cloid follows the order
        through a modify the venue applied but never confirmed); int64 ns.
    unknown_venue_orders : {"cancel", "adopt"}
        What a reconnect does with venue orders we do not know: cancel them, or keep one
        per free side as our quote.
    max_seen_trade_ids : int
        Trade ids remembered for fill deduplication (and saved in the state).
    max_closed_orders : int
        Finished orders kept (late fills still find them; saved in the state).
    """

    symbol: str
    tick: float
    lot: float
    max_modify_ticks: float = 2.0
    requote_tolerance_bps: float = 0.0
    tif: Tif = Tif.GTC
    ack_timeout_ns: int = 5_000_000_000
    unknown_venue_orders: Literal["cancel", "adopt"] = "cancel"
    max_seen_trade_ids: int = 10_000
    max_closed_orders: int = 256

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError("symbol must be non-empty")
        for name in ("tick", "lot"):
            value = getattr(self, name)
            if not (value > 0.0 and math.isfinite(value)):
                raise ValueError(f"{name} must be positive and finite, got {value}")
        if not self.max_modify_ticks >= 0.0:
            raise ValueError(f"max_modify_ticks must be >= 0, got {self.max_modify_ticks}")
        if not (self.requote_tolerance_bps >= 0.0 and math.isfinite(self.requote_tolerance_bps)):
            raise ValueError(
                f"requote_tolerance_bps must be >= 0 and finite, got {self.requote_tolerance_bps}"
            )
        if self.ack_timeout_ns <= 0:
            raise ValueError(f"ack_timeout_ns must be positive, got {self.ack_timeout_ns}")
        if self.unknown_venue_orders not in ("cancel", "adopt"):
            raise ValueError(
                "unknown_venue_orders must be 'cancel' or 'adopt', "
                f"got {self.unknown_venue_orders!r}"
            )
        if self.max_seen_trade_ids < 1 or self.max_closed_orders < 0:
            raise ValueError("max_seen_trade_ids must be >= 1 and max_closed_orders >= 0")

"""Position and cash from fills, each trade id applied once.

Fills arrive twice (the order response and the userFills stream), late (after our cancel
was acknowledged) and out of order (a replayed stream after a reconnect); position and
cash are sums, so applying each trade id exactly once in any order gives the right totals.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from trader.orders.order import Side

__all__ = ["Fill", "FillLedger"]


@dataclass(frozen=True)
class Fill:
    """One applied fill.

    ``px`` in quote currency, ``qty`` in base units (positive), ``fee`` in quote currency
    (positive paid, negative a rebate), ``ts_ns`` the venue's fill time in int64 ns.
    ``cloid`` is None for a fill of an order this manager does not know.
    """

    trade_id: str
    cloid: str | None
    oid: int | None
    side: Side
    px: float
    qty: float
    fee: float
    ts_ns: int


class FillLedger:
    """Signed position (base units), cash and fees (quote currency) and the seen trade ids.

    Parameters
    ----------
    max_seen_trade_ids : int
        How many recent trade ids to remember for deduplication. A duplicate that arrives
        after this many newer fills would be applied again; venues resend within seconds.
    """

    def __init__(self, max_seen_trade_ids: int = 10_000) -> None:
        if max_seen_trade_ids < 1:
            raise ValueError(f"max_seen_trade_ids must be >= 1, got {max_seen_trade_ids}")
        self.max_seen_trade_ids = max_seen_trade_ids
        self.position = 0.0
        self.cash = 0.0
        self.fees_paid = 0.0
        self.n_fills = 0
        self._seen_order: deque[str] = deque()
        self._seen: set[str] = set()

    def seen(self, trade_id: str | int) -> bool:
        """Whether this trade id was already applied (and is still remembered)."""
        return str(trade_id) in self._seen

    def apply(self, trade_id: str | int, side: Side, px: float, qty: float, fee: float) -> bool:
        """Book one fill; False (and nothing booked) if the trade id was seen.

        A buy adds ``qty`` to the position and pays ``px * qty + fee``; a sell the reverse.
        """
        if not (px > 0.0 and math.isfinite(px) and qty > 0.0 and math.isfinite(qty)):
            raise ValueError(f"fill {trade_id}: px and qty must be positive, got {px}, {qty}")
        if not math.isfinite(fee):
            raise ValueError(f"fill {trade_id}: fee must be finite, got {fee}")
        key = str(trade_id)
        if key in self._seen:
            return False
        self._remember(key)
        self.position += side.sign * qty
        self.cash -= side.sign * px * qty + fee
        self.fees_paid += fee
        self.n_fills += 1
        return True

    def _remember(self, key: str) -> None:
        self._seen.add(key)
        self._seen_order.append(key)
        while len(self._seen_order) > self.max_seen_trade_ids:
            self._seen.discard(self._seen_order.popleft())

    def to_state(self) -> dict[str, Any]:
        """JSON-safe dict; trade ids oldest first."""
        return {
            "position": self.position,
            "cash": self.cash,
            "fees_paid": self.fees_paid,
            "n_fills": self.n_fills,
            "seen_trade_ids": list(self._seen_order),
        }

    @classmethod
    def from_state(cls, data: dict[str, Any], max_seen_trade_ids: int) -> FillLedger:
        """Inverse of :meth:`to_state`; keeps the newest ``max_seen_trade_ids`` ids."""
        ledger = cls(max_seen_trade_ids)
        ledger.position = float(data["position"])
        ledger.cash = float(data["cash"])
        ledger.fees_paid = float(data["fees_paid"])
        ledger.n_fills = int(data["n_fills"])
        for key in data["seen_trade_ids"]:
            ledger._remember(str(key))
        return ledger

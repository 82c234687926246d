"""The orders of one symbol, found by cloid or venue oid; finished ones retired, bounded.

Bookkeeping only: which orders exist, which are live, how to find one from a venue
message. What to do with them is the manager's job.
"""

from __future__ import annotations

import secrets
from collections import deque
from typing import Any

from trader.orders.order import (
    TERMINAL_STATES,
    Order,
    OrderStatus,
    Side,
    Tif,
    make_cloid,
)

__all__ = ["OrderRef", "OrderRegistry", "UnknownOrderError"]

OrderRef = str | int
"""A cloid (``str``) or a venue order id (``int``)."""


class UnknownOrderError(LookupError):
    """A venue message names an order this manager does not hold."""


class OrderRegistry:
    """Orders of one symbol, indexed by cloid and by every venue oid they had.

    Parameters
    ----------
    symbol : str
        Prefix of the lifecycle ids (``BTC-000042``).
    max_closed_orders : int
        Finished orders kept so late fills and replies still find them; older ones are
        forgotten (a fill of a forgotten order still counts, by its side).
    session_id : int, optional
        High 64 bits of every cloid made here; random when not given, so ids never repeat
        across processes. Fix it for reproducible ids.
    """

    def __init__(self, symbol: str, max_closed_orders: int, session_id: int | None = None) -> None:
        self.symbol = symbol
        self.max_closed_orders = max_closed_orders
        self.session_id = secrets.randbits(64) if session_id is None else session_id
        self.next_seq = 1
        self._orders: dict[str, Order] = {}
        self._live: dict[str, Order] = {}
        self._closed: deque[str] = deque()
        self._by_oid: dict[int, str] = {}
        self._oids_of: dict[str, list[int]] = {}

    def new_order(
        self, side: Side, px: float, sz: float, tif: Tif, now_ns: int, cloid: str | None = None
    ) -> Order:
        """A NEW order with the next cloid (or the given one) and lifecycle id; untracked
        until :meth:`track` is called after its first transition."""
        seq = self.next_seq
        self.next_seq += 1
        return Order(
            cloid=cloid or make_cloid(self.session_id, seq),
            lifecycle_id=f"{self.symbol}-{seq:06d}",
            side=side, px=px, size=sz, tif=tif, created_ns=now_ns,
        )

    def track(self, order: Order) -> None:
        """Index the order after a transition; retire it (bounded) once finished."""
        cloid = order.cloid
        self._orders[cloid] = order
        if order.venue_oid is not None and self._by_oid.get(order.venue_oid) != cloid:
            self._by_oid[order.venue_oid] = cloid
            self._oids_of.setdefault(cloid, []).append(order.venue_oid)
        if order.is_live:
            self._live[cloid] = order
        elif cloid in self._live or (order.status in TERMINAL_STATES and cloid not in self._closed):
            self._live.pop(cloid, None)
            self._closed.append(cloid)
            while len(self._closed) > self.max_closed_orders:
                self._forget(self._closed.popleft())

    def _forget(self, cloid: str) -> None:
        self._orders.pop(cloid, None)
        for oid in self._oids_of.pop(cloid, []):
            if self._by_oid.get(oid) == cloid:
                del self._by_oid[oid]

    def find(self, ref: OrderRef) -> Order | None:
        """The order with this cloid (str) or venue oid (int), or None."""
        if isinstance(ref, str):
            return self._orders.get(ref)
        cloid = self._by_oid.get(ref)
        return self._orders.get(cloid) if cloid is not None else None

    def get(self, ref: OrderRef) -> Order:
        """Like :meth:`find`, raising :class:`UnknownOrderError` when absent."""
        order = self.find(ref)
        if order is None:
            raise UnknownOrderError(f"{self.symbol}: no order {ref!r}")
        return order

    def holds(self, cloid: str) -> bool:
        """Whether an order with this cloid is held (live or recently finished)."""
        return cloid in self._orders

    def live(self, side: Side | None = None) -> list[Order]:
        """Orders the venue may still fill, oldest first, optionally of one side."""
        return [o for o in self._live.values() if side is None or o.side is side]

    @property
    def orders(self) -> tuple[Order, ...]:
        """Every order held, oldest first."""
        return tuple(self._orders.values())

    def counts_by_status(self) -> dict[str, int]:
        """Number of held orders in each state."""
        counts = {status.value: 0 for status in OrderStatus}
        for order in self._orders.values():
            counts[order.status.value] += 1
        return counts

    def to_state(self) -> dict[str, Any]:
        """JSON-safe dict: the cloid session and sequence, and every order held."""
        return {
            "session_id": self.session_id,
            "next_seq": self.next_seq,
            "orders": [order.to_dict() for order in self._orders.values()],
        }

    @classmethod
    def from_state(cls, data: dict[str, Any], symbol: str, max_closed_orders: int) -> OrderRegistry:
        """Inverse of :meth:`to_state`; new cloids continue the saved sequence."""
        registry = cls(symbol, max_closed_orders, session_id=int(data["session_id"]))
        registry.next_seq = int(data["next_seq"])
        for order_data in data["orders"]:
            registry.track(Order.from_dict(order_data))
        return registry

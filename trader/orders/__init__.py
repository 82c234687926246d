"""Order management: the order state machine, the per-symbol order manager, fills.

One job per module: :mod:`~trader.orders.order` (one order's state machine),
:mod:`~trader.orders.actions` (what goes to a venue), :mod:`~trader.orders.ledger`
(position and cash, fills once per trade id), :mod:`~trader.orders.registry` (finding
orders by cloid or oid), :mod:`~trader.orders.venue_sync` (what a reconnect compares),
:mod:`~trader.orders.config` and :mod:`~trader.orders.manager` (quotes in, actions out).
"""

from __future__ import annotations

from trader.orders.actions import Cancel, Modify, Place, VenueAction, WantedQuotes
from trader.orders.config import OrderManagerConfig
from trader.orders.ledger import Fill, FillLedger
from trader.orders.manager import STATE_VERSION, OrderManager
from trader.orders.order import (
    LEGAL_SOURCES,
    LIVE_STATES,
    PENDING_STATES,
    TERMINAL_STATES,
    Order,
    OrderEvent,
    OrderStateError,
    OrderStatus,
    Side,
    Tif,
    make_cloid,
)
from trader.orders.registry import OrderRef, OrderRegistry, UnknownOrderError
from trader.orders.venue_sync import VenueFill, VenueOrder, VenueSyncReport

__all__ = [
    "LEGAL_SOURCES",
    "LIVE_STATES",
    "PENDING_STATES",
    "STATE_VERSION",
    "TERMINAL_STATES",
    "Cancel",
    "Fill",
    "FillLedger",
    "Modify",
    "Order",
    "OrderEvent",
    "OrderManager",
    "OrderManagerConfig",
    "OrderRef",
    "OrderRegistry",
    "OrderStateError",
    "OrderStatus",
    "Place",
    "Side",
    "Tif",
    "UnknownOrderError",
    "VenueAction",
    "VenueFill",
    "VenueOrder",
    "VenueSyncReport",
    "WantedQuotes",
    "make_cloid",
]

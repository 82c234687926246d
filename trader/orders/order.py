"""One order's life: an explicit state machine with named transitions.

Every transition is a method named for the venue event that causes it; the legal source
states of each event are listed in :data:`LEGAL_SOURCES`, and any other call raises
:class:`OrderStateError` naming the order, its state and the event. The clock is passed
in (``now_ns``, int64 nanoseconds), never read here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "LEGAL_SOURCES",
    "LIVE_STATES",
    "PENDING_STATES",
    "TERMINAL_STATES",
    "Order",
    "OrderEvent",
    "OrderStateError",
    "OrderStatus",
    "Side",
    "Tif",
    "make_cloid",
]

_FILL_EPS = 1e-9
"""Relative size tolerance: a remainder under this fraction of the order is filled."""


class Side(StrEnum):
    """Order side; the value is what a snapshot stores."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy (position grows), -1 for a sell."""
        return 1 if self is Side.BUY else -1


class Tif(StrEnum):
    """Time in force as Hyperliquid names them (Gtc, Ioc, Alo = post-only)."""

    GTC = "Gtc"
    IOC = "Ioc"
    ALO = "Alo"


class OrderStatus(StrEnum):
    """Where an order is in its life. A partially filled resting order is OPEN."""

    NEW = "new"
    """Created locally, not sent."""
    PENDING_NEW = "pending_new"
    """Sent, not acknowledged."""
    OPEN = "open"
    """Resting at the venue (possibly partially filled)."""
    PENDING_MODIFY = "pending_modify"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    """An IOC order's unfilled remainder, dropped by the venue."""


class OrderEvent(StrEnum):
    """The named transitions."""

    SUBMIT = "submit"
    ACK = "ack"
    REJECT = "reject"
    MODIFY_REQUEST = "modify_request"
    MODIFY_ACK = "modify_ack"
    MODIFY_REJECT = "modify_reject"
    CANCEL_REQUEST = "cancel_request"
    CANCEL_ACK = "cancel_ack"
    CANCEL_REJECT = "cancel_reject"
    FILL = "fill"
    EXPIRE = "expire"
    VENUE_GONE = "venue_gone"
    """A reconnect found the order no longer listed at the venue: its remainder is gone."""


S = OrderStatus
PENDING_STATES = frozenset({S.PENDING_NEW, S.PENDING_MODIFY, S.PENDING_CANCEL})
"""States waiting for a venue reply: no new action on that side until it comes."""
LIVE_STATES = frozenset({S.OPEN}) | PENDING_STATES
"""States in which the venue may still hold (and fill) the order."""
TERMINAL_STATES = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED})

LEGAL_SOURCES: dict[OrderEvent, frozenset[OrderStatus]] = {
    OrderEvent.SUBMIT: frozenset({S.NEW}),
    # A late ack (the cancel, fill or IOC expiry overtook it) only records the venue oid.
    OrderEvent.ACK: frozenset({S.PENDING_NEW, S.PENDING_CANCEL, S.FILLED, S.CANCELED, S.EXPIRED}),
    # PENDING_CANCEL: the ack timed out, we sent a cancel by cloid, then the venue
    # answered the original order with an error.
    OrderEvent.REJECT: frozenset({S.PENDING_NEW, S.PENDING_CANCEL}),
    OrderEvent.MODIFY_REQUEST: frozenset({S.OPEN}),
    OrderEvent.MODIFY_ACK: frozenset({S.PENDING_MODIFY, S.PENDING_CANCEL}),
    # A modify refused because the order filled or was cancelled meanwhile changes nothing.
    OrderEvent.MODIFY_REJECT: frozenset({S.PENDING_MODIFY, S.PENDING_CANCEL, S.FILLED, S.CANCELED}),
    # From PENDING_CANCEL: a resend after the cancel's ack timed out (cancels are idempotent).
    OrderEvent.CANCEL_REQUEST: LIVE_STATES,
    OrderEvent.CANCEL_ACK: frozenset({S.PENDING_CANCEL, S.FILLED}),
    # Usually "already filled": the fill raced the cancel.
    OrderEvent.CANCEL_REJECT: frozenset({S.PENDING_CANCEL, S.FILLED}),
    # A fill is a fact from the venue: it counts whenever it arrives, even after our cancel
    # was acknowledged (the venue matched before it processed the cancel) or before the ack.
    OrderEvent.FILL: frozenset(LIVE_STATES | {S.FILLED, S.CANCELED, S.EXPIRED}),
    OrderEvent.EXPIRE: frozenset({S.PENDING_NEW, S.OPEN}),
    OrderEvent.VENUE_GONE: LIVE_STATES,
}
"""For each event, the states it may be applied in; anything else raises."""


class OrderStateError(RuntimeError):
    """An event that the order's current state does not allow."""

    def __init__(self, order: Order, event: OrderEvent, detail: str = "") -> None:
        self.cloid = order.cloid
        self.lifecycle_id = order.lifecycle_id
        self.status = order.status
        self.event = event
        message = (
            f"order {order.lifecycle_id} (cloid {order.cloid}): illegal {event.value} "
            f"in state {order.status.value}"
        )
        super().__init__(f"{message}: {detail}" if detail else message)


def make_cloid(session_id: int, seq: int) -> str:
    """A Hyperliquid client order id: ``0x`` and 32 hex digits (128 bits).

    The high 64 bits are the session (random per process unless given), the low 64 a
    per-session counter, so ids never repeat across restarts yet are reproducible in a
    backtest that fixes the session.
    """
    if not 0 <= session_id < 2**64 or not 0 <= seq < 2**64:
        raise ValueError(f"session_id and seq must fit in 64 bits, got {session_id}, {seq}")
    return f"0x{session_id:016x}{seq:016x}"


@dataclass
class Order:
    """One order and its history.

    Attributes
    ----------
    cloid : str
        Client order id, 128-bit hex with ``0x`` prefix.
    lifecycle_id : str
        Short id put on every log line about this order.
    side, tif : Side, Tif
    px : float
        Limit price, quote currency (the acknowledged one while a modify is pending).
    size : float
        Total size of the order, base units; ``remaining = size - filled_qty``.
    venue_oid : int or None
        The venue's order id, once acknowledged.
    filled_qty, fill_notional : float
        Filled base units and their value in quote currency.
    ts_ns : dict[str, int]
        Exchange-independent local time (int64 ns) of the latest occurrence of each event,
        keyed by event name, plus ``"created"``.
    status_since_ns : int
        When the current state was entered; the ack timeout counts from here.
    """

    cloid: str
    lifecycle_id: str
    side: Side
    px: float
    size: float
    tif: Tif
    created_ns: int
    status: OrderStatus = OrderStatus.NEW
    venue_oid: int | None = None
    filled_qty: float = 0.0
    fill_notional: float = 0.0
    pending_px: float = math.nan
    pending_sz: float = math.nan
    reason: str | None = None
    status_since_ns: int = 0
    ts_ns: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.px > 0.0 and math.isfinite(self.px)):
            raise ValueError(f"order {self.lifecycle_id}: price must be positive, got {self.px}")
        if not (self.size > 0.0 and math.isfinite(self.size)):
            raise ValueError(f"order {self.lifecycle_id}: size must be positive, got {self.size}")
        self.ts_ns.setdefault("created", self.created_ns)
        if self.status_since_ns == 0:
            self.status_since_ns = self.created_ns

    # -- derived -------------------------------------------------------------------------
    @property
    def remaining(self) -> float:
        """Unfilled size, base units (never negative)."""
        return max(self.size - self.filled_qty, 0.0)

    @property
    def avg_fill_px(self) -> float:
        """Size-weighted average fill price; NaN before the first fill."""
        return self.fill_notional / self.filled_qty if self.filled_qty > 0.0 else math.nan

    @property
    def is_live(self) -> bool:
        """The venue may hold and fill this order."""
        return self.status in LIVE_STATES

    @property
    def is_pending(self) -> bool:
        """A venue reply is awaited."""
        return self.status in PENDING_STATES

    # -- transitions ---------------------------------------------------------------------
    def _enter(self, event: OrderEvent, now_ns: int, target: OrderStatus | None = None) -> None:
        if self.status not in LEGAL_SOURCES[event]:
            raise OrderStateError(self, event)
        self.ts_ns[event.value] = now_ns
        if target is not None and (target is not self.status or target in PENDING_STATES):
            # Re-entering a pending state (a resent cancel) re-arms its timeout.
            self.status = target
            self.status_since_ns = now_ns

    def submit(self, now_ns: int) -> None:
        """Sent to the venue."""
        self._enter(OrderEvent.SUBMIT, now_ns, S.PENDING_NEW)

    def ack(self, venue_oid: int, now_ns: int) -> None:
        """The venue accepted the order and gave it ``venue_oid``."""
        self._enter(OrderEvent.ACK, now_ns, S.OPEN if self.status is S.PENDING_NEW else None)
        self.venue_oid = venue_oid

    def reject(self, reason: str, now_ns: int) -> None:
        """The venue refused the order (e.g. a post-only order that would cross)."""
        self._enter(OrderEvent.REJECT, now_ns, S.REJECTED)
        self.reason = reason

    def modify_request(self, px: float, size_remaining: float, now_ns: int) -> None:
        """Ask the venue to move the order to ``px`` with ``size_remaining`` left to fill."""
        if not (px > 0.0 and size_remaining > 0.0):
            detail = f"bad px {px} / size {size_remaining}"
            raise OrderStateError(self, OrderEvent.MODIFY_REQUEST, detail)
        self._enter(OrderEvent.MODIFY_REQUEST, now_ns, S.PENDING_MODIFY)
        self.pending_px = px
        self.pending_sz = size_remaining

    def modify_ack(self, now_ns: int, venue_oid: int | None = None) -> None:
        """The modify took effect; Hyperliquid may give the amended order a new oid."""
        target = S.OPEN if self.status is S.PENDING_MODIFY else None
        self._enter(OrderEvent.MODIFY_ACK, now_ns, target)
        if not math.isnan(self.pending_px):
            self.px = self.pending_px
            self.size = self.filled_qty + self.pending_sz
        self.pending_px = self.pending_sz = math.nan
        if venue_oid is not None:
            self.venue_oid = venue_oid

    def modify_reject(self, reason: str, now_ns: int) -> None:
        """The modify was refused; the order keeps its acknowledged price and size."""
        self._enter(
            OrderEvent.MODIFY_REJECT, now_ns, S.OPEN if self.status is S.PENDING_MODIFY else None
        )
        self.pending_px = self.pending_sz = math.nan
        self.reason = reason

    def cancel_request(self, now_ns: int) -> None:
        """Ask the venue to cancel (by oid when known, else by cloid)."""
        self._enter(OrderEvent.CANCEL_REQUEST, now_ns, S.PENDING_CANCEL)

    def cancel_ack(self, now_ns: int) -> None:
        """The venue cancelled the remainder."""
        target = S.CANCELED if self.status is not S.FILLED else None
        self._enter(OrderEvent.CANCEL_ACK, now_ns, target)
        self.pending_px = self.pending_sz = math.nan

    def cancel_reject(self, reason: str, now_ns: int) -> None:
        """The cancel was refused (usually: already filled; the fill will close the order).

        A still-live order goes back to OPEN if the venue acknowledged it, else back to
        PENDING_NEW, whose ack timeout will send another cancel.
        """
        target = None
        if self.status is S.PENDING_CANCEL:
            target = S.OPEN if self.venue_oid is not None else S.PENDING_NEW
        self._enter(OrderEvent.CANCEL_REJECT, now_ns, target)
        self.pending_px = self.pending_sz = math.nan
        self.reason = reason

    def fill(self, px: float, qty: float, now_ns: int) -> None:
        """A (partial) fill of ``qty`` base units at ``px``; FILLED once nothing remains."""
        if not (qty > 0.0 and px > 0.0):
            raise OrderStateError(self, OrderEvent.FILL, f"bad fill px {px} qty {qty}")
        self._enter(OrderEvent.FILL, now_ns)
        self.filled_qty += qty
        self.fill_notional += px * qty
        if self.size - self.filled_qty <= _FILL_EPS * self.size:
            self.status = S.FILLED
            self.status_since_ns = now_ns
            self.pending_px = self.pending_sz = math.nan

    def expire(self, now_ns: int) -> None:
        """An IOC order's remainder was dropped unfilled."""
        if self.tif is not Tif.IOC:
            detail = f"only IOC orders expire, not {self.tif.value}"
            raise OrderStateError(self, OrderEvent.EXPIRE, detail)
        self._enter(OrderEvent.EXPIRE, now_ns, S.EXPIRED)

    def venue_gone(self, now_ns: int) -> None:
        """The venue no longer lists the order after a reconnect: its remainder is gone."""
        self._enter(OrderEvent.VENUE_GONE, now_ns, S.CANCELED)
        self.pending_px = self.pending_sz = math.nan
        self.reason = "missing at venue"

    # -- snapshot ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN as None)."""
        return {
            "cloid": self.cloid,
            "lifecycle_id": self.lifecycle_id,
            "side": self.side.value,
            "px": self.px,
            "size": self.size,
            "tif": self.tif.value,
            "created_ns": self.created_ns,
            "status": self.status.value,
            "venue_oid": self.venue_oid,
            "filled_qty": self.filled_qty,
            "fill_notional": self.fill_notional,
            "pending_px": None if math.isnan(self.pending_px) else self.pending_px,
            "pending_sz": None if math.isnan(self.pending_sz) else self.pending_sz,
            "reason": self.reason,
            "status_since_ns": self.status_since_ns,
            "ts_ns": dict(self.ts_ns),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        """Inverse of :meth:`to_dict`."""
        return cls(
            cloid=str(data["cloid"]),
            lifecycle_id=str(data["lifecycle_id"]),
            side=Side(data["side"]),
            px=float(data["px"]),
            size=float(data["size"]),
            tif=Tif(data["tif"]),
            created_ns=int(data["created_ns"]),
            status=OrderStatus(data["status"]),
            venue_oid=None if data["venue_oid"] is None else int(data["venue_oid"]),
            filled_qty=float(data["filled_qty"]),
            fill_notional=float(data["fill_notional"]),
            pending_px=math.nan if data["pending_px"] is None else float(data["pending_px"]),
            pending_sz=math.nan if data["pending_sz"] is None else float(data["pending_sz"]),
            reason=data["reason"],
            status_since_ns=int(data["status_since_ns"]),
            ts_ns={str(k): int(v) for k, v in data["ts_ns"].items()},
        )

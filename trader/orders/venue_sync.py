"""What a venue reports after a reconnect, and what reconciling with it changed.

After a disconnect our view of open orders, fills and position may be stale: messages
were lost in both directions. The venue's REST snapshot is the truth; these are the
shapes the venue adapter hands to :meth:`trader.orders.OrderManager.reconcile_with_venue`
and the report it gets back (logged, exported, and its actions sent before quoting again).
"""

from __future__ import annotations

from dataclasses import dataclass

from trader.orders.actions import Cancel
from trader.orders.ledger import Fill
from trader.orders.order import Side, Tif

__all__ = ["VenueFill", "VenueOrder", "VenueSyncReport"]


@dataclass(frozen=True)
class VenueOrder:
    """An order the venue lists as open: ``sz`` is its remaining size, base units."""

    oid: int
    cloid: str | None
    side: Side
    px: float
    sz: float
    tif: Tif = Tif.GTC


@dataclass(frozen=True)
class VenueFill:
    """A fill the venue reports for our account (Hyperliquid ``userFills``: tid, oid, ...).

    ``fee`` in quote currency, positive paid; ``ts_ns`` the venue's fill time.
    """

    trade_id: str | int
    oid: int | None
    cloid: str | None
    side: Side
    px: float
    qty: float
    fee: float
    ts_ns: int


@dataclass(frozen=True)
class VenueSyncReport:
    """What :meth:`~trader.orders.OrderManager.reconcile_with_venue` changed.

    Attributes
    ----------
    fills_applied : tuple[Fill, ...]
        Fills not seen before the reconnect (duplicates dropped).
    confirmed : tuple[str, ...]
        Cloids of local orders awaiting a reply that the venue shows live (now resolved).
    resynced : tuple[str, ...]
        Cloids whose price or remaining size were corrected to the venue's.
    closed_filled, closed_canceled : tuple[str, ...]
        Local live orders the venue no longer lists, closed as filled (the fills say so)
        or as cancelled (their remainder is gone).
    adopted, canceled_unknown : tuple[str, ...]
        Local cloids given to venue orders we did not know: kept, or being cancelled.
    local_position, venue_position : float
        Signed position in base units, ours (after the new fills) and the venue's; the
        venue's now stands.
    position_mismatch : bool
        The two differ by half a lot or more: fills were missed, cash may be off by them.
    actions : tuple[Cancel, ...]
        Cancels to send before quoting again.
    """

    fills_applied: tuple[Fill, ...]
    confirmed: tuple[str, ...]
    resynced: tuple[str, ...]
    closed_filled: tuple[str, ...]
    closed_canceled: tuple[str, ...]
    adopted: tuple[str, ...]
    canceled_unknown: tuple[str, ...]
    local_position: float
    venue_position: float
    position_mismatch: bool
    actions: tuple[Cancel, ...]

    @property
    def changed(self) -> bool:
        """Anything at all differed from our view."""
        return bool(
            self.fills_applied
            or self.confirmed
            or self.resynced
            or self.closed_filled
            or self.closed_canceled
            or self.adopted
            or self.canceled_unknown
            or self.position_mismatch
            or self.actions
        )

"""The order manager of one symbol: wanted quotes in, venue actions out.

Synchronous logic, safe to call from an asyncio loop: every method takes the time
(``now_ns``, int64 ns of the local clock) and returns what to send; nothing here blocks,
sleeps or reads a clock. The modify-or-replace choice is :func:`trader.order_policy.requote_action`,
the same jitted rule the backtest loop calls, so live and backtest requote alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from trader.order_policy import (
    ACTION_CANCEL,
    ACTION_MODIFY,
    ACTION_PLACE,
    ACTION_REPLACE,
    requote_action,
)
from trader.orders.actions import Cancel, Modify, Place, VenueAction, WantedQuotes
from trader.orders.config import OrderManagerConfig
from trader.orders.ledger import Fill, FillLedger
from trader.orders.order import (
    LEGAL_SOURCES,
    Order,
    OrderEvent,
    OrderStateError,
    OrderStatus,
    Side,
    Tif,
)
from trader.orders.registry import OrderRef, OrderRegistry, UnknownOrderError
from trader.orders.venue_sync import VenueFill, VenueOrder, VenueSyncReport

__all__ = ["STATE_VERSION", "OrderManager"]

STATE_VERSION = 1
"""Version of the :meth:`OrderManager.to_state` layout."""


class OrderManager:
    """Orders, position and cash of one symbol.

    Parameters
    ----------
    config : OrderManagerConfig
    session_id : int, optional
        High 64 bits of every cloid this manager makes; random when not given. Fix it in
        a backtest for reproducible ids.

    Notes
    -----
    At most one live order per side; no action on a side while its order awaits a venue
    reply. A replace is a cancel now and a place after the cancel's ack: one round trip
    slower than both at once, but a fill of the old order can never stack on the new one.
    """

    def __init__(self, config: OrderManagerConfig, session_id: int | None = None) -> None:
        self.config = config
        self.ledger = FillLedger(config.max_seen_trade_ids)
        self.registry = OrderRegistry(config.symbol, config.max_closed_orders, session_id)

    # -- views ---------------------------------------------------------------------------
    @property
    def position(self) -> float:
        """Signed position, base units."""
        return self.ledger.position

    @property
    def cash(self) -> float:
        """Cash from fills net of fees, quote currency."""
        return self.ledger.cash

    @property
    def orders(self) -> tuple[Order, ...]:
        """Every order held (live and recently finished), oldest first."""
        return self.registry.orders

    def live_orders(self, side: Side | None = None) -> list[Order]:
        """Orders the venue may still fill, oldest first, optionally of one side."""
        return self.registry.live(side)

    def order(self, ref: OrderRef) -> Order:
        """The order with this cloid (str) or venue oid (int); UnknownOrderError if none."""
        return self.registry.get(ref)

    def counts_by_status(self) -> dict[str, int]:
        """Number of held orders in each state (for the orders-by-state metric)."""
        return self.registry.counts_by_status()

    # -- quoting -------------------------------------------------------------------------
    def reconcile(self, wanted: np.ndarray | WantedQuotes, now_ns: int) -> list[VenueAction]:
        """Actions that move our orders towards the wanted quotes.

        Parameters
        ----------
        wanted : numpy.ndarray or WantedQuotes
            The strategy's quote vector (``trader.market_state`` ``OUT_*`` slots) or the
            same as a dataclass; size 0 turns a side off.
        now_ns : int
            Local time, int64 ns; also checks the ack timeouts.

        Returns
        -------
        list of Place, Modify, Cancel
            To send now, bids first. Each order's state already reflects its request.
        """
        if isinstance(wanted, np.ndarray):
            wanted = WantedQuotes.from_vector(wanted)
        actions: list[VenueAction] = []
        for side in (Side.BUY, Side.SELL):
            want_px, want_sz = wanted.side(side)
            self._reconcile_side(side, want_px, want_sz, now_ns, actions)
        return actions

    def _reconcile_side(
        self, side: Side, want_px: float, want_sz: float, now_ns: int, actions: list[VenueAction]
    ) -> None:
        cfg = self.config
        live = self.live_orders(side)
        pending = [o for o in live if o.is_pending]
        if pending:
            for order in pending:
                if now_ns - order.status_since_ns >= cfg.ack_timeout_ns:
                    # By cloid: an unanswered modify may have given the order a new oid
                    # at the venue (the cloid follows it); a cancel of the old oid would
                    # be refused and leave that order resting unknown.
                    actions.append(self._request_cancel(order, now_ns, by_cloid=True))
            return
        if len(live) > 1:
            # Only after adopting venue orders: keep the newest, wait for the cancels.
            actions.extend(self._request_cancel(o, now_ns) for o in live[:-1])
            return
        want_px, want_sz = self._round(side, want_px, want_sz)
        current = live[0] if live else None
        open_px = current.px if current is not None else math.nan
        open_sz = current.remaining if current is not None else 0.0
        keep_ticks = cfg.requote_tolerance_bps * 1e-4 * want_px / cfg.tick if want_sz > 0 else 0.0
        action = requote_action(
            open_px, open_sz, want_px, want_sz, cfg.tick, cfg.lot, cfg.max_modify_ticks,
            keep_ticks if math.isfinite(keep_ticks) else 0.0,
        )
        if action == ACTION_PLACE:
            actions.append(self._place(side, want_px, want_sz, cfg.tif, now_ns))
        elif action == ACTION_MODIFY and current is not None and current.venue_oid is not None:
            current.modify_request(want_px, want_sz, now_ns)
            actions.append(
                Modify(current.cloid, current.lifecycle_id, cfg.symbol, current.venue_oid,
                       side, want_px, want_sz, current.tif)
            )
        elif action in (ACTION_REPLACE, ACTION_CANCEL, ACTION_MODIFY) and current is not None:
            actions.append(self._request_cancel(current, now_ns))

    def _round(self, side: Side, px: float, sz: float) -> tuple[float, float]:
        tick, lot = self.config.tick, self.config.lot
        if math.isnan(px) or not sz > 0.0:
            return math.nan, 0.0
        # The epsilon keeps an already-rounded price where it is despite float error.
        steps = math.floor(px / tick + 1e-9) if side is Side.BUY else math.ceil(px / tick - 1e-9)
        lots = math.floor(sz / lot + 1e-9)
        if steps <= 0 or lots <= 0:
            return math.nan, 0.0
        return round(steps * tick, 12), round(lots * lot, 12)

    def _place(self, side: Side, px: float, sz: float, tif: Tif, now_ns: int) -> Place:
        order = self.registry.new_order(side, px, sz, tif, now_ns)
        order.submit(now_ns)
        self.registry.track(order)
        return Place(order.cloid, order.lifecycle_id, self.config.symbol, side, px, sz, tif)

    def _request_cancel(self, order: Order, now_ns: int, *, by_cloid: bool = False) -> Cancel:
        order.cancel_request(now_ns)
        oid = None if by_cloid else order.venue_oid
        return Cancel(order.cloid, order.lifecycle_id, self.config.symbol, oid, order.side)

    def cancel_all(self, now_ns: int) -> list[Cancel]:
        """Cancel every live order (the kill switch); orders already being cancelled are
        left to their pending cancel. Blocking new quotes is the risk layer's job."""
        return [
            self._request_cancel(order, now_ns)
            for order in self.registry.live()
            if order.status is not OrderStatus.PENDING_CANCEL
        ]

    # -- venue replies -------------------------------------------------------------------
    def on_ack(self, cloid: str, oid: int, now_ns: int) -> Order:
        """The venue accepted order ``cloid`` as ``oid``."""
        return self._apply(cloid, lambda o: o.ack(oid, now_ns))

    def on_reject(self, ref: OrderRef, reason: str, now_ns: int) -> Order:
        """The venue refused a new order; its side is free at the next reconcile."""
        return self._apply(ref, lambda o: o.reject(reason, now_ns))

    def on_modify_ack(self, ref: OrderRef, now_ns: int, new_oid: int | None = None) -> Order:
        """The modify took effect (``new_oid`` if the venue renumbered the order)."""
        return self._apply(ref, lambda o: o.modify_ack(now_ns, new_oid))

    def on_modify_reject(self, ref: OrderRef, reason: str, now_ns: int) -> Order:
        """The modify was refused; the order stands as acknowledged before."""
        return self._apply(ref, lambda o: o.modify_reject(reason, now_ns))

    def on_cancel_ack(self, ref: OrderRef, now_ns: int) -> Order:
        """The venue cancelled the order's remainder."""
        return self._apply(ref, lambda o: o.cancel_ack(now_ns))

    def on_cancel_reject(self, ref: OrderRef, reason: str, now_ns: int) -> Order:
        """The cancel was refused (usually already filled)."""
        return self._apply(ref, lambda o: o.cancel_reject(reason, now_ns))

    def on_expire(self, ref: OrderRef, now_ns: int) -> Order:
        """An IOC order's remainder was dropped."""
        return self._apply(ref, lambda o: o.expire(now_ns))

    def on_fill(
        self,
        trade_id: str | int,
        ref: OrderRef | None,
        px: float,
        qty: float,
        fee: float,
        ts_ns: int,
        *,
        side: Side | None = None,
    ) -> Fill | None:
        """Book a fill once per trade id, in whatever order fills arrive.

        Parameters
        ----------
        trade_id : str or int
            The venue's trade id (Hyperliquid ``tid``); a repeat is ignored.
        ref : str, int or None
            Cloid or venue oid of our order. A fill of an order we do not hold (finished
            long ago, or placed before a lost state) still moves position and cash, which
            needs ``side``.
        px, qty, fee : float
            Price (quote currency), size (base units, > 0), fee (quote currency, positive
            paid, negative rebate).
        ts_ns : int
            Venue fill time, int64 ns.
        side : Side, optional
            The fill's side as the venue reports it; checked against the order's.

        Returns
        -------
        Fill or None
            The booked fill, or None for a duplicate.

        Raises
        ------
        UnknownOrderError
            Neither the order nor ``side`` is known (nothing booked).
        OrderStateError
            The order's state cannot fill (never sent, or rejected). Position and cash
            already include the fill: the venue says it happened.
        """
        order = self.registry.find(ref) if ref is not None else None
        if order is None and side is None:
            raise UnknownOrderError(
                f"{self.config.symbol}: fill {trade_id} for unknown order {ref!r} without a side"
            )
        if order is not None and side is not None and side is not order.side:
            raise ValueError(
                f"fill {trade_id}: side {side.value} but order {order.lifecycle_id} "
                f"is {order.side.value}"
            )
        fill_side = order.side if order is not None else side
        assert fill_side is not None
        if not self.ledger.apply(trade_id, fill_side, px, qty, fee):
            return None
        if order is not None:
            if order.status not in LEGAL_SOURCES[OrderEvent.FILL]:
                raise OrderStateError(order, OrderEvent.FILL, "booked anyway: the venue filled it")
            order.fill(px, qty, ts_ns)
            self.registry.track(order)
        return Fill(
            trade_id=str(trade_id),
            cloid=order.cloid if order is not None else None,
            oid=order.venue_oid if order is not None else (ref if isinstance(ref, int) else None),
            side=fill_side, px=px, qty=qty, fee=fee, ts_ns=ts_ns,
        )

    # -- reconnect -----------------------------------------------------------------------
    def reconcile_with_venue(
        self,
        open_orders: Sequence[VenueOrder],
        position: float,
        fills_since: Sequence[VenueFill],
        now_ns: int,
    ) -> VenueSyncReport:
        """Make our view match the venue's after a reconnect; the venue wins.

        Fills first (deduplicated), so an order the venue no longer lists is closed as
        filled when its fills say so. Then: pending local orders the venue shows are
        resolved and corrected to the venue's price and size; local live orders it does
        not show are closed (their remainder is gone); venue orders we do not know are
        cancelled, or adopted one per free side if so configured; the venue's position
        replaces ours and a difference is reported.
        """
        was_live = self.registry.live()
        fills = []
        for vf in fills_since:
            known_cloid = vf.cloid is not None and self.registry.holds(vf.cloid)
            ref: OrderRef | None = vf.cloid if known_cloid else vf.oid
            fill = self.on_fill(vf.trade_id, ref, vf.px, vf.qty, vf.fee, vf.ts_ns, side=vf.side)
            if fill is not None:
                fills.append(fill)
        closed_filled = [o.cloid for o in was_live if o.status is OrderStatus.FILLED]

        actions: list[Cancel] = []
        confirmed: list[str] = []
        resynced: list[str] = []
        matched: set[str] = set()
        unknown: list[VenueOrder] = []
        for vo in open_orders:
            order = self.registry.find(vo.cloid) if vo.cloid is not None else None
            if order is None:
                order = self.registry.find(vo.oid)
            if order is None or not order.is_live:
                unknown.append(vo)
                continue
            matched.add(order.cloid)
            if order.is_pending:
                confirmed.append(order.cloid)
            self._sync_live(order, vo, now_ns, actions, resynced)

        closed_canceled = []
        for order in [o for o in self.registry.live() if o.cloid not in matched]:
            order.venue_gone(now_ns)
            self.registry.track(order)
            closed_canceled.append(order.cloid)

        adopted: list[str] = []
        canceled_unknown: list[str] = []
        for vo in unknown:
            cloid = vo.cloid if vo.cloid is not None and not self.registry.holds(vo.cloid) else None
            order = self.registry.new_order(vo.side, vo.px, vo.sz, vo.tif, now_ns, cloid)
            order.submit(now_ns)
            order.ack(vo.oid, now_ns)
            if self.config.unknown_venue_orders == "adopt" and not self.live_orders(vo.side):
                adopted.append(order.cloid)
            else:
                actions.append(self._request_cancel(order, now_ns))
                canceled_unknown.append(order.cloid)
            self.registry.track(order)

        local_position = self.ledger.position
        mismatch = abs(position - local_position) >= 0.5 * self.config.lot
        self.ledger.position = float(position)
        return VenueSyncReport(
            fills_applied=tuple(fills),
            confirmed=tuple(confirmed),
            resynced=tuple(resynced),
            closed_filled=tuple(closed_filled),
            closed_canceled=tuple(closed_canceled),
            adopted=tuple(adopted),
            canceled_unknown=tuple(canceled_unknown),
            local_position=local_position,
            venue_position=float(position),
            position_mismatch=mismatch,
            actions=tuple(actions),
        )

    def _sync_live(
        self, order: Order, vo: VenueOrder, now_ns: int,
        actions: list[Cancel], resynced: list[str],
    ) -> None:
        cfg = self.config
        if order.status is OrderStatus.PENDING_NEW:
            order.ack(vo.oid, now_ns)
        elif order.status is OrderStatus.PENDING_MODIFY:
            applied = (abs(vo.px - order.pending_px) < 0.5 * cfg.tick
                       and abs(vo.sz - order.pending_sz) < 0.5 * cfg.lot)
            if applied:
                order.modify_ack(now_ns, vo.oid)
            else:
                order.modify_reject("not applied at the venue after reconnect", now_ns)
        elif order.status is OrderStatus.PENDING_CANCEL:
            # The cancel or its reply was lost with the connection: send it again.
            actions.append(self._request_cancel(order, now_ns))
        if order.venue_oid != vo.oid or abs(order.px - vo.px) >= 0.5 * cfg.tick or (
            abs(order.remaining - vo.sz) >= 0.5 * cfg.lot
        ):
            order.venue_oid = vo.oid
            order.px = vo.px
            order.size = order.filled_qty + vo.sz
            resynced.append(order.cloid)
        self.registry.track(order)

    def _apply(self, ref: OrderRef, transition: Any) -> Order:
        order = self.registry.get(ref)
        transition(order)
        self.registry.track(order)
        return order

    # -- snapshot ------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """A JSON-safe snapshot: orders held, position, cash, fees, recent trade ids."""
        return {
            "version": STATE_VERSION,
            "symbol": self.config.symbol,
            **self.registry.to_state(),
            "ledger": self.ledger.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], config: OrderManagerConfig) -> OrderManager:
        """Resume from :meth:`to_state`; cloids continue the saved session's sequence."""
        if state.get("version") != STATE_VERSION:
            version = state.get("version")
            raise ValueError(f"order state version {version!r}, expected {STATE_VERSION}")
        if state["symbol"] != config.symbol:
            raise ValueError(f"order state is for {state['symbol']}, not {config.symbol}")
        manager = cls(config)
        manager.registry = OrderRegistry.from_state(state, config.symbol, config.max_closed_orders)
        manager.ledger = FillLedger.from_state(state["ledger"], config.max_seen_trade_ids)
        return manager

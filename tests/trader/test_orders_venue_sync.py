"""After a reconnect the venue's view wins: orders, fills and position are reconciled."""

from __future__ import annotations

import pytest

from trader.orders import (
    Cancel,
    Modify,
    OrderManager,
    OrderManagerConfig,
    OrderStatus,
    Place,
    Side,
    VenueFill,
    VenueOrder,
    WantedQuotes,
)

SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC
CONFIG = OrderManagerConfig(symbol="ETH", tick=0.01, lot=0.01, ack_timeout_ns=SEC)
QUOTES = WantedQuotes(2000.0, 0.5, 2001.0, 0.5)


def quoting_manager(config: OrderManagerConfig = CONFIG) -> tuple[OrderManager, str, str]:
    """Bid 2000.00 x 0.5 resting as oid 21, ask 2001.00 x 0.5 as oid 22."""
    om = OrderManager(config, session_id=5)
    bid, ask = om.reconcile(QUOTES, T0)
    om.on_ack(bid.cloid, 21, T0 + 1)
    om.on_ack(ask.cloid, 22, T0 + 1)
    return om, bid.cloid, ask.cloid


def venue_copy(om: OrderManager, cloid: str) -> VenueOrder:
    order = om.order(cloid)
    assert order.venue_oid is not None
    return VenueOrder(order.venue_oid, cloid, order.side, order.px, order.remaining)


def test_nothing_changed_reports_nothing():
    om, bid, ask = quoting_manager()
    report = om.reconcile_with_venue(
        [venue_copy(om, bid), venue_copy(om, ask)], 0.0, [], T0 + SEC
    )
    assert not report.changed
    assert len(om.live_orders()) == 2


def test_unknown_venue_order_is_cancelled_by_default():
    om, bid, ask = quoting_manager()
    stray = VenueOrder(oid=99, cloid=None, side=Side.BUY, px=1990.0, sz=1.0)
    report = om.reconcile_with_venue(
        [venue_copy(om, bid), venue_copy(om, ask), stray], 0.0, [], T0 + SEC
    )
    (cancel,) = report.actions
    assert isinstance(cancel, Cancel) and cancel.oid == 99
    assert report.canceled_unknown == (cancel.cloid,)
    assert report.adopted == ()
    assert om.order(99).status is OrderStatus.PENDING_CANCEL
    # Two live bids now: no quoting on that side until the stray is gone.
    assert [type(a) for a in om.reconcile(WantedQuotes(2000.02, 0.5, 2001.0, 0.5), T0 + SEC)] == []
    om.on_cancel_ack(99, T0 + SEC + 1)
    (modify,) = om.reconcile(WantedQuotes(2000.02, 0.5, 2001.0, 0.5), T0 + SEC + 2)
    assert isinstance(modify, Modify) and modify.oid == 21


def test_unknown_venue_order_is_adopted_on_a_free_side_when_configured():
    config = OrderManagerConfig(
        symbol="ETH", tick=0.01, lot=0.01, unknown_venue_orders="adopt"
    )
    om = OrderManager(config, session_id=5)
    cloid = "0x" + "ab" * 16
    orphans = [
        VenueOrder(oid=70, cloid=cloid, side=Side.SELL, px=2001.0, sz=0.5),
        VenueOrder(oid=71, cloid=None, side=Side.SELL, px=2003.0, sz=0.5),
    ]
    report = om.reconcile_with_venue(orphans, 0.0, [], T0)
    assert report.adopted == (cloid,)
    assert len(report.canceled_unknown) == 1
    assert [(type(a), a.oid) for a in report.actions] == [(Cancel, 71)]
    adopted = om.order(cloid)
    assert (adopted.status, adopted.venue_oid, adopted.px) == (OrderStatus.OPEN, 70, 2001.0)
    # The adopted ask is our quote now: unchanged quotes keep it.
    om.on_cancel_ack(71, T0 + 1)
    actions = om.reconcile(QUOTES, T0 + 2)
    assert [(type(a), a.side) for a in actions] == [(Place, Side.BUY)]


def test_local_order_missing_at_venue_without_fills_is_cancelled():
    om, bid, ask = quoting_manager()
    report = om.reconcile_with_venue([venue_copy(om, ask)], 0.0, [], T0 + SEC)
    assert report.closed_canceled == (bid,)
    assert report.closed_filled == ()
    assert om.order(bid).status is OrderStatus.CANCELED
    (place,) = om.reconcile(QUOTES, T0 + SEC + 1)
    assert place.side is Side.BUY


def test_local_order_missing_at_venue_with_fills_closes_filled():
    om, bid, ask = quoting_manager()
    fills = [
        VenueFill(trade_id=1001, oid=21, cloid=None, side=Side.BUY, px=2000.0, qty=0.2,
                  fee=0.04, ts_ns=T0 + 5),
        VenueFill(trade_id=1002, oid=21, cloid=bid, side=Side.BUY, px=2000.0, qty=0.3,
                  fee=0.06, ts_ns=T0 + 6),
    ]
    report = om.reconcile_with_venue([venue_copy(om, ask)], 0.5, fills, T0 + SEC)
    assert report.closed_filled == (bid,)
    assert report.closed_canceled == ()
    assert [f.trade_id for f in report.fills_applied] == ["1001", "1002"]
    assert not report.position_mismatch
    assert om.order(bid).status is OrderStatus.FILLED
    assert om.cash == pytest.approx(-2000.0 * 0.5 - 0.1)


def test_partly_filled_missing_order_closes_cancelled_with_its_fills():
    om, bid, ask = quoting_manager()
    om.on_fill(1001, 21, 2000.0, 0.2, 0.0, T0 + 5)  # seen live before the drop
    fills = [
        VenueFill(1001, 21, bid, Side.BUY, 2000.0, 0.2, 0.0, T0 + 5),
        VenueFill(1003, 21, bid, Side.BUY, 2000.0, 0.1, 0.0, T0 + 7),
    ]
    report = om.reconcile_with_venue([venue_copy(om, ask)], 0.3, fills, T0 + SEC)
    assert [f.trade_id for f in report.fills_applied] == ["1003"]
    assert report.closed_canceled == (bid,)
    order = om.order(bid)
    assert order.status is OrderStatus.CANCELED and order.filled_qty == pytest.approx(0.3)
    assert om.position == pytest.approx(0.3)


def test_position_mismatch_is_reported_and_the_venue_position_wins():
    om, bid, ask = quoting_manager()
    om.on_fill(1, 21, 2000.0, 0.1, 0.0, T0 + 2)
    report = om.reconcile_with_venue(
        [venue_copy(om, bid), venue_copy(om, ask)], 0.25, [], T0 + SEC
    )
    assert report.position_mismatch and report.changed
    assert (report.local_position, report.venue_position) == (pytest.approx(0.1), 0.25)
    assert om.position == 0.25


def test_pending_orders_the_venue_shows_are_resolved_and_corrected():
    om = OrderManager(CONFIG, session_id=5)
    bid, ask = om.reconcile(QUOTES, T0)
    om.on_ack(ask.cloid, 22, T0 + 1)
    (modify,) = om.reconcile(WantedQuotes(2000.0, 0.5, 2001.01, 0.5), T0 + 2)
    # The connection dropped: the bid's ack and the ask's modify ack were lost.
    venue = [
        VenueOrder(21, bid.cloid, Side.BUY, 2000.0, 0.5),
        VenueOrder(23, ask.cloid, Side.SELL, 2001.01, 0.5),
    ]
    report = om.reconcile_with_venue(venue, 0.0, [], T0 + SEC)
    assert set(report.confirmed) == {bid.cloid, ask.cloid}
    assert om.order(bid.cloid).status is OrderStatus.OPEN and om.order(21).cloid == bid.cloid
    ask_order = om.order(modify.cloid)
    assert (ask_order.status, ask_order.px, ask_order.venue_oid) == (OrderStatus.OPEN, 2001.01, 23)


def test_venue_price_and_size_override_a_stale_local_view():
    om, bid, ask = quoting_manager()
    venue = [venue_copy(om, bid), VenueOrder(22, ask, Side.SELL, 2001.0, 0.3)]
    report = om.reconcile_with_venue(venue, 0.0, [], T0 + SEC)
    assert report.resynced == (ask,)
    assert om.order(ask).remaining == pytest.approx(0.3)


def test_pending_cancel_still_open_at_venue_is_sent_again():
    om, bid, _ask = quoting_manager()
    om.cancel_all(T0 + 2)
    om.on_cancel_ack(22, T0 + 3)
    report = om.reconcile_with_venue([venue_copy(om, bid)], 0.0, [], T0 + SEC)
    assert [(type(a), a.oid) for a in report.actions] == [(Cancel, 21)]


def test_duplicate_fills_across_the_reconnect_are_applied_once():
    om, bid, ask = quoting_manager()
    om.on_fill(7, 22, 2001.0, 0.5, 0.1, T0 + 2)
    fills = [VenueFill(7, 22, ask, Side.SELL, 2001.0, 0.5, 0.1, T0 + 2)]
    report = om.reconcile_with_venue([venue_copy(om, bid)], -0.5, fills, T0 + SEC)
    assert report.fills_applied == ()
    assert om.position == -0.5 and om.ledger.n_fills == 1
    assert not report.position_mismatch

"""The order manager: wanted quotes in, venue actions out; replies and fills applied once."""

from __future__ import annotations

import numpy as np
import pytest

from trader.market_state import OUT_ASK_PX, OUT_ASK_SZ, OUT_BID_PX, OUT_BID_SZ, new_quote
from trader.order_policy import ACTION_KEEP, ACTION_MODIFY, ACTION_REPLACE, requote_action
from trader.orders import (
    Cancel,
    Modify,
    OrderManager,
    OrderManagerConfig,
    OrderStateError,
    OrderStatus,
    Place,
    Side,
    Tif,
    UnknownOrderError,
    VenueAction,
    WantedQuotes,
)

SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC
CONFIG = OrderManagerConfig(
    symbol="BTC", tick=0.5, lot=0.001, max_modify_ticks=2.0, tif=Tif.ALO, ack_timeout_ns=SEC
)


def quotes(bid_px=100.0, bid_sz=0.01, ask_px=101.0, ask_sz=0.01) -> WantedQuotes:
    return WantedQuotes(bid_px, bid_sz, ask_px, ask_sz)


def placed(actions: list[VenueAction]) -> list[Place]:
    """The actions, asserted to be all Place."""
    assert all(isinstance(a, Place) for a in actions), actions
    return [a for a in actions if isinstance(a, Place)]


def manager() -> OrderManager:
    return OrderManager(CONFIG, session_id=0xABC)


def quoting_manager(oids=(11, 12)) -> OrderManager:
    """Both sides resting: bid 100.0 (oid 11), ask 101.0 (oid 12), 0.01 each."""
    om = manager()
    for action, oid in zip(om.reconcile(quotes(), T0), oids, strict=True):
        om.on_ack(action.cloid, oid, T0 + 1000)
    return om


def test_reconcile_from_nothing_places_both_sides():
    om = manager()
    actions = om.reconcile(quotes(), T0)
    assert [type(a) for a in actions] == [Place, Place]
    bid, ask = placed(actions)
    assert (bid.side, bid.px, bid.sz, bid.tif) == (Side.BUY, 100.0, 0.01, Tif.ALO)
    assert (ask.side, ask.px, ask.sz) == (Side.SELL, 101.0, 0.01)
    assert bid.cloid != ask.cloid and bid.symbol == "BTC"
    assert [o.status for o in om.live_orders()] == [OrderStatus.PENDING_NEW] * 2


def test_reconcile_reads_the_strategy_quote_vector():
    vector = new_quote()
    vector[OUT_BID_PX], vector[OUT_BID_SZ] = 100.0, 0.01
    vector[OUT_ASK_PX], vector[OUT_ASK_SZ] = 101.0, 0.0
    actions = placed(manager().reconcile(vector, T0))
    assert [(a.side, a.px) for a in actions] == [(Side.BUY, 100.0)]


def test_empty_quote_vector_places_nothing():
    assert manager().reconcile(new_quote(), T0) == []


def test_wanted_prices_round_away_from_the_touch_and_sizes_down_to_the_lot():
    actions = placed(manager().reconcile(quotes(bid_px=100.3, bid_sz=0.0109, ask_px=100.7), T0))
    assert [(a.px, a.sz) for a in actions] == [(100.0, 0.01), (101.0, 0.01)]


def test_size_under_one_lot_quotes_nothing():
    assert manager().reconcile(quotes(bid_sz=0.0004, ask_sz=0.0), T0) == []


def test_unchanged_quotes_keep_both_orders():
    om = quoting_manager()
    assert om.reconcile(quotes(), T0 + SEC) == []


def test_one_tick_move_modifies_in_place_with_the_venue_oid():
    om = quoting_manager()
    assert requote_action(100.0, 0.01, 100.5, 0.01, 0.5, 0.001, 2.0) == ACTION_MODIFY
    actions = om.reconcile(quotes(bid_px=100.5), T0 + SEC)
    assert len(actions) == 1 and isinstance(actions[0], Modify)
    modify = actions[0]
    assert (modify.oid, modify.side, modify.px, modify.sz) == (11, Side.BUY, 100.5, 0.01)
    order = om.order(modify.cloid)
    assert order.status is OrderStatus.PENDING_MODIFY and order.px == 100.0
    om.on_modify_ack(modify.cloid, T0 + SEC + 10)
    assert (order.status, order.px) == (OrderStatus.OPEN, 100.5)
    assert om.reconcile(quotes(bid_px=100.5), T0 + 2 * SEC) == []


def test_size_change_at_same_price_is_a_modify():
    om = quoting_manager()
    (modify,) = om.reconcile(quotes(ask_sz=0.02), T0 + SEC)
    assert isinstance(modify, Modify) and (modify.side, modify.sz) == (Side.SELL, 0.02)


def test_large_move_cancels_then_places_after_the_cancel_ack():
    om = quoting_manager()
    assert requote_action(100.0, 0.01, 98.0, 0.01, 0.5, 0.001, 2.0) == ACTION_REPLACE
    (cancel,) = om.reconcile(quotes(bid_px=98.0), T0 + SEC)
    assert isinstance(cancel, Cancel) and cancel.oid == 11
    # Never two live orders on a side: the new bid waits for the old one to go.
    assert om.reconcile(quotes(bid_px=98.0), T0 + SEC + 10) == []
    om.on_cancel_ack(11, T0 + SEC + 20)
    (place,) = placed(om.reconcile(quotes(bid_px=98.0), T0 + SEC + 30))
    assert isinstance(place, Place) and (place.side, place.px) == (Side.BUY, 98.0)
    assert len(om.live_orders(Side.BUY)) == 1


def test_side_whose_size_goes_to_zero_is_cancelled():
    om = quoting_manager()
    (cancel,) = om.reconcile(quotes(ask_sz=0.0), T0 + SEC)
    assert isinstance(cancel, Cancel) and cancel.oid == 12
    om.on_cancel_ack(cancel.cloid, T0 + SEC + 5)
    assert om.reconcile(quotes(ask_sz=0.0), T0 + 2 * SEC) == []
    assert om.order(cancel.cloid).status is OrderStatus.CANCELED


def test_no_action_on_a_side_while_its_order_awaits_a_reply():
    om = manager()
    om.reconcile(quotes(), T0)
    assert om.reconcile(quotes(bid_px=95.0, ask_sz=0.0), T0 + SEC // 2) == []
    om2 = quoting_manager()
    om2.reconcile(quotes(bid_px=100.5), T0 + SEC)  # bid modify in flight
    actions = om2.reconcile(quotes(bid_px=99.0, ask_px=101.5), T0 + SEC + 10)
    assert [(type(a), a.side) for a in actions] == [(Modify, Side.SELL)]


def test_ack_timeout_treats_order_as_unknown_and_cancels_by_cloid():
    om = manager()
    bid, ask = om.reconcile(quotes(), T0)
    om.on_ack(ask.cloid, 12, T0 + 10)
    assert om.reconcile(quotes(), T0 + SEC - 1) == []
    (cancel,) = om.reconcile(quotes(), T0 + SEC)
    assert cancel == Cancel(bid.cloid, bid.lifecycle_id, "BTC", None, Side.BUY)
    assert om.order(bid.cloid).status is OrderStatus.PENDING_CANCEL
    # The cancel itself times out too: it is sent again, one timeout later.
    assert om.reconcile(quotes(), T0 + 2 * SEC - 1) == []
    (again,) = om.reconcile(quotes(), T0 + 2 * SEC)
    assert again.cloid == bid.cloid
    # A late ack records the oid; the cancel ack then frees the side.
    om.on_ack(bid.cloid, 11, T0 + 2 * SEC + 1)
    om.on_cancel_ack(11, T0 + 2 * SEC + 2)
    (place,) = placed(om.reconcile(quotes(), T0 + 2 * SEC + 3))
    assert isinstance(place, Place) and place.side is Side.BUY and place.cloid != bid.cloid


def test_an_unanswered_modify_is_cancelled_by_cloid_not_by_its_old_oid():
    om = quoting_manager()
    (modify,) = om.reconcile(quotes(bid_px=100.5), T0 + SEC)
    assert isinstance(modify, Modify) and modify.oid is not None
    # The venue applied it under a new oid, but neither answer nor update came back.
    (cancel,) = om.reconcile(quotes(bid_px=100.5), T0 + 2 * SEC)
    assert cancel.cloid == modify.cloid and cancel.oid is None
    assert om.order(modify.cloid).status is OrderStatus.PENDING_CANCEL


def test_rejected_order_frees_its_side_for_a_new_place():
    om = manager()
    bid, _ask = om.reconcile(quotes(), T0)
    reason = "Post only order would have immediately matched"
    om.on_reject(bid.cloid, reason, T0 + 5)
    assert om.order(bid.cloid).reason == reason
    (place,) = placed(om.reconcile(quotes(), T0 + 10))
    assert place.side is Side.BUY and place.cloid != bid.cloid


def test_fill_before_ack_counts_and_late_ack_is_recorded():
    om = manager()
    bid, _ask = om.reconcile(quotes(), T0)
    om.on_fill("t1", bid.cloid, 100.0, 0.01, 0.0, T0 + 1)
    om.on_ack(bid.cloid, 11, T0 + 2)
    order = om.order(11)
    assert order.status is OrderStatus.FILLED and om.position == pytest.approx(0.01)


def test_duplicate_and_out_of_order_fills_are_applied_once():
    om = quoting_manager()
    stream = [("t2", 100.0, 0.004, T0 + 20), ("t1", 100.0, 0.003, T0 + 10),
              ("t2", 100.0, 0.004, T0 + 20), ("t3", 100.0, 0.003, T0 + 30),
              ("t1", 100.0, 0.003, T0 + 10)]
    booked = [om.on_fill(tid, 11, px, qty, 0.0, ts) for tid, px, qty, ts in stream]
    assert [f.trade_id if f else None for f in booked] == ["t2", "t1", None, "t3", None]
    assert om.position == pytest.approx(0.01)
    assert om.ledger.n_fills == 3
    bid = om.order(11)
    assert bid.status is OrderStatus.FILLED and bid.filled_qty == pytest.approx(0.01)


def test_fill_after_cancel_request_and_after_cancel_ack_still_counts():
    om = quoting_manager()
    (cancel,) = om.reconcile(quotes(ask_sz=0.0), T0 + SEC)
    om.on_fill(501, 12, 101.0, 0.004, 0.0, T0 + SEC + 1)  # matched before the cancel arrived
    om.on_cancel_ack(12, T0 + SEC + 2)
    om.on_fill(502, cancel.cloid, 101.0, 0.002, 0.0, T0 + SEC + 1)  # reported late
    ask = om.order(cancel.cloid)
    assert ask.status is OrderStatus.CANCELED and ask.filled_qty == pytest.approx(0.006)
    assert om.position == pytest.approx(-0.006)
    assert om.cash == pytest.approx(101.0 * 0.006)


def test_cancel_rejected_because_filled_ends_filled():
    om = quoting_manager()
    om.reconcile(quotes(bid_px=90.0), T0 + SEC)
    om.on_cancel_reject(11, "already filled", T0 + SEC + 1)
    assert om.order(11).status is OrderStatus.OPEN
    om.on_fill("t9", 11, 100.0, 0.01, 0.0, T0 + SEC)
    assert om.order(11).status is OrderStatus.FILLED


def test_position_and_cash_after_fills_with_fees_and_rebates():
    om = quoting_manager()
    om.on_fill(1, 11, 100.0, 0.006, 0.0012, T0 + 1)    # buy, taker-like fee paid
    om.on_fill(2, 12, 101.0, 0.01, -0.000202, T0 + 2)  # sell, maker rebate
    om.on_fill(3, 11, 99.5, 0.004, 0.0004, T0 + 3)     # buy
    assert om.position == pytest.approx(0.006 - 0.01 + 0.004, abs=1e-15)
    expected_cash = -100.0 * 0.006 - 0.0012 + 101.0 * 0.01 + 0.000202 - 99.5 * 0.004 - 0.0004
    assert om.cash == pytest.approx(expected_cash, rel=1e-12)
    assert om.ledger.fees_paid == pytest.approx(0.0012 - 0.000202 + 0.0004)
    assert om.order(11).avg_fill_px == pytest.approx((100.0 * 0.006 + 99.5 * 0.004) / 0.01)


def test_fill_of_unknown_order_needs_the_side_and_then_moves_position():
    om = manager()
    with pytest.raises(UnknownOrderError):
        om.on_fill("x", 999, 100.0, 0.01, 0.0, T0)
    assert om.position == 0.0
    fill = om.on_fill("x", 999, 100.0, 0.01, 0.0, T0, side=Side.SELL)
    assert fill is not None and fill.cloid is None and fill.oid == 999
    assert om.position == pytest.approx(-0.01)


def test_fill_with_the_wrong_side_is_refused():
    om = quoting_manager()
    with pytest.raises(ValueError, match="side"):
        om.on_fill("t1", 11, 100.0, 0.01, 0.0, T0, side=Side.SELL)
    assert om.position == 0.0


def test_cancel_all_cancels_every_live_order_once():
    om = quoting_manager()
    om.reconcile(quotes(bid_px=100.5), T0 + SEC)  # bid modify pending
    cancels = om.cancel_all(T0 + SEC + 1)
    assert sorted(c.oid or 0 for c in cancels) == [11, 12]
    assert all(o.status is OrderStatus.PENDING_CANCEL for o in om.live_orders())
    assert om.cancel_all(T0 + SEC + 2) == []
    for c in cancels:
        om.on_cancel_ack(c.cloid, T0 + SEC + 3)
    assert om.live_orders() == []


def test_cancel_all_of_unacked_order_cancels_by_cloid():
    om = manager()
    om.reconcile(quotes(ask_sz=0.0), T0)
    (cancel,) = om.cancel_all(T0 + 1)
    assert cancel.oid is None and cancel.cloid.startswith("0x") and cancel.side is Side.BUY


def test_replies_for_unknown_orders_raise():
    om = manager()
    with pytest.raises(UnknownOrderError):
        om.on_ack("0x" + "0" * 32, 1, T0)
    with pytest.raises(UnknownOrderError):
        om.on_cancel_ack(123, T0)


def test_duplicate_cancel_ack_is_an_illegal_transition():
    om = quoting_manager()
    om.cancel_all(T0 + 1)
    om.on_cancel_ack(11, T0 + 2)
    with pytest.raises(OrderStateError, match="cancel_ack in state canceled"):
        om.on_cancel_ack(11, T0 + 3)


def test_finished_orders_are_retired_beyond_the_bound_but_fills_still_count():
    config = OrderManagerConfig(symbol="BTC", tick=0.5, lot=0.001, max_closed_orders=2)
    om = OrderManager(config, session_id=1)
    cloids = []
    for i in range(4):
        (place,) = om.reconcile(quotes(ask_sz=0.0), T0 + i * 10)
        om.on_reject(place.cloid, "no", T0 + i * 10 + 1)
        cloids.append(place.cloid)
    assert [o.cloid for o in om.orders] == cloids[2:]
    om.on_fill("late", cloids[0], 100.0, 0.01, 0.0, T0 + 100, side=Side.BUY)
    assert om.position == pytest.approx(0.01)


def test_counts_by_status_counts_held_orders():
    om = quoting_manager()
    om.reconcile(quotes(ask_sz=0.0), T0 + SEC)
    counts = om.counts_by_status()
    assert counts["open"] == 1 and counts["pending_cancel"] == 1 and sum(counts.values()) == 2


def test_config_refuses_nonsense():
    with pytest.raises(ValueError, match="tick"):
        OrderManagerConfig(symbol="BTC", tick=0.0, lot=0.001)
    with pytest.raises(ValueError, match="unknown_venue_orders"):
        OrderManagerConfig(symbol="BTC", tick=0.5, lot=0.001, unknown_venue_orders="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bid_px"):
        WantedQuotes(np.nan, 0.01, 101.0, 0.01)


def test_a_requote_within_the_tolerance_keeps_the_order_and_beyond_it_moves_it():
    # 100.0 open, tick 0.01: 3 ticks away, tolerance 5 ticks -> keep; 6 ticks -> replace.
    assert requote_action(100.0, 0.01, 100.03, 0.01, 0.01, 0.001, 2.0, 5.0) == ACTION_KEEP
    assert requote_action(100.0, 0.01, 100.06, 0.01, 0.01, 0.001, 2.0, 5.0) == ACTION_REPLACE
    # A size change is never absorbed by the price tolerance.
    assert requote_action(100.0, 0.01, 100.03, 0.02, 0.01, 0.001, 2.0, 5.0) == ACTION_REPLACE
    # Tolerance 0 is the exact rule.
    assert requote_action(100.0, 0.01, 100.01, 0.01, 0.01, 0.001, 2.0, 0.0) == ACTION_MODIFY

"""The order manager's state survives a JSON round trip and resumes where it stopped."""

from __future__ import annotations

import json

import pytest

from trader.orders import (
    FillLedger,
    OrderManager,
    OrderManagerConfig,
    OrderStatus,
    Place,
    Side,
    WantedQuotes,
)

SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC
CONFIG = OrderManagerConfig(symbol="BTC", tick=1.0, lot=0.001, max_seen_trade_ids=3)
QUOTES = WantedQuotes(50_000.0, 0.01, 50_010.0, 0.01)


def busy_manager() -> OrderManager:
    """Orders in several states, fills with fees, more trade ids than are remembered."""
    om = OrderManager(CONFIG, session_id=0xFEED)
    bid, ask = om.reconcile(QUOTES, T0)
    om.on_ack(bid.cloid, 1, T0 + 1)
    om.on_ack(ask.cloid, 2, T0 + 1)
    for tid in range(4):
        om.on_fill(f"t{tid}", 1, 50_000.0, 0.001, 0.01, T0 + 10 + tid)
    om.reconcile(WantedQuotes(50_001.0, 0.006, 50_010.0, 0.01), T0 + 20)  # bid modify pending
    om.on_fill("t9", 2, 50_010.0, 0.01, -0.005, T0 + 21)  # ask filled
    return om


def test_state_round_trips_through_json():
    om = busy_manager()
    state = om.to_state()
    text = json.dumps(state, allow_nan=False)
    restored = OrderManager.from_state(json.loads(text), CONFIG)
    assert restored.to_state() == state
    assert restored.position == pytest.approx(om.position)
    assert restored.cash == pytest.approx(om.cash)
    assert [o.status for o in restored.orders] == [OrderStatus.PENDING_MODIFY, OrderStatus.FILLED]


def test_seen_trade_ids_are_bounded_to_the_newest():
    state = busy_manager().to_state()
    assert state["ledger"]["seen_trade_ids"] == ["t2", "t3", "t9"]


def test_restored_manager_still_drops_duplicates_and_finds_orders_by_oid():
    restored = OrderManager.from_state(busy_manager().to_state(), CONFIG)
    assert restored.on_fill("t3", 1, 50_000.0, 0.001, 0.01, T0 + 30) is None
    restored.on_modify_ack(1, T0 + 31)
    bid = restored.order(1)
    assert (bid.px, bid.remaining) == (50_001.0, pytest.approx(0.006))
    restored.on_fill("t10", 1, 50_001.0, 0.006, 0.0, T0 + 32)
    assert bid.status is OrderStatus.FILLED
    assert restored.position == pytest.approx(0.004 - 0.01 + 0.006, abs=1e-12)


def test_restored_manager_continues_the_cloid_sequence():
    om = busy_manager()
    restored = OrderManager.from_state(om.to_state(), CONFIG)
    held = {o.cloid for o in om.orders}
    actions = restored.reconcile(QUOTES, T0 + SEC)
    places = [a for a in actions if isinstance(a, Place)]
    assert [p.side for p in places] == [Side.SELL]
    assert places[0].cloid not in held
    assert places[0].lifecycle_id == "BTC-000003"


def test_state_of_another_symbol_or_version_is_refused():
    state = busy_manager().to_state()
    with pytest.raises(ValueError, match="BTC, not ETH"):
        OrderManager.from_state(state, OrderManagerConfig(symbol="ETH", tick=0.1, lot=0.01))
    with pytest.raises(ValueError, match="version"):
        OrderManager.from_state({**state, "version": 99}, CONFIG)


def test_ledger_books_buys_and_sells_with_fees():
    ledger = FillLedger(max_seen_trade_ids=10)
    assert ledger.apply(1, Side.BUY, 100.0, 2.0, 0.2)
    assert ledger.apply(2, Side.SELL, 110.0, 1.0, -0.05)
    assert not ledger.apply("1", Side.BUY, 100.0, 2.0, 0.2)  # same id, int or str
    assert (ledger.position, ledger.cash, ledger.fees_paid) == (
        1.0, pytest.approx(-200.2 + 110.05), pytest.approx(0.15))
    with pytest.raises(ValueError, match="positive"):
        ledger.apply(3, Side.BUY, 100.0, 0.0, 0.0)

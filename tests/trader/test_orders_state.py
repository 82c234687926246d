"""The order state machine: every legal transition lands where it should, every other
event raises an OrderStateError that names the order, its state and the event."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from trader.orders import (
    LEGAL_SOURCES,
    Order,
    OrderEvent,
    OrderStateError,
    OrderStatus,
    Side,
    Tif,
    make_cloid,
)

S = OrderStatus
E = OrderEvent
T0 = 1_000_000_000


def new_order(tif: Tif = Tif.IOC) -> Order:
    return Order(
        cloid=make_cloid(7, 1), lifecycle_id="BTC-000001", side=Side.BUY,
        px=100.0, size=1.0, tif=tif, created_ns=T0,
    )


PATHS: dict[OrderStatus, list[Callable[[Order], None]]] = {
    S.NEW: [],
    S.PENDING_NEW: [lambda o: o.submit(T0 + 1)],
    S.OPEN: [lambda o: o.submit(T0 + 1), lambda o: o.ack(55, T0 + 2)],
    S.PENDING_MODIFY: [
        lambda o: o.submit(T0 + 1), lambda o: o.ack(55, T0 + 2),
        lambda o: o.modify_request(100.5, 1.0, T0 + 3),
    ],
    S.PENDING_CANCEL: [
        lambda o: o.submit(T0 + 1), lambda o: o.ack(55, T0 + 2), lambda o: o.cancel_request(T0 + 3),
    ],
    S.FILLED: [lambda o: o.submit(T0 + 1), lambda o: o.ack(55, T0 + 2),
               lambda o: o.fill(100.0, 1.0, T0 + 3)],
    S.CANCELED: [
        lambda o: o.submit(T0 + 1), lambda o: o.ack(55, T0 + 2),
        lambda o: o.cancel_request(T0 + 3), lambda o: o.cancel_ack(T0 + 4),
    ],
    S.REJECTED: [lambda o: o.submit(T0 + 1), lambda o: o.reject("post-only would cross", T0 + 2)],
    S.EXPIRED: [lambda o: o.submit(T0 + 1), lambda o: o.expire(T0 + 2)],
}


def order_in(status: OrderStatus) -> Order:
    order = new_order()
    for step in PATHS[status]:
        step(order)
    assert order.status is status
    return order


NOW = T0 + 100
EVENTS: dict[OrderEvent, Callable[[Order], None]] = {
    E.SUBMIT: lambda o: o.submit(NOW),
    E.ACK: lambda o: o.ack(55, NOW),
    E.REJECT: lambda o: o.reject("insufficient margin", NOW),
    E.MODIFY_REQUEST: lambda o: o.modify_request(101.0, 1.0, NOW),
    E.MODIFY_ACK: lambda o: o.modify_ack(NOW),
    E.MODIFY_REJECT: lambda o: o.modify_reject("price band", NOW),
    E.CANCEL_REQUEST: lambda o: o.cancel_request(NOW),
    E.CANCEL_ACK: lambda o: o.cancel_ack(NOW),
    E.CANCEL_REJECT: lambda o: o.cancel_reject("already filled", NOW),
    E.FILL: lambda o: o.fill(100.0, 0.25, NOW),
    E.EXPIRE: lambda o: o.expire(NOW),
    E.VENUE_GONE: lambda o: o.venue_gone(NOW),
}

# The specification: (state, event) -> state after. Pairs not listed must raise.
EXPECTED: dict[tuple[OrderStatus, OrderEvent], OrderStatus] = {
    (S.NEW, E.SUBMIT): S.PENDING_NEW,
    (S.PENDING_NEW, E.ACK): S.OPEN,
    (S.PENDING_CANCEL, E.ACK): S.PENDING_CANCEL,
    (S.FILLED, E.ACK): S.FILLED,
    (S.CANCELED, E.ACK): S.CANCELED,
    (S.EXPIRED, E.ACK): S.EXPIRED,
    (S.PENDING_NEW, E.REJECT): S.REJECTED,
    (S.PENDING_CANCEL, E.REJECT): S.REJECTED,
    (S.OPEN, E.MODIFY_REQUEST): S.PENDING_MODIFY,
    (S.PENDING_MODIFY, E.MODIFY_ACK): S.OPEN,
    (S.PENDING_CANCEL, E.MODIFY_ACK): S.PENDING_CANCEL,
    (S.PENDING_MODIFY, E.MODIFY_REJECT): S.OPEN,
    (S.PENDING_CANCEL, E.MODIFY_REJECT): S.PENDING_CANCEL,
    (S.FILLED, E.MODIFY_REJECT): S.FILLED,
    (S.CANCELED, E.MODIFY_REJECT): S.CANCELED,
    (S.PENDING_NEW, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.OPEN, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PENDING_MODIFY, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.CANCEL_ACK): S.CANCELED,
    (S.FILLED, E.CANCEL_ACK): S.FILLED,
    (S.PENDING_CANCEL, E.CANCEL_REJECT): S.OPEN,
    (S.FILLED, E.CANCEL_REJECT): S.FILLED,
    (S.PENDING_NEW, E.FILL): S.PENDING_NEW,
    (S.OPEN, E.FILL): S.OPEN,
    (S.PENDING_MODIFY, E.FILL): S.PENDING_MODIFY,
    (S.PENDING_CANCEL, E.FILL): S.PENDING_CANCEL,
    (S.FILLED, E.FILL): S.FILLED,
    (S.CANCELED, E.FILL): S.CANCELED,
    (S.EXPIRED, E.FILL): S.EXPIRED,
    (S.PENDING_NEW, E.EXPIRE): S.EXPIRED,
    (S.OPEN, E.EXPIRE): S.EXPIRED,
    (S.PENDING_NEW, E.VENUE_GONE): S.CANCELED,
    (S.OPEN, E.VENUE_GONE): S.CANCELED,
    (S.PENDING_MODIFY, E.VENUE_GONE): S.CANCELED,
    (S.PENDING_CANCEL, E.VENUE_GONE): S.CANCELED,
}

ALL_PAIRS = [(status, event) for status in OrderStatus for event in OrderEvent]


def test_legal_sources_table_is_exactly_the_specified_transitions():
    legal = {(status, event) for event, sources in LEGAL_SOURCES.items() for status in sources}
    assert legal == set(EXPECTED)


@pytest.mark.parametrize(("status", "event"), sorted(EXPECTED, key=str))
def test_legal_transition_lands_in_specified_state_and_stamps_its_time(status, event):
    order = order_in(status)
    EVENTS[event](order)
    assert order.status is EXPECTED[(status, event)]
    assert order.ts_ns[event.value] == NOW


@pytest.mark.parametrize(
    ("status", "event"), [p for p in ALL_PAIRS if p not in EXPECTED], ids=str
)
def test_illegal_transition_raises_naming_order_state_and_event(status, event):
    order = order_in(status)
    before = order.to_dict()
    with pytest.raises(OrderStateError) as info:
        EVENTS[event](order)
    message = str(info.value)
    assert "BTC-000001" in message and order.cloid in message
    assert status.value in message and event.value in message
    assert info.value.status is status and info.value.event is event
    assert order.to_dict() == before


def test_cloid_is_128_bit_hex_as_hyperliquid_accepts():
    cloid = make_cloid(2**64 - 1, 3)
    assert cloid.startswith("0x") and len(cloid) == 34
    assert int(cloid, 16) == (2**64 - 1) * 2**64 + 3
    with pytest.raises(ValueError, match="64 bits"):
        make_cloid(2**64, 0)


def test_only_ioc_orders_expire():
    order = new_order(Tif.GTC)
    order.submit(T0 + 1)
    with pytest.raises(OrderStateError, match="only IOC"):
        order.expire(T0 + 2)


def test_partial_fills_keep_order_open_then_fill_it_with_average_price():
    order = order_in(S.OPEN)
    order.fill(100.0, 0.25, T0 + 10)
    assert order.status is S.OPEN and order.remaining == pytest.approx(0.75)
    order.fill(99.0, 0.75, T0 + 11)
    assert order.status is S.FILLED
    assert order.avg_fill_px == pytest.approx((100.0 * 0.25 + 99.0 * 0.75) / 1.0)
    assert order.remaining == 0.0


def test_modify_ack_moves_price_and_sets_remaining_keeping_fills():
    order = order_in(S.OPEN)
    order.fill(100.0, 0.4, T0 + 10)
    order.modify_request(100.5, 0.3, T0 + 11)
    assert order.px == 100.0  # the acknowledged price stands until the venue confirms
    order.modify_ack(T0 + 12, venue_oid=77)
    assert (order.px, order.remaining, order.filled_qty, order.venue_oid) == (
        100.5, pytest.approx(0.3), 0.4, 77)


def test_modify_reject_keeps_acknowledged_price_and_size():
    order = order_in(S.PENDING_MODIFY)
    order.modify_reject("price band", T0 + 10)
    assert (order.status, order.px, order.size) == (S.OPEN, 100.0, 1.0)
    assert math.isnan(order.pending_px) and order.reason == "price band"


def test_cancel_reject_of_unacknowledged_order_returns_it_to_pending_new():
    order = order_in(S.PENDING_NEW)
    order.cancel_request(T0 + 10)
    order.cancel_reject("unknown cloid", T0 + 11)
    assert order.status is S.PENDING_NEW and order.status_since_ns == T0 + 11


def test_late_fill_after_cancel_ack_completes_the_order():
    order = order_in(S.CANCELED)
    order.fill(100.0, 1.0, T0 + 10)
    assert order.status is S.FILLED and order.filled_qty == 1.0


def test_order_rejects_nonpositive_price_or_size_at_construction():
    with pytest.raises(ValueError, match="price"):
        Order(cloid="0x1", lifecycle_id="x", side=Side.BUY, px=0.0, size=1.0,
              tif=Tif.GTC, created_ns=0)
    with pytest.raises(ValueError, match="size"):
        Order(cloid="0x1", lifecycle_id="x", side=Side.BUY, px=1.0, size=math.nan,
              tif=Tif.GTC, created_ns=0)


@pytest.mark.parametrize("status", list(OrderStatus))
def test_order_dict_round_trips_in_every_state(status):
    order = order_in(status)
    assert Order.from_dict(order.to_dict()).to_dict() == order.to_dict()

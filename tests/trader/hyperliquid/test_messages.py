"""Parsers on the real sample and on malformed input; price and size rules; weights."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from hyperliquid.utils.signing import float_to_wire

from tests.trader.hyperliquid.server import sample_messages
from trader.hyperliquid.exchange import parse_statuses
from trader.hyperliquid.messages import (
    MessageError,
    parse_asset_ctx,
    parse_book,
    parse_order_updates,
    parse_trades,
    parse_user_fills,
)
from trader.hyperliquid.ratelimit import RateLimiter, exchange_weight, info_weight
from trader.hyperliquid.rules import AssetRules, RulesError, rules_from_meta
from trader.orders import Side


def _first(channel: str) -> dict[str, Any]:
    return next(m for m in sample_messages() if m["channel"] == channel)


def test_sample_messages_parse() -> None:
    books = [parse_book(m["data"]) for m in sample_messages() if m["channel"] == "l2Book"]
    trades = [t for m in sample_messages() if m["channel"] == "trades"
              for t in parse_trades(m["data"])]
    assert len(books) == 46 and len(trades) == 64
    b = books[0]
    assert b.coin == "BTC" and len(b.bid_px) == 20 and b.bid_px[0] < b.ask_px[0]
    assert b.ts_ns % 1_000_000 == 0 and b.mid == 0.5 * (b.bid_px[0] + b.ask_px[0])
    assert {t.side for t in trades} == {1, -1}


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda d: d.pop("time"), "missing field 'time'"),
    (lambda d: d.update(time="123"), "not an integer"),
    (lambda d: d.update(levels=[[]]), r"levels must be \[\[bids\], \[asks\]\]"),
    (lambda d: d["levels"][0][0].update(px="abc"), "not a number"),
    (lambda d: d["levels"][0][0].update(sz="-1"), "must be > 0"),
    (lambda d: d["levels"][0][0].update(px="1e9"), "crossed book"),
    (lambda d: d["levels"][1].reverse(), "not ordered best first"),
    (lambda d: d.update(coin=5), "not a name"),
])
def test_malformed_books_are_refused(mutate: Any, match: str) -> None:
    data = copy.deepcopy(_first("l2Book")["data"])
    mutate(data)
    with pytest.raises(MessageError, match=match):
        parse_book(data)


@pytest.mark.parametrize(("data", "match"), [
    ({"coin": "BTC"}, "data must be a list"),
    ([{"coin": "BTC", "side": "X", "px": "1", "sz": "1", "time": 1, "tid": 1}], "neither"),
    ([{"coin": "BTC", "side": "B", "px": "nan", "sz": "1", "time": 1, "tid": 1}], "not finite"),
    ([{"coin": "BTC", "side": "B", "px": "1", "sz": "1", "time": 1}], "missing field 'tid'"),
])
def test_malformed_trades_are_refused(data: Any, match: str) -> None:
    with pytest.raises(MessageError, match=match):
        parse_trades(data)


def test_user_streams_and_ctx() -> None:
    order = {"coin": "BTC", "side": "A", "limitPx": "105000.0", "sz": "0.0", "oid": 7,
             "timestamp": 1, "origSz": "0.01", "cloid": "0x" + "ab" * 16}
    (u,) = parse_order_updates([{"order": order, "status": "filled", "statusTimestamp": 2}])
    assert u.side is Side.SELL and u.sz == 0.0 and u.cloid == order["cloid"]
    assert u.ts_ns == 2_000_000
    fill = {"coin": "BTC", "px": "105000.0", "sz": "0.01", "side": "B", "time": 3, "oid": 7,
            "tid": 99, "fee": "-0.01", "hash": "0x0", "crossed": False}
    snap, (f,) = parse_user_fills({"user": "0x1", "isSnapshot": True, "fills": [fill]})
    assert snap and f.fee == -0.01 and f.cloid is None and f.venue_fill().trade_id == 99
    assert parse_user_fills([fill])[0] is True
    ctx = parse_asset_ctx({"coin": "BTC", "ctx": {"funding": "0.0000125", "markPx": "1.5",
                                                  "oraclePx": "1.4"}})
    assert ctx.funding_per_hour == 1.25e-5 and ctx.mark_px == 1.5
    with pytest.raises(MessageError, match="missing field 'statusTimestamp'"):
        parse_order_updates([{"order": order, "status": "open"}])
    with pytest.raises(MessageError, match="fills must be a list"):
        parse_user_fills({"fills": {}})
    with pytest.raises(MessageError, match="markPx"):
        parse_asset_ctx({"coin": "BTC", "ctx": {"funding": "0", "markPx": "0", "oraclePx": "1"}})


@pytest.mark.parametrize(("px", "dec", "bid", "ask"), [
    (104123.7, 5, 104123.0, 104124.0),      # integer prices always allowed
    (99999.5, 5, 99999.0, 100000.0),
    (3456.789, 4, 3456.7, 3456.8),         # 5 significant figures
    (1.2345678, 0, 1.2345, 1.2346),        # 5 sig figs before 6 - 0 decimals
    (0.0123456, 2, 0.0123, 0.0124),        # 6 - 2 = 4 decimals
    (9.99995, 1, 9.9999, 10.0),            # rounding up gains a figure
])
def test_prices_follow_the_venue_rules(px: float, dec: int, bid: float, ask: float) -> None:
    rule = AssetRules("X", 0, dec)
    got_bid, got_ask = rule.round_px(px, Side.BUY), rule.round_px(px, Side.SELL)
    assert (got_bid, got_ask) == (bid, ask)
    for p in (got_bid, got_ask):
        digits = float_to_wire(p).replace(".", "").lstrip("0")
        assert p == int(p) or len(digits) <= 5
        assert len(float_to_wire(p).partition(".")[2]) <= 6 - dec


def test_sizes_and_meta() -> None:
    rules = rules_from_meta({"universe": [{"name": "BTC", "szDecimals": 5},
                                          {"name": "ETH", "szDecimals": 4}]})
    assert rules["ETH"].asset == 1 and rules["ETH"].lot == 1e-4
    assert rules["BTC"].round_sz(0.0123456789) == 0.01234
    assert rules["BTC"].round_sz(0.3) == 0.3 and rules["BTC"].round_sz(4e-6) == 0.0
    with pytest.raises(RulesError, match="universe"):
        rules_from_meta({"coins": []})
    with pytest.raises(RulesError, match="szDecimals"):
        rules_from_meta({"universe": [{"name": "BTC"}]})
    with pytest.raises(ValueError, match="smallest price step"):
        AssetRules("X", 0, 5).round_px(0.01, Side.BUY)


def test_exchange_statuses() -> None:
    ok = {"status": "ok", "response": {"type": "order", "data": {"statuses": [
        {"resting": {"oid": 1}}, {"filled": {"oid": 2, "totalSz": "0.1", "avgPx": "3"}},
        {"error": "Insufficient margin"}]}}}
    a, b, c = parse_statuses(ok, 3)
    assert (a.kind, a.oid, b.kind, b.filled_sz, c.kind) == ("resting", 1, "filled", 0.1, "error")
    err = parse_statuses({"status": "err", "response": "bad nonce"}, 2)
    assert [s.message for s in err] == ["bad nonce", "bad nonce"]


def test_weights_and_limiter() -> None:
    assert info_weight({"type": "l2Book"}) == 2 and info_weight({"type": "meta"}) == 20
    assert info_weight({"type": "userRole"}) == 60
    assert exchange_weight({"type": "order", "orders": [{}] * 79}) == 2
    assert exchange_weight({"type": "cancel", "cancels": [{}]}) == 1
    limiter = RateLimiter(per_minute=600)  # 10 per second
    asyncio.run(limiter.acquire(600))
    assert limiter.wait_s(5) > 0.4  # the bucket is empty: 5 more need ~0.5 s
    with pytest.raises(ValueError, match="exceeds"):
        asyncio.run(limiter.acquire(601))

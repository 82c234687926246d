"""Faults against the local server: a dropped connection, out-of-order and duplicate
fills, a rejected order, a server that stops answering."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.trader.hyperliquid.conftest import touch_session, wait_for
from tests.trader.hyperliquid.server import FakeHyperliquid
from trader.hyperliquid.session import HyperliquidSession
from trader.orders import OrderStatus

_QUOTING = ("order", "batchModify")


def _quoting_actions_between(hl: FakeHyperliquid, t0: float, t1: float) -> list[str]:
    return [a["type"] for a, t in zip(hl.actions, hl.action_times, strict=True)
            if t0 < t < t1 and a["type"] in _QUOTING]


def _venue_matches(session: HyperliquidSession, hl: FakeHyperliquid) -> bool:
    """Nothing in flight, and our live orders are exactly the venue's resting ones, one
    per side at most, and the positions agree."""
    c = session.coins["BTC"]
    assert c.manager is not None
    if c.busy or any(o.is_pending for o in c.manager.live_orders()):
        return False
    resting = hl.resting()
    sides = [o["side"] for o in resting]
    assert len(sides) == len(set(sides)), f"two orders on a side: {resting}"
    ours = {o.venue_oid for o in c.manager.live_orders()}
    return ours == {o["oid"] for o in resting} and c.position == hl.position["BTC"]


def test_dropped_connection_stops_quoting_resyncs_and_resumes(hl: FakeHyperliquid) -> None:
    hl.match_trades = False

    async def scenario() -> dict[str, Any]:
        session = touch_session(hl)
        run = asyncio.create_task(session.run())
        await wait_for(lambda: len(hl.resting()) == 2, "both sides resting")
        assert session.ws is not None
        bid = next(o for o in hl.resting() if o["side"] == "B")
        # The fill happens and its messages are lost with the connection.
        hl.call(lambda: hl.fill(bid["oid"], publish=False))
        hl.drop_connections()
        await wait_for(lambda: session.resyncs >= 2, "the resync after reconnecting")
        await wait_for(lambda: len(hl.resting()) == 2, "quoting resumed on both sides")
        await wait_for(lambda: _venue_matches(session, hl), "our view = the venue's")
        c = session.coins["BTC"]
        assert c.manager is not None
        assert c.manager.order(bid["cloid"]).status is OrderStatus.FILLED
        assert c.manager.ledger.n_fills == 1  # the REST fill and the ws snapshot: once
        # The resync (REST) or the resubscribed fills snapshot found it, not both.
        assert sum(len(r.fills_applied) for r in c.sync_reports) <= 1
        session.stop("test over")
        return await run

    summary = asyncio.run(scenario())
    assert summary["connects"] >= 2 and summary["resyncs"] >= 2
    # No order or modify left us while the connection was down and not yet resynced.
    assert hl.resting() == []


def test_no_quoting_between_loss_and_resync(hl: FakeHyperliquid) -> None:
    hl.match_trades = False

    async def scenario() -> HyperliquidSession:
        session = touch_session(hl)
        run = asyncio.create_task(session.run())
        await wait_for(lambda: len(hl.resting()) == 2, "both sides resting")
        for _ in range(3):
            hl.drop_connections()
            n = session.resyncs
            await wait_for(lambda n=n: session.resyncs > n, "the resync")
            await asyncio.sleep(0.2)
        session.stop("test over")
        await run
        return session

    session = asyncio.run(scenario())
    assert session.ws is not None
    history = session.ws.history
    lost = [t for t, what in history if what == "lost"]
    synced = [t for t, what in history if what == "synced"]
    assert len(lost) >= 3
    for t_lost in lost[:3]:
        t_back = min(t for t in synced if t > t_lost)
        assert _quoting_actions_between(hl, t_lost, t_back) == []
    # Backoff: every wait within [0.5, 1] x min(cap, base x 2^(attempt-1)).
    assert session.ws.delays and all(0.025 <= d <= 0.2 for d in session.ws.delays)


def test_out_of_order_and_duplicate_fills_apply_once(hl: FakeHyperliquid) -> None:
    hl.match_trades = False

    async def scenario() -> HyperliquidSession:
        session = touch_session(hl)
        run = asyncio.create_task(session.run())
        await wait_for(lambda: len(hl.resting()) == 2, "both sides resting")
        bid = next(o for o in hl.resting() if o["side"] == "B")
        fills = [hl.call(lambda q=q: hl.fill(bid["oid"], q, publish=False))
                 for q in (0.0002, 0.0003, 0.0001)]
        a, b, c = fills
        hl.call(lambda: hl.send_fills([c, a, c, b, a, c]))
        coin = session.coins["BTC"]
        await wait_for(lambda: coin.manager is not None and coin.manager.ledger.n_fills == 3,
                       "three distinct fills booked")
        await asyncio.sleep(0.2)  # the duplicates have arrived by now
        session.stop("test over")
        await run
        return session

    session = asyncio.run(scenario())
    coin = session.coins["BTC"]
    assert coin.manager is not None
    assert coin.manager.ledger.n_fills == 3
    assert abs(coin.position - 0.0006) < 1e-12
    assert abs(coin.position - hl.position["BTC"]) < 1e-12
    px = float(next(f for f in hl.fills)["px"])
    fees = sum(float(f["fee"]) for f in hl.fills)
    assert abs(coin.manager.cash - (-px * 0.0006 - fees)) < 1e-9


def test_rejected_order_frees_its_side(hl: FakeHyperliquid) -> None:
    hl.match_trades = False
    reason = "Post only order would have immediately matched, bbo was 1@2. asset=0"
    hl.reject_next = reason

    async def scenario() -> dict[str, Any]:
        session = touch_session(hl)
        run = asyncio.create_task(session.run())
        await wait_for(lambda: len(hl.resting()) == 2, "both sides resting after the reject")
        c = session.coins["BTC"]
        assert c.manager is not None
        rejected = [o for o in c.manager.orders if o.status is OrderStatus.REJECTED]
        assert len(rejected) == 1 and rejected[0].reason == reason
        session.stop("test over")
        return await run

    summary = asyncio.run(scenario())
    assert summary["symbols"][0]["rejects"] == 1


def test_server_that_stops_answering_trips_the_kill_switch(hl: FakeHyperliquid) -> None:
    hl.match_trades = False

    async def scenario() -> tuple[HyperliquidSession, float]:
        session = touch_session(hl, kill_after_s=1.5)
        run = asyncio.create_task(session.run())
        await wait_for(lambda: len(hl.resting()) == 2, "both sides resting")
        hl.freeze()
        await wait_for(lambda: session.kill.active, "the kill switch", limit_s=15)
        tripped = asyncio.get_running_loop().time()
        reasons = session.kill.reasons
        assert reasons[0].trigger == "feed_disconnect"
        assert "limit 1.5 s" in reasons[0].detail
        hl.thaw()  # the venue comes back: the kill's cancels get through
        await wait_for(lambda: hl.resting() == [], "every order cancelled")
        await asyncio.sleep(0.5)
        session.stop("test over")
        await run
        return session, tripped

    session, _ = asyncio.run(scenario())
    assert session.kill.active  # stays down until a person resets it
    assert hl.resting() == []
    t_kill = max(t for t, what in session.ws.history if what == "lost")  # type: ignore[union-attr]
    assert _quoting_actions_between(hl, t_kill, float("inf")) == []


def test_stale_book_stops_quoting_until_resynced(hl: FakeHyperliquid) -> None:
    hl.match_trades = False

    async def scenario() -> HyperliquidSession:
        session = touch_session(hl, stale_book_s=0.5)
        run = asyncio.create_task(session.run())
        await wait_for(lambda: len(hl.resting()) == 2, "both sides resting")
        hl.pause_market()
        await wait_for(lambda: session.ws is not None and any(
            w == "lost" for _, w in session.ws.history), "the stale stream dropped")
        n_actions = len(hl.actions)
        await asyncio.sleep(0.6)  # stale: no quoting, whatever the resyncs do
        quoting = [a["type"] for a in hl.actions[n_actions:] if a["type"] in _QUOTING]
        assert quoting == []
        hl.pause_market(False)
        await wait_for(lambda: session.synced and any(
            a["type"] in _QUOTING for a in hl.actions[n_actions:]), "quoting resumed")
        session.stop("test over")
        await run
        return session

    session = asyncio.run(scenario())
    assert session.resyncs >= 2 and not session.kill.active


def test_book_back_in_time_is_a_gap_and_resyncs(hl: FakeHyperliquid) -> None:
    hl.match_trades = False

    async def scenario() -> HyperliquidSession:
        session = touch_session(hl)
        run = asyncio.create_task(session.run())
        await wait_for(lambda: len(hl.resting()) == 2, "both sides resting")
        n = session.resyncs
        hl.call(lambda: hl.publish_book(age_ms=5_000))
        await wait_for(lambda: session.resyncs > n, "the resync after the gap")
        await wait_for(lambda: _venue_matches(session, hl), "our view = the venue's")
        session.stop("test over")
        await run
        return session

    session = asyncio.run(scenario())
    assert session.ws is not None and session.ws.connects >= 2

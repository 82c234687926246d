"""The venue session against the local server: quote, modify, fill, cancel; faults."""

from __future__ import annotations

import asyncio

from tests.trader.hyperliquid.conftest import touch_session, wait_for
from tests.trader.hyperliquid.server import FakeHyperliquid
from trader.orders import OrderStatus


def test_full_session_quotes_modifies_fills_and_cancels(hl: FakeHyperliquid) -> None:
    hl.match_trades = False

    async def scenario() -> dict:
        session = touch_session(hl)
        run = asyncio.create_task(session.run())
        await wait_for(lambda: len(hl.resting()) == 2, "a bid and an ask resting")
        await wait_for(lambda: any(a["type"] == "batchModify" for a in hl.actions),
                       "a modify as the touch moves")
        bid = next(o for o in hl.resting() if o["side"] == "B")
        fill = hl.call(hl.fill, bid["oid"])
        c = session.coins["BTC"]
        await wait_for(lambda: c.position > 0, "the fill booked")
        assert c.manager is not None
        filled = c.manager.order(bid["cloid"])
        assert filled.status is OrderStatus.FILLED
        assert c.position == float(fill["sz"])
        await wait_for(lambda: len(hl.resting()) == 2, "the bid requoted after its fill")
        session.stop("test over")
        return await run

    summary = asyncio.run(scenario())
    kinds = [a["type"] for a in hl.actions]
    assert kinds.count("order") >= 2 and "batchModify" in kinds
    assert kinds[-1] == "cancel"  # shutdown cancels what rests
    assert hl.resting() == []
    sym = summary["symbols"][0]
    assert sym["fills"] == 1 and sym["live_orders"] == 0
    assert summary["kill_switch"]["active"] is False
    # Every order the venue saw carried our cloid and a price on its grid.
    for a in hl.actions:
        for w in a.get("orders", []) + [m["order"] for m in a.get("modifies", [])]:
            assert w["c"].startswith("0x") and float(w["p"]) == int(float(w["p"]))

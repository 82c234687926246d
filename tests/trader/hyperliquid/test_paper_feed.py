"""``trader run --venue paper --feed hyperliquid``: the paper venue on live data from the
local server, and the live buffer replayed through the same engine gives the same run."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from data_lake.paths import LakePaths
from tests.data_lake.test_params import make_document
from tests.trader.hyperliquid.server import FakeHyperliquid
from trader.live.engine import SymbolEngine
from trader.live.feed import ReplayFeed
from trader.live.latency import LatencyRecorder
from trader.live.live_buffer import LiveEventBuffer
from trader.live.runner import RunConfig, Trader
from trader.risk import KillSwitch, RiskLimits
from trader.sim import EventStream
from trader.sim.events import KIND_BOOK, KIND_FUNDING, KIND_TRADE


def test_buffer_grows_and_reads_like_an_event_stream() -> None:
    buf = LiveEventBuffer(depth=2, capacity=1)
    buf.append_book(10, 11, [100.0, 99.0, 98.0], [1.0, 2.0, 3.0], [101.0], [4.0])
    buf.append_trade(9, 12, 100.5, 0.3, -1)  # stamped before the book: clamped to 10
    buf.append_funding(20, 20, 100.2, 1e-5, 3600.0)
    assert len(buf) == 3 and buf.depth == 2 and buf.n_levels == 1
    assert buf.ts_ns.tolist() == [10, 10, 20]
    assert buf.kind.tolist() == [KIND_BOOK, KIND_TRADE, KIND_FUNDING]
    assert buf.level_row.tolist() == [0, -1, -1]
    assert buf.bid_px.tolist() == [[100.0, 99.0]] and buf.ask_sz.tolist() == [[4.0, 0.0]]
    assert np.isnan(buf.ask_px[0, 1]) and buf.side.tolist() == [0, -1, 0]
    # Same columns as EventStream: it validates as one.
    EventStream(**{f.name: getattr(buf, f.name) for f in dataclasses.fields(EventStream)})
    with pytest.raises(AttributeError):
        _ = buf.nonsense


def test_paper_trading_on_the_live_feed(hl: FakeHyperliquid, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    params = tmp_path / "btc.json"
    params.write_bytes(orjson.dumps(make_document("BTC", venue="hyperliquid", score=None)))
    config = RunConfig(paths=LakePaths.at(home), params=str(params), symbols=("BTC",),
                       venue="paper", feed="hyperliquid", duration_s=4.0, metrics_port=0,
                       limits=RiskLimits(stale_after_s=10.0), hl_rest_url=hl.rest_url,
                       hl_ws_url=hl.ws_url, status_every_s=60.0)

    async def run() -> tuple[dict[str, Any], Trader]:
        trader = Trader(config)
        trader.setup()
        # A dropped connection mid-run: the feed reconnects and resyncs the book.
        asyncio.get_running_loop().call_later(2.0, hl.drop_connections)
        return await trader.run(), trader

    summary, trader = asyncio.run(run())
    assert summary["stopped_by"] == "duration 4 s elapsed"
    assert not summary["kill_switch"]["active"]
    engine = trader.engines[0]
    assert engine.feed.resyncs >= 2  # type: ignore[attr-defined]
    buf = engine.feed.stream
    kinds = np.bincount(buf.kind, minlength=4)
    assert kinds[KIND_BOOK] > 20 and kinds[KIND_TRADE] > 5 and kinds[KIND_FUNDING] > 20
    sym = summary["symbols"][0]
    # The feed may append an event or two after the run stopped consuming.
    n = sym["events_this_run"]
    assert len(buf) - 5 <= n <= len(buf) and sym["requotes"] > 0
    assert float(engine.state[11]) == pytest.approx(1.25e-5)  # funding -> carry input

    # The same events replayed through a fresh engine: the same orders, fills and P&L.
    whole = EventStream.ROW_INDEXED
    stream = EventStream(**{f.name: np.array(getattr(buf, f.name) if f.name in whole
                                             else getattr(buf, f.name)[:n])
                            for f in dataclasses.fields(EventStream)})
    replay = SymbolEngine(engine.settings, engine.params, ReplayFeed(stream, engine.feed.day),
                          engine.limits, KillSwitch(), LatencyRecorder(), None)
    for i in range(len(stream)):
        replay.on_event(i, i)
    replay.halt(flatten_position=False)  # as the live run's shutdown
    replay.drain()
    assert replay.counters() == {k: sym[k] for k in replay.counters()}
    assert replay.fills_total == engine.fills_total
    assert replay.pnl() == pytest.approx(engine.pnl())

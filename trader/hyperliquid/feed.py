"""Live Hyperliquid market data as a feed of the paper trader.

:class:`HyperliquidFeed` has the read side of :class:`trader.live.feed.ReplayFeed`
(``stream``, ``day``, ``start``, ``start_after``, ``events()``) so ``trader run --venue
paper --feed hyperliquid`` runs the very engine of a replay (the jitted step and the
queue-aware paper venue) on live ``l2Book``, ``trades`` and ``activeAssetCtx`` messages,
appended to a :class:`trader.live.live_buffer.LiveEventBuffer`. Each market event is
yielded once, with consecutive sequence numbers.

On every (re)connect the feed asks for a fresh ``l2Book`` snapshot over REST before
yielding again (a full snapshot replaces the book: no stale level survives the gap);
the trade snapshot replayed after subscribing is skipped by ``tid`` (already seen) and
by time (older than the first book). Funding: ``ctx.funding`` is the hourly rate, one
row per message at the receive time (the simulator accrues it pro rata).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from trader.hyperliquid.http import JsonPoster
from trader.hyperliquid.info import InfoClient
from trader.hyperliquid.messages import (
    BookSnapshot,
    MessageError,
    parse_asset_ctx,
    parse_book,
    parse_trades,
)
from trader.hyperliquid.ws_client import Backoff, WsClient
from trader.live.engine import SymbolEngine
from trader.live.latency import LatencyRecorder
from trader.live.live_buffer import LiveEventBuffer
from trader.risk import KillSwitch

if TYPE_CHECKING:
    from trader.live.feed import ReplayFeed

__all__ = ["FUNDING_INTERVAL_S", "HyperliquidFeed", "warm_up_live"]

log = logging.getLogger(__name__)

FUNDING_INTERVAL_S = 3600.0


class HyperliquidFeed:
    """One coin's live market data, appended and yielded event by event.

    Parameters
    ----------
    coin : str
    ws_url, rest_url : str
        WebSocket and REST base URLs (testnet by default in the CLI).
    depth : int
        Book levels kept per side.
    """

    def __init__(self, coin: str, ws_url: str, rest_url: str, *, depth: int = 20,
                 backoff: Backoff | None = None, silence_s: float = 30.0,
                 ping_interval_s: float = 20.0) -> None:
        self.coin = coin
        self.stream = LiveEventBuffer(depth)
        self.day = dt.datetime.now(dt.UTC).date()
        self.speed = 0.0
        self.start = 0
        self.info = InfoClient(JsonPoster(rest_url))
        self._new = asyncio.Event()
        self._seen_tids: set[int] = set()
        self._book_started = False
        self.resyncs = 0
        self.bad_messages = 0
        subs = [{"type": t, "coin": coin} for t in ("l2Book", "trades", "activeAssetCtx")]
        self.ws = WsClient(ws_url, subs, self.on_message, on_connected=self._resync,
                           backoff=backoff, silence_s=silence_s, ping_interval_s=ping_interval_s)

    def start_after(self, ts_ns: int) -> None:
        """Nothing to skip: a live feed starts now."""

    def _book(self, book: BookSnapshot, recv_ns: int) -> None:
        self.stream.append_book(book.ts_ns, recv_ns, book.bid_px, book.bid_sz, book.ask_px,
                                book.ask_sz)
        self._book_started = True

    async def _resync(self) -> None:
        book = await self.info.l2_book(self.coin)
        self._book(book, time.time_ns())
        self.resyncs += 1
        self._new.set()

    def on_message(self, msg: dict[str, Any], recv_ns: int) -> None:
        channel, data = msg.get("channel"), msg.get("data")
        try:
            if channel == "l2Book":
                book = parse_book(data)
                if book.coin == self.coin:
                    self._book(book, recv_ns)
            elif channel == "trades":
                for t in parse_trades(data):
                    if t.coin != self.coin or t.tid in self._seen_tids or not self._book_started:
                        continue
                    self._seen_tids.add(t.tid)
                    self.stream.append_trade(t.ts_ns, recv_ns, t.px, t.sz, t.side)
            elif channel == "activeAssetCtx":
                ctx = parse_asset_ctx(data)
                if ctx.coin == self.coin and self._book_started:
                    self.stream.append_funding(recv_ns, recv_ns, ctx.mark_px,
                                               ctx.funding_per_hour, FUNDING_INTERVAL_S)
            else:
                return
        except MessageError as exc:
            self.bad_messages += 1
            log.warning("%s: ignored a malformed %s message: %s", self.coin, channel, exc,
                        extra={"event": "bad_message", "symbol": self.coin})
            return
        if len(self._seen_tids) > 100_000:
            self._seen_tids.clear()
        self._new.set()

    async def events(self) -> AsyncIterator[tuple[int, int]]:
        """Yield ``(seq, row)`` for every appended event until the feed is closed;
        raises ConnectionLostError when the venue stays unreachable."""
        runner = asyncio.create_task(self.ws.run(), name=f"ws-{self.coin}")
        i = 0
        try:
            while True:
                while i < len(self.stream):
                    yield i, i
                    i += 1
                if runner.done():
                    runner.result()
                    return
                self._new.clear()
                waiter = asyncio.create_task(self._new.wait())
                await asyncio.wait({waiter, runner}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        finally:
            self.ws.stop()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            self.info.poster.close()


def warm_up_live(engine: SymbolEngine) -> None:
    """Compile the engine's jitted code before a live feed starts (a live buffer is empty
    at set-up, so :meth:`SymbolEngine.warm_up` has nothing to run on): a throwaway engine
    steps through a few made-up events around a mid of 10 000 ticks."""
    buf = LiveEventBuffer(engine.feed.stream.depth, capacity=16)
    tick = engine.settings.tick_size
    mid = 10_000 * tick
    t = 1_000_000_000_000_000_000
    for k in range(4):
        bids = [mid - (j + 1) * tick for j in range(3)]
        asks = [mid + (j + 1) * tick for j in range(3)]
        buf.append_book(t + k * 200_000_000, t, bids, [1.0] * 3, asks, [1.0] * 3)
        buf.append_trade(t + k * 200_000_000 + 1, t, asks[0], 1.0, 1)
    buf.append_funding(t + 10**9, t, mid, 1e-5, FUNDING_INTERVAL_S)
    feed = cast("ReplayFeed", _ScratchFeed(buf, dt.date(2001, 9, 9)))
    scratch = SymbolEngine(engine.settings, engine.params, feed, engine.limits, KillSwitch(),
                           LatencyRecorder(capacity=1 << 8), engine.margin)
    scratch.quiet = True
    for i in range(len(buf)):
        scratch.on_event(i, i)
    scratch.halt(flatten_position=True)
    scratch.drain()
    scratch.resting()


@dataclass
class _ScratchFeed:
    stream: LiveEventBuffer
    day: dt.date

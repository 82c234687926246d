"""``lake record hyperliquid``: raw WebSocket messages to rotating line files.

Subscribes ``l2Book``, ``trades`` and ``activeAssetCtx`` for each coin and writes every
frame but ``pong`` as ``<recv_ts_ns> <json>`` (the format ``lake import hyperliquid``
reads) through a :class:`~data_lake.recording.files.RotatingLineWriter`. A dropped or
silent connection is reconnected with exponential backoff and full jitter and the
subscriptions sent again; the open file stays open across reconnects (nothing written is
lost; what the venue sent while we were away is, and the importer merges the trade
snapshot replayed on resubscribe by ``tid``). A heartbeat ``{"method": "ping"}`` goes out
every ``ping_interval_s``; no frame for ``silence_s`` counts as a dead connection.

This module does not import the trader (the lake is below it): it has its own small
connection loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import connect

from data_lake.recording.files import RotatingLineWriter

__all__ = ["MAINNET_WS_URL", "TESTNET_WS_URL", "HyperliquidRecorder", "record_hyperliquid"]

log = logging.getLogger(__name__)

MAINNET_WS_URL = "wss://api.hyperliquid.xyz/ws"
TESTNET_WS_URL = "wss://api.hyperliquid-testnet.xyz/ws"
_PONG = '{"channel":"pong"}'


@dataclass
class HyperliquidRecorder:
    """Records ``coins`` from ``url`` into ``out``; :meth:`run` until :meth:`stop`.

    Attributes
    ----------
    max_attempts : int or None
        Give up after this many failed connections in a row (None: never).
    """

    url: str
    coins: Sequence[str]
    out: Path
    ping_interval_s: float = 20.0
    silence_s: float = 30.0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    max_attempts: int | None = None
    rng: random.Random = field(default_factory=random.Random)
    connects: int = 0
    frames: int = 0

    def __post_init__(self) -> None:
        if not self.coins:
            raise ValueError("no coins to record; pass --coins BTC,ETH")
        self.writer = RotatingLineWriter(self.out, "hyperliquid_" + "-".join(self.coins))
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def _connection(self) -> None:
        async with connect(self.url, open_timeout=10, ping_interval=None,
                           close_timeout=1, max_size=1 << 24) as ws:
            self.connects += 1
            for coin in self.coins:
                for kind in ("l2Book", "trades", "activeAssetCtx"):
                    await ws.send(f'{{"method":"subscribe","subscription":'
                                  f'{{"type":"{kind}","coin":"{coin}"}}}}')
            log.info("recording %s from %s (connection %d)", ",".join(self.coins), self.url,
                     self.connects)
            next_ping = time.monotonic() + self.ping_interval_s
            last_frame = time.monotonic()
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_ping:
                    await ws.send('{"method":"ping"}')
                    next_ping = now + self.ping_interval_s
                wait = min(next_ping, last_frame + self.silence_s) - now
                try:
                    async with asyncio.timeout(max(wait, 0.0)):
                        frame = await ws.recv()
                except TimeoutError:
                    if time.monotonic() - last_frame >= self.silence_s:
                        raise TimeoutError(f"no frame for {self.silence_s:g} s") from None
                    continue
                recv_ns = time.time_ns()
                last_frame = time.monotonic()
                text = frame if isinstance(frame, str) else frame.decode()
                if text.replace(" ", "") == _PONG:
                    continue
                self.writer.write(recv_ns, text.replace("\n", " "))
                self.frames += 1

    async def run(self) -> list[Path]:
        """Record until :meth:`stop` (or ``max_attempts`` failures); returns the files."""
        failures = 0
        try:
            while not self._stop.is_set():
                before = self.frames
                stop = asyncio.create_task(self._stop.wait())
                conn = asyncio.create_task(self._connection())
                done, _ = await asyncio.wait({stop, conn}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                if conn not in done:
                    conn.cancel()
                    await asyncio.gather(conn, return_exceptions=True)
                    break
                exc = conn.exception()
                if exc is None:
                    break
                self.writer.flush()
                # A connection that delivered frames resets the count of failures.
                failures = 0 if self.frames > before else failures + 1
                if self.max_attempts is not None and failures > self.max_attempts:
                    raise ConnectionError(
                        f"{self.url}: {failures} failed connections in a row; last: {exc!r}")
                delay = min(self.backoff_cap_s, self.backoff_base_s * 2 ** max(failures - 1, 0))
                delay *= self.rng.uniform(0.5, 1.0)
                log.warning("connection lost (%r); reconnecting in %.2f s", exc, delay)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._stop.wait()
        finally:
            files = self.writer.close()
        return files

def record_hyperliquid(url: str, coins: Sequence[str], out: Path,
                       duration_s: float | None = None) -> list[Path]:
    """Record for ``duration_s`` seconds (None: until interrupted); returns the files."""
    async def main() -> list[Path]:
        recorder = HyperliquidRecorder(url, coins, out)
        task = asyncio.create_task(recorder.run())
        try:
            await asyncio.wait({task}, timeout=duration_s)
        finally:
            recorder.stop()
        return await task

    return asyncio.run(main())

"""The Hyperliquid WebSocket client: subscribe, heartbeat, reconnect, resync hook.

One connection carries every subscription (``{"method": "subscribe", "subscription":
{...}}``). A ``{"method": "ping"}`` goes out every ``ping_interval_s`` (the venue drops a
connection silent for 60 s); a connection that delivers nothing (not even the ``pong``)
for ``silence_s`` is treated as dead and closed. After every (re)connect the
subscriptions are sent again and ``on_connected`` runs (the caller's REST resync: fresh
book, open orders, fills, position) before messages are handed on; until it returns,
:attr:`WsClient.synced` is False. Reconnects wait an exponential backoff with full
jitter, ``min(cap, base x 2^(attempt-1)) x U(0.5, 1)``, and give up with
:class:`ConnectionLostError` after ``max_attempts`` failures in a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

__all__ = ["Backoff", "ConnectionLostError", "WsClient"]

log = logging.getLogger(__name__)

MessageHandler = Callable[[dict[str, Any], int], None]
"""``handler(message, recv_ns)``: one decoded message and its local receive time."""


class ConnectionLostError(ConnectionError):
    """The venue stayed unreachable for every allowed reconnect attempt."""


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays, seconds: exponential with full jitter, capped."""

    base_s: float = 0.5
    cap_s: float = 30.0
    max_attempts: int = 10

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Wait before attempt ``attempt`` (1 = the first retry)."""
        return min(self.cap_s, self.base_s * 2.0 ** (attempt - 1)) * rng.uniform(0.5, 1.0)


class WsClient:
    """Keeps one subscribed connection alive.

    Parameters
    ----------
    url : str
        ``wss://api.hyperliquid-testnet.xyz/ws`` or a local test server.
    subscriptions : list of dict
        Subscription objects, e.g. ``{"type": "l2Book", "coin": "BTC"}``.
    on_message : MessageHandler
        Called for every data message (not ``pong``/``subscriptionResponse``).
    on_connected : async callable, optional
        The resync, awaited after each (re)connect and subscribe, before
        :attr:`synced` turns True. An exception from it drops the connection and retries.
    on_raw : callable, optional
        ``on_raw(text, recv_ns)`` for every frame, before decoding (recorders).
    """

    def __init__(
        self, url: str, subscriptions: list[dict[str, Any]], on_message: MessageHandler,
        *, on_connected: Callable[[], Awaitable[None]] | None = None,
        on_raw: Callable[[str, int], None] | None = None,
        ping_interval_s: float = 20.0, silence_s: float = 30.0,
        open_timeout_s: float = 10.0, backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.subscriptions = list(subscriptions)
        self.on_message = on_message
        self.on_connected = on_connected
        self.on_raw = on_raw
        self.ping_interval_s = ping_interval_s
        self.silence_s = silence_s
        self.open_timeout_s = open_timeout_s
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()
        self.connected = False
        self.synced = False
        self.connects = 0
        self.failures = 0
        self.last_message_wall = time.monotonic()
        self.delays: list[float] = []
        self.history: list[tuple[float, str]] = []
        """``(time.monotonic(), "connected" | "synced" | "lost")`` transitions."""
        self._ws: ClientConnection | None = None
        self._stop = asyncio.Event()
        self._drop = asyncio.Event()
        self._synced_once = False

    def stop(self) -> None:
        """End :meth:`run` (the current connection is closed)."""
        self._stop.set()
        self._drop.set()

    def drop(self, why: str) -> None:
        """Close the current connection and reconnect (a stale or gapped stream)."""
        if self.connected:
            log.warning("dropping the connection to %s: %s", self.url, why,
                        extra={"event": "ws_drop", "why": why})
            self._drop.set()

    async def send(self, message: dict[str, Any]) -> None:
        if self._ws is None:
            raise ConnectionError("not connected")
        await self._ws.send(orjson.dumps(message).decode())

    async def run(self) -> None:
        """Connect and stay connected until :meth:`stop`; raises ConnectionLostError."""
        attempt = 0
        while not self._stop.is_set():
            try:
                await self._session()
            except Exception as exc:
                self.failures += 1
                log.warning("connection to %s failed: %r", self.url, exc,
                            extra={"event": "ws_error", "error": repr(exc)})
            finally:
                if self.connected:
                    self.history.append((time.monotonic(), "lost"))
                self.connected = self.synced = False
                self._ws = None
            if self._stop.is_set():
                return
            # A session that synced resets the count; one that did not adds to it.
            attempt = 0 if self._synced_once else attempt + 1
            if attempt > self.backoff.max_attempts:
                raise ConnectionLostError(
                    f"{self.url}: no synced connection after {self.backoff.max_attempts} "
                    "attempts; check the network and the venue's status page")
            delay = self.backoff.delay(max(attempt, 1), self.rng)
            self.delays.append(delay)
            log.info("reconnecting to %s in %.2f s (attempt %d)", self.url, delay, attempt,
                     extra={"event": "ws_backoff", "delay_s": delay, "attempt": attempt})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _session(self) -> None:
        self._synced_once = False
        self._drop.clear()
        async with connect(self.url, open_timeout=self.open_timeout_s, ping_interval=None,
                           close_timeout=1.0, max_size=1 << 24) as ws:
            self._ws = ws
            self.connected = True
            self.connects += 1
            self.history.append((time.monotonic(), "connected"))
            self.last_message_wall = time.monotonic()
            for sub in self.subscriptions:
                await ws.send(orjson.dumps({"method": "subscribe", "subscription": sub}).decode())
            reader = asyncio.create_task(self._read(ws))
            pinger = asyncio.create_task(self._ping(ws))
            try:
                if self.on_connected is not None:
                    await self.on_connected()
                if reader.done():
                    reader.result()
                self.synced = True
                self._synced_once = True
                self.history.append((time.monotonic(), "synced"))
                log.info("connected to %s and resynced (connection %d)", self.url,
                         self.connects, extra={"event": "ws_synced", "connects": self.connects})
                dropped = asyncio.create_task(self._drop.wait())
                done, _ = await asyncio.wait({reader, dropped},
                                             return_when=asyncio.FIRST_COMPLETED)
                dropped.cancel()
                if reader in done:
                    reader.result()
            finally:
                self.synced = False
                for task in (reader, pinger):
                    task.cancel()
                await asyncio.gather(reader, pinger, return_exceptions=True)

    async def _ping(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.ping_interval_s)
            await ws.send('{"method":"ping"}')

    async def _read(self, ws: ClientConnection) -> None:
        while True:
            try:
                # asyncio.timeout, not wait_for: no inner task whose cancellation could
                # be lost (Python 3.11's wait_for around recv() can hang on cancel).
                async with asyncio.timeout(self.silence_s):
                    frame = await ws.recv()
            except TimeoutError:
                raise TimeoutError(f"no message from {self.url} for {self.silence_s:g} s") from None
            recv_ns = time.time_ns()
            self.last_message_wall = time.monotonic()
            text = frame if isinstance(frame, str) else frame.decode()
            if self.on_raw is not None:
                self.on_raw(text, recv_ns)
            try:
                msg = orjson.loads(text)
            except orjson.JSONDecodeError:
                log.warning("ignored a frame that is not JSON: %.200s", text,
                            extra={"event": "ws_bad_frame"})
                continue
            if not isinstance(msg, dict) or msg.get("channel") in ("pong", "subscriptionResponse"):
                continue
            self.on_message(msg, recv_ns)

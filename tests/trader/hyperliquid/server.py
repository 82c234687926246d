"""A local Hyperliquid: WebSocket + HTTP (``/info``, ``/exchange``) on 127.0.0.1.

Runs in a thread of its own with its own event loop (so a client that blocks cannot
stall it). It replays the real ``l2Book`` and ``trades`` messages of the recorded sample
(``REAL_DATA``/hyperliquid_btc_20250126), restamped with the server's clock (which
may be skewed on purpose), accepts orders signed with the SDK's EIP-712 scheme (the
signer is recovered with the SDK's ``recover_agent_or_user_from_l1_action`` and must be
the account's key), fills resting orders that public trades cross, and answers the
user streams (``orderUpdates``, ``userFills``). Faults on demand: drop every connection,
reject the next order, stop answering (no frames, HTTP requests hang), send arbitrary
(out-of-order, duplicate) fills, send every market frame twice, apply the next
``/exchange`` action but lose its answer and its ``orderUpdates`` (the client times out),
jump the venue's clock (``skew_ns``). ``side_overlaps`` counts the times two of one
coin's orders rested on one side at once (a duplicated quote).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from eth_account import Account
from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action, sign_l1_action
from websockets.asyncio.server import ServerConnection, serve

from tests.conftest import REAL_DATA

SAMPLE = REAL_DATA / "hyperliquid_btc_20250126" / "btcusd_20250126.gz"
META = {"universe": [{"name": "BTC", "szDecimals": 5, "maxLeverage": 40},
                     {"name": "ETH", "szDecimals": 4, "maxLeverage": 25}]}


def sample_messages() -> list[dict[str, Any]]:
    """The sample's l2Book and trades messages, in receive order (skips the test when the
    real samples are absent, as every real-data test does)."""
    if not SAMPLE.is_file():
        pytest.skip(f"real data sample not found at {SAMPLE}")
    out = []
    with gzip.open(SAMPLE, "rb") as fh:
        for line in fh:
            _, raw = line.split(b" ", 1)
            msg = orjson.loads(raw)
            if msg.get("channel") in ("l2Book", "trades"):
                out.append(msg)
    return out


class FakeHyperliquid:
    """The server; ``with FakeHyperliquid() as hl:`` starts it, ``hl.rest_url``/``hl.ws_url``."""

    def __init__(self, *, skew_ms: float = 0.0, interval_s: float = 0.02,
                 funding: str = "0.0000125") -> None:
        self.skew_ns = int(skew_ms * 1e6)
        self.interval_s = interval_s
        self.funding = funding
        self.messages = sample_messages()
        self.user: str | None = None
        self.orders: dict[int, dict[str, Any]] = {}
        self.fills: list[dict[str, Any]] = []
        self.position: dict[str, float] = {"BTC": 0.0, "ETH": 0.0}
        self.actions: list[dict[str, Any]] = []
        self.action_times: list[float] = []
        self.sent: list[str] = []
        """Every data frame delivered to a subscriber, in order."""
        self.book: dict[str, Any] | None = None
        self.reject_next: str | None = None
        self.duplicate_market = False
        self.lose_next_answer = False
        self.answers_lost = 0
        self.side_overlaps = 0
        self.match_trades = True
        self.http_requests = 0
        self.connections_total = 0
        self._oid = itertools.count(1000)
        self._tid = itertools.count(900_000)
        self._last_nonce = 0
        self._clients: dict[ServerConnection, list[dict[str, Any]]] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._frozen: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._http_tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> FakeHyperliquid:
        self._thread.start()
        self.call(self._start)
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self._shutdown)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` (a coroutine function or a plain one) in the server's loop."""
        async def run() -> Any:
            result = fn(*args)
            return await result if asyncio.iscoroutine(result) else result
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    async def _start(self) -> None:
        # The first signature recovery loads eth-account's backends (about a second):
        # pay it here, not while answering the first order.
        action = {"type": "cancel", "cancels": [{"a": 0, "o": 1}]}
        wallet = Account.from_key("0x" + "11" * 32)
        recover_agent_or_user_from_l1_action(
            action, sign_l1_action(wallet, action, None, 1, None, False), None, 1, None, False)
        self._frozen = asyncio.Event()
        self._thawed = asyncio.Event()
        self._thawed.set()
        self._market_on = asyncio.Event()
        self._market_on.set()
        self._ws_server = await serve(self._ws_handler, "127.0.0.1", 0)
        self._http_server = await asyncio.start_server(self._http_handler, "127.0.0.1", 0)
        ws_port = next(iter(self._ws_server.sockets)).getsockname()[1]
        http_port = self._http_server.sockets[0].getsockname()[1]
        self.ws_url = f"ws://127.0.0.1:{ws_port}/ws"
        self.rest_url = f"http://127.0.0.1:{http_port}"
        self._tasks.append(asyncio.get_running_loop().create_task(self._replay()))

    async def _shutdown(self) -> None:
        for task in [*self._tasks, *self._http_tasks]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._http_tasks, return_exceptions=True)
        self._thawed.set()
        for ws in list(self._clients):
            ws.transport.abort()
        self._ws_server.close(close_connections=False)
        self._http_server.close()

    # -- the clock ---------------------------------------------------------------------
    def now_ms(self) -> int:
        """The server's (possibly skewed) clock, whole ms (truncated, as the venue's)."""
        return (time.time_ns() + self.skew_ns) // 1_000_000

    # -- faults ------------------------------------------------------------------------
    def drop_connections(self) -> int:
        """Cut every WebSocket connection at the TCP level, as a network failure does
        (no close handshake); clients must notice and reconnect."""
        def drop() -> int:
            clients = list(self._clients)
            for ws in clients:
                ws.transport.abort()
            return len(clients)
        return int(self.call(drop))

    def freeze(self) -> None:
        """Stop answering: no frames out, HTTP requests wait forever, pings unanswered."""
        def f() -> None:
            self._thawed.clear()
        self.call(f)

    def pause_market(self, paused: bool = True) -> None:
        """Stop (or restart) the market data only; pings and REST still answer."""
        self.call(lambda: self._market_on.clear() if paused else self._market_on.set())

    async def publish_book(self, age_ms: int) -> None:
        """Publish the current book stamped ``age_ms`` in the past (out of order)."""
        assert self.book is not None
        data = dict(self.book, time=self.now_ms() - age_ms)
        await self._publish("l2Book", data, coin=data["coin"])

    def thaw(self) -> None:
        self.call(lambda: self._thawed.set())

    # -- market replay -----------------------------------------------------------------
    async def _replay(self) -> None:
        for msg in itertools.cycle(self.messages):
            await self._thawed.wait()
            await self._market_on.wait()
            now = self.now_ms()
            if msg["channel"] == "l2Book":
                data = dict(msg["data"], time=now)
                self.book = data
                for _ in range(2 if self.duplicate_market else 1):
                    await self._publish("l2Book", data, coin=data["coin"])
                ctx = {"coin": data["coin"], "ctx": {
                    "funding": self.funding, "markPx": data["levels"][0][0]["px"],
                    "oraclePx": data["levels"][0][0]["px"], "openInterest": "1000.0"}}
                await self._publish("activeAssetCtx", ctx, coin=data["coin"])
            else:
                trades = []
                for t in msg["data"]:
                    trades.append(dict(t, time=now, tid=next(self._tid)))
                for _ in range(2 if self.duplicate_market else 1):
                    await self._publish("trades", trades, coin=trades[0]["coin"])
                if self.match_trades:
                    for t in trades:
                        await self._match(t)
            await asyncio.sleep(self.interval_s)

    async def _match(self, trade: dict[str, Any]) -> None:
        px, sz = float(trade["px"]), float(trade["sz"])
        for oid, o in list(self.orders.items()):
            if o["coin"] != trade["coin"]:
                continue
            crosses = (o["side"] == "B" and trade["side"] == "A" and px <= o["px"]) or (
                o["side"] == "A" and trade["side"] == "B" and px >= o["px"])
            if crosses and sz > 0:
                qty = min(sz, o["sz"])
                sz -= qty
                await self.fill(oid, qty)

    # -- account -----------------------------------------------------------------------
    async def fill(self, oid: int, qty: float | None = None, *,
                   publish: bool = True) -> dict[str, Any]:
        """Fill ``qty`` (default all) of resting order ``oid`` at its price."""
        o = self.orders[oid]
        qty = o["sz"] if qty is None else min(qty, o["sz"])
        sign = 1.0 if o["side"] == "B" else -1.0
        fill = {"coin": o["coin"], "px": repr(o["px"]), "sz": repr(qty), "side": o["side"],
                "time": self.now_ms(), "startPosition": repr(self.position[o["coin"]]),
                "dir": "Open Long" if sign > 0 else "Open Short", "closedPnl": "0.0",
                "hash": "0x" + "0" * 64, "oid": oid, "crossed": False,
                "fee": repr(round(o["px"] * qty * 1.5e-4, 6)), "tid": next(self._tid),
                "feeToken": "USDC"}
        if o.get("cloid"):
            fill["cloid"] = o["cloid"]
        self.position[o["coin"]] += sign * qty
        self.fills.append(fill)
        o["sz"] = round(o["sz"] - qty, 10)
        status = "open"
        if o["sz"] <= 0:
            del self.orders[oid]
            status = "filled"
        if publish:
            await self._publish("userFills", {"user": self.user, "fills": [fill]}, user=True)
            await self._publish("orderUpdates", [self._update(o, status)], user=True)
        return fill

    def fill_side(self, side: str, parts: tuple[float | None, ...] = (None,), *,
                  coin: str = "BTC", publish: bool = True) -> list[dict[str, Any]]:
        """Fill the resting ``coin`` order on ``side`` ("B" or "A") in ``parts`` (None:
        what is left; a part beyond it fills the rest and ends the list), picked and
        filled in the server's loop, so a client's modify (a new oid) cannot slip in."""
        async def pick_and_fill() -> list[dict[str, Any]]:
            for _ in range(500):  # a cancel-replace leaves the side empty for a moment
                o = next((o for o in self.orders.values()
                          if o["coin"] == coin and o["side"] == side), None)
                if o is not None:
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError(f"no {coin} order resting on side {side} for 5 s")
            fills = []
            for q in parts:
                if o["oid"] not in self.orders:
                    break
                fills.append(await self.fill(o["oid"], q, publish=publish))
            return fills
        return list(self.call(pick_and_fill))

    async def send_fills(self, fills: list[dict[str, Any]]) -> None:
        """Publish ``fills`` as one userFills message each, as given (any order, repeats)."""
        for f in fills:
            await self._publish("userFills", {"user": self.user, "fills": [f]}, user=True)

    def resting(self, coin: str = "BTC") -> list[dict[str, Any]]:
        return [dict(o) for o in self.orders.values() if o["coin"] == coin]

    def _update(self, o: dict[str, Any], status: str) -> dict[str, Any]:
        order = {"coin": o["coin"], "side": o["side"], "limitPx": repr(o["px"]),
                 "sz": repr(max(o["sz"], 0.0)), "oid": o["oid"], "timestamp": o["timestamp"],
                 "origSz": repr(o["orig"])}
        if o.get("cloid"):
            order["cloid"] = o["cloid"]
        return {"order": order, "status": status, "statusTimestamp": self.now_ms()}

    # -- WebSocket ---------------------------------------------------------------------
    async def _publish(self, channel: str, data: Any, *, coin: str | None = None,
                       user: bool = False) -> None:
        text = orjson.dumps({"channel": channel, "data": data}).decode()
        for ws, subs in list(self._clients.items()):
            for sub in subs:
                if sub["type"] == channel and (sub.get("coin") == coin if coin else user):
                    with contextlib.suppress(Exception):
                        await ws.send(text)
                        self.sent.append(text)
                    break

    async def _ws_handler(self, ws: ServerConnection) -> None:
        self.connections_total += 1
        self._clients[ws] = []
        try:
            async for frame in ws:
                await self._thawed.wait()
                msg = orjson.loads(frame)
                if msg.get("method") == "ping":
                    await ws.send('{"channel":"pong"}')
                elif msg.get("method") == "subscribe":
                    sub = msg["subscription"]
                    self._clients[ws].append(sub)
                    answer = {"channel": "subscriptionResponse", "data": msg}
                    await ws.send(orjson.dumps(answer).decode())
                    if sub["type"] == "userFills":
                        await ws.send(orjson.dumps({"channel": "userFills", "data": {
                            "isSnapshot": True, "user": sub["user"],
                            "fills": self.fills[-50:]}}).decode())
        except Exception:
            pass
        finally:
            self._clients.pop(ws, None)

    # -- HTTP --------------------------------------------------------------------------
    async def _http_handler(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._http_tasks.add(task)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                _, path, _ = line.decode().split(" ", 2)
                length = 0
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = orjson.loads(await reader.readexactly(length)) if length else {}
                await self._thawed.wait()
                self.http_requests += 1
                status, answer = 200, None
                if path == "/info":
                    answer = self._info(body)
                elif path == "/exchange":
                    answer = await self._exchange(body)
                else:
                    status, answer = 404, {"error": f"no route {path}"}
                payload = orjson.dumps(answer)
                writer.write(f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            writer.close()
            self._http_tasks.discard(task)

    def _info(self, body: dict[str, Any]) -> Any:
        kind = body.get("type")
        if kind == "meta":
            return META
        if kind == "l2Book":
            assert self.book is not None
            return dict(self.book, time=self.now_ms())
        if kind == "openOrders":
            return [dict(self._update(o, "open")["order"]) for o in self.orders.values()]
        if kind == "userFills":
            return list(reversed(self.fills))  # newest first, as the venue
        if kind == "clearinghouseState":
            return {"assetPositions": [
                {"type": "oneWay", "position": {"coin": c, "szi": repr(p)}}
                for c, p in self.position.items() if p], "time": self.now_ms()}
        return {"error": f"unknown info type {kind}"}

    async def _exchange(self, body: dict[str, Any]) -> Any:
        action, nonce, sig = body["action"], body["nonce"], body["signature"]
        signer = recover_agent_or_user_from_l1_action(action, sig, None, nonce, None, False)
        if self.user is None:
            self.user = signer
        if signer.lower() != self.user.lower():
            return {"status": "err", "response": f"User or API Wallet {signer} does not exist."}
        if nonce <= self._last_nonce:
            return {"status": "err", "response": f"nonce {nonce} already used"}
        self._last_nonce = nonce
        self.actions.append(action)
        self.action_times.append(time.monotonic())
        coins = [u["name"] for u in META["universe"]]
        statuses: list[Any] = []
        updates = []
        kind = action["type"]
        if kind == "order":
            for w in action["orders"]:
                if self.reject_next is not None:
                    statuses.append({"error": self.reject_next})
                    self.reject_next = None
                    continue
                o = self._new_order(coins[w["a"]], w)
                statuses.append({"resting": {"oid": o["oid"]}})
                updates.append(self._update(o, "open"))
        elif kind == "batchModify":
            for m in action["modifies"]:
                old = self.orders.pop(m["oid"], None)
                if old is None:
                    statuses.append({"error": "Cannot modify canceled or filled order"})
                    continue
                updates.append(self._update(old, "canceled"))
                o = self._new_order(coins[m["order"]["a"]], m["order"])
                statuses.append({"resting": {"oid": o["oid"]}})
                updates.append(self._update(o, "open"))
        elif kind in ("cancel", "cancelByCloid"):
            for c in action["cancels"]:
                if kind == "cancel":
                    oid = c["o"]
                else:
                    oid = next((k for k, o in self.orders.items()
                                if o.get("cloid") == c["cloid"]), -1)
                o = self.orders.pop(oid, None)
                if o is None:
                    statuses.append(
                        {"error": "Order was never placed, already canceled, or filled."})
                else:
                    statuses.append("success")
                    updates.append(self._update(o, "canceled"))
        else:
            return {"status": "err", "response": f"unsupported action {kind}"}
        if self.lose_next_answer:
            # Applied here, but neither the answer nor the updates reach the client.
            self.lose_next_answer = False
            self.answers_lost += 1
            await asyncio.sleep(3600)
        if updates:
            await self._publish("orderUpdates", updates, user=True)
        return {"status": "ok", "response": {"type": kind, "data": {"statuses": statuses}}}

    def _new_order(self, coin: str, w: dict[str, Any]) -> dict[str, Any]:
        oid = next(self._oid)
        o = {"coin": coin, "side": "B" if w["b"] else "A", "px": float(w["p"]),
             "sz": float(w["s"]), "orig": float(w["s"]), "oid": oid, "cloid": w.get("c"),
             "timestamp": self.now_ms(), "tif": w["t"]["limit"]["tif"]}
        self.orders[oid] = o
        if sum(r["coin"] == coin and r["side"] == o["side"] for r in self.orders.values()) > 1:
            self.side_overlaps += 1
        return o

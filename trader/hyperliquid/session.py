"""The ``hyperliquid`` venue: live quoting with signed orders, reconnects and resyncs.

Per coin: the book from ``l2Book`` feeds the market state, the quoter gives the wanted
quotes, the :class:`trader.orders.OrderManager` decides place / modify / cancel-replace
(the backtest's rule) and :class:`~trader.hyperliquid.exchange.ExchangeClient` sends them
signed. ``orderUpdates`` and the ``/exchange`` answers move each order's state machine;
``userFills`` (and the fills of a resync) move position and cash once per ``tid``,
whatever their order or repetition.

Quoting stops while: the connection is down or not yet resynced, the book is stale
(no ``l2Book`` for ``stale_book_s``: the connection is dropped and resynced) or went back
in time, or the kill switch is down. Every (re)connect resyncs from REST before quoting
resumes: a fresh book, then per coin our open orders, recent fills and the position,
reconciled by :meth:`trader.orders.OrderManager.reconcile_with_venue` (the venue wins;
its cancels are sent). Not synced for ``kill_after_s`` trips the kill switch
(``feed_disconnect``), which cancels everything it can reach. The clock offset and RTT
are probed every ``clock_probe_s`` (:mod:`trader.hyperliquid.clock`).

Funding: ``activeAssetCtx.funding`` (fraction per hour) sets the state's funding rate
(the GLFT carry skew) and accrues ``position x mark x rate x dt / 1 h`` into the funding
part of the P&L. Times are int64 ns, prices quote currency, sizes base units.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trader.hyperliquid.clock import ClockSync
from trader.hyperliquid.exchange import ActionStatus, ExchangeClient
from trader.hyperliquid.http import JsonPoster, VenueError, VenueUnavailableError
from trader.hyperliquid.info import InfoClient
from trader.hyperliquid.messages import (
    BookSnapshot,
    MessageError,
    OrderUpdate,
    UserFill,
    parse_asset_ctx,
    parse_book,
    parse_order_updates,
    parse_user_fills,
)
from trader.hyperliquid.quoters import Quoter
from trader.hyperliquid.rules import AssetRules
from trader.hyperliquid.ws_client import Backoff, ConnectionLostError, WsClient
from trader.market_state import (
    S_ASK_SZ,
    S_BEST_ASK,
    S_BEST_BID,
    S_BID_SZ,
    S_FUNDING_PER_HOUR,
    S_INVENTORY,
    S_MID,
    S_TS_S,
    new_state,
)
from trader.order_policy import requote_action
from trader.orders import (
    Cancel,
    Modify,
    OrderManager,
    OrderManagerConfig,
    OrderStateError,
    OrderStatus,
    Place,
    UnknownOrderError,
    VenueAction,
    VenueSyncReport,
)
from trader.risk import KillReason, KillSwitch

__all__ = ["CoinSession", "HyperliquidConfig", "HyperliquidSession"]

log = logging.getLogger(__name__)

_S = 1_000_000_000
_GONE = frozenset({"canceled", "marginCanceled", "vaultWithdrawalCanceled",
                   "openInterestCapCanceled", "selfTradeCanceled", "reduceOnlyCanceled",
                   "siblingFilledCanceled", "delistedCanceled", "liquidatedCanceled",
                   "scheduledCancel"})


@dataclass(frozen=True)
class HyperliquidConfig:
    """Where and how the venue session connects and when it stops quoting.

    Attributes
    ----------
    rest_url, ws_url : str
        REST base (``/info``, ``/exchange``) and WebSocket URLs; testnet by default in
        the CLI, mainnet only with ``--mainnet``.
    mainnet : bool
        Sign for mainnet.
    coins : tuple of str
    stale_book_s : float
        No ``l2Book`` for this long while connected: stop quoting, reconnect, resync.
    kill_after_s : float
        Not synced for this long trips the kill switch (``feed_disconnect``).
    silence_s, ping_interval_s, open_timeout_s : float
        WebSocket heartbeat: a silent connection is dropped after ``silence_s``.
    request_timeout_s : float
        REST timeout.
    clock_probe_s : float
        Seconds between clock probes; ``warn_offset_ms`` the drift warning threshold.
    fills_lookback_s : float
        A resync reads fills this far before the session start.
    """

    rest_url: str
    ws_url: str
    coins: tuple[str, ...]
    mainnet: bool = False
    stale_book_s: float = 10.0
    kill_after_s: float = 30.0
    silence_s: float = 30.0
    ping_interval_s: float = 20.0
    open_timeout_s: float = 10.0
    request_timeout_s: float = 5.0
    clock_probe_s: float = 10.0
    warn_offset_ms: float = 50.0
    fills_lookback_s: float = 3600.0
    backoff: Backoff = field(default_factory=Backoff)


class CoinSession:
    """One coin: its rules, order manager, market state, quoter and P&L figures."""

    def __init__(self, coin: str, rules: AssetRules, quoter: Quoter, *,
                 max_modify_ticks: float = 2.0, ack_timeout_s: float = 5.0,
                 session_id: int | None = None) -> None:
        self.coin = coin
        self.rules = rules
        self.quoter = quoter
        self.max_modify_ticks = max_modify_ticks
        self.ack_timeout_ns = int(ack_timeout_s * _S)
        self.session_id = session_id
        self.manager: OrderManager | None = None
        self.state = new_state()
        self.last_book_ts = -1
        self.last_book_wall = time.monotonic()
        self.mark = math.nan
        self.funding_per_hour = 0.0
        self.funding_paid = 0.0
        self._funding_wall = math.nan
        self.busy = False
        self.dirty = False
        self.books = 0
        self.rejects = 0
        self.sync_reports: list[VenueSyncReport] = []

    def ensure_manager(self, mid: float) -> OrderManager:
        """The order manager, made at the first book: the tick is the venue's at that
        price (5 significant figures), the lot ``10^-szDecimals``."""
        if self.manager is None:
            cfg = OrderManagerConfig(symbol=self.coin, tick=self.rules.tick_at(mid),
                                     lot=self.rules.lot, max_modify_ticks=self.max_modify_ticks,
                                     ack_timeout_ns=self.ack_timeout_ns)
            self.manager = OrderManager(cfg, self.session_id)
        return self.manager

    def see_book(self, book: BookSnapshot) -> bool:
        """Take a snapshot; False if it is older than the last one (out of order)."""
        if book.ts_ns < self.last_book_ts:
            return False
        s = self.state
        s[S_TS_S] = book.ts_ns * 1e-9
        s[S_BEST_BID] = book.bid_px[0] if book.bid_px else math.nan
        s[S_BID_SZ] = book.bid_sz[0] if book.bid_sz else 0.0
        s[S_BEST_ASK] = book.ask_px[0] if book.ask_px else math.nan
        s[S_ASK_SZ] = book.ask_sz[0] if book.ask_sz else 0.0
        s[S_MID] = book.mid
        self.last_book_ts = book.ts_ns
        self.last_book_wall = time.monotonic()
        self.books += 1
        self.ensure_manager(book.mid)
        return True

    def see_funding(self, rate_per_hour: float, mark: float) -> None:
        """Accrue funding at the previous rate since the last print, then take the new."""
        now = time.monotonic()
        pos = self.position
        if self._funding_wall == self._funding_wall and pos != 0.0 and self.mark == self.mark:
            self.funding_paid += pos * self.mark * self.funding_per_hour * (
                now - self._funding_wall) / 3600.0
        self._funding_wall = now
        self.funding_per_hour = rate_per_hour
        self.mark = mark
        self.state[S_FUNDING_PER_HOUR] = rate_per_hour

    @property
    def position(self) -> float:
        return self.manager.position if self.manager is not None else 0.0

    def wanted(self) -> np.ndarray:
        self.state[S_INVENTORY] = self.position
        return self.quoter(self.state)

    def pnl(self) -> dict[str, float]:
        """Cash, fees and funding so far and the total marked to the mid (quote currency)."""
        m = self.manager
        mid = float(self.state[S_MID])
        cash = m.cash if m else 0.0
        pos = self.position
        total = cash + (pos * mid if pos and mid == mid else 0.0) - self.funding_paid
        return {"cash": cash, "fees": -(m.ledger.fees_paid if m else 0.0),
                "funding": -self.funding_paid, "total": total}


class HyperliquidSession:
    """Every coin on one connection; :meth:`run` until the duration or :meth:`stop`.

    Parameters
    ----------
    config : HyperliquidConfig
    private_key : str
        Hex signing key (from :func:`trader.hyperliquid.keys.load_private_key`).
    quoters : dict of str to Quoter
        The quote source of each coin.
    kill : KillSwitch, optional
        The process's switch; a trip cancels every order this session holds.
    """

    def __init__(self, config: HyperliquidConfig, private_key: str,
                 quoters: dict[str, Quoter], kill: KillSwitch | None = None,
                 *, session_id: int | None = None, max_modify_ticks: float = 2.0) -> None:
        missing = [c for c in config.coins if c not in quoters]
        if missing:
            raise ValueError(f"no quoter for {missing}")
        self.config = config
        self.poster = JsonPoster(config.rest_url, timeout_s=config.request_timeout_s)
        self.info = InfoClient(self.poster)
        self._key = private_key
        self.quoters = quoters
        self.kill = kill or KillSwitch()
        self._chained_trip = self.kill.on_trip
        self.kill.on_trip = self._on_trip
        self.clock = ClockSync(warn_offset_ms=config.warn_offset_ms)
        self.session_id = session_id
        self.max_modify_ticks = max_modify_ticks
        self.coins: dict[str, CoinSession] = {}
        self.exchange: ExchangeClient | None = None
        self.user = ""
        self.started_ns = time.time_ns()
        self.resyncs = 0
        self.bad_messages = 0
        self.send_errors = 0
        self.stop_reason = ""
        self._stop = asyncio.Event()
        self._unsynced_since = time.monotonic()
        self._tasks: set[asyncio.Task[Any]] = set()
        subs: list[dict[str, Any]] = []
        for coin in config.coins:
            subs += [{"type": t, "coin": coin} for t in ("l2Book", "trades", "activeAssetCtx")]
        self._subs = subs
        self.ws: WsClient | None = None

    def __repr__(self) -> str:
        return f"HyperliquidSession(coins={self.config.coins}, user={self.user})"

    # -- setup -------------------------------------------------------------------------
    async def start(self) -> None:
        """Read ``meta`` and build the signer; raises VenueUnavailableError, VenueError."""
        # The modify-or-replace rule is jitted: load it now, not at the first quote.
        requote_action(math.nan, 0.0, 100.0, 1.0, 1.0, 1.0, 2.0)
        rules = await self.info.meta()
        unknown = [c for c in self.config.coins if c not in rules]
        if unknown:
            raise VenueError(f"{unknown} not in the venue's meta (known: {sorted(rules)[:20]})")
        self.exchange = ExchangeClient(self.poster, self._key, rules,
                                       is_mainnet=self.config.mainnet)
        self.user = self.exchange.address
        for coin in self.config.coins:
            self.coins[coin] = CoinSession(coin, rules[coin], self.quoters[coin],
                                           max_modify_ticks=self.max_modify_ticks,
                                           session_id=self.session_id)
        subs = [*self._subs, {"type": "orderUpdates", "user": self.user},
                {"type": "userFills", "user": self.user}]
        cfg = self.config
        self.ws = WsClient(cfg.ws_url, subs, self.on_message, on_connected=self.resync,
                           ping_interval_s=cfg.ping_interval_s, silence_s=cfg.silence_s,
                           open_timeout_s=cfg.open_timeout_s, backoff=cfg.backoff)

    # -- the quoting gate --------------------------------------------------------------
    @property
    def synced(self) -> bool:
        return self.ws is not None and self.ws.synced

    def quoting(self, c: CoinSession) -> bool:
        """May ``c`` send new quotes now?"""
        fresh = time.monotonic() - c.last_book_wall <= self.config.stale_book_s
        return (self.synced and not self.kill.active and fresh and c.manager is not None
                and not self._stop.is_set())

    # -- messages ----------------------------------------------------------------------
    def on_message(self, msg: dict[str, Any], recv_ns: int) -> None:
        channel, data = msg.get("channel"), msg.get("data")
        try:
            if channel == "l2Book":
                self._on_book(parse_book(data))
            elif channel == "activeAssetCtx":
                ctx = parse_asset_ctx(data)
                if ctx.coin in self.coins:
                    self.coins[ctx.coin].see_funding(ctx.funding_per_hour, ctx.mark_px)
            elif channel == "orderUpdates":
                for update in parse_order_updates(data):
                    self._on_update(update)
            elif channel == "userFills":
                _, fills = parse_user_fills(data)
                for fill in fills:
                    self._on_fill(fill)
        except MessageError as exc:
            self.bad_messages += 1
            log.warning("ignored a malformed %s message: %s", channel, exc,
                        extra={"event": "bad_message", "channel": channel})

    def _on_book(self, book: BookSnapshot) -> None:
        c = self.coins.get(book.coin)
        if c is None:
            return
        if not c.see_book(book):
            # A snapshot older than the last one: the stream is out of order.
            assert self.ws is not None
            self.ws.drop(f"{book.coin} book went back in time")
            return
        self._requote(c)

    def _requote(self, c: CoinSession) -> None:
        if not self.quoting(c):
            return
        if c.busy:
            c.dirty = True
            return
        assert c.manager is not None
        actions = c.manager.reconcile(c.wanted(), time.time_ns())
        if actions:
            self._spawn(self._send(c, actions))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_update(self, u: OrderUpdate) -> None:
        c = self.coins.get(u.coin)
        if c is None or c.manager is None:
            return
        m, now = c.manager, time.time_ns()
        ref = u.cloid if u.cloid is not None and m.registry.holds(u.cloid) else u.oid
        order = m.registry.find(ref)
        if order is None:
            return
        with _tolerated(order.lifecycle_id, f"orderUpdates {u.status}"):
            if u.status == "open" and order.status is OrderStatus.PENDING_NEW:
                m.on_ack(order.cloid, u.oid, now)
            elif u.status == "rejected" and order.status is OrderStatus.PENDING_NEW:
                m.on_reject(order.cloid, "rejected (orderUpdates)", now)
                c.rejects += 1
            elif u.status in _GONE and u.oid == order.venue_oid:
                # A modify gives the order a new oid and retires the old one: only the
                # current oid's end is the order's (the modify's answer settles the rest).
                if order.status is OrderStatus.PENDING_CANCEL:
                    m.on_cancel_ack(order.cloid, now)
                elif order.status is OrderStatus.OPEN:
                    order.venue_gone(now)
                    m.registry.track(order)

    def _on_fill(self, f: UserFill) -> None:
        c = self.coins.get(f.coin)
        if c is None:
            return
        m = c.manager or c.ensure_manager(f.px)
        ref = f.cloid if f.cloid is not None and m.registry.holds(f.cloid) else f.oid
        with _tolerated(str(ref), f"fill {f.tid}"):
            fill = m.on_fill(f.tid, ref, f.px, f.sz, f.fee, f.ts_ns, side=f.side)
            if fill is not None:
                log.info("%s fill %s: %s %g @ %g (order %s)", f.coin, f.tid, f.side.value,
                         f.sz, f.px, fill.cloid,
                         extra={"event": "fill", "symbol": f.coin, "tid": f.tid,
                                "cloid": fill.cloid, "position": m.position})

    # -- sending -----------------------------------------------------------------------
    async def _send(self, c: CoinSession, actions: list[VenueAction]) -> None:
        assert self.exchange is not None and c.manager is not None
        c.busy = True
        try:
            cancels = [a for a in actions if isinstance(a, Cancel)]
            modifies = [a for a in actions if isinstance(a, Modify)]
            places = [a for a in actions if isinstance(a, Place)]
            await self._batch(c, cancels, self.exchange.cancel, self._cancel_result)
            await self._batch(c, modifies, self.exchange.modify, self._modify_result)
            await self._batch(c, places, self.exchange.place, self._place_result)
        finally:
            c.busy = False
        if c.dirty:
            c.dirty = False
            self._requote(c)

    async def _batch(
        self, c: CoinSession, batch: list[Any],
        call: Callable[[Any], Awaitable[list[ActionStatus]]],
        apply: Callable[[CoinSession, Any, ActionStatus], None],
    ) -> None:
        if not batch:
            return
        try:
            statuses = await call(batch)
        except (VenueUnavailableError, VenueError) as exc:
            # The ack timeout of each order resolves it (cancel by cloid).
            self.send_errors += 1
            log.warning("%s: %d action(s) unanswered: %s", c.coin, len(batch), exc,
                        extra={"event": "send_failed", "symbol": c.coin})
            return
        for action, status in zip(batch, statuses, strict=True):
            with _tolerated(action.lifecycle_id, status.kind):
                apply(c, action, status)

    def _place_result(self, c: CoinSession, a: Place, s: ActionStatus) -> None:
        m, now = c.manager, time.time_ns()
        assert m is not None
        if s.kind in ("resting", "filled") and s.oid is not None:
            if m.order(a.cloid).status is OrderStatus.PENDING_NEW:
                m.on_ack(a.cloid, s.oid, now)
            log.info("%s order %s %s %g @ %g: %s oid %s", c.coin, a.lifecycle_id,
                     a.side.value, a.sz, a.px, s.kind, s.oid,
                     extra={"event": "order_ack", "lifecycle_id": a.lifecycle_id,
                            "symbol": c.coin, "oid": s.oid})
        else:
            m.on_reject(a.cloid, s.message, now)
            c.rejects += 1
            log.warning("%s order %s rejected: %s", c.coin, a.lifecycle_id, s.message,
                        extra={"event": "order_reject", "lifecycle_id": a.lifecycle_id,
                               "symbol": c.coin, "reason": s.message})

    def _modify_result(self, c: CoinSession, a: Modify, s: ActionStatus) -> None:
        m, now = c.manager, time.time_ns()
        assert m is not None
        if s.kind in ("resting", "filled", "success"):
            m.on_modify_ack(a.cloid, now, s.oid)
            log.info("%s order %s modified to %g @ %g (oid %s)", c.coin, a.lifecycle_id,
                     a.sz, a.px, s.oid, extra={"event": "modify_ack",
                                                "lifecycle_id": a.lifecycle_id})
        else:
            m.on_modify_reject(a.cloid, s.message, now)
            log.warning("%s modify of %s refused: %s", c.coin, a.lifecycle_id, s.message,
                        extra={"event": "modify_reject", "lifecycle_id": a.lifecycle_id})

    def _cancel_result(self, c: CoinSession, a: Cancel, s: ActionStatus) -> None:
        m, now = c.manager, time.time_ns()
        assert m is not None
        order = m.order(a.cloid)
        if s.kind == "success":
            if order.status is OrderStatus.PENDING_CANCEL or order.status is OrderStatus.FILLED:
                m.on_cancel_ack(a.cloid, now)
            log.info("%s order %s cancelled", c.coin, a.lifecycle_id,
                     extra={"event": "cancel_ack", "lifecycle_id": a.lifecycle_id})
        elif order.status is OrderStatus.PENDING_CANCEL:
            m.on_cancel_reject(a.cloid, s.message, now)
            if a.oid is None and self.ws is not None:
                # A cancel by cloid follows an unanswered request: refused, our view of
                # the order is a guess (gone, filled, or modified under a new oid).
                self.ws.drop(f"{c.coin}: cancel of {a.lifecycle_id} by cloid refused "
                             f"({s.message}); resync")

    async def cancel_all(self) -> int:
        """Cancel every order of ours on every coin (kill switch, shutdown): wait for the
        actions in flight, cancel what the managers hold, then sweep whatever the venue
        still lists (an order whose cancel missed a modify's new oid). Returns the number
        of cancels sent."""
        pending = [t for t in self._tasks if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=self.config.request_timeout_s * 2)
        n = 0
        for c in self.coins.values():
            if c.manager is None:
                continue
            cancels = c.manager.cancel_all(time.time_ns())
            n += len(cancels)
            if cancels:
                await self._send(c, list(cancels))
        for coin in self.coins:
            left = await self.info.open_orders(self.user, coin)
            if left:
                assert self.exchange is not None
                log.warning("%s: %d order(s) still open after the cancels; cancelling by oid",
                            coin, len(left), extra={"event": "cancel_sweep", "symbol": coin})
                await self.exchange.cancel([Cancel(o.cloid or "", "sweep", coin, o.oid, o.side)
                                            for o in left])
                n += len(left)
        return n

    def _on_trip(self, reason: KillReason) -> None:
        if self._chained_trip is not None:
            self._chained_trip(reason)
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to cancel with
            self._spawn(self._cancel_after_trip())

    async def _cancel_after_trip(self) -> None:
        try:
            n = await self.cancel_all()
            log.warning("kill switch: %d cancel(s) sent", n, extra={"event": "kill_cancels"})
        except (VenueUnavailableError, VenueError, MessageError) as exc:
            # Unreachable now: the next resync's reconcile and the shutdown sweep retry.
            log.error("kill switch: cancels did not all get through: %s", exc,
                      extra={"event": "kill_cancel_failed"})

    # -- resync ------------------------------------------------------------------------
    async def resync(self) -> None:
        """After a (re)connect: fresh books, then orders, fills and position per coin."""
        since = self.started_ns - int(self.config.fills_lookback_s * _S)
        for coin, c in self.coins.items():
            book = await self.info.l2_book(coin)
            c.last_book_ts = -1  # the snapshot replaces whatever came before the gap
            c.see_book(book)
            assert c.manager is not None
            open_orders = await self.info.open_orders(self.user, coin)
            fills = await self.info.user_fills(self.user, coin, since_ns=since)
            position = await self.info.position(self.user, coin)
            report = c.manager.reconcile_with_venue(
                open_orders, position, [f.venue_fill() for f in fills], time.time_ns())
            c.sync_reports.append(report)
            log.info("%s resynced: %d fill(s) applied, %d confirmed, %d closed as filled, "
                     "%d closed as cancelled, %d unknown cancelled, position %g%s", coin,
                     len(report.fills_applied), len(report.confirmed),
                     len(report.closed_filled), len(report.closed_canceled),
                     len(report.canceled_unknown), report.venue_position,
                     f" (MISMATCH with ours: {report.local_position:g})"
                     if report.position_mismatch else "",
                     extra={"event": "resync", "symbol": coin,
                            "fills_applied": len(report.fills_applied),
                            "position": report.venue_position})
            if report.actions:
                await self._send(c, list(report.actions))
            if self.kill.active:  # killed while away: what still rests goes now
                cancels = c.manager.cancel_all(time.time_ns())
                if cancels:
                    await self._send(c, list(cancels))
        for _ in range(3):  # a few probes: the tightest bounds the offset
            await self.info.probe_clock(self.clock, self.config.coins[0])
        self.resyncs += 1

    # -- tasks -------------------------------------------------------------------------
    async def _watchdog(self) -> None:
        cfg = self.config
        while not self._stop.is_set():
            now = time.monotonic()
            if self.synced:
                self._unsynced_since = now
                for c in self.coins.values():
                    if now - c.last_book_wall > cfg.stale_book_s and self.ws is not None:
                        self.ws.drop(f"{c.coin}: no book for {now - c.last_book_wall:.1f} s")
                    elif self.quoting(c) and not c.busy:
                        self._requote(c)  # ack timeouts resolve even in a quiet book
            elif now - self._unsynced_since > cfg.kill_after_s and not any(
                    r.trigger == "feed_disconnect" for r in self.kill.reasons):
                self.kill.trip("feed_disconnect",
                               f"not connected and resynced for {now - self._unsynced_since:.1f} s "
                               f"(limit {cfg.kill_after_s:g} s)")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.05)

    async def _clock_loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.config.clock_probe_s)
            if self.synced and not self._stop.is_set():
                try:
                    await self.info.probe_clock(self.clock, self.config.coins[0])
                except (VenueUnavailableError, VenueError, MessageError) as exc:
                    log.warning("clock probe failed: %s", exc, extra={"event": "clock_probe"})

    def stop(self, why: str) -> None:
        if not self._stop.is_set():
            self.stop_reason = why
            self._stop.set()

    async def run(self, duration_s: float | None = None) -> dict[str, Any]:
        """Quote until ``duration_s``, :meth:`stop` or a lost connection; then cancel
        everything reachable and return the summary."""
        if self.ws is None:
            await self.start()
        assert self.ws is not None
        self._unsynced_since = time.monotonic()
        ws_task = asyncio.create_task(self.ws.run(), name="hl-ws")
        tasks = [asyncio.create_task(self._watchdog(), name="hl-watchdog"),
                 asyncio.create_task(self._clock_loop(), name="hl-clock")]
        stop_wait = asyncio.create_task(self._stop.wait())
        done, _ = await asyncio.wait({ws_task, stop_wait}, timeout=duration_s,
                                     return_when=asyncio.FIRST_COMPLETED)
        if ws_task in done:
            exc = ws_task.exception()
            if isinstance(exc, ConnectionLostError):
                self.kill.trip("feed_disconnect", str(exc))
            self.stop(f"connection lost: {exc}" if exc else "connection closed")
        elif stop_wait not in done:
            self.stop(f"duration {duration_s:g} s elapsed")
        try:
            await asyncio.wait_for(self.cancel_all(), self.config.request_timeout_s * 2)
        except (TimeoutError, VenueUnavailableError, VenueError) as exc:
            log.error("could not cancel every order at shutdown: %s", exc,
                      extra={"event": "shutdown_cancel_failed"})
        self.ws.stop()
        for task in (*tasks, ws_task, stop_wait, *self._tasks):
            task.cancel()
        await asyncio.gather(ws_task, stop_wait, *tasks, *self._tasks, return_exceptions=True)
        self.poster.close()
        return self.summary()

    def summary(self) -> dict[str, Any]:
        est = self.clock.estimate
        return {
            "stopped_by": self.stop_reason,
            "kill_switch": self.kill.to_dict(),
            "connects": self.ws.connects if self.ws else 0,
            "resyncs": self.resyncs,
            "clock_offset_ms": est.offset_ns / 1e6 if est else None,
            "clock_uncertainty_ms": est.uncertainty_ns / 1e6 if est else None,
            "rtt_ms": est.rtt_ns / 1e6 if est else None,
            "sent": dict(self.exchange.sent) if self.exchange else {},
            "symbols": [{
                "symbol": c.coin, "position": c.position, "pnl": c.pnl(),
                "fills": c.manager.ledger.n_fills if c.manager else 0,
                "live_orders": len(c.manager.live_orders()) if c.manager else 0,
                "rejects": c.rejects,
            } for c in self.coins.values()],
        }


@contextlib.contextmanager
def _tolerated(lifecycle_id: str, what: str) -> Any:
    """A venue message that our state machine already moved past (a duplicate ack, a
    late reply) is logged and dropped, never fatal."""
    try:
        yield
    except (OrderStateError, UnknownOrderError) as exc:
        log.info("%s: %s ignored: %s", lifecycle_id, what, exc,
                 extra={"event": "late_reply", "lifecycle_id": lifecycle_id})

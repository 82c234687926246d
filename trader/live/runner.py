"""``trader run``: one asyncio process quoting every symbol on the paper venue.

Tasks: one feed per symbol (each market event goes through
:meth:`trader.live.engine.SymbolEngine.on_event`) and one housekeeping loop every
``loop_interval_s`` that, in order, applies control commands (``trader kill``/``reset``),
checks for stale market data, polls the registry for new params (every
``params_poll_s``), saves the state (every ``save_every_s``) and logs a status line
(every ``status_every_s``). The process ends when the duration elapses, every replay
ends, or on SIGTERM/SIGINT: it then cancels every order, lets the cancels reach the
venue, saves the state and returns the summary (docs/architecture.md §8).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry
from trader.backtesting import resolve_param_set
from trader.live.engine import SymbolEngine
from trader.live.feed import ReplayFeed, newest_day, replay_day
from trader.live.files import TraderFiles
from trader.live.latency import LatencyRecorder
from trader.live.metrics import TraderCollector, serve_metrics
from trader.live.params import ParamsWatcher, build_params, watches
from trader.market_state import new_state
from trader.risk import KillReason, KillSwitch, MarginConfig, RiskLimits
from trader.risk.portfolio import PortfolioModel, model_of_sets
from trader.risk.portfolio_guard import PortfolioGuard
from trader.settings import default_settings

__all__ = ["RunConfig", "Trader", "run_trader"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunConfig:
    """What ``trader run`` was asked to do.

    Attributes
    ----------
    paths : LakePaths
    params : str
        ``latest``, a version id or a JSON path (only ``latest`` follows publications).
    symbols : tuple of str
        Empty: every symbol with a published set.
    venue : str
        Execution venue; only ``paper`` (the simulator in live mode) exists.
    duration_s : float or None
        Wall seconds to run; None until the replays end or a signal.
    speed : float
        Replay speed (x real time); 0 as fast as possible.
    metrics_port : int
        Prometheus port on 127.0.0.1; 0 for none.
    limits : RiskLimits
    margin : MarginConfig or None
        Collateral per symbol and margin rules; None: no margin-aware sizing.
    feed : str
        Market data: ``lake`` (the newest lake day replayed) or ``hyperliquid`` (live
        l2Book, trades and activeAssetCtx from ``hl_ws_url``/``hl_rest_url``, appended to
        a live event buffer: the paper venue fills against live data with the queue model
        of the backtest; docs/hyperliquid.md).
    hl_rest_url, hl_ws_url : str
        Hyperliquid endpoints of the live feed (testnet by default).
    """

    paths: LakePaths
    params: str = "latest"
    symbols: tuple[str, ...] = ()
    venue: str = "paper"
    duration_s: float | None = None
    speed: float = 1.0
    metrics_port: int = 0
    limits: RiskLimits = field(default_factory=RiskLimits)
    margin: MarginConfig | None = None
    loop_interval_s: float = 0.1
    params_poll_s: float = 1.0
    save_every_s: float = 5.0
    status_every_s: float = 10.0
    resume: bool = True
    feed: str = "lake"
    hl_rest_url: str = "https://api.hyperliquid-testnet.xyz"
    hl_ws_url: str = "wss://api.hyperliquid-testnet.xyz/ws"


FeedFactory = Callable[[str, str], ReplayFeed]
"""``factory(venue, symbol) -> feed``; default: the newest lake day (:func:`lake_replay`)."""


class Trader:
    """The live trader's process state; :meth:`run` is the coroutine.

    ``feed_factory`` replaces where market data comes from (tests, other recordings).
    """

    def __init__(self, config: RunConfig, feed_factory: FeedFactory | None = None) -> None:
        if config.venue != "paper":
            raise ValueError(f"venue {config.venue!r} is not available; only 'paper' is")
        self.config = config
        self.files = TraderFiles(config.paths)
        self.registry = ParamRegistry(config.paths, refresh_catalog=False)
        self.kill = KillSwitch(on_trip=self._on_trip)
        self.latency = LatencyRecorder()
        self.engines: list[SymbolEngine] = []
        self.watchers: dict[str, ParamsWatcher] = {}
        self.stop_reason = ""
        self._stop = asyncio.Event()
        self._started = datetime.now(UTC).isoformat()
        self._metrics: Any = None
        self._saved: dict[str, Any] = {}
        self.portfolio: PortfolioGuard | None = None
        if config.feed not in ("lake", "hyperliquid"):
            raise ValueError(f"feed {config.feed!r} is not available; use 'lake' or 'hyperliquid'")
        default = self._hyperliquid_feed if config.feed == "hyperliquid" else self._lake_replay
        self._feed_factory = feed_factory or default

    def _lake_replay(self, venue: str, symbol: str) -> ReplayFeed:
        day = newest_day(self.config.paths, venue, symbol)
        return ReplayFeed(replay_day(self.config.paths, venue, symbol, day), day,
                          speed=self.config.speed)

    def _hyperliquid_feed(self, venue: str, symbol: str) -> Any:
        from trader.hyperliquid.feed import HyperliquidFeed  # only a live run pays for it

        return HyperliquidFeed(symbol, self.config.hl_ws_url, self.config.hl_rest_url)

    # -- setup -------------------------------------------------------------------------

    def _symbols(self) -> list[str]:
        if self.config.symbols:
            return list(self.config.symbols)
        symbols = [s for s in self.registry.symbols() if self.registry.latest_version(s)]
        if not symbols:
            raise ValueError(
                f"no published param set under {self.registry.root}; run `make run` first "
                "or pass --params PATH --symbols S"
            )
        return symbols

    def setup(self) -> None:
        """Resolve params, load the replays, restore the saved state, take the lock.

        Raises
        ------
        ParamRegistryError, ParamsRefusedError, NoLakeDataError, UnknownInstrumentError,
        TraderAlreadyRunningError, ValueError
            Each says what is missing and what to do.
        """
        self.files.acquire()
        saved = self.files.load_state() if self.config.resume else None
        self._saved = saved or {}
        if saved:
            self.kill.restore([KillReason.from_dict(r) for r in saved["kill"]["reasons"]])
        for symbol in self._symbols():
            document = resolve_param_set(self.config.params, symbol, self.registry)
            settings = default_settings(document.venue, symbol)
            loaded = build_params(document, settings, new_state())
            feed = self._feed_factory(document.venue, symbol)
            day = feed.day
            engine = SymbolEngine(settings, loaded, feed, self.config.limits, self.kill,
                                  self.latency, self.config.margin)
            previous = self._saved.get("symbols", {}).get(symbol)
            if previous is not None and previous["venue"] == document.venue:
                engine.restore(previous)
                last_ts = previous["feed"]["last_ts_ns"]
                if previous["feed"]["day"] == day.isoformat() and last_ts >= 0:
                    feed.start_after(last_ts)
                log.info("%s: resumed position %g from the saved state", symbol,
                         previous["position"],
                         extra={"event": "resumed", "symbol": symbol,
                                "position": previous["position"], "replay_row": feed.start})
            self.engines.append(engine)
            if watches(self.config.params):
                self.watchers[symbol] = ParamsWatcher(self.registry, symbol, loaded.version)
            log.info("%s: quoting params %s, replaying %s/%s %s from row %d at speed %g",
                     symbol, loaded.version, document.venue, symbol, day, feed.start,
                     self.config.speed,
                     extra={"event": "symbol_ready", "symbol": symbol,
                            "version": loaded.version, "day": day.isoformat()})
        if self.engines and self.config.limits.has_portfolio_limit:
            self.portfolio = PortfolioGuard(self._portfolio_model(), self.engines,
                                            self.config.limits, self.kill)
            for engine in self.engines:
                engine.portfolio = self.portfolio
        if self.engines:
            t0 = time.monotonic()
            self.engines[0].warm_up()  # compiled code is shared by every symbol
            if self.config.feed == "hyperliquid":
                from trader.hyperliquid.feed import warm_up_live

                warm_up_live(self.engines[0])  # a live buffer is empty at set-up
            log.info("compiled the live step in %.1f s", time.monotonic() - t0,
                     extra={"event": "warm_up", "seconds": time.monotonic() - t0})
        self._apply_commands()

    def _portfolio_model(self) -> PortfolioModel:
        return model_of_sets({e.symbol: e.params.document for e in self.engines})

    # -- kill switch -------------------------------------------------------------------

    def _on_trip(self, reason: KillReason) -> None:
        # Cancel on every reason (idempotent); flatten once, when the switch goes down.
        flat = self.config.limits.flatten_on_kill and len(self.kill.reasons) == 1
        for engine in self.engines:
            engine.halt(flatten_position=flat)

    def _apply_commands(self) -> None:
        for command in self.files.take_commands():
            name = command.get("command")
            if name == "kill":
                self.kill.trip("manual", str(command.get("reason") or "trader kill"))
            elif name == "reset":
                for engine in self.engines:
                    engine.stale_tripped = False
                    engine.watch.book_seen()
                self.kill.reset(by=str(command.get("by") or "trader reset"))
            else:
                log.error("ignored control command %s", command,
                          extra={"event": "control_invalid"})

    # -- tasks -------------------------------------------------------------------------

    async def _run_feed(self, engine: SymbolEngine) -> None:
        on_event = engine.on_event
        # Staleness counts from the feed's start, not from set-up: a cold start spends tens
        # of seconds compiling, which is no silence of the market.
        engine.watch.book_seen()
        try:
            async for seq, i in engine.feed.events():
                on_event(seq, i)
                if self._stop.is_set():
                    return
        except (OSError, EOFError, TimeoutError) as exc:
            engine.feed_done = True
            self.kill.trip("feed_disconnect", f"market data feed failed: {exc!r}",
                           symbol=engine.symbol)
            return
        engine.feed_done = True
        log.info("%s: replay of %s finished", engine.symbol, engine.feed.day,
                 extra={"event": "replay_done", "symbol": engine.symbol})

    def _check_stale(self) -> None:
        limit = self.config.limits.stale_after_s
        now = time.monotonic()
        for engine in self.engines:
            if engine.feed_done or engine.stale_tripped:
                continue
            stale = engine.watch.stale_for(now)
            if stale > limit:
                engine.stale_tripped = True
                self.kill.trip("stale_market_data",
                               f"no book update for {stale:.1f} s (limit {limit:g} s)",
                               symbol=engine.symbol)

    def _poll_params(self) -> None:
        for engine in self.engines:
            watcher = self.watchers.get(engine.symbol)
            if watcher is None:
                continue
            loaded = watcher.poll(engine.settings, engine.state)
            if loaded is not None:
                engine.swap_params(loaded)
                if self.portfolio is not None:  # new sigma, correlation, hedge ratios
                    self.portfolio.swap_model(self._portfolio_model())

    def _status_line(self) -> None:
        for engine in self.engines:
            pnl = engine.pnl()
            log.info("%s status: position %g, pnl %.4f, fills %d, params %s", engine.symbol,
                     float(engine.acct[1]), pnl["total"], engine.fills_total,
                     engine.params.version,
                     extra={"event": "status", "symbol": engine.symbol,
                            "position": float(engine.acct[1]), "pnl": pnl,
                            "fills": engine.fills_total, "params_version": engine.params.version,
                            "live_inputs": engine.live_inputs(),
                            "kill_switch": self.kill.active})

    async def _housekeeping(self) -> None:
        cfg = self.config
        next_params = next_save = next_status = time.monotonic()
        while not self._stop.is_set():
            self._apply_commands()
            self._check_stale()
            now = time.monotonic()
            if now >= next_params:
                self._poll_params()
                next_params = now + cfg.params_poll_s
            if now >= next_save:
                self.save(running=True)
                next_save = now + cfg.save_every_s
            if now >= next_status:
                self._status_line()
                next_status = now + cfg.status_every_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), cfg.loop_interval_s)

    def request_stop(self, why: str) -> None:
        if not self._stop.is_set():
            self.stop_reason = why
            self._stop.set()

    async def run(self) -> dict[str, Any]:
        """Trade until the duration, the replays' end, or a signal; returns the summary."""
        loop = asyncio.get_running_loop()
        for sig, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
            loop.add_signal_handler(sig, self.request_stop, name)
        if self.config.metrics_port:
            collector = TraderCollector(lambda: self.engines, self.kill, self.latency,
                                        lambda e: e.watch.stale_for())
            self._metrics = serve_metrics(self.config.metrics_port, collector)
        t0 = time.monotonic()
        feeds = [asyncio.create_task(self._run_feed(e), name=f"feed-{e.symbol}")
                 for e in self.engines]
        house = asyncio.create_task(self._housekeeping(), name="housekeeping")
        stop_wait: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
        timeout = self.config.duration_s
        all_feeds: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*feeds))
        waiting: set[asyncio.Future[Any]] = {stop_wait, all_feeds}
        done, _ = await asyncio.wait(waiting, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        crash: BaseException | None = None
        if all_feeds in done:
            crash = all_feeds.exception()
            self.request_stop("replay finished" if crash is None else f"feed crashed: {crash!r}")
        elif stop_wait not in done:
            self.request_stop(f"duration {timeout:g} s elapsed")
        await asyncio.gather(house, stop_wait)
        for task in feeds:
            task.cancel()
        # all_feeds too: its CancelledError unread is logged as "never retrieved".
        await asyncio.gather(*feeds, all_feeds, return_exceptions=True)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if crash is not None:
            self.shutdown(time.monotonic() - t0)  # orders cancelled and state saved first
            raise crash
        return self.shutdown(time.monotonic() - t0)

    # -- end ---------------------------------------------------------------------------

    def shutdown(self, wall_s: float) -> dict[str, Any]:
        """Cancel everything, let it reach the venue, save the state, stop metrics."""
        for engine in self.engines:
            engine.halt(flatten_position=False)
            engine.drain()
        self._apply_commands()
        self.save(running=False)
        if self._metrics is not None:
            self._metrics.shutdown()
            self._metrics.server_close()
        self.files.release()
        summary = self.summary(wall_s)
        log.info("stopped (%s)", self.stop_reason, extra={"event": "stopped", **summary})
        return summary

    def state_document(self, *, running: bool) -> dict[str, Any]:
        symbols = dict(self._saved.get("symbols", {}))
        symbols.update({e.symbol: e.snapshot() for e in self.engines})
        return {
            "saved_at": datetime.now(UTC).isoformat(),
            "running": running,
            "started_at": self._started,
            "params_spec": self.config.params,
            "venue": self.config.venue,
            "kill": self.kill.to_dict(),
            "portfolio": self.portfolio_document(),
            "symbols": symbols,
        }

    def portfolio_document(self) -> dict[str, Any] | None:
        """The portfolio limits, the model and the last measure (None: no limit set)."""
        guard = self.portfolio
        if guard is None:
            return None
        limits = self.config.limits
        return {
            "limits": {"risk_1h": _finite_or_none(limits.portfolio_risk),
                       "beta_net_notional": _finite_or_none(limits.portfolio_beta_notional),
                       "kill_factor": limits.portfolio_kill_factor},
            **guard.state.to_dict(guard.model.symbols),
            "model": guard.model.to_dict(),
        }

    def save(self, *, running: bool) -> None:
        self.files.save_state(self.state_document(running=running))

    def summary(self, wall_s: float) -> dict[str, Any]:
        lat = self.latency.percentiles_us()
        per_symbol = [e.summary() for e in self.engines]
        total = math.fsum(s["pnl"]["total"] for s in per_symbol)
        return {
            "stopped_by": self.stop_reason,
            "wall_s": wall_s,
            "kill_switch": self.kill.to_dict(),
            "tick_to_quote_us": lat,
            "pnl_total": total,
            "portfolio": self.portfolio_document(),
            "symbols": per_symbol,
        }


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run_trader(
    config: RunConfig, feed_factory: FeedFactory | None = None
) -> dict[str, Any]:
    """Set up and run a trader to the end (blocking); returns its summary."""

    async def main() -> dict[str, Any]:
        trader = Trader(config, feed_factory)
        try:
            trader.setup()
        except BaseException:
            trader.files.release()
            raise
        return await trader.run()

    return asyncio.run(main())

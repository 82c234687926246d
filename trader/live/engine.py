"""One symbol of the live trader: its paper venue, market state, params and P&L.

:meth:`SymbolEngine.on_event` is the hot path: one jitted :func:`trader.live.step.step_event`
call per market event (venue, our view, hard limits, GLFT requote), timed from the event's
arrival to the quote decision. Everything else (kill, swap, save, summary) runs between
events, so a swap or a kill always lands between two quote cycles.

P&L parts (quote currency) are those of the backtest (:class:`trader.sim.PnlAttribution`)
and sum to the total, cash + position x mid: spread capture and the inventory carry are
accumulated by the venue; adverse selection marks each fill to the mid
``markout_horizon_ns`` later (fills younger than that are marked to the current mid).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from typing import Any

import numpy as np

from trader.live.feed import ReplayFeed
from trader.live.latency import LatencyRecorder
from trader.live.params import LoadedParams
from trader.live.step import (
    LV_LEN,
    LV_NEXT_TIMER,
    RISK_ASK_OPEN,
    RISK_BID_OPEN,
    RISK_DRAWDOWN,
    RISK_LEN,
    RISK_MAX_NOTIONAL,
    RISK_MAX_POSITION,
    RISK_PEAK_EQUITY,
    STEP_FILLED,
    TRIP_DRAWDOWN,
    TRIP_NOTIONAL,
    TRIP_POSITION,
    cancel_all,
    deliver,
    flatten,
    resting_orders,
    step_event,
    step_timers,
)
from trader.market_state import (
    S_HAWKES_BUY_RATIO,
    S_HAWKES_SELL_RATIO,
    S_INVENTORY,
    S_JUMP_REGIME,
    S_MID,
    S_SIGMA_SCALE,
    S_VPIN,
    S_VPIN_SCALE_ASK,
    S_VPIN_SCALE_BID,
    new_quote,
    new_state,
)
from trader.risk import CascadeDetector, FeedWatch, KillSwitch, RiskLimits
from trader.risk.margin import (
    MarginConfig,
    liquidation_price,
    margin_max_position,
    margin_utilisation,
)
from trader.risk.portfolio_guard import PortfolioGuard
from trader.settings import TraderSettings
from trader.sim.config import C_MAX_POSITION
from trader.sim.events import KIND_BBO, KIND_BOOK, KIND_TRADE
from trader.sim.exchange import (
    A_CARRY,
    A_CASH,
    A_FEES,
    A_FILLED_QTY,
    A_FUNDING,
    A_MID,
    A_POS,
    A_QUOTED_QTY,
    A_SPREAD,
    F_LEN,
    F_MID,
    F_QTY,
    F_SIDE,
    K_CANCELS,
    K_FILLS,
    K_LEN,
    K_MODIFIES,
    K_ORDERS,
    K_REJECTS,
    K_REQUOTES,
    O_PX,
    O_QTY,
    O_SIDE,
    O_STATE,
    R_LEN,
    new_account,
    new_orders,
)
from trader.strategy.params import P_MAX_POSITION, P_ORDER_SIZE

__all__ = ["SymbolEngine"]

log = logging.getLogger(__name__)

_RING = 1 << 12
_FILL_LOG = 1 << 10
_FOREVER = np.iinfo(np.int64).max - 1
_TRIP_NAMES = {
    TRIP_POSITION: "position_limit",
    TRIP_NOTIONAL: "notional_limit",
    TRIP_DRAWDOWN: "drawdown",
}


class SymbolEngine:
    """The paper venue and quoting of one symbol.

    Parameters
    ----------
    settings : TraderSettings
        Venue rules, sizes, latencies (the same object a backtest uses).
    params : LoadedParams
        The checked param set to quote with.
    feed : ReplayFeed
        Where the market comes from; its stream's level arrays are read by the step.
    limits : RiskLimits
    kill : KillSwitch
        The process-wide switch; asked before each quote cycle.
    latency : LatencyRecorder
        Shared tick-to-quote recorder.
    margin : MarginConfig, optional
        Collateral and margin rules: the position limit then follows the mark
        (:func:`trader.risk.margin.margin_max_position`) and margin utilisation and the
        liquidation distance are checked on every event.
    """

    def __init__(
        self, settings: TraderSettings, params: LoadedParams, feed: ReplayFeed,
        limits: RiskLimits, kill: KillSwitch, latency: LatencyRecorder,
        margin: MarginConfig | None = None,
    ) -> None:
        self.settings = settings
        self.symbol = settings.symbol
        self.venue = settings.venue
        self.params = params
        self.feed = feed
        self.limits = limits
        self.kill = kill
        self.latency = latency
        self.watch = FeedWatch()
        self.cascade = CascadeDetector(limits.cascade)
        cfg, cfg_ns = settings.backtest_config().packed()
        self.cfg, self.cfg_ns = cfg, cfg_ns
        self.orders = new_orders()
        depth = feed.stream.depth
        self.book = np.full((4, depth), np.nan)
        self.book[1] = 0.0
        self.book[3] = 0.0
        self.acct = new_account()
        self.counts = np.zeros(K_LEN, dtype=np.int64)
        self.fill_ts = np.zeros(_FILL_LOG, dtype=np.int64)
        self.fills = np.zeros((_FILL_LOG, F_LEN))
        self.vring_ts = np.zeros(_RING, dtype=np.int64)
        self.vring = np.zeros((_RING, R_LEN))
        self.vptr = np.zeros(3, dtype=np.int64)
        self.rring_ts = np.zeros(_RING, dtype=np.int64)
        self.rring = np.zeros((_RING, R_LEN))
        self.rptr = np.zeros(3, dtype=np.int64)
        self.state = new_state()
        self.out = new_quote()
        self.work = np.full(2, -1, dtype=np.int64)
        self.lv = np.full(LV_LEN, -1, dtype=np.int64)
        self.risk = np.zeros(RISK_LEN)
        self.risk[RISK_MAX_POSITION] = limits.position_factor * settings.max_position
        self.risk[RISK_MAX_NOTIONAL] = limits.max_notional
        self.risk[RISK_DRAWDOWN] = limits.max_drawdown
        self.risk[RISK_PEAK_EQUITY] = np.nan
        self.risk[RISK_BID_OPEN] = 1.0
        self.risk[RISK_ASK_OPEN] = 1.0
        # Shared by every symbol's engine; set by the runner when a portfolio limit is set.
        self.portfolio: PortfolioGuard | None = None
        self.markout_ns = settings.markout_horizon_ns
        self._pending: deque[tuple[int, float, float]] = deque()  # (due ns, side*qty, mid)
        self.adverse_settled = 0.0
        self.fills_total = 0
        self.fills_run = 0
        self.events_run = 0
        self.dropped_events = 0  # repeated or late sequence numbers, not applied
        self.last_ts = -1
        self.last_event_wall = time.monotonic()
        self.feed_done = False
        self.params_swaps = 0
        self.stale_tripped = False
        self.margin = margin
        self.quiet = False  # a warm-up copy logs nothing
        self.quote_array = params.array.copy()
        self.position_cap = settings.max_position
        self.margin_mark = math.nan

    # -- hot path ----------------------------------------------------------------------

    def on_event(self, seq: int, i: int) -> int:
        """Process market event row ``i`` (sequence number ``seq``); returns the step code
        (0 for a repeated or late ``seq``, dropped unapplied and counted)."""
        t0 = time.perf_counter_ns()
        if self.watch.seen_before(seq):
            # A repeated or late event: applying it would print a trade twice (double
            # fills) or move the venue's clock backwards. The gap it left tripped already.
            self.dropped_events += 1
            return 0
        s = self.feed.stream
        t = int(s.ts_ns[i])
        gap = self.watch.check_seq(seq)
        if gap is not None:
            self.kill.trip("sequence_gap", f"{gap} event(s) missing before seq {seq}",
                           symbol=self.symbol)
        if self.portfolio is not None:  # sides and the hard breach, before this quote cycle
            self.portfolio.on_leg_event(self)
        quoting = not self.kill.active
        if self.margin is not None and not self._check_margin(quoting):
            quoting = False
        if self._pending and self._pending[0][0] < t:
            self._settle_markouts(t)
        if t > self.lv[LV_NEXT_TIMER]:
            step_timers(t, quoting, self.quote_array, self.risk, self.cfg, self.cfg_ns,
                        self.orders,
                        self.book, self.acct, self.counts, self.fill_ts, self.fills,
                        self.vring_ts, self.vring, self.vptr, self.rring_ts, self.rring,
                        self.rptr, self.state, self.out, self.work, self.lv)
        k = int(s.kind[i])
        code = step_event(
            t, k, s.price[i], s.size[i], int(s.side[i]), int(s.level_row[i]),
            s.interval_s[i], s.bid_px, s.bid_sz, s.ask_px, s.ask_sz, s.bbo, quoting,
            self.quote_array, self.risk, self.cfg, self.cfg_ns, self.orders, self.book,
            self.acct, self.counts, self.fill_ts, self.fills, self.vring_ts,
            self.vring, self.vptr, self.rring_ts, self.rring, self.rptr, self.state,
            self.out, self.work, self.lv,
        )
        if k == KIND_TRADE:
            self._check_cascade(t, int(s.side[i]), float(s.size[i]))
        if k in (KIND_BOOK, KIND_BBO):
            self.latency.record(time.perf_counter_ns() - t0)
            self.watch.book_seen()
            self.stale_tripped = False
        self.last_ts = t
        self.events_run += 1
        if self.counts[K_FILLS]:
            self._collect_fills()
        if code & STEP_FILLED and self.portfolio is not None:
            self.portfolio.on_leg_event(self)  # the other symbols see it before they quote
        trip = code & 255
        # While down, a breached limit is re-seen on every event: record it once.
        if trip and (quoting or _TRIP_NAMES[trip] not in {r.trigger for r in self.kill.reasons}):
            self._trip_limit(trip)
        return code

    def _check_cascade(self, t: int, side: int, size: float) -> None:
        why = self.cascade.on_trade(t, side, size) or self.cascade.on_intensity(
            float(self.state[S_HAWKES_BUY_RATIO]), float(self.state[S_HAWKES_SELL_RATIO]))
        # Once down for a cascade, the rest of the burst adds nothing to the reasons.
        if why is not None and not any(
            r.trigger == "liquidation_cascade" for r in self.kill.reasons
        ):
            self.kill.trip("liquidation_cascade", why, symbol=self.symbol)

    def warm_up(self, n_events: int = 64) -> None:
        """Compile every jitted function the engine calls (on a throwaway copy), so
        neither the first quote nor the first kill waits for numba; cached on disk after
        the first process."""
        scratch = SymbolEngine(self.settings, self.params, self.feed, self.limits,
                               KillSwitch(), LatencyRecorder(capacity=1 << 8), self.margin)
        scratch.quiet = True
        for i in range(min(n_events, len(self.feed.stream))):
            scratch.on_event(i, i)
        scratch.halt(flatten_position=True)
        scratch.drain()
        scratch.resting()

    # -- between events ----------------------------------------------------------------

    def _collect_fills(self) -> None:
        n = int(self.counts[K_FILLS])
        for j in range(min(n, _FILL_LOG)):
            signed = self.fills[j, F_SIDE] * self.fills[j, F_QTY]
            self._pending.append((int(self.fill_ts[j]) + self.markout_ns, signed,
                                  float(self.fills[j, F_MID])))
        self.fills_total += n
        self.fills_run += n
        self.counts[K_FILLS] = 0

    def _settle_markouts(self, t: int) -> None:
        mid = float(self.acct[A_MID])
        while self._pending and self._pending[0][0] < t:
            _, signed, fill_mid = self._pending.popleft()
            self.adverse_settled += signed * (mid - fill_mid)

    def _trip_limit(self, code: int) -> None:
        pos, mid = float(self.acct[A_POS]), float(self.acct[A_MID])
        equity = self.equity()
        details = {
            TRIP_POSITION: f"|position| {abs(pos):g} > {self.risk[RISK_MAX_POSITION]:g}",
            TRIP_NOTIONAL: f"|position| x mid {abs(pos) * mid:,.2f} > "
                           f"{self.risk[RISK_MAX_NOTIONAL]:,.2f}",
            TRIP_DRAWDOWN: f"equity {equity:,.4f} is "
                           f"{self.risk[RISK_PEAK_EQUITY] - equity:,.4f} below its peak "
                           f"{self.risk[RISK_PEAK_EQUITY]:,.4f} (limit "
                           f"{self.risk[RISK_DRAWDOWN]:,.4f})",
        }
        self.kill.trip(_TRIP_NAMES[code], details[code], symbol=self.symbol)

    def halt(self, *, flatten_position: bool) -> int:
        """Cancel every working order (and optionally send the flattening IOC); returns
        the number of cancels sent. They reach the venue after the entry latency."""
        t = max(self.last_ts, 0)
        n = cancel_all(t, self.orders, self.work, self.cfg_ns, self.counts,
                       self.vring_ts, self.vring, self.vptr)
        sent = 0.0
        if flatten_position:
            sent = flatten(t, self.limits.flatten_band_bps, self.orders, self.cfg,
                           self.cfg_ns, self.acct, self.counts, self.state, self.vring_ts,
                           self.vring, self.vptr)
        if self.quiet:
            return n
        log.warning("%s: cancelled %d order(s)%s", self.symbol, n,
                    f", flattening {sent:g}" if sent else "",
                    extra={"event": "halt", "symbol": self.symbol, "cancels": n,
                           "flatten_qty": sent})
        return n

    def drain(self) -> None:
        """Deliver every message in flight (the feed has stopped: the book stays put)."""
        deliver(_FOREVER, True, True, self.orders, self.book, self.cfg, self.cfg_ns,
                self.acct, self.counts, self.fill_ts, self.fills, self.vring_ts, self.vring,
                self.vptr, self.rring_ts, self.rring, self.rptr, self.state, self.work)
        if self.counts[K_FILLS]:
            self._collect_fills()

    def swap_params(self, params: LoadedParams) -> None:
        """Quote with ``params`` from the next cycle on."""
        self.params = params
        self.quote_array = params.array.copy()
        self.quote_array[P_MAX_POSITION] = self.position_cap
        self.params_swaps += 1

    # -- portfolio (trader.risk.portfolio_guard.PortfolioLeg) ---------------------------

    def exposure(self) -> tuple[float, float, float]:
        """(venue position in base units, mid in quote currency or NaN, order size)."""
        acct = self.acct
        return acct.item(A_POS), acct.item(A_MID), self.quote_array.item(P_ORDER_SIZE)

    def summary_sides(self) -> dict[str, bool]:
        """Whether each side may quote (False: pulled by a portfolio limit)."""
        return {"bid": bool(self.risk[RISK_BID_OPEN]), "ask": bool(self.risk[RISK_ASK_OPEN])}

    def open_sides(self, bid: bool, ask: bool) -> None:
        """Let each side quote or pull it, from the next quote cycle on."""
        self.risk[RISK_BID_OPEN] = 1.0 if bid else 0.0
        self.risk[RISK_ASK_OPEN] = 1.0 if ask else 0.0

    # -- margin ------------------------------------------------------------------------

    def _check_margin(self, quoting: bool) -> bool:
        """Before each step (at the mark of the previous event): follow the mark with the
        position cap (when it moved 0.1 %) and trip on margin utilisation or a liquidation
        price too close to the mark. False when quoting must wait: a position whose
        margin cannot be checked yet (no mark), or a trip."""
        margin = self.margin
        assert margin is not None
        mid = float(self.acct[A_MID])
        if math.isnan(mid):
            return float(self.acct[A_POS]) == 0.0
        if not abs(mid - self.margin_mark) <= 1e-3 * mid:
            cap = margin_max_position(margin, mid, self.settings.max_position)
            self.position_cap = cap
            self.quote_array[P_MAX_POSITION] = cap
            self.cfg[C_MAX_POSITION] = cap
            self.margin_mark = mid
        pos = float(self.acct[A_POS])
        if pos == 0.0:
            return True
        equity = margin.collateral + self.equity()
        held = {r.trigger for r in self.kill.reasons}
        util = margin_utilisation(pos, mid, equity, margin.maintenance_rate)
        if util > self.limits.max_margin_utilisation and (quoting or
                                                           "margin_utilisation" not in held):
            self.kill.trip("margin_utilisation",
                           f"maintenance margin is {util:.1%} of equity {equity:,.2f} "
                           f"(limit {self.limits.max_margin_utilisation:.0%})",
                           symbol=self.symbol)
        p_liq = liquidation_price(pos, mid, equity, margin.maintenance_rate)
        distance = abs(mid - p_liq) / mid
        if distance < self.limits.min_liquidation_distance and (
                quoting or "liquidation_distance" not in held):
            self.kill.trip("liquidation_distance",
                           f"liquidation price {p_liq:,.4f} is {distance:.2%} from the mark "
                           f"{mid:,.4f} (limit {self.limits.min_liquidation_distance:.1%})",
                           symbol=self.symbol)
        return not self.kill.active

    # -- figures -----------------------------------------------------------------------

    def resting(self) -> int:
        """Orders resting at the venue now."""
        return int(resting_orders(self.orders))

    def equity(self) -> float:
        pos, mid = float(self.acct[A_POS]), float(self.acct[A_MID])
        return float(self.acct[A_CASH]) + (pos * mid if pos != 0.0 and mid == mid else 0.0)

    def pnl(self) -> dict[str, float]:
        """P&L parts and total, quote currency (they sum to the total)."""
        mid = float(self.acct[A_MID])
        # tuple(): the metrics thread calls this while the trading thread appends.
        young = tuple(self._pending)
        pending = math.fsum(s * (mid - m) for _, s, m in young) if mid == mid else 0.0
        adverse = self.adverse_settled + pending
        return {
            "spread_capture": float(self.acct[A_SPREAD]),
            "adverse_selection": adverse,
            "inventory_carry": float(self.acct[A_CARRY]) - adverse,
            "funding": -float(self.acct[A_FUNDING]),
            "fees": -float(self.acct[A_FEES]),
            "total": self.equity(),
        }

    def open_orders(self) -> list[dict[str, float]]:
        rows = np.flatnonzero(self.orders[:, O_STATE] == 1.0)
        return [{"side": float(self.orders[r, O_SIDE]), "px": float(self.orders[r, O_PX]),
                 "qty": float(self.orders[r, O_QTY])} for r in rows]

    def counters(self) -> dict[str, int]:
        c = self.counts
        return {"requotes": int(c[K_REQUOTES]), "orders": int(c[K_ORDERS]),
                "modifies": int(c[K_MODIFIES]), "cancels": int(c[K_CANCELS]),
                "rejects": int(c[K_REJECTS])}

    def snapshot(self) -> dict[str, Any]:
        """What the state file keeps of this symbol (plain JSON types)."""
        return {
            "venue": self.venue,
            "params_version": self.params.version,
            "position": float(self.acct[A_POS]),
            "cash": float(self.acct[A_CASH]),
            "mid": float(self.acct[A_MID]) if self.acct[A_MID] == self.acct[A_MID] else None,
            "pnl": self.pnl(),
            "accumulators": {
                "spread": float(self.acct[A_SPREAD]), "carry": float(self.acct[A_CARRY]),
                "fees": float(self.acct[A_FEES]), "funding": float(self.acct[A_FUNDING]),
                "filled_qty": float(self.acct[A_FILLED_QTY]),
                "quoted_qty": float(self.acct[A_QUOTED_QTY]),
                "adverse": self.pnl()["adverse_selection"],
                "peak_equity": None if math.isnan(self.risk[RISK_PEAK_EQUITY])
                else float(self.risk[RISK_PEAK_EQUITY]),
            },
            "fills": self.fills_total,
            "open_orders": self.open_orders(),
            "counters": self.counters(),
            "feed": {"day": self.feed.day.isoformat(), "last_ts_ns": self.last_ts},
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Resume a saved position, cash and P&L (the paper venue's orders are gone: a
        new paper venue starts with none)."""
        acc = saved["accumulators"]
        self.acct[A_POS] = saved["position"]
        self.acct[A_CASH] = saved["cash"]
        self.acct[A_MID] = np.nan if saved.get("mid") is None else saved["mid"]
        self.acct[A_SPREAD] = acc["spread"]
        self.acct[A_CARRY] = acc["carry"]
        self.acct[A_FEES] = acc["fees"]
        self.acct[A_FUNDING] = acc["funding"]
        self.acct[A_FILLED_QTY] = acc["filled_qty"]
        self.acct[A_QUOTED_QTY] = acc["quoted_qty"]
        self.adverse_settled = acc["adverse"]
        if acc.get("peak_equity") is not None:
            self.risk[RISK_PEAK_EQUITY] = acc["peak_equity"]
        self.state[S_INVENTORY] = saved["position"]
        self.fills_total = int(saved.get("fills", 0))
        if saved.get("open_orders"):
            log.warning("%s: %d order(s) open at the last save were at a paper venue that "
                        "is gone; starting with none", self.symbol, len(saved["open_orders"]),
                        extra={"event": "orders_dropped", "symbol": self.symbol})

    def live_inputs(self) -> dict[str, float | None]:
        """The live inputs the quotes read now (None: not known yet)."""
        slots = {
            "hawkes_buy_ratio": S_HAWKES_BUY_RATIO, "hawkes_sell_ratio": S_HAWKES_SELL_RATIO,
            "sigma_scale": S_SIGMA_SCALE, "jump_regime": S_JUMP_REGIME, "vpin": S_VPIN,
            "vpin_sigma_scale_bid": S_VPIN_SCALE_BID, "vpin_sigma_scale_ask": S_VPIN_SCALE_ASK,
        }
        out: dict[str, float | None] = {}
        for name, slot in slots.items():
            value = float(self.state[slot])
            out[name] = value if math.isfinite(value) else None
        return out

    def summary(self) -> dict[str, Any]:
        """This run's figures for the end-of-run summary and ``trader status``."""
        return {
            "symbol": self.symbol,
            "venue": self.venue,
            "params_version": self.params.version,
            "params_swaps": self.params_swaps,
            "position_cap": self.position_cap,
            "position": float(self.acct[A_POS]),
            "mid": float(self.acct[A_MID]) if self.acct[A_MID] == self.acct[A_MID] else None,
            "pnl": self.pnl(),
            "fills_this_run": self.fills_run,
            "fills_total": self.fills_total,
            "events_this_run": self.events_run,
            "events_dropped": self.dropped_events,
            "resting_orders": self.resting(),
            "quoting_mid": float(self.state[S_MID]),
            "live_inputs": self.live_inputs(),
            "vpin_live": "on" if self.params.strategy.vpin.on
            else f"off: {self.params.strategy.vpin.off_reason}",
            "sides_open": self.summary_sides(),
            **self.counters(),
        }

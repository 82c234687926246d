"""Run a strategy over an event stream through the simulated venue; attribute the P&L."""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from trader.market_state import new_quote, new_state
from trader.sim.config import LATENCY_RECORDED, LATENCY_RECORDED_FEED, BacktestConfig
from trader.sim.events import EventStream
from trader.sim.exchange import (
    A_CARRY,
    A_CASH,
    A_FILLED_QTY,
    A_FUNDING,
    A_MID,
    A_POS,
    A_QUOTED_QTY,
    F_FEE,
    F_LEN,
    F_MAKER,
    F_MID,
    F_PX,
    F_QTY,
    F_SIDE,
    K_CANCELS,
    K_EVENTS,
    K_FILLS,
    K_LEN,
    K_MODIFIES,
    K_ORDERS,
    K_REJECTS,
    K_REQUOTES,
    K_STP_CANCELS,
    R_LEN,
    new_account,
    new_orders,
)
from trader.sim.glft_loop import run_loop_glft
from trader.sim.loop import I_AT_LIMIT_NS, I_LEN, I_N_EQUITY, run_loop
from trader.strategy.glft import glft_quote

__all__ = ["BacktestResult", "PnlAttribution", "recorded_feed_latency", "run_backtest"]

_HOUR_NS = 3_600_000_000_000
_RING = 1 << 16
_PROGRESS_POLL_S = 0.2


@dataclass(frozen=True)
class PnlAttribution:
    """P&L parts (quote currency) that sum to ``total``.

    ``total = spread_capture + adverse_selection + inventory_carry + funding + fees``.
    """

    total: float
    spread_capture: float
    adverse_selection: float
    inventory_carry: float
    funding: float
    fees: float

    @property
    def parts_sum(self) -> float:
        """The sum of the five parts (equals ``total`` up to rounding)."""
        return math.fsum(
            (self.spread_capture, self.adverse_selection, self.inventory_carry,
             self.funding, self.fees)
        )


@dataclass(frozen=True)
class BacktestResult:
    """What one backtest produced.

    Attributes
    ----------
    equity_ts_ns, equity, equity_position, equity_mid : arrays
        The equity curve (cash + position x mid, quote currency), sampled on the
        ``equity_interval_ns`` grid of exchange time plus the final point.
    fill_ts_ns, fill_side, fill_px, fill_qty, fill_maker, fill_fee, fill_mid : arrays
        Every fill: venue time (ns), +1 buy / -1 sell, price, qty (base units), maker
        flag, fee paid (quote currency; a rebate is negative), mid at the fill.
    orders_sent, modifies_sent, cancels_sent, rejects, stp_cancels, requotes : int
        Venue operations sent by us; rejects counts refused places (ALO crossing, STP),
        refused modifies and cancels that arrived too late; stp_cancels are our resting
        orders cancelled by self-trade prevention.
    filled_qty, quoted_qty : float
        Base units; quoted is the size of every order placed plus every size increase
        by modify.
    fill_ratio : float
        ``filled_qty / quoted_qty`` (0 when nothing was quoted).
    time_at_limit_s : float
        Exchange time spent with |position| at ``max_position``.
    max_drawdown : float
        Largest peak-to-trough fall of the equity curve, quote currency.
    attribution : PnlAttribution
    hour_start_ns, hour_pnl, hour_fills : arrays
        Per UTC hour touched by the curve: equity change over the hour and fill count.
    events_processed : int
    final_position, final_mid, final_cash : float
    """

    equity_ts_ns: np.ndarray
    equity: np.ndarray
    equity_position: np.ndarray
    equity_mid: np.ndarray
    fill_ts_ns: np.ndarray
    fill_side: np.ndarray
    fill_px: np.ndarray
    fill_qty: np.ndarray
    fill_maker: np.ndarray
    fill_fee: np.ndarray
    fill_mid: np.ndarray
    orders_sent: int
    modifies_sent: int
    cancels_sent: int
    rejects: int
    stp_cancels: int
    requotes: int
    filled_qty: float
    quoted_qty: float
    fill_ratio: float
    time_at_limit_s: float
    max_drawdown: float
    attribution: PnlAttribution
    hour_start_ns: np.ndarray
    hour_pnl: np.ndarray
    hour_fills: np.ndarray
    events_processed: int
    final_position: float
    final_mid: float
    final_cash: float

    @property
    def n_fills(self) -> int:
        """Number of fills (a partial fill counts once)."""
        return len(self.fill_ts_ns)


def recorded_feed_latency(events: EventStream) -> np.ndarray:
    """Per-event feed latency ``recv_ts - ts`` (ns), corrected for the recorder's clock.

    A recorder whose clock runs behind the venue's gives ``recv_ts < ts``; no message
    arrives before it is sent, so the offset is at least ``-min(recv_ts - ts)``, and
    every latency is shifted by that one constant (the smallest becomes 0, as in
    hftbacktest's ``correct_local_timestamp``). Latencies that are all >= 0 are kept.
    """
    lat = events.recv_ts_ns - events.ts_ns
    if lat.size and lat.min() < 0:
        lat = lat - lat.min()
    return lat


def _local_times(events: EventStream, config: BacktestConfig) -> tuple[np.ndarray, np.ndarray]:
    recorded = recorded_feed_latency(events)
    if config.latency_mode in (LATENCY_RECORDED, LATENCY_RECORDED_FEED):
        arrive = events.ts_ns + recorded
    else:
        arrive = events.ts_ns + config.feed_latency_ns
    # One feed connection delivers in order: a message cannot overtake an earlier one.
    return np.maximum.accumulate(arrive), recorded


def _attribution(
    acct: np.ndarray, fill_ts: np.ndarray, fills: np.ndarray, ts: np.ndarray,
    mids: np.ndarray, horizon_ns: int,
) -> PnlAttribution:
    side, px, qty, mid = fills[:, F_SIDE], fills[:, F_PX], fills[:, F_QTY], fills[:, F_MID]
    later = mids[np.searchsorted(ts, fill_ts + horizon_ns, side="right") - 1]
    spread = math.fsum(side * (mid - px) * qty)
    adverse = math.fsum(side * (later - mid) * qty)
    pos = acct[A_POS]
    total = acct[A_CASH] + (pos * acct[A_MID] if pos != 0.0 else 0.0)
    return PnlAttribution(
        total=float(total),
        spread_capture=spread,
        adverse_selection=adverse,
        inventory_carry=float(acct[A_CARRY]) - adverse,
        funding=-float(acct[A_FUNDING]),
        fees=-math.fsum(fills[:, F_FEE]),
    )


def _hourly(
    eq_ts: np.ndarray, equity: np.ndarray, fill_ts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if eq_ts.size == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    hours = eq_ts // _HOUR_NS
    # A sample on the hour boundary closes the hour before it.
    hours = np.where(eq_ts % _HOUR_NS == 0, hours - 1, hours)
    uniq, last = np.unique(hours[::-1], return_index=True)
    close = equity[len(equity) - 1 - last]
    pnl = np.diff(np.concatenate(([0.0], close)))
    fill_hours = (fill_ts - 1) // _HOUR_NS
    n_fills = np.array([int(np.sum(fill_hours == h)) for h in uniq], dtype=np.int64)
    return uniq * _HOUR_NS, pnl, n_fills


def _max_drawdown(equity: np.ndarray) -> float:
    if equity.size == 0:
        return 0.0
    peak = np.maximum.accumulate(equity)
    return float(np.max(peak - equity))


def _run_reporting(
    loop: Callable[[], None], counts: np.ndarray, total: int,
    progress: Callable[[int, int], None],
) -> None:
    """Run the compiled loop in a worker thread (it releases the GIL) while this thread
    reads its event counter: progress costs the loop nothing."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            loop()
        except BaseException as exc:  # re-raised in the caller's thread below
            failure.append(exc)

    worker = threading.Thread(target=target, name="backtest-loop", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(_PROGRESS_POLL_S)
        progress(int(counts[K_EVENTS]), total)
    if failure:
        raise failure[0]


def run_backtest(
    events: EventStream, strategy: Any, params: np.ndarray, config: BacktestConfig,
    *, progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Replay ``events`` through the simulated venue with ``strategy`` quoting.

    Parameters
    ----------
    events : EventStream
        Market events in exchange-time order (:func:`trader.sim.events.load_events`).
    strategy : numba dispatcher
        ``strategy(state, params, out) -> None`` compiled with ``@njit``; reads the
        :mod:`trader.market_state` slots and writes the ``OUT_*`` quote slots.
    params : float64 array
        Passed to the strategy untouched.
    config : BacktestConfig
    progress : callable, optional
        ``progress(events_done, events_total)``, called about five times a second from
        this thread while the loop runs in a worker thread, and once at the end.

    Returns
    -------
    BacktestResult

    Notes
    -----
    Attribution (quote currency), with side = +1 for a buy:
    spread capture = sum side (mid_fill - px) qty; adverse selection = sum side
    (mid(t + h) - mid_fill) qty with mid(t) the venue mid after the last event at or
    before t (capped at the last event); inventory carry = sum position dmid - adverse
    selection; funding = -sum funding paid; fees = -sum fees. They sum to
    total = cash + position x final mid.
    """
    params = np.ascontiguousarray(params, dtype=np.float64)
    n = len(events)
    loc_ts, recorded = _local_times(events, config)
    cfg, cfg_ns = config.packed()
    n_eq_cap = 2
    if n:
        first = (int(events.ts_ns[0]) // config.equity_interval_ns + 1) * config.equity_interval_ns
        n_eq_cap += max(0, (int(events.ts_ns[-1]) - first) // config.equity_interval_ns + 1)
    fill_cap = max(1024, n // 4)
    while True:
        orders = new_orders()
        book = np.full((4, events.depth), np.nan)
        book[1] = 0.0
        book[3] = 0.0
        acct = new_account()
        counts = np.zeros(K_LEN, dtype=np.int64)
        fill_ts = np.zeros(fill_cap, dtype=np.int64)
        fills = np.zeros((fill_cap, F_LEN))
        eq_ts = np.zeros(n_eq_cap, dtype=np.int64)
        eq = np.zeros((n_eq_cap, 3))
        mids = np.full(n, np.nan)
        ints = np.zeros(I_LEN, dtype=np.int64)
        # The loop body's two tuples (trader.sim.loop.loop_body): the events, then the
        # simulator's and the strategy's preallocated state.
        stream = (
            events.ts_ns, loc_ts, recorded, events.kind, events.price, events.size,
            events.side, events.level_row, events.interval_s, events.bid_px, events.bid_sz,
            events.ask_px, events.ask_sz, events.bbo,
        )
        sim = (
            cfg, cfg_ns, orders, book, acct, counts, fill_ts, fills, eq_ts, eq, mids,
            np.zeros(_RING, dtype=np.int64), np.zeros((_RING, R_LEN)),
            np.zeros(_RING, dtype=np.int64), np.zeros((_RING, R_LEN)),
            new_state(), new_quote(), ints,
        )
        # The GLFT kernel has a disk-cached loop of its own; other strategies compile.
        loop = (
            functools.partial(run_loop_glft, params, stream, sim)
            if strategy is glft_quote
            else functools.partial(run_loop, strategy, params, stream, sim)
        )
        if progress is None:
            loop()
        else:
            _run_reporting(loop, counts, n, progress)
        if counts[K_FILLS] <= fill_cap:
            break
        fill_cap = int(counts[K_FILLS])  # the fill log overflowed: rerun with room for all
    if progress is not None:
        progress(n, n)

    n_fills = int(counts[K_FILLS])
    fill_ts, fills = fill_ts[:n_fills], fills[:n_fills]
    n_eq = int(ints[I_N_EQUITY])
    pos, mid, cash = float(acct[A_POS]), float(acct[A_MID]), float(acct[A_CASH])
    final_equity = cash + (pos * mid if pos != 0.0 else 0.0)
    last_ts = int(events.ts_ns[-1]) if n else 0
    eq_ts = np.concatenate((eq_ts[:n_eq], [last_ts])).astype(np.int64)
    eq = np.vstack((eq[:n_eq], [[final_equity, pos, mid]]))
    equity = eq[:, 0]
    hour_start, hour_pnl, hour_fills = _hourly(eq_ts, equity, fill_ts)
    quoted = float(acct[A_QUOTED_QTY])
    filled = float(acct[A_FILLED_QTY])
    return BacktestResult(
        equity_ts_ns=eq_ts,
        equity=equity,
        equity_position=eq[:, 1],
        equity_mid=eq[:, 2],
        fill_ts_ns=fill_ts,
        fill_side=fills[:, F_SIDE].astype(np.int8),
        fill_px=fills[:, F_PX].copy(),
        fill_qty=fills[:, F_QTY].copy(),
        fill_maker=fills[:, F_MAKER] > 0.5,
        fill_fee=fills[:, F_FEE].copy(),
        fill_mid=fills[:, F_MID].copy(),
        orders_sent=int(counts[K_ORDERS]),
        modifies_sent=int(counts[K_MODIFIES]),
        cancels_sent=int(counts[K_CANCELS]),
        rejects=int(counts[K_REJECTS]),
        stp_cancels=int(counts[K_STP_CANCELS]),
        requotes=int(counts[K_REQUOTES]),
        filled_qty=filled,
        quoted_qty=quoted,
        fill_ratio=filled / quoted if quoted > 0 else 0.0,
        time_at_limit_s=int(ints[I_AT_LIMIT_NS]) * 1e-9,
        max_drawdown=_max_drawdown(equity),
        attribution=_attribution(acct, fill_ts, fills, events.ts_ns, mids,
                                 config.markout_horizon_ns),
        hour_start_ns=hour_start,
        hour_pnl=hour_pnl,
        hour_fills=hour_fills,
        events_processed=int(counts[K_EVENTS]),
        final_position=pos,
        final_mid=mid,
        final_cash=cash,
    )

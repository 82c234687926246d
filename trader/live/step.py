"""The paper venue driven one event at a time: the backtest loop's branches, step-wise.

:func:`trader.sim.loop.run_loop` merges a whole recording in one compiled call. A live
trader receives the market one event at a time and must decide between events (kill
switch, params swap, shutdown), so these jitted functions run the same branches on
demand: the same venue (:mod:`trader.sim.exchange`: queue, matching, fees, account), the
same local order view and modify-or-replace rule (:func:`trader.sim.loop.send_quotes`), and the
same :func:`trader.strategy.glft_quote` kernel. Nothing here is a second fill model.

Differences from the batch loop, because live code cannot look ahead:

- A market event reaches our side right after the venue applied it, at ``ts +
  feed_latency`` on our clock; venue answers due by then are delivered first. (The batch
  loop may interleave later venue events before our side sees it.)
- The requote timer runs on the event clock: it fires for each interval boundary passed
  before the next event (as the batch loop does), not on the wall clock.
- Latencies are the configured constants (``LATENCY_CONSTANT``).

Times are int64 ns on the replay's exchange clock; prices in quote currency, sizes in
base units (docs/architecture.md §4).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from trader.market_state import (
    OUT_ASK_PX,
    OUT_ASK_SZ,
    OUT_BID_PX,
    OUT_BID_SZ,
    S_BEST_ASK,
    S_BEST_BID,
    S_INVENTORY,
    S_MID,
    S_TS_S,
)
from trader.sim.config import (
    C_LOT,
    C_REQUOTE_ON_BOOK,
    CI_ENTRY_LATENCY,
    CI_FEED_LATENCY,
    CI_REQUOTE_INTERVAL,
    CI_RESPONSE_LATENCY,
    TIF_IOC,
)
from trader.sim.events import KIND_BBO, KIND_BOOK
from trader.sim.exchange import (
    A_CASH,
    A_MID,
    A_POS,
    K_CANCELS,
    K_FILLS,
    K_ORDERS,
    K_REQUOTES,
    O_LOC_PX,
    O_LOC_STATE,
    O_LOC_SZ,
    O_SIDE,
    O_STATE,
)
from trader.sim.loop import (
    OP_CANCEL,
    OP_PLACE,
    _free_slot,
    _on_response,
    _ring_head_ts,
    _send,
    see_market,
    send_quotes,
    venue_market_event,
    venue_message,
)
from trader.strategy import glft_quote
from trader.strategy.live_inputs import refresh_live_inputs

__all__ = [
    "LV_LAST_FUNDING_TS",
    "LV_LEN",
    "LV_NEXT_TIMER",
    "RISK_ASK_OPEN",
    "RISK_BID_OPEN",
    "RISK_DRAWDOWN",
    "RISK_LEN",
    "RISK_MAX_NOTIONAL",
    "RISK_MAX_POSITION",
    "RISK_PEAK_EQUITY",
    "STEP_FILLED",
    "STEP_QUOTED",
    "TRIP_DRAWDOWN",
    "TRIP_NONE",
    "TRIP_NOTIONAL",
    "TRIP_POSITION",
    "cancel_all",
    "deliver",
    "flatten",
    "resting_orders",
    "step_event",
    "step_timers",
]

# Integer live variables (one int64 vector per symbol).
LV_LAST_FUNDING_TS = 0
LV_NEXT_TIMER = 1
LV_LEN = 2

# Risk limits the step checks before quoting (one float64 vector per symbol).
RISK_MAX_POSITION = 0
"""Hard |position| limit, base units (above the strategy's own max_position)."""
RISK_MAX_NOTIONAL = 1
"""|position| x mid limit, quote currency."""
RISK_DRAWDOWN = 2
"""Largest fall of equity from its peak, quote currency."""
RISK_PEAK_EQUITY = 3
"""Running peak of cash + position x mid (updated by the step)."""
RISK_BID_OPEN = 4
"""1: the bid may quote; 0: pulled (a portfolio limit, :mod:`trader.risk.portfolio_guard`)."""
RISK_ASK_OPEN = 5
"""1: the ask may quote; 0: pulled."""
RISK_LEN = 6

TRIP_NONE = 0
TRIP_POSITION = 1
TRIP_NOTIONAL = 2
TRIP_DRAWDOWN = 3

# step_event's return value: the low byte is a TRIP_* code, then flags.
STEP_FILLED = 256
STEP_QUOTED = 512

_NEVER = np.iinfo(np.int64).max


@njit(cache=True)
def deliver(
    t: int, inclusive: bool, venue_side: bool,
    orders: np.ndarray, book: np.ndarray, cfg: np.ndarray, cfg_ns: np.ndarray,
    acct: np.ndarray, counts: np.ndarray, fill_ts: np.ndarray, fills: np.ndarray,
    vring_ts: np.ndarray, vring: np.ndarray, vptr: np.ndarray,
    rring_ts: np.ndarray, rring: np.ndarray, rptr: np.ndarray,
    state: np.ndarray, work: np.ndarray,
) -> None:
    """Deliver the messages in flight due before ``t`` (or at it, when ``inclusive``), in
    time order: ours to the venue (only when ``venue_side``) and the venue's answers to us.
    At equal times our message reaches the venue first, as in the batch loop."""
    lot = cfg[C_LOT]
    while True:
        t_v = _ring_head_ts(vring_ts, vptr) if venue_side else _NEVER
        t_r = _ring_head_ts(rring_ts, rptr)
        t_next = min(t_v, t_r)
        if t_next == _NEVER or t_next > t or (t_next == t and not inclusive):
            return
        if t_v <= t_r:
            venue_message(orders, book, cfg, acct, counts, fill_ts, fills,
                          vring_ts, vring, vptr, rring_ts, rring, rptr,
                          cfg_ns[CI_RESPONSE_LATENCY])
        else:
            q = rptr[0] % rring_ts.shape[0]
            rptr[0] += 1
            state[S_INVENTORY] += _on_response(orders, rring, q, work, lot)


@njit(cache=True)
def _quote(
    params: np.ndarray, state: np.ndarray, out: np.ndarray, t_loc: int, orders: np.ndarray,
    work: np.ndarray, cfg: np.ndarray, cfg_ns: np.ndarray, counts: np.ndarray,
    acct: np.ndarray, vring_ts: np.ndarray, vring: np.ndarray, vptr: np.ndarray,
    risk: np.ndarray,
) -> None:
    """One quote cycle: the GLFT kernel, then the backtest's modify-or-replace rule. A
    side closed in ``risk`` is off (its resting order is cancelled), as a side at the
    max position is."""
    counts[K_REQUOTES] += 1
    refresh_live_inputs(state, params, t_loc * 1e-9)
    glft_quote(state, params, out)
    if risk[RISK_BID_OPEN] == 0.0:
        out[OUT_BID_PX] = math.nan
        out[OUT_BID_SZ] = 0.0
    if risk[RISK_ASK_OPEN] == 0.0:
        out[OUT_ASK_PX] = math.nan
        out[OUT_ASK_SZ] = 0.0
    send_quotes(out, state, t_loc, orders, work, cfg, counts, acct, vring_ts, vring, vptr,
                cfg_ns[CI_ENTRY_LATENCY])


@njit(cache=True)
def _risk_trip(acct: np.ndarray, risk: np.ndarray) -> int:
    """Check the hard limits on the venue's account; updates the equity peak."""
    pos = acct[A_POS]
    mid = acct[A_MID]
    if abs(pos) > risk[RISK_MAX_POSITION]:
        return TRIP_POSITION
    if mid == mid:
        if abs(pos) * mid > risk[RISK_MAX_NOTIONAL]:
            return TRIP_NOTIONAL
        equity = acct[A_CASH] + (pos * mid if pos != 0.0 else 0.0)
        if equity > risk[RISK_PEAK_EQUITY] or risk[RISK_PEAK_EQUITY] != risk[RISK_PEAK_EQUITY]:
            risk[RISK_PEAK_EQUITY] = equity
        if risk[RISK_PEAK_EQUITY] - equity > risk[RISK_DRAWDOWN]:
            return TRIP_DRAWDOWN
    return TRIP_NONE


@njit(cache=True)
def step_timers(
    t: int, quoting: bool, params: np.ndarray, risk: np.ndarray, cfg: np.ndarray,
    cfg_ns: np.ndarray,
    orders: np.ndarray, book: np.ndarray, acct: np.ndarray, counts: np.ndarray,
    fill_ts: np.ndarray, fills: np.ndarray, vring_ts: np.ndarray, vring: np.ndarray,
    vptr: np.ndarray, rring_ts: np.ndarray, rring: np.ndarray, rptr: np.ndarray,
    state: np.ndarray, out: np.ndarray, work: np.ndarray, lv: np.ndarray,
    venue_side: bool = True,
) -> int:
    """Fire the requote timer for every interval boundary before ``t``; returns how many
    times it quoted. ``venue_side=False`` delivers only the venue's answers before each
    timer: for the timers that fire while a market event is on its way to us, after the
    venue has seen it (the venue's next event may come before our message does)."""
    interval = cfg_ns[CI_REQUOTE_INTERVAL]
    if interval <= 0:
        return 0
    if lv[LV_NEXT_TIMER] < 0:
        lv[LV_NEXT_TIMER] = (t // interval + 1) * interval
        return 0
    n = 0
    while lv[LV_NEXT_TIMER] < t:
        t_tm = lv[LV_NEXT_TIMER]
        deliver(t_tm, True, venue_side, orders, book, cfg, cfg_ns, acct, counts, fill_ts,
                fills, vring_ts, vring, vptr, rring_ts, rring, rptr, state, work)
        if quoting and state[S_MID] == state[S_MID]:
            state[S_TS_S] = t_tm * 1e-9
            _quote(params, state, out, t_tm, orders, work, cfg, cfg_ns, counts, acct,
                   vring_ts, vring, vptr, risk)
            n += 1
        lv[LV_NEXT_TIMER] = t_tm + interval
    return n


@njit(cache=True)
def step_event(
    t: int, k: int, price: float, size: float, side: int, row: int, interval_s: float,
    bid_px: np.ndarray, bid_sz: np.ndarray, ask_px: np.ndarray, ask_sz: np.ndarray,
    bbo: np.ndarray, quoting: bool, params: np.ndarray, risk: np.ndarray, cfg: np.ndarray,
    cfg_ns: np.ndarray, orders: np.ndarray, book: np.ndarray, acct: np.ndarray,
    counts: np.ndarray, fill_ts: np.ndarray, fills: np.ndarray,
    vring_ts: np.ndarray, vring: np.ndarray, vptr: np.ndarray, rring_ts: np.ndarray,
    rring: np.ndarray, rptr: np.ndarray, state: np.ndarray, out: np.ndarray,
    work: np.ndarray, lv: np.ndarray,
) -> int:
    """One market event, venue then us: deliver what is due, let the venue apply the
    event, show it to our side and (if ``quoting`` and no hard limit is breached) requote.

    Returns a ``TRIP_*`` code in the low byte (a breached limit: nothing was quoted) plus
    ``STEP_FILLED`` when the venue filled us and ``STEP_QUOTED`` when we requoted.
    """
    fills_before = counts[K_FILLS]
    deliver(t, False, True, orders, book, cfg, cfg_ns, acct, counts, fill_ts, fills,
            vring_ts, vring, vptr, rring_ts, rring, rptr, state, work)
    lv[LV_LAST_FUNDING_TS] = venue_market_event(
        t, k, price, size, side, row, interval_s, bid_px, bid_sz, ask_px, ask_sz, bbo, cfg,
        orders, book, acct, counts, fill_ts, fills, rring_ts, rring, rptr,
        cfg_ns[CI_RESPONSE_LATENCY], int(lv[LV_LAST_FUNDING_TS]),
    )
    t_loc = t + cfg_ns[CI_FEED_LATENCY]
    # Timers due while the event travels to us quote without it, as in the batch loop
    # (whose live inputs would otherwise differ: a trade seen early moves the Hawkes ratio).
    if lv[LV_NEXT_TIMER] >= 0 and t_loc > lv[LV_NEXT_TIMER]:
        step_timers(t_loc, quoting, params, risk, cfg, cfg_ns, orders, book, acct, counts,
                    fill_ts, fills, vring_ts, vring, vptr, rring_ts, rring, rptr, state, out,
                    work, lv, False)
    # Only the venue's answers may arrive early: our own orders must meet the next
    # market events at the venue first.
    deliver(t_loc, True, False, orders, book, cfg, cfg_ns, acct, counts, fill_ts, fills,
            vring_ts, vring, vptr, rring_ts, rring, rptr, state, work)
    code = _risk_trip(acct, risk)
    if counts[K_FILLS] != fills_before:
        code |= STEP_FILLED
    see_market(state, params, t_loc, k, size, side, row, interval_s,
               bid_px, bid_sz, ask_px, ask_sz, bbo)
    if (k in (KIND_BOOK, KIND_BBO) and quoting and (code & 255) == TRIP_NONE
            and cfg[C_REQUOTE_ON_BOOK] != 0.0 and state[S_MID] == state[S_MID]):
        _quote(params, state, out, t_loc, orders, work, cfg, cfg_ns, counts, acct,
               vring_ts, vring, vptr, risk)
        code |= STEP_QUOTED
    return code


@njit(cache=True)
def cancel_all(
    t: int, orders: np.ndarray, work: np.ndarray, cfg_ns: np.ndarray, counts: np.ndarray,
    vring_ts: np.ndarray, vring: np.ndarray, vptr: np.ndarray,
) -> int:
    """Send a cancel for every order our side still counts as working; returns how many."""
    n = 0
    t_arrive = t + cfg_ns[CI_ENTRY_LATENCY]
    for s in range(orders.shape[0]):
        if orders[s, O_LOC_STATE] == 1.0:
            _send(vring_ts, vring, vptr, t_arrive, OP_CANCEL, s, np.nan, 0.0, 0.0)
            counts[K_CANCELS] += 1
            orders[s, O_LOC_STATE] = 2.0
            n += 1
    work[0] = -1
    work[1] = -1
    return n


@njit(cache=True)
def flatten(
    t: int, band_bps: float, orders: np.ndarray, cfg: np.ndarray, cfg_ns: np.ndarray,
    acct: np.ndarray, counts: np.ndarray, state: np.ndarray, vring_ts: np.ndarray,
    vring: np.ndarray, vptr: np.ndarray,
) -> float:
    """Send one IOC order taking the position to zero, priced ``band_bps`` through the
    opposite best (the most slippage accepted); returns the signed qty sent (0: nothing)."""
    pos = state[S_INVENTORY]
    lot = cfg[C_LOT]
    qty = math.floor(abs(pos) / lot + 1e-9) * lot
    if qty <= 0.0:
        return 0.0
    side = -1.0 if pos > 0 else 1.0
    ref = state[S_BEST_ASK] if side > 0 else state[S_BEST_BID]
    if not (ref > 0.0):
        return 0.0
    px = ref * (1.0 + side * band_bps * 1e-4)
    slot = _free_slot(orders, acct)
    if slot < 0:
        return 0.0
    orders[slot, O_SIDE] = side
    orders[slot, O_LOC_STATE] = 1.0
    orders[slot, O_LOC_PX] = px
    orders[slot, O_LOC_SZ] = qty
    _send(vring_ts, vring, vptr, t + cfg_ns[CI_ENTRY_LATENCY], OP_PLACE, slot, px, qty,
          float(TIF_IOC))
    counts[K_ORDERS] += 1
    return side * qty


@njit(cache=True)
def resting_orders(orders: np.ndarray) -> int:
    """Orders resting at the venue now."""
    n = 0
    for s in range(orders.shape[0]):
        if orders[s, O_STATE] == 1.0:
            n += 1
    return n

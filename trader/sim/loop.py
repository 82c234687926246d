"""The compiled event loop: exchange and local timelines merged, one @njit function.

Five sources are merged by time: market events at the venue (exchange ts), our orders
reaching the venue, the venue's answers reaching us, market events reaching us (ts plus
feed latency) and the requote timer. At equal times the venue sees the market event
first: an order that arrives in the same nanosecond as a trade is not filled by it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from trader.market_state import (
    OUT_ASK_PX,
    OUT_ASK_SZ,
    OUT_BID_PX,
    OUT_BID_SZ,
    S_ASK_SZ,
    S_BEST_ASK,
    S_BEST_BID,
    S_BID_SZ,
    S_FUNDING_PER_HOUR,
    S_INVENTORY,
    S_MID,
    S_TS_S,
)
from trader.order_policy import (
    ACTION_CANCEL,
    ACTION_MODIFY,
    ACTION_PLACE,
    ACTION_REPLACE,
    requote_action,
)
from trader.sim.config import (
    C_CROSS_RULE,
    C_LATENCY_MODE,
    C_LOT,
    C_MAX_MODIFY_TICKS,
    C_MAX_POSITION,
    C_REQUOTE_ON_BOOK,
    C_REQUOTE_TOLERANCE_BPS,
    C_TICK,
    C_TIF,
    CI_ENTRY_LATENCY,
    CI_EQUITY_INTERVAL,
    CI_REQUOTE_INTERVAL,
    CI_REQUOTE_PHASE,
    CI_RESPONSE_LATENCY,
    CROSS_FILL,
    LATENCY_RECORDED,
)
from trader.sim.events import (
    BBO_ASK_PX,
    BBO_ASK_SZ,
    BBO_BID_PX,
    BBO_BID_SZ,
    KIND_BBO,
    KIND_BOOK,
    KIND_FUNDING,
    KIND_TRADE,
)
from trader.sim.exchange import (
    A_CARRY,
    A_CARRY_C,
    A_CASH,
    A_FUNDING,
    A_MID,
    A_POS,
    A_QUOTED_QTY,
    A_SLOTS_USED,
    K_CANCELS,
    K_EVENTS,
    K_MODIFIES,
    K_ORDERS,
    K_REQUOTES,
    O_LOC_PENDING_MODIFY,
    O_LOC_PX,
    O_LOC_STATE,
    O_LOC_SZ,
    O_SIDE,
    O_STATE,
    R_DONE,
    R_FILL,
    R_MODIFY_ANSWER,
    apply_snapshot,
    arrive_order,
    cancel_order,
    modify_order,
    on_cross,
    on_depth,
    on_trade,
    push_response,
)
from trader.strategy.live_inputs import observe_mid, observe_trade, refresh_live_inputs
from trader.strategy.microprice_live import microprice_observe_book, microprice_observe_trade
from trader.strategy.params import P_MP_0, P_VPIN_0
from trader.strategy.vpin_live import vpin_observe_trade

__all__ = [
    "OP_CANCEL", "OP_MODIFY", "OP_PLACE", "loop_body", "run_loop", "see_book", "see_market",
    "send_quotes", "venue_market_event", "venue_message",
]

OP_PLACE = 0
OP_MODIFY = 1
OP_CANCEL = 2

I_AT_LIMIT_NS = 0
I_N_EQUITY = 1
I_LEN = 2

_NEVER = np.iinfo(np.int64).max


@njit(cache=True, inline="always")
def _ring_head_ts(ring_ts: np.ndarray, ptr: np.ndarray) -> int:
    if ptr[0] >= ptr[1]:
        return _NEVER
    return ring_ts[ptr[0] % ring_ts.shape[0]]


@njit(cache=True)
def _free_slot(orders: np.ndarray, acct: np.ndarray) -> int:
    # Lowest free slot first keeps the used slots packed, so the per-event scans over
    # our orders stop early (A_SLOTS_USED).
    for s in range(orders.shape[0]):
        if orders[s, O_STATE] == 0.0 and orders[s, O_LOC_STATE] == 0.0:
            acct[A_SLOTS_USED] = max(acct[A_SLOTS_USED], s + 1.0)
            return s
    return -1


@njit(cache=True)
def _on_response(
    orders: np.ndarray, ring: np.ndarray, k: int, work: np.ndarray, lot: float
) -> float:
    """Apply one venue answer to the local view; returns the position change."""
    kind = int(ring[k, 0])
    slot = int(ring[k, 1])
    side_idx = 0 if orders[slot, O_SIDE] > 0 else 1
    if kind == R_FILL:
        qty = ring[k, 3]
        if ring[k, 4] <= 0.0:
            orders[slot, O_LOC_STATE] = 0.0
            if work[side_idx] == slot:
                work[side_idx] = -1
        else:
            orders[slot, O_LOC_SZ] = max(orders[slot, O_LOC_SZ] - qty, 0.0)
        return orders[slot, O_SIDE] * qty
    if kind == R_DONE:
        orders[slot, O_LOC_STATE] = 0.0
        if work[side_idx] == slot:
            work[side_idx] = -1
        return 0.0
    if kind == R_MODIFY_ANSWER:
        orders[slot, O_LOC_PENDING_MODIFY] -= 1.0
        # Only the answer to the newest modify is the truth; earlier answers are stale.
        if orders[slot, O_LOC_PENDING_MODIFY] <= 0.0 and orders[slot, O_LOC_STATE] != 0.0:
            orders[slot, O_LOC_PENDING_MODIFY] = 0.0
            if not math.isnan(ring[k, 2]) and ring[k, 3] > 0.5 * lot:
                orders[slot, O_LOC_PX] = ring[k, 2]
                orders[slot, O_LOC_SZ] = ring[k, 3]
    return 0.0


@njit(cache=True)
def _send(
    vring_ts: np.ndarray, vring: np.ndarray, vptr: np.ndarray, t_arrive: int,
    op: int, slot: int, px: float, qty: float, tif: float,
) -> None:
    push_response(vring_ts, vring, vptr, t_arrive, op, slot, px, qty, tif)


@njit(inline="always")  # takes the strategy: inlined, so the GLFT loop can be cached
def _requote(
    strategy: Any, params: np.ndarray, state: np.ndarray, out: np.ndarray, t_loc: int,
    orders: np.ndarray, work: np.ndarray, cfg: np.ndarray, counts: np.ndarray,
    acct: np.ndarray, vring_ts: np.ndarray, vring: np.ndarray, vptr: np.ndarray,
    entry_lat: int,
) -> None:
    """Ask the strategy for quotes and turn each side into venue operations with the
    shared modify-or-replace rule."""
    counts[K_REQUOTES] += 1
    refresh_live_inputs(state, params, t_loc * 1e-9)
    strategy(state, params, out)
    send_quotes(out, state, t_loc, orders, work, cfg, counts, acct, vring_ts, vring, vptr,
                entry_lat)


@njit(cache=True)
def send_quotes(
    out: np.ndarray, state: np.ndarray, t_loc: int, orders: np.ndarray, work: np.ndarray,
    cfg: np.ndarray, counts: np.ndarray, acct: np.ndarray, vring_ts: np.ndarray,
    vring: np.ndarray, vptr: np.ndarray, entry_lat: int,
) -> None:
    """Turn the wanted quotes in ``out`` into venue operations (the modify-or-replace
    rule); shared by the backtest loop and the live trader's step (trader.live.step),
    which calls the GLFT kernel directly so its compiled code can be cached."""
    tick = cfg[C_TICK]
    lot = cfg[C_LOT]
    max_pos = cfg[C_MAX_POSITION]
    inventory = state[S_INVENTORY]
    t_arrive = t_loc + entry_lat
    for side_idx in range(2):
        if side_idx == 0:
            side = 1.0
            want_px = out[OUT_BID_PX]
            want_sz = out[OUT_BID_SZ]
            room = max_pos - inventory
            if want_px == want_px:
                want_px = math.floor(want_px / tick + 1e-9) * tick
        else:
            side = -1.0
            want_px = out[OUT_ASK_PX]
            want_sz = out[OUT_ASK_SZ]
            room = max_pos + inventory
            if want_px == want_px:
                want_px = math.ceil(want_px / tick - 1e-9) * tick
        if not (want_sz > 0.0) or not (want_px > 0.0):
            want_sz = 0.0
        else:
            want_sz = math.floor(want_sz / lot + 1e-9) * lot
            if room < want_sz:
                want_sz = max(math.floor(room / lot + 1e-9) * lot, 0.0)
        w = work[side_idx]
        open_px = orders[w, O_LOC_PX] if w >= 0 else np.nan
        open_sz = orders[w, O_LOC_SZ] if w >= 0 else 0.0
        keep_ticks = cfg[C_REQUOTE_TOLERANCE_BPS] * 1e-4 * want_px / tick if w >= 0 else 0.0
        action = requote_action(
            open_px, open_sz, want_px, want_sz, tick, lot, cfg[C_MAX_MODIFY_TICKS], keep_ticks
        )
        if action == ACTION_MODIFY:
            _send(vring_ts, vring, vptr, t_arrive, OP_MODIFY, w, want_px, want_sz, 0.0)
            counts[K_MODIFIES] += 1
            acct[A_QUOTED_QTY] += max(want_sz - open_sz, 0.0)
            orders[w, O_LOC_PX] = want_px
            orders[w, O_LOC_SZ] = want_sz
            orders[w, O_LOC_PENDING_MODIFY] += 1.0
            continue
        if action in (ACTION_CANCEL, ACTION_REPLACE):
            _send(vring_ts, vring, vptr, t_arrive, OP_CANCEL, w, np.nan, 0.0, 0.0)
            counts[K_CANCELS] += 1
            orders[w, O_LOC_STATE] = 2.0
            work[side_idx] = -1
        if action in (ACTION_PLACE, ACTION_REPLACE):
            slot = _free_slot(orders, acct)
            if slot < 0:
                raise RuntimeError("no free order slot: too many orders in flight")
            orders[slot, O_SIDE] = side
            orders[slot, O_LOC_STATE] = 1.0
            orders[slot, O_LOC_PX] = want_px
            orders[slot, O_LOC_SZ] = want_sz
            orders[slot, O_LOC_PENDING_MODIFY] = 0.0
            work[side_idx] = slot
            _send(vring_ts, vring, vptr, t_arrive, OP_PLACE, slot, want_px, want_sz, cfg[C_TIF])
            counts[K_ORDERS] += 1
            acct[A_QUOTED_QTY] += want_sz


@njit(cache=True, inline="always")
def venue_market_event(
    t: int, k: int, price: float, size: float, side: int, row: int, interval_s: float,
    bid_px: np.ndarray, bid_sz: np.ndarray, ask_px: np.ndarray, ask_sz: np.ndarray,
    bbo: np.ndarray, cfg: np.ndarray, orders: np.ndarray, book: np.ndarray, acct: np.ndarray,
    counts: np.ndarray, fill_ts: np.ndarray, fills: np.ndarray,
    rring_ts: np.ndarray, rring: np.ndarray, rptr: np.ndarray, resp_lat: int,
    last_funding_ts: int,
) -> int:
    """The venue sees one market event; returns the time of the last funding row seen.

    Shared by the batch loop and the live step, so both fill, mark and pay alike.
    """
    pos = acct[A_POS]
    mid = acct[A_MID]
    if k == KIND_TRADE:
        on_trade(orders, price, size, side, t, cfg, acct, fill_ts, fills, counts,
                 rring_ts, rring, rptr, resp_lat)
    elif k in (KIND_BOOK, KIND_BBO):
        apply_snapshot(book, bid_px, bid_sz, ask_px, ask_sz, bbo, row, k == KIND_BBO)
        if book[0, 0] == book[0, 0] and book[2, 0] == book[2, 0]:
            new_mid = 0.5 * (book[0, 0] + book[2, 0])
            if mid == mid:
                # Kahan: the carry must match the fills' markouts to 1e-9
                y = pos * (new_mid - mid) - acct[A_CARRY_C]
                total = acct[A_CARRY] + y
                acct[A_CARRY_C] = (total - acct[A_CARRY]) - y
                acct[A_CARRY] = total
            acct[A_MID] = new_mid
        on_depth(orders, book, cfg, acct)
        if cfg[C_CROSS_RULE] == CROSS_FILL:
            on_cross(orders, book, t, cfg, acct, fill_ts, fills, counts,
                     rring_ts, rring, rptr, resp_lat)
    elif k == KIND_FUNDING:
        # Accrue pro rata since the previous funding row (capped at one interval),
        # so settlement rows (one per interval) pay the full rate and frequent
        # predicted-rate rows do not pay it many times over.
        if last_funding_ts >= 0:
            frac = min((t - last_funding_ts) / (interval_s * 1e9), 1.0)
            paid = pos * size * price * frac
            acct[A_CASH] -= paid
            acct[A_FUNDING] += paid
        return t
    return last_funding_ts


@njit(cache=True, inline="always")
def see_book(
    state: np.ndarray, k: int, row: int, bid_px: np.ndarray, bid_sz: np.ndarray,
    ask_px: np.ndarray, ask_sz: np.ndarray, bbo: np.ndarray,
) -> None:
    """Our side sees a book or bbo row: the touch and the mid of the market state (a bbo
    row with one side missing keeps that side's last value)."""
    if k == KIND_BOOK:
        state[S_BEST_BID] = bid_px[row, 0]
        state[S_BID_SZ] = bid_sz[row, 0]
        state[S_BEST_ASK] = ask_px[row, 0]
        state[S_ASK_SZ] = ask_sz[row, 0]
    else:
        if bbo[row, BBO_BID_PX] == bbo[row, BBO_BID_PX]:
            state[S_BEST_BID] = bbo[row, BBO_BID_PX]
            state[S_BID_SZ] = bbo[row, BBO_BID_SZ]
        if bbo[row, BBO_ASK_PX] == bbo[row, BBO_ASK_PX]:
            state[S_BEST_ASK] = bbo[row, BBO_ASK_PX]
            state[S_ASK_SZ] = bbo[row, BBO_ASK_SZ]
    state[S_MID] = 0.5 * (state[S_BEST_BID] + state[S_BEST_ASK])


@njit(cache=True, inline="always")
def see_market(
    state: np.ndarray, params: np.ndarray, t_loc: int, k: int, size: float, side: int,
    row: int, interval_s: float, bid_px: np.ndarray, bid_sz: np.ndarray,
    ask_px: np.ndarray, ask_sz: np.ndarray, bbo: np.ndarray,
) -> None:
    """Our side sees one market event: the touch and mid, the live inputs (Hawkes
    intensity from trades; realised vol and jumps from the mid), the live funding rate.
    Shared by the batch loop and the live step."""
    t_s = t_loc * 1e-9
    state[S_TS_S] = t_s
    if k in (KIND_BOOK, KIND_BBO):
        see_book(state, k, row, bid_px, bid_sz, ask_px, ask_sz, bbo)
        observe_mid(state, params, t_s)
        if k == KIND_BOOK:  # the micro-price was fitted on book snapshots
            microprice_observe_book(state, params, P_MP_0, t_s, row, bid_sz, ask_sz)
    elif k == KIND_TRADE:
        observe_trade(state, params, t_s, side)
        microprice_observe_trade(state, params, P_MP_0, t_s, side, size)
        vpin_observe_trade(state, params, P_VPIN_0, t_s, side, size)
    elif k == KIND_FUNDING:
        state[S_FUNDING_PER_HOUR] = size / interval_s * 3600.0


@njit(cache=True, inline="always")
def venue_message(
    orders: np.ndarray, book: np.ndarray, cfg: np.ndarray, acct: np.ndarray,
    counts: np.ndarray, fill_ts: np.ndarray, fills: np.ndarray,
    vring_ts: np.ndarray, vring: np.ndarray, vptr: np.ndarray,
    rring_ts: np.ndarray, rring: np.ndarray, rptr: np.ndarray, resp_lat: int,
) -> None:
    """The oldest of our messages in flight reaches the venue (batch loop and live step)."""
    t_v = _ring_head_ts(vring_ts, vptr)
    q = vptr[0] % vring_ts.shape[0]
    vptr[0] += 1
    op = int(vring[q, 0])
    slot = int(vring[q, 1])
    if op == OP_PLACE:
        arrive_order(orders, slot, vring[q, 2], vring[q, 3], int(vring[q, 4]), t_v,
                     book, cfg, acct, fill_ts, fills, counts, rring_ts, rring, rptr, resp_lat)
    elif op == OP_MODIFY:
        modify_order(orders, slot, vring[q, 2], vring[q, 3], t_v, book, cfg, acct,
                     fill_ts, fills, counts, rring_ts, rring, rptr, resp_lat)
    else:
        cancel_order(orders, slot, t_v, counts, rring_ts, rring, rptr, resp_lat)


# Inlined into its two entry points: run_loop below, for any strategy, and the GLFT
# kernel's disk-cached trader.sim.glft_loop.run_loop_glft.
@njit(inline="always")
def loop_body(strategy: Any, params: np.ndarray, events: Any, sim: Any) -> None:
    """Replay ``ts``-ordered events through the venue and the strategy.

    Arrays are preallocated by :func:`trader.sim.backtest.run_backtest`; the loop
    allocates nothing per event. ``loc_ts`` is when each event reaches us (non-
    decreasing), ``rec_lat`` the recorded feed latency per event (ns).
    """
    # Two tuples, not 32 arguments: CPython passes a call of more than 30 arguments as
    # *args, which numba cannot inline (and both entry points stay short).
    (ts, loc_ts, rec_lat, kind, price, size, side, level_row, interval_s,
     bid_px, bid_sz, ask_px, ask_sz, bbo) = events
    (cfg, cfg_ns, orders, book, acct, counts, fill_ts, fills, eq_ts, eq, mids,
     vring_ts, vring, rring_ts, rring, state, out, ints) = sim
    n = ts.shape[0]
    if n == 0:
        return
    work = np.full(2, -1, dtype=np.int64)
    vptr = np.zeros(3, dtype=np.int64)
    rptr = np.zeros(3, dtype=np.int64)
    lot = cfg[C_LOT]
    max_pos = cfg[C_MAX_POSITION]
    recorded = cfg[C_LATENCY_MODE] == LATENCY_RECORDED
    requote_on_book = cfg[C_REQUOTE_ON_BOOK] != 0.0
    interval = cfg_ns[CI_REQUOTE_INTERVAL]
    eq_interval = cfg_ns[CI_EQUITY_INTERVAL]
    last_loc = loc_ts[n - 1]
    phase = cfg_ns[CI_REQUOTE_PHASE]
    next_timer = (
        ((loc_ts[0] - phase) // interval + 1) * interval + phase if interval > 0 else _NEVER
    )
    next_eq = (ts[0] // eq_interval + 1) * eq_interval
    n_eq = 0
    at_limit_ns = 0
    prev_ts = ts[0]
    last_funding_ts = -1
    latest_lat = 0
    i_ex = 0
    i_loc = 0
    while i_ex < n or i_loc < n:
        t_ex = ts[i_ex] if i_ex < n else _NEVER
        t_v = _ring_head_ts(vring_ts, vptr)
        t_r = _ring_head_ts(rring_ts, rptr)
        t_loc = loc_ts[i_loc] if i_loc < n else _NEVER
        t_tm = next_timer if next_timer <= last_loc else _NEVER
        if t_ex <= t_v and t_ex <= t_r and t_ex <= t_loc and t_ex <= t_tm:
            # --- the venue sees a market event
            pos = acct[A_POS]
            mid = acct[A_MID]
            while t_ex >= next_eq:
                eq_ts[n_eq] = next_eq
                eq[n_eq, 0] = acct[A_CASH] + (pos * mid if pos != 0.0 else 0.0)
                eq[n_eq, 1] = pos
                eq[n_eq, 2] = mid
                n_eq += 1
                next_eq += eq_interval
            if abs(pos) >= max_pos - 0.5 * lot:
                at_limit_ns += t_ex - prev_ts
            prev_ts = t_ex
            resp_lat = cfg_ns[CI_RESPONSE_LATENCY] + (latest_lat if recorded else 0)
            last_funding_ts = venue_market_event(
                t_ex, kind[i_ex], price[i_ex], size[i_ex], side[i_ex], level_row[i_ex],
                interval_s[i_ex], bid_px, bid_sz, ask_px, ask_sz, bbo, cfg, orders, book, acct,
                counts, fill_ts, fills, rring_ts, rring, rptr, resp_lat, last_funding_ts,
            )
            mids[i_ex] = acct[A_MID]
            counts[K_EVENTS] += 1
            i_ex += 1
        elif t_v <= t_r and t_v <= t_loc and t_v <= t_tm:
            # --- one of our messages reaches the venue
            resp_lat = cfg_ns[CI_RESPONSE_LATENCY] + (latest_lat if recorded else 0)
            venue_message(orders, book, cfg, acct, counts, fill_ts, fills,
                          vring_ts, vring, vptr, rring_ts, rring, rptr, resp_lat)
        elif t_r <= t_loc and t_r <= t_tm:
            # --- the venue's answer reaches us
            q = rptr[0] % rring_ts.shape[0]
            rptr[0] += 1
            state[S_INVENTORY] += _on_response(orders, rring, q, work, lot)
        elif t_loc <= t_tm:
            # --- a market event reaches us
            latest_lat = rec_lat[i_loc]
            k = kind[i_loc]
            see_market(state, params, t_loc, k, size[i_loc], side[i_loc], level_row[i_loc],
                       interval_s[i_loc], bid_px, bid_sz, ask_px, ask_sz, bbo)
            if k in (KIND_BOOK, KIND_BBO) and requote_on_book and state[S_MID] == state[S_MID]:
                entry_lat = cfg_ns[CI_ENTRY_LATENCY] + (latest_lat if recorded else 0)
                _requote(strategy, params, state, out, t_loc, orders, work,
                         cfg, counts, acct, vring_ts, vring, vptr, entry_lat)
            i_loc += 1
        else:
            # --- the requote timer fires in our clock
            state[S_TS_S] = t_tm * 1e-9
            if state[S_MID] == state[S_MID]:
                entry_lat = cfg_ns[CI_ENTRY_LATENCY] + (latest_lat if recorded else 0)
                _requote(strategy, params, state, out, t_tm, orders, work, cfg,
                                     counts, acct, vring_ts, vring, vptr, entry_lat)
            next_timer += interval
    ints[I_AT_LIMIT_NS] = at_limit_ns
    ints[I_N_EQUITY] = n_eq


# nogil: a caller's thread can report progress meanwhile. No on-disk cache: numba keys
# the strategy argument (a first-class function) by the running process's dispatcher,
# so a cached entry never matches in another process, the index only grows, and saving
# it re-pickles entries whose dispatchers are gone (ReferenceError: "underlying object
# has vanished"). The helpers it calls stay cached.
@njit(nogil=True)
def run_loop(strategy: Any, params: np.ndarray, events: Any, sim: Any) -> None:
    """:func:`loop_body` with ``strategy`` any ``@njit`` quote function; ``events`` and
    ``sim`` are the tuples :func:`trader.sim.backtest.run_backtest` builds."""
    loop_body(strategy, params, events, sim)

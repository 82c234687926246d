"""The simulated venue: our orders, the replayed book, matching, fees and the account.

All state lives in numpy arrays so the jitted backtest loop can own it:

- ``orders`` (``MAX_ORDERS`` x ``O_LEN`` float64): one row per order slot, holding the
  venue's view (``O_STATE`` .. ``O_TIF``) and our local order manager's view
  (``O_LOC_*``). A slot is free when both views are done.
- ``book`` (4 x depth float64): the venue's current bid px, bid sz, ask px, ask sz.
- ``acct`` (``A_LEN`` float64): cash, position and the P&L accumulators.
- the response ring (venue -> us) carries fills and order-state news with latency.

Matching rules (documented choices):

- A trade *through* our price (a buy aggressor printing above our ask) fills us fully at
  our price: the level must have been consumed to print beyond it.
- A trade *at* our price first consumes ``queue_ahead``; what is left fills us
  (partially if smaller than our size).
- The book crossing our price with no trade fills us at our price under ``CROSS_FILL``.
- Our orders have no market impact: the replayed book is not changed by our fills, and
  two of our orders at one price each see the whole displayed queue ahead.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from trader.sim.config import (
    C_LOT,
    C_MAKER_FEE_BPS,
    C_MODIFY_KEEPS_PRIORITY,
    C_QUEUE_MODEL,
    C_QUEUE_PARAM,
    C_STP_RULE,
    C_TAKER_FEE_BPS,
    C_TICK,
    STP_REJECT_NEW,
    TIF_ALO,
    TIF_IOC,
)
from trader.sim.events import BBO_ASK_PX, BBO_ASK_SZ, BBO_BID_PX, BBO_BID_SZ
from trader.sim.queue import queue_after_depth_change, queue_after_trade

__all__ = ["MAX_ORDERS", "new_account", "new_orders"]

MAX_ORDERS = 256
"""Order slots: live orders plus those in flight (cancels not yet acknowledged)."""

O_STATE = 0  # venue: 1 resting, 0 not at the venue (never arrived, done)
O_SIDE = 1  # +1 bid, -1 ask
O_PX = 2
O_QTY = 3  # remaining at the venue
O_QUEUE = 4  # displayed size ahead of us (NaN: level not displayed yet)
O_LEVEL_QTY = 5  # displayed size at our price in the last snapshot
O_TRADED = 6  # trade qty at our price since the last snapshot
O_TIF = 7
O_SEQ = 8  # arrival order at the venue, for cancel-oldest
O_LOC_STATE = 9  # local: 0 none, 1 working, 2 cancel sent
O_LOC_PX = 10
O_LOC_SZ = 11
O_LOC_PENDING_MODIFY = 12
O_LEN = 13

A_CASH = 0
A_POS = 1
A_MID = 2
A_FEES = 3  # sum of fees paid (rebates negative)
A_FUNDING = 4  # sum of funding paid
A_SPREAD = 5  # sum side * (mid - px) * qty
A_CARRY = 6  # sum position * d(mid), Kahan-compensated with A_CARRY_C
A_CARRY_C = 7
A_FILLED_QTY = 8
A_QUOTED_QTY = 9
A_SEQ = 10  # arrival counter for O_SEQ
A_SLOTS_USED = 11  # slots at or above this index are unused: scans stop here
A_LEN = 12

K_FILLS = 0
K_ORDERS = 1
K_MODIFIES = 2
K_CANCELS = 3
K_REJECTS = 4
K_EVENTS = 5
K_STP_CANCELS = 6
K_REQUOTES = 7
K_LEN = 8

R_FILL = 0
R_DONE = 1
R_MODIFY_ANSWER = 2
R_LEN = 5  # kind, slot, px, qty, remaining

F_SIDE = 0
F_PX = 1
F_QTY = 2
F_MAKER = 3
F_FEE = 4
F_MID = 5
F_LEN = 6


def new_orders() -> np.ndarray:
    """An empty order table."""
    orders = np.zeros((MAX_ORDERS, O_LEN))
    orders[:, O_PX] = np.nan
    orders[:, O_LOC_PX] = np.nan
    return orders


def new_account() -> np.ndarray:
    """A flat account with no mid yet."""
    acct = np.zeros(A_LEN)
    acct[A_MID] = np.nan
    return acct


@njit(cache=True, inline="always")
def displayed_qty(book: np.ndarray, side: float, px: float, tick: float) -> float:
    """Displayed size at ``px`` on our side of ``book``; 0 for an empty level inside the
    displayed range, NaN beyond it (unknown)."""
    px_row = 0 if side > 0 else 2
    depth = book.shape[1]
    for lvl in range(depth):
        lpx = book[px_row, lvl]
        if math.isnan(lpx):
            return 0.0  # the whole side is displayed and our price is not on it
        if abs(lpx - px) < 0.5 * tick:
            return book[px_row + 1, lvl]
    worst = book[px_row, depth - 1]
    inside = px > worst if side > 0 else px < worst
    return 0.0 if inside else np.nan


@njit(cache=True)
def push_response(
    ring_ts: np.ndarray, ring: np.ndarray, ptr: np.ndarray, ts: int,
    kind: int, slot: int, px: float, qty: float, remaining: float,
) -> None:
    """Append to the venue -> us ring; ``ptr`` = [head, tail, last_ts]. Times are made
    non-decreasing because one connection delivers in order."""
    cap = ring_ts.shape[0]
    if ptr[1] - ptr[0] >= cap:
        raise RuntimeError("response ring full: raise its capacity")
    t = max(ts, ptr[2])
    ptr[2] = t
    k = ptr[1] % cap
    ring_ts[k] = t
    ring[k, 0] = kind
    ring[k, 1] = slot
    ring[k, 2] = px
    ring[k, 3] = qty
    ring[k, 4] = remaining
    ptr[1] += 1


@njit(cache=True)
def fill_order(
    orders: np.ndarray, slot: int, px: float, qty: float, maker: bool, ts: int,
    cfg: np.ndarray, acct: np.ndarray, fill_ts: np.ndarray, fills: np.ndarray,
    counts: np.ndarray, ring_ts: np.ndarray, ring: np.ndarray, ptr: np.ndarray,
    resp_lat: int,
) -> None:
    """Fill ``qty`` of the order in ``slot`` at ``px``: account, fill log, response."""
    side = orders[slot, O_SIDE]
    fee_bps = cfg[C_MAKER_FEE_BPS] if maker else cfg[C_TAKER_FEE_BPS]
    fee = px * qty * fee_bps * 1e-4
    mid = acct[A_MID]
    acct[A_CASH] -= side * px * qty + fee
    acct[A_POS] += side * qty
    acct[A_FEES] += fee
    acct[A_SPREAD] += side * (mid - px) * qty
    acct[A_FILLED_QTY] += qty
    remaining = orders[slot, O_QTY] - qty
    if remaining <= 1e-9 * cfg[C_LOT]:
        remaining = 0.0
        orders[slot, O_STATE] = 0.0
    orders[slot, O_QTY] = remaining
    k = counts[K_FILLS]  # the caller reruns with more room if the log overflowed
    if k < fill_ts.shape[0]:
        fill_ts[k] = ts
        fills[k, F_SIDE] = side
        fills[k, F_PX] = px
        fills[k, F_QTY] = qty
        fills[k, F_MAKER] = 1.0 if maker else 0.0
        fills[k, F_FEE] = fee
        fills[k, F_MID] = mid
    counts[K_FILLS] = k + 1
    push_response(ring_ts, ring, ptr, ts + resp_lat, R_FILL, slot, px, qty, remaining)


@njit(cache=True, inline="always")
def crosses(book: np.ndarray, side: float, px: float, tick: float) -> bool:
    """Would a ``side`` order at ``px`` take liquidity from the displayed book.

    Prices within half a tick are equal: a price rounded to the tick in floating point
    (``617001 * 0.1 = 61700.100000000006``) still meets the level it names.
    """
    if side > 0:
        return (not math.isnan(book[2, 0])) and px > book[2, 0] - 0.5 * tick
    return (not math.isnan(book[0, 0])) and px < book[0, 0] + 0.5 * tick


@njit(cache=True)
def self_cross_slot(
    orders: np.ndarray, n_used: int, side: float, px: float, skip: int, tick: float
) -> int:
    """Oldest of our resting opposite-side orders that ``px`` would trade with, or -1."""
    best = -1
    best_seq = np.inf
    half = 0.5 * tick
    for s in range(n_used):
        if s == skip or orders[s, O_STATE] != 1.0 or orders[s, O_SIDE] != -side:
            continue
        other = orders[s, O_PX]
        would_trade = (side > 0 and px > other - half) or (side < 0 and px < other + half)
        if would_trade and orders[s, O_SEQ] < best_seq:
                best_seq = orders[s, O_SEQ]
                best = s
    return best


@njit(cache=True)
def self_trade_blocks(
    orders: np.ndarray, n_used: int, slot: int, side: float, px: float, ts: int, cfg: np.ndarray,
    counts: np.ndarray, ring_ts: np.ndarray, ring: np.ndarray, ptr: np.ndarray,
    resp_lat: int,
) -> bool:
    """Apply self-trade prevention for an incoming order; True if the incoming is refused."""
    other = self_cross_slot(orders, n_used, side, px, slot, cfg[C_TICK])
    if other < 0:
        return False
    if cfg[C_STP_RULE] == STP_REJECT_NEW:
        return True
    while other >= 0:  # cancel-oldest: every resting order it would cross goes
        orders[other, O_STATE] = 0.0
        push_response(ring_ts, ring, ptr, ts + resp_lat, R_DONE, other, np.nan, 0.0, 0.0)
        counts[K_STP_CANCELS] += 1
        other = self_cross_slot(orders, n_used, side, px, slot, cfg[C_TICK])
    return False


@njit(cache=True)
def arrive_order(
    orders: np.ndarray, slot: int, px: float, qty: float, tif: int, ts: int,
    book: np.ndarray, cfg: np.ndarray, acct: np.ndarray, fill_ts: np.ndarray,
    fills: np.ndarray, counts: np.ndarray, ring_ts: np.ndarray, ring: np.ndarray,
    ptr: np.ndarray, resp_lat: int,
) -> None:
    """A new order (or a re-priced modify) reaches the venue at ``ts``.

    ALO that would cross: rejected. GTC/IOC that cross take the displayed levels they
    reach, at the levels' prices (taker). IOC then ends; GTC rests its remainder at the
    front of a new level. Orders that do not cross rest FIFO behind the displayed size.
    """
    side = orders[slot, O_SIDE]
    tick = cfg[C_TICK]
    n_used = int(acct[A_SLOTS_USED])
    if self_trade_blocks(
        orders, n_used, slot, side, px, ts, cfg, counts, ring_ts, ring, ptr, resp_lat
    ):
        counts[K_REJECTS] += 1
        orders[slot, O_STATE] = 0.0
        push_response(ring_ts, ring, ptr, ts + resp_lat, R_DONE, slot, np.nan, 0.0, 0.0)
        return
    orders[slot, O_PX] = px
    orders[slot, O_QTY] = qty
    orders[slot, O_TIF] = tif
    orders[slot, O_SEQ] = acct[A_SEQ]
    acct[A_SEQ] += 1.0
    orders[slot, O_STATE] = 1.0
    if crosses(book, side, px, tick):
        if tif == TIF_ALO:
            counts[K_REJECTS] += 1
            orders[slot, O_STATE] = 0.0
            push_response(ring_ts, ring, ptr, ts + resp_lat, R_DONE, slot, np.nan, 0.0, 0.0)
            return
        px_row = 2 if side > 0 else 0
        for lvl in range(book.shape[1]):
            lpx = book[px_row, lvl]
            if math.isnan(lpx) or orders[slot, O_STATE] != 1.0:
                break
            if (side > 0 and lpx > px + 0.5 * tick) or (side < 0 and lpx < px - 0.5 * tick):
                break
            take = min(orders[slot, O_QTY], book[px_row + 1, lvl])
            if take > 0.0:
                fill_order(orders, slot, lpx, take, False, ts, cfg, acct, fill_ts, fills,
                           counts, ring_ts, ring, ptr, resp_lat)
        if orders[slot, O_STATE] != 1.0:
            return
        orders[slot, O_QUEUE] = 0.0
    else:
        orders[slot, O_QUEUE] = displayed_qty(book, side, px, tick)
    if tif == TIF_IOC:
        orders[slot, O_STATE] = 0.0
        push_response(ring_ts, ring, ptr, ts + resp_lat, R_DONE, slot, np.nan, 0.0, 0.0)
        return
    orders[slot, O_LEVEL_QTY] = displayed_qty(book, side, px, tick)
    orders[slot, O_TRADED] = 0.0


@njit(cache=True)
def modify_order(
    orders: np.ndarray, slot: int, px: float, qty: float, ts: int,
    book: np.ndarray, cfg: np.ndarray, acct: np.ndarray, fill_ts: np.ndarray,
    fills: np.ndarray, counts: np.ndarray, ring_ts: np.ndarray, ring: np.ndarray,
    ptr: np.ndarray, resp_lat: int,
) -> None:
    """A modify reaches the venue. A new price is a new order for queue purposes (and
    may cross); at the same price a size increase, or any change when the venue does
    not keep priority on modify, goes to the back of the displayed queue."""
    if orders[slot, O_STATE] != 1.0:
        counts[K_REJECTS] += 1  # too late: already filled or cancelled; that news is in flight
        push_response(ring_ts, ring, ptr, ts + resp_lat, R_MODIFY_ANSWER, slot, np.nan, 0.0, 0.0)
        return
    side = orders[slot, O_SIDE]
    tif = int(orders[slot, O_TIF])
    tick = cfg[C_TICK]
    if abs(px - orders[slot, O_PX]) >= 0.5 * tick:
        refused = (tif == TIF_ALO and crosses(book, side, px, tick)) or (
            cfg[C_STP_RULE] == STP_REJECT_NEW
            and self_cross_slot(orders, int(acct[A_SLOTS_USED]), side, px, slot, tick) >= 0
        )
        if refused:
            counts[K_REJECTS] += 1
        else:
            arrive_order(orders, slot, px, qty, tif, ts, book, cfg, acct, fill_ts, fills,
                         counts, ring_ts, ring, ptr, resp_lat)
    else:
        keeps = cfg[C_MODIFY_KEEPS_PRIORITY] != 0.0 and qty <= orders[slot, O_QTY]
        if not keeps:
            orders[slot, O_QUEUE] = displayed_qty(book, side, px, tick)
            orders[slot, O_SEQ] = acct[A_SEQ]
            acct[A_SEQ] += 1.0
        orders[slot, O_QTY] = qty
    live = orders[slot, O_STATE] == 1.0
    push_response(ring_ts, ring, ptr, ts + resp_lat, R_MODIFY_ANSWER, slot,
                  orders[slot, O_PX] if live else np.nan, orders[slot, O_QTY] if live else 0.0,
                  0.0)


@njit(cache=True)
def cancel_order(
    orders: np.ndarray, slot: int, ts: int, counts: np.ndarray, ring_ts: np.ndarray,
    ring: np.ndarray, ptr: np.ndarray, resp_lat: int,
) -> None:
    """A cancel reaches the venue; too late (already done) counts as a reject."""
    if orders[slot, O_STATE] != 1.0:
        counts[K_REJECTS] += 1
        return
    orders[slot, O_STATE] = 0.0
    push_response(ring_ts, ring, ptr, ts + resp_lat, R_DONE, slot, np.nan, 0.0, 0.0)


@njit(cache=True)
def on_trade(
    orders: np.ndarray, px: float, size: float, aggressor: int, ts: int,
    cfg: np.ndarray, acct: np.ndarray, fill_ts: np.ndarray, fills: np.ndarray,
    counts: np.ndarray, ring_ts: np.ndarray, ring: np.ndarray, ptr: np.ndarray,
    resp_lat: int,
) -> None:
    """A market trade: fills our resting orders on the side it hit."""
    tick = cfg[C_TICK]
    for s in range(int(acct[A_SLOTS_USED])):
        if orders[s, O_STATE] != 1.0 or orders[s, O_SIDE] != -aggressor:
            continue
        our = orders[s, O_PX]
        through = px > our + 0.5 * tick if aggressor > 0 else px < our - 0.5 * tick
        if through:
            fill_order(orders, s, our, orders[s, O_QTY], True, ts, cfg, acct, fill_ts, fills,
                       counts, ring_ts, ring, ptr, resp_lat)
        elif abs(px - our) < 0.5 * tick:
            orders[s, O_TRADED] += size
            queue, reach = queue_after_trade(orders[s, O_QUEUE], size, cfg[C_LOT])
            orders[s, O_QUEUE] = queue
            if reach > 0.0:
                fill_order(orders, s, our, min(reach, orders[s, O_QTY]), True, ts, cfg, acct,
                           fill_ts, fills, counts, ring_ts, ring, ptr, resp_lat)


@njit(cache=True)
def on_depth(orders: np.ndarray, book: np.ndarray, cfg: np.ndarray, acct: np.ndarray) -> None:
    """A new snapshot: move each resting order's queue by the chosen queue model."""
    tick = cfg[C_TICK]
    model = int(cfg[C_QUEUE_MODEL])
    for s in range(int(acct[A_SLOTS_USED])):
        if orders[s, O_STATE] != 1.0:
            continue
        new_qty = displayed_qty(book, orders[s, O_SIDE], orders[s, O_PX], tick)
        if math.isnan(new_qty):
            continue
        prev_qty = orders[s, O_LEVEL_QTY]
        if math.isnan(prev_qty):
            prev_qty = new_qty
        orders[s, O_QUEUE] = queue_after_depth_change(
            model, cfg[C_QUEUE_PARAM], orders[s, O_QUEUE], prev_qty, new_qty, orders[s, O_TRADED]
        )
        orders[s, O_LEVEL_QTY] = new_qty
        orders[s, O_TRADED] = 0.0


@njit(cache=True)
def on_cross(
    orders: np.ndarray, book: np.ndarray, ts: int, cfg: np.ndarray, acct: np.ndarray,
    fill_ts: np.ndarray, fills: np.ndarray, counts: np.ndarray, ring_ts: np.ndarray,
    ring: np.ndarray, ptr: np.ndarray, resp_lat: int,
) -> None:
    """``CROSS_FILL``: the book at or through our price fills us at our price."""
    tick = cfg[C_TICK]
    for s in range(int(acct[A_SLOTS_USED])):
        if orders[s, O_STATE] != 1.0:
            continue
        side = orders[s, O_SIDE]
        if crosses(book, side, orders[s, O_PX], tick):
            fill_order(orders, s, orders[s, O_PX], orders[s, O_QTY], True, ts, cfg, acct,
                       fill_ts, fills, counts, ring_ts, ring, ptr, resp_lat)


@njit(cache=True, inline="always")
def _merge_top(book: np.ndarray, px_row: int, top_px: float, top_sz: float) -> None:
    """Put a new top level on one side of ``book``, keeping the deeper levels that are
    worse than it (``px_row`` 0 for bids, 2 for asks).

    In place and usually O(1): the new top mostly replaces the old one at the same
    price or next to it, so only the levels it displaces move.
    """
    if math.isnan(top_px):
        return
    depth = book.shape[1]
    sz_row = px_row + 1
    # j: the first level strictly worse than the new top (NaN = the side ends there).
    j = 0
    while j < depth:
        lpx = book[px_row, j]
        if math.isnan(lpx) or (lpx < top_px if px_row == 0 else lpx > top_px):
            break
        j += 1
    if j == 0:  # a better price: everything moves one level down, the last drops
        for lvl in range(depth - 1, 0, -1):
            book[px_row, lvl] = book[px_row, lvl - 1]
            book[sz_row, lvl] = book[sz_row, lvl - 1]
    elif j > 1:  # the new top swallows levels 1 .. j-1: the rest move up
        shift = j - 1
        for lvl in range(1, depth):
            src = lvl + shift
            if src < depth:
                book[px_row, lvl] = book[px_row, src]
                book[sz_row, lvl] = book[sz_row, src]
            else:
                book[px_row, lvl] = np.nan
                book[sz_row, lvl] = 0.0
    book[px_row, 0] = top_px
    book[sz_row, 0] = top_sz


@njit(cache=True, inline="always")
def apply_snapshot(
    book: np.ndarray, bid_px: np.ndarray, bid_sz: np.ndarray,
    ask_px: np.ndarray, ask_sz: np.ndarray, bbo: np.ndarray, row: int, top_only: bool,
) -> None:
    """Copy L2 snapshot ``row`` of the level arrays into ``book``; a bbo (``top_only``,
    ``row`` of ``bbo``) replaces the top and keeps the deeper levels that are worse than
    the new top."""
    if top_only:
        _merge_top(book, 0, bbo[row, BBO_BID_PX], bbo[row, BBO_BID_SZ])
        _merge_top(book, 2, bbo[row, BBO_ASK_PX], bbo[row, BBO_ASK_SZ])
        return
    for lvl in range(book.shape[1]):
        book[0, lvl] = bid_px[row, lvl]
        book[1, lvl] = bid_sz[row, lvl]
        book[2, lvl] = ask_px[row, lvl]
        book[3, lvl] = ask_sz[row, lvl]

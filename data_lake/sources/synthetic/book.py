"""The synthetic L2 book: level layout, depletion by sweeps, refill, snapshots, bbo, prints.

Level prices follow the quoted best bid/ask (``synthetic_price``) at fixed tick offsets;
the levels are spaced linearly in bps from the touch to a high quantile of the fill-depth
law, and their target sizes follow that law: the cumulative size up to the level at depth
D is ``depth_multiple`` times Q(D), the order-size quantile at the depth law's CDF F(D),
so that an order of size q "belongs" at depth Q^(-1)(q) (exact when the size-depth copula
correlation is 1) and the book holds ``depth_multiple`` such orders.

An aggressive order with planted depth delta prints, at one timestamp, at the touch, at
every visible level strictly inside delta, and last at the tick nearest mid (1 +/- delta):
its deepest print sits at the planted depth (within half a tick). Its size is split over
the prints in proportion to the sizes resting there; each print depletes its level (never
below a floor, the hidden size). Levels below the touch relax back to their targets at
``refill_rate_per_s``; the touch sizes are redrawn at each snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from data_lake.sources.synthetic.config import BookParams, DepthLaw, SizeLaw
from data_lake.sources.synthetic.flow import size_from_survival

__all__ = ["BookLayout", "BookRun", "book_layout", "run_book"]


@dataclass(frozen=True)
class BookLayout:
    """Where the visible levels sit and how much rests there.

    offsets_ticks : (L,) distance of level j from the touch, ticks (0 = touch).
    depths_bps : (L,) depth of level j from the mid at the reference price, bps.
    target_sizes : (L,) resting size each level refills to, base units.
    floor_sizes : (L,) size a level never drops below, base units.
    """

    offsets_ticks: np.ndarray
    depths_bps: np.ndarray
    target_sizes: np.ndarray
    floor_sizes: np.ndarray


def book_layout(
    book: BookParams, depth: DepthLaw, sizes: SizeLaw, reference_price: float
) -> BookLayout:
    """Level offsets and target sizes consistent with the fill-depth and size laws."""
    n = book.levels
    tick_bps = book.tick_size / reference_price * 1e4
    half_spread_bps = book.spread_ticks * tick_bps / 2.0
    deepest_bps = float(depth.quantile(np.array(book.level_span_quantile)))
    depths = half_spread_bps + np.linspace(0.0, max(deepest_bps - half_spread_bps, 0.0), n)
    offsets = np.rint((depths - half_spread_bps) / tick_bps).astype(np.int64)
    for j in range(1, n):  # distinct levels even when the law is narrow against the tick
        offsets[j] = max(offsets[j], offsets[j - 1] + 1)
    level_depths = half_spread_bps + offsets * tick_bps
    survival = np.clip(1.0 - depth.cdf(level_depths), 1e-9, 1.0)
    cumulative = size_from_survival(sizes, survival)
    targets = np.empty(n)
    targets[0] = book.touch_size
    targets[1:] = np.maximum(book.depth_multiple * np.diff(cumulative), 10.0 * book.lot_size)
    floors = np.maximum(book.floor_fraction * targets, book.lot_size)
    return BookLayout(
        offsets_ticks=offsets, depths_bps=level_depths, target_sizes=targets, floor_sizes=floors
    )


@dataclass(frozen=True)
class BookRun:
    """Everything the book loop printed for one symbol-day (prices in ticks)."""

    snap_bid_sz: np.ndarray  # (n_snap, L)
    snap_ask_sz: np.ndarray
    snap_seq: np.ndarray
    bbo_ts: np.ndarray
    bbo_seq: np.ndarray
    bbo_bid_tick: np.ndarray
    bbo_bid_sz: np.ndarray
    bbo_ask_tick: np.ndarray
    bbo_ask_sz: np.ndarray
    trade_ts: np.ndarray
    trade_tick: np.ndarray
    trade_size: np.ndarray
    trade_side: np.ndarray
    trade_order: np.ndarray  # index of the order that printed it


@numba.njit(cache=True)
def _book_loop(
    bid_ticks: np.ndarray,
    spread_ticks: int,
    steps_per_snapshot: int,
    step_ns: int,
    day_start_ns: int,
    offsets: np.ndarray,
    targets: np.ndarray,
    floors: np.ndarray,
    refill: float,
    touch_bid: np.ndarray,
    touch_ask: np.ndarray,
    order_step: np.ndarray,
    order_ts: np.ndarray,
    order_side: np.ndarray,
    order_final_tick: np.ndarray,
    order_size: np.ndarray,
    lot: float,
) -> tuple[np.ndarray, ...]:  # pragma: no cover - jitted
    n_steps = bid_ticks.size
    n_levels = offsets.size
    n_orders = order_step.size
    n_snap = (n_steps + steps_per_snapshot - 1) // steps_per_snapshot

    bsz = targets.copy()
    asz = targets.copy()
    snap_b = np.empty((n_snap, n_levels))
    snap_a = np.empty((n_snap, n_levels))
    snap_seq = np.empty(n_snap, dtype=np.int64)

    cap_bbo = n_steps + n_orders
    q_ts = np.empty(cap_bbo, dtype=np.int64)
    q_bt = np.empty(cap_bbo, dtype=np.int64)
    q_bs = np.empty(cap_bbo)
    q_as = np.empty(cap_bbo)
    cap_tr = n_orders * (n_levels + 1)
    t_ts = np.empty(cap_tr, dtype=np.int64)
    t_tick = np.empty(cap_tr, dtype=np.int64)
    t_sz = np.empty(cap_tr)
    t_side = np.empty(cap_tr, dtype=np.int8)
    t_ord = np.empty(cap_tr, dtype=np.int64)
    w_lvl = np.empty(n_levels + 1, dtype=np.int64)
    w_tick = np.empty(n_levels + 1, dtype=np.int64)
    w_val = np.empty(n_levels + 1)

    n_bbo = 0
    n_tr = 0
    last_bt = -1
    last_bs = -1.0
    last_as = -1.0
    o = 0
    for k in range(n_steps):
        for j in range(1, n_levels):
            bsz[j] += (targets[j] - bsz[j]) * refill
            asz[j] += (targets[j] - asz[j]) * refill
        if k % steps_per_snapshot == 0:
            bsz[0] = touch_bid[k // steps_per_snapshot]
            asz[0] = touch_ask[k // steps_per_snapshot]
        bt = bid_ticks[k]
        if bt != last_bt or bsz[0] != last_bs or asz[0] != last_as:
            q_ts[n_bbo] = day_start_ns + k * step_ns
            q_bt[n_bbo] = bt
            q_bs[n_bbo] = bsz[0]
            q_as[n_bbo] = asz[0]
            n_bbo += 1
            last_bt = bt
            last_bs = bsz[0]
            last_as = asz[0]
        if k % steps_per_snapshot == 0:
            s = k // steps_per_snapshot
            snap_b[s, :] = bsz
            snap_a[s, :] = asz
            snap_seq[s] = n_bbo - 1
        at = bt + spread_ticks
        while o < n_orders and order_step[o] == k:
            side = order_side[o]
            final = order_final_tick[o]
            # Levels crossed on the way to the final tick, then the final tick itself.
            m = 0
            final_level = -1
            for j in range(n_levels):
                if side > 0:
                    lvl_tick = at + offsets[j]
                    inside = lvl_tick < final
                else:
                    lvl_tick = bt - offsets[j]
                    inside = lvl_tick > final
                if inside:
                    w_lvl[m] = j
                    w_tick[m] = lvl_tick
                    w_val[m] = bsz[j] if side < 0 else asz[j]
                    m += 1
                elif lvl_tick == final:
                    final_level = j
                    break
                else:
                    final_level = -1 - j  # next level beyond the final tick
                    break
            w_lvl[m] = final_level
            w_tick[m] = final
            if final_level >= 0:
                w_val[m] = bsz[final_level] if side < 0 else asz[final_level]
            elif final_level == -1 and m == n_levels:
                w_val[m] = targets[n_levels - 1]
            else:
                w_val[m] = targets[-1 - final_level]
            m += 1
            total_w = 0.0
            for i in range(m):
                total_w += w_val[i]
            for i in range(m):
                qty = np.round(order_size[o] * w_val[i] / total_w / lot) * lot
                if qty < lot:
                    qty = lot
                t_ts[n_tr] = order_ts[o]
                t_tick[n_tr] = w_tick[i]
                t_sz[n_tr] = qty
                t_side[n_tr] = side
                t_ord[n_tr] = o
                n_tr += 1
                j = w_lvl[i]
                if j >= 0:
                    if side > 0:
                        asz[j] = max(asz[j] - qty, floors[j])
                    else:
                        bsz[j] = max(bsz[j] - qty, floors[j])
            q_ts[n_bbo] = order_ts[o]
            q_bt[n_bbo] = bt
            q_bs[n_bbo] = bsz[0]
            q_as[n_bbo] = asz[0]
            n_bbo += 1
            last_bs = bsz[0]
            last_as = asz[0]
            o += 1
    return (
        snap_b,
        snap_a,
        snap_seq,
        q_ts[:n_bbo],
        q_bt[:n_bbo],
        q_bs[:n_bbo],
        q_as[:n_bbo],
        t_ts[:n_tr],
        t_tick[:n_tr],
        t_sz[:n_tr],
        t_side[:n_tr],
        t_ord[:n_tr],
    )


def run_book(
    *,
    bid_ticks: np.ndarray,
    book: BookParams,
    layout: BookLayout,
    steps_per_snapshot: int,
    step_s: float,
    day_start_ns: int,
    touch_bid: np.ndarray,
    touch_ask: np.ndarray,
    order_step: np.ndarray,
    order_ts: np.ndarray,
    order_side: np.ndarray,
    order_final_tick: np.ndarray,
    order_size: np.ndarray,
) -> BookRun:
    """Run the book through one day of quotes and orders (orders sorted by time)."""
    refill = float(-np.expm1(-book.refill_rate_per_s * step_s))
    out = _book_loop(
        bid_ticks,
        int(book.spread_ticks),
        int(steps_per_snapshot),
        round(step_s * 1e9),
        int(day_start_ns),
        layout.offsets_ticks,
        layout.target_sizes,
        layout.floor_sizes,
        refill,
        touch_bid,
        touch_ask,
        order_step,
        order_ts,
        order_side,
        order_final_tick,
        order_size,
        float(book.lot_size),
    )
    (snap_b, snap_a, snap_seq, q_ts, q_bt, q_bs, q_as, t_ts, t_tick, t_sz, t_side, t_ord) = out
    return BookRun(
        snap_bid_sz=snap_b,
        snap_ask_sz=snap_a,
        snap_seq=snap_seq,
        bbo_ts=q_ts,
        bbo_seq=np.arange(q_ts.size, dtype=np.int64),
        bbo_bid_tick=q_bt,
        bbo_bid_sz=q_bs,
        bbo_ask_tick=q_bt + book.spread_ticks,
        bbo_ask_sz=q_as,
        trade_ts=t_ts,
        trade_tick=t_tick,
        trade_size=t_sz,
        trade_side=t_side,
        trade_order=t_ord,
    )

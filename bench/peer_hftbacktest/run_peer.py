"""hftbacktest as the cross-check and benchmark peer (peer venv only; issue 12).

Runs in ``bench/.venv-hftbacktest`` (hftbacktest 2.4.4, numpy<2.3), never in the project
venv. Replays one converted event array (``convert_binance.py``) under up to four
policies and prints one JSON line per run:

- ``replay``: ``elapse(interval)`` in a loop, nothing else (the replay alone);
- ``replay_feed``: ``wait_next_feed`` in a loop (wakes on every local feed event);
- ``simple``: the cross-check policy (one lot at the best bid and the best ask, requoted
  every ``interval``), specified exactly in README.md, section "Simple policy";
- ``glft``: hftbacktest's "GLFT Market Making Model and Grid Trading" tutorial strategy
  (rolling A/k fit by log-linear regression, ``compute_coeff``, a grid of post-only
  orders), for the speed comparison and the robustness record (non-finite quotes, k<=0).

Every run builds a fresh backtest from the same in-memory array; the wall time covers
the jitted strategy call only (numba compiles on a warm-up run over the first rows).
Units: timestamps and latencies in ns, prices in USDT, quantities in BTC, fees as
fractions of traded value (flags in bps), P&L in USDT.

Usage (from the repo root)::

    bench/.venv-hftbacktest/bin/python bench/peer_hftbacktest/run_peer.py \\
        --data bench/out/btcusdt_20240808.npz --policy all
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hftbacktest import (
    BUY,
    BUY_EVENT,
    CANCELED,
    EXCH_EVENT,
    EXPIRED,
    FILLED,
    GTX,
    LIMIT,
    SELL,
    BacktestAsset,
    HashMapMarketDepthBacktest,
    Recorder,
    ROIVectorMarketDepthBacktest,
)
from numba import njit, uint64
from numba.typed import Dict

__all__ = ["POLICIES", "PeerConfig", "main", "run_policy"]

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO / "bench/out/btcusdt_20240808.npz"
POLICIES = ("replay", "replay_feed", "simple", "glft", "glft_feed")
# hftbacktest's "no price" ticks (i64::MIN / i64::MAX) when a book side is empty.
INVALID_MIN = np.iinfo(np.int64).min
INVALID_MAX = np.iinfo(np.int64).max
# Rows of the array used to compile the jitted loops before anything is timed.
WARMUP_ROWS = 60_000
# Tutorial buffers: 10M-step rolling arrays and a 5M-record Recorder.
TUTORIAL_STEPS = 10_000_000
TUTORIAL_RECORDS = 5_000_000
# Slots of the simple policy's counter vector.
N_STEPS, N_SKIPPED, N_SUBMIT_BID, N_SUBMIT_ASK, N_CANCEL, N_FILLED, N_EXPIRED, N_CANCELED = range(8)
# Last elapse return code: 1 = end of data, anything else an hftbacktest error.
N_RC = 8
# The first wake's timestamp (ns), to line up another engine's timer with the peer's.
N_FIRST_WAKE = 9
# Fill log rows kept by the simple policy (the sample has ~500 fills).
FILL_LOG_ROWS = 100_000
# Slots of the GLFT counter vector.
G_STEPS, G_FITS, G_FITS_SHORT, G_K_NONPOS, G_K_NONFINITE, G_NONFINITE_QUOTES = range(6)
G_QUOTED, G_SUBMITS, G_CANCELS, G_FIRST_FIT_STEP, G_WAKES = range(6, 11)


@dataclass(frozen=True)
class PeerConfig:
    """Backtest and policy settings shared by every run.

    Attributes
    ----------
    tick, lot : float
        Price tick (USDT) and lot (BTC).
    order_lots : int
        Order size in lots (simple policy and GLFT grid levels).
    max_position_lots : int
        Position limit in lots; 0 means unlimited (simple policy only; GLFT uses
        ``glft_max_position`` in order units as the tutorial does).
    interval_ns : int
        Requote period in ns (``elapse`` argument).
    entry_latency_ns, response_latency_ns : int
        Constant order entry and response latency in ns.
    maker_fee_bps, taker_fee_bps : float
        Fees in bps of traded value (negative = rebate).
    partial_fill : bool
        ``partial_fill_exchange`` if true else ``no_partial_fill_exchange``.
    depth : str
        ``"hashmap"`` or ``"roivec"`` market depth.
    roi_lb, roi_ub : float
        Price range of the ROI vector depth (USDT).
    records : int
        Rolling-array length and Recorder capacity of the GLFT run.
    """

    tick: float = 0.1
    lot: float = 0.001
    order_lots: int = 1
    max_position_lots: int = 0
    interval_ns: int = 100_000_000
    entry_latency_ns: int = 10_000_000
    response_latency_ns: int = 10_000_000
    maker_fee_bps: float = 0.0
    taker_fee_bps: float = 5.0
    partial_fill: bool = False
    depth: str = "hashmap"
    roi_lb: float = 0.0
    roi_ub: float = 200_000.0
    records: int = 100_000
    glft_steps: int = 100_000
    glft_window_steps: int = 600
    glft_update_steps: int = 50
    glft_gamma: float = 0.05
    glft_delta: float = 1.0
    glft_adj1: float = 1.0
    glft_adj2: float = 0.05
    glft_grid_num: int = 20
    glft_max_position: float = 20.0

    def __post_init__(self) -> None:
        if self.tick <= 0 or self.lot <= 0 or self.order_lots <= 0:
            raise ValueError("tick, lot and order_lots must be positive")
        if self.interval_ns <= 0 or self.entry_latency_ns < 0 or self.response_latency_ns < 0:
            raise ValueError("interval must be positive and latencies non-negative")
        if self.depth not in ("hashmap", "roivec"):
            raise ValueError(f"unknown depth {self.depth!r}")
        if self.glft_window_steps < 2 or self.glft_update_steps < 1 or self.glft_grid_num < 1:
            raise ValueError("bad GLFT window/update/grid settings")


def build_backtest(data: np.ndarray, cfg: PeerConfig, last_trades: int) -> Any:
    """Build a fresh hftbacktest backtest over ``data`` with the BacktestAsset builder."""
    asset = (
        BacktestAsset()
        .data(data)
        .linear_asset(1.0)
        .constant_order_latency(cfg.entry_latency_ns, cfg.response_latency_ns)
        .risk_adverse_queue_model()
        .trading_value_fee_model(cfg.maker_fee_bps * 1e-4, cfg.taker_fee_bps * 1e-4)
        .tick_size(cfg.tick)
        .lot_size(cfg.lot)
        .last_trades_capacity(last_trades)
    )
    asset = asset.partial_fill_exchange() if cfg.partial_fill else asset.no_partial_fill_exchange()
    if cfg.depth == "roivec":
        asset = asset.roi_lb(cfg.roi_lb).roi_ub(cfg.roi_ub)
        return ROIVectorMarketDepthBacktest([asset])
    return HashMapMarketDepthBacktest([asset])


# ----------------------------------------------------------------------------------------
# Replay alone.


@njit
def replay_elapse(hbt: Any, interval_ns: int) -> int:
    """Elapse ``interval_ns`` until the data end; return the step count."""
    steps = 0
    while hbt.elapse(interval_ns) == 0:
        steps += 1
    return steps


@njit
def replay_feed(hbt: Any) -> int:
    """Wake on every local feed event until the data end; return the wake count."""
    steps = 0
    while True:
        r = hbt.wait_next_feed(False, 3_600_000_000_000)
        if r == 1:
            break
        if r != 0 and r != 2:
            break
        steps += 1
    return steps


# ----------------------------------------------------------------------------------------
# Simple cross-check policy.


@njit
def simple_policy(
    hbt: Any, interval_ns: int, qty: float, max_position: float, counters: np.ndarray,
    fill_log: np.ndarray,
) -> float:
    """One order of ``qty`` at the local best bid and best ask, requoted every step.

    Order ids encode side and price: ``2 * price_tick`` for bids, ``2 * price_tick + 1``
    for asks. Returns the local mid price (USDT) at the last step. Each order seen
    ``FILLED`` is logged in ``fill_log`` rows (exchange ts ns, side +1/-1, exec price
    tick, exec qty) while there is room; ``counters[N_FIRST_WAKE]`` gets the first
    wake's timestamp (ns, the peer's local clock).
    """
    mid = np.nan
    while True:
        rc = hbt.elapse(interval_ns)
        if rc != 0:
            counters[N_RC] = rc
            break
        if counters[N_STEPS] == 0:
            counters[N_FIRST_WAKE] = hbt.current_timestamp
        counters[N_STEPS] += 1
        orders = hbt.orders(0)
        # Terminal orders are counted once, then dropped from the local view.
        values = orders.values()
        while values.has_next():
            o = values.get()
            if o.status == FILLED:
                k = counters[N_FILLED]
                if k < fill_log.shape[0]:
                    fill_log[k, 0] = o.exch_timestamp
                    fill_log[k, 1] = 1 if o.side == BUY else -1
                    fill_log[k, 2] = o.exec_price_tick
                    fill_log[k, 3] = round(o.exec_qty / o.qty * 1e9) if o.qty > 0 else 0
                counters[N_FILLED] += 1
            elif o.status == EXPIRED:
                counters[N_EXPIRED] += 1
            elif o.status == CANCELED:
                counters[N_CANCELED] += 1
        hbt.clear_inactive_orders(0)

        depth = hbt.depth(0)
        bid_tick = depth.best_bid_tick
        ask_tick = depth.best_ask_tick
        if bid_tick == INVALID_MIN or ask_tick == INVALID_MAX or bid_tick >= ask_tick:
            counters[N_SKIPPED] += 1
            continue
        mid = (depth.best_bid + depth.best_ask) / 2.0
        position = hbt.position(0)

        values = orders.values()
        while values.has_next():
            o = values.get()
            if o.cancellable and (
                (o.side == BUY and o.price_tick != bid_tick)
                or (o.side == SELL and o.price_tick != ask_tick)
            ):
                hbt.cancel(0, o.order_id, False)
                counters[N_CANCEL] += 1

        bid_id = uint64(2 * bid_tick)
        ask_id = uint64(2 * ask_tick + 1)
        if (max_position <= 0.0 or position < max_position) and bid_id not in orders:
            hbt.submit_buy_order(0, bid_id, bid_tick * depth.tick_size, qty, GTX, LIMIT, False)
            counters[N_SUBMIT_BID] += 1
        if (max_position <= 0.0 or position > -max_position) and ask_id not in orders:
            hbt.submit_sell_order(0, ask_id, ask_tick * depth.tick_size, qty, GTX, LIMIT, False)
            counters[N_SUBMIT_ASK] += 1
    return mid


# ----------------------------------------------------------------------------------------
# hftbacktest's GLFT grid tutorial strategy ("GLFT Market Making Model and Grid Trading").


@njit
def measure_trading_intensity(order_arrival_depth: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Tutorial: counts of arrivals beyond each half-tick depth (its half-tick units kept)."""
    max_tick = 0
    for depth in order_arrival_depth:
        if not np.isfinite(depth):
            continue
        tick = round(depth / 0.5) - 1
        if tick < 0 or tick >= len(out):
            continue
        out[:tick] += 1
        max_tick = max(max_tick, tick)
    return out[:max_tick]


@njit
def linear_regression(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Tutorial: least-squares slope and intercept."""
    sx = np.sum(x)
    sy = np.sum(y)
    sx2 = np.sum(x**2)
    sxy = np.sum(x * y)
    w = len(x)
    slope = (w * sxy - sx * sy) / (w * sx2 - sx**2)
    intercept = (sy - slope * sx) / w
    return slope, intercept


@njit
def compute_coeff(xi: float, gamma: float, delta: float, A: float, k: float) -> tuple[float, float]:
    """Tutorial: GLFT c1 (half-spread term) and c2 (skew term per unit sigma)."""
    inv_k = np.divide(1, k)
    c1 = 1 / (xi * delta) * np.log(1 + xi * delta * inv_k)
    c2 = np.sqrt(
        np.divide(gamma, 2 * A * delta * k) * ((1 + xi * delta * inv_k) ** (k / (xi * delta) + 1))
    )
    return c1, c2


@njit
def _glft_requote(
    hbt: Any, asset_no: int, orders: Any, mid_price_tick: float, best_bid_tick: int,
    best_ask_tick: int, tick_size: float, position: float, gamma: float, delta: float,
    adj1: float, adj2: float, A: float, k: float, volatility: float, order_qty: float,
    max_position: float, grid_num: int, counters: np.ndarray,
) -> None:
    """Tutorial: the GLFT grid from the current coefficients; cancel what left it and
    submit what is new (post-only)."""
    c1, c2 = compute_coeff(gamma, gamma, delta, A, k)
    half_spread_tick = (c1 + delta / 2 * c2 * volatility) * adj1
    skew = c2 * volatility * adj2
    reservation_price_tick = mid_price_tick - skew * position

    bid_price_tick = np.minimum(
        np.round(reservation_price_tick - half_spread_tick), best_bid_tick
    )
    ask_price_tick = np.maximum(
        np.round(reservation_price_tick + half_spread_tick), best_ask_tick
    )
    bid_price = bid_price_tick * tick_size
    ask_price = ask_price_tick * tick_size
    grid_interval = max(np.round(half_spread_tick) * tick_size, tick_size)
    bid_price = np.floor(bid_price / grid_interval) * grid_interval
    ask_price = np.ceil(ask_price / grid_interval) * grid_interval
    if not (np.isfinite(bid_price) and np.isfinite(ask_price)):
        counters[G_NONFINITE_QUOTES] += 1
    else:
        counters[G_QUOTED] += 1

    new_bid_orders = Dict.empty(np.uint64, np.float64)
    if position < max_position and np.isfinite(bid_price):
        for _ in range(grid_num):
            bid_price_tick = round(bid_price / tick_size)
            new_bid_orders[uint64(bid_price_tick)] = bid_price
            bid_price -= grid_interval
    new_ask_orders = Dict.empty(np.uint64, np.float64)
    if position > -max_position and np.isfinite(ask_price):
        for _ in range(grid_num):
            ask_price_tick = round(ask_price / tick_size)
            new_ask_orders[uint64(ask_price_tick)] = ask_price
            ask_price += grid_interval

    order_values = orders.values()
    while order_values.has_next():
        order = order_values.get()
        if order.cancellable and (
            (order.side == BUY and order.order_id not in new_bid_orders)
            or (order.side == SELL and order.order_id not in new_ask_orders)
        ):
            hbt.cancel(asset_no, order.order_id, False)
            counters[G_CANCELS] += 1
    for order_id, order_price in new_bid_orders.items():
        if order_id not in orders:
            hbt.submit_buy_order(
                asset_no, order_id, order_price, order_qty, GTX, LIMIT, False
            )
            counters[G_SUBMITS] += 1
    for order_id, order_price in new_ask_orders.items():
        if order_id not in orders:
            hbt.submit_sell_order(
                asset_no, order_id, order_price, order_qty, GTX, LIMIT, False
            )
            counters[G_SUBMITS] += 1



@njit
def glft_grid(
    hbt: Any,
    recorder: Any,
    interval_ns: int,
    steps_cap: int,
    window: int,
    update_every: int,
    gamma: float,
    delta: float,
    adj1: float,
    adj2: float,
    order_qty: float,
    max_position: float,
    grid_num: int,
    counters: np.ndarray,
    k_min: np.ndarray,
    on_feed: bool,
) -> float:
    """The tutorial's ``gridtrading_glft_mm`` with its window and buffers as arguments.

    ``on_feed``: also requote at every local feed event (``wait_next_feed``), not only
    every ``interval_ns`` (the cadence of our benchmark's GLFT). The tutorial's rolling
    statistics (arrival depth, mid change, refits, the Recorder) still advance once per
    ``interval_ns`` step; every wake recomputes the quotes from the current book and
    position and requotes the grid.

    Differences from the notebook, all parameters: the fit window (tutorial 6,000 steps
    = 10 min, longer than the 343 s sample) and the update period; ``position`` is
    divided by ``order_qty`` so q is in orders as in the tutorial's 1-unit orders;
    lambda is divided by the window length in seconds (the tutorial's ``/ 600``).
    Returns the local mid price at the last step.
    """
    asset_no = 0
    tick_size = hbt.depth(asset_no).tick_size
    arrival_depth = np.full(steps_cap, np.nan, np.float64)
    mid_price_chg = np.full(steps_cap, np.nan, np.float64)
    window_s = window * interval_ns / 1e9
    steps_per_s = 1e9 / interval_ns

    t = 0
    mid_price_tick = np.nan
    tmp = np.zeros(500, np.float64)
    ticks = np.arange(len(tmp)) + 0.5
    A = np.nan
    k = np.nan
    volatility = np.nan
    mid = np.nan

    # The clock is unset (i64::MAX) until the first elapse: the first wake is a step.
    next_step = 0
    while True:
        if on_feed and next_step > 0:
            rc = hbt.wait_next_feed(False, next_step - hbt.current_timestamp)
            if rc == 1:
                break
            is_step = hbt.current_timestamp >= next_step
            if is_step:
                next_step += interval_ns
            counters[G_WAKES] += 1
        else:
            if hbt.elapse(interval_ns) != 0:
                break
            is_step = True
            next_step = hbt.current_timestamp + interval_ns
        if not is_step:
            hbt.clear_inactive_orders(asset_no)
            depth = hbt.depth(asset_no)
            position = hbt.position(asset_no) / order_qty
            orders = hbt.orders(asset_no)
            best_bid_tick = depth.best_bid_tick
            best_ask_tick = depth.best_ask_tick
            mid = (depth.best_bid + depth.best_ask) / 2.0
            cur_mid_tick = (best_bid_tick + best_ask_tick) / 2.0
            _glft_requote(hbt, asset_no, orders, cur_mid_tick, best_bid_tick, best_ask_tick,
                          tick_size, position, gamma, delta, adj1, adj2, A, k, volatility,
                          order_qty, max_position, grid_num, counters)
            continue
        counters[G_STEPS] += 1
        # Market order arrival depth from the previous step's mid.
        if not np.isnan(mid_price_tick):
            depth = -np.inf
            for last_trade in hbt.last_trades(asset_no):
                trade_price_tick = last_trade.px / tick_size
                if last_trade.ev & BUY_EVENT == BUY_EVENT:
                    depth = max(trade_price_tick - mid_price_tick, depth)
                else:
                    depth = max(mid_price_tick - trade_price_tick, depth)
            arrival_depth[t] = depth

        hbt.clear_last_trades(asset_no)
        hbt.clear_inactive_orders(asset_no)

        depth = hbt.depth(asset_no)
        position = hbt.position(asset_no) / order_qty
        orders = hbt.orders(asset_no)
        best_bid_tick = depth.best_bid_tick
        best_ask_tick = depth.best_ask_tick
        mid = (depth.best_bid + depth.best_ask) / 2.0

        prev_mid_price_tick = mid_price_tick
        mid_price_tick = (best_bid_tick + best_ask_tick) / 2.0
        mid_price_chg[t] = mid_price_tick - prev_mid_price_tick

        # Refit A, k and the volatility every update_every steps over the last window.
        if t % update_every == 0 and t >= window - 1:
            tmp[:] = 0
            lambda_ = measure_trading_intensity(arrival_depth[t + 1 - window : t + 1], tmp)
            counters[G_FITS] += 1
            if counters[G_FIRST_FIT_STEP] < 0:
                counters[G_FIRST_FIT_STEP] = t
            if len(lambda_) > 2:
                lambda_ = lambda_[:70] / window_s
                x = ticks[: len(lambda_)]
                y = np.log(lambda_)
                k_, logA = linear_regression(x, y)
                A = np.exp(logA)
                k = -k_
                if not np.isfinite(k):
                    counters[G_K_NONFINITE] += 1
                elif k <= 0.0:
                    counters[G_K_NONPOS] += 1
                if np.isfinite(k) and k < k_min[0]:
                    k_min[0] = k
            else:
                counters[G_FITS_SHORT] += 1
            volatility = np.nanstd(mid_price_chg[t + 1 - window : t + 1]) * np.sqrt(
                steps_per_s
            )

        _glft_requote(hbt, asset_no, orders, mid_price_tick, best_bid_tick, best_ask_tick,
                      tick_size, position, gamma, delta, adj1, adj2, A, k, volatility,
                      order_qty, max_position, grid_num, counters)

        t += 1
        if t >= steps_cap:
            raise Exception
        recorder.record(hbt)
    return mid


# ----------------------------------------------------------------------------------------
# Runs.


def _account(hbt: Any, mid: float) -> dict[str, Any]:
    """Fills, volume and marked equity from the backtest's state values (USDT, BTC)."""
    sv = hbt.state_values(0)
    position = float(sv.position)
    volume = float(sv.trading_volume)
    equity = float(sv.balance) + position * mid - float(sv.fee)
    return {
        "fills": int(sv.num_trades),
        "filled_qty": round(volume, 9),
        "buy_qty": round((volume + position) / 2.0, 9),
        "sell_qty": round((volume - position) / 2.0, 9),
        "final_position": round(position, 9),
        "trading_value": float(sv.trading_value),
        "balance": float(sv.balance),
        "fees": float(sv.fee),
        "mark_mid": mid,
        "pnl": equity if math.isfinite(equity) else None,
    }


def run_policy(
    policy: str, data: np.ndarray, cfg: PeerConfig, tutorial_buffers: bool = False,
    fills_out: Path | None = None,
) -> dict[str, Any]:
    """Run one policy over ``data`` on a fresh backtest; return the result record.

    ``fills_out``: the simple policy saves its fill log there (``.npy``, int64 rows of
    exchange ts ns, side, exec price tick, filled fraction x 1e9).
    """
    qty = cfg.order_lots * cfg.lot
    if policy in ("glft", "glft_feed"):
        hbt = build_backtest(data, cfg, last_trades=10_000)
        steps_cap = TUTORIAL_STEPS if tutorial_buffers else cfg.glft_steps
        n_records = TUTORIAL_RECORDS if tutorial_buffers else cfg.records
        t0 = time.perf_counter()
        # The Recorder's allocation is part of what the tutorial's buffer choice costs.
        recorder = Recorder(1, n_records)
        counters = np.zeros(11, np.int64)
        counters[G_FIRST_FIT_STEP] = -1
        k_min = np.array([np.inf])
        mid = glft_grid(
            hbt,
            recorder.recorder,
            cfg.interval_ns,
            steps_cap,
            cfg.glft_window_steps,
            cfg.glft_update_steps,
            cfg.glft_gamma,
            cfg.glft_delta,
            cfg.glft_adj1,
            cfg.glft_adj2,
            qty,
            cfg.glft_max_position,
            cfg.glft_grid_num,
            counters,
            k_min,
            policy == "glft_feed",
        )
        wall = time.perf_counter() - t0
        out: dict[str, Any] = {
            "steps": int(counters[G_STEPS]),
            "glft": {
                "window_steps": cfg.glft_window_steps,
                "update_steps": cfg.glft_update_steps,
                "steps_cap": steps_cap,
                "records": n_records,
                "on_feed": policy == "glft_feed",
                "wakes": int(counters[G_WAKES if policy == "glft_feed" else G_STEPS]),
                "fits": int(counters[G_FITS]),
                "first_fit_step": int(counters[G_FIRST_FIT_STEP]),
                "fits_too_few_bins": int(counters[G_FITS_SHORT]),
                "fits_k_nonpositive": int(counters[G_K_NONPOS]),
                "fits_k_nonfinite": int(counters[G_K_NONFINITE]),
                "k_min": float(k_min[0]) if math.isfinite(k_min[0]) else None,
                "requotes_nonfinite": int(counters[G_NONFINITE_QUOTES]),
                "requotes_finite": int(counters[G_QUOTED]),
                "submits": int(counters[G_SUBMITS]),
                "cancels": int(counters[G_CANCELS]),
                "gamma": cfg.glft_gamma,
                "adj1": cfg.glft_adj1,
                "adj2": cfg.glft_adj2,
                "grid_num": cfg.glft_grid_num,
                "max_position_orders": cfg.glft_max_position,
            },
        }
    elif policy == "simple":
        hbt = build_backtest(data, cfg, last_trades=0)
        counters = np.zeros(10, np.int64)
        fill_log = np.zeros((FILL_LOG_ROWS, 4), np.int64)
        max_pos = cfg.max_position_lots * cfg.lot
        t0 = time.perf_counter()
        mid = simple_policy(hbt, cfg.interval_ns, qty, max_pos, counters, fill_log)
        wall = time.perf_counter() - t0
        if fills_out is not None:
            n_logged = min(int(counters[N_FILLED]), FILL_LOG_ROWS)
            np.save(fills_out, fill_log[:n_logged])
        out = {
            "steps": int(counters[N_STEPS]),
            "simple": {
                "steps_skipped_no_book": int(counters[N_SKIPPED]),
                "submitted_bids": int(counters[N_SUBMIT_BID]),
                "submitted_asks": int(counters[N_SUBMIT_ASK]),
                "cancel_requests": int(counters[N_CANCEL]),
                "seen_filled": int(counters[N_FILLED]),
                "seen_expired_post_only": int(counters[N_EXPIRED]),
                "seen_canceled": int(counters[N_CANCELED]),
                "last_elapse_rc": int(counters[N_RC]),
                "first_wake_ts": int(counters[N_FIRST_WAKE]),
            },
        }
    elif policy in ("replay", "replay_feed"):
        hbt = build_backtest(data, cfg, last_trades=0)
        t0 = time.perf_counter()
        steps = replay_elapse(hbt, cfg.interval_ns) if policy == "replay" else replay_feed(hbt)
        wall = time.perf_counter() - t0
        depth = hbt.depth(0)
        mid = (depth.best_bid + depth.best_ask) / 2.0
        out = {"steps": int(steps)}
    else:
        raise ValueError(f"unknown policy {policy!r}")
    out.update(_account(hbt, mid))
    hbt.close()
    out["wall_s"] = wall
    return out


def _config_record(cfg: PeerConfig) -> dict[str, Any]:
    return {
        "tick": cfg.tick,
        "lot": cfg.lot,
        "order_qty": cfg.order_lots * cfg.lot,
        "max_position": cfg.max_position_lots * cfg.lot or None,
        "interval_ns": cfg.interval_ns,
        "entry_latency_ns": cfg.entry_latency_ns,
        "response_latency_ns": cfg.response_latency_ns,
        "maker_fee_bps": cfg.maker_fee_bps,
        "taker_fee_bps": cfg.taker_fee_bps,
        "queue_model": "RiskAdverseQueueModel",
        "exchange": "PartialFillExchange" if cfg.partial_fill else "NoPartialFillExchange",
        "depth": cfg.depth,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: one JSON line per (policy, repeat)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--policy", default="all",
                   help=f"all, or one or more of {', '.join(POLICIES)} separated by commas")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per policy")
    p.add_argument("--tick", type=float, default=0.1)
    p.add_argument("--lot", type=float, default=0.001)
    p.add_argument("--order-lots", type=int, default=1)
    p.add_argument("--max-position-lots", type=int, default=0, help="0 = unlimited")
    p.add_argument("--interval-ns", type=int, default=100_000_000)
    p.add_argument("--entry-latency-ns", type=int, default=10_000_000)
    p.add_argument("--response-latency-ns", type=int, default=10_000_000)
    p.add_argument("--maker-fee-bps", type=float, default=0.0)
    p.add_argument("--taker-fee-bps", type=float, default=5.0)
    # PartialFillExchange stops with error 14 after ~24 s of this sample under the simple
    # policy; for 1-lot orders its fill rules equal NoPartialFillExchange's.
    p.add_argument("--partial-fill", action="store_true")
    p.add_argument("--depth", choices=("hashmap", "roivec"), default="hashmap")
    p.add_argument("--roi-lb", type=float, default=0.0)
    p.add_argument("--roi-ub", type=float, default=200_000.0)
    p.add_argument("--records", type=int, default=100_000, help="GLFT Recorder capacity")
    p.add_argument("--glft-steps", type=int, default=100_000, help="GLFT rolling-array length")
    p.add_argument(
        "--tutorial-buffers",
        action="store_true",
        help="GLFT with the tutorial's 10M-step arrays and 5M-record Recorder",
    )
    p.add_argument("--fills-out", type=Path, default=None,
                   help="simple policy: save the fill log of the first repeat (.npy)")
    p.add_argument("--glft-window-steps", type=int, default=600, help="tutorial: 6000")
    p.add_argument("--glft-update-steps", type=int, default=50)
    p.add_argument("--glft-gamma", type=float, default=0.05)
    p.add_argument("--glft-adj1", type=float, default=1.0)
    p.add_argument("--glft-adj2", type=float, default=0.05)
    p.add_argument("--glft-grid-num", type=int, default=20)
    p.add_argument("--glft-max-position", type=float, default=20.0, help="in orders")
    args = p.parse_args(argv)

    cfg = PeerConfig(
        tick=args.tick,
        lot=args.lot,
        order_lots=args.order_lots,
        max_position_lots=args.max_position_lots,
        interval_ns=args.interval_ns,
        entry_latency_ns=args.entry_latency_ns,
        response_latency_ns=args.response_latency_ns,
        maker_fee_bps=args.maker_fee_bps,
        taker_fee_bps=args.taker_fee_bps,
        partial_fill=args.partial_fill,
        depth=args.depth,
        roi_lb=args.roi_lb,
        roi_ub=args.roi_ub,
        records=args.records,
        glft_steps=args.glft_steps,
        glft_window_steps=args.glft_window_steps,
        glft_update_steps=args.glft_update_steps,
        glft_gamma=args.glft_gamma,
        glft_adj1=args.glft_adj1,
        glft_adj2=args.glft_adj2,
        glft_grid_num=args.glft_grid_num,
        glft_max_position=args.glft_max_position,
    )
    with np.load(args.data) as npz:
        data = np.ascontiguousarray(npz["data"])
    events = int(np.sum((data["ev"] & np.uint64(EXCH_EVENT)) != 0))
    policies = POLICIES if args.policy == "all" else tuple(args.policy.split(","))
    unknown = [name for name in policies if name not in POLICIES]
    if unknown:
        p.error(f"unknown policy {', '.join(unknown)}; choose from {', '.join(POLICIES)}")
    warm = np.ascontiguousarray(data[:WARMUP_ROWS])
    for policy in policies:
        run_policy(policy, warm, cfg, tutorial_buffers=False)  # numba compile
        for rep in range(args.repeats):
            res = run_policy(policy, data, cfg, tutorial_buffers=args.tutorial_buffers,
                             fills_out=args.fills_out if rep == 0 else None)
            wall = res.pop("wall_s")
            record = {
                "engine": "hftbacktest",
                "policy": policy,
                "repeat": rep,
                "data": str(args.data),
                "events": events,
                "rows": len(data),
                "wall_s": round(wall, 6),
                "events_per_s": round(events / wall),
                "rows_per_s": round(len(data) / wall),
                "tutorial_buffers": (
                    bool(args.tutorial_buffers) if policy.startswith("glft") else None
                ),
                **res,
                "config": _config_record(cfg),
            }
            print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

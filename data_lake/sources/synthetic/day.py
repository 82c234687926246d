"""One synthetic symbol-day: prices, orders, book, funding, and the truth document.

Pipeline for a day: correlated Heston diffusion and jumps -> Hawkes orders with sizes,
depths and informed flags -> informed ramps and the imbalance signal -> efficient price
-> tick quotes -> book loop (sweeps, depletion, refill, snapshots, bbo) -> lake rows ->
planted truth plus realised statistics.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from data_lake.sources.synthetic.book import book_layout, run_book
from data_lake.sources.synthetic.config import MarketConfig, SymbolConfig
from data_lake.sources.synthetic.defaults import DEFAULT_MARKET
from data_lake.sources.synthetic.flow import (
    OrderFlow,
    hawkes_expectation,
    sample_orders,
    simulate_hawkes,
)
from data_lake.sources.synthetic.funding import simulate_funding
from data_lake.sources.synthetic.price import (
    correlated_driver,
    exclusive_cumsum,
    informed_increments,
    quote_bid_ticks,
    signal_level_bps,
    simulate_heston,
    simulate_jumps,
    stream_rng,
)
from data_lake.sources.synthetic.quoting_truth import quoting_truth
from data_lake.sources.synthetic.realised import realised_summary
from data_lake.sources.synthetic.tables import (
    BookSnapshots,
    bbo_table,
    decimals_of,
    funding_table,
    price_of,
    trades_table,
)
from data_lake.sources.synthetic.truth import planted_truth

__all__ = ["MAX_DEPTH_BPS", "SymbolDay", "SymbolState", "generate_symbol_day"]

MAX_DEPTH_BPS = 2_000.0  # price band: a sweep never walks more than 20 % from the mid
_EPOCH = dt.date(1970, 1, 1)
_NS = 1_000_000_000


@dataclass(frozen=True)
class SymbolState:
    """What one day hands the next: efficient price, annualised variance, funding rate."""

    price: float
    variance: float
    funding_rate: float

    @classmethod
    def initial(cls, cfg: SymbolConfig) -> SymbolState:
        return cls(cfg.price0, cfg.heston.initial_variance, cfg.funding.theta)


@dataclass(frozen=True)
class SymbolDay:
    """One simulated symbol-day: the lake rows, the truth document and the planted arrays.

    ``orders`` and ``mid`` (published mid per price step) are kept for self-checks.
    """

    symbol: str
    date: dt.date
    seed: int
    tables: dict[str, pa.Table]  # trades, bbo, funding
    book: BookSnapshots
    truth: dict[str, Any]
    end_state: SymbolState
    orders: OrderFlow
    mid: np.ndarray
    integrated_variance: float  # int v dt over the window, annualised variance x years

    @property
    def rows(self) -> dict[str, int]:
        rows = {name: t.num_rows for name, t in self.tables.items()}
        rows["book"] = self.book.n
        return {name: rows[name] for name in ("trades", "book", "bbo", "funding")}

    def table(self, name: str) -> pa.Table:
        """The rows of one lake table (the book is assembled from its snapshot arrays)."""
        return self.book.table() if name == "book" else self.tables[name]


def _day_start_ns(date: dt.date) -> int:
    return (date - _EPOCH).days * 86_400 * _NS


def _strictly_increasing(ts: np.ndarray) -> np.ndarray:
    """Bump equal nanosecond stamps forward so that every order has its own timestamp."""
    idx = np.arange(ts.size, dtype=np.int64)
    return np.maximum.accumulate(ts - idx) + idx


def generate_symbol_day(
    symbol: str,
    date: dt.date,
    *,
    seed: int,
    market: MarketConfig = DEFAULT_MARKET,
    state: SymbolState | None = None,
    duration_s: float = 86_400.0,
) -> SymbolDay:
    """Simulate one symbol-day of the synthetic market.

    Parameters
    ----------
    symbol : a symbol of ``market``.
    date : the UTC day; rows are stamped from its midnight.
    seed : non-negative run seed.
    market : the planted configuration.
    state : start-of-day state (None = the configured initial state).
    duration_s : simulated window from midnight, seconds (tests use short windows).

    Returns
    -------
    SymbolDay with trades/book/bbo/funding tables and the truth document.
    """
    cfg = market.symbol(symbol)
    book = cfg.book
    state = state or SymbolState.initial(cfg)
    step_s = market.step_s
    step_ns = round(step_s * _NS)
    n_steps = round(duration_s / step_s)
    steps_per_snap = round(book.snapshot_interval_s / step_s)
    horizon_steps = round(book.imbalance_horizon_s / step_s)
    day = date.toordinal()
    day_start = _day_start_ns(date)
    end_ns = day_start + n_steps * step_ns

    def rng(stream: str) -> np.random.Generator:
        return stream_rng(seed, symbol, day, stream)

    # Diffusion and jumps.
    zx = correlated_driver(market, symbol, seed, day, n_steps)
    d_incr, variance, v_end = simulate_heston(
        zx, rng("variance"), cfg.heston, state.variance, step_s
    )
    del zx
    j_incr, _, jump_bps = simulate_jumps(rng("jumps"), cfg.jumps, n_steps, step_s)

    # Orders.
    times_s, kind = simulate_hawkes(rng("orders"), cfg.hawkes, n_steps * step_s)
    order_ts = _strictly_increasing(day_start + (times_s * _NS).astype(np.int64))
    order_ts = np.minimum(order_ts, end_ns - 1)
    flow = sample_orders(
        rng("order_marks"),
        (order_ts - day_start) / _NS,
        kind,
        sizes=cfg.sizes,
        depth=cfg.depth,
        size_depth_corr=cfg.size_depth_corr,
        informed=cfg.informed,
    )
    order_step = (order_ts - day_start) // step_ns
    f_incr = informed_increments(
        order_step, flow.side, flow.informed, cfg.informed, n_steps, step_s
    )

    # Touch sizes at each snapshot (i.i.d.) and the imbalance signal they carry.
    n_snap = (n_steps + steps_per_snap - 1) // steps_per_snap
    lot_dec = decimals_of(book.lot_size)
    book_rng = rng("book")
    touch = book.touch_size * np.exp(book.touch_sigma * book_rng.standard_normal((2, n_snap)))
    touch = np.maximum(np.round(touch, lot_dec), book.lot_size)
    imbalance = (touch[0] - touch[1]) / (touch[0] + touch[1])
    signal = signal_level_bps(
        imbalance,
        book.imbalance_coef_bps,
        steps_per_snap,
        horizon_steps,
        book.imbalance_decay_s / step_s,
        n_steps,
    )

    # Efficient price and quotes.
    d_level = exclusive_cumsum(d_incr)
    j_level = exclusive_cumsum(j_incr)
    f_level = exclusive_cumsum(f_incr)
    log_x = math.log(state.price) + d_level + j_level + f_level + signal * 1e-4
    bid_ticks = quote_bid_ticks(np.exp(log_x), book.tick_size, book.spread_ticks)
    mid = (bid_ticks + book.spread_ticks / 2.0) * book.tick_size
    end_price = state.price * math.exp(float(d_incr.sum() + j_incr.sum() + f_incr.sum()))

    # Where each order's deepest print lands (tick nearest the planted depth, price band).
    depth = np.minimum(flow.depth_bps, MAX_DEPTH_BPS)
    order_mid = mid[order_step]
    buy = flow.side > 0
    target = np.rint(order_mid * (1.0 + flow.side * depth * 1e-4) / book.tick_size).astype(np.int64)
    bid_at = bid_ticks[order_step]
    final_tick = np.where(
        buy, np.maximum(target, bid_at + book.spread_ticks), np.minimum(target, bid_at)
    )
    layout = book_layout(book, cfg.depth, cfg.sizes, state.price)
    run = run_book(
        bid_ticks=bid_ticks,
        book=book,
        layout=layout,
        steps_per_snapshot=steps_per_snap,
        step_s=step_s,
        day_start_ns=day_start,
        touch_bid=touch[0],
        touch_ask=touch[1],
        order_step=order_step,
        order_ts=order_ts,
        order_side=flow.side,
        order_final_tick=final_tick,
        order_size=flow.size,
    )

    # Rows.
    lat_rng = rng("latency")
    latency_ns = cfg.latency_ms * 1e6

    def recv(ts: np.ndarray) -> np.ndarray:
        return ts + (lat_rng.exponential(latency_ns, ts.size)).astype(np.int64)

    date_number = date.year * 10_000 + date.month * 100 + date.day
    tables: dict[str, pa.Table] = {}
    tables["trades"] = trades_table(
        ts=run.trade_ts,
        price=price_of(run.trade_tick, book.tick_size),
        size=np.round(run.trade_size, lot_dec),
        side=run.trade_side,
        date_number=date_number,
        recv_ts=recv(run.trade_ts),
    )
    snap_steps = np.arange(n_snap, dtype=np.int64) * steps_per_snap
    snap_ts = day_start + snap_steps * step_ns
    snapshots = BookSnapshots(
        ts=snap_ts,
        seq=run.snap_seq,
        recv_ts=recv(snap_ts),
        best_bid_ticks=bid_ticks[snap_steps],
        offsets_ticks=layout.offsets_ticks,
        spread_ticks=book.spread_ticks,
        tick_size=book.tick_size,
        bid_sz=np.round(run.snap_bid_sz, lot_dec, out=run.snap_bid_sz),
        ask_sz=np.round(run.snap_ask_sz, lot_dec, out=run.snap_ask_sz),
    )
    tables["bbo"] = bbo_table(
        ts=run.bbo_ts,
        seq=run.bbo_seq,
        bid_px=price_of(run.bbo_bid_tick, book.tick_size),
        bid_sz=np.round(run.bbo_bid_sz, lot_dec),
        ask_px=price_of(run.bbo_ask_tick, book.tick_size),
        ask_sz=np.round(run.bbo_ask_sz, lot_dec),
        recv_ts=recv(run.bbo_ts),
    )
    funding = simulate_funding(rng("funding"), cfg.funding, state.funding_rate, n_steps * step_s)
    f_steps = np.minimum((funding.offsets_s / step_s).astype(np.int64), n_steps - 1)
    f_ts = day_start + f_steps * step_ns
    noise = rng("funding_prices").standard_normal((2, f_ts.size))
    mark = mid[f_steps] * np.exp(cfg.funding.mark_noise_bps * 1e-4 * noise[0])
    oracle = mid[f_steps] * np.exp(cfg.funding.oracle_noise_bps * 1e-4 * noise[1])
    tables["funding"] = funding_table(
        ts=f_ts,
        rate=funding.rate,
        interval_s=cfg.funding.interval_s,
        mark_px=price_of(np.rint(mark / book.tick_size), book.tick_size),
        oracle_px=price_of(np.rint(oracle / book.tick_size), book.tick_size),
        recv_ts=recv(f_ts),
    )

    # Ground truth: planted parameters, then what this day realised.
    hawkes_exp = hawkes_expectation(cfg.hawkes, n_steps * step_s)
    truth = planted_truth(
        market=market,
        cfg=cfg,
        date=date,
        seed=seed,
        duration_s=n_steps * step_s,
        start_price=state.price,
        start_variance=state.variance,
        start_funding_rate=state.funding_rate,
        hawkes=hawkes_exp,
        layout={
            "level_offsets_ticks": [int(x) for x in layout.offsets_ticks],
            "level_depths_bps": [float(x) for x in layout.depths_bps],
            "level_target_sizes": [float(x) for x in layout.target_sizes],
        },
    )
    iv = float(variance.sum() * step_s / (365 * 86_400))
    truth["realised"] = realised_summary(
        flow=flow,
        order_step=order_step,
        mid=mid,
        step_s=step_s,
        levels={
            "diffusion": d_level,
            "jumps": j_level,
            "informed": f_level,
            "signal": signal * 1e-4,
        },
        log_x=log_x,
        integrated_variance=iv,
        jump_bps=jump_bps,
        n_clipped=int(np.sum(flow.depth_bps > MAX_DEPTH_BPS)),
        prints_per_order=np.bincount(run.trade_order, minlength=flow.n),
        imbalance=imbalance,
        snap_steps=snap_steps,
        horizon_steps=horizon_steps,
        funding_rate=funding.rate,
        rows={**{name: t.num_rows for name, t in tables.items()}, "book": snapshots.n},
        informed=cfg.informed,
        variance=variance,
    )
    truth["quoting"] = quoting_truth(truth)  # every quoting field's truth, planted or derived
    end_state = SymbolState(price=end_price, variance=v_end, funding_rate=funding.rate_end)
    return SymbolDay(
        symbol=symbol,
        date=date,
        seed=seed,
        tables=tables,
        book=snapshots,
        truth=truth,
        end_state=end_state,
        orders=flow,
        mid=mid,
        integrated_variance=iv,
    )

"""The touch policy on the real Binance BTCUSDT sample: invariants of our own figures.

The configuration of the hftbacktest cross-check (bench/crosscheck_hftbacktest.py):
one lot at the best bid and ask, post-only, every 100 ms, recorded feed latency,
10 ms + 10 ms order latency, risk-averse queue, trades and book rows (no bookTicker).
The peer's numbers live in bench/peer_hftbacktest/README.md, not here: these tests pin
what must hold of any correct run of ours.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from data_lake.lake import Lake
from trader.sim import BacktestConfig, BacktestResult, EventStream, events_from_tables, run_backtest
from trader.sim.backtest import recorded_feed_latency
from trader.sim.config import LATENCY_RECORDED_FEED, TIF_ALO
from trader.sim.events import KIND_BOOK, KIND_TRADE
from trader.strategy.simple import simple_params, touch_quote

SYMBOL = "BTCUSDT"
WINDOW = (1_723_075_200_000_000_000, 1_723_248_000_000_000_000)  # 2024-08-08 .. 08-10
TICK = 0.1
LOT = 0.001
MS = 1_000_000


@pytest.fixture(scope="module")
def events(real_lake: Lake) -> EventStream:
    def read(name: str):
        return real_lake.read(name, symbol=SYMBOL, venue="binance", start_ns=WINDOW[0],
                              end_ns=WINDOW[1])

    return events_from_tables(read("trades"), read("book"), None, None)


def config(maker_fee_bps: float = 0.0) -> BacktestConfig:
    return BacktestConfig(
        tick=TICK, lot=LOT, max_modify_ticks=0.0, tif=TIF_ALO, maker_fee_bps=maker_fee_bps,
        taker_fee_bps=5.0, latency_mode=LATENCY_RECORDED_FEED, entry_latency_ns=10 * MS,
        response_latency_ns=10 * MS, requote_on_book=False, requote_interval_ns=100 * MS,
        requote_phase_ns=98 * MS,
    )


@pytest.fixture(scope="module")
def result(events: EventStream) -> BacktestResult:
    return run_backtest(events, touch_quote, simple_params(LOT), config())


def test_the_sample_trades_enough_for_the_invariants_to_bite(result):
    assert result.n_fills > 100
    assert result.fill_side.min() == -1 and result.fill_side.max() == 1


def test_every_fill_is_one_whole_lot_at_a_tick_as_a_maker(result):
    assert np.all(np.abs(result.fill_qty - LOT) < 1e-12)
    ticks = result.fill_px / TICK
    assert np.all(np.abs(ticks - np.round(ticks)) < 1e-6)
    assert result.fill_maker.all()
    assert np.all(result.fill_fee == 0.0)


def test_position_and_volume_are_the_sums_of_the_fills(result):
    assert result.final_position == pytest.approx(float(np.sum(result.fill_side * result.fill_qty)),
                                                  abs=1e-12)
    assert result.filled_qty == pytest.approx(float(np.sum(result.fill_qty)), abs=1e-12)
    assert result.n_fills <= result.orders_sent


def test_pnl_is_cash_plus_marked_position_and_its_parts_sum_to_it(result):
    att = result.attribution
    assert att.total == pytest.approx(result.final_cash + result.final_position * result.final_mid,
                                      abs=1e-9)
    assert abs(att.parts_sum - att.total) <= 1e-9 * max(1.0, abs(att.total))
    assert att.fees == 0.0 and att.funding == 0.0


def test_every_fill_has_a_trade_at_or_through_its_price_or_a_book_crossing_it(events, result):
    # Risk-averse fill rules: a fill at exchange time t needs, at t, an opposite-side
    # trade at or through our price, or a book row whose far touch reached our price.
    ts = events.ts_ns
    for t, side, px in zip(result.fill_ts_ns, result.fill_side, result.fill_px, strict=True):
        at = np.arange(np.searchsorted(ts, t), np.searchsorted(ts, t, side="right"))
        assert at.size, f"fill at {t} has no event at that exchange time"
        trades = at[events.kind[at] == KIND_TRADE]
        books = at[events.kind[at] == KIND_BOOK]
        if side > 0:
            by_trade = np.any((events.side[trades] < 0) & (events.price[trades] < px + TICK / 2))
            by_book = np.any(events.ask_px[events.level_row[books], 0] < px + TICK / 2)
        else:
            by_trade = np.any((events.side[trades] > 0) & (events.price[trades] > px - TICK / 2))
            by_book = np.any(events.bid_px[events.level_row[books], 0] > px - TICK / 2)
        assert by_trade or by_book, f"fill at {t} side {side} px {px} has no cause"


def test_no_fill_before_the_first_quote_could_reach_the_venue(events, result):
    lat = recorded_feed_latency(events)
    first_book = int(np.flatnonzero(events.kind == KIND_BOOK)[0])
    seen = int(events.ts_ns[first_book] + lat[first_book])
    # The first timer firing at or after the first book reaches us (phase 98 ms).
    first_timer = -(-(seen - 98 * MS) // (100 * MS)) * (100 * MS) + 98 * MS
    assert result.fill_ts_ns.min() >= first_timer + 10 * MS


def test_recorded_feed_latency_removes_the_recorders_clock_offset(events):
    # The recorder's clock runs about 1.27 s behind Binance: raw recv_ts - ts < 0.
    raw = events.recv_ts_ns - events.ts_ns
    assert raw.max() < -1_000_000_000
    lat = recorded_feed_latency(events)
    assert lat.min() == 0
    assert 1 * MS < np.median(lat) < 20 * MS


def test_a_rerun_gives_the_same_fills(events, result):
    again = run_backtest(events, touch_quote, simple_params(LOT), config())
    assert np.array_equal(again.fill_ts_ns, result.fill_ts_ns)
    assert np.array_equal(again.fill_px, result.fill_px)
    assert again.attribution.total == result.attribution.total


def test_a_maker_fee_charges_its_rate_on_the_traded_value_and_nothing_else(events, result):
    fee_bps = 2.0
    charged = run_backtest(events, touch_quote, simple_params(LOT), config(fee_bps))
    assert np.array_equal(charged.fill_ts_ns, result.fill_ts_ns)
    traded = math.fsum(charged.fill_px * charged.fill_qty)
    assert -charged.attribution.fees == pytest.approx(traded * fee_bps * 1e-4, rel=1e-12)
    assert charged.attribution.total == pytest.approx(
        result.attribution.total - traded * fee_bps * 1e-4, abs=1e-9)

"""Venue rules found by the hftbacktest cross-check, on hand-made event sequences:
whole-lot fills, prices compared within half a tick, the recorder's clock offset and
the requote timer's phase; the bbo merge made O(1) for the benchmark."""

import math

import numpy as np
import pyarrow as pa
import pytest

from trader.sim import BacktestConfig, events_from_tables, run_backtest
from trader.sim.backtest import recorded_feed_latency
from trader.sim.config import LATENCY_RECORDED_FEED
from trader.sim.exchange import _merge_top
from trader.sim.queue import queue_after_trade
from trader.strategy.simple import simple_params, touch_quote

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def bbo(rows, recv_shift_ns=0):
    """rows: (t_ms, bid_px, bid_sz, ask_px, ask_sz); recv_ts = ts + recv_shift_ns."""
    ts = [T0 + r[0] * MS for r in rows]
    return pa.table({"ts": ts, "seq": list(range(len(rows))), "bid_px": [r[1] for r in rows],
                     "bid_sz": [r[2] for r in rows], "ask_px": [r[3] for r in rows],
                     "ask_sz": [r[4] for r in rows], "recv_ts": [t + recv_shift_ns for t in ts]})


def trades(rows):
    """rows: (t_ms, price, size, side)."""
    ts = [T0 + r[0] * MS for r in rows]
    return pa.table({"ts": ts, "price": [float(r[1]) for r in rows],
                     "size": [float(r[2]) for r in rows], "side": [r[3] for r in rows],
                     "trade_id": [str(i) for i in range(len(rows))], "recv_ts": ts})


def touch_config(**kw):
    base = dict(tick=0.1, lot=0.001, max_modify_ticks=0.0, requote_on_book=False,
                requote_interval_ns=100 * MS)
    base.update(kw)
    return BacktestConfig(**base)


@pytest.mark.parametrize("queue, trades_qty", [
    (0.009, (0.002, 0.007)),  # 0.009 - 0.002 - 0.007 = -8.7e-19 in float64
    (0.009, (0.004, 0.005)),
    (0.7, (0.3, 0.4)),  # -5.6e-17
])
def test_float_residue_of_lot_sized_trades_is_not_a_fill(queue, trades_qty):
    q = queue
    for qty in trades_qty:
        q, fill = queue_after_trade(q, qty, 0.001)
        assert fill == 0.0
    assert abs(q) < 1e-12


def test_a_reach_short_of_a_lot_is_carried_until_it_makes_one():
    # lot 1: 0.4 then 0.4 beyond the queue fill nothing; the third 0.4 makes the lot.
    q, fill = queue_after_trade(2.0, 2.4, 1.0)
    assert (fill, q) == (0.0, pytest.approx(-0.4))
    q, fill = queue_after_trade(q, 0.4, 1.0)
    assert fill == 0.0
    q, fill = queue_after_trade(q, 0.4, 1.0)
    assert fill == 1.0
    assert q == pytest.approx(-0.2)


def test_whole_lots_fill_from_the_front_of_the_queue():
    q, fill = queue_after_trade(0.004, 0.007, 0.001)
    assert fill == pytest.approx(0.003)
    assert q == pytest.approx(0.0, abs=1e-12)


def test_lot_sized_trades_at_the_touch_fill_only_whole_lots_on_the_tape():
    # We join the bid behind 0.009 BTC; sells of 0.002 + 0.007 exactly consume it (in
    # float64 they overshoot by 8.7e-19: no fill), the next 0.001 sell fills our lot.
    book = [(0, 61700.0, 0.009, 61700.1, 1.0)]
    tape = [(20, 61700.0, 0.002, -1), (30, 61700.0, 0.007, -1), (40, 61700.0, 0.001, -1)]
    events = events_from_tables(trades(tape), None, bbo(book), None)
    res = run_backtest(events, touch_quote, simple_params(0.001),
                       touch_config(requote_phase_ns=5 * MS))
    assert res.fill_qty.tolist() == [0.001]
    assert res.fill_ts_ns.tolist() == [T0 + 40 * MS]


def test_book_crossing_a_tick_rounded_price_fills_it():
    # Our ask is 617001 * 0.1 = 61700.100000000006 after rounding to the tick; a bid
    # moving up to 61700.1 meets it (CROSS_FILL), not only a trade through it later.
    book = [(0, 61700.0, 1.0, 61700.1, 1.0), (50, 61700.1, 1.0, 61700.2, 1.0)]
    tape = [(60, 61700.2, 0.5, 1)]
    events = events_from_tables(trades(tape), None, bbo(book), None)
    res = run_backtest(events, touch_quote, simple_params(0.001),
                       touch_config(requote_phase_ns=5 * MS))
    sells = res.fill_ts_ns[res.fill_side < 0]
    assert sells.tolist() == [T0 + 50 * MS]


def test_post_only_at_a_tick_rounded_price_equal_to_the_far_touch_is_rejected():
    # The timer at 5 ms quotes 61700.0 / 61700.1 (the ask rounds up to
    # 61700.100000000006); both arrive at 15 ms, after the bid moved up to 61700.1 at
    # 12 ms: the post-only ask equals the bid and is refused, the bid rests.
    book = [(0, 61700.0, 1.0, 61700.1, 1.0), (12, 61700.1, 1.0, 61700.2, 1.0),
            (50, 61700.1, 1.0, 61700.2, 1.0)]  # the replay ends at the last event
    events = events_from_tables(None, None, bbo(book), None)
    res = run_backtest(events, touch_quote, simple_params(0.001),
                       touch_config(entry_latency_ns=10 * MS, requote_phase_ns=5 * MS))
    assert res.n_fills == 0
    assert res.rejects == 1


def test_recorded_feed_latency_removes_the_recorder_clock_offset():
    # The recorder's clock runs 1.3 s behind: recv_ts - ts is about -1.3 s.
    book = [(0, 100.0, 1.0, 100.2, 1.0), (10, 100.0, 1.0, 100.2, 1.0)]
    recv = [T0 - 1_300_000_000 + 2 * MS, T0 + 10 * MS - 1_300_000_000 + 7 * MS]
    table = bbo(book).set_column(6, "recv_ts", pa.array(recv))
    events = events_from_tables(None, None, table, None)
    assert recorded_feed_latency(events).tolist() == [0, 5 * MS]


def test_recorded_feed_latency_keeps_latencies_that_are_already_non_negative():
    book = [(0, 100.0, 1.0, 100.2, 1.0), (10, 100.0, 1.0, 100.2, 1.0)]
    events = events_from_tables(None, None, bbo(book, recv_shift_ns=3 * MS), None)
    assert recorded_feed_latency(events).tolist() == [3 * MS, 3 * MS]


def test_recorded_feed_mode_delays_the_book_but_not_the_orders():
    # Book at 0 ms seen at 40 ms (recorded), the timer fires at 50 ms, the bid arrives at
    # 60 ms (constant entry latency, not the 40 ms feed latency on top), a sell through
    # at 65 ms fills it. With LATENCY_RECORDED the bid would arrive at 100 ms.
    book = bbo([(0, 100.0, 1.0, 100.2, 1.0)], recv_shift_ns=40 * MS)
    events = events_from_tables(trades([(65, 99.9, 1.0, -1), (200, 100.3, 1.0, 1)]), None,
                                book, None)
    cfg = dict(tick=0.1, lot=1.0, requote_on_book=False, requote_interval_ns=50 * MS,
               entry_latency_ns=10 * MS, response_latency_ns=10 * MS)
    res = run_backtest(events, touch_quote, simple_params(1.0),
                       BacktestConfig(latency_mode=LATENCY_RECORDED_FEED, **cfg))
    assert res.fill_ts_ns.tolist()[:1] == [T0 + 65 * MS]


@pytest.mark.parametrize("phase_ms, first_fill_ms", [(0, None), (30, 50)])
def test_requote_timer_phase_sets_when_quotes_go_out(phase_ms, first_fill_ms):
    # Timer every 100 ms: phase 0 fires at 100 ms (order at 110 ms, after the sell at
    # 50 ms); phase 30 fires at 30 ms (order at 40 ms, before it).
    book = [(0, 100.0, 0.0, 100.2, 1.0), (150, 100.0, 0.0, 100.2, 1.0)]
    events = events_from_tables(trades([(50, 100.0, 1.0, -1)]), None, bbo(book), None)
    res = run_backtest(events, touch_quote, simple_params(1.0),
                       BacktestConfig(tick=0.1, lot=1.0, requote_on_book=False,
                                      requote_interval_ns=100 * MS,
                                      requote_phase_ns=phase_ms * MS,
                                      entry_latency_ns=10 * MS))
    expected = [] if first_fill_ms is None else [T0 + first_fill_ms * MS]
    assert res.fill_ts_ns.tolist() == expected


def test_requote_phase_must_lie_inside_the_interval():
    with pytest.raises(ValueError, match="requote_phase_ns"):
        BacktestConfig(tick=0.1, lot=1.0, requote_interval_ns=100 * MS,
                       requote_phase_ns=100 * MS)


def test_touch_quote_quotes_nothing_on_a_crossed_or_one_sided_book():
    state = np.full(16, np.nan)
    out = np.zeros(4)
    state[2], state[3] = 100.0, 100.0  # locked
    touch_quote(state, simple_params(1.0), out)
    assert out[1] == 0.0 and out[3] == 0.0
    state[2], state[3] = 99.9, np.nan
    touch_quote(state, simple_params(1.0), out)
    assert out[1] == 0.0 and out[3] == 0.0
    state[3] = 100.0
    touch_quote(state, simple_params(2.0), out)
    assert out.tolist() == [99.9, 2.0, 100.0, 2.0]
    with pytest.raises(ValueError, match="order_size"):
        simple_params(0.0)


def _merge_reference(levels, top_px, top_sz, bid, depth):
    """The bbo rule in plain Python: the new top, then the old levels worse than it."""
    worse = [(p, s) for p, s in levels if (p < top_px if bid else p > top_px)]
    merged = [(top_px, top_sz), *worse][:depth]
    return merged + [(math.nan, 0.0)] * (depth - len(merged))


@pytest.mark.parametrize("seed", range(5))
def test_bbo_merge_keeps_the_levels_worse_than_the_new_top(seed):
    rng = np.random.default_rng(seed)
    depth = 6
    for _ in range(200):
        bid = bool(rng.integers(2))
        n = int(rng.integers(0, depth + 1))
        step = -1.0 if bid else 1.0
        prices = 100.0 + step * np.sort(rng.choice(np.arange(12), n, replace=False))
        levels = [(float(p), float(rng.integers(1, 9))) for p in prices]
        book = np.full((4, depth), np.nan)
        book[1] = 0.0
        book[3] = 0.0
        row = 0 if bid else 2
        for i, (p, sz) in enumerate(levels):
            book[row, i], book[row + 1, i] = p, sz
        top_px = 100.0 + step * float(rng.integers(-2, 13))
        _merge_top(book, row, top_px, 7.0)
        want = _merge_reference(levels, top_px, 7.0, bid, depth)
        got = list(zip(book[row].tolist(), book[row + 1].tolist(), strict=True))
        assert [(p if not math.isnan(p) else "nan", s) for p, s in got] == [
            (p if not math.isnan(p) else "nan", s) for p, s in want]

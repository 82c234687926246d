"""The simulated venue on hand-made event sequences."""

import math

import numpy as np
import pyarrow as pa
import pytest
from numba import njit

from trader.market_state import (
    OUT_ASK_PX,
    OUT_ASK_SZ,
    OUT_BID_PX,
    OUT_BID_SZ,
    S_BEST_ASK,
    S_BEST_BID,
)
from trader.sim import BacktestConfig, events_from_tables, run_backtest
from trader.sim.config import QUEUE_PROB_POWER, STP_REJECT_NEW, TIF_ALO, TIF_GTC, TIF_IOC
from trader.sim.events import BBO_ASK_PX, BBO_ASK_SZ, BBO_BID_PX, BBO_BID_SZ, KIND_BBO, KIND_BOOK
from trader.sim.queue import queue_after_depth_change

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


@njit(cache=True)
def fixed_quotes(state, params, out):
    out[OUT_BID_PX] = params[0]
    out[OUT_BID_SZ] = params[1]
    out[OUT_ASK_PX] = params[2]
    out[OUT_ASK_SZ] = params[3]


@njit(cache=True)
def touch_quotes(state, params, out):
    out[OUT_BID_PX] = state[S_BEST_BID]
    out[OUT_BID_SZ] = params[0]
    out[OUT_ASK_PX] = state[S_BEST_ASK]
    out[OUT_ASK_SZ] = params[0]


def bbo(rows):
    """rows: (t_ms, bid_px, bid_sz, ask_px, ask_sz)."""
    ts = [T0 + r[0] * MS for r in rows]
    return pa.table({"ts": ts, "seq": list(range(len(rows))), "bid_px": [r[1] for r in rows],
                     "bid_sz": [r[2] for r in rows], "ask_px": [r[3] for r in rows],
                     "ask_sz": [r[4] for r in rows], "recv_ts": ts})


def trades(rows):
    """rows: (t_ms, price, size, side)."""
    ts = [T0 + r[0] * MS for r in rows]
    return pa.table({"ts": ts, "price": [float(r[1]) for r in rows],
                     "size": [float(r[2]) for r in rows], "side": [r[3] for r in rows],
                     "trade_id": [str(i) for i in range(len(rows))], "recv_ts": ts})


def run(book_rows, trade_rows, quote, funding=None, **cfg):
    events = events_from_tables(trades(trade_rows) if trade_rows else None, None,
                                bbo(book_rows), funding)
    config = BacktestConfig(**{"tick": 1.0, "lot": 1.0, **cfg})
    return run_backtest(events, fixed_quotes, np.array(quote, dtype=float), config)


NO_ASK = [np.nan, 0.0]


def test_risk_averse_queue_is_depleted_exactly_by_trades_at_the_level():
    # We join behind 5 lots at the bid; 3 + 3 sold into the bid leave 1 for us.
    res = run([(0, 100, 5, 101, 5)], [(10, 100, 3, -1), (20, 100, 3, -1)], [100, 2, *NO_ASK])
    assert res.n_fills == 1
    assert res.fill_qty[0] == 1.0
    assert res.fill_px[0] == 100.0
    assert res.final_position == 1.0


def test_trade_through_fills_resting_order_fully():
    res = run([(0, 100, 50, 101, 5)], [(10, 99, 0.5, -1)], [100, 2, *NO_ASK])
    assert res.fill_qty.tolist() == [2.0]
    assert res.fill_px.tolist() == [100.0]


def test_partial_fill_leaves_the_rest_resting():
    res = run([(0, 100, 0, 101, 5)], [(10, 100, 1, -1), (20, 100, 4, -1)], [100, 3, *NO_ASK])
    assert res.fill_qty.tolist() == [1.0, 2.0]


def test_trade_before_order_arrival_does_not_fill_it():
    # The order reaches the venue 5 ms after the book update; the trade at 3 ms misses it.
    res = run([(0, 100, 0, 101, 5)], [(3, 99, 1, -1)], [100, 1, *NO_ASK], entry_latency_ns=5 * MS)
    assert res.n_fills == 0
    res = run([(0, 100, 0, 101, 5)], [(8, 99, 1, -1)], [100, 1, *NO_ASK], entry_latency_ns=5 * MS)
    assert res.n_fills == 1


def test_post_only_order_that_would_cross_is_rejected():
    res = run([(0, 100, 5, 101, 5), (50, 100, 5, 101, 5)], [], [101, 1, *NO_ASK], tif=TIF_ALO)
    assert res.n_fills == 0
    assert res.rejects >= 1


def test_ioc_takes_what_the_book_shows_and_cancels_the_rest():
    res = run([(0, 100, 5, 101, 2), (50, 100, 5, 101, 2)], [], [101, 3, *NO_ASK],
              tif=TIF_IOC, taker_fee_bps=10.0)
    assert res.fill_qty[0] == 2.0
    assert not res.fill_maker[0]
    assert res.final_position == 2.0
    assert res.fill_fee[0] == pytest.approx(101 * 2 * 10e-4)


def test_self_trade_prevention_rejects_an_order_crossing_our_own():
    # Our bid at 102 would cross our own ask at 102 (both inside a wide book).
    res = run([(0, 100, 5, 110, 5), (50, 100, 5, 110, 5)], [], [102, 1, 102, 1],
              stp_rule=STP_REJECT_NEW, tif=TIF_GTC)
    assert res.rejects >= 1
    assert res.n_fills == 0


def test_self_trade_prevention_cancel_oldest_never_fills_us_against_ourselves():
    res = run([(0, 100, 5, 110, 5), (50, 100, 5, 110, 5)], [], [102, 1, 102, 1], tif=TIF_GTC)
    assert res.stp_cancels >= 1
    assert res.n_fills == 0


def test_maker_rebate_is_income_and_attributed_to_fees():
    res = run([(0, 100, 0, 101, 5), (50, 100, 0, 101, 5)], [(10, 99, 1, -1)], [100, 1, *NO_ASK],
              maker_fee_bps=-1.0)
    assert res.fill_fee[0] == pytest.approx(-100 * 1e-4)
    assert res.attribution.fees == pytest.approx(100 * 1e-4)


def test_long_position_pays_positive_funding():
    funding = pa.table({"ts": [T0 + 20 * MS, T0 + 20 * MS + 3_600_000_000_000],
                        "rate": [1e-4, 1e-4], "interval_s": [3600, 3600],
                        "mark_px": [100.0, 100.0], "oracle_px": [100.0, 100.0],
                        "recv_ts": [T0, T0]})
    res = run([(0, 100, 0, 101, 5)], [(10, 99, 1, -1)], [100, 1, *NO_ASK], funding=funding)
    assert res.final_position == 1.0
    assert res.attribution.funding == pytest.approx(-1.0 * 1e-4 * 100.0)


def test_size_down_modify_keeps_priority_only_when_the_venue_says_so():
    # We join behind 5 lots; 5 more join behind us; we shrink 3 -> 2 by modify; 6 trade.
    # Keeping priority: 5 ahead, 1 fills us. Losing it: 10 ahead, nothing fills us.
    book = [(0, 100, 5, 101, 5), (5, 100, 10, 101, 5)]
    seq = events_from_tables(trades([(30, 100, 6, -1)]), None, bbo(book), None)

    @njit
    def shrink(state, params, out):
        out[OUT_BID_PX] = 100.0
        out[OUT_BID_SZ] = 3.0 if state[0] < (T0 + 10 * MS) * 1e-9 else 2.0
        out[OUT_ASK_PX] = np.nan
        out[OUT_ASK_SZ] = 0.0

    for keeps, expected in ((True, [1.0]), (False, [])):
        config = BacktestConfig(tick=1.0, lot=1.0, modify_keeps_priority=keeps,
                                requote_interval_ns=20 * MS)
        res = run_backtest(seq, shrink, np.zeros(1), config)
        assert res.modifies_sent == 1
        assert res.fill_qty.tolist() == expected


def test_probabilistic_queue_advances_by_the_share_ahead_on_a_cancellation():
    # front 4, back 6, 5 lots cancelled, n = 2: p_behind = 36 / (36 + 16).
    p = 36.0 / 52.0
    expected = 4.0 - (1 - p) * 5.0 + min(6.0 - p * 5.0, 0.0)
    got = queue_after_depth_change(QUEUE_PROB_POWER, 2.0, 4.0, 10.0, 5.0, 0.0)
    assert got == pytest.approx(expected)
    assert queue_after_depth_change(0, 2.0, 4.0, 10.0, 5.0, 0.0) == 4.0  # risk-averse


def test_attribution_parts_sum_to_total_on_a_random_stream():
    rng = np.random.default_rng(7)
    n = 3000
    mid = 1000 + np.cumsum(rng.choice([-1.0, 0.0, 1.0], n))
    rows = [(i * 10, m - 1, float(rng.uniform(1, 5)), m + 1, float(rng.uniform(1, 5)))
            for i, m in enumerate(mid)]
    sides = rng.choice([-1, 1], n)
    trade_rows = [(i * 10 + 1, mid[i] + s, float(rng.uniform(0.1, 4)), int(s))
                  for i, s in enumerate(sides)]
    events = events_from_tables(trades(trade_rows), None, bbo(rows), None)
    config = BacktestConfig(tick=1.0, lot=0.1, max_position=3.0, maker_fee_bps=-0.2,
                            entry_latency_ns=3 * MS, response_latency_ns=2 * MS,
                            markout_horizon_ns=50 * MS)
    res = run_backtest(events, touch_quotes, np.array([0.5]), config)
    att = res.attribution
    assert res.n_fills > 50
    scale = max(1.0, abs(att.total))
    assert abs(att.parts_sum - att.total) <= 1e-9 * scale
    assert math.isclose(att.total, res.equity[-1], rel_tol=1e-12)
    assert np.all(np.abs(res.equity_position) <= 3.0 + 1e-9)


def test_unsorted_trades_are_refused_with_the_row():
    with pytest.raises(ValueError, match="first violation at index 1"):
        events_from_tables(trades([(5, 100, 1, 1), (1, 100, 1, 1)]), None, None, None)


def test_the_requote_tolerance_keeps_a_resting_order_through_small_moves():
    """A bid pegged 5 ticks under a touch that moves by one tick: with no tolerance every
    move is an order action; with a tolerance wider than the moves, the first order rests."""
    rows = [(i * 10, 1000.0 + (i % 2), 5.0, 1010.0 + (i % 2), 5.0) for i in range(50)]
    events = events_from_tables(None, None, bbo(rows), None)

    def orders_and_modifies(tolerance_bps: float) -> tuple[int, int]:
        config = BacktestConfig(tick=1.0, lot=1.0, requote_tolerance_bps=tolerance_bps,
                                max_modify_ticks=0.0)
        res = run_backtest(events, touch_quotes, np.array([1.0]), config)
        return res.orders_sent, res.requotes

    exact, requotes = orders_and_modifies(0.0)
    tolerant, _ = orders_and_modifies(15.0)  # 15 bps of ~1000 = 1.5 ticks
    assert requotes == 50
    assert exact == 2 * 50  # a replace per side per row: the touch moves every row
    assert tolerant == 2  # one order per side, kept


def book_table(rows, depth):
    """rows: (t_ms, mid); ``depth`` levels a tick apart on each side, 2 lots each."""
    ts = [T0 + r[0] * MS for r in rows]
    return pa.table({
        "ts": ts, "seq": list(range(len(rows))),
        "bid_px": [[r[1] - 0.5 - i for i in range(depth)] for r in rows],
        "bid_sz": [[2.0] * depth for _ in rows],
        "ask_px": [[r[1] + 0.5 + i for i in range(depth)] for r in rows],
        "ask_sz": [[2.0] * depth for _ in rows],
        "recv_ts": ts,
    })


def test_bbo_rows_keep_four_numbers_and_index_their_own_rows():
    # A top-of-book row is 4 floats, not a full-depth level row (1.2 GB on a 1M-bbo day).
    book = book_table([(0, 100.0), (30, 101.0)], depth=5)
    top = bbo([(10, 100.0, 1.0, 101.0, 3.0), (20, 99.0, 4.0, np.nan, 0.0)])
    events = events_from_tables(None, book, top, None)
    assert events.bid_px.shape == (2, 5) and events.bbo.shape == (2, 4)
    assert events.kind.tolist() == [KIND_BOOK, KIND_BBO, KIND_BBO, KIND_BOOK]
    assert events.level_row.tolist() == [0, 0, 1, 1]
    assert events.bbo[1, BBO_BID_PX] == 99.0 and events.bbo[1, BBO_BID_SZ] == 4.0
    assert math.isnan(events.bbo[1, BBO_ASK_PX]) and events.bbo[1, BBO_ASK_SZ] == 0.0
    # The venue's book takes the bbo's touch: book mid 100.0, then the bbo's 100.5.
    config = BacktestConfig(tick=1.0, lot=1.0)
    res = run_backtest(events_from_tables(None, book_table([(0, 100.0)], depth=5),
                                          top.slice(0, 1), None),
                       touch_quotes, np.array([1.0]), config)
    assert res.events_processed == 2 and res.final_mid == 100.5


def test_a_bad_bbo_price_is_refused_with_its_row():
    top = bbo([(10, 100.0, 1.0, 101.0, 3.0), (20, -1.0, 4.0, 102.0, 1.0)])
    with pytest.raises(ValueError, match=r"bbo bid level 0 of snapshot 1: price -1\.0"):
        events_from_tables(None, None, top, None)

"""Trader faults, measured: the feed, the fills, the venue, the clocks, the param files,
SIGKILL and restart against the venue, and who may reach the trader's files.

Already covered elsewhere and counted in bench/bench_faults.py's table by reference:
a feed gap trips the kill switch (tests/trader/live/test_kill_switch.py
``test_sequence_gap_trips``), a broken or silent paper feed (``test_feed_disconnect_trips``,
``test_stale_market_data_trips``), a Hyperliquid book back in time, a stale book and a
server that stops answering (tests/trader/hyperliquid/test_faults.py), a corrupt version
published while the trader runs (tests/trader/live/test_params_swap.py), key files with
loose modes and the key in logs (tests/trader/hyperliquid/test_keys.py).
"""

from __future__ import annotations

import random

import pytest

from tests.faults.trader_feed import perturbed, run_pairs
from tests.faults.trader_storm import FAULTS, plan_of, run_storm
from tests.trader.live.conftest import day_events, head, live_home, make_engine  # noqa: F401
from trader.sim import EventStream

N_EVENTS = 20_000


# -- the paper feed: repeated, late and reordered events ----------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_repeated_and_late_events_are_dropped_and_change_nothing(
    day_events: EventStream,
    seed: int,  # noqa: F811
) -> None:
    events = head(day_events, N_EVENTS)
    clean = make_engine(events)
    run_pairs(clean, [(i, i) for i in range(N_EVENTS)])
    assert clean.fills_total > 0 and not clean.kill.active

    pairs, injected = perturbed(N_EVENTS, random.Random(seed), repeats=200, late=50)
    faulty = make_engine(events)
    run_pairs(faulty, pairs)
    assert injected == 250 and faulty.dropped_events == injected
    assert not faulty.kill.active
    assert faulty.fills_total == clean.fills_total
    assert faulty.acct.tolist() == clean.acct.tolist()  # position, cash, P&L parts
    assert faulty.counters() == clean.counters()
    assert faulty.open_orders() == clean.open_orders()


def test_a_reordered_event_trips_the_gap_and_is_never_applied_late(
    day_events: EventStream,  # noqa: F811
) -> None:
    events = head(day_events, N_EVENTS)
    engine = make_engine(events)
    pairs = [(i, i) for i in range(N_EVENTS)]
    pairs[5_000], pairs[5_001] = pairs[5_001], pairs[5_000]
    run_pairs(engine, pairs[:5_001])
    assert [r.trigger for r in engine.kill.reasons] == ["sequence_gap"]
    applied = engine.events_run
    orders = engine.counters()["orders"]
    run_pairs(engine, pairs[5_001:])
    assert engine.dropped_events == 1 and engine.events_run == applied + N_EVENTS - 5_002
    assert engine.counters()["orders"] == orders and engine.resting() == 0


# -- the Hyperliquid venue: each fault, then our view must equal the venue's ---------------


def test_each_venue_fault_settles_with_no_order_or_fill_lost() -> None:
    tallies = run_storm(plan_of(1, seed=3), seed=3)
    for name, t in tallies.items():
        assert t.injected == 1, name
        assert t.survived == 1 and not t.failures, (name, t.failures)
        assert t.orders_lost == t.orders_duplicated == t.fills_lost == 0, (name, t)
    assert set(tallies) == set(FAULTS)

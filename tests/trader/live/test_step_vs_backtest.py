"""The live driver is the backtest, one event at a time: same venue, same kernel."""

from __future__ import annotations

import dataclasses
import math

import pytest

from tests.trader.live.conftest import SYMBOL, head, make_engine
from trader.settings import default_settings
from trader.sim import EventStream, run_backtest
from trader.strategy import glft_quote

N_EVENTS = 60_000


@pytest.mark.parametrize(("latency_ns", "timer_ns"), [(0, 0), (5_000_000, 100_000_000)])
def test_step_wise_replay_reproduces_the_backtest(
    day_events: EventStream, latency_ns: int, timer_ns: int
) -> None:
    settings = dataclasses.replace(
        default_settings("synthetic", SYMBOL), feed_latency_ns=latency_ns,
        entry_latency_ns=latency_ns, response_latency_ns=latency_ns,
        requote_interval_ns=timer_ns,
    )
    events = head(day_events, N_EVENTS)
    engine = make_engine(events, settings=settings)
    result = run_backtest(events, glft_quote, engine.params.array, settings.backtest_config())
    for i in range(N_EVENTS):
        engine.on_event(i, i)
    engine.drain()
    assert result.n_fills > 50
    assert engine.fills_total == result.n_fills
    assert engine.acct[1] == pytest.approx(result.final_position, abs=1e-9)
    assert engine.counters()["orders"] == result.orders_sent
    pnl = engine.pnl()
    assert pnl["total"] == pytest.approx(result.attribution.total, abs=1e-6)
    for part in ("spread_capture", "adverse_selection", "inventory_carry", "funding"):
        assert pnl[part] == pytest.approx(getattr(result.attribution, part), abs=1e-6), part
    parts = math.fsum(pnl[k] for k in ("spread_capture", "adverse_selection",
                                       "inventory_carry", "funding", "fees"))
    assert parts == pytest.approx(pnl["total"], abs=1e-6)

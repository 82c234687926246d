"""Every kill-switch trigger, provoked: all orders cancelled, none placed after, reasons kept."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from data_lake.paths import LakePaths
from tests.trader.live.conftest import (
    DAY,
    SYMBOL,
    PausingFeed,
    head,
    make_engine,
    new_home,
)
from trader.live.engine import SymbolEngine
from trader.live.feed import ReplayFeed
from trader.live.files import TraderFiles
from trader.live.runner import RunConfig, Trader
from trader.risk import TRIGGERS, KillSwitch, RiskLimits
from trader.sim import EventStream


def _run_until_trip(engine: SymbolEngine, n: int) -> int:
    """Feed events until the switch trips; returns the row after the tripping one."""
    for i in range(n):
        engine.on_event(i, i)
        if engine.kill.active:
            return i + 1
    raise AssertionError(f"the kill switch did not trip in {n} events")


def _assert_down_and_quiet(engine: SymbolEngine, start: int, n_more: int = 5_000) -> None:
    """After the trip: every order is gone at the venue once the cancels land, and no new
    order is ever sent, while the market keeps moving."""
    orders_at_trip = engine.counters()["orders"]
    modifies_at_trip = engine.counters()["modifies"]
    requotes_at_trip = engine.counters()["requotes"]
    for i in range(start, start + n_more):
        engine.on_event(i, i)
    assert engine.resting() == 0
    assert engine.counters()["orders"] == orders_at_trip
    assert engine.counters()["modifies"] == modifies_at_trip
    assert engine.counters()["requotes"] == requotes_at_trip
    assert engine.kill.active


def test_drawdown_trips(day_events: EventStream) -> None:
    engine = make_engine(day_events, limits=RiskLimits(max_drawdown=0.5))
    start = _run_until_trip(engine, 200_000)
    (reason,) = engine.kill.reasons
    assert reason.trigger == "drawdown" and reason.symbol == SYMBOL
    assert "below its peak" in reason.detail
    _assert_down_and_quiet(engine, start)


def test_notional_limit_trips(day_events: EventStream) -> None:
    engine = make_engine(day_events, limits=RiskLimits(max_notional=100.0))
    start = _run_until_trip(engine, 200_000)
    assert [r.trigger for r in engine.kill.reasons] == ["notional_limit"]
    assert abs(engine.acct[1]) * engine.acct[2] > 100.0
    _assert_down_and_quiet(engine, start)


def test_position_limit_trips_on_a_resumed_position_beyond_it(day_events: EventStream) -> None:
    engine = make_engine(day_events, limits=RiskLimits(position_factor=1.5))
    over = 2.0 * engine.settings.max_position
    engine.restore({"position": over, "cash": -over * 150.0, "mid": None, "fills": 0,
                    "accumulators": {"spread": 0.0, "carry": 0.0, "fees": 0.0,
                                     "funding": 0.0, "filled_qty": 0.0, "quoted_qty": 0.0,
                                     "adverse": 0.0, "peak_equity": None}})
    start = _run_until_trip(engine, 10)
    assert [r.trigger for r in engine.kill.reasons] == ["position_limit"]
    assert engine.counters()["orders"] == 0  # tripped before its first quote
    _assert_down_and_quiet(engine, start)


def test_position_limit_trip_flattens_when_asked(day_events: EventStream) -> None:
    engine = make_engine(day_events, limits=RiskLimits(flatten_on_kill=True))
    over = 2.0 * engine.settings.max_position
    engine.restore({"position": over, "cash": 0.0, "mid": None, "fills": 0,
                    "accumulators": {"spread": 0.0, "carry": 0.0, "fees": 0.0,
                                     "funding": 0.0, "filled_qty": 0.0, "quoted_qty": 0.0,
                                     "adverse": 0.0, "peak_equity": None}})
    # The first event is a book: the flattening order is priced off it.
    first_book = int(np.flatnonzero(day_events.kind > 0)[0])
    for i in range(first_book + 1):
        engine.on_event(i, i)
    assert engine.kill.active and engine.counters()["orders"] == 1  # the IOC, not a quote
    for i in range(first_book + 1, first_book + 2_000):
        engine.on_event(i, i)
    assert engine.acct[1] == pytest.approx(0.0, abs=1e-9)
    assert engine.counters()["orders"] == 1 and engine.resting() == 0


def test_sequence_gap_trips(day_events: EventStream) -> None:
    engine = make_engine(day_events)
    for i in range(3_000):
        engine.on_event(i, i)
    assert engine.resting() > 0 and not engine.kill.active
    engine.on_event(3_005, 3_000)  # five sequence numbers missing
    (reason,) = engine.kill.reasons
    assert reason.trigger == "sequence_gap" and "5 event(s) missing" in reason.detail
    _assert_down_and_quiet(engine, 3_001)


def test_reasons_accumulate_and_reset_clears_them() -> None:
    kill = KillSwitch()
    kill.trip("manual", "first")
    kill.trip("drawdown", "second", symbol="SOL")
    assert [r.trigger for r in kill.reasons] == ["manual", "drawdown"] and kill.active
    assert len(kill.reset()) == 2 and not kill.active
    with pytest.raises(ValueError, match="unknown kill trigger"):
        kill.trip("bored", "x")
    assert set(TRIGGERS) >= {"drawdown", "position_limit", "notional_limit",
                             "stale_market_data", "sequence_gap", "manual", "feed_disconnect"}


# -- triggers that need the running trader (wall clock, control file, feed task) ---------


class _BrokenFeed(ReplayFeed):
    async def events(self) -> AsyncIterator[tuple[int, int]]:
        for i in range(3_000):
            if i % 256 == 0:
                await asyncio.sleep(0)
            yield i, i
        raise ConnectionResetError("peer closed the market data socket")


def _trader(home: Path, feed_cls: type[ReplayFeed], events: EventStream,
            **limits: Any) -> Trader:
    config = RunConfig(paths=LakePaths.at(home), symbols=(SYMBOL,), speed=0,
                       duration_s=30.0, limits=RiskLimits(**limits), loop_interval_s=0.05,
                       save_every_s=60.0)
    return Trader(config, feed_factory=lambda _venue, _symbol: feed_cls(events, DAY, speed=0))


def _run(trader: Trader, until: object) -> dict[str, object]:
    async def main() -> dict[str, object]:
        trader.setup()
        task = asyncio.create_task(trader.run())
        for _ in range(600):
            await asyncio.sleep(0.05)
            if until():  # type: ignore[operator]
                break
        trader.request_stop("test done")
        return await task

    return asyncio.run(main())


def test_stale_market_data_trips(day_events: EventStream, tmp_path: Path,
                                 live_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A set-up slower than the limit (a cold compile) is no silence of the market: the
    # switch must wait for the feed to start and then stop.
    warm_up = SymbolEngine.warm_up

    def slow_warm_up(engine: SymbolEngine) -> None:
        warm_up(engine)
        time.sleep(0.5)

    monkeypatch.setattr(SymbolEngine, "warm_up", slow_warm_up)
    home = new_home(tmp_path, live_home)
    trader = _trader(home, PausingFeed, head(day_events, 10_000), stale_after_s=0.3)
    _run(trader, lambda: trader.kill.active)
    (engine,) = trader.engines
    assert [r.trigger for r in trader.kill.reasons] == ["stale_market_data"]
    assert "no book update for" in trader.kill.reasons[0].detail
    assert engine.counters()["orders"] > 0 and engine.resting() == 0  # cancelled at exit


def test_feed_disconnect_trips(day_events: EventStream, tmp_path: Path,
                               live_home: Path) -> None:
    home = new_home(tmp_path, live_home)
    trader = _trader(home, _BrokenFeed, head(day_events, 10_000))
    _run(trader, lambda: trader.kill.active)
    assert [r.trigger for r in trader.kill.reasons] == ["feed_disconnect"]
    assert "ConnectionResetError" in trader.kill.reasons[0].detail


def test_manual_kill_lands_within_one_loop_iteration_and_reset_resumes(
    day_events: EventStream, tmp_path: Path, live_home: Path
) -> None:
    home = new_home(tmp_path, live_home)
    trader = _trader(home, PausingFeed, head(day_events, 10_000), stale_after_s=1e9)
    files = TraderFiles(LakePaths.at(home))
    seen: dict[str, int] = {}

    def until() -> bool:
        (engine,) = trader.engines
        if not seen and engine.events_run >= 3_000:
            files.send("kill", reason="desk says stop")
            seen["orders"] = engine.counters()["orders"]
            seen["iterations"] = 0
            return False
        if seen and not trader.kill.active:
            seen["iterations"] += 1
        return bool(seen) and trader.kill.active

    _run(trader, until)
    (engine,) = trader.engines
    assert seen["iterations"] <= 2  # our 50 ms polls vs its 50 ms loop
    (reason,) = trader.kill.reasons
    assert reason.trigger == "manual" and reason.detail == "desk says stop"
    assert engine.counters()["orders"] == seen["orders"] and engine.resting() == 0
    state = files.load_state()
    assert state is not None and state["kill"]["active"]
    # A reset queued while stopped is applied by the next start; quoting resumes.
    files.send("reset")
    again = _trader(home, PausingFeed, head(day_events, 10_000), stale_after_s=1e9)
    _run(again, lambda: again.engines[0].events_run >= 3_000)
    assert not again.kill.active and again.engines[0].counters()["orders"] > 0
    assert math.isfinite(again.engines[0].pnl()["total"])

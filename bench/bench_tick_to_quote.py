"""Benchmark: the live trader's tick-to-quote latency, book update in -> quote decision out.

Issue 13. Replays one lake day of one symbol through the live driver
(:class:`trader.live.engine.SymbolEngine`, the paper venue and the GLFT kernel) as fast as
possible on one core (the process is pinned to one CPU when the OS allows), and times
each book or bbo update from the moment the engine receives it to the moment its quote
decision (the orders to send) is made: the sequence check, markouts, the requote timer,
the venue step, the hard limits and the GLFT requote. Numba compilation is excluded (a
warm-up over the first events, on a separate engine). Target: p99 under 200 us.

The day is the newest lake day of ``--symbol`` under ``--home`` (default $MMCAL_HOME);
without one, a synthetic day is generated into a temporary home first.

Run: .venv/bin/python bench/bench_tick_to_quote.py [--home DIR] [--symbol SOL]
     [--events N] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from data_lake.lake import Lake
from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry, ParamSet
from trader.backtest_window import lake_days
from trader.live.engine import SymbolEngine
from trader.live.feed import ReplayFeed, replay_day
from trader.live.latency import LatencyRecorder
from trader.live.params import build_params
from trader.market_state import new_state
from trader.risk import KillSwitch, RiskLimits
from trader.settings import default_settings
from trader.sim import EventStream

_SYNTHETIC_DAY = dt.date(2026, 1, 5)


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to cpu {cpu}"
    return "not pinned (no sched_setaffinity)"


def _param_set(paths: LakePaths, venue: str, symbol: str) -> ParamSet:
    registry = ParamRegistry(paths, refresh_catalog=False)
    if symbol in registry.symbols() and registry.latest_version(symbol):
        return registry.load(symbol)
    # No published set: a neutral one (the kernel's cost does not depend on the values).
    from tests.trader.test_cli_backtest import synthetic_document

    return ParamSet.model_validate(synthetic_document(symbol, _SYNTHETIC_DAY))


def _events(home: Path | None, symbol: str) -> tuple[LakePaths, str, EventStream]:
    paths = LakePaths.at(home) if home else LakePaths.default()
    venue = "synthetic"
    days = lake_days(paths, venue, symbol)
    if not days:
        from data_lake.sources.synthetic import generate_to_lake

        paths = LakePaths.at(tempfile.mkdtemp(prefix="bench_t2q_"))
        print(f"no {venue}/{symbol} in the lake: generating one day into {paths.home}")
        generate_to_lake(Lake(paths), symbols=[symbol], days=1, seed=7, start=_SYNTHETIC_DAY)
        days = [_SYNTHETIC_DAY]
    return paths, venue, replay_day(paths, venue, symbol, days[-1])


def _engine(events: EventStream, doc: ParamSet, venue: str, symbol: str) -> SymbolEngine:
    settings = default_settings(venue, symbol)
    loaded = build_params(doc, settings, new_state())
    return SymbolEngine(settings, loaded, ReplayFeed(events, _SYNTHETIC_DAY, speed=0),
                        RiskLimits(), KillSwitch(), LatencyRecorder(capacity=1 << 21))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--symbol", default="SOL")
    parser.add_argument("--events", type=int, default=0, help="0: the whole day")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pinned = _pin_one_core()
    paths, venue, events = _events(args.home, args.symbol)
    doc = _param_set(paths, venue, args.symbol)
    n = len(events) if args.events <= 0 else min(args.events, len(events))

    warm = _engine(events, doc, venue, args.symbol)
    for i in range(min(20_000, n)):
        warm.on_event(i, i)

    engine = _engine(events, doc, venue, args.symbol)
    t0 = time.perf_counter()
    on_event = engine.on_event
    for i in range(n):
        on_event(i, i)
    wall = time.perf_counter() - t0
    lat = engine.latency.recent() / 1e3  # us
    if engine.latency.count > lat.size:
        raise SystemExit("latency ring overflowed: raise its capacity")
    pct = {f"p{q:g}": float(np.percentile(lat, q)) for q in (50, 90, 99, 99.9)}
    result = {
        "symbol": args.symbol, "venue": venue, "events": n, "book_updates": int(lat.size),
        "quotes": engine.counters()["requotes"], "fills": engine.fills_total,
        "wall_s": wall, "events_per_s": n / wall, "tick_to_quote_us": pct,
        "max_us": float(lat.max()), "mean_us": float(lat.mean()),
        "target_p99_us": 200.0, "meets_target": pct["p99"] < 200.0,
        "cpu": platform.processor() or platform.machine(), "affinity": pinned,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.symbol} ({venue}): {n:,} events, {lat.size:,} book updates, "
          f"{result['quotes']:,} quotes, {result['fills']:,} fills in {wall:.2f} s "
          f"({result['events_per_s']:,.0f} events/s), {pinned}")
    print("tick-to-quote (book update in -> quote decision out), microseconds:")
    for name, value in pct.items():
        print(f"  {name:>6}: {value:8.1f}")
    print(f"  {'max':>6}: {result['max_us']:8.1f}   mean {result['mean_us']:.1f}")
    print(f"target p99 < 200 us: {'met' if result['meets_target'] else 'MISSED'}")


if __name__ == "__main__":
    main()

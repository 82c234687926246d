"""Params hot swap: a good new version is taken between quote cycles, a bad one refused."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry
from data_lake.registry.log import move_pointer
from tests.trader.live.conftest import (
    DAY,
    FIT_DAY,
    SYMBOL,
    PausingFeed,
    head,
    make_engine,
    new_home,
    sol_document,
)
from tests.trader.test_cli_backtest import synthetic_document
from trader.live.params import ParamsRefusedError, ParamsWatcher, build_params
from trader.live.runner import RunConfig, Trader
from trader.market_state import new_state
from trader.risk import RiskLimits
from trader.settings import default_settings
from trader.sim import EventStream


def _corrupt_version(registry: ParamRegistry, seed: int) -> str:
    """A version whose file no longer matches its hash, with LATEST pointing at it."""
    version = registry.write(synthetic_document(SYMBOL, FIT_DAY, seed=seed))
    path = registry.path_of(SYMBOL, version)
    os.chmod(path, 0o644)
    text = path.read_text()
    path.write_text(text.replace('"symbol"', '"symbol" ', 1).replace("0.", "9.", 1))
    move_pointer(registry.root / SYMBOL, SYMBOL, version)
    return version


def test_a_good_version_swaps_in_a_bad_one_is_refused_and_the_running_one_kept(
    day_events: EventStream, tmp_path: Path, live_home: Path
) -> None:
    home = new_home(tmp_path, live_home)
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    v1 = registry.latest_version(SYMBOL)
    engine = make_engine(day_events)
    watcher = ParamsWatcher(registry, SYMBOL, v1)
    for i in range(3_000):
        engine.on_event(i, i)
    assert watcher.poll(engine.settings, engine.state) is None  # nothing new

    decision = registry.submit(synthetic_document(SYMBOL, FIT_DAY, held_out=DAY, seed=3))
    assert decision.accepted and decision.version != v1
    loaded = watcher.poll(engine.settings, engine.state)
    assert loaded is not None and loaded.version == decision.version
    assert not np.array_equal(loaded.array, engine.params.array)
    requotes = engine.counters()["requotes"]
    engine.swap_params(loaded)
    for i in range(3_000, 6_000):
        engine.on_event(i, i)
    assert engine.params.version == decision.version
    assert engine.counters()["requotes"] > requotes

    bad = _corrupt_version(registry, seed=4)
    assert registry.latest_version(SYMBOL) == bad
    assert watcher.poll(engine.settings, engine.state) is None
    assert bad in watcher.refused and "hash" in watcher.refused[bad].lower()
    assert watcher.current == decision.version
    assert watcher.poll(engine.settings, engine.state) is None  # refused once, not retried


def test_params_the_kernel_cannot_quote_with_are_refused() -> None:
    settings = dataclasses.replace(default_settings("synthetic", SYMBOL),
                                   min_half_spread_bps=20.0, max_half_spread_bps=10.0)
    with pytest.raises(ParamsRefusedError, match="strategy params refused"):
        build_params(sol_document(), settings, new_state())
    good = build_params(sol_document(), default_settings("synthetic", SYMBOL), new_state())
    assert np.all(np.isfinite(good.array[:5]))


def test_the_running_trader_picks_up_a_publication(
    day_events: EventStream, tmp_path: Path, live_home: Path
) -> None:
    home = new_home(tmp_path, live_home)
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    config = RunConfig(paths=LakePaths.at(home), symbols=(SYMBOL,), speed=0, duration_s=30,
                       limits=RiskLimits(stale_after_s=1e9), loop_interval_s=0.05,
                       params_poll_s=0.05)
    trader = Trader(config, feed_factory=lambda _v, _s: PausingFeed(head(day_events, 5_000),
                                                                     DAY, speed=0))
    published: list[str] = []

    async def main() -> dict[str, object]:
        trader.setup()
        task = asyncio.create_task(trader.run())
        for _ in range(400):
            await asyncio.sleep(0.05)
            if not published and trader.engines[0].events_run >= 3_000:
                decision = registry.submit(
                    synthetic_document(SYMBOL, FIT_DAY, held_out=DAY, seed=5)
                )
                assert decision.version is not None
                published.append(decision.version)
            if published and trader.engines[0].params.version == published[0]:
                break
        trader.request_stop("test done")
        return await task

    summary: dict[str, Any] = asyncio.run(main())
    (row,) = summary["symbols"]
    assert row["params_version"] == published[0] and row["params_swaps"] == 1

"""One synthetic SOL day and a published SOL set, shared by the live trader's tests."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from data_lake.lake import Lake
from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry, ParamSet
from data_lake.sources.synthetic import generate_to_lake
from tests.trader.test_cli_backtest import synthetic_document
from trader.live.engine import SymbolEngine
from trader.live.feed import ReplayFeed, replay_day
from trader.live.latency import LatencyRecorder
from trader.live.params import build_params
from trader.market_state import new_state
from trader.risk import KillReason, KillSwitch, MarginConfig, RiskLimits
from trader.settings import TraderSettings, default_settings
from trader.sim import EventStream

SYMBOL = "SOL"
DAY = dt.date(2026, 1, 5)
FIT_DAY = DAY - dt.timedelta(days=1)


def build_live_home(root: Path) -> Path:
    """One synthetic SOL day in the lake under ``root`` and one published SOL set."""
    generate_to_lake(Lake.at(root), symbols=[SYMBOL], days=1, seed=11, start=DAY)
    registry = ParamRegistry(LakePaths.at(root), refresh_catalog=False)
    assert registry.submit(synthetic_document(SYMBOL, FIT_DAY)).version is not None
    return root



class PausingFeed(ReplayFeed):
    """Replays the first ``n_fast`` rows as fast as possible, then stays silent (the
    trader keeps running: housekeeping, control commands, params watch)."""

    n_fast: int = 3_000

    async def events(self) -> AsyncIterator[tuple[int, int]]:
        for i in range(self.n_fast):
            if i % 256 == 0:
                await asyncio.sleep(0)
            yield i, i
        await asyncio.sleep(3600)

@pytest.fixture(scope="session")
def live_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with one synthetic SOL day in the lake and one published SOL set."""
    return build_live_home(tmp_path_factory.mktemp("live_home"))


@pytest.fixture(scope="session")
def day_events(live_home: Path) -> EventStream:
    return replay_day(LakePaths.at(live_home), "synthetic", SYMBOL, DAY)


def new_home(tmp_path: Path, live_home: Path) -> Path:
    """A home of its own (trader state, registry) reading the shared lake."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "lake").symlink_to(live_home / "lake")
    shutil.copytree(live_home / "params", home / "params", symlinks=True)
    return home


def head(events: EventStream, n: int) -> EventStream:
    """The first ``n`` events (the level arrays are shared, rows index into them)."""
    return EventStream(**{
        f.name: getattr(events, f.name)[:n]
        if f.name not in EventStream.ROW_INDEXED else getattr(events, f.name)
        for f in dataclasses.fields(events)
    })


def sol_document(seed: int = 0) -> ParamSet:
    return ParamSet.model_validate(synthetic_document(SYMBOL, FIT_DAY, seed=seed))


def make_engine(
    events: EventStream, *, settings: TraderSettings | None = None,
    limits: RiskLimits | None = None, kill: KillSwitch | None = None,
    margin: MarginConfig | None = None,
) -> SymbolEngine:
    """An engine quoting the test set on ``events`` (the switch halts it when tripped)."""
    settings = settings or default_settings("synthetic", SYMBOL)
    loaded = build_params(sol_document(), settings, new_state())
    kill = kill or KillSwitch()
    engine = SymbolEngine(settings, loaded, ReplayFeed(events, DAY, speed=0),
                          limits or RiskLimits(), kill, LatencyRecorder(), margin)

    def halt(_reason: KillReason) -> None:
        engine.halt(flatten_position=engine.limits.flatten_on_kill and len(kill.reasons) == 1)

    kill.on_trip = halt
    return engine

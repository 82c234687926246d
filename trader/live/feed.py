"""Market data for the live trader: the newest lake day replayed at real time x speed.

A feed yields ``(seq, index)`` pairs: a sequence number (consecutive; a jump is a gap the
risk layer trips on) and the row of its :class:`trader.sim.EventStream` holding the event.
Event timestamps drive the pacing: event ``i`` is released ``(ts_i - ts_first) / speed``
wall seconds after the start; ``speed = 0`` replays as fast as possible (tests, the
benchmark). Either way the feed yields to the event loop regularly, so the control,
params and state tasks run within one of their intervals.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np

from data_lake.lake import Lake
from data_lake.partitions import day_window_ns
from data_lake.paths import LakePaths
from trader.backtest_window import NoLakeDataError, lake_days
from trader.sim import EventStream, load_events

__all__ = ["ReplayFeed", "newest_day", "replay_day"]

_YIELD_EVERY = 256
"""Events between two yields to the event loop when not sleeping."""
_MIN_SLEEP_S = 0.0005


def newest_day(paths: LakePaths, venue: str, symbol: str) -> dt.date:
    """The newest UTC day the lake holds market data for (NoLakeDataError if none)."""
    days = lake_days(paths, venue, symbol)
    if not days:
        raise NoLakeDataError(
            f"the lake under {paths.lake} has no trades, bbo or book for {venue}/{symbol}; "
            "run `make run` or generate synthetic days (lake generate)"
        )
    return days[-1]


def replay_day(paths: LakePaths, venue: str, symbol: str, day: dt.date) -> EventStream:
    """Every event of ``venue/symbol`` on ``day`` (UTC), in exchange-time order."""
    return load_events(Lake(paths), venue, symbol, *day_window_ns(day))


@dataclass
class ReplayFeed:
    """Replays ``stream`` from row ``start`` at ``speed`` x real time.

    Attributes
    ----------
    stream : EventStream
    day : datetime.date
        The replayed UTC day (saved with the state so a restart resumes in it).
    speed : float
        Replay speed; 0 for as fast as possible.
    start : int
        First row to replay.
    """

    stream: EventStream
    day: dt.date
    speed: float = 1.0
    start: int = 0

    def start_after(self, ts_ns: int) -> None:
        """Resume after the last event a previous run saw (``ts <= ts_ns`` skipped)."""
        self.start = int(np.searchsorted(self.stream.ts_ns, ts_ns, side="right"))

    async def events(self) -> AsyncIterator[tuple[int, int]]:
        ts = self.stream.ts_ns
        n = len(ts)
        if self.start >= n:
            return
        wall0 = time.monotonic()
        ts0 = int(ts[self.start])
        scale = 0.0 if self.speed <= 0 else 1e-9 / self.speed
        since_yield = 0
        for i in range(self.start, n):
            if scale:
                wait = wall0 + (int(ts[i]) - ts0) * scale - time.monotonic()
                if wait > _MIN_SLEEP_S:
                    await asyncio.sleep(wait)
                    since_yield = 0
            since_yield += 1
            if since_yield >= _YIELD_EVERY:
                await asyncio.sleep(0)
                since_yield = 0
            yield i, i

"""The trailing window a multi-day fit reads: derived tables of checked partitions.

Heston and the hour-of-week volume profile are not identified on one day
(docs/architecture.md §5). They read the ``HISTORY_DAYS`` days ending on the fit day from
the small derived tables (``rv_5m``, ``volume_1h``), never the ticks; the funding OU reads
its prints over the funding window (assets.inputs). The derived tables of a day are
computed from its checked trades and bbo after the checks ran (asset ``derived_day``),
so the quality gate runs on those source partitions (:func:`history_input_keys`): an
unchecked, failed or since-rewritten one stops the calibration with an error naming it.
The window is the contiguous run of ingested days ending on the fit day: a day never
ingested ends it (the history starts after the gap), so a lake that begins later than
the window still calibrates, with the shorter history the fits report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from assets.inputs import CheckedInputs, InputKey, require_inputs
from data_lake.lake import Lake
from data_lake.partitions import PartitionKey, day_window_ns, partition_file
from data_lake.quality_store import quality_file
from data_lake.schemas import RV_5M, VOLUME_1H

__all__ = [
    "DERIVED_SOURCES",
    "HISTORY_DAYS",
    "History",
    "HistoryError",
    "history_days",
    "history_input_keys",
    "load_history",
]

# 8 days: every hour-of-week bin seen at least once (168 h), and Heston's 5-minute bars
# number 2304 (more than 90 half-lives of the default market's variance). See
# docs/architecture.md §5.
HISTORY_DAYS = 8
DERIVED_SOURCES = ("trades", "bbo")  # what derived_day reads (the book only without bbo)


class HistoryError(RuntimeError):
    """The trailing window cannot be read (the fit day absent, derived tables missing)."""


@dataclass(frozen=True)
class History:
    """The trailing window of one symbol-day, oldest day first. Times are int64 ns UTC.

    Attributes
    ----------
    venue, symbol : the partitions' venue and symbol.
    days : the days read, contiguous, ending on the fit day.
    inputs : the gated source partitions of the derived tables read.
    rv_5m : the ``rv_5m`` bars of those days (``data_lake.schemas.RV_5M``).
    volume_1h : the ``volume_1h`` hours of those days (``data_lake.schemas.VOLUME_1H``).
    """

    venue: str
    symbol: str
    days: tuple[dt.date, ...]
    inputs: CheckedInputs = field(repr=False)
    rv_5m: pd.DataFrame = field(repr=False)
    volume_1h: pd.DataFrame = field(repr=False)

    @property
    def window_ns(self) -> tuple[int, int]:
        """``[start of the first day, end of the fit day)``."""
        return day_window_ns(self.days[0])[0], day_window_ns(self.days[-1])[1]

    @property
    def partitions(self) -> list[str]:
        """``venue/symbol/date`` of every day read, oldest first."""
        return [f"{self.venue}/{self.symbol}/{d.isoformat()}" for d in self.days]


def _ingested(lake: Lake, venue: str, symbol: str, day: dt.date) -> bool:
    return partition_file(lake.root, "trades", PartitionKey(venue, symbol, day)).exists()


def history_days(
    lake: Lake, venue: str, symbol: str, day: dt.date, n_days: int = HISTORY_DAYS
) -> tuple[dt.date, ...]:
    """The contiguous ingested days ending on ``day`` (at most ``n_days``), oldest first.

    Raises :class:`HistoryError` when the fit day itself is not in the lake.
    """
    if n_days < 1:
        raise ValueError(f"n_days must be >= 1, got {n_days}")
    days: list[dt.date] = []
    for k in range(n_days):
        d = day - dt.timedelta(days=k)
        if not _ingested(lake, venue, symbol, d):
            if k == 0:
                raise HistoryError(
                    f"{venue}/{symbol}/{d} is not in the lake {lake.root}: ingest it first "
                    f"(job `ingest`, partition {d}|{symbol})"
                )
            break
        days.append(d)
    return tuple(reversed(days))


def history_input_keys(venue: str, symbol: str, days: tuple[dt.date, ...]) -> list[InputKey]:
    """The checked partitions behind the window's derived tables (for the quality gate)."""
    return [
        InputKey(table, PartitionKey(venue, symbol, d)) for d in days for table in DERIVED_SOURCES
    ]


def _read(lake: Lake, table: str, venue: str, symbol: str, window: tuple[int, int]) -> pd.DataFrame:
    frame = lake.frame(table, symbol=symbol, venue=venue, start_ns=window[0], end_ns=window[1])
    return frame.drop(columns=["venue", "symbol", "date"], errors="ignore")


def load_history(
    lake: Lake, venue: str, symbol: str, day: dt.date, n_days: int = HISTORY_DAYS
) -> History:
    """Read the trailing window of ``day``: the derived tables of gated days.

    Raises
    ------
    data_lake.quality_store.QualityGateError
        A source partition of the window was never checked, failed a blocking check or
        changed since its checks.
    HistoryError
        The fit day is absent, or a day's derived tables were never written (or were
        written before its latest checks: the ingest job re-derives after checking).
    """
    days = history_days(lake, venue, symbol, day, n_days)
    inputs = require_inputs(lake.paths, history_input_keys(venue, symbol, days))
    stale = []
    for d in days:
        key = PartitionKey(venue, symbol, d)
        derived = [partition_file(lake.root, t.name, key) for t in (RV_5M, VOLUME_1H)]
        record = quality_file(lake.paths, venue, symbol, d)
        checked = record.stat().st_mtime_ns if record.exists() else None
        if not all(p.exists() for p in derived) or (
            checked is not None and min(p.stat().st_mtime_ns for p in derived) < checked
        ):
            stale.append(d)
    if stale:
        raise HistoryError(
            f"{venue}/{symbol}: no derived tables (rv_5m, volume_1h) since the latest checks "
            f"of {', '.join(str(d) for d in stale)}; materialise asset `derived_day` for those "
            "partitions (it runs in the ingest job, after the checks)"
        )
    window = day_window_ns(days[0])[0], day_window_ns(days[-1])[1]
    return History(
        venue=venue,
        symbol=symbol,
        days=days,
        inputs=inputs,
        rv_5m=_read(lake, RV_5M.name, venue, symbol, window),
        volume_1h=_read(lake, VOLUME_1H.name, venue, symbol, window),
    )
